#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Crash test of the repository: every file mamori writes is meant to be crash safe (temporary
# name, fsync, rename), so a backup or prune killed at any moment must never harm a
# generation that was already written. The test generates a small SS-MIX2 storage (standard
# and extended) plus a folder of two 3 MB random files, makes one clean generation (G1),
# then runs CRASH_ROUNDS rounds (12 by default). Each round changes the source (even rounds:
# `mamori-gen advance --days 1`; odd rounds: random bytes appended to a big file), starts
# `mamori backup` in the background and SIGKILLs it after a random delay; every third round
# does the same to `mamori prune --keep-last 2`. After the kills:
#   - `mamori audit verify` of the medium's and the host's audit log exits 0 (a torn last
#     record is reported, not counted as tampering);
#   - `mamori verify --read-data` exits 0 (the killed process's lock is stale: it must not
#     block verify);
#   - every generation `mamori generations --json` lists restores, byte for byte, with the
#     same names, mtimes and modes as a copy (`cp -a`) of the source taken when that
#     generation was made (G1 included as long as a prune has not removed it);
#   - a generation disappears only through prune, and never one of the two newest;
#   - a killed backup that left its lock (a kill before the lock or after its removal leaves
#     none) is recorded: the first backup after it that finishes (or a prune) has written an
#     `interrupted` event with its process ID to the medium's and the host's audit log
#     (issue 17.10), and no marker of it is left in locks/interrupted/.
# Finally an uninterrupted backup must succeed and restore equal to the current source.
#
# The delays come from $RANDOM, seeded from CRASH_SEED or the clock and printed, so a run
# can be replayed (timing still differs). Each delay is at most 1.5 s; since a backup here
# takes only tens of milliseconds, the window of each kind of operation adapts: it starts
# at half the duration of G1's backup, shrinks to 3/4 of the time after which a run was
# found finished, and grows by a quarter after each kill, so many kills land inside a run.
# The work folder (about 100 MB) is under CRASH_TMPDIR, else /dev/shm when it has 1 GB free,
# else TMPDIR or /tmp. CRASH_KEEP=1 keeps it.
#
# usage: crash-test.sh [<mamori> <mamori-gen>]   (default: $MAMORI and $MAMORI_GEN)
set -u

NAME=crash-test
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"
crash_binaries "$@"
ROUNDS=${CRASH_ROUNDS:-12}
SEED=${CRASH_SEED:-$(($(date +%s) % 32768))}
RANDOM=$SEED

