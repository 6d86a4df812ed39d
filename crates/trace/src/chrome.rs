//! Chrome Trace Event JSON (opens in the Perfetto UI and chrome://tracing).
//!
//! One process track per guest process (`pid` = process index + 1), one thread track per guest
//! thread (`tid` = its PID). Every slice is an `X` event: blocked waits span the wait; sends,
//! deliveries and reads are short. Each delivered message is a flow arrow in the form Chrome's
//! own trace writer uses ("flow v2"): `bind_id` = message number with `flow_out` on the slice that
//! sent it and `flow_in` on the slice that consumed it, so the arrow costs no events of its own.
//! Timestamps are guest-clock microseconds.
//!
//! The sink streams: each event is written (through a 64 KiB buffer) when its record arrives,
//! except a wait's slice, which is written when the wait ends (the next record of its thread,
//! which is the first that can follow it on that track). So the output is in record order, which
//! is time order on every track. What it keeps in memory is bounded by what is alive in the
//! world, not by the length of the run: the threads seen (for their one `thread_name` event), the
//! open waits (their slice so far), and the messages sent but not yet read (for their flow ends).
//! At the end it closes what is still open, at the time of the last event: waits (deadlock, time
//! limit) end there, and each message never read ends its flow on a short `unread` slice of its
//! receiver (or, never delivered, an `undelivered` slice of its sender), then the document closes.

use crate::record::{self, json_str, json_str_body, push_u64, Chunk, PackedArgs, View};
use crate::text::line;
use crate::{Kind, Record, Sink};
use ipcemu_kernel::trace::packed::PackedRecord;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::io::Write;

/// Where a message's flow is: which track must end it if nothing reads it.
#[derive(Clone, Copy)]
enum Flow {
    /// Sent on this (pid, tid) track, not delivered yet.
    Sent(u64, u32),
    /// Delivered to this (pid, tid) track, not read yet.
    Delivered(u64, u32),
}

/// The messages whose flow started and has not ended, by number. The kernel numbers messages
/// in order and most flows end soon after they start, so they are kept in a window of slots
/// from the oldest open one (an index, where a hash map insert and remove cost about 60
/// instructions per message); a number before the window or far past it goes to a map.
#[derive(Default)]
struct Flows {
    /// The number of `window[0]`.
    base: u64,
    window: std::collections::VecDeque<Option<Flow>>,
    /// Open flows in `window`.
    in_window: usize,
    others: HashMap<u64, Flow>,
}

impl Flows {
    /// How far past `base` a number may be to get a slot.
    const SPAN: u64 = 4096;

    /// The index of message `m`'s slot, if it has one.
    #[inline]
    fn index(&self, m: u64) -> Option<usize> {
        let i = usize::try_from(m.checked_sub(self.base)?).ok()?;
        (i < self.window.len()).then_some(i)
    }

    /// Message `m`'s slot, if it has one.
    #[inline]
    fn slot(&mut self, m: u64) -> Option<&mut Option<Flow>> {
        let i = self.index(m)?;
        self.window.get_mut(i)
    }

    /// Start `m`'s flow; false if it is open already.
    fn start(&mut self, m: u64, f: Flow) -> bool {
        if self.window.is_empty() {
            self.base = m;
        }
        if let Some(slot) = self.slot(m) {
            if slot.is_some() {
                return false;
            }
            *slot = Some(f);
            self.in_window += 1;
            return true;
        }
        match m.checked_sub(self.base) {
            Some(i) if i < Self::SPAN && !self.others.contains_key(&m) => {
                self.window.resize(i as usize, None);
                self.window.push_back(Some(f));
                self.in_window += 1;
                true
            }
            _ => match self.others.entry(m) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(f);
                    true
                }
            },
        }
    }

    #[inline]
    fn get_mut(&mut self, m: u64) -> Option<&mut Flow> {
        // (The window and the map are separate fields, so both may be borrowed here.)
        match self.index(m).and_then(|i| self.window.get_mut(i)) {
            Some(Some(f)) => Some(f),
            _ => self.others.get_mut(&m),
        }
    }

    /// End `m`'s flow: what it was, if it was open.
    fn remove(&mut self, m: u64) -> Option<Flow> {
        let Some(f) = self.slot(m).and_then(Option::take) else {
            return self.others.remove(&m);
        };
        self.in_window -= 1;
        // The window starts at its oldest open flow.
        while let Some(None) = self.window.front() {
            self.window.pop_front();
            // (Past u64::MAX only when the window is empty, and then `start` sets it again.)
            self.base = self.base.wrapping_add(1);
        }
        Some(f)
    }

    fn len(&self) -> usize {
        self.in_window + self.others.len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The numbers of the open flows (in no particular order).
    fn keys(&self) -> Vec<u64> {
        let window = self.window.iter().enumerate();
        let window = window.filter_map(|(i, f)| f.map(|_| self.base + i as u64));
        window.chain(self.others.keys().copied()).collect()
    }
}

/// A wait slice not written yet: it is written when the wait ends.
struct OpenWait {
    /// Start (guest nanoseconds).
    ts: u64,
    /// The event as written so far, without its `dur` and closing brace.
    head: Vec<u8>,
}

/// Which end of a message's flow arrow a slice is.
#[derive(Clone, Copy)]
enum Bind {
    /// The slice that sent message N (`flow_out`).
    Out(u64),
    /// The slice that consumed message N (`flow_in`).
    In(u64),
}

/// The tracks by thread ID: a table for the usual small IDs (one index, where a hash map
/// lookup cost about 20 instructions, and an event looks its track up several times), a map
/// for the others.
#[derive(Default)]
struct Tracks {
    low: Vec<Option<Track>>,
    high: HashMap<u32, Track>,
}

impl Tracks {
    /// IDs kept in the table (its size is what the largest of them needs).
    const LOW: u32 = 4096;

