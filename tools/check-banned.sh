#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Fail when C code under src/ or tools/ calls a banned function (curl's
# checksrc; `#pragma poison` would break the libc headers). Comments, string
# and character literals are blanked first, and only calls count (a name
# followed by '('), so prose and longer names such as mm_strcpy are fine.
# Prints "file:line: text" for each offender and exits 1 if there is one.
#
# usage: check-banned.sh <source-root>
set -u

root=${1:-.}
cd "$root" || exit 2

banned='strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|gmtime|localtime|tmpnam|alloca'

files=$(find src tools -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | LC_ALL=C sort)
[ -n "$files" ] || exit 0

# shellcheck disable=SC2086 # the file list is split on purpose (no spaces in source paths)
awk -v banned="$banned" '
FNR == 1 { incomment = 0 }
{
    line = $0
    out = ""
    n = length(line)
    i = 1
    while (i <= n) {
        c = substr(line, i, 1)
        c2 = substr(line, i, 2)
        if (incomment) {
            if (c2 == "*/") {
                incomment = 0
                i += 2
            } else {
                i++
            }
            continue
        }
        if (c2 == "/*") {
            incomment = 1
            out = out " "
            i += 2
            continue
        }
        if (c2 == "//")
            break
        if (c == "\"" || c == "\047") {
            q = c
            i++
            while (i <= n && substr(line, i, 1) != q)
                i += substr(line, i, 1) == "\\" ? 2 : 1
            i++
            out = out " "
            continue
        }
        out = out c
        i++
    }
    if (match(out, "(^|[^A-Za-z0-9_])(" banned ")[ \t]*\\(")) {
        print FILENAME ":" FNR ": " $0
        found = 1
    }
}
END { exit found ? 1 : 0 }
' $files
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "check-banned: banned calls found (use snprintf, mm_buf, strtol, gmtime_r, localtime_r, mkstemp)" >&2
fi
exit "$rc"
