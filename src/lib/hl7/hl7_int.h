/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/hl7: the generated JIS X 0208 <-> Unicode tables
 * (hl7_jis_table.c, written by tools/gen-jis-table.py) and the UTF-8 reader shared by
 * the codec and the tokenizer. Every code point in the tables is in the BMP, so 16 bits
 * suffice; 0 marks an empty JIS position.
 */
#ifndef MM_HL7_HL7_INT_H
#define MM_HL7_HL7_INT_H

#include <stddef.h>
#include <stdint.h>

/* Rows x cells of the JIS X 0208 code space. */
#define MM_HL7__JIS_CELLS (94 * 94)

/* Row r, cell c (1..94) -> Unicode at [(r - 1) * 94 + c - 1], 0 when empty. */
extern const uint16_t mm_hl7__jis2ucs[MM_HL7__JIS_CELLS];

/* Unicode -> JIS code ((0x20 + row) << 8 | (0x20 + cell)), sorted by code point. */
extern const size_t mm_hl7__ucs2jis_count;
extern const uint16_t mm_hl7__ucs2jis_ucs[];
extern const uint16_t mm_hl7__ucs2jis_jis[];
/* Entries for code points p << 8 .. p << 8 | 0xFF are [page[p], page[p + 1]). */
extern const uint16_t mm_hl7__ucs2jis_page[257];

/*
 * Decode one UTF-8 character at @s (@n > 0 bytes left).
 * OUT: *len, the bytes it takes (1 for an invalid sequence). @return the code point, or
 * UINT32_MAX when the sequence is invalid (overlong, surrogate, cut, beyond U+10FFFF)
 */
static inline uint32_t mm_hl7__utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    uint32_t c = s[0], min;
    size_t k;

    *len = 1;
    if (c < 0x80)
        return c;
    if (c >= 0xC2 && c <= 0xDF) {
        k = 1;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 2;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 3;
        c &= 0x07;
        min = 0x10000;
    } else {
        return UINT32_MAX;
    }
    if (n <= k)
        return UINT32_MAX;
    for (size_t j = 1; j <= k; j++) {
        if ((s[j] & 0xC0) != 0x80)
            return UINT32_MAX;
        c = (c << 6) | (s[j] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return UINT32_MAX;
    *len = k + 1;
    return c;
}

#endif
