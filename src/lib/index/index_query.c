/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Queries: find (ID exact and prefix through the primary key, birth date through its
 * index, name and kana fragments by a scan of the small patient rows), the stored summary,
 * and the lab matrix, assembled in memory from the patient's lab rows (a few hundred to a
 * few thousand). Every result is one allocation holding its strings, so releasing it is
 * one free and an allocation failure leaves nothing behind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "index/index_int.h"

#define ARENA_LIMIT (256u * 1024u * 1024u) /* strings of one result */

/* ---- find ---------------------------------------------------------------------------------- */

static const char find_sql[] =
        "WITH m(id, rank) AS ("
        " SELECT id, CASE WHEN id = ?1 THEN 0 ELSE 1 END FROM patient"
        "  WHERE ?1 <> '' AND id >= ?1 AND id < ?1 || char(1114111)"
        " UNION ALL"
        " SELECT id, 3 FROM patient WHERE ?6 = 0 AND ?2 <> '' AND birth_date = ?2"
        " UNION ALL"
        " SELECT id, 3 FROM patient WHERE ?6 = 0 AND ?5 <> ''"
        "  AND birth_date >= ?5 || '-' AND birth_date < ?5 || '.'"
        " UNION ALL"
        " SELECT id, CASE WHEN name_key = ?3 OR kana_key = ?3 THEN 2 ELSE 3 END FROM patient"
        "  WHERE ?3 <> '' AND (instr(name_key, ?3) > 0 OR instr(kana_key, ?3) > 0)"
        "  AND (?6 = 0 OR (?2 <> '' AND birth_date = ?2)"
        "   OR (?5 <> '' AND birth_date >= ?5 || '-' AND birth_date < ?5 || '.'))"
        "), b(id, rank) AS (SELECT id, min(rank) FROM m GROUP BY id)"
        " SELECT p.id, p.name, p.kana, p.sex, p.birth_date, count(*) OVER ()"
        " FROM b JOIN patient p ON p.id = b.id"
        " ORDER BY b.rank, p.kana_key, p.id LIMIT ?4";

/* Read "YYYY-MM-DD" (at least "YYYY-MM-DD" long) at @s. OUT: y, m, d. @return 1 if read */
static int ymd(const char *s, int *y, int *m, int *d)
{
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-')
                return 0;
        } else if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    *m = (s[5] - '0') * 10 + (s[6] - '0');
    *d = (s[8] - '0') * 10 + (s[9] - '0');
    return *m >= 1 && *m <= 12 && *d >= 1 && *d <= 31;
}

/* Full years from @birth to @y-@m-@d, -1 when unknown. */
static int age_at(const char *birth, int y, int m, int d)
{
    int by, bm, bd, a;

    if (strlen(birth) < 10 || !ymd(birth, &by, &bm, &bd))
        return -1;
    a = y - by - (m < bm || (m == bm && d < bd));
    return a < 0 ? -1 : a;
}

void mm_index_results_release(struct mm_index_results *r)
{
    if (!r)
        return;
    mm_free(r->mem_);
    memset(r, 0, sizeof(*r));
}

int mm_index_results_json(const struct mm_index_results *r, mm_buf *out)
{
    int err = mm_buf_puts(out, "\"results\":[");

    for (size_t i = 0; i < r->n && err == 0; i++) {
        const struct mm_index_patient *p = &r->v[i];
        if ((err = mm_buf_puts(out, i ? ",{" : "{")) < 0 ||
            (err = mm_json_kv(out, 1, "id", p->id)) < 0 ||
            (err = mm_json_kv(out, 0, "name", p->name)) < 0 ||
            (err = mm_json_kv(out, 0, "kana", p->kana)) < 0 ||
            (err = mm_json_kv(out, 0, "sex", p->sex)) < 0)
            break;
        if (p->age >= 0)
            err = mm_buf_printf(out, ",\"age\":%d", p->age);
        else
            err = mm_buf_puts(out, ",\"age\":null");
        if (err == 0 && (err = mm_json_kv(out, 0, "birth_date", p->birth_date)) == 0)
            err = mm_buf_putc(out, '}');
    }
    if (err == 0)
        err = mm_buf_printf(out, "],\"total\":%zu", r->total);
    return err;
}

