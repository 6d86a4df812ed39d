//! USER32: per-thread message queues, window classes, message-only (and hidden top-level)
//! windows, posted and sent messages, `WM_COPYDATA` between processes, and the calls into the
//! guest's window procedures.
//!
//! A window procedure is guest code the personality calls: it pushes the four arguments and
//! the callback stub's address below the caller's stack and jumps to it; when it returns to
//! the stub, the personality goes on with what it was doing ([`Cont`]). Sent messages from
//! other threads wait in the receiver's queue until it calls `GetMessageA`/`PeekMessageA`;
//! those calls run the window procedure for each and then start over (restartable, see
//! `io.rs`), so the sender is answered exactly when Windows answers it.

use crate::api::{Ret, ERROR_ACCESS_DENIED, ERROR_INVALID_PARAMETER, R};
use crate::io::ERROR_NOT_ENOUGH_QUOTA;
use crate::objects::InputWait;
use crate::{bad_ptr, endpoint, Frame, Res, Win32, NAME, STUB_CALLBACK};
use ipcemu_kernel::{
    Cpu, GuestFault, GuestMemory, Kernel, Message, MsgKind, Outcome, ProcId, Reg, ThreadId, Verdict,
};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, HashMap, VecDeque};

const WM_CREATE: u32 = 0x0001;
const WM_DESTROY: u32 = 0x0002;
const WM_CLOSE: u32 = 0x0010;
const WM_QUIT: u32 = 0x0012;
const WM_COPYDATA: u32 = 0x004A;
const WM_NCCREATE: u32 = 0x0081;
const WM_NCDESTROY: u32 = 0x0082;
const WM_TIMER: u32 = 0x0113;
const HWND_MESSAGE: u32 = 0xFFFF_FFFD;
const HWND_BROADCAST: u32 = 0xFFFF;
const PM_REMOVE: u32 = 1;
/// `QS_*` bits of `GetQueueStatus` and `MsgWaitForMultipleObjects` (those a queue here can
/// have: there is no keyboard, mouse or painting).
pub(crate) const QS_POSTMESSAGE: u32 = 0x0008;
pub(crate) const QS_TIMER: u32 = 0x0010;
pub(crate) const QS_SENDMESSAGE: u32 = 0x0040;
pub(crate) const QS_ALLPOSTMESSAGE: u32 = 0x0100;
/// `SendMessageTimeout`'s `SMTO_BLOCK`: do not run messages sent to the caller while it waits.
const SMTO_BLOCK: u32 = 0x0001;
/// `SendMessageTimeout`'s `SMTO_ABORTIFHUNG`: fail at once when the receiver is hung.
const SMTO_ABORTIFHUNG: u32 = 0x0002;
/// A thread that has not looked at its queue for this long, and does not wait for input now,
/// is hung (`IsHungAppWindow`'s 5 seconds), in guest time.
const HUNG_NS: u64 = 5_000_000_000;
/// `USER_TIMER_MINIMUM` and `USER_TIMER_MAXIMUM` (ms): `SetTimer` clamps its period to these.
const TIMER_MIN_MS: u32 = 0x0A;
const TIMER_MAX_MS: u32 = 0x7FFF_FFFF;
/// Timers one thread may have at once (a guest cannot grow host memory without bound).
pub const MAX_TIMERS: usize = 10_000;
const _: () = assert!(MAX_TIMERS < 0x7FFF, "a free thread-timer id always exists");
const ERROR_TIMEOUT: u32 = 1460;
/// Windows one process may have at once (Windows' default USER handle quota).
pub const MAX_WINDOWS: usize = 10_000;
/// Atoms of the table registered classes and window messages share (`0xC000..=0xFFFE`).
const ATOMS: usize = 0x3FFF;
const ERROR_MESSAGE_SYNC_ONLY: u32 = 1159;
/// `InSendMessageEx` results.
const ISMEX_NOSEND: u32 = 0;
const ISMEX_SEND: u32 = 1;
const ISMEX_NOTIFY: u32 = 2;
const ISMEX_CALLBACK: u32 = 4;
const ISMEX_REPLIED: u32 = 8;
const ERROR_NO_SYSTEM_RESOURCES: u32 = 1450;
/// Posted messages a queue holds (Windows' default `USERPostMessageLimit`).
pub const QUEUE_LIMIT: usize = 10_000;
/// Window procedures the personality may have called and not seen return, per thread.
const MAX_FRAMES: usize = 256;
/// The largest `WM_COPYDATA` payload.
pub const MAX_COPYDATA: u32 = 16 << 20;
const ERROR_INVALID_WINDOW_HANDLE: u32 = 1400;
const ERROR_CANNOT_FIND_WND_CLASS: u32 = 1407;
const ERROR_CLASS_ALREADY_EXISTS: u32 = 1410;
const ERROR_INVALID_THREAD_ID: u32 = 1444;
const ERROR_NOT_ENOUGH_MEMORY: u32 = 8;

/// A posted message.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    hwnd: u32,
    message: u32,
    wparam: u32,
    lparam: u32,
    time: u32,
}

/// A message sent from another thread, waiting to be handled.
#[derive(Debug)]
pub(crate) struct Sent {
    /// The sender's wait id.
    id: u64,
    /// The request's sequence number on the message path.
    seq: u64,
    from: ThreadId,
    hwnd: u32,
    message: u32,
    wparam: u32,
    lparam: u32,
    /// `WM_COPYDATA`: `dwData` and the payload, copied from the sender.
    copydata: Option<(u32, Vec<u8>)>,
    /// `SendNotifyMessageA`: nobody waits for the answer.
    notify: bool,
}

/// A thread's message queue.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    posted: VecDeque<Msg>,
    sent: VecDeque<Sent>,
    quit: Option<u32>,
    /// `QS_*` bits of input that came since the thread last looked (`GetMessageA`,
    /// `PeekMessageA`, `GetQueueStatus`): what `MsgWaitForMultipleObjects` calls new input.
    changed: u32,
    /// `SetTimer`'s timers of this thread, in the order they were set.
    timers: Vec<Timer>,
    /// Answers to this thread's `SendMessageCallbackA` messages: the callback and its
    /// `(hwnd, msg, dwData, lResult)`, called by its next message-loop call.
    callbacks: VecDeque<(u32, [u32; 4])>,
    /// When the thread last looked at its queue (`GetMessageA`, `PeekMessageA`,
    /// `WaitMessage`, `MsgWaitForMultipleObjects(Ex)`), or made it (guest ns).
    last_look: u64,
}

/// A timer (`SetTimer`): `WM_TIMER` is made when the thread looks for a message, finds none
/// posted, and the timer is due; then it is due again `elapse` ms later.
#[derive(Debug, Clone)]
struct Timer {
    hwnd: u32,
    id: u32,
    elapse: u32,
    timer_proc: u32,
    due: u64,
}

impl Queue {
    /// A new, empty queue made at guest time `now` (not hung for its first 5 s).
    pub(crate) fn made_at(now: u64) -> Self {
        Queue {
            last_look: now,
            ..Default::default()
        }
    }

    /// `QS_*` bits of what the queue holds now.
    fn wake_bits(&self, now: u64) -> u32 {
        let mut b = 0;
        if !self.posted.is_empty() || self.quit.is_some() {
            b |= QS_POSTMESSAGE | QS_ALLPOSTMESSAGE;
        }
        if !self.sent.is_empty() {
            b |= QS_SENDMESSAGE;
        }
        if self.timers.iter().any(|x| x.due <= now) {
            b |= QS_TIMER;
        }
        b
    }

    /// Bits of input that is both new and still there. A due timer is always new: looking at
    /// the queue takes its `WM_TIMER` or, when filtered out, leaves it due.
    fn new_bits(&self, now: u64) -> u32 {
        let w = self.wake_bits(now);
        (self.changed | (w & QS_TIMER)) & w
    }
}

/// A thread waiting in a cross-thread `SendMessageA`/`SendMessageTimeoutA`.
#[derive(Debug, Clone, Copy)]
struct Sending {
    /// The sent message's id.
    id: u64,
    /// The receiver's answer, once its window procedure returned.
    answer: Option<u32>,
    /// `SendMessageTimeoutA`: when the caller gives up.
    deadline: Option<u64>,
}

