//! # ipcemu-kolibri
//!
//! The KolibriOS personality: the `int 0x40` system-call table. Each arm decodes registers,
//! calls one kernel operation and writes the result back; policy lives in the kernel.
//! Function numbers and register use follow KolibriOS `sysfuncs.txt`; see `docs/kolibrios.md`
//! for every supported function and every decision the documentation leaves open.

#![warn(missing_docs)]

use ipcemu_kernel::{Cpu, GuestMemory, Kernel, Outcome, Reg, SendError, ThreadId};

/// The interrupt vector KolibriOS programs trap through.
pub const VECTOR: u8 = 0x40;

/// Options of the personality.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// An unknown function is a guest fault instead of returning -1.
    pub strict: bool,
}

const NEG1: u32 = u32::MAX;

/// Handle one `int 0x40` from thread `t`.
pub fn syscall<M: GuestMemory>(
    k: &mut Kernel<M>,
    t: ThreadId,
    cpu: &mut dyn Cpu,
    opts: &Options,
) -> Outcome {
    let eax = cpu.get(Reg::Eax);
    let ebx = cpu.get(Reg::Ebx);
    let set = |cpu: &mut dyn Cpu, v: u32| {
        cpu.set(Reg::Eax, v);
        Outcome::Continue
    };
    match eax {
        // -1: end the calling thread.
        NEG1 => {
            k.exit_thread(t);
            Outcome::Exit
        }
        // 0: define window. Headless: only clears the redraw flag.
        0 => {
            k.clear_redraw(t);
            Outcome::Continue
        }
        // Drawing and window functions: accepted, nothing visible changes.
        1 | 4 | 7 | 8 | 12 | 13 | 15 | 38 | 47 | 65 | 67 | 71 | 73 => Outcome::Continue,
        // 2 get key, 17 get pressed button: the buffer is empty.
        2 | 17 => set(cpu, 1),
        // 3: system time 0x00SSMMHH in BCD, from the world clock (starts at 00:00:00).
        3 => {
            let s = k.now_ns() / 1_000_000_000;
            let bcd = |v: u64| ((v / 10) << 4 | (v % 10)) as u32;
            let v = bcd(s / 3600 % 24) | bcd(s / 60 % 60) << 8 | bcd(s % 60) << 16;
            set(cpu, v)
        }
        // 5: delay ebx hundredths of a second.
        5 => {
            if k.sleep(ebx) {
                Outcome::Block
            } else {
                Outcome::Continue
            }
        }
        // 9: thread information.
        9 => {
            let ecx = cpu.get(Reg::Ecx);
            match k.thread_info(t, ecx, ebx) {
                Ok(max) => set(cpu, max),
                Err(f) => Outcome::Fault(format!("function 9: thread-info buffer: {f}")),
            }
        }
        // 10 wait for event, 11 check for event, 23 wait with timeout.
        10 | 11 | 23 => {
            let timeout = match eax {
                10 => None,
                11 => Some(0),
                _ => Some(ebx),
            };
            match k.wait_event(t, timeout) {
                Some(ev) => set(cpu, ev),
                None => Outcome::Block,
            }
        }
        // 14: screen size (a fixed 1024x768 headless screen).
        14 => set(cpu, (1023 << 16) | 767),
        18 => sys_misc(k, t, cpu, ebx, opts),
        26 => match ebx {
            9 => set(cpu, k.ticks()),
            10 => {
                let ns = k.now_ns();
                cpu.set(Reg::Edx, (ns >> 32) as u32);
                set(cpu, ns as u32)
            }
            _ => unknown(cpu, eax, ebx, opts),
        },
        // 29: system date 0x00DDMMYY in BCD: a fixed 01.01.26 (deterministic).
        29 => set(cpu, 0x0001_0126),
        // 37 mouse, 48 skin/style, 66 keyboard: headless answers are 0.
        37 | 48 | 66 => set(cpu, 0),
        40 => {
            let old = k.set_event_mask(t, ebx);
            set(cpu, old)
        }
        51 => match ebx {
            1 => {
                let p = k.threads[t].proc;
                let (ecx, edx) = (cpu.get(Reg::Ecx), cpu.get(Reg::Edx));
                match k.spawn_thread(p, ecx, edx) {
                    Some(nt) => set(cpu, k.threads[nt].pid),
                    None => set(cpu, NEG1),
                }
            }
            _ => unknown(cpu, eax, ebx, opts),
        },
        60 => match ebx {
            1 => {
                k.ipc_set_area(t, cpu.get(Reg::Ecx), cpu.get(Reg::Edx));
                set(cpu, 0)
            }
            2 => {
                let (pid, msg, len) = (cpu.get(Reg::Ecx), cpu.get(Reg::Edx), cpu.get(Reg::Esi));
                match k.ipc_send(t, pid, msg, len) {
                    Ok(r) => set(cpu, r as u32),
                    Err(SendError::BadMessage(f)) => {
                        Outcome::Fault(format!("function 60.2: message to PID {pid}: {f}"))
                    }
                }
            }
            _ => set(cpu, NEG1),
        },
        63 => match ebx {
            1 => {
                k.board_write(t, cpu.get(Reg::Ecx) as u8);
                Outcome::Continue
            }
            2 => {
                let (v, ok) = k.board_read().map_or((0, 0), |b| (b as u32, 1));
                cpu.set(Reg::Ebx, ok);
                set(cpu, v)
            }
            _ => unknown(cpu, eax, ebx, opts),
        },
        68 => {
            let p = k.threads[t].proc;
            let ecx = cpu.get(Reg::Ecx);
            match ebx {
                1 => Outcome::Yield,
                11 => {
                    let v = k.heap_init(p);
                    set(cpu, v)
                }
                12 => {
                    let v = k.heap_alloc(p, ecx);
                    set(cpu, v)
                }
                13 => {
                    let v = k.heap_free(p, ecx) as u32;
                    set(cpu, v)
                }
                _ => unknown(cpu, eax, ebx, opts),
            }
        }
        _ => unknown(cpu, eax, ebx, opts),
    }
}

