//! Pipes, handles and processes: `CreatePipe`, named pipes, `ReadFile`/`WriteFile` on pipe
//! handles, handle inheritance and `CreateProcessA`.
//!
//! A call that has to wait (a read of an empty pipe, a write into a full one, a server waiting
//! for a client, `WaitNamedPipeA`, a message loop) is *restartable*: the thread's eip is put
//! back on the stub's `int 0x2E` and it blocks; whatever changes the pipe or queue wakes it and
//! it makes the same call again (its arguments are still on its stack). So no result is ever
//! computed for a thread that is not running, and a woken call sees the world as it is then.

use crate::api::{
    Ret, CURRENT_PROCESS, ERROR_ACCESS_DENIED, ERROR_FILE_NOT_FOUND, ERROR_INVALID_HANDLE,
    ERROR_INVALID_PARAMETER, ERROR_NOT_ENOUGH_MEMORY, INFINITE, INVALID_HANDLE_VALUE, R, STD_ERROR,
    STD_INPUT, STD_OUTPUT, STILL_ACTIVE,
};
use crate::objects::{Kind, ObjId};
use crate::overlapped::{IoOp, IoTry, FILE_FLAG_OVERLAPPED};
use crate::pipes::{State, MAX_WRITE};
use crate::{bad_ptr, Block, PendingSpawn, Res, SpawnCtx, TimeoutFail, Win32, NAME};
use ipcemu_kernel::{
    Cpu, Endpoint, ExitStatus, GuestMemory, Kernel, Message, MsgKind, Outcome, ProcId, Reg,
    ThreadId, Wake,
};
use ipcemu_personality::{SpawnFailure, Spawned};

pub(crate) const ERROR_BROKEN_PIPE: u32 = 109;
pub(crate) const ERROR_SEM_TIMEOUT: u32 = 121;
pub(crate) const ERROR_INVALID_NAME: u32 = 123;
pub(crate) const ERROR_BAD_EXE_FORMAT: u32 = 193;
pub(crate) const ERROR_PIPE_BUSY: u32 = 231;
pub(crate) const ERROR_NO_DATA: u32 = 232;
pub(crate) const ERROR_PIPE_NOT_CONNECTED: u32 = 233;
pub(crate) const ERROR_MORE_DATA: u32 = 234;
pub(crate) const ERROR_PIPE_CONNECTED: u32 = 535;
pub(crate) const ERROR_PIPE_LISTENING: u32 = 536;
pub(crate) const ERROR_NOT_ENOUGH_QUOTA: u32 = 1816;

const PIPE_ACCESS_INBOUND: u32 = 1;
const PIPE_ACCESS_OUTBOUND: u32 = 2;
const PIPE_NOWAIT: u32 = 1;
const PIPE_READMODE_MESSAGE: u32 = 2;
const PIPE_TYPE_MESSAGE: u32 = 4;
const GENERIC_READ: u32 = 0x8000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
const HANDLE_FLAG_INHERIT: u32 = 1;
const STARTF_USESTDHANDLES: u32 = 0x100;
const CREATE_SUSPENDED: u32 = 4;
/// `WaitNamedPipe`'s `NMPWAIT_USE_DEFAULT_WAIT` when the server gave no default.
const DEFAULT_PIPE_WAIT_MS: u32 = 50;

/// A pipe end as [`Win32::pipe_end`] gives it: (pipe, channel read, channel written, server).
type PipeEnd = (Option<u32>, Option<usize>, Option<usize>, bool);

/// What a write to a handle did.
pub(crate) enum WriteRes {
    /// Written (this many bytes).
    Done(u32),
    /// Failed with this error.
    Fail(u32),
    /// Wait for room in this pipe.
    Wait(u32),
}

/// The `len` bytes at `at` that a write sends (`what` names the buffer in a fault), copied
/// before anything else; `None` when `len` passes `MAX_WRITE` (the call then fails with
/// `ERROR_NOT_ENOUGH_MEMORY` without the host allocating it).
pub(crate) fn write_bytes<M: GuestMemory>(
    k: &mut Kernel<M>,
    t: ThreadId,
    at: u32,
    len: u32,
    what: &str,
) -> Result<Option<Vec<u8>>, ipcemu_kernel::GuestFault> {
    if len as usize > MAX_WRITE {
        return Ok(None);
    }
    let mut data = vec![0u8; len as usize];
    k.mem_of(t).read(at, &mut data).map_err(bad_ptr(what))?;
    Ok(Some(data))
}

/// Whether the name is a named pipe's (`\\.\pipe\...`).
pub(crate) fn is_pipe_name(n: &str) -> bool {
    // `get`: a name whose 9th byte is inside a character is no pipe name (slicing it would
    // panic on guest data).
    n.len() > 9
        && n.get(..9)
            .is_some_and(|p| p.eq_ignore_ascii_case("\\\\.\\pipe\\"))
}

impl Win32 {
    /// The name of pipe `id` (empty for an anonymous pipe).
    fn pipe_name(&self, id: u32) -> String {
        self.pipes
            .pipes
            .get(&id)
            .and_then(|pp| pp.named.as_ref())
            .map(|n| n.name.clone())
            .unwrap_or_default()
    }

    /// The wait for a free instance of a name whose `nTimeOut` is `NMPWAIT_USE_DEFAULT_WAIT`:
    /// the first instance's default time-out (`DEFAULT_PIPE_WAIT_MS` if none gave one).
    pub(crate) fn default_pipe_wait(&self, inst: &[u32]) -> u32 {
        inst.first()
            .and_then(|i| self.pipes.pipes.get(i))
            .and_then(|pp| pp.named.as_ref())
            .map_or(DEFAULT_PIPE_WAIT_MS, |n| n.default_timeout)
    }
}

