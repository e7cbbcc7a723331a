# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2034,SC2153  # M, G are for the caller; NAME is set by it
#
# Sourced by the crash suite's scripts (tests/crash/*.sh) for what they all do the same way.
# Before sourcing, a script sets NAME (its name in messages); before run/must/must_be, W (its
# work folder, where each command's output goes as W/<name>.out and .err). A script that has
# logs worth showing on failure defines fail_more(), which fail() calls.

# M and G: the absolute paths of mamori and mamori-gen, from the first two arguments (passed
# as "$@" of the script) or else $MAMORI and $MAMORI_GEN; a usage error otherwise.
crash_binaries() {
    if [ $# -eq 2 ]; then
        MAMORI=$1
        MAMORI_GEN=$2
    elif [ $# -ne 0 ] || [ -z "${MAMORI:-}" ] || [ -z "${MAMORI_GEN:-}" ]; then
        echo "usage: $NAME.sh [<mamori> <mamori-gen>]   (default: \$MAMORI and \$MAMORI_GEN)" >&2
        exit 2
    fi
    M=$(cd "$(dirname "$MAMORI")" && pwd)/$(basename "$MAMORI")
    G=$(cd "$(dirname "$MAMORI_GEN")" && pwd)/$(basename "$MAMORI_GEN")
}

# The test cannot run here: say why, exit 77 (meson's "skipped").
skip() {
    echo "skipped: $*"
    exit 77
}

fail() {
    echo "$NAME: FAIL: $*" >&2
    if declare -F fail_more >/dev/null; then fail_more; fi
    exit 1
}

# Print the files given (a command's saved output), indented, on stderr.
show() {
    for f in "$@"; do [ -s "$f" ] && sed 's/^/    | /' "$f" >&2; done
    return 0
}

# run <name> <command...>: run it with its output in W/<name>.out and .err, status in RC.
run() {
    local name=$1
    shift
    "$@" >"$W/$name.out" 2>"$W/$name.err"
    RC=$?
}

# must <name> <command...>: run it; it must exit 0.
must() {
    run "$@"
    [ "$RC" = 0 ] || { show "$W/$1.out" "$W/$1.err"; fail "$1 exited $RC"; }
}

# must_be <name> <status> <command...>: run it; it must exit with <status>.
must_be() {
    local name=$1 want=$2
    shift 2
    run "$name" "$@"
    [ "$RC" = "$want" ] || { show "$W/$name.out" "$W/$name.err"; fail "$name exited $RC, not $want"; }
}

# Unmount the folder @1 if something is mounted there (kernel, FUSE, or lazily at last).
unmount_if() {
    mountpoint -q "$1" 2>/dev/null || return 0
    umount "$1" 2>/dev/null || fusermount -u "$1" 2>/dev/null || umount -l "$1"
}
