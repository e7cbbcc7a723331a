/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text laid out for a terminal: the columns UTF-8 text takes (East Asian wide and full-width
 * characters take two), so that tables of Japanese names line up.
 */
#ifndef MM_COMMON_TEXT_H
#define MM_COMMON_TEXT_H

/* Terminal columns of the UTF-8 string @s (a malformed sequence counts as one character). */
int mm_text_width(const char *s);

#endif