impl Win32 {
    /// Block the current call so that it runs again when `res` changes. With a deadline,
    /// it fails with `timeout_error` then.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn block_retry<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        res: Res,
        what: &'static str,
        text: String,
        timeout: Option<(u64, u32)>,
    ) -> R {
        let at = self.at;
        let teb = self.threads.get(&t).map_or(0, |x| x.teb);
        let (deadline, tf) = match timeout {
            Some((d, error)) => (
                Some(d),
                Some(TimeoutFail {
                    teb,
                    error,
                    resume: at.wrapping_add(2),
                }),
            ),
            None => (None, None),
        };
        self.block_retry_with(k, t, cpu, res, what, text, deadline, tf)
    }

    /// Block the current call so that it runs again when `res` changes, or when `deadline`
    /// comes (the call then sees the time and decides: a timer due, a time-out).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn block_retry_until<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        res: Res,
        what: &'static str,
        text: String,
        deadline: Option<u64>,
    ) -> R {
        self.block_retry_with(k, t, cpu, res, what, text, deadline, None)
    }

    #[allow(clippy::too_many_arguments)]
    fn block_retry_with<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        res: Res,
        what: &'static str,
        text: String,
        deadline: Option<u64>,
        tf: Option<TimeoutFail>,
    ) -> R {
        cpu.set(Reg::Eip, self.at);
        self.next_wait += 1;
        let id = self.next_wait;
        self.retry.push((t, id, res));
        k.block_current(
            Box::new(Block {
                id,
                what,
                text,
                timeout: tf,
            }),
            deadline,
        );
        R::Out(Outcome::Block)
    }

    /// The call that thread `t` just blocked (with `block_retry*`) also runs again when `res`
    /// changes.
    pub(crate) fn also_retry_on(&mut self, t: ThreadId, res: Res) {
        self.retry.push((t, self.next_wait, res));
    }

    /// A restarted call's deadline: the one it set the first time, or a new one.
    pub(crate) fn retry_deadline<M: GuestMemory>(
        &mut self,
        k: &Kernel<M>,
        t: ThreadId,
        ms: u32,
    ) -> u64 {
        let at = self.at;
        let now = k.now_ns();
        let ts = self.threads.get_mut(&t);
        match ts {
            Some(ts) => match ts.retry_deadline {
                Some((a, d)) if a == at => d,
                _ => {
                    let d = now + ms as u64 * 1_000_000;
                    ts.retry_deadline = Some((at, d));
                    d
                }
            },
            None => now + ms as u64 * 1_000_000,
        }
    }

    /// The deadline of a restartable call with a time-out of `ms`: now for 0, none for
    /// `INFINITE`, else the one it set the first time ([`Self::retry_deadline`]).
    pub(crate) fn wait_deadline<M: GuestMemory>(
        &mut self,
        k: &Kernel<M>,
        t: ThreadId,
        ms: u32,
    ) -> Option<u64> {
        match ms {
            0 => Some(k.now_ns()),
            INFINITE => None,
            _ => Some(self.retry_deadline(k, t, ms)),
        }
    }

    pub(crate) fn clear_retry_deadline(&mut self, t: ThreadId) {
        if let Some(ts) = self.threads.get_mut(&t) {
            ts.retry_deadline = None;
        }
    }

    /// A pipe end's (pipe, channel it reads, channel it writes, server end).
    fn pipe_end(&self, o: ObjId) -> Option<PipeEnd> {
        match self.objs.get(o).map(|x| &x.kind) {
            Some(Kind::PipeEnd {
                pipe,
                reads,
                writes,
                server,
                ..
            }) => Some((*pipe, *reads, *writes, *server)),
            _ => None,
        }
    }

    pub(crate) fn pipe_label(&self, id: u32) -> String {
        match self.pipes.pipes.get(&id).and_then(|p| p.named.as_ref()) {
            Some(n) => format!("pipe \"{}\"", n.name),
            None => format!("anonymous pipe #{id}"),
        }
    }

    /// The process holding an end that reads channel `c` of pipe `id` (lowest first).
    fn pipe_peer(&self, id: u32, c: usize) -> Option<ProcId> {
        let mut procs: Vec<&ProcId> = self.procs.keys().collect();
        procs.sort();
        procs.into_iter().copied().find(|p| {
            self.procs[p].handles.values().any(|&o| {
                matches!(self.objs.get(o).map(|x| &x.kind),
                    Some(Kind::PipeEnd { pipe: Some(x), reads: Some(r), .. }) if *x == id && *r == c)
            })
        })
    }

    /// Write to a handle: the console, or a pipe (through the kernel's message path).
    pub(crate) fn write_handle<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        h: u32,
        data: &[u8],
    ) -> WriteRes {
        match h {
            STD_OUTPUT | STD_ERROR => {
                k.output(t, data, h == STD_ERROR);
                return WriteRes::Done(data.len() as u32);
            }
            STD_INPUT => return WriteRes::Fail(ERROR_ACCESS_DENIED),
            _ => {}
        }
        let Some(o) = self.obj_of(p, t, h) else {
            return WriteRes::Fail(ERROR_INVALID_HANDLE);
        };
        if let Some(r) = self.write_mailslot(k, t, o, h, data) {
            return r;
        }
        self.write_obj(k, t, o, h, data)
    }

    /// Write to pipe end `o` (handle `h` of thread `t`'s process, which names the sender in
    /// traces).
    pub(crate) fn write_obj<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        o: ObjId,
        h: u32,
        data: &[u8],
    ) -> WriteRes {
        let Some((pipe, _, writes, _)) = self.pipe_end(o) else {
            return WriteRes::Fail(ERROR_INVALID_HANDLE);
        };
        let Some(id) = pipe else {
            return WriteRes::Fail(ERROR_PIPE_NOT_CONNECTED);
        };
        let Some(c) = writes else {
            return WriteRes::Fail(ERROR_ACCESS_DENIED);
        };
        let Some(pp) = self.pipes.pipes.get(&id) else {
            return WriteRes::Fail(ERROR_INVALID_HANDLE);
        };
        match pp.named.as_ref().map(|n| n.state) {
            Some(State::Listening) => return WriteRes::Fail(ERROR_PIPE_LISTENING),
            Some(State::Disconnected) => return WriteRes::Fail(ERROR_PIPE_NOT_CONNECTED),
            _ => {}
        }
        if pp.chans[c].readers == 0 {
            return WriteRes::Fail(ERROR_NO_DATA);
        }
        if data.len() > MAX_WRITE {
            return WriteRes::Fail(ERROR_NOT_ENOUGH_MEMORY);
        }
        if !pp.chans[c].fits(data.len()) {
            return WriteRes::Wait(id);
        }
        let message = pp.message;
        let to = if k.trace_on || k.has_hooks() {
            self.pipe_peer(id, c)
        } else {
            None
        };
        let mut m = Message {
            seq: 0,
            personality: NAME,
            kind: MsgKind::Queued,
            from: crate::endpoint(k, t, h),
            to: Endpoint {
                proc: to,
                thread: None,
                pid: to.and_then(|x| self.procs.get(&x)).map_or(0, |ps| ps.pid),
                address: id as u64,
            },
            channel: Some(self.pipe_label(id)),
            method: None,
            data: data.to_vec(),
            reply_to: None,
            area_offset: None,
        };
        // A pending overlapped write finishing for another thread's call cannot be held (the
        // call a hold would repeat is not its own): a Delay counts as Allow then.
        match crate::transmit_queued(k, &mut m, self.io_busy) {
            Ok(true) => {}
            Ok(false) => return WriteRes::Done(data.len() as u32),
            Err(e) => return WriteRes::Fail(e),
        }
        if let Some(pp) = self.pipes.pipes.get_mut(&id) {
            pp.chans[c].write(&m.data, message);
        }
        self.wake_res(k, &Res::Pipe(id));
        WriteRes::Done(data.len() as u32)
    }

    /// `WriteFile`/`WriteConsoleA`.
    pub(crate) fn write_file<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
    ) -> Ret {
        let Some(buf) = write_bytes(k, t, a[1], a[2], "WriteFile: lpBuffer")? else {
            self.set_err(k, t, ERROR_NOT_ENOUGH_MEMORY);
            return Ok(R::Val(0));
        };
        let h = self.std_alias(p, a[0]);
        if a[4] != 0 {
            if let Some(o) = self.obj_of(p, t, h).filter(|&o| self.is_overlapped(o)) {
                return self.start_io(k, t, p, h, o, a[4], a[3], IoOp::Write { data: buf });
            }
        }
        match self.write_handle(k, t, p, h, &buf) {
            WriteRes::Done(n) => {
                if a[3] != 0 {
                    k.mem_of(t)
                        .write_u32(a[3], n)
                        .map_err(bad_ptr("WriteFile: lpNumberOfBytesWritten"))?;
                }
                Ok(R::Val(1))
            }
            WriteRes::Fail(e) => {
                if a[3] != 0 {
                    let _ = k.mem_of(t).write_u32(a[3], 0);
                }
                self.set_err(k, t, e);
                Ok(R::Val(0))
            }
            WriteRes::Wait(id) => {
                let text = format!("waits for room in {} (WriteFile)", self.pipe_label(id));
                Ok(self.block_retry(k, t, cpu, Res::Pipe(id), "w32_pipe", text, None))
            }
        }
    }

    /// The console pseudo handles stand for themselves; nothing else is an alias.
    fn std_alias(&self, _p: ProcId, h: u32) -> u32 {
        h
    }

    /// `ReadFile(h, lpBuffer, n, lpNumberOfBytesRead, lpOverlapped)`.
    pub(crate) fn read_file<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
    ) -> Ret {
        let fail = |me: &mut Self, k: &mut Kernel<M>, e: u32| {
            if a[3] != 0 {
                let _ = k.mem_of(t).write_u32(a[3], 0);
            }
            me.set_err(k, t, e);
            Ok(R::Val(0))
        };
        if a[0] == STD_INPUT {
            // No console input: end of file.
            if a[3] != 0 {
                k.mem_of(t)
                    .write_u32(a[3], 0)
                    .map_err(bad_ptr("ReadFile: lpNumberOfBytesRead"))?;
            }
            return Ok(R::Val(1));
        }
        let Some(o) = self.obj_of(p, t, a[0]) else {
            return fail(self, k, ERROR_INVALID_HANDLE);
        };
        if let Some(r) = self.read_mailslot(k, t, cpu, o, a) {
            return r;
        }
        if a[4] != 0 && self.is_overlapped(o) {
            let op = IoOp::Read { buf: a[1], n: a[2] };
            return self.start_io(k, t, p, a[0], o, a[4], a[3], op);
        }
        match self.try_read(k, t, o, a[1], a[2])? {
            IoTry::Done(n, more) => {
                if a[3] != 0 {
                    k.mem_of(t)
                        .write_u32(a[3], n)
                        .map_err(bad_ptr("ReadFile: lpNumberOfBytesRead"))?;
                }
                if more {
                    self.set_err(k, t, ERROR_MORE_DATA);
                    return Ok(R::Val(0));
                }
                Ok(R::Val(1))
            }
            IoTry::Fail(e) => fail(self, k, e),
            IoTry::Wait(id) => {
                let text = format!("waits for data in {} (ReadFile)", self.pipe_label(id));
                Ok(self.block_retry(k, t, cpu, Res::Pipe(id), "w32_pipe", text, None))
            }
        }
    }

    /// One read of pipe end `o` into `buf` (at most `n` bytes) of thread `t`'s memory: the
    /// bytes read (and whether a message was left unread), an error, or the pipe to wait for.
    pub(crate) fn try_read<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        o: ObjId,
        buf: u32,
        n: u32,
    ) -> Result<IoTry, ipcemu_kernel::GuestFault> {
        let (msg_read, nowait) = match self.objs.get(o).map(|x| &x.kind) {
            Some(Kind::PipeEnd {
                msg_read, nowait, ..
            }) => (*msg_read, *nowait),
            _ => return Ok(IoTry::Fail(ERROR_INVALID_HANDLE)),
        };
        let Some((pipe, reads, _, _)) = self.pipe_end(o) else {
            return Ok(IoTry::Fail(ERROR_INVALID_HANDLE));
        };
        let Some(id) = pipe else {
            return Ok(IoTry::Fail(ERROR_PIPE_NOT_CONNECTED));
        };
        let Some(c) = reads else {
            return Ok(IoTry::Fail(ERROR_ACCESS_DENIED));
        };
        let Some(pp) = self.pipes.pipes.get_mut(&id) else {
            return Ok(IoTry::Fail(ERROR_INVALID_HANDLE));
        };
        if pp.chans[c].has_data() {
            let mode = msg_read && pp.message;
            let (data, more) = pp.chans[c].read(n as usize, mode);
            k.mem_of(t)
                .write(buf, &data)
                .map_err(bad_ptr("ReadFile: lpBuffer"))?;
            self.wake_res(k, &Res::Pipe(id));
            return Ok(IoTry::Done(data.len() as u32, more));
        }
        let err = match pp.named.as_ref().map(|n| n.state) {
            Some(State::Listening) => Some(ERROR_PIPE_LISTENING),
            Some(State::Disconnected) => Some(ERROR_PIPE_NOT_CONNECTED),
            _ if pp.chans[c].writers == 0 => Some(ERROR_BROKEN_PIPE),
            _ if nowait => Some(ERROR_NO_DATA),
            _ => None,
        };
        Ok(match err {
            Some(e) => IoTry::Fail(e),
            None => IoTry::Wait(id),
        })
    }

    fn sa_inherit<M: GuestMemory>(k: &mut Kernel<M>, t: ThreadId, sa: u32) -> bool {
        sa != 0 && k.mem_of(t).read_u32(sa.wrapping_add(8)).unwrap_or(0) != 0
    }

    fn add_handle(&mut self, p: ProcId, o: ObjId, inherit: bool) -> u32 {
        let h = self.new_handle(p, o);
        if inherit {
            if let Some(ps) = self.procs.get_mut(&p) {
                ps.inherit.insert(h);
            }
        }
        h
    }

    /// `CreatePipe(phRead, phWrite, lpPipeAttributes, nSize)`.
    pub(crate) fn create_pipe<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        let inherit = Self::sa_inherit(k, t, a[2]);
        let id = self.pipes.anonymous(a[3] as usize);
        let end = |reads, writes| Kind::PipeEnd {
            pipe: Some(id),
            reads,
            writes,
            msg_read: false,
            nowait: false,
            server: false,
            overlapped: false,
            io_done: false,
        };
        let ro = self.objs.create(None, end(Some(0), None));
        let wo = self.objs.create(None, end(None, Some(0)));
        let rh = self.add_handle(p, ro, inherit);
        let wh = self.add_handle(p, wo, inherit);
        let m = k.mem_of(t);
        m.write_u32(a[0], rh)
            .map_err(bad_ptr("CreatePipe: hReadPipe"))?;
        m.write_u32(a[1], wh)
            .map_err(bad_ptr("CreatePipe: hWritePipe"))?;
        self.rec(k, t, "CreatePipe", Some(ro), rh, wh as i64);
        Ok(R::Val(1))
    }

    /// `CreateNamedPipeA(name, openMode, pipeMode, maxInstances, outBuf, inBuf, timeout, sa)`.
    pub(crate) fn create_named_pipe<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        let name = self.sarg(k, t, a[0], "CreateNamedPipeA: lpName")?;
        let (open, mode, max) = (a[1], a[2], a[3]);
        let bad = |me: &mut Self, k: &mut Kernel<M>, e| {
            me.set_err(k, t, e);
            Ok(R::Val(INVALID_HANDLE_VALUE))
        };
        if !is_pipe_name(&name) || name.len() > 256 {
            return bad(self, k, ERROR_INVALID_NAME);
        }
        let access = open & 3;
        let message = mode & PIPE_TYPE_MESSAGE != 0;
        if access == 0 || max == 0 || max > 255 || (!message && mode & PIPE_READMODE_MESSAGE != 0) {
            return bad(self, k, ERROR_INVALID_PARAMETER);
        }
        let key = name.to_ascii_lowercase();
        let have = self.pipes.instances(&name).len() as u32;
        let limit = *self.pipes.max_instances.entry(key.clone()).or_insert(max);
        if have >= limit {
            return bad(self, k, ERROR_PIPE_BUSY);
        }
        let id = self.pipes.named(
            &name,
            message,
            (a[5] as usize, a[4] as usize),
            if a[6] == 0 {
                DEFAULT_PIPE_WAIT_MS
            } else {
                a[6]
            },
        );
        let o = self.objs.create(
            None,
            Kind::PipeEnd {
                pipe: Some(id),
                reads: (access & PIPE_ACCESS_INBOUND != 0).then_some(0),
                writes: (access & PIPE_ACCESS_OUTBOUND != 0).then_some(1),
                msg_read: mode & PIPE_READMODE_MESSAGE != 0,
                nowait: mode & PIPE_NOWAIT != 0,
                server: true,
                overlapped: open & FILE_FLAG_OVERLAPPED != 0,
                io_done: false,
            },
        );
        let inherit = Self::sa_inherit(k, t, a[7]);
        let h = self.add_handle(p, o, inherit);
        self.set_err(k, t, 0);
        self.rec_named(k, t, "CreateNamedPipe", &name, h, h as i64);
        self.wake_res(k, &Res::PipeName(key));
        Ok(R::Val(h))
    }

    fn rec_named<M: GuestMemory>(
        &self,
        k: &Kernel<M>,
        t: ThreadId,
        op: &str,
        name: &str,
        h: u32,
        result: i64,
    ) {
        if k.trace_on {
            let object = format!("pipe \"{name}\"");
            ipcemu_kernel::trace_rec!(
                k,
                t,
                "w32_obj",
                NAME,
                op = op,
                object = object.as_str(),
                handle = h,
                result = result
            );
        }
    }

    fn server_pipe(&self, p: ProcId, t: ThreadId, h: u32) -> Option<u32> {
        let o = self.obj_of(p, t, h)?;
        match self.pipe_end(o)? {
            (Some(id), _, _, true) => Some(id),
            _ => None,
        }
    }

    /// `ConnectNamedPipe(h, lpOverlapped)`.
    pub(crate) fn connect_named_pipe<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
    ) -> Ret {
        let Some(id) = self.server_pipe(p, t, a[0]) else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        let Some(o) = self.obj_of(p, t, a[0]) else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        let name = self.pipe_name(id);
        if a[1] != 0 && self.is_overlapped(o) {
            let r = self.start_io(k, t, p, a[0], o, a[1], 0, IoOp::Connect)?;
            if let R::Val(v) = r {
                self.rec_named(k, t, "ConnectNamedPipe", &name, a[0], i64::from(v));
            }
            return Ok(r);
        }
        let (ok, err) = match self.try_connect(k, o) {
            IoTry::Done(..) => (true, 0),
            IoTry::Fail(e) => (false, e),
            IoTry::Wait(id) => {
                let text = format!("waits for a client of pipe \"{name}\" (ConnectNamedPipe)");
                return Ok(self.block_retry(k, t, cpu, Res::Pipe(id), "w32_pipe", text, None));
            }
        };
        if !ok {
            self.set_err(k, t, err);
        }
        self.rec_named(k, t, "ConnectNamedPipe", &name, a[0], ok as i64);
        Ok(R::Val(ok as u32))
    }

    /// One try of `ConnectNamedPipe` on server end `o`: connected (a client came while the
    /// server waited), an error, or listening and the pipe to wait for.
    pub(crate) fn try_connect<M: GuestMemory>(&mut self, k: &mut Kernel<M>, o: ObjId) -> IoTry {
        let id = match self.pipe_end(o) {
            Some((Some(id), _, _, true)) => id,
            _ => return IoTry::Fail(ERROR_INVALID_HANDLE),
        };
        let Some(n) = self
            .pipes
            .pipes
            .get_mut(&id)
            .and_then(|pp| pp.named.as_mut())
        else {
            return IoTry::Fail(ERROR_INVALID_HANDLE);
        };
        let waited = std::mem::take(&mut n.connect_waiting);
        match n.state {
            State::Connected | State::Closing if waited => IoTry::Done(0, false),
            State::Connected => IoTry::Fail(ERROR_PIPE_CONNECTED),
            State::Closing => IoTry::Fail(ERROR_NO_DATA),
            State::Listening | State::Disconnected => {
                n.state = State::Listening;
                n.connect_waiting = true;
                let key = n.name.to_ascii_lowercase();
                // A WaitNamedPipeA waiting for this name goes on.
                self.wake_res(k, &Res::PipeName(key));
                IoTry::Wait(id)
            }
        }
    }

    /// `DisconnectNamedPipe(h)`.
    pub(crate) fn disconnect_named_pipe<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        let Some(id) = self.server_pipe(p, t, a[0]) else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        let name = self.pipe_name(id);
        if let Some(c) = self.pipes.drop_client(id, true) {
            if let Some(Kind::PipeEnd { pipe, .. }) = self.objs.get_mut(c).map(|x| &mut x.kind) {
                *pipe = None;
            }
        }
        self.rec_named(k, t, "DisconnectNamedPipe", &name, a[0], 1);
        self.wake_res(k, &Res::Pipe(id));
        Ok(R::Val(1))
    }

    /// `CreateFileA`: named pipes only (ipcemu has no file system).
    pub(crate) fn create_file<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        let name = self.sarg(k, t, a[0], "CreateFileA: lpFileName")?;
        if let Some(key) = crate::mailslot::mailslot_key(&name) {
            return self.open_mailslot(k, t, p, &key);
        }
        if !is_pipe_name(&name) {
            tracing::warn!(name = %name, "CreateFileA of a file: ipcemu has no file system");
            self.set_err(k, t, ERROR_FILE_NOT_FOUND);
            return Ok(R::Val(INVALID_HANDLE_VALUE));
        }
        if self.pipes.instances(&name).is_empty() {
            self.set_err(k, t, ERROR_FILE_NOT_FOUND);
            self.rec_named(k, t, "CreateFile", &name, 0, 0);
            return Ok(R::Val(INVALID_HANDLE_VALUE));
        }
        let Some(id) = self.pipes.listening(&name) else {
            self.set_err(k, t, ERROR_PIPE_BUSY);
            self.rec_named(k, t, "CreateFile", &name, 0, 0);
            return Ok(R::Val(INVALID_HANDLE_VALUE));
        };
        let o = self.objs.create(
            None,
            Kind::PipeEnd {
                pipe: Some(id),
                reads: (a[1] & GENERIC_READ != 0).then_some(1),
                writes: (a[1] & GENERIC_WRITE != 0).then_some(0),
                msg_read: false,
                nowait: false,
                server: false,
                overlapped: a[5] & FILE_FLAG_OVERLAPPED != 0,
                io_done: false,
            },
        );
        self.pipes.connect(id, o);
        let inherit = Self::sa_inherit(k, t, a[3]);
        let h = self.add_handle(p, o, inherit);
        self.set_err(k, t, 0);
        self.rec_named(k, t, "CreateFile", &name, h, h as i64);
        self.wake_res(k, &Res::Pipe(id));
        Ok(R::Val(h))
    }

    /// `WaitNamedPipeA(name, timeout)`.
    pub(crate) fn wait_named_pipe<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
    ) -> Ret {
        let name = self.sarg(k, t, a[0], "WaitNamedPipeA: lpNamedPipeName")?;
        if !is_pipe_name(&name) {
            self.clear_retry_deadline(t);
            self.set_err(k, t, ERROR_INVALID_NAME);
            return Ok(R::Val(0));
        }
        let inst = self.pipes.instances(&name).to_vec();
        if inst.is_empty() {
            self.clear_retry_deadline(t);
            self.set_err(k, t, ERROR_FILE_NOT_FOUND);
            return Ok(R::Val(0));
        }
        if self.pipes.listening(&name).is_some() {
            self.clear_retry_deadline(t);
            return Ok(R::Val(1));
        }
        let ms = match a[1] {
            0 => self.default_pipe_wait(&inst),
            v => v,
        };
        let timeout = (ms != INFINITE).then(|| (self.retry_deadline(k, t, ms), ERROR_SEM_TIMEOUT));
        let text = format!("waits for a free instance of pipe \"{name}\" (WaitNamedPipeA)");
        Ok(self.block_retry(
            k,
            t,
            cpu,
            Res::PipeName(name.to_ascii_lowercase()),
            "w32_pipe",
            text,
            timeout,
        ))
    }

    /// `SetNamedPipeHandleState(h, lpMode, lpMaxCollectionCount, lpCollectDataTimeout)`.
    pub(crate) fn set_pipe_state<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        let mode = if a[1] != 0 {
            Some(
                k.mem_of(t)
                    .read_u32(a[1])
                    .map_err(bad_ptr("SetNamedPipeHandleState: lpMode"))?,
            )
        } else {
            None
        };
        let Some(o) = self.obj_of(p, t, a[0]) else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        let message = match self.pipe_end(o) {
            Some((Some(id), ..)) => self.pipes.pipes.get(&id).is_some_and(|pp| pp.message),
            Some((None, ..)) => {
                self.set_err(k, t, ERROR_PIPE_NOT_CONNECTED);
                return Ok(R::Val(0));
            }
            None => {
                self.set_err(k, t, ERROR_INVALID_HANDLE);
                return Ok(R::Val(0));
            }
        };
        if let Some(m) = mode {
            if m & PIPE_READMODE_MESSAGE != 0 && !message {
                self.set_err(k, t, ERROR_INVALID_PARAMETER);
                return Ok(R::Val(0));
            }
            if let Some(Kind::PipeEnd {
                msg_read, nowait, ..
            }) = self.objs.get_mut(o).map(|x| &mut x.kind)
            {
                *msg_read = m & PIPE_READMODE_MESSAGE != 0;
                *nowait = m & PIPE_NOWAIT != 0;
            }
        }
        Ok(R::Val(1))
    }

    /// `PeekNamedPipe(h, lpBuffer, nBufferSize, lpBytesRead, lpTotalBytesAvail,
    /// lpBytesLeftThisMessage)`.
    pub(crate) fn peek_named_pipe<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        let end = self.obj_of(p, t, a[0]).and_then(|o| self.pipe_end(o));
        let (id, c) = match end {
            Some((Some(id), Some(c), _, _)) => (id, c),
            Some((None, ..)) => {
                self.set_err(k, t, ERROR_PIPE_NOT_CONNECTED);
                return Ok(R::Val(0));
            }
            _ => {
                self.set_err(k, t, ERROR_INVALID_HANDLE);
                return Ok(R::Val(0));
            }
        };
        let Some(pp) = self.pipes.pipes.get(&id) else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        let ch = &pp.chans[c];
        if !ch.has_data() && ch.writers == 0 && pp.named.is_none() {
            self.set_err(k, t, ERROR_BROKEN_PIPE);
            return Ok(R::Val(0));
        }
        let max = if a[1] == 0 { 0 } else { a[2] as usize };
        let (data, total, left) = ch.peek(max, pp.message);
        let m = k.mem_of(t);
        let e = bad_ptr("PeekNamedPipe");
        if a[1] != 0 {
            m.write(a[1], &data).map_err(&e)?;
        }
        for (ptr, v) in [(a[3], data.len()), (a[4], total), (a[5], left)] {
            if ptr != 0 {
                m.write_u32(ptr, v as u32).map_err(&e)?;
            }
        }
        Ok(R::Val(1))
    }

    /// `SetHandleInformation` / `GetHandleInformation`.
    pub(crate) fn handle_info<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        set: bool,
        a: &[u32; 12],
    ) -> Ret {
        let known = self
            .procs
            .get(&p)
            .is_some_and(|ps| ps.handles.contains_key(&a[0]));
        if !known {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        }
        let ps = self.ps(p)?;
        if set {
            if a[1] & HANDLE_FLAG_INHERIT != 0 {
                if a[2] & HANDLE_FLAG_INHERIT != 0 {
                    ps.inherit.insert(a[0]);
                } else {
                    ps.inherit.remove(&a[0]);
                }
            }
        } else {
            let v = u32::from(ps.inherit.contains(&a[0]));
            k.mem_of(t)
                .write_u32(a[1], v)
                .map_err(bad_ptr("GetHandleInformation: lpdwFlags"))?;
        }
        Ok(R::Val(1))
    }

    /// `CreateProcessA(app, cmdline, pa, ta, inherit, flags, env, dir, si, pi)`: ask the run
    /// loop to start the program (next to this one's image) and wait for the outcome.
    pub(crate) fn create_process<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        let app = if a[0] != 0 {
            Some(self.sarg(k, t, a[0], "CreateProcessA: lpApplicationName")?)
        } else {
            None
        };
        let cmd = if a[1] != 0 {
            Some(self.sarg(k, t, a[1], "CreateProcessA: lpCommandLine")?)
        } else {
            None
        };
        let (first, rest) = split_first(cmd.as_deref().unwrap_or(""));
        let mut program = match app.clone() {
            Some(x) => x,
            None => first.clone(),
        };
        if program.is_empty() {
            self.set_err(k, t, ERROR_INVALID_PARAMETER);
            return Ok(R::Val(0));
        }
        let last = program.rsplit(['/', '\\']).next().unwrap_or("");
        if !last.contains('.') {
            program.push_str(".exe");
        }
        let params = (!rest.is_empty()).then(|| rest.clone());
        let std = if a[8] != 0 {
            let m = k.mem_of(t);
            let e = bad_ptr("CreateProcessA: lpStartupInfo");
            let flags = m.read_u32(a[8].wrapping_add(44)).map_err(&e)?;
            if flags & STARTF_USESTDHANDLES != 0 {
                Some([
                    m.read_u32(a[8].wrapping_add(56)).map_err(&e)?,
                    m.read_u32(a[8].wrapping_add(60)).map_err(&e)?,
                    m.read_u32(a[8].wrapping_add(64)).map_err(&e)?,
                ])
            } else {
                None
            }
        } else {
            None
        };
        // The child's standard handles default to ours.
        let own_std = self.procs.get(&p).map(|ps| ps.std);
        let std = std.or(own_std);
        let mut handles = Vec::new();
        if a[4] != 0 {
            if let Some(ps) = self.procs.get(&p) {
                for (&h, &o) in &ps.handles {
                    if ps.inherit.contains(&h) {
                        handles.push((h, o));
                    }
                }
            }
        }
        for &(_, o) in &handles {
            self.objs.add_ref(o);
        }
        let refs: Vec<ObjId> = handles.iter().map(|&(_, o)| o).collect();
        let id = k.request_spawn(
            t,
            NAME,
            program.clone(),
            params,
            Box::new(SpawnCtx { handles, std }),
        );
        self.spawns.insert(
            id,
            (
                t,
                PendingSpawn {
                    refs,
                    pi: a[9],
                    suspended: a[5] & CREATE_SUSPENDED != 0,
                    cmdline: cmd.unwrap_or(program.clone()),
                },
            ),
        );
        self.next_wait += 1;
        k.block_current(
            Box::new(Block {
                id: self.next_wait,
                what: "w32_spawn",
                text: format!("waits for CreateProcessA to start {program}"),
                timeout: None,
            }),
            None,
        );
        Ok(R::Out(Outcome::Block))
    }

    /// The run loop started (or could not start) a program `CreateProcessA` asked for.
    pub(crate) fn spawn_done<M: GuestMemory>(&mut self, k: &mut Kernel<M>, s: Spawned) {
        let Some((t, pend)) = self.spawns.remove(&s.id) else {
            return;
        };
        let parent_alive = k
            .blocker_of::<Block>(t)
            .is_some_and(|b| b.what == "w32_spawn");
        match s.result {
            Ok((cp, ct)) => {
                let p = k.threads[t].proc;
                let pobj = self.procs.get(&cp).map(|ps| ps.obj);
                let tobj = self.threads.get(&ct).map(|x| x.obj);
                let (Some(pobj), Some(tobj)) = (pobj, tobj) else {
                    if parent_alive {
                        self.set_err(k, t, ERROR_BAD_EXE_FORMAT);
                        k.wake(t, Wake::Eax(0));
                    }
                    return;
                };
                if pend.suspended {
                    if let Some(Kind::Thread { suspended, .. }) =
                        self.objs.get_mut(tobj).map(|x| &mut x.kind)
                    {
                        *suspended = 1;
                    }
                    k.park(ct, Box::new(crate::objects::Suspended), None);
                }
                if !parent_alive || !self.procs.contains_key(&p) {
                    return;
                }
                self.objs.add_ref(pobj);
                self.objs.add_ref(tobj);
                let hp = self.new_handle(p, pobj);
                let ht = self.new_handle(p, tobj);
                let cpid = self.procs.get(&cp).map_or(0, |ps| ps.pid);
                let ctid = k.threads[ct].pid;
                let m = &mut k.procs[p].mem;
                let ok = pend.pi == 0
                    || [hp, ht, cpid, ctid]
                        .iter()
                        .enumerate()
                        .all(|(i, v)| m.write_u32(pend.pi.wrapping_add(4 * i as u32), *v).is_ok());
                if k.trace_on {
                    let object = format!("process \"{}\"", pend.cmdline);
                    ipcemu_kernel::trace_rec!(
                        k,
                        t,
                        "w32_obj",
                        NAME,
                        op = "CreateProcess",
                        object = object.as_str(),
                        handle = hp,
                        result = cpid as i64
                    );
                }
                if !ok {
                    self.set_err(k, t, crate::api::ERROR_INVALID_PARAMETER);
                }
                k.wake(t, Wake::Eax(u32::from(ok)));
            }
            Err(f) => {
                for o in pend.refs {
                    self.release_obj(k, o);
                }
                if parent_alive {
                    let e = match f {
                        SpawnFailure::NotFound(_) => ERROR_FILE_NOT_FOUND,
                        SpawnFailure::Invalid(_) => ERROR_BAD_EXE_FORMAT,
                    };
                    self.set_err(k, t, e);
                    k.wake(t, Wake::Eax(0));
                }
            }
        }
    }

    /// `GetExitCodeProcess(h, lpExitCode)`.
    pub(crate) fn exit_code_process<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        let o = if a[0] == CURRENT_PROCESS {
            self.procs.get(&p).map(|ps| ps.obj)
        } else {
            self.typed(p, t, a[0], "process")
        };
        let code = match o.and_then(|o| self.objs.get(o)).map(|x| &x.kind) {
            Some(Kind::Process { exit, .. }) => exit.unwrap_or(STILL_ACTIVE),
            _ => {
                self.set_err(k, t, ERROR_INVALID_HANDLE);
                return Ok(R::Val(0));
            }
        };
        k.mem_of(t)
            .write_u32(a[1], code)
            .map_err(bad_ptr("GetExitCodeProcess: lpExitCode"))?;
        Ok(R::Val(1))
    }

    /// `TerminateProcess(h, code)`.
    pub(crate) fn terminate_process<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        let target = if a[0] == CURRENT_PROCESS {
            Some(p)
        } else {
            match self
                .typed(p, t, a[0], "process")
                .and_then(|o| self.objs.get(o))
                .map(|x| &x.kind)
            {
                Some(Kind::Process { proc, .. }) => Some(*proc),
                _ => None,
            }
        };
        let Some(target) = target else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        if k.proc_ended(target) {
            self.set_err(k, t, ERROR_ACCESS_DENIED);
            return Ok(R::Val(0));
        }
        if let Some(ps) = self.procs.get_mut(&target) {
            ps.exit_code = Some(a[1]);
        }
        k.exit_process(target, ExitStatus::Normal(a[1] as i32));
        if target == p {
            return Ok(R::Out(Outcome::Exit));
        }
        Ok(R::Val(1))
    }
}

