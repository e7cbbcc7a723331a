#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# A network-attached target (a "NAS") in its own network namespace, behind a veth link that
# the shipped hook etc/hooks/network-link raises and drops: an sshd of the test's own (own
# config, own host key, a child of this script, never the system's service) serves a folder
# over SFTP in the namespace; the hook raises the host's end of the link, waits for the port,
# mounts the folder with sshfs (a dedicated key, the host key pinned in a known_hosts file),
# and on detach syncs, unmounts, drops the link and fails when the target still answers.
# The medium is initialised through the hook (attach, init, media init, detach); then three
# days of `mamori run --date` with `mamori-gen advance` between: each exits 0, its generation
# is on the target, and between the runs the target is unreachable (no TCP connection to the
# sshd port, the mount point is not a mount, the host's end is down). A run while the target
# is down fails in the attach hook, still detaches, alerts and is recorded; a run where
# another route still reaches the target fails in the detach hook and alerts. The window
# records (<state_dir>/windows.jsonl) match the runs: count, medium, result, 0 < online_s <=
# the run's wall time, bytes_written > 0 for good runs.
#
# Needs root, ip netns, sshd, sshfs, FUSE and python3: otherwise "skipped: ..." and 77.
# Removes the namespace, the links, sshd and the mount even on failure.
#
# usage: cycle-netns.sh [<mamori> <mamori-gen> [<network-link hook>]]
#        (default: $MAMORI and $MAMORI_GEN; the hook beside this script's etc/hooks)
set -u

