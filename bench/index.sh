#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark: how long `mamori index` takes to index a standardized storage of about
# 1,000,000 files (18,000 patients x 365 days), the query latency on the index built
# (bench_index: find by ID, prefix, kana, hiragana, birth date; summary; lab matrix; median,
# p99, max over 1,000 sampled patients), and `mamori search --storage` on the storage with
# no index (reads each patient's newest ADT-00 file only).
# usage: bench/index.sh <mamori> <mamori-gen> <bench_index> [storage-dir] [patients] [days]
# A storage-dir holding <dir>/standard is reused as it is; a storage-dir that does not exist
# yet is generated there and kept for the next run. Without one, the storage is generated in
# a temporary folder and deleted at the end (about 9 GB at the default size).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_args index "$@"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }

if [ ! -d "$store/standard" ]; then
    t0=$(now)
    MAMORI_LANG=en "$gen" --out "$store" --patients "$patients" --days "$days" --seed 1 -q
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "generated the storage in %.1f s\n", b - a }'
fi
read -r files bytes < <(find "$store/standard" -type f -printf '%s\n' |
    awk '{ n++; b += $1 } END { printf "%d %d\n", n, b }')

sync
t0=$(now)
"$mamori" -q index --json --storage "$store/standard" --out "$work/index.db" >"$work/build.json"
t1=$(now)
size=$(stat -c %s "$work/index.db")
awk -v f="$files" -v by="$bytes" -v s="$size" -v a="$t0" -v b="$t1" \
    -v j="$(cat "$work/build.json")" 'BEGIN {
    match(j, /"patients":[0-9]+/); p = substr(j, RSTART + 11, RLENGTH - 11)
    match(j, /"labs":[0-9]+/); l = substr(j, RSTART + 7, RLENGTH - 7)
    match(j, /"problems":[0-9]+/); q = substr(j, RSTART + 11, RLENGTH - 11)
    t = b - a
    printf "mamori index: %d files (%.0f MB), %d patients, %d lab results, %d problems\n", f, by / 1e6, p, l, q
    printf "build %.1f s (%.0f files/s), index file %.0f MB\n", t, f / t, s / 1e6
}'

"$bench" "$work/index.db" 1000

# no index: a name (every patient's ADT-00 is read) and an ID (only its folders are)
id=$("$mamori" search --json --index "$work/index.db" --limit 1 1 | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
for q in はせがわ "$id"; do
    times=""
    for _ in 1 2 3; do
        t0=$(now)
        "$mamori" -q search --storage "$store/standard" --limit 5 "$q" >/dev/null || true
        t1=$(now)
        times="$times $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
    done
    kind=name
    [ "$q" = "$id" ] && kind=ID
    echo "$times" | awk -v k="$kind" '{ b = $1; for (i = 2; i <= NF; i++) if ($i < b) b = $i
        printf "mamori search --storage (no index), %s query: first %.3f s, best of 3 %.3f s\n", k, $1, b }'
done
