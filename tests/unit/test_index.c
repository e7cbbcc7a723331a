/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the index module against mamori-gen's ground truth: a generated storage is
 * indexed, and every patient must be found by ID, full kana, a kana fragment, hiragana,
 * kanji family name and birth date (four spellings); summaries parse and name the patient;
 * lab matrices hold the truth's values at the right (code, time) cells; an update after
 * the generator advances picks up the changed patients and equals a fresh build. Name
 * search is checked against a naive reference (substring over the truth), the file format
 * against things that are not an index, and find / summary / lab matrix under allocation
 * failure.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "index/index.h"
#include "tests/unit/test_storage.h"
#include "tools/gen/gen.h"

#define SEED     7
#define PATIENTS 120
#define DAYS     150
#define AS_OF    "2025-09-01"

struct fixture {
    struct test_storage s;
    char db[300];
};

static struct fixture fx;

/* ---- helpers ---- */

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static json_t *patient_of(size_t i)
{
    return json_object_get(json_array_get(fx.s.patients, i), "patient");
}

static int build_into(const char *path, unsigned flags, struct mm_index_build_stats *st)
{
    struct mm_index_build_opts o = { 0 };
    mm_index *ix = NULL;
    int err;

    o.flags = flags;
    if ((err = mm_index_create(&ix, path)) < 0)
        return err;
    if ((err = mm_index_build(ix, fx.s.std, fx.s.ext, &o, st)) == 0)
        err = mm_index_commit(ix);
    mm_index_free(ix);
    return err;
}

static mm_index *open_ro(void)
{
    mm_index *ix = NULL;

    if (mm_index_open(&ix, fx.db, 0) != 0)
        fail_msg("open: %s", mm_error_last());
    return ix;
}

/* Index of @id in @r, or -1. */
static long find_in(const struct mm_index_results *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].id, id) == 0)
            return (long)i;
    return -1;
}

/* Run a query and check that patient @id is among the results. */
static void expect_found(mm_index *ix, const char *query, const char *id)
{
    struct mm_index_results r = { 0 };

    if (mm_index_find(ix, query, MM_INDEX_FIND_MAX, AS_OF, &r) != 0)
        fail_msg("find: %s", mm_error_last());
    if (find_in(&r, id) < 0)
        fail_msg("query '%s' does not find patient '%s' (%zu results)", query, id, r.n);
    mm_index_results_release(&r);
}

/* Decode one UTF-8 character. */
static uint32_t u8(const char **p)
{
    const unsigned char *s = (const unsigned char *)*p;
    uint32_t c;
    int k;

    if (s[0] < 0x80) {
        (*p)++;
        return s[0];
    }
    k = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
    c = s[0] & (0x3F >> (k - 1));
    for (int i = 1; i < k; i++)
        c = (c << 6) | (s[i] & 0x3F);
    *p += k;
    return c;
}

static void put8(char **o, uint32_t c)
{
    unsigned char *s = (unsigned char *)*o;
    if (c < 0x80) {
        *s++ = (unsigned char)c;
    } else if (c < 0x800) {
        *s++ = (unsigned char)(0xC0 | (c >> 6));
        *s++ = (unsigned char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *s++ = (unsigned char)(0xE0 | (c >> 12));
        *s++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        *s++ = (unsigned char)(0x80 | (c & 0x3F));
    } else {
        *s++ = (unsigned char)(0xF0 | (c >> 18));
        *s++ = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
        *s++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        *s++ = (unsigned char)(0x80 | (c & 0x3F));
    }
    *o = (char *)s;
}

/* Katakana to hiragana, the way a person types a name (an independent conversion). */
static void to_hiragana(const char *in, char *out)
{
    while (*in) {
        uint32_t c = u8(&in);
        if (c >= 0x30A1 && c <= 0x30F6)
            c -= 0x60;
        put8(&out, c);
    }
    *out = '\0';
}

/* The first @n characters of @s. */
static void prefix_chars(const char *s, size_t n, char *out)
{
    const char *p = s;
    for (size_t i = 0; i < n && *p; i++)
        u8(&p);
    memcpy(out, s, (size_t)(p - s));
    out[p - s] = '\0';
}

static char *key_of(const char *s)
{
    mm_buf b;
    char *k;

    mm_buf_init(&b, 4096);
    assert_int_equal(mm_index_name_key(s, &b), 0);
    k = strdup(b.ptr ? b.ptr : "");
    mm_buf_release(&b);
    return k;
}

static int expected_age(const char *birth)
{
    int y, m, d;
    if (sscanf(birth, "%4d-%2d-%2d", &y, &m, &d) != 3)
        return -1;
    return 2025 - y - (9 < m || (9 == m && 1 < d));
}

/* ---- fixture ---- */

static int setup(void **state)
{
    struct mm_index_build_stats *st;
    int err;

    (void)state;
    if (test_storage_make(&fx.s, "index", PATIENTS, DAYS, SEED) < 0)
        return -1;
    snprintf(fx.db, sizeof(fx.db), "%s/index.db", fx.s.dir);
    st = calloc(1, sizeof(*st));
    err = build_into(fx.db, 0, st);
    if (err == 0 && (st->patients != json_array_size(fx.s.patients) || st->problems.bad)) {
        fprintf(stderr, "build: %zu patients, %zu problems\n", st->patients, st->problems.bad);
        err = -1;
    }
    free(st);
    if (err != 0)
        fprintf(stderr, "build: %s\n", mm_error_last());
    return err ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    test_storage_free(&fx.s);
    return 0;
}

/* ---- keys and queries ---- */

static void name_key__folds_what_people_type(void **state)
{
    static const char *const cases[][2] = {
        { "ハセガワ オサム", "ハセガワオサム" },
        { "はせがわ　おさむ", "ハセガワオサム" },
        { "ﾊｾｶﾞﾜ ｵｻﾑ", "ハセガワオサム" },
        { "ﾊﾟﾝﾀﾞ", "パンダ" },
        { "ｳﾞｧｲｵﾘﾝ", "ヴアイオリン" },
        { "キョウコ", "キヨウコ" },
        { "ｷﾖｳｺ", "キヨウコ" },
        { "ミチヅル", "ミチズル" },
        { "髙橋 﨑子", "高橋崎子" },
        { "渡邊・邉", "渡辺辺" },
        { "ｓｍｉｔｈ　John", "SMITHJOHN" },
        { "か\xe3\x82\x99き", "ガキ" }, /* combining dakuten */
        { "\xff\xfe山田", "山田" },     /* bytes that are not UTF-8 are dropped */
        { "", "" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *k = key_of(cases[i][0]);
        if (strcmp(k, cases[i][1]) != 0)
            fail_msg("key of '%s' is '%s', expected '%s'", cases[i][0], k, cases[i][1]);
        free(k);
    }
}

static void query_parse__reads_ids_dates_and_names(void **state)
{
    static const struct {
        const char *q, *id, *date, *name;
    } cases[] = {
        { "1000209458", "1000209458", "", "" },
        { " １０００２ ", "10002", "", "" },
        { "19470416", "19470416", "1947-04-16", "" },
        { "1947-04-16", "1947-04-16", "1947-04-16", "" },
        { "1947/4/16", "", "1947-04-16", "" },
        { "2016/5/2", "", "2016-05-02", "" },
        { "S5.6.12", "S5.6.12", "1930-06-12", "S5.6.12" },
        { "1947.04.16", "1947.04.16", "1947-04-16", "" },
        { "1947年4月16日", "", "1947-04-16", "1947年4月16日" },
        { "S22.4.16", "S22.4.16", "1947-04-16", "S22.4.16" },
        { "s220416", "s220416", "1947-04-16", "S220416" },
        { "昭和22年4月16日", "", "1947-04-16", "昭和22年4月16日" },
        { "昭和２２年４月１６日", "", "1947-04-16", "昭和22年4月16日" },
        { "令和元年5月1日", "", "2019-05-01", "令和元年5月1日" },
        { "H31/4/30", "", "2019-04-30", "H31/4/30" },
        { "20250230", "20250230", "", "" }, /* not a real day */
        { "2024-02-29", "2024-02-29", "2024-02-29", "" },
        { "2023-02-29", "2023-02-29", "", "" },
        { "長谷川", "", "", "長谷川" },
        { "はせがわ", "", "", "ハセガワ" },
        { "A-12_3", "A-12_3", "", "A-12_3" },
    };
    struct mm_index_query q;
    char big[MM_INDEX_QUERY_MAX + 2];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (mm_index_query_parse(&q, cases[i].q) != 0)
            fail_msg("'%s': %s", cases[i].q, mm_error_last());
        if (strcmp(q.id, cases[i].id) || strcmp(q.date, cases[i].date) ||
            strcmp(q.name, cases[i].name))
            fail_msg("'%s' read as id '%s' date '%s' name '%s'", cases[i].q, q.id, q.date, q.name);
    }
    assert_int_equal(mm_index_query_parse(&q, ""), MM_EINVAL);
    assert_int_equal(mm_index_query_parse(&q, " 　 "), MM_EINVAL);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(mm_index_query_parse(&q, big), MM_ELIMIT);
}

static void query_parse__reads_years_and_names_with_dates(void **state)
{
    static const struct {
        const char *q, *date, *year, *name;
        int both;
    } cases[] = {
        { "1947", "", "1947", "", 0 },
        { "１９４７年", "", "1947", "1947年", 0 },
        { "S22", "", "1947", "S22", 0 },
        { "昭和22年", "", "1947", "昭和22年", 0 },
        { "令和元年", "", "2019", "令和元年", 0 },
        { "1799", "", "", "", 0 }, /* out of range: an ID prefix only */
        { "S0", "", "", "S0", 0 },
        { "ヤマダ 1947-04-16", "1947-04-16", "", "ヤマダ", 1 },
        { "やまだ　S22.4.16", "1947-04-16", "", "ヤマダ", 1 },
        { "山田 太郎 1947", "", "1947", "山田太郎", 1 },
        { "1947-04-16 山田", "1947-04-16", "", "山田", 1 },
        { "S22 やまだ", "", "1947", "ヤマダ", 1 },
        { "ヤマダ タロウ", "", "", "ヤマダタロウ", 0 },
        { "1000 2094", "", "", "", 0 }, /* digits only: no name */
    };
    struct mm_index_query q;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (mm_index_query_parse(&q, cases[i].q) != 0)
            fail_msg("'%s': %s", cases[i].q, mm_error_last());
        if (strcmp(q.date, cases[i].date) || strcmp(q.year, cases[i].year) ||
            strcmp(q.name, cases[i].name) || q.both != cases[i].both || (q.both && q.id[0]))
            fail_msg("'%s' read as date '%s' year '%s' name '%s' both %d id '%s'", cases[i].q,
                     q.date, q.year, q.name, q.both, q.id);
    }
}

