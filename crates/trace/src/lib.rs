//! # ipcemu-trace
//!
//! Consumers of the kernel's trace records (`tracing` events with target
//! [`ipcemu_kernel::trace::TARGET`]): [`TraceLayer`] is a `tracing_subscriber::Layer` that turns
//! each event into a [`Record`], applies a [`Filter`], and hands it to a [`Sink`]:
//! [`TextSink`] (aligned lines), [`JsonlSink`] (one JSON object per line, schema in
//! `docs/trace-format.md`) or [`ChromeSink`] (Chrome Trace Event JSON for Perfetto and
//! chrome://tracing, with a track per guest thread, slices for blocked waits and flow arrows
//! from each send to the read that consumed it). [`summary`] reads a JSONL trace back.

#![warn(missing_docs)]

mod chrome;
mod filter;
mod record;
mod summary;
mod text;

pub use chrome::ChromeSink;
pub use filter::{Filter, FilterError};
pub use record::{Kind, Record};
pub use summary::{summarize, summary, Pair as SummaryPair, Summary, Wait as SummaryWait};
pub use text::TextSink;

use ipcemu_kernel::trace::{Packer, TraceTap};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// Version of the JSONL schema (the `version` of the header record). Version 2 makes fewer
/// records per KolibriOS message (`docs/trace-format.md`); readers take 1 and 2.
pub const SCHEMA_VERSION: u32 = 2;

/// Is `v` (a header's `version`) a schema version this crate reads?
pub fn readable_version(v: &serde_json::Value) -> bool {
    v.as_u64()
        .is_some_and(|v| (1..=u64::from(SCHEMA_VERSION)).contains(&v))
}

/// Where records go.
pub trait Sink: Send {
    /// Take one record.
    fn record(&mut self, r: &Record) -> std::io::Result<()>;
    /// Take one event directly, without building a [`Record`] (a fast path a sink may offer);
    /// `None` means "not offered: give me a Record".
    fn event(
        &mut self,
        _event: &tracing::Event<'_>,
        _filter: &Filter,
    ) -> Option<std::io::Result<()>> {
        None
    }
    /// Take one record together with its JSON object (its JSON Lines form, without the newline):
    /// a sink that embeds records as JSON uses these bytes instead of serializing the record
    /// again. The default ignores them.
    fn record_json(&mut self, r: &Record, _json: &[u8]) -> std::io::Result<()> {
        self.record(r)
    }
    /// Take packed records (the kernel's [`TraceTap`] path). The default builds each
    /// [`Record`], applies `filter` and calls [`Sink::record`]; a sink may instead keep the
    /// buffer by swapping another one in (whatever `buf` holds afterwards is discarded).
    fn packed(&mut self, buf: &mut Vec<u8>, filter: &Filter) -> std::io::Result<()> {
        for p in ipcemu_kernel::trace::packed::records(buf) {
            let r = record::record(&p);
            if p.raw().is_some() || filter.matches(&r) {
                self.record(&r)?;
            }
        }
        Ok(())
    }
    /// Write whatever is buffered (called once at the end).
    fn finish(&mut self) -> std::io::Result<()>;
}

/// JSON Lines: a header line, then one record per line, written by a [`ThreadedSink`].
pub struct JsonlSink;

impl JsonlSink {
    /// A sink writing to `out` from a writer thread (in writes of about 64 KiB).
    #[allow(clippy::new_ret_no_self)]
    pub fn new(out: Box<dyn Write + Send>) -> ThreadedSink {
        ThreadedSink::start(Writer::Jsonl {
            out,
            buf: Vec::with_capacity(1 << 17),
            actors: record::Actors::default(),
        })
    }
}

/// What the writer thread of a [`ThreadedSink`] feeds.
pub(crate) enum Writer {
    /// JSON Lines, formatted straight from the captured fields.
    Jsonl {
        out: Box<dyn Write + Send>,
        buf: Vec<u8>,
        actors: record::Actors,
    },
    /// Chrome trace events, decided straight from the captured fields.
    Chrome(Box<ChromeSink>),
    /// Any sink, one [`Record`] at a time.
    Records(Box<dyn Sink>),
}

