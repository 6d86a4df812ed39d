//! # ipcemu-linux
//!
//! A minimal Linux i386 `int 0x80` personality so freestanding C guests
//! (`gcc -m32 -ffreestanding -nostdlib -static`) can print and exit: `write` to fd 1/2,
//! `exit` and `exit_group`. Anything else returns `-ENOSYS` (logged), or faults the guest
//! under `--strict`.

#![warn(missing_docs)]

use ipcemu_kernel::{Cpu, ExitStatus, GuestFault, GuestMemory, Kernel, Outcome, Reg, ThreadId};
use ipcemu_personality::{Entry, Format, Image, Personality, StartArgs, Trap};
use std::any::Any;

/// The interrupt vector of Linux i386 system calls.
pub const VECTOR: u8 = 0x80;
/// Name of the personality (and of the processes it starts).
pub const NAME: &str = "elf";

/// The Linux-lite personality.
#[derive(Debug, Clone, Default)]
pub struct Linux {
    /// An unknown system call faults the guest instead of returning -ENOSYS.
    pub strict: bool,
}

impl<M: GuestMemory> Personality<M> for Linux {
    fn name(&self) -> &'static str {
        NAME
    }
    fn vectors(&self) -> Vec<(u8, String)> {
        vec![(VECTOR, "Linux system calls (int 0x80)".into())]
    }
    fn attaches(&self, format: Format) -> bool {
        format == Format::Elf32
    }
    fn starts(&self, format: Format) -> bool {
        format == Format::Elf32
    }
    fn start(&mut self, image: &Image, args: &StartArgs<'_>, mem: &mut M) -> Result<Entry, String> {
        Ok(Entry {
            eip: image.entry,
            esp: entry_stack(image.stack, args, mem),
            real_mode_segment: None,
            fs_base: None,
        })
    }
    fn trap(&mut self, k: &mut Kernel<M>, t: ThreadId, cpu: &mut dyn Cpu, _trap: Trap) -> Outcome {
        syscall(k, t, cpu, self.strict)
    }
    fn strace_call(
        &self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &dyn Cpu,
        _trap: Trap,
    ) -> Option<String> {
        use ipcemu_personality::strace_bytes;
        let r = |x| cpu.get(x);
        let (nr, ebx, ecx, edx) = (r(Reg::Eax), r(Reg::Ebx), r(Reg::Ecx), r(Reg::Edx));
        let m = k.mem_of(t);
        Some(match nr {
            1 => format!("exit({})", ebx as i32),
            3 => format!("read({ebx}, {ecx:#x}, {edx})"),
            4 => format!("write({ebx}, {}, {edx})", strace_bytes(m, ecx, edx, 32)),
            20 => "getpid()".into(),
            45 => format!("brk({ebx:#x})"),
            224 => "gettid()".into(),
            252 => format!("exit_group({})", ebx as i32),
            n => format!("syscall_{n}({ebx:#x}, {ecx:#x}, {edx:#x})"),
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Linux i386 entry stack below `top`: argc, argv[], NULL, envp[] (empty), NULL, auxv
/// AT_NULL. argv[0] is the file name; the parameters are split at blanks. Returns esp.
pub fn entry_stack<M: GuestMemory>(top: u32, args: &StartArgs<'_>, mem: &mut M) -> u32 {
    let file = args.path.rsplit(['/', '\\']).next().unwrap_or(args.path);
    let mut argv: Vec<&str> = vec![file];
    argv.extend(args.params.unwrap_or("").split_whitespace());
    let mut sp = top;
    let mut ptrs = Vec::new();
    for a in &argv {
        let mut b = a.as_bytes()[..a.len().min(4096)].to_vec();
        b.push(0);
        sp = sp.wrapping_sub(b.len() as u32);
        let _ = mem.write(sp, &b);
        ptrs.push(sp);
    }
    sp &= !15;
    let mut words: Vec<u32> = vec![ptrs.len() as u32];
    words.extend(&ptrs);
    words.extend([0, 0, 0, 0]); // argv NULL, envp NULL, AT_NULL (type, value)
    sp = sp.wrapping_sub(4 * words.len() as u32);
    sp &= !15;
    for (i, w) in words.iter().enumerate() {
        let _ = mem.write_u32(sp.wrapping_add(4 * i as u32), *w);
    }
    sp
}

const ENOSYS: i32 = 38;
const EBADF: i32 = 9;
const EFAULT: i32 = 14;
/// Bytes of a `write` copied out of guest memory at a time.
const WRITE_CHUNK: usize = 1 << 16;

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
            if edx > 0x100_0000 {
                return ret(cpu, -EFAULT);
            }
            // In chunks, so a 16 MiB write costs the host one chunk, not a copy of it all. A
            // bad address part-way gives the count written so far, as on Linux.
            let p = k.threads[t].proc;
            let mut chunk = vec![0u8; (edx as usize).min(WRITE_CHUNK)];
            let mut done = 0u32;
            while done < edx {
                let n = ((edx - done) as usize).min(WRITE_CHUNK);
                let read = ecx
                    .checked_add(done)
                    .map(|a| k.procs[p].mem.read(a, &mut chunk[..n]));
                if !matches!(read, Some(Ok(_))) {
                    return ret(cpu, if done == 0 { -EFAULT } else { done as i32 });
                }
                k.output(t, &chunk[..n], ebx == 2);
                done += n as u32;
            }
            ret(cpu, edx as i32)
        }
        _ => {
            if strict {
                return Outcome::fault(GuestFault::Unsupported {
                    abi: "Linux",
                    function: format!("system call {nr}"),
                    detail: "(--strict)".into(),
                });
            }
            tracing::warn!(nr, "unsupported Linux system call; returning -ENOSYS");
            ret(cpu, -ENOSYS)
        }
    }
}

