/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to os/win: the UTF-8 to `\\?\` path step every shim takes (with the check of names
 * Windows forbids), the table of folder descriptors and the paths they were opened with
 * (openat, fstatat, fdopendir need them: Windows has no *at() calls), and errno from
 * GetLastError(). Only the C files of os/win include windows.h, through this header.
 */
#ifndef MM_OS_WIN_OS_WIN_INT_H
#define MM_OS_WIN_OS_WIN_INT_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <stdint.h>
#include <windows.h>

/* Set errno from the Windows error @e. @return -1 */
int mm_win__errno(DWORD e);

/* Set errno from GetLastError(). @return -1 */
int mm_win__last_errno(void);

/*
 * The `\\?\` path of @path: relative to the folder descriptor @dirfd (AT_FDCWD: the current
 * folder). A name Windows forbids gives EINVAL (and the thread's mm error message says
 * which rule). OUT: @out, freed with mm_free(). @return 0, -1 with errno set
 */
int mm_win__wpath(int dirfd, const char *path, wchar_t **out);

/* Remember that @fd is a folder opened at the `\\?\` path @w (copied). @return 0, -1 */
int mm_win__dirfd_add(int fd, const wchar_t *w);

/* A copy of the path folder descriptor @fd was opened at, or NULL (errno EBADF). */
wchar_t *mm_win__dirfd_path(int fd);

/* Forget folder descriptor @fd (on close), and the listing of mm_os_dir_read() on it. */
void mm_win__dirfd_forget(int fd);

/* The listing mm_os_dir_read() keeps for folder descriptor @fd, or NULL. */
void *mm_win__dirfd_stream(int fd);

/* Keep @stream for @fd (freed with mm_win__dir_stream_free() when @fd is closed). */
void mm_win__dirfd_set_stream(int fd, void *stream);

/* Free a listing of mm_os_dir_read() (os_win_dir.c). */
void mm_win__dir_stream_free(void *stream);

/* The reason the last path of this thread was refused (a name Windows forbids), or NULL. */
const char *mm_win__forbidden_why(void);

/*
 * The flags (FILE_READ_ONLY_VOLUME...) and, when @fs is not NULL, the file system name (@fscap
 * units) of the volume holding the `\\?\` path @w. @return 0, -1 with errno set
 */
int mm_win__volume_info(const wchar_t *w, DWORD *flags, wchar_t *fs, DWORD fscap);

/* Whether the volume holding the `\\?\` path @w is read-only (write-protected medium, CD). */
int mm_win__volume_readonly(const wchar_t *w);

/* Seconds and nanoseconds since 1970 of the Windows file time @ft. */
struct timespec mm_win__timespec(FILETIME ft);

/* The Windows file time of @ts. */
FILETIME mm_win__filetime(const struct timespec *ts);

#endif
