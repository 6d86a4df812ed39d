//! # ipcemu-kos
//!
//! A KasperskyOS-style personality: entities (guest processes, named by their file stems)
//! reach each other over named connections declared outside the programs; clients `Call`,
//! servers `Recv` and `Reply`; every request and response passes the kernel's message path,
//! where the security module ([`config::SecurityModule`], a message hook) may refuse it.
//! The guest ABI (`int 0x91`, eax = function) and every decision are in `docs/kos.md`; the
//! guest SDK is `guest-sdk/kos/include`.

#![warn(missing_docs)]

pub mod config;

pub use config::{parse_connect, parse_init, ConfigError, Connection, Policy, SecurityModule};

use ipcemu_kernel::{
    trace_rec, Blocker, Completion, Cpu, Endpoint, GuestFault, GuestMemory, Kernel, Message,
    MsgKind, Outcome, ProcId, Reg, ThreadId, ThreadState, Verdict, Wake,
};
use ipcemu_personality::{Format, HostMessage, HostPort, HostSendResult, Personality, Trap};
use std::any::Any;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// Name of the personality.
pub const NAME: &str = "kos";
/// The trap vector.
pub const VECTOR: u8 = 0x91;
/// Largest message, header included.
pub const MSG_MAX: u32 = 65536;
/// Size of `SMsgHdr`.
pub const HDR: u32 = 16;
/// `INVALID_HANDLE`.
pub const INVALID_HANDLE: u32 = 0;

/// Return codes (`Retcode`), see `docs/kos.md`.
pub mod rc {
    /// Done.
    pub const OK: u32 = 0;
    /// Bad header, size or buffer.
    pub const INVALID_ARGUMENT: u32 = 1;
    /// The server is not in the run or has ended.
    pub const NOT_CONNECTED: u32 = 2;
    /// The security module refused the message.
    pub const SECURITY_DISALLOW: u32 = 3;
    /// The message does not fit the receiver's stated capacity.
    pub const BUFFER_TOO_SMALL: u32 = 4;
    /// The peer ended during the exchange.
    pub const PEER_ENDED: u32 = 5;
    /// Reply without a received, unanswered request.
    pub const NO_REQUEST: u32 = 6;
    /// Not one of the caller's handles, or of the wrong side.
    pub const BAD_HANDLE: u32 = 7;
}

/// One handle of an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Side {
    Client { server: String },
    Server,
}

#[derive(Debug, Clone)]
struct HandleEntry {
    conn: String,
    side: Side,
}

/// A request on its way or being served.
#[derive(Debug, Clone)]
struct Request {
    client: ThreadId,
    client_proc: ProcId,
    /// The client's receive buffer and its stated capacity.
    reply_buf: u32,
    reply_cap: u32,
    data: Vec<u8>,
    seq: u64,
    method: (u32, u32),
    client_ended: bool,
}

/// The server side of one connection id of one server entity.
#[derive(Debug, Default)]
struct Channel {
    queue: VecDeque<Request>,
    /// Received and not yet answered (Reply answers it).
    current: Option<Request>,
    /// Received and then left unanswered by a later Recv: their clients wait until the server
    /// ends.
    abandoned: Vec<Request>,
    /// A server thread waiting in Recv: (thread, buffer, capacity).
    receiver: Option<(ThreadId, u32, u32)>,
}

/// A thread waiting in Call.
#[derive(Debug, Clone)]
pub struct CallWait {
    conn: String,
    server: String,
}

