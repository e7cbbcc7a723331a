#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A busy normal night for the guard's tests (issue 18): many updates and cancels at once, the
way SS-MIX2 writes them. Python 3 standard library only.

  busy.py --root DIR [--updates F] [--cancels F] [--seed S]

Below DIR (a storage's `standard` folder), among the current message files (flag `_1`) of the
dated data-type folders, a share --updates (default 0.2) is updated and a share --cancels
(default 0.05) is cancelled, chosen by a shuffle seeded with --seed:
  update   the current file is renamed to `_2` (superseded), and the new current message is
           added under the key's name with a new time stamp and flag `_1` (what a sender does
           when a prescription is revised or a patient's snapshot is sent again)
  cancel   the current file is renamed to `_0`, and the cancel message is added as `_0` with a
           new time stamp
The new messages are the old ones with their MSH-7 time replaced (still HL7 in ISO-2022-JP).
A real storage may see such a night when a system re-sends its data (a migration, a master
update); the guard must not call it an attack. Prints one line of JSON with counts only
(never a path: paths carry patient IDs).
"""
import argparse
import datetime
import json
import os
import random
import re

NAME = re.compile(r'^(.+_)(\d{15,17})(_[^_]+_)1$')


def current_files(root):
    out = []
    for d, _, files in os.walk(root):
        parts = d[len(root):].strip('/').split('/')
        if len(parts) != 5 or parts[3] == '-':
            continue  # dated data-type folders only (dateless snapshots are updated alike)
        for f in files:
            if NAME.match(f):
                out.append(os.path.join(d, f))
    out.sort()
    return out


def stamp(old, n):
    """A real time stamp @n + 1 minutes after @old (yyyyMMddHHmmss + its fraction digits)."""
    t = datetime.datetime.strptime(old[:14], '%Y%m%d%H%M%S') + datetime.timedelta(minutes=n + 1)
    return t.strftime('%Y%m%d%H%M%S') + old[14:]


def resend(path, new_name, n):
    with open(path, 'rb') as f:
        data = f.read()
    # MSH-7 (the message's time): the 7th field of the first segment
    seg_end = min([i for i in (data.find(b'\r'), data.find(b'\n')) if i >= 0] or [len(data)])
    fields = data[:seg_end].split(b'|')
    if len(fields) > 6 and fields[6][:14].isdigit():
        fields[6] = (b'%014d' % (int(fields[6][:14]) + n + 1))[:14] + fields[6][14:]
    out = os.path.join(os.path.dirname(path), new_name)
    with open(out, 'wb') as f:
        f.write(b'|'.join(fields) + data[seg_end:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--root', required=True)
    ap.add_argument('--updates', type=float, default=0.2)
    ap.add_argument('--cancels', type=float, default=0.05)
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    files = current_files(a.root)
    random.Random(a.seed).shuffle(files)
    nu = int(len(files) * a.updates)
    nc = int(len(files) * a.cancels)
    for i, p in enumerate(files[:nu + nc]):
        m = NAME.match(os.path.basename(p))
        head, ts, tail = m.group(1), m.group(2), m.group(3)
        flag = '2' if i < nu else '0'
        new = head + stamp(ts, i) + tail + ('1' if flag == '2' else '0')
        os.rename(p, os.path.join(os.path.dirname(p), head + ts + tail + flag))
        resend(os.path.join(os.path.dirname(p), head + ts + tail + flag), new, i)
    print(json.dumps({'current': len(files), 'updated': nu, 'cancelled': nc}))


if __name__ == '__main__':
    main()
