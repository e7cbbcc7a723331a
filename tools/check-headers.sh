#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Header hygiene (libgit2's headertest plus the module DAG of STYLE.md):
#  1. every src/lib/<mod>/<mod>.h and every src/lib/common/*.h compiles on its
#     own, twice in a row (so it is self-contained and has an include guard);
#  2. no <name>_int.h is included from outside the folder it lives in;
#  3. a file of module M includes only modules listed before M (or M itself) in
#     src/lib/meson.build's lib_modules, and every module folder is listed there.
# Prints one line per offence and exits 1 if there is any.
#
# usage: check-headers.sh <source-root> <build-root> [<cc>]
set -u

if [ $# -lt 2 ]; then
    echo "usage: check-headers.sh <source-root> <build-root> [<cc>]" >&2
    exit 2
fi
root=$(cd "$1" && pwd) || exit 2
build=$(cd "$2" && pwd) || exit 2
cc=${3:-${CC:-cc}}
cd "$root" || exit 2

fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mm-headers-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

bad() {
    echo "check-headers: $*"
    fail=1
}

# the quoted includes of file $1, one a line
includes() {
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"
}

# --- module order from src/lib/meson.build --------------------------------------------------
modules=$(sed -n "s/^[[:space:]]*lib_modules[[:space:]]*=[[:space:]]*\[\(.*\)\].*/\1/p" \
    src/lib/meson.build | tr -d "' " | tr ',' ' ')
if [ -z "$modules" ]; then
    bad "cannot read lib_modules from src/lib/meson.build"
    exit 1
fi

# index of module $1 in lib_modules (0-based), or empty when it is not a module
mod_index() {
    i=0
    for m in $modules; do
        if [ "$m" = "$1" ]; then
            echo "$i"
            return
        fi
        i=$((i + 1))
    done
}

for d in src/lib/*/; do
    m=$(basename "$d")
    [ -n "$(mod_index "$m")" ] || bad "src/lib/$m is not listed in lib_modules of src/lib/meson.build"
done

# --- 1. headers compile alone -----------------------------------------------------------------
headers=""
for m in $modules; do
    [ -f "src/lib/$m/$m.h" ] && headers="$headers src/lib/$m/$m.h"
done
for h in src/lib/common/*.h; do
    [ -f "$h" ] && headers="$headers $h"
done
for h in $headers; do
    rel=${h#src/lib/}
    printf '#include "%s"\n#include "%s"\ntypedef int mm_headertest;\n' "$rel" "$rel" >"$tmp/t.c"
    if ! "$cc" -fsyntax-only -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Wpedantic -Werror \
        -I"$root/src/lib" -I"$build" -I"$root" "$tmp/t.c" 2>"$tmp/err"; then
        bad "$h does not compile on its own:"
        sed 's/^/    /' "$tmp/err"
    fi
done

# --- 2. and 3. include rules ------------------------------------------------------------------
files=$(find src tests fuzz tools bench -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null |
    LC_ALL=C sort)
for f in $files; do
    dir=$(dirname "$f")
    case "$f" in
    src/lib/*)
        mod=${f#src/lib/}
        mod=${mod%%/*}
        ;;
    *) mod="" ;;
    esac
    for inc in $(includes "$f"); do
        # 2. private headers stay in their folder
        case "$inc" in
        *_int.h)
            target=""
            for base in "$dir" "." "src/lib"; do
                if [ -f "$base/$inc" ]; then
                    target=$(cd "$(dirname "$base/$inc")" && pwd)
                    break
                fi
            done
            if [ -n "$target" ] && [ "$target" != "$(cd "$dir" && pwd)" ]; then
                bad "$f includes $inc, which is private to ${target#"$root"/}"
            fi
            ;;
        esac
        # 3. the module DAG
        [ -n "$mod" ] || continue
        case "$inc" in
        */*) ;;
        *) continue ;; # same-folder or generated (mm_config.h)
        esac
        first=${inc%%/*}
        mi=$(mod_index "$mod")
        ti=$(mod_index "$first")
        if [ -z "$ti" ]; then
            bad "$f (module $mod) includes $inc, which is not in a library module"
        elif [ -n "$mi" ] && [ "$ti" -gt "$mi" ]; then
            bad "$f (module $mod) includes $inc, but $first comes after $mod in lib_modules"
        fi
    done
done

exit "$fail"
