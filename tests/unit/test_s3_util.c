/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the S3 client's encodings and configuration, offline: URI encoding of keys and
 * the canonical query as SigV4 signs it (including AWS's published SigV4 test-suite cases
 * get-vanilla-query-order-key-case and -value, and the queries the client sends: ?versions=,
 * ?retention=&versionId=-abc, partNumber/uploadId, continuation tokens with '=', '+', '/'),
 * Content-MD5 and SHA-256 digests, lock mode names, strict numbers, S3 times (parse, format,
 * round trip, invalid dates), mm_s3_new's checks, and the retries against a closed port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "s3/s3.h"
#include "s3/s3_wire.h"

/* @s encoded (static buffer). */
static const char *enc(const char *s, int keep_slash)
{
    static char out[256];
    mm_buf b;
    mm_buf_init(&b, sizeof(out) - 1);
    assert_int_equal(mm_s3_uri_encode(&b, s, keep_slash), 0);
    memcpy(out, b.ptr ? b.ptr : "", b.len + 1);
    mm_buf_release(&b);
    return out;
}

/* The canonical query of @n params (static buffer). */
static const char *query(const struct mm_s3_param *p, size_t n)
{
    static char out[512];
    mm_buf b;
    mm_buf_init(&b, sizeof(out) - 1);
    assert_int_equal(mm_s3_query(&b, p, n), 0);
    memcpy(out, b.ptr ? b.ptr : "", b.len + 1);
    mm_buf_release(&b);
    return out;
}

static void encode__key(void **state)
{
    (void)state;
    assert_string_equal(enc("AZaz09-_.~", 0), "AZaz09-_.~");
    assert_string_equal(enc("a b/c", 1), "a%20b/c");
    assert_string_equal(enc("a b/c", 0), "a%20b%2Fc");
    assert_string_equal(enc("+=&%?#*!'()$,;:@", 1),
                        "%2B%3D%26%25%3F%23%2A%21%27%28%29%24%2C%3B%3A%40");
    assert_string_equal(enc("\xe6\x97\xa5", 1), "%E6%97%A5");
    assert_string_equal(enc("", 1), "");
}

static void query__aws_vectors(void **state)
{
    (void)state;
    /* aws-sig-v4-test-suite get-vanilla-query-order-key-case: Param2=value2&Param1=value1 */
    struct mm_s3_param kc[] = { { "Param2", "value2" }, { "Param1", "value1" } };
    assert_string_equal(query(kc, 2), "Param1=value1&Param2=value2");
    /* get-vanilla-query-order-value: Param1=value2&Param1=Value1 */
    struct mm_s3_param vc[] = { { "Param1", "value2" }, { "Param1", "Value1" } };
    assert_string_equal(query(vc, 2), "Param1=Value1&Param1=value2");
    /* get-vanilla-query-unreserved */
    struct mm_s3_param un[] = {
        { "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
          "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" }
    };
    assert_string_equal(query(un, 1),
                        "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
                        "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    /* get-vanilla-utf8-query: the name percent-encoded in upper-case hex */
    struct mm_s3_param u8[] = { { "\xe1\x88\xb4", "bar" } };
    assert_string_equal(query(u8, 1), "%E1%88%B4=bar");
}

static void query__client_cases(void **state)
{
    (void)state;
    struct mm_s3_param v[] = { { "versions", "" },
                               { "max-keys", "2" },
                               { "prefix", "a/b" },
                               { "key-marker", "a/b c" },
                               { "version-id-marker", "-x.y" } };
    assert_string_equal(query(v, 5), "key-marker=a%2Fb%20c&max-keys=2&prefix=a%2Fb&"
                                     "version-id-marker=-x.y&versions=");
    struct mm_s3_param r[] = { { "versionId", "-abc" }, { "retention", NULL } };
    assert_string_equal(query(r, 2), "retention=&versionId=-abc");
    struct mm_s3_param mp[] = { { "uploadId", "2~a+b=" }, { "partNumber", "1" } };
    assert_string_equal(query(mp, 2), "partNumber=1&uploadId=2~a%2Bb%3D");
    struct mm_s3_param l[] = { { "max-keys", "2" },
                               { "list-type", "2" },
                               { "continuation-token", "a+b/c=d==" },
                               { "delimiter", "/" } };
    assert_string_equal(query(l, 4), "continuation-token=a%2Bb%2Fc%3Dd%3D%3D&delimiter=%2F&"
                                     "list-type=2&max-keys=2");
    assert_string_equal(query(NULL, 0), "");
}

static void query__allocation_failure_torture(void **state)
{
    struct mm_s3_param p[] = { { "uploadId", "2~a+b=" },
                               { "partNumber", "1" },
                               { "versions", NULL } };
    long k;
    (void)state;
    mm_alloc_track(1);
    for (k = 1;; k++) {
        mm_buf b;
        mm_buf_init(&b, 1024);
        mm_alloc_fail_at(k, 0);
        int rc = mm_s3_query(&b, p, 3);
        int complete = mm_alloc_count() < k;
        mm_alloc_fail_at(0, 0);
        if (complete)
            assert_string_equal(b.ptr, "partNumber=1&uploadId=2~a%2Bb%3D&versions=");
        mm_buf_release(&b);
        assert_int_equal(mm_alloc_live(), 0);
        if (complete) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, MM_ENOMEM);
        assert_true(k < 100);
    }
    mm_alloc_track(0);
    assert_true(k > 3);
}

