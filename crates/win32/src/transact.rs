//! `TransactNamedPipe` and `CallNamedPipeA`: a request written and its reply read in one call,
//! on a message pipe.
//!
//! Both are restartable calls with a little state per thread ([`Transact`]): the request is
//! written once, and a restart (woken by the pipe) only goes on waiting for the reply.
//! `CallNamedPipeA` first connects to a free instance (waiting up to its timeout, as
//! `WaitNamedPipeA`), then transacts on a client end of its own that it closes at the end.

use crate::api::{
    Ret, ERROR_ACCESS_DENIED, ERROR_FILE_NOT_FOUND, ERROR_INVALID_HANDLE, ERROR_NOT_ENOUGH_MEMORY,
    R,
};
use crate::io::{
    WriteRes, ERROR_INVALID_NAME, ERROR_MORE_DATA, ERROR_PIPE_BUSY, ERROR_SEM_TIMEOUT,
};
use crate::objects::{Kind, ObjId};
use crate::overlapped::{IoOp, IoTry};
use crate::{bad_ptr, Res, Win32};
use ipcemu_kernel::{Cpu, GuestMemory, Kernel, ProcId, ThreadId};

const ERROR_BAD_PIPE: u32 = 230;
/// `CallNamedPipe`'s `nTimeOut` values with a meaning of their own.
const NMPWAIT_USE_DEFAULT_WAIT: u32 = 0;
const NMPWAIT_NOWAIT: u32 = 1;

/// A transaction a thread is in the middle of.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Transact {
    /// The stub of the call (a new call elsewhere starts afresh).
    at: u32,
    /// The pipe end it runs on.
    obj: ObjId,
    /// The request is written; the call waits for the reply.
    written: bool,
    /// `CallNamedPipeA`'s own client end, closed when the call ends.
    owned: bool,
}

/// The buffers of a transaction: request, its length, reply buffer, its size, byte count out.
#[derive(Debug, Clone, Copy)]
struct Bufs {
    inp: u32,
    inlen: u32,
    out: u32,
    outsize: u32,
    read: u32,
}

impl Bufs {
    /// Arguments 1..=5 of both calls.
    fn of(a: &[u32; 12]) -> Self {
        Bufs {
            inp: a[1],
            inlen: a[2],
            out: a[3],
            outsize: a[4],
            read: a[5],
        }
    }
}

