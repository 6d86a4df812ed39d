//! # ipcemu-personality
//!
//! The plug-in interface between the machine (Unicorn, run loop) and the guest ABIs. A
//! [`Personality`] says which processes it attaches to, which traps it owns, how it starts a
//! process of its native format, and handles each trap by calling the kernel core. It keeps
//! its own state (per world, per process, per thread) in its own tables: the core never names
//! it. Optional capabilities are small traits reached through methods that return `None` by
//! default ([`Personality::host_port`]), in the manner of gdbstub's `IDETs`.
//!
//! Adding a personality is adding a crate that implements [`Personality`] and one line in the
//! registry (crate `ipcemu-registry`); see `docs/architecture.md`.

#![warn(missing_docs)]

use ipcemu_kernel::{Cpu, GuestMemory, Kernel, Outcome, ProcId, Reg, ThreadId};
pub use ipcemu_loader::{Format, Image, COM_SEGMENT};
use std::any::Any;

/// How a trap reached the personality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trap {
    /// `int n` with this vector (the CPU's eip is after the instruction).
    Interrupt(u8),
}

/// What a new process is started with.
#[derive(Clone, Copy)]
pub struct StartArgs<'a> {
    /// File name or path the guest came from.
    pub path: &'a str,
    /// Its command line, if any.
    pub params: Option<&'a str>,
    /// For a program started by another program: the requester's data
    /// ([`SpawnRequest::context`](ipcemu_kernel::SpawnRequest)), e.g. inherited handles.
    pub context: Option<&'a dyn Any>,
}

impl std::fmt::Debug for StartArgs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartArgs")
            .field("path", &self.path)
            .field("params", &self.params)
            .field("context", &self.context.is_some())
            .finish()
    }
}

/// The outcome of a spawn request ([`Kernel::request_spawn`]), for the personality that asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spawned {
    /// The request number.
    pub id: u64,
    /// The thread that asked.
    pub parent: ThreadId,
    /// The new process and its first thread, or why it could not start.
    pub result: Result<(ProcId, ThreadId), SpawnFailure>,
}

/// Why a requested program did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnFailure {
    /// No such file next to the parent's image (the sentence names where it looked).
    NotFound(String),
    /// The file is there but cannot run (bad image, no personality for it, no free slot).
    Invalid(String),
}

impl std::fmt::Display for SpawnFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpawnFailure::NotFound(m) | SpawnFailure::Invalid(m) => f.write_str(m),
        }
    }
}

/// Where a new process's first thread starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Initial eip (an offset in `cs` in real mode).
    pub eip: u32,
    /// Initial esp.
    pub esp: u32,
    /// Real mode: the segment for cs, ds, es and ss.
    pub real_mode_segment: Option<u16>,
    /// Base address of the `fs` segment (Win32: the thread's TEB).
    pub fs_base: Option<u32>,
}

/// A message the host actor received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMessage {
    /// Guest time of reception (ns).
    pub t_ns: u64,
    /// Sender PID (0 when the personality has none, e.g. PC-IPC).
    pub from_pid: u32,
    /// Sender's name (process name, or the personality's own address, `PC-IPC id 2`).
    pub from_name: String,
    /// The personality's sender address, when it is not a PID (PC-IPC ID).
    pub from_id: Option<u16>,
    /// The bytes.
    pub data: Vec<u8>,
}

/// The result of one host send attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostSendResult {
    /// The personality's result code (KolibriOS 60.2 code, PC-IPC error code).
    pub code: u32,
    /// The receiver was not ready (busy, full, not installed); trying again later may work.
    pub transient: bool,
}

