#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# A simulated week of daily cycles (`mamori run`) on five real exFAT loop images labelled MON
# to FRI (mkfs.exfat -L), each with a repository and its medium label. The configuration's
# weekday rotation names them; its attach hook mounts the image "plugged in" (the day's one,
# unless the test says another, none, or a failing hook) at the day's path and its detach
# hook unmounts it. Five days of `mamori run --date` with `mamori-gen advance --days 1`
# between: each day's generation lands on that day's medium and no other. Then a wrong image
# on its day is refused (nothing written) and still detached, a failing attach hook still
# detaches and alerts, and a missing disk is reported (non-zero exit, alert). The window
# records are in the state file, and `mamori status` (table, --json, --prometheus), run while
# every medium is detached, reports each medium's figures and marks the three failed days.
# The passphrase comes from the configuration's passphrase_file (0600), except on FRI, a
# write-only medium (format 3 with its host credential): its day runs without a passphrase,
# and a person then reads it whole (verify --read-data) and finds the host's backup event;
# its second week day is staged like the others (the window record says "staged", it is
# short, the host's shadow keeps no delivered pack) and read whole again.
#
# Needs root, losetup, mkfs.exfat and a way to mount exFAT: otherwise "skipped: ..." and 77.
# Unmounts and detaches every loop device even on failure.
#
# usage: cycle-week-exfat.sh [<mamori> <mamori-gen>]   (default: $MAMORI and $MAMORI_GEN)
set -u

NAME=cycle-week-exfat
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"
crash_binaries "$@"
[ "$(id -u)" = 0 ] || skip "needs root"
command -v losetup >/dev/null && command -v mkfs.exfat >/dev/null ||
    skip "needs losetup and mkfs.exfat (exfatprogs)"

