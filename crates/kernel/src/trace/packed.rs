//! Packed trace records: how the kernel hands records to a [`super::TraceTap`].
//!
//! The emulation thread appends each record's fields to a byte buffer as it makes them (a
//! field id, a type byte and the value; strings and payloads inline), with no per-record
//! allocation, lock or dynamic call, and hands the whole buffer over when it holds about
//! [`Packer::FLUSH_AT`] bytes. Whoever takes it (the trace crate's writer thread) decodes it
//! with [`records`] and formats JSON Lines, Chrome events or text from the fields.
//!
//! Layout, little-endian: a record is its length (`u32`, the bytes that follow) and then its
//! fields in emission order; a field is `id: u8` ([`Field`]), `type: u8`, then a `u64`/`i64`
//! (8 bytes), a flag (1 byte), or a text/payload length (`u32`) and that many bytes. A raw
//! record (a whole JSON object, from `trace convert`) is one field of type raw.

use super::FieldValue;

macro_rules! fields {
    ($($(#[$doc:meta])* $f:ident,)*) => {
        /// The name of a trace record field: every name `trace_rec!` may use (schema v1, see
        /// `docs/trace-format.md`). A name outside this list does not compile.
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Field {
            $($(#[$doc])* $f,)*
        }
        impl Field {
            /// Every field, in id order.
            pub const ALL: &'static [Field] = &[$(Field::$f,)*];
            /// Its name in traces (`peer_pid`).
            pub const fn name(self) -> &'static str {
                match self { $(Field::$f => stringify!($f),)* }
            }
            /// The field with this name.
            pub fn parse(s: &str) -> Option<Field> {
                match s { $(stringify!($f) => Some(Field::$f),)* _ => None }
            }
        }
    };
}

fields! {
    /// Record kind.
    kind,
    /// Guest clock.
    t_ns,
    /// System calls so far.
    step,
    /// Personality.
    pers,
    /// Process index.
    proc,
    /// PID/TID.
    pid,
    /// Process name.
    name,
    /// The other side's PID.
    peer_pid,
    /// The other side's name.
    peer_name,
    /// Message length.
    len,
    /// Result code.
    result,
    /// Message sequence number.
    msg,
    /// Messages consumed by an event read.
    msgs,
    /// Payload bytes.
    payload,
    /// Offset in an IPC area.
    offset,
    /// Event code.
    code,
    /// Event masked when raised.
    masked,
    /// What a wait waits for.
    what,
    /// Wait timeout.
    timeout_ns,
    /// IPC area address.
    addr,
    /// IPC area size.
    size,
    /// Task slot.
    slot,
    /// Thread entry point.
    entry,
    /// PC-IPC command.
    cmd,
    /// PC-IPC caller id.
    caller_id,
    /// PC-IPC to-id.
    to_id,
    /// PC-IPC status.
    status,
    /// PC-IPC error.
    error,
    /// Free text.
    detail,
    /// Message direction.
    dir,
    /// Channel.
    channel,
    /// KOS interface id.
    riid,
    /// KOS method id / window message.
    mid,
    /// Request of a response.
    reply_to,
    /// Deciding message hook.
    hook,
    /// Win32 operation.
    op,
    /// Win32 object.
    object,
    /// Win32 handle.
    handle,
}

const T_U64: u8 = 0;
const T_I64: u8 = 1;
const T_BOOL: u8 = 2;
const T_STR: u8 = 3;
const T_BYTES: u8 = 4;
const T_RAW: u8 = 5;

/// Appends packed records to a buffer (see the module documentation).
#[derive(Debug, Default)]
pub struct Packer {
    buf: Vec<u8>,
    start: usize,
}

impl Packer {
    /// Buffer size at which the kernel hands the buffer to its tap.
    pub const FLUSH_AT: usize = 1 << 16;

    /// Start a record.
    #[inline(always)]
    pub fn begin(&mut self) {
        self.start = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
    }

    /// Add one field to the record begun last.
    #[inline(always)]
    pub fn put(&mut self, f: Field, v: FieldValue<'_>) {
        match v {
            FieldValue::U64(x) => self.word(f, T_U64, x),
            FieldValue::I64(x) => self.word(f, T_I64, x as u64),
            FieldValue::Bool(x) => self.buf.extend_from_slice(&[f as u8, T_BOOL, x as u8]),
            FieldValue::Str(s) => self.bytes(f, T_STR, s.as_bytes()),
            FieldValue::Bytes(b) => self.bytes(f, T_BYTES, b),
        }
    }

    #[inline(always)]
    fn word(&mut self, f: Field, t: u8, x: u64) {
        let b = x.to_le_bytes();
        self.buf
            .extend_from_slice(&[f as u8, t, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    }

    #[inline(always)]
    fn bytes(&mut self, f: Field, t: u8, s: &[u8]) {
        let s = &s[..s.len().min(u32::MAX as usize)];
        let n = (s.len() as u32).to_le_bytes();
        self.buf
            .extend_from_slice(&[f as u8, t, n[0], n[1], n[2], n[3]]);
        self.buf.extend_from_slice(s);
    }

    /// End the record begun last.
    #[inline(always)]
    pub fn end(&mut self) {
        let n = (self.buf.len() - self.start - 4).min(u32::MAX as usize) as u32;
        if let Some(h) = self.buf.get_mut(self.start..self.start + 4) {
            h.copy_from_slice(&n.to_le_bytes());
        }
    }

    /// Add a whole record given as its JSON object (kept as it is).
    pub fn raw(&mut self, json: &[u8]) {
        self.begin();
        self.bytes(Field::kind, T_RAW, json);
        self.end();
    }

    /// Bytes packed so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Nothing packed?
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The buffer (whole records only, between records).
    pub fn buf_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

/// The records of a packed buffer.
pub fn records(buf: &[u8]) -> Records<'_> {
    Records { rest: buf }
}

/// Iterator over packed records ([`records`]); it stops at the first malformed one.
pub struct Records<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Records<'a> {
    type Item = PackedRecord<'a>;
    fn next(&mut self) -> Option<PackedRecord<'a>> {
        let (h, rest) = self.rest.split_first_chunk::<4>()?;
        let n = u32::from_le_bytes(*h) as usize;
        if rest.len() < n {
            self.rest = &[];
            return None;
        }
        let (r, rest) = rest.split_at(n);
        self.rest = rest;
        Some(PackedRecord { bytes: r })
    }
}

/// One packed record.
#[derive(Clone, Copy)]
pub struct PackedRecord<'a> {
    bytes: &'a [u8],
}

impl<'a> PackedRecord<'a> {
    /// A raw record's JSON object (`None` for a record of fields).
    pub fn raw(&self) -> Option<&'a [u8]> {
        match self.bytes {
            [_, T_RAW, n @ ..] if n.len() >= 4 => Some(&n[4..]),
            _ => None,
        }
    }

    /// Its fields in emission order (none for a raw record).
    pub fn fields(&self) -> Fields<'a> {
        Fields {
            rest: if self.raw().is_some() {
                &[]
            } else {
                self.bytes
            },
        }
    }
}

