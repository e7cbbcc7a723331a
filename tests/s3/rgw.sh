#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A real Ceph RADOS Gateway for the S3 tests (issue 20), from Debian 12's Pacific packages:
# one ceph-mon, one BlueStore ceph-osd on a sparse file, radosgw (beast) on 127.0.0.1, no
# manager daemon, pools of size 1, cephx keyrings, conf, pid files and logs all inside DIR
# (nothing in /etc/ceph or /var/lib/ceph). In front of it: the lying proxy and the dropping
# proxy (tests/s3/s3proxy.py).
#
#   rgw.sh start DIR   start everything, print `export` lines for the shell (eval them)
#   rgw.sh stop DIR    kill what start started and remove DIR (safe twice, after a failure)
#
# DIR must be on a real filesystem: BlueStore opens its block file O_DIRECT (not tmpfs).
# Locked objects can never be removed through S3, so stop throws the whole DIR away.
# When MAMORI_S3_ENDPOINT is set (another S3 store, with MAMORI_S3_ACCESS_KEY and
# MAMORI_S3_SECRET_KEY), start starts no Ceph daemon: it creates the two buckets and starts the
# proxies in front of that store.
# Exports: MAMORI_S3_ENDPOINT ACCESS_KEY SECRET_KEY REGION BUCKET_LOCK BUCKET_PLAIN LYING DROPPING
# DROPPING_CTL (all MAMORI_S3_*; docs/testing.md "S3"). RGW_ACCESS_KEY fixes the access key.
# The same radosgw also serves TLS (a self-signed certificate for 127.0.0.1 and localhost made
# in DIR): MAMORI_S3_TLS_ENDPOINT=https://127.0.0.1:PORT and MAMORI_S3_TLS_CA=DIR/cert.pem
# (not with an outside MAMORI_S3_ENDPOINT).
# Runs as root (the daemons stay root; CI runs as root). Starts in about 7 s, stops in 1.5 s.
set -euo pipefail

# meson test sets MALLOC_PERTURB_: Ceph's own memory is not under test, and perturbing it costs
# a third more resident memory
unset MALLOC_PERTURB_
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
region=${MAMORI_S3_REGION:-us-east-1}

die() {
    echo "rgw.sh: $*" >&2
    # a failed start leaves no daemon behind, only DIR with its logs (stop removes it)
    [ "${cmd:-}" != start ] || [ -z "${dir:-}" ] || [ ! -d "$dir/run" ] || kill_daemons
    exit 1
}

t_start=${EPOCHREALTIME/./}
# A progress line on stderr with the seconds since the start.
log() {
    local us=$((${EPOCHREALTIME/./} - t_start))
    echo "rgw.sh: $((us / 1000000)).$(((us / 100000) % 10)) s: $*" >&2
}

# $1 distinct free TCP ports on 127.0.0.1, one a line (bound together, then released: a race
# with another binder in between is unlikely).
free_ports() {
    python3 -c 'import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print("\n".join(str(x.getsockname()[1]) for x in s))' "$1"
}

# Random lower-case hex of $1 bytes.
rand_hex() {
    od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

# A signed S3 request (curl 7.88 does not send x-amz-content-sha256 by itself, and RGW refuses a
# SigV4 request without it: SignatureDoesNotMatch): s3curl METHOD URL [curl args...]; prints the body, returns curl's status
# (--fail: HTTP >= 400 fails).
s3curl() {
    local method=$1 url=$2
    shift 2
    curl -sS --fail --max-time 30 -X "$method" --aws-sigv4 "aws:amz:$region:s3" \
        --user "$MAMORI_S3_ACCESS_KEY:$MAMORI_S3_SECRET_KEY" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" "$url"
}

# Creates the lock bucket and the plain bucket on $MAMORI_S3_ENDPOINT; sets their names.
make_buckets() {
    local r
    r=$(rand_hex 4)
    MAMORI_S3_BUCKET_LOCK=mm-lock-$r
    MAMORI_S3_BUCKET_PLAIN=mm-plain-$r
    s3curl PUT "$MAMORI_S3_ENDPOINT/$MAMORI_S3_BUCKET_LOCK" \
        -H 'x-amz-bucket-object-lock-enabled: true' >/dev/null ||
        die "cannot create bucket '$MAMORI_S3_BUCKET_LOCK' with object lock"
    s3curl PUT "$MAMORI_S3_ENDPOINT/$MAMORI_S3_BUCKET_PLAIN" >/dev/null ||
        die "cannot create bucket '$MAMORI_S3_BUCKET_PLAIN'"
}

check_prereq() {
    local b missing=""
    [ "$(id -u)" = 0 ] || die "must run as root (the Ceph daemons; CI runs as root)"
    for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl python3 \
        openssl; do
        command -v "$b" >/dev/null 2>&1 || missing="$missing $b"
    done
    [ -z "$missing" ] || die "missing:$missing (make deps installs ceph-mon ceph-osd radosgw ceph-common openssl)"
}

# Wait until "$@" succeeds, at most $1 seconds.
wait_for() {
    local end=$((${EPOCHREALTIME/./} + $1 * 1000000))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
        sleep 0.1
    done
}

ceph_cli() {
    ceph --conf "$dir/ceph.conf" --connect-timeout 15 "$@"
}

osd_up() {
    ceph_cli osd dump 2>/dev/null | grep -q '^osd\.0 up'
}

s3_works() {
    s3curl GET "$MAMORI_S3_ENDPOINT/" -o /dev/null
}

tls_works() {
    s3curl GET "$MAMORI_S3_TLS_ENDPOINT/" --cacert "$MAMORI_S3_TLS_CA" -o /dev/null
}

# A self-signed certificate for 127.0.0.1 and localhost, DIR/cert.pem (also the CA the tests
# trust) and DIR/key.pem, valid 2 days.
make_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" >>"$dir/log/openssl.log" 2>&1 ||
        die "openssl could not make the test certificate (see $dir/log/openssl.log)"
    chmod 600 "$dir/key.pem"
}

