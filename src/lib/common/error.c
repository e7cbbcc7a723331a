/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Thread-local last-error storage. The buffer is fixed-size, so setting an
 * error never allocates and works even after an allocation failure.
 */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_msg[512];

MM_PRINTF(1, 0) static void vset(const char *fmt, va_list ap)
{
    char tmp[sizeof(last_msg)];

    /* format into a copy: an argument may be mm_error_last() itself (adding context) */
    if (vsnprintf(tmp, sizeof(tmp), fmt, ap) < 0)
        tmp[0] = '\0';
    memcpy(last_msg, tmp, sizeof(tmp));
}

int mm_error_set(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset(fmt, ap);
    va_end(ap);
    return code;
}

int mm_error_set_errno(int code, int errnum, const char *fmt, ...)
{
    va_list ap;
    size_t n;
    char ebuf[128];
    const char *es;

    va_start(ap, fmt);
    vset(fmt, ap);
    va_end(ap);
    es = strerror_r(errnum, ebuf, sizeof(ebuf)) == 0 ? ebuf : "unknown error";
    n = strlen(last_msg);
    snprintf(last_msg + n, sizeof(last_msg) - n, ": %s", es);
    return code;
}

const char *mm_error_last(void)
{
    return last_msg;
}

void mm_error_clear(void)
{
    last_msg[0] = '\0';
}

const char *mm_error_name(int code)
{
    switch (code) {
    case MM_OK:
        return "ok";
    case MM_ENOMEM:
        return "nomem";
    case MM_EINVAL:
        return "invalid";
    case MM_ENOTFOUND:
        return "notfound";
    case MM_EEXISTS:
        return "exists";
    case MM_ECORRUPT:
        return "corrupt";
    case MM_EAUTH:
        return "auth";
    case MM_ELIMIT:
        return "limit";
    case MM_EIO:
        return "io";
    case MM_ELOCKED:
        return "locked";
    case MM_EREFUSED:
        return "refused";
    default:
        return "error";
    }
}
