//! Trace output of real guests: golden text and JSONL traces (byte for byte), determinism,
//! filters, the summary, and the Chrome/Perfetto file parsed back and checked.
//! Set IPCEMU_BLESS=1 to rewrite the golden files after an intended change.

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::root;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ipcemu-trace-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Run ipcemu with a trace into `file`; returns the trace text.
fn traced(args: &[&str], format: &str, file: &Path, extra: &[&str]) -> String {
    let f = file.to_string_lossy().into_owned();
    let mut a = vec!["run"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--trace", &f, "--trace-format", format]);
    a.extend_from_slice(extra);
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args(&a)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{a:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(file).unwrap()
}

const ECHO: [&str; 4] = [
    "fixtures/kolibri/echo_srv.kex",
    "fixtures/kolibri/echo_cli.kex",
    "--params",
    "2=3",
];

fn golden(name: &str, got: &str) {
    let p = root().join("fixtures/traces").join(name);
    if std::env::var_os("IPCEMU_BLESS").is_some() {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, got).unwrap();
    }
    let want = std::fs::read_to_string(&p)
        .unwrap_or_else(|_| panic!("missing {} (run with IPCEMU_BLESS=1)", p.display()));
    assert!(
        got == want,
        "{name} differs from the golden file {}",
        p.display()
    );
}

#[test]
fn echo_pair_golden_text_and_jsonl() {
    let text = traced(&ECHO, "text", &tmp("echo.txt"), &[]);
    golden("echo_pair.txt", &text);
    let jsonl = traced(&ECHO, "jsonl", &tmp("echo.jsonl"), &[]);
    golden("echo_pair.jsonl", &jsonl);
}

#[test]
fn every_message_is_sent_delivered_and_read() {
    let jsonl = traced(&ECHO, "jsonl", &tmp("flow.jsonl"), &[]);
    let mut lines = jsonl.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["kind"], "header");
    assert_eq!(header["version"], 2);
    let recs: Vec<Value> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids = |kind: &str| -> Vec<u64> {
        recs.iter()
            .filter(|r| r["kind"] == kind)
            .filter_map(|r| r["msg"].as_u64())
            .filter(|&m| m != 0)
            .collect()
    };
    let sent = ids("send");
    assert_eq!(sent.len(), 7, "3 requests, 3 replies, quit");
    // Schema 2: a KolibriOS send that delivers says where (`offset`); no `deliver` record,
    // and a wait that an event ends shows as that `event_read` (no `wake`).
    assert!(ids("deliver").is_empty());
    assert!(recs
        .iter()
        .filter(|r| r["kind"] == "send")
        .all(|r| r["offset"].as_u64().is_some()));
    let read: Vec<u64> = recs
        .iter()
        .filter(|r| r["kind"] == "event_read")
        .flat_map(|r| r["msgs"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_u64())
        .collect();
    assert_eq!(
        read, sent,
        "each delivered message is consumed by one event-7 read"
    );
    for w in recs.windows(2) {
        assert!(
            w[0]["t_ns"].as_u64() <= w[1]["t_ns"].as_u64(),
            "time never goes back"
        );
    }
}

#[test]
fn jsonl_is_byte_identical_across_runs() {
    let args = [
        "fixtures/kolibri/fan_cli.kex",
        "fixtures/kolibri/fan_srv.kex",
        "fixtures/kolibri/fan_cli.kex",
        "fixtures/kolibri/fan_cli.kex",
    ];
    let a = traced(&args, "jsonl", &tmp("det1.jsonl"), &[]);
    let b = traced(&args, "jsonl", &tmp("det2.jsonl"), &[]);
    assert!(a.lines().count() > 1000, "a real trace");
    assert!(a == b, "same inputs, different trace");
}

#[test]
fn filters_keep_only_matching_records() {
    let t = traced(
        &ECHO,
        "jsonl",
        &tmp("filt.jsonl"),
        &["--trace-filter", "kind=send,name=echo_cli"],
    );
    let recs: Vec<Value> = t
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 7, "sends from or to echo_cli");
    assert!(recs.iter().all(|r| r["kind"] == "send"));
    let t = traced(
        &ECHO,
        "jsonl",
        &tmp("filt2.jsonl"),
        &["--trace-filter", "pid=3,kind=wait|wake"],
    );
    assert!(t
        .lines()
        .skip(1)
        .all(|l| l.contains("\"pid\":3") && (l.contains("wait") || l.contains("wake"))));
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args([
            "run",
            "fixtures/kolibri/nop.kex",
            "--trace",
            "-",
            "--trace-filter",
            "colour=red",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown key \"colour\""));
}

