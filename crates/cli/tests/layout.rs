//! Issue 13: the kernel's system layout (IDLE and OS in slots 1 and 2, programs from slot 3),
//! delayed starts (`--start-at`), missing functions (`--strict`, one warning each) and PC-IPC
//! installed from the start — with real guests through the real `ipcemu` binary.

mod common;
use common::run;

const DAEMON: &str = "fixtures/kolibri/daemon.kex";
const CLIENT: &str = "fixtures/kolibri/daemon_cli.kex";

#[test]
fn function_9_shows_idle_os_and_the_first_program_in_slot_3() {
    let (code, out, err) = run(&["run", "fixtures/kolibri/sys_slots.kex"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("FAIL"), "{out}");
    for line in [
        "PASS slot 1 is IDLE",
        "PASS slot 2 is OS",
        "PASS slot 3 PID is 3",
        "PASS +71 event mask",
        "PASS +76 is not written",
        "PASS slot 2 is still OS",
        "DONE 33 0",
    ] {
        assert!(out.contains(line), "{line}:\n{out}");
    }
}

#[test]
fn a_program_that_ends_itself_with_18_2_is_killed() {
    let (code, out, err) = run(&["run", "fixtures/kolibri/self_kill.kex"]);
    assert!(out.contains("PASS own slot is 3"), "{out}");
    assert!(!out.contains("FAIL"), "18.2 returned:\n{out}");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("ipcemu: self_kill[3] was killed"), "{err}");
}

#[test]
fn a_daemon_and_its_client_started_half_a_second_later_exchange_ipc() {
    let (code, out, err) = run(&["run", DAEMON, CLIENT, "--start-at", "2=0.5"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("FAIL"), "{out}");
    assert!(out.contains("PASS daemon 3 ended 0 other copies"), "{out}");
    assert!(out.contains("PASS daemon 3 answered ping from 4"), "{out}");
    assert!(out.contains("PASS daemon_cli answer is pong"), "{out}");
    // The client's clock reads half a second (50 ticks) when it starts: the world's clock
    // jumped there while the daemon waited.
    assert!(out.contains("daemon_cli started at tick 50\n"), "{out}");
    // Without --start-at both start at once.
    let (code, out, _) = run(&["run", DAEMON, CLIENT]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("daemon_cli started at tick 0\n"), "{out}");
}

#[test]
fn a_second_daemon_ends_the_first_but_not_itself_and_a_late_guest_is_invisible() {
    let (code, out, err) = run(&[
        "run",
        DAEMON,
        DAEMON,
        CLIENT,
        "--start-at",
        "2=0.2",
        "--start-at",
        "3=0.5",
        "--trace",
        "-",
        "--trace-filter",
        "kind=proc_start|proc_end",
    ]);
    // The first daemon saw no other copy: the second one, given on the command line, was not
    // in any slot yet.
    assert!(out.contains("PASS daemon 3 ended 0 other copies"), "{out}");
    assert!(out.contains("PASS daemon 4 ended 1 other copies"), "{out}");
    assert!(out.contains("PASS daemon 4 answered ping from 5"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    // Ended with 18.2: killed, so the run fails.
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("ipcemu: daemon[3] was killed"), "{err}");
    // The starts are trace records at their times; the late client reuses slot 3.
    assert!(err.contains("t=0.200000s    daemon[4]"), "{err}");
    assert!(
        err.contains("t=0.500000s    daemon_cli[5]                            proc start slot 3"),
        "{err}"
    );
}

#[test]
fn start_at_is_checked() {
    for (arg, want) in [
        ("3=0.5", "N is a guest's position, 1..=2"),
        ("x", "expected N=SECONDS"),
        ("2=-1", "--start-at 2=-1"),
    ] {
        let (code, _, err) = run(&["run", DAEMON, CLIENT, "--start-at", arg]);
        assert_eq!(code, 2, "{arg}: {err}");
        assert!(err.contains(want), "{arg}: {err}");
    }
    let (code, _, err) = run(&[
        "run",
        DAEMON,
        CLIENT,
        "--start-at",
        "2=0.5",
        "--coverage",
        "2=/dev/null",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("guest 2 starts later"), "{err}");
    // A run that ends first says so; the daemon alone waits.
    let (code, _, err) = run(&["run", DAEMON, CLIENT, "--start-at", "2=2", "--timeout", "1"]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("guest 2 (fixtures/kolibri/daemon_cli.kex) never started"),
        "{err}"
    );
    assert!(err.contains("still running: daemon[3]\n"), "{err}");
}

#[test]
fn missing_functions_fail_as_the_kernel_does_and_are_named_once() {
    let (code, out, err) = run(&["run", "fixtures/kolibri/missing_fn.kex"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("PASS 68.16 returns 0 (no driver service)"),
        "{out}"
    );
    assert!(out.contains("DONE 4 0"), "{out}");
    assert_eq!(
        err.matches("function 68.16, which ipcemu does not have")
            .count(),
        1,
        "{err}"
    );
    assert_eq!(
        err.matches("function 6, which ipcemu does not have")
            .count(),
        1,
        "{err}"
    );
    assert!(err.contains("missing_fn (PID 3)"), "{err}");
    // --strict: the first one ends the program, and the report names it.
    let (code, out, err) = run(&["run", "fixtures/kolibri/missing_fn.kex", "--strict"]);
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains("PASS"), "{out}");
    assert!(err.contains("guest fault in missing_fn[3]"), "{err}");
    assert!(
        err.contains("unsupported KolibriOS function 68.16"),
        "{err}"
    );
}

#[test]
fn a_dos_program_finds_pc_ipc_installed() {
    let (code, out, err) = run(&["run", "fixtures/dos/pcready.com"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("PASS status: installed and enabled"), "{out}");
    assert!(out.contains("DONE 9 0"), "{out}");
    // As before the change, when asked: the program finds nothing installed and fails.
    let (code, out, _) = run(&["run", "fixtures/dos/pcready.com", "--pcipc-not-installed"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("FAIL status: installed and enabled"), "{out}");
}
