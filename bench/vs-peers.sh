#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark: mamori side by side with restic and BorgBackup (the Debian 12 packages) on the
# same generated hospital storage (standard + extended, <patients> x 365 days, seed 1), all
# encrypted: first backup, a backup with nothing changed, a backup after `mamori-gen advance`
# added one day, a full restore of the latest generation into an empty folder, a read-verify
# of every stored byte, and the repository size. Each step is timed with /usr/bin/time (wall
# seconds, peak RSS) after `sync` and, when root, after dropping the page cache. Each tool
# keeps its cache in the work folder. A failing tool step prints "<tool>: failed" in its cells
# and the run goes on; a failing generation aborts. Prints a Markdown table; with OUT set it
# is also written to $OUT (a file, or a folder to hold vs-peers-<files>.md; OUT= empty: next
# to the work folder).
# usage: bench/vs-peers.sh <build-dir> <files> [work-dir]
#   files: 200000 or 1000000 (any count works: patients = files x 18000 / 1052596)
#   work-dir: where the temporary folder goes (default ${TMPDIR:-/tmp}); it is removed at exit
#   PATIENTS=N DAYS=D override the generated size (smoke tests only)
set -euo pipefail

cmdline=""
for v in PATIENTS DAYS OUT TMPDIR; do
    [ -z "${!v+set}" ] || cmdline+="$v=$(printf '%q' "${!v}") "
done
cmdline+="$(printf '%q' "$0")$(printf ' %q' "$@")"

usage() {
    echo "usage: $0 <build-dir> <files> [work-dir]" >&2
    exit 2
}
if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi
case $2 in '' | *[!0-9]*) usage ;; esac
[ "$2" -gt 0 ] || usage
build=$(cd "$1" 2>/dev/null && pwd) || { echo "vs-peers: no build folder '$1'" >&2; exit 1; }
files=$2
parent=${3:-${TMPDIR:-/tmp}}
gen=$build/tools/gen/mamori-gen
mamori=$build/src/cli/mamori
walk=$build/bench/bench_walk
for x in "$gen" "$mamori" "$walk"; do
    [ -x "$x" ] || { echo "vs-peers: no '$x' (build first)" >&2; exit 1; }
done
for t in restic borg /usr/bin/time; do
    command -v "$t" >/dev/null || { echo "vs-peers: '$t' missing (make bench-deps)" >&2; exit 1; }
done
patients=${PATIENTS:-$(((files * 18000 + 526298) / 1052596))}
days=${DAYS:-365}
read -r -a tools <<< "${TOOLS:-mamori restic borg}" # TOOLS="mamori restic": a subset

mkdir -p "$parent"
parent=$(cd "$parent" && pwd)
W=$(mktemp -d "$parent/mamori-vs-peers-XXXXXX")
cleanup() {
    echo "vs-peers: removing $W" >&2
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$W/log" "$W/repo" "$W/cache/mamori" "$W/cache/restic" "$W/cache/borg"

# Caches and keys stay in the work folder, one folder per tool (borg would prefer
# XDG_CACHE_HOME over BORG_BASE_DIR, hence BORG_CACHE_DIR/BORG_CONFIG_DIR).
export MAMORI_LANG=en
export XDG_CACHE_HOME=$W/cache/mamori XDG_CONFIG_HOME=$W/cache/mamori/config
export MAMORI_AUDIT_DIR=$W/cache/mamori/audit # this host's audit logs stay in the work folder
export RESTIC_CACHE_DIR=$W/cache/restic
export BORG_BASE_DIR=$W/cache/borg BORG_CACHE_DIR=$W/cache/borg/cache BORG_CONFIG_DIR=$W/cache/borg/config
export MAMORI_PASSPHRASE=vs-peers-benchmark RESTIC_PASSWORD=vs-peers-benchmark BORG_PASSPHRASE=vs-peers-benchmark

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Dropping the page cache needs root and a writable /proc/sys (not in every container).
drop=0
if [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/drop_caches ] &&
    { sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
    drop=1
fi
settle() {
    sync
    [ "$drop" = 0 ] || echo 3 >/proc/sys/vm/drop_caches
}

# measure KEY DIR CMD...: runs CMD in DIR; res[KEY] becomes "<wall s> <peak KiB>" or "failed".
declare -A res
measure() {
    local key=$1 dir=$2 rc=0
    shift 2
    settle
    (cd "$dir" && exec /usr/bin/time -f '%e %M' -o "$W/time.out" "$@") \
        </dev/null >"$W/log/$key.log" 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then
        res[$key]=$(tail -n 1 "$W/time.out")
        echo "vs-peers: $key: ${res[$key]% *} s" >&2
    else
        res[$key]=failed
        echo "vs-peers: $key: failed (exit $rc); its last output:" >&2
        tail -n 5 "$W/log/$key.log" | sed 's/^/    /' >&2
    fi
}

# run KEY CMD...: an untimed setup step (init); a failure is reported, never fatal.
run() {
    local key=$1
    shift
    "$@" </dev/null >"$W/log/$key.log" 2>&1 && return 0
    echo "vs-peers: $key: failed; its last output:" >&2
    tail -n 5 "$W/log/$key.log" | sed 's/^/    /' >&2
    return 1
}

srcs=("$W/src/standard" "$W/src/extended")
backup() { # tool step archive-number
    local r=$W/repo/$1
    case $1 in
    mamori) measure "$1.$2" "$W" "$mamori" -q backup --repo "$r" "${srcs[@]}" ;;
    restic) measure "$1.$2" "$W" restic -r "$r" backup --quiet "${srcs[@]}" ;;
    borg) measure "$1.$2" "$W" borg create "$r::g$3" "${srcs[@]}" ;;
    esac
}

