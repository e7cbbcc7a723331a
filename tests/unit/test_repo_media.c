/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the medium label (repo.h, repo_media.c) on real repositories in a temporary
 * folder: round trip, relabelling only with force, every kind of edit to the file found
 * (label, hospital, repository line, signature, a label copied from another repository),
 * a repository without a label opening, backing up and verifying as before, the judge's
 * verdicts, and which names are allowed (Windows' forbidden characters refused).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
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

#include "common/buf.h"
#include "common/error.h"
#include "os/os.h"
#include "repo/repo.h"

#define PASS    "media-test-pass"
#define P(s)    (s), strlen(s)
#define MAX_LBL 4096

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };

struct tmp {
    char dir[256], repo[300], repo2[300], src[300];
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void init_repo(const char *path)
{
    struct mm_repo_init_opts o = { 0 };

    o.kdf = &kdf_min;
    if (mm_repo_init(path, "alice", P(PASS), &o) != 0)
        fail_msg("init '%s': %s", path, mm_error_last());
}

static mm_repo *open_repo(const char *path)
{
    mm_repo *r = NULL;

    if (mm_repo_open(&r, path, "alice", P(PASS)) != 0)
        fail_msg("open '%s': %s", path, mm_error_last());
    return r;
}

static int setup(void **state)
{
    struct tmp *t = calloc(1, sizeof(*t));
    const char *base = getenv("TMPDIR");

    snprintf(t->dir, sizeof(t->dir), "%s/mm-media-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(t->dir))
        return -1;
    snprintf(t->repo, sizeof(t->repo), "%s/repo", t->dir);
    snprintf(t->repo2, sizeof(t->repo2), "%s/repo2", t->dir);
    snprintf(t->src, sizeof(t->src), "%s/src", t->dir);
    init_repo(t->repo);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tmp *t = *state;

    nftw(t->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(t);
    return 0;
}

/* The label file of @repo into @out (NUL-terminated). */
static size_t read_label(const char *repo, char *out, size_t cap)
{
    char path[400];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/medium", repo);
    assert_non_null(f = fopen(path, "rb"));
    n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    return n;
}

static void write_label(const char *repo, const char *text)
{
    char path[400];

    snprintf(path, sizeof(path), "%s/medium", repo);
    assert_int_equal(mm_os_write_atomic(path, text, strlen(text)), 0);
    snprintf(path, sizeof(path), "%s/medium.2", repo); /* the second copy: both edited */
    assert_int_equal(mm_os_write_atomic(path, text, strlen(text)), 0);
}

/* Replace the first @from in @s by @to (same length or not). */
static void replace(char *s, size_t cap, const char *from, const char *to)
{
    char *p = strstr(s, from), rest[MAX_LBL];

    assert_non_null(p);
    snprintf(rest, sizeof(rest), "%s", p + strlen(from));
    snprintf(p, cap - (size_t)(p - s), "%s%s", to, rest);
}

static void label__round_trip(void **state)
{
    struct tmp *t = *state;
    struct mm_repo_medium m;
    char text[MAX_LBL];
    mm_repo *r = open_repo(t->repo);

    assert_int_equal(mm_repo_medium_get(r, &m), MM_ENOTFOUND);
    assert_int_equal(mm_repo_medium_set(r, "MON", "1310012345", 0), 0);
    assert_int_equal(mm_repo_medium_get(r, &m), 0);
    assert_string_equal(m.label, "MON");
    assert_string_equal(m.hospital, "1310012345");
    assert_string_equal(m.by, "alice");
    assert_true(m.verified);
    assert_true(m.written > 1700000000);
    /* the same label again is fine; another one needs force */
    assert_int_equal(mm_repo_medium_set(r, "MON", "1310012345", 0), 0);
    assert_int_equal(mm_repo_medium_set(r, "TUE", "1310012345", 0), MM_EEXISTS);
    assert_int_equal(mm_repo_medium_set(r, "MON", NULL, 0), MM_EEXISTS);
    assert_int_equal(mm_repo_medium_set(r, "月曜", NULL, 1), 0);
    mm_repo_free(r);
    r = open_repo(t->repo); /* read back by a fresh open */
    assert_int_equal(mm_repo_medium_get(r, &m), 0);
    assert_string_equal(m.label, "月曜");
    assert_string_equal(m.hospital, "");
    mm_repo_free(r);
    /* plain text a person can read on any PC */
    read_label(t->repo, text, sizeof(text));
    assert_non_null(strstr(text, "mamori-medium 1\n"));
    assert_non_null(strstr(text, "label 月曜\n"));
    assert_null(strstr(text, "hospital"));
}

/* Edit the label file with @from -> @to and expect @want from mm_repo_medium_get. */
static void expect_edit(const struct tmp *t, const char *orig, const char *from, const char *to,
                        int want)
{
    char text[MAX_LBL];
    struct mm_repo_medium m;
    mm_repo *r;

    snprintf(text, sizeof(text), "%s", orig);
    replace(text, sizeof(text), from, to);
    write_label(t->repo, text);
    r = open_repo(t->repo);
    if (mm_repo_medium_get(r, &m) != want)
        fail_msg("edit '%s' -> '%s': not %d: %s", from, to, want, mm_error_last());
    mm_repo_free(r);
}

static void label__tamper_detected(void **state)
{
    struct tmp *t = *state;
    char orig[MAX_LBL], other[MAX_LBL];
    struct mm_repo_medium m;
    mm_repo *r = open_repo(t->repo);

    assert_int_equal(mm_repo_medium_set(r, "MON", "1310012345", 0), 0);
    mm_repo_free(r);
    read_label(t->repo, orig, sizeof(orig));
    expect_edit(t, orig, "label MON", "label TUE", MM_EAUTH);
    expect_edit(t, orig, "hospital 1310012345", "hospital 1310099999", MM_EAUTH);
    expect_edit(t, orig, "hospital 1310012345\n", "", MM_EAUTH);
    expect_edit(t, orig, "by alice", "by mallory", MM_EAUTH);
    expect_edit(t, orig, "written ", "written 1", MM_EAUTH);
    expect_edit(t, orig, "repository ", "repository 0", MM_EAUTH);
    expect_edit(t, orig, "mamori-medium 1", "mamori-medium 2", MM_ECORRUPT);
    expect_edit(t, orig, "label MON", "label M:N", MM_ECORRUPT);
    expect_edit(t, orig, "signature ", "signature 0", MM_ECORRUPT); /* a digit too many */
    expect_edit(t, orig, "by alice\n", "by alice\nextra line\n", MM_ECORRUPT);
    {
        char flip[MAX_LBL];
        snprintf(flip, sizeof(flip), "%s", orig);
        char *d = strstr(flip, "signature ") + 10;
        *d = *d == '0' ? '1' : '0';
        write_label(t->repo, flip);
        r = open_repo(t->repo);
        assert_int_equal(mm_repo_medium_get(r, &m), MM_EAUTH);
        /* an edited label is replaced only on purpose */
        assert_int_equal(mm_repo_medium_set(r, "MON", "1310012345", 0), MM_EAUTH);
        assert_int_equal(mm_repo_medium_set(r, "MON", "1310012345", 1), 0);
        assert_int_equal(mm_repo_medium_get(r, &m), 0);
        mm_repo_free(r);
    }
    /* a label copied from another repository (another key, another ID) */
    init_repo(t->repo2);
    r = open_repo(t->repo2);
    assert_int_equal(mm_repo_medium_set(r, "MON", "1310012345", 0), 0);
    mm_repo_free(r);
    read_label(t->repo2, other, sizeof(other));
    write_label(t->repo, other);
    r = open_repo(t->repo);
    assert_int_equal(mm_repo_medium_get(r, &m), MM_EAUTH);
    mm_repo_free(r);
    /* garbage */
    write_label(t->repo, "hello\n");
    r = open_repo(t->repo);
    assert_int_equal(mm_repo_medium_get(r, &m), MM_ECORRUPT);
    mm_repo_free(r);
}

static void label__parse_without_key(void **state)
{
    struct tmp *t = *state;
    char text[MAX_LBL];
    struct mm_repo_medium m;
    mm_repo *r = open_repo(t->repo);
    size_t n;

    assert_int_equal(mm_repo_medium_set(r, "FRI", NULL, 0), 0);
    n = read_label(t->repo, text, sizeof(text));
    assert_int_equal(mm_repo_medium_parse(text, n, mm_repo_id(r), NULL, &m), 0);
    assert_string_equal(m.label, "FRI");
    assert_false(m.verified);
    /* short, cut, with a NUL */
    assert_int_equal(mm_repo_medium_parse(text, n - 1, mm_repo_id(r), NULL, &m), MM_ECORRUPT);
    assert_int_equal(mm_repo_medium_parse(text, 20, mm_repo_id(r), NULL, &m), MM_ECORRUPT);
    text[30] = '\0';
    assert_int_equal(mm_repo_medium_parse(text, n, mm_repo_id(r), NULL, &m), MM_ECORRUPT);
    mm_repo_free(r);
}

static void label__old_repository_without_one(void **state)
{
    struct tmp *t = *state;
    struct mm_repo_source src = { t->src, MM_REPO_SOURCE_FOLDER };
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats vs;
    struct mm_repo_medium m;
    char id[MM_CRYPTO_HEX_SIZE], path[400];
    mm_repo *r;

    assert_int_equal(mkdir(t->src, 0755), 0);
    snprintf(path, sizeof(path), "%s/a", t->src);
    assert_int_equal(mm_os_write_atomic(path, "x", 1), 0);
    r = open_repo(t->repo);
    assert_int_equal(mm_repo_medium_get(r, &m), MM_ENOTFOUND);
    assert_int_equal(mm_repo_backup(r, &src, 1, NULL, id, NULL), 0);
    vo.read_data = 1;
    assert_int_equal(mm_repo_verify(r, &vo, &vs), 0);
    assert_int_equal(vs.damaged_objects + vs.damaged_packs + vs.damaged_generations, 0);
    /* a labelled one still verifies: the label is no object of the repository */
    assert_int_equal(mm_repo_medium_set(r, "SAT", "H1", 0), 0);
    assert_int_equal(mm_repo_verify(r, &vo, &vs), 0);
    assert_int_equal(vs.damaged_objects + vs.damaged_packs + vs.damaged_generations, 0);
    mm_repo_free(r);
}

static void judge__verdicts(void **state)
{
    struct mm_repo_medium m = { .label = "MON", .hospital = "H1" };
    struct mm_repo_medium none = { .label = "MON" };

    (void)state;
    assert_int_equal(mm_repo_medium_judge(NULL, "MON", NULL), MM_REPO_MEDIUM_UNLABELLED);
    assert_int_equal(mm_repo_medium_judge(NULL, NULL, "H1"), MM_REPO_MEDIUM_UNLABELLED);
    assert_int_equal(mm_repo_medium_judge(&m, "MON", "H1"), MM_REPO_MEDIUM_OK);
    assert_int_equal(mm_repo_medium_judge(&m, NULL, NULL), MM_REPO_MEDIUM_OK);
    assert_int_equal(mm_repo_medium_judge(&m, "TUE", "H1"), MM_REPO_MEDIUM_WRONG_LABEL);
    assert_int_equal(mm_repo_medium_judge(&m, "mon", NULL), MM_REPO_MEDIUM_WRONG_LABEL);
    assert_int_equal(mm_repo_medium_judge(&m, "MON", "H2"), MM_REPO_MEDIUM_OTHER_HOSPITAL);
    assert_int_equal(mm_repo_medium_judge(&m, "TUE", "H2"), MM_REPO_MEDIUM_OTHER_HOSPITAL);
    assert_int_equal(mm_repo_medium_judge(&none, "MON", "H1"), MM_REPO_MEDIUM_OTHER_HOSPITAL);
}

static void name__windows_rules(void **state)
{
    static const char *const good[] = {
        "MON", "mon-1", "WEEKEND_A", "月曜", "1310012345", "a.b", "12345678901234567890123456789012"
    };
    static const char *const bad[] = {
        "",         "a b",     "a:b", "a*",   "a?",   "a\"",   "a<",
        "a>",       "a|",      "a/b", "a\\b", "dot.", "tab\t", "123456789012345678901234567890123",
        "\xff\xfe", "\xc0\xaf"
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        if (!mm_repo_medium_name_ok(good[i]))
            fail_msg("'%s' refused", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (mm_repo_medium_name_ok(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    assert_false(mm_repo_medium_name_ok(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(label__round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(label__tamper_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(label__parse_without_key, setup, teardown),
        cmocka_unit_test_setup_teardown(label__old_repository_without_one, setup, teardown),
        cmocka_unit_test(judge__verdicts),
        cmocka_unit_test(name__windows_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
