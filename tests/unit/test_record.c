/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The clinical record reader against ground truth: every patient of a generated
 * storage is loaded with mm_ssmix2_record_load() and its JSON compared field by
 * field with mamori-gen's --truth file (demographics, current diagnoses, allergies,
 * current prescriptions and injections, lab values, documents, images), and no
 * superseded or cancelled order may appear as current. Then every real sample.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "ssmix2/ssmix2.h"
#include "tools/gen/gen.h"

#define SAMPLES MM_SOURCE_ROOT "/tests/data/ssmix2-samples"

static char dir[128], std_root[256], ext_root[256], truth_path[256];

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct gen_opts o = { 0 };

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/mamori-test-record-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(std_root, sizeof(std_root), "%s/standard", dir);
    snprintf(ext_root, sizeof(ext_root), "%s/extended", dir);
    snprintf(truth_path, sizeof(truth_path), "%s/truth.json", dir);
    o.out = dir;
    o.patients = 120;
    o.days = 240;
    o.seed = 77;
    o.start = 20180;
    o.extended = 1;
    o.truth = truth_path;
    o.threads = 2;
    return gen_create(&o, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static const char *js(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* Every element of truth array @t has a match in @got on the given keys, and sizes agree. */
static void same_set(json_t *t, json_t *got, const char *const *keys, const char *what,
                     const char *pid)
{
    size_t i, j;
    json_t *a, *b;

    if (json_array_size(t) != json_array_size(got))
        fail_msg("%s of patient %s: truth has %zu, reader %zu", what, pid, json_array_size(t),
                 json_array_size(got));
    json_array_foreach(t, i, a)
    {
        int found = 0;
        json_array_foreach(got, j, b)
        {
            int eq = 1;
            for (const char *const *k = keys; *k && eq; k++)
                eq = strcmp(js(a, *k), js(b, *k)) == 0;
            found |= eq;
        }
        if (!found)
            fail_msg("%s of patient %s: item %zu (%s) not read", what, pid, i, js(a, keys[0]));
    }
}

static void check_orders(json_t *t, json_t *got, const char *what, const char *pid)
{
    size_t i, j;
    json_t *a, *b;

    assert_int_equal(json_array_size(t), json_array_size(got));
    json_array_foreach(t, i, a)
    {
        json_t *match = NULL;
        json_array_foreach(got, j, b)
        {
            if (strcmp(js(a, "order_no"), js(b, "order_no")) == 0)
                match = b;
        }
        if (!match)
            fail_msg("%s %s of patient %s missing", what, js(a, "order_no"), pid);
        assert_string_equal(js(a, "date"), js(match, "date"));
        /* every drug / component of the truth is in the order read, with dose and unit */
        json_t *trps = json_object_get(a, "rps"), *rps = json_object_get(match, "rps");
        size_t tn = 0, gn = 0, k, l;
        json_t *rp, *d;
        json_array_foreach(rps, k, rp) gn += json_array_size(json_object_get(rp, "drugs"));
        json_array_foreach(trps ? trps : json_object_get(a, "components"), k, rp)
        {
            json_t *drugs = json_object_get(rp, "drugs");
            if (!trps) {
                drugs = json_array();
                json_array_append(drugs, rp);
            }
            json_array_foreach(drugs, l, d)
            {
                int found = 0;
                size_t x, y;
                json_t *grp, *gd;
                tn++;
                json_array_foreach(rps, x, grp)
                {
                    json_array_foreach(json_object_get(grp, "drugs"), y, gd)
                    {
                        found |= strcmp(js(gd, "code"), js(d, "code")) == 0 &&
                                 strcmp(js(gd, "unit"), js(d, "unit")) == 0 &&
                                 strcmp(js(gd, "dose"), js(d, trps ? "dose" : "amount")) == 0;
                    }
                }
                if (!found)
                    fail_msg("%s %s: drug %s not read", what, js(a, "order_no"), js(d, "code"));
                if (trps) {
                    /* the Rp's usage and days */
                    int ok = 0;
                    json_array_foreach(rps, x, grp)
                    {
                        ok |= strcmp(js(grp, "usage"), js(rp, "usage")) == 0 &&
                              json_integer_value(json_object_get(rp, "days")) ==
                                      strtol(js(grp, "days"), NULL, 10);
                    }
                    assert_true(ok);
                }
            }
            if (!trps)
                json_decref(drugs);
        }
        assert_int_equal(tn, gn);
    }
}

static void record__generated_storage_matches_truth(void **state)
{
    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr), *pts, *pt;
    size_t i, checked = 0, with_rx = 0, with_labs = 0, with_docs = 0, with_inj = 0;
    static const char *const pkeys[] = { "id",      "name",  "kana",        "birth_date", "sex",
                                         "address", "phone", "postal_code", "blood_type", NULL };
    static const char *const akeys[] = { "name", "type", "code", "severity", "reaction", NULL };
    static const char *const dkeys[] = { "name", "icd10", "medis", "start_date", NULL };
    static const char *const lkeys[] = { "code", "value",        "unit",     "range",
                                         "flag", "collected_at", "order_no", NULL };

    (void)state;
    assert_non_null(truth);
    pts = json_object_get(truth, "patients");
    json_array_foreach(pts, i, pt)
    {
        json_t *tp = json_object_get(pt, "patient");
        const char *pid = js(tp, "id");
        mm_ssmix2_record *r = NULL;
        struct mm_ssmix2_problems probs = { 0 };
        mm_buf b;
        json_t *got;

        assert_int_equal(mm_ssmix2_record_load(&r, std_root, ext_root, pid, &probs), 0);
        assert_int_equal(probs.bad, 0);
        mm_buf_init(&b, MM_LIMIT_JSON);
        assert_int_equal(mm_ssmix2_record_json(r, &b, 0), 0);
        got = json_loads(b.ptr, 0, &jerr);
        if (!got)
            fail_msg("record JSON does not parse: %s", jerr.text);
        json_t *gp = json_object_get(got, "patient");
        for (const char *const *k = pkeys; *k; k++)
            if (strcmp(js(tp, *k), js(gp, *k)) != 0)
                fail_msg("patient %s: %s differs", pid, *k);
        same_set(json_object_get(pt, "allergies"), json_object_get(got, "allergies"), akeys,
                 "allergies", pid);
        same_set(json_object_get(pt, "diagnoses"), json_object_get(got, "diagnoses"), dkeys,
                 "diagnoses", pid);
        same_set(json_object_get(pt, "labs"), json_object_get(got, "labs"), lkeys, "labs", pid);
        check_orders(json_object_get(pt, "prescriptions"), json_object_get(got, "prescriptions"),
                     "prescription", pid);
        check_orders(json_object_get(pt, "injections"), json_object_get(got, "injections"),
                     "injection", pid);
        /* documents and images: as many as the truth has, with the same dates */
        assert_int_equal(json_array_size(json_object_get(pt, "documents")),
                         json_array_size(json_object_get(got, "documents")));
        assert_int_equal(json_array_size(json_object_get(pt, "images")),
                         json_array_size(json_object_get(got, "images")));
        /* no superseded or cancelled order is current */
        for (int l = 0; l < 2; l++) {
            size_t k, q;
            json_t *o, *g;
            json_array_foreach(json_object_get(pt, l ? "cancelled_orders" : "superseded_orders"), k,
                               o)
            {
                const char *v = json_string_value(o), *slash = strchr(v, '/');
                const char *key = strncmp(v, "OMP-01", 6) == 0   ? "prescriptions"
                                  : strncmp(v, "OMP-02", 6) == 0 ? "injections"
                                                                 : "orders";
                json_array_foreach(json_object_get(got, key), q, g)
                {
                    /* a superseded order is current only through its newer version */
                    if (l == 1)
                        assert_string_not_equal(js(g, "order_no"), slash + 1);
                    assert_string_equal(js(g, "status"), "current");
                }
            }
        }
        with_rx += json_array_size(json_object_get(pt, "prescriptions")) > 0;
        with_inj += json_array_size(json_object_get(pt, "injections")) > 0;
        with_labs += json_array_size(json_object_get(pt, "labs")) > 0;
        with_docs += json_array_size(json_object_get(pt, "documents")) > 0;
        json_decref(got);
        mm_buf_release(&b);
        mm_ssmix2_record_free(r);
        checked++;
    }
    assert_true(checked > 80);
    assert_true(with_rx > 20 && with_labs > 20 && with_docs > 5 && with_inj > 0);
    json_decref(truth);
}

static void record__history_keeps_superseded_and_cancelled(void **state)
{
    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr), *pt;
    size_t i, seen_sup = 0, seen_can = 0;

    (void)state;
    json_array_foreach(json_object_get(truth, "patients"), i, pt)
    {
        const char *pid = js(json_object_get(pt, "patient"), "id");
        mm_ssmix2_record *r = NULL;
        mm_buf b;
        json_t *got, *o;
        size_t k;

        if (json_array_size(json_object_get(pt, "superseded_orders")) == 0 &&
            json_array_size(json_object_get(pt, "cancelled_orders")) == 0)
            continue;
        assert_int_equal(mm_ssmix2_record_load(&r, std_root, NULL, pid, NULL), 0);
        mm_buf_init(&b, MM_LIMIT_JSON);
        assert_int_equal(mm_ssmix2_record_json(r, &b, MM_SSMIX2_JSON_HISTORY), 0);
        got = json_loads(b.ptr, 0, &jerr);
        assert_non_null(got);
        json_array_foreach(json_object_get(got, "prescriptions"), k, o)
        {
            seen_sup += strcmp(js(o, "status"), "superseded") == 0;
            seen_can += strcmp(js(o, "status"), "cancelled") == 0;
        }
        json_array_foreach(json_object_get(got, "orders"), k, o) seen_can +=
                strcmp(js(o, "status"), "cancelled") == 0;
        json_decref(got);
        mm_buf_release(&b);
        mm_ssmix2_record_free(r);
    }
    assert_true(seen_sup > 0);
    assert_true(seen_can > 0);
    json_decref(truth);
}

