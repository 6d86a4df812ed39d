//! # ipcemu-dos
//!
//! Just enough DOS for `.COM` test programs: `INT 20h` and `INT 21h` functions 02h, 09h, 30h,
//! 40h (handles 1 and 2) and 4Ch. Output goes where the KolibriOS debug board goes (stdout;
//! handle 2 to stderr). Any other function ends the guest with an error naming AH.

#![warn(missing_docs)]

use ipcemu_kernel::{Cpu, ExitStatus, GuestFault, GuestMemory, Kernel, Outcome, Reg, ThreadId};
use ipcemu_personality::{Entry, Format, Image, Personality, StartArgs, Trap};
use std::any::Any;

/// Name of the personality (and of the processes it starts).
pub const NAME: &str = "dos";

/// The DOS personality.
#[derive(Debug, Clone, Default)]
pub struct Dos;

impl<M: GuestMemory> Personality<M> for Dos {
    fn name(&self) -> &'static str {
        NAME
    }
    fn vectors(&self) -> Vec<(u8, String)> {
        vec![
            (VECTOR_EXIT, "DOS terminate (int 0x20)".into()),
            (VECTOR_DOS, "DOS services (int 0x21)".into()),
        ]
    }
    fn attaches(&self, format: Format) -> bool {
        format == Format::Com
    }
    fn starts(&self, format: Format) -> bool {
        format == Format::Com
    }
    fn start(&mut self, image: &Image, args: &StartArgs<'_>, mem: &mut M) -> Result<Entry, String> {
        // DOS command tail at PSP:80h: length byte, text (with the leading blank COMMAND.COM
        // keeps), carriage return.
        let text = args.params.unwrap_or("");
        let mut tail = if text.is_empty() {
            Vec::new()
        } else {
            format!(" {text}").into_bytes()
        };
        tail.truncate(126);
        let mut v = vec![tail.len() as u8];
        v.extend_from_slice(&tail);
        v.push(0x0D);
        let _ = mem.write(image.params_addr, &v);
        Ok(Entry {
            eip: image.entry,
            esp: image.stack,
            real_mode_segment: Some(ipcemu_loader_segment()),
            fs_base: None,
        })
    }
    fn trap(&mut self, k: &mut Kernel<M>, t: ThreadId, cpu: &mut dyn Cpu, trap: Trap) -> Outcome {
        let Trap::Interrupt(v) = trap;
        syscall(k, t, cpu, v)
    }
    fn strace_call(
        &self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &dyn Cpu,
        trap: Trap,
    ) -> Option<String> {
        use ipcemu_personality::strace_bytes;
        let Trap::Interrupt(v) = trap;
        if v == 0x20 {
            return Some("20h terminate()".into());
        }
        let w = |x| cpu.get(x) & 0xffff;
        let (ax, cx, dx, ds) = (w(Reg::Eax), w(Reg::Ecx), w(Reg::Edx), w(Reg::Ds));
        let (ah, al, dl) = (ax >> 8, ax & 0xff, dx & 0xff);
        let lin = (ds << 4) + dx;
        let m = k.mem_of(t);
        Some(match ah {
            0x02 => format!("21h/02h write_char(dl={dl:02x}h)"),
            0x09 => {
                // Up to the `$` (shown), at most 64 bytes.
                let mut n = 0;
                let mut b = [0u8];
                while n < 65 && m.read(lin + n, &mut b).is_ok() {
                    n += 1;
                    if b[0] == b'$' {
                        break;
                    }
                }
                format!(
                    "21h/09h print_string(ds:dx={ds:04x}:{dx:04x} {})",
                    strace_bytes(m, lin, n, 64)
                )
            }
            0x30 => "21h/30h get_version()".into(),
            0x40 => format!(
                "21h/40h write(handle={:04x}h, ds:dx={ds:04x}:{dx:04x} {}, cx={cx})",
                w(Reg::Ebx),
                strace_bytes(m, lin, cx, 32)
            ),
            0x4C => format!("21h/4Ch exit(al={al:02x}h)"),
            f => format!("21h/{f:02X}h(al={al:02x}h)"),
        })
    }
    fn strace_result(
        &self,
        _k: &mut Kernel<M>,
        _t: ThreadId,
        cpu: &dyn Cpu,
        _call: &str,
    ) -> String {
        format!("ax={:04x}h", cpu.get(Reg::Eax) & 0xffff)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The segment `.COM` programs are loaded in.
fn ipcemu_loader_segment() -> u16 {
    ipcemu_personality::COM_SEGMENT
}

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
                    return Outcome::fault(GuestFault::Refused(format!(
                        "INT 21h/09h: string at {:04x}:{dx:04x} runs out of memory without '$'",
                        ds & 0xffff
                    )));
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
            if let Err(fault) = k.procs[p].mem.read(linear(ds, dx), &mut data) {
                return Outcome::fault(GuestFault::BadPointer {
                    what: format!("INT 21h/40h: buffer {:04x}:{dx:04x}+{count}", ds & 0xffff),
                    fault,
                });
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
        _ => Outcome::fault(GuestFault::Unsupported {
            abi: "DOS",
            function: format!("INT 21h AH={ah:02X}h"),
            detail: "(supported: 02h, 09h, 30h, 40h, 4Ch)".into(),
        }),
    }
}
