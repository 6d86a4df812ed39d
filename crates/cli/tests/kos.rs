//! KasperskyOS-style entities (fixtures/kos, built from guest-tests/kos with the SDK in
//! guest-sdk/kos) through the real `ipcemu` binary: Call/Recv/Reply, connections from an init
//! file or `--kos-connect`, the security module's policy, peers that end, bad input.

use std::process::Command;

mod common;
use common::root;

/// Run `ipcemu run` in fixtures/kos; returns (status, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .arg("run")
        .args(args)
        .current_dir(root().join("fixtures/kos"))
        .output()
        .expect("run ipcemu");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn run_ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(
        code, 0,
        "ipcemu run {args:?}\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert!(!out.contains("FAIL"), "a guest reported FAIL:\n{out}");
    out
}

#[test]
fn echo_pair_10000_requests_in_both_start_orders() {
    for order in [
        ["echo_srv.elf", "echo_cli.elf"],
        ["echo_cli.elf", "echo_srv.elf"],
    ] {
        let mut args = vec!["--kos-init", "echo.yaml"];
        args.extend(order);
        let out = run_ok(&args);
        assert!(out.contains("PASS echo_cli 10000 round trips"), "{out}");
        assert!(out.contains("PASS echo_srv served 10000 requests"), "{out}");
        assert!(out.contains("PASS echo_cli quit acknowledged"), "{out}");
    }
    // The same connection from the command line instead of a file, with one thread's quantum.
    let out = run_ok(&[
        "--kos-connect",
        "echo_cli:echo_connection=echo_srv",
        "--quantum",
        "1",
        "--params",
        "2=300",
        "echo_srv.elf",
        "echo_cli.elf",
    ]);
    assert!(out.contains("PASS echo_cli 300 round trips"), "{out}");
}

#[test]
fn one_server_two_methods_several_clients() {
    let out = run_ok(&[
        "--kos-init",
        "calc.yaml",
        "--params",
        "1=3",
        "calc_srv.elf",
        "calc_cli1.elf",
        "calc_cli2.elf",
        "calc_cli3.elf",
    ]);
    assert!(
        out.contains("PASS calc_srv served 63 requests: 30 add 30 mul 3 quit"),
        "{out}"
    );
    for c in ["calc_cli1", "calc_cli2", "calc_cli3"] {
        assert!(
            out.contains(&format!("PASS {c} quit acknowledged")),
            "{out}"
        );
    }
}

