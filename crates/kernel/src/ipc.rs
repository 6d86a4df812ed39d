//! KolibriOS function 60: IPC areas and message delivery.
//!
//! Follows the real kernel's `sys_ipc_send` step by step: PID lookup (4), area set (1),
//! lock dword (2), 32-bit overflow check (3), then store the new end offset *first* and
//! write `[sender PID][length][data]` at the *old* offset, then raise event 7.

use crate::trace::{hex, PAYLOAD_MAX};
use crate::{trace_rec, GuestMemory, Kernel, MemFault, ThreadId, EVENT_IPC};

/// Result codes of function 60.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum SendResult {
    /// Delivered.
    Ok = 0,
    /// The receiver has no IPC area.
    NoArea = 1,
    /// The receiver's area is locked (dword +0 is not zero).
    Locked = 2,
    /// The message does not fit.
    Overflow = 3,
    /// No process/thread with that PID.
    NoPid = 4,
}

/// A send the kernel refuses to carry out because the *sender* passed a bad pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The message `[addr, addr+len)` is not in the sender's memory: a guest fault.
    BadMessage(MemFault),
}

impl<M: GuestMemory> Kernel<M> {
    /// Function 60.1: set the calling thread's IPC area. Never fails.
    pub fn ipc_set_area(&mut self, t: ThreadId, addr: u32, size: u32) {
        let th = &mut self.threads[t];
        th.ipc_area = addr;
        th.ipc_size = size;
        if self.trace_on {
            trace_rec!(self, t, "ipc_area", "kolibri", addr = addr, size = size);
        }
    }

    /// Function 60.2: send `len` bytes at `msg` (in the sender's memory) to `pid`.
    pub fn ipc_send(
        &mut self,
        sender: ThreadId,
        pid: u32,
        msg: u32,
        len: u32,
    ) -> Result<SendResult, SendError> {
        let r = self.ipc_send_inner(sender, pid, msg, len);
        if self.trace_on && r != Ok(SendResult::Ok) {
            // Successful sends are recorded at delivery, before the event they raise.
            self.trace_send(sender, pid, len, r);
        }
        r
    }

    fn trace_send(
        &mut self,
        sender: ThreadId,
        pid: u32,
        len: u32,
        r: Result<SendResult, SendError>,
    ) {
        let target = self.thread_by_pid(pid);
        let peer = target.map_or("", |rt| self.procs[self.threads[rt].proc].name.as_str());
        let ok = r == Ok(SendResult::Ok);
        let result = match r {
            Ok(code) => code as i64,
            Err(_) => -1,
        };
        let payload = if ok {
            hex(&self.scratch, PAYLOAD_MAX)
        } else {
            String::new()
        };
        let seq = if ok { self.msg_seq } else { 0 };
        let pers = if self.procs[self.threads[sender].proc].flavor == crate::Flavor::Host {
            "host"
        } else {
            "kolibri"
        };
        trace_rec!(
            self,
            sender,
            "send",
            pers,
            peer_pid = pid,
            peer_name = peer,
            len = len,
            result = result,
            msg = seq,
            payload = payload.as_str()
        );
    }

    fn trace_delivery(&mut self, sender: ThreadId, rt: ThreadId, off: u32, len: u32) {
        let seq = self.msg_seq;
        self.trace_send(sender, self.threads[rt].pid, len, Ok(SendResult::Ok));
        let spid = self.threads[sender].pid;
        let sname = self.procs[self.threads[sender].proc].name.clone();
        self.threads[rt].unread.push(seq);
        trace_rec!(
            self,
            rt,
            "deliver",
            "kolibri",
            peer_pid = spid,
            peer_name = sname.as_str(),
            len = len,
            offset = off,
            msg = seq
        );
    }

    fn ipc_send_inner(
        &mut self,
        sender: ThreadId,
        pid: u32,
        msg: u32,
        len: u32,
    ) -> Result<SendResult, SendError> {
        let Some(rt) = self.thread_by_pid(pid) else {
            // The idle pseudo-thread exists but has no area.
            return Ok(if pid == crate::IDLE_PID {
                SendResult::NoArea
            } else {
                SendResult::NoPid
            });
        };
        let (area, size, rproc) = {
            let r = &self.threads[rt];
            (r.ipc_area, r.ipc_size, r.proc)
        };
        if area == 0 {
            return Ok(SendResult::NoArea);
        }
        let sproc = self.threads[sender].proc;
        let rmem = &self.procs[rproc].mem;
        // An area whose header is not in guest memory cannot be used: treat as no area.
        let (Ok(lock), Ok(off)) = (rmem.read_u32(area), rmem.read_u32(area.wrapping_add(4))) else {
            return Ok(SendResult::NoArea);
        };
        if lock != 0 {
            return Ok(SendResult::Locked);
        }
        let new_off = off.wrapping_add(8).wrapping_add(len);
        if new_off > size {
            return Ok(SendResult::Overflow);
        }
        let dst = area.wrapping_add(off);
        // The header and data land at area + old offset (32-bit wrap, like the kernel's
        // pointer arithmetic); if that is not guest memory, nothing is written: overflow.
        if !rmem.contains(dst, 8) || !rmem.contains(dst.wrapping_add(8), len) {
            return Ok(SendResult::Overflow);
        }
        // Read the message before changing anything: a bad pointer faults the sender.
        let mut buf = std::mem::take(&mut self.scratch);
        buf.resize(len as usize, 0);
        if let Err(f) = self.procs[sproc].mem.read(msg, &mut buf) {
            self.scratch = buf;
            return Err(SendError::BadMessage(f));
        }
        let spid = self.threads[sender].pid;
        let rmem = &mut self.procs[rproc].mem;
        let mut hdr = [0u8; 8];
        hdr[..4].copy_from_slice(&spid.to_le_bytes());
        hdr[4..].copy_from_slice(&len.to_le_bytes());
        // Order as in the real kernel: new end offset first, then header and data.
        let wrote = rmem
            .write_u32(area.wrapping_add(4), new_off)
            .and_then(|_| rmem.write(dst, &hdr))
            .and_then(|_| rmem.write(dst.wrapping_add(8), &buf));
        self.scratch = buf;
        if wrote.is_err() {
            // Unreachable after the checks above, but never panic on guest data.
            return Ok(SendResult::Overflow);
        }
        self.msg_seq += 1;
        if self.trace_on {
            self.trace_delivery(sender, rt, off, len);
        }
        self.raise_event(rt, EVENT_IPC);
        Ok(SendResult::Ok)
    }
}