DAYS="MON TUE WED THU FRI"
W=$(mktemp -d "${TMPDIR:-/tmp}/mm-week-XXXXXX") || exit 1
declare -A LOOP=()
cleanup() {
    cd /
    for d in $DAYS; do
        unmount_if "$W/mnt/$d"
    done
    for d in "${!LOOP[@]}"; do losetup -d "${LOOP[$d]}" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT

fail_more() {
    [ -s "$W/hooks.log" ] && sed 's/^/    hooks | /' "$W/hooks.log" >&2
    return 0
}

# How this machine mounts exFAT: the kernel's driver, else exfat-fuse.
mkdir -p "$W/img" "$W/mnt" || exit 1
for d in $DAYS; do
    mkdir -p "$W/mnt/$d"
    truncate -s 48M "$W/img/$d.img" || skip "cannot make the images"
    LOOP[$d]=$(losetup -f --show "$W/img/$d.img" 2>/dev/null) || { unset "LOOP[$d]"; skip "cannot attach a loop device"; }
    echo "${LOOP[$d]}" >"$W/img/$d.loop"
    mkfs.exfat -L "$d" "${LOOP[$d]}" >/dev/null 2>&1 || skip "mkfs.exfat failed"
done
if mount -t exfat "${LOOP[MON]}" "$W/mnt/MON" 2>/dev/null; then
    MOUNT="mount -t exfat"
elif command -v mount.exfat-fuse >/dev/null && mount.exfat-fuse "${LOOP[MON]}" "$W/mnt/MON" >/dev/null 2>&1; then
    MOUNT=$(command -v mount.exfat-fuse)
else
    skip "cannot mount exFAT (no kernel exfat module, no exfat-fuse)"
fi
umount "$W/mnt/MON" 2>/dev/null || fusermount -u "$W/mnt/MON"
echo "five exFAT images, mounted with: $MOUNT"

unset MAMORI_LANG LANGUAGE LC_MESSAGES MAMORI_PASSPHRASE
export LANG=C.UTF-8 LC_ALL=C.UTF-8
export MAMORI_CACHE=$W/cache MAMORI_AUDIT_DIR=$W/audit-host MAMORI_DICT_SAMPLES=10
PASSFILE=$W/passphrase
(umask 077 && echo week-medium-passphrase >"$PASSFILE") || exit 1

mount_day() { $MOUNT "${LOOP[$1]}" "$W/mnt/$1" >/dev/null 2>&1 || fail "cannot mount $1"; }
umount_day() { umount "$W/mnt/$1" 2>/dev/null || fusermount -u "$W/mnt/$1" || fail "cannot unmount $1"; }
# FRI is write-only: format 3, its host credential (and seeded catalog) on the host; `run`
# writes it with no passphrase (docs/operations.md §8.2 credential)
for d in $DAYS; do
    mount_day "$d"
    fmt=2
    [ "$d" = FRI ] && fmt=3
    MAMORI_PASSPHRASE=week-medium-passphrase must_be "init-$d" 0 "$M" -q init --repo "$W/mnt/$d/repo" --format $fmt --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets
    MAMORI_PASSPHRASE=week-medium-passphrase must_be "label-$d" 0 "$M" media init --repo "$W/mnt/$d/repo" --label "$d" --hospital 1310012345
    [ "$d" = FRI ] && MAMORI_PASSPHRASE=week-medium-passphrase must_be enroll-FRI 0 "$M" host enroll --repo "$W/mnt/FRI/repo" --out "$W/FRI.cred" --name nightly
    umount_day "$d"
done

# ---- the hooks: "plugged" says which image is in the drive (default: the day's) -------------
cat >"$W/attach" <<EOF
#!/bin/sh
echo "attach \$MAMORI_MEDIUM \$MAMORI_FS_LABEL" >>"$W/hooks.log"
p=\$(cat "$W/plugged" 2>/dev/null || echo "\$MAMORI_MEDIUM")
case "\$p" in
none) exit 0 ;;           # no disk: nothing mounted, the cycle finds no repository
fail) exit 5 ;;
esac
exec $MOUNT "\$(cat "$W/img/\$p.loop")" "\$(dirname "\$MAMORI_MEDIUM_PATH")"
EOF
cat >"$W/detach" <<EOF
#!/bin/sh
echo "detach \$MAMORI_MEDIUM" >>"$W/hooks.log"
d=\$(dirname "\$MAMORI_MEDIUM_PATH")
if mountpoint -q "\$d"; then umount "\$d" 2>/dev/null || fusermount -u "\$d"; fi
EOF
cat >"$W/alert" <<EOF
#!/bin/sh
echo "alert \$MAMORI_MEDIUM \$MAMORI_ALERT" >>"$W/hooks.log"
EOF
chmod 700 "$W/attach" "$W/detach" "$W/alert"

"$G" --out "$W/src" --patients 10 --days 30 --seed 5 -q || fail "mamori-gen failed"
{
    printf '[hospital]\nid = 1310012345\n[service]\nstate_dir = %s/state\npassphrase_file = %s\n' "$W" "$PASSFILE"
    printf '[source "ssmix2"]\nkind = ssmix2\npath = %s/src/standard\nschedule = daily\nrpo = 26h\n' "$W"
    printf '[media]\nrotation = weekday\nstaging = %s/staging\n' "$W"
    for d in $DAYS; do
        days=$(echo "$d" | tr 'A-Z' 'a-z')
        [ "$d" = MON ] && days="mon,sat,sun"
        printf '[medium "%s"]\ndays = %s\npath = %s/mnt/%s/repo\nfs_label = %s\n' "$d" "$days" "$W" "$d" "$d"
        [ "$d" = FRI ] && printf 'credential = %s/FRI.cred\n' "$W"
    done
    printf '[hooks]\nattach = %s/attach\nattach_timeout = 30s\ndetach = %s/detach\ndetach_timeout = 30s\nalert = %s/alert\n' "$W" "$W" "$W"
} >"$W/mamori.conf"
must_be config 0 "$M" config check --config "$W/mamori.conf"

