//! # ipcemu-machine
//!
//! Unicorn-backed guest machines and the run loop. One Unicorn instance per guest process
//! (its threads share it and swap register contexts); one interrupt hook per instance that
//! hands each trap to the personality of its vector:
//!
//! ```text
//! guest `int 0x40` -> interrupt hook -> personality (decode) -> kernel -> registers/memory
//!                                    -> Outcome: Continue (same emu_start goes on)
//!                                                Block/Exit/Yield/Fault (emu_stop; the
//!                                                run loop asks the kernel what runs next)
//! ```
//!
//! Switching between processes costs an `emu_stop` and an `emu_start(pc, until = 0)`; no
//! registers are copied because each process keeps its own instance.

#![warn(missing_docs)]

mod host;
mod memory;
mod watchdog;

pub use host::{HostAction, HostMessage, HostSent, HostTarget, Trigger, HOST_MAX_MESSAGE};

use ipcemu_kernel::{
    Config, Cpu, ExitStatus, Flavor, Kernel, Outcome, Pick, ProcId, Reg, ThreadId, ThreadState,
};
use ipcemu_loader::{Format, Image};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};
use unicorn_engine::unicorn_const::{Arch, ControlType, HookType, MemType, Mode};
use unicorn_engine::{uc_ctl, uc_error, Context, RegisterX86, Unicorn};

pub use memory::{HostRam, ProcMemory};

/// Translation-cache size per guest (Unicorn's default reserves 1 GiB of address space).
pub const TCG_BUFFER_SIZE: u32 = 8 << 20;

/// Options for a world.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// The interrupt vector PC-IPC listens on (default 0x60).
    pub pcipc_vector: u8,
    /// Kernel tunables (virtual clock, quantum, heap).
    pub kernel: Config,
    /// Unknown system calls fault the guest instead of returning -1 / -ENOSYS.
    pub strict: bool,
    /// Stop after this much virtual (or, with `realtime`, wall) time in the guests' clock.
    pub timeout: Option<Duration>,
    /// Stop after this much host wall time.
    pub wall_timeout: Option<Duration>,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            pcipc_vector: ipcemu_pcipc::DEFAULT_VECTOR,
            kernel: Config::default(),
            strict: false,
            timeout: None,
            wall_timeout: None,
        }
    }
}

/// Vectors owned by a personality other than PC-IPC.
pub const RESERVED_VECTORS: [(u8, &str); 4] = [
    (ipcemu_kolibri::VECTOR, "KolibriOS system calls (int 0x40)"),
    (ipcemu_linux::VECTOR, "Linux system calls (int 0x80)"),
    (ipcemu_dos::VECTOR_EXIT, "DOS terminate (int 0x20)"),
    (ipcemu_dos::VECTOR_DOS, "DOS services (int 0x21)"),
];

impl WorldConfig {
    /// Refuse configurations that cannot work (a PC-IPC vector another personality owns).
    pub fn validate(&self) -> Result<(), String> {
        if let Some((v, who)) = RESERVED_VECTORS
            .iter()
            .find(|(v, _)| *v == self.pcipc_vector)
        {
            return Err(format!(
                "PC-IPC vector {v:#04x} collides with {who}; choose another with --pcipc-vector"
            ));
        }
        if self.pcipc_vector < 0x20 {
            tracing::warn!(
                vector = self.pcipc_vector,
                "PC-IPC vector is also a CPU exception vector: a CPU fault with that number \
                 would be taken as a PC-IPC call"
            );
        }
        if self.kernel.pcipc.ids == 0 {
            return Err("--pcipc-ids must be at least 1".into());
        }
        Ok(())
    }
}

/// A guest to start.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    /// File name or path the guest came from (its process name is derived from it).
    pub path: String,
    /// The executable's bytes.
    pub bytes: Vec<u8>,
    /// Command line (MENUET v1 parameter buffer), if any.
    pub params: Option<String>,
}

