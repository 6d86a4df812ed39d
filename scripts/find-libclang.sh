#!/usr/bin/env bash
# find-libclang.sh [DIR...] - print the first libclang that bindgen (clang-sys) would load, or exit 1.
#
# clang-sys (used by bindgen, which unicorn-engine-sys runs at build time) loads libclang at run time
# and looks, in $LIBCLANG_PATH, `llvm-config --libdir` and the usual library directories, for files
# named `libclang.so`, `libclang-*.so`, `libclang.so.*` and `libclang-*.so.*`. It never loads
# `libclang-cpp.so*` (the C++ API library): the stock Debian image ships `libclang-cpp.so.14` alone,
# and that does not count. With DIRs given, only those directories are searched (used by
# scripts/test-setup.sh); otherwise the directories clang-sys searches on Linux.
set -euo pipefail
shopt -s nullglob

if [ $# -gt 0 ]; then
    dirs=("$@")
else
    dirs=()
    [ -n "${LIBCLANG_PATH:-}" ] && dirs+=("$LIBCLANG_PATH")
    if command -v llvm-config >/dev/null 2>&1; then
        dirs+=("$(llvm-config --libdir 2>/dev/null || true)")
    fi
    dirs+=(/usr/lib/llvm-*/lib /usr/local/llvm*/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib /lib/x86_64-linux-gnu)
fi

for d in "${dirs[@]}"; do
    [ -n "$d" ] && [ -d "$d" ] || continue
    for f in "$d"/libclang.so "$d"/libclang-*.so "$d"/libclang.so.* "$d"/libclang-*.so.*; do
        base=${f##*/}
        case "$base" in
            libclang-cpp*) continue ;;       # the C++ library, not libclang
        esac
        [ -e "$f" ] || continue              # a dangling symlink is no library
        echo "$f"
        exit 0
    done
done
exit 1
