/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON of a clinical record (mm_ssmix2_record_json): what `mamori show --json` prints
 * and what the patient index stores as a patient's summary. Current items only, or with
 * history; codes of departments and wards are given the names the patient's messages give
 * them; the data types whose files could not be read are listed in read_failures, so that
 * a reader never takes a section left empty by a failure for a section without records.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "ssmix2/ssmix2.h"
#include "ssmix2/ssmix2_int.h"

/* ---- JSON ---- */

struct jw {
    mm_buf *b;
    int err;
    int hist;
    const mm_ssmix2_record *r; /* for the names of codes */
};

static void jraw(struct jw *w, const char *s)
{
    if (!w->err)
        w->err = mm_buf_puts(w->b, s);
}

static void jkv(struct jw *w, int first, const char *k, const char *v)
{
    if (!w->err)
        w->err = mm_json_kv(w->b, first, k, v);
}

static void jbool(struct jw *w, const char *k, int v)
{
    jraw(w, ",\"");
    jraw(w, k);
    jraw(w, v ? "\":true" : "\":false");
}

/* "key":"the name of @code", from @given when the message gave one, else the record's. */
static void jname(struct jw *w, const char *key, int kind, const char *code, const char *given)
{
    jkv(w, 0, key, given && given[0] ? given : mm_ssmix2_record_code_name(w->r, kind, code));
}

static const char *status_of(enum mm_ssmix2_flag f)
{
    return f == MM_SSMIX2_CURRENT      ? "current"
           : f == MM_SSMIX2_SUPERSEDED ? "superseded"
                                       : "cancelled";
}

/* Whether an item is listed: current items always, others only with history. */
static int listed(const struct jw *w, const struct mm_ssmix2_origin *o)
{
    return o->flag == MM_SSMIX2_CURRENT || w->hist;
}

/* Open an item object: "{" plus the status when history is on. */
static void jitem(struct jw *w, int *n, const struct mm_ssmix2_origin *o)
{
    jraw(w, (*n)++ ? ",{" : "{");
    jkv(w, 1, "status", status_of(o->flag));
}

/* A string member of an item, written as "key":"value". */
struct jfield {
    const char *key;
    size_t off; /* offsetof the const char * member */
};

#define JF(T, key, member)       \
    {                            \
        key, offsetof(T, member) \
    }

static const struct jfield enc_fields[] = {
    JF(struct mm_ssmix2_encounter, "kind", kind_name),
    JF(struct mm_ssmix2_encounter, "date", date),
    JF(struct mm_ssmix2_encounter, "time", time),
    JF(struct mm_ssmix2_encounter, "dept", dept),
    JF(struct mm_ssmix2_encounter, "ward", ward),
    JF(struct mm_ssmix2_encounter, "room", room),
    JF(struct mm_ssmix2_encounter, "bed", bed),
    JF(struct mm_ssmix2_encounter, "prior_ward", prior_ward),
    JF(struct mm_ssmix2_encounter, "prior_room", prior_room),
    JF(struct mm_ssmix2_encounter, "doctor", doctor),
    JF(struct mm_ssmix2_encounter, "doctor_id", doctor_id),
    JF(struct mm_ssmix2_encounter, "disposition", disposition),
};

static const struct jfield admin_fields[] = {
    JF(struct mm_ssmix2_admin, "order_no", order_no),
    JF(struct mm_ssmix2_admin, "given_at", given_at),
    JF(struct mm_ssmix2_admin, "ended_at", ended_at),
    JF(struct mm_ssmix2_admin, "code", drug.code),
    JF(struct mm_ssmix2_admin, "name", drug.name),
    JF(struct mm_ssmix2_admin, "dose", drug.dose),
    JF(struct mm_ssmix2_admin, "unit", drug.unit),
    JF(struct mm_ssmix2_admin, "route", route),
    JF(struct mm_ssmix2_admin, "route_name", route_name),
    JF(struct mm_ssmix2_admin, "completion", status),
    JF(struct mm_ssmix2_admin, "given_by", given_by),
    JF(struct mm_ssmix2_admin, "given_by_id", given_by_id),
    JF(struct mm_ssmix2_admin, "site", site),
    JF(struct mm_ssmix2_admin, "location", location),
};

static const struct jfield lab_fields[] = {
    JF(struct mm_ssmix2_lab, "code", code),
    JF(struct mm_ssmix2_lab, "name", name),
    JF(struct mm_ssmix2_lab, "value", value),
    JF(struct mm_ssmix2_lab, "unit", unit),
    JF(struct mm_ssmix2_lab, "range", range),
    JF(struct mm_ssmix2_lab, "flag", flag),
    JF(struct mm_ssmix2_lab, "collected_at", collected_at),
    JF(struct mm_ssmix2_lab, "order_no", order_no),
};

