//! The host actor: a process in the world with a PID, a slot, a name (so guests find it with
//! function 9) and memory, but no CPU. It sends KolibriOS function-60 messages and PC-IPC
//! messages at virtual times or when conditions hold, and records what guests send it.
//!
//! It acts at scheduling points: timed actions wake its kernel thread through the ordinary
//! timer queue (so virtual time stays exact), condition actions are checked after every guest
//! time slice (so they fire at most one quantum after the condition starts to hold).

use ipcemu_kernel::pcipc::cmd;
use ipcemu_kernel::{GuestMemory, Kernel, ProcId, SendResult, ThreadId};

use crate::ProcMemory;

/// Where the host's memory starts.
pub const HOST_BASE: u32 = 0x10000;
const BLOCK: u32 = HOST_BASE;
const DATA: u32 = HOST_BASE + 0x1000;
/// Largest message the host sends or reads through PC-IPC.
pub const HOST_MAX_MESSAGE: u32 = 0x10000;
const AREA: u32 = DATA + HOST_MAX_MESSAGE;

/// Who a host message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTarget {
    /// KolibriOS function 60.2 to this PID.
    Kolibri(u32),
    /// PC-IPC send (07h) to this ID, from the host's own PC-IPC ID.
    PcIpc(u16),
}

/// When a host action happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// At this guest time (ns).
    At(u64),
    /// When the thread with this PID has set its IPC area (function 60.1).
    AreaSet(u32),
    /// When this text appears in the output of a process (`None`: any process).
    Output(Option<ProcId>, String),
    /// When the host has received at least this many messages.
    Received(usize),
}

/// One scheduled host message.
#[derive(Debug, Clone)]
pub struct HostAction {
    /// When.
    pub trigger: Trigger,
    /// To whom.
    pub target: HostTarget,
    /// The bytes.
    pub data: Vec<u8>,
    /// Retry while the receiver answers 1, 2 or 3 (KolibriOS) / 04h, 06h, 0Bh, 0Ch (PC-IPC).
    pub retry: bool,
}

/// A message the host received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMessage {
    /// Guest time of reception (ns).
    pub t_ns: u64,
    /// Sender PID (KolibriOS) or 0 (PC-IPC).
    pub from_pid: u32,
    /// Sender's process name (KolibriOS) or `PC-IPC id N`.
    pub from_name: String,
    /// PC-IPC sender ID.
    pub from_id: Option<u16>,
    /// The bytes.
    pub data: Vec<u8>,
}

/// What became of a host action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSent {
    /// Index of the action in the order it was added.
    pub index: usize,
    /// Guest time of the final attempt (ns).
    pub t_ns: u64,
    /// KolibriOS result code or PC-IPC error code of the final attempt.
    pub code: u32,
}

pub(crate) struct HostState {
    pub tid: ThreadId,
    pub proc: ProcId,
    pub pid: u32,
    pub pc_id: Option<u16>,
    pub want_pcipc: bool,
    pending: Vec<(usize, HostAction, usize)>,
    next_index: usize,
    pub received: Vec<HostMessage>,
    pub sent: Vec<HostSent>,
    parked_until: Option<u64>,
}

impl HostState {
    pub(crate) fn memory(area_size: u32) -> Result<(ProcMemory, u32), String> {
        let area_size = area_size.max(16);
        let size = ((AREA - HOST_BASE) as u64 + area_size as u64).div_ceil(4096) * 4096;
        if size > 0x4000_0000 {
            return Err(format!("host IPC area of {area_size} bytes is too large"));
        }
        let mut mem = ProcMemory::new(std::ptr::null_mut());
        mem.map(HOST_BASE, size as u32)?;
        mem.write_u32(AREA + 4, 8).map_err(|e| e.to_string())?;
        Ok((mem, area_size))
    }

    pub(crate) fn new(
        k: &mut Kernel<ProcMemory>,
        tid: ThreadId,
        area_size: u32,
        pcipc: bool,
    ) -> Self {
        let proc = k.threads[tid].proc;
        k.ipc_set_area(tid, AREA, area_size);
        k.park_host(tid, None);
        HostState {
            tid,
            proc,
            pid: k.threads[tid].pid,
            pc_id: None,
            want_pcipc: pcipc,
            pending: Vec::new(),
            next_index: 0,
            received: Vec::new(),
            sent: Vec::new(),
            parked_until: None,
        }
    }

    pub(crate) fn add(&mut self, k: &mut Kernel<ProcMemory>, a: HostAction) -> usize {
        let i = self.next_index;
        self.next_index += 1;
        if matches!(a.target, HostTarget::PcIpc(_)) {
            self.want_pcipc = true;
        }
        self.pending.push((i, a, 0));
        self.repark(k);
        i
    }

    fn repark(&mut self, k: &mut Kernel<ProcMemory>) {
        let next = self
            .pending
            .iter()
            .filter_map(|(_, a, _)| match a.trigger {
                Trigger::At(t) => Some(t),
                _ => None,
            })
            .min();
        if next != self.parked_until || k.current() == Some(self.tid) {
            self.parked_until = next;
            k.park_host(self.tid, next);
        }
    }

    /// One scheduling point: collect messages, fire due actions.
    pub(crate) fn step(&mut self, k: &mut Kernel<ProcMemory>) {
        self.drain_kolibri(k);
        self.pcipc_poll(k);
        let now = k.now_ns();
        let mut i = 0;
        while i < self.pending.len() {
            let (_, action, scanned) = &mut self.pending[i];
            let due = match &action.trigger {
                Trigger::At(t) => *t <= now,
                Trigger::AreaSet(pid) => k
                    .thread_by_pid(*pid)
                    .is_some_and(|t| k.threads[t].ipc_area != 0),
                Trigger::Output(p, text) => {
                    let hay: &[u8] = match p {
                        Some(p) => &k.procs[*p].output,
                        None => &k.stdout,
                    };
                    contains(hay, text.as_bytes(), scanned)
                }
                Trigger::Received(n) => self.received.len() >= *n,
            };
            if due && self.attempt(k, i) {
                self.pending.remove(i);
            } else {
                i += 1;
            }
        }
        self.repark(k);
    }

