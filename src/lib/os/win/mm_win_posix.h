/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POSIX layer of the Windows build, force-included (`-include`) into every C file of it.
 * mingw-w64's own open(), stat(), mkdir()... take paths in the ANSI code page (CP932 on a
 * Japanese PC) and know nothing of long paths; here they are renamed to mm_win_*() (the C files of
 * os/win) that take UTF-8, turn it into a `\\?\` UTF-16 path (os/winpath.h) and call the wide API.
 * The system headers come first, then the renames, so a later #include of them changes
 * nothing. gethostname() is not here (winsock declares it): see mm_os_hostname() in os.h.
 * windows.h is NOT included here: its macros (ERROR, min, max, interface...) would
 * reach every file; only the C files of os/win include it. Nothing here is compiled on Linux.
 */
#ifndef MM_OS_WIN_MM_WIN_POSIX_H
#define MM_OS_WIN_MM_WIN_POSIX_H

#ifdef _WIN32

/* %zu, %lld and C99 snprintf from mingw's own stdio, 64-bit off_t, lseek64, ftruncate64 */
#ifndef __USE_MINGW_ANSI_STDIO
#define __USE_MINGW_ANSI_STDIO 1
#endif
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h> /* winpthreads: clock_gettime, nanosleep */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types and constants ------------------------------------------------------------------ */

typedef unsigned int uid_t;
typedef unsigned int gid_t;

#undef O_BINARY
#define O_BINARY _O_BINARY
/* bits mingw's _open() does not use; our open() understands them */
#define O_DIRECTORY 0x00100000
#define O_NOFOLLOW  0x00200000
#define O_CLOEXEC   0x00400000
#define O_NOCTTY    0
#define O_NONBLOCK  0

#define AT_FDCWD            (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR        0x200
#define AT_EMPTY_PATH       0x1000

#define UTIME_NOW  ((1l << 30) - 1l)
#define UTIME_OMIT ((1l << 30) - 2l)

#define LOCK_SH 1
#define LOCK_EX 2
#define LOCK_NB 4
#define LOCK_UN 8

#ifndef S_IFLNK
#define S_IFLNK 0xA000
#endif
#ifndef S_ISLNK
#define S_ISLNK(m) (((m)&S_IFMT) == S_IFLNK)
#endif
#ifndef S_IFSOCK
#define S_IFSOCK 0xC000
#endif
#ifndef S_ISSOCK
#define S_ISSOCK(m) (((m)&S_IFMT) == S_IFSOCK)
#endif
#ifndef S_IRWXG
#define S_IRWXG 0070
#define S_IRGRP 0040
#define S_IWGRP 0020
#define S_IXGRP 0010
#define S_IRWXO 0007
#define S_IROTH 0004
#define S_IWOTH 0002
#define S_IXOTH 0001
#endif

#define DT_UNKNOWN 0
#define DT_FIFO    1
#define DT_CHR     2
#define DT_DIR     4
#define DT_BLK     6
#define DT_REG     8
#define DT_LNK     10
#define DT_SOCK    12

#ifndef _SC_NPROCESSORS_ONLN
#define _SC_NPROCESSORS_ONLN 84
#endif
#ifndef _SC_PAGESIZE
#define _SC_PAGESIZE 30
#endif
#ifndef _SC_PAGE_SIZE
#define _SC_PAGE_SIZE _SC_PAGESIZE
#endif

#ifndef CLOCK_REALTIME_COARSE
#define CLOCK_REALTIME_COARSE CLOCK_REALTIME
#endif
#ifndef CLOCK_MONOTONIC_COARSE
#define CLOCK_MONOTONIC_COARSE CLOCK_MONOTONIC
#endif

#ifndef ELOOP
#define ELOOP 114
#endif
#ifndef ESRCH
#define ESRCH 3
#endif

/* ---- struct stat with nanosecond times and a 64-bit file index ----------------------------- */

#undef stat
#undef fstat
#undef lstat
#define stat  mm_win_stat
#define fstat mm_win_fstat
#define lstat mm_win_lstat

struct mm_win_stat {
    uint64_t st_dev; /* volume serial number */
    uint64_t st_ino; /* file index (nFileIndexHigh:Low) */
    unsigned int st_mode;
    unsigned int st_nlink;
    unsigned int st_uid, st_gid; /* always 0 */
    uint64_t st_rdev;
    int64_t st_size;
    int64_t st_blksize, st_blocks;
    struct timespec st_atim, st_mtim, st_ctim; /* st_ctim: the change time, else creation */
};
#undef st_atime
#undef st_mtime
#undef st_ctime
#define st_atime st_atim.tv_sec
#define st_mtime st_mtim.tv_sec
#define st_ctime st_ctim.tv_sec

int mm_win_stat(const char *path, struct mm_win_stat *st);
int mm_win_lstat(const char *path, struct mm_win_stat *st);
int mm_win_fstat(int fd, struct mm_win_stat *st);
int mm_win_fstatat(int dirfd, const char *path, struct mm_win_stat *st, int flags);
#define fstatat mm_win_fstatat

/* ---- files --------------------------------------------------------------------------------- */

int mm_win_open(const char *path, int flags, ...);
int mm_win_openat(int dirfd, const char *path, int flags, ...);
int mm_win_close(int fd);
int mm_win_mkdir(const char *path, unsigned int mode);
int mm_win_mkdirat(int dirfd, const char *path, unsigned int mode);
int mm_win_rename(const char *from, const char *to);
int mm_win_renameat(int fromfd, const char *from, int tofd, const char *to);
int mm_win_unlink(const char *path);
int mm_win_unlinkat(int dirfd, const char *path, int flags);
int mm_win_rmdir(const char *path);
int mm_win_fsync(int fd);
ssize_t mm_win_pread(int fd, void *buf, size_t n, off_t off);
ssize_t mm_win_pwrite(int fd, const void *buf, size_t n, off_t off);
int mm_win_flock(int fd, int op);
int mm_win_chmod(const char *path, unsigned int mode);
int mm_win_fchmod(int fd, unsigned int mode);
int mm_win_fchmodat(int dirfd, const char *path, unsigned int mode, int flags);
int mm_win_fchown(int fd, uid_t uid, gid_t gid);
int mm_win_link(const char *from, const char *to);
int mm_win_symlink(const char *target, const char *path);
ssize_t mm_win_readlink(const char *path, char *buf, size_t n);
ssize_t mm_win_readlinkat(int dirfd, const char *path, char *buf, size_t n);
int mm_win_utimensat(int dirfd, const char *path, const struct timespec t[2], int flags);
int mm_win_futimens(int fd, const struct timespec t[2]);
int mm_win_access(const char *path, int mode);
int mm_win_faccessat(int dirfd, const char *path, int mode, int flags);
FILE *mm_win_fopen(const char *path, const char *mode);
char *mm_win_realpath(const char *path, char *resolved);
int mm_win_remove(const char *path);

#undef open
#undef close
#undef mkdir
#undef rename
#undef unlink
#undef rmdir
#undef fopen
#undef access
#undef chmod
#undef remove
#define open       mm_win_open
#define openat     mm_win_openat
#define close      mm_win_close
#define mkdir      mm_win_mkdir
#define mkdirat    mm_win_mkdirat
#define rename     mm_win_rename
#define renameat   mm_win_renameat
#define unlink     mm_win_unlink
#define unlinkat   mm_win_unlinkat
#define rmdir      mm_win_rmdir
#define fsync      mm_win_fsync
#define fdatasync  mm_win_fsync
#define pread      mm_win_pread
#define pwrite     mm_win_pwrite
#define flock      mm_win_flock
#define chmod      mm_win_chmod
#define fchmod     mm_win_fchmod
#define fchmodat   mm_win_fchmodat
#define fchown     mm_win_fchown
#define link       mm_win_link
#define symlink    mm_win_symlink
#define readlink   mm_win_readlink
#define readlinkat mm_win_readlinkat
#define utimensat  mm_win_utimensat
#define futimens   mm_win_futimens
#define access     mm_win_access
#define faccessat  mm_win_faccessat
#define fopen      mm_win_fopen
#define realpath   mm_win_realpath
#define remove     mm_win_remove

/* ---- folders ------------------------------------------------------------------------------- */

struct mm_win_dirent {
    uint64_t d_ino; /* 0: unknown */
    unsigned char d_type;
    char d_name[1024]; /* UTF-8: up to 255 UTF-16 units, 3 bytes each */
};
typedef struct mm_win_dir mm_win_DIR;

#undef DIR
#define DIR    mm_win_DIR
#define dirent mm_win_dirent

mm_win_DIR *mm_win_opendir(const char *path);
mm_win_DIR *mm_win_fdopendir(int fd);
struct mm_win_dirent *mm_win_readdir(mm_win_DIR *d);
int mm_win_closedir(mm_win_DIR *d);
int mm_win_dirfd(mm_win_DIR *d);
void mm_win_rewinddir(mm_win_DIR *d);
#define opendir   mm_win_opendir
#define fdopendir mm_win_fdopendir
#define readdir   mm_win_readdir
#define closedir  mm_win_closedir
#define dirfd     mm_win_dirfd
#define rewinddir mm_win_rewinddir

/* ---- memory ------------------------------------------------------------------------------- */

/* advice only: Windows keeps no page cache a program could drop */
#define POSIX_FADV_NORMAL   0
#define POSIX_FADV_DONTNEED 4
static inline int mm_win_posix_fadvise(int fd, off_t off, off_t len, int advice)
{
    (void)fd, (void)off, (void)len, (void)advice;
    return 0;
}
#define posix_fadvise      mm_win_posix_fadvise
#define malloc_usable_size _msize
/* glibc's malloc tuning: the Windows heap has none of it (the call is accepted, changes nothing) */
#ifndef M_MMAP_THRESHOLD
#define M_TRIM_THRESHOLD (-1)
#define M_MMAP_THRESHOLD (-3)
#define M_ARENA_MAX      (-8)
#endif
static inline int mm_win_mallopt(int param, int value)
{
    (void)param, (void)value;
    return 1;
}
#define mallopt mm_win_mallopt

/* ---- time, errors, system ------------------------------------------------------------------ */

struct tm *mm_win_localtime_r(const time_t *t, struct tm *out);
struct tm *mm_win_gmtime_r(const time_t *t, struct tm *out);
time_t mm_win_timegm(struct tm *tm);
int mm_win_strerror_r(int errnum, char *buf, size_t n);
void mm_win_explicit_bzero(void *p, size_t n);
long mm_win_sysconf(int name);
int mm_win_kill(pid_t pid, int sig);
uid_t mm_win_geteuid(void);
#undef localtime_r
#undef gmtime_r
#define localtime_r    mm_win_localtime_r
#define gmtime_r       mm_win_gmtime_r
#define timegm         mm_win_timegm
#define strerror_r     mm_win_strerror_r
#define explicit_bzero mm_win_explicit_bzero
#define sysconf        mm_win_sysconf
#define kill           mm_win_kill
#define geteuid        mm_win_geteuid
#define getuid         mm_win_geteuid

#ifdef __cplusplus
}
#endif

#endif /* _WIN32 */
#endif
