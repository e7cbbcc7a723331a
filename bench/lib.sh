# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2034 # sets variables for the script that sources it
#
# Sourced by the benchmarks that run on a generated storage (index.sh, view.sh).
# bench_args NAME <mamori> <mamori-gen> <bench-binary> [storage-dir] [patients] [days]
# sets mamori, gen, bench, store, patients (18000), days (365), and work: a new temporary
# folder mamori-bench-NAME-XXXXXX; without a storage-dir the storage goes to $work/g.
bench_args() {
    local name=$1
    shift
    mamori=$1
    gen=$2
    bench=$3
    store=${4:-}
    patients=${5:-18000}
    days=${6:-365}
    work=$(mktemp -d "${TMPDIR:-/tmp}/mamori-bench-$name-XXXXXX")
    [ -n "$store" ] || store=$work/g
}
