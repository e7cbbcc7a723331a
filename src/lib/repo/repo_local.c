/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local folder backend (repo_backend.h): a repository on a USB medium or the host's
 * shadow. Writes are crash-safe (temporary name, fsync, rename, folder fsync); a new file
 * whose folder fsync failed is removed again, because the caller takes it as not written
 * (issue 17.12). ONCE keeps an existing regular file of the same size (names are content
 * hashes); REPLACE replaces the file atomically. Nothing is queued: flush has nothing to
 * wait for. read_at opens, preads and closes: it caches no descriptor.
 * The Windows build compiles this file too (its POSIX compat layer).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "repo/repo_backend.h"
#include "repo/repo_int.h"

struct local_be {
    struct mm_repo_be base;
    char *path;
};

static const struct mm_repo_be_ops local_ops;

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

static int local_read_at(struct mm_repo_be *b, const char *rel, uint64_t off, void *dst, size_t n)
{
    char path[MM_LIMIT_PATH];
    int fd, err;

    if ((err = local_path(b, rel, path, sizeof(path))) < 0)
        return err;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return mm_error_set_errno(errno == ENOENT ? MM_ENOTFOUND : MM_EIO, errno,
                                  "cannot open '%s'", rel);
    err = mm_repo__pread(fd, dst, n, off, rel);
    close(fd);
    return err;
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
    .close = local_close,
};

int mm_repo_be_local_open(struct mm_repo_be **out, const char *path)
{
    struct local_be *l;

    if (!(l = mm_calloc(1, sizeof(*l))) || !(l->path = mm_strdup(path))) {
        mm_free(l);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
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
