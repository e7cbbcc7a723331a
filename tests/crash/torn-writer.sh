#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# A file rewritten while a backup reads it (issue 17.3), with a real writer process: an 8 MB
# file is rewritten in place (same inode, same size, 1 MB writes) over and over, each version
# all one byte ('A', 'B', 'C', ... in turn), mostly back to back, one in three followed by a
# random pause of up to 600 ms, while TORN_ROUNDS backups (8 by default) run. Timing decides what each backup sees;
# the test asserts only what must always hold: a torn copy is never stored silently. For each
# backup:
#   - exit 0: the file was stored whole — restored, it is one version (one byte value, the
#     full size); the backup's --json says files_unstable 0;
#   - exit 4: the file is reported unstable (files_unstable 1, its redacted path in
#     "unstable", the summary on stderr), the generation's audit event counts it, and
#     `generations` marks the generation;
#   - anything else fails.
# The work folder is under TMPDIR (or /tmp). TORN_KEEP=1 keeps it.
#
# usage: torn-writer.sh [<mamori> <mamori-gen>]   (default: $MAMORI and $MAMORI_GEN)
set -u

NAME=torn-writer
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"
crash_binaries "$@"
ROUNDS=${TORN_ROUNDS:-8}
SIZE=$((8 * 1024 * 1024))

W=$(mktemp -d "${TMPDIR:-/tmp}/mm-torn-XXXXXX") || exit 1
WRITER=
cleanup() {
    [ -n "$WRITER" ] && kill "$WRITER" 2>/dev/null && wait "$WRITER" 2>/dev/null
    if [ "${TORN_KEEP:-}" = 1 ]; then echo "$NAME: work folder kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

unset MAMORI_LANG LANGUAGE LC_MESSAGES MAMORI_CACHE
export LANG=C.UTF-8 LC_ALL=C.UTF-8
export MAMORI_PASSPHRASE=torn-writer-test-passphrase
export XDG_CACHE_HOME=$W/cache MAMORI_AUDIT_DIR=$W/audit-host
R=$W/repo
mkdir -p "$W/src" || fail "cannot make the source"
head -c "$SIZE" /dev/zero | tr '\0' 'A' >"$W/src/big.bin" || fail "cannot write the file"
printf 'small\n' >"$W/src/small.txt"

# The writer: versions of the file, each one byte value, written in place in 1 MB pieces.
writer() {
    local v=0 letters=ABCDEFGHIJKLMNOP
    while :; do
        v=$(((v + 1) % 16))
        head -c "$SIZE" /dev/zero | tr '\0' "${letters:v:1}" |
            dd of="$W/src/big.bin" bs=1M conv=notrunc iflag=fullblock status=none
        [ $((RANDOM % 3)) = 0 ] || continue # mostly back to back: a long rewrite
        sleep "0.$(printf '%03d' $((RANDOM % 600)))"
    done
}

must init "$M" -q init --repo "$R" --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets
writer &
WRITER=$!
stable=0
unstable=0
for round in $(seq 1 "$ROUNDS"); do
    run backup "$M" --lang en backup --repo "$R" --json "$W/src"
    id=$(grep -o '"id":"[0-9a-f]*"' "$W/backup.out" | cut -d'"' -f4)
    n=$(grep -o '"files_unstable":[0-9]*' "$W/backup.out" | cut -d: -f2)
    case "$RC" in
    0)
        [ "$n" = 0 ] || { show "$W/backup.out"; fail "round $round: exit 0 with $n unstable files"; }
        rm -rf "$W/out"
        must restore "$M" --lang en -q restore --repo "$R" "$id" --to "$W/out"
        grep -q 'kept changing' "$W/restore.err" &&
            { show "$W/restore.err"; fail "round $round: a stable generation's restore warns"; }
        got=$(stat -c %s "$W/out/src/big.bin")

        first=$(head -c 1 "$W/out/src/big.bin")
        others=$(tr -d "$first" <"$W/out/src/big.bin" | wc -c) # bytes of another version
        [ "$got" = "$SIZE" ] && [ "$others" = 0 ] ||
            fail "round $round: exit 0 but the stored file is torn ($got bytes, $others not '$first')"
        stable=$((stable + 1))
        echo "round $round: stored whole, exit 0 ($(grep -o '"files_reread":[0-9]*' "$W/backup.out"))"
        ;;
    4)
        [ "$n" = 1 ] || { show "$W/backup.out"; fail "round $round: exit 4 with files_unstable $n"; }
        grep -q '"unstable":\[{"generation":null,"path":"[^"]*/src/big.bin"' "$W/backup.out" ||
            { show "$W/backup.out"; fail "round $round: the unstable file is not named"; }
        grep -q 'needs attention: 1 files changed during each of 3 reads' "$W/backup.err" ||
            { show "$W/backup.err"; fail "round $round: no unstable summary on stderr"; }
        # restoring it says so again: the file may be a state in the middle of a write
        rm -rf "$W/out"
        must restore "$M" --lang en -q restore --repo "$R" "$id" --to "$W/out"
        grep -q 'note: 1 files of this generation kept changing' "$W/restore.err" &&
            grep -q 'unstable: .*src/big.bin' "$W/restore.err" ||
            { show "$W/restore.err"; fail "round $round: its restore does not say it holds an unstable file"; }
        unstable=$((unstable + 1))
        echo "round $round: reported unstable, exit 4, and by its restore"
        ;;
    *)
        show "$W/backup.out" "$W/backup.err"
        fail "round $round: backup exited $RC"
        ;;
    esac
done
kill "$WRITER" 2>/dev/null
wait "$WRITER" 2>/dev/null
WRITER=
# the audit event of an unstable generation counts it (the host's log, details in the clear)
if [ "$unstable" -gt 0 ]; then
    must ashow "$M" audit show --repo "$R" --host --kind backup --json
    grep -q '"files_unstable":"1"' "$W/ashow.out" || fail "no backup event counts the unstable file"
    must gens "$M" --lang en generations --repo "$R"
    [ "$(grep -c 'NEEDS ATTENTION: 1 files kept changing while read' "$W/gens.out")" = "$unstable" ] ||
        { show "$W/gens.out"; fail "generations does not mark the $unstable unstable generations"; }
fi
must verify "$M" -q verify --repo "$R" --read-data
echo "$NAME: $ROUNDS backups during rewrites: $stable stored whole, $unstable reported unstable;" \
    "none torn silently"
exit 0
