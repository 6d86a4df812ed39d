//! `ipcemu trace summary FILE.jsonl`: per sender -> receiver pair, messages, bytes and result
//! codes; then the longest waits. Every sum and difference is checked: a record that would make
//! one wrap (a wake before its wait, byte counts past 2^64) is an error naming its line.

use crate::{Kind, Record};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// Messages from one sender to one receiver.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct Pair {
    /// `name[pid]` of the sender (PC-IPC: with its ID).
    pub sender: String,
    /// `name[pid]` of the receiver (PC-IPC: `PC-IPC id N`).
    pub receiver: String,
    /// Send attempts.
    pub attempts: u64,
    /// Delivered.
    pub delivered: u64,
    /// Bytes delivered.
    pub bytes: u64,
    /// Results and how often each came (`ok`, `no IPC area`, `denied`, `error 06h`).
    pub results: BTreeMap<String, u64>,
}

/// One wait.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Wait {
    /// `name[pid]`.
    pub thread: String,
    /// What it waited for.
    pub what: String,
    /// Guest time it began (ns).
    pub from_ns: u64,
    /// How long (ns).
    pub ns: u64,
}

/// What `trace summary` reports (`--json` prints it as JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Records read.
    pub records: u64,
    /// Guest time of the last record (ns).
    pub end_ns: u64,
    /// Per sender -> receiver pair, in name order.
    pub pairs: Vec<Pair>,
    /// The ten longest waits, longest first.
    pub longest_waits: Vec<Wait>,
}

/// Summarise a JSONL trace (the text of the file) as text. Errors name the bad line.
pub fn summary(jsonl: &str) -> Result<String, crate::TraceFileError> {
    summarize(jsonl).map(|s| s.text())
}

/// Summarise a JSONL trace (the text of the file). Errors name the bad line.
pub fn summarize(jsonl: &str) -> Result<Summary, crate::TraceFileError> {
    summarize_inner(jsonl).map_err(crate::TraceFileError)
}

fn summarize_inner(jsonl: &str) -> Result<Summary, String> {
    let mut pairs: BTreeMap<(String, String), Pair> = BTreeMap::new();
    let mut waits: Vec<(u64, String, String, u64)> = Vec::new();
    // Open waits per PID: (start, what, line).
    let mut open: HashMap<u32, (u64, String, usize)> = HashMap::new();
    let mut records = 0u64;
    let mut end_ns = 0u64;
    for (i, l) in jsonl.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(l).map_err(|e| format!("line {}: not JSON: {e}", i + 1))?;
        if v["kind"] == "header" {
            if !crate::readable_version(&v["version"]) {
                return Err(format!(
                    "line {}: trace schema version {} (expected 1 to {})",
                    i + 1,
                    v["version"],
                    crate::SCHEMA_VERSION
                ));
            }
            continue;
        }
        let r: Record = serde_json::from_value(v)
            .map_err(|e| format!("line {}: not a trace record: {e}", i + 1))?;
        records += 1;
        end_ns = end_ns.max(r.t_ns);
        match r.kind {
            Kind::Send => {
                let p = pairs
                    .entry((r.actor(), r.peer().unwrap_or_default()))
                    .or_default();
                p.attempts += 1;
                let res = r.result.unwrap_or(-1);
                if res == 0 {
                    p.delivered += 1;
                    p.bytes = add_bytes(p.bytes, r.len.unwrap_or(0), i + 1)?;
                }
                *p.results
                    .entry(crate::text::send_result(res).to_string())
                    .or_default() += 1;
            }
            Kind::Deny | Kind::Drop => {
                // A message a hook refused (the KOS security module) or lost on purpose.
                let p = pairs
                    .entry((r.actor(), r.peer().unwrap_or_default()))
                    .or_default();
                p.attempts += 1;
                let what = if r.kind == Kind::Deny {
                    "denied"
                } else {
                    "dropped"
                };
                *p.results.entry(what.to_string()).or_default() += 1;
            }
            Kind::PcCmd if r.cmd == Some(0x07) => {
                let key = (
                    format!("{} id {}", r.actor(), r.caller_id.unwrap_or(0)),
                    format!("PC-IPC id {}", r.to_id.unwrap_or(0)),
                );
                let p = pairs.entry(key).or_default();
                p.attempts += 1;
                let e = r.error.unwrap_or(0);
                if e == 0 {
                    p.delivered += 1;
                    p.bytes = add_bytes(p.bytes, r.size.unwrap_or(0), i + 1)?;
                    *p.results.entry("ok".into()).or_default() += 1;
                } else {
                    *p.results.entry(format!("error {e:02X}h")).or_default() += 1;
                }
            }
            Kind::Wait => {
                open.insert(r.pid, (r.t_ns, r.what.clone().unwrap_or_default(), i + 1));
            }
            // Since schema 2 a KolibriOS event wait ends with its `event_read` (no `wake`).
            Kind::Wake | Kind::EventRead | Kind::ThreadEnd => {
                if let Some((t0, what, wait_line)) = open.remove(&r.pid) {
                    let Some(d) = r.t_ns.checked_sub(t0) else {
                        return Err(format!(
                            "line {}: {} of {} at t_ns={} comes before its wait (line {wait_line}, \
                             t_ns={t0}); the trace is inconsistent",
                            i + 1,
                            r.kind,
                            r.actor(),
                            r.t_ns
                        ));
                    };
                    waits.push((d, r.actor(), what, t0));
                }
            }
            _ => {}
        }
    }
    waits.sort_by(|a, b| b.0.cmp(&a.0).then(a.3.cmp(&b.3)));
    Ok(Summary {
        records,
        end_ns,
        pairs: pairs
            .into_iter()
            .map(|((sender, receiver), p)| Pair {
                sender,
                receiver,
                ..p
            })
            .collect(),
        longest_waits: waits
            .into_iter()
            .take(10)
            .map(|(ns, thread, what, from_ns)| Wait {
                thread,
                what,
                from_ns,
                ns,
            })
            .collect(),
    })
}

