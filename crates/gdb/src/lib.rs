//! # ipcemu-gdb
//!
//! A GDB remote stub for one guest process of a world, built on the `gdbstub` crate
//! (`ipcemu run --gdb N=PORT`). Every live thread of the guest is a GDB thread (its id is the
//! thread's PID, the KolibriOS TID): registers (general, eip, eflags, segments) per thread,
//! memory read and write, software breakpoints (Unicorn code hooks on the address: guest memory
//! is not patched), watchpoints, single step of one thread, continue, Ctrl-C, detach and kill.
//! A stop names the thread that caused it, so GDB switches to it.
//!
//! While GDB has the guest stopped, the whole world is stopped: nothing runs and the virtual
//! clock does not move, so a debugging session sees the schedule of a plain run. When GDB
//! continues, the world runs (every guest) until a thread of the debugged guest hits a
//! breakpoint or watchpoint, finishes a step, or the guest ends. See `docs/debugging.md`.

#![warn(missing_docs)]

use gdbstub::common::Signal;
use gdbstub::common::Tid;
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
use gdbstub::stub::{DisconnectReason, GdbStub, MultiThreadStopReason};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint, SwBreakpointOps,
    WatchKind,
};
use gdbstub::target::ext::thread_extra_info::{ThreadExtraInfo, ThreadExtraInfoOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::x86::reg::X86CoreRegs;
use ipcemu_kernel::{Cpu, ExitStatus, ProcId, Reg, RegFile, ThreadId};
use ipcemu_machine::{Step, StopReason, World};
use std::net::{TcpListener, TcpStream};

/// A debugging session that could not run.
#[derive(Debug, thiserror::Error)]
pub enum GdbError {
    /// The connection failed.
    #[error("GDB connection: {0}")]
    Io(#[from] std::io::Error),
    /// The protocol layer failed.
    #[error("GDB session: {0}")]
    Session(String),
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// GDB detached: the world goes on without it.
    Detached,
    /// GDB killed the guest.
    Killed,
    /// The guest ended (its exit code), or the world could not run any more.
    GuestEnded(u8),
}

/// The guest being debugged, as gdbstub's target.
///
/// GDB thread ids are the kernel's thread PIDs (the KolibriOS TID that 51.1 returns and 9
/// reports; never reused), so `thread N` names the same guest thread for the whole session.
pub struct Debuggee<'w> {
    world: &'w mut World,
    proc: ProcId,
    /// The thread GDB asked to step (set by the resume actions, read by the event loop).
    stepping: Option<ThreadId>,
    /// The thread of the guest that ran last (a Ctrl-C stop names it).
    last: Option<ThreadId>,
    /// Set when the world is over (the event loop reports the guest ended).
    over: Option<u8>,
}

impl<'w> Debuggee<'w> {
    /// Debug process `proc` of `world` (every thread of it).
    pub fn new(world: &'w mut World, proc: ProcId) -> Self {
        Debuggee {
            world,
            proc,
            stepping: None,
            last: None,
            over: None,
        }
    }

    /// The live threads of the guest, in creation order.
    fn threads(&self) -> Vec<ThreadId> {
        self.world.with_kernel(|k| {
            (0..k.threads.len())
                .map(ThreadId)
                .filter(|&t| {
                    k.threads[t].proc == self.proc
                        && k.threads[t].state != ipcemu_kernel::ThreadState::Ended
                })
                .collect()
        })
    }

    /// Whether `t` is a live thread of the guest.
    fn is_ours(&self, t: ThreadId) -> bool {
        self.world.with_kernel(|k| {
            k.threads.get(t.0).is_some_and(|th| {
                th.proc == self.proc && th.state != ipcemu_kernel::ThreadState::Ended
            })
        })
    }

    /// GDB's id of thread `t`: its PID.
    fn tid(&self, t: ThreadId) -> Option<Tid> {
        self.world
            .with_kernel(|k| k.threads.get(t.0).map(|th| th.pid as usize))
            .and_then(Tid::new)
    }

    /// The live thread of the guest GDB calls `tid`.
    fn thread_of(&self, tid: Tid) -> Option<ThreadId> {
        let pid = u32::try_from(tid.get()).ok()?;
        self.world
            .with_kernel(|k| k.thread_by_pid(pid))
            .filter(|&t| self.is_ours(t))
    }

    /// The thread a stop that no thread caused (Ctrl-C) names: the one that ran last, or the
    /// first live one.
    fn some_thread(&self) -> Option<Tid> {
        self.last
            .filter(|&t| self.is_ours(t))
            .or_else(|| self.threads().first().copied())
            .and_then(|t| self.tid(t))
    }

    fn ended(&self) -> Option<u8> {
        self.world.with_kernel(|k| match &k.procs[self.proc].exit {
            Some(ExitStatus::Normal(c)) => Some(*c as u8),
            Some(_) => Some(1),
            None => None,
        })
    }

    /// A stop of thread `t` with `signal` (thread `t` gone: the guest's next live thread).
    fn stop_in(&self, t: ThreadId, signal: Signal) -> MultiThreadStopReason<u32> {
        let tid = if self.is_ours(t) {
            self.tid(t)
        } else {
            self.some_thread()
        };
        match tid {
            Some(tid) => MultiThreadStopReason::SignalWithThread { tid, signal },
            None => MultiThreadStopReason::Signal(signal),
        }
    }

    /// Run the world until the debugged guest stops (a breakpoint or watchpoint hit by any of
    /// its threads, a finished step, its end) or `budget` world steps passed.
    fn run_some(&mut self, budget: usize) -> Option<MultiThreadStopReason<u32>> {
        for _ in 0..budget {
            if let Some(c) = self.ended() {
                return Some(MultiThreadStopReason::Exited(c));
            }
            if self.stepping.is_some_and(|t| !self.is_ours(t)) {
                self.stepping = None;
            }
            self.world.step_next(self.stepping);
            let (t, why) = match self.world.step() {
                Step::Over(_) => {
                    let c = self.ended().unwrap_or(0);
                    self.over = Some(c);
                    return Some(MultiThreadStopReason::Exited(c));
                }
                Step::Ran(t, why) => (t, why),
            };
            let ours = self.world.with_kernel(|k| k.threads[t].proc == self.proc);
            if !ours {
                continue;
            }
            self.last = Some(t);
            if let Some(c) = self.ended() {
                return Some(MultiThreadStopReason::Exited(c));
            }
            let stop = match why {
                StopReason::Breakpoint(_) => self.tid(t).map(MultiThreadStopReason::SwBreak),
                StopReason::Watchpoint(addr, write) => {
                    let kind = if write {
                        WatchKind::Write
                    } else {
                        WatchKind::Read
                    };
                    self.tid(t)
                        .map(|tid| MultiThreadStopReason::Watch { tid, kind, addr })
                }
                // One instruction ran (or the system call it made was handled); a thread that
                // ended in it reports the stop in another thread of the guest.
                _ if self.stepping == Some(t) => Some(self.stop_in(t, Signal::SIGTRAP)),
                _ => None,
            };
            if stop.is_some() {
                tracing::debug!(thread = t.0, ?stop, "debugged guest stopped");
                self.stepping = None;
                self.world.step_next(None);
                return stop;
            }
        }
        None
    }
}

fn regs_from(rf: &RegFile, r: &mut X86CoreRegs) {
    r.eax = rf.get(Reg::Eax);
    r.ecx = rf.get(Reg::Ecx);
    r.edx = rf.get(Reg::Edx);
    r.ebx = rf.get(Reg::Ebx);
    r.esp = rf.get(Reg::Esp);
    r.ebp = rf.get(Reg::Ebp);
    r.esi = rf.get(Reg::Esi);
    r.edi = rf.get(Reg::Edi);
    r.eip = rf.get(Reg::Eip);
    r.eflags = rf.get(Reg::Eflags);
    r.segments.cs = rf.get(Reg::Cs);
    r.segments.ss = rf.get(Reg::Ss);
    r.segments.ds = rf.get(Reg::Ds);
    r.segments.es = rf.get(Reg::Es);
    r.segments.fs = rf.get(Reg::Fs);
    r.segments.gs = rf.get(Reg::Gs);
}

fn regs_into(r: &X86CoreRegs, rf: &mut RegFile) {
    for (reg, v) in [
        (Reg::Eax, r.eax),
        (Reg::Ecx, r.ecx),
        (Reg::Edx, r.edx),
        (Reg::Ebx, r.ebx),
        (Reg::Esp, r.esp),
        (Reg::Ebp, r.ebp),
        (Reg::Esi, r.esi),
        (Reg::Edi, r.edi),
        (Reg::Eip, r.eip),
        (Reg::Eflags, r.eflags),
        (Reg::Cs, r.segments.cs),
        (Reg::Ss, r.segments.ss),
        (Reg::Ds, r.segments.ds),
        (Reg::Es, r.segments.es),
        (Reg::Fs, r.segments.fs),
        (Reg::Gs, r.segments.gs),
    ] {
        rf.set(reg, v);
    }
}

impl Target for Debuggee<'_> {
    type Arch = gdbstub_arch::x86::X86_SSE;
    type Error = String;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadBase for Debuggee<'_> {
    fn read_registers(&mut self, regs: &mut X86CoreRegs, tid: Tid) -> TargetResult<(), Self> {
        let t = self.thread_of(tid).ok_or(TargetError::NonFatal)?;
        let rf = self.world.registers(t).ok_or(TargetError::NonFatal)?;
        regs_from(&rf, regs);
        Ok(())
    }

    fn write_registers(&mut self, regs: &X86CoreRegs, tid: Tid) -> TargetResult<(), Self> {
        let t = self.thread_of(tid).ok_or(TargetError::NonFatal)?;
        let mut rf = self.world.registers(t).ok_or(TargetError::NonFatal)?;
        regs_into(regs, &mut rf);
        if self.world.set_registers(t, &rf) {
            Ok(())
        } else {
            Err(TargetError::NonFatal)
        }
    }

    fn read_addrs(&mut self, start: u32, data: &mut [u8], _tid: Tid) -> TargetResult<usize, Self> {
        // The threads of a process share its memory. As much as is mapped, byte by byte past
        // the first gap GDB asked about.
        if self.world.read_memory(self.proc, start, data) {
            return Ok(data.len());
        }
        let mut n = 0;
        for (i, b) in data.iter_mut().enumerate() {
            let mut one = [0u8];
            if !self
                .world
                .read_memory(self.proc, start.wrapping_add(i as u32), &mut one)
            {
                break;
            }
            *b = one[0];
            n += 1;
        }
        if n == 0 {
            Err(TargetError::NonFatal)
        } else {
            Ok(n)
        }
    }

    fn write_addrs(&mut self, start: u32, data: &[u8], _tid: Tid) -> TargetResult<(), Self> {
        if self.world.write_memory(self.proc, start, data) {
            Ok(())
        } else {
            Err(TargetError::NonFatal)
        }
    }

    fn list_active_threads(
        &mut self,
        thread_is_active: &mut dyn FnMut(Tid),
    ) -> Result<(), Self::Error> {
        for t in self.threads() {
            if let Some(tid) = self.tid(t) {
                thread_is_active(tid);
            }
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }

    fn support_thread_extra_info(&mut self) -> Option<ThreadExtraInfoOps<'_, Self>> {
        Some(self)
    }
}

