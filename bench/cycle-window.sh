#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark: the online window of a daily cycle (`mamori run`, docs/format.md "Staging") on a
# loop-mounted exFAT image, against the window the cycle had before staging (the whole backup
# and its verify with the medium attached). Steps, each after `sync` and dropping the page
# cache (root; the image then reads cold, as a disk last written a week earlier does):
#   1. generate a storage of <files> (standard + extended, 365 days, seed 1);
#   2. the medium's first cycle: `mamori run` backs up on the medium and builds the host's
#      shadow (a "direct" window; timed);
#   3. `mamori-gen advance --days 1`, then a normal day: `mamori run` stages with the medium
#      offline and copies only what the medium lacks (online_s, stage_s, copied bytes, fsyncs
#      from the window's record);
#   4. `mamori-gen advance --days 1`, then the window as it was before staging: mount, `mamori
#      backup` onto the medium, `mamori verify`, unmount (timed as one window).
# Prints a Markdown table; with OUT set it is also written to $OUT.
# usage: bench/cycle-window.sh <build-dir> [files] [work-dir] [passphrase|write-only]
#   files: 200000 (default) or 1000000 (the issue's target: online <= 10 s); any count works
#   work-dir: where the temporary folder goes (default ${TMPDIR:-/tmp}); removed at exit
#   write-only: the medium is format 3 with a host credential ([medium] credential): `run`
#     uses no passphrase; step 4 is then `mamori backup --credential --catalog` on the medium
#     (the write-only window before staging: no verify, a host cannot read the medium)
# Needs root, losetup, mkfs.exfat and the kernel's exfat or exfat-fuse.
set -euo pipefail

cmdline="${OUT+OUT=$(printf '%q' "$OUT") }$(printf '%q' "$0")$(printf ' %q' "$@")"
if [ $# -lt 1 ] || [ $# -gt 4 ]; then echo "usage: $0 <build-dir> [files] [work-dir] [passphrase|write-only]" >&2; exit 2; fi
mode=${4:-passphrase}
case $mode in passphrase | write-only) ;; *) echo "cycle-window: mode is passphrase or write-only" >&2; exit 2 ;; esac
build=$(cd "$1" 2>/dev/null && pwd) || { echo "cycle-window: no build folder '$1'" >&2; exit 1; }
files=${2:-200000}
case $files in '' | *[!0-9]*) echo "cycle-window: files must be a number" >&2; exit 2 ;; esac
parent=${3:-${TMPDIR:-/tmp}}
gen=$build/tools/gen/mamori-gen
mamori=$build/src/cli/mamori
if [ ! -x "$gen" ] || [ ! -x "$mamori" ]; then echo "cycle-window: build first" >&2; exit 1; fi
[ "$(id -u)" = 0 ] || { echo "cycle-window: needs root (loop device, mount)" >&2; exit 1; }
patients=$(((files * 18000 + 526298) / 1052596))

