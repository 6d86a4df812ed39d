//! # ipcemu-gdb
//!
//! A GDB remote stub for guest processes of a world, built on the `gdbstub` crate
//! (`ipcemu run --gdb N=PORT`, repeatable: one session per guest, served without host threads
//! by gdbstub's state machine, see [`serve_all`]). Every live thread of the guest is a GDB thread (its id is the
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
use gdbstub::stub::state_machine::GdbStubStateMachine;
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
use std::sync::atomic::{AtomicBool, Ordering};

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

/// What one session knows of its guest.
#[derive(Debug, Clone, Copy)]
struct Session {
    proc: ProcId,
    /// The thread GDB asked to step (set by the resume actions, read by the run loop).
    stepping: Option<ThreadId>,
    /// The thread of the guest that ran last (a Ctrl-C stop names it).
    last: Option<ThreadId>,
}

/// The guests being debugged, as gdbstub's target: one session per guest, and the calls of
/// gdbstub go to the session `cur` (the driver sets it before handing a session a byte).
///
/// GDB thread ids are the kernel's thread PIDs (the KolibriOS TID that 51.1 returns and 9
/// reports; never reused), so `thread N` names the same guest thread for the whole session.
pub struct Debuggee<'w> {
    world: &'w mut World,
    sessions: Vec<Session>,
    cur: usize,
}

impl<'w> Debuggee<'w> {
    /// Debug processes `procs` of `world` (every thread of each), one GDB session each.
    pub fn new(world: &'w mut World, procs: &[ProcId]) -> Self {
        Debuggee {
            world,
            sessions: procs
                .iter()
                .map(|&proc| Session {
                    proc,
                    stepping: None,
                    last: None,
                })
                .collect(),
            cur: 0,
        }
    }

    fn s(&self) -> &Session {
        &self.sessions[self.cur]
    }

    fn s_mut(&mut self) -> &mut Session {
        &mut self.sessions[self.cur]
    }

    /// The live threads of process `proc`, in creation order.
    fn threads_of(&self, proc: ProcId) -> Vec<ThreadId> {
        self.world.with_kernel(|k| {
            (0..k.threads.len())
                .map(ThreadId)
                .filter(|&t| {
                    k.threads[t].proc == proc
                        && k.threads[t].state != ipcemu_kernel::ThreadState::Ended
                })
                .collect()
        })
    }

    /// Whether `t` is a live thread of process `proc`.
    fn is_of(&self, t: ThreadId, proc: ProcId) -> bool {
        self.world.with_kernel(|k| {
            k.threads
                .get(t.0)
                .is_some_and(|th| th.proc == proc && th.state != ipcemu_kernel::ThreadState::Ended)
        })
    }

    /// GDB's id of thread `t`: its PID.
    fn tid(&self, t: ThreadId) -> Option<Tid> {
        self.world
            .with_kernel(|k| k.threads.get(t.0).map(|th| th.pid as usize))
            .and_then(Tid::new)
    }

    /// The live thread of the current guest GDB calls `tid`.
    fn thread_of(&self, tid: Tid) -> Option<ThreadId> {
        let pid = u32::try_from(tid.get()).ok()?;
        let proc = self.s().proc;
        self.world
            .with_kernel(|k| k.thread_by_pid(pid))
            .filter(|&t| self.is_of(t, proc))
    }

    /// The thread a stop of session `i` that no thread caused (Ctrl-C) names: the one that
    /// ran last, or the first live one.
    fn some_thread(&self, i: usize) -> Option<Tid> {
        let s = &self.sessions[i];
        s.last
            .filter(|&t| self.is_of(t, s.proc))
            .or_else(|| self.threads_of(s.proc).first().copied())
            .and_then(|t| self.tid(t))
    }

    fn ended(&self, proc: ProcId) -> Option<u8> {
        self.world.with_kernel(|k| match &k.procs[proc].exit {
            Some(ExitStatus::Normal(c)) => Some(*c as u8),
            Some(_) => Some(1),
            None => None,
        })
    }