/* ---- find ---- */

static void find__every_patient_by_id(void **state)
{
    mm_index *ix = open_ro();

    (void)state;
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++) {
        json_t *p = patient_of(i);
        struct mm_index_results r = { 0 };

        assert_int_equal(mm_index_find(ix, jstr(p, "id"), 5, AS_OF, &r), 0);
        assert_true(r.n >= 1);
        /* the exact ID comes first, with the truth's demographics */
        assert_string_equal(r.v[0].id, jstr(p, "id"));
        assert_string_equal(r.v[0].name, jstr(p, "name"));
        assert_string_equal(r.v[0].kana, jstr(p, "kana"));
        assert_string_equal(r.v[0].sex, jstr(p, "sex"));
        assert_string_equal(r.v[0].birth_date, jstr(p, "birth_date"));
        assert_int_equal(r.v[0].age, expected_age(jstr(p, "birth_date")));
        mm_index_results_release(&r);
    }
    mm_index_free(ix);
}

static void find__every_patient_by_name(void **state)
{
    mm_index *ix = open_ro();
    char buf[512];

    (void)state;
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++) {
        json_t *p = patient_of(i);
        const char *id = jstr(p, "id"), *kana = jstr(p, "kana"), *name = jstr(p, "name");
        const char *sp = strchr(kana, ' ');

        expect_found(ix, kana, id);               /* full kana */
        expect_found(ix, sp ? sp + 1 : kana, id); /* given-name kana */
        prefix_chars(kana, 2, buf);
        expect_found(ix, buf, id); /* a fragment */
        to_hiragana(kana, buf);
        expect_found(ix, buf, id); /* hiragana */
        expect_found(ix, name, id);
    }
    mm_index_free(ix);
}

static void find__by_kanji_family_name_finds_only_that_name(void **state)
{
    mm_index *ix = open_ro();

    (void)state;
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++) {
        json_t *p = patient_of(i);
        const char *name = jstr(p, "name"), *sp = strchr(name, ' ');
        struct mm_index_results r = { 0 };
        char family[256], *fk;

        assert_non_null(sp);
        memcpy(family, name, (size_t)(sp - name));
        family[sp - name] = '\0';
        fk = key_of(family);
        assert_int_equal(mm_index_find(ix, family, MM_INDEX_FIND_MAX, AS_OF, &r), 0);
        assert_true(find_in(&r, jstr(p, "id")) >= 0);
        assert_int_equal(r.total, r.n);
        for (size_t k = 0; k < r.n; k++) {
            char *nk = key_of(r.v[k].name), *kk = key_of(r.v[k].kana);
            assert_true(strstr(nk, fk) || strstr(kk, fk));
            free(nk);
            free(kk);
        }
        free(fk);
        mm_index_results_release(&r);
    }
    mm_index_free(ix);
}

static void find__every_patient_by_birth_date(void **state)
{
    static const struct {
        const char *name;
        int base, first;
    } eras[] = { { "S", 1925, 1926 }, { "H", 1988, 1989 }, { "R", 2018, 2019 } };
    mm_index *ix = open_ro();
    char q[64];

    (void)state;
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++) {
        json_t *p = patient_of(i);
        const char *id = jstr(p, "id"), *b = jstr(p, "birth_date");
        struct mm_index_results r = { 0 };
        int y, m, d;

        assert_int_equal(sscanf(b, "%4d-%2d-%2d", &y, &m, &d), 3);
        expect_found(ix, b, id);
        snprintf(q, sizeof(q), "%04d%02d%02d", y, m, d);
        expect_found(ix, q, id);
        snprintf(q, sizeof(q), "%04d/%d/%d", y, m, d);
        expect_found(ix, q, id);
        for (size_t e = 0; e < 3; e++) {
            if (y < eras[e].first || (e + 1 < 3 && y > eras[e + 1].first))
                continue;
            if (y == eras[e].first && m == 1) /* era changes inside the year: skip */
                continue;
            snprintf(q, sizeof(q), "%s%d.%d.%d", eras[e].name, y - eras[e].base, m, d);
            expect_found(ix, q, id);
            break;
        }
        /* a date query finds only that birth date (IDs here are 10 digits) */
        assert_int_equal(mm_index_find(ix, b, MM_INDEX_FIND_MAX, AS_OF, &r), 0);
        for (size_t k = 0; k < r.n; k++)
            assert_string_equal(r.v[k].birth_date, b);
        mm_index_results_release(&r);
    }
    mm_index_free(ix);
}

/* Every patient is found by the year of birth (Western and era) and by name with the birth
 * date or year; every answer is right and none is missed (against a scan of the truth). */
