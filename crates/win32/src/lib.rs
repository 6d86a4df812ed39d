//! # ipcemu-win32
//!
//! The Win32 personality: runs PE32 console programs. Every imported function gets an 8-byte
//! stub in the process (`int 0x2E; ret N`); the trap handler finds the function from the stub's
//! address and implements it over the ipcemu kernel: handles and named kernel objects (events,
//! mutexes, semaphores, file mappings, threads) shared by the processes of a world, waits with
//! timeouts, threads with their own stack and TEB, TLS slots, console output, and the part of
//! msvcrt.dll a default mingw start-up and `printf` need. See `docs/win32.md`.

#![warn(missing_docs)]

mod apc;
mod api;
mod io;
pub mod iocp;
pub mod mailslot;
pub mod objects;
mod overlapped;
pub mod pipes;
pub mod printf;
mod transact;
mod user;

use ipcemu_kernel::{
    trace_rec, Cpu, GuestFault, GuestMemory, Kernel, Outcome, ProcId, Reg, ThreadId,
};
use ipcemu_personality::{Entry, Format, Image, Personality, StartArgs, Trap};
use objects::{ObjId, Objects, Waiter};
use rustc_hash::FxHashMap;
use std::any::Any;
use std::collections::{BTreeMap, HashMap, HashSet};

pub use api::{lookup, lookup_wide, Func};

/// Name of the personality.
pub const NAME: &str = "win32";
/// The interrupt vector of the import stubs.
pub const VECTOR: u8 = 0x2E;

/// Import stubs and the start trampoline (64 KiB).
pub const STUB_BASE: u32 = 0x7FF0_0000;
/// PEB, msvcrt data, command line, argv (64 KiB).
pub const DATA_BASE: u32 = 0x7FF1_0000;
/// TEBs: one 8 KiB slot per thread (TEB page, then the native TLS block page).
pub const TEB_BASE: u32 = 0x7F80_0000;
/// Bytes per TEB slot.
pub const TEB_SLOT: u32 = 0x2000;
/// Threads a process may have at once.
pub const MAX_THREADS: u32 = 512;
/// Top of the main thread's stack.
pub const MAIN_STACK_TOP: u32 = 0x4000_0000;
/// Stacks of the other threads: slot `i` at `THREAD_STACKS + (i - 1) * THREAD_STACK`.
pub const THREAD_STACKS: u32 = 0x4000_0000;
/// Stack size of threads made by `CreateThread`.
pub const THREAD_STACK: u32 = 0x10_0000;
/// `malloc` heap.
pub const HEAP_BASE: u32 = 0x2000_0000;
/// `malloc` heap size.
pub const HEAP_SIZE: u32 = 0x0400_0000;
/// Mapped views of file mappings are placed from here upward.
pub const VIEW_BASE: u32 = 0x6000_0000;
/// End of the view area.
pub const VIEW_END: u32 = TEB_BASE;

const STUB_THREAD_RETURN: u32 = STUB_BASE;
const STUB_PROCESS_RETURN: u32 = STUB_BASE + 8;
const STUB_CHAIN_NEXT: u32 = STUB_BASE + 16;
/// Return address of window procedures the personality calls (`int 0x2E`).
pub(crate) const STUB_CALLBACK: u32 = STUB_BASE + 24;
const STUB_FIRST: u32 = STUB_BASE + 32;
const TRAMPOLINE: u32 = STUB_BASE + 0x8000;
const STUB_REGION: u32 = 0x1_0000;
const MAX_STUBS: u32 = (TRAMPOLINE - STUB_FIRST) / 8;

// Offsets in the data region.
const D_PEB: u32 = 0;
const D_IOB: u32 = 0x1000;
const D_INITENV: u32 = 0x1100;
const D_MB_CUR_MAX: u32 = 0x1104;
const D_ACMDLN: u32 = 0x1108;
const D_FMODE: u32 = 0x110C;
const D_COMMODE: u32 = 0x1110;
const D_ERRNO: u32 = 0x1114;
const D_ENV: u32 = 0x1118;
const D_LCONV: u32 = 0x1120;
const D_STR_DOT: u32 = 0x1180;
const D_STR_EMPTY: u32 = 0x1182;
const D_STR_C: u32 = 0x1184;
const D_STR_ERROR: u32 = 0x1190;
const D_ARGC: u32 = 0x11C0;
const D_ARGV_CELL: u32 = 0x11C4;
const D_CMDLINE: u32 = 0x2000;
const D_ARGV: u32 = 0x3000;
const D_ARGV_STR: u32 = 0x3400;
/// The command line in UTF-16 (`GetCommandLineW`), up to 4095 units.
pub(crate) const D_CMDLINE_W: u32 = 0x6000;
const D_END: u32 = 0x5000;

/// Size of one msvcrt `FILE` (`_iob[i]`).
pub const FILE_SIZE: u32 = 32;

/// Options of the personality.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Refuse to start a program that imports functions ipcemu does not implement.
    pub strict: bool,
    /// When tracing: at each `SetEvent`/`PulseEvent`/`ReleaseMutex`, record the first this
    /// many bytes of every view of a mapping the signalling process created (0: off).
    pub view_snapshot: usize,
}

