/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A generation's patient index read on demand: its blocks are located once (which pack,
 * where), and each is read, decrypted, decompressed and checked against its ID only when a
 * reader asks for bytes it holds. Blocks read are kept decrypted in a bounded cache (CLOCK
 * replacement), wiped when replaced and when the reader is freed. The viewer opens an index
 * of hundreds of megabytes this way in the time it takes to locate its blocks, and a
 * one-patient `show` reads a few dozen blocks instead of all of them.
 * A block with a twin (manifest tag 16: the same bytes and a tail, in another pack) whose
 * first copy fails to read, open or check is read from the twin; both failing is an error,
 * never wrong bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "os/os.h"
#include "repo/repo_int.h"

#define READERS  8             /* blocks decrypted at once (one context each) */
#define SLOT_MAX (64u * 1024u) /* larger blocks are read past the cache */
#define NO_SLOT  UINT32_MAX

struct reader {
    struct mm_repo__work w; /* decompression context, the pack file read last */
    unsigned char *sealed;  /* room for one block as stored */
    size_t cap;
    unsigned char *twin; /* room for one twin's plaintext */
    size_t twin_cap;
    int busy, ready;
};

struct mm_repo_pages {
    mm_repo *r;
    size_t n;             /* blocks */
    struct block *b;      /* where each block is */
    unsigned char *ids;   /* their IDs, n * ID_SIZE, then their twins' when twins */
    int twins;            /* the generation stores a twin of each block */
    uint64_t *off;        /* where block i starts; off[n] is the size */
    uint32_t slot;        /* bytes per cache slot: the largest block, up to SLOT_MAX */
    int sync;             /* lock and cond are initialised */
    pthread_mutex_t lock; /* the cache and the readers */
    pthread_cond_t cond;  /* a reader was given back */
    size_t nslots, hand;  /* cache slots, the CLOCK hand */
    unsigned char *mem;   /* nslots * slot bytes, decrypted */
    uint32_t *owner;      /* block held by each slot, or NO_SLOT */
    unsigned char *ref;   /* CLOCK: slot used since the hand passed */
    uint32_t *where;      /* slot holding each block, or NO_SLOT */
    struct reader rd[READERS];
};

/* Where one copy of a block is (a copy of its object index entry, kept when it changes). */
struct copy {
    unsigned char pack[ID_SIZE];
    uint32_t offset, length, plain; /* plain: of the object (a twin's has the tail) */
    int have;                       /* located */
};

/* A block: its copy [0] and its twin [1]. */
struct block {
    struct copy c[2];
    uint32_t plain; /* bytes of the block */
};

/* Copy the object index entry of @id into @c (c->have 0 when it is not in r->ix). */
static void copy_locate(mm_repo *r, const unsigned char *id, struct copy *c)
{
    const struct mm_repo__loc *l = mm_repo__index_find(&r->ix, id);

    c->have = l && !l->pending;
    if (!c->have)
        return;
    memcpy(c->pack, r->ix.packs[l->pack].id, ID_SIZE);
    c->offset = l->offset;
    c->length = l->length;
    c->plain = l->plain;
}

/*
 * Copy the places of the @n blocks @ids (and of their twins @twins, may be NULL; looked up
 * in r->ix) into @b, and where each starts when they are laid end to end into @off (n + 1
 * entries; off[n] is the total).
 * @return 0, or MM_ENOTFOUND (no error message set) when neither copy of one is in r->ix
 */
static int blocks_locate(mm_repo *r, const unsigned char *ids, const unsigned char *twins, size_t n,
                         struct block *b, uint64_t *off)
{
    int err = 0;

    off[0] = 0;
    pthread_rwlock_wrlock(&r->ix.lock);
    for (size_t i = 0; i < n; i++) {
        copy_locate(r, ids + i * ID_SIZE, &b[i].c[0]);
        if (twins)
            copy_locate(r, twins + i * ID_SIZE, &b[i].c[1]);
        if (b[i].c[1].have && b[i].c[1].plain < MM_REPO__TWIN_TAIL_SIZE)
            b[i].c[1].have = 0; /* not a twin: its read would fail */
        if (b[i].c[0].have)
            b[i].plain = b[i].c[0].plain;
        else if (b[i].c[1].have)
            b[i].plain = b[i].c[1].plain - MM_REPO__TWIN_TAIL_SIZE;
        else {
            err = MM_ENOTFOUND;
            break;
        }
        if (b[i].c[0].have && b[i].c[1].have &&
            b[i].c[1].plain != b[i].plain + MM_REPO__TWIN_TAIL_SIZE)
            b[i].c[1].have = 0; /* sizes disagree: the index's own copy counts */
        off[i + 1] = off[i] + b[i].plain;
    }
    pthread_rwlock_unlock(&r->ix.lock);
    return err;
}

