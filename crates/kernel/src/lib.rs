//! # ipcemu-kernel
//!
//! The core of ipcemu's host kernel: processes and threads with PIDs and task slots, the
//! scheduler, the virtual clock and timers, wait and wake, guest output, and the one path every
//! message takes ([`Kernel::transmit`]). It names no guest ABI and no CPU: guest memory is a
//! [`GuestMemory`], registers a [`Cpu`], what a waiting thread waits for a personality's
//! [`Blocker`], and what it gets when it wakes a [`Wake`]. Personalities (crates
//! `ipcemu-kolibri`, `ipcemu-pcipc`, ...) keep their own state and call the operations below.
//!
//! The run loop (crate `ipcemu-machine`) asks [`Kernel::pick_next`] which thread runs next.

#![warn(missing_docs)]

pub mod abi;
pub mod blocker;
pub mod fault;
pub mod mem;
pub mod msg;
pub mod trace;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::ops::{Index, IndexMut};
use std::time::Instant;

pub use abi::{Cpu, Outcome, Reg, RegFile};
pub use blocker::{Blocker, Completion, Sleep, Wake};
pub use fault::{Access, FaultReport, GuestFault};
pub use mem::{GuestMemory, MemFault, VecMemory};
pub use msg::{Endpoint, HookCtx, Message, MessageHook, MsgKind, Verdict};

/// A task slot (KolibriOS's slot numbers: 1-based, reused lowest-free first). Not a PID and not
/// a thread-table index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Slot(pub u16);

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Index of a process in the kernel's process table (never reused in one world).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ProcId(pub usize);

/// Index of a thread in the kernel's thread table (never reused in one world).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ThreadId(pub usize);

/// A process or thread id as guests see it (never reused in one world).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pid(pub u32);

impl fmt::Display for ProcId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process #{}", self.0)
    }
}
impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<M> Index<ProcId> for Vec<Process<M>> {
    type Output = Process<M>;
    #[inline]
    fn index(&self, i: ProcId) -> &Process<M> {
        &self[i.0]
    }
}
impl<M> IndexMut<ProcId> for Vec<Process<M>> {
    #[inline]
    fn index_mut(&mut self, i: ProcId) -> &mut Process<M> {
        &mut self[i.0]
    }
}
impl Index<ThreadId> for Vec<Thread> {
    type Output = Thread;
    #[inline]
    fn index(&self, i: ThreadId) -> &Thread {
        &self[i.0]
    }
}
impl IndexMut<ThreadId> for Vec<Thread> {
    #[inline]
    fn index_mut(&mut self, i: ThreadId) -> &mut Thread {
        &mut self[i.0]
    }
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    /// Its last thread ended (or it called its exit function) with this code.
    Normal(i32),
    /// A guest fault or a refused operation ended it.
    Fault(Box<FaultReport>),
    /// Another thread killed it, or the host did.
    Killed,
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Normal(c) => write!(f, "exit {c}"),
            ExitStatus::Killed => f.write_str("killed"),
            ExitStatus::Fault(r) => write!(f, "fault: {}", r.fault),
        }
    }
}

/// A guest process.
#[derive(Debug)]
pub struct Process<M> {
    /// Name: the file name without directory and extension.
    pub name: String,
    /// Guest memory.
    pub mem: M,
    /// Size of the main image memory.
    pub mem_size: u32,
    /// Name of the personality that started it (`kolibri`, `elf`, `dos`, `host`, ...).
    pub abi: &'static str,
    /// Threads not yet ended.
    pub live_threads: u32,
    /// Set once the process has ended.
    pub exit: Option<ExitStatus>,
    /// Everything the process wrote to stdout/stderr, when `Config::capture_output` is set.
    pub output: Vec<u8>,
}

/// Scheduling state of a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadState {
    /// In the ready queue.
    Ready,
    /// On the CPU.
    Running,
    /// Waiting in the kernel (see `Thread::blocker`).
    Waiting,
    /// Gone; its slot is free and its PID unknown.
    Ended,
}

/// A guest thread. An ended thread keeps only its identity (24 bytes): a world that creates
/// and ends a million threads costs 24 MB, not a million live records.
#[derive(Debug)]
pub struct Thread {
    /// PID/TID (never reused).
    pub pid: u32,
    /// Task slot (reused lowest-free first once the thread ends).
    pub slot: Slot,
    /// Scheduling state.
    pub state: ThreadState,
    /// Owning process.
    pub proc: ProcId,
    live: Option<Box<Live>>,
}

/// What only a thread that has not ended has.
#[derive(Debug, Default)]
struct Live {
    blocker: Option<Box<dyn Blocker>>,
    /// The box of its last ended wait, for the next one ([`Kernel::block_current_on`]).
    spare_blocker: Option<Box<dyn Blocker>>,
    start: Option<(u32, u32)>,
    start_fs: Option<u32>,
    wake: Option<Wake>,
    deadline: Option<u64>,
    traps: u64,
}

