/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging through a sink the program installs (the library never prints), and
 * the path redactor that keeps patient IDs out of every message and log line:
 * SS-MIX2 paths embed the patient ID in three folder levels and in every file
 * name, so any path shown to a person goes through mm_log_path() first.
 */
#ifndef MM_COMMON_LOG_H
#define MM_COMMON_LOG_H

#include <stddef.h>

#include "common/attr.h"

enum mm_log_level { MM_LOG_ERROR = 0, MM_LOG_WARN = 1, MM_LOG_INFO = 2, MM_LOG_DEBUG = 3 };

typedef void (*mm_log_sink)(enum mm_log_level level, const char *msg, void *ctx);

/* Install @sink (NULL: drop everything) and the most verbose @level it wants. */
void mm_log_set_sink(mm_log_sink sink, void *ctx, enum mm_log_level level);

/* Send one message to the sink. The text must already be free of patient data. */
void mm_log(enum mm_log_level level, const char *fmt, ...) MM_PRINTF(2, 3);

/*
 * Write into @out (@cap bytes, always NUL-terminated, cut with "..." when short)
 * a copy of @path in which every patient ID is replaced by "*": the
 * <pid[0:3]>/<pid[3:6]>/<pid> folder levels and the first field of SS-MIX2 file
 * and content-folder names, and any other occurrence of an ID found that way.
 * @return @out, so that it can be used inside a format call
 */
const char *mm_log_path(char *out, size_t cap, const char *path);

/* Buffer size that fits any redacted path mamori prints. */
#define MM_LOG_PATH_MAX 1024

#endif
