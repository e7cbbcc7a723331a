/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/viewer: the built-in assets (viewer_assets.c, generated at build time
 * by tools/embed-assets.py from src/lib/viewer/assets/) and the document check.
 */
#ifndef MM_VIEWER_VIEWER_INT_H
#define MM_VIEWER_VIEWER_INT_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"
#include "index/index.h"
#include "viewer/viewer.h"

struct mm_viewer__asset {
    const char *name, *type;
    const unsigned char *data;
    size_t size;
};

/* The generated table, ended by an entry with a NULL name. */
extern const struct mm_viewer__asset mm_viewer__assets[];

/*
 * Is @path ("<folder>/<file>", relative to the extended storage) one of patient @id's
 * documents or images in the index?
 * @return 0 yes, MM_ENOTFOUND no (or no such patient), MM_ECORRUPT, MM_ENOMEM, MM_EIO
 */
int mm_viewer__file_allowed(mm_index *ix, const char *id, const char *path);

#define MM_VIEWER__TYPE_MAX MM_VIEWER_TYPE_MAX

/* ---- the terminal summary (viewer_text.c, viewer_text_orders.c) ---- */

/* What is being written: the buffer, the language, the first error. */
struct mm_viewer__out {
    mm_buf *b;
    int en;
    int err;
};

/* Append to @o unless an earlier append failed. */
MM_PRINTF(2, 3) void mm_viewer__put(struct mm_viewer__out *o, const char *fmt, ...);
/* The string member @k of @e, or "". */
const char *mm_viewer__js(const json_t *e, const char *k);

/* The day before the date "YYYY-MM-DD" @date. OUT: @out ("" when @date is not such a date) */
void mm_viewer__prev_day(const char *date, char out[11]);

/*
 * The last day of prescription Rp @rp of @order as the current medication counts it (the
 * day before "until"). OUT: @out. @return 0, or -1 when open-ended or not decidable ("")
 */
int mm_viewer__last_day(const json_t *order, const json_t *rp, char out[11]);

/* The current-medication section of @rec at local time @as_of ("YYYY-MM-DDTHH:MM"). */
void mm_viewer__text_meds(struct mm_viewer__out *o, const json_t *rec, const char *as_of);
/* One prescription (@inj 0) or injection order, as a pharmacist transcribes it. */
void mm_viewer__text_order(struct mm_viewer__out *o, const json_t *order, int inj);
/* The section of the fields the record does not interpret ("uninterpreted"); none: nothing. */
void mm_viewer__text_uninterpreted(struct mm_viewer__out *o, const json_t *rec);
/* The name of data type @type ("OMP-02" -> 注射オーダ / injection order), else @type. */
const char *mm_viewer__type_name(const struct mm_viewer__out *o, const char *type);

/*
 * The data types of patient @id's summary whose files or folders failed to read (its
 * read_failures with failed or folders > 0; files only damaged do not count), at most
 * @cap of them. OUT: types[0..*n)
 * @return 0, MM_ENOTFOUND (no such patient), MM_ECORRUPT, MM_ENOMEM, MM_EIO
 */
int mm_viewer__failed_types(mm_index *ix, const char *id, char (*types)[MM_VIEWER__TYPE_MAX + 1],
                            size_t cap, size_t *n);

/*
 * For each of the @n data types @types, whether patient @id's summary could stand in for a
 * record where that type failed: no read failure of the type (files left out or folders) and
 * at least one item in the type's section. OUT: helps[0..n) 1 or 0
 * @return 0, MM_ENOTFOUND (no such patient), MM_ECORRUPT, MM_ENOMEM, MM_EIO
 */
int mm_viewer__types_readable(mm_index *ix, const char *id,
                              const char (*types)[MM_VIEWER__TYPE_MAX + 1], size_t n, int *helps);

/*
 * Append ",\"guard_accepted\":true|false,\"guard_said\":{\"ja\":..,\"en\":..}|null" of @g (the
 * guard's reasons in words in both languages, mm_guard_reasons_say) to @b (viewer_data.c).
 * @return 0, MM_ENOMEM, MM_ELIMIT
 */
int mm_viewer__guard_json(mm_buf *b, const struct mm_repo_gen *g);

#endif
