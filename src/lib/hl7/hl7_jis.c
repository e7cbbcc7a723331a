/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ISO-2022-JP <-> UTF-8 with the cp932 repertoire (JIS X 0208 + NEC row 13 + NEC-selected
 * IBM rows 89-92), by table lookup: no iconv, no allocation per character. Output goes
 * through a small stack staging area flushed into the caller's bounded mm_buf, so a
 * conversion costs a few buffer appends per 4 KiB. Leniency rules of the decoder: control
 * bytes (0x00-0x20 except ESC/SO/SI, and DEL) pass through in every mode, and CR or LF
 * return to ASCII, because real files may lack the ESC ( B before a segment end; that is
 * where a well-formed file is in ASCII anyway, so nothing valid is read differently.
 * On failure the output buffer is restored to its old length and @stats is left alone.
 */
#include <stdint.h>
#include <string.h>

#include "common/error.h"
#include "hl7/hl7.h"
#include "hl7/hl7_int.h"

#define ESC 0x1B
#define SO  0x0E
#define SI  0x0F

#define STAGE_SIZE 4096
#define STAGE_ROOM 16 /* bytes one step may write at most */

/* Output staging area in front of an mm_buf. */
struct stage {
    mm_buf *b;
    size_t n;
    unsigned char buf[STAGE_SIZE];
};

enum mode { MODE_ASCII, MODE_X0208, MODE_KANA, MODE_X0212 };

/* Move the staged bytes into the buffer. */
static int stage_flush(struct stage *st)
{
    int err = mm_buf_put(st->b, st->buf, st->n);

    st->n = 0;
    return err;
}

/* Make room for one step (STAGE_ROOM bytes). */
static inline int stage_room(struct stage *st)
{
    if (st->n > STAGE_SIZE - STAGE_ROOM)
        return stage_flush(st);
    return 0;
}

/* Append the UTF-8 form of BMP code point @u (room checked by the caller). */
static inline void put_utf8(struct stage *st, unsigned int u)
{
    unsigned char *p = st->buf + st->n;

    if (u < 0x80) {
        p[0] = (unsigned char)u;
        st->n += 1;
    } else if (u < 0x800) {
        p[0] = (unsigned char)(0xC0 | (u >> 6));
        p[1] = (unsigned char)(0x80 | (u & 0x3F));
        st->n += 2;
    } else {
        p[0] = (unsigned char)(0xE0 | (u >> 12));
        p[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
        p[2] = (unsigned char)(0x80 | (u & 0x3F));
        st->n += 3;
    }
}

/* Count a JIS character of row @row (1..94) in the extension counters. */
static inline void count_row(struct mm_jis_stats *s, unsigned int row)
{
    if (row == 13)
        s->nec13++;
    else if (row >= 89 && row <= 92)
        s->ibmext++;
}

/* Whether @c is a byte 0x21..0x7E, the range of a 94-character set. */
static inline int is_g94(unsigned int c)
{
    return c >= 0x21 && c <= 0x7E;
}

/*
 * Recognise the escape sequence at @s (@n bytes left, s[0] == ESC).
 * OUT: *mode. @return its length, or 0 when it is not one we know.
 */
static size_t parse_escape(const unsigned char *s, size_t n, enum mode *mode)
{
    if (n >= 3 && s[1] == '(') {
        if (s[2] == 'B' || s[2] == 'J') {
            *mode = MODE_ASCII;
            return 3;
        }
        if (s[2] == 'I') {
            *mode = MODE_KANA;
            return 3;
        }
        return 0;
    }
    if (n >= 3 && s[1] == '$' && (s[2] == 'B' || s[2] == '@')) {
        *mode = MODE_X0208;
        return 3;
    }
    if (n >= 4 && s[1] == '$' && s[2] == '(') {
        if (s[3] == 'B' || s[3] == '@') {
            *mode = MODE_X0208;
            return 4;
        }
        if (s[3] == 'D') {
            *mode = MODE_X0212;
            return 4;
        }
        return 0;
    }
    if (n >= 3 && s[1] == '&' && s[2] == '@')
        return 3; /* JIS X 0208-1990 announcer, always followed by ESC $ B */
    return 0;
}

int mm_jis_decode(mm_buf *out, const char *in, size_t n, unsigned int flags,
                  struct mm_jis_stats *stats)
{
    const unsigned char *s = (const unsigned char *)in;
    struct mm_jis_stats cnt = { 0 };
    enum mode mode = MODE_ASCII;
    struct stage st;
    size_t i = 0, old_len;
    int err = 0;

    MM_ASSERT_ARG(out != NULL);
    MM_ASSERT_ARG(in != NULL || n == 0);
    old_len = out->len;
    st.b = out;
    st.n = 0;
    while (i < n) {
        unsigned int c = s[i], u = 0xFFFD; /* stays so when bad: no table entry is U+FFFD */
        size_t at = i;

        if ((err = stage_room(&st)) < 0)
            goto out;
        if (c < 0x80 && mode == MODE_ASCII && c != ESC && c != SO && c != SI) {
            /* the common case: a run of ASCII, copied as is */
            size_t j = i, room = STAGE_SIZE - st.n;

            while (j < n && j - i < room && s[j] < 0x80 && s[j] != ESC && s[j] != SO && s[j] != SI)
                j++;
            memcpy(st.buf + st.n, s + i, j - i);
            st.n += j - i;
            cnt.chars += j - i;
            i = j;
            continue;
        }
        if (c == ESC) {
            size_t len = parse_escape(s + i, n - i, &mode);

            /* an unknown or cut escape is bad, and only its ESC is dropped */
            i += len > 0 ? len : 1;
            if (len > 0)
                continue;
        } else if (c == SO || c == SI || c >= 0x80) {
            i++;
        } else if (c <= 0x20 || c == 0x7F) {
            /* controls and space pass through; CR/LF end any multi-byte mode left open */
            u = c;
            if (c == '\r' || c == '\n')
                mode = MODE_ASCII;
            i++;
        } else if (mode == MODE_X0208) {
            if (i + 1 < n && is_g94(s[i + 1])) {
                unsigned int v = mm_hl7__jis2ucs[(c - 0x21) * 94 + (s[i + 1] - 0x21)];

                i += 2;
                if (v != 0) {
                    count_row(&cnt, c - 0x20);
                    u = v;
                }
            } else {
                i++; /* a lone lead byte: what follows is read again on its own */
            }
        } else if (mode == MODE_KANA) {
            i++;
            if (c <= 0x5F) {
                u = 0xFF61 + (c - 0x21);
                cnt.halfwidth++;
            }
        } else {
            /* JIS X 0212: no table, so each pair is one bad character */
            i += (i + 1 < n && is_g94(s[i + 1])) ? 2 : 1;
        }
        if (u == 0xFFFD) {
            if (flags & MM_JIS_STRICT) {
                err = mm_error_set(MM_ECORRUPT, "iso-2022-jp: invalid byte at offset %zu", at);
                goto out;
            }
            cnt.bad++;
        }
        put_utf8(&st, u);
        cnt.chars++;
    }
    err = stage_flush(&st);
out:
    if (err < 0) {
        mm_buf_truncate(out, old_len);
        return err;
    }
    if (stats) {
        stats->chars += cnt.chars;
        stats->bad += cnt.bad;
        stats->nec13 += cnt.nec13;
        stats->ibmext += cnt.ibmext;
        stats->halfwidth += cnt.halfwidth;
    }
    return 0;
}

/* The JIS code of @u, or 0 when it has none. */
static unsigned int ucs_to_jis(uint32_t u)
{
    size_t lo, hi;

    if (u > 0xFFFF)
        return 0;
    lo = mm_hl7__ucs2jis_page[u >> 8];
    hi = mm_hl7__ucs2jis_page[(u >> 8) + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (mm_hl7__ucs2jis_ucs[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < mm_hl7__ucs2jis_page[(u >> 8) + 1] && mm_hl7__ucs2jis_ucs[lo] == u)
        return mm_hl7__ucs2jis_jis[lo];
    return 0;
}

/* Stage the escape sequence that enters @want unless the encoder is there already. */
static inline void switch_mode(struct stage *st, enum mode *mode, enum mode want)
{
    static const char seq[][4] = { "\033(B", "\033$B", "\033(I", "" }; /* by enum mode */

    if (*mode == want)
        return;
    memcpy(st->buf + st->n, seq[want], 3);
    st->n += 3;
    *mode = want;
}

int mm_jis_encode(mm_buf *out, const char *in, size_t n, unsigned int flags,
                  struct mm_jis_stats *stats)
{
    const unsigned char *s = (const unsigned char *)in;
    struct mm_jis_stats cnt = { 0 };
    enum mode mode = MODE_ASCII;
    struct stage st;
    size_t i = 0, old_len;
    int err = 0;

    MM_ASSERT_ARG(out != NULL);
    MM_ASSERT_ARG(in != NULL || n == 0);
    old_len = out->len;
    st.b = out;
    st.n = 0;
    while (i < n) {
        unsigned int c = s[i], jis;
        size_t len;
        uint32_t u;

        if ((err = stage_room(&st)) < 0)
            goto out;
        if (c < 0x80 && c != ESC && c != SO && c != SI) {
            size_t j = i, room;

            switch_mode(&st, &mode, MODE_ASCII);
            room = STAGE_SIZE - st.n;
            while (j < n && j - i < room && s[j] < 0x80 && s[j] != ESC && s[j] != SO && s[j] != SI)
                j++;
            memcpy(st.buf + st.n, s + i, j - i);
            st.n += j - i;
            cnt.chars += j - i;
            i = j;
            continue;
        }
        if (c < 0x80) {
            /* ESC, SO and SI would change the meaning of what follows: not encodable */
            len = 1;
            jis = 0;
        } else if ((u = mm_hl7__utf8_next(s + i, n - i, &len)) == UINT32_MAX) {
            if (flags & MM_JIS_STRICT) {
                err = mm_error_set(MM_EINVAL, "utf-8: invalid sequence at offset %zu", i);
                goto out;
            }
            jis = 0;
        } else if (u >= 0xFF61 && u <= 0xFF9F) {
            switch_mode(&st, &mode, MODE_KANA);
            st.buf[st.n++] = (unsigned char)(u - 0xFF61 + 0x21);
            cnt.halfwidth++;
            cnt.chars++;
            i += len;
            continue;
        } else {
            jis = ucs_to_jis(u);
        }
        if (jis == 0) {
            if (flags & MM_JIS_STRICT) {
                err = mm_error_set(MM_EINVAL,
                                   "iso-2022-jp: no jis code for the character at "
                                   "offset %zu",
                                   i);
                goto out;
            }
            jis = 0x222E; /* GETA MARK */
            cnt.bad++;
        }
        switch_mode(&st, &mode, MODE_X0208);
        st.buf[st.n++] = (unsigned char)(jis >> 8);
        st.buf[st.n++] = (unsigned char)(jis & 0xFF);
        count_row(&cnt, (jis >> 8) - 0x20);
        cnt.chars++;
        i += len;
    }
    switch_mode(&st, &mode, MODE_ASCII);
    err = stage_flush(&st);
out:
    if (err < 0) {
        mm_buf_truncate(out, old_len);
        return err;
    }
    if (stats) {
        stats->chars += cnt.chars;
        stats->bad += cnt.bad;
        stats->nec13 += cnt.nec13;
        stats->ibmext += cnt.ibmext;
        stats->halfwidth += cnt.halfwidth;
    }
    return 0;
}

unsigned int mm_jis_to_ucs(int row, int cell)
{
    if (row < 1 || row > 94 || cell < 1 || cell > 94)
        return 0;
    return mm_hl7__jis2ucs[(row - 1) * 94 + (cell - 1)];
}
