#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generate src/lib/hl7/hl7_jis_table.c, the JIS X 0208 <-> Unicode tables of the hl7 module.

Each JIS position (row 1..94, cell 1..94) is turned into its Shift_JIS byte pair by
arithmetic and decoded with Python's cp932 codec, so the table holds JIS X 0208 plus the
NEC special row 13 and the NEC-selected IBM extensions of rows 89-92 (Shift_JIS 0xED/0xEE),
exactly as Windows and glibc's CP932 decode them. The reverse table (Unicode -> JIS, sorted
by code point) prefers the standard JIS X 0208 position over the row-13 / rows-89-92
duplicates, and adds the Unicode twins that other converters produce for six row-1/2
characters (U+301C WAVE DASH etc.); a 257-entry page index (by code point >> 8) narrows
its binary search to one page.

Usage: gen-jis-table.py [OUTPUT]      write the table (default: the path in the source tree)
       gen-jis-table.py --check       exit 1 when the committed table is out of date
Standard library only. The output is clang-format clean (12 numbers per line).
"""

import os
import sys

ROWS = 94
NEC_ROW = 13
IBM_ROWS = range(89, 93)
PER_LINE = 12  # 4 + 12 * len("0x0000, ") - 1 = 99 columns, what clang-format packs too

# Unicode twins accepted by the encoder: other converters (glibc ISO-2022-JP, JIS X 0208
# mapping tables) use these code points where cp932 uses its fullwidth forms.
TWINS = {
    0x301C: 0x2141,  # WAVE DASH                -> cp932 U+FF5E
    0x2016: 0x2142,  # DOUBLE VERTICAL LINE     -> cp932 U+2225
    0x2212: 0x215D,  # MINUS SIGN               -> cp932 U+FF0D
    0x00A2: 0x2171,  # CENT SIGN                -> cp932 U+FFE0
    0x00A3: 0x2172,  # POUND SIGN               -> cp932 U+FFE1
    0x00AC: 0x224C,  # NOT SIGN                 -> cp932 U+FFE2
}

HEADER = """\
/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GENERATED FILE - DO NOT EDIT. Written by tools/gen-jis-table.py from Python's cp932
 * codec; rerun the script to change it (--check tells whether it is up to date).
 * mm_hl7__jis2ucs: JIS X 0208 row r, cell c (1..94) -> Unicode at [(r - 1) * 94 + c - 1],
 * 0 where the position is empty; rows 13 and 89-92 hold the NEC and NEC-selected IBM
 * extensions. mm_hl7__ucs2jis_{ucs,jis}: the reverse map sorted by code point, for binary
 * search within the range mm_hl7__ucs2jis_page gives for the code point's high byte; JIS
 * codes are (0x20 + row) << 8 | (0x20 + cell).
 */
#include "hl7/hl7_int.h"
"""


def jis_to_sjis(row, cell):
    """Shift_JIS bytes of JIS row/cell (both 1..94)."""
    j1, j2 = row + 0x20, cell + 0x20
    s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
    if j1 & 1:
        s2 = j2 + 0x1F + (1 if j2 >= 0x60 else 0)
    else:
        s2 = j2 + 0x7E
    return bytes([s1, s2])


def build():
    """Return (forward list of 94*94 code points, sorted list of (ucs, jis) pairs)."""
    fwd = []
    best = {}  # ucs -> (class, jis); class 0 standard, 1 NEC row 13, 2 IBM rows 89-92
    for row in range(1, ROWS + 1):
        cls = 1 if row == NEC_ROW else 2 if row in IBM_ROWS else 0
        for cell in range(1, ROWS + 1):
            try:
                text = jis_to_sjis(row, cell).decode("cp932")
            except UnicodeDecodeError:
                text = ""
            if len(text) != 1:
                fwd.append(0)
                continue
            ucs = ord(text)
            assert 0x80 <= ucs <= 0xFFFF, (row, cell, hex(ucs))
            fwd.append(ucs)
            jis = (0x20 + row) << 8 | (0x20 + cell)
            if ucs not in best or (cls, jis) < best[ucs]:
                best[ucs] = (cls, jis)
    rev = {ucs: jis for ucs, (cls, jis) in best.items()}
    for ucs, jis in TWINS.items():
        assert ucs not in rev, hex(ucs)
        row, cell = (jis >> 8) - 0x20, (jis & 0xFF) - 0x20
        assert fwd[(row - 1) * ROWS + cell - 1] != 0, hex(jis)
        rev[ucs] = jis
    return fwd, sorted(rev.items())


def numbers(values):
    """Lines of a braced initializer body, clang-format's bin packing."""
    out = []
    for i in range(0, len(values), PER_LINE):
        out.append("    " + " ".join("0x%04x," % v for v in values[i:i + PER_LINE]) + "\n")
    return "".join(out)


def render():
    fwd, rev = build()
    defined = sum(1 for v in fwd if v)
    text = HEADER
    text += "\n/* %d of the %d positions are defined. */\n" % (defined, len(fwd))
    text += "const uint16_t mm_hl7__jis2ucs[MM_HL7__JIS_CELLS] = {\n" + numbers(fwd) + "};\n"
    text += "\nconst size_t mm_hl7__ucs2jis_count = %d;\n" % len(rev)
    text += "\nconst uint16_t mm_hl7__ucs2jis_ucs[%d] = {\n" % len(rev)
    text += numbers([u for u, _ in rev]) + "};\n"
    text += "\nconst uint16_t mm_hl7__ucs2jis_jis[%d] = {\n" % len(rev)
    text += numbers([j for _, j in rev]) + "};\n"
    # page index: entries of code points p << 8 .. p << 8 | 0xFF are [page[p], page[p + 1])
    page = [0] * 257
    for p in range(257):
        page[p] = sum(1 for u, _ in rev if (u >> 8) < p)
    text += "\nconst uint16_t mm_hl7__ucs2jis_page[257] = {\n" + numbers(page) + "};\n"
    return text


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default = os.path.join(root, "src", "lib", "hl7", "hl7_jis_table.c")
    text = render()
    if len(argv) > 1 and argv[1] == "--check":
        try:
            with open(default, encoding="ascii") as f:
                same = f.read() == text
        except OSError:
            same = False
        if not same:
            sys.stderr.write("gen-jis-table: %s is out of date\n" % default)
            return 1
        return 0
    out = argv[1] if len(argv) > 1 else default
    with open(out, "w", encoding="ascii", newline="\n") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
