/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The clinical record reader against ground truth: every patient of a generated
 * storage is loaded with mm_ssmix2_record_load() and its JSON compared field by
 * field with mamori-gen's --truth file (demographics, current diagnoses, allergies,
 * current prescriptions and injections, lab values, documents, images), and no
 * superseded or cancelled order may appear as current. Then every real sample.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
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
#include "hl7/hl7.h"
#include "os/os.h"
#include "ssmix2/ssmix2.h"
#include "test_message.h"
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
                              strcmp(js(grp, "days"), js(rp, "days")) == 0;
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

/* ---- the facts a screen must not lose ---- */

/* Every key of @keys is equal in @a and @b (strings; "" for missing). */
static int same_keys(json_t *a, json_t *b, const char *const *keys)
{
    for (const char *const *k = keys; *k; k++)
        if (strcmp(js(a, *k), js(b, *k)) != 0)
            return 0;
    return 1;
}

/* The record JSON of @pid (current items). OUT: the problems. */
static json_t *record_json(const char *pid, struct mm_ssmix2_problems *probs)
{
    mm_ssmix2_record *r = NULL;
    json_error_t jerr;
    json_t *got;
    mm_buf b;

    memset(probs, 0, sizeof(*probs));
    assert_int_equal(mm_ssmix2_record_load(&r, std_root, NULL, pid, probs), 0);
    mm_buf_init(&b, MM_LIMIT_JSON);
    assert_int_equal(mm_ssmix2_record_json(r, &b, 0), 0);
    got = json_loads(b.ptr, 0, &jerr);
    if (!got)
        fail_msg("record JSON does not parse: %s", jerr.text);
    mm_buf_release(&b);
    mm_ssmix2_record_free(r);
    return got;
}

static void record__contacts_administrations_and_names_match_truth(void **state)
{
    static const char *const ckeys[] = {
        "name", "kana", "relationship_code", "relationship", "postal_code", "address", NULL
    };
    static const char *const ikeys[] = { "plan_code",     "plan_name", "insurer_no", "valid_from",
                                         "relation_code", "relation",  NULL };
    static const char *const akeys[] = { "order_no", "given_at",    "code",     "name",
                                         "dose",     "unit",        "route",    "completion",
                                         "given_by", "given_by_id", "location", "location_name",
                                         NULL };
    static const char *const okeys[] = { "order_no", "dept",      "dept_name",
                                         "doctor",   "doctor_id", NULL };
    static const char *const ekeys[] = { "kind", "date", "time", "dept", "dept_name", NULL };
    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr), *pt;
    size_t i, with_contacts = 0, with_admins = 0, with_wards = 0;

    (void)state;
    assert_non_null(truth);
    json_array_foreach(json_object_get(truth, "patients"), i, pt)
    {
        json_t *tp = json_object_get(pt, "patient");
        const char *pid = js(tp, "id");
        struct mm_ssmix2_problems probs;
        json_t *got = record_json(pid, &probs), *gp = json_object_get(got, "patient"), *x, *y;
        size_t k, j;

        assert_int_equal(probs.bad, 0);
        assert_int_equal(json_array_size(json_object_get(got, "read_failures")), 0);
        if (!json_equal(json_object_get(tp, "phones"), json_object_get(gp, "phones")))
            fail_msg("phones of patient %s", pid);
        assert_int_equal(json_array_size(json_object_get(tp, "contacts")),
                         json_array_size(json_object_get(gp, "contacts")));
        json_array_foreach(json_object_get(tp, "contacts"), k, x)
        {
            y = json_array_get(json_object_get(gp, "contacts"), k);
            if (!same_keys(x, y, ckeys) ||
                !json_equal(json_object_get(x, "phones"), json_object_get(y, "phones")))
                fail_msg("contact %zu of patient %s", k, pid);
            with_contacts++;
        }
        assert_int_equal(json_array_size(json_object_get(tp, "insurance")),
                         json_array_size(json_object_get(gp, "insurance")));
        json_array_foreach(json_object_get(tp, "insurance"), k, x)
        {
            if (!same_keys(x, json_array_get(json_object_get(gp, "insurance"), k), ikeys))
                fail_msg("insurance %zu of patient %s", k, pid);
        }
        same_set(json_object_get(pt, "administrations"), json_object_get(got, "administrations"),
                 akeys, "administrations", pid);
        json_array_foreach(json_object_get(pt, "administrations"), k, x)
        {
            int found = 0;
            json_array_foreach(json_object_get(got, "administrations"), j, y)
            {
                found |= same_keys(x, y, akeys) &&
                         json_is_true(json_object_get(x, "injection")) ==
                                 json_is_true(json_object_get(y, "injection"));
            }
            assert_true(found);
            with_admins++;
        }
        same_set(json_object_get(pt, "prescriptions"), json_object_get(got, "prescriptions"), okeys,
                 "prescription departments and doctors", pid);
        same_set(json_object_get(pt, "injections"), json_object_get(got, "injections"), okeys,
                 "injection departments and doctors", pid);
        same_set(json_object_get(pt, "encounters"), json_object_get(got, "encounters"), ekeys,
                 "encounter departments", pid);
        json_array_foreach(json_object_get(pt, "encounters"), k, x)
        {
            if (!js(x, "ward_name")[0] || strcmp(js(x, "kind"), "outpatient") == 0)
                continue;
            json_array_foreach(json_object_get(got, "encounters"), j, y)
            {
                if (same_keys(x, y, ekeys)) {
                    assert_string_equal(js(x, "ward"), js(y, "ward"));
                    assert_string_equal(js(x, "ward_name"), js(y, "ward_name"));
                    with_wards++;
                }
            }
        }
        json_decref(got);
    }
    /* the loops above ran over real content */
    assert_true(with_contacts > 50 && with_admins > 50 && with_wards > 10);
    json_decref(truth);
}