    /// Try to send action `i`; true when it is finished (delivered or given up).
    fn attempt(&mut self, k: &mut Kernel<ProcMemory>, i: usize) -> bool {
        let (index, a, _) = &self.pending[i];
        let (index, target, data, retry) = (*index, a.target.clone(), a.data.clone(), a.retry);
        let len = data.len() as u32;
        if k.procs[self.proc].mem.write(DATA, &data).is_err() {
            return true;
        }
        let code = match target {
            HostTarget::Kolibri(pid) => match k.ipc_send(self.tid, pid, DATA, len) {
                Ok(r) => {
                    if retry
                        && matches!(
                            r,
                            SendResult::NoArea | SendResult::Locked | SendResult::Overflow
                        )
                    {
                        return false;
                    }
                    r as u32
                }
                Err(_) => 0xFF,
            },
            HostTarget::PcIpc(to) => {
                let Some(me) = self.pc_id else {
                    return false; // no ID yet: PC-IPC not installed
                };
                let (_, _, _, err, _) = pc_call(k, self.tid, me, to, cmd::SEND, len as u16);
                if retry && matches!(err, 0x04 | 0x06 | 0x0B | 0x0C) {
                    return false;
                }
                err as u32
            }
        };
        self.sent.push(HostSent {
            index,
            t_ns: k.now_ns(),
            code,
        });
        true
    }

    fn drain_kolibri(&mut self, k: &mut Kernel<ProcMemory>) {
        let now = k.now_ns();
        let mem = &mut k.procs[self.proc].mem;
        let Ok(end) = mem.read_u32(AREA + 4) else {
            return;
        };
        if end <= 8 {
            return;
        }
        let mut off = 8u32;
        let mut got = Vec::new();
        while off.saturating_add(8) <= end {
            let (Ok(pid), Ok(len)) = (mem.read_u32(AREA + off), mem.read_u32(AREA + off + 4))
            else {
                break;
            };
            let mut data = vec![0u8; len.min(end - off - 8) as usize];
            if mem.read(AREA + off + 8, &mut data).is_err() {
                break;
            }
            got.push((pid, data));
            off = off.saturating_add(8).saturating_add(len);
        }
        let _ = mem.write_u32(AREA + 4, 8);
        let _ = mem.write_u32(AREA, 0);
        for (pid, data) in got {
            let from_name = k.name_of_pid(pid).unwrap_or_default().to_string();
            self.received.push(HostMessage {
                t_ns: now,
                from_pid: pid,
                from_name,
                from_id: None,
                data,
            });
        }
        // The host reads its event 7 like a guest would (trace flows end here).
        k.take_event(self.tid);
    }

    fn pcipc_poll(&mut self, k: &mut Kernel<ProcMemory>) {
        if !self.want_pcipc {
            return;
        }
        if self.pc_id.is_none() {
            if !k.pcipc.installed() {
                return;
            }
            let (id, _, _, err, _) = pc_call(k, self.tid, 0, 0, cmd::REQ_ID, 0);
            if err != 0 {
                return;
            }
            self.pc_id = Some(id);
        }
        let Some(me) = self.pc_id else { return };
        while k.pcipc.pending_for(me) > 0 {
            let (_, from, _, err, size) = pc_call(k, self.tid, me, 0, cmd::READ, 0);
            if err != 0 {
                break;
            }
            let mut data = vec![0u8; size as usize];
            let _ = k.procs[self.proc].mem.read(DATA, &mut data);
            self.received.push(HostMessage {
                t_ns: k.now_ns(),
                from_pid: 0,
                from_name: format!("PC-IPC id {from}"),
                from_id: Some(from),
                data,
            });
        }
    }
}

/// One PC-IPC command from the host: returns (caller, to, status, error, size).
fn pc_call(
    k: &mut Kernel<ProcMemory>,
    tid: ThreadId,
    caller: u16,
    to: u16,
    c: u16,
    size: u16,
) -> (u16, u16, u16, u16, u16) {
    let p = k.threads[tid].proc;
    let mut b = [0u8; 16];
    b[0..2].copy_from_slice(&caller.to_le_bytes());
    b[2..4].copy_from_slice(&to.to_le_bytes());
    b[4..6].copy_from_slice(&c.to_le_bytes());
    b[10..12].copy_from_slice(&size.to_le_bytes());
    b[12..16].copy_from_slice(&DATA.to_le_bytes());
    if k.procs[p].mem.write(BLOCK, &b).is_err() || k.pcipc_call(tid, BLOCK, false).is_err() {
        return (0, 0, 0, 0xFF, 0);
    }
    let mem = &k.procs[p].mem;
    let w = |o: u32| mem.read_u16(BLOCK + o).unwrap_or(0);
    (w(0), w(2), w(6), w(8), w(10))
}

/// Substring search over new output only; `from` remembers how far earlier calls looked.
fn contains(hay: &[u8], needle: &[u8], from: &mut usize) -> bool {
    if needle.is_empty() {
        return true;
    }
    let start = (*from).min(hay.len()).saturating_sub(needle.len() - 1);
    let found = hay[start..].windows(needle.len()).any(|w| w == needle);
    *from = hay.len();
    found
}
