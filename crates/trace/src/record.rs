//! One trace record, as the kernel emits it and as JSONL stores it.

use ipcemu_kernel::trace::packed::{self, PackedRecord, Value};
use ipcemu_kernel::trace::{Field, FieldValue, Packer};
use serde::{Deserialize, Serialize};
use tracing::field::{Field as Field2, Visit};

macro_rules! kinds {
    ($($(#[$doc:meta])* $v:ident = $s:literal,)*) => {
        /// What a record is about: every kind the kernel and the personalities emit. The sinks,
        /// `trace summary`, filters and scenario checks match on this, never on strings.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
        pub enum Kind {
            $($(#[$doc])* #[serde(rename = $s)] $v,)*
            /// A kind this version does not know (a newer trace).
            #[default]
            #[serde(other, rename = "other")]
            Other,
        }
        impl Kind {
            /// Every known kind.
            pub const ALL: &'static [Kind] = &[$(Kind::$v,)*];
            /// Its name in traces (`event_read`).
            pub fn as_str(self) -> &'static str {
                match self { $(Kind::$v => $s,)* Kind::Other => "other" }
            }
            /// The kind with this name.
            pub fn parse(s: &str) -> Option<Kind> {
                Self::parse_bytes(s.as_bytes())
            }
            /// The kind with this name, given as bytes.
            pub fn parse_bytes(s: &[u8]) -> Option<Kind> {
                $(if s == $s.as_bytes() { return Some(Kind::$v); })*
                None
            }
        }
    };
}

kinds! {
    /// A process's first thread was created.
    ProcStart = "proc_start",
    /// Another thread was created.
    ThreadStart = "thread_start",
    /// A thread ended.
    ThreadEnd = "thread_end",
    /// A process ended (its last thread).
    ProcEnd = "proc_end",
    /// KolibriOS 60.1.
    IpcArea = "ipc_area",
    /// A message was sent (every KolibriOS 60.2 attempt; KOS requests/responses; Win32 pipe
    /// writes, posts, sends).
    Send = "send",
    /// A message reached its receiver.
    Deliver = "deliver",
    /// An event was raised and stays pending.
    Event = "event",
    /// A thread read an event.
    EventRead = "event_read",
    /// A thread blocked.
    Wait = "wait",
    /// A thread became ready again.
    Wake = "wake",
    /// A PC-IPC command.
    PcCmd = "pc_cmd",
    /// PC-IPC threw messages or IDs away.
    PcDropped = "pc_dropped",
    /// The security module allowed a message.
    Allow = "allow",
    /// A message hook refused a message.
    Deny = "deny",
    /// A message hook lost a message on purpose.
    Drop = "drop",
    /// A message hook held a message.
    Delay = "delay",
    /// A Win32 object operation.
    W32Obj = "w32_obj",
    /// A snapshot of a Win32 shared view.
    W32View = "w32_view",
    /// A KolibriOS file operation (70.x, 80.x, 68.27/68.28).
    File = "file",
    /// A KolibriOS named shared memory area opened or closed (68.22, 68.23).
    Shm = "shm",
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trace record. Fields a kind does not use are absent from JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// What happened.
    pub kind: Kind,
    /// Guest clock in ns.
    pub t_ns: u64,
    /// System calls handled in the world before this record.
    pub step: u64,
    /// Personality (`kolibri`, `elf`, `dos`, `pcipc`, `host`).
    pub pers: String,
    /// Process index (0-based, start order).
    pub proc: u64,
    /// PID/TID of the thread the record is about.
    pub pid: u32,
    /// Its process name.
    pub name: String,
    /// The other side (receiver of a send, sender of a delivery).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub peer_pid: Option<u32>,
    /// The other side's process name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub peer_name: Option<String>,
    /// Message length in bytes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub len: Option<u64>,
    /// Result code (function 60.2: 0..4; -1 fault) or the woken thread's eax (-1 none).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub result: Option<i64>,
    /// Message sequence number (flow id; 0 = none).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub msg: Option<u64>,
    /// Messages consumed by an `event_read` of event 7.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub msgs: Option<Vec<u64>>,
    /// Payload (first 256 bytes), lower-case hex.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payload: Option<String>,
    /// Offset in the receiver's IPC area where the message was written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub offset: Option<u64>,
    /// Event code.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<u64>,
    /// The event was masked when raised.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub masked: Option<bool>,
    /// What a wait waits for (`event`, `sleep`, `pcipc_read`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub what: Option<String>,
    /// Timeout of a wait in ns (-1 = none).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timeout_ns: Option<i64>,
    /// IPC area address.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub addr: Option<u64>,
    /// IPC area size.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub size: Option<u64>,
    /// Task slot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub slot: Option<u64>,
    /// Entry point of a new thread.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub entry: Option<u64>,
    /// PC-IPC command code.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cmd: Option<u64>,
    /// PC-IPC caller's ID (after the command).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub caller_id: Option<u64>,
    /// PC-IPC to-ID (after the command: the sender's ID on a read).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub to_id: Option<u64>,
    /// PC-IPC status word.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u64>,
    /// PC-IPC error code.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<u64>,
    /// Free text (exit status, fault report).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
    /// Message direction (`datagram`, `queued`, `request`, `response`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dir: Option<String>,
    /// Channel: KOS connection id, Win32 pipe (`anonymous pipe #1`, `pipe "\\.\pipe\x"`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub channel: Option<String>,
    /// KOS interface implementation id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub riid: Option<u64>,
    /// KOS method id; Win32 window message number.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mid: Option<u64>,
    /// For a response: the sequence number of its request (0 = none).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reply_to: Option<u64>,
    /// The message hook that decided (`security-module`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hook: Option<String>,
    /// Win32 object operation (`CreateEvent`, `WaitForSingleObject`, ...).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub op: Option<String>,
    /// Win32 object (`event "name"`, `mutex #7 (unnamed)`, `window "t" (class "c")`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub object: Option<String>,
    /// Win32 handle.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub handle: Option<u64>,
}

impl Record {
    /// Set the field called `name` from a directly given value.
    pub(crate) fn set(&mut self, name: &str, v: ipcemu_kernel::trace::FieldValue<'_>) {
        use ipcemu_kernel::trace::FieldValue as F;
        match v {
            F::U64(x) => self.set_u64(name, x),
            F::I64(x) => self.set_i64(name, x),
            F::Bool(x) => self.set_bool(name, x),
            F::Str(x) => self.set_str(name, x),
            F::Bytes(x) => self.set_str(name, ipcemu_kernel::trace::PayloadHex::new(x).as_str()),
        }
    }

    /// Set the field called `name` (unknown names are ignored).
    pub(crate) fn set_u64(&mut self, name: &str, v: u64) {
        match name {
            "t_ns" => self.t_ns = v,
            "step" => self.step = v,
            "proc" => self.proc = v,
            "pid" => self.pid = v as u32,
            "peer_pid" => self.peer_pid = Some(v as u32),
            "len" => self.len = Some(v),
            "msg" => self.msg = Some(v),
            "offset" => self.offset = Some(v),
            "code" => self.code = Some(v),
            "addr" => self.addr = Some(v),
            "size" => self.size = Some(v),
            "slot" => self.slot = Some(v),
            "entry" => self.entry = Some(v),
            "cmd" => self.cmd = Some(v),
            "caller_id" => self.caller_id = Some(v),
            "to_id" => self.to_id = Some(v),
            "status" => self.status = Some(v),
            "error" => self.error = Some(v),
            "riid" => self.riid = Some(v),
            "mid" => self.mid = Some(v),
            "reply_to" => self.reply_to = Some(v),
            "handle" => self.handle = Some(v),
            "result" => self.result = Some(v as i64),
            "timeout_ns" => self.timeout_ns = Some(v as i64),
            _ => {}
        }
    }
    /// Set the field called `name`.
    pub(crate) fn set_i64(&mut self, name: &str, v: i64) {
        match name {
            "result" => self.result = Some(v),
            "timeout_ns" => self.timeout_ns = Some(v),
            _ if v >= 0 => self.set_u64(name, v as u64),
            _ => {}
        }
    }
    /// Set the field called `name`.
    pub(crate) fn set_bool(&mut self, name: &str, v: bool) {
        if name == "masked" {
            self.masked = Some(v);
        }
    }
    /// Set the field called `name`.
    pub(crate) fn set_str(&mut self, name: &str, v: &str) {
        match name {
            "kind" => self.kind = Kind::parse(v).unwrap_or(Kind::Other),
            "pers" => self.pers = v.to_string(),
            "name" => self.name = v.to_string(),
            "peer_name" => self.peer_name = Some(v.to_string()),
            "payload" => self.payload = Some(v.to_string()),
            "what" => self.what = Some(v.to_string()),
            "detail" => self.detail = Some(v.to_string()),
            "dir" => self.dir = Some(v.to_string()),
            "channel" => self.channel = Some(v.to_string()),
            "hook" => self.hook = Some(v.to_string()),
            "op" => self.op = Some(v.to_string()),
            "object" => self.object = Some(v.to_string()),
            "msgs" => {
                self.msgs = Some(v.split(',').filter_map(|x| x.parse().ok()).collect());
            }
            _ => {}
        }
    }
}

impl Visit for Record {
    fn record_u64(&mut self, f: &Field2, v: u64) {
        self.set_u64(f.name(), v);
    }
    fn record_i64(&mut self, f: &Field2, v: i64) {
        self.set_i64(f.name(), v);
    }
    fn record_bool(&mut self, f: &Field2, v: bool) {
        self.set_bool(f.name(), v);
    }
    fn record_str(&mut self, f: &Field2, v: &str) {
        self.set_str(f.name(), v);
    }
    fn record_debug(&mut self, f: &Field2, v: &dyn std::fmt::Debug) {
        if f.name() == "message" {
            return;
        }
        self.record_str(f, &format!("{v:?}"));
    }
}

/// Append `b`, which is usually a few bytes (a field name, a kind, a guest name): up to 16
/// bytes are copied with fixed-size moves, which the compiler inlines, instead of a `memcpy`
/// call per piece (the writer thread makes about 30 such copies per record).
#[inline(always)]
pub(crate) fn push_short(out: &mut Vec<u8>, b: &[u8]) {
    let n = b.len();
    let start = out.len();
    if let (Some(h), Some(t), true) = (b.first_chunk::<8>(), b.last_chunk::<8>(), n <= 16) {
        // Head and tail overlap when n < 16; both are bytes of `b`, so the overlap agrees.
        out.extend_from_slice(h);
        out.truncate(start + n - 8);
        out.extend_from_slice(t);
    } else if let (Some(h), Some(t)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        if n < 8 {
            out.extend_from_slice(h);
            out.truncate(start + n - 4);
            out.extend_from_slice(t);
        } else {
            out.extend_from_slice(b);
        }
    } else {
        for &c in b {
            out.push(c);
        }
    }
}

/// Append `x` in decimal. Most numbers in a trace (PIDs, lengths, codes, results) are below
/// 100: those are one or two bytes from a table, not a general conversion; up to eight digits
/// are made all at once in a register; longer ones by `itoa`.
#[inline(always)]
pub(crate) fn push_u64(out: &mut Vec<u8>, x: u64) {
    if x < 10 {
        out.push(b'0' + x as u8);
    } else if x < 100 {
        out.extend_from_slice(&DEC2[x as usize]);
    } else if x < 100_000_000 {
        // Up to eight digits (steps, microseconds, message numbers): all eight made at once
        // in one register (SWAR), the leading zeros shifted out, then one 8-byte store. Digits
        // made in a stack buffer and read back as one word stalled on store forwarding (about
        // a tenth of the Chrome writer's time).
        let n = x as u32;
        // Two 32-bit lanes (first four digits in the low lane: the lower address), each
        // 0..=9999; then four 16-bit lanes of 0..=99; then eight bytes of 0..=9. No lane's
        // product reaches the next lane.
        let m = u64::from(n / 10_000) | (u64::from(n % 10_000) << 32);
        let hi = ((m.wrapping_mul(10_486)) >> 20) & 0x0000_007f_0000_007f;
        let lo = m.wrapping_sub(hi.wrapping_mul(100));
        let m = hi | (lo << 16);
        let hi = ((m.wrapping_mul(103)) >> 10) & 0x000f_000f_000f_000f;
        let lo = m.wrapping_sub(hi.wrapping_mul(10));
        let digits = hi | (lo << 8);
        // x >= 100, so some byte is not zero; the zero bytes below it are leading zeros.
        let zeros = digits.trailing_zeros() / 8;
        let ascii = (digits | 0x3030_3030_3030_3030) >> (8 * zeros);
        let len = out.len();
        out.extend_from_slice(&ascii.to_le_bytes());
        out.truncate(len + 8 - zeros as usize);
    } else {
        push_short(out, itoa::Buffer::new().format(x).as_bytes());
    }
}

/// The two decimal digits of 0 to 99.
static DEC2: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// Append the lower-case hex of `b`.
pub(crate) fn push_hex(out: &mut Vec<u8>, b: &[u8]) {
    out.reserve(2 * b.len());
    // Eight bytes at a time, then four: made in registers and stored once (hex made in a stack
    // buffer and read back as one word stalls on store forwarding).
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let lo = hex4(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        let hi = hex4(u32::from_le_bytes([c[4], c[5], c[6], c[7]]));
        out.extend_from_slice(&(u128::from(lo) | (u128::from(hi) << 64)).to_le_bytes());
    }
    let mut rest = chunks.remainder();
    if let Some((c, tail)) = rest.split_first_chunk::<4>() {
        out.extend_from_slice(&hex4(u32::from_le_bytes(*c)).to_le_bytes());
        rest = tail;
    }
    for &x in rest {
        out.extend_from_slice(&HEX2[x as usize]);
    }
}

/// The eight lower-case hex digits of the four bytes of `v` (little-endian: its first byte's
/// two digits in the low 16 bits), as ASCII.
#[inline(always)]
fn hex4(v: u32) -> u64 {
    // Each byte to a 16-bit lane of its own, then its high nibble to the lane's low byte.
    let x = u64::from(v);
    let x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
    let x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
    let n = ((x >> 4) & 0x000f_000f_000f_000f) | ((x & 0x000f_000f_000f_000f) << 8);
    // Each byte is a nibble 0..=15: add '0', and 'a' - '0' - 10 more where it is 10 or above.
    let letters = ((n + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    n + 0x3030_3030_3030_3030 + letters * 39
}

/// The two lower-case hex digits of every byte.
static HEX2: [[u8; 2]; 256] = {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [D[i >> 4], D[i & 15]];
        i += 1;
    }
    t
};

/// Bytes a JSON string cannot hold as they are.
static ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Append `s` as a JSON string (quoted, escaped).
/// Is any byte of `w` below 0x20, a quote or a backslash? (Word-at-a-time tests: for each
/// byte class, `(x - k) & !x & 0x80..` is non-zero exactly when some byte of `x` is below k.)
#[inline(always)]
fn word_needs_escape(w: u64) -> bool {
    const L: u64 = 0x0101_0101_0101_0101;
    const H: u64 = 0x8080_8080_8080_8080;
    let ctl = w.wrapping_sub(0x20 * L) & !w & H;
    let q = w ^ (0x22 * L);
    let q = q.wrapping_sub(L) & !q & H;
    let s = w ^ (0x5c * L);
    let s = s.wrapping_sub(L) & !s & H;
    (ctl | q | s) != 0
}

/// Does `b` hold a byte a JSON string must escape?
#[inline(always)]
fn needs_escape(b: &[u8]) -> bool {
    match (b.first_chunk::<8>(), b.last_chunk::<8>(), b.len() <= 16) {
        // Up to 16 bytes (every name and kind): two overlapping words, no loop.
        (Some(h), Some(t), true) => {
            word_needs_escape(u64::from_le_bytes(*h)) || word_needs_escape(u64::from_le_bytes(*t))
        }
        _ => match (b.first_chunk::<4>(), b.last_chunk::<4>(), b.len() < 8) {
            (Some(h), Some(t), true) => {
                let w = u64::from(u32::from_le_bytes(*h)) | u64::from(u32::from_le_bytes(*t)) << 32;
                word_needs_escape(w)
            }
            // Longer (Chrome event names, free text): a word at a time, the last word
            // overlapping the one before.
            _ => match b.last_chunk::<8>() {
                Some(t) => {
                    b.as_chunks::<8>()
                        .0
                        .iter()
                        .any(|w| word_needs_escape(u64::from_le_bytes(*w)))
                        || word_needs_escape(u64::from_le_bytes(*t))
                }
                None => b.iter().any(|&c| ESCAPED[c as usize]),
            },
        },
    }
}

#[inline(always)]
pub(crate) fn json_str(out: &mut Vec<u8>, b: &[u8]) {
    if !needs_escape(b) {
        out.reserve(b.len() + 2);
        out.push(b'"');
        push_short(out, b);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    escaped(out, b);
    out.push(b'"');
}

/// Append `b` as the inside of a JSON string (escaped, without the quotes).
pub(crate) fn json_str_body(out: &mut Vec<u8>, b: &[u8]) {
    if needs_escape(b) {
        escaped(out, b);
    } else {
        push_short(out, b);
    }
}

#[cold]
#[inline(never)]
fn escaped(out: &mut Vec<u8>, b: &[u8]) {
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: Option<&[u8]> = match c {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        match esc {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
        }
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
}

/// `,"name":` for every [`Field`], padded to 16 bytes: a key is one fixed-size copy.
const KEY_W: usize = 16;
static KEYS: [([u8; KEY_W], u8); Field::ALL.len()] = keys();

const fn keys() -> [([u8; KEY_W], u8); Field::ALL.len()] {
    let mut out = [([0u8; KEY_W], 0u8); Field::ALL.len()];
    let mut i = 0;
    while i < Field::ALL.len() {
        let n = Field::ALL[i].name().as_bytes();
        assert!(n.len() + 4 <= KEY_W, "a field name is too long for KEYS");
        let mut k = [0u8; KEY_W];
        k[0] = b',';
        k[1] = b'"';
        let mut j = 0;
        while j < n.len() {
            k[2 + j] = n[j];
            j += 1;
        }
        k[2 + n.len()] = b'"';
        k[3 + n.len()] = b':';
        out[i] = (k, (n.len() + 4) as u8);
        i += 1;
    }
    out
}

/// Append `,"name":` (or `{"name":` for the first field of an object).
#[inline(always)]
fn key(out: &mut Vec<u8>, f: Field, first: bool) {
    let (k, n) = &KEYS[f as usize];
    let at = out.len();
    out.extend_from_slice(k);
    out.truncate(at + *n as usize);
    if first {
        out[at] = b'{';
    }
}

/// Append one field's `,"name":value` (`{"name":value` when `first`). Inlined into each loop
/// over fields: as a call it cost about 15 instructions of its own per field.
#[inline(always)]
fn json_field(out: &mut Vec<u8>, f: Field, v: Value<'_>, first: bool) {
    key(out, f, first);
    match v {
        Value::U64(x) => push_u64(out, x),
        Value::I64(x) if x >= 0 => push_u64(out, x as u64),
        Value::I64(x) => push_short(out, itoa::Buffer::new().format(x).as_bytes()),
        Value::Bool(x) => out.extend_from_slice(if x { b"true" } else { b"false" }),
        // A message list is captured as its numbers, comma-separated.
        Value::Text(t) if f == Field::msgs => {
            out.push(b'[');
            out.extend_from_slice(t);
            out.push(b']');
        }
        Value::Text(t) => json_str(out, t),
        Value::Bytes(b) => {
            out.push(b'"');
            push_hex(out, b);
            out.push(b'"');
        }
    }
}

/// Records handed to the writer thread as a whole: packed ([`ipcemu_kernel::trace::packed`])
/// by the kernel or by [`CaptureVisitor`], with the filter they are to pass.
#[derive(Default)]
pub(crate) struct Chunk {
    pub(crate) packed: Vec<u8>,
    pub(crate) filter: crate::Filter,
}

impl Chunk {
    /// The records that pass the chunk's filter (raw records always do).
    pub(crate) fn records(&self) -> impl Iterator<Item = PackedRecord<'_>> {
        let all = self.filter.is_empty();
        packed::records(&self.packed).filter(move |r| all || passes(r, &self.filter))
    }

    /// Append the JSON lines of every record (`actors`: the writer's rendered actors).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>, actors: &mut Actors) {
        for r in self.records() {
            match r.header() {
                Some((h, rest)) => header_object(out, &h, rest, actors),
                None => json_object(&r, out),
            }
            out.push(b'\n');
        }
    }

    /// Each record with its JSON object, for a sink that takes [`Record`]s.
    pub(crate) fn each_record(
        &self,
        mut f: impl FnMut(&Record, &[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut json = Vec::with_capacity(512);
        for p in self.records() {
            let r = record(&p);
            json.clear();
            json_object(&p, &mut json);
            f(&r, &json)?;
        }
        Ok(())
    }
}

/// Does a record pass `filter`?
fn passes(r: &PackedRecord<'_>, filter: &crate::Filter) -> bool {
    if r.raw().is_some() {
        return true;
    }
    let mut m = crate::filter::Match::default();
    for (f, v) in r.fields() {
        match (f, v) {
            (Field::pid | Field::peer_pid, Value::U64(x)) => m.pid(filter, x as u32),
            (Field::kind, Value::Text(x)) => m.kind(filter, std::str::from_utf8(x).unwrap_or("")),
            (Field::pers, Value::Text(x)) => m.pers(filter, std::str::from_utf8(x).unwrap_or("")),
            (Field::name | Field::peer_name, Value::Text(x)) => {
                m.name(filter, std::str::from_utf8(x).unwrap_or(""))
            }
            _ => {}
        }
    }
    m.passes(filter)
}

/// Append a record's JSON object (no newline): its fields in the order the kernel emits them
/// (`kind`, `t_ns`, `step`, `pers`, `proc`, `pid`, `name`, then the kind's own fields), or
/// a raw record's object as it is.
pub(crate) fn json_object(r: &PackedRecord<'_>, out: &mut Vec<u8>) {
    if let Some(raw) = r.raw() {
        out.extend_from_slice(raw);
        return;
    }
    fields_object(out, r.fields());
}

/// The JSON of each actor a JSONL writer has seen: `,"pers":…,"proc":…,"pid":…,"name":…`
/// (four of the seven fields every kernel record starts with), kept per `(proc, pid)` and
/// made again when its personality or name changes. A record then costs one copy for them
/// instead of two numbers and two strings checked for escapes (≈ 15 % of the writer's work).
#[derive(Default)]
pub(crate) struct Actors {
    /// Indexed by proc.
    by_proc: Vec<Vec<Actor>>,
    /// The start of each kind's records.
    kinds: Kinds,
}

/// One actor's rendered fields.
struct Actor {
    pid: u64,
    pers: Vec<u8>,
    name: Vec<u8>,
    /// `,"pers":…,"proc":…,"pid":…,"name":…` (empty until made).
    json: Vec<u8>,
}

impl Actors {
    /// Actors kept per process (a process with more threads renders the others each time).
    const PER_PROC: usize = 64;
    /// Processes whose actors are kept (others render each time).
    const PROCS: u64 = 1 << 16;

    fn render(out: &mut Vec<u8>, h: &packed::Header<'_>) {
        json_field(out, Field::pers, Value::Text(h.pers), false);
        json_field(out, Field::proc, Value::U64(h.proc), false);
        json_field(out, Field::pid, Value::U64(h.pid), false);
        json_field(out, Field::name, Value::Text(h.name), false);
    }

    /// Append the actor part of header `h`.
    fn push(&mut self, out: &mut Vec<u8>, h: &packed::Header<'_>) {
        if h.proc >= Self::PROCS {
            return Self::render(out, h);
        }
        let p = h.proc as usize;
        if self.by_proc.len() <= p {
            self.by_proc.resize_with(p + 1, Vec::new);
        }
        let list = &mut self.by_proc[p];
        let i = match list.iter().position(|a| a.pid == h.pid) {
            Some(i) => i,
            None if list.len() < Self::PER_PROC => {
                list.push(Actor {
                    pid: h.pid,
                    pers: Vec::new(),
                    name: Vec::new(),
                    json: Vec::new(),
                });
                list.len() - 1
            }
            None => return Self::render(out, h),
        };
        let a = &mut list[i];
        if a.json.is_empty() || !same(&a.pers, h.pers) || !same(&a.name, h.name) {
            a.pers.clear();
            a.pers.extend_from_slice(h.pers);
            a.name.clear();
            a.name.extend_from_slice(h.name);
            a.json.clear();
            Self::render(&mut a.json, h);
        }
        out.extend_from_slice(&a.json);
    }
}

/// Are `a` and `b` equal? Names and kinds are short: up to 16 bytes are compared as two
/// overlapping words each (4 to 7 bytes as two overlapping halves), without a `memcmp` call.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if let (Some(ah), Some(at), Some(bh), Some(bt)) = (
        a.first_chunk::<8>(),
        a.last_chunk::<8>(),
        b.first_chunk::<8>(),
        b.last_chunk::<8>(),
    ) {
        return if n <= 16 {
            ah == bh && at == bt
        } else {
            a == b
        };
    }
    match (
        a.first_chunk::<4>(),
        a.last_chunk::<4>(),
        b.first_chunk::<4>(),
        b.last_chunk::<4>(),
    ) {
        (Some(ah), Some(at), Some(bh), Some(bt)) => ah == bh && at == bt,
        _ => a.iter().zip(b).all(|(x, y)| x == y),
    }
}

/// The start of each kind's records, `{"kind":"…","t_ns":`, kept for the last kinds seen (one
/// copy per record instead of two keys and a string checked for escapes).
#[derive(Default)]
pub(crate) struct Kinds {
    slots: Box<[(Vec<u8>, Vec<u8>); 16]>,
}

impl Kinds {
    /// Append the start of a record of kind `kind`.
    #[inline]
    fn push(&mut self, out: &mut Vec<u8>, kind: &[u8]) {
        let at = (kind.len()
            ^ kind.first().map_or(0, |&c| usize::from(c))
            ^ kind.last().map_or(0, |&c| usize::from(c) << 1))
            & 15;
        let (k, json) = &mut self.slots[at];
        if json.is_empty() || !same(k, kind) {
            k.clear();
            k.extend_from_slice(kind);
            json.clear();
            json_field(json, Field::kind, Value::Text(kind), true);
            key(json, Field::t_ns, false);
        }
        push_short(out, json);
    }
}

/// Append the JSON object of a record that starts with the kernel's header: the same text
/// [`json_object`] makes, with the kind and actor parts copied from `actors`.
fn header_object(
    out: &mut Vec<u8>,
    h: &packed::Header<'_>,
    rest: packed::Fields<'_>,
    actors: &mut Actors,
) {
    let mut o = std::mem::take(out);
    o.reserve(512);
    actors.kinds.push(&mut o, h.kind);
    push_u64(&mut o, h.t_ns);
    json_field(&mut o, Field::step, Value::U64(h.step), false);
    actors.push(&mut o, h);
    for (f, v) in rest {
        json_field(&mut o, f, v, false);
    }
    o.push(b'}');
    *out = o;
}

/// Append the JSON object of `fields`, in their order.
fn fields_object<'a>(out: &mut Vec<u8>, fields: impl Iterator<Item = (Field, Value<'a>)>) {
    // Worked on as a local (its length and pointer stay in registers), with room reserved
    // for a typical record at once.
    let mut o = std::mem::take(out);
    o.reserve(512);
    let mut first = true;
    for (f, v) in fields {
        json_field(&mut o, f, v, first);
        first = false;
    }
    if first {
        o.push(b'{');
    }
    o.push(b'}');
    *out = o;
}

/// Fields a Chrome event says already (its category or name, `ts`, `pid`, `tid` and track
/// name): left out of its `args`.
pub(crate) const IMPLIED_BY_EVENT: &[Field] = &[
    Field::kind,
    Field::t_ns,
    Field::proc,
    Field::pid,
    Field::name,
];

/// Is `f` one of [`IMPLIED_BY_EVENT`]? (One bit test: it is asked for every field written.)
#[inline]
const fn implied_by_event(f: Field) -> bool {
    const MASK: u128 = {
        assert!(Field::ALL.len() <= 128, "one bit per field");
        let mut m = 0u128;
        let mut i = 0;
        while i < IMPLIED_BY_EVENT.len() {
            m |= 1 << IMPLIED_BY_EVENT[i] as u8;
            i += 1;
        }
        m
    };
    MASK & (1 << f as u8) != 0
}

/// Append the JSON object `json` without its members named in [`IMPLIED_BY_EVENT`], in
/// their order and text; `json` as it is when it is not a flat object this can split.
pub(crate) fn trim_object(json: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    if trim_members(json, out).is_none() {
        out.truncate(start);
        out.extend_from_slice(json);
    }
}

fn trim_members(json: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let skip_ws = |i: &mut usize| {
        while json.get(*i).is_some_and(|c| c.is_ascii_whitespace()) {
            *i += 1;
        }
    };
    // The end of the JSON string starting at `i` (a quote), after its closing quote.
    let string_end = |mut i: usize| -> Option<usize> {
        i += 1;
        loop {
            match json.get(i)? {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
    };
    let mut i = 0;
    skip_ws(&mut i);
    if json.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    out.push(b'{');
    let mut first = true;
    loop {
        skip_ws(&mut i);
        match json.get(i)? {
            b'}' => break,
            b'"' => {}
            _ => return None,
        }
        let k_end = string_end(i)?;
        let key = &json[i + 1..k_end - 1];
        i = k_end;
        skip_ws(&mut i);
        if json.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        skip_ws(&mut i);
        let v_start = i;
        // A value: a string, or anything up to the comma or brace at nesting depth 0.
        let mut depth = 0usize;
        loop {
            match *json.get(i)? {
                b'"' => i = string_end(i)?,
                b'[' | b'{' => {
                    depth += 1;
                    i += 1;
                }
                b']' | b'}' if depth > 0 => {
                    depth -= 1;
                    i += 1;
                }
                b',' | b'}' if depth == 0 => break,
                _ => i += 1,
            }
        }
        let value = &json[v_start..i];
        let implied = std::str::from_utf8(key)
            .ok()
            .and_then(Field::parse)
            .is_some_and(implied_by_event);
        if !implied {
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'"');
            out.extend_from_slice(key);
            out.extend_from_slice(b"\":");
            out.extend_from_slice(value.trim_ascii_end());
        }
        if json.get(i) == Some(&b',') {
            i += 1;
        }
    }
    out.push(b'}');
    Some(())
}

/// The [`Record`] of a packed record.
pub(crate) fn record(p: &PackedRecord<'_>) -> Record {
    if let Some(raw) = p.raw() {
        return serde_json::from_slice(raw).unwrap_or_default();
    }
    let mut r = Record::default();
    for (f, v) in p.fields() {
        r.set(f.name(), v.field_value());
    }
    r
}

/// The fields the Chrome sink reads, borrowed from a packed record (`None` for a raw one).
pub(crate) fn view<'a>(p: &PackedRecord<'a>) -> Option<View<'a>> {
    if p.raw().is_some() {
        return None;
    }
    let mut v = View::default();
    for (f, x) in p.fields() {
        v.take(f, x);
    }
    Some(v)
}

/// A packed record read in one pass for a Chrome event: [`PackedArgs::start`] takes its header
/// (the fields `trace_rec!` packs first) into a [`View`]; `write` then appends its JSON object
/// without the fields in [`IMPLIED_BY_EVENT`] (the event's `args`, in the record's field order)
/// and takes the rest of the view on the way.
pub(crate) struct PackedArgs<'a> {
    step: u64,
    pers: &'a [u8],
    rest: packed::Fields<'a>,
}