impl ThreadExtraInfo for Debuggee<'_> {
    fn thread_extra_info(&self, tid: Tid, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let Some(t) = self.thread_of(tid) else {
            return Ok(0);
        };
        // "slot 4, waiting": what `info threads` shows next to the thread.
        let text = self.world.with_kernel(|k| {
            let th = &k.threads[t];
            let state = match th.state {
                ipcemu_kernel::ThreadState::Ready => "ready",
                ipcemu_kernel::ThreadState::Running => "running",
                ipcemu_kernel::ThreadState::Waiting => "waiting",
                ipcemu_kernel::ThreadState::Ended => "ended",
            };
            format!("slot {}, {state}", th.slot.0)
        });
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text.as_bytes()[..n]);
        Ok(n)
    }
}

fn no_signal(signal: Option<Signal>) -> Result<(), String> {
    match signal {
        Some(_) => Err("ipcemu does not deliver signals to guests".into()),
        None => Ok(()),
    }
}

impl MultiThreadResume for Debuggee<'_> {
    fn resume(&mut self) -> Result<(), Self::Error> {
        // Every thread of the world runs on its normal schedule; `stepping` (if any) stops the
        // guest once that thread has run one instruction.
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), Self::Error> {
        self.stepping = None;
        Ok(())
    }

    fn set_resume_action_continue(
        &mut self,
        _tid: Tid,
        signal: Option<Signal>,
    ) -> Result<(), Self::Error> {
        no_signal(signal)
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadSchedulerLocking for Debuggee<'_> {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), Self::Error> {
        // GDB steps one thread and asks the others to stay stopped (`vCont;s:N` alone). The
        // world keeps its schedule instead: the stepped thread is first in line (it stopped
        // last), so it runs at once unless it waits in a system call, and then the others run
        // as in a plain run until it has stepped.
        tracing::debug!("scheduler locking asked: the world keeps its schedule");
        Ok(())
    }
}