impl Win32 {
    /// `TransactNamedPipe(h, lpInBuffer, nIn, lpOutBuffer, nOut, lpBytesRead, lpOverlapped)`.
    pub(crate) fn transact_named_pipe<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
    ) -> Ret {
        let b = Bufs::of(a);
        let Some(o) = self.obj_of(p, t, a[0]) else {
            return self.transact_end(k, t, None, b, Err(ERROR_INVALID_HANDLE));
        };
        self.transact_on(k, t, p, cpu, o, a[0], b, a[6], false)
    }

    /// `CallNamedPipeA(name, lpInBuffer, nIn, lpOutBuffer, nOut, lpBytesRead, nTimeOut)`.
    pub(crate) fn call_named_pipe<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
    ) -> Ret {
        let b = Bufs::of(a);
        if let Some(x) = self.transact_state(t).filter(|x| x.owned) {
            return self.transact_on(k, t, p, cpu, x.obj, 0, b, 0, true);
        }
        let name = self.sarg(k, t, a[0], "CallNamedPipeA: lpNamedPipeName")?;
        if !crate::io::is_pipe_name(&name) {
            self.clear_retry_deadline(t);
            return self.transact_end(k, t, None, b, Err(ERROR_INVALID_NAME));
        }
        let inst = self.pipes.instances(&name).to_vec();
        if inst.is_empty() {
            self.clear_retry_deadline(t);
            return self.transact_end(k, t, None, b, Err(ERROR_FILE_NOT_FOUND));
        }
        let Some(id) = self.pipes.listening(&name) else {
            let ms = match a[6] {
                NMPWAIT_NOWAIT => {
                    self.clear_retry_deadline(t);
                    return self.transact_end(k, t, None, b, Err(ERROR_PIPE_BUSY));
                }
                NMPWAIT_USE_DEFAULT_WAIT => self.default_pipe_wait(&inst),
                v => v,
            };
            let timeout = (ms != crate::api::INFINITE)
                .then(|| (self.retry_deadline(k, t, ms), ERROR_SEM_TIMEOUT));
            let text = format!("waits for a free instance of pipe \"{name}\" (CallNamedPipeA)");
            let res = Res::PipeName(name.to_ascii_lowercase());
            return Ok(self.block_retry(k, t, cpu, res, "w32_pipe", text, timeout));
        };
        self.clear_retry_deadline(t);
        // A client end of its own, in message-read mode, with no handle.
        let o = self.objs.create(
            None,
            Kind::PipeEnd {
                pipe: Some(id),
                reads: Some(1),
                writes: Some(0),
                msg_read: true,
                nowait: false,
                server: false,
                overlapped: false,
                io_done: false,
            },
        );
        self.pipes.connect(id, o);
        self.wake_res(k, &Res::Pipe(id));
        self.set_transact(
            t,
            Some(Transact {
                at: self.at,
                obj: o,
                written: false,
                owned: true,
            }),
        );
        self.transact_on(k, t, p, cpu, o, 0, b, 0, true)
    }

    fn transact_state(&self, t: ThreadId) -> Option<Transact> {
        self.threads
            .get(&t)
            .and_then(|x| x.transact)
            .filter(|x| x.at == self.at)
    }

    fn set_transact(&mut self, t: ThreadId, x: Option<Transact>) {
        if let Some(ts) = self.threads.get_mut(&t) {
            ts.transact = x;
        }
    }

    /// The transaction on pipe end `o` (handle `h`, 0 for `CallNamedPipeA`'s own end):
    /// write the request (once), then read the reply.
    #[allow(clippy::too_many_arguments)]
    fn transact_on<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        o: ObjId,
        h: u32,
        b: Bufs,
        ov: u32,
        owned: bool,
    ) -> Ret {
        let end = |me: &mut Self, k: &mut Kernel<M>, r: Result<(u32, bool), u32>| {
            me.transact_end(k, t, owned.then_some(o), b, r)
        };
        let (msg_read, pipe) = match self.objs.get(o).map(|x| &x.kind) {
            Some(Kind::PipeEnd { msg_read, pipe, .. }) => (*msg_read, *pipe),
            _ => return end(self, k, Err(ERROR_INVALID_HANDLE)),
        };
        let message = pipe
            .and_then(|id| self.pipes.pipes.get(&id))
            .is_some_and(|pp| pp.message);
        if !msg_read || !message {
            return end(self, k, Err(ERROR_BAD_PIPE));
        }
        let written = self
            .transact_state(t)
            .is_some_and(|x| x.obj == o && x.written);
        if !written {
            // Unread data in the pipe: the reply could not be told from it.
            let unread = match self.pipe_end_reads(o) {
                Some((id, c)) => self
                    .pipes
                    .pipes
                    .get(&id)
                    .is_some_and(|pp| pp.chans[c].has_data()),
                None => return end(self, k, Err(ERROR_ACCESS_DENIED)),
            };
            if unread {
                return end(self, k, Err(ERROR_PIPE_BUSY));
            }
            let what = "TransactNamedPipe: lpInBuffer";
            let Some(data) = crate::io::write_bytes(k, t, b.inp, b.inlen, what)? else {
                return end(self, k, Err(ERROR_NOT_ENOUGH_MEMORY));
            };
            match self.write_obj(k, t, o, h, &data) {
                WriteRes::Done(_) => {}
                WriteRes::Fail(e) => return end(self, k, Err(e)),
                WriteRes::Wait(id) => {
                    self.set_transact(
                        t,
                        Some(Transact {
                            at: self.at,
                            obj: o,
                            written: false,
                            owned,
                        }),
                    );
                    let text = format!(
                        "waits for room in {} (TransactNamedPipe)",
                        self.pipe_label(id)
                    );
                    return Ok(self.block_retry(k, t, cpu, Res::Pipe(id), "w32_pipe", text, None));
                }
            }
            if ov != 0 && self.is_overlapped(o) {
                // The reply is read as an overlapped operation.
                self.set_transact(t, None);
                let op = IoOp::Read {
                    buf: b.out,
                    n: b.outsize,
                };
                return self.start_io(k, t, p, h, o, ov, b.read, op);
            }
            self.set_transact(
                t,
                Some(Transact {
                    at: self.at,
                    obj: o,
                    written: true,
                    owned,
                }),
            );
        }
        match self.try_read(k, t, o, b.out, b.outsize)? {
            IoTry::Done(n, more) => end(self, k, Ok((n, more))),
            IoTry::Fail(e) => end(self, k, Err(e)),
            IoTry::Wait(id) => {
                let text = format!(
                    "waits for the reply in {} (TransactNamedPipe)",
                    self.pipe_label(id)
                );
                Ok(self.block_retry(k, t, cpu, Res::Pipe(id), "w32_pipe", text, None))
            }
        }
    }

    /// A transaction ends: its state goes, `CallNamedPipeA`'s own end is closed, the byte
    /// count is written; TRUE, or FALSE with the error (`ERROR_MORE_DATA` with the count).
    fn transact_end<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        owned: Option<ObjId>,
        b: Bufs,
        r: Result<(u32, bool), u32>,
    ) -> Ret {
        self.set_transact(t, None);
        if let Some(o) = owned {
            self.release_obj(k, o);
        }
        let (n, err) = match r {
            Ok((n, false)) => (n, None),
            Ok((n, true)) => (n, Some(ERROR_MORE_DATA)),
            Err(e) => (0, Some(e)),
        };
        if b.read != 0 {
            k.mem_of(t)
                .write_u32(b.read, n)
                .map_err(bad_ptr("TransactNamedPipe: lpBytesRead"))?;
        }
        match err {
            None => Ok(R::Val(1)),
            Some(e) => {
                self.set_err(k, t, e);
                Ok(R::Val(0))
            }
        }
    }

    /// The pipe and the channel pipe end `o` reads.
    fn pipe_end_reads(&self, o: ObjId) -> Option<(u32, usize)> {
        match self.objs.get(o).map(|x| &x.kind) {
            Some(Kind::PipeEnd {
                pipe: Some(id),
                reads: Some(c),
                ..
            }) => Some((*id, *c)),
            _ => None,
        }
    }

    /// A thread that ends inside `CallNamedPipeA` closes the client end it made.
    pub(crate) fn transact_thread_exited<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        x: Option<Transact>,
    ) {
        if let Some(x) = x.filter(|x| x.owned) {
            self.release_obj(k, x.obj);
        }
    }
}

