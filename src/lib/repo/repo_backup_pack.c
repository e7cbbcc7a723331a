/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A backup's objects into packs (repo_backup_int.h): each new object compressed (small files
 * with the repository's dictionary; the first backup's small files sampled to train it),
 * sealed and appended to the shared pack of its kind (file data and trees apart); full packs
 * written one at a time, and an index file every INDEX_EVERY packs or INDEX_OBJECTS objects.
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
#include "repo/repo_backup_int.h"
#include "repo/repo_int.h"

/* ---- packs ---------------------------------------------------------------------------------- */

/* Write an index file naming every new pack so far. Called with st->ixw held. */
int mm_repo__bk_write_index_file(struct bstate *st)
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
            err = mm_repo__bk_remember(st, rel);
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
int mm_repo__bk_all_known(struct bstate *st, const unsigned char *ids, size_t n)
{
    size_t i = 0;

    pthread_rwlock_rdlock(&st->r->ix.lock);
    while (i < n && mm_repo__index_find(&st->r->ix, ids + i * ID_SIZE))
        i++;
    pthread_rwlock_unlock(&st->r->ix.lock);
    return i == n;
}

/* Finish the pack @p: table, trailer, write, then make its objects known; @p is emptied. */
int mm_repo__bk_pack_flush(struct worker *wk, struct mm_repo__packw *p)
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
        if ((err = mm_repo__bk_remember(st, rel)) < 0)
            return err;
    }
    mm_repo__bk_add(&st->c.bytes_stored, size);
    if (!(copy = mm_malloc(p->n * sizeof(*copy)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(copy, p->objs, p->n * sizeof(*copy));
    pthread_rwlock_wrlock(&st->r->ix.lock);
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
    pthread_rwlock_unlock(&st->r->ix.lock);
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
        err = mm_repo__bk_write_index_file(st);
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
int mm_repo__bk_store_in(struct worker *wk, uint8_t type, int which, const void *p, size_t n,
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
    pthread_rwlock_wrlock(&st->r->ix.lock);
    err = mm_repo__index_add(&st->r->ix, &loc, NULL);
    pthread_rwlock_unlock(&st->r->ix.lock);
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
        mm_repo__bk_add(&st->c.objects_new, 1);
        mm_repo__bk_add(&st->c.bytes_new, n);
    }
    if (flush) {
        int e2 = mm_repo__bk_pack_flush(wk, &full);
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
int mm_repo__bk_store(struct worker *wk, uint8_t type, const void *p, size_t n,
                      unsigned char id[ID_SIZE])
{
    return mm_repo__bk_store_in(wk, type, type == MM_REPO_OBJ_TREE, p, n, id);
}

int mm_repo__bk_push_id(struct worker *wk, const unsigned char id[ID_SIZE])
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
int mm_repo__bk_store_stream(struct worker *wk, int fd, uint64_t *total, int *eno)
{
    size_t max = wk->st->r->cfg.chunk.max, len = 0, off = 0, cut;
    unsigned char id[ID_SIZE];
    int err = 0, eof = 0;

    wk->nids = 0;
    wk->headlen = 0;
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
        if (wk->want_head && *total < MM_REPO_DELTA_HEAD && got > 0) {
            /* the first bytes, for the delta observer: no second read of the file */
            size_t take = MM_REPO_DELTA_HEAD - (size_t)*total;
            if (take > (size_t)got)
                take = (size_t)got;
            memcpy(wk->head + *total, wk->buf + len, take);
            wk->headlen = (size_t)*total + take;
        }
        len += (size_t)got;
        *total += (uint64_t)got;
        while ((err = mm_chunker_next(wk->chunker, wk->buf + off, len - off, &cut)) == 1) {
            if ((err = mm_repo__bk_store(wk, MM_REPO_OBJ_BLOB, wk->buf + off, cut, id)) < 0 ||
                (err = mm_repo__bk_push_id(wk, id)) < 0)
                return err;
            off += cut;
        }
        if (err < 0)
            return err;
        if (eof && len > off) {
            if ((err = mm_repo__bk_store(wk, MM_REPO_OBJ_BLOB, wk->buf + off, len - off, id)) < 0 ||
                (err = mm_repo__bk_push_id(wk, id)) < 0)
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
