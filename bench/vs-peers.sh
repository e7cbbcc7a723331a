#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark: mamori side by side with restic and BorgBackup (the Debian 12 packages) on the
# same generated hospital storage (standard + extended, <patients> x 365 days, seed 1), all
# encrypted, against the floors of the machine measured in the same run, and the ratios of
# issue 22's targets (docs/PERFORMANCE.md "Repository: mamori against restic and BorgBackup").
#
# Steps, each for every tool in TOOLS and each page-cache state in CACHE:
#   first backup; a backup with nothing changed; `mamori-gen advance --days 1`; a backup of
#   the one new day; a full restore of the latest generation into an empty folder; a
#   read-verify of every stored byte; the repository's size. The tool `run` is the nightly
#   path: `mamori run` (medium = a folder, the guard on, staging, the seal) first cycle,
#   no-change cycle and one-day cycle (no restore or verify lines).
#   Floors (no tool, bench/bench_walk.c and tar, same run, same cache state): walk+stat and
#   walk+read of the source (after the new day), `tar x` of the same tree (its archive made
#   once, untimed) into an empty folder on the same file system, and reading every file of
#   mamori's repository (the read-verify floor).
# Each timed command runs under /usr/bin/time (wall seconds, peak RSS). Before it:
#   cold: `sync; echo 3 > /proc/sys/vm/drop_caches` (needs root and a writable /proc/sys);
#   warm: `sync`, then every input of the command read once with `bench_walk --read` (a backup:
#     the source, the tool's repository and cache; a restore or verify: the repository and
#     cache; `tar x`: the archive), so the command finds it all in the page cache.
#   CACHE=both measures every step both ways, one after the other, each way on its own
#   repository (two repositories per tool, same source state), so the figures sit side by side.
# After every large removal (a restored tree, the `tar x` output, a repository): `quiesce`:
#   sync, then wait until the disk has no request in flight and writes and discards under
#   16 MiB in 2 s (at most QUIESCE_MAX s, default 30): / is ext4 with online discard here,
#   and a removal's discards otherwise land in the next timed command.
# A failing tool step prints "failed" in its cells and its ratios say "n/a"; the run goes on. A
# missing tool (not on PATH) is left out with a note. A failing generation aborts.
# Prints two Markdown tables (the steps; the targets, met or not); with OUT set the report is
# also written to $OUT (a file, or a folder to hold vs-peers-<files>.md); with TSV set one
# line per measured cell is appended to $TSV (bench/scale.sh reads it):
#   files  tool  step  cache  seconds  peak_kib  source_files
# usage: bench/vs-peers.sh <build-dir> <files> [work-dir]
#   files: 200000 or 1000000 (any count works: patients = files x 18000 / 1052596)
#   work-dir: where the temporary folder goes (default ${TMPDIR:-/tmp}); it is removed at exit
#   TOOLS="mamori run restic borg" (default; any subset), CACHE=cold|warm|both (default both)
#   PATIENTS=N DAYS=D override the generated size (smoke tests only)
set -euo pipefail

cmdline=""
for v in PATIENTS DAYS TOOLS CACHE QUIESCE_MAX QUIESCE_SECTORS OUT TSV TMPDIR; do
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
for t in /usr/bin/time tar; do
    command -v "$t" >/dev/null || { echo "vs-peers: '$t' missing (make bench-deps)" >&2; exit 1; }
done
patients=${PATIENTS:-$(((files * 18000 + 526298) / 1052596))}
days=${DAYS:-365}
notes=()
tools=()
read -r -a wanted <<<"${TOOLS:-mamori run restic borg}"
for t in "${wanted[@]}"; do
    case $t in
    mamori | run) tools+=("$t") ;;
    restic | borg)
        if command -v "$t" >/dev/null; then
            tools+=("$t")
        else
            notes+=("$t is not installed (make bench-deps): left out")
            echo "vs-peers: '$t' missing (make bench-deps): left out" >&2
        fi
        ;;
    *) echo "vs-peers: unknown tool '$t' (mamori, run, restic, borg)" >&2; exit 2 ;;
    esac
