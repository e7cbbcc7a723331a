/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori-gen's issue-15 order constructs: every Rp of the truth is in its current OMP-01
 * file with the HL7 JAHIS writes (RXE-3/4/7/10/19/21/27, TQ1-3 repetition 2, TQ1-6/7/9/10/
 * 11/14, RXR-2), every construct appears, and each Rp's dose_days agree with its own
 * timing (count = days, weekdays and intervals kept, taper steps back to back), judged here
 * from the HL7 fields, not from the generator's code.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "hl7/hl7.h"
#include "os/os.h"
#include "ssmix2/ssmix2.h"
#include "tools/gen/gen.h"

static char dir[128], std_root[300], truth_path[300];

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct gen_opts o = { 0 };

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/mamori-test-gen-orders-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(std_root, sizeof(std_root), "%s/standard", dir);
    snprintf(truth_path, sizeof(truth_path), "%s/truth.json", dir);
    o.out = dir;
    o.patients = 120;
    o.days = 240;
    o.seed = 15;
    o.start = 20180;
    o.truth = truth_path;
    o.threads = 2;
    return gen_create(&o, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static const char *js(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* The current OMP-01 file of @order of patient @pid, parsed (found by walking its folders). */
static char found_path[MM_LIMIT_PATH];
static const char *want_order;

static int find_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    const char *base = path + ftw->base;
    size_t n = strlen(base);

    (void)st;
    if (flag == FTW_F && strstr(base, "_OMP-01_") && strstr(base, want_order) && n > 2 &&
        strcmp(base + n - 2, "_1") == 0) {
        snprintf(found_path, sizeof(found_path), "%s", path);
        return 1;
    }
    return 0;
}

static mm_hl7_msg *order_file(const char *pid, const char *order)
{
    char pdir[MM_LIMIT_PATH];
    mm_buf raw, dec;
    mm_hl7_msg *m = NULL;
    struct mm_jis_stats jst = { 0 };

    snprintf(pdir, sizeof(pdir), "%s/%.3s/%.3s/%s", std_root, pid, pid + 3, pid);
    found_path[0] = '\0';
    want_order = order;
    nftw(pdir, find_cb, 16, FTW_PHYS);
    if (!found_path[0])
        fail_msg("no current OMP-01 file of order %s", order);
    mm_buf_init(&raw, MM_LIMIT_HL7_MESSAGE);
    mm_buf_init(&dec, MM_LIMIT_HL7_MESSAGE);
    assert_int_equal(mm_os_read_file(found_path, &raw), 0);
    assert_int_equal(mm_jis_decode(&dec, raw.ptr, raw.len, MM_JIS_STRICT, &jst), 0);
    assert_int_equal(mm_hl7_parse(&m, dec.ptr, dec.len), 0);
    mm_buf_release(&raw);
    mm_buf_release(&dec);
    return m;
}

/* The segment @id that follows ORC @orc within its line, or SIZE_MAX. */
static size_t in_line(const mm_hl7_msg *m, size_t orc, const char *id)
{
    for (size_t s = orc + 1; s < mm_hl7_segment_count(m); s++) {
        if (strcmp(mm_hl7_segment_id(m, s), "ORC") == 0)
            break;
        if (strcmp(mm_hl7_segment_id(m, s), id) == 0)
            return s;
    }
    return SIZE_MAX;
}

static int64_t day_of(const char *iso)
{
    int y, mo, d;

    assert_int_equal(sscanf(iso, "%4d-%2d-%2d", &y, &mo, &d), 3);
    /* days from civil (Howard Hinnant), enough for the dates here */
    y -= mo <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (unsigned)(mo + (mo > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* dose_days of an Rp against its own timing. */
static void check_dose_days(const json_t *rp)
{
    const json_t *dd = json_object_get(rp, "dose_days"), *pat = json_object_get(rp, "pattern");
    size_t n = json_array_size(dd);
    int64_t start = day_of(js(rp, "start")), prev = -1;

    if (json_is_true(json_object_get(rp, "prn"))) {
        assert_int_equal(n, 0);
        assert_string_equal(js(rp, "until"), "");
        return;
    }
    assert_int_equal((long)n, strtol(js(rp, "days"), NULL, 10));
    for (size_t i = 0; i < n; i++) {
        int64_t d = day_of(json_string_value(json_array_get(dd, i)));
        assert_true(d >= start && d > prev);
        if (!pat || json_is_null(pat)) {
            assert_true(d == start + (int64_t)i); /* every day from the start */
        } else if (strcmp(js(pat, "kind"), "weekdays") == 0) {
            int wd = (int)((d + 4) % 7), ok = 0; /* 1970-01-01 was a Thursday */
            size_t k;
            json_t *w;
            json_array_foreach(json_object_get(pat, "weekdays"), k, w)
            {
                ok |= json_integer_value(w) == wd;
            }
            assert_true(ok);
            assert_true(prev < 0 || d - prev <= 7);
        } else {
            json_int_t on = json_integer_value(json_object_get(pat, "on"));
            json_int_t off = json_integer_value(json_object_get(pat, "off"));
            assert_true((d - start) % (on + off) < on);
            assert_true(prev < 0 || d - prev <= off + 1);
        }
        prev = d;
    }
    assert_int_equal(day_of(js(rp, "until")), prev + 1);
}

/* Up to 4 V codes of RXE-7 equal per_timing. */
static void check_per_timing(mm_hl7_msg *m, size_t rxe, const json_t *d)
{
    const json_t *pt = json_object_get(d, "per_timing");
    size_t k;
    json_t *t;

    assert_int_equal(mm_hl7_rep_count(m, rxe, 7), json_array_size(pt));
    json_array_foreach(pt, k, t)
    {
        const char *v = mm_hl7_get(m, rxe, 7, (int)k + 1, 1, 1);
        char want[16];
        snprintf(want, sizeof(want), "V%lld%s",
                 (long long)json_integer_value(json_object_get(t, "n")), js(t, "dose"));
        assert_int_equal(strncmp(v, want, strlen(want)), 0);
        assert_int_equal(v[strlen(want)], 'N');
        assert_string_equal(mm_hl7_get(m, rxe, 7, (int)k + 1, 3, 1), "JAMISDP01");
    }
}

/* The line of Rp @rp in the file: RXE, TQ1, RXR against the truth. */
static void check_rp(mm_hl7_msg *m, const json_t *rp, const json_t *d)
{
    size_t orc = SIZE_MAX, rxe, tq1, rxr;
    const json_t *pat = json_object_get(rp, "pattern");
    char start[16];

    for (size_t s = mm_hl7_find(m, "ORC", 0); s != SIZE_MAX; s = mm_hl7_find(m, "ORC", s + 1)) {
        rxe = in_line(m, s, "RXE");
        if (strcmp(mm_hl7_get(m, s, 4, 1, 1, 1), js(rp, "rp")) == 0 &&
            strcmp(mm_hl7_get(m, rxe, 2, 1, 1, 1), js(d, "code")) == 0)
            orc = s;
    }
    assert_int_not_equal(orc, SIZE_MAX);
    rxe = in_line(m, orc, "RXE");
    tq1 = in_line(m, orc, "TQ1");
    rxr = in_line(m, orc, "RXR");
    assert_string_equal(mm_hl7_get(m, rxe, 3, 1, 1, 1), js(d, "dose"));
    assert_string_equal(mm_hl7_get(m, rxe, 4, 1, 1, 1), js(d, "dose_max"));
    assert_string_equal(mm_hl7_get(m, rxe, 10, 1, 1, 1), js(d, "dispense"));
    assert_string_equal(mm_hl7_get(m, rxe, 11, 1, 2, 1), js(d, "dispense_unit"));
    assert_string_equal(mm_hl7_get(m, rxe, 19, 1, 1, 1), js(d, "daily_dose"));
    assert_string_equal(mm_hl7_get(m, rxe, 27, 1, 1, 1), js(d, "class_code"));
    assert_int_equal(mm_hl7_rep_count(m, rxe, 21),
                     json_array_size(json_object_get(d, "dispensing")));
    if (json_array_size(json_object_get(d, "instructions")))
        assert_string_equal(
                mm_hl7_get(m, rxe, 7, 1, 2, 1),
                json_string_value(json_array_get(json_object_get(d, "instructions"), 0)));
    else
        check_per_timing(m, rxe, d);
    assert_string_equal(mm_hl7_get(m, tq1, 3, 1, 1, 1), js(rp, "usage_code"));
    assert_string_equal(mm_hl7_get(m, tq1, 3, 1, 1, 2), js(rp, "usage"));
    if (pat && !json_is_null(pat)) {
        assert_string_equal(mm_hl7_get(m, tq1, 3, 2, 1, 1), js(pat, "code"));
        assert_string_equal(mm_hl7_get(m, tq1, 3, 2, 1, 2), js(pat, "text"));
    } else {
        assert_int_equal(mm_hl7_rep_count(m, tq1, 3), 1);
    }
    assert_string_equal(mm_hl7_get(m, tq1, 6, 1, 1, 1), js(rp, "days"));
    assert_string_equal(mm_hl7_get(m, tq1, 6, 1, 2, 1), js(rp, "days_unit"));
    snprintf(start, sizeof(start), "%.4s%.2s%.2s", js(rp, "start"), js(rp, "start") + 5,
             js(rp, "start") + 8);
    assert_string_equal(mm_hl7_get(m, tq1, 7, 1, 1, 1), start);
    assert_string_equal(mm_hl7_get(m, tq1, 9, 1, 1, 1),
                        json_is_true(json_object_get(rp, "prn")) ? "PRN" : "");
    assert_string_equal(mm_hl7_get(m, tq1, 10, 1, 1, 1), js(rp, "condition"));
    assert_string_equal(mm_hl7_get(m, tq1, 11, 1, 1, 1), js(rp, "tq_text"));
    assert_string_equal(mm_hl7_get(m, tq1, 14, 1, 1, 1), js(rp, "total"));
    assert_string_equal(mm_hl7_get(m, rxr, 1, 1, 1, 1), js(rp, "route"));
    assert_true(strcmp(mm_hl7_get(m, rxr, 2, 1, 2, 1), js(rp, "site")) == 0 ||
                strcmp(mm_hl7_get(m, rxr, 2, 1, 1, 1), js(rp, "site")) == 0);
}

enum { C_UNEQUAL, C_WEEKDAYS, C_INTERVAL, C_TAPER, C_PRN, C_SITE, C_INSTR, C_CRUSH, C_N };

/* Which constructs an Rp shows. OUT: count */
static void tally(const json_t *rp, const json_t *d, size_t *count)
{
    const json_t *pat = json_object_get(rp, "pattern"), *step = json_object_get(rp, "step");
    size_t k;
    json_t *x;

    count[C_UNEQUAL] += json_array_size(json_object_get(d, "per_timing")) > 0;
    count[C_WEEKDAYS] += pat && !json_is_null(pat) && strcmp(js(pat, "kind"), "weekdays") == 0;
    count[C_INTERVAL] += pat && !json_is_null(pat) && strcmp(js(pat, "kind"), "interval") == 0;
    count[C_TAPER] +=
            step && !json_is_null(step) && json_integer_value(json_object_get(step, "n")) == 1;
    count[C_PRN] += json_is_true(json_object_get(rp, "prn"));
    count[C_SITE] += js(rp, "site")[0] != '\0';
    count[C_INSTR] += json_array_size(json_object_get(d, "instructions")) > 0;
    json_array_foreach(json_object_get(d, "dispensing"), k, x)
    {
        count[C_CRUSH] += strcmp(json_string_value(x), "粉砕") == 0;
    }
}

/* Taper steps of one order are back to back: step n+1 starts on step n's until. */
static void check_steps(const json_t *rps)
{
    size_t i;
    json_t *rp;
    const char *until = NULL;

    json_array_foreach(rps, i, rp)
    {
        const json_t *step = json_object_get(rp, "step");
        if (!step || json_is_null(step))
            continue;
        if (json_integer_value(json_object_get(step, "n")) > 1) {
            assert_non_null(until);
            assert_string_equal(js(rp, "start"), until);
            assert_string_equal(
                    js(json_array_get(json_object_get(rp, "drugs"), 0), "code"),
                    js(json_array_get(json_object_get(json_array_get(rps, i - 1), "drugs"), 0),
                       "code"));
        }
        until = js(rp, "until");
    }
}

static void orders__every_construct_is_in_the_files_as_the_truth_says(void **state)
{
    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr), *pt, *o, *rp, *d;
    size_t i, j, k, l, count[C_N] = { 0 }, special = 0, rps = 0;

    (void)state;
    if (!truth)
        fail_msg("truth does not load: %s", jerr.text);
    json_array_foreach(json_object_get(truth, "patients"), i, pt)
    {
        const char *pid = js(json_object_get(pt, "patient"), "id");
        json_array_foreach(json_object_get(pt, "prescriptions"), j, o)
        {
            mm_hl7_msg *m = NULL;
            size_t before = count[C_UNEQUAL] + count[C_WEEKDAYS] + count[C_INTERVAL] +
                            count[C_TAPER] + count[C_PRN] + count[C_SITE] + count[C_INSTR] +
                            count[C_CRUSH];
            check_steps(json_object_get(o, "rps"));
            json_array_foreach(json_object_get(o, "rps"), k, rp)
            {
                rps++;
                check_dose_days(rp);
                json_array_foreach(json_object_get(rp, "drugs"), l, d) tally(rp, d, count);
            }
            if (count[C_UNEQUAL] + count[C_WEEKDAYS] + count[C_INTERVAL] + count[C_TAPER] +
                        count[C_PRN] + count[C_SITE] + count[C_INSTR] + count[C_CRUSH] ==
                before)
                continue; /* plain: test_gen checks those */
            special++;
            m = order_file(pid, js(o, "order_no"));
            json_array_foreach(json_object_get(o, "rps"), k, rp)
            {
                json_array_foreach(json_object_get(rp, "drugs"), l, d) check_rp(m, rp, d);
            }
            mm_hl7_free(m);
        }
    }
    /* every construct appears, and most orders stay plain */
    for (int c = 0; c < C_N; c++)
        if (count[c] < 2)
            fail_msg("construct %d appears %zu times", c, count[c]);
    assert_true(special * 4 < json_array_size(json_object_get(truth, "patients")) * 100);
    assert_true(rps > 500);
    json_decref(truth);
}

/* Injections carry TQ1-4 times and TQ1-7/8 start and end; the truth's rps say the same. */
static void orders__injection_rps_have_times_start_and_end(void **state)
{
    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr), *pt, *o;
    size_t i, j, n = 0;

    (void)state;
    assert_non_null(truth);
    json_array_foreach(json_object_get(truth, "patients"), i, pt)
    {
        json_array_foreach(json_object_get(pt, "injections"), j, o)
        {
            const json_t *rp = json_array_get(json_object_get(o, "rps"), 0);
            const char *s = js(rp, "start"), *e = js(rp, "end");
            char hhmm[8];
            assert_int_equal(strlen(s), 16);
            assert_int_equal(strlen(e), 16);
            assert_true(strcmp(s, e) < 0);
            snprintf(hhmm, sizeof(hhmm), "%s", s + 11);
            assert_string_equal(json_string_value(json_array_get(json_object_get(rp, "times"), 0)),
                                hhmm);
            assert_string_equal(
                    json_string_value(json_array_get(json_object_get(rp, "dose_days"), 0)),
                    js(o, "date"));
            assert_true(json_array_size(json_object_get(rp, "drugs")) >= 1);
            n++;
        }
    }
    assert_true(n > 20);
    json_decref(truth);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(orders__every_construct_is_in_the_files_as_the_truth_says),
        cmocka_unit_test(orders__injection_rps_have_times_start_and_end),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
