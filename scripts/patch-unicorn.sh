#!/usr/bin/env bash
# Builds vendor/unicorn-engine-sys: the published unicorn-engine-sys crate with ipcemu's patches
# (patches/unicorn/*.patch) applied. The workspace's [patch.crates-io] points at it, so this runs
# before any cargo command (scripts/setup.sh calls it). Idempotent: it does nothing when the copy
# is already patched with the current patch files.
#
#   bash scripts/patch-unicorn.sh              make sure vendor/unicorn-engine-sys is up to date
#   bash scripts/patch-unicorn.sh --try 2.1.6  apply the patches to another release in a scratch
#                                              folder and report (for moving to a new Unicorn)
#
# The pristine crate comes through cargo itself (patches/unicorn/fetch, its own workspace and
# lock file), so registry mirrors and checksums work as for any other dependency.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERSION=2.1.5
DEST=vendor/unicorn-engine-sys
PATCHES=(patches/unicorn/unicorn-engine-sys-"$VERSION"-*.patch)

die() { echo "patch-unicorn: $*" >&2; exit 1; }
command -v patch >/dev/null || die "the 'patch' program is missing (apt-get install patch)"

crate_file() { # version -> path of the downloaded .crate
    local v=$1 home=${CARGO_HOME:-$HOME/.cargo} f
    for f in "$home"/registry/cache/*/unicorn-engine-sys-"$v".crate; do
        [ -f "$f" ] && { echo "$f"; return 0; }
    done
    return 1
}

fetch() { # version -> .crate path (downloads through cargo when needed)
    local v=$1 f
    if ! f=$(crate_file "$v"); then
        if [ "$v" = "$VERSION" ]; then
            (cd patches/unicorn/fetch && cargo fetch --locked -q) >&2
        else
            local tmp
            tmp=$(mktemp -d)
            mkdir -p "$tmp/src"
            sed "s/\"=$VERSION\"/\"=$v\"/" patches/unicorn/fetch/Cargo.toml > "$tmp/Cargo.toml"
            : > "$tmp/src/lib.rs"
            (cd "$tmp" && cargo fetch -q) >&2
            rm -rf "$tmp"
        fi
        f=$(crate_file "$v") || die "cargo fetched unicorn-engine-sys $v but its .crate file is not in the cargo cache"
    fi
    echo "$f"
}

stamp() { cat "${PATCHES[@]}" | sha256sum | cut -d' ' -f1; }

if [ "${1:-}" = "--try" ]; then
    v=${2:?usage: patch-unicorn.sh --try VERSION}
    dir=$(mktemp -d)/unicorn-engine-sys-$v
    mkdir -p "$dir"
    tar xzf "$(fetch "$v")" -C "$dir" --strip-components=1
    ok=1
    for p in "${PATCHES[@]}"; do
        echo "== $p"
        patch -d "$dir" -p1 --forward --no-backup-if-mismatch < "$p" || ok=0
    done
    if [ $ok = 1 ]; then
        echo "all patches apply to $v (in $dir); update VERSION here, the file names, patches/unicorn/fetch and Cargo.toml"
    else
        echo "some hunks failed for $v (see above; rejects are in $dir)"; exit 1
    fi
    exit 0
fi

want=$(stamp)
if [ -f "$DEST/.ipcemu-patched" ] && [ "$(cat "$DEST/.ipcemu-patched")" = "$want" ]; then
    exit 0
fi
crate=$(fetch "$VERSION")
tmp="$DEST.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
tar xzf "$crate" -C "$tmp" --strip-components=1
for p in "${PATCHES[@]}"; do
    patch -d "$tmp" -p1 --forward --no-backup-if-mismatch --quiet < "$p" \
        || die "$p does not apply to unicorn-engine-sys $VERSION"
done
echo "$want" > "$tmp/.ipcemu-patched"
rm -rf "$DEST"
mv "$tmp" "$DEST"
echo "patch-unicorn: $DEST is unicorn-engine-sys $VERSION with ${#PATCHES[@]} patch(es) from patches/unicorn/"
