/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The repository over a backend it does not know (repo_backend.h): an in-memory store (a
 * table of name -> bytes) handed to mm_repo_init_be / mm_repo_open_be. init, a backup of a
 * small folder, a byte-exact restore, a clean read-verify and a prune run over it, so nothing
 * above the interface reaches for a file of its own. The store can mimic Object Lock (files
 * written ONCE cannot be removed: MM_EREFUSED) and a queuing writer (a write is stored only
 * at the next flush; a failing flush drops the queue): then nothing counts as stored before
 * its flush, and a backup whose flush fails fails and leaves the earlier generation whole.
 * Only the source and restore folders are on disk, in a temporary folder removed at the end.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "os/os.h"
#include "repo/repo.h"
#include "repo/repo_backend.h"

#define PASS "backend-test: correct horse battery staple"
#define P(s) (s), strlen(s)
#define LOC  "mem://store" /* names the repository in messages; no such folder is made */

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };
static const struct mm_chunk_params small_chunks = { 4096, 16384, 65536 };

/* ---- the in-memory store ------------------------------------------------------------------- */

struct mfile {
    char *name;
    unsigned char *p;
    size_t n;
    int kind;
};

struct mfiles {
    struct mfile *v;
    size_t n, cap;
};

/* What outlives a handle: the files, and how the store behaves. */
struct store {
    pthread_mutex_t mu;
    struct mfiles files;
    int lock;       /* ONCE files cannot be removed (Object Lock) */
    int queued;     /* writes wait for flush */
    int fail_packs; /* a flush whose queue holds a pack fails and drops the queue */
    unsigned flushes, failed_flushes;
};

struct mem_be {
    struct mm_repo_be base;
    struct store *s;
    struct mfiles queue; /* under s->mu */
};

static struct mfile *find(struct mfiles *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].name, name) == 0)
            return &f->v[i];
    return NULL;
}

static void mfile_free(struct mfile *f)
{
    free(f->name);
    free(f->p);
}

static void mfiles_free(struct mfiles *f)
{
    for (size_t i = 0; i < f->n; i++)
        mfile_free(&f->v[i]);
    free(f->v);
    memset(f, 0, sizeof(*f));
}

/* Put @n bytes as @name (replacing one there). */
static void put(struct mfiles *f, const char *name, const void *p, size_t n, int kind)
{
    struct mfile *x = find(f, name);

    if (!x) {
        if (f->n == f->cap) {
            f->cap = f->cap ? 2 * f->cap : 64;
            f->v = realloc(f->v, f->cap * sizeof(*f->v));
            assert_non_null(f->v);
        }
        x = &f->v[f->n++];
        x->name = strdup(name);
    } else {
        free(x->p);
    }
    x->p = malloc(n ? n : 1);
    assert_non_null(x->name);
    assert_non_null(x->p);
    memcpy(x->p, p, n);
    x->n = n;
    x->kind = kind;
}

static struct store *store_of(struct mm_repo_be *b)
{
    return ((struct mem_be *)b)->s;
}

static int m_read(struct mm_repo_be *b, const char *rel, mm_buf *out)
{
    struct store *s = store_of(b);
    struct mfile *f;
    int err;

    pthread_mutex_lock(&s->mu);
    f = find(&s->files, rel);
    err = f ? mm_buf_put(out, f->p, f->n) : mm_error_set(MM_ENOTFOUND, "'%s' is missing", rel);
    pthread_mutex_unlock(&s->mu);
    return err;
}

static int m_read_at(struct mm_repo_be *b, const char *rel, uint64_t off, void *dst, size_t n)
{
    struct store *s = store_of(b);
    struct mfile *f;
    int err = 0;

    pthread_mutex_lock(&s->mu);
    if (!(f = find(&s->files, rel)))
        err = mm_error_set(MM_ENOTFOUND, "'%s' is missing", rel);
    else if (off > f->n || n > f->n - off)
        err = mm_error_set(MM_ECORRUPT, "'%s' is shorter than its index says", rel);
    else
        memcpy(dst, f->p + off, n);
    pthread_mutex_unlock(&s->mu);
    return err;
}

static int m_stat(struct mm_repo_be *b, const char *rel, uint64_t *size)
{
    struct store *s = store_of(b);
    struct mfile *f;

    pthread_mutex_lock(&s->mu);
    f = find(&s->files, rel);
    if (f)
        *size = f->n;
    pthread_mutex_unlock(&s->mu);
    return f ? 0 : mm_error_set(MM_ENOTFOUND, "'%s' is missing", rel);
}

