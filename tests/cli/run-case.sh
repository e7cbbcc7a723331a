#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Run one CLI golden case: tests/cli/<case>/cmd is a shell snippet run in a fresh
# temporary folder (the cwd) with $MAMORI set to the built binary and $SAMPLES to
# the repository's SS-MIX2 sample folder (tests/data/ssmix2-samples). Its standard
# output, standard error and exit status must equal stdout.exact, stderr.exact and
# exit. An optional file `forbid` lists strings (one a line, e.g. patient IDs) that
# must appear in neither output.
# The environment is pinned (MAMORI_LANG unset, LANG=C.UTF-8) for stable text, no Windows
# build is put on a medium unless a case names one (MAMORI_WINDOWS_EXE empty: not the
# build-windows/mamori.exe of this tree, which `make windows` may have built), and
# XDG_STATE_HOME and XDG_CACHE_HOME point at fresh folders (this host's audit logs, its
# cache and the guard's history).
# MM_CLI_REGEN=1 rewrites the three expected files from the current behaviour
# (review the diff before committing it).
#
# usage: run-case.sh <mamori> <case-dir> <samples-dir> [<mamori-gen>]
# ($MAMORI_GEN points at the generator when it is given.)
set -u

if [ $# -ne 3 ] && [ $# -ne 4 ]; then
    echo "usage: run-case.sh <mamori> <case-dir> <samples-dir> [<mamori-gen>]" >&2
    exit 2
fi
if [ $# -eq 4 ]; then
    MAMORI_GEN=$(cd "$(dirname "$4")" && pwd)/$(basename "$4")
    export MAMORI_GEN
fi
mamori=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
case_dir=$(cd "$2" && pwd)
samples=$3
name=$(basename "$case_dir")

for f in cmd stdout.exact stderr.exact exit; do
    if [ ! -f "$case_dir/$f" ] && { [ "$f" = cmd ] || [ "${MM_CLI_REGEN:-}" != 1 ]; }; then
        echo "$name: missing $f" >&2
        exit 2
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mm-cli-XXXXXX") || exit 2
out=$(mktemp -d "${TMPDIR:-/tmp}/mm-cli-out-XXXXXX") || exit 2
state=$(mktemp -d "${TMPDIR:-/tmp}/mm-cli-state-XXXXXX") || exit 2
trap 'chmod -R u+rwx "$work" 2>/dev/null; rm -rf "$work" "$out" "$state"' EXIT

unset MAMORI_LANG LANGUAGE LC_MESSAGES MAMORI_AUDIT_DIR
# this host's audit logs (mamori audit) go to a fresh folder, never the tester's own
XDG_STATE_HOME=$state
# the host's cache (patient index, the guard's history: ~/.cache/mamori) in a fresh folder too
XDG_CACHE_HOME=$state/cache
LANG=C.UTF-8
LC_ALL=C.UTF-8
MAMORI=$mamori
SAMPLES=$samples
MAMORI_WINDOWS_EXE=
export LANG LC_ALL MAMORI SAMPLES XDG_STATE_HOME XDG_CACHE_HOME MAMORI_WINDOWS_EXE

(cd "$work" && sh "$case_dir/cmd") >"$out/stdout" 2>"$out/stderr"
rc=$?

if [ "${MM_CLI_REGEN:-}" = 1 ]; then
    # maintainer mode: accept the current behaviour as the new golden output
    cp "$out/stdout" "$case_dir/stdout.exact"
    cp "$out/stderr" "$case_dir/stderr.exact"
    echo "$rc" >"$case_dir/exit"
    echo "$name: regenerated"
    exit 0
fi

status=0
if ! diff -u "$case_dir/stdout.exact" "$out/stdout" >"$out/diff"; then
    echo "$name: standard output differs:"
    cat "$out/diff"
    status=1
fi
if ! diff -u "$case_dir/stderr.exact" "$out/stderr" >"$out/diff"; then
    echo "$name: standard error differs:"
    cat "$out/diff"
    status=1
fi
want=$(tr -d ' \n' <"$case_dir/exit")
if [ "$rc" != "$want" ]; then
    echo "$name: exit status $rc, expected $want"
    status=1
fi
if [ -f "$case_dir/forbid" ]; then
    while IFS= read -r s; do
        [ -n "$s" ] || continue
        if grep -qF -- "$s" "$out/stdout" "$out/stderr"; then
            echo "$name: forbidden string '$s' appears in the output"
            status=1
        fi
    done <"$case_dir/forbid"
fi
if [ "$status" -eq 0 ]; then
    echo "$name: ok"
fi
exit "$status"
