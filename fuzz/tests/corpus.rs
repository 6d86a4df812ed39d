//! Replays every committed corpus file (`fuzz/corpus/<target>/*`) and every saved crash
//! (`fuzz/regressions/<target>/*`) through its target on stable Rust, without libFuzzer:
//! `cargo test --manifest-path fuzz/Cargo.toml --no-default-features --features scenario`.
//! CI runs this.

use std::path::Path;

fn replay(dir: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut n = 0;
    for (name, f) in ipcemu_fuzz::targets() {
        let Ok(rd) = std::fs::read_dir(root.join(name)) else {
            continue;
        };
        let mut files: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for p in files {
            let data = std::fs::read(&p).unwrap();
            let r = std::panic::catch_unwind(|| f(&data));
            assert!(r.is_ok(), "{name}: {} panics", p.display());
            n += 1;
        }
    }
    n
}

#[test]
fn corpora_run_clean() {
    let n = replay("corpus");
    assert!(n >= 20, "only {n} corpus files: is fuzz/corpus there?");
}

#[test]
fn saved_crashes_stay_fixed() {
    replay("regressions");
}