/* ---- find without SQL, for read-only memory indexes ---------------------------------------- */

enum { C_ID, C_NAME, C_KANA, C_SEX, C_BIRTH, C_NKEY, C_KKEY, ROW_COLS };

void mm_index__rows_free(struct mm_index__rows *r)
{
    if (!r)
        return;
    mm_free(r->col);
    mm_free(r->arena);
    mm_free(r->keys);
    mm_free(r->key_off);
    mm_free(r);
}

/* Read every patient row of @ix once (a viewer's index never changes). OUT: ix->rows */
static int rows_load(mm_index *ix)
{
    static const char sql[] = "SELECT id, name, kana, sex, birth_date, name_key, kana_key"
                              " FROM patient ORDER BY id";
    struct mm_index__rows *r = NULL;
    sqlite3_stmt *st = NULL;
    mm_buf arena, keys;
    size_t *offs = NULL, cap = 0, n = 0;
    int err, rc;

    mm_buf_init(&arena, ARENA_LIMIT);
    mm_buf_init(&keys, ARENA_LIMIT);
    if (!(r = mm_calloc(1, sizeof(*r)))) {
        err = MM_ENOMEM;
        goto out;
    }
    if ((err = mm_index__prepare(ix, sql, &st)) < 0)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            size_t *no = mm_realloc(offs, ncap * ROW_COLS * sizeof(*offs));
            size_t *nk = mm_realloc(r->key_off, (ncap + 1) * sizeof(*nk));
            if (no)
                offs = no;
            if (nk)
                r->key_off = nk;
            if (!no || !nk) {
                err = MM_ENOMEM;
                goto out;
            }
            cap = ncap;
        }
        for (int c = 0; c < ROW_COLS; c++) {
            const char *v = (const char *)sqlite3_column_text(st, c);
            offs[n * ROW_COLS + c] = arena.len;
            if ((err = mm_buf_put(&arena, v ? v : "", (v ? strlen(v) : 0) + 1)) < 0)
                goto out;
        }
        r->key_off[n] = keys.len;
        {
            const char *nk = (const char *)sqlite3_column_text(st, C_NKEY);
            const char *kk = (const char *)sqlite3_column_text(st, C_KKEY);
            if ((err = mm_buf_puts(&keys, nk ? nk : "")) < 0 || (err = mm_buf_putc(&keys, 1)) < 0 ||
                (err = mm_buf_puts(&keys, kk ? kk : "")) < 0 || (err = mm_buf_putc(&keys, 2)) < 0)
                goto out;
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        err = mm_index__sql_error(ix->db, rc, "patient rows");
        goto out;
    }
    if (!r->key_off && !(r->key_off = mm_malloc(sizeof(*r->key_off)))) {
        err = MM_ENOMEM;
        goto out;
    }
    r->key_off[n] = keys.len;
    if ((err = mm_buf_putc(&keys, 0)) < 0) /* one string: strstr runs over all rows at once */
        goto out;
    if (!arena.ptr && (err = mm_buf_putc(&arena, 0)) < 0) /* no patient at all */
        goto out;
    if (!(r->col = mm_malloc((n ? n : 1) * ROW_COLS * sizeof(*r->col)))) {
        err = MM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n * ROW_COLS; i++)
        r->col[i] = arena.ptr + offs[i];
    r->n = n;
    r->arena = arena.ptr; /* now owned by r */
    r->keys = keys.ptr;
    arena.ptr = keys.ptr = NULL;
    ix->rows = r;
    r = NULL;
out:
    sqlite3_finalize(st);
    mm_free(offs);
    mm_index__rows_free(r);
    mm_buf_release(&arena);
    mm_buf_release(&keys);
    return err;
}