impl MultiThreadSingleStep for Debuggee<'_> {
    fn set_resume_action_step(
        &mut self,
        tid: Tid,
        signal: Option<Signal>,
    ) -> Result<(), Self::Error> {
        no_signal(signal)?;
        self.stepping = Some(
            self.thread_of(tid)
                .ok_or_else(|| format!("thread {tid} is not a live thread of the guest"))?,
        );
        Ok(())
    }
}

impl Breakpoints for Debuggee<'_> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }
    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl HwWatchpoint for Debuggee<'_> {
    fn add_hw_watchpoint(
        &mut self,
        addr: u32,
        len: u32,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        let writes_only = kind == WatchKind::Write;
        Ok(self
            .world
            .add_watchpoint(self.proc, addr, len, writes_only)
            .is_ok())
    }
    fn remove_hw_watchpoint(
        &mut self,
        addr: u32,
        len: u32,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        Ok(self
            .world
            .remove_watchpoint(self.proc, addr, len, kind == WatchKind::Write))
    }
}

impl SwBreakpoint for Debuggee<'_> {
    fn add_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.world.add_breakpoint(self.proc, addr).is_ok())
    }

    fn remove_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.world.remove_breakpoint(self.proc, addr))
    }
}

/// The event loop of a session (no state: it drives the target).
struct Loop<'w>(std::marker::PhantomData<&'w mut ()>);

