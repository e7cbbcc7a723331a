/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded growable byte buffer (curl's dynbuf). Each buffer is created with a
 * hard limit; appending past it fails with MM_ELIMIT and leaves the content as
 * it was. The content is always NUL-terminated (the NUL is not counted in len)
 * so text can be handed to C string functions.
 */
#ifndef MM_COMMON_BUF_H
#define MM_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common/attr.h"

typedef struct mm_buf {
    char *ptr;    /* NULL until the first append */
    size_t len;   /* bytes used, without the terminating NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* largest len allowed */
} mm_buf;

/* Start an empty buffer that may grow to @limit bytes. Never fails. */
void mm_buf_init(mm_buf *b, size_t limit);

/* Free the content and make @b empty again, keeping its limit. Accepts an unused buffer. */
void mm_buf_release(mm_buf *b);

/* Make @b empty but keep its memory for reuse. */
void mm_buf_clear(mm_buf *b);

/*
 * Append @n bytes.
 * @return 0, MM_ELIMIT when the limit would be passed, MM_ENOMEM
 */
int mm_buf_put(mm_buf *b, const void *data, size_t n);

/* Append a C string. @return as mm_buf_put() */
int mm_buf_puts(mm_buf *b, const char *s);

/* Append one byte. @return as mm_buf_put() */
int mm_buf_putc(mm_buf *b, int c);

/* Append formatted text. @return as mm_buf_put() */
int mm_buf_printf(mm_buf *b, const char *fmt, ...) MM_PRINTF(2, 3);
int mm_buf_vprintf(mm_buf *b, const char *fmt, va_list ap) MM_PRINTF(2, 0);

/* Make room for @n more bytes without changing len. @return as mm_buf_put() */
int mm_buf_grow(mm_buf *b, size_t n);

/*
 * Make the capacity at least @cap bytes in one allocation (no doubling past it), for a
 * buffer whose final size is known. @return as mm_buf_put()
 */
int mm_buf_reserve(mm_buf *b, size_t cap);

/* Shorten the content to @len bytes (no-op when already shorter). */
void mm_buf_truncate(mm_buf *b, size_t len);

/*
 * Hand the content to the caller, who frees it with mm_free(), and make @b empty.
 * @return the content (never NULL: an empty buffer yields a fresh "") or NULL on ENOMEM
 */
char *mm_buf_detach(mm_buf *b);

#endif