/* A matching row with what it is sorted by (no context for qsort: finds run on many threads,
 * each on its own index's rows). */
struct hit {
    size_t row;
    int rank;
    const char *kana_key, *id;
};

static int hit_cmp(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    int c;

    if (x->rank != y->rank)
        return x->rank - y->rank;
    if ((c = strcmp(x->kana_key, y->kana_key)) != 0)
        return c;
    return strcmp(x->id, y->id);
}

/* Does birth date @b match @q's date or year? */
static int birth_match(const char *b, const struct mm_index_query *q)
{
    if (q->date[0])
        return strcmp(b, q->date) == 0;
    return q->year[0] && strncmp(b, q->year, 4) == 0 && b[4] == '-';
}

/*
 * The matches of @q as find_sql ranks them (0 exact ID, 1 ID prefix, 2 exact name or kana,
 * 3 birth date or year or name fragment; with @q->both a name only where the birth matches; the
 * best rank of a row counts), sorted by rank, kana key and ID. OUT: *out (mm_free), *n
 */
static int rows_match(const struct mm_index__rows *r, const struct mm_index_query *q,
                      struct hit **out, size_t *nout)
{
    unsigned char *best = NULL; /* rank + 1 of each row, 0 no match */
    struct hit *v = NULL;
    size_t n = 0, idlen = strlen(q->id), qlen = strlen(q->name);
    int err = 0;

    if (!(best = mm_calloc(r->n ? r->n : 1, 1)))
        return MM_ENOMEM;
    if (idlen) { /* IDs are sorted: the prefix matches are one run */
        size_t lo = 0, hi = r->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(r->col[mid * ROW_COLS + C_ID], q->id) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < r->n && strncmp(r->col[i * ROW_COLS + C_ID], q->id, idlen) == 0;
             i++)
            best[i] = strcmp(r->col[i * ROW_COLS + C_ID], q->id) == 0 ? 1 : 2;
    }
    if ((q->date[0] || q->year[0]) && !q->both)
        for (size_t i = 0; i < r->n; i++)
            if (birth_match(r->col[i * ROW_COLS + C_BIRTH], q) && (!best[i] || best[i] > 4))
                best[i] = 4;
    if (qlen) { /* one pass over every key; a hit is the row whose key holds it whole */
        const char *p = r->keys, *end = r->keys + r->key_off[r->n], *h;
        size_t row = 0;
        while (p < end && (h = strstr(p, q->name))) {
            size_t at = (size_t)(h - r->keys), lo = row, hi = r->n;
            while (lo + 1 < hi) { /* the row whose keys hold offset @at */
                size_t mid = lo + (hi - lo) / 2;
                if (r->key_off[mid] <= at)
                    lo = mid;
                else
                    hi = mid;
            }
            row = lo;
            if (!memchr(h, 1, qlen) && !memchr(h, 2, qlen) &&
                (!q->both || birth_match(r->col[row * ROW_COLS + C_BIRTH], q))) {
                int rank = strcmp(r->col[row * ROW_COLS + C_NKEY], q->name) == 0 ||
                                           strcmp(r->col[row * ROW_COLS + C_KKEY], q->name) == 0
                                   ? 3
                                   : 4;
                if (!best[row] || best[row] > rank)
                    best[row] = (unsigned char)rank;
            }
            p = h + 1;
        }
    }
    for (size_t i = 0; i < r->n; i++)
        n += best[i] != 0;
    if (!(v = mm_malloc((n ? n : 1) * sizeof(*v)))) {
        err = MM_ENOMEM;
        goto out;
    }
    n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (best[i])
            v[n++] = (struct hit){ i, best[i] - 1, r->col[i * ROW_COLS + C_KKEY],
                                   r->col[i * ROW_COLS + C_ID] };
    qsort(v, n, sizeof(*v), hit_cmp);
    *out = v;
    *nout = n;
    v = NULL;
out:
    mm_free(v);
    mm_free(best);
    return err;
}

