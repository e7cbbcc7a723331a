#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Full medium: a repository on a 2 MB tmpfs, one small generation (G1), then a backup of
# 4 MB of random data that cannot fit. mamori must exit 1 with a clear message (not crash:
# not 134 or 139), leave no temporary file behind, and G1 must still verify and restore
# byte for byte. After the big file is removed from the source, the next backup succeeds
# and restores equal to the source.
#
# FULL_DISK_SWEEP=1 adds a sweep: on a fresh tmpfs each time, the big file is sized to end
# a little before, at and after the free space, so that the medium fills up while the pack,
# the pack index, the manifest or the verify record is written. After each backup (which
# may succeed, or fail with exit 1 and the message) verify --read-data must exit 0 and G1
# must restore; a generation that was written must restore; after a failed one, once the
# big file is gone, a backup (or else prune --keep-last 1, then a backup) must succeed.
# (Off by default: mamori does not pass it yet.)
#
# Needs root and tmpfs: otherwise it prints "skipped: cannot mount tmpfs" and exits 77.
#
# usage: full-disk.sh [<mamori>]   (default: $MAMORI)
set -u

if [ $# -eq 1 ]; then
    MAMORI=$1
elif [ $# -ne 0 ] || [ -z "${MAMORI:-}" ]; then
    echo "usage: full-disk.sh [<mamori>]   (default: \$MAMORI)" >&2
    exit 2
fi
M=$(cd "$(dirname "$MAMORI")" && pwd)/$(basename "$MAMORI")

W=$(mktemp -d "${TMPDIR:-/tmp}/mm-full-XXXXXX") || exit 1
MNT=$W/mnt
mkdir "$MNT" || exit 1
mounted=0
cleanup() {
    [ "$mounted" = 1 ] && umount "$MNT"
    rm -rf "$W"
}
trap cleanup EXIT

mount_tmpfs() {
    [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=2m tmpfs "$MNT" 2>/dev/null && mounted=1
}
unmount_tmpfs() {
    umount "$MNT" && mounted=0
}
if ! mount_tmpfs; then
    echo "skipped: cannot mount tmpfs"
    exit 77
fi

unset MAMORI_LANG LANGUAGE LC_MESSAGES MAMORI_CACHE
export LANG=C.UTF-8 LC_ALL=C.UTF-8
export MAMORI_PASSPHRASE=full-disk-passphrase
export XDG_CACHE_HOME=$W/cache
export MAMORI_AUDIT_DIR=$W/audit-host
R=$MNT/repo
SRC=$W/src

NAME=full-disk
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"

listing() {
    (cd "$1" && find . -mindepth 1 -printf '%p %T@ %m\n' | LC_ALL=C sort)
}

# Restore generation $1 and compare it with folder $2 (holding the source folder "src").
check_restore() {
    rm -rf "$W/restore"
    must restore "$M" -q restore --repo "$R" "$1" --to "$W/restore"
    diff -r "$2" "$W/restore" >"$W/diff.out" 2>&1 ||
        { head -20 "$W/diff.out" >&2; fail "generation $1 does not restore to its source"; }
    listing "$2" >"$W/list.want"
    listing "$W/restore" >"$W/list.got"
    diff "$W/list.want" "$W/list.got" >"$W/diff.out" ||
        { head -20 "$W/diff.out" >&2; fail "generation $1: names, mtimes or modes differ"; }
    rm -rf "$W/restore"
}

first_id() {
    must gens "$M" generations --repo "$R" --json
    grep -o '"id":"[0-9a-f]*"' "$W/gens.out" | head -n 1 | cut -d'"' -f4
}

no_temporaries() {
    local n
    n=$(find "$R" -name '*.tmp.*' | wc -l)
    [ "$n" = 0 ] || { find "$R" -name '*.tmp.*' >&2; fail "$1 left $n temporary files"; }
}

# A fresh repository on the mounted tmpfs with G1 = the small source; sets G1.
repo_with_g1() {
    rm -rf "$SRC/big"
    must init "$M" -q init --repo "$R" --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets
    must backup1 "$M" -q backup --repo "$R" "$SRC"
    G1=$(first_id)
}

# ---- the source: 3 small files in two folders ------------------------------------------------
mkdir -p "$SRC/a/b" "$W/snap1" || fail "cannot create the source"
head -c 20000 /dev/urandom >"$SRC/one" &&
    head -c 30000 /dev/urandom >"$SRC/a/two" &&
    head -c 10000 /dev/urandom >"$SRC/a/b/three" || fail "cannot write the source"
touch -d '2024-04-01 09:00:00' "$SRC/one" "$SRC/a/b/three"
cp -a "$SRC" "$W/snap1/" || fail "cannot copy the source"

repo_with_g1
check_restore "$G1" "$W/snap1"
echo "G1 ${G1:0:12}: $(df -Pk "$MNT" | awk 'NR == 2 { print $4 }') KiB free on the 2 MB tmpfs"

# ---- a backup that does not fit ----------------------------------------------------------------
mkdir -p "$SRC/big" && head -c 4194304 /dev/urandom >"$SRC/big/big.bin" ||
    fail "cannot write the big file"
run full "$M" -q backup --repo "$R" "$SRC"
case $RC in
1) ;;
0) fail "a 4 MB backup onto a 2 MB medium exited 0" ;;
*)
    show "$W/full.out" "$W/full.err"
    fail "a backup onto a full medium exited $RC (expected 1: an error, not a crash)"
    ;;