    /// A stop of session `i` in thread `t` with `signal` (thread `t` gone: the guest's next
    /// live thread).
    fn stop_in(&self, i: usize, t: ThreadId, signal: Signal) -> MultiThreadStopReason<u32> {
        let tid = if self.is_of(t, self.sessions[i].proc) {
            self.tid(t)
        } else {
            self.some_thread(i)
        };
        match tid {
            Some(tid) => MultiThreadStopReason::SignalWithThread { tid, signal },
            None => MultiThreadStopReason::Signal(signal),
        }
    }

    /// Run the world one step while the sessions in `running` wait; the sessions whose guest
    /// stopped (a breakpoint or watchpoint hit by any of its threads, a finished step, its
    /// end), with why. Every running session ends when the world is over.
    fn run_step(&mut self, running: &[bool]) -> Vec<(usize, MultiThreadStopReason<u32>)> {
        let mut stops = Vec::new();
        for (i, _) in running.iter().enumerate().filter(|(_, &r)| r) {
            let s = self.sessions[i];
            if let Some(c) = self.ended(s.proc) {
                stops.push((i, MultiThreadStopReason::Exited(c)));
            } else if s.stepping.is_some_and(|t| !self.is_of(t, s.proc)) {
                self.sessions[i].stepping = None;
            }
        }
        if !stops.is_empty() {
            return stops;
        }
        let steps: Vec<ThreadId> = (0..self.sessions.len())
            .filter(|&i| running[i])
            .filter_map(|i| self.sessions[i].stepping)
            .collect();
        self.world.step_next_all(&steps);
        let (t, why) = match self.world.step() {
            Step::Over(_) => {
                return (0..self.sessions.len())
                    .filter(|&i| running[i])
                    .map(|i| {
                        let c = self.ended(self.sessions[i].proc).unwrap_or(0);
                        (i, MultiThreadStopReason::Exited(c))
                    })
                    .collect();
            }
            Step::Ran(t, why) => (t, why),
        };
        let proc = self.world.with_kernel(|k| k.threads[t].proc);
        let Some(i) =
            (0..self.sessions.len()).find(|&i| running[i] && self.sessions[i].proc == proc)
        else {
            return stops;
        };
        self.sessions[i].last = Some(t);
        if let Some(c) = self.ended(proc) {
            return vec![(i, MultiThreadStopReason::Exited(c))];
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
            // The loop's ticker paused it so the connections can be looked at: not a stop.
            StopReason::Paused => None,
            // One instruction ran (or the system call it made was handled); a thread that
            // ended in it reports the stop in another thread of the guest.
            _ if self.sessions[i].stepping == Some(t) => Some(self.stop_in(i, t, Signal::SIGTRAP)),
            _ => None,
        };
        if let Some(stop) = stop {
            tracing::debug!(thread = t.0, ?stop, "debugged guest stopped");
            self.sessions[i].stepping = None;
            stops.push((i, stop));
        }
        stops
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
        if self.world.read_memory(self.s().proc, start, data) {
            return Ok(data.len());
        }
        let mut n = 0;
        for (i, b) in data.iter_mut().enumerate() {
            let mut one = [0u8];
            if !self
                .world
                .read_memory(self.s().proc, start.wrapping_add(i as u32), &mut one)
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
        if self.world.write_memory(self.s().proc, start, data) {
            Ok(())
        } else {
            Err(TargetError::NonFatal)
        }
    }

    fn list_active_threads(
        &mut self,
        thread_is_active: &mut dyn FnMut(Tid),
    ) -> Result<(), Self::Error> {
        for t in self.threads_of(self.s().proc) {
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
        self.s_mut().stepping = None;
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
        let t = self
            .thread_of(tid)
            .ok_or_else(|| format!("thread {tid} is not a live thread of the guest"))?;
        self.s_mut().stepping = Some(t);
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
            .add_watchpoint(self.s().proc, addr, len, writes_only)
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
            .remove_watchpoint(self.s().proc, addr, len, kind == WatchKind::Write))
    }
}

impl SwBreakpoint for Debuggee<'_> {
    fn add_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.world.add_breakpoint(self.s().proc, addr).is_ok())
    }

    fn remove_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.world.remove_breakpoint(self.s().proc, addr))
    }
}

