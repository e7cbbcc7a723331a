/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error codes and the thread-local last-error message (libgit2's model).
 * Every library function returns 0 or a negative enum mm_err and, on failure,
 * leaves a lower-case message without a period in thread-local storage, so the
 * threaded viewer never sees another thread's message. Messages never carry
 * patient data: callers redact paths with mm_log_path() before formatting.
 */
#ifndef MM_COMMON_ERROR_H
#define MM_COMMON_ERROR_H

#include "common/attr.h"

enum mm_err {
    MM_OK = 0,
    MM_ERROR = -1,     /* generic failure */
    MM_ENOMEM = -2,    /* out of memory */
    MM_EINVAL = -3,    /* invalid argument or usage */
    MM_ENOTFOUND = -4, /* the thing asked for does not exist */
    MM_EEXISTS = -5,   /* the thing to create exists already */
    MM_ECORRUPT = -6,  /* input or stored data is damaged or malformed */
    MM_EAUTH = -7,     /* authentication failed (passphrase, MAC) */
    MM_ELIMIT = -8,    /* input is over a limit of mm_limits.h */
    MM_EIO = -9,       /* an operating-system call failed */
    MM_ELOCKED = -10,  /* the resource is locked by someone else */
    MM_EREFUSED = -11  /* refused by a safety rule (a secret file others can read) */
};

/*
 * Record a message for the calling thread and return @code, so that callers can
 * write `return mm_error_set(MM_ECORRUPT, "pack '%s': bad mac", id);`.
 * @return @code unchanged
 */
int mm_error_set(int code, const char *fmt, ...) MM_PRINTF(2, 3);

/*
 * Like mm_error_set(), and appends ": <strerror(errnum)>".
 * @return @code unchanged
 */
int mm_error_set_errno(int code, int errnum, const char *fmt, ...) MM_PRINTF(3, 4);

/* The calling thread's last message, or "" when there is none. Borrowed until the next set. */
const char *mm_error_last(void);

/* Forget the calling thread's last message. */
void mm_error_clear(void);

/* A short stable name for @code ("corrupt", "io", ...), for --json output. */
const char *mm_error_name(int code);

#ifndef NDEBUG
#include <assert.h>
#define MM_ASSERT_ARG(expr) \
    do {                    \
        assert(expr);       \
    } while (0)
#else
#define MM_ASSERT_ARG(expr)                                                 \
    do {                                                                    \
        if (!(expr))                                                        \
            return mm_error_set(MM_EINVAL, "invalid argument '%s'", #expr); \
    } while (0)
#endif

/* SQLite's markers for defensive branches that tests should never reach. */
#define ALWAYS(x) (x)
#define NEVER(x)  (x)

#endif
