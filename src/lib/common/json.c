/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON string escaping into a bounded buffer. Output is always valid JSON: bytes
 * that are not well-formed UTF-8 (odd file names, damaged files) become U+FFFD.
 * Runs of plain ASCII are copied in one call, so long texts cost one pass.
 */
#include "common/json.h"

#include <string.h>

/* Length of the well-formed UTF-8 sequence at @p (at most @n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;

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
    for (size_t i = 1; i < len; i++) {
        lo = 0x80;
        hi = 0xBF;
        if (i == 1 && c == 0xE0)
            lo = 0xA0;
        else if (i == 1 && c == 0xED)
            hi = 0x9F;
        else if (i == 1 && c == 0xF0)
            lo = 0x90;
        else if (i == 1 && c == 0xF4)
            hi = 0x8F;
        if (p[i] < lo || p[i] > hi)
            return 0;
    }
    return len;
}

int mm_json_strn(mm_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    int err = mm_buf_putc(b, '"');
    size_t i = 0;

    while (err == 0 && i < n) {
        size_t run = i, len;
        while (run < n && p[run] >= 0x20 && p[run] < 0x7F && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            err = mm_buf_put(b, p + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = p[i];
        if (c >= 0x80) {
            len = utf8_len(p + i, n - i);
            err = len ? mm_buf_put(b, p + i, len) : mm_buf_puts(b, "\\ufffd");
            i += len ? len : 1;
            continue;
        }
        char esc[7] = { '\\', 0, 0, 0, 0, 0, 0 };
        size_t k = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default: /* other control characters and DEL */
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
            break;
        }
        err = mm_buf_put(b, esc, k);
        i++;
    }
    return err ? err : mm_buf_putc(b, '"');
}

int mm_json_str(mm_buf *b, const char *s)
{
    return mm_json_strn(b, s, strlen(s));
}

int mm_json_kv(mm_buf *b, int first, const char *key, const char *value)
{
    int err = 0;

    if (!first)
        err = mm_buf_putc(b, ',');
    if (err == 0)
        err = mm_json_str(b, key);
    if (err == 0)
        err = mm_buf_putc(b, ':');
    return err ? err : mm_json_str(b, value);
}
