//! Integration tests: real guest programs (fixtures/) through the real `ipcemu` binary.
//!
//! Every `fixtures/*/<name>.kex|.elf` with a `<name>.expected` transcript is run alone and its
//! stdout compared byte for byte (a `<name>.args` file, if present, holds extra arguments, one
//! per line). Multi-process worlds, faults, deadlocks and bad images have their own tests.

use std::process::{Command, Output};

mod common;
use common::root;

fn fixture(name: &str) -> String {
    let r = root().join("fixtures");
    for dir in ["kolibri", "elf", "dos"] {
        for ext in ["kex", "elf", "com"] {
            let p = r.join(dir).join(format!("{name}.{ext}"));
            if p.exists() {
                return p.to_string_lossy().into_owned();
            }
        }
    }
    panic!("no fixture named {name}");
}

fn ipcemu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run ipcemu")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = ipcemu(args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Run guests given by fixture name (plus options) and demand success and no FAIL line.
fn run_ok(guests: &[&str], opts: &[&str]) -> String {
    let paths: Vec<String> = guests.iter().map(|g| fixture(g)).collect();
    let mut args = vec!["run"];
    args.extend(paths.iter().map(String::as_str));
    args.extend_from_slice(opts);
    let (code, out, err) = run(&args);
    assert_eq!(
        code, 0,
        "ipcemu {args:?} failed\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert!(!out.contains("FAIL"), "a guest reported FAIL:\n{out}");
    out
}

fn lines_with(out: &str, prefix: &str) -> usize {
    out.lines().filter(|l| l.starts_with(prefix)).count()
}

#[test]
fn every_transcript_matches() {
    let mut checked = 0;
    for dir in ["kolibri", "elf", "dos"] {
        let d = root().join("fixtures").join(dir);
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for exp in entries
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "expected"))
        {
            let stem = exp.file_stem().unwrap().to_string_lossy().into_owned();
            let image = fixture(&stem);
            let mut args = vec!["run".to_string(), image.clone()];
            let extra = exp.with_extension("args");
            if extra.exists() {
                args.extend(
                    std::fs::read_to_string(&extra)
                        .unwrap()
                        .lines()
                        .map(str::to_string),
                );
            }
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, out, err) = run(&argv);
            let want = std::fs::read_to_string(exp).unwrap();
            assert_eq!(
                code, 0,
                "{stem}: exit {code}\nstderr:\n{err}\nstdout:\n{out}"
            );
            assert_eq!(out, want, "{stem}: stdout differs from {}", exp.display());
            checked += 1;
        }
    }
    assert!(checked >= 26, "only {checked} transcripts found");
}

#[test]
fn echo_pair_in_both_orders() {
    for order in [["echo_srv", "echo_cli"], ["echo_cli", "echo_srv"]] {
        let out = run_ok(&order, &[]);
        assert!(out.contains("PASS echo_cli 100 round trips\n"), "{out}");
        assert!(out.contains("PASS echo_srv served 100 messages\n"), "{out}");
    }
}

#[test]
fn echo_pair_with_params() {
    let out = run_ok(&["echo_srv", "echo_cli"], &["--params", "2=2500"]);
    assert!(out.contains("PASS echo_cli 2500 round trips\n"), "{out}");
    let out = run_ok(&["echo_srv", "echo_cli"], &["--params", "echo_cli.kex=7"]);
    assert!(out.contains("PASS echo_cli 7 round trips\n"), "{out}");
}

#[test]
fn fan_in_in_any_start_order() {
    for order in [
        ["fan_srv", "fan_cli", "fan_cli", "fan_cli"],
        ["fan_cli", "fan_cli", "fan_cli", "fan_srv"],
        ["fan_cli", "fan_srv", "fan_cli", "fan_cli"],
    ] {
        let out = run_ok(&order, &[]);
        assert_eq!(lines_with(&out, "PASS fan_cli sent 200"), 3, "{out}");
        assert!(
            out.contains("PASS fan_srv 3 clients 600 messages\n"),
            "{out}"
        );
    }
}

