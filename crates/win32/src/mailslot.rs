//! Mailslots: one-way queues of whole messages between processes (`CreateMailslotA`,
//! `CreateFileA("\\.\mailslot\NAME")`, `WriteFile`, `ReadFile`, `GetMailslotInfo`,
//! `SetMailslotInfo`).
//!
//! The process that creates a mailslot holds its only read handle; any process of the world
//! opens it by name for writing (`\\.\mailslot\NAME`, or `\\*\mailslot\NAME`, the domain
//! broadcast form, which here reaches the same world). Every write is one message on the
//! kernel's message path (kind `queued`, channel `mailslot "\\.\mailslot\NAME"`), so it is
//! traced and a policy or fault-injection hook sees it. A read takes one whole message, or
//! waits up to the mailslot's read timeout.

use crate::api::{Ret, ERROR_ACCESS_DENIED, ERROR_INVALID_HANDLE, ERROR_INVALID_PARAMETER, R};
use crate::io::{WriteRes, ERROR_INVALID_NAME, ERROR_NOT_ENOUGH_QUOTA, ERROR_SEM_TIMEOUT};
use crate::objects::{Kind, ObjId};
use crate::{bad_ptr, Res, Win32, NAME};
use ipcemu_kernel::{Cpu, Endpoint, GuestMemory, Kernel, Message, MsgKind, ProcId, ThreadId};
use std::collections::{HashMap, VecDeque};

const ERROR_ALREADY_EXISTS: u32 = 183;
const ERROR_INSUFFICIENT_BUFFER: u32 = 122;
const MAILSLOT_WAIT_FOREVER: u32 = 0xFFFF_FFFF;
const _: () = assert!(
    MAILSLOT_WAIT_FOREVER == crate::api::INFINITE,
    "read waits share the restart deadline"
);
const MAILSLOT_NO_MESSAGE: u32 = 0xFFFF_FFFF;
/// Messages one mailslot holds at most (a guest cannot grow host memory without bound; a
/// write past it fails with `ERROR_NOT_ENOUGH_QUOTA`).
pub const MAX_MESSAGES: usize = 10_000;
/// Bytes of unread messages one mailslot holds at most (the same).
pub const MAX_BYTES: usize = 16 << 20;

/// One mailslot.
#[derive(Debug)]
pub struct Mailslot {
    /// Its name as created.
    pub name: String,
    /// `nMaxMessageSize` (0: any size).
    pub max: u32,
    /// Read timeout in ms (`MAILSLOT_WAIT_FOREVER`: none).
    pub timeout: u32,
    /// Messages not read yet, oldest first.
    pub queue: VecDeque<Vec<u8>>,
    /// Their total size.
    pub bytes: usize,
    /// The process that reads it.
    pub owner: ProcId,
}

/// The mailslots of a world.
#[derive(Debug, Default)]
pub struct Mailslots {
    /// By id.
    pub slots: HashMap<u32, Mailslot>,
    /// Lower-case name (the part after `\mailslot\`) -> id.
    pub names: HashMap<String, u32>,
    next: u32,
}

/// The key of a mailslot name: `\\.\mailslot\x` and `\\*\mailslot\x` (any case) -> `x`.
pub(crate) fn mailslot_key(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    ["\\\\.\\mailslot\\", "\\\\*\\mailslot\\"]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .filter(|rest| !rest.is_empty())
        .map(str::to_string)
}