static int m_write(struct mm_repo_be *b, const char *rel, const void *p, size_t n, int kind)
{
    struct mem_be *m = (struct mem_be *)b;
    struct store *s = m->s;

    assert_true(kind == MM_REPO_BE_ONCE || kind == MM_REPO_BE_REPLACE);
    assert_true(rel[0] != '/' && !strstr(rel, "..") && !strstr(rel, "//"));
    pthread_mutex_lock(&s->mu);
    if (kind == MM_REPO_BE_REPLACE || !find(&s->files, rel))
        put(s->queued ? &m->queue : &s->files, rel, p, n, kind);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int m_list(struct mm_repo_be *b, const char *dir, struct mm_repo__names *l,
                  const char *prefix)
{
    struct store *s = store_of(b);
    size_t dl = strlen(dir);
    int err = 0;

    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->files.n && err == 0; i++) {
        const char *name = s->files.v[i].name;
        if (strncmp(name, dir, dl) == 0 && name[dl] == '/' && !strchr(name + dl + 1, '/') &&
            mm_repo_be_listed_name(name + dl + 1))
            err = mm_repo_be_names_push(l, prefix, name + dl + 1);
    }
    pthread_mutex_unlock(&s->mu);
    return err;
}

static int m_remove(struct mm_repo_be *b, const char *rel)
{
    struct store *s = store_of(b);
    struct mfile *f;
    int err = 0;

    pthread_mutex_lock(&s->mu);
    if ((f = find(&s->files, rel)) != NULL) {
        if (s->lock && f->kind == MM_REPO_BE_ONCE) {
            err = mm_error_set(MM_EREFUSED, "'%s' is retained until 2099-01-01", rel);
        } else {
            mfile_free(f);
            *f = s->files.v[--s->files.n];
        }
    }
    pthread_mutex_unlock(&s->mu);
    return err;
}

static int m_flush(struct mm_repo_be *b)
{
    struct mem_be *m = (struct mem_be *)b;
    struct store *s = m->s;
    int fail = 0;

    pthread_mutex_lock(&s->mu);
    s->flushes++;
    for (size_t i = 0; i < m->queue.n && s->fail_packs; i++)
        fail |= strncmp(m->queue.v[i].name, "data/", 5) == 0;
    for (size_t i = 0; i < m->queue.n && !fail; i++) {
        struct mfile *q = &m->queue.v[i];
        if (q->kind == MM_REPO_BE_REPLACE || !find(&s->files, q->name))
            put(&s->files, q->name, q->p, q->n, q->kind);
    }
    s->failed_flushes += fail;
    mfiles_free(&m->queue);
    pthread_mutex_unlock(&s->mu);
    return fail ? mm_error_set(MM_EIO, "cannot store a pack: the store went away") : 0;
}

static void m_close(struct mm_repo_be *b)
{
    struct mem_be *m = (struct mem_be *)b;

    mfiles_free(&m->queue); /* not flushed: abandoned */
    free(m);
}

static const struct mm_repo_be_ops mem_ops = {
    .read = m_read,
    .read_at = m_read_at,
    .stat = m_stat,
    .write = m_write,
    .list = m_list,
    .remove = m_remove,
    .flush = m_flush,
    .close = m_close,
};

/* A new handle on @s (the repository takes it over). */
static struct mm_repo_be *mem_be(struct store *s)
{
    struct mem_be *m = calloc(1, sizeof(*m));

    assert_non_null(m);
    m->base.ops = &mem_ops;
    m->base.where = (char *)LOC;
    m->base.info.scheme = "mem";
    m->s = s;
    return &m->base;
}

