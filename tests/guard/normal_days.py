#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Measure what normal days change in a storage (issue 18: the guard's thresholds).

  normal_days.py --gen MAMORI-GEN --work DIR [--patients 400] [--days-before 30] [--days 60]
                 [--seed 1] [--step 1] [--json FILE] [--md FILE]

Generates a mamori-gen storage (standard + extended) and the department folders of dept.py,
then advances them night by night, snapshotting every file (path -> inode, size, sha256)
before and after each night, and classifies what changed per root (standard, extended,
billing, pacs), as shares of the files there before the night:
  added     a new path whose inode was not there before
  modified  same path, same inode, other bytes (rewritten in place)
  replaced  same path, new inode (an SS-MIX2 update pairs this with a rename of the old file)
  renamed   a new path carrying an inode that was at another path (flag _1 -> _2 and so on)
  deleted   a path gone whose inode is nowhere any more
It also lists the types of added files (by extension / magic) and anything outside the
SS-MIX2 naming convention. Prints no path (paths carry patient IDs): only counts.
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
FLAG = re.compile(r"_([0-9])$")
# <pid>_<date|->_<type>_<order>_<time17>_<dept>_<flag>
SSMIX2_NAME = re.compile(r"^[0-9A-Za-z]+_(-|[0-9]{8})_[A-Z]{3}(-[0-9]{2})?_[0-9]+_[0-9]{15,17}_[^_/]+_[012]$")


def snapshot(root, cache):
    """path -> (inode, size, sha256); cache keyed by (ino, size, mtime_ns, ctime_ns)."""
    out = {}
    for d, _dirs, files in os.walk(root):
        for n in files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            key = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            h = cache.get(key)
            if h is None:
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
                cache[key] = h
            out[os.path.relpath(p, root)] = (st.st_ino, st.st_size, h)
    return out


def kind_of(root, rel):
    ext = os.path.splitext(rel)[1].lower()
    if ext:
        return ext
    base = os.path.basename(rel)
    if SSMIX2_NAME.match(base):
        return "ssmix2-message"
    return "no-extension"


def classify(before, after, root):
    c = Counter()
    renames = Counter()
    added_kinds = Counter()
    odd = Counter()
    by_ino_before = {v[0]: k for k, v in before.items()}
    after_inos = {v[0] for v in after.values()}
    for p, (ino, _size, h) in after.items():
        if p in before:
            bino, _bs, bh = before[p]
            if bino == ino:
                if bh != h:
                    c["modified"] += 1
            else:
                c["replaced"] += 1
                if bh == h:
                    c["replaced_same_bytes"] += 1
        elif ino in by_ino_before and by_ino_before[ino] != p and \
                before[by_ino_before[ino]][2] != h and by_ino_before[ino] in after:
            # the inode of a file replaced tonight, reused by the file system for a new one
            c["added"] += 1
            c["inode_reused"] += 1
            added_kinds[kind_of(root, p)] += 1
        elif ino in by_ino_before and by_ino_before[ino] != p:
            c["renamed"] += 1
            src = by_ino_before[ino]
            f1, f2 = FLAG.search(src), FLAG.search(p)
            renames["%s->%s" % (f1.group(1) if f1 else os.path.dirname(src) != os.path.dirname(p) and "dir" or "?",
                                f2.group(1) if f2 else "?")] += 1
            if before[src][2] != h:
                c["renamed_changed"] += 1
        else:
            c["added"] += 1
            added_kinds[kind_of(root, p)] += 1
            fl = FLAG.search(p)
            if fl and kind_of(root, p) == "ssmix2-message":
                added_kinds["flag_" + fl.group(1)] += 1
            if root.endswith("standard") and not SSMIX2_NAME.match(os.path.basename(p)):
                odd["standard-name-outside-convention"] += 1
    for p, (ino, _s, _h) in before.items():
        if p not in after and ino not in after_inos:
            c["deleted"] += 1
    return c, renames, added_kinds, odd


def run(cmd):
    subprocess.run(cmd, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gen", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--patients", type=int, default=400)
    ap.add_argument("--days-before", type=int, default=30)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--step", type=int, default=1, help="days per night (a missed backup)")
    ap.add_argument("--json")
    a = ap.parse_args()
    st = os.path.join(a.work, "ss")
    dept = os.path.join(a.work, "dept")
    if not os.path.exists(os.path.join(st, "mamori-gen.state")):
        run([a.gen, "--out", st, "--patients", str(a.patients), "--days", str(a.days_before),
             "--seed", str(a.seed), "--extended", "-q"])
        run([sys.executable, os.path.join(HERE, "dept.py"), "init", "--out", dept, "--seed", str(a.seed)])
    roots = {"standard": os.path.join(st, "standard"), "extended": os.path.join(st, "extended"),
             "billing": os.path.join(dept, "billing"), "pacs": os.path.join(dept, "pacs")}
    cache = {}
    snaps = {k: snapshot(v, cache) for k, v in roots.items()}
    days = []
    for n in range(1, a.days + 1):
        run([a.gen, "advance", "--out", st, "--days", str(a.step), "-q"])
        for k in range(a.step):
            run([sys.executable, os.path.join(HERE, "dept.py"), "advance", "--out", dept,
                 "--day", str((n - 1) * a.step + k + 1), "--seed", str(a.seed)])
        rec = {"night": n}
        for k, v in roots.items():
            after = snapshot(v, cache)
            c, ren, kinds, odd = classify(snaps[k], after, v)
            total = max(1, len(snaps[k]))
            rec[k] = {"files_before": len(snaps[k]), "files_after": len(after), **dict(c),
                      "renames": dict(ren), "added_kinds": dict(kinds), "odd": dict(odd),
                      "share": {x: c[x] / total for x in ("added", "modified", "replaced", "renamed", "deleted")}}
            snaps[k] = after
        days.append(rec)
        s = rec["standard"]
        print("night %2d standard %6d files: +%d mod %d repl %d ren %d del %d | extended +%d mod %d | "
              "billing mod %d repl %d | pacs +%d" % (
                  n, s["files_before"], s.get("added", 0), s.get("modified", 0), s.get("replaced", 0),
                  s.get("renamed", 0), s.get("deleted", 0), rec["extended"].get("added", 0),
                  rec["extended"].get("modified", 0), rec["billing"].get("modified", 0),
                  rec["billing"].get("replaced", 0), rec["pacs"].get("added", 0)), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"patients": a.patients, "seed": a.seed, "days_before": a.days_before,
                       "step": a.step, "nights": days}, f, indent=1)


if __name__ == "__main__":
    main()