/// `SendMessageTimeoutA`'s extra arguments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Smto {
    flags: u32,
    ms: u32,
    /// `lpdwResult` (0: none).
    out: u32,
}

#[derive(Debug)]
struct Window {
    class: String,
    atom: u32,
    title: String,
    thread: ThreadId,
    proc: ProcId,
    wndproc: u32,
    parent: u32,
}

#[derive(Debug, Clone)]
struct Class {
    atom: u32,
    wndproc: u32,
    name: String,
}

/// USER32 state of a world.
#[derive(Debug, Default)]
pub(crate) struct User {
    pub queues: FxHashMap<ThreadId, Queue>,
    /// Threads waiting in a cross-thread `SendMessageA`: the sent message's id and, once the
    /// receiver's window procedure returned, its answer. While it waits the thread still runs
    /// the window procedures of messages sent to it (as Windows does), and its call starts over
    /// after each one.
    sending: FxHashMap<ThreadId, Sending>,
    next_timer: u32,
    windows: BTreeMap<u32, Window>,
    classes: HashMap<(ProcId, String), Class>,
    atoms: HashMap<String, u32>,
    next_atom: u32,
    next_hwnd: u32,
    /// Windows of each process (at most [`MAX_WINDOWS`]).
    per_proc: FxHashMap<ProcId, usize>,
    /// Sent messages whose answer goes to a `SendMessageCallbackA` callback: by sent id, the
    /// callback, `dwData`, the window and the message.
    cb_pending: FxHashMap<u64, (u32, u32, u32, u32)>,
    /// Threads in a `SendMessageA`/`SendMessageTimeoutA` to `HWND_BROADCAST`: the call's stub,
    /// the windows still to send to (the next at the end), and the one being sent to.
    bsend: FxHashMap<ThreadId, (u32, Vec<u32>, Option<u32>)>,
}

/// What to do when a window procedure the personality called returns.
#[derive(Debug, Clone)]
pub(crate) enum Cont {
    /// Its result is the API call's result.
    Return,
    /// `WM_NCCREATE` of `CreateWindowExA` returned: send `WM_CREATE` (or fail).
    NcCreate { hwnd: u32, cs: u32 },
    /// `WM_CREATE` returned: the window is made (or, at -1, destroyed).
    Create { hwnd: u32, cs: u32 },
    /// `WM_DESTROY` returned: send `WM_NCDESTROY`.
    Destroy { hwnd: u32, ret: u32 },
    /// `WM_NCDESTROY` returned: the window goes; the call returns `ret`.
    Destroyed { hwnd: u32, ret: u32 },
    /// A `SendMessageCallbackA` callback returned: the message-loop call starts over.
    Callback,
    /// A TLS callback called with `DLL_THREAD_DETACH` (`reason` 3) or `DLL_PROCESS_DETACH`
    /// (0) returned: the next, or the thread (or the process) ends with `code`.
    Detach {
        rest: Vec<u32>,
        base: u32,
        code: u32,
        reason: u32,
    },
    /// A broadcast `SendNotifyMessageA`/`SendMessageCallbackA`: the caller's own windows
    /// still to call (`own`, from the end), the message, wParam, lParam, the callback, and
    /// the window whose procedure just ran (its callback is next).
    Broadcast {
        own: Vec<u32>,
        m: [u32; 3],
        cb: Option<(u32, u32)>,
        after: Option<u32>,
    },
    /// `SendMessageCallbackA` to the caller's own window: its procedure returned; call the
    /// callback with its result, then the call returns TRUE.
    ThenCallback {
        f: u32,
        data: u32,
        hwnd: u32,
        msg: u32,
    },
    /// An APC returned (`apc.rs`): run the next one, or return `WAIT_IO_COMPLETION` from the
    /// alertable call (with `fail`: return FALSE with `WAIT_IO_COMPLETION` as the last error,
    /// as `GetQueuedCompletionStatusEx` does).
    Apcs { fail: bool },
    /// `SendMessageTimeoutA` to a window of the caller's own thread: its result goes to
    /// `lpdwResult` (`out`, 0: none) and the call returns TRUE.
    ReturnVia { out: u32 },
    /// A sent message was handled: answer the sender; the message loop call starts over.
    SentDone {
        id: u64,
        sender: ThreadId,
        seq: u64,
        cds: u32,
        /// `SendNotifyMessageA`: nobody waits for the answer.
        notify: bool,
        /// `ReplyMessage` answered the sender already.
        replied: bool,
    },
}