impl<'w> BlockingEventLoop for Loop<'w> {
    type Target = Debuggee<'w>;
    type Connection = TcpStream;
    type StopReason = MultiThreadStopReason<u32>;

    fn wait_for_stop_reason(
        target: &mut Debuggee<'w>,
        conn: &mut TcpStream,
    ) -> Result<Event<MultiThreadStopReason<u32>>, WaitForStopReasonError<String, std::io::Error>>
    {
        loop {
            if let Some(r) = target.run_some(256) {
                return Ok(Event::TargetStopped(r));
            }
            // GDB may have sent something (Ctrl-C) while the world ran.
            if conn
                .peek()
                .map_err(WaitForStopReasonError::Connection)?
                .is_some()
            {
                let b = conn.read().map_err(WaitForStopReasonError::Connection)?;
                return Ok(Event::IncomingData(b));
            }
        }
    }

    fn on_interrupt(
        target: &mut Debuggee<'w>,
    ) -> Result<Option<MultiThreadStopReason<u32>>, String> {
        Ok(Some(match target.some_thread() {
            Some(tid) => MultiThreadStopReason::SignalWithThread {
                tid,
                signal: Signal::SIGINT,
            },
            None => MultiThreadStopReason::Signal(Signal::SIGINT),
        }))
    }
}

/// Accept one GDB connection on `listener` and debug process `proc` of `world` until GDB
/// detaches or kills it, or it ends.
pub fn serve(
    world: &mut World,
    proc: ProcId,
    listener: &TcpListener,
) -> Result<SessionEnd, GdbError> {
    let (stream, peer) = listener.accept()?;
    tracing::info!(%peer, "GDB connected");
    stream.set_nodelay(true)?;
    let mut target = Debuggee::new(world, proc);
    let gdb = GdbStub::new(stream);
    let end = gdb
        .run_blocking::<Loop<'_>>(&mut target)
        .map_err(|e| GdbError::Session(e.to_string()))?;
    Ok(match end {
        DisconnectReason::Disconnect => SessionEnd::Detached,
        DisconnectReason::Kill => {
            world.kill_process(proc);
            SessionEnd::Killed
        }
        DisconnectReason::TargetExited(c) => SessionEnd::GuestEnded(c),
        DisconnectReason::TargetTerminated(_) => SessionEnd::GuestEnded(1),
    })
}