impl GuestSpec {
    /// Read a guest from a file (its process name comes from the file name).
    pub fn from_file(
        path: impl AsRef<std::path::Path>,
        params: Option<&str>,
    ) -> std::io::Result<Self> {
        let path = path.as_ref();
        Ok(GuestSpec {
            path: path.to_string_lossy().into_owned(),
            bytes: std::fs::read(path)?,
            params: params.map(str::to_string),
        })
    }
}

/// An error starting a guest (bad image, no memory, no slot).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {msg}")]
pub struct StartError {
    /// The guest's path.
    pub path: String,
    /// What went wrong.
    pub msg: String,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Every process ended (look at each exit status).
    AllExited,
    /// Every live thread waits and nothing can wake any of them.
    Deadlock(Vec<String>),
    /// The virtual-time limit passed.
    Timeout,
    /// The wall-time limit passed.
    WallTimeout,
    /// The condition given to [`World::run_until`] held.
    Condition,
}

/// The outcome of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcReport {
    /// Process name.
    pub name: String,
    /// PID of its first thread.
    pub pid: u32,
    /// How it ended (`None`: still alive when the run stopped).
    pub status: Option<ExitStatus>,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Why the run stopped.
    pub end: End,
    /// Every process in start order.
    pub procs: Vec<ProcReport>,
    /// Virtual clock at the end, in ns.
    pub virtual_ns: u64,
    /// Host wall time of the run.
    pub wall: Duration,
    /// System calls handled.
    pub traps: u64,
}

impl RunReport {
    /// Whether every process ended normally with code 0 and the run was not cut short.
    pub fn success(&self) -> bool {
        self.end == End::AllExited
            && self
                .procs
                .iter()
                .all(|p| p.status == Some(ExitStatus::Normal(0)))
    }
}

/// Why the hook stopped emulation.
#[derive(Debug)]
enum Stop {
    Switch,
    Fault(String),
}

/// State shared between the run loop and the interrupt hooks.
struct Shared {
    kernel: Kernel<ProcMemory>,
    pcipc_vector: u32,
    kolibri: ipcemu_kolibri::Options,
    strict: bool,
    stop: Option<Stop>,
    bad_access: Option<(MemType, u64, usize)>,
}

struct Machine {
    uc: Unicorn<'static, ()>,
    real_mode: bool,
    loaded: Option<ThreadId>,
    contexts: HashMap<ThreadId, Context>,
}

/// A world of guest processes sharing one IPC kernel.
pub struct World {
    shared: Rc<RefCell<Shared>>,
    machines: Vec<Option<Machine>>,
    first_pid: Vec<u32>,
    config: WorldConfig,
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    host: Option<host::HostState>,
    started: Option<Instant>,
}

/// Register access for a personality (one Unicorn call per register: measured faster than a
/// batch read of all general registers, since a call reads only two to five).
struct UcCpu<'a, 'b> {
    uc: &'a mut Unicorn<'b, ()>,
}

fn x86(r: Reg) -> RegisterX86 {
    match r {
        Reg::Eax => RegisterX86::EAX,
        Reg::Ebx => RegisterX86::EBX,
        Reg::Ecx => RegisterX86::ECX,
        Reg::Edx => RegisterX86::EDX,
        Reg::Esi => RegisterX86::ESI,
        Reg::Edi => RegisterX86::EDI,
        Reg::Ebp => RegisterX86::EBP,
        Reg::Esp => RegisterX86::ESP,
        Reg::Eip => RegisterX86::EIP,
        Reg::Eflags => RegisterX86::EFLAGS,
        Reg::Cs => RegisterX86::CS,
        Reg::Ds => RegisterX86::DS,
        Reg::Es => RegisterX86::ES,
        Reg::Ss => RegisterX86::SS,
    }
}

impl Cpu for UcCpu<'_, '_> {
    #[inline]
    fn get(&self, r: Reg) -> u32 {
        self.uc.reg_read(x86(r)).unwrap_or(0) as u32
    }
    #[inline]
    fn set(&mut self, r: Reg, v: u32) {
        let _ = self.uc.reg_write(x86(r), v as u64);
    }
}

