#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A ransomware simulator for the guard's tests (issue 18). Python 3 standard library only.

  ransim.py ATTACK --root DIR [--share F] [--seed S] [--ext EXT] [--keep-mtime]
                   [--state FILE]

ATTACK, on a share F (0 < F <= 1) of the regular files below DIR (a storage's `standard` or
`extended` folder, or a department folder), chosen by a shuffle seeded with --seed:
  encrypt-inplace   overwrite each with random-looking bytes of the same size (same inode,
                    same name)
  encrypt-replace   write the encrypted bytes to a new file in the same folder and rename it
                    over the original (new inode, same name)
  encrypt-rename    encrypt in place and rename with a new extension: --ext .locked (default),
                    .lockbit, .crypt, .encrypted, or "random" (a random 6-character one)
  intermittent      overwrite only the first 4 KiB of each file in place (LockBit-style)
  delete            delete them
  notes             drop a ransom note (README_RESTORE_FILES.txt, HOW_TO_DECRYPT.html, ...)
                    into a share F of the folders holding files
  slow              one day of a slow attack: encrypt in place a share F of the files not yet
                    encrypted (those are listed in --state, required, outside DIR); call it
                    once a day between `mamori-gen advance` runs
--keep-mtime puts each file's access and modification times back (ctime still moves).
At least one file (or folder) is always attacked. The same arguments on the same tree do the
same thing. Prints one line of JSON with counts only (never a path: paths carry patient IDs).
"""
import argparse
import json
import math
import os
import random
import string
import sys

NOTES = ["README_RESTORE_FILES.txt", "HOW_TO_DECRYPT.html", "!!!READ_ME!!!.txt",
         "RESTORE-MY-FILES.TXT", "DECRYPT_INSTRUCTIONS.html", "_readme.txt"]
NOTE_TEXT = (b"YOUR FILES ARE ENCRYPTED\r\nAll your files have been encrypted. To restore them "
             b"contact us and pay. Do not rename or try to decrypt the files yourself.\r\n"
             b"This is a test note written by mamori's ransomware simulator.\r\n")
EXTS = [".locked", ".lockbit", ".crypt", ".encrypted"]


def files_below(root):
    out = []
    for d, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(names):
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p):
                out.append(p)
    return out


def pick(items, share, rng):
    items = list(items)
    rng.shuffle(items)
    k = max(1, math.ceil(share * len(items))) if items else 0
    return items[:k]


def noise(rng, n):
    return rng.randbytes(n)


def keep_times(path, st, keep):
    if keep:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def encrypt_inplace(path, rng, keep, limit=None):
    st = os.stat(path)
    n = st.st_size if limit is None else min(st.st_size, limit)
    with open(path, "r+b") as f:
        f.write(noise(rng, n))
        f.flush()
        os.fsync(f.fileno())
    keep_times(path, st, keep)
    return n


def encrypt_replace(path, rng, keep):
    st = os.stat(path)
    tmp = os.path.join(os.path.dirname(path), ".%s.tmp" % "".join(rng.choices(string.ascii_lowercase, k=8)))
    with open(tmp, "wb") as f:
        f.write(noise(rng, st.st_size))
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, st.st_mode & 0o7777)
    os.replace(tmp, path)
    keep_times(path, st, keep)
    return st.st_size


def extension(ext, rng):
    if ext == "random":
        return "." + "".join(rng.choices(string.ascii_lowercase + string.digits, k=6))
    return ext


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("attack", choices=["encrypt-inplace", "encrypt-replace", "encrypt-rename",
                                       "intermittent", "delete", "notes", "slow"])
    ap.add_argument("--root", required=True)
    ap.add_argument("--share", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ext", default=".locked")
    ap.add_argument("--keep-mtime", action="store_true")
    ap.add_argument("--state")
    a = ap.parse_args()
    if not 0 < a.share <= 1:
        ap.error("--share must be in (0, 1]")
    if not os.path.isdir(a.root):
        ap.error("--root is not a folder")
    if a.attack == "slow" and not a.state:
        ap.error("slow needs --state FILE")
    rng = random.Random("%d/%s/%s" % (a.seed, a.attack, a.share))
    files = files_below(a.root)
    out = {"attack": a.attack, "share": a.share, "seed": a.seed, "files": len(files),
           "touched": 0, "bytes": 0}
    if a.attack == "notes":
        folders = sorted({os.path.dirname(p) for p in files})
        chosen = pick(folders, a.share, rng)
        for d in chosen:
            name = NOTES[rng.randrange(len(NOTES))]
            with open(os.path.join(d, name), "wb") as f:
                f.write(NOTE_TEXT)
            out["bytes"] += len(NOTE_TEXT)
        out.update(folders=len(folders), touched=len(chosen))
    elif a.attack == "slow":
        done = set()
        if os.path.exists(a.state):
            with open(a.state) as f:
                done = {line.rstrip("\n") for line in f}
        rel = [os.path.relpath(p, a.root) for p in files]
        todo = [r for r in rel if r not in done]
        # the share is of all files, as a day of a real slow attack would be
        k = max(1, math.ceil(a.share * len(files)))
        rng.seed("%d/slow/%d" % (a.seed, len(done)))
        rng.shuffle(todo)
        chosen = todo[:k]
        for r in chosen:
            out["bytes"] += encrypt_inplace(os.path.join(a.root, r), rng, a.keep_mtime)
        with open(a.state, "a") as f:
            for r in chosen:
                f.write(r + "\n")
        out.update(touched=len(chosen), encrypted_so_far=len(done) + len(chosen))
    else:
        chosen = pick(files, a.share, rng)
        for p in chosen:
            if a.attack == "encrypt-inplace":
                out["bytes"] += encrypt_inplace(p, rng, a.keep_mtime)
            elif a.attack == "intermittent":
                out["bytes"] += encrypt_inplace(p, rng, a.keep_mtime, limit=4096)
            elif a.attack == "encrypt-replace":
                out["bytes"] += encrypt_replace(p, rng, a.keep_mtime)
            elif a.attack == "encrypt-rename":
                out["bytes"] += encrypt_inplace(p, rng, a.keep_mtime)
                os.rename(p, p + extension(a.ext, rng))
            elif a.attack == "delete":
                out["bytes"] += os.path.getsize(p)
                os.unlink(p)
        out["touched"] = len(chosen)
        if a.attack == "encrypt-rename":
            out["ext"] = a.ext
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
