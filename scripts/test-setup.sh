#!/usr/bin/env bash
# test-setup.sh - prove that scripts/find-libclang.sh (used by setup.sh) finds libclang the way
# bindgen/clang-sys does, on fake library directories: the stock image's lone libclang-cpp.so.14 must
# NOT count (setup then installs libclang-dev), every name clang-sys loads must.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # check WANT(found|missing) FILE... : a directory holding exactly FILEs
    local want=$1; shift
    local d; d=$(mktemp -d "$tmp/d.XXXX")
    local f
    for f in "$@"; do
        case "$f" in
            *"->"*) ln -s "${f#*->}" "$d/${f%%->*}" ;;   # name->target makes a symlink
            *) : > "$d/$f" ;;
        esac
    done
    local got=missing
    bash "$here/find-libclang.sh" "$d" >/dev/null && got=found
    if [ "$got" = "$want" ]; then
        echo "ok   $want: ${*:-<empty>}"
    else
        echo "FAIL want $want, got $got: ${*:-<empty>}"; fails=$((fails + 1))
    fi
}

check missing                                  # nothing at all
check missing libclang-cpp.so.14               # the stock machine image
check missing libclang-cpp.so.14 libclang-cpp.so libLLVM-14.so.1
check missing "libclang.so->libclang-14.so.1"  # dangling symlink
check found   libclang.so
check found   libclang-14.so
check found   libclang.so.1
check found   libclang-14.so.1
check found   libclang-cpp.so.14 libclang.so.1
check found   libclang-14.so.1 "libclang.so->libclang-14.so.1"

[ "$fails" = 0 ] || { echo "test-setup: $fails case(s) failed" >&2; exit 1; }
echo "test-setup: libclang detection passes every case"