impl<'a> PackedArgs<'a> {
    /// The header of `p` into `v`; `None` for a record that does not start with the kernel's
    /// header (a raw one, or one packed another way), which takes the two-pass way.
    #[inline]
    pub(crate) fn start(p: &PackedRecord<'a>, v: &mut View<'a>) -> Option<Self> {
        let (h, rest) = p.header()?;
        v.kind = Kind::parse_bytes(h.kind).unwrap_or(Kind::Other);
        v.t_ns = h.t_ns;
        v.pers = h.pers;
        v.proc = h.proc;
        v.pid = h.pid as u32;
        v.name = h.name;
        Some(PackedArgs {
            step: h.step,
            pers: h.pers,
            rest,
        })
    }

    /// Append the args object, taking the rest of the record into `v` (once: the fields
    /// after the header are consumed).
    pub(crate) fn write(&mut self, out: &mut Vec<u8>, v: &mut View<'a>) {
        const { assert!(!implied_by_event(Field::step) && !implied_by_event(Field::pers)) };
        let mut o = std::mem::take(out);
        o.reserve(512);
        json_field(&mut o, Field::step, Value::U64(self.step), true);
        json_field(&mut o, Field::pers, Value::Text(self.pers), false);
        for (f, x) in self.rest.by_ref() {
            v.take(f, x);
            if !implied_by_event(f) {
                json_field(&mut o, f, x, false);
            }
        }
        o.push(b'}');
        *out = o;
    }
}