write_conf() {
    cat >"$dir/ceph.conf" <<EOF
# written by tests/s3/rgw.sh: a throwaway single-node test cluster
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$mon_port]
mon_initial_members = a
public_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_msgr2 = true
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
keyring = $dir/keyring
run_dir = $dir/run
crash_dir = $dir/crash
admin_socket = ${admin_socket:+$dir/run/\$name.asok}
pid_file = $dir/run/\$name.pid
log_file = $dir/log/\$name.log
mon_cluster_log_file = $dir/log/cluster.log
log_to_stderr = false
err_to_stderr = true
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 2
mon_data_avail_crit = 1
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_max_pg_per_osd = 1000
mon_warn_on_insecure_global_id_reclaim_allowed = false
auth_allow_insecure_global_id_reclaim = false

[mon]
# propose at once: without this each of RGW's pool creations waits a second
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
mon_data = $dir/mon
mon_memory_target = 134217728
rocksdb_cache_size = 16777216

[osd]
osd_data = $dir/osd
keyring = $dir/osd/keyring
osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = 3221225472
bluestore_fsck_on_mount = false
bluestore_cache_autotune = false
bluestore_cache_size = 33554432
# 896 MiB is Pacific's floor for osd_memory_target (a lower value is silently ignored and the
# 4 GiB default stays); with the autotuner off the caches are fixed instead: the OSD holds
# about 50-100 MiB resident.
osd_memory_target = 939524096
osd_memory_cache_min = 33554432
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1
bluestore_rocksdb_options = compression=kNoCompression,max_write_buffer_number=2,min_write_buffer_number_to_merge=1,recycle_log_file_num=2,write_buffer_size=16777216,writable_file_max_buffer_size=0,compaction_readahead_size=2097152,max_background_compactions=1,max_total_wal_size=67108864

[client.rgw.a]
rgw_data = $dir/rgw
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port ssl_endpoint=127.0.0.1:$tls_port ssl_certificate=$dir/cert.pem ssl_private_key=$dir/key.pem
rgw_enable_apis = s3
rgw_thread_pool_size = 64
rgw_dynamic_resharding = false
rgw_enable_usage_log = false
rgw_cache_lru_size = 1000
EOF
}