    #[inline]
    fn get(&self, tid: &u32) -> Option<&Track> {
        if *tid < Self::LOW {
            self.low.get(*tid as usize)?.as_ref()
        } else {
            self.high.get(tid)
        }
    }

    #[inline]
    fn get_mut(&mut self, tid: &u32) -> Option<&mut Track> {
        if *tid < Self::LOW {
            self.low.get_mut(*tid as usize)?.as_mut()
        } else {
            self.high.get_mut(tid)
        }
    }

    fn insert(&mut self, tid: u32, t: Track) {
        if tid < Self::LOW {
            let i = tid as usize;
            if self.low.len() <= i {
                self.low.resize_with(i + 1, || None);
            }
            self.low[i] = Some(t);
        } else {
            self.high.insert(tid, t);
        }
    }

    /// Every track with its thread ID (the table's in ID order, then the map's).
    fn iter(&self) -> impl Iterator<Item = (u32, &Track)> {
        let low = self
            .low
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((i as u32, t.as_ref()?)));
        low.chain(self.high.iter().map(|(&tid, t)| (tid, t)))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.iter().count()
    }

    #[cfg(test)]
    fn values(&self) -> impl Iterator<Item = &Track> {
        self.iter().map(|(_, t)| t)
    }
}

/// A guest thread seen (its track), with what its events repeat.
struct Track {
    /// Its process index.
    proc: u64,
    /// Its name as first recorded.
    name: Vec<u8>,
    /// `name[pid]` as the inside of a JSON string (for the events that name it as a peer).
    actor: Vec<u8>,
    /// `{"ph":"X","cat":"C","pid":P,"tid":T,"ts":` for each category C of [`SLICE_CATS`]:
    /// how its slices start (one copy instead of four pieces per event).
    heads: [Vec<u8>; 3],
    /// Its open wait slice.
    wait: Option<OpenWait>,
}

/// Chrome sink: writes one JSON document, event by event.
pub struct ChromeSink {
    out: Box<dyn Write + Send>,
    buf: Vec<u8>,
    /// Events written so far (a comma goes before every one but the first).
    count: u64,
    /// Every thread seen, by PID (= its `tid`).
    tracks: Tracks,
    /// Processes that have their name event.
    named_procs: HashSet<u64>,
    /// Buffers of ended waits, for the next ones (a wait per round trip allocates nothing).
    spare: Vec<Vec<u8>>,
    /// Messages an event read ends (reused).
    ends: Vec<u64>,
    /// Messages whose flow started and has not ended.
    flows: Flows,
    /// Latest timestamp written (guest nanoseconds).
    last: u64,
    finished: bool,
}

/// One trace event as written (fields absent where `None`), in this field order.
struct Ev<'a> {
    ph: &'a str,
    name: Option<&'a [u8]>,
    cat: Option<&'a str>,
    s: Option<&'a str>,
    pid: u64,
    tid: u32,
    /// Guest nanoseconds (written as microseconds).
    ts: Option<u64>,
    /// A short slice ([`SLICE_US`]).
    dur: bool,
    /// The flow arrow this slice starts or ends.
    bind: Option<Bind>,
    args: Option<Args<'a>>,
}