int mm_index_find(mm_index *ix, const char *query, size_t limit, const char *as_of,
                  struct mm_index_results *out)
{
    struct mm_index_query q;
    sqlite3_stmt *st = NULL;
    mm_buf arena;
    size_t(*offs)[5] = NULL, n = 0, total = 0;
    struct mm_index_patient *v = NULL;
    char *mem = NULL;
    int err, rc, y, m, d;

    MM_ASSERT_ARG(ix && query && out);
    mm_buf_init(&arena, ARENA_LIMIT);
    if ((err = mm_index_query_parse(&q, query)) < 0)
        return err;
    if (as_of) {
        if (strlen(as_of) != 10 || !ymd(as_of, &y, &m, &d))
            return mm_error_set(MM_EINVAL, "reference date is not YYYY-MM-DD");
    } else {
        time_t now = time(NULL);
        struct tm tm;
        if (!localtime_r(&now, &tm))
            return mm_error_set(MM_EIO, "cannot read the clock");
        y = tm.tm_year + 1900;
        m = tm.tm_mon + 1;
        d = tm.tm_mday;
    }
    if (limit == 0)
        limit = MM_INDEX_FIND_DEFAULT;
    if (limit > MM_INDEX_FIND_MAX)
        limit = MM_INDEX_FIND_MAX;
    if (!(offs = mm_calloc(limit, sizeof(*offs))))
        return MM_ENOMEM;
    if (ix->memory) { /* the rows in memory, matched in C: no statement, no scan through SQLite */
        struct hit *hits = NULL;
        size_t nh = 0;
        if ((!ix->rows && (err = rows_load(ix)) < 0) ||
            (err = rows_match(ix->rows, &q, &hits, &nh)) < 0)
            goto out;
        for (size_t i = 0; i < nh && n < limit && err == 0; i++, n++) {
            const char *const *row = &ix->rows->col[hits[i].row * ROW_COLS];
            for (int c = 0; c < 5 && err == 0; c++) {
                offs[n][c] = arena.len;
                err = mm_buf_put(&arena, row[c], strlen(row[c]) + 1);
            }
        }
        total = nh;
        mm_free(hits);
        if (err < 0)
            goto out;
        goto results;
    }
    if ((err = mm_index__prepare(ix, find_sql, &st)) < 0 ||
        (err = mm_index__bind(st, 1, q.id)) < 0 || (err = mm_index__bind(st, 2, q.date)) < 0 ||
        (err = mm_index__bind(st, 3, q.name)) < 0 || (err = mm_index__bind(st, 5, q.year)) < 0)
        goto out;
    if (sqlite3_bind_int64(st, 4, (sqlite3_int64)limit) != SQLITE_OK ||
        sqlite3_bind_int(st, 6, q.both) != SQLITE_OK) {
        err = mm_index__sql_error(ix->db, SQLITE_RANGE, "bind");
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < 5; c++) {
            const char *s = (const char *)sqlite3_column_text(st, c);
            offs[n][c] = arena.len;
            if ((err = mm_buf_put(&arena, s ? s : "", (s ? strlen(s) : 0) + 1)) < 0)
                goto out;
        }
        total = (size_t)sqlite3_column_int64(st, 5);
        n++;
    }
    if (rc != SQLITE_DONE) {
        err = mm_index__sql_error(ix->db, rc, "find");
        goto out;
    }
results:
    if (!(mem = mm_malloc(n * sizeof(*v) + arena.len + 1))) {
        err = MM_ENOMEM;
        goto out;
    }
    v = (struct mm_index_patient *)(void *)mem;
    if (arena.len)
        memcpy(mem + n * sizeof(*v), arena.ptr, arena.len);
    for (size_t i = 0; i < n; i++) {
        const char *base = mem + n * sizeof(*v);
        v[i].id = base + offs[i][0];
        v[i].name = base + offs[i][1];
        v[i].kana = base + offs[i][2];
        v[i].sex = base + offs[i][3];
        v[i].birth_date = base + offs[i][4];
        v[i].age = age_at(v[i].birth_date, y, m, d);
    }
    out->n = n;
    out->total = n ? total : 0;
    out->v = n ? v : NULL;
    out->mem_ = mem;
    mem = NULL; /* now owned by out */
