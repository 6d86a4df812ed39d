//! One trace record, as the kernel emits it and as JSONL stores it.

use serde::{Deserialize, Serialize};
use tracing::field::{Field, Visit};

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
                match s { $($s => Some(Kind::$v),)* _ => None }
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
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.set_u64(f.name(), v);
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.set_i64(f.name(), v);
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.set_bool(f.name(), v);
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.set_str(f.name(), v);
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
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

/// Append the lower-case hex of `b`.
pub(crate) fn push_hex(out: &mut Vec<u8>, b: &[u8]) {
    const D: &[u8; 16] = b"0123456789abcdef";
    out.reserve(2 * b.len());
    for &c in b {
        out.extend_from_slice(&[D[(c >> 4) as usize], D[(c & 15) as usize]]);
    }
}

/// Append `s` as a JSON string (quoted, escaped).
pub(crate) fn json_str(out: &mut Vec<u8>, b: &[u8]) {
    if b.iter().all(|&c| c >= 0x20 && c != b'"' && c != b'\\') {
        out.reserve(b.len() + 2);
        out.push(b'"');
        push_short(out, b);
        out.push(b'"');
        return;
    }
    out.push(b'"');
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
    out.push(b'"');
}

/// Writes a record's fields straight into a JSON object, in the order the kernel emits them
/// (`kind`, `t_ns`, `step`, `pers`, `proc`, `pid`, `name`, then the kind's own fields).
pub(crate) struct JsonVisitor<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> JsonVisitor<'a> {
    /// Opens the object (`{`); the caller closes it.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        JsonVisitor { out, first: true }
    }

    #[inline]
    fn key(&mut self, k: &str) {
        // Fixed-size pieces are copied inline; only the name itself is a memcpy call.
        if self.first {
            self.first = false;
            self.out.push(b'"');
        } else {
            self.out.extend_from_slice(b",\"");
        }
        push_short(self.out, k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    #[inline]
    pub(crate) fn put_u64(&mut self, name: &str, v: u64) {
        self.key(name);
        push_short(self.out, itoa::Buffer::new().format(v).as_bytes());
    }
    #[inline]
    pub(crate) fn put_i64(&mut self, name: &str, v: i64) {
        self.key(name);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
    #[inline]
    pub(crate) fn put_bool(&mut self, name: &str, v: bool) {
        self.key(name);
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
    }
    /// Raw bytes as a lower-case hex string.
    #[inline]
    pub(crate) fn put_hex(&mut self, name: &str, v: &[u8]) {
        self.key(name);
        self.out.push(b'"');
        push_hex(self.out, v);
        self.out.push(b'"');
    }
    /// A text value given as its UTF-8 bytes (`msgs` is a list of numbers already).
    #[inline]
    pub(crate) fn put_bytes(&mut self, name: &str, v: &[u8]) {
        self.key(name);
        if name == "msgs" {
            self.out.push(b'[');
            self.out.extend_from_slice(v);
            self.out.push(b']');
        } else {
            json_str(self.out, v);
        }
    }
}

/// One field of an event, captured on the emulation thread for the JSONL writer thread: the
/// field name is the call site's `&'static str`; a string value lives in the chunk's arena.
#[derive(Clone, Copy)]
pub(crate) enum Val {
    U64(&'static str, u64),
    I64(&'static str, i64),
    Bool(&'static str, bool),
    Str(&'static str, u32, u32),
    /// Raw payload bytes in the arena, written as a lower-case hex string.
    Hex(&'static str, u32, u32),
    /// A whole JSON object, already formatted (arena offset and length).
    Raw(u32, u32),
    /// The end of a record.
    End,
}

/// Records captured as [`Val`]s, handed to the writer thread as a whole.
#[derive(Default)]
pub(crate) struct Chunk {
    pub(crate) vals: Vec<Val>,
    pub(crate) arena: Vec<u8>,
}

impl Chunk {
    fn text(&self, a: u32, l: u32) -> &[u8] {
        &self.arena[a as usize..(a + l) as usize]
    }

    /// The records, each as its values up to and with its `End`.
    pub(crate) fn records(&self) -> impl Iterator<Item = &[Val]> {
        self.vals.split_inclusive(|v| matches!(v, Val::End))
    }

    /// Append the JSON line of one record.
    fn json_line(&self, vals: &[Val], out: &mut Vec<u8>) {
        if let [Val::Raw(a, l), ..] = vals {
            out.extend_from_slice(self.text(*a, *l));
            out.push(b'\n');
            return;
        }
        let mut v = JsonVisitor::new(out);
        for val in vals {
            match *val {
                Val::U64(n, x) => v.put_u64(n, x),
                Val::I64(n, x) => v.put_i64(n, x),
                Val::Bool(n, x) => v.put_bool(n, x),
                Val::Str(n, a, l) => v.put_bytes(n, self.text(a, l)),
                Val::Hex(n, a, l) => v.put_hex(n, self.text(a, l)),
                Val::Raw(..) | Val::End => {}
            }
        }
        out.extend_from_slice(b"}\n");
    }

    /// Append the JSON object of one record (its JSON line without the newline).
    pub(crate) fn json_object(&self, vals: &[Val], out: &mut Vec<u8>) {
        self.json_line(vals, out);
        out.pop();
    }

    /// One record rebuilt as a [`Record`] (owned strings; a [`Val::Raw`] record is parsed).
    pub(crate) fn record(&self, vals: &[Val]) -> Record {
        let mut r = Record::default();
        for val in vals {
            match *val {
                Val::U64(n, x) => r.set_u64(n, x),
                Val::I64(n, x) => r.set_i64(n, x),
                Val::Bool(n, x) => r.set_bool(n, x),
                Val::Str(n, a, l) => {
                    r.set_str(n, std::str::from_utf8(self.text(a, l)).unwrap_or(""))
                }
                Val::Hex(n, a, l) => {
                    r.set(n, ipcemu_kernel::trace::FieldValue::Bytes(self.text(a, l)))
                }
                Val::Raw(a, l) => r = serde_json::from_slice(self.text(a, l)).unwrap_or_default(),
                Val::End => {}
            }
        }
        r
    }

    /// One record as a [`View`] borrowing from the chunk, or `None` for a [`Val::Raw`] record
    /// (a whole JSON line, which only [`Chunk::record`] reads).
    pub(crate) fn view<'a>(&'a self, vals: &[Val]) -> Option<View<'a>> {
        let mut v = View::default();
        for val in vals {
            match *val {
                Val::U64(n, x) => v.set_u64(n, x),
                Val::I64(n, x) if x >= 0 => v.set_u64(n, x as u64),
                Val::Str(n, a, l) => {
                    let t = self.text(a, l);
                    match n {
                        "kind" => {
                            v.kind = std::str::from_utf8(t)
                                .ok()
                                .and_then(Kind::parse)
                                .unwrap_or(Kind::Other)
                        }
                        "pers" => v.pers = t,
                        "name" => v.name = t,
                        "peer_name" => v.peer_name = Some(t),
                        "what" => v.what = Some(t),
                        "dir" => v.dir = Some(t),
                        "msgs" => v.msgs = Msgs::Text(t),
                        _ => {}
                    }
                }
                Val::Raw(..) => return None,
                Val::I64(..) | Val::Bool(..) | Val::Hex(..) | Val::End => {}
            }
        }
        Some(v)
    }

    /// Format every record as a JSON line into `out`.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        for r in self.records() {
            self.json_line(r, out);
        }
    }

    /// Hand every record to `f` as a [`Record`] and its JSON object (as [`Chunk::write_json`]
    /// writes it, without the newline); a [`Val::Raw`] record is parsed back.
    pub(crate) fn each_record(
        &self,
        mut f: impl FnMut(&Record, &[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut json = Vec::with_capacity(512);
        for vals in self.records() {
            let r = self.record(vals);
            json.clear();
            self.json_object(vals, &mut json);
            f(&r, &json)?;
        }
        Ok(())
    }
}

/// Captures an event's fields into a [`Chunk`] (and evaluates a filter on the way).
pub(crate) struct CaptureVisitor<'a> {
    pub(crate) chunk: &'a mut Chunk,
    filter: &'a crate::Filter,
    filtering: bool,
    m: crate::filter::Match,
}

impl<'a> CaptureVisitor<'a> {
    pub(crate) fn new(chunk: &'a mut Chunk, filter: &'a crate::Filter) -> Self {
        CaptureVisitor {
            chunk,
            filter,
            filtering: !filter.is_empty(),
            m: crate::filter::Match::default(),
        }
    }
    /// End the record; returns whether the filter keeps it.
    pub(crate) fn finish(self) -> bool {
        self.chunk.vals.push(Val::End);
        !self.filtering || self.m.passes(self.filter)
    }
    /// Capture one field given directly (the [`ipcemu_kernel::trace::TraceTap`] path).
    #[inline]
    pub(crate) fn field(&mut self, name: &'static str, v: ipcemu_kernel::trace::FieldValue<'_>) {
        use ipcemu_kernel::trace::FieldValue as F;
        match v {
            F::U64(x) => self.u64(name, x),
            F::I64(x) => self.chunk.vals.push(Val::I64(name, x)),
            F::Bool(x) => self.chunk.vals.push(Val::Bool(name, x)),
            F::Str(x) => self.string(name, x),
            F::Bytes(x) => {
                let a = self.chunk.arena.len() as u32;
                self.chunk.arena.extend_from_slice(x);
                self.chunk.vals.push(Val::Hex(name, a, x.len() as u32));
            }
        }
    }
    #[inline]
    fn u64(&mut self, name: &'static str, v: u64) {
        self.chunk.vals.push(Val::U64(name, v));
        if self.filtering && matches!(name, "pid" | "peer_pid") {
            self.m.pid(self.filter, v as u32);
        }
    }
    #[inline]
    fn string(&mut self, name: &'static str, v: &str) {
        let a = self.chunk.arena.len() as u32;
        self.chunk.arena.extend_from_slice(v.as_bytes());
        self.chunk.vals.push(Val::Str(name, a, v.len() as u32));
        if self.filtering {
            match name {
                "kind" => self.m.kind(self.filter, v),
                "pers" => self.m.pers(self.filter, v),
                "name" | "peer_name" => self.m.name(self.filter, v),
                _ => {}
            }
        }
    }
}

impl Visit for CaptureVisitor<'_> {
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.u64(f.name(), v);
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.chunk.vals.push(Val::I64(f.name(), v));
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.chunk.vals.push(Val::Bool(f.name(), v));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.string(f.name(), v);
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        if f.name() != "message" {
            self.string(f.name(), &format!("{v:?}"));
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
            Msgs::Text(t) => t
                .split(|&c| c == b',')
                .filter_map(|x| std::str::from_utf8(x).ok()?.parse().ok())
                .try_for_each(f),
            Msgs::List(l) => l.iter().try_for_each(|&m| f(m)),
        }
    }
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
    pub(crate) msgs: Msgs<'a>,
    pub(crate) code: Option<u64>,
    pub(crate) cmd: Option<u64>,
    pub(crate) what: Option<&'a [u8]>,
    pub(crate) dir: Option<&'a [u8]>,
}

impl<'a> View<'a> {
    fn set_u64(&mut self, name: &str, v: u64) {
        match name {
            "t_ns" => self.t_ns = v,
            "proc" => self.proc = v,
            "pid" => self.pid = v as u32,
            "peer_pid" => self.peer_pid = Some(v as u32),
            "len" => self.len = Some(v),
            "msg" => self.msg = Some(v),
            "code" => self.code = Some(v),
            "cmd" => self.cmd = Some(v),
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
