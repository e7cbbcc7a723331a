/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_viewer: what the viewer answers apart from HTTP (tests/http covers the server):
 * the patient JSON against the index, the document check, the current inpatients of a ward
 * against a naive reading of the generator's truth file, the print document (every patient,
 * the page's script and stylesheet built in, no way out of its data block), the built-in
 * assets and the recovery search (which other index holds a failed section readable). The
 * fixture is a generated storage (mamori-gen's library) and its index.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <jansson.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "index/index.h"
#include "tests/unit/test_storage.h"
#include "tools/gen/gen.h"
#include "viewer/viewer.h"

#define SEED     3
#define PATIENTS 80
#define DAYS     120

static struct {
    struct test_storage s;
    mm_index *ix;
} fx;

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int setup(void **state)
{
    struct mm_index_build_stats st;

    (void)state;
    if (test_storage_make(&fx.s, "viewer", PATIENTS, DAYS, SEED) < 0)
        return -1;
    if (mm_index_create(&fx.ix, ":memory:") != 0 ||
        mm_index_build(fx.ix, fx.s.std, fx.s.ext, NULL, &st) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mm_index_free(fx.ix);
    test_storage_free(&fx.s);
    return 0;
}

static json_t *parse(const mm_buf *b)
{
    json_error_t je;
    json_t *j = json_loadb(b->ptr, b->len, 0, &je);

    if (!j)
        fail_msg("not JSON: %s", je.text);
    return j;
}

static void patient_json__summary_and_matrix_of_the_index(void **state)
{
    const char *gen = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    size_t checked = 0;

    (void)state;
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++) {
        const json_t *tp = json_array_get(fx.s.patients, i);
        const char *id = jstr(json_object_get(tp, "patient"), "id");
        struct mm_index_lab_matrix m = { 0 };
        mm_buf b, s;
        json_t *j, *rec, *labs, *cells;
        size_t values = 0, flags_h = 0, truth_h = 0;

        mm_buf_init(&b, MM_LIMIT_JSON);
        mm_buf_init(&s, MM_LIMIT_JSON);
        assert_int_equal(mm_viewer_patient_json(fx.ix, gen, NULL, id, &b), 0);
        assert_int_equal(mm_index_summary(fx.ix, id, &s), 0);
        j = parse(&b);
        assert_string_equal(jstr(j, "generation"), gen);
        rec = json_object_get(j, "record");
        {
            json_t *want = parse(&s);
            assert_true(json_equal(rec, want));
            json_decref(want);
        }
        assert_string_equal(jstr(json_object_get(rec, "patient"), "id"), id);
        labs = json_object_get(j, "labs");
        assert_int_equal(mm_index_lab_matrix(fx.ix, id, &m), 0);
        assert_int_equal(json_array_size(json_object_get(labs, "tests")), m.ntests);
        assert_int_equal(json_array_size(json_object_get(labs, "times")), m.ntimes);
        cells = json_object_get(labs, "cells");
        assert_int_equal(json_array_size(cells), m.ntests);
        for (size_t t = 0; t < m.ntests; t++) {
            const json_t *row = json_array_get(cells, t);
            assert_int_equal(json_array_size(row), m.ntimes);
            for (size_t k = 0; k < m.ntimes; k++) {
                const json_t *c = json_array_get(row, k);
                const struct mm_index_lab_cell *mc = &m.cells[t * m.ntimes + k];
                if (!mc->value) {
                    assert_true(json_is_null(c));
                    continue;
                }
                assert_string_equal(jstr(c, "value"), mc->value);
                assert_string_equal(jstr(c, "flag"), mc->flag);
                values++;
                flags_h += strcmp(mc->flag, "H") == 0;
            }
        }
        /* every current result of the truth is a cell, with its flag */
        {
            const json_t *tl = json_object_get(tp, "labs"), *l;
            size_t k;
            json_array_foreach(tl, k, l) truth_h += strcmp(jstr(l, "flag"), "H") == 0;
            assert_int_equal(values, json_array_size(tl));
            assert_int_equal(flags_h, truth_h);
        }
        mm_index_lab_matrix_release(&m);
        json_decref(j);
        mm_buf_release(&b);
        mm_buf_release(&s);
        checked++;
    }
    assert_int_equal(checked, json_array_size(fx.s.patients));
    assert_true(checked > PATIENTS / 2);
    {
        mm_buf b;
        mm_buf_init(&b, MM_LIMIT_JSON);
        mm_buf_puts(&b, "kept");
        assert_int_equal(mm_viewer_patient_json(fx.ix, gen, NULL, "no-such-patient", &b),
                         MM_ENOTFOUND);
        assert_int_equal(b.len, 4);
        mm_buf_release(&b);
    }
}

/*
 * With a time, the patient JSON holds the current medication of its summary at that time
 * (the same as mm_viewer_current_meds on the summary); a bad time is MM_EINVAL with nothing
 * written; without one there is no such member.
 */
static void patient_json__current_medication_at_as_of(void **state)
{
    const char *id = jstr(json_object_get(json_array_get(fx.s.patients, 0), "patient"), "id");
    static const char *const times[] = { "2025-01-01T00:00", "2025-03-15T09:30",
                                         "2025-06-30T23:59" };
    mm_buf b, s;
    json_t *j, *want, *sum;

    (void)state;
    mm_buf_init(&s, MM_LIMIT_JSON);
    assert_int_equal(mm_index_summary(fx.ix, id, &s), 0);
    sum = parse(&s);
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        mm_buf_init(&b, MM_LIMIT_JSON);
        assert_int_equal(mm_viewer_patient_json(fx.ix, "g", times[i], id, &b), 0);
        j = parse(&b);
        assert_int_equal(mm_viewer_current_meds(sum, times[i], &want), 0);
        assert_true(json_equal(json_object_get(j, "current_medication"), want));
        assert_non_null(json_object_get(j, "labs"));
        json_decref(want);
        json_decref(j);
        mm_buf_release(&b);
    }
    mm_buf_init(&b, MM_LIMIT_JSON);
    assert_int_equal(mm_viewer_patient_json(fx.ix, "g", "2025-06-31T09:00", id, &b), MM_EINVAL);
    assert_int_equal(b.len, 0);
    assert_int_equal(mm_viewer_patient_json(fx.ix, "g", NULL, id, &b), 0);
    j = parse(&b);
    assert_null(json_object_get(j, "current_medication"));
    json_decref(j);
    json_decref(sum);
    mm_buf_release(&b);
    mm_buf_release(&s);
}