# Work in memory when possible: a SIGKILL loses nothing the kernel already has, so a tmpfs
# tests the same thing as a disk, several times faster (restore and cp -a dominate).
tmp=${CRASH_TMPDIR:-}
if [ -z "$tmp" ]; then
    tmp=${TMPDIR:-/tmp}
    if [ -d /dev/shm ] && [ -w /dev/shm ] &&
        [ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')" -gt 1048576 ] 2>/dev/null; then
        tmp=/dev/shm
    fi
fi
W=$(mktemp -d "$tmp/mm-crash-XXXXXX") || exit 1
cleanup() {
    if [ "${CRASH_KEEP:-}" = 1 ]; then
        echo "crash-test: work folder kept: $W"
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT

unset MAMORI_LANG LANGUAGE LC_MESSAGES MAMORI_CACHE
export LANG=C.UTF-8 LC_ALL=C.UTF-8
export MAMORI_PASSPHRASE=crash-test-passphrase
export XDG_CACHE_HOME=$W/cache
export MAMORI_AUDIT_DIR=$W/audit-host
R=$W/repo
SRC=("$W/src/g/standard" "$W/src/g/extended" "$W/src/big")

echo "crash-test: seed $SEED (replay with CRASH_SEED=$SEED), $ROUNDS rounds, work $W"

fail_more() {
    echo "crash-test: replay with CRASH_SEED=$SEED CRASH_ROUNDS=$ROUNDS" >&2
}

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# IDS: the generation IDs, oldest first, one a line.
gen_ids() {
    local rc
    "$M" generations --repo "$R" --json >"$W/gens.json" 2>"$W/gens.err"
    rc=$?
    [ "$rc" = 0 ] || { show "$W/gens.err"; fail "mamori generations exited $rc"; }
    IDS=$(grep -o '"id":"[0-9a-f]*"' "$W/gens.json" | cut -d'"' -f4)
}

# Keep a copy of the source as generation $1 saw it.
snapshot() {
    mkdir -p "$W/snap/$1" && cp -a "${SRC[@]}" "$W/snap/$1/" || fail "cannot copy the source"
}

# Names, mtimes (ns) and modes below folder $1.
listing() {
    (cd "$1" && find . -mindepth 1 -printf '%p %T@ %m\n' | LC_ALL=C sort)
}

# Restore generation $1 and compare it with folder $2.
check_restore() {
    local id=$1 want=$2 out=$W/restore
    rm -rf "$out"
    if ! "$M" -q restore --repo "$R" "$id" --to "$out" >"$W/restore.out" 2>"$W/restore.err"; then
        show "$W/restore.out" "$W/restore.err"
        fail "restore of generation ${id:0:12} failed"
    fi
    if ! diff -r "$want" "$out" >"$W/diff.out" 2>&1; then
        head -20 "$W/diff.out" >&2
        fail "generation ${id:0:12} does not restore to its source"
    fi
    listing "$want" >"$W/list.want"
    listing "$out" >"$W/list.got"
    if ! diff "$W/list.want" "$W/list.got" >"$W/diff.out"; then
        head -20 "$W/diff.out" >&2
        fail "generation ${id:0:12}: names, mtimes or modes differ from its source"
    fi
    rm -rf "$out"
}

# Windows (ms) of the random kill delay, per kind of operation.
declare -A WIN
KILLED=0
FINISHED=0

# run_killed <kind> <command...>: start it, kill -9 it after a random delay, wait for it.
# Sets STATUS to a short text for the round's line.
run_killed() {
    local kind=$1 win d t0 t1 pid rc
    shift
    win=${WIN[$kind]}
    d=$((RANDOM % (win + 1)))
    t0=$(now_ms)
    "$@" >"$W/op.out" 2>"$W/op.err" &
    pid=$!
    LASTPID=$pid
    sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
    t1=$(now_ms) # later than t0 + d when the machine is busy: the line shows both
    { # (bash's "Killed" job notice goes to the redirected stderr)
        kill -9 "$pid"
        wait "$pid"
    } 2>/dev/null
    rc=$?
    LASTRC=$rc
    if [ "$rc" = 137 ]; then
        KILLED=$((KILLED + 1))
        STATUS="$kind killed after $((t1 - t0)) ms (delay $d of window $win)"
        win=$((win + win / 4 + 1))
        [ "$win" -gt 1500 ] && win=1500
    elif [ "$rc" = 0 ]; then
        FINISHED=$((FINISHED + 1))
        STATUS="$kind finished before its kill after $((t1 - t0)) ms (delay $d of window $win)"
        win=$(((t1 - t0) * 3 / 4)) # it took less than t1 - t0
        [ "$win" -lt 10 ] && win=10
        [ "$win" -gt 1500 ] && win=1500
    else
        show "$W/op.out" "$W/op.err"
        fail "$kind exited $rc before it was killed (delay ${d} ms)"
    fi
    WIN[$kind]=$win
}

# Killed backups whose lock was left, not yet found in the audit logs (their process IDs).
PENDING=""
RECORDED=0

# After a backup was killed: note it when its lock is left (the process ID is in the lock).
note_left_lock() {
    local f
    for f in "$R"/locks/*; do
        [ -f "$f" ] && grep -qx "pid $LASTPID" "$f" 2>/dev/null && PENDING="$PENDING $LASTPID"
    done
    return 0
}

# check_interrupted <must>: drop from PENDING every process whose `interrupted` event is in
# both audit logs; with <must> = 1 (a backup or prune finished since) none may be left.
check_interrupted() {
    local must=$1 left="" p where
    [ -n "$PENDING" ] || return 0
    for where in "" --host; do
        "$M" audit show --repo "$R" $where --kind interrupted --json >"$W/int$where.out" \
            2>"$W/int.err" || { show "$W/int.err"; fail "audit show --kind interrupted $where failed"; }
    done
    for p in $PENDING; do
        if grep -q "\"pid\":\"$p\"" "$W/int.out" && grep -q "\"pid\":\"$p\"" "$W/int--host.out"; then
            RECORDED=$((RECORDED + 1))
        else
            left="$left $p"
        fi
    done
    PENDING=$left
    if [ "$must" = 1 ] && [ -n "$PENDING" ]; then
        show "$W/int.out" "$W/op.err"
        fail "the killed backup(s)$PENDING left a lock, but no interrupted event is in the audit logs"
    fi
    return 0
}

# ---- the source and G1 ---------------------------------------------------------------------
"$G" --out "$W/src/g" --patients 60 --days 60 --seed 7 --extended -q ||
    fail "mamori-gen failed"
mkdir -p "$W/src/big" &&
    head -c 3145728 /dev/urandom >"$W/src/big/a.bin" &&
    head -c 3145728 /dev/urandom >"$W/src/big/b.bin" || fail "cannot write the big files"

"$M" -q init --repo "$R" --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets >"$W/op.out" 2>"$W/op.err" ||
    { show "$W/op.out" "$W/op.err"; fail "mamori init failed"; }
t0=$(now_ms)
# G1 trains the repository's compression dictionary (from 200 messages: the storage is small),
# so the killed backups below write objects compressed with it
MAMORI_DICT_SAMPLES=200 "$M" -q backup --repo "$R" "${SRC[@]}" >"$W/op.out" 2>"$W/op.err" ||
    { show "$W/op.out" "$W/op.err"; fail "the first backup failed"; }
[ "$(find "$R/dict" -type f | wc -l)" = 2 ] || fail "the first backup trained no dictionary"
t1=$(now_ms)
gen_ids
G1=$IDS
[ "$(echo "$G1" | wc -l)" = 1 ] || fail "expected one generation after the first backup"
snapshot "$G1"
check_restore "$G1" "$W/snap/$G1"
w=$(((t1 - t0) / 2)) # later backups read less
[ "$w" -lt 50 ] && w=50
[ "$w" -gt 1500 ] && w=1500
WIN[backup-day]=$w
WIN[backup-append]=$w
WIN[prune]=$w
echo "G1 ${G1:0:12}: backup took $((t1 - t0)) ms, restores equal to the source"

# ---- rounds ----------------------------------------------------------------------------------
start=$(now_ms)
known=$G1
for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 0 ]; then
        "$G" advance --out "$W/src/g" --days 1 -q || fail "mamori-gen advance failed"
        what="advance 1 day"
        kind=backup-day
    else
        f=$W/src/big/a.bin
        [ $((round % 4)) = 3 ] && f=$W/src/big/b.bin
        n=$(((RANDOM % 64 + 1) * 4096))
        head -c "$n" /dev/urandom >>"$f" || fail "cannot append to $f"
        what="append $n bytes to $(basename "$f")"
        kind=backup-append
    fi
    gen_ids
    before=$IDS
    run_killed "$kind" "$M" -q backup --repo "$R" "${SRC[@]}"
    line="round $round: $what; $STATUS"
    if [ "$LASTRC" = 137 ]; then
        check_interrupted 0 # (this backup may have recorded earlier ones before its kill)
        note_left_lock
    else
        check_interrupted 1
    fi
    pruned=0
    if [ $((round % 3)) = 0 ]; then
        gen_ids
        newest2=$(echo "$IDS" | tail -n 2)
        run_killed prune "$M" -q prune --repo "$R" --keep-last 2
        line="$line; $STATUS"
        pruned=1
        check_interrupted "$([ "$LASTRC" = 0 ] && echo 1 || echo 0)"
    fi

    # the audit logs (medium and host) still verify: a kill during an append leaves at most
    # a torn last record, which is not tampering and is cut by the next append
    for where in "" --host; do
        "$M" --lang en audit verify --repo "$R" $where >"$W/audit.out" 2>"$W/audit.err"
        rc=$?
        if [ "$rc" != 0 ]; then
            show "$W/audit.out" "$W/audit.err"
            fail "round $round: audit verify $where exited $rc after the kill"
        fi
        grep -q 'interrupted append' "$W/audit.err" && line="$line; torn audit record"
    done

    # verify must run despite the stale lock of the killed process, and find no damage
    "$M" verify --repo "$R" --read-data >"$W/verify.out" 2>"$W/verify.err"
    rc=$?
    if [ "$rc" != 0 ]; then
        show "$W/verify.out" "$W/verify.err"
        fail "round $round: verify --read-data exited $rc after the kill"
    fi

    gen_ids
    ids=$IDS
    stale=$(find "$R/locks" -maxdepth 1 -type f -name '????????????????????????????????????????????????????????????????' | wc -l)
    [ "$stale" = 0 ] || fail "round $round: $stale locks left after verify (the killed process's is stale)"
    new=0
    for id in $ids; do
        if [ ! -d "$W/snap/$id" ]; then
            echo "$before" | grep -qx "$id" && fail "round $round: generation ${id:0:12} has no copy"
            new=$((new + 1))
            snapshot "$id" # the source has not changed since this round's backup started
        fi
    done
    [ "$new" -le 1 ] || fail "round $round: $new new generations from one backup"
    for id in $known; do
        if ! echo "$ids" | grep -qx "$id"; then
            [ "$pruned" = 1 ] || fail "round $round: generation ${id:0:12} vanished without a prune"
            echo "$newest2" | grep -qx "$id" &&
                fail "round $round: prune removed generation ${id:0:12}, one of the two newest"
            rm -rf "${W:?}/snap/$id"
        fi
    done
    for id in $ids; do
        check_restore "$id" "$W/snap/$id"
    done
    g1="G1 pruned"
    echo "$ids" | grep -qx "$G1" && g1="G1 equal"
    known=$ids
    echo "$line; $(echo "$ids" | wc -l) generations verify and restore ($g1, $new new)"
done

# ---- a normal backup at the end ------------------------------------------------------------
"$M" backup --repo "$R" "${SRC[@]}" >"$W/op.out" 2>"$W/op.err" ||
    { show "$W/op.out" "$W/op.err"; fail "the final backup failed"; }
check_interrupted 1
markers=$(find "$R/locks" -mindepth 2 -type f | wc -l)
[ "$markers" = 0 ] || fail "$markers interruption markers left after the final backup"
mkdir -p "$W/now" && cp -a "${SRC[@]}" "$W/now/" || fail "cannot copy the source"
check_restore latest "$W/now"
"$M" -q prune --repo "$R" --keep-last 2 >"$W/op.out" 2>"$W/op.err" ||
    { show "$W/op.out" "$W/op.err"; fail "the final prune failed"; }
"$M" verify --repo "$R" --read-data >"$W/verify.out" 2>"$W/verify.err" ||
    { show "$W/verify.out" "$W/verify.err"; fail "the final verify failed"; }
check_restore latest "$W/now"
for where in "" --host; do
    "$M" audit verify --repo "$R" $where >"$W/audit.out" 2>"$W/audit.err" ||
        { show "$W/audit.out" "$W/audit.err"; fail "the final audit verify $where failed"; }
done
leftover=$(find "$R" -name '*.tmp.*' | wc -l)
echo "final: backup, restore, prune and verify ok; $KILLED runs killed, $FINISHED finished" \
    "before their kill; $RECORDED killed backups recorded as interrupted; $leftover temporary" \
    "files left by the kills; $(($(now_ms) - start)) ms"
exit 0
