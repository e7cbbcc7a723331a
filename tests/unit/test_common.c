/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the common module: mm_buf limits (exactly at the limit, one byte over,
 * content unchanged on failure), printf growth and detach; the thread-local last
 * error (two threads); mm_log_path() redaction of standardized paths, file names,
 * extended content folders, absolute and overlong paths, and non-SS-MIX2 paths
 * left alone; and curl-style allocation-failure torture of mm_buf.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/text.h"

/* ---- mm_buf ----------------------------------------------------------------------------- */

static void buf__append_at_exact_limit(void **state)
{
    mm_buf b;

    (void)state;
    mm_buf_init(&b, 10);
    assert_int_equal(mm_buf_put(&b, "0123456789", 10), 0);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.ptr, "0123456789");
    assert_int_equal(mm_buf_put(&b, "", 0), 0);
    mm_buf_release(&b);

    mm_buf_init(&b, 10);
    assert_int_equal(mm_buf_puts(&b, "01234"), 0);
    assert_int_equal(mm_buf_puts(&b, "5678"), 0);
    assert_int_equal(mm_buf_putc(&b, '9'), 0);
    assert_string_equal(b.ptr, "0123456789");
    mm_buf_release(&b);
}

static void buf__one_over_limit_leaves_content(void **state)
{
    mm_buf b;

    (void)state;
    mm_buf_init(&b, 10);
    assert_int_equal(mm_buf_put(&b, "0123456789A", 11), MM_ELIMIT);
    assert_int_equal(b.len, 0);
    assert_true(mm_error_last()[0]);

    assert_int_equal(mm_buf_puts(&b, "0123456789"), 0);
    assert_int_equal(mm_buf_putc(&b, 'X'), MM_ELIMIT);
    assert_int_equal(mm_buf_puts(&b, "X"), MM_ELIMIT);
    assert_int_equal(mm_buf_printf(&b, "%d", 7), MM_ELIMIT);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.ptr, "0123456789");

    mm_buf_truncate(&b, 4);
    assert_int_equal(mm_buf_puts(&b, "4567890"), MM_ELIMIT);
    assert_string_equal(b.ptr, "0123");
    assert_int_equal(mm_buf_puts(&b, "456789"), 0);
    assert_string_equal(b.ptr, "0123456789");
    /* a size that would overflow len + n */
    assert_int_equal(mm_buf_put(&b, "", SIZE_MAX), MM_ELIMIT);
    assert_int_equal(mm_buf_grow(&b, SIZE_MAX - 2), MM_ELIMIT);
    assert_string_equal(b.ptr, "0123456789");
    mm_buf_release(&b);
    assert_null(b.ptr);
    assert_int_equal(b.limit, 10);
}

static void buf__printf_grows(void **state)
{
    char expect[4096];
    size_t n = 0;
    mm_buf b;

    (void)state;
    mm_buf_init(&b, sizeof(expect) - 1);
    for (int i = 0; i < 300; i++) {
        int w = snprintf(expect + n, sizeof(expect) - n, "<%d:%s>", i, i % 7 ? "ab" : "");
        assert_int_equal(mm_buf_printf(&b, "<%d:%s>", i, i % 7 ? "ab" : ""), 0);
        n += (size_t)w;
    }
    assert_int_equal(b.len, n);
    assert_string_equal(b.ptr, expect);
    assert_true(b.cap > b.len);
    assert_true(b.cap <= b.limit + 1);

    /* a formatted append that would pass the limit changes nothing */
    mm_buf_release(&b);
    mm_buf_init(&b, 8);
    assert_int_equal(mm_buf_printf(&b, "%s", "abcd"), 0);
    assert_int_equal(mm_buf_printf(&b, "%s", "efghi"), MM_ELIMIT);
    assert_string_equal(b.ptr, "abcd");
    assert_int_equal(mm_buf_printf(&b, "%s", "efgh"), 0);
    assert_string_equal(b.ptr, "abcdefgh");
    mm_buf_release(&b);
}

static void buf__detach(void **state)
{
    mm_buf b;
    char *p;

    (void)state;
    mm_buf_init(&b, 100);
    p = mm_buf_detach(&b); /* never appended: a fresh "" */
    assert_non_null(p);
    assert_string_equal(p, "");
    mm_free(p);

    assert_int_equal(mm_buf_puts(&b, "hello"), 0);
    p = mm_buf_detach(&b);
    assert_string_equal(p, "hello");
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.limit, 100);
    /* the buffer is usable again and independent of the detached content */
    assert_int_equal(mm_buf_puts(&b, "again"), 0);
    assert_string_equal(p, "hello");
    mm_free(p);
    mm_buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.ptr, "");
    mm_buf_release(&b);
}

