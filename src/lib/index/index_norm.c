/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Search keys and queries. A name key is what a receptionist would call "the same name":
 * spaces and middle dots gone, full-width ASCII folded to upper-case ASCII, hiragana and
 * half-width katakana (voicing marks composed) made full-width katakana, small kana made
 * large and ヂ ヅ made ジ ズ (older systems wrote kana without small letters), and variant
 * kanji common in names folded to their usual form (髙橋 = 高橋). The same function makes
 * the stored keys and the query's key, so a fragment matches wherever it stands. Queries
 * are also read as a patient ID and as a birth date (Western or 和暦). Pure functions.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "index/index_int.h"

/* Half-width katakana U+FF61..U+FF9F to full width (U+FF9E/F: standalone marks). */
static const uint16_t halfwidth[] = {
    0x3002, 0x300C, 0x300D, 0x3001, 0x30FB, 0x30F2, 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9,
    0x30E3, 0x30E5, 0x30E7, 0x30C3, 0x30FC, 0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA, 0x30AB,
    0x30AD, 0x30AF, 0x30B1, 0x30B3, 0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD, 0x30BF, 0x30C1,
    0x30C4, 0x30C6, 0x30C8, 0x30CA, 0x30CB, 0x30CC, 0x30CD, 0x30CE, 0x30CF, 0x30D2, 0x30D5,
    0x30D8, 0x30DB, 0x30DE, 0x30DF, 0x30E0, 0x30E1, 0x30E2, 0x30E4, 0x30E6, 0x30E8, 0x30E9,
    0x30EA, 0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3, 0x309B, 0x309C,
};
_Static_assert(sizeof(halfwidth) / sizeof(halfwidth[0]) == 0xFF9F - 0xFF61 + 1,
               "half-width katakana table");

/* Variant kanji common in names and the form people type. */
static const struct {
    uint32_t from, to;
} variants[] = {
    { 0x51A8, 0x5BCC }, /* 冨 富 */ { 0x570B, 0x56FD },                 /* 國 国 */
    { 0x5BE6, 0x5B9F }, /* 實 実 */ { 0x5D5C, 0x5D0E },                 /* 嵜 崎 */
    { 0x5D8B, 0x5CF6 }, /* 嶋 島 */ { 0x5EE3, 0x5E83 },                 /* 廣 広 */
    { 0x5FB7, 0x5FB3 }, /* 德 徳 */ { 0x60E0, 0x6075 },                 /* 惠 恵 */
    { 0x66FE, 0x66FD }, /* 曾 曽 */ { 0x69C7, 0x69D9 },                 /* 槇 槙 */
    { 0x6AFB, 0x685C }, /* 櫻 桜 */ { 0x6FA4, 0x6CA2 },                 /* 澤 沢 */
    { 0x6FF1, 0x6D5C }, /* 濱 浜 */ { 0x7028, 0x702C },                 /* 瀨 瀬 */
    { 0x771E, 0x771F }, /* 眞 真 */ { 0x8207, 0x4E0E },                 /* 與 与 */
    { 0x85CF, 0x8535 }, /* 藏 蔵 */ { 0x9089, 0x8FBA },                 /* 邉 辺 */
    { 0x908A, 0x8FBA }, /* 邊 辺 */ { 0x9AD9, 0x9AD8 },                 /* 髙 高 */
    { 0x9F4B, 0x658E }, /* 齋 斎 */ { 0xFA11, 0x5D0E },                 /* 﨑 崎 */
    { 0xFA19, 0x795E }, /* 神 (compatibility) 神 */ { 0xFA1B, 0x798F }, /* 福 福 */
};

/* Decode one UTF-8 character at @s (@n bytes left). OUT: *len. @return it, or -1 if bad */
static long utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    unsigned long c;
    size_t k;

    if (s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        k = 2;
        c = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        k = 3;
        c = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        k = 4;
        c = s[0] & 0x07;
    } else {
        *len = 1;
        return -1;
    }
    if (n < k) {
        *len = 1;
        return -1;
    }
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *len = 1;
            return -1;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((k == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) || (k == 4 && c < 0x10000) ||
        c > 0x10FFFF) {
        *len = 1;
        return -1;
    }
    *len = k;
    return (long)c;
}