impl Blocker for CallWait {
    fn personality(&self) -> &'static str {
        NAME
    }
    fn what(&self) -> &'static str {
        "call"
    }
    fn describe(&self) -> String {
        format!(
            "waits in Call on connection \"{}\" for a reply from {}",
            self.conn, self.server
        )
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A thread waiting in Recv.
#[derive(Debug, Clone)]
pub struct RecvWait {
    conn: String,
}

impl Blocker for RecvWait {
    fn personality(&self) -> &'static str {
        NAME
    }
    fn what(&self) -> &'static str {
        "recv"
    }
    fn describe(&self) -> String {
        format!(
            "waits in Recv on connection \"{}\" for a request",
            self.conn
        )
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Writes a message into a resumed thread's receive buffer and sets its return code.
#[derive(Debug)]
struct Deliver {
    buf: u32,
    data: Vec<u8>,
}

impl Completion for Deliver {
    fn complete(self: Box<Self>, mem: &mut dyn GuestMemory, cpu: &mut dyn Cpu) {
        // The buffer was checked when the thread blocked; only its own process could change
        // its mappings, and it was waiting.
        let ok = mem.write(self.buf, &self.data).is_ok();
        cpu.set(Reg::Eax, if ok { rc::OK } else { rc::INVALID_ARGUMENT });
    }
}

/// The KasperskyOS-style personality and its state in one world.
#[derive(Debug, Default)]
pub struct Kos {
    /// Unknown functions fault the guest instead of returning -1.
    pub strict: bool,
    connections: Vec<Connection>,
    handles: HashMap<ProcId, Vec<HandleEntry>>,
    /// (server entity, connection id) -> its channel.
    channels: HashMap<(String, String), Channel>,
    /// The security module's last decision (shared with the hook).
    decision: Option<Rc<RefCell<Option<String>>>>,
    /// The scenario host actor, when it takes part as an entity.
    host: Option<HostSide>,
}

/// The host actor as an entity: connections name it like a guest (`client:id=host`).
#[derive(Debug)]
struct HostSide {
    t: ThreadId,
    name: String,
    /// Requests and responses it has received and not yet collected.
    inbox: Vec<HostMessage>,
    /// Requests to it that it has not answered, in arrival order.
    pending: Vec<(String, Request)>,
}

impl Kos {
    /// A personality with these connections.
    pub fn new(connections: Vec<Connection>, strict: bool) -> Self {
        Kos {
            strict,
            connections,
            ..Kos::default()
        }
    }

    /// The security module for `policy`, as a message hook to add to the world; its decisions
    /// appear in this personality's trace records.
    pub fn security_module(&mut self, policy: Policy) -> SecurityModule {
        let cell = Rc::new(RefCell::new(None));
        self.decision = Some(Rc::clone(&cell));
        SecurityModule {
            policy,
            decision: cell,
        }
    }

    /// The declared connections.
    pub fn connections(&self) -> &[Connection] {
        &self.connections
    }

    fn entity<M: GuestMemory>(k: &Kernel<M>, t: ThreadId) -> String {
        k.procs[k.threads[t].proc].name.clone()
    }

    /// The live process of an entity (the host actor's when it is the entity).
    fn proc_of<M: GuestMemory>(&self, k: &Kernel<M>, name: &str) -> Option<ProcId> {
        if let Some(h) = self.host.as_ref().filter(|h| h.name == name) {
            return Some(k.threads[h.t].proc);
        }
        k.procs
            .iter()
            .position(|p| p.name == name && p.exit.is_none() && p.abi != "host")
            .map(ProcId)
    }

    fn is_host(&self, t: ThreadId) -> bool {
        self.host.as_ref().is_some_and(|h| h.t == t)
    }

    fn handle(&self, p: ProcId, h: u32) -> Option<&HandleEntry> {
        let i = h.checked_sub(1)? as usize;
        self.handles.get(&p)?.get(i)
    }

    fn add_handle(&mut self, p: ProcId, e: HandleEntry) -> u32 {
        let v = self.handles.entry(p).or_default();
        if let Some(i) = v.iter().position(|x| x.conn == e.conn && x.side == e.side) {
            return i as u32 + 1;
        }
        v.push(e);
        v.len() as u32
    }

    /// A message buffer: header in memory, 16 <= size <= MSG_MAX, the whole of it mapped.
    /// Returns its size.
    fn check_buf<M: GuestMemory>(k: &mut Kernel<M>, t: ThreadId, addr: u32) -> Option<u32> {
        let mem = k.mem_of(t);
        let size = mem.read_u32(addr).ok()?;
        if !(HDR..=MSG_MAX).contains(&size) || !mem.contains(addr, size) {
            return None;
        }
        Some(size)
    }

    fn ep<M: GuestMemory>(k: &Kernel<M>, t: Option<ThreadId>, p: Option<ProcId>) -> Endpoint {
        Endpoint {
            proc: p.or(t.map(|t| k.threads[t].proc)),
            thread: t,
            pid: t.map_or(0, |t| k.threads[t].pid),
            address: 0,
        }
    }

    /// Record the security module's decision for a message that passed (denials are recorded
    /// by the message path itself).
    fn trace_decision<M: GuestMemory>(&self, k: &Kernel<M>, t: ThreadId, m: &Message) {
        let Some(cell) = &self.decision else { return };
        let Some(d) = cell.borrow_mut().take() else {
            return;
        };
        if k.trace_on && d.starts_with("allow") {
            let (riid, mid) = m.method.unwrap_or((0, 0));
            trace_rec!(
                k,
                t,
                "allow",
                NAME,
                msg = m.seq,
                dir = m.kind.as_str(),
                channel = m.channel.as_deref().unwrap_or(""),
                riid = riid,
                mid = mid,
                hook = "security-module",
                detail = d.as_str()
            );
        }
    }

    fn trace_deliver<M: GuestMemory>(
        k: &Kernel<M>,
        to: ThreadId,
        from: ThreadId,
        len: usize,
        seq: u64,
    ) {
        if k.trace_on {
            let spid = k.threads[from].pid;
            let sname = k.procs[k.threads[from].proc].name.as_str();
            trace_rec!(
                k,
                to,
                "deliver",
                NAME,
                peer_pid = spid,
                peer_name = sname,
                len = len as u64,
                offset = 0u32,
                msg = seq
            );
        }
    }

    // ----- the calls ----------------------------------------------------------------------

    fn call<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        h: u32,
        out: u32,
        inb: u32,
    ) -> Option<u32> {
        let p = k.threads[t].proc;
        let Some(HandleEntry {
            conn,
            side: Side::Client { server },
        }) = self.handle(p, h).cloned()
        else {
            return Some(rc::BAD_HANDLE);
        };
        let Some(size) = Self::check_buf(k, t, out) else {
            return Some(rc::INVALID_ARGUMENT);
        };
        let Some(cap) = Self::check_buf(k, t, inb) else {
            return Some(rc::INVALID_ARGUMENT);
        };
        let Some(sp) = self.proc_of(k, &server) else {
            return Some(rc::NOT_CONNECTED);
        };
        let mut data = vec![0u8; size as usize];
        if k.mem_of(t).read(out, &mut data).is_err() {
            return Some(rc::INVALID_ARGUMENT);
        }
        let method = (le(&data, 4), le(&data, 8));
        let mut m = Message {
            seq: 0,
            personality: NAME,
            kind: MsgKind::Request,
            from: Self::ep(k, Some(t), None),
            to: Self::ep(k, None, Some(sp)),
            channel: Some(conn.clone()),
            method: Some(method),
            data,
            reply_to: None,
            area_offset: None,
        };
        let verdict = k.transmit(&mut m);
        self.trace_decision(k, t, &m);
        match verdict {
            Verdict::Deny(_) => return Some(rc::SECURITY_DISALLOW),
            // Held by a hook: no results now, the call is made again.
            Verdict::Delay(_) => return Some(rc::OK),
            Verdict::Drop(_) => {
                // Lost on the way: the client waits as if the server never answered.
                k.block_current_on(CallWait { conn, server }, None);
                return None;
            }
            Verdict::Allow => {}
        }
        let req = Request {
            client: t,
            client_proc: p,
            reply_buf: inb,
            reply_cap: cap,
            seq: m.seq,
            data: m.data,
            method,
            client_ended: false,
        };
        if let Some(code) = self.enqueue(k, t, &server, &conn, req) {
            return Some(code);
        }
        k.block_current_on(CallWait { conn, server }, None);
        None
    }

    /// A request that passed the message path goes to its server: to the host actor's inbox,
    /// to a server thread waiting in Recv, or into the channel's queue. Returns an error code
    /// for the caller when it cannot be delivered.
    fn enqueue<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        server: &str,
        conn: &str,
        req: Request,
    ) -> Option<u32> {
        if let Some(h) = self.host.as_mut().filter(|h| h.name == server) {
            let from = &k.threads[t];
            h.inbox.push(ipcemu_personality::HostMessage {
                t_ns: k.now_ns(),
                from_pid: from.pid,
                from_name: k.procs[from.proc].name.clone(),
                from_id: None,
                data: req.data.clone(),
            });
            let ht = h.t;
            h.pending.push((conn.to_string(), req.clone()));
            Self::trace_deliver(k, ht, t, req.data.len(), req.seq);
            return None;
        }
        let chan = self
            .channels
            .entry((server.to_string(), conn.to_string()))
            .or_default();
        if let Some((rt, buf, rcap)) = chan.receiver.take() {
            if req.data.len() as u32 > rcap {
                k.wake(rt, Wake::Eax(rc::BUFFER_TOO_SMALL));
                return Some(rc::BUFFER_TOO_SMALL);
            }
            Self::trace_deliver(k, rt, t, req.data.len(), req.seq);
            k.wake(
                rt,
                Wake::Complete(Box::new(Deliver {
                    buf,
                    data: req.data.clone(),
                })),
            );
            chan.current = Some(req);
        } else {
            chan.queue.push_back(req);
        }
        None
    }

    /// Deliver a response that passed the message path to its client (a waiting guest thread,
    /// or the host actor's inbox).
    fn respond<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        req: &Request,
        data: Vec<u8>,
        seq: u64,
    ) -> u32 {
        if self.is_host(req.client) {
            if let Some(h) = self.host.as_mut() {
                let from = &k.threads[t];
                h.inbox.push(ipcemu_personality::HostMessage {
                    t_ns: k.now_ns(),
                    from_pid: from.pid,
                    from_name: k.procs[from.proc].name.clone(),
                    from_id: None,
                    data: data.clone(),
                });
            }
            Self::trace_deliver(k, req.client, t, data.len(), seq);
            return rc::OK;
        }
        if data.len() as u32 > req.reply_cap {
            k.wake(req.client, Wake::Eax(rc::BUFFER_TOO_SMALL));
            return rc::BUFFER_TOO_SMALL;
        }
        Self::trace_deliver(k, req.client, t, data.len(), seq);
        k.wake(
            req.client,
            Wake::Complete(Box::new(Deliver {
                buf: req.reply_buf,
                data,
            })),
        );
        rc::OK
    }

    fn recv<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        h: u32,
        inb: u32,
    ) -> Option<u32> {
        let p = k.threads[t].proc;
        let Some(HandleEntry {
            conn,
            side: Side::Server,
        }) = self.handle(p, h).cloned()
        else {
            return Some(rc::BAD_HANDLE);
        };
        let Some(cap) = Self::check_buf(k, t, inb) else {
            return Some(rc::INVALID_ARGUMENT);
        };
        let me = Self::entity(k, t);
        let chan = self.channels.entry((me, conn.clone())).or_default();
        if let Some(old) = chan.current.take() {
            chan.abandoned.push(old);
        }
        match chan.queue.pop_front() {
            Some(req) => {
                if req.data.len() as u32 > cap {
                    if !self.is_host(req.client) {
                        k.wake(req.client, Wake::Eax(rc::BUFFER_TOO_SMALL));
                    }
                    return Some(rc::BUFFER_TOO_SMALL);
                }
                // Checked by check_buf.
                let _ = k.mem_of(t).write(inb, &req.data);
                Self::trace_deliver(k, t, req.client, req.data.len(), req.seq);
                chan.current = Some(req);
                Some(rc::OK)
            }
            None => {
                chan.receiver = Some((t, inb, cap));
                k.block_current_on(RecvWait { conn }, None);
                None
            }
        }
    }

    fn reply<M: GuestMemory>(&mut self, k: &mut Kernel<M>, t: ThreadId, h: u32, out: u32) -> u32 {
        let p = k.threads[t].proc;
        let Some(HandleEntry {
            conn,
            side: Side::Server,
        }) = self.handle(p, h).cloned()
        else {
            return rc::BAD_HANDLE;
        };
        let Some(size) = Self::check_buf(k, t, out) else {
            return rc::INVALID_ARGUMENT;
        };
        let me = Self::entity(k, t);
        let Some(req) = self
            .channels
            .get_mut(&(me.clone(), conn.clone()))
            .and_then(|c| c.current.take())
        else {
            return rc::NO_REQUEST;
        };
        if req.client_ended || k.threads[req.client].state == ThreadState::Ended {
            return rc::PEER_ENDED;
        }
        let mut data = vec![0u8; size as usize];
        if k.mem_of(t).read(out, &mut data).is_err() {
            return rc::INVALID_ARGUMENT;
        }
        let mut m = Message {
            seq: 0,
            personality: NAME,
            kind: MsgKind::Response,
            from: Self::ep(k, Some(t), None),
            to: Self::ep(k, Some(req.client), Some(req.client_proc)),
            channel: Some(conn),
            method: Some(req.method),
            data,
            reply_to: Some(req.seq),
            area_offset: None,
        };
        let verdict = k.transmit(&mut m);
        self.trace_decision(k, t, &m);
        match verdict {
            Verdict::Deny(_) => {
                if !self.is_host(req.client) {
                    k.wake(req.client, Wake::Eax(rc::SECURITY_DISALLOW));
                }
                return rc::SECURITY_DISALLOW;
            }
            Verdict::Drop(_) => return rc::OK,
            Verdict::Delay(_) => {
                // Held: the request stays unanswered until the Reply is made again.
                if let Some(c) = self
                    .channels
                    .get_mut(&(me, m.channel.clone().unwrap_or_default()))
                {
                    c.current = Some(req);
                }
                return rc::OK;
            }
            Verdict::Allow => {}
        }
        self.respond(k, t, &req, m.data, m.seq)
    }

    fn locate<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        name_ptr: u32,
        server: bool,
    ) -> Result<String, u32> {
        let name = k
            .mem_of(t)
            .read_cstr(name_ptr, 256)
            .map_err(|_| INVALID_HANDLE)?;
        let me = Self::entity(k, t);
        let found = self.connections.iter().any(|c| {
            c.id == name
                && if server {
                    c.server == me
                } else {
                    c.client == me
                }
        });
        if found {
            Ok(name)
        } else {
            Err(INVALID_HANDLE)
        }
    }

    /// Handle one `int 0x91` from thread `t`.
    pub fn syscall<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
    ) -> Outcome {
        let (eax, ebx, ecx, edx) = (
            cpu.get(Reg::Eax),
            cpu.get(Reg::Ebx),
            cpu.get(Reg::Ecx),
            cpu.get(Reg::Edx),
        );
        let r = match eax {
            1 => self.call(k, t, ebx, ecx, edx),
            2 => self.recv(k, t, ebx, ecx),
            3 => Some(self.reply(k, t, ebx, ecx)),
            4 => Some(match self.locate(k, t, ebx, false) {
                Ok(conn) => {
                    let server = self
                        .connections
                        .iter()
                        .find(|c| c.id == conn && c.client == Self::entity(k, t))
                        .map(|c| c.server.clone())
                        .unwrap_or_default();
                    let p = k.threads[t].proc;
                    self.add_handle(
                        p,
                        HandleEntry {
                            conn,
                            side: Side::Client { server },
                        },
                    )
                }
                Err(e) => e,
            }),
            5 => {
                let iid = cpu.get(Reg::Esi);
                Some(match self.locate(k, t, ebx, true) {
                    Ok(conn) => {
                        if iid != 0 && k.mem_of(t).write_u32(iid, 0).is_err() {
                            INVALID_HANDLE
                        } else {
                            let p = k.threads[t].proc;
                            let me = Self::entity(k, t);
                            self.channels.entry((me, conn.clone())).or_default();
                            self.add_handle(
                                p,
                                HandleEntry {
                                    conn,
                                    side: Side::Server,
                                },
                            )
                        }
                    }
                    Err(e) => e,
                })
            }
            _ => {
                if self.strict {
                    return Outcome::fault(GuestFault::Unsupported {
                        abi: "KOS",
                        function: format!("{eax}"),
                        detail: "(int 0x91, --strict)".into(),
                    });
                }
                Some(u32::MAX)
            }
        };
        match r {
            Some(v) => {
                cpu.set(Reg::Eax, v);
                Outcome::Continue
            }
            None => Outcome::Block,
        }
    }
}