impl Summary {
    /// The report as one JSON object (`trace summary --json`), with a newline.
    pub fn json(&self) -> String {
        let mut j =
            serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        j.push('\n');
        j
    }

    /// The report as `trace summary` prints it.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} records, guest time {:.6}s",
            self.records,
            self.end_ns as f64 / 1e9
        );
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{:<28} {:<28} {:>9} {:>9} {:>10}  results",
            "sender", "receiver", "attempts", "delivered", "bytes"
        );
        for p in &self.pairs {
            let codes: Vec<String> = p.results.iter().map(|(c, n)| format!("{c} x{n}")).collect();
            let _ = writeln!(
                s,
                "{:<28} {:<28} {:>9} {:>9} {:>10}  {}",
                p.sender,
                p.receiver,
                p.attempts,
                p.delivered,
                p.bytes,
                codes.join(", ")
            );
        }
        if self.pairs.is_empty() {
            let _ = writeln!(s, "(no messages)");
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "longest waits:");
        for w in &self.longest_waits {
            let _ = writeln!(
                s,
                "  {:>12.6}s  {:<24} {:<12} from t={:.6}s",
                w.ns as f64 / 1e9,
                w.thread,
                w.what,
                w.from_ns as f64 / 1e9
            );
        }
        if self.longest_waits.is_empty() {
            let _ = writeln!(s, "  (none)");
        }
        s
    }
}

/// `total + n`, or an error naming the line whose size makes the byte total pass 2^64.
fn add_bytes(total: u64, n: u64, line: usize) -> Result<u64, String> {
    total.checked_add(n).ok_or_else(|| {
        format!(
            "line {line}: a size of {n} bytes makes the pair's byte total pass 2^64; \
             the trace is inconsistent"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::summary;

    const HDR: &str = r#"{"kind":"header","version":1,"tool":"ipcemu","time_unit":"ns"}"#;

    fn rec(kind: &str, t_ns: u64, extra: &str) -> String {
        format!(
            r#"{{"kind":"{kind}","t_ns":{t_ns},"step":1,"proc":0,"pid":2,"name":"a","pers":"kolibri"{extra}}}"#
        )
    }

    #[test]
    fn a_wake_before_its_wait_is_named() {
        let t = [
            HDR.to_string(),
            rec("wait", 500, r#","what":"ipc""#),
            rec("wake", 100, ""),
        ]
        .join("\n");
        let e = summary(&t).unwrap_err().0;
        assert!(e.starts_with("line 3: wake of a[2] at t_ns=100"), "{e}");
        assert!(e.contains("(line 2, t_ns=500)"), "{e}");
        // In order, the same records are fine.
        let t = [
            HDR.to_string(),
            rec("wait", 100, r#","what":"ipc""#),
            rec("wake", 500, ""),
        ]
        .join("\n");
        assert!(summary(&t).unwrap().contains("0.000000s"));
    }

    #[test]
    fn a_version_2_event_wait_ends_at_its_event_read() {
        let hdr = HDR.replace("\"version\":1", "\"version\":2");
        let t = [
            hdr,
            rec("wait", 1_000, r#","what":"event""#),
            rec("event_read", 4_000, r#","code":7,"msgs":[1]"#),
            rec("wait", 5_000, r#","what":"event""#),
            rec("thread_end", 7_000, ""),
        ]
        .join("\n");
        let s = summary(&t).unwrap();
        // Two waits: 3 us (ended by the read) and 2 us (by the end of the thread).
        assert!(s.contains("0.000003s"), "{s}");
        assert!(s.contains("0.000002s"), "{s}");
    }

    #[test]
    fn lines_that_are_not_records_are_named() {
        let e = summary(&format!("{HDR}\n{{not json")).unwrap_err().0;
        assert!(e.starts_with("line 2: not JSON"), "{e}");
        let e = summary(r#"{"kind":"header","version":99}"#).unwrap_err().0;
        assert!(e.starts_with("line 1: trace schema version 99"), "{e}");
        let e = summary(&format!("{HDR}\n{{\"kind\":\"send\"}}"))
            .unwrap_err()
            .0;
        assert!(e.starts_with("line 2: not a trace record"), "{e}");
    }

    #[test]
    fn byte_totals_never_wrap() {
        let send = |len: u64| {
            rec(
                "send",
                1,
                &format!(r#","peer_pid":3,"peer_name":"b","result":0,"len":{len}"#),
            )
        };
        let t = [HDR.to_string(), send(u64::MAX - 1), send(1)].join("\n");
        let s = summary(&t).unwrap();
        assert!(s.contains(&(u64::MAX).to_string()), "{s}");
        let t = [HDR.to_string(), send(u64::MAX - 1), send(1), send(1)].join("\n");
        let e = summary(&t).unwrap_err().0;
        assert!(e.starts_with("line 4: a size of 1 bytes"), "{e}");
    }
}