gens() { # gens <DAY>: the number of generations on that day's image
    mount_day "$1"
    MAMORI_PASSPHRASE=week-medium-passphrase "$M" generations --repo "$W/mnt/$1/repo" --json >"$W/gens.out" 2>&1 ||
        { umount_day "$1"; show "$W/gens.out"; fail "generations on $1"; }
    umount_day "$1"
    grep -o '"id":"' "$W/gens.out" | wc -l
}

# ---- the week: 2026-12-07 is a Monday ---------------------------------------------------------
i=0
for d in $DAYS; do
    date=$(printf "2026-12-%02d" $((7 + i)))
    must_be "run-$d" 0 "$M" --lang en run --config "$W/mamori.conf" --date "$date"
    mountpoint -q "$W/mnt/$d" && fail "$d is still mounted after its cycle"
    [ "$(gens "$d")" = 1 ] || fail "$d does not hold its day's generation"
    i=$((i + 1))
    "$G" advance --out "$W/src" --days 1 -q || fail "mamori-gen advance failed"
done
for d in $DAYS; do
    [ "$(gens "$d")" = 1 ] || fail "$d holds another day's generation"
done
# the write-only medium: written without a passphrase, read whole by a person
grep -q "write-only credential" "$W/run-FRI.out" || { show "$W/run-FRI.out"; fail "FRI was not written with its credential"; }
[ -d "$W/state/catalog" ] || fail "no host catalog after the write-only window"
mount_day FRI
MAMORI_PASSPHRASE=week-medium-passphrase must_be verify-FRI 0 "$M" verify --repo "$W/mnt/FRI/repo" --read-data
MAMORI_PASSPHRASE=week-medium-passphrase must_be audit-FRI 0 "$M" --lang en audit show --repo "$W/mnt/FRI/repo" --kind backup
grep -q "host:nightly" "$W/audit-FRI.out" || { umount_day FRI; show "$W/audit-FRI.out"; fail "the backup event on FRI is not the host's"; }
umount_day FRI
grep -q alert "$W/hooks.log" && fail "an alert in a good week"
[ "$(grep -c '^detach' "$W/hooks.log")" = 5 ] || fail "five detaches expected"
echo "five days, five media, one generation each: ok"

# ---- the wrong disk on Monday: refused, nothing written, detached, alerted ---------------------
: >"$W/hooks.log"
echo TUE >"$W/plugged"
must_be wrong 1 "$M" --lang en run --config "$W/mamori.conf" --date 2026-12-14
grep -q "this medium is 'TUE'.*wanted is 'MON'" "$W/wrong.err" || { show "$W/wrong.err"; fail "the refusal does not name both media"; }
grep -q '^detach MON' "$W/hooks.log" || fail "no detach after the wrong disk"
grep -q '^alert MON wrong medium TUE attached, MON wanted' "$W/hooks.log" || fail "no alert for the wrong disk"
mountpoint -q "$W/mnt/MON" && fail "still mounted after the wrong disk"
[ "$(gens TUE)" = 1 ] || fail "the wrong disk was written"

# ---- a failing attach hook: detached, alerted ----------------------------------------------------
: >"$W/hooks.log"
echo fail >"$W/plugged"
must_be attach-fails 1 "$M" --lang en run --config "$W/mamori.conf" --date 2026-12-15
grep -q '^detach TUE' "$W/hooks.log" && grep -q '^alert TUE attach hook failed' "$W/hooks.log" ||
    fail "a failing attach hook was not detached and alerted"

# ---- the disk is missing on its day: reported, alerted ------------------------------------------
: >"$W/hooks.log"
echo none >"$W/plugged"
must_be missing 1 "$M" --lang en run --config "$W/mamori.conf" --date 2026-12-16
grep -q '^detach WED' "$W/hooks.log" && grep -q '^alert WED no repository on the medium' "$W/hooks.log" ||
    fail "a missing disk was not detached and alerted"
[ "$(gens WED)" = 1 ] || fail "WED changed while it was missing"
rm -f "$W/plugged"

