//! Trace records: every IPC-relevant state change, emitted as a `tracing` event with target
//! [`TARGET`] and structured fields, so any `tracing` subscriber can consume them (crate
//! `ipcemu-trace` turns them into text, JSON Lines and Chrome/Perfetto files).
//!
//! Common fields: `kind`, `t_ns` (guest clock), `step` (system calls so far in the world),
//! `pers` (personality), `pid`, `name`; then kind-specific fields (`peer_pid`, `peer_name`,
//! `len`, `result`, `msg`, `payload`, ...). See `docs/trace-format.md`.
//! Whether anyone listens is decided once when the kernel is created, so a world without a
//! trace subscriber pays one predictable branch per emission point.

use crate::{GuestMemory, Kernel, Message, MsgKind, ThreadId, Verdict};

pub mod packed;
pub use packed::{Field, Packer};

/// The `tracing` target of trace records.
pub const TARGET: &str = "ipcemu::trace";

/// Is a trace subscriber listening?
pub fn listening() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::INFO)
}

/// Lower-case hex of at most `max` bytes.
pub fn hex(data: &[u8], max: usize) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(data.len().min(max) * 2);
    for &b in data.iter().take(max) {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

/// Payload bytes kept in a record.
pub const PAYLOAD_MAX: usize = 256;

/// The lower-case hex of at most [`PAYLOAD_MAX`] bytes, on the stack (a record's payload field
/// without a heap allocation per message).
pub struct PayloadHex {
    buf: [u8; 2 * PAYLOAD_MAX],
    len: usize,
}

impl PayloadHex {
    /// Hex of the first [`PAYLOAD_MAX`] bytes of `data`.
    pub fn new(data: &[u8]) -> Self {
        const D: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 2 * PAYLOAD_MAX];
        let n = data.len().min(PAYLOAD_MAX);
        for (i, &b) in data[..n].iter().enumerate() {
            buf[2 * i] = D[(b >> 4) as usize];
            buf[2 * i + 1] = D[(b & 15) as usize];
        }
        PayloadHex { buf, len: 2 * n }
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits were written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// One field value of a trace record, as a [`TraceTap`] receives it. Unsigned integers are
/// `U64` and signed ones `I64`, as `tracing` records them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// An unsigned integer.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A flag.
    Bool(bool),
    /// Text.
    Str(&'a str),
    /// A message payload: at most [`PAYLOAD_MAX`] raw bytes, which sinks write as lower-case
    /// hex (the record's `payload` text). Hex is made off the emulation thread.
    Bytes(&'a [u8]),
}

/// A message payload as a record field: a [`TraceTap`] gets the first [`PAYLOAD_MAX`] bytes
/// raw ([`FieldValue::Bytes`]), a `tracing` subscriber their lower-case hex text.
#[derive(Clone, Copy)]
pub struct Payload<'a>(pub &'a [u8]);

impl<'a> From<Payload<'a>> for FieldValue<'a> {
    fn from(p: Payload<'a>) -> Self {
        FieldValue::Bytes(&p.0[..p.0.len().min(PAYLOAD_MAX)])
    }
}

impl std::fmt::Display for Payload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(PayloadHex::new(self.0).as_str())
    }
}

/// How a record field's value is handed to `tracing` (`trace_rec!`): numbers, flags and text
/// as they are, a [`Payload`] as its hex text.
pub trait AsTracing {
    /// The value `tracing` records.
    type V: tracing::Value;
    /// This value for `tracing`.
    fn as_tracing(&self) -> Self::V;
}

macro_rules! as_tracing_copy {
    ($($t:ty),*) => {
        $(impl AsTracing for $t {
            type V = $t;
            fn as_tracing(&self) -> $t {
                *self
            }
        })*
    };
}
as_tracing_copy!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, bool);

impl<'a> AsTracing for &'a str {
    type V = &'a str;
    fn as_tracing(&self) -> &'a str {
        self
    }
}

impl<'a> AsTracing for &'a String {
    type V = &'a str;
    fn as_tracing(&self) -> &'a str {
        self.as_str()
    }
}

impl<'a> AsTracing for Payload<'a> {
    type V = tracing::field::DisplayValue<Payload<'a>>;
    fn as_tracing(&self) -> Self::V {
        tracing::field::display(*self)
    }
}

impl<T: AsTracing> AsTracing for Option<T> {
    type V = Option<T::V>;
    fn as_tracing(&self) -> Option<T::V> {
        self.as_ref().map(AsTracing::as_tracing)
    }
}

/// A record field's value as `trace_rec!` packs it for the [`TraceTap`]: anything a
/// [`FieldValue`] is made from, and `Option`s of those (`None`: the field is left out, as
/// `tracing` leaves out a `None`).
pub trait Pack {
    /// Add this value as field `f` of the record `p` is making.
    fn pack(self, p: &mut Packer, f: Field);
}

