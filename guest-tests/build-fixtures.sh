#!/usr/bin/env bash
# build-fixtures.sh - rebuild every guest test fixture from source, byte-identically.
#
#   guest-tests/kolibri/*.asm  ->  fixtures/kolibri/<name>.kex   (FASM 1.73, flat MENUET01 images)
#   guest-tests/c/*.c          ->  fixtures/elf/<name>.elf       (gcc -m32, static freestanding ELF32)
#
# Usage: guest-tests/build-fixtures.sh [OUT_DIR]   (from anywhere; OUT_DIR defaults to fixtures/)
#        guest-tests/build-fixtures.sh --check     (rebuild into a temporary folder and compare
#                                                   byte for byte with the committed fixtures)
# Needs: fasm, and gcc able to build 32-bit code (Debian: apt-get install fasm gcc-multilib).
# The *.expected files next to the fixtures are written by hand and are not touched here.
# Reproducibility: fixed working directories and relative file names (the only path that lands in
# an ELF is the source file name in its symbol table), no debug info, no build ID, no .comment;
# fasm output depends on nothing but the source.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [ "${1:-}" = "--check" ]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    "$0" "$tmp" >/dev/null
    status=0
    for f in "$tmp"/kolibri/* "$tmp"/elf/*; do
        rel="${f#"$tmp"/}"
        if ! cmp -s "$f" "$root/fixtures/$rel"; then
            echo "build-fixtures: fixtures/$rel differs from a fresh build of its source" >&2
            status=1
        fi
    done
    for f in "$root"/fixtures/kolibri/*.kex "$root"/fixtures/elf/*.elf; do
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

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "build-fixtures: '$1' not found ($2)" >&2; exit 1; }
}
need fasm "apt-get install fasm"
need gcc "apt-get install gcc gcc-multilib"

mkdir -p "$out_kex" "$out_elf"
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

echo "build-fixtures: built $count fixtures into fixtures/kolibri and fixtures/elf"
