/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The index database: schema, create/open/commit/free, bytes in and out, SQLite errors.
 * A file index is always written under "<path>.tmp" (journal in memory, no syncs while
 * building) and made durable only by mm_index_commit(): fsync, rename, fsync the folder,
 * so the final name never names a half-built index. A file is a mamori index when its
 * SQLite header has our application_id ('mmix') and user_version, and its meta table says
 * format 'mamori-index' and a version this code reads.
 *
 * Schema, version 2 (version 1, still read, stored the summaries as plain text):
 *   meta(key, value)                      format, version, content (full | demographics)
 *   patient(id, name, kana, sex, birth_date, name_key, kana_key)      one row per patient
 *   summary(patient_id, json)             record JSON as one zstd frame (a tenth of the text:
 *                                         the index travels inside every generation), in its
 *                                         own table so that a name search reads small rows
 *   lab(patient_id, seq, code, name, unit, range, collected_at, value, flag)
 *                                         current results, clustered by patient
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/log.h"
#include "index/index_int.h"
#include "os/os.h"

#define APPLICATION_ID 0x6D6D6978 /* 'mmix' in the SQLite header */
#define FORMAT_NAME    "mamori-index"
#define CACHE_KIB      16384 /* page cache while building, in KiB (the file is a temporary copy) */

static const char schema_sql[] =
        "CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE patient(id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,"
        " kana TEXT NOT NULL, sex TEXT NOT NULL, birth_date TEXT NOT NULL,"
        " name_key TEXT NOT NULL, kana_key TEXT NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX patient_birth ON patient(birth_date);"
        "CREATE TABLE summary(patient_id TEXT PRIMARY KEY NOT NULL, json BLOB NOT NULL);"
        "CREATE TABLE lab(patient_id TEXT NOT NULL, seq INTEGER NOT NULL, code TEXT NOT NULL,"
        " name TEXT NOT NULL, unit TEXT NOT NULL, range TEXT NOT NULL,"
        " collected_at TEXT NOT NULL, value TEXT NOT NULL, flag TEXT NOT NULL,"
        " PRIMARY KEY(patient_id, seq)) WITHOUT ROWID;"
        "INSERT INTO meta(key, value) VALUES('format', '" FORMAT_NAME "'),"
        " ('content', 'full');";

int mm_index__sql_error(sqlite3 *db, int rc, const char *what)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int code;

    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return mm_error_set(MM_ENOMEM, "out of memory");
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
    case SQLITE_SCHEMA:
    case SQLITE_ERROR: /* a missing table or column: not our schema */
        code = MM_ECORRUPT;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = MM_ELOCKED;
        break;
    case SQLITE_TOOBIG:
        code = MM_ELIMIT;
        break;
    default:
        code = MM_EIO;
        break;
    }
    /* SQLite's messages name tables and columns, never bound values */
    return mm_error_set(code, "index: %s: %s", what, msg ? msg : "error");
}

int mm_index__prepare(mm_index *ix, const char *sql, sqlite3_stmt **stmt)
{
    int rc = sqlite3_prepare_v2(ix->db, sql, -1, stmt, NULL);

    if (rc != SQLITE_OK) {
        *stmt = NULL;
        return mm_index__sql_error(ix->db, rc, "prepare");
    }
    return 0;
}

int mm_index__prepare_kept(mm_index *ix, sqlite3_stmt **slot, const char *sql, sqlite3_stmt **stmt)
{
    int err;

    if (!ix->memory)
        return mm_index__prepare(ix, sql, stmt);
    if (!*slot && (err = mm_index__prepare(ix, sql, slot)) < 0)
        return err;
    *stmt = *slot;
    return 0;
}

void mm_index__done(mm_index *ix, sqlite3_stmt **slot, sqlite3_stmt *stmt)
{
    if (ix->memory && stmt && stmt == *slot) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt); /* the bound text was the caller's */
        return;
    }
    sqlite3_finalize(stmt);
}

