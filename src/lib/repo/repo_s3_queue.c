/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 backend's writer queue: write() copies the bytes of a ONCE file into a job and
 * returns; N worker threads (MAMORI_S3_PARALLEL, default 8, started at the first job) upload
 * them with the retention the lock proof allows, and record the version IDs the store gave in
 * the catalog. At most MM_REPO__S3_QUEUE_MAX bytes wait (write blocks beyond). flush() waits
 * for all jobs and returns the first error any met: nothing counts as stored before a flush
 * returned 0; after the first error the jobs still queued are dropped (not stored: the next
 * write of those names queues them again). The same workers run retention extensions.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "repo/repo_s3_int.h"

struct mm_repo__s3_job {
    struct mm_repo__s3_job *next;
    int op;
    char *rel;
    void *data;
    size_t n;
    int64_t until;
};

static void job_free(struct mm_repo__s3_job *j)
{
    if (!j)
        return;
    mm_free(j->rel);
    mm_free(j->data);
    mm_free(j);
}

int mm_repo__s3_put_now(struct s3be *h, const char *rel, const void *p, size_t n, int once)
{
    struct mm_s3_put_opts o = { MM_S3_LOCK_NONE, 0 };
    struct mm_repo__s3_ent *e;
    char key[1024], version[256] = "";
    int err;

    if ((err = mm_repo__s3_key(h, rel, key, sizeof(key))) < 0)
        return err;
    if (once && h->be.info.immutable) {
        o.lock = h->mode;
        o.retain_until = (int64_t)time(NULL) + (int64_t)h->retain_days * 86400;
    }
    if ((err = mm_s3_put(h->s3, key, p, n, &o, version)) < 0)
        return err;
    pthread_mutex_lock(&h->mu);
    h->counts.lock_requests += o.lock != MM_S3_LOCK_NONE;
    e = mm_repo__s3_cat_put(&h->cat, rel);
    if (!e)
        err = MM_ENOMEM;
    else if (!(err = mm_repo__s3_set_version(&e->newest, version[0] ? version : "null"))) {
        e->newest_size = n;
        e->mine = 1;
        if (!e->first || !once) {
            err = mm_repo__s3_set_version(&e->first, e->newest);
            e->first_size = n;
            e->retain_until = o.retain_until;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return err;
}

/* Run job @j (no lock held). @return 0, the store's error */
static int job_run(struct s3be *h, struct mm_repo__s3_job *j)
{
    if (j->op == MM_REPO__S3_JOB_EXTEND)
        return mm_repo__s3_extend_one(h, j->rel, j->until);
    return mm_repo__s3_put_now(h, j->rel, j->data, j->n, 1);
}

/* A worker: take jobs until told to stop. */
static void *worker(void *arg)
{
    struct s3be *h = arg;

    pthread_mutex_lock(&h->mu);
    for (;;) {
        struct mm_repo__s3_job *j;
        struct mm_repo__s3_ent *e;
        int err, skip;
        while (!h->head && !h->stop)
            pthread_cond_wait(&h->cv, &h->mu);
        if (!h->head)
            break;
        j = h->head;
        if (!(h->head = j->next))
            h->tail = NULL;
        h->inflight++;
        skip = h->err != 0; /* the batch failed already: its flush reports that */
        pthread_mutex_unlock(&h->mu);
        err = skip ? 0 : job_run(h, j);
        pthread_mutex_lock(&h->mu);
        if (err < 0 && h->err == 0) {
            h->err = err;
            snprintf(h->errmsg, sizeof(h->errmsg), "%s", mm_error_last());
        }
        if (j->op == MM_REPO__S3_JOB_PUT && (e = mm_repo__s3_cat_get(&h->cat, j->rel)))
            e->pending = 0;
        h->queued_bytes -= j->n;
        h->inflight--;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        job_free(j);
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Start the workers when none run yet (h->mu held). @return 0, MM_EIO, MM_ENOMEM */
static int start_workers(struct s3be *h)
{
    unsigned i;

    if (h->workers)
        return 0;
    if (!(h->workers = mm_calloc(h->want_workers, sizeof(*h->workers))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (i = 0; i < h->want_workers; i++) {
        if (pthread_create(&h->workers[i], NULL, worker, h) != 0)
            break;
        h->nworkers++;
    }
    if (h->nworkers == 0) {
        mm_free(h->workers);
        h->workers = NULL;
        return mm_error_set(MM_EIO, "cannot start S3 upload threads");
    }
    return 0;
}

int mm_repo__s3_enqueue(struct s3be *h, int op, const char *rel, const void *p, size_t n,
                        int64_t until)
{
    struct mm_repo__s3_job *j = mm_calloc(1, sizeof(*j));
    int err;

    if (!j || !(j->rel = mm_strdup(rel)) || (n && !(j->data = mm_malloc(n)))) {
        job_free(j);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    if (n)
        memcpy(j->data, p, n);
    j->op = op;
    j->n = n;
    j->until = until;
    pthread_mutex_lock(&h->mu);
    if ((err = start_workers(h)) < 0) {
        pthread_mutex_unlock(&h->mu);
        job_free(j);
        return err;
    }
    while (h->queued_bytes > 0 && h->queued_bytes + n > MM_REPO__S3_QUEUE_MAX)
        pthread_cond_wait(&h->cv, &h->mu);
    h->queued_bytes += n;
    if (h->tail)
        h->tail->next = j;
    else
        h->head = j;
    h->tail = j;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return 0;
}

int mm_repo__s3_flush(struct s3be *h)
{
    int err;

    pthread_mutex_lock(&h->mu);
    while (h->head || h->inflight)
        pthread_cond_wait(&h->cv, &h->mu);
    err = h->err;
    h->err = 0;
    if (err < 0)
        mm_error_set(err, "%s", h->errmsg);
    pthread_mutex_unlock(&h->mu);
    return err;
}

void mm_repo__s3_queue_stop(struct s3be *h)
{
    unsigned i;
    struct mm_repo__s3_job *j;

    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    while ((j = h->head)) {
        h->head = j->next;
        job_free(j);
    }
    h->tail = NULL;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    for (i = 0; i < h->nworkers; i++)
        pthread_join(h->workers[i], NULL);
    mm_free(h->workers);
    h->workers = NULL;
    h->nworkers = 0;
}