/* Run @ops over a fresh buffer; every step either works or fails without changing it. */
static int buf_ops(void)
{
    mm_buf b;
    char *p = NULL;
    int err;

    mm_buf_init(&b, 1 << 16);
    if ((err = mm_buf_puts(&b, "first")) < 0)
        goto out;
    for (int i = 0; i < 40; i++) {
        size_t before = b.len;
        err = mm_buf_printf(&b, "%040d", i);
        if (err < 0) {
            assert_int_equal(b.len, before);
            assert_int_equal(strlen(b.ptr), before);
            goto out;
        }
    }
    if ((err = mm_buf_grow(&b, 10000)) < 0)
        goto out;
    if (!(p = mm_buf_detach(&b))) {
        err = MM_ENOMEM;
        goto out;
    }
    assert_int_equal(strncmp(p, "first", 5), 0);
    assert_int_equal(strlen(p), 5 + 40 * 40);
    mm_free(p);
    p = mm_buf_detach(&b); /* empty: allocates "" */
    if (!p) {
        err = MM_ENOMEM;
        goto out;
    }
    mm_free(p);
    err = 0;
out:
    mm_buf_release(&b);
    return err;
}

static void buf__allocation_failure_torture(void **state)
{
    long k;

    (void)state;
    for (k = 1;; k++) {
        int err;

        mm_alloc_fail_at(k, 0);
        err = buf_ops();
        if (mm_alloc_count() < k) { /* no allocation failed: the run is complete */
            assert_int_equal(err, 0);
            break;
        }
        assert_int_equal(err, MM_ENOMEM);
        assert_string_equal(mm_error_last(), "out of memory");
        assert_true(k < 1000);
    }
    mm_alloc_fail_at(0, 0);
    assert_true(k > 3);

    /* sticky: everything after the first failure fails too */
    mm_alloc_fail_at(1, 1);
    assert_int_equal(buf_ops(), MM_ENOMEM);
    mm_alloc_fail_at(0, 0);
}

static void alloc__live_count_is_exact(void **state)
{
    char *a, *b, *c, *d;
    mm_buf buf;

    (void)state;
    a = mm_malloc(10); /* before tracking: never counted, never to be freed while tracking */
    assert_non_null(a);
    mm_alloc_track(1);
    assert_int_equal(mm_alloc_live(), 0);
    b = mm_calloc(3, 7);
    c = mm_strdup("abc");
    d = mm_realloc(NULL, 5); /* a fresh allocation */
    assert_true(b && c && d);
    assert_int_equal(mm_alloc_live(), 3);
    d = mm_realloc(d, 5000); /* moved or not, still one */
    assert_non_null(d);
    assert_int_equal(mm_alloc_live(), 3);
    mm_alloc_fail_at(1, 1);
    assert_null(mm_malloc(1));     /* a failed allocation is not live */
    assert_null(mm_realloc(d, 1)); /* nor does a failed realloc free */
    mm_alloc_fail_at(0, 0);
    assert_int_equal(mm_alloc_live(), 3);
    mm_free(NULL);
    mm_free(b);
    mm_free(c);
    assert_int_equal(mm_alloc_live(), 1);
    mm_buf_init(&buf, 1 << 20); /* the buffers count through the same functions */
    assert_int_equal(mm_buf_printf(&buf, "%0900d", 1), 0);
    assert_int_equal(mm_alloc_live(), 2);
    mm_buf_release(&buf);
    mm_free(d);
    assert_int_equal(mm_alloc_live(), 0); /* a leak would leave it above 0 */
    mm_alloc_track(0);
    mm_free(a); /* not tracking: not counted */
    assert_int_equal(mm_alloc_live(), 0);
}

/* ---- mm_error -------------------------------------------------------------------------- */

struct thread_arg {
    pthread_barrier_t *barrier;
    const char *msg;
    char seen[64];
    int code;
};

static void *error_thread(void *p)
{
    struct thread_arg *a = p;

    a->code = mm_error_set(MM_ECORRUPT, "%s", a->msg);
    pthread_barrier_wait(a->barrier); /* both threads have set their message */
    snprintf(a->seen, sizeof(a->seen), "%s", mm_error_last());
    pthread_barrier_wait(a->barrier);
    return NULL;
}

