//! PC-IPC (Donnelly Software Engineering's DOS TSR): one message pool, recognised IDs, the
//! ten commands of its table, and read-wait as a real kernel wait.
//!
//! The guest pushes a DWORD pointer to a 16-byte parameter block and executes `INT vector`.
//! The personality finds the block's linear address on the stack; everything from there on —
//! decoding the block (far or linear data pointer), validating it, the command and the
//! write-back — happens here. Every decision the table leaves open is in `docs/pc-ipc.md`.

use crate::{PcIpc, NAME};
use ipcemu_kernel::trace::Payload;
use ipcemu_kernel::{
    trace_rec, Blocker, Endpoint, GuestMemory, Kernel, MemFault, Message, MsgKind, ThreadId,
    Verdict, Wake,
};
use std::any::Any;
use std::collections::VecDeque;
use std::fmt;

/// Status bit: IPC enabled.
pub const ST_ENABLED: u16 = 1 << 1;
/// Status bit: IPC installed.
pub const ST_INSTALLED: u16 = 1 << 2;
/// Status bit: error (the error code is not 0).
pub const ST_ERROR: u16 = 1 << 3;
/// Status bit: message(s) available for the caller.
pub const ST_MESSAGES: u16 = 1 << 4;

/// Command codes.
pub mod cmd {
    /// Inquire status, free space and waiting messages.
    pub const INQUIRE: u16 = 0x01;
    /// Re-enable (only the ID that disabled).
    pub const ENABLE: u16 = 0x02;
    /// Disable.
    pub const DISABLE: u16 = 0x03;
    /// Install / reset (only ID 0).
    pub const INSTALL: u16 = 0x04;
    /// Read a message.
    pub const READ: u16 = 0x06;
    /// Send a message.
    pub const SEND: u16 = 0x07;
    /// Request a new ID.
    pub const REQ_ID: u16 = 0x08;
    /// Delete the caller's ID.
    pub const DEL_ID: u16 = 0x09;
    /// Read, waiting if nothing is there.
    pub const READ_WAIT: u16 = 0x0A;
    /// Version string.
    pub const VERSION: u16 = 0x0B;
}

/// Error codes (table 2942).
pub mod err {
    /// No error.
    pub const OK: u16 = 0x00;
    /// Invalid command or parameter.
    pub const INVALID: u16 = 0x01;
    /// Only process 0 can install/reset IPC.
    pub const ONLY_ZERO_INSTALLS: u16 = 0x02;
    /// Process can not install/reset IPC.
    pub const CANNOT_INSTALL: u16 = 0x03;
    /// IPC is not enabled.
    pub const NOT_ENABLED: u16 = 0x04;
    /// Process can not disable IPC.
    pub const CANNOT_DISABLE: u16 = 0x05;
    /// Invalid destination process ID.
    pub const BAD_DEST: u16 = 0x06;
    /// Invalid sending process ID.
    pub const BAD_SENDER: u16 = 0x07;
    /// Invalid data destination.
    pub const BAD_DATA: u16 = 0x08;
    /// No more process IDs available.
    pub const NO_IDS: u16 = 0x09;
    /// Can not relinquish that process ID.
    pub const CANNOT_RELINQUISH: u16 = 0x0A;
    /// Message space is full.
    pub const SPACE_FULL: u16 = 0x0B;
    /// IPC is not installed.
    pub const NOT_INSTALLED: u16 = 0x0C;
}

/// Bytes each queued message costs in the pool on top of its data (from, to, size, link).
pub const MSG_OVERHEAD: u32 = 8;

/// PC-IPC tunables.
#[derive(Debug, Clone)]
pub struct PcIpcConfig {
    /// IDs handed out by request-ID are 1..=ids (ID 0 always exists).
    pub ids: u16,
    /// Message pool size in bytes (inquire reports free bytes as a WORD).
    pub space: u16,
    /// Start installed and enabled, as if ID 0 had called install.
    pub preinstalled: bool,
    /// What the version command returns.
    pub version: String,
    /// Refuse (07h) a call whose caller ID was handed by request-ID to another process (the
    /// TSR had no such check; off by default). ID 0 stays anyone's.
    pub own_ids: bool,
}