fn fd_ok(fd: u32) -> Option<()> {
    (fd == 1 || fd == 2).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipcemu_kernel::{Config, RegFile, VecMemory};

    fn write(k: &mut Kernel<VecMemory>, t: ThreadId, addr: u32, len: u32) -> i32 {
        let mut cpu = RegFile::default();
        for (r, v) in [
            (Reg::Eax, 4),
            (Reg::Ebx, 1),
            (Reg::Ecx, addr),
            (Reg::Edx, len),
        ] {
            cpu.set(r, v);
        }
        assert_eq!(syscall(k, t, &mut cpu, false), Outcome::Continue);
        cpu.get(Reg::Eax) as i32
    }

    #[test]
    fn writes_go_out_in_chunks_and_stop_at_a_bad_address() {
        let mut k = Kernel::new(Config {
            capture_output: true,
            ..Config::default()
        });
        let mem = VecMemory::new(0x1_8000);
        let (p, t) = k
            .spawn_process("w.elf", mem, 0x1_8000, NAME, (0, 0))
            .unwrap();
        assert_eq!(write(&mut k, t, 0, 0x1_8000), 0x1_8000);
        assert_eq!(k.procs[p].output.len(), 0x1_8000);
        // The first chunk is readable, the second runs off the end: the count written so far.
        assert_eq!(write(&mut k, t, 0x8000, 0x2_0000), 0x1_0000);
        assert_eq!(k.procs[p].output.len(), 0x2_8000);
        // Nothing readable: -EFAULT, nothing written.
        assert_eq!(write(&mut k, t, 0x2_0000, 16), -EFAULT);
        assert_eq!(write(&mut k, t, 0xFFFF_FFF0, 0x20), -EFAULT);
        assert_eq!(write(&mut k, t, 0, 0x100_0001), -EFAULT, "over 16 MiB");
        assert_eq!(k.procs[p].output.len(), 0x2_8000);
    }
}