int mm_index__exec(mm_index *ix, const char *sql)
{
    int rc = sqlite3_exec(ix->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : mm_index__sql_error(ix->db, rc, "exec");
}

int mm_index__bind(sqlite3_stmt *st, int i, const char *s)
{
    int rc = sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_STATIC);

    return rc == SQLITE_OK ? 0 : mm_index__sql_error(sqlite3_db_handle(st), rc, "bind");
}

int mm_index__set_content(mm_index *ix, int demographics)
{
    int err = mm_index__exec(ix, demographics ? "UPDATE meta SET value = 'demographics'"
                                                " WHERE key = 'content'"
                                              : "UPDATE meta SET value = 'full'"
                                                " WHERE key = 'content'");
    if (err == 0)
        ix->demographics = demographics;
    return err;
}

/* Set the pragmas of a writable index (journal in memory, no syncs: commit syncs once). */
static int writable_pragmas(mm_index *ix)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;"
             " PRAGMA locking_mode = EXCLUSIVE; PRAGMA temp_store = MEMORY;"
             " PRAGMA cache_size = -%d;",
             CACHE_KIB);
    return mm_index__exec(ix, sql);
}

/* Check that @ix is a mamori index of a version we read, and read its build mode. */
int mm_index__check_format(mm_index *ix)
{
    sqlite3_stmt *st = NULL;
    long long app = 0, ver = 0;
    int rc, err = 0, have_format = 0;

    if ((err = mm_index__prepare(ix, "PRAGMA application_id", &st)) < 0)
        goto out;
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
        err = mm_index__sql_error(ix->db, rc, "read header");
        goto out;
    }
    app = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (app != APPLICATION_ID) {
        err = mm_error_set(MM_ECORRUPT, "not a mamori index");
        goto out;
    }
    if ((err = mm_index__prepare(ix, "PRAGMA user_version", &st)) < 0)
        goto out;
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
        err = mm_index__sql_error(ix->db, rc, "read header");
        goto out;
    }
    ver = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    ix->version = (int)ver;
    if (ver < 1 || ver > MM_INDEX_VERSION) {
        err = mm_error_set(MM_ECORRUPT,
                           "index version %lld is not supported (this mamori reads"
                           " 1 to %d)",
                           ver, MM_INDEX_VERSION);
        goto out;
    }
    if ((err = mm_index__prepare(ix, "SELECT key, value FROM meta", &st)) < 0)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        const char *v = (const char *)sqlite3_column_text(st, 1);
        if (!k || !v)
            continue;
        if (strcmp(k, "format") == 0)
            have_format = strcmp(v, FORMAT_NAME) == 0;
        else if (strcmp(k, "content") == 0)
            ix->demographics = strcmp(v, "demographics") == 0;
    }
    if (rc != SQLITE_DONE) {
        err = mm_index__sql_error(ix->db, rc, "read meta");
        goto out;
    }
    if (!have_format)
        err = mm_error_set(MM_ECORRUPT, "not a mamori index");
out:
    sqlite3_finalize(st);
    return err;
}

/* Open SQLite database @name with @flags into ix->db. */
int mm_index__open_db(mm_index *ix, const char *name, int flags)
{
    int rc = sqlite3_open_v2(name, &ix->db, flags | SQLITE_OPEN_NOMUTEX, NULL);

    if (rc != SQLITE_OK) {
        int err = mm_index__sql_error(ix->db, rc, "open");
        sqlite3_close(ix->db);
        ix->db = NULL;
        return err;
    }
    sqlite3_extended_result_codes(ix->db, 1);
    return 0;
}