HOOK_SRC=$(cd "$(dirname "$0")/../../etc/hooks" 2>/dev/null && pwd)/network-link
if [ $# -ge 2 ] && [ $# -le 3 ]; then
    MAMORI=$1
    MAMORI_GEN=$2
    [ $# -eq 3 ] && HOOK_SRC=$3
elif [ $# -ne 0 ] || [ -z "${MAMORI:-}" ] || [ -z "${MAMORI_GEN:-}" ]; then
    echo "usage: cycle-netns.sh [<mamori> <mamori-gen> [<network-link hook>]]" >&2
    exit 2
fi
NAME=cycle-netns
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"
crash_binaries "$MAMORI" "$MAMORI_GEN"
[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$HOOK_SRC" ] || skip "no network-link hook at $HOOK_SRC"
command -v ip >/dev/null || skip "needs ip (iproute2)"
[ -x /usr/sbin/sshd ] || skip "needs sshd (openssh-server)"
for c in sshfs ssh ssh-keygen python3 mountpoint timeout; do
    command -v $c >/dev/null || skip "needs $c (make deps)"
done
[ -c /dev/fuse ] && grep -qw fuse /proc/filesystems || skip "needs FUSE (/dev/fuse)"

N=$$
NS=mamori-netns-$N
HOST_IF=mmh$N # the host's end of the link the hook raises and drops
NAS_IF=mmt$N  # the target's end, in the namespace, always up
SUB=10.231.$((N % 250))
HOST_ADDR=$SUB.1
NAS_ADDR=$SUB.2
PORT=2222
W=$(mktemp -d "${TMPDIR:-/tmp}/mm-netns-XXXXXX") || exit 1
MNT=$W/mnt
SSHD_PID=""
cleanup() {
    cd /
    unmount_if "$MNT"
    [ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
    ip netns delete "$NS" 2>/dev/null
    for l in "$HOST_IF" "mmb$N"; do ip link delete dev "$l" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT

fail_more() {
    for f in "$W/hooks.log" "$W/sshd/log"; do [ -s "$f" ] && tail -n 20 "$f" | sed "s|^|    ${f##*/} \| |" >&2; done
    return 0
}
# The target's sshd answers a TCP connection from the host with its banner (at most 3 s). A bare
# connect is not enough: a sandbox's transparent proxy on the default route accepts any
# connection (then holds it silent), so the banner tells the target itself from the proxy.
reaches() {
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && read -r l <&3 && [[ $l == SSH-2.0-* ]]' \
        "$NAS_ADDR" "$PORT" 2>/dev/null
}
# Between windows: no answer, no route through the link, no mount, the host's end down.
offline() {
    reaches && fail "$1: the target's sshd answers from the host"
    ip route get "$NAS_ADDR" | grep -q "dev $HOST_IF" && fail "$1: a route to the target uses $HOST_IF"
    mountpoint -q "$MNT" && fail "$1: $MNT is still a mount"
    ip -o link show dev "$HOST_IF" | grep -q ',UP' && fail "$1: $HOST_IF is still up"
    ip -o address show dev "$HOST_IF" | grep -q inet && fail "$1: $HOST_IF still has an address"
    return 0
}

# ---- the target: a namespace, a veth pair, an sshd serving a folder ---------------------------
ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace (ip netns add)"
ip link add "$HOST_IF" type veth peer name "$NAS_IF" || fail "cannot create the veth pair"
ip link set "$NAS_IF" netns "$NS" &&
    ip -n "$NS" link set lo up &&
    ip -n "$NS" address add "$NAS_ADDR/30" dev "$NAS_IF" &&
    ip -n "$NS" link set "$NAS_IF" up || fail "cannot set up the target's end"
ip link set "$HOST_IF" down

mkdir -p "$W/sshd" "$W/ssh" "$W/target" "$W/hooks" "$MNT" || exit 1
chmod 700 "$W/ssh"
ssh-keygen -q -t ed25519 -N '' -C mamori-test-nas -f "$W/sshd/host_ed25519" || fail "ssh-keygen (host)"
ssh-keygen -q -t ed25519 -N '' -C mamori-test-host -f "$W/ssh/id_ed25519" || fail "ssh-keygen (client)"
echo "restrict $(cat "$W/ssh/id_ed25519.pub")" >"$W/sshd/authorized_keys"
# the target's host key, pinned without ever asking the network
echo "[$NAS_ADDR]:$PORT $(cut -d' ' -f1,2 "$W/sshd/host_ed25519.pub")" >"$W/ssh/known_hosts"
cat >"$W/sshd/config" <<EOF
ListenAddress $NAS_ADDR
Port $PORT
HostKey $W/sshd/host_ed25519
PidFile none
AuthorizedKeysFile $W/sshd/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowTcpForwarding no
X11Forwarding no
PermitTTY no
ForceCommand internal-sftp
Subsystem sftp internal-sftp
LogLevel INFO
EOF
# sshd refuses to start without its privilege separation directory (the package's service
# makes it; that service is never started here)
[ -d /run/sshd ] || mkdir -m 755 /run/sshd
/usr/sbin/sshd -t -f "$W/sshd/config" 2>"$W/sshd/log" || { show "$W/sshd/log"; fail "sshd -t refuses the test's configuration"; }
ip netns exec "$NS" /usr/sbin/sshd -D -e -f "$W/sshd/config" 2>"$W/sshd/log" &
SSHD_PID=$!
i=0
until ip netns exec "$NS" timeout 2 bash -c ': <>"/dev/tcp/$0/$1"' "$NAS_ADDR" "$PORT" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 50 ] || fail "sshd does not listen in the namespace"
    kill -0 "$SSHD_PID" 2>/dev/null || fail "sshd exited"
    sleep 0.1
done
reaches && fail "the target answers before any attach"
echo "target: sshd in namespace $NS on $NAS_ADDR:$PORT, host end $HOST_IF (down)"

# ---- the hooks: the shipped network-link with its settings file, and an alert that logs --------
cp "$HOOK_SRC" "$W/hooks/network-link" && chmod 755 "$W/hooks/network-link" || exit 1
cat >"$W/hooks/network-link.conf" <<EOF
LINK=$HOST_IF
ADDRESS=$HOST_ADDR/30
TARGET_HOST=$NAS_ADDR
PROTOCOL=sshfs
REMOTE_PATH=$W/target
SSH_USER=root
SSH_PORT=$PORT
SSH_KEY=$W/ssh/id_ed25519
SSH_KNOWN_HOSTS=$W/ssh/known_hosts
MOUNTPOINT=$MNT
SERVICE_USER=root
REACH_TIMEOUT=6
EOF
chmod 600 "$W/hooks/network-link.conf"
cat >"$W/hooks/alert" <<EOF
#!/bin/sh
echo "alert \$MAMORI_MEDIUM \$MAMORI_ALERT" >>"$W/hooks.log"
EOF
chmod 700 "$W/hooks/alert"
# The hook as mamori runs it: the contract's environment only (docs/operations.md §8.4).
hook() {
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin MAMORI_HOOK="$1" \
        MAMORI_MEDIUM=NAS MAMORI_MEDIUM_PATH="$MNT/repo" MAMORI_FS_LABEL= MAMORI_FS_UUID= \
        MAMORI_HOSPITAL=1310012345 "$W/hooks/network-link" >>"$W/hooks.log" 2>&1
}

# The settings file is refused when others may change it.
chmod 666 "$W/hooks/network-link.conf"
hook attach && fail "the hook read a settings file others may write"
grep -q 'writable by no one else' "$W/hooks.log" || fail "no message for a loose settings file"
chmod 600 "$W/hooks/network-link.conf"
: >"$W/hooks.log"

unset MAMORI_LANG LANGUAGE LC_MESSAGES MAMORI_PASSPHRASE
export LANG=C.UTF-8 LC_ALL=C.UTF-8
export MAMORI_CACHE=$W/cache MAMORI_AUDIT_DIR=$W/audit-host MAMORI_DICT_SAMPLES=10
PASS=netns-medium-passphrase
PASSFILE=$W/passphrase
(umask 077 && echo "$PASS" >"$PASSFILE") || exit 1

# ---- the medium: attach by hand, init, label, detach ------------------------------------------
hook attach || fail "the attach hook failed"
mountpoint -q "$MNT" || fail "attach did not mount $MNT"
grep -q "fuse.sshfs" <(findmnt -n -o FSTYPE "$MNT") || fail "$MNT is not an sshfs mount"
MAMORI_PASSPHRASE=$PASS must_be init 0 "$M" -q init --repo "$MNT/repo" --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets
MAMORI_PASSPHRASE=$PASS must_be label 0 "$M" media init --repo "$MNT/repo" --label NAS --hospital 1310012345
hook detach || fail "the detach hook failed"
offline "after media init"
[ -d "$W/target/repo" ] || fail "the repository is not in the target's folder"

# generations on the target, through the hook (prints their ids)
gens() {
    hook attach || fail "re-attach failed"
    MAMORI_PASSPHRASE=$PASS "$M" generations --repo "$MNT/repo" --json >"$W/gens.out" 2>&1
    local rc=$?
    hook detach || fail "detach after generations failed"
    [ $rc = 0 ] || { show "$W/gens.out"; fail "generations on the target"; }
    grep -o '"id":"[0-9a-f]*"' "$W/gens.out" | cut -d'"' -f4
}

# (seed 11 with 60 patients adds files on each of the next days: every run has new data)
"$G" --out "$W/src" --patients 60 --days 30 --seed 11 -q || fail "mamori-gen failed"
cat >"$W/mamori.conf" <<EOF
[hospital]
id = 1310012345
[service]
state_dir = $W/state
passphrase_file = $PASSFILE
[source "ssmix2"]
kind = ssmix2
path = $W/src/standard
schedule = daily
[media]
rotation = weekday
staging = $W/staging
[medium "NAS"]
days = daily
path = $MNT/repo
[hooks]
attach = $W/hooks/network-link
attach_timeout = 60s
detach = $W/hooks/network-link
detach_timeout = 60s
alert = $W/hooks/alert
EOF
must_be config 0 "$M" config check --config "$W/mamori.conf"

# ---- three days through the link ----------------------------------------------------------------
: >"$W/walls"
cycle() { # cycle <name> <want> <date>: one `mamori run`, its wall time appended to walls
    local t0 t1
    t0=$(date +%s.%N)
    must_be "$1" "$2" "$M" --lang en run --config "$W/mamori.conf" --date "$3"
    t1=$(date +%s.%N)
    echo "$2 $(echo "$t1 - $t0" | python3 -c 'print(eval(input()))')" >>"$W/walls"
}
for day in 07 08 09; do
    cycle "run-$day" 0 "2026-12-$day"
    offline "after the run of 2026-12-$day"
    before=$(find "$W/src/standard" -type f | wc -l)
    "$G" advance --out "$W/src" --days 1 -q || fail "mamori-gen advance failed"
    [ "$(find "$W/src/standard" -type f | wc -l)" -gt "$before" ] || fail "advance added no file"
done
grep -q alert "$W/hooks.log" && fail "an alert in three good days"
gens >"$W/ids" || exit 1
offline "after listing the generations"
[ "$(wc -l <"$W/ids")" = 3 ] || { show "$W/ids"; fail "three generations expected on the target"; }
echo "three days through the link, three generations on the target, offline between: ok"

# ---- the target is down: attach cannot reach it, detach still runs, alerted, recorded -----------
: >"$W/hooks.log"
ip -n "$NS" link set "$NAS_IF" down
cycle target-down 1 2026-12-10
ip -n "$NS" link set "$NAS_IF" up
grep -q "does not answer on $HOST_IF" "$W/target-down.err" ||
    { show "$W/target-down.err"; fail "the attach hook did not say the target does not answer"; }
grep -q '^alert NAS attach hook failed' "$W/hooks.log" || fail "no alert for the unreachable target"
grep -q '"stage":"attach"' "$W/target-down.out" "$W/state/windows.jsonl" ||
    fail "the failed attach is not recorded"
tail -n 1 "$W/state/windows.jsonl" | grep -q '"detach":0' || fail "detach did not run after the failed attach"
offline "after the failed attach"

# ---- another route still reaches the target: detach fails, alerted -------------------------------
: >"$W/hooks.log"
ip link add "mmb$N" type veth peer name "mmc$N" &&
    ip link set "mmc$N" netns "$NS" &&
    ip -n "$NS" address add "10.232.$((N % 250)).1/30" dev "mmc$N" &&
    ip -n "$NS" link set "mmc$N" up &&
    ip address add "10.232.$((N % 250)).2/30" dev "mmb$N" &&
    ip link set "mmb$N" up &&
    ip route add "$NAS_ADDR/32" via "10.232.$((N % 250)).1" dev "mmb$N" || fail "cannot add the second route"
cycle back-door 1 2026-12-11
grep -q 'still answers with .* down: another route' "$W/back-door.err" ||
    { show "$W/back-door.err"; fail "detach did not notice the second route"; }
grep -q '^alert NAS detach hook failed' "$W/hooks.log" || fail "no alert for the second route"
ip link delete dev "mmb$N" || fail "cannot remove the second route"
offline "after the second route is gone"

# ---- the window records match the runs ---------------------------------------------------------
python3 - "$W/state/windows.jsonl" "$W/walls" <<'EOF' || fail "the window records do not match the runs"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
walls = [l.split() for l in open(sys.argv[2])]
bad = []
if len(lines) != len(walls):
    bad.append(f"{len(lines)} window records for {len(walls)} runs")
for i, (w, (want, wall)) in enumerate(zip(lines, walls)):
    want, wall = int(want), float(wall)
    if w.get("medium") != "NAS":
        bad.append(f"record {i}: medium {w.get('medium')!r}")
    if w.get("result") != want:
        bad.append(f"record {i}: result {w.get('result')} for exit {want}")
    if not 0 < w.get("online_s", 0) <= wall:
        bad.append(f"record {i}: online_s {w.get('online_s')} not in (0, {wall:.3f}]")
    if want == 0 and not (w.get("bytes_written", 0) > 0 and w.get("generations") == 1):
        bad.append(f"record {i}: a good run wrote {w.get('bytes_written')} bytes")
    if want == 0 and w.get("detach") != 0:
        bad.append(f"record {i}: detach {w.get('detach')}")
stages = [w.get("stage") for w in lines]
if stages[3:] != ["attach", "detach"]:
    bad.append(f"stages {stages}")
for b in bad:
    print("    " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
# the good runs' generations are the ones on the target
for id in $(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    w = json.loads(l)
    if w["result"] == 0: print(w["generation"])' "$W/state/windows.jsonl"); do
    grep -qx "$id" "$W/ids" || fail "generation $id of a window is not on the target"
done
echo "unreachable target, second route, window records: ok"
exit 0
