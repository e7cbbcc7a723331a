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
#include "repo/repo_int.h"

#define INDEX_EVERY   64    /* packs per index file (about 1 GiB), so a crash loses little */
#define INDEX_OBJECTS 65536 /* or this many objects (about 3 MiB): its buffers stay small */
#define INDEX_PIECE   4096  /* the patient index is stored in pieces of its page size */
enum { SAMPLING_DONE = 0, SAMPLING_COLLECT = 1, SAMPLING_TRAIN = 2 };
#define DICT_SAMPLES      2000u                /* small files a dictionary is trained on */
#define DICT_SAMPLE_BYTES (8u * 1024u * 1024u) /* at most this many bytes of them */
#define PACKS_OUT         1 /* full packs written at a time (memory: these + the one filling) */
#define PACK_SLACK        (1u << 20) /* allocated beyond pack_target: the last object, the table */

struct node;

/* A folder entry being built: the tree entry plus what it owns. */
struct ent {
    struct mm_repo__entry te;
    char *name;         /* owned copy, NUL-terminated */
    unsigned char *ids; /* owned: blob IDs, or the subfolder's tree ID */
    char *target;       /* owned symlink target */
};

/* A folder in flight. */
struct node {
    struct node *parent;
    struct node *prev, *next; /* every live node, so a failed run frees them all */
    size_t slot;              /* our entry in the parent */
    struct ent *e;
    size_t n;
    long pending; /* the lister + files being read + subfolders not finished */
};

enum job_kind { JOB_DIR = 1, JOB_FILE = 2 };

struct job {
    enum job_kind kind;
    struct node *node; /* DIR: the folder to fill; FILE: the folder of the file */
    size_t slot;       /* FILE: its entry */
    char *path;        /* full path */
    int has_old;       /* DIR: the parent generation has this folder */
    unsigned char old[ID_SIZE];
};

struct bstate;

struct worker {
    struct bstate *st;
    pthread_t thread;
    struct mm_repo__work w;
    mm_buf sealed; /* one sealed object on its way into the shared pack */
    mm_chunker *chunker;
    unsigned char *buf;             /* read buffer, grown up to chunk.max for large files */
    _Alignas(8) char dirbuf[32768]; /* folder entries as the kernel gives them */
    size_t bufcap;
    unsigned char (*ids)[ID_SIZE];
    size_t nids, capids;
};

struct bstate {
    mm_repo *r;
    const struct mm_repo_backup_opts *o;
    pthread_mutex_t mu; /* jobs, nodes, new packs */
    pthread_cond_t cv;
    struct job *jobs;
    size_t njobs, capjobs;
    int busy; /* workers inside a job */
    int done, err;
    unsigned char root[ID_SIZE];
    struct node *top;  /* the virtual root: one entry per source */
    struct node *live; /* every node not yet finished (under livemu) */
    pthread_mutex_t livemu;
    /* packs written but not yet named by an index file */
    struct mm_repo__packinfo *newpacks;
    size_t nnew, capnew;
    size_t newobjs;                /* objects in newpacks */
    pthread_mutex_t ixw;           /* one index file writer at a time */
    pthread_mutex_t packmu;        /* the pack being filled, shared by every worker */
    pthread_cond_t packcv;         /* a full pack has been written */
    struct mm_repo__packw pack[2]; /* [0] file data, [1] trees: a later backup, restore or
                                      verify reads the trees from a few packs together */
    int packs_out; /* full packs taken out of st->pack, not yet written (at most PACKS_OUT) */
    /* the first new small files, sampled to train a dictionary when the repository has none */
    pthread_mutex_t dictmu;
    pthread_cond_t dictcv; /* the dictionary is trained */
    int sampling;          /* SAMPLING_*, read with __atomic */
    mm_buf samples;
    size_t *sizes;
    unsigned nsamples, want_samples;
    pthread_mutex_t problem_mu;
    struct mm_repo_counts c; /* updated with __atomic builtins */
    char (*written)[96];     /* packs and index files of this run: removed if it fails */
    size_t nwritten, capwritten;
    /* a host's backup (r->cat): the packs of the index files written, for its catalog */
    struct mm_repo__packinfo *cdone;
    size_t ncdone, capcdone;
    char errmsg[512]; /* the message of the first fatal error, from whichever thread */
};

static void add(uint64_t *p, uint64_t v)
{
    __atomic_add_fetch(p, v, __ATOMIC_RELAXED);
}

/* Record the first fatal error and stop everyone. */
static int fail(struct bstate *st, int err)
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
static int remember(struct bstate *st, const char *rel)
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
static void problem(struct bstate *st, const char *path, const char *what)
{
    char red[MM_LOG_PATH_MAX];

    add(&st->c.skipped, 1);
    if (!st->o->problem)
        return;
    mm_log_path(red, sizeof(red), path);
    pthread_mutex_lock(&st->problem_mu);
    st->o->problem(NULL, red, what, st->o->ctx);
    pthread_mutex_unlock(&st->problem_mu);
}

/* ---- packs ---------------------------------------------------------------------------------- */

/* Write an index file naming every new pack so far. Called with st->ixw held. */
static int write_index_file(struct bstate *st)
{
    struct mm_repo__packinfo *v;
    size_t n;
    int err;

    pthread_mutex_lock(&st->mu);
    v = st->newpacks;
    n = st->nnew;
    st->newpacks = NULL;
    st->nnew = st->capnew = 0;
    st->newobjs = 0;
    pthread_mutex_unlock(&st->mu);
    if (n == 0)
        return 0;
    {
        char rel[96];
        err = mm_repo__ixfile_write(st->r, v, n, rel);
        if (err == 0)
            err = remember(st, rel);
    }
    if (err == 0 && st->r->cat) { /* the host's catalog records them after the manifest */
        if (st->ncdone + n > st->capcdone) {
            size_t ncap = (st->ncdone + n) * 2;
            void *nv = mm_realloc(st->cdone, ncap * sizeof(*st->cdone));
            if (!nv)
                err = mm_error_set(MM_ENOMEM, "out of memory");
            else {
                st->cdone = nv;
                st->capcdone = ncap;
            }
        }
        if (err == 0) {
            memcpy(st->cdone + st->ncdone, v, n * sizeof(*v));
            st->ncdone += n;
            n = 0; /* now owned by st->cdone */
        }
    }
    for (size_t i = 0; i < n; i++)
        mm_free(v[i].objs);
    mm_free(v);
    return err;
}

/* A host's backup: whether every one of the @n objects @ids is known (reused only then). */
static int all_known(struct bstate *st, const unsigned char *ids, size_t n)
{
    size_t i = 0;

    pthread_mutex_lock(&st->r->ix.lock);
    while (i < n && mm_repo__index_find(&st->r->ix, ids + i * ID_SIZE))
        i++;
    pthread_mutex_unlock(&st->r->ix.lock);
    return i == n;
}

