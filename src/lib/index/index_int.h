/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/index: the index handle, SQLite error mapping and the schema's
 * statements shared by the builder and the queries.
 */
#ifndef MM_INDEX_INDEX_INT_H
#define MM_INDEX_INDEX_INT_H

#include <sqlite3.h>

#include "index/index.h"

/* The patient rows of a read-only in-memory index, for mm_index_find() without SQL. */
struct mm_index__rows {
    size_t n;
    const char **col; /* n * ROW_COLS strings: id, name, kana, sex, birth_date, name_key,
                         kana_key; rows sorted by id */
    char *arena;      /* the strings */
    char *keys;       /* every row's "name_key\x01kana_key\x02", one after the other, then a NUL */
    size_t *key_off;  /* where row i's keys start in keys; key_off[n] is the end */
};
void mm_index__rows_free(struct mm_index__rows *r);

struct mm_index {
    sqlite3 *db;
    int memory;                        /* read-only pages in memory (mm_index_open_pages) */
    void *pages;                       /* mm_index_open_pages: its source of pages */
    struct mm_index__rows *rows;       /* built at the first find of a memory index */
    sqlite3_stmt *st_summary, *st_lab; /* a memory index keeps these prepared (reset after use) */
    void *dctx;                        /* ZSTD_DCtx for summaries, made at the first */
    char *path;                        /* final file name; NULL for in-memory indexes */
    char *tmp; /* "<path>.tmp" being written, NULL when read-only or committed */
    int writable;
    int demographics; /* built with MM_INDEX_DEMOGRAPHICS */
    int version;      /* PRAGMA user_version: 1 summaries as text, 2 as zstd frames */
};

/* Open @name with @flags into ix->db (extended result codes on). @return 0 or an mm_err */
int mm_index__open_db(mm_index *ix, const char *name, int flags);
/* Check that ix->db is a mamori index of a version this build reads. @return 0 or an mm_err */
int mm_index__check_format(mm_index *ix);
/* Forget a source of pages of mm_index_open_pages (after its connection is closed). */
void mm_index__pages_free(void *src);

/* Map SQLite result @rc of @db to an mm_err and set a message "@what: <sqlite message>". */
int mm_index__sql_error(sqlite3 *db, int rc, const char *what);

/* Prepare @sql on @ix into *stmt. OUT: *stmt. @return 0 or an mm_err */
int mm_index__prepare(mm_index *ix, const char *sql, sqlite3_stmt **stmt);

/* Run @sql (no results, no parameters). @return 0 or an mm_err */
int mm_index__exec(mm_index *ix, const char *sql);

/*
 * The statement @sql for a query run often: a memory index keeps it prepared in *@slot
 * (release with mm_index__done), another index prepares it each time. OUT: *stmt
 * @return 0 or an mm_err
 */
int mm_index__prepare_kept(mm_index *ix, sqlite3_stmt **slot, const char *sql, sqlite3_stmt **stmt);
/* After a statement of mm_index__prepare_kept: reset it if kept, else finalize it. */
void mm_index__done(mm_index *ix, sqlite3_stmt **slot, sqlite3_stmt *stmt);

/* Bind @s as text (SQLITE_STATIC: it must outlive the step). @return 0 or an mm_err */
int mm_index__bind(sqlite3_stmt *st, int i, const char *s);

/* Write the meta row 'content' for the build mode. @return 0 or an mm_err */
int mm_index__set_content(mm_index *ix, int demographics);

#endif
