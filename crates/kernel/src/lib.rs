//! # ipcemu-kernel
//!
//! The host-side IPC kernel of ipcemu: processes and threads with PIDs and slots, KolibriOS
//! IPC areas and function-60 delivery, event flags and masks, wait queues, the virtual clock
//! and every scheduling decision. It contains no Unicorn: it reaches guest memory only through
//! [`GuestMemory`], so everything here is unit-testable with [`VecMemory`].
//!
//! The run loop (crate `ipcemu-machine`) asks [`Kernel::pick_next`] which thread runs next and
//! calls the personalities, which call the kernel operations below.

#![warn(missing_docs)]

pub mod abi;
mod heap;
mod ipc;
pub mod mem;
pub mod pcipc;
pub mod trace;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

pub use abi::{Cpu, Outcome, Reg, RegFile};
pub use heap::Heap;
pub use ipc::{SendError, SendResult};
pub use mem::{GuestMemory, MemFault, VecMemory};
pub use pcipc::{PcIpc, PcIpcConfig, PcOutcome, PcWait};

/// Index of a process in the kernel's process table (never reused in one world).
pub type ProcId = usize;
/// Index of a thread in the kernel's thread table (never reused in one world).
pub type ThreadId = usize;

/// Highest slot number of KolibriOS (255 task slots); `Config::max_slots` may raise it for
/// scale tests.
pub const MAX_SLOTS: u16 = 255;
/// PID of the idle pseudo-thread in slot 1.
pub const IDLE_PID: u32 = 1;
/// Event code of IPC messages.
pub const EVENT_IPC: u32 = 7;
/// Default event mask of a new thread (redraw, key, button).
pub const DEFAULT_EVENT_MASK: u32 = 7;
/// Nanoseconds in one KolibriOS tick (1/100 s).
pub const TICK_NS: u64 = 10_000_000;

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    /// Its last thread ended (KolibriOS -1, Linux exit); the code is 0 for KolibriOS.
    Normal(i32),
    /// A guest fault or a refused operation ended it; the text is the report.
    Fault(String),
    /// Another thread killed it (18.2/18.18), or the host did.
    Killed,
}

/// Which guest ABI a process speaks natively (for names in reports and traces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// A MENUET00/01/02 executable.
    Kolibri,
    /// An ELF32 static executable (Linux `int 0x80` subset plus KolibriOS `int 0x40`).
    Elf,
    /// A DOS `.COM` program in real mode (INT 20h/21h).
    Dos,
    /// The host actor of a scenario: a process with memory but no CPU.
    Host,
}

/// A guest process.
#[derive(Debug)]
pub struct Process<M> {
    /// Name as function 9 reports it (file name without directory and extension, ≤ 11 bytes).
    pub name: String,
    /// Guest memory.
    pub mem: M,
    /// Size of the main image memory (function 9 reports `mem_size - 1`).
    pub mem_size: u32,
    /// Native ABI.
    pub flavor: Flavor,
    /// Threads not yet ended.
    pub live_threads: u32,
    /// Set once the process has ended.
    pub exit: Option<ExitStatus>,
    /// The user heap (functions 68.11/12/13).
    pub heap: Heap,
    /// Everything the process wrote to stdout/stderr (debug board, fd 1/2), when
    /// `Config::capture_output` is set.
    pub output: Vec<u8>,
}

/// Why a thread waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Functions 10 and 23: woken by an event its mask allows (or the deadline, giving 0).
    Event,
    /// Function 5: woken by the deadline.
    Sleep,
    /// PC-IPC read-wait: woken by a message for its ID.
    PcIpc,
    /// The host actor's thread: never runs on a CPU; woken only by its own timer.
    Host,
}

/// Scheduling state of a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadState {
    /// In the ready queue.
    Ready,
    /// On the CPU.
    Running,
    /// Waiting in the kernel.
    Waiting(Wait),
    /// Gone; its slot is free and its PID unknown.
    Ended,
}