done
case ${CACHE:-both} in
cold) modes=(cold) ;;
warm) modes=(warm) ;;
both) modes=(cold warm) ;;
*) echo "vs-peers: CACHE is cold, warm or both" >&2; exit 2 ;;
esac
has() { # has TOOL: TOOL is measured in this run
    local t
    for t in "${tools[@]}"; do [ "$t" != "$1" ] || return 0; done
    return 1
}

# Dropping the page cache needs root and a writable /proc/sys (not in every container).
if [ "${modes[0]}" = cold ] &&
    ! { [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/drop_caches ] &&
        { sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; }; then
    echo "vs-peers: CACHE=cold needs root and a writable /proc/sys/vm/drop_caches (CACHE=warm)" >&2
    exit 1
fi

mkdir -p "$parent"
parent=$(cd "$parent" && pwd)
W=$(mktemp -d "$parent/mamori-vs-peers-XXXXXX")
cleanup() {
    echo "vs-peers: removing $W" >&2
    rm -rf "$W"
}
trap cleanup EXIT
# Interrupted (INT, TERM): the report of what was measured so far, marked so, then the exit;
# no TSV lines (bench/scale.sh measures an interrupted point again).
interrupted() {
    trap - INT TERM
    partial=1
    write_report || true
    exit "$1"
}
partial=0
trap 'interrupted 130' INT
trap 'interrupted 143' TERM
declare -A res restored removed
gen_s='?' adv_s='?' std_n=0 std_b=0 ext_n=0 ext_b=0 all_n=0 all_b=0
mkdir -p "$W/log" "$W/repo" "$W/cache" "$W/tar"

export MAMORI_LANG=en
export MAMORI_PASSPHRASE=vs-peers-benchmark RESTIC_PASSWORD=vs-peers-benchmark BORG_PASSPHRASE=vs-peers-benchmark
# Caches, keys and audit logs stay in the work folder, one folder per tool and cache state
# (borg would prefer XDG_CACHE_HOME over BORG_BASE_DIR, hence BORG_CACHE_DIR/BORG_CONFIG_DIR).
toolenv() { # toolenv TOOL MODE: the environment words of TOOL's commands
    local c=$W/cache/$1.$2
    case $1 in
    mamori | run) echo "XDG_CACHE_HOME=$c XDG_CONFIG_HOME=$c/config MAMORI_CACHE=$c/index MAMORI_AUDIT_DIR=$c/audit" ;;
    restic) echo "RESTIC_CACHE_DIR=$c" ;;
    borg) echo "BORG_BASE_DIR=$c BORG_CACHE_DIR=$c/cache BORG_CONFIG_DIR=$c/config" ;;
    esac
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# quiesce: sync, then wait until the disk holding the work folder is calm: no request in
# flight, and less than 16 MiB written and 16 MiB discarded over the last 2 s (QUIESCE_SECTORS,
# 512-byte sectors per 2 s; others' writes on a shared machine never stop entirely), at most
# QUIESCE_MAX s (default 30). Used after every large removal (and so before the next timed
# command); before any other timed command: `sync`.
disk=$(lsblk -no PKNAME "$(df --output=source "$W" | tail -n 1)" 2>/dev/null | head -n 1 || true)
[ -n "$disk" ] || disk=$(basename "$(df --output=source "$W" | tail -n 1)")
diskstat() { awk -v d="$disk" '$3 == d { print $12, $10, $17 }' /proc/diskstats 2>/dev/null; }
quiesce() {
    local waited=0 a b lim=${QUIESCE_SECTORS:-32768}
    sync
    a=$(diskstat)
    [ -n "$a" ] || return 0
    while [ "$waited" -lt "${QUIESCE_MAX:-30}" ]; do
        sleep 2
        waited=$((waited + 2))
        b=$(diskstat)
        # shellcheck disable=SC2086 # word splitting on purpose: "inflight written discarded"
        if awk -v l="$lim" 'BEGIN { split(ARGV[1], a, " "); split(ARGV[2], b, " ");
            exit !(b[1] == 0 && b[2] - a[2] < l && b[3] - a[3] < l) }' "$a" "$b"; then
            break
        fi
        a=$b
    done
    quiesce_s=$((quiesce_s + waited))
}
quiesce_s=0

