//! Integration tests: the Win32 guest programs (fixtures/win32/*.exe, built from
//! guest-tests/win32) through the real `ipcemu` binary.

mod common;
use common::{root, run};

fn exe(name: &str) -> String {
    let p = root().join("fixtures/win32").join(format!("{name}.exe"));
    assert!(p.exists(), "no fixture {}", p.display());
    p.to_string_lossy().into_owned()
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
        &[
            "PASS events SetEvent on a bad handle fails",
            "PASS events a handle of the wrong type: ReleaseSemaphore on an event fails (ERROR_INVALID_HANDLE)",
            "PASS events a name longer than MAX_PATH fails (ERROR_FILENAME_EXCED_RANGE)",
        ],
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("PASS")).count(),
        27,
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
    // unimpl.exe imports KERNEL32.dll!Beep: the guest faults on the call, naming it.
    let (code, out, err) = run(&["run", &exe("unimpl")]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("PASS unimpl reached the call"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    assert!(
        err.contains("unsupported Win32 function KERNEL32.dll!Beep"),
        "{err}"
    );
    // The report disassembles the stub: its `int 2Eh` is the faulting instruction.
    assert!(
        err.contains("> 7ff00020  cd 2e                int 2Eh"),
        "{err}"
    );
}

#[test]
fn strict_refuses_unimplemented_imports_at_load() {
    let (code, out, err) = run(&["run", "--strict", &exe("unimpl")]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("does not implement"), "{err}");
    assert!(err.contains("KERNEL32.dll!Beep"), "{err}");
}

#[test]
fn anonymous_pipe_to_a_child_process() {
    let out = run_ok(
        &["pipe_parent"],
        &[],
        &[
            "PASS pipe_parent CreatePipe",
            "PASS pipe_parent CreateProcessA",
            "PASS pipe_parent read until ERROR_BROKEN_PIPE",
            "PASS pipe_parent child output (119 bytes)",
            "PASS pipe_parent child exit code 0",
        ],
    );
    // The child's lines went into the pipe, not to ipcemu's stdout.
    assert!(!out.contains("child line"), "{out}");
}

#[test]
fn pipe_error_paths() {
    let out = run_ok(&["pipe_errors"], &[], &[]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("PASS")).count(),
        17,
        "{out}"
    );
}

#[test]
fn named_pipe_server_and_two_clients_any_order() {
    let want = [
        "PASS npipe_srv CreateNamedPipeA",
        "PASS npipe_srv served 2 clients",
        "PASS npipe_cli1 connected",
        "PASS npipe_cli1 5 replies",
        "PASS npipe_cli2 connected",
        "PASS npipe_cli2 5 replies",
    ];
    for order in [
        ["npipe_srv", "npipe_cli1", "npipe_cli2"],
        ["npipe_cli2", "npipe_cli1", "npipe_srv"],
        ["npipe_cli1", "npipe_srv", "npipe_cli2"],
    ] {
        let out = run_ok(&order, &[], &want);
        let served: Vec<&str> = out
            .lines()
            .filter(|l| l.contains(" served (5 messages, ERROR_MORE_DATA seen)"))
            .collect();
        assert_eq!(served.len(), 2, "{order:?}: {out}");
    }
}

#[test]
fn post_thread_message_worker_pool() {
    run_ok(
        &["postmsg"],
        &["--params", "1=2000"],
        &[
            "PASS postmsg workers ready",
            "PASS postmsg PostThreadMessageA to a bad thread id fails (ERROR_INVALID_THREAD_ID)",
            "PASS postmsg posted 2000 items",
            "PASS postmsg 2000 results",
            "PASS postmsg workers saw their items in order",
            "PASS postmsg WM_QUIT ended the workers (exit codes add up to N)",
        ],
    );
}

/// Two threads that send to each other: the one waiting in SendMessageA runs the window
/// procedure of the message sent to it meanwhile (as Windows does), instead of a deadlock.
#[test]
fn send_message_waits_run_messages_sent_meanwhile() {
    run_ok(
        &["sendnest"],
        &["--params", "1=50"],
        &[
            "PASS sendnest second window ready",
            "PASS sendnest 50 nested answers",
            "PASS sendnest M's window procedure ran 50 times inside SendMessageA",
            "PASS sendnest depth of nesting seen is 1",
            "PASS sendnest the second thread ended with 0",
        ],
    );
}