/// `GetNamedPipeInfo` flags.
const PIPE_SERVER_END: u32 = 1;
const PIPE_TYPE_MESSAGE: u32 = 4;
/// `GetNamedPipeHandleState` state bits.
const PIPE_NOWAIT: u32 = 1;
const PIPE_READMODE_MESSAGE: u32 = 2;

impl Win32 {
    /// The Win32 process id of the process holding a handle to object `o` (the first found).
    fn holder_pid(&self, o: ObjId) -> Option<u32> {
        let mut procs: Vec<_> = self.procs.iter().collect();
        procs.sort_by_key(|(p, _)| p.0);
        procs
            .into_iter()
            .find(|(_, ps)| ps.handles.values().any(|&x| x == o))
            .map(|(_, ps)| ps.pid)
    }

    /// The pipe end behind handle `h` of thread `t`: (object, pipe, server end, read mode
    /// message, nowait).
    fn named_end(&self, p: ProcId, t: ThreadId, h: u32) -> Option<(ObjId, u32, bool, bool, bool)> {
        let o = self.obj_of(p, t, h)?;
        match self.objs.get(o).map(|x| &x.kind) {
            Some(Kind::PipeEnd {
                pipe: Some(id),
                server,
                msg_read,
                nowait,
                ..
            }) if self
                .pipes
                .pipes
                .get(id)
                .is_some_and(|pp| pp.named.is_some()) =>
            {
                Some((o, *id, *server, *msg_read, *nowait))
            }
            _ => None,
        }
    }

