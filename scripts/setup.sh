#!/usr/bin/env bash
# setup.sh - install what building and testing ipcemu needs on a fresh Debian machine that has
# only the Rust toolchain, gcc and Python: cmake and libclang (unicorn-engine's C build and
# bindgen), fasm and nasm (guest programs), gcc-multilib (32-bit C guests), gcc-mingw-w64-i686
# (Win32 guest programs), gdb (the test of the GDB stub attaches the real debugger).
# Installs only what is missing; safe to run again.
# With --bench it also installs qemu-user: scripts/bench.py measures the same programs under
# qemu-i386 as a reference (benchmarks only; the build and the tests do not need it).
set -euo pipefail

missing=()
if [ "${1:-}" = "--bench" ]; then
    command -v qemu-i386 >/dev/null 2>&1 || command -v qemu-i386-static >/dev/null 2>&1 \
        || missing+=(qemu-user)
fi
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v fasm >/dev/null 2>&1 || missing+=(fasm)
command -v nasm >/dev/null 2>&1 || missing+=(nasm)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v patch >/dev/null 2>&1 || missing+=(patch)
# libclang as bindgen/clang-sys finds it; libclang-cpp.so.* (on the stock image) is not libclang
bash "$(dirname "$0")/find-libclang.sh" >/dev/null || missing+=(libclang-dev)
command -v i686-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-i686)
command -v gdb >/dev/null 2>&1 || missing+=(gdb)
[ -e /usr/lib/gcc/x86_64-linux-gnu/*/32/libgcc.a ] 2>/dev/null \
    || ls /usr/lib/gcc/x86_64-linux-gnu/*/32/ >/dev/null 2>&1 || missing+=(gcc-multilib)

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        SUDO=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! lib=$(bash "$(dirname "$0")/find-libclang.sh"); then
    echo "setup: libclang is still missing after installing libclang-dev; set LIBCLANG_PATH to the directory holding libclang.so" >&2
    exit 1
fi
echo "setup: cmake, libclang ($lib), fasm, nasm, gcc-multilib and mingw-w64 are present" >&2
# Unicorn with ipcemu's store fast-path patch (patches/unicorn/): the workspace's
# [patch.crates-io] builds it from vendor/unicorn-engine-sys, which this creates.
bash "$(dirname "$0")/patch-unicorn.sh"