impl World {
    /// An empty world writing guest output to `out` (stdout data) and `err` (stderr data).
    /// Fails when the configuration cannot work (see [`WorldConfig::validate`]).
    pub fn new(
        config: WorldConfig,
        out: Box<dyn Write>,
        err: Box<dyn Write>,
    ) -> Result<Self, String> {
        config.validate()?;
        disable_huge_pages();
        let shared = Shared {
            kernel: Kernel::new(config.kernel.clone()),
            pcipc_vector: config.pcipc_vector as u32,
            kolibri: ipcemu_kolibri::Options {
                strict: config.strict,
            },
            strict: config.strict,
            stop: None,
            bad_access: None,
        };
        Ok(World {
            shared: Rc::new(RefCell::new(shared)),
            machines: Vec::new(),
            first_pid: Vec::new(),
            config,
            out,
            err,
            host: None,
            started: None,
        })
    }

    /// Load and start a guest process. Returns its PID.
    pub fn add_guest(&mut self, spec: &GuestSpec) -> Result<u32, StartError> {
        let fail = |msg: String| StartError {
            path: spec.path.clone(),
            msg,
        };
        let image =
            ipcemu_loader::load_named(&spec.path, &spec.bytes).map_err(|e| fail(e.to_string()))?;
        let real_mode = image.format == Format::Com;
        let mode = if real_mode {
            Mode::MODE_16
        } else {
            Mode::MODE_32
        };
        let mut uc = Unicorn::new(Arch::X86, mode)
            .map_err(|e| fail(format!("cannot create a Unicorn instance: {e:?}")))?;
        // Must come before anything initialises the engine.
        // SAFETY: valid handle; the control takes one u32 argument.
        unsafe {
            uc_ctl(
                uc.get_handle(),
                ControlType(ControlType::TCG_BUFFER_SIZE.0 | ControlType::IO_WRITE.0),
                TCG_BUFFER_SIZE,
            );
        }
        let mut mem = ProcMemory::new(uc.get_handle());
        for seg in &image.segments {
            mem.map(seg.base, seg.size).map_err(fail)?;
            for (off, data) in &seg.data {
                use ipcemu_kernel::GuestMemory;
                mem.write(seg.base + off, data)
                    .map_err(|e| fail(format!("segment data: {e}")))?;
            }
        }
        let stack = self.write_args(&image, spec, &mut mem);
        let flavor = match image.format {
            Format::Menuet => Flavor::Kolibri,
            Format::Elf32 => Flavor::Elf,
            Format::Com => Flavor::Dos,
        };
        let (proc, tid) = {
            let mut sh = self.shared.borrow_mut();
            sh.kernel
                .spawn_process(
                    &spec.path,
                    mem,
                    image.mem_size,
                    flavor,
                    (image.entry, image.stack),
                )
                .ok_or_else(|| fail("no free task slot (all --max-slots are taken)".into()))?
        };
        for (r, v) in [
            (RegisterX86::EAX, 0),
            (RegisterX86::EBX, 0),
            (RegisterX86::ECX, 0),
            (RegisterX86::EDX, 0),
            (RegisterX86::ESI, 0),
            (RegisterX86::EDI, 0),
            (RegisterX86::EBP, 0),
            (RegisterX86::ESP, stack as u64),
            (RegisterX86::EIP, image.entry as u64),
            (RegisterX86::EFLAGS, 0x202),
        ] {
            uc.reg_write(r, v)
                .map_err(|e| fail(format!("register setup: {e:?}")))?;
        }
        if real_mode {
            let seg = ipcemu_loader::COM_SEGMENT as u64;
            for r in [
                RegisterX86::CS,
                RegisterX86::DS,
                RegisterX86::ES,
                RegisterX86::SS,
            ] {
                uc.reg_write(r, seg)
                    .map_err(|e| fail(format!("register setup: {e:?}")))?;
            }
        }
        self.install_hooks(&mut uc, flavor).map_err(fail)?;
        let pid = {
            let mut sh = self.shared.borrow_mut();
            sh.kernel.threads[tid].start = None;
            sh.kernel.threads[tid].pid
        };
        debug_assert_eq!(proc, self.machines.len());
        self.machines.push(Some(Machine {
            uc,
            loaded: Some(tid),
            real_mode,
            contexts: HashMap::new(),
        }));
        self.first_pid.push(pid);
        tracing::info!(path = %spec.path, pid, "guest started");
        Ok(pid)
    }