impl Thread {
    #[inline]
    fn live(&mut self) -> &mut Live {
        self.live.get_or_insert_with(Box::default)
    }
    /// What it waits for while `Waiting`.
    pub fn blocker(&self) -> Option<&dyn Blocker> {
        self.live.as_ref()?.blocker.as_deref()
    }
    /// For a thread that has never run: (eip, esp) to start it at (taken once).
    pub fn take_start(&mut self) -> Option<(u32, u32)> {
        self.live.as_mut()?.start.take()
    }
    /// For a thread that has never run: the base of its `fs` segment (Win32: its TEB), set by
    /// the personality that created it; the machine applies it when the thread first runs.
    pub fn set_start_fs(&mut self, base: u32) {
        if self.state != ThreadState::Ended {
            self.live().start_fs = Some(base);
        }
    }
    /// Take the `fs` base set by [`Thread::set_start_fs`].
    pub fn take_start_fs(&mut self) -> Option<u32> {
        self.live.as_mut()?.start_fs.take()
    }
    /// What a woken thread gets when it resumes (taken once, as it resumes).
    pub fn take_wake(&mut self) -> Option<Wake> {
        self.live.as_mut()?.wake.take()
    }
    /// The wake waiting for the thread, if any.
    pub fn wake_ref(&self) -> Option<&Wake> {
        self.live.as_ref()?.wake.as_ref()
    }
    /// Virtual-time deadline of the current wait, if any.
    pub fn deadline(&self) -> Option<u64> {
        self.live.as_ref()?.deadline
    }
    /// System calls made by this thread (0 once it ended: see `Kernel::total_traps`).
    pub fn traps(&self) -> u64 {
        self.live.as_ref().map_or(0, |l| l.traps)
    }
}

/// What the run loop should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// Run this thread.
    Run(ThreadId),
    /// Nothing is ready: sleep until this clock value (ns) and ask again (real-time mode, or
    /// the run's time limit comes before the next deadline: the clock is there already).
    Idle(u64),
    /// Every live thread waits and nothing can wake any of them.
    Deadlock(Vec<String>),
    /// No live threads are left.
    Finished,
}

/// Kernel tunables.
#[derive(Debug, Clone)]
pub struct Config {
    /// Virtual nanoseconds charged per system call (keeps polling loops moving in time).
    pub trap_ns: u64,
    /// System calls a thread may make before it is preempted when others are ready.
    pub quantum_traps: u32,
    /// Use the host's monotonic clock instead of the virtual clock.
    pub realtime: bool,
    /// Highest task slot. More slots allow worlds of more threads.
    pub max_slots: u16,
    /// Slots (and PIDs) below this are reserved by the personalities' system layout; the
    /// first thread gets this slot and PID.
    pub first_slot: u16,
    /// Keep each process's output in `Process::output` as well.
    pub capture_output: bool,
    /// Most bytes of captured output kept per process; the rest is counted
    /// (`Kernel::output_dropped`) and dropped.
    pub max_output: usize,
}

/// Default of `Config::max_output`: 16 MiB per process.
pub const DEFAULT_MAX_OUTPUT: usize = 16 << 20;

/// Guest output the kernel holds for the host's stdout or stderr: once a buffer would pass this
/// many bytes it goes to the output sink (`Kernel::set_output_sink`), so a guest writing
/// without end costs no more host memory than this.
pub const OUTPUT_BUFFER: usize = 1 << 16;

/// Where guest output goes when a buffer fills: `(bytes, to_stderr)`.
pub type OutputSink = Box<dyn FnMut(&[u8], bool)>;

/// Default highest slot (KolibriOS has 255 task slots).
pub const MAX_SLOTS: u16 = 255;

impl Default for Config {
    fn default() -> Self {
        Config {
            trap_ns: 1_000,
            quantum_traps: 1_000,
            realtime: false,
            max_slots: MAX_SLOTS,
            // KolibriOS's layout: slot 1 is the idle thread, slot 2 the kernel's OS thread.
            first_slot: 3,
            capture_output: false,
            max_output: DEFAULT_MAX_OUTPUT,
        }
    }
}

