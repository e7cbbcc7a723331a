/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Terminal columns of UTF-8 text: East Asian wide and full-width ranges take two columns,
 * everything else one. Used by the CLI's tables and the record summary renderer. The one UTF-8
 * decoder of the program (mm_text_next): characters are counted with it too (passphrases).
 */
#include "common/text.h"

#include <string.h>

int mm_text_next(const char *s, size_t n, size_t *i, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = n - *i, k, used = 1;
    uint32_t c;

    if (*i >= n)
        return 0;
    if (*p < 0x80) {
        *cp = *p;
        (*i)++;
        return 1;
    }
    k = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : 2;
    c = *p & (0x3Fu >> (k - 1));
    while (used < k && used < left && (p[used] & 0xC0) == 0x80)
        c = (c << 6) | (p[used++] & 0x3Fu);
    *cp = used == k ? c : *p;
    *i += used;
    return 1;
}

size_t mm_text_chars(const char *s, size_t n)
{
    size_t i = 0, count = 0;
    uint32_t c;

    while (mm_text_next(s, n, &i, &c))
        count++;
    return count;
}

int mm_text_width(const char *s)
{
    size_t i = 0, n = strlen(s);
    uint32_t c;
    int w = 0;

    while (mm_text_next(s, n, &i, &c))
        w += (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) ||
                             (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
                             (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
                             (c >= 0xFFE0 && c <= 0xFFE6) || c >= 0x20000
                     ? 2
                     : 1;
    return w;
}
