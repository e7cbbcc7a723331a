#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# A key rotation killed at random moments (issue 17.11): a repository of three generations
# (a generated SS-MIX2 storage with its patient index, advanced a day between generations, and
# a 2 MB random file) is rotated with `mamori key rotate`, and the rotation is SIGKILLed after
# a random delay, again and again, each run continuing the last one's copy. After every kill:
#   - if the new repository opens, `mamori verify --read-data` of it exits 0 (every completed
#     generation whole) and its generations are a prefix of the old ones (same names and
#     times, in order, none twice);
# then an uninterrupted run must finish, leave no work folder, and every generation of the new
# repository must restore byte for byte as the old one's (diff -r of the two restores), with
# the patient index searchable. The delays come from $RANDOM, seeded from CRASH_SEED or the
# clock and printed (replay with CRASH_SEED=...); the window adapts to how long a run takes.
#
# usage: rotate-kill.sh [<mamori> <mamori-gen>]   (default: $MAMORI and $MAMORI_GEN)
set -u

NAME=rotate-kill
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"
crash_binaries "$@"
ROUNDS=${CRASH_ROUNDS:-10}
SEED=${CRASH_SEED:-$(($(date +%s) % 32768))}
RANDOM=$SEED

W=$(mktemp -d "${TMPDIR:-/tmp}/mm-rotate-kill-XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
unset MAMORI_LANG LANGUAGE LC_MESSAGES MAMORI_CACHE
export LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC
export MAMORI_PASSPHRASE=hardening-test-passphrase
export MAMORI_NEW_PASSPHRASE=rotation-test-passphrase
export XDG_CACHE_HOME=$W/cache MAMORI_AUDIT_DIR=$W/audit-host
OLD=$W/old NEW=$W/new WORK=$W/work
echo "rotate-kill: seed $SEED (replay with CRASH_SEED=$SEED), $ROUNDS rounds, work $W"
fail_more() {
    echo "rotate-kill: replay with CRASH_SEED=$SEED CRASH_ROUNDS=$ROUNDS" >&2
}

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# The generations of a repository as "name start end" lines, oldest first (IDs differ).
gens() {
    "$M" generations --repo "$1" --json |
        sed 's/},{/}\n{/g' | sed -n 's/.*"name":\([^,]*\),.*"start":"\([^"]*\)","end":"\([^"]*\)".*/\1 \2 \3/p'
}
gen_ids() {
    "$M" generations --repo "$1" --json | sed 's/},{/}\n{/g' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p'
}

# ---- the old repository ---------------------------------------------------------------------
"$G" --out "$W/src/g" --patients 30 --days 30 --seed 11 --extended -q || fail "mamori-gen failed"
mkdir -p "$W/src/big" && head -c 2097152 /dev/urandom >"$W/src/big/a.bin" || fail "no big file"
must init "$M" -q init --repo "$OLD" --user it-admin --kdf-passes 1 --kdf-memory 8 --allow-weak-secrets
for g in 1 2 3; do
    must "backup$g" "$M" -q backup --repo "$OLD" --name "gen-$g" "$W/src/g" "$W/src/big"
    "$G" advance --out "$W/src/g" --days 1 -q || fail "mamori-gen advance failed"
    head -c 65536 /dev/urandom >>"$W/src/big/a.bin"
done
gens "$OLD" >"$W/old.gens"
[ "$(wc -l <"$W/old.gens")" = 3 ] || fail "the old repository has not three generations"

# (exec: in the background the process killed is mamori itself, not a subshell)
rotate() {
    exec "$M" key rotate --repo "$OLD" --to "$NEW" --user new-admin --work "$WORK" \
        --kdf-passes 1 --kdf-memory 8 --allow-weak-secrets
}

# the window: half a whole rotation's time, measured on a throw-away copy
t0=$(now_ms)
NEW=$W/probe must probe bash -c "$(declare -f rotate); M='$M' OLD='$OLD' NEW='$W/probe' WORK='$WORK' rotate"
win=$((($(now_ms) - t0) / 2))
rm -rf "$W/probe"
[ "$win" -lt 50 ] && win=50
kills=0
for round in $(seq 1 "$ROUNDS"); do
    d=$((RANDOM % win + 1))
    (rotate >"$W/op.out" 2>"$W/op.err") &
    pid=$!
    sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
    if kill -9 "$pid" 2>/dev/null; then
        kills=$((kills + 1))
    fi
    wait "$pid" 2>/dev/null
    if MAMORI_PASSPHRASE=$MAMORI_NEW_PASSPHRASE "$M" -q generations --repo "$NEW" >/dev/null 2>&1; then
        MAMORI_PASSPHRASE=$MAMORI_NEW_PASSPHRASE must_be "verify$round" 0 \
            "$M" -q verify --repo "$NEW" --read-data
        MAMORI_PASSPHRASE=$MAMORI_NEW_PASSPHRASE gens "$NEW" >"$W/new.gens"
        head -n "$(wc -l <"$W/new.gens")" "$W/old.gens" | cmp -s - "$W/new.gens" ||
            { show "$W/old.gens" "$W/new.gens"; fail "round $round: the copies are not a prefix of the old generations"; }
    fi
    echo "rotate-kill: round $round: delay ${d} ms of ${win}, $(wc -l <"$W/new.gens" 2>/dev/null || echo 0) generations copied"
done
must final bash -c "$(declare -f rotate); M='$M' OLD='$OLD' NEW='$NEW' WORK='$WORK' rotate"
[ -e "$WORK" ] && fail "the work folder was left behind"
MAMORI_PASSPHRASE=$MAMORI_NEW_PASSPHRASE gens "$NEW" >"$W/new.gens"
cmp -s "$W/old.gens" "$W/new.gens" || { show "$W/old.gens" "$W/new.gens"; fail "the copies differ from the old generations"; }
paste <(gen_ids "$OLD") <(MAMORI_PASSPHRASE=$MAMORI_NEW_PASSPHRASE gen_ids "$NEW") >"$W/pairs"
n=0
while read -r o c; do
    n=$((n + 1))
    must "ro$n" "$M" -q restore --repo "$OLD" "$o" --to "$W/ro$n"
    MAMORI_PASSPHRASE=$MAMORI_NEW_PASSPHRASE must "rn$n" "$M" -q restore --repo "$NEW" "$c" --to "$W/rn$n"
    diff -r "$W/ro$n" "$W/rn$n" >/dev/null || fail "generation $n does not restore as the old one"
    [ "$o" != "$c" ] || fail "generation $n kept its ID"
    rm -rf "$W/ro$n" "$W/rn$n"
done <"$W/pairs"
[ "$n" = 3 ] || fail "not three pairs of generations"
echo "rotate-kill: ok ($kills kills in $ROUNDS rounds; three generations copied, byte for byte)"
