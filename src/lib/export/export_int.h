/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the files of the export module share (never included from outside src/lib/export).
 */
#ifndef MM_EXPORT_EXPORT_INT_H
#define MM_EXPORT_EXPORT_INT_H

#include <stdint.h>
#include <stdio.h>

#include "export/export.h"

/* Rows written to @c so far (headers not counted); 0 for NULL. */
uint64_t mm_export__csv_rows(const mm_export_csv *c);

/*
 * Write the text @s (NULL: empty) as one CSV cell to @f, preceded by a comma unless @first:
 * a leading = + - @ tab or CR escaped with an apostrophe, quoted when it holds a comma, a
 * quote or a line break (quotes doubled), bytes that are not UTF-8 as U+FFFD.
 */
void mm_export__csv_cell(FILE *f, const char *s, int first);

#endif