#[test]
fn fan_in_with_tiny_quantum_still_progresses() {
    // A quantum of 1 system call preempts busy retry loops as often as possible.
    let out = run_ok(
        &["fan_srv", "fan_cli", "fan_cli", "fan_cli"],
        &["--quantum", "1"],
    );
    assert!(
        out.contains("PASS fan_srv 3 clients 600 messages\n"),
        "{out}"
    );
}

#[test]
fn c_guest_talks_to_kolibri_server() {
    let out = run_ok(&["echo_srv", "cecho"], &[]);
    assert!(out.contains("PASS cecho 10 round trips\n"), "{out}");
    let out = run_ok(&["cecho", "echo_srv"], &[]);
    assert!(out.contains("PASS echo_srv served 10 messages\n"), "{out}");
}

#[test]
fn thread_ping_pong() {
    let out = run_ok(&["thr_pingpong"], &["--params", "1=20000"]);
    assert!(
        out.contains("PASS thr_pingpong final count 20000\n"),
        "{out}"
    );
}

#[test]
fn output_is_deterministic() {
    let guests = [
        "fan_cli", "fan_srv", "fan_cli", "echo_srv", "fan_cli", "echo_cli",
    ];
    let a = run_ok(&guests, &[]);
    for _ in 0..2 {
        assert_eq!(run_ok(&guests, &[]), a, "same guests, different output");
    }
}

#[test]
fn guest_fault_is_reported_and_others_go_on() {
    let (code, out, err) = run(&["run", &fixture("bad_fault"), &fixture("thr_pingpong")]);
    assert_eq!(code, 1, "stderr:\n{err}");
    assert!(out.contains("PASS before fault"), "{out}");
    assert!(
        out.contains("PASS thr_pingpong final count"),
        "other guests keep running:\n{out}"
    );
    assert!(err.contains("guest fault in bad_fault[3]"), "{err}");
    assert!(err.contains("0x7ffffff0"), "faulting address named:\n{err}");
    assert!(err.contains("eip="), "{err}");
    assert!(err.contains("code at eip:"), "{err}");
    // The faulting instruction, disassembled and marked.
    assert!(err.contains("> 00000045  a1 f0 ff ff 7f"), "{err}");
    assert!(err.contains("mov eax,[7FFFFFF0h]"), "{err}");
}

