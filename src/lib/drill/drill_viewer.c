/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Steps 2 and 5 of the drill (drill.c), the patients as the viewer reads them: the
 * generation's patient index opened on demand (mm_repo_pages_open + mm_index_open_pages, as
 * the viewer does), a sample of patients spread over the sorted ID list (the first and the last
 * among them), each found by ID, its patient screen rendered (mm_viewer_patient_json), its lab
 * matrix built and each document and image file its summary lists read back from the
 * generation; then each sampled patient's record loaded from the restored storage and its
 * JSON compared with the index's summary (the index must say what the data says). Patient IDs
 * stay in memory: failures are counted and named by step, never by patient.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "drill/drill_int.h"
#include "ssmix2/ssmix2.h"
#include "viewer/viewer.h"

#define CACHE_BYTES (64u * 1024u * 1024u) /* decrypted index blocks kept, as the CLI keeps */

/* The @k-th of @n sampled IDs out of d->nids: spread evenly, first and last included. */
static const char *sample_id(struct mm_drill__run *d, size_t k, size_t n)
{
    size_t want = n <= 1 ? 0 : (size_t)((unsigned long long)k * (d->nids - 1) / (n - 1));
    const char *p = d->ids.ptr;

    for (size_t i = 0; i < want; i++)
        p += strlen(p) + 1;
    return p;
}

/* Find @id by a search and render its patient screen. @return 0, or why it failed (static) */
static const char *show_patient(struct mm_drill__run *d, const char *id, mm_buf *out)
{
    struct mm_index_results found = { 0 };
    char as_of[48];
    int hit = 0;

    if (mm_index_find(d->ix, id, 10, NULL, &found) < 0)
        return "search";
    for (size_t i = 0; i < found.n && !hit; i++)
        hit = strcmp(found.v[i].id, id) == 0;
    mm_index_results_release(&found);
    if (!hit)
        return "search";
    mm_viewer_local_time(d->gen.end_ns, as_of);
    as_of[strlen(as_of) >= 16 ? 16 : 0] = '\0';
    mm_buf_clear(out);
    if (mm_viewer_patient_json(d->ix, d->gen.id, as_of[0] ? as_of : NULL, id, out) < 0)
        return "patient screen";
    return NULL;
}

int mm_drill__viewer(struct mm_drill__run *d)
{
    struct mm_drill_result *res = d->res;
    double t = mm_drill__now(), open_s, list_t;
    const char *why;
    mm_buf screen;
    uint64_t n = 0;
    int err;

    if (!d->gen.has_index) {
        if (d->gen.nstorages || (d->gen.check.attention & MM_REPO_ATTN_NO_INDEX))
            mm_drill__check(res, MM_DRILL_CHECK_VIEWER, 0,
                            "SS-MIX2 のデータがあるのに患者インデックスがありません",
                            "the generation holds SS-MIX2 data but no patient index");
        return 0;
    }
    if ((err = mm_repo_pages_open(d->r, &d->gen, CACHE_BYTES, &d->pages)) < 0 ||
        (err = mm_index_open_pages(&d->ix, mm_repo_pages_read, d->pages,
                                   mm_repo_pages_size(d->pages))) < 0) {
        if (err == MM_ENOMEM)
            return err;
        mm_drill__check(res, MM_DRILL_CHECK_VIEWER, 0, "患者インデックスを開けません: %s",
                        "the patient index does not open: %s", mm_error_name(err),
                        mm_error_name(err));
        mm_error_clear();
        return 0;
    }
    open_s = mm_drill__now() - t;
    /* the ID list is the drill's, not the viewer's: not timed */
    if ((err = mm_index_patient_ids(d->ix, &d->ids, &d->nids)) < 0 ||
        (err = mm_index_patient_count(d->ix, &n)) < 0) {
        mm_drill__check(res, MM_DRILL_CHECK_VIEWER, 0, "患者の一覧を読めません",
                        "the patient list does not read");
        mm_error_clear();
        return err == MM_ENOMEM ? err : 0;
    }
    res->patients_total = n;
    if (d->nids == 0) {
        mm_drill__check(res, MM_DRILL_CHECK_VIEWER, 0, "患者インデックスに患者がいません",
                        "the patient index holds no patient");
        return 0;
    }
    mm_buf_init(&screen, MM_LIMIT_JSON);
    list_t = mm_drill__now();
    why = show_patient(d, sample_id(d, 0, 1), &screen);
    res->viewer_s = d->o->unlock_s + open_s + (mm_drill__now() - list_t);
    mm_buf_release(&screen);
    mm_error_clear();
    if (why)
        mm_drill__check(res, MM_DRILL_CHECK_VIEWER, 0, "最初の患者を表示できません（%s）",
                        "the first patient cannot be shown (%s)", why, why);
    else
        mm_drill__check(res, MM_DRILL_CHECK_VIEWER, 1,
                        "鍵の解除から患者画面の表示まで %.2f 秒（患者 %llu 人のインデックス）",
                        "%.2f s from the key's unlock to a patient's screen (index of %llu "
                        "patients)",
                        res->viewer_s, (unsigned long long)n);
    return 0;
}

