/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text laid out for a terminal: the one UTF-8 decoder of mamori, the columns UTF-8 text takes
 * (East Asian wide and full-width characters take two), so that tables of Japanese names line
 * up, and the escaping that keeps text from outside (file names, HL7 values, audit details)
 * from acting on the terminal it is printed to.
 */
#ifndef MM_COMMON_TEXT_H
#define MM_COMMON_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode the UTF-8 character at @p (@n > 0 bytes available): well-formed only (no overlong
 * form, surrogate or value above U+10FFFF).
 * @param[out] cp its code point (the first byte when malformed)
 * @return its length, 1 to 4, or 0 when the bytes there are not well-formed UTF-8
 */
size_t mm_text_utf8(const unsigned char *p, size_t n, uint32_t *cp);

/*
 * Decode the character at byte @*i of the @n bytes at @s into @cp (mm_text_utf8; a malformed
 * byte decodes as itself) and advance @*i past it. @return 1, or 0 at the end
 */
int mm_text_next(const char *s, size_t n, size_t *i, uint32_t *cp);

/* Characters (not bytes) in the @n bytes of UTF-8 at @s (a malformed byte counts as one). */
size_t mm_text_chars(const char *s, size_t n);

/* Terminal columns of the UTF-8 string @s (a malformed byte counts as one column). */
int mm_text_width(const char *s);

/* Whether the @n bytes at @s print as they are: well-formed UTF-8 without control characters
 * (C0 including newline and tab, DEL, C1 U+0080 to U+009F). */
int mm_text_is_plain(const char *s, size_t n);

/*
 * Copy the @n bytes at @s into @out (@cap bytes, always NUL-terminated, cut before a whole
 * character or escape that does not fit) with every byte a terminal could act on shown
 * visibly: C0 controls and DEL as `\x1b`, `\x7f`; C1 controls as `\u009b`; bytes that are
 * not well-formed UTF-8 as `\xff`. Everything else, backslashes included, is copied.
 * At most 4 bytes of output per byte of input (plus the NUL).
 * @return @out
 */
const char *mm_text_escape(char *out, size_t cap, const char *s, size_t n);

#endif