count_files() { # root: regular files and their bytes
    find "$1" -type f -printf '%s\n' | awk '{ n++; b += $1 } END { printf "%d %d\n", n, b }'
}

# 1. the storage
echo "vs-peers: generating $patients patients x $days days in $W/src" >&2
settle
t0=$(now)
"$gen" --out "$W/src" --patients "$patients" --days "$days" --seed 1 --extended -q
t1=$(now)
gen_s=$(elapsed "$t0" "$t1")
read -r std_n std_b < <(count_files "$W/src/standard")
read -r ext_n ext_b < <(count_files "$W/src/extended")

# 1b. what the source's file system alone costs (bench/bench_walk.c, 16 threads, same page
# cache state as the tools): listing every folder and reading every entry's information (the
# least a no-change backup must do), and also reading every file (the least a first backup
# must do). No tool can be faster than these.
measure floor.stat "$W" "$walk" --threads 16 "${srcs[@]}"
measure floor.read "$W" "$walk" --threads 16 --read "${srcs[@]}"

# 2a, 2b. first and no-change backups
for t in "${tools[@]}"; do
    r=$W/repo/$t
    case $t in
    mamori) run "$t.init" "$mamori" -q init --repo "$r" || true ;;
    restic) run "$t.init" restic -r "$r" init || true ;;
    borg) run "$t.init" borg init --encryption=repokey-blake2 "$r" || true ;;
    esac
    backup "$t" first 1
    backup "$t" nochange 2
done

# 2c. one more day, then every tool backs up the same tree
t0=$(now)
"$gen" advance --out "$W/src" --days 1 -q
t1=$(now)
adv_s=$(elapsed "$t0" "$t1")
read -r all_n all_b < <(count_files "$W/src")
all_n=$((all_n - 1)) # mamori-gen.state is not backed up
for t in "${tools[@]}"; do
    backup "$t" advanced 3
done

# 2d-2f. restore, read-verify, size; each repository and cache is deleted once measured
declare -A restored removed
for t in "${tools[@]}"; do
    r=$W/repo/$t
    d=$W/restore
    mkdir "$d"
    case $t in
    mamori) measure "$t.restore" "$d" "$mamori" -q restore --repo "$r" latest --to "$d" ;;
    restic) measure "$t.restore" "$d" restic -r "$r" restore latest --target "$d" ;;
    borg) measure "$t.restore" "$d" borg extract "$r::g3" ;;
    esac
    read -r n _ < <(count_files "$d")
    restored[$t]=$n
    t0=$(now)
    rm -rf "$d"
    t1=$(now)
    removed[$t]=$(elapsed "$t0" "$t1")
    case $t in
    mamori) measure "$t.verify" "$W" "$mamori" -q verify --repo "$r" --read-data ;;
    restic) measure "$t.verify" "$W" restic -r "$r" check --read-data ;;
    borg) measure "$t.verify" "$W" borg check --verify-data "$r" ;;
    esac
    if [ -d "$r" ]; then
        res[$t.size]=$(du -sb "$r" | cut -f1)
    else
        res[$t.size]=failed
    fi
    res[$t.cache]=$(du -sb "$W/cache/$t" | cut -f1)
    rm -rf "$r" "${W:?}/cache/$t"
done

