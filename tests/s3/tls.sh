#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The S3 backend over TLS (issue 20), against the harness's radosgw, which also serves https
# with a self-signed certificate for 127.0.0.1 (tests/s3/rgw.sh: MAMORI_S3_TLS_ENDPOINT,
# MAMORI_S3_TLS_CA):
#  - MAMORI_S3_TLS=1 (https although the host is loopback) and MAMORI_S3_CA_FILE = that
#    certificate: init, backup, restore (byte-exact) and verify on a bucket with Object Lock;
#  - the system's CAs only (no MAMORI_S3_CA_FILE): the same command fails with a message about
#    the certificate and a non-zero exit, no crash, no secret in the output;
#  - MAMORI_S3_TLS unset: the plain http endpoint of the same store still works;
#  - MAMORI_S3_TLS=1 with MAMORI_S3_HTTP=1 is refused.
# TAP on stdout.
#
# usage (under tests/s3/with-rgw.sh, which exports MAMORI_S3_*): tls.sh MAMORI MAMORI_GEN
set -u

M=$1 G=$2
n=0 failed=0
[ -n "${MAMORI_S3_ENDPOINT:-}" ] || {
    echo "1..0 # SKIP no S3 store (run under tests/s3/with-rgw.sh)"
    exit 0
}
[ -n "${MAMORI_S3_TLS_ENDPOINT:-}" ] && [ -n "${MAMORI_S3_TLS_CA:-}" ] || {
    echo "1..0 # SKIP no TLS endpoint (MAMORI_S3_TLS_ENDPOINT, MAMORI_S3_TLS_CA: rgw.sh's own cluster)"
    exit 0
}
W=$(mktemp -d "${TMPDIR:-/tmp}/mm-s3-tls.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
export XDG_CACHE_HOME=$W/cache MAMORI_CACHE=$W/cache/mamori HOME=$W/home
export MAMORI_AUDIT_DIR=$W/audit MAMORI_PASSPHRASE=s3-tls-test-passphrase TZ=UTC
unset MAMORI_S3_CREDENTIALS MAMORI_S3_LOCK_MODE MAMORI_S3_RETAIN_DAYS MAMORI_S3_HTTP
unset MAMORI_S3_TLS MAMORI_S3_CA_FILE
mkdir -p "$HOME" "$XDG_CACHE_HOME"
TLS=$MAMORI_S3_TLS_ENDPOINT
CA=$MAMORI_S3_TLS_CA
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
    if grep -Eiq -- "$3" "$2"; then ok "$1"; else
        cp "$2" "$W/last.out"
        : >"$W/last.err"
        not_ok "$1 (no /$3/)"
    fi
}
mamori() {
    "$M" -q "$@"
}
# mamori over TLS, trusting the harness's certificate
tls_mamori() {
    MAMORI_S3_TLS=1 MAMORI_S3_CA_FILE=$CA "$M" -q "$@"
}

# a fresh bucket with Object Lock, created over TLS
B=mm-tls-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
curl -sS --fail --max-time 60 -X PUT --aws-sigv4 "aws:amz:$region:s3" \
    --user "$MAMORI_S3_ACCESS_KEY:$MAMORI_S3_SECRET_KEY" --cacert "$CA" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -H 'x-amz-bucket-object-lock-enabled: true' \
    "$TLS/$B" >/dev/null || {
    echo "Bail out! cannot create bucket $B over TLS"
    exit 1
}
R=s3://${TLS#https://}/$B/p
RH=s3://${MAMORI_S3_ENDPOINT#http://}/$B/p

"$G" --out "$W/g" --patients 5 --days 5 --seed 1 -q || {
    echo "Bail out! mamori-gen"
    exit 1
}
src=$W/g/standard

# ---- over TLS with the harness's CA ----
check "init over TLS (MAMORI_S3_TLS=1, MAMORI_S3_CA_FILE)" tls_mamori init --repo "$R" \
    --user it-admin --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets
check "backup over TLS" tls_mamori backup --repo "$R" "$src"
check "restore latest over TLS" tls_mamori restore --repo "$R" latest --to "$W/out1"
check "restore over TLS is byte-exact" diff -r "$src" "$W/out1/standard"
check "verify over TLS" tls_mamori verify --repo "$R"

# ---- the system's CAs only: refused, clearly ----
(
    unset CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR
    MAMORI_S3_TLS=1 "$M" --lang en verify --repo "$R" >"$W/noca.out" 2>&1
    echo "exit=$?" >>"$W/noca.out"
)
rc=$(sed -n 's/^exit=//p' "$W/noca.out")
if [ "$rc" != 0 ] && [ "$rc" -lt 128 ]; then ok "without the CA: non-zero exit, no crash (exit $rc)"; else
    cp "$W/noca.out" "$W/last.out"
    : >"$W/last.err"
    not_ok "without the CA: non-zero exit, no crash (exit $rc)"
fi
has "without the CA: the message says the certificate is not trusted and names MAMORI_S3_CA_FILE" "$W/noca.out" 'certificate is not trusted.*MAMORI_S3_CA_FILE'
sed 's/^/#   /' "$W/noca.out" | head -n 5
if grep -qF -e "$MAMORI_S3_SECRET_KEY" -e "$MAMORI_PASSPHRASE" "$W/noca.out"; then
    cp "$W/noca.out" "$W/last.out"
    not_ok "without the CA: no secret in the output"
else
    ok "without the CA: no secret in the output"
fi

# ---- MAMORI_S3_TLS unset: plain http on loopback still works (same store, same bucket) ----
check "plain http: restore latest" mamori restore --repo "$RH" latest --to "$W/out2"
check "plain http: restore is byte-exact" diff -r "$src" "$W/out2/standard"
check "plain http: verify" mamori verify --repo "$RH"

# ---- contradictory settings ----
MAMORI_S3_TLS=1 MAMORI_S3_HTTP=1 "$M" --lang en verify --repo "$R" >"$W/both.out" 2>&1
echo "exit=$?" >>"$W/both.out"
has "MAMORI_S3_TLS=1 with MAMORI_S3_HTTP=1 is refused" "$W/both.out" 'MAMORI_S3_TLS=1 and MAMORI_S3_HTTP=1'

echo "1..$n"
[ "$failed" = 0 ]
