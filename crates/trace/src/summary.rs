//! `ipcemu trace summary FILE.jsonl`: per sender -> receiver pair, messages, bytes and result
//! codes; then the longest waits.

use crate::Record;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

#[derive(Default)]
struct Pair {
    attempts: u64,
    delivered: u64,
    bytes: u64,
    codes: BTreeMap<String, u64>,
}

/// Summarise a JSONL trace (the text of the file). Errors name the bad line.
pub fn summary(jsonl: &str) -> Result<String, String> {
    let mut pairs: BTreeMap<(String, String), Pair> = BTreeMap::new();
    let mut waits: Vec<(u64, String, String, u64)> = Vec::new();
    let mut open: HashMap<u32, (u64, String)> = HashMap::new();
    let mut records = 0u64;
    let mut end_ns = 0u64;
    for (i, l) in jsonl.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(l).map_err(|e| format!("line {}: not JSON: {e}", i + 1))?;
        if v["kind"] == "header" {
            if v["version"] != crate::SCHEMA_VERSION {
                return Err(format!(
                    "line {}: trace schema version {} (expected {})",
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
        match r.kind.as_str() {
            "send" => {
                let p = pairs
                    .entry((r.actor(), r.peer().unwrap_or_default()))
                    .or_default();
                p.attempts += 1;
                let res = r.result.unwrap_or(-1);
                if res == 0 {
                    p.delivered += 1;
                    p.bytes += r.len.unwrap_or(0);
                }
                *p.codes
                    .entry(crate::text::send_result(res).to_string())
                    .or_default() += 1;
            }
            "deny" | "drop" => {
                // A message a hook refused (the KOS security module) or lost on purpose.
                let p = pairs
                    .entry((r.actor(), r.peer().unwrap_or_default()))
                    .or_default();
                p.attempts += 1;
                let what = if r.kind == "deny" {
                    "denied"
                } else {
                    "dropped"
                };
                *p.codes.entry(what.to_string()).or_default() += 1;
            }
            "pc_cmd" if r.cmd == Some(0x07) => {
                let key = (
                    format!("{} id {}", r.actor(), r.caller_id.unwrap_or(0)),
                    format!("PC-IPC id {}", r.to_id.unwrap_or(0)),
                );
                let p = pairs.entry(key).or_default();
                p.attempts += 1;
                let e = r.error.unwrap_or(0);
                if e == 0 {
                    p.delivered += 1;
                    p.bytes += r.size.unwrap_or(0);
                    *p.codes.entry("ok".into()).or_default() += 1;
                } else {
                    *p.codes.entry(format!("error {e:02X}h")).or_default() += 1;
                }
            }
            "wait" => {
                open.insert(r.pid, (r.t_ns, r.what.clone().unwrap_or_default()));
            }
            "wake" | "thread_end" => {
                if let Some((t0, what)) = open.remove(&r.pid) {
                    waits.push((r.t_ns - t0, r.actor(), what, t0));
                }
            }
            _ => {}
        }
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{records} records, guest time {:.6}s",
        end_ns as f64 / 1e9
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<28} {:<28} {:>9} {:>9} {:>10}  results",
        "sender", "receiver", "attempts", "delivered", "bytes"
    );
    for ((from, to), p) in &pairs {
        let codes: Vec<String> = p.codes.iter().map(|(c, n)| format!("{c} x{n}")).collect();
        let _ = writeln!(
            s,
            "{from:<28} {to:<28} {:>9} {:>9} {:>10}  {}",
            p.attempts,
            p.delivered,
            p.bytes,
            codes.join(", ")
        );
    }
    if pairs.is_empty() {
        let _ = writeln!(s, "(no messages)");
    }
    waits.sort_by(|a, b| b.0.cmp(&a.0).then(a.3.cmp(&b.3)));
    let _ = writeln!(s);
    let _ = writeln!(s, "longest waits:");
    for (d, who, what, t0) in waits.iter().take(10) {
        let _ = writeln!(
            s,
            "  {:>12.6}s  {who:<24} {what:<12} from t={:.6}s",
            *d as f64 / 1e9,
            *t0 as f64 / 1e9
        );
    }
    if waits.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    Ok(s)
}
