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
//! record (a whole JSON object, from `trace convert`) is one field of type raw. A kernel record
//! ([`Packer::begin_with`]) starts with its seven header fields in one fixed block instead
//! ([`HEADER_TAG`], then `t_ns`, `step`, `proc`, `pid` as `u64`, the lengths of `kind`, `pers`
//! and `name` as `u32`, and their bytes): one copy to pack and fixed offsets to read, where
//! seven tagged fields cost a capacity check and a tag test each.

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

/// First byte of a record that starts with a fixed header block (no field has this id).
pub const HEADER_TAG: u8 = 0xfe;
/// Bytes of the header block before its three texts.
const HEADER_FIXED: usize = 1 + 4 * 8 + 3 * 4;
const _: () = assert!(
    Field::ALL.len() < HEADER_TAG as usize,
    "field ids stay below the tag"
);

/// Appends packed records to a buffer (see the module documentation).
#[derive(Debug, Default)]
pub struct Packer {
    buf: Vec<u8>,
    start: usize,
}

impl Packer {
    /// Buffer size at which the kernel hands the buffer to its tap. Small enough to stay in
    /// the emulation thread's cache: the tap copies the records out and the kernel packs into
    /// the same buffer again (the trace crate gathers them into larger pieces for its writer
    /// thread).
    pub const FLUSH_AT: usize = 1 << 15;

    /// Start a record.
    #[inline(always)]
    pub fn begin(&mut self) {
        self.start = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
    }

    /// Start a kernel record with its header (the fields every `trace_rec!` record begins
    /// with), packed as one fixed block (see the module documentation).
    #[inline(always)]
    pub fn begin_with(&mut self, h: &Header<'_>) {
        // A text's length is a `u32`: a longer one (none is) would be cut there.
        let clip = |t: &'_ [u8]| -> usize { t.len().min(u32::MAX as usize) };
        let (k, p, n) = (clip(h.kind), clip(h.pers), clip(h.name));
        self.start = self.buf.len();
        let mut b = [0u8; 4 + HEADER_FIXED];
        b[4] = HEADER_TAG;
        b[5..13].copy_from_slice(&h.t_ns.to_le_bytes());
        b[13..21].copy_from_slice(&h.step.to_le_bytes());
        b[21..29].copy_from_slice(&h.proc.to_le_bytes());
        b[29..37].copy_from_slice(&h.pid.to_le_bytes());
        b[37..41].copy_from_slice(&(k as u32).to_le_bytes());
        b[41..45].copy_from_slice(&(p as u32).to_le_bytes());
        b[45..49].copy_from_slice(&(n as u32).to_le_bytes());
        self.buf.reserve(b.len() + k + p + n);
        self.buf.extend_from_slice(&b);
        self.buf.extend_from_slice(&h.kind[..k]);
        self.buf.extend_from_slice(&h.pers[..p]);
        self.buf.extend_from_slice(&h.name[..n]);
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
        const KIND: u8 = Field::kind as u8;
        match self.bytes {
            [KIND, T_RAW, n @ ..] if n.len() >= 4 => Some(&n[4..]),
            _ => None,
        }
    }

