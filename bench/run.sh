#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every benchmark against the build folder given (default build/). See docs/PERFORMANCE.md.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
"$here/gen.sh" "$build/tools/gen/mamori-gen"
"$here/parse.sh" "$build/tools/gen/mamori-gen" "$build/bench/bench_parse"
"$here/index.sh" "$build/src/cli/mamori" "$build/tools/gen/mamori-gen" "$build/bench/bench_index"
"$here/vs-peers.sh" "$build" 200000
"$here/vs-peers.sh" "$build" 1000000