/* The ward each patient of the truth stays in at the end (NULL: none), read naively. */
static const char *truth_ward(const json_t *tp, const char **room)
{
    const json_t *enc = json_object_get(tp, "encounters"), *e;
    const char *ward = NULL;
    size_t i;

    json_array_foreach(enc, i, e)
    {
        const char *k = jstr(e, "kind");
        if (!strcmp(k, "admission") || !strcmp(k, "transfer")) {
            ward = jstr(e, "ward");
            *room = jstr(e, "room");
        } else if (!strcmp(k, "discharge")) {
            ward = NULL;
        } else if ((!strcmp(k, "leave") || !strcmp(k, "return")) && ward && *jstr(e, "ward")) {
            ward = jstr(e, "ward");
            *room = jstr(e, "room");
        }
    }
    return ward;
}

static void ward_patients__the_current_inpatients_of_the_truth(void **state)
{
    const char *wards[16];
    size_t nwards = 0, total = 0;

    (void)state;
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++) {
        const char *room = "", *w = truth_ward(json_array_get(fx.s.patients, i), &room);
        int seen = 0;
        for (size_t k = 0; w && k < nwards; k++)
            seen |= !strcmp(wards[k], w);
        if (w && !seen && nwards < 16)
            wards[nwards++] = w;
    }
    assert_true(nwards > 0); /* the fixture has inpatients at its end */
    for (size_t k = 0; k < nwards; k++) {
        mm_buf b;
        size_t n = 0, want = 0;
        const char *p, *last_room = "";
        mm_buf_init(&b, MM_LIMIT_JSON);
        assert_int_equal(mm_viewer_ward_patients(fx.ix, wards[k], &b, &n), 0);
        p = b.ptr;
        for (size_t i = 0; i < n; i++, p += strlen(p) + 1) {
            /* each one stays in that ward per the truth, listed by room */
            int found = 0;
            for (size_t t = 0; t < json_array_size(fx.s.patients); t++) {
                const json_t *tp = json_array_get(fx.s.patients, t);
                const char *room = "", *w;
                if (strcmp(jstr(json_object_get(tp, "patient"), "id"), p) != 0)
                    continue;
                w = truth_ward(tp, &room);
                assert_non_null(w);
                assert_string_equal(w, wards[k]);
                assert_true(strcmp(last_room, room) <= 0);
                last_room = room;
                found = 1;
            }
            assert_true(found);
        }
        for (size_t t = 0; t < json_array_size(fx.s.patients); t++) {
            const char *room = "", *w = truth_ward(json_array_get(fx.s.patients, t), &room);
            want += w && !strcmp(w, wards[k]);
        }
        assert_int_equal(n, want);
        total += n;
        mm_buf_release(&b);
    }
    assert_true(total > 0);
    {
        mm_buf b;
        size_t n = 99;
        mm_buf_init(&b, MM_LIMIT_JSON);
        assert_int_equal(mm_viewer_ward_patients(fx.ix, "NO-SUCH-WARD", &b, &n), 0);
        assert_int_equal(n, 0);
        mm_buf_release(&b);
    }
}

/* The ward screen's JSON: every ward of the truth's inpatients with its count, and each ward's
 * patients exactly as mm_viewer_ward_patients lists them, with their demographics. */