/* Append @c as UTF-8 to @out. */
static int put_utf8(mm_buf *out, uint32_t c)
{
    unsigned char b[4];
    size_t n;

    if (c < 0x80) {
        b[0] = (unsigned char)c;
        n = 1;
    } else if (c < 0x800) {
        b[0] = (unsigned char)(0xC0 | (c >> 6));
        b[1] = (unsigned char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (c >> 12));
        b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (c >> 18));
        b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (c & 0x3F));
        n = 4;
    }
    return mm_buf_put(out, b, n);
}

/* Katakana @c with a dakuten (@mark 1) or handakuten (2), or 0 when it takes none. */
static uint32_t voiced(uint32_t c, int mark)
{
    if (mark == 1) {
        if ((c >= 0x30AB && c <= 0x30C2 && (c % 2) == 1) ||
            (c >= 0x30C4 && c <= 0x30C8 && (c % 2) == 0))
            return c + 1; /* カ..チ (odd), ツ テ ト (even) */
        if (c >= 0x30CF && c <= 0x30DB && (c - 0x30CF) % 3 == 0)
            return c + 1; /* ハ ヒ フ ヘ ホ */
        if (c == 0x30A6)
            return 0x30F4; /* ウ → ヴ */
        if (c == 0x30EF || c == 0x30F0 || c == 0x30F1 || c == 0x30F2)
            return c + 8; /* ワ ヰ ヱ ヲ → ヷ ヸ ヹ ヺ */
        return 0;
    }
    if (c >= 0x30CF && c <= 0x30DB && (c - 0x30CF) % 3 == 0)
        return c + 2;
    return 0;
}

/* The key form of one katakana: small to large, ヂ ヅ to ジ ズ. */
static uint32_t fold_kana(uint32_t c)
{
    switch (c) {
    case 0x30A1: /* ァ ィ ゥ ェ ォ */
    case 0x30A3:
    case 0x30A5:
    case 0x30A7:
    case 0x30A9:
    case 0x30C3: /* ッ */
    case 0x30E3: /* ャ ュ ョ */
    case 0x30E5:
    case 0x30E7:
    case 0x30EE: /* ヮ */
        return c + 1;
    case 0x30F5: /* ヵ */
        return 0x30AB;
    case 0x30F6: /* ヶ */
        return 0x30B1;
    case 0x30C2: /* ヂ */
        return 0x30B8;
    case 0x30C5: /* ヅ */
        return 0x30BA;
    default:
        return c;
    }
}

/* The key form of a kanji. */
static uint32_t fold_kanji(uint32_t c)
{
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
        if (variants[i].from == c)
            return variants[i].to;
    return c;
}

/* 1 for characters a key ignores: spaces and middle dots. */
static int ignorable(uint32_t c)
{
    return c == ' ' || c == '\t' || c == 0xA0 || c == 0x3000 || c == 0x30FB || c == 0xB7 ||
           c == 0x200B || c == 0xFEFF;
}

int mm_index_name_key(const char *name, mm_buf *out)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t n, len;
    uint32_t pend = 0; /* a katakana waiting for a possible voicing mark */
    int err = 0;

    MM_ASSERT_ARG(name && out);
    n = strlen(name);
    for (size_t i = 0; i < n; i += len) {
        long r = utf8_next(s + i, n - i, &len);
        uint32_t c;
        int mark = 0;

        if (r < 0)
            continue;
        c = (uint32_t)r;
        if (c >= 0xFF01 && c <= 0xFF5E)
            c -= 0xFEE0; /* full-width ASCII */
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        if (c >= 0xFF61 && c <= 0xFF9F) {
            if (c == 0xFF9E)
                mark = 1;
            else if (c == 0xFF9F)
                mark = 2;
            else
                c = halfwidth[c - 0xFF61];
        }
        if (c == 0x3099 || c == 0x309B)
            mark = 1;
        else if (c == 0x309A || c == 0x309C)
            mark = 2;
        if (mark && pend && voiced(pend, mark)) {
            pend = voiced(pend, mark);
            continue;
        }
        if (pend) {
            if ((err = put_utf8(out, fold_kana(pend))) < 0)
                return err;
            pend = 0;
        }
        if (mark || ignorable(c))
            continue; /* a mark with nothing to voice is dropped */
        if (c >= 0x3041 && c <= 0x3096)
            c += 0x60; /* hiragana */
        else if (c == 0x309D || c == 0x309E)
            c += 0x60; /* ゝ ゞ */
        if (c >= 0x30A1 && c <= 0x30FA) {
            pend = c;
            continue;
        }
        if ((err = put_utf8(out, fold_kanji(c))) < 0)
            return err;
    }
    if (pend)
        err = put_utf8(out, fold_kana(pend));
    return err;
}