static void digest__md5_sha256(void **state)
{
    char md5[32], sha[65];
    (void)state;
    mm_s3_md5_b64("", 0, md5);
    assert_string_equal(md5, "1B2M2Y8AsgTpgAmY7PhCfg==");
    mm_s3_md5_b64("hello, world", 12, md5);
    assert_string_equal(md5, "5NfxtO0uQtFYmPSyewGdpA==");
    mm_s3_sha256_hex("", 0, sha);
    assert_string_equal(sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void names__lock_and_numbers(void **state)
{
    uint64_t v = 1;
    (void)state;
    assert_int_equal(mm_s3_lock_parse("COMPLIANCE"), MM_S3_LOCK_COMPLIANCE);
    assert_int_equal(mm_s3_lock_parse("GOVERNANCE"), MM_S3_LOCK_GOVERNANCE);
    assert_int_equal(mm_s3_lock_parse("compliance"), MM_S3_LOCK_NONE);
    assert_int_equal(mm_s3_lock_parse(NULL), MM_S3_LOCK_NONE);
    assert_string_equal(mm_s3_lock_name(MM_S3_LOCK_COMPLIANCE), "COMPLIANCE");
    assert_null(mm_s3_lock_name(MM_S3_LOCK_NONE));
    assert_int_equal(mm_s3_parse_u64("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(mm_s3_parse_u64("18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(mm_s3_parse_u64("18446744073709551616", &v), MM_EINVAL);
    assert_int_equal(mm_s3_parse_u64("", &v), MM_EINVAL);
    assert_int_equal(mm_s3_parse_u64("-1", &v), MM_EINVAL);
    assert_int_equal(mm_s3_parse_u64("1 ", &v), MM_EINVAL);
    assert_int_equal(mm_s3_parse_u64(NULL, &v), MM_EINVAL);
}

static void time__parse(void **state)
{
    int64_t t = 0;
    (void)state;
    assert_int_equal(mm_s3_time_parse("2026-12-07T09:00:00Z", &t), 0);
    assert_int_equal(t, 1796634000);
    assert_int_equal(mm_s3_time_parse("2026-12-07T09:00:00.999Z", &t), 0);
    assert_int_equal(t, 1796634000);
    assert_int_equal(mm_s3_time_parse("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(mm_s3_time_parse("2024-02-29T23:59:59Z", &t), 0);
    assert_int_equal(t, 1709251199);
    assert_int_equal(mm_s3_time_parse("2000-02-29T00:00:00Z", &t), 0);
    static const char *const bad[] = { "2026-02-29T00:00:00Z",
                                       "1900-02-29T00:00:00Z",
                                       "2026-13-01T00:00:00Z",
                                       "2026-00-01T00:00:00Z",
                                       "2026-04-31T00:00:00Z",
                                       "2026-12-07T24:00:00Z",
                                       "2026-12-07T09:60:00Z",
                                       "2026-12-07T09:00:00",
                                       "2026-12-07T09:00:00+09:00",
                                       "2026-12-07 09:00:00Z",
                                       "2026-12-07T09:00:00.Z",
                                       "2026-12-07T09:00:00ZZ",
                                       "2026-1-07T09:00:00Z",
                                       "",
                                       "x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(mm_s3_time_parse(bad[i], &t), MM_EINVAL);
    assert_int_equal(mm_s3_time_parse(NULL, &t), MM_EINVAL);
}

static void time__format_round_trip(void **state)
{
    char s[32];
    int64_t back;
    (void)state;
    mm_s3_time_format(0, s);
    assert_string_equal(s, "1970-01-01T00:00:00Z");
    mm_s3_time_format(1796634000, s);
    assert_string_equal(s, "2026-12-07T09:00:00Z");
    for (int64_t t = 0; t < 4102444800; t += 86400 * 7 + 3607) {
        mm_s3_time_format(t, s);
        assert_int_equal(mm_s3_time_parse(s, &back), 0);
        assert_int_equal(back, t);
    }
}

static void client__config_checks(void **state)
{
    struct mm_s3_cfg cfg = { .endpoint = "http://127.0.0.1:1",
                             .bucket = "mm-bucket",
                             .access_key = "AK",
                             .secret_key = "SK" };
    mm_s3 *s = NULL;
    (void)state;
    assert_int_equal(mm_s3_new(&s, &cfg), 0);
    mm_s3_free(s);
    mm_s3_free(NULL);
    struct mm_s3_cfg c = cfg;
    c.secret_key = "";
    assert_int_equal(mm_s3_new(&s, &c), MM_EINVAL);
    c = cfg;
    c.access_key = NULL;
    assert_int_equal(mm_s3_new(&s, &c), MM_EINVAL);
    c = cfg;
    c.endpoint = "ftp://x";
    assert_int_equal(mm_s3_new(&s, &c), MM_EINVAL);
    c.endpoint = "http://x/path";
    assert_int_equal(mm_s3_new(&s, &c), MM_EINVAL);
    c = cfg;
    c.bucket = "a/b";
    assert_int_equal(mm_s3_new(&s, &c), MM_EINVAL);
    c = cfg;
    c.part_size = 1024;
    assert_int_equal(mm_s3_new(&s, &c), MM_EINVAL);
    c = cfg;
    c.region = "a:b";
    assert_int_equal(mm_s3_new(&s, &c), MM_EINVAL);
}

static void client__retries_then_eio(void **state)
{
    /* port 1 on loopback: connection refused at once, retried, then MM_EIO */
    struct mm_s3_cfg cfg = { .endpoint = "http://127.0.0.1:1/",
                             .bucket = "mm-bucket",
                             .access_key = "AK",
                             .secret_key = "SK",
                             .retries = 2,
                             .timeout_s = 5 };
    mm_s3 *s = NULL;
    struct mm_s3_stats st;
    (void)state;
    assert_int_equal(mm_s3_new(&s, &cfg), 0);
    assert_int_equal(mm_s3_put(s, "k", "x", 1, NULL, NULL), MM_EIO);
    assert_non_null(strstr(mm_error_last(), "s3 put"));
    assert_null(strstr(mm_error_last(), "SK"));
    mm_s3_stats(s, &st);
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.retries, 2);
    mm_s3_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode__key),
        cmocka_unit_test(query__aws_vectors),
        cmocka_unit_test(query__client_cases),
        cmocka_unit_test(query__allocation_failure_torture),
        cmocka_unit_test(digest__md5_sha256),
        cmocka_unit_test(names__lock_and_numbers),
        cmocka_unit_test(time__parse),
        cmocka_unit_test(time__format_round_trip),
        cmocka_unit_test(client__config_checks),
        cmocka_unit_test(client__retries_then_eio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