/// What an import stub calls.
#[derive(Debug, Clone)]
pub struct Stub {
    /// `KERNEL32.dll!Sleep`.
    pub label: String,
    /// The implementation, if any.
    pub func: Option<Func>,
    /// A `W` variant: string arguments are UTF-16.
    pub wide: bool,
}

/// A run of guest functions the personality calls one after the other (`_initterm`,
/// `atexit` handlers at `exit`), each returning to the chain stub.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    /// Functions still to call (called from the back).
    pub fns: Vec<u32>,
    /// After the last one: return this eax to the caller, or end the process with this code.
    pub exit: Option<u32>,
    /// eax for the caller when `exit` is `None`.
    pub ret: u32,
}

/// What a process started by `CreateProcessA` inherits (the request's context).
#[derive(Debug)]
pub(crate) struct SpawnCtx {
    /// Inherited handles (same values in the child), each with a reference taken.
    pub handles: Vec<(u32, ObjId)>,
    /// Standard handles (`STARTF_USESTDHANDLES`), else the console's.
    pub std: Option<[u32; 3]>,
}

/// A `CreateProcessA` waiting for the run loop to start the program.
#[derive(Debug)]
pub(crate) struct PendingSpawn {
    pub refs: Vec<ObjId>,
    pub pi: u32,
    pub suspended: bool,
    pub cmdline: String,
}

/// A guest function the personality called (window procedure), and what to do when it
/// returns to the callback stub.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// esp and eip to restore (the API call that made the callback).
    pub esp: u32,
    pub eip: u32,
    pub cont: user::Cont,
}

/// Win32 state of one process.
pub(crate) struct PState {
    pub stubs: Vec<Stub>,
    pub handles: BTreeMap<u32, ObjId>,
    /// Handles a child process started with `bInheritHandles` gets.
    pub inherit: HashSet<u32>,
    /// Standard input, output, error (the console's pseudo handles unless redirected).
    pub std: [u32; 3],
    /// The process object.
    pub obj: ObjId,
    pub next_handle: u32,
    pub image_base: u32,
    pub pid: u32,
    pub tls_used: [bool; 64],
    pub teb_free: Vec<u32>,
    pub teb_next: u32,
    pub stacks_mapped: HashSet<u32>,
    pub heap: Option<api::Heap>,
    pub views: HashMap<u32, ObjId>,
    pub next_view: u32,
    pub onexit: Vec<u32>,
    pub crit: HashMap<u32, ObjId>,
    pub tls_template: Option<(u32, u32, u32)>,
    pub main_teb: u32,
    pub main_stack: (u32, u32),
    pub exit_code: Option<u32>,
    /// The image's TLS callbacks (called with `DLL_THREAD_ATTACH`/`DETACH` for every thread
    /// but the first), and the start code new threads run them from (`None`: no callbacks).
    pub tls_callbacks: Vec<u32>,
    pub thread_start: Option<u32>,
    /// Its TLS callbacks are being (or have been) called with `DLL_PROCESS_DETACH`: the
    /// process is ending.
    pub detaching: bool,
}

/// Win32 state of one thread.
pub(crate) struct TState {
    pub proc: ProcId,
    pub teb: u32,
    pub slot: u32,
    pub obj: ObjId,
    pub exit_code: Option<u32>,
    pub chain: Option<Chain>,
    /// Window procedures called by the personality, innermost last.
    pub frames: Vec<Frame>,
    /// A restarted call's own deadline (stub address, ns), so restarting does not extend it.
    pub retry_deadline: Option<(u32, u64)>,
    /// Its TLS callbacks have been called with `DLL_THREAD_DETACH` (it is ending).
    pub detached: bool,
    /// Queued APCs (`apc.rs`), run by the thread's next alertable wait.
    pub apcs: std::collections::VecDeque<apc::Apc>,
    /// A `TransactNamedPipe`/`CallNamedPipeA` in the middle of its work (`transact.rs`).
    pub transact: Option<transact::Transact>,
}

/// The Win32 personality and its state in one world.
pub struct Win32 {
    /// Options.
    pub opts: Options,
    pub(crate) objs: Objects,
    pub(crate) procs: FxHashMap<ProcId, PState>,
    pub(crate) threads: FxHashMap<ThreadId, TState>,
    pub(crate) waiters: Vec<Waiter>,
    pub(crate) next_wait: u64,
    pending: Option<PState>,
    pub(crate) pipes: pipes::Pipes,
    /// Threads blocked in a call that runs again when what it waits for changes.
    pub(crate) retry: Vec<(ThreadId, u64, Res)>,
    pub(crate) spawns: HashMap<u64, (ThreadId, PendingSpawn)>,
    pub(crate) user: user::User,
    /// Stub address of the trap being handled.
    pub(crate) at: u32,
    /// The trap being handled is a `W` function.
    pub(crate) wide: bool,
    /// Overlapped operations that have not finished (`overlapped.rs`).
    pub(crate) io: Vec<overlapped::PendingIo>,
    /// `pump_io` is running (it is not entered again from the wake-ups it causes).
    pub(crate) io_busy: bool,
    /// Pipe ends associated with a completion port: (port, key) (`iocp.rs`).
    pub(crate) ports: FxHashMap<ObjId, (ObjId, u32)>,
    /// The world's mailslots (`mailslot.rs`).
    pub(crate) mailslots: mailslot::Mailslots,
}