    /// Put the command line where the format expects it; returns the initial esp.
    fn write_args(&self, image: &Image, spec: &GuestSpec, mem: &mut ProcMemory) -> u32 {
        use ipcemu_kernel::GuestMemory;
        if image.format == Format::Elf32 {
            // Linux i386 entry stack: argc, argv[], NULL, envp[] (empty), NULL, auxv AT_NULL.
            // argv[0] is the file name; --params is split at blanks.
            let file = spec.path.rsplit(['/', '\\']).next().unwrap_or(&spec.path);
            let mut args: Vec<&str> = vec![file];
            args.extend(spec.params.as_deref().unwrap_or("").split_whitespace());
            let mut sp = image.stack;
            let mut ptrs = Vec::new();
            for a in &args {
                let mut b = a.as_bytes()[..a.len().min(4096)].to_vec();
                b.push(0);
                sp -= b.len() as u32;
                let _ = mem.write(sp, &b);
                ptrs.push(sp);
            }
            sp &= !15;
            let mut words: Vec<u32> = vec![ptrs.len() as u32];
            words.extend(&ptrs);
            words.extend([0, 0, 0, 0]); // argv NULL, envp NULL, AT_NULL (type, value)
            sp -= 4 * words.len() as u32;
            sp &= !15;
            for (i, w) in words.iter().enumerate() {
                let _ = mem.write_u32(sp + 4 * i as u32, *w);
            }
            return sp;
        }
        if image.format == Format::Com {
            // DOS command tail: length byte, text (with the leading blank COMMAND.COM keeps),
            // carriage return.
            let text = spec.params.as_deref().unwrap_or("");
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
            return image.stack;
        }
        if image.params_addr != 0 {
            let p = spec.params.as_deref().unwrap_or("").as_bytes();
            let mut v = p[..p.len().min(255)].to_vec();
            v.push(0);
            let _ = mem.write(image.params_addr, &v);
        }
        if image.path_addr != 0 {
            let file = spec.path.rsplit(['/', '\\']).next().unwrap_or(&spec.path);
            let mut v = format!("/ipcemu/{file}").into_bytes();
            v.truncate(1023);
            v.push(0);
            // Write as much as fits in memory (the loader checked the first byte).
            while !v.is_empty() && mem.write(image.path_addr, &v).is_err() {
                v.pop();
                if let Some(l) = v.last_mut() {
                    *l = 0;
                }
            }
        }
        image.stack
    }

    fn install_hooks(&self, uc: &mut Unicorn<'static, ()>, flavor: Flavor) -> Result<(), String> {
        let real_mode = flavor == Flavor::Dos;
        let shared = Rc::clone(&self.shared);
        uc.add_intr_hook(move |uc, intno| {
            let mut guard = shared.borrow_mut();
            let sh = &mut *guard;
            let Some(t) = sh.kernel.current() else {
                sh.stop = Some(Stop::Fault("trap with no current thread".into()));
                let _ = uc.emu_stop();
                return;
            };
            let preempt = sh.kernel.charge_trap();
            let mut cpu = UcCpu { uc };
            let outcome = match (intno, flavor) {
                (n, _) if n == sh.pcipc_vector => {
                    ipcemu_pcipc::syscall(&mut sh.kernel, t, &mut cpu, real_mode)
                }
                (0x40, Flavor::Kolibri | Flavor::Elf) => {
                    ipcemu_kolibri::syscall(&mut sh.kernel, t, &mut cpu, &sh.kolibri)
                }
                (0x80, Flavor::Elf) => {
                    ipcemu_linux::syscall(&mut sh.kernel, t, &mut cpu, sh.strict)
                }
                (0x20 | 0x21, Flavor::Dos) => {
                    ipcemu_dos::syscall(&mut sh.kernel, t, &mut cpu, intno as u8)
                }
                (n, _) => Outcome::Fault(interrupt_name(n)),
            };
            let stop = match outcome {
                Outcome::Continue if !preempt => return,
                // Giving up the CPU with nobody to take it: go on without leaving Unicorn.
                Outcome::Yield if !sh.kernel.others_runnable() => return,
                Outcome::Continue | Outcome::Yield => {
                    sh.kernel.yield_current();
                    Stop::Switch
                }
                Outcome::Block | Outcome::Exit => Stop::Switch,
                Outcome::Fault(m) => Stop::Fault(m),
            };
            sh.stop = Some(stop);
            let _ = uc.emu_stop();
        })
        .map_err(|e| format!("cannot add the interrupt hook: {e:?}"))?;
        let shared = Rc::clone(&self.shared);
        uc.add_mem_hook(
            HookType::MEM_INVALID,
            1,
            0,
            move |_, kind, addr, size, _| {
                shared.borrow_mut().bad_access = Some((kind, addr, size));
                false
            },
        )
        .map_err(|e| format!("cannot add the memory hook: {e:?}"))?;
        Ok(())
    }