static void find__by_birth_year_and_by_name_with_date(void **state)
{
    mm_index *ix = open_ro();
    size_t np = json_array_size(fx.s.patients);
    char q[512], kana[256];

    (void)state;
    for (size_t i = 0; i < np; i++) {
        json_t *p = patient_of(i);
        const char *id = jstr(p, "id"), *b = jstr(p, "birth_date"), *sp;
        struct mm_index_results r = { 0 };
        size_t want = 0, wantb = 0;
        char *fk;
        int y;

        assert_int_equal(sscanf(b, "%4d", &y), 1);
        snprintf(kana, sizeof(kana), "%s", jstr(p, "kana"));
        sp = strchr(kana, ' ');
        assert_non_null(sp);
        kana[sp - kana] = '\0'; /* the family name's kana */
        fk = key_of(kana);
        for (size_t k = 0; k < np; k++) {
            const char *bk = jstr(patient_of(k), "birth_date");
            char *nk = key_of(jstr(patient_of(k), "name")),
                 *kk = key_of(jstr(patient_of(k), "kana"));
            want += strncmp(bk, b, 4) == 0;
            wantb += strcmp(bk, b) == 0 && (strstr(nk, fk) || strstr(kk, fk));
            free(nk);
            free(kk);
        }
        /* the year alone: exactly the patients born that year (IDs here are 10 digits) */
        snprintf(q, sizeof(q), "%d", y);
        assert_int_equal(mm_index_find(ix, q, MM_INDEX_FIND_MAX, AS_OF, &r), 0);
        assert_true(find_in(&r, id) >= 0);
        assert_int_equal(r.total, want);
        for (size_t k = 0; k < r.n; k++)
            assert_memory_equal(r.v[k].birth_date, b, 4);
        mm_index_results_release(&r);
        snprintf(q, sizeof(q), "%d年", y);
        expect_found(ix, q, id);
        if (y >= 1927 && y <= 1988) {
            snprintf(q, sizeof(q), "S%d", y - 1925);
            expect_found(ix, q, id);
            snprintf(q, sizeof(q), "昭和%d年", y - 1925);
            expect_found(ix, q, id);
        }
        /* name with the birth date: only patients with both */
        snprintf(q, sizeof(q), "%s %s", kana, b);
        assert_int_equal(mm_index_find(ix, q, MM_INDEX_FIND_MAX, AS_OF, &r), 0);
        assert_true(find_in(&r, id) >= 0);
        assert_int_equal(r.total, wantb);
        for (size_t k = 0; k < r.n; k++)
            assert_string_equal(r.v[k].birth_date, b);
        mm_index_results_release(&r);
        /* with another year: not this patient */
        snprintf(q, sizeof(q), "%s %d", kana, y == 2000 ? 1999 : 2000);
        assert_int_equal(mm_index_find(ix, q, MM_INDEX_FIND_MAX, AS_OF, &r), 0);
        assert_true(find_in(&r, id) < 0);
        mm_index_results_release(&r);
        snprintf(q, sizeof(q), "%.4s %s", b, jstr(p, "name"));
        expect_found(ix, q, id);
        free(fk);
    }
    mm_index_free(ix);
}

static void find__id_prefix_ranks_and_caps(void **state)
{
    mm_index *ix = open_ro();
    struct mm_index_results r = { 0 };
    const char *id0 = jstr(patient_of(0), "id");
    char pre[8];
    size_t want = 0;

    (void)state;
    snprintf(pre, sizeof(pre), "%.4s", id0);
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++)
        want += strncmp(jstr(patient_of(i), "id"), pre, 4) == 0;
    assert_int_equal(mm_index_find(ix, pre, 3, AS_OF, &r), 0);
    assert_int_equal(r.n, want < 3 ? want : 3);
    assert_int_equal(r.total, want);
    mm_index_results_release(&r);
    /* the exact ID first even when other IDs share its prefix */
    assert_int_equal(mm_index_find(ix, id0, 0, AS_OF, &r), 0);
    assert_string_equal(r.v[0].id, id0);
    mm_index_results_release(&r);
    /* nothing found is success with no results */
    assert_int_equal(mm_index_find(ix, "存在しない名前", 0, AS_OF, &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.total, 0);
    mm_index_results_release(&r);
    assert_int_equal(mm_index_find(ix, "  ", 0, AS_OF, &r), MM_EINVAL);
    assert_int_equal(mm_index_find(ix, "x", 0, "2025-13-01", &r), MM_EINVAL);
    mm_index_free(ix);
}

struct ref {
    const char *id, *kana;
    char *nk, *kk;
    int rank;
};

static int cmp_ref(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    int c = x->rank - y->rank;

    if (c == 0)
        c = strcmp(x->kk, y->kk);
    return c ? c : strcmp(x->id, y->id);
}

/* Differential: name search against a substring scan over the truth, order included. */
static void find__names_equal_a_naive_scan(void **state)
{
    size_t np = json_array_size(fx.s.patients);
    struct ref *all = calloc(np, sizeof(*all)), *want = calloc(np, sizeof(*want));
    mm_index *ix = open_ro();
    uint64_t rng = 0x9E3779B97F4A7C15ull;

    (void)state;
    for (size_t i = 0; i < np; i++) {
        all[i].id = jstr(patient_of(i), "id");
        all[i].kana = jstr(patient_of(i), "kana");
        all[i].nk = key_of(jstr(patient_of(i), "name"));
        all[i].kk = key_of(all[i].kana);
    }
    for (int t = 0; t < 400; t++) {
        struct mm_index_results r = { 0 };
        struct mm_index_query q;
        json_t *p;
        const char *src, *s;
        char frag[64];
        size_t len, skip, nw = 0;

        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        p = patient_of(rng % np);
        src = jstr(p, (rng >> 20) & 1 ? "name" : "kana");
        skip = (rng >> 24) % 4;
        len = 1 + (rng >> 28) % 3;
        s = src;
        for (size_t k = 0; k < skip && *s; k++)
            u8(&s);
        if (!*s)
            s = src;
        prefix_chars(s, len, frag);
        if (mm_index_query_parse(&q, frag) != 0)
            continue; /* only a space */
        for (size_t i = 0; i < np; i++) {
            if (!strstr(all[i].nk, q.name) && !strstr(all[i].kk, q.name))
                continue;
            want[nw] = all[i];
            want[nw].rank =
                    strcmp(all[i].nk, q.name) == 0 || strcmp(all[i].kk, q.name) == 0 ? 2 : 3;
            nw++;
        }
        qsort(want, nw, sizeof(*want), cmp_ref);
        assert_int_equal(mm_index_find(ix, frag, MM_INDEX_FIND_MAX, AS_OF, &r), 0);
        if (r.n != nw)
            fail_msg("query '%s': %zu results, the scan finds %zu", frag, r.n, nw);
        for (size_t k = 0; k < nw; k++)
            assert_string_equal(r.v[k].id, want[k].id);
        mm_index_results_release(&r);
    }
    for (size_t i = 0; i < np; i++) {
        free(all[i].nk);
        free(all[i].kk);
    }
    free(all);
    free(want);
    mm_index_free(ix);
}

/* ---- summary and lab matrix ---- */

static void results_json__one_shape_with_null_for_an_unknown_age(void **state)
{
    struct mm_index_patient v[] = {
        { "P1", "\xe5\xb1\xb1\xe7\x94\xb0 \"x\"", "\xe3\x83\xa4\xe3\x83\x9e\xe3\x83\x80", "F",
          "1950-01-02", 75 },
        { "P2", "", "", "", "", -1 },
    };
    struct mm_index_results r = { .n = 2, .total = 7, .v = v };
    json_t *j, *p;
    mm_buf b;

    (void)state;
    mm_buf_init(&b, 4096);
    assert_int_equal(mm_buf_putc(&b, '{'), 0);
    assert_int_equal(mm_index_results_json(&r, &b), 0);
    assert_int_equal(mm_buf_putc(&b, '}'), 0);
    assert_non_null(j = json_loads(b.ptr, 0, NULL));
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 7);
    assert_int_equal(json_array_size(json_object_get(j, "results")), 2);
    p = json_array_get(json_object_get(j, "results"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "name")), v[0].name);
    assert_int_equal(json_integer_value(json_object_get(p, "age")), 75);
    assert_string_equal(json_string_value(json_object_get(p, "birth_date")), "1950-01-02");
    p = json_array_get(json_object_get(j, "results"), 1);
    assert_true(json_is_null(json_object_get(p, "age")));
    assert_int_equal(json_object_size(p), 6);
    json_decref(j);
    /* the exact text both callers share */
    mm_buf_clear(&b);
    r.n = 1;
    r.v = &v[1];
    assert_int_equal(mm_index_results_json(&r, &b), 0);
    assert_string_equal(b.ptr,
                        "\"results\":[{\"id\":\"P2\",\"name\":\"\",\"kana\":\"\",\"sex\":\"\","
                        "\"age\":null,\"birth_date\":\"\"}],\"total\":7");
    mm_buf_release(&b);
}