/// The kernel: all processes and threads of one world.
pub struct Kernel<M> {
    /// Tunables.
    pub config: Config,
    /// Process table.
    pub procs: Vec<Process<M>>,
    /// Thread table.
    pub threads: Vec<Thread>,
    slots: Vec<Option<ThreadId>>,
    max_slot: u16,
    next_pid: u32,
    ready: VecDeque<ThreadId>,
    current: Option<ThreadId>,
    timers: BinaryHeap<Reverse<(u64, ThreadId)>>,
    virt_ns: u64,
    started: Instant,
    budget: u32,
    /// Bytes for the host's stdout, drained by the run loop.
    pub stdout: Vec<u8>,
    /// Bytes for the host's stderr, drained by the run loop.
    pub stderr: Vec<u8>,
    /// Bytes of captured output dropped per process over `Config::max_output` (indexed by
    /// `ProcId`; missing entries are 0).
    output_dropped: Vec<u64>,
    output_sink: Option<OutputSink>,
    /// System calls handled in this world (the `step` of trace records).
    pub steps: u64,
    /// Whether trace records are wanted at all: a `tracing` subscriber listens (decided at
    /// creation) or a [`trace::TraceTap`] is set.
    pub trace_on: bool,
    /// Whether a `tracing` subscriber listens to trace records (decided at creation).
    pub trace_tracing: bool,
    /// The direct receiver of trace records, if any ([`Kernel::set_trace_tap`]).
    pub trace_tap: Option<std::sync::Arc<dyn trace::TraceTap>>,
    /// Packed records not yet handed to the tap ([`Kernel::flush_trace`]).
    pub trace_buf: std::cell::RefCell<trace::Packer>,
    /// Sequence number of the last message sent (trace flow ids).
    pub msg_seq: u64,
    /// Guest-time limit of the run (ns): a thread that never blocks is stopped at its next
    /// quantum once the clock passes it, so the run loop can end the run.
    pub time_limit: Option<u64>,
    hooks: Vec<Box<dyn MessageHook>>,
    exited: Vec<ThreadId>,
    spawn_requests: Vec<SpawnRequest>,
    next_spawn: u64,
    /// System calls made by threads that have ended.
    ended_traps: u64,
    /// A message of this thread's current call was delayed by a hook: (thread, ns).
    pending_delay: Option<(ThreadId, u64)>,
    /// Threads whose next message passes a `Delay` verdict (their call was held once already).
    /// Several threads can be held at once, each exempt until its call is made again (one
    /// slot for all let a second hold take the first one's exemption: both were held again
    /// and again).
    delay_exempt: Vec<ThreadId>,
    /// Programs that start later (`--start-at`): (clock ns, the run loop's token).
    delayed: BinaryHeap<Reverse<(u64, u64)>>,
}

/// A personality's request to start a program in the same world (Win32 `CreateProcess`).
/// The core only queues it: the run loop loads the program at the next scheduling point
/// (it knows files and CPUs), starts it with `context` handed to the starting personality, and
/// tells the requesting personality the outcome. The requesting thread normally waits.
pub struct SpawnRequest {
    /// Request number (unique in the world).
    pub id: u64,
    /// The thread that asked.
    pub parent: ThreadId,
    /// Name of the personality that asked (it gets the outcome).
    pub personality: &'static str,
    /// The program as the guest named it (resolved by the run loop next to the parent's image).
    pub program: String,
    /// Its command-line parameters, if any.
    pub params: Option<String>,
    /// Data for the personality that starts the program (inherited handles, ...).
    pub context: Box<dyn std::any::Any>,
    /// `program` is a host path the personality already resolved inside its own sandbox
    /// (KolibriOS 70.7 through `--root`), loaded as it is.
    pub resolved: bool,
}

impl fmt::Debug for SpawnRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnRequest")
            .field("id", &self.id)
            .field("parent", &self.parent)
            .field("personality", &self.personality)
            .field("program", &self.program)
            .field("params", &self.params)
            .field("resolved", &self.resolved)
            .finish_non_exhaustive()
    }
}

impl<M> fmt::Debug for Kernel<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kernel")
            .field("procs", &self.procs.len())
            .field("threads", &self.threads.len())
            .field("now_ns", &self.virt_ns)
            .finish_non_exhaustive()
    }
}

impl<M: GuestMemory> Kernel<M> {
    /// An empty world.
    pub fn new(config: Config) -> Self {
        let slots = vec![None; config.max_slots.max(config.first_slot) as usize + 1];
        Kernel {
            procs: Vec::new(),
            threads: Vec::new(),
            slots,
            max_slot: config.first_slot.saturating_sub(1),
            next_pid: config.first_slot as u32,
            ready: VecDeque::new(),
            current: None,
            timers: BinaryHeap::new(),
            virt_ns: 0,
            started: Instant::now(),
            budget: 0,
            stdout: Vec::new(),
            stderr: Vec::new(),
            output_dropped: Vec::new(),
            output_sink: None,
            steps: 0,
            trace_on: trace::listening(),
            trace_tracing: trace::listening(),
            trace_tap: None,
            trace_buf: Default::default(),
            msg_seq: 0,
            time_limit: None,
            hooks: Vec::new(),
            exited: Vec::new(),
            spawn_requests: Vec::new(),
            next_spawn: 0,
            ended_traps: 0,
            pending_delay: None,
            delay_exempt: Vec::new(),
            delayed: BinaryHeap::new(),
            config,
        }
    }

    // ----- processes and threads -------------------------------------------------------

