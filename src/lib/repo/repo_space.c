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
    struct mm_os_space v;
    char keep[512];

    *avail = 0;
    if (!mm_repo__local(r))
        return 0; /* an object store: no file system to ask (the write's error stands) */
    snprintf(keep, sizeof(keep), "%s", mm_error_last());
    if (mm_os_space(mm_repo__local(r), &v) != 0) {
        /* only a question: the caller's message (a failed write) stays */
        mm_error_set(MM_EIO, "%s", keep);
        return 0;
    }
    if (v.readonly)
        return MM_REPO_LOCK_SKIPPED_READONLY;
    *avail = v.avail;
    if (*avail < FULL_BELOW || (v.files && v.favail == 0))
        return MM_REPO_LOCK_SKIPPED_FULL;
    return 0;
}

int mm_repo__reserve_release(mm_repo *r)
{
    char path[MM_LIMIT_PATH];

    if (!mm_repo__local(r) || mm_repo__path(r, RESERVE_NAME, path, sizeof(path)) < 0)
        return 0; /* the reserve is a local folder's (an object store does not fill up) */
    return unlink(path) == 0;
}

/* The size of the reserve on the file system of @v. */
static uint64_t reserve_size(const struct mm_os_space *v)
{
    uint64_t n = v->total / 64;

    n = n < RESERVE_MIN ? RESERVE_MIN : n > RESERVE_MAX ? RESERVE_MAX : n;
    return n;
}

void mm_repo__reserve_make(mm_repo *r)
{
    char path[MM_LIMIT_PATH], tmp[MM_LIMIT_PATH + 32];
    static const char zero[16384];
    struct mm_os_space v;
    struct stat s;
    uint64_t size, left;
    int fd, ok = 1;

    if (!mm_repo__local(r) || mm_repo__path(r, RESERVE_NAME, path, sizeof(path)) < 0 ||
        lstat(path, &s) == 0 || mm_os_space(mm_repo__local(r), &v) != 0 || v.readonly)
        return;
    size = reserve_size(&v);
    if (v.avail < 4 * size)
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
