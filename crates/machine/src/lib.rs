//! # ipcemu-machine
//!
//! Unicorn-backed guest machines and the run loop. One Unicorn instance per guest process
//! (its threads share it and swap register contexts); one interrupt hook per instance that
//! hands each trap to the personality its process routes that vector to:
//!
//! ```text
//! guest `int n` -> interrupt hook -> routes[n] -> Personality::trap -> kernel -> registers/memory
//!                                 -> Outcome: Continue (same emu_start goes on)
//!                                             Block/Yield (the hook waits: its coroutine
//!                                             suspends; the run loop asks the kernel what
//!                                             runs next and later resumes it, runner.rs)
//!                                             Exit/Fault (emu_stop)
//! ```
//!
//! Each instance's `emu_start` runs on a coroutine stack of its own, so a blocked thread's
//! instance stays inside its interrupt hook until the thread is scheduled again (a process
//! switch is two stack switches, not `emu_stop` + `emu_start`); see `runner.rs`.
//!
//! The machine knows no personality: the world is built from a registry of
//! [`Personality`] objects (crate `ipcemu-registry` assembles the standard one).

#![warn(missing_docs)]

mod delayed;
mod host;
mod limits;
mod memory;
mod runner;
mod stop;
mod watchdog;

pub use delayed::TimedAction;
pub use host::{HostAction, HostSent, HostTarget, Trigger, HOST_BASE, HOST_MAX_MESSAGE};
pub use ipcemu_personality::HostMessage;
pub use limits::{nanos, seconds, SecondsError, DEFAULT_MAX_OUTPUT, MAX_SECONDS, OUTPUT_BUFFER};
pub use memory::{HostRam, MemBudget, MemoryError, ProcMemory};
pub use stop::StopHandle;

extern "C" {
    /// Defined only by ipcemu's patched Unicorn (`patches/unicorn/`, applied by
    /// `scripts/patch-unicorn.sh`): a build against the unpatched library fails to link.
    fn uc_ipcemu_store_patch() -> u32;
    /// Also from the patched Unicorn (`x86-regs-in-place` patch): the instance's CPU state,
    /// whose first member is the array of general registers (`CPUX86State::regs`, sixteen
    /// 64-bit values in QEMU's order); null if the engine cannot start.
    fn uc_ipcemu_cpu_env(uc: *mut std::ffi::c_void) -> *mut u64;
    /// Also from the `x86-regs-in-place` patch: the byte offset of segment register `seg`'s
    /// selector (`0` = ES, `1` = CS, `2` = SS, `3` = DS, `4` = FS, `5` = GS, QEMU's order) in
    /// that CPU state, or -1 for another `seg`.
    fn uc_ipcemu_x86_seg_offset(seg: std::ffi::c_int) -> std::ffi::c_long;
}

/// The level of ipcemu's Unicorn patch this build runs on (guest stores take the fast path on
/// pages that hold no translated code; `docs/performance.md`). 1 today.
pub fn unicorn_store_patch() -> u32 {
    // SAFETY: a C function without arguments or side effects, returning a constant.
    unsafe { uc_ipcemu_store_patch() }
}

use ipcemu_kernel::{
    Access, Config, Cpu, ExitStatus, FaultReport, GuestFault, GuestMemory, Kernel, Outcome, Pick,
    Pid, ProcId, Reg, RegFile, ThreadId, ThreadState, Wake,
};
use ipcemu_loader::Image;
use ipcemu_personality::{
    check_registry, Personality, RegistryError, Routes, SpawnFailure, Spawned, StartArgs, Trap,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};
use unicorn_engine::unicorn_const::{Arch, ControlType, HookType, MemType, Mode};
use unicorn_engine::{uc_ctl, uc_error, Context, RegisterX86, Unicorn};

/// A debugging request the world cannot carry out (the sentence names the process or
/// address).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DebugError(pub String);

impl From<String> for DebugError {
    fn from(s: String) -> Self {
        DebugError(s)
    }
}

/// Where a program named by a guest (`child.exe`, `sub\child.exe`) is: relative to the
/// folder of the parent's image. Absolute names and `..` are refused: a guest starts only
/// programs that sit beside it.
fn resolve_program(parent_path: &str, program: &str) -> Result<std::path::PathBuf, String> {
    let norm = program.replace('\\', "/");
    let absolute = norm.starts_with('/') || norm.as_bytes().get(1) == Some(&b':');
    let parts: Vec<&str> = norm
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if absolute || parts.is_empty() || parts.contains(&"..") {
        return Err(format!(
            "{program:?} is not a program name relative to the parent's folder"
        ));
    }
    let mut path = std::path::Path::new(parent_path)
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    for c in parts {
        path.push(c);
    }
    Ok(path)
}

/// The instruction at `at` and the next few, disassembled (NASM syntax), one per line, the
/// first marked `>`; `ip` is the address shown (eip; in real mode the offset in cs). Bytes
/// that cannot be read or decoded are shown as such.
fn disassemble(uc: &Unicorn<'static, ()>, at: u32, ip: u32, bitness: u32) -> String {
    use iced_x86::{Decoder, DecoderOptions, Formatter, NasmFormatter};
    let mut code = [0u8; 32];
    // Read as much as is mapped (the page may end inside the window).
    let mut n = code.len();
    while n > 0 && uc.mem_read(at as u64, &mut code[..n]).is_err() {
        n = if n > 16 { 16 } else { n / 2 };
    }
    if n == 0 {
        return " (not readable)".into();
    }
    let mut dec = Decoder::with_ip(bitness, &code[..n], ip as u64, DecoderOptions::NONE);
    let mut fmt = NasmFormatter::new();
    let mut out = String::new();
    let mut text = String::new();
    for i in 0..4 {
        if !dec.can_decode() {
            break;
        }
        let start = dec.position();
        let ins = dec.decode();
        let bytes: Vec<String> = code[start..start + ins.len()]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        text.clear();
        if ins.is_invalid() {
            text.push_str("(not a valid instruction)");
        } else {
            fmt.format(&ins, &mut text);
        }
        let mark = if i == 0 { '>' } else { ' ' };
        out.push_str(&format!(
            "\n  {mark} {:08x}  {:<20} {text}",
            ins.ip32(),
            bytes.join(" ")
        ));
        if ins.is_invalid() {
            break;
        }
    }
    out
}

/// Whether `bytes` of address space can be mapped now (then unmapped at once). Fails with a
/// sentence naming the address-space limit when they cannot.
fn reserve_check(bytes: usize) -> Result<(), String> {
    // SAFETY: an anonymous private mapping with no access, unmapped right away; no memory is
    // touched and no other mapping is affected.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit struct we own.
        let limit = if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } == 0
            && lim.rlim_cur != libc::RLIM_INFINITY
        {
            format!(
                "the address-space limit (ulimit -v) is {} KiB",
                lim.rlim_cur / 1024
            )
        } else {
            "the host has no address space left".to_string()
        };
        return Err(format!(
            "cannot reserve {} MiB of address space for the guest's translation buffer: {limit}",
            bytes >> 20
        ));
    }
    // SAFETY: `p` is the mapping of `bytes` made above.
    unsafe { libc::munmap(p, bytes) };
    Ok(())
}

/// Translation-cache size per guest (Unicorn's default reserves 1 GiB of address space).
pub const TCG_BUFFER_SIZE: u32 = 8 << 20;

/// The personalities of a world.
pub type Registry = Vec<Box<dyn Personality<ProcMemory>>>;

/// Options for a world.
#[derive(Debug, Clone, Default)]
pub struct WorldConfig {
    /// Kernel tunables (virtual clock, quantum, slots).
    pub kernel: Config,
    /// Stop after this much virtual (or, with `realtime`, wall) time in the guests' clock.
    pub timeout: Option<Duration>,
    /// Stop after this much host wall time.
    pub wall_timeout: Option<Duration>,
    /// Guest memory one process may map (`None`: 4 GiB, the whole 32-bit space).
    pub max_process_memory: Option<u64>,
    /// Guest memory all processes of the world may map together (`None`: no limit).
    pub max_world_memory: Option<u64>,
}

/// A world that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The personalities do not fit together.
    #[error("{0}")]
    Registry(#[from] RegistryError),
}

/// A guest to start.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    /// File name or path the guest came from (its process name is derived from it).
    pub path: String,
    /// The executable's bytes.
    pub bytes: Vec<u8>,
    /// Command line, if any.
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

