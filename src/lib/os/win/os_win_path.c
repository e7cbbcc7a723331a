/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The step every file shim of the Windows build takes first: a UTF-8 path (relative to the
 * current folder or to a folder descriptor) becomes a `\\?\` UTF-16 path (os/winpath.h),
 * after the check of names Windows forbids. Also the table of folder descriptors with the
 * path each was opened at, errno from Windows errors, and file times.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "os/win/os_win_int.h"
#include "os/winpath.h"

/* The reason the last path of this thread was refused, for strerror(EINVAL) (misc). */
static _Thread_local const char *forbidden_why;

const char *mm_win__forbidden_why(void)
{
    return forbidden_why;
}

int mm_win__errno(DWORD e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME:
    case ERROR_NO_MORE_FILES:
        errno = ENOENT;
        break;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
        errno = EEXIST;
        break;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_PRIVILEGE_NOT_HELD:
    case ERROR_NETWORK_ACCESS_DENIED:
        errno = EACCES;
        break;
    case ERROR_WRITE_PROTECT:
        errno = EROFS;
        break;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        errno = ENOSPC;
        break;
    case ERROR_FILENAME_EXCED_RANGE:
    case ERROR_BUFFER_OVERFLOW:
        errno = ENAMETOOLONG;
        break;
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
    case ERROR_INVALID_PARAMETER:
        errno = EINVAL;
        break;
    case ERROR_DIRECTORY:
        errno = ENOTDIR;
        break;
    case ERROR_DIR_NOT_EMPTY:
        errno = ENOTEMPTY;
        break;
    case ERROR_NOT_SAME_DEVICE:
        errno = EXDEV;
        break;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        errno = ENOMEM;
        break;
    case ERROR_INVALID_HANDLE:
        errno = EBADF;
        break;
    case ERROR_TOO_MANY_OPEN_FILES:
        errno = EMFILE;
        break;
    case ERROR_NOT_SUPPORTED:
    case ERROR_INVALID_FUNCTION:
        errno = ENOTSUP;
        break;
    case ERROR_CANT_RESOLVE_FILENAME:
        errno = ELOOP;
        break;
    case ERROR_BUSY:
    case ERROR_USER_MAPPED_FILE:
        errno = EBUSY;
        break;
    default:
        errno = EIO;
        break;
    }
    return -1;
}

int mm_win__last_errno(void)
{
    return mm_win__errno(GetLastError());
}

/* ---- folder descriptors and their paths ---------------------------------------------------- */

static SRWLOCK dirs_lock = SRWLOCK_INIT;
static struct dir_fd {
    int fd;
    wchar_t *path;
    void *stream; /* mm_os_dir_read()'s listing */
} * dirs;
static size_t ndirs, capdirs;

int mm_win__dirfd_add(int fd, const wchar_t *w)
{
    size_t n = wcslen(w) + 1;
    wchar_t *copy = mm_malloc(n * sizeof(*copy));
    int rc = 0;

    if (!copy) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(copy, w, n * sizeof(*copy));
    AcquireSRWLockExclusive(&dirs_lock);
    for (size_t i = 0; i < ndirs; i++)
        if (dirs[i].fd == fd) {
            /* a descriptor closed behind our back (fclose of an fdopen): its number is new */
            wchar_t *old = dirs[i].path;
            void *stream = dirs[i].stream;
            dirs[i].path = copy;
            dirs[i].stream = NULL;
            ReleaseSRWLockExclusive(&dirs_lock);
            mm_free(old);
            mm_win__dir_stream_free(stream);
            return 0;
        }
    if (ndirs == capdirs) {
        size_t cap = capdirs ? capdirs * 2 : 16;
        struct dir_fd *grown = mm_realloc(dirs, cap * sizeof(*grown));
        if (!grown) {
            rc = -1;
            goto out;
        }
        dirs = grown;
        capdirs = cap;
    }
    dirs[ndirs].fd = fd;
    dirs[ndirs].path = copy;
    dirs[ndirs].stream = NULL;
    ndirs++;
    copy = NULL;
out:
    ReleaseSRWLockExclusive(&dirs_lock);
    if (rc != 0) {
        mm_free(copy);
        errno = ENOMEM;
    }
    return rc;
}

wchar_t *mm_win__dirfd_path(int fd)
{
    wchar_t *copy = NULL;
    int found = 0;

    AcquireSRWLockShared(&dirs_lock);
    for (size_t i = 0; i < ndirs; i++)
        if (dirs[i].fd == fd) {
            size_t n = wcslen(dirs[i].path) + 1;
            found = 1;
            if ((copy = mm_malloc(n * sizeof(*copy))))
                memcpy(copy, dirs[i].path, n * sizeof(*copy));
            break;
        }
    ReleaseSRWLockShared(&dirs_lock);
    if (!copy)
        errno = found ? ENOMEM : EBADF;
    return copy;
}

void *mm_win__dirfd_stream(int fd)
{
    void *s = NULL;

    AcquireSRWLockShared(&dirs_lock);
    for (size_t i = 0; i < ndirs; i++)
        if (dirs[i].fd == fd)
            s = dirs[i].stream;
    ReleaseSRWLockShared(&dirs_lock);
    return s;
}

void mm_win__dirfd_set_stream(int fd, void *stream)
{
    AcquireSRWLockExclusive(&dirs_lock);
    for (size_t i = 0; i < ndirs; i++)
        if (dirs[i].fd == fd)
            dirs[i].stream = stream;
    ReleaseSRWLockExclusive(&dirs_lock);
}

void mm_win__dirfd_forget(int fd)
{
    void *stream = NULL;

    AcquireSRWLockExclusive(&dirs_lock);
    for (size_t i = 0; i < ndirs; i++)
        if (dirs[i].fd == fd) {
            mm_free(dirs[i].path);
            stream = dirs[i].stream;
            dirs[i] = dirs[--ndirs];
            break;
        }
    ReleaseSRWLockExclusive(&dirs_lock);
    mm_win__dir_stream_free(stream); /* outside the lock: it closes nothing of the table */
}

/* ---- paths --------------------------------------------------------------------------------- */

/* Whether the UTF-8 @path does not depend on the current folder. */
static int absolute(const char *p)
{
    /* "\\srv\share" and "C:\x" stand alone; "\x" (rooted, no drive) takes the current
     * folder's drive, so mm_winpath_wide is given the current folder for it */
    return ((p[0] == '/' || p[0] == '\\') && (p[1] == '/' || p[1] == '\\')) ||
           (((p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z') && p[1] == ':' &&
            (p[2] == '/' || p[2] == '\\'));
}

/* The current folder (UTF-16, absolute), mm_malloc()ed. @return NULL with errno set */
static wchar_t *current_folder(void)
{
    DWORD n = GetCurrentDirectoryW(0, NULL), got;
    wchar_t *w;

    if (n == 0) {
        mm_win__last_errno();
        return NULL;
    }
    if (!(w = mm_malloc((size_t)n * sizeof(*w)))) {
        errno = ENOMEM;
        return NULL;
    }
    got = GetCurrentDirectoryW(n, w);
    if (got == 0 || got >= n) {
        mm_free(w);
        errno = got ? ERANGE : EIO;
        return NULL;
    }
    return w;
}

int mm_win__wpath(int dirfd, const char *path, wchar_t **out)
{
    wchar_t *cwd = NULL;
    uint16_t *w = NULL;
    const char *why;
    int err;

    if (!path) {
        errno = EFAULT;
        return -1;
    }
    if (path[0] == '\0') {
        errno = ENOENT;
        return -1;
    }
    forbidden_why = NULL;
    if ((why = mm_winpath_forbidden_in(path, NULL))) {
        forbidden_why = why;
        errno = EINVAL;
        return -1;
    }
    if (!absolute(path)) {
        cwd = dirfd == AT_FDCWD ? current_folder() : mm_win__dirfd_path(dirfd);
        if (!cwd)
            return -1;
    }
    err = mm_winpath_wide(path, (const uint16_t *)cwd, &w);
    mm_free(cwd);
    if (err < 0) {
        errno = err == MM_ELIMIT ? ENAMETOOLONG : err == MM_ENOMEM ? ENOMEM : EINVAL;
        return -1;
    }
    *out = (wchar_t *)w;
    return 0;
}

int mm_win__volume_info(const wchar_t *w, DWORD *flags, wchar_t *fs, DWORD fscap)
{
    HANDLE h = CreateFileW(w, FILE_READ_ATTRIBUTES,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    BOOL ok;

    if (h == INVALID_HANDLE_VALUE)
        return mm_win__last_errno();
    /* by handle: no volume label or serial asked for, nothing read from the device */
    ok = GetVolumeInformationByHandleW(h, NULL, 0, NULL, NULL, flags, fs, fs ? fscap : 0);
    if (!ok)
        mm_win__last_errno();
    CloseHandle(h);
    return ok ? 0 : -1;
}

int mm_win__volume_readonly(const wchar_t *w)
{
    DWORD flags = 0;

    return mm_win__volume_info(w, &flags, NULL, 0) == 0 && (flags & FILE_READ_ONLY_VOLUME);
}

/* ---- time ---------------------------------------------------------------------------------- */

#define EPOCH_DIFF 116444736000000000ull /* 1601-01-01 to 1970-01-01 in 100 ns */

struct timespec mm_win__timespec(FILETIME ft)
{
    uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    struct timespec ts;
    int64_t d = (int64_t)(t - EPOCH_DIFF);

    ts.tv_sec = (time_t)(d / 10000000);
    ts.tv_nsec = (long)(d % 10000000) * 100;
    if (ts.tv_nsec < 0) {
        ts.tv_sec--;
        ts.tv_nsec += 1000000000;
    }
    return ts;
}

FILETIME mm_win__filetime(const struct timespec *ts)
{
    uint64_t t = (uint64_t)((int64_t)ts->tv_sec * 10000000 + ts->tv_nsec / 100) + EPOCH_DIFF;
    FILETIME ft;

    ft.dwLowDateTime = (DWORD)t;
    ft.dwHighDateTime = (DWORD)(t >> 32);
    return ft;
}