/// Append a packed record's JSON object without the fields in [`IMPLIED_BY_EVENT`] (a Chrome
/// event's `args`; a raw record's come from [`trim_object`]).
pub(crate) fn args_object(p: &PackedRecord<'_>, out: &mut Vec<u8>) {
    fields_object(out, p.fields().filter(|&(f, _)| !implied_by_event(f)));
}

/// Packs a `tracing` event's fields (the path for a sink behind a `tracing` subscriber);
/// fields outside the schema (`message`) are left out.
pub(crate) struct CaptureVisitor<'a> {
    p: &'a mut Packer,
}

impl<'a> CaptureVisitor<'a> {
    /// Begins a record in `p`.
    pub(crate) fn new(p: &'a mut Packer) -> Self {
        p.begin();
        CaptureVisitor { p }
    }
    /// Ends the record.
    pub(crate) fn finish(self) {
        self.p.end();
    }
    fn put(&mut self, f: &Field2, v: FieldValue<'_>) {
        if let Some(f) = Field::parse(f.name()) {
            self.p.put(f, v);
        }
    }
}

impl Visit for CaptureVisitor<'_> {
    fn record_u64(&mut self, f: &Field2, v: u64) {
        self.put(f, FieldValue::U64(v));
    }
    fn record_i64(&mut self, f: &Field2, v: i64) {
        self.put(f, FieldValue::I64(v));
    }
    fn record_bool(&mut self, f: &Field2, v: bool) {
        self.put(f, FieldValue::Bool(v));
    }
    fn record_str(&mut self, f: &Field2, v: &str) {
        self.put(f, FieldValue::Str(v));
    }
    fn record_debug(&mut self, f: &Field2, v: &dyn std::fmt::Debug) {
        if f.name() != "message" {
            self.put(f, FieldValue::Str(&format!("{v:?}")));
        }
    }
}

