//! The kernel's system layout as programs see it: slot 1 is the idle thread (`IDLE`, PID 1),
//! slot 2 the kernel's `OS` thread (PID 2); programs start at slot 3 / PID 3
//! (`kernel/trunk/kernel.asm`, the two `setup_os_slot` calls and `mov [thread_count], 2`).
//! Function 9 writes the 76-byte record of `sys_cpuusage` (`kernel/trunk/kernel.asm`,
//! `struct process_information` in `kernel/trunk/const.inc`); 18.2 refuses slots below 2 and
//! kernel threads (`sysfn_terminate`, `is_kernel_thread`).

use crate::{kolibri_name, Kolibri};
use ipcemu_kernel::{GuestMemory, Kernel, MemFault, Slot, ThreadId, ThreadState};

/// PID (and slot) of the idle thread.
pub const IDLE_PID: u32 = 1;
/// PID (and slot) of the kernel's `OS` thread.
pub const OS_PID: u32 = 2;
/// Slot and PID of the first program: the kernel's threads take the ones below.
pub const FIRST_SLOT: u16 = 3;
/// Bytes function 9 writes for a used slot (`struct process_information`).
pub const INFO_SIZE: usize = 76;
/// `slot_state` of a free slot (`TSTATE_FREE`).
pub const TSTATE_FREE: u16 = 9;
/// Where the kernel's half of the address space starts (`OS_BASE`): function 9 refuses a
/// buffer that reaches it (`is_region_userspace`) with eax = -1.
pub const OS_BASE: u64 = 0x8000_0000;

/// Whether a slot or PID number is one of the kernel's own threads (1 `IDLE`, 2 `OS`).
pub fn is_system(n: u32) -> bool {
    n == IDLE_PID || n == OS_PID
}

impl Kolibri {
    /// Function 9: write the thread information of `slot` (-1 = the caller's) into the caller's
    /// memory at `buf`. Returns the highest slot number (the kernel's `thread_count`).
    ///
    /// A used slot gets all 76 bytes: +0 CPU usage (0), +4/+6 window stack position/value
    /// (the slot), +10 name (11 bytes), +22 memory base, +26 memory size - 1, +30 PID,
    /// +34 window box, +50 state (dword), +54 client box, +70 window state, +71 event mask,
    /// +75 keyboard mode. A free slot (and slot 0 or over 255) gets only the word at +50 = 9.
    pub fn thread_info<M: GuestMemory>(
        &self,
        k: &mut Kernel<M>,
        caller: ThreadId,
        slot: u32,
        buf: u32,
    ) -> Result<u32, MemFault> {
        let slot = if slot == u32::MAX {
            k.threads[caller].slot.0 as u32
        } else {
            slot
        };
        let proc = k.threads[caller].proc;
        // A KolibriOS program's buffer in the kernel's half: -1, nothing written. (ELF
        // programs that use these functions have their stack up there: they keep the page
        // fault a bad buffer gives.)
        if k.procs[proc].abi == crate::NAME && buf as u64 + INFO_SIZE as u64 > OS_BASE {
            return Ok(u32::MAX);
        }
        let max = (k.max_slot().0 as u32).max(OS_PID);
        let mut rec = [0u8; INFO_SIZE];
        let put = |rec: &mut [u8; INFO_SIZE], at: usize, v: u32| {
            rec[at..at + 4].copy_from_slice(&v.to_le_bytes());
        };
        match slot {
            IDLE_PID => {
                rec[10..14].copy_from_slice(b"IDLE");
                // The kernel reports 16 MiB for the idle slot (`.os_mem`).
                put(&mut rec, 26, 0x100_0000 - 1);
                put(&mut rec, 30, IDLE_PID);
            }
            OS_PID => {
                rec[10..12].copy_from_slice(b"OS");
                // `sys_proc`'s `mem_used` is never set: 0 - 1.
                put(&mut rec, 26, u32::MAX);
                put(&mut rec, 30, OS_PID);
            }
            _ => {
                let Some(t) = u16::try_from(slot)
                    .ok()
                    .and_then(|s| k.thread_in_slot(Slot(s)))
                else {
                    return k.procs[proc]
                        .mem
                        .write_u16(buf.wrapping_add(50), TSTATE_FREE)
                        .map(|_| max);
                };
                let th = &k.threads[t];
                let p = &k.procs[th.proc];
                let n = kolibri_name(&p.name);
                rec[10..10 + n.len()].copy_from_slice(n.as_bytes());
                put(&mut rec, 26, p.mem_size.wrapping_sub(1));
                put(&mut rec, 30, th.pid);
                let state = match th.state {
                    ThreadState::Waiting => 5,
                    _ => 0,
                };
                put(&mut rec, 50, state);
                let (win, mask) = self
                    .thread_ref(t)
                    .map_or(([0; 4], crate::DEFAULT_EVENT_MASK), |kt| {
                        (kt.window, kt.event_mask)
                    });
                for (i, v) in win.iter().enumerate() {
                    put(&mut rec, 34 + 4 * i, *v);
                }
                // Headless windows have no skin: the client box is the whole window
                // (`window._.set_window_clientbox`, `.whole_window`).
                put(&mut rec, 62, win[2]);
                put(&mut rec, 66, win[3]);
                // +70 window state 0 (normal), +75 keyboard mode 0 (ASCII).
                rec[71..75].copy_from_slice(&mask.to_le_bytes());
            }
        }
        rec[4..6].copy_from_slice(&(slot as u16).to_le_bytes());
        rec[6..8].copy_from_slice(&(slot as u16).to_le_bytes());
        k.procs[proc].mem.write(buf, &rec)?;
        Ok(max)
    }
}
