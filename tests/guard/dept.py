#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Department folders that change in their own normal ways (issue 18's "no false alarm").

  dept.py init    --out DIR [--seed S]          day 0 of both folders
  dept.py advance --out DIR --day N [--seed S]  what night N does (N = 1, 2, ...)

DIR/billing: the billing system's export. claims.csv (every open claim, a few thousand
lines) is rewritten in place every night (truncate + write: same inode, new bytes, size
moves a little); summary.csv is rewritten by writing a new file and renaming it over the old
one (new inode, same name); one daily/<YYYYMMDD>.csv is added each night; on the 1st of a
month the month's daily files move into archive/<YYYYMM>/ (renames) and a monthly total is
added. Day 0 starts with a year of archived daily files (about 380 files).
DIR/pacs: a PACS export folder that grows: each night a few studies <date>/<study>/ with
DICOM-like files (128-byte preamble, "DICM", explicit-VR header, JPEG-compressed pixel data:
high-entropy by nature) and a JPEG thumbnail each; nothing is ever changed or removed.

Deterministic: the bytes are a pure function of (seed, day). Python 3 standard library only.
Nothing here is patient data (names are invented codes).
"""
import argparse
import datetime
import os
import random

START = datetime.date(2025, 5, 1)


def rng_for(seed, day, what):
    return random.Random(f"{seed}/{day}/{what}")


def write_inplace(path, data):
    """Rewrite a file keeping its inode (truncate + write), as many exporters do."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, data)
    finally:
        os.close(fd)


def write_replace(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_new(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def claims(seed, day):
    r = rng_for(seed, day, "claims")
    n = 2500 + r.randrange(400)
    lines = ["claim_no,receipt_no,dept,points,status,updated"]
    date = (START + datetime.timedelta(days=day)).strftime("%Y-%m-%d")
    for i in range(n):
        lines.append("C%07d,R%08d,%02d,%d,%s,%s" % (
            i + day * 37, r.randrange(10**8), r.randrange(1, 30), r.randrange(50, 90000),
            r.choice(["open", "open", "open", "sent", "returned"]), date))
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def daily(seed, day):
    r = rng_for(seed, day, "daily")
    lines = ["dept,visits,points"]
    for d in range(1, 30):
        lines.append("%02d,%d,%d" % (d, r.randrange(200), r.randrange(10**6)))
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def dicom(r, size):
    """A DICOM-like file: preamble, DICM, a readable header, compressed pixel data."""
    head = b"\0" * 128 + b"DICM"
    for tag, val in ((b"\x02\x00\x10\x00UI", b"1.2.840.10008.1.2.4.50"),
                     (b"\x08\x00\x60\x00CS", b"CR"), (b"\x10\x00\x20\x00LO", b"X%09d" % r.randrange(10**9))):
        if len(val) % 2:
            val += b"\0"
        head += tag + len(val).to_bytes(2, "little") + val
    body = b"\xff\xd8\xff\xdb" + r.randbytes(max(0, size - len(head) - 6)) + b"\xff\xd9"
    return head + b"\xe0\x7f\x10\x00OB\0\0" + body


def jpeg(r, size):
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + \
        r.randbytes(max(0, size - 22)) + b"\xff\xd9"


def pacs_day(out, seed, day):
    r = rng_for(seed, day, "pacs")
    date = (START + datetime.timedelta(days=day)).strftime("%Y%m%d")
    for s in range(r.randrange(3, 9)):
        study = os.path.join(out, "pacs", date, "ST%s%03d" % (date, s))
        for i in range(r.randrange(1, 5)):
            write_new(os.path.join(study, "IM%05d.dcm" % i), dicom(r, r.randrange(8000, 40000)))
        write_new(os.path.join(study, "thumb.jpg"), jpeg(r, r.randrange(2000, 5000)))


def billing_day(out, seed, day):
    b = os.path.join(out, "billing")
    os.makedirs(os.path.join(b, "daily"), exist_ok=True)
    date = START + datetime.timedelta(days=day)
    if date.day == 1 and day > 0:
        prev = date - datetime.timedelta(days=1)
        ym = prev.strftime("%Y%m")
        arch = os.path.join(b, "archive", ym)
        os.makedirs(arch, exist_ok=True)
        for name in sorted(os.listdir(os.path.join(b, "daily"))):
            if name.startswith(ym):
                os.rename(os.path.join(b, "daily", name), os.path.join(arch, name))
        write_new(os.path.join(arch, "total-%s.csv" % ym), daily(seed, -day))
    write_inplace(os.path.join(b, "claims.csv"), claims(seed, day))
    write_replace(os.path.join(b, "summary.csv"), daily(seed, 10000 + day))
    write_new(os.path.join(b, "daily", date.strftime("%Y%m%d") + ".csv"), daily(seed, day))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["init", "advance"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--day", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    day = 0 if a.cmd == "init" else a.day
    if a.cmd == "init":
        # history already exported: a month of PACS studies, a year of billing's daily files
        # archived by month with the month's total
        for d in range(-30, 0):
            pacs_day(a.out, a.seed, d)
        for d in range(-365, 0):
            date = START + datetime.timedelta(days=d)
            ym = date.strftime("%Y%m")
            arch = os.path.join(a.out, "billing", "archive", ym)
            write_new(os.path.join(arch, date.strftime("%Y%m%d") + ".csv"), daily(a.seed, d))
            if (date + datetime.timedelta(days=1)).day == 1:
                write_new(os.path.join(arch, "total-%s.csv" % ym), daily(a.seed, -d - 1000))
    billing_day(a.out, a.seed, day)
    pacs_day(a.out, a.seed, day)


if __name__ == "__main__":
    main()
