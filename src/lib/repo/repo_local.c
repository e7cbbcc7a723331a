/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local folder backend (repo_backend.h): a repository on a USB medium or the host's
 * shadow. Writes are crash-safe (temporary name, fsync, rename, folder fsync); a new file
 * whose folder fsync failed is removed again, because the caller takes it as not written
 * (issue 17.12). ONCE keeps an existing regular file of the same size (names are content
 * hashes); REPLACE replaces the file atomically. Nothing is queued: flush has nothing to
 * wait for.
 * read_at keeps the descriptors of the packs it read open (issue 22: a restore read each
 * object by open, pread, close, 540,000 opens for 226,000 files): a small cache of
 * LOCAL_FDS slots keyed by the name, clock eviction, a reference count per slot so that a
 * descriptor another thread is reading from is never closed under it; the mutex is held for
 * the lookup only, never during pread. Only packs ("data/...": named by their content) are
 * cached; a write or remove of a cached name drops its descriptor, and so does a read that
 * finds (fstat: no links left) its file removed or replaced from outside; release (called by
 * mm_repo_unlock) and close close every one: nothing stays open on a medium that is about to
 * be detached. The Windows build compiles this file too (its POSIX compat layer), without the
 * cache: an open handle there blocks deleting or renaming the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifndef _WIN32
#include <pthread.h>
#define LOCAL_FDS     48
#define LOCAL_FD_NAME 96 /* "data/ab/<64 hex>.2" fits */
#endif

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "repo/repo_backend.h"
#include "repo/repo_int.h"

#ifndef _WIN32
/* One cached descriptor. A slot is free when fd < 0; a dead slot (name dropped while in use)
 * is closed by its last user. */
struct local_fd {
    char rel[LOCAL_FD_NAME]; /* "" when dead or free */
    int fd;
    unsigned refs;        /* read_at calls using fd now */
    unsigned char recent; /* clock bit */
};
#endif

struct local_be {
    struct mm_repo_be base;
    char *path;
#ifndef _WIN32
    pthread_mutex_t mu;
    struct local_fd fds[LOCAL_FDS];
    size_t hand;         /* the clock's hand */
    unsigned long drops; /* counts write/remove/release: an open racing one is not cached */
#endif
};

static const struct mm_repo_be_ops local_ops;
#ifndef _WIN32
static void fd_forget(struct local_be *l, const char *rel);
#endif

/* "<folder>/<rel>" in @out. @return 0, MM_ELIMIT */
static int local_path(const struct mm_repo_be *b, const char *rel, char *out, size_t cap)
{
    const struct local_be *l = (const struct local_be *)b;
    int n = snprintf(out, cap, "%s/%s", l->path, rel);

    if (n < 0 || (size_t)n >= cap)
        return mm_error_set(MM_ELIMIT, "repository path too long");
    return 0;
}

/* The folder part of @path in @out. */
static void dirname_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;

    if (n >= cap)
        n = cap - 1;
    memcpy(out, path, n);
    out[n] = '\0';
    if (n == 0 && cap > 1) {
        out[0] = '.';
        out[1] = '\0';
    }
}

static int local_write(struct mm_repo_be *b, const char *rel, const void *p, size_t n, int kind)
{
    char path[MM_LIMIT_PATH], dir[MM_LIMIT_PATH];
    struct stat st;
    int err, existed;

    if ((err = local_path(b, rel, path, sizeof(path))) < 0)
        return err;
    existed = lstat(path, &st) == 0;
    if (kind == MM_REPO_BE_ONCE && existed && S_ISREG(st.st_mode) && (size_t)st.st_size == n)
        return 0; /* content-named: the same bytes are there already */
    dirname_of(path, dir, sizeof(dir));
    if (access(dir, F_OK) != 0 && (err = mm_os_mkdir_p(dir, 0700)) < 0)
        return err;
    err = mm_os_write_atomic(path, p ? p : "", n);
#ifndef _WIN32
    fd_forget((struct local_be *)b, rel); /* a cached descriptor would read the old file */
#endif
    if (err < 0 && !existed && lstat(path, &st) == 0)
        /* renamed into place, then the folder's fsync failed: the caller takes the file as not
         * written (a failed backup removes its packs, and an index file or manifest left here
         * would name them), so it must not stay (issue 17.12; test_faults) */
        unlink(path);
    return err;
}

static int local_read(struct mm_repo_be *b, const char *rel, mm_buf *out)
{
    char path[MM_LIMIT_PATH];
    int err;

    if ((err = local_path(b, rel, path, sizeof(path))) < 0)
        return err;
    return mm_os_read_file(path, out);
}

