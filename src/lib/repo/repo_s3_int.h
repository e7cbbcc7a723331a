/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the S3 backend (repo_s3*.c): the handle, the version catalog, the URL and
 * credentials parser, the lock proof and the writer queue. One mutex (s3be.mu) guards the
 * catalog, the queue and the counters; requests to the store are made without it.
 */
#ifndef MM_REPO_REPO_S3_INT_H
#define MM_REPO_REPO_S3_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "repo/repo_backend.h"
#include "repo/repo_s3.h"
#include "repo/repo_s3_cache.h"
#include "repo/repo_s3_url.h"
#include "s3/s3.h"

/* ---- the version catalog (repo_s3_catalog.c) ---- */
struct mm_repo__s3_ent {
    char *rel;    /* repository-relative name */
    char *first;  /* version ID of the first (oldest) version that is not a delete
                   * marker; NULL: none known */
    char *newest; /* version ID of the newest version; NULL: none or a delete marker */
    char *live;   /* version ID of the newest version that is not a delete marker (key
                   * slots: a delete marker an attacker added hides nothing) */
    uint64_t first_size, newest_size, live_size;
    int64_t retain_until; /* of the first version; 0: not known */
    int pending;          /* a queued upload has not finished yet */
    int mine;             /* this handle wrote its newest version */
};

/* 1 for a REPLACE file the store retains all the same: the key slots (keys/), rewritten by
 * `key passwd` yet never to be destroyed with the credentials (every version is retained; the
 * newest that is not a delete marker is read). */
int mm_repo__s3_is_kept_replace(const char *rel);

struct mm_repo__s3_cat {
    struct mm_repo__s3_ent **slots;
    size_t cap, n;
};

/* The entry of @rel, or NULL. */
struct mm_repo__s3_ent *mm_repo__s3_cat_get(struct mm_repo__s3_cat *c, const char *rel);
/* The entry of @rel, made empty when missing. @return NULL when out of memory */
struct mm_repo__s3_ent *mm_repo__s3_cat_put(struct mm_repo__s3_cat *c, const char *rel);
/* Set *@slot to a copy of @version (NULL clears). @return 0, MM_ENOMEM */
int mm_repo__s3_set_version(char **slot, const char *version);
void mm_repo__s3_cat_free(struct mm_repo__s3_cat *c);
/*
 * Fill @c from ListObjectVersions of @prefix ("" or "p/"): every key's first and newest
 * version. @return as mm_s3_list_versions()
 */
int mm_repo__s3_cat_load(struct mm_repo__s3_cat *c, mm_s3 *s, const char *prefix);
/* The versions of exactly @key (oldest first version, newest) into @e. @return as the listing */
int mm_repo__s3_key_versions(mm_s3 *s, const char *key, struct mm_repo__s3_ent *e);

/* ---- the handle (repo_s3.c) ---- */
struct mm_repo__s3_job;

struct s3be {
    struct mm_repo_be be; /* first: the backend is cast to its handle */
    mm_s3 *s3;
    char *prefix; /* "" or "<prefix>/" */
    char *bucket;
    pthread_mutex_t mu;
    pthread_mutex_t proof_mu; /* one proof at a time */
    pthread_cond_t cv;        /* a job finished or queue space freed */
    struct mm_repo__s3_cat cat;
    int proved;                /* the proof ran (its verdict is in be.info) */
    enum mm_s3_lock_mode mode; /* lock mode for ONCE files when immutable */
    uint32_t retain_days;
    /* writer queue (repo_s3_queue.c) */
    struct mm_repo__s3_job *head, *tail;
    size_t queued_bytes, inflight;
    unsigned nworkers, want_workers;
    pthread_t *workers;
    int stop;
    int err; /* first error of a queued job since the last flush */
    char errmsg[256];
    /* counts of the last mm_repo_be_s3_extend */
    struct mm_repo_be_s3_counts counts;
    char where[900];
    struct mm_repo__s3_cache *cache; /* reads of ONCE files; NULL: disabled */
};

/* The key of @rel ("<prefix><rel>") into @out. @return 0, MM_ELIMIT */
int mm_repo__s3_key(const struct s3be *h, const char *rel, char *out, size_t cap);

/* ---- the lock proof and retention (repo_s3_proof.c) ---- */
/* Run the proof once (later calls return at once). @return 0 (verdict in info), MM_EIO */
int mm_repo__s3_prove(struct s3be *h);
/* Delete proof objects whose retention ended (best effort, never fails). */
void mm_repo__s3_proof_cleanup(struct s3be *h);
/* Extend the retention of the first version of @rel to @until (+ slack) when it ends sooner
 * (a queue job). @return 0, the store's error */
int mm_repo__s3_extend_one(struct s3be *h, const char *rel, int64_t until);

/* ---- the writer queue (repo_s3_queue.c) ---- */
enum { MM_REPO__S3_JOB_PUT = 1, MM_REPO__S3_JOB_EXTEND = 2 };
/* Queue an upload of a copy of @p (@n bytes) as @rel (its catalog entry is pending), or an
 * extension (@p NULL, @until). Blocks while more than MM_REPO__S3_QUEUE_MAX bytes are queued.
 * @return 0, MM_ENOMEM, MM_EIO (no worker could start) */
int mm_repo__s3_enqueue(struct s3be *h, int op, const char *rel, const void *p, size_t n,
                        int64_t until);
/* Wait for every queued job. @return the first error since the last flush (0: none) */
int mm_repo__s3_flush(struct s3be *h);
/* Stop and join the workers (jobs still queued are dropped). */
void mm_repo__s3_queue_stop(struct s3be *h);
/* Upload @p as @rel now with the retention its kind gets. OUT: the catalog entry updated. */
int mm_repo__s3_put_now(struct s3be *h, const char *rel, const void *p, size_t n, int once);

#define MM_REPO__S3_QUEUE_MAX (128u * 1024u * 1024u)

#endif
