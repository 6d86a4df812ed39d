//! `ipcemu test`: the shipped scenarios pass; wrong expectations fail with messages that name
//! the scenario, the process and the mismatch; bad files name the key and line; --bless and
//! --junit work.

use std::path::PathBuf;
use std::process::Command;

mod common;
use common::root;

fn ipcemu_test(args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .arg("test")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.code().unwrap_or(-1), s)
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ipcemu-sc-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn fixtures() -> String {
    root()
        .join("fixtures")
        .canonicalize()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn shipped_scenarios_pass() {
    let (code, out) = ipcemu_test(&["fixtures/scenarios"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("16 passed, 0 failed"), "{out}");
    assert!(
        out.contains("PASS host actor drives a KolibriOS receiver"),
        "{out}"
    );
    // start_at: processes that start later (issue 13).
    assert!(
        out.contains("PASS a single-copy daemon, a second copy and a client that start later"),
        "{out}"
    );
}

#[test]
fn parallel_runs_print_the_same_report() {
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.split("  (").next().unwrap_or(l).to_string())
            .collect()
    };
    let (_, a) = ipcemu_test(&["fixtures/scenarios", "-j", "1"]);
    let (_, b) = ipcemu_test(&["fixtures/scenarios", "-j", "3"]);
    assert_eq!(strip(&a), strip(&b));
}

