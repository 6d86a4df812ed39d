//! The GDB stub with the real GDB (installed by scripts/setup.sh): attach to a running guest,
//! break at its `int 0x40`, read registers, step over the system call, continue to the guest's
//! normal end, while another guest of the same world runs as it would without a debugger.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A MENUET01 image: `mov eax,63; mov ebx,1; mov ecx,'X'; int 0x40` (board write at 0x33),
/// then `mov eax,-1; int 0x40` (end, at 0x3a).
fn guest() -> Vec<u8> {
    let code: &[u8] = &[
        0xB8, 63, 0, 0, 0, // 0x24 mov eax, 63
        0xBB, 1, 0, 0, 0, // 0x29 mov ebx, 1
        0xB9, b'X', 0, 0, 0, // 0x2e mov ecx, 'X'
        0xCD, 0x40, // 0x33 int 0x40
        0xB8, 0xFF, 0xFF, 0xFF, 0xFF, // 0x35 mov eax, -1
        0xCD, 0x40, // 0x3a int 0x40
    ];
    menuet(code)
}

/// A MENUET01 image of `code` (loaded at 0x24, 8 KiB of memory, stack at its top).
fn menuet(code: &[u8]) -> Vec<u8> {
    let mut img = b"MENUET01".to_vec();
    for v in [1u32, 36, 36 + code.len() as u32, 0x2000, 0x2000, 0, 0] {
        img.extend_from_slice(&v.to_le_bytes());
    }
    img.extend_from_slice(code);
    img
}

/// `ipcemu run ARGS` from the repository root with its output piped; returns it and its
/// stderr (nothing read yet).
fn start<S: AsRef<std::ffi::OsStr>>(
    args: impl IntoIterator<Item = S>,
) -> (std::process::Child, BufReader<std::process::ChildStderr>) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .arg("run")
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ipcemu");
    let err = BufReader::new(c.stderr.take().unwrap());
    (c, err)
}

/// The next stderr line, "ipcemu: guest N (...) waits for GDB on ADDR (...)", and its ADDR.
fn gdb_line(err: &mut BufReader<std::process::ChildStderr>) -> (String, String) {
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = gdb_address(&line);
    (line, addr)
}