static void error__thread_local(void **state)
{
    pthread_barrier_t barrier;
    struct thread_arg a = { &barrier, "message of thread a", "", 0 };
    struct thread_arg b = { &barrier, "message of thread b", "", 0 };
    pthread_t ta, tb;

    (void)state;
    mm_error_set(MM_EIO, "main thread");
    assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
    assert_int_equal(pthread_create(&ta, NULL, error_thread, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, error_thread, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    assert_int_equal(a.code, MM_ECORRUPT);
    assert_string_equal(a.seen, "message of thread a");
    assert_string_equal(b.seen, "message of thread b");
    assert_string_equal(mm_error_last(), "main thread");
}

static void error__set_and_clear(void **state)
{
    (void)state;
    assert_int_equal(mm_error_set(MM_ENOTFOUND, "pack '%s': missing", "ab"), MM_ENOTFOUND);
    assert_string_equal(mm_error_last(), "pack 'ab': missing");
    assert_int_equal(mm_error_set_errno(MM_EIO, 2, "cannot open '%s'", "x"), MM_EIO);
    assert_string_equal(mm_error_last(), "cannot open 'x': No such file or directory");
    mm_error_clear();
    assert_string_equal(mm_error_last(), "");
    assert_string_equal(mm_error_name(MM_ECORRUPT), "corrupt");
    assert_string_equal(mm_error_name(MM_ELIMIT), "limit");
    assert_string_equal(mm_error_name(12345), "error");
}

/* ---- mm_log_path --------------------------------------------------------------------------- */

/* Redact @in with a roomy buffer. */
static const char *red(const char *in)
{
    static char out[MM_LOG_PATH_MAX];

    return mm_log_path(out, sizeof(out), in);
}

static void log_path__standardized_paths(void **state)
{
    (void)state;
    assert_string_equal(
            red("999/901/9999013/20111220/OML-11/"
                "9999013_20111220_OML-11_000000011000354_20111220103059000_01_1"),
            "*/*/*/20111220/OML-11/*_20111220_OML-11_000000011000354_20111220103059000_01_1");
    assert_string_equal(red("999/901/9999013/-/ADT-00"), "*/*/*/-/ADT-00");
    assert_string_equal(red("999/901/9999013"), "*/*/*");
    assert_string_equal(red("012/345/0123456789/20080126/OML-11"), "*/*/*/20080126/OML-11");
    /* a file misplaced under another patient: both IDs go */
    assert_string_equal(red("000/000/0000001/20000401/ADT-31/"
                            "9999013_20110630_OMP-11_123456789012345_20110701113813225_01_1"),
                        "*/*/*/20000401/ADT-31/"
                        "*_20110630_OMP-11_123456789012345_20110701113813225_01_1");
}

static void log_path__file_names(void **state)
{
    const char *r;

    (void)state;
    assert_string_equal(red("9999013_20111220_OML-11_000000011000354_20111220103059000_01_1"),
                        "*_20111220_OML-11_000000011000354_20111220103059000_01_1");
    assert_string_equal(red("9999013_-_ADT-00_999999999999999_20111220224447339_-_1"),
                        "*_-_ADT-00_999999999999999_20111220224447339_-_1");
    /* the ID is masked wherever else it occurs in the path */
    r = red("backup/9999013-copy/9999013_-_ADT-00_999999999999999_20111220224447339_-_1");
    assert_null(strstr(r, "9999013"));
}

static void log_path__extended_content_folders(void **state)
{
    const char *r;

    (void)state;
    r = red("012/345/0123456789/20160101/L-OBSERVATIONS^OBSERVATIONS^99ZL01/"
            "0123456789_20160101_L-OBSERVATIONS^OBSERVATIONS^99ZL01_000000020160101_"
            "201601011500321_1/main_document.hl7");
    assert_string_equal(r, "*/*/*/20160101/L-OBSERVATIONS^OBSERVATIONS^99ZL01/"
                           "*_20160101_L-OBSERVATIONS^OBSERVATIONS^99ZL01_000000020160101_"
                           "201601011500321_1/main_document.hl7");
    r = red("0123456789_20160101_^経過記録^^11506-3^経過記録^LN_k.1_20160101120000123_01_1");
    assert_string_equal(r, "*_20160101_^経過記録^^11506-3^経過記録^LN_k.1_20160101120000123_01_1");
}

static void log_path__absolute_paths(void **state)
{
    (void)state;
    assert_string_equal(red("/srv/ssmix2/999/901/9999013/-/ADT-00/"
                            "9999013_-_ADT-00_999999999999999_20111220224447339_-_1"),
                        "/srv/ssmix2/*/*/*/-/ADT-00/*_-_ADT-00_999999999999999_"
                        "20111220224447339_-_1");
    assert_string_equal(red("/mnt/ss/012/345/0123456789"), "/mnt/ss/*/*/*");
    assert_string_equal(red("/"), "/");
}

static void log_path__overlong_paths(void **state)
{
    char in[3 * MM_LOG_PATH_MAX], out[64], small[8];
    size_t n = 0;

    (void)state;
    /* cut with "..." inside the buffer, never showing the ID */
    mm_log_path(out, sizeof(out),
                "999/901/9999013/20111220/OML-11/"
                "9999013_20111220_OML-11_000000011000354_20111220103059000_01_1");
    assert_true(strlen(out) < sizeof(out));
    assert_non_null(strstr(out, "..."));
    assert_null(strstr(out, "9999013"));
    assert_int_equal(strncmp(out, "*/*/*/20111220/OML-11/", 22), 0);

    /* a path longer than the output buffer allows */
    n += (size_t)snprintf(in, sizeof(in), "999/901/9999013/-");
    while (n + 20 < sizeof(in))
        n += (size_t)snprintf(in + n, sizeof(in) - n, "/9999013_-_x");
    mm_log_path(out, sizeof(out), in);
    assert_true(strlen(out) < sizeof(out));
    assert_null(strstr(out, "9999013"));

    /* deeper than the redactor can analyse: hidden whole */
    n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(in + n, sizeof(in) - n, "d%d/", i);
    snprintf(in + n, sizeof(in) - n, "9999013_-_ADT-00_999999999999999_20111220224447339_-_1");
    mm_log_path(out, sizeof(out), in);
    assert_null(strstr(out, "9999013"));

    /* tiny buffers stay terminated and still hide the ID */
    mm_log_path(small, sizeof(small), "999/901/9999013");
    assert_true(strlen(small) < sizeof(small));
    assert_null(strpbrk(small, "0123456789"));
    assert_string_equal(mm_log_path(small, sizeof(small) - 1, "999/901/9999013"), "");
    small[0] = 'x';
    mm_log_path(small, 0, "abc");
    assert_int_equal(small[0], 'x');
}

static void log_path__leaves_other_paths_alone(void **state)
{
    static const char *const keep[] = {
        "/home/user/report_final.txt",
        "relative/a_b_c",
        "/var/lib/mamori/repo/packs/ab/cd",
        "2023/12/backup.tar",
        "notes_2023_draft",
        "a/b/c/d",
        "",
        ".",
        "ssmix2/standard_root",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        assert_string_equal(red(keep[i]), keep[i]);
}

/* ---- text: the escaping of control characters (issue 17.9) ---------------------------------- */

static void text__escape_controls_c1_and_bad_bytes(void **state)
{
    static const char in[] = "a\x1b[2J\x07"
                             "b\x7f\xc2\x9b\xff\xe3\x81\x82\\\n";
    char out[128];

    (void)state;
    assert_false(mm_text_is_plain(in, strlen(in)));
    assert_true(mm_text_is_plain("日本語 plain \\ text", strlen("日本語 plain \\ text")));
    assert_string_equal(mm_text_escape(out, sizeof(out), in, strlen(in)),
                        "a\\x1b[2J\\x07b\\x7f\\u009b\\xffあ\\\\x0a");
    /* cut before an escape that does not fit, never inside it */
    assert_string_equal(mm_text_escape(out, 5, in, strlen(in)), "a");
    assert_string_equal(mm_text_escape(out, 6, in, strlen(in)), "a\\x1b");
    /* overlong forms and surrogates are not UTF-8 */
    assert_string_equal(mm_text_escape(out, sizeof(out), "\xc0\xaf\xed\xa0\x80", 5),
                        "\\xc0\\xaf\\xed\\xa0\\x80");
    /* a wide character is two columns, a malformed byte one */
    assert_int_equal(mm_text_width("あa\xff"), 4);
}

static void text__redacted_paths_and_json_escape_controls(void **state)
{
    char red[MM_LOG_PATH_MAX];
    mm_buf b;

    (void)state;
    mm_log_path(red, sizeof(red),
                "/data/\x1b[2J\x07"
                "boom.txt");
    assert_string_equal(red, "/data/\\x1b[2J\\x07boom.txt");
    mm_buf_init(&b, 1024);
    assert_int_equal(mm_json_str(&b, "\x1b\xc2\x9b\xff"), 0);
    assert_string_equal(b.ptr, "\"\\u001b\\u009b\\ufffd\"");
    mm_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf__append_at_exact_limit),
        cmocka_unit_test(buf__one_over_limit_leaves_content),
        cmocka_unit_test(buf__printf_grows),
        cmocka_unit_test(buf__detach),
        cmocka_unit_test(buf__allocation_failure_torture),
        cmocka_unit_test(text__escape_controls_c1_and_bad_bytes),
        cmocka_unit_test(text__redacted_paths_and_json_escape_controls),
        cmocka_unit_test(alloc__live_count_is_exact),
        cmocka_unit_test(error__thread_local),
        cmocka_unit_test(error__set_and_clear),
        cmocka_unit_test(log_path__standardized_paths),
        cmocka_unit_test(log_path__file_names),
        cmocka_unit_test(log_path__extended_content_folders),
        cmocka_unit_test(log_path__absolute_paths),
        cmocka_unit_test(log_path__overlong_paths),
        cmocka_unit_test(log_path__leaves_other_paths_alone),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