macro_rules! pack_as_field {
    ($($t:ty),*) => {
        $(impl Pack for $t {
            #[inline(always)]
            fn pack(self, p: &mut Packer, f: Field) {
                p.put(f, FieldValue::from(self));
            }
        })*
    };
}
pack_as_field!(
    u8,
    u16,
    u32,
    u64,
    usize,
    i8,
    i16,
    i32,
    i64,
    isize,
    bool,
    &str,
    &String,
    Payload<'_>
);

impl<T: Pack> Pack for Option<T> {
    #[inline(always)]
    fn pack(self, p: &mut Packer, f: Field) {
        if let Some(v) = self {
            v.pack(p, f);
        }
    }
}

macro_rules! field_from {
    ($($t:ty => $v:ident as $c:ty),*) => {
        $(impl From<$t> for FieldValue<'_> {
            fn from(x: $t) -> Self {
                FieldValue::$v(x as $c)
            }
        })*
    };
}
field_from!(u8 => U64 as u64, u16 => U64 as u64, u32 => U64 as u64, u64 => U64 as u64,
    usize => U64 as u64, i8 => I64 as i64, i16 => I64 as i64, i32 => I64 as i64,
    i64 => I64 as i64, isize => I64 as i64);

impl From<bool> for FieldValue<'_> {
    fn from(x: bool) -> Self {
        FieldValue::Bool(x)
    }
}

impl<'a> From<&'a str> for FieldValue<'a> {
    fn from(x: &'a str) -> Self {
        FieldValue::Str(x)
    }
}

impl<'a> From<&'a String> for FieldValue<'a> {
    fn from(x: &'a String) -> Self {
        FieldValue::Str(x.as_str())
    }
}

/// A direct receiver of trace records, beside `tracing`: the same records with the same
/// fields in the same order, packed ([`packed`]) into a buffer on the emulation thread and
/// handed over a buffer at a time, without `tracing`'s dispatch (which costs more than the
/// rest of a message's path). `ipcemu run --trace` uses it; any `tracing` subscriber still
/// gets the records too when it listens to [`TARGET`].
pub trait TraceTap: Send + Sync {
    /// Take whole packed records (decode them with [`packed::records`]). The tap may keep the
    /// buffer by swapping another one in; whatever `buf` holds afterwards is discarded.
    fn take(&self, buf: &mut Vec<u8>);
}

impl<M> Kernel<M> {
    /// Send trace records to `tap` too (and turn tracing on).
    pub fn set_trace_tap(&mut self, tap: std::sync::Arc<dyn TraceTap>) {
        self.flush_trace();
        self.trace_tap = Some(tap);
        self.trace_on = true;
    }

    /// Hand the packed records made so far to the tap (the kernel does this when its buffer
    /// holds [`Packer::FLUSH_AT`] bytes, and when it is dropped).
    pub fn flush_trace(&self) {
        let Some(tap) = self.trace_tap.as_ref() else {
            return;
        };
        if let Ok(mut p) = self.trace_buf.try_borrow_mut() {
            if !p.is_empty() {
                let buf = p.buf_mut();
                tap.take(buf);
                buf.clear();
            }
        }
    }
}

/// Emit one record with the common fields of thread `$t` plus extra fields: to the kernel's
/// [`TraceTap`], if set, and as a `tracing` event when a subscriber listens.
/// An extra field given an `Option` is left out when it is `None` ([`Pack`]).
#[macro_export]
#[doc(hidden)]
macro_rules! trace_rec {
    ($k:expr, $t:expr, $kind:expr, $pers:expr $(, $name:ident = $val:expr)* $(,)?) => {{
        let th = &$k.threads[$t];
        if $k.trace_tap.is_some() {
            use $crate::trace::Field;
            let full = match $k.trace_buf.try_borrow_mut() {
                Ok(mut p) => {
                    p.begin_with(&$crate::trace::packed::Header {
                        kind: AsRef::<str>::as_ref(&$kind).as_bytes(),
                        t_ns: $k.now_ns(),
                        step: $k.steps,
                        pers: AsRef::<str>::as_ref(&$pers).as_bytes(),
                        proc: th.proc.0 as u64,
                        pid: u64::from(th.pid),
                        name: $k.procs[th.proc].name.as_bytes(),
                    });
                    $($crate::trace::Pack::pack($val, &mut p, Field::$name);)*
                    p.end();
                    p.len() >= $crate::trace::Packer::FLUSH_AT
                }
                Err(_) => false,
            };
            if full {
                $k.flush_trace();
            }
        }
        if $k.trace_tracing {
            tracing::event!(
                target: "ipcemu::trace",
                tracing::Level::INFO,
                kind = $kind,
                t_ns = $k.now_ns(),
                step = $k.steps,
                pers = $pers,
                proc = th.proc.0,
                pid = th.pid,
                name = $k.procs[th.proc].name.as_str(),
                $($name = $crate::trace::AsTracing::as_tracing(&$val),)*
            );
        }
    }};
}

