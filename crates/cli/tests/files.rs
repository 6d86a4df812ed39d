//! The KolibriOS file functions through `--root`: real guests (fixtures/kolibri/fs_*.kex) on a
//! fresh temporary folder, with the host side of every operation checked afterwards.

use std::fs;
use std::path::{Path, PathBuf};
mod common;
use common::{root as repo, run};

fn fixture(name: &str) -> PathBuf {
    repo().join("fixtures/kolibri").join(format!("{name}.kex"))
}

/// Run one guest with `--root root` (and `extra`), tracing to JSON Lines; demand exit 0, at
/// least one PASS and no FAIL. Returns (stdout, trace).
fn run_guest(name: &str, root: &Path, extra: &[&str]) -> (String, String) {
    let trace = root.parent().unwrap().join(format!("{name}.jsonl"));
    let g = fixture(name);
    let mut args = vec![
        "run",
        g.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
        "--trace-format",
        "jsonl",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "ipcemu {args:?}\nstdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("PASS"), "{out}");
    assert!(!out.contains("FAIL"), "a guest reported FAIL:\n{out}");
    assert!(out.contains(" 0\n") && out.contains("DONE"), "{out}");
    (out, fs::read_to_string(&trace).unwrap())
}

/// The `op` of every `file` record of a JSONL trace.
fn file_ops(trace: &str) -> Vec<String> {
    trace
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "file")
        .map(|v| format!("{} {}", v["op"].as_str().unwrap(), v["result"]))
        .collect()
}

fn new_root() -> (tempfile::TempDir, PathBuf) {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    fs::create_dir_all(root.join("rd/1")).unwrap();
    fs::create_dir_all(root.join("tmp0/1")).unwrap();
    (top, root)
}

#[test]
fn read_write_info_set_size_and_load() {
    let (_top, root) = new_root();
    fs::write(root.join("rd/1/Hello.txt"), "hi").unwrap();
    let (_, trace) = run_guest("fs_rw", &root, &[]);
    assert_eq!(fs::read(root.join("tmp0/1/a.txt")).unwrap(), b"hello");
    let ops = file_ops(&trace);
    for op in [
        "70.2 create 0",
        "70.3 write 0",
        "70.0 read 6",
        "70.4 set_size 0",
    ] {
        assert!(ops.iter().any(|o| o == op), "no {op} record in {ops:?}");
    }
    assert!(ops.iter().any(|o| o == "80.0 read 6"), "{ops:?}");
    assert!(ops.iter().any(|o| o == "68.27 load_file 5"), "{ops:?}");
    // One record per file call of the guest: 12 calls.
    assert_eq!(ops.len(), 12, "{ops:?}");
}

#[test]
fn folders_list_create_and_delete() {
    let (_top, root) = new_root();
    let (_, trace) = run_guest("fs_dir", &root, &[]);
    let d = root.join("tmp0/1");
    assert_eq!(fs::read(d.join("keep.txt")).unwrap(), b"xyz");
    assert!(d.join("kept").is_dir());
    assert!(!d.join("d").exists());
    let mut names: Vec<_> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["keep.txt", "kept"]);
    let ops = file_ops(&trace);
    assert!(ops.iter().any(|o| o == "70.8 delete 10"), "{ops:?}");
    assert!(ops.iter().any(|o| o == "70.1 read_folder 6"), "{ops:?}");
}

#[test]
fn rename_move_and_set_attributes() {
    let (_top, root) = new_root();
    let (_, trace) = run_guest("fs_ren", &root, &[]);
    let d = root.join("tmp0/1");
    assert_eq!(fs::read(d.join("sub/c.txt")).unwrap(), b"abc");
    assert!(!d.join("a.txt").exists() && !d.join("b.txt").exists());
    assert!(d.join("d2").is_dir() && !d.join("d").exists());
    assert!(
        d.join("x.txt").is_file(),
        "a refused rename leaves the file"
    );
    let ro = fs::metadata(d.join("ro.txt")).unwrap();
    assert!(ro.permissions().readonly());
    let mtime = ro
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(mtime, 1_709_618_828, "2024-03-05 06:07:08 UTC");
    let ops = file_ops(&trace);
    for op in [
        "70.10 rename 0",
        "70.10 rename 10",
        "70.10 rename 5",
        "70.6 set_attributes 0",
    ] {
        assert!(ops.iter().any(|o| o == op), "no {op} record in {ops:?}");
    }
}

