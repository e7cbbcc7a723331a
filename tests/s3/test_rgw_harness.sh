#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The S3 test harness itself (issue 20), TAP: tests/s3/rgw.sh starts a real Ceph RGW in DIR
# (a fresh folder on a real filesystem), a signed PUT/GET works, the lock bucket's lock
# configuration says Enabled and the plain bucket has none, a COMPLIANCE object cannot be
# deleted by version (not with the bypass header either), the lying proxy claims Enabled while a
# "locked" object written through it can be deleted by version, the dropping proxy cuts an
# upload when armed and forwards faithfully otherwise, and stop removes everything (twice).
# With MAMORI_S3_ENDPOINT set, the same checks run against that store (rgw.sh starts nothing).
#
#   test_rgw_harness.sh DIR
# check "..." eval '...': the single quotes are meant (evaluated when the check runs)
# shellcheck disable=SC2016
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${1:?usage: test_rgw_harness.sh DIR}
rgw=$here/rgw.sh
n=0
failed=0

ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}

not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    local l
    for l in "$@"; do
        echo "# $l"
    done
}

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() {
    local d=$1
    shift
    if "$@"; then ok "$d"; else not_ok "$d" "failed: $*"; fi
}

if [ -z "${MAMORI_S3_ENDPOINT:-}" ]; then
    # no silent skip: `make test` installs the packages and CI runs as root
    if [ "$(id -u)" != 0 ]; then
        echo "Bail out! the S3 tests start Ceph daemons and must run as root (or set MAMORI_S3_ENDPOINT)"
        exit 1
    fi
    for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
        if ! command -v "$b" >/dev/null 2>&1; then
            echo "Bail out! '$b' is missing: make deps installs ceph-mon ceph-osd radosgw ceph-common"
            exit 1
        fi
    done
    external=
else
    external=1
fi
for b in curl python3 openssl; do
    command -v "$b" >/dev/null 2>&1 || {
        echo "Bail out! '$b' is missing"
        exit 1
    }
done

mkdir -p "$(dirname "$dir")"
"$rgw" stop "$dir"
trap '"$rgw" stop "$dir"' EXIT
tmp=$(mktemp -d)
trap '"$rgw" stop "$dir"; rm -rf "$tmp"' EXIT