/// The fields `trace_rec!` packs first in every record, in this order ([`PackedRecord::header`]).
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    /// `kind`.
    pub kind: &'a [u8],
    /// `t_ns`.
    pub t_ns: u64,
    /// `step`.
    pub step: u64,
    /// `pers`.
    pub pers: &'a [u8],
    /// `proc`.
    pub proc: u64,
    /// `pid`.
    pub pid: u64,
    /// `name`.
    pub name: &'a [u8],
}

/// `(field, type)` of each header field, in packing order.
const HEADER: [(Field, u8); 7] = [
    (Field::kind, T_STR),
    (Field::t_ns, T_U64),
    (Field::step, T_U64),
    (Field::pers, T_STR),
    (Field::proc, T_U64),
    (Field::pid, T_U64),
    (Field::name, T_STR),
];

impl<'a> PackedRecord<'a> {
    /// The record's header and the fields after it, when it starts with the fields
    /// `trace_rec!` packs first (`None` otherwise: a raw record, or one packed another way).
    /// A reader that wants those few fields decodes them with fixed checks, not per field.
    #[inline]
    pub fn header(&self) -> Option<(Header<'a>, Fields<'a>)> {
        let mut rest = self.bytes;
        let mut words = [0u64; 7];
        let mut texts: [&'a [u8]; 7] = [&[]; 7];
        for (i, &(f, t)) in HEADER.iter().enumerate() {
            let (&[id, ty], r) = rest.split_first_chunk::<2>()?;
            if id != f as u8 || ty != t {
                return None;
            }
            if t == T_U64 {
                let (w, r) = r.split_first_chunk::<8>()?;
                words[i] = u64::from_le_bytes(*w);
                rest = r;
            } else {
                let (n, r) = r.split_first_chunk::<4>()?;
                let n = u32::from_le_bytes(*n) as usize;
                if r.len() < n {
                    return None;
                }
                let (text, r) = r.split_at(n);
                texts[i] = text;
                rest = r;
            }
        }
        Some((
            Header {
                kind: texts[0],
                t_ns: words[1],
                step: words[2],
                pers: texts[3],
                proc: words[4],
                pid: words[5],
                name: texts[6],
            },
            Fields { rest },
        ))
    }
}

/// A decoded field value: a [`FieldValue`] whose text is left as bytes (not checked for
/// UTF-8 again: it was packed from a `&str`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// An unsigned integer.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A flag.
    Bool(bool),
    /// Text, as the UTF-8 bytes of the `&str` it was packed from.
    Text(&'a [u8]),
    /// A payload's raw bytes.
    Bytes(&'a [u8]),
}

impl<'a> Value<'a> {
    /// As a [`FieldValue`] (text that is not UTF-8, from a damaged buffer, becomes empty).
    pub fn field_value(self) -> FieldValue<'a> {
        match self {
            Value::U64(x) => FieldValue::U64(x),
            Value::I64(x) => FieldValue::I64(x),
            Value::Bool(x) => FieldValue::Bool(x),
            Value::Text(t) => FieldValue::Str(std::str::from_utf8(t).unwrap_or("")),
            Value::Bytes(b) => FieldValue::Bytes(b),
        }
    }
}

/// Iterator over the fields of a packed record; it stops at the first malformed field.
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = (Field, Value<'a>);
    #[inline]
    fn next(&mut self) -> Option<(Field, Value<'a>)> {
        let (&[id, t], rest) = self.rest.split_first_chunk::<2>()?;
        let Some(&f) = Field::ALL.get(id as usize) else {
            self.rest = &[];
            return None;
        };
        let (v, rest) = match t {
            T_U64 | T_I64 => {
                let (w, rest) = rest.split_first_chunk::<8>()?;
                let x = u64::from_le_bytes(*w);
                let v = if t == T_U64 {
                    Value::U64(x)
                } else {
                    Value::I64(x as i64)
                };
                (v, rest)
            }
            T_BOOL => {
                let (b, rest) = rest.split_first()?;
                (Value::Bool(*b != 0), rest)
            }
            T_STR | T_BYTES => {
                let (n, rest) = rest.split_first_chunk::<4>()?;
                let n = u32::from_le_bytes(*n) as usize;
                if rest.len() < n {
                    self.rest = &[];
                    return None;
                }
                let (s, rest) = rest.split_at(n);
                let v = if t == T_BYTES {
                    Value::Bytes(s)
                } else {
                    Value::Text(s)
                };
                (v, rest)
            }
            _ => {
                self.rest = &[];
                return None;
            }
        };
        self.rest = rest;
        Some((f, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_with_every_value_type() {
        let mut p = Packer::default();
        p.begin();
        p.put(Field::kind, FieldValue::Str("send"));
        p.put(Field::t_ns, FieldValue::U64(u64::MAX));
        p.put(Field::result, FieldValue::I64(-1));
        p.put(Field::masked, FieldValue::Bool(true));
        p.put(Field::payload, FieldValue::Bytes(&[0, 0xff, 7]));
        p.put(Field::name, FieldValue::Str(""));
        p.end();
        p.raw(b"{\"kind\":\"wake\"}");
        p.begin();
        p.end();
        let rs: Vec<_> = records(p.buf_mut()).collect();
        assert_eq!(rs.len(), 3);
        let f: Vec<_> = rs[0].fields().map(|(f, v)| (f, v.field_value())).collect();
        assert_eq!(
            f,
            vec![
                (Field::kind, FieldValue::Str("send")),
                (Field::t_ns, FieldValue::U64(u64::MAX)),
                (Field::result, FieldValue::I64(-1)),
                (Field::masked, FieldValue::Bool(true)),
                (Field::payload, FieldValue::Bytes(&[0, 0xff, 7])),
                (Field::name, FieldValue::Str("")),
            ]
        );
        assert_eq!(rs[0].raw(), None);
        assert_eq!(rs[1].raw(), Some(&b"{\"kind\":\"wake\"}"[..]));
        assert_eq!(rs[1].fields().count(), 0);
        assert_eq!(rs[2].fields().count(), 0);
    }

    #[test]
    fn damaged_buffers_end_the_iteration_without_a_panic() {
        let mut p = Packer::default();
        p.begin();
        p.put(Field::peer_name, FieldValue::Str("abcdef"));
        p.put(Field::len, FieldValue::U64(9));
        p.end();
        let good = p.buf_mut().clone();
        for cut in 0..good.len() {
            let _ = records(&good[..cut])
                .map(|r| r.fields().count())
                .sum::<usize>();
        }
        for i in 0..good.len() {
            for x in [0u8, 3, 0x7f, 0xff] {
                let mut b = good.clone();
                b[i] = x;
                let _ = records(&b).map(|r| r.fields().count()).sum::<usize>();
            }
        }
    }

    /// A record as `trace_rec!` packs it (the header, then `len`), with `pid` as given.
    fn kernel_record(p: &mut Packer, pid: FieldValue<'_>) {
        p.begin();
        p.put(Field::kind, FieldValue::Str("send"));
        p.put(Field::t_ns, FieldValue::U64(7000));
        p.put(Field::step, FieldValue::U64(7));
        p.put(Field::pers, FieldValue::Str("kolibri"));
        p.put(Field::proc, FieldValue::U64(1));
        p.put(Field::pid, pid);
        p.put(Field::name, FieldValue::Str("cli"));
        p.put(Field::len, FieldValue::U64(20));
        p.end();
    }

    #[test]
    fn the_header_is_the_first_seven_fields_in_packing_order() {
        let mut p = Packer::default();
        kernel_record(&mut p, FieldValue::U64(4));
        // The same fields with `step` after `pers`: not the kernel's header.
        p.begin();
        p.put(Field::kind, FieldValue::Str("send"));
        p.put(Field::t_ns, FieldValue::U64(7000));
        p.put(Field::pers, FieldValue::Str("kolibri"));
        p.put(Field::step, FieldValue::U64(7));
        p.end();
        // `pid` packed as a signed number: not either.
        kernel_record(&mut p, FieldValue::I64(4));
        p.raw(b"{}");
        let rs: Vec<_> = records(p.buf_mut()).collect();
        let (h, rest) = rs[0].header().expect("a kernel record");
        assert_eq!(
            (h.kind, h.t_ns, h.step, h.pers, h.proc, h.pid, h.name),
            (&b"send"[..], 7000, 7, &b"kolibri"[..], 1, 4, &b"cli"[..])
        );
        let rest: Vec<_> = rest.collect();
        assert_eq!(rest, vec![(Field::len, Value::U64(20))]);
        assert!(rs[1..].iter().all(|r| r.header().is_none()));
        // Cut or damaged: no header, no panic.
        let good = {
            let mut p = Packer::default();
            kernel_record(&mut p, FieldValue::U64(4));
            p.buf_mut().clone()
        };
        for cut in 0..good.len() {
            for r in records(&good[..cut]) {
                let _ = r.header();
            }
        }
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0xff;
            for r in records(&b) {
                let _ = r.header().map(|(_, f)| f.count());
            }
        }
    }

    #[test]
    fn field_names_parse_back() {
        for &f in Field::ALL {
            assert_eq!(Field::parse(f.name()), Some(f));
        }
        assert_eq!(Field::parse("message"), None);
    }
}
