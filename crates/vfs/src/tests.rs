use super::*;
use std::os::unix::fs::symlink;

/// A root with `rd/1/a.txt` ("hello"), `rd/1/sub/`, and a secret file beside the root.
fn setup() -> (tempfile::TempDir, Vfs) {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    fs::create_dir_all(root.join("rd/1/sub")).unwrap();
    fs::write(root.join("rd/1/a.txt"), b"hello").unwrap();
    fs::write(top.path().join("secret"), b"outside").unwrap();
    let v = Vfs::new(&root, false).unwrap();
    (top, v)
}

#[test]
fn sys_is_rd1_and_device_names_ignore_case() {
    let (_t, v) = setup();
    assert_eq!(v.read("/sys/a.txt", 0, 100).unwrap(), b"hello");
    assert_eq!(v.read("/RD/1/a.txt", 1, 2).unwrap(), b"el");
    assert_eq!(v.read("/rd/1/A.TXT", 0, 100).unwrap(), b"hello");
    assert_eq!(v.read("/rd/1/./sub/../a.txt", 0, 100).unwrap(), b"hello");
}

#[test]
fn dotdot_above_the_root_is_not_found() {
    let (_t, v) = setup();
    for p in [
        "/..",
        "/../secret",
        "/rd/1/../../../secret",
        "/sys/../../../secret",
    ] {
        assert!(
            matches!(v.read(p, 0, 100), Err(VfsError::NotFound(_))),
            "{p}"
        );
        assert!(
            matches!(v.create(p, b"x"), Err(VfsError::NotFound(_))),
            "{p}"
        );
    }
    assert!(!v.root().parent().unwrap().join("x").exists());
}

#[test]
fn absolute_host_paths_stay_inside() {
    let (t, v) = setup();
    let secret = t.path().join("secret");
    let s = secret.to_str().unwrap();
    assert!(matches!(v.read(s, 0, 100), Err(VfsError::NotFound(_))));
    assert!(matches!(
        v.read("/etc/passwd", 0, 100),
        Err(VfsError::NotFound(_))
    ));
    // A relative name is not a KolibriOS path here (the personality joins the current folder).
    assert!(matches!(
        v.read("rd/1/a.txt", 0, 100),
        Err(VfsError::NotFound(_))
    ));
    // Writing to such a path writes below the root, never to the host path.
    fs::create_dir_all(v.root().join("hd0/1")).unwrap();
    let p = format!("/hd0/1{s}");
    assert!(matches!(v.create(&p, b"x"), Err(VfsError::NotFound(_))));
    assert_eq!(fs::read(&secret).unwrap(), b"outside");
}

#[test]
fn symlinks_out_of_the_root_are_refused() {
    let (t, v) = setup();
    let r1 = v.root().join("rd/1");
    symlink(t.path().join("secret"), r1.join("out_file")).unwrap();
    symlink(t.path(), r1.join("out_dir")).unwrap();
    symlink(t.path().join("nothing"), r1.join("dangling")).unwrap();
    symlink(r1.join("a.txt"), r1.join("in_file")).unwrap();
    assert!(matches!(
        v.read("/rd/1/out_file", 0, 100),
        Err(VfsError::Escape(_))
    ));
    assert!(matches!(
        v.read("/rd/1/out_dir/secret", 0, 100),
        Err(VfsError::Escape(_))
    ));
    assert!(matches!(
        v.create("/rd/1/out_file", b"x"),
        Err(VfsError::Escape(_))
    ));
    assert!(matches!(
        v.write("/rd/1/out_file", 0, b"x"),
        Err(VfsError::Escape(_))
    ));
    assert!(matches!(
        v.create("/rd/1/dangling", b"x"),
        Err(VfsError::Escape(_))
    ));
    assert!(matches!(
        v.create("/rd/1/out_dir/new", b"x"),
        Err(VfsError::Escape(_))
    ));
    assert!(matches!(
        v.delete("/rd/1/out_file"),
        Err(VfsError::Escape(_))
    ));
    assert!(matches!(v.info("/rd/1/out_dir"), Err(VfsError::Escape(_))));
    assert!(!t.path().join("nothing").exists());
    assert!(!t.path().join("new").exists());
    assert_eq!(fs::read(t.path().join("secret")).unwrap(), b"outside");
    // A link inside the root works; listings leave out the links that lead out.
    assert_eq!(v.read("/rd/1/in_file", 0, 100).unwrap(), b"hello");
    let names: Vec<String> = v
        .read_dir("/rd/1")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["a.txt", "in_file", "sub"]);
}

