//! I/O completion ports: `CreateIoCompletionPort`, `GetQueuedCompletionStatus` and
//! `PostQueuedCompletionStatus`.
//!
//! A port is a kernel object holding a queue of completion packets (bytes, key, `OVERLAPPED`,
//! status). An overlapped pipe end can be associated with one port and a key; every
//! overlapped operation on it that finishes (at once or later, see `overlapped.rs`) then adds
//! a packet, unless the low bit of its `hEvent` is set (Windows' rule). Any thread may post
//! packets of its own, which makes a port a queue between threads as well (each posted packet
//! is a message on the kernel's path). A thread in
//! `GetQueuedCompletionStatus` on an empty port waits (a restartable call, woken when the
//! port gets a packet); packets are taken first in, first out.

use crate::api::{Ret, ERROR_INVALID_HANDLE, ERROR_INVALID_PARAMETER, INVALID_HANDLE_VALUE, R};
use crate::io::ERROR_NOT_ENOUGH_QUOTA;
use crate::objects::{Kind, ObjId, WAIT_TIMEOUT};
use crate::{bad_ptr, Res, Win32};
use ipcemu_kernel::{Cpu, Endpoint, GuestMemory, Kernel, Message, MsgKind, ProcId, ThreadId};

/// Packets one port holds at most (a guest cannot grow host memory without bound).
pub const MAX_PACKETS: usize = 1 << 16;

/// One completion packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet {
    /// Bytes transferred (`lpNumberOfBytesTransferred`).
    pub bytes: u32,
    /// The completion key.
    pub key: u32,
    /// The `OVERLAPPED` (any value for a posted packet).
    pub ov: u32,
    /// NTSTATUS of the operation (0 for a posted packet).
    pub status: u32,
}

impl Win32 {
    /// The port and key pipe end `o` is associated with.
    pub(crate) fn port_of(&self, o: ObjId) -> Option<(ObjId, u32)> {
        self.ports.get(&o).copied()
    }

    /// The completion port behind handle `h` of thread `t`.
    fn port_handle(&self, p: ProcId, t: ThreadId, h: u32) -> Option<ObjId> {
        self.obj_of(p, t, h)
            .filter(|&o| matches!(self.objs.get(o).map(|x| &x.kind), Some(Kind::Port { .. })))
    }