impl Record {
    /// `name[pid]`.
    pub fn actor(&self) -> String {
        format!("{}[{}]", self.name, self.pid)
    }
    /// `peer_name[peer_pid]` (or `?[pid]` when the peer is unknown).
    pub fn peer(&self) -> Option<String> {
        self.peer_pid.map(|p| {
            let n = self
                .peer_name
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or("?");
            format!("{n}[{p}]")
        })
    }
}

/// A record's message list: as captured (`"1,2,3"`) or as a [`Record`] holds it.
#[derive(Clone, Copy, Default)]
pub(crate) enum Msgs<'a> {
    #[default]
    None,
    Text(&'a [u8]),
    List(&'a [u64]),
}

impl Msgs<'_> {
    /// Each message number, in order.
    pub(crate) fn each(
        &self,
        mut f: impl FnMut(u64) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        match *self {
            Msgs::None => Ok(()),
            // Usually one number (a read of one message): no split.
            Msgs::Text(t) => match decimal(t) {
                Some(m) => f(m),
                None => t.split(|&c| c == b',').filter_map(decimal).try_for_each(f),
            },
            Msgs::List(l) => l.iter().try_for_each(|&m| f(m)),
        }
    }
}

/// A message number of a captured list: what `str::parse::<u64>` takes (an optional `+` and
/// decimal digits, within range), read without going through `str`.
fn decimal(b: &[u8]) -> Option<u64> {
    let digits = b.strip_prefix(b"+").unwrap_or(b);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &c| {
        if c.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        } else {
            None
        }
    })
}

