/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Backup: walk the sources with a pool of worker threads, compare each folder with the
 * parent generation's tree, and store what is new. A job is a folder (list, stat, compare:
 * unchanged files keep their blob IDs without being read; a file renamed in its folder, as
 * SS-MIX2 flag changes do, is found by inode) or a file (read, cut by content-defined
 * chunking, hash, and, when the ID is new, compress — small files with the repository's
 * dictionary, trained from the first small files of its first backup — seal and append to the
 * shared pack of its kind: file data and trees go to packs of their own, so a later backup,
 * restore or verify reads the trees from a few packs). A folder's tree is encoded when its
 * last outstanding entry is done, by whichever thread finishes it, and its ID goes up into its
 * parent, so memory holds only folders still in flight. Packs are written as they fill (one
 * at a time, so memory stays bounded), index files every INDEX_EVERY packs or INDEX_OBJECTS
 * objects and at the end, the manifest last: an interrupted backup never touches an earlier
 * generation, and the objects of its completed index files are reused by the next run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "os/os.h"
#include "repo/repo_backup_int.h"
#include "repo/repo_int.h"
#ifdef MM_HAVE_S3
#include "repo/repo_s3.h"
#endif

void mm_repo__bk_add(uint64_t *p, uint64_t v)
{
    __atomic_add_fetch(p, v, __ATOMIC_RELAXED);
}

/* Record the first fatal error and stop everyone. */
int mm_repo__bk_fail(struct bstate *st, int err)
{
    pthread_mutex_lock(&st->mu);
    if (!st->err) {
        __atomic_store_n(&st->err, err, __ATOMIC_RELAXED);
        snprintf(st->errmsg, sizeof(st->errmsg), "%s", mm_error_last());
    }
    st->done = 1;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return err;
}

/* Note a file this run wrote (under st->mu), so a failed run can take it back. */
int mm_repo__bk_remember(struct bstate *st, const char *rel)
{
    int err = 0;

    pthread_mutex_lock(&st->mu);
    if (st->nwritten == st->capwritten) {
        size_t ncap = st->capwritten ? st->capwritten * 2 : 64;
        void *nv = mm_realloc(st->written, ncap * sizeof(*st->written));
        if (!nv)
            err = mm_error_set(MM_ENOMEM, "out of memory");
        else {
            st->written = nv;
            st->capwritten = ncap;
        }
    }
    if (err == 0)
        snprintf(st->written[st->nwritten++], sizeof(st->written[0]), "%s", rel);
    pthread_mutex_unlock(&st->mu);
    return err;
}

/* A file or folder that could not be read: reported (redacted) and skipped. */
void mm_repo__bk_problem(struct bstate *st, const char *path, const char *what)
{
    char red[MM_LOG_PATH_MAX];

    mm_repo__bk_add(&st->c.skipped, 1);
    if (!st->o->problem)
        return;
    mm_log_path(red, sizeof(red), path);
    pthread_mutex_lock(&st->problem_mu);
    st->o->problem(NULL, red, what, st->o->ctx);
    pthread_mutex_unlock(&st->problem_mu);
}

void mm_repo__bk_unstable(struct bstate *st, const struct job *j)
{
    const char *base = st->src[j->src].path, *rel = j->path + strlen(base);
    char red[MM_LOG_PATH_MAX], *p = NULL;
    size_t n;

    if (strncmp(j->path, base, strlen(base)) != 0)
        rel = ""; /* not below it: cannot be, the path was joined from it */
    n = strlen(st->gs[j->src].name) + 1 + strlen(rel) + 1;
    pthread_mutex_lock(&st->problem_mu);
    st->unst.unstable++;
    if (st->unst.npaths < MM_REPO_UNSTABLE_LISTED && n <= MM_LIMIT_PATH) {
        if (!st->unst.paths)
            st->unst.paths = mm_calloc(MM_REPO_UNSTABLE_LISTED, sizeof(*st->unst.paths));
        if (st->unst.paths && (p = mm_malloc(n)) != NULL) {
            snprintf(p, n, "%s%s%s", st->gs[j->src].name, rel[0] == '/' ? "" : "/", rel);
            st->unst.paths[st->unst.npaths++] = p;
        }
    }
    if (st->o->unstable) {
        mm_log_path(red, sizeof(red), j->path);
        st->o->unstable(NULL, red,
                        "changed while it was read: stored as last read, marked unstable",
                        st->o->ctx);
    }
    pthread_mutex_unlock(&st->problem_mu);
}

