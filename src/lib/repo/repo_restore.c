/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restore: walk a generation's trees, create its folders (never following a link: every
 * folder is opened with O_NOFOLLOW, every file created with O_EXCL | O_NOFOLLOW, names
 * come from validated trees with no '/', "." or ".."), and hand each file to a worker that
 * reads its blobs, checks every blob against its ID before writing a byte of it, and sets
 * mode and mtime. A file whose data is damaged or missing is removed, reported and
 * counted; the rest is restored. Folder modes and mtimes are set last, deepest first,
 * since creating files changes them. Filters: a path prefix, or one patient's folders
 * (<pid[0:3]>/<pid[3:6]>/<pid> below an SS-MIX2 source).
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
#include "repo/repo_int.h"

#define QUEUE_MAX    4096
#define FILTER_DEPTH 16

struct filter {
    char comp[FILTER_DEPTH][MM_LIMIT_NAME + 1]; /* "" matches any name (wildcard) */
    size_t n;
};

struct fjob {
    char *path;              /* destination */
    char *shown;             /* the path inside the generation (for messages, redacted later) */
    struct mm_repo__entry e; /* ids point into ids below */
    unsigned char *ids;
};

/* A folder whose mode and time are set at the end (after its files): about 32 bytes plus its
 * name, as the path is rebuilt from the parents' names (a million folders: ~40 MB less). */
struct dirfix {
    int64_t mtime_ns;
    uint32_t parent;   /* index in st->dirs + 1; 0: directly in the target folder */
    uint32_t name_off; /* in st->names */
    uint32_t namelen;
    uint32_t mode;
    int onway; /* created only on the way to a filter's match: removed again if empty */
};

struct rstate {
    mm_repo *r;
    const struct mm_repo_restore_opts *o;
    struct mm_repo_gen *g;
    pthread_mutex_t mu;
    pthread_cond_t cv_put, cv_get;
    struct fjob *q;
    size_t nq;
    int closing, err;
    struct mm_repo_restore_stats s; /* __atomic */
    struct filter *filters;
    size_t nfilters;
    struct dirfix *dirs;
    size_t ndirs, capdirs;
    mm_buf names; /* the folder names of st->dirs, one after another */
    int matched;
    int root_user;
    int merge;                 /* files are written beside their name and renamed over it */
    unsigned long long seq;    /* __atomic: names of those temporary files */
    char errmsg[512];          /* message of the first fatal error of a worker */
    uint64_t seen, lost_trees; /* files met in readable folders; folders that do not read */
    struct timespec last;
};

static void add(uint64_t *p, uint64_t v)
{
    __atomic_add_fetch(p, v, __ATOMIC_RELAXED);
}

static void report(struct rstate *st, const char *shown, const char *what)
{
    char red[MM_LOG_PATH_MAX];

    if (!st->o->problem)
        return;
    mm_log_path(red, sizeof(red), shown);
    pthread_mutex_lock(&st->mu);
    st->o->problem(st->g->id, red, what, st->o->ctx);
    pthread_mutex_unlock(&st->mu);
}

/* @path with patient IDs hidden, for a message (a buffer per call site). */
#define RED(buf, path) mm_log_path(buf, sizeof(buf), path)

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

/* The temporary name a merge writes @path under: in the same folder, so a rename puts it in
 * place. OUT: @out */
static int merge_temp(struct rstate *st, const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 0;
    unsigned long long n = __atomic_add_fetch(&st->seq, 1, __ATOMIC_RELAXED);

    if (dl + 64 > cap)
        return mm_error_set(MM_ELIMIT, "a restored path is too long");
    snprintf(out, cap, "%.*s%s.mamori-restore-%ld-%llu", (int)dl, path, slash ? "/" : "",
             (long)getpid(), n);
    return 0;
}

/* Write the blocks of @j to @fd. OUT: *why (damage: NULL when none), *written */
static int write_blocks(struct rstate *st, struct mm_repo__work *w, mm_buf *b, const struct fjob *j,
                        int fd, const char **why, uint64_t *written)
{
    int err;

    *why = NULL;
    *written = 0;
    for (uint32_t i = 0; i < j->e.nids; i++) {
        mm_buf_clear(b);
        err = mm_repo__object_get(st->r, w, j->ids + (size_t)i * ID_SIZE, b);
        if (err == MM_ENOMEM)
            return err;
        if (err < 0) {
            *why = err == MM_ENOTFOUND ? "data missing from the repository"
                                       : "data damaged in the repository";
            mm_error_clear();
            return 0;
        }
        if ((err = mm_os_write_all(fd, b->ptr, b->len, j->path)) < 0)
            return err;
        *written += b->len;
    }
    if (*written != j->e.size)
        *why = "data does not add up to the file's size";
    return 0;
}

