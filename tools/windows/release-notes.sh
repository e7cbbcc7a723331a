#!/bin/bash
# tools/windows/release-notes.sh — the Windows build's part of the release notes (Markdown on
# stdout): the SHA-256 of every Windows file (hospitals that let only listed programs run from
# USB media enter these), the Debian source packages its libraries were built from and the
# compiler. Run after `make windows`.
#
#   tools/windows/release-notes.sh [<medium path>=<file> ...]
#
# Without arguments: bin/mamori.exe = build-windows/mamori.exe. Each argument names a file and
# where it lies on a medium (e.g. '緊急時ビューア.bat=/tmp/medium/緊急時ビューア.bat').
set -euo pipefail

cd "$(dirname "$0")/../.."
DEPS="${MM_WINDEPS:-build-windows/deps}"
[ $# -gt 0 ] || set -- "bin/mamori.exe=build-windows/mamori.exe"

version="$(sed -n "s/^ *version: *'\([^']*\)'.*/\1/p" meson.build | head -n 1)"
echo "## mamori $version — Windows (x86-64)"
echo
echo "| file on the medium | SHA-256 |"
echo "|---|---|"
for a in "$@"; do
  name="${a%%=*}"
  file="${a#*=}"
  [ -f "$file" ] || {
    echo "release-notes: $file is missing (make windows first)" >&2
    exit 1
  }
  echo "| \`$name\` | \`$(sha256sum <"$file" | cut -d ' ' -f 1)\` |"
done
echo
if [ -d "$DEPS/stamps" ]; then
  echo "Built with $(x86_64-w64-mingw32-gcc-posix -dumpfullversion 2>/dev/null | sed 's/^/mingw-w64 gcc /') from Debian 12's source packages:"
  for s in "$DEPS"/stamps/*.stamp; do
    b="$(basename "$s" .stamp)"
    echo "${b%%_*} ${b#*_}$([ "${b%%_*}" = cmocka ] && echo " (test_win_path.exe only)")"
  done | sort | sed 's/^/- /'
fi