static const struct jfield exam_fields[] = {
    JF(struct mm_ssmix2_exam, "kind", kind),
    JF(struct mm_ssmix2_exam, "order_no", from.order_no),
    JF(struct mm_ssmix2_exam, "code", code),
    JF(struct mm_ssmix2_exam, "name", name),
    JF(struct mm_ssmix2_exam, "performed_at", performed_at),
    JF(struct mm_ssmix2_exam, "findings", findings),
    JF(struct mm_ssmix2_exam, "study_uid", study_uid),
};

static void admin_extra(struct jw *w, const void *item)
{
    const struct mm_ssmix2_admin *a = item;

    jname(w, "location_name", 1, a->location, a->location_name);
    jbool(w, "injection", a->injection);
}

static void enc_extra(struct jw *w, const void *item)
{
    const struct mm_ssmix2_encounter *e = item;

    jname(w, "dept_name", 0, e->dept, e->dept_name);
    jname(w, "ward_name", 1, e->ward, e->ward_name);
    jname(w, "prior_ward_name", 1, e->prior_ward, e->prior_ward_name);
}

/* "key":[{"use","equipment","number"}...] */
static void jphones(struct jw *w, const char *key, const struct mm_ssmix2_phone *p, size_t n)
{
    jraw(w, ",\"");
    jraw(w, key);
    jraw(w, "\":[");
    for (size_t i = 0; i < n; i++) {
        jraw(w, i ? ",{" : "{");
        jkv(w, 1, "use", p[i].use);
        jkv(w, 0, "equipment", p[i].equipment);
        jkv(w, 0, "number", p[i].number);
        jraw(w, "}");
    }
    jraw(w, "]");
}

/* The patient's phones, contacts and insurance (inside the patient object). */
static void jpatient_more(struct jw *w, const struct mm_ssmix2_patient *p)
{
    jphones(w, "phones", p->phones, p->nphones);
    jraw(w, ",\"contacts\":[");
    for (size_t i = 0; i < p->ncontacts; i++) {
        const struct mm_ssmix2_contact *c = &p->contacts[i];
        jraw(w, i ? ",{" : "{");
        jkv(w, 1, "name", c->name);
        jkv(w, 0, "kana", c->kana);
        jkv(w, 0, "relationship_code", c->relationship_code);
        jkv(w, 0, "relationship", c->relationship);
        jkv(w, 0, "postal_code", c->postal_code);
        jkv(w, 0, "address", c->address);
        jphones(w, "phones", c->phones, c->nphones);
        jraw(w, "}");
    }
    jraw(w, "],\"insurance\":[");
    for (size_t i = 0; i < p->ninsurance; i++) {
        const struct mm_ssmix2_insurance *in = &p->insurance[i];
        jraw(w, i ? ",{" : "{");
        jkv(w, 1, "plan_code", in->plan_code);
        jkv(w, 0, "plan_name", in->plan_name);
        jkv(w, 0, "insurer_no", in->insurer_no);
        jkv(w, 0, "valid_from", in->valid_from);
        jkv(w, 0, "valid_to", in->valid_to);
        jkv(w, 0, "relation_code", in->relation_code);
        jkv(w, 0, "relation", in->relation);
        jraw(w, "}");
    }
    jraw(w, "]");
}

/* "read_failures":[...]: the data types with files left out, damaged, or folders unread. */
static void jfailures(struct jw *w, const mm_ssmix2_record *r)
{
    const struct mm_ssmix2_failure *f = r->fails.v;
    int n = 0;

    jraw(w, ",\"read_failures\":[");
    for (size_t i = 0; i < r->fails.n; i++) {
        const struct mm_ssmix2_type *t = mm_ssmix2_type_find(f[i].type);
        char b[160];
        if (!f[i].failed && !f[i].folders && !f[i].damaged)
            continue;
        jraw(w, n++ ? ",{" : "{");
        jkv(w, 1, "type", f[i].type);
        jkv(w, 0, "type_name", t ? t->name_ja : "");
        jkv(w, 0, "type_name_en", t ? t->name_en : "");
        jkv(w, 0, "section", mm_ssmix2_type_section(f[i].type));
        snprintf(b, sizeof(b), ",\"files\":%zu,\"failed\":%zu,\"folders\":%zu,\"damaged\":%zu",
                 f[i].files, f[i].failed, f[i].folders, f[i].damaged);
        jraw(w, b);
        jkv(w, 0, "reason", f[i].reason);
        jraw(w, "}");
    }
    jraw(w, "]");
}

/*
 * Write the list @key of the items in @v (each starting with its origin): the listed ones
 * (current, or all with history), their string members @f, then what @extra adds.
 */
