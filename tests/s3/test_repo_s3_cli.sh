#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The S3 repository backend against a real Ceph RGW (issue 20), through the CLI where a user
# meets it (init, backup, restore, verify, prune with --repo s3://127.0.0.1:PORT/bucket/prefix)
# and through test_repo_s3_tool for the attacker (same credentials, mm_s3 straight on the
# bucket) and the backend's proof, extension and remove. TAP on stdout.
#
# usage: test_repo_s3.sh MAMORI MAMORI_GEN TOOL RGW_SH
# The RGW comes from `RGW_SH start` in a fresh folder (stopped and removed at exit); with
# MAMORI_S3_ENDPOINT (+ keys) already set, that store is used instead (rgw.sh makes buckets).
# Each test makes its own bucket mm-<test>-<random>, so tests never share state.
set -u

M=$1 G=$2 T=$3 RGW=$4
n=0 failed=0
W=$(mktemp -d "${TMPDIR:-/tmp}/mm-repo-s3.XXXXXX") || exit 1
export XDG_CACHE_HOME=$W/cache MAMORI_CACHE=$W/cache/mamori HOME=$W/home
export MAMORI_PASSPHRASE=s3-test-passphrase TZ=UTC
unset MAMORI_AUDIT_DIR MAMORI_S3_CREDENTIALS MAMORI_S3_LOCK_MODE MAMORI_S3_RETAIN_DAYS
mkdir -p "$HOME" "$XDG_CACHE_HOME"

cleanup() {
    [ -n "${started:-}" ] && RGW_QUIET=1 bash "$RGW" stop "$W/rgw" >/dev/null 2>&1
    rm -rf "$W"
}
trap cleanup EXIT

ok() {
    n=$((n + 1))
    echo "ok $n - $*"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $*"
    for f in "$W"/last.out "$W"/last.err; do [ -s "$f" ] && sed 's/^/# | /' "$f"; done
}
# check <description> <command...>: ok when the command exits 0.
check() {
    local d=$1
    shift
    if "$@" >"$W/last.out" 2>"$W/last.err"; then ok "$d"; else not_ok "$d"; fi
}
# has <description> <file> <extended regex>: ok when the file has a matching line.
has() {
    if grep -Eq -- "$3" "$2"; then ok "$1"; else
        cp "$2" "$W/last.out"
        : >"$W/last.err"
        not_ok "$1 (no /$3/)"
    fi
}
rand() {
    od -An -N4 -tx1 /dev/urandom | tr -d ' \n'
}
# A fresh bucket named for test $1 (lock|plain $2); its name in $B.
bucket() {
    B=mm-$1-$(rand)
    "$T" mkbucket "$B" "$2" || { echo "Bail out! cannot create bucket $B"; exit 1; }
}
url() {
    echo "s3://${MAMORI_S3_ENDPOINT#http://}/$1/$2"
}
mamori() {
    "$M" -q "$@"
}

if [ -z "${MAMORI_S3_ENDPOINT:-}" ]; then
    env_lines=$(bash "$RGW" start "$W/rgw" 2>"$W/rgw-start.err") ||
        { echo "1..0 # SKIP no RGW: $(tail -n 1 "$W/rgw-start.err")"; exit 0; }
    started=1
    eval "$env_lines"
else
    eval "$(bash "$RGW" start "$W/rgw")" || { echo "Bail out! rgw.sh start failed"; exit 1; }
fi

"$G" --out "$W/g" --patients 4 --days 6 --seed 20 -q || { echo "Bail out! mamori-gen"; exit 1; }
src=$W/g/standard
init_args=(--user it-admin --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets)

# ---- round trip on a bucket with Object Lock ----
bucket rt lock
R=$(url "$B" hosp-a)
check "init on s3 (lock bucket)" mamori init --repo "$R" "${init_args[@]}"
check "backup to s3" mamori backup --repo "$R" "$src"
check "restore from s3" mamori restore --repo "$R" latest --to "$W/out1"
check "restore is byte-exact" diff -r "$src" "$W/out1/$(basename "$src")"
check "verify --read-data on s3" mamori verify --repo "$R" --read-data
"$T" proof "$R" >"$W/proof.out" 2>&1
has "lock proof passes on a lock bucket" "$W/proof.out" '^immutable=1 mode=COMPLIANCE days=30 '
key=$("$T" keys "$B" hosp-a/data/ 2>/dev/null | head -n 1)
"$T" retention "$B" "$key" >"$W/ret.out" 2>&1
has "a pack is retained COMPLIANCE ~30 days" "$W/ret.out" '^mode=COMPLIANCE days_left=(29|30) '
has "bypass header cannot shorten or delete a COMPLIANCE retention" "$W/ret.out" \
    'shorten=refused shorten_bypass=refused delete_bypass=refused$'

