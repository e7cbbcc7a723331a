/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the second copies of the small critical files (repo_copies.c, repo_keys.c): for the
 * marker, the config, a key slot and the medium label, one flipped byte in either copy costs
 * nothing (the repository opens, verify reports the damaged copy as damage, the next writer
 * with the key repairs it and verify is clean again); both copies damaged stop the open with a
 * message naming the file; a repository made before second copies opens, verify calls the
 * missing copies information, and the first write with the key adds them.
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

#include "common/error.h"
#include "repo/repo.h"

#define PASS "copies-test-passphrase"
#define P(s) (s), strlen(s)

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };

struct tmp {
    char dir[256], repo[300];
    char problems[4096];
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
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
    struct mm_repo_init_opts o = { 0 };
    mm_repo *r;

    snprintf(t->dir, sizeof(t->dir), "%s/mm-copies-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(t->dir))
        return -1;
    snprintf(t->repo, sizeof(t->repo), "%s/repo", t->dir);
    o.kdf = &kdf_min;
    if (mm_repo_init(t->repo, "alice", P(PASS), &o) != 0)
        fail_msg("init: %s", mm_error_last());
    r = open_repo(t->repo);
    assert_int_equal(mm_repo_medium_set(r, "MON", NULL, 0), 0);
    mm_repo_free(r);
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

/* The path of @rel in the repository. */
static const char *at(const struct tmp *t, const char *rel, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", t->repo, rel);
    return out;
}

/* Append ".2" to @s (@cap bytes): the name of its second copy. @return @s */
static char *plus2(char *s, size_t cap)
{
    size_t n = strlen(s);

    assert_true(n + 3 <= cap);
    memcpy(s + n, ".2", 3);
    return s;
}

static void flip(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    int c;

    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    c = fgetc(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    fputc(c ^ 1, f);
    assert_int_equal(fclose(f), 0);
}

static int same_file(const char *a, const char *b)
{
    char x[4096], y[4096];
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    size_t n, m;

    if (!f || !g) {
        if (f)
            fclose(f);
        if (g)
            fclose(g);
        return 0;
    }
    n = fread(x, 1, sizeof(x), f);
    m = fread(y, 1, sizeof(y), g);
    fclose(f);
    fclose(g);
    return n == m && memcmp(x, y, n) == 0;
}

static void on_problem(const char *gen, const char *path, const char *what, void *ctx)
{
    struct tmp *t = ctx;
    size_t n = strlen(t->problems);

    (void)gen;
    snprintf(t->problems + n, sizeof(t->problems) - n, "%s: %s\n", path, what);
}

/* Verify the repository: its stats, with t->problems listing what was reported. */
static struct mm_repo_verify_stats verify(struct tmp *t)
{
    struct mm_repo_verify_opts o = { 0 };
    struct mm_repo_verify_stats st;
    mm_repo *r = open_repo(t->repo);

    t->problems[0] = '\0';
    o.problem = on_problem;
    o.ctx = t;
    assert_int_equal(mm_repo_verify(r, &o, &st), 0);
    mm_repo_free(r);
    return st;
}

/* Open as a writer (the exclusive lock): the damaged or missing copies are rewritten. */
static void write_with_key(const struct tmp *t)
{
    mm_repo *r = open_repo(t->repo);
    struct mm_repo_medium m;

    assert_int_equal(mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, NULL), 0);
    assert_int_equal(mm_repo_medium_get(r, &m), 0);
    mm_repo_free(r);
}

/* The key slot file of the only user, "keys/<hex>". */
static void slot_rel(const struct tmp *t, char *out, size_t cap)
{
    struct mm_repo_key *k = NULL;
    size_t n = 0;

    assert_int_equal(mm_repo_key_list(t->repo, &k, &n), 0);
    assert_int_equal(n, 1);
    snprintf(out, cap, "keys/%s", k[0].file);
    free(k);
}

/* One flipped byte at @off in copy @which of @rel: it opens, verify names it, a write repairs. */
static void one_copy(struct tmp *t, const char *rel, int which, long off)
{
    char p1[400], p2[400], rel2[80], *damaged = which == 1 ? p1 : p2;
    struct mm_repo_verify_stats st;

    snprintf(rel2, sizeof(rel2), "%s.2", rel);
    at(t, rel, p1, sizeof(p1));
    at(t, rel2, p2, sizeof(p2));
    assert_true(same_file(p1, p2));
    flip(damaged, off);
    st = verify(t);
    if (st.damaged_copies != 1 || !strstr(t->problems, which == 1 ? rel : rel2))
        fail_msg("%s copy %d: %llu damaged copies, problems: %s", rel, which,
                 (unsigned long long)st.damaged_copies, t->problems);
    write_with_key(t);
    if (!same_file(p1, p2))
        fail_msg("%s copy %d: not repaired", rel, which);
    st = verify(t);
    if (st.damaged_copies != 0 || t->problems[0])
        fail_msg("%s copy %d: still reported after the repair: %s", rel, which, t->problems);
}

static void copies__one_damaged_copy_costs_nothing(void **state)
{
    struct tmp *t = *state;
    char slot[64];

    slot_rel(t, slot, sizeof(slot));
    for (int which = 1; which <= 2; which++) {
        one_copy(t, "mamori-repo", which, 4);
        one_copy(t, "config", which, 60);
        one_copy(t, "medium", which, 20);
        one_copy(t, slot, which, 0);   /* the slot's magic: it does not parse */
        one_copy(t, slot, which, 150); /* inside the sealed key: both parse, differ */
    }
}

static void copies__both_damaged_stop_the_open_naming_the_file(void **state)
{
    struct tmp *t = *state;
    static const char *const rels[] = { "config", "mamori-repo" };
    char p[400], p2[400], slot[64];
    mm_repo *r = NULL;

    for (size_t i = 0; i < 2; i++) {
        char rel2[64];
        snprintf(rel2, sizeof(rel2), "%s.2", rels[i]);
        flip(at(t, rels[i], p, sizeof(p)), 50);
        flip(at(t, rel2, p, sizeof(p)), 55);
        assert_int_equal(mm_repo_open(&r, t->repo, "alice", P(PASS)), MM_ECORRUPT);
        assert_null(r);
        if (!strstr(mm_error_last(), rels[i]))
            fail_msg("the message does not name '%s': %s", rels[i], mm_error_last());
        flip(at(t, rels[i], p, sizeof(p)), 50);
        flip(at(t, rel2, p, sizeof(p)), 55);
    }
    /* both copies of the config missing: damage too, naming it */
    assert_int_equal(rename(at(t, "config", p, sizeof(p)), at(t, "c1", p2, sizeof(p2))), 0);
    assert_int_equal(rename(at(t, "config.2", p, sizeof(p)), at(t, "c2", p2, sizeof(p2))), 0);
    assert_int_equal(mm_repo_open(&r, t->repo, "alice", P(PASS)), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "config"));
    assert_int_equal(rename(at(t, "c1", p2, sizeof(p2)), at(t, "config", p, sizeof(p))), 0);
    assert_int_equal(rename(at(t, "c2", p2, sizeof(p2)), at(t, "config.2", p, sizeof(p))), 0);
    slot_rel(t, slot, sizeof(slot));
    flip(at(t, slot, p, sizeof(p)), 0);
    plus2(slot, sizeof(slot));
    flip(at(t, slot, p, sizeof(p)), 1);
    assert_int_equal(mm_repo_open(&r, t->repo, "alice", P(PASS)), MM_ECORRUPT);
    if (!strstr(mm_error_last(), "keys/"))
        fail_msg("the message does not name the key slot: %s", mm_error_last());
}

static void copies__old_repository_gets_them_on_the_next_write(void **state)
{
    struct tmp *t = *state;
    char p[400], slot[64], text[128];
    struct mm_repo_verify_stats st;
    mm_repo *r = open_repo(t->repo);
    FILE *f;

    /* as made by an older mamori: one copy of each, a marker without its check line */
    snprintf(text, sizeof(text), "mamori-repo 2\nid %s\n", mm_repo_id(r));
    mm_repo_free(r);
    slot_rel(t, slot, sizeof(slot));
    plus2(slot, sizeof(slot));
    assert_int_equal(unlink(at(t, slot, p, sizeof(p))), 0);
    assert_int_equal(unlink(at(t, "config.2", p, sizeof(p))), 0);
    assert_int_equal(unlink(at(t, "medium.2", p, sizeof(p))), 0);
    assert_int_equal(unlink(at(t, "mamori-repo.2", p, sizeof(p))), 0);
    assert_non_null(f = fopen(at(t, "mamori-repo", p, sizeof(p)), "wb"));
    fputs(text, f);
    fclose(f);
    st = verify(t);
    if (st.damaged_copies || t->problems[0] || st.old_copies != 4)
        fail_msg("old repository: %llu damaged, %llu old, problems: %s",
                 (unsigned long long)st.damaged_copies, (unsigned long long)st.old_copies,
                 t->problems);
    write_with_key(t);
    assert_true(same_file(at(t, "mamori-repo", p, sizeof(p)), plus2(p, sizeof(p))));
    assert_true(same_file(at(t, "config", p, sizeof(p)), plus2(p, sizeof(p))));
    assert_true(access(at(t, slot, p, sizeof(p)), F_OK) == 0);
    st = verify(t);
    if (st.damaged_copies || st.old_copies || t->problems[0])
        fail_msg("after the write: %llu damaged, %llu old, problems: %s",
                 (unsigned long long)st.damaged_copies, (unsigned long long)st.old_copies,
                 t->problems);
    /* now a repository with copies: a missing one is damage */
    assert_int_equal(unlink(at(t, "config.2", p, sizeof(p))), 0);
    st = verify(t);
    assert_int_equal(st.damaged_copies, 1);
}

/* A slot damaged in both copies is reported, and a writer does not "repair" it with nothing. */
static void copies__slot_lost_in_both_copies_is_left_alone(void **state)
{
    struct tmp *t = *state;
    struct mm_repo_verify_stats st;
    struct mm_repo_key *k = NULL;
    char p[400], bob[64] = "";
    size_t n = 0;
    struct stat sb;
    mm_repo *r = open_repo(t->repo);

    assert_int_equal(mm_repo_key_add(r, "bob", P("bobs-copies-passphrase"), &kdf_min), 0);
    mm_repo_free(r);
    assert_int_equal(mm_repo_key_list(t->repo, &k, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(k[i].name, "bob") == 0)
            snprintf(bob, sizeof(bob), "keys/%s", k[i].file);
    free(k);
    assert_true(bob[0]);
    flip(at(t, bob, p, sizeof(p)), 0);
    flip(plus2(p, sizeof(p)), 1);
    st = verify(t);
    if (st.damaged_copies != 1 || !strstr(t->problems, "no intact second copy"))
        fail_msg("bob's lost slot: %s", t->problems);
    write_with_key(t);
    assert_int_equal(stat(at(t, bob, p, sizeof(p)), &sb), 0);
    assert_int_equal(sb.st_size, MM_KEYSLOT_SIZE); /* left as it was, not emptied */
    assert_int_equal(stat(plus2(p, sizeof(p)), &sb), 0);
    assert_int_equal(sb.st_size, MM_KEYSLOT_SIZE);
}

/* Both copies of the label check out but differ (an older mamori relabelled the medium and
 * left medium.2): the first serves, the second is reported as stale and rewritten. */
static void copies__stale_second_copy_is_rewritten(void **state)
{
    struct tmp *t = *state;
    struct mm_repo_verify_stats st;
    struct mm_repo_medium m;
    char p1[400], p2[400], old[4096];
    mm_repo *r = open_repo(t->repo);
    FILE *f;
    size_t n;

    at(t, "medium", p1, sizeof(p1));
    at(t, "medium.2", p2, sizeof(p2));
    assert_non_null(f = fopen(p1, "rb"));
    n = fread(old, 1, sizeof(old), f);
    fclose(f);
    assert_int_equal(mm_repo_medium_set(r, "TUE", NULL, 1), 0);
    mm_repo_free(r);
    assert_non_null(f = fopen(p2, "wb")); /* the old label, still validly signed */
    assert_int_equal(fwrite(old, 1, n, f), n);
    fclose(f);
    r = open_repo(t->repo);
    assert_int_equal(mm_repo_medium_get(r, &m), 0);
    assert_string_equal(m.label, "TUE");
    mm_repo_free(r);
    st = verify(t);
    if (st.damaged_copies != 1 || !strstr(t->problems, "medium.2"))
        fail_msg("stale label copy: %s", t->problems);
    write_with_key(t);
    assert_true(same_file(p1, p2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(copies__one_damaged_copy_costs_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(copies__both_damaged_stop_the_open_naming_the_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(copies__old_repository_gets_them_on_the_next_write, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(copies__slot_lost_in_both_copies_is_left_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(copies__stale_second_copy_is_rewritten, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