# prep MODE INPUT...: the page-cache state before a timed command. cold: drop it; warm: read
# every INPUT folder (its listing, entries and files) once, so the command finds it cached.
prep() {
    local mode=$1 d ins=()
    shift
    sync
    if [ "$mode" = cold ]; then
        echo 3 >/proc/sys/vm/drop_caches
    else
        for d in "$@"; do [ ! -d "$d" ] || ins+=("$d"); done
        [ ${#ins[@]} = 0 ] || "$walk" --threads 16 --read "${ins[@]}" >/dev/null
    fi
}

# measure KEY DIR CMD...: runs CMD in DIR; res[KEY] becomes "<wall s> <peak KiB>" or "failed".
measure() {
    local key=$1 dir=$2 rc=0
    shift 2
    (cd "$dir" && exec /usr/bin/time -f '%e %M' -o "$W/time.out" "$@") \
        </dev/null >"$W/log/$key.log" 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then
        res[$key]=$(tail -n 1 "$W/time.out")
        echo "vs-peers: $key: ${res[$key]% *} s, $((${res[$key]#* } / 1024)) MiB" >&2
    else
        res[$key]=failed
        echo "vs-peers: $key: failed (exit $rc); its last output:" >&2
        tail -n 5 "$W/log/$key.log" | sed 's/^/    /' >&2
    fi
}

# setup KEY CMD...: an untimed setup step (init); a failure is reported, never fatal.
setup() {
    local key=$1
    shift
    "$@" </dev/null >"$W/log/$key.log" 2>&1 && return 0
    echo "vs-peers: $key: failed; its last output:" >&2
    tail -n 5 "$W/log/$key.log" | sed 's/^/    /' >&2
    return 1
}

srcs=("$W/src/standard" "$W/src/extended")
runday=(2026-12-07 2026-12-08 2026-12-09) # the run's dates: first, no-change, one-day

# init TOOL MODE: a new encrypted repository (for `run`: a labelled medium folder, its
# configuration with the guard on and staging, and the passphrase file).
init() {
    local t=$1 m=$2 r=$W/repo/$1.$2
    local -a e
    read -r -a e <<<"$(toolenv "$t" "$m")"
    case $t in
    mamori) setup "$t.$m.init" env "${e[@]}" "$mamori" -q init --repo "$r" || true ;;
    restic) setup "$t.$m.init" env "${e[@]}" restic -r "$r" init || true ;;
    borg) setup "$t.$m.init" env "${e[@]}" borg init --encryption=repokey-blake2 "$r" || true ;;
    run)
        mkdir -p "$r/state" "$r/staging"
        (umask 077 && echo "$MAMORI_PASSPHRASE" >"$r/pass")
        cat >"$r/mamori.conf" <<CONF
[hospital]
id = 1310012345
[service]
state_dir = $r/state
passphrase_file = $r/pass
[source "ssmix2"]
kind = ssmix2
path = $W/src/standard
extended = $W/src/extended
schedule = daily
guard = on
[media]
rotation = weekday
staging = $r/staging
[medium "MON"]
days = mon,tue,wed,thu,fri,sat,sun
path = $r/medium
CONF
        { setup "$t.$m.init" env "${e[@]}" "$mamori" -q init --repo "$r/medium" &&
            setup "$t.$m.label" env "${e[@]}" "$mamori" -q media init --repo "$r/medium" \
                --label MON --hospital 1310012345; } || true
        ;;
    esac
}

# backup TOOL MODE STEP N: the N-th backup (1 first, 2 no-change, 3 one-day), timed.
backup() {
    local t=$1 m=$2 s=$3 n=$4 r=$W/repo/$1.$2
    local -a e
    read -r -a e <<<"$(toolenv "$t" "$m")"
    prep "$m" "${srcs[@]}" "$r" "$W/cache/$t.$m"
    case $t in
    mamori) measure "$t.$s.$m" "$W" env "${e[@]}" "$mamori" -q backup --repo "$r" "${srcs[@]}" ;;
    restic) measure "$t.$s.$m" "$W" env "${e[@]}" restic -r "$r" backup --quiet "${srcs[@]}" ;;
    borg) measure "$t.$s.$m" "$W" env "${e[@]}" borg create "$r::g$n" "${srcs[@]}" ;;
    run) measure "$t.$s.$m" "$W" env "${e[@]}" "$mamori" -q run --config "$r/mamori.conf" \
        --date "${runday[$((n - 1))]}" ;;
    esac
}

