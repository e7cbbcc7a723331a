#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the guard suite's measured results into docs/guard.md (issue 18).

  table.py --doc docs/guard.md [--detect FILE] [--normal FILE] [--date YYYY-MM-DD]
           [--detect-cmd TEXT] [--normal-cmd TEXT]

--detect FILE: the lines detect.sh and slow.sh append to $GUARD_RESULTS
  (`<attack> <target> <share> <exit> <verdict> <codes> [required]`); they become the section
  "Detection table" (attack x share of files -> verdict, with the reason codes).
--normal FILE: the `NIGHT <n> <days> <exit> <verdict> <codes> <files> <read>` lines of
  normal60.sh; they become the section "No false alarms".
Each section is replaced from its heading to the next `## ` heading; the rest of the file is
left as it is. The runs themselves:
  GUARD_RESULTS=/tmp/detect.txt meson test -C build --suite guard   (or the scripts directly)
"""
import argparse
import datetime
import re

SHARES = ["0.005", "0.01", "0.05", "0.25", "1"]
SHARE_NAMES = {"0.005": "0.5 %", "0.01": "1 %", "0.05": "5 %", "0.25": "25 %", "1": "100 %"}
ATTACK_WORDS = {
    "encrypt-inplace": "encrypt in place (same inode, same name)",
    "encrypt-replace": "encrypt to a new file renamed over the original (new inode, same name)",
    "encrypt-rename": "encrypt and rename with a ransomware extension",
    "intermittent": "encrypt the first 4 KiB only (intermittent, LockBit-style)",
    "delete": "bulk delete",
    "notes": "ransom notes dropped in a share of the folders",
}
TARGETS = ["standard", "standard-mtime-kept", "extended", "billing", "pacs"]


def replace_section(doc, heading, body):
    i = doc.index(heading)
    j = doc.find("\n## ", i + len(heading))
    j = len(doc) if j < 0 else j + 1
    return doc[:i] + heading + "\n\n" + body.rstrip() + "\n\n" + doc[j:].lstrip("\n")


def strip_numbers(codes):
    """`a(1,2),b,c(3)` -> `a, b, c` (gj.py's form of the reason lines)."""
    if codes == "-":
        return "—"
    out = []
    for m in re.finditer(r"([^,()]+)(\([^)]*\))?", codes):
        if m.group(1) not in out:
            out.append(m.group(1))
    return ", ".join(out)


def detect_section(lines, date, cmd):
    cells, slow = {}, []
    for ln in lines:
        w = ln.split()
        if len(w) < 6 or w[0] == "NIGHT":
            continue
        if w[0].startswith("slow-night"):
            slow.append(w)
            continue
        attack, target, share, rc, verdict, codes = w[:6]
        need = w[6] if len(w) > 6 else "yes"
        share = share.rstrip("0").rstrip(".") if "." in share else share
        share = {"0.5": "0.5"}.get(share, share)
        cells[(attack, target, share)] = (rc, verdict, codes, need)
    out = ["Measured %s with `%s` (tests/guard/detect.sh, slow.sh; ransim.py attacks a mamori-gen "
           "storage of 120 patients, 30 days old, backed up on day 0 and after three normal nights, "
           "and the department folders of dept.py; each case on a fresh copy, after one more normal "
           "night). A cell is the first backup after the attack: **suspect** (exit 4) or clean, with "
           "the guard's reason codes (docs/guard.md, first section). Department folders have no "
           "SS-MIX2 rules: at small shares their cells are recorded, not required (marked *)." % (date, cmd), ""]
    order = [a for a in ATTACK_WORDS if any(k[0] == a for k in cells)]
    out.append("| attack | where | " + " | ".join(SHARE_NAMES[s] for s in SHARES) + " |")
    out.append("|---|---|" + "---|" * len(SHARES))
    total = flagged = 0
    for a in order:
        for t in TARGETS:
            row = []
            any_cell = False
            for s in SHARES:
                c = cells.get((a, t, s))
                if not c:
                    row.append("")
                    continue
                any_cell = True
                rc, v, codes, need = c
                total += 1
                if v == "suspect":
                    flagged += 1
                    row.append("**suspect** (exit %s): %s" % (rc, strip_numbers(codes)))
                else:
                    row.append("%s (exit %s)%s" % (v, rc, "" if need == "yes" else " *"))
            if any_cell:
                where = "standard, modification time put back" if t == "standard-mtime-kept" else t
                out.append("| %s | %s | %s |" % (ATTACK_WORDS[a], where, " | ".join(row)))
    out.append("")
    out.append("%d of %d cases suspect on the first backup after the attack." % (flagged, total))
    if flagged < total:
        out.append("")
        out.append("A cell marked * that is clean lies below the share rules' bounds for a department "
                   "folder (no SS-MIX2 rules apply there; see \"Share rules\" above: a department "
                   "folder's deletions count from 1 % and 5 files), which the issue does not require; "
                   "every case on the SS-MIX2 storages is suspect.")
    if slow:
        out.append("")
        out.append("Slow attack (ransim.py `slow`: %s %% of the standard storage's files encrypted in place "
                   "each night, interleaved with `mamori-gen advance`): " % (
                       "%g" % (100 * float(slow[0][2]))) + "; ".join(
            "night %s: **%s** (exit %s: %s)" % (w[0][len("slow-night"):], w[4], w[3], strip_numbers(w[5]))
            for w in slow) + ".")
    return "\n".join(out)


def normal_section(lines, date, cmd):
    nights = [ln.split() for ln in lines if ln.startswith("NIGHT ")]
    clean = sum(1 for w in nights if w[3] == "0" and w[4] == "clean")
    days = sum(int(w[2]) for w in nights)
    out = ["Measured %s with `%s`: a mamori-gen storage (120 patients, "
           "30 days old, standard + extended) and the department folders of dept.py (billing: "
           "`claims.csv` rewritten in place every night, `summary.csv` replaced by rename, a daily "
           "CSV added, the month's daily files moved into `archive/YYYYMM/` on the 1st; PACS: "
           "3-8 studies of DICOM-like and JPEG files added every night), %d nights covering %d "
           "days (every 7th night a weekend: three days at once; night 40 a holiday week: five; "
           "nights 20 and 45 busy: a fifth of the current SS-MIX2 messages updated and one in "
           "twenty cancelled at once, tests/guard/busy.py), "
           "each followed by `mamori backup` with the same cache folder (the history learns)." % (
               date, cmd, len(nights), days), "",
           "**%d of %d generations clean, %d false alarms.**" % (clean, len(nights), len(nights) - clean), "",
           "| night | days | exit | verdict | files | files read |", "|---|---|---|---|---|---|"]
    for w in nights:
        verdict = w[4] if w[4] == "clean" else "**%s** (%s)" % (w[4], strip_numbers(w[5]))
        out.append("| %s | %s | %s | %s | %s | %s |" % (w[1], w[2], w[3], verdict, w[6], w[7]))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--doc", required=True)
    ap.add_argument("--detect")
    ap.add_argument("--normal")
    ap.add_argument("--date", default=datetime.date.today().isoformat())
    ap.add_argument("--detect-cmd", default="GUARD_RESULTS=FILE meson test -C build --suite guard")
    ap.add_argument("--normal-cmd", default="GUARD_RESULTS=FILE tests/guard/normal60.sh build/src/cli/mamori build/tools/gen/mamori-gen")
    ap.add_argument("--built", default="", help="what was measured (branch, commit), one sentence")
    a = ap.parse_args()
    doc = open(a.doc, encoding="utf-8").read()
    if a.detect:
        lines = open(a.detect).read().splitlines()
        doc = replace_section(doc, "## Detection table", detect_section(lines, a.date, a.detect_cmd) + ("\n\n" + a.built if a.built else ""))
    if a.normal:
        lines = open(a.normal).read().splitlines()
        doc = replace_section(doc, "## No false alarms", normal_section(lines, a.date, a.normal_cmd) + ("\n\n" + a.built if a.built else ""))
    doc = re.sub(r"\n{3,}", "\n\n", doc)
    open(a.doc, "w", encoding="utf-8").write(doc)


if __name__ == "__main__":
    main()