static void record__unknown_and_hostile_ids(void **state)
{
    mm_ssmix2_record *r = NULL;

    (void)state;
    assert_int_equal(mm_ssmix2_record_load(&r, std_root, NULL, "9999999999", NULL), MM_ENOTFOUND);
    assert_int_equal(mm_ssmix2_record_load(&r, std_root, NULL, "../../etc", NULL), MM_EINVAL);
    assert_int_equal(mm_ssmix2_record_load(&r, std_root, NULL, "", NULL), MM_EINVAL);
    assert_int_equal(mm_ssmix2_record_load(&r, std_root, NULL, "..", NULL), MM_EINVAL);
    assert_null(r);
    mm_ssmix2_record_free(NULL); /* accepted, as every *_free is */
    /* the message never carries the ID */
    assert_null(strstr(mm_error_last(), ".."));
}

static void record__symlinks_are_not_followed(void **state)
{
    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr);
    const char *pid =
            js(json_object_get(json_array_get(json_object_get(truth, "patients"), 0), "patient"),
               "id");
    char link[1024], dirl[512];
    struct mm_ssmix2_problems probs = { 0 };
    mm_ssmix2_record *r = NULL;

    (void)state;
    /* a file name that parses, in the right folder, but a link to a file outside the storage */
    snprintf(dirl, sizeof(dirl), "%s/%.3s/%.3s/%s/-/ADT-00", std_root, pid, pid + 3, pid);
    snprintf(link, sizeof(link), "%s/%s_-_ADT-00_999999999999999_20991231000000000_-_1", dirl, pid);
    assert_int_equal(symlink("/etc/hostname", link), 0);
    assert_int_equal(mm_ssmix2_record_load(&r, std_root, NULL, pid, &probs), 0);
    assert_int_equal(probs.bad, 1);
    assert_string_equal(probs.examples[0].reason, "symbolic link not followed");
    assert_null(strstr(probs.examples[0].path, pid));
    mm_ssmix2_record_free(r);
    assert_int_equal(unlink(link), 0);
    json_decref(truth);
}

