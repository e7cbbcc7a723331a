/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 backend's read cache of ONCE files (repo_s3_cache.c), reachable by the offline unit
 * test (tests/unit/test_repo_s3_cache.c) like repo_s3_url.h's parsers: no S3 client in it, the
 * bytes come from a fetch callback (repo_s3.c: one ranged GET of a version). Spans of an
 * object version are fetched once and held in LRU order within a byte budget; readers of a
 * span being fetched wait for that fetch.
 */
#ifndef MM_REPO_REPO_S3_CACHE_H
#define MM_REPO_REPO_S3_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* ---- the read cache of ONCE files (repo_s3_cache.c) ---- */
struct mm_repo__s3_cache;

struct mm_repo__s3_cache_cfg {
    size_t budget;      /* bytes held at most (spans plus bookkeeping) */
    uint64_t whole_max; /* objects up to this size are fetched whole */
    uint64_t window;    /* larger ones in windows of this size, aligned to it */
};

struct mm_repo__s3_cache_stats {
    size_t held, peak;            /* bytes charged now; at most ever */
    uint64_t fetches, hits;       /* span fetches; reads served from a held span */
    uint64_t evictions, bypassed; /* spans dropped; reads made uncached (no room) */
};

/*
 * Fetch @len bytes at @off of version @version of @rel into a new buffer *@out of at least
 * @len bytes (mm_malloc'd, the caller frees it with mm_free; untouched on failure): exactly
 * @len bytes, else an error. Called without the cache's mutex, from several threads at once.
 */
typedef int (*mm_repo__s3_fetch_fn)(void *arg, const char *rel, const char *version, uint64_t off,
                                    size_t len, unsigned char **out);

/* A new empty cache fetching through @fetch(@arg, ...). @return 0, MM_EINVAL, MM_ENOMEM */
int mm_repo__s3_cache_new(struct mm_repo__s3_cache **out, const struct mm_repo__s3_cache_cfg *cfg,
                          mm_repo__s3_fetch_fn fetch, void *arg);
/* Free @c (NULL: nothing); no read may be running. */
void mm_repo__s3_cache_free(struct mm_repo__s3_cache *c);
/*
 * Read @n bytes at @off of @rel@@@version (an immutable object of @size bytes) into @dst,
 * from held spans or by fetching the span(s) that hold them. Thread-safe.
 * @return 0, MM_ECORRUPT (past the end), the fetch's error
 */
int mm_repo__s3_cache_read(struct mm_repo__s3_cache *c, const char *rel, const char *version,
                           uint64_t size, uint64_t off, void *dst, size_t n);
/* The counters of @c into @out. */
void mm_repo__s3_cache_stats(struct mm_repo__s3_cache *c, struct mm_repo__s3_cache_stats *out);

#define MM_REPO__S3_CACHE_MB        128u                  /* default budget, MAMORI_S3_CACHE_MB */
#define MM_REPO__S3_CACHE_WHOLE_MAX (32u * 1024u * 1024u) /* objects fetched whole up to this */
#define MM_REPO__S3_CACHE_WINDOW    (8u * 1024u * 1024u)  /* else windows of this size */

#endif