    /// Add the host actor: a process named `name` with a KolibriOS IPC area of `area_size`
    /// bytes and, when `pcipc` is set, a PC-IPC ID once PC-IPC is installed. Call it after
    /// the guests, so their PIDs are the same as without a host. Returns the host's PID.
    pub fn add_host(&mut self, name: &str, area_size: u32, pcipc: bool) -> Result<u32, StartError> {
        let fail = |msg: String| StartError {
            path: name.to_string(),
            msg,
        };
        if self.host.is_some() {
            return Err(fail("a world has one host actor".into()));
        }
        let (mem, area) = host::HostState::memory(area_size).map_err(fail)?;
        let mut sh = self.shared.borrow_mut();
        let k = &mut sh.kernel;
        let (_, tid) = k
            .spawn_process(name, mem, area, Flavor::Host, (0, 0))
            .ok_or_else(|| fail("no free task slot (all --max-slots are taken)".into()))?;
        let h = host::HostState::new(k, tid, area, pcipc);
        let pid = h.pid;
        drop(sh);
        self.machines.push(None);
        self.first_pid.push(pid);
        self.host = Some(h);
        Ok(pid)
    }

    /// Schedule a host message; returns its index (see [`World::host_sent`]).
    pub fn host_send(&mut self, action: HostAction) -> Option<usize> {
        let h = self.host.as_mut()?;
        let mut sh = self.shared.borrow_mut();
        Some(h.add(&mut sh.kernel, action))
    }

    /// Messages the host actor received so far.
    pub fn host_received(&self) -> &[HostMessage] {
        self.host.as_ref().map_or(&[], |h| &h.received)
    }

    /// Host messages sent so far, with their result codes.
    pub fn host_sent(&self) -> &[HostSent] {
        self.host.as_ref().map_or(&[], |h| &h.sent)
    }

    /// PID of the host actor.
    pub fn host_pid(&self) -> Option<u32> {
        self.host.as_ref().map(|h| h.pid)
    }

    /// What process `proc` (start order, 0-based) has written so far; needs
    /// `Config::capture_output`.
    pub fn output_of(&self, proc: ProcId) -> Vec<u8> {
        let sh = self.shared.borrow();
        sh.kernel
            .procs
            .get(proc)
            .map(|p| p.output.clone())
            .unwrap_or_default()
    }

    /// Run until every guest process has ended, a deadlock, or a limit.
    pub fn run(&mut self) -> RunReport {
        self.run_until(|_| false)
    }

