//! Overlapped (asynchronous) I/O on pipe handles opened with `FILE_FLAG_OVERLAPPED`:
//! `ReadFile`, `WriteFile` and `ConnectNamedPipe` with an `OVERLAPPED`, `GetOverlappedResult`,
//! `CancelIo` and `CancelIoEx`.
//!
//! An operation that cannot finish at once is kept as a [`PendingIo`] and returns FALSE with
//! `ERROR_IO_PENDING`; its `OVERLAPPED.Internal` says `STATUS_PENDING`. Whenever its pipe
//! changes (the same wake-up that restarts blocked calls, `Res::Pipe`) the operation is tried
//! again, exactly as a restarted blocking call would be, but for the thread that started it:
//! once it finishes, the data is in the guest's buffer, `Internal`/`InternalHigh` hold the
//! status and byte count, and the `hEvent` event is set. So a server can keep several
//! instances of a named pipe busy from one thread and wait for all of them with
//! `WaitForMultipleObjects`, the way Windows' overlapped server examples do.

use crate::api::{Ret, ERROR_ACCESS_DENIED, ERROR_INVALID_HANDLE, ERROR_INVALID_PARAMETER, R};
use crate::io::{
    ERROR_BROKEN_PIPE, ERROR_MORE_DATA, ERROR_NOT_ENOUGH_QUOTA, ERROR_NO_DATA,
    ERROR_PIPE_CONNECTED, ERROR_PIPE_LISTENING, ERROR_PIPE_NOT_CONNECTED,
};
use crate::objects::{Kind, ObjId};
use crate::{bad_ptr, Res, Win32};
use ipcemu_kernel::{Cpu, GuestMemory, Kernel, ProcId, ThreadId};

/// `FILE_FLAG_OVERLAPPED` (`CreateNamedPipeA`'s open mode, `CreateFileA`'s flags).
pub(crate) const FILE_FLAG_OVERLAPPED: u32 = 0x4000_0000;
const ERROR_IO_PENDING: u32 = 997;
const ERROR_IO_INCOMPLETE: u32 = 996;
const ERROR_OPERATION_ABORTED: u32 = 995;
const ERROR_NOT_FOUND: u32 = 1168;
const STATUS_SUCCESS: u32 = 0;
const STATUS_PENDING: u32 = 0x0000_0103;
/// Operations one process may have pending at once (a guest cannot grow host memory
/// without bound).
pub const MAX_PENDING_IO: usize = 4096;

/// The NTSTATUS in `OVERLAPPED.Internal` for a Win32 error, and back (`GetOverlappedResult`
/// turns the status into the last error). Only the errors pipe operations give.
const STATUS_OF: &[(u32, u32)] = &[
    (ERROR_MORE_DATA, 0x8000_0005),          // STATUS_BUFFER_OVERFLOW
    (ERROR_BROKEN_PIPE, 0xC000_014B),        // STATUS_PIPE_BROKEN
    (ERROR_PIPE_NOT_CONNECTED, 0xC000_00B0), // STATUS_PIPE_DISCONNECTED
    (ERROR_NO_DATA, 0xC000_00B1),            // STATUS_PIPE_CLOSING
    (ERROR_PIPE_LISTENING, 0xC000_00B3),     // STATUS_PIPE_LISTENING
    (ERROR_PIPE_CONNECTED, 0xC000_00B2),     // STATUS_PIPE_CONNECTED
    (ERROR_OPERATION_ABORTED, 0xC000_0120),  // STATUS_CANCELLED
    (ERROR_ACCESS_DENIED, 0xC000_0022),      // STATUS_ACCESS_DENIED
    (ERROR_INVALID_HANDLE, 0xC000_0008),     // STATUS_INVALID_HANDLE
];

fn status_of(err: u32) -> u32 {
    STATUS_OF
        .iter()
        .find(|(e, _)| *e == err)
        .map_or(0xC000_0001, |(_, s)| *s) // STATUS_UNSUCCESSFUL
}