#[test]
fn the_same_run_gives_the_same_trace() {
    let (_t1, r1) = new_root();
    let (_t2, r2) = new_root();
    let (o1, a) = run_guest("fs_dir", &r1, &[]);
    let (o2, b) = run_guest("fs_dir", &r2, &[]);
    assert_eq!(o1, o2);
    assert_eq!(a, b);
}

#[test]
fn root_ro_refuses_every_write_with_10() {
    let (_top, root) = new_root();
    fs::write(root.join("rd/1/ro.txt"), "abc").unwrap();
    let (_, trace) = run_guest("fs_ro", &root, &["--root-ro"]);
    assert_eq!(fs::read(root.join("rd/1/ro.txt")).unwrap(), b"abc");
    assert!(!root.join("rd/1/new.txt").exists());
    assert!(!root.join("rd/1/newdir").exists());
    let refused = file_ops(&trace)
        .iter()
        .filter(|o| o.ends_with(" 10"))
        .count();
    assert_eq!(refused, 5);
    // Without --root-ro the same guest's writes succeed (so it reports FAIL).
    let g = fixture("fs_ro");
    let (code, out, _) = run(&["run", g.to_str().unwrap(), "--root", root.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("FAIL 70.2 create returns 10"), "{out}");
    assert!(root.join("rd/1/new.txt").exists());
}

#[test]
fn a_guest_cannot_leave_the_root() {
    let (top, root) = new_root();
    let outside = top.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret"), "s3cret").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("rd/1/out")).unwrap();
    let host_path = outside.join("secret");
    let params = format!("1={}", host_path.display());
    let (_, trace) = run_guest("fs_escape", &root, &["--params", &params]);
    let names: Vec<_> = fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["secret"]);
    assert_eq!(fs::read(outside.join("secret")).unwrap(), b"s3cret");
    assert_eq!(file_ops(&trace).len(), 8);
}

#[test]
fn without_root_every_file_is_missing() {
    let g = fixture("fs_rw");
    let (code, out, _) = run(&["run", g.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        out.contains("PASS 70.0 of a missing file returns 5"),
        "{out}"
    );
    assert!(out.contains("FAIL 70.2 create returns 0"), "{out}");
    let (code, _, err) = run(&[
        "run",
        g.to_str().unwrap(),
        "--root",
        "/nonexistent/ipcemu-root",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("--root"), "{err}");
}

#[test]
fn a_program_starts_its_partner_with_70_7() {
    let (_top, root) = new_root();
    fs::copy(fixture("fs_child"), root.join("rd/1/fs_child.kex")).unwrap();
    fs::write(root.join("rd/1/hello.txt"), "not a program").unwrap();
    let (out, trace) = run_guest("fs_exec", &root, &[]);
    assert!(
        out.contains("PASS the child got our PID and its path"),
        "{out}"
    );
    let starts: Vec<serde_json::Value> = trace
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "proc_start")
        .collect();
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[1]["name"], "fs_child");
    let ops = file_ops(&trace);
    assert_eq!(ops, ["70.7 start 4", "70.7 start -31", "70.7 start -5"]);
}