/* ---- dates ---------------------------------------------------------------------------------- */

/* 1 when @y-@m-@d is a real day between 1800 and 2199. */
static int real_day(int y, int m, int d)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    if (y < 1800 || y > 2199 || m < 1 || m > 12 || d < 1)
        return 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

/* Read 1..@max digits at *p. OUT: *v, *p advanced. @return the number of digits, 0 if none */
static int digits(const char **p, int max, int *v)
{
    int k = 0;

    *v = 0;
    while (k < max && **p >= '0' && **p <= '9') {
        *v = *v * 10 + (**p - '0');
        (*p)++;
        k++;
    }
    return k;
}

/* Skip the separator at *p: one of - / . or the UTF-8 @word (年, 月). @return 1 if skipped */
static int sep(const char **p, const char *word)
{
    size_t w = word ? strlen(word) : 0;

    if (**p == '-' || **p == '/' || **p == '.') {
        (*p)++;
        return 1;
    }
    if (w && strncmp(*p, word, w) == 0) {
        *p += w;
        return 1;
    }
    return 0;
}

/* The year before an era's first year, from its letter or name at *p (advanced), or 0. */
static int era(const char **p)
{
    static const struct {
        const char *name;
        int base;
    } eras[] = {
        { "明治", 1867 }, { "大正", 1911 }, { "昭和", 1925 }, { "平成", 1988 }, { "令和", 2018 },
        { "明", 1867 },   { "大", 1911 },   { "昭", 1925 },   { "平", 1988 },   { "令", 2018 },
        { "M", 1867 },    { "T", 1911 },    { "S", 1925 },    { "H", 1988 },    { "R", 2018 },
        { "m", 1867 },    { "t", 1911 },    { "s", 1925 },    { "h", 1988 },    { "r", 2018 },
    };
    for (size_t i = 0; i < sizeof(eras) / sizeof(eras[0]); i++) {
        size_t n = strlen(eras[i].name);
        if (strncmp(*p, eras[i].name, n) == 0) {
            *p += n;
            return eras[i].base;
        }
    }
    return 0;
}

/* Read @s (spaces removed, full-width folded) as a date. OUT: @out "YYYY-MM-DD". */
static int parse_date(const char *s, char out[11])
{
    const char *p = s;
    int y = 0, m = 0, d = 0, base = era(&p);

    if (base) {
        if (strncmp(p, "元", strlen("元")) == 0) {
            p += strlen("元");
            y = 1;
        } else if (strlen(p) == 6 && strspn(p, "0123456789") == 6) {
            /* compact S311124: two digits each */
            digits(&p, 2, &y);
            digits(&p, 2, &m);
            digits(&p, 2, &d);
            if (y < 1)
                return 0;
            y += base;
            goto done;
        } else if (!digits(&p, 2, &y)) {
            return 0;
        }
        if (y < 1 || !sep(&p, "年"))
            return 0;
        y += base;
    } else if (strlen(s) == 8 && strspn(s, "0123456789") == 8) {
        digits(&p, 8, &y);
        m = y / 100 % 100;
        d = y % 100;
        y /= 10000;
        goto done;
    } else if (digits(&p, 4, &y) != 4 || !sep(&p, "年")) {
        return 0;
    }
    if (!digits(&p, 2, &m) || !sep(&p, "月") || !digits(&p, 2, &d))
        return 0;
    if (strncmp(p, "日", strlen("日")) == 0)
        p += strlen("日");
    if (*p)
        return 0;
done:
    if (!real_day(y, m, d))
        return 0;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = out[7] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
    return 1;
}

/* Read @s (spaces removed, full-width folded) as a birth year alone. OUT: @out "YYYY". */
static int parse_year(const char *s, char out[5])
{
    const char *p = s;
    int y = 0, base = era(&p);

    if (base) {
        if (strncmp(p, "元", strlen("元")) == 0) {
            p += strlen("元");
            y = 1;
        } else if (!digits(&p, 2, &y) || y < 1) {
            return 0;
        }
        y += base;
    } else if (digits(&p, 4, &y) != 4) {
        return 0;
    }
    if (strncmp(p, "年", strlen("年")) == 0)
        p += strlen("年");
    if (*p || y < 1800 || y > 2199)
        return 0;
    snprintf(out, 5, "%04d", y);
    return 1;
}

