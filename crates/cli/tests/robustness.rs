//! Hostile guests and bad input through the real `ipcemu` binary (docs/robustness.md): bounded
//! host memory for output, clean ends on SIGINT/SIGTERM and closed pipes, honest exit
//! statuses, values refused where they are written. Guest images are built here, byte by byte.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::root;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ipcemu"));
    c.current_dir(root());
    c
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ipcemu-rb-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A static ELF32 i386 executable: `code` at 0x08048000, followed by `bss` zero bytes.
fn elf(code: &[u8], bss: u32) -> Vec<u8> {
    let base = 0x0804_8000u32;
    let mut v = b"\x7fELF\x01\x01\x01\0".to_vec();
    v.resize(16, 0);
    for h in [2u16, 3] {
        v.extend_from_slice(&h.to_le_bytes());
    }
    for w in [1u32, base + 84, 52, 0, 0] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    for h in [52u16, 32, 1, 40, 0, 0] {
        v.extend_from_slice(&h.to_le_bytes());
    }
    let size = 84 + code.len() as u32;
    for w in [1u32, 0, base, base, size, size + bss, 7, 0x1000] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v.extend_from_slice(code);
    v
}

/// Address of the first byte after the code of an [`elf`] image, page aligned.
const BSS: u32 = 0x0804_9000;

/// A guest that fills a 16 MiB buffer with 'x', then writes all of it to fd 1 in one call,
/// `times` times, and exits 0.
fn flood(times: u32) -> Vec<u8> {
    let mut c = Vec::new();
    // mov edi, BSS; mov ecx, 16 MiB; mov al, 'x'; rep stosb
    c.push(0xBF);
    c.extend_from_slice(&BSS.to_le_bytes());
    c.push(0xB9);
    c.extend_from_slice(&(16u32 << 20).to_le_bytes());
    c.extend_from_slice(&[0xB0, b'x', 0xF3, 0xAA]);
    // mov esi, times
    c.push(0xBE);
    c.extend_from_slice(&times.to_le_bytes());
    // again: mov eax, 4; mov ebx, 1; mov ecx, BSS; mov edx, 16 MiB; int 0x80
    c.extend_from_slice(&[0xB8, 4, 0, 0, 0, 0xBB, 1, 0, 0, 0, 0xB9]);
    c.extend_from_slice(&BSS.to_le_bytes());
    c.push(0xBA);
    c.extend_from_slice(&(16u32 << 20).to_le_bytes());
    c.extend_from_slice(&[0xCD, 0x80]);
    // dec esi; jnz again (25 bytes back)
    c.extend_from_slice(&[0x4E, 0x75, 0xE7]);
    // mov eax, 1; xor ebx, ebx; int 0x80
    c.extend_from_slice(&[0xB8, 1, 0, 0, 0, 0x31, 0xDB, 0xCD, 0x80]);
    // The buffer starts on the page after the code.
    elf(&c, BSS - 0x0804_8000 + (16 << 20))
}

/// A guest that spins without any system call.
fn spinner() -> Vec<u8> {
    elf(&[0xEB, 0xFE], 0)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

/// Wait for `child` with `wait4`, so the kernel's figure of its peak resident memory comes
/// with its status. Returns (exit code, -1 when killed; peak RSS in KiB).
fn wait_rss(child: &mut Child, limit: Duration) -> (i32, i64) {
    let pid = child.id() as libc::pid_t;
    let t = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: plain system call on our own child; `ru` is written by the kernel.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -1
            };
            return (code, ru.ru_maxrss);
        }
        assert!(r == 0, "wait4 failed");
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("ipcemu did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_all(r: Option<impl Read>) -> String {
    let mut s = String::new();
    if let Some(mut r) = r {
        let _ = r.read_to_string(&mut s);
    }
    s
}

fn kill(child: &Child, sig: i32) {
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, sig) };
}

// ----- output bounds ---------------------------------------------------------------------

#[test]
fn a_write_flood_to_a_discarded_stdout_stays_under_64_mib() {
    let d = scratch("flood");
    // 64 calls of 16 MiB: 1 GiB of output.
    let g = write(&d, "flood.elf", &flood(64));
    let mut child = bin()
        .args(["run", &g])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = read_all(child.stderr.take());
    let (code, rss_kib) = wait_rss(&mut child, Duration::from_secs(120));
    assert_eq!(code, 0, "{err}");
    eprintln!("write flood: peak RSS {rss_kib} KiB");
    assert!(
        rss_kib < 64 * 1024,
        "peak RSS {rss_kib} KiB for 1 GiB of output (bound: 64 MiB)"
    );
}

