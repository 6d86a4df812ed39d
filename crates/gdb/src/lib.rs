//! # ipcemu-gdb
//!
//! A GDB remote stub for one guest process of a world, built on the `gdbstub` crate
//! (`ipcemu run --gdb N=PORT`). GDB sees the guest's first live thread as a single-threaded
//! i386 target: registers (general, eip, eflags, segments), memory read and write, software
//! breakpoints (Unicorn code hooks on the address: guest memory is not patched), single step,
//! continue, Ctrl-C, detach and kill.
//!
//! While GDB has the guest stopped, the whole world is stopped: nothing runs and the virtual
//! clock does not move, so a debugging session sees the schedule of a plain run. When GDB
//! continues, the world runs (every guest) until the debugged guest hits a breakpoint, finishes
//! a step, or ends. See `docs/debugging.md`.

#![warn(missing_docs)]

use gdbstub::common::Signal;
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
use gdbstub::stub::{DisconnectReason, GdbStub, SingleThreadStopReason};
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint, SwBreakpointOps,
    WatchKind,
};
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
pub struct Debuggee<'w> {
    world: &'w mut World,
    proc: ProcId,
    /// Set by `step`, read by the event loop.
    stepping: bool,
    /// Set when the world is over (the event loop reports the guest ended).
    over: Option<u8>,
}

impl<'w> Debuggee<'w> {
    /// Debug process `proc` of `world` (its first live thread).
    pub fn new(world: &'w mut World, proc: ProcId) -> Self {
        Debuggee {
            world,
            proc,
            stepping: false,
            over: None,
        }
    }

    /// The thread GDB sees: the process's first thread that has not ended.
    fn thread(&self) -> Option<ThreadId> {
        self.world.with_kernel(|k| {
            (0..k.threads.len()).map(ThreadId).find(|&t| {
                k.threads[t].proc == self.proc
                    && k.threads[t].state != ipcemu_kernel::ThreadState::Ended
            })
        })
    }

    fn ended(&self) -> Option<u8> {
        self.world.with_kernel(|k| match &k.procs[self.proc].exit {
            Some(ExitStatus::Normal(c)) => Some(*c as u8),
            Some(_) => Some(1),
            None => None,
        })
    }

    /// Run the world until the debugged guest stops (breakpoint, finished step, end) or
    /// `budget` world steps passed (`None`: keep going).
    fn run_some(&mut self, budget: usize) -> Option<SingleThreadStopReason<u32>> {
        for _ in 0..budget {
            if let Some(c) = self.ended() {
                return Some(SingleThreadStopReason::Exited(c));
            }
            let me = self.thread();
            if self.stepping {
                self.world.step_next(me);
            }
            match self.world.step() {
                Step::Over(_) => {
                    let c = self.ended().unwrap_or(0);
                    self.over = Some(c);
                    return Some(SingleThreadStopReason::Exited(c));
                }
                Step::Ran(t, StopReason::Breakpoint(_)) if Some(t) == me => {
                    self.stepping = false;
                    return Some(SingleThreadStopReason::SwBreak(()));
                }
                Step::Ran(t, StopReason::Watchpoint(addr, write)) if Some(t) == me => {
                    self.stepping = false;
                    let kind = if write {
                        WatchKind::Write
                    } else {
                        WatchKind::Read
                    };
                    return Some(SingleThreadStopReason::Watch {
                        tid: (),
                        kind,
                        addr,
                    });
                }
                Step::Ran(t, _) if self.stepping && Some(t) == me => {
                    // One instruction ran (or the system call it made was handled).
                    self.stepping = false;
                    self.world.step_next(None);
                    return Some(SingleThreadStopReason::DoneStep);
                }
                Step::Ran(..) => {}
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
        BaseOps::SingleThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadBase for Debuggee<'_> {
    fn read_registers(&mut self, regs: &mut X86CoreRegs) -> TargetResult<(), Self> {
        let t = self.thread().ok_or(TargetError::NonFatal)?;
        let rf = self.world.registers(t).ok_or(TargetError::NonFatal)?;
        regs_from(&rf, regs);
        Ok(())
    }

    fn write_registers(&mut self, regs: &X86CoreRegs) -> TargetResult<(), Self> {
        let t = self.thread().ok_or(TargetError::NonFatal)?;
        let mut rf = self.world.registers(t).ok_or(TargetError::NonFatal)?;
        regs_into(regs, &mut rf);
        if self.world.set_registers(t, &rf) {
            Ok(())
        } else {
            Err(TargetError::NonFatal)
        }
    }

    fn read_addrs(&mut self, start: u32, data: &mut [u8]) -> TargetResult<usize, Self> {
        // As much as is mapped, byte by byte past the first gap GDB asked about.
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

    fn write_addrs(&mut self, start: u32, data: &[u8]) -> TargetResult<(), Self> {
        if self.world.write_memory(self.proc, start, data) {
            Ok(())
        } else {
            Err(TargetError::NonFatal)
        }
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadResume for Debuggee<'_> {
    fn resume(&mut self, signal: Option<Signal>) -> Result<(), Self::Error> {
        if signal.is_some() {
            return Err("ipcemu does not deliver signals to guests".into());
        }
        self.stepping = false;
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadSingleStep for Debuggee<'_> {
    fn step(&mut self, signal: Option<Signal>) -> Result<(), Self::Error> {
        if signal.is_some() {
            return Err("ipcemu does not deliver signals to guests".into());
        }
        self.stepping = true;
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
    type StopReason = SingleThreadStopReason<u32>;

    fn wait_for_stop_reason(
        target: &mut Debuggee<'w>,
        conn: &mut TcpStream,
    ) -> Result<Event<SingleThreadStopReason<u32>>, WaitForStopReasonError<String, std::io::Error>>
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
        _target: &mut Debuggee<'w>,
    ) -> Result<Option<SingleThreadStopReason<u32>>, String> {
        Ok(Some(SingleThreadStopReason::Signal(Signal::SIGINT)))
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
