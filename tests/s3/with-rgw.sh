#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# with-rgw.sh DIR CMD [ARG...]: runs one S3 test program with its own Ceph RGW (rgw.sh start
# DIR), the MAMORI_S3_* variables exported, then stops the cluster and removes DIR whatever
# happened (locked objects cannot be removed through S3). Exits with CMD's status. CMD speaks
# TAP: when the cluster does not start, "Bail out!" says why on stdout (meson shows it) and the
# logs' tails go to stderr. With MAMORI_S3_ENDPOINT set (another S3 store), rgw.sh starts
# nothing and only creates the buckets and the proxies.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 2 ] || {
    echo "usage: with-rgw.sh DIR CMD [ARG...]" >&2
    exit 2
}
dir=$1
shift

mkdir -p "$(dirname "$dir")"
"$here/rgw.sh" stop "$dir" # a cluster left over by an interrupted run
trap '"$here/rgw.sh" stop "$dir"' EXIT
trap 'exit 130' INT TERM

if ! exports=$("$here/rgw.sh" start "$dir" 2>"$dir.start.log"); then
    echo "Bail out! tests/s3/rgw.sh start failed: $(tail -n 1 "$dir.start.log")"
    cat "$dir.start.log" >&2
    for f in "$dir"/log/*.log; do
        [ -f "$f" ] || continue
        echo "--- $f (tail)" >&2
        tail -n 20 "$f" >&2
    done
    rm -f "$dir.start.log"
    exit 1
fi
rm -f "$dir.start.log"
eval "$exports"
"$@"
