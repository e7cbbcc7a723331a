/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rest of the POSIX calls of the Windows build (mm_win_posix.h): thread-safe time
 * conversions, strerror_r (with the reason a name was refused, and the POSIX codes the
 * Microsoft C library has no text for), explicit_bzero, sysconf, kill(pid, 0), geteuid;
 * and the os module's host name, local time with its UTC offset, free space, and the kind of
 * file system a path is on (exFAT, NTFS, FAT32), for `media init`'s warnings.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/log.h"
#include "os/os.h"
#include "os/win/os_win_int.h"
#include "os/winpath.h"

struct tm *mm_win_localtime_r(const time_t *t, struct tm *out)
{
    __time64_t v = *t;

    return _localtime64_s(out, &v) == 0 ? out : NULL;
}

struct tm *mm_win_gmtime_r(const time_t *t, struct tm *out)
{
    __time64_t v = *t;

    return _gmtime64_s(out, &v) == 0 ? out : NULL;
}

time_t mm_win_timegm(struct tm *tm)
{
    return (time_t)_mkgmtime64(tm);
}

int mm_win_strerror_r(int errnum, char *buf, size_t n)
{
    const char *s = NULL;

    if (n == 0)
        return ERANGE;
    if (errnum == EINVAL && mm_win__forbidden_why())
        s = mm_win__forbidden_why();
    else if (errnum == ENOTSUP || errnum == EOPNOTSUPP)
        s = "Operation not supported";
    else if (errnum == ELOOP)
        s = "Too many levels of symbolic links";
    else if (errnum == EWOULDBLOCK)
        s = "Resource temporarily unavailable";
    else if (errnum == EILSEQ)
        s = "Invalid or incomplete multibyte or wide character";
    if (s) {
        snprintf(buf, n, "%s", s);
        return 0;
    }
    return strerror_s(buf, n, errnum) == 0 ? 0 : EINVAL;
}

void mm_win_explicit_bzero(void *p, size_t n)
{
    SecureZeroMemory(p, n);
}

long mm_win_sysconf(int name)
{
    SYSTEM_INFO si;

    GetSystemInfo(&si);
    if (name == _SC_NPROCESSORS_ONLN)
        return (long)si.dwNumberOfProcessors;
    if (name == _SC_PAGESIZE)
        return (long)si.dwPageSize;
    errno = EINVAL;
    return -1;
}

int mm_win_kill(pid_t pid, int sig)
{
    HANDLE h;
    DWORD code = 0;

    if (sig != 0) {
        errno = EINVAL; /* only the question whether a process lives */
        return -1;
    }
    h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h) {
        if (GetLastError() == ERROR_ACCESS_DENIED)
            return 0; /* it exists, another user's */
        errno = ESRCH;
        return -1;
    }
    if (GetExitCodeProcess(h, &code) && code != STILL_ACTIVE) {
        CloseHandle(h);
        errno = ESRCH;
        return -1;
    }
    CloseHandle(h);
    return 0;
}

uid_t mm_win_geteuid(void)
{
    return 0; /* the owner stat() gives every file */
}

/* ---- the os module (os.h) ------------------------------------------------------------------ */

int mm_os_machine_id(char out[33])
{
    out[0] = '\0';
    return mm_error_set(MM_ENOTFOUND, "no machine ID on Windows");
}

int mm_os_hostname(char *buf, size_t n)
{
    wchar_t w[256];
    DWORD len = sizeof(w) / sizeof(w[0]);
    char *u = NULL;

    if (n == 0)
        return mm_error_set(MM_EINVAL, "no room for the host name");
    if (!GetComputerNameExW(ComputerNameDnsHostname, w, &len) || len == 0) {
        len = sizeof(w) / sizeof(w[0]);
        if (!GetComputerNameW(w, &len))
            return mm_error_set(MM_EIO, "cannot tell the name of this computer");
    }
    if (mm_winpath_utf8((const uint16_t *)w, len, &u) != 0)
        return mm_error_set(MM_EIO, "the name of this computer is not valid UTF-16");
    snprintf(buf, n, "%s", u);
    mm_free(u);
    return 0;
}

int mm_os_localtime(time_t t, struct tm *out, long *gmtoff)
{
    struct tm copy;
    __time64_t as_utc;

    if (!mm_win_localtime_r(&t, out))
        return mm_error_set(MM_EINVAL, "time %lld cannot be shown as local time", (long long)t);
    copy = *out;
    as_utc = _mkgmtime64(&copy); /* the local wall clock read as UTC */
    *gmtoff = as_utc == -1 ? 0 : (long)(as_utc - (__time64_t)t);
    return 0;
}

int mm_os_space(const char *path, struct mm_os_space *out)
{
    char red[MM_LOG_PATH_MAX];
    ULARGE_INTEGER avail, total, avail_all;
    wchar_t *w = NULL;
    int err = 0;

    memset(out, 0, sizeof(*out));
    if (mm_win__wpath(AT_FDCWD, path, &w) != 0)
        goto fail;
    if (!GetDiskFreeSpaceExW(w, &avail, &total, &avail_all)) {
        mm_win__last_errno();
        goto fail;
    }
    out->avail = avail.QuadPart;
    out->total = total.QuadPart;
    out->readonly = mm_win__volume_readonly(w);
    goto out;
fail:
    err = mm_error_set_errno(MM_EIO, errno, "cannot tell the free space of '%s'",
                             mm_log_path(red, sizeof(red), path));
out:
    mm_free(w);
    return err;
}

int mm_os_fs_type(const char *path, struct mm_os_fs *out)
{
    char red[MM_LOG_PATH_MAX];
    wchar_t *w = NULL, fs[64];
    DWORD flags = 0;
    char name[64];
    size_t i;

    MM_ASSERT_ARG(path && out);
    if (mm_win__wpath(AT_FDCWD, path, &w) != 0 ||
        mm_win__volume_info(w, &flags, fs, sizeof(fs) / sizeof(fs[0])) != 0) {
        mm_free(w);
        return mm_error_set_errno(errno == ENOENT ? MM_ENOTFOUND : MM_EIO, errno,
                                  "cannot tell the file system of '%s'",
                                  mm_log_path(red, sizeof(red), path));
    }
    mm_free(w);
    memset(out, 0, sizeof(*out));
    for (i = 0; i < sizeof(name) - 1 && fs[i]; i++)
        name[i] = fs[i] < 0x80 ? (char)fs[i] : '?';
    name[i] = '\0';
    if (_stricmp(name, "exFAT") == 0)
        out->kind = MM_OS_FS_EXFAT;
    else if (_stricmp(name, "NTFS") == 0)
        out->kind = MM_OS_FS_NTFS;
    else if (_stricmp(name, "FAT32") == 0 || _stricmp(name, "FAT") == 0 ||
             _stricmp(name, "FAT12") == 0 || _stricmp(name, "FAT16") == 0)
        out->kind = MM_OS_FS_VFAT;
    else
        out->kind = MM_OS_FS_OTHER;
    snprintf(out->name, sizeof(out->name), "%s",
             out->kind == MM_OS_FS_OTHER ? name : mm_os_fs_kind_name(out->kind));
    return 0;
}