static void record__real_samples(void **state)
{
    const char *root = SAMPLES "/nhoHQ_SSMIX2DataTestingTool/sampleData";
    mm_ssmix2_record *r = NULL;
    struct mm_ssmix2_problems probs = { 0 };
    const struct mm_ssmix2_patient *p;
    const struct mm_ssmix2_lab *labs;
    const struct mm_ssmix2_order *rx;
    const struct mm_ssmix2_diagnosis *dx;
    const struct mm_ssmix2_allergy *al;
    size_t n;

    (void)state;
    assert_int_equal(mm_ssmix2_record_load(&r, root, NULL, "9999013", &probs), 0);
    assert_int_equal(probs.files, 19);
    assert_int_equal(probs.bad, 0);
    p = mm_ssmix2_record_patient(r);
    assert_non_null(p);
    assert_string_equal(p->id, "9999013");
    assert_string_equal(p->name, "患者 太郎");
    assert_string_equal(p->kana, "カンジャ タロウ");
    assert_string_equal(p->birth_date, "1948-04-05");
    assert_string_equal(p->sex, "M");
    assert_string_equal(p->height_cm, "167.8");
    assert_string_equal(p->blood_type, "A");
    assert_string_equal(p->postal_code, "422-8033");
    assert_string_equal(p->phone, "054-000-0000");
    n = mm_ssmix2_record_allergies(r, &al);
    assert_int_equal(n, 5); /* 1 AL1 in ADT-00 and 4 IAM in ADT-61 */
    n = mm_ssmix2_record_diagnoses(r, &dx);
    assert_int_equal(n, 1);
    assert_string_equal(dx[0].name, "胃炎");
    assert_string_equal(dx[0].icd10, "K297");
    assert_false(dx[0].active); /* PRB-9 gives a resolution date */
    assert_true(dx[0].main);
    n = mm_ssmix2_record_orders(r, 0, &rx);
    assert_int_equal(n, 1);
    assert_int_equal(rx[0].nrps, 2); /* ORC-4 groups 1 and 2 */
    assert_int_equal(rx[0].rps[0].ndrugs, 2);
    assert_string_equal(rx[0].rps[0].drugs[0].code, "108665201");
    assert_string_equal(rx[0].rps[0].days, "5");
    assert_string_equal(rx[0].rps[1].drugs[0].unit, "ミリグラム");
    n = mm_ssmix2_record_labs(r, &labs);
    assert_int_equal(n, 3);
    /* sorted by collection time, then code: 3A010 総蛋白, 3A015 アルブミン, 3A016 A/G比 */
    assert_string_equal(labs[0].code, "3A010000002327101");
    assert_string_equal(labs[0].name, "総蛋白");
    assert_string_equal(labs[0].value, "7.2");
    assert_string_equal(labs[0].unit, "g/dl");
    assert_string_equal(labs[0].range, "6.70-8.3");
    assert_string_equal(labs[0].collected_at, "2011-12-19T15:00");
    assert_string_equal(labs[2].name, "A/G比");
    mm_ssmix2_record_free(r);

    /* the folder with the deliberately broken files: reported, counted, not fatal */
    memset(&probs, 0, sizeof(probs));
    assert_int_equal(mm_ssmix2_record_load(&r, root, NULL, "0000001", &probs), 0);
    assert_int_equal(probs.files, 3);
    assert_true(probs.bad >= 1);
    for (size_t i = 0; i < probs.nexamples; i++)
        assert_null(strstr(probs.examples[i].path, "0000001"));
    mm_ssmix2_record_free(r);

    /* mamori's own fixtures (tests/data/make-fixtures.py): a bacteria culture result without a
     * final CR, its organisms CWE values, and extended vitals under 6-field folder names */
    memset(&probs, 0, sizeof(probs));
    assert_int_equal(mm_ssmix2_record_load(&r, SAMPLES "/fixtures/standard_root",
                                           SAMPLES "/fixtures/extended_root", "5550001234", &probs),
                     0);
    assert_int_equal(probs.bad, 0);
    assert_null(mm_ssmix2_record_patient(r)); /* no ADT message for this patient */
    n = mm_ssmix2_record_labs(r, &labs);
    assert_int_equal(n, 4);
    /* sorted by collection time, then code: the two amounts (…211), then the two organisms */
    assert_string_equal(labs[0].code, "6B010000001774211");
    assert_string_equal(labs[0].value, "(3+)");
    assert_string_equal(labs[1].value, "(1+)");
    assert_string_equal(labs[2].code, "6B010000001774214");
    assert_string_equal(labs[2].name, "培養同定(一般細菌)菌名判定");
    assert_string_equal(labs[2].value, "K.pneumoniae"); /* CWE: the text, not the JANIS code */
    assert_string_equal(labs[3].value, "E.faecalis");   /* the last OBX, at the end of the file */
    assert_string_equal(labs[3].flag, "A");
    assert_string_equal(labs[3].collected_at, "2019-03-12T07:30");
    const struct mm_ssmix2_document *docs;
    assert_int_equal(mm_ssmix2_record_documents(r, &docs), 2);
    assert_string_equal(docs[0].title, "OBSERVATIONS");
    assert_int_equal(docs[0].nfiles, 1);
    assert_string_equal(docs[0].files[0], "main_document.hl7");
    mm_ssmix2_record_free(r);
}

