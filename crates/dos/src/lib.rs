//! # ipcemu-dos
//!
//! Just enough DOS for `.COM` test programs: `INT 20h` and `INT 21h` functions 02h, 09h, 30h,
//! 40h (handles 1 and 2) and 4Ch. Output goes where the KolibriOS debug board goes (stdout;
//! handle 2 to stderr). Any other function ends the guest with an error naming AH.

#![warn(missing_docs)]

use ipcemu_kernel::{Cpu, ExitStatus, GuestMemory, Kernel, Outcome, Reg, ThreadId};

/// `INT 20h`: terminate.
pub const VECTOR_EXIT: u8 = 0x20;
/// `INT 21h`: DOS services.
pub const VECTOR_DOS: u8 = 0x21;

const CF: u32 = 1;

fn linear(seg: u32, off: u32) -> u32 {
    ((seg & 0xffff) << 4) + (off & 0xffff)
}

/// Handle `INT 20h` or `INT 21h` from thread `t` of a real-mode guest.
pub fn syscall<M: GuestMemory>(
    k: &mut Kernel<M>,
    t: ThreadId,
    cpu: &mut dyn Cpu,
    vector: u8,
) -> Outcome {
    let p = k.threads[t].proc;
    if vector == VECTOR_EXIT {
        k.exit_process(p, ExitStatus::Normal(0));
        return Outcome::Exit;
    }
    let eax = cpu.get(Reg::Eax);
    let ah = (eax >> 8) & 0xff;
    let ds = cpu.get(Reg::Ds);
    let dx = cpu.get(Reg::Edx) & 0xffff;
    let set_ax = |cpu: &mut dyn Cpu, v: u32| cpu.set(Reg::Eax, (eax & 0xffff_0000) | (v & 0xffff));
    match ah {
        0x02 => {
            k.output(t, &[dx as u8], false);
            Outcome::Continue
        }
        0x09 => {
            let start = linear(ds, dx);
            let mem = &k.procs[p].mem;
            let mut out = Vec::new();
            for i in 0..0x1_0000u32 {
                let mut b = [0u8; 1];
                if mem.read(start + i, &mut b).is_err() {
                    return Outcome::Fault(format!(
                        "INT 21h/09h: string at {:04x}:{dx:04x} runs out of memory without '$'",
                        ds & 0xffff
                    ));
                }
                if b[0] == b'$' {
                    break;
                }
                out.push(b[0]);
            }
            k.output(t, &out, false);
            Outcome::Continue
        }
        0x30 => {
            set_ax(cpu, 0x0005); // DOS 5.0
            cpu.set(Reg::Ebx, cpu.get(Reg::Ebx) & 0xffff_0000);
            cpu.set(Reg::Ecx, cpu.get(Reg::Ecx) & 0xffff_0000);
            Outcome::Continue
        }
        0x40 => {
            let handle = cpu.get(Reg::Ebx) & 0xffff;
            let count = cpu.get(Reg::Ecx) & 0xffff;
            let flags = cpu.get(Reg::Eflags);
            if handle != 1 && handle != 2 {
                set_ax(cpu, 6); // invalid handle
                cpu.set(Reg::Eflags, flags | CF);
                return Outcome::Continue;
            }
            let mut data = vec![0u8; count as usize];
            if k.procs[p].mem.read(linear(ds, dx), &mut data).is_err() {
                return Outcome::Fault(format!(
                    "INT 21h/40h: buffer {:04x}:{dx:04x}+{count} is outside memory",
                    ds & 0xffff
                ));
            }
            k.output(t, &data, handle == 2);
            set_ax(cpu, count);
            cpu.set(Reg::Eflags, flags & !CF);
            Outcome::Continue
        }
        0x4C => {
            k.exit_process(p, ExitStatus::Normal((eax & 0xff) as i32));
            Outcome::Exit
        }
        _ => Outcome::Fault(format!(
            "unsupported DOS call INT 21h AH={ah:02X}h (supported: 02h, 09h, 30h, 40h, 4Ch)"
        )),
    }
}
