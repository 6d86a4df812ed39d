//! Chrome Trace Event JSON (opens in the Perfetto UI and chrome://tracing).
//!
//! One process track per guest process (`pid` = process index + 1), one thread track per guest
//! thread (`tid` = its PID). Blocked waits are `B`/`E` slices; sends, deliveries and reads are
//! short `X` slices; each delivered message is a flow (`s` at its send, `f` at the read that
//! consumed it, `id` = message number). Timestamps are guest-clock microseconds.
//!
//! The sink streams: each event is written (through a 64 KiB buffer) when its record arrives, so
//! the output is in record order, which is time order on every track. What it keeps in memory is
//! bounded by what is alive in the world, not by the length of the run: the threads seen (for
//! their one `thread_name` event), the open waits, and the messages sent but not yet read (for
//! their flow ends). At the end it closes what is still open, at the time of the last event: waits
//! (deadlock, time limit) get their `E`, and each message never read ends its flow on a short
//! `unread` slice of its receiver (or, never delivered, an `undelivered` slice of its sender),
//! then the document closes.

use crate::record::{self, json_str, Chunk, View};
use crate::text::line;
use crate::{Kind, Record, Sink};
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

/// Chrome sink: writes one JSON document, event by event.
pub struct ChromeSink {
    out: Box<dyn Write + Send>,
    buf: Vec<u8>,
    /// Events written so far (a comma goes before every one but the first).
    count: u64,
    /// Threads whose wait slice is open: tid -> pid.
    open_wait: HashMap<u32, u64>,
    /// Threads (process index, PID) and processes that have their name events.
    named: HashSet<(u64, u32)>,
    /// The process of every thread seen (PID -> process index).
    proc_of: HashMap<u32, u64>,
    named_procs: HashSet<u64>,
    /// Messages whose flow started and has not ended.
    flows: HashMap<u64, Flow>,
    /// Latest timestamp written (guest nanoseconds).
    last: u64,
    /// Reused for event names.
    scratch: Vec<u8>,
    finished: bool,
}

/// One trace event as written (fields absent where `None`), in this field order.
struct Ev<'a> {
    ph: &'a str,
    name: Option<&'a [u8]>,
    cat: Option<&'a str>,
    id: Option<u64>,
    bp: Option<&'a str>,
    s: Option<&'a str>,
    pid: u64,
    tid: u32,
    /// Guest nanoseconds (written as microseconds).
    ts: Option<u64>,
    /// A short slice ([`SLICE_US`]).
    dur: bool,
    args: Option<Args<'a>>,
}