/// A guest thread (KolibriOS: one slot, one PID/TID).
#[derive(Debug, Clone)]
pub struct Thread {
    /// PID/TID (never reused).
    pub pid: u32,
    /// Task slot (reused lowest-free first once the thread ends).
    pub slot: u16,
    /// Owning process.
    pub proc: ProcId,
    /// IPC area address (0 = none).
    pub ipc_area: u32,
    /// IPC area size.
    pub ipc_size: u32,
    /// Event mask (function 40).
    pub event_mask: u32,
    /// Occurred events not yet read: bit `n-1` is event `n`.
    pub events: u32,
    /// The window redraw flag (event 1), set at start, cleared by function 0.
    pub redraw: bool,
    /// Scheduling state.
    pub state: ThreadState,
    /// For a thread that has never run: (eip, esp) to start it at.
    pub start: Option<(u32, u32)>,
    /// Value for eax when a blocked thread resumes.
    pub wake_value: Option<u32>,
    /// Virtual-time deadline of the current wait, if any.
    pub deadline: Option<u64>,
    /// System calls made by this thread.
    pub traps: u64,
    /// A blocked PC-IPC read-wait.
    pub pc_wait: Option<PcWait>,
    /// Trace only: messages delivered since the thread last read event 7.
    pub unread: Vec<u64>,
}

/// What the run loop should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// Run this thread.
    Run(ThreadId),
    /// Real-time mode: nothing is ready; sleep until this clock value (ns) and ask again.
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
    /// Size of the user heap region mapped by function 68.11.
    pub heap_size: u32,
    /// Unread debug-board bytes kept for function 63.2.
    pub board_capacity: usize,
    /// PC-IPC tunables.
    pub pcipc: PcIpcConfig,
    /// Highest task slot (KolibriOS: 255). More slots allow worlds of more threads.
    pub max_slots: u16,
    /// Keep each process's output in `Process::output` as well.
    pub capture_output: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            trap_ns: 1_000,
            quantum_traps: 1_000,
            realtime: false,
            heap_size: 64 << 20,
            board_capacity: 4096,
            pcipc: PcIpcConfig::default(),
            max_slots: MAX_SLOTS,
            capture_output: false,
        }
    }
}

/// The kernel: all processes and threads of one world.
#[derive(Debug)]
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
    board: VecDeque<u8>,
    /// Bytes for the host's stdout (debug board, Linux fd 1), drained by the run loop.
    pub stdout: Vec<u8>,
    /// Bytes for the host's stderr (Linux fd 2), drained by the run loop.
    pub stderr: Vec<u8>,
    scratch: Vec<u8>,
    /// PC-IPC state (one TSR per world).
    pub pcipc: PcIpc,
    /// System calls handled in this world (the `step` of trace records).
    pub steps: u64,
    /// Whether a trace subscriber listens (decided at creation).
    pub trace_on: bool,
    /// Sequence number of the last message sent (trace flow ids).
    pub msg_seq: u64,
    /// Guest-time limit of the run (ns): a thread that never blocks is stopped at its next
    /// quantum once the clock passes it, so the run loop can end the run.
    pub time_limit: Option<u64>,
}

impl<M: GuestMemory> Kernel<M> {
    /// An empty world.
    pub fn new(config: Config) -> Self {
        let slots = vec![None; config.max_slots.max(2) as usize + 1];
        Kernel {
            procs: Vec::new(),
            threads: Vec::new(),
            slots,
            max_slot: 1,
            next_pid: IDLE_PID + 1,
            ready: VecDeque::new(),
            current: None,
            timers: BinaryHeap::new(),
            virt_ns: 0,
            started: Instant::now(),
            budget: 0,
            board: VecDeque::new(),
            stdout: Vec::new(),
            stderr: Vec::new(),
            scratch: Vec::new(),
            pcipc: PcIpc::new(config.pcipc.clone()),
            steps: 0,
            trace_on: trace::listening(),
            msg_seq: 0,
            time_limit: None,
            config,
        }
    }

    // ----- processes and threads -------------------------------------------------------

    /// Create a process with one thread that starts at (eip, esp). Returns (process, thread),
    /// or `None` when no slot is free.
    pub fn spawn_process(
        &mut self,
        name: &str,
        mem: M,
        mem_size: u32,
        flavor: Flavor,
        entry: (u32, u32),
    ) -> Option<(ProcId, ThreadId)> {
        self.free_slot()?;
        let heap_base = align_up(mem_size as u64 + 0x1000, 0x10000) as u32;
        let pid = self.procs.len();
        self.procs.push(Process {
            name: kolibri_name(name),
            mem,
            mem_size,
            flavor,
            live_threads: 0,
            exit: None,
            heap: Heap::new(heap_base, self.config.heap_size),
            output: Vec::new(),
        });
        let tid = self.spawn_thread(pid, entry.0, entry.1)?;
        Some((pid, tid))
    }