pub(crate) fn error_of(status: u32) -> u32 {
    STATUS_OF
        .iter()
        .find(|(_, s)| *s == status)
        .map_or(31, |(e, _)| *e) // ERROR_GEN_FAILURE
}

/// What an overlapped operation does.
#[derive(Debug)]
pub(crate) enum IoOp {
    /// `ReadFile` into `buf` (at most `n` bytes).
    Read { buf: u32, n: u32 },
    /// `WriteFile` of these bytes (copied when the call was made).
    Write { data: Vec<u8> },
    /// `ConnectNamedPipe`.
    Connect,
}

/// An overlapped operation that has not finished.
#[derive(Debug)]
pub(crate) struct PendingIo {
    /// The thread that started it, and its process (whose memory the results go to).
    t: ThreadId,
    p: ProcId,
    /// The handle and its pipe end.
    h: u32,
    obj: ObjId,
    /// The pipe it waits for.
    pipe: u32,
    /// The guest's `OVERLAPPED`.
    ov: u32,
    /// Its `hEvent` (a reference is held while the operation is pending).
    event: Option<ObjId>,
    /// `ReadFileEx`/`WriteFileEx`: the completion routine, queued as an APC when it ends.
    routine: Option<u32>,
    /// Its end makes a packet for the pipe end's completion port, if it has one.
    packet: bool,
    op: IoOp,
}

impl PendingIo {
    /// Whether it is an operation on pipe end `o`.
    pub(crate) fn obj_is(&self, o: ObjId) -> bool {
        self.obj == o
    }
    /// Whether thread `t` started it.
    pub(crate) fn issued_by(&self, t: ThreadId) -> bool {
        self.t == t
    }
}

/// How one try of an operation went.
pub(crate) enum IoTry {
    /// Finished: bytes moved, and whether a message was left unread (`ERROR_MORE_DATA`).
    Done(u32, bool),
    /// Failed with this error.
    Fail(u32),
    /// It has to wait for this pipe.
    Wait(u32),
}

impl Win32 {
    /// Whether handle object `o` is a pipe end opened with `FILE_FLAG_OVERLAPPED`.
    pub(crate) fn is_overlapped(&self, o: ObjId) -> bool {
        matches!(
            self.objs.get(o).map(|x| &x.kind),
            Some(Kind::PipeEnd {
                overlapped: true,
                ..
            })
        )
    }