    /// Run until `stop` returns true (checked at every scheduling point), every guest process
    /// has ended, a deadlock, or a limit. A world stopped by its condition can run again.
    pub fn run_until(&mut self, mut stop: impl FnMut(&Kernel<ProcMemory>) -> bool) -> RunReport {
        let started = *self.started.get_or_insert_with(Instant::now);
        let dog = self
            .config
            .wall_timeout
            .map(|w| watchdog::Watchdog::start(w.saturating_sub(started.elapsed())));
        let virt_limit = self.config.timeout.map(|d| d.as_nanos() as u64);
        self.shared.borrow_mut().kernel.time_limit = virt_limit;
        let end = loop {
            self.flush(false);
            if dog.as_ref().is_some_and(|d| d.fired()) {
                break End::WallTimeout;
            }
            let pick = {
                let mut guard = self.shared.borrow_mut();
                let sh = &mut *guard;
                if let Some(h) = self.host.as_mut() {
                    h.step(&mut sh.kernel);
                    let host_proc = h.proc;
                    if sh
                        .kernel
                        .procs
                        .iter()
                        .enumerate()
                        .all(|(i, p)| i == host_proc || p.exit.is_some())
                    {
                        break End::AllExited;
                    }
                }
                if stop(&sh.kernel) {
                    break End::Condition;
                }
                if virt_limit.is_some_and(|l| sh.kernel.now_ns() >= l) {
                    break End::Timeout;
                }
                sh.kernel.pick_next()
            };
            let t = match pick {
                Pick::Run(t) if self.host.as_ref().is_some_and(|h| h.tid == t) => {
                    // The host's timer fired: it acts at the top of the loop.
                    continue;
                }
                Pick::Run(t) => t,
                Pick::Idle(until) => {
                    self.flush(true);
                    let now = self.shared.borrow().kernel.now_ns();
                    let mut wait = until.saturating_sub(now);
                    if let Some(l) = virt_limit {
                        wait = wait.min(l.saturating_sub(now));
                    }
                    std::thread::sleep(Duration::from_nanos(wait.min(50_000_000)));
                    continue;
                }
                Pick::Deadlock(w) => break End::Deadlock(w),
                Pick::Finished => break End::AllExited,
            };
            self.run_thread(t, dog.as_ref());
        };
        drop(dog);
        self.flush(true);
        self.report(end, started)
    }

    fn report(&self, end: End, started: Instant) -> RunReport {
        let sh = self.shared.borrow();
        let k = &sh.kernel;
        let host_proc = self.host.as_ref().map(|h| h.proc);
        RunReport {
            end,
            procs: k
                .procs
                .iter()
                .zip(&self.first_pid)
                .enumerate()
                .filter(|(i, _)| Some(*i) != host_proc)
                .map(|(_, (p, &pid))| ProcReport {
                    name: p.name.clone(),
                    pid,
                    status: p.exit.clone(),
                })
                .collect(),
            virtual_ns: k.now_ns(),
            wall: started.elapsed(),
            traps: k.threads.iter().map(|t| t.traps).sum(),
        }
    }