#[test]
fn captured_output_over_max_output_is_counted_dropped_and_reported() {
    let d = scratch("maxout");
    write(&d, "flood.elf", &flood(4));
    let sc = d.join("flood.toml");
    std::fs::write(
        &sc,
        "[[process]]\nimage = \"flood.elf\"\nexpect_output_contains = [\"xxxx\"]\n",
    )
    .unwrap();
    let mut child = bin()
        .args(["test", &sc.to_string_lossy(), "--max-output", "1M"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = read_all(child.stdout.take());
    let (code, rss_kib) = wait_rss(&mut child, Duration::from_secs(120));
    eprintln!("captured flood (64 MiB, --max-output 1M): peak RSS {rss_kib} KiB");
    assert_eq!(code, 0, "{out}");
    // 4 x 16 MiB written, 1 MiB kept.
    let dropped = (64u64 << 20) - (1 << 20);
    assert!(
        out.contains(&format!(
            "note: process flood: output over --max-output (1048576 bytes) was dropped: {dropped} bytes"
        )),
        "{out}"
    );
    assert!(rss_kib < 64 * 1024, "peak RSS {rss_kib} KiB");
    let e = bin()
        .args(["test", &sc.to_string_lossy(), "--max-output", "lots"])
        .output()
        .unwrap();
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("is not a byte count"));
}

// ----- signals -----------------------------------------------------------------------------

/// A run that never ends by itself: a guest waiting for a message and a guest spinning
/// without system calls.
fn endless(d: &Path, trace: &Path, format: &str) -> Child {
    let spin = write(d, "spin.elf", &spinner());
    bin()
        .args([
            "run",
            "fixtures/kolibri/echo_srv.kex",
            &spin,
            "--stats",
            "--trace",
            &trace.to_string_lossy(),
            "--trace-format",
            format,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn sigint_ends_the_run_with_complete_traces_and_the_report() {
    let d = scratch("sigint");
    let trace = d.join("t.jsonl");
    let mut child = endless(&d, &trace, "jsonl");
    std::thread::sleep(Duration::from_millis(700));
    kill(&child, libc::SIGINT);
    let (code, _) = wait_rss(&mut child, Duration::from_secs(20));
    let err = read_all(child.stderr.take());
    assert_eq!(code, 130, "{err}");
    assert!(err.contains("ipcemu: stopped by SIGINT"), "{err}");
    assert!(err.contains("still running: echo_srv[3], spin[4]"), "{err}");
    assert!(err.contains("  echo_srv[3] slot 3: waits for"), "{err}");
    assert!(err.contains("  spin[4] slot 4: running"), "{err}");
    assert!(err.contains("2 process(es)"), "--stats printed: {err}");
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(text.ends_with('\n'), "JSONL ends at a record boundary");
    let mut n = 0;
    for l in text.lines() {
        serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        n += 1;
    }
    assert!(n > 2, "header and records: {text}");
}

#[test]
fn sigterm_ends_the_run_with_a_closed_chrome_trace() {
    let d = scratch("sigterm");
    let trace = d.join("t.json");
    let mut child = endless(&d, &trace, "chrome");
    std::thread::sleep(Duration::from_millis(700));
    kill(&child, libc::SIGTERM);
    let (code, _) = wait_rss(&mut child, Duration::from_secs(20));
    let err = read_all(child.stderr.take());
    assert_eq!(code, 143, "{err}");
    assert!(err.contains("stopped by SIGTERM"), "{err}");
    let text = std::fs::read_to_string(&trace).unwrap();
    serde_json::from_str::<serde_json::Value>(&text)
        .unwrap_or_else(|e| panic!("the Chrome trace is not closed JSON: {e}"));
}

#[test]
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn a_second_sigint_exits_at_once() {
    // stdout is a pipe nobody reads: once it is full the run blocks in write(2), so the first
    // SIGINT cannot finish the run; the second must end the process anyway.
    let d = scratch("sigint2");
    let g = write(&d, "flood.elf", &flood(1000));
    let mut child = bin()
        .args(["run", &g])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until its main thread sits in write(2) (system call 1 on x86-64).
    let t = Instant::now();
    let syscall = format!("/proc/{}/syscall", child.id());
    while !std::fs::read_to_string(&syscall).is_ok_and(|s| s.starts_with("1 ")) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "never blocked in write"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "blocked in write: the first SIGINT cannot end the run"
    );
    let t = Instant::now();
    kill(&child, libc::SIGINT);
    let (code, _) = wait_rss(&mut child, Duration::from_secs(5));
    assert_eq!(code, 130);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

// ----- closed pipes ------------------------------------------------------------------------

/// Run with stdout (or stderr) a pipe whose reading end is closed at once, like `| head -1`
/// that has already gone. Returns (code, the other stream).
fn closed(args: &[&str], close_stderr: bool) -> (i32, String) {
    let mut c = bin();
    c.args(args);
    if close_stderr {
        c.stdout(Stdio::null()).stderr(Stdio::piped());
    } else {
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut child = c.spawn().unwrap();
    let other = if close_stderr {
        drop(child.stderr.take());
        String::new()
    } else {
        drop(child.stdout.take());
        read_all(child.stderr.take())
    };
    let (code, _) = wait_rss(&mut child, Duration::from_secs(60));
    (code, other)
}

#[test]
fn a_closed_stdout_ends_every_command_quietly_with_141() {
    let d = scratch("pipe");
    // run: a guest that would write 16 GiB.
    let g = write(&d, "flood.elf", &flood(1024));
    let (code, err) = closed(&["run", &g], false);
    assert_eq!(code, 141, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err, "", "quietly");
    // test
    let (code, err) = closed(&["test", "fixtures/scenarios/echo_pair.toml"], false);
    assert_eq!(code, 141, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // trace summary
    let trace = d.join("t.jsonl");
    let o = bin()
        .args([
            "run",
            "fixtures/kolibri/echo_srv.kex",
            "fixtures/kolibri/echo_cli.kex",
            "--trace",
            &trace.to_string_lossy(),
            "--trace-format",
            "jsonl",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let (code, err) = closed(&["trace", "summary", &trace.to_string_lossy()], false);
    assert_eq!(code, 141, "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_closed_stderr_ends_a_run_traced_to_stderr_with_141() {
    let (code, _) = closed(
        &[
            "run",
            "fixtures/kolibri/echo_srv.kex",
            "fixtures/kolibri/echo_cli.kex",
            "--trace",
            "-",
            "--params",
            "2=100000",
        ],
        true,
    );
    assert_eq!(code, 141);
}

// ----- honest exits ------------------------------------------------------------------------

#[test]
fn a_time_limit_passed_by_a_guest_that_ended_is_not_a_timeout() {
    // nop's only system call (exit) moves the clock to 1 us: the limit has passed, but the
    // run ended because every guest did.
    let o = bin()
        .args(["run", "fixtures/kolibri/nop.kex", "--timeout", "0.000001"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("still running"), "{err}");
}

#[test]
fn a_fault_wins_over_a_time_limit() {
    let o = bin()
        .args([
            "run",
            "fixtures/kolibri/bad_fault.kex",
            "fixtures/kolibri/spin.kex",
            "--timeout",
            "0.5",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("still running: spin[4]"), "{err}");
}

#[test]
fn a_panicking_scenario_worker_fails_the_run_and_later_files_still_run() {
    let d = scratch("panic");
    let fx = root().join("fixtures/kolibri").canonicalize().unwrap();
    for n in ["a", "b", "c"] {
        std::fs::write(
            d.join(format!("{n}.toml")),
            format!(
                "[[process]]\nimage = \"{}\"\n",
                fx.join("nop.kex").to_string_lossy()
            ),
        )
        .unwrap();
    }
    for j in ["1", "2"] {
        let o = bin()
            .args(["test", &d.to_string_lossy(), "-j", j])
            .env("IPCEMU_TEST_PANIC_ON", "a.toml")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(2), "{out}");
        assert!(out.contains("ERROR "), "{out}");
        assert!(
            out.contains("ipcemu failed while running it (panic:"),
            "{out}"
        );
        assert!(out.contains("PASS b") && out.contains("PASS c"), "{out}");
        assert!(out.contains("2 passed, 0 failed, 1 errors"), "{out}");
    }
}

#[test]
fn scenario_time_values_are_checked_with_file_and_line() {
    let d = scratch("values");
    for (key, v) in [
        ("timeout", "-1"),
        ("timeout", "nan"),
        ("wall_timeout", "inf"),
        ("timeout", "1e300"),
    ] {
        let f = d.join("v.toml");
        std::fs::write(
            &f,
            format!("[options]\n{key} = {v}\n\n[[process]]\nimage = \"x.kex\"\n"),
        )
        .unwrap();
        let o = bin().args(["test", &f.to_string_lossy()]).output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(2), "{key} = {v}: {out}");
        assert!(out.contains("v.toml"), "{out}");
        assert!(out.contains("line 2"), "{out}");
        assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    }
    // A send time too.
    let f = d.join("at.toml");
    std::fs::write(
        &f,
        "[[process]]\nimage = \"x.kex\"\n\n[host]\n[[host.send]]\nto = \"x\"\ntext = \"hi\"\nat = -0.5\n",
    )
    .unwrap();
    let o = bin().args(["test", &f.to_string_lossy()]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("line 8") && out.contains("negative"), "{out}");
}

// ----- numbers at their edges --------------------------------------------------------------

#[test]
fn limits_past_their_range_are_refused_when_parsed() {
    for args in [
        ["--max-slots", "65536"],
        ["--max-slots", "0"],
        ["--max-slots", "2"],
        ["--timeout", "1e11"],
        ["--wall-timeout", "-1"],
        ["--timeout", "nan"],
    ] {
        let o = bin()
            .args(["run", "fixtures/kolibri/nop.kex"])
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("invalid value '{}'", args[1])),
            "{err}"
        );
    }
    let o = bin()
        .args(["run", "fixtures/kolibri/nop.kex", "--max-slots", "65535"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn the_largest_com_program_returns_through_its_zero_word() {
    let d = scratch("com");
    // ret at 100h, then 0xFF filler up to 0xFF00 bytes: the last two bytes sit where SP points.
    let mut com = vec![0xC3];
    com.resize(0xFF00, 0xFF);
    let g = write(&d, "big.com", &com);
    let o = bin().args(["run", &g]).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    com.push(0x90);
    let g = write(&d, "bigger.com", &com);
    let o = bin().args(["run", &g]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("larger than a .COM program can be (65280)"),
        "{err}"
    );
}

#[test]
fn an_elf_with_8192_load_segments_starts_quickly() {
    let d = scratch("segs");
    let base = 0x0804_8000u32;
    let n = 8192u32;
    let code = [0xb8, 1, 0, 0, 0, 0x31, 0xdb, 0xcd, 0x80];
    let data_off = 52 + 32 * n;
    let mut v = b"\x7fELF\x01\x01\x01\0".to_vec();
    v.resize(16, 0);
    for h in [2u16, 3] {
        v.extend_from_slice(&h.to_le_bytes());
    }
    for w in [1u32, base, 52, 0, 0] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    for h in [52u16, 32, n as u16, 40, 0, 0] {
        v.extend_from_slice(&h.to_le_bytes());
    }
    for i in 0..n {
        // Three pages apart: every segment has a hole on each side.
        let va = base + i * 0x3000;
        for w in [1u32, data_off, va, va, 9, 9, 5, 0x1000] {
            v.extend_from_slice(&w.to_le_bytes());
        }
    }
    v.extend_from_slice(&code);
    let g = write(&d, "segs.elf", &v);
    let t = Instant::now();
    let o = bin().args(["run", &g]).output().unwrap();
    let took = t.elapsed();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Before: over 120 s. Now well under a second (debug build, loaded machine: 10 s bound).
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn wall_timeout_covers_loading() {
    // The wall clock starts with the world: a limit shorter than loading one guest ends the run
    // before the guest does anything.
    let o = bin()
        .args([
            "run",
            "--wall-timeout",
            "0.000001",
            "fixtures/kolibri/compute.kex",
        ])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("--wall-timeout reached"), "{err}");
}

#[test]
fn no_address_space_for_a_translation_buffer_is_a_clean_start_error() {
    // Under a 300 MB address-space limit, 60 guests cannot all get their 8 MiB translation
    // buffer: the guest that does not fit is refused by name, and nothing aborts.
    let guests = vec!["fixtures/kolibri/compute.kex"; 60].join(" ");
    let bin = env!("CARGO_BIN_EXE_ipcemu");
    let o = Command::new("bash")
        .args([
            "-c",
            &format!("ulimit -v 300000 && exec {bin} run {guests} > /dev/null"),
        ])
        .current_dir(root())
        .output()
        .expect("bash");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("fixtures/kolibri/compute.kex: cannot reserve 16 MiB of address space"),
        "{err}"
    );
    assert!(err.contains("ulimit -v) is 300000 KiB"), "{err}");
    assert!(!err.contains("Could not allocate"), "{err}");
}

// ----- guest memory ------------------------------------------------------------------------

/// A 43-byte MENUET01 image that declares `mem` bytes of memory and ends at once.
fn declares(mem: u32) -> Vec<u8> {
    let code = [0xB8, 0xFF, 0xFF, 0xFF, 0xFF, 0xCD, 0x40]; // mov eax,-1; int 0x40
    let mut img = b"MENUET01".to_vec();
    for v in [1u32, 36, 36 + code.len() as u32, mem, mem, 0, 0] {
        img.extend_from_slice(&v.to_le_bytes());
    }
    img.extend_from_slice(&code);
    img
}

#[test]
fn a_2_gib_declaration_costs_what_it_touches() {
    let d = scratch("big");
    let g = write(&d, "big.kex", &declares(0x8000_0000));
    assert_eq!(std::fs::metadata(&g).unwrap().len(), 43);
    let mut child = bin()
        .args(["run", &g])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = read_all(child.stderr.take());
    let (code, rss_kib) = wait_rss(&mut child, Duration::from_secs(60));
    assert_eq!(code, 0, "{err}");
    eprintln!("2 GiB declaration: peak RSS {rss_kib} KiB");
    assert!(
        rss_kib < 64 * 1024,
        "peak RSS {rss_kib} KiB (bound: 64 MiB)"
    );
}

#[test]
fn memory_limits_turn_impossible_requests_into_load_errors() {
    let d = scratch("limits");
    let big = write(&d, "big.kex", &declares(0x8000_0000));
    let o = bin()
        .args(["run", "--max-memory", "64M", &big])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("big.kex: 2048 MiB more would pass the memory limit of a process (64 MiB, --max-memory; 0 bytes mapped)"),
        "{err}"
    );
    // The world's limit: compute.kex maps 8 KiB, so the second copy does not fit in 12 KiB.
    let o = bin()
        .args([
            "run",
            "--max-world-memory",
            "12K",
            "fixtures/kolibri/compute.kex",
            "fixtures/kolibri/compute.kex",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("8 KiB more would pass the memory limit of the world (12 KiB, --max-world-memory; 8 KiB mapped)"),
        "{err}"
    );
    // Within the limits everything runs.
    let o = bin()
        .args(["run", "--max-memory", "1M", "--max-world-memory", "16K"])
        .args([
            "fixtures/kolibri/compute.kex",
            "fixtures/kolibri/compute.kex",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = bin()
        .args(["run", "--max-memory", "lots", &big])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn ended_threads_are_freed() {
    // Threads created and ended one after another (churn.exe: CreateThread, wait, CloseHandle):
    // what an ended thread leaves behind is its 24-byte identity. 100 000 threads may add at
    // most 4 x 24 B each over a run of 1 000 (release, 10^6 threads: docs/robustness.md).
    let rss = |n: u32| {
        let mut child = bin()
            .args(["run", "fixtures/win32/churn.exe", "--params"])
            .arg(format!("1={n}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = read_all(child.stdout.take());
        let (code, kib) = wait_rss(&mut child, Duration::from_secs(300));
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains(&format!("PASS churn {n} threads created and ended")),
            "{out}"
        );
        kib
    };
    let (small, big) = (rss(1_000), rss(100_000));
    eprintln!("thread churn: 1 000 threads {small} KiB, 100 000 threads {big} KiB");
    assert!(
        big - small < (100_000 * 24 * 4) / 1024,
        "100 000 ended threads cost {} KiB",
        big - small
    );
}