#[test]
fn copydata_between_processes_both_orders() {
    let want = [
        "PASS copydata_a message-only window created",
        "PASS copydata_a WM_CREATE seen",
        "PASS copydata_a 300 payloads checked",
        "PASS copydata_a wParam is the sender's window",
        "PASS copydata_a GetMessageA returned 0 after PostQuitMessage",
        "PASS copydata_b found A with FindWindowExA(HWND_MESSAGE)",
        "PASS copydata_b FindWindowA does not see message-only windows",
        "PASS copydata_b 300 replies checked",
        "PASS copydata_b end message delivered",
    ];
    let params = ["--params", "1=300", "--params", "2=300"];
    run_ok(&["copydata_a", "copydata_b"], &params, &want);
    run_ok(&["copydata_b", "copydata_a"], &params, &want);
}

#[test]
fn pipe_and_message_traffic_is_traced_as_messages() {
    let (code, _out, err) = run(&[
        "run",
        &exe("pipe_parent"),
        "--trace",
        "-",
        "--trace-format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    // The child's three writes are three messages from pipe_child to pipe_parent.
    let sends: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("\"kind\":\"send\"") && l.contains("\"pers\":\"win32\""))
        .collect();
    assert_eq!(sends.len(), 3, "{err}");
    assert!(
        sends
            .iter()
            .all(|l| l.contains("anonymous pipe") && l.contains("\"peer_name\":\"pipe_parent\"")),
        "{sends:#?}"
    );
    let (code, _out, err) = run(&[
        "run",
        &exe("copydata_a"),
        &exe("copydata_b"),
        "--params",
        "1=2",
        "--params",
        "2=2",
        "--trace",
        "-",
        "--trace-format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    // Two payloads and the end message: three requests (WM_COPYDATA, mid 74) and their responses.
    let req = err
        .lines()
        .filter(|l| l.contains("\"dir\":\"request\"") && l.contains("\"mid\":74"))
        .count();
    let resp = err
        .lines()
        .filter(|l| l.contains("\"dir\":\"response\""))
        .count();
    assert_eq!((req, resp), (3, 3), "{err}");
}

#[test]
fn policy_denies_pipe_writes_of_one_process() {
    let dir = std::env::temp_dir().join(format!("ipcemu-w32-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pol = dir.join("deny.toml");
    std::fs::write(
        &pol,
        "default = \"allow\"\n[[rule]]\npersonality = \"win32\"\naction = \"deny\"\nsrc = \"pipe_child\"\n",
    )
    .expect("write policy");
    let (code, out, err) = run(&[
        "run",
        &exe("pipe_parent"),
        "--policy",
        &pol.to_string_lossy(),
        "--trace",
        "-",
        "--trace-format",
        "jsonl",
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    // The child's WriteFile failed (ERROR_ACCESS_DENIED), so the parent read nothing.
    assert!(
        out.contains("FAIL pipe_parent child output (0 bytes)"),
        "{out}"
    );
    assert!(err.contains("\"kind\":\"deny\""), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wide_variants() {
    let out = run_ok(
        &["wide"],
        &[],
        &[
            "PASS wide CreateEventW and OpenEventA name one event",
            "PASS wide WriteConsoleW",
        ],
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("PASS")).count(),
        12,
        "{out}"
    );
}

#[test]
fn pipe_and_message_traces_are_the_same_every_run() {
    let trace = |guests: &[&str]| {
        let mut args = vec!["run".to_string()];
        args.extend(guests.iter().map(|g| exe(g)));
        args.extend(["--trace", "-", "--trace-format", "jsonl"].map(String::from));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        (out, err)
    };
    for guests in [
        &["pipe_parent"][..],
        &["npipe_srv", "npipe_cli1", "npipe_cli2"][..],
        &["copydata_b", "copydata_a"][..],
    ] {
        let a = trace(guests);
        let b = trace(guests);
        assert!(a.1.lines().count() > 15, "{guests:?}: short trace");
        assert_eq!(a, b, "{guests:?}: two runs differ");
    }
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
    // Without --trace-views there are no view snapshots.
    assert!(!err.contains("\"w32_view\""), "{err}");
}

#[test]
fn trace_views_snapshot_the_shared_counter_at_each_signal() {
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
        "--trace-views",
        "4",
    ]);
    assert_eq!(code, 0, "{err}");
    // ev_ping created the mapping: its SetEvent(ping) after writing 2i+1 shows 2i+1; ev_pong
    // (not the creator) gets no snapshots.
    let views: Vec<&str> = err.lines().filter(|l| l.contains("\"w32_view\"")).collect();
    let payloads: Vec<&str> = views
        .iter()
        .filter_map(|l| l.split("\"payload\":\"").nth(1))
        .map(|p| &p[..8])
        .collect();
    assert_eq!(payloads, ["01000000", "03000000", "05000000"], "{views:#?}");
    assert!(
        views.iter().all(|l| l.contains("\"name\":\"ev_ping\"")),
        "{views:#?}"
    );
}

/// SetTimer/KillTimer: WM_TIMER at exact guest-time periods, a TimerProc called by
/// DispatchMessageA, posted messages first, the 10 ms minimum, bad windows refused.
#[test]
fn timers_make_wm_timer_on_time_and_stop_when_killed() {
    run_ok(
        &["timers"],
        &[],
        &[
            "PASS timers SetTimer(window, 7, 50 ms) returns 7",
            "PASS timers window timer ticks are 50 ms apart",
            "PASS timers the window procedure got every WM_TIMER (wParam 7, lParam 0)",
            "PASS timers N ticks took N * 50 ms of guest time",
            "PASS timers SetTimer on the same window and id returns the id",
            "PASS timers the replaced timer ticks 20 ms apart",
            "PASS timers SetTimer(NULL, 0, 30 ms, TimerProc) returns an id",
            "PASS timers the TimerProc got (NULL, WM_TIMER, id, time)",
            "PASS timers the TimerProc ran every 30 ms",
            "PASS timers KillTimer(NULL, id) of the thread timer",
            "PASS timers a posted message comes before the due WM_TIMER",
            "PASS timers then the WM_TIMER",
            "PASS timers SetTimer(window, 9, 1 ms)",
            "PASS timers a 1 ms period is USER_TIMER_MINIMUM (10 ms)",
            "PASS timers KillTimer(window, 7)",
            "PASS timers a second KillTimer(window, 7) returns FALSE",
            "PASS timers KillTimer(window, 9)",
            "PASS timers no WM_TIMER once every timer is killed",
            "PASS timers the queue is empty",
            "PASS timers SetTimer on a bad window fails with ERROR_INVALID_WINDOW_HANDLE",
            "PASS timers KillTimer on a bad window fails with ERROR_INVALID_WINDOW_HANDLE",
            "PASS timers no WM_TIMER with a wrong id reached the window",
        ],
    );
}

/// MsgWaitForMultipleObjects(Ex) and GetQueueStatus: objects or new queue input (posted, sent,
/// timer), MWMO_INPUTAVAILABLE, fWaitAll, and the argument errors.
#[test]
fn msg_wait_for_multiple_objects_waits_for_objects_and_queue_input() {
    run_ok(
        &["msgwait"],
        &[],
        &[
            "PASS msgwait nothing there: WAIT_TIMEOUT at once",
            "PASS msgwait a posted message ends the wait with WAIT_OBJECT_0 + 1",
            "PASS msgwait and PeekMessageA takes it",
            "PASS msgwait SetEvent ends the wait with WAIT_OBJECT_0",
            "PASS msgwait the wait took the auto-reset event",
            "PASS msgwait without QS_POSTMESSAGE in the mask a posted message does not end the wait",
            "PASS msgwait the event 70 ms later did",
            "PASS msgwait a message waits (PM_NOREMOVE)",
            "PASS msgwait input already seen is not new: WAIT_TIMEOUT",
            "PASS msgwait after the 100 ms timeout",
            "PASS msgwait MWMO_INPUTAVAILABLE: input in the queue ends the wait at once",
            "PASS msgwait GetQueueStatus: a posted message, new",
            "PASS msgwait GetQueueStatus again: there, not new",
            "PASS msgwait GetQueueStatus(QS_ALLPOSTMESSAGE) has its own new bit",
            "PASS msgwait GetQueueStatus after the queue is empty",
            "PASS msgwait a sent message ends a QS_SENDMESSAGE wait",
            "PASS msgwait the window procedure has not run yet",
            "PASS msgwait PeekMessageA ran it",
            "PASS msgwait the helper got the answer",
            "PASS msgwait a due timer ends a QS_TIMER wait",
            "PASS msgwait after the timer's 40 ms",
            "PASS msgwait and its WM_TIMER is there",
            "PASS msgwait fWaitAll: the event and then input end the wait",
            "PASS msgwait only when the message came (50 ms), not at the event (20 ms)",
            "PASS msgwait fWaitAll took the event",
            "PASS msgwait 64 handles: WAIT_FAILED, ERROR_INVALID_PARAMETER",
            "PASS msgwait a bad handle: WAIT_FAILED, ERROR_INVALID_HANDLE",
            "PASS msgwait WaitMessage returns TRUE",
            "PASS msgwait when the helper's message came (20 ms)",
            "PASS msgwait and the message is there",
            "PASS msgwait the helper ended",
        ],
    );
}

/// SendMessageTimeoutA: answers, time-outs in guest time (the late answer dropped), own window,
/// SMTO_BLOCK; PostMessageA(HWND_BROADCAST) reaches top-level windows only.
#[test]
fn send_message_timeout_and_broadcast() {
    run_ok(
        &["sendtimeout"],
        &[],
        &[
            "PASS sendtimeout second window ready",
            "PASS sendtimeout WM_FAST: TRUE, result 42",
            "PASS sendtimeout WM_SLOW 300 ms, timeout 100 ms: FALSE, ERROR_TIMEOUT",
            "PASS sendtimeout after 100 ms",
            "PASS sendtimeout lpdwResult untouched",
            "PASS sendtimeout the receiver still handled the message",
            "PASS sendtimeout WM_SLOW 50 ms, timeout 1000 ms: TRUE, result 51",
            "PASS sendtimeout after 50 ms",
            "PASS sendtimeout own window: the window procedure ran (TRUE, 77)",
            "PASS sendtimeout a bad window: FALSE, ERROR_INVALID_WINDOW_HANDLE",
            "PASS sendtimeout SMTO_NORMAL: M's procedure ran while waiting (TRUE, 31)",
            "PASS sendtimeout SMTO_BLOCK: M's procedure did not run, the call timed out",
            "PASS sendtimeout the next PeekMessageA ran it",
            "PASS sendtimeout and W got its answer",
            "PASS sendtimeout RegisterWindowMessageA",
            "PASS sendtimeout PostMessageA(HWND_BROADCAST)",
            "PASS sendtimeout the broadcast reached both top-level windows",
            "PASS sendtimeout not the message-only window",
            "PASS sendtimeout SendNotifyMessageA(HWND_BROADCAST): the own top-level window got it before the call returned",
            "PASS sendtimeout the other thread's top-level window got it, the message-only one not",
            "PASS sendtimeout SendMessageCallbackA(HWND_BROADCAST): own window and its callback before the call returned",
            "PASS sendtimeout the other window's answer came back to its callback",
            "PASS sendtimeout SendMessageA(HWND_BROADCAST) returns once both top-level windows handled it",
            "PASS sendtimeout SendMessageTimeoutA(HWND_BROADCAST, 100 ms): M at once, W's slow answer given up after 100 ms",
            "PASS sendtimeout W still handled it",
            "PASS sendtimeout SMTO_ABORTIFHUNG: W waiting in GetMessageA for 6 s is not hung (TRUE, 42)",
            "PASS sendtimeout W busy for 5.5 s is hung: FALSE, ERROR_TIMEOUT at once",
            "PASS sendtimeout SMTO_NORMAL waits for its 100 ms time-out instead",
            "PASS sendtimeout once W pumps again it answers",
            "PASS sendtimeout the second thread ended",
        ],
    );
}

/// ReplyMessage answers a sender before the window procedure ends; InSendMessage(Ex) tells a
/// sent message from a direct call; SendNotifyMessageA does not wait (and refuses WM_COPYDATA).
#[test]
fn reply_message_in_send_message_and_send_notify() {
    run_ok(
        &["replymsg"],
        &[],
        &[
            "PASS replymsg second window ready",
            "PASS replymsg outside a window procedure: InSendMessage FALSE, ISMEX_NOSEND",
            "PASS replymsg SendMessageA returns ReplyMessage's 55, not the procedure's 99",
            "PASS replymsg at once: the procedure had not finished",
            "PASS replymsg in W's procedure: InSendMessage TRUE, ISMEX_SEND",
            "PASS replymsg ReplyMessage TRUE, then ISMEX_SEND | ISMEX_REPLIED",
            "PASS replymsg a second ReplyMessage is FALSE",
            "PASS replymsg the procedure went on after its reply",
            "PASS replymsg own window: InSendMessage FALSE, ReplyMessage FALSE",
            "PASS replymsg SendNotifyMessageA to W: TRUE",
            "PASS replymsg at once, before W's procedure ran",
            "PASS replymsg W's procedure ran",
            "PASS replymsg with (5, 6) and InSendMessageEx ISMEX_NOTIFY",
            "PASS replymsg SendNotifyMessageA to the own window ran its procedure before returning",
            "PASS replymsg WM_COPYDATA: FALSE, ERROR_MESSAGE_SYNC_ONLY",
            "PASS replymsg a bad window: FALSE, ERROR_INVALID_WINDOW_HANDLE",
            "PASS replymsg the second thread ended",
        ],
    );
}

/// Overlapped named-pipe server: one thread keeps three instances busy (connect, read, write
/// pending on events), GetOverlappedResult with and without waiting, CancelIo/CancelIoEx, and a
/// close that ends a pending read.
#[test]
fn overlapped_named_pipe_server() {
    run_ok(
        &["ovpipe"],
        &["--params", "1=40"],
        &[
            "PASS ovpipe ConnectNamedPipe: ERROR_IO_PENDING on every instance",
            "PASS ovpipe and the events were reset",
            "PASS ovpipe GetOverlappedResult(bWait FALSE) on a pending connect: ERROR_IO_INCOMPLETE",
            "PASS ovpipe every instance connected through its event",
            "PASS ovpipe every message answered by an overlapped write",
            "PASS ovpipe every client got its message back in upper case",
            "PASS ovpipe no wrong reply",
            "PASS ovpipe each client's close ended its read with ERROR_BROKEN_PIPE",
            "PASS ovpipe some reads were pending (ERROR_IO_PENDING)",
            "PASS ovpipe no event of a finished instance",
            "PASS ovpipe a new overlapped connect is pending",
            "PASS ovpipe CancelIo",
            "PASS ovpipe the cancelled connect: ERROR_OPERATION_ABORTED",
            "PASS ovpipe its event is set",
            "PASS ovpipe CancelIoEx with nothing pending: ERROR_NOT_FOUND",
            "PASS ovpipe GetOverlappedResult(bWait TRUE): connected",
            "PASS ovpipe when the client came (30 ms)",
            "PASS ovpipe GetOverlappedResult(bWait TRUE): its 4-byte message",
            "PASS ovpipe without an event the handle is reset",
            "PASS ovpipe and signalled when the read ends",
            "PASS ovpipe GetOverlappedResult: the second message",
            "PASS ovpipe a read is pending",
            "PASS ovpipe closing the handle ended it",
        ],
    );
}

/// APCs and alertable waits: QueueUserAPC, SleepEx/WaitForSingleObjectEx/
/// MsgWaitForMultipleObjectsEx woken by an APC, objects before APCs, and the completion
/// routines of ReadFileEx/WriteFileEx on an overlapped pipe.
#[test]
fn apcs_alertable_waits_and_completion_routines() {
    run_ok(
        &["apc"],
        &[],
        &[
            "PASS apc a plain Sleep runs no APC",
            "PASS apc SleepEx(0, TRUE): WAIT_IO_COMPLETION",
            "PASS apc it ran the three APCs in order",
            "PASS apc a signalled object comes first (WAIT_OBJECT_0)",
            "PASS apc and the APC stays queued",
            "PASS apc an unsignalled one: the APC runs (WAIT_IO_COMPLETION)",
            "PASS apc APC 4 ran",
            "PASS apc a blocked WaitForSingleObjectEx is woken by an APC",
            "PASS apc after 20 ms, APC 5 ran",
            "PASS apc SleepEx(100, TRUE) is woken by an APC",
            "PASS apc after 20 ms",
            "PASS apc MsgWaitForMultipleObjectsEx(MWMO_ALERTABLE) too",
            "PASS apc APC 7 ran",
            "PASS apc SleepEx(50, TRUE) with nothing queued returns 0",
            "PASS apc after 50 ms",
            "PASS apc every APC ran on the main thread",
            "PASS apc ReadFileEx starts (TRUE)",
            "PASS apc its routine has not run",
            "PASS apc SleepEx(INFINITE, TRUE) ran the routine",
            "PASS apc with (0, 5, lpOverlapped) and the bytes in the buffer",
            "PASS apc when the client wrote (20 ms)",
            "PASS apc WriteFileEx (TRUE)",
            "PASS apc its routine runs in the next alertable wait",
            "PASS apc with (0, 5)",
            "PASS apc ReadFileEx that finds data: TRUE",
            "PASS apc its routine still waits",
            "PASS apc until an alertable wait",
            "PASS apc which gives the 6 bytes",
            "PASS apc a last ReadFileEx is pending",
            "PASS apc the client's close ends it (routine run)",
            "PASS apc with ERROR_BROKEN_PIPE",
            "PASS apc QueueUserAPC to a bad handle: ERROR_INVALID_HANDLE",
            "PASS apc ReadFileEx without FILE_FLAG_OVERLAPPED: ERROR_INVALID_PARAMETER",
        ],
    );
}

/// I/O completion ports: a work queue between threads (PostQueuedCompletionStatus), a timeout,
/// an overlapped pipe server whose completions all come through one port, the hEvent low bit,
/// and GetQueuedCompletionStatusEx with fAlertable.
#[test]
fn io_completion_ports() {
    run_ok(
        &["iocp"],
        &[],
        &[
            "PASS iocp CreateIoCompletionPort(INVALID_HANDLE_VALUE) makes ports",
            "PASS iocp 30 items through three workers (sum of squares)",
            "PASS iocp key 0 stopped the workers",
            "PASS iocp packets first in, first out, with their bytes, key and OVERLAPPED",
            "PASS iocp two posted packets come out in order",
            "PASS iocp GetQueuedCompletionStatusEx takes five packets at once, in order",
            "PASS iocp and on an empty port times out (WAIT_TIMEOUT)",
            "PASS iocp empty port: FALSE, WAIT_TIMEOUT, no OVERLAPPED",
            "PASS iocp after 50 ms",
            "PASS iocp both connects came through the port",
            "PASS iocp every reply's write came through the port",
            "PASS iocp every client got its messages back reversed",
            "PASS iocp each client's close: FALSE with ERROR_BROKEN_PIPE",
            "PASS iocp every packet had its instance's key and OVERLAPPED",
            "PASS iocp hEvent | 1: the event is set",
            "PASS iocp and no packet was queued",
            "PASS iocp a handle without FILE_FLAG_OVERLAPPED: ERROR_INVALID_PARAMETER",
            "PASS iocp GetQueuedCompletionStatus on an event: ERROR_INVALID_HANDLE",
            "PASS iocp not alertable: the APCs wait, the call times out",
            "PASS iocp alertable: queued APCs run, FALSE with WAIT_IO_COMPLETION and 0 entries",
            "PASS iocp a packet comes before the queued APC",
            "PASS iocp which stayed queued",
            "PASS iocp an APC from another thread ends an alertable wait on an empty port",
        ],
    );
}

/// Handle table, windows per process and the atom table are bounded: the calls fail as on
/// Windows and the guest goes on.
#[test]
fn handle_window_and_atom_limits() {
    run_ok(
        &["limits"],
        &[],
        &[
            "PASS limits CreateEventA until the handle table is full",
            "PASS limits then ERROR_NO_SYSTEM_RESOURCES",
            "PASS limits after closing them an event can be made again",
            "PASS limits 10 000 windows per process",
            "PASS limits then ERROR_NOT_ENOUGH_QUOTA",
            "PASS limits DestroyWindow of one",
            "PASS limits and one more can be made",
            "PASS limits RegisterWindowMessageA until the atom table is full",
            "PASS limits then ERROR_NOT_ENOUGH_MEMORY",
            "PASS limits a name registered before keeps its atom",
        ],
    );
}

/// SendMessageCallbackA: returns at once; the answers come back as callbacks run only by the
/// sender's message-loop calls, in order; the own window calls procedure then callback.
#[test]
fn send_message_callback() {
    run_ok(
        &["sendcb"],
        &[],
        &[
            "PASS sendcb second window ready",
            "PASS sendcb N SendMessageCallbackA return TRUE at once",
            "PASS sendcb W handled them",
            "PASS sendcb with InSendMessageEx ISMEX_CALLBACK",
            "PASS sendcb no callback ran in Sleep",
            "PASS sendcb nor in WaitForSingleObject",
            "PASS sendcb PeekMessageA ran every callback",
            "PASS sendcb in order, with (W, WM_ADD, dwData, lResult)",
            "PASS sendcb own window: procedure then callback, before returning",
            "PASS sendcb WM_COPYDATA: ERROR_MESSAGE_SYNC_ONLY",
            "PASS sendcb a bad window: ERROR_INVALID_WINDOW_HANDLE",
            "PASS sendcb the second thread ended",
        ],
    );
}

/// TransactNamedPipe and CallNamedPipeA: request and reply in one call (message mode), the
/// busy, timeout, bad-mode and missing-name errors, and an overlapped transaction.
#[test]
fn transact_and_call_named_pipe() {
    run_ok(
        &["transact"],
        &[],
        &[
            "PASS transact CallNamedPipeA(\"hello\"): \"re:hello\"",
            "PASS transact and it closed its end (the server saw the client go)",
            "PASS transact a 40-byte reply into 8 bytes: FALSE, ERROR_MORE_DATA, 8 bytes",
            "PASS transact TransactNamedPipe in byte-read mode: ERROR_BAD_PIPE",
            "PASS transact TransactNamedPipe(\"one\"): \"re:one\"",
            "PASS transact TransactNamedPipe(\"push\"): \"re:push\"",
            "PASS transact with a message unread: ERROR_PIPE_BUSY",
            "PASS transact ReadFile takes it",
            "PASS transact then TransactNamedPipe works again",
            "PASS transact the instance busy: CallNamedPipeA(NMPWAIT_NOWAIT) fails with ERROR_PIPE_BUSY",
            "PASS transact with a 50 ms timeout: ERROR_SEM_TIMEOUT after 50 ms",
            "PASS transact CallNamedPipeA of a name nobody made: ERROR_FILE_NOT_FOUND",
            "PASS transact overlapped TransactNamedPipe: ERROR_IO_PENDING",
            "PASS transact GetOverlappedResult(bWait TRUE): \"re:async\"",
            "PASS transact the server served its four clients",
        ],
    );
}

/// Mailslots between processes, in any start order: whole messages in order per writer, the
/// broadcast name form, timeouts, a too-small buffer, size limit and a write-only handle.
#[test]
fn mailslots_between_processes_any_order() {
    let want = [
        "PASS mslot_srv GetMailslotInfo of an empty mailslot",
        "PASS mslot_srv a second CreateMailslotA of the name: ERROR_ALREADY_EXISTS",
        "PASS mslot_srv a read with timeout 0 and no message: ERROR_SEM_TIMEOUT at once",
        "PASS mslot_srv after SetMailslotInfo(30): ERROR_SEM_TIMEOUT after 30 ms",
        "PASS mslot_srv a buffer too small: ERROR_INSUFFICIENT_BUFFER, the message stays",
        "PASS mslot_srv 2N whole messages, each writer's in order",
        "PASS mslot_srv nothing left",
        "PASS mslot_srv told both writers",
        "PASS mslot_cli wrote N messages",
        "PASS mslot_cli a message over the mailslot's maximum fails",
        "PASS mslot_cli a writer's handle cannot be read (ERROR_ACCESS_DENIED)",
        "PASS mslot_cli the reader said done",
    ];
    for order in [
        ["mslot_srv", "mslot_cli", "mslot_cli"],
        ["mslot_cli", "mslot_cli", "mslot_srv"],
        ["mslot_cli", "mslot_srv", "mslot_cli"],
    ] {
        let params = ["--params", "1=20", "--params", "2=20", "--params", "3=20"];
        let out = run_ok(&order, &params, &want);
        let done = out
            .lines()
            .filter(|l| *l == "PASS mslot_cli the reader said done")
            .count();
        assert_eq!(done, 2, "{order:?}: {out}");
    }
}

/// Named-pipe information at both ends: GetNamedPipeInfo, GetNamedPipeHandleStateA and the
/// peer's process id (GetNamedPipeClientProcessId / ServerProcessId), in both start orders.
#[test]
fn named_pipe_information_both_ends() {
    let want = [
        "PASS pinfo_cli GetNamedPipeClientProcessId at the client: its own",
        "PASS pinfo_cli GetNamedPipeHandleStateA at the client: byte-read mode",
        "PASS pinfo_cli GetNamedPipeInfo at the client: client end, the server's sizes",
        "PASS pinfo_cli GetNamedPipeServerProcessId at the client: the server's process id",
        "PASS pinfo_cli a collection count asked for: ERROR_INVALID_PARAMETER",
        "PASS pinfo_cli after SetNamedPipeHandleState: message mode, PIPE_NOWAIT",
        "PASS pinfo_srv GetNamedPipeClientProcessId before a client: ERROR_PIPE_NOT_CONNECTED",
        "PASS pinfo_srv GetNamedPipeClientProcessId: the client's process id",
        "PASS pinfo_srv GetNamedPipeHandleStateA at the server: message-read mode, 1 instance",
        "PASS pinfo_srv GetNamedPipeInfo at the server: server end, message type, 1000/2000, 3 instances",
        "PASS pinfo_srv GetNamedPipeServerProcessId at the server: its own",
    ];
    run_ok(&["pinfo_srv", "pinfo_cli"], &[], &want);
    run_ok(&["pinfo_cli", "pinfo_srv"], &[], &want);
}

/// Mailslot writes and posted completion packets are messages on the kernel's path: each shows
/// as a `send` record with its channel, from the writer to the reader's process.
#[test]
fn mailslot_and_completion_port_traffic_is_traced_as_messages() {
    let (code, _out, err) = run(&[
        "run",
        &exe("mslot_srv"),
        &exe("mslot_cli"),
        &exe("mslot_cli"),
        "--trace",
        "-",
        "--trace-format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    // Five messages from each writer into the box, and one "done" back to each writer.
    let into_box = err
        .lines()
        .filter(|l| {
            l.contains("\"kind\":\"send\"")
                && l.contains("mailslot \\\"\\\\\\\\.\\\\mailslot\\\\ipcemu_box\\\"")
                && l.contains("\"peer_name\":\"mslot_srv\"")
        })
        .count();
    let done = err
        .lines()
        .filter(|l| l.contains("\"kind\":\"send\"") && l.contains("ipcemu_box_w"))
        .count();
    assert_eq!((into_box, done), (10, 2), "{err}");
    let (code, _out, err) = run(&[
        "run",
        &exe("iocp"),
        "--trace",
        "-",
        "--trace-format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    // Part 1 posts 30 items, 30 results and 3 stops, then 2 and 5 more packets; part 6 one.
    let posted = err
        .lines()
        .filter(|l| l.contains("\"kind\":\"send\"") && l.contains("completion port #"))
        .count();
    assert_eq!(posted, 71, "{err}");
}

/// TLS callbacks (default mingw-w64 runtime, callback in .CRT$XLB): DLL_THREAD_ATTACH before each
/// new thread's function, DLL_THREAD_DETACH as it ends (by return or ExitThread).
#[test]
fn tls_callbacks_run_for_threads() {
    run_ok(
        &["tlscb"],
        &[],
        &[
            "PASS tlscb DLL_PROCESS_ATTACH once, before main",
            "PASS tlscb each thread saw its own DLL_THREAD_ATTACH before its function ran",
            "PASS tlscb three DLL_THREAD_ATTACH",
            "PASS tlscb three DLL_THREAD_DETACH (one thread ended with ExitThread)",
        ],
    );
}

/// DLL_PROCESS_DETACH (default mingw-w64 runtime): when main returns, the thread still waiting
/// is ended without DLL_THREAD_DETACH, then the TLS callback gets DLL_PROCESS_DETACH once, in
/// the ending thread, with a non-NULL lpReserved; the exit code is main's.
#[test]
fn tls_callbacks_see_the_process_end() {
    let (code, out, err) = run(&["run", &exe("procdet")]);
    assert_eq!(
        code, 1,
        "a guest exit code other than 0 is status 1\n{out}\n{err}"
    );
    assert!(err.contains("procdet[3] exited with code 5"), "{err}");
    assert!(!out.lines().any(|l| l.starts_with("FAIL")), "{out}");
    let want = [
        "PASS procdet main returns with a thread still waiting",
        "PASS procdet no DLL_PROCESS_DETACH before the end",
        "PASS procdet DLL_PROCESS_DETACH once",
        "PASS procdet lpReserved is non-NULL (the process is terminating)",
        "PASS procdet called in the thread that ended the process",
        "PASS procdet the waiting thread was ended without DLL_THREAD_DETACH",
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, want, "in this order:\n{out}\n{err}");
}