fn class_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl Win32 {
    /// Call the guest function `f(args)` (stdcall) below the stack `esp`; when it returns,
    /// eip/esp are restored to `eip`/`esp` and `cont` runs.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn call_guest<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        f: u32,
        args: [u32; 4],
        (esp, eip): (u32, u32),
        cont: Cont,
    ) -> Ret {
        let depth = self.threads.get(&t).map_or(0, |x| x.frames.len());
        if depth >= MAX_FRAMES {
            return Err(GuestFault::Refused(format!(
                "window procedures nested more than {MAX_FRAMES} deep"
            )));
        }
        let mut sp = esp;
        let m = k.mem_of(t);
        for v in args.iter().rev().chain(std::iter::once(&STUB_CALLBACK)) {
            sp = sp.wrapping_sub(4);
            m.write_u32(sp, *v)
                .map_err(bad_ptr("stack (call of a window procedure)"))?;
        }
        cpu.set(Reg::Esp, sp);
        cpu.set(Reg::Eip, f);
        if let Some(ts) = self.threads.get_mut(&t) {
            ts.frames.push(Frame { esp, eip, cont });
        }
        Ok(R::Out(Outcome::Continue))
    }

    /// The callback stub: a window procedure returned.
    pub(crate) fn callback_returned<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
    ) -> Result<Outcome, GuestFault> {
        let Some(fr) = self.threads.get_mut(&t).and_then(|x| x.frames.pop()) else {
            return Err(GuestFault::Refused(
                "returned to the window-procedure stub with no window procedure called".into(),
            ));
        };
        let result = cpu.get(Reg::Eax);
        cpu.set(Reg::Esp, fr.esp);
        cpu.set(Reg::Eip, fr.eip);
        let frame = (fr.esp, fr.eip);
        let ret = |cpu: &mut dyn Cpu, v: u32| {
            cpu.set(Reg::Eax, v);
            Ok(Outcome::Continue)
        };
        match fr.cont {
            Cont::Return => ret(cpu, result),
            Cont::Callback => Ok(Outcome::Continue),
            Cont::Detach {
                rest,
                base,
                code,
                reason,
            } => match self.detach_next(k, t, cpu, rest, base, code, reason)? {
                R::Val(v) => ret(cpu, v),
                R::Out(o) => Ok(o),
            },
            Cont::Broadcast { own, m, cb, after } => {
                let r = match (after, cb) {
                    (Some(h), Some((f, data))) => {
                        let cont = Cont::Broadcast {
                            own,
                            m,
                            cb,
                            after: None,
                        };
                        self.call_guest(k, t, cpu, f, [h, m[0], data, result], frame, cont)
                    }
                    _ => self.broadcast_next(k, t, cpu, frame, own, m, cb),
                };
                match r? {
                    R::Val(v) => ret(cpu, v),
                    R::Out(o) => Ok(o),
                }
            }
            Cont::ThenCallback { f, data, hwnd, msg } => {
                let args = [hwnd, msg, data, result];
                self.call_guest(k, t, cpu, f, args, frame, Cont::ReturnVia { out: 0 })
                    .map(out)
            }
            Cont::Apcs { fail } => match self.run_apcs(k, t, cpu, frame, fail) {
                Some(r) => r.map(out),
                None if fail => {
                    self.set_err(k, t, crate::apc::WAIT_IO_COMPLETION);
                    ret(cpu, 0)
                }
                None => ret(cpu, crate::apc::WAIT_IO_COMPLETION),
            },
            Cont::ReturnVia { out } => {
                if out != 0 {
                    k.mem_of(t)
                        .write_u32(out, result)
                        .map_err(bad_ptr("SendMessageTimeoutA: lpdwResult"))?;
                }
                ret(cpu, 1)
            }
            Cont::NcCreate { hwnd, cs } => {
                let wndproc = self.user.windows.get(&hwnd).map(|w| w.wndproc);
                match wndproc {
                    Some(wp) if result != 0 => {
                        let cont = Cont::Create { hwnd, cs };
                        let args = [hwnd, WM_CREATE, 0, cs];
                        self.call_guest(k, t, cpu, wp, args, frame, cont).map(out)
                    }
                    _ => {
                        self.heap_free(p, cs);
                        self.remove_window(hwnd);
                        ret(cpu, 0)
                    }
                }
            }
            Cont::Create { hwnd, cs } => {
                self.heap_free(p, cs);
                if result as i32 == -1 || !self.user.windows.contains_key(&hwnd) {
                    self.remove_window(hwnd);
                    return ret(cpu, 0);
                }
                self.rec_window(k, t, "CreateWindowEx", hwnd);
                ret(cpu, hwnd)
            }
            Cont::Destroy { hwnd, ret: r } => {
                match self.user.windows.get(&hwnd).map(|w| w.wndproc) {
                    Some(wp) => {
                        let cont = Cont::Destroyed { hwnd, ret: r };
                        self.call_guest(k, t, cpu, wp, [hwnd, WM_NCDESTROY, 0, 0], frame, cont)
                            .map(out)
                    }
                    None => ret(cpu, r),
                }
            }
            Cont::Destroyed { hwnd, ret: r } => {
                self.rec_window(k, t, "DestroyWindow", hwnd);
                self.remove_window(hwnd);
                ret(cpu, r)
            }
            Cont::SentDone {
                id,
                sender,
                seq,
                cds,
                notify,
                replied,
            } => {
                if cds != 0 {
                    self.heap_free(p, cds);
                }
                if !notify && !replied {
                    self.answer(k, t, sender, id, seq, result);
                }
                Ok(Outcome::Continue)
            }
        }
    }

    /// Answer a sent message (the sender, if it still waits, gets `result`).
    fn answer<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        sender: ThreadId,
        id: u64,
        seq: u64,
        result: u32,
    ) {
        let waiting = self.user.sending.get(&sender).is_some_and(|s| s.id == id);
        let mut m = Message {
            seq: 0,
            personality: NAME,
            kind: MsgKind::Response,
            from: endpoint(k, t, 0),
            to: endpoint(k, sender, 0),
            channel: None,
            method: None,
            data: result.to_le_bytes().to_vec(),
            reply_to: Some(seq),
            area_offset: None,
        };
        // The answer is given as the window procedure returns: it cannot be held.
        let v = k.transmit_now(&mut m);
        let r = match v {
            Verdict::Allow => crate::data_word(&m.data, 0, result),
            _ => 0,
        };
        if let Some((f, data, hwnd, msg)) = self.user.cb_pending.remove(&id) {
            if let Some(q) = self.user.queues.get_mut(&sender) {
                if q.callbacks.len() < QUEUE_LIMIT {
                    q.callbacks.push_back((f, [hwnd, msg, data, r]));
                    q.changed |= QS_SENDMESSAGE;
                }
            }
            self.wake_res(k, &Res::Queue(sender));
            return;
        }
        if waiting {
            if let Some(s) = self.user.sending.get_mut(&sender) {
                s.answer = Some(r);
            }
            self.wake_res(k, &Res::Queue(sender));
        }
    }

    fn rec_window<M: GuestMemory>(&self, k: &Kernel<M>, t: ThreadId, op: &str, hwnd: u32) {
        if k.trace_on {
            let object = match self.user.windows.get(&hwnd) {
                Some(w) => format!("window \"{}\" (class \"{}\")", w.title, w.class),
                None => format!("window {hwnd:#x}"),
            };
            ipcemu_kernel::trace_rec!(
                k,
                t,
                "w32_obj",
                NAME,
                op = op,
                object = object.as_str(),
                handle = hwnd,
                result = hwnd as i64
            );
        }
    }

    /// Windows of an ended thread go; messages sent to it are answered with 0.
    pub(crate) fn user_thread_exited<M: GuestMemory>(&mut self, k: &mut Kernel<M>, t: ThreadId) {
        let gone: Vec<u32> = self
            .user
            .windows
            .iter()
            .filter(|(_, w)| w.thread == t)
            .map(|(&h, _)| h)
            .collect();
        for h in gone {
            self.remove_window(h);
        }
        self.user.sending.remove(&t);
        self.user.bsend.remove(&t);
        if let Some(q) = self.user.queues.remove(&t) {
            for s in q.sent.into_iter().filter(|s| !s.notify) {
                self.answer(k, t, s.from, s.id, s.seq, 0);
            }
        }
    }

    /// Run the window procedure for the next message sent to this thread, if any. The
    /// current call starts over when it returns.
    fn handle_sent<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
    ) -> Result<Option<R>, GuestFault> {
        loop {
            let Some(s) = self
                .user
                .queues
                .get_mut(&t)
                .and_then(|q| q.sent.pop_front())
            else {
                // Then the answers to this thread's SendMessageCallbackA messages.
                let cb = self
                    .user
                    .queues
                    .get_mut(&t)
                    .and_then(|q| q.callbacks.pop_front());
                if let Some((f, args)) = cb {
                    let esp = cpu.get(Reg::Esp);
                    return self
                        .call_guest(k, t, cpu, f, args, (esp, self.at), Cont::Callback)
                        .map(Some);
                }
                return Ok(None);
            };
            let wndproc = self
                .user
                .windows
                .get(&s.hwnd)
                .filter(|w| w.thread == t && w.wndproc != 0)
                .map(|w| w.wndproc);
            let Some(wp) = wndproc else {
                if !s.notify {
                    self.answer(k, t, s.from, s.id, s.seq, 0);
                }
                continue;
            };
            let mut lparam = s.lparam;
            let mut cds = 0;
            if let Some((dw, data)) = &s.copydata {
                cds = self.heap_alloc(k, t, p, 12 + data.len() as u32)?;
                if cds == 0 {
                    tracing::warn!("no heap left for a WM_COPYDATA payload: answered with 0");
                    self.answer(k, t, s.from, s.id, s.seq, 0);
                    continue;
                }
                let m = k.mem_of(t);
                let e = bad_ptr("WM_COPYDATA copy");
                let ptr = if data.is_empty() { 0 } else { cds + 12 };
                m.write_u32(cds, *dw).map_err(&e)?;
                m.write_u32(cds + 4, data.len() as u32).map_err(&e)?;
                m.write_u32(cds + 8, ptr).map_err(&e)?;
                m.write(cds + 12, data).map_err(&e)?;
                lparam = cds;
            }
            let esp = cpu.get(Reg::Esp);
            let cont = Cont::SentDone {
                id: s.id,
                sender: s.from,
                seq: s.seq,
                cds,
                notify: s.notify,
                replied: false,
            };
            let args = [s.hwnd, s.message, s.wparam, lparam];
            return self
                .call_guest(k, t, cpu, wp, args, (esp, self.at), cont)
                .map(Some);
        }
    }

    fn take_posted(&mut self, t: ThreadId, a: &[u32; 12], remove: bool) -> Option<Msg> {
        let q = self.user.queues.get_mut(&t)?;
        let (hf, min, max) = (a[1], a[2], a[3]);
        let i = q.posted.iter().position(|m| {
            let hwnd_ok = hf == 0 || (hf == u32::MAX && m.hwnd == 0) || m.hwnd == hf;
            let range_ok =
                (min == 0 && max == 0) || (min..=max).contains(&m.message) || m.message == WM_QUIT;
            hwnd_ok && range_ok
        })?;
        if remove {
            q.posted.remove(i)
        } else {
            q.posted.get(i).cloned()
        }
    }

    fn write_msg<M: GuestMemory>(
        k: &mut Kernel<M>,
        t: ThreadId,
        at: u32,
        m: &Msg,
    ) -> Result<(), GuestFault> {
        let mem = k.mem_of(t);
        let e = bad_ptr("MSG");
        for (i, v) in [m.hwnd, m.message, m.wparam, m.lparam, m.time, 0, 0]
            .iter()
            .enumerate()
        {
            mem.write_u32(at.wrapping_add(4 * i as u32), *v)
                .map_err(&e)?;
        }
        Ok(())
    }

    /// Queue a posted message for thread `to` through the kernel's message path.
    #[allow(clippy::too_many_arguments)]
    fn post<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        to: ThreadId,
        hwnd: u32,
        message: u32,
        wparam: u32,
        lparam: u32,
    ) -> u32 {
        let full = self.user.queues.get(&to).is_none_or_full();
        if full {
            self.set_err(k, t, ERROR_NOT_ENOUGH_QUOTA);
            return 0;
        }
        let mut data = Vec::with_capacity(16);
        for v in [hwnd, message, wparam, lparam] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        let mut m = Message {
            seq: 0,
            personality: NAME,
            kind: MsgKind::Queued,
            from: endpoint(k, t, 0),
            to: endpoint(k, to, hwnd),
            channel: None,
            method: Some((0, message)),
            data,
            reply_to: None,
            area_offset: None,
        };
        match crate::transmit_queued(k, &mut m, false) {
            Ok(true) => {}
            Ok(false) => return 1,
            Err(e) => {
                self.set_err(k, t, e);
                return 0;
            }
        }
        let w = |i: usize, d: u32| crate::data_word(&m.data, i, d);
        let msg = Msg {
            hwnd: w(0, hwnd),
            message: w(1, message),
            wparam: w(2, wparam),
            lparam: w(3, lparam),
            time: (k.now_ns() / 1_000_000) as u32,
        };
        if let Some(q) = self.user.queues.get_mut(&to) {
            q.posted.push_back(msg);
            q.changed |= QS_POSTMESSAGE | QS_ALLPOSTMESSAGE;
        }
        self.wake_res(k, &Res::Queue(to));
        1
    }

    /// Whether thread `t`'s queue has the input a `MsgWaitForMultipleObjects` waits for.
    pub(crate) fn input_ready(&self, t: ThreadId, iw: &InputWait, now: u64) -> bool {
        self.user.queues.get(&t).is_some_and(|q| {
            let bits = if iw.available {
                q.wake_bits(now)
            } else {
                q.new_bits(now)
            };
            bits & iw.mask != 0
        })
    }

    /// When the next of thread `t`'s timers that passes the filter (`hwnd`, message range)
    /// of a message-loop call is due; timers of windows that are gone are dropped first.
    pub(crate) fn next_timer_due(
        &mut self,
        t: ThreadId,
        hf: u32,
        min: u32,
        max: u32,
    ) -> Option<u64> {
        let windows = &self.user.windows;
        let q = self.user.queues.get_mut(&t)?;
        q.timers
            .retain(|x| x.hwnd == 0 || windows.get(&x.hwnd).is_some_and(|w| w.thread == t));
        q.timers
            .iter()
            .filter(|x| timer_passes(x, hf, min, max))
            .map(|x| x.due)
            .min()
    }

    /// The `WM_TIMER` of the first due timer that passes the filter; taken (`remove`), the
    /// timer is due again `elapse` ms from now.
    fn take_timer(&mut self, t: ThreadId, a: &[u32; 12], remove: bool, now: u64) -> Option<Msg> {
        let due = self.next_timer_due(t, a[1], a[2], a[3])?;
        if due > now {
            return None;
        }
        let q = self.user.queues.get_mut(&t)?;
        let x = q
            .timers
            .iter_mut()
            .find(|x| x.due == due && timer_passes(x, a[1], a[2], a[3]))?;
        if remove {
            x.due = now + u64::from(x.elapse) * 1_000_000;
        }
        Some(Msg {
            hwnd: x.hwnd,
            message: WM_TIMER,
            wparam: x.id,
            lparam: x.timer_proc,
            time: (now / 1_000_000) as u32,
        })
    }

    /// `SetTimer(hWnd, nIDEvent, uElapse, lpTimerFunc)`.
    fn set_timer<M: GuestMemory>(&mut self, k: &mut Kernel<M>, t: ThreadId, a: &[u32; 12]) -> u32 {
        let (hwnd, id, elapse, timer_proc) = (a[0], a[1], a[2], a[3]);
        if hwnd != 0 && !self.is_own_window(t, hwnd) {
            self.set_err(k, t, ERROR_INVALID_WINDOW_HANDLE);
            return 0;
        }
        let elapse = elapse.clamp(TIMER_MIN_MS, TIMER_MAX_MS);
        let due = k.now_ns() + u64::from(elapse) * 1_000_000;
        let Some(q) = self.user.queues.get_mut(&t) else {
            return 0;
        };
        // A window timer is named by (window, id); a thread timer by the id SetTimer gave.
        let same = |x: &Timer| x.hwnd == hwnd && x.id == id && (hwnd != 0 || id != 0);
        if let Some(x) = q.timers.iter_mut().find(|x| same(x)) {
            x.elapse = elapse;
            x.timer_proc = timer_proc;
            x.due = due;
            return if hwnd != 0 { id.max(1) } else { id };
        }
        if q.timers.len() >= MAX_TIMERS {
            self.set_err(k, t, ERROR_NO_SYSTEM_RESOURCES);
            return 0;
        }
        let id = if hwnd != 0 {
            id
        } else {
            // The next id of the world's cycle that none of this thread's timers has (there
            // are fewer timers than ids, so one is free).
            loop {
                self.user.next_timer = self.user.next_timer % 0x7FFF + 1;
                let id = 0x7FFF_0000 | self.user.next_timer;
                if !q.timers.iter().any(|x| x.hwnd == 0 && x.id == id) {
                    break id;
                }
            }
        };
        q.timers.push(Timer {
            hwnd,
            id,
            elapse,
            timer_proc,
            due,
        });
        if hwnd != 0 {
            id.max(1)
        } else {
            id
        }
    }

    /// Whether thread `t`'s window procedure is handling a message another thread sent (the
    /// innermost call the personality made): its `ISMEX_*` kind, and whether it was replied to.
    fn in_send(&self, t: ThreadId) -> Option<(u32, bool)> {
        match self.threads.get(&t)?.frames.last().map(|f| &f.cont) {
            Some(Cont::SentDone {
                id,
                notify,
                replied,
                ..
            }) => {
                let kind = if *notify {
                    ISMEX_NOTIFY
                } else if self.user.cb_pending.contains_key(id) {
                    ISMEX_CALLBACK
                } else {
                    ISMEX_SEND
                };
                Some((kind, *replied))
            }
            _ => None,
        }
    }

    /// `SendNotifyMessageA(hWnd, Msg, wParam, lParam)`: a window of the caller's thread gets
    /// the message at once (its procedure runs, the call returns TRUE); another thread's gets
    /// it as a sent message that nobody waits for.
    fn send_notify<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
        after_call: (u32, u32),
        cb: Option<(u32, u32)>,
    ) -> Ret {
        if a[1] == WM_COPYDATA {
            // Its data would have to outlive the call: Windows refuses it the same way.
            self.set_err(k, t, ERROR_MESSAGE_SYNC_ONLY);
            return Ok(R::Val(0));
        }
        if a[0] == HWND_BROADCAST {
            // Every top-level window of the world, oldest first: other threads' get it
            // queued, the caller's own are called one after the other before the call returns.
            let tops = self.top_level_windows();
            let mut own = Vec::new();
            for (h, to) in tops {
                if to == t {
                    own.push(h);
                } else if let Some(e) = self.queue_notify(k, t, to, h, a, cb) {
                    self.set_err(k, t, e);
                    return Ok(R::Val(0));
                }
            }
            own.reverse(); // taken from the end
            return self.broadcast_next(k, t, cpu, after_call, own, [a[1], a[2], a[3]], cb);
        }
        let Some(w) = self.user.windows.get(&a[0]) else {
            self.set_err(k, t, ERROR_INVALID_WINDOW_HANDLE);
            return Ok(R::Val(0));
        };
        let (to, wp) = (w.thread, w.wndproc);
        if to == t {
            // The caller's own window: the procedure now, then (SendMessageCallbackA) the
            // callback with its result.
            let args = [a[0], a[1], a[2], a[3]];
            return match (wp, cb) {
                (0, None) => Ok(R::Val(1)),
                (0, Some((f, data))) => {
                    let cargs = [a[0], a[1], data, 0];
                    self.call_guest(k, t, cpu, f, cargs, after_call, Cont::ReturnVia { out: 0 })
                }
                (wp, None) => {
                    self.call_guest(k, t, cpu, wp, args, after_call, Cont::ReturnVia { out: 0 })
                }
                (wp, Some((f, data))) => {
                    let cont = Cont::ThenCallback {
                        f,
                        data,
                        hwnd: a[0],
                        msg: a[1],
                    };
                    self.call_guest(k, t, cpu, wp, args, after_call, cont)
                }
            };
        }
        match self.queue_notify(k, t, to, a[0], a, cb) {
            None => Ok(R::Val(1)),
            Some(e) => {
                self.set_err(k, t, e);
                Ok(R::Val(0))
            }
        }
    }

    /// Queue a notification (or, with `cb`, a message whose answer goes to the callback) for
    /// window `hwnd` of another thread `to`; an error code if it cannot be.
    fn queue_notify<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        to: ThreadId,
        hwnd: u32,
        a: &[u32; 12],
        cb: Option<(u32, u32)>,
    ) -> Option<u32> {
        let mine = self.user.queues.get(&t).map_or(0, |q| q.callbacks.len());
        let full = mine >= QUEUE_LIMIT
            || self
                .user
                .queues
                .get(&to)
                .is_none_or(|q| q.sent.len() >= QUEUE_LIMIT);
        if full {
            return Some(ERROR_NOT_ENOUGH_QUOTA);
        }
        // A notification expects no answer (queued); a callback's message does (a request).
        let kind = if cb.is_some() {
            MsgKind::Request
        } else {
            MsgKind::Queued
        };
        let mut m = Message {
            seq: 0,
            personality: NAME,
            kind,
            from: endpoint(k, t, 0),
            to: endpoint(k, to, hwnd),
            channel: None,
            method: Some((0, a[1])),
            data: [hwnd, a[1], a[2], a[3]]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            reply_to: None,
            area_offset: None,
        };
        match crate::transmit_queued(k, &mut m, false) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => return Some(e),
        }
        let word = |i: usize, d: u32| crate::data_word(&m.data, i, d);
        self.next_wait += 1;
        let id = self.next_wait;
        if let Some(q) = self.user.queues.get_mut(&to) {
            q.sent.push_back(Sent {
                id,
                seq: m.seq,
                from: t,
                hwnd,
                message: word(1, a[1]),
                wparam: word(2, a[2]),
                lparam: word(3, a[3]),
                copydata: None,
                notify: cb.is_none(),
            });
            q.changed |= QS_SENDMESSAGE;
        }
        if let Some((f, data)) = cb {
            self.user.cb_pending.insert(id, (f, data, hwnd, a[1]));
        }
        self.wake_res(k, &Res::Queue(to));
        None
    }

    /// `SendMessageA`/`SendMessageTimeoutA` to `HWND_BROADCAST`: to every top-level window of
    /// the world in turn, oldest first, each as a send of its own (with its own time-out);
    /// the caller's own windows are called directly. The call starts over after each window
    /// and goes on with the next (state in `bsend`); TRUE at the end.
    #[allow(clippy::too_many_arguments)]
    fn broadcast_send<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
        after_call: (u32, u32),
        smto: Option<Smto>,
    ) -> Ret {
        let at = self.at;
        let (mut rest, mut cur) = match self.user.bsend.remove(&t).filter(|x| x.0 == at) {
            Some((_, r, c)) => (r, c),
            None => {
                let mut tops: Vec<u32> = self
                    .top_level_windows()
                    .into_iter()
                    .map(|(h, _)| h)
                    .collect();
                tops.reverse();
                (tops, None)
            }
        };
        loop {
            if let Some(h) = cur {
                let mut b = *a;
                b[0] = h;
                match self.send_message(k, t, p, cpu, &b, after_call, smto)? {
                    // Answered, timed out or gone: the next window.
                    R::Val(_) => cur = None,
                    R::Out(o) => {
                        self.user.bsend.insert(t, (at, rest, cur));
                        return Ok(R::Out(o));
                    }
                }
            }
            let Some(h) = rest.pop() else {
                return Ok(R::Val(1));
            };
            let Some(w) = self.user.windows.get(&h) else {
                continue;
            };
            if w.thread != t {
                cur = Some(h);
                continue;
            }
            if w.wndproc == 0 {
                continue;
            }
            // The caller's own window: its procedure now; the call then starts over.
            let wp = w.wndproc;
            self.user.bsend.insert(t, (at, rest, None));
            let esp = cpu.get(Reg::Esp);
            let args = [h, a[1], a[2], a[3]];
            return self.call_guest(k, t, cpu, wp, args, (esp, at), Cont::Callback);
        }
    }

    /// The next of the caller's own windows of a broadcast `SendNotifyMessageA`/
    /// `SendMessageCallbackA` (`own`, taken from the end): its procedure, then (with `cb`)
    /// the callback; TRUE when none is left.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn broadcast_next<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        frame: (u32, u32),
        mut own: Vec<u32>,
        m: [u32; 3],
        cb: Option<(u32, u32)>,
    ) -> Ret {
        while let Some(h) = own.pop() {
            let wp = match self.user.windows.get(&h) {
                Some(w) if w.thread == t => w.wndproc,
                _ => continue,
            };
            // Its procedure, then (after: Some) its callback; without a procedure the callback
            // gets 0 at once, and without either there is nothing to call.
            let (f, args, after) = match (wp, cb) {
                (0, None) => continue,
                (0, Some((f, data))) => (f, [h, m[0], data, 0], None),
                (wp, _) => (wp, [h, m[0], m[1], m[2]], Some(h)),
            };
            let cont = Cont::Broadcast { own, m, cb, after };
            return self.call_guest(k, t, cpu, f, args, frame, cont);
        }
        Ok(R::Val(1))
    }

    /// Whether window `hwnd` exists and belongs to thread `t`.
    fn is_own_window(&self, t: ThreadId, hwnd: u32) -> bool {
        self.user.windows.get(&hwnd).is_some_and(|w| w.thread == t)
    }

    /// `KillTimer(hWnd, uIDEvent)`.
    fn kill_timer<M: GuestMemory>(&mut self, k: &mut Kernel<M>, t: ThreadId, a: &[u32; 12]) -> u32 {
        let (hwnd, id) = (a[0], a[1]);
        if hwnd != 0 && !self.is_own_window(t, hwnd) {
            self.set_err(k, t, ERROR_INVALID_WINDOW_HANDLE);
            return 0;
        }
        let Some(q) = self.user.queues.get_mut(&t) else {
            return 0;
        };
        let before = q.timers.len();
        q.timers.retain(|x| !(x.hwnd == hwnd && x.id == id));
        u32::from(q.timers.len() != before)
    }

    fn class_name<M: GuestMemory>(
        &self,
        k: &mut Kernel<M>,
        t: ThreadId,
        ptr: u32,
    ) -> Result<String, GuestFault> {
        if ptr < 0x1_0000 {
            Ok(format!("#{ptr}"))
        } else {
            self.sarg(k, t, ptr, "class name")
        }
    }

    fn find_window<M: GuestMemory>(
        &self,
        k: &mut Kernel<M>,
        t: ThreadId,
        parent: u32,
        after: u32,
        class: u32,
        title: u32,
    ) -> Result<u32, GuestFault> {
        let class_s = if class >= 0x1_0000 {
            Some(class_key(&self.sarg(
                k,
                t,
                class,
                "FindWindow: class name",
            )?))
        } else {
            None
        };
        let title_s = if title != 0 {
            Some(
                self.sarg(k, t, title, "FindWindow: window name")?
                    .to_ascii_lowercase(),
            )
        } else {
            None
        };
        // Newest first (the top of the z-order), after `after` when given.
        let mut past = after == 0;
        for (&h, w) in self.user.windows.iter().rev() {
            if !past {
                past = h == after;
                continue;
            }
            let class_ok = match (&class_s, class) {
                (Some(c), _) => class_key(&w.class) == *c,
                (None, 0) => true,
                (None, atom) => w.atom == atom,
            };
            let title_ok = title_s
                .as_ref()
                .is_none_or_eq(&w.title.to_ascii_lowercase());
            if w.parent == parent && class_ok && title_ok {
                return Ok(h);
            }
        }
        Ok(0)
    }

    /// One USER32 function.
    #[allow(clippy::too_many_lines)]
    pub(crate) fn user_call<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        f: crate::Func,
        a: &[u32; 12],
    ) -> Ret {
        use crate::Func::*;
        let esp = cpu.get(Reg::Esp);
        let after_call = (esp, self.at.wrapping_add(2));
        Ok(match f {
            GetMessageA | PeekMessageA => {
                let peek = f == PeekMessageA;
                if a[1] != 0 && a[1] != u32::MAX && !self.user.windows.contains_key(&a[1]) {
                    self.set_err(k, t, ERROR_INVALID_WINDOW_HANDLE);
                    return Ok(R::Val(if peek { 0 } else { u32::MAX }));
                }
                // Looking at the queue makes the input in it old (MsgWaitForMultipleObjects).
                let unfiltered = a[1] == 0 && a[2] == 0 && a[3] == 0;
                let now = k.now_ns();
                if let Some(q) = self.user.queues.get_mut(&t) {
                    q.last_look = now;
                    q.changed &= !(QS_POSTMESSAGE | QS_SENDMESSAGE | QS_TIMER);
                    if unfiltered {
                        q.changed &= !QS_ALLPOSTMESSAGE;
                    }
                }
                if let Some(r) = self.handle_sent(k, t, p, cpu)? {
                    return Ok(r);
                }
                let remove = !peek || a[4] & PM_REMOVE != 0;
                if let Some(m) = self.take_posted(t, a, remove) {
                    Self::write_msg(k, t, a[0], &m)?;
                    return Ok(R::Val(if peek {
                        1
                    } else {
                        u32::from(m.message != WM_QUIT)
                    }));
                }
                let quit = self.user.queues.get(&t).and_then(|q| q.quit);
                if let Some(code) = quit {
                    if remove {
                        if let Some(q) = self.user.queues.get_mut(&t) {
                            q.quit = None;
                        }
                    }
                    let m = Msg {
                        hwnd: 0,
                        message: WM_QUIT,
                        wparam: code,
                        lparam: 0,
                        time: (k.now_ns() / 1_000_000) as u32,
                    };
                    Self::write_msg(k, t, a[0], &m)?;
                    return Ok(R::Val(u32::from(peek)));
                }
                if let Some(m) = self.take_timer(t, a, remove, now) {
                    Self::write_msg(k, t, a[0], &m)?;
                    return Ok(R::Val(1));
                }
                if peek {
                    return Ok(R::Val(0));
                }
                // A timer wakes the call when it is due (the call then makes its WM_TIMER).
                let due = self.next_timer_due(t, a[1], a[2], a[3]);
                let text = "waits for a message (GetMessageA)".to_string();
                self.block_retry_until(k, t, cpu, Res::Queue(t), "w32_msg", text, due)
            }
            SendNotifyMessageA => return self.send_notify(k, t, cpu, a, after_call, None),
            SendMessageCallbackA => {
                let cb = Some((a[4], a[5]));
                return self.send_notify(k, t, cpu, a, after_call, cb);
            }
            InSendMessage => R::Val(u32::from(self.in_send(t).is_some())),
            InSendMessageEx => R::Val(match self.in_send(t) {
                None => ISMEX_NOSEND,
                Some((kind, replied)) => kind | if replied { ISMEX_REPLIED } else { 0 },
            }),
            ReplyMessage => {
                // The message this thread's window procedure handles now, if another thread
                // sent it and waits: answered now; the procedure's result is dropped later.
                let top = self
                    .threads
                    .get_mut(&t)
                    .and_then(|x| x.frames.last_mut())
                    .map(|f| &mut f.cont);
                let to_answer = match top {
                    Some(Cont::SentDone {
                        id,
                        sender,
                        seq,
                        notify: false,
                        replied,
                        ..
                    }) if !*replied => {
                        *replied = true;
                        Some((*id, *sender, *seq))
                    }
                    _ => None,
                };
                match to_answer {
                    Some((id, sender, seq)) => {
                        self.answer(k, t, sender, id, seq, a[0]);
                        R::Val(1)
                    }
                    None => R::Val(0),
                }
            }
            WaitMessage => {
                // Messages sent to the thread (and SendMessageCallbackA answers) run; then it
                // returns once new input is in the queue, or waits for it (a timer wakes it).
                self.looked(k, t);
                if let Some(r) = self.handle_sent(k, t, p, cpu)? {
                    return Ok(r);
                }
                let now = k.now_ns();
                if self
                    .user
                    .queues
                    .get(&t)
                    .is_some_and(|q| q.new_bits(now) != 0)
                {
                    return Ok(R::Val(1));
                }
                let due = self.next_timer_due(t, 0, 0, 0);
                let text = "waits for a message (WaitMessage)".to_string();
                self.block_retry_until(k, t, cpu, Res::Queue(t), "w32_msg", text, due)
            }
            SetTimer => R::Val(self.set_timer(k, t, a)),
            KillTimer => R::Val(self.kill_timer(k, t, a)),
            GetQueueStatus => {
                let now = k.now_ns();
                let flags = a[0] & 0xFFFF;
                match self.user.queues.get_mut(&t) {
                    Some(q) => {
                        let (wake, new) = (q.wake_bits(now), q.new_bits(now));
                        q.changed &= !flags;
                        R::Val(((wake & flags) << 16) | (new & flags))
                    }
                    None => R::Val(0),
                }
            }
            SendMessageTimeoutA => {
                let smto = Smto {
                    flags: a[4],
                    ms: a[5],
                    out: a[6],
                };
                return self.send_message(k, t, p, cpu, a, after_call, Some(smto));
            }
            PostThreadMessageA => {
                let to = k
                    .thread_by_pid(a[0])
                    .filter(|x| self.threads.contains_key(x) && self.user.queues.contains_key(x));
                match to {
                    Some(to) => R::Val(self.post(k, t, to, 0, a[1], a[2], a[3])),
                    None => {
                        self.set_err(k, t, ERROR_INVALID_THREAD_ID);
                        R::Val(0)
                    }
                }
            }
            PostMessageA if a[0] == HWND_BROADCAST => {
                // Every top-level window of the world (not message-only ones, not children),
                // oldest first, each through the message path.
                let tops = self.top_level_windows();
                for (h, to) in tops {
                    self.post(k, t, to, h, a[1], a[2], a[3]);
                }
                R::Val(1)
            }
            PostMessageA => {
                let to = if a[0] == 0 {
                    Some(t)
                } else {
                    self.user.windows.get(&a[0]).map(|w| w.thread)
                };
                match to {
                    Some(to) => R::Val(self.post(k, t, to, a[0], a[1], a[2], a[3])),
                    None => {
                        self.set_err(k, t, ERROR_INVALID_WINDOW_HANDLE);
                        R::Val(0)
                    }
                }
            }
            SendMessageA => return self.send_message(k, t, p, cpu, a, after_call, None),
            RegisterClassA | RegisterClassExA => {
                let (wp_off, name_off) = if f == RegisterClassA {
                    (4, 36)
                } else {
                    (8, 40)
                };
                let m = k.mem_of(t);
                let e = bad_ptr("RegisterClass: WNDCLASS");
                let wndproc = m.read_u32(a[0].wrapping_add(wp_off)).map_err(&e)?;
                let name_ptr = m.read_u32(a[0].wrapping_add(name_off)).map_err(&e)?;
                let name = self.class_name(k, t, name_ptr)?;
                let key = (p, class_key(&name));
                if self.user.classes.contains_key(&key) {
                    self.set_err(k, t, ERROR_CLASS_ALREADY_EXISTS);
                    return Ok(R::Val(0));
                }
                if self.atoms_full() {
                    self.set_err(k, t, ERROR_NOT_ENOUGH_MEMORY);
                    return Ok(R::Val(0));
                }
                let atom = self.new_atom();
                self.user.classes.insert(
                    key,
                    Class {
                        atom,
                        wndproc,
                        name,
                    },
                );
                R::Val(atom)
            }
            CreateWindowExA => return self.create_window(k, t, p, cpu, a, after_call),
            DefWindowProcA => match a[1] {
                WM_NCCREATE => R::Val(1),
                WM_CLOSE => return self.destroy_window(k, t, cpu, a[0], 0, after_call),
                _ => R::Val(0),
            },
            DestroyWindow => return self.destroy_window(k, t, cpu, a[0], 1, after_call),
            DispatchMessageA => {
                let m = k.mem_of(t);
                let e = bad_ptr("DispatchMessageA: MSG");
                let mut v = [0u32; 4];
                for (i, x) in v.iter_mut().enumerate() {
                    *x = m.read_u32(a[0].wrapping_add(4 * i as u32)).map_err(&e)?;
                }
                if v[1] == WM_TIMER && v[3] != 0 {
                    // A timer with a TimerProc: DispatchMessageA calls it (only a procedure
                    // given to SetTimer of this thread, as Windows checks), with the time.
                    let known = self
                        .user
                        .queues
                        .get(&t)
                        .is_some_and(|q| q.timers.iter().any(|x| x.timer_proc == v[3]));
                    if known {
                        let now = (k.now_ns() / 1_000_000) as u32;
                        let args = [v[0], WM_TIMER, v[2], now];
                        return self.call_guest(k, t, cpu, v[3], args, after_call, Cont::Return);
                    }
                }
                if v[0] == 0 {
                    return Ok(R::Val(0));
                }
                match self.user.windows.get(&v[0]) {
                    Some(w) if w.thread == t && w.wndproc != 0 => {
                        let wp = w.wndproc;
                        return self.call_guest(k, t, cpu, wp, v, after_call, Cont::Return);
                    }
                    _ => {
                        self.set_err(k, t, ERROR_INVALID_WINDOW_HANDLE);
                        R::Val(0)
                    }
                }
            }
            TranslateMessage => R::Val(0),
            PostQuitMessage => {
                if let Some(q) = self.user.queues.get_mut(&t) {
                    q.quit = Some(a[0]);
                    q.changed |= QS_POSTMESSAGE | QS_ALLPOSTMESSAGE;
                }
                R::Val(0)
            }
            FindWindowA => R::Val(self.find_window(k, t, 0, 0, a[0], a[1])?),
            FindWindowExA => R::Val(self.find_window(k, t, a[0], a[1], a[2], a[3])?),
            RegisterWindowMessageA => {
                let name = self.sarg(k, t, a[0], "RegisterWindowMessageA")?;
                if name.is_empty() {
                    self.set_err(k, t, ERROR_INVALID_PARAMETER);
                    return Ok(R::Val(0));
                }
                let key = name.to_ascii_lowercase();
                match self.user.atoms.get(&key) {
                    Some(&a) => R::Val(a),
                    None if self.atoms_full() => {
                        self.set_err(k, t, ERROR_NOT_ENOUGH_MEMORY);
                        R::Val(0)
                    }
                    None => {
                        let atom = self.new_atom();
                        self.user.atoms.insert(key, atom);
                        R::Val(atom)
                    }
                }
            }
            IsWindow => R::Val(u32::from(self.user.windows.contains_key(&a[0]))),
            GetWindowThreadProcessId => match self.user.windows.get(&a[0]) {
                Some(w) => {
                    let tid = k.threads[w.thread].pid;
                    let pid = self.procs.get(&w.proc).map_or(0, |ps| ps.pid);
                    if a[1] != 0 {
                        k.mem_of(t)
                            .write_u32(a[1], pid)
                            .map_err(bad_ptr("GetWindowThreadProcessId"))?;
                    }
                    R::Val(tid)
                }
                None => {
                    self.set_err(k, t, ERROR_INVALID_WINDOW_HANDLE);
                    R::Val(0)
                }
            },
            _ => R::Val(0),
        })
    }

    /// The top-level windows of the world (not message-only ones, not children), oldest first,
    /// with their threads: what `HWND_BROADCAST` reaches.
    fn top_level_windows(&self) -> Vec<(u32, ThreadId)> {
        self.user
            .windows
            .iter()
            .filter(|(_, w)| w.parent == 0)
            .map(|(&h, w)| (h, w.thread))
            .collect()
    }

    /// A window goes (its process's count with it).
    fn remove_window(&mut self, hwnd: u32) {
        if let Some(w) = self.user.windows.remove(&hwnd) {
            if let Some(c) = self.user.per_proc.get_mut(&w.proc) {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    self.user.per_proc.remove(&w.proc);
                }
            }
        }
    }

    /// Whether the atom table (registered classes and window messages share it) is full.
    fn atoms_full(&self) -> bool {
        self.user.atoms.len() + self.user.classes.len() >= ATOMS
    }

    fn new_atom(&mut self) -> u32 {
        self.user.next_atom = (self.user.next_atom + 1) % 0x3FFF;
        0xC000 + self.user.next_atom
    }

    fn create_window<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
        after_call: (u32, u32),
    ) -> Ret {
        let class = if a[1] < 0x1_0000 {
            self.user
                .classes
                .iter()
                .find(|((pp, _), c)| *pp == p && c.atom == a[1])
                .map(|(_, c)| c.clone())
        } else {
            let name = self.sarg(k, t, a[1], "CreateWindowExA: class name")?;
            self.user.classes.get(&(p, class_key(&name))).cloned()
        };
        let Some(class) = class else {
            self.set_err(k, t, ERROR_CANNOT_FIND_WND_CLASS);
            return Ok(R::Val(0));
        };
        let title = if a[2] != 0 {
            self.sarg(k, t, a[2], "CreateWindowExA: window name")?
        } else {
            String::new()
        };
        let parent = a[8];
        if parent != 0 && parent != HWND_MESSAGE && !self.user.windows.contains_key(&parent) {
            self.set_err(k, t, ERROR_INVALID_WINDOW_HANDLE);
            return Ok(R::Val(0));
        }
        if self.user.per_proc.get(&p).copied().unwrap_or(0) >= MAX_WINDOWS {
            self.set_err(k, t, ERROR_NOT_ENOUGH_QUOTA);
            return Ok(R::Val(0));
        }
        *self.user.per_proc.entry(p).or_insert(0) += 1;
        self.user.next_hwnd += 1;
        let hwnd = 0x0001_0000 + 2 * self.user.next_hwnd;
        self.user.windows.insert(
            hwnd,
            Window {
                class: class.name.clone(),
                atom: class.atom,
                title,
                thread: t,
                proc: p,
                wndproc: class.wndproc,
                parent,
            },
        );
        if class.wndproc == 0 {
            self.rec_window(k, t, "CreateWindowEx", hwnd);
            return Ok(R::Val(hwnd));
        }
        // CREATESTRUCTA, in reverse order of CreateWindowExA's arguments.
        let cs = self.heap_alloc(k, t, p, 48)?;
        if cs == 0 {
            self.remove_window(hwnd);
            self.set_err(k, t, ERROR_NOT_ENOUGH_MEMORY);
            return Ok(R::Val(0));
        }
        let m = k.mem_of(t);
        for i in 0..12u32 {
            m.write_u32(cs + 4 * i, a[11 - i as usize])
                .map_err(bad_ptr("CREATESTRUCT"))?;
        }
        let cont = Cont::NcCreate { hwnd, cs };
        self.call_guest(
            k,
            t,
            cpu,
            class.wndproc,
            [hwnd, WM_NCCREATE, 0, cs],
            after_call,
            cont,
        )
    }

    fn destroy_window<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        hwnd: u32,
        ret: u32,
        after_call: (u32, u32),
    ) -> Ret {
        let Some(w) = self.user.windows.get(&hwnd) else {
            self.set_err(k, t, ERROR_INVALID_WINDOW_HANDLE);
            return Ok(R::Val(0));
        };
        if w.thread != t {
            self.set_err(k, t, ERROR_ACCESS_DENIED);
            return Ok(R::Val(0));
        }
        if w.wndproc == 0 {
            self.rec_window(k, t, "DestroyWindow", hwnd);
            self.remove_window(hwnd);
            return Ok(R::Val(ret));
        }
        let wp = w.wndproc;
        let cont = Cont::Destroy { hwnd, ret };
        self.call_guest(k, t, cpu, wp, [hwnd, WM_DESTROY, 0, 0], after_call, cont)
    }

    /// Block the thread in its cross-thread `SendMessageA` until something is sent to it or
    /// its answer comes (both wake its queue); the call then starts over.
    ///
    /// (See also [`Self::is_hung`], which `SMTO_ABORTIFHUNG` asks before sending.)
    #[allow(clippy::too_many_arguments)]
    fn wait_send<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        to: ThreadId,
        msg: u32,
        hwnd: u32,
        deadline: Option<u64>,
    ) -> Ret {
        let op = if deadline.is_some() {
            "SendMessageTimeoutA"
        } else {
            "SendMessageA"
        };
        let text = format!(
            "waits for {} to handle message {msg:#x} sent to window {hwnd:#x} ({op})",
            k.thread_label(to),
        );
        Ok(self.block_retry_until(k, t, cpu, Res::Queue(t), "w32_send", text, deadline))
    }

    /// Thread `t` looked at its queue now (`MsgWaitForMultipleObjects(Ex)`, `WaitMessage`).
    pub(crate) fn looked<M: GuestMemory>(&mut self, k: &Kernel<M>, t: ThreadId) {
        let now = k.now_ns();
        if let Some(q) = self.user.queues.get_mut(&t) {
            q.last_look = now;
        }
    }

    /// `IsHungAppWindow`'s rule, in guest time: thread `to` has a queue, has not looked at it
    /// for more than 5 s, and is not waiting for input now (in `GetMessageA`, `WaitMessage` or
    /// `MsgWaitForMultipleObjects`).
    fn is_hung<M: GuestMemory>(&self, k: &Kernel<M>, to: ThreadId) -> bool {
        let Some(q) = self.user.queues.get(&to) else {
            return false;
        };
        if k.now_ns().saturating_sub(q.last_look) <= HUNG_NS {
            return false;
        }
        let in_get = k
            .blocker_of::<crate::Block>(to)
            .is_some_and(|b| b.what == "w32_msg");
        let in_msg_wait = self.in_msg_wait(to);
        !(in_get || in_msg_wait)
    }

    #[allow(clippy::too_many_arguments)]
    fn send_message<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
        after_call: (u32, u32),
        smto: Option<Smto>,
    ) -> Ret {
        if a[0] == HWND_BROADCAST {
            return self.broadcast_send(k, t, p, cpu, a, after_call, smto);
        }
        // The call's result: SendMessageA returns the answer; SendMessageTimeoutA stores it
        // at lpdwResult and returns TRUE.
        let done = |k: &mut Kernel<M>, r: u32| -> Ret {
            match smto {
                None => Ok(R::Val(r)),
                Some(s) => {
                    if s.out != 0 {
                        k.mem_of(t)
                            .write_u32(s.out, r)
                            .map_err(bad_ptr("SendMessageTimeoutA: lpdwResult"))?;
                    }
                    Ok(R::Val(1))
                }
            }
        };
        if let Some(&sending) = self.user.sending.get(&t) {
            // The call started over: the answer, the time-out, a message sent to this thread
            // meanwhile, or more waiting.
            if let Some(r) = sending.answer {
                self.user.sending.remove(&t);
                return done(k, r);
            }
            if sending.deadline.is_some_and(|d| k.now_ns() >= d) {
                // The receiver may still handle the message; its answer is dropped then.
                self.user.sending.remove(&t);
                self.set_err(k, t, ERROR_TIMEOUT);
                return Ok(R::Val(0));
            }
            let block = smto.is_some_and(|s| s.flags & SMTO_BLOCK != 0);
            if !block {
                if let Some(r) = self.handle_sent(k, t, p, cpu)? {
                    return Ok(r);
                }
            }
            let to = self.user.windows.get(&a[0]).map_or(t, |w| w.thread);
            return self.wait_send(k, t, cpu, to, a[1], a[0], sending.deadline);
        }
        let Some(w) = self.user.windows.get(&a[0]) else {
            self.set_err(k, t, ERROR_INVALID_WINDOW_HANDLE);
            return Ok(R::Val(0));
        };
        let (to, wp) = (w.thread, w.wndproc);
        let args = [a[0], a[1], a[2], a[3]];
        if to != t && smto.is_some_and(|s| s.flags & SMTO_ABORTIFHUNG != 0) && self.is_hung(k, to) {
            self.set_err(k, t, ERROR_TIMEOUT);
            return Ok(R::Val(0));
        }
        if to == t {
            // The caller's own window: the window procedure runs now (no time-out applies).
            if wp == 0 {
                return done(k, 0);
            }
            let cont = match smto {
                None => Cont::Return,
                Some(s) => Cont::ReturnVia { out: s.out },
            };
            return self.call_guest(k, t, cpu, wp, args, after_call, cont);
        }
        let copydata = if a[1] == WM_COPYDATA && a[3] != 0 {
            let m = k.mem_of(t);
            let e = bad_ptr("SendMessageA: COPYDATASTRUCT");
            let dw = m.read_u32(a[3]).map_err(&e)?;
            let cb = m.read_u32(a[3].wrapping_add(4)).map_err(&e)?;
            let ptr = m.read_u32(a[3].wrapping_add(8)).map_err(&e)?;
            if cb > MAX_COPYDATA {
                self.set_err(k, t, ERROR_NOT_ENOUGH_MEMORY);
                return Ok(R::Val(0));
            }
            let mut data = vec![0u8; cb as usize];
            if cb > 0 {
                k.mem_of(t)
                    .read(ptr, &mut data)
                    .map_err(bad_ptr("SendMessageA: WM_COPYDATA lpData"))?;
            }
            Some((dw, data))
        } else {
            None
        };
        let data = match &copydata {
            Some((_, d)) => d.clone(),
            None => args.iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        let mut m = Message {
            seq: 0,
            personality: NAME,
            kind: MsgKind::Request,
            from: endpoint(k, t, 0),
            to: endpoint(k, to, a[0]),
            channel: None,
            method: Some((0, a[1])),
            data,
            reply_to: None,
            area_offset: None,
        };
        match k.transmit(&mut m) {
            Verdict::Allow => {}
            Verdict::Deny(_) => {
                self.set_err(k, t, ERROR_ACCESS_DENIED);
                return Ok(R::Val(0));
            }
            Verdict::Drop(_) | Verdict::Delay(_) => return Ok(R::Val(0)),
        }
        let copydata = copydata.map(|(dw, _)| (dw, m.data));
        self.next_wait += 1;
        let id = self.next_wait;
        if let Some(q) = self.user.queues.get_mut(&to) {
            q.sent.push_back(Sent {
                id,
                seq: m.seq,
                from: t,
                hwnd: a[0],
                message: a[1],
                wparam: a[2],
                lparam: a[3],
                copydata,
                notify: false,
            });
            q.changed |= QS_SENDMESSAGE;
        } else {
            return Ok(R::Val(0));
        }
        let deadline = smto.map(|s| k.now_ns() + u64::from(s.ms) * 1_000_000);
        self.user.sending.insert(
            t,
            Sending {
                id,
                answer: None,
                deadline,
            },
        );
        self.wake_res(k, &Res::Queue(to));
        self.wait_send(k, t, cpu, to, a[1], a[0], deadline)
    }
}

/// Whether a timer passes a message-loop call's filter (`hWnd`: 0 any, -1 thread messages
/// only; the message range, 0..0 for all).
fn timer_passes(x: &Timer, hf: u32, min: u32, max: u32) -> bool {
    let hwnd_ok = hf == 0 || (hf == u32::MAX && x.hwnd == 0) || x.hwnd == hf;
    let range_ok = (min == 0 && max == 0) || (min..=max).contains(&WM_TIMER);
    hwnd_ok && range_ok
}

fn out(r: R) -> Outcome {
    match r {
        R::Out(o) => o,
        R::Val(_) => Outcome::Continue,
    }
}

trait QueueFull {
    fn is_none_or_full(&self) -> bool;
}

impl QueueFull for Option<&Queue> {
    fn is_none_or_full(&self) -> bool {
        match self {
            Some(q) => q.posted.len() >= QUEUE_LIMIT,
            None => true,
        }
    }
}

trait EqOrNone {
    fn is_none_or_eq(&self, v: &str) -> bool;
}

impl EqOrNone for Option<&String> {
    fn is_none_or_eq(&self, v: &str) -> bool {
        match self {
            Some(x) => *x == v,
            None => true,
        }
    }
}
