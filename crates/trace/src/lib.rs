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

use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// Version of the JSONL schema (the `version` of the header record).
pub const SCHEMA_VERSION: u32 = 1;

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
    /// Write whatever is buffered (called once at the end).
    fn finish(&mut self) -> std::io::Result<()>;
}

/// JSON Lines: a header line, then one record per line.
pub struct JsonlSink {
    out: Box<dyn Write + Send>,
    buf: Vec<u8>,
}

impl JsonlSink {
    /// A sink writing to `out` (records are collected in 64 KiB chunks before each write).
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(
            format!(
                "{{\"kind\":\"header\",\"version\":{SCHEMA_VERSION},\"tool\":\"ipcemu\",\"time_unit\":\"ns\"}}\n"
            )
            .as_bytes(),
        );
        JsonlSink { out, buf }
    }
}

impl JsonlSink {
    fn end_line(&mut self) -> std::io::Result<()> {
        self.buf.push(b'\n');
        if self.buf.len() >= 1 << 16 {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

impl Sink for JsonlSink {
    fn record(&mut self, r: &Record) -> std::io::Result<()> {
        // The fallback path (the layer uses `event`): same keys, serde's field order.
        serde_json::to_writer(&mut self.buf, r)?;
        self.end_line()
    }
    fn event(
        &mut self,
        event: &tracing::Event<'_>,
        filter: &Filter,
    ) -> Option<std::io::Result<()>> {
        let start = self.buf.len();
        let mut v = record::JsonVisitor::new(&mut self.buf, filter);
        event.record(&mut v);
        let keep = v.finish();
        if keep {
            Some(self.end_line())
        } else {
            self.buf.truncate(start);
            Some(Ok(()))
        }
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
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
        Format::Text => Box::new(TextSink::new(out, payload_width)),
        Format::Jsonl => Box::new(JsonlSink::new(out)),
        Format::Chrome => Box::new(ChromeSink::new(out)),
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
            if v["version"] != SCHEMA_VERSION {
                return Err(format!(
                    "line {}: trace schema version {} (expected {SCHEMA_VERSION})",
                    i + 1,
                    v["version"]
                ));
            }
            continue;
        }
        let r: Record = serde_json::from_value(v)
            .map_err(|e| format!("line {}: not a trace record: {e}", i + 1))?;
        sink.record(&r)
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
