//! The host actor: a process in the world with a PID, a slot, a name (so guests find it) and
//! memory, but no CPU. It sends messages at virtual times or when conditions hold, and records
//! what guests send it — through the personalities' [`HostPort`]s, so its messages take the
//! kernel's one message path like a guest's.
//!
//! It acts at scheduling points: timed actions wake its kernel thread through the ordinary
//! timer queue (so virtual time stays exact), condition actions are checked after every guest
//! time slice (so they fire at most one quantum after the condition starts to hold).

use ipcemu_kernel::{Blocker, Kernel, ProcId, ThreadId};
use ipcemu_personality::{HostMessage, HostPort, Personality};
use std::any::Any;

use crate::ProcMemory;

/// Where the host's memory starts.
pub const HOST_BASE: u32 = 0x10000;
/// Largest message the host sends.
pub const HOST_MAX_MESSAGE: u32 = 0x10000;

/// Who a host message goes to: a personality and its address there (KolibriOS: a PID;
/// PC-IPC: an ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTarget {
    /// Personality name (`kolibri`, `pcipc`).
    pub personality: String,
    /// Address in that personality.
    pub to: u32,
}

/// When a host action happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// At this guest time (ns).
    At(u64),
    /// When the target can receive (KolibriOS: the thread has set its IPC area).
    Ready(HostTarget),
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
    /// Retry while the receiver is not ready (KolibriOS 1, 2, 3; PC-IPC 04h, 06h, 0Bh, 0Ch).
    pub retry: bool,
}

/// What became of a host action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSent {
    /// Index of the action in the order it was added.
    pub index: usize,
    /// Guest time of the final attempt (ns).
    pub t_ns: u64,
    /// The personality's result code of the final attempt.
    pub code: u32,
}

/// The host's timer wait (never counts for deadlock).
#[derive(Debug)]
struct HostTimer;

impl Blocker for HostTimer {
    fn personality(&self) -> &'static str {
        "host"
    }
    fn what(&self) -> &'static str {
        "host"
    }
    fn describe(&self) -> String {
        "is the host actor".into()
    }
    fn counts_for_deadlock(&self) -> bool {
        false
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

type Pers = Box<dyn Personality<ProcMemory>>;

fn port<'a>(pers: &'a mut [Pers], name: &str) -> Option<&'a mut dyn HostPort<ProcMemory>> {
    pers.iter_mut()
        .find(|p| p.name() == name)
        .and_then(|p| p.host_port())
}

pub(crate) struct HostState {
    pub tid: ThreadId,
    pub proc: ProcId,
    pub pid: u32,
    pending: Vec<(usize, HostAction, usize)>,
    next_index: usize,
    pub received: Vec<HostMessage>,
    pub sent: Vec<HostSent>,
    parked_until: Option<u64>,
}

impl HostState {
    pub(crate) fn memory(area_size: u32) -> Result<(ProcMemory, u32), String> {
        let area_size = area_size.max(16);
        let size = (area_size as u64).div_ceil(4096) * 4096;
        if size > 0x4000_0000 {
            return Err(format!("host IPC area of {area_size} bytes is too large"));
        }
        let mut mem = ProcMemory::host_only();
        mem.map(HOST_BASE, size as u32)?;
        Ok((mem, area_size))
    }

    pub(crate) fn new(
        k: &mut Kernel<ProcMemory>,
        pers: &mut [Pers],
        tid: ThreadId,
        area_size: u32,
    ) -> Self {
        let proc = k.threads[tid].proc;
        for p in pers.iter_mut() {
            if let Some(port) = p.host_port() {
                port.host_attach(k, tid, HOST_BASE, area_size);
            }
        }
        k.park(tid, Box::new(HostTimer), None);
        HostState {
            tid,
            proc,
            pid: k.threads[tid].pid,
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
            k.park(self.tid, Box::new(HostTimer), next);
        }
    }

    /// One scheduling point: collect messages, fire due actions.
    pub(crate) fn step(&mut self, k: &mut Kernel<ProcMemory>, pers: &mut [Pers]) {
        for p in pers.iter_mut() {
            if let Some(port) = p.host_port() {
                let got = port.host_receive(k, self.tid);
                self.received.extend(got);
            }
        }
        let now = k.now_ns();
        let mut i = 0;
        while i < self.pending.len() {
            let (_, action, scanned) = &mut self.pending[i];
            let due = match &action.trigger {
                Trigger::At(t) => *t <= now,
                Trigger::Ready(target) => port(pers, &target.personality)
                    .is_some_and(|p| p.host_target_ready(k, target.to)),
                Trigger::Output(p, text) => {
                    let hay: &[u8] = match p {
                        Some(p) => &k.procs[*p].output,
                        None => &k.stdout,
                    };
                    contains(hay, text.as_bytes(), scanned)
                }
                Trigger::Received(n) => self.received.len() >= *n,
            };
            if due && self.attempt(k, pers, i) {
                self.pending.remove(i);
            } else {
                i += 1;
            }
        }
        self.repark(k);
    }

    /// Try to send action `i`; true when it is finished (delivered or given up).
    fn attempt(&mut self, k: &mut Kernel<ProcMemory>, pers: &mut [Pers], i: usize) -> bool {
        let (index, a, _) = &self.pending[i];
        let (index, target, retry) = (*index, a.target.clone(), a.retry);
        let code = match port(pers, &target.personality) {
            Some(p) => {
                let r = p.host_send(k, self.tid, target.to, &self.pending[i].1.data);
                if retry && r.transient {
                    return false;
                }
                r.code
            }
            None => 0xFF,
        };
        self.sent.push(HostSent {
            index,
            t_ns: k.now_ns(),
            code,
        });
        true
    }
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
