#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The daily-cycle part of `make demo`: a demo hospital's media set (six media MON ... FRI and
# WEEKEND, folders in <demo>/media/ standing in for USB disks), a configuration
# (<demo>/mamori.conf) whose attach/detach hooks "plug" the day's medium in at the mount point
# and out again (tools/demo-medium-hook), and one `mamori run` of today's cycle: the generation
# lands on today's medium, which is unplugged again afterwards. Prints `mamori status` and how to
# start the viewer from today's medium.
#
# usage: demo-cycle.sh <mamori> <demo-dir> <passphrase>
set -euo pipefail

M=$1
D=$(mkdir -p "$2" && cd "$2" && pwd)
PASS=$3
SRC=$(cd "$(dirname "$0")/.." && pwd)
MEDIA="MON TUE WED THU FRI WEEKEND"

rm -rf "$D/media" "$D/mnt" "$D/state" "$D/staging" "$D/cycle-audit" "$D/mamori.conf" \
    "$D/passphrase" "$D/cycle.log"
mkdir -p "$D/media" "$D/mnt" "$D/state"
(umask 077 && printf '%s\n' "$PASS" >"$D/passphrase")

cat >"$D/mamori.conf" <<CONF
# mamori make demo: the daily cycle of a demo hospital (see etc/mamori.conf.example)
[hospital]
id = DEMO-0001
name = まもりデモ病院

[service]
user = $(id -un)
state_dir = $D/state
passphrase_file = $D/passphrase

[source "ssmix2"]
kind = ssmix2
path = $D/storage/standard
extended = $D/storage/extended
schedule = daily
rpo = 26h

[media]
rotation = weekday
staging = $D/staging
staging_expiry = 14d
keep_min_age = 28d
keep_min_clean = 3

CONF
for l in $MEDIA; do
    case $l in WEEKEND) days=sat-sun ;; *) days=$(echo "$l" | tr 'A-Z' 'a-z') ;; esac
    printf '[medium "%s"]\ndays = %s\nkeep = 8\npath = %s/mnt/repo\n\n' "$l" "$days" "$D" \
        >>"$D/mamori.conf"
done
cat >>"$D/mamori.conf" <<CONF
[hooks]
attach = $SRC/tools/demo-medium-hook
attach_timeout = 1m
detach = $SRC/tools/demo-medium-hook
detach_timeout = 1m
CONF

export MAMORI_PASSPHRASE=$PASS
"$M" config check --config "$D/mamori.conf"
echo
echo "== mamori init + media init: media $MEDIA (folders in $D/media standing in for USB disks)"
echo "   (実際の媒体は exFAT の USB ディスクです / real media are exFAT USB disks: docs/operations.md §1)"
for l in $MEDIA; do
    if ! { "$M" init --repo "$D/media/$l" --user it-admin &&
        "$M" media init --repo "$D/media/$l" --label "$l" --hospital DEMO-0001; } \
        >"$D/media-init.log" 2>&1; then
        cat "$D/media-init.log" >&2
        exit 1
    fi
done
rm -f "$D/media-init.log"
unset MAMORI_PASSPHRASE

echo
echo "== mamori run --config $D/mamori.conf (today's medium is plugged in, backed up, unplugged)"
MAMORI_AUDIT_DIR=$D/cycle-audit MAMORI_CACHE=$D/cache "$M" run --config "$D/mamori.conf"
today=$(sed -n 's/.*"medium":"\([A-Z]*\)".*/\1/p' "$D/state/windows.jsonl" | tail -n 1)
echo
echo "== mamori status --config $D/mamori.conf"
"$M" status --config "$D/mamori.conf" || true # 4 (needs attention) is a status, not an error
echo
echo "今日の媒体 / today's medium: $D/media/$today (外した状態 / unplugged)"
echo "ビューア / viewer: MAMORI_AUDIT_DIR=$D/cycle-audit $D/media/$today/mamori-view.sh" \
    "  (パスフレーズ / passphrase: $PASS)"
