/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Query latency of a built patient index: mm_index_open, then find by exact ID, by ID
 * prefix, by kana family name, by hiragana, by birth date, summary and lab matrix, each
 * over the same random sample of patients (seeded, so runs compare), reported as median,
 * p99 and maximum in milliseconds. Driven by bench/index.sh.
 * usage: bench_index <index.db> [samples]
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "index/index.h"

struct pat {
    char id[80], kana_family[200], hira[400], birth[16];
};

static double now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void report(const char *what, double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    printf("%-22s n=%zu  median %.3f ms  p99 %.3f ms  max %.3f ms\n", what, n, v[n / 2],
           v[n * 99 / 100 < n ? n * 99 / 100 : n - 1], v[n - 1]);
}

/* Katakana to hiragana (U+30A1..U+30F6 minus 0x60), byte-wise on UTF-8. */
static void hiragana(const char *in, char *out, size_t cap)
{
    size_t k = 0;

    for (const unsigned char *p = (const unsigned char *)in; *p && k + 4 < cap;) {
        if (p[0] == 0xE3 && (p[1] == 0x82 || p[1] == 0x83)) {
            unsigned c = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
            if (c >= 0x30A1 && c <= 0x30F6)
                c -= 0x60;
            out[k++] = (char)(0xE0 | (c >> 12));
            out[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[k++] = (char)(0x80 | (c & 0x3F));
            p += 3;
        } else {
            out[k++] = (char)*p++;
        }
    }
    out[k] = '\0';
}

/* A seeded sample of @n patients (with replacement) from the index file. OUT: *out, *count. */
static int sample(const char *path, size_t n, struct pat **out, size_t *count)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct pat *all = NULL, *v = calloc(n, sizeof(*v));
    size_t k = 0, cap = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ull;

    if (!v || sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT id, kana, birth_date FROM patient WHERE kana <> ''", -1, &st,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_index: cannot read '%s'\n", path);
        sqlite3_close(db);
        free(v);
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *kana = (const char *)sqlite3_column_text(st, 1);
        const char *sp = strchr(kana, ' ');
        struct pat *p;

        if (k == cap) {
            struct pat *a = realloc(all, (cap = cap ? cap * 2 : 4096) * sizeof(*a));
            if (!a)
                break;
            all = a;
        }
        p = &all[k++];
        snprintf(p->id, sizeof(p->id), "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(p->kana_family, sizeof(p->kana_family), "%.*s",
                 (int)(sp ? (size_t)(sp - kana) : strlen(kana)), kana);
        hiragana(kana, p->hira, sizeof(p->hira));
        snprintf(p->birth, sizeof(p->birth), "%s", (const char *)sqlite3_column_text(st, 2));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    for (size_t i = 0; k && i < n; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        v[i] = all[rng % k];
    }
    free(all);
    if (!k) {
        free(v);
        return -1;
    }
    *out = v;
    *count = n;
    return 0;
}

enum { Q_ID, Q_PREFIX, Q_FAMILY, Q_HIRA, Q_BIRTH, Q_SUMMARY, Q_LABS, NQ };

int main(int argc, char **argv)
{
    static const char *const names[NQ] = {
        "find exact ID",      "find ID prefix (6)", "find kana family",
        "find hiragana full", "find birth date",    "summary",
        "lab matrix",
    };
    size_t want = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000, n = 0, bytes = 0, cells = 0;
    struct pat *pats = NULL;
    double *t[NQ] = { 0 }, t0, open_ms;
    mm_index *ix = NULL;
    mm_buf b;
    int rc = 1;

    if (argc < 2 || want == 0) {
        fprintf(stderr, "usage: bench_index <index.db> [samples]\n");
        return 2;
    }
    if (sample(argv[1], want, &pats, &n) < 0)
        return 1;
    t0 = now_ms();
    if (mm_index_open(&ix, argv[1], 0) != 0) {
        fprintf(stderr, "bench_index: %s\n", mm_error_last());
        goto out;
    }
    open_ms = now_ms() - t0;
    for (int q = 0; q < NQ; q++)
        if (!(t[q] = calloc(n, sizeof(double))))
            goto out;
    mm_buf_init(&b, MM_LIMIT_JSON);
    for (size_t i = 0; i < n; i++) {
        char prefix[8];
        const char *query[NQ] = { pats[i].id, prefix, pats[i].kana_family, pats[i].hira,
                                  pats[i].birth };

        snprintf(prefix, sizeof(prefix), "%.6s", pats[i].id);
        for (int q = 0; q < NQ; q++) {
            struct mm_index_results r = { 0 };
            struct mm_index_lab_matrix m = { 0 };
            int err;

            t0 = now_ms();
            if (q == Q_SUMMARY) {
                mm_buf_clear(&b);
                err = mm_index_summary(ix, pats[i].id, &b);
                bytes += b.len;
            } else if (q == Q_LABS) {
                err = mm_index_lab_matrix(ix, pats[i].id, &m);
                cells += m.ntests * m.ntimes;
            } else {
                err = mm_index_find(ix, query[q], 50, NULL, &r);
                if (err == 0 && r.n == 0)
                    err = mm_error_set(MM_ENOTFOUND, "'%s' found nothing", names[q]);
            }
            t[q][i] = now_ms() - t0;
            mm_index_results_release(&r);
            mm_index_lab_matrix_release(&m);
            if (err != 0) {
                fprintf(stderr, "bench_index: %s: %s\n", names[q], mm_error_last());
                mm_buf_release(&b);
                goto out;
            }
        }
    }
    mm_buf_release(&b);
    printf("open %.3f ms; %zu patients sampled; summary %.1f KB and lab matrix %.0f cells on "
           "average\n",
           open_ms, n, (double)bytes / 1024.0 / (double)n, (double)cells / (double)n);
    for (int q = 0; q < NQ; q++)
        report(names[q], t[q], n);
    rc = 0;
out:
    for (int q = 0; q < NQ; q++)
        free(t[q]);
    free(pats);
    mm_index_free(ix);
    return rc;
}