static void summary__parses_and_names_the_patient(void **state)
{
    mm_index *ix = open_ro();
    mm_buf b;

    (void)state;
    mm_buf_init(&b, MM_LIMIT_JSON);
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++) {
        json_t *p = patient_of(i), *j;
        json_error_t e;

        mm_buf_clear(&b);
        assert_int_equal(mm_index_summary(ix, jstr(p, "id"), &b), 0);
        j = json_loadb(b.ptr, b.len, 0, &e);
        if (!j)
            fail_msg("summary %zu does not parse: %s", i, e.text);
        assert_string_equal(jstr(json_object_get(j, "patient"), "id"), jstr(p, "id"));
        assert_string_equal(jstr(json_object_get(j, "patient"), "name"), jstr(p, "name"));
        assert_true(json_is_array(json_object_get(j, "labs")));
        json_decref(j);
    }
    mm_buf_clear(&b);
    assert_int_equal(mm_index_summary(ix, "no-such-patient", &b), MM_ENOTFOUND);
    assert_int_equal(b.len, 0);
    mm_buf_release(&b);
    mm_index_free(ix);
}

/* Check patient @p's matrix against the truth's labs. @return the number of labs checked */
static size_t check_matrix(mm_index *ix, json_t *entry)
{
    json_t *p = json_object_get(entry, "patient"), *labs = json_object_get(entry, "labs");
    struct mm_index_lab_matrix m = { 0 };
    size_t filled = 0, distinct = 0;

    assert_int_equal(mm_index_lab_matrix(ix, jstr(p, "id"), &m), 0);
    for (size_t i = 0; i < json_array_size(labs); i++) {
        json_t *l = json_array_get(labs, i);
        const char *code = jstr(l, "code"), *at = jstr(l, "collected_at");
        size_t t = SIZE_MAX, c = SIZE_MAX, dup = 0;

        for (size_t k = 0; k < json_array_size(labs); k++) {
            json_t *o = json_array_get(labs, k);
            dup += strcmp(jstr(o, "code"), code) == 0 && strcmp(jstr(o, "collected_at"), at) == 0;
            if (k < i && strcmp(jstr(o, "code"), code) == 0 &&
                strcmp(jstr(o, "collected_at"), at) == 0)
                dup += 100; /* seen before */
        }
        if (dup < 100)
            distinct++;
        for (size_t k = 0; k < m.ntests; k++)
            if (strcmp(m.tests[k].code, code) == 0)
                t = k;
        for (size_t k = 0; k < m.ntimes; k++)
            if (strcmp(m.times[k], at) == 0)
                c = k;
        if (t == SIZE_MAX || c == SIZE_MAX)
            fail_msg("lab %zu of a patient is not in the matrix", i);
        if (dup == 1) { /* one result at this (code, time): the cell is exactly it */
            const struct mm_index_lab_cell *cell = &m.cells[t * m.ntimes + c];
            assert_non_null(cell->value);
            assert_string_equal(cell->value, jstr(l, "value"));
            assert_string_equal(cell->flag, jstr(l, "flag"));
        }
    }
    for (size_t k = 0; k < m.ntests * m.ntimes; k++)
        filled += m.cells[k].value != NULL;
    assert_int_equal(filled, distinct);
    for (size_t k = 1; k < m.ntimes; k++)
        assert_true(strcmp(m.times[k - 1], m.times[k]) < 0);
    mm_index_lab_matrix_release(&m);
    return json_array_size(labs);
}

static void lab_matrix__has_the_truth_values(void **state)
{
    mm_index *ix = open_ro();
    struct mm_index_lab_matrix m = { 0 };
    size_t checked = 0;

    (void)state;
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++)
        checked += check_matrix(ix, json_array_get(fx.s.patients, i));
    assert_true(checked > 500);
    assert_int_equal(mm_index_lab_matrix(ix, "no-such-patient", &m), MM_ENOTFOUND);
    assert_null(m.cells);
    mm_index_free(ix);
}

/* ---- building modes ---- */

static void demographics__agree_with_the_full_index(void **state)
{
    struct mm_index_build_opts o = { 0 };
    struct mm_index_build_stats st;
    mm_index *full = open_ro(), *demo = NULL;
    size_t np = json_array_size(fx.s.patients);

    (void)state;
    assert_int_equal(mm_index_create(&demo, ":memory:"), 0);
    o.flags = MM_INDEX_DEMOGRAPHICS;
    assert_int_equal(mm_index_build(demo, fx.s.std, NULL, &o, &st), 0);
    assert_int_equal(st.patients, np);
    assert_int_equal(st.labs, 0);
    assert_int_equal(st.problems.files, np); /* one ADT-00 file per patient */
    for (size_t i = 0; i < np; i++) {
        const char *id = jstr(patient_of(i), "id");
        struct mm_index_results a = { 0 }, b = { 0 };
        struct mm_index_lab_matrix m = { 0 };

        assert_int_equal(mm_index_find(full, id, 0, AS_OF, &a), 0);
        assert_int_equal(mm_index_find(demo, id, 0, AS_OF, &b), 0);
        assert_int_equal(a.n, b.n);
        for (size_t k = 0; k < a.n; k++) {
            assert_string_equal(a.v[k].id, b.v[k].id);
            assert_string_equal(a.v[k].name, b.v[k].name);
            assert_string_equal(a.v[k].kana, b.v[k].kana);
            assert_string_equal(a.v[k].birth_date, b.v[k].birth_date);
            assert_string_equal(a.v[k].sex, b.v[k].sex);
        }
        assert_int_equal(mm_index_lab_matrix(demo, id, &m), 0);
        assert_int_equal(m.ntests, 0);
        mm_index_lab_matrix_release(&m);
        mm_index_results_release(&a);
        mm_index_results_release(&b);
    }
    /* an ID prefix reads only the folders it matches */
    o.id_prefix = jstr(patient_of(0), "id");
    assert_int_equal(mm_index_build(demo, fx.s.std, NULL, &o, &st), 0);
    assert_int_equal(st.patients, 1);
    mm_index_free(demo);
    mm_index_free(full);
}

static void bytes__round_trip(void **state)
{
    mm_index *ix = open_ro(), *copy = NULL;
    struct mm_index_results r = { 0 };
    mm_buf b, s1, s2;
    const char *id = jstr(patient_of(3), "id");

    (void)state;
    mm_buf_init(&b, 1u << 30);
    mm_buf_init(&s1, MM_LIMIT_JSON);
    mm_buf_init(&s2, MM_LIMIT_JSON);
    assert_int_equal(mm_index_to_bytes(ix, &b), 0);
    assert_int_equal(mm_index_from_bytes(&copy, b.ptr, b.len), 0);
    assert_int_equal(mm_index_find(copy, id, 0, AS_OF, &r), 0);
    assert_string_equal(r.v[0].id, id);
    mm_index_results_release(&r);
    assert_int_equal(mm_index_summary(ix, id, &s1), 0);
    assert_int_equal(mm_index_summary(copy, id, &s2), 0);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.ptr, s2.ptr, s1.len);
    mm_index_free(copy);
    copy = NULL;
    memset(b.ptr, 'x', 100); /* the header is gone */
    assert_int_equal(mm_index_from_bytes(&copy, b.ptr, b.len), MM_ECORRUPT);
    assert_null(copy);
    assert_int_equal(mm_index_from_bytes(&copy, "tiny", 4), MM_ECORRUPT);
    mm_buf_release(&b);
    mm_buf_release(&s1);
    mm_buf_release(&s2);
    mm_index_free(ix);
}