    /// Create a thread in `proc` (function 51.1). `None` when no slot is free.
    pub fn spawn_thread(&mut self, proc: ProcId, eip: u32, esp: u32) -> Option<ThreadId> {
        let slot = self.free_slot()?;
        let tid = self.threads.len();
        let pid = self.next_pid;
        self.next_pid += 1;
        self.threads.push(Thread {
            pid,
            slot,
            proc,
            ipc_area: 0,
            ipc_size: 0,
            event_mask: DEFAULT_EVENT_MASK,
            events: 0,
            redraw: true,
            state: ThreadState::Ready,
            start: Some((eip, esp)),
            wake_value: None,
            deadline: None,
            traps: 0,
            pc_wait: None,
            unread: Vec::new(),
        });
        self.slots[slot as usize] = Some(tid);
        self.max_slot = self.max_slot.max(slot);
        self.procs[proc].live_threads += 1;
        self.ready.push_back(tid);
        tracing::debug!(pid, slot, proc, "thread created");
        if self.trace_on {
            let first = self.procs[proc].live_threads == 1;
            let kind = if first { "proc_start" } else { "thread_start" };
            trace_rec!(self, tid, kind, self.pers_of(tid), slot = slot, entry = eip);
        }
        Some(tid)
    }

    fn free_slot(&self) -> Option<u16> {
        (2..self.slots.len() as u16).find(|&s| self.slots[s as usize].is_none())
    }

    /// The thread with this PID, if it is alive (the idle pseudo-thread is not a thread).
    pub fn thread_by_pid(&self, pid: u32) -> Option<ThreadId> {
        // PIDs are handed out in thread-creation order from IDLE_PID + 1 and never reused, so
        // a PID names its thread-table index directly.
        let t = pid.checked_sub(IDLE_PID + 1)? as usize;
        let th = self.threads.get(t)?;
        (th.pid == pid && th.state != ThreadState::Ended).then_some(t)
    }

    /// Process name of a PID, also after the thread has ended.
    pub fn name_of_pid(&self, pid: u32) -> Option<&str> {
        let t = pid.checked_sub(IDLE_PID + 1)? as usize;
        let th = self.threads.get(t)?;
        (th.pid == pid).then(|| self.procs[th.proc].name.as_str())
    }

    /// Slot for a PID (function 18.21): 0 when there is none.
    pub fn slot_of_pid(&self, pid: u32) -> u32 {
        if pid == IDLE_PID {
            return 1;
        }
        self.thread_by_pid(pid)
            .map_or(0, |t| self.threads[t].slot as u32)
    }

    /// The thread in a slot.
    pub fn thread_in_slot(&self, slot: u32) -> Option<ThreadId> {
        self.slots.get(slot as usize).copied().flatten()
    }

    /// Highest slot number ever used (function 9's eax; it never decreases).
    pub fn max_slot(&self) -> u16 {
        self.max_slot
    }

    /// End a thread. Its process ends with its last thread (status `Normal(0)` unless set).
    pub fn exit_thread(&mut self, t: ThreadId) {
        let th = &mut self.threads[t];
        if th.state == ThreadState::Ended {
            return;
        }
        let was_ready = th.state == ThreadState::Ready;
        th.state = ThreadState::Ended;
        th.deadline = None;
        th.ipc_area = 0;
        let (slot, proc) = (th.slot, th.proc);
        self.slots[slot as usize] = None;
        if was_ready {
            self.ready.retain(|&x| x != t);
        }
        if self.current == Some(t) {
            self.current = None;
        }
        let p = &mut self.procs[proc];
        p.live_threads -= 1;
        if p.live_threads == 0 && p.exit.is_none() {
            p.exit = Some(ExitStatus::Normal(0));
        }
        if self.trace_on {
            trace_rec!(self, t, "thread_end", self.pers_of(t), slot = slot);
            if self.procs[proc].live_threads == 0 {
                let status = match &self.procs[proc].exit {
                    Some(ExitStatus::Normal(c)) => format!("exit {c}"),
                    Some(ExitStatus::Killed) => "killed".to_string(),
                    Some(ExitStatus::Fault(f)) => {
                        format!("fault: {}", f.lines().next().unwrap_or(""))
                    }
                    None => String::new(),
                };
                trace_rec!(
                    self,
                    t,
                    "proc_end",
                    self.pers_of(t),
                    detail = status.as_str()
                );
            }
        }
        tracing::debug!(pid = self.threads[t].pid, slot, "thread ended");
    }