    /// Create a process with one thread that starts at (eip, esp). `name` is a file name or
    /// path (the process is named after its stem). Returns (process, thread), or `None` when
    /// no slot is free.
    pub fn spawn_process(
        &mut self,
        name: &str,
        mem: M,
        mem_size: u32,
        abi: &'static str,
        entry: (u32, u32),
    ) -> Option<(ProcId, ThreadId)> {
        self.free_slot()?;
        let p = ProcId(self.procs.len());
        self.procs.push(Process {
            name: file_stem(name).to_string(),
            mem,
            mem_size,
            abi,
            live_threads: 0,
            exit: None,
            output: Vec::new(),
        });
        let tid = self.spawn_thread(p, entry.0, entry.1)?;
        Some((p, tid))
    }

    /// System calls handled in this world, by every thread that ever ran.
    pub fn total_traps(&self) -> u64 {
        self.ended_traps + self.threads.iter().map(Thread::traps).sum::<u64>()
    }

    /// Create a thread in `proc`. `None` when no slot is free.
    pub fn spawn_thread(&mut self, proc: ProcId, eip: u32, esp: u32) -> Option<ThreadId> {
        let slot = self.free_slot()?;
        let tid = ThreadId(self.threads.len());
        let pid = self.next_pid;
        self.next_pid += 1;
        self.threads.push(Thread {
            pid,
            slot,
            proc,
            state: ThreadState::Ready,
            live: Some(Box::new(Live {
                start: Some((eip, esp)),
                ..Live::default()
            })),
        });
        self.slots[slot.0 as usize] = Some(tid);
        self.max_slot = self.max_slot.max(slot.0);
        self.procs[proc].live_threads += 1;
        self.ready.push_back(tid);
        tracing::debug!(pid, slot = slot.0, proc = proc.0, "thread created");
        if self.trace_on {
            let first = self.procs[proc].live_threads == 1;
            let kind = if first { "proc_start" } else { "thread_start" };
            trace_rec!(
                self,
                tid,
                kind,
                self.pers_of(tid),
                slot = slot.0,
                entry = eip
            );
        }
        Some(tid)
    }

    fn free_slot(&self) -> Option<Slot> {
        (self.config.first_slot as usize..self.slots.len())
            .find(|&s| self.slots[s].is_none())
            .map(|s| Slot(s as u16))
    }

    /// The thread with this PID, if it is alive.
    #[inline]
    pub fn thread_by_pid(&self, pid: u32) -> Option<ThreadId> {
        // PIDs are handed out in thread-creation order from `first_slot` and never reused,
        // so a PID names its thread-table index directly.
        let t = pid.checked_sub(self.config.first_slot as u32)? as usize;
        let th = self.threads.get(t)?;
        (th.pid == pid && th.state != ThreadState::Ended).then_some(ThreadId(t))
    }

    /// Process name of a PID, also after the thread has ended.
    pub fn name_of_pid(&self, pid: u32) -> Option<&str> {
        let t = pid.checked_sub(self.config.first_slot as u32)? as usize;
        let th = self.threads.get(t)?;
        (th.pid == pid).then(|| self.procs[th.proc].name.as_str())
    }

    /// The thread in a slot.
    pub fn thread_in_slot(&self, slot: Slot) -> Option<ThreadId> {
        self.slots.get(slot.0 as usize).copied().flatten()
    }

    /// Highest slot number ever used (it never decreases).
    pub fn max_slot(&self) -> Slot {
        Slot(self.max_slot)
    }

    /// End a thread. Its process ends with its last thread (status `Normal(0)` unless set).
    pub fn exit_thread(&mut self, t: ThreadId) {
        let th = &mut self.threads[t];
        if th.state == ThreadState::Ended {
            return;
        }
        let was_ready = th.state == ThreadState::Ready;
        th.state = ThreadState::Ended;
        let traps = th.live.take().map_or(0, |l| l.traps);
        let (slot, proc) = (th.slot, th.proc);
        self.ended_traps += traps;
        self.slots[slot.0 as usize] = None;
        if was_ready {
            self.ready.retain(|&x| x != t);
        }
        if self.current == Some(t) {
            self.current = None;
        }
        self.exited.push(t);
        let p = &mut self.procs[proc];
        p.live_threads -= 1;
        if p.live_threads == 0 && p.exit.is_none() {
            p.exit = Some(ExitStatus::Normal(0));
        }
        if self.trace_on {
            trace_rec!(self, t, "thread_end", self.pers_of(t), slot = slot.0);
            if self.procs[proc].live_threads == 0 {
                let status = self.procs[proc]
                    .exit
                    .as_ref()
                    .map_or(String::new(), |s| s.to_string());
                trace_rec!(
                    self,
                    t,
                    "proc_end",
                    self.pers_of(t),
                    detail = status.as_str()
                );
            }
        }
        tracing::debug!(pid = self.threads[t].pid, slot = slot.0, "thread ended");
    }

