#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark of the offline viewer on a medium holding a 1,000,000-file storage (18,000
# patients x 365 days): backs the storage up into a fresh repository (default key-slot
# cost), starts `mamori view`, then bench_view measures the time from the passphrase to the
# first search answer and the latency of the search and patient-screen APIs under 20
# concurrent clients (median, p99). The page cache is dropped before the open when possible
# (root), so the open reads the medium cold.
# usage: bench/view.sh <mamori> <mamori-gen> <bench_view> [storage-dir] [patients] [days]
# A storage-dir holding <dir>/standard is reused (and a repository at <dir>/repo too).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_args view "$@"
pass="bench-view-passphrase"
viewer=
cleanup() { [ -n "$viewer" ] && kill "$viewer" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export MAMORI_PASSPHRASE=$pass MAMORI_AUDIT_DIR=$work/audit XDG_CACHE_HOME=$work/cache

if [ ! -d "$store/standard" ]; then
    MAMORI_LANG=en "$gen" --out "$store" --patients "$patients" --days "$days" --seed 1 -q
fi
if [ ! -f "$store/repo/mamori-repo" ]; then
    "$mamori" -q init --repo "$store/repo" --user nurse
    ext=()
    [ -d "$store/extended" ] && ext=("$store/extended")
    /usr/bin/time -f "backup: %e s, %M KiB peak" \
        "$mamori" -q backup --repo "$store/repo" "$store/standard" "${ext[@]}" >/dev/null
fi
"$mamori" generations --repo "$store/repo" | tail -n 2
sync
if [ "$(id -u)" = 0 ]; then echo 3 >/proc/sys/vm/drop_caches; fi
"$mamori" view --repo "$store/repo" --no-browser >"$work/url" 2>/dev/null &
viewer=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
port=$(sed 's|.*:\([0-9]*\)/$|\1|' "$work/url")
"$bench" "$port" "$pass" 20 20
grep VmHWM "/proc/$viewer/status" | awk '{ printf "viewer peak memory: %.0f MiB\n", $2 / 1024 }'