/*
 * Store the patient index file with the calling thread's worker; its IDs stay in wk->ids.
 * It is cut into INDEX_PIECE-byte pieces, its SQLite page size, not by content: a day's
 * update rewrites scattered pages in place, and fixed pieces keep every unchanged page an
 * unchanged object (about a tenth of the index is new after a day, against all of it with
 * megabyte-sized content-defined chunks).
 */
static int store_index(struct worker *wk, const char *path, uint64_t *size)
{
    unsigned char piece[INDEX_PIECE + MM_REPO__TWIN_TAIL_SIZE], id[ID_SIZE];
    unsigned char *twins = NULL;
    size_t ntwins = 0, captwins = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

    if (fd < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot open the patient index '%s'", path);
    wk->nids = 0;
    *size = 0;
    for (;;) {
        size_t len = 0;
        while (len < INDEX_PIECE) {
            ssize_t got = read(fd, piece + len, INDEX_PIECE - len);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0) {
                err = mm_error_set_errno(MM_EIO, errno, "cannot read the patient index '%s'", path);
                goto out;
            }
            if (got == 0)
                break;
            len += (size_t)got;
        }
        if (len == 0)
            break;
        if ((err = mm_repo__bk_store(wk, MM_REPO_OBJ_BLOB, piece, len, id)) < 0 ||
            (err = mm_repo__bk_push_id(wk, id)) < 0)
            goto out;
        /* its twin: the same bytes and a tail (another object ID), in the other pack writer,
         * so the two copies always lie in two different packs */
        memcpy(piece + len, MM_REPO__TWIN_TAIL, MM_REPO__TWIN_TAIL_SIZE);
        if ((err = mm_repo__bk_store_in(wk, MM_REPO_OBJ_BLOB, 1, piece,
                                        len + MM_REPO__TWIN_TAIL_SIZE, id)) < 0)
            goto out;
        if (ntwins == captwins) {
            size_t ncap = captwins ? captwins * 2 : 256;
            void *nv = mm_realloc(twins, ncap * ID_SIZE);
            if (!nv) {
                err = mm_error_set(MM_ENOMEM, "out of memory");
                goto out;
            }
            twins = nv;
            captwins = ncap;
        }
        memcpy(twins + ntwins++ * ID_SIZE, id, ID_SIZE);
        *size += len;
        if (len < INDEX_PIECE)
            break;
    }
    /* the twins' IDs follow the blocks' (the manifest's tag 16) */
    for (size_t i = 0; i < ntwins; i++)
        if ((err = mm_repo__bk_push_id(wk, twins + i * ID_SIZE)) < 0)
            goto out;
    err = 0;
out:
    mm_free(twins);
    close(fd);
    return err;
}

/* The base name of @path without trailing slashes, in @out. */
static int base_name(const char *path, char *out, size_t cap)
{
    size_t end = strlen(path), start;

    while (end > 1 && path[end - 1] == '/')
        end--;
    start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    if (end - start == 0 || end - start >= cap || (end - start == 1 && path[start] == '/'))
        return -1;
    memcpy(out, path + start, end - start);
    out[end - start] = '\0';
    return (strcmp(out, ".") == 0 || strcmp(out, "..") == 0) ? -1 : 0;
}

/*
 * On an immutable store (S3 Object Lock, proven now if no write has yet), every retained
 * object of the repository — what this generation may use — is kept at least as long as its
 * manifest will be, before the manifest exists: a generation counts as stored only when all
 * it references outlives it (docs/format.md "S3 repositories"). Other stores: nothing.
 * @return 0, MM_EREFUSED (some could not be extended), MM_EIO
 */
