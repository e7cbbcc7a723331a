/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UTF-8 for a terminal: the decoder every text function uses (the JSON writer's included),
 * terminal columns (East Asian wide and full-width ranges take two, everything else one; used
 * by the CLI's tables and the record summary renderer), and the escaping of control
 * characters and malformed bytes in text that came from outside; characters are counted with
 * it too (passphrases).
 */
#include "common/text.h"

#include <stdio.h>
#include <string.h>

size_t mm_text_utf8(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;
    uint32_t v;

    *cp = c;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    v = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        lo = 0x80;
        hi = 0xBF;
        if (i == 1 && c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (i == 1 && c == 0xED)
            hi = 0x9F; /* surrogates */
        else if (i == 1 && c == 0xF0)
            lo = 0x90; /* overlong */
        else if (i == 1 && c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
        if (p[i] < lo || p[i] > hi)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    *cp = v;
    return len;
}

int mm_text_next(const char *s, size_t n, size_t *i, uint32_t *cp)
{
    size_t k;

    if (*i >= n)
        return 0;
    k = mm_text_utf8((const unsigned char *)s + *i, n - *i, cp);
    *i += k ? k : 1; /* a malformed byte: itself */
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

    while (mm_text_next(s, n, &i, &c)) /* a malformed byte: one column */
        w += (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) ||
                             (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
                             (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
                             (c >= 0xFFE0 && c <= 0xFFE6) || c >= 0x20000
                     ? 2
                     : 1;
    return w;
}

/* Whether the character @c (of @k bytes; 0: malformed) must be escaped. */
static int needs_escape(uint32_t c, size_t k)
{
    return k == 0 || c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F);
}

int mm_text_is_plain(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    while (n > 0) {
        uint32_t c;
        size_t k;

        if (*p >= 0x20 && *p < 0x7F) { /* the common case */
            p++;
            n--;
            continue;
        }
        k = mm_text_utf8(p, n, &c);
        if (needs_escape(c, k))
            return 0;
        p += k;
        n -= k;
    }
    return 1;
}

const char *mm_text_escape(char *out, size_t cap, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t pos = 0;

    if (cap == 0)
        return out;
    while (n > 0) {
        char esc[8];
        const void *src = p;
        uint32_t c;
        size_t k = mm_text_utf8(p, n, &c), len = k ? k : 1;

        if (needs_escape(c, k)) {
            if (k == 2) /* a C1 control: its code point */
                snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)c);
            else
                snprintf(esc, sizeof(esc), "\\x%02x", (unsigned)p[0]);
            src = esc;
            if (pos + strlen(esc) >= cap)
                break;
            memcpy(out + pos, src, strlen(esc));
            pos += strlen(esc);
        } else {
            if (pos + len >= cap)
                break;
            memcpy(out + pos, src, len);
            pos += len;
        }
        p += len;
        n -= len;
    }
    out[pos] = '\0';
    return out;
}