/* 1 for the spaces that separate the words of a query. */
static int space(uint32_t c)
{
    return c == ' ' || c == '\t' || c == 0xA0 || c == 0x3000;
}

/* The name key of @s into @out (MM_INDEX_QUERY_MAX + 1 bytes; "" when none). */
static int name_into(const char *s, char *out)
{
    mm_buf key;
    int err;

    out[0] = '\0';
    mm_buf_init(&key, MM_INDEX_QUERY_MAX);
    if ((err = mm_index_name_key(s, &key)) == 0 && key.len)
        memcpy(out, key.ptr, key.len + 1);
    mm_buf_release(&key);
    return err;
}

/*
 * A name and a birth date or year in @plain, split at byte @cut (a space stood there): the
 * date first or last. OUT: @q's name, date or year and both. @return 1 if read so
 */
static int name_and_date(struct mm_index_query *q, char *plain, size_t cut, int *err)
{
    char save = plain[cut];
    const char *date = NULL, *name = NULL;
    struct mm_index_query t;
    int wordy = 0; /* the name has a letter or a non-ASCII character */

    memset(&t, 0, sizeof(t));
    plain[cut] = '\0';
    if (parse_date(plain, t.date) || parse_year(plain, t.year))
        date = plain;
    plain[cut] = save;
    if (date) {
        name = plain + cut;
    } else if (parse_date(plain + cut, t.date) || parse_year(plain + cut, t.year)) {
        date = plain + cut;
        name = plain;
    } else {
        return 0;
    }
    if (name == plain)
        plain[cut] = '\0';
    for (const char *c = name; *c && !wordy; c++)
        wordy = (unsigned char)*c >= 0x80 || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z');
    *err = wordy ? name_into(name, t.name) : 0;
    plain[cut] = save;
    if (*err < 0 || !t.name[0])
        return 0;
    memcpy(q->name, t.name, sizeof(q->name));
    memcpy(q->date, t.date, sizeof(q->date));
    memcpy(q->year, t.year, sizeof(q->year));
    q->id[0] = '\0';
    q->both = 1;
    return 1;
}

int mm_index_query_parse(struct mm_index_query *out, const char *query)
{
    char plain[MM_INDEX_QUERY_MAX + 1]; /* spaces removed, full-width ASCII folded */
    const unsigned char *s = (const unsigned char *)query;
    size_t n, len, k = 0, first = 0, last = 0; /* where the first and last spaces were */
    int ascii = 1, letter = 0, idlike = 1;
    int err;

    MM_ASSERT_ARG(out && query);
    n = strlen(query);
    if (n > MM_INDEX_QUERY_MAX)
        return mm_error_set(MM_ELIMIT, "query longer than %u bytes", MM_INDEX_QUERY_MAX);
    for (size_t i = 0; i < n; i += len) {
        long r = utf8_next(s + i, n - i, &len);
        uint32_t c = r < 0 ? 0xFFFD : (uint32_t)r;

        if (c >= 0xFF01 && c <= 0xFF5E)
            c -= 0xFEE0;
        if (space(c) && k > 0) {
            if (!first)
                first = k;
            last = k;
        }
        if (ignorable(c))
            continue;
        if (c < 0x80) {
            plain[k++] = (char)c; /* a folded character is never longer than its input */
            letter |= (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
            idlike &= (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      c == '-' || c == '_' || c == '.';
        } else {
            ascii = 0;
            idlike = 0;
            memcpy(plain + k, s + i, len);
            k += len;
        }
    }
    plain[k] = '\0';
    if (k == 0)
        return mm_error_set(MM_EINVAL, "empty query");
    memset(out, 0, sizeof(*out));
    if (idlike)
        memcpy(out->id, plain, k + 1);
    err = 0;
    if (!parse_date(plain, out->date) && !parse_year(plain, out->year)) {
        /* "ヤマダ 1947-04-16", "1947 やまだ": the date last, else first, with the name */
        if (last && last < k && name_and_date(out, plain, last, &err))
            return 0;
        if (err == 0 && first && first != last && name_and_date(out, plain, first, &err))
            return 0;
    }
    if (err == 0 && (!ascii || letter))
        err = name_into(plain, out->name);
    return err;
}