# ---- retention extended ----
"$T" extend "$R" 45 >"$W/ext.out" 2>&1
has "retention extended to 45 days (none failed)" "$W/ext.out" '^err=0 checked=[1-9][0-9]* extended=[1-9][0-9]* failed=0$'
"$T" retention "$B" "$key" >"$W/ret2.out" 2>&1
has "the pack's retention now ends after 45 days" "$W/ret2.out" '^mode=COMPLIANCE days_left=(4[5-9]|5[0-9]) '
"$T" extend "$R" 40 >"$W/ext2.out" 2>&1
has "an extension to a shorter date changes nothing" "$W/ext2.out" '^err=0 checked=[1-9][0-9]* extended=0 failed=0$'
"$T" remove "$R" "${key#hosp-a/}" >"$W/rm.out" 2>&1
has "remove of a retained pack is refused with its date" "$W/rm.out" \
    '^remove=refused message=.* is retained until 20[0-9-]+T'

# ---- an attacker with the same credentials ----
"$T" attack "$B" hosp-a/ >"$W/attack.out" 2>&1
has "attacker: every delete by version refused, none deleted" "$W/attack.out" \
    '^refused=[1-9][0-9]* deleted=0 other=0 overwritten=[1-9][0-9]* markers=[1-9][0-9]*$'
check "restore after the attack" mamori restore --repo "$R" latest --to "$W/out2"
check "restore after the attack is byte-exact" diff -r "$src" "$W/out2/$(basename "$src")"
check "verify --read-data after the attack" mamori verify --repo "$R" --read-data

# ---- prune deletes only what retention allows ----
check "second backup" mamori backup --repo "$R" "$src"
mamori prune --repo "$R" --keep-last 1 >"$W/prune.out" 2>"$W/prune.err"
echo "# prune exit $?: $(tr '\n' ' ' <"$W/prune.err" | cut -c1-200)"
check "restore after prune" mamori restore --repo "$R" latest --to "$W/out3"
check "restore after prune is byte-exact" diff -r "$src" "$W/out3/$(basename "$src")"

# ---- a bucket without lock: not immutable, no lock header ever sent ----
bucket plain plain
P=$(url "$B" p)
"$T" proof "$P" >"$W/pproof.out" 2>&1
has "plain bucket: not immutable, says why" "$W/pproof.out" \
    '^immutable=0 mode=- days=0 why=the bucket has no Object Lock$'
"$T" write "$P" data/00/probe 10 >"$W/pwrite.out" 2>&1
has "plain bucket: writes and extension send no lock request" "$W/pwrite.out" \
    '^err=0 immutable=0 .* lock_requests=0$'
check "plain bucket: init" mamori init --repo "$P" "${init_args[@]}"
check "plain bucket: backup" mamori backup --repo "$P" "$src"
check "plain bucket: restore" mamori restore --repo "$P" latest --to "$W/out4"
check "plain bucket: byte-exact" diff -r "$src" "$W/out4/$(basename "$src")"

# ---- the lying proxy: claims Object Lock, keeps none ----
if [ -n "${MAMORI_S3_LYING:-}" ]; then
    bucket lying lock
    L="s3://${MAMORI_S3_LYING#http://}/$B/l"
    "$T" proof "$L" >"$W/lproof.out" 2>&1
    has "lying proxy: not immutable (a locked test object could be deleted)" "$W/lproof.out" \
        '^immutable=0 mode=- days=0 why=the store accepted a retention it did not keep: a locked test object could be deleted$'
    "$T" write "$L" data/00/probe 10 >"$W/lwrite.out" 2>&1
    has "lying proxy: no lock header or retention request after the proof" "$W/lwrite.out" \
        '^err=0 immutable=0 .* lock_requests=0$'
fi

# ---- credentials file refused unless 0600 ----
(
    unset MAMORI_S3_ACCESS_KEY MAMORI_S3_SECRET_KEY
    mkdir -p "$HOME/.config/mamori"
    printf 'access_key = %s\nsecret_key = %s\n' "${MAMORI_S3_ACCESS_KEY}" "${MAMORI_S3_SECRET_KEY}" \
        >"$HOME/.config/mamori/s3-credentials"
    chmod 644 "$HOME/.config/mamori/s3-credentials"
    mamori verify --repo "$R" >"$W/cred1.out" 2>&1
    echo "exit=$?" >>"$W/cred1.out"
    chmod 600 "$HOME/.config/mamori/s3-credentials"
    mamori verify --repo "$R" >"$W/cred2.out" 2>&1
    echo "exit=$?" >>"$W/cred2.out"
)
has "a credentials file others can read is refused" "$W/cred1.out" 'chmod 600'
if grep -q "$MAMORI_S3_SECRET_KEY" "$W/cred1.out"; then not_ok "no secret in the message"; else ok "no secret in the message"; fi
has "the same file with mode 0600 is used" "$W/cred2.out" '^exit=0$'

echo "1..$n"
[ "$failed" = 0 ]