/* The path in the generation of the extended storage's files, into @out ("" when none). */
static void ext_base(const struct mm_repo_gen *g, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < g->nstorages && !out[0]; i++)
        if (g->storages[i].kind == MM_REPO_SOURCE_SSMIX2_EXT && g->storages[i].indexed)
            snprintf(out, cap, "%s", g->storages[i].path);
    for (size_t i = 0; i < g->nsources && !out[0]; i++)
        if (g->sources[i].kind == MM_REPO_SOURCE_SSMIX2_EXT)
            snprintf(out, cap, "%s", g->sources[i].name);
}

/* Read back every document and image file @summary lists. @return NULL, or why it failed */
static const char *read_documents(struct mm_drill__run *d, const mm_buf *summary)
{
    static const char *const keys[] = { "documents", "images" };
    char base[MM_LIMIT_PATH], full[MM_LIMIT_PATH];
    const char *why = NULL;
    json_t *j = json_loadb(summary->ptr, summary->len, 0, NULL);
    mm_buf file;

    if (!j)
        return "summary";
    ext_base(&d->gen, base, sizeof(base));
    mm_buf_init(&file, MM_VIEWER_FILE_MAX);
    for (size_t k = 0; k < 2 && !why; k++) {
        size_t i, f;
        json_t *doc, *name;
        json_array_foreach(json_object_get(j, keys[k]), i, doc)
        {
            const char *folder = json_string_value(json_object_get(doc, "folder"));
            json_array_foreach(json_object_get(doc, "files"), f, name)
            {
                const char *s = json_string_value(name);
                if (why)
                    break;
                if (!folder || !s || !base[0] ||
                    snprintf(full, sizeof(full), "%s/%s/%s", base, folder, s) >=
                            (int)sizeof(full) ||
                    mm_repo_read_file(d->r, &d->gen, full, MM_VIEWER_FILE_MAX, &file) < 0)
                    why = "document file";
                else
                    d->res->documents++;
                mm_buf_clear(&file);
            }
        }
    }
    mm_buf_release(&file);
    json_decref(j);
    mm_error_clear();
    return why;
}

/* Patient @id as the viewer reads it; its summary goes to @summary. @return NULL or why */
static const char *read_patient(struct mm_drill__run *d, const char *id, mm_buf *summary)
{
    struct mm_index_lab_matrix m = { 0 };
    const char *why;
    mm_buf screen;

    mm_buf_init(&screen, MM_LIMIT_JSON);
    why = show_patient(d, id, &screen);
    mm_buf_release(&screen);
    if (!why && mm_index_lab_matrix(d->ix, id, &m) < 0)
        why = "lab matrix";
    mm_index_lab_matrix_release(&m);
    mm_buf_clear(summary);
    if (!why && mm_index_summary(d->ix, id, summary) < 0)
        why = "summary";
    if (!why)
        why = read_documents(d, summary);
    mm_error_clear();
    return why;
}

/* The restored SS-MIX2 storages (as a backup finds them). OUT: @det */
static int find_storages(struct mm_drill__run *d, struct mm_ssmix2_detection *det)
{
    char *roots[64] = { NULL };
    size_t n = 0;
    int err;

    for (size_t i = 0; i < d->gen.nsources && n < 64; i++) {
        size_t len = strlen(d->restored) + strlen(d->gen.sources[i].name) + 2;
        if (!(roots[n] = malloc(len)))
            break;
        snprintf(roots[n++], len, "%s/%s", d->restored, d->gen.sources[i].name);
    }
    err = mm_ssmix2_detect((const char *const *)roots, n, det);
    for (size_t i = 0; i < n; i++)
        free(roots[i]);
    return err;
}

