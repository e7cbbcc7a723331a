# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2034
#
# Sourced by the guard suite's scripts (tests/guard/*.sh) after tests/crash/lib.sh (run, must,
# must_be, fail, skip). The script sets NAME and W. Helpers for a generated hospital:
#   $W/src/ss/{standard,extended}   a mamori-gen storage (seed 18, GUARD_PATIENTS patients)
#   $W/src/dept/{billing,pacs}      the department folders of dept.py
#   $W/repo, $W/cache               a repository and its cache folder (the guard's history)
# Nothing here prints a path of the storage (they carry patient IDs).

HERE=$(cd "$(dirname "$0")" && pwd)
RANSIM=$HERE/ransim.py
DEPT=$HERE/dept.py
GJ=$HERE/gj.py
PY=${PYTHON:-python3}
GUARD_PATIENTS=${GUARD_PATIENTS:-120}
GUARD_SEED=${GUARD_SEED:-18}
PASS=guard-test-passphrase

guard_env() {
    unset MAMORI_LANG LANGUAGE LC_MESSAGES
    export LANG=C.UTF-8 LC_ALL=C.UTF-8
    # the host's audit folder holds the copy of each repository's head (rollback detection):
    # every copy of a repository gets its own (copy_base)
    export MAMORI_PASSPHRASE=$PASS MAMORI_VIEWER_COPY=0 MAMORI_AUDIT_DIR=$W/base/audit
    export XDG_STATE_HOME=$W/xdg-state
    command -v "$PY" >/dev/null || skip "needs python3"
}

# sources_of <folder>: SRCS = the four sources of the hospital below it, as `backup` arguments.
sources_of() {
    SRCS=("$1/ss/standard" "$1/ss/extended" "$1/dept/billing" "$1/dept/pacs")
}

# make_hospital <folder> <days>: a storage of <days> days and the department folders' day 0.
make_hospital() {
    "$G" --out "$1/ss" --patients "$GUARD_PATIENTS" --days "$2" --seed "$GUARD_SEED" --extended -q ||
        fail "mamori-gen failed"
    "$PY" "$DEPT" init --out "$1/dept" --seed "$GUARD_SEED" || fail "dept.py init failed"
}

DEPT_DAY=0
# advance_hospital <folder> [days]: the next night(s) of the storage and the department folders.
advance_hospital() {
    local n=${2:-1} i
    "$G" advance --out "$1/ss" --days "$n" -q || fail "mamori-gen advance failed"
    for ((i = 0; i < n; i++)); do
        DEPT_DAY=$((DEPT_DAY + 1))
        "$PY" "$DEPT" advance --out "$1/dept" --day "$DEPT_DAY" --seed "$GUARD_SEED" ||
            fail "dept.py advance failed"
    done
}

init_repo() { # init_repo <repo>
    must_be init 0 "$M" -q init --repo "$1" --kdf-passes 1 --kdf-memory 8 --allow-weak-secrets
}

# backup_into <name> <want exit> <repo> <cache> <src folder> [extra args]: one `mamori backup`
# (its answer in W/<name>.out as JSON) of the hospital's four sources.
backup_into() {
    local name=$1 want=$2 repo=$3 cache=$4 src=$5
    shift 5
    sources_of "$src"
    must_be "$name" "$want" "$M" --lang en backup --json --repo "$repo" --cache "$cache" "$@" "${SRCS[@]}"
}

# list_gens <repo>: `generations --json` into W/gens.out; it exits 0, or 4 while a suspect
# generation stands. Prints "error" (and the reason on stderr) otherwise.
list_gens() {
    run gens "$M" generations --repo "$1" --json
    [ "$RC" = 0 ] || [ "$RC" = 4 ] || { show "$W/gens.err"; echo error; return 1; }
}

# newest_guard <repo>: "<id> <verdict> <reason codes>" of the newest generation.
newest_guard() {
    list_gens "$1" || return 1
    "$PY" "$GJ" newest "$W/gens.out"
}

# gen_guard <repo> <n>: the same for the n-th newest (0 = newest).
gen_guard() {
    list_gens "$1" || return 1
    "$PY" "$GJ" gen "$W/gens.out" "$2"
}

# base_hospital <days before> <normal nights>: $W/base/{src,repo,cache} backed up on day 0 and
# after each normal night, every generation clean; $W/base/clean = a copy of the sources as
# the last generation holds them (for byte-exact restores).
base_hospital() {
    local d
    mkdir -p "$W/base" || fail "cannot make the base folder"
    make_hospital "$W/base/src" "$1"
    init_repo "$W/base/repo"
    backup_into base-0 0 "$W/base/repo" "$W/base/cache" "$W/base/src"
    for ((d = 1; d <= $2; d++)); do
        advance_hospital "$W/base/src"
        backup_into "base-$d" 0 "$W/base/repo" "$W/base/cache" "$W/base/src"
        read -r _ v _ <<<"$(newest_guard "$W/base/repo")"
        [ "$v" = clean ] || { show "$W/base-$d.out"; fail "normal night $d of the base: guard '$v', not clean"; }
    done
    cp -a "$W/base/src" "$W/base/clean" || fail "cannot copy the base sources"
}

# copy_base <case folder>: a fresh copy of the base (sources, repository, cache, the host's
# audit folder), which the commands use from now on.
copy_base() {
    rm -rf "$1"
    mkdir -p "$1" || fail "cannot make '$1'"
    cp -a "$W/base/src" "$W/base/repo" "$W/base/cache" "$W/base/audit" "$1/" || fail "cannot copy the base"
    export MAMORI_AUDIT_DIR=$1/audit
}

# restore_exact <repo> <generation> <clean copy>: the generation restores byte for byte.
restore_exact() {
    rm -rf "$W/restored"
    must restore "$M" --lang en restore --repo "$1" "$2" --to "$W/restored"
    local s
    for s in standard extended; do
        diff -r "$3/ss/$s" "$W/restored/$s" >/dev/null || fail "restored $s differs from its copy"
    done
    for s in billing pacs; do
        diff -r "$3/dept/$s" "$W/restored/$s" >/dev/null || fail "restored $s differs from its copy"
    done
    rm -rf "$W/restored"
}
