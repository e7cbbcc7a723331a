#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The example hooks of etc/hooks parse as POSIX sh (`sh -n`), are executable, and pass
# shellcheck when it is installed. They are examples for a hospital's IT staff; most are not
# run by the tests (they mount disks and switch USB ports), network-link is: the crash suite's
# cycle-netns runs it against an SSHFS target in a network namespace.
#
# usage: check-hooks.sh <source-root>
set -u

root=${1:?usage: check-hooks.sh <source-root>}
fail=0
for f in "$root"/etc/hooks/*; do
    name=${f#"$root"/}
    if ! sh -n "$f"; then
        echo "check-hooks: $name does not parse"
        fail=1
    fi
    if [ ! -x "$f" ]; then
        echo "check-hooks: $name is not executable"
        fail=1
    fi
    if command -v shellcheck >/dev/null 2>&1 && ! shellcheck -s sh "$f"; then
        fail=1
    fi
done
exit $fail
