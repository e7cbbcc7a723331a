#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The cost of repository format 3 (a data key per pack and per envelope, sealed to the
# reader key with crypto_box_seal) on a first backup and a read-verify, against format 2, on
# the same generated storage: each step timed with /usr/bin/time (wall seconds, peak RSS),
# after sync and dropping the page cache when root (cold), best of RUNS (default 3).
# usage: bench/format3.sh <mamori> <mamori-gen> [patients (1000)] [days (20)]
set -euo pipefail
mamori=$1
gen=$2
patients=${3:-1000}
days=${4:-20}
runs=${RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/mamori-bench-format3-XXXXXX")
trap 'rm -rf "$work"' EXIT
export MAMORI_PASSPHRASE=bench-format3 MAMORI_AUDIT_DIR=$work/audit XDG_CACHE_HOME=$work/cache
export MAMORI_VIEWER_COPY=0

MAMORI_LANG=en "$gen" --out "$work/g" --patients "$patients" --days "$days" --seed 1 -q
files=$(find "$work/g/standard" -type f | wc -l)
cold() { sync; if [ "$(id -u)" = 0 ]; then echo 3 >/proc/sys/vm/drop_caches; fi; }
# best FORMAT STEP: the best wall time (and its peak RSS) of RUNS runs of STEP
best() {
    local f=$1 step=$2 t out=""
    for i in $(seq "$runs"); do
        r=$work/r$f-$i
        if [ "$step" = backup ]; then
            rm -rf "$r" "$work/cache"
            "$mamori" -q init --repo "$r" --format "$f" --kdf-passes 1 --kdf-memory 8 --allow-weak-secrets
            cold
            t=$( { /usr/bin/time -f "%e %M" "$mamori" -q backup --repo "$r" \
                "$work/g/standard" >/dev/null; } 2>&1 | tail -n 1)
        else
            cold
            t=$( { /usr/bin/time -f "%e %M" "$mamori" -q verify --repo "$r" --read-data \
                >/dev/null; } 2>&1 | tail -n 1)
        fi
        out=$(printf '%s\n%s\n' "$out" "$t")
    done
    echo "$out" | sed '/^$/d' | sort -n | head -n 1
}
echo "| step | format 2 (s, peak KiB) | format 3 (s, peak KiB) |"
echo "|---|---|---|"
for step in backup verify; do
    echo "| $step, $files files | $(best 2 $step) | $(best 3 $step) |"
done
echo "packs: format 2 $(find "$work/r2-1/data" -type f | wc -l), format 3 $(find "$work/r3-1/data" -type f | wc -l);" \
    "size: format 2 $(du -sk "$work/r2-1" | cut -f1) KiB, format 3 $(du -sk "$work/r3-1" | cut -f1) KiB"
