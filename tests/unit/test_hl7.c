/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the hl7 module: the ISO-2022-JP codec (differential against glibc iconv CP932
 * over all 94x94 JIS positions and against glibc ISO-2022-JP on the real samples, round
 * trips, NEC/IBM/half-width counting, strict versus lenient), the HL7 v2 tokenizer
 * (numbering, escapes, line endings, limits), every sample under tests/data/ssmix2-samples
 * (the public NHO samples and mamori's own fixtures), truncation at every length and
 * allocation-failure torture (curl's), with an exact count of live allocations (mm_alloc).
 */
#include <dirent.h>
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "hl7/hl7.h"

#define SAMPLES   MM_SOURCE_ROOT "/tests/data/ssmix2-samples"
#define MAX_FILES 256
#define REF_CAP   (64 * 1024)

/* ---- helpers ----------------------------------------------------------------------------- */

struct sample {
    char path[1024];
    char *data;
    size_t len;
};

static struct sample samples[MAX_FILES];
static size_t nsamples;

/* Read a whole file into a malloc'd buffer. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        p = malloc((size_t)n + 1);
        if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        } else if (p) {
            p[n] = '\0';
            *len = (size_t)n;
        }
    }
    fclose(f);
    return p;
}

/* Whether the file name @name is a sample message (not JSON, LICENSE or Markdown). */
static int is_message_name(const char *name)
{
    size_t n = strlen(name);

    if (strcmp(name, "LICENSE") == 0)
        return 0;
    if (n >= 5 && strcmp(name + n - 5, ".json") == 0)
        return 0;
    if (n >= 3 && strcmp(name + n - 3, ".md") == 0)
        return 0;
    return 1;
}

/* Collect every sample message under @dir, recursively. */
static void walk_samples(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        char path[1024];
        struct stat st;

        if (de->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
            continue;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            walk_samples(path);
        } else if (S_ISREG(st.st_mode) && is_message_name(de->d_name) && nsamples < MAX_FILES) {
            struct sample *s = &samples[nsamples];

            snprintf(s->path, sizeof(s->path), "%s", path);
            s->data = read_file(path, &s->len);
            if (s->data)
                nsamples++;
        }
    }
    closedir(d);
}

static int setup_samples(void **state)
{
    (void)state;
    walk_samples(SAMPLES);
    return nsamples > 0 ? 0 : -1;
}

static int teardown_samples(void **state)
{
    (void)state;
    for (size_t i = 0; i < nsamples; i++)
        free(samples[i].data);
    nsamples = 0;
    return 0;
}

/* The deliberately broken sample: two bytes 0xFB 0xFC, not JIS. */
static int is_broken_sample(const struct sample *s)
{
    return s->len > 0 && (unsigned char)s->data[0] >= 0x80;
}

/* The sample whose path contains @part (the first one). */
static const struct sample *find_sample(const char *part)
{
    for (size_t i = 0; i < nsamples; i++)
        if (strstr(samples[i].path, part))
            return &samples[i];
    fail_msg("sample '%s' not found", part);
    return NULL;
}

/* Decode @n bytes (lenient) into a fresh buffer the caller releases. */
static void decode(mm_buf *b, const char *in, size_t n, struct mm_jis_stats *st)
{
    mm_buf_init(b, MM_LIMIT_HL7_MESSAGE);
    assert_int_equal(mm_jis_decode(b, in, n, 0, st), 0);
}

/* Parse a decoded sample, failing the test on error. */
static mm_hl7_msg *parse_sample(const char *part, mm_buf *b)
{
    const struct sample *s = find_sample(part);
    mm_hl7_msg *m = NULL;

    decode(b, s->data, s->len, NULL);
    assert_int_equal(mm_hl7_parse(&m, b->ptr, b->len), 0);
    return m;
}

/* Encode one code point as UTF-8 into @p. @return the length */
static size_t utf8_put(char *p, unsigned int u)
{
    if (u < 0x80) {
        p[0] = (char)u;
        return 1;
    }
    if (u < 0x800) {
        p[0] = (char)(0xC0 | (u >> 6));
        p[1] = (char)(0x80 | (u & 0x3F));
        return 2;
    }
    if (u < 0x10000) {
        p[0] = (char)(0xE0 | (u >> 12));
        p[1] = (char)(0x80 | ((u >> 6) & 0x3F));
        p[2] = (char)(0x80 | (u & 0x3F));
        return 3;
    }
    p[0] = (char)(0xF0 | (u >> 18));
    p[1] = (char)(0x80 | ((u >> 12) & 0x3F));
    p[2] = (char)(0x80 | ((u >> 6) & 0x3F));
    p[3] = (char)(0x80 | (u & 0x3F));
    return 4;
}

/* The single code point of the UTF-8 string s[0..n), or 0 when it is not exactly one. */
static unsigned int utf8_single(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    if (n == 1 && p[0] < 0x80)
        return p[0];
    if (n == 2 && (p[0] & 0xE0) == 0xC0)
        return (unsigned int)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
    if (n == 3 && (p[0] & 0xF0) == 0xE0)
        return (unsigned int)(p[0] & 0x0F) << 12 | (unsigned int)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    return 0;
}

/* Shift_JIS bytes of JIS row/cell (1..94). */
static void jis_to_sjis(int row, int cell, unsigned char out[2])
{
    int j1 = row + 0x20, j2 = cell + 0x20;

    out[0] = (unsigned char)(((j1 + 1) >> 1) + (j1 <= 0x5E ? 0x70 : 0xB0));
    if (j1 & 1)
        out[1] = (unsigned char)(j2 + 0x1F + (j2 >= 0x60 ? 1 : 0));
    else
        out[1] = (unsigned char)(j2 + 0x7E);
}

/* Convert @in with iconv @cd into @out (@cap bytes). @return the length, or -1 on EILSEQ. */
static long iconv_all(iconv_t cd, const char *in, size_t n, char *out, size_t cap)
{
    char *ip = (char *)(uintptr_t)in, *op = out;
    size_t il = n, ol = cap;

    iconv(cd, NULL, NULL, NULL, NULL);
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1)
        return -1;
    if (iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
        return -1;
    return (long)(op - out);
}

/* The six characters where cp932 and JIS X 0208 mapping tables use different code points. */
static const unsigned int twins[][2] = {
    { 0x301C, 0xFF5E }, { 0x2016, 0x2225 }, { 0x2212, 0xFF0D },
    { 0x00A2, 0xFFE0 }, { 0x00A3, 0xFFE1 }, { 0x00AC, 0xFFE2 },
};

/* ---- JIS table --------------------------------------------------------------------------- */

static void jis_table__matches_glibc_cp932(void **state)
{
    iconv_t cd = iconv_open("UTF-8", "CP932");
    size_t defined = 0;

    (void)state;
    assert_true(cd != (iconv_t)-1);
    for (int row = 1; row <= 94; row++) {
        for (int cell = 1; cell <= 94; cell++) {
            unsigned char sj[2];
            char u8[8];
            long n;
            unsigned int want;

            const char in[5] = { 0x1B, '$', 'B', (char)(0x20 + row), (char)(0x20 + cell) };
            struct mm_jis_stats st = { 0 };
            mm_buf dec;

            jis_to_sjis(row, cell, sj);
            n = iconv_all(cd, (const char *)sj, 2, u8, sizeof(u8));
            want = n < 0 ? 0 : utf8_single(u8, (size_t)n);
            if (mm_jis_to_ucs(row, cell) != want)
                fail_msg("row %d cell %d: ours U+%04X, glibc CP932 U+%04X", row, cell,
                         mm_jis_to_ucs(row, cell), want);
            /* and the decoder gives glibc's bytes, or one U+FFFD where glibc fails */
            decode(&dec, in, sizeof(in), &st);
            if (n < 0) {
                assert_int_equal(st.bad, 1);
            } else {
                assert_int_equal(dec.len, (size_t)n);
                assert_memory_equal(dec.ptr, u8, (size_t)n);
            }
            mm_buf_release(&dec);
            defined += want != 0;
        }
    }
    iconv_close(cd);
    assert_int_equal(defined, 7336);
    assert_int_equal(mm_jis_to_ucs(0, 1), 0);
    assert_int_equal(mm_jis_to_ucs(1, 95), 0);
    assert_int_equal(mm_jis_to_ucs(-1, -1), 0);
}

static void jis_table__known_positions(void **state)
{
    (void)state;
    assert_int_equal(mm_jis_to_ucs(1, 1), 0x3000);   /* ideographic space */
    assert_int_equal(mm_jis_to_ucs(38, 92), 0x65E5); /* 日 = "F|" */
    assert_int_equal(mm_jis_to_ucs(38, 94), 0x5165); /* 入 = "F~" */
    assert_int_equal(mm_jis_to_ucs(21, 94), 0x4EAC); /* 京 = "5~" */
    assert_int_equal(mm_jis_to_ucs(26, 62), 0x5264); /* 剤 = ":^" */
    assert_int_equal(mm_jis_to_ucs(5, 6), 0x30A6);   /* ウ = "%&" */
    assert_int_equal(mm_jis_to_ucs(13, 1), 0x2460);  /* ① NEC row 13 */
    assert_int_equal(mm_jis_to_ucs(13, 74), 0x3231); /* ㈱ */
    assert_int_equal(mm_jis_to_ucs(92, 66), 0x9AD9); /* 髙 NEC-selected IBM */
    assert_int_equal(mm_jis_to_ucs(89, 85), 0xFA11); /* 﨑 */
    assert_int_equal(mm_jis_to_ucs(9, 1), 0);        /* rows 9-12 are empty */
    assert_int_equal(mm_jis_to_ucs(94, 94), 0);
}

/* ---- decoder ----------------------------------------------------------------------------- */

/* Decode @in (NUL-terminated) leniently and compare with @want. */
static void check_decode(const char *in, const char *want, size_t want_bad)
{
    struct mm_jis_stats st = { 0 };
    mm_buf b;

    decode(&b, in, strlen(in), &st);
    assert_string_equal(b.ptr ? b.ptr : "", want);
    assert_int_equal(st.bad, want_bad);
    mm_buf_release(&b);
}

static void jis_decode__every_position_round_trips(void **state)
{
    mm_buf big, enc, dec;
    size_t count = 0;

    (void)state;
    mm_buf_init(&big, MM_LIMIT_HL7_MESSAGE);
    for (int row = 1; row <= 94; row++) {
        for (int cell = 1; cell <= 94; cell++) {
            unsigned int u = mm_jis_to_ucs(row, cell);
            char in[8] = {
                0x1B, '$', 'B', (char)(0x20 + row), (char)(0x20 + cell), 0x1B, '(', 'B'
            };
            struct mm_jis_stats st = { 0 };
            char u8[4];
            size_t n;

            mm_buf_init(&dec, 64);
            assert_int_equal(mm_jis_decode(&dec, in, sizeof(in), 0, &st), 0);
            if (u == 0) {
                assert_int_equal(st.bad, 1);
                assert_int_equal(mm_jis_decode(&dec, in, sizeof(in), MM_JIS_STRICT, NULL),
                                 MM_ECORRUPT);
                mm_buf_release(&dec);
                continue;
            }
            n = utf8_put(u8, u);
            assert_int_equal(dec.len, n);
            assert_memory_equal(dec.ptr, u8, n);
            assert_int_equal(st.bad, 0);
            assert_int_equal(st.chars, 1);
            assert_int_equal(st.nec13, row == 13);
            assert_int_equal(st.ibmext, row >= 89 && row <= 92);
            /* encode back: the same position unless it duplicates an earlier standard one */
            mm_buf_init(&enc, 64);
            assert_int_equal(mm_jis_encode(&enc, u8, n, MM_JIS_STRICT, NULL), 0);
            assert_int_equal(enc.len, 8);
            if ((unsigned char)enc.ptr[3] != 0x20 + row ||
                (unsigned char)enc.ptr[4] != 0x20 + cell) {
                int r2 = (unsigned char)enc.ptr[3] - 0x20, c2 = (unsigned char)enc.ptr[4] - 0x20;

                assert_int_equal(mm_jis_to_ucs(r2, c2), u);
                assert_true(row == 13 || row >= 89);
                assert_true(r2 != 13 && r2 < 89); /* the standard position wins */
            }
            mm_buf_release(&enc);
            mm_buf_release(&dec);
            assert_int_equal(mm_buf_put(&big, u8, n), 0);
            count++;
        }
        assert_int_equal(mm_buf_putc(&big, '\r'), 0);
    }
    assert_int_equal(count, 7336);
    /* and the whole table as one text, through both directions */
    mm_buf_init(&enc, MM_LIMIT_HL7_MESSAGE);
    mm_buf_init(&dec, MM_LIMIT_HL7_MESSAGE);
    assert_int_equal(mm_jis_encode(&enc, big.ptr, big.len, MM_JIS_STRICT, NULL), 0);
    assert_int_equal(mm_jis_decode(&dec, enc.ptr, enc.len, MM_JIS_STRICT, NULL), 0);
    assert_int_equal(dec.len, big.len);
    assert_memory_equal(dec.ptr, big.ptr, big.len);
    mm_buf_release(&enc);
    mm_buf_release(&dec);
    mm_buf_release(&big);
}

static void jis_decode__agrees_with_glibc_iso2022jp(void **state)
{
    iconv_t cd = iconv_open("UTF-8", "ISO-2022-JP");
    char *ref = malloc(REF_CAP);

    (void)state;
    assert_true(cd != (iconv_t)-1);
    assert_non_null(ref);
    for (size_t i = 0; i < nsamples; i++) {
        const struct sample *s = &samples[i];
        mm_buf b, fixed;
        long n;

        if (is_broken_sample(s))
            continue;
        n = iconv_all(cd, s->data, s->len, ref, REF_CAP);
        assert_true(n >= 0);
        decode(&b, s->data, s->len, NULL);
        /* glibc uses the JIS X 0208 mapping for the six twins: fold them to cp932's */
        mm_buf_init(&fixed, MM_LIMIT_HL7_MESSAGE);
        for (long k = 0; k < n;) {
            char tmp[4];
            size_t len = 1;
            unsigned int u;

            while (k + (long)len < n && ((unsigned char)ref[k + (long)len] & 0xC0) == 0x80)
                len++;
            u = utf8_single(ref + k, len);
            for (size_t t = 0; t < sizeof(twins) / sizeof(twins[0]); t++)
                if (u == twins[t][0])
                    u = twins[t][1];
            if (u != 0)
                assert_int_equal(mm_buf_put(&fixed, tmp, utf8_put(tmp, u)), 0);
            else
                assert_int_equal(mm_buf_put(&fixed, ref + k, len), 0);
            k += (long)len;
        }
        assert_int_equal(b.len, fixed.len);
        assert_memory_equal(b.ptr, fixed.ptr, b.len);
        mm_buf_release(&fixed);
        mm_buf_release(&b);
    }
    free(ref);
    iconv_close(cd);
}

static void jis_decode__nec_and_ibm_counted(void **state)
{
    /* ① ㈱ 髙 ≒(row 13 duplicate of row 2) */
    const char in[] = "\033$B-!-j|b-p\033(B";
    struct mm_jis_stats st = { 0 };
    mm_buf b;

    (void)state;
    decode(&b, in, strlen(in), &st);
    assert_string_equal(b.ptr, "①㈱髙≒");
    assert_int_equal(st.nec13, 3);
    assert_int_equal(st.ibmext, 1);
    assert_int_equal(st.chars, 4);
    assert_int_equal(st.bad, 0);
    /* counters only grow: a second call sums */
    assert_int_equal(mm_jis_decode(&b, in, strlen(in), MM_JIS_STRICT, &st), 0);
    assert_int_equal(st.nec13, 6);
    assert_int_equal(st.chars, 8);
    mm_buf_release(&b);
}

static void jis_decode__halfwidth_kana(void **state)
{
    struct mm_jis_stats st = { 0 };
    mm_buf b;
    const char in[] = "A\033(I1!_\033(BZ";

    (void)state;
    decode(&b, in, strlen(in), &st);
    assert_string_equal(b.ptr, "Aｱ｡ﾟZ");
    assert_int_equal(st.halfwidth, 3);
    assert_int_equal(st.bad, 0);
    mm_buf_release(&b);
    check_decode("\033(I`~\033(B", "\xEF\xBF\xBD\xEF\xBF\xBD", 2); /* 0x60.. are not kana */
}

static void jis_decode__bad_bytes_lenient_and_strict(void **state)
{
    struct mm_jis_stats st = { 0 };
    mm_buf b;

    (void)state;
    check_decode("a\xFB\xFC"
                 "b",
                 "a\xEF\xBF\xBD\xEF\xBF\xBD"
                 "b",
                 2);
    check_decode("\033$B\xA4\xA2\033(B", "\xEF\xBF\xBD\xEF\xBF\xBD", 2); /* EUC in 0208 */
    check_decode("x\016y\017z", "x\xEF\xBF\xBDy\xEF\xBF\xBDz", 2);       /* SO / SI */
    /* strict: the offset is in the message, the content is not */
    mm_buf_init(&b, 1024);
    assert_int_equal(mm_buf_puts(&b, "keep"), 0);
    assert_int_equal(mm_jis_decode(&b, "PID|\xFB\xFC", 6, MM_JIS_STRICT, &st), MM_ECORRUPT);
    assert_string_equal(mm_error_last(), "iso-2022-jp: invalid byte at offset 4");
    assert_string_equal(b.ptr, "keep"); /* output restored */
    assert_int_equal(st.chars, 0);      /* stats untouched on failure */
    mm_buf_release(&b);
}

static void jis_decode__escapes_and_modes(void **state)
{
    (void)state;
    check_decode("\033(Jab\\\033(Bc", "ab\\c", 0); /* JIS-Roman read as ASCII */
    check_decode("\033$@F|\033(B", "日", 0);       /* old JIS C 6226 designation */
    check_decode("\033$(BF|\033(B", "日", 0);      /* four-byte form */
    check_decode("\033&@\033$BF|\033(B", "日", 0); /* 1990 announcer */
    check_decode("\033$(D0!0\"\033(Bx", "\xEF\xBF\xBD\xEF\xBF\xBDx", 2); /* JIS X 0212 */
    check_decode("a\033(Zb", "a\xEF\xBF\xBD(Zb", 1); /* unknown escape: the ESC is bad */
    check_decode("a\033$", "a\xEF\xBF\xBD$", 1);     /* cut escape */
    check_decode("\033", "\xEF\xBF\xBD", 1);
    check_decode("\033$BF", "\xEF\xBF\xBD", 1);              /* lone lead byte at the end */
    check_decode("\033$B\"\x7F", "\xEF\xBF\xBD\x7F", 1);     /* DEL passes through */
    check_decode("\033$B\033(B", "", 0);                     /* empty two-byte run */
    check_decode("\033$BF|F~5~:^%&\033(B", "日入京剤ウ", 0); /* delimiter look-alikes */
    check_decode("", "", 0);
}

static void jis_decode__controls_in_twobyte_mode(void **state)
{
    (void)state;
    /* a file missing ESC ( B before the segment end: CR/LF return to ASCII */
    check_decode("\033$BF|\rPID|1", "日\rPID|1", 0);
    check_decode("\033$BF|\nPID|1", "日\nPID|1", 0);
    /* other controls pass through and keep the mode */
    check_decode("\033$BF|\x1C"
                 "F~\033(B",
                 "日\x1C入", 0);
    check_decode("\033$BF|\tF~ 5~\033(B", "日\t入 京", 0);
    /* a lead byte followed by CR: the lead is bad, the CR is kept */
    check_decode("\033$BF\rA", "\xEF\xBF\xBD\rA", 1);
    {
        mm_buf b;

        decode(&b, "\033$B\0F|", 6, NULL);
        assert_int_equal(b.len, 4);
        assert_memory_equal(b.ptr, "\0日", 4);
        mm_buf_release(&b);
    }
}

static void jis_decode__limit(void **state)
{
    mm_buf b;

    (void)state;
    mm_buf_init(&b, 4);
    assert_int_equal(mm_buf_puts(&b, "ab"), 0);
    assert_int_equal(mm_jis_decode(&b, "\033$BF|F|\033(B", 10, 0, NULL), MM_ELIMIT);
    assert_string_equal(b.ptr, "ab");
    assert_int_equal(mm_jis_decode(&b, "cd", 2, 0, NULL), 0);
    assert_string_equal(b.ptr, "abcd");
    mm_buf_release(&b);
}

/* ---- encoder ----------------------------------------------------------------------------- */

/* Encode @in leniently and compare with @want. */
static void check_encode(const char *in, const char *want, size_t want_bad)
{
    struct mm_jis_stats st = { 0 };
    mm_buf b;

    mm_buf_init(&b, 4096);
    assert_int_equal(mm_jis_encode(&b, in, strlen(in), 0, &st), 0);
    assert_string_equal(b.ptr ? b.ptr : "", want);
    assert_int_equal(st.bad, want_bad);
    mm_buf_release(&b);
}

static void jis_encode__modes_and_twins(void **state)
{
    struct mm_jis_stats st = { 0 };
    mm_buf b;

    (void)state;
    check_encode("PID|日入|x", "PID|\033$BF|F~\033(B|x", 0);
    check_encode("日", "\033$BF|\033(B", 0);
    check_encode("", "", 0);
    check_encode("abc\r\n", "abc\r\n", 0);
    /* the six Unicode twins go to their row 1/2 positions */
    check_encode("\u301C\u2016\u2212\u00A2\u00A3\u00AC", "\033$B!A!B!]!q!r\"L\033(B", 0);
    check_encode("\uFF5E\u2225\uFF0D\uFFE0\uFFE1\uFFE2", "\033$B!A!B!]!q!r\"L\033(B", 0);
    /* standard positions win over NEC/IBM duplicates; extensions are used when needed */
    check_encode("≒∵￢", "\033$B\"b\"h\"L\033(B", 0);
    mm_buf_init(&b, 4096);
    assert_int_equal(mm_jis_encode(&b, "①㈱髙", strlen("①㈱髙"), MM_JIS_STRICT, &st), 0);
    assert_string_equal(b.ptr, "\033$B-!-j|b\033(B");
    assert_int_equal(st.nec13, 2);
    assert_int_equal(st.ibmext, 1);
    assert_int_equal(st.chars, 3);
    mm_buf_release(&b);
    /* half-width kana use ESC ( I, so they come back as they went */
    memset(&st, 0, sizeof(st));
    mm_buf_init(&b, 4096);
    assert_int_equal(mm_jis_encode(&b, "ｱｲA", strlen("ｱｲA"), 0, &st), 0);
    assert_string_equal(b.ptr, "\033(I12\033(BA");
    assert_int_equal(st.halfwidth, 2);
    mm_buf_release(&b);
    check_encode("ｱ日", "\033(I1\033$BF|\033(B", 0);
}

static void jis_encode__bad_input_lenient_and_strict(void **state)
{
    static const char *const bad[] = {
        "\xC3(",            /* cut sequence */
        "\xC0\xAF",         /* overlong */
        "\xED\xA0\x80",     /* surrogate */
        "\xF4\x90\x80\x80", /* over U+10FFFF */
        "\xFF",             /* never valid */
        "\xE6\x97",         /* cut at the end */
        "\xC3\xA9",         /* é: valid but no JIS code */
        "\xF0\x9F\x98\x80", /* emoji */
        "\xEF\xBF\xBD",     /* U+FFFD */
        "\033$B",           /* ESC would change the meaning of what follows */
        "\016",             /* SO */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mm_jis_stats st = { 0 };
        mm_buf b;
        size_t n = strlen(bad[i]);

        mm_buf_init(&b, 4096);
        assert_int_equal(mm_buf_puts(&b, "x"), 0);
        assert_int_equal(mm_jis_encode(&b, bad[i], n, MM_JIS_STRICT, &st), MM_EINVAL);
        assert_string_equal(b.ptr, "x");
        assert_int_equal(st.bad, 0);
        assert_int_equal(mm_jis_encode(&b, bad[i], n, 0, &st), 0);
        assert_true(st.bad >= 1);
        assert_memory_equal(b.ptr, "x\033$B\".", 6); /* GETA MARK */
        mm_buf_release(&b);
    }
    check_encode("a\xFF"
                 "b",
                 "a\033$B\".\033(Bb", 1);
    check_encode("\xE6\x97", "\033$B\".\".\033(B", 2); /* one 〓 per bad byte */
}

/* ---- samples ----------------------------------------------------------------------------- */

static void hl7_samples__decode_and_parse(void **state)
{
    size_t hl7 = 0, broken = 0;

    (void)state;
    assert_true(nsamples >= 25);
    for (size_t i = 0; i < nsamples; i++) {
        const struct sample *s = &samples[i];
        struct mm_jis_stats st = { 0 };
        mm_hl7_msg *m = NULL;
        mm_buf b, strict;
        int rc;

        decode(&b, s->data, s->len, &st);
        mm_buf_init(&strict, MM_LIMIT_HL7_MESSAGE);
        rc = mm_jis_decode(&strict, s->data, s->len, MM_JIS_STRICT, NULL);
        if (is_broken_sample(s)) {
            assert_int_equal(st.bad, 2);
            assert_int_equal(rc, MM_ECORRUPT);
            assert_int_equal(mm_hl7_parse(&m, b.ptr, b.len), MM_ECORRUPT);
            assert_null(m);
            broken++;
        } else {
            assert_int_equal(st.bad, 0);
            assert_int_equal(st.nec13 + st.ibmext + st.halfwidth, 0);
            assert_int_equal(rc, 0);
            assert_int_equal(strict.len, b.len);
            assert_int_equal(mm_hl7_parse(&m, b.ptr, b.len), 0);
            assert_string_equal(mm_hl7_segment_id(m, 0), "MSH");
            assert_string_equal(mm_hl7_get(m, 0, 1, 1, 1, 1), "|");
            assert_string_equal(mm_hl7_get(m, 0, 2, 0, 0, 0), "^~\\&");
            assert_string_equal(mm_hl7_get(m, 0, 12, 1, 1, 1), "2.5");
            assert_true(strlen(mm_hl7_msg_type(m)) >= 7);
            /* no segment ID swallowed a kanji: every ID is 3 ASCII characters */
            for (size_t k = 0; k < mm_hl7_segment_count(m); k++)
                assert_int_equal(strlen(mm_hl7_segment_id(m, k)), 3);
            mm_hl7_free(m);
            hl7++;
        }
        mm_buf_release(&strict);
        mm_buf_release(&b);
    }
    assert_int_equal(broken, 1);
    assert_int_equal(hl7, nsamples - 1);
}

static void hl7_samples__adt00_values(void **state)
{
    mm_buf b;
    mm_hl7_msg *m = parse_sample("/ADT-00/", &b);
    size_t pid, nk1, al1;

    (void)state;
    assert_string_equal(mm_hl7_msg_type(m), "ADT^A08");
    assert_int_equal(mm_hl7_segment_count(m), 11);
    pid = mm_hl7_find(m, "PID", 0);
    assert_int_equal(pid, 2);
    assert_int_equal(mm_hl7_rep_count(m, pid, 5), 2);
    assert_string_equal(mm_hl7_get(m, pid, 5, 1, 1, 0), "患者");
    assert_string_equal(mm_hl7_get(m, pid, 5, 1, 2, 0), "太郎");
    assert_string_equal(mm_hl7_get(m, pid, 5, 1, 8, 0), "I");
    /* ウ is "%&" in JIS: it must not become a sub-component separator */
    assert_string_equal(mm_hl7_get(m, pid, 5, 2, 1, 1), "カンジャ");
    assert_string_equal(mm_hl7_get(m, pid, 5, 2, 2, 1), "タロウ");
    assert_int_equal(mm_hl7_sub_count(m, pid, 5, 2, 2), 1);
    assert_string_equal(mm_hl7_get(m, pid, 5, 2, 8, 0), "P");
    assert_string_equal(mm_hl7_get(m, pid, 5, 1, 0, 0), "患者^太郎^^^^^L^I");
    assert_string_equal(mm_hl7_get(m, pid, 11, 1, 8, 1), "静岡県静岡市登呂１－３－５");
    nk1 = mm_hl7_find(m, "NK1", 0);
    assert_string_equal(mm_hl7_get(m, nk1, 4, 2, 8, 1), "東京都港区鹿ノ門６丁目３番３号");
    assert_string_equal(mm_hl7_get(m, nk1, 3, 1, 2, 1), "本人");
    al1 = mm_hl7_find(m, "AL1", 0);
    assert_string_equal(mm_hl7_get(m, al1, 2, 1, 2, 1), "薬剤アレルギー");
    assert_int_equal(mm_hl7_comp_count(m, al1, 2, 1), 3);
    assert_string_equal(mm_hl7_get(m, mm_hl7_find(m, "OBX", 0), 5, 1, 1, 1), "167.8");
    assert_int_equal(mm_hl7_find(m, "OBX", 7), 7);
    assert_int_equal(mm_hl7_find(m, "OBX", 9), SIZE_MAX);
    mm_hl7_free(m);
    mm_buf_release(&b);
}

static void hl7_samples__oml11_and_omp01_values(void **state)
{
    mm_buf b;
    mm_hl7_msg *m = parse_sample("20111220/OML-11/", &b);
    size_t obx, tq1, orc;

    (void)state;
    assert_string_equal(mm_hl7_msg_type(m), "OUL^R22");
    obx = mm_hl7_find(m, "OBX", 0);
    assert_string_equal(mm_hl7_get(m, obx, 3, 1, 1, 1), "3A016000002327102");
    assert_string_equal(mm_hl7_get(m, obx, 3, 1, 2, 1), "A/G比");
    assert_string_equal(mm_hl7_get(m, obx, 5, 1, 0, 0), "1.7");
    obx = mm_hl7_find(m, "OBX", obx + 1);
    assert_string_equal(mm_hl7_get(m, obx, 3, 1, 2, 1), "総蛋白");
    assert_string_equal(mm_hl7_get(m, obx, 5, 1, 1, 1), "7.2");
    assert_string_equal(mm_hl7_get(m, obx, 6, 1, 1, 1), "g/dl");
    assert_string_equal(mm_hl7_get(m, obx, 7, 0, 0, 0), "6.70-8.3");
    obx = mm_hl7_find(m, "OBX", obx + 1);
    assert_string_equal(mm_hl7_get(m, obx, 3, 1, 2, 1), "アルブミン");
    assert_string_equal(mm_hl7_get(m, obx, 5, 1, 1, 1), "4.9");
    mm_hl7_free(m);
    mm_buf_release(&b);

    m = parse_sample("20110701/OMP-01/", &b);
    tq1 = mm_hl7_find(m, "TQ1", 0);
    assert_int_equal(mm_hl7_sub_count(m, tq1, 3, 1, 1), 3);
    /* 日 is "F|" and ・ is "!&" in JIS */
    assert_string_equal(mm_hl7_get(m, tq1, 3, 1, 1, 2), "内服・経口・１日３回朝昼夕食後");
    assert_string_equal(mm_hl7_get(m, tq1, 3, 1, 1, 3), "JAMISDP01");
    orc = mm_hl7_find(m, "ORC", 0);
    assert_string_equal(mm_hl7_get(m, orc, 10, 1, 2, 1), "入力者");
    assert_string_equal(mm_hl7_get(m, orc, 21, 1, 1, 1), "登呂病院");
    mm_hl7_free(m);
    mm_buf_release(&b);
}

static void hl7_samples__truncated_at_every_length(void **state)
{
    (void)state;
    for (size_t i = 0; i < nsamples; i++) {
        const struct sample *s = &samples[i];
        mm_buf full;

        decode(&full, s->data, s->len, NULL);
        for (size_t len = 0; len <= s->len; len++) {
            mm_hl7_msg *m = NULL;
            mm_buf b;
            char *raw = malloc(len ? len : 1);

            /* a copy of exactly @len bytes, so ASan sees any read past the end */
            assert_non_null(raw);
            memcpy(raw, s->data, len);
            decode(&b, raw, len, NULL);
            if (mm_hl7_parse(&m, b.ptr, b.len) == 0) {
                size_t nseg = mm_hl7_segment_count(m);

                for (size_t k = 0; k < nseg; k++)
                    for (int f = 0; f <= (int)mm_hl7_field_count(m, k) + 1; f++)
                        assert_non_null(mm_hl7_get(m, k, f, 1, 1, 1));
                mm_hl7_free(m);
            }
            mm_buf_release(&b);
            free(raw);
            /* and the decoded text cut at the same length */
            if (len <= full.len) {
                raw = malloc(len ? len : 1);
                assert_non_null(raw);
                memcpy(raw, full.ptr, len);
                if (mm_hl7_parse(&m, raw, len) == 0) {
                    assert_non_null(mm_hl7_get(m, mm_hl7_segment_count(m) - 1, 1, 1, 1, 1));
                    mm_hl7_free(m);
                }
                free(raw);
            }
        }
        mm_buf_release(&full);
    }
}

/* ---- tokenizer --------------------------------------------------------------------------- */

static const char msg_cr[] = "MSH|^~\\&|SND||RCV||20240101||ADT^A08^ADT_A01|1|P|2.5\r"
                             "PID|1||123^^^^PI~456||Doe^John^^^^^L~Roe^Rick|x&y&z^w\r"
                             "OBX|1|TX|||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g\r";

/* Check the content of msg_cr whatever its line ends were. */
static void check_msg(const char *text, size_t n)
{
    mm_hl7_msg *m = NULL;

    assert_int_equal(mm_hl7_parse(&m, text, n), 0);
    assert_int_equal(mm_hl7_segment_count(m), 3);
    assert_string_equal(mm_hl7_segment_id(m, 1), "PID");
    assert_string_equal(mm_hl7_get(m, 1, 5, 2, 2, 0), "Rick");
    assert_string_equal(mm_hl7_get(m, 2, 5, 1, 1, 1), "a|b^c&d~e\\f\ng");
    assert_string_equal(mm_hl7_msg_type(m), "ADT^A08");
    mm_hl7_free(m);
}

static void hl7_parse__line_endings(void **state)
{
    char buf[1024], *o;

    (void)state;
    check_msg(msg_cr, strlen(msg_cr));
    check_msg(msg_cr, strlen(msg_cr) - 1); /* no final terminator */
    /* LF, CRLF, blank lines, trailing FS and whitespace, MLLP start byte, BOM */
    static const char *const ends[] = { "\n", "\r\n", "\r\r\n\n", "\n \n" };
    for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++) {
        o = buf;
        for (const char *p = msg_cr; *p; p++) {
            if (*p == '\r') {
                memcpy(o, ends[e], strlen(ends[e]));
                o += strlen(ends[e]);
            } else {
                *o++ = *p;
            }
        }
        check_msg(buf, (size_t)(o - buf));
        memcpy(o, "\x1C\r \t\0\0", 6);
        check_msg(buf, (size_t)(o - buf) + 6);
    }
    snprintf(buf, sizeof(buf), "\xEF\xBB\xBF\x0B\r\n%s\x1C\r", msg_cr);
    check_msg(buf, strlen(buf));
}

