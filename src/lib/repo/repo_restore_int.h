/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the restore (repo_restore.c: target, filters, plan, mm_repo_restore;
 * repo_restore_walk.c: the workers that write the folders and files).
 */
#ifndef MM_REPO_RESTORE_INT_H
#define MM_REPO_RESTORE_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/limits.h"
#include "repo/repo_int.h"

#define MM_RESTORE_FILTER_DEPTH 16

struct mm_repo__rfilter {
    char comp[MM_RESTORE_FILTER_DEPTH][MM_LIMIT_NAME + 1]; /* "" matches any name (wildcard) */
    size_t n;
};

/* A folder handed to a worker: created already; its tree is written into it, and its mode
 * and time set when nothing below it was handed on. */
struct mm_repo__rjob {
    char *path;  /* destination */
    char *shown; /* the path inside the generation (for messages, redacted later) */
    unsigned char id[ID_SIZE];
    int64_t mtime_ns;
    uint32_t mode, depth; /* depth: names below the target */
};

/* A folder whose mode and time are set at the very end: one with a part written by another
 * worker (few: the hand-offs and the folders above them). */
struct mm_repo__rfix {
    char *path;
    int64_t mtime_ns;
    uint32_t mode, depth;
    int onway; /* created only on the way to a filter's match: removed again if empty */
};

struct mm_repo__rstate {
    mm_repo *r;
    const struct mm_repo_restore_opts *o;
    struct mm_repo_gen *g;
    pthread_mutex_t mu;
    pthread_cond_t cv_job, cv_done; /* a job queued (or the end); the last job done */
    struct mm_repo__rjob *q;        /* a stack: the newest (deepest) job first */
    size_t nq, capq;                /* nq: __atomic (read without the lock) */
    unsigned int idle;              /* __atomic: workers waiting for a job */
    unsigned int busy;              /* workers in a job, and the main thread while it walks */
    int closing, err;               /* err: __atomic */
    struct mm_repo_restore_stats s; /* __atomic */
    struct mm_repo__rfilter *filters;
    size_t nfilters;
    struct mm_repo__rfix *fix;
    size_t nfix, capfix;
    int matched; /* __atomic */
    int root_user;
    uid_t euid;
    gid_t egid;
    mode_t mask;               /* the process's umask, when mask_known */
    int mask_known;            /* files are then created with their final mode (no fchmod) */
    int merge;                 /* files are written beside their name and renamed over it */
    unsigned long long seq;    /* __atomic: names of those temporary files */
    char errmsg[512];          /* message of the first fatal error of a worker */
    uint64_t seen, lost_trees; /* __atomic: files met in readable folders; folders that do not
                                * read */
    struct timespec last;
};

/* Count @v into *@p from any thread. */
static inline void mm_repo__radd(uint64_t *p, uint64_t v)
{
    __atomic_add_fetch(p, v, __ATOMIC_RELAXED);
}

/*
 * 2: the @depth names of @stack match a filter fully (take all below), 1: on the way, 0: no.
 * @return 0|1|2
 */
int mm_repo__restore_filter_match(const struct mm_repo__rstate *st,
                                  const struct mm_repo__entry *const *stack, size_t depth);

/*
 * Start the workers, write the generation's tree into the existing folder @dest, wait for
 * them, then set the modes and times of the folders left for the end. @w: the caller's.
 * @return 0, MM_EEXISTS, MM_EIO, MM_ELIMIT, MM_ENOMEM, MM_ENOTFOUND (filters matched
 * nothing), MM_ECORRUPT, MM_ERROR (no thread)
 */
int mm_repo__restore_run(struct mm_repo__rstate *st, struct mm_repo__work *w, const char *dest);

/* Free what mm_repo__restore_run() leaves (queued jobs after an error, folder fixes). */
void mm_repo__restore_state_release(struct mm_repo__rstate *st);

#endif
