/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the repository side of the ransomware guard (repo.h): the deltas a backup's walk
 * reports against the parent generation on a real folder (every kind, an SS-MIX2-style
 * update, a whole deleted folder counted from the parent's trees, the first bytes of each
 * file read), the judge hook (verdict and reasons in the manifest, an error writes nothing),
 * the signed acceptance records (accept, verify, a damaged first copy, a forged record, a
 * host credential refused but able to check), "good" generations, and prune holding every
 * generation while a suspect one stands. Format 3 repositories (a host credential needs
 * one), the smallest KDF cost; every temporary folder is removed when its test ends.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "repo/repo.h"

#define PATHCAP 1024
#define PASS    "guard-test-passphrase"
#define P(s)    (s), strlen(s)

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };
static const struct mm_chunk_params small_chunks = { 4096, 16384, 65536 };

/* ---- helpers ------------------------------------------------------------------------------- */

static char base[256], repo[300], src[300];

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct mm_repo_init_opts io = { 0 };
    const char *t = getenv("TMPDIR");

    (void)state;
    snprintf(base, sizeof(base), "%s/mamori-test-guard-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(base))
        return -1;
    snprintf(repo, sizeof(repo), "%s/repo", base);
    snprintf(src, sizeof(src), "%s/src", base);
    mkdir(src, 0755);
    io.kdf = &kdf_min;
    io.chunk = &small_chunks;
    io.format = 3;
    io.pack_target = 1024 * 1024;
    return mm_repo_init(repo, "alice", P(PASS), &io) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nftw(base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static char *at(char *out, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *at(char *out, const char *f, ...)
{
    char rel[512];
    va_list ap;

    va_start(ap, f);
    vsnprintf(rel, sizeof(rel), f, ap);
    va_end(ap);
    snprintf(out, PATHCAP, "%s/%s", src, rel);
    return out;
}

/* Write @n bytes of @p to @path (truncating in place: the inode stays). */
static void put(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) != 0)
        fail_msg("write '%s': %s", path, strerror(errno));
}

static void puts_file(const char *path, const char *s)
{
    put(path, s, strlen(s));
}

/* Replace @path by a new inode holding @s (written beside it, renamed over it). */
static void replace(const char *path, const char *s)
{
    char tmp[PATHCAP + 8];

    snprintf(tmp, sizeof(tmp), "%s.new", path);
    puts_file(tmp, s);
    if (rename(tmp, path) != 0)
        fail_msg("rename: %s", strerror(errno));
}

static mm_repo *open_repo(void)
{
    mm_repo *r = NULL;

    if (mm_repo_open(&r, repo, "alice", P(PASS)) != 0)
        fail_msg("open: %s", mm_error_last());
    return r;
}

/* ---- a recording observer ------------------------------------------------------------------ */

struct rec {
    enum mm_repo_delta_kind kind;
    char dir[256], name[256], old_name[256];
    uint64_t size, count, before, unchanged;
    int has_old, has_new;
    unsigned char old_content[MM_CRYPTO_ID_SIZE], new_content[MM_CRYPTO_ID_SIZE];
    unsigned char head[MM_REPO_DELTA_HEAD];
    size_t headlen;
};

struct recorder {
    pthread_mutex_t mu;
    struct rec v[256];
    size_t n;
};

static void record(const struct mm_repo_delta *d, void *ctx)
{
    struct recorder *rc = ctx;
    struct rec *x;

    pthread_mutex_lock(&rc->mu);
    if (rc->n == sizeof(rc->v) / sizeof(rc->v[0])) {
        pthread_mutex_unlock(&rc->mu);
        return;
    }
    x = &rc->v[rc->n++];
    memset(x, 0, sizeof(*x));
    x->kind = d->kind;
    snprintf(x->dir, sizeof(x->dir), "%s", d->dir ? d->dir : "(null)");
    snprintf(x->name, sizeof(x->name), "%s", d->name ? d->name : "");
    snprintf(x->old_name, sizeof(x->old_name), "%s", d->old_name ? d->old_name : "");
    x->size = d->size, x->count = d->count, x->before = d->before, x->unchanged = d->unchanged;
    x->has_old = d->has_old, x->has_new = d->has_new;
    memcpy(x->old_content, d->old_content, sizeof(x->old_content));
    memcpy(x->new_content, d->new_content, sizeof(x->new_content));
    if (d->head && d->headlen <= sizeof(x->head))
        memcpy(x->head, d->head, d->headlen);
    x->headlen = d->headlen;
    pthread_mutex_unlock(&rc->mu);
}

/* The one record of @kind for @dir/@name (NULL name: a FOLDER), failing when not exactly one. */
static const struct rec *find(const struct recorder *rc, enum mm_repo_delta_kind kind,
                              const char *dir, const char *name)
{
    const struct rec *hit = NULL;

    for (size_t i = 0; i < rc->n; i++)
        if (rc->v[i].kind == kind && strcmp(rc->v[i].dir, dir) == 0 &&
            strcmp(rc->v[i].name, name ? name : "") == 0) {
            if (hit)
                fail_msg("two records of kind %d for '%s/%s'", kind, dir, name);
            hit = &rc->v[i];
        }
    if (!hit)
        fail_msg("no record of kind %d for '%s/%s'", kind, dir, name ? name : "");
    return hit;
}

/* Records that name @name in any way. */
static size_t about(const struct recorder *rc, const char *name)
{
    size_t k = 0;

    for (size_t i = 0; i < rc->n; i++)
        k += strcmp(rc->v[i].name, name) == 0 || strcmp(rc->v[i].old_name, name) == 0;
    return k;
}

/* ---- a judge ------------------------------------------------------------------------------- */

struct judge {
    const char *verdict, *reasons;
    int fail, called;
    struct mm_repo_counts seen;
};

static int judge_fn(mm_repo *r, const struct mm_repo_counts *c, const char **verdict,
                    const char **reasons, void *ctx)
{
    struct judge *j = ctx;

    (void)r;
    j->called++;
    j->seen = *c;
    if (j->fail)
        return mm_error_set(MM_EIO, "the guard's history cannot be read");
    *verdict = j->verdict;
    *reasons = j->reasons;
    return 0;
}

/* One backup of src with @judge (may be NULL) and @rc (may be NULL) as ctx. */
static int backup(mm_repo *r, struct judge *jd, struct recorder *rc, char id[MM_CRYPTO_HEX_SIZE],
                  int64_t *parent_end)
{
    struct mm_repo_source s = { src, MM_REPO_SOURCE_FOLDER };
    struct mm_repo_backup_opts o = { 0 };

    o.threads = 4;
    o.parent_end_ns = parent_end;
    if (rc) {
        o.delta = record;
        o.ctx = rc;
    }
    if (jd) {
        o.judge = judge_fn;
        o.ctx = jd;
    }
    if (rc && jd)
        fail_msg("one context at a time");
    return mm_repo_backup(r, &s, 1, &o, id, NULL);
}

static void must_backup(mm_repo *r, struct judge *jd, struct recorder *rc,
                        char id[MM_CRYPTO_HEX_SIZE])
{
    if (backup(r, jd, rc, id, NULL) != 0)
        fail_msg("backup: %s", mm_error_last());
}

static void must_judged(mm_repo *r, const char *verdict, char id[MM_CRYPTO_HEX_SIZE])
{
    struct judge jd = { verdict, NULL, 0, 0, { 0 } };

    if (strcmp(verdict, "suspect") == 0)
        jd.reasons = "ssmix2-rewritten 1 10";
    must_backup(r, &jd, NULL, id);
}

/* ---- deltas ------------------------------------------------------------------------------- */

static void delta__every_kind_against_the_parent(void **state)
{
    unsigned char big[10000];
    char p[PATHCAP], q[PATHCAP], id[MM_CRYPTO_HEX_SIZE];
    struct recorder *rc = calloc(1, sizeof(*rc));
    struct timespec ts[2];
    const struct rec *x, *ren, *rep;
    mm_repo *r = open_repo();

    (void)state;
    pthread_mutex_init(&rc->mu, NULL);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 7 + i / 300);
    puts_file(at(p, "inplace.txt"), "first content of the file rewritten in place\n");
    puts_file(at(p, "replaced.txt"), "first content of the file replaced by a new inode\n");
    puts_file(at(p, "msg_1"), "MSH|^~\\&|old message, renamed to _2 by an update\r");
    puts_file(at(p, "touched.txt"), "same content, new times\n");
    puts_file(at(p, "gone.txt"), "deleted before the second backup\n");
    puts_file(at(p, "kept.txt"), "never changes\n");
    put(at(p, "big.bin"), big, sizeof(big));
    mkdir(at(p, "old"), 0755);
    mkdir(at(p, "old/deep"), 0755);
    for (int i = 0; i < 5; i++)
        puts_file(at(p, "old/f%d", i), "a file of a folder deleted whole\n");
    for (int i = 0; i < 2; i++)
        puts_file(at(p, "old/deep/g%d", i), "a file deeper in it\n");
    mkdir(at(p, "sub"), 0755);
    puts_file(at(p, "sub/stay.txt"), "in a subfolder\n");
    must_backup(r, NULL, NULL, id);

    /* the day's changes */
    puts_file(at(p, "inplace.txt"), "ENCRYPTED!! rewritten in place, the inode stays....\n");
    replace(at(p, "replaced.txt"), "second content under the old name, another inode\n");
    rename(at(p, "msg_1"), at(q, "msg_2"));
    puts_file(at(p, "msg_1"), "MSH|^~\\&|the new message under the old name\r");
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[1] = ts[0];
    ts[1].tv_sec -= 3600;
    utimensat(AT_FDCWD, at(p, "touched.txt"), ts, 0);
    unlink(at(p, "gone.txt"));
    for (int i = 0; i < 5; i++)
        unlink(at(p, "old/f%d", i));
    for (int i = 0; i < 2; i++)
        unlink(at(p, "old/deep/g%d", i));
    rmdir(at(p, "old/deep"));
    rmdir(at(p, "old"));
    puts_file(at(p, "added.txt"), "a new file\n");
    puts_file(at(p, "sub/new.txt"), "a new file in a subfolder\n");
    big[0] ^= 0xff;
    big[9000] ^= 0xff;
    put(at(p, "big.bin"), big, sizeof(big));
    must_backup(r, NULL, rc, id);

    x = find(rc, MM_REPO_DELTA_ADDED, "", "added.txt");
    assert_true(x->has_new && !x->has_old);
    assert_int_equal(x->headlen, strlen("a new file\n"));
    assert_memory_equal(x->head, "a new file\n", x->headlen);
    x = find(rc, MM_REPO_DELTA_ADDED, "sub", "new.txt");
    assert_int_equal(x->size, strlen("a new file in a subfolder\n"));
    x = find(rc, MM_REPO_DELTA_MODIFIED, "", "inplace.txt");
    assert_true(x->has_old && x->has_new);
    assert_memory_not_equal(x->old_content, x->new_content, MM_CRYPTO_ID_SIZE);
    assert_memory_equal(x->head, "ENCRYPTED!!", 11);
    find(rc, MM_REPO_DELTA_REPLACED, "", "replaced.txt");
    /* the SS-MIX2 update: the old _1 renamed to _2, a new _1 under the old name, and the
     * renamed file's content is the replaced file's old content */
    ren = find(rc, MM_REPO_DELTA_RENAMED, "", "msg_2");
    assert_string_equal(ren->old_name, "msg_1");
    rep = find(rc, MM_REPO_DELTA_REPLACED, "", "msg_1");
    assert_memory_equal(ren->old_content, rep->old_content, MM_CRYPTO_ID_SIZE);
    assert_memory_equal(ren->new_content, ren->old_content, MM_CRYPTO_ID_SIZE);
    x = find(rc, MM_REPO_DELTA_TOUCHED, "", "touched.txt");
    assert_memory_equal(x->old_content, x->new_content, MM_CRYPTO_ID_SIZE);
    x = find(rc, MM_REPO_DELTA_DELETED, "", "gone.txt");
    assert_int_equal(x->count, 1);
    assert_true(x->has_old);
    x = find(rc, MM_REPO_DELTA_DELETED, "", "old");
    assert_int_equal(x->count, 7); /* counted from the parent's trees, the deep folder too */
    x = find(rc, MM_REPO_DELTA_MODIFIED, "", "big.bin");
    assert_int_equal(x->headlen, MM_REPO_DELTA_HEAD);
    assert_memory_equal(x->head, big, MM_REPO_DELTA_HEAD);
    /* the top folder: files now, before, kept unread (kept.txt and the renamed msg_2) */
    x = find(rc, MM_REPO_DELTA_FOLDER, "", NULL);
    assert_int_equal(x->count, 8);
    assert_int_equal(x->before, 7);
    assert_int_equal(x->unchanged, 2);
    x = find(rc, MM_REPO_DELTA_FOLDER, "sub", NULL);
    assert_int_equal(x->count, 2);
    assert_int_equal(x->before, 1);
    assert_int_equal(x->unchanged, 1);
    assert_int_equal(about(rc, "kept.txt"), 0); /* unchanged files are not told one by one */
    assert_int_equal(about(rc, "stay.txt"), 0);
    assert_int_equal(rc->n, 12);

    /* nothing changed: folders only; and without an observer nothing is told at all */
    rc->n = 0;
    must_backup(r, NULL, rc, id);
    for (size_t i = 0; i < rc->n; i++)
        assert_int_equal(rc->v[i].kind, MM_REPO_DELTA_FOLDER);
    assert_int_equal(rc->n, 2);
    rc->n = 0;
    puts_file(at(p, "added2.txt"), "another new file\n");
    must_backup(r, NULL, NULL, id);
    assert_int_equal(rc->n, 0);
    pthread_mutex_destroy(&rc->mu);
    free(rc);
    mm_repo_free(r);
}

