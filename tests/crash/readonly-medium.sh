#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Write-protected medium: a repository on a tmpfs that is then remounted read-only (what a
# write-protect switch or a read-only mount of a backup disk looks like to mamori). restore
# and verify must still succeed (exit 0, files equal to the source); each says on stderr
# that its audit event went to this host's log only; the host's log holds the events, and
# both logs verify. After the medium is writable again, the next command writes to both.
#
# Needs root and tmpfs: otherwise it prints "skipped: cannot mount tmpfs" and exits 77.
#
# usage: readonly-medium.sh [<mamori>]   (default: $MAMORI)
set -u

if [ $# -eq 1 ]; then
    MAMORI=$1
elif [ $# -ne 0 ] || [ -z "${MAMORI:-}" ]; then
    echo "usage: readonly-medium.sh [<mamori>]   (default: \$MAMORI)" >&2
    exit 2
fi
M=$(cd "$(dirname "$MAMORI")" && pwd)/$(basename "$MAMORI")

W=$(mktemp -d "${TMPDIR:-/tmp}/mm-ro-XXXXXX") || exit 1
MNT=$W/mnt
mkdir "$MNT" || exit 1
mounted=0
cleanup() {
    [ "$mounted" = 1 ] && umount "$MNT"
    rm -rf "$W"
}
trap cleanup EXIT

if ! { [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=8m tmpfs "$MNT" 2>/dev/null && mounted=1; }; then
    echo "skipped: cannot mount tmpfs"
    exit 77
fi

unset MAMORI_LANG LANGUAGE LC_MESSAGES MAMORI_CACHE
export LANG=C.UTF-8 LC_ALL=C.UTF-8 MAMORI_LANG=en
export MAMORI_PASSPHRASE=readonly-medium-passphrase
export XDG_CACHE_HOME=$W/cache
export MAMORI_AUDIT_DIR=$W/audit-host
R=$MNT/repo

fail() {
    echo "readonly-medium: FAIL: $*" >&2
    for f in "$W"/*.err; do [ -s "$f" ] && sed "s|^|    $(basename "$f"): |" "$f" >&2; done
    exit 1
}

mkdir -p "$W/src/sub" && seq 1 5000 >"$W/src/a.txt" && echo b >"$W/src/sub/b.txt" || fail "source"
"$M" -q init --repo "$R" --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets 2>"$W/init.err" || fail "init"
"$M" -q backup --repo "$R" "$W/src" >/dev/null 2>"$W/backup.err" || fail "backup"
mount -o remount,ro "$MNT" || fail "cannot remount the medium read-only"
touch "$R/probe" 2>/dev/null && fail "the medium is still writable"

"$M" -q restore --repo "$R" latest --to "$W/out" 2>"$W/restore.err" || fail "restore exited $?"
diff -r "$W/src" "$W/out/src" >/dev/null || fail "the restored files differ from the source"
grep -q "recorded in this host's audit log only" "$W/restore.err" ||
    fail "restore did not say where its audit event went"
"$M" -q verify --repo "$R" --read-data 2>"$W/verify.err" || fail "verify exited $?"
grep -q "recorded in this host's audit log only" "$W/verify.err" ||
    fail "verify did not say where its audit event went"
echo "read-only medium: restore and verify exit 0; both say the event is on this host only"

"$M" audit show --repo "$R" --host --json >"$W/host.json" 2>"$W/show.err" || fail "audit show --host"
for k in restore verify; do
    grep -q "\"kind\":\"$k\"" "$W/host.json" || fail "the host's log has no $k event"
done
"$M" audit verify --repo "$R" >/dev/null 2>"$W/averify.err" || fail "the medium's audit log does not verify"
"$M" audit verify --repo "$R" --host >/dev/null 2>"$W/hverify.err" || fail "the host's audit log does not verify"
echo "the host's log holds restore and verify; both logs verify"

mount -o remount,rw "$MNT" || fail "cannot remount the medium read-write"
"$M" -q verify --repo "$R" 2>"$W/verify2.err" || fail "verify on the writable medium"
[ -s "$W/verify2.err" ] && fail "verify on the writable medium warned"
"$M" audit show --repo "$R" --kind verify --json | grep -q '"kind":"verify"' ||
    fail "the medium's log did not get the verify event once writable"
echo "writable again: the next event is on the medium too"
exit 0
