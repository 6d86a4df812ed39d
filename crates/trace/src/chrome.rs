//! Chrome Trace Event JSON (opens in the Perfetto UI and chrome://tracing).
//!
//! One process track per guest process (`pid` = process index + 1), one thread track per guest
//! thread (`tid` = its PID). Blocked waits are `B`/`E` slices; sends, deliveries and reads are
//! short `X` slices; each delivered message is a flow (`s` at its send, `f` at the read that
//! consumed it, `id` = message number). Timestamps are guest-clock microseconds.

use crate::text::line;
use crate::{Record, Sink};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

/// Chrome sink: collects events and writes one JSON document at the end.
pub struct ChromeSink {
    out: Box<dyn Write + Send>,
    events: Vec<Value>,
    open_wait: HashMap<u32, bool>,
    named: BTreeMap<(u64, u32), String>,
    /// Delivered messages not yet read: where the delivery slice is (pid, tid, ts).
    unread: HashMap<u64, (u64, u32, f64)>,
}

impl ChromeSink {
    /// A sink writing to `out` when finished.
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        ChromeSink {
            out,
            events: Vec::new(),
            open_wait: HashMap::new(),
            named: BTreeMap::new(),
            unread: HashMap::new(),
        }
    }

    fn push(&mut self, v: Value) {
        self.events.push(v);
    }
}

const SLICE_US: f64 = 0.5;

impl Sink for ChromeSink {
    fn record(&mut self, r: &Record) -> std::io::Result<()> {
        let ts = r.t_ns as f64 / 1000.0;
        let (pid, tid) = (r.proc + 1, r.pid);
        if !self.named.contains_key(&(r.proc, r.pid)) {
            let first_of_proc = !self.named.keys().any(|(p, _)| *p == r.proc);
            self.named.insert((r.proc, r.pid), r.actor());
            if first_of_proc {
                self.push(json!({"ph":"M","name":"process_name","pid":pid,"tid":tid,
                    "args":{"name": format!("{} (process {})", r.name, r.proc)}}));
            }
            self.push(json!({"ph":"M","name":"thread_name","pid":pid,"tid":tid,
                "args":{"name": r.actor()}}));
        }
        // Anything but the wait itself ends an open wait slice at this time.
        if r.kind != "wait" && self.open_wait.remove(&tid).is_some() {
            self.push(json!({"ph":"E","pid":pid,"tid":tid,"ts":ts}));
        }
        let args = serde_json::to_value(r).unwrap_or(Value::Null);
        let slice = |name: String, cat: &str| {
            json!({"ph":"X","name":name,"cat":cat,"pid":pid,"tid":tid,"ts":ts,"dur":SLICE_US,
                "args": args.clone()})
        };
        match r.kind.as_str() {
            "wait" => {
                self.open_wait.insert(tid, true);
                let name = format!("wait {}", r.what.as_deref().unwrap_or(""));
                self.push(
                    json!({"ph":"B","name":name,"cat":"wait","pid":pid,"tid":tid,"ts":ts,
                    "args": args}),
                );
            }
            "wake" | "thread_start" | "proc_start" => {}
            "send" => {
                let name = format!(
                    "send {} B -> {}",
                    r.len.unwrap_or(0),
                    r.peer().unwrap_or_default()
                );
                self.push(slice(name, "ipc"));
                if let Some(m) = r.msg.filter(|&m| m != 0) {
                    self.push(json!({"ph":"s","name":"message","cat":"ipc","id":m,
                        "pid":pid,"tid":tid,"ts":ts}));
                }
            }
            "deliver" => {
                let name = format!(
                    "deliver {} B <- {}",
                    r.len.unwrap_or(0),
                    r.peer().unwrap_or_default()
                );
                self.push(slice(name, "ipc"));
                if let Some(m) = r.msg {
                    self.unread.insert(m, (pid, tid, ts));
                }
            }
            "event_read" => {
                self.push(slice(format!("read event {}", r.code.unwrap_or(0)), "ipc"));
                for m in r.msgs.iter().flatten() {
                    self.unread.remove(m);
                    self.push(
                        json!({"ph":"f","bp":"e","name":"message","cat":"ipc","id":m,
                        "pid":pid,"tid":tid,"ts":ts}),
                    );
                }
            }
            "pc_cmd" => {
                let cmd = r.cmd.unwrap_or(0);
                self.push(slice(
                    format!("pcipc {}", crate::text::pc_cmd_name(cmd)),
                    "pcipc",
                ));
                if let Some(m) = r.msg.filter(|&m| m != 0) {
                    let (ph, bp) = if cmd == 0x07 {
                        ("s", None)
                    } else {
                        ("f", Some("e"))
                    };
                    let mut ev = json!({"ph":ph,"name":"message","cat":"ipc","id":m,
                        "pid":pid,"tid":tid,"ts":ts});
                    if let Some(bp) = bp {
                        ev["bp"] = json!(bp);
                    }
                    self.push(ev);
                }
            }
            _ => {
                let text = line(r, 32);
                let name = text
                    .split_whitespace()
                    .skip(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                self.push(
                    json!({"ph":"i","s":"t","name":name,"cat":r.kind,"pid":pid,"tid":tid,
                    "ts":ts,"args":args}),
                );
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        // Messages delivered but never read end their flow at the delivery; messages never
        // delivered anywhere (PC-IPC messages left in the pool) lose their dangling start.
        let mut unread: Vec<(u64, (u64, u32, f64))> = self.unread.drain().collect();
        unread.sort_by_key(|(m, _)| *m);
        for (m, (pid, tid, ts)) in unread {
            self.events.push(
                json!({"ph":"f","bp":"e","name":"message","cat":"ipc","id":m,
                "pid":pid,"tid":tid,"ts":ts}),
            );
        }
        let ended: std::collections::HashSet<u64> = self
            .events
            .iter()
            .filter(|e| e["ph"] == "f")
            .filter_map(|e| e["id"].as_u64())
            .collect();
        self.events
            .retain(|e| e["ph"] != "s" || e["id"].as_u64().is_some_and(|id| ended.contains(&id)));
        // Close waits still open at the end (deadlock, timeout).
        let last = self
            .events
            .iter()
            .filter_map(|e| e["ts"].as_f64())
            .fold(0.0, f64::max);
        let open: Vec<u32> = self.open_wait.drain().map(|(t, _)| t).collect();
        for tid in open {
            if let Some(pid) = self
                .named
                .keys()
                .find(|(_, t)| *t == tid)
                .map(|(p, _)| p + 1)
            {
                self.events
                    .push(json!({"ph":"E","pid":pid,"tid":tid,"ts":last}));
            }
        }
        // Metadata first, then everything in time order (stable: same-time order is kept).
        self.events.sort_by(|a, b| {
            let key = |e: &Value| (e["ph"] != "M", e["ts"].as_f64().unwrap_or(0.0));
            let (ka, kb) = (key(a), key(b));
            ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
        });
        let doc = json!({
            "traceEvents": std::mem::take(&mut self.events),
            "displayTimeUnit": "ns",
            "otherData": {"tool": "ipcemu", "version": crate::SCHEMA_VERSION, "clock": "guest"},
        });
        serde_json::to_writer(&mut self.out, &doc)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