impl Default for PcIpcConfig {
    fn default() -> Self {
        PcIpcConfig {
            ids: 32,
            space: 16384,
            preinstalled: false,
            version: "PC-IPC 1.00".into(),
            own_ids: false,
        }
    }
}

/// One queued message.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    from: u16,
    pub(crate) to: u16,
    data: Vec<u8>,
    seq: u64,
}

/// A blocked read-wait (0Ah): which ID waits and where its answer goes. The block's input
/// fields are read once, when the call is made (as the TSR read them on entry to its
/// interrupt, where the caller waited); the answer is written into it when a message comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcWait {
    /// The waiting ID.
    pub id: u16,
    /// Linear address of the parameter block.
    pub block: u32,
    /// Linear address of the data buffer (the block's data pointer, a far pointer already
    /// turned linear for real-mode callers).
    pub data: u32,
    /// The block's size field at the call: the buffer's size, 0 for "not stated".
    pub size: u16,
    /// The block's to field at the call (written back unchanged when no message comes).
    pub to: u16,
}

impl Blocker for PcWait {
    fn personality(&self) -> &'static str {
        NAME
    }
    fn what(&self) -> &'static str {
        "pcipc_read"
    }
    fn describe(&self) -> String {
        format!(
            "waits in PC-IPC read-wait (0Ah) for a message to ID {}",
            self.id
        )
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Message buffers taken out of use, for the next messages (a send and a read each made an
/// allocation and a free before: ≈ 800 instructions of a read-wait round trip's 9 200).
#[derive(Debug, Clone, Default)]
pub(crate) struct Pool(Vec<Vec<u8>>);

impl Pool {
    /// Buffers kept (each at most [`Pool::KEEP_BYTES`]): enough for every message in flight
    /// of a busy exchange; the pool never holds more.
    const KEEP: usize = 16;
    const KEEP_BYTES: usize = 4096;

    /// A buffer of `len` zero bytes.
    pub(crate) fn take(&mut self, len: usize) -> Vec<u8> {
        let mut v = self.0.pop().unwrap_or_default();
        v.resize(len, 0);
        v
    }

    /// A buffer whose bytes are no longer needed.
    pub(crate) fn give(&mut self, mut v: Vec<u8>) {
        if self.0.len() < Self::KEEP && v.capacity() <= Self::KEEP_BYTES {
            v.clear();
            self.0.push(v);
        }
    }
}

/// A set of PC-IPC IDs, one bit each (IDs are WORDs; a world uses the first
/// [`PcIpcConfig::ids`]). Membership is asked several times per command: a bit test, where a
/// `BTreeSet` search cost ≈ 60 instructions.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct IdSet(Vec<u64>);

impl IdSet {
    pub(crate) fn contains(&self, id: u16) -> bool {
        self.0
            .get(id as usize / 64)
            .is_some_and(|w| (w >> (id % 64)) & 1 != 0)
    }

    pub(crate) fn insert(&mut self, id: u16) {
        let i = id as usize / 64;
        if i >= self.0.len() {
            self.0.resize(i + 1, 0);
        }
        self.0[i] |= 1 << (id % 64);
    }

    pub(crate) fn remove(&mut self, id: u16) {
        if let Some(w) = self.0.get_mut(id as usize / 64) {
            *w &= !(1 << (id % 64));
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// The IDs in ascending order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &w)| {
            let mut rest = w;
            std::iter::from_fn(move || {
                let b = rest.trailing_zeros();
                (rest != 0).then(|| {
                    rest &= rest - 1;
                    (i as u32 * 64 + b) as u16
                })
            })
        })
    }

    /// The lowest ID in 1..=max not in the set.
    pub(crate) fn first_free(&self, max: u16) -> Option<u16> {
        (1..=max).find(|&i| !self.contains(i))
    }
}

impl fmt::Debug for IdSet {
    /// As a `BTreeSet<u16>` prints (`{1, 2}`): trace records show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The PC-IPC state of a world (one TSR).
#[derive(Debug, Clone)]
pub struct PcState {
    /// Tunables.
    pub config: PcIpcConfig,
    pub(crate) installed: bool,
    pub(crate) enabled: bool,
    pub(crate) disabled_by: Option<u16>,
    pub(crate) ids: IdSet,
    pub(crate) queue: VecDeque<Msg>,
    /// Messages in `queue` per destination ID (index: ID), so that status and inquire do not
    /// walk the queue.
    pending: Vec<u32>,
    pub(crate) used: u32,
    /// Messages ever sent (for statistics and tests).
    pub sent: u64,
    /// Trace only: the message the current command sent or consumed (0 = none).
    pub(crate) last_msg: u64,
    /// Trace only: payload of the current command's message.
    pub(crate) last_payload: Vec<u8>,
    pub(crate) pool: Pool,
}

impl PcState {
    /// A fresh TSR.
    pub fn new(config: PcIpcConfig) -> Self {
        let on = config.preinstalled;
        PcState {
            config,
            installed: on,
            enabled: on,
            disabled_by: None,
            ids: IdSet::default(),
            queue: VecDeque::new(),
            pending: Vec::new(),
            used: 0,
            sent: 0,
            last_msg: 0,
            last_payload: Vec::new(),
            pool: Pool::default(),
        }
    }

    /// Whether install (04h) has been done.
    pub fn installed(&self) -> bool {
        self.installed
    }

    /// Messages queued for `id`.
    pub fn pending_for(&self, id: u16) -> usize {
        self.waiting_for(id)
    }

    pub(crate) fn known(&self, id: u16) -> bool {
        id == 0 || self.ids.contains(id)
    }

    pub(crate) fn waiting_for(&self, id: u16) -> usize {
        self.pending.get(id as usize).map_or(0, |&n| n as usize)
    }

    /// Queue a message (its pool space is the caller's to count).
    fn push(&mut self, m: Msg) {
        let i = m.to as usize;
        if i >= self.pending.len() {
            self.pending.resize(i + 1, 0);
        }
        self.pending[i] += 1;
        self.queue.push_back(m);
    }

    /// Where the first message for `id` is in the queue (no walk when none waits).
    fn first_for(&self, id: u16) -> Option<usize> {
        if self.waiting_for(id) == 0 {
            return None;
        }
        self.queue.iter().position(|m| m.to == id)
    }

    /// Take the message at `i` of the queue out, with its pool space.
    fn take_at(&mut self, i: usize) -> Option<Msg> {
        let m = self.queue.remove(i)?;
        self.pending[m.to as usize] -= 1;
        self.used -= m.data.len() as u32 + MSG_OVERHEAD;
        Some(m)
    }

    pub(crate) fn free(&self) -> u32 {
        (self.config.space as u32).saturating_sub(self.used)
    }

    fn status(&self, caller: u16, error: u16) -> u16 {
        let mut s = 0;
        if self.enabled {
            s |= ST_ENABLED;
        }
        if self.installed {
            s |= ST_INSTALLED;
        }
        if error != 0 {
            s |= ST_ERROR;
        }
        if self.known(caller) && self.waiting_for(caller) > 0 {
            s |= ST_MESSAGES;
        }
        s
    }

    /// Drop every message addressed to `id` (or every message when `None`); returns how many.
    fn drop_messages(&mut self, id: Option<u16>) -> usize {
        let before = self.queue.len();
        let mut freed = 0;
        let pending = &mut self.pending;
        self.queue.retain(|m| {
            let keep = id.is_some_and(|i| m.to != i);
            if !keep {
                freed += m.data.len() as u32 + MSG_OVERHEAD;
                pending[m.to as usize] -= 1;
            }
            keep
        });
        self.used -= freed;
        before - self.queue.len()
    }
}

/// The decoded parameter block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Block {
    pub(crate) caller: u16,
    pub(crate) to: u16,
    pub(crate) cmd: u16,
    pub(crate) size: u16,
    /// Linear address of the data buffer.
    pub(crate) data: u32,
}

/// Linear address of a real-mode far pointer stored as offset (low word) : segment (high word).
pub fn far_to_linear(far: u32) -> u32 {
    ((far >> 16) << 4) + (far & 0xffff)
}

/// What a PC-IPC call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcOutcome {
    /// Results are in the block.
    Done,
    /// Read-wait found nothing: the thread now waits.
    Blocked,
}