    /// `GetNamedPipeInfo`, `GetNamedPipeHandleStateA`, `GetNamedPipeClientProcessId` and
    /// `GetNamedPipeServerProcessId`.
    pub(crate) fn named_pipe_info<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        f: crate::api::Func,
        a: &[u32; 12],
    ) -> Ret {
        use crate::api::Func;
        let Some((o, id, server, msg_read, nowait)) = self.named_end(p, t, a[0]) else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        let Some(pp) = self.pipes.pipes.get(&id) else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        let Some(named) = pp.named.as_ref() else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        let e = bad_ptr(f.name());
        let put = |k: &mut Kernel<M>, ptr: u32, v: u32| -> Result<(), ipcemu_kernel::GuestFault> {
            if ptr != 0 {
                k.mem_of(t).write_u32(ptr, v).map_err(&e)?;
            }
            Ok(())
        };
        match f {
            Func::GetNamedPipeInfo => {
                let end = if server { PIPE_SERVER_END } else { 0 };
                let flags = end | if pp.message { PIPE_TYPE_MESSAGE } else { 0 };
                // The sizes the server gave: its outgoing (chans[1]) and incoming (chans[0]).
                let (out, inb) = (pp.chans[1].cap as u32, pp.chans[0].cap as u32);
                let key = named.name.to_ascii_lowercase();
                let max = self.pipes.max_instances.get(&key).copied().unwrap_or(255);
                put(k, a[1], flags)?;
                put(k, a[2], out)?;
                put(k, a[3], inb)?;
                put(k, a[4], max)?;
                Ok(R::Val(1))
            }
            Func::GetNamedPipeHandleStateA => {
                // Collection count and time-out exist only for remote client ends.
                if a[3] != 0 || a[4] != 0 {
                    self.set_err(k, t, crate::api::ERROR_INVALID_PARAMETER);
                    return Ok(R::Val(0));
                }
                let state = if nowait { PIPE_NOWAIT } else { 0 }
                    | if msg_read { PIPE_READMODE_MESSAGE } else { 0 };
                let instances = self.pipes.instances(&named.name).len() as u32;
                put(k, a[1], state)?;
                put(k, a[2], instances)?;
                if a[5] != 0 && a[6] > 0 {
                    // There are no user accounts: the client's user name is empty.
                    k.mem_of(t).write(a[5], &[0]).map_err(&e)?;
                }
                Ok(R::Val(1))
            }
            _ => {
                // The process at the other end (client), or the server's.
                let other = if f == Func::GetNamedPipeClientProcessId {
                    named.client
                } else {
                    self.server_end_of(id)
                };
                let pid = match other {
                    Some(x) if x == o => self.procs.get(&p).map(|ps| ps.pid),
                    Some(x) => self.holder_pid(x),
                    None => None,
                };
                match pid {
                    Some(pid) => {
                        put(k, a[1], pid)?;
                        Ok(R::Val(1))
                    }
                    None => {
                        self.set_err(k, t, crate::io::ERROR_PIPE_NOT_CONNECTED);
                        Ok(R::Val(0))
                    }
                }
            }
        }
    }

    /// The server end object of named-pipe instance `id`.
    fn server_end_of(&self, id: u32) -> Option<ObjId> {
        let mut found: Vec<ObjId> = self
            .procs
            .values()
            .flat_map(|ps| ps.handles.values().copied())
            .filter(|&o| {
                matches!(
                    self.objs.get(o).map(|x| &x.kind),
                    Some(Kind::PipeEnd { pipe: Some(x), server: true, .. }) if *x == id
                )
            })
            .collect();
        found.sort_unstable();
        found.first().copied()
    }
}