/// Capability: the host actor of a scenario can send and receive through this personality.
/// The host is a process with memory but no CPU; everything it sends takes the kernel's
/// message path like a guest's message.
pub trait HostPort<M> {
    /// Make the host thread `t` a receiver. `[area, area + area_size)` is host memory set
    /// aside for receiving (KolibriOS: its IPC area); a port that does not need it ignores it.
    fn host_attach(&mut self, k: &mut Kernel<M>, t: ThreadId, area: u32, area_size: u32);
    /// Whether `to` can receive now (KolibriOS: the thread has set its IPC area).
    fn host_target_ready(&self, _k: &Kernel<M>, _to: u32) -> bool {
        true
    }
    /// Send `data` from the host thread `t` to `to` (a personality address).
    fn host_send(&mut self, k: &mut Kernel<M>, t: ThreadId, to: u32, data: &[u8])
        -> HostSendResult;
    /// Collect what was delivered to the host thread `t` since the last call.
    fn host_receive(&mut self, k: &mut Kernel<M>, t: ThreadId) -> Vec<HostMessage>;
}

/// A guest ABI.
pub trait Personality<M: GuestMemory> {
    /// Short lower-case name (`kolibri`, `pcipc`); trace records and host targets use it.
    fn name(&self) -> &'static str;
    /// The interrupt vectors it owns in the processes it is attached to, with a description
    /// for collision messages (`(0x40, "KolibriOS system calls (int 0x40)")`).
    fn vectors(&self) -> Vec<(u8, String)>;
    /// Whether it serves processes loaded from images of this format.
    fn attaches(&self, format: Format) -> bool;
    /// Whether it is the personality that starts processes of this format (at most one per
    /// format in a registry).
    fn starts(&self, _format: Format) -> bool {
        false
    }
    /// Name processes of this format carry in reports and traces (`kolibri`, `elf`, `dos`).
    fn process_abi(&self, _format: Format) -> &'static str {
        self.name()
    }
    /// Prepare a new process of a format it starts: write its arguments, parameters or PSP
    /// into `mem` and say where its first thread starts. Called after the image's segments
    /// are mapped and filled, before the kernel knows the process.
    fn start(&mut self, image: &Image, args: &StartArgs<'_>, mem: &mut M) -> Result<Entry, String> {
        let _ = (args, mem);
        Ok(Entry {
            eip: image.entry,
            esp: image.stack,
            real_mode_segment: None,
            fs_base: None,
        })
    }
    /// The kernel created the process (thread `t` is its first thread).
    fn started(&mut self, _k: &mut Kernel<M>, _proc: ProcId, _t: ThreadId) {}
    /// Handle one trap of thread `t` (the kernel's current thread).
    fn trap(&mut self, k: &mut Kernel<M>, t: ThreadId, cpu: &mut dyn Cpu, trap: Trap) -> Outcome;
    /// Thread `t` ended (whoever ended it): release what it held, wake whoever waits for it.
    fn thread_exited(&mut self, _k: &mut Kernel<M>, _t: ThreadId) {}
    /// A program this personality asked to start ([`Kernel::request_spawn`]) started or failed.
    fn spawned(&mut self, _k: &mut Kernel<M>, _outcome: Spawned) {}
    /// The system-call log (`--strace`): the call about to be handled as `name(args)`, from
    /// the registers and memory before it runs (`60.2 ipc_send(pid=3, msg=0x1000, len=20)`).
    /// `None`: this trap is not logged.
    fn strace_call(
        &self,
        _k: &mut Kernel<M>,
        _t: ThreadId,
        _cpu: &dyn Cpu,
        _trap: Trap,
    ) -> Option<String> {
        None
    }
    /// The result of the call for the log, read when it returns or resumes: eax, signed.
    fn strace_result(
        &self,
        _k: &mut Kernel<M>,
        _t: ThreadId,
        cpu: &dyn Cpu,
        _call: &str,
    ) -> String {
        (cpu.get(Reg::Eax) as i32).to_string()
    }
    /// Capability: host-actor sends and receives.
    fn host_port(&mut self) -> Option<&mut dyn HostPort<M>> {
        None
    }
    /// The personality's own state, for library users and tests (downcast to the concrete type).
    fn as_any(&self) -> &dyn Any;
    /// Mutable access to the personality's own state.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// A guest string or buffer for the system-call log: `"text\n"` with escapes, cut after `max`
