/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The patient index: an SQLite database built from an SS-MIX2 storage (and updated from a
 * change set) that answers in milliseconds: patients by ID (exact and prefix), by kanji or
 * kana name fragment, by birth date; a patient's summary (the record JSON of
 * mm_ssmix2_record_json, stored per patient); a patient's lab matrix. Built once by loader
 * threads and one writer in one transaction, into "<path>.tmp" that mm_index_commit()
 * renames, so a crash never leaves a half-written index under the final name. An mm_index
 * is not thread-safe: use one per thread, or a lock. No message carries patient data.
 */
#ifndef MM_INDEX_INDEX_H
#define MM_INDEX_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/limits.h"
#include "ssmix2/ssmix2.h"

/* Format of the database (meta 'version' and PRAGMA user_version); see index_db.c. */
#define MM_INDEX_VERSION 2
/* Longest query accepted by mm_index_find(), in bytes. */
#define MM_INDEX_QUERY_MAX 256u
/* Default and largest number of results of one mm_index_find(). */
#define MM_INDEX_FIND_DEFAULT 50u
#define MM_INDEX_FIND_MAX     10000u

typedef struct mm_index mm_index;

/*
 * Create a new, empty index. For a file, the database is written to "<path>.tmp" (a stale
 * one is replaced) and gets its final name only from mm_index_commit(); freeing the index
 * without a commit removes the temporary file. ":memory:" makes an index that lives in
 * memory only (commit is then a no-op).
 * @param[out] out the index, owned by the caller (mm_index_free); untouched on failure
 * @return 0, MM_EIO (the folder is not writable), MM_ENOMEM
 */
int mm_index_create(mm_index **out, const char *path);

enum mm_index_open_flags {
    MM_INDEX_OPEN_WRITE = 1 << 0 /* copy to "<path>.tmp" for mm_index_update + commit */
};

/*
 * Open an index file. Read-only unless MM_INDEX_OPEN_WRITE, which works on a copy at
 * "<path>.tmp" that mm_index_commit() renames over @path.
 * @param[out] out the index, owned by the caller; untouched on failure
 * @return 0, MM_ENOTFOUND when @path does not exist, MM_ECORRUPT when it is not a mamori
 *         index or has a version this mamori does not read, MM_EIO, MM_ENOMEM
 */
int mm_index_open(mm_index **out, const char *path, unsigned int flags);

/*
 * Load an index from the bytes of an index file (a decrypted generation blob) into a
 * writable in-memory index. @data is copied.
 * @param[out] out the index, owned by the caller; untouched on failure
 * @return 0, MM_ECORRUPT (not an index, wrong version), MM_ENOMEM
 */
int mm_index_from_bytes(mm_index **out, const void *data, size_t n);

/* Read @n bytes at @off of an index into @dst (any thread). @return 0 or an mm_err */
typedef int (*mm_index_read_fn)(void *ctx, void *dst, size_t n, uint64_t off);
/*
 * Open an index of @size bytes read-only through @read, page by page as queries need them
 * (e.g. a generation's blocks decrypted on demand): nothing is copied up front, nothing is
 * written anywhere (no journal, no temporary file). Many indexes may read one source at once
 * (one per thread); @ctx must outlive them. A failed read makes the query fail (MM_EIO).
 * @param[out] out the index, owned by the caller; NULL on failure
 * @return 0, MM_ECORRUPT (not an index, wrong version), MM_EIO, MM_ENOMEM
 */
int mm_index_open_pages(mm_index **out, mm_index_read_fn read, void *ctx, uint64_t size);

/*
 * Append the bytes of the whole database to @out (to store it as a generation blob, or
 * as a file that mm_index_open() reads).
 * @return 0, MM_ELIMIT (over out->limit), MM_ENOMEM, MM_EIO
 */
int mm_index_to_bytes(mm_index *ix, mm_buf *out);

/*
 * Make a created or write-opened index file durable and give it its final name: fsync
 * "<path>.tmp", rename it over <path>, fsync the folder. The index stays usable for
 * queries; later changes need a new mm_index_open(MM_INDEX_OPEN_WRITE). No-op for
 * in-memory and read-only indexes.
 * @return 0, MM_EIO (the old file, if any, is left as it was)
 */
int mm_index_commit(mm_index *ix);

/* Close @ix (removing an uncommitted temporary file). Accepts NULL. */
void mm_index_free(mm_index *ix);

/* ---- building ------------------------------------------------------------------------------ */

/* Called by the writer (the calling thread) after each patient; @done of @total. */
typedef void (*mm_index_progress_fn)(size_t done, size_t total, void *ctx);

enum mm_index_build_flags {
    /* Demographics only: read each patient's newest current -/ADT-00 file and nothing
     * else (a quick search index of a live storage). Labs are empty; the summary holds
     * the patient only. Recorded in the index, so mm_index_update() keeps to it. */
    MM_INDEX_DEMOGRAPHICS = 1 << 0
};