count_files() { # root: regular files and their bytes
    find "$1" -type f -printf '%s\n' | awk '{ n++; b += $1 } END { printf "%d %d\n", n + 0, b + 0 }'
}

# remove DIR: an untimed removal, then the disk left to settle; sets removed_s.
remove() {
    local t0
    t0=$(now)
    rm -rf "$1"
    removed_s=$(elapsed "$t0" "$(now)")
    quiesce
}

# 3. the report (defined here, written at the end or when interrupted)
wall() { # KEY: wall seconds, or "failed" / "" (not measured)
    local v=${res[$1]:-}
    [ "$v" = failed ] || v=${v%% *}
    echo "$v"
}
peak() { # KEY: peak MiB, or "failed" / ""
    local v=${res[$1]:-}
    if [ -z "$v" ] || [ "$v" = failed ]; then echo "$v"; else echo $((${v#* } / 1024)); fi
}
cell() { # KEY field(1 wall, 2 peak)
    local v
    if [ "$2" = 1 ]; then v=$(wall "$1"); else v=$(peak "$1"); fi
    echo "${v:-–}"
}
ratio() { # NUMERATOR DENOMINATOR: their ratio, "n/a" when either is missing or failed
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || b == "" || a == "failed" || b == "failed" || b + 0 == 0) print "n/a"
        else printf "%.2f\n", a / b }'
}
minus() { # A B: A - B (bytes), empty when either is missing or failed
    case "${1:-}:${2:-}" in
    :* | *: | failed:* | *:failed) echo "" ;;
    *) echo $(($1 - $2)) ;;
    esac
}
size_mib() {
    case ${1:-} in
    '' | failed) echo "${1:-–}" ;;
    *) awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }' ;;
    esac
}
version() { "$@" 2>/dev/null | head -n 1 || echo "missing"; }
label() {
    case $1 in
    first) echo "first backup" ;;
    nochange) echo "no-change backup" ;;
    advanced) echo "backup after one more day" ;;
    restore) echo "full restore of the latest" ;;
    verify) echo "read-verify of all data" ;;
    esac
}