fn sys_misc<M: GuestMemory>(
    k: &mut Kernel<M>,
    t: ThreadId,
    cpu: &mut dyn Cpu,
    sub: u32,
    opts: &Options,
) -> Outcome {
    let ecx = cpu.get(Reg::Ecx);
    let kill = |k: &mut Kernel<M>, target: Option<ThreadId>| match target {
        Some(x) if x == t => {
            k.exit_thread(x);
            Some(Outcome::Exit)
        }
        Some(x) => {
            k.exit_thread(x);
            None
        }
        None => None,
    };
    match sub {
        // 18.2: end the thread in slot ecx.
        2 => {
            let target = k.thread_in_slot(ecx);
            kill(k, target).unwrap_or(Outcome::Continue)
        }
        // 18.18: end the thread with PID ecx; -1 when there is none.
        18 => {
            let target = k.thread_by_pid(ecx);
            if target.is_none() {
                cpu.set(Reg::Eax, NEG1);
                return Outcome::Continue;
            }
            cpu.set(Reg::Eax, 0);
            kill(k, target).unwrap_or(Outcome::Continue)
        }
        // 18.21: slot of a PID, 0 if none.
        21 => {
            cpu.set(Reg::Eax, k.slot_of_pid(ecx));
            Outcome::Continue
        }
        _ => unknown(cpu, 18, sub, opts),
    }
}

fn unknown(cpu: &mut dyn Cpu, f: u32, sub: u32, opts: &Options) -> Outcome {
    let eip = cpu.get(Reg::Eip);
    if opts.strict {
        return Outcome::Fault(format!(
            "unsupported KolibriOS function {} (ebx={sub}) at eip={eip:#010x} (--strict)",
            f as i32
        ));
    }
    tracing::warn!(
        function = f as i32,
        ebx = sub,
        eip = format_args!("{eip:#x}"),
        "unsupported KolibriOS function; returning -1"
    );
    cpu.set(Reg::Eax, NEG1);
    Outcome::Continue
}