start_cluster() {
    local osd_uuid osd_key mkfs_pid
    fsid=$(cat /proc/sys/kernel/random/uuid)
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    { read -r mon_port; read -r rgw_port; read -r tls_port; } < <(free_ports 3)
    # a unix socket path holds at most 107 bytes: no admin sockets below a deep DIR
    admin_socket=yes
    [ ${#dir} -lt 70 ] || admin_socket=
    mkdir -p "$dir/run" "$dir/log" "$dir/mon" "$dir/osd" "$dir/rgw" "$dir/crash"
    write_conf
    make_cert

    # the OSD's mkfs needs no monitor: it runs while the monitor is set up
    log "osd mkfs, keyrings and monitor"
    osd_key=$(ceph-authtool --gen-print-key)
    ceph-authtool --create-keyring "$dir/osd/keyring" -n osd.0 --add-key "$osd_key" >/dev/null
    ceph-osd --conf "$dir/ceph.conf" -i 0 --mkfs --no-mon-config --key "$osd_key" \
        --osd-uuid "$osd_uuid" >>"$dir/log/osd-mkfs.log" 2>&1 &
    mkfs_pid=$!
    ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool "$dir/keyring" --gen-key -n client.admin --cap mon 'allow *' \
        --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
    ceph-authtool "$dir/keyring" --gen-key -n client.rgw.a --cap mon 'allow rw' \
        --cap osd 'allow rwx' --cap mgr 'allow rw' >/dev/null
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" \
        "$dir/monmap" >/dev/null
    ceph-mon --conf "$dir/ceph.conf" --mkfs -i a --monmap "$dir/monmap" \
        --keyring "$dir/keyring" >>"$dir/log/setup.log" 2>&1 ||
        die "ceph-mon --mkfs failed (see $dir/log/)"
    ceph-mon --conf "$dir/ceph.conf" -i a >>"$dir/log/setup.log" 2>&1 ||
        die "ceph-mon did not start (see $dir/log/)"

    log "monitor started; osd"
    printf '{"cephx_secret": "%s"}\n' "$osd_key" >"$dir/osd-new.json"
    ceph_cli osd new "$osd_uuid" -i "$dir/osd-new.json" >>"$dir/log/setup.log" 2>&1 ||
        die "'ceph osd new' failed: the monitor does not answer (see $dir/log/)"
    rm -f "$dir/osd-new.json"
    wait "$mkfs_pid" || die "ceph-osd --mkfs failed (see $dir/log/osd-mkfs.log)"
    ceph-osd --conf "$dir/ceph.conf" -i 0 >>"$dir/log/setup.log" 2>&1 ||
        die "ceph-osd did not start (see $dir/log/)"
    log "osd started"
    wait_for 60 osd_up || die "osd.0 did not come up within 60 s (see $dir/log/)"

    log "radosgw"
    radosgw --conf "$dir/ceph.conf" -n client.rgw.a >>"$dir/log/setup.log" 2>&1 ||
        die "radosgw did not start (see $dir/log/)"
    MAMORI_S3_ACCESS_KEY=${RGW_ACCESS_KEY:-MMTEST$(rand_hex 7 | tr a-f A-F)}
    MAMORI_S3_SECRET_KEY=$(rand_hex 20)
    radosgw-admin --conf "$dir/ceph.conf" user create --uid=mamori-test \
        --display-name='mamori test' --access-key="$MAMORI_S3_ACCESS_KEY" \
        --secret-key="$MAMORI_S3_SECRET_KEY" >>"$dir/log/setup.log" 2>&1 ||
        die "radosgw-admin user create failed (see $dir/log/)"
    log "user created"
    MAMORI_S3_ENDPOINT=http://127.0.0.1:$rgw_port
    MAMORI_S3_TLS_ENDPOINT=https://127.0.0.1:$tls_port
    MAMORI_S3_TLS_CA=$dir/cert.pem
    launch_proxies
    wait_for 60 s3_works || die "radosgw does not answer a signed request within 60 s (see $dir/log/)"
    wait_for 10 tls_works ||
        die "radosgw does not answer over TLS on $MAMORI_S3_TLS_ENDPOINT (see $dir/log/)"
}

# Starts the two proxies in front of $MAMORI_S3_ENDPOINT (wait_proxies waits for them).
launch_proxies() {
    local p lp dp url
    { read -r lp; read -r dp; } < <(free_ports 2)
    MAMORI_S3_LYING=http://127.0.0.1:$lp
    MAMORI_S3_DROPPING=http://127.0.0.1:$dp
    MAMORI_S3_DROPPING_CTL=$dir/dropping.ctl
    mkdir -p "$dir/run" "$dir/log"
    for p in lying dropping; do
        url=MAMORI_S3_${p^^}
        MAMORI_S3_ACCESS_KEY=$MAMORI_S3_ACCESS_KEY MAMORI_S3_SECRET_KEY=$MAMORI_S3_SECRET_KEY \
            setsid python3 "$here/s3proxy.py" "$p" --listen "${!url#http://}" \
            --upstream "$MAMORI_S3_ENDPOINT" --control "$MAMORI_S3_DROPPING_CTL" \
            --pid-file "$dir/run/proxy-$p.pid" ${rehost:+--rehost} \
            >>"$dir/log/proxy-$p.log" 2>&1 </dev/null &
    done
}

wait_proxies() {
    local p url
    for p in lying dropping; do
        url=MAMORI_S3_${p^^}
        wait_for 10 curl -s -o /dev/null "${!url}/" ||
            die "the $p proxy does not answer (see $dir/log/proxy-$p.log)"
    done
}

cmd_start() {
    local fstype rehost=
    [ -n "$dir" ] || die "usage: rgw.sh start DIR"
    check_prereq_tools
    if [ -n "${MAMORI_S3_ENDPOINT:-}" ]; then
        if [ -z "${MAMORI_S3_ACCESS_KEY:-}" ] || [ -z "${MAMORI_S3_SECRET_KEY:-}" ]; then
            die "MAMORI_S3_ENDPOINT is set: MAMORI_S3_ACCESS_KEY and MAMORI_S3_SECRET_KEY too"
        fi
        mkdir -p "$dir"
        echo external >"$dir/rgw-external"
        MAMORI_S3_TLS_ENDPOINT= # TLS only from the cluster started here
        case "$MAMORI_S3_ENDPOINT" in
        http://127.0.0.1:* | http://localhost:* | http://\[::1\]:*) rehost= ;;
        *) rehost=1 ;;
        esac
        launch_proxies
        make_buckets
    else
        check_prereq
        if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
            die "'$dir' exists and is not empty"
        fi
        mkdir -p "$dir"
        dir=$(cd "$dir" && pwd)
        fstype=$(stat -f -c %T "$dir")
        case "$fstype" in
        tmpfs | ramfs) die "'$dir' is on $fstype: BlueStore opens its block file O_DIRECT; use a real filesystem" ;;
        esac
        start_cluster
        log "radosgw answers"
        make_buckets
    fi
    log "buckets created"
    wait_proxies
    log "proxies answer"
    cat <<EOF
export MAMORI_S3_ENDPOINT=$MAMORI_S3_ENDPOINT
export MAMORI_S3_ACCESS_KEY=$MAMORI_S3_ACCESS_KEY
export MAMORI_S3_SECRET_KEY=$MAMORI_S3_SECRET_KEY
export MAMORI_S3_REGION=$region
export MAMORI_S3_BUCKET_LOCK=$MAMORI_S3_BUCKET_LOCK
export MAMORI_S3_BUCKET_PLAIN=$MAMORI_S3_BUCKET_PLAIN
export MAMORI_S3_LYING=$MAMORI_S3_LYING
export MAMORI_S3_DROPPING=$MAMORI_S3_DROPPING
export MAMORI_S3_DROPPING_CTL=$MAMORI_S3_DROPPING_CTL
EOF
    if [ -n "${MAMORI_S3_TLS_ENDPOINT:-}" ]; then
        echo "export MAMORI_S3_TLS_ENDPOINT=$MAMORI_S3_TLS_ENDPOINT"
        echo "export MAMORI_S3_TLS_CA=$MAMORI_S3_TLS_CA"
    fi
}