#[test]
fn summary_counts_pairs_and_waits() {
    let f = tmp("sum.jsonl");
    traced(&ECHO, "jsonl", &f, &[]);
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args(["trace", "summary", &f.to_string_lossy()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    let row = |from: &str| {
        s.lines()
            .find(|l| l.starts_with(from))
            .unwrap_or_else(|| panic!("{s}"))
            .to_string()
    };
    let cli = row("echo_cli[4]");
    assert!(cli.contains("echo_srv[3]"), "{cli}");
    let nums: Vec<&str> = cli.split_whitespace().collect();
    assert_eq!(&nums[2..5], ["4", "4", "64"], "3 x 20 B + quit 4 B: {cli}");
    assert!(s.contains("longest waits:"), "{s}");
    assert!(s.contains("echo_srv[3]"), "{s}");
}

/// Check a Chrome Trace Event document the way Perfetto's JSON importer needs it: every event
/// a slice (`X`), instant or name; time order on every track; slices on a track nested or apart,
/// never overlapping; every flow arrow (`bind_id` with `flow_out`) ends once (`flow_in`).
fn check_chrome(doc: &Value) -> (usize, usize) {
    let evs = doc["traceEvents"].as_array().expect("traceEvents array");
    let mut last_ts: HashMap<(u64, u64), f64> = HashMap::new();
    // Ends of the slices still open on each track (innermost last).
    let mut open: HashMap<(u64, u64), Vec<f64>> = HashMap::new();
    let (mut starts, mut ends) = (HashSet::new(), HashSet::new());
    for e in evs {
        let ph = e["ph"].as_str().expect("ph");
        let key = (
            e["pid"].as_u64().expect("pid"),
            e["tid"].as_u64().expect("tid"),
        );
        if ph == "M" {
            assert!(e["args"]["name"].is_string());
            continue;
        }
        let ts = e["ts"].as_f64().expect("ts");
        let prev = last_ts.insert(key, ts).unwrap_or(0.0);
        assert!(ts >= prev, "timestamps go back on track {key:?}");
        match ph {
            "X" => {
                let dur = e["dur"].as_f64().expect("dur");
                if e["cat"] == "wait" {
                    assert!(dur >= 0.0, "{e}");
                } else {
                    assert!(dur > 0.0, "{e}");
                }
                let stack = open.entry(key).or_default();
                while stack.last().is_some_and(|&end| end <= ts) {
                    stack.pop();
                }
                if let Some(&outer) = stack.last() {
                    assert!(
                        ts + dur <= outer,
                        "slice overlaps its parent on {key:?}: {e}"
                    );
                }
                stack.push(ts + dur);
                if let Some(id) = e["bind_id"].as_u64() {
                    match (e["flow_out"] == true, e["flow_in"] == true) {
                        (true, false) => assert!(starts.insert(id), "flow {id} started twice"),
                        (false, true) => assert!(ends.insert(id), "flow {id} ended twice"),
                        _ => panic!("a bind_id without one direction: {e}"),
                    }
                }
            }
            "i" => {}
            other => panic!("unexpected phase {other}"),
        }
    }
    assert_eq!(starts, ends, "every flow that starts ends");
    (starts.len(), evs.len())
}

#[test]
fn chrome_trace_parses_and_flows_connect() {
    let t = traced(&ECHO, "chrome", &tmp("echo.json"), &[]);
    let doc: Value = serde_json::from_str(&t).expect("one JSON document");
    let (flows, _) = check_chrome(&doc);
    assert_eq!(flows, 7);
    let names: Vec<&str> = doc["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    assert_eq!(names, ["echo_srv[3]", "echo_cli[4]"]);
    // A world that ends in deadlock still closes its slices.
    let f = tmp("dl.json");
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args([
            "run",
            "fixtures/kolibri/bad_deadlk.kex",
            "--trace",
            &f.to_string_lossy(),
            "--trace-format",
            "chrome",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    check_chrome(&serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap());
}

#[test]
fn thread_ping_pong_flows_stay_inside_one_process() {
    let t = traced(
        &["fixtures/kolibri/thr_pingpong.kex", "--params", "1=50"],
        "chrome",
        &tmp("thr.json"),
        &[],
    );
    let doc: Value = serde_json::from_str(&t).unwrap();
    let (flows, _) = check_chrome(&doc);
    assert!(flows >= 50, "{flows}");
}

#[test]
fn pcipc_traffic_is_traced_with_flows() {
    let args = [
        "fixtures/dos/pcsrv.com",
        "fixtures/dos/pccli.com",
        "--params",
        "2=5",
        "--pcipc-not-installed",
    ];
    let t = traced(
        &args,
        "jsonl",
        &tmp("pc.jsonl"),
        &["--trace-filter", "pers=pcipc"],
    );
    let recs: Vec<Value> = t
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sends: Vec<u64> = recs
        .iter()
        .filter(|r| r["cmd"] == 7 && r["error"] == 0)
        .map(|r| r["msg"].as_u64().unwrap())
        .collect();
    let reads: Vec<u64> = recs
        .iter()
        .filter(|r| (r["cmd"] == 6 || r["cmd"] == 10) && r["msg"].as_u64().unwrap_or(0) != 0)
        .map(|r| r["msg"].as_u64().unwrap())
        .collect();
    assert_eq!(sends.len(), 11, "5 pings, 5 pongs, quit");
    let mut sorted = reads.clone();
    sorted.sort();
    assert_eq!(sorted, sends, "every PC-IPC message is read exactly once");
    let c = traced(&args, "chrome", &tmp("pc.json"), &[]);
    let (flows, _) = check_chrome(&serde_json::from_str(&c).unwrap());
    assert_eq!(flows, 11);
}

#[test]
fn pcipc_reset_shows_what_it_dropped() {
    let t = traced(
        &["fixtures/dos/pcinst.com", "--pcipc-not-installed"],
        "jsonl",
        &tmp("drop.jsonl"),
        &["--trace-filter", "kind=pc_dropped"],
    );
    let recs: Vec<Value> = t
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 2, "{t}");
    assert_eq!(
        recs[0]["detail"],
        "reset dropped 2 message(s) and IDs {1, 2}"
    );
    // The ID the program requested after the reset is released when it ends.
    assert_eq!(
        recs[1]["detail"],
        "pcinst[3] ended: ID 1 released, 0 message(s) addressed to it dropped"
    );
}

#[test]
fn filter_kinds_are_checked_and_every_emitted_kind_is_known() {
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args([
            "run",
            "fixtures/kolibri/compute.kex",
            "--trace",
            "-",
            "--trace-filter",
            "kind=sned",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown kind \"sned\""), "{err}");
    assert!(
        err.contains("send, deliver"),
        "the valid kinds are named: {err}"
    );
    // Traces of every personality: each record's kind is one the trace crate knows.
    let runs: [&[&str]; 4] = [
        &[
            "fixtures/kolibri/echo_srv.kex",
            "fixtures/kolibri/echo_cli.kex",
        ],
        &[
            "fixtures/dos/pcsrv.com",
            "fixtures/dos/pccli.com",
            "--pcipc-not-installed",
        ],
        &[
            "--kos-init",
            "fixtures/kos/pol.yaml",
            "--policy",
            "fixtures/kos/deny_mid2.toml",
            "--params",
            "1=1",
            "--params",
            "2=deny2",
            "fixtures/kos/calc_srv.elf",
            "fixtures/kos/pol_cli.elf",
        ],
        &["fixtures/win32/pipe_parent.exe", "--trace-views", "4"],
    ];
    for args in runs {
        let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
            .arg("run")
            .args(args)
            .args(["--trace", "-", "--trace-format", "jsonl"])
            .current_dir(root())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        for l in err.lines().filter(|l| l.starts_with('{')) {
            let v: Value = serde_json::from_str(l).expect("JSON");
            let kind = v["kind"].as_str().expect("kind");
            assert!(
                kind == "header" || ipcemu_trace::Kind::parse(kind).is_some(),
                "{args:?}: unknown kind {kind}"
            );
        }
    }
}

#[test]
fn trace_format_follows_the_extension_and_a_mismatch_is_refused() {
    let dir = std::env::temp_dir().join(format!("ipcemu-ext-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |file: &str, extra: &[&str]| {
        let p = dir.join(file);
        let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
            .args([
                "run",
                "fixtures/kolibri/echo_srv.kex",
                "fixtures/kolibri/echo_cli.kex",
                "--trace",
            ])
            .arg(&p)
            .args(extra)
            .current_dir(root())
            .output()
            .unwrap();
        (
            o.status.code(),
            std::fs::read_to_string(&p).unwrap_or_default(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, t, _) = run("a.jsonl", &[]);
    assert_eq!(code, Some(0));
    assert!(t.lines().all(|l| l.starts_with('{')), "JSONL by extension");
    let (code, t, _) = run("a.json", &[]);
    assert_eq!(code, Some(0));
    serde_json::from_str::<Value>(&t).expect("a Chrome document by extension");
    let (code, t, _) = run("a.txt", &[]);
    assert_eq!(code, Some(0));
    assert!(t.starts_with("t="), "text otherwise: {t}");
    let (code, _, err) = run("b.jsonl", &["--trace-format", "chrome"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("the extension says Jsonl but --trace-format says Chrome"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn convert_and_summary_json() {
    let dir = std::env::temp_dir().join(format!("ipcemu-conv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ipc = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ipcemu"))
            .args(args)
            .current_dir(root())
            .output()
            .unwrap()
    };
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let guests = [
        "fixtures/kolibri/echo_srv.kex",
        "fixtures/kolibri/echo_cli.kex",
    ];
    for f in ["t.jsonl", "direct.json", "direct.txt"] {
        let mut a = vec!["run"];
        a.extend(guests);
        let path = p(f);
        a.extend(["--trace", path.as_str()]);
        assert_eq!(ipc(&a).status.code(), Some(0));
    }
    // Converting the JSONL gives what a run writes in that format.
    for (out, direct) in [("conv.json", "direct.json"), ("conv.txt", "direct.txt")] {
        let o = ipc(&["trace", "convert", &p("t.jsonl"), &p(out)]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let a = std::fs::read_to_string(p(out)).unwrap();
        let b = std::fs::read_to_string(p(direct)).unwrap();
        assert_eq!(a, b, "{out} differs from {direct}");
    }
    let o = ipc(&["trace", "convert", &p("direct.txt"), &p("x.json")]);
    assert_eq!(o.status.code(), Some(2), "a text trace is not JSONL");
    // summary --json is the text summary's numbers as JSON.
    let o = ipc(&["trace", "summary", "--json", &p("t.jsonl")]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let pair = &v["pairs"][0];
    assert_eq!(pair["sender"], "echo_cli[4]");
    assert_eq!(pair["receiver"], "echo_srv[3]");
    assert_eq!(pair["delivered"], pair["attempts"]);
    assert!(v["records"].as_u64().unwrap() > 100);
    assert!(!v["longest_waits"].as_array().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn failed_sends_keep_their_payload() {
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args([
            "run",
            "fixtures/kolibri/ipc_errors.kex",
            "--trace",
            "-",
            "--trace-format",
            "jsonl",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let failed: Vec<Value> = err
        .lines()
        .filter(|l| l.contains("\"kind\":\"send\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["result"].as_i64() != Some(0))
        .collect();
    assert!(!failed.is_empty(), "{err}");
    // The bytes the sender meant to send (its buffer holds 00 01 02 03 ...).
    for v in &failed {
        let len = v["len"].as_u64().unwrap() as usize;
        let want: String = (0..len.min(256))
            .map(|i| format!("{:02x}", i as u8))
            .collect();
        assert_eq!(v["payload"].as_str().unwrap(), want, "{v}");
    }
    assert!(failed.iter().any(|v| v["len"] == 49), "{failed:?}");
}