#[test]
fn wrong_expectations_fail_with_names_and_diffs() {
    let d = scratch("wrong");
    let f = fixtures();
    std::fs::write(
        d.join("wrong.toml"),
        format!(
            r#"
name = "deliberately wrong"

[[process]]
label = "srv"
image = "{f}/kolibri/echo_srv.kex"
expect_output_contains = ["PASS echo_srv served 99 messages"]

[[process]]
label = "cli"
image = "{f}/kolibri/echo_cli.kex"
params = "3"
expect_output = "PASS echo_cli 4 round trips\nDONE 1 0\n"
expect_exit = 1

[[process.expect_received]]
from = "srv"
contains = "msg-"
count = 4

[host]
[[host.send]]
to = "cli"
text = "never answered"
when_output = "this text never appears"

[[expect.host_received]]
from = "srv"
text = "nothing"
"#
        ),
    )
    .unwrap();
    let junit = d.join("report.xml");
    let (code, out) = ipcemu_test(&[
        d.join("wrong.toml").to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL deliberately wrong"), "{out}");
    assert!(out.contains("process srv (echo_srv[3]) output does not contain \"PASS echo_srv served 99 messages\""), "{out}");
    assert!(
        out.contains("process cli (echo_cli[4]): expected exit code 1, got exit code 0"),
        "{out}"
    );
    assert!(
        out.contains("process cli (echo_cli[4]) output differs from the expected text"),
        "{out}"
    );
    assert!(
        out.contains("-PASS echo_cli 4 round trips"),
        "diff shows the expected line:\n{out}"
    );
    assert!(
        out.contains("+PASS echo_cli 3 round trips"),
        "diff shows the actual line:\n{out}"
    );
    assert!(out.contains("host.send[0] never went out"), "{out}");
    assert!(
        out.contains(
            "process cli: expected 4 message(s) from srv containing \"msg-\"; got 3 matching"
        ),
        "{out}"
    );
    assert!(
        out.contains("host: expected at least 1 message(s) from srv equal to \"nothing\""),
        "{out}"
    );
    assert!(out.contains("0 passed, 1 failed"), "{out}");
    let x = std::fs::read_to_string(junit).unwrap();
    assert!(x.contains("<testcase name=\"deliberately wrong\""), "{x}");
    // In a pipe the diff is plain; on a terminal (script gives a pseudo-terminal) it is in
    // colour.
    assert!(!out.contains('\x1b'), "{out}");
    let cmd = format!(
        "{} test {}",
        env!("CARGO_BIN_EXE_ipcemu"),
        d.join("wrong.toml").display()
    );
    let o = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .output()
        .expect("script (util-linux)");
    let tty = String::from_utf8_lossy(&o.stdout);
    assert!(
        tty.contains("\x1b[31m-") && tty.contains("\x1b[32m+"),
        "{tty}"
    );
    assert!(x.contains("<failure message="), "{x}");
    assert!(x.contains("failures=\"1\""), "{x}");
}

#[test]
fn bad_files_name_the_key_and_line() {
    let d = scratch("bad");
    std::fs::write(
        d.join("typo.toml"),
        "[[process]]\nimage = \"x.kex\"\nparmas = \"1\"\n",
    )
    .unwrap();
    let (code, out) = ipcemu_test(&[d.join("typo.toml").to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("parmas"), "{out}");
    assert!(out.contains("line 3"), "{out}");
    std::fs::write(d.join("empty.toml"), "name = \"nothing\"\n").unwrap();
    let (code, out) = ipcemu_test(&[d.join("empty.toml").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.contains("at least one [[process]]"), "{out}");
    let (code, out) = ipcemu_test(&["/nonexistent/dir"]);
    assert_eq!(code, 2);
    assert!(out.contains("/nonexistent/dir"), "{out}");
}

#[test]
fn bless_writes_the_reference_transcript() {
    let d = scratch("bless");
    let f = fixtures();
    std::fs::write(
        d.join("t.toml"),
        format!("[[process]]\nimage = \"{f}/kolibri/ipc_area.kex\"\n[expect]\noutput_file = \"t.expected\"\n"),
    )
    .unwrap();
    let t = d.join("t.toml");
    let (code, out) = ipcemu_test(&[t.to_str().unwrap()]);
    assert_eq!(code, 1, "missing reference fails: {out}");
    assert!(out.contains("run with --bless"), "{out}");
    let (code, out) = ipcemu_test(&[t.to_str().unwrap(), "--bless"]);
    assert_eq!(code, 0, "{out}");
    // --bless says which files it rewrote.
    assert!(
        out.contains("  blessed: rewrote ") && out.contains("t.expected"),
        "{out}"
    );
    let want = std::fs::read_to_string(root().join("fixtures/kolibri/ipc_area.expected")).unwrap();
    assert_eq!(std::fs::read_to_string(d.join("t.expected")).unwrap(), want);
    let (code, _) = ipcemu_test(&[t.to_str().unwrap()]);
    assert_eq!(code, 0);
}

#[test]
fn partitions_run_every_file_exactly_once() {
    let list = |extra: &[&str]| {
        let mut a = vec!["fixtures/scenarios", "--list"];
        a.extend_from_slice(extra);
        let (code, out) = ipcemu_test(&a);
        assert_eq!(code, 0, "{out}");
        out.lines().map(str::to_string).collect::<Vec<_>>()
    };
    let all = list(&[]);
    assert_eq!(all.len(), 16, "{all:?}");
    let mut parts: Vec<String> = (1..=3)
        .flat_map(|k| list(&["--partition", &format!("{k}/3")]))
        .collect();
    parts.sort();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(
        parts, sorted,
        "1/3, 2/3 and 3/3 together are every file, once"
    );
    // The split is by path, not by position: the same file lands in the same part however the
    // files are given.
    let one = list(&["--partition", "2/3"]);
    let (code, out) = ipcemu_test(&[
        "fixtures/scenarios/kos_host_server.toml",
        "--list",
        "--partition",
        "2/3",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        one.iter().any(|l| l.ends_with("kos_host_server.toml")),
        !out.trim().is_empty()
    );
    // -k filters by path; a pattern nothing matches is an error.
    assert_eq!(list(&["-k", "kos_host"]).len(), 2);
    let (code, out) = ipcemu_test(&["fixtures/scenarios", "-k", "no such scenario"]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = ipcemu_test(&["fixtures/scenarios", "--partition", "4/3"]);
    assert_eq!(code, 2, "{out}");
    // A part really runs its files.
    let (code, out) = ipcemu_test(&["fixtures/scenarios", "--partition", "3/3"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" passed, 0 failed"), "{out}");
}

#[test]
fn servers_that_run_for_ever() {
    let d = scratch("forever");
    let k = root().join("fixtures/kolibri");
    // The run ends when the client ends; the server that waits for ever is "running".
    let a = d.join("a.toml");
    std::fs::write(
        &a,
        format!(
            "[options]\nstop_when_ended = \"cli\"\n\n[[process]]\nlabel = \"srv\"\nimage = \"{}\"\nexpect_exit = \"running\"\n\n[[process]]\nlabel = \"cli\"\nimage = \"{}\"\nexpect_output_contains = [\"DONE 1 0\"]\n",
            k.join("bad_deadlk.kex").display(),
            k.join("compute.kex").display()
        ),
    )
    .unwrap();
    let (code, out) = ipcemu_test(&[a.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    // Without it the same world is a deadlock: the test can fail.
    let b = d.join("b.toml");
    std::fs::write(
        &b,
        std::fs::read_to_string(&a)
            .unwrap()
            .replace("stop_when_ended = \"cli\"\n", ""),
    )
    .unwrap();
    let (code, out) = ipcemu_test(&[b.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("deadlock"), "{out}");
    // A time limit accepted as success.
    let c = d.join("c.toml");
    std::fs::write(
        &c,
        format!(
            "[options]\ntimeout = 0.5\ntimeout_is_success = true\n\n[[process]]\nimage = \"{}\"\nexpect_exit = \"running\"\n",
            k.join("sleep_time.kex").display()
        ),
    )
    .unwrap();
    let (code, out) = ipcemu_test(&[c.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = ipcemu_test(&[a.to_str().unwrap().replace("a.toml", "nope.toml").as_str()]);
    assert_ne!(code, 0, "{out}");
}