/* @a and @b give patient @id the same summary and lab matrix, cell by cell. */
static void same_patient(mm_index *a, mm_index *b, const char *id)
{
    struct mm_index_lab_matrix la = { 0 }, lb = { 0 };
    mm_buf s1, s2;

    mm_buf_init(&s1, MM_LIMIT_JSON);
    mm_buf_init(&s2, MM_LIMIT_JSON);
    assert_int_equal(mm_index_summary(a, id, &s1), 0);
    assert_int_equal(mm_index_summary(b, id, &s2), 0);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.ptr, s2.ptr, s1.len);
    assert_int_equal(mm_index_lab_matrix(a, id, &la), 0);
    assert_int_equal(mm_index_lab_matrix(b, id, &lb), 0);
    assert_int_equal(la.ntests, lb.ntests);
    assert_int_equal(la.ntimes, lb.ntimes);
    for (size_t k = 0; k < la.ntests * la.ntimes; k++)
        assert_true((!la.cells[k].value && !lb.cells[k].value) ||
                    (la.cells[k].value && lb.cells[k].value &&
                     strcmp(la.cells[k].value, lb.cells[k].value) == 0));
    mm_index_lab_matrix_release(&la);
    mm_index_lab_matrix_release(&lb);
    mm_buf_release(&s1);
    mm_buf_release(&s2);
}

/* A source of index pages for mm_index_open_pages: bytes in memory, counted, made to fail. */
struct page_src {
    const unsigned char *p;
    size_t n;
    size_t calls, bytes;
    int fail;
};

static int page_src_read(void *ctx, void *dst, size_t n, uint64_t off)
{
    struct page_src *s = ctx;

    assert_true(off <= s->n && n <= s->n - off); /* never asked past the end */
    s->calls++;
    s->bytes += n;
    if (s->fail)
        return mm_error_set(MM_EIO, "page source fails");
    memcpy(dst, s->p + off, n);
    return 0;
}

/*
 * Many connections read one source at once (the viewer's eight per generation), with the
 * file index's answers; the bytes are only read (a read-only mapping: any write would crash
 * the test) and never change.
 */
static void open_pages__many_connections_one_source(void **state)
{
    mm_index *ix = open_ro(), *m1 = NULL, *m2 = NULL;
    struct mm_index_results r = { 0 };
    struct page_src src = { 0 };
    mm_buf b, ids;
    const char *id = jstr(patient_of(5), "id");
    unsigned char *ro;
    size_t n = 0;

    (void)state;
    mm_buf_init(&b, 1u << 30);
    mm_buf_init(&ids, MM_LIMIT_JSON);
    assert_int_equal(mm_index_to_bytes(ix, &b), 0);
    ro = mmap(NULL, b.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(ro != MAP_FAILED);
    memcpy(ro, b.ptr, b.len);
    assert_int_equal(mprotect(ro, b.len, PROT_READ), 0);
    src.p = ro;
    src.n = b.len;
    assert_int_equal(mm_index_open_pages(&m1, page_src_read, &src, b.len), 0);
    assert_int_equal(mm_index_open_pages(&m2, page_src_read, &src, b.len), 0);
    assert_int_equal(mm_index_find(m1, id, 0, AS_OF, &r), 0);
    assert_string_equal(r.v[0].id, id);
    mm_index_results_release(&r);
    assert_int_equal(mm_index_find(m2, jstr(patient_of(5), "kana"), 0, AS_OF, &r), 0);
    assert_true(find_in(&r, id) >= 0);
    mm_index_results_release(&r);
    same_patient(ix, m2, id);
    same_patient(ix, m1, id);
    assert_int_equal(mm_index_patient_ids(m1, &ids, &n), 0);
    assert_int_equal(n, json_array_size(fx.s.patients));
    assert_true(strlen((const char *)ids.ptr) > 0);
    mm_index_free(m1);
    mm_index_free(m2);
    assert_memory_equal(ro, b.ptr, b.len);
    munmap(ro, b.len);
    mm_buf_release(&b);
    mm_buf_release(&ids);
    mm_index_free(ix);
}

/*
 * mm_index_open_pages: every patient's summary, lab matrix and search answers equal the file
 * index's, read through the caller's function page by page (a one-patient query reads a few
 * pages, not the index); a failing source fails the query with an error and the index works
 * again once the source does; writes are refused; damage and short sources are refused.
 */
static void open_pages__reads_through_the_source_on_demand(void **state)
{
    mm_index *ix = open_ro(), *m = NULL;
    struct page_src src = { 0 };
    mm_buf b, s2, ids;
    size_t n = 0, before;
    const char *id0 = jstr(patient_of(0), "id");

    (void)state;
    mm_buf_init(&b, 1u << 30);
    mm_buf_init(&s2, MM_LIMIT_JSON);
    mm_buf_init(&ids, MM_LIMIT_JSON);
    assert_int_equal(mm_index_to_bytes(ix, &b), 0);
    src.p = (const unsigned char *)b.ptr;
    src.n = b.len;
    assert_int_equal(mm_index_open_pages(&m, page_src_read, &src, b.len), 0);
    before = src.bytes;
    assert_int_equal(mm_index_summary(m, id0, &s2), 0);
    assert_true(src.bytes - before < b.len / 4); /* one patient: a few pages */
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++) {
        const char *id = jstr(patient_of(i), "id");
        struct mm_index_results r = { 0 };
        same_patient(ix, m, id);
        assert_int_equal(mm_index_find(m, jstr(patient_of(i), "kana"), 0, AS_OF, &r), 0);
        assert_true(find_in(&r, id) >= 0);
        mm_index_results_release(&r);
    }
    assert_int_equal(mm_index_patient_ids(m, &ids, &n), 0);
    assert_int_equal(n, json_array_size(fx.s.patients));
    /* the source fails: an error, no crash; then it reads again */
    mm_index_free(m);
    m = NULL;
    assert_int_equal(mm_index_open_pages(&m, page_src_read, &src, b.len), 0);
    src.fail = 1;
    mm_buf_clear(&s2);
    assert_int_not_equal(mm_index_summary(m, jstr(patient_of(1), "id"), &s2), 0);
    src.fail = 0;
    mm_buf_clear(&s2);
    assert_int_equal(mm_index_summary(m, jstr(patient_of(1), "id"), &s2), 0);
    /* read-only */
    assert_int_not_equal(mm_index_update(m, fx.s.std, fx.s.ext, &id0, 1, NULL, NULL), 0);
    mm_index_free(m);
    /* refused: a source failing from the start, too few bytes, a broken header */
    m = NULL;
    src.fail = 1;
    assert_int_not_equal(mm_index_open_pages(&m, page_src_read, &src, b.len), 0);
    assert_null(m);
    src.fail = 0;
    assert_int_equal(mm_index_open_pages(&m, page_src_read, &src, 100), MM_ECORRUPT);
    assert_null(m);
    memset(b.ptr, 'x', 100);
    assert_int_equal(mm_index_open_pages(&m, page_src_read, &src, b.len), MM_ECORRUPT);
    assert_null(m);
    mm_buf_release(&b);
    mm_buf_release(&s2);
    mm_buf_release(&ids);
    mm_index_free(ix);
}

/* The IDs a find answers, in order, one per line (malloc'd). */
static char *found_ids(mm_index *ix, const char *q)
{
    struct mm_index_results r = { 0 };
    mm_buf b;

    mm_buf_init(&b, 1u << 20);
    if (mm_index_find(ix, q, 0, AS_OF, &r) != 0)
        fail_msg("find '%s': %s", q, mm_error_last());
    for (size_t i = 0; i < r.n; i++)
        assert_int_equal(mm_buf_printf(&b, "%s\n", r.v[i].id), 0);
    mm_index_results_release(&r);
    assert_int_equal(mm_buf_putc(&b, 0), 0);
    return mm_buf_detach(&b);
}