struct mm_index_build_opts {
    unsigned int flags;            /* enum mm_index_build_flags */
    unsigned int threads;          /* loader threads, at most 64; 0: 16 (loading is I/O-bound) */
    const char *id_prefix;         /* only patient folders whose name starts with it; NULL: all */
    mm_index_progress_fn progress; /* NULL: none */
    void *progress_ctx;
};

struct mm_index_build_stats {
    size_t patients;        /* patients written (built, or replaced by an update) */
    size_t removed;         /* update: patients no longer in the storage, rows deleted */
    size_t unreadable;      /* patient folders that could not be read (also in problems) */
    size_t no_demographics; /* patients written without a current ADT-00 (named by the
                               newest PID of their other messages, else found by ID only) */
    size_t labs;            /* current lab results written */
    struct mm_ssmix2_problems problems; /* files read and failed, redacted examples */
};

/*
 * Replace the content of @ix with every patient folder (<a>/<b>/<pid>) of the standardized
 * storage at @std_root (plus the documents of the extended storage at @ext_root, NULL for
 * none): records are loaded by opts->threads threads and written by the calling thread in
 * one transaction. Files and patient folders that cannot be read are counted in @st and
 * skipped, never fatal; a patient without demographics is still indexed by ID.
 * @param opts NULL for the defaults
 * @param[out] st counts and problems (may be NULL); filled also on failure
 * @return 0, MM_ENOTFOUND when @std_root is not a readable folder, MM_EIO (writing the
 *         index), MM_ENOMEM; on failure the index keeps its previous content
 */
int mm_index_build(mm_index *ix, const char *std_root, const char *ext_root,
                   const struct mm_index_build_opts *opts, struct mm_index_build_stats *st);

/*
 * Add every patient folder of one more standardized storage at @std_root (and the documents
 * of its extended storage @ext_root, NULL for none) to @ix, after mm_index_build() of the
 * first: an index over several storages (a hospital with two facilities' roots). A patient
 * already in the index (the same ID in an earlier storage) is replaced by this storage's
 * record. Uses the build mode recorded in the index; opts->flags is ignored.
 * @param[out] st as for mm_index_build (may be NULL)
 * @return as mm_index_build(); on failure the index keeps its previous content
 */
int mm_index_build_add(mm_index *ix, const char *std_root, const char *ext_root,
                       const struct mm_index_build_opts *opts, struct mm_index_build_stats *st);

/*
 * Re-load the @n patients @pids (a change set's patient IDs, duplicates allowed) and
 * replace their rows in one transaction; a patient whose folder is gone is removed. Other
 * patients are untouched. Uses the build mode recorded in the index; opts->flags and
 * opts->id_prefix are ignored.
 * @param[out] st as for mm_index_build (patients = replaced, removed = deleted)
 * @return 0, MM_EINVAL when @ix is read-only, MM_EIO, MM_ENOMEM; on failure the index
 *         keeps its previous content
 */
int mm_index_update(mm_index *ix, const char *std_root, const char *ext_root,
                    const char *const *pids, size_t n, const struct mm_index_build_opts *opts,
                    struct mm_index_build_stats *st);

/* ---- queries ------------------------------------------------------------------------------- */

/*
 * A query as mm_index_find() reads it. Full-width letters and digits count as ASCII and
 * spaces (ASCII or 全角) are ignored.
 */
struct mm_index_query {
    char id[MM_INDEX_QUERY_MAX + 1];   /* patient ID or ID prefix, "" when not ID-like */
    char date[11];                     /* birth date "YYYY-MM-DD", "" when not a date */
    char name[MM_INDEX_QUERY_MAX + 1]; /* name key (mm_index_name_key), "" when no name */
    char year[5];                      /* birth year "YYYY" of a year alone, else "" */
    int both; /* 1: a name and a birth date or year, both to match (name then date) */
};

/*
 * Read @query: an ID when it is ASCII letters, digits, '-', '_' or '.'; a date when it is
 * YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日 or 和暦 (S31.11.24, S311124,
 * 昭和31年11月24日, 令和元年5月1日; M T S H R / 明治 大正 昭和 平成 令和) of a real day;
 * a name fragment when it has a letter or any non-ASCII character; a birth year alone when
 * it is YYYY or YYYY年 (1800..2199) or an era year (S22, 昭和22年, 令和元年). A name and a
 * date or year separated by a space ("ヤマダ 1947-04-16", "山田 S22", "1947 やまだ") is read
 * as both, and a patient matches only when both match (@both 1).
 * @param[out] out the three readings
 * @return 0, MM_EINVAL when nothing is left after removing spaces, MM_ELIMIT when
 *         @query is longer than MM_INDEX_QUERY_MAX bytes
 */
int mm_index_query_parse(struct mm_index_query *out, const char *query);