#[test]
fn a_failed_store_is_reported_at_its_instruction() {
    // Unicorn ran the rest of the block after a failed store (store-fault-precise patch):
    // the report showed the next instruction and ecx = 0x22222222.
    let (code, out, err) = run(&["run", &fixture("bad_store")]);
    assert_eq!(code, 1, "stderr:\n{err}");
    assert!(out.contains("PASS before fault"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    assert!(err.contains("guest fault in bad_store[3]"), "{err}");
    assert!(err.contains("write to unmapped memory"), "{err}");
    assert!(err.contains("0x7ffffff0"), "{err}");
    assert!(
        err.contains("ecx=11111111"),
        "registers before the store:\n{err}"
    );
    assert!(err.contains("> 0000004a  89 0d f0 ff ff 7f"), "{err}");
}

#[test]
fn named_shared_memory_between_two_processes() {
    // 68.22/68.23: shm_host creates "ipcemu.pair", shm_peer opens it in its own process; each
    // sees the other's stores. Either may start first (the peer waits for the area).
    for pair in [["shm_host", "shm_peer"], ["shm_peer", "shm_host"]] {
        let out = run_ok(&pair, &[]);
        assert_eq!(lines_with(&out, "PASS "), 6, "{out}");
        assert_eq!(lines_with(&out, "DONE 3 0"), 2, "{out}");
    }
}

#[test]
fn the_clipboard_carries_data_between_processes() {
    // Function 54: clip_put writes a slot and ends; clip_get waits for it, reads and drops it.
    for pair in [["clip_put", "clip_get"], ["clip_get", "clip_put"]] {
        let out = run_ok(&pair, &[]);
        assert_eq!(lines_with(&out, "PASS "), 5, "{out}");
        assert!(out.contains("PASS clip_get reads clip_put's text"), "{out}");
    }
}

#[test]
fn named_shared_memory_is_bounded_per_world() {
    // Five processes ask for 60 MiB areas at once: four fit in the 256 MiB of all areas, the
    // fifth gets E_NOMEM (30), and the limit is named once on stderr.
    let big = fixture("shm_big");
    let args = ["run", &big, &big, &big, &big, &big];
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        lines_with(&out, "shm_big: created a 60 MiB area"),
        4,
        "{out}"
    );
    assert_eq!(lines_with(&out, "shm_big: E_NOMEM"), 1, "{out}");
    assert_eq!(
        err.matches("which would pass the 256 MiB all areas may hold together")
            .count(),
        1,
        "{err}"
    );
}

#[test]
fn a_read_only_shared_view_faults_on_a_store() {
    let (code, out, err) = run(&["run", &fixture("shm_ro")]);
    assert_eq!(code, 1, "stderr:\n{err}");
    assert!(!out.contains("FAIL"), "{out}");
    assert_eq!(lines_with(&out, "PASS "), 3, "{out}");
    let view = out
        .lines()
        .find_map(|l| l.strip_prefix("storing to the read-only view at 0x"))
        .and_then(|h| u32::from_str_radix(h.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no view address printed:\n{out}"));
    assert!(err.contains("guest fault in shm_ro[3]"), "{err}");
    assert!(err.contains("write (protected)"), "{err}");
    assert!(err.contains(&format!("{:#010x}", view + 8)), "{err}");
    assert!(err.contains("mov dword [esi+8],1"), "{err}");
    assert!(err.contains(&format!("esi={view:08x}")), "{err}");
}

#[test]
fn deadlock_is_reported() {
    let (code, _out, err) = run(&["run", &fixture("bad_deadlk")]);
    assert_eq!(code, 3, "stderr:\n{err}");
    assert!(err.contains("deadlock"), "{err}");
    assert!(err.contains("bad_deadlk[3]"), "waiter listed:\n{err}");
    assert!(err.contains("mask 0x40"), "what it waits for:\n{err}");
}

#[test]
fn virtual_timeout_stops_a_sleeper() {
    // sleep_time sleeps 1 s of guest time; a 0.5 s limit stops it.
    let (code, _out, err) = run(&["run", &fixture("sleep_time"), "--timeout", "0.5"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("--timeout reached"), "{err}");
}

#[test]
fn wall_timeout_stops_a_pure_compute_loop() {
    let (code, _out, err) = run(&[
        "run",
        &fixture("compute"),
        "--params",
        "1=1000000",
        "--wall-timeout",
        "0.3",
    ]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("--wall-timeout reached"), "{err}");
    assert!(err.contains("compute[3]"), "{err}");
}

#[test]
fn bad_images_are_refused_with_the_file_named() {
    let dir = std::env::temp_dir().join(format!("ipcemu-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut menuet = b"MENUET01".to_vec();
    for v in [1u32, 0x9000, 0x40, 0x1000, 0xff0, 0, 0] {
        menuet.extend_from_slice(&v.to_le_bytes());
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.kex", vec![], "too short"),
        (
            "text.kex",
            b"this is not an executable".to_vec(),
            "no MENUET01 or ELF",
        ),
        ("entry.kex", menuet, "entry point"),
        ("pe.exe", b"MZ\x90\0\x03\0\0\0\x04\0\0\0".to_vec(), "MZ/PE"),
        (
            "elf64.elf",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec(),
            "ELF",
        ),
    ];
    for (name, bytes, want) in cases {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        let ps = p.to_string_lossy().into_owned();
        let (code, _out, err) = run(&["run", &ps]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(name), "{name}: file not named: {err}");
        assert!(err.contains(want), "{name}: want {want:?} in {err}");
    }
    let (code, _, err) = run(&["run", "/nonexistent/guest.kex"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/guest.kex"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_params_are_refused() {
    let g = fixture("nop");
    for (p, want) in [
        ("3=x", "no guest number 3"),
        ("x", "expected N=TEXT"),
        ("nope.kex=1", "no guest is named"),
    ] {
        let (code, _, err) = run(&["run", &g, "--params", p]);
        assert_eq!(code, 2, "{p}");
        assert!(err.contains(want), "{p}: {err}");
    }
}

#[test]
fn strict_mode_makes_unknown_functions_fault() {
    let (code, out, _) = run(&["run", &fixture("unknown_fn")]);
    assert_eq!(code, 0, "{out}");
    let (code, _, err) = run(&["run", &fixture("unknown_fn"), "--strict"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unsupported KolibriOS function 200"), "{err}");
}

#[test]
fn pcipc_request_answer_pair_in_both_orders() {
    // pcsrv installs PC-IPC itself when it finds it not installed, and the clients rely on the
    // server getting the first ID: the install path.
    for order in [["pcsrv", "pccli"], ["pccli", "pcsrv"]] {
        let out = run_ok(&order, &["--pcipc-not-installed"]);
        assert!(out.contains("PASS pccli 100 round trips"), "{out}");
        assert!(out.contains("PASS pcsrv served 100"), "{out}");
    }
    let out = run_ok(
        &["pcsrv", "pccli"],
        &[
            "--params",
            "2=1000",
            "--quantum",
            "1",
            "--pcipc-not-installed",
        ],
    );
    assert!(out.contains("PASS pccli 1000 round trips"), "{out}");
}

#[test]
fn dos_and_32_bit_guests_share_pcipc() {
    for order in [["pcsrv", "pc32cli"], ["pc32cli", "pcsrv"]] {
        let out = run_ok(&order, &["--pcipc-not-installed"]);
        assert!(out.contains("PASS pc32cli 10 round trips"), "{out}");
        assert!(out.contains("PASS pcsrv served 10"), "{out}");
    }
}

#[test]
fn pcipc_client_probes_ids_until_the_server_exists() {
    // PC-IPC is installed from the start (the default, and --pcipc-preinstalled says so).
    let out = run_ok(&["pcprobe", "pcsrv"], &[]);
    assert!(out.contains("PASS pcprobe"), "{out}");
    let out = run_ok(&["pcprobe", "pcsrv"], &["--pcipc-preinstalled"]);
    assert!(out.contains("PASS pcprobe"), "{out}");
    let out = run_ok(
        &["pcsrv", "pccli", "pcprobe"],
        &["--params", "1=2", "--pcipc-not-installed"],
    );
    assert!(out.contains("PASS pccli 100 round trips"), "{out}");
    assert!(out.contains("PASS pcprobe"), "{out}");
}

#[test]
fn pcipc_on_another_vector() {
    let out = run_ok(&["pcver61"], &["--pcipc-vector", "0x61"]);
    assert!(out.contains("DONE 15 0"), "{out}");
    // The same program on the default vector: INT 61h belongs to nobody.
    let (code, _, err) = run(&["run", &fixture("pcver61")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unhandled interrupt 0x61"), "{err}");
    assert!(err.contains("guest fault in pcver61[3]"), "{err}");
    // A vector another personality owns is refused before anything runs.
    for v in ["0x40", "0x21", "0x80", "32"] {
        let (code, _, err) = run(&["run", &fixture("pcver"), "--pcipc-vector", v]);
        assert_eq!(code, 2, "{v}: {err}");
        assert!(err.contains("collides with"), "{v}: {err}");
    }
}

#[test]
fn unsupported_dos_call_names_ah_and_the_guest() {
    let dir = std::env::temp_dir().join(format!("ipcemu-dos-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("opener.com");
    // mov ah, 3Dh ; int 21h ; ret
    std::fs::write(&p, [0xB4, 0x3D, 0xCD, 0x21, 0xC3]).unwrap();
    let (code, _, err) = run(&["run", &p.to_string_lossy()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("AH=3Dh"), "{err}");
    assert!(err.contains("opener[3]"), "{err}");
    assert!(
        err.contains("cs:ip=1000:0104"),
        "real-mode registers in the report: {err}"
    );
    // A .COM that just returns exits through INT 20h at PSP:0 with status 0.
    std::fs::write(&p, [0xC3]).unwrap();
    let (code, _, err) = run(&["run", &p.to_string_lossy()]);
    assert_eq!(code, 0, "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// N ring members, each given "N R" as its command line.
fn ring(n: usize, rounds: usize, extra: &[&str]) -> (i32, String, String) {
    let img = fixture("ring");
    let params: Vec<String> = (1..=n).map(|i| format!("{i}={n} {rounds}")).collect();
    let mut args: Vec<&str> = vec!["run"];
    args.extend(std::iter::repeat_n(img.as_str(), n));
    for p in &params {
        args.extend(["--params", p.as_str()]);
    }
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn token_ring_of_twenty() {
    let (code, out, err) = ring(20, 50, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "PASS ring 20 members 1000 hops\n");
}

#[test]
fn more_processes_than_kolibrios_slots_with_max_slots() {
    let (code, _, err) = ring(300, 2, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no free task slot"), "{err}");
    let (code, out, err) = ring(300, 2, &["--max-slots", "400"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "PASS ring 300 members 600 hops\n");
}

#[test]
fn benchmark_guests_work() {
    let out = run_ok(&["pp_srv", "pp_cli"], &["--params", "2=5000"]);
    assert_eq!(out, "PASS pp_cli 5000\nPASS pp_srv 5000\n");
    let out = run_ok(&["bench_srv", "bench_cli"], &["--params", "2=2000"]);
    assert!(out.contains("PASS bench_cli 2000"), "{out}");
    let out = run_ok(
        &["bench_stream_rx", "bench_stream_tx"],
        &["--params", "2=20000"],
    );
    assert!(out.contains("PASS bench_stream_rx 20000"), "{out}");
    let out = run_ok(&["trapper"], &["--params", "1=10000"]);
    assert!(out.contains("PASS trapper 10000"), "{out}");
    let (code, out, err) = run(&[
        "run",
        &fixture("pcbsrv"),
        &fixture("pcbcli"),
        "--params",
        "2=2000",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "PASS pcbcli\r\nPASS pcbsrv\r\n");
    let (code, out, _) = run(&["run", &fixture("nop")]);
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn realtime_sleeps_really_sleep() {
    // sleep_time sleeps 1 s of guest time in total; with --realtime that is host time too.
    let t = std::time::Instant::now();
    let out = run_ok(&["sleep_time"], &["--realtime"]);
    assert!(out.contains("DONE 4 0"), "{out}");
    assert!(
        t.elapsed() >= std::time::Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn a_lone_busy_guest_still_meets_its_time_limits() {
    let (code, _, err) = run(&["run", &fixture("spin"), "--timeout", "0.5"]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("--timeout reached at guest time 0.50s"),
        "{err}"
    );
    assert!(err.contains("spin[3]"), "{err}");
    let (code, _, err) = run(&["run", &fixture("spin"), "--wall-timeout", "0.3"]);
    assert_eq!(code, 4, "{err}");
}

#[test]
fn version_names_the_commit_and_completions_cover_the_options() {
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .arg("--version")
        .output()
        .unwrap();
    let v = String::from_utf8_lossy(&o.stdout);
    assert!(v.starts_with("ipcemu ") && v.contains("(commit "), "{v}");
    for shell in ["bash", "zsh", "fish"] {
        let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        let s = String::from_utf8_lossy(&o.stdout);
        for opt in ["--strace", "--trace-format", "--partition", "--max-memory"] {
            assert!(
                s.contains(opt.trim_start_matches('-')),
                "{shell}: {opt} missing"
            );
        }
    }
}

#[test]
fn progress_line_on_a_terminal_only() {
    // `script` gives ipcemu a pseudo-terminal (util-linux); IPCEMU_PROGRESS_AFTER_MS=0 shows the
    // line at once instead of after 2 s.
    let bin = env!("CARGO_BIN_EXE_ipcemu");
    let cmd = format!(
        "{bin} run fixtures/kolibri/pp_srv.kex fixtures/kolibri/pp_cli.kex --params 2=100000"
    );
    let o = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env("IPCEMU_PROGRESS_AFTER_MS", "0")
        .current_dir(root())
        .output()
        .expect("script (util-linux)");
    let tty = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{tty}");
    assert!(
        tty.contains("processes running") && tty.contains("system calls/s"),
        "no status line on a terminal:\n{tty}"
    );
    assert!(tty.contains("PASS pp_cli 100000"), "{tty}");
    // In a pipe: no status line.
    let o = Command::new(bin)
        .args([
            "run",
            "fixtures/kolibri/pp_srv.kex",
            "fixtures/kolibri/pp_cli.kex",
        ])
        .args(["--params", "2=100000"])
        .env("IPCEMU_PROGRESS_AFTER_MS", "0")
        .current_dir(root())
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(!all.contains("processes running"), "{all}");
}

/// Parse a drcov file: (module base, module end, path, blocks as (offset, size)).
fn drcov(bytes: &[u8]) -> (u64, u64, String, Vec<(u32, u16)>) {
    let text_end = bytes
        .windows(4)
        .position(|w| w == b"bbs\n")
        .expect("BB Table line")
        + 4;
    let head = String::from_utf8_lossy(&bytes[..text_end]);
    let lines: Vec<&str> = head.lines().collect();
    assert_eq!(lines[0], "DRCOV VERSION: 2");
    assert_eq!(lines[1], "DRCOV FLAVOR: drcov");
    let m: Vec<&str> = lines[4].split(", ").collect();
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let n: usize = lines[5]
        .trim_start_matches("BB Table: ")
        .trim_end_matches(" bbs")
        .parse()
        .unwrap();
    let body = &bytes[text_end..];
    assert_eq!(body.len(), 8 * n, "8 bytes per block");
    let blocks = body
        .chunks(8)
        .map(|c| {
            (
                u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                u16::from_le_bytes([c[4], c[5]]),
            )
        })
        .collect();
    (hex(m[1]), hex(m[2]), m[6].to_string(), blocks)
}

#[test]
fn coverage_in_drcov_format() {
    let dir = std::env::temp_dir().join(format!("ipcemu-cov-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |f: &str| {
        let out = dir.join(f);
        let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
            .args([
                "run",
                "fixtures/kolibri/compute.kex",
                "fixtures/win32/hello.exe",
            ])
            .arg("--coverage")
            .arg(format!("2={}", out.display()))
            .current_dir(root())
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::read(out).unwrap()
    };
    let a = run("a.drcov");
    let (base, end, path, blocks) = drcov(&a);
    // hello.exe is loaded at its preferred base; every block lies in the image.
    assert_eq!(base, 0x40_0000);
    assert!(path.ends_with("hello.exe"), "{path}");
    assert!(blocks.len() > 50, "{} blocks", blocks.len());
    assert!(blocks
        .iter()
        .all(|&(o, s)| s > 0 && base + o as u64 + s as u64 <= end));
    // Same run, same file.
    assert_eq!(a, run("b.drcov"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Self-modifying and run-time generated code (patched immediates, the next instruction in the
/// same block, a generated thunk rewritten 1000 times in a page that took fast data stores
/// first, an unpacker) keeps working with Unicorn's store fast path (patches/unicorn/).
#[test]
fn self_modifying_and_generated_code() {
    let out = run_ok(&["smc"], &[]);
    assert_eq!(lines_with(&out, "PASS smc"), 7, "{out}");
    assert!(out.contains("DONE 7 0"), "{out}");
}

/// The store-loop benchmarks compute what the store-free loop computes (the same mixed value
/// from compute.kex, the flat store_loop.kex and the ELF storeloop.elf whose store goes to .data),
/// and store_loop checks that the last store landed.
#[test]
fn store_loops_agree_with_the_compute_loop() {
    let value = |out: &str, prefix: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in {out}"))
            .trim()
            .to_ascii_lowercase()
    };
    let c = run_ok(&["compute"], &["--params", "1=3"]);
    let s = run_ok(&["store_loop"], &["--params", "1=3"]);
    let e = run_ok(&["storeloop"], &["--params", "1=3"]);
    let want = value(&c, "PASS compute ");
    assert!(want.starts_with("0x") && want != "0x00000000", "{c}");
    assert_eq!(value(&s, "PASS store_loop 0x"), want[2..], "{s}");
    assert!(s.contains("PASS store_loop stored value matches"), "{s}");
    assert_eq!(value(&e, "PASS storeloop "), want, "{e}");
}
