#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The S3 repository backend through the CLI, where a user meets it (issue 20): init, backup,
# restore (byte-exact), verify and prune with --repo s3://127.0.0.1:PORT/bucket/prefix on a
# bucket with Object Lock and on one without; an attacker holding the same credentials (signed
# requests straight to the store with curl) overwrites every pack, index and manifest, adds
# delete markers (on every key slot too) and tries to delete each version of them and of the
# key slots: every delete by version is refused, and
# restore and verify still succeed; a credentials file others can read is refused, the same
# file at 0600 is used. TAP on stdout.
#
# usage (under tests/s3/with-rgw.sh, which exports MAMORI_S3_*): test_repo_s3_cli.sh MAMORI MAMORI_GEN
set -u

M=$1 G=$2
n=0 failed=0
[ -n "${MAMORI_S3_ENDPOINT:-}" ] || {
    echo "1..0 # SKIP no S3 store (run under tests/s3/with-rgw.sh)"
    exit 0
}
W=$(mktemp -d "${TMPDIR:-/tmp}/mm-repo-s3-cli.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
export XDG_CACHE_HOME=$W/cache MAMORI_CACHE=$W/cache/mamori HOME=$W/home
export MAMORI_PASSPHRASE=s3-test-passphrase TZ=UTC
unset MAMORI_AUDIT_DIR MAMORI_S3_CREDENTIALS MAMORI_S3_LOCK_MODE MAMORI_S3_RETAIN_DAYS
mkdir -p "$HOME" "$XDG_CACHE_HOME"
EP=$MAMORI_S3_ENDPOINT
region=${MAMORI_S3_REGION:-us-east-1}

ok() {
    n=$((n + 1))
    echo "ok $n - $*"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $*"
    for f in "$W"/last.out "$W"/last.err; do [ -s "$f" ] && sed 's/^/# | /' "$f" | head -n 20; done
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
# A signed request to the store (the attacker's, and bucket creation): s3curl METHOD URL [curl args]
s3curl() {
    local method=$1 url=$2
    shift 2
    curl -sS --fail --max-time 60 -X "$method" --aws-sigv4 "aws:amz:$region:s3" \
        --user "$MAMORI_S3_ACCESS_KEY:$MAMORI_S3_SECRET_KEY" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" "$url"
}
# A fresh bucket named for test $1, with Object Lock when $2 is "lock"; its name in $B.
bucket() {
    B=mm-$1-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
    if [ "$2" = lock ]; then
        s3curl PUT "$EP/$B" -H 'x-amz-bucket-object-lock-enabled: true' >/dev/null
    else
        s3curl PUT "$EP/$B" >/dev/null
    fi || { echo "Bail out! cannot create bucket $B"; exit 1; }
}
url() {
    echo "s3://${EP#*://}/$1/$2"
}
mamori() {
    "$M" -q "$@"
}
# Every version under prefix $2 of bucket $1, one "key<TAB>version<TAB>dm" line each.
versions() {
    s3curl GET "$EP/$1?prefix=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$2")&versions=" |
        python3 -c '
import sys, xml.etree.ElementTree as ET
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
root = ET.fromstring(sys.stdin.read())
for el in root:
    tag = el.tag.replace(ns, "")
    if tag in ("Version", "DeleteMarker"):
        print("%s\t%s\t%d" % (el.find(ns + "Key").text, el.find(ns + "VersionId").text,
                              tag == "DeleteMarker"))'
}
# The attacker on bucket $1 prefix $2/: every version of every pack, index file and manifest
# deleted by version (then with the bypass header), garbage PUT over each, delete markers on
# every other one. Prints "refused=N deleted=N overwritten=N markers=N".
attack() {
    local b=$1 p=$2 key v dm refused=0 deleted=0 over=0 marks=0 i=0 q
    while IFS=$'\t' read -r key v dm; do
        [ "$dm" = 0 ] || continue
        slot=0
        case ${key#"$p"/} in data/* | index/* | generations/* | config | mamori-repo) ;; keys/*) slot=1 ;; *) continue ;; esac
        q=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$v")
        if s3curl DELETE "$EP/$b/$key?versionId=$q" >/dev/null 2>&1 ||
            s3curl DELETE "$EP/$b/$key?versionId=$q" -H 'x-amz-bypass-governance-retention: true' >/dev/null 2>&1; then
            deleted=$((deleted + 1))
        else
            refused=$((refused + 1))
        fi
        # (a key slot is rewritten by `key passwd`: its newest version is read, so garbage over
        # it would lock its user out — a denial of service whose older versions stay retained;
        # here the slots get deletes and delete markers only)
        [ "$slot" = 1 ] || { printf 'garbage' | s3curl PUT "$EP/$b/$key" --data-binary @- >/dev/null 2>&1 && over=$((over + 1)); }
        i=$((i + 1))
        if { [ "$slot" = 1 ] || [ $((i % 2)) = 1 ]; } && s3curl DELETE "$EP/$b/$key" >/dev/null 2>&1; then
            marks=$((marks + 1))
        fi
    done < <(versions "$b" "$p/")
    echo "refused=$refused deleted=$deleted overwritten=$over markers=$marks"
}

"$G" --out "$W/g" --patients 4 --days 6 --seed 20 -q || { echo "Bail out! mamori-gen"; exit 1; }
src=$W/g/standard
init_args=(--user it-admin --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets)

# ---- round trip on a bucket with Object Lock ----
bucket rt lock
R=$(url "$B" hosp-a)
RB=$B # the bucket of $R
check "init on s3 (lock bucket)" mamori init --repo "$R" "${init_args[@]}"
check "backup to s3" mamori backup --repo "$R" "$src"
check "restore from s3" mamori restore --repo "$R" latest --to "$W/out1"
check "restore is byte-exact" diff -r "$src" "$W/out1/standard"
check "verify --read-data on s3" mamori verify --repo "$R" --read-data
versions "$B" hosp-a/ >"$W/keys1"
has "the repository's files are keys under the prefix" "$W/keys1" '^hosp-a/data/[0-9a-f]{2}/[0-9a-f]{64}	'
has "a lock proof object was written" "$W/keys1" '^hosp-a/lockproof/[0-9a-f]{32}	'

# ---- an attacker with the same credentials ----
attack "$B" hosp-a >"$W/attack.out" 2>&1
has "attacker: every delete by version refused, none deleted" "$W/attack.out" \
    '^refused=[1-9][0-9]* deleted=0 overwritten=[1-9][0-9]* markers=[1-9][0-9]*$'
check "restore after the attack" mamori restore --repo "$R" latest --to "$W/out2"
check "restore after the attack is byte-exact" diff -r "$src" "$W/out2/standard"
check "verify --read-data after the attack" mamori verify --repo "$R" --read-data

# ---- prune deletes only what retention allows ----
check "second backup" mamori backup --repo "$R" "$src"
check "verify --read-data of the second (the newest verified is kept by every policy)" \
    mamori verify --repo "$R" --read-data
"$M" --lang en prune --repo "$R" --keep-last 1 >"$W/prune.out" 2>"$W/prune.err"
rc=$?
echo "# prune exit $rc: $(tr '\n' ' ' <"$W/prune.err" | cut -c1-300)"
if [ "$rc" = 0 ] && grep -q "kept because the store still retains them (Object Lock): 1 generations" "$W/prune.out"; then
    ok "prune: exit 0, the retained generation kept and reported"
else
    cp "$W/prune.err" "$W/last.err"
    cp "$W/prune.out" "$W/last.out"
    not_ok "prune: exit 0, the retained generation kept and reported (exit $rc)"
fi
mamori --json generations --repo "$R" >"$W/gens.json" 2>/dev/null
has "prune: both generations are still there (retained)" "$W/gens.json" '"id":"[0-9a-f]*".*"id":"[0-9a-f]*"'
check "verify --read-data after prune: no damage, no false alarm" mamori verify --repo "$R" --read-data
check "restore after prune" mamori restore --repo "$R" latest --to "$W/out3"
check "restore after prune is byte-exact" diff -r "$src" "$W/out3/standard"

# ---- a bucket without Object Lock works, without retention ----
bucket plain plain
P=$(url "$B" p)
check "plain bucket: init" mamori init --repo "$P" "${init_args[@]}"
check "plain bucket: backup" mamori backup --repo "$P" "$src"
check "plain bucket: restore" mamori restore --repo "$P" latest --to "$W/out4"
check "plain bucket: byte-exact" diff -r "$src" "$W/out4/standard"
versions "$B" p/ >"$W/keys2"
if grep -q lockproof "$W/keys2"; then not_ok "plain bucket: no lock proof object"; else
    ok "plain bucket: no lock proof object (no lock header sent)"; fi

# ---- connections cut mid-upload (the dropping proxy): retried, or the backup fails and the
# next one completes it ----
if [ -n "${MAMORI_S3_DROPPING:-}" ] && [ -n "${MAMORI_S3_DROPPING_CTL:-}" ]; then
    bucket drop lock
    D="s3://${MAMORI_S3_DROPPING#*://}/$B/d"
    check "dropping proxy: init" mamori init --repo "$D" "${init_args[@]}"
    echo "2 100 2" >"$MAMORI_S3_DROPPING_CTL"
    check "two uploads cut after 100 bytes: the backup retries them and succeeds" \
        mamori backup --repo "$D" "$src"
    rm -f "$MAMORI_S3_DROPPING_CTL"
    check "restore of that backup is byte-exact" \
        sh -c "'$M' -q restore --repo '$D' latest --to '$W/out7' && diff -r '$src' '$W/out7/standard'"
    D2="s3://${MAMORI_S3_DROPPING#*://}/$B/d2"
    check "dropping proxy: init of a second repository" mamori init --repo "$D2" "${init_args[@]}"
    echo "3 100 400" >"$MAMORI_S3_DROPPING_CTL" # the lock and the proof pass, then every upload
    run_cut() { ! mamori backup --repo "$D2" "$src"; }
    check "every upload cut: the backup fails (nothing reported stored)" run_cut
    rm -f "$MAMORI_S3_DROPPING_CTL"
    check "the next backup completes it" mamori backup --repo "$D2" "$src"
    check "restore after the cut backup is byte-exact" \
        sh -c "'$M' -q restore --repo '$D2' latest --to '$W/out8' && diff -r '$src' '$W/out8/standard'"
fi

# ---- a lock left by a killed process of this machine is stale; another machine's blocks ----
if [ -r /etc/machine-id ] && grep -Eq '^[0-9a-f]{32}$' /etc/machine-id; then
    sh -c 'exit 0' &
    dead=$!
    wait "$dead"
    put_lock() { # put_lock MACHINE: an exclusive lock of this host's dead process; prints its key
        local k
        k=hosp-a/locks/$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
        printf 'mamori-lock 1\nkind exclusive\nhost %s\npid %s\nstart %s\nop backup\nmachine %s\n' \
            "$(hostname | tr -c '\041-\176\n' _)" "$dead" "$(date +%s)" "$1" |
            s3curl PUT "$EP/$RB/$k" --data-binary @- >/dev/null && echo "$k"
    }
    k=$(put_lock "$(cat /etc/machine-id)")
    check "a killed backup's lock (this machine, process gone) is stale: the next backup runs" \
        mamori backup --repo "$R" "$src"
    if [ -n "$(versions "$RB" "$k" | awk -F'\t' '$3 == 0')" ] &&
        s3curl HEAD "$EP/$RB/$k" >/dev/null 2>&1; then
        not_ok "the stale lock is gone"
    else
        ok "the stale lock is gone"
    fi
    k=$(put_lock 0123456789abcdef0123456789abcdef)
    "$M" --lang en backup --repo "$R" "$src" >"$W/other.out" 2>&1
    echo "exit=$?" >>"$W/other.out"
    has "a lock of another machine with the same host name blocks (named), never judged stale" \
        "$W/other.out" 'exit=[1-9]'
    while IFS=$'\t' read -r key v dm; do # a person removes it with the store's tools
        s3curl DELETE "$EP/$RB/$key?versionId=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$v")" >/dev/null 2>&1
    done < <(versions "$RB" "$k")
    check "after a person removed it, the backup runs" mamori backup --repo "$R" "$src"
else
    echo "# no /etc/machine-id: the S3 lock staleness checks need one (systemd's machine ID)"
    not_ok "this machine has a machine ID (/etc/machine-id)"
fi

# ---- a backup extends the retention of what earlier generations stored ----
bucket ext lock
X=$(url "$B" ext)
check "retention: init" mamori init --repo "$X" "${init_args[@]}"
check "retention: a first backup retained 1 day" env MAMORI_S3_RETAIN_DAYS=1 "$M" -q backup --repo "$X" "$src"
first_pack=$(versions "$B" ext/data/ | head -n 1)
touch "$src/retention-extended-$$" 2>/dev/null || true
check "retention: a second backup retained 8 days" env MAMORI_S3_RETAIN_DAYS=8 "$M" -q backup --repo "$X" "$src"
rm -f "$src/retention-extended-$$"
key=${first_pack%%$'\t'*}
v=${first_pack#*$'\t'}
v=${v%%$'\t'*}
q=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$v")
until=$(s3curl GET "$EP/$B/$key?retention=&versionId=$q" | sed -n 's/.*<RetainUntilDate>\([^<]*\)<.*/\1/p')
echo "# first pack $key retained until $until"
if [ -n "$until" ] && [ "$(date -u -d "$until" +%s)" -gt "$(($(date -u +%s) + 7 * 86400))" ]; then
    ok "retention: the first backup's pack now outlives the second generation (8 days)"
else
    not_ok "retention: the first backup's pack now outlives the second generation ($until)"
fi

# ---- credentials file refused unless 0600 ----
(
    mkdir -p "$HOME/.config/mamori"
    printf 'access_key = %s\nsecret_key = %s\n' "$MAMORI_S3_ACCESS_KEY" "$MAMORI_S3_SECRET_KEY" \
        >"$HOME/.config/mamori/s3-credentials"
    unset MAMORI_S3_ACCESS_KEY MAMORI_S3_SECRET_KEY
    chmod 644 "$HOME/.config/mamori/s3-credentials"
    mamori restore --repo "$R" latest --to "$W/out5" >"$W/cred1.out" 2>&1
    echo "exit=$?" >>"$W/cred1.out"
    chmod 600 "$HOME/.config/mamori/s3-credentials"
    mamori restore --repo "$R" latest --to "$W/out6" >"$W/cred2.out" 2>&1
    echo "exit=$?" >>"$W/cred2.out"
)
has "a credentials file others can read is refused" "$W/cred1.out" "can be read by others .*chmod 600"
if grep -qF "$MAMORI_S3_SECRET_KEY" "$W/cred1.out"; then not_ok "no secret in the message"; else
    ok "no secret in the message"; fi
has "the same file with mode 0600 is used" "$W/cred2.out" '^exit=0$'

echo "1..$n"
[ "$failed" = 0 ]