static void wards_json__the_wards_and_their_inpatients(void **state)
{
    mm_buf b, ids;
    json_t *j, *w;
    size_t n = 0, i, nw = 0;

    (void)state;
    mm_buf_init(&b, MM_LIMIT_JSON);
    assert_int_equal(mm_viewer_wards_json(fx.ix, NULL, &b, NULL, &n), 0);
    assert_non_null(j = json_loadb(b.ptr, b.len, 0, NULL));
    assert_int_equal(json_array_size(json_object_get(j, "wards")), n);
    assert_true(n > 0);
    json_array_foreach(json_object_get(j, "wards"), i, w)
    {
        const char *ward = jstr(w, "ward");
        mm_buf want, one;
        json_t *o, *pts, *p;
        size_t nwant = 0, np = 0, k;
        const char *q;

        mm_buf_init(&want, MM_LIMIT_JSON);
        mm_buf_init(&one, MM_LIMIT_JSON);
        mm_buf_init(&ids, MM_LIMIT_JSON);
        assert_int_equal(mm_viewer_ward_patients(fx.ix, ward, &want, &nwant), 0);
        assert_int_equal(json_integer_value(json_object_get(w, "count")), nwant);
        assert_int_equal(mm_viewer_wards_json(fx.ix, ward, &one, &ids, &np), 0);
        assert_int_equal(np, nwant);
        assert_non_null(o = json_loadb(one.ptr, one.len, 0, NULL));
        pts = json_object_get(json_array_get(json_object_get(o, "wards"), 0), "patients");
        assert_int_equal(json_array_size(pts), nwant);
        q = ids.ptr;
        json_array_foreach(pts, k, p)
        {
            const char *id = jstr(p, "id"), *r = want.ptr;
            int found = 0;
            for (size_t t = 0; t < nwant; t++, r += strlen(r) + 1)
                found |= !strcmp(r, id);
            assert_true(found);
            assert_string_equal(q, id); /* the audit list names the same patients */
            q += strlen(q) + 1;
            for (size_t t = 0; t < json_array_size(fx.s.patients); t++) {
                const json_t *tp = json_object_get(json_array_get(fx.s.patients, t), "patient");
                if (!strcmp(jstr(tp, "id"), id)) {
                    assert_string_equal(jstr(p, "name"), jstr(tp, "name"));
                    assert_string_equal(jstr(p, "birth_date"), jstr(tp, "birth_date"));
                }
            }
        }
        nw += nwant;
        json_decref(o);
        mm_buf_release(&ids);
        mm_buf_release(&one);
        mm_buf_release(&want);
    }
    assert_true(nw > 0);
    json_decref(j);
    /* a ward with nobody: an empty list */
    mm_buf_clear(&b);
    assert_int_equal(mm_viewer_wards_json(fx.ix, "NO-SUCH-WARD", &b, NULL, &n), 0);
    assert_int_equal(n, 0);
    assert_non_null(j = json_loadb(b.ptr, b.len, 0, NULL));
    assert_int_equal(json_array_size(json_object_get(j, "wards")), 0);
    json_decref(j);
    mm_buf_release(&b);
}

static void print__every_patient_in_one_page_that_keeps_its_data_inside(void **state)
{
    struct mm_viewer_print_gen g = {
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "day </script><script>alert(1)</script>",
        "2025-08-12T03:00:00+09:00",
        "none",
        1,
        NULL,
        NULL,
        NULL,
    };
    const char *ids[4];
    size_t missing = 9;
    const char *start, *end;
    mm_buf b, data;
    json_t *j;

    (void)state;
    ids[0] = jstr(json_object_get(json_array_get(fx.s.patients, 0), "patient"), "id");
    ids[1] = "no-such-patient";
    ids[2] = jstr(json_object_get(json_array_get(fx.s.patients, 1), "patient"), "id");
    ids[3] = jstr(json_object_get(json_array_get(fx.s.patients, 2), "patient"), "id");
    mm_buf_init(&b, MM_LIMIT_JSON);
    assert_int_equal(mm_viewer_print(fx.ix, &g, "病棟 </script> 4E", ids, 4, &b, &missing, NULL),
                     0);
    assert_int_equal(missing, 1);
    assert_int_equal(mm_buf_putc(&b, '\0'), 0);
    /* the stylesheet and script are built in, nothing is loaded */
    assert_non_null(strstr(b.ptr, "<style>"));
    assert_null(strstr(b.ptr, "href=\"/app.css\""));
    assert_null(strstr(b.ptr, "src=\"/app.js\""));
    /* the data block: one </script> only, its own */
    start = strstr(b.ptr, "<script type=\"application/json\" id=\"mm-print-data\">");
    assert_non_null(start);
    start += strlen("<script type=\"application/json\" id=\"mm-print-data\">");
    end = strstr(start, "</script>");
    assert_non_null(end);
    assert_null(memchr(start, '<', (size_t)(end - start)));
    mm_buf_init(&data, MM_LIMIT_JSON);
    mm_buf_put(&data, start, (size_t)(end - start));
    j = parse(&data);
    assert_string_equal(jstr(j, "title"), "病棟 </script> 4E");
    assert_string_equal(jstr(json_object_get(j, "generation"), "name"), g.name);
    assert_true(json_is_true(json_object_get(json_object_get(j, "generation"), "latest")));
    assert_int_equal(json_array_size(json_object_get(j, "patients")), 3);
    assert_string_equal(
            jstr(json_object_get(json_object_get(json_array_get(json_object_get(j, "patients"), 1),
                                                 "record"),
                                 "patient"),
                 "id"),
            ids[2]);
    /* each patient's current medication is judged at the generation's local time */
    assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(j, "patients"), 0),
                                             "current_medication"),
                             "as_of"),
                        "2025-08-12T03:00");
    json_decref(j);
    mm_buf_release(&data);
    /* none found: an error, and nothing written */
    mm_buf_clear(&b);
    ids[0] = "nobody";
    assert_int_equal(mm_viewer_print(fx.ix, &g, "t", ids, 2, &b, &missing, NULL), MM_ENOTFOUND);
    assert_int_equal(b.len, 0);
    mm_buf_release(&b);
}

