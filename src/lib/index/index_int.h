/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/index: the index handle, SQLite error mapping and the schema's
 * statements shared by the builder and the queries.
 */
#ifndef MM_INDEX_INDEX_INT_H
#define MM_INDEX_INDEX_INT_H

#include <sqlite3.h>

#include "index/index.h"

struct mm_index {
    sqlite3 *db;
    char *path; /* final file name; NULL for in-memory indexes */
    char *tmp;  /* "<path>.tmp" being written, NULL when read-only or committed */
    int writable;
    int demographics; /* built with MM_INDEX_DEMOGRAPHICS */
    int version;      /* PRAGMA user_version: 1 summaries as text, 2 as zstd frames */
};

/* Map SQLite result @rc of @db to an mm_err and set a message "@what: <sqlite message>". */
int mm_index__sql_error(sqlite3 *db, int rc, const char *what);

/* Prepare @sql on @ix into *stmt. OUT: *stmt. @return 0 or an mm_err */
int mm_index__prepare(mm_index *ix, const char *sql, sqlite3_stmt **stmt);

/* Run @sql (no results, no parameters). @return 0 or an mm_err */
int mm_index__exec(mm_index *ix, const char *sql);

/* Bind @s as text (SQLITE_STATIC: it must outlive the step). @return 0 or an mm_err */
int mm_index__bind(sqlite3_stmt *st, int i, const char *s);

/* Write the meta row 'content' for the build mode. @return 0 or an mm_err */
int mm_index__set_content(mm_index *ix, int demographics);

#endif