    /// End a whole process with a status (fault, kill, Linux exit_group).
    pub fn exit_process(&mut self, p: ProcId, status: ExitStatus) {
        if self.procs[p].exit.is_none() {
            self.procs[p].exit = Some(status);
        }
        let ts: Vec<ThreadId> = (0..self.threads.len())
            .filter(|&t| self.threads[t].proc == p && self.threads[t].state != ThreadState::Ended)
            .collect();
        for t in ts {
            self.exit_thread(t);
        }
    }

    /// Whether a process has ended.
    pub fn proc_ended(&self, p: ProcId) -> bool {
        self.procs[p].exit.is_some()
    }

    /// The thread on the CPU.
    pub fn current(&self) -> Option<ThreadId> {
        self.current
    }

    /// Display name `name[pid]` of a thread.
    pub fn thread_label(&self, t: ThreadId) -> String {
        let th = &self.threads[t];
        format!("{}[{}]", self.procs[th.proc].name, th.pid)
    }

    // ----- time ---------------------------------------------------------------------------

    /// The clock in nanoseconds since the world started (virtual unless real-time).
    pub fn now_ns(&self) -> u64 {
        if self.config.realtime {
            self.started.elapsed().as_nanos() as u64
        } else {
            self.virt_ns
        }
    }

    /// Uptime in KolibriOS ticks (1/100 s), function 26.9.
    pub fn ticks(&self) -> u32 {
        (self.now_ns() / TICK_NS) as u32
    }

