//! Integration tests: the Win32 guest programs (fixtures/win32/*.exe, built from
//! guest-tests/win32) through the real `ipcemu` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn exe(name: &str) -> String {
    let p = root().join("fixtures/win32").join(format!("{name}.exe"));
    assert!(p.exists(), "no fixture {}", p.display());
    p.to_string_lossy().into_owned()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run ipcemu");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Run programs (fixture names) with options; demand exit 0, no FAIL line, and every line of
/// `want` in the output.
fn run_ok(guests: &[&str], opts: &[&str], want: &[&str]) -> String {
    let paths: Vec<String> = guests.iter().map(|g| exe(g)).collect();
    let mut args = vec!["run"];
    args.extend(paths.iter().map(String::as_str));
    args.extend_from_slice(opts);
    let (code, out, err) = run(&args);
    assert_eq!(
        code, 0,
        "ipcemu {args:?} failed\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert!(
        !out.lines().any(|l| l.starts_with("FAIL")),
        "a guest reported FAIL:\n{out}"
    );
    for w in want {
        assert!(
            out.lines().any(|l| l == *w),
            "missing line {w:?} in:\n{out}\nstderr:\n{err}"
        );
    }
    out
}

#[test]
fn hello_default_crt() {
    let out = run_ok(
        &["hello"],
        &[],
        &[
            "PASS hello printf 42",
            "PASS hello argc 1",
            "PASS hello malloc",
            "PASS hello atexit",
        ],
    );
    // atexit handlers run at exit, after main's output.
    assert!(out.ends_with("PASS hello atexit\n"), "{out}");
}

#[test]
fn threads() {
    let out = run_ok(&["threads"], &[], &["PASS threads TlsFree"]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("PASS")).count(),
        17,
        "{out}"
    );
}

#[test]
fn events_and_semaphores() {
    let out = run_ok(
        &["events"],
        &[],
        &["PASS events SetEvent on a bad handle fails"],
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("PASS")).count(),
        25,
        "{out}"
    );
}

#[test]
fn mutex_abandoned() {
    let out = run_ok(
        &["mutex_abandon"],
        &[],
        &["PASS mutex_abandon wait after the owner ended returns WAIT_ABANDONED"],
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("PASS")).count(),
        7,
        "{out}"
    );
}

#[test]
fn chan_both_orders() {
    for (first, second) in [("chan_a", "chan_b"), ("chan_b", "chan_a")] {
        run_ok(
            &[first, second],
            &["--params", "1=10000", "--params", "2=10000"],
            &[
                &format!("PASS {first} opened channel as server"),
                &format!("PASS {second} opened channel as client"),
                &format!("PASS {first} server exchanged 10000 buffers"),
                &format!("PASS {second} client exchanged 10000 buffers"),
            ],
        );
    }
}

#[test]
fn event_ping_pong_both_orders() {
    for pair in [["ev_ping", "ev_pong"], ["ev_pong", "ev_ping"]] {
        run_ok(
            &pair,
            &["--params", "1=2000", "--params", "2=2000"],
            &["PASS ev_ping 2000 rounds", "PASS ev_pong 2000 rounds"],
        );
    }
}

#[test]
fn same_output_every_run() {
    let a = run_ok(&["threads"], &[], &[]);
    let b = run_ok(&["threads"], &[], &[]);
    assert_eq!(a, b);
}

#[test]
fn unimplemented_import_faults_with_its_name() {
    // pipe_parent needs CreatePipe & co. (next slice): the guest faults on the first call of a
    // function ipcemu does not implement, naming it.
    let (code, _out, err) = run(&["run", &exe("pipe_parent")]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("unsupported Win32 function KERNEL32.dll!"),
        "{err}"
    );
}

#[test]
fn strict_refuses_unimplemented_imports_at_load() {
    let (code, _out, err) = run(&["run", "--strict", &exe("pipe_parent")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not implement"), "{err}");
    assert!(err.contains("KERNEL32.dll!CreatePipe"), "{err}");
}

#[test]
fn trace_has_object_records() {
    let (code, _out, err) = run(&[
        "run",
        &exe("ev_ping"),
        &exe("ev_pong"),
        "--params",
        "1=3",
        "--params",
        "2=3",
        "--trace",
        "-",
        "--trace-format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("\"w32_obj\""), "{err}");
    assert!(err.contains("event \\\"ipcemu_ev.ping\\\""), "{err}");
}