# 3. the report
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
cell() { # tool key field(1 wall, 2 peak)
    local v=${res[$1.$2]}
    if [ "$v" = failed ]; then
        echo "$1: failed"
    elif [ "$3" = 1 ]; then
        echo "${v% *}"
    else
        mib "${v#* }"
    fi
}
ratio() { # key field(1 wall, size bytes): best peer / mamori
    local m=${res[mamori.$1]:-failed} a=${res[restic.$1]:-failed} b=${res[borg.$1]:-failed}
    awk -v m="${m%% *}" -v a="${a%% *}" -v b="${b%% *}" 'BEGIN {
        best = ""
        if (a != "failed") best = a
        if (b != "failed" && (best == "" || b + 0 < best + 0)) best = b
        if (m == "failed" || best == "" || m + 0 == 0) print "–"
        else printf "%.2f\n", best / m
    }'
}
row() { # label key
    local line="| $1 |" t
    for t in "${tools[@]}"; do
        line+=" $(cell "$t" "$2" 1) | $(cell "$t" "$2" 2) |"
    done
    echo "$line $(ratio "$2") |"
}
sizerow() { # label key
    local line="| $1 |" t v
    for t in "${tools[@]}"; do
        v=${res[$t.$2]}
        if [ "$v" = failed ]; then
            line+=" $t: failed | |"
        else
            line+=" $(awk -v b="$v" 'BEGIN { printf "%.1f MiB", b / 1048576 }') | |"
        fi
    done
    echo "$line $3 |"
}
version() { "$@" 2>/dev/null | head -n 1 || echo "missing"; }

report=$W/report.md
{
    echo "# mamori vs restic and BorgBackup, $files files"
    echo
    echo '```sh'
    echo "$cmdline"
    echo '```'
    echo
    echo "- date $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores," \
        "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), kernel $(uname -r)"
    echo "- $(version "$mamori" --version); $(version restic version);" \
        "$(version borg --version)"
    echo "- source: $patients patients x $days days, seed 1 (generated in $gen_s s), then" \
        "\`mamori-gen advance --days 1\` ($adv_s s): standard $std_n files + extended $ext_n files," \
        "$(((std_b + ext_b) / 1000000)) MB before; $all_n files, $((all_b / 1000000)) MB after"
    if [ "$drop" = 1 ]; then
        echo "- before every step: \`sync; echo 3 > /proc/sys/vm/drop_caches\` (cold page cache)"
    else
        echo "- before every step: \`sync\` only (not root or /proc/sys read-only: warm page cache)"
    fi
    echo "- encrypted: mamori \`init --repo R\`, restic \`init\` (default repository version)," \
        "borg \`init --encryption=repokey-blake2\`; caches in the work folder; restic and" \
        "borg with their default compression"
    line="- restored files (expected $all_n):"
    for t in "${tools[@]}"; do
        line+=" $t ${restored[$t]}"
        [ "${restored[$t]}" = "$all_n" ] || line+=" (MISMATCH)"
        line+=","
    done
    line="${line%,}; deleting the restored tree (not measured):"
    for t in "${tools[@]}"; do line+=" $t ${removed[$t]:-?} s,"; done
    echo "${line%,}"
    echo
    line="| step |"
    sep="|---|"
    for t in "${tools[@]}"; do
        line+=" $t s | $t MiB |"
        sep+="---:|---:|"
    done
    echo "$line peer best / mamori |"
    echo "$sep---:|"
    row "first backup" first
    row "no-change backup" nochange
    row "backup after one more day" advanced
    row "full restore of the latest" restore
    row "read-verify of all data" verify
    sizerow "repository size (du -sb)" size "$(ratio size)"
    sizerow "local cache (du -sb)" cache ""
    echo
    echo "s: wall seconds; MiB: peak resident memory (/usr/bin/time %M); ratio: the faster (or" \
        "smaller) of restic and borg divided by mamori, above 1 means mamori is ahead."
    echo
    echo "The source's file system alone (\`bench_walk\`, 16 threads, no hashing, no writing):"
    echo
    echo "| floor | s | bounds |"
    echo "|---|---:|---|"
    echo "| list every folder, read every entry's information | ${res[floor.stat]% *} |" \
        "no-change and one-more-day backups |"
    echo "| the same and read every file | ${res[floor.read]% *} | first backup |"
} >"$report"
cat "$report"
if [ -n "${OUT+set}" ]; then
    out=${OUT:-$parent/vs-peers-$files.md}
    [ ! -d "$out" ] || out=$out/vs-peers-$files.md
    cp "$report" "$out"
    echo "vs-peers: table written to $out" >&2
fi