out:
    sqlite3_finalize(st);
    mm_free(offs);
    mm_free(mem);
    mm_buf_release(&arena);
    return err;
}

/* ---- summary ------------------------------------------------------------------------------- */

/* Append the content of the zstd frame @p (@n bytes) to @out, with @ix's context. */
static int unzstd(mm_index *ix, const void *p, size_t n, mm_buf *out)
{
    unsigned long long size = ZSTD_getFrameContentSize(p, n);
    size_t got;
    int err;

    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
        return mm_error_set(MM_ECORRUPT, "patient summary is damaged");
    if (size > out->limit - out->len)
        return mm_error_set(MM_ELIMIT, "patient summary is too large");
    if ((err = mm_buf_grow(out, (size_t)size)) < 0)
        return err;
    /* one context per connection, kept: a fresh one per summary costs more than the frame */
    if (!ix->dctx && !(ix->dctx = ZSTD_createDCtx()))
        return mm_error_set(MM_ENOMEM, "out of memory");
    got = ZSTD_decompressDCtx(ix->dctx, out->ptr + out->len, (size_t)size, p, n);
    if (ZSTD_isError(got) || got != size)
        return mm_error_set(MM_ECORRUPT, "patient summary is damaged");
    out->len += got;
    out->ptr[out->len] = '\0';
    return 0;
}

int mm_index_summary(mm_index *ix, const char *id, mm_buf *out)
{
    sqlite3_stmt *st = NULL;
    int err, rc;

    MM_ASSERT_ARG(ix && id && out);
    if ((err = mm_index__prepare_kept(ix, &ix->st_summary,
                                      "SELECT json FROM summary WHERE patient_id = ?1", &st)) < 0 ||
        (err = mm_index__bind(st, 1, id)) < 0)
        goto out;
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        err = mm_error_set(MM_ENOTFOUND, "patient not in the index");
    } else if (rc != SQLITE_ROW) {
        err = mm_index__sql_error(ix->db, rc, "summary");
    } else {
        const void *p = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        if (!p && n == 0)
            err = mm_buf_put(out, "", 0);
        else if (!p)
            err = mm_error_set(MM_ENOMEM, "out of memory");
        else if (ix->version < 2)
            err = mm_buf_put(out, p, (size_t)n);
        else
            err = unzstd(ix, p, (size_t)n, out);
    }
out:
    mm_index__done(ix, &ix->st_summary, st);
    return err;
}

int mm_index_patient_ids(mm_index *ix, mm_buf *out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    size_t start, count = 0;
    int err, rc;

    MM_ASSERT_ARG(ix && out && n);
    start = out->len;
    if ((err = mm_index__prepare(ix, "SELECT id FROM patient ORDER BY id", &st)) < 0)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (!id)
            continue;
        if ((err = mm_buf_put(out, id, strlen(id) + 1)) < 0)
            goto out;
        count++;
    }
    if (rc != SQLITE_DONE)
        err = mm_index__sql_error(ix->db, rc, "patient list");
out:
    sqlite3_finalize(st);
    if (err < 0)
        mm_buf_truncate(out, start);
    else
        *n = count;
    return err;
}

int mm_index_patient_count(mm_index *ix, uint64_t *n)
{
    sqlite3_stmt *st = NULL;
    int err, rc;

    MM_ASSERT_ARG(ix && n);
    if ((err = mm_index__prepare(ix, "SELECT count(*) FROM patient", &st)) < 0)
        goto out;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        *n = (uint64_t)sqlite3_column_int64(st, 0);
    else
        err = mm_index__sql_error(ix->db, rc, "patient count");
out:
    sqlite3_finalize(st);
    return err;
}

/* ---- lab matrix ---------------------------------------------------------------------------- */