#[test]
fn policy_denies_exactly_the_denied_method() {
    let out = run_ok(&[
        "--kos-init",
        "pol.yaml",
        "--params",
        "1=1",
        "--params",
        "2=allow",
        "calc_srv.elf",
        "pol_cli.elf",
    ]);
    assert!(out.contains("PASS pol_cli 5 mul calls -> rcOk"), "{out}");
    let trace = std::env::temp_dir().join(format!("ipcemu-kos-{}.jsonl", std::process::id()));
    let trace_s = trace.to_string_lossy().into_owned();
    let out = run_ok(&[
        "--kos-init",
        "pol.yaml",
        "--policy",
        "deny_mid2.toml",
        "--params",
        "1=1",
        "--params",
        "2=deny2",
        "--trace",
        &trace_s,
        "--trace-format",
        "jsonl",
        "calc_srv.elf",
        "pol_cli.elf",
    ]);
    assert!(out.contains("PASS pol_cli 5 add calls -> rcOk"), "{out}");
    assert!(
        out.contains("PASS pol_cli 5 mul calls -> rcSecurityDisallow"),
        "{out}"
    );
    assert!(
        out.contains("PASS calc_srv served 6 requests: 5 add 0 mul 1 quit"),
        "{out}"
    );
    // Every decision is in the trace: 5 denied requests (mid 2) with the rule that decided,
    // and the allowed requests and responses.
    let t = std::fs::read_to_string(&trace).unwrap();
    // trace summary counts the denials per pair.
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args(["trace", "summary", &trace_s])
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&o.stdout);
    let pair = summary
        .lines()
        .find(|l| l.starts_with("pol_cli") && l.contains("calc_srv"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(pair.contains("denied x5"), "{summary}");
    let _ = std::fs::remove_file(&trace);
    let deny: Vec<&str> = t
        .lines()
        .filter(|l| l.contains("\"kind\":\"deny\""))
        .collect();
    assert_eq!(deny.len(), 5, "{t}");
    assert!(deny
        .iter()
        .all(|l| l.contains("\"mid\":2") && l.contains("denied by rule 1")));
    let allow = t
        .lines()
        .filter(|l| l.contains("\"kind\":\"allow\""))
        .count();
    assert_eq!(allow, 12, "6 requests and 6 responses allowed by default");

    // A client that expects mid 2 to pass fails under the policy: the test can fail.
    let (code, out, _) = run(&[
        "--kos-init",
        "pol.yaml",
        "--policy",
        "deny_mid2.toml",
        "--params",
        "1=1",
        "--params",
        "2=allow",
        "calc_srv.elf",
        "pol_cli.elf",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL pol_cli"), "{out}");
}

#[test]
fn a_server_that_ends_mid_call_gives_peer_ended_then_not_connected() {
    let out = run_ok(&["--kos-init", "die.yaml", "die_srv.elf", "die_cli.elf"]);
    assert!(
        out.contains("PASS die_cli Call while the server ends -> rcPeerEnded"),
        "{out}"
    );
    assert!(
        out.contains("PASS die_cli Call after the server ended -> rcNotConnected"),
        "{out}"
    );
    // An init file naming an entity that is not among the guests is refused before anything
    // runs (a misspelt name would otherwise only show as rcNotConnected).
    let (code, out, err) = run(&["--kos-init", "die.yaml", "die_cli.elf"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(
            "die.yaml: the init file names entity \"die_srv\", which is not among the guests"
        ),
        "{err}"
    );
}

#[test]
fn bad_headers_handles_and_buffers() {
    let out = run_ok(&["--kos-init", "bad_hdr.yaml", "echo_srv.elf", "bad_hdr.elf"]);
    assert!(out.contains("DONE 29 0"), "{out}");
    assert!(
        out.contains("PASS echo_srv replies too big for the client's buffer: 1"),
        "{out}"
    );
}

#[test]
fn a_client_waiting_for_a_server_that_never_receives_is_a_named_deadlock() {
    // calc_srv waits in Recv on calc_connection; echo_cli calls it on echo_connection, which
    // calc_srv never receives on: both wait for ever, and the report names the connections.
    let (code, _out, err) = run(&[
        "--kos-connect",
        "echo_cli:calc_connection=calc_srv",
        "--kos-connect",
        "echo_cli:echo_connection=calc_srv",
        "calc_srv.elf",
        "echo_cli.elf",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("waits in Call on connection \"echo_connection\" for a reply from calc_srv"),
        "{err}"
    );
    assert!(
        err.contains("waits in Recv on connection \"calc_connection\""),
        "{err}"
    );
}

#[test]
fn bad_configuration_is_refused_before_anything_runs() {
    let dir = std::env::temp_dir().join(format!("ipcemu-kos-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_toml = dir.join("bad.toml");
    std::fs::write(
        &bad_toml,
        "default = \"allow\"\n[[rule]]\naction = \"maybe\"\n",
    )
    .unwrap();
    let (code, out, err) = run(&[
        "--kos-init",
        "echo.yaml",
        "--policy",
        &bad_toml.to_string_lossy(),
        "echo_srv.elf",
        "echo_cli.elf",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "nothing ran: {out}");
    assert!(err.contains("bad.toml") && err.contains("line 3"), "{err}");
    let unknown = dir.join("unknown.toml");
    std::fs::write(
        &unknown,
        "default = \"allow\"\n[[rule]]\naction = \"deny\"\nsrc = \"nobody\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&[
        "--kos-init",
        "echo.yaml",
        "--policy",
        &unknown.to_string_lossy(),
        "echo_srv.elf",
        "echo_cli.elf",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("\"nobody\""), "{err}");
    let bad_yaml = dir.join("bad.yaml");
    std::fs::write(&bad_yaml, "entities:\n  - name: a\n    links: []\n").unwrap();
    let (code, _, err) = run(&["--kos-init", &bad_yaml.to_string_lossy(), "echo_srv.elf"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("links"), "{err}");
    let (code, _, err) = run(&["--kos-connect", "echo_cli:x", "echo_srv.elf"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["--kos-connect", "ghost:x=echo_srv", "echo_srv.elf"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ghost"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn chrome_trace_has_a_flow_per_request_and_response() {
    let dir = std::env::temp_dir().join(format!("ipcemu-kos-chrome-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let f = dir.join("kos.json");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args([
            "run",
            "--kos-init",
            "fixtures/kos/echo.yaml",
            "fixtures/kos/echo_srv.elf",
            "fixtures/kos/echo_cli.elf",
            "--params",
            "2=3",
            "--trace",
            &f.to_string_lossy(),
            "--trace-format",
            "chrome",
        ])
        .current_dir(root())
        .output()
        .expect("run ipcemu");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&f).expect("trace")).expect("JSON");
    let evs = doc["traceEvents"].as_array().expect("events");
    let tid_of = |name: &str| {
        evs.iter()
            .find(|e| e["name"] == "thread_name" && e["args"]["name"].as_str() == Some(name))
            .and_then(|e| e["tid"].as_u64())
            .expect("thread")
    };
    let (srv, cli) = (tid_of("echo_srv[3]"), tid_of("echo_cli[4]"));
    // 3 calls + quit: each request starts on the client and ends on the server, each response
    // starts on the server and ends on the client.
    let flows = |dir: &str, tid: u64| {
        evs.iter()
            .filter(|e| e[dir] == true && e["tid"].as_u64() == Some(tid))
            .count()
    };
    assert_eq!(
        (flows("flow_out", cli), flows("flow_in", srv)),
        (4, 4),
        "requests"
    );
    assert_eq!(
        (flows("flow_out", srv), flows("flow_in", cli)),
        (4, 4),
        "responses"
    );
    let names: Vec<&str> = evs
        .iter()
        .filter_map(|e| e["name"].as_str())
        .filter(|n| n.starts_with("send re"))
        .collect();
    assert_eq!(names.len(), 8, "{names:?}");
    assert!(names[0].starts_with("send request"), "{names:?}");
    assert!(names[1].starts_with("send response"), "{names:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