static void hl7_parse__not_hl7(void **state)
{
    static const char *const bad[] = {
        "",
        "   \r\n\x1C",
        "PID|1|2\rMSH|^~\\&|",
        "MSH",
        "MSH|",
        "MSH|\r^~\\&",
        "MSH||",
        "MSH|^^~\\&|",       /* repeated delimiter */
        "MSH|^~\\&|||",      /* fine, see below */
        "MSHA^~\\&",         /* letter as separator */
        "MSH ^~\\&",         /* space as separator */
        "MSH|^~\\&#$|",      /* six encoding characters */
        "MSH|^~\\\xC3\xA9|", /* non-ASCII delimiter */
        "msh|^~\\&|",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mm_hl7_msg *m = NULL;
        int rc = mm_hl7_parse(&m, bad[i], strlen(bad[i]));

        if (i == 8) {
            assert_int_equal(rc, 0);
            mm_hl7_free(m);
            continue;
        }
        if (rc != MM_ECORRUPT)
            fail_msg("case %zu: %d", i, rc);
        assert_null(m);
    }
    {
        mm_hl7_msg *m = NULL;

        assert_int_equal(mm_hl7_parse(&m, "MSH|^~\\&|\0|x", 12), MM_ECORRUPT);
        assert_string_equal(mm_error_last(), "hl7: nul byte at offset 9");
        assert_int_equal(mm_hl7_parse(&m, NULL, 0), MM_ECORRUPT);
        assert_null(m);
    }
}