/// A started guest: its process index and the PID of its first thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestId {
    /// Process index (start order, 0-based).
    pub proc: ProcId,
    /// PID of its first thread.
    pub pid: Pid,
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
    /// A [`StopHandle`] asked the run to stop (a signal, a closed output).
    Interrupted,
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
    /// Each guest thread still alive at the end and what it was doing, one line each
    /// (`name[pid] slot N: waits for ...` or `... : running`); empty when every guest ended.
    pub waiting: Vec<String>,
    /// Per process in start order: bytes of captured output dropped over
    /// `Config::max_output` (all 0 without `capture_output`).
    pub output_dropped: Vec<u64>,
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

/// Why one thread stopped running (the result of [`World::step`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// It trapped and now waits, yielded, used up its quantum or ended: the scheduler decides.
    Switch,
    /// It faulted; its process has ended with this report.
    Fault(Box<FaultReport>),
    /// The wall-clock watchdog stopped it (it stays runnable).
    Watchdog,
    /// A [`StopHandle`] stopped it (it stays runnable).
    Interrupted,
    /// It reached a breakpoint ([`World::add_breakpoint`]) at this address; it stays runnable
    /// and has not executed the instruction there.
    Breakpoint(u32),
    /// It executed the one instruction [`World::step_next`] asked for (it stays runnable).
    Stepped,
    /// An instruction accessed memory a watchpoint covers ([`World::add_watchpoint`]): the
    /// access address, and whether it was a write. The instruction completed; the thread stays
    /// runnable.
    Watchpoint(u32, bool),
    /// [`StopHandle::pause`] stopped it before it trapped; it stays runnable, first in line.
    Paused,
}

/// What [`World::step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Thread ran until it stopped for this reason.
    Ran(ThreadId, StopReason),
    /// Nothing could run: the run is over for this reason.
    Over(End),
}

/// Why the hook stopped emulation.
#[derive(Debug)]
enum HookStop {
    Switch,
    Fault(Box<GuestFault>),
    Breakpoint(u32),
    Watchpoint(u32, bool),
}

/// State shared between the run loop and the interrupt hooks.
struct Shared {
    kernel: Kernel<ProcMemory>,
    pers: Registry,
    stop: Option<HookStop>,
    bad_access: Option<(MemType, u64, usize)>,
    strace: Option<StraceLog>,
    /// A breakpoint a thread stopped at: passed once when that thread runs on from it.
    skip_break: Option<(ThreadId, u32)>,
    /// A watched access in the current instruction: (address, write); the run stops before
    /// the next instruction.
    watch_hit: Option<(u32, bool)>,
    /// The thread running now may wait inside the interrupt hook when it blocks or yields
    /// (runner.rs); false while it is single-stepped or a debugger uses the world.
    wait_in_hook: bool,
}

/// The system-call log (`--strace`): one line per system call of every personality.
struct StraceLog {
    out: Box<dyn Write>,
    filter: Vec<String>,
    /// Calls that blocked: (personality index, the call), logged again when they resume.
    pending: HashMap<ThreadId, (usize, String)>,
}

impl StraceLog {
    fn keeps(&self, pers: &str, call: &str) -> bool {
        let name = call.split('(').next().unwrap_or(call);
        self.filter.is_empty()
            || self
                .filter
                .iter()
                .any(|f| f == pers || name.contains(f.as_str()))
    }
}

impl Shared {
    /// Log one system call after it was handled.
    fn strace_after(
        &mut self,
        i: usize,
        t: ThreadId,
        call: String,
        outcome: &Outcome,
        cpu: &dyn Cpu,
    ) {
        let Some(log) = self.strace.as_mut() else {
            return;
        };
        let p = &self.pers[i];
        if !log.keeps(p.name(), &call) {
            return;
        }
        let k = &mut self.kernel;
        let head = format!("{:.6} {}", k.now_ns() as f64 / 1e9, k.thread_label(t));
        let line = match outcome {
            Outcome::Continue | Outcome::Yield => {
                format!("{head} {call} = {}", p.strace_result(k, t, cpu, &call))
            }
            Outcome::Block => {
                let l = format!("{head} {call} <unfinished ...>");
                log.pending.insert(t, (i, call));
                l
            }
            Outcome::Exit => format!("{head} {call} = ? (ended)"),
            Outcome::Fault(f) => format!("{head} {call} = ? (fault: {f})"),
        };
        let _ = writeln!(log.out, "{line}");
    }

    /// A thread whose logged call blocked runs again.
    fn strace_resumed(&mut self, t: ThreadId, had_value: bool, cpu: &dyn Cpu) {
        let Some(log) = self.strace.as_mut() else {
            return;
        };
        let Some((i, call)) = log.pending.remove(&t) else {
            return;
        };
        let name = call.split('(').next().unwrap_or(&call);
        let k = &mut self.kernel;
        let head = format!("{:.6} {}", k.now_ns() as f64 / 1e9, k.thread_label(t));
        let _ = if had_value {
            writeln!(
                log.out,
                "{head} <... {name} resumed> = {}",
                self.pers[i].strace_result(k, t, cpu, &call)
            )
        } else {
            // Woken to make the call again (a restartable call): its next line says the rest.
            writeln!(log.out, "{head} <... {name} resumed>")
        };
    }
}

impl Shared {
    /// Tell every personality about threads that ended.
    fn notify_exits(&mut self) {
        while self.kernel.has_exited() {
            for t in self.kernel.take_exited() {
                for p in self.pers.iter_mut() {
                    p.thread_exited(&mut self.kernel, t);
                }
            }
        }
    }
}

struct Machine {
    /// The coroutine `emu_start` runs on (first: it is dropped, and so leaves Unicorn,
    /// before the instance closes).
    runner: runner::Runner,
    uc: Unicorn<'static, ()>,
    real_mode: bool,
    loaded: Option<ThreadId>,
    contexts: HashMap<ThreadId, Context>,
    /// Breakpoints: a code hook on each address.
    breakpoints: HashMap<u32, unicorn_engine::UcHookId>,
    /// Where the image lies: (lowest segment start, highest segment end).
    image_range: (u32, u64),
    /// Watchpoints: (start, length, writes only) -> their memory hook.
    watchpoints: HashMap<(u32, u32, bool), unicorn_engine::UcHookId>,
    /// While watchpoints exist: a code hook that stops before the instruction after a hit.
    watch_step: Option<unicorn_engine::UcHookId>,
    /// `regs_in_place(&uc)`.
    gpr: *mut u64,
}

/// Basic blocks a process executed (start, size), and where its image lies.
type Coverage = (
    Rc<RefCell<std::collections::BTreeSet<(u32, u16)>>>,
    (u32, u64),
);

/// A world of guest processes sharing one kernel.
pub struct World {
    shared: Rc<RefCell<Shared>>,
    machines: Vec<Option<Machine>>,
    first_pid: Vec<u32>,
    /// Path each process was loaded from (programs it starts are looked for next to it).
    paths: Vec<String>,
    /// The threads whose next run is one instruction (debuggers' steps).
    step_thread: Vec<ThreadId>,
    /// A debugger has used this world (breakpoints, steps, register writes, coverage):
    /// no thread waits inside its interrupt hook any more (runner.rs), so every run is a
    /// plain `emu_start`.
    debugging: bool,
    /// Where threads stopped at breakpoints (passed once when they run on).
    stopped_at: HashMap<ThreadId, u32>,
    /// Coverage being recorded, per process (kept when the process's machine goes).
    coverage: HashMap<ProcId, Coverage>,
    /// The memory limits every process's memory counts against.
    budget: Rc<MemBudget>,
    config: WorldConfig,
    /// Guest output's stdout and stderr writers, shared with the kernel's output sink.
    writers: Rc<RefCell<Writers>>,
    host: Option<host::HostState>,
    started: Option<Instant>,
    stop: StopHandle,
    /// Guests in the order they were given ([`World::add_guest`], [`World::add_guest_at`]):
    /// their process once started.
    guests: Vec<Option<GuestId>>,
    /// Guests that start later, by token (the guest's number): taken when they start.
    delayed: Vec<Option<GuestSpec>>,
    /// Host-side actions at a guest time ([`World::add_timed`]), by token: taken when run.
    timed: Vec<Option<TimedAction>>,
}

/// Where guest output and fault reports go.
struct Writers {
    out: Box<dyn Write>,
    err: Box<dyn Write>,
}

