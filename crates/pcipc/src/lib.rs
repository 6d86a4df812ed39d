//! # ipcemu-pcipc
//!
//! The PC-IPC personality (a DOS TSR's `INT 60h` API, vector configurable). The guest pushes a
//! DWORD pointer to its parameter block and executes `INT vector`; this crate reads that
//! pointer from the top of the stack (a linear address for 32-bit guests, an offset:segment
//! far pointer at `ss:sp` for real-mode guests) and hands the block to the kernel, which does
//! the command and writes status, error, size, IDs and data back. Registers are not touched.

#![warn(missing_docs)]

use ipcemu_kernel::pcipc::far_to_linear;
use ipcemu_kernel::{Cpu, GuestMemory, Kernel, Outcome, PcOutcome, Reg, ThreadId};

/// The vector PC-IPC uses unless told otherwise.
pub const DEFAULT_VECTOR: u8 = 0x60;

/// Handle one PC-IPC interrupt from thread `t`.
pub fn syscall<M: GuestMemory>(
    k: &mut Kernel<M>,
    t: ThreadId,
    cpu: &mut dyn Cpu,
    real_mode: bool,
) -> Outcome {
    let p = k.threads[t].proc;
    let top = if real_mode {
        (cpu.get(Reg::Ss) & 0xffff) * 16 + (cpu.get(Reg::Esp) & 0xffff)
    } else {
        cpu.get(Reg::Esp)
    };
    let ptr = match k.procs[p].mem.read_u32(top) {
        Ok(v) => v,
        Err(f) => {
            return Outcome::Fault(format!("PC-IPC: parameter-block pointer on the stack: {f}"))
        }
    };
    let block = if real_mode { far_to_linear(ptr) } else { ptr };
    match k.pcipc_call(t, block, real_mode) {
        Ok(PcOutcome::Done) => Outcome::Continue,
        Ok(PcOutcome::Blocked) => Outcome::Block,
        Err(f) => Outcome::Fault(format!("PC-IPC: parameter block at {block:#x}: {f}")),
    }
}
