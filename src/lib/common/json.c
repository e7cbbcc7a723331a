/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON string escaping into a bounded buffer. Output is always valid JSON: bytes
 * that are not well-formed UTF-8 (odd file names, damaged files) become U+FFFD, and control
 * characters (C0, DEL and C1) are escaped, so none reaches a terminal raw.
 * Runs of plain ASCII are copied in one call, so long texts cost one pass.
 */
#include "common/json.h"

#include <string.h>

#include "common/text.h"

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
            uint32_t cp;
            len = mm_text_utf8(p + i, n - i, &cp);
            if (len == 2 && cp <= 0x9F) { /* a C1 control: escaped, never raw on a terminal */
                char esc[7] = { '\\', 'u', '0', '0', hex[cp >> 4], hex[cp & 15], 0 };
                err = mm_buf_put(b, esc, 6);
            } else {
                err = len ? mm_buf_put(b, p + i, len) : mm_buf_puts(b, "\\ufffd");
            }
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