impl Win32 {
    /// `CreateMailslotA(lpName, nMaxMessageSize, lReadTimeout, lpSecurityAttributes)`.
    pub(crate) fn create_mailslot<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        let name = self.sarg(k, t, a[0], "CreateMailslotA: lpName")?;
        let bad = |me: &mut Self, k: &mut Kernel<M>, e| {
            me.set_err(k, t, e);
            Ok(R::Val(crate::api::INVALID_HANDLE_VALUE))
        };
        // Only a local name can be created.
        let Some(key) = mailslot_key(&name).filter(|_| name.as_bytes().get(2) == Some(&b'.'))
        else {
            return bad(self, k, ERROR_INVALID_NAME);
        };
        if name.len() > 256 {
            return bad(self, k, ERROR_INVALID_NAME);
        }
        if self.mailslots.names.contains_key(&key) {
            return bad(self, k, ERROR_ALREADY_EXISTS);
        }
        self.mailslots.next += 1;
        let id = self.mailslots.next;
        self.mailslots.slots.insert(
            id,
            Mailslot {
                name: name.clone(),
                max: a[1],
                timeout: a[2],
                queue: VecDeque::new(),
                bytes: 0,
                owner: p,
            },
        );
        self.mailslots.names.insert(key, id);
        let o = self.objs.create(None, Kind::Mailslot { id, server: true });
        let h = self.new_handle(p, o);
        self.set_err(k, t, 0);
        Ok(R::Val(h))
    }

    /// `CreateFileA` of a mailslot name: a write handle (the mailslot must exist).
    pub(crate) fn open_mailslot<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        key: &str,
    ) -> Ret {
        let Some(&id) = self.mailslots.names.get(key) else {
            self.set_err(k, t, crate::api::ERROR_FILE_NOT_FOUND);
            return Ok(R::Val(crate::api::INVALID_HANDLE_VALUE));
        };
        let o = self.objs.create(None, Kind::Mailslot { id, server: false });
        let h = self.new_handle(p, o);
        self.set_err(k, t, 0);
        Ok(R::Val(h))
    }

    /// A write to mailslot end `o` (a client's): one message.
    pub(crate) fn write_mailslot<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        o: ObjId,
        h: u32,
        data: &[u8],
    ) -> Option<WriteRes> {
        let (id, server) = match self.objs.get(o).map(|x| &x.kind) {
            Some(Kind::Mailslot { id, server }) => (*id, *server),
            _ => return None,
        };
        if server {
            return Some(WriteRes::Fail(ERROR_ACCESS_DENIED));
        }
        // The mailslot is gone with its reader: the message has nowhere to go.
        let Some(ms) = self.mailslots.slots.get(&id) else {
            return Some(WriteRes::Fail(crate::api::ERROR_FILE_NOT_FOUND));
        };
        if ms.max != 0 && data.len() > ms.max as usize {
            return Some(WriteRes::Fail(ERROR_INVALID_PARAMETER));
        }
        if ms.queue.len() >= MAX_MESSAGES || ms.bytes + data.len() > MAX_BYTES {
            return Some(WriteRes::Fail(ERROR_NOT_ENOUGH_QUOTA));
        }
        let owner = ms.owner;
        let mut m = Message {
            seq: 0,
            personality: NAME,
            kind: MsgKind::Queued,
            from: crate::endpoint(k, t, h),
            to: Endpoint {
                proc: Some(owner),
                thread: None,
                pid: self.procs.get(&owner).map_or(0, |ps| ps.pid),
                address: u64::from(id),
            },
            channel: Some(format!("mailslot \"{}\"", ms.name)),
            method: None,
            data: data.to_vec(),
            reply_to: None,
            area_offset: None,
        };
        match crate::transmit_queued(k, &mut m, false) {
            Ok(true) => {}
            Ok(false) => return Some(WriteRes::Done(data.len() as u32)),
            Err(e) => return Some(WriteRes::Fail(e)),
        }
        if let Some(ms) = self.mailslots.slots.get_mut(&id) {
            ms.bytes += m.data.len();
            ms.queue.push_back(m.data);
        }
        self.wake_res(k, &Res::Mailslot(id));
        Some(WriteRes::Done(data.len() as u32))
    }

    /// `ReadFile` of a mailslot's read handle: one whole message, or a wait up to its read
    /// timeout. `None`: `o` is not a mailslot.
    pub(crate) fn read_mailslot<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        o: ObjId,
        a: &[u32; 12],
    ) -> Option<Ret> {
        let (id, server) = match self.objs.get(o).map(|x| &x.kind) {
            Some(Kind::Mailslot { id, server }) => (*id, *server),
            _ => return None,
        };
        let (buf, n, out) = (a[1], a[2], a[3]);
        let fail = |me: &mut Self, k: &mut Kernel<M>, e: u32| {
            me.clear_retry_deadline(t);
            if out != 0 {
                let _ = k.mem_of(t).write_u32(out, 0);
            }
            me.set_err(k, t, e);
            Ok(R::Val(0))
        };
        if !server {
            return Some(fail(self, k, ERROR_ACCESS_DENIED));
        }
        let Some(ms) = self.mailslots.slots.get_mut(&id) else {
            return Some(fail(self, k, ERROR_INVALID_HANDLE));
        };
        if let Some(first) = ms.queue.front() {
            if first.len() > n as usize {
                // The message stays; the caller needs a larger buffer.
                return Some(fail(self, k, ERROR_INSUFFICIENT_BUFFER));
            }
            let msg = ms.queue.pop_front().unwrap_or_default();
            ms.bytes -= msg.len();
            self.clear_retry_deadline(t);
            let r = (|| {
                k.mem_of(t)
                    .write(buf, &msg)
                    .map_err(bad_ptr("ReadFile: lpBuffer"))?;
                if out != 0 {
                    k.mem_of(t)
                        .write_u32(out, msg.len() as u32)
                        .map_err(bad_ptr("ReadFile: lpNumberOfBytesRead"))?;
                }
                Ok(R::Val(1))
            })();
            return Some(r);
        }
        let timeout = ms.timeout;
        let label = ms.name.clone();
        // 0 fails at once; MAILSLOT_WAIT_FOREVER is INFINITE.
        let deadline = self.wait_deadline(k, t, timeout);
        if deadline.is_some_and(|d| k.now_ns() >= d) {
            return Some(fail(self, k, ERROR_SEM_TIMEOUT));
        }
        let text = format!("waits for a message in mailslot \"{label}\" (ReadFile)");
        Some(Ok(self.block_retry_until(
            k,
            t,
            cpu,
            Res::Mailslot(id),
            "w32_mailslot",
            text,
            deadline,
        )))
    }

    /// `GetMailslotInfo(h, lpMaxMessageSize, lpNextSize, lpMessageCount, lpReadTimeout)` and
    /// `SetMailslotInfo(h, lReadTimeout)`.
    pub(crate) fn mailslot_info<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
        set: bool,
    ) -> Ret {
        let id = match self
            .obj_of(p, t, a[0])
            .and_then(|o| self.objs.get(o))
            .map(|x| &x.kind)
        {
            Some(Kind::Mailslot { id, server: true }) => *id,
            _ => {
                self.set_err(k, t, ERROR_INVALID_HANDLE);
                return Ok(R::Val(0));
            }
        };
        let Some(ms) = self.mailslots.slots.get_mut(&id) else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        if set {
            ms.timeout = a[1];
            return Ok(R::Val(1));
        }
        let next = ms
            .queue
            .front()
            .map_or(MAILSLOT_NO_MESSAGE, |m| m.len() as u32);
        let vals = [ms.max, next, ms.queue.len() as u32, ms.timeout];
        let e = bad_ptr("GetMailslotInfo");
        for (ptr, v) in a[1..5].iter().zip(vals) {
            if *ptr != 0 {
                k.mem_of(t).write_u32(*ptr, v).map_err(&e)?;
            }
        }
        Ok(R::Val(1))
    }

    /// The read handle of mailslot `id` closed: the mailslot and its name go (unread messages
    /// with it); writers' later writes fail.
    pub(crate) fn mailslot_closed(&mut self, id: u32) {
        if let Some(ms) = self.mailslots.slots.remove(&id) {
            if let Some(key) = mailslot_key(&ms.name) {
                self.mailslots.names.remove(&key);
            }
        }
    }
}
