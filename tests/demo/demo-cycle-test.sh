#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The daily-cycle part of `make demo` (tools/demo-cycle.sh) on a small generated storage: the
# configuration it writes passes `config check`, six labelled media are made, today's medium
# (and only it) holds one generation after the run and is unplugged again (the mount point is
# empty), the window is recorded, and the viewer's launcher is on the medium.
#
# usage: demo-cycle-test.sh <mamori> <mamori-gen> <source-root>
set -u
M=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
G=$2
SRC=$3
W=$(mktemp -d "${TMPDIR:-/tmp}/mm-demo-XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
fail() {
    echo "demo-cycle: FAIL: $*" >&2
    [ -f "$W/out" ] && sed 's/^/    | /' "$W/out" >&2
    exit 1
}

"$G" --out "$W/demo/storage" --patients 12 --days 20 --extended >/dev/null 2>&1 ||
    fail "mamori-gen failed"
"$SRC/tools/demo-cycle.sh" "$M" "$W/demo" demo-test-passphrase >"$W/out" 2>&1 || fail "demo-cycle.sh failed"
today=$(sed -n 's/.*"medium":"\([A-Z]*\)".*/\1/p' "$W/demo/state/windows.jsonl" | tail -n 1)
[ -n "$today" ] || fail "no window recorded"
grep -q '"result":0' "$W/demo/state/windows.jsonl" || fail "the window did not succeed"
[ ! -e "$W/demo/mnt/repo" ] || fail "a medium is still plugged in after the cycle"
[ -x "$W/demo/media/$today/mamori-view.sh" ] || fail "no launcher on today's medium"
export MAMORI_PASSPHRASE=demo-test-passphrase
for l in MON TUE WED THU FRI WEEKEND; do
    n=$("$M" generations --repo "$W/demo/media/$l" --json 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["generations"]) if isinstance(d,dict) else len(d))') ||
        fail "generations of $l failed"
    want=0
    [ "$l" = "$today" ] && want=1
    [ "$n" = "$want" ] || fail "medium $l holds $n generations, not $want"
    "$M" media show --repo "$W/demo/media/$l" >/dev/null 2>&1 || fail "medium $l has no valid label"
done
grep -q "ビューア / viewer: .*/media/$today/mamori-view.sh" "$W/out" ||
    fail "the viewer's command for today's medium is not printed"
echo "demo-cycle: ok (today's medium $today)"