impl Writer {
    fn take(&mut self, chunk: &record::Chunk) -> std::io::Result<()> {
        match self {
            Writer::Jsonl { out, buf, actors } => {
                chunk.write_json(buf, actors);
                if buf.len() >= 1 << 16 {
                    out.write_all(buf)?;
                    buf.clear();
                }
                Ok(())
            }
            Writer::Chrome(sink) => sink.take_chunk(chunk),
            Writer::Records(sink) => chunk.each_record(|r, json| sink.record_json(r, json)),
        }
    }
    fn finish(&mut self) -> std::io::Result<()> {
        match self {
            Writer::Jsonl { out, buf, .. } => {
                out.write_all(buf)?;
                buf.clear();
                out.flush()
            }
            Writer::Chrome(sink) => sink.finish(),
            Writer::Records(sink) => sink.finish(),
        }
    }
}

/// A sink that does its work on a writer thread: the emulation thread only packs each
/// record's fields into a buffer (or the kernel hands over its own packed buffer), copies
/// them into a piece of about [`ThreadedSink::SHIP_AT`] bytes and hands full pieces over;
/// the writer thread formats JSON Lines straight from them, decides Chrome
/// events from a view of them ([`ChromeSink::threaded`]), or rebuilds each [`Record`] for
/// another sink (text). At most [`ThreadedSink::CHUNKS_IN_FLIGHT`] full pieces wait for the
/// writer (the emulation thread waits when it falls behind), so host memory stays bounded
/// whatever the guests do; the output is byte for byte what the sink would write on the
/// emulation thread. A write error stops the writing, not the run, and is returned by
/// [`Sink::finish`].
pub struct ThreadedSink {
    chunk: Packer,
    filter: Filter,
    /// Packed records gathered for the writer thread (with the filter they are to pass): the
    /// kernel's small buffer is copied in here and kept, so that the emulation thread packs
    /// into memory that stays in its cache (packing straight into 1 MiB buffers that had
    /// been to the writer thread cost a cache miss every few stores, about 1.5 times the
    /// packing's own instructions).
    pending: Vec<u8>,
    pending_filter: Filter,
    to_writer: Option<std::sync::mpsc::SyncSender<record::Chunk>>,
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    writer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl ThreadedSink {
    /// Full buffers (of about [`ThreadedSink::SHIP_AT`] bytes) that may wait for the writer
    /// thread: with the one being filled and the one being written, about 6 MiB at most.
    pub const CHUNKS_IN_FLIGHT: usize = 4;
    /// Bytes of packed records handed to the writer thread at once. Each hand-over may wake
    /// the writer thread, which costs tens of microseconds on a virtual machine (a futex wake
    /// and an inter-processor interrupt): at 64 KiB those wakes were about a fifth of a traced
    /// ping-pong's time.
    pub const SHIP_AT: usize = 1 << 20;

    /// Run `sink` on a writer thread.
    pub fn new(sink: Box<dyn Sink>) -> Self {
        Self::start(Writer::Records(sink))
    }

    /// As a boxed [`Sink`] (what [`TraceLayer::new`] takes).
    pub fn into_box(self) -> Box<dyn Sink> {
        Box::new(self)
    }

    pub(crate) fn start(mut w: Writer) -> Self {
        let (to_writer, from_main) =
            std::sync::mpsc::sync_channel::<record::Chunk>(Self::CHUNKS_IN_FLIGHT);
        let (give_back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
        if let Writer::Jsonl { buf, .. } = &mut w {
            buf.extend_from_slice(
                format!(
                    "{{\"kind\":\"header\",\"version\":{SCHEMA_VERSION},\"tool\":\"ipcemu\",\"time_unit\":\"ns\"}}\n"
                )
                .as_bytes(),
            );
        }
        let writer = std::thread::Builder::new()
            .name("ipcemu-trace".into())
            .spawn(move || -> std::io::Result<()> {
                let mut result = Ok(());
                for mut chunk in from_main {
                    if result.is_ok() {
                        result = w.take(&chunk);
                    }
                    // After an error the buffers are only given back: the run goes on and
                    // the error is reported at the end.
                    chunk.packed.clear();
                    let _ = give_back.send(chunk.packed);
                }
                result?;
                w.finish()
            });
        let (to_writer, writer) = match writer {
            Ok(h) => (Some(to_writer), Some(h)),
            Err(_) => (None, None),
        };
        ThreadedSink {
            chunk: Packer::default(),
            filter: Filter::default(),
            pending: Vec::new(),
            pending_filter: Filter::default(),
            to_writer,
            spare,
            writer,
        }
    }

    /// Hand `full` to the writer thread with the filter its records are to pass.
    fn send(&mut self, full: Vec<u8>, filter: Filter) -> std::io::Result<()> {
        match &self.to_writer {
            Some(tx)
                if tx
                    .send(record::Chunk {
                        packed: full,
                        filter,
                    })
                    .is_ok() =>
            {
                Ok(())
            }
            _ => Err(std::io::Error::other("the trace writer thread is gone")),
        }
    }

    /// A used buffer back from the writer thread, or a new one.
    fn spare(&mut self) -> Vec<u8> {
        self.spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(Self::SHIP_AT + Packer::FLUSH_AT))
    }

    /// Add packed records (then cleared, keeping their buffer) to what goes to the writer
    /// thread, with the filter they are to pass.
    fn stage(&mut self, packed: &mut Vec<u8>, filter: &Filter) -> std::io::Result<()> {
        if self.pending_filter != *filter {
            if !self.pending.is_empty() {
                self.ship()?;
            }
            self.pending_filter = filter.clone();
        }
        if self.pending.capacity() == 0 {
            self.pending = self.spare();
        }
        self.pending.extend_from_slice(packed);
        packed.clear();
        if self.pending.len() >= Self::SHIP_AT {
            self.ship()?;
        }
        Ok(())
    }

    /// Hand what is staged to the writer thread.
    fn ship(&mut self) -> std::io::Result<()> {
        let full = std::mem::take(&mut self.pending);
        self.send(full, self.pending_filter.clone())
    }

    /// Stage the records packed by the sink itself (the event path).
    fn stage_own(&mut self) -> std::io::Result<()> {
        let mut b = std::mem::take(self.chunk.buf_mut());
        let filter = std::mem::take(&mut self.filter);
        let r = self.stage(&mut b, &filter);
        *self.chunk.buf_mut() = b;
        self.filter = filter;
        r
    }

    /// Use `filter` for the records packed from now on.
    fn set_filter(&mut self, filter: &Filter) -> std::io::Result<()> {
        if self.filter != *filter {
            if !self.chunk.is_empty() {
                self.stage_own()?;
            }
            self.filter = filter.clone();
        }
        Ok(())
    }

    fn ship_if_full(&mut self) -> std::io::Result<()> {
        if self.chunk.len() >= Packer::FLUSH_AT {
            self.stage_own()
        } else {
            Ok(())
        }
    }
}

impl Sink for ThreadedSink {
    fn record(&mut self, r: &Record) -> std::io::Result<()> {
        // A whole record (a layer without the event path): kept as its JSON (serde's field
        // order).
        let line = serde_json::to_vec(r)?;
        self.record_json(r, &line)
    }
    fn record_json(&mut self, _r: &Record, json: &[u8]) -> std::io::Result<()> {
        // `trace convert`: the line as it is in the file, so the output is what a run writes.
        self.chunk.raw(json);
        self.ship_if_full()
    }
    fn event(
        &mut self,
        event: &tracing::Event<'_>,
        filter: &Filter,
    ) -> Option<std::io::Result<()>> {
        if let Err(e) = self.set_filter(filter) {
            return Some(Err(e));
        }
        let mut v = record::CaptureVisitor::new(&mut self.chunk);
        event.record(&mut v);
        v.finish();
        Some(self.ship_if_full())
    }
    fn packed(&mut self, buf: &mut Vec<u8>, filter: &Filter) -> std::io::Result<()> {
        // Records made before these go first.
        if !self.chunk.is_empty() {
            self.stage_own()?;
        }
        self.stage(buf, filter)
    }
    fn finish(&mut self) -> std::io::Result<()> {
        if !self.chunk.is_empty() {
            self.stage_own()?;
        }
        if !self.pending.is_empty() {
            self.ship()?;
        }
        self.to_writer = None;
        match self.writer.take() {
            Some(w) => w
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the trace writer thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for ThreadedSink {
    fn drop(&mut self) {
        // Not finished (the run was cut short): still write what was captured.
        if self.writer.is_some() {
            let _ = self.finish();
        }
    }
}

/// Keeps records in memory, for programs and tests that inspect a trace.
#[derive(Clone, Default)]
pub struct MemorySink {
    records: Arc<Mutex<Vec<Record>>>,
}

impl MemorySink {
    /// A new, empty sink.
    pub fn new() -> Self {
        Self::default()
    }
    /// The records so far.
    pub fn records(&self) -> Vec<Record> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Sink for MemorySink {
    fn record(&mut self, r: &Record) -> std::io::Result<()> {
        if let Ok(mut v) = self.records.lock() {
            v.push(r.clone());
        }
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sink shared between the layer and whoever finishes the run.
pub type SharedSink = Arc<Mutex<Box<dyn Sink>>>;

/// The `tracing` layer that feeds trace records to a sink. Combine it with
/// [`only_trace_records`] as its per-layer filter so it never turns other events on.
pub struct TraceLayer {
    sink: SharedSink,
    filter: Filter,
    error: Arc<Mutex<Option<std::io::Error>>>,
}

impl TraceLayer {
    /// A layer writing records that pass `filter` to `sink`.
    pub fn new(sink: Box<dyn Sink>, filter: Filter) -> (Self, TraceHandle) {
        let sink = Arc::new(Mutex::new(sink));
        let error = Arc::new(Mutex::new(None));
        (
            TraceLayer {
                sink: Arc::clone(&sink),
                filter,
                error: Arc::clone(&error),
            },
            TraceHandle { sink, error },
        )
    }
}

/// Finishes the sink after the run and reports the first write error.
pub struct TraceHandle {
    sink: SharedSink,
    error: Arc<Mutex<Option<std::io::Error>>>,
}

impl TraceHandle {
    /// Flush the sink; returns the first error any write hit.
    pub fn finish(&self) -> std::io::Result<()> {
        if let Some(e) = self.error.lock().ok().and_then(|mut e| e.take()) {
            return Err(e);
        }
        match self.sink.lock() {
            Ok(mut s) => s.finish(),
            Err(_) => Err(std::io::Error::other("trace sink poisoned")),
        }
    }
}

impl<S: Subscriber> Layer<S> for TraceLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != ipcemu_kernel::trace::TARGET {
            return;
        }
        if let Ok(mut s) = self.sink.lock() {
            if let Some(res) = s.event(event, &self.filter) {
                if let Err(e) = res {
                    if let Ok(mut slot) = self.error.lock() {
                        slot.get_or_insert(e);
                    }
                }
                return;
            }
        }
        let mut r = Record::default();
        event.record(&mut r);
        if !self.filter.matches(&r) {
            return;
        }
        if let Ok(mut s) = self.sink.lock() {
            if let Err(e) = s.record(&r) {
                if let Ok(mut slot) = self.error.lock() {
                    slot.get_or_insert(e);
                }
            }
        }
    }
}

/// The same sink, fed directly by the kernel (`Kernel::set_trace_tap`) instead of through
/// `tracing`: what `ipcemu run --trace` uses, as it is several times cheaper per record.
impl TraceTap for TraceLayer {
    fn take(&self, buf: &mut Vec<u8>) {
        if let Ok(mut s) = self.sink.lock() {
            if let Err(e) = s.packed(buf, &self.filter) {
                if let Ok(mut slot) = self.error.lock() {
                    slot.get_or_insert(e);
                }
            }
        }
    }
}

/// The per-layer filter for [`TraceLayer`]: trace records only.
///
/// A `Targets` filter decides once per call site (not per event), so trace records reach the
/// layer without a dynamic filter check each time.
pub fn only_trace_records<S>() -> tracing_subscriber::filter::Targets {
    tracing_subscriber::filter::Targets::new()
        .with_target(ipcemu_kernel::trace::TARGET, tracing::Level::TRACE)
}

/// Output formats of `--trace-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned, readable lines.
    Text,
    /// JSON Lines.
    Jsonl,
    /// Chrome Trace Event JSON.
    Chrome,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Format::Text),
            "jsonl" => Ok(Format::Jsonl),
            "chrome" | "perfetto" => Ok(Format::Chrome),
            _ => Err(format!("unknown trace format {s:?} (text, jsonl, chrome)")),
        }
    }
}

/// Make the sink for a format.
pub fn sink_for(format: Format, out: Box<dyn Write + Send>, payload_width: usize) -> Box<dyn Sink> {
    match format {
        Format::Text => Box::new(ThreadedSink::new(Box::new(TextSink::new(
            out,
            payload_width,
        )))),
        Format::Jsonl => Box::new(JsonlSink::new(out)),
        Format::Chrome => Box::new(ChromeSink::threaded(out)),
    }
}

/// Rewrite a JSONL trace (`ipcemu run --trace t.jsonl`) in another format: every record goes
/// to `sink` in file order. Returns the number of records; a line that is not a record of this
/// schema is an error naming its line.
pub fn convert(jsonl: &str, sink: &mut dyn Sink) -> Result<u64, TraceFileError> {
    convert_inner(jsonl, sink).map_err(TraceFileError)
}

/// A trace file that cannot be read as a JSONL trace of this schema (the sentence names the
/// line), or a sink that cannot write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TraceFileError(pub String);

fn convert_inner(jsonl: &str, sink: &mut dyn Sink) -> Result<u64, String> {
    let mut n = 0;
    for (i, l) in jsonl.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(l).map_err(|e| format!("line {}: not JSON: {e}", i + 1))?;
        if v["kind"] == "header" {
            if !readable_version(&v["version"]) {
                return Err(format!(
                    "line {}: trace schema version {} (expected 1 to {SCHEMA_VERSION})",
                    i + 1,
                    v["version"]
                ));
            }
            continue;
        }
        let r: Record = serde_json::from_value(v)
            .map_err(|e| format!("line {}: not a trace record: {e}", i + 1))?;
        sink.record_json(&r, l.trim().as_bytes())
            .map_err(|e| format!("line {}: cannot write: {e}", i + 1))?;
        n += 1;
    }
    sink.finish().map_err(|e| format!("cannot write: {e}"))?;
    Ok(n)
}