#define THREAD_QUERIES 40

struct finder {
    pthread_t t;
    mm_index *ix;
    const char *const *q;
    char *const *want; /* found_ids of each query, alone */
    int bad;
};

static void *finder_main(void *arg)
{
    struct finder *f = arg;

    for (int round = 0; round < 25; round++)
        for (size_t k = 0; k < THREAD_QUERIES; k++) {
            struct mm_index_results r = { 0 };
            size_t i = 0;
            const char *w = f->want[k];
            if (mm_index_find(f->ix, f->q[k], 0, AS_OF, &r) != 0) {
                f->bad++;
                continue;
            }
            for (; i < r.n; i++) { /* the same IDs in the same order */
                size_t len = strlen(r.v[i].id);
                if (strncmp(w, r.v[i].id, len) != 0 || w[len] != '\n')
                    break;
                w += len + 1;
            }
            f->bad += i != r.n || *w != '\0';
            mm_index_results_release(&r);
        }
    return NULL;
}

/*
 * Finds run at once on two indexes of different patients (the viewer's generations), each
 * on its own thread, answer each query as they do alone: many hits sorted on each thread
 * with its own index's rows.
 */
static void find__threads_on_two_indexes_answer_as_alone(void **state)
{
    mm_index *fix = open_ro(), *half = NULL, *m[2] = { NULL, NULL };
    struct page_src src[2] = { { 0 }, { 0 } };
    const char *q[THREAD_QUERIES];
    char qs[THREAD_QUERIES][64], *want[2][THREAD_QUERIES];
    const char **ids = NULL;
    size_t np = json_array_size(fx.s.patients);
    struct finder f[2];
    mm_buf b[2];

    (void)state;
    assert_true(np >= 2 * THREAD_QUERIES);
    assert_non_null(ids = calloc(np / 2, sizeof(*ids)));
    for (size_t i = 0; i < np / 2; i++)
        ids[i] = jstr(patient_of(i), "id");
    assert_int_equal(mm_index_create(&half, ":memory:"), 0);
    assert_int_equal(mm_index_update(half, fx.s.std, fx.s.ext, ids, np / 2, NULL, NULL), 0);
    for (int k = 0; k < 2; k++) {
        mm_buf_init(&b[k], 1u << 30);
        assert_int_equal(mm_index_to_bytes(k ? half : fix, &b[k]), 0);
        src[k].p = (const unsigned char *)b[k].ptr;
        src[k].n = b[k].len;
        assert_int_equal(mm_index_open_pages(&m[k], page_src_read, &src[k], b[k].len), 0);
    }
    /* broad queries: one kana character, ID prefixes, so most answers have many hits */
    for (size_t i = 0; i < THREAD_QUERIES; i++) {
        if (i % 2)
            prefix_chars(jstr(patient_of(i), "kana"), 1, qs[i]);
        else
            snprintf(qs[i], sizeof(qs[i]), "%.4s", jstr(patient_of(i), "id"));
        q[i] = qs[i];
        for (int k = 0; k < 2; k++)
            want[k][i] = found_ids(m[k], q[i]);
    }
    for (int k = 0; k < 2; k++) {
        f[k] = (struct finder){ .ix = m[k], .q = q, .want = want[k] };
        assert_int_equal(pthread_create(&f[k].t, NULL, finder_main, &f[k]), 0);
    }
    for (int k = 0; k < 2; k++) {
        pthread_join(f[k].t, NULL);
        assert_int_equal(f[k].bad, 0);
    }
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < THREAD_QUERIES; i++)
            free(want[k][i]);
        mm_index_free(m[k]);
        mm_buf_release(&b[k]);
    }
    free(ids);
    mm_index_free(half);
    mm_index_free(fix);
}

/* Both results alike: counts, order, every field. */
static void results_equal(const struct mm_index_results *a, const struct mm_index_results *b,
                          const char *query)
{
    if (a->n != b->n || a->total != b->total)
        fail_msg("query '%s': %zu/%zu results in SQL, %zu/%zu in memory", query, a->n, a->total,
                 b->n, b->total);
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].id, b->v[i].id) || strcmp(a->v[i].name, b->v[i].name) ||
            strcmp(a->v[i].kana, b->v[i].kana) || strcmp(a->v[i].sex, b->v[i].sex) ||
            strcmp(a->v[i].birth_date, b->v[i].birth_date) || a->v[i].age != b->v[i].age)
            fail_msg("query '%s': result %zu differs ('%s' against '%s')", query, i, a->v[i].id,
                     b->v[i].id);
}

/*
 * A read-only index of pages finds without SQL (its patient rows in memory, matched in C): a
 * differential
 * test against the SQL of the file index over every patient's ID, ID prefixes, birth date,
 * name and kana fragments (kanji, katakana, hiragana), whole names, and strings that span
 * the name and the kana or two patients (found by neither).
 */
static void find__in_memory_equals_sql(void **state)
{
    mm_index *fix = open_ro(), *mix = NULL;
    struct page_src src = { 0 };
    mm_buf b;
    size_t queries = 0;

    (void)state;
    mm_buf_init(&b, 1u << 30);
    assert_int_equal(mm_index_to_bytes(fix, &b), 0);
    src.p = (const unsigned char *)b.ptr;
    src.n = b.len;
    assert_int_equal(mm_index_open_pages(&mix, page_src_read, &src, b.len), 0);
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++) {
        json_t *p = patient_of(i), *next = patient_of((i + 1) % json_array_size(fx.s.patients));
        const char *id = jstr(p, "id"), *name = jstr(p, "name"), *kana = jstr(p, "kana");
        char q[11][300], hira[300];
        size_t nq = 0;
        snprintf(q[nq++], sizeof(q[0]), "%s", id);
        snprintf(q[nq++], sizeof(q[0]), "%.*s", (int)(i % 8) + 1, id);
        snprintf(q[nq++], sizeof(q[0]), "%s", jstr(p, "birth_date"));
        snprintf(q[nq++], sizeof(q[0]), "%s", name);
        snprintf(q[nq++], sizeof(q[0]), "%s", kana);
        prefix_chars(kana, 2 + i % 3, q[nq++]);
        to_hiragana(kana, hira);
        prefix_chars(hira, 3, q[nq++]);
        /* the end of one patient's kana and the start of the next's name: no patient */
        snprintf(q[nq++], sizeof(q[0]), "%s%.3s", kana + strlen(kana) - 3, jstr(next, "name"));
        /* a birth year alone, and a name with a birth date or year */
        snprintf(q[nq++], sizeof(q[0]), "%.4s", jstr(p, "birth_date"));
        snprintf(q[nq++], sizeof(q[0]), "%.200s %s", hira, jstr(p, "birth_date"));
        snprintf(q[nq++], sizeof(q[0]), "%.4s %s", jstr(next, "birth_date"), name);
        for (size_t k = 0; k < nq; k++) {
            struct mm_index_results a = { 0 }, c = { 0 };
            if (mm_index_query_parse(&(struct mm_index_query){ 0 }, q[k]) < 0)
                continue;
            assert_int_equal(mm_index_find(fix, q[k], 10, AS_OF, &a), 0);
            assert_int_equal(mm_index_find(mix, q[k], 10, AS_OF, &c), 0);
            results_equal(&a, &c, q[k]);
            mm_index_results_release(&a);
            mm_index_results_release(&c);
            queries++;
        }
    }
    assert_true(queries > 5 * json_array_size(fx.s.patients));
    mm_index_free(mix);
    mm_buf_release(&b);
    mm_index_free(fix);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void open__refuses_what_is_not_an_index(void **state)
{
    char path[400];
    unsigned char junk[8192];
    sqlite3 *db = NULL;
    mm_index *ix = NULL;

    (void)state;
    snprintf(path, sizeof(path), "%s/not-an-index", fx.s.dir);
    assert_int_equal(mm_index_open(&ix, path, 0), MM_ENOTFOUND);
    write_file(path, "", 0);
    assert_int_equal(mm_index_open(&ix, path, 0), MM_ECORRUPT);
    write_file(path, "{\"patients\":[]}\n", 16);
    assert_int_equal(mm_index_open(&ix, path, 0), MM_ECORRUPT);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(i * 7 + 3);
    write_file(path, junk, sizeof(junk));
    assert_int_equal(mm_index_open(&ix, path, 0), MM_ECORRUPT);
    /* an SQLite database of someone else */
    unlink(path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE meta(key, value)", NULL, NULL, NULL), 0);
    sqlite3_close(db);
    assert_int_equal(mm_index_open(&ix, path, 0), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "not a mamori index"));
    /* ours, from a newer mamori */
    unlink(path);
    assert_int_equal(mm_index_create(&ix, path), 0);
    assert_int_equal(mm_index_commit(ix), 0);
    mm_index_free(ix);
    ix = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), 0);
    sqlite3_close(db);
    assert_int_equal(mm_index_open(&ix, path, 0), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "version 99"));
    assert_null(ix);
    /* a folder */
    assert_int_equal(mm_index_open(&ix, fx.s.dir, 0), MM_ECORRUPT);
    unlink(path);
}

