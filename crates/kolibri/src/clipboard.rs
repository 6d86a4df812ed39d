//! The clipboard (function 54), as the kernel's `sys_clipboard` (`kernel/trunk/core/clipboard.inc`):
//! one list of slots for the whole system, so programs exchange data through it.
//!
//! - A slot is what 54.2 copied: a dword holding the byte count given in ecx, then the caller's
//!   bytes from edx + 4 on (the caller's first dword is replaced by the count, as the kernel's
//!   `stosd` does). 54.1 copies the whole slot, count included, into new heap memory.
//! - The kernel's write lock is only held inside one 54.2 or 54.3, which ipcemu runs at once, so
//!   it is never seen held: 54.4 ("reset the lock") always finds it free and returns 1, as the
//!   kernel does then.
//!
//! Choices where the kernel has no answer (documented in docs/kolibrios.md): a count below 4
//! (the kernel would copy `ecx - 4` bytes, wrapped) is refused with 1; 54.1 with no heap
//! memory left returns 0 and writes nothing (the kernel would copy to address 0); the slots
//! hold at most [`MAX_BYTES`] together (then 54.2 returns 1, as for the kernel's failed
//! `kernel_alloc`).

use crate::{Kolibri, NEG1};
use ipcemu_kernel::{Cpu, GuestFault, GuestMemory, Kernel, Outcome, Reg, ThreadId};

/// Slots the kernel allows (`cmp [clipboard_slots], 1024`).
pub const MAX_SLOTS: usize = 1024;
/// Bytes all slots may hold together (ipcemu's limit).
pub const MAX_BYTES: usize = 64 << 20;
/// The first address outside user space (`is_region_userspace`).
const OS_BASE: u64 = 0x8000_0000;

/// The slots, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Clipboard {
    slots: Vec<Vec<u8>>,
    bytes: usize,
}

impl Kolibri {
    /// Function 54, subfunction `sub`.
    pub(crate) fn sys_clipboard<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        sub: u32,
    ) -> Outcome {
        let (ecx, edx) = (cpu.get(Reg::Ecx), cpu.get(Reg::Edx));
        let p = k.threads[t].proc;
        let eax = match sub {
            // 54.0: the number of slots.
            0 => self.clipboard.slots.len() as u32,
            // 54.1: a copy of slot ecx in new heap memory; 1 when there is no such slot.
            1 => match self.clipboard.slots.get(ecx as usize) {
                None => 1,
                Some(slot) => {
                    let slot = slot.clone();
                    let at = self.heap_alloc(k, p, slot.len() as u32);
                    if at != 0 && k.procs[p].mem.write(at, &slot).is_err() {
                        0
                    } else {
                        at
                    }
                }
            },
            // 54.2: a new last slot from ecx bytes at edx.
            2 => {
                if edx as u64 + ecx as u64 > OS_BASE {
                    NEG1
                } else if ecx < 4
                    || self.clipboard.slots.len() >= MAX_SLOTS
                    || self.clipboard.bytes + ecx as usize > MAX_BYTES
                {
                    1
                } else {
                    let mut slot = vec![0u8; ecx as usize];
                    slot[..4].copy_from_slice(&ecx.to_le_bytes());
                    if let Err(fault) = k.procs[p].mem.read(edx.wrapping_add(4), &mut slot[4..]) {
                        return Outcome::fault(GuestFault::BadPointer {
                            what: format!("function 54.2 clipboard write: {ecx} bytes at {edx:#x}"),
                            fault,
                        });
                    }
                    self.clipboard.bytes += slot.len();
                    self.clipboard.slots.push(slot);
                    0
                }
            }
            // 54.3: drop the last slot; 1 when there is none.
            3 => match self.clipboard.slots.pop() {
                Some(slot) => {
                    self.clipboard.bytes -= slot.len();
                    0
                }
                None => 1,
            },
            // 54.4: the lock is never held between calls (see the module documentation).
            4 => 1,
            // Any other subfunction returns at once (`.exit`): eax keeps the function number.
            _ => return Outcome::Continue,
        };
        cpu.set(Reg::Eax, eax);
        Outcome::Continue
    }
}