esac
grep -q 'No space left on device' "$W/full.err" ||
    { show "$W/full.err"; fail "the message of the full medium does not say so"; }
[ "$(wc -l <"$W/full.err")" -le 3 ] || { show "$W/full.err"; fail "too many error lines"; }
echo "4 MB backup: exit 1: $(head -n 1 "$W/full.err" | sed 's/[0-9a-f]\{64\}/<id>/')"
no_temporaries "the failed backup"

must verify "$M" verify --repo "$R" --read-data
check_restore "$G1" "$W/snap1"
# the audit logs: an event the full medium could not take was kept on the host, and the
# medium's log is whole (a write cut short by the full disk is taken back)
must audit "$M" audit verify --repo "$R"
must audit-host "$M" audit verify --repo "$R" --host
echo "after it: verify --read-data exits 0, G1 restores equal to its source, both audit logs verify"

# ---- free the space, back up again ---------------------------------------------------------------
rm -rf "$SRC/big"
must backup2 "$M" -q backup --repo "$R" "$SRC"
rm -rf "$W/now" && mkdir "$W/now" && cp -a "$SRC" "$W/now/" || fail "cannot copy the source"
check_restore latest "$W/now"
must verify "$M" verify --repo "$R" --read-data
must audit "$M" audit verify --repo "$R"
echo "after removing the big file: backup, restore, verify and audit verify ok"

# ---- optional sweep around the free space ----------------------------------------------------------
if [ "${FULL_DISK_SWEEP:-}" = 1 ]; then
    unmount_tmpfs || fail "cannot unmount"
    head -c 2200000 /dev/urandom >"$W/random" || fail "cannot write random data"
    bad=0
    for back in 96 80 64 48 40 32 28 24 20 16 12 8 4 0 -4 -8 -16; do
        mount_tmpfs || fail "cannot mount tmpfs again"
        repo_with_g1
        free=$(df -Pk "$MNT" | awk 'NR == 2 { print $4 }')
        size=$(((free - back) * 1024))
        mkdir -p "$SRC/big" && head -c "$size" "$W/random" >"$SRC/big/big.bin"
        run sweep "$M" -q backup --repo "$R" "$SRC"
        backup_rc=$RC
        line="free-$back KiB ($size bytes): backup $RC"
        problems=""
        case $RC in
        0 | 1) ;;
        *) problems="$problems; backup exit $RC" ;;
        esac
        [ "$RC" = 1 ] && ! grep -q 'No space left on device' "$W/sweep.err" &&
            problems="$problems; unclear message: $(head -c 200 "$W/sweep.err")"
        [ "$(find "$R" -name '*.tmp.*' | wc -l)" = 0 ] || problems="$problems; temporaries left"
        run verify "$M" -q verify --repo "$R" --read-data
        [ "$RC" = 0 ] ||
            problems="$problems; verify exit $RC: $(sed 's/[0-9a-f]\{64\}/<id>/' "$W/verify.err" | head -c 200)"
        rm -rf "$W/restore"
        run restore "$M" -q restore --repo "$R" "$G1" --to "$W/restore"
        if [ "$RC" != 0 ] || ! diff -r "$W/snap1" "$W/restore" >/dev/null 2>&1; then
            problems="$problems; G1 does not restore (exit $RC)"
        fi
        if [ "$backup_rc" = 0 ]; then
            # the medium now legitimately holds the new generation: it must restore
            rm -rf "$W/big" "$W/restore" && mkdir "$W/big" && cp -a "$SRC" "$W/big/"
            run restore "$M" -q restore --repo "$R" latest --to "$W/restore"
            if [ "$RC" != 0 ] || ! diff -r "$W/big" "$W/restore" >/dev/null 2>&1; then
                problems="$problems; the new generation does not restore (exit $RC)"
            fi
        fi
        rm -rf "$W/restore" "$SRC/big"
        if [ "$backup_rc" = 1 ]; then
            # the failed backup must not keep the space: the next one (else prune, then
            # a backup) must succeed
            run after "$M" -q backup --repo "$R" "$SRC"
            if [ "$RC" != 0 ]; then
                problems="$problems; next backup exit $RC: $(sed 's/[0-9a-f]\{64\}/<id>/' "$W/after.err" | head -c 200)"
                run prune "$M" -q prune --repo "$R" --keep-last 1
                [ "$RC" = 0 ] ||
                    problems="$problems; prune exit $RC: $(sed 's/[0-9a-f]\{64\}/<id>/' "$W/prune.err" | head -c 200)"
                run after "$M" -q backup --repo "$R" "$SRC"
                [ "$RC" = 0 ] || problems="$problems; backup after prune exit $RC"
            fi
        fi
        if [ -n "$problems" ]; then
            echo "$line: FAIL${problems}"
            bad=$((bad + 1))
        else
            echo "$line: ok"
        fi
        unmount_tmpfs || fail "cannot unmount"
    done
    [ "$bad" = 0 ] || fail "$bad sizes of the sweep failed"
fi
exit 0
