#!/usr/bin/env bash
# build.sh - build the Win32 guest programs into OUT_DIR/win32/<name>.exe, byte-identically.
#
# Usage: guest-tests/win32/build.sh OUT_DIR   (called by guest-tests/build-fixtures.sh)
# Prints only the number of fixtures built on stdout; errors go to stderr.
# Needs: i686-w64-mingw32-gcc (Debian: apt-get install gcc-mingw-w64-i686); the win32 thread
# model variant (i686-w64-mingw32-gcc-win32) is used when it is installed, so that the
# "posix" alternative (winpthreads) never changes the images.
#
# hello.exe is a plain default-CRT build (mingw crt2.o start-up, msvcrt.dll). Every other program
# is freestanding: -nostdlib, entry _start from rt.h, imports only from KERNEL32.dll/USER32.dll.
# Reproducibility: fixed working directory (this folder) and relative file names, no time stamp
# (--no-insert-timestamp), no symbols or debug info (-s), no .comment/ident, no unwind tables in
# our own code. Nothing else in a PE image depends on the machine.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
mkdir -p "$1/win32"
out="$(cd "$1/win32" && pwd)"

cc=i686-w64-mingw32-gcc-win32
command -v "$cc" >/dev/null 2>&1 || cc=i686-w64-mingw32-gcc
command -v "$cc" >/dev/null 2>&1 || {
    echo "win32/build.sh: i686-w64-mingw32-gcc not found (apt-get install gcc-mingw-w64-i686)" >&2
    exit 1
}

COMMON=(
    -Os -s -march=i686 -fno-ident -ffile-prefix-map="$root"=.
    -Wall -Wextra -Werror
    -Wl,--no-insert-timestamp -Wl,--subsystem,console
)
FREESTANDING=(
    -ffreestanding -fno-builtin -nostdlib -fno-asynchronous-unwind-tables -fno-stack-protector
    -Wl,-e,_start
)
LIBS=(-luser32 -lkernel32 -lgcc)

cd "$here"
count=0

# build NAME SOURCE [OPTIONS...]: a freestanding program
build() {
    local name="$1" src="$2"
    shift 2
    "$cc" "${COMMON[@]}" "${FREESTANDING[@]}" -DTEST_NAME="\"$name\"" "$@" "$src" "${LIBS[@]}" \
        -o "$out/$name.exe"
    count=$((count + 1))
}

# The default C runtime: mingw's mainCRTStartup, printf from msvcrt.dll.
"$cc" "${COMMON[@]}" hello.c -o "$out/hello.exe"
count=$((count + 1))
"$cc" "${COMMON[@]}" tlscb.c -o "$out/tlscb.exe"
count=$((count + 1))
"$cc" "${COMMON[@]}" procdet.c -o "$out/procdet.exe"
count=$((count + 1))

build chan_a chan.c
build chan_b chan.c
build ev_ping ev_ping.c
build ev_pong ev_pong.c
build threads threads.c
build mutex_abandon mutex_abandon.c
build events events.c
build pipe_parent pipe_parent.c
build pipe_child pipe_child.c
build npipe_srv npipe_srv.c
build npipe_cli1 npipe_cli.c -DCLIENT_NO=1
build npipe_cli2 npipe_cli.c -DCLIENT_NO=2
build postmsg postmsg.c
build copydata_a copydata_a.c
build copydata_b copydata_b.c
build pipe_errors pipe_errors.c
build unimpl unimpl.c
build wide wide.c
build churn churn.c
build sendnest sendnest.c
build timers timers.c
build msgwait msgwait.c
build sendtimeout sendtimeout.c
build replymsg replymsg.c
build ovpipe ovpipe.c
build apc apc.c
build iocp iocp.c
build limits limits.c
build sendcb sendcb.c
build transact transact.c
build mslot_srv mailslot.c
build mslot_cli mailslot.c -DWRITER
build pinfo_srv pipeinfo.c
build pinfo_cli pipeinfo.c -DCLIENT

echo "$count"