/* Set ix->path and ix->tmp from @path and remove a stale temporary file. */
static int set_paths(mm_index *ix, const char *path)
{
    char red[MM_LOG_PATH_MAX];
    size_t n = strlen(path);

    if (n == 0 || n + 5 > MM_LIMIT_PATH)
        return mm_error_set(MM_ELIMIT, "index path too long");
    if (!(ix->path = mm_strdup(path)) || !(ix->tmp = mm_malloc(n + 5)))
        return MM_ENOMEM;
    memcpy(ix->tmp, path, n);
    memcpy(ix->tmp + n, ".tmp", 5);
    if (unlink(ix->tmp) != 0 && errno != ENOENT)
        return mm_error_set_errno(MM_EIO, errno, "cannot remove '%s'",
                                  mm_log_path(red, sizeof(red), ix->tmp));
    return 0;
}

int mm_index_create(mm_index **out, const char *path)
{
    mm_index *ix = NULL;
    char sql[128];
    int err;

    MM_ASSERT_ARG(out && path);
    if (!(ix = mm_calloc(1, sizeof(*ix))))
        return MM_ENOMEM;
    ix->writable = 1;
    ix->version = MM_INDEX_VERSION;
    if (strcmp(path, ":memory:") == 0)
        err = mm_index__open_db(ix, ":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    else if ((err = set_paths(ix, path)) == 0)
        err = mm_index__open_db(ix, ix->tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (err < 0)
        goto out;
    /* 4096-byte pages: the repository stores the index in pieces of this size */
    if ((err = mm_index__exec(ix, "PRAGMA page_size = 4096")) < 0 ||
        (err = writable_pragmas(ix)) < 0)
        goto out;
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d;",
             APPLICATION_ID, MM_INDEX_VERSION);
    if ((err = mm_index__exec(ix, "BEGIN")) < 0)
        goto out;
    if ((err = mm_index__exec(ix, sql)) < 0 || (err = mm_index__exec(ix, schema_sql)) < 0 ||
        (err = mm_index__exec(ix, "COMMIT")) < 0) {
        sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
out:
    if (err < 0) {
        mm_index_free(ix);
        return err;
    }
    *out = ix;
    return 0;
}

int mm_index_open(mm_index **out, const char *path, unsigned int flags)
{
    char red[MM_LOG_PATH_MAX];
    mm_index *ix = NULL;
    sqlite3 *src = NULL;
    sqlite3_backup *bk = NULL;
    struct stat sb;
    int err, rc;

    MM_ASSERT_ARG(out && path);
    if (stat(path, &sb) != 0)
        return mm_error_set_errno(errno == ENOENT ? MM_ENOTFOUND : MM_EIO, errno,
                                  "cannot open index '%s'", mm_log_path(red, sizeof(red), path));
    if (!S_ISREG(sb.st_mode))
        return mm_error_set(MM_ECORRUPT, "index '%s' is not a file",
                            mm_log_path(red, sizeof(red), path));
    if (!(ix = mm_calloc(1, sizeof(*ix))))
        return MM_ENOMEM;
    if ((err = mm_index__open_db(ix, path, SQLITE_OPEN_READONLY)) < 0 ||
        (err = mm_index__check_format(ix)) < 0)
        goto out;
    if (!(flags & MM_INDEX_OPEN_WRITE)) {
        mm_index__exec(ix, "PRAGMA cache_size = -8192");
        goto out;
    }
    /* work on a copy: "<path>.tmp", renamed over @path by mm_index_commit() */
    src = ix->db;
    ix->db = NULL;
    if ((err = set_paths(ix, path)) < 0 ||
        (err = mm_index__open_db(ix, ix->tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) < 0)
        goto out;
    ix->writable = 1;
    if (!(bk = sqlite3_backup_init(ix->db, "main", src, "main"))) {
        err = mm_index__sql_error(ix->db, sqlite3_errcode(ix->db), "copy");
        goto out;
    }
    rc = sqlite3_backup_step(bk, -1);
    sqlite3_backup_finish(bk);
    if (rc != SQLITE_DONE) {
        err = mm_index__sql_error(ix->db, rc, "copy");
        goto out;
    }
    if ((err = writable_pragmas(ix)) < 0)
        goto out;
    err = mm_index__check_format(ix);
out:
    sqlite3_close(src);
    if (err < 0) {
        mm_index_free(ix);
        return err;
    }
    *out = ix;
    return 0;
}

int mm_index_from_bytes(mm_index **out, const void *data, size_t n)
{
    mm_index *ix = NULL;
    unsigned char *copy = NULL;
    int err, rc;

    MM_ASSERT_ARG(out && (data || n == 0));
    if (n < 512)
        return mm_error_set(MM_ECORRUPT, "not a mamori index");
    if (!(ix = mm_calloc(1, sizeof(*ix))))
        return MM_ENOMEM;
    ix->writable = 1;
    if ((err = mm_index__open_db(ix, ":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) < 0)
        goto out;
    if (!(copy = sqlite3_malloc64(n))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(copy, data, n);
    rc = sqlite3_deserialize(ix->db, "main", copy, (sqlite3_int64)n, (sqlite3_int64)n,
                             SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
    copy = NULL; /* now owned by SQLite, even on failure */
    if (rc != SQLITE_OK) {
        err = mm_index__sql_error(ix->db, rc, "load");
        goto out;
    }
    if ((err = mm_index__check_format(ix)) < 0)
        goto out;
    err = mm_index__exec(ix, "PRAGMA journal_mode = MEMORY; PRAGMA temp_store = MEMORY");
out:
    if (err < 0) {
        mm_index_free(ix);
        return err;
    }
    *out = ix;
    return 0;
}

int mm_index_to_bytes(mm_index *ix, mm_buf *out)
{
    sqlite3_int64 sz = 0;
    unsigned char *p;
    int err;

    MM_ASSERT_ARG(ix && out);
    p = sqlite3_serialize(ix->db, "main", &sz, 0);
    if (!p)
        return mm_error_set(MM_ENOMEM, "out of memory");
    err = sz < 0 ? mm_error_set(MM_EIO, "index: cannot serialize") : mm_buf_put(out, p, (size_t)sz);
    sqlite3_free(p);
    return err;
}

int mm_index_commit(mm_index *ix)
{
    char red[MM_LOG_PATH_MAX], dir[MM_LIMIT_PATH];
    const char *slash;
    int fd, err = 0;

    MM_ASSERT_ARG(ix);
    if (!ix->tmp)
        return 0;
    if (!sqlite3_get_autocommit(ix->db))
        return mm_error_set(MM_EINVAL, "index: commit inside a transaction");
    fd = open(ix->tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot open '%s'",
                                  mm_log_path(red, sizeof(red), ix->tmp));
    if (fsync(fd) != 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot sync '%s'",
                                 mm_log_path(red, sizeof(red), ix->tmp));
    close(fd);
    if (err < 0)
        return err;
    if (rename(ix->tmp, ix->path) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot rename onto '%s'",
                                  mm_log_path(red, sizeof(red), ix->path));
    mm_free(ix->tmp);
    ix->tmp = NULL;
    ix->writable = 0; /* further changes would not be crash-safe */
    slash = strrchr(ix->path, '/');
    if (!slash)
        return mm_os_fsync_dir(".");
    if (slash == ix->path)
        return mm_os_fsync_dir("/");
    memcpy(dir, ix->path, (size_t)(slash - ix->path));
    dir[slash - ix->path] = '\0';
    return mm_os_fsync_dir(dir);
}

void mm_index_free(mm_index *ix)
{
    if (!ix)
        return;
    mm_index__rows_free(ix->rows);
    sqlite3_finalize(ix->st_summary); /* before the close, which refuses live statements */
    sqlite3_finalize(ix->st_lab);
    ZSTD_freeDCtx(ix->dctx);
    sqlite3_close(ix->db);
    mm_index__pages_free(ix->pages); /* after the close: the connection read through it */
    if (ix->tmp)
        unlink(ix->tmp);
    mm_free(ix->tmp);
    mm_free(ix->path);
    mm_free(ix);
}
