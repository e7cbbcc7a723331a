#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Backup and restore throughput of an S3 vault against a local folder (issue 20): the same
# generated SS-MIX2 storage (<files> files, standard storage, seed 1) backed up into a local
# folder repository and into an S3 repository on a real Ceph RGW on loopback (started by
# tests/s3/rgw.sh in the work folder, or the endpoint given by MAMORI_S3_ENDPOINT with
# MAMORI_S3_ACCESS_KEY/SECRET_KEY), then restored whole into an empty folder from each, side by
# side in one run, then verify --read-data of each. Each step is timed with /usr/bin/time (wall
# seconds, peak RSS) after sync (and a dropped page cache when root). Both restores are
# compared with the source. Prints a Markdown table (docs/PERFORMANCE.md).
# usage: bench/s3.sh <build-dir> [files (200000)] [work-dir (TMPDIR)]
#   PATIENTS=N DAYS=D override the generated size (smoke tests only)
#   UNCACHED=1 also restores from S3 with the read cache off (MAMORI_S3_CACHE_MB=0: one GET
#   per read, the read path before the cache; slow)
set -euo pipefail
build=${1:?usage: bench/s3.sh <build-dir> [files] [work-dir]}
files=${2:-200000}
parent=${3:-${TMPDIR:-/tmp}}
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
mamori=$build/src/cli/mamori
gen=$build/tools/gen/mamori-gen
for x in "$gen" "$mamori" /usr/bin/time; do
    [ -x "$x" ] || { echo "s3 bench: no '$x' (build first; make bench-deps)" >&2; exit 1; }
done
patients=${PATIENTS:-$(((files * 18000 + 526298) / 1052596))}
days=${DAYS:-365}
W=$(mktemp -d "$parent/mamori-bench-s3-XXXXXX")
started=0
cleanup() {
    [ "$started" = 0 ] || "$here/../tests/s3/rgw.sh" stop "$W/rgw" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT
# the work folder is the current one: anything a step writes relative to it (the CLI's audit
# trail of an s3:// repository lands in ./s3:/... today) goes away with it
cd "$W"
export MAMORI_LANG=en MAMORI_VIEWER_COPY=0 MAMORI_PASSPHRASE=bench-s3
export XDG_CACHE_HOME=$W/cache MAMORI_AUDIT_DIR=$W/audit

drop=0
if [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/drop_caches ]; then drop=1; fi
settle() { sync; [ "$drop" = 0 ] || echo 3 >/proc/sys/vm/drop_caches; }
# measure CMD...: "<wall s> <peak KiB>" of CMD, or "failed"
measure() {
    settle
    if /usr/bin/time -f '%e %M' -o "$W/time.out" "$@" </dev/null >"$W/step.log" 2>&1; then
        tail -n 1 "$W/time.out"
    else
        echo "s3 bench: failed: $*" >&2
        tail -n 5 "$W/step.log" | sed 's/^/    /' >&2
        echo failed
    fi
}

echo "s3 bench: generating $patients patients x $days days" >&2
"$gen" --out "$W/g" --patients "$patients" --days "$days" --seed 1 -q
nfiles=$(find "$W/g/standard" -type f | wc -l)
mib=$(du -sm --apparent-size "$W/g/standard" | cut -f1) # bytes of the files, not blocks

echo "s3 bench: starting the S3 store" >&2
started=1
eval "$("$here/../tests/s3/rgw.sh" start "$W/rgw")"
hostport=${MAMORI_S3_ENDPOINT#*://}
s3repo="s3://$hostport/$MAMORI_S3_BUCKET_LOCK/bench"

init() { "$mamori" -q init --repo "$1" --kdf-passes 1 --kdf-memory 8 --allow-weak-secrets >/dev/null; }
init "$W/local"
init "$s3repo"
lb=$(measure "$mamori" -q backup --repo "$W/local" "$W/g/standard")
sb=$(measure "$mamori" -q backup --repo "$s3repo" "$W/g/standard")
rm -rf "$W/cache"
lr=$(measure "$mamori" -q restore --repo "$W/local" latest --to "$W/out-local")
rm -rf "$W/cache"
sr=$(measure "$mamori" -q restore --repo "$s3repo" latest --to "$W/out-s3")
ur=
if [ "${UNCACHED:-0}" = 1 ]; then
    rm -rf "$W/cache"
    ur=$(MAMORI_S3_CACHE_MB=0 measure "$mamori" -q restore --repo "$s3repo" latest \
        --to "$W/out-s3u")
fi
rm -rf "$W/cache"
lv=$(measure "$mamori" -q verify --repo "$W/local" --read-data)
rm -rf "$W/cache"
sv=$(measure "$mamori" -q verify --repo "$s3repo" --read-data)
# byte-exact: each restore against the source
same() { diff -r -q "$W/g/standard" "$1/standard" >/dev/null 2>&1 && echo yes || echo NO; }

# MiB/s of the source size over the wall time of "<s> <KiB>" (or "-" when the step failed)
rate() {
    case ${1% *} in
    '' | *[!0-9.]*) echo - ;;
    *) awk -v m="$mib" -v t="${1% *}" 'BEGIN { if (t > 0) printf "%.1f", m / t; else print "-" }' ;;
    esac
}
echo "| step ($nfiles files, $mib MiB) | local folder (s, peak KiB) | MiB/s | S3 on RGW loopback (s, peak KiB) | MiB/s |"
echo "|---|---|---|---|---|"
echo "| first backup | $lb | $(rate "$lb") | $sb | $(rate "$sb") |"
echo "| full restore | $lr | $(rate "$lr") | $sr | $(rate "$sr") |"
[ -z "$ur" ] || echo "| full restore, S3 read cache off | | | $ur | $(rate "$ur") |"
echo "| verify --read-data | $lv | $(rate "$lv") | $sv | $(rate "$sv") |"
packs=$(find "$W/local/data" -type f | wc -l)
repomib=$(du -sm --apparent-size "$W/local" | cut -f1)
echo "local repository: $repomib MiB, $packs pack files; S3 read cache ${MAMORI_S3_CACHE_MB:-128} MiB (MAMORI_S3_CACHE_MB)"
echo "restores byte-exact: local $(same "$W/out-local"), S3 $(same "$W/out-s3")$([ -z "$ur" ] || echo ", S3 uncached $(same "$W/out-s3u")")"
