/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The restore's writers (issue 22: fast and steady). The unit of work is a folder, not a
 * file: a thread that takes a folder writes its files and, depth first, the folders below
 * it, all relative to open folder descriptors (mkdirat, openat, fchmod, futimens: no path
 * is looked up again), so no two threads create entries in the same folder at once (the
 * folder's lock is what made restores slow and unsteady) and nothing passes between threads
 * per file. A thread hands a subfolder to another only while some thread is idle (a LIFO of
 * jobs): a few hundred hand-offs for a whole SS-MIX2 storage, not one per file.
 *
 * Safety as before: every folder is opened with O_NOFOLLOW | O_DIRECTORY, every file
 * created with O_EXCL | O_NOFOLLOW, names come from validated trees (no '/', "." or "..");
 * every blob is checked against its ID before a byte of it is written; a damaged file is
 * removed, reported and counted. A file is created with its final mode when the umask lets
 * it be (no fchmod), owned as recorded (fchown only when it would differ). Folders get their
 * modes and times last: when the thread that wrote a folder's whole subtree is done with it,
 * or, for a folder with a part written by another thread, at the very end, deepest first.
 * The Windows build (its POSIX layer has the *at calls) sets every folder at the end by path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "os/os.h"
#include "os/winpath.h"
#include "repo/repo_restore_int.h"

/* Folder descriptors one thread holds at most on its way down; deeper folders are handed on. */
#define MAX_HELD 48

#define RED(buf, path) mm_log_path(buf, sizeof(buf), path)

/* One thread's tools. */
struct rctx {
    struct mm_repo__rstate *st;
    struct mm_repo__work wk, *w; /* w: wk, or the caller's */
    mm_buf b;
    int is_main; /* the caller's thread: reports progress */
    const struct mm_repo__entry *stack[MM_RESTORE_FILTER_DEPTH + 1];
};

static void report(struct mm_repo__rstate *st, const char *shown, const char *what)
{
    char red[MM_LOG_PATH_MAX];

    if (!st->o->problem)
        return;
    mm_log_path(red, sizeof(red), shown);
    pthread_mutex_lock(&st->mu);
    st->o->problem(st->g->id, red, what, st->o->ctx);
    pthread_mutex_unlock(&st->mu);
}

static struct timespec ns_to_ts(int64_t ns)
{
    struct timespec t;

    t.tv_sec = (time_t)(ns / 1000000000);
    t.tv_nsec = (long)(ns % 1000000000);
    if (t.tv_nsec < 0) {
        t.tv_nsec += 1000000000;
        t.tv_sec--;
    }
    return t;
}

static int failed(struct mm_repo__rstate *st)
{
    return __atomic_load_n(&st->err, __ATOMIC_RELAXED) != 0;
}

/* Record the first fatal error (and its message, for the caller's thread); wake everyone. */
static void fail(struct mm_repo__rstate *st, int err)
{
    pthread_mutex_lock(&st->mu);
    if (!st->err) {
        snprintf(st->errmsg, sizeof(st->errmsg), "%s", mm_error_last());
        __atomic_store_n(&st->err, err, __ATOMIC_RELAXED);
    }
    pthread_cond_broadcast(&st->cv_job);
    pthread_cond_broadcast(&st->cv_done);
    pthread_mutex_unlock(&st->mu);
}

static void progress(struct mm_repo__rstate *st, int force)
{
    struct mm_repo_progress p = { 0 };

    if (!st->o->progress || (!mm_repo__progress_due(&st->last) && !force))
        return;
    p.files_done = __atomic_load_n(&st->s.files, __ATOMIC_RELAXED);
    p.files_total = st->nfilters ? 0 : st->g->counts.files;
    p.bytes_done = __atomic_load_n(&st->s.bytes, __ATOMIC_RELAXED);
    p.bytes_total = st->nfilters ? 0 : st->g->counts.bytes;
    st->o->progress(&p, st->o->ctx);
}

int mm_repo__restore_filter_match(const struct mm_repo__rstate *st,
                                  const struct mm_repo__entry *const *stack, size_t depth)
{
    int best = 0;

    if (!st->nfilters)
        return 2;
    for (size_t f = 0; f < st->nfilters; f++) {
        const struct mm_repo__rfilter *ft = &st->filters[f];
        size_t k, m = depth < ft->n ? depth : ft->n;
        for (k = 0; k < m; k++) {
            const struct mm_repo__entry *e = stack[k];
            if (ft->comp[k][0] &&
                (strlen(ft->comp[k]) != e->namelen || memcmp(ft->comp[k], e->name, e->namelen)))
                break;
        }
        if (k < m)
            continue;
        if (depth >= ft->n)
            return 2;
        best = 1;
    }
    return best;
}

/*
 * Whether @e's name is one this system cannot hold (Windows: device names, "a:b", "x."):
 * then it is reported and counted, and not restored (a folder: nothing below it); the rest
 * of the generation goes on. Never on Linux, which holds every name a tree can carry.
 */
static int forbidden(struct mm_repo__rstate *st, const char *shown, const struct mm_repo__entry *e)
{
#ifdef _WIN32
    const char *why = mm_winpath_forbidden(e->name, e->namelen);
    char msg[160], *sh;

    if (!why)
        return 0;
    if (e->kind == MM_REPO_KIND_FILE)
        mm_repo__radd(&st->seen, 1);
    mm_repo__radd(&st->s.unnamed, 1);
    snprintf(msg, sizeof(msg), "%s: %s, not restored on Windows",
             e->kind == MM_REPO_KIND_DIR ? "folder name" : "name", why);
    sh = shown[0] ? mm_repo__join(shown, e->name, e->namelen) : mm_strndup(e->name, e->namelen);
    report(st, sh ? sh : shown, msg);
    mm_free(sh);
    return 1;
#else
    (void)st;
    (void)shown;
    (void)e;
    return 0;
#endif
}

/* The message "@pre'@dst/@name'@post" (the path redacted). @return @err */
static int fail_at(int err, int errnum, const char *pre, const char *post, const char *dst,
                   const char *name)
{
    char red[MM_LOG_PATH_MAX], *p = mm_repo__join(dst, name, strlen(name));

    if (errnum)
        mm_error_set_errno(err, errnum, "%s'%s'%s", pre, RED(red, p ? p : dst), post);
    else
        mm_error_set(err, "%s'%s'%s", pre, RED(red, p ? p : dst), post);
    mm_free(p);
    return err;
}

/* Write the blocks of @e to @fd (the file @name in @dst). OUT: *why (damage: NULL when none),
 * *written */
static int write_blocks(struct rctx *c, const struct mm_repo__entry *e, int fd, const char *dst,
                        const char *name, const char **why, uint64_t *written)
{
    int err;

    *why = NULL;
    *written = 0;
    for (uint32_t i = 0; i < e->nids; i++) {
        mm_buf_clear(&c->b);
        err = mm_repo__object_get(c->st->r, c->w, e->ids + (size_t)i * ID_SIZE, &c->b);
        if (err == MM_ENOMEM)
            return err;
        if (err < 0) {
            *why = err == MM_ENOTFOUND ? "data missing from the repository"
                                       : "data damaged in the repository";
            mm_error_clear();
            return 0;
        }
        for (size_t off = 0; off < c->b.len;) {
            ssize_t n = write(fd, c->b.ptr + off, c->b.len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return fail_at(MM_EIO, errno, "cannot write ", "", dst, name);
            off += (size_t)n;
        }
        *written += c->b.len;
    }
    if (*written != e->size)
        *why = "data does not add up to the file's size";
    return 0;
}

/*
 * Write the file @e (named @name) into the open folder @dfd (@dst; @sgid: the folder passes
 * its group on). @return 0 (damage is reported, not an error), or a fatal error.
 */
static int restore_file(struct rctx *c, int dfd, int sgid, const char *dst, const char *shown,
                        const struct mm_repo__entry *e, const char *name)
{
    struct mm_repo__rstate *st = c->st;
    struct timespec ts[2];
    uint64_t written = 0;
    const char *why = NULL, *dest = name;
    char tmp[96];
    mode_t want = (mode_t)(e->mode & 07777);
    int exact = st->mask_known && !(want & 07000) && !(want & st->mask);
    int fd, err = 0;

    if (st->merge) { /* beside its name, in the same folder, so a rename puts it in place */
        snprintf(tmp, sizeof(tmp), ".mamori-restore-%ld-%llu", (long)getpid(),
                 __atomic_add_fetch(&st->seq, 1, __ATOMIC_RELAXED));
        dest = tmp;
    }
    fd = openat(dfd, dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                exact ? want : (mode_t)0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return fail_at(MM_EEXISTS, 0, "", " exists already: restore into an empty folder", dst,
                           name);
        return fail_at(MM_EIO, errno, "cannot create ", "", dst, name);
    }
    if ((err = write_blocks(c, e, fd, dst, name, &why, &written)) < 0)
        goto out;
    if (why) {
        char *sh = mm_repo__join(shown, e->name, e->namelen);
        close(fd);
        fd = -1;
        unlinkat(dfd, dest, 0);
        mm_repo__radd(&st->s.damaged, 1);
        report(st, sh ? sh : shown, why);
        mm_free(sh);
        return 0;
    }
    if (st->root_user && (sgid || e->uid != (uint32_t)st->euid || e->gid != (uint32_t)st->egid) &&
        fchown(fd, (uid_t)e->uid, (gid_t)e->gid) != 0) {
        err = fail_at(MM_EIO, errno, "cannot set the owner of ", "", dst, name);
        goto out;
    }
    ts[0] = ts[1] = ns_to_ts(e->mtime_ns);
    if ((!exact && fchmod(fd, want) != 0) || futimens(fd, ts) != 0) {
        err = fail_at(MM_EIO, errno, "cannot set the time of ", "", dst, name);
        goto out;
    }
    err = close(fd);
    fd = -1;
    if (err != 0) {
        err = fail_at(MM_EIO, errno, "cannot write ", "", dst, name);
        goto out;
    }
    if (st->merge && renameat(dfd, tmp, dfd, name) != 0) {
        err = fail_at(MM_EIO, errno, "cannot replace ", "", dst, name);
        goto out;
    }
    mm_repo__radd(&st->s.files, 1);
    mm_repo__radd(&st->s.bytes, written);
out:
    if (fd >= 0)
        close(fd);
    if (err < 0 && st->merge)
        unlinkat(dfd, tmp, 0);
    return err;
}

/* The link @e (named @name) in the open folder @dfd (@dst). */
static int restore_link(struct rctx *c, int dfd, const char *dst, const struct mm_repo__entry *e,
                        const char *name)
{
    struct mm_repo__rstate *st = c->st;
    char *target = mm_strndup(e->target, e->targetlen);
    struct timespec ts[2];
    struct stat ls;
    int err = 0;

    if (!target)
        return mm_error_set(MM_ENOMEM, "out of memory");
    ts[0] = ts[1] = ns_to_ts(e->mtime_ns);
#ifdef _WIN32 /* its POSIX layer has no symlinkat: by path */
    (void)dfd;
    char *path = mm_repo__join(dst, name, strlen(name));
    if (!path) {
        mm_free(target);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    if (st->merge && lstat(path, &ls) == 0 && !S_ISDIR(ls.st_mode))
        unlink(path); /* a merge replaces a same-named file or link */
    if (symlink(target, path) != 0) {
        err = fail_at(errno == EEXIST ? MM_EEXISTS : MM_EIO, errno, "cannot create the link ", "",
                      dst, name);
    } else {
        utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
        mm_repo__radd(&st->s.symlinks, 1);
    }
    mm_free(path);
#else
    if (st->merge && fstatat(dfd, name, &ls, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(ls.st_mode))
        unlinkat(dfd, name, 0); /* a merge replaces a same-named file or link */
    if (symlinkat(target, dfd, name) != 0) {
        err = fail_at(errno == EEXIST ? MM_EEXISTS : MM_EIO, errno, "cannot create the link ", "",
                      dst, name);
    } else {
        utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
        mm_repo__radd(&st->s.symlinks, 1);
    }
#endif
    mm_free(target);
    return err;
}

/* Leave the folder @path for the end (a part of it was written by another thread). */
static int fix_later(struct mm_repo__rstate *st, const char *path, uint32_t depth, uint32_t mode,
                     int64_t mtime_ns, int onway)
{
    struct mm_repo__rfix f;
    int err = 0;

    f.path = mm_strdup(path);
    f.depth = depth;
    f.mode = mode;
    f.mtime_ns = mtime_ns;
    f.onway = onway;
    if (!f.path)
        return mm_error_set(MM_ENOMEM, "out of memory");
    pthread_mutex_lock(&st->mu);
    if (st->nfix == st->capfix) {
        size_t ncap = st->capfix ? st->capfix * 2 : 64;
        void *nv = mm_realloc(st->fix, ncap * sizeof(*st->fix));
        if (!nv) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
        } else {
            st->fix = nv;
            st->capfix = ncap;
        }
    }
    if (err == 0)
        st->fix[st->nfix++] = f;
    pthread_mutex_unlock(&st->mu);
    if (err < 0)
        mm_free(f.path);
    return err;
}

/* The folder @fd (@path) is whole: its mode and time now. */
static int fix_now(int fd, const char *path, uint32_t mode, int64_t mtime_ns)
{
    char red[MM_LOG_PATH_MAX];
    struct timespec ts[2];

    ts[0] = ts[1] = ns_to_ts(mtime_ns);
    if (fchmod(fd, (mode_t)(mode & 07777)) != 0 || futimens(fd, ts) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot set the time of '%s'", RED(red, path));
    return 0;
}

/* Whether the folder @fd gives new entries its group (set-group-ID): then fchown always. */
static int passes_group(int fd)
{
#ifdef _WIN32
    (void)fd;
    return 0;
#else
    struct stat s;

    return fstat(fd, &s) == 0 && (s.st_mode & S_ISGID);
#endif
}

/* Whether a thread waits for work that a subfolder could be. */
static int want_hand(struct mm_repo__rstate *st)
{
    return __atomic_load_n(&st->idle, __ATOMIC_RELAXED) >
           __atomic_load_n(&st->nq, __ATOMIC_RELAXED);
}

/* Queue the folder @path (made already; its entry @e) for another thread. Takes @path, @sh. */
static int hand_on(struct mm_repo__rstate *st, char *path, char *sh, const struct mm_repo__entry *e,
                   uint32_t depth)
{
    int err = 0;

    pthread_mutex_lock(&st->mu);
    if (st->nq == st->capq) {
        size_t ncap = st->capq ? st->capq * 2 : 64;
        void *nv = mm_realloc(st->q, ncap * sizeof(*st->q));
        if (!nv) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
        } else {
            st->q = nv;
            st->capq = ncap;
        }
    }
    if (err == 0) {
        struct mm_repo__rjob *j = &st->q[st->nq];
        j->path = path;
        j->shown = sh;
        memcpy(j->id, e->ids, ID_SIZE);
        j->mode = e->mode;
        j->mtime_ns = e->mtime_ns;
        j->depth = depth;
        __atomic_store_n(&st->nq, st->nq + 1, __ATOMIC_RELAXED);
        pthread_cond_signal(&st->cv_job);
    }
    pthread_mutex_unlock(&st->mu);
    if (err < 0) {
        mm_free(path);
        mm_free(sh);
    }
    return err;
}

static int walk(struct rctx *c, const unsigned char id[ID_SIZE], int dfd, int sgid, const char *dst,
                const char *shown, uint32_t depth, unsigned int held, int all, int *handed);

/*
 * The folder @e (named @name) in the open folder @dfd (@dst): made, then written here or
 * handed on. @m: its filter match. OUT: *handed set when a part of it went to another thread
 */
static int restore_dir(struct rctx *c, int dfd, const char *dst, const char *shown,
                       const struct mm_repo__entry *e, const char *name, uint32_t depth,
                       unsigned int held, int m, int *handed)
{
    struct mm_repo__rstate *st = c->st;
    char *path = mm_repo__join(dst, e->name, e->namelen),
         *sh = mm_repo__join(shown, e->name, e->namelen);
    int created = mkdirat(dfd, name, 0700) == 0, sub = 0, fd = -1, sgid = 0, err = 0;

    if (!path || !sh) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    if (!created && errno != EEXIST) {
        err = fail_at(MM_EIO, errno, "cannot create the folder ", "", dst, name);
        goto out;
    }
    if (m == 2)
        mm_repo__radd(&st->s.dirs, 1);
    if (m == 2 && (held + 1 >= MAX_HELD || want_hand(st))) {
        *handed = 1; /* this folder's mode and time are set by the thread that takes it */
        err = hand_on(st, path, sh, e, depth + 1);
        return err;
    }
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        err = fail_at(MM_EEXISTS, 0, "", " exists and is not a folder", dst, name);
        goto out;
    }
    if (st->root_user)
        sgid = passes_group(fd);
    if ((err = walk(c, e->ids, fd, sgid, path, sh, depth + 1, held + 1, m == 2, &sub)) < 0)
        goto out;
#ifdef _WIN32
    sub = 1; /* every folder by path at the end */
#endif
    if (sub) {
        *handed = 1;
        err = fix_later(st, path, depth + 1, e->mode, e->mtime_ns, m == 1 && created);
        goto out;
    }
    if (m == 1 && created) { /* made on the way to a match that was not below it */
        close(fd);
        fd = -1;
        if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
            goto out;
        if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
            err = fail_at(MM_EIO, errno, "cannot open the folder ", "", dst, name);
            goto out;
        }
    }
    err = fix_now(fd, path, e->mode, e->mtime_ns);
out:
    if (fd >= 0)
        close(fd);
    mm_free(path);
    mm_free(sh);
    return err;
}

/*
 * Restore the tree @id into the open folder @dfd (@dst; @sgid: it passes its group on),
 * @shown its path inside the generation, @depth names below the target, @held folder
 * descriptors this thread holds. Below a filter's match @all is 1; else c->stack holds the
 * entries leading here. OUT: *handed set when a part below went to another thread
 */
static int walk(struct rctx *c, const unsigned char id[ID_SIZE], int dfd, int sgid, const char *dst,
                const char *shown, uint32_t depth, unsigned int held, int all, int *handed)
{
    struct mm_repo__rstate *st = c->st;
    struct mm_repo__tree t = { 0 };
    char name[MM_LIMIT_NAME + 1];
    int err;

    if (depth >= 512)
        return mm_error_set(MM_ECORRUPT, "generation's folders nest too deep");
    if ((err = mm_repo__tree_get(st->r, c->w, id, &t)) < 0) {
        if (err == MM_ENOMEM)
            return err;
        report(st, shown[0] ? shown : ".", "folder damaged in the repository: not restored");
        mm_repo__radd(&st->s.damaged, 1);
        mm_repo__radd(&st->lost_trees, 1);
        mm_error_clear();
        return 0;
    }
    for (size_t i = 0; i < t.n && err == 0; i++) {
        const struct mm_repo__entry *e = &t.e[i];
        int m = 2;

        if (failed(st)) {
            err = __atomic_load_n(&st->err, __ATOMIC_RELAXED);
            break;
        }
        if (!all) {
            if (depth > MM_RESTORE_FILTER_DEPTH) /* no filter reaches here */
                continue;
            c->stack[depth] = e;
            m = mm_repo__restore_filter_match(st, c->stack, depth + 1);
            if (m == 0 || (m == 1 && e->kind != MM_REPO_KIND_DIR))
                continue;
        }
        if (m == 2)
            __atomic_store_n(&st->matched, 1, __ATOMIC_RELAXED);
        if (forbidden(st, shown, e))
            continue;
        if (e->namelen == 0 || e->namelen > MM_LIMIT_NAME) {
            err = mm_error_set(MM_ECORRUPT, "a name in the generation's tree is not valid");
            break;
        }
        memcpy(name, e->name, e->namelen);
        name[e->namelen] = '\0';
        if (e->kind == MM_REPO_KIND_FILE) {
            mm_repo__radd(&st->seen, 1);
            err = restore_file(c, dfd, sgid, dst, shown, e, name);
            if (c->is_main)
                progress(st, 0);
        } else if (e->kind == MM_REPO_KIND_DIR) {
            err = restore_dir(c, dfd, dst, shown, e, name, depth, held, m, handed);
        } else if (e->kind == MM_REPO_KIND_SYMLINK) {
            err = restore_link(c, dfd, dst, e, name);
        }
    }
    mm_repo__tree_release(&t);
    return err;
}

/* Write the folder of job @j into place, and its mode and time when no part was handed on. */
static int run_job(struct rctx *c, const struct mm_repo__rjob *j)
{
    struct mm_repo__rstate *st = c->st;
    char red[MM_LOG_PATH_MAX];
    int fd, sgid = 0, sub = 0, err;

    fd = open(j->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return mm_error_set(MM_EEXISTS, "'%s' exists and is not a folder", RED(red, j->path));
    if (st->root_user)
        sgid = passes_group(fd);
    err = walk(c, j->id, fd, sgid, j->path, j->shown, j->depth, 1, 1, &sub);
#ifdef _WIN32
    sub = 1;
#endif
    if (err == 0)
        err = sub ? fix_later(st, j->path, j->depth, j->mode, j->mtime_ns, 0)
                  : fix_now(fd, j->path, j->mode, j->mtime_ns);
    close(fd);
    return err;
}

static void *worker_main(void *arg)
{
    struct rctx *c = arg;
    struct mm_repo__rstate *st = c->st;

    for (;;) {
        struct mm_repo__rjob j;
        int err;
        pthread_mutex_lock(&st->mu);
        while (!st->nq && !st->closing && !st->err) {
            __atomic_add_fetch(&st->idle, 1, __ATOMIC_RELAXED);
            pthread_cond_wait(&st->cv_job, &st->mu);
            __atomic_sub_fetch(&st->idle, 1, __ATOMIC_RELAXED);
        }
        if (st->err || !st->nq) {
            pthread_mutex_unlock(&st->mu);
            break;
        }
        j = st->q[st->nq - 1];
        __atomic_store_n(&st->nq, st->nq - 1, __ATOMIC_RELAXED);
        st->busy++;
        pthread_mutex_unlock(&st->mu);
        err = run_job(c, &j);
        mm_free(j.path);
        mm_free(j.shown);
        if (err < 0) {
            fail(st, err);
            pthread_mutex_lock(&st->mu);
            st->busy--;
            pthread_mutex_unlock(&st->mu);
            break;
        }
        pthread_mutex_lock(&st->mu);
        if (--st->busy == 0 && st->nq == 0)
            pthread_cond_signal(&st->cv_done);
        pthread_mutex_unlock(&st->mu);
    }
    return NULL;
}

static int cmp_fix(const void *a, const void *b)
{
    const struct mm_repo__rfix *x = a, *y = b;

    return x->depth < y->depth ? 1 : x->depth > y->depth ? -1 : 0; /* deepest first */
}

/* Read the umask without changing it (Linux: /proc); OUT: st->mask, st->mask_known */
static void read_umask(struct mm_repo__rstate *st)
{
#ifndef _WIN32
    char buf[2048];
    FILE *f = fopen("/proc/self/status", "re");
    unsigned int v;

    st->mask_known = 0;
    if (!f)
        return;
    while (fgets(buf, sizeof(buf), f))
        if (sscanf(buf, "Umask: %o", &v) == 1) {
            st->mask = (mode_t)(v & 0777);
            st->mask_known = 1;
            break;
        }
    fclose(f);
#else
    st->mask_known = 0; /* every file gets fchmod */
#endif
}

int mm_repo__restore_run(struct mm_repo__rstate *st, struct mm_repo__work *w, const char *dest)
{
    struct rctx *cs = NULL, mainc;
    pthread_t th[64];
    unsigned int nth, started = 0, inited = 0;
    char red[MM_LOG_PATH_MAX];
    int err = 0, fd = -1, sgid = 0, sub = 0;

    MM_ASSERT_ARG(st && w && dest);
    st->euid = geteuid();
#ifdef _WIN32
    st->egid = 0;
#else
    st->egid = getegid();
#endif
    read_umask(st);
    nth = mm_repo__threads(st->o->threads);
    if (!(cs = mm_calloc(nth, sizeof(*cs)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    for (; inited < nth; inited++) {
        cs[inited].st = st;
        mm_buf_init(&cs[inited].b, MM_REPO_OBJECT_MAX);
        cs[inited].w = &cs[inited].wk;
        if ((err = mm_repo__work_init(&cs[inited].wk)) < 0) {
            mm_buf_release(&cs[inited].b);
            goto out;
        }
    }
    memset(&mainc, 0, sizeof(mainc));
    mainc.st = st;
    mainc.w = w;
    mainc.is_main = 1;
    mm_buf_init(&mainc.b, MM_REPO_OBJECT_MAX);
    if ((fd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        err = mm_error_set_errno(MM_EIO, errno, "cannot open '%s'", RED(red, dest));
        goto out_b;
    }
    if (st->root_user)
        sgid = passes_group(fd);
    st->busy = 1; /* the main thread, while it walks */
    for (; started < nth; started++)
        if (pthread_create(&th[started], NULL, worker_main, &cs[started]) != 0)
            break;
    if (started == 0) {
        err = mm_error_set(MM_ERROR, "cannot start a worker thread");
        goto out_b;
    }
    err = walk(&mainc, st->g->root, fd, sgid, dest, "", 0, 1, st->nfilters == 0, &sub);
    if (err < 0)
        fail(st, err);
    pthread_mutex_lock(&st->mu);
    st->busy--;
    while (!st->err && (st->nq || st->busy)) {
        struct timespec until;
        mm_repo__progress_deadline(&until);
        pthread_cond_timedwait(&st->cv_done, &st->mu, &until);
        pthread_mutex_unlock(&st->mu);
        progress(st, 0);
        pthread_mutex_lock(&st->mu);
    }
    st->closing = 1;
    pthread_cond_broadcast(&st->cv_job);
    pthread_mutex_unlock(&st->mu);
    for (unsigned int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (st->err) {
        err = mm_error_set(st->err, "%s", st->errmsg); /* set in a worker: the caller's now */
        goto out_b;
    }
    if (st->nfilters && !st->matched) {
        err = mm_error_set(MM_ENOTFOUND, "nothing in generation '%.12s' matches", st->g->id);
        goto out_b;
    }
    /* the folders with parts written by several threads, deepest first */
    if (st->nfix) /* (qsort of a NULL array is undefined even for 0 elements) */
        qsort(st->fix, st->nfix, sizeof(*st->fix), cmp_fix);
    for (size_t i = 0; i < st->nfix; i++) {
        const struct mm_repo__rfix *f = &st->fix[i];
        struct timespec ts[2];
        if (f->onway && rmdir(f->path) == 0)
            continue; /* made on the way to a match that was not below it */
        ts[0] = ts[1] = ns_to_ts(f->mtime_ns);
        if (chmod(f->path, (mode_t)(f->mode & 07777)) != 0 ||
            utimensat(AT_FDCWD, f->path, ts, AT_SYMLINK_NOFOLLOW) != 0) {
            err = mm_error_set_errno(MM_EIO, errno, "cannot set the time of '%s'",
                                     RED(red, f->path));
            goto out_b;
        }
    }
    progress(st, 1);
    /* a folder that does not read costs the files below it: the generation's count less the
     * files met elsewhere (a whole restore; a selection counts each such folder once) */
    if (st->lost_trees && !st->nfilters && st->g->counts.files >= st->seen)
        st->s.damaged += st->g->counts.files - st->seen - st->lost_trees;
out_b:
    mm_buf_release(&mainc.b);
    if (fd >= 0)
        close(fd);
out:
    for (unsigned int i = 0; i < inited; i++) {
        mm_buf_release(&cs[i].b);
        mm_repo__work_release(&cs[i].wk);
    }
    mm_free(cs);
    return err;
}

void mm_repo__restore_state_release(struct mm_repo__rstate *st)
{
    if (!st)
        return;
    while (st->nq > 0) {
        st->nq--;
        mm_free(st->q[st->nq].path);
        mm_free(st->q[st->nq].shown);
    }
    mm_free(st->q);
    st->q = NULL;
    st->capq = 0;
    for (size_t i = 0; i < st->nfix; i++)
        mm_free(st->fix[i].path);
    mm_free(st->fix);
    st->fix = NULL;
    st->nfix = st->capfix = 0;
}
