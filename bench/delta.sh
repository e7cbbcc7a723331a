#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# What the walk's delta reports (the guard's input) cost a one-day backup: a generated
# storage is backed up once, advanced by one day, and the repository copied twice; then the
# day's backup runs on each copy, one with a cheap delta observer (bench_delta on) and one
# without (off), alternating which goes first, RUNS (default 5) times. Prints each pair and
# the ratio of the medians (on / off). Without an observer the walk does no extra work.
# usage: bench/delta.sh <mamori> <mamori-gen> <bench_delta> [patients (2000)] [days (60)]
set -euo pipefail
mamori=$1
gen=$2
bench=$3
patients=${4:-2000}
days=${5:-60}
runs=${RUNS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/mamori-bench-delta-XXXXXX")
trap 'rm -rf "$work"' EXIT
pass="bench-delta-passphrase"
export MAMORI_PASSPHRASE=$pass MAMORI_AUDIT_DIR=$work/audit XDG_CACHE_HOME=$work/cache
export MAMORI_VIEWER_COPY=0

MAMORI_LANG=en "$gen" --out "$work/g" --patients "$patients" --days "$days" --seed 1 -q
"$mamori" -q init --repo "$work/r" --kdf-passes 1 --kdf-memory 8 --allow-weak-secrets
"$bench" "$work/r" "$pass" "$work/g/standard" off >/dev/null
MAMORI_LANG=en "$gen" advance --out "$work/g" --days 1 -q
on=()
off=()
for i in $(seq "$runs"); do
    rm -rf "$work/a" "$work/b"
    cp -a "$work/r" "$work/a"
    cp -a "$work/r" "$work/b"
    sync
    if [ $((i % 2)) = 1 ]; then
        a=$("$bench" "$work/a" "$pass" "$work/g/standard" on)
        b=$("$bench" "$work/b" "$pass" "$work/g/standard" off)
    else
        b=$("$bench" "$work/b" "$pass" "$work/g/standard" off)
        a=$("$bench" "$work/a" "$pass" "$work/g/standard" on)
    fi
    echo "run $i: on $a   off $b   (seconds records files_read)"
    on+=("${a%% *}")
    off+=("${b%% *}")
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
m_on=$(median "${on[@]}")
m_off=$(median "${off[@]}")
awk -v a="$m_on" -v b="$m_off" -v f="$(find "$work/g/standard" -type f | wc -l)" 'BEGIN {
    printf "one-day backup of %d files: median %.3f s with a delta observer, %.3f s without: ratio %.3f\n", f, a, b, a / b }'
