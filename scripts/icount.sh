#!/usr/bin/env bash
# Host instructions per round trip, counted by valgrind's callgrind: a figure that does not move
# with this machine's noise (wall-clock runs here vary by 30-50 % between minutes), for
# comparing two builds of the hot paths. Runs the release binary twice (N and 2N round trips)
# and prints the difference divided by N, so start-up is not counted. Needs valgrind
# (apt-get install valgrind); not part of CI.
#
#   bash scripts/icount.sh                 KolibriOS ping-pong (pp_srv/pp_cli)
#   bash scripts/icount.sh pcipc           PC-IPC read-wait ping-pong (pcbsrv/pcbcli)
#   bash scripts/icount.sh traced          KolibriOS ping-pong with a JSONL trace: the emulation
#                                          thread and the writer thread separately
#   bash scripts/icount.sh chrome          the same with a Chrome trace
#   IPCEMU=path/to/ipcemu bash scripts/icount.sh ...   another build
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "icount: valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
BIN=${IPCEMU:-target/release/ipcemu}
[ -x "$BIN" ] || { echo "icount: $BIN is missing (cargo build --release)" >&2; exit 1; }
what=${1:-pingpong}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case $what in
    pingpong|traced|chrome) N=20000; guests=(fixtures/kolibri/pp_srv.kex fixtures/kolibri/pp_cli.kex) ;;
    pcipc) N=10000; guests=(fixtures/dos/pcbsrv.com fixtures/dos/pcbcli.com) ;;
    *) echo "icount: unknown workload $what (pingpong, pcipc, traced, chrome)" >&2; exit 2 ;;
esac
extra=()
[ "$what" = traced ] && extra=(--trace "$tmp/t.jsonl" --trace-format jsonl)
[ "$what" = chrome ] && extra=(--trace "$tmp/t.json" --trace-format chrome)
run() { # rounds -> callgrind output files (one per thread)
    valgrind --tool=callgrind --separate-threads=yes --smc-check=all-non-file \
        --callgrind-out-file="$tmp/cg.$1" "$BIN" run "${guests[@]}" --params "2=$1" "${extra[@]}" \
        >/dev/null 2>&1
}
total() { # file -> instructions
    awk '/^summary:/ {print $2; exit}' "$1"
}
run "$N"
run $((2 * N))
for f in "$tmp"/cg."$N"-*; do
    t=${f##*-}
    g="$tmp/cg.$((2 * N))-$t"
    [ -f "$g" ] || continue
    a=$(total "$f")
    b=$(total "$g")
    per=$(((b - a) / N))
    # Threads that do nothing per round trip (the stop-signal thread) are left out.
    [ "$per" -gt 0 ] || continue
    case $t in
        01) name="emulation thread" ;;
        *) name="thread $t"; [ ${#extra[@]} -gt 0 ] && name="$name, the trace writer" ;;
    esac
    echo "$what: $per instructions per round trip ($name)"
done