# ---- the window records -----------------------------------------------------------------------
[ "$(wc -l <"$W/state/windows.jsonl")" = 8 ] || { show "$W/state/windows.jsonl"; fail "eight window records expected"; }
[ "$(grep -c '"result":0' "$W/state/windows.jsonl")" = 5 ] || fail "five good windows expected"
grep -q '"medium":"FRI".*"generations":1' "$W/state/windows.jsonl" || fail "Friday's window is not recorded"
mount_day FRI
export MAMORI_PASSPHRASE=week-medium-passphrase
run audit-show "$M" --lang en audit show --repo "$W/mnt/FRI/repo" --host --kind cycle --json
run audit-verify "$M" --lang en audit verify --repo "$W/mnt/FRI/repo" --host
audit_rc=$RC
unset MAMORI_PASSPHRASE
umount_day FRI
grep -q '"medium":"FRI"' "$W/audit-show.out" || { show "$W/audit-show.out" "$W/audit-show.err"; fail "no cycle event in the host's audit log"; }
[ "$audit_rc" = 0 ] || { show "$W/audit-verify.out" "$W/audit-verify.err"; fail "the host's audit log does not verify"; }

# ---- mamori status, all media detached: every figure from the host's records ----------------------
for d in $DAYS; do mountpoint -q "$W/mnt/$d" && fail "$d is mounted before status"; done
SARGS="--config $W/mamori.conf --date 2026-12-17" # a Thursday; MON, TUE and WED failed their days
must_be status 4 "$M" status $SARGS
must_be status-json 4 "$M" status $SARGS --json
must_be status-prom 4 "$M" status $SARGS --prometheus
head -n 1 "$W/status.out" | grep -qx '要確認 3 件 / 3 need attention' || { show "$W/status.out"; fail "status verdict"; }
for d in MON TUE WED; do
    grep -q "^  $d .*要確認 needs attention\$" "$W/status.out" || { show "$W/status.out"; fail "status: $d not marked"; }
done
for d in THU FRI; do
    grep -q "^  $d .*正常 ok\$" "$W/status.out" || { show "$W/status.out"; fail "status: $d not ok"; }
done
grep -q "no good window on its day 2026-12-16" "$W/status.out" || { show "$W/status.out"; fail "status: the missing disk's day"; }
python3 - "$W/status-json.out" <<'PY' || { show "$W/status-json.out"; fail "status --json figures"; }
import json, sys
d = json.load(open(sys.argv[1]))
def want(cond, what):
    if not cond:
        sys.exit("status --json: " + what)
want(d["verdict"] == "attention" and d["needs_attention"] == 3, "verdict")
want(d["due"] == {"today": "THU", "next": "FRI"}, "due media")
want(d["state"]["lines"] == 8 and d["state"]["bad_lines"] == 0, "lines read")
media = {m["label"]: m for m in d["media"]}
for i, day in enumerate(["MON", "TUE", "WED", "THU", "FRI"]):
    m = media[day]
    want(m["generations_held"] == 1, day + " generations_held")
    want(m["last_written"]["date"] == "2026-12-%02d" % (7 + i), day + " last written date")
    want(0 < m["free_bytes"] <= m["size_bytes"] <= 48 * 1024 * 1024, day + " free/size")
    want(m["last_window"]["online_s"] > 0, day + " online window")
for day, stage, missed in [("MON", "label", "2026-12-14"), ("TUE", "attach", "2026-12-15"),
                           ("WED", "open", "2026-12-16")]:
    m = media[day]
    want(m["attention"] == ["failed", "missed"], day + " attention")
    want(m["last_window"]["stage"] == stage and m["last_window"]["result"] == 1, day + " stage")
    want(m["missed"] == missed, day + " missed day")
for day in ["THU", "FRI"]:
    want(media[day]["attention"] == [] and media[day]["last_window"]["verify"] == "ok", day)
