//! Asynchronous procedure calls: `QueueUserAPC`, the completion routines of `ReadFileEx`/
//! `WriteFileEx`, and the alertable waits that run them (`SleepEx`, `WaitForSingleObjectEx`,
//! `WaitForMultipleObjectsEx`, `MsgWaitForMultipleObjectsEx` with `MWMO_ALERTABLE`).
//!
//! Each thread has a queue of APCs. An alertable wait whose objects are not signalled runs
//! every queued APC, one after the other, as guest calls from inside the wait (the way window
//! procedures are called, `user.rs`), and then returns `WAIT_IO_COMPLETION`. A thread that is
//! already blocked in an alertable wait when an APC is queued for it starts its call over, so
//! it runs the APC the same way. Objects come first, as in Windows' kernel: a wait whose
//! object is signalled returns it and leaves the APCs queued.

use crate::api::{Ret, R};
use crate::user::Cont;
use crate::{Res, Win32};
use ipcemu_kernel::{Completion, Cpu, GuestMemory, Kernel, Reg, ThreadId, Wake};

/// `WAIT_IO_COMPLETION`: an alertable wait ran APCs.
pub(crate) const WAIT_IO_COMPLETION: u32 = 0xC0;
/// APCs one thread may have queued (a guest cannot grow host memory without bound).
pub const MAX_APCS: usize = 4096;

/// One queued APC: a guest function and its (up to three) arguments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Apc {
    pub f: u32,
    pub args: [u32; 3],
}

/// Wakes a thread blocked in an alertable wait so that its call starts over (eip back on the
/// stub's trap; the arguments are still on its stack).
#[derive(Debug)]
struct Restart {
    eip: u32,
}

impl Completion for Restart {
    fn complete(self: Box<Self>, _mem: &mut dyn GuestMemory, cpu: &mut dyn Cpu) {
        cpu.set(Reg::Eip, self.eip);
    }
}

impl Win32 {
    /// Queue an APC for thread `t` (false: no such thread, or its queue is full). A thread
    /// in an alertable wait starts its call over and runs it.
    pub(crate) fn queue_apc<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        apc: Apc,
    ) -> bool {
        let Some(ts) = self.threads.get_mut(&t) else {
            return false;
        };
        if ts.apcs.len() >= MAX_APCS {
            return false;
        }
        ts.apcs.push_back(apc);
        let alertable = self
            .waiters
            .iter()
            .position(|w| w.t == t && w.alertable.is_some());
        if let Some(i) = alertable {
            let (id, at) = (self.waiters[i].id, self.waiters[i].alertable.unwrap_or(0));
            let current = k
                .blocker_of::<crate::objects::WaitBlocker>(t)
                .is_some_and(|b| b.id == id);
            self.waiters.remove(i);
            if current {
                k.wake(t, Wake::Complete(Box::new(Restart { eip: at })));
            }
        }
        self.wake_res(k, &Res::Apc(t));
        true
    }

    /// From an alertable call now being handled: run thread `t`'s queued APCs, then return
    /// `WAIT_IO_COMPLETION` from the call (`after_call`: its esp and the stub's return; with
    /// `fail`, FALSE and `WAIT_IO_COMPLETION` as the last error). `None` when nothing is
    /// queued (also when the last one returned: `Cont::Apcs`).
    pub(crate) fn run_apcs<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        after_call: (u32, u32),
        fail: bool,
    ) -> Option<Ret> {
        let apc = self.threads.get_mut(&t)?.apcs.pop_front()?;
        self.clear_retry_deadline(t);
        let args = [apc.args[0], apc.args[1], apc.args[2], 0];
        Some(self.call_guest(k, t, cpu, apc.f, args, after_call, Cont::Apcs { fail }))
    }

    /// `SleepEx(dwMilliseconds, bAlertable)`.
    pub(crate) fn sleep_ex<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
    ) -> Ret {
        let (ms, alertable) = (a[0], a[1] != 0);
        let after_call = (cpu.get(Reg::Esp), self.at.wrapping_add(2));
        if alertable {
            if let Some(r) = self.run_apcs(k, t, cpu, after_call, false) {
                return r;
            }
        }
        // SleepEx returns 0 when the time is up.
        cpu.set(Reg::Eax, 0);
        if ms == 0 {
            return Ok(R::Out(ipcemu_kernel::Outcome::Yield));
        }
        if !alertable {
            let deadline =
                (ms != crate::api::INFINITE).then(|| k.now_ns() + u64::from(ms) * 1_000_000);
            k.block_current(
                Box::new(ipcemu_kernel::Sleep {
                    personality: crate::NAME,
                    text: "sleeps (SleepEx)",
                }),
                deadline,
            );
            return Ok(R::Out(ipcemu_kernel::Outcome::Block));
        }
        // Alertable: a restartable wait for an APC, until the (first) deadline.
        let deadline = self.wait_deadline(k, t, ms);
        if deadline.is_some_and(|d| k.now_ns() >= d) {
            self.clear_retry_deadline(t);
            return Ok(R::Val(0));
        }
        let text = "sleeps, alertable (SleepEx)".to_string();
        Ok(self.block_retry_until(k, t, cpu, Res::Apc(t), "w32_sleep", text, deadline))
    }
}
