#!/usr/bin/env bash
# Run ipcemu's fuzz targets one after another (docs/fuzzing.md).
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]     # default: 60 s each, every target
#   FUZZ_SECONDS=300 bash fuzz/run.sh          # the same, through the environment
#   FUZZ_RUNS=2000 bash fuzz/run.sh            # a fixed number of runs per target instead
#
# Without the scenario target among those asked for, the targets build without the machine
# (no Unicorn): about two minutes instead of five on two cores.
#
# Installs cargo-fuzz when it is missing. Needs only the stable toolchain: cargo-fuzz builds
# with unstable rustc flags, allowed here by RUSTC_BOOTSTRAP=1 (for these builds only).
# New inputs go to fuzz/target/corpus/<target> (not committed); the committed seeds in
# fuzz/corpus/<target> are only read. A crash leaves its input in fuzz/artifacts/<target>/ and
# makes the script exit 1 after the other targets have run.
set -euo pipefail
cd "$(dirname "$0")"

CARGO_FUZZ_VERSION=0.13.2
ALL=(loader kolibri_syscall pcipc_block scenario trace_summary)

secs=${FUZZ_SECONDS:-60}
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
    secs=$1
    shift
fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL[@]}")

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION (cargo install)"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

export RUSTC_BOOTSTRAP=1
# No sanitizer: the fuzzed crates have no unsafe code, and panics (including integer overflow,
# checked with debug assertions on) are what we look for.
flags=(--sanitizer none --debug-assertions)
# Only the scenario target needs the whole machine (Unicorn, every personality) built.
if [[ " ${targets[*]} " != *" scenario "* ]]; then
    flags+=(--no-default-features --features libfuzzer)
fi
echo "== building the fuzz targets"
cargo fuzz build "${flags[@]}"

if [[ -n ${FUZZ_RUNS:-} ]]; then
    limit=(-runs="$FUZZ_RUNS")
else
    limit=(-max_total_time="$secs")
fi
failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "target/corpus/$t" "artifacts/$t"
    echo "== $t (${limit[*]})"
    log="target/fuzz-$t.log"
    if cargo fuzz run "${flags[@]}" "$t" "target/corpus/$t" "corpus/$t" -- \
        "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        >"$log" 2>&1; then
        status=ok
    else
        status=CRASH
        failed+=("$t")
        grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -20 || true
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 || true)
    summary+=("$(printf '%-16s %-6s %12s execs  %s' "$t" "$status" "${runs:-?}" "$cov")")
done
echo "== summary"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "crashes in: ${failed[*]} (inputs in fuzz/artifacts/; logs in fuzz/target/fuzz-*.log)"
    exit 1
fi
