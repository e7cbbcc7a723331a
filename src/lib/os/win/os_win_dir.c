/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Folder listings of the Windows build: opendir/readdir (mm_win_posix.h) and the os module's
 * mm_os_dir_read/mm_os_dir_next, both over FindFirstFileExW on the `\\?\` path the folder
 * was opened at, names turned into UTF-8. A name that is not valid UTF-16 (a lone surrogate,
 * possible on NTFS) cannot be named in UTF-8 and is skipped. mm_os_dir_read() keeps its
 * listing per folder descriptor in the descriptor table, until close().
 */
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <string.h>

#include "common/alloc.h"
#include "os/os.h"
#include "os/win/os_win_int.h"
#include "os/winpath.h"

struct mm_win_dir {
    wchar_t *path; /* the folder's `\\?\` path */
    int fd;        /* the descriptor dirfd() gives, owned; -1 until asked for */
    HANDLE find;   /* INVALID_HANDLE_VALUE before the first entry */
    int pending;   /* data holds an entry not given yet */
    int done;
    WIN32_FIND_DATAW data;
    struct mm_win_dirent ent;
};

/* A listing of the `\\?\` folder path @w (owned by it from now on), or NULL. */
static mm_win_DIR *dir_new(wchar_t *w, int fd)
{
    mm_win_DIR *d = mm_calloc(1, sizeof(*d));

    if (!d) {
        mm_free(w);
        errno = ENOMEM;
        return NULL;
    }
    d->path = w;
    d->fd = fd;
    d->find = INVALID_HANDLE_VALUE;
    return d;
}

mm_win_DIR *mm_win_opendir(const char *path)
{
    wchar_t *w;
    DWORD a;

    if (mm_win__wpath(AT_FDCWD, path, &w) != 0)
        return NULL;
    if ((a = GetFileAttributesW(w)) == INVALID_FILE_ATTRIBUTES) {
        mm_win__last_errno();
        mm_free(w);
        return NULL;
    }
    if (!(a & FILE_ATTRIBUTE_DIRECTORY)) {
        mm_free(w);
        errno = ENOTDIR;
        return NULL;
    }
    return dir_new(w, -1);
}

mm_win_DIR *mm_win_fdopendir(int fd)
{
    wchar_t *w = mm_win__dirfd_path(fd);

    if (!w) {
        errno = _get_osfhandle(fd) == -1 ? EBADF : ENOTDIR;
        return NULL;
    }
    return dir_new(w, fd);
}

/* The next entry of @d into d->data (FindFirstFileExW, FindNextFileW). @return 1, 0 at
 * the end, -1 with errno set */
static int next_entry(mm_win_DIR *d)
{
    if (d->pending) {
        d->pending = 0;
        return 1;
    }
    if (d->done)
        return 0;
    if (d->find == INVALID_HANDLE_VALUE) {
        size_t n = wcslen(d->path);
        wchar_t *pat = mm_malloc((n + 3) * sizeof(*pat));
        if (!pat) {
            errno = ENOMEM;
            return -1;
        }
        memcpy(pat, d->path, n * sizeof(*pat));
        if (n && pat[n - 1] != L'\\')
            pat[n++] = L'\\';
        pat[n++] = L'*';
        pat[n] = 0;
        d->find = FindFirstFileExW(pat, FindExInfoBasic, &d->data, FindExSearchNameMatch, NULL,
                                   FIND_FIRST_EX_LARGE_FETCH);
        mm_free(pat);
        if (d->find == INVALID_HANDLE_VALUE) {
            d->done = 1;
            if (GetLastError() == ERROR_FILE_NOT_FOUND || GetLastError() == ERROR_NO_MORE_FILES)
                return 0; /* an empty drive root has not even "." */
            return mm_win__last_errno();
        }
        return 1;
    }
    if (!FindNextFileW(d->find, &d->data)) {
        d->done = 1;
        if (GetLastError() == ERROR_NO_MORE_FILES)
            return 0;
        return mm_win__last_errno();
    }
    return 1;
}

/* The kind of the entry in @f, as d_type. */
static unsigned char entry_type(const WIN32_FIND_DATAW *f)
{
    if ((f->dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
        (f->dwReserved0 == IO_REPARSE_TAG_SYMLINK || f->dwReserved0 == IO_REPARSE_TAG_MOUNT_POINT))
        return DT_LNK;
    return (f->dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? DT_DIR : DT_REG;
}

/* The UTF-8 name of d->data into @out (@cap bytes). @return its length, -1 to skip it */
static long entry_name(const mm_win_DIR *d, char *out, size_t cap)
{
    char *u;
    size_t n;

    if (mm_winpath_utf8((const uint16_t *)d->data.cFileName, wcslen(d->data.cFileName), &u) != 0)
        return -1;
    n = strlen(u);
    if (n >= cap) {
        mm_free(u);
        return -1;
    }
    memcpy(out, u, n + 1);
    mm_free(u);
    return (long)n;
}

struct mm_win_dirent *mm_win_readdir(mm_win_DIR *d)
{
    int r;

    while ((r = next_entry(d)) > 0) {
        if (entry_name(d, d->ent.d_name, sizeof(d->ent.d_name)) < 0)
            continue;
        d->ent.d_type = entry_type(&d->data);
        d->ent.d_ino = 0;
        return &d->ent;
    }
    return NULL; /* errno set by next_entry() on an error, untouched at the end */
}

void mm_win_rewinddir(mm_win_DIR *d)
{
    if (d->find != INVALID_HANDLE_VALUE)
        FindClose(d->find);
    d->find = INVALID_HANDLE_VALUE;
    d->pending = d->done = 0;
}

int mm_win_dirfd(mm_win_DIR *d)
{
    if (d->fd < 0) {
        char *u = NULL;
        if (mm_winpath_utf8((const uint16_t *)d->path, wcslen(d->path), &u) != 0) {
            errno = EILSEQ;
            return -1;
        }
        d->fd = mm_win_open(u, O_RDONLY | O_DIRECTORY);
        mm_free(u);
    }
    return d->fd;
}

int mm_win_closedir(mm_win_DIR *d)
{
    int rc = 0;

    if (!d)
        return 0;
    if (d->find != INVALID_HANDLE_VALUE)
        FindClose(d->find);
    if (d->fd >= 0)
        rc = mm_win_close(d->fd);
    mm_free(d->path);
    mm_free(d);
    return rc;
}

/* ---- the os module's listing (os.h) -------------------------------------------------------- */

/* One record in the buffer: its length (2 bytes, little-endian), the name, its NUL. */
#define REC_HEAD 2u

void mm_win__dir_stream_free(void *stream)
{
    mm_win_DIR *d = stream;

    if (!d)
        return;
    d->fd = -1; /* the descriptor is being closed by its owner */
    mm_win_closedir(d);
}

long mm_os_dir_read(int fd, void *buf, size_t cap)
{
    mm_win_DIR *d = mm_win__dirfd_stream(fd);
    unsigned char *b = buf;
    size_t used = 0;
    int r;

    if (!d) {
        wchar_t *w = mm_win__dirfd_path(fd);
        if (!w)
            return -1;
        if (!(d = dir_new(w, -1)))
            return -1;
        mm_win__dirfd_set_stream(fd, d);
    }
    while ((r = next_entry(d)) > 0) {
        char name[sizeof(d->ent.d_name)];
        long n = entry_name(d, name, sizeof(name));
        size_t rec;
        if (n < 0)
            continue;
        rec = REC_HEAD + (size_t)n + 1;
        if (rec > cap - used) {
            d->pending = 1; /* the next call starts with it */
            if (used == 0) {
                errno = EINVAL; /* the buffer cannot hold one name */
                return -1;
            }
            break;
        }
        b[used] = (unsigned char)(rec & 0xff);
        b[used + 1] = (unsigned char)(rec >> 8);
        memcpy(b + used + REC_HEAD, name, (size_t)n + 1);
        used += rec;
    }
    if (r < 0 && used == 0)
        return -1;
    return (long)used;
}

const char *mm_os_dir_next(const void *buf, size_t n, size_t *off)
{
    const unsigned char *b = buf;

    while (*off + REC_HEAD < n) {
        size_t rec = (size_t)b[*off] | ((size_t)b[*off + 1] << 8);
        const char *name = (const char *)b + *off + REC_HEAD;
        if (rec <= REC_HEAD || rec > n - *off)
            return NULL;
        *off += rec;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
        return name;
    }
    return NULL;
}