/// Decode the lower-case hex payload of a record.
pub fn unhex(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let v = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    };
    b.chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| v(c[0]) << 4 | v(c[1]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipcemu_kernel::trace::{Field, FieldValue as F};

    /// A writer the test reads back; it fails every write after `fail_after` bytes.
    #[derive(Clone)]
    struct Shared(Arc<Mutex<Vec<u8>>>, usize);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let mut g = self.0.lock().unwrap();
            if g.len() + b.len() > self.1 {
                return Err(std::io::Error::other("disk full"));
            }
            g.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    fn shared(limit: usize) -> Shared {
        Shared(Arc::new(Mutex::new(Vec::new())), limit)
    }

    /// The fields of a send record, as the kernel's `trace_rec!` gives them.
    fn send<'a>(i: u64, name: &'a str, payload: &'a [u8]) -> Vec<(Field, F<'a>)> {
        vec![
            (Field::kind, F::Str("send")),
            (Field::t_ns, F::U64(i * 1000)),
            (Field::step, F::U64(i)),
            (Field::pers, F::Str("kolibri")),
            (Field::proc, F::U64(i % 2)),
            (Field::pid, F::U64(3 + i % 2)),
            (Field::name, F::Str(name)),
            (Field::peer_pid, F::U64(4 - i % 2)),
            (Field::peer_name, F::Str("peer \"q\"\n")),
            (Field::len, F::U64(20)),
            (Field::result, F::I64(-1)),
            (Field::masked, F::Bool(i.is_multiple_of(3))),
            (Field::msg, F::U64(i)),
            (Field::payload, F::Bytes(payload)),
        ]
    }

    /// Packs records as the kernel does and hands full buffers to a sink (or a tap).
    #[derive(Default)]
    struct Feed(Packer);
    impl Feed {
        fn push(&mut self, fields: &[(Field, F<'_>)]) -> bool {
            self.0.begin();
            for &(f, v) in fields {
                self.0.put(f, v);
            }
            self.0.end();
            self.0.len() >= Packer::FLUSH_AT
        }
        fn feed_sink(&mut self, s: &mut dyn Sink, fields: &[(Field, F<'_>)], f: &Filter) {
            if self.push(fields) {
                self.flush(s, f);
            }
        }
        fn flush(&mut self, s: &mut dyn Sink, f: &Filter) {
            let b = self.0.buf_mut();
            s.packed(b, f).unwrap();
            b.clear();
        }
    }

    #[test]
    fn threaded_jsonl_is_the_records_json_in_order_across_many_chunks() {
        let out = shared(usize::MAX);
        let mut s = JsonlSink::new(Box::new(out.clone()));
        let n = 20_000u64;
        let mut feed = Feed::default();
        for i in 0..n {
            feed.feed_sink(&mut s, &send(i, "srv", b"hi"), &Filter::default());
        }
        feed.flush(&mut s, &Filter::default());
        s.finish().unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len() as u64, n + 1);
        assert!(lines[0].contains("\"kind\":\"header\""));
        for (i, l) in lines[1..].iter().enumerate() {
            let r: Record = serde_json::from_str(l).unwrap();
            assert_eq!(r.step, i as u64);
            assert_eq!(r.kind, Kind::Send);
            assert_eq!(r.peer_name.as_deref(), Some("peer \"q\"\n"));
            assert_eq!(r.result, Some(-1));
            assert_eq!(r.masked, Some((i as u64).is_multiple_of(3)));
            assert_eq!(r.payload.as_deref(), Some("6869"));
        }
        // The fields keep the kernel's order (not serde's).
        assert!(
            lines[1].starts_with("{\"kind\":\"send\",\"t_ns\":0,\"step\":0,\"pers\":\"kolibri\"")
        );
    }

    #[test]
    fn threaded_text_sink_writes_what_the_sink_writes_itself() {
        let direct = shared(usize::MAX);
        let mut d = TextSink::new(Box::new(direct.clone()), 8);
        let threaded = shared(usize::MAX);
        let mut t = ThreadedSink::new(Box::new(TextSink::new(Box::new(threaded.clone()), 8)));
        let (mut fd, mut ft) = (Feed::default(), Feed::default());
        for i in 0..5_000 {
            let f = send(i, "cli", b"ping");
            fd.feed_sink(&mut d, &f, &Filter::default());
            ft.feed_sink(&mut t, &f, &Filter::default());
        }
        fd.flush(&mut d, &Filter::default());
        ft.flush(&mut t, &Filter::default());
        d.finish().unwrap();
        t.finish().unwrap();
        let a = direct.0.lock().unwrap().clone();
        assert!(!a.is_empty());
        assert_eq!(a, *threaded.0.lock().unwrap());
    }

    #[test]
    fn the_filter_applies_on_the_direct_path() {
        let out = shared(usize::MAX);
        let mut s = JsonlSink::new(Box::new(out.clone()));
        let f = Filter::parse("pid=3").unwrap();
        let mut feed = Feed::default();
        for i in 0..10 {
            feed.feed_sink(&mut s, &send(i, "srv", b""), &f);
        }
        feed.flush(&mut s, &f);
        s.finish().unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        // pid 3 or peer 3: every record names 3 on one side or the other.
        assert_eq!(text.lines().count(), 11);
        let f = Filter::parse("name=nobody").unwrap();
        let out = shared(usize::MAX);
        let mut s = JsonlSink::new(Box::new(out.clone()));
        let mut feed = Feed::default();
        for i in 0..10 {
            feed.feed_sink(&mut s, &send(i, "srv", b""), &f);
        }
        feed.flush(&mut s, &f);
        s.finish().unwrap();
        assert_eq!(
            out.0
                .lock()
                .unwrap()
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            1
        );
    }

    #[test]
    fn a_write_error_is_reported_at_the_end_and_the_run_is_not_blocked() {
        let out = shared(100_000);
        let layer = TraceLayer::new(JsonlSink::new(Box::new(out)).into_box(), Filter::default());
        let (layer, handle) = layer;
        // Far more than fits, and far more than the chunks in flight: the emulation side
        // never waits for a writer that has failed.
        let mut feed = Feed::default();
        for i in 0..200_000 {
            if feed.push(&send(i, "srv", b"\0")) {
                let b = feed.0.buf_mut();
                TraceTap::take(&layer, b);
                b.clear();
            }
        }
        let e = handle.finish().unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
    }
}
