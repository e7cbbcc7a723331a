#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# `mamori run` writes the day's medium AND the S3 vault in the same cycle (issue 20), against
# the S3 store the harness started (tests/s3/rgw.sh: MAMORI_S3_ENDPOINT, keys):
#  - the vault gets the very generation the medium got (same ID), under <url>/<repository ID>,
#    is proven immutable (Object Lock), and a restore from the vault is byte-exact;
#  - `mamori status` shows the medium and the vault, and says plainly when the vault is
#    "NOT immutable" (a bucket without Object Lock) or its copy failed (a credentials file
#    others can read is refused) — the medium's generation stands, the cycle exits 4;
#  - the next good cycle sends only what the vault lacks.
# usage: vault-cycle.sh [<mamori> <mamori-gen>]   (default: $MAMORI and $MAMORI_GEN)
set -u
M=${1:-${MAMORI:?}}
G=${2:-${MAMORI_GEN:?}}
: "${MAMORI_S3_ENDPOINT:?run me through tests/s3/with-rgw.sh}"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && sed 's/^/    # /' <<<"$2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }
W=$(mktemp -d "${TMPDIR:-/tmp}/mm-vault-cycle-XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
export LANG=C.UTF-8 LC_ALL=C.UTF-8 MAMORI_VIEWER_COPY=0
export MAMORI_CACHE=$W/cache MAMORI_AUDIT_DIR=$W/audit-host XDG_CACHE_HOME=$W/xdg
unset MAMORI_PASSPHRASE MAMORI_S3_CREDENTIALS

ep=$MAMORI_S3_ENDPOINT
hostport=${ep#*://}
mkbucket() { # mkbucket NAME LOCK(0|1)
    local h=()
    [ "$2" = 1 ] && h=(-H "x-amz-bucket-object-lock-enabled: true")
    curl -sS -f -o /dev/null --aws-sigv4 "aws:amz:${MAMORI_S3_REGION:-us-east-1}:s3" \
        --user "$MAMORI_S3_ACCESS_KEY:$MAMORI_S3_SECRET_KEY" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -X PUT "${h[@]}" "$ep/$1"
}
sfx=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
LOCKB=mm-vault-lock-$sfx
PLAINB=mm-vault-plain-$sfx
mkbucket "$LOCKB" 1 || { echo "Bail out! cannot create bucket $LOCKB"; exit 1; }
mkbucket "$PLAINB" 0 || { echo "Bail out! cannot create bucket $PLAINB"; exit 1; }
(umask 077 && printf 'access_key = %s\nsecret_key = %s\n' "$MAMORI_S3_ACCESS_KEY" \
    "$MAMORI_S3_SECRET_KEY" >"$W/s3cred") || exit 1
cp "$W/s3cred" "$W/s3cred-open" && chmod 644 "$W/s3cred-open"
(umask 077 && echo vault-cycle-passphrase >"$W/pass") || exit 1
unset MAMORI_S3_ACCESS_KEY MAMORI_S3_SECRET_KEY # the configuration's file is what run uses

"$G" --out "$W/src" --patients 12 --days 20 --seed 3 -q || { echo "Bail out! mamori-gen"; exit 1; }
mkdir -p "$W/usb"
MAMORI_PASSPHRASE=vault-cycle-passphrase "$M" -q init --repo "$W/usb/repo" --kdf-passes 1 \
    --kdf-memory 1 --allow-weak-secrets || { echo "Bail out! init"; exit 1; }
MAMORI_PASSPHRASE=vault-cycle-passphrase "$M" -q media init --repo "$W/usb/repo" --label MON \
    --hospital 1310012345 || { echo "Bail out! media init"; exit 1; }
conf() { # conf FILE BUCKET CREDENTIALS
    {
        printf '[hospital]\nid = 1310012345\n[service]\nstate_dir = %s/state\npassphrase_file = %s/pass\n' "$W" "$W"
        printf '[source "ssmix2"]\nkind = ssmix2\npath = %s/src/standard\nschedule = daily\nrpo = 26h\n' "$W"
        printf '[media]\nrotation = weekday\nstaging = %s/staging\n' "$W"
        printf '[medium "MON"]\ndays = mon,tue,wed,thu,fri,sat,sun\npath = %s/usb/repo\n' "$W"
        printf '[vault]\nurl = s3://%s/%s/vault\ncredentials = %s\nretain = 2d\n' "$hostport" "$2" "$3"
    } >"$1"
}
conf "$W/good.conf" "$LOCKB" "$W/s3cred"
conf "$W/plain.conf" "$PLAINB" "$W/s3cred"
conf "$W/open.conf" "$LOCKB" "$W/s3cred-open"
# jq_ FILE EXPR: EXPR (Python, the JSON as d) of the JSON in FILE; strings bare, the rest as JSON
jq_() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(v if isinstance(v, str) else json.dumps(v))' "$@"; }
check "config check accepts [vault]" '"$M" config check --config "$W/good.conf" >/dev/null 2>&1'
"$M" config check --json --config "$W/good.conf" >"$W/config.json" 2>&1
check "config check --json shows the vault (url, 2 days, compliance)" \
    '[ "$(jq_ "$W/config.json" "[d[\"vault\"][\"url\"].endswith(\"/vault\"), d[\"vault\"][\"retain_seconds\"], d[\"vault\"][\"lock_mode\"]]")" = "[true, 172800, \"compliance\"]" ]' "$(cat "$W/config.json")"

day=1
cycle() { # cycle NAME CONF: the day's run (--json into $W/NAME.json), then the next day's data
    "$M" --lang en run --json --config "$2" --date "2026-12-0$day" >"$W/$1.json" 2>"$W/$1.err"
    RC=$?
    "$G" advance --out "$W/src" --days 1 -q >/dev/null 2>&1 || echo "# mamori-gen advance failed"
    day=$((day + 1))
}

cp -a "$W/src/standard" "$W/day1-standard" # what day 1 backs up (cycle advances the source)
cycle day1 "$W/good.conf"
check "day 1: run exits 0 with the vault" '[ "$RC" = 0 ]' "$(cat "$W/day1.err" "$W/day1.json")"
check "day 1: the vault copy is ok" '[ "$(jq_ "$W/day1.json" "d[\"vault\"][\"state\"]")" = ok ]' "$(cat "$W/day1.json")"
check "day 1: the vault proved its Object Lock (immutable)" '[ "$(jq_ "$W/day1.json" "d[\"vault\"][\"immutable\"]")" = true ]'
check "day 1: one generation sent to the vault" '[ "$(jq_ "$W/day1.json" "d[\"vault\"][\"generations\"]")" = 1 ]'
gen1=$(jq_ "$W/day1.json" 'd["generation"]')
where=$(jq_ "$W/day1.json" 'd["vault"]["where"]')
check "the vault is <url>/<repository ID>, no secret in it" '[[ "$where" == s3://$hostport/$LOCKB/vault/* ]] && ! grep -q "secret" <<<"$where"'

export MAMORI_S3_CREDENTIALS=$W/s3cred
MAMORI_PASSPHRASE=vault-cycle-passphrase "$M" --lang en generations --repo "$where" --json >"$W/vgens.json" 2>"$W/vgens.err"
check "the vault holds the medium's generation (same ID)" 'grep -q "$gen1" "$W/vgens.json"' "$(cat "$W/vgens.err")"
MAMORI_PASSPHRASE=vault-cycle-passphrase "$M" -q restore --repo "$where" latest --to "$W/out" 2>"$W/restore.err"
check "a restore from the vault is byte-exact (day 1's source)" 'diff -r "$W/out/standard" "$W/day1-standard" >/dev/null 2>&1' "$(cat "$W/restore.err"; diff -r "$W/out/standard" "$W/day1-standard" 2>&1 | head -5)"
check "the restore from the vault says nothing is wrong" '[ ! -s "$W/restore.err" ]' "$(cat "$W/restore.err")"
unset MAMORI_S3_CREDENTIALS

"$M" --lang en status --json --config "$W/good.conf" --date 2026-12-01 >"$W/st1.json" 2>&1
check "status: the medium and the vault, vault ok and immutable" \
    '[ "$(jq_ "$W/st1.json" "[d[\"media\"][0][\"label\"], d[\"vault\"][\"state\"], d[\"vault\"][\"immutable\"], d[\"vault\"][\"attention\"]]")" = "[\"MON\", \"ok\", true, []]" ]' "$(cat "$W/st1.json")"
"$M" status --config "$W/good.conf" --date 2026-12-01 >"$W/st1.txt" 2>&1
check "status (table): the vault is shown as immutable" 'grep -q "S3 保管庫 / S3 vault" "$W/st1.txt" && grep -q "immutable (Object Lock proven)" "$W/st1.txt"' "$(cat "$W/st1.txt")"

cycle day2 "$W/good.conf"
check "day 2: run exits 0, the vault got the new generation" '[ "$RC" = 0 ] && [ "$(jq_ "$W/day2.json" "d[\"vault\"][\"generations\"]")" = 1 ]' "$(cat "$W/day2.err" "$W/day2.json")"
check "day 2: only what the vault lacked was sent (fewer files than day 1)" \
    '[ "$(jq_ "$W/day2.json" "d[\"vault\"][\"files\"]")" -lt "$(jq_ "$W/day1.json" "d[\"vault\"][\"files\"]")" ]'

cycle day3 "$W/open.conf"
check "a credentials file others can read: run exits 4 (needs attention), vault failed" \
    '[ "$RC" = 4 ] && [ "$(jq_ "$W/day3.json" "d[\"vault\"][\"state\"]")" = failed ]' "$(cat "$W/day3.err" "$W/day3.json")"
check "... the medium's generation of that day stands" '[ "$(jq_ "$W/day3.json" "d[\"generations\"]")" = 1 ]'
check "... and no secret is printed" '! grep -q "$(sed -n "s/^secret_key = //p" "$W/s3cred")" "$W/day3.err" "$W/day3.json"'
"$M" --lang en status --json --config "$W/good.conf" --date 2026-12-03 >"$W/st3.json" 2>&1
RC=$?
check "status after the failed copy: exit 4, vault needs attention" '[ "$RC" = 4 ] && grep -q "\"vault\"" "$W/st3.json" && [ "$(jq_ "$W/st3.json" "d[\"vault\"][\"attention\"]")" = "[\"vault\"]" ]' "$(cat "$W/st3.json")"

cycle day4 "$W/plain.conf"
check "a bucket without Object Lock: copied, but run exits 4 and says not immutable" \
    '[ "$RC" = 4 ] && [ "$(jq_ "$W/day4.json" "d[\"vault\"][\"immutable\"]")" = false ] && grep -qi "not immutable" "$W/day4.err"' "$(cat "$W/day4.err" "$W/day4.json")"
"$M" status --config "$W/plain.conf" --date 2026-12-04 >"$W/st4.txt" 2>&1
check "status (table) says plainly: NOT immutable" 'grep -q "NOT immutable" "$W/st4.txt"' "$(cat "$W/st4.txt")"

cycle day5 "$W/good.conf"
check "the next good cycle: exit 0, vault ok again with every generation" '[ "$RC" = 0 ] && [ "$(jq_ "$W/day5.json" "d[\"vault\"][\"state\"]")" = ok ]' "$(cat "$W/day5.err" "$W/day5.json")"
# a person's key slot added on the medium reaches the vault with the next cycle
MAMORI_PASSPHRASE=vault-cycle-passphrase MAMORI_NEW_PASSPHRASE=second-person-passphrase \
    "$M" -q key add --repo "$W/usb/repo" --user nurse --as admin --kdf-passes 1 --kdf-memory 1 \
    --allow-weak-secrets 2>"$W/keyadd.err"
RC=$?
check "key add on the medium" '[ "$RC" = 0 ]' "$(cat "$W/keyadd.err")"
cycle day6 "$W/good.conf"
check "the next cycle: exit 0" '[ "$RC" = 0 ]' "$(cat "$W/day6.err" "$W/day6.json")"
MAMORI_S3_CREDENTIALS=$W/s3cred MAMORI_PASSPHRASE=second-person-passphrase "$M" -q generations \
    --repo "$where" --user nurse >/dev/null 2>"$W/nurse.err"
RC=$?
check "the vault opens with the key slot added on the medium" '[ "$RC" = 0 ]' "$(cat "$W/nurse.err")"
echo "1..$n"
exit $((failed > 0))