static int retain_for_manifest(mm_repo *r)
{
#ifdef MM_HAVE_S3
    if (!mm_repo_be_is_s3_backend(r->be))
        return 0;
    if (mm_repo_be_s3_proof(r->be) < 0)
        return MM_EIO;
    if (r->be->info.immutable)
        return mm_repo_be_s3_extend(r->be,
                                    (int64_t)time(NULL) + (int64_t)r->be->info.retain_days * 86400);
#else
    (void)r;
#endif
    return 0;
}

/* A host's backup whose manifest is written: update its catalog. A failure is a warning. */
static void host_end(struct bstate *st, struct mm_repo_gen *g, const char *gid,
                     const struct worker *mainwk, int have_index)
{
    int err;

    memcpy(g->id, gid, MM_CRYPTO_HEX_SIZE);
    err = mm_repo__catalog_save(st->r, st->r->cat, g,
                                have_index ? (const unsigned char *)mainwk->ids : NULL,
                                have_index ? mainwk->nids : 0, st->cdone, st->ncdone);
    if (err < 0) {
        mm_log(MM_LOG_WARN, "the host catalog was not updated (%s): the next backup stores more",
               mm_error_last());
        mm_error_clear();
    }
    if (st->o->catalog_report)
        st->o->catalog_report->saved = err == 0;
}

/* A host's backup told to reuse the parent's patient index: its blocks, when all are known. */
static int host_reuse_index(struct bstate *st, struct worker *mainwk, int *twins)
{
    const struct mm_repo__catalog *c = st->r->cat;
    int err = 0;

    if (!c || !c->nindex || !mm_repo__bk_all_known(st, c->index_ids, c->nindex))
        return 0; /* stored again */
    mainwk->nids = 0;
    for (size_t i = 0; i < c->nindex && err == 0; i++)
        err = mm_repo__bk_push_id(mainwk, c->index_ids + i * ID_SIZE);
    *twins = c->index_twins;
    return err < 0 ? err : 1;
}

/*
 * The verdict of the caller's judge (o->judge) for the generation @g with the counts @c;
 * "none" without one. Reasons longer than the manifest keeps are cut after a whole line.
 * OUT: g->guard, g->guard_reasons (borrowed from the judge, or in *@own)
 * @return 0, MM_EINVAL (a verdict the manifest cannot hold), the judge's error
 */
static int judge_gen(mm_repo *r, const struct mm_repo_backup_opts *o,
                     const struct mm_repo_counts *c, struct mm_repo_gen *g, char **own)
{
    const char *verdict = "none", *reasons = NULL;
    size_t n;
    int err;

    g->guard = (char *)"none";
    g->guard_reasons = NULL;
    if (!o->judge)
        return 0;
    if ((err = o->judge(r, c, &verdict, &reasons, o->ctx)) < 0)
        return err;
    if (!verdict || (strcmp(verdict, "none") != 0 && strcmp(verdict, "clean") != 0 &&
                     strcmp(verdict, "suspect") != 0))
        return mm_error_set(MM_EINVAL, "the guard gave an unknown verdict");
    g->guard = (char *)(uintptr_t)verdict;
    if (!reasons || !reasons[0])
        return 0;
    if ((n = strlen(reasons)) > MM_REPO_GUARD_REASONS_MAX) {
        n = MM_REPO_GUARD_REASONS_MAX;
        while (n > 0 && reasons[n - 1] != '\n')
            n--;
        if (n > 0 && reasons[n - 1] == '\n')
            n--; /* no trailing line break */
    }
    if (n < strlen(reasons)) {
        if (!(*own = mm_strndup(reasons, n)))
            return mm_error_set(MM_ENOMEM, "out of memory");
        reasons = *own;
    }
    g->guard_reasons = n ? (char *)(uintptr_t)reasons : NULL;
    return 0;
}