#[test]
fn a_root_that_is_a_symlink_still_works() {
    let (t, _) = setup();
    symlink(t.path().join("root"), t.path().join("link")).unwrap();
    let v = Vfs::new(&t.path().join("link"), false).unwrap();
    assert_eq!(v.read("/sys/a.txt", 0, 100).unwrap(), b"hello");
}

#[test]
fn file_operations() {
    let (_t, v) = setup();
    v.create("/sys/new.bin", b"abc").unwrap();
    v.write("/sys/new.bin", 5, b"xy").unwrap();
    assert_eq!(v.read("/sys/new.bin", 0, 100).unwrap(), b"abc\0\0xy");
    v.set_size("/sys/new.bin", 2).unwrap();
    assert_eq!(v.info("/sys/new.bin").unwrap().size, 2);
    assert!(matches!(
        v.write("/sys/none", 0, b"x"),
        Err(VfsError::NotFound(_))
    ));
    v.mkdir("/sys/d").unwrap();
    v.mkdir("/sys/d").unwrap();
    assert!(v.info("/sys/d").unwrap().is_dir);
    assert!(matches!(v.mkdir("/sys/no/d"), Err(VfsError::NotFound(_))));
    v.create("/sys/d/f", b"").unwrap();
    assert!(matches!(v.delete("/sys/d"), Err(VfsError::Denied(..))));
    v.delete("/sys/d/f").unwrap();
    v.delete("/sys/d").unwrap();
    assert!(matches!(v.info("/sys/d"), Err(VfsError::NotFound(_))));
    assert!(matches!(
        v.read("/sys/sub", 0, 1),
        Err(VfsError::Denied(..))
    ));
    assert!(matches!(
        v.create("/rd/1", b"x"),
        Err(VfsError::ReadOnly(_))
    ));
    assert!(matches!(
        v.set_size("/sys/new.bin", DEFAULT_MAX_FILE_SIZE + 1),
        Err(VfsError::TooLarge(_))
    ));
    let names: Vec<String> = v
        .read_dir("/")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["rd"]);
}

#[test]
fn read_only_refuses_every_write() {
    let (_t, mut v) = setup();
    v.read_only = true;
    assert!(matches!(
        v.create("/sys/n", b"x"),
        Err(VfsError::ReadOnly(_))
    ));
    assert!(matches!(
        v.write("/sys/a.txt", 0, b"x"),
        Err(VfsError::ReadOnly(_))
    ));
    assert!(matches!(
        v.set_size("/sys/a.txt", 0),
        Err(VfsError::ReadOnly(_))
    ));
    assert!(matches!(v.delete("/sys/a.txt"), Err(VfsError::ReadOnly(_))));
    assert!(matches!(v.mkdir("/sys/m"), Err(VfsError::ReadOnly(_))));
    assert_eq!(v.read("/sys/a.txt", 0, 100).unwrap(), b"hello");
    assert!(!v.root().join("rd/1/n").exists());
}

#[test]
fn special_files_are_refused() {
    let (_t, v) = setup();
    let fifo = v.root().join("rd/1/fifo");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mkfifo (coreutils) could not make a FIFO");
    assert!(matches!(
        v.read("/sys/fifo", 0, 10),
        Err(VfsError::Denied(..))
    ));
    assert!(matches!(
        v.write("/sys/fifo", 0, b"x"),
        Err(VfsError::Denied(..))
    ));
    assert!(matches!(
        v.create("/sys/fifo", b"x"),
        Err(VfsError::Denied(..))
    ));
    assert!(matches!(
        v.host_file("/sys/fifo"),
        Err(VfsError::Denied(..))
    ));
}