t0=$(date +%s.%N)
if ! exports=$("$rgw" start "$dir" 2>"$tmp/start.err"); then
    echo "Bail out! rgw.sh start failed: $(tail -n 1 "$tmp/start.err")"
    for f in "$dir"/log/*.log; do
        [ -f "$f" ] || continue
        echo "--- $f (tail)" >&2
        tail -n 20 "$f" >&2
    done
    exit 1
fi
t1=$(date +%s.%N)
eval "$exports"
missing=
for v in MAMORI_S3_ENDPOINT MAMORI_S3_ACCESS_KEY MAMORI_S3_SECRET_KEY MAMORI_S3_BUCKET_LOCK \
    MAMORI_S3_BUCKET_PLAIN MAMORI_S3_LYING MAMORI_S3_DROPPING MAMORI_S3_DROPPING_CTL; do
    [ -n "${!v:-}" ] || missing="$missing $v"
done
if [ -z "$missing" ]; then
    ok "start exports every MAMORI_S3_* variable ($(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s)"
else
    not_ok "start exports every MAMORI_S3_* variable" "missing:$missing"
fi
if [ -z "$external" ]; then
    rss=0
    for f in "$dir"/run/*.pid; do
        p=$(cat "$f")
        r=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        rss=$((rss + ${r:-0}))
    done
    echo "# resident memory after start: $((rss / 1024)) MiB (daemons and proxies)"
fi

region=${MAMORI_S3_REGION:-us-east-1}
# s3 METHOD URL [curl args]: a signed request; prints the HTTP status on the last line of
# $tmp/status, the body to $tmp/body, the headers to $tmp/headers. Note: curl 7.88 mis-signs a
# query key without '=' (?object-lock): the tests write ?object-lock=.
s3() {
    local method=$1 url=$2
    shift 2
    curl -sS --max-time 60 -X "$method" --aws-sigv4 "aws:amz:$region:s3" \
        --user "$MAMORI_S3_ACCESS_KEY:$MAMORI_S3_SECRET_KEY" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -o "$tmp/body" -D "$tmp/headers" \
        -w '%{http_code}' "$@" "$url" >"$tmp/status" 2>"$tmp/curl.err"
    local rc=$?
    [ $rc = 0 ] || echo "000" >"$tmp/status"
    return $rc
}
status() { cat "$tmp/status"; }
header() { tr -d '\r' <"$tmp/headers" | awk -v h="$(echo "$1" | tr '[:upper:]' '[:lower:]')" \
    'BEGIN{FS=": "} tolower($1)==h {print $2}' | tail -n 1; }
body_has() { grep -q "$1" "$tmp/body"; }

E=$MAMORI_S3_ENDPOINT
L=$MAMORI_S3_BUCKET_LOCK
P=$MAMORI_S3_BUCKET_PLAIN
r=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')

# --- a signed PUT and GET
head -c 100000 /dev/urandom >"$tmp/data"
s3 PUT "$E/$P/harness/$r" -T "$tmp/data"
check "signed PUT into the plain bucket (status $(status))" [ "$(status)" = 200 ]
s3 GET "$E/$P/harness/$r"
check "signed GET gives the same bytes" cmp -s "$tmp/data" "$tmp/body"

# --- lock configuration
s3 GET "$E/$L?object-lock="
check "the lock bucket's lock configuration says Enabled" \
    eval '[ "$(status)" = 200 ] && body_has "<ObjectLockEnabled>Enabled</ObjectLockEnabled>"'
s3 GET "$E/$P?object-lock="
check "the plain bucket has no lock configuration (status $(status))" \
    eval '[ "$(status)" = 404 ] && ! body_has "Enabled"'

# --- a COMPLIANCE object cannot be deleted by version
until=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
printf 'locked %s\n' "$r" >"$tmp/locked"
md5=$(openssl md5 -binary "$tmp/locked" | base64)
lock_put() { # URL: a PUT with a COMPLIANCE retention of one day
    s3 PUT "$1" -T "$tmp/locked" -H "Content-MD5: $md5" -H 'x-amz-object-lock-mode: COMPLIANCE' \
        -H "x-amz-object-lock-retain-until-date: $until"
}
lock_put "$E/$L/locked/$r"
vid=$(header x-amz-version-id)
check "COMPLIANCE PUT with Content-MD5 into the lock bucket (status $(status), version '$vid')" \
    eval '[ "$(status)" = 200 ] && [ -n "$vid" ]'
s3 GET "$E/$L/locked/$r?retention="
check "the retention reads back COMPLIANCE" eval 'body_has "<Mode>COMPLIANCE</Mode>"'
s3 DELETE "$E/$L/locked/$r?versionId=$vid"
check "deleting the locked version is refused (status $(status))" [ "$(status)" = 403 ]
s3 DELETE "$E/$L/locked/$r?versionId=$vid" -H 'x-amz-bypass-governance-retention: true'
check "also with the bypass header (status $(status))" [ "$(status)" = 403 ]
s3 GET "$E/$L/locked/$r?versionId=$vid"
check "the locked version is still there" cmp -s "$tmp/locked" "$tmp/body"

# --- the lying proxy
LB=mm-liar-$r
s3 PUT "$MAMORI_S3_LYING/$LB" -H 'x-amz-bucket-object-lock-enabled: true'
check "the liar creates a bucket 'with lock' (status $(status))" [ "$(status)" = 200 ]
s3 GET "$MAMORI_S3_LYING/$LB?object-lock="
check "the liar's bucket claims Enabled" \
    eval '[ "$(status)" = 200 ] && body_has "<ObjectLockEnabled>Enabled</ObjectLockEnabled>"'
s3 GET "$MAMORI_S3_LYING/$P?object-lock="
check "the liar claims Enabled for the plain bucket too" \
    eval '[ "$(status)" = 200 ] && body_has "<ObjectLockEnabled>Enabled</ObjectLockEnabled>"'
lock_put "$MAMORI_S3_LYING/$LB/locked/$r"
lvid=$(header x-amz-version-id)
check "the liar accepts a COMPLIANCE PUT (status $(status), version '$lvid')" \
    eval '[ "$(status)" = 200 ] && [ -n "$lvid" ]'
s3 PUT "$MAMORI_S3_LYING/$LB/locked/$r?retention=" -H "Content-MD5: $(printf '%s' \
    "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>$until</RetainUntilDate></Retention>" |
    openssl md5 -binary | base64)" --data-binary \
    "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>$until</RetainUntilDate></Retention>"
check "the liar accepts a retention request (status $(status))" [ "$(status)" = 200 ]
s3 GET "$MAMORI_S3_LYING/$LB/locked/$r?retention="
check "the liar reads the retention back" eval 'body_has "<Mode>COMPLIANCE</Mode>"'
s3 HEAD "$MAMORI_S3_LYING/$LB/locked/$r" -I
check "the liar shows the lock mode on HEAD" [ "$(header x-amz-object-lock-mode)" = COMPLIANCE ]
s3 DELETE "$MAMORI_S3_LYING/$LB/locked/$r?versionId=$lvid"
check "yet the 'locked' version is deleted by version ID through it (status $(status))" \
    [ "$(status)" = 204 ]
s3 GET "$E/$LB/locked/$r?versionId=$lvid"
check "and it is gone from the store (status $(status))" [ "$(status)" = 404 ]
s3 DELETE "$MAMORI_S3_LYING/$L/locked/$r?versionId=$vid"
check "the liar forwards a refused delete as refused (status $(status))" [ "$(status)" = 403 ]

# --- the dropping proxy
D=$MAMORI_S3_DROPPING
s3 PUT "$D/$P/drop/ok-$r" -T "$tmp/data"
check "the dropping proxy forwards a PUT while unarmed (status $(status))" [ "$(status)" = 200 ]
echo "2 5000" >"$MAMORI_S3_DROPPING_CTL"
s3 PUT "$D/$P/drop/one-$r" -T "$tmp/data"
check "armed '2 5000': the 1st PUT passes (status $(status))" [ "$(status)" = 200 ]
s3 PUT "$D/$P/drop/two-$r" -T "$tmp/data"
rc=$?
check "the 2nd PUT is cut: curl fails without an answer (curl exit $rc)" \
    eval '[ "$rc" != 0 ] && [ "$(status)" = 000 ]'
check "the control file is gone, the cut logged" \
    eval '[ ! -e "$MAMORI_S3_DROPPING_CTL" ] && grep -q "^cut PUT" "$MAMORI_S3_DROPPING_CTL.log"'
s3 HEAD "$E/$P/drop/two-$r" -I
check "the cut object is not in the store (status $(status))" [ "$(status)" = 404 ]
s3 PUT "$D/$P/drop/two-$r" -T "$tmp/data"
check "the retry passes (status $(status))" [ "$(status)" = 200 ]
s3 GET "$D/$P/drop/two-$r"
check "and reads back the same bytes through the proxy" cmp -s "$tmp/data" "$tmp/body"

# --- stop
if [ -z "$external" ]; then
    rss=0
    for f in "$dir"/run/*.pid; do
        p=$(cat "$f")
        r=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        rss=$((rss + ${r:-0}))
        echo "# $(basename "$f" .pid): $((${r:-0} / 1024)) MiB resident"
    done
    echo "# resident memory after the checks: $((rss / 1024)) MiB"
    pids=$(cat "$dir"/run/*.pid)
fi
"$rgw" stop "$dir"
check "stop removes DIR" [ ! -e "$dir" ]
if [ -z "$external" ]; then
    left=
    for p in $pids; do
        # a zombie waiting for its reaper (the proxies' parent is gone) is not left
        st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)
        [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ] && left="$left $p"
    done
    check "no daemon is left" [ -z "$left" ]
fi
"$rgw" stop "$dir"
check "stop twice is fine" [ $? = 0 ]
echo "1..$n"
[ "$failed" = 0 ]