/* A recovery source over a fixed list of indexes; a NULL one does not open. */
struct fake_others {
    mm_index *ix[4];
    size_t n, opens, closes;
};

static int fake_open(void *arg, size_t i, struct mm_viewer_recovery_gen *g, mm_index **ix)
{
    struct fake_others *o = arg;

    o->opens++;
    if (i >= o->n)
        return mm_error_set(MM_ENOTFOUND, "no more");
    if (!o->ix[i])
        return mm_error_set(MM_EIO, "cannot open");
    snprintf(g->id, sizeof(g->id), "%064zx", i + 1);
    snprintf(g->time, sizeof(g->time), "2025-08-1%zuT03:00:00+09:00", i);
    *ix = o->ix[i];
    return 0;
}

static void fake_close(void *arg, mm_index *ix)
{
    (void)ix;
    ((struct fake_others *)arg)->closes++;
}

/*
 * Every prescription file of one patient broken after the fixture's index was built: the
 * index of the broken storage has a read failure of OMP-01, and the recovery search names
 * the newest other index that holds the prescriptions readable, skips one that does not
 * open or shares the failure, and never looks anywhere for a record without failures.
 */
static void recovery__names_the_newest_generation_with_the_section_readable(void **state)
{
    struct mm_index_build_stats st;
    struct mm_viewer_recovery r;
    struct fake_others o = { { NULL }, 0, 0, 0 };
    struct mm_viewer_recovery_src src = { fake_open, fake_close, &o };
    mm_index *broken = NULL;
    mm_buf ids, rep, b;
    const char *pid = NULL, *p;
    size_t n = 0;
    json_t *j, *h;

    (void)state;
    mm_buf_init(&ids, MM_LIMIT_JSON);
    mm_buf_init(&rep, MM_LIMIT_JSON);
    mm_buf_init(&b, MM_LIMIT_JSON);
    assert_int_equal(mm_index_patient_ids(fx.ix, &ids, &n), 0);
    p = ids.ptr;
    for (size_t i = 0; i < n && !pid; i++, p += strlen(p) + 1) {
        mm_buf_clear(&b);
        assert_int_equal(mm_index_summary(fx.ix, p, &b), 0);
        j = parse(&b);
        if (json_array_size(json_object_get(j, "prescriptions")) > 0 &&
            gen_damage(fx.s.dir, p, "OMP-01", 0, SEED, &rep) == 0)
            pid = p;
        mm_error_clear();
        json_decref(j);
    }
    assert_non_null(pid);
    assert_int_equal(mm_index_create(&broken, ":memory:"), 0);
    assert_int_equal(mm_index_build(broken, fx.s.std, fx.s.ext, NULL, &st), 0);

    /* the readable record: no failure, nowhere looked into */
    o.n = 2;
    o.ix[0] = broken;
    o.ix[1] = fx.ix;
    assert_int_equal(mm_viewer_recovery(fx.ix, pid, &src, &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(o.opens, 0);
    assert_int_equal(r.searched, 0);

    /* newest first: one that does not open, one broken the same way, then the good one */
    o.n = 3;
    o.ix[0] = NULL;
    o.ix[1] = broken;
    o.ix[2] = fx.ix;
    assert_int_equal(mm_viewer_recovery(broken, pid, &src, &r), 0);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.type[0], "OMP-01");
    assert_int_equal(r.found[0], 1);
    assert_int_equal(r.searched, 2);
    assert_int_equal(o.opens, 3);
    assert_int_equal(o.closes, 2);
    assert_string_equal(r.gen[0].time, "2025-08-12T03:00:00+09:00");
    mm_buf_clear(&b);
    assert_int_equal(mm_buf_putc(&b, '{'), 0);
    assert_int_equal(mm_viewer_recovery_json(&r, &b), 0);
    assert_int_equal(mm_buf_putc(&b, '}'), 0);
    j = parse(&b);
    assert_int_equal(json_integer_value(json_object_get(j, "searched")), 2);
    h = json_object_get(json_object_get(j, "help"), "OMP-01");
    assert_string_equal(jstr(h, "id"), r.gen[0].id);
    assert_int_equal(strlen(jstr(h, "short")), 12);
    assert_memory_equal(jstr(h, "short"), r.gen[0].id, 12);
    assert_string_equal(jstr(h, "time"), "2025-08-12T03:00:00+09:00");
    json_decref(j);

    /* only generations that share the failure: null, after asking past the last */
    o.n = 1;
    o.ix[0] = broken;
    o.opens = o.closes = 0;
    assert_int_equal(mm_viewer_recovery(broken, pid, &src, &r), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.found[0], 0);
    assert_int_equal(r.searched, 1);
    assert_int_equal(o.opens, 2);
    mm_buf_clear(&b);
    assert_int_equal(mm_buf_putc(&b, '{'), 0);
    assert_int_equal(mm_viewer_recovery_json(&r, &b), 0);
    assert_int_equal(mm_buf_putc(&b, '}'), 0);
    j = parse(&b);
    assert_true(json_is_null(json_object_get(json_object_get(j, "help"), "OMP-01")));
    json_decref(j);

    assert_int_equal(mm_viewer_recovery(broken, "NO-SUCH-PATIENT", &src, &r), MM_ENOTFOUND);
    mm_error_clear();
    mm_index_free(broken);
    mm_buf_release(&b);
    mm_buf_release(&rep);
    mm_buf_release(&ids);
}

static void assets__built_in_with_types_and_the_page_names_them(void **state)
{
    const char *type = NULL;
    size_t n = 0;
    const unsigned char *p;

    (void)state;
    p = mm_viewer_asset("index.html", &n, &type);
    assert_non_null(p);
    assert_true(n > 0);
    assert_string_equal(type, "text/html; charset=utf-8");
    assert_non_null(strstr((const char *)p, "/app.js"));
    assert_non_null(strstr((const char *)p, "/app.css"));
    assert_non_null(mm_viewer_asset("app.js", &n, &type));
    assert_string_equal(type, "text/javascript; charset=utf-8");
    assert_non_null(mm_viewer_asset("app.css", &n, &type));
    assert_string_equal(type, "text/css; charset=utf-8");
    assert_null(mm_viewer_asset("../keys", &n, &type));
    assert_null(mm_viewer_asset("", &n, &type));
}

/* Lines of @text between the line @title and the next empty line (the section's items). */
static size_t section_lines(const char *text, const char *title, char *first, size_t cap)
{
    const char *p = strstr(text, title);
    size_t n = 0;

    assert_non_null(p);
    p = strchr(p, '\n') + 1;
    if (first) {
        const char *e = strchr(p, '\n');
        snprintf(first, cap, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
    }
    while (*p && *p != '\n') {
        if (strncmp(p, "  ", 2) == 0 && p[2] != ' ')
            n++; /* an item line (sub-lines of an order are indented deeper) */
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    return n;
}

/* Distinct "code" values of the array @a. */
static size_t distinct_codes(const json_t *a)
{
    size_t n = 0;

    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *c = jstr(json_array_get(a, i), "code");
        int later = 0;
        for (size_t k = i + 1; k < json_array_size(a) && !later; k++)
            later = strcmp(jstr(json_array_get(a, k), "code"), c) == 0;
        n += !later;
    }
    return n;
}

/*
 * The one renderer of a record (show --storage and show --repo): for every patient of the
 * index, the summary of its record JSON has the header facts, every allergy, the newest
 * encounters, the latest value of each lab test, the newest documents first; in both
 * languages; and a text that is not a record is refused, leaving the buffer as it was.
 */
static void record_text__renders_what_the_record_json_holds(void **state)
{
    size_t checked = 0;

    (void)state;
    for (size_t i = 0; i < json_array_size(fx.s.patients); i++) {
        const char *id = jstr(json_object_get(json_array_get(fx.s.patients, i), "patient"), "id");
        const json_t *p, *a;
        char first[512], want[512];
        mm_buf s, t, e;
        json_t *rec;
        size_t n;

        mm_buf_init(&s, MM_LIMIT_JSON);
        mm_buf_init(&t, MM_LIMIT_JSON);
        mm_buf_init(&e, MM_LIMIT_JSON);
        assert_int_equal(mm_index_summary(fx.ix, id, &s), 0);
        rec = parse(&s);
        assert_int_equal(mm_viewer_record_text(s.ptr, s.len, MM_VIEWER_JA, "2025-06-01", &t), 0);
        assert_int_equal(mm_viewer_record_text(s.ptr, s.len, MM_VIEWER_EN, "2025-06-01", &e), 0);
        p = json_object_get(rec, "patient");
        if (json_is_object(p)) {
            int by, bm, bd;
            assert_true(strncmp(t.ptr, "患者 ", strlen("患者 ")) == 0);
            assert_non_null(strstr(t.ptr, jstr(p, "name")));
            snprintf(want, sizeof(want), "ID %s\n", id);
            assert_non_null(strstr(t.ptr, want));
            if (sscanf(jstr(p, "birth_date"), "%4d-%2d-%2d", &by, &bm, &bd) == 3) {
                int age = 2025 - by - (6 < bm || (6 == bm && 1 < bd));
                snprintf(want, sizeof(want), "  %d歳  ", age);
                assert_non_null(strstr(t.ptr, want));
                snprintf(want, sizeof(want), "  %d years  ", age);
                assert_non_null(strstr(e.ptr, want));
            }
        }
        /* sections in order, in both languages */
        {
            static const char *const ja[] = { "【アレルギー】",         "【病名（現在）】",
                                              "【受診・入院（最近）】", "【処方（最近）】",
                                              "【注射（最近）】",       "【検査（最新値）】",
                                              "【文書・画像】" };
            static const char *const en[] = { "[allergies]",           "[current diagnoses]",
                                              "[recent encounters]",   "[recent prescriptions]",
                                              "[recent injections]",   "[latest lab values]",
                                              "[documents and images]" };
            const char *at = t.ptr, *ate = e.ptr;
            for (size_t k = 0; k < 7; k++) {
                assert_non_null(at = strstr(at, ja[k]));
                assert_non_null(ate = strstr(ate, en[k]));
            }
        }
        a = json_object_get(rec, "allergies");
        for (size_t k = 0; k < json_array_size(a); k++)
            assert_non_null(strstr(t.ptr, jstr(json_array_get(a, k), "name")));
        n = section_lines(t.ptr, "【アレルギー】", NULL, 0);
        assert_int_equal(n, json_array_size(a) ? json_array_size(a) : 1);
        a = json_object_get(rec, "encounters");
        n = section_lines(t.ptr, "【受診・入院（最近）】", first, sizeof(first));
        assert_int_equal(n, json_array_size(a) > 10 ? 10
                            : json_array_size(a)    ? json_array_size(a)
                                                    : 1);
        if (json_array_size(a)) { /* newest first */
            const json_t *last = json_array_get(a, json_array_size(a) - 1);
            snprintf(want, sizeof(want), "  %s %s  ", jstr(last, "date"), jstr(last, "time"));
            assert_true(strncmp(first, want, strlen(want)) == 0);
        }
        a = json_object_get(rec, "labs");
        n = section_lines(t.ptr, "【検査（最新値）】", NULL, 0);
        assert_int_equal(n, json_array_size(a) ? distinct_codes(a) : 1);
        {
            size_t docs = json_array_size(json_object_get(rec, "documents")) +
                          json_array_size(json_object_get(rec, "images"));
            n = section_lines(t.ptr, "【文書・画像】", NULL, 0);
            assert_int_equal(n, docs > 10 ? 10 : docs ? docs : 1);
        }
        json_decref(rec);
        mm_buf_release(&s);
        mm_buf_release(&t);
        mm_buf_release(&e);
        checked++;
    }
    assert_true(checked >= 10);
    {
        mm_buf t;
        mm_buf_init(&t, 1024);
        mm_buf_puts(&t, "kept");
        assert_int_equal(mm_viewer_record_text("[1,2]", 5, MM_VIEWER_JA, NULL, &t), MM_ECORRUPT);
        assert_int_equal(mm_viewer_record_text("{\"patient\":", 11, MM_VIEWER_JA, NULL, &t),
                         MM_ECORRUPT);
        assert_string_equal(t.ptr, "kept");
        /* an empty record: every section says so */
        assert_int_equal(mm_viewer_record_text("{}", 2, MM_VIEWER_EN, NULL, &t), 0);
        assert_non_null(strstr(t.ptr, "(no demographics: ADT-00 missing)"));
        assert_non_null(strstr(t.ptr, "[allergies]\n  none recorded\n"));
        assert_non_null(strstr(t.ptr, "[documents and images]\n  none\n"));
        mm_buf_release(&t);
        mm_error_clear();
    }
}

/* ---- the login body ---- */

/*
 * Frees watched for a marker: the binary is linked with -Wl,--wrap=free, so every free() of
 * the program and of the library (jansson calls the library's wiping free) passes here.
 */
void __real_free(void *p);
void __wrap_free(void *p);
static struct {
    const char *marker; /* NULL: not watching */
    size_t frees, hits;
} watch;

void __wrap_free(void *p)
{
    if (p && watch.marker) {
        const unsigned char *b = p;
        size_t n = malloc_usable_size(p), m = strlen(watch.marker);
        watch.frees++;
        for (size_t i = 0; i + m <= n; i++)
            if (memcmp(b + i, watch.marker, m) == 0) {
                watch.hits++;
                break;
            }
    }
    __real_free(p);
}

static void login_parse__reads_the_members_whatever_their_values(void **state)
{
    static const struct {
        const char *body, *user, *pass;
    } ok[] = {
        { "{\"user\":\"passphrase\",\"passphrase\":\"user\"}", "passphrase", "user" },
        { "{\"passphrase\":\"user\",\"user\":\"passphrase\"}", "passphrase", "user" },
        { " {\n\"passphrase\" : \"a:b,\\\"c\\\"}\" } ", "", "a:b,\"c\"}" },
        { "{\"passphrase\":\"x\"}", "", "x" },
        { "{\"passphrase\":\"p\\u00e9\\ud83d\\ude00\\/\",\"user\":\"\"}", "",
          "p\xc3\xa9\xf0\x9f\x98\x80/" },
        { "{\"user\":\"\xe7\x9c\x8b\xe8\xad\xb7\",\"passphrase\":\"\xe5\xae\x88\"}",
          "\xe7\x9c\x8b\xe8\xad\xb7", "\xe5\xae\x88" },
    };
    char user[65], pass[1024];
    size_t plen;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        plen = 0;
        assert_int_equal(mm_viewer_login_parse(ok[i].body, strlen(ok[i].body), user, sizeof(user),
                                               pass, sizeof(pass), &plen),
                         0);
        assert_string_equal(user, ok[i].user);
        assert_string_equal(pass, ok[i].pass);
        assert_int_equal(plen, strlen(ok[i].pass));
    }
}

static void login_parse__refuses_what_is_not_a_login(void **state)
{
    static const struct {
        const char *body;
        size_t n; /* 0: strlen */
    } bad[] = {
        { "{\"passphrase\":5}", 0 },
        { "{\"passphrase\":[\"a\"]}", 0 },
        { "{\"passphrase\":null}", 0 },
        { "{\"passphrase\":\"a\",\"user\":null}", 0 },
        { "{\"passphrase\":\"a\",\"user\":7}", 0 },
        { "{\"passphrase\":\"a\",\"passphrase\":\"b\"}", 0 },
        { "{\"user\":\"a\",\"passphrase\":\"b\",\"user\":\"c\"}", 0 },
        { "{\"passphrase\":\"a\",\"remember\":true}", 0 },
        { "{\"user\":\"nurse\"}", 0 },
        { "{\"passphrase\":\"\"}", 0 },
        { "{}", 0 },
        { "[\"passphrase\",\"a\"]", 0 },
        { "\"passphrase\"", 0 },
        { "", 0 },
        { "{\"passphrase\":\"a\"", 0 },
        { "{\"passphrase\":\"a\"} {}", 0 },
        { "{\"passphrase\":\"a\\x\"}", 0 },
        { "{\"passphrase\":\"\xff\xfe\"}", 0 },
        { "{\"passphrase\":\"\xc0\xaf\"}", 0 },
        { "{\"passphrase\":\"\xed\xa0\x80\"}", 0 },
        { "{\"passphrase\":\"\\ud800\"}", 0 },
        { "{\"passphrase\":\"a\\u0000b\"}", 0 },
        { "{\"passphrase\":\"a\0b\"}", 19 },
        { "{\"passphrase\":\"a\tb\"}", 0 },
        { "{'passphrase':'a'}", 0 },
    };
    char user[65], pass[1024], zero[1024] = { 0 }, big[1200];
    size_t plen;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = bad[i].n ? bad[i].n : strlen(bad[i].body);
        memset(user, 'u', sizeof(user));
        memset(pass, 'p', sizeof(pass));
        if (mm_viewer_login_parse(bad[i].body, n, user, sizeof(user), pass, sizeof(pass), &plen) !=
            MM_EINVAL)
            fail_msg("body %zu is not refused", i);
        assert_string_equal(user, "");
        assert_memory_equal(pass, zero, sizeof(pass));
    }
    /* longer than the buffers */
    snprintf(big, sizeof(big), "{\"passphrase\":\"%01024d\"}", 0);
    assert_int_equal(
            mm_viewer_login_parse(big, strlen(big), user, sizeof(user), pass, sizeof(pass), &plen),
            MM_ELIMIT);
    assert_memory_equal(pass, zero, sizeof(pass));
    snprintf(big, sizeof(big), "{\"passphrase\":\"%01023d\"}", 0);
    assert_int_equal(
            mm_viewer_login_parse(big, strlen(big), user, sizeof(user), pass, sizeof(pass), &plen),
            0);
    assert_int_equal(plen, 1023);
    snprintf(big, sizeof(big), "{\"passphrase\":\"a\",\"user\":\"%065d\"}", 0);
    assert_int_equal(
            mm_viewer_login_parse(big, strlen(big), user, sizeof(user), pass, sizeof(pass), &plen),
            MM_ELIMIT);
    assert_string_equal(user, "");
    mm_error_clear();
}