/// Where one guest's session is.
enum Conn<'w> {
    /// Waiting for GDB to connect (the world waits too).
    Listening,
    /// Connected.
    Live(GdbStubStateMachine<'static, Debuggee<'w>, TcpStream>),
    /// Over: the world goes on without it.
    Over(SessionEnd),
}

fn session_err(e: impl std::fmt::Display) -> GdbError {
    GdbError::Session(e.to_string())
}

/// The next byte GDB sent on `conn`, if one is there (`Err`: the connection closed).
fn next_byte(conn: &mut TcpStream) -> Result<Option<u8>, std::io::Error> {
    match conn.peek()? {
        Some(_) => conn.read().map(Some),
        None => Ok(None),
    }
}

/// Hand session `i` what GDB sent (if anything) and settle an interrupt or a disconnection.
/// Returns the new state and whether anything happened.
fn pump<'w>(
    sm: GdbStubStateMachine<'static, Debuggee<'w>, TcpStream>,
    target: &mut Debuggee<'w>,
    i: usize,
) -> Result<(Conn<'w>, bool), GdbError> {
    target.cur = i;
    let closed = |e: std::io::Error| {
        tracing::warn!(guest = i, error = %e, "GDB connection closed: the guest runs on");
        Ok((Conn::Over(SessionEnd::Detached), true))
    };
    let next = match sm {
        GdbStubStateMachine::Idle(mut g) => match next_byte(g.borrow_conn()) {
            Ok(Some(b)) => g.incoming_data(target, b).map_err(session_err)?,
            Ok(None) => return Ok((Conn::Live(g.into()), false)),
            Err(e) => return closed(e),
        },
        GdbStubStateMachine::Running(mut g) => match next_byte(g.borrow_conn()) {
            Ok(Some(b)) => g.incoming_data(target, b).map_err(session_err)?,
            Ok(None) => return Ok((Conn::Live(g.into()), false)),
            Err(e) => return closed(e),
        },
        GdbStubStateMachine::CtrlCInterrupt(g) => {
            // The world only runs between these calls: it is already stopped.
            let stop = match target.some_thread(i) {
                Some(tid) => MultiThreadStopReason::SignalWithThread {
                    tid,
                    signal: Signal::SIGINT,
                },
                None => MultiThreadStopReason::Signal(Signal::SIGINT),
            };
            g.interrupt_handled(target, Some(stop))
                .map_err(session_err)?
        }
        GdbStubStateMachine::Disconnected(g) => {
            let proc = target.sessions[i].proc;
            let end = match g.get_reason() {
                DisconnectReason::Disconnect => SessionEnd::Detached,
                DisconnectReason::Kill => {
                    target.world.kill_process(proc);
                    SessionEnd::Killed
                }
                DisconnectReason::TargetExited(c) => SessionEnd::GuestEnded(c),
                DisconnectReason::TargetTerminated(_) => SessionEnd::GuestEnded(1),
            };
            tracing::info!(guest = i, ?end, "GDB session ended");
            return Ok((Conn::Over(end), true));
        }
    };
    Ok((Conn::Live(next), true))
}

/// Accept one GDB connection on `listener` and debug process `proc` of `world` until GDB
/// detaches or kills it, or it ends.
pub fn serve(
    world: &mut World,
    proc: ProcId,
    listener: &TcpListener,
) -> Result<SessionEnd, GdbError> {
    let ends = serve_all(world, &[(proc, listener)])?;
    Ok(ends.first().copied().unwrap_or(SessionEnd::Detached))
}

