#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Render normal_days.py's JSON as Markdown: per night the shares, the maxima, added kinds.

  normal_days_report.py FILE.json [TITLE]
"""
import json
import sys
from collections import Counter

KINDS = ("added", "modified", "replaced", "renamed", "deleted")
ROOTS = ("standard", "extended", "billing", "pacs")


def pct(x):
    return "%.2f" % (100 * x)


def main():
    d = json.load(open(sys.argv[1]))
    title = sys.argv[2] if len(sys.argv) > 2 else ""
    nights = d["nights"]
    print("### %s%d patients, seed %d, %d days before, %d night(s) of %d day(s)\n" % (
        title + ": " if title else "", d["patients"], d["seed"], d["days_before"], len(nights), d["step"]))
    for root in ROOTS:
        print("#### %s\n" % root)
        print("| night | files before | added % | modified % | replaced % | renamed % | deleted % | renames (flag) | inode reused |")
        print("|---|---|---|---|---|---|---|---|---|")
        mx = Counter()
        kinds = Counter()
        ren = Counter()
        odd = Counter()
        for n in nights:
            r = n[root]
            s = r["share"]
            for k in KINDS:
                mx[k] = max(mx[k], s[k])
            kinds.update(r["added_kinds"])
            ren.update(r["renames"])
            odd.update(r["odd"])
            print("| %d | %d | %s | %s | %s | %s | %s | %s | %d |" % (
                n["night"], r["files_before"], *(pct(s[k]) for k in KINDS),
                " ".join("%s:%d" % kv for kv in sorted(r["renames"].items())) or "-",
                r.get("inode_reused", 0)))
        print("| **max** | | %s | %s | %s | %s | %s | %s | |\n" % (
            *(("**%s**" % pct(mx[k])) for k in KINDS), " ".join("%s:%d" % kv for kv in sorted(ren.items())) or "-"))
        print("Added files by kind over all nights: %s.\n" % (
            ", ".join("%s %d" % kv for kv in kinds.most_common()) or "none"))
        if odd:
            print("Outside the convention: %s.\n" % ", ".join("%s %d" % kv for kv in odd.items()))


if __name__ == "__main__":
    main()