fn le(d: &[u8], o: usize) -> u32 {
    d.get(o..o + 4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl<M: GuestMemory> Personality<M> for Kos {
    fn name(&self) -> &'static str {
        NAME
    }
    fn vectors(&self) -> Vec<(u8, String)> {
        vec![(VECTOR, "KOS-style Call/Recv/Reply (int 0x91)".into())]
    }
    fn attaches(&self, format: Format) -> bool {
        format == Format::Elf32
    }
    fn trap(&mut self, k: &mut Kernel<M>, t: ThreadId, cpu: &mut dyn Cpu, _trap: Trap) -> Outcome {
        self.syscall(k, t, cpu)
    }
    fn strace_call(
        &self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &dyn Cpu,
        _trap: Trap,
    ) -> Option<String> {
        use ipcemu_personality::strace_cstr;
        let r = |x| cpu.get(x);
        let (eax, ebx, ecx, edx) = (r(Reg::Eax), r(Reg::Ebx), r(Reg::Ecx), r(Reg::Edx));
        let m = k.mem_of(t);
        let hdr = |m: &M, a: u32| match (m.read_u32(a), m.read_u32(a.wrapping_add(8))) {
            (Ok(size), Ok(mid)) => format!("{{size={size}, mid={mid}}}"),
            _ => format!("{a:#x}"),
        };
        Some(match eax {
            1 => format!("Call(handle={ebx}, out={}, in={edx:#x})", hdr(m, ecx)),
            2 => format!("Recv(handle={ebx}, in={ecx:#x})"),
            3 => format!("Reply(handle={ebx}, out={})", hdr(m, ecx)),
            4 => format!("ServiceLocatorConnect({})", strace_cstr(m, ebx, 64)),
            5 => format!("ServiceLocatorRegister({})", strace_cstr(m, ebx, 64)),
            n => format!("kos_{n}(ebx={ebx:#x})"),
        })
    }
    fn strace_result(&self, _k: &mut Kernel<M>, _t: ThreadId, cpu: &dyn Cpu, call: &str) -> String {
        let v = cpu.get(Reg::Eax);
        if !matches!(call.split('(').next(), Some("Call" | "Recv" | "Reply")) {
            // ServiceLocator* return a handle (0 = INVALID_HANDLE).
            return v.to_string();
        }
        let name = match v {
            rc::OK => "rcOk",
            rc::INVALID_ARGUMENT => "rcInvalidArgument",
            rc::NOT_CONNECTED => "rcNotConnected",
            rc::SECURITY_DISALLOW => "rcSecurityDisallow",
            rc::BUFFER_TOO_SMALL => "rcBufferTooSmall",
            rc::PEER_ENDED => "rcPeerEnded",
            rc::NO_REQUEST => "rcNoRequest",
            rc::BAD_HANDLE => "rcBadHandle",
            _ => return (v as i32).to_string(),
        };
        format!("{v} ({name})")
    }
    fn thread_exited(&mut self, k: &mut Kernel<M>, t: ThreadId) {
        let p = k.threads[t].proc;
        // A server thread waiting in Recv is no receiver any more.
        for chan in self.channels.values_mut() {
            if chan.receiver.is_some_and(|(rt, _, _)| rt == t) {
                chan.receiver = None;
            }
        }
        if k.procs[p].live_threads > 0 {
            return;
        }
        let me = k.procs[p].name.clone();
        let mut wake = Vec::new();
        for ((server, _), chan) in self.channels.iter_mut() {
            if *server == me {
                // The server ended: every client it had not answered gets rcPeerEnded.
                wake.extend(chan.queue.drain(..).map(|r| r.client));
                wake.extend(chan.current.take().map(|r| r.client));
                wake.extend(chan.abandoned.drain(..).map(|r| r.client));
            } else {
                // A client ended: its queued requests go; a received one is marked.
                chan.queue.retain(|r| r.client_proc != p);
                if let Some(c) = chan.current.as_mut() {
                    if c.client_proc == p {
                        c.client_ended = true;
                    }
                }
            }
        }
        if let Some(h) = self.host.as_mut() {
            h.pending.retain(|(_, r)| r.client_proc != p);
        }
        for c in wake {
            if k.blocker_of::<CallWait>(c).is_some() {
                k.wake(c, Wake::Eax(rc::PEER_ENDED));
            }
        }
        self.handles.remove(&p);
    }
    fn host_port(&mut self) -> Option<&mut dyn HostPort<M>> {
        Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A KOS message from host bytes: `data` as it is when it starts with its own size field
/// (a whole message, header included), else `data` behind a header with this method.
fn host_message(data: &[u8], method: (u32, u32)) -> Vec<u8> {
    if data.len() >= HDR as usize && le(data, 0) as usize == data.len() {
        return data.to_vec();
    }
    let mut v = Vec::with_capacity(HDR as usize + data.len());
    for x in [HDR + data.len() as u32, method.0, method.1, 0] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(data);
    v
}

/// The scenario host actor as a KOS entity named like its process (`host`). `to` is a PID:
/// when a guest with that PID waits for the host's answer, the send is its `Reply`; otherwise,
/// when a connection names the host as client and that guest's entity as server, it is a
/// `Call` whose response arrives in the host's inbox. See `docs/kos.md`.
impl<M: GuestMemory> HostPort<M> for Kos {
    fn host_attach(&mut self, k: &mut Kernel<M>, t: ThreadId, _area: u32, _size: u32) {
        self.host = Some(HostSide {
            t,
            name: Self::entity(k, t),
            inbox: Vec::new(),
            pending: Vec::new(),
        });
    }
    fn host_target_ready(&self, k: &Kernel<M>, to: u32) -> bool {
        k.thread_by_pid(to).is_some()
    }
    fn host_send(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        to: u32,
        data: &[u8],
    ) -> HostSendResult {
        let fail = |code, transient| HostSendResult { code, transient };
        let Some(h) = self.host.as_mut() else {
            return fail(rc::BAD_HANDLE, false);
        };
        let me = h.name.clone();
        // A reply to a guest waiting for the host.
        if let Some(i) = h
            .pending
            .iter()
            .position(|(_, r)| k.threads[r.client].pid == to)
        {
            let (conn, req) = h.pending.remove(i);
            if req.client_ended || k.threads[req.client].state == ThreadState::Ended {
                return fail(rc::PEER_ENDED, false);
            }
            let mut m = Message {
                seq: 0,
                personality: NAME,
                kind: MsgKind::Response,
                from: Self::ep(k, Some(t), None),
                to: Self::ep(k, Some(req.client), Some(req.client_proc)),
                channel: Some(conn),
                method: Some(req.method),
                data: host_message(data, req.method),
                reply_to: Some(req.seq),
                area_offset: None,
            };
            let verdict = k.transmit(&mut m);
            self.trace_decision(k, t, &m);
            return match verdict {
                Verdict::Deny(_) => {
                    k.wake(req.client, Wake::Eax(rc::SECURITY_DISALLOW));
                    fail(rc::SECURITY_DISALLOW, false)
                }
                // (The host is never held: Delay cannot come.)
                Verdict::Drop(_) | Verdict::Delay(_) => fail(rc::OK, false),
                Verdict::Allow => fail(self.respond(k, t, &req, m.data, m.seq), false),
            };
        }
        // A call from the host to a guest server.
        let Some(st) = k.thread_by_pid(to) else {
            return fail(rc::NOT_CONNECTED, true);
        };
        let server = Self::entity(k, st);
        let Some(conn) = self
            .connections
            .iter()
            .find(|c| c.client == me && c.server == server)
            .map(|c| c.id.clone())
        else {
            return fail(rc::BAD_HANDLE, false);
        };
        let data = host_message(data, (0, 0));
        if data.len() as u32 > MSG_MAX {
            return fail(rc::INVALID_ARGUMENT, false);
        }
        let method = (le(&data, 4), le(&data, 8));
        let sp = k.threads[st].proc;
        let mut m = Message {
            seq: 0,
            personality: NAME,
            kind: MsgKind::Request,
            from: Self::ep(k, Some(t), None),
            to: Self::ep(k, None, Some(sp)),
            channel: Some(conn.clone()),
            method: Some(method),
            data,
            reply_to: None,
            area_offset: None,
        };
        let verdict = k.transmit(&mut m);
        self.trace_decision(k, t, &m);
        match verdict {
            Verdict::Deny(_) => return fail(rc::SECURITY_DISALLOW, false),
            Verdict::Drop(_) | Verdict::Delay(_) => return fail(rc::OK, false),
            Verdict::Allow => {}
        }
        let req = Request {
            client: t,
            client_proc: k.threads[t].proc,
            reply_buf: 0,
            reply_cap: MSG_MAX,
            seq: m.seq,
            data: m.data,
            method,
            client_ended: false,
        };
        fail(
            self.enqueue(k, t, &server, &conn, req).unwrap_or(rc::OK),
            false,
        )
    }
    fn host_receive(&mut self, _k: &mut Kernel<M>, _t: ThreadId) -> Vec<HostMessage> {
        self.host
            .as_mut()
            .map(|h| std::mem::take(&mut h.inbox))
            .unwrap_or_default()
    }
}
