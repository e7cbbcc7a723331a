/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Offline tests of the S3 backend's location and credentials (repo_s3_url.c): the strict
 * parser of "s3://host[:port]/bucket[/prefix]" (hostile input refused, http only on loopback
 * or when asked, https on loopback too with MAMORI_S3_TLS=1), the where string without secrets, and
 * the credentials file refused unless owned by the user with mode 0600 or stricter; the REPLACE
 * names of the catalog.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"

#ifdef MM_HAVE_S3
#include "repo/repo_s3_url.h"

static void url__good(void **state)
{
    struct mm_repo__s3_url u;

    (void)state;
    unsetenv("MAMORI_S3_TLS");
    assert_int_equal(mm_repo__s3_url_parse("s3://127.0.0.1:7480/mm-bucket/hosp/a", 0, &u), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 7480);
    assert_string_equal(u.bucket, "mm-bucket");
    assert_string_equal(u.prefix, "hosp/a");
    assert_true(u.loopback);
    assert_string_equal(u.endpoint, "http://127.0.0.1:7480");
    assert_string_equal(u.where, "s3://127.0.0.1:7480/mm-bucket/hosp/a");

    assert_int_equal(mm_repo__s3_url_parse("s3://s3.example.jp/vault", 0, &u), 0);
    assert_false(u.loopback);
    assert_string_equal(u.endpoint, "https://s3.example.jp");
    assert_string_equal(u.prefix, "");
    assert_string_equal(u.where, "s3://s3.example.jp/vault");

    assert_int_equal(mm_repo__s3_url_parse("s3://s3.example.jp:9000/vault", 1, &u), 0);
    assert_string_equal(u.endpoint, "http://s3.example.jp:9000");

    assert_int_equal(mm_repo__s3_url_parse("s3://[::1]:9000/vault/x", 0, &u), 0);
    assert_true(u.loopback);
    assert_string_equal(u.endpoint, "http://[::1]:9000");
    assert_string_equal(u.where, "s3://[::1]:9000/vault/x");

    assert_int_equal(mm_repo__s3_url_parse("s3://localhost/vault", 0, &u), 0);
    assert_string_equal(u.endpoint, "http://localhost");
    assert_int_equal(mm_repo__s3_url_parse("s3://127.255.0.9/vault", 0, &u), 0);
    assert_true(u.loopback);
    /* looks like loopback, is not */
    assert_int_equal(mm_repo__s3_url_parse("s3://127.0.0.1.evil.jp/vault", 0, &u), 0);
    assert_false(u.loopback);
    assert_string_equal(u.endpoint, "https://127.0.0.1.evil.jp");
    assert_int_equal(mm_repo__s3_url_parse("s3://128.0.0.1/vault", 0, &u), 0);
    assert_false(u.loopback);
}

/* MAMORI_S3_TLS=1: https even for a loopback host; with http asked for too: refused. */
static void url__tls_forced(void **state)
{
    struct mm_repo__s3_url u;

    (void)state;
    setenv("MAMORI_S3_TLS", "1", 1);
    assert_int_equal(mm_repo__s3_url_parse("s3://127.0.0.1:7443/mm-bucket/p", 0, &u), 0);
    assert_true(u.loopback);
    assert_string_equal(u.endpoint, "https://127.0.0.1:7443");
    assert_string_equal(u.where, "s3://127.0.0.1:7443/mm-bucket/p");
    assert_int_equal(mm_repo__s3_url_parse("s3://localhost/vault", 0, &u), 0);
    assert_string_equal(u.endpoint, "https://localhost");
    assert_int_equal(mm_repo__s3_url_parse("s3://[::1]:9000/vault", 0, &u), 0);
    assert_string_equal(u.endpoint, "https://[::1]:9000");
    assert_int_equal(mm_repo__s3_url_parse("s3://s3.example.jp/vault", 0, &u), 0);
    assert_string_equal(u.endpoint, "https://s3.example.jp");
    assert_int_equal(mm_repo__s3_url_parse("s3://127.0.0.1:7443/mm-bucket", 1, &u), MM_EINVAL);
    /* only "1" forces it */
    setenv("MAMORI_S3_TLS", "0", 1);
    assert_int_equal(mm_repo__s3_url_parse("s3://127.0.0.1:7480/mm-bucket", 0, &u), 0);
    assert_string_equal(u.endpoint, "http://127.0.0.1:7480");
    unsetenv("MAMORI_S3_TLS");
    assert_int_equal(mm_repo__s3_url_parse("s3://127.0.0.1:7480/mm-bucket", 0, &u), 0);
    assert_string_equal(u.endpoint, "http://127.0.0.1:7480");
}