/*
 * Append the search key of a name to @out: spaces and middle dots removed, full-width
 * ASCII to ASCII and upper case, hiragana and half-width katakana (with their voicing
 * marks) to full-width katakana, small kana to large (キョウコ = キヨウコ), ヂ ヅ to ジ ズ,
 * and common variant kanji to their usual form (髙→高, 﨑→崎, 邊→辺, 齋→斎, ...).
 * Bytes that are not UTF-8 are dropped.
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_index_name_key(const char *name, mm_buf *out);

/* One patient found. Strings are "" when unknown, never NULL. */
struct mm_index_patient {
    const char *id, *name, *kana; /* name and kana: family and given joined by one space */
    const char *sex;              /* HL7 0001: M F O U A N, or "" */
    const char *birth_date;       /* "YYYY-MM-DD" (or less precise, as stored) */
    int age;                      /* full years at the reference date; -1 when unknown */
};

struct mm_index_results {
    size_t n;     /* results in v */
    size_t total; /* patients matching (n is less when the limit cut the list) */
    struct mm_index_patient *v;
    void *mem_; /* private: owns v and its strings */
};

/*
 * Find patients by @query (see mm_index_query_parse): exact and prefix patient ID,
 * birth date or year, or a fragment of the name or kana (family, given or full name), or
 * a name fragment and a birth date or year together (both must match). Sorted:
 * exact ID, then ID prefix, then exact full name or kana, then the rest; within each by
 * kana, then ID.
 * @param limit at most this many results (0: MM_INDEX_FIND_DEFAULT; capped at
 *        MM_INDEX_FIND_MAX)
 * @param as_of reference date of the age, "YYYY-MM-DD"; NULL for today (local time)
 * @param[out] out the results, released with mm_index_results_release(); untouched
 *             on failure. Finding nothing is success with n = 0.
 * @return 0, MM_EINVAL (empty query, bad @as_of), MM_ELIMIT (query too long), MM_ENOMEM,
 *         MM_EIO, MM_ECORRUPT
 */
int mm_index_find(mm_index *ix, const char *query, size_t limit, const char *as_of,
                  struct mm_index_results *out);

/* Free what @r owns and make it empty. Accepts an empty or zeroed struct. */
void mm_index_results_release(struct mm_index_results *r);

/*
 * Append the members of a search answer, the one shape the CLI (search --json) and the
 * viewer (/api/search) give: "results":[{"id","name","kana","sex","age","birth_date"},…],
 * "total":N — without the braces, so each caller adds its own members around them. "age" is
 * null when unknown.
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_index_results_json(const struct mm_index_results *r, mm_buf *out);

/*
 * Append patient @id's summary (the record JSON of mm_ssmix2_record_json, current items
 * only, as stored by the build) to @out.
 * @return 0, MM_ENOTFOUND when @id is not in the index, MM_ELIMIT, MM_ENOMEM, MM_EIO
 */
int mm_index_summary(mm_index *ix, const char *id, mm_buf *out);

/*
 * Append the ID of every patient in the index to @out, each followed by a NUL, sorted by
 * ID; *@n is their count.
 * @return 0, MM_ELIMIT, MM_ENOMEM, MM_EIO; on failure @out keeps its previous content
 */
int mm_index_patient_ids(mm_index *ix, mm_buf *out, size_t *n);

/*
 * The number of patients in the index.
 * @param[out] n the count; untouched on failure
 * @return 0, MM_EIO
 */
int mm_index_patient_count(mm_index *ix, uint64_t *n);

struct mm_index_lab_test {
    const char *code, *name, *unit, *range; /* the newest result's name, unit and range */
};

struct mm_index_lab_cell {
    const char *value; /* NULL when the test has no result at that time */
    const char *flag;  /* "H", "L", ... or ""; NULL with value */
};

/*
 * A patient's current lab results as a matrix: one row per test (in the order tests
 * first appear), one column per collection time (oldest first).
 */
struct mm_index_lab_matrix {
    size_t ntests, ntimes;
    const struct mm_index_lab_test *tests;
    const char *const *times;              /* "YYYY-MM-DDTHH:MM" */
    const struct mm_index_lab_cell *cells; /* cells[test * ntimes + time] */
    void *mem_;                            /* private: owns everything above */
};

/*
 * Fill @out with patient @id's lab matrix (current results only; when one test has two
 * results at the same time, the later one in the record wins).
 * @param[out] out released with mm_index_lab_matrix_release(); untouched on failure. A
 *             patient without results gives an empty matrix.
 * @return 0, MM_ENOTFOUND when @id is not in the index, MM_ENOMEM, MM_EIO
 */
int mm_index_lab_matrix(mm_index *ix, const char *id, struct mm_index_lab_matrix *out);

/* Free what @m owns and make it empty. Accepts an empty or zeroed struct. */
void mm_index_lab_matrix_release(struct mm_index_lab_matrix *m);

#endif
