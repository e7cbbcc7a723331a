/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The target folder of a restore: its state (missing, empty, holding something), the
 * temporary sibling "<to>.mamori-restore-<pid>" a new or overwriting restore is written into
 * (same parent, so the same file system and an atomic rename), its removal when the restore
 * fails, and the swap that puts a whole restore in place: over a missing or empty target,
 * or, for --overwrite, after moving the old folder aside to "<to>.before-restore-<time>"
 * (never deleted: its files are the hospital's, not ours).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "os/os.h"
#include "repo/repo_int.h"

#define RED(buf, path) mm_log_path(buf, sizeof(buf), path)

int mm_repo_restore_target(const char *to)
{
    char red[MM_LOG_PATH_MAX], buf[1024];
    struct stat s;
    long n;
    int fd, state = 1;

    if (lstat(to, &s) != 0) {
        if (errno == ENOENT)
            return 0;
        return mm_error_set_errno(MM_EIO, errno, "cannot look at '%s'", RED(red, to));
    }
    if (!S_ISDIR(s.st_mode))
        return mm_error_set(MM_EEXISTS, "'%s' exists and is not a folder", RED(red, to));
    if ((fd = open(to, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot open '%s'", RED(red, to));
    while (state == 1 && (n = mm_os_dir_read(fd, buf, sizeof(buf))) > 0) {
        size_t off = 0;
        const char *name;
        while ((name = mm_os_dir_next(buf, (size_t)n, &off)))
            if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
                state = 2;
    }
    close(fd);
    return state;
}

/* @to without trailing slashes, into @out. @return 0, MM_EINVAL (no folder name), MM_ELIMIT */
int mm_repo__target_clean(const char *to, char *out, size_t cap)
{
    size_t len = strlen(to);
    const char *base;

    while (len > 1 && to[len - 1] == '/')
        len--;
    if (len + 64 > cap || len + 64 > MM_LIMIT_PATH)
        return mm_error_set(MM_ELIMIT, "the target folder's path is too long");
    memcpy(out, to, len);
    out[len] = '\0';
    base = strrchr(out, '/');
    base = base ? base + 1 : out;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return mm_error_set(MM_EINVAL, "give the target folder by its name (not '.', '..' or '/')");
    return 0;
}

int mm_repo__target_temp(const char *to, int inside, char *out, size_t cap)
{
    char red[MM_LOG_PATH_MAX], parent[MM_LIMIT_PATH];
    const char *slash = strrchr(to, '/');
    int err;

    if (inside) {
        snprintf(out, cap, "%s/.mamori-restore-%ld", to, (long)getpid());
    } else {
        if (slash && slash != to) {
            snprintf(parent, sizeof(parent), "%.*s", (int)(slash - to), to);
            if ((err = mm_os_mkdir_p(parent, 0700)) < 0)
                return err;
        }
        snprintf(out, cap, "%s.mamori-restore-%ld", to, (long)getpid());
    }
    if (mkdir(out, 0700) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot create the folder '%s'", RED(red, out));
    return 0;
}

int mm_repo__target_parent_writable(const char *to)
{
    char parent[MM_LIMIT_PATH];
    const char *slash = strrchr(to, '/');

    if (!slash)
        snprintf(parent, sizeof(parent), ".");
    else
        snprintf(parent, sizeof(parent), "%.*s", slash == to ? 1 : (int)(slash - to), to);
    return access(parent, W_OK | X_OK) == 0 || errno == ENOENT;
}

int mm_repo__target_move_up(const char *tmp, const char *to)
{
    char red[MM_LOG_PATH_MAX], buf[4096], from[MM_LIMIT_PATH], dst[MM_LIMIT_PATH];
    long n;
    int fd, err = 0;

    if ((fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot open '%s'", RED(red, tmp));
    while (err == 0 && (n = mm_os_dir_read(fd, buf, sizeof(buf))) > 0) {
        size_t off = 0;
        const char *name;
        while (err == 0 && (name = mm_os_dir_next(buf, (size_t)n, &off))) {
            if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                continue;
            snprintf(from, sizeof(from), "%s/%s", tmp, name);
            snprintf(dst, sizeof(dst), "%s/%s", to, name);
            if (rename(from, dst) != 0)
                err = mm_error_set_errno(MM_EIO, errno, "cannot move '%s' into place",
                                         RED(red, from));
        }
    }
    close(fd);
    if (err == 0 && rmdir(tmp) != 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot remove '%s'", RED(red, tmp));
    if (err == 0)
        mm_os_fsync_dir(to);
    return err;
}

/* Remove everything inside the open folder @fd (closed here), never following a link;
 * @depth bounds the recursion. @return 0, -1 (errno set) */
static int remove_inside(int fd, int depth)
{
    DIR *d = fdopendir(fd);
    struct dirent *de;
    int rc = 0;

    if (!d) {
        close(fd);
        return -1;
    }
    while (rc == 0 && (de = readdir(d))) {
        struct stat s;
        int sub;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &s, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = errno == ENOENT ? 0 : -1;
            continue;
        }
        if (!S_ISDIR(s.st_mode)) {
            rc = unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT ? -1 : 0;
            continue;
        }
        if (depth > 600) {
            errno = ELOOP;
            rc = -1;
            break;
        }
        if ((s.st_mode & 0700) != 0700) /* a restored folder may be read-only */
            fchmodat(dirfd(d), de->d_name, (s.st_mode & 07777) | 0700, 0);
        sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 || remove_inside(sub, depth + 1) != 0 ||
            unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int mm_repo__tree_remove(const char *path)
{
    char red[MM_LOG_PATH_MAX];
    int fd;

    chmod(path, 0700);
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || remove_inside(fd, 0) != 0 || rmdir(path) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot remove '%s'", RED(red, path));
    return 0;
}

/* A free name "<to>.before-restore-<YYYYmmdd-HHMMSS>[-<n>]" into @out. */
static int aside_name(const char *to, char *out, size_t cap)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    struct stat s;

    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    for (int i = 1; i < 100; i++) {
        if (i == 1)
            snprintf(out, cap, "%s.before-restore-%s", to, stamp);
        else
            snprintf(out, cap, "%s.before-restore-%s-%d", to, stamp, i);
        if (lstat(out, &s) != 0 && errno == ENOENT)
            return 0;
    }
    return mm_error_set(MM_EEXISTS, "no free name to keep the old target folder under");
}

/* Sync the folder holding @path (the renames in it). */
static void sync_parent(const char *path)
{
    char parent[MM_LIMIT_PATH];
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(parent, sizeof(parent), ".");
    else
        snprintf(parent, sizeof(parent), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    mm_os_fsync_dir(parent);
}

int mm_repo__target_swap(const char *tmp, const char *to, int keep_aside, char *aside, size_t cap)
{
    char red[MM_LOG_PATH_MAX], red2[MM_LOG_PATH_MAX];
    struct stat s, old;
    int err, moved = 0;

    if (aside && cap)
        aside[0] = '\0';
    if (lstat(to, &old) == 0 && S_ISDIR(old.st_mode) && mm_repo_restore_target(to) == 1)
        chmod(tmp, old.st_mode & 07777); /* an empty target keeps its own mode */
    if (keep_aside && mm_repo_restore_target(to) == 2) {
        if ((err = aside_name(to, aside, cap)) < 0)
            return err;
        if (rename(to, aside) != 0)
            return mm_error_set_errno(MM_EIO, errno, "cannot move '%s' aside to '%s'", RED(red, to),
                                      RED(red2, aside));
        moved = 1;
    }
    if (rename(tmp, to) != 0) {
        err = mm_error_set_errno(MM_EIO, errno, "cannot put the restored folder '%s' in place",
                                 RED(red2, to));
        if (moved && lstat(to, &s) != 0 && rename(aside, to) == 0)
            aside[0] = '\0';
        return err;
    }
    sync_parent(to);
    return 0;
}