    /// Charge one system call to the current thread. Returns `true` when the thread used up
    /// its quantum and another thread is ready (the caller should yield).
    #[inline]
    pub fn charge_trap(&mut self) -> bool {
        self.virt_ns += self.config.trap_ns;
        self.steps += 1;
        if let Some(t) = self.current {
            self.threads[t].traps += 1;
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
            || self.time_limit.is_some_and(|l| now >= l)
    }

    /// Put the current thread to sleep. `deadline` is an absolute clock value in ns.
    pub fn block_current(&mut self, wait: Wait, deadline: Option<u64>) {
        let Some(t) = self.current.take() else { return };
        let th = &mut self.threads[t];
        th.state = ThreadState::Waiting(wait);
        th.deadline = deadline;
        if let Some(d) = deadline {
            self.timers.push(Reverse((d, t)));
        }
        if self.trace_on {
            let what = match wait {
                Wait::Event => "event",
                Wait::Sleep => "sleep",
                Wait::PcIpc => "pcipc_read",
                Wait::Host => "host",
            };
            let pers = if wait == Wait::PcIpc {
                "pcipc"
            } else {
                self.pers_of(t)
            };
            let timeout = deadline.map_or(-1, |d| d.saturating_sub(self.now_ns()) as i64);
            trace_rec!(self, t, "wait", pers, what = what, timeout_ns = timeout);
        }
    }

    /// Move the current thread to the back of the ready queue.
    pub fn yield_current(&mut self) {
        if let Some(t) = self.current.take() {
            self.threads[t].state = ThreadState::Ready;
            self.ready.push_back(t);
        }
    }

    pub(crate) fn wake(&mut self, t: ThreadId, value: Option<u32>) {
        let th = &mut self.threads[t];
        th.state = ThreadState::Ready;
        th.wake_value = value;
        th.deadline = None;
        self.ready.push_back(t);
        if self.trace_on {
            trace_rec!(
                self,
                t,
                "wake",
                self.pers_of(t),
                result = value.map_or(-1, |v| v as i64)
            );
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
            if th.deadline != Some(d) {
                continue; // stale entry: the thread was woken another way
            }
            match th.state {
                ThreadState::Waiting(Wait::Event) => self.wake(t, Some(0)),
                ThreadState::Waiting(Wait::Sleep | Wait::Host) => self.wake(t, None),
                _ => {}
            }
        }
    }

    /// Choose the next thread to run. The current thread, if still running, is put back
    /// in the ready queue first only when `preempt` is set.
    pub fn pick_next(&mut self) -> Pick {
        loop {
            if !self.timers.is_empty() {
                self.expire_timers();
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
                        if self.threads[t].deadline == Some(d) {
                            break Some(d);
                        }
                        self.timers.pop();
                    }
                }
            };
            match next {
                Some(d) if self.config.realtime => return Pick::Idle(d),
                Some(d) => {
                    self.virt_ns = self.virt_ns.max(d);
                }
                None => {
                    let waiters: Vec<String> = (0..self.threads.len())
                        .filter(|&t| {
                            matches!(self.threads[t].state, ThreadState::Waiting(w) if w != Wait::Host)
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

    /// A line saying what a waiting thread waits for.
    pub fn describe_wait(&self, t: ThreadId) -> String {
        let th = &self.threads[t];
        let what = match th.state {
            ThreadState::Waiting(Wait::Event) => format!(
                "waits for an event (function 10/23) with mask {:#x}, IPC area {}",
                th.event_mask,
                if th.ipc_area == 0 {
                    "not set".to_string()
                } else {
                    format!("{:#x} size {}", th.ipc_area, th.ipc_size)
                }
            ),
            ThreadState::Waiting(Wait::Sleep) => "sleeps (function 5)".to_string(),
            ThreadState::Waiting(Wait::PcIpc) => format!(
                "waits in PC-IPC read-wait (0Ah) for a message to ID {}",
                th.pc_wait.map_or(0, |w| w.id)
            ),
            s => format!("{s:?}"),
        };
        format!("{} slot {}: {}", self.thread_label(t), th.slot, what)
    }

    /// Put thread `t` (the host actor's) to sleep until `deadline` (ns), or for ever.
    pub fn park_host(&mut self, t: ThreadId, deadline: Option<u64>) {
        let th = &mut self.threads[t];
        if th.state == ThreadState::Ready {
            self.ready.retain(|&x| x != t);
        }
        if self.current == Some(t) {
            self.current = None;
        }
        let th = &mut self.threads[t];
        th.state = ThreadState::Waiting(Wait::Host);
        th.deadline = deadline;
        if let Some(d) = deadline {
            self.timers.push(Reverse((d, t)));
        }
    }

    /// Number of threads not ended.
    pub fn live_threads(&self) -> usize {
        self.threads
            .iter()
            .filter(|t| t.state != ThreadState::Ended)
            .count()
    }

    // ----- events -------------------------------------------------------------------------

    /// Function 40: set the mask, return the previous one.
    pub fn set_event_mask(&mut self, t: ThreadId, mask: u32) -> u32 {
        std::mem::replace(&mut self.threads[t].event_mask, mask)
    }

    /// The next event the thread's mask allows, consuming it (0 = none).
    ///
    /// Highest code first; event 1 (redraw) is a flag that stays until function 0;
    /// events 5..=10 reset when read; 2 and 3 never happen headless; 4 and 11.. are ignored.
    pub fn take_event(&mut self, t: ThreadId) -> u32 {
        let ev = self.take_event_raw(t);
        if self.trace_on && ev != 0 {
            let msgs = if ev == EVENT_IPC {
                let v = std::mem::take(&mut self.threads[t].unread);
                v.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
            } else {
                String::new()
            };
            trace_rec!(
                self,
                t,
                "event_read",
                self.pers_of(t),
                code = ev,
                msgs = msgs.as_str()
            );
        }
        ev
    }

    fn take_event_raw(&mut self, t: ThreadId) -> u32 {
        let th = &mut self.threads[t];
        let mut mask = th.event_mask & 0x3ff & !(1 << 3);
        while mask != 0 {
            let bit = 31 - mask.leading_zeros();
            mask &= !(1 << bit);
            match bit {
                0 => {
                    if th.redraw {
                        return 1;
                    }
                }
                1 | 2 => {} // key, button: no input devices
                _ => {
                    if th.events & (1 << bit) != 0 {
                        th.events &= !(1 << bit);
                        return bit + 1;
                    }
                }
            }
        }
        0
    }

    /// Raise event `code` (1..=32) for a thread and wake it if it waits for it.
    pub fn raise_event(&mut self, t: ThreadId, code: u32) {
        let th = &mut self.threads[t];
        th.events |= 1 << (code - 1);
        if self.trace_on {
            // Recorded when the event stays pending (masked, or the thread is not waiting);
            // an event that wakes a waiting thread shows as its `event_read` right away.
            let masked = self.threads[t].event_mask & (1 << (code - 1)) == 0;
            if masked || self.threads[t].state != ThreadState::Waiting(Wait::Event) {
                trace_rec!(
                    self,
                    t,
                    "event",
                    self.pers_of(t),
                    code = code,
                    masked = masked
                );
            }
        }
        let th = &self.threads[t];
        if th.state == ThreadState::Waiting(Wait::Event) {
            let ev = self.take_event(t);
            if ev != 0 {
                self.wake(t, Some(ev));
            }
        }
    }

    /// Function 0 (define window): clears the redraw flag.
    pub fn clear_redraw(&mut self, t: ThreadId) {
        self.threads[t].redraw = false;
    }

    /// Functions 10/11/23. `timeout` in ticks: `None` waits forever, `Some(0)` polls.
    /// Returns `Some(event)` at once or `None` when the thread now waits.
    pub fn wait_event(&mut self, t: ThreadId, timeout: Option<u32>) -> Option<u32> {
        let ev = self.take_event(t);
        if ev != 0 || timeout == Some(0) {
            return Some(ev);
        }
        let deadline = timeout.map(|ticks| self.now_ns() + ticks as u64 * TICK_NS);
        self.block_current(Wait::Event, deadline);
        None
    }

    /// Function 5: sleep `ticks` hundredths of a second (0 returns at once).
    pub fn sleep(&mut self, ticks: u32) -> bool {
        if ticks == 0 {
            return false;
        }
        let d = self.now_ns() + ticks as u64 * TICK_NS;
        self.block_current(Wait::Sleep, Some(d));
        true
    }

    // ----- debug board --------------------------------------------------------------------

    /// Guest output of thread `t` for the host's stdout (or stderr).
    pub fn output(&mut self, t: ThreadId, data: &[u8], stderr: bool) {
        if stderr {
            self.stderr.extend_from_slice(data);
        } else {
            self.stdout.extend_from_slice(data);
        }
        if self.config.capture_output {
            let p = self.threads[t].proc;
            self.procs[p].output.extend_from_slice(data);
        }
    }

    /// Function 63.1: one byte to the board (and the host's stdout).
    pub fn board_write(&mut self, t: ThreadId, b: u8) {
        self.output(t, &[b], false);
        if self.board.len() >= self.config.board_capacity {
            self.board.pop_front();
        }
        self.board.push_back(b);
    }

    /// Function 63.2: the oldest unread board byte.
    pub fn board_read(&mut self) -> Option<u8> {
        self.board.pop_front()
    }

    // ----- thread information -------------------------------------------------------------

    /// Function 9: write thread information for `slot` (-1 = the caller's) into the caller's
    /// memory at `buf`. Returns the highest slot number.
    pub fn thread_info(&mut self, caller: ThreadId, slot: u32, buf: u32) -> Result<u32, MemFault> {
        let slot = if slot == u32::MAX {
            self.threads[caller].slot as u32
        } else {
            slot
        };
        let proc = self.threads[caller].proc;
        let mut rec = [0u8; 71];
        let state: u16;
        if slot == 1 {
            rec[10..14].copy_from_slice(b"IDLE");
            rec[30..34].copy_from_slice(&IDLE_PID.to_le_bytes());
            state = 0;
        } else if let Some(t) = self.thread_in_slot(slot) {
            let th = &self.threads[t];
            let p = &self.procs[th.proc];
            let n = p.name.as_bytes();
            rec[10..10 + n.len()].copy_from_slice(n);
            rec[26..30].copy_from_slice(&p.mem_size.wrapping_sub(1).to_le_bytes());
            rec[30..34].copy_from_slice(&th.pid.to_le_bytes());
            state = match th.state {
                ThreadState::Waiting(_) => 5,
                _ => 0,
            };
        } else {
            return self.procs[proc]
                .mem
                .write_u16(buf.wrapping_add(50), 9)
                .map(|_| self.max_slot as u32);
        }
        rec[4..6].copy_from_slice(&(slot as u16).to_le_bytes());
        rec[6..8].copy_from_slice(&(slot as u16).to_le_bytes());
        rec[50..52].copy_from_slice(&state.to_le_bytes());
        self.procs[proc].mem.write(buf, &rec)?;
        Ok(self.max_slot as u32)
    }
}

/// KolibriOS process name for a file name: no directory, no extension, at most 11 bytes.
pub fn kolibri_name(file: &str) -> String {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let stem = match base.rfind('.') {
        Some(i) if i > 0 => &base[..i],
        _ => base,
    };
    let mut end = stem.len().min(11);
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    stem[..end].to_string()
}

/// Round `v` up to a multiple of `a` (a power of two).
pub fn align_up(v: u64, a: u64) -> u64 {
    (v + a - 1) & !(a - 1)
}

#[cfg(test)]
mod tests;