impl PcIpc {
    fn read_block<M: GuestMemory>(
        k: &Kernel<M>,
        t: ThreadId,
        addr: u32,
        real_mode: bool,
    ) -> Result<Block, MemFault> {
        let mut b = [0u8; 16];
        let p = k.threads[t].proc;
        // Readable means writable too: guest memory has no read-only regions.
        k.procs[p].mem.read(addr, &mut b)?;
        let w = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let ptr = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
        Ok(Block {
            caller: w(0),
            to: w(2),
            cmd: w(4),
            size: w(10),
            data: if real_mode { far_to_linear(ptr) } else { ptr },
        })
    }

    /// The returned fields (caller ID, to ID, status, error, size) of a block, recorded in
    /// the trace; the caller writes them into the block now or when the thread resumes.
    pub(crate) fn finish<M: GuestMemory>(
        &mut self,
        k: &Kernel<M>,
        t: ThreadId,
        b: &Block,
        error: u16,
    ) -> [u8; 12] {
        let status = self.st.status(b.caller, error);
        let mut out = [0u8; 12];
        out[0..2].copy_from_slice(&b.caller.to_le_bytes());
        out[2..4].copy_from_slice(&b.to.to_le_bytes());
        out[4..6].copy_from_slice(&b.cmd.to_le_bytes());
        out[6..8].copy_from_slice(&status.to_le_bytes());
        out[8..10].copy_from_slice(&error.to_le_bytes());
        out[10..12].copy_from_slice(&b.size.to_le_bytes());
        if k.trace_on {
            let seq = std::mem::take(&mut self.st.last_msg);
            let mut data = std::mem::take(&mut self.st.last_payload);
            trace_rec!(
                k,
                t,
                "pc_cmd",
                NAME,
                cmd = b.cmd,
                caller_id = b.caller,
                to_id = b.to,
                status = status,
                error = error,
                size = b.size,
                msg = seq,
                payload = Payload(&data)
            );
            data.clear();
            self.st.last_payload = data;
        }
        tracing::debug!(
            caller = b.caller,
            cmd = b.cmd,
            error,
            status,
            "PC-IPC command done"
        );
        out
    }

