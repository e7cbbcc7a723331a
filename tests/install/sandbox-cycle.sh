#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# One `mamori run` inside the file-system view mamori.service gives it (ProtectSystem=strict
# with StateDirectory= and CacheDirectory= writable, PrivateMounts=), rebuilt with unshare
# since this machine has no running systemd: a private mount namespace in which every mount
# is remounted read-only and only the state and cache folders are bound read-write. The
# shipped mount-label hook (etc/hooks, SERVICE_USER=root as docs/operations.md §9.2 says)
# mounts a labelled loop image on a mount point that exists on the read-only tree. Checked:
# the sandbox is read-only outside those folders; the cycle succeeds and its generation is on
# the medium; while attached, the medium is not mounted in the host's namespace, nor after;
# and the trap the unit's comments warn about: with the mount point bind-mounted writable
# (what ReadWritePaths= does), mount-label refuses it as already mounted and the cycle fails.
#
# The image is ext4: the kernel here has no exFAT driver and mount-label's plain mount(8)
# does not reach exfat-fuse; the file system is not what this test is about.
# Needs root, unshare, losetup, mkfs.ext4 and findfs: otherwise "skipped: ..." and 77.
#
# usage: sandbox-cycle.sh <mamori> <source root>
set -u

if [ $# -ne 2 ]; then
    echo "usage: sandbox-cycle.sh <mamori> <source root>" >&2
    exit 2
fi
M=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$2" && pwd)

skip() {
    echo "skipped: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root"
for c in unshare losetup mkfs.ext4 findfs mountpoint; do
    command -v $c >/dev/null || skip "needs $c"
done

W=$(mktemp -d "${TMPDIR:-/tmp}/mm-sandbox-XXXXXX") || exit 1
LOOP=""
cleanup() {
    cd /
    mountpoint -q "$W/mnt" 2>/dev/null && umount "$W/mnt"
    [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
fail() {
    echo "sandbox-cycle: FAIL: $*" >&2
    for f in "$W/state/hooks.log" "$W/run.err" "$W/run.out"; do
        [ -s "$f" ] && sed "s/^/    $(basename "$f"): /" "$f" >&2
    done
    exit 1
}

# ---- the medium: a labelled loop image with a labelled repository ------------------------------
LABEL="MMSBX$$"
LABEL=${LABEL:0:16}
mkdir -p "$W/mnt" "$W/state" "$W/cache" "$W/src/dept" "$W/hooks" || exit 1
truncate -s 64M "$W/medium.img" || skip "cannot make the image"
LOOP=$(losetup -f --show "$W/medium.img" 2>/dev/null) || { LOOP=""; skip "cannot attach a loop device"; }
mkfs.ext4 -q -L "$LABEL" "$LOOP" || skip "mkfs.ext4 failed"
mount "$LOOP" "$W/mnt" || skip "cannot mount the image"
export MAMORI_PASSPHRASE=sandbox-passphrase LANG=C.UTF-8 LC_ALL=C.UTF-8
unset MAMORI_LANG
"$M" -q init --repo "$W/mnt/repo" --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets >/dev/null 2>"$W/init.err" ||
    fail "init: $(cat "$W/init.err")"
"$M" media init --repo "$W/mnt/repo" --label DAILY --hospital 1310012345 >/dev/null 2>&1 ||
    fail "media init"
umount "$W/mnt" || fail "cannot unmount the prepared medium"
unset MAMORI_PASSPHRASE
(umask 077 && echo sandbox-passphrase >"$W/passphrase") || exit 1
for i in 1 2 3; do echo "export $i" >"$W/src/dept/file$i.txt"; done

# ---- the hooks: the shipped mount-label, set as §9.2 says; the attach side looks at the host ----
# Hooks get only the contract's environment and PATH: everything else is written in here.
cat >"$W/hooks/attach" <<EOF
#!/bin/sh
echo "attach \$MAMORI_MEDIUM" >>"$W/state/hooks.log"
SERVICE_USER=root MOUNTPOINT="$W/mnt" "$SRC/etc/hooks/mount-label" 2>>"$W/state/hooks.log" || exit \$?
# the medium is mounted here; the host's namespace (the test's own process) must not see it
if grep -q " $W/mnt " /proc/$$/mountinfo; then echo "host sees the medium" >>"$W/state/hooks.log";
else echo "host does not see the medium" >>"$W/state/hooks.log"; fi
if touch "$W/outside" 2>/dev/null; then echo "outside writable" >>"$W/state/hooks.log"; fi
EOF
cat >"$W/hooks/detach" <<EOF
#!/bin/sh
echo "detach \$MAMORI_MEDIUM" >>"$W/state/hooks.log"
SERVICE_USER=root MOUNTPOINT="$W/mnt" exec "$SRC/etc/hooks/mount-label" 2>>"$W/state/hooks.log"
EOF
cat >"$W/hooks/alert" <<EOF
#!/bin/sh
echo "alert \$MAMORI_ALERT" >>"$W/state/hooks.log"
EOF
chmod 0755 "$W/hooks/attach" "$W/hooks/detach" "$W/hooks/alert"
cat >"$W/mamori.conf" <<EOF
[hospital]
id = 1310012345
[service]
user = root
state_dir = $W/state
passphrase_file = $W/passphrase
[source "dept"]
kind = folder
path = $W/src/dept
[media]
staging = $W/state/staging
[medium "DAILY"]
days = mon-sun
path = $W/mnt/repo
fs_label = $LABEL
[hooks]
attach = $W/hooks/attach
detach = $W/hooks/detach
alert = $W/hooks/alert
EOF
"$M" config check --config "$W/mamori.conf" >/dev/null || fail "config check"

# ---- the unit's view: every mount read-only, state and cache writable (and, for the trap, the
# mount point too); then one cycle --------------------------------------------------------------
sandbox() { # sandbox <extra writable folders...>: runs the cycle; its exit status
    unshare -m --propagation private /bin/sh -s "$@" <<EOF
set -u
mps=\$(awk '{print \$5}' /proc/self/mountinfo | sort -u)
for mp in \$mps; do
    case "\$mp" in /proc | /proc/* | /sys | /sys/* | /dev | /dev/*) continue ;; esac
    mount -o remount,bind,ro "\$mp" 2>/dev/null
done
touch "$W/probe" 2>/dev/null && { echo "the sandbox is writable" >&2; exit 90; }
for d in "$W/state" "$W/cache" "\$@"; do
    mount --bind "\$d" "\$d" && mount -o remount,bind,rw "\$d" || exit 91
done
MAMORI_AUDIT_DIR="$W/state/audit" MAMORI_CACHE="$W/cache" "$M" --lang en run --config "$W/mamori.conf"
EOF
}
sandbox >"$W/run.out" 2>"$W/run.err"
rc=$?
[ $rc = 90 ] && skip "cannot make the mounts read-only in a namespace"
[ $rc = 91 ] && skip "cannot bind the state folder in a namespace"
[ $rc = 0 ] || fail "the cycle in the sandbox exited $rc"
grep -q '^attach DAILY' "$W/state/hooks.log" && grep -q '^detach DAILY' "$W/state/hooks.log" ||
    fail "the hooks did not run"
grep -q '^host does not see the medium' "$W/state/hooks.log" || fail "the medium's mount reached the host"
grep -q '^outside writable' "$W/state/hooks.log" && fail "the sandbox let a hook write outside the state folder"
[ -e "$W/outside" ] && fail "a file appeared outside the state folder"
mountpoint -q "$W/mnt" && fail "the medium is mounted on the host after the cycle"
grep -q '"result":0' "$W/state/windows.jsonl" || fail "no good window in the state file"
[ -d "$W/state/audit" ] || fail "the host audit log is not in the state folder"
mount "$LOOP" "$W/mnt" || fail "cannot mount the medium to look at it"
n=$(MAMORI_PASSPHRASE=sandbox-passphrase "$M" generations --repo "$W/mnt/repo" --json | grep -o '"id":"' | wc -l)
umount "$W/mnt"
[ "$n" = 1 ] || fail "the medium holds $n generations, not 1"
echo "one cycle in the unit's read-only view: generation written, medium never seen by the host: ok"

# ---- the trap: the mount point made writable the way ReadWritePaths= does (a bind mount) -------
: >"$W/state/hooks.log"
sandbox "$W/mnt" >"$W/run.out" 2>"$W/run.err"
rc=$?
[ $rc = 1 ] || fail "with the mount point bind-mounted the cycle exited $rc, not 1"
grep -q 'already mounted' "$W/state/hooks.log" || fail "mount-label did not refuse the bind-mounted mount point"
grep -q '^alert attach hook failed' "$W/state/hooks.log" || fail "no alert for the refused attach"
echo "the mount point in ReadWritePaths= (a bind mount): mount-label refuses it, alerted: ok"
exit 0