    /// Switch the machine of `t`'s process to `t` and run it until the hook stops it.
    fn run_thread(&mut self, t: ThreadId, dog: Option<&watchdog::Watchdog>) {
        let (proc, start, wake) = {
            let mut sh = self.shared.borrow_mut();
            let th = &mut sh.kernel.threads[t];
            (th.proc, th.start.take(), th.wake_value.take())
        };
        let Some(m) = self.machines[proc].as_mut() else {
            // Cannot happen: a process with a live thread has a machine.
            let mut sh = self.shared.borrow_mut();
            sh.kernel
                .exit_process(proc, ExitStatus::Fault("machine missing".into()));
            return;
        };
        if m.loaded != Some(t) {
            if let Some(old) = m.loaded {
                let alive = self.shared.borrow().kernel.threads[old].state != ThreadState::Ended;
                if alive {
                    match m
                        .uc
                        .context_alloc()
                        .and_then(|mut c| m.uc.context_save(&mut c).map(|_| c))
                    {
                        Ok(c) => {
                            m.contexts.insert(old, c);
                        }
                        Err(e) => tracing::error!(?e, "context save failed"),
                    }
                }
            }
            if let Some(c) = m.contexts.remove(&t) {
                let _ = m.uc.context_restore(&c);
            } else if let Some((eip, esp)) = start {
                for r in [
                    RegisterX86::EAX,
                    RegisterX86::EBX,
                    RegisterX86::ECX,
                    RegisterX86::EDX,
                    RegisterX86::ESI,
                    RegisterX86::EDI,
                    RegisterX86::EBP,
                ] {
                    let _ = m.uc.reg_write(r, 0);
                }
                let _ = m.uc.reg_write(RegisterX86::ESP, esp as u64);
                let _ = m.uc.reg_write(RegisterX86::EIP, eip as u64);
            }
            m.loaded = Some(t);
        }
        if let Some(v) = wake {
            let _ = m.uc.reg_write(RegisterX86::EAX, v as u64);
        }
        let pc = if m.real_mode {
            // Unicorn takes a linear start address in 16-bit mode.
            let cs = m.uc.reg_read(RegisterX86::CS).unwrap_or(0) & 0xffff;
            let ip = m.uc.reg_read(RegisterX86::EIP).unwrap_or(0) & 0xffff;
            (cs << 4) + ip
        } else {
            m.uc.reg_read(RegisterX86::EIP).unwrap_or(0)
        };
        if let Some(d) = dog {
            d.enter(m.uc.get_handle());
        }
        let result = m.uc.emu_start(pc, 0, 0, 0);
        if let Some(d) = dog {
            d.leave();
        }
        let (stop, bad) = {
            let mut sh = self.shared.borrow_mut();
            (sh.stop.take(), sh.bad_access.take())
        };
        let fault = match (result, stop) {
            (Err(e), _) => Some(describe_uc_error(e, bad)),
            (Ok(()), Some(Stop::Fault(msg))) => Some(msg),
            (Ok(()), Some(Stop::Switch)) => None,
            (Ok(()), None) => {
                if dog.is_some_and(|d| d.fired()) {
                    // Stopped by the wall-clock watchdog: leave the thread runnable.
                    let mut sh = self.shared.borrow_mut();
                    sh.kernel.yield_current();
                    None
                } else {
                    Some("emulation stopped by itself (hlt, or execution reached address 0)".into())
                }
            }
        };
        if let Some(reason) = fault {
            let report = self.fault_report(proc, t, &reason);
            let _ = writeln!(self.err, "{report}");
            let mut sh = self.shared.borrow_mut();
            sh.kernel.exit_process(proc, ExitStatus::Fault(report));
        }
        if self.shared.borrow().kernel.proc_ended(proc) {
            self.drop_machine(proc);
        }
    }

    fn fault_report(&self, proc: ProcId, t: ThreadId, reason: &str) -> String {
        let label = self.shared.borrow().kernel.thread_label(t);
        let Some(m) = self.machines[proc].as_ref() else {
            return format!("ipcemu: guest fault in {label}: {reason}");
        };
        let r = |reg| m.uc.reg_read(reg).unwrap_or(0) as u32;
        let eip = r(RegisterX86::EIP);
        let (code_at, seg) = if m.real_mode {
            let (cs, ss) = (r(RegisterX86::CS) & 0xffff, r(RegisterX86::SS) & 0xffff);
            (
                (cs << 4) + (eip & 0xffff),
                format!(
                    "\n  cs:ip={cs:04x}:{:04x} ss:sp={ss:04x}:{:04x} ds={:04x} es={:04x} (real mode)",
                    eip & 0xffff,
                    r(RegisterX86::ESP) & 0xffff,
                    r(RegisterX86::DS) & 0xffff,
                    r(RegisterX86::ES) & 0xffff
                ),
            )
        } else {
            (eip, String::new())
        };
        let mut code = [0u8; 16];
        let code_s = match m.uc.mem_read(code_at as u64, &mut code) {
            Ok(()) => code
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
            Err(_) => "(not readable)".into(),
        };
        format!(
            "ipcemu: guest fault in {label}: {reason}\n  eip={eip:08x} eax={:08x} ebx={:08x} ecx={:08x} edx={:08x}\n  esi={:08x} edi={:08x} ebp={:08x} esp={:08x} eflags={:08x}\n  code at eip: {code_s}{seg}",
            r(RegisterX86::EAX),
            r(RegisterX86::EBX),
            r(RegisterX86::ECX),
            r(RegisterX86::EDX),
            r(RegisterX86::ESI),
            r(RegisterX86::EDI),
            r(RegisterX86::EBP),
            r(RegisterX86::ESP),
            r(RegisterX86::EFLAGS),
        )
    }

