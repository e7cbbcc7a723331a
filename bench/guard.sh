#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark: what the ransomware guard (issue 18, docs/guard.md) adds to a one-day backup.
# A generated storage of about <files> files (standard + extended, 365 days, seed 1) is backed
# up in full into two repositories, one judged by the guard and one with `--no-guard`, each
# with its own cache folder. Then, <reps> times: `mamori-gen advance --days 1` and the day's
# backup into both repositories, one right after the other, the order alternating from one
# day to the next (guard first on odd days), each after `sync` (and dropping the page cache
# when root). Prints the times of every day, the median of each side and the ratio
# guard / no-guard (the issue's target: at most 1.10), and the full backups' times as well.
# With OUT set the Markdown table is also written to $OUT.
# usage: bench/guard.sh <build-dir> [files] [reps] [work-dir]
#   files: 200000 (default); reps: 5 (default); work-dir: ${TMPDIR:-/tmp} (removed at exit)
set -euo pipefail

cmdline="${OUT+OUT=$(printf '%q' "$OUT") }$(printf '%q' "$0")$(printf ' %q' "$@")"
if [ $# -lt 1 ] || [ $# -gt 4 ]; then echo "usage: $0 <build-dir> [files] [reps] [work-dir]" >&2; exit 2; fi
build=$(cd "$1" 2>/dev/null && pwd) || { echo "guard-bench: no build folder '$1'" >&2; exit 1; }
files=${2:-200000}
reps=${3:-5}
parent=${4:-${TMPDIR:-/tmp}}
case $files$reps in '' | *[!0-9]*) echo "guard-bench: files and reps are numbers" >&2; exit 2 ;; esac
gen=$build/tools/gen/mamori-gen
mamori=$build/src/cli/mamori
if [ ! -x "$gen" ] || [ ! -x "$mamori" ]; then echo "guard-bench: build first" >&2; exit 1; fi
# bench/gen.sh: 18,000 patients x 365 days gave 1,052,596 files (standard storage)
patients=$(((files * 18000 + 526298) / 1052596))

mkdir -p "$parent"
W=$(mktemp -d "$(cd "$parent" && pwd)/mamori-bench-guard-XXXXXX")
trap 'rm -rf "$W"' EXIT
export MAMORI_PASSPHRASE=guard-bench-passphrase MAMORI_VIEWER_COPY=0
export MAMORI_AUDIT_DIR=$W/audit XDG_STATE_HOME=$W/state XDG_CACHE_HOME=$W/xdg-cache

drop=0
if [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/drop_caches ] &&
    { sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
    drop=1
fi
settle() {
    sync
    [ "$drop" = 0 ] || echo 3 >/proc/sys/vm/drop_caches
}
now() { date +%s.%N; }

echo "guard-bench: generating $patients patients x 365 days (standard + extended)" >&2
"$gen" --out "$W/g" --patients "$patients" --days 365 --seed 1 --extended -q
nfiles=$(find "$W/g/standard" "$W/g/extended" -type f | wc -l)
for side in guard noguard; do
    "$mamori" -q init --repo "$W/repo-$side" --kdf-passes 1 --kdf-memory 8 --allow-weak-secrets
done

# backup <side>: one backup of the storage into that side's repository; prints its seconds
backup() {
    local extra=()
    [ "$1" = noguard ] && extra=(--no-guard)
    settle
    local t0 t1 rc=0
    t0=$(now)
    "$mamori" -q backup --repo "$W/repo-$1" --cache "$W/cache-$1" "${extra[@]}" \
        "$W/g/standard" "$W/g/extended" >"$W/last-$1.out" 2>"$W/last-$1.err" || rc=$?
    t1=$(now)
    # 0 clean; a guard verdict other than clean on a normal day would be a false alarm: say so
    [ "$rc" = 0 ] || { echo "guard-bench: backup ($1) exited $rc" >&2; cat "$W/last-$1.err" >&2; exit 1; }
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

full_g=$(backup guard)
full_n=$(backup noguard)
echo "guard-bench: full backups: guard $full_g s, no-guard $full_n s" >&2
rows=()
gs=()
ns=()
for ((d = 1; d <= reps; d++)); do
    "$gen" advance --out "$W/g" --days 1 -q
    if [ $((d % 2)) = 1 ]; then
        g=$(backup guard)
        n=$(backup noguard)
        order="guard, no-guard"
    else
        n=$(backup noguard)
        g=$(backup guard)
        order="no-guard, guard"
    fi
    gs+=("$g")
    ns+=("$n")
    rows+=("| $d | $order | $g | $n | $(awk -v a="$g" -v b="$n" 'BEGIN { printf "%.3f", a / b }') |")
    echo "guard-bench: day $d ($order): guard $g s, no-guard $n s" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mg=$(median "${gs[@]}")
mn=$(median "${ns[@]}")
table=$(
    echo "Command: \`$cmdline\` — $(date -u +%F), $(nproc) cores, $nfiles files ($patients patients x 365 days, standard + extended), page cache $([ "$drop" = 1 ] && echo dropped before every backup || echo warm: not root)."
    echo
    echo "| day | order | guard (s) | --no-guard (s) | ratio |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo "| **median** | | **$mg** | **$mn** | **$(awk -v a="$mg" -v b="$mn" 'BEGIN { printf "%.3f", a / b }')** |"
    echo
    echo "Full (first) backup of the same storage: guard $full_g s, --no-guard $full_n s (ratio $(awk -v a="$full_g" -v b="$full_n" 'BEGIN { printf "%.3f", a / b }'))."
)
echo "$table"
[ -n "${OUT:-}" ] && echo "$table" >"$OUT"
exit 0