/// Debug several guests of `world`, each with its own GDB on its own listener, without host
/// threads: the world runs only while every session is connected and has its guest running
/// (GDB's `continue` or `stepi`); when a guest stops, the world stops and that session is
/// served until GDB resumes it. Returns when every session is over (how each ended, in the
/// order of `guests`).
pub fn serve_all(
    world: &mut World,
    guests: &[(ProcId, &TcpListener)],
) -> Result<Vec<SessionEnd>, GdbError> {
    for (_, l) in guests {
        l.set_nonblocking(true)?;
    }
    let procs: Vec<ProcId> = guests.iter().map(|g| g.0).collect();
    let ticker = Ticker::start(world.stop_handle());
    let mut target = Debuggee::new(world, &procs);
    let mut conns: Vec<Conn<'_>> = guests.iter().map(|_| Conn::Listening).collect();
    loop {
        let mut progress = false;
        for (i, (_, l)) in guests.iter().enumerate() {
            if !matches!(conns[i], Conn::Listening) {
                continue;
            }
            match l.accept() {
                Ok((stream, peer)) => {
                    tracing::info!(%peer, guest = i, "GDB connected");
                    stream.set_nonblocking(false)?;
                    stream.set_nodelay(true)?;
                    target.cur = i;
                    let sm = GdbStub::new(stream)
                        .run_state_machine(&mut target)
                        .map_err(session_err)?;
                    conns[i] = Conn::Live(sm);
                    progress = true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.into()),
            }
        }
        for (i, conn) in conns.iter_mut().enumerate() {
            if let Conn::Live(_) = conn {
                let Conn::Live(sm) = std::mem::replace(conn, Conn::Listening) else {
                    continue;
                };
                let (next, moved) = pump(sm, &mut target, i)?;
                *conn = next;
                progress |= moved;
            }
        }
        if conns.iter().all(|c| matches!(c, Conn::Over(_))) {
            return Ok(conns
                .iter()
                .map(|c| match c {
                    Conn::Over(end) => *end,
                    _ => SessionEnd::Detached,
                })
                .collect());
        }
        let running: Vec<bool> = conns
            .iter()
            .map(|c| matches!(c, Conn::Live(GdbStubStateMachine::Running(_))))
            .collect();
        let world_runs = conns.iter().all(|c| {
            matches!(
                c,
                Conn::Over(_) | Conn::Live(GdbStubStateMachine::Running(_))
            )
        });
        if !world_runs {
            if !progress {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            continue;
        }
        // Run the world (every guest) until a debugged guest stops or the ticker says it is
        // time to look at the connections again (a Ctrl-C from GDB).
        ticker.arm(true);
        loop {
            let stops = target.run_step(&running);
            if stops.is_empty() {
                if ticker.ticked() {
                    break;
                }
                continue;
            }
            for (i, stop) in stops {
                // `run_step` only stops running sessions.
                match std::mem::replace(&mut conns[i], Conn::Listening) {
                    Conn::Live(GdbStubStateMachine::Running(g)) => {
                        target.cur = i;
                        conns[i] =
                            Conn::Live(g.report_stop(&mut target, stop).map_err(session_err)?);
                    }
                    other => conns[i] = other,
                }
            }
            break;
        }
        ticker.arm(false);
    }
}

/// While the world runs under the debugger, a helper thread pauses it every
/// [`Ticker::PERIOD`] ([`ipcemu_machine::StopHandle::pause`]), so the loop gets control back
/// even from a guest that spins without system calls and can read GDB's Ctrl-C. A pause only
/// returns control: the paused thread goes on first, as if nothing happened.
struct Ticker {
    state: std::sync::Arc<TickerState>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct TickerState {
    armed: AtomicBool,
    ticked: AtomicBool,
    done: AtomicBool,
}

impl Ticker {
    const PERIOD: std::time::Duration = std::time::Duration::from_millis(10);

    fn start(handle: ipcemu_machine::StopHandle) -> Ticker {
        let state = std::sync::Arc::new(TickerState::default());
        let s = std::sync::Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            while !s.done.load(Ordering::Acquire) {
                std::thread::sleep(Self::PERIOD);
                if s.armed.load(Ordering::Acquire) {
                    s.ticked.store(true, Ordering::Release);
                    handle.pause();
                }
            }
        });
        Ticker {
            state,
            thread: Some(thread),
        }
    }

    fn arm(&self, on: bool) {
        self.state.armed.store(on, Ordering::Release);
        if !on {
            self.state.ticked.store(false, Ordering::Release);
        }
    }

    /// Whether a tick came since the last call.
    fn ticked(&self) -> bool {
        self.state.ticked.swap(false, Ordering::AcqRel)
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.state.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
