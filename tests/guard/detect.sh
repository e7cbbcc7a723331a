#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The guard catches ransomware (issue 18): a generated hospital (mamori-gen storage, standard
# and extended, and the department folders of dept.py) is backed up on day 0 and after three
# normal nights, every generation clean. Then, for the attack of ransim.py given (or all of
# them) and each share of files, on a fresh copy of that hospital, repository and cache:
#  - the first `mamori backup` after the attack exits 4 and `generations --json` shows the new
#    generation "guard":"suspect" (its reason codes are printed);
#  - at the smallest and the largest share, the last clean generation still restores byte for
#    byte (restore + diff against the copy saved when it was written);
#  - encrypt-inplace and intermittent also at 0.5 % with each file's modification time put back
#    (ransim.py --keep-mtime: target "standard-mtime-kept").
# (A copy of the sources has new inodes, so each case first backs its copy up once as it is —
# clean — before the normal night and the attack.)
# On the department folders (no SS-MIX2 rules) a case is required to be suspect from a quarter
# of the files, or at any share for notes and ransomware extensions; smaller shares of other
# attacks are recorded (required "no"). Every case prints one line
# `RESULT <attack> <target> <share> <exit> <verdict> <codes> <required>` (and
# appends it to $GUARD_RESULTS when set) for tests/guard/table.py, the detection table of
# docs/guard.md. No path or patient ID is printed.
#
# usage: detect.sh <mamori> <mamori-gen> <attack>   attack: one of ransim.py's but slow, or all
#   GUARD_SHARES (default "0.005 0.01 0.05 0.25 1") overrides the shares on the standard
#   storage; the extended storage and the department folders get 0.005 and 0.25.
set -u

NAME=guard-detect
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/../crash/lib.sh"
[ $# -eq 3 ] || { echo "usage: detect.sh <mamori> <mamori-gen> <attack>" >&2; exit 2; }
GROUP=$3
crash_binaries "$1" "$2"
NAME=guard-detect-$GROUP
W=$(mktemp -d "${TMPDIR:-/tmp}/mm-guard-XXXXXX") || exit 1
# shellcheck source=tests/guard/lib.sh
. "$(dirname "$0")/lib.sh"
trap '[ -n "${KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"' EXIT
guard_env

case $GROUP in
all) ATTACKS="encrypt-inplace encrypt-replace intermittent encrypt-rename notes delete" ;;
encrypt-inplace | encrypt-replace | intermittent | encrypt-rename | notes | delete) ATTACKS=$GROUP ;;
*) echo "unknown attack '$GROUP'" >&2; exit 2 ;;
esac
SHARES=${GUARD_SHARES:-0.005 0.01 0.05 0.25 1}

# the extension of encrypt-rename at each share: every one of the simulator's kinds is used
ext_for() {
    case $1 in
    0.005) echo .locked ;; 0.01) echo .lockbit ;; 0.05) echo .crypt ;; 0.25) echo .encrypted ;;
    *) echo random ;;
    esac
}

root_of() { # root_of <case folder> <target>
    case $2 in
    standard | extended) echo "$1/src/ss/$2" ;;
    standard-mtime-kept) echo "$1/src/ss/standard" ;;
    *) echo "$1/src/dept/$2" ;;
    esac
}

FAILS=0
# one_case <attack> <target> <share> <restore: yes|no>
one_case() {
    local attack=$1 target=$2 share=$3 C=$W/case
    copy_base "$C"
    # the copy's files have new inodes: one backup of it as it is (clean) first, so that the
    # night's renames (_1 -> _2) are matched by inode as they would be on the real storage
    backup_into baseline 0 "$C/repo" "$C/cache" "$C/src"
    local bv
    read -r _ bv _ <<<"$(newest_guard "$C/repo")"
    [ "$bv" = clean ] || { show "$W/baseline.out"; fail "the copy's own first backup is '$bv', not clean"; }
    # the attack strikes after a normal night, as it would
    DEPT_DAY=3
    advance_hospital "$C/src"
    local times=()
    [ "$target" = standard-mtime-kept ] && times=(--keep-mtime)
    must attack "$PY" "$RANSIM" "$attack" --root "$(root_of "$C" "$target")" --share "$share" \
        --seed 7 --ext "$(ext_for "$share")" "${times[@]}"
    sources_of "$C/src"
    run backup "$M" --lang en backup --json --repo "$C/repo" --cache "$C/cache" "${SRCS[@]}"
    local rc=$RC v codes
    read -r _ v codes <<<"$(newest_guard "$C/repo")"
    # required: every case on the SS-MIX2 storages; on a department folder (no SS-MIX2 rules,
    # learned shares with the guard's floors) from a quarter of its files, or when the attack
    # leaves a mark that is suspect at any share (notes, ransomware extensions)
    local need=yes
    case $target/$attack in
    standard*/* | extended/* | */notes | */encrypt-rename) ;;
    *) awk "BEGIN{exit !($share < 0.25)}" && need=no ;;
    esac
    echo "RESULT $attack $target $share $rc $v $codes $need"
    [ -n "${GUARD_RESULTS:-}" ] && echo "$attack $target $share $rc $v $codes $need" >>"$GUARD_RESULTS"
    if [ "$need" = yes ] && { [ "$rc" != 4 ] || [ "$v" != suspect ]; }; then
        echo "$NAME: FAIL: $attack of $share of $target: backup exit $rc, guard '$v' (want 4, suspect)" >&2
        show "$W/backup.err" | head -20 >&2
        FAILS=$((FAILS + 1))
    fi
    if [ "$4" = yes ]; then
        # the generation before the attack (the newest of the base) restores byte for byte
        local before
        read -r before _ _ <<<"$(gen_guard "$C/repo" 1)"
        restore_exact "$C/repo" "$before" "$W/base/clean"
        echo "    the generation before the attack restores byte for byte"
    fi
}

base_hospital 30 3
echo "base: a storage of $GUARD_PATIENTS patients, 30 days, and 3 normal nights backed up clean"
for attack in $ATTACKS; do
    first=$(echo "$SHARES" | awk '{print $1}')
    last=$(echo "$SHARES" | awk '{print $NF}')
    for share in $SHARES; do
        r=no
        [ "$share" = "$first" ] || [ "$share" = "$last" ] && r=yes
        one_case "$attack" standard "$share" "$r"
    done
    # ransomware that puts each file's modification time back (the walk still sees the
    # change time)
    case $attack in
    encrypt-inplace | intermittent) one_case "$attack" standard-mtime-kept 0.005 no ;;
    esac
    for target in extended billing pacs; do
        for share in 0.005 0.25; do
            one_case "$attack" "$target" "$share" no
        done
    done
done
[ "$FAILS" = 0 ] || fail "$FAILS case(s) not flagged suspect"
echo "every attack flagged suspect on the first backup after it: ok"
exit 0