/* The path of patient @pid's current files of @type, in name order. OUT: up to @cap paths. */
static size_t files_of(const char *pid, const char *type, int only_current, char (*out)[1024],
                       size_t cap)
{
    char pdir[512];
    char **dates = NULL;
    size_t n = 0, nd = 0;
    DIR *d;
    struct dirent *e;

    snprintf(pdir, sizeof(pdir), "%s/%.3s/%.3s/%s", std_root, pid, pid + 3, pid);
    assert_non_null(d = opendir(pdir));
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        dates = realloc(dates, (nd + 1) * sizeof(*dates));
        dates[nd++] = strdup(e->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < nd; i++) {
        char tdir[768];
        DIR *t;
        snprintf(tdir, sizeof(tdir), "%s/%s/%s", pdir, dates[i], type);
        if ((t = opendir(tdir)) != NULL) {
            while ((e = readdir(t)) != NULL) {
                size_t l = strlen(e->d_name);
                if (e->d_name[0] == '.' || (only_current && e->d_name[l - 1] != '1'))
                    continue;
                if (n < cap)
                    snprintf(out[n], 1024, "%s/%s", tdir, e->d_name);
                n++;
            }
            closedir(t);
        }
        free(dates[i]);
    }
    free(dates);
    return n;
}

static void write_text(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(s, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* The patient (of the truth) with at least @min current files of @type. */
static const char *patient_with(json_t *truth, const char *type, size_t min, size_t skip)
{
    char paths[64][1024];
    size_t i;
    json_t *pt;

    json_array_foreach(json_object_get(truth, "patients"), i, pt)
    {
        const char *pid = js(json_object_get(pt, "patient"), "id");
        if (files_of(pid, type, 1, paths, 64) >= min && skip-- == 0)
            return pid;
    }
    return NULL;
}

static void record__read_failures_are_counted_by_data_type(void **state)
{
    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr), *got, *f, *x;
    char rx[64][1024], all[128][1024], labs[64][1024];
    struct mm_ssmix2_problems probs;
    const char *pid;
    size_t nrx, nall, nlab, k;
    static const char *const adt =
            "MSH|^~\\&|A|B|C|D|20250101000000||ADT^A08^ADT_A01|1|P|2.5\rPID|1\r";
    int listed = 0;
    char broken[2][32];

    (void)state;
    assert_non_null(truth);
    pid = patient_with(truth, "OMP-01", 3, 3);
    assert_non_null(pid);
    nrx = files_of(pid, "OMP-01", 1, rx, 64);
    nall = files_of(pid, "OMP-01", 0, all, 128);
    nlab = files_of(pid, "OML-11", 1, labs, 64);
    assert_true(nlab >= 1);
    /* two prescriptions broken: one not HL7 at all, one an ADT message in the OMP-01 folder */
    for (int b = 0; b < 2; b++) {
        const char *base = strrchr(rx[b], '/') + 1;
        snprintf(broken[b], sizeof(broken[b]), "%.15s",
                 strchr(strchr(strchr(base, '_') + 1, '_') + 1, '_') + 1);
    }
    write_text(rx[0], "NOT A MESSAGE\r", 14);
    write_text(rx[1], adt, strlen(adt));
    /* a lab result with one byte that is not ISO-2022-JP: read, but damaged */
    {
        mm_buf raw;
        mm_buf_init(&raw, MM_LIMIT_HL7_MESSAGE);
        assert_int_equal(mm_os_read_file(labs[0], &raw), 0);
        while (raw.len && (raw.ptr[raw.len - 1] == 0x1c || raw.ptr[raw.len - 1] == '\n' ||
                           raw.ptr[raw.len - 1] == '\r'))
            raw.len--; /* the file's own ending, CR, LF or a trailing 0x1C */
        assert_int_equal(mm_buf_puts(&raw, "\rNTE|1||\x1b$B\x80\x81\x1b(B\r"), 0);
        write_text(labs[0], raw.ptr, raw.len);
        mm_buf_release(&raw);
    }
    got = record_json(pid, &probs);
    assert_int_equal(probs.bad, 3);
    json_array_foreach(json_object_get(got, "read_failures"), k, f)
    {
        if (strcmp(js(f, "type"), "OMP-01") == 0) {
            assert_string_equal(js(f, "section"), "prescriptions");
            assert_string_equal(js(f, "type_name"), "処方オーダ");
            assert_int_equal(json_integer_value(json_object_get(f, "files")), nall);
            assert_int_equal(json_integer_value(json_object_get(f, "failed")), 2);
            assert_int_equal(json_integer_value(json_object_get(f, "damaged")), 0);
            assert_true(js(f, "reason")[0] != '\0');
            assert_null(strstr(js(f, "reason"), pid));
            listed |= 1;
        } else if (strcmp(js(f, "type"), "OML-11") == 0) {
            assert_string_equal(js(f, "section"), "labs");
            assert_int_equal(json_integer_value(json_object_get(f, "failed")), 0);
            assert_int_equal(json_integer_value(json_object_get(f, "damaged")), 1);
            listed |= 2;
        } else {
            fail_msg("read failure of an intact type '%s'", js(f, "type"));
        }
    }
    assert_int_equal(listed, 3);
    /* the broken prescriptions are missing, every other current one is there */
    assert_int_equal(json_array_size(json_object_get(got, "prescriptions")), nrx - 2);
    json_array_foreach(json_object_get(got, "prescriptions"), k, x)
    {
        assert_string_not_equal(js(x, "order_no"), broken[0]);
        assert_string_not_equal(js(x, "order_no"), broken[1]);
    }
    json_decref(got);
    json_decref(truth);
}

/*
 * HL7's null ("", "the value is deleted") is no value: it never reaches the record as two
 * quote characters, in any field or component (a drug's unit, a doctor, a route, a diagnosis).
 */
static void record__hl7_null_is_no_value(void **state)
{
    mm_ssmix2_record *r = NULL;
    json_error_t jerr;
    json_t *j, *rx, *drug;
    mm_buf b;

    (void)state;
    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    add_text(r, "0001234_20250102_OMP-01_000000000000001_20250102091000000_08_1",
             "MSH|^~\\&|HIS|S|GW|R|20250102091000||RDE^O11^RDE_O11|3|P|2.5\r"
             "PID|1||0001234^^^^PI\rPV1|1|O|\"\"\r"
             "ORC|NW|000000000000001||1|||||20250102091000|||\"\"^\"\"|||||\"\"\r"
             "RXE|\"\"|111^ロキソプロフェン錠^HOT9|1|\"\"|\"\"^\"\"^MR9P|\"\"\r"
             "TQ1|||1013044400000000&内服・経口・１日３回朝昼夕食後&JAMISDP01|||\"\"\r"
             "RXR|\"\"\r");
    mm_buf_init(&b, 1 << 20);
    assert_int_equal(mm_ssmix2_record_json(r, &b, 0), 0);
    assert_null(strstr(b.ptr, "\"\\\"\\\"\"")); /* no string value that is two quotes */
    assert_non_null(j = json_loadb(b.ptr, b.len, 0, &jerr));
    rx = json_array_get(json_object_get(j, "prescriptions"), 0);
    assert_non_null(rx);
    drug = json_array_get(json_object_get(json_array_get(json_object_get(rx, "rps"), 0), "drugs"),
                          0);
    assert_non_null(drug);
    assert_string_equal(json_string_value(json_object_get(drug, "name")), "ロキソプロフェン錠");
    assert_string_equal(json_string_value(json_object_get(drug, "unit")), "");
    json_decref(j);
    mm_buf_release(&b);
    mm_ssmix2_record_free(r);
}

static void record__names_of_codes_and_contacts_from_the_messages(void **state)
{
    mm_ssmix2_record *r = NULL;
    const struct mm_ssmix2_patient *p;
    const struct mm_ssmix2_admin *a;
    json_error_t jerr;
    json_t *j, *e;
    mm_buf b;

    (void)state;
    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    add_text(
            r, "0001234_-_ADT-00_999999999999999_20250101090000000_-_1",
            "MSH|^~\\&|HIS|S|GW|R|20250101090000||ADT^A08^ADT_A01|1|P|2.5\r"
            "PID|1||0001234^^^^PI||山田^花子^^^^^L^I~ヤマダ^ハナコ^^^^^L^P||19500101|F|||"
            "^^^^100-0001^JPN^H^東京都千代田区１||^PRN^PH^^^^^^^^^03-1111-1111~^ORN^CP^^^^^^^^^090-2222-2222"
            "|^WPN^PH^^^^^^^^^03-3333-3333\r"
            "NK1|1|山田^花子^^^^^L^I|SEL^本人^HL70063\r"
            "NK1|2|山田^太郎^^^^^L^I~ヤマダ^タロウ^^^^^L^P|SPO^配偶者^HL70063|"
            "^^^^100-0002^JPN^H^東京都千代田区２|^PRN^CP^^^^^^^^^080-4444-4444~^PRN^PH^^^^^^^^^03-5555-5555|"
            "^WPN^PH^^^^^^^^^03-6666-6666\r"
            "IN1|1|67^国民健康保険^JHSD0001|01130001|||||||||20200401|20300331||||SEL^本人^HL70063\r"
            "IN1|2|01^協会けんぽ^JHSD0001|06130002|||||||||20210101|||||SPO^配偶者^HL70063\r");
    /* an outpatient visit with a bare department code, named by an order's ORC-17 */
    add_text(
            r, "0001234_20250102_ADT-12_999999999999999_20250102090000000_08_1",
            "MSH|^~\\&|HIS|S|GW|R|20250102090000||ADT^A04^ADT_A01|2|P|2.5\r"
            "EVN||202501020900\rPID|1||0001234^^^^PI\r"
            "PV1|1|O|08^^^^^C||||D01^外科^一郎^^^^^^^L^^^^^I|||08|||||||||||||||||||||||||||||||||||202501020900\r");
    add_text(
            r, "0001234_20250102_OMP-01_000000000000001_20250102091000000_08_1",
            "MSH|^~\\&|HIS|S|GW|R|20250102091000||RDE^O11^RDE_O11|3|P|2.5\r"
            "PID|1||0001234^^^^PI\rPV1|1|O|08^^^^^C\r"
            "ORC|NW|000000000000001||1|||||20250102091000|||D01^外科^一郎^^^^^^^L^^^^^I|||||08^外科^99XY1\r"
            "RXE||111^薬^HOT9|1||TAB^錠^MR9P\r");
    /* an injection given on a ward named by the RXA-11 location description */
    add_text(r, "0001234_20250103_OMP-12_000000000000002_20250103100000000_08_1",
             "MSH|^~\\&|HIS|S|GW|R|20250103100000||RAS^O17^RAS_O17|4|P|2.5\r"
             "PID|1||0001234^^^^PI\rPV1|1|I|5E^501^1^^^N\r"
             "ORC|NW|000000000000002||1|||||20250103090000\r"
             "RXA|0|1|20250103093000|20250103110000|222^点滴^HOT9|500|ML^mL^MR9P||^右前腕^99IC2|"
             "N01^看護^京子^^^^^^^L^^^^^I|5E^501^1^^^N^^^５階東病棟|||||||||RE\r"
             "RXR|IV^静脈内^HL70162\r");
    p = mm_ssmix2_record_patient(r);
    assert_non_null(p);
    assert_int_equal(p->nphones, 3);
    assert_string_equal(p->phones[2].use, "WPN");
    assert_string_equal(p->phones[1].equipment, "CP");
    assert_int_equal(p->ncontacts, 1); /* the patient's own NK1 (SEL) is not a contact */
    assert_string_equal(p->contacts[0].name, "山田 太郎");
    assert_string_equal(p->contacts[0].kana, "ヤマダ タロウ");
    assert_string_equal(p->contacts[0].relationship, "配偶者");
    assert_string_equal(p->contacts[0].address, "東京都千代田区２");
    assert_string_equal(p->contacts[0].postal_code, "100-0002");
    assert_int_equal(p->contacts[0].nphones, 3);
    assert_string_equal(p->contacts[0].phones[2].number, "03-6666-6666");
    assert_int_equal(p->ninsurance, 2);
    assert_string_equal(p->insurance[0].valid_to, "2030-03-31");
    assert_string_equal(p->insurance[1].relation_code, "SPO");
    assert_int_equal(mm_ssmix2_record_admins(r, &a), 1);
    assert_string_equal(a->given_by, "看護 京子");
    assert_string_equal(a->given_by_id, "N01");
    assert_string_equal(a->location, "5E");
    assert_string_equal(a->location_name, "５階東病棟");
    assert_string_equal(a->status, "RE");
    assert_string_equal(a->ended_at, "2025-01-03T11:00");
    assert_string_equal(a->site, "右前腕");
    assert_string_equal(a->route_name, "静脈内");
    assert_string_equal(mm_ssmix2_record_code_name(r, 0, "08"), "外科");
    assert_string_equal(mm_ssmix2_record_code_name(r, 1, "5E"), "５階東病棟");
    assert_string_equal(mm_ssmix2_record_code_name(r, 0, "99"), "");
    /* the JSON: the visit's bare code named by the order, the ward by the administration */
    mm_buf_init(&b, MM_LIMIT_JSON);
    assert_int_equal(mm_ssmix2_record_json(r, &b, 0), 0);
    assert_non_null(j = json_loads(b.ptr, 0, &jerr));
    e = json_array_get(json_object_get(j, "encounters"), 0);
    assert_string_equal(js(e, "dept"), "08");
    assert_string_equal(js(e, "dept_name"), "外科");
    assert_string_equal(js(e, "doctor_id"), "D01");
    e = json_array_get(json_object_get(j, "administrations"), 0);
    assert_string_equal(js(e, "location_name"), "５階東病棟");
    assert_string_equal(js(e, "given_by"), "看護 京子");
    assert_true(json_is_true(json_object_get(e, "injection")));
    e = json_array_get(json_object_get(j, "prescriptions"), 0);
    assert_string_equal(js(e, "dept_name"), "外科");
    assert_string_equal(js(e, "doctor"), "外科 一郎");
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "patient"), "contacts")),
                     1);
    assert_int_equal(json_array_size(json_object_get(j, "read_failures")), 0);
    json_decref(j);
    mm_buf_release(&b);
    mm_ssmix2_record_free(r);
}