static struct store *store_new(void)
{
    struct store *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

static void store_free(struct store *s)
{
    mfiles_free(&s->files);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static size_t store_count(struct store *s, const char *prefix)
{
    size_t n = 0;

    for (size_t i = 0; i < s->files.n; i++)
        n += strncmp(s->files.v[i].name, prefix, strlen(prefix)) == 0;
    return n;
}

/* ---- folders on disk: the source and the restores ------------------------------------------ */

static char tmp[512];

static void path_of(char *out, const char *a, const char *b)
{
    assert_true((size_t)snprintf(out, 1024, "%s/%s", a, b) < 1024);
}

static void write_file(const char *dir, const char *name, size_t n, unsigned seed)
{
    char p[1024];
    FILE *f;

    path_of(p, dir, name);
    assert_non_null(f = fopen(p, "wb"));
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        fputc((int)(seed >> 16) & 0xff, f);
    }
    assert_int_equal(fclose(f), 0);
}

/* A small folder: text, an empty file, a file of several chunks, a subfolder. */
static void make_src(const char *src)
{
    char sub[1024];

    assert_int_equal(mkdir(src, 0755), 0);
    path_of(sub, src, "sub");
    assert_int_equal(mkdir(sub, 0755), 0);
    write_file(src, "a.txt", 100, 1);
    write_file(src, "empty", 0, 2);
    write_file(src, "big.bin", 200000, 3);
    write_file(sub, "b.hl7", 5000, 4);
}

/* Whether the files below @a and @b are the same (names, sizes, bytes), recursively. */
static void same_tree(const char *a, const char *b)
{
    DIR *d = opendir(a);
    struct dirent *e;
    size_t na = 0, nb = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char pa[1024], pb[1024];
        struct stat sa, sb;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        na++;
        path_of(pa, a, e->d_name);
        path_of(pb, b, e->d_name);
        assert_int_equal(lstat(pa, &sa), 0);
        if (lstat(pb, &sb) != 0)
            fail_msg("'%s' was not restored", pb);
        if (S_ISDIR(sa.st_mode)) {
            assert_true(S_ISDIR(sb.st_mode));
            same_tree(pa, pb);
            continue;
        }
        assert_int_equal(sa.st_size, sb.st_size);
        {
            mm_buf x, y;
            mm_buf_init(&x, 1 << 20);
            mm_buf_init(&y, 1 << 20);
            assert_int_equal(mm_os_read_file(pa, &x), 0);
            assert_int_equal(mm_os_read_file(pb, &y), 0);
            assert_true(x.len == y.len && memcmp(x.ptr, y.ptr, x.len) == 0);
            mm_buf_release(&x);
            mm_buf_release(&y);
        }
    }
    closedir(d);
    assert_non_null(d = opendir(b));
    while ((e = readdir(d)) != NULL)
        nb += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    assert_int_equal(na, nb);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int remove_tmp(void **state)
{
    (void)state;
    if (tmp[0])
        nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    tmp[0] = '\0';
    return 0;
}

static void make_tmp(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmp, sizeof(tmp), "%s/mm-test-repo-backend-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(tmp));
}

/* ---- the repository over it ---------------------------------------------------------------- */

static void init_on(struct store *s)
{
    struct mm_repo_init_opts o = { 0 };

    o.kdf = &kdf_min;
    o.chunk = &small_chunks;
    o.pack_target = 1024 * 1024;
    if (mm_repo_init_be(LOC, mem_be(s), "alice", P(PASS), &o) != 0)
        fail_msg("init: %s", mm_error_last());
}

static mm_repo *open_on(struct store *s)
{
    mm_repo *r = NULL;

    if (mm_repo_open_be(&r, LOC, mem_be(s), "alice", P(PASS)) != 0)
        fail_msg("open: %s", mm_error_last());
    return r;
}

static int backup(mm_repo *r, const char *dir, char id[MM_CRYPTO_HEX_SIZE])
{
    struct mm_repo_source src = { dir, MM_REPO_SOURCE_FOLDER };
    struct mm_repo_backup_opts o = { 0 };
    struct mm_repo_counts c;

    o.threads = 2;
    return mm_repo_backup(r, &src, 1, &o, id, &c);
}

static void restore_same(mm_repo *r, const char *gen, const char *to, const char *src)
{
    struct mm_repo_restore_opts o = { 0 };
    struct mm_repo_restore_stats st;
    char top[1024];

    if (mm_repo_restore(r, gen, to, &o, &st) != 0)
        fail_msg("restore '%s': %s", gen, mm_error_last());
    path_of(top, to, "src"); /* a folder source is restored under its name */
    same_tree(src, top);
}

static void verify_clean(mm_repo *r)
{
    struct mm_repo_verify_opts o = { 0 };
    struct mm_repo_verify_stats v = { 0 };

    o.read_data = 1;
    if (mm_repo_verify(r, &o, &v) != 0)
        fail_msg("verify: %s", mm_error_last());
    assert_int_equal(v.damaged_generations + v.damaged_packs + v.damaged_objects +
                             v.missing_objects + v.damaged_files,
                     0);
}

static size_t generations(mm_repo *r)
{
    struct mm_repo_gen *g = NULL;
    size_t n = 0;

    assert_int_equal(mm_repo_generations(r, &g, &n), 0);
    mm_repo_gens_free(g, n);
    return n;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void on_fate(const struct mm_repo_gen *g, int keep, const char *why, void *ctx)
{
    (void)ctx;
    print_message("# %.12s %s: %s\n", g->id, keep ? "kept" : "removed", why ? why : "");
}

/* init, backup, restore, verify, a second backup, prune: all over the in-memory store. */
static void backend__round_trip_prune(void **state)
{
    struct store *s = store_new();
    char src[1024], out[1024], out2[1024], id[MM_CRYPTO_HEX_SIZE], id2[MM_CRYPTO_HEX_SIZE];
    struct mm_repo_keep keep = { 0 };
    struct mm_repo_prune_stats ps = { 0 };
    mm_repo *r;
    uint64_t size;

    (void)state;
    make_tmp();
    path_of(src, tmp, "src");
    path_of(out, tmp, "out");
    path_of(out2, tmp, "out2");
    make_src(src);
    init_on(s);
    assert_int_equal(access(LOC, F_OK), -1); /* nothing on disk by that name */
    r = open_on(s);
    assert_ptr_equal(mm_repo_be_local_path(mm_repo_backend(r)), NULL);
    assert_int_equal(m_stat(mm_repo_backend(r), "mamori-repo", &size), 0);
    assert_int_equal(backup(r, src, id), 0);
    assert_true(store_count(s, "data/") > 0);
    assert_true(store_count(s, "index/") > 0);
    assert_int_equal(store_count(s, "generations/"), 1);
    restore_same(r, "latest", out, src);
    verify_clean(r);
    write_file(src, "a.txt", 150, 9); /* a second generation that differs */
    assert_int_equal(backup(r, src, id2), 0);
    assert_int_equal(generations(r), 2);
    verify_clean(r); /* prune keeps the newest generation verified clean */
    keep.last = 1;
    if (mm_repo_prune(r, &keep, 0, on_fate, NULL, NULL, &ps) != 0)
        fail_msg("prune: %s", mm_error_last());
    assert_int_equal(ps.gens_removed, 1);
    assert_int_equal(store_count(s, "generations/"), 1);
    mm_repo_free(r);
    r = open_on(s); /* a new handle sees what the store holds */
    assert_int_equal(generations(r), 1);
    verify_clean(r);
    restore_same(r, id2, out2, src);
    mm_repo_free(r);
    store_free(s);
}

/* Queued writes count only after a flush: a backup whose pack flush fails fails, stores no
 * generation, and leaves the earlier one whole. */
static void backend__queued_writes_failed_flush(void **state)
{
    struct store *s = store_new();
    char src[1024], out[1024], keep_src[1024], id[MM_CRYPTO_HEX_SIZE], id2[MM_CRYPTO_HEX_SIZE];
    mm_repo *r;

    (void)state;
    make_tmp();
    path_of(src, tmp, "src");
    path_of(out, tmp, "out");
    path_of(keep_src, tmp, "first");
    make_src(src);
    s->queued = 1;
    init_on(s);
    r = open_on(s);
    /* a write is not stored before its flush */
    assert_int_equal(m_write(mm_repo_backend(r), "probe", "x", 1, MM_REPO_BE_REPLACE), 0);
    assert_int_equal(store_count(s, "probe"), 0);
    assert_int_equal(m_flush(mm_repo_backend(r)), 0);
    assert_int_equal(store_count(s, "probe"), 1);
    assert_int_equal(m_remove(mm_repo_backend(r), "probe"), 0);
    assert_int_equal(backup(r, src, id), 0);
    assert_int_equal(generations(r), 1);
    assert_int_equal(rename(src, keep_src), 0); /* the first generation's bytes */
    make_src(src);
    write_file(src, "new.bin", 80000, 7);
    s->fail_packs = 1;
    assert_int_not_equal(backup(r, src, id2), 0);
    assert_true(s->failed_flushes > 0);
    assert_int_equal(store_count(s, "generations/"), 1);
    mm_repo_free(r);
    s->fail_packs = 0;
    r = open_on(s);
    assert_int_equal(generations(r), 1);
    verify_clean(r);
    restore_same(r, id, out, keep_src);
    mm_repo_free(r);
    store_free(s);
}

/* With Object Lock, files written once stay: a prune is refused with the store's reason and
 * the repository stays whole and readable. */
static void backend__object_lock_prune_refused(void **state)
{
    struct store *s = store_new();
    char src[1024], out[1024], id[MM_CRYPTO_HEX_SIZE], id2[MM_CRYPTO_HEX_SIZE];
    struct mm_repo_keep keep = { 0 };
    struct mm_repo_prune_stats ps = { 0 };
    mm_repo *r;

    (void)state;
    make_tmp();
    path_of(src, tmp, "src");
    path_of(out, tmp, "out");
    make_src(src);
    s->lock = 1;
    init_on(s);
    r = open_on(s);
    assert_int_equal(backup(r, src, id), 0);
    write_file(src, "a.txt", 150, 9);
    assert_int_equal(backup(r, src, id2), 0);
    verify_clean(r);
    keep.last = 1;
    assert_int_equal(mm_repo_prune(r, &keep, 0, NULL, NULL, NULL, &ps), MM_EREFUSED);
    assert_non_null(strstr(mm_error_last(), "retained"));
    assert_int_equal(store_count(s, "generations/"), 2);
    mm_repo_free(r);
    r = open_on(s);
    verify_clean(r);
    restore_same(r, id2, out, src);
    mm_repo_free(r);
    store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(backend__round_trip_prune, remove_tmp),
        cmocka_unit_test_teardown(backend__queued_writes_failed_flush, remove_tmp),
        cmocka_unit_test_teardown(backend__object_lock_prune_refused, remove_tmp),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