enum Args<'a> {
    /// Appends the record's JSON object (its JSON Lines form).
    Record(&'a dyn Fn(&mut Vec<u8>)),
    /// `{"name": ...}`.
    Name { name: &'a [u8] },
}

impl<'a> Ev<'a> {
    fn new(ph: &'a str, pid: u64, tid: u32, ts: u64) -> Self {
        Ev {
            ph,
            name: None,
            cat: None,
            id: None,
            bp: None,
            s: None,
            pid,
            tid,
            ts: Some(ts),
            dur: false,
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
    fn slice(name: &'a [u8], cat: &'a str, pid: u64, tid: u32, ts: u64) -> Self {
        Ev {
            name: Some(name),
            cat: Some(cat),
            dur: true,
            ..Ev::new("X", pid, tid, ts)
        }
    }
    fn flow(ph: &'a str, id: u64, pid: u64, tid: u32, ts: u64) -> Self {
        Ev {
            name: Some(b"message"),
            cat: Some("ipc"),
            id: Some(id),
            bp: (ph == "f").then_some("e"),
            ..Ev::new(ph, pid, tid, ts)
        }
    }
}

/// The duration of a short slice, as written (microseconds).
const SLICE_US: &[u8] = b"0.5";
const HEAD: &[u8] = b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
const FLUSH_AT: usize = 1 << 16;
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
            open_wait: HashMap::default(),
            named: HashSet::default(),
            proc_of: HashMap::default(),
            named_procs: HashSet::default(),
            flows: HashMap::default(),
            last: 0,
            scratch: Vec::new(),
            finished: false,
        }
    }

    /// A Chrome sink on a writer thread that decides its events straight from the captured
    /// fields (what `--trace-format chrome` uses).
    pub fn threaded(out: Box<dyn Write + Send>) -> crate::ThreadedSink {
        crate::ThreadedSink::start(crate::Writer::Chrome(Box::new(ChromeSink::new(out))))
    }

    fn push(&mut self, e: &Ev<'_>) -> std::io::Result<()> {
        if self.count > 0 {
            self.buf.extend_from_slice(b",\n");
        }
        self.count += 1;
        if let Some(ts) = e.ts {
            self.last = self.last.max(ts);
        }
        write_ev(&mut self.buf, e);
        if self.buf.len() >= FLUSH_AT {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// A short slice with the record's JSON as its args.
    fn slice(
        &mut self,
        name: &[u8],
        cat: &str,
        args: &dyn Fn(&mut Vec<u8>),
        pid: u64,
        tid: u32,
        ts: u64,
    ) -> std::io::Result<()> {
        let mut e = Ev::slice(name, cat, pid, tid, ts);
        e.args = Some(Args::Record(args));
        self.push(&e)
    }

    /// Begin a flow for message `m` on this track (`s`).
    fn flow_start(&mut self, m: u64, pid: u64, tid: u32, ts: u64) -> std::io::Result<()> {
        if self.flows.len() >= MAX_OPEN_FLOWS {
            // Messages nobody reads (a receiver that resets its area without reading event 7,
            // or a filter that drops the reads): end the older half now, at this time.
            let mut ids: Vec<u64> = self.flows.keys().copied().collect();
            ids.sort_unstable();
            ids.truncate(ids.len() / 2);
            self.close_flows(&ids, ts)?;
        }
        if self.flows.insert(m, Flow::Sent(pid, tid)).is_none() {
            self.push(&Ev::flow("s", m, pid, tid, ts))?;
        }
        Ok(())
    }

    /// End the flows of messages `ids` on a short `unread`/`undelivered` slice at `ts`.
    fn close_flows(&mut self, ids: &[u64], ts: u64) -> std::io::Result<()> {
        for &m in ids {
            let Some(f) = self.flows.remove(&m) else {
                continue;
            };
            let (what, pid, tid) = match f {
                Flow::Delivered(p, t) => ("unread", p, t),
                Flow::Sent(p, t) => ("undelivered", p, t),
            };
            let name = format!("{what} message #{m}");
            self.push(&Ev::slice(name.as_bytes(), "ipc", pid, tid, ts))?;
            self.push(&Ev::flow("f", m, pid, tid, ts))?;
        }
        Ok(())
    }

    /// End message `m`'s flow on this track (`f`), if it started.
    fn flow_end(&mut self, m: u64, pid: u64, tid: u32, ts: u64) -> std::io::Result<()> {
        if self.flows.remove(&m).is_some() {
            self.push(&Ev::flow("f", m, pid, tid, ts))?;
        }
        Ok(())
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
    buf.extend_from_slice(itoa::Buffer::new().format(ns / 1000).as_bytes());
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
fn write_ev(buf: &mut Vec<u8>, e: &Ev<'_>) {
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
    if let Some(id) = e.id {
        buf.extend_from_slice(b",\"id\":");
        buf.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
    }
    if let Some(v) = e.bp {
        buf.extend_from_slice(b",\"bp\":");
        quoted(buf, v);
    }
    if let Some(v) = e.s {
        buf.extend_from_slice(b",\"s\":");
        quoted(buf, v);
    }
    buf.extend_from_slice(b",\"pid\":");
    buf.extend_from_slice(itoa::Buffer::new().format(e.pid).as_bytes());
    buf.extend_from_slice(b",\"tid\":");
    buf.extend_from_slice(itoa::Buffer::new().format(e.tid).as_bytes());
    if let Some(ts) = e.ts {
        buf.extend_from_slice(b",\"ts\":");
        write_us(buf, ts);
    }
    if e.dur {
        buf.extend_from_slice(b",\"dur\":");
        buf.extend_from_slice(SLICE_US);
    }
    match e.args {
        Some(Args::Record(json)) => {
            buf.extend_from_slice(b",\"args\":");
            json(buf);
        }
        Some(Args::Name { name }) => {
            buf.extend_from_slice(b",\"args\":{\"name\":");
            json_str(buf, name);
            buf.push(b'}');
        }
        None => {}
    }
    buf.push(b'}');
}

/// `name[pid]`, appended.
fn actor(out: &mut Vec<u8>, name: &[u8], pid: u32) {
    out.extend_from_slice(name);
    out.push(b'[');
    out.extend_from_slice(itoa::Buffer::new().format(pid).as_bytes());
    out.push(b']');
}

impl ChromeSink {
    /// Take every record of a chunk captured by a [`crate::ThreadedSink`] (its writer thread).
    pub(crate) fn take_chunk(&mut self, chunk: &Chunk) -> std::io::Result<()> {
        // Each record's fields are decoded once: the view and the args in one pass.
        let mut args = Vec::with_capacity(1024);
        for p in chunk.records() {
            args.clear();
            match record::view_and_args(&p, &mut args) {
                Some(v) => {
                    self.view(&v, &|b| b.extend_from_slice(&args), &|| record::record(&p))?
                }
                None => {
                    let r = record::record(&p);
                    let mut json = Vec::new();
                    record::json_object(&p, &mut json);
                    self.record_json(&r, &json)?;
                }
            }
        }
        Ok(())
    }

    /// Take one record: `args` appends its JSON object; `full` rebuilds the whole record (for
    /// the kinds whose slice is named by its text line).
    fn view(
        &mut self,
        r: &View<'_>,
        args: &dyn Fn(&mut Vec<u8>),
        full: &dyn Fn() -> Record,
    ) -> std::io::Result<()> {
        let mut name = std::mem::take(&mut self.scratch);
        name.clear();
        let res = self.view_named(r, args, full, &mut name);
        self.scratch = name;
        res
    }

    /// [`ChromeSink::view`] with the reused buffer for event names.
    fn view_named(
        &mut self,
        r: &View<'_>,
        args: &dyn Fn(&mut Vec<u8>),
        full: &dyn Fn() -> Record,
        name: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        let ts = r.t_ns;
        let (pid, tid) = (r.proc + 1, r.pid);
        if self.named.insert((r.proc, r.pid)) {
            self.proc_of.insert(r.pid, r.proc);
            if self.named_procs.insert(r.proc) {
                let pname = format!("{} (process {})", String::from_utf8_lossy(r.name), r.proc);
                self.push(&Ev::meta("process_name", pid, tid, pname.as_bytes()))?;
            }
            actor(name, r.name, r.pid);
            self.push(&Ev::meta("thread_name", pid, tid, name))?;
            name.clear();
        }
        // Anything but the wait itself ends an open wait slice at this time.
        if r.kind != Kind::Wait {
            if let Some(wpid) = self.open_wait.remove(&tid) {
                self.push(&Ev::new("E", wpid, tid, ts))?;
            }
        }
        let peer = |name: &mut Vec<u8>| {
            if let Some(p) = r.peer_pid {
                actor(
                    name,
                    r.peer_name.filter(|n| !n.is_empty()).unwrap_or(b"?"),
                    p,
                );
            }
        };
        match r.kind {
            Kind::Wait => {
                // A second wait without anything between (not emitted today) keeps one slice.
                if self.open_wait.insert(tid, pid).is_none() {
                    name.extend_from_slice(b"wait ");
                    name.extend_from_slice(r.what.unwrap_or(b""));
                    let mut e = Ev::new("B", pid, tid, ts);
                    e.name = Some(name);
                    e.cat = Some("wait");
                    e.args = Some(Args::Record(args));
                    self.push(&e)?;
                }
            }
            Kind::Wake | Kind::ThreadStart | Kind::ProcStart => {}
            Kind::Send => {
                name.extend_from_slice(b"send ");
                name.extend_from_slice(match r.dir {
                    Some(b"request") => b"request ",
                    Some(b"response") => b"response ",
                    _ => b"",
                });
                name.extend_from_slice(itoa::Buffer::new().format(r.len.unwrap_or(0)).as_bytes());
                name.extend_from_slice(b" B -> ");
                peer(name);
                self.slice(name, "ipc", args, pid, tid, ts)?;
                if let Some(m) = r.msg.filter(|&m| m != 0) {
                    self.flow_start(m, pid, tid, ts)?;
                    // A send with an `offset` delivered too (KolibriOS 60.2, schema 2): the
                    // message waits at its receiver until an event read consumes it.
                    if let (Some(_), Some(to)) = (r.offset, r.peer_pid) {
                        if let (Some(&p), Some(f)) = (self.proc_of.get(&to), self.flows.get_mut(&m))
                        {
                            *f = Flow::Delivered(p + 1, to);
                        }
                    }
                }
            }
            Kind::Deliver => {
                name.extend_from_slice(b"deliver ");
                name.extend_from_slice(itoa::Buffer::new().format(r.len.unwrap_or(0)).as_bytes());
                name.extend_from_slice(b" B <- ");
                peer(name);
                self.slice(name, "ipc", args, pid, tid, ts)?;
                if let Some(m) = r.msg {
                    if r.pers == b"kos" {
                        // A KOS delivery is the receiver getting it (Recv or Call returns):
                        // the request's arrow ends at the server, the response's at the client.
                        self.flow_end(m, pid, tid, ts)?;
                    } else if let Some(f) = self.flows.get_mut(&m) {
                        *f = Flow::Delivered(pid, tid);
                    }
                }
            }
            Kind::EventRead => {
                name.extend_from_slice(b"read event ");
                name.extend_from_slice(itoa::Buffer::new().format(r.code.unwrap_or(0)).as_bytes());
                self.slice(name, "ipc", args, pid, tid, ts)?;
                r.msgs.each(|m| self.flow_end(m, pid, tid, ts))?;
            }
            Kind::PcCmd => {
                let cmd = r.cmd.unwrap_or(0);
                name.extend_from_slice(b"pcipc ");
                name.extend_from_slice(crate::text::pc_cmd_name(cmd).as_bytes());
                self.slice(name, "pcipc", args, pid, tid, ts)?;
                if let Some(m) = r.msg.filter(|&m| m != 0) {
                    if cmd == 0x07 {
                        self.flow_start(m, pid, tid, ts)?;
                    } else {
                        self.flow_end(m, pid, tid, ts)?;
                    }
                }
            }
            _ => {
                let text = line(&full(), 32);
                let name = text
                    .split_whitespace()
                    .skip(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut e = Ev::new("i", pid, tid, ts);
                e.s = Some("t");
                e.name = Some(name.as_bytes());
                e.cat = Some(r.kind.as_str());
                e.args = Some(Args::Record(args));
                self.push(&e)?;
            }
        }
        Ok(())
    }
}

impl Sink for ChromeSink {
    fn record(&mut self, r: &Record) -> std::io::Result<()> {
        let json = serde_json::to_vec(r)?;
        self.record_json(r, &json)
    }

    fn record_json(&mut self, r: &Record, args: &[u8]) -> std::io::Result<()> {
        self.view(&View::of(r), &|b| record::trim_object(args, b), &|| {
            r.clone()
        })
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if self.finished {
            return self.out.flush();
        }
        self.finished = true;
        let last = self.last;
        // Waits still open at the end (deadlock, time limit) end at the last event.
        let mut open: Vec<(u32, u64)> = self.open_wait.drain().collect();
        open.sort_unstable();
        for (tid, pid) in open {
            self.push(&Ev::new("E", pid, tid, last))?;
        }
        // Messages never read end their flow on a short slice at the end of the track that
        // holds them: the receiver's (delivered, unread) or the sender's (never delivered,
        // e.g. PC-IPC messages left in the pool).
        let mut ids: Vec<u64> = self.flows.keys().copied().collect();
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
        assert_eq!((ph("s"), ph("f")), (3, 3));
        assert_eq!((ph("B"), ph("E")), (2, 2));
        let mut last: HashMap<(u64, u64), f64> = HashMap::default();
        for e in evs.iter().filter(|e| e["ph"] != "M") {
            let key = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
            let ts = e["ts"].as_f64().unwrap();
            assert!(ts >= *last.get(&key).unwrap_or(&0.0), "{e}");
            last.insert(key, ts);
        }
        let f_of = |id: u64| {
            evs.iter()
                .find(|e| e["ph"] == "f" && e["id"] == id)
                .unwrap()
                .clone()
        };
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
        assert_eq!(
            evs.iter().find(|e| e["ph"] == "B").unwrap()["args"]["what"],
            "event"
        );
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
        let f1 = evs.iter().find(|e| e["ph"] == "f" && e["id"] == 1).unwrap();
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
        assert!(s.named.len() == 2 && s.open_wait.is_empty());
        s.finish().unwrap();
        assert_eq!(events(&out).len(), 4 + 5_000 * 5);
    }
}
