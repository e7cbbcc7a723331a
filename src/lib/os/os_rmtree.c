/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Removing a folder tree (mm_os_rmtree): what a drill's or an export's scratch copy of a
 * generation needs at the end, hundreds of thousands of small files. Every entry is removed
 * relative to its folder's descriptor (unlinkat, no path walked again, no stat per file: the
 * entry's d_type decides, and a name unlinkat refuses as a folder is opened instead). Links
 * are removed, never followed; a restored read-only folder is opened up (0700) first. Not in
 * the Windows build (drills and exports are Linux-only).
 */
#ifndef _WIN32
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "os/os.h"

/* Deepest folder level removed (restored trees are a few levels; a loop would be a bug). */
#define RMTREE_DEPTH_MAX 512

static int rm_entry(int dfd, const char *name, unsigned char type, unsigned depth, int *first);

/* Remove everything inside the open folder @fd (taken over: closed here). @return 0, -1 */
static int rm_contents(int fd, unsigned depth, int *first)
{
    DIR *d;
    struct dirent *e;
    int rc = 0;

    (void)fchmod(fd, 0700); /* a restored read-only folder: its entries cannot go otherwise */
    if (!(d = fdopendir(fd))) {
        *first = *first ? *first : errno;
        close(fd);
        return -1;
    }
    while ((errno = 0, e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (rm_entry(dirfd(d), e->d_name, e->d_type, depth + 1, first) != 0)
            rc = -1;
    }
    if (errno != 0) {
        *first = *first ? *first : errno;
        rc = -1;
    }
    closedir(d);
    return rc;
}

/* Remove the entry @name of folder @dfd (a folder with all it holds). @return 0, -1 */
static int rm_entry(int dfd, const char *name, unsigned char type, unsigned depth, int *first)
{
    int fd;

    if (type != DT_DIR && type != DT_UNKNOWN) {
        if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
            return 0;
        if (errno != EISDIR) {
            *first = *first ? *first : errno;
            return -1;
        }
    }
    if (depth > RMTREE_DEPTH_MAX) {
        *first = *first ? *first : ELOOP;
        return -1;
    }
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES && fchmodat(dfd, name, 0700, 0) == 0)
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == ENOTDIR || errno == ELOOP) /* d_type unknown: a file or a link */
            return unlinkat(dfd, name, 0) == 0 || errno == ENOENT
                           ? 0
                           : (*first = *first ? *first : errno, -1);
        *first = *first ? *first : errno;
        return -1;
    }
    if (rm_contents(fd, depth, first) != 0)
        return -1;
    if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
        return 0;
    *first = *first ? *first : errno;
    return -1;
}

int mm_os_rmtree(const char *path)
{
    char red[MM_LOG_PATH_MAX];
    int first = 0;

    if (rm_entry(AT_FDCWD, path, DT_UNKNOWN, 0, &first) == 0)
        return 0;
    return mm_error_set_errno(MM_EIO, first ? first : EIO, "cannot remove all of '%s'",
                              mm_log_path(red, sizeof(red), path));
}
#endif