/* Whether the restored record of @id says what @summary says. @return 1, 0, or -1 not found */
static int record_matches(const struct mm_ssmix2_detection *det, const char *id,
                          const mm_buf *summary, mm_buf *json)
{
    for (size_t i = 0; i < det->n; i++) {
        const struct mm_ssmix2_storage *s = &det->v[i];
        struct mm_ssmix2_problems probs;
        mm_ssmix2_record *rec = NULL;
        int err, same;
        if (s->kind != MM_SSMIX2_STORAGE_STANDARD)
            continue;
        memset(&probs, 0, sizeof(probs));
        err = mm_ssmix2_record_load(&rec, s->path, s->pair >= 0 ? det->v[s->pair].path : NULL, id,
                                    &probs);
        if (err == MM_ENOTFOUND) {
            mm_error_clear();
            continue;
        }
        mm_buf_clear(json);
        same = err == 0 && mm_ssmix2_record_json(rec, json, 0) == 0 && json->len == summary->len &&
               memcmp(json->ptr, summary->ptr, json->len) == 0;
        mm_ssmix2_record_free(rec);
        mm_error_clear();
        return same;
    }
    return -1;
}

int mm_drill__patients(struct mm_drill__run *d)
{
    struct mm_drill_result *res = d->res;
    struct mm_ssmix2_detection det;
    size_t n = d->o->sample ? d->o->sample : MM_DRILL_SAMPLE_DEFAULT, differ = 0, missing = 0;
    const char *first_why = NULL;
    int records = 0, err;
    mm_buf summary, json;

    if (!d->ix || d->nids == 0)
        return 0;
    if (n > d->nids)
        n = d->nids;
    memset(&det, 0, sizeof(det));
    /* the records check needs the restored files */
    if (res->checks[MM_DRILL_CHECK_RESTORE].ok && (err = find_storages(d, &det)) == 0)
        records = 1;
    mm_error_clear();
    mm_buf_init(&summary, MM_LIMIT_JSON);
    mm_buf_init(&json, MM_LIMIT_JSON);
    for (size_t k = 0; k < n; k++) {
        const char *id = sample_id(d, k, n), *why = read_patient(d, id, &summary);
        int m;
        res->patients++;
        if (why) {
            res->patients_failed++;
            if (!first_why)
                first_why = why;
            continue;
        }
        if (records && (m = record_matches(&det, id, &summary, &json)) != 1)
            *(m == 0 ? &differ : &missing) += 1;
    }
    mm_buf_release(&summary);
    mm_buf_release(&json);
    mm_ssmix2_detection_release(&det);
    if (res->patients_failed)
        mm_drill__check(res, MM_DRILL_CHECK_PATIENTS, 0,
                        "%llu 人中 %llu 人を読めません（最初の失敗: %s）",
                        "%llu patients read, %llu of them failed (first failure: %s)",
                        (unsigned long long)res->patients, (unsigned long long)res->patients_failed,
                        first_why, first_why);
    else
        mm_drill__check(res, MM_DRILL_CHECK_PATIENTS, 1,
                        "%llu 人を検索・表示し、検査結果表と文書・画像 %llu 件を読みました",
                        "%llu patients found and shown, lab matrices and %llu document and "
                        "image files read",
                        (unsigned long long)res->patients, (unsigned long long)res->documents);
    if (records && (differ || missing))
        mm_drill__check(
                res, MM_DRILL_CHECK_RECORDS, 0,
                "インデックスと復元したデータが一致しません: 相違 %zu 人、データなし %zu 人",
                "the index does not match the restored data: %zu patients differ, %zu "
                "not in the data",
                differ, missing);
    else if (records)
        mm_drill__check(res, MM_DRILL_CHECK_RECORDS, 1,
                        "%llu 人の記録を復元したファイルから読み、インデックスと一致",
                        "%llu patients' records read from the restored files match the index",
                        (unsigned long long)(res->patients - res->patients_failed));
    return 0;
}