static void hl7_parse__delimiters_from_msh(void **state)
{
    const char text[] = "MSH#!@$%#A#B!C@D1%D2@E!F\rPID#x$F$y#1@2";
    const char two[] = "MSH|^~|a^b~c\\d&e\rZZZ|q^r&s";
    mm_hl7_msg *m = NULL;

    (void)state;
    assert_int_equal(mm_hl7_parse(&m, text, strlen(text)), 0);
    assert_string_equal(mm_hl7_get(m, 0, 1, 1, 1, 1), "#");
    assert_string_equal(mm_hl7_get(m, 0, 2, 1, 1, 1), "!@$%");
    assert_string_equal(mm_hl7_get(m, 0, 3, 1, 1, 1), "A");
    assert_string_equal(mm_hl7_get(m, 0, 4, 1, 1, 1), "B");
    assert_string_equal(mm_hl7_get(m, 0, 4, 1, 2, 1), "C");
    assert_int_equal(mm_hl7_rep_count(m, 0, 4), 3);
    assert_string_equal(mm_hl7_get(m, 0, 4, 2, 1, 2), "D2");
    assert_string_equal(mm_hl7_get(m, 0, 4, 2, 2, 1), "");
    assert_string_equal(mm_hl7_get(m, 0, 4, 3, 2, 1), "F");
    assert_string_equal(mm_hl7_get(m, 1, 1, 1, 1, 1), "x#y"); /* $F$ with escape '$' */
    assert_string_equal(mm_hl7_get(m, 1, 2, 2, 1, 1), "2");
    mm_hl7_free(m);
    /* only two encoding characters: no escape, no sub-components */
    assert_int_equal(mm_hl7_parse(&m, two, strlen(two)), 0);
    assert_string_equal(mm_hl7_get(m, 0, 3, 1, 2, 1), "b");
    assert_string_equal(mm_hl7_get(m, 0, 3, 2, 1, 1), "c\\d&e");
    assert_string_equal(mm_hl7_get(m, 0, 3, 2, 1, 0), "c\\d&e");
    assert_int_equal(mm_hl7_sub_count(m, 1, 1, 1, 2), 1);
    assert_string_equal(mm_hl7_get(m, 1, 1, 1, 2, 2), "");
    mm_hl7_free(m);
}

