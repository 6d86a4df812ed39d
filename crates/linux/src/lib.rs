//! # ipcemu-linux
//!
//! A minimal Linux i386 `int 0x80` personality so freestanding C guests
//! (`gcc -m32 -ffreestanding -nostdlib -static`) can print and exit: `write` to fd 1/2,
//! `exit` and `exit_group`. Anything else returns `-ENOSYS` (logged), or faults the guest
//! under `--strict`.

#![warn(missing_docs)]

use ipcemu_kernel::{Cpu, ExitStatus, GuestMemory, Kernel, Outcome, Reg, ThreadId};

/// The interrupt vector of Linux i386 system calls.
pub const VECTOR: u8 = 0x80;

const ENOSYS: i32 = 38;
const EBADF: i32 = 9;
const EFAULT: i32 = 14;

/// Handle one `int 0x80` from thread `t`.
pub fn syscall<M: GuestMemory>(
    k: &mut Kernel<M>,
    t: ThreadId,
    cpu: &mut dyn Cpu,
    strict: bool,
) -> Outcome {
    let nr = cpu.get(Reg::Eax);
    let (ebx, ecx, edx) = (cpu.get(Reg::Ebx), cpu.get(Reg::Ecx), cpu.get(Reg::Edx));
    let ret = |cpu: &mut dyn Cpu, v: i32| {
        cpu.set(Reg::Eax, v as u32);
        Outcome::Continue
    };
    match nr {
        // exit: ends the thread; exit_group: ends the process.
        1 | 252 => {
            let p = k.threads[t].proc;
            if nr == 1 && k.procs[p].live_threads > 1 {
                k.exit_thread(t);
            } else {
                k.exit_process(p, ExitStatus::Normal(ebx as i32));
            }
            Outcome::Exit
        }
        // write(fd, buf, len)
        4 => {
            if fd_ok(ebx).is_none() {
                return ret(cpu, -EBADF);
            }
            let p = k.threads[t].proc;
            let mut data = vec![0u8; edx as usize];
            if edx > 0x100_0000 || k.procs[p].mem.read(ecx, &mut data).is_err() {
                return ret(cpu, -EFAULT);
            }
            k.output(t, &data, ebx == 2);
            ret(cpu, edx as i32)
        }
        _ => {
            if strict {
                return Outcome::Fault(format!("unsupported Linux system call {nr} (--strict)"));
            }
            tracing::warn!(nr, "unsupported Linux system call; returning -ENOSYS");
            ret(cpu, -ENOSYS)
        }
    }
}

fn fd_ok(fd: u32) -> Option<()> {
    (fd == 1 || fd == 2).then_some(())
}