enum { L_CODE, L_NAME, L_UNIT, L_RANGE, L_TIME, L_VALUE, L_FLAG, L_N };

struct row {
    size_t off[L_N]; /* strings in the arena */
    long long seq;
    size_t test, time;
};

/* A row seen through its key strings, for sorting. */
struct key {
    const char *a, *b; /* (code, time) or (time, "") */
    long long seq;
    size_t row;
};

/* qsort: by a, then b, then seq. */
static int cmp_key(const void *x, const void *y)
{
    const struct key *p = x, *q = y;
    int c = strcmp(p->a, q->a);

    if (c == 0)
        c = strcmp(p->b, q->b);
    if (c == 0)
        c = (p->seq > q->seq) - (p->seq < q->seq);
    return c;
}

/* qsort: tests (as struct key of their first result: a = time) by first appearance. */
static int cmp_first(const void *x, const void *y)
{
    const struct key *p = x, *q = y;
    int c = strcmp(p->a, q->a);

    return c ? c : (p->seq > q->seq) - (p->seq < q->seq);
}

void mm_index_lab_matrix_release(struct mm_index_lab_matrix *m)
{
    if (!m)
        return;
    mm_free(m->mem_);
    memset(m, 0, sizeof(*m));
}

/* 1 when patient @id is in @ix, 0 when not, <0 error. */
static int have_patient(mm_index *ix, const char *id)
{
    sqlite3_stmt *st = NULL;
    int err, rc;

    if ((err = mm_index__prepare(ix, "SELECT 1 FROM patient WHERE id = ?1", &st)) < 0 ||
        (err = mm_index__bind(st, 1, id)) < 0)
        goto out;
    rc = sqlite3_step(st);
    err = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : mm_index__sql_error(ix->db, rc, "lab");
out:
    sqlite3_finalize(st);
    return err;
}