impl<M: GuestMemory> Kernel<M> {
    /// Personality name of thread `t`'s process.
    pub fn pers_of(&self, t: ThreadId) -> &'static str {
        self.procs[self.threads[t].proc].abi
    }

    /// Record a fault or another host-side note about thread `t` (used by the machine).
    pub fn trace_note(&self, t: ThreadId, kind: &str, detail: &str) {
        if self.trace_on {
            trace_rec!(self, t, kind, self.pers_of(t), detail = detail);
        }
    }

    /// Record a message send attempt that never reached the message path (the personality
    /// refused it first: no area, locked, ...): `result` is the personality's code.
    pub fn trace_failed_send(
        &self,
        from: ThreadId,
        pers: &str,
        peer_pid: u32,
        len: u32,
        result: i64,
        payload: &[u8],
    ) {
        if !self.trace_on {
            return;
        }
        let peer = self
            .thread_by_pid(peer_pid)
            .map_or("", |rt| self.procs[self.threads[rt].proc].name.as_str());
        let pers = if self.pers_of(from) == "host" {
            "host"
        } else {
            pers
        };
        trace_rec!(
            self,
            from,
            "send",
            pers,
            peer_pid = peer_pid,
            peer_name = peer,
            len = len,
            result = result,
            msg = 0u64,
            payload = Payload(payload)
        );
    }

    /// The `send` record of a message that a personality queued and the path allowed
    /// (`trace_message` leaves queued messages to their personality; this is the common form).
    pub fn trace_queued(&self, msg: &Message) {
        let Some(from) = msg.from.thread else { return };
        if !self.trace_on {
            return;
        }
        let peer = msg.to.proc.map_or("", |p| self.procs[p].name.as_str());
        self.trace_send(from, msg.personality, peer, msg);
    }

    fn trace_send(&self, from: ThreadId, pers: &str, peer: &str, msg: &Message) {
        let payload = Payload(&msg.data);
        match (msg.channel.as_deref(), msg.method) {
            // `offset` only where sending delivered (KolibriOS).
            (None, None) if msg.reply_to.is_none() => trace_rec!(
                self,
                from,
                "send",
                pers,
                peer_pid = msg.to.pid,
                peer_name = peer,
                len = msg.data.len() as u64,
                result = 0i64,
                msg = msg.seq,
                payload = payload,
                offset = msg.area_offset
            ),
            (chan, method) => {
                let (riid, mid) = method.unwrap_or((0, 0));
                trace_rec!(
                    self,
                    from,
                    "send",
                    pers,
                    peer_pid = msg.to.pid,
                    peer_name = peer,
                    len = msg.data.len() as u64,
                    result = 0i64,
                    msg = msg.seq,
                    payload = payload,
                    dir = msg.kind.as_str(),
                    channel = chan.unwrap_or(""),
                    riid = riid,
                    mid = mid,
                    reply_to = msg.reply_to.unwrap_or(0)
                )
            }
        }
    }

    /// The message path's record of one message (queued messages are recorded by the
    /// personality command that queued them).
    pub(crate) fn trace_message(&self, msg: &Message, verdict: &Verdict, by: &str) {
        let Some(from) = msg.from.thread else { return };
        let peer = msg.to.proc.map_or("", |p| self.procs[p].name.as_str());
        let pers = if self.pers_of(from) == "host" {
            "host"
        } else {
            msg.personality
        };
        match verdict {
            Verdict::Allow if msg.kind == MsgKind::Queued => {}
            Verdict::Allow => self.trace_send(from, pers, peer, msg),
            Verdict::Delay(ns) => {
                let detail = format!("held {ns} ns");
                trace_rec!(
                    self,
                    from,
                    "delay",
                    pers,
                    peer_pid = msg.to.pid,
                    peer_name = peer,
                    len = msg.data.len() as u64,
                    msg = msg.seq,
                    dir = msg.kind.as_str(),
                    hook = by,
                    detail = detail.as_str()
                );
            }
            Verdict::Deny(reason) | Verdict::Drop(reason) => {
                let kind = if matches!(verdict, Verdict::Deny(_)) {
                    "deny"
                } else {
                    "drop"
                };
                let (riid, mid) = msg.method.unwrap_or((0, 0));
                trace_rec!(
                    self,
                    from,
                    kind,
                    pers,
                    peer_pid = msg.to.pid,
                    peer_name = peer,
                    len = msg.data.len() as u64,
                    msg = msg.seq,
                    dir = msg.kind.as_str(),
                    channel = msg.channel.as_deref().unwrap_or(""),
                    riid = riid,
                    mid = mid,
                    hook = by,
                    detail = reason.as_str()
                );
            }
        }
    }
}

impl<M> Drop for Kernel<M> {
    fn drop(&mut self) {
        // The last records made still reach the tap.
        self.flush_trace();
    }
}
