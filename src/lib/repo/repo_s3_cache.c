/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 backend's read cache for ONCE files (content-named, never rewritten): a read_at
 * fetches one aligned span of the object version the catalog names (the whole object when it
 * is at most whole_max bytes, else the window_max-aligned window holding the offset) with one
 * ranged GET and serves later reads of that span from memory. A restore or verify reads a pack
 * object by object with many small read_at calls; without it each one is a request (~40 ms on
 * RGW). Invariants: spans are keyed by (rel, version, offset), so bytes served are those of
 * that version; the bytes held plus the spans being fetched never exceed the budget (a span
 * that does not fit after evicting every unused span is read uncached); one fetch per span at
 * a time, other readers of it wait for that fetch. LRU order, one mutex, fetches without it.
 */
#include "repo/repo_s3_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

enum span_state { SPAN_LOADING = 0, SPAN_READY = 1, SPAN_FAILED = 2 };

struct span {
    struct span *hnext;       /* hash chain */
    struct span *prev, *next; /* LRU list (READY spans only), newest at head */
    char *rel, *version;      /* in one allocation with the span */
    uint64_t off;             /* of the span in the object */
    size_t len, charge;       /* bytes; bytes counted against the budget */
    unsigned char *data;      /* len bytes when READY */
    unsigned refs;            /* readers copying out, plus the fetcher */
    enum span_state state;
    int err;                        /* when FAILED */
    unsigned hashed : 1, inlru : 1; /* in the table; in the LRU list */
};

struct mm_repo__s3_cache {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a fetch ended */
    struct mm_repo__s3_cache_cfg cfg;
    mm_repo__s3_fetch_fn fetch;
    void *arg;
    struct span **tab;
    size_t nslots;
    struct span *lru_head, *lru_tail;
    struct mm_repo__s3_cache_stats st;
};

#define SPAN_OVERHEAD 128u /* bookkeeping counted per span besides its bytes */
#define TAB_SLOTS     4096u