/// bytes (`"..."...`); `buf@0x1234` when it cannot be read.
pub fn strace_bytes<M: GuestMemory>(mem: &M, addr: u32, len: u32, max: u32) -> String {
    let n = len.min(max);
    let mut b = vec![0u8; n as usize];
    if mem.read(addr, &mut b).is_err() {
        return format!("{addr:#x}");
    }
    let mut s = String::from("\"");
    for c in b {
        match c {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    if len > max {
        s.push_str("...");
    }
    s
}

/// A NUL-terminated guest string for the system-call log (at most `max` bytes shown).
pub fn strace_cstr<M: GuestMemory>(mem: &M, addr: u32, max: u32) -> String {
    let mut len = 0;
    let mut b = [0u8];
    while len < max + 1 && mem.read(addr.wrapping_add(len), &mut b).is_ok() && b[0] != 0 {
        len += 1;
    }
    strace_bytes(mem, addr, len, max)
}

/// Why a set of personalities cannot work together.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    /// Two personalities that can serve the same process claim one vector.
    #[error("interrupt vector {vector:#04x} is claimed twice: {first} and {second}")]
    VectorCollision {
        /// The vector.
        vector: u8,
        /// The first claimant's description.
        first: String,
        /// The second.
        second: String,
    },
    /// Two personalities want to start processes of one format.
    #[error("two personalities start {format:?} images: {first} and {second}")]
    TwoStarters {
        /// The format.
        format: Format,
        /// First.
        first: &'static str,
        /// Second.
        second: &'static str,
    },
}

/// All image formats (for registry checks).
pub const FORMATS: [Format; 4] = [Format::Menuet, Format::Elf32, Format::Com, Format::Pe32];

/// Check a registry: per format, no vector is claimed twice and at most one personality
/// starts it.
pub fn check_registry<M: GuestMemory>(
    pers: &[Box<dyn Personality<M>>],
) -> Result<(), RegistryError> {
    for f in FORMATS {
        let mut claimed: Vec<(u8, String)> = Vec::new();
        let mut starter: Option<&'static str> = None;
        for p in pers.iter().filter(|p| p.attaches(f)) {
            if p.starts(f) {
                if let Some(first) = starter {
                    return Err(RegistryError::TwoStarters {
                        format: f,
                        first,
                        second: p.name(),
                    });
                }
                starter = Some(p.name());
            }
            for (v, who) in p.vectors() {
                if let Some((_, first)) = claimed.iter().find(|(c, _)| *c == v) {
                    // Report the personality added later as the one colliding.
                    return Err(RegistryError::VectorCollision {
                        vector: v,
                        first: first.clone(),
                        second: who,
                    });
                }
                claimed.push((v, who));
            }
        }
    }
    Ok(())
}

/// Trap routing of one process: which personality (index into the registry) owns each vector.
#[derive(Debug, Clone)]
pub struct Routes {
    /// Per vector, the registry index of its personality.
    pub vectors: [Option<u8>; 256],
    /// The personality that started the process.
    pub starter: Option<usize>,
}

impl Routes {
    /// Routes for a process of `format`.
    pub fn for_format<M: GuestMemory>(pers: &[Box<dyn Personality<M>>], format: Format) -> Self {
        let mut r = Routes {
            vectors: [None; 256],
            starter: None,
        };
        for (i, p) in pers.iter().enumerate().filter(|(_, p)| p.attaches(format)) {
            if p.starts(format) && r.starter.is_none() {
                r.starter = Some(i);
            }
            for (v, _) in p.vectors() {
                if r.vectors[v as usize].is_none() {
                    r.vectors[v as usize] = Some(i as u8);
                }
            }
        }
        r
    }
}