    /// Its fields in emission order (none for a raw record); a kernel record's header
    /// fields come first, as if they had been packed one by one.
    pub fn fields(&self) -> Fields<'a> {
        if let Some((h, rest)) = self.header() {
            return Fields {
                header: Some(h),
                next: 0,
                rest: rest.rest,
            };
        }
        Fields {
            header: None,
            next: 0,
            rest: if self.raw().is_some() || self.bytes.first() == Some(&HEADER_TAG) {
                // A raw record, or a header block cut short.
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

impl<'a> PackedRecord<'a> {
    /// The record's header and the fields after it, for a record begun with
    /// [`Packer::begin_with`] (`None` otherwise: a raw record, or one packed field by field).
    /// A reader that wants those few fields takes them at fixed offsets, not per field.
    #[inline]
    pub fn header(&self) -> Option<(Header<'a>, Fields<'a>)> {
        let (fixed, rest) = self.bytes.split_first_chunk::<HEADER_FIXED>()?;
        if fixed[0] != HEADER_TAG {
            return None;
        }
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&fixed[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let len = |at: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&fixed[at..at + 4]);
            u32::from_le_bytes(w) as usize
        };
        let (kind, rest) = rest.split_at_checked(len(33))?;
        let (pers, rest) = rest.split_at_checked(len(37))?;
        let (name, rest) = rest.split_at_checked(len(41))?;
        Some((
            Header {
                kind,
                t_ns: word(1),
                step: word(9),
                pers,
                proc: word(17),
                pid: word(25),
                name,
            },
            Fields {
                header: None,
                next: 0,
                rest,
            },
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
    /// A header block's fields, yielded first (`next` counts them).
    header: Option<Header<'a>>,
    next: u8,
    rest: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = (Field, Value<'a>);
    #[inline]
    fn next(&mut self) -> Option<(Field, Value<'a>)> {
        if let Some(h) = &self.header {
            let i = self.next;
            self.next += 1;
            match i {
                0 => return Some((Field::kind, Value::Text(h.kind))),
                1 => return Some((Field::t_ns, Value::U64(h.t_ns))),
                2 => return Some((Field::step, Value::U64(h.step))),
                3 => return Some((Field::pers, Value::Text(h.pers))),
                4 => return Some((Field::proc, Value::U64(h.proc))),
                5 => return Some((Field::pid, Value::U64(h.pid))),
                6 => return Some((Field::name, Value::Text(h.name))),
                _ => self.header = None,
            }
        }
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

    /// A record as `trace_rec!` packs it (the header block, then `len`).
    fn kernel_record(p: &mut Packer, pid: u64) {
        p.begin_with(&Header {
            kind: b"send",
            t_ns: 7000,
            step: 7,
            pers: b"kolibri",
            proc: 1,
            pid,
            name: b"cli",
        });
        p.put(Field::len, FieldValue::U64(20));
        p.end();
    }

    #[test]
    fn a_header_block_reads_back_as_the_first_seven_fields() {
        let mut p = Packer::default();
        kernel_record(&mut p, 4);
        // The same fields packed one by one: read as fields, without a header block.
        p.begin();
        p.put(Field::kind, FieldValue::Str("send"));
        p.put(Field::t_ns, FieldValue::U64(7000));
        p.end();
        // A header whose t_ns starts with the raw type's byte is still not raw.
        p.begin_with(&Header {
            kind: b"",
            t_ns: u64::from(T_RAW),
            step: u64::MAX,
            pers: b"",
            proc: 0,
            pid: 0,
            name: b"n",
        });
        p.end();
        p.raw(b"{}");
        let rs: Vec<_> = records(p.buf_mut()).collect();
        assert_eq!(rs.len(), 4);
        let (h, rest) = rs[0].header().expect("a kernel record");
        assert_eq!(
            (h.kind, h.t_ns, h.step, h.pers, h.proc, h.pid, h.name),
            (&b"send"[..], 7000, 7, &b"kolibri"[..], 1, 4, &b"cli"[..])
        );
        let rest: Vec<_> = rest.collect();
        assert_eq!(rest, vec![(Field::len, Value::U64(20))]);
        let all: Vec<_> = rs[0].fields().collect();
        assert_eq!(
            all,
            vec![
                (Field::kind, Value::Text(b"send")),
                (Field::t_ns, Value::U64(7000)),
                (Field::step, Value::U64(7)),
                (Field::pers, Value::Text(b"kolibri")),
                (Field::proc, Value::U64(1)),
                (Field::pid, Value::U64(4)),
                (Field::name, Value::Text(b"cli")),
                (Field::len, Value::U64(20)),
            ]
        );
        assert!(rs[1].header().is_none());
        assert_eq!(rs[1].fields().count(), 2);
        assert_eq!(rs[2].raw(), None);
        assert_eq!(rs[2].fields().nth(1), Some((Field::t_ns, Value::U64(5))));
        assert_eq!(rs[2].fields().count(), 7);
        assert!(rs[3].header().is_none() && rs[3].raw().is_some());
        // Cut or damaged: no header, no panic.
        let good = {
            let mut p = Packer::default();
            kernel_record(&mut p, 4);
            p.buf_mut().clone()
        };
        for cut in 0..good.len() {
            for r in records(&good[..cut]) {
                let _ = r.header();
                let _ = r.fields().count();
            }
        }
        for i in 0..good.len() {
            for x in [0u8, 0xff, HEADER_TAG] {
                let mut b = good.clone();
                b[i] = x;
                for r in records(&b) {
                    let _ = r.header().map(|(_, f)| f.count());
                    let _ = r.fields().count();
                }
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
