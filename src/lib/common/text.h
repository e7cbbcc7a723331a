/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text laid out for a terminal: the columns UTF-8 text takes (East Asian wide and full-width
 * characters take two), so that tables of Japanese names line up.
 */
#ifndef MM_COMMON_TEXT_H
#define MM_COMMON_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode the character at byte @*i of the @n bytes at @s into @cp and advance @*i past it.
 * A malformed sequence decodes as its lead byte's value and advances by what it has of a
 * sequence, so every byte is consumed exactly once. @return 1, or 0 at the end
 */
int mm_text_next(const char *s, size_t n, size_t *i, uint32_t *cp);

/* Characters (not bytes) in the @n bytes of UTF-8 at @s. */
size_t mm_text_chars(const char *s, size_t n);

/* Terminal columns of the UTF-8 string @s (a malformed sequence counts as one character). */
int mm_text_width(const char *s);

#endif
