#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark: decode + parse + extract throughput on one core over a generated storage
# of about 110,000 messages (2,000 patients x 365 days).
# usage: bench/parse.sh <mamori-gen> <bench_parse> [patients] [days]
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/mamori-bench-parse-XXXXXX")
trap 'rm -rf "$work"' EXIT
"$1" --out "$work/g" --patients "${3:-2000}" --days "${4:-365}" --seed 1 -q
taskset -c 0 "$2" "$work/g/standard"