/// Register access for a personality. The eight general registers are read and written in
/// place in Unicorn's CPU state (what `uc_reg_read`/`uc_reg_write` do for them, without a call
/// that costs about 10 ns each; docs/performance.md); the others go through Unicorn's API.
struct UcCpu<'a, 'b> {
    uc: &'a mut Unicorn<'b, ()>,
    /// `CPUX86State::regs` of `uc`, or null (then every register goes through the API).
    gpr: *mut u64,
}

/// `CPUX86State::regs` of `uc` (fixed for the instance's life), or null. Looked up once per
/// instance: the trap hook captures it and the machine keeps it.
fn regs_in_place(uc: &Unicorn<'_, ()>) -> *mut u64 {
    // SAFETY: the handle is the live instance `uc`; the call only starts the engine if needed
    // and returns a pointer into its CPU state.
    unsafe { uc_ipcemu_cpu_env(uc.get_handle().cast()) }
}

impl<'a, 'b> UcCpu<'a, 'b> {
    /// `gpr` must be `regs_in_place` of this same `uc` (the instance's CPU state does not move).
    fn new(uc: &'a mut Unicorn<'b, ()>, gpr: *mut u64) -> Self {
        debug_assert_eq!(gpr, regs_in_place(uc));
        UcCpu { uc, gpr }
    }

    /// Index of a general register in `CPUX86State::regs` (QEMU's R_EAX.. order).
    fn gpr_index(r: Reg) -> Option<usize> {
        Some(match r {
            Reg::Eax => 0,
            Reg::Ecx => 1,
            Reg::Edx => 2,
            Reg::Ebx => 3,
            Reg::Esp => 4,
            Reg::Ebp => 5,
            Reg::Esi => 6,
            Reg::Edi => 7,
            _ => return None,
        })
    }

    /// Index of a segment register in `CPUX86State::segs` (QEMU's R_ES.. order). Only read
    /// in place: writing a selector must also load the segment's base and limit, which
    /// uc_reg_write does.
    fn seg_index(r: Reg) -> Option<std::ffi::c_int> {
        Some(match r {
            Reg::Es => 0,
            Reg::Cs => 1,
            Reg::Ss => 2,
            Reg::Ds => 3,
            Reg::Fs => 4,
            Reg::Gs => 5,
            _ => return None,
        })
    }

    /// `Cpu::get` of a register that is not a general one (kept out of line, so that the
    /// general registers' path stays a few instructions).
    #[inline(never)]
    fn get_other(&self, r: Reg) -> u32 {
        if let (false, Some(seg)) = (self.gpr.is_null(), Self::seg_index(r)) {
            // SAFETY: a C function without side effects.
            let off = unsafe { uc_ipcemu_x86_seg_offset(seg) };
            if off >= 0 {
                // SAFETY: as for the general registers: `off` is where the C compiler put this
                // segment's `uint32_t selector` inside the same CPU state (`gpr` is its
                // start), and uc_reg_read returns exactly that field for segment registers.
                return unsafe {
                    std::ptr::read_volatile(self.gpr.cast::<u8>().add(off as usize).cast::<u32>())
                };
            }
        }
        self.uc.reg_read(x86(r)).unwrap_or(0) as u32
    }
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
        Reg::Fs => RegisterX86::FS,
        Reg::Gs => RegisterX86::GS,
    }
}

/// Every register the machine reads or writes, the eight general registers first.
const ALL_REGS: [Reg; 16] = [
    Reg::Eax,
    Reg::Ebx,
    Reg::Ecx,
    Reg::Edx,
    Reg::Esi,
    Reg::Edi,
    Reg::Ebp,
    Reg::Esp,
    Reg::Eip,
    Reg::Eflags,
    Reg::Cs,
    Reg::Ds,
    Reg::Es,
    Reg::Ss,
    Reg::Fs,
    Reg::Gs,
];

/// The eight general registers (the start of [`ALL_REGS`]).
const GP_REGS: [Reg; 8] = match ALL_REGS.first_chunk::<8>() {
    Some(r) => *r,
    None => panic!("ALL_REGS starts with the general registers"),
};

impl Cpu for UcCpu<'_, '_> {
    #[inline]
    fn get(&self, r: Reg) -> u32 {
        if let (false, Some(i)) = (self.gpr.is_null(), Self::gpr_index(r)) {
            // SAFETY: `gpr` points at the sixteen registers of the CPU state of `self.uc`,
            // which is borrowed for our lifetime, and i < 8. The instance is stopped or in one
            // of its hooks on this thread (where TCG has stored the registers to the state),
            // so nothing else accesses them now. Reading the low 32 bits is uc_reg_read's
            // EAX..EDI in 16- and 32-bit mode.
            return unsafe { std::ptr::read_volatile(self.gpr.add(i)) } as u32;
        }
        self.get_other(r)
    }
    #[inline]
    fn set(&mut self, r: Reg, v: u32) {
        if let (false, Some(i)) = (self.gpr.is_null(), Self::gpr_index(r)) {
            // SAFETY: as in `get`, with `self.uc` borrowed mutably; uc_reg_write's EAX..EDI in
            // 16- and 32-bit mode store the zero-extended value the same way, and TCG reloads
            // the registers from the state when the guest resumes.
            unsafe { std::ptr::write_volatile(self.gpr.add(i), u64::from(v)) };
            return;
        }
        let _ = self.uc.reg_write(x86(r), v as u64);
    }
}

impl World {
    /// An empty world of these personalities, writing guest output to `out` (stdout data)
    /// and `err` (stderr data). Fails when the personalities collide (one vector claimed
    /// twice for one kind of image).
    pub fn new(
        config: WorldConfig,
        personalities: Registry,
        out: Box<dyn Write>,
        err: Box<dyn Write>,
    ) -> Result<Self, WorldError> {
        check_registry(&personalities)?;
        disable_huge_pages();
        tracing::debug!(
            store_patch = unicorn_store_patch(),
            "Unicorn with ipcemu's store patch"
        );
        let writers = Rc::new(RefCell::new(Writers { out, err }));
        let mut kernel = Kernel::new(config.kernel.clone());
        // A full output buffer goes straight to the writers, even in the middle of a guest's
        // system call: host memory for output stays at OUTPUT_BUFFER bytes per stream.
        let w = Rc::clone(&writers);
        kernel.set_output_sink(Box::new(move |data, to_stderr| {
            let mut w = w.borrow_mut();
            let _ = if to_stderr {
                w.err.write_all(data)
            } else {
                w.out.write_all(data)
            };
        }));
        let shared = Shared {
            kernel,
            pers: personalities,
            stop: None,
            bad_access: None,
            strace: None,
            skip_break: None,
            watch_hit: None,
            wait_in_hook: false,
        };
        Ok(World {
            shared: Rc::new(RefCell::new(shared)),
            machines: Vec::new(),
            first_pid: Vec::new(),
            paths: Vec::new(),
            step_thread: Vec::new(),
            debugging: false,
            stopped_at: HashMap::new(),
            coverage: HashMap::new(),
            budget: MemBudget::new(
                config.max_process_memory.unwrap_or(1 << 32),
                config.max_world_memory.unwrap_or(u64::MAX),
            ),
            config,
            writers,
            host: None,
            // The clock starts with the world, so --wall-timeout covers loading the guests too.
            started: Some(Instant::now()),
            stop: StopHandle::default(),
            guests: Vec::new(),
            delayed: Vec::new(),
            timed: Vec::new(),
        })
    }

    /// Load and start a guest process.
    pub fn add_guest(&mut self, spec: &GuestSpec) -> Result<GuestId, StartError> {
        let id = self.add_guest_with(spec, None)?;
        self.guests.push(Some(id));
        self.delayed.push(None);
        Ok(id)
    }

