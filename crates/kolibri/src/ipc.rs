//! KolibriOS function 60: IPC areas and message delivery.
//!
//! Follows the real kernel's `sys_ipc_send` step by step: PID lookup (4), area set (1),
//! lock dword (2), 32-bit overflow check (3), then store the new end offset *first* and
//! write `[sender PID][length][data]` at the *old* offset, then raise event 7. The message
//! itself passes the kernel's one message path (`Kernel::transmit`) between the checks and
//! the writes.

use crate::{is_system, Kolibri, EVENT_IPC, NAME};
use ipcemu_kernel::{
    trace_rec, Endpoint, GuestMemory, Kernel, MemFault, Message, MsgKind, ThreadId, Verdict,
};

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
    /// No process/thread with that PID (also: a message hook denied the message).
    NoPid = 4,
}

/// A send the kernel refuses to carry out because the *sender* passed a bad pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The message `[addr, addr+len)` is not in the sender's memory: a guest fault.
    BadMessage(MemFault),
}

/// Where a checked message goes.
struct Target {
    rt: ThreadId,
    area: u32,
    off: u32,
    new_off: u32,
    dst: u32,
}

impl Kolibri {
    /// Function 60.1: set the calling thread's IPC area. Never fails.
    pub fn ipc_set_area<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        addr: u32,
        size: u32,
    ) {
        let th = self.thread(t);
        th.ipc_area = addr;
        th.ipc_size = size;
        if k.trace_on {
            trace_rec!(k, t, "ipc_area", NAME, addr = addr, size = size);
        }
    }

    /// Function 60.2: send `len` bytes at `msg` (in the sender's memory) to `pid`.
    pub fn ipc_send<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        sender: ThreadId,
        pid: u32,
        msg: u32,
        len: u32,
    ) -> Result<SendResult, SendError> {
        let target = match self.check(k, pid, len) {
            Ok(t) => t,
            Err(code) => {
                if k.trace_on {
                    // The bytes the sender meant to send (as far as they can be read).
                    let mut b = vec![0u8; (len as usize).min(ipcemu_kernel::trace::PAYLOAD_MAX)];
                    if k.mem_of(sender).read(msg, &mut b).is_err() {
                        b.clear();
                    }
                    k.trace_failed_send(sender, NAME, pid, len, code as i64, &b);
                }
                return Ok(code);
            }
        };
        // Read the message before changing anything: a bad pointer faults the sender.
        let mut buf = std::mem::take(&mut self.scratch);
        buf.resize(len as usize, 0);
        if let Err(f) = k.mem_of(sender).read(msg, &mut buf) {
            self.scratch = buf;
            k.trace_failed_send(sender, NAME, pid, len, -1, &[]);
            return Err(SendError::BadMessage(f));
        }
        Ok(self.carry(k, sender, target, buf))
    }

    /// Send bytes the host already holds (the host actor) to `pid`.
    pub(crate) fn deliver<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        sender: ThreadId,
        pid: u32,
        data: Vec<u8>,
    ) -> SendResult {
        let len = data.len() as u32;
        match self.check(k, pid, len) {
            Ok(target) => self.carry(k, sender, target, data),
            Err(code) => {
                k.trace_failed_send(sender, NAME, pid, len, code as i64, &data);
                code
            }
        }
    }

    /// The kernel's checks, in its order, before anything is read or written.
    fn check<M: GuestMemory>(
        &mut self,
        k: &Kernel<M>,
        pid: u32,
        len: u32,
    ) -> Result<Target, SendResult> {
        let Some(rt) = k.thread_by_pid(pid) else {
            // The kernel's threads (IDLE, OS) exist but have no area.
            return Err(if is_system(pid) {
                SendResult::NoArea
            } else {
                SendResult::NoPid
            });
        };
        let (area, size) = {
            let r = self.thread(rt);
            (r.ipc_area, r.ipc_size)
        };
        if area == 0 {
            return Err(SendResult::NoArea);
        }
        let rmem = &k.procs[k.threads[rt].proc].mem;
        // An area whose header is not in guest memory cannot be used: treat as no area.
        let (Ok(lock), Ok(off)) = (rmem.read_u32(area), rmem.read_u32(area.wrapping_add(4))) else {
            return Err(SendResult::NoArea);
        };
        if lock != 0 {
            return Err(SendResult::Locked);
        }
        let new_off = off.wrapping_add(8).wrapping_add(len);
        if new_off > size {
            return Err(SendResult::Overflow);
        }
        let dst = area.wrapping_add(off);
        // The header and data land at area + old offset (32-bit wrap, like the kernel's
        // pointer arithmetic); if that is not guest memory, nothing is written: overflow.
        if !rmem.contains(dst, 8) || !rmem.contains(dst.wrapping_add(8), len) {
            return Err(SendResult::Overflow);
        }
        Ok(Target {
            rt,
            area,
            off,
            new_off,
            dst,
        })
    }

    /// Pass the message through the kernel's message path, then write it and raise event 7.
    fn carry<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        sender: ThreadId,
        tg: Target,
        data: Vec<u8>,
    ) -> SendResult {
        let ep = |k: &Kernel<M>, t: ThreadId| {
            let th = &k.threads[t];
            Endpoint {
                proc: Some(th.proc),
                thread: Some(t),
                pid: th.pid,
                address: th.pid as u64,
            }
        };
        let mut m = Message {
            seq: 0,
            personality: NAME,
            kind: MsgKind::Datagram,
            from: ep(k, sender),
            to: ep(k, tg.rt),
            channel: None,
            method: None,
            data,
            reply_to: None,
            area_offset: Some(tg.off),
        };
        let verdict = k.transmit(&mut m);
        let buf = m.data;
        let r = match verdict {
            Verdict::Allow => self.write(k, sender, &tg, &buf),
            Verdict::Drop(_) | Verdict::Delay(_) => SendResult::Ok,
            Verdict::Deny(_) => SendResult::NoPid,
        };
        self.scratch = buf;
        if r == SendResult::Ok && verdict == Verdict::Allow {
            if k.trace_on {
                let unread = &mut self.thread(tg.rt).unread;
                // A receiver that resets its area without ever reading event 7 would make
                // this list grow for the whole run: keep the newest UNREAD_MAX.
                if unread.len() >= crate::UNREAD_MAX {
                    unread.drain(..crate::UNREAD_MAX / 2);
                }
                // The `send` record (with `offset`) stands for the delivery too.
                unread.push(m.seq);
            }
            self.raise_event(k, tg.rt, EVENT_IPC);
        }
        r
    }

    fn write<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        sender: ThreadId,
        tg: &Target,
        buf: &[u8],
    ) -> SendResult {
        let spid = k.threads[sender].pid;
        let rmem = k.mem_of(tg.rt);
        let mut hdr = [0u8; 8];
        hdr[..4].copy_from_slice(&spid.to_le_bytes());
        hdr[4..].copy_from_slice(&(buf.len() as u32).to_le_bytes());
        // Order as in the real kernel: new end offset first, then header and data.
        let wrote = rmem
            .write_u32(tg.area.wrapping_add(4), tg.new_off)
            .and_then(|_| rmem.write(tg.dst, &hdr))
            .and_then(|_| rmem.write(tg.dst.wrapping_add(8), buf));
        if wrote.is_err() {
            // Unreachable after the checks, but never panic on guest data.
            return SendResult::Overflow;
        }
        SendResult::Ok
    }
}
