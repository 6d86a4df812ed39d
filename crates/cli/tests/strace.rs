//! `--strace`: one line per system call of every personality, pinned by golden files in
//! fixtures/strace (rewrite them with `IPCEMU_BLESS=1 cargo test -p ipcemu --test strace` after a
//! deliberate change, and read the diff).

use std::process::Command;

mod common;
use common::root;

/// Run with `--strace` into a temporary file; returns (exit code, stdout, the log).
fn strace(args: &[&str], extra: &[&str]) -> (i32, String, String) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let f = std::env::temp_dir().join(format!("ipcemu-strace-{}-{n}.txt", std::process::id()));
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .arg("run")
        .args(args)
        .args(extra)
        .arg(format!("--strace={}", f.display()))
        .current_dir(root())
        .output()
        .expect("run ipcemu");
    let log = std::fs::read_to_string(&f).unwrap_or_default();
    let _ = std::fs::remove_file(&f);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        log,
    )
}

fn golden(name: &str, args: &[&str]) -> String {
    let (code, _out, log) = strace(args, &[]);
    assert_eq!(code, 0, "{log}");
    let path = root().join("fixtures/strace").join(name);
    if std::env::var_os("IPCEMU_BLESS").is_some() {
        std::fs::write(&path, &log).expect("bless");
    }
    let want = std::fs::read_to_string(&path).expect("golden file");
    assert!(
        log == want,
        "--strace of {args:?} differs from {}:\n{}",
        path.display(),
        first_difference(&want, &log)
    );
    log
}

fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n  want: {w}\n  got:  {g}", i + 1);
        }
    }
    format!(
        "lengths differ: want {} lines, got {}",
        want.lines().count(),
        got.lines().count()
    )
}

#[test]
fn kolibri_function_60() {
    let log = golden(
        "kolibri_echo.txt",
        &[
            "fixtures/kolibri/echo_srv.kex",
            "fixtures/kolibri/echo_cli.kex",
        ],
    );
    assert!(
        log.contains("echo_cli[4] 60.2 ipc_send(pid=3, msg="),
        "{log}"
    );
    assert!(
        log.contains("echo_srv[3] 10 wait_event() <unfinished ...>"),
        "{log}"
    );
    assert!(log.contains("<... 10 wait_event resumed> = 7"), "{log}");
}

#[test]
fn dos_and_pcipc() {
    let log = golden(
        "dos_pcipc.txt",
        // pcsrv installs PC-IPC itself: the install path, as before PC-IPC started installed.
        &[
            "--pcipc-not-installed",
            "fixtures/dos/pcsrv.com",
            "fixtures/dos/pccli.com",
        ],
    );
    assert!(
        log.contains("PC-IPC SDATA(cmd=07h, caller=2, to=1, size=6) = 00h"),
        "{log}"
    );
    assert!(log.contains("21h/30h get_version() = ax=0005h"), "{log}");
}

#[test]
fn linux_and_kos() {
    let log = golden(
        "kos_linux.txt",
        &[
            "--kos-init",
            "fixtures/kos/echo.yaml",
            "fixtures/kos/echo_srv.elf",
            "fixtures/kos/echo_cli.elf",
            "--params",
            "2=2",
        ],
    );
    assert!(
        log.contains("ServiceLocatorConnect(\"echo_connection\") = 1"),
        "{log}"
    );
    assert!(log.contains("<... Call resumed> = 0 (rcOk)"), "{log}");
    assert!(log.contains("write(1, \"PASS echo_cli"), "{log}");
}

#[test]
fn win32_with_a_child_process() {
    let log = golden("win32_pipe.txt", &["fixtures/win32/pipe_parent.exe"]);
    assert!(
        log.contains("pipe_child[4] KERNEL32.dll!WriteFile(0x104,"),
        "{log}"
    );
    assert!(
        log.contains("<... KERNEL32.dll!CreateProcessA resumed> = 0x1"),
        "{log}"
    );
}

#[test]
fn filter_keeps_the_named_calls_and_output_is_unchanged() {
    let args = [
        "fixtures/kolibri/echo_srv.kex",
        "fixtures/kolibri/echo_cli.kex",
    ];
    let (code, out, log) = strace(&args, &["--strace-filter", "ipc_send"]);
    assert_eq!(code, 0);
    assert!(!log.is_empty());
    assert!(log.lines().all(|l| l.contains(" 60.2 ipc_send(")), "{log}");
    let plain = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .arg("run")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(
        out,
        String::from_utf8_lossy(&plain.stdout),
        "--strace changes nothing else"
    );
    // By personality.
    let (_, _, log) = strace(
        &["fixtures/dos/pcsrv.com", "fixtures/dos/pccli.com"],
        &["--strace-filter", "pcipc"],
    );
    assert!(
        !log.is_empty() && log.lines().all(|l| l.contains("PC-IPC")),
        "{log}"
    );

    // `--strace` takes no separate value: the next word stays a guest (never overwritten).
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args(["run", "--strace", "fixtures/kolibri/compute.kex"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("compute[3] -1 end_thread() = ? (ended)"));
}