/// What a restartable call waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Res {
    /// A change of this pipe (data, space, an end closed, a client).
    Pipe(u32),
    /// A listening instance of this named pipe (lower-case name).
    PipeName(String),
    /// A message for this thread's queue.
    Queue(ThreadId),
    /// The end of the overlapped operation with this `OVERLAPPED` in this process.
    Io(ProcId, u32),
    /// An APC queued for this thread (an alertable `SleepEx`).
    Apc(ThreadId),
    /// A packet for this completion port.
    Port(ObjId),
    /// A message for this mailslot.
    Mailslot(u32),
}

/// A blocked Win32 call: restartable (woken with nothing, it runs again) or woken with a value.
#[derive(Debug)]
pub(crate) struct Block {
    pub id: u64,
    pub what: &'static str,
    pub text: String,
    /// On timeout: fail the call with this last error (eax 0), resuming after the stub's trap.
    pub timeout: Option<TimeoutFail>,
}

impl ipcemu_kernel::Blocker for Block {
    fn personality(&self) -> &'static str {
        NAME
    }
    fn what(&self) -> &'static str {
        self.what
    }
    fn describe(&self) -> String {
        self.text.clone()
    }
    fn on_timeout(&self) -> ipcemu_kernel::Wake {
        match &self.timeout {
            Some(f) => ipcemu_kernel::Wake::Complete(Box::new(f.clone())),
            None => ipcemu_kernel::Wake::Nothing,
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Ends a restartable call that timed out: eax 0, a last error, and on past the trap.
#[derive(Debug, Clone)]
pub(crate) struct TimeoutFail {
    pub teb: u32,
    pub error: u32,
    pub resume: u32,
}

impl ipcemu_kernel::Completion for TimeoutFail {
    fn complete(self: Box<Self>, mem: &mut dyn GuestMemory, cpu: &mut dyn Cpu) {
        let _ = mem.write_u32(self.teb + 0x34, self.error);
        cpu.set(Reg::Eax, 0);
        cpu.set(Reg::Eip, self.resume);
    }
}

impl std::fmt::Debug for Win32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Win32")
            .field("procs", &self.procs.len())
            .field("threads", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl Win32 {
    /// A fresh personality.
    pub fn new(opts: Options) -> Self {
        Win32 {
            opts,
            objs: Objects::default(),
            procs: FxHashMap::default(),
            threads: FxHashMap::default(),
            waiters: Vec::new(),
            next_wait: 0,
            pending: None,
            pipes: pipes::Pipes::default(),
            retry: Vec::new(),
            spawns: HashMap::new(),
            user: user::User::default(),
            at: 0,
            wide: false,
            io: Vec::new(),
            io_busy: false,
            ports: FxHashMap::default(),
            mailslots: mailslot::Mailslots::default(),
        }
    }

    /// The imports of an image that ipcemu does not implement (`DLL!Name`), in table order.
    pub fn unimplemented(pe: &ipcemu_loader::pe::PeImage) -> Vec<String> {
        let mut seen = HashSet::new();
        pe.imports
            .iter()
            .filter_map(|i| {
                let label = import_label(i);
                let known = i.name.as_deref().is_some_and(|n| {
                    api::lookup_wide(&i.dll, n).is_some() || api::data_import(&i.dll, n).is_some()
                });
                (!known && seen.insert(label.clone())).then_some(label)
            })
            .collect()
    }

    /// Record an object operation.
    pub(crate) fn rec<M: GuestMemory>(
        &self,
        k: &Kernel<M>,
        t: ThreadId,
        op: &str,
        obj: Option<ObjId>,
        handle: u32,
        result: i64,
    ) {
        if k.trace_on {
            let object = obj.map_or(String::new(), |o| self.objs.label(o));
            trace_rec!(
                k,
                t,
                "w32_obj",
                NAME,
                op = op,
                object = object.as_str(),
                handle = handle,
                result = result
            );
        }
    }

    fn setup_teb<M: GuestMemory>(
        mem: &mut M,
        ps: &PState,
        teb: u32,
        stack: (u32, u32),
        ids: (u32, u32),
    ) -> Result<(), String> {
        let e = |e: ipcemu_kernel::MemFault| format!("TEB set-up: {e}");
        mem.zero(teb, TEB_SLOT).map_err(e)?;
        mem.write_u32(teb, 0xFFFF_FFFF).map_err(e)?; // no SEH frame
        mem.write_u32(teb + 4, stack.1).map_err(e)?; // StackBase (top)
        mem.write_u32(teb + 8, stack.0).map_err(e)?; // StackLimit
        mem.write_u32(teb + 0x18, teb).map_err(e)?; // Self
        mem.write_u32(teb + 0x20, ids.0).map_err(e)?; // ClientId.UniqueProcess
        mem.write_u32(teb + 0x24, ids.1).map_err(e)?; // ClientId.UniqueThread
        mem.write_u32(teb + 0x30, DATA_BASE + D_PEB).map_err(e)?;
        // Native TLS: ThreadLocalStoragePointer -> [block], block = template copy.
        if let Some((start, end, fill)) = ps.tls_template {
            let page = teb + 0x1000;
            let len = end.saturating_sub(start);
            if len.saturating_add(fill) <= 0x1000 - 16 {
                let mut data = vec![0u8; len as usize];
                mem.read(start, &mut data).map_err(e)?;
                mem.write(page + 16, &data).map_err(e)?;
                mem.write_u32(page, page + 16).map_err(e)?;
                mem.write_u32(teb + 0x2C, page).map_err(e)?;
            } else {
                tracing::warn!(len, fill, "TLS template larger than 4 KiB: not set up");
            }
        }
        Ok(())
    }

    pub(crate) fn teb_slot_pub(ps: &mut PState) -> Option<u32> {
        Self::teb_slot(ps)
    }

    pub(crate) fn setup_teb_pub<M: GuestMemory>(
        mem: &mut M,
        ps: &PState,
        teb: u32,
        stack: (u32, u32),
        ids: (u32, u32),
    ) -> Result<(), String> {
        Self::setup_teb(mem, ps, teb, stack, ids)
    }

    fn teb_slot(ps: &mut PState) -> Option<u32> {
        if let Some(s) = ps.teb_free.pop() {
            return Some(s);
        }
        (ps.teb_next < MAX_THREADS).then(|| {
            ps.teb_next += 1;
            ps.teb_next - 1
        })
    }

    /// Threads of a world's processes are woken here: satisfy every wait that can be.
    pub(crate) fn pump<M: GuestMemory>(&mut self, k: &mut Kernel<M>) {
        loop {
            let mut progress = false;
            let mut i = 0;
            while i < self.waiters.len() {
                let w = &self.waiters[i];
                let current = k
                    .blocker_of::<objects::WaitBlocker>(w.t)
                    .is_some_and(|b| b.id == w.id);
                if !current {
                    self.waiters.remove(i);
                    continue;
                }
                let (t, objs, all, input) = (w.t, w.objs.clone(), w.all, w.input);
                let got = self.try_wait_input(k, t, &objs, all, input.as_ref());
                if let Some(r) = got {
                    self.waiters.remove(i);
                    k.wake(t, ipcemu_kernel::Wake::Eax(r));
                    progress = true;
                    break;
                }
                i += 1;
            }
            if !progress {
                break;
            }
        }
    }

    /// Try to satisfy a wait now: on `objs` as `Objects::try_wait`, or, with `iw`
    /// (`MsgWaitForMultipleObjects`), with queue input too: under `all` every object and
    /// input, otherwise an object (the lowest index first) or input.
    pub(crate) fn try_wait_input<M: GuestMemory>(
        &mut self,
        k: &Kernel<M>,
        t: ThreadId,
        objs: &[ObjId],
        all: bool,
        iw: Option<&objects::InputWait>,
    ) -> Option<u32> {
        let Some(iw) = iw else {
            return self.objs.try_wait(t, objs, all);
        };
        let ready = self.input_ready(t, iw, k.now_ns());
        if all {
            let every = objs.iter().all(|&o| self.objs.signaled(o, t));
            if ready && every {
                self.objs.try_wait(t, objs, true)
            } else {
                None
            }
        } else {
            self.objs
                .try_wait(t, objs, false)
                .or(ready.then_some(iw.result))
        }
    }

    fn end_process_state<M: GuestMemory>(&mut self, k: &mut Kernel<M>, p: ProcId) {
        let Some(ps) = self.procs.remove(&p) else {
            return;
        };
        let code = match &k.procs[p].exit {
            Some(ipcemu_kernel::ExitStatus::Normal(c)) => *c as u32,
            Some(ipcemu_kernel::ExitStatus::Fault(_)) => 0xC000_0005,
            _ => 1,
        };
        if let Some(o) = self.objs.get_mut(ps.obj) {
            if let objects::Kind::Process { exit, .. } = &mut o.kind {
                *exit = Some(code);
            }
        }
        let objs: Vec<ObjId> = ps
            .handles
            .into_values()
            .chain(ps.views.into_values())
            .chain(ps.crit.into_values())
            .chain(std::iter::once(ps.obj))
            .collect();
        for o in objs {
            self.release_obj(k, o);
        }
    }

    /// Drop one reference to an object; when it goes, tell its pipe (or whatever keeps
    /// state about it) and wake whoever waits on that.
    pub(crate) fn release_obj<M: GuestMemory>(&mut self, k: &mut Kernel<M>, o: ObjId) {
        let Some(obj) = self.objs.release(o) else {
            return;
        };
        // A mailslot's read handle: the mailslot goes.
        if let objects::Kind::Mailslot { id, server: true } = obj.kind {
            self.mailslot_closed(id);
            self.wake_res(k, &Res::Mailslot(id));
        }
        // A port that goes: the threads waiting on it find it gone.
        if matches!(obj.kind, objects::Kind::Port { .. }) {
            self.wake_res(k, &Res::Port(o));
        }
        // The last handle of a pipe end closed: its pending operations are cancelled (their
        // packets still go to its port), then its association goes.
        let port = self.ports.get(&o).copied();
        if matches!(obj.kind, objects::Kind::PipeEnd { .. }) && self.io.iter().any(|x| x.obj_is(o))
        {
            self.cancel_io(k, &|x| x.obj_is(o), true);
        }
        if let Some((port, _)) = port {
            self.ports.remove(&o);
            self.release_obj(k, port);
        }
        if let objects::Kind::PipeEnd {
            pipe: Some(id),
            reads,
            writes,
            server,
            ..
        } = obj.kind
        {
            let named = self
                .pipes
                .pipes
                .get(&id)
                .and_then(|p| p.named.as_ref())
                .map(|n| n.name.to_ascii_lowercase());
            if named.is_some() && !server {
                let _ = self.pipes.drop_client(id, false);
            } else {
                self.pipes.end_closed(id, reads, writes, server);
            }
            self.wake_res(k, &Res::Pipe(id));
            if let Some(n) = named {
                self.wake_res(k, &Res::PipeName(n));
            }
        }
    }

    /// Thread `t` waits in `MsgWaitForMultipleObjects(Ex)` (an object waiter with input).
    pub(crate) fn in_msg_wait(&self, t: ThreadId) -> bool {
        self.waiters.iter().any(|w| w.t == t && w.input.is_some())
    }

    /// Wake the threads whose restartable call waits for `res` (they run the call again).
    pub(crate) fn wake_res<M: GuestMemory>(&mut self, k: &mut Kernel<M>, res: &Res) {
        let mut i = 0;
        while i < self.retry.len() {
            let (t, id, r) = &self.retry[i];
            let current = k.blocker_of::<Block>(*t).is_some_and(|b| b.id == *id);
            if !current {
                self.retry.remove(i);
                continue;
            }
            if r == res {
                let t = *t;
                self.retry.remove(i);
                k.wake(t, ipcemu_kernel::Wake::Nothing);
                continue;
            }
            i += 1;
        }
        // Overlapped operations on a pipe that changed are tried again.
        if let Res::Pipe(id) = res {
            self.pump_io(k, *id);
        }
        // A thread in MsgWaitForMultipleObjects waits for its queue as an object waiter.
        if let Res::Queue(q) = res {
            if self.in_msg_wait(*q) {
                self.pump(k);
            }
        }
    }
}

/// Thread `t` as one end of a message on the kernel's path (`address`: the handle or window it
/// used, 0 none).
pub(crate) fn endpoint<M: GuestMemory>(
    k: &Kernel<M>,
    t: ThreadId,
    address: u32,
) -> ipcemu_kernel::Endpoint {
    let th = &k.threads[t];
    ipcemu_kernel::Endpoint {
        proc: Some(th.proc),
        thread: Some(t),
        pid: th.pid,
        address: u64::from(address),
    }
}

/// Pass a message the personality then queues for its receiver on the kernel's path:
/// `Ok(true)`: deliver it (as the hooks left it; a `queued` message gets its `send` record
/// here); `Ok(false)`: a hook dropped or held it (the sender sees success, nothing arrives);
/// `Err(ERROR_ACCESS_DENIED)`: a hook denied it. `now`: it cannot be held (a `Delay` counts
/// as `Allow`).
pub(crate) fn transmit_queued<M: GuestMemory>(
    k: &mut Kernel<M>,
    m: &mut ipcemu_kernel::Message,
    now: bool,
) -> Result<bool, u32> {
    let verdict = if now {
        k.transmit_now(m)
    } else {
        k.transmit(m)
    };
    match verdict {
        ipcemu_kernel::Verdict::Allow => {
            if m.kind == ipcemu_kernel::MsgKind::Queued {
                k.trace_queued(m);
            }
            Ok(true)
        }
        ipcemu_kernel::Verdict::Deny(_) => Err(api::ERROR_ACCESS_DENIED),
        ipcemu_kernel::Verdict::Drop(_) | ipcemu_kernel::Verdict::Delay(_) => Ok(false),
    }
}

/// Word `i` (little-endian) of a message's payload as the hooks left it, or `d` when a hook
/// made the payload shorter.
pub(crate) fn data_word(data: &[u8], i: usize, d: u32) -> u32 {
    data.get(4 * i..4 * i + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(d, u32::from_le_bytes)
}

fn import_label(i: &ipcemu_loader::pe::PeImport) -> String {
    match (&i.name, i.ordinal) {
        (Some(n), _) => format!("{}!{n}", i.dll),
        (None, Some(o)) => format!("{}!#{o}", i.dll),
        (None, None) => format!("{}!?", i.dll),
    }
}

fn quote_arg(s: &str) -> String {
    if s.is_empty() || s.contains([' ', '\t']) {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

/// Split a command line into arguments (whitespace, double quotes group).
pub fn split_args(s: &str) -> Vec<String> {
    let mut v = Vec::new();
    let mut cur = String::new();
    let (mut in_q, mut any) = (false, false);
    for c in s.chars() {
        match c {
            '"' => {
                in_q = !in_q;
                any = true;
            }
            ' ' | '\t' if !in_q => {
                if any {
                    v.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        v.push(cur);
    }
    v
}

impl<M: GuestMemory> Personality<M> for Win32 {
    fn name(&self) -> &'static str {
        NAME
    }
    fn vectors(&self) -> Vec<(u8, String)> {
        vec![(VECTOR, "Win32 import stubs (int 0x2E)".into())]
    }
    fn attaches(&self, format: Format) -> bool {
        format == Format::Pe32
    }
    fn starts(&self, format: Format) -> bool {
        format == Format::Pe32
    }
    fn start(&mut self, image: &Image, args: &StartArgs<'_>, mem: &mut M) -> Result<Entry, String> {
        let pe = image
            .pe
            .as_deref()
            .ok_or_else(|| "a PE32 image without its PE data".to_string())?;
        let missing = Self::unimplemented(pe);
        if !missing.is_empty() {
            if self.opts.strict {
                return Err(format!(
                    "imports functions ipcemu does not implement (--strict): {}",
                    missing.join(", ")
                ));
            }
            tracing::warn!(
                path = args.path,
                functions = %missing.join(", "),
                "the program imports functions ipcemu does not implement; calling one ends it"
            );
        }
        let e = |e: ipcemu_kernel::MemFault| format!("Win32 start-up: {e}");
        for (base, size, what) in [
            (STUB_BASE, STUB_REGION, "import stubs"),
            (DATA_BASE, 0x1_0000, "PEB and C runtime data"),
        ] {
            if !mem.map_zeroed(base, size) {
                return Err(format!(
                    "cannot map the {what} at {base:#x} (the image overlaps it)"
                ));
            }
        }
        // Stubs: special ones first.
        mem.write(STUB_THREAD_RETURN, &[0xCD, VECTOR, 0x90, 0x90])
            .map_err(e)?;
        mem.write(STUB_PROCESS_RETURN, &[0xCD, VECTOR, 0x90, 0x90])
            .map_err(e)?;
        mem.write(STUB_CHAIN_NEXT, &[0xCD, VECTOR, 0xC3, 0x90])
            .map_err(e)?;
        mem.write(STUB_CALLBACK, &[0xCD, VECTOR, 0x90, 0x90])
            .map_err(e)?;
        let mut stubs: Vec<Stub> = Vec::new();
        let mut by_label: HashMap<String, u32> = HashMap::new();
        let data_addr = |off: u32| DATA_BASE + off;
        for imp in &pe.imports {
            let label = import_label(imp);
            if let Some(off) = imp
                .name
                .as_deref()
                .and_then(|n| api::data_import(&imp.dll, n))
            {
                mem.write_u32(imp.iat_addr, data_addr(off)).map_err(e)?;
                continue;
            }
            let addr = match by_label.get(&label) {
                Some(&a) => a,
                None => {
                    let n = stubs.len() as u32;
                    if n >= MAX_STUBS {
                        return Err(format!("more than {MAX_STUBS} imported functions"));
                    }
                    let found = imp
                        .name
                        .as_deref()
                        .and_then(|nm| api::lookup_wide(&imp.dll, nm));
                    let func = found.map(|(f, _)| f);
                    let a = STUB_FIRST + 8 * n;
                    let mut code = [0x90u8; 8];
                    code[0] = 0xCD;
                    code[1] = VECTOR;
                    match func.map(|f| f.arg_bytes()) {
                        Some(Some(b)) if b > 0 => {
                            code[2] = 0xC2;
                            code[3..5].copy_from_slice(&b.to_le_bytes());
                        }
                        _ => code[2] = 0xC3,
                    }
                    mem.write(a, &code).map_err(e)?;
                    stubs.push(Stub {
                        label: label.clone(),
                        func,
                        wide: found.is_some_and(|(_, w)| w),
                    });
                    by_label.insert(label, a);
                    a
                }
            };
            mem.write_u32(imp.iat_addr, addr).map_err(e)?;
        }
        // Data: PEB, msvcrt variables, command line, argv.
        let peb = DATA_BASE + D_PEB;
        mem.write_u32(peb + 8, pe.image_base).map_err(e)?;
        mem.write_u32(peb + 0x18, HEAP_BASE).map_err(e)?;
        for i in 0..3u32 {
            mem.write_u32(data_addr(D_IOB) + i * FILE_SIZE + 16, i)
                .map_err(e)?; // _file
        }
        mem.write_u32(data_addr(D_INITENV), data_addr(D_ENV))
            .map_err(e)?;
        mem.write_u32(data_addr(D_MB_CUR_MAX), 1).map_err(e)?;
        mem.write_u32(data_addr(D_ACMDLN), data_addr(D_CMDLINE))
            .map_err(e)?;
        mem.write(data_addr(D_STR_DOT), b".\0\0\0C\0").map_err(e)?;
        mem.write(data_addr(D_STR_ERROR), b"unknown error\0")
            .map_err(e)?;
        mem.write_u32(data_addr(D_LCONV), data_addr(D_STR_DOT))
            .map_err(e)?;
        mem.write_u32(data_addr(D_LCONV) + 4, data_addr(D_STR_EMPTY))
            .map_err(e)?;
        mem.write_u32(data_addr(D_LCONV) + 8, data_addr(D_STR_EMPTY))
            .map_err(e)?;
        let file = args.path.rsplit(['/', '\\']).next().unwrap_or(args.path);
        let mut cmd = quote_arg(file);
        if let Some(p) = args.params.filter(|p| !p.is_empty()) {
            cmd.push(' ');
            cmd.push_str(p);
        }
        let mut cb = cmd.clone().into_bytes();
        cb.truncate(0x1000 - 1);
        cb.push(0);
        mem.write(data_addr(D_CMDLINE), &cb).map_err(e)?;
        let mut wide: Vec<u8> = cmd
            .encode_utf16()
            .take(0xFFF)
            .chain(std::iter::once(0))
            .flat_map(u16::to_le_bytes)
            .collect();
        wide.truncate(0x2000);
        mem.write(data_addr(D_CMDLINE_W), &wide).map_err(e)?;
        let mut argv = vec![file.to_string()];
        argv.extend(split_args(args.params.unwrap_or("")));
        argv.truncate(255);
        let mut at = data_addr(D_ARGV_STR);
        let mut n = 0u32;
        for a in &argv {
            let mut b = a.clone().into_bytes();
            b.push(0);
            if at + b.len() as u32 > data_addr(D_END) {
                break;
            }
            mem.write(at, &b).map_err(e)?;
            mem.write_u32(data_addr(D_ARGV) + 4 * n, at).map_err(e)?;
            at += b.len() as u32;
            n += 1;
        }
        mem.write_u32(data_addr(D_ARGV) + 4 * n, 0).map_err(e)?;
        mem.write_u32(data_addr(D_ARGC), n).map_err(e)?;
        mem.write_u32(data_addr(D_ARGV_CELL), data_addr(D_ARGV))
            .map_err(e)?;
        if let Some(a) = pe.tls_index_addr {
            mem.write_u32(a, 0).map_err(e)?;
        }
        // Main stack.
        let size = pe
            .stack_reserve
            .clamp(1 << 20, 128 << 20)
            .next_multiple_of(0x1_0000);
        let stack_base = MAIN_STACK_TOP - size;
        if !mem.map_zeroed(stack_base, size) {
            return Err(format!(
                "cannot map the stack at {stack_base:#x}+{size:#x} (the image overlaps it)"
            ));
        }
        let ctx = args.context.and_then(|c| c.downcast_ref::<SpawnCtx>());
        let handles: BTreeMap<u32, ObjId> = ctx
            .map(|c| c.handles.iter().copied().collect())
            .unwrap_or_default();
        let next_handle = handles
            .keys()
            .next_back()
            .map_or(0x100, |h| h.wrapping_add(4).max(0x100));
        let mut ps = PState {
            stubs,
            inherit: handles.keys().copied().collect(),
            handles,
            std: ctx.and_then(|c| c.std).unwrap_or([
                api::STD_INPUT,
                api::STD_OUTPUT,
                api::STD_ERROR,
            ]),
            obj: 0,
            next_handle,
            image_base: pe.image_base,
            pid: 0,
            tls_used: [false; 64],
            teb_free: Vec::new(),
            teb_next: 0,
            stacks_mapped: HashSet::new(),
            heap: None,
            views: HashMap::new(),
            next_view: VIEW_BASE,
            onexit: Vec::new(),
            crit: HashMap::new(),
            tls_template: pe.tls_template,
            main_teb: 0,
            main_stack: (stack_base, MAIN_STACK_TOP),
            tls_callbacks: pe.tls_callbacks.clone(),
            thread_start: None,
            exit_code: None,
            detaching: false,
        };
        let slot = Self::teb_slot(&mut ps).unwrap_or(0);
        let teb = TEB_BASE + slot * TEB_SLOT;
        if !mem.map_zeroed(TEB_BASE, MAX_THREADS * TEB_SLOT) {
            return Err(format!("cannot map the TEBs at {TEB_BASE:#x}"));
        }
        Self::setup_teb(mem, &ps, teb, ps.main_stack, (0, 0))?;
        ps.main_teb = teb;
        // Start trampoline: TLS callbacks (DLL_PROCESS_ATTACH), then the entry point, which
        // returns to the process-return stub.
        let mut code: Vec<u8> = Vec::new();
        for &cb in &pe.tls_callbacks {
            code.extend_from_slice(&[0x6A, 0x00, 0x6A, 0x01, 0x68]); // push 0; push 1; push base
            code.extend_from_slice(&pe.image_base.to_le_bytes());
            code.push(0xB8); // mov eax, cb
            code.extend_from_slice(&cb.to_le_bytes());
            code.extend_from_slice(&[0xFF, 0xD0]); // call eax
        }
        code.push(0x68); // push process-return stub
        code.extend_from_slice(&STUB_PROCESS_RETURN.to_le_bytes());
        code.push(0xB8); // mov eax, entry
        code.extend_from_slice(&pe.entry.to_le_bytes());
        code.extend_from_slice(&[0xFF, 0xE0]); // jmp eax
                                               // Thread start code (with TLS callbacks): DLL_THREAD_ATTACH to each, then `ret` to the
                                               // thread's function, which CreateThread put on the stack above the return stub.
        if !pe.tls_callbacks.is_empty() {
            while !code.len().is_multiple_of(16) {
                code.push(0x90);
            }
            ps.thread_start = Some(TRAMPOLINE + code.len() as u32);
            for &cb in &pe.tls_callbacks {
                code.extend_from_slice(&[0x6A, 0x00, 0x6A, 0x02, 0x68]); // push 0; push 2; push base
                code.extend_from_slice(&pe.image_base.to_le_bytes());
                code.push(0xB8); // mov eax, cb
                code.extend_from_slice(&cb.to_le_bytes());
                code.extend_from_slice(&[0xFF, 0xD0]); // call eax
            }
            code.push(0xC3); // ret
        }
        if code.len() as u32 > STUB_REGION - (TRAMPOLINE - STUB_BASE) {
            return Err(format!(
                "too many TLS callbacks ({})",
                pe.tls_callbacks.len()
            ));
        }
        mem.write(TRAMPOLINE, &code).map_err(e)?;
        self.pending = Some(ps);
        Ok(Entry {
            eip: TRAMPOLINE,
            esp: MAIN_STACK_TOP - 16,
            real_mode_segment: None,
            fs_base: Some(teb),
        })
    }
    fn process_abi(&self, _format: Format) -> &'static str {
        NAME
    }
    fn started(&mut self, k: &mut Kernel<M>, proc: ProcId, t: ThreadId) {
        let Some(mut ps) = self.pending.take() else {
            return;
        };
        let pid = k.threads[t].pid;
        ps.pid = pid;
        let teb = ps.main_teb;
        let _ = k.procs[proc].mem.write_u32(teb + 0x20, pid);
        let _ = k.procs[proc].mem.write_u32(teb + 0x24, pid);
        let obj = self.objs.create(
            None,
            objects::Kind::Thread {
                t,
                exit: None,
                suspended: 0,
            },
        );
        ps.obj = self
            .objs
            .create(None, objects::Kind::Process { proc, exit: None });
        self.procs.insert(proc, ps);
        self.threads.insert(
            t,
            TState {
                proc,
                teb,
                slot: 0,
                obj,
                exit_code: None,
                chain: None,
                frames: Vec::new(),
                retry_deadline: None,
                detached: true,
                apcs: std::collections::VecDeque::new(),
                transact: None,
            },
        );
    }
    fn spawned(&mut self, k: &mut Kernel<M>, outcome: ipcemu_personality::Spawned) {
        self.spawn_done(k, outcome);
    }
    fn strace_call(
        &self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &dyn Cpu,
        _trap: Trap,
    ) -> Option<String> {
        let at = cpu.get(Reg::Eip).wrapping_sub(2);
        let p = self.threads.get(&t)?.proc;
        let idx = at.checked_sub(STUB_FIRST)?;
        if !(STUB_FIRST..TRAMPOLINE).contains(&at) || !idx.is_multiple_of(8) {
            // The runtime's own stubs (thread/process return, call chains, callbacks).
            return None;
        }
        let stub = self.procs.get(&p)?.stubs.get((idx / 8) as usize)?;
        let n = stub.func.map_or(0, |f| f.arg_bytes().map_or(3, |b| b / 4)) as u32;
        let esp = cpu.get(Reg::Esp);
        let m = k.mem_of(t);
        let args: Vec<String> = (0..n)
            .map(|i| match m.read_u32(esp.wrapping_add(4 + 4 * i)) {
                Ok(v) => format!("{v:#x}"),
                Err(_) => "?".into(),
            })
            .collect();
        Some(format!("{}({})", stub.label, args.join(", ")))
    }
    fn strace_result(
        &self,
        _k: &mut Kernel<M>,
        _t: ThreadId,
        cpu: &dyn Cpu,
        _call: &str,
    ) -> String {
        format!("{:#x}", cpu.get(Reg::Eax))
    }
    fn trap(&mut self, k: &mut Kernel<M>, t: ThreadId, cpu: &mut dyn Cpu, _trap: Trap) -> Outcome {
        let at = cpu.get(Reg::Eip).wrapping_sub(2);
        match self.dispatch(k, t, cpu, at) {
            Ok(o) => o,
            Err(f) => Outcome::fault(f),
        }
    }
    fn thread_exited(&mut self, k: &mut Kernel<M>, t: ThreadId) {
        let Some(ts) = self.threads.remove(&t) else {
            return;
        };
        let p = ts.proc;
        let code = ts
            .exit_code
            .or_else(|| self.procs.get(&p).and_then(|ps| ps.exit_code))
            .unwrap_or(0);
        if let Some(o) = self.objs.get_mut(ts.obj) {
            if let objects::Kind::Thread { exit, .. } = &mut o.kind {
                *exit = Some(code);
            }
        }
        self.release_obj(k, ts.obj);
        let abandoned = self.objs.abandon(t);
        if k.trace_on {
            for o in abandoned {
                self.rec(k, t, "abandon", Some(o), 0, 0);
            }
        }
        if let Some(ps) = self.procs.get_mut(&p) {
            ps.teb_free.push(ts.slot);
        }
        self.user_thread_exited(k, t);
        self.transact_thread_exited(k, ts.transact);
        // I/O a thread started ends with it (Windows cancels a thread's requests as it exits).
        if self.io.iter().any(|x| x.issued_by(t)) {
            self.cancel_io(k, &|x| x.issued_by(t), true);
        }
        if k.procs[p].live_threads == 0 {
            self.end_process_state(k, p);
        }
        self.pump(k);
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A fault for a bad pointer argument.
pub(crate) fn bad_ptr(what: &str) -> impl Fn(ipcemu_kernel::MemFault) -> GuestFault + '_ {
    move |fault| GuestFault::BadPointer {
        what: what.to_string(),
        fault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_split() {
        assert_eq!(split_args(" 1  \"a b\" c"), vec!["1", "a b", "c"]);
        assert!(split_args("").is_empty());
    }
}