    fn add_guest_with(
        &mut self,
        spec: &GuestSpec,
        context: Option<&dyn std::any::Any>,
    ) -> Result<GuestId, StartError> {
        let fail = |msg: String| StartError {
            path: spec.path.clone(),
            msg,
        };
        let image =
            ipcemu_loader::load_named(&spec.path, &spec.bytes).map_err(|e| fail(e.to_string()))?;
        let routes = {
            let sh = self.shared.borrow();
            Routes::for_format(&sh.pers, image.format)
        };
        let Some(starter) = routes.starter else {
            return Err(fail(format!(
                "no personality of this world runs {:?} images",
                image.format
            )));
        };
        let real_mode = image.format == ipcemu_loader::Format::Com;
        let mode = if real_mode {
            Mode::MODE_16
        } else {
            Mode::MODE_32
        };
        // Unicorn ends the whole process when it cannot map its translation buffer: make sure
        // the address space is there first, and say so plainly when it is not.
        reserve_check(2 * TCG_BUFFER_SIZE as usize).map_err(fail)?;
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
        // SAFETY: the instance outlives the memory's attachment: `drop_machine` detaches the
        // memory before the instance is closed.
        let mut mem = unsafe { ProcMemory::attached(uc.get_handle()) };
        mem.set_budget(Rc::clone(&self.budget));
        map_image(&image, &mut mem).map_err(fail)?;
        let image_range = image.segments.iter().fold((u32::MAX, 0u64), |(lo, hi), s| {
            (lo.min(s.base), hi.max(s.base as u64 + s.size as u64))
        });
        let args = StartArgs {
            path: &spec.path,
            params: spec.params.as_deref(),
            context,
        };
        let (entry, abi) = {
            let mut sh = self.shared.borrow_mut();
            let p = &mut sh.pers[starter];
            (
                p.start(&image, &args, &mut mem).map_err(fail)?,
                p.process_abi(image.format),
            )
        };
        let (proc, tid) = {
            let mut sh = self.shared.borrow_mut();
            sh.kernel
                .spawn_process(&spec.path, mem, image.mem_size, abi, (entry.eip, entry.esp))
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
            (RegisterX86::ESP, entry.esp as u64),
            (RegisterX86::EIP, entry.eip as u64),
            (RegisterX86::EFLAGS, 0x202),
        ] {
            uc.reg_write(r, v)
                .map_err(|e| fail(format!("register setup: {e:?}")))?;
        }
        if let Some(seg) = entry.real_mode_segment {
            for r in [
                RegisterX86::CS,
                RegisterX86::DS,
                RegisterX86::ES,
                RegisterX86::SS,
            ] {
                uc.reg_write(r, seg as u64)
                    .map_err(|e| fail(format!("register setup: {e:?}")))?;
            }
        }
        if let Some(base) = entry.fs_base {
            set_fs_base(&mut uc, base)
                .map_err(|e| fail(format!("register setup (fs base): {e:?}")))?;
        }
        let gpr = regs_in_place(&uc);
        let runner = runner::Runner::new();
        self.install_hooks(&mut uc, gpr, routes.vectors, runner.cell())
            .map_err(fail)?;
        let pid = {
            let mut guard = self.shared.borrow_mut();
            let sh = &mut *guard;
            let _ = sh.kernel.threads[tid].take_start();
            for p in sh.pers.iter_mut() {
                p.started(&mut sh.kernel, proc, tid);
            }
            sh.kernel.threads[tid].pid
        };
        debug_assert_eq!(proc.0, self.machines.len());
        self.machines.push(Some(Machine {
            runner,
            uc,
            gpr,
            loaded: Some(tid),
            real_mode,
            contexts: HashMap::new(),
            breakpoints: HashMap::new(),
            image_range,
            watchpoints: HashMap::new(),
            watch_step: None,
        }));
        self.first_pid.push(pid);
        self.paths.push(spec.path.clone());
        tracing::info!(path = %spec.path, pid, "guest started");
        Ok(GuestId {
            proc,
            pid: Pid(pid),
        })
    }