    /// Take the first message for `b.caller` for a reader whose buffer is `b.data` in thread
    /// `t`'s memory: `Ok(None)` when there is none. Errors are PC-IPC error codes. The data is
    /// returned, not written: an immediate read writes it at once, a read-wait on resume.
    pub(crate) fn take_message<M: GuestMemory>(
        &mut self,
        k: &Kernel<M>,
        t: ThreadId,
        b: &mut Block,
    ) -> Result<Option<Vec<u8>>, u16> {
        let Some(i) = self.st.first_for(b.caller) else {
            b.size = 0;
            return Ok(None);
        };
        let len = self.st.queue[i].data.len() as u32;
        let p = k.threads[t].proc;
        // An input size of 0 means "not stated": the whole message is written.
        if (b.size != 0 && (b.size as u32) < len) || !k.procs[p].mem.contains(b.data, len) {
            return Err(err::BAD_DATA);
        }
        let Some(m) = self.st.take_at(i) else {
            return Ok(None);
        };
        if k.trace_on {
            self.st.last_msg = m.seq;
            self.st.last_payload = m.data.clone();
        }
        b.size = len as u16;
        b.to = m.from;
        Ok(Some(m.data))
    }

    /// Take the first message for the host actor (no guest memory involved).
    pub(crate) fn take_message_host(&mut self, b: &mut Block) -> Result<Option<Vec<u8>>, u16> {
        let Some(m) = self.st.first_for(b.caller).and_then(|i| self.st.take_at(i)) else {
            return Ok(None);
        };
        let len = m.data.len() as u32;
        self.st.last_msg = m.seq;
        self.st.last_payload = m.data.clone();
        b.size = len as u16;
        b.to = m.from;
        Ok(Some(m.data))
    }

