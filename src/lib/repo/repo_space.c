/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A full or read-only medium. Readers need no writable medium (mm_repo_lock goes on without
 * a lock file when none can be written); prune keeps the optional file "reserve" at the
 * top of the repository (1/64 of the file system, 64 KiB to 4 MiB of zeros) that it removes
 * to make room for its lock and new index file on a medium filled to the last byte, and
 * that init, backup and prune write again when the medium has room to spare for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "repo/repo_int.h"

#define RESERVE_NAME "reserve"
#define RESERVE_MIN  (64u * 1024u)
#define RESERVE_MAX  (4u * 1024u * 1024u)
#define FULL_BELOW   (64u * 1024u) /* a failed small write with less free than this: full */

int mm_repo__medium_state(const mm_repo *r, uint64_t *avail)
{
    struct statvfs v;

    *avail = 0;
    if (statvfs(r->path, &v) != 0)
        return 0;
    if (v.f_flag & ST_RDONLY)
        return MM_REPO_LOCK_SKIPPED_READONLY;
    *avail = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
    if (*avail < FULL_BELOW || (v.f_files && v.f_favail == 0))
        return MM_REPO_LOCK_SKIPPED_FULL;
    return 0;
}

int mm_repo__reserve_release(mm_repo *r)
{
    char path[MM_LIMIT_PATH];

    if (mm_repo__path(r, RESERVE_NAME, path, sizeof(path)) < 0)
        return 0;
    return unlink(path) == 0;
}

/* The size of the reserve on the file system of @v. */
static uint64_t reserve_size(const struct statvfs *v)
{
    uint64_t n = (uint64_t)v->f_blocks * v->f_frsize / 64;

    n = n < RESERVE_MIN ? RESERVE_MIN : n > RESERVE_MAX ? RESERVE_MAX : n;
    return n;
}

void mm_repo__reserve_make(mm_repo *r)
{
    char path[MM_LIMIT_PATH], tmp[MM_LIMIT_PATH + 32];
    static const char zero[16384];
    struct statvfs v;
    struct stat s;
    uint64_t size, left;
    int fd, ok = 1;

    if (mm_repo__path(r, RESERVE_NAME, path, sizeof(path)) < 0 || lstat(path, &s) == 0 ||
        statvfs(r->path, &v) != 0 || (v.f_flag & ST_RDONLY))
        return;
    size = reserve_size(&v);
    if ((uint64_t)v.f_bavail * v.f_frsize < 4 * size)
        return; /* no room to spare: the next run with room writes it */
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        return;
    for (left = size; left && ok; left -= left < sizeof(zero) ? left : sizeof(zero))
        ok = mm_os_write_all(fd, zero, left < sizeof(zero) ? left : sizeof(zero), tmp) == 0;
    ok = ok && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
    mm_error_clear();
}