#[test]
fn gdb_breaks_steps_and_continues_a_guest() {
    let dir = std::env::temp_dir().join(format!("ipcemu-gdb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("dbg.kex");
    std::fs::write(&img, guest()).unwrap();
    let (mut ipcemu, mut err) = start([
        img.as_os_str(),
        "fixtures/kolibri/compute.kex".as_ref(),
        "--gdb".as_ref(),
        "1".as_ref(),
    ]);
    // "ipcemu: guest 1 (dbg[3]) waits for GDB on 127.0.0.1:PORT (...)"
    let (line, addr) = gdb_line(&mut err);
    assert!(line.contains("guest 1 (dbg[3])"), "{line}");
    let gdb = Command::new("gdb")
        .args(["-batch", "-nx"])
        .args(["-ex", "set architecture i386"])
        .args(["-ex", &format!("target remote {addr}")])
        .args(["-ex", "break *0x33"])
        .args(["-ex", "continue"])
        .args(["-ex", "info registers eax ebx ecx eip"])
        .args(["-ex", "stepi"])
        .args(["-ex", "info registers eip"])
        .args(["-ex", "x/2xb 0x33"])
        .args(["-ex", "continue"])
        .output()
        .expect("gdb (scripts/setup.sh installs it)");
    let g =
        String::from_utf8_lossy(&gdb.stdout).into_owned() + &String::from_utf8_lossy(&gdb.stderr);
    let status = ipcemu.wait().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut ipcemu.stdout.take().unwrap(), &mut out).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(g.contains("Breakpoint 1, 0x00000033"), "{g}");
    for want in [
        "eax            0x3f",
        "ebx            0x1 ",
        "ecx            0x58",
        "eip            0x33",
    ] {
        assert!(g.contains(want), "{want:?} in:\n{g}");
    }
    // stepi ran the system call: the next instruction, and the byte went to the board.
    assert!(g.contains("eip            0x35"), "{g}");
    // Breakpoints do not patch memory: the int 0x40 is still there.
    assert!(g.contains("0x33:\t0xcd\t0x40"), "{g}");
    assert!(g.contains("exited normally"), "{g}");
    assert!(status.success(), "{rest}");
    // The other guest ran as without a debugger.
    let plain = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args(["run", "fixtures/kolibri/compute.kex"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out, format!("X{}", String::from_utf8_lossy(&plain.stdout)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gdb_watchpoint_stops_after_the_write_and_the_instruction_runs_once() {
    // inc dword [0x1000]; then the board prints '0' + the value (must be '1': the watched
    // instruction is not run twice); then the end.
    let code: &[u8] = &[
        0xFF, 0x05, 0x00, 0x10, 0, 0, // 0x24 inc dword [0x1000]
        0x8B, 0x0D, 0x00, 0x10, 0, 0, // 0x2a mov ecx, [0x1000]
        0x83, 0xC1, 0x30, // add ecx, '0'
        0xB8, 63, 0, 0, 0, // mov eax, 63
        0xBB, 1, 0, 0, 0, // mov ebx, 1
        0xCD, 0x40, // int 0x40
        0xB8, 0xFF, 0xFF, 0xFF, 0xFF, // mov eax, -1
        0xCD, 0x40, // int 0x40
    ];
    let img = menuet(code);
    let dir = std::env::temp_dir().join(format!("ipcemu-gdbw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("w.kex");
    std::fs::write(&path, img).unwrap();
    let (mut ipcemu, mut err) = start([path.as_os_str(), "--gdb".as_ref(), "1".as_ref()]);
    let (_, addr) = gdb_line(&mut err);
    let gdb = Command::new("gdb")
        .args(["-batch", "-nx"])
        .args(["-ex", "set architecture i386"])
        .args(["-ex", &format!("target remote {addr}")])
        .args(["-ex", "watch *(int*)0x1000"])
        .args(["-ex", "continue"])
        .args(["-ex", "info registers eip"])
        .args(["-ex", "delete"])
        .args(["-ex", "continue"])
        .output()
        .expect("gdb");
    let g =
        String::from_utf8_lossy(&gdb.stdout).into_owned() + &String::from_utf8_lossy(&gdb.stderr);
    assert!(ipcemu.wait().unwrap().success());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut ipcemu.stdout.take().unwrap(), &mut out).unwrap();
    assert!(
        g.contains("Old value = 0") && g.contains("New value = 1"),
        "{g}"
    );
    // Stopped after the writing instruction.
    assert!(g.contains("eip            0x2a"), "{g}");
    assert_eq!(out, "1", "the watched instruction ran once");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where `thr_pingpong.kex` starts its second thread: the operands of
/// `mov eax, 51; mov ebx, 1; mov ecx, thread_entry; mov edx, thread_stack_top`.
fn thread_entry_and_stack(img: &[u8]) -> (u32, u32) {
    let pat = [0xB8, 51, 0, 0, 0, 0xBB, 1, 0, 0, 0, 0xB9];
    let i = img
        .windows(pat.len())
        .position(|w| w == pat)
        .expect("the 51.1 call in thr_pingpong.kex");
    let word = |at: usize| u32::from_le_bytes([img[at], img[at + 1], img[at + 2], img[at + 3]]);
    assert_eq!(img[i + 15], 0xBA, "mov edx, thread_stack_top");
    (word(i + 11), word(i + 16))
}

/// The `int 0x40` that ends the second thread of `thr_pingpong.kex` (`mov eax, -1; int 0x40`
/// after its entry).
fn thread_end(img: &[u8], entry: u32) -> u32 {
    let pat = [0xB8, 0xFF, 0xFF, 0xFF, 0xFF, 0xCD, 0x40];
    let from = entry as usize;
    let i = img[from..]
        .windows(pat.len())
        .position(|w| w == pat)
        .expect("the end of the thread");
    (from + i + 5) as u32
}

#[test]
fn gdb_sees_every_thread_of_a_guest() {
    let img = std::fs::read(root().join("fixtures/kolibri/thr_pingpong.kex")).unwrap();
    let (entry, stack) = thread_entry_and_stack(&img);
    let end = thread_end(&img, entry);
    let guests = [
        "fixtures/kolibri/thr_pingpong.kex",
        "fixtures/kolibri/compute.kex",
        "--params",
        "1=20",
    ];
    let (mut ipcemu, mut err) = start(guests.iter().chain(&["--gdb", "1"]));
    let (line, addr) = gdb_line(&mut err);
    // PIDs: the main thread 3, compute.kex 4, the second thread (51.1) 5.
    assert!(line.contains("guest 1 (thr_pingpong[3])"), "{line}");
    let gdb = Command::new("gdb")
        .args(["-batch", "-nx"])
        .args(["-ex", "set architecture i386"])
        .args(["-ex", &format!("target remote {addr}")])
        .args(["-ex", "info threads"])
        .args(["-ex", &format!("break *{entry:#x}")])
        .args(["-ex", "continue"])
        .args(["-ex", "info threads"])
        .args(["-ex", "echo =second=\\n"])
        .args(["-ex", "info registers eip esp"])
        .args(["-ex", "set $ebx = 0x1234abcd"])
        .args(["-ex", "thread 1"])
        .args(["-ex", "maintenance flush register-cache"])
        .args(["-ex", "echo =main=\\n"])
        .args(["-ex", "info registers eip esp ebx"])
        .args(["-ex", "thread 2"])
        .args(["-ex", "echo =second-again=\\n"])
        .args(["-ex", "info registers ebx"])
        .args(["-ex", "stepi"])
        .args(["-ex", "echo =stepped=\\n"])
        .args(["-ex", "info registers eip"])
        .args(["-ex", "delete"])
        .args(["-ex", &format!("break *{end:#x}")])
        .args(["-ex", "continue"])
        .args(["-ex", "echo =at-end=\\n"])
        .args(["-ex", "info threads"])
        .args(["-ex", "continue"])
        .output()
        .expect("gdb (scripts/setup.sh installs it)");
    let g =
        String::from_utf8_lossy(&gdb.stdout).into_owned() + &String::from_utf8_lossy(&gdb.stderr);
    let status = ipcemu.wait().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut ipcemu.stdout.take().unwrap(), &mut out).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let section = |name: &str| -> String {
        let start = g
            .find(&format!("={name}=\n"))
            .unwrap_or_else(|| panic!("no ={name}= in:\n{g}"));
        let s = &g[start + name.len() + 3..];
        s[..s.find("\n=").unwrap_or(s.len())].to_string()
    };
    let field = |s: &str, reg: &str| -> Option<u32> {
        s.lines()
            .find(|l| l.split_whitespace().next() == Some(reg))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok())
    };
    // Before the run only the main thread exists; the breakpoint in the second thread's code
    // stops in that thread, which GDB has not seen before.
    // GDB names a thread "Thread 1.PID" (gdbstub reports one process, 1).
    assert!(g.contains("* 1    Thread 1.3 (slot 3, "), "{g}");
    assert!(g.contains("[New Thread 1.5]"), "{g}");
    assert!(g.contains("[Switching to Thread 1.5]"), "{g}");
    assert!(
        g.contains(&format!("Thread 2 hit Breakpoint 1, {entry:#010x}")),
        "{g}"
    );
    // `info threads` after the stop lists both, the second one current.
    let listed = g
        .lines()
        .filter(|l| l.contains("Thread 1.3 (slot") || l.contains("Thread 1.5 (slot"))
        .collect::<Vec<_>>();
    assert!(
        listed
            .iter()
            .any(|l| l.starts_with("* 2") && l.contains("Thread 1.5")),
        "{g}"
    );
    assert!(
        listed
            .iter()
            .any(|l| l.starts_with("  1") && l.contains("Thread 1.3")),
        "{g}"
    );
    // Registers per thread: the second thread at its entry on its own stack; the main thread
    // elsewhere, on the image's stack; the register written in the second thread only there.
    let second = section("second");
    assert_eq!(field(&second, "eip"), Some(entry), "{g}");
    assert_eq!(field(&second, "esp"), Some(stack), "{g}");
    let main = section("main");
    assert!(field(&main, "eip").is_some_and(|e| e != entry), "{g}");
    assert!(field(&main, "esp").is_some_and(|e| e > stack), "{g}");
    assert_ne!(field(&main, "ebx"), Some(0x1234abcd), "{g}");
    assert_eq!(
        field(&section("second-again"), "ebx"),
        Some(0x1234abcd),
        "{g}"
    );
    // stepi runs one instruction of the second thread (mov ebx, imm32: 5 bytes).
    assert_eq!(field(&section("stepped"), "eip"), Some(entry + 5), "{g}");
    // At the second thread's last instruction the main thread has already ended (it prints
    // and ends first): it is gone from the list.
    let at_end = section("at-end");
    assert!(
        at_end.contains(&format!("* 2    Thread 1.5 (slot 5, ready) {end:#010x}")),
        "{g}"
    );
    assert!(!at_end.contains("Thread 1.3"), "{g}");
    assert!(g.contains("exited normally"), "{g}");
    assert!(status.success(), "{rest}");
    // Both guests print what a plain run prints, in the same order.
    let plain = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .arg("run")
        .args(guests)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out, String::from_utf8_lossy(&plain.stdout));
    assert!(out.contains("PASS thr_pingpong final count 20"), "{out}");
}

/// The address in an "ipcemu: guest N (...) waits for GDB on ADDR (...)" line.
fn gdb_address(line: &str) -> String {
    line.split(" waits for GDB on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string()
}

#[test]
fn two_guests_each_with_its_own_gdb() {
    let img = std::fs::read(root().join("fixtures/kolibri/thr_pingpong.kex")).unwrap();
    let (entry, stack) = thread_entry_and_stack(&img);
    let guests = [
        "fixtures/kolibri/thr_pingpong.kex",
        "fixtures/kolibri/thr_pingpong.kex",
        "--params",
        "1=20",
        "--params",
        "2=30",
    ];
    let (mut ipcemu, mut err) = start(guests.iter().chain(&["--gdb", "1", "--gdb", "2"]));
    let mut lines = [String::new(), String::new()];
    for l in &mut lines {
        err.read_line(l).unwrap();
    }
    assert!(lines[0].contains("guest 1 (thr_pingpong[3])"), "{lines:?}");
    assert!(lines[1].contains("guest 2 (thr_pingpong[4])"), "{lines:?}");
    // Both GDBs at once; each breaks in its guest's second thread.
    let gdbs: Vec<_> = lines
        .iter()
        .map(|l| {
            Command::new("gdb")
                .args(["-batch", "-nx"])
                .args(["-ex", "set architecture i386"])
                .args(["-ex", &format!("target remote {}", gdb_address(l))])
                .args(["-ex", &format!("break *{entry:#x}")])
                .args(["-ex", "continue"])
                .args(["-ex", "info registers eip esp"])
                .args(["-ex", "delete"])
                .args(["-ex", "continue"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("gdb (scripts/setup.sh installs it)")
        })
        .collect();
    let outs: Vec<String> = gdbs
        .into_iter()
        .map(|g| {
            let o = g.wait_with_output().unwrap();
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
        })
        .collect();
    let status = ipcemu.wait().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut ipcemu.stdout.take().unwrap(), &mut out).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    // PIDs: the main threads 3 and 4, the second threads 5 (guest 1) and 6 (guest 2).
    for (g, second) in outs.iter().zip(["1.5", "1.6"]) {
        assert!(
            g.contains(&format!("[Switching to Thread {second}]")),
            "{g}"
        );
        assert!(
            g.contains(&format!("Thread 2 hit Breakpoint 1, {entry:#010x}")),
            "{g}"
        );
        assert!(g.contains(&format!("esp            {stack:#x}")), "{g}");
        assert!(g.contains("exited normally"), "{g}");
    }
    assert!(status.success(), "{rest}");
    let plain = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .arg("run")
        .args(guests)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out, String::from_utf8_lossy(&plain.stdout));
    assert!(out.contains("PASS thr_pingpong final count 20"), "{out}");
    assert!(out.contains("PASS thr_pingpong final count 30"), "{out}");
}

/// A remote-protocol packet.
fn packet(body: &str) -> Vec<u8> {
    let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
    format!("${body}#{sum:02x}").into_bytes()
}

/// The body of the next packet on `s` (acknowledgements skipped).
fn reply(s: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut body = Vec::new();
    let mut b = [0u8];
    loop {
        s.read_exact(&mut b).unwrap();
        if b[0] == b'$' {
            break;
        }
    }
    loop {
        s.read_exact(&mut b).unwrap();
        if b[0] == b'#' {
            let mut sum = [0u8; 2];
            s.read_exact(&mut sum).unwrap();
            return String::from_utf8_lossy(&body).into_owned();
        }
        body.push(b[0]);
    }
}

#[test]
fn ctrl_c_stops_a_running_guest_in_its_thread_and_kill_ends_it() {
    use std::io::Write;
    // spin.kex never ends: only the interrupt stops it.
    let (mut ipcemu, mut err) = start(["fixtures/kolibri/spin.kex", "--gdb", "1"]);
    let (_, addr) = gdb_line(&mut err);
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(&packet("?")).unwrap();
    let first = reply(&mut s);
    assert!(first.starts_with("T05thread:03;"), "{first}");
    s.write_all(&packet("vCont;c")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    s.write_all(b"\x03").unwrap();
    let stop = reply(&mut s);
    assert!(stop.starts_with("T02thread:03;"), "{stop}");
    s.write_all(&packet("qfThreadInfo")).unwrap();
    assert_eq!(reply(&mut s), "m03");
    s.write_all(&packet("k")).unwrap();
    let status = ipcemu.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(!status.success());
    assert!(rest.contains("spin[3] was killed"), "{rest}");
}