# targets: one row per target, "met" / "not met" / "n/a"
trow() { # LABEL VALUE OP LIMIT
    local verdict
    verdict=$(awk -v v="$2" -v op="$3" -v l="$4" 'BEGIN {
        if (v == "n/a") { print "n/a"; exit }
        ok = (op == "<=") ? (v + 0 <= l + 0) : (op == ">=") ? (v + 0 >= l + 0) : (v + 0 > l + 0)
        print ok ? "met" : "**not met**" }')
    echo "| $1 | $2 | $3 $4 | $verdict |"
}
targets() {
    local m s p lim
    echo "| target | measured | target | verdict |"
    echo "|---|---:|---:|---|"
    for m in "${modes[@]}"; do
        if [ "$m" = warm ]; then
            trow "no-change / walk+stat floor (warm)" "$(ratio "$(wall mamori.nochange.warm)" "$(wall floor.stat.warm)")" "<=" 1.2
            trow "one-day / walk+stat floor (warm)" "$(ratio "$(wall mamori.advanced.warm)" "$(wall floor.stat.warm)")" "<=" 1.3
            trow "first / walk+read floor (warm)" "$(ratio "$(wall mamori.first.warm)" "$(wall floor.read.warm)")" "<=" 1.5
            trow "restore / tar x (warm)" "$(ratio "$(wall mamori.restore.warm)" "$(wall floor.tarx.warm)")" "<=" 1.0
            trow "read-verify / reading the repository (warm)" "$(ratio "$(wall mamori.verify.warm)" "$(wall floor.repo.warm)")" "<=" 1.2
            if has restic; then
                for s in first:5 nochange:10 advanced:10 restore:3; do
                    trow "restic / mamori, $(label "${s%:*}") (warm)" \
                        "$(ratio "$(wall "restic.${s%:*}.warm")" "$(wall "mamori.${s%:*}.warm")")" ">=" "${s#*:}"
                done
            fi
        else
            if has restic; then
                for s in first:5 nochange:6 advanced:6 restore:3 verify:3; do
                    trow "restic / mamori, $(label "${s%:*}") (cold)" \
                        "$(ratio "$(wall "restic.${s%:*}.cold")" "$(wall "mamori.${s%:*}.cold")")" ">=" "${s#*:}"
                done
            fi
            trow "restore / tar x (cold)" "$(ratio "$(wall mamori.restore.cold)" "$(wall floor.tarx.cold)")" "<=" 1.0
        fi
        if has borg; then
            for s in first nochange advanced restore verify; do
                trow "borg / mamori, $(label "$s") ($m)" \
                    "$(ratio "$(wall "borg.$s.$m")" "$(wall "mamori.$s.$m")")" ">" 1
            done
            trow "mamori's repository / borg's ($m)" "$(ratio "${res[mamori.size.$m]:-}" "${res[borg.size.$m]:-}")" "<=" 1.0
            trow "mamori's backup data (without the viewer payload) / borg's ($m)" \
                "$(ratio "$(minus "${res[mamori.size.$m]:-}" "${res[mamori.payload.$m]:-}")" "${res[borg.size.$m]:-}")" "<=" 1.0
        fi
        if has restic && [ "$all_n" -gt 0 ] && [ "$all_n" -le 20000 ]; then # a small site: never slower than restic
            for s in first nochange advanced restore verify; do
                trow "small site: restic / mamori, $(label "$s") ($m)" \
                    "$(ratio "$(wall "restic.$s.$m")" "$(wall "mamori.$s.$m")")" ">=" 1
            done
        fi
        for p in mamori.first mamori.nochange mamori.advanced mamori.restore run.first run.nochange run.advanced; do
            has "${p%%.*}" || continue
            lim=$(peak "$p.$m")
            [ "$lim" != failed ] || lim=n/a
            trow "peak memory, ${p/./ } ($m), MiB" "${lim:-n/a}" "<=" 128
        done
    done
}