int mm_repo__s3_cache_new(struct mm_repo__s3_cache **out, const struct mm_repo__s3_cache_cfg *cfg,
                          mm_repo__s3_fetch_fn fetch, void *arg)
{
    struct mm_repo__s3_cache *c;

    if (!out || !cfg || !fetch || cfg->whole_max == 0 || cfg->window == 0)
        return mm_error_set(MM_EINVAL, "bad S3 cache settings");
    if (!(c = mm_calloc(1, sizeof(*c))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    if (!(c->tab = mm_calloc(TAB_SLOTS, sizeof(*c->tab)))) {
        mm_free(c);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    c->nslots = TAB_SLOTS;
    c->cfg = *cfg;
    c->fetch = fetch;
    c->arg = arg;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    *out = c;
    return 0;
}

static void span_free(struct span *s)
{
    if (!s)
        return;
    mm_free(s->data);
    mm_free(s);
}

void mm_repo__s3_cache_free(struct mm_repo__s3_cache *c)
{
    size_t i;

    if (!c)
        return;
    for (i = 0; i < c->nslots; i++) {
        struct span *s = c->tab[i], *nx;
        for (; s; s = nx) {
            nx = s->hnext;
            span_free(s);
        }
    }
    mm_free(c->tab);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    mm_free(c);
}

void mm_repo__s3_cache_stats(struct mm_repo__s3_cache *c, struct mm_repo__s3_cache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    pthread_mutex_unlock(&c->mu);
}

/* FNV-1a over @rel, @version and @off. */
static size_t span_hash(const char *rel, const char *version, uint64_t off)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *p;
    int i;

    for (p = (const unsigned char *)rel; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;
    for (p = (const unsigned char *)version; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    for (i = 0; i < 8; i++)
        h = (h ^ ((off >> (8 * i)) & 0xffu)) * 1099511628211ull;
    return (size_t)h;
}

/* The span of (@rel, @version, @off) in the table, or NULL (mutex held). */
static struct span *span_find(struct mm_repo__s3_cache *c, size_t slot, const char *rel,
                              const char *version, uint64_t off)
{
    struct span *s;

    for (s = c->tab[slot]; s; s = s->hnext)
        if (s->off == off && strcmp(s->rel, rel) == 0 && strcmp(s->version, version) == 0)
            return s;
    return NULL;
}

static void lru_unlink(struct mm_repo__s3_cache *c, struct span *s)
{
    if (!s->inlru)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        c->lru_head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        c->lru_tail = s->prev;
    s->prev = s->next = NULL;
    s->inlru = 0;
}

static void lru_push_head(struct mm_repo__s3_cache *c, struct span *s)
{
    s->prev = NULL;
    s->next = c->lru_head;
    if (c->lru_head)
        c->lru_head->prev = s;
    c->lru_head = s;
    if (!c->lru_tail)
        c->lru_tail = s;
    s->inlru = 1;
}

/* Take @s out of the table and the LRU list and uncharge it (mutex held). */
static void span_unhash(struct mm_repo__s3_cache *c, struct span *s)
{
    size_t slot = span_hash(s->rel, s->version, s->off) % c->nslots;
    struct span **pp;

    if (!s->hashed)
        return;
    for (pp = &c->tab[slot]; *pp; pp = &(*pp)->hnext)
        if (*pp == s) {
            *pp = s->hnext;
            break;
        }
    s->hnext = NULL;
    s->hashed = 0;
    lru_unlink(c, s);
    c->st.held -= s->charge;
}

/* Evict unused READY spans, oldest first, until @need more bytes fit. @return 1 when they fit */
static int make_room(struct mm_repo__s3_cache *c, size_t need)
{
    struct span *s = c->lru_tail, *pv;

    while (c->st.held + need > c->cfg.budget && s) {
        pv = s->prev;
        if (s->refs == 0) {
            span_unhash(c, s);
            span_free(s);
            c->st.evictions++;
        }
        s = pv;
    }
    return c->st.held + need <= c->cfg.budget;
}

/* A new LOADING span of (@rel, @version, @off, @len) in the table, charged, one reference
 * (the fetcher's), or NULL when out of memory (mutex held). */
static struct span *span_add(struct mm_repo__s3_cache *c, size_t slot, const char *rel,
                             const char *version, uint64_t off, size_t len, size_t charge)
{
    size_t rl = strlen(rel) + 1, vl = strlen(version) + 1;
    struct span *s = mm_calloc(1, sizeof(*s) + rl + vl);

    if (!s)
        return NULL;
    s->rel = (char *)(s + 1);
    s->version = s->rel + rl;
    memcpy(s->rel, rel, rl);
    memcpy(s->version, version, vl);
    s->off = off;
    s->len = len;
    s->charge = charge;
    s->refs = 1;
    s->state = SPAN_LOADING;
    s->hnext = c->tab[slot];
    c->tab[slot] = s;
    s->hashed = 1;
    c->st.held += charge;
    if (c->st.held > c->st.peak)
        c->st.peak = c->st.held;
    return s;
}

/* Drop one reference to @s; free it when it has left the table (mutex held). */
static void span_unref(struct span *s)
{
    if (--s->refs == 0 && !s->hashed)
        span_free(s);
}

/* Fetch the span @s (one reference held, mutex NOT held) and publish it. */
static int span_load(struct mm_repo__s3_cache *c, struct span *s)
{
    unsigned char *data = NULL;
    int err = c->fetch(c->arg, s->rel, s->version, s->off, s->len, &data);

    pthread_mutex_lock(&c->mu);
    c->st.fetches++;
    if (err == 0) {
        s->data = data; /* now owned by the span */
        s->state = SPAN_READY;
        lru_push_head(c, s);
    } else {
        s->state = SPAN_FAILED;
        s->err = err;
        span_unhash(c, s); /* the next reader fetches again */
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return err;
}

/* Fetch @n bytes at @off of @rel@@@version straight into @dst, uncached. */
static int fetch_direct(struct mm_repo__s3_cache *c, const char *rel, const char *version,
                        uint64_t off, void *dst, size_t n)
{
    unsigned char *data = NULL;
    int err;

    pthread_mutex_lock(&c->mu);
    c->st.bypassed++;
    pthread_mutex_unlock(&c->mu);
    if ((err = c->fetch(c->arg, rel, version, off, n, &data)) == 0)
        memcpy(dst, data, n);
    mm_free(data);
    return err;
}

/* Read @n bytes at @off within the span [@soff, @soff + @slen) of @rel@@version into @dst. */
static int span_read(struct mm_repo__s3_cache *c, const char *rel, const char *version,
                     uint64_t soff, size_t slen, uint64_t off, unsigned char *dst, size_t n)
{
    size_t slot = span_hash(rel, version, soff) % c->nslots, charge = slen + SPAN_OVERHEAD;
    struct span *s;
    int err;

    pthread_mutex_lock(&c->mu);
    for (;;) {
        if ((s = span_find(c, slot, rel, version, soff))) {
            s->refs++;
            while (s->state == SPAN_LOADING)
                pthread_cond_wait(&c->cv, &c->mu);
            if (s->state == SPAN_READY) {
                c->st.hits++;
                lru_unlink(c, s);
                lru_push_head(c, s);
                pthread_mutex_unlock(&c->mu);
                memcpy(dst, s->data + (off - soff), n);
                pthread_mutex_lock(&c->mu);
                span_unref(s);
                pthread_mutex_unlock(&c->mu);
                return 0;
            }
            /* that fetch failed and left the table: fetch again (or wait for who does) */
            span_unref(s);
            continue;
        }
        if (!make_room(c, charge)) {
            /* everything held is in use: read just these bytes, uncached */
            pthread_mutex_unlock(&c->mu);
            return fetch_direct(c, rel, version, off, dst, n);
        }
        if (!(s = span_add(c, slot, rel, version, soff, slen, charge))) {
            pthread_mutex_unlock(&c->mu);
            return mm_error_set(MM_ENOMEM, "out of memory");
        }
        pthread_mutex_unlock(&c->mu);
        if ((err = span_load(c, s)) == 0)
            memcpy(dst, s->data + (off - soff), n);
        pthread_mutex_lock(&c->mu);
        span_unref(s);
        pthread_mutex_unlock(&c->mu);
        return err;
    }
}

int mm_repo__s3_cache_read(struct mm_repo__s3_cache *c, const char *rel, const char *version,
                           uint64_t size, uint64_t off, void *dst, size_t n)
{
    unsigned char *d = dst;
    int err;

    if (n == 0)
        return 0;
    if (off > size || n > size - off)
        return mm_error_set(MM_ECORRUPT, "'%s': read past its end", rel);
    while (n > 0) {
        uint64_t soff, slen;
        size_t part;
        if (size <= c->cfg.whole_max && size + SPAN_OVERHEAD <= c->cfg.budget) {
            soff = 0;
            slen = size;
        } else {
            soff = off - off % c->cfg.window;
            slen = size - soff < c->cfg.window ? size - soff : c->cfg.window;
        }
        part = off + n <= soff + slen ? n : (size_t)(soff + slen - off);
        if (slen + SPAN_OVERHEAD > c->cfg.budget) {
            /* a span larger than the whole budget is never held */
            err = fetch_direct(c, rel, version, off, d, part);
        } else {
            err = span_read(c, rel, version, soff, (size_t)slen, off, d, part);
        }
        if (err < 0)
            return err;
        d += part;
        off += part;
        n -= part;
    }
    return 0;
}