mkdir -p "$parent"
W=$(mktemp -d "$(cd "$parent" && pwd)/mamori-cycle-window-XXXXXX")
LOOPDEV=
cleanup() {
    mountpoint -q "$W/mnt" 2>/dev/null && { umount "$W/mnt" 2>/dev/null || fusermount -u "$W/mnt"; }
    [ -n "$LOOPDEV" ] && losetup -d "$LOOPDEV"
    echo "cycle-window: removing $W" >&2
    rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/mnt" "$W/state"

settle() {
    sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# ---- the storage and the medium ------------------------------------------------------------
t0=$(now)
"$gen" --out "$W/src" --patients "$patients" --days 365 --seed 1 --extended -q
t_gen=$(elapsed "$t0" "$(now)")
nfiles=$(find "$W/src" -type f | wc -l)
truncate -s $((files * 8 / 1000 + 1024))M "$W/medium.img"
LOOPDEV=$(losetup -f --show "$W/medium.img")
mkfs.exfat -L MON "$LOOPDEV" >/dev/null
if mount -t exfat "$LOOPDEV" "$W/mnt" 2>/dev/null; then
    MOUNT="mount -t exfat"
else
    MOUNT=$(command -v mount.exfat-fuse)
    $MOUNT "$LOOPDEV" "$W/mnt" >/dev/null
fi
fs=$([ "$MOUNT" = "mount -t exfat" ] && echo "kernel exfat" || echo "exfat-fuse")
export MAMORI_LANG=en MAMORI_CACHE=$W/cache MAMORI_AUDIT_DIR=$W/audit MAMORI_VIEWER_COPY=0
(umask 077 && echo cycle-window-benchmark >"$W/pass")
fmt=2 cred_line=
[ "$mode" = write-only ] && fmt=3 cred_line="credential = $W/MON.cred"
MAMORI_PASSPHRASE=cycle-window-benchmark "$mamori" -q init --repo "$W/mnt/repo" --format $fmt
MAMORI_PASSPHRASE=cycle-window-benchmark "$mamori" -q media init --repo "$W/mnt/repo" --label MON --hospital 1310012345
[ "$mode" = write-only ] &&
    MAMORI_PASSPHRASE=cycle-window-benchmark "$mamori" -q host enroll --repo "$W/mnt/repo" --out "$W/MON.cred" --name bench >/dev/null
umount "$W/mnt" 2>/dev/null || fusermount -u "$W/mnt"

cat >"$W/attach" <<HOOK
#!/bin/sh
exec $MOUNT "$LOOPDEV" "$W/mnt"
HOOK
cat >"$W/detach" <<HOOK
#!/bin/sh
umount "$W/mnt" 2>/dev/null || fusermount -u "$W/mnt"
HOOK
chmod 700 "$W/attach" "$W/detach"
cat >"$W/mamori.conf" <<CONF
[hospital]
id = 1310012345
[service]
state_dir = $W/state
passphrase_file = $W/pass
[source "ssmix2"]
kind = ssmix2
path = $W/src/standard
extended = $W/src/extended
schedule = daily
[media]
rotation = weekday
staging = $W/staging
[medium "MON"]
days = mon,tue,wed,thu,fri,sat,sun
path = $W/mnt/repo
$cred_line
[hooks]
attach = $W/attach
attach_timeout = 120s
detach = $W/detach
detach_timeout = 120s
CONF

last() { # last <field>: from the newest window record
    tail -1 "$W/state/windows.jsonl" | sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}
cycle() { # cycle <date>: one `mamori run`; sets total
    settle
    local a
    a=$(now)
    "$mamori" -q run --config "$W/mamori.conf" --date "$1"
    total=$(elapsed "$a" "$(now)")
}

# ---- 2. the medium's first window (direct, builds the shadow) -------------------------------
cycle 2026-12-07
first_total=$total first_online=$(last online_s) first_window=$(last window)

# ---- 3. a normal day, staged ---------------------------------------------------------------
"$gen" advance --out "$W/src" --days 1 -q
cycle 2026-12-08
day_total=$total day_online=$(last online_s) day_stage=$(last stage_s)
day_window=$(last window) day_copied=$(last copied_bytes) day_fsyncs=$(last fsyncs)

# ---- 4. the same kind of day, the window as before staging ---------------------------------
"$gen" advance --out "$W/src" --days 1 -q
settle
a=$(now)
$MOUNT "$LOOPDEV" "$W/mnt" >/dev/null
if [ "$mode" = write-only ]; then
    "$mamori" -q backup --repo "$W/mnt/repo" --credential "$W/MON.cred" --catalog "$W/state/catalog" \
        "$W/src/standard" "$W/src/extended" >/dev/null
else
    MAMORI_PASSPHRASE=cycle-window-benchmark "$mamori" -q backup --repo "$W/mnt/repo" "$W/src/standard" "$W/src/extended" >/dev/null
    MAMORI_PASSPHRASE=cycle-window-benchmark "$mamori" -q verify --repo "$W/mnt/repo" >/dev/null
fi
sync
umount "$W/mnt" 2>/dev/null || fusermount -u "$W/mnt"
old_online=$(elapsed "$a" "$(now)")
shadow=$(du -sb "$W/staging" | cut -f1)
catalog=$(du -sb "$W/state/catalog" 2>/dev/null | cut -f1 || echo 0)
repo_img=$(du -s --block-size=1 "$W/medium.img" | cut -f1)

report() {
    echo "- $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- command: \`$cmdline\`"
    echo "- storage: $patients patients x 365 days, seed 1, standard + extended: $nfiles files (generated in ${t_gen} s)"
    echo "- medium: a loop-mounted exFAT image ($fs), repository format $fmt ($mode), page cache dropped before every step"
    echo "- shadow in the host's staging: $((shadow / 1048576)) MiB; host catalog: $((${catalog:-0} / 1048576)) MiB; medium image in use: $((repo_img / 1048576)) MiB"
    echo
    echo "| step | window | online s | staging s (offline) | total s | copied | fsyncs |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    echo "| first cycle of the medium | $first_window | $first_online | - | $first_total | - | - |"
    echo "| a normal day (one day of new data) | $day_window | $day_online | $day_stage | $day_total | $((day_copied / 1024)) KiB | $day_fsyncs |"
    if [ "$mode" = write-only ]; then
        echo "| the same day before staging: backup with the credential on the medium | (old) | $old_online | - | $old_online | - | - |"
    else
        echo "| the same day before staging: backup + verify on the medium | (old) | $old_online | - | $old_online | - | - |"
    fi
}
report
[ -z "${OUT:-}" ] || report >"$OUT"
