/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Terminal columns of UTF-8 text: East Asian wide and full-width ranges take two columns,
 * everything else one. Used by the CLI's tables and the record summary renderer.
 */
#include "common/text.h"

int mm_text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int w = 0;

    while (*p) {
        unsigned long c;
        int k;

        if (*p < 0x80) {
            w++;
            p++;
            continue;
        }
        k = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : 2;
        c = *p & (0x3F >> (k - 1));
        for (int i = 1; i < k && (p[i] & 0xC0) == 0x80; i++)
            c = (c << 6) | (p[i] & 0x3F);
        for (int i = 0; i < k && *p; i++)
            p++;
        w += (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) ||
                             (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
                             (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
                             (c >= 0xFFE0 && c <= 0xFFE6) || c >= 0x20000
                     ? 2
                     : 1;
    }
    return w;
}