write_report() {
report=$W/report.md
{
    echo "# mamori vs restic and BorgBackup, $files files"
    [ "$partial" = 0 ] || printf '\n**Interrupted: only the steps measured before it.**\n'
    echo
    echo '```sh'
    echo "$cmdline"
    echo '```'
    echo
    echo "- date $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores," \
        "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), kernel $(uname -r)," \
        "commit $(git -C "$build" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    line="- $(version "$mamori" --version)"
    has restic && line+="; $(version restic version)"
    has borg && line+="; $(version borg --version)"
    echo "$line"
    for n in "${notes[@]}"; do echo "- $n"; done
    echo "- source: $patients patients x $days days, seed 1 (generated in $gen_s s), then" \
        "\`mamori-gen advance --days 1\` ($adv_s s): standard $std_n files + extended $ext_n files," \
        "$(((std_b + ext_b) / 1000000)) MB before; $all_n files, $((all_b / 1000000)) MB after"
    echo "- cache states: ${modes[*]} (cold: \`sync; echo 3 > /proc/sys/vm/drop_caches\` before" \
        "every command; warm: its inputs read just before by \`bench_walk --read\`); each state" \
        "on its own repository; \`sync\` before every command, and after every removal a calm" \
        "disk (under 16 MiB written and discarded in 2 s, at most ${QUIESCE_MAX:-30} s;" \
        "$quiesce_s s waited in all)"
    echo "- encrypted: mamori \`init --repo R\`, restic \`init\` (default repository version)," \
        "borg \`init --encryption=repokey-blake2\`; caches in the work folder; restic and" \
        "borg with their default compression; run: \`mamori run\` on a folder medium, guard on," \
        "staging, sealing (dates ${runday[*]})"
    line="- restored files (expected $all_n):"
    for k in $(printf '%s\n' "${!restored[@]}" | sort); do
        line+=" $k ${restored[$k]}"
        [ "${restored[$k]}" = "$all_n" ] || line+=" (MISMATCH)"
        line+=","
    done
    line="${line%,}; deleting the restored tree (not measured):"
    for k in $(printf '%s\n' "${!removed[@]}" | sort); do line+=" $k ${removed[$k]} s,"; done
    echo "${line%,}"
    echo
    line="| step |"
    sep="|---|"
    for t in "${tools[@]}"; do
        for m in "${modes[@]}"; do
            line+=" $t $m s | MiB |"
            sep+="---:|---:|"
        done
    done
    echo "$line"
    echo "$sep"
    for s in first nochange advanced restore verify; do
        line="| $(label "$s") |"
        for t in "${tools[@]}"; do
            for m in "${modes[@]}"; do
                line+=" $(cell "$t.$s.$m" 1) | $(cell "$t.$s.$m" 2) |"
            done
        done
        echo "$line"
    done
    for s in size payload cache; do
        case $s in
        size) line="| repository size (du -sb) |" ;;
        payload) line="| of which the viewer payload (bin/, guide, launchers) |" ;;
        *) line="| local cache (du -sb) |" ;;
        esac
        for t in "${tools[@]}"; do
            for m in "${modes[@]}"; do line+=" $(size_mib "${res[$t.$s.$m]:-}") | |"; done
        done
        echo "$line"
    done
    echo
    echo "s: wall seconds; MiB: peak resident memory (/usr/bin/time %M); run: \`mamori run\`" \
        "(its backup lines are the nightly cycle: first, no-change, one-day); –: not measured."
    echo
    echo "The machine's floors in the same run (no tool; \`bench_walk\` 16 threads):"
    echo
    line="| floor |"
    sep="|---|"
    for m in "${modes[@]}"; do
        line+=" $m s |"
        sep+="---:|"
    done
    echo "$line bounds |"
    echo "$sep---|"
    for f in "stat:list every folder, read every entry's information:no-change and one-day backups" \
        "read:the same and read every file:first backup" \
        "tarx:\`tar x\` of the same tree into an empty folder:restore" \
        "repo:read every file of mamori's repository:read-verify"; do
        IFS=: read -r k l b <<<"$f"
        line="| $l |"
        for m in "${modes[@]}"; do line+=" $(cell "floor.$k.$m" 1) |"; done
        echo "$line $b |"
    done
    echo
    echo "Issue 22's targets (ratios from this run; restic / mamori and borg / mamori: above 1," \
        "mamori is faster; a floor ratio: mamori / floor):"
    echo
    targets
} >"$report"
cat "$report"
if [ -n "${OUT+set}" ]; then
    out=${OUT:-$parent/vs-peers-$files.md}
    [ ! -d "$out" ] || out=$out/vs-peers-$files.md
    cp "$report" "$out"
    echo "vs-peers: report written to $out" >&2
fi
}

# 1. the storage
echo "vs-peers: generating $patients patients x $days days in $W/src (tools: ${tools[*]}; cache: ${modes[*]})" >&2
t0=$(now)
"$gen" --out "$W/src" --patients "$patients" --days "$days" --seed 1 --extended -q
gen_s=$(elapsed "$t0" "$(now)")
read -r std_n std_b < <(count_files "$W/src/standard")
read -r ext_n ext_b < <(count_files "$W/src/extended")

# 2a, 2b. first and no-change backups (each cache state on its own repository)
for t in "${tools[@]}"; do
    for m in "${modes[@]}"; do init "$t" "$m"; done
    for m in "${modes[@]}"; do backup "$t" "$m" first 1; done
    for m in "${modes[@]}"; do backup "$t" "$m" nochange 2; done
done

# 2c. one more day, then every tool backs up the same tree
t0=$(now)
"$gen" advance --out "$W/src" --days 1 -q
adv_s=$(elapsed "$t0" "$(now)")
read -r all_n all_b < <(count_files "$W/src")
all_n=$((all_n - 1)) # mamori-gen.state is not backed up
for t in "${tools[@]}"; do
    for m in "${modes[@]}"; do backup "$t" "$m" advanced 3; done
done

