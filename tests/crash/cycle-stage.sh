#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Staged daily cycles (`mamori run`, docs/format.md "Staging") on a real exFAT loop image
# labelled MON that serves every day. The attach hook mounts it and, from the second day on,
# moves the sources away for as long as the medium is attached (the detach hook puts them
# back): a cycle that read or chunked a source while the medium is online would fail. Shown:
#  - the first window backs up on the medium ("direct") and builds the host's shadow; later
#    windows are "staged": the sources are gone while attached, only what the medium lacks is
#    copied, and the window's record has stage_s, copied_bytes and fsyncs;
#  - verify --read-data of the medium passes and a restore of the delivered generation is
#    byte-exact with the source;
#  - a missing disk leaves the staged generation reported (staged/MON.json, exit 1, alert)
#    and the next window delivers it and the day's one;
#  - staged data older than staging_expiry is dropped, reported and alerted;
#  - a medium pruned (a person's `mamori prune`) or written (a backup from elsewhere) behind the
#    shadow's back is detected, the day's backup runs on the medium, and no generation points
#    at missing data;
#  - SIGKILL at several moments of the copy leaves the medium's earlier generations whole
#    (verify --read-data) and the next window completes;
#  - run retires whole generations beyond keep, never below keep_min_clean;
#  - a write-only medium (WO: format 3, `[medium] credential`, no passphrase on the host) is
#    staged too: its first window is direct and builds a write-only shadow, later windows are
#    staged with the sources away while attached, and SIGKILL during their copy leaves its
#    generations whole (a person's verify --read-data) and the next window delivers.
#
# Needs root, losetup, mkfs.exfat and a way to mount exFAT: otherwise "skipped: ..." and 77.
# usage: cycle-stage.sh [<mamori> <mamori-gen>]   (default: $MAMORI and $MAMORI_GEN)
set -u

NAME=cycle-stage
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"
crash_binaries "$@"
[ "$(id -u)" = 0 ] || skip "needs root"
command -v losetup >/dev/null && command -v mkfs.exfat >/dev/null ||
    skip "needs losetup and mkfs.exfat (exfatprogs)"