static void login_parse__leaves_no_copy_of_the_passphrase_in_freed_heap(void **state)
{
    static const char marker[] = "mm-marker-7f3Qz";
    char body[1200], user[65], pass[1024];
    json_t *j;
    size_t plen;

    (void)state;
    /* a long passphrase: jansson's lexer buffer grows (and frees) several times */
    snprintf(body, sizeof(body), "{\"user\":\"nurse\",\"passphrase\":\"%s%0900d\"}", marker, 7);

    /* the control: jansson with plain free leaves copies (else this test could not fail) */
    json_set_alloc_funcs(malloc, free);
    watch.marker = marker;
    watch.frees = watch.hits = 0;
    j = json_loadb(body, strlen(body), JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(j);
    json_decref(j);
    watch.marker = NULL;
    assert_true(watch.hits >= 2); /* the lexer's buffer and the string value at least */

    /* with the wiping free: as many frees, none holding the marker */
    mm_viewer_json_wiping();
    watch.marker = marker;
    watch.frees = watch.hits = 0;
    assert_int_equal(mm_viewer_login_parse(body, strlen(body), user, sizeof(user), pass,
                                           sizeof(pass), &plen),
                     0);
    watch.marker = NULL;
    assert_true(watch.frees >= 4);
    assert_int_equal(watch.hits, 0);
    assert_int_equal(plen, strlen(marker) + 900);
    assert_memory_equal(pass, marker, strlen(marker));
    assert_string_equal(user, "nurse");

    /* installing again changes nothing; blocks made before the installation free fine */
    j = json_string("made before");
    mm_viewer_json_wiping();
    json_decref(j);
}

/* Every current inpatient's ID of @ix, NUL-terminated one after the other, into @ids. */
static void inpatient_ids(mm_index *ix, mm_buf *ids, size_t *n)
{
    mm_buf b;
    json_t *j, *w;
    size_t i, np;

    *n = 0;
    mm_buf_init(&b, MM_LIMIT_JSON);
    assert_int_equal(mm_viewer_wards_json(ix, NULL, &b, NULL, &np), 0);
    j = parse(&b);
    json_array_foreach(json_object_get(j, "wards"), i, w)
    {
        mm_buf one;

        mm_buf_init(&one, MM_LIMIT_JSON);
        assert_int_equal(mm_viewer_wards_json(ix, jstr(w, "ward"), &one, ids, &np), 0);
        *n += np;
        mm_buf_release(&one);
    }
    json_decref(j);
    mm_buf_release(&b);
}

/*
 * The ward screen never says "no allergy recorded" for a patient whose files could not be
 * read: in a storage of its own with enough inpatients (the shared fixture has one, with
 * allergies), a current inpatient with no allergy gets one file damaged; in the rebuilt index its
 * ward row says allergies_unknown, and every row's flag is exactly "no allergy found and some
 * read failure" of the patient's own summary.
 */
static void wards_json__unreadable_files_make_allergies_unknown(void **state)
{
    static const char *const types[] = { "OMP-01", "OMP-02", "OML-11", "ADT-12", "PPR-01" };
    struct mm_index_build_stats st;
    struct test_storage ws;
    mm_index *good = NULL, *broken = NULL;
    mm_buf ward, rep, b;
    const char *pid = NULL, *p;
    size_t n = 0, i, k, unknown = 0;
    json_t *j, *w, *row;

    (void)state;
    memset(&ws, 0, sizeof(ws));
    assert_int_equal(test_storage_make(&ws, "ward-allergy", 240, 60, 11), 0);
    assert_int_equal(mm_index_create(&good, ":memory:"), 0);
    assert_int_equal(mm_index_build(good, ws.std, ws.ext, NULL, &st), 0);
    mm_buf_init(&ward, MM_LIMIT_JSON);
    mm_buf_init(&rep, MM_LIMIT_JSON);
    mm_buf_init(&b, MM_LIMIT_JSON);
    inpatient_ids(good, &ward, &n);
    p = ward.ptr;
    for (i = 0; i < n && !pid; i++, p += strlen(p) + 1) {
        mm_buf_clear(&b);
        assert_int_equal(mm_index_summary(good, p, &b), 0);
        j = parse(&b);
        if (json_array_size(json_object_get(j, "allergies")) == 0 &&
            json_array_size(json_object_get(j, "read_failures")) == 0)
            for (k = 0; k < sizeof(types) / sizeof(*types) && !pid; k++)
                if (gen_damage(ws.dir, p, types[k], 1, SEED, &rep) == 0)
                    pid = p;
        mm_error_clear();
        json_decref(j);
    }
    assert_non_null(pid);
    assert_int_equal(mm_index_create(&broken, ":memory:"), 0);
    assert_int_equal(mm_index_build(broken, ws.std, ws.ext, NULL, &st), 0);
    mm_buf_clear(&b);
    assert_int_equal(mm_viewer_wards_json(broken, NULL, &b, NULL, &n), 0);
    j = parse(&b);
    json_array_foreach(json_object_get(j, "wards"), i, w)
    {
        mm_buf one, sum;
        json_t *o, *s;

        mm_buf_init(&one, MM_LIMIT_JSON);
        mm_buf_init(&sum, MM_LIMIT_JSON);
        assert_int_equal(mm_viewer_wards_json(broken, jstr(w, "ward"), &one, NULL, &n), 0);
        o = parse(&one);
        json_array_foreach(
                json_object_get(json_array_get(json_object_get(o, "wards"), 0), "patients"), k, row)
        {
            int want;

            mm_buf_clear(&sum);
            assert_int_equal(mm_index_summary(broken, jstr(row, "id"), &sum), 0);
            s = parse(&sum);
            want = json_array_size(json_object_get(s, "allergies")) == 0 &&
                   json_array_size(json_object_get(s, "read_failures")) > 0;
            assert_int_equal(json_is_true(json_object_get(row, "allergies_unknown")), want);
            assert_int_equal(json_integer_value(json_object_get(row, "allergies")),
                             json_array_size(json_object_get(s, "allergies")));
            if (!strcmp(jstr(row, "id"), pid)) {
                assert_true(want);
                unknown++;
            }
            json_decref(s);
        }
        json_decref(o);
        mm_buf_release(&sum);
        mm_buf_release(&one);
    }
    assert_int_equal(unknown, 1);
    json_decref(j);
    mm_index_free(broken);
    mm_index_free(good);
    test_storage_free(&ws);
    mm_buf_release(&b);
    mm_buf_release(&rep);
    mm_buf_release(&ward);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(patient_json__summary_and_matrix_of_the_index),
        cmocka_unit_test(patient_json__current_medication_at_as_of),
        cmocka_unit_test(ward_patients__the_current_inpatients_of_the_truth),
        cmocka_unit_test(wards_json__the_wards_and_their_inpatients),
        cmocka_unit_test(wards_json__unreadable_files_make_allergies_unknown),
        cmocka_unit_test(print__every_patient_in_one_page_that_keeps_its_data_inside),
        cmocka_unit_test(assets__built_in_with_types_and_the_page_names_them),
        cmocka_unit_test(record_text__renders_what_the_record_json_holds),
        cmocka_unit_test(login_parse__reads_the_members_whatever_their_values),
        cmocka_unit_test(login_parse__refuses_what_is_not_a_login),
        cmocka_unit_test(login_parse__leaves_no_copy_of_the_passphrase_in_freed_heap),
        /* last: it breaks files of the fixture's storage */
        cmocka_unit_test(recovery__names_the_newest_generation_with_the_section_readable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
