#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The full restore drill (`mamori drill`, issue 21) on a generated storage of about N files:
# mamori-gen writes it (standard + extended, 365 days, seed 1; patients scaled so that 18,000
# patients give about 1,052,596 files, as bench/cycle-window.sh does), `mamori backup` and
# `mamori verify --read-data` make a clean, verified generation, the page cache is dropped when
# root (the medium and the scratch folder are read cold), and `mamori drill --json` runs once;
# its figures are printed as a Markdown table (docs/PERFORMANCE.md "Restore drill").
# usage: bench/drill.sh <build> [files (200000)] [work folder (${TMPDIR:-/tmp})]
#        OUT=<file> also writes the table there
set -euo pipefail
build=$1
files=${2:-200000}
base=${3:-${TMPDIR:-/tmp}}
mamori=$build/src/cli/mamori
gen=$build/tools/gen/mamori-gen
work=$(mktemp -d "$base/mamori-bench-drill-XXXXXX")
trap 'rm -rf "$work"' EXIT
export MAMORI_PASSPHRASE=bench-drill-passphrase MAMORI_AUDIT_DIR=$work/audit
export XDG_CACHE_HOME=$work/cache MAMORI_CACHE=$work/cache MAMORI_VIEWER_COPY=0 TMPDIR=$work/tmp
unset MAMORI_LANG
mkdir -p "$work/tmp"
patients=$(((files * 18000 + 526298) / 1052596))
cold() { sync; if [ "$(id -u)" = 0 ]; then echo 3 >/proc/sys/vm/drop_caches; fi; }
t0=$(date +%s.%N)
"$gen" --out "$work/g" --patients "$patients" --days 365 --seed 1 --extended -q
t1=$(date +%s.%N)
n=$(find "$work/g" -type f | wc -l)
"$mamori" -q init --repo "$work/r" --kdf-passes 1 --kdf-memory 8 --allow-weak-secrets
"$mamori" -q backup --repo "$work/r" "$work/g"
"$mamori" -q verify --repo "$work/r" --read-data
cold
/usr/bin/time -f "%e %M" -o "$work/time" "$mamori" --json drill --repo "$work/r" \
    --scratch "$work/tmp" --report "$work/report.html" >"$work/drill.json"
python3 - "$work/drill.json" "$work/time" "$patients" "$n" "$t0" "$t1" "$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo -)" <<'PY' | tee "${OUT:-/dev/null}"
import json, sys
d = json.load(open(sys.argv[1]))
wall, rss = open(sys.argv[2]).read().split()[-2:]
t = d['timings']
print('- storage: %s patients x 365 days, seed 1, standard + extended: %s files (generated in %.1f s); commit %s'
      % (sys.argv[3], sys.argv[4], float(sys.argv[6]) - float(sys.argv[5]), sys.argv[7]))
print('- drill: result %s, %d files, %.1f MiB restored, %d of %d patients read, wall %s s, peak RSS %s KiB'
      % (d['result'], d['files'], d['bytes'] / 1048576, d['patients']['sampled'],
         d['patients']['total'], wall, rss))
print()
print('| figure | seconds |')
print('|---|---:|')
for k, name in (('unlock_s', 'key slot unlock'), ('viewer_s', 'time to a usable viewer (unlock included)'),
                ('restore_s', 'full restore (every byte checked)'), ('compare_s', 'second check (re-read, re-hash)'),
                ('patients_s', 'sampled patients read, compared with their restored records'),
                ('cleanup_s', 'scratch copy removed'), ('total_s', 'whole drill')):
    print('| %s | %s |' % (name, '-' if t[k] is None else '%.2f' % t[k]))
print('| throughput of the restore | %s MiB/s |' % ('-' if d['mib_s'] is None else '%.1f' % d['mib_s']))
PY