    fn drop_machine(&mut self, proc: ProcId) {
        if let Some(m) = self.machines[proc].take() {
            // Detach first: the memory stays (the kernel owns it) but must not map into a
            // closed instance.
            self.shared.borrow_mut().kernel.procs[proc].mem.detach();
            drop(m);
        }
    }

    /// Move guest output from the kernel to the writers (always when `force`, else when
    /// enough has collected).
    fn flush(&mut self, force: bool) {
        let mut sh = self.shared.borrow_mut();
        let k = &mut sh.kernel;
        if force || k.stdout.len() >= 1 << 16 {
            if !k.stdout.is_empty() {
                let _ = self.out.write_all(&k.stdout);
                k.stdout.clear();
            }
            if !k.stderr.is_empty() {
                let _ = self.err.write_all(&k.stderr);
                k.stderr.clear();
            }
            if force {
                let _ = self.out.flush();
                let _ = self.err.flush();
            }
        }
    }

    /// Direct access to the kernel (inspection, host-side tools).
    pub fn with_kernel<R>(&self, f: impl FnOnce(&mut Kernel<ProcMemory>) -> R) -> R {
        f(&mut self.shared.borrow_mut().kernel)
    }

    /// Number of processes started.
    pub fn process_count(&self) -> usize {
        self.machines.len()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Close every Unicorn instance before the kernel frees the memory they map.
        for p in 0..self.machines.len() {
            self.drop_machine(p);
        }
    }
}

/// Ask Linux not to back this process's anonymous memory with transparent huge pages.
///
/// Each Unicorn instance writes its first translated code into its own TCG buffer; with THP the
/// kernel backs that first write with a whole 2 MiB page (zeroed: ≈ 100 µs), so every guest
/// process cost ≥ 2 MiB of RSS and most of its start-up time. Measured: 200 idle guests
/// 580 MB / 2.3 s with THP, see docs/performance.md for the figures without.
fn disable_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and has no memory effects.
            let r = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
            if r != 0 {
                tracing::debug!("PR_SET_THP_DISABLE failed; guests may use huge pages");
            }
        });
    }
}

fn interrupt_name(n: u32) -> String {
    let what = match n {
        0 => "divide error (#DE)",
        1 => "debug trap (#DB)",
        3 => "breakpoint (int3)",
        4 => "overflow (into)",
        5 => "bound range exceeded (#BR)",
        6 => "invalid opcode (#UD)",
        8 => "double fault",
        13 => "general protection fault (#GP)",
        14 => "page fault (#PF)",
        0x80 => "int 0x80 (Linux system call) in a non-ELF guest",
        0x20 | 0x21 => "DOS interrupt in a guest that is not a DOS program",
        0x40 => "int 0x40 (KolibriOS system call) in a DOS guest",
        _ => "",
    };
    if what.is_empty() {
        format!("unhandled interrupt {n:#04x} (no personality on this vector)")
    } else {
        format!("unhandled interrupt {n:#04x}: {what}")
    }
}

fn describe_uc_error(e: uc_error, bad: Option<(MemType, u64, usize)>) -> String {
    let access = bad
        .map(|(k, a, s)| {
            let kind = match k {
                MemType::READ_UNMAPPED => "read",
                MemType::WRITE_UNMAPPED => "write",
                MemType::FETCH_UNMAPPED => "instruction fetch",
                MemType::READ_PROT => "read (protected)",
                MemType::WRITE_PROT => "write (protected)",
                MemType::FETCH_PROT => "fetch (protected)",
                _ => "access",
            };
            format!(": {kind} of {s} byte(s) at address {a:#010x}")
        })
        .unwrap_or_default();
    let what = match e {
        uc_error::READ_UNMAPPED => "read from unmapped memory",
        uc_error::WRITE_UNMAPPED => "write to unmapped memory",
        uc_error::FETCH_UNMAPPED => "instruction fetch from unmapped memory",
        uc_error::INSN_INVALID => "invalid instruction",
        uc_error::EXCEPTION => "unhandled CPU exception",
        uc_error::READ_UNALIGNED | uc_error::WRITE_UNALIGNED | uc_error::FETCH_UNALIGNED => {
            "unaligned access"
        }
        _ => "emulation error",
    };
    format!("{what} ({e:?}){access}")
}