static void url__hostile_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "s3:/",
        "s3://",
        "http://h/b",
        "S3://h/b",
        "s3://h",
        "s3://h/",
        "s3:///bucket",
        "s3://h/bu",
        "s3://h/Bucket",
        "s3://h/bucket name",
        "s3://h /bucket",
        "s3://h/bucket/a//b",
        "s3://h/bucket/a/",
        "s3://h/bucket/../x",
        "s3://h/bucket/a/..",
        "s3://h/bucket/./a",
        "s3://h/bucket/a b",
        "s3://h/bucket/a?x=1",
        "s3://h/bucket#f",
        "s3://user:pw@h/bucket",
        "s3://h:0/bucket",
        "s3://h:65536/bucket",
        "s3://h:12a/bucket",
        "s3://h:/bucket",
        "s3://h:123456/bucket",
        "s3://h..x/bucket",
        "s3://.h/bucket",
        "s3://-h/bucket",
        "s3://[::2]/bucket",
        "s3://[fe80::1]/bucket",
        "s3://h/b..b",
        "s3://h/.bucket",
        "s3://h/bucket-",
        "s3://h/bucket/a\\b",
        "s3://h/bucket/a\nb",
        "s3://h/bucket/%2e%2e",
        "s3://h/bucket/\xc3\xa9",
    };
    struct mm_repo__s3_url u;
    char longp[2000];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int err = mm_repo__s3_url_parse(bad[i], 0, &u);
        if (err >= 0)
            fail_msg("accepted: %s", bad[i]);
        assert_true(err == MM_EINVAL || err == MM_ELIMIT);
    }
    assert_int_equal(mm_repo__s3_url_parse(NULL, 0, &u), MM_EINVAL);
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    memcpy(longp, "s3://h/bucket/", 14);
    assert_int_equal(mm_repo__s3_url_parse(longp, 0, &u), MM_ELIMIT);
    memset(longp, 'a', 300);
    memcpy(longp, "s3://", 5);
    memcpy(longp + 300, "/bucket", 8);
    assert_int_equal(mm_repo__s3_url_parse(longp, 0, &u), MM_ELIMIT);
}

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "%s/test_repo_s3_url.XXXXXX", MM_BUILD_ROOT);
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char p[512];

    (void)state;
    snprintf(p, sizeof(p), "%s/creds", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/link", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/.config/mamori/s3-credentials", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/.config/mamori", dir);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/.config", dir);
    rmdir(p);
    return rmdir(dir);
}

/* Write @text to @path with @mode. */
static void put_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void creds__env_wins(void **state)
{
    struct mm_repo__s3_creds c;

    (void)state;
    assert_int_equal(mm_repo__s3_creds_load(&c, "AK", "SK", "jp-east", "/nonexistent", NULL), 0);
    assert_string_equal(c.access, "AK");
    assert_string_equal(c.secret, "SK");
    assert_string_equal(c.region, "jp-east");
    mm_repo__s3_creds_wipe(&c);
    assert_int_equal(c.secret[0], 0);
    /* only one of the two: the file is needed, and there is none */
    assert_int_equal(mm_repo__s3_creds_load(&c, "AK", "", NULL, NULL, NULL), MM_EINVAL);
}

static void creds__file_0600_read(void **state)
{
    struct mm_repo__s3_creds c;
    char p[512];

    (void)state;
    snprintf(p, sizeof(p), "%s/creds", dir);
    put_file(p, "# vault\naccess_key = AKIA1\n  secret_key=s3cr3t/x+y  \nregion = r1\n", 0600);
    assert_int_equal(mm_repo__s3_creds_load(&c, NULL, NULL, NULL, p, NULL), 0);
    assert_string_equal(c.access, "AKIA1");
    assert_string_equal(c.secret, "s3cr3t/x+y");
    assert_string_equal(c.region, "r1");
    assert_int_equal(chmod(p, 0400), 0);
    assert_int_equal(mm_repo__s3_creds_load(&c, NULL, NULL, "r2", p, NULL), 0);
    assert_string_equal(c.region, "r2");
}