/* Write one file; @return 0 (damage is reported, not an error), or a fatal error. */
static int restore_file(struct rstate *st, struct mm_repo__work *w, mm_buf *b, struct fjob *j)
{
    struct timespec ts[2];
    uint64_t written = 0;
    const char *why = NULL, *dest = j->path;
    char red[MM_LOG_PATH_MAX], tmp[MM_LIMIT_PATH + 64];
    int fd, err = 0;

    if (st->merge) {
        if ((err = merge_temp(st, j->path, tmp, sizeof(tmp))) < 0)
            return err;
        dest = tmp;
    }
    fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return mm_error_set(MM_EEXISTS, "'%s' exists already: restore into an empty folder",
                                RED(red, j->path));
        return mm_error_set_errno(MM_EIO, errno, "cannot create '%s'", RED(red, j->path));
    }
    if ((err = write_blocks(st, w, b, j, fd, &why, &written)) < 0)
        goto out;
    if (why) {
        close(fd);
        fd = -1;
        unlink(dest);
        add(&st->s.damaged, 1);
        report(st, j->shown, why);
        return 0;
    }
    if (st->root_user && fchown(fd, (uid_t)j->e.uid, (gid_t)j->e.gid) != 0) {
        err = mm_error_set_errno(MM_EIO, errno, "cannot set the owner of '%s'", RED(red, j->path));
        goto out;
    }
    ts[0] = ts[1] = ns_to_ts(j->e.mtime_ns);
    if (fchmod(fd, (mode_t)(j->e.mode & 07777)) != 0 || futimens(fd, ts) != 0) {
        err = mm_error_set_errno(MM_EIO, errno, "cannot set the time of '%s'", RED(red, j->path));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        err = mm_error_set_errno(MM_EIO, errno, "cannot write '%s'", RED(red, j->path));
        goto out;
    }
    fd = -1;
    if (st->merge && rename(tmp, j->path) != 0) {
        err = mm_error_set_errno(MM_EIO, errno, "cannot replace '%s'", RED(red, j->path));
        goto out;
    }
    add(&st->s.files, 1);
    add(&st->s.bytes, written);
out:
    if (fd >= 0)
        close(fd);
    if (err < 0 && st->merge)
        unlink(tmp);
    return err;
}

static void *worker_main(void *arg)
{
    struct rstate *st = arg;
    struct mm_repo__work w;
    mm_buf b;
    int err = mm_repo__work_init(&w);

    mm_buf_init(&b, MM_REPO_OBJECT_MAX);
    if (err < 0) {
        pthread_mutex_lock(&st->mu);
        if (!st->err)
            st->err = err;
        pthread_cond_broadcast(&st->cv_put);
        pthread_mutex_unlock(&st->mu);
        return NULL;
    }
    for (;;) {
        struct fjob j;
        pthread_mutex_lock(&st->mu);
        while (!st->nq && !st->closing && !st->err)
            pthread_cond_wait(&st->cv_get, &st->mu);
        if (st->err || (!st->nq && st->closing)) {
            pthread_mutex_unlock(&st->mu);
            break;
        }
        j = st->q[--st->nq];
        pthread_cond_signal(&st->cv_put);
        pthread_mutex_unlock(&st->mu);
        err = restore_file(st, &w, &b, &j);
        mm_free(j.path);
        mm_free(j.shown);
        mm_free(j.ids);
        if (err < 0) {
            pthread_mutex_lock(&st->mu);
            if (!st->err) {
                st->err = err;
                snprintf(st->errmsg, sizeof(st->errmsg), "%s", mm_error_last());
            }
            pthread_cond_broadcast(&st->cv_put);
            pthread_cond_broadcast(&st->cv_get);
            pthread_mutex_unlock(&st->mu);
            break;
        }
    }
    mm_buf_release(&b);
    mm_repo__work_release(&w);
    return NULL;
}

