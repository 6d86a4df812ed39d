#!/usr/bin/env bash
# build.sh - build the KasperskyOS-style guest tests byte-identically:
#
#   guest-tests/kos/<name>.c  ->  OUT_DIR/kos/<name>.elf      (gcc -m32, static freestanding ELF32)
#   guest-tests/kos/calc_cli.c -> OUT_DIR/kos/calc_cli1.elf, calc_cli2.elf, calc_cli3.elf
#                                 (-DCLIENT_NO=1/2/3: an entity's name is its file stem)
#
# Usage: guest-tests/kos/build.sh OUT_DIR   (from anywhere; called by guest-tests/build-fixtures.sh)
# Prints only the number of fixtures it built on stdout; errors go to stderr.
# Headers: guest-sdk/kos/include (coresrv/syscalls.h, coresrv/sl/sl_api.h, kos/types.h,
# ipcemu/rt.h) and common.h here. Compiled from this folder with relative file names, so the only
# path in an ELF (the source name in its symbol table) does not depend on where the tree is.
# Written for ipcemu. SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
export LC_ALL=C

[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mkdir -p "$1/kos"
out="$(cd "$1/kos" && pwd)"

command -v gcc >/dev/null 2>&1 || { echo "kos/build.sh: 'gcc' not found (apt-get install gcc gcc-multilib)" >&2; exit 1; }

CFLAGS=(
    -m32 -march=i386 -ffreestanding -nostdlib -static -fno-pie -no-pie -Os
    -fno-asynchronous-unwind-tables -fno-stack-protector -fno-ident
    -ffile-prefix-map="$root"=.
    -Wall -Wextra -Werror
    -Wl,--build-id=none -Wl,-z,noseparate-code -Wl,-e,_start
    -I ../../guest-sdk/kos/include
)

cd "$here"
count=0
build() { # build SOURCE NAME [OPTIONS...]
    local src="$1" name="$2"
    shift 2
    if ! gcc "${CFLAGS[@]}" "$@" "$src" -o "$out/$name.elf" >&2; then
        echo "kos/build.sh: gcc failed on guest-tests/kos/$src" >&2
        exit 1
    fi
    count=$((count + 1))
}

shopt -s nullglob
for src in *.c; do
    name="${src%.c}"
    [ "$name" = calc_cli ] && continue
    build "$src" "$name"
done
for n in 1 2 3; do
    build calc_cli.c "calc_cli$n" -DCLIENT_NO=$n
done

echo "$count"