static void create__is_crash_safe(void **state)
{
    char path[400], tmp[420];
    struct stat sb;
    mm_index *ix = NULL;
    struct mm_index_results r = { 0 };

    (void)state;
    snprintf(path, sizeof(path), "%s/crash.db", fx.s.dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    /* an uncommitted build leaves nothing under either name */
    assert_int_equal(mm_index_create(&ix, path), 0);
    assert_int_equal(mm_index_build(ix, fx.s.std, NULL, NULL, NULL), 0);
    assert_int_equal(stat(path, &sb), -1);
    assert_int_equal(stat(tmp, &sb), 0);
    mm_index_free(ix);
    assert_int_equal(stat(tmp, &sb), -1);
    assert_int_equal(stat(path, &sb), -1);
    /* a stale temporary file is replaced; the old index stays until the commit */
    write_file(tmp, "stale", 5);
    write_file(path, "old", 3);
    assert_int_equal(mm_index_create(&ix, path), 0);
    assert_int_equal(mm_index_build(ix, fx.s.std, NULL, NULL, NULL), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 3);
    assert_int_equal(mm_index_commit(ix), 0);
    assert_int_equal(stat(tmp, &sb), -1);
    /* still usable after the commit, but no longer writable */
    assert_int_equal(mm_index_find(ix, jstr(patient_of(0), "id"), 0, AS_OF, &r), 0);
    assert_int_equal(r.n, 1);
    mm_index_results_release(&r);
    assert_int_equal(mm_index_update(ix, fx.s.std, NULL, NULL, 0, NULL, NULL), MM_EINVAL);
    mm_index_free(ix);
    ix = NULL;
    /* a read-only index refuses to build */
    assert_int_equal(mm_index_open(&ix, path, 0), 0);
    assert_int_equal(mm_index_build(ix, fx.s.std, NULL, NULL, NULL), MM_EINVAL);
    mm_index_free(ix);
    ix = NULL;
    /* a storage that is not there */
    assert_int_equal(mm_index_create(&ix, ":memory:"), 0);
    assert_int_equal(mm_index_build(ix, "/nonexistent/storage", NULL, NULL, NULL), MM_ENOTFOUND);
    mm_index_free(ix);
    unlink(path);
}

/* ---- allocation failure ---- */

static void find__survives_allocation_failure(void **state)
{
    mm_index *ix = open_ro();
    const char *queries[] = { jstr(patient_of(1), "kana"), jstr(patient_of(2), "id"), "1000" };
    struct mm_index_results want = { 0 }, r = { 0 };
    long k;
    int rc;

    (void)state;
    for (size_t q = 0; q < 3; q++) {
        assert_int_equal(mm_index_find(ix, queries[q], 0, AS_OF, &want), 0);
        for (int sticky = 0; sticky < 2; sticky++) {
            for (k = 1;; k++) {
                mm_alloc_fail_at(k, sticky);
                rc = mm_index_find(ix, queries[q], 0, AS_OF, &r);
                mm_alloc_fail_at(0, 0);
                if (rc == 0)
                    break;
                assert_int_equal(rc, MM_ENOMEM);
                assert_int_equal(r.n, 0);
                assert_null(r.mem_);
            }
            assert_true(k > 2);
            assert_int_equal(r.n, want.n);
            assert_int_equal(r.total, want.total);
            for (size_t i = 0; i < r.n; i++)
                assert_string_equal(r.v[i].id, want.v[i].id);
            mm_index_results_release(&r);
        }
        mm_index_results_release(&want);
    }
    mm_index_free(ix);
}

static void summary_and_matrix__survive_allocation_failure(void **state)
{
    mm_index *ix = open_ro();
    const char *id = NULL;
    struct mm_index_lab_matrix m = { 0 };
    mm_buf b;
    long k;
    int rc;

    (void)state;
    for (size_t i = 0; i < json_array_size(fx.s.patients) && !id; i++)
        if (json_array_size(json_object_get(json_array_get(fx.s.patients, i), "labs")) > 20)
            id = jstr(patient_of(i), "id");
    assert_non_null(id);
    for (k = 1;; k++) {
        mm_buf_init(&b, MM_LIMIT_JSON);
        mm_alloc_fail_at(k, 0);
        rc = mm_index_summary(ix, id, &b);
        mm_alloc_fail_at(0, 0);
        mm_buf_release(&b);
        if (rc == 0)
            break;
        assert_int_equal(rc, MM_ENOMEM);
    }
    for (k = 1;; k++) {
        mm_alloc_fail_at(k, 0);
        rc = mm_index_lab_matrix(ix, id, &m);
        mm_alloc_fail_at(0, 0);
        if (rc == 0)
            break;
        assert_int_equal(rc, MM_ENOMEM);
        assert_null(m.mem_);
    }
    assert_true(k > 5);
    assert_true(m.ntests > 0);
    mm_index_lab_matrix_release(&m);
    mm_index_free(ix);
}

/* ---- update from a change set ---- */

struct snap {
    char **v; /* "relpath mtime size" */
    size_t n, cap;
};

static struct snap *snap_cur;
static size_t snap_root;

static int snap_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    char line[MM_LIMIT_PATH + 64];

    (void)ftw;
    if (flag != FTW_F)
        return 0;
    if (snap_cur->n == snap_cur->cap) {
        snap_cur->cap = snap_cur->cap ? snap_cur->cap * 2 : 4096;
        snap_cur->v = realloc(snap_cur->v, snap_cur->cap * sizeof(char *));
    }
    snprintf(line, sizeof(line), "%s %lld %lld", path + snap_root + 1, (long long)st->st_mtime,
             (long long)st->st_size);
    snap_cur->v[snap_cur->n++] = strdup(line);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void take_snap(struct snap *s, const char *root)
{
    memset(s, 0, sizeof(*s));
    snap_cur = s;
    snap_root = strlen(root);
    assert_int_equal(nftw(root, snap_cb, 32, FTW_PHYS), 0);
    qsort(s->v, s->n, sizeof(char *), cmp_str);
}

static void free_snap(struct snap *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

/* Add the patient ID (third level) of "@line" to @ids unless there. */
static void add_pid(char ***ids, size_t *n, const char *line)
{
    char pid[MM_LIMIT_PATIENT_ID + 1];
    const char *p = line;

    for (int l = 0; l < 2; l++)
        p = strchr(p, '/') + 1;
    snprintf(pid, sizeof(pid), "%.*s", (int)(strchr(p, '/') - p), p);
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*ids)[i], pid) == 0)
            return;
    *ids = realloc(*ids, (*n + 1) * sizeof(char *));
    (*ids)[(*n)++] = strdup(pid);
}

