/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one JSON string writer of mamori (machine output of the CLI, records,
 * truth files). Quotes, backslashes and control characters are escaped; bytes
 * that are not well-formed UTF-8 become U+FFFD, so the output is always JSON.
 */
#ifndef MM_COMMON_JSON_H
#define MM_COMMON_JSON_H

#include "common/buf.h"

/*
 * Append the @n bytes at @s as a JSON string literal (with its quotes) to @b.
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_json_strn(mm_buf *b, const char *s, size_t n);

/* Append the C string @s as a JSON string literal. @return as mm_json_strn() */
int mm_json_str(mm_buf *b, const char *s);

/* Append `"key":` followed by @value as a JSON string, preceded by a comma unless @first. */
int mm_json_kv(mm_buf *b, int first, const char *key, const char *value);

#endif