static void creds__default_path(void **state)
{
    struct mm_repo__s3_creds c;
    char p[512];

    (void)state;
    snprintf(p, sizeof(p), "%s/.config", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/.config/mamori", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/.config/mamori/s3-credentials", dir);
    put_file(p, "access_key = A\nsecret_key = S\n", 0600);
    assert_int_equal(mm_repo__s3_creds_load(&c, NULL, NULL, NULL, NULL, dir), 0);
    assert_string_equal(c.access, "A");
    assert_string_equal(c.region, "");
}

static void creds__loose_file_refused(void **state)
{
    static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0606, 0620, 0602, 0610 };
    struct mm_repo__s3_creds c;
    char p[512], l[512];
    size_t i;

    (void)state;
    snprintf(p, sizeof(p), "%s/creds", dir);
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        put_file(p, "access_key = A\nsecret_key = TOPSECRET\n", modes[i]);
        assert_int_equal(mm_repo__s3_creds_load(&c, NULL, NULL, NULL, p, NULL), MM_EREFUSED);
        assert_non_null(strstr(mm_error_last(), "chmod 600"));
        assert_null(strstr(mm_error_last(), "TOPSECRET"));
    }
    /* a symbolic link to a good file is refused too */
    put_file(p, "access_key = A\nsecret_key = S\n", 0600);
    snprintf(l, sizeof(l), "%s/link", dir);
    assert_int_equal(symlink(p, l), 0);
    assert_int_equal(mm_repo__s3_creds_load(&c, NULL, NULL, NULL, l, NULL), MM_EREFUSED);
}

static void creds__malformed(void **state)
{
    struct mm_repo__s3_creds c;
    char p[512];

    (void)state;
    snprintf(p, sizeof(p), "%s/creds", dir);
    put_file(p, "access_key = A\n", 0600);
    assert_int_equal(mm_repo__s3_creds_load(&c, NULL, NULL, NULL, p, NULL), MM_EINVAL);
    put_file(p, "access_key A\nsecret_key = TOPSECRET\n", 0600);
    assert_int_equal(mm_repo__s3_creds_load(&c, NULL, NULL, NULL, p, NULL), MM_EINVAL);
    put_file(p, "access_key = A\nsecret_key = S\npassword = TOPSECRET\n", 0600);
    assert_int_equal(mm_repo__s3_creds_load(&c, NULL, NULL, NULL, p, NULL), MM_EINVAL);
    assert_null(strstr(mm_error_last(), "TOPSECRET"));
    assert_int_equal(mm_repo__s3_creds_load(&c, NULL, NULL, NULL, "/nonexistent/x", NULL),
                     MM_EINVAL);
}

static void catalog__replace_names(void **state)
{
    (void)state;
    assert_true(mm_repo__s3_is_once("data/ab/0123"));
    assert_true(mm_repo__s3_is_once("index/0123"));
    assert_true(mm_repo__s3_is_once("generations/0123"));
    assert_true(mm_repo__s3_is_once("mamori-repo"));
    assert_true(mm_repo__s3_is_once("config.2"));
    assert_true(mm_repo__s3_is_once("headx"));
    assert_false(mm_repo__s3_is_once("head"));
    assert_false(mm_repo__s3_is_once("head.2"));
    assert_false(mm_repo__s3_is_once("medium"));
    assert_false(mm_repo__s3_is_once("locks/0123"));
    assert_false(mm_repo__s3_is_once("audit/audit.log"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url__good),
        cmocka_unit_test(url__tls_forced),
        cmocka_unit_test(url__hostile_refused),
        cmocka_unit_test_setup_teardown(creds__env_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(creds__file_0600_read, setup, teardown),
        cmocka_unit_test_setup_teardown(creds__default_path, setup, teardown),
        cmocka_unit_test_setup_teardown(creds__loose_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(creds__malformed, setup, teardown),
        cmocka_unit_test(catalog__replace_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    printf("1..0 # SKIP S3 repositories are not in this build\n");
    return 0;
}
#endif
