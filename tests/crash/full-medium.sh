#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# A medium filled to the last byte (issue 17.7): a repository of two generations of a
# synthetic SS-MIX2 storage on a 6 MB tmpfs, then a filler file until not one byte is free.
# The read-only operations need no writable medium: verify --read-data, restore, generations,
# show, search and audit verify exit 0 (verify and restore say once that they read without a
# lock file because the medium is full) — unless a live writer holds an exclusive lock, which
# still keeps a reader out. A backup fails with exit 1 and a message that names the full
# medium and the bytes free, in Japanese and in English (never only a lock error).
# prune --keep-last 1 fails naming the cause when the reserve file is missing, and succeeds by
# giving up the reserve file init wrote; afterwards the kept generation verifies and restores
# equal to its source, and once there is room again prune writes the reserve back.
#
# Needs root and tmpfs: otherwise it prints "skipped: cannot mount tmpfs" and exits 77.
#
# usage: full-medium.sh [<mamori> <mamori-gen>]   (default: $MAMORI, $MAMORI_GEN)
set -u

if [ $# -eq 2 ]; then
    MAMORI=$1 MAMORI_GEN=$2
elif [ $# -ne 0 ] || [ -z "${MAMORI:-}" ] || [ -z "${MAMORI_GEN:-}" ]; then
    echo "usage: full-medium.sh [<mamori> <mamori-gen>]   (default: \$MAMORI, \$MAMORI_GEN)" >&2
    exit 2
fi
M=$(cd "$(dirname "$MAMORI")" && pwd)/$(basename "$MAMORI")
GEN=$(cd "$(dirname "$MAMORI_GEN")" && pwd)/$(basename "$MAMORI_GEN")

W=$(mktemp -d "${TMPDIR:-/tmp}/mm-fullm-XXXXXX") || exit 1
MNT=$W/mnt
mkdir "$MNT" || exit 1
mounted=0
cleanup() {
    [ "$mounted" = 1 ] && umount "$MNT"
    rm -rf "$W"
}
trap cleanup EXIT

if ! { [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=6m tmpfs "$MNT" 2>/dev/null && mounted=1; }; then
    echo "skipped: cannot mount tmpfs"
    exit 77
fi

unset MAMORI_LANG LANGUAGE LC_MESSAGES MAMORI_CACHE
export LANG=C.UTF-8 LC_ALL=C.UTF-8 MAMORI_LANG=en MAMORI_VIEWER_COPY=0
export MAMORI_PASSPHRASE=full-medium-passphrase
export XDG_CACHE_HOME=$W/cache
export MAMORI_AUDIT_DIR=$W/audit-host
R=$MNT/repo

NAME=full-medium
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"

free_bytes() { df -PB1 "$MNT" | awk 'NR == 2 { print $4 }'; }

# ---- two generations, then a full medium ------------------------------------------------------
"$GEN" --out "$W/g" --patients 4 --days 30 --seed 7 -q || fail "mamori-gen"
must init "$M" -q init --repo "$R" --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets
[ -f "$R/reserve" ] || fail "init wrote no reserve file"
must backup1 "$M" -q backup --repo "$R" "$W/g/standard"
"$GEN" --out "$W/g2" --patients 6 --days 30 --seed 8 -q || fail "mamori-gen"
rm -rf "$W/g/standard" && cp -a "$W/g2/standard" "$W/g/standard" || fail "cannot change the source"
# (the source is swapped for another storage: the guard would rightly judge it suspect and hold
# prune, which this test needs; a full medium is what is tested here, so no guard)
must backup2 "$M" -q backup --no-guard --repo "$R" "$W/g/standard"
PID=$(find "$W/g/standard" -mindepth 3 -maxdepth 3 -type d -printf '%f\n' | LC_ALL=C sort | head -n 1)
echo "two generations: $(free_bytes) bytes free of 6 MB, reserve $(stat -c %s "$R/reserve") bytes"

# a writer's exclusive lock (this live shell's), written while there is room
LOCK=$R/locks/$(printf '%064d' 7)
printf 'mamori-lock 1\nkind exclusive\nhost %s\npid %s\nstart %s\n' "$(hostname)" $$ "$(date +%s)" >"$LOCK" ||
    fail "cannot write the lock"
head -c 8M /dev/zero >"$MNT/filler" 2>/dev/null
for i in 1 2 3 4 5 6 7 8; do : >"$MNT/inode.$i" 2>/dev/null; done
[ "$(free_bytes)" = 0 ] || fail "the medium is not full: $(free_bytes) bytes free"
touch "$MNT/probe" 2>/dev/null && echo x >"$MNT/probe" 2>/dev/null && fail "the medium takes writes"

# ---- a live writer still keeps a reader out ------------------------------------------------------
run locked "$M" -q verify --repo "$R"
[ "$RC" = 1 ] || { show "$W/locked.err"; fail "verify beside a live writer's lock exited $RC"; }
grep -q "being written (exclusive lock of process $$" "$W/locked.err" ||
    { show "$W/locked.err"; fail "verify did not name the writer's lock"; }
rm "$LOCK" && head -c 8M /dev/zero >>"$MNT/filler" 2>/dev/null
[ "$(free_bytes)" = 0 ] || fail "the medium is not full again: $(free_bytes) bytes free"

# ---- the readers -------------------------------------------------------------------------------
must verify "$M" -q verify --repo "$R" --read-data
grep -q "the medium is full (0 B free): reading without a lock file" "$W/verify.err" ||
    { show "$W/verify.err"; fail "verify did not say it reads without a lock file"; }
[ "$(grep -c 'reading without a lock file' "$W/verify.err")" = 1 ] || fail "said more than once"
must restore "$M" -q restore --repo "$R" latest --to "$W/out"
diff -r "$W/g/standard" "$W/out/standard" >/dev/null || fail "the restore differs from the source"
grep -q "reading without a lock file" "$W/restore.err" ||
    fail "restore did not say it reads without a lock file"
must gens "$M" generations --repo "$R"
must show "$M" show "$PID" --repo "$R"
must search "$M" search "$PID" --repo "$R"
grep -q "$PID" "$W/search.out" || fail "search did not find the patient"
must audit "$M" audit verify --repo "$R"
echo "full medium: verify --read-data, restore, generations, show, search, audit verify exit 0"

# ---- a writer names the cause ------------------------------------------------------------------
run backup3 "$M" -q backup --repo "$R" "$W/g/standard"
[ "$RC" = 1 ] || { show "$W/backup3.err"; fail "a backup onto a full medium exited $RC"; }
grep -q "the medium is full: 0 bytes free" "$W/backup3.err" ||
    { show "$W/backup3.err"; fail "the backup's message does not name the full medium"; }
MAMORI_LANG=ja run backup4 "$M" -q backup --repo "$R" "$W/g/standard"
grep -q "媒体がいっぱいです" "$W/backup4.err" ||
    { show "$W/backup4.err"; fail "the Japanese message does not name the full medium"; }
echo "backup: exit 1: $(grep 'full' "$W/backup3.err" | head -n 1)"

# ---- prune gives up the reserve ------------------------------------------------------------------
# without it prune cannot start on a full medium, and says why
cp "$R/reserve" "$W/reserve.saved" && rm "$R/reserve" || fail "cannot set the reserve aside"
head -c 8M /dev/zero >"$MNT/filler2" 2>/dev/null
[ "$(free_bytes)" = 0 ] || fail "the medium is not full again: $(free_bytes) bytes free"
run prune0 "$M" -q prune --repo "$R" --keep-last 1
[ "$RC" = 1 ] || { show "$W/prune0.err"; fail "prune without a reserve exited $RC"; }
grep -q "the medium is full: 0 bytes free, and it has no reserve file" "$W/prune0.err" ||
    { show "$W/prune0.err"; fail "prune without a reserve does not name the cause"; }
rm "$MNT/filler2" && cp "$W/reserve.saved" "$R/reserve" || fail "cannot put the reserve back"
head -c 8M /dev/zero >>"$MNT/filler" 2>/dev/null
[ "$(free_bytes)" = 0 ] || fail "the medium is not full again: $(free_bytes) bytes free"
must prune "$M" -q prune --repo "$R" --keep-last 1
[ -f "$R/reserve" ] && fail "prune did not give up the reserve (or wrote it back with no room)"
must gens2 "$M" generations --repo "$R" --json
[ "$(grep -o '"id":"' "$W/gens2.out" | wc -l)" = 1 ] || fail "prune did not remove a generation"
rm -rf "$W/out"
must verify2 "$M" -q verify --repo "$R" --read-data
must restore2 "$M" -q restore --repo "$R" latest --to "$W/out"
diff -r "$W/g/standard" "$W/out/standard" >/dev/null || fail "the kept generation differs"
echo "prune on the full medium: exit 0 using the reserve; the kept generation verifies and restores"

# ---- room again: the reserve comes back ------------------------------------------------------------
rm -f "$MNT/filler" "$MNT"/inode.*
must prune2 "$M" -q prune --repo "$R" --keep-last 1
[ -f "$R/reserve" ] || fail "prune did not write the reserve again once there was room"
echo "with room again: prune wrote the reserve file again"
exit 0