/*
 * An inode that comes back under a name the parent's folder had with another inode, with
 * the size and mtime of the file it once belonged to (a ransomware replacing files and
 * setting their times back can make the file system reuse the freed inode), is not taken for
 * a rename: the file is read, and its new content is what the generation holds.
 */
static void delta__inode_back_under_a_known_name_is_read(void **state)
{
    char p[PATHCAP], q[PATHCAP], id[MM_CRYPTO_HEX_SIZE];
    struct recorder *rc = calloc(1, sizeof(*rc));
    struct timespec ts[2] = { { 1700000000, 0 }, { 1700000000, 0 } };
    const struct rec *x;
    mm_repo *r = open_repo();

    (void)state;
    pthread_mutex_init(&rc->mu, NULL);
    puts_file(at(p, "a.txt"), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
    puts_file(at(q, "b.txt"), "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\n");
    utimensat(AT_FDCWD, p, ts, 0);
    utimensat(AT_FDCWD, q, ts, 0);
    must_backup(r, NULL, NULL, id);

    /* b.txt now holds a.txt's inode, rewritten with the same size, its times set back */
    if (rename(p, q) != 0)
        fail_msg("rename: %s", strerror(errno));
    puts_file(q, "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC\n");
    utimensat(AT_FDCWD, q, ts, 0);
    must_backup(r, NULL, rc, id);
    assert_int_equal(about(rc, "a.txt"), 1); /* gone: deleted, never the source of a rename */
    find(rc, MM_REPO_DELTA_DELETED, "", "a.txt");
    x = find(rc, MM_REPO_DELTA_REPLACED, "", "b.txt");
    assert_memory_equal(x->head, "CCCC", 4);
    pthread_mutex_destroy(&rc->mu);
    free(rc);
    mm_repo_free(r);
}

/* A format 3 host handle (its parent from the host catalog) reports deltas the same way. */
static void delta__host_handle_with_its_catalog(void **state)
{
    char p[PATHCAP], q[PATHCAP], cred[400], cat[400], id[MM_CRYPTO_HEX_SIZE];
    struct recorder *rc = calloc(1, sizeof(*rc));
    struct mm_repo_source s = { src, MM_REPO_SOURCE_FOLDER };
    struct mm_repo_backup_opts o = { 0 };
    struct mm_repo_catalog_report rep = { 0 };
    const struct rec *x;
    mm_repo *r = open_repo(), *h = NULL;

    (void)state;
    pthread_mutex_init(&rc->mu, NULL);
    snprintf(cred, sizeof(cred), "%s/host.cred", base);
    snprintf(cat, sizeof(cat), "%s/catalog", base);
    assert_int_equal(mm_repo_host_enroll(r, "nightly", 30, cred), 0);
    mm_repo_free(r);
    puts_file(at(p, "inplace.txt"), "first content, rewritten in place later\n");
    puts_file(at(p, "msg_1"), "MSH|^~\\&|old message\r");
    puts_file(at(p, "gone.txt"), "deleted\n");
    o.catalog_dir = cat;
    o.catalog_report = &rep;
    o.delta = record;
    o.ctx = rc;
    assert_int_equal(mm_repo_open_host(&h, repo, cred), 0);
    assert_int_equal(mm_repo_backup(h, &s, 1, &o, id, NULL), 0); /* no catalog yet: no parent */
    for (size_t i = 0; i < rc->n; i++)
        assert_true(rc->v[i].kind == MM_REPO_DELTA_FOLDER || rc->v[i].kind == MM_REPO_DELTA_ADDED);
    mm_repo_free(h);

    puts_file(at(p, "inplace.txt"), "ENCRYPTED!! first content, rewritten in place\n");
    rename(at(p, "msg_1"), at(q, "msg_2"));
    puts_file(at(p, "msg_1"), "MSH|^~\\&|new message\r");
    unlink(at(p, "gone.txt"));
    rc->n = 0;
    assert_int_equal(mm_repo_open_host(&h, repo, cred), 0);
    assert_int_equal(mm_repo_backup(h, &s, 1, &o, id, NULL), 0);
    assert_true(rep.used && !rep.lost);
    find(rc, MM_REPO_DELTA_MODIFIED, "", "inplace.txt");
    assert_string_equal(find(rc, MM_REPO_DELTA_RENAMED, "", "msg_2")->old_name, "msg_1");
    find(rc, MM_REPO_DELTA_REPLACED, "", "msg_1");
    assert_int_equal(find(rc, MM_REPO_DELTA_DELETED, "", "gone.txt")->count, 1);
    x = find(rc, MM_REPO_DELTA_FOLDER, "", NULL);
    assert_int_equal(x->count, 3);
    assert_int_equal(x->before, 3);
    assert_int_equal(rc->n, 5);
    /* the host learns when its parent was written from its catalog (the guard pairs moves
     * between folders only when there is a parent, and scales shares by the days between) */
    {
        struct mm_repo_gen last;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        assert_int_equal(mm_repo_catalog_last(h, cat, &last), 0);
        assert_true(last.end_ns > (int64_t)(now.tv_sec - 60) * 1000000000);
        assert_true(last.end_ns <= (int64_t)(now.tv_sec + 1) * 1000000000);
    }
    mm_repo_free(h);
    pthread_mutex_destroy(&rc->mu);
    free(rc);
}

/* ---- the judge ----------------------------------------------------------------------------- */

static void judge__verdict_and_reasons_land_in_the_manifest(void **state)
{
    char id1[MM_CRYPTO_HEX_SIZE], id2[MM_CRYPTO_HEX_SIZE], p[PATHCAP], *longr;
    struct judge jd = { "clean", NULL, 0, 0, { 0 } };
    struct mm_repo_gen *g = NULL, one;
    int64_t pend = -1;
    size_t n = 0, len;
    mm_repo *r = open_repo();

    (void)state;
    puts_file(at(p, "a.txt"), "content\n");
    assert_int_equal(backup(r, NULL, NULL, id1, &pend), 0);
    assert_int_equal(pend, 0); /* no parent */
    assert_int_equal(mm_repo_gen_find(r, id1, &one), 0);
    assert_string_equal(one.guard, "none"); /* no judge: "none" */
    int64_t end1 = one.end_ns;
    mm_repo_gen_release(&one);

    jd.verdict = "suspect";
    jd.reasons = "ssmix2-rewritten 12 40213\nransom-note 3";
    puts_file(at(p, "b.txt"), "more\n");
    assert_int_equal(backup(r, &jd, NULL, id2, &pend), 0);
    assert_int_equal(pend, end1);
    assert_int_equal(jd.called, 1);
    assert_int_equal(jd.seen.files, 2);
    assert_int_equal(mm_repo_generations(r, &g, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(g[1].guard, "suspect");
    assert_string_equal(g[1].guard_reasons, "ssmix2-rewritten 12 40213\nransom-note 3");
    assert_false(g[1].guard_accepted);
    assert_false(mm_repo_gen_good(&g[1]));
    assert_true(mm_repo_gen_good(&g[0]));
    assert_int_equal(mm_repo_gen_standing(g, n), 1);
    mm_repo_gens_free(g, n);

    /* reasons longer than the manifest keeps: cut after the last whole line */
    len = MM_REPO_GUARD_REASONS_MAX + 200;
    longr = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        longr[i] = i % 20 == 19 ? '\n' : 'a' + (char)(i % 20);
    longr[len] = '\0';
    jd.verdict = "clean";
    jd.reasons = longr;
    assert_int_equal(backup(r, &jd, NULL, id2, NULL), 0);
    assert_int_equal(mm_repo_gen_find(r, id2, &one), 0);
    assert_string_equal(one.guard, "clean");
    assert_true(strlen(one.guard_reasons) <= MM_REPO_GUARD_REASONS_MAX);
    assert_true(strlen(one.guard_reasons) > MM_REPO_GUARD_REASONS_MAX - 20);
    assert_int_equal(one.guard_reasons[strlen(one.guard_reasons) - 1], 's'); /* a line's end */
    assert_memory_equal(one.guard_reasons, longr, strlen(one.guard_reasons));
    mm_repo_gen_release(&one);
    free(longr);

    /* an unknown verdict and a judge's error stop the backup: no manifest is written */
    jd.reasons = NULL;
    jd.verdict = "maybe";
    assert_int_equal(backup(r, &jd, NULL, id2, NULL), MM_EINVAL);
    jd.verdict = "clean";
    jd.fail = 1;
    puts_file(at(p, "c.txt"), "still more\n");
    assert_int_equal(backup(r, &jd, NULL, id2, NULL), MM_EIO);
    assert_int_equal(mm_repo_generations(r, &g, &n), 0);
    assert_int_equal(n, 3);
    mm_repo_gens_free(g, n);
    mm_repo_free(r);
}

/* ---- acceptance records -------------------------------------------------------------------- */

static void flip(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    int c;

    assert_non_null(f);
    fseek(f, off, off < 0 ? SEEK_END : SEEK_SET);
    c = fgetc(f);
    fseek(f, -1, SEEK_CUR);
    fputc(c ^ 0x20, f);
    fclose(f);
}

static uint64_t verify_damage(mm_repo *r)
{
    struct mm_repo_verify_stats st;

    assert_int_equal(mm_repo_verify(r, NULL, &st), 0);
    return st.damaged_copies;
}

static void accept__signed_record_checked_and_refused_to_hosts(void **state)
{
    char id1[MM_CRYPTO_HEX_SIZE], id2[MM_CRYPTO_HEX_SIZE], p[PATHCAP], rec[PATHCAP + 80];
    char rec2[PATHCAP + 90], cred[PATHCAP];
    struct mm_repo_guard_accept a;
    struct mm_repo_gen g;
    mm_repo *r = open_repo(), *h = NULL;

    (void)state;
    puts_file(at(p, "a.txt"), "content\n");
    must_judged(r, "clean", id1);
    puts_file(at(p, "a.txt"), "rewritten\n");
    must_judged(r, "suspect", id2);
    assert_int_equal(mm_repo_guard_accepted(r, id2, &a), 0); /* no guard/ yet: fine */
    assert_int_equal(mm_repo_gen_find(r, "good", &g), 0);
    assert_string_equal(g.id, id1);
    mm_repo_gen_release(&g);

    assert_int_equal(mm_repo_guard_accept(r, id1, "no", NULL), MM_EINVAL); /* not suspect */
    assert_int_equal(mm_repo_guard_accept(r, id2, "bad\nline", NULL), MM_EINVAL);
    assert_int_equal(mm_repo_guard_accept(r, id2, "the billing system's yearly rewrite", &a), 0);
    assert_string_equal(a.gen, id2);
    assert_string_equal(a.user, "alice");
    assert_int_equal(mm_repo_guard_accept(r, id2, "again", NULL), MM_EINVAL); /* accepted */
    memset(&a, 0, sizeof(a));
    assert_int_equal(mm_repo_guard_accepted(r, id2, &a), 1);
    assert_string_equal(a.reason, "the billing system's yearly rewrite");
    assert_true(a.time_ns > 0);
    assert_int_equal(mm_repo_gen_find(r, "good", &g), 0);
    assert_string_equal(g.id, id2);
    assert_true(g.guard_accepted);
    mm_repo_gen_release(&g);
    assert_int_equal(verify_damage(r), 0);

    /* a host credential checks the record with the master's public key, and cannot write */
    snprintf(cred, sizeof(cred), "%s/host.cred", base);
    assert_int_equal(mm_repo_host_enroll(r, "nightly", 30, cred), 0);
    assert_int_equal(mm_repo_open_host(&h, repo, cred), 0);
    assert_int_equal(mm_repo_guard_accepted(h, id2, NULL), 1);
    assert_int_equal(mm_repo_guard_accept(h, id2, "owned host", NULL), MM_EREFUSED);
    assert_int_equal(mm_repo_guard_accept(h, "latest", "owned host", NULL), MM_EREFUSED);

    /* a damaged first copy: the second serves, verify reports the copy */
    snprintf(rec, sizeof(rec), "%s/guard/%s", repo, id2);
    snprintf(rec2, sizeof(rec2), "%s.2", rec);
    flip(rec, 70);
    mm_repo_free(r);
    r = open_repo();
    assert_int_equal(mm_repo_guard_accepted(r, id2, NULL), 1);
    assert_int_equal(verify_damage(r), 1);
    /* both copies forged (the reason changed): it does not verify, a listing still works and
     * counts the generation as not accepted, verify counts it as damage (exit 3) */
    flip(rec2, 70);
    mm_repo_free(r);
    r = open_repo();
    assert_int_equal(mm_repo_guard_accepted(r, id2, NULL), MM_ECORRUPT);
    assert_int_equal(mm_repo_guard_accepted(h, id2, NULL), MM_ECORRUPT);
    assert_int_equal(mm_repo_gen_find(r, id2, &g), 0);
    assert_false(g.guard_accepted);
    mm_repo_gen_release(&g);
    assert_int_equal(mm_repo_gen_find(r, "good", &g), 0);
    assert_string_equal(g.id, id1);
    mm_repo_gen_release(&g);
    assert_true(verify_damage(r) >= 1);
    mm_repo_free(h);
    mm_repo_free(r);
}

static void accept__record_of_another_generation_does_not_verify(void **state)
{
    char id1[MM_CRYPTO_HEX_SIZE], id2[MM_CRYPTO_HEX_SIZE], p[PATHCAP], from[400];
    char to[400], cmd[2000];
    struct mm_repo_gen g;
    mm_repo *r = open_repo();

    (void)state;
    puts_file(at(p, "a.txt"), "content\n");
    must_judged(r, "suspect", id1);
    puts_file(at(p, "a.txt"), "rewritten\n");
    must_judged(r, "suspect", id2);
    assert_int_equal(mm_repo_guard_accept(r, id1, "false alarm", NULL), 0);
    /* the signed record of id1 copied as id2's: refused (the generation ID is signed) */
    snprintf(from, sizeof(from), "%s/guard/%s", repo, id1);
    snprintf(to, sizeof(to), "%s/guard/%s", repo, id2);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s' '%s.2'", from, to, from, to);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(mm_repo_guard_accepted(r, id2, NULL), MM_ECORRUPT);
    assert_int_equal(mm_repo_guard_accepted(r, id1, NULL), 1);
    assert_int_equal(mm_repo_gen_find(r, "good", &g), 0); /* the accepted one */
    assert_string_equal(g.id, id1);
    mm_repo_gen_release(&g);
    assert_int_equal(mm_repo_guard_accept(r, id2, "re-accepted by a person", NULL), 0);
    assert_int_equal(mm_repo_guard_accepted(r, id2, NULL), 1);
    mm_repo_free(r);
    /* no good generation at all */
    teardown(NULL);
    assert_int_equal(setup(NULL), 0);
    r = open_repo();
    must_judged(r, "suspect", id1);
    assert_int_equal(mm_repo_gen_find(r, "good", &g), MM_ENOTFOUND);
    mm_repo_free(r);
}

/* ---- prune --------------------------------------------------------------------------------- */

struct fates {
    char why[8][64];
    int keep[8];
    size_t n;
};

static void fate_fn(const struct mm_repo_gen *g, int keep, const char *why, void *ctx)
{
    struct fates *f = ctx;

    (void)g;
    if (f->n < 8) {
        snprintf(f->why[f->n], sizeof(f->why[0]), "%s", why);
        f->keep[f->n++] = keep;
    }
}

static void prune__holds_everything_while_a_suspect_stands(void **state)
{
    char ids[4][MM_CRYPTO_HEX_SIZE], p[PATHCAP];
    struct mm_repo_keep k = { 1, 0, 0, 0 };
    struct mm_repo_prune_stats ps;
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats vs;
    struct fates f = { 0 };
    mm_repo *r = open_repo();

    (void)state;
    for (int i = 0; i < 3; i++) {
        char text[32];
        snprintf(text, sizeof(text), "day %d\n", i);
        puts_file(at(p, "a.txt"), text);
        must_judged(r, i < 2 ? "clean" : "suspect", ids[i]);
    }
    assert_int_equal(mm_repo_prune(r, &k, 0, fate_fn, &f, NULL, &ps), 0);
    assert_int_equal(ps.gens_removed, 0);
    assert_int_equal(f.n, 3);
    assert_string_equal(f.why[0], "before a suspect generation (guard)");
    assert_string_equal(f.why[1], "before a suspect generation (guard)");
    assert_string_equal(f.why[2], "last");
    assert_true(f.keep[0] && f.keep[1]);

    /* accepted: the older ones go as the policy says, and their records with them */
    assert_int_equal(mm_repo_guard_accept(r, ids[2], "a planned migration", NULL), 0);
    f.n = 0;
    assert_int_equal(mm_repo_prune(r, &k, 0, fate_fn, &f, NULL, &ps), 0);
    assert_int_equal(ps.gens_removed, 2);

    /* the "newest verified clean" floor counts good generations only */
    puts_file(at(p, "a.txt"), "day 3\n");
    must_judged(r, "clean", ids[0]);
    puts_file(at(p, "a.txt"), "day 4\n");
    must_judged(r, "suspect", ids[3]); /* not accepted; a clean one follows: not standing */
    vo.read_data = 1;
    assert_int_equal(mm_repo_verify(r, &vo, &vs), 0); /* all three verified */
    assert_int_equal(vs.damaged_generations + vs.damaged_copies, 0);
    puts_file(at(p, "a.txt"), "day 5\n");
    must_judged(r, "clean", ids[1]);
    f.n = 0;
    assert_int_equal(mm_repo_prune(r, &k, 1, fate_fn, &f, NULL, &ps), 0);
    assert_int_equal(f.n, 4);
    assert_false(f.keep[0]); /* the accepted suspect: verified, but not the newest good */
    assert_string_equal(f.why[1], "newest verified clean");
    assert_false(f.keep[2]); /* suspect, verified: not counted as clean */
    assert_string_equal(f.why[3], "last");
    mm_repo_free(r);
}

/* ---- key rotation ----------------------------------------------------------------------- */

static void rotate__carries_acceptance_signed_with_the_new_key(void **state)
{
    char ids[3][MM_CRYPTO_HEX_SIZE], p[PATHCAP], to[400], work[400];
    struct mm_repo_rotate_opts ro = { 0 };
    struct mm_repo_guard_accept a;
    struct mm_repo_gen *g = NULL;
    size_t n = 0;
    mm_repo *r = open_repo(), *nr = NULL;

    (void)state;
    for (int i = 0; i < 3; i++) {
        char text[32];
        snprintf(text, sizeof(text), "day %d\n", i);
        puts_file(at(p, "a.txt"), text);
        must_judged(r, i == 0 ? "clean" : "suspect", ids[i]);
    }
    assert_int_equal(mm_repo_guard_accept(r, ids[1], "a planned migration", NULL), 0);
    snprintf(to, sizeof(to), "%s/rotated", base);
    snprintf(work, sizeof(work), "%s/work", base);
    ro.user = "alice";
    ro.pass = PASS;
    ro.passlen = strlen(PASS);
    ro.kdf = &kdf_min;
    ro.work = work;
    if (mm_repo_rotate(r, to, &ro, &nr, NULL) != 0)
        fail_msg("rotate: %s", mm_error_last());
    assert_int_equal(mm_repo_generations(nr, &g, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(g[1].guard, "suspect");
    assert_true(g[1].guard_accepted); /* carried: signed again by the new master key */
    assert_false(g[2].guard_accepted);
    assert_int_equal(mm_repo_gen_standing(g, n), 2);
    assert_int_equal(mm_repo_guard_accepted(nr, g[1].id, &a), 1);
    assert_string_equal(a.reason, "a planned migration");
    assert_string_equal(a.user, "alice");
    assert_int_equal(verify_damage(nr), 0);
    mm_repo_gens_free(g, n);
    mm_repo_free(nr);
    mm_repo_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(delta__every_kind_against_the_parent, setup, teardown),
        cmocka_unit_test_setup_teardown(delta__inode_back_under_a_known_name_is_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(delta__host_handle_with_its_catalog, setup, teardown),
        cmocka_unit_test_setup_teardown(judge__verdict_and_reasons_land_in_the_manifest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(accept__signed_record_checked_and_refused_to_hosts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(accept__record_of_another_generation_does_not_verify, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(prune__holds_everything_while_a_suspect_stands, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(rotate__carries_acceptance_signed_with_the_new_key, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