static size_t labs_of(const char *id)
{
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++)
        if (strcmp(jstr(patient_of(i), "id"), id) == 0)
            return json_array_size(json_object_get(json_array_get(fx.s.patients, i), "labs"));
    return 0;
}

static void update__picks_up_the_changed_patients(void **state)
{
    struct snap before, after;
    struct gen_opts o = { 0 };
    struct mm_index_build_stats st;
    char **ids = NULL, fresh[400];
    size_t nids = 0, grew = 0, np_before = json_array_size(fx.s.patients);
    size_t *labs_before = NULL;
    mm_index *ix = NULL, *ref = NULL;
    mm_buf a, b;

    (void)state;
    take_snap(&before, fx.s.std);
    o.out = fx.s.dir;
    o.days = 1;
    o.truth = fx.s.truth;
    o.threads = 2;
    labs_before = calloc(np_before + 1, sizeof(size_t));
    for (size_t i = 0; i < np_before; i++)
        labs_before[i] = json_array_size(json_object_get(json_array_get(fx.s.patients, i), "labs"));
    {
        char **old_ids = calloc(np_before, sizeof(char *));
        for (size_t i = 0; i < np_before; i++)
            old_ids[i] = strdup(jstr(patient_of(i), "id"));
        /* advance a day at a time until some patient has new lab results */
        for (int day = 0; day < 10 && grew == 0; day++) {
            if (gen_advance(&o, NULL) != 0)
                fail_msg("advance: %s", mm_error_last());
            assert_int_equal(test_storage_load_truth(&fx.s), 0);
            for (size_t i = 0; i < np_before; i++)
                grew += labs_of(old_ids[i]) > labs_before[i];
        }
        for (size_t i = 0; i < np_before; i++)
            free(old_ids[i]);
        free(old_ids);
    }
    assert_true(grew > 0);
    take_snap(&after, fx.s.std);
    /* the change set: every file added, removed, renamed or rewritten */
    for (size_t i = 0, k = 0; i < before.n || k < after.n;) {
        int c = i == before.n ? 1 : k == after.n ? -1 : strcmp(before.v[i], after.v[k]);
        if (c == 0) {
            i++;
            k++;
        } else if (c < 0) {
            add_pid(&ids, &nids, before.v[i++]);
        } else {
            add_pid(&ids, &nids, after.v[k++]);
        }
    }
    assert_true(nids > 0 && nids < json_array_size(fx.s.patients));
    assert_int_equal(mm_index_open(&ix, fx.db, MM_INDEX_OPEN_WRITE), 0);
    assert_int_equal(
            mm_index_update(ix, fx.s.std, fx.s.ext, (const char *const *)ids, nids, NULL, &st), 0);
    assert_int_equal(st.patients, nids);
    assert_int_equal(st.problems.bad, 0);
    assert_int_equal(mm_index_commit(ix), 0);
    mm_index_free(ix);
    /* the changed patients have their new labs */
    ix = open_ro();
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++)
        for (size_t k = 0; k < nids; k++)
            if (strcmp(jstr(patient_of(i), "id"), ids[k]) == 0)
                check_matrix(ix, json_array_get(fx.s.patients, i));
    /* and the whole index equals a fresh build, patient by patient */
    snprintf(fresh, sizeof(fresh), "%s/fresh.db", fx.s.dir);
    assert_int_equal(build_into(fresh, 0, &st), 0);
    assert_int_equal(mm_index_open(&ref, fresh, 0), 0);
    mm_buf_init(&a, MM_LIMIT_JSON);
    mm_buf_init(&b, MM_LIMIT_JSON);
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++) {
        const char *id = jstr(patient_of(i), "id");
        mm_buf_clear(&a);
        mm_buf_clear(&b);
        assert_int_equal(mm_index_summary(ix, id, &a), 0);
        assert_int_equal(mm_index_summary(ref, id, &b), 0);
        if (a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0)
            fail_msg("summary of patient %zu differs from a fresh build", i);
    }
    mm_buf_release(&a);
    mm_buf_release(&b);
    mm_index_free(ref);
    mm_index_free(ix);
    /* a patient whose folder is gone leaves the index */
    {
        const char *gone[] = { "9999999999" };
        struct mm_index_results r = { 0 };
        assert_int_equal(mm_index_open(&ix, fx.db, MM_INDEX_OPEN_WRITE), 0);
        assert_int_equal(mm_index_update(ix, fx.s.std, NULL, gone, 1, NULL, &st), 0);
        assert_int_equal(st.removed, 1);
        assert_int_equal(mm_index_find(ix, jstr(patient_of(0), "id"), 0, AS_OF, &r), 0);
        assert_int_equal(r.n, 1);
        mm_index_results_release(&r);
        mm_index_free(ix); /* not committed: the file is unchanged */
    }
    /* a patient "folder" that is a file, and IDs that are not IDs: counted, never named */
    {
        const char *bad[] = { "9999999998", "../etc", "" };
        char dir[400], file[420];
        snprintf(dir, sizeof(dir), "%s/999/999", fx.s.std);
        snprintf(file, sizeof(file), "%s/9999999998", dir);
        assert_int_equal(mkdir(fx.s.std, 0755) == 0 || errno == EEXIST, 1);
        snprintf(fresh, sizeof(fresh), "%s/999", fx.s.std);
        assert_int_equal(mkdir(fresh, 0755), 0);
        assert_int_equal(mkdir(dir, 0755), 0);
        write_file(file, "x", 1);
        assert_int_equal(mm_index_create(&ix, ":memory:"), 0);
        assert_int_equal(mm_index_update(ix, fx.s.std, NULL, bad, 3, NULL, &st), 0);
        assert_int_equal(st.patients, 0);
        assert_true(st.unreadable + st.removed == 3);
        for (size_t i = 0; i < st.problems.nexamples; i++) {
            assert_null(strstr(st.problems.examples[i].path, "9999999998"));
            assert_null(strstr(st.problems.examples[i].path, "999/999"));
            assert_null(strstr(st.problems.examples[i].reason, "9999999998"));
        }
        mm_index_free(ix);
        unlink(file);
        rmdir(dir);
        rmdir(fresh);
    }
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
    free(labs_before);
    free_snap(&before);
    free_snap(&after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(name_key__folds_what_people_type),
        cmocka_unit_test(query_parse__reads_ids_dates_and_names),
        cmocka_unit_test(query_parse__reads_years_and_names_with_dates),
        cmocka_unit_test(find__every_patient_by_id),
        cmocka_unit_test(find__every_patient_by_name),
        cmocka_unit_test(find__by_kanji_family_name_finds_only_that_name),
        cmocka_unit_test(find__every_patient_by_birth_date),
        cmocka_unit_test(find__id_prefix_ranks_and_caps),
        cmocka_unit_test(find__by_birth_year_and_by_name_with_date),
        cmocka_unit_test(find__names_equal_a_naive_scan),
        cmocka_unit_test(results_json__one_shape_with_null_for_an_unknown_age),
        cmocka_unit_test(summary__parses_and_names_the_patient),
        cmocka_unit_test(lab_matrix__has_the_truth_values),
        cmocka_unit_test(demographics__agree_with_the_full_index),
        cmocka_unit_test(bytes__round_trip),
        cmocka_unit_test(open_pages__many_connections_one_source),
        cmocka_unit_test(open_pages__reads_through_the_source_on_demand),
        cmocka_unit_test(find__threads_on_two_indexes_answer_as_alone),
        cmocka_unit_test(find__in_memory_equals_sql),
        cmocka_unit_test(open__refuses_what_is_not_an_index),
        cmocka_unit_test(create__is_crash_safe),
        cmocka_unit_test(find__survives_allocation_failure),
        cmocka_unit_test(summary_and_matrix__survive_allocation_failure),
        cmocka_unit_test(update__picks_up_the_changed_patients), /* last: changes the storage */
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