/* Finish the pack @p: table, trailer, write, then make its objects known; @p is emptied. */
static int pack_flush(struct worker *wk, struct mm_repo__packw *p)
{
    struct bstate *st = wk->st;
    unsigned char h[ID_SIZE];
    uint64_t size;
    int64_t pk;
    int err, want_index = 0;
    struct mm_repo__obj *copy = NULL;

    if (p->n == 0)
        return 0;
    if ((err = mm_repo__packw_finish(st->r, &wk->w, p, h, &size)) < 0)
        return err;
    {
        char rel[80];
        mm_repo__pack_rel(h, rel);
        if ((err = remember(st, rel)) < 0)
            return err;
    }
    add(&st->c.bytes_stored, size);
    if (!(copy = mm_malloc(p->n * sizeof(*copy)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(copy, p->objs, p->n * sizeof(*copy));
    pthread_mutex_lock(&st->r->ix.lock);
    pk = mm_repo__index_add_pack(&st->r->ix, h, size);
    if (pk >= 0)
        for (size_t i = 0; i < p->n; i++) {
            struct mm_repo__loc *l = mm_repo__index_find(&st->r->ix, p->objs[i].id);
            if (l && l->pending) {
                l->pack = (uint32_t)pk;
                l->offset = p->objs[i].offset;
                l->length = p->objs[i].length;
                l->plain = p->objs[i].plain;
                l->pending = 0;
            }
        }
    pthread_mutex_unlock(&st->r->ix.lock);
    if (pk < 0) {
        err = (int)pk;
        goto out;
    }
    pthread_mutex_lock(&st->mu);
    if (st->nnew == st->capnew) {
        size_t ncap = st->capnew ? st->capnew * 2 : 64;
        void *nv = mm_realloc(st->newpacks, ncap * sizeof(*st->newpacks));
        if (!nv) {
            pthread_mutex_unlock(&st->mu);
            err = mm_error_set(MM_ENOMEM, "out of memory");
            goto out;
        }
        st->newpacks = nv;
        st->capnew = ncap;
    }
    memcpy(st->newpacks[st->nnew].id, h, ID_SIZE);
    st->newpacks[st->nnew].size = size;
    st->newpacks[st->nnew].objs = copy;
    st->newpacks[st->nnew].nobjs = p->n;
    copy = NULL; /* now owned by newpacks */
    st->nnew++;
    st->newobjs += p->n;
    want_index = st->nnew >= INDEX_EVERY || st->newobjs >= INDEX_OBJECTS;
    pthread_mutex_unlock(&st->mu);
    if (want_index) {
        pthread_mutex_lock(&st->ixw);
        err = write_index_file(st);
        pthread_mutex_unlock(&st->ixw);
        if (err < 0)
            goto out;
    }
    err = mm_repo__packw_start(st->r, p);
out:
    mm_free(copy);
    return err;
}

/*
 * Keep a copy of the small file @p as a dictionary sample; the call that completes the set
 * trains the dictionary (written to the repository before any object uses it) while the
 * other workers wait for it (a fraction of a second, once per repository), so every small
 * file after the samples is compressed with it. @return 0, MM_EIO, MM_ENOMEM
 */
static int sample(struct bstate *st, const void *p, size_t n)
{
    mm_buf all;
    size_t *sizes;
    unsigned k;
    int err;

    pthread_mutex_lock(&st->dictmu);
    while (st->sampling == SAMPLING_TRAIN)
        pthread_cond_wait(&st->dictcv, &st->dictmu);
    if (st->sampling != SAMPLING_COLLECT) {
        pthread_mutex_unlock(&st->dictmu);
        return 0;
    }
    if (!st->sizes && !(st->sizes = mm_malloc(st->want_samples * sizeof(*st->sizes)))) {
        pthread_mutex_unlock(&st->dictmu);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    if (mm_buf_put(&st->samples, p, n) < 0) { /* the sample budget is spent: train now */
        mm_error_clear();
        st->want_samples = st->nsamples;
    } else {
        st->sizes[st->nsamples++] = n;
    }
    if (st->nsamples < st->want_samples) {
        pthread_mutex_unlock(&st->dictmu);
        return 0;
    }
    __atomic_store_n(&st->sampling, SAMPLING_TRAIN, __ATOMIC_RELAXED);
    all = st->samples; /* now owned here: trained outside the lock */
    mm_buf_init(&st->samples, 0);
    sizes = st->sizes;
    st->sizes = NULL;
    k = st->nsamples;
    pthread_mutex_unlock(&st->dictmu);
    /* a dictionary stays even when this run fails: the next run uses it */
    err = mm_repo__dict_train(st->r, all.ptr, sizes, k);
    if (err > 0)
        err = 0;
    mm_buf_release(&all);
    mm_free(sizes);
    pthread_mutex_lock(&st->dictmu);
    __atomic_store_n(&st->sampling, SAMPLING_DONE, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&st->dictcv);
    pthread_mutex_unlock(&st->dictmu);
    return err;
}

/*
 * Store one object unless the repository has it: claim its ID, seal it into pack writer
 * @which (0 file data, 1 trees). @return 1 stored, 0 known already, <0 error.
 */
static int store_in(struct worker *wk, uint8_t type, int which, const void *p, size_t n,
                    unsigned char id[ID_SIZE])
{
    struct bstate *st = wk->st;
    struct mm_repo__loc loc;
    struct mm_repo__packw full = { 0 }, *pk;
    const struct mm_repo__dict *dict = NULL;
    size_t off;
    int err, flush = 0;

    if ((err = mm_crypto_object_id(st->r->ks, p, n, id)) < 0)
        return err;
    /* a host keeps the trees of the generation it writes, in the clear, in its catalog */
    if (type == MM_REPO_OBJ_TREE && st->r->cat &&
        (err = mm_repo__catalog_tree_add(st->r->cat, id, p, n)) < 0)
        return err;
    memset(&loc, 0, sizeof(loc));
    memcpy(loc.id, id, ID_SIZE);
    loc.type = type;
    loc.plain = (uint32_t)n;
    loc.pending = 1;
    pthread_mutex_lock(&st->r->ix.lock);
    err = mm_repo__index_add(&st->r->ix, &loc, NULL);
    pthread_mutex_unlock(&st->r->ix.lock);
    if (err <= 0)
        return err;
    if (type == MM_REPO_OBJ_BLOB && n <= MM_REPO_DICT_OBJECT_MAX) {
        dict = mm_repo__dict_current(st->r);
        if (!dict && __atomic_load_n(&st->sampling, __ATOMIC_RELAXED)) {
            if ((err = sample(st, p, n)) < 0)
                return err;
            dict = mm_repo__dict_current(st->r);
        }
    }
    pk = &st->pack[which];
    for (;;) { /* format 3: sealed under the data key of the pack it goes into */
        unsigned char dk[MM_CRYPTO_DK_SIZE] = { 0 };
        const int fmt3 = st->r->version >= 3;
        int same;
        if (fmt3) {
            pthread_mutex_lock(&st->packmu);
            memcpy(dk, pk->dk, sizeof(dk));
            pthread_mutex_unlock(&st->packmu);
        }
        mm_buf_clear(&wk->sealed);
        err = mm_repo__object_seal_dk(st->r, &wk->w, fmt3 ? dk : NULL, id, p, n, dict, &wk->sealed);
        if (err < 0) {
            mm_crypto_wipe(dk, sizeof(dk));
            return err;
        }
        pthread_mutex_lock(&st->packmu);
        /* Memory stays bounded: a full pack waits here while PACKS_OUT others are written. */
        while (st->packs_out >= PACKS_OUT && pk->data.len >= st->r->cfg.pack_target &&
               !__atomic_load_n(&st->err, __ATOMIC_RELAXED))
            pthread_cond_wait(&st->packcv, &st->packmu);
        same = !fmt3 || mm_crypto_equal(dk, pk->dk, sizeof(dk));
        mm_crypto_wipe(dk, sizeof(dk));
        if (same)
            break;                         /* still locked */
        pthread_mutex_unlock(&st->packmu); /* the pack was written meanwhile: seal again */
    }
    off = pk->data.len;
    err = mm_buf_put(&pk->data, wk->sealed.ptr, wk->sealed.len);
    if (err == 0 && (err = mm_repo__packw_record(pk, id, type, off, (uint32_t)n)) < 0)
        mm_buf_truncate(&pk->data, off);
    if (err == 0 && pk->data.len >= st->r->cfg.pack_target && st->packs_out < PACKS_OUT) {
        size_t reserve = pk->reserve;
        full = *pk; /* now owned here: written outside the lock */
        memset(pk, 0, sizeof(*pk));
        pk->reserve = reserve;
        err = mm_repo__packw_start(st->r, pk);
        flush = 1;
        st->packs_out++;
    }
    pthread_mutex_unlock(&st->packmu);
    if (wk->sealed.cap > (1u << 20))
        mm_buf_release(&wk->sealed);
    if (err == 0) {
        add(&st->c.objects_new, 1);
        add(&st->c.bytes_new, n);
    }
    if (flush) {
        int e2 = pack_flush(wk, &full);
        mm_repo__packw_release(&full);
        pthread_mutex_lock(&st->packmu);
        st->packs_out--;
        pthread_cond_broadcast(&st->packcv);
        pthread_mutex_unlock(&st->packmu);
        if (err == 0)
            err = e2;
    }
    return err < 0 ? err : 1;
}

/* Store one object in the pack of its kind (store_in). */
static int store(struct worker *wk, uint8_t type, const void *p, size_t n,
                 unsigned char id[ID_SIZE])
{
    return store_in(wk, type, type == MM_REPO_OBJ_TREE, p, n, id);
}

static int push_id(struct worker *wk, const unsigned char id[ID_SIZE])
{
    if (wk->nids == wk->capids) {
        size_t ncap = wk->capids ? wk->capids * 2 : 16;
        void *nv = mm_realloc(wk->ids, ncap * ID_SIZE);
        if (!nv)
            return mm_error_set(MM_ENOMEM, "out of memory");
        wk->ids = nv;
        wk->capids = ncap;
    }
    memcpy(wk->ids[wk->nids++], id, ID_SIZE);
    return 0;
}

/*
 * Read @fd to its end, cut it into chunks and store them; the IDs go to wk->ids.
 * @param[out] total bytes read
 * @return 0, MM_EIO (read error: errno kept in *@eno), other errors fatal
 */
static int store_stream(struct worker *wk, int fd, uint64_t *total, int *eno)
{
    size_t max = wk->st->r->cfg.chunk.max, len = 0, off = 0, cut;
    unsigned char id[ID_SIZE];
    int err = 0, eof = 0;

    wk->nids = 0;
    *total = 0;
    mm_chunker_reset(wk->chunker);
    while (!eof) {
        ssize_t got;
        if (len == wk->bufcap && wk->bufcap < max) { /* grow: small files need little */
            size_t ncap = wk->bufcap ? wk->bufcap * 4 : 64 * 1024;
            unsigned char *nb;
            if (ncap > max)
                ncap = max;
            if (!(nb = mm_realloc(wk->buf, ncap)))
                return mm_error_set(MM_ENOMEM, "out of memory");
            wk->buf = nb;
            wk->bufcap = ncap;
        }
        got = read(fd, wk->buf + len, wk->bufcap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            *eno = errno;
            return MM_EIO;
        }
        /* a regular file reads short only at its end: no extra read() per small file */
        if (got == 0 || (size_t)got < wk->bufcap - len)
            eof = 1;
        len += (size_t)got;
        *total += (uint64_t)got;
        while ((err = mm_chunker_next(wk->chunker, wk->buf + off, len - off, &cut)) == 1) {
            if ((err = store(wk, MM_REPO_OBJ_BLOB, wk->buf + off, cut, id)) < 0 ||
                (err = push_id(wk, id)) < 0)
                return err;
            off += cut;
        }
        if (err < 0)
            return err;
        if (eof && len > off) {
            if ((err = store(wk, MM_REPO_OBJ_BLOB, wk->buf + off, len - off, id)) < 0 ||
                (err = push_id(wk, id)) < 0)
                return err;
            off = len;
            mm_chunker_reset(wk->chunker);
        }
        if (off > 0) {
            memmove(wk->buf, wk->buf + off, len - off);
            len -= off;
            off = 0;
        }
    }
    if (wk->bufcap > (1u << 20)) { /* do not keep a large file's buffer */
        mm_free(wk->buf);
        wk->buf = NULL;
        wk->bufcap = 0;
    }
    return 0;
}

/* ---- folders -------------------------------------------------------------------------------- */

/* A new folder node, linked into st->live. */
static struct node *node_new(struct bstate *st, struct node *parent, size_t slot)
{
    struct node *nd = mm_calloc(1, sizeof(*nd));

    if (!nd)
        return NULL;
    nd->parent = parent;
    nd->slot = slot;
    pthread_mutex_lock(&st->livemu);
    nd->next = st->live;
    if (st->live)
        st->live->prev = nd;
    st->live = nd;
    pthread_mutex_unlock(&st->livemu);
    return nd;
}

static void node_free(struct bstate *st, struct node *nd)
{
    if (!nd)
        return;
    pthread_mutex_lock(&st->livemu);
    if (nd->prev)
        nd->prev->next = nd->next;
    else if (st->live == nd)
        st->live = nd->next;
    if (nd->next)
        nd->next->prev = nd->prev;
    pthread_mutex_unlock(&st->livemu);
    for (size_t i = 0; i < nd->n; i++) {
        mm_free(nd->e[i].name);
        mm_free(nd->e[i].ids);
        mm_free(nd->e[i].target);
    }
    mm_free(nd->e);
    mm_free(nd);
}

static int finish_node(struct worker *wk, struct node *nd);

/* One outstanding piece of @nd is done; finish the folder when it was the last. */
static int release(struct worker *wk, struct node *nd)
{
    long left = __atomic_sub_fetch(&nd->pending, 1, __ATOMIC_ACQ_REL);

    return left == 0 ? finish_node(wk, nd) : 0;
}

/* Encode and store the tree of @nd, hand its ID to the parent, free it. */
static int finish_node(struct worker *wk, struct node *nd)
{
    struct bstate *st = wk->st;
    struct mm_repo__tree t;
    struct mm_repo__entry *te = NULL;
    unsigned char id[ID_SIZE];
    struct node *parent = nd->parent;
    mm_buf b;
    size_t k = 0;
    int err;

    if (!(te = mm_malloc((nd->n ? nd->n : 1) * sizeof(*te))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < nd->n; i++)
        if (nd->e[i].te.kind != 0) /* 0: skipped (unreadable) */
            te[k++] = nd->e[i].te;
    t.e = te;
    t.n = k;
    t.data = NULL;
    mm_buf_init(&b, MM_REPO_TREE_MAX);
    err = mm_repo__tree_encode(&t, &b);
    if (err == 0)
        err = store(wk, MM_REPO_OBJ_TREE, b.ptr, b.len, id);
    mm_buf_release(&b);
    mm_free(te);
    if (err < 0)
        return err;
    if (!parent) {
        memcpy(st->root, id, ID_SIZE);
        node_free(st, nd);
        pthread_mutex_lock(&st->mu);
        st->done = 1;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->mu);
        return 0;
    }
    memcpy(parent->e[nd->slot].ids, id, ID_SIZE);
    add(&st->c.dirs, 1);
    node_free(st, nd);
    return release(wk, parent);
}

static int push_job(struct bstate *st, const struct job *j)
{
    pthread_mutex_lock(&st->mu);
    if (st->njobs == st->capjobs) {
        size_t ncap = st->capjobs ? st->capjobs * 2 : 1024;
        void *nv = mm_realloc(st->jobs, ncap * sizeof(*st->jobs));
        if (!nv) {
            pthread_mutex_unlock(&st->mu);
            return mm_error_set(MM_ENOMEM, "out of memory");
        }
        st->jobs = nv;
        st->capjobs = ncap;
    }
    st->jobs[st->njobs++] = *j;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return 0;
}

/* Jobs a folder queues, pushed together (one lock and one wake-up per batch). */
struct batch {
    struct job v[128];
    size_t n;
};

static int flush_jobs(struct bstate *st, struct batch *b)
{
    if (!b->n)
        return 0;
    pthread_mutex_lock(&st->mu);
    if (st->njobs + b->n > st->capjobs) {
        size_t ncap = st->capjobs ? st->capjobs : 1024;
        void *nv;
        while (ncap < st->njobs + b->n)
            ncap *= 2;
        if (!(nv = mm_realloc(st->jobs, ncap * sizeof(*st->jobs)))) {
            pthread_mutex_unlock(&st->mu);
            return mm_error_set(MM_ENOMEM, "out of memory");
        }
        st->jobs = nv;
        st->capjobs = ncap;
    }
    memcpy(st->jobs + st->njobs, b->v, b->n * sizeof(*b->v));
    st->njobs += b->n;
    if (b->n > 1)
        pthread_cond_broadcast(&st->cv);
    else
        pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    b->n = 0;
    return 0;
}

/* Queue @j in @b (its path now owned by the batch), pushing a full batch. */
static int batch_add(struct bstate *st, struct batch *b, const struct job *j)
{
    if (b->n == sizeof(b->v) / sizeof(b->v[0])) {
        int err = flush_jobs(st, b);
        if (err < 0)
            return err;
    }
    b->v[b->n++] = *j;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;
    size_t n = x->te.namelen < y->te.namelen ? x->te.namelen : y->te.namelen;
    int c = memcmp(x->name, y->name, n);

    if (c)
        return c;
    return x->te.namelen < y->te.namelen ? -1 : x->te.namelen > y->te.namelen;
}

/* A file of @old with the same inode, size and mtime (renamed in this folder), or NULL. */
static const struct mm_repo__entry *old_by_inode(const struct mm_repo__tree *old,
                                                 const struct stat *s)
{
    for (size_t i = 0; i < old->n; i++) {
        const struct mm_repo__entry *e = &old->e[i];
        if (e->kind == MM_REPO_KIND_FILE && e->ino == (uint64_t)s->st_ino &&
            e->dev == (uint64_t)s->st_dev && e->size == (uint64_t)s->st_size &&
            e->mtime_ns == (int64_t)s->st_mtim.tv_sec * 1000000000 + s->st_mtim.tv_nsec)
            return e;
    }
    return NULL;
}

static void fill_stat(struct mm_repo__entry *te, const struct stat *s)
{
    te->mode = (uint32_t)(s->st_mode & 07777);
    te->uid = (uint32_t)s->st_uid;
    te->gid = (uint32_t)s->st_gid;
    te->size = S_ISREG(s->st_mode) ? (uint64_t)s->st_size : 0;
    te->mtime_ns = (int64_t)s->st_mtim.tv_sec * 1000000000 + s->st_mtim.tv_nsec;
    te->ctime_ns = (int64_t)s->st_ctim.tv_sec * 1000000000 + s->st_ctim.tv_nsec;
    te->ino = (uint64_t)s->st_ino;
    te->dev = (uint64_t)s->st_dev;
}

/* List, stat and compare one folder; queue its subfolders and the files to read. */
static int do_dir(struct worker *wk, struct job *j)
{
    struct bstate *st = wk->st;
    struct node *nd = j->node;
    struct mm_repo__tree old = { 0 };
    struct ent *e = NULL;
    size_t n = 0, cap = 0;
    struct batch batch; /* 128 jobs on the stack: no allocation per folder */
    int fd, err = 0;

    batch.n = 0;
    fd = open(j->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        problem(st, j->path, "cannot open folder");
        goto done;
    }
    for (;;) {
        long got = mm_os_dir_read(fd, wk->dirbuf, sizeof(wk->dirbuf));
        size_t off = 0;
        const char *name;
        if (got < 0) {
            problem(st, j->path, "cannot list folder completely");
            break;
        }
        if (got == 0)
            break;
        while ((name = mm_os_dir_next(wk->dirbuf, (size_t)got, &off)) != NULL) {
            size_t len = strlen(name);
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                void *nv = mm_realloc(e, ncap * sizeof(*e));
                if (!nv) {
                    err = mm_error_set(MM_ENOMEM, "out of memory");
                    goto out;
                }
                e = nv;
                cap = ncap;
            }
            memset(&e[n], 0, sizeof(e[n]));
            if (!(e[n].name = mm_strndup(name, len))) {
                err = mm_error_set(MM_ENOMEM, "out of memory");
                goto out;
            }
            e[n].te.name = e[n].name;
            e[n].te.namelen = (uint32_t)len;
            n++;
        }
    }
    if (n > 1)
        qsort(e, n, sizeof(*e), cmp_name);
    if (j->has_old && mm_repo__tree_get(st->r, &wk->w, j->old, &old) < 0) {
        mm_error_clear(); /* a damaged parent tree: read everything again */
        memset(&old, 0, sizeof(old));
    }
    nd->e = e;
    nd->n = n;
    e = NULL;                                                      /* now owned by the node */
    __atomic_store_n(&nd->pending, 1 + (long)n, __ATOMIC_RELEASE); /* the lister, each entry */
    for (size_t i = 0; i < n; i++) {
        struct ent *x = &nd->e[i];
        const struct mm_repo__entry *o;
        struct stat s;
        int queued = 0;

        if (fstatat(fd, x->name, &s, AT_SYMLINK_NOFOLLOW) != 0) {
            char *p = mm_repo__join(j->path, x->name, strlen(x->name));
            problem(st, p ? p : j->path, "cannot read file information");
            mm_free(p);
            goto entry_done;
        }
        fill_stat(&x->te, &s);
        o = old.n ? mm_repo__tree_find(&old, x->name, x->te.namelen) : NULL;
        if (S_ISDIR(s.st_mode)) {
            struct node *child = node_new(st, nd, i);
            struct job cj = { 0 };
            if (!child || !(x->ids = mm_malloc(ID_SIZE)) ||
                !(cj.path = mm_repo__join(j->path, x->name, strlen(x->name)))) {
                node_free(st, child);
                err = mm_error_set(MM_ENOMEM, "out of memory");
                goto out;
            }
            x->te.kind = MM_REPO_KIND_DIR;
            x->te.ids = x->ids;
            x->te.nids = 1;
            cj.kind = JOB_DIR;
            cj.node = child;
            if (o && o->kind == MM_REPO_KIND_DIR) {
                cj.has_old = 1;
                memcpy(cj.old, o->ids, ID_SIZE);
            }
            if ((err = batch_add(st, &batch, &cj)) < 0) {
                mm_free(cj.path);
                node_free(st, child);
                goto out;
            }
            queued = 1;
        } else if (S_ISREG(s.st_mode)) {
            x->te.kind = MM_REPO_KIND_FILE;
            add(&st->c.files, 1);
            add(&st->c.bytes, x->te.size);
            if (!(o && o->kind == MM_REPO_KIND_FILE && o->size == x->te.size &&
                  o->mtime_ns == x->te.mtime_ns && o->ctime_ns == x->te.ctime_ns &&
                  o->ino == x->te.ino && o->dev == x->te.dev))
                o = old.n && !(o && o->kind == MM_REPO_KIND_FILE && o->ino == x->te.ino &&
                               o->dev == x->te.dev)
                            ? old_by_inode(&old, &s)
                            : NULL;
            /* a host reuses only what its checked catalog knows is on the medium */
            if (o && st->r->cat && !all_known(st, o->ids, o->nids))
                o = NULL;
            if (o) {
                if (o->nids && !(x->ids = mm_malloc((size_t)o->nids * ID_SIZE))) {
                    err = mm_error_set(MM_ENOMEM, "out of memory");
                    goto out;
                }
                if (o->nids)
                    memcpy(x->ids, o->ids, (size_t)o->nids * ID_SIZE);
                x->te.ids = x->ids;
                x->te.nids = o->nids;
                add(&st->c.files_unchanged, 1);
            } else {
                struct job fj = { 0 };
                fj.kind = JOB_FILE;
                fj.node = nd;
                fj.slot = i;
                if (!(fj.path = mm_repo__join(j->path, x->name, strlen(x->name)))) {
                    err = mm_error_set(MM_ENOMEM, "out of memory");
                    goto out;
                }
                if ((err = batch_add(st, &batch, &fj)) < 0) {
                    mm_free(fj.path);
                    goto out;
                }
                queued = 1;
            }
        } else if (S_ISLNK(s.st_mode)) {
            char buf[MM_LIMIT_PATH];
            ssize_t got = readlinkat(fd, x->name, buf, sizeof(buf));
            if (got <= 0 || (size_t)got >= sizeof(buf)) {
                char *p = mm_repo__join(j->path, x->name, strlen(x->name));
                problem(st, p ? p : j->path, "cannot read symbolic link");
                mm_free(p);
                x->te.kind = 0;
                goto entry_done;
            }
            if (!(x->target = mm_strndup(buf, (size_t)got))) {
                err = mm_error_set(MM_ENOMEM, "out of memory");
                goto out;
            }
            x->te.kind = MM_REPO_KIND_SYMLINK;
            x->te.target = x->target;
            x->te.targetlen = (uint32_t)got;
            add(&st->c.symlinks, 1);
        } else {
            add(&st->c.skipped, 1); /* sockets, pipes, devices: not backed up */
        }
entry_done:
        if (!queued && (err = release(wk, nd)) < 0)
            goto out;
    }
done:
    if ((err = flush_jobs(st, &batch)) < 0)
        goto out;
    if (!nd->e)
        __atomic_store_n(&nd->pending, 1, __ATOMIC_RELEASE);
    err = release(wk, nd); /* the lister's hold */
out:
    for (size_t i = 0; i < batch.n; i++) /* jobs not pushed after a failure */
        mm_free(batch.v[i].path);
    if (e) {
        for (size_t i = 0; i < n; i++)
            mm_free(e[i].name);
        mm_free(e);
    }
    if (fd >= 0)
        close(fd);
    mm_repo__tree_release(&old);
    return err;
}

/* Read one file and store its content. */
static int do_file(struct worker *wk, struct job *j)
{
    struct bstate *st = wk->st;
    struct ent *x = &j->node->e[j->slot];
    uint64_t total = 0;
    struct stat s;
    int fd, err, eno = 0;

    fd = open(j->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &s) != 0 || !S_ISREG(s.st_mode)) {
        problem(st, j->path, fd < 0 ? "cannot open file" : "no longer a regular file");
        x->te.kind = 0;
        add(&st->c.files, (uint64_t)-1);
        add(&st->c.bytes, (uint64_t)-x->te.size);
        goto done;
    }
    err = store_stream(wk, fd, &total, &eno);
    if (err == MM_EIO && eno) {
        problem(st, j->path, "cannot read file");
        x->te.kind = 0;
        add(&st->c.files, (uint64_t)-1);
        add(&st->c.bytes, (uint64_t)-x->te.size);
        goto done;
    }
    if (err < 0) {
        close(fd);
        return err;
    }
    if (total != x->te.size) { /* changed while read: keep what was read */
        add(&st->c.bytes, total - x->te.size);
        x->te.size = total;
    }
    if (wk->nids) {
        if (!(x->ids = mm_malloc(wk->nids * ID_SIZE))) {
            close(fd);
            return mm_error_set(MM_ENOMEM, "out of memory");
        }
        memcpy(x->ids, wk->ids, wk->nids * ID_SIZE);
    }
    x->te.ids = x->ids;
    x->te.nids = (uint32_t)wk->nids;
    add(&st->c.files_read, 1);
done:
    if (fd >= 0)
        close(fd);
    return release(wk, j->node);
}

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    struct bstate *st = wk->st;

    for (;;) {
        struct job j;
        int err;

        pthread_mutex_lock(&st->mu);
        while (!st->njobs && !st->done)
            pthread_cond_wait(&st->cv, &st->mu);
        if (st->done && (st->err || !st->njobs)) {
            pthread_mutex_unlock(&st->mu);
            break;
        }
        j = st->jobs[--st->njobs];
        pthread_mutex_unlock(&st->mu);
        err = j.kind == JOB_DIR ? do_dir(wk, &j) : do_file(wk, &j);
        mm_free(j.path);
        if (err < 0) {
            fail(st, err);
            break;
        }
    }
    return NULL;
}

static int worker_init(struct worker *wk, struct bstate *st)
{
    int err;

    memset(wk, 0, sizeof(*wk));
    wk->st = st;
    if ((err = mm_repo__work_init(&wk->w)) < 0)
        return err;
    if ((err = mm_chunker_new(&wk->chunker, &st->r->cfg.chunk, mm_keyset_chunk_seed(st->r->ks))) <
        0)
        return err;
    mm_buf_init(&wk->sealed, MM_REPO_OBJECT_MAX + MM_CRYPTO_SEAL_OVERHEAD + 16);
    return 0;
}

static void worker_release(struct worker *wk)
{
    mm_repo__work_release(&wk->w);
    mm_buf_release(&wk->sealed);
    mm_chunker_free(wk->chunker);
    mm_free(wk->buf);
    mm_free(wk->ids);
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
        if ((err = store(wk, MM_REPO_OBJ_BLOB, piece, len, id)) < 0 || (err = push_id(wk, id)) < 0)
            goto out;
        /* its twin: the same bytes and a tail (another object ID), in the other pack writer,
         * so the two copies always lie in two different packs */
        memcpy(piece + len, MM_REPO__TWIN_TAIL, MM_REPO__TWIN_TAIL_SIZE);
        if ((err = store_in(wk, MM_REPO_OBJ_BLOB, 1, piece, len + MM_REPO__TWIN_TAIL_SIZE, id)) < 0)
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
        if ((err = push_id(wk, twins + i * ID_SIZE)) < 0)
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

    if (!c || !c->nindex || !all_known(st, c->index_ids, c->nindex))
        return 0; /* stored again */
    mainwk->nids = 0;
    for (size_t i = 0; i < c->nindex && err == 0; i++)
        err = push_id(mainwk, c->index_ids + i * ID_SIZE);
    *twins = c->index_twins;
    return err < 0 ? err : 1;
}

int mm_repo_backup(mm_repo *r, const struct mm_repo_source *src, size_t nsrc,
                   const struct mm_repo_backup_opts *o, char id_out[MM_CRYPTO_HEX_SIZE],
                   struct mm_repo_counts *counts)
{
    struct mm_repo_backup_opts def = { 0 };
    struct bstate st;
    struct mm_repo_gen parent = { 0 }, g = { 0 };
    struct mm_repo__tree oldroot = { 0 };
    struct worker *wk = NULL, mainwk;
    struct mm_repo_gen_source *gs = NULL;
    unsigned int nthreads, started = 0;
    char host[256] = "unknown", gid[MM_CRYPTO_HEX_SIZE];
    uint64_t index_size = 0;
    const char *index_file = o ? o->index_file : NULL;
    int err, have_parent = 0, mainwk_ok = 0, have_index = 0, index_twins = 0;
    const int is_host = mm_keyset_is_host(r->ks);

    MM_ASSERT_ARG(r && (src || nsrc == 0));
    if (!o)
        o = &def;
    memset(&st, 0, sizeof(st));
    memset(&mainwk, 0, sizeof(mainwk));
    pthread_mutex_init(&st.mu, NULL);
    pthread_mutex_init(&st.ixw, NULL);
    pthread_mutex_init(&st.packmu, NULL);
    pthread_mutex_init(&st.problem_mu, NULL);
    pthread_cond_init(&st.cv, NULL);
    pthread_cond_init(&st.packcv, NULL);
    pthread_mutex_init(&st.dictmu, NULL);
    pthread_mutex_init(&st.livemu, NULL);
    pthread_cond_init(&st.dictcv, NULL);
    mm_buf_init(&st.samples, DICT_SAMPLE_BYTES);
    st.want_samples = o->dict_samples ? o->dict_samples : DICT_SAMPLES;
    st.r = r;
    st.o = o;
    for (int k = 0; k < 2; k++) {
        st.pack[k].reserve = (size_t)r->cfg.pack_target + PACK_SLACK;
        if ((err = mm_repo__packw_start(st.r, &st.pack[k])) < 0)
            goto out;
    }
    if (nsrc == 0) {
        err = mm_error_set(MM_EINVAL, "nothing to back up: give at least one folder");
        goto out;
    }
    if (!(gs = mm_calloc(nsrc, sizeof(*gs)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nsrc; i++) {
        char name[MM_LIMIT_NAME + 1], abs[PATH_MAX];
        struct stat s;
        if (stat(src[i].path, &s) != 0 || !S_ISDIR(s.st_mode)) {
            err = mm_error_set(MM_ENOTFOUND, "'%s' is not a folder", src[i].path);
            goto out;
        }
        if (base_name(src[i].path, name, sizeof(name)) < 0 || !realpath(src[i].path, abs)) {
            err = mm_error_set(MM_EINVAL, "cannot name the folder '%s'", src[i].path);
            goto out;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(gs[k].name, name) == 0) {
                err = mm_error_set(MM_EINVAL,
                                   "two folders named '%s': back them up to separate "
                                   "generations or rename one",
                                   name);
                goto out;
            }
        gs[i].kind = src[i].kind;
        if (!(gs[i].name = mm_strdup(name)) || !(gs[i].path = mm_strdup(abs))) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
            goto out;
        }
    }
    if ((err = mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, NULL)) < 0)
        goto out;
    if (is_host) {
        if ((err = mm_repo__catalog_begin(r, o, &parent, &have_parent)) < 0)
            goto out;
    } else {
        if ((err = mm_repo__index_load(r)) < 0)
            goto out;
        err = mm_repo_gen_find(r, "latest", &parent);
        if (err == 0)
            have_parent = 1;
        else if (err != MM_ENOTFOUND)
            goto out;
        err = 0;
    }
    g.start_ns = mm_repo__now_ns();
    nthreads = mm_repo__threads(o->threads);
    if (!(wk = mm_calloc(nthreads, sizeof(*wk)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    if ((err = worker_init(&mainwk, &st)) < 0)
        goto out;
    mainwk_ok = 1;
    /* index_load read dict/; a version 1 repository stays readable by the mamori that made it */
    /* (a host uses the dictionaries of its credential: one it trained would be lost to it) */
    st.sampling = r->version >= 2 && !is_host && mm_repo__dict_current(r) == NULL ? SAMPLING_COLLECT
                                                                                  : SAMPLING_DONE;
    if (have_parent && mm_repo__tree_get(r, &mainwk.w, parent.root, &oldroot) < 0) {
        mm_error_clear();
        memset(&oldroot, 0, sizeof(oldroot));
    }
    /* the virtual root: one folder entry per source, each a folder job */
    if (!(st.top = node_new(&st, NULL, 0)) || !(st.top->e = mm_calloc(nsrc, sizeof(*st.top->e)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    st.top->n = nsrc;
    st.top->pending = (long)nsrc + 1;
    {
        struct ent *sorted = st.top->e;
        for (size_t i = 0; i < nsrc; i++) {
            struct stat s;
            stat(src[i].path, &s);
            sorted[i].name = mm_strdup(gs[i].name);
            sorted[i].ids = mm_malloc(ID_SIZE);
            if (!sorted[i].name || !sorted[i].ids) {
                err = mm_error_set(MM_ENOMEM, "out of memory");
                goto out;
            }
            sorted[i].te.name = sorted[i].name;
            sorted[i].te.namelen = (uint32_t)strlen(sorted[i].name);
            sorted[i].te.kind = MM_REPO_KIND_DIR;
            sorted[i].te.ids = sorted[i].ids;
            sorted[i].te.nids = 1;
            fill_stat(&sorted[i].te, &s);
            sorted[i].te.size = 0;
        }
        qsort(sorted, nsrc, sizeof(*sorted), cmp_name);
        for (size_t i = 0; i < nsrc; i++) {
            struct node *child = node_new(&st, st.top, i);
            struct job j = { 0 };
            const struct mm_repo__entry *oe;
            size_t k;
            for (k = 0; k < nsrc && strcmp(gs[k].name, sorted[i].name) != 0; k++)
                ;
            if (!child || !(j.path = mm_strdup(src[k].path))) {
                node_free(&st, child);
                err = mm_error_set(MM_ENOMEM, "out of memory");
                goto out;
            }
            j.kind = JOB_DIR;
            j.node = child;
            oe = mm_repo__tree_find(&oldroot, sorted[i].name, sorted[i].te.namelen);
            if (oe && oe->kind == MM_REPO_KIND_DIR) {
                j.has_old = 1;
                memcpy(j.old, oe->ids, ID_SIZE);
            }
            if ((err = push_job(&st, &j)) < 0) {
                mm_free(j.path);
                node_free(&st, child);
                goto out;
            }
        }
    }
    for (started = 0; started < nthreads; started++) {
        if ((err = worker_init(&wk[started], &st)) < 0 ||
            pthread_create(&wk[started].thread, NULL, worker_main, &wk[started]) != 0) {
            if (!err)
                err = mm_error_set(MM_ERROR, "cannot start a worker thread");
            worker_release(&wk[started]);
            fail(&st, err);
            break;
        }
    }
    if (started > 0 && (err = release(&mainwk, st.top)) < 0) /* the caller's hold on the root */
        fail(&st, err);
    /* wait, reporting progress */
    pthread_mutex_lock(&st.mu);
    while (!st.done && started > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&st.cv, &st.mu, &until);
        if (o->progress && !st.done) {
            struct mm_repo_progress p = { 0 };
            pthread_mutex_unlock(&st.mu);
            p.files_done = __atomic_load_n(&st.c.files_read, __ATOMIC_RELAXED) +
                           __atomic_load_n(&st.c.files_unchanged, __ATOMIC_RELAXED);
            p.files_total = have_parent ? parent.counts.files : 0;
            if (p.files_total < p.files_done)
                p.files_total = 0;
            p.bytes_done = __atomic_load_n(&st.c.bytes_new, __ATOMIC_RELAXED);
            o->progress(&p, o->ctx);
            pthread_mutex_lock(&st.mu);
        }
    }
    pthread_mutex_unlock(&st.mu);
    for (unsigned int i = 0; i < started; i++)
        pthread_join(wk[i].thread, NULL);
    if (st.err) {
        err = st.err;
        goto out;
    }
    if (started < nthreads)
        goto out;
    /* every pack, the patient index, then the index files, then the manifest */
    if ((err = pack_flush(&mainwk, &st.pack[0])) < 0 ||
        (err = pack_flush(&mainwk, &st.pack[1])) < 0)
        goto out;
    if (o->index) {
        int reuse = 0;
        index_file = NULL;
        if ((err = o->index(r, have_parent ? parent.root : NULL, st.root, &index_file, &reuse,
                            o->ctx)) < 0)
            goto out;
        if (reuse && have_parent && parent.has_index && is_host) {
            if ((err = host_reuse_index(&st, &mainwk, &index_twins)) < 0)
                goto out;
            index_size = parent.index_size;
            have_index = err == 1;
            err = 0;
        } else if (reuse && have_parent && parent.has_index) {
            struct mm_repo_gen tmp;
            unsigned char *pids = NULL;
            size_t npids = 0;
            if ((err = mm_repo__gen_load(r, parent.id, &tmp, &pids, &npids)) < 0)
                goto out;
            index_twins = tmp.index_twins; /* the same blocks, and their twins if it had them */
            mm_repo_gen_release(&tmp);
            mainwk.nids = 0;
            for (size_t i = 0; i < npids && err == 0; i++)
                err = push_id(&mainwk, pids + i * ID_SIZE);
            mm_free(pids);
            if (err < 0)
                goto out;
            index_size = parent.index_size;
            have_index = 1;
        }
    }
    if (!have_index && index_file) {
        /* the blocks go to the file data writer, their twins to the tree writer */
        if ((err = store_index(&mainwk, index_file, &index_size)) < 0)
            goto out;
        have_index = 1;
        index_twins = 1;
    }
    if ((err = pack_flush(&mainwk, &st.pack[0])) < 0 ||
        (err = pack_flush(&mainwk, &st.pack[1])) < 0 || (err = write_index_file(&st)) < 0)
        goto out;
    gethostname(host, sizeof(host) - 1);
    for (char *c = host; *c; c++)
        if ((unsigned char)*c < ' ')
            *c = '_';
    if (o->name && !(g.name = mm_strdup(o->name))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    g.host = host;
    g.user = r->user;
    g.end_ns = mm_repo__now_ns();
    if (have_parent)
        memcpy(g.parent, parent.id, sizeof(g.parent));
    g.sources = gs;
    g.nsources = nsrc;
    g.counts = st.c;
    memcpy(g.root, st.root, ID_SIZE);
    g.has_index = have_index;
    g.index_size = index_size;
    g.index_twins = have_index && index_twins;
    g.guard = (char *)"none";
    if (o->check) {
        g.check = *o->check;
        g.check.present = 1;
    }
    /* borrowed, and only read by the encoder */
    g.storages = (struct mm_repo_gen_storage *)(uintptr_t)o->storages;
    g.nstorages = o->storages ? o->nstorages : 0;
    g.viewer = (struct mm_repo_viewer *)(uintptr_t)o->viewer;
    err = mm_repo__gen_write(r, &g, have_index ? (const unsigned char *)mainwk.ids : NULL,
                             have_index ? mainwk.nids : 0, gid);
    if (err < 0)
        goto out;
    if (r->cat) /* only now: the catalog never names what no durable manifest holds */
        host_end(&st, &g, gid, &mainwk, have_index);
    if (id_out)
        memcpy(id_out, gid, MM_CRYPTO_HEX_SIZE);
    if (counts)
        *counts = st.c;
out:
    for (size_t i = 0; i < st.njobs; i++) /* jobs left by a failed run */
        mm_free(st.jobs[i].path);
    while (st.live) /* folders left unfinished by a failed run */
        node_free(&st, st.live);
    for (unsigned int i = 0; i < started; i++)
        worker_release(&wk[i]);
    if (mainwk_ok)
        worker_release(&mainwk);
    mm_free(wk);
    mm_free(st.jobs);
    for (size_t i = 0; i < st.nnew; i++)
        mm_free(st.newpacks[i].objs);
    mm_free(st.newpacks);
    for (size_t i = 0; i < st.ncdone; i++)
        mm_free(st.cdone[i].objs);
    mm_free(st.cdone);
    mm_repo__catalog_free(r->cat);
    r->cat = NULL;
    if (gs)
        for (size_t i = 0; i < nsrc; i++) {
            mm_free(gs[i].name);
            mm_free(gs[i].path);
        }
    mm_free(gs);
    mm_free(g.name);
    mm_repo__tree_release(&oldroot);
    mm_repo_gen_release(&parent);
    pthread_mutex_destroy(&st.mu);
    pthread_mutex_destroy(&st.ixw);
    pthread_mutex_destroy(&st.packmu);
    mm_repo__packw_release(&st.pack[0]);
    mm_repo__packw_release(&st.pack[1]);
    pthread_mutex_destroy(&st.problem_mu);
    pthread_cond_destroy(&st.cv);
    pthread_cond_destroy(&st.packcv);
    pthread_mutex_destroy(&st.dictmu);
    pthread_mutex_destroy(&st.livemu);
    pthread_cond_destroy(&st.dictcv);
    mm_buf_release(&st.samples);
    mm_free(st.sizes);
    if (err < 0) {
        /* no manifest names what this run wrote: take it back, so that a failed run (a full
         * medium above all) leaves the medium as it found it; then forget the objects it
         * claimed. Best effort: what cannot be removed now, prune removes later. */
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", st.err && st.errmsg[0] ? st.errmsg : mm_error_last());
        for (size_t i = st.nwritten; i-- > 0;)
            mm_repo__remove(r, st.written[i]);
        mm_repo__index_release(&r->ix);
        mm_error_set(err, "%s", msg);
    }
    mm_free(st.written);
    return err;
}

/* ---- changed patients ----------------------------------------------------------------------- */

struct strv {
    char **v;
    size_t n, cap;
};

static int strv_push(struct strv *s, const char *p, size_t len)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        void *nv = mm_realloc(s->v, ncap * sizeof(*s->v));
        if (!nv)
            return mm_error_set(MM_ENOMEM, "out of memory");
        s->v = nv;
        s->cap = ncap;
    }
    if (!(s->v[s->n] = mm_strndup(p, len)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    s->n++;
    return 0;
}

void mm_repo_strings_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mm_free(v[i]);
    mm_free(v);
}

/* The folder entries of tree @id (or none for NULL). */
static int load_tree(mm_repo *r, struct mm_repo__work *w, const unsigned char *id,
                     struct mm_repo__tree *t)
{
    memset(t, 0, sizeof(*t));
    return id ? mm_repo__tree_get(r, w, id, t) : 0;
}

/* Walk the folders of both trees at level @level (3: patient folders), adding changed names. */
static int diff_level(mm_repo *r, struct mm_repo__work *w, const unsigned char *a,
                      const unsigned char *b, int level, struct strv *out)
{
    struct mm_repo__tree ta, tb;
    size_t i = 0, k = 0;
    int err;

    if (a && b && memcmp(a, b, ID_SIZE) == 0)
        return 0;
    if ((err = load_tree(r, w, a, &ta)) < 0)
        return err;
    if ((err = load_tree(r, w, b, &tb)) < 0) {
        mm_repo__tree_release(&ta);
        return err;
    }
    while ((i < ta.n || k < tb.n) && err == 0) {
        const struct mm_repo__entry *x = i < ta.n ? &ta.e[i] : NULL,
                                    *y = k < tb.n ? &tb.e[k] : NULL;
        int c;
        const unsigned char *xa, *yb;
        if (x && y) {
            size_t m = x->namelen < y->namelen ? x->namelen : y->namelen;
            c = memcmp(x->name, y->name, m);
            if (c == 0)
                c = x->namelen < y->namelen ? -1 : x->namelen > y->namelen;
        } else {
            c = x ? -1 : 1;
        }
        xa = c <= 0 && x->kind == MM_REPO_KIND_DIR ? x->ids : NULL;
        yb = c >= 0 && y->kind == MM_REPO_KIND_DIR ? y->ids : NULL;
        if (xa || yb) {
            const struct mm_repo__entry *e = c <= 0 ? x : y;
            if (level == 3) {
                if (!(xa && yb && memcmp(xa, yb, ID_SIZE) == 0))
                    err = strv_push(out, e->name, e->namelen);
            } else {
                err = diff_level(r, w, xa, yb, level + 1, out);
            }
        }
        if (c <= 0)
            i++;
        if (c >= 0)
            k++;
    }
    mm_repo__tree_release(&ta);
    mm_repo__tree_release(&tb);
    return err;
}

/*
 * The folder at the '/'-separated @path below the root tree @root (NULL: none).
 * OUT: @id, *@found (0 when some level is missing or not a folder)
 */
static int find_folder(mm_repo *r, struct mm_repo__work *w, const unsigned char *root,
                       const char *path, unsigned char id[ID_SIZE], int *found)
{
    unsigned char cur[ID_SIZE];
    const char *p = path;

    *found = 0;
    if (!root)
        return 0;
    memcpy(cur, root, ID_SIZE);
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        const struct mm_repo__entry *e;
        struct mm_repo__tree t;
        int err;

        if (len == 0) {
            p++;
            continue;
        }
        if ((err = load_tree(r, w, cur, &t)) < 0)
            return err;
        e = mm_repo__tree_find(&t, p, len);
        if (!e || e->kind != MM_REPO_KIND_DIR) {
            mm_repo__tree_release(&t);
            return 0;
        }
        memcpy(cur, e->ids, ID_SIZE);
        mm_repo__tree_release(&t);
        p += len;
    }
    memcpy(id, cur, ID_SIZE);
    *found = 1;
    return 0;
}

int mm_repo_changed_patients(mm_repo *r, const unsigned char *old_root,
                             const unsigned char *new_root, const char *source, char ***out,
                             size_t *n)
{
    unsigned char a[ID_SIZE], b[ID_SIZE];
    struct mm_repo__work w;
    struct strv v = { 0 };
    int err, has_a = 0, has_b = 0;

    *out = NULL;
    *n = 0;
    if ((err = mm_repo__work_init(&w)) < 0)
        return err;
    if ((err = find_folder(r, &w, old_root, source, a, &has_a)) < 0 ||
        (err = find_folder(r, &w, new_root, source, b, &has_b)) < 0)
        goto out;
    if (!has_b) {
        err = mm_error_set(MM_ENOTFOUND, "the generation has no folder '%s'", source);
        goto out;
    }
    err = diff_level(r, &w, has_a ? a : NULL, b, 1, &v);
out:
    mm_repo__work_release(&w);
    if (err < 0) {
        mm_repo_strings_free(v.v, v.n);
        return err;
    }
    *out = v.v;
    *n = v.n;
    return 0;
}