/* One backup's state, shared by its steps (mm_repo_backup below). */
struct run {
    mm_repo *r;
    const struct mm_repo_source *src;
    size_t nsrc;
    const struct mm_repo_backup_opts *o;
    struct bstate st;
    struct mm_repo_gen parent, g;
    struct mm_repo__tree oldroot; /* the parent's root tree (empty: none) */
    struct worker *wk, mainwk;
    struct mm_repo_gen_source *gs;
    unsigned int nthreads, started;
    char host[256], gid[MM_CRYPTO_HEX_SIZE], *reasons_own;
    uint64_t index_size;
    const char *index_file;
    int have_parent, mainwk_ok, have_index, index_twins, is_host;
};

/* Step 1: the shared state's locks and buffers, and the two pack writers started. */
static int run_init(struct run *b)
{
    struct bstate *st = &b->st;

    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->ixw, NULL);
    pthread_mutex_init(&st->packmu, NULL);
    pthread_mutex_init(&st->problem_mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    pthread_cond_init(&st->packcv, NULL);
    pthread_mutex_init(&st->dictmu, NULL);
    pthread_mutex_init(&st->livemu, NULL);
    pthread_cond_init(&st->dictcv, NULL);
    mm_buf_init(&st->samples, DICT_SAMPLE_BYTES);
    st->want_samples = b->o->dict_samples ? b->o->dict_samples : DICT_SAMPLES;
    st->r = b->r;
    st->o = b->o;
    for (int k = 0; k < 2; k++) {
        int err;
        st->pack[k].reserve = (size_t)b->r->cfg.pack_target + PACK_SLACK;
        if ((err = mm_repo__packw_start(st->r, &st->pack[k])) < 0)
            return err;
    }
    return 0;
}