    /// The threads of process `p` that have not ended, in creation order.
    pub fn threads_alive_in(&self, p: ProcId) -> impl Iterator<Item = ThreadId> + '_ {
        (0..self.threads.len()).map(ThreadId).filter(move |&t| {
            self.threads[t].proc == p && self.threads[t].state != ThreadState::Ended
        })
    }

    /// End a whole process with a status (fault, kill, exit of the process).
    pub fn exit_process(&mut self, p: ProcId, status: ExitStatus) {
        if self.procs[p].exit.is_none() {
            self.procs[p].exit = Some(status);
        }
        let ts: Vec<ThreadId> = self.threads_alive_in(p).collect();
        for t in ts {
            self.exit_thread(t);
        }
    }

    /// Threads that ended since the last call (the run loop tells the personalities).
    pub fn take_exited(&mut self) -> Vec<ThreadId> {
        std::mem::take(&mut self.exited)
    }

    /// Whether any thread ended since `take_exited` was last called.
    #[inline]
    pub fn has_exited(&self) -> bool {
        !self.exited.is_empty()
    }

    /// Whether a process has ended.
    pub fn proc_ended(&self, p: ProcId) -> bool {
        self.procs[p].exit.is_some()
    }

    /// The thread on the CPU.
    #[inline]
    pub fn current(&self) -> Option<ThreadId> {
        self.current
    }

    /// Display name `name[pid]` of a thread.
    pub fn thread_label(&self, t: ThreadId) -> String {
        let th = &self.threads[t];
        format!("{}[{}]", self.procs[th.proc].name, th.pid)
    }

    /// Memory of thread `t`'s process.
    #[inline]
    pub fn mem_of(&mut self, t: ThreadId) -> &mut M {
        let p = self.threads[t].proc;
        &mut self.procs[p].mem
    }

    // ----- time ---------------------------------------------------------------------------

    /// The clock in nanoseconds since the world started (virtual unless real-time).
    #[inline]
    pub fn now_ns(&self) -> u64 {
        if self.config.realtime {
            self.started.elapsed().as_nanos() as u64
        } else {
            self.virt_ns
        }
    }

    /// Charge one system call to the current thread. Returns `true` when the thread used up
    /// its quantum and another thread is ready (the caller should yield).
    #[inline]
    pub fn charge_trap(&mut self) -> bool {
        self.virt_ns += self.config.trap_ns;
        self.steps += 1;
        if let Some(t) = self.current {
            self.threads[t].live().traps += 1;
        }
        if self.budget > 0 {
            self.budget -= 1;
            return false;
        }
        self.budget = self.config.quantum_traps;
        self.others_runnable()
    }

    // ----- scheduling ---------------------------------------------------------------------

    /// Whether the run loop should get control: another thread could run now (ready, or a
    /// timer has expired), or the guest-time limit has passed.
    pub fn others_runnable(&self) -> bool {
        let now = self.now_ns();
        !self.ready.is_empty()
            || self.timers.peek().is_some_and(|r| r.0 .0 <= now)
            || self.delayed.peek().is_some_and(|r| r.0 .0 <= now)
            || self.time_limit.is_some_and(|l| now >= l)
    }

    /// Put the current thread to sleep on `blocker`. `deadline` is an absolute clock value.
    pub fn block_current(&mut self, blocker: Box<dyn Blocker>, deadline: Option<u64>) {
        let Some(t) = self.current.take() else { return };
        self.block(t, blocker, deadline);
    }

    fn block(&mut self, t: ThreadId, blocker: Box<dyn Blocker>, deadline: Option<u64>) {
        if self.trace_on && blocker.counts_for_deadlock() {
            let timeout = deadline.map_or(-1, |d| d.saturating_sub(self.now_ns()) as i64);
            trace_rec!(
                self,
                t,
                "wait",
                blocker.personality(),
                what = blocker.what(),
                timeout_ns = timeout
            );
        }
        let th = &mut self.threads[t];
        th.state = ThreadState::Waiting;
        let l = th.live();
        l.blocker = Some(blocker);
        l.deadline = deadline;
        if let Some(d) = deadline {
            self.timers.push(Reverse((d, t)));
        }
    }

    /// Move the current thread to the back of the ready queue.
    /// Take the current thread off the CPU and put it first in line (a debugger stopped it:
    /// the schedule goes on as if nothing happened).
    pub fn pause_current(&mut self) {
        if let Some(t) = self.current.take() {
            self.threads[t].state = ThreadState::Ready;
            self.ready.push_front(t);
        }
    }

    /// Give up the CPU (the thread goes to the back of the ready queue).
    pub fn yield_current(&mut self) {
        if let Some(t) = self.current.take() {
            self.threads[t].state = ThreadState::Ready;
            self.ready.push_back(t);
        }
    }

    /// Put the current thread to sleep on `w`, in the box of its last ended wait when that
    /// held a `B`: a thread that waits the same way again and again (a ping-pong waits twice
    /// per round trip) allocates nothing.
    pub fn block_current_on<B: Blocker>(&mut self, w: B, deadline: Option<u64>) {
        let Some(t) = self.current else { return };
        let b = match self.reuse_blocker::<B>(t) {
            Some(mut b) => {
                *b = w;
                b
            }
            None => Box::new(w),
        };
        self.block_current(b, deadline);
    }

    /// The box of thread `t`'s last ended wait, if it held a `B` (once; one kept per thread).
    pub(crate) fn reuse_blocker<B: Blocker>(&mut self, t: ThreadId) -> Option<Box<B>> {
        let spare: Box<dyn std::any::Any> = self
            .threads
            .get_mut(t.0)?
            .live
            .as_mut()?
            .spare_blocker
            .take()?;
        spare.downcast::<B>().ok()
    }

    /// The blocker of a waiting thread, if it is of type `B`.
    #[inline]
    pub fn blocker_of<B: 'static>(&self, t: ThreadId) -> Option<&B> {
        let th = &self.threads[t];
        if th.state != ThreadState::Waiting {
            return None;
        }
        th.blocker()?.as_any().downcast_ref::<B>()
    }

    /// Wake a waiting thread: it becomes ready and gets `wake` when it resumes.
    pub fn wake(&mut self, t: ThreadId, wake: Wake) {
        self.wake_inner(t, wake, true);
    }

    /// As [`Kernel::wake`], for a thread whose personality has just recorded why it wakes
    /// (KolibriOS: the `event_read` of the event that ends its wait), so no `wake` record is
    /// made: that record stands for it.
    pub fn wake_recorded(&mut self, t: ThreadId, wake: Wake) {
        self.wake_inner(t, wake, false);
    }

    fn wake_inner(&mut self, t: ThreadId, wake: Wake, record: bool) {
        let th = &mut self.threads[t];
        if th.state != ThreadState::Waiting {
            return;
        }
        th.state = ThreadState::Ready;
        let l = th.live();
        l.deadline = None;
        l.spare_blocker = l.blocker.take();
        let value = wake.trace_value();
        th.live().wake = Some(wake);
        self.ready.push_back(t);
        if self.trace_on && record {
            trace_rec!(self, t, "wake", self.pers_of(t), result = value);
        }
    }

    fn expire_timers(&mut self) {
        let now = self.now_ns();
        while let Some(&Reverse((d, t))) = self.timers.peek() {
            if d > now {
                break;
            }
            self.timers.pop();
            let th = &self.threads[t];
            if th.deadline() != Some(d) || th.state != ThreadState::Waiting {
                continue; // stale entry: the thread was woken another way
            }
            let w = th.blocker().map_or(Wake::Nothing, |b| b.on_timeout());
            self.wake(t, w);
        }
    }

    /// Choose the next thread to run.
    pub fn pick_next(&mut self) -> Pick {
        loop {
            if !self.timers.is_empty() {
                self.expire_timers();
            }
            if self.has_due_starts() {
                // The run loop starts the program and asks again.
                return Pick::Idle(self.now_ns());
            }
            if let Some(t) = self.ready.pop_front() {
                self.threads[t].state = ThreadState::Running;
                self.current = Some(t);
                self.budget = self.config.quantum_traps;
                return Pick::Run(t);
            }
            // Nothing ready: jump to the next deadline, or report why nothing can run.
            let next = loop {
                match self.timers.peek() {
                    None => break None,
                    Some(&Reverse((d, t))) => {
                        if self.threads[t].deadline() == Some(d) {
                            break Some(d);
                        }
                        self.timers.pop();
                    }
                }
            };
            // A program that starts later is a deadline too.
            let next = match (next, self.delayed.peek()) {
                (Some(d), Some(r)) => Some(d.min(r.0 .0)),
                (None, Some(r)) => Some(r.0 .0),
                (n, None) => n,
            };
            match next {
                Some(d) if self.time_limit.is_some_and(|l| d > l) => {
                    // Never jump past the run's time limit: the run ends there, with the
                    // sleepers still asleep.
                    let l = self.time_limit.map_or(d, |l| l);
                    if !self.config.realtime {
                        self.virt_ns = self.virt_ns.max(l);
                    }
                    return Pick::Idle(l);
                }
                Some(d) if self.config.realtime => return Pick::Idle(d),
                Some(d) => {
                    self.virt_ns = self.virt_ns.max(d);
                }
                None => {
                    let waiters: Vec<String> = (0..self.threads.len())
                        .map(ThreadId)
                        .filter(|&t| {
                            let th = &self.threads[t];
                            th.state == ThreadState::Waiting
                                && th.blocker().is_some_and(|b| b.counts_for_deadlock())
                        })
                        .map(|t| self.describe_wait(t))
                        .collect();
                    return if waiters.is_empty() {
                        Pick::Finished
                    } else {
                        Pick::Deadlock(waiters)
                    };
                }
            }
        }
    }

    // ----- programs that start later --------------------------------------------------------

    /// Note that the run loop starts a program (its `token`) when the clock reaches `at_ns`.
    /// Until then the program is in no slot and has no PID; when nothing else can run the
    /// clock jumps to its start as to a deadline.
    pub fn schedule_start(&mut self, at_ns: u64, token: u64) {
        self.delayed.push(Reverse((at_ns, token)));
    }

    /// Whether a program's start time has come.
    #[inline]
    pub fn has_due_starts(&self) -> bool {
        self.delayed.peek().is_some_and(|r| r.0 .0 <= self.now_ns())
    }

    /// The tokens of the programs whose start time has come, earliest first (equal times in
    /// the order they were scheduled).
    pub fn take_due_starts(&mut self) -> Vec<u64> {
        let mut v = Vec::new();
        while self.has_due_starts() {
            if let Some(Reverse((_, token))) = self.delayed.pop() {
                v.push(token);
            }
        }
        v
    }

    /// Programs scheduled with [`Kernel::schedule_start`] that have not started yet.
    pub fn pending_starts(&self) -> usize {
        self.delayed.len()
    }

    /// A line saying what a waiting thread waits for.
    pub fn describe_wait(&self, t: ThreadId) -> String {
        let th = &self.threads[t];
        let what = match (&th.state, th.blocker()) {
            (ThreadState::Waiting, Some(b)) => b.describe(),
            (s, _) => format!("{s:?}"),
        };
        format!("{} slot {}: {}", self.thread_label(t), th.slot, what)
    }

    /// Park thread `t` (the host actor's, which never runs on a CPU) until `deadline` (ns),
    /// or for ever.
    pub fn park(&mut self, t: ThreadId, blocker: Box<dyn Blocker>, deadline: Option<u64>) {
        if self.threads[t].state == ThreadState::Ready {
            self.ready.retain(|&x| x != t);
        }
        if self.current == Some(t) {
            self.current = None;
        }
        self.block(t, blocker, deadline);
    }

    /// Number of threads not ended.
    pub fn live_threads(&self) -> usize {
        self.threads
            .iter()
            .filter(|t| t.state != ThreadState::Ended)
            .count()
    }

    // ----- output ---------------------------------------------------------------------------

    /// Guest output of thread `t` for the host's stdout (or stderr). Buffered up to
    /// [`OUTPUT_BUFFER`] bytes, then handed to the output sink, if one is set; captured output
    /// (`Config::capture_output`) is kept up to `Config::max_output` bytes per process.
    pub fn output(&mut self, t: ThreadId, data: &[u8], stderr: bool) {
        if self.config.capture_output {
            let p = self.threads[t].proc;
            let kept = &mut self.procs[p].output;
            let n = data
                .len()
                .min(self.config.max_output.saturating_sub(kept.len()));
            kept.extend_from_slice(&data[..n]);
            if n < data.len() {
                if self.output_dropped.len() <= p.0 {
                    self.output_dropped.resize(p.0 + 1, 0);
                }
                let d = &mut self.output_dropped[p.0];
                *d = d.saturating_add((data.len() - n) as u64);
            }
        }
        let buf = if stderr {
            &mut self.stderr
        } else {
            &mut self.stdout
        };
        match self.output_sink.as_mut() {
            Some(sink) if buf.len() + data.len() > OUTPUT_BUFFER => {
                if !buf.is_empty() {
                    sink(buf, stderr);
                    buf.clear();
                }
                if data.len() >= OUTPUT_BUFFER {
                    sink(data, stderr);
                } else {
                    buf.extend_from_slice(data);
                }
            }
            _ => buf.extend_from_slice(data),
        }
    }

    /// Where output goes once a buffer is full (the machine's stdout and stderr writers).
    /// Without a sink the buffers grow until the caller drains `stdout` and `stderr`.
    pub fn set_output_sink(&mut self, sink: OutputSink) {
        self.output_sink = Some(sink);
    }

    /// Bytes of process `p`'s captured output that were dropped over `Config::max_output`.
    pub fn output_dropped(&self, p: ProcId) -> u64 {
        self.output_dropped.get(p.0).copied().unwrap_or(0)
    }

    // ----- programs started by programs ----------------------------------------------------

    /// Queue a request to start `program` (see [`SpawnRequest`]). Returns its number.
    pub fn request_spawn(
        &mut self,
        parent: ThreadId,
        personality: &'static str,
        program: String,
        params: Option<String>,
        context: Box<dyn std::any::Any>,
    ) -> u64 {
        self.next_spawn += 1;
        let id = self.next_spawn;
        self.spawn_requests.push(SpawnRequest {
            id,
            parent,
            personality,
            program,
            params,
            context,
            resolved: false,
        });
        id
    }

    /// Like [`Kernel::request_spawn`] for a program the personality found itself: `host_path`
    /// is loaded as it is (the personality's file system already kept it inside its root).
    pub fn request_spawn_path(
        &mut self,
        parent: ThreadId,
        personality: &'static str,
        host_path: String,
        params: Option<String>,
        context: Box<dyn std::any::Any>,
    ) -> u64 {
        let id = self.request_spawn(parent, personality, host_path, params, context);
        if let Some(r) = self.spawn_requests.last_mut() {
            r.resolved = true;
        }
        id
    }

    /// Whether a hook delayed a message of thread `t`'s current call (the personality should
    /// then leave the call without results; the run loop rewinds it).
    pub fn delay_pending(&self, t: ThreadId) -> bool {
        self.pending_delay.is_some_and(|(x, _)| x == t)
    }

    /// The delay a hook put on a message of thread `t`'s current call, if any (the run loop
    /// then rewinds the call and holds the thread with [`Kernel::hold_current`]).
    #[inline]
    pub fn take_pending_delay(&mut self, t: ThreadId) -> Option<u64> {
        match self.pending_delay {
            Some((x, ns)) if x == t => {
                self.pending_delay = None;
                Some(ns)
            }
            _ => None,
        }
    }

    /// Hold the current thread for `ns` of guest time, after which it makes its call again (its
    /// next message passes a `Delay` verdict).
    pub fn hold_current(&mut self, ns: u64) {
        let Some(t) = self.current else { return };
        if !self.delay_exempt.contains(&t) {
            self.delay_exempt.push(t);
        }
        let deadline = self.now_ns().saturating_add(ns.max(1));
        let personality = self.pers_of(t);
        self.block_current(
            Box::new(Sleep {
                personality,
                text: "holds a message a hook delayed",
            }),
            Some(deadline),
        );
    }

    /// Take the queued spawn requests (the run loop serves them in order).
    pub fn take_spawn_requests(&mut self) -> Vec<SpawnRequest> {
        std::mem::take(&mut self.spawn_requests)
    }

    /// Whether any spawn request waits.
    #[inline]
    pub fn has_spawn_requests(&self) -> bool {
        !self.spawn_requests.is_empty()
    }

    // ----- the message path -----------------------------------------------------------------

    /// Add a hook to the message chain (hooks run in the order added).
    pub fn add_hook(&mut self, hook: Box<dyn MessageHook>) {
        self.hooks.push(hook);
    }

    /// Whether any hook is installed.
    pub fn has_hooks(&self) -> bool {
        !self.hooks.is_empty()
    }

    /// Send `msg` through the one message path: it gets its sequence number, every hook may
    /// allow, deny, drop or rewrite it, and the outcome is recorded. The personality delivers
    /// the message (as the hooks left it) only on [`Verdict::Allow`].
    #[inline]
    pub fn transmit(&mut self, msg: &mut Message) -> Verdict {
        self.msg_seq += 1;
        msg.seq = self.msg_seq;
        if self.hooks.is_empty() && self.delay_exempt.is_empty() {
            // The common case: nothing to ask; only the record.
            if self.trace_on {
                self.trace_message(msg, &Verdict::Allow, "");
            }
            return Verdict::Allow;
        }
        self.msg_seq -= 1;
        self.transmit_inner(msg, true)
    }

    /// [`Kernel::transmit`] for a message that cannot be held (an answer given while a
    /// personality runs guest code for it): a `Delay` verdict counts as `Allow`.
    pub fn transmit_now(&mut self, msg: &mut Message) -> Verdict {
        self.transmit_inner(msg, false)
    }

    fn transmit_inner(&mut self, msg: &mut Message, holdable: bool) -> Verdict {
        self.msg_seq += 1;
        msg.seq = self.msg_seq;
        let mut verdict = Verdict::Allow;
        let mut decided_by = String::new();
        // A call held once is not held again; the host actor (no CPU) is never held.
        let exempt = match msg.from.thread {
            Some(t) => {
                let once = match self.delay_exempt.iter().position(|&x| x == t) {
                    Some(i) => {
                        self.delay_exempt.swap_remove(i);
                        true
                    }
                    None => false,
                };
                once || self.procs[self.threads[t].proc].abi == "host"
            }
            None => true,
        };
        let holdable = holdable && !exempt;
        if !self.hooks.is_empty() {
            let mut hooks = std::mem::take(&mut self.hooks);
            let from_name = msg.from.proc.map_or("", |p| self.procs[p].name.as_str());
            let to_name = msg.to.proc.map_or("", |p| self.procs[p].name.as_str());
            let ctx = HookCtx {
                now_ns: self.now_ns(),
                from_name,
                to_name,
            };
            for h in hooks.iter_mut() {
                let v = h.inspect(&ctx, msg);
                match v {
                    Verdict::Allow => {}
                    Verdict::Delay(_) if !holdable => {}
                    v => {
                        verdict = v;
                        decided_by = h.name().to_string();
                        break;
                    }
                }
            }
            self.hooks = hooks;
        }
        if let (Verdict::Delay(ns), Some(t)) = (&verdict, msg.from.thread) {
            self.pending_delay = Some((t, *ns));
        }
        if self.trace_on {
            self.trace_message(msg, &verdict, &decided_by);
        }
        verdict
    }
}

/// The stem of a file name: no directory, no extension.
pub fn file_stem(file: &str) -> &str {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    match base.rfind('.') {
        Some(i) if i > 0 => &base[..i],
        _ => base,
    }
}

/// Round `v` up to a multiple of `a` (a power of two).
pub fn align_up(v: u64, a: u64) -> u64 {
    (v + a - 1) & !(a - 1)
}

#[cfg(test)]
mod tests;