/*
 * Load @pid's record under @root (collecting its problems when @with_problems) and write its
 * JSON with the k-th allocation failing, k = 1, 2, … below @max, until the whole succeeds:
 * every failure is MM_ENOMEM with no record returned, and it does succeed before @max.
 */
static void load_failing_allocations(const char *root, const char *pid, int with_problems, long max)
{
    int err = MM_ENOMEM;

    for (long k = 1; err == MM_ENOMEM && k < max; k++) {
        mm_ssmix2_record *r = NULL;
        struct mm_ssmix2_problems probs = { 0 };
        mm_buf b;
        mm_alloc_fail_at(k, 0);
        err = mm_ssmix2_record_load(&r, root, NULL, pid, with_problems ? &probs : NULL);
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

static void record__allocation_failure_with_failures(void **state)
{
    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr);
    const char *pid;

    (void)state;
    assert_non_null(truth);
    /* a patient with contacts, administrations and (from the test above) broken files */
    pid = patient_with(truth, "OMP-01", 3, 3);
    assert_non_null(pid);
    load_failing_allocations(std_root, pid, 1, 200000);
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
    /* no ADT message for this patient: the identity is the PID of its lab result */
    p = mm_ssmix2_record_patient(r);
    assert_non_null(p);
    assert_string_equal(p->from.type, "OML-11");
    assert_string_equal(p->name, "試験 花子");
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

    (void)state;
    load_failing_allocations(root, "9999013", 0, 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record__generated_storage_matches_truth),
        cmocka_unit_test(record__history_keeps_superseded_and_cancelled),
        cmocka_unit_test(record__unknown_and_hostile_ids),
        cmocka_unit_test(record__contacts_administrations_and_names_match_truth),
        cmocka_unit_test(record__read_failures_are_counted_by_data_type),
        cmocka_unit_test(record__names_of_codes_and_contacts_from_the_messages),
        cmocka_unit_test(record__hl7_null_is_no_value),
        cmocka_unit_test(record__allocation_failure_with_failures),
        cmocka_unit_test(record__symlinks_are_not_followed),
        cmocka_unit_test(record__real_samples),
        cmocka_unit_test(record__allocation_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