int mm_repo_pages_open(mm_repo *r, const struct mm_repo_gen *gen, size_t cache_bytes,
                       mm_repo_pages **out)
{
    struct mm_repo_gen g;
    mm_repo_pages *p = NULL;
    unsigned char *ids = NULL;
    size_t n = 0;
    int err;

    *out = NULL;
    if ((err = mm_repo__gen_load(r, gen->id, &g, &ids, &n)) < 0)
        return err;
    if (g.index_twins)
        n /= 2; /* the blocks; their twins' IDs follow theirs */
    if (!g.has_index) {
        err = mm_error_set(MM_ENOTFOUND, "generation '%.12s' has no patient index", gen->id);
        goto out;
    }
    if ((p = mm_calloc(1, sizeof(*p)))) {
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        p->sync = 1;
    }
    if (!p || !(p->b = mm_calloc(n ? n : 1, sizeof(*p->b))) ||
        !(p->off = mm_calloc(n + 1, sizeof(*p->off))) ||
        !(p->where = mm_malloc((n ? n : 1) * sizeof(*p->where)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    p->r = r;
    p->n = n;
    p->ids = ids;
    p->twins = g.index_twins;
    ids = NULL;
    for (size_t i = 0; i < n; i++)
        p->where[i] = NO_SLOT;
    /* look up only the index's blocks (and twins), in the newest index files first (one not
     * found that way makes it load the whole index, and one still missing is in no pack) */
    if ((err = mm_repo__index_locate(r, p->ids, p->twins ? 2 * n : n, 0)) < 0)
        goto out;
    if (blocks_locate(r, p->ids, p->twins ? p->ids + n * ID_SIZE : NULL, n, p->b, p->off) < 0) {
        err = mm_error_set(MM_ENOTFOUND, "a block of the patient index of '%.12s' is in no pack",
                           gen->id);
        goto out;
    }
    if (p->off[n] != g.index_size) {
        err = mm_error_set(MM_ECORRUPT, "patient index of '%.12s' has the wrong size", gen->id);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (p->b[i].plain > p->slot && p->b[i].plain <= SLOT_MAX)
            p->slot = p->b[i].plain;
    if (p->slot) {
        p->nslots = cache_bytes / p->slot;
        if (p->nslots < READERS)
            p->nslots = READERS;
        if (p->nslots > n)
            p->nslots = n;
        /* mapped apart and marked MADV_DONTDUMP: too large to lock (RLIMIT_MEMLOCK) */
        if (!(p->mem = mm_os_secret_map(p->nslots * p->slot)) ||
            !(p->owner = mm_malloc(p->nslots * sizeof(*p->owner))) ||
            !(p->ref = mm_calloc(p->nslots, 1))) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < p->nslots; i++)
            p->owner[i] = NO_SLOT;
    }
    *out = p;
    p = NULL;
out:
    mm_repo_pages_free(p);
    mm_free(ids);
    mm_repo_gen_release(&g);
    return err;
}

uint64_t mm_repo_pages_size(const mm_repo_pages *p)
{
    return p->off[p->n];
}

/*
 * Read, decrypt and check copy @k of block @i into @dst (room for the block's plain size)
 * with the reader @rd.
 */
static int copy_read(mm_repo_pages *p, struct reader *rd, size_t i, int k, unsigned char *dst)
{
    const struct copy *c = &p->b[i].c[k];
    const unsigned char *id = p->ids + (k ? p->n + i : i) * ID_SIZE;
    char rel[80];
    unsigned char *to = dst;
    int err;

    if (rd->cap < c->length) {
        unsigned char *s = mm_realloc(rd->sealed, c->length);
        if (!s)
            return mm_error_set(MM_ENOMEM, "out of memory");
        rd->sealed = s;
        rd->cap = c->length;
    }
    if (k && rd->twin_cap < c->plain) { /* a twin opens past its tail, then is copied */
        unsigned char *t = mm_realloc(rd->twin, c->plain);
        if (!t)
            return mm_error_set(MM_ENOMEM, "out of memory");
        rd->twin = t;
        rd->twin_cap = c->plain;
    }
    if (k)
        to = rd->twin;
    mm_repo__pack_rel(c->pack, rel);
    if ((err = mm_repo__read_at(p->r, rel, c->offset, rd->sealed, c->length)) < 0)
        return mm_error_set(err, "pack '%.12s' of the patient index: %s", rel + 8, mm_error_last());
    if ((err = mm_repo__object_open_at(p->r, &rd->w, id, rd->sealed, c->length, c->plain, to)) < 0)
        return mm_error_set(err, "block %zu of the patient index in pack '%.12s': %s", i, rel + 8,
                            mm_error_last());
    if (k) {
        if (memcmp(to + p->b[i].plain, MM_REPO__TWIN_TAIL, MM_REPO__TWIN_TAIL_SIZE) != 0)
            err = mm_error_set(MM_ECORRUPT, "twin of block %zu of the patient index is not one", i);
        else
            memcpy(dst, to, p->b[i].plain);
        mm_crypto_wipe(to, c->plain);
    }
    return err;
}

/*
 * Read, decrypt and check block @i into @dst (room for its plain size) with a free reader:
 * its first copy, else its twin. @return 0, or the first copy's error when neither serves
 */
static int block_read(mm_repo_pages *p, size_t i, unsigned char *dst)
{
    struct reader *rd = NULL;
    char first[256];
    int err = 0, tried = 0;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        for (int k = 0; k < READERS && !rd; k++)
            if (!p->rd[k].busy)
                rd = &p->rd[k];
        if (rd)
            break;
        pthread_cond_wait(&p->cond, &p->lock);
    }
    rd->busy = 1;
    pthread_mutex_unlock(&p->lock);

    if (!rd->ready) {
        if ((err = mm_repo__work_init(&rd->w)) < 0)
            goto out;
        rd->ready = 1;
    }
    for (int k = 0; k < 2; k++) {
        int e;
        if (!p->b[i].c[k].have)
            continue;
        if ((e = copy_read(p, rd, i, k, dst)) == 0) {
            if (tried)
                mm_error_clear(); /* the twin served: the damaged copy is verify's to report */
            err = 0;
            break;
        }
        if (e == MM_ENOMEM) {
            err = e;
            break;
        }
        if (!tried++) { /* the first copy's error is the one reported when both fail */
            err = e;
            snprintf(first, sizeof(first), "%s", mm_error_last());
        } else {
            char twin[256];
            snprintf(twin, sizeof(twin), "%s", mm_error_last());
            err = mm_error_set(err, "%s (and its twin: %s)", first, twin);
        }
    }
out:
    pthread_mutex_lock(&p->lock);
    rd->busy = 0;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return err;
}

/* Copy @n bytes from @at of block @i to @dst, through the cache. */
static int block_copy(mm_repo_pages *p, size_t i, size_t at, unsigned char *dst, size_t n)
{
    uint32_t plain = p->b[i].plain, s;
    int cached = p->nslots && plain <= p->slot, err;
    unsigned char *tmp;

    if (cached) {
        pthread_mutex_lock(&p->lock);
        if ((s = p->where[i]) != NO_SLOT) {
            memcpy(dst, p->mem + (size_t)s * p->slot + at, n);
            p->ref[s] = 1;
            pthread_mutex_unlock(&p->lock);
            return 0;
        }
        pthread_mutex_unlock(&p->lock);
    }
    if (at == 0 && n == plain)
        tmp = dst; /* the whole block is wanted: decrypt it in place */
    else if (!(tmp = mm_malloc(plain ? plain : 1)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    if ((err = block_read(p, i, tmp)) == 0 && cached) {
        pthread_mutex_lock(&p->lock);
        if (p->where[i] == NO_SLOT) { /* another reader may have brought it meanwhile */
            while (p->ref[p->hand]) {
                p->ref[p->hand] = 0;
                p->hand = (p->hand + 1) % p->nslots;
            }
            s = (uint32_t)p->hand;
            p->hand = (p->hand + 1) % p->nslots;
            if (p->owner[s] != NO_SLOT)
                p->where[p->owner[s]] = NO_SLOT;
            memcpy(p->mem + (size_t)s * p->slot, tmp, plain);
            p->owner[s] = (uint32_t)i;
            p->where[i] = s;
            p->ref[s] = 1;
        }
        pthread_mutex_unlock(&p->lock);
    }
    if (err == 0 && tmp != dst)
        memcpy(dst, tmp + at, n);
    if (tmp != dst) {
        mm_crypto_wipe(tmp, plain);
        mm_free(tmp);
    }
    return err;
}

int mm_repo_pages_read(void *pages, void *dst, size_t n, uint64_t off)
{
    mm_repo_pages *p = pages;
    unsigned char *d = dst;
    size_t lo = 0, hi = p->n;

    if (off > p->off[p->n] || n > p->off[p->n] - off)
        return mm_error_set(MM_EINVAL, "read past the end of the patient index");
    /* the block holding @off: the last one starting at or before it */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->off[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    for (size_t i = lo; n > 0; i++) {
        size_t at = (size_t)(off - p->off[i]), k = (size_t)(p->off[i + 1] - off);
        int err;
        if (k > n)
            k = n;
        if (k && (err = block_copy(p, i, at, d, k)) < 0)
            return err;
        d += k;
        off += k;
        n -= k;
    }
    return 0;
}

void mm_repo_pages_free(mm_repo_pages *p)
{
    if (!p)
        return;
    for (int k = 0; k < READERS; k++) {
        if (p->rd[k].ready) {
            if (p->rd[k].w.scratch.ptr)
                mm_crypto_wipe(p->rd[k].w.scratch.ptr, p->rd[k].w.scratch.cap);
            mm_repo__work_release(&p->rd[k].w);
        }
        mm_free(p->rd[k].sealed);
        mm_free(p->rd[k].twin); /* wiped after each use */
    }
    mm_os_secret_unmap(p->mem, p->nslots * p->slot); /* wipes them */
    if (p->sync) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
    }
    mm_free(p->owner);
    mm_free(p->ref);
    mm_free(p->where);
    mm_free(p->off);
    mm_free(p->b);
    mm_free(p->ids);
    mm_free(p);
}