/* Step 2: each source a folder, named by its base name (unique), with its absolute path. */
static int run_sources(struct run *b)
{
    const struct mm_repo_source *src = b->src;

    if (b->nsrc == 0)
        return mm_error_set(MM_EINVAL, "nothing to back up: give at least one folder");
    if (!(b->gs = mm_calloc(b->nsrc, sizeof(*b->gs))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < b->nsrc; i++) {
        char name[MM_LIMIT_NAME + 1], abs[PATH_MAX];
        struct stat s;
        if (stat(src[i].path, &s) != 0 || !S_ISDIR(s.st_mode))
            return mm_error_set(MM_ENOTFOUND, "'%s' is not a folder", src[i].path);
        if (base_name(src[i].path, name, sizeof(name)) < 0 || !realpath(src[i].path, abs))
            return mm_error_set(MM_EINVAL, "cannot name the folder '%s'", src[i].path);
        for (size_t k = 0; k < i; k++)
            if (strcmp(b->gs[k].name, name) == 0)
                return mm_error_set(MM_EINVAL,
                                    "two folders named '%s': back them up to separate "
                                    "generations or rename one",
                                    name);
        b->gs[i].kind = src[i].kind;
        if (!(b->gs[i].name = mm_strdup(name)) || !(b->gs[i].path = mm_strdup(abs)))
            return mm_error_set(MM_ENOMEM, "out of memory");
    }
    b->st.src = src;
    b->st.gs = b->gs;
    return 0;
}

/* Step 3: lock the repository, load what it holds (or a host's catalog) and the parent. */
static int run_open(struct run *b)
{
    mm_repo *r = b->r;
    int err;

    if ((err = mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, NULL)) < 0)
        return err;
    if (b->is_host) {
        if ((err = mm_repo__catalog_begin(r, b->o, &b->parent, &b->have_parent)) < 0)
            return err;
    } else {
        if ((err = mm_repo__index_load(r)) < 0)
            return err;
        err = mm_repo_gen_find(r, "latest", &b->parent);
        if (err == 0)
            b->have_parent = 1;
        else if (err != MM_ENOTFOUND)
            return err;
    }
    if (b->o->parent_end_ns) /* (a host's catalog does not record it: 0) */
        *b->o->parent_end_ns = b->have_parent ? b->parent.end_ns : 0;
    b->g.start_ns = mm_repo__now_ns();
    b->nthreads = mm_repo__threads(b->o->threads);
    if (!(b->wk = mm_calloc(b->nthreads, sizeof(*b->wk))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    if ((err = mm_repo__bk_worker_init(&b->mainwk, &b->st)) < 0)
        return err;
    b->mainwk_ok = 1;
    /* index_load read dict/; a version 1 repository stays readable by the mamori that made it */
    /* (a host uses the dictionaries of its credential: one it trained would be lost to it) */
    b->st.sampling = r->version >= 2 && !b->is_host && mm_repo__dict_current(r) == NULL
                             ? SAMPLING_COLLECT
                             : SAMPLING_DONE;
    /* a parent root that does not read means a full walk (damage must not stop a backup);
     * running out of memory is not damage */
    if (b->have_parent &&
        (err = mm_repo__tree_get(r, &b->mainwk.w, b->parent.root, &b->oldroot)) < 0) {
        if (err == MM_ENOMEM)
            return err;
        mm_error_clear();
        memset(&b->oldroot, 0, sizeof(b->oldroot));
    }
    return 0;
}

/* The virtual root's entries: one folder per source (@gs, @src), sorted by name. */
static int top_entries(struct bstate *st, size_t nsrc)
{
    struct ent *sorted = st->top->e;

    for (size_t i = 0; i < nsrc; i++) {
        struct stat s;
        stat(st->src[i].path, &s);
        sorted[i].name = mm_strdup(st->gs[i].name);
        sorted[i].ids = mm_malloc(ID_SIZE);
        if (!sorted[i].name || !sorted[i].ids)
            return mm_error_set(MM_ENOMEM, "out of memory");
        sorted[i].te.name = sorted[i].name;
        sorted[i].te.namelen = (uint32_t)strlen(sorted[i].name);
        sorted[i].te.kind = MM_REPO_KIND_DIR;
        sorted[i].te.ids = sorted[i].ids;
        sorted[i].te.nids = 1;
        mm_repo__bk_fill_stat(&sorted[i].te, &s);
        sorted[i].te.size = 0;
    }
    qsort(sorted, nsrc, sizeof(*sorted), mm_repo__bk_cmp_name);
    return 0;
}

/* Step 4: the virtual root, and one folder job per source (its old tree when the parent
 * has a folder of its name). */
static int run_seed(struct run *b)
{
    struct bstate *st = &b->st;
    const size_t nsrc = b->nsrc;
    int err;

    if (!(st->top = mm_repo__bk_node_new(st, NULL, 0)) ||
        !(st->top->e = mm_calloc(nsrc, sizeof(*st->top->e))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    st->top->n = nsrc;
    st->top->pending = (long)nsrc + 1;
    if ((err = top_entries(st, nsrc)) < 0)
        return err;
    for (size_t i = 0; i < nsrc; i++) {
        const struct ent *e = &st->top->e[i];
        struct node *child = mm_repo__bk_node_new(st, st->top, i);
        struct job j = { 0 };
        const struct mm_repo__entry *oe;
        size_t k;
        for (k = 0; k < nsrc && strcmp(b->gs[k].name, e->name) != 0; k++)
            ;
        if (!child || !(j.path = mm_strdup(b->src[k].path))) {
            mm_repo__bk_node_free(st, child);
            return mm_error_set(MM_ENOMEM, "out of memory");
        }
        j.kind = JOB_DIR;
        j.node = child;
        j.src = k;
        oe = mm_repo__tree_find(&b->oldroot, e->name, e->te.namelen);
        if (oe && oe->kind == MM_REPO_KIND_DIR) {
            j.has_old = 1;
            memcpy(j.old, oe->ids, ID_SIZE);
        }
        if ((err = mm_repo__bk_push_job(st, &j)) < 0) {
            mm_free(j.path);
            mm_repo__bk_node_free(st, child);
            return err;
        }
    }
    return 0;
}

/* Wait until the workers are done, reporting progress every 250 ms. */
static void wait_workers(struct run *b)
{
    struct bstate *st = &b->st;
    const struct mm_repo_backup_opts *o = b->o;

    pthread_mutex_lock(&st->mu);
    while (!st->done && b->started > 0) {
        struct timespec until;
        mm_repo__progress_deadline(&until);
        pthread_cond_timedwait(&st->cv, &st->mu, &until);
        if (o->progress && !st->done) {
            struct mm_repo_progress p = { 0 };
            pthread_mutex_unlock(&st->mu);
            p.files_done = __atomic_load_n(&st->c.files_read, __ATOMIC_RELAXED) +
                           __atomic_load_n(&st->c.files_unchanged, __ATOMIC_RELAXED);
            p.files_total = b->have_parent ? b->parent.counts.files : 0;
            if (p.files_total < p.files_done)
                p.files_total = 0;
            p.bytes_done = __atomic_load_n(&st->c.bytes_new, __ATOMIC_RELAXED);
            o->progress(&p, o->ctx);
            pthread_mutex_lock(&st->mu);
        }
    }
    pthread_mutex_unlock(&st->mu);
}

/* Step 5: walk the sources with the worker threads; the root tree's ID ends in st.root. */
static int run_walk(struct run *b)
{
    struct bstate *st = &b->st;
    int err = 0, all;

    for (b->started = 0; b->started < b->nthreads; b->started++) {
        struct worker *w = &b->wk[b->started];
        if ((err = mm_repo__bk_worker_init(w, st)) < 0 ||
            pthread_create(&w->thread, NULL, mm_repo__bk_worker_main, w) != 0) {
            if (!err)
                err = mm_error_set(MM_ERROR, "cannot start a worker thread");
            mm_repo__bk_worker_release(w);
            mm_repo__bk_fail(st, err);
            break;
        }
    }
    if (b->started > 0 &&
        (err = mm_repo__bk_release(&b->mainwk, st->top)) < 0) /* the caller's hold on the root */
        mm_repo__bk_fail(st, err);
    wait_workers(b);
    all = b->started == b->nthreads;
    for (unsigned int i = 0; i < b->started; i++) {
        pthread_join(b->wk[i].thread, NULL);
        mm_repo__bk_worker_release(&b->wk[i]); /* its buffers and contexts: not needed now */
    }
    b->started = 0;
#ifdef __GLIBC__
    malloc_trim(0); /* the workers' arenas hand their free pages back before the index build */
#endif
    if (st->err)
        return st->err;
    if (!all) /* (a worker that did not start failed the run) */
        return err < 0 ? err : mm_error_set(MM_ERROR, "cannot start a worker thread");
    return 0;
}

/* The parent's patient index blocks (and twins, if it had them) named again. */
static int reuse_parent_index(struct run *b)
{
    struct mm_repo_gen tmp;
    unsigned char *pids = NULL;
    size_t npids = 0;
    int err;

    if ((err = mm_repo__gen_load(b->r, b->parent.id, &tmp, &pids, &npids)) < 0)
        return err;
    b->index_twins = tmp.index_twins;
    mm_repo_gen_release(&tmp);
    b->mainwk.nids = 0;
    for (size_t i = 0; i < npids && err == 0; i++)
        err = mm_repo__bk_push_id(&b->mainwk, pids + i * ID_SIZE);
    mm_free(pids);
    if (err < 0)
        return err;
    b->index_size = b->parent.index_size;
    b->have_index = 1;
    return 0;
}

/* Step 6: every pack written, then the patient index (built by o->index, or the parent's
 * reused, or o->index_file) stored with its IDs in mainwk.ids, then the index file. */
static int run_patient_index(struct run *b)
{
    struct bstate *st = &b->st;
    const struct mm_repo_backup_opts *o = b->o;
    const int parent_index = b->have_parent && b->parent.has_index;
    int err;

    if ((err = mm_repo__bk_pack_flush(&b->mainwk, &st->pack[0])) < 0 ||
        (err = mm_repo__bk_pack_flush(&b->mainwk, &st->pack[1])) < 0)
        return err;
    if (o->index) {
        int reuse = 0;
        b->index_file = NULL;
        if ((err = o->index(b->r, b->have_parent ? b->parent.root : NULL, st->root, &b->index_file,
                            &reuse, o->ctx)) < 0)
            return err;
        if (reuse && parent_index && b->is_host) {
            if ((err = host_reuse_index(st, &b->mainwk, &b->index_twins)) < 0)
                return err;
            b->index_size = b->parent.index_size;
            b->have_index = err == 1;
        } else if (reuse && parent_index && (err = reuse_parent_index(b)) < 0)
            return err;
    }
    if (!b->have_index && b->index_file) {
        /* the blocks go to the file data writer, their twins to the tree writer */
        if ((err = store_index(&b->mainwk, b->index_file, &b->index_size)) < 0)
            return err;
        b->have_index = 1;
        b->index_twins = 1;
    }
    if ((err = mm_repo__bk_pack_flush(&b->mainwk, &st->pack[0])) < 0 ||
        (err = mm_repo__bk_pack_flush(&b->mainwk, &st->pack[1])) < 0)
        return err;
    return mm_repo__bk_write_index_file(st);
}

/* The manifest's fields other than the guard's: who, when, what, from which parent. */
static int fill_gen(struct run *b)
{
    const struct mm_repo_backup_opts *o = b->o;
    struct mm_repo_gen *g = &b->g;

    (void)mm_os_hostname(b->host, sizeof(b->host));
    for (char *c = b->host; *c; c++)
        if ((unsigned char)*c < ' ')
            *c = '_';
    if (o->name && !(g->name = mm_strdup(o->name)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    g->host = b->host;
    g->user = b->r->user;
    g->end_ns = mm_repo__now_ns();
    if (b->have_parent)
        memcpy(g->parent, b->parent.id, sizeof(g->parent));
    g->sources = b->gs;
    g->nsources = b->nsrc;
    memcpy(g->root, b->st.root, ID_SIZE);
    g->has_index = b->have_index;
    g->index_size = b->index_size;
    g->index_twins = b->have_index && b->index_twins;
    if (o->check) {
        g->check = *o->check;
        g->check.present = 1;
    }
    /* borrowed, and only read by the encoder */
    g->storages = (struct mm_repo_gen_storage *)(uintptr_t)o->storages;
    g->nstorages = o->storages ? o->nstorages : 0;
    g->viewer = (struct mm_repo_viewer *)(uintptr_t)o->viewer;
    if (o->copy_of)
        mm_repo__rotate_stamp(g, o->copy_of);
    g->unstable = b->st.unst; /* borrowed */
    return 0;
}

/* Step 7: the guard's verdict, the manifest written last, then a host's catalog. */
static int run_write_gen(struct run *b)
{
    mm_repo *r = b->r;
    const unsigned char *ids = b->have_index ? (const unsigned char *)b->mainwk.ids : NULL;
    int err;

    b->g.counts = b->st.c;
    if ((err = judge_gen(r, b->o, &b->g.counts, &b->g, &b->reasons_own)) < 0 ||
        (err = fill_gen(b)) < 0 || (err = retain_for_manifest(r)) < 0)
        return err;
    if ((err = mm_repo__gen_write(r, &b->g, ids, b->have_index ? b->mainwk.nids : 0, b->gid)) < 0)
        return err;
    if (r->cat) /* only now: the catalog never names what no durable manifest holds */
        host_end(&b->st, &b->g, b->gid, &b->mainwk, b->have_index);
    mm_repo__reserve_make(r); /* prune's room on a medium that fills up (when there is room) */
    return 0;
}

/* Step 8: free what the run held; a failed run takes back every file it wrote. */
static void run_release(struct run *b, int err)
{
    struct bstate *st = &b->st;

    for (size_t i = 0; i < st->njobs; i++) /* jobs left by a failed run */
        mm_free(st->jobs[i].path);
    while (st->live) /* folders left unfinished by a failed run */
        mm_repo__bk_node_free(st, st->live);
    for (unsigned int i = 0; i < b->started; i++)
        mm_repo__bk_worker_release(&b->wk[i]);
    if (b->mainwk_ok)
        mm_repo__bk_worker_release(&b->mainwk);
    mm_free(b->wk);
    mm_free(st->jobs);
    for (size_t i = 0; i < st->nnew; i++)
        mm_free(st->newpacks[i].objs);
    mm_free(st->newpacks);
    for (size_t i = 0; i < st->ncdone; i++)
        mm_free(st->cdone[i].objs);
    mm_free(st->cdone);
    mm_repo__catalog_free(b->r->cat);
    b->r->cat = NULL;
    if (b->gs)
        for (size_t i = 0; i < b->nsrc; i++) {
            mm_free(b->gs[i].name);
            mm_free(b->gs[i].path);
        }
    mm_free(b->gs);
    mm_free(b->g.name);
    mm_free(b->reasons_own);
    mm_repo__tree_release(&b->oldroot);
    mm_repo_gen_release(&b->parent);
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->ixw);
    pthread_mutex_destroy(&st->packmu);
    mm_repo__packw_release(&st->pack[0]);
    mm_repo__packw_release(&st->pack[1]);
    pthread_mutex_destroy(&st->problem_mu);
    pthread_cond_destroy(&st->cv);
    pthread_cond_destroy(&st->packcv);
    pthread_mutex_destroy(&st->dictmu);
    pthread_mutex_destroy(&st->livemu);
    pthread_cond_destroy(&st->dictcv);
    mm_buf_release(&st->samples);
    mm_free(st->sizes);
    mm_repo_unstable_release(&st->unst);
    if (err < 0) {
        /* no manifest names what this run wrote: take it back, so that a failed run (a full
         * medium above all) leaves the medium as it found it; then forget the objects it
         * claimed. Best effort: what cannot be removed now, prune removes later. */
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", st->err && st->errmsg[0] ? st->errmsg : mm_error_last());
        for (size_t i = st->nwritten; i-- > 0;)
            mm_repo__remove(b->r, st->written[i]);
        mm_repo__index_release(&b->r->ix);
        mm_error_set(err, "%s", msg);
    }
    mm_free(st->written);
}

int mm_repo_backup(mm_repo *r, const struct mm_repo_source *src, size_t nsrc,
                   const struct mm_repo_backup_opts *o, char id_out[MM_CRYPTO_HEX_SIZE],
                   struct mm_repo_counts *counts)
{
    static const struct mm_repo_backup_opts def = { 0 };
    struct run *b;
    int err;

    MM_ASSERT_ARG(r && (src || nsrc == 0));
    if (!(b = mm_calloc(1, sizeof(*b))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    b->r = r;
    b->src = src;
    b->nsrc = nsrc;
    b->o = o ? o : &def;
    b->is_host = mm_keyset_is_host(r->ks);
    snprintf(b->host, sizeof(b->host), "unknown");
    b->index_file = b->o->index_file;
    if ((err = run_init(b)) < 0 || (err = run_sources(b)) < 0 || (err = run_open(b)) < 0 ||
        (err = run_seed(b)) < 0 || (err = run_walk(b)) < 0 || (err = run_patient_index(b)) < 0 ||
        (err = run_write_gen(b)) < 0)
        goto out;
    if (id_out)
        memcpy(id_out, b->gid, MM_CRYPTO_HEX_SIZE);
    if (counts)
        *counts = b->st.c;
    if (b->o->unstable_out) {
        *b->o->unstable_out = b->st.unst;
        memset(&b->st.unst, 0, sizeof(b->st.unst)); /* now owned by the caller */
    }
out:
    run_release(b, err);
    mm_free(b);
    return err;
}