int mm_index_lab_matrix(mm_index *ix, const char *id, struct mm_index_lab_matrix *out)
{
    static const char sql[] = "SELECT code, name, unit, range, collected_at, value, flag, seq"
                              " FROM lab WHERE patient_id = ?1 ORDER BY seq";
    sqlite3_stmt *st = NULL;
    mm_buf arena;
    struct row *rows = NULL;
    struct key *keys = NULL, *firsts = NULL;
    size_t *order = NULL, *newest = NULL;
    size_t n = 0, cap = 0, ntests = 0, ntimes = 0;
    char *mem = NULL;
    int err, rc;

    MM_ASSERT_ARG(ix && id && out);
    mm_buf_init(&arena, ARENA_LIMIT);
    if ((err = have_patient(ix, id)) <= 0) {
        if (err == 0)
            err = mm_error_set(MM_ENOTFOUND, "patient not in the index");
        goto out;
    }
    if ((err = mm_index__prepare_kept(ix, &ix->st_lab, sql, &st)) < 0 ||
        (err = mm_index__bind(st, 1, id)) < 0)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t c2 = cap ? cap * 2 : 256;
            struct row *r2 = mm_realloc(rows, c2 * sizeof(*r2));
            if (!r2) {
                err = MM_ENOMEM;
                goto out;
            }
            rows = r2;
            cap = c2;
        }
        for (int c = 0; c < L_N; c++) {
            const char *s = (const char *)sqlite3_column_text(st, c);
            rows[n].off[c] = arena.len;
            if ((err = mm_buf_put(&arena, s ? s : "", (s ? strlen(s) : 0) + 1)) < 0)
                goto out;
        }
        rows[n].seq = sqlite3_column_int64(st, L_N);
        n++;
    }
    if (rc != SQLITE_DONE) {
        err = mm_index__sql_error(ix->db, rc, "lab");
        goto out;
    }
    if (n) {
        const char *base = arena.ptr;
        if (!(keys = mm_calloc(n, sizeof(*keys))) || !(firsts = mm_calloc(n, sizeof(*firsts))) ||
            !(order = mm_calloc(n, sizeof(*order))) || !(newest = mm_calloc(n, sizeof(*newest)))) {
            err = MM_ENOMEM;
            goto out;
        }
        /* times: distinct collection times, oldest first */
        for (size_t i = 0; i < n; i++)
            keys[i] = (struct key){ base + rows[i].off[L_TIME], "", rows[i].seq, i };
        qsort(keys, n, sizeof(*keys), cmp_key);
        for (size_t i = 0; i < n; i++) {
            if (i && strcmp(keys[i].a, keys[i - 1].a) != 0)
                ntimes++;
            rows[keys[i].row].time = ntimes;
        }
        ntimes++;
        /* tests: group by code; each group's first and newest result */
        for (size_t i = 0; i < n; i++)
            keys[i] = (struct key){ base + rows[i].off[L_CODE], base + rows[i].off[L_TIME],
                                    rows[i].seq, i };
        qsort(keys, n, sizeof(*keys), cmp_key);
        for (size_t i = 0; i < n; i++) {
            if (i == 0 || strcmp(keys[i].a, keys[i - 1].a) != 0) {
                const struct row *r = &rows[keys[i].row];
                firsts[ntests] = (struct key){ base + r->off[L_TIME], "", r->seq, ntests };
                ntests++;
            }
            rows[keys[i].row].test = ntests - 1; /* group number for now */
            newest[ntests - 1] = keys[i].row;
        }
        /* rows of the matrix in the order tests first appear */
        qsort(firsts, ntests, sizeof(*firsts), cmp_first);
        for (size_t t = 0; t < ntests; t++)
            order[firsts[t].row] = t;
        for (size_t i = 0; i < n; i++)
            rows[i].test = order[rows[i].test];
    }
    {
        size_t head = ntests * sizeof(struct mm_index_lab_test) + ntimes * sizeof(char *) +
                      ntests * ntimes * sizeof(struct mm_index_lab_cell);
        struct mm_index_lab_test *tests;
        const char **times;
        struct mm_index_lab_cell *cells;
        const char *base;

        if (ntests && ntimes > (SIZE_MAX / 4) / ntests / sizeof(struct mm_index_lab_cell)) {
            err = mm_error_set(MM_ELIMIT, "lab matrix too large");
            goto out;
        }
        if (!(mem = mm_calloc(1, head + arena.len + 1))) {
            err = MM_ENOMEM;
            goto out;
        }
        tests = (struct mm_index_lab_test *)(void *)mem;
        times = (const char **)(void *)(mem + ntests * sizeof(*tests));
        cells = (struct mm_index_lab_cell *)(void *)(mem + ntests * sizeof(*tests) +
                                                     ntimes * sizeof(*times));
        if (arena.len)
            memcpy(mem + head, arena.ptr, arena.len);
        base = mem + head;
        for (size_t g = 0; g < ntests; g++) {
            const struct row *r = &rows[newest[g]];
            struct mm_index_lab_test *t = &tests[order[g]];
            t->code = base + r->off[L_CODE];
            t->name = base + r->off[L_NAME];
            t->unit = base + r->off[L_UNIT];
            t->range = base + r->off[L_RANGE];
        }
        for (size_t i = 0; i < n; i++) {
            /* rows come in seq order: a later result at the same time wins */
            struct mm_index_lab_cell *c = &cells[rows[i].test * ntimes + rows[i].time];
            times[rows[i].time] = base + rows[i].off[L_TIME];
            c->value = base + rows[i].off[L_VALUE];
            c->flag = base + rows[i].off[L_FLAG];
        }
        out->ntests = ntests;
        out->ntimes = ntimes;
        out->tests = tests;
        out->times = times;
        out->cells = cells;
        out->mem_ = mem;
        mem = NULL; /* now owned by out */
    }
out:
    mm_index__done(ix, &ix->st_lab, st);
    mm_free(rows);
    mm_free(keys);
    mm_free(firsts);
    mm_free(order);
    mm_free(newest);
    mm_free(mem);
    mm_buf_release(&arena);
    return err;
}