/* 2: @depth components match a filter fully (take all below), 1: on the way, 0: no. */
static int filter_match(const struct rstate *st, const struct mm_repo__entry *const *stack,
                        size_t depth)
{
    int best = 0;

    if (!st->nfilters)
        return 2;
    for (size_t f = 0; f < st->nfilters; f++) {
        const struct filter *ft = &st->filters[f];
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

static void progress(struct rstate *st, int force)
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

static int queue_file(struct rstate *st, const char *dst, const char *shown,
                      const struct mm_repo__entry *e)
{
    struct fjob j = { 0 };

    j.e = *e;
    if (!(j.path = mm_repo__join(dst, e->name, e->namelen)) ||
        !(j.shown = mm_repo__join(shown, e->name, e->namelen)) ||
        (e->nids && !(j.ids = mm_malloc((size_t)e->nids * ID_SIZE)))) {
        mm_free(j.path);
        mm_free(j.shown);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    if (e->nids)
        memcpy(j.ids, e->ids, (size_t)e->nids * ID_SIZE);
    j.e.name = NULL;
    j.e.ids = NULL;
    pthread_mutex_lock(&st->mu);
    while (st->nq >= QUEUE_MAX && !st->err)
        pthread_cond_wait(&st->cv_put, &st->mu);
    if (st->err) {
        int err = st->err;
        pthread_mutex_unlock(&st->mu);
        mm_free(j.path);
        mm_free(j.shown);
        mm_free(j.ids);
        return err;
    }
    st->q[st->nq++] = j;
    pthread_cond_signal(&st->cv_get);
    pthread_mutex_unlock(&st->mu);
    return 0;
}

static int remember_dir(struct rstate *st, uint32_t parent, const struct mm_repo__entry *e,
                        int onway)
{
    int err;

    if (st->ndirs >= UINT32_MAX - 1 || st->names.len > UINT32_MAX - e->namelen)
        return mm_error_set(MM_ELIMIT, "too many folders");
    if (st->ndirs == st->capdirs) {
        size_t ncap = st->capdirs ? st->capdirs * 2 : 256;
        void *nv = mm_realloc(st->dirs, ncap * sizeof(*st->dirs));
        if (!nv)
            return mm_error_set(MM_ENOMEM, "out of memory");
        st->dirs = nv;
        st->capdirs = ncap;
    }
    st->dirs[st->ndirs].parent = parent;
    st->dirs[st->ndirs].name_off = (uint32_t)st->names.len;
    st->dirs[st->ndirs].namelen = e->namelen;
    if ((err = mm_buf_put(&st->names, e->name, e->namelen)) < 0)
        return err;
    st->dirs[st->ndirs].mode = e->mode;
    st->dirs[st->ndirs].mtime_ns = e->mtime_ns;
    st->dirs[st->ndirs].onway = onway;
    st->ndirs++;
    return 0;
}

/* Make the folder @path (or accept an existing real folder). OUT: *created (may be NULL) */
static int make_dir(const char *path, int *created)
{
    char red[MM_LOG_PATH_MAX];
    struct stat s;
    int fd, made = mkdir(path, 0700) == 0;

    if (created)
        *created = made;
    if (!made && errno != EEXIST)
        return mm_error_set_errno(MM_EIO, errno, "cannot create the folder '%s'", RED(red, path));
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &s) != 0) {
        if (fd >= 0)
            close(fd);
        return mm_error_set(MM_EEXISTS, "'%s' exists and is not a folder", RED(red, path));
    }
    close(fd);
    return 0;
}

/* The path of st->dirs[@i] under @to, rebuilt from its parents' names. @return 0, MM_ELIMIT */
static int dir_path(const struct rstate *st, const char *to, size_t i, char *out, size_t cap)
{
    size_t len = 0, tl = strlen(to);

    for (size_t k = i + 1; k; k = st->dirs[k - 1].parent) /* the length first */
        len += 1 + st->dirs[k - 1].namelen;
    if (tl + len + 1 > cap)
        return mm_error_set(MM_ELIMIT, "a restored path is too long");
    memcpy(out, to, tl);
    out[tl + len] = '\0';
    for (size_t k = i + 1; k; k = st->dirs[k - 1].parent) { /* then the names, from the end */
        const struct dirfix *d = &st->dirs[k - 1];
        len -= d->namelen;
        memcpy(out + tl + len, st->names.ptr + d->name_off, d->namelen);
        out[tl + --len] = '/';
    }
    return 0;
}

/*
 * Whether @e's name is one this system cannot hold (Windows: device names, "a:b", "x."):
 * then it is reported and counted, and not restored (a folder: nothing below it); the rest
 * of the generation goes on. Never on Linux, which holds every name a tree can carry.
 */
static int forbidden(struct rstate *st, const char *shown, const struct mm_repo__entry *e)
{
#ifdef _WIN32
    const char *why = mm_winpath_forbidden(e->name, e->namelen);
    char msg[160], *sh;

    if (!why)
        return 0;
    if (e->kind == MM_REPO_KIND_FILE)
        st->seen++;
    add(&st->s.unnamed, 1);
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

/*
 * Restore the tree @id into the existing folder @dst (st->dirs[@dst_dir - 1], or the target
 * itself when 0). @stack holds the entries leading
 * here (for the filters), @shown the path inside the generation.
 */
static int walk(struct rstate *st, struct mm_repo__work *w, const unsigned char id[ID_SIZE],
                const char *dst, uint32_t dst_dir, const char *shown,
                const struct mm_repo__entry **stack, size_t depth, int all)
{
    struct mm_repo__tree t = { 0 };
    char red[MM_LOG_PATH_MAX];
    int err;

    if (depth >= 512)
        return mm_error_set(MM_ECORRUPT, "generation's folders nest too deep");
    if ((err = mm_repo__tree_get(st->r, w, id, &t)) < 0) {
        if (err == MM_ENOMEM)
            return err;
        report(st, shown[0] ? shown : ".", "folder damaged in the repository: not restored");
        add(&st->s.damaged, 1);
        st->lost_trees++;
        mm_error_clear();
        return 0;
    }
    for (size_t i = 0; i < t.n && err == 0; i++) {
        const struct mm_repo__entry *e = &t.e[i];
        int m = 2;
        char *path = NULL, *sh = NULL;

        if (st->err) {
            err = st->err;
            break;
        }
        if (!all) {
            stack[depth] = e;
            m = filter_match(st, stack, depth + 1);
            if (m == 0 || (m == 1 && e->kind != MM_REPO_KIND_DIR))
                continue;
        }
        if (m == 2)
            st->matched = 1;
        if (forbidden(st, shown, e))
            continue;
        if (e->kind == MM_REPO_KIND_FILE) {
            st->seen++;
            err = queue_file(st, dst, shown, e);
            progress(st, 0);
            continue;
        }
        if (!(path = mm_repo__join(dst, e->name, e->namelen)) ||
            !(sh = shown[0] ? mm_repo__join(shown, e->name, e->namelen)
                            : mm_strndup(e->name, e->namelen))) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
        } else if (e->kind == MM_REPO_KIND_DIR) {
            int created = 0;
            if ((err = make_dir(path, &created)) == 0 &&
                (err = remember_dir(st, dst_dir, e, m == 1 && created)) == 0) {
                err = walk(st, w, e->ids, path, (uint32_t)st->ndirs, sh, stack, depth + 1, m == 2);
                if (err == 0 && m == 2)
                    add(&st->s.dirs, 1);
            }
        } else if (e->kind == MM_REPO_KIND_SYMLINK) {
            char *target = mm_strndup(e->target, e->targetlen);
            struct timespec ts[2];
            struct stat ls;
            if (st->merge && lstat(path, &ls) == 0 && !S_ISDIR(ls.st_mode))
                unlink(path); /* a merge replaces a same-named file or link */
            if (!target) {
                err = mm_error_set(MM_ENOMEM, "out of memory");
            } else if (symlink(target, path) != 0) {
                err = mm_error_set_errno(errno == EEXIST ? MM_EEXISTS : MM_EIO, errno,
                                         "cannot create the link '%s'", RED(red, path));
            } else {
                ts[0] = ts[1] = ns_to_ts(e->mtime_ns);
                utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
                add(&st->s.symlinks, 1);
            }
            mm_free(target);
        }
        mm_free(path);
        mm_free(sh);
    }
    mm_repo__tree_release(&t);
    return err;
}

/* Tell o->change about @shown/@name (@len bytes) and count it. */
static int note(struct rstate *st, enum mm_repo_change what, const char *shown, const char *name,
                size_t len)
{
    char red[MM_LOG_PATH_MAX], *p;

    add(what == MM_REPO_CHANGE_ADD       ? &st->s.added
        : what == MM_REPO_CHANGE_REPLACE ? &st->s.replaced
                                         : &st->s.left,
        1);
    if (!st->o->change)
        return 0;
    if (!(p = shown[0] ? mm_repo__join(shown, name, len) : mm_strndup(name, len)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    st->o->change(what, mm_log_path(red, sizeof(red), p), st->o->ctx);
    mm_free(p);
    return 0;
}

/* Note each entry of the existing folder @dst that tree @t does not hold. */
static int note_left(struct rstate *st, const struct mm_repo__tree *t, const char *dst,
                     const char *shown)
{
    char buf[4096], red[MM_LOG_PATH_MAX];
    long n;
    int fd, err = 0;

    if ((fd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot open '%s'", RED(red, dst));
    while (err == 0 && (n = mm_os_dir_read(fd, buf, sizeof(buf))) > 0) {
        size_t off = 0;
        const char *name;
        while (err == 0 && (name = mm_os_dir_next(buf, (size_t)n, &off)))
            if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
                !mm_repo__tree_find(t, name, strlen(name)))
                err = note(st, MM_REPO_CHANGE_LEAVE, shown, name, strlen(name));
    }
    close(fd);
    return err;
}

/*
 * Count (and tell o->change) what restoring tree @id at @dst would add, replace and leave
 * alone, writing nothing; @have: @dst exists as a folder. A merge refuses a name that is a
 * folder on one side only.
 */
static int plan(struct rstate *st, struct mm_repo__work *w, const unsigned char id[ID_SIZE],
                const char *dst, int have, const char *shown, const struct mm_repo__entry **stack,
                size_t depth, int all)
{
    struct mm_repo__tree t = { 0 };
    char red[MM_LOG_PATH_MAX];
    int err;

    if (depth >= 512)
        return mm_error_set(MM_ECORRUPT, "generation's folders nest too deep");
    if ((err = mm_repo__tree_get(st->r, w, id, &t)) < 0) {
        if (err == MM_ENOMEM)
            return err;
        mm_error_clear(); /* reported by the restore itself */
        return 0;
    }
    for (size_t i = 0; i < t.n && err == 0; i++) {
        const struct mm_repo__entry *e = &t.e[i];
        char *path, *sh;
        struct stat s;
        int m = 2, ex;

        if (!all) {
            stack[depth] = e;
            m = filter_match(st, stack, depth + 1);
            if (m == 0 || (m == 1 && e->kind != MM_REPO_KIND_DIR))
                continue;
        }
        if (!(path = mm_repo__join(dst, e->name, e->namelen))) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
            break;
        }
        ex = have && lstat(path, &s) == 0;
        if (st->merge && ex && (e->kind == MM_REPO_KIND_DIR) != !!S_ISDIR(s.st_mode)) {
            err = mm_error_set(MM_EEXISTS,
                               "'%s' is a folder on one side and not on the other: a merge "
                               "cannot put it in place",
                               RED(red, path));
        } else if (e->kind != MM_REPO_KIND_DIR) {
            err = note(st, ex ? MM_REPO_CHANGE_REPLACE : MM_REPO_CHANGE_ADD, shown, e->name,
                       e->namelen);
        } else if (!(sh = shown[0] ? mm_repo__join(shown, e->name, e->namelen)
                                   : mm_strndup(e->name, e->namelen))) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
        } else {
            err = plan(st, w, e->ids, path, ex && S_ISDIR(s.st_mode), sh, stack, depth + 1, m == 2);
            mm_free(sh);
        }
        mm_free(path);
    }
    if (err == 0 && all && have)
        err = note_left(st, &t, dst, shown);
    mm_repo__tree_release(&t);
    return err;
}

/* Fill st->filters from the options. */
static int make_filters(struct rstate *st)
{
    const struct mm_repo_restore_opts *o = st->o;

    if (o->path_prefix && *o->path_prefix) {
        const char *p = o->path_prefix;
        struct filter *f = mm_calloc(1, sizeof(*f));
        if (!f)
            return mm_error_set(MM_ENOMEM, "out of memory");
        st->filters = f;
        st->nfilters = 1;
        while (*p) {
            size_t len;
            while (*p == '/')
                p++;
            len = strcspn(p, "/");
            if (!len)
                break;
            if (f->n == FILTER_DEPTH || len > MM_LIMIT_NAME || (len == 1 && p[0] == '.') ||
                (len == 2 && p[0] == '.' && p[1] == '.'))
                return mm_error_set(MM_EINVAL,
                                    "the --path value is not a path inside a generation");
            memcpy(f->comp[f->n], p, len);
            f->comp[f->n][len] = '\0';
            f->n++;
            p += len;
        }
        if (f->n == 0)
            st->nfilters = 0;
    }
    if (o->patient) {
        size_t len = strlen(o->patient), k = 0;
        struct filter *f;
        if (len == 0 || len > MM_LIMIT_PATIENT_ID || strchr(o->patient, '/') ||
            strcmp(o->patient, ".") == 0 || strcmp(o->patient, "..") == 0)
            return mm_error_set(MM_EINVAL, "not a patient ID");
        if (st->nfilters)
            return mm_error_set(MM_EINVAL, "give either a path or a patient, not both");
        f = mm_calloc(st->g->nsources + st->g->nstorages + 1, sizeof(*f));
        if (!f)
            return mm_error_set(MM_ENOMEM, "out of memory");
        st->filters = f;
        /* the storages the manifest names (found below a source), else the sources that are
         * storages themselves (older manifests) */
        for (size_t i = 0; i < st->g->nsources + st->g->nstorages; i++) {
            const char *p;
            size_t m = 0;
            if (i < st->g->nsources) {
                const struct mm_repo_gen_source *s = &st->g->sources[i];
                if (st->g->nstorages ||
                    (s->kind != MM_REPO_SOURCE_SSMIX2_STD && s->kind != MM_REPO_SOURCE_SSMIX2_EXT))
                    continue;
                p = s->name;
            } else {
                p = st->g->storages[i - st->g->nsources].path;
            }
            while (*p && m + 3 < FILTER_DEPTH) { /* the storage's own path, name by name */
                size_t cl = strcspn(p, "/");
                if (cl > 0 && cl <= MM_LIMIT_NAME) {
                    memcpy(f[k].comp[m], p, cl);
                    f[k].comp[m++][cl] = '\0';
                }
                p += cl;
                while (*p == '/')
                    p++;
            }
            if (*p || m == 0)
                continue; /* deeper than a filter holds: not possible for paths mamori wrote */
            if (len >= 6) {
                memcpy(f[k].comp[m], o->patient, 3);
                memcpy(f[k].comp[m + 1], o->patient + 3, 3);
            } /* shorter IDs: any first two levels */
            snprintf(f[k].comp[m + 2], sizeof(f[k].comp[m + 2]), "%s", o->patient);
            f[k].n = m + 3;
            k++;
        }
        st->nfilters = k;
        if (k == 0)
            return mm_error_set(MM_ENOTFOUND, "generation '%.12s' has no SS-MIX2 storage",
                                st->g->id);
    }
    return 0;
}

/* Start the workers, write the generation's tree into the folder @dest, wait for them, then
 * set the folders' modes and times. */
static int run_pass(struct rstate *st, struct mm_repo__work *w, const char *dest)
{
    const struct mm_repo__entry *stack[FILTER_DEPTH + 1];
    pthread_t th[64];
    unsigned int nth, started;
    int err;

    nth = mm_repo__threads(st->o->threads);
    for (started = 0; started < nth; started++)
        if (pthread_create(&th[started], NULL, worker_main, st) != 0)
            break;
    if (started == 0)
        return mm_error_set(MM_ERROR, "cannot start a worker thread");
    err = walk(st, w, st->g->root, dest, 0, "", stack, 0, st->nfilters == 0);
    pthread_mutex_lock(&st->mu);
    if (err < 0 && !st->err)
        st->err = err;
    st->closing = 1;
    pthread_cond_broadcast(&st->cv_get);
    pthread_mutex_unlock(&st->mu);
    for (unsigned int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (st->err) {
        if (st->errmsg[0]) /* set in a worker thread: bring the message to the caller's */
            mm_error_set(st->err, "%s", st->errmsg);
        return st->err;
    }
    if (st->nfilters && !st->matched)
        return mm_error_set(MM_ENOTFOUND, "nothing in generation '%.12s' matches", st->g->id);
    /* folders last, deepest (latest created) first */
    for (size_t i = st->ndirs; i-- > 0;) {
        char red[MM_LOG_PATH_MAX], path[MM_LIMIT_PATH];
        struct timespec ts[2];
        if ((err = dir_path(st, dest, i, path, sizeof(path))) < 0)
            return err;
        if (st->dirs[i].onway && rmdir(path) == 0)
            continue; /* made on the way to a match that was not below it */
        ts[0] = ts[1] = ns_to_ts(st->dirs[i].mtime_ns);
        if (chmod(path, (mode_t)(st->dirs[i].mode & 07777)) != 0 ||
            utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0)
            return mm_error_set_errno(MM_EIO, errno, "cannot set the time of '%s'", RED(red, path));
    }
    progress(st, 1);
    /* a folder that does not read costs the files below it: the generation's count less the
     * files met elsewhere (a whole restore; a selection counts each such folder once) */
    if (st->lost_trees && !st->nfilters && st->g->counts.files >= st->seen)
        st->s.damaged += st->g->counts.files - st->seen - st->lost_trees;
    return 0;
}

/*
 * Restore into @to as o->mode says: a merge writes into it; a new or overwriting restore
 * writes into a temporary sibling that replaces @to only when whole (and is removed when
 * the restore fails). An empty @to whose parent this process cannot write gets the temporary
 * folder inside it instead, its entries moved up when whole. @state: of @to (0, 1 or 2)
 */
static int restore_into(struct rstate *st, struct mm_repo__work *w, const char *to, int state)
{
    char tmp[MM_LIMIT_PATH + 64], red[MM_LOG_PATH_MAX];
    int err, inside;

    if (st->merge) {
        if ((err = mm_os_mkdir_p(to, 0700)) < 0 || (err = make_dir(to, NULL)) < 0)
            return err;
        return run_pass(st, w, to);
    }
    inside = state == 1 && st->o->mode == MM_REPO_RESTORE_NEW &&
             !mm_repo__target_parent_writable(to);
    if ((err = mm_repo__target_temp(to, inside, tmp, sizeof(tmp))) < 0)
        return err;
    if ((err = run_pass(st, w, tmp)) == 0) {
        err = inside ? mm_repo__target_move_up(tmp, to)
                     : mm_repo__target_swap(tmp, to, st->o->mode == MM_REPO_RESTORE_OVERWRITE,
                                            st->s.aside, sizeof(st->s.aside));
        if (err == 0)
            return 0;
    }
    if (lstat(tmp, &(struct stat){ 0 }) == 0 && mm_repo__tree_remove(tmp) < 0)
        mm_log(MM_LOG_WARN, "the unfinished restore could not be removed: remove '%s' by hand",
               RED(red, tmp));
    return err;
}

int mm_repo_restore(mm_repo *r, const char *gen, const char *to,
                    const struct mm_repo_restore_opts *o, struct mm_repo_restore_stats *stats)
{
    struct mm_repo_restore_opts def = { 0 };
    struct mm_repo_gen g = { 0 };
    struct rstate st;
    struct mm_repo__work w = { 0 };
    const struct mm_repo__entry *stack[FILTER_DEPTH + 1];
    char target[MM_LIMIT_PATH], red[MM_LOG_PATH_MAX];
    int err, wok = 0, state = 0;

    if (!o)
        o = &def;
    memset(&st, 0, sizeof(st));
    mm_buf_init(&st.names, UINT32_MAX);
    if (stats)
        memset(stats, 0, sizeof(*stats));
    pthread_mutex_init(&st.mu, NULL);
    pthread_cond_init(&st.cv_get, NULL);
    pthread_cond_init(&st.cv_put, NULL);
    st.r = r;
    st.o = o;
    st.g = &g;
    st.root_user = geteuid() == 0;
    st.merge = o->mode == MM_REPO_RESTORE_MERGE;
    if ((err = mm_repo__target_clean(to, target, sizeof(target))) < 0 ||
        (err = state = mm_repo_restore_target(target)) < 0)
        goto out;
    if (state == 2 && o->mode == MM_REPO_RESTORE_NEW) {
        err = mm_error_set(MM_EEXISTS, "the target folder '%s' is not empty", RED(red, target));
        goto out;
    }
    if ((err = mm_repo_gen_find(r, gen, &g)) < 0 || (err = make_filters(&st)) < 0 ||
        (err = mm_repo__index_load(r)) < 0 || (err = mm_repo__work_init(&w)) < 0)
        goto out;
    wok = 1;
    if ((o->mode != MM_REPO_RESTORE_NEW || o->dry_run || o->change) &&
        (err = plan(&st, &w, g.root, target, state > 0, "", stack, 0, st.nfilters == 0)) < 0)
        goto out;
    if (o->dry_run)
        goto done;
    if (!(st.q = mm_malloc(QUEUE_MAX * sizeof(*st.q)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    if ((err = restore_into(&st, &w, target, state)) < 0)
        goto out;
done:
    if (stats)
        *stats = st.s;
out:
    while (st.nq > 0) {
        st.nq--;
        mm_free(st.q[st.nq].path);
        mm_free(st.q[st.nq].shown);
        mm_free(st.q[st.nq].ids);
    }
    mm_free(st.q);
    mm_buf_release(&st.names);
    mm_free(st.dirs);
    mm_free(st.filters);
    if (wok)
        mm_repo__work_release(&w);
    mm_repo_gen_release(&g);
    pthread_mutex_destroy(&st.mu);
    pthread_cond_destroy(&st.cv_get);
    pthread_cond_destroy(&st.cv_put);
    return err;
}

int mm_repo_read_file(mm_repo *r, const struct mm_repo_gen *gen, const char *path, size_t limit,
                      mm_buf *out)
{
    struct mm_repo__tree t = { 0 }, next = { 0 };
    const struct mm_repo__entry *e = NULL;
    struct mm_repo__work w;
    unsigned char id[ID_SIZE];
    const char *p = path;
    size_t start;
    int err = 0, have_w = 0;

    MM_ASSERT_ARG(r && gen && path && out);
    start = out->len;
    if (!*path || *path == '/' || strlen(path) > MM_LIMIT_PATH)
        return mm_error_set(MM_EINVAL, "not a path inside the generation");
    memcpy(id, gen->root, ID_SIZE);
    /* only the trees of the path and the file's blocks are looked up, not the whole object
     * index (seconds on a medium of millions of objects); the trees of the index files read
     * are kept, so the path's next folders are mostly known without reading again */
    if ((err = mm_repo__index_locate(r, id, 1, 1)) < 0)
        return err;
    if ((err = mm_repo__tree_get(r, NULL, id, &t)) < 0)
        goto out;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            err = mm_error_set(MM_EINVAL, "not a path inside the generation");
            goto out;
        }
        if (!(e = mm_repo__tree_find(&t, p, n))) {
            err = mm_error_set(MM_ENOTFOUND, "no such file in generation '%.12s'", gen->id);
            goto out;
        }
        if (!slash)
            break;
        if (e->kind != MM_REPO_KIND_DIR || e->nids != 1) {
            err = mm_error_set(MM_ENOTFOUND, "no such file in generation '%.12s'", gen->id);
            goto out;
        }
        memcpy(id, e->ids, ID_SIZE);
        if ((err = mm_repo__index_locate(r, id, 1, 1)) < 0 ||
            (err = mm_repo__tree_get(r, NULL, id, &next)) < 0)
            goto out;
        mm_repo__tree_release(&t);
        t = next; /* now owned by t */
        memset(&next, 0, sizeof(next));
        p = slash + 1;
    }
    if (e->kind != MM_REPO_KIND_FILE) {
        err = mm_error_set(MM_ENOTFOUND, "no such file in generation '%.12s'", gen->id);
        goto out;
    }
    if (e->size > limit) {
        err = mm_error_set(MM_ELIMIT, "file of %llu bytes is over the limit of %zu bytes",
                           (unsigned long long)e->size, limit);
        goto out;
    }
    if ((err = mm_repo__index_locate(r, e->ids, e->nids, 0)) < 0)
        goto out;
    if ((err = mm_repo__work_init(&w)) < 0)
        goto out;
    have_w = 1;
    for (uint32_t i = 0; i < e->nids; i++)
        if ((err = mm_repo__object_get(r, &w, e->ids + (size_t)i * ID_SIZE, out)) < 0)
            goto out;
    if (out->len - start != e->size)
        err = mm_error_set(MM_ECORRUPT, "file data does not add up to its size");
out:
    if (err < 0)
        mm_buf_truncate(out, start);
    if (have_w)
        mm_repo__work_release(&w);
    mm_repo__tree_release(&next);
    mm_repo__tree_release(&t);
    return err;
}