    /// Execute the PC-IPC call of thread `t` whose parameter block is at linear `block`.
    /// `real_mode`: the block's data pointer is a far pointer. A block that is not in guest
    /// memory is a guest fault (`Err`), since no status can be written back.
    pub fn call<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        block: u32,
        real_mode: bool,
    ) -> Result<PcOutcome, MemFault> {
        let mut b = Self::read_block(k, t, block, real_mode)?;
        let p = k.threads[t].proc;
        let needs_install = !matches!(b.cmd, cmd::INSTALL | cmd::INQUIRE | cmd::VERSION);
        // A send completes a waiting reader only after the sender's own block is written.
        let mut deliver_to = None;
        let st = &mut self.st;
        let error = if !matches!(
            b.cmd,
            cmd::INQUIRE
                | cmd::ENABLE
                | cmd::DISABLE
                | cmd::INSTALL
                | cmd::READ
                | cmd::SEND
                | cmd::REQ_ID
                | cmd::DEL_ID
                | cmd::READ_WAIT
                | cmd::VERSION
        ) {
            err::INVALID
        } else if needs_install && !st.installed {
            err::NOT_INSTALLED
        } else if st.config.own_ids
            && b.caller != 0
            && matches!(
                b.cmd,
                cmd::INQUIRE
                    | cmd::ENABLE
                    | cmd::DISABLE
                    | cmd::READ
                    | cmd::SEND
                    | cmd::DEL_ID
                    | cmd::READ_WAIT
            )
            && self.owners.get(b.caller).is_some_and(|o| o != p)
        {
            // --pcipc-own-ids: another process's ID.
            err::BAD_SENDER
        } else {
            match b.cmd {
                cmd::INQUIRE => {
                    let free = st.free().min(0xffff) as u16;
                    b.size = if st.known(b.caller) {
                        st.waiting_for(b.caller).min(0xffff) as u16
                    } else {
                        0
                    };
                    match k.procs[p].mem.write_u16(b.data, free) {
                        Ok(()) => err::OK,
                        Err(_) => err::BAD_DATA,
                    }
                }
                cmd::ENABLE => {
                    if st.disabled_by == Some(b.caller) {
                        st.enabled = true;
                        st.disabled_by = None;
                    }
                    err::OK
                }
                cmd::DISABLE => {
                    if !st.known(b.caller) {
                        err::CANNOT_DISABLE
                    } else {
                        match st.disabled_by {
                            Some(other) if other != b.caller => err::CANNOT_DISABLE,
                            _ => {
                                st.enabled = false;
                                st.disabled_by = Some(b.caller);
                                err::OK
                            }
                        }
                    }
                }
                cmd::INSTALL => {
                    if st.installed && !st.known(b.caller) {
                        err::CANNOT_INSTALL
                    } else if b.caller != 0 {
                        err::ONLY_ZERO_INSTALLS
                    } else {
                        let dropped = st.drop_messages(None);
                        let ids = std::mem::take(&mut st.ids);
                        st.installed = true;
                        st.enabled = true;
                        st.disabled_by = None;
                        if dropped > 0 || !ids.is_empty() {
                            tracing::info!(dropped, ?ids, "PC-IPC reset dropped messages and IDs");
                            if k.trace_on {
                                let d =
                                    format!("reset dropped {dropped} message(s) and IDs {ids:?}");
                                trace_rec!(k, t, "pc_dropped", NAME, detail = d.as_str());
                            }
                        }
                        self.wake_orphans(k);
                        err::OK
                    }
                }
                cmd::READ | cmd::READ_WAIT => {
                    if !st.known(b.caller) {
                        err::BAD_SENDER
                    } else {
                        let (size, to) = (b.size, b.to);
                        match self.take_message(k, t, &mut b) {
                            Ok(Some(data)) => {
                                // Checked by take_message.
                                let _ = k.procs[p].mem.write(b.data, &data);
                                self.st.pool.give(data);
                                err::OK
                            }
                            Ok(None) if b.cmd == cmd::READ_WAIT => {
                                let w = PcWait {
                                    id: b.caller,
                                    block,
                                    data: b.data,
                                    size,
                                    to,
                                };
                                k.block_current_on(w, None);
                                return Ok(PcOutcome::Blocked);
                            }
                            Ok(None) => err::OK,
                            Err(e) => e,
                        }
                    }
                }
                cmd::SEND => {
                    if !st.enabled {
                        err::NOT_ENABLED
                    } else if !st.known(b.caller) {
                        err::BAD_SENDER
                    } else if !st.known(b.to) {
                        err::BAD_DEST
                    } else if b.size as u32 + MSG_OVERHEAD > st.free() {
                        err::SPACE_FULL
                    } else {
                        let mut data = st.pool.take(b.size as usize);
                        if k.procs[p].mem.read(b.data, &mut data).is_err() {
                            err::BAD_DATA
                        } else {
                            match self.send(k, t, &b, data) {
                                // Held by a hook: no results now, the call is made again.
                                None if k.delay_pending(t) => return Ok(PcOutcome::Done),
                                Some(e) => e,
                                None => {
                                    deliver_to = Some(b.to);
                                    err::OK
                                }
                            }
                        }
                    }
                }
                cmd::REQ_ID => match st.ids.first_free(st.config.ids) {
                    Some(id) => {
                        st.ids.insert(id);
                        self.owners.set(id, Some(p));
                        b.caller = id;
                        err::OK
                    }
                    None => err::NO_IDS,
                },
                cmd::DEL_ID => {
                    if b.caller == 0 || !st.ids.contains(b.caller) {
                        err::CANNOT_RELINQUISH
                    } else {
                        self.release_id(k, t, b.caller, "delete-ID");
                        err::OK
                    }
                }
                cmd::VERSION => {
                    let v = st.config.version.clone().into_bytes();
                    if (b.size != 0 && (b.size as usize) < v.len())
                        || k.procs[p].mem.write(b.data, &v).is_err()
                    {
                        err::BAD_DATA
                    } else {
                        b.size = v.len() as u16;
                        err::OK
                    }
                }
                _ => err::INVALID,
            }
        };
        let out = self.finish(k, t, &b, error);
        // The block was checked to be writable before the command ran.
        let _ = k.procs[p].mem.write(block, &out);
        if let Some(id) = deliver_to {
            self.deliver_to_waiter(k, id);
        }
        Ok(PcOutcome::Done)
    }

    /// Queue a message through the kernel's message path. `Some(error)` when a hook refused
    /// it (error 01h: the TSR has no code for "refused"); a dropped message is reported as
    /// sent.
    pub(crate) fn send<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        b: &Block,
        data: Vec<u8>,
    ) -> Option<u16> {
        let th = &k.threads[t];
        let mut m = Message {
            seq: 0,
            personality: NAME,
            kind: MsgKind::Queued,
            from: Endpoint {
                proc: Some(th.proc),
                thread: Some(t),
                pid: th.pid,
                address: b.caller as u64,
            },
            to: Endpoint {
                proc: self.owners.get(b.to),
                thread: None,
                pid: 0,
                address: b.to as u64,
            },
            channel: None,
            method: None,
            data,
            reply_to: None,
            area_offset: None,
        };
        let verdict = k.transmit(&mut m);
        let seq = m.seq;
        let st = &mut self.st;
        match verdict {
            Verdict::Allow => {
                st.used += m.data.len() as u32 + MSG_OVERHEAD;
                st.sent += 1;
                if k.trace_on {
                    st.last_msg = seq;
                    st.last_payload = m.data.clone();
                }
                st.push(Msg {
                    from: b.caller,
                    to: b.to,
                    data: m.data,
                    seq,
                });
                None
            }
            Verdict::Drop(_) | Verdict::Delay(_) => None,
            Verdict::Deny(_) => Some(err::INVALID),
        }
    }

    /// Take an ID out of use (delete-ID, or its process ended): its messages are dropped
    /// (traced) and its read-waits woken with error 07h.
    pub(crate) fn release_id<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        id: u16,
        why: &str,
    ) {
        let st = &mut self.st;
        st.ids.remove(id);
        self.owners.set(id, None);
        let dropped = st.drop_messages(Some(id));
        if dropped > 0 {
            tracing::info!(id, dropped, "PC-IPC {why} dropped messages");
        }
        if st.disabled_by == Some(id) {
            // Nobody could re-enable otherwise.
            st.enabled = true;
            st.disabled_by = None;
        }
        if k.trace_on && (dropped > 0 || why != "delete-ID") {
            let d = if why == "delete-ID" {
                format!("delete-ID {id} dropped {dropped} message(s) addressed to it")
            } else {
                format!("{why}: ID {id} released, {dropped} message(s) addressed to it dropped")
            };
            trace_rec!(k, t, "pc_dropped", NAME, detail = d.as_str());
        }
        self.wake_orphans(k);
    }

    /// A message for `id` arrived: complete the oldest read-wait on that ID, if any.
    pub(crate) fn deliver_to_waiter<M: GuestMemory>(&mut self, k: &mut Kernel<M>, id: u16) {
        let Some(w) = (0..k.threads.len())
            .map(ThreadId)
            .find(|&w| k.blocker_of::<PcWait>(w).is_some_and(|pw| pw.id == id))
        else {
            return;
        };
        self.complete_wait(k, w);
    }

    /// Finish a blocked read-wait: take the message, write the data and the block's returned
    /// fields into the waiter's memory now (as the kernel's function 60 writes a receiver's
    /// area at the send), and wake it with nothing more to do (`Wake::Done`). Its process
    /// cannot look: it is a DOS program waiting in its interrupt, or a 32-bit one whose other
    /// threads see the data arrive as they would see another thread's write.
    fn complete_wait<M: GuestMemory>(&mut self, k: &mut Kernel<M>, w: ThreadId) {
        let Some(pw) = k.blocker_of::<PcWait>(w).copied() else {
            return;
        };
        let mut b = Block {
            caller: pw.id,
            to: pw.to,
            cmd: cmd::READ_WAIT,
            size: pw.size,
            data: pw.data,
        };
        let p = k.threads[w].proc;
        let error = if !self.st.known(pw.id) {
            err::BAD_SENDER
        } else {
            match self.take_message(k, w, &mut b) {
                Ok(Some(data)) => {
                    // Checked by take_message.
                    let _ = k.procs[p].mem.write(b.data, &data);
                    self.st.pool.give(data);
                    err::OK
                }
                // Nothing (any more): keep waiting.
                Ok(None) => return,
                Err(e) => e,
            }
        };
        let fields = self.finish(k, w, &b, error);
        // Readable when the thread blocked, so writable (guest memory has no read-only parts).
        let _ = k.procs[p].mem.write(pw.block, &fields);
        k.wake(w, Wake::Done);
    }

    /// Wake read-waits whose ID no longer exists (after reset or delete-ID), with error 07h.
    fn wake_orphans<M: GuestMemory>(&mut self, k: &mut Kernel<M>) {
        let orphans: Vec<ThreadId> = (0..k.threads.len())
            .map(ThreadId)
            .filter(|&w| {
                k.blocker_of::<PcWait>(w)
                    .is_some_and(|pw| !self.st.known(pw.id))
            })
            .collect();
        for w in orphans {
            self.complete_wait(k, w);
        }
    }

    /// Free bytes in the message pool.
    pub fn free(&self) -> u32 {
        self.st.free()
    }
}
