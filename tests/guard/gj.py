#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Read what the guard's tests need from mamori's JSON answers (stdlib only).

  gj.py newest FILE        the newest generation of `generations --json`:
                           "<id> <guard> <reason codes, comma-separated or ->"
  gj.py gen FILE N         the same for the N-th newest (0 = newest)
  gj.py result FILE        a `backup --json` / `run --json` answer: "<guard> <reason codes or ->"
Each reason line `code n1 n2` (docs/guard.md) becomes `code(n1,n2)`; reasons hold no paths.
"""
import json
import sys


def codes(reasons):
    if not reasons:
        return "-"
    if isinstance(reasons, list):
        lines = reasons
    else:
        lines = str(reasons).splitlines()
    out = []
    for line in lines:
        line = line if isinstance(line, str) else str(line.get("code", line))
        w = line.split()
        if not w:
            continue
        c = w[0] + ("(%s)" % ",".join(w[1:]) if len(w) > 1 else "")
        if c not in out:
            out.append(c)
    return ",".join(out) or "-"


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read().strip()
    # run --json may print several lines: the last object is the answer
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(text.splitlines()[-1])


def reasons_of(o):
    for k in ("guard_reasons", "reasons"):
        if k in o:
            return o[k]
    g = o.get("guard")
    if isinstance(g, dict):
        return g.get("reasons")
    return None


def verdict_of(o):
    g = o.get("guard", "missing")
    if isinstance(g, dict):
        g = g.get("verdict", "missing")
    return g


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    o = load(path)
    if cmd in ("newest", "gen"):
        n = int(sys.argv[3]) if cmd == "gen" else 0
        # newest first: by start time, and among equal ones (two backups within one second)
        # by the list's own order, which is oldest first
        gens = [g for _, g in sorted(enumerate(o), key=lambda ig: (ig[1]["start"], ig[0]), reverse=True)]
        g = gens[n]
        print(g["id"], verdict_of(g), codes(reasons_of(g)))
    elif cmd == "result":
        print(verdict_of(o), codes(reasons_of(o)))
    else:
        sys.exit("unknown command")


if __name__ == "__main__":
    main()
