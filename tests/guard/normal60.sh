#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# No false alarm (issue 18): a generated hospital (mamori-gen storage, standard and extended,
# and the department folders of dept.py: a billing CSV rewritten in place nightly, a summary
# replaced by rename, daily files added and archived monthly by renames, a PACS export growing
# with DICOM-like and JPEG files) lives GUARD_NIGHTS (default 60) normal nights; after each,
# `mamori backup` with the same cache folder (the guard's history learns) must exit 0 and its
# generation must be "clean". Among the nights are backups that missed days (a weekend: three
# days of changes at once; a holiday week: five), which carry several days of updates and
# cancels, and two busy nights (20 and 45) when a fifth of the current messages are updated and
# one in twenty cancelled at once (busy.py). Per night it prints `NIGHT <n> <days> <exit> <verdict> <codes> <files> <read>`;
# with $GUARD_RESULTS set these lines are appended there (tests/guard/table.py writes the
# "No false alarms" section of docs/guard.md from them).
#
# usage: normal60.sh <mamori> <mamori-gen>   (GUARD_NIGHTS, GUARD_PATIENTS to change the size)
set -u

NAME=guard-normal60
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/../crash/lib.sh"
crash_binaries "$@"
W=$(mktemp -d "${TMPDIR:-/tmp}/mm-guard60-XXXXXX") || exit 1
# shellcheck source=tests/guard/lib.sh
. "$(dirname "$0")/lib.sh"
trap '[ -n "${KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"' EXIT
guard_env
NIGHTS=${GUARD_NIGHTS:-60}

make_hospital "$W/src" 30
init_repo "$W/repo"
backup_into night-0 0 "$W/repo" "$W/cache" "$W/src"
read -r _ v _ <<<"$(newest_guard "$W/repo")"
[ "$v" = clean ] || fail "the first backup is '$v', not clean"
bad=0
for ((n = 1; n <= NIGHTS; n++)); do
    days=1
    # missed backups: a weekend every 7th night, a holiday week on night 40
    [ $((n % 7)) = 6 ] && days=3
    [ "$n" = 40 ] && days=5
    advance_hospital "$W/src" "$days"
    # busy nights: a system re-sends much of its data, 20 % of the current messages updated and
    # 5 % cancelled at once, the SS-MIX2 way (tests/guard/busy.py)
    if [ "$n" = 20 ] || [ "$n" = 45 ]; then
        "$PY" "$(dirname "$0")/busy.py" --root "$W/src/ss/standard" --seed "$n" \
            >"$W/busy-$n.json" || fail "busy.py failed"
    fi
    sources_of "$W/src"
    run "night-$n" "$M" --lang en backup --json --repo "$W/repo" --cache "$W/cache" "${SRCS[@]}"
    rc=$RC
    read -r _ v codes <<<"$(newest_guard "$W/repo")"
    files=$(sed -n 's/.*"files":\([0-9]*\).*/\1/p' "$W/night-$n.out" | head -1)
    read_=$(sed -n 's/.*"files_read":\([0-9]*\).*/\1/p' "$W/night-$n.out" | head -1)
    line="NIGHT $n $days $rc $v $codes ${files:-?} ${read_:-?}"
    echo "$line"
    [ -n "${GUARD_RESULTS:-}" ] && echo "$line" >>"$GUARD_RESULTS"
    if [ "$rc" != 0 ] || [ "$v" != clean ]; then
        show "$W/night-$n.err" | head -10 >&2
        bad=$((bad + 1))
    fi
done
[ "$bad" = 0 ] || fail "$bad of $NIGHTS normal nights were not clean (false alarms)"
echo "$NIGHTS normal nights, every generation clean: ok"
exit 0