# 2d. the floors on the same tree: walk+stat, walk+read (bench_walk, 16 threads), `tar x` of
# the tree (archive made once, untimed; the extracted tree removed untimed), and reading every
# file of mamori's repository (the read-verify floor).
tar -C "$W/src" -cf "$W/tar/tree.tar" standard extended
for m in "${modes[@]}"; do
    prep "$m" "${srcs[@]}"
    measure "floor.stat.$m" "$W" "$walk" --threads 16 "${srcs[@]}"
    prep "$m" "${srcs[@]}"
    measure "floor.read.$m" "$W" "$walk" --threads 16 --read "${srcs[@]}"
    mkdir "$W/tarx"
    prep "$m" "$W/tar"
    measure "floor.tarx.$m" "$W/tarx" tar -xf "$W/tar/tree.tar"
    read -r n _ < <(count_files "$W/tarx")
    restored[tarx.$m]=$n
    remove "$W/tarx"
    removed[tarx.$m]=$removed_s
    if has mamori && [ -d "$W/repo/mamori.$m" ]; then
        prep "$m" "$W/repo/mamori.$m"
        measure "floor.repo.$m" "$W" "$walk" --threads 16 --read "$W/repo/mamori.$m"
    fi
done
rm -f "$W/tar/tree.tar"

# 2e-2g. restore, read-verify, size; each repository and cache is deleted once measured
for t in "${tools[@]}"; do
    [ "$t" != run ] || continue
    for m in "${modes[@]}"; do
        r=$W/repo/$t.$m
        c=$W/cache/$t.$m
        read -r -a e <<<"$(toolenv "$t" "$m")"
        d=$W/restore
        mkdir "$d"
        prep "$m" "$r" "$c"
        case $t in
        mamori) measure "$t.restore.$m" "$d" env "${e[@]}" "$mamori" -q restore --repo "$r" latest --to "$d" ;;
        restic) measure "$t.restore.$m" "$d" env "${e[@]}" restic -r "$r" restore latest --target "$d" ;;
        borg) measure "$t.restore.$m" "$d" env "${e[@]}" borg extract "$r::g3" ;;
        esac
        read -r n _ < <(count_files "$d")
        restored[$t.$m]=$n
        remove "$d"
        removed[$t.$m]=$removed_s
        prep "$m" "$r" "$c"
        case $t in
        mamori) measure "$t.verify.$m" "$W" env "${e[@]}" "$mamori" -q verify --repo "$r" --read-data ;;
        restic) measure "$t.verify.$m" "$W" env "${e[@]}" restic -r "$r" check --read-data ;;
        borg) measure "$t.verify.$m" "$W" env "${e[@]}" borg check --verify-data "$r" ;;
        esac
    done
done
for t in "${tools[@]}"; do
    for m in "${modes[@]}"; do
        r=$W/repo/$t.$m
        [ "$t" != run ] || r=$r/medium
        if [ -d "$r" ] && [ "${res[$t.first.$m]:-failed}" != failed ]; then
            res[$t.size.$m]=$(du -sb "$r" | cut -f1)
            # the viewer payload a medium carries (bin/, the guide, the launchers): not backup
            # data, the same size at every site (none for restic and borg)
            if [ -d "$r/bin" ]; then
                res[$t.payload.$m]=$({ du -sbc "$r/bin" "$r"/*.html "$r"/*.txt "$r"/*.bat "$r"/*.sh \
                    2>/dev/null || true; } | tail -n 1 | cut -f1) # du: a name without a file
            fi
        else
            res[$t.size.$m]=failed
        fi
        res[$t.cache.$m]=$(du -sb "$W/cache/$t.$m" 2>/dev/null | cut -f1 || echo 0)
        remove "$W/repo/$t.$m"
        rm -rf "${W:?}/cache/$t.$m"
    done
done

# 3. the report
write_report
if [ -n "${TSV:-}" ]; then
    for k in "${!res[@]}"; do
        IFS=. read -r t s m <<<"$k"
        case $s in size | payload | cache | init | label) continue ;; esac
        v=${res[$k]}
        if [ "$v" = failed ]; then
            printf '%s\t%s\t%s\t%s\tfailed\tfailed\t%s\n' "$files" "$t" "$s" "$m" "$all_n"
        else
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$files" "$t" "$s" "$m" "${v% *}" "${v#* }" "$all_n"
        fi
    done | sort >>"$TSV"
    echo "vs-peers: cells appended to $TSV" >&2
fi
