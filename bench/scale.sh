#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark sweep: time against file count for mamori, restic and borg (issue 22's plot).
# For each file count, bench/vs-peers.sh runs once for the tools that count still lacks (borg
# only up to BORG_MAX files, default 200000; `run`, mamori's nightly cycle, when TOOLS names
# it), and its cells are appended to <out-dir>/scale.tsv, one line per (files, tool, step,
# cache state):
#   files  tool  step  cache  seconds  peak_kib  source_files
# (tool "floor": the machine's floors, steps stat, read, tarx, repo). A (files, tool, cache)
# already in the file is skipped, so an interrupted sweep (killed, machine restarted) resumes
# where it stopped when run again with the same out-dir; a point is written only when its
# vs-peers run ended, so a killed point is measured again whole. Each point's report is kept
# as <out-dir>/vs-peers-<files>-<cache>.md. Then scale.png: wall seconds against file count,
# log-log, one panel per step (first, no-change, one-day, restore), one line per tool and
# cache state (gnuplot, Debian gnuplot-nox: `make bench-deps`). With PLOT_ONLY=1 only the
# plot is redrawn from the TSV.
# usage: bench/scale.sh <build-dir> <out-dir> [files...]
#   files: default 10000 20000 50000 100000 200000 500000 1000000
#   CACHE=cold|warm|both (default cold; passed to vs-peers.sh), TOOLS (default
#   "mamori restic borg"), BORG_MAX, WORK (vs-peers.sh's work-dir, default ${TMPDIR:-/tmp}),
#   PNG (default <out-dir>/scale.png)
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 <build-dir> <out-dir> [files...]" >&2; exit 2; }
build=$1
mkdir -p "$2"
out=$(cd "$2" && pwd)
shift 2
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(10000 20000 50000 100000 200000 500000 1000000)
for n in "${counts[@]}"; do
    case $n in '' | *[!0-9]*) echo "scale: '$n' is not a file count" >&2; exit 2 ;; esac
done
here=$(cd "$(dirname "$0")" && pwd)
cache=${CACHE:-cold}
case $cache in
cold) modes=(cold) ;;
warm) modes=(warm) ;;
both) modes=(cold warm) ;;
*) echo "scale: CACHE is cold, warm or both" >&2; exit 2 ;;
esac
read -r -a tools <<<"${TOOLS:-mamori restic borg}"
borg_max=${BORG_MAX:-200000}
tsv=$out/scale.tsv
png=${PNG:-$out/scale.png}
touch "$tsv"

# done_point FILES TOOL MODE: the TSV holds a line of that point
done_point() {
    awk -F'\t' -v f="$1" -v t="$2" -v m="$3" '$1 == f && $2 == t && $4 == m { found = 1 }
        END { exit !found }' "$tsv"
}

if [ -z "${PLOT_ONLY:-}" ]; then
    for n in "${counts[@]}"; do
        for m in "${modes[@]}"; do
            todo=()
            for t in "${tools[@]}"; do
                [ "$t" != borg ] || [ "$n" -le "$borg_max" ] || continue
                done_point "$n" "$t" "$m" || todo+=("$t")
            done
            if [ ${#todo[@]} = 0 ]; then
                echo "scale: $n files, $m: measured already" >&2
                continue
            fi
            echo "scale: $n files, $m: ${todo[*]}" >&2
            part=$out/.part-$n-$m.tsv
            rm -f "$part"
            rc=0
            TOOLS="${todo[*]}" CACHE=$m TSV=$part OUT=$out/vs-peers-$n-$m.md \
                "$here/vs-peers.sh" "$build" "$n" "${WORK:-${TMPDIR:-/tmp}}" >"$out/vs-peers-$n-$m.log" 2>&1 || rc=$?
            if [ "$rc" != 0 ] || [ ! -s "$part" ]; then
                echo "scale: $n files, $m: vs-peers.sh failed (exit $rc): $out/vs-peers-$n-$m.log" >&2
                rm -f "$part"
                exit 1
            fi
            # only the cells not yet in the TSV (the floors are measured on every run)
            awk -F'\t' 'FILENAME == ARGV[1] { seen[$1 FS $2 FS $3 FS $4] = 1; next }
                !(($1 FS $2 FS $3 FS $4) in seen)' "$tsv" "$part" >"$part.new"
            cat "$part.new" >>"$tsv"
            rm -f "$part" "$part.new"
        done
    done
fi

command -v gnuplot >/dev/null || { echo "scale: gnuplot missing (make bench-deps): no plot" >&2; exit 1; }
# one data file per (step, tool, cache): "files seconds", sorted by files
data=$(mktemp -d "${TMPDIR:-/tmp}/mamori-scale-XXXXXX")
trap 'rm -rf "$data"' EXIT
awk -F'\t' -v d="$data" '$5 != "failed" && $2 != "floor" {
    f = d "/" $3 "." $2 "." $4; print $1, $5 >> f }' "$tsv"
awk -F'\t' -v d="$data" '$5 != "failed" && $2 == "floor" {
    s = ($3 == "stat") ? "nochange advanced" : ($3 == "read") ? "first" : ($3 == "tarx") ? "restore" : ""
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) { f = d "/" a[i] ".floor-" $3 "." $4; print $1, $5 >> f } }' "$tsv"
for f in "$data"/*; do [ ! -f "$f" ] || sort -n -o "$f" "$f"; done
{
    echo "set terminal pngcairo size 1400,1000 font ',10' noenhanced"
    echo "set output '$png'"
    echo "set multiplot layout 2,2 title 'mamori, restic, borg: wall seconds against file count ($(date -u +%Y-%m-%d), $(nproc) cores)'"
    echo "set logscale xy; set grid; set key top left; set xlabel 'files'; set ylabel 'seconds'"
    echo "set format x '%.0s%c'"
    for s in first nochange advanced restore; do
        case $s in
        first) title="first backup" ;;
        nochange) title="no-change backup" ;;
        advanced) title="backup after one more day" ;;
        restore) title="full restore" ;;
        esac
        echo "set title '$title'"
        plots=()
        for f in "$data/$s".*; do
            [ -f "$f" ] || continue
            name=${f#"$data/$s".}
            case ${name%.*} in
            mamori) colour="#1f77b4" ;;
            run) colour="#17becf" ;;
            restic) colour="#d62728" ;;
            borg) colour="#2ca02c" ;;
            *) colour="#444444" ;;
            esac
            case $name in
            floor-*.warm) style="lines dt 3 lw 1.5" ;;
            floor-*) style="lines dt 2 lw 1.5" ;;
            *.warm) style="linespoints lw 2 pt 6" ;;
            *) style="linespoints lw 2 pt 7" ;;
            esac
            style+=" lc rgb '$colour'"
            plots+=("'$f' using 1:2 with $style title '${name/./ }'")
        done
        if [ ${#plots[@]} = 0 ]; then
            echo "set label 1 'no data' at graph 0.5, 0.5 center; unset logscale; plot [0:1] [0:1] NaN notitle; unset label 1; set logscale xy"
        else
            (IFS=,; echo "plot ${plots[*]}")
        fi
    done
    echo "unset multiplot"
} >"$data/plot.gp"
gnuplot "$data/plot.gp"
echo "scale: $(wc -l <"$tsv") cells in $tsv; plot $png" >&2