static void jlist(struct jw *w, const char *key, const struct vec *v, size_t elem,
                  const struct jfield *f, size_t nf, void (*extra)(struct jw *, const void *))
{
    int n = 0;

    jraw(w, ",\"");
    jraw(w, key);
    jraw(w, "\":[");
    for (size_t i = 0; i < v->n; i++) {
        const char *item = (const char *)v->v + i * elem;
        const struct mm_ssmix2_origin *o = (const struct mm_ssmix2_origin *)item;
        if (!listed(w, o))
            continue;
        jitem(w, &n, o);
        for (size_t k = 0; k < nf; k++)
            jkv(w, 0, f[k].key, *(const char *const *)(item + f[k].off));
        if (extra)
            extra(w, item);
        jraw(w, "}");
    }
    jraw(w, "]");
}

/* The newest current file of @type among the items' origins, as its file time; NULL if none. */
static const char *newest_current(const struct vec *v, size_t elem, const char *type)
{
    const char *best = NULL;

    for (size_t i = 0; i < v->n; i++) {
        const struct mm_ssmix2_origin *o =
                (const struct mm_ssmix2_origin *)((const char *)v->v + i * elem);
        if (o->flag == MM_SSMIX2_CURRENT && strcmp(o->type, type) == 0 &&
            (!best || strcmp(o->file_time, best) > 0))
            best = o->file_time;
    }
    return best;
}

/* One allergy object; @also (n types, sorted, may repeat) is its "also_in". */
static void jallergy(struct jw *w, int *n, const struct mm_ssmix2_allergy *a, const char *status,
                     const char *const *also, size_t nalso)
{
    jraw(w, (*n)++ ? ",{" : "{");
    jkv(w, 1, "status", status);
    jkv(w, 0, "type", a->type);
    jkv(w, 0, "code", a->code);
    jkv(w, 0, "name", a->name);
    jkv(w, 0, "severity", a->severity);
    jkv(w, 0, "reaction", a->reaction);
    jkv(w, 0, "onset", a->onset);
    jraw(w, ",\"source\":{");
    jkv(w, 1, "type", a->from.type);
    jkv(w, 0, "file_time", a->from.file_time);
    jkv(w, 0, "order_no", a->from.order_no);
    jraw(w, "},\"also_in\":[");
    for (size_t k = 0, m = 0; k < nalso; k++) {
        if (k && strcmp(also[k], also[k - 1]) == 0)
            continue;
        jraw(w, m++ ? "," : "");
        if (!w->err)
            w->err = mm_json_str(w->b, also[k]);
    }
    jraw(w, "]}");
}

/*
 * "allergies": the union of the current files' allergies (docs/orders.md): the newest
 * current ADT-61, the newest current ADT-00, then every other current message newest first,
 * each allergy once (the first holds the source, the others add their data type to
 * also_in); with history, the rest as replaced, superseded or cancelled.
 */
static void jallergies(struct jw *w, const mm_ssmix2_record *r)
{
    const struct mm_ssmix2_allergy *a;
    size_t na = mm_ssmix2_record_allergies(r, &a);
    struct mm_ssmix2_allergy_list l;
    int n = 0, err;

    jraw(w, ",\"allergies\":[");
    if ((err = mm_ssmix2_record_allergy_list(r, &l)) != 0) {
        w->err = w->err ? w->err : err;
        jraw(w, "]");
        return;
    }
    for (size_t k = 0; k < l.n; k++)
        jallergy(w, &n, l.v[k].a, "current", l.v[k].also, l.v[k].nalso);
    for (size_t i = 0; w->hist && i < na; i++)
        if (!l.current[i])
            jallergy(w, &n, &a[i],
                     a[i].from.flag == MM_SSMIX2_CURRENT ? "replaced" : status_of(a[i].from.flag),
                     NULL, 0);
    mm_ssmix2_allergy_list_release(&l);
    jraw(w, "]");
}

/* "uninterpreted": per listed non-order message, the fields the record does not interpret. */
static void juninterpreted(struct jw *w, const mm_ssmix2_record *r)
{
    const struct mm_ssmix2_uninterpreted *u = r->uninterpreted.v;
    int n = 0;

    jraw(w, ",\"uninterpreted\":[");
    for (size_t i = 0; i < r->uninterpreted.n; i++) {
        if (!listed(w, &u[i].from))
            continue;
        jitem(w, &n, &u[i].from);
        jkv(w, 0, "type", u[i].from.type);
        jkv(w, 0, "file_time", u[i].from.file_time);
        jkv(w, 0, "order_no", u[i].from.order_no);
        jraw(w, ",\"fields\":");
        if (!w->err)
            w->err = mm_ssmix2__raw_json(w->b, u[i].fields, u[i].nfields);
        jraw(w, "}");
    }
    jraw(w, "]");
}