enum Args<'a> {
    /// Appends the record's JSON object (its JSON Lines form).
    Record(&'a mut dyn FnMut(&mut Vec<u8>)),
    /// `{"name": ...}`.
    Name { name: &'a [u8] },
}

impl<'a> Ev<'a> {
    fn new(ph: &'a str, pid: u64, tid: u32, ts: u64) -> Self {
        Ev {
            ph,
            name: None,
            cat: None,
            s: None,
            pid,
            tid,
            ts: Some(ts),
            dur: false,
            bind: None,
            args: None,
        }
    }
    fn meta(name: &'a str, pid: u64, tid: u32, value: &'a [u8]) -> Self {
        Ev {
            name: Some(name.as_bytes()),
            ts: None,
            args: Some(Args::Name { name: value }),
            ..Ev::new("M", pid, tid, 0)
        }
    }
    /// A short slice without args that ends message `m`'s arrow.
    fn flow_in(name: &'a [u8], m: u64, pid: u64, tid: u32, ts: u64) -> Self {
        Ev {
            name: Some(name),
            cat: Some("ipc"),
            dur: true,
            bind: Some(Bind::In(m)),
            ..Ev::new("X", pid, tid, ts)
        }
    }
}

/// The categories of slices (`cat`): waits, KolibriOS/KOS/Win32 messages, PC-IPC commands.
const SLICE_CATS: [&[u8]; 3] = [b"wait", b"ipc", b"pcipc"];
/// The duration of a short slice, as written (microseconds).
const SLICE_US: &[u8] = b"0.5";
const HEAD: &[u8] = b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
/// Bytes gathered before one write to the output. Large: the writes go past the output's
/// 64 KiB `BufWriter` to the file, and a 100 k round-trip Chrome trace (123 MB) written in
/// 64 KiB pieces spent about 40 ms more in the file system than in 1 MiB ones (1 934 `write`
/// calls against 118; the JSONL writer hands over whole chunks of about 1.4 MB).
const FLUSH_AT: usize = 1 << 20;
/// Flows kept open at most (then the older half is ended where it stands).
const MAX_OPEN_FLOWS: usize = 1 << 16;

impl ChromeSink {
    /// A sink writing to `out` as records arrive (the document is complete after `finish`).
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
        buf.extend_from_slice(HEAD);
        ChromeSink {
            out,
            buf,
            count: 0,
            tracks: Tracks::default(),
            named_procs: HashSet::default(),
            spare: Vec::new(),
            ends: Vec::new(),
            flows: Flows::default(),
            last: 0,
            finished: false,
        }
    }

    /// A Chrome sink on a writer thread that decides its events straight from the captured
    /// fields (what `--trace-format chrome` uses).
    pub fn threaded(out: Box<dyn Write + Send>) -> crate::ThreadedSink {
        crate::ThreadedSink::start(crate::Writer::Chrome(Box::new(ChromeSink::new(out))))
    }

    /// Start the next event (the comma between events), noting its time.
    fn next_event(&mut self, ts: Option<u64>) {
        if self.count > 0 {
            self.buf.extend_from_slice(b",\n");
        }
        self.count += 1;
        if let Some(ts) = ts {
            self.last = self.last.max(ts);
        }
    }

    /// Hand the buffer to the output once it holds [`FLUSH_AT`] bytes.
    fn maybe_flush(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn push(&mut self, e: &mut Ev<'_>) -> std::io::Result<()> {
        self.next_event(e.ts);
        write_ev(&mut self.buf, e);
        self.maybe_flush()
    }

    /// Write thread `tid`'s open wait slice, if any, ending at `end`.
    fn close_wait(&mut self, tid: u32, end: u64) -> std::io::Result<()> {
        let Some(w) = self.tracks.get_mut(&tid).and_then(|t| t.wait.take()) else {
            return Ok(());
        };
        self.next_event(Some(w.ts));
        self.buf.extend_from_slice(&w.head);
        self.buf.extend_from_slice(b",\"dur\":");
        write_us(&mut self.buf, end.saturating_sub(w.ts));
        self.buf.push(b'}');
        self.spare.push(w.head);
        self.maybe_flush()
    }

    /// Start the flow of message `m` on this track: the arrow to bind to its sending slice
    /// (none if it started already).
    fn flow_start(&mut self, m: u64, pid: u64, tid: u32) -> Option<Bind> {
        self.flows
            .start(m, Flow::Sent(pid, tid))
            .then_some(Bind::Out(m))
    }

    /// Too many messages nobody reads (a receiver that resets its area without reading event
    /// 7, or a filter that drops the reads): end the older half of their flows now, at `ts`.
    fn bound_flows(&mut self, ts: u64) -> std::io::Result<()> {
        if self.flows.len() <= MAX_OPEN_FLOWS {
            return Ok(());
        }
        let mut ids = self.flows.keys();
        ids.sort_unstable();
        ids.truncate(ids.len() / 2);
        self.close_flows(&ids, ts)
    }

    /// End the flows of messages `ids` on a short `unread`/`undelivered` slice at `ts`.
    fn close_flows(&mut self, ids: &[u64], ts: u64) -> std::io::Result<()> {
        for &m in ids {
            let Some(f) = self.flows.remove(m) else {
                continue;
            };
            let (what, pid, tid) = match f {
                Flow::Delivered(p, t) => ("unread", p, t),
                Flow::Sent(p, t) => ("undelivered", p, t),
            };
            let name = format!("{what} message #{m}");
            self.push(&mut Ev::flow_in(name.as_bytes(), m, pid, tid, ts))?;
        }
        Ok(())
    }

    /// End message `m`'s flow: the arrow to bind to the slice that consumed it (none if it
    /// never started).
    fn flow_end(&mut self, m: u64) -> Option<Bind> {
        self.flows.remove(m).map(|_| Bind::In(m))
    }
}

/// Append guest nanoseconds as microseconds, as serde_json writes the `f64` `ns / 1000.0`
/// (`12.0`, `12.345`): exact below 10^15 ns, where the shortest decimal that reads back as that
/// `f64` is the quotient itself; beyond that through serde_json.
fn write_us(buf: &mut Vec<u8>, ns: u64) {
    if ns >= 1_000_000_000_000_000 {
        let _ = serde_json::to_writer(&mut *buf, &(ns as f64 / 1000.0));
        return;
    }
    push_u64(buf, ns / 1000);
    let frac = (ns % 1000) as u32;
    if frac == 0 {
        buf.extend_from_slice(b".0");
        return;
    }
    let digits = [
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ];
    let n = if frac.is_multiple_of(100) {
        1
    } else if frac.is_multiple_of(10) {
        2
    } else {
        3
    };
    buf.push(b'.');
    buf.extend_from_slice(&digits[..n]);
}

/// Append `"s"`: for this module's own names (`ph`, categories, kinds), which need no escapes.
#[inline]
fn quoted(buf: &mut Vec<u8>, s: &str) {
    debug_assert!(s.bytes().all(|c| c >= 0x20 && c != b'"' && c != b'\\'));
    buf.push(b'"');
    crate::record::push_short(buf, s.as_bytes());
    buf.push(b'"');
}

/// Write `e` as one JSON object (strings and numbers as serde_json writes them).
fn write_ev(buf: &mut Vec<u8>, e: &mut Ev<'_>) {
    buf.extend_from_slice(b"{\"ph\":");
    quoted(buf, e.ph);
    if let Some(v) = e.name {
        buf.extend_from_slice(b",\"name\":");
        json_str(buf, v);
    }
    if let Some(v) = e.cat {
        buf.extend_from_slice(b",\"cat\":");
        quoted(buf, v);
    }
    if let Some(v) = e.s {
        buf.extend_from_slice(b",\"s\":");
        quoted(buf, v);
    }
    buf.extend_from_slice(b",\"pid\":");
    push_u64(buf, e.pid);
    buf.extend_from_slice(b",\"tid\":");
    push_u64(buf, u64::from(e.tid));
    if let Some(ts) = e.ts {
        buf.extend_from_slice(b",\"ts\":");
        write_us(buf, ts);
    }
    if e.dur {
        buf.extend_from_slice(b",\"dur\":");
        buf.extend_from_slice(SLICE_US);
    }
    write_bind(buf, e.bind);
    match &mut e.args {
        Some(Args::Record(json)) => {
            buf.extend_from_slice(b",\"args\":");
            json(buf);
        }
        Some(Args::Name { name }) => {
            let name: &[u8] = name;
            buf.extend_from_slice(b",\"args\":{\"name\":");
            json_str(buf, name);
            buf.push(b'}');
        }
        None => {}
    }
    buf.push(b'}');
}

/// `,"bind_id":N,"flow_out":true` (or `flow_in`): the flow arrow a slice starts or ends (the
/// form of Chrome's own trace writer, which Perfetto and chrome://tracing read).
fn write_bind(buf: &mut Vec<u8>, bind: Option<Bind>) {
    let (m, dir): (u64, &[u8]) = match bind {
        Some(Bind::Out(m)) => (m, b",\"flow_out\":true"),
        Some(Bind::In(m)) => (m, b",\"flow_in\":true"),
        None => return,
    };
    buf.extend_from_slice(b",\"bind_id\":");
    push_u64(buf, m);
    buf.extend_from_slice(dir);
}

/// `name[pid]` as the inside of a JSON string, appended.
fn actor(out: &mut Vec<u8>, name: &[u8], pid: u32) {
    json_str_body(out, name);
    out.push(b'[');
    push_u64(out, u64::from(pid));
    out.push(b']');
}

impl ChromeSink {
    /// Take every record of a chunk captured by a [`crate::ThreadedSink`] (its writer thread).
    pub(crate) fn take_chunk(&mut self, chunk: &Chunk) -> std::io::Result<()> {
        for p in chunk.records() {
            let mut v = View::default();
            if let Some(mut pa) = PackedArgs::start(&p, &mut v) {
                // One pass: the header decides the event, the args stream into it.
                self.event(&mut v, &mut |out, v| pa.write(out, v), &|| {
                    record::record(&p)
                })?;
            } else {
                self.take_two_pass(&p)?;
            }
        }
        Ok(())
    }

    /// A record without the kernel's header first: its view, then its args.
    fn take_two_pass(&mut self, p: &PackedRecord<'_>) -> std::io::Result<()> {
        match record::view(p) {
            Some(mut v) => self.event(&mut v, &mut |out, _| record::args_object(p, out), &|| {
                record::record(p)
            }),
            None => {
                let r = record::record(p);
                let mut json = Vec::new();
                record::json_object(p, &mut json);
                self.record_json(&r, &json)
            }
        }
    }

    /// The thread's track, named on its first record; ends its open wait unless this record
    /// is a wait.
    fn enter(&mut self, v: &View<'_>) -> std::io::Result<()> {
        let (pid, tid) = (v.proc + 1, v.pid);
        if self.tracks.get(&tid).is_none_or(|t| t.proc != v.proc) {
            // New (or, were a PID ever reused by another process, moved): its name events.
            self.close_wait(tid, v.t_ns)?;
            if self.named_procs.insert(v.proc) {
                let pname = format!("{} (process {})", String::from_utf8_lossy(v.name), v.proc);
                self.push(&mut Ev::meta("process_name", pid, tid, pname.as_bytes()))?;
            }
            let mut raw = v.name.to_vec();
            raw.push(b'[');
            push_u64(&mut raw, u64::from(tid));
            raw.push(b']');
            self.push(&mut Ev::meta("thread_name", pid, tid, &raw))?;
            // The same `name[pid]`, escaped once for the events that name it as a peer.
            let mut a = Vec::new();
            json_str_body(&mut a, &raw);
            let heads = SLICE_CATS.map(|cat| {
                let mut h = b"{\"ph\":\"X\",\"cat\":\"".to_vec();
                h.extend_from_slice(cat);
                h.extend_from_slice(b"\",\"pid\":");
                push_u64(&mut h, pid);
                h.extend_from_slice(b",\"tid\":");
                push_u64(&mut h, u64::from(tid));
                h.extend_from_slice(b",\"ts\":");
                h
            });
            self.tracks.insert(
                tid,
                Track {
                    proc: v.proc,
                    name: v.name.to_vec(),
                    actor: a,
                    heads,
                    wait: None,
                },
            );
        }
        // Anything but the wait itself ends an open wait slice at this time.
        if v.kind != Kind::Wait {
            self.close_wait(tid, v.t_ns)?;
        }
        Ok(())
    }

    /// `peer_name[peer_pid]` (`?` for an unknown name) inside a JSON string, appended.
    fn peer(&self, out: &mut Vec<u8>, v: &View<'_>) {
        let Some(p) = v.peer_pid else {
            return;
        };
        let name = v.peer_name.filter(|n| !n.is_empty()).unwrap_or(b"?");
        match self.tracks.get(&p) {
            Some(t) if t.name == name => out.extend_from_slice(&t.actor),
            _ => actor(out, name, p),
        }
    }

    /// Take one record: `args` appends its args object, completing the view (the fields the
    /// event's name and arrows need come from it); `full` rebuilds the whole record (for the
    /// kinds whose instant is named by its text line).
    fn event<'a>(
        &mut self,
        v: &mut View<'a>,
        args: &mut dyn FnMut(&mut Vec<u8>, &mut View<'a>),
        full: &dyn Fn() -> Record,
    ) -> std::io::Result<()> {
        self.enter(v)?;
        let (ts, pid, tid) = (v.t_ns, v.proc + 1, v.pid);
        // The index of its category in SLICE_CATS.
        let cat = match v.kind {
            Kind::Wait => 0,
            Kind::Send | Kind::Deliver | Kind::EventRead => 1,
            Kind::PcCmd => 2,
            Kind::Wake | Kind::ThreadStart | Kind::ProcStart => return Ok(()),
            _ => return self.instant(v, args, full),
        };
        let wait = v.kind == Kind::Wait;
        let Some(track) = self.tracks.get(&tid) else {
            return Ok(()); // (`enter` made it)
        };
        if wait && track.wait.is_some() {
            // A second wait without anything between (not emitted today) keeps one slice.
            return Ok(());
        }
        // A slice: `ph`, `cat`, its track and time, then its args (which complete the view),
        // then its name and arrow. A wait's slice is kept until the wait ends.
        let mut out = if wait {
            self.last = self.last.max(ts);
            let mut h = self.spare.pop().unwrap_or_default();
            h.clear();
            h
        } else {
            self.next_event(Some(ts));
            std::mem::take(&mut self.buf)
        };
        if let Some(t) = self.tracks.get(&tid) {
            out.extend_from_slice(&t.heads[cat]);
        }
        write_us(&mut out, ts);
        if !wait {
            out.extend_from_slice(b",\"dur\":");
            out.extend_from_slice(SLICE_US);
        }
        out.extend_from_slice(b",\"args\":");
        args(&mut out, v);
        out.extend_from_slice(b",\"name\":\"");
        let num = |out: &mut Vec<u8>, n: Option<u64>| push_u64(out, n.unwrap_or(0));
        let mut bind = None;
        match v.kind {
            Kind::Wait => {
                out.extend_from_slice(b"wait ");
                json_str_body(&mut out, v.what.unwrap_or(b""));
            }
            Kind::Send => {
                out.extend_from_slice(match v.dir {
                    Some(b"request") => b"send request ",
                    Some(b"response") => b"send response ",
                    _ => b"send ",
                });
                num(&mut out, v.len);
                out.extend_from_slice(b" B -> ");
                self.peer(&mut out, v);
                if let Some(m) = v.msg.filter(|&m| m != 0) {
                    bind = self.flow_start(m, pid, tid);
                    // A send with an `offset` delivered too (KolibriOS 60.2, schema 2): the
                    // message waits at its receiver until an event read consumes it.
                    if let (Some(_), Some(to)) = (v.offset, v.peer_pid) {
                        if let (Some(p), Some(f)) =
                            (self.tracks.get(&to).map(|t| t.proc), self.flows.get_mut(m))
                        {
                            *f = Flow::Delivered(p + 1, to);
                        }
                    }
                }
            }
            Kind::Deliver => {
                out.extend_from_slice(b"deliver ");
                num(&mut out, v.len);
                out.extend_from_slice(b" B <- ");
                self.peer(&mut out, v);
                if let Some(m) = v.msg {
                    if v.pers == b"kos" {
                        // A KOS delivery is the receiver getting it (Recv or Call returns):
                        // the request's arrow ends at the server, the response's at the client.
                        bind = self.flow_end(m);
                    } else if let Some(f) = self.flows.get_mut(m) {
                        *f = Flow::Delivered(pid, tid);
                    }
                }
            }
            Kind::EventRead => {
                out.extend_from_slice(b"read event ");
                num(&mut out, v.code);
                // The read slice ends the arrow of the first message it consumed; each further
                // one ends on a short `message #N` slice inside it (below).
                let mut ends = std::mem::take(&mut self.ends);
                ends.clear();
                let flows = &mut self.flows;
                let _ = v.msgs.each(|m| {
                    if flows.remove(m).is_some() {
                        ends.push(m);
                    }
                    Ok(())
                });
                bind = ends.first().map(|&m| Bind::In(m));
                self.ends = ends;
            }
            _ => {
                // PcCmd
                let cmd = v.cmd.unwrap_or(0);
                out.extend_from_slice(b"pcipc ");
                out.extend_from_slice(crate::text::pc_cmd_name(cmd).as_bytes());
                if let Some(m) = v.msg.filter(|&m| m != 0) {
                    bind = if cmd == 0x07 {
                        self.flow_start(m, pid, tid)
                    } else {
                        self.flow_end(m)
                    };
                }
            }
        }
        out.push(b'"');
        write_bind(&mut out, bind);
        if wait {
            if let Some(t) = self.tracks.get_mut(&tid) {
                t.wait = Some(OpenWait { ts, head: out });
            }
            return Ok(());
        }
        out.push(b'}');
        self.buf = out;
        if v.kind == Kind::EventRead && self.ends.len() > 1 {
            let ends = std::mem::take(&mut self.ends);
            let mut name = Vec::new();
            let mut res = Ok(());
            for &m in &ends[1..] {
                name.clear();
                name.extend_from_slice(b"message #");
                push_u64(&mut name, m);
                res = self.push(&mut Ev::flow_in(&name, m, pid, tid, ts));
                if res.is_err() {
                    break;
                }
            }
            self.ends = ends;
            res?;
        }
        self.bound_flows(ts)?;
        self.maybe_flush()
    }

    /// An instant for a record of another kind, named by its text line.
    fn instant<'a>(
        &mut self,
        v: &mut View<'a>,
        args: &mut dyn FnMut(&mut Vec<u8>, &mut View<'a>),
        full: &dyn Fn() -> Record,
    ) -> std::io::Result<()> {
        let text = line(&full(), 32);
        let name = text
            .split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ");
        let (pid, tid, ts, cat) = (v.proc + 1, v.pid, v.t_ns, v.kind.as_str());
        let mut write_args = |out: &mut Vec<u8>| args(out, v);
        let mut e = Ev::new("i", pid, tid, ts);
        e.s = Some("t");
        e.name = Some(name.as_bytes());
        e.cat = Some(cat);
        e.args = Some(Args::Record(&mut write_args));
        self.push(&mut e)
    }
}

impl Sink for ChromeSink {
    fn record(&mut self, r: &Record) -> std::io::Result<()> {
        let json = serde_json::to_vec(r)?;
        self.record_json(r, &json)
    }

    fn record_json(&mut self, r: &Record, args: &[u8]) -> std::io::Result<()> {
        self.event(
            &mut View::of(r),
            &mut |out, _| record::trim_object(args, out),
            &|| r.clone(),
        )
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if self.finished {
            return self.out.flush();
        }
        self.finished = true;
        let last = self.last;
        // Waits still open at the end (deadlock, time limit) end at the last event.
        let mut open: Vec<u32> = self
            .tracks
            .iter()
            .filter(|(_, t)| t.wait.is_some())
            .map(|(tid, _)| tid)
            .collect();
        open.sort_unstable();
        for tid in open {
            self.close_wait(tid, last)?;
        }
        // Messages never read end their flow on a short slice at the end of the track that
        // holds them: the receiver's (delivered, unread) or the sender's (never delivered,
        // e.g. PC-IPC messages left in the pool).
        let mut ids = self.flows.keys();
        ids.sort_unstable();
        self.close_flows(&ids, last)?;
        self.buf
            .extend_from_slice(b"\n],\"otherData\":{\"tool\":\"ipcemu\",\"version\":");
        self.buf
            .extend_from_slice(crate::SCHEMA_VERSION.to_string().as_bytes());
        self.buf.extend_from_slice(b",\"clock\":\"guest\"}}\n");
        self.out.write_all(&self.buf)?;
        self.buf = Vec::new();
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer the test can read back, recording how many bytes each write carried.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<(Vec<u8>, usize)>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let mut g = self.0.lock().unwrap();
            g.0.extend_from_slice(b);
            g.1 = g.1.max(b.len());
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn rec(kind: &str, t_us: u64, proc: u64, pid: u32) -> Record {
        Record {
            kind: Kind::parse(kind).unwrap_or_default(),
            t_ns: t_us * 1000,
            pers: "kolibri".into(),
            proc,
            pid,
            name: format!("p{proc}"),
            ..Record::default()
        }
    }

    fn send(t: u64, m: u64) -> [Record; 2] {
        let mut s = rec("send", t, 1, 3);
        s.msg = Some(m);
        s.len = Some(4);
        s.peer_pid = Some(2);
        s.peer_name = Some("p0".into());
        let mut d = rec("deliver", t, 0, 2);
        d.msg = Some(m);
        d.len = Some(4);
        d.peer_pid = Some(3);
        d.peer_name = Some("p1".into());
        [s, d]
    }

    fn events(out: &Shared) -> Vec<serde_json::Value> {
        let g = out.0.lock().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&g.0).expect("valid JSON");
        assert_eq!(doc["otherData"]["tool"], "ipcemu");
        assert_eq!(doc["displayTimeUnit"], "ns");
        doc["traceEvents"].as_array().unwrap().clone()
    }

    /// The window of flows does what a map does, for numbers in order (most), numbers far
    /// apart, numbers before the window, repeated starts, and the ends of the range.
    #[test]
    fn flows_keep_what_a_map_keeps() {
        // A number kept in the map while it was far past the window, which then moved up to it.
        let mut f = Flows::default();
        assert!(f.start(1, Flow::Sent(1, 1)));
        assert!(f.start(5000, Flow::Sent(2, 2)));
        assert!(f.start(4000, Flow::Sent(3, 3)));
        assert!(f.remove(1).is_some());
        assert!(!f.start(5000, Flow::Sent(4, 4)), "open already");
        assert!(matches!(f.remove(5000), Some(Flow::Sent(2, 2))));
        assert!(f.remove(5000).is_none());
        assert_eq!(f.keys(), [4000]);

        let mut ours = Flows::default();
        let mut model: HashMap<u64, (u64, u32)> = HashMap::default();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = 1u64;
        for step in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = match x % 16 {
                0..=5 => {
                    next += 1;
                    next
                }
                6..=9 => next.saturating_sub(x % 8),
                10 => next + 4000 + x % 200,
                11 => x % 50,
                12 => u64::MAX - x % 3,
                _ => next.saturating_sub(x % 5000),
            };
            let f = (step, (x >> 32) as u32);
            match (x >> 8) % 3 {
                0 => {
                    let fresh = !model.contains_key(&m);
                    if fresh {
                        model.insert(m, f);
                    }
                    assert_eq!(ours.start(m, Flow::Sent(f.0, f.1)), fresh, "start {m}");
                }
                1 => {
                    let got = ours.remove(m).map(|f| match f {
                        Flow::Sent(a, b) | Flow::Delivered(a, b) => (a, b),
                    });
                    assert_eq!(got, model.remove(&m), "remove {m}");
                }
                _ => {
                    if let Some(f) = ours.get_mut(m) {
                        if let Flow::Sent(a, b) = *f {
                            *f = Flow::Delivered(a, b);
                        }
                    }
                    let got = ours.get_mut(m).map(|f| match *f {
                        Flow::Sent(a, b) | Flow::Delivered(a, b) => (a, b),
                    });
                    assert_eq!(got, model.get(&m).copied(), "get {m}");
                }
            }
            assert_eq!(ours.len(), model.len());
        }
        let mut keys = ours.keys();
        keys.sort_unstable();
        let mut want: Vec<u64> = model.keys().copied().collect();
        want.sort_unstable();
        assert_eq!(keys, want);
        assert!(ours.window.len() <= Flows::SPAN as usize);
    }

    #[test]
    fn microseconds_are_written_as_serde_json_writes_the_f64() {
        let mut cases: Vec<u64> = (0..20_000).collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(x % 2_000_000_000_000_000);
            cases.push(x % 1_000_000_000_000);
        }
        cases.extend([999_999_999_999_999, 1_000_000_000_000_000, u64::MAX / 3]);
        for ns in cases {
            let mut ours = Vec::new();
            write_us(&mut ours, ns);
            let theirs = serde_json::to_vec(&(ns as f64 / 1000.0)).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "{ns} ns"
            );
        }
    }

    #[test]
    fn empty_trace_is_a_valid_document() {
        let out = Shared::default();
        let mut s = ChromeSink::new(Box::new(out.clone()));
        s.finish().unwrap();
        s.finish().unwrap();
        assert!(events(&out).is_empty());
    }

    #[test]
    fn flows_waits_and_leftovers_close_in_time_order() {
        let out = Shared::default();
        let mut s = ChromeSink::new(Box::new(out.clone()));
        let mut w = rec("wait", 1, 0, 2);
        w.what = Some("event".into());
        s.record(&w).unwrap();
        for r in send(2, 1) {
            s.record(&r).unwrap();
        }
        let mut read = rec("event_read", 3, 0, 2);
        read.code = Some(7);
        read.msgs = Some(vec![1]);
        s.record(&read).unwrap();
        // Delivered, never read; and a wait left open (deadlock).
        for r in send(4, 2) {
            s.record(&r).unwrap();
        }
        w.t_ns = 4000;
        s.record(&w).unwrap();
        // A PC-IPC message sent and never read.
        let mut pc = rec("pc_cmd", 5, 2, 4);
        pc.cmd = Some(7);
        pc.msg = Some(3);
        s.record(&pc).unwrap();
        // A read of a message whose start was never seen ends nothing.
        let mut stray = rec("pc_cmd", 6, 2, 4);
        stray.cmd = Some(6);
        stray.msg = Some(99);
        s.record(&stray).unwrap();
        s.finish().unwrap();
        let evs = events(&out);
        let ph = |p: &str| evs.iter().filter(|e| e["ph"] == p).count();
        assert_eq!(ph("M"), 6, "a process and a thread name each for 3 threads");
        assert_eq!(ph("X"), evs.len() - 6, "every other event is a slice");
        let with = |k: &str| evs.iter().filter(|e| e[k] == true).count();
        assert_eq!((with("flow_out"), with("flow_in")), (3, 3));
        let waits: Vec<&serde_json::Value> = evs.iter().filter(|e| e["cat"] == "wait").collect();
        // The first ends at the delivery (2 us), the second (deadlock) at the last event (6 us).
        assert_eq!(waits.len(), 2);
        assert_eq!(
            (waits[0]["ts"].as_f64(), waits[0]["dur"].as_f64()),
            (Some(1.0), Some(1.0))
        );
        assert_eq!(
            (waits[1]["ts"].as_f64(), waits[1]["dur"].as_f64()),
            (Some(4.0), Some(2.0))
        );
        let mut last: HashMap<(u64, u64), f64> = HashMap::default();
        for e in evs.iter().filter(|e| e["ph"] != "M") {
            let key = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
            let ts = e["ts"].as_f64().unwrap();
            assert!(ts >= *last.get(&key).unwrap_or(&0.0), "{e}");
            last.insert(key, ts);
        }
        let f_of = |id: u64| {
            evs.iter()
                .find(|e| e["flow_in"] == true && e["bind_id"] == id)
                .unwrap()
                .clone()
        };
        let s_of = |id: u64| {
            evs.iter()
                .find(|e| e["flow_out"] == true && e["bind_id"] == id)
                .unwrap()
                .clone()
        };
        assert_eq!(s_of(1)["name"], "send 4 B -> p0[2]");
        assert_eq!(s_of(3)["name"], "pcipc send");
        assert_eq!(f_of(1)["name"], "read event 7");
        assert_eq!(
            (f_of(1)["tid"].as_u64(), f_of(1)["ts"].as_f64()),
            (Some(2), Some(3.0))
        );
        assert_eq!(
            (f_of(2)["tid"].as_u64(), f_of(2)["ts"].as_f64()),
            (Some(2), Some(6.0))
        );
        assert_eq!(
            (f_of(3)["tid"].as_u64(), f_of(3)["ts"].as_f64()),
            (Some(4), Some(6.0))
        );
        let names: Vec<&str> = evs.iter().filter_map(|e| e["name"].as_str()).collect();
        assert!(names.contains(&"unread message #2"), "{names:?}");
        assert!(names.contains(&"undelivered message #3"), "{names:?}");
        assert!(names.contains(&"send 4 B -> p0[2]"), "{names:?}");
        assert_eq!(waits[0]["args"]["what"], "event");
        assert_eq!(waits[0]["name"], "wait event");
    }

    #[test]
    fn a_version_2_send_with_an_offset_is_delivered_at_its_receiver() {
        let out = Shared::default();
        let mut s = ChromeSink::new(Box::new(out.clone()));
        // The receiver's track is known from its first record.
        s.record(&rec("proc_start", 0, 0, 2)).unwrap();
        for (t, m) in [(1, 1), (2, 2)] {
            let mut snd = rec("send", t, 1, 3);
            snd.msg = Some(m);
            snd.len = Some(4);
            snd.result = Some(0);
            snd.offset = Some(8);
            snd.peer_pid = Some(2);
            snd.peer_name = Some("p0".into());
            s.record(&snd).unwrap();
        }
        let mut read = rec("event_read", 3, 0, 2);
        read.code = Some(7);
        read.msgs = Some(vec![1]);
        s.record(&read).unwrap();
        s.finish().unwrap();
        let evs = events(&out);
        // #1 ends at the read; #2 was delivered (not "undelivered") and never read.
        let f1 = evs
            .iter()
            .find(|e| e["flow_in"] == true && e["bind_id"] == 1)
            .unwrap();
        assert_eq!((f1["pid"].as_u64(), f1["tid"].as_u64()), (Some(1), Some(2)));
        let unread = evs
            .iter()
            .find(|e| e["name"] == "unread message #2")
            .expect("an unread slice for #2");
        assert_eq!(
            (unread["pid"].as_u64(), unread["tid"].as_u64()),
            (Some(1), Some(2))
        );
        assert!(!evs.iter().any(|e| e["name"] == "undelivered message #2"));
    }

    #[test]
    fn memory_stays_bounded_and_output_streams() {
        let out = Shared::default();
        let mut s = ChromeSink::new(Box::new(out.clone()));
        for i in 0..5_000u64 {
            for r in send(i * 2, i + 1) {
                s.record(&r).unwrap();
            }
            let mut read = rec("event_read", i * 2 + 1, 0, 2);
            read.code = Some(7);
            read.msgs = Some(vec![i + 1]);
            s.record(&read).unwrap();
            assert!(s.flows.is_empty() && s.buf.len() < FLUSH_AT + 4096);
        }
        assert!(
            !out.0.lock().unwrap().0.is_empty(),
            "written before the end"
        );
        assert!(s.tracks.len() == 2 && s.tracks.values().all(|t| t.wait.is_none()));
        s.finish().unwrap();
        // Names, then a send, a delivery and a read per message (the arrows are on them).
        assert_eq!(events(&out).len(), 4 + 5_000 * 3);
    }
}