/* Open @rel for reading (a link is not followed). @return the descriptor, or MM_ENOTFOUND,
 * MM_EIO, MM_ELIMIT */
static int open_rel(struct mm_repo_be *b, const char *rel)
{
    char path[MM_LIMIT_PATH];
    int fd, err;

    if ((err = local_path(b, rel, path, sizeof(path))) < 0)
        return err;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return mm_error_set_errno(errno == ENOENT ? MM_ENOTFOUND : MM_EIO, errno,
                                  "cannot open '%s'", rel);
    return fd;
}

#ifndef _WIN32
/* The slot holding @rel (mutex held), or NULL. */
static struct local_fd *fd_find(struct local_be *l, const char *rel)
{
    for (size_t i = 0; i < LOCAL_FDS; i++)
        if (l->fds[i].fd >= 0 && l->fds[i].rel[0] && strcmp(l->fds[i].rel, rel) == 0)
            return &l->fds[i];
    return NULL;
}

/* Close the descriptor of slot @s now, or mark it for its last user (mutex held). */
static void fd_drop(struct local_fd *s)
{
    s->rel[0] = '\0';
    if (s->refs == 0 && s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

/* A slot for a new descriptor (mutex held): a free one, else the clock's victim among the
 * unused ones (closed). NULL when every slot is in use. */
static struct local_fd *fd_victim(struct local_be *l)
{
    for (size_t i = 0; i < LOCAL_FDS; i++)
        if (l->fds[i].fd < 0)
            return &l->fds[i];
    for (size_t k = 0; k < 2 * LOCAL_FDS; k++) {
        struct local_fd *s = &l->fds[l->hand];
        l->hand = (l->hand + 1) % LOCAL_FDS;
        if (s->refs)
            continue;
        if (s->recent) {
            s->recent = 0;
            continue;
        }
        fd_drop(s);
        return s;
    }
    return NULL;
}

/* Drop the cached descriptor of @rel, if any (a write or remove of that name). */
static void fd_forget(struct local_be *l, const char *rel)
{
    struct local_fd *s;

    pthread_mutex_lock(&l->mu);
    l->drops++;
    if ((s = fd_find(l, rel)))
        fd_drop(s);
    pthread_mutex_unlock(&l->mu);
}

/* A descriptor of @rel in @fd and its slot in @slot (NULL: not cached, the caller closes it).
 * @return 0, MM_ENOTFOUND, MM_EIO, MM_ELIMIT */
static int fd_get(struct local_be *l, const char *rel, int *fd, struct local_fd **slot)
{
    struct local_fd *s;
    unsigned long drops;
    int f;

    *slot = NULL;
    if (strncmp(rel, "data/", 5) != 0 || strlen(rel) >= LOCAL_FD_NAME) {
        f = open_rel(&l->base, rel); /* not a pack: opened per call, as always */
        *fd = f;
        return f < 0 ? f : 0;
    }
    pthread_mutex_lock(&l->mu);
    if ((s = fd_find(l, rel))) {
        s->refs++;
        s->recent = 1;
        *fd = s->fd;
        *slot = s;
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    drops = l->drops;
    pthread_mutex_unlock(&l->mu);
    if ((f = open_rel(&l->base, rel)) < 0)
        return f;
    pthread_mutex_lock(&l->mu);
    if ((s = fd_find(l, rel))) { /* another thread opened it meanwhile: use theirs */
        close(f);
        f = s->fd;
    } else if (l->drops == drops && (s = fd_victim(l))) {
        snprintf(s->rel, sizeof(s->rel), "%s", rel);
        s->fd = f;
    }
    if (s) {
        s->refs++;
        s->recent = 1;
    }
    pthread_mutex_unlock(&l->mu);
    *fd = f;
    *slot = s;
    return 0;
}

/* Done with the descriptor of slot @s (NULL: close @fd). */
static void fd_put(struct local_be *l, struct local_fd *s, int fd)
{
    if (!s) {
        close(fd);
        return;
    }
    pthread_mutex_lock(&l->mu);
    if (--s->refs == 0 && !s->rel[0] && s->fd >= 0) { /* dropped while we read */
        close(s->fd);
        s->fd = -1;
    }
    pthread_mutex_unlock(&l->mu);
}
#endif

static int local_read_at(struct mm_repo_be *b, const char *rel, uint64_t off, void *dst, size_t n)
{
#ifndef _WIN32
    struct local_be *l = (struct local_be *)b;
    struct local_fd *s;
    struct stat st;
    int fd, err;

    if ((err = fd_get(l, rel, &fd, &s)) < 0)
        return err;
    if (s && fstat(fd, &st) == 0 && st.st_nlink == 0) {
        /* removed or replaced behind this backend (another process, a test): its name is
         * read as it is now, as without the cache */
        pthread_mutex_lock(&l->mu);
        s->rel[0] = '\0'; /* fd_put closes it */
        pthread_mutex_unlock(&l->mu);
        fd_put(l, s, fd);
        if ((err = fd_get(l, rel, &fd, &s)) < 0)
            return err;
    }
    err = mm_repo__pread(fd, dst, n, off, rel);
    fd_put(l, s, fd);
    return err;
#else
    int fd = open_rel(b, rel), err;

    if (fd < 0)
        return fd;
    err = mm_repo__pread(fd, dst, n, off, rel);
    close(fd);
    return err;
#endif
}

/* Close every cached descriptor (one in use: when its reader is done). */
static void local_release(struct mm_repo_be *b)
{
#ifndef _WIN32
    struct local_be *l = (struct local_be *)b;

    pthread_mutex_lock(&l->mu);
    l->drops++;
    for (size_t i = 0; i < LOCAL_FDS; i++)
        fd_drop(&l->fds[i]);
    pthread_mutex_unlock(&l->mu);
#else
    (void)b;
#endif
}

static int local_stat(struct mm_repo_be *b, const char *rel, uint64_t *size)
{
    char path[MM_LIMIT_PATH];
    struct stat st;
    int err;

    if ((err = local_path(b, rel, path, sizeof(path))) < 0)
        return err;
    if (lstat(path, &st) != 0) /* as read_at: a link is not followed */
        return mm_error_set_errno(errno == ENOENT || errno == ENOTDIR ? MM_ENOTFOUND : MM_EIO,
                                  errno, "cannot read '%s'", rel);
    if (!S_ISREG(st.st_mode))
        return mm_error_set(MM_ENOTFOUND, "'%s' is not a file", rel);
    *size = (uint64_t)st.st_size;
    return 0;
}

static int local_list(struct mm_repo_be *b, const char *dir, struct mm_repo__names *l,
                      const char *prefix)
{
    char path[MM_LIMIT_PATH];
    int err;

    if ((err = local_path(b, dir, path, sizeof(path))) < 0)
        return err;
    return mm_repo__names_scan(l, path, dir, prefix, mm_repo_be_listed_name);
}

static int local_remove(struct mm_repo_be *b, const char *rel)
{
    char path[MM_LIMIT_PATH], dir[MM_LIMIT_PATH];
    int err;

    if ((err = local_path(b, rel, path, sizeof(path))) < 0)
        return err;
#ifndef _WIN32
    fd_forget((struct local_be *)b, rel);
#endif
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            return 0;
        return mm_error_set_errno(MM_EIO, errno, "cannot remove '%s'", rel);
    }
    dirname_of(path, dir, sizeof(dir));
    return mm_os_fsync_dir(dir);
}

static int local_flush(struct mm_repo_be *b)
{
    (void)b;
    return 0; /* every write was durable when it returned */
}

static void local_close(struct mm_repo_be *b)
{
    struct local_be *l = (struct local_be *)b;

    if (!l)
        return;
    local_release(b);
#ifndef _WIN32
    pthread_mutex_destroy(&l->mu);
#endif
    mm_free(l->path);
    mm_free(l);
}

static const struct mm_repo_be_ops local_ops = {
    .read = local_read,
    .read_at = local_read_at,
    .stat = local_stat,
    .write = local_write,
    .list = local_list,
    .remove = local_remove,
    .flush = local_flush,
    .release = local_release,
    .close = local_close,
};

int mm_repo_be_local_open(struct mm_repo_be **out, const char *path)
{
    struct local_be *l;

    if (!(l = mm_calloc(1, sizeof(*l))) || !(l->path = mm_strdup(path))) {
        mm_free(l);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
#ifndef _WIN32
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        mm_free(l->path);
        mm_free(l);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < LOCAL_FDS; i++)
        l->fds[i].fd = -1;
#endif
    l->base.ops = &local_ops;
    l->base.where = l->path;
    l->base.info.scheme = "file";
    l->base.info.local = 1;
    *out = &l->base;
    return 0;
}

const char *mm_repo_be_local_path(const struct mm_repo_be *b)
{
    if (!b || b->ops != &local_ops)
        return NULL;
    return ((const struct local_be *)b)->path;
}
