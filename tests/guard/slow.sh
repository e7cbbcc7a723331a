#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# A slow attack (issue 18): after a generated hospital is backed up on day 0 and three normal
# nights (all clean), ransim.py's `slow` encrypts in place GUARD_SLOW_SHARE (default 0.5 %) of
# the standard storage's files each night for four nights, interleaved with `mamori-gen advance`
# and the department folders' normal night. The backup after the first night of the attack
# already exits 4 with a suspect generation, and so does every later one (each with its own
# reasons, beside the "standing" one). The generation before the attack restores byte for byte
# at the end. Prints `RESULT slow standard <share>/day <exit> <verdict> <codes>` per night.
#
# usage: slow.sh <mamori> <mamori-gen>
set -u

NAME=guard-slow
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/../crash/lib.sh"
crash_binaries "$@"
W=$(mktemp -d "${TMPDIR:-/tmp}/mm-guard-slow-XXXXXX") || exit 1
# shellcheck source=tests/guard/lib.sh
. "$(dirname "$0")/lib.sh"
trap '[ -n "${KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"' EXIT
guard_env
SHARE=${GUARD_SLOW_SHARE:-0.005}

base_hospital 30 3
S=$W/base/src
for night in 1 2 3 4; do
    advance_hospital "$S"
    must "attack-$night" "$PY" "$RANSIM" slow --root "$S/ss/standard" --share "$SHARE" --seed 5 \
        --state "$W/slow.state"
    sources_of "$S"
    run "backup-$night" "$M" --lang en backup --json --repo "$W/base/repo" --cache "$W/base/cache" "${SRCS[@]}"
    rc=$RC
    read -r _ v codes <<<"$(newest_guard "$W/base/repo")"
    echo "RESULT slow standard $SHARE/day $rc $v $codes (night $night)"
    [ -n "${GUARD_RESULTS:-}" ] && echo "slow-night$night standard $SHARE $rc $v $codes" >>"$GUARD_RESULTS"
    if [ "$rc" != 4 ] || [ "$v" != suspect ]; then
        show "$W/backup-$night.err"
        fail "night $night of the slow attack: exit $rc, guard '$v'"
    fi
    # beyond "a suspect stands": tonight's own encryption is named too
    echo "$codes" | tr , '\n' | grep -qv '^standing' ||
        fail "night $night: only the standing suspect is named, not tonight's encryption ($codes)"
    case ",$codes," in *",standing-unreadable,"*) fail "night $night: the standing list could not be read ($codes)" ;; esac
done
read -r before _ _ <<<"$(gen_guard "$W/base/repo" 4)"
restore_exact "$W/base/repo" "$before" "$W/base/clean"
echo "slow attack flagged on its first night and every later one; the last clean generation restores byte for byte: ok"
exit 0