#[test]
fn kpack_compressed_programs_and_files() {
    use ipcemu_loader::kpack;
    let (top, root) = new_root();
    // A packed program from the command line.
    let packed = top.path().join("fs_dir.kex");
    let plain = fs::read(fixture("fs_dir")).unwrap();
    let kp = kpack::pack(&plain);
    assert!(kp.starts_with(b"KPCK") && !kp.windows(8).any(|w| w == b"MENUET01"));
    fs::write(&packed, &kp).unwrap();
    let (code, out, err) = run(&[
        "run",
        packed.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("PASS") && !out.contains("FAIL"), "{out}");
    assert!(root.join("tmp0/1/keep.txt").exists());
    // The same with kpack's call/jump filters (its calls are stored as absolute targets).
    for two in [false, true] {
        let f = kpack::pack_filtered(&plain, two).expect("fs_dir has calls to convert");
        fs::write(&packed, &f).unwrap();
        fs::remove_dir_all(root.join("tmp0/1")).unwrap();
        fs::create_dir_all(root.join("tmp0/1")).unwrap();
        let (code, out2, err) = run(&[
            "run",
            packed.to_str().unwrap(),
            "--root",
            root.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{out2}\n{err}");
        assert_eq!(out2, out, "filter {}", 1 + two as u8);
    }
    // A packed program started with 70.7.
    let child = fs::read(fixture("fs_child")).unwrap();
    fs::write(root.join("rd/1/fs_child.kex"), kpack::pack(&child)).unwrap();
    fs::write(root.join("rd/1/hello.txt"), "not a program").unwrap();
    let (out, _) = run_guest("fs_exec", &root, &[]);
    assert!(
        out.contains("PASS the child got our PID and its path"),
        "{out}"
    );
    // 68.27 of a packed file.
    fs::write(
        root.join("rd/1/packed.bin"),
        kpack::pack("hello, kpack! ".repeat(100).as_bytes()),
    )
    .unwrap();
    run_guest("fs_load", &root, &[]);
    // A damaged packed program is refused with the file named.
    let mut bad = kp.clone();
    bad.truncate(bad.len() / 2);
    fs::write(&packed, &bad).unwrap();
    let (code, _, err) = run(&["run", packed.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("kpack"), "{err}");
}

#[test]
fn a_program_loads_our_coff_library_with_68_19() {
    let (_top, root) = new_root();
    fs::create_dir_all(root.join("rd/1/lib")).unwrap();
    let obj = repo().join("fixtures/kolibri/fs_lib.obj");
    fs::copy(&obj, root.join("rd/1/lib/fs_lib.obj")).unwrap();
    fs::write(root.join("rd/1/hello.txt"), "not a library").unwrap();
    let (out, trace) = run_guest("fs_libuse", &root, &[]);
    assert!(
        out.contains("PASS far_call reaches the other section"),
        "{out}"
    );
    let ops = file_ops(&trace);
    assert_eq!(
        ops,
        [
            "68.19 load_library 0",
            "68.19 load_library 0",
            "68.19 load_library 5",
            "68.19 load_library 31"
        ]
    );
    // The same library kpack-compressed loads the same way.
    let packed = ipcemu_loader::kpack::pack(&fs::read(&obj).unwrap());
    fs::write(root.join("rd/1/lib/fs_lib.obj"), packed).unwrap();
    run_guest("fs_libuse", &root, &[]);
    // Without the library the program's calls are not made and 68.19 gives 0.
    fs::remove_file(root.join("rd/1/lib/fs_lib.obj")).unwrap();
    let g = fixture("fs_libuse");
    let (code, out, _) = run(&["run", g.to_str().unwrap(), "--root", root.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("FAIL 68.19 returns an export table"), "{out}");
}

#[test]
fn the_current_folder_is_set_read_and_used() {
    let (_top, root) = new_root();
    let (out, trace) = run_guest("fs_cwd", &root, &[]);
    assert!(out.contains("DONE 24 0"), "{out}");
    assert_eq!(fs::read(root.join("tmp0/1/rel.txt")).unwrap(), b"relative");
    assert_eq!(file_ops(&trace), ["70.2 create 0"]);
}
