#!/usr/bin/env bash
# build-fixtures.sh - rebuild every guest test fixture from source, byte-identically.
#
#   guest-tests/kolibri/*.asm  ->  fixtures/kolibri/<name>.kex   (FASM 1.73, flat MENUET01 images)
#   guest-tests/kolibri/lib/*.asm -> fixtures/kolibri/<name>.obj (FASM MS COFF libraries, 68.19)
#   guest-tests/c/*.c          ->  fixtures/elf/<name>.elf       (gcc -m32, static freestanding ELF32)
#   guest-tests/dos/*.asm      ->  fixtures/dos/<name>.com       (NASM -f bin, DOS .COM programs)
#                                  + fixtures/dos/pcver61.com    (pcver.asm with -DVECTOR=0x61)
#
# Usage: guest-tests/build-fixtures.sh [OUT_DIR]   (from anywhere; OUT_DIR defaults to fixtures/)
#        guest-tests/build-fixtures.sh --check     (rebuild into a temporary folder and compare
#                                                   byte for byte with the committed fixtures)
# Needs: fasm, nasm, and gcc able to build 32-bit code (Debian: apt-get install fasm nasm gcc-multilib).
# The *.expected files next to the fixtures are written by hand and are not touched here.
# Reproducibility: fixed working directories and relative file names (the only path that lands in
# an ELF is the source file name in its symbol table), no debug info, no build ID, no .comment;
# fasm and nasm -f bin output depends on nothing but the source.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [ "${1:-}" = "--check" ]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    "$0" "$tmp" >/dev/null
    status=0
    for f in "$tmp"/*/*; do
        rel="${f#"$tmp"/}"
        if ! cmp -s "$f" "$root/fixtures/$rel"; then
            echo "build-fixtures: fixtures/$rel differs from a fresh build of its source" >&2
            status=1
        fi
    done
    for f in "$root"/fixtures/kolibri/*.kex "$root"/fixtures/kolibri/*.obj "$root"/fixtures/elf/*.elf "$root"/fixtures/dos/*.com \
             "$root"/fixtures/kos/*.elf "$root"/fixtures/win32/*.exe; do
        [ -e "$f" ] || continue
        rel="${f#"$root"/fixtures/}"
        [ -e "$tmp/$rel" ] || { echo "build-fixtures: fixtures/$rel has no source" >&2; status=1; }
    done
    [ $status -eq 0 ] && echo "build-fixtures: every fixture matches a fresh build"
    exit $status
fi
out="${1:-$root/fixtures}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
out_kex="$out/kolibri"
out_elf="$out/elf"
out_dos="$out/dos"

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "build-fixtures: '$1' not found ($2)" >&2; exit 1; }
}
need fasm "apt-get install fasm"
need gcc "apt-get install gcc gcc-multilib"
need nasm "apt-get install nasm"

mkdir -p "$out_kex" "$out_elf" "$out_dos"
shopt -s nullglob

count=0

# FASM resolves include 'include/test.inc' relative to the source, so assemble from its folder.
cd "$here/kolibri"
for src in *.asm; do
    name="${src%.asm}"
    if ! log="$(fasm "$src" "$out_kex/$name.kex" 2>&1)"; then
        printf '%s\n' "$log" >&2
        echo "build-fixtures: fasm failed on guest-tests/kolibri/$src" >&2
        exit 1
    fi
    count=$((count + 1))
done
# KolibriOS libraries (MS COFF objects for function 68.19): guest-tests/kolibri/lib/*.asm ->
# fixtures/kolibri/<name>.obj. fasm stamps the build time into the COFF header (bytes 4..7);
# it is zeroed so the object is the same on every build (the kernel never reads it).
for src in lib/*.asm; do
    name="$(basename "${src%.asm}")"
    if ! log="$(fasm "$src" "$out_kex/$name.obj" 2>&1)"; then
        printf '%s\n' "$log" >&2
        echo "build-fixtures: fasm failed on guest-tests/kolibri/$src" >&2
        exit 1
    fi
    printf '\0\0\0\0' | dd of="$out_kex/$name.obj" bs=1 seek=4 conv=notrunc status=none
    count=$((count + 1))
done

CFLAGS=(
    -m32 -march=i386 -ffreestanding -nostdlib -static -fno-pie -no-pie -Os
    -fno-asynchronous-unwind-tables -fno-stack-protector -fno-ident
    -ffile-prefix-map="$root"=.
    -Wall -Wextra
    -Wl,--build-id=none -Wl,-z,noseparate-code -Wl,-e,_start
)
cd "$here/c"
for src in *.c; do
    name="${src%.c}"
    gcc "${CFLAGS[@]}" "$src" -o "$out_elf/$name.elf"
    count=$((count + 1))
done

# NASM resolves %include "include/pcipc.inc" from the working directory: assemble from dos/.
cd "$here/dos"
nasm_com() { # nasm_com SOURCE OUTPUT [OPTIONS...]
    local src="$1" dst="$2"
    shift 2
    if ! log="$(nasm -f bin "$@" -o "$dst" "$src" 2>&1)"; then
        printf '%s\n' "$log" >&2
        echo "build-fixtures: nasm failed on guest-tests/dos/$src" >&2
        exit 1
    fi
    count=$((count + 1))
}
for src in *.asm; do
    nasm_com "$src" "$out_dos/${src%.asm}.com"
done
# The same version test on another vector (run with --pcipc-vector 0x61).
nasm_com pcver.asm "$out_dos/pcver61.com" -DVECTOR=0x61

# Further guest families bring their own build script: guest-tests/<family>/build.sh OUT_DIR
# builds into OUT_DIR/<family>/ byte-identically and prints how many fixtures it built.
for b in "$here"/*/build.sh; do
    n=$(bash "$b" "$out")
    count=$((count + n))
done

echo "build-fixtures: built $count fixtures into fixtures/kolibri, fixtures/elf and fixtures/dos"