#[cfg(test)]
mod one_pass {
    use super::*;
    use ipcemu_kernel::trace::packed::Packer;
    use ipcemu_kernel::trace::Field;
    use ipcemu_kernel::trace::FieldValue as V;

    /// Pack a record the way `trace_rec!` does: the header first, then `rest`.
    fn rec(p: &mut Packer, kind: &str, t_us: u64, proc: u64, pid: u64, rest: &[(Field, V<'_>)]) {
        p.begin();
        p.put(Field::kind, V::Str(kind));
        p.put(Field::t_ns, V::U64(t_us * 1000));
        p.put(Field::step, V::U64(t_us));
        p.put(Field::pers, V::Str("kolibri"));
        p.put(Field::proc, V::U64(proc));
        p.put(Field::pid, V::U64(pid));
        p.put(Field::name, V::Str(if proc == 0 { "srv" } else { "c\"li" }));
        for &(f, v) in rest {
            p.put(f, v);
        }
        p.end();
    }

    /// Records of every shape the sink makes events of: waits, sends (one-way and delivered),
    /// deliveries, reads of one and of several messages, PC-IPC commands, an instant, a wake,
    /// a name that needs escaping, and a record packed without the header first.
    fn chunk() -> Chunk {
        let mut p = Packer::default();
        let send = |m: u64, to: u64, offset: bool| {
            let mut v = vec![
                (Field::peer_pid, V::U64(to)),
                (
                    Field::peer_name,
                    V::Str(if to == 3 { "srv" } else { "c\"li" }),
                ),
                (Field::len, V::U64(20)),
                (Field::result, V::I64(0)),
                (Field::msg, V::U64(m)),
                (Field::payload, V::Bytes(b"ping")),
            ];
            if offset {
                v.push((Field::offset, V::U64(8)));
            }
            v
        };
        rec(
            &mut p,
            "ipc_area",
            1,
            0,
            3,
            &[(Field::addr, V::U64(4096)), (Field::size, V::U64(64))],
        );
        rec(
            &mut p,
            "wait",
            2,
            0,
            3,
            &[
                (Field::what, V::Str("event")),
                (Field::timeout_ns, V::I64(-1)),
            ],
        );
        rec(&mut p, "send", 3, 1, 4, &send(1, 3, true));
        rec(&mut p, "send", 4, 1, 4, &send(2, 3, true));
        rec(
            &mut p,
            "event_read",
            5,
            0,
            3,
            &[(Field::code, V::U64(7)), (Field::msgs, V::Str("1,2"))],
        );
        rec(
            &mut p,
            "wait",
            6,
            1,
            4,
            &[
                (Field::what, V::Str("event")),
                (Field::timeout_ns, V::I64(-1)),
            ],
        );
        rec(&mut p, "send", 7, 0, 3, &send(3, 4, false));
        rec(
            &mut p,
            "deliver",
            7,
            1,
            4,
            &[
                (Field::peer_pid, V::U64(3)),
                (Field::peer_name, V::Str("srv")),
                (Field::len, V::U64(20)),
                (Field::msg, V::U64(3)),
            ],
        );
        rec(&mut p, "wake", 8, 1, 4, &[]);
        rec(
            &mut p,
            "pc_cmd",
            9,
            1,
            4,
            &[(Field::cmd, V::U64(7)), (Field::msg, V::U64(4))],
        );
        rec(
            &mut p,
            "pc_cmd",
            10,
            0,
            3,
            &[(Field::cmd, V::U64(6)), (Field::msg, V::U64(4))],
        );
        rec(&mut p, "send", 11, 1, 4, &send(5, 3, true));
        rec(
            &mut p,
            "wait",
            12,
            0,
            3,
            &[
                (Field::what, V::Str("ev\"ent")),
                (Field::timeout_ns, V::I64(5)),
            ],
        );
        // Packed by hand, its name last: the sink's two-pass way.
        p.begin();
        p.put(Field::t_ns, V::U64(13_000));
        p.put(Field::kind, V::Str("event_read"));
        p.put(Field::step, V::U64(13));
        p.put(Field::pers, V::Str("kolibri"));
        p.put(Field::proc, V::U64(1));
        p.put(Field::pid, V::U64(4));
        p.put(Field::code, V::U64(7));
        p.put(Field::msgs, V::Str("5"));
        p.put(Field::name, V::Str("c\"li"));
        p.end();
        Chunk {
            packed: std::mem::take(p.buf_mut()),
            filter: Default::default(),
        }
    }

    #[test]
    fn captured_records_make_the_events_whole_records_make() {
        let c = chunk();
        let out = [Shared::default(), Shared::default()];
        let mut a = ChromeSink::new(Box::new(out[0].clone()));
        a.take_chunk(&c).unwrap();
        a.finish().unwrap();
        let mut b = ChromeSink::new(Box::new(out[1].clone()));
        for p in c.records() {
            b.record(&record::record(&p)).unwrap();
        }
        b.finish().unwrap();
        // The same events, in the same order, with the same members (a whole record's args
        // are in its struct's field order, a captured one's in packing order).
        let doc = |s: &Shared| -> serde_json::Value {
            serde_json::from_slice(&s.0.lock().unwrap().0).expect("valid JSON")
        };
        let doc = [doc(&out[0]), doc(&out[1])];
        assert_eq!(doc[0], doc[1]);
        let doc = &doc[0];
        let evs = doc["traceEvents"].as_array().unwrap();
        let named = |n: &str| evs.iter().filter(|e| e["name"] == n).count();
        assert_eq!(named("send 20 B -> c\"li[4]"), 1, "{evs:?}");
        assert_eq!(named("wait ev\"ent"), 1);
        assert_eq!(named("message #2"), 1, "the second message of one read");
        assert_eq!(named("thread_name"), 2);
        let ends = evs.iter().filter(|e| e["flow_in"] == true).count();
        assert_eq!(ends, 5, "messages 1-5 each end once");
    }

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<(Vec<u8>, usize)>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().0.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