static void record__allocation_failure(void **state)
{
    const char *root = SAMPLES "/nhoHQ_SSMIX2DataTestingTool/sampleData";
    int err = MM_ENOMEM;

    (void)state;
    for (long k = 1; err == MM_ENOMEM && k < 100000; k++) {
        mm_ssmix2_record *r = NULL;
        mm_buf b;
        mm_alloc_fail_at(k, 0);
        err = mm_ssmix2_record_load(&r, root, NULL, "9999013", NULL);
        if (err == 0) {
            mm_buf_init(&b, MM_LIMIT_JSON);
            err = mm_ssmix2_record_json(r, &b, MM_SSMIX2_JSON_HISTORY);
            mm_buf_release(&b);
            mm_ssmix2_record_free(r);
        } else {
            assert_int_equal(err, MM_ENOMEM);
            assert_null(r);
        }
    }
    mm_alloc_fail_at(0, 0);
    assert_int_equal(err, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record__generated_storage_matches_truth),
        cmocka_unit_test(record__history_keeps_superseded_and_cancelled),
        cmocka_unit_test(record__unknown_and_hostile_ids),
        cmocka_unit_test(record__symlinks_are_not_followed),
        cmocka_unit_test(record__real_samples),
        cmocka_unit_test(record__allocation_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