    /// Add a packet to port `port` and wake the threads waiting on it (false: the port is
    /// gone or full).
    pub(crate) fn post_packet<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        port: ObjId,
        pk: Packet,
    ) -> bool {
        match self.objs.get_mut(port).map(|x| &mut x.kind) {
            Some(Kind::Port { queue }) if queue.len() < MAX_PACKETS => queue.push_back(pk),
            _ => return false,
        }
        self.wake_res(k, &Res::Port(port));
        true
    }

    /// `CreateIoCompletionPort(FileHandle, ExistingCompletionPort, CompletionKey, n)`.
    pub(crate) fn create_iocp<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        let (file, existing, key) = (a[0], a[1], a[2]);
        let fail = |me: &mut Self, k: &mut Kernel<M>, e| {
            me.set_err(k, t, e);
            Ok(R::Val(0))
        };
        let new_port = |me: &mut Self| {
            let o = me.objs.create(
                None,
                Kind::Port {
                    queue: Default::default(),
                },
            );
            (o, me.new_handle(p, o))
        };
        if file == INVALID_HANDLE_VALUE {
            if existing != 0 {
                return fail(self, k, ERROR_INVALID_PARAMETER);
            }
            return Ok(R::Val(new_port(self).1));
        }
        let Some(fo) = self.obj_of(p, t, file) else {
            return fail(self, k, ERROR_INVALID_HANDLE);
        };
        // Only overlapped pipe ends complete asynchronously; one port per end.
        if !self.is_overlapped(fo) || self.ports.contains_key(&fo) {
            return fail(self, k, ERROR_INVALID_PARAMETER);
        }
        let (port, h) = if existing == 0 {
            new_port(self)
        } else {
            match self.port_handle(p, t, existing) {
                Some(o) => (o, existing),
                None => return fail(self, k, ERROR_INVALID_HANDLE),
            }
        };
        // The association keeps the port alive as long as the pipe end.
        self.objs.add_ref(port);
        self.ports.insert(fo, (port, key));
        Ok(R::Val(h))
    }

    /// `PostQueuedCompletionStatus(port, bytes, key, lpOverlapped)`.
    pub(crate) fn post_iocp<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        let Some(port) = self.port_handle(p, t, a[0]) else {
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        let full = matches!(
            self.objs.get(port).map(|x| &x.kind),
            Some(Kind::Port { queue }) if queue.len() >= MAX_PACKETS
        );
        if full {
            self.set_err(k, t, ERROR_NOT_ENOUGH_QUOTA);
            return Ok(R::Val(0));
        }
        // A posted packet is a message between threads: it passes the kernel's message path
        // (kind `queued`, channel `completion port #N`), where it is traced and a policy or
        // fault-injection hook sees it (its 12 bytes: bytes, key, OVERLAPPED).
        let ep = crate::endpoint(k, t, a[0]);
        let mut m = Message {
            seq: 0,
            personality: crate::NAME,
            kind: MsgKind::Queued,
            from: ep.clone(),
            to: Endpoint { thread: None, ..ep },
            channel: Some(format!("completion port #{port}")),
            method: None,
            data: [a[1], a[2], a[3]]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            reply_to: None,
            area_offset: None,
        };
        match crate::transmit_queued(k, &mut m, false) {
            Ok(true) => {}
            Ok(false) => return Ok(R::Val(1)),
            Err(e) => {
                self.set_err(k, t, e);
                return Ok(R::Val(0));
            }
        }
        let w = |i: usize, d: u32| crate::data_word(&m.data, i, d);
        let pk = Packet {
            bytes: w(0, a[1]),
            key: w(1, a[2]),
            ov: w(2, a[3]),
            status: 0,
        };
        if !self.post_packet(k, port, pk) {
            self.set_err(k, t, ERROR_NOT_ENOUGH_QUOTA);
            return Ok(R::Val(0));
        }
        Ok(R::Val(1))
    }

    /// `GetQueuedCompletionStatus(port, lpBytes, lpKey, lplpOverlapped, dwMilliseconds)`.
    pub(crate) fn get_iocp<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
    ) -> Ret {
        let (bytes_p, key_p, ov_p, ms) = (a[1], a[2], a[3], a[4]);
        let e = bad_ptr("GetQueuedCompletionStatus");
        let Some(port) = self.port_handle(p, t, a[0]) else {
            self.clear_retry_deadline(t);
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        let pk = match self.objs.get_mut(port).map(|x| &mut x.kind) {
            Some(Kind::Port { queue }) => queue.pop_front(),
            _ => None,
        };
        if let Some(pk) = pk {
            self.clear_retry_deadline(t);
            let m = k.mem_of(t);
            m.write_u32(bytes_p, pk.bytes).map_err(&e)?;
            m.write_u32(key_p, pk.key).map_err(&e)?;
            m.write_u32(ov_p, pk.ov).map_err(&e)?;
            if pk.status == 0 {
                return Ok(R::Val(1));
            }
            let err = crate::overlapped::error_of(pk.status);
            self.set_err(k, t, err);
            return Ok(R::Val(0));
        }
        let deadline = self.wait_deadline(k, t, ms);
        if deadline.is_some_and(|d| k.now_ns() >= d) {
            self.clear_retry_deadline(t);
            k.mem_of(t).write_u32(ov_p, 0).map_err(&e)?;
            self.set_err(k, t, WAIT_TIMEOUT);
            return Ok(R::Val(0));
        }
        let text = "waits for a completion packet (GetQueuedCompletionStatus)".to_string();
        Ok(self.block_retry_until(k, t, cpu, Res::Port(port), "w32_iocp", text, deadline))
    }

    /// `GetQueuedCompletionStatusEx(port, lpEntries, ulCount, ulNumEntriesRemoved,
    /// dwMilliseconds, fAlertable)`: up to `ulCount` packets at once into `OVERLAPPED_ENTRY`s
    /// (key, `OVERLAPPED`, status, bytes); waits while the port is empty. `fAlertable` is
    /// not honoured (the wait is not alertable).
    pub(crate) fn get_iocp_ex<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        a: &[u32; 12],
    ) -> Ret {
        let (entries, count, removed, ms) = (a[1], a[2], a[3], a[4]);
        let e = bad_ptr("GetQueuedCompletionStatusEx");
        let Some(port) = self.port_handle(p, t, a[0]) else {
            self.clear_retry_deadline(t);
            self.set_err(k, t, ERROR_INVALID_HANDLE);
            return Ok(R::Val(0));
        };
        if count == 0 {
            self.clear_retry_deadline(t);
            self.set_err(k, t, ERROR_INVALID_PARAMETER);
            return Ok(R::Val(0));
        }
        let mut taken = Vec::new();
        if let Some(Kind::Port { queue }) = self.objs.get_mut(port).map(|x| &mut x.kind) {
            while taken.len() < count as usize {
                match queue.pop_front() {
                    Some(pk) => taken.push(pk),
                    None => break,
                }
            }
        }
        if !taken.is_empty() {
            self.clear_retry_deadline(t);
            let m = k.mem_of(t);
            for (i, pk) in taken.iter().enumerate() {
                let at = entries.wrapping_add(16 * i as u32);
                for (j, v) in [pk.key, pk.ov, pk.status, pk.bytes].into_iter().enumerate() {
                    m.write_u32(at.wrapping_add(4 * j as u32), v).map_err(&e)?;
                }
            }
            m.write_u32(removed, taken.len() as u32).map_err(&e)?;
            return Ok(R::Val(1));
        }
        // fAlertable: with no packet, queued APCs run and the call fails with
        // WAIT_IO_COMPLETION; the wait also ends when an APC comes.
        let alertable = a[5] != 0;
        if alertable && self.threads.get(&t).is_some_and(|ts| !ts.apcs.is_empty()) {
            k.mem_of(t).write_u32(removed, 0).map_err(&e)?;
            let after_call = (cpu.get(ipcemu_kernel::Reg::Esp), self.at.wrapping_add(2));
            if let Some(r) = self.run_apcs(k, t, cpu, after_call, true) {
                return r;
            }
        }
        let deadline = self.wait_deadline(k, t, ms);
        if deadline.is_some_and(|d| k.now_ns() >= d) {
            self.clear_retry_deadline(t);
            k.mem_of(t).write_u32(removed, 0).map_err(&e)?;
            self.set_err(k, t, WAIT_TIMEOUT);
            return Ok(R::Val(0));
        }
        let text = if alertable {
            "waits for completion packets or an APC (GetQueuedCompletionStatusEx, alertable)"
        } else {
            "waits for completion packets (GetQueuedCompletionStatusEx)"
        };
        let r = self.block_retry_until(
            k,
            t,
            cpu,
            Res::Port(port),
            "w32_iocp",
            text.into(),
            deadline,
        );
        if alertable {
            // The same wait ends on an APC for this thread (`queue_apc` wakes `Res::Apc`).
            self.also_retry_on(t, Res::Apc(t));
        }
        Ok(r)
    }
}
