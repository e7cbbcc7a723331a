/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The file calls of the Windows build (mm_win_posix.h): open, close, stat, mkdir, rename,
 * unlink, fsync, pread, flock... on UTF-8 paths, each through the wide API on a `\\?\` path.
 * Files are opened sharing read, write and delete, so that a file can be renamed over while
 * another handle reads it, as on POSIX; every descriptor is binary. A folder opened for
 * reading is a real descriptor (FILE_FLAG_BACKUP_SEMANTICS) whose path is remembered for the
 * *at() calls. flock() locks one byte far beyond any data (Windows locks are mandatory: a
 * lock on data would make other readers fail).
 */
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "os/win/os_win_int.h"
#include "os/winpath.h"

#define LOCK_OFFSET_HIGH 0x7fffffffu /* flock's byte: no file of mamori gets that large */

/* ---- open and close ------------------------------------------------------------------------ */

/* Whether the handle @h is a folder. */
static int is_folder(HANDLE h)
{
    BY_HANDLE_FILE_INFORMATION info;

    return GetFileInformationByHandle(h, &info) &&
           (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY);
}

/* Open the `\\?\` path @w with the POSIX @flags. @return the descriptor, -1 with errno set */
static int open_wide(const wchar_t *w, int flags, unsigned int mode)
{
    DWORD access = 0, disp, attrs = FILE_ATTRIBUTE_NORMAL | FILE_FLAG_BACKUP_SEMANTICS;
    DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    int acc = flags & (O_RDONLY | O_WRONLY | O_RDWR), crt = _O_BINARY, fd, folder;
    HANDLE h;

    if (acc == O_RDONLY)
        access = GENERIC_READ, crt |= _O_RDONLY;
    else if (acc == O_WRONLY)
        access = GENERIC_WRITE;
    else
        access = GENERIC_READ | GENERIC_WRITE;
    if ((flags & O_CREAT) && (flags & O_EXCL))
        disp = CREATE_NEW;
    else if ((flags & O_CREAT) && (flags & O_TRUNC))
        disp = CREATE_ALWAYS;
    else if (flags & O_CREAT)
        disp = OPEN_ALWAYS;
    else if (flags & O_TRUNC)
        disp = TRUNCATE_EXISTING;
    else
        disp = OPEN_EXISTING;
    if ((flags & O_CREAT) && !(mode & 0200))
        attrs |= FILE_ATTRIBUTE_READONLY;
    if (flags & O_APPEND)
        crt |= _O_APPEND;
    h = CreateFileW(w, access, share, NULL, disp, attrs, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return mm_win__last_errno();
    folder = is_folder(h);
    if ((flags & O_DIRECTORY) && !folder) {
        CloseHandle(h);
        errno = ENOTDIR;
        return -1;
    }
    if (folder && acc != O_RDONLY) {
        CloseHandle(h);
        errno = EISDIR;
        return -1;
    }
    if ((fd = _open_osfhandle((intptr_t)h, crt)) < 0) {
        CloseHandle(h);
        errno = EMFILE;
        return -1;
    }
    if (folder && mm_win__dirfd_add(fd, w) != 0) {
        _close(fd);
        errno = ENOMEM;
        return -1;
    }
    return fd;
}

/* The optional mode argument of open(). */
static unsigned int mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) ? (unsigned int)va_arg(ap, int) : 0u;
}

int mm_win_openat(int dirfd, const char *path, int flags, ...)
{
    unsigned int mode;
    wchar_t *w;
    va_list ap;
    int fd;

    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    if (mm_win__wpath(dirfd, path, &w) != 0)
        return -1;
    fd = open_wide(w, flags, mode);
    mm_free(w);
    return fd;
}

int mm_win_open(const char *path, int flags, ...)
{
    unsigned int mode;
    va_list ap;

    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    return mm_win_openat(AT_FDCWD, path, flags, mode);
}

int mm_win_close(int fd)
{
    mm_win__dirfd_forget(fd);
    return _close(fd);
}

FILE *mm_win_fopen(const char *path, const char *mode)
{
    int flags = 0, fd;
    char m[8];
    size_t k = 0;
    FILE *f;

    switch (mode[0]) {
    case 'r':
        flags = strchr(mode, '+') ? O_RDWR : O_RDONLY;
        break;
    case 'w':
        flags = (strchr(mode, '+') ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC;
        break;
    case 'a':
        flags = (strchr(mode, '+') ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND;
        break;
    default:
        errno = EINVAL;
        return NULL;
    }
    if (strchr(mode, 'x'))
        flags |= O_EXCL;
    if ((fd = mm_win_open(path, flags, 0666)) < 0)
        return NULL;
    /* the C library's own mode letters, binary always ('e' and 'x' are ours) */
    m[k++] = mode[0];
    if (strchr(mode, '+'))
        m[k++] = '+';
    m[k++] = 'b';
    m[k] = '\0';
    if (!(f = _fdopen(fd, m))) {
        int e = errno;
        _close(fd);
        errno = e;
    }
    return f;
}

/* ---- stat ---------------------------------------------------------------------------------- */

/* Whether the reparse point at @h is a link (symbolic link or junction). */
static int is_link(HANDLE h)
{
    FILE_ATTRIBUTE_TAG_INFO tag;

    return GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag, sizeof(tag)) &&
           (tag.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
           (tag.ReparseTag == IO_REPARSE_TAG_SYMLINK ||
            tag.ReparseTag == IO_REPARSE_TAG_MOUNT_POINT);
}

/*
 * Fill @st from the open handle @h. Windows has no permission bits: a folder is 0700, a file
 * 0600 (0400 when read-only), owned by uid 0 (geteuid() here). @return 0, -1 with errno set
 */
static int stat_handle(HANDLE h, int nofollow, struct mm_win_stat *st)
{
    BY_HANDLE_FILE_INFORMATION info;
    FILE_BASIC_INFO basic;
    DWORD type = GetFileType(h);

    memset(st, 0, sizeof(*st));
    if (type == FILE_TYPE_CHAR || type == FILE_TYPE_PIPE) {
        st->st_mode = (type == FILE_TYPE_CHAR ? S_IFCHR : S_IFIFO) | 0600;
        st->st_nlink = 1;
        return 0;
    }
    if (!GetFileInformationByHandle(h, &info))
        return mm_win__last_errno();
    st->st_dev = info.dwVolumeSerialNumber;
    st->st_ino = ((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow;
    st->st_nlink = info.nNumberOfLinks;
    st->st_size = (int64_t)(((uint64_t)info.nFileSizeHigh << 32) | info.nFileSizeLow);
    st->st_blksize = 4096;
    st->st_blocks = (st->st_size + 511) / 512;
    if (nofollow && (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) && is_link(h))
        st->st_mode = S_IFLNK | 0777;
    else if (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
        st->st_mode = S_IFDIR | 0700;
    else
        st->st_mode = S_IFREG | ((info.dwFileAttributes & FILE_ATTRIBUTE_READONLY) ? 0400 : 0600);
    st->st_atim = mm_win__timespec(info.ftLastAccessTime);
    st->st_mtim = mm_win__timespec(info.ftLastWriteTime);
    st->st_ctim = mm_win__timespec(info.ftCreationTime);
    if (GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof(basic))) {
        FILETIME ft = { (DWORD)basic.ChangeTime.LowPart, (DWORD)basic.ChangeTime.HighPart };
        st->st_ctim = mm_win__timespec(ft);
    }
    return 0;
}

/* stat() of the `\\?\` path @w. */
static int stat_wide(const wchar_t *w, int nofollow, struct mm_win_stat *st)
{
    DWORD flags = FILE_FLAG_BACKUP_SEMANTICS | (nofollow ? FILE_FLAG_OPEN_REPARSE_POINT : 0);
    HANDLE h = CreateFileW(w, FILE_READ_ATTRIBUTES,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, flags, NULL);
    int rc;

    if (h == INVALID_HANDLE_VALUE) {
        WIN32_FILE_ATTRIBUTE_DATA a;
        DWORD e = GetLastError();
        /* a file open without sharing (a page file...): what the folder listing says */
        if ((e != ERROR_SHARING_VIOLATION && e != ERROR_ACCESS_DENIED) ||
            !GetFileAttributesExW(w, GetFileExInfoStandard, &a))
            return mm_win__errno(e);
        memset(st, 0, sizeof(*st));
        st->st_nlink = 1;
        st->st_size = (int64_t)(((uint64_t)a.nFileSizeHigh << 32) | a.nFileSizeLow);
        st->st_mode =
                (a.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? S_IFDIR | 0700 : S_IFREG | 0600;
        st->st_atim = mm_win__timespec(a.ftLastAccessTime);
        st->st_mtim = mm_win__timespec(a.ftLastWriteTime);
        st->st_ctim = st->st_mtim;
        return 0;
    }
    rc = stat_handle(h, nofollow, st);
    CloseHandle(h);
    return rc;
}

int mm_win_fstatat(int dirfd, const char *path, struct mm_win_stat *st, int flags)
{
    wchar_t *w;
    int rc;

    if ((flags & AT_EMPTY_PATH) && path && path[0] == '\0')
        return mm_win_fstat(dirfd, st);
    if (mm_win__wpath(dirfd, path, &w) != 0)
        return -1;
    rc = stat_wide(w, (flags & AT_SYMLINK_NOFOLLOW) != 0, st);
    mm_free(w);
    return rc;
}

int mm_win_stat(const char *path, struct mm_win_stat *st)
{
    return mm_win_fstatat(AT_FDCWD, path, st, 0);
}

int mm_win_lstat(const char *path, struct mm_win_stat *st)
{
    return mm_win_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

int mm_win_fstat(int fd, struct mm_win_stat *st)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);

    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    return stat_handle(h, 0, st);
}

/* ---- names --------------------------------------------------------------------------------- */

int mm_win_mkdirat(int dirfd, const char *path, unsigned int mode)
{
    wchar_t *w;
    int rc = 0;

    (void)mode;
    if (mm_win__wpath(dirfd, path, &w) != 0)
        return -1;
    if (!CreateDirectoryW(w, NULL))
        rc = mm_win__last_errno();
    mm_free(w);
    return rc;
}

int mm_win_mkdir(const char *path, unsigned int mode)
{
    return mm_win_mkdirat(AT_FDCWD, path, mode);
}

/* FILE_RENAME_INFO with its Windows 10 flags, laid out here: older headers lack the flags. */
struct rename_info {
    DWORD flags; /* a union with BOOLEAN ReplaceIfExists */
    HANDLE root;
    DWORD len; /* bytes */
    WCHAR name[1];
};
#define RENAME_REPLACE 0x1u /* FILE_RENAME_FLAG_REPLACE_IF_EXISTS */
#define RENAME_POSIX   0x2u /* FILE_RENAME_FLAG_POSIX_SEMANTICS */
#define RENAME_INFO_EX 22   /* FileRenameInfoEx */

/*
 * Rename @a over @b with POSIX semantics (Windows 10 1709 and later, NTFS): the name is
 * replaced even while another handle has the old file open. @return 1 when done
 */
static int rename_posix(const wchar_t *a, const wchar_t *b)
{
    size_t n = wcslen(b), size = offsetof(struct rename_info, name) + (n + 1) * sizeof(WCHAR);
    struct rename_info *ri = mm_calloc(1, size);
    HANDLE h;
    int ok = 0;

    if (!ri)
        return 0;
    ri->flags = RENAME_REPLACE | RENAME_POSIX;
    ri->len = (DWORD)(n * sizeof(WCHAR));
    memcpy(ri->name, b, (n + 1) * sizeof(WCHAR));
    if (n >= 4 && wcsncmp(b, L"\\\\?\\", 4) == 0)
        ri->name[1] = L'?'; /* "\\?\C:\x" -> the NT path "\??\C:\x" */
    h = CreateFileW(a, DELETE | SYNCHRONIZE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT,
                    NULL);
    if (h != INVALID_HANDLE_VALUE) {
        ok = SetFileInformationByHandle(h, (FILE_INFO_BY_HANDLE_CLASS)RENAME_INFO_EX, ri,
                                        (DWORD)size) != 0;
        CloseHandle(h);
    }
    mm_free(ri);
    return ok;
}

/* Rename @a over the read-only file @b, as POSIX does (the folder decides, not the file).
 * @return 1 when done, 0 (nothing changed) when @b is not read-only or the rename fails */
static int replace_read_only(const wchar_t *a, const wchar_t *b)
{
    DWORD attrs = GetFileAttributesW(b);

    if (attrs == INVALID_FILE_ATTRIBUTES || !(attrs & FILE_ATTRIBUTE_READONLY) ||
        (attrs & FILE_ATTRIBUTE_DIRECTORY) ||
        !SetFileAttributesW(b, attrs & ~(DWORD)FILE_ATTRIBUTE_READONLY))
        return 0;
    if (MoveFileExW(a, b, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        return 1;
    SetFileAttributesW(b, attrs);
    return 0;
}

int mm_win_renameat(int fromfd, const char *from, int tofd, const char *to)
{
    wchar_t *a = NULL, *b = NULL;
    DWORD e;
    int rc = -1;

    if (mm_win__wpath(fromfd, from, &a) != 0 || mm_win__wpath(tofd, to, &b) != 0)
        goto out;
    if (MoveFileExW(a, b, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        rc = 0;
    else if (((e = GetLastError()) == ERROR_ACCESS_DENIED || e == ERROR_SHARING_VIOLATION) &&
             (replace_read_only(a, b) || rename_posix(a, b)))
        rc = 0; /* a read-only target (POSIX replaces it), or one open elsewhere */
    else
        mm_win__errno(e);
out:
    mm_free(a);
    mm_free(b);
    return rc;
}

int mm_win_rename(const char *from, const char *to)
{
    return mm_win_renameat(AT_FDCWD, from, AT_FDCWD, to);
}

/* unlink() of the `\\?\` path @w: a read-only file goes too, as on POSIX. */
static int unlink_wide(const wchar_t *w)
{
    DWORD a;

    if (DeleteFileW(w))
        return 0;
    if (GetLastError() == ERROR_ACCESS_DENIED &&
        (a = GetFileAttributesW(w)) != INVALID_FILE_ATTRIBUTES) {
        if (a & FILE_ATTRIBUTE_DIRECTORY) {
            errno = EISDIR;
            return -1;
        }
        if ((a & FILE_ATTRIBUTE_READONLY) &&
            SetFileAttributesW(w, a & ~(DWORD)FILE_ATTRIBUTE_READONLY)) {
            if (DeleteFileW(w))
                return 0;
            SetFileAttributesW(w, a);
            return mm_win__last_errno();
        }
        SetLastError(ERROR_ACCESS_DENIED);
    }
    return mm_win__last_errno();
}

int mm_win_unlinkat(int dirfd, const char *path, int flags)
{
    wchar_t *w;
    int rc = 0;

    if (mm_win__wpath(dirfd, path, &w) != 0)
        return -1;
    if (flags & AT_REMOVEDIR) {
        if (!RemoveDirectoryW(w))
            rc = mm_win__last_errno();
    } else {
        rc = unlink_wide(w);
    }
    mm_free(w);
    return rc;
}

int mm_win_unlink(const char *path)
{
    return mm_win_unlinkat(AT_FDCWD, path, 0);
}

int mm_win_rmdir(const char *path)
{
    return mm_win_unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

int mm_win_remove(const char *path)
{
    struct mm_win_stat st;

    if (mm_win_lstat(path, &st) != 0)
        return -1;
    return mm_win_unlinkat(AT_FDCWD, path, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
}

int mm_win_link(const char *from, const char *to)
{
    wchar_t *a = NULL, *b = NULL;
    int rc = -1;

    if (mm_win__wpath(AT_FDCWD, from, &a) != 0 || mm_win__wpath(AT_FDCWD, to, &b) != 0)
        goto out;
    if (CreateHardLinkW(b, a, NULL))
        rc = 0;
    else
        mm_win__last_errno();
out:
    mm_free(a);
    mm_free(b);
    return rc;
}

int mm_win_symlink(const char *target, const char *path)
{
    (void)target;
    (void)path;
    errno = EPERM; /* symbolic links need administrator rights or developer mode */
    return -1;
}

ssize_t mm_win_readlinkat(int dirfd, const char *path, char *buf, size_t n)
{
    struct mm_win_stat st;

    (void)buf;
    (void)n;
    if (mm_win_fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return -1;
    errno = S_ISLNK(st.st_mode) ? ENOTSUP : EINVAL;
    return -1;
}

ssize_t mm_win_readlink(const char *path, char *buf, size_t n)
{
    return mm_win_readlinkat(AT_FDCWD, path, buf, n);
}

/*
 * Whether a file can be made in the folder @w: Windows has no access(W_OK) for a folder (its
 * read-only attribute means nothing there; ACLs, a write-protected medium or a read-only share
 * decide), so a hidden probe file is made and deleted on close. @return 0, -1 with errno set
 * (EROFS, EACCES; any other failure, a full disk say, is not the question and gives 0)
 */
static int folder_writable(const wchar_t *w)
{
    size_t n = wcslen(w);
    wchar_t *probe = mm_malloc((n + 64) * sizeof(*probe));
    HANDLE h;
    DWORD e;

    if (!probe)
        return 0; /* cannot ask: let the write itself tell */
    swprintf(probe, n + 64, L"%ls%ls.mamori-access-%lu-%lu.tmp", w,
             n && w[n - 1] == L'\\' ? L"" : L"\\", GetCurrentProcessId(), GetCurrentThreadId());
    h = CreateFileW(probe, GENERIC_WRITE, 0, NULL, CREATE_NEW,
                    FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE,
                    NULL);
    e = GetLastError();
    mm_free(probe);
    if (h != INVALID_HANDLE_VALUE) {
        CloseHandle(h); /* deletes it */
        return 0;
    }
    if (e == ERROR_WRITE_PROTECT)
        return mm_win__errno(e);
    if (e == ERROR_ACCESS_DENIED || e == ERROR_NETWORK_ACCESS_DENIED)
        return mm_win__errno(e);
    return 0;
}

int mm_win_faccessat(int dirfd, const char *path, int mode, int flags)
{
    wchar_t *w;
    DWORD a;
    int rc = 0;

    (void)flags;
    if (mm_win__wpath(dirfd, path, &w) != 0)
        return -1;
    a = GetFileAttributesW(w);
    if (a == INVALID_FILE_ATTRIBUTES) {
        rc = mm_win__last_errno();
    } else if ((mode & W_OK) && mm_win__volume_readonly(w)) {
        errno = EROFS; /* a write-protected medium: readers go on without a lock file */
        rc = -1;
    } else if ((mode & W_OK) && (a & FILE_ATTRIBUTE_DIRECTORY)) {
        rc = folder_writable(w);
    } else if ((mode & W_OK) && (a & FILE_ATTRIBUTE_READONLY)) {
        errno = EACCES;
        rc = -1;
    }
    mm_free(w);
    return rc;
}

int mm_win_access(const char *path, int mode)
{
    return mm_win_faccessat(AT_FDCWD, path, mode, 0);
}

int mm_win_chmod(const char *path, unsigned int mode)
{
    (void)mode; /* no permission bits: only whether it exists */
    return mm_win_access(path, F_OK);
}

int mm_win_fchmod(int fd, unsigned int mode)
{
    (void)mode;
    if (_get_osfhandle(fd) == -1) {
        errno = EBADF;
        return -1;
    }
    return 0;
}

int mm_win_fchmodat(int dirfd, const char *path, unsigned int mode, int flags)
{
    (void)mode;
    return mm_win_faccessat(dirfd, path, F_OK, flags);
}

int mm_win_fchown(int fd, uid_t uid, gid_t gid)
{
    (void)uid;
    (void)gid;
    return mm_win_fchmod(fd, 0);
}

/* ---- data ---------------------------------------------------------------------------------- */

int mm_win_fsync(int fd)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    wchar_t *dir;

    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    if ((dir = mm_win__dirfd_path(fd))) {
        mm_free(dir); /* a folder: Windows writes its entries through (MOVEFILE_WRITE_THROUGH) */
        return 0;
    }
    if (FlushFileBuffers(h))
        return 0;
    if (GetLastError() == ERROR_ACCESS_DENIED || GetLastError() == ERROR_INVALID_HANDLE)
        return 0; /* opened for reading only: nothing of this handle to write */
    return mm_win__last_errno();
}

/* The handle of @fd and an OVERLAPPED at @off, for pread/pwrite. @return the handle, or
 * INVALID_HANDLE_VALUE with errno set (EBADF, EINVAL for a negative offset) */
static HANDLE at_offset(int fd, off_t off, OVERLAPPED *ov)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);

    if (h == INVALID_HANDLE_VALUE || off < 0) {
        errno = h == INVALID_HANDLE_VALUE ? EBADF : EINVAL;
        return INVALID_HANDLE_VALUE;
    }
    memset(ov, 0, sizeof(*ov));
    ov->Offset = (DWORD)((uint64_t)off & 0xffffffffu);
    ov->OffsetHigh = (DWORD)((uint64_t)off >> 32);
    return h;
}

ssize_t mm_win_pread(int fd, void *buf, size_t n, off_t off)
{
    OVERLAPPED ov;
    HANDLE h = at_offset(fd, off, &ov);
    DWORD got = 0;

    if (h == INVALID_HANDLE_VALUE)
        return -1;
    if (!ReadFile(h, buf, n > 0x40000000u ? 0x40000000u : (DWORD)n, &got, &ov)) {
        if (GetLastError() == ERROR_HANDLE_EOF)
            return 0;
        return mm_win__last_errno();
    }
    return (ssize_t)got;
}

ssize_t mm_win_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    OVERLAPPED ov;
    HANDLE h = at_offset(fd, off, &ov);
    DWORD put = 0;

    if (h == INVALID_HANDLE_VALUE)
        return -1;
    if (!WriteFile(h, buf, n > 0x40000000u ? 0x40000000u : (DWORD)n, &put, &ov))
        return mm_win__last_errno();
    return (ssize_t)put;
}

int mm_win_flock(int fd, int op)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    OVERLAPPED ov = { 0 };
    DWORD flags = 0;
    wchar_t *dir;

    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    if ((dir = mm_win__dirfd_path(fd))) {
        mm_free(dir);
        return 0; /* Windows cannot lock a folder: the lock file of the repository decides */
    }
    ov.OffsetHigh = LOCK_OFFSET_HIGH;
    if (op & LOCK_UN) {
        if (!UnlockFileEx(h, 0, 1, 0, &ov) && GetLastError() != ERROR_NOT_LOCKED)
            return mm_win__last_errno();
        return 0;
    }
    if (op & LOCK_EX)
        flags |= LOCKFILE_EXCLUSIVE_LOCK;
    if (op & LOCK_NB)
        flags |= LOCKFILE_FAIL_IMMEDIATELY;
    if (!LockFileEx(h, flags, 0, 1, 0, &ov)) {
        if (GetLastError() == ERROR_LOCK_VIOLATION || GetLastError() == ERROR_IO_PENDING) {
            errno = EWOULDBLOCK;
            return -1;
        }
        return mm_win__last_errno();
    }
    return 0;
}

/* Set the times of @h from @t (NULL: now; UTIME_NOW, UTIME_OMIT). */
static int set_times(HANDLE h, const struct timespec t[2])
{
    FILETIME ft[2], now;
    const FILETIME *p[2];

    GetSystemTimeAsFileTime(&now);
    for (int i = 0; i < 2; i++) {
        if (!t || t[i].tv_nsec == UTIME_NOW) {
            ft[i] = now;
            p[i] = &ft[i];
        } else if (t[i].tv_nsec == UTIME_OMIT) {
            p[i] = NULL;
        } else {
            ft[i] = mm_win__filetime(&t[i]);
            p[i] = &ft[i];
        }
    }
    if (!SetFileTime(h, NULL, p[0], p[1]))
        return mm_win__last_errno();
    return 0;
}

int mm_win_utimensat(int dirfd, const char *path, const struct timespec t[2], int flags)
{
    wchar_t *w;
    HANDLE h;
    int rc;

    if (mm_win__wpath(dirfd, path, &w) != 0)
        return -1;
    h = CreateFileW(w, FILE_WRITE_ATTRIBUTES,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS |
                            ((flags & AT_SYMLINK_NOFOLLOW) ? FILE_FLAG_OPEN_REPARSE_POINT : 0),
                    NULL);
    mm_free(w);
    if (h == INVALID_HANDLE_VALUE)
        return mm_win__last_errno();
    rc = set_times(h, t);
    CloseHandle(h);
    return rc;
}

int mm_win_futimens(int fd, const struct timespec t[2])
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);

    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    return set_times(h, t);
}

/* ---- realpath ------------------------------------------------------------------------------ */

char *mm_win_realpath(const char *path, char *resolved)
{
    wchar_t *w;
    char *u = NULL, *s;
    size_t skip = 4, n;

    if (mm_win__wpath(AT_FDCWD, path, &w) != 0)
        return NULL;
    if (GetFileAttributesW(w) == INVALID_FILE_ATTRIBUTES) {
        mm_win__last_errno();
        mm_free(w);
        return NULL;
    }
    n = wcslen(w);
    if (n >= 8 && wcsncmp(w, L"\\\\?\\UNC\\", 8) == 0) {
        skip = 6; /* "\\?\UNC\srv" -> "\\srv" */
        w[6] = L'\\';
    }
    if (mm_winpath_utf8((const uint16_t *)w + skip, n - skip, &u) != 0) {
        mm_free(w);
        errno = EILSEQ;
        return NULL;
    }
    mm_free(w);
    /* forward slashes: what the rest of mamori splits paths at */
    for (s = u; *s; s++)
        if (*s == '\\')
            *s = '/';
    if (!resolved) {
        s = strdup(u); /* the caller free()s it, as realpath(3)'s */
        mm_free(u);
        if (!s)
            errno = ENOMEM;
        return s;
    }
    if (strlen(u) >= PATH_MAX) {
        mm_free(u);
        errno = ENAMETOOLONG;
        return NULL;
    }
    memcpy(resolved, u, strlen(u) + 1);
    mm_free(u);
    return resolved;
}