/// The fields of one record that the Chrome sink reads, borrowed from a captured chunk (no
/// [`Record`] with owned strings is built on the writer thread) or from a [`Record`].
#[derive(Clone, Copy, Default)]
pub(crate) struct View<'a> {
    pub(crate) kind: Kind,
    pub(crate) t_ns: u64,
    pub(crate) proc: u64,
    pub(crate) pid: u32,
    pub(crate) name: &'a [u8],
    pub(crate) pers: &'a [u8],
    pub(crate) peer_pid: Option<u32>,
    pub(crate) peer_name: Option<&'a [u8]>,
    pub(crate) len: Option<u64>,
    pub(crate) msg: Option<u64>,
    pub(crate) offset: Option<u64>,
    pub(crate) msgs: Msgs<'a>,
    pub(crate) code: Option<u64>,
    pub(crate) cmd: Option<u64>,
    pub(crate) what: Option<&'a [u8]>,
    pub(crate) dir: Option<&'a [u8]>,
}

impl<'a> View<'a> {
    /// Take one field of the record, if the view reads it (inlined into the loop over a
    /// record's fields).
    #[inline(always)]
    pub(crate) fn take(&mut self, f: Field, x: Value<'a>) {
        match x {
            Value::U64(x) => self.set_u64(f, x),
            Value::I64(x) if x >= 0 => self.set_u64(f, x as u64),
            Value::Text(t) => match f {
                Field::kind => self.kind = Kind::parse_bytes(t).unwrap_or(Kind::Other),
                Field::pers => self.pers = t,
                Field::name => self.name = t,
                Field::peer_name => self.peer_name = Some(t),
                Field::what => self.what = Some(t),
                Field::dir => self.dir = Some(t),
                Field::msgs => self.msgs = Msgs::Text(t),
                _ => {}
            },
            Value::I64(_) | Value::Bool(_) | Value::Bytes(_) => {}
        }
    }

