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

#endif
