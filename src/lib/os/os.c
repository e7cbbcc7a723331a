/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX file helpers. Every failure sets a message with the path redacted by
 * mm_log_path(), since paths in a storage embed patient IDs.
 */
#define _GNU_SOURCE
#include "os/os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"

int mm_os_mkdir_p(const char *path, mode_t mode)
{
    char tmp[MM_LIMIT_PATH];
    char red[MM_LOG_PATH_MAX];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(tmp))
        return mm_error_set(MM_ELIMIT, "path too long");
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char save = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return mm_error_set_errno(MM_EIO, errno, "cannot create folder '%s'",
                                      mm_log_path(red, sizeof(red), tmp));
        tmp[i] = save;
    }
    return 0;
}

int mm_os_read_file(const char *path, mm_buf *out)
{
    char red[MM_LOG_PATH_MAX];
    int fd, err = 0;
    struct stat st;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mm_error_set_errno(errno == ENOENT ? MM_ENOTFOUND : MM_EIO, errno,
                                  "cannot open '%s'", mm_log_path(red, sizeof(red), path));
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        if ((uint64_t)st.st_size > out->limit - out->len) {
            err = mm_error_set(MM_ELIMIT, "'%s' is larger than %zu bytes",
                               mm_log_path(red, sizeof(red), path), out->limit);
            goto out;
        }
        if ((err = mm_buf_grow(out, (size_t)st.st_size)) < 0)
            goto out;
    }
    for (;;) {
        size_t room = out->limit - out->len;
        ssize_t r;

        if (room == 0) {
            /* the file may end exactly at the limit: probe for one more byte */
            char probe;
            r = read(fd, &probe, 1);
            if (r != 0)
                err = mm_error_set(MM_ELIMIT, "'%s' is larger than %zu bytes",
                                   mm_log_path(red, sizeof(red), path), out->limit);
            goto out;
        }
        if ((err = mm_buf_grow(out, room < 4096 ? room : 4096)) < 0)
            goto out;
        if (out->cap - out->len - 1 < room)
            room = out->cap - out->len - 1;
        r = read(fd, out->ptr + out->len, room);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            err = mm_error_set_errno(MM_EIO, errno, "cannot read '%s'",
                                     mm_log_path(red, sizeof(red), path));
            goto out;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        out->ptr[out->len] = '\0';
    }
out:
    close(fd);
    return err;
}

int mm_os_fsync_dir(const char *dir)
{
    char red[MM_LOG_PATH_MAX];
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = 0;

    if (fd < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot open folder '%s'",
                                  mm_log_path(red, sizeof(red), dir));
    if (fsync(fd) != 0 && errno != EINVAL)
        err = mm_error_set_errno(MM_EIO, errno, "cannot sync folder '%s'",
                                 mm_log_path(red, sizeof(red), dir));
    close(fd);
    return err;
}

int mm_os_write_all(int fd, const void *data, size_t n, const char *path)
{
    char red[MM_LOG_PATH_MAX];
    const unsigned char *p = data;

    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return mm_error_set_errno(MM_EIO, errno, "cannot write '%s'",
                                      mm_log_path(red, sizeof(red), path));
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int mm_os_write_atomic(const char *path, const void *data, size_t n)
{
    char tmp[MM_LIMIT_PATH], dir[MM_LIMIT_PATH];
    char red[MM_LOG_PATH_MAX];
    const char *slash;
    int fd, err = 0;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return mm_error_set(MM_ELIMIT, "path too long");
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot create '%s'",
                                  mm_log_path(red, sizeof(red), tmp));
    if ((err = mm_os_write_all(fd, data, n, tmp)) < 0)
        goto fail;
    if (fsync(fd) != 0) {
        err = mm_error_set_errno(MM_EIO, errno, "cannot sync '%s'",
                                 mm_log_path(red, sizeof(red), tmp));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        err = mm_error_set_errno(MM_EIO, errno, "cannot close '%s'",
                                 mm_log_path(red, sizeof(red), tmp));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        err = mm_error_set_errno(MM_EIO, errno, "cannot rename onto '%s'",
                                 mm_log_path(red, sizeof(red), path));
        goto fail;
    }
    slash = strrchr(path, '/');
    if (!slash)
        return mm_os_fsync_dir(".");
    if ((size_t)(slash - path) >= sizeof(dir))
        return mm_error_set(MM_ELIMIT, "path too long");
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    return mm_os_fsync_dir(slash == path ? "/" : dir);
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return err;
}

char *mm_os_path_slashes(char *path)
{
#ifdef _WIN32
    size_t n = strlen(path), skip = 0;

    if (n >= 4 && memcmp(path, "\\\\.\\", 4) == 0)
        return path; /* a device */
    if (n >= 8 && memcmp(path, "\\\\?\\UNC\\", 8) == 0)
        skip = 6; /* "\\?\UNC\srv" -> "\\srv" */
    else if (n >= 4 && memcmp(path, "\\\\?\\", 4) == 0)
        skip = 4;
    if (skip) {
        memmove(path, path + skip, n - skip + 1);
        if (skip == 6)
            path[0] = '\\';
    }
    for (char *c = path; *c; c++)
        if (*c == '\\')
            *c = '/';
#endif
    return path;
}

#ifndef _WIN32 /* os/win/os_win_dir.c, os_win_misc.c */
long mm_os_dir_read(int fd, void *buf, size_t cap)
{
    ssize_t got;

    do
        got = getdents64(fd, buf, cap);
    while (got < 0 && errno == EINTR);
    return (long)got;
}

const char *mm_os_dir_next(const void *buf, size_t n, size_t *off)
{
    const char *b = buf;

    while (*off < n) {
        const struct dirent64 *d = (const void *)(b + *off);
        if (d->d_reclen == 0 || d->d_reclen > n - *off)
            return NULL; /* never from the kernel: stop rather than read past */
        *off += d->d_reclen;
        if (d->d_name[0] == '.' &&
            (d->d_name[1] == '\0' || (d->d_name[1] == '.' && d->d_name[2] == '\0')))
            continue;
        return d->d_name;
    }
    return NULL;
}

int mm_os_hostname(char *buf, size_t n)
{
    if (n == 0)
        return mm_error_set(MM_EINVAL, "no room for the host name");
    if (gethostname(buf, n - 1) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot tell the name of this computer");
    buf[n - 1] = '\0';
    return 0;
}

int mm_os_machine_id(char out[33])
{
    char buf[64] = "";
    FILE *f = fopen("/etc/machine-id", "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

    if (f)
        fclose(f);
    buf[n] = '\0';
    out[0] = '\0';
    if (n < 32 || strspn(buf, "0123456789abcdef") != 32 || (buf[32] && buf[32] != '\n'))
        return mm_error_set(MM_ENOTFOUND, "this machine has no machine ID");
    memcpy(out, buf, 32);
    out[32] = '\0';
    return 0;
}

int mm_os_localtime(time_t t, struct tm *out, long *gmtoff)
{
    if (!localtime_r(&t, out))
        return mm_error_set(MM_EINVAL, "time %lld cannot be shown as local time", (long long)t);
    *gmtoff = out->tm_gmtoff;
    return 0;
}
#endif
