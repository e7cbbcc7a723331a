/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded growable buffer. Capacity doubles (at least 64 bytes), capped at the
 * limit plus the terminating NUL, so appends are amortised O(1).
 */
#include "common/buf.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

void mm_buf_init(mm_buf *b, size_t limit)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void mm_buf_release(mm_buf *b)
{
    mm_free(b->ptr);
    mm_buf_init(b, b->limit);
}

void mm_buf_clear(mm_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

int mm_buf_grow(mm_buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (n > b->limit || b->len > b->limit - n)
        return mm_error_set(MM_ELIMIT, "buffer over its limit of %zu bytes", b->limit);
    need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > b->limit ? b->limit + 1 : cap * 2;
    if (cap < need)
        cap = need;
    p = mm_realloc(b->ptr, cap);
    if (!p)
        return MM_ENOMEM;
    b->ptr = p;
    b->cap = cap;
    return 0;
}

int mm_buf_reserve(mm_buf *b, size_t cap)
{
    char *p;

    if (cap <= b->cap)
        return 0;
    if (cap > b->limit + 1)
        return mm_error_set(MM_ELIMIT, "buffer over its limit of %zu bytes", b->limit);
    if (!(p = mm_realloc(b->ptr, cap)))
        return MM_ENOMEM;
    b->ptr = p;
    b->cap = cap;
    return 0;
}

int mm_buf_put(mm_buf *b, const void *data, size_t n)
{
    int err = mm_buf_grow(b, n);

    if (err < 0)
        return err;
    if (n)
        memcpy(b->ptr + b->len, data, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return 0;
}

int mm_buf_puts(mm_buf *b, const char *s)
{
    return mm_buf_put(b, s, strlen(s));
}

int mm_buf_putc(mm_buf *b, int c)
{
    unsigned char ch = (unsigned char)c;

    return mm_buf_put(b, &ch, 1);
}

int mm_buf_vprintf(mm_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n, err;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return mm_error_set(MM_EINVAL, "bad format string");
    if ((err = mm_buf_grow(b, (size_t)n)) < 0)
        return err;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int mm_buf_printf(mm_buf *b, const char *fmt, ...)
{
    va_list ap;
    int err;

    va_start(ap, fmt);
    err = mm_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return err;
}

void mm_buf_truncate(mm_buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->ptr[len] = '\0';
    }
}

char *mm_buf_detach(mm_buf *b)
{
    char *p = b->ptr;

    if (!p)
        return mm_strdup("");
    mm_buf_init(b, b->limit);
    return p;
}