    fn install_hooks(
        &self,
        uc: &mut Unicorn<'static, ()>,
        gpr: *mut u64,
        routes: [Option<u8>; 256],
        waits: runner::YielderCell,
    ) -> Result<(), String> {
        let shared = Rc::clone(&self.shared);
        uc.add_intr_hook(move |uc, intno| {
            let mut guard = shared.borrow_mut();
            let sh = &mut *guard;
            let Some(t) = sh.kernel.current() else {
                sh.stop = Some(HookStop::Fault(Box::new(GuestFault::Emulation(
                    "trap with no current thread".into(),
                ))));
                let _ = uc.emu_stop();
                return;
            };
            let preempt = sh.kernel.charge_trap();
            let mut cpu = UcCpu::new(uc, gpr);
            // Only a hook can delay a message: with hooks, keep the registers the call came
            // with, so a held call can be made again exactly.
            let saved = sh.kernel.has_hooks().then(|| GP_REGS.map(|r| cpu.get(r)));
            let route = routes.get(intno as usize).copied().flatten();
            let logged = match (sh.strace.is_some(), route) {
                (true, Some(i)) => sh.pers[i as usize]
                    .strace_call(&mut sh.kernel, t, &cpu, Trap::Interrupt(intno as u8))
                    .map(|c| (i as usize, c)),
                _ => None,
            };
            let outcome = match route {
                Some(i) => sh.pers[i as usize].trap(
                    &mut sh.kernel,
                    t,
                    &mut cpu,
                    Trap::Interrupt(intno as u8),
                ),
                None => Outcome::fault(GuestFault::UnhandledInterrupt(intno as u8)),
            };
            if let Some((i, call)) = logged {
                sh.strace_after(i, t, call, &outcome, &cpu);
            }
            if sh.kernel.has_exited() {
                sh.notify_exits();
            }
            // A hook delayed a message of this call: make the call again after the delay
            // (eip back on the 2-byte `int n`; the personality left no results).
            let outcome = match (sh.kernel.take_pending_delay(t), outcome) {
                (Some(ns), Outcome::Continue | Outcome::Yield) => {
                    let eip = cpu.get(Reg::Eip);
                    cpu.set(Reg::Eip, eip.wrapping_sub(2));
                    for (r, v) in GP_REGS.iter().zip(saved.unwrap_or_default()) {
                        cpu.set(*r, v);
                    }
                    sh.kernel.hold_current(ns);
                    Outcome::Block
                }
                (_, o) => o,
            };
            // `wait`: the thread stays alive and may wait in this hook (runner.rs).
            let (stop, wait) = match outcome {
                Outcome::Continue if !preempt => return,
                // Giving up the CPU with nobody to take it: go on without leaving Unicorn.
                Outcome::Yield if !sh.kernel.others_runnable() => return,
                Outcome::Continue | Outcome::Yield => {
                    sh.kernel.yield_current();
                    (HookStop::Switch, true)
                }
                Outcome::Block => (HookStop::Switch, true),
                Outcome::Exit => (HookStop::Switch, false),
                Outcome::Fault(f) => (HookStop::Fault(f), false),
            };
            sh.stop = Some(stop);
            let wait = wait && sh.wait_in_hook;
            drop(guard);
            if wait && runner::wait_in_hook(&waits) == Some(true) {
                // Scheduled again: its wake results are written; the guest goes on.
                return;
            }
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

    /// Add the host actor: a process named `name` with `area_size` bytes of receive memory
    /// (KolibriOS: its IPC area). Call it after the guests, so their PIDs are the same as
    /// without a host. Returns the host's PID.
    pub fn add_host(&mut self, name: &str, area_size: u32) -> Result<Pid, StartError> {
        let fail = |msg: String| StartError {
            path: name.to_string(),
            msg,
        };
        if self.host.is_some() {
            return Err(fail("a world has one host actor".into()));
        }
        let (mem, area) = host::HostState::memory(area_size).map_err(fail)?;
        let mut guard = self.shared.borrow_mut();
        let sh = &mut *guard;
        let (_, tid) = sh
            .kernel
            .spawn_process(name, mem, area, "host", (0, 0))
            .ok_or_else(|| fail("no free task slot (all --max-slots are taken)".into()))?;
        let h = host::HostState::new(&mut sh.kernel, &mut sh.pers, tid, area);
        let pid = h.pid;
        drop(guard);
        self.machines.push(None);
        self.first_pid.push(pid);
        self.paths.push(name.to_string());
        self.host = Some(h);
        Ok(Pid(pid))
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
    pub fn host_pid(&self) -> Option<Pid> {
        self.host.as_ref().map(|h| Pid(h.pid))
    }

    /// What process `proc` has written so far (needs `Config::capture_output`); `None` when
    /// there is no such process.
    pub fn output_of(&self, proc: ProcId) -> Option<Vec<u8>> {
        let sh = self.shared.borrow();
        sh.kernel.procs.get(proc.0).map(|p| p.output.clone())
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
        let end = loop {
            match self.step_inner(&mut stop, dog.as_ref()) {
                Step::Ran(..) => {}
                Step::Over(end) => break end,
            }
        };
        drop(dog);
        self.flush(true);
        // The trace tap has every record of the run when it returns (a library user may
        // finish the trace before dropping the world).
        self.with_kernel(|k| k.flush_trace());
        self.report(end, started)
    }

    /// The stepping primitive the run loop is built on: pick the next thread and run it
    /// until it traps into a switch, blocks, ends or faults. Returns what happened, or why
    /// nothing can run any more.
    pub fn step(&mut self) -> Step {
        self.started.get_or_insert_with(Instant::now);
        self.step_inner(&mut |_| false, None)
    }

    fn step_inner(
        &mut self,
        stop: &mut dyn FnMut(&Kernel<ProcMemory>) -> bool,
        dog: Option<&watchdog::Watchdog>,
    ) -> Step {
        let virt_limit = self.config.timeout.map(limits::nanos);
        loop {
            self.flush(false);
            if self.stop.requested() {
                return Step::Over(End::Interrupted);
            }
            if self.shared.borrow().kernel.has_spawn_requests() {
                self.serve_spawns();
            }
            if self.shared.borrow().kernel.has_due_starts() {
                self.serve_delayed();
            }
            if dog.is_some_and(|d| d.fired()) {
                return Step::Over(End::WallTimeout);
            }
            let pick = {
                let mut guard = self.shared.borrow_mut();
                let sh = &mut *guard;
                sh.kernel.time_limit = virt_limit;
                if let Some(h) = self.host.as_mut() {
                    h.step(&mut sh.kernel, &mut sh.pers);
                    let host_proc = h.proc;
                    // Guests still to start keep the run going; timed actions do not.
                    if self.delayed.iter().all(Option::is_none)
                        && sh
                            .kernel
                            .procs
                            .iter()
                            .enumerate()
                            .all(|(i, p)| i == host_proc.0 || p.exit.is_some())
                    {
                        return Step::Over(End::AllExited);
                    }
                }
                if stop(&sh.kernel) {
                    return Step::Over(End::Condition);
                }
                if virt_limit.is_some_and(|l| sh.kernel.now_ns() >= l) {
                    return Step::Over(End::Timeout);
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
                Pick::Deadlock(w) => return Step::Over(End::Deadlock(w)),
                Pick::Finished => return Step::Over(End::AllExited),
            };
            let reason = self.run_thread(t, dog);
            return Step::Ran(t, reason);
        }
    }

    /// Start the programs guests asked for (see [`ipcemu_kernel::SpawnRequest`]): each is
    /// looked for in the folder of its parent's image (a directory in the name is taken
    /// relative to that folder; absolute names and `..` are refused), loaded like a guest
    /// given on the command line, and the asking personality is told the outcome.
    fn serve_spawns(&mut self) {
        let reqs = self.shared.borrow_mut().kernel.take_spawn_requests();
        for req in reqs {
            let parent_proc = self.shared.borrow().kernel.threads[req.parent].proc;
            let result = self.spawn_one(parent_proc, &req);
            if let Err(e) = &result {
                tracing::warn!(program = %req.program, error = %e, "a guest's program did not start");
            }
            let outcome = Spawned {
                id: req.id,
                parent: req.parent,
                result,
            };
            let mut guard = self.shared.borrow_mut();
            let sh = &mut *guard;
            if let Some(p) = sh.pers.iter_mut().find(|p| p.name() == req.personality) {
                p.spawned(&mut sh.kernel, outcome);
            }
        }
    }

    fn spawn_one(
        &mut self,
        parent: ProcId,
        req: &ipcemu_kernel::SpawnRequest,
    ) -> Result<(ProcId, ThreadId), SpawnFailure> {
        let parent_path = self.paths.get(parent.0).cloned().unwrap_or_default();
        let path = if req.resolved {
            std::path::PathBuf::from(&req.program)
        } else {
            resolve_program(&parent_path, &req.program)
                .map_err(|m| SpawnFailure::NotFound(m.to_string()))?
        };
        let spec = match GuestSpec::from_file(&path, req.params.as_deref()) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SpawnFailure::NotFound(format!(
                    "there is no {} next to {parent_path}",
                    path.display()
                )))
            }
            Err(e) => {
                return Err(SpawnFailure::Invalid(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        let id = self
            .add_guest_with(&spec, Some(req.context.as_ref()))
            .map_err(|e| SpawnFailure::Invalid(e.to_string()))?;
        let t = self
            .shared
            .borrow()
            .kernel
            .thread_by_pid(id.pid.0)
            .ok_or_else(|| SpawnFailure::Invalid("the new process ended at once".into()))?;
        Ok((id.proc, t))
    }

    fn report(&self, end: End, started: Instant) -> RunReport {
        let sh = self.shared.borrow();
        let k = &sh.kernel;
        let host_proc = self.host.as_ref().map(|h| h.proc.0);
        let guests = || {
            k.procs
                .iter()
                .zip(&self.first_pid)
                .enumerate()
                .filter(|(i, _)| Some(*i) != host_proc)
        };
        let procs: Vec<ProcReport> = guests()
            .map(|(_, (p, &pid))| ProcReport {
                name: p.name.clone(),
                pid,
                status: p.exit.clone(),
            })
            .collect();
        // Report what happened: a time limit that passed once every guest had ended did not
        // cut anything short.
        let end = match end {
            End::Timeout | End::WallTimeout
                if self.delayed.iter().all(Option::is_none)
                    && procs.iter().all(|p| p.status.is_some()) =>
            {
                End::AllExited
            }
            e => e,
        };
        let waiting = (0..k.threads.len())
            .map(ThreadId)
            .filter(|&t| {
                let th = &k.threads[t];
                th.state != ThreadState::Ended && Some(th.proc.0) != host_proc
            })
            .map(|t| match k.threads[t].state {
                ThreadState::Waiting => k.describe_wait(t),
                _ => format!("{} slot {}: running", k.thread_label(t), k.threads[t].slot),
            })
            .collect();
        RunReport {
            end,
            output_dropped: guests().map(|(i, _)| k.output_dropped(ProcId(i))).collect(),
            procs,
            virtual_ns: k.now_ns(),
            wall: started.elapsed(),
            traps: k.total_traps(),
            waiting,
        }
    }

    /// Switch the machine of `t`'s process to `t` and run it until the hook stops it.
    fn run_thread(&mut self, t: ThreadId, dog: Option<&watchdog::Watchdog>) -> StopReason {
        // A debugger's single step runs one instruction; a thread that stopped at a breakpoint
        // passes it once.
        let count = if self.step_thread.contains(&t) { 1 } else { 0 };
        let (proc, start, start_fs, wake) = {
            let mut sh = self.shared.borrow_mut();
            sh.wait_in_hook = count == 0 && !self.debugging;
            let th = &mut sh.kernel.threads[t];
            (th.proc, th.take_start(), th.take_start_fs(), th.take_wake())
        };
        let Some(m) = self.machines[proc.0].as_mut() else {
            // Cannot happen: a process with a live thread has a machine.
            let mut sh = self.shared.borrow_mut();
            let report = FaultReport {
                fault: GuestFault::Emulation("machine missing".into()),
                thread: sh.kernel.thread_label(t),
                context: String::new(),
            };
            sh.kernel
                .exit_process(proc, ExitStatus::Fault(Box::new(report.clone())));
            sh.notify_exits();
            return StopReason::Fault(Box::new(report));
        };
        if m.loaded != Some(t) || count != 0 || self.debugging {
            // The instance leaves its hook before its registers change or it is stepped.
            m.runner.park();
        }
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
                } else {
                    m.contexts.remove(&old);
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
                if let Some(base) = start_fs {
                    if let Err(e) = set_fs_base(&mut m.uc, base) {
                        tracing::error!(?e, "fs base of a new thread not set");
                    }
                }
            }
            m.loaded = Some(t);
        }
        if let Some(w) = wake {
            // Results of the wait are written now, as the thread resumes.
            let mut sh = self.shared.borrow_mut();
            let had_value = !matches!(w, Wake::Nothing);
            let mem = &mut sh.kernel.procs[proc].mem;
            w.apply(mem, &mut UcCpu::new(&mut m.uc, m.gpr));
            if sh.strace.is_some() {
                sh.strace_resumed(t, had_value, &UcCpu::new(&mut m.uc, m.gpr));
            }
        }
        let pc = if m.runner.in_hook() {
            0 // not used: the thread goes on in its hook
        } else if m.real_mode {
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
        // A single step is not interrupted from outside: a pause (a debugger's ticker) that
        // stopped it before its one instruction ran would have been reported as the step done,
        // with eip unchanged, and a `stepi` from a breakpoint seen as that breakpoint hit again
        // (one failure of gdb_sees_every_thread_of_a_guest under load). A stop or pause asked
        // for meanwhile stays pending and is seen when the step has run.
        let interruptible = count == 0;
        if interruptible {
            self.stop.enter(m.uc.get_handle());
        }
        // A stop or pause asked for while nothing ran: the thread does not start at all.
        let skipped = self.stop.requested() || self.stop.pause_pending();
        // Only after a breakpoint stop is there anything to pass (the hot path skips this),
        // and only when the thread does start: taken before a pause that keeps the thread from
        // starting, the pass was lost, and a `stepi` from a breakpoint could stop at the same
        // breakpoint again (the likely cause of one failure of the gdb threads test under CI
        // load).
        if !skipped && !self.stopped_at.is_empty() {
            let at = m.uc.reg_read(RegisterX86::EIP).unwrap_or(0) as u32;
            let skip = self
                .stopped_at
                .remove(&t)
                .filter(|&a| a == at)
                .map(|a| (t, a));
            self.shared.borrow_mut().skip_break = skip;
        }
        let result = if skipped {
            Ok(())
        } else {
            m.runner.run(&m.uc, pc, count)
        };
        if interruptible {
            self.stop.leave();
        }
        if let Some(d) = dog {
            d.leave();
        }
        let (stop, bad) = {
            let mut sh = self.shared.borrow_mut();
            (sh.stop.take(), sh.bad_access.take())
        };
        let in_trap = matches!(stop, Some(HookStop::Fault(_)));
        let stepping = count == 1 && !skipped;
        if stepping {
            self.step_thread.retain(|&s| s != t);
        }
        let fault = match (result, stop) {
            (Err(e), _) => Some(describe_uc_error(e, bad)),
            (Ok(()), Some(HookStop::Fault(f))) => Some(*f),
            (Ok(()), Some(HookStop::Switch)) => None,
            (Ok(()), Some(HookStop::Watchpoint(a, w))) => {
                self.shared.borrow_mut().kernel.pause_current();
                return StopReason::Watchpoint(a, w);
            }
            (Ok(()), Some(HookStop::Breakpoint(a))) => {
                self.stopped_at.insert(t, a);
                self.shared.borrow_mut().kernel.pause_current();
                return StopReason::Breakpoint(a);
            }
            (Ok(()), None) if stepping && !self.stop.requested() => {
                self.shared.borrow_mut().kernel.pause_current();
                return StopReason::Stepped;
            }
            (Ok(()), None) => {
                if dog.is_some_and(|d| d.fired()) {
                    // Stopped by the wall-clock watchdog: leave the thread runnable.
                    let mut sh = self.shared.borrow_mut();
                    sh.kernel.yield_current();
                    return StopReason::Watchdog;
                } else if self.stop.requested() {
                    // Stopped through a StopHandle: the thread stays runnable.
                    self.shared.borrow_mut().kernel.yield_current();
                    return StopReason::Interrupted;
                } else if self.stop.take_pause() {
                    // Paused through a StopHandle: the thread goes on first when the run does.
                    self.shared.borrow_mut().kernel.pause_current();
                    return StopReason::Paused;
                } else {
                    Some(GuestFault::Emulation(
                        "emulation stopped by itself (hlt, or execution reached address 0)".into(),
                    ))
                }
            }
        };
        let reason = match fault {
            Some(f) => {
                let report = self.fault_report(proc, t, f, in_trap);
                let _ = writeln!(self.writers.borrow_mut().err, "{report}");
                let mut sh = self.shared.borrow_mut();
                sh.kernel
                    .exit_process(proc, ExitStatus::Fault(Box::new(report.clone())));
                StopReason::Fault(Box::new(report))
            }
            None => StopReason::Switch,
        };
        self.shared.borrow_mut().notify_exits();
        if self.shared.borrow().kernel.proc_ended(proc) {
            self.drop_machine(proc);
        }
        reason
    }

    /// `in_trap`: the fault came from a system call, whose `int n` (2 bytes) ends before eip.
    fn fault_report(
        &self,
        proc: ProcId,
        t: ThreadId,
        fault: GuestFault,
        in_trap: bool,
    ) -> FaultReport {
        let thread = self.shared.borrow().kernel.thread_label(t);
        let Some(m) = self.machines[proc.0].as_ref() else {
            return FaultReport {
                fault,
                thread,
                context: String::new(),
            };
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
        // A system call's fault: show its `int n` (CD nn) too.
        let mut int = [0u8; 2];
        let back = in_trap
            && m.uc
                .mem_read(code_at.wrapping_sub(2) as u64, &mut int)
                .is_ok()
            && int[0] == 0xCD;
        let (code_at, ip) = if back {
            (code_at.wrapping_sub(2), eip.wrapping_sub(2))
        } else {
            (code_at, eip)
        };
        let code_s = disassemble(&m.uc, code_at, ip, if m.real_mode { 16 } else { 32 });
        let context = format!(
            "  eip={eip:08x} eax={:08x} ebx={:08x} ecx={:08x} edx={:08x}\n  esi={:08x} edi={:08x} ebp={:08x} esp={:08x} eflags={:08x}\n  code at eip:{code_s}{seg}",
            r(RegisterX86::EAX),
            r(RegisterX86::EBX),
            r(RegisterX86::ECX),
            r(RegisterX86::EDX),
            r(RegisterX86::ESI),
            r(RegisterX86::EDI),
            r(RegisterX86::EBP),
            r(RegisterX86::ESP),
            r(RegisterX86::EFLAGS),
        );
        FaultReport {
            fault,
            thread,
            context,
        }
    }

    fn drop_machine(&mut self, proc: ProcId) {
        if let Some(mut m) = self.machines[proc.0].take() {
            m.runner.park();
            // Detach first: the memory must not map into a closed instance. Then free it: an
            // ended process's memory is never read again, and a long run that starts and ends
            // programs must not keep them all.
            let old = {
                let mut sh = self.shared.borrow_mut();
                sh.kernel.procs[proc].mem.detach();
                std::mem::replace(&mut sh.kernel.procs[proc].mem, ProcMemory::host_only())
            };
            // A stop from another thread in progress must finish before the instance closes.
            let guard = self.stop.closing();
            drop(m);
            drop(guard);
            drop(old);
        }
    }

    /// Move guest output from the kernel to the writers (always when `force`, else when
    /// enough has collected).
    fn flush(&mut self, force: bool) {
        let mut sh = self.shared.borrow_mut();
        let k = &mut sh.kernel;
        if force || k.stdout.len() >= OUTPUT_BUFFER || k.stderr.len() >= OUTPUT_BUFFER {
            let mut w = self.writers.borrow_mut();
            if !k.stdout.is_empty() {
                let _ = w.out.write_all(&k.stdout);
                k.stdout.clear();
            }
            if !k.stderr.is_empty() {
                let _ = w.err.write_all(&k.stderr);
                k.stderr.clear();
            }
            if force {
                let _ = w.out.flush();
                let _ = w.err.flush();
            }
        }
    }

    /// A handle that stops this world's run from another thread (or from an output writer):
    /// the run ends with [`End::Interrupted`] and every guest still alive is reported as such.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Direct access to the kernel (inspection, host-side tools).
    pub fn with_kernel<R>(&self, f: impl FnOnce(&mut Kernel<ProcMemory>) -> R) -> R {
        f(&mut self.shared.borrow_mut().kernel)
    }

    /// Access to the kernel and one personality of type `P` (inspection, host-side tools).
    pub fn with_personality<P: 'static, R>(
        &self,
        f: impl FnOnce(&mut Kernel<ProcMemory>, &mut P) -> R,
    ) -> Option<R> {
        let mut guard = self.shared.borrow_mut();
        let sh = &mut *guard;
        let p = sh
            .pers
            .iter_mut()
            .find_map(|p| p.as_any_mut().downcast_mut::<P>())?;
        Some(f(&mut sh.kernel, p))
    }

    // ----- debugging (the GDB stub) ---------------------------------------------------------

    /// From now on every run is a plain `emu_start` (no thread waits inside its interrupt
    /// hook, runner.rs): breakpoints, watchpoints, coverage hooks, steps and register writes
    /// then act on stopped instances only.
    fn start_debugging(&mut self) {
        if !self.debugging {
            self.debugging = true;
            for m in self.machines.iter_mut().flatten() {
                m.runner.park();
            }
        }
    }

    /// Stop any thread of process `proc` before it executes the instruction at `addr` (the
    /// step that reaches it returns `StopReason::Breakpoint`). Only a code hook on that address
    /// is added: no guest memory changes.
    pub fn add_breakpoint(&mut self, proc: ProcId, addr: u32) -> Result<(), DebugError> {
        self.start_debugging();
        let m = self
            .machines
            .get_mut(proc.0)
            .and_then(Option::as_mut)
            .ok_or_else(|| format!("process {} has no machine (ended?)", proc.0))?;
        if m.breakpoints.contains_key(&addr) {
            return Ok(());
        }
        let shared = Rc::clone(&self.shared);
        let id =
            m.uc.add_code_hook(addr as u64, addr as u64, move |uc, at, _size| {
                let mut sh = shared.borrow_mut();
                let cur = sh.kernel.current();
                match (sh.skip_break, cur) {
                    (Some((t, a)), Some(c)) if t == c && a as u64 == at => {
                        sh.skip_break = None;
                    }
                    _ => {
                        sh.stop = Some(HookStop::Breakpoint(at as u32));
                        let _ = uc.emu_stop();
                    }
                }
            })
            .map_err(|e| format!("cannot add a breakpoint at {addr:#x}: {e:?}"))?;
        // Code translated before the hook existed would not call it.
        // SAFETY: valid handle; the control takes the range (begin, end).
        unsafe {
            uc_ctl(
                m.uc.get_handle(),
                ControlType(ControlType::TB_REMOVE_CACHE.0 | ControlType::IO_WRITE.0),
                addr as u64,
                addr as u64 + 1,
            );
        }
        m.breakpoints.insert(addr, id);
        Ok(())
    }

    /// End a process from the host side (a debugger's kill): status `Killed`.
    pub fn kill_process(&mut self, proc: ProcId) {
        {
            let mut sh = self.shared.borrow_mut();
            if proc.0 >= sh.kernel.procs.len() || sh.kernel.proc_ended(proc) {
                return;
            }
            sh.kernel.exit_process(proc, ExitStatus::Killed);
            sh.notify_exits();
        }
        self.drop_machine(proc);
    }

    /// Record the basic blocks process `proc` executes from now on (call it before the run:
    /// code translated earlier is not seen). A block hook on every address of that process.
    pub fn enable_coverage(&mut self, proc: ProcId) -> Result<(), DebugError> {
        self.start_debugging();
        let m = self
            .machines
            .get_mut(proc.0)
            .and_then(Option::as_mut)
            .ok_or_else(|| format!("process {} has no machine", proc.0))?;
        let set = Rc::new(RefCell::new(std::collections::BTreeSet::new()));
        let s2 = Rc::clone(&set);
        m.uc.add_block_hook(1, 0, move |_, addr, size| {
            s2.borrow_mut()
                .insert((addr as u32, size.min(u16::MAX as u32) as u16));
        })
        .map_err(|e| format!("cannot record coverage: {e:?}"))?;
        self.coverage.insert(proc, (set, m.image_range));
        Ok(())
    }

    /// The coverage of process `proc` in drcov format (version 2, one module: the image, named
    /// `path`), as DynamoRIO's drcov and qltool write it for Lighthouse; blocks outside the
    /// image (system stubs) are left out. `None` when coverage was not enabled.
    pub fn coverage_drcov(&self, proc: ProcId, path: &str) -> Option<Vec<u8>> {
        let (set, (lo, hi)) = self.coverage.get(&proc)?;
        let set = set.borrow();
        let (lo, hi) = (*lo, *hi);
        let lo = if lo == u32::MAX { 0 } else { lo };
        let blocks: Vec<(u32, u16)> = set
            .iter()
            .filter(|(a, _)| (*a as u64) >= lo as u64 && (*a as u64) < hi)
            .copied()
            .collect();
        let mut out = format!(
            "DRCOV VERSION: 2\nDRCOV FLAVOR: drcov\nModule Table: version 2, count 1\n\
             Columns: id, base, end, entry, checksum, timestamp, path\n\
             0, {lo:#x}, {hi:#x}, 0x0, 0x0, 0x0, {path}\nBB Table: {} bbs\n",
            blocks.len()
        )
        .into_bytes();
        for (a, size) in blocks {
            out.extend_from_slice(&(a - lo).to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
        }
        Some(out)
    }

    /// Stop process `proc` after an instruction that writes (or, with `writes_only` false,
    /// reads or writes) any of `[addr, addr + len)`: a Unicorn memory hook on that range only.
    pub fn add_watchpoint(
        &mut self,
        proc: ProcId,
        addr: u32,
        len: u32,
        writes_only: bool,
    ) -> Result<(), DebugError> {
        self.start_debugging();
        let m = self
            .machines
            .get_mut(proc.0)
            .and_then(Option::as_mut)
            .ok_or_else(|| format!("process {} has no machine (ended?)", proc.0))?;
        let key = (addr, len.max(1), writes_only);
        if m.watchpoints.contains_key(&key) {
            return Ok(());
        }
        let shared = Rc::clone(&self.shared);
        let kinds = if writes_only {
            HookType::MEM_WRITE
        } else {
            HookType::MEM_READ | HookType::MEM_WRITE
        };
        let end = addr as u64 + len.max(1) as u64 - 1;
        // The access is noted; the instruction completes, and a code hook stops the run before
        // the next one (stopping inside the access would make the instruction run twice).
        let id =
            m.uc.add_mem_hook(
                kinds,
                addr as u64,
                end,
                move |_, kind, at, _size, _value| {
                    let mut sh = shared.borrow_mut();
                    if sh.watch_hit.is_none() {
                        sh.watch_hit = Some((at as u32, kind == MemType::WRITE));
                    }
                    true
                },
            )
            .map_err(|e| format!("cannot add a watchpoint at {addr:#x}: {e:?}"))?;
        if m.watch_step.is_none() {
            let shared = Rc::clone(&self.shared);
            let step =
                m.uc.add_code_hook(1, 0, move |uc, _at, _size| {
                    let mut sh = shared.borrow_mut();
                    if let Some((a, w)) = sh.watch_hit.take() {
                        sh.stop = Some(HookStop::Watchpoint(a, w));
                        let _ = uc.emu_stop();
                    }
                })
                .map_err(|e| format!("cannot add a watchpoint at {addr:#x}: {e:?}"))?;
            m.watch_step = Some(step);
        }
        // SAFETY: valid handle; the control takes the whole address range to drop (code that
        // accesses the range may be anywhere).
        unsafe {
            uc_ctl(
                m.uc.get_handle(),
                ControlType(ControlType::TB_REMOVE_CACHE.0 | ControlType::IO_WRITE.0),
                0u64,
                u32::MAX as u64,
            );
        }
        m.watchpoints.insert(key, id);
        Ok(())
    }

    /// Remove a watchpoint; whether there was one.
    pub fn remove_watchpoint(
        &mut self,
        proc: ProcId,
        addr: u32,
        len: u32,
        writes_only: bool,
    ) -> bool {
        let Some(m) = self.machines.get_mut(proc.0).and_then(Option::as_mut) else {
            return false;
        };
        match m.watchpoints.remove(&(addr, len.max(1), writes_only)) {
            Some(id) => {
                let _ = m.uc.remove_hook(id);
                if m.watchpoints.is_empty() {
                    if let Some(s) = m.watch_step.take() {
                        let _ = m.uc.remove_hook(s);
                    }
                }
                true
            }
            None => false,
        }
    }

    /// Remove a breakpoint; whether there was one.
    pub fn remove_breakpoint(&mut self, proc: ProcId, addr: u32) -> bool {
        let Some(m) = self.machines.get_mut(proc.0).and_then(Option::as_mut) else {
            return false;
        };
        match m.breakpoints.remove(&addr) {
            Some(id) => {
                let _ = m.uc.remove_hook(id);
                // SAFETY: as in add_breakpoint.
                unsafe {
                    uc_ctl(
                        m.uc.get_handle(),
                        ControlType(ControlType::TB_REMOVE_CACHE.0 | ControlType::IO_WRITE.0),
                        addr as u64,
                        addr as u64 + 1,
                    );
                }
                true
            }
            None => false,
        }
    }

    /// The next time thread `t` runs, it executes one instruction (`StopReason::Stepped`, or
    /// the trap it made).
    pub fn step_next(&mut self, t: Option<ThreadId>) {
        self.start_debugging();
        self.step_thread = t.into_iter().collect();
    }

    /// As [`World::step_next`] for several threads at once (one debugger per process): each
    /// of `ts` executes one instruction the next time it runs.
    pub fn step_next_all(&mut self, ts: &[ThreadId]) {
        self.start_debugging();
        self.step_thread = ts.to_vec();
    }

    /// Set the registers of thread `t` (the loaded thread's live registers, or its saved
    /// context). False when the thread has no machine or context.
    pub fn set_registers(&mut self, t: ThreadId, rf: &RegFile) -> bool {
        self.start_debugging();
        let Some(proc) = self
            .shared
            .borrow()
            .kernel
            .threads
            .get(t.0)
            .map(|th| th.proc)
        else {
            return false;
        };
        let Some(m) = self.machines.get_mut(proc.0).and_then(Option::as_mut) else {
            return false;
        };
        // Only the registers that change are written: writing a segment register reloads its
        // descriptor, and Unicorn's reload of CS loses the 32-bit default operand size (the
        // next instruction would decode as 16-bit code).
        if m.loaded == Some(t) {
            for r in ALL_REGS {
                let v = rf.get(r) as u64;
                if m.uc.reg_read(x86(r)).ok().map(|o| o as u32 as u64) != Some(v) {
                    let _ = m.uc.reg_write(x86(r), v);
                }
            }
            true
        } else if let Some(c) = m.contexts.get_mut(&t) {
            for r in ALL_REGS {
                let v = rf.get(r) as u64;
                if c.reg_read(x86(r)).ok().map(|o| o as u32 as u64) != Some(v) {
                    let _ = c.reg_write(x86(r), v);
                }
            }
            true
        } else {
            false
        }
    }

    /// Read guest memory of `proc` (false: not mapped).
    pub fn read_memory(&self, proc: ProcId, addr: u32, buf: &mut [u8]) -> bool {
        let sh = self.shared.borrow();
        sh.kernel
            .procs
            .get(proc.0)
            .is_some_and(|p| p.mem.read(addr, buf).is_ok())
    }

    /// Write guest memory of `proc` (false: not mapped). Code translated from those bytes is
    /// dropped, so a patched instruction runs as patched.
    pub fn write_memory(&mut self, proc: ProcId, addr: u32, data: &[u8]) -> bool {
        let ok = {
            let mut sh = self.shared.borrow_mut();
            sh.kernel
                .procs
                .get_mut(proc.0)
                .is_some_and(|p| p.mem.write(addr, data).is_ok())
        };
        if ok {
            if let Some(m) = self.machines.get_mut(proc.0).and_then(Option::as_mut) {
                // SAFETY: as in add_breakpoint.
                unsafe {
                    uc_ctl(
                        m.uc.get_handle(),
                        ControlType(ControlType::TB_REMOVE_CACHE.0 | ControlType::IO_WRITE.0),
                        addr as u64,
                        addr as u64 + data.len() as u64,
                    );
                }
            }
        }
        ok
    }

    /// Log every system call of every personality to `out` (`--strace`), one line each:
    /// guest time, `name[pid]`, the call with its arguments, ` = ` its result (calls that wait
    /// get `<unfinished ...>`, then `<... name resumed> = result`). A non-empty `filter` keeps
    /// the calls of the personalities it names and the calls whose name contains a term.
    pub fn set_strace(&mut self, out: Box<dyn Write>, filter: Vec<String>) {
        self.shared.borrow_mut().strace = Some(StraceLog {
            out,
            filter,
            pending: HashMap::new(),
        });
    }

    /// Add a hook to the kernel's message path (security module, fault injection).
    pub fn add_message_hook(&mut self, hook: Box<dyn ipcemu_kernel::MessageHook>) {
        self.shared.borrow_mut().kernel.add_hook(hook);
    }

    /// Registers of thread `t` (the loaded thread's live registers, or its saved context).
    pub fn registers(&self, t: ThreadId) -> Option<RegFile> {
        let proc = self.shared.borrow().kernel.threads.get(t.0)?.proc;
        let m = self.machines.get(proc.0)?.as_ref()?;
        let mut rf = RegFile::default();
        if m.loaded == Some(t) {
            for r in ALL_REGS {
                rf.set(r, m.uc.reg_read(x86(r)).unwrap_or(0) as u32);
            }
        } else {
            let c = m.contexts.get(&t)?;
            for r in ALL_REGS {
                rf.set(r, c.reg_read(x86(r)).unwrap_or(0) as u32);
            }
        }
        Some(rf)
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
            self.drop_machine(ProcId(p));
        }
    }
}

/// Set the base of the `fs` segment (Win32: the TEB). Unicorn ignores `FS_BASE` writes in
/// 32-bit mode, so this writes the `IA32_FS_BASE` MSR (0xC000_0100) instead, which sets the
/// segment's cached base without a GDT descriptor; the base is saved and restored with the
/// thread's context.
fn set_fs_base(uc: &mut Unicorn<'static, ()>, base: u32) -> Result<(), uc_error> {
    // struct uc_x86_msr { uint32_t rid; uint64_t value; } (C layout: 16 bytes).
    let mut msr = [0u8; 16];
    msr[..4].copy_from_slice(&0xC000_0100u32.to_le_bytes());
    msr[8..].copy_from_slice(&(base as u64).to_le_bytes());
    uc.reg_write_long(RegisterX86::MSR, &msr)
}

/// Map an image's segments into fresh guest memory and copy its bytes.
fn map_image(image: &Image, mem: &mut ProcMemory) -> Result<(), String> {
    for seg in &image.segments {
        mem.map(seg.base, seg.size)?;
        for (off, data) in &seg.data {
            mem.write(seg.base + off, data)
                .map_err(|e| format!("segment data: {e}"))?;
        }
    }
    Ok(())
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

fn describe_uc_error(e: uc_error, bad: Option<(MemType, u64, usize)>) -> GuestFault {
    if let Some((k, addr, size)) = bad {
        let (access, protected) = match k {
            MemType::READ_UNMAPPED => (Access::Read, false),
            MemType::WRITE_UNMAPPED => (Access::Write, false),
            MemType::FETCH_UNMAPPED => (Access::Fetch, false),
            MemType::READ_PROT => (Access::Read, true),
            MemType::WRITE_PROT => (Access::Write, true),
            MemType::FETCH_PROT => (Access::Fetch, true),
            _ => (Access::Read, false),
        };
        return GuestFault::Memory {
            access,
            addr,
            size,
            protected,
        };
    }
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
    GuestFault::CpuException(format!("{what} ({e:?})"))
}

#[cfg(test)]
mod reg_tests {
    use super::*;

    /// The general registers read and written in place are the ones Unicorn's API reads and
    /// writes (the layout the x86-regs-in-place patch relies on), in 32- and 16-bit mode.
    #[test]
    fn registers_in_place_agree_with_unicorns_api() {
        for mode in [Mode::MODE_32, Mode::MODE_16] {
            let mut uc = Unicorn::new(Arch::X86, mode).expect("unicorn opens");
            let gpr = regs_in_place(&uc);
            assert!(!gpr.is_null());
            let mut cpu = UcCpu::new(&mut uc, gpr);
            for (i, &r) in GP_REGS.iter().enumerate() {
                let v = 0x1111_1111u32.wrapping_mul(i as u32 + 1) ^ 0x8000_0001;
                let _ = cpu.uc.reg_write(x86(r), v as u64);
                assert_eq!(cpu.get(r), v, "{r:?} written by the API, read in place");
                cpu.set(r, !v);
                assert_eq!(
                    cpu.uc.reg_read(x86(r)).unwrap_or(0) as u32,
                    !v,
                    "{r:?} written in place, read by the API"
                );
            }
            // Segment registers are read in place, written through the API.
            for (i, r) in [Reg::Es, Reg::Cs, Reg::Ss, Reg::Ds, Reg::Fs, Reg::Gs]
                .into_iter()
                .enumerate()
            {
                if mode == Mode::MODE_16 {
                    // (A protected-mode selector would need a descriptor table.)
                    cpu.set(r, 0x1230 + i as u32 * 0x111);
                }
                let api = cpu.uc.reg_read(x86(r)).expect("segment register reads") as u32;
                assert_eq!(cpu.get(r), api, "{r:?} read by the API and in place");
                if mode == Mode::MODE_16 {
                    assert_eq!(api, 0x1230 + i as u32 * 0x111, "{r:?} written by the API");
                }
            }
            // The other registers still go through the API.
            cpu.set(Reg::Eip, 0x1234);
            assert_eq!(cpu.get(Reg::Eip), 0x1234);
        }
    }
}