    /// `ReadFile`/`WriteFile`/`ConnectNamedPipe` with an `OVERLAPPED` (`ov`) on an overlapped
    /// handle: tried now; finished, it returns as the blocking call would (and sets the event);
    /// otherwise it is kept and the call fails with `ERROR_IO_PENDING`. `bytes_out` is the
    /// call's byte-count pointer (0: none).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start_io<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        h: u32,
        obj: ObjId,
        ov: u32,
        bytes_out: u32,
        op: IoOp,
    ) -> Ret {
        self.start_io_with(k, t, p, h, obj, ov, bytes_out, op, None)
    }

    /// `ReadFileEx`/`WriteFileEx(h, lpBuffer, n, lpOverlapped, lpCompletionRoutine)`: as an
    /// overlapped operation, but the `hEvent` member is the caller's, and when it ends (at once
    /// or later) its completion routine is queued as an APC to the thread (run by its next
    /// alertable wait) with the error code, the byte count and the `OVERLAPPED`.
    pub(crate) fn io_ex<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        read: bool,
        a: &[u32; 12],
    ) -> Ret {
        let (h, buf, n, ov, routine) = (a[0], a[1], a[2], a[3], a[4]);
        let Some(obj) = self.obj_of(p, t, h) else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        if !self.is_overlapped(obj) || ov == 0 {
            // Windows requires a handle opened with FILE_FLAG_OVERLAPPED.
            self.set_err(k, t, ERROR_INVALID_PARAMETER);
            return Ok(R::Val(0));
        }
        let op = if read {
            IoOp::Read { buf, n }
        } else {
            let Some(data) = crate::io::write_bytes(k, t, buf, n, "WriteFileEx: lpBuffer")? else {
                self.set_err(k, t, crate::api::ERROR_NOT_ENOUGH_MEMORY);
                return Ok(R::Val(0));
            };
            IoOp::Write { data }
        };
        self.start_io_with(k, t, p, h, obj, ov, 0, op, Some(routine))
    }

    #[allow(clippy::too_many_arguments)]
    fn start_io_with<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        h: u32,
        obj: ObjId,
        ov: u32,
        bytes_out: u32,
        op: IoOp,
        routine: Option<u32>,
    ) -> Ret {
        let e = bad_ptr("OVERLAPPED");
        let hev_raw = k.mem_of(t).read_u32(ov.wrapping_add(16)).map_err(&e)?;
        // The low bit of hEvent set: no packet to the handle's completion port.
        let (hev, packet) = (hev_raw & !1, hev_raw & 1 == 0);
        let event = if hev == 0 || routine.is_some() {
            None
        } else {
            match self.obj_of(p, t, hev) {
                Some(ev)
                    if matches!(self.objs.get(ev).map(|x| &x.kind), Some(Kind::Event { .. })) =>
                {
                    Some(ev)
                }
                _ => {
                    self.set_err(k, t, ERROR_INVALID_PARAMETER);
                    return Ok(R::Val(0));
                }
            }
        };
        // The event (or, without one, the handle itself) is reset as the operation begins, as
        // Windows does.
        if routine.is_none() {
            self.set_io_done(obj, event, false);
        }
        if let Some(Kind::Event { set, .. }) = event
            .and_then(|ev| self.objs.get_mut(ev))
            .map(|x| &mut x.kind)
        {
            *set = false;
        }
        k.mem_of(t).write_u32(ov, STATUS_PENDING).map_err(&e)?;
        k.mem_of(t).write_u32(ov.wrapping_add(4), 0).map_err(&e)?;
        match self.try_io(k, t, h, obj, &op)? {
            IoTry::Done(n, more) => {
                let status = if more {
                    status_of(ERROR_MORE_DATA)
                } else {
                    STATUS_SUCCESS
                };
                let done_by = routine.map(|r| (t, r));
                self.finish_io(k, p, obj, ov, event, done_by, packet, status, n);
                if routine.is_some() {
                    return Ok(R::Val(1));
                }
                if bytes_out != 0 {
                    k.mem_of(t)
                        .write_u32(bytes_out, n)
                        .map_err(bad_ptr("lpNumberOfBytes"))?;
                }
                if more {
                    self.set_err(k, t, ERROR_MORE_DATA);
                    return Ok(R::Val(0));
                }
                Ok(R::Val(1))
            }
            IoTry::Fail(err) => {
                k.mem_of(t).write_u32(ov, status_of(err)).map_err(&e)?;
                self.set_err(k, t, err);
                Ok(R::Val(0))
            }
            IoTry::Wait(pipe) => {
                let mine = self.io.iter().filter(|x| x.p == p).count();
                if mine >= MAX_PENDING_IO {
                    self.set_err(k, t, ERROR_NOT_ENOUGH_QUOTA);
                    return Ok(R::Val(0));
                }
                if let Some(ev) = event {
                    self.objs.add_ref(ev);
                }
                self.io.push(PendingIo {
                    t,
                    p,
                    h,
                    obj,
                    pipe,
                    ov,
                    event,
                    routine,
                    packet,
                    op,
                });
                if routine.is_some() {
                    self.set_err(k, t, 0);
                    return Ok(R::Val(1));
                }
                if bytes_out != 0 {
                    let _ = k.mem_of(t).write_u32(bytes_out, 0);
                }
                self.set_err(k, t, ERROR_IO_PENDING);
                Ok(R::Val(0))
            }
        }
    }

    /// One try of an operation for thread `t` (it need not be the one running).
    fn try_io<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        h: u32,
        obj: ObjId,
        op: &IoOp,
    ) -> Result<IoTry, ipcemu_kernel::GuestFault> {
        Ok(match op {
            IoOp::Read { buf, n } => self.try_read(k, t, obj, *buf, *n)?,
            // The pipe end, not the handle: another handle of it may be all that is left.
            IoOp::Write { data } => match self.write_obj(k, t, obj, h, data) {
                crate::io::WriteRes::Done(n) => IoTry::Done(n, false),
                crate::io::WriteRes::Fail(e) => IoTry::Fail(e),
                crate::io::WriteRes::Wait(id) => IoTry::Wait(id),
            },
            IoOp::Connect => self.try_connect(k, obj),
        })
    }

    /// The results of a finished operation: status and count in the `OVERLAPPED`, the event
    /// set, and the threads in `GetOverlappedResult` on it woken.
    #[allow(clippy::too_many_arguments)]
    fn finish_io<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        p: ProcId,
        obj: ObjId,
        ov: u32,
        event: Option<ObjId>,
        routine: Option<(ThreadId, u32)>,
        packet: bool,
        status: u32,
        n: u32,
    ) {
        if let Some(pr) = k.procs.get_mut(p.0) {
            let _ = pr.mem.write_u32(ov, status);
            let _ = pr.mem.write_u32(ov.wrapping_add(4), n);
        }
        if let Some(Kind::Event { set, .. }) = event
            .and_then(|ev| self.objs.get_mut(ev))
            .map(|x| &mut x.kind)
        {
            *set = true;
        }
        match routine {
            Some((t, f)) => {
                let code = if status == STATUS_SUCCESS {
                    0
                } else {
                    error_of(status)
                };
                let apc = crate::apc::Apc {
                    f,
                    args: [code, n, ov],
                };
                // A thread that is gone (or whose queue is full) never runs it.
                let _ = self.queue_apc(k, t, apc);
            }
            None => self.set_io_done(obj, event, true),
        }
        if let (true, None, Some((port, key))) = (packet, routine, self.port_of(obj)) {
            let pk = crate::iocp::Packet {
                bytes: n,
                key,
                ov,
                status,
            };
            // A full port loses the packet (its owner stopped taking them).
            let _ = self.post_packet(k, port, pk);
        }
        self.pump(k);
        self.wake_res(k, &Res::Io(p, ov));
    }

    /// An operation without an event signals its handle's pipe end: set or reset that.
    fn set_io_done(&mut self, obj: ObjId, event: Option<ObjId>, done: bool) {
        if event.is_some() {
            return;
        }
        if let Some(Kind::PipeEnd { io_done, .. }) = self.objs.get_mut(obj).map(|x| &mut x.kind) {
            *io_done = done;
        }
    }

    /// Try again the pending operations that wait for pipe `id` (it changed), until none
    /// finishes any more.
    pub(crate) fn pump_io<M: GuestMemory>(&mut self, k: &mut Kernel<M>, id: u32) {
        if self.io_busy || !self.io.iter().any(|x| x.pipe == id) {
            return;
        }
        self.io_busy = true;
        loop {
            let mut progress = false;
            let mut i = 0;
            while i < self.io.len() {
                if self.io[i].pipe != id {
                    i += 1;
                    continue;
                }
                // Taken out while it is tried (the try may wake others; nothing it does
                // touches this list, but an index kept across it would be fragile).
                let mut x = self.io.remove(i);
                let got = self.try_io(k, x.t, x.h, x.obj, &x.op);
                let (status, n) = match got {
                    Ok(IoTry::Wait(pipe)) => {
                        x.pipe = pipe;
                        let at = i.min(self.io.len());
                        self.io.insert(at, x);
                        i = at + 1;
                        continue;
                    }
                    Ok(IoTry::Done(n, more)) => (
                        if more {
                            status_of(ERROR_MORE_DATA)
                        } else {
                            STATUS_SUCCESS
                        },
                        n,
                    ),
                    Ok(IoTry::Fail(e)) => (status_of(e), 0),
                    // The buffer is no longer guest memory: the operation fails.
                    Err(_) => (status_of(ERROR_INVALID_HANDLE), 0),
                };
                let done = x;
                let by = done.routine.map(|r| (done.t, r));
                let pk = done.packet;
                self.finish_io(k, done.p, done.obj, done.ov, done.event, by, pk, status, n);
                if let Some(ev) = done.event {
                    self.release_obj(k, ev);
                }
                progress = true;
            }
            if !progress {
                break;
            }
        }
        self.io_busy = false;
    }

    /// End the pending operations `which` picks with `STATUS_CANCELLED` (or, for a process
    /// that is gone, drop them); returns how many there were.
    pub(crate) fn cancel_io<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        which: &dyn Fn(&PendingIo) -> bool,
        write_back: bool,
    ) -> usize {
        let mut gone = Vec::new();
        let mut i = 0;
        while i < self.io.len() {
            if which(&self.io[i]) {
                gone.push(self.io.remove(i));
            } else {
                i += 1;
            }
        }
        for x in &gone {
            if matches!(x.op, IoOp::Connect) {
                if let Some(n) = self
                    .pipes
                    .pipes
                    .get_mut(&x.pipe)
                    .and_then(|pp| pp.named.as_mut())
                {
                    n.connect_waiting = false;
                }
            }
            if write_back {
                let aborted = status_of(ERROR_OPERATION_ABORTED);
                let by = x.routine.map(|r| (x.t, r));
                self.finish_io(k, x.p, x.obj, x.ov, x.event, by, x.packet, aborted, 0);
            }
            if let Some(ev) = x.event {
                self.release_obj(k, ev);
            }
        }
        gone.len()
    }

    /// `GetOverlappedResult(h, lpOverlapped, lpNumberOfBytesTransferred, bWait)`.
    pub(crate) fn get_overlapped_result<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
    ) -> Ret {
        let (ov, out, wait) = (a[1], a[2], a[3] != 0);
        let e = bad_ptr("GetOverlappedResult: lpOverlapped");
        let status = k.mem_of(t).read_u32(ov).map_err(&e)?;
        if status == STATUS_PENDING {
            if !wait {
                self.set_err(k, t, ERROR_IO_INCOMPLETE);
                return Ok(R::Val(0));
            }
            let label = self.io.iter().find(|x| x.p == p && x.ov == ov).map_or_else(
                || "an operation nobody started".to_string(),
                |x| self.pipe_label(x.pipe),
            );
            let text = format!("waits for overlapped I/O on {label} (GetOverlappedResult)");
            return Ok(self.block_retry(k, t, cpu, Res::Io(p, ov), "w32_io", text, None));
        }
        let n = k.mem_of(t).read_u32(ov.wrapping_add(4)).map_err(&e)?;
        if out != 0 {
            k.mem_of(t)
                .write_u32(out, n)
                .map_err(bad_ptr("GetOverlappedResult: lpNumberOfBytesTransferred"))?;
        }
        if status == STATUS_SUCCESS {
            return Ok(R::Val(1));
        }
        self.set_err(k, t, error_of(status));
        Ok(R::Val(0))
    }

    /// `CancelIo(h)` (`ex` false: the caller's operations on `h`) and `CancelIoEx(h, ov)`
    /// (any thread's on `h`, or only the one with that `OVERLAPPED`).
    pub(crate) fn cancel_io_call<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
        ex: bool,
    ) -> Ret {
        let Some(o) = self.obj_of(p, t, a[0]) else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        let ov = a[1];
        let n = if ex {
            self.cancel_io(
                k,
                &|x| x.obj == o && x.p == p && (ov == 0 || x.ov == ov),
                true,
            )
        } else {
            self.cancel_io(k, &|x| x.obj == o && x.t == t, true)
        };
        if ex && n == 0 {
            self.set_err(k, t, ERROR_NOT_FOUND);
            return Ok(R::Val(0));
        }
        Ok(R::Val(1))
    }
}
