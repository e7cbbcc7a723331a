/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operating-system helpers: folder creation, bounded file reads, and the one
 * crash-safe way mamori replaces a file (write a temporary name, fsync, rename,
 * fsync the folder). _GNU_SOURCE is allowed in this module only.
 */
#ifndef MM_OS_OS_H
#define MM_OS_OS_H

#include <stddef.h>
#include <sys/types.h>

#include "common/buf.h"

/*
 * Create @path and every missing parent with @mode. An existing folder is fine.
 * @return 0, MM_EIO (message names the redacted path)
 */
int mm_os_mkdir_p(const char *path, mode_t mode);

/*
 * Append the whole content of the file at @path to @out (bounded by out->limit).
 * @return 0, MM_ENOTFOUND, MM_ELIMIT when the file is larger than the buffer allows, MM_EIO
 */
int mm_os_read_file(const char *path, mm_buf *out);

/*
 * Replace @path with @n bytes of @data crash-safely: temporary name in the same
 * folder, fsync, rename over @path, fsync of the folder.
 * @return 0, MM_EIO (nothing of the old file is lost on failure)
 */
int mm_os_write_atomic(const char *path, const void *data, size_t n);

/*
 * Write all @n bytes of @data to the open file @fd, retrying short writes and EINTR.
 * @path names the file in the error message (redacted).
 * @return 0, MM_EIO (a full disk is reported as such by the system message)
 */
int mm_os_write_all(int fd, const void *data, size_t n, const char *path);

/* fsync the folder @dir so that a rename in it is durable. @return 0, MM_EIO */
int mm_os_fsync_dir(const char *dir);

/*
 * Folder listing straight from the kernel (getdents64): no DIR stream, so a folder costs
 * open, one or two reads and close — a backup lists hundreds of thousands of them.
 * mm_os_dir_read() fills @buf (at least 1 KiB) with raw entries; mm_os_dir_next() walks them.
 * @return bytes read (0 at the end), or -1 with errno set
 */
long mm_os_dir_read(int fd, void *buf, size_t cap);
/*
 * The entry at *@off of the @n bytes read into @buf, advancing *@off; "." and ".." are
 * skipped. @return the NUL-terminated name (in @buf), or NULL when none is left
 */
const char *mm_os_dir_next(const void *buf, size_t n, size_t *off);

#endif