/// The first argument of a command line (quotes group, and are removed) and the rest
/// (leading blanks dropped).
pub(crate) fn split_first(cmd: &str) -> (String, String) {
    let s = cmd.trim_start_matches([' ', '\t']);
    let mut first = String::new();
    let mut in_q = false;
    let mut end = s.len();
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_q = !in_q,
            ' ' | '\t' if !in_q => {
                end = i;
                break;
            }
            c => first.push(c),
        }
    }
    let rest = s[end..].trim_start_matches([' ', '\t']).to_string();
    (first, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipe_names_never_split_a_character() {
        assert!(super::is_pipe_name("\\\\.\\PIPE\\x"));
        assert!(!super::is_pipe_name("\\\\.\\pipe\\"));
        // The 9th byte inside a character (it used to panic on this guest string).
        assert!(!super::is_pipe_name("\\\\.\\pipeЖx"));
    }

    #[test]
    fn command_lines() {
        assert_eq!(
            split_first("pipe_child.exe ipcemu"),
            ("pipe_child.exe".into(), "ipcemu".into())
        );
        assert_eq!(
            split_first("  \"a b.exe\"   x  y"),
            ("a b.exe".into(), "x  y".into())
        );
        assert_eq!(split_first("solo"), ("solo".into(), String::new()));
        assert!(is_pipe_name("\\\\.\\PIPE\\x") && !is_pipe_name("\\\\.\\pipe\\"));
    }
}
