#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark: how long mamori-gen takes to write a standardized storage of about
# 1,000,000 files (18,000 patients x 365 days), side by side with the time a plain
# `cp -a` takes to write the very same tree on the same disk (the file-system floor).
# usage: bench/gen.sh <mamori-gen> [patients] [days] [work-dir]
set -euo pipefail
gen=$1
patients=${2:-18000}
days=${3:-365}
work=${4:-$(mktemp -d "${TMPDIR:-/tmp}/mamori-bench-gen-XXXXXX")}
trap 'rm -rf "$work"' EXIT

sync
t0=$(date +%s.%N)
summary=$(MAMORI_LANG=en "$gen" --out "$work/g" --patients "$patients" --days "$days" --seed 1)
t1=$(date +%s.%N)
# "<p> patients, <n> files written, <r> renamed, <mb> MB in <s> s"
files=$(echo "$summary" | awk '{print $3}')
bytes=$(echo "$summary" | awk '{printf "%d", $8 * 1000000}')
sync
t2=$(date +%s.%N)
cp -a "$work/g/standard" "$work/copy"
t3=$(date +%s.%N)
awk -v p="$patients" -v d="$days" -v f="$files" -v b="$bytes" \
    -v g0="$t0" -v g1="$t1" -v c0="$t2" -v c1="$t3" 'BEGIN {
    g = g1 - g0; c = c1 - c0
    printf "mamori-gen: %d patients x %d days: %d files, %d bytes\n", p, d, f, b
    printf "mamori-gen %.1f s (%.0f files/s)   cp -a of the same tree %.1f s   ratio %.2f\n", g, f / g, c, g / c
}'
