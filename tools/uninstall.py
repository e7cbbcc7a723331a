#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make uninstall: remove what `meson install` put in place for this build folder.

The list is `meson introspect BUILD --installed` (every file etc/meson.build and the targets
install, without DESTDIR), so nothing else is ever removed: not /etc/mamori/mamori.conf, not the
hooks copied to /etc/mamori/hooks/, not the state in /var/lib/mamori. Folders left empty whose
path names mamori are removed too (/usr/share/mamori/hooks, /usr/share/doc/mamori, ...).

usage: uninstall.py BUILD [DESTDIR]
"""
import json
import os
import subprocess
import sys


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip().splitlines()[-1])
    build = sys.argv[1]
    destdir = sys.argv[2] if len(sys.argv) == 3 else ""
    out = subprocess.run(["meson", "introspect", build, "--installed"], check=True,
                         capture_output=True, text=True).stdout
    dirs = set()
    for path in sorted(set(json.loads(out).values())):
        full = destdir + path if destdir else path
        if os.path.lexists(full):
            os.unlink(full)
            print("removed", full)
        d = os.path.dirname(path)
        while "mamori" in d:
            dirs.add(d)
            d = os.path.dirname(d)
    for d in sorted(dirs, key=len, reverse=True):
        full = destdir + d if destdir else d
        try:
            os.rmdir(full)
            print("removed", full + "/")
        except OSError:
            pass  # not empty (the admin's mamori.conf, hooks) or already gone


if __name__ == "__main__":
    main()