check_prereq_tools() {
    local b
    for b in curl python3; do
        command -v "$b" >/dev/null 2>&1 || die "missing: $b"
    done
}

# Is process $1 running (a zombie waiting for its reaper is not)?
running() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Wait at most $1 tenths of a second until none of the pids in $pids runs; leaves the living
# ones in $pids.
wait_gone() {
    local i pid alive
    for ((i = 0; i < $1; i++)); do
        alive=""
        for pid in $pids; do
            running "$pid" && alive="$alive $pid"
        done
        pids=$alive
        [ -n "$pids" ] || return 0
        sleep 0.1
    done
    return 1
}

# Kill the daemons whose pid files are in DIR/run and wait for them: TERM, and KILL after a
# second (the OSD takes ~7 s to shut down cleanly, and DIR is thrown away anyway).
kill_daemons() {
    local f pid pids=""
    for f in "$dir"/run/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null) || continue
        case "$pid" in '' | *[!0-9]*) continue ;; esac
        # only our own daemons: the process's command line names this DIR's conf or proxy pid
        if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir"; then
            kill -TERM "$pid" 2>/dev/null && pids="$pids $pid"
        fi
    done
    wait_gone 10 && return 0
    for pid in $pids; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait_gone 100 || echo "rgw.sh: still running after SIGKILL:$pids" >&2
}

# Kill what start started, remove DIR.
cmd_stop() {
    [ -n "$dir" ] || die "usage: rgw.sh stop DIR"
    [ -e "$dir" ] || return 0
    kill_daemons
    rm -rf "$dir"
}

cmd=${1:-}
dir=${2:-}
case "$cmd" in
start) cmd_start ;;
stop)
    [ -z "$dir" ] || [ ! -e "$dir" ] || dir=$(cd "$dir" && pwd)
    cmd_stop
    ;;
*) die "usage: rgw.sh start|stop DIR" ;;
esac