static void hl7_get__numbering_and_counts(void **state)
{
    mm_hl7_msg *m = NULL;
    const char *p, *a, *b2;
    size_t n;

    (void)state;
    assert_int_equal(mm_hl7_parse(&m, msg_cr, strlen(msg_cr)), 0);
    /* MSH counts MSH-1 as the field separator */
    assert_int_equal(mm_hl7_field_count(m, 0), 12);
    assert_string_equal(mm_hl7_get(m, 0, 1, 0, 0, 0), "|");
    assert_string_equal(mm_hl7_get(m, 0, 2, 1, 1, 1), "^~\\&");
    assert_string_equal(mm_hl7_get(m, 0, 2, 2, 1, 1), "");
    assert_int_equal(mm_hl7_rep_count(m, 0, 2), 1);
    assert_int_equal(mm_hl7_comp_count(m, 0, 2, 1), 1);
    assert_string_equal(mm_hl7_get(m, 0, 3, 1, 1, 1), "SND");
    assert_string_equal(mm_hl7_get(m, 0, 4, 1, 1, 1), "");
    assert_string_equal(mm_hl7_get(m, 0, 9, 1, 3, 1), "ADT_A01");
    assert_string_equal(mm_hl7_get(m, 0, 9, 0, 0, 0), "ADT^A08^ADT_A01");
    assert_string_equal(mm_hl7_get(m, 0, 12, 1, 1, 1), "2.5");
    assert_string_equal(mm_hl7_get(m, 0, 13, 1, 1, 1), "");
    /* PID: reps, comps, subs */
    assert_int_equal(mm_hl7_field_count(m, 1), 6);
    assert_int_equal(mm_hl7_rep_count(m, 1, 3), 2);
    assert_int_equal(mm_hl7_rep_count(m, 1, 2), 0); /* empty */
    assert_int_equal(mm_hl7_rep_count(m, 1, 7), 0); /* absent */
    assert_int_equal(mm_hl7_comp_count(m, 1, 3, 1), 5);
    assert_int_equal(mm_hl7_comp_count(m, 1, 3, 2), 1);
    assert_int_equal(mm_hl7_comp_count(m, 1, 3, 3), 0);
    assert_int_equal(mm_hl7_sub_count(m, 1, 6, 1, 1), 3);
    assert_int_equal(mm_hl7_sub_count(m, 1, 6, 1, 2), 1);
    assert_int_equal(mm_hl7_sub_count(m, 1, 6, 0, 1), 0);
    assert_string_equal(mm_hl7_get(m, 1, 3, 1, 5, 1), "PI");
    assert_string_equal(mm_hl7_get(m, 1, 3, 2, 1, 1), "456");
    assert_string_equal(mm_hl7_get(m, 1, 3, 0, 0, 0), "123^^^^PI~456");
    assert_string_equal(mm_hl7_get(m, 1, 6, 1, 1, 2), "y");
    assert_string_equal(mm_hl7_get(m, 1, 6, 1, 1, 0), "x&y&z");
    assert_string_equal(mm_hl7_get(m, 1, 6, 1, 2, 0), "w");
    assert_string_equal(mm_hl7_get(m, 1, 6, 1, 1, 4), "");
    assert_string_equal(mm_hl7_get(m, 1, 0, 5, 5, 5),
                        "PID|1||123^^^^PI~456||Doe^John^^^^^L~Roe^Rick|x&y&z^w");
    assert_string_equal(mm_hl7_get(m, 1, 0, 0, 0, 0), mm_hl7_get(m, 1, 0, 1, 1, 1));
    /* absent and invalid positions */
    assert_string_equal(mm_hl7_get(m, 3, 1, 1, 1, 1), "");
    assert_string_equal(mm_hl7_get(m, SIZE_MAX, 1, 1, 1, 1), "");
    assert_string_equal(mm_hl7_get(m, 1, -1, 1, 1, 1), "");
    assert_string_equal(mm_hl7_get(m, 1, 1, 1, 1, -1), "");
    assert_string_equal(mm_hl7_get(m, 1, 2147483647, 2147483647, 1, 1), "");
    assert_string_equal(mm_hl7_get(NULL, 0, 1, 1, 1, 1), "");
    assert_string_equal(mm_hl7_segment_id(m, 3), "");
    assert_int_equal(mm_hl7_field_count(m, 3), 0);
    assert_int_equal(mm_hl7_find(m, "ZZZ", 0), SIZE_MAX);
    assert_int_equal(mm_hl7_find(m, "PID", 2), SIZE_MAX);
    assert_int_equal(mm_hl7_find(m, "MSH", 0), 0);
    /* raw access keeps escapes and does not copy */
    assert_int_equal(mm_hl7_get_raw(m, 2, 5, 1, 1, 1, &p, &n), 0);
    assert_int_equal(n, strlen("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g"));
    assert_memory_equal(p, "a\\F\\b", 5);
    assert_int_equal(mm_hl7_get_raw(m, 1, 2, 1, 1, 1, &p, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(mm_hl7_get_raw(m, 1, 9, 1, 1, 1, &p, &n), MM_ENOTFOUND);
    assert_int_equal(n, 0);
    assert_string_equal(p, "");
    assert_int_equal(mm_hl7_get_raw(m, 9, 1, 1, 1, 1, &p, &n), MM_ENOTFOUND);
    assert_int_equal(mm_hl7_get_raw(m, 1, 1, -1, 1, 1, &p, &n), MM_EINVAL);
    assert_int_equal(mm_hl7_get_raw(m, 0, 1, 1, 1, 1, &p, &n), 0);
    assert_memory_equal(p, "|", 1);
    /* the same position gives the same string, and strings never move */
    a = mm_hl7_get(m, 1, 5, 1, 1, 1);
    assert_ptr_equal(a, mm_hl7_get(m, 1, 5, 1, 1, 1));
    for (int k = 0; k < 3000; k++)
        assert_non_null(mm_hl7_get(m, (size_t)(k % 3), k % 13, k % 3, k % 5, k % 4));
    b2 = mm_hl7_get(m, 1, 5, 1, 1, 1);
    assert_ptr_equal(a, b2);
    assert_string_equal(a, "Doe");
    mm_hl7_free(m);
    mm_hl7_free(NULL);
    assert_int_equal(mm_hl7_segment_count(NULL), 0);
}

static void hl7_get__escapes(void **state)
{
    const char text[] = "MSH|^~\\&|\r"
                        "ZES|\\X41\\\\XE697A5\\|\\X00\\|\\XE6\\|\\X4\\|\\XZZ\\|\\H\\bold\\N\\|"
                        "end\\|\\|\\\\|\\.sp\\|\\F|a\\E\\F\\E\\\r";
    mm_hl7_msg *m = NULL;

    (void)state;
    assert_int_equal(mm_hl7_parse(&m, text, strlen(text)), 0);
    assert_string_equal(mm_hl7_get(m, 1, 1, 1, 1, 1), "A日");
    assert_string_equal(mm_hl7_get(m, 1, 2, 1, 1, 1), "\\X00\\"); /* NUL: kept */
    assert_string_equal(mm_hl7_get(m, 1, 3, 1, 1, 1), "\\XE6\\"); /* bad UTF-8: kept */
    assert_string_equal(mm_hl7_get(m, 1, 4, 1, 1, 1), "\\X4\\");  /* odd digits: kept */
    assert_string_equal(mm_hl7_get(m, 1, 5, 1, 1, 1), "\\XZZ\\"); /* not hex: kept */
    assert_string_equal(mm_hl7_get(m, 1, 6, 1, 1, 1), "\\H\\bold\\N\\");
    assert_string_equal(mm_hl7_get(m, 1, 7, 1, 1, 1), "end\\"); /* unterminated */
    assert_string_equal(mm_hl7_get(m, 1, 8, 1, 1, 1), "\\");
    assert_string_equal(mm_hl7_get(m, 1, 9, 1, 1, 1), "\\\\"); /* empty escape */
    assert_string_equal(mm_hl7_get(m, 1, 10, 1, 1, 1), "\\.sp\\");
    assert_string_equal(mm_hl7_get(m, 1, 11, 1, 1, 1), "\\F");
    assert_string_equal(mm_hl7_get(m, 1, 12, 1, 1, 1), "a\\F\\"); /* \E\ then F\E\ */
    mm_hl7_free(m);
}

static void hl7_get__zero_levels_raw_only_with_inner_delimiters(void **state)
{
    const char text[] = "MSH|^~\\&|\rZ|a\\S\\b|a\\S\\b^c|x~y\\T\\";
    mm_hl7_msg *m = NULL;

    (void)state;
    assert_int_equal(mm_hl7_parse(&m, text, strlen(text)), 0);
    assert_string_equal(mm_hl7_get(m, 1, 1, 0, 0, 0), "a^b");       /* one value: unescaped */
    assert_string_equal(mm_hl7_get(m, 1, 2, 1, 0, 0), "a\\S\\b^c"); /* inner '^': raw */
    assert_string_equal(mm_hl7_get(m, 1, 2, 1, 1, 0), "a^b");
    assert_string_equal(mm_hl7_get(m, 1, 3, 0, 0, 0), "x~y\\T\\");
    assert_string_equal(mm_hl7_get(m, 1, 3, 2, 0, 0), "y&");
    mm_hl7_free(m);
}

static void hl7_parse__lines_as_they_stand(void **state)
{
    const char text[] = "MSH|^~\\&|A\rOBX|1|TX|||line 1\nline 2|F\rBHS|^~\\&|B\rMSH\r|x";
    mm_hl7_msg *m = NULL;

    (void)state;
    assert_int_equal(mm_hl7_parse(&m, text, strlen(text)), 0);
    assert_int_equal(mm_hl7_segment_count(m), 6);
    /* free text broken by a raw LF: the rest of the line is a segment of its own */
    assert_string_equal(mm_hl7_get(m, 1, 5, 1, 1, 1), "line 1");
    assert_string_equal(mm_hl7_segment_id(m, 2), "line 2");
    assert_string_equal(mm_hl7_get(m, 2, 1, 1, 1, 1), "F");
    /* a batch header counts its fields as MSH does */
    assert_string_equal(mm_hl7_segment_id(m, 3), "BHS");
    assert_int_equal(mm_hl7_field_count(m, 3), 3);
    assert_string_equal(mm_hl7_get(m, 3, 2, 0, 0, 0), "^~\\&");
    assert_string_equal(mm_hl7_get(m, 3, 3, 1, 1, 1), "B");
    /* a bare "MSH" line is no header; an empty ID is an ID */
    assert_int_equal(mm_hl7_field_count(m, 4), 0);
    assert_string_equal(mm_hl7_get(m, 4, 1, 1, 1, 1), "");
    assert_string_equal(mm_hl7_segment_id(m, 5), "");
    assert_int_equal(mm_hl7_find(m, "", 0), 5);
    assert_string_equal(mm_hl7_get(m, 5, 1, 1, 1, 1), "x");
    mm_hl7_free(m);
}

static void hl7_parse__limits(void **state)
{
    size_t n = MM_LIMIT_HL7_SEGMENTS + 2, len = 9 + 2 * n;
    char *big = malloc(MM_LIMIT_HL7_MESSAGE + 1);
    mm_hl7_msg *m = NULL;

    (void)state;
    assert_non_null(big);
    memcpy(big, "MSH|^~\\&|", 9);
    for (size_t i = 0; i < n; i++)
        memcpy(big + 9 + 2 * i, "\rA", 2);
    /* MSH plus MM_LIMIT_HL7_SEGMENTS + 2 segments */
    assert_int_equal(mm_hl7_parse(&m, big, len), MM_ELIMIT);
    assert_null(m);
    /* exactly the limit is fine */
    assert_int_equal(mm_hl7_parse(&m, big, len - 6), 0);
    assert_int_equal(mm_hl7_segment_count(m), MM_LIMIT_HL7_SEGMENTS);
    assert_string_equal(mm_hl7_segment_id(m, MM_LIMIT_HL7_SEGMENTS - 1), "A");
    mm_hl7_free(m);
    m = NULL;
    memset(big + len, ' ', MM_LIMIT_HL7_MESSAGE + 1 - len);
    assert_int_equal(mm_hl7_parse(&m, big, MM_LIMIT_HL7_MESSAGE + 1), MM_ELIMIT);
    assert_null(m);
    free(big);
}

/* ---- allocation failure ------------------------------------------------------------------ */

static void hl7_alloc__torture(void **state)
{
    const struct sample *s = find_sample("/ADT-00/");
    mm_buf b;
    long k;
    int rc;

    (void)state;
    mm_alloc_track(1); /* exact, unlike glibc's heap statistics: see common/alloc.h */
    /* decode */
    for (k = 1;; k++) {
        mm_buf_init(&b, MM_LIMIT_HL7_MESSAGE);
        mm_alloc_fail_at(k, 0);
        rc = mm_jis_decode(&b, s->data, s->len, 0, NULL);
        mm_alloc_fail_at(0, 0);
        if (rc == 0)
            break;
        assert_int_equal(rc, MM_ENOMEM);
        assert_int_equal(b.len, 0);
        mm_buf_release(&b);
    }
    assert_true(k > 1);
    /* encode the decoded text back */
    for (k = 1;; k++) {
        mm_buf e;

        mm_buf_init(&e, MM_LIMIT_HL7_MESSAGE);
        mm_alloc_fail_at(k, 0);
        rc = mm_jis_encode(&e, b.ptr, b.len, 0, NULL);
        mm_alloc_fail_at(0, 0);
        if (rc == 0) {
            assert_int_equal(e.len, s->len); /* the writer switched as we do */
            assert_memory_equal(e.ptr, s->data, s->len);
            mm_buf_release(&e);
            break;
        }
        assert_int_equal(rc, MM_ENOMEM);
        mm_buf_release(&e);
    }
    /* parse */
    for (k = 1;; k++) {
        mm_hl7_msg *m = NULL;

        mm_alloc_fail_at(k, 0);
        rc = mm_hl7_parse(&m, b.ptr, b.len);
        mm_alloc_fail_at(0, 0);
        if (rc == 0) {
            mm_hl7_free(m);
            break;
        }
        assert_int_equal(rc, MM_ENOMEM);
        assert_null(m);
    }
    assert_true(k > 3);
    /* get: a walk over many positions, failing the k-th allocation inside it */
    for (k = 1;; k++) {
        mm_hl7_msg *m = NULL;
        int failed = 0;

        assert_int_equal(mm_hl7_parse(&m, b.ptr, b.len), 0);
        mm_alloc_fail_at(k, 0);
        for (size_t seg = 0; seg < mm_hl7_segment_count(m); seg++)
            for (int f = 0; f < 12; f++)
                if (!mm_hl7_get(m, seg, f, 1, 1, 0)) {
                    assert_string_equal(mm_error_last(), "out of memory");
                    failed++;
                }
        mm_alloc_fail_at(0, 0);
        assert_true(failed <= 1);
        /* after a failure everything works again */
        assert_string_equal(mm_hl7_get(m, 2, 5, 2, 2, 1), "タロウ");
        mm_hl7_free(m);
        if (!failed)
            break;
    }
    assert_true(k > 3);
    mm_buf_release(&b);
    assert_int_equal(mm_alloc_live(), 0); /* every path freed all it allocated */
    mm_alloc_track(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jis_table__matches_glibc_cp932),
        cmocka_unit_test(jis_table__known_positions),
        cmocka_unit_test(jis_decode__every_position_round_trips),
        cmocka_unit_test(jis_decode__agrees_with_glibc_iso2022jp),
        cmocka_unit_test(jis_decode__nec_and_ibm_counted),
        cmocka_unit_test(jis_decode__halfwidth_kana),
        cmocka_unit_test(jis_decode__bad_bytes_lenient_and_strict),
        cmocka_unit_test(jis_decode__escapes_and_modes),
        cmocka_unit_test(jis_decode__controls_in_twobyte_mode),
        cmocka_unit_test(jis_decode__limit),
        cmocka_unit_test(jis_encode__modes_and_twins),
        cmocka_unit_test(jis_encode__bad_input_lenient_and_strict),
        cmocka_unit_test(hl7_samples__decode_and_parse),
        cmocka_unit_test(hl7_samples__adt00_values),
        cmocka_unit_test(hl7_samples__oml11_and_omp01_values),
        cmocka_unit_test(hl7_samples__truncated_at_every_length),
        cmocka_unit_test(hl7_parse__line_endings),
        cmocka_unit_test(hl7_parse__not_hl7),
        cmocka_unit_test(hl7_parse__delimiters_from_msh),
        cmocka_unit_test(hl7_parse__lines_as_they_stand),
        cmocka_unit_test(hl7_parse__limits),
        cmocka_unit_test(hl7_get__numbering_and_counts),
        cmocka_unit_test(hl7_get__escapes),
        cmocka_unit_test(hl7_get__zero_levels_raw_only_with_inner_delimiters),
        cmocka_unit_test(hl7_alloc__torture),
    };

    return cmocka_run_group_tests(tests, setup_samples, teardown_samples);
}