    #[inline(always)]
    fn set_u64(&mut self, f: Field, v: u64) {
        match f {
            Field::t_ns => self.t_ns = v,
            Field::proc => self.proc = v,
            Field::pid => self.pid = v as u32,
            Field::peer_pid => self.peer_pid = Some(v as u32),
            Field::len => self.len = Some(v),
            Field::msg => self.msg = Some(v),
            Field::offset => self.offset = Some(v),
            Field::code => self.code = Some(v),
            Field::cmd => self.cmd = Some(v),
            _ => {}
        }
    }

    /// The view of a whole record.
    pub(crate) fn of(r: &'a Record) -> Self {
        View {
            kind: r.kind,
            t_ns: r.t_ns,
            proc: r.proc,
            pid: r.pid,
            name: r.name.as_bytes(),
            pers: r.pers.as_bytes(),
            peer_pid: r.peer_pid,
            peer_name: r.peer_name.as_deref().map(str::as_bytes),
            len: r.len,
            msg: r.msg,
            offset: r.offset,
            msgs: r.msgs.as_deref().map_or(Msgs::None, Msgs::List),
            code: r.code,
            cmd: r.cmd,
            what: r.what.as_deref().map(str::as_bytes),
            dir: r.dir.as_deref().map(str::as_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_escape_agrees_with_the_byte_table() {
        // Every length up to 40, with each byte value at each position of a plain string.
        for n in 1..=40usize {
            for at in 0..n {
                for c in 0..=255u8 {
                    let mut b = vec![b'a'; n];
                    b[at] = c;
                    assert_eq!(
                        needs_escape(&b),
                        b.iter().any(|&x| ESCAPED[x as usize]),
                        "byte {c:#x} at {at} of {n}"
                    );
                }
            }
            assert!(!needs_escape(&vec![0x7fu8; n]) && !needs_escape(&vec![0xffu8; n]));
        }
        assert!(!needs_escape(b""));
    }

    #[test]
    fn trimmed_objects_keep_the_other_members_as_they_are() {
        let t = |s: &str| {
            let mut o = b"x".to_vec();
            trim_object(s.as_bytes(), &mut o);
            String::from_utf8(o[1..].to_vec()).unwrap()
        };
        assert_eq!(
            t(
                r#"{"kind":"send","t_ns":5,"step":2,"pers":"kolibri","proc":0,"pid":3,"name":"a\"b","msgs":[1,2],"x":{"y":"}"}}"#
            ),
            r#"{"step":2,"pers":"kolibri","msgs":[1,2],"x":{"y":"}"}}"#
        );
        assert_eq!(
            t(r#" { "kind" : "wait" , "what" : "event" } "#),
            r#"{"what":"event"}"#
        );
        assert_eq!(t("{}"), "{}");
        // Not an object this can split: as it is.
        for bad in ["[1]", "{\"a\"", "{\"a\":\"b", "{\"a\":1,", "", "{1:2}"] {
            assert_eq!(t(bad), bad);
        }
    }

    #[test]
    fn push_hex_is_lower_case_hex_of_every_length() {
        // Every byte value, at every position of a four-byte group.
        let src: Vec<u8> = (0..=255u8).rev().chain([1, 2, 3]).collect();
        for n in 0..=256 {
            let mut out = b"x".to_vec();
            push_hex(&mut out, &src[..n]);
            let want: String = src[..n].iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(out[1..], *want.as_bytes());
        }
        for skip in 0..4 {
            let mut out = Vec::new();
            push_hex(&mut out, &src[skip..]);
            let want: String = src[skip..].iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(out, want.as_bytes(), "from {skip}");
        }
    }

    /// The JSONL writer's cached actors give the text of the plain path for every record:
    /// the same actor again, a new name for the same `(proc, pid)` (a program that was
    /// started in a slot), another personality, a name that needs escaping, a process past
    /// the cache, kinds that share a cache slot, and a record without the kernel's header.
    #[test]
    fn cached_actors_write_what_the_plain_path_writes() {
        use ipcemu_kernel::trace::FieldValue as V;
        let mut p = Packer::default();
        let mut rec = |kind: &str, pers: &str, proc: u64, pid: u64, name: &str, extra: bool| {
            p.begin_with(&ipcemu_kernel::trace::packed::Header {
                kind: kind.as_bytes(),
                t_ns: 1000 + pid,
                step: 7,
                pers: pers.as_bytes(),
                proc,
                pid,
                name: name.as_bytes(),
            });
            if extra {
                p.put(Field::peer_pid, V::U64(4));
                p.put(Field::payload, V::Bytes(b"ab\x00"));
            }
            p.end();
        };
        rec("send", "kolibri", 0, 3, "srv", true);
        rec("wait", "kolibri", 0, 3, "srv", false);
        rec("send", "kolibri", 0, 3, "srv2", true);
        rec("send", "kolibri", 0, 3, "srv2", true);
        rec("send", "pcipc", 0, 3, "srv2", true);
        rec("wait", "kolibri", 1, 4, "c\"li\n", false);
        rec("wait", "kolibri", 1, 4, "c\"li\n", false);
        rec("wait", "kolibri", 1 << 20, 9, "far", false);
        // Kinds that share a slot of the kinds cache ("wait" and "wbit"), one that needs
        // escaping and one longer than 16 bytes.
        rec("wait", "kolibri", 1, 4, "cli", false);
        rec("wbit", "kolibri", 1, 4, "cli", false);
        rec("wait", "kolibri", 1, 4, "cli", false);
        rec("a\"b", "kolibri", 1, 4, "cli", false);
        rec(
            "a very long kind name indeed",
            "kolibri",
            1,
            4,
            "cli",
            false,
        );
        p.begin();
        p.put(Field::t_ns, V::U64(5));
        p.put(Field::kind, V::Str("odd"));
        p.end();
        p.raw(b"{\"kind\":\"raw\"}");
        let chunk = Chunk {
            packed: std::mem::take(p.buf_mut()),
            filter: Default::default(),
        };
        let mut plain = Vec::new();
        for r in chunk.records() {
            json_object(&r, &mut plain);
            plain.push(b'\n');
        }
        let mut cached = Vec::new();
        let mut actors = Actors::default();
        chunk.write_json(&mut cached, &mut actors);
        assert_eq!(
            String::from_utf8_lossy(&cached),
            String::from_utf8_lossy(&plain)
        );
        let text = String::from_utf8_lossy(&cached);
        assert_eq!(text.lines().count(), 15);
        assert!(text.contains(r#"{"kind":"wbit","t_ns":1004,"#), "{text}");
        assert!(text.contains(r#"{"kind":"a\"b","t_ns":1004,"#), "{text}");
        assert!(text.contains(r#""name":"srv2""#) && text.contains(r#""pers":"pcipc""#));
        assert!(text.contains(r#""name":"c\"li\n""#), "{text}");
    }

    #[test]
    fn same_agrees_with_slice_equality() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..base.len() {
            let a = &base[..n];
            assert!(same(a, a));
            for i in 0..n {
                let mut b = a.to_vec();
                b[i] ^= 1;
                assert!(!same(a, &b), "{n} {i}");
            }
            assert!(!same(a, &base[..n + 1]));
        }
    }

    #[test]
    fn a_captured_message_list_reads_as_its_numbers() {
        for (text, want) in [
            ("7", &[7u64][..]),
            ("1,2,3", &[1, 2, 3]),
            ("1,x,3", &[1, 3]),
            ("", &[]),
            ("+4", &[4]),
            ("18446744073709551616,5", &[5]),
        ] {
            let mut got = Vec::new();
            Msgs::Text(text.as_bytes())
                .each(|m| {
                    got.push(m);
                    Ok(())
                })
                .unwrap();
            assert_eq!(got, want, "{text:?}");
        }
    }

    #[test]
    fn decimal_reads_what_parse_reads() {
        for t in [
            "0",
            "7",
            "+5",
            "12345",
            "18446744073709551615",
            "18446744073709551616",
            "",
            "+",
            "-1",
            "1a",
            " 1",
            "++1",
            "٣",
        ] {
            assert_eq!(decimal(t.as_bytes()), t.parse::<u64>().ok(), "{t:?}");
        }
    }

    #[test]
    fn push_u64_is_decimal() {
        let edges = [
            u64::MAX,
            1 << 32,
            99,
            100,
            9,
            10,
            99_999_999,
            100_000_000,
            12_345_678,
        ];
        // Every length's edges, and a sweep of the eight-digit range.
        let tens = (1..20).flat_map(|e| {
            let p = 10u64.pow(e);
            [p - 1, p, p + 1]
        });
        let mut r: u64 = 0x2545_f491_4f6c_dd1d;
        let sweep = std::iter::repeat_with(move || {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            r % 100_000_000
        })
        .take(200_000);
        for x in (0..100_000)
            .step_by(7)
            .chain(0..1000)
            .chain(edges)
            .chain(tens)
            .chain(sweep)
        {
            let mut out = b"x".to_vec();
            push_u64(&mut out, x);
            assert_eq!(out, format!("x{x}").into_bytes());
        }
    }

    #[test]
    fn push_short_appends_every_length() {
        let src: Vec<u8> = (1..=40).collect();
        for n in 0..=40 {
            for pre in [0usize, 3] {
                let mut out = vec![0xaa; pre];
                push_short(&mut out, &src[..n]);
                assert_eq!(out.len(), pre + n, "length {n}");
                assert_eq!(&out[pre..], &src[..n], "length {n}");
            }
        }
    }
}