int mm_ssmix2_record_json(const mm_ssmix2_record *r, mm_buf *out, unsigned int flags)
{
    struct jw w = { out, 0, (flags & MM_SSMIX2_JSON_HISTORY) != 0, r };
    const struct mm_ssmix2_patient *p = mm_ssmix2_record_patient(r);
    int n;

    MM_ASSERT_ARG(r != NULL && out != NULL);
    jraw(&w, "{\"patient\":");
    if (p) {
        jraw(&w, "{");
        jkv(&w, 1, "id", p->id);
        jkv(&w, 0, "name", p->name);
        jkv(&w, 0, "kana", p->kana);
        jkv(&w, 0, "birth_date", p->birth_date);
        jkv(&w, 0, "sex", p->sex);
        jkv(&w, 0, "postal_code", p->postal_code);
        jkv(&w, 0, "address", p->address);
        jkv(&w, 0, "phone", p->phone);
        jkv(&w, 0, "blood_type", p->blood_type);
        jkv(&w, 0, "height_cm", p->height_cm);
        jkv(&w, 0, "weight_kg", p->weight_kg);
        jkv(&w, 0, "updated_at", p->from.file_time);
        jkv(&w, 0, "source", p->from.type); /* "ADT-00", else the stand-in's data type */
        jkv(&w, 0, "source_time", p->from.file_time);
        jpatient_more(&w, p);
        jraw(&w, "}");
    } else {
        jraw(&w, "null");
    }

    jallergies(&w, r);

    /* diagnoses: the newest current PPR-01 holds them all; active first, then resolved */
    {
        const struct mm_ssmix2_diagnosis *d = r->diagnoses.v;
        const char *src = newest_current(&r->diagnoses, sizeof(*d), "PPR-01");
        for (int pass = 0; pass < 2; pass++) {
            jraw(&w, pass ? ",\"resolved_diagnoses\":[" : ",\"diagnoses\":[");
            n = 0;
            for (size_t i = 0; i < r->diagnoses.n; i++) {
                int cur = src && strcmp(d[i].from.file_time, src) == 0 &&
                          d[i].from.flag == MM_SSMIX2_CURRENT;
                if (d[i].active != !pass || (!cur && !(w.hist && pass == 1)))
                    continue;
                jraw(&w, n++ ? ",{" : "{");
                jkv(&w, 1, "status", cur ? "current" : "history");
                jkv(&w, 0, "name", d[i].name);
                jkv(&w, 0, "icd10", d[i].icd10);
                jkv(&w, 0, "medis", d[i].medis);
                jkv(&w, 0, "start_date", d[i].start_date);
                jkv(&w, 0, "end_date", d[i].end_date);
                jkv(&w, 0, "outcome", d[i].outcome);
                jbool(&w, "main", d[i].main);
                jbool(&w, "suspected", d[i].suspected);
                jraw(&w, "}");
            }
            jraw(&w, "]");
        }
    }

    jlist(&w, "encounters", &r->encounters, sizeof(struct mm_ssmix2_encounter), enc_fields,
          sizeof(enc_fields) / sizeof(enc_fields[0]), enc_extra);
    for (int k = 0; k < 3 && !w.err; k++) {
        static const char *const keys[] = { "prescriptions", "injections", "orders" };
        w.err = mm_ssmix2__orders_json(r, w.b, w.hist, k, keys[k]);
    }
    jlist(&w, "administrations", &r->admins, sizeof(struct mm_ssmix2_admin), admin_fields,
          sizeof(admin_fields) / sizeof(admin_fields[0]), admin_extra);
    jlist(&w, "labs", &r->labs, sizeof(struct mm_ssmix2_lab), lab_fields,
          sizeof(lab_fields) / sizeof(lab_fields[0]), NULL);
    jlist(&w, "exams", &r->exams, sizeof(struct mm_ssmix2_exam), exam_fields,
          sizeof(exam_fields) / sizeof(exam_fields[0]), NULL);
    for (int img = 0; img < 2; img++) {
        const struct mm_ssmix2_document *d = r->docs.v;
        jraw(&w, img ? ",\"images\":[" : ",\"documents\":[");
        n = 0;
        for (size_t i = 0; i < r->docs.n; i++) {
            if (!listed(&w, &d[i].from) || (strcmp(d[i].kind, "image") == 0) != img)
                continue;
            jitem(&w, &n, &d[i].from);
            jkv(&w, 0, "title", d[i].title);
            jkv(&w, 0, "code", d[i].code);
            jkv(&w, 0, "date", d[i].date);
            jkv(&w, 0, "folder", d[i].folder);
            jraw(&w, ",\"files\":[");
            for (size_t k = 0; k < d[i].nfiles; k++) {
                if (k)
                    jraw(&w, ",");
                if (!w.err)
                    w.err = mm_json_str(w.b, d[i].files[k]);
            }
            jraw(&w, "]}");
        }
        jraw(&w, "]");
    }
    juninterpreted(&w, r);
    jfailures(&w, r);
    jraw(&w, "}");
    return w.err;
}
