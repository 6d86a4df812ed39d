# ipcemu tasks. `just` is optional: every recipe is a plain command you can run yourself.

# Install build dependencies (cmake, libclang, fasm, nasm, gcc-multilib) if missing.
setup:
    bash scripts/setup.sh

# Run the bundled two-process echo example.
example: setup
    cargo run --release -p ipcemu -- run fixtures/kolibri/echo_srv.kex fixtures/kolibri/echo_cli.kex

# The test command (same as in the README and CI).
test: setup
    cargo test --workspace

# Rebuild every guest program in guest-tests/ into fixtures/ (byte-identical).
fixtures: setup
    bash guest-tests/build-fixtures.sh

# Check that the committed fixtures match a fresh build of their sources.
check-fixtures: setup
    bash guest-tests/build-fixtures.sh --check

# Formatting and lints as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Everything CI runs.
ci:
    bash .ci/run

# Benchmarks: kernel paths (criterion), then guest-level figures through the real binary with
# native, qemu-i386 and bare-Unicorn references from the same run (table, target/bench/report.json,
# target/bench/scale.png).
bench:
    bash scripts/setup.sh --bench
    cargo bench -p ipcemu-kolibri --bench kernel
    python3 scripts/bench.py

# Fuzz every target for SECONDS each (cargo-fuzz, installed when missing; see docs/fuzzing.md).
# `just fuzz 300` for five minutes each; `bash fuzz/run.sh 60 loader` for one target.
fuzz SECONDS="60": setup
    bash fuzz/run.sh {{SECONDS}}