W=$(mktemp -d "${TMPDIR:-/tmp}/mm-stage-XXXXXX") || exit 1
LOOPDEV=
WODEV=
cleanup() {
    cd /
    [ -n "${KEEP:-}" ] && { echo "kept $W" >&2; mountpoint -q "$W/mnt" && { umount "$W/mnt" 2>/dev/null || fusermount -u "$W/mnt"; }; return; }
    unmount_if "$W/mnt"
    unmount_if "$W/mnt-wo"
    [ -n "$LOOPDEV" ] && losetup -d "$LOOPDEV" 2>/dev/null
    [ -n "$WODEV" ] && losetup -d "$WODEV" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
fail_more() {
    [ -s "$W/hooks.log" ] && tail -20 "$W/hooks.log" | sed 's/^/    hooks | /' >&2
    [ -s "$W/state/windows.jsonl" ] && tail -3 "$W/state/windows.jsonl" | sed 's/^/    windows | /' >&2
    return 0
}

mkdir -p "$W/mnt" || exit 1
truncate -s 1200M "$W/mon.img" || skip "cannot make the image"
LOOPDEV=$(losetup -f --show "$W/mon.img" 2>/dev/null) || { LOOPDEV=; skip "cannot attach a loop device"; }
mkfs.exfat -L MON "$LOOPDEV" >/dev/null 2>&1 || skip "mkfs.exfat failed"
if mount -t exfat "$LOOPDEV" "$W/mnt" 2>/dev/null; then
    MOUNT="mount -t exfat"
elif command -v mount.exfat-fuse >/dev/null && mount.exfat-fuse "$LOOPDEV" "$W/mnt" >/dev/null 2>&1; then
    MOUNT=$(command -v mount.exfat-fuse)
else
    skip "cannot mount exFAT (no kernel exfat module, no exfat-fuse)"
fi
echo "an exFAT image, mounted with: $MOUNT"

unset MAMORI_LANG LANGUAGE LC_MESSAGES MAMORI_PASSPHRASE
export LANG=C.UTF-8 LC_ALL=C.UTF-8
export MAMORI_CACHE=$W/cache MAMORI_AUDIT_DIR=$W/audit-host MAMORI_DICT_SAMPLES=10
PASSFILE=$W/passphrase
(umask 077 && echo stage-medium-passphrase >"$PASSFILE") || exit 1
export MAMORI_PASSPHRASE=stage-medium-passphrase
must_be init 0 "$M" -q init --repo "$W/mnt/repo" --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets
must_be label 0 "$M" media init --repo "$W/mnt/repo" --label MON --hospital 1310012345
umount "$W/mnt" 2>/dev/null || fusermount -u "$W/mnt" || fail "cannot unmount"
unset MAMORI_PASSPHRASE

mount_mon() { $MOUNT "$LOOPDEV" "$W/mnt" >/dev/null 2>&1 || fail "cannot mount MON"; }
umount_mon() { # (retried: after a SIGKILL the attach hook's FUSE mount may still be starting)
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        mountpoint -q "$W/mnt" || return 0
        umount "$W/mnt" 2>/dev/null || fusermount -u "$W/mnt" 2>/dev/null
        sleep 0.3
    done
    mountpoint -q "$W/mnt" && fail "cannot unmount MON"
    return 0
}
on_medium() { # on_medium <name> <want exit> <mamori args...>: with MON mounted
    local name=$1 want=$2
    shift 2
    mount_mon
    MAMORI_PASSPHRASE=stage-medium-passphrase run "$name" "$M" --lang en "$@"
    local rc=$RC
    umount_mon
    [ "$rc" = "$want" ] || { show "$W/$name.out" "$W/$name.err"; fail "$name exited $rc, not $want"; }
}
gens() { on_medium gens 0 generations --repo "$W/mnt/repo" --json; grep -o '"id":"' "$W/gens.out" | wc -l; }

# ---- the hooks -------------------------------------------------------------------------------
# plugged: "none" = no disk; hide: sources moved away while attached; killafter: SIGKILL the
# cycle that many seconds after the attach
cat >"$W/attach" <<HOOK
#!/bin/sh
echo "attach \$(date +%s.%N)" >>"$W/hooks.log"
[ "\$(cat "$W/plugged" 2>/dev/null)" = none ] && exit 0
if [ -e "$W/hide" ]; then mv "$W/src" "$W/src.away" || exit 4; fi
if [ -e "$W/killafter" ]; then (sleep \$(cat "$W/killafter"); kill -9 \$PPID) >/dev/null 2>&1 & fi
exec $MOUNT "$LOOPDEV" "$W/mnt"
HOOK
cat >"$W/detach" <<HOOK
#!/bin/sh
if mountpoint -q "$W/mnt"; then umount "$W/mnt" 2>/dev/null || fusermount -u "$W/mnt"; fi
[ -d "$W/src.away" ] && mv "$W/src.away" "$W/src"
echo "detach \$(date +%s.%N)" >>"$W/hooks.log"
HOOK
cat >"$W/alert" <<HOOK
#!/bin/sh
echo "alert \$MAMORI_MEDIUM \$MAMORI_ALERT" >>"$W/hooks.log"
HOOK
chmod 700 "$W/attach" "$W/detach" "$W/alert"

mkdir -p "$W/src/dept" || exit 1
"$G" --out "$W/src/ss" --patients 20 --days 30 --seed 7 -q || fail "mamori-gen failed"
head -c 3000000 /dev/urandom >"$W/src/dept/export-0.bin"
conf() { # conf <file> <staging_expiry> <keep>
    {
        printf '[hospital]\nid = 1310012345\n[service]\nstate_dir = %s/state\npassphrase_file = %s\n' "$W" "$PASSFILE"
        printf '[source "ssmix2"]\nkind = ssmix2\npath = %s/src/ss/standard\nschedule = daily\nrpo = 26h\n' "$W"
        printf '[source "dept"]\nkind = folder\npath = %s/src/dept\nschedule = daily\nrpo = 26h\n' "$W"
        printf '[media]\nrotation = weekday\nstaging = %s/staging\nstaging_expiry = %s\nkeep_min_age = 1s\nkeep_min_clean = 2\n' "$W" "$2"
        printf '[medium "MON"]\ndays = mon,tue,wed,thu,fri,sat,sun\npath = %s/mnt/repo\nfs_label = MON\n' "$W"
        [ "$3" != 0 ] && printf 'keep = %s\n' "$3"
        printf '[hooks]\nattach = %s/attach\nattach_timeout = 30s\ndetach = %s/detach\ndetach_timeout = 30s\nalert = %s/alert\n' "$W" "$W" "$W"
    } >"$1"
}
conf "$W/mamori.conf" 14d 0
conf "$W/expiry.conf" 2s 0
conf "$W/keep.conf" 14d 2
must_be config 0 "$M" config check --config "$W/mamori.conf"
must_be config-keep 0 "$M" config check --config "$W/keep.conf"

DAY=7
cycle() { # cycle <name> <want exit> [config]: one day's `mamori run`, then the next day's data
    local name=$1 want=$2 cf=${3:-$W/mamori.conf}
    must_be "$name" "$want" "$M" --lang en run --json --config "$cf" --date "$(date -u -d "2026-11-30 + $DAY days" +%F)"
    mountpoint -q "$W/mnt" && fail "$name: MON still mounted after its cycle"
    [ -d "$W/src" ] || fail "$name: the sources were not put back"
    DAY=$((DAY + 1))
    "$G" advance --out "$W/src/ss" --days 1 -q || fail "mamori-gen advance failed"
    head -c 2000000 /dev/urandom >"$W/src/dept/export-$DAY.bin"
}
field() { sed -n "s/.*\"$2\":\\([^,}]*\\).*/\\1/p" "$W/$1.out" | tr -d '"'; }

# ---- day 1: no shadow yet: the backup runs on the medium, the shadow is built ----------------
cycle day1 0
[ "$(field day1 window)" = direct ] || { show "$W/day1.out"; fail "the first window is not direct"; }
[ -f "$W/staging/MON/repo/mamori-repo" ] && [ -f "$W/staging/MON/base" ] || fail "no shadow after the first window"
[ "$(gens)" = 1 ] || fail "day 1: one generation expected"

# ---- day 2..3: staged; the sources are away while the medium is attached ---------------------
touch "$W/hide"
for d in 2 3; do
    cycle "day$d" 0
    [ "$(field "day$d" window)" = staged ] || { show "$W/day$d.out"; fail "day $d is not staged"; }
    awk "BEGIN{exit !($(field "day$d" copied_bytes) > 0 && $(field "day$d" fsyncs) > 0 && $(field "day$d" stage_s) > 0)}" ||
        { show "$W/day$d.out"; fail "day $d: no copied bytes, fsyncs or stage time"; }
done
[ "$(gens)" = 3 ] || fail "days 1-3: three generations expected"
tail -1 "$W/state/windows.jsonl" | grep -q '"window":"staged","stage_s":[0-9.]*,"copied_bytes":[1-9][0-9]*,"fsyncs":[1-9]' ||
    fail "the window record lacks the staging figures"
# the shadow keeps no delivered blob pack: fewer packs than the medium
sp=$(find "$W/staging/MON/repo/data" -type f | wc -l)
mount_mon
mp=$(find "$W/mnt/repo/data" -type f | wc -l)
umount_mon
[ "$sp" -lt "$mp" ] || fail "the shadow holds $sp packs, the medium $mp: delivered blob packs were kept"
echo "direct first window, staged windows with the sources away while attached: ok ($sp packs in the shadow, $mp on the medium)"

# ---- verify --read-data and a byte-exact restore of the delivered generation -----------------
rm -f "$W/hide"
on_medium verify 0 verify --repo "$W/mnt/repo" --read-data
mount_mon
MAMORI_PASSPHRASE=stage-medium-passphrase run restore "$M" --lang en restore --repo "$W/mnt/repo" latest --to "$W/restored"
umount_mon
[ "$RC" = 0 ] || { show "$W/restore.err"; fail "restore of the delivered generation failed"; }
# the delivered generation is the day before the last `cycle` added export-$DAY.bin and advanced
# the storage: its dept folder is the source's without that file
diff -r -x "export-$DAY.bin" "$W/src/dept" "$W/restored/dept" >/dev/null || fail "restored dept folder differs"
[ "$(find "$W/restored/standard" -type f | wc -l)" -gt 0 ] || fail "nothing restored of the storage"
echo "verify --read-data and byte-exact restore: ok"
touch "$W/hide"

# ---- a missing disk: staged data waits, reported; the next window delivers both ---------------
: >"$W/hooks.log"
echo none >"$W/plugged"
cycle missing 1
rm -f "$W/plugged"
[ -f "$W/state/staged/MON.json" ] || fail "no staged/MON.json after a missing disk"
grep -q '"medium":"MON","generation":"[0-9a-f]\{64\}","staged_at":"[0-9T:Z-]*","bytes":[0-9]*,"expires":"' "$W/state/staged/MON.json" ||
    { show "$W/state/staged/MON.json"; fail "staged/MON.json is not as the contract says"; }
staged_id=$(sed 's/.*"generation":"\([0-9a-f]*\)".*/\1/' "$W/state/staged/MON.json")
[ "$(field missing staged_waiting)" = true ] || { show "$W/missing.out"; fail "the missing disk's result does not report staged data"; }
grep -q '^alert MON no repository on the medium' "$W/hooks.log" || fail "no alert for the missing disk"
cycle after-missing 0
[ -f "$W/state/staged/MON.json" ] && fail "staged/MON.json still there after delivery"
[ "$(gens)" = 5 ] || fail "the staged generation and the day's were not both delivered"
grep -q "\"id\":\"$staged_id\"" "$W/gens.out" || fail "the staged generation is not on the medium"
# both delivered generations have their backup event in the medium's own audit log
on_medium audit-medium 0 audit show --repo "$W/mnt/repo" --kind backup --json
grep -q "$staged_id" "$W/audit-medium.out" || { show "$W/audit-medium.out"; fail "the waiting generation's event is not in the medium's audit log"; }
today_id=$(field after-missing generation)
grep -q "$today_id" "$W/audit-medium.out" || fail "the day's backup event is not in the medium's audit log"
on_medium audit-verify 0 audit verify --repo "$W/mnt/repo"
echo "missing disk: staged, reported, delivered by the next window: ok"

# ---- expiry: staged data older than staging_expiry is dropped and reported -------------------
: >"$W/hooks.log"
echo none >"$W/plugged"
cycle expiry-missing 1 "$W/expiry.conf"
rm -f "$W/plugged"
[ -f "$W/state/staged/MON.json" ] || fail "nothing staged before expiry"
sleep 3
rm -f "$W/hide" # this window runs on the medium (the shadow is gone)
cycle expired 0 "$W/expiry.conf"
[ "$(field expired expired)" = MON ] || { show "$W/expired.out"; fail "the expiry is not reported"; }
grep -q '^alert MON staged data expired: MON' "$W/hooks.log" || fail "no alert for the expiry"
[ "$(field expired window)" = direct ] || fail "after expiry the window is not direct"
[ -f "$W/state/staged/MON.json" ] && fail "staged/MON.json still there after expiry"
[ "$(gens)" = 6 ] || fail "the expired generation was delivered, or the day's was not"
echo "expiry: dropped, reported, alerted: ok"

# ---- a person prunes the medium behind the shadow's back: resync, never a dangling generation --
on_medium prune 0 prune --repo "$W/mnt/repo" --keep-last 2
cycle resync 0 # the sources stay while attached: a resynced window backs up on the medium
[ "$(field resync resynced)" = true ] && [ "$(field resync window)" = direct ] ||
    { show "$W/resync.out"; fail "a pruned medium was not resynced"; }
on_medium verify-resync 0 verify --repo "$W/mnt/repo" --read-data
touch "$W/hide"
cycle after-resync 0
[ "$(field after-resync window)" = staged ] || fail "the window after a resync is not staged"
on_medium verify-after-resync 0 verify --repo "$W/mnt/repo" --read-data
# a person's backup from elsewhere adds a generation the shadow does not know: resync too
rm -f "$W/hide"
on_medium elsewhere 0 backup --repo "$W/mnt/repo" "$W/src/ss/standard" "$W/src/dept"
cycle resync-elsewhere 0
[ "$(field resync-elsewhere resynced)" = true ] || { show "$W/resync-elsewhere.out"; fail "a generation written elsewhere was not noticed"; }
on_medium verify-elsewhere 0 verify --repo "$W/mnt/repo" --read-data
touch "$W/hide"
echo "a medium pruned or written behind the shadow: resynced, verifies whole: ok"

# ---- SIGKILL during the copy: earlier generations whole, the next window completes ------------
packs() { mount_mon; find "$W/mnt/repo/data" -type f -name '????????????????????????????????????????????????????????????????' | wc -l; umount_mon; }
midcopy=0
for k in 0.1 0.2 0.3 0.4 0.5 0.6 0.8; do
    before=$(gens)
    pbefore=$(packs)
    head -c 40000000 /dev/urandom >"$W/src/dept/big-$k.bin"
    echo "$k" >"$W/killafter"
    run "kill-$k" "$M" --lang en run --config "$W/mamori.conf" --date "$(date -u -d "2026-11-30 + $DAY days" +%F)"
    killrc=$RC
    rm -f "$W/killafter"
    umount_mon
    [ -d "$W/src.away" ] && mv "$W/src.away" "$W/src"
    DAY=$((DAY + 1))
    on_medium "verify-kill-$k" 0 verify --repo "$W/mnt/repo" --read-data
    after=$(gens)
    pafter=$(packs)
    [ "$after" = "$before" ] || [ "$after" = $((before + 1)) ] || fail "kill at $k s: $before generations became $after"
    # killed after some of the day's packs were on the medium and before its manifest
    [ "$killrc" = 137 ] && [ "$after" = "$before" ] && [ "$pafter" -gt "$pbefore" ] && midcopy=$((midcopy + 1))
    cycle "after-kill-$k" 0
    on_medium "verify-after-kill-$k" 0 verify --repo "$W/mnt/repo" --read-data
    [ "$(gens)" -gt "$after" ] || fail "the window after the kill at $k s wrote no generation"
    echo "    SIGKILL ${k}s after attach (exit $killrc): generations $before -> $after, packs $pbefore -> $pafter; next window $(field "after-kill-$k" window)"
done
[ "$midcopy" -ge 1 ] || fail "no kill landed in the middle of the copy (machine too fast or too slow: adjust the delays)"
echo "SIGKILL during the copy ($midcopy kills mid-copy): earlier generations whole, next window completes: ok"

# ---- run retires whole generations beyond keep, never below keep_min_clean -------------------
sleep 2 # every generation older than keep_min_age (1s)
cycle keep 0 "$W/keep.conf"
[ "$(gens)" = 2 ] || fail "keep = 2: $(gens) generations on the medium"
[ "$(field keep retired)" -ge 1 ] || fail "nothing retired"
[ "$(ls "$W/staging/MON/repo/generations" | wc -l)" = 2 ] || fail "the shadow still holds retired generations"
cycle keep-again 0 "$W/keep.conf"
[ "$(gens)" = 2 ] || fail "keep = 2, the next day: not 2 generations"
on_medium verify-keep 0 verify --repo "$W/mnt/repo" --read-data
echo "retirement beyond keep, floors held: ok"

# ---- a write-only medium: staged, SIGKILL during its copy -------------------------------------
truncate -s 1000M "$W/wo.img" || fail "cannot make the write-only image"
WODEV=$(losetup -f --show "$W/wo.img" 2>/dev/null) || { WODEV=; fail "cannot attach a loop device for WO"; }
mkfs.exfat -L WO "$WODEV" >/dev/null 2>&1 || fail "mkfs.exfat failed for WO"
mkdir -p "$W/mnt-wo"
mount_wo() { $MOUNT "$WODEV" "$W/mnt-wo" >/dev/null 2>&1 || fail "cannot mount WO"; }
umount_wo() {
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        mountpoint -q "$W/mnt-wo" || return 0
        umount "$W/mnt-wo" 2>/dev/null || fusermount -u "$W/mnt-wo" 2>/dev/null
        sleep 0.3
    done
    mountpoint -q "$W/mnt-wo" && fail "cannot unmount WO"
    return 0
}
mount_wo
export MAMORI_PASSPHRASE=stage-medium-passphrase
must_be wo-init 0 "$M" -q init --repo "$W/mnt-wo/repo" --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets
head -n 1 "$W/mnt-wo/repo/mamori-repo" | grep -qx 'mamori-repo 3' || fail "init did not make format 3 by default"
must_be wo-label 0 "$M" media init --repo "$W/mnt-wo/repo" --label WO --hospital 1310012345
must_be wo-enroll 0 "$M" host enroll --repo "$W/mnt-wo/repo" --out "$W/wo.cred" --name nightly
unset MAMORI_PASSPHRASE
umount_wo
cat >"$W/attach-wo" <<HOOK
#!/bin/sh
echo "attach-wo \$(date +%s.%N)" >>"$W/hooks.log"
if [ -e "$W/hide" ]; then mv "$W/src" "$W/src.away" || exit 4; fi
if [ -e "$W/killafter" ]; then (sleep \$(cat "$W/killafter"); kill -9 \$PPID) >/dev/null 2>&1 & fi
exec $MOUNT "$WODEV" "$W/mnt-wo"
HOOK
cat >"$W/detach-wo" <<HOOK
#!/bin/sh
if mountpoint -q "$W/mnt-wo"; then umount "$W/mnt-wo" 2>/dev/null || fusermount -u "$W/mnt-wo"; fi
[ -d "$W/src.away" ] && mv "$W/src.away" "$W/src"
echo "detach-wo \$(date +%s.%N)" >>"$W/hooks.log"
HOOK
chmod 700 "$W/attach-wo" "$W/detach-wo"
{
    printf '[hospital]\nid = 1310012345\n[service]\nstate_dir = %s/state-wo\n' "$W"
    printf '[source "ssmix2"]\nkind = ssmix2\npath = %s/src/ss/standard\nschedule = daily\nrpo = 26h\n' "$W"
    printf '[source "dept"]\nkind = folder\npath = %s/src/dept\nschedule = daily\nrpo = 26h\n' "$W"
    printf '[media]\nrotation = weekday\nstaging = %s/staging\n' "$W"
    printf '[medium "WO"]\ndays = mon,tue,wed,thu,fri,sat,sun\npath = %s/mnt-wo/repo\ncredential = %s/wo.cred\n' "$W" "$W"
    printf '[hooks]\nattach = %s/attach-wo\nattach_timeout = 30s\ndetach = %s/detach-wo\ndetach_timeout = 30s\nalert = %s/alert\n' "$W" "$W" "$W"
} >"$W/wo.conf"
must_be config-wo 0 "$M" config check --config "$W/wo.conf"
on_wo() { # on_wo <name> <want exit> <mamori args...>: with WO mounted, a person's passphrase
    local name=$1 want=$2
    shift 2
    mount_wo
    MAMORI_PASSPHRASE=stage-medium-passphrase run "$name" "$M" --lang en "$@"
    local rc=$RC
    umount_wo
    [ "$rc" = "$want" ] || { show "$W/$name.out" "$W/$name.err"; fail "$name exited $rc, not $want"; }
}
wo_gens() { on_wo wo-gens 0 generations --repo "$W/mnt-wo/repo" --json; grep -o '"id":"' "$W/wo-gens.out" | wc -l; }
rm -f "$W/hide"
cycle wo-day1 0 "$W/wo.conf"
[ "$(field wo-day1 window)" = direct ] && [ "$(field wo-day1 write_only)" = true ] ||
    { show "$W/wo-day1.out"; fail "the write-only medium's first window is not direct"; }
[ -f "$W/staging/WO/repo/mamori-repo" ] && [ -f "$W/staging/WO/packs" ] || fail "no write-only shadow after WO's first window"
touch "$W/hide"
cycle wo-day2 0 "$W/wo.conf"
[ "$(field wo-day2 window)" = staged ] || { show "$W/wo-day2.out"; fail "WO's second window is not staged"; }
[ "$(wo_gens)" = 2 ] || fail "WO: two generations expected"
wmidcopy=0
wo_packs() { mount_wo; find "$W/mnt-wo/repo/data" -type f -name '????????????????????????????????????????????????????????????????' | wc -l; umount_wo; }
for k in 0.2 0.4 0.6 0.8 1.0; do
    before=$(wo_gens)
    pbefore=$(wo_packs)
    head -c 40000000 /dev/urandom >"$W/src/dept/wo-big-$k.bin"
    echo "$k" >"$W/killafter"
    run "wo-kill-$k" "$M" --lang en run --config "$W/wo.conf" --date "$(date -u -d "2026-11-30 + $DAY days" +%F)"
    killrc=$RC
    rm -f "$W/killafter"
    umount_wo
    [ -d "$W/src.away" ] && mv "$W/src.away" "$W/src"
    DAY=$((DAY + 1))
    on_wo "wo-verify-kill-$k" 0 verify --repo "$W/mnt-wo/repo" --read-data
    after=$(wo_gens)
    pafter=$(wo_packs)
    [ "$after" = "$before" ] || [ "$after" = $((before + 1)) ] || fail "WO kill at $k s: $before generations became $after"
    # killed after some of the day's packs were on the medium and before its manifest
    [ "$killrc" = 137 ] && [ "$after" = "$before" ] && [ "$pafter" -gt "$pbefore" ] && wmidcopy=$((wmidcopy + 1))
    cycle "wo-after-kill-$k" 0 "$W/wo.conf"
    on_wo "wo-verify-after-kill-$k" 0 verify --repo "$W/mnt-wo/repo" --read-data
    [ "$(wo_gens)" -gt "$after" ] || fail "the window after the kill of WO at $k s wrote no generation"
    echo "    WO: SIGKILL ${k}s after attach (exit $killrc): generations $before -> $after, packs $pbefore -> $pafter; next window $(field "wo-after-kill-$k" window)"
done
[ "$wmidcopy" -ge 1 ] || fail "no kill of WO's window landed in the middle of its copy (adjust the delays)"
echo "write-only medium: staged, SIGKILL during the copy ($wmidcopy mid-copy): generations whole, next window delivers: ok"
exit 0