s = d["sources"][0]
want(s["name"] == "ssmix2" and s["last_good"]["medium"] == "FRI", "source's medium")
want(s["last_good"]["date"] == "2026-12-11" and s["attention"] == [], "source's last good")
want(0 <= s["age_s"] < 3600 and s["rpo_s"] == 26 * 3600 and s["verify"] == "ok", "source age")
PY
python3 - "$W/status-prom.out" <<'PY' || { show "$W/status-prom.out"; fail "status --prometheus"; }
import re, sys
sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? -?[0-9.e+]+$')
lines = open(sys.argv[1]).read().splitlines()
typed = set()
for l in lines:
    if l.startswith("# TYPE "):
        typed.add(l.split()[2])
    elif not l.startswith("# HELP "):
        if not sample.match(l) or l.split("{")[0].split()[0] not in typed:
            sys.exit("not exposition format: " + l)
for want in ['mamori_needs_attention 3', 'mamori_source_rpo_seconds{source="ssmix2"} 93600',
             'mamori_medium_generations{medium="MON"} 1', 'mamori_medium_generations{medium="FRI"} 1',
             'mamori_medium_last_result{medium="WED"} 1', 'mamori_medium_last_result{medium="THU"} 0',
             'mamori_medium_needs_attention{medium="TUE"} 1',
             'mamori_medium_due{medium="THU",when="today"} 1',
             'mamori_medium_due{medium="FRI",when="next"} 1']:
    if want not in lines:
        sys.exit("missing: " + want)
PY
echo "status (table, JSON, Prometheus) with every medium detached: ok"

# ---- FRI's second week day: staged; the window only copies what the medium lacks --------------
# its first window ran on the medium and built a write-only shadow (marker, label, the medium's
# packs): the day is backed up into it with FRI offline, through the host catalog
[ -f "$W/staging/FRI/repo/mamori-repo" ] && [ -f "$W/staging/FRI/packs" ] && [ -f "$W/staging/FRI/base" ] ||
    fail "no write-only shadow of FRI after its first window"
[ -e "$W/staging/FRI/repo/config" ] && fail "the write-only shadow holds the medium's config"
"$G" advance --out "$W/src" --days 1 -q || fail "mamori-gen advance failed"
: >"$W/hooks.log"
must_be run-FRI2 0 "$M" --lang en run --config "$W/mamori.conf" --date 2026-12-18
rec=$(tail -n 1 "$W/state/windows.jsonl")
echo "$rec" | grep -q '"medium":"FRI".*"window":"staged","stage_s":[0-9.]*,"copied_bytes":[1-9][0-9]*' ||
    { echo "$rec" >&2; fail "FRI's second window is not staged"; }
echo "$rec" | grep -q '"write_only":1' || { echo "$rec" >&2; fail "FRI's staged window is not write-only"; }
online=$(echo "$rec" | sed 's/.*"online_s":\([0-9.]*\).*/\1/')
awk "BEGIN{exit !($online < 10)}" || fail "FRI's staged window took ${online}s"
[ "$(find "$W/staging/FRI/repo/data" -type f | wc -l)" = 0 ] || fail "the write-only shadow kept delivered packs"
[ "$(gens FRI)" = 2 ] || fail "FRI does not hold two generations after its staged window"
mount_day FRI
MAMORI_PASSPHRASE=week-medium-passphrase must_be verify-FRI2 0 "$M" verify --repo "$W/mnt/FRI/repo" --read-data
umount_day FRI
echo "FRI's second day: staged, window ${online}s, read whole by a person: ok"

# ---- a passphrase file others may read is refused ------------------------------------------------
chmod 644 "$PASSFILE"
must_be loose-passphrase 5 "$M" --lang en run --config "$W/mamori.conf" --date 2026-12-17
grep -q 'mode 0600' "$W/loose-passphrase.err" || { show "$W/loose-passphrase.err"; fail "a readable passphrase file was used"; }
echo "wrong disk, failing attach, missing disk, window records, passphrase file: ok"
exit 0
