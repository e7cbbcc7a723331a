/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A patient's clinical record extracted from SS-MIX2 messages: demographics,
 * allergies, diagnoses, encounters, orders with their Rps, administrations, lab
 * results, examinations and extended-storage documents. Items keep the flag of
 * their file, so current (_1) data is told apart from superseded (_2) and
 * cancelled (_0) history. Strings live in an arena owned by the record; items
 * live in growable arrays. Workload: one patient's folder (tens to thousands of
 * files) per record, built on any thread, read-only afterwards.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/log.h"
#include "os/os.h"
#include "ssmix2/ssmix2.h"
#include "ssmix2/ssmix2_int.h"

/* ---- the record ---- */

int mm_ssmix2_record_new(mm_ssmix2_record **out)
{
    mm_ssmix2_record *r;

    MM_ASSERT_ARG(out != NULL);
    r = mm_calloc(1, sizeof(*r));
    if (!r)
        return MM_ENOMEM;
    *out = r;
    return 0;
}

void mm_ssmix2_record_free(mm_ssmix2_record *r)
{
    if (!r)
        return;
    struct vec *vs[] = { &r->patients,  &r->allergies, &r->diagnoses,    &r->encounters,
                         &r->orders[0], &r->orders[1], &r->orders[2],    &r->labs,
                         &r->exams,     &r->admins,    &r->docs,         &r->fails,
                         &r->names[0],  &r->names[1],  &r->uninterpreted };
    for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++)
        mm_free(vs[i]->v);
    while (r->chunks) {
        struct chunk *n = r->chunks->next;
        mm_free(r->chunks);
        r->chunks = n;
    }
    mm_free(r);
}

const char *mm_ssmix2_record_code_name(const mm_ssmix2_record *r, int kind, const char *code)
{
    const struct mm_ssmix2__code_name *e;

    if (!r || kind < 0 || kind > 1 || !code || !code[0])
        return "";
    e = r->names[kind].v;
    for (size_t i = 0; i < r->names[kind].n; i++)
        if (strcmp(e[i].code, code) == 0)
            return e[i].name;
    return "";
}

/* ---- diagnoses ---- */

static void add_diagnoses(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o0, mm_hl7_msg *m)
{
    for (size_t s = mm_hl7_find(m, "PRB", 0); s != SIZE_MAX; s = mm_hl7_find(m, "PRB", s + 1)) {
        struct mm_ssmix2_diagnosis *d = mm_ssmix2__push(r, &r->diagnoses, sizeof(*d));
        const char *nm, *end;

        if (!d)
            return;
        d->from = *o0;
        nm = mm_ssmix2__peek(m, s, 3, 1, 2, 1);
        d->name = mm_ssmix2__sdup(r, nm[0] ? nm : mm_ssmix2__peek(m, s, 17, 1, 1, 1));
        d->medis = mm_ssmix2__get(r, m, s, 3, 1, 1, 1);
        d->icd10 = mm_ssmix2__get(r, m, s, 10, 1, 1, 1);
        d->start_date = mm_ssmix2__iso_date(r, mm_ssmix2__peek(m, s, 16, 1, 1, 1)[0]
                                                       ? mm_ssmix2__peek(m, s, 16, 1, 1, 1)
                                                       : mm_ssmix2__peek(m, s, 7, 1, 1, 1));
        end = mm_ssmix2__peek(m, s, 9, 1, 1, 1);
        d->end_date = mm_ssmix2__iso_date(r, end);
        d->outcome = mm_ssmix2__get(r, m, s, 14, 1, 1, 1);
        d->active = !end[0] && strcmp(mm_ssmix2__peek(m, s, 1, 1, 1, 1), "DE") != 0;
        d->main = strcmp(mm_ssmix2__peek(m, s, 18, 1, 1, 1), "1") == 0;
        d->suspected = strcmp(mm_ssmix2__peek(m, s, 13, 1, 1, 1), "1") == 0;
    }
}

/* ---- encounters ---- */

struct enc_rule {
    const char *type, *trigger;
    enum mm_ssmix2_enc_kind kind;
    const char *kind_name;
    const char *seg; /* where the event time is */
    int field;
};

static const struct enc_rule enc_rules[] = {
    { "ADT-12", "A04", MM_ENC_OUTPATIENT, "outpatient", "PV1", 44 },
    { "ADT-22", "A01", MM_ENC_ADMISSION, "admission", "PV1", 44 },
    { "ADT-52", "A03", MM_ENC_DISCHARGE, "discharge", "PV1", 45 },
    { "ADT-42", "A02", MM_ENC_TRANSFER, "transfer", "EVN", 6 },
    { "ADT-31", "A21", MM_ENC_LEAVE, "leave", "EVN", 6 },
    { "ADT-32", "A22", MM_ENC_RETURN, "return", "EVN", 6 },
    { "ADT-21", "A14", MM_ENC_PLANNED_ADMISSION, "planned_admission", "PV2", 8 },
    { "ADT-41", "A15", MM_ENC_PLANNED_TRANSFER, "planned_transfer", "PV2", 8 },
    { "ADT-51", "A16", MM_ENC_PLANNED_DISCHARGE, "planned_discharge", "PV2", 9 },
    { "ADT-01", "A54", MM_ENC_ATTENDING_CHANGE, "attending_change", "EVN", 6 },
};

static void add_encounter(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o0, mm_hl7_msg *m)
{
    const struct enc_rule *rule = NULL;
    const char *trig = mm_ssmix2__peek(m, 0, 9, 1, 2, 1);
    size_t pv1 = mm_hl7_find(m, "PV1", 0), s;
    struct mm_ssmix2_encounter *e;
    const char *when;

    for (size_t i = 0; i < sizeof(enc_rules) / sizeof(enc_rules[0]); i++)
        if (strcmp(enc_rules[i].type, o0->type) == 0 && strcmp(enc_rules[i].trigger, trig) == 0)
            rule = &enc_rules[i];
    if (!rule || pv1 == SIZE_MAX)
        return; /* cancel events (A11, A27, A55, ...) carry no encounter of their own */
    e = mm_ssmix2__push(r, &r->encounters, sizeof(*e));
    if (!e)
        return;
    e->from = *o0;
    e->kind = rule->kind;
    e->kind_name = rule->kind_name;
    s = mm_hl7_find(m, rule->seg, 0);
    when = mm_ssmix2__peek(m, s, rule->field, 1, 1, 1);
    if (!when[0])
        when = mm_ssmix2__peek(m, mm_hl7_find(m, "EVN", 0), 6, 1, 1, 1);
    if (!when[0])
        when = mm_ssmix2__peek(m, mm_hl7_find(m, "EVN", 0), 2, 1, 1, 1);
    e->date = mm_ssmix2__iso_date(r, when);
    e->time = mm_ssmix2__hhmm(r, when);
    e->dept = mm_ssmix2__get(r, m, pv1, 10, 1, 1, 1);
    e->dept_name = mm_ssmix2__named(r, m, pv1, 10, 2, 0);
    e->ward = mm_ssmix2__get(r, m, pv1, 3, 1, 1, 1);
    e->ward_name = mm_ssmix2__named(r, m, pv1, 3, 9, 1);
    e->room = mm_ssmix2__get(r, m, pv1, 3, 1, 2, 1);
    e->bed = mm_ssmix2__get(r, m, pv1, 3, 1, 3, 1);
    e->prior_ward = mm_ssmix2__get(r, m, pv1, 6, 1, 1, 1);
    e->prior_ward_name = mm_ssmix2__named(r, m, pv1, 6, 9, 1);
    e->prior_room = mm_ssmix2__get(r, m, pv1, 6, 1, 2, 1);
    e->prior_bed = mm_ssmix2__get(r, m, pv1, 6, 1, 3, 1);
    e->doctor = mm_ssmix2__person(r, m, pv1, 7, 1, 2);
    e->doctor_id = mm_ssmix2__get(r, m, pv1, 7, 1, 1, 1);
    e->disposition = mm_ssmix2__get(r, m, pv1, 36, 1, 1, 1);
}

/* ---- results ---- */

static void add_labs(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o0, mm_hl7_msg *m)
{
    const char *spm_time = "", *obr_time = "", *order = o0->order_no;
    size_t nseg = mm_hl7_segment_count(m);

    for (size_t s = 0; s < nseg && !r->oom; s++) {
        const char *id = mm_hl7_segment_id(m, s);
        if (strcmp(id, "SPM") == 0) {
            spm_time = mm_ssmix2__peek(m, s, 17, 1, 1, 1);
        } else if (strcmp(id, "OBR") == 0) {
            const char *o2 = mm_ssmix2__peek(m, s, 2, 1, 1, 1);
            obr_time = mm_ssmix2__peek(m, s, 7, 1, 1, 1);
            if (o2[0])
                order = o2;
        } else if (strcmp(id, "OBX") == 0) {
            struct mm_ssmix2_lab *l = mm_ssmix2__push(r, &r->labs, sizeof(*l));
            const char *code = mm_ssmix2__peek(m, s, 3, 1, 1, 1),
                       *unit = mm_ssmix2__peek(m, s, 6, 1, 2, 1);
            const char *at = spm_time[0] ? spm_time : mm_ssmix2__peek(m, s, 14, 1, 1, 1);
            const char *vt = mm_ssmix2__peek(m, s, 2, 1, 1, 1);
            if (!l)
                return;
            l->from = *o0;
            if (!code[0])
                code = mm_ssmix2__peek(m, s, 3, 1, 4, 1);
            if (!code[0])
                code = mm_ssmix2__peek(m, s, 3, 1, 2, 1);
            l->code = mm_ssmix2__sdup(r, code);
            l->name = mm_ssmix2__get(r, m, s, 3, 1, 2, 1);
            /* coded values (CWE/CE) show their text; everything else as written */
            l->value = strcmp(vt, "CWE") == 0 || strcmp(vt, "CE") == 0
                               ? mm_ssmix2__get(r, m, s, 5, 1, 2, 1)
                               : mm_ssmix2__get(r, m, s, 5, 1, 0, 0);
            l->unit = mm_ssmix2__sdup(r, unit[0] ? unit : mm_ssmix2__peek(m, s, 6, 1, 1, 1));
            l->range = mm_ssmix2__get(r, m, s, 7, 1, 1, 1);
            l->flag = mm_ssmix2__get(r, m, s, 8, 1, 1, 1);
            l->status = mm_ssmix2__get(r, m, s, 11, 1, 1, 1);
            l->collected_at = mm_ssmix2__iso_minute(r, at[0] ? at : obr_time);
            l->order_no = mm_ssmix2__sdup(r, order);
        }
    }
}

static void add_exam(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o0, mm_hl7_msg *m)
{
    size_t obr = mm_hl7_find(m, "OBR", 0), ipc = mm_hl7_find(m, "IPC", 0);
    struct mm_ssmix2_exam *e;
    mm_buf f;

    if (obr == SIZE_MAX)
        return;
    e = mm_ssmix2__push(r, &r->exams, sizeof(*e));
    if (!e)
        return;
    e->from = *o0;
    e->kind = strcmp(o0->type, "OMG-11") == 0   ? "radiology"
              : strcmp(o0->type, "OMG-12") == 0 ? "endoscopy"
                                                : "physiology";
    e->code = mm_ssmix2__get(r, m, obr, 4, 1, 1, 1);
    e->name = mm_ssmix2__get(r, m, obr, 4, 1, 2, 1);
    e->performed_at = mm_ssmix2__iso_minute(r, mm_ssmix2__peek(m, obr, 7, 1, 1, 1));
    e->study_uid = mm_ssmix2__get(r, m, ipc, 3, 1, 1, 1);
    /* findings: text and numeric observations, one per line */
    mm_buf_init(&f, 65536);
    for (size_t s = mm_hl7_find(m, "OBX", 0); s != SIZE_MAX; s = mm_hl7_find(m, "OBX", s + 1)) {
        const char *vt = mm_ssmix2__peek(m, s, 2, 1, 1, 1);
        if (strcmp(vt, "TX") == 0 || strcmp(vt, "ST") == 0 || strcmp(vt, "FT") == 0)
            mm_buf_printf(&f, "%s%s: %s", f.len ? "\n" : "", mm_ssmix2__peek(m, s, 3, 1, 2, 1),
                          mm_ssmix2__peek(m, s, 5, 1, 0, 0));
        else if (strcmp(vt, "NM") == 0)
            mm_buf_printf(&f, "%s%s: %s %s", f.len ? "\n" : "", mm_ssmix2__peek(m, s, 3, 1, 2, 1),
                          mm_ssmix2__peek(m, s, 5, 1, 1, 1), mm_ssmix2__peek(m, s, 6, 1, 1, 1));
    }
    e->findings = mm_ssmix2__sdup(r, f.ptr ? f.ptr : "");
    mm_buf_release(&f);
}

/* ---- extended storage ---- */

/* Component @k (1-based) of a ^-separated folder name, copied into @out. */
static void folder_comp(const char *s, int k, char *out, size_t cap)
{
    const char *e;
    size_t n;

    for (int i = 1; i < k && s; i++) {
        s = strchr(s, '^');
        if (s)
            s++;
    }
    if (!s) {
        out[0] = '\0';
        return;
    }
    e = strchr(s, '^');
    n = e ? (size_t)(e - s) : strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

int mm_ssmix2_record_add_document(mm_ssmix2_record *r, const struct mm_ssmix2_name *name,
                                  const char *folder, const char *const *files, size_t nfiles)
{
    struct mm_ssmix2_document *d;
    char title[256], code[128];
    const char **list;
    int images = 0;

    MM_ASSERT_ARG(r != NULL && name != NULL && folder != NULL);
    d = mm_ssmix2__push(r, &r->docs, sizeof(*d));
    if (!d)
        return MM_ENOMEM;
    mm_ssmix2__set_origin(r, &d->from, name, "");
    d->from.type = mm_ssmix2__sdup(r, name->type);
    d->from.file = mm_ssmix2__sdup(r, folder);
    /* local^name^system^standard code^standard name^system: prefer the standard parts */
    folder_comp(name->type, 5, title, sizeof(title));
    if (!title[0])
        folder_comp(name->type, 2, title, sizeof(title));
    folder_comp(name->type, 4, code, sizeof(code));
    if (!code[0])
        folder_comp(name->type, 1, code, sizeof(code));
    d->title = mm_ssmix2__sdup(r, title);
    d->code = mm_ssmix2__sdup(r, code);
    d->date = mm_ssmix2__iso_date(r, name->date);
    d->folder = mm_ssmix2__sdup(r, folder);
    list = nfiles ? mm_calloc(nfiles, sizeof(*list)) : NULL;
    if (nfiles && !list)
        return MM_ENOMEM;
    for (size_t i = 0; i < nfiles; i++) {
        size_t n = strlen(files[i]);
        list[i] = mm_ssmix2__sdup(r, files[i]);
        images |= n > 4 &&
                  (strcmp(files[i] + n - 4, ".jpg") == 0 || strcmp(files[i] + n - 4, ".JPG") == 0 ||
                   (n > 5 && strcmp(files[i] + n - 5, ".jpeg") == 0));
    }
    d->kind = images ? "image" : "document";
    d->nfiles = nfiles;
    d->files = nfiles ? mm_ssmix2__adup(r, list, nfiles * sizeof(*list)) : NULL;
    mm_free(list);
    return r->oom ? mm_error_set(MM_ENOMEM, "out of memory") : 0;
}

/* ---- dispatch ---- */

int mm_ssmix2_record_add(mm_ssmix2_record *r, const struct mm_ssmix2_name *name, mm_hl7_msg *msg)
{
    const struct mm_ssmix2_type *t;
    struct mm_ssmix2_origin o;
    const char *code;
    size_t want, shown;

    MM_ASSERT_ARG(r != NULL && name != NULL && msg != NULL);
    t = mm_ssmix2_type_find(name->type);
    if (!t)
        return mm_error_set(MM_ECORRUPT, "unknown data type");
    /* the message family must fit the folder (MSH-9.1 against the registry) */
    code = mm_hl7_get(msg, 0, 9, 1, 1, 1);
    if (!code)
        return MM_ENOMEM;
    want = strcspn(t->hl7, "^");
    if (strlen(code) != want || strncmp(code, t->hl7, want) != 0)
        return mm_error_set(MM_ECORRUPT, "message type does not fit data type '%s'", t->folder);
    mm_ssmix2__set_origin(r, &o, name, t->folder);
    shown = r->raw_shown;
    mm_ssmix2__add_identity(r, &o, msg);  /* PID of every message; ADT-00 in full */
    mm_ssmix2__add_allergies(r, &o, msg); /* AL1 and IAM of every message */
    if (strcmp(t->folder, "ADT-00") == 0 || strcmp(t->folder, "ADT-61") == 0)
        ; /* read in full above */
    else if (strcmp(t->folder, "PPR-01") == 0)
        add_diagnoses(r, &o, msg);
    else if (strncmp(t->folder, "ADT-", 4) == 0)
        add_encounter(r, &o, msg);
    else if (strcmp(t->folder, "OMP-11") == 0 || strcmp(t->folder, "OMP-12") == 0)
        mm_ssmix2__add_admins(r, &o, msg);
    else if (strcmp(t->folder, "OML-11") == 0)
        add_labs(r, &o, msg);
    else if (strcmp(t->folder, "OMG-11") == 0 || strcmp(t->folder, "OMG-12") == 0 ||
             strcmp(t->folder, "OMG-13") == 0)
        add_exam(r, &o, msg);
    else
        mm_ssmix2__add_order(r, &o, msg);
    if (!mm_ssmix2__order_type(t->folder))
        mm_ssmix2__add_uninterpreted(r, &o, msg); /* orders keep theirs in their raw[] */
    mm_ssmix2__fields_tally(r, msg, shown);
    return r->oom ? mm_error_set(MM_ENOMEM, "out of memory") : 0;
}

/* ---- ordering ---- */

static int cmp2(const char *a1, const char *a2, const char *b1, const char *b2)
{
    int c = strcmp(a1, b1);

    return c ? c : strcmp(a2, b2);
}

#define CMP_FN(fn, T, k1, k2)                    \
    static int fn(const void *x, const void *y)  \
    {                                            \
        const T *a = x, *b = y;                  \
        return cmp2(k1(a), k2(a), k1(b), k2(b)); \
    }

#define FT(p)     ((p)->from.file_time)
#define ST(p)     ((p)->start_date)
#define DATE(p)   ((p)->date)
#define TIME(p)   ((p)->time)
#define ORDNO(p)  ((p)->order_no)
#define COLL(p)   ((p)->collected_at)
#define CODE(p)   ((p)->code)
#define PERF(p)   ((p)->performed_at)
#define GIVEN(p)  ((p)->given_at)
#define FOLDER(p) ((p)->folder)

CMP_FN(cmp_patient, struct mm_ssmix2_patient, FT, FT)
CMP_FN(cmp_allergy, struct mm_ssmix2_allergy, FT, FT)
CMP_FN(cmp_diag, struct mm_ssmix2_diagnosis, ST, FT)
CMP_FN(cmp_enc, struct mm_ssmix2_encounter, DATE, TIME)
CMP_FN(cmp_order, struct mm_ssmix2_order, DATE, ORDNO)
CMP_FN(cmp_lab, struct mm_ssmix2_lab, COLL, CODE)
CMP_FN(cmp_exam, struct mm_ssmix2_exam, PERF, FT)
CMP_FN(cmp_admin, struct mm_ssmix2_admin, GIVEN, FT)
CMP_FN(cmp_doc, struct mm_ssmix2_document, DATE, FOLDER)

/* qsort that accepts an empty, never allocated list (qsort's base must not be NULL). */
static void sort_vec(struct vec *v, size_t elem, int (*cmp)(const void *, const void *))
{
    if (v->n > 1)
        qsort(v->v, v->n, elem, cmp);
}

/* Sort every list by time; stable enough for display (ties by a second key). */
static void sort_all(mm_ssmix2_record *r)
{
    sort_vec(&r->patients, sizeof(struct mm_ssmix2_patient), cmp_patient);
    sort_vec(&r->allergies, sizeof(struct mm_ssmix2_allergy), cmp_allergy);
    sort_vec(&r->diagnoses, sizeof(struct mm_ssmix2_diagnosis), cmp_diag);
    sort_vec(&r->encounters, sizeof(struct mm_ssmix2_encounter), cmp_enc);
    for (int k = 0; k < 3; k++)
        sort_vec(&r->orders[k], sizeof(struct mm_ssmix2_order), cmp_order);
    sort_vec(&r->labs, sizeof(struct mm_ssmix2_lab), cmp_lab);
    sort_vec(&r->exams, sizeof(struct mm_ssmix2_exam), cmp_exam);
    sort_vec(&r->admins, sizeof(struct mm_ssmix2_admin), cmp_admin);
    sort_vec(&r->docs, sizeof(struct mm_ssmix2_document), cmp_doc);
}

/* ---- read failures by data type ---- */

void mm_ssmix2_record_note(mm_ssmix2_record *r, const char *type, enum mm_ssmix2_note what,
                           const char *reason)
{
    struct mm_ssmix2_failure *f, *v;
    size_t i;

    if (!r || !type)
        return;
    v = r->fails.v;
    for (i = 0; i < r->fails.n && strcmp(v[i].type, type) < 0; i++)
        ;
    if (i == r->fails.n || strcmp(v[i].type, type) != 0) {
        const char *t = mm_ssmix2__sdup(r, type);
        if (!mm_ssmix2__push(r, &r->fails, sizeof(*f)))
            return;
        v = r->fails.v;
        memmove(&v[i + 1], &v[i], (r->fails.n - 1 - i) * sizeof(*v));
        memset(&v[i], 0, sizeof(*v));
        v[i].type = t;
        v[i].reason = "";
    }
    f = &v[i];
    switch (what) {
    case MM_SSMIX2_NOTE_FILE:
        f->files++;
        return;
    case MM_SSMIX2_NOTE_FAILED:
        f->failed++;
        break;
    case MM_SSMIX2_NOTE_DAMAGED:
        f->damaged++;
        break;
    case MM_SSMIX2_NOTE_FOLDER:
        f->folders++;
        break;
    }
    if (!f->reason[0] && reason)
        f->reason = mm_ssmix2__sdup(r, reason);
}

const char *mm_ssmix2_type_section(const char *type)
{
    static const struct {
        const char *prefix, *section;
    } map[] = {
        { "ADT-00", "patient" },    { "ADT-61", "allergies" },     { "PPR-01", "diagnoses" },
        { "ADT-", "encounters" },   { "OMP-01", "prescriptions" }, { "OMP-11", "prescriptions" },
        { "OMP-02", "injections" }, { "OMP-12", "injections" },    { "OML-11", "labs" },
        { "OMG-11", "exams" },      { "OMG-12", "exams" },         { "OMG-13", "exams" },
        { "OM", "orders" },
    };

    if (!type || !mm_ssmix2_type_find(type))
        return type && strchr(type, '^') ? "documents" : "other";
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strncmp(type, map[i].prefix, strlen(map[i].prefix)) == 0)
            return map[i].section;
    return "other";
}

/* The last folder of @rel's parent ("a/b/OMP-01/f" -> "OMP-01"), or "" */
static void parent_name(const char *rel, char *out, size_t cap)
{
    const char *end = strrchr(rel, '/'), *start;

    out[0] = '\0';
    if (!end)
        return;
    for (start = end; start > rel && start[-1] != '/'; start--)
        ;
    snprintf(out, cap, "%.*s", (int)(end - start), start);
}

/* ---- loading a patient's folders ---- */

static void problem(struct mm_ssmix2_problems *pr, const char *path, const char *reason)
{
    if (!pr)
        return;
    pr->bad++;
    if (pr->nexamples < sizeof(pr->examples) / sizeof(pr->examples[0])) {
        mm_log_path(pr->examples[pr->nexamples].path, sizeof(pr->examples[0].path), path);
        snprintf(pr->examples[pr->nexamples].reason, sizeof(pr->examples[0].reason), "%s", reason);
        pr->nexamples++;
    }
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* snprintf into a path buffer. @return 0, or -1 when the result did not fit */
MM_PRINTF(3, 4) static int pjoin(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mm_free(v[i]);
    mm_free(v);
}

/*
 * The sorted names of the entries of @dir that are of @type (DT_DIR or DT_REG). Symbolic
 * links and other kinds are never followed: they are counted in @probs as problems, since
 * a link inside a storage could make mamori show a file from outside it.
 * OUT: *out (NULL when empty), *n. @return 0, 1 when the folder cannot be read (a problem),
 *         MM_ENOMEM
 */
static int list_dir(const char *dir, const char *rel, unsigned char type, char ***out, size_t *n,
                    struct mm_ssmix2_problems *probs)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    size_t cap = 0;
    int err = 0;

    *out = NULL;
    *n = 0;
    if (!d) {
        problem(probs, rel, "cannot read the folder");
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        unsigned char t = e->d_type;
        struct stat st;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (t == DT_UNKNOWN && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
        if (t != type) {
            char where[MM_LIMIT_PATH];
            if (pjoin(where, sizeof(where), "%s/%s", rel, e->d_name) < 0)
                where[0] = '\0';
            problem(probs, where,
                    t == DT_LNK ? "symbolic link not followed" : "unexpected kind of entry");
            continue;
        }
        if (*n == cap) {
            char **nv = mm_realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
            if (!nv) {
                err = MM_ENOMEM;
                break;
            }
            v = nv;
        }
        if (!(v[*n] = mm_strdup(e->d_name))) {
            err = MM_ENOMEM;
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (err) {
        free_list(v, *n);
        *n = 0;
        return err;
    }
    if (v && *n > 1)
        qsort(v, *n, sizeof(*v), cmp_name);
    *out = v;
    return 0;
}

/* A file of data type @type left out: a problem of the load and a failure of its section. */
static void failed(mm_ssmix2_record *r, const char *type, struct mm_ssmix2_problems *pr,
                   const char *rel, const char *reason)
{
    problem(pr, rel, reason);
    mm_ssmix2_record_note(r, type, MM_SSMIX2_NOTE_FAILED, reason);
}

/* Read, decode, parse and add one message file; problems are counted, not fatal. */
static int load_file(mm_ssmix2_record *r, const char *root, const char *rel, mm_buf *raw,
                     mm_buf *dec, struct mm_ssmix2_problems *pr)
{
    char type[MM_SSMIX2_TYPE_MAX + 1];
    struct mm_ssmix2_name name;
    struct mm_jis_stats st = { 0 };
    char path[MM_LIMIT_PATH];
    mm_hl7_msg *m = NULL;
    int err;

    if (pr)
        pr->files++;
    parent_name(rel, type, sizeof(type));
    mm_ssmix2_record_note(r, type, MM_SSMIX2_NOTE_FILE, NULL);
    if (pjoin(path, sizeof(path), "%s/%s", root, rel) < 0) {
        failed(r, type, pr, rel, "path too long");
        return 0;
    }
    if (mm_ssmix2_check_path(&name, rel) != 0) {
        failed(r, type, pr, rel, mm_error_last());
        return 0;
    }
    mm_buf_clear(raw);
    mm_buf_clear(dec);
    if ((err = mm_os_read_file(path, raw)) < 0) {
        if (err == MM_ENOMEM)
            return err;
        failed(r, type, pr, rel, mm_error_last());
        return 0;
    }
    if ((err = mm_jis_decode(dec, raw->ptr ? raw->ptr : "", raw->len, 0, &st)) < 0) {
        if (err == MM_ENOMEM)
            return err;
        failed(r, type, pr, rel, mm_error_last());
        return 0;
    }
    if (st.bad) {
        char why[96];
        snprintf(why, sizeof(why), "%zu invalid ISO-2022-JP byte sequences shown as U+FFFD",
                 st.bad);
        problem(pr, rel, why); /* reported, and the rest of the file is still shown */
        mm_ssmix2_record_note(r, type, MM_SSMIX2_NOTE_DAMAGED, why);
    }
    if ((err = mm_hl7_parse(&m, dec->ptr ? dec->ptr : "", dec->len)) < 0) {
        if (err == MM_ENOMEM)
            return err;
        failed(r, type, pr, rel, mm_error_last());
        return 0;
    }
    r->cur_file = rel;
    err = mm_ssmix2_record_add(r, &name, m);
    r->cur_file = NULL;
    mm_hl7_free(m);
    if (err == MM_ENOMEM)
        return err;
    if (err < 0)
        failed(r, type, pr, rel, mm_error_last());
    return 0;
}

/* Find the folder of @pid under @root: <pid[0:3]>/<pid[3:6]>/<pid>, or by scanning for short IDs.
 */
static int patient_dir(const char *root, const char *pid, char *rel, size_t cap)
{
    struct stat st;
    char path[MM_LIMIT_PATH];
    size_t n = strlen(pid);

    if (n >= 6) {
        pjoin(rel, cap, "%.3s/%.3s/%s", pid, pid + 3, pid);
        pjoin(path, sizeof(path), "%s/%s", root, rel);
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : MM_ENOTFOUND;
    }
    /* short IDs: the rule is not published; look for <a>/<b>/<pid> with a+b a prefix of pid */
    for (size_t a = 1; a <= 3 && a <= n; a++) {
        for (size_t b = 0; b <= 3 && a + b <= n; b++) {
            pjoin(rel, cap, "%.*s/%.*s/%s", (int)a, pid, (int)b, pid + a, pid);
            pjoin(path, sizeof(path), "%s/%s", root, rel);
            if (b > 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                return 0;
        }
    }
    return MM_ENOTFOUND;
}

/* List the entries of type @type in <root>/<rel>. OUT: *v, *n. @return 0, 1 (unreadable, a
 * problem), MM_ENOMEM */
static int list_at(const char *root, const char *rel, unsigned char type, char ***v, size_t *n,
                   struct mm_ssmix2_problems *pr)
{
    char dir[MM_LIMIT_PATH];

    *v = NULL;
    *n = 0;
    if (pjoin(dir, sizeof(dir), "%s/%s", root, rel) < 0) {
        problem(pr, rel, "path too long");
        return 0;
    }
    return list_dir(dir, rel, type, v, n, pr);
}

/* What a walk over a patient's <date>/<type>/<leaf> entries does with each leaf. */
struct leaf_ctx {
    mm_ssmix2_record *r;
    const char *root;
    struct mm_ssmix2_problems *pr;
    mm_buf raw, dec; /* reused by every message file */
};

/*
 * Call @fn for every entry of kind @leaf_type (a message file, or an extended-storage
 * content folder) at <prel>/<date>/<type>/ under the walk's root, in name order.
 * @return 0, or the first error of @fn or of listing (MM_ENOMEM)
 */
static int walk_leaves(struct leaf_ctx *c, const char *prel, unsigned char leaf_type,
                       int (*fn)(struct leaf_ctx *c, const char *rel, const char *name))
{
    char rd[MM_LIMIT_PATH], rt[MM_LIMIT_PATH], rel[MM_LIMIT_PATH];
    char **dates = NULL, **types = NULL, **leaves = NULL;
    size_t nd = 0, nt = 0, nl = 0;
    int err;

    err = list_at(c->root, prel, DT_DIR, &dates, &nd, c->pr);
    if (err == 1)
        mm_ssmix2_record_note(c->r, "", MM_SSMIX2_NOTE_FOLDER, "cannot read the patient folder");
    err = err < 0 ? err : 0;
    for (size_t i = 0; i < nd && err == 0; i++) {
        if (pjoin(rd, sizeof(rd), "%s/%s", prel, dates[i]) < 0 ||
            (err = list_at(c->root, rd, DT_DIR, &types, &nt, c->pr)) < 0)
            continue;
        if (err == 1)
            mm_ssmix2_record_note(c->r, "", MM_SSMIX2_NOTE_FOLDER, "cannot read a date folder");
        err = 0;
        for (size_t j = 0; j < nt && err == 0; j++) {
            if (pjoin(rt, sizeof(rt), "%s/%s", rd, types[j]) < 0 ||
                (err = list_at(c->root, rt, leaf_type, &leaves, &nl, c->pr)) < 0)
                continue;
            if (err == 1)
                mm_ssmix2_record_note(c->r, types[j], MM_SSMIX2_NOTE_FOLDER,
                                      "cannot read the folder");
            err = 0;
            for (size_t k = 0; k < nl && err == 0; k++)
                if (pjoin(rel, sizeof(rel), "%s/%s", rt, leaves[k]) == 0)
                    err = fn(c, rel, leaves[k]);
            free_list(leaves, nl);
            leaves = NULL;
            nl = 0;
        }
        free_list(types, nt);
        types = NULL;
        nt = 0;
    }
    free_list(dates, nd);
    return err;
}

static int std_leaf(struct leaf_ctx *c, const char *rel, const char *name)
{
    (void)name;
    return load_file(c->r, c->root, rel, &c->raw, &c->dec, c->pr);
}

static int ext_leaf(struct leaf_ctx *c, const char *rel, const char *folder)
{
    char type[MM_SSMIX2_TYPE_MAX + 1];
    struct mm_ssmix2_name name;
    char **files = NULL;
    size_t nf = 0;
    int err;

    parent_name(rel, type, sizeof(type));
    mm_ssmix2_record_note(c->r, type, MM_SSMIX2_NOTE_FILE, NULL);
    if (mm_ssmix2_parse_content_folder(&name, folder, strlen(folder)) != 0) {
        failed(c->r, type, c->pr, rel, mm_error_last());
        return 0;
    }
    err = list_at(c->root, rel, DT_REG, &files, &nf, c->pr);
    if (err == 1) {
        mm_ssmix2_record_note(c->r, type, MM_SSMIX2_NOTE_FOLDER, "cannot read the folder");
        err = 0;
    }
    if (err == 0)
        err = mm_ssmix2_record_add_document(c->r, &name, rel, (const char *const *)files, nf);
    free_list(files, nf);
    return err;
}

static int load_std(mm_ssmix2_record *r, const char *root, const char *prel,
                    struct mm_ssmix2_problems *pr)
{
    struct leaf_ctx c = { r, root, pr, { 0 }, { 0 } };
    int err;

    mm_buf_init(&c.raw, MM_LIMIT_HL7_MESSAGE);
    mm_buf_init(&c.dec, MM_LIMIT_HL7_MESSAGE * 2);
    err = walk_leaves(&c, prel, DT_REG, std_leaf);
    mm_buf_release(&c.raw);
    mm_buf_release(&c.dec);
    return err;
}

static int load_ext(mm_ssmix2_record *r, const char *root, const char *prel,
                    struct mm_ssmix2_problems *pr)
{
    struct leaf_ctx c = { r, root, pr, { 0 }, { 0 } };

    return walk_leaves(&c, prel, DT_DIR, ext_leaf);
}

int mm_ssmix2_record_load(mm_ssmix2_record **out, const char *root, const char *ext_root,
                          const char *pid, struct mm_ssmix2_problems *probs)
{
    mm_ssmix2_record *r = NULL;
    char prel[MM_LIMIT_PATH];
    int err;
    size_t n;

    MM_ASSERT_ARG(out != NULL && root != NULL && pid != NULL);
    n = strlen(pid);
    if (n == 0 || n > MM_LIMIT_PATIENT_ID || strchr(pid, '/') || strcmp(pid, ".") == 0 ||
        strcmp(pid, "..") == 0)
        return mm_error_set(MM_EINVAL, "not a valid patient ID");
    if (patient_dir(root, pid, prel, sizeof(prel)) != 0)
        return mm_error_set(MM_ENOTFOUND, "no patient with this ID in the storage");
    if ((err = mm_ssmix2_record_new(&r)) < 0)
        return err;
    err = load_std(r, root, prel, probs);
    if (err == 0 && ext_root) {
        char eprel[MM_LIMIT_PATH];
        if (patient_dir(ext_root, pid, eprel, sizeof(eprel)) == 0)
            err = load_ext(r, ext_root, eprel, probs);
    }
    if (err == 0 && r->oom)
        err = mm_error_set(MM_ENOMEM, "out of memory");
    if (err < 0) {
        mm_ssmix2_record_free(r);
        return err;
    }
    sort_all(r);
    *out = r;
    return 0;
}

/* ---- accessors ---- */

const struct mm_ssmix2_patient *mm_ssmix2_record_patient(const mm_ssmix2_record *r)
{
    const struct mm_ssmix2_patient *p = r->patients.v, *best[2] = { NULL, NULL };

    /* the newest current ADT-00, else the newest current PID of any other message */
    for (size_t i = 0; i < r->patients.n; i++) {
        int k = strcmp(p[i].from.type, "ADT-00") != 0;
        if (p[i].from.flag == MM_SSMIX2_CURRENT &&
            (!best[k] || strcmp(p[i].from.file_time, best[k]->from.file_time) >= 0))
            best[k] = &p[i];
    }
    return best[0] ? best[0] : best[1];
}

#define ACCESSOR(fn, T, field)                          \
    size_t fn(const mm_ssmix2_record *r, const T **out) \
    {                                                   \
        *out = r->field.v;                              \
        return r->field.n;                              \
    }

ACCESSOR(mm_ssmix2_record_allergies, struct mm_ssmix2_allergy, allergies)
ACCESSOR(mm_ssmix2_record_diagnoses, struct mm_ssmix2_diagnosis, diagnoses)
ACCESSOR(mm_ssmix2_record_encounters, struct mm_ssmix2_encounter, encounters)
ACCESSOR(mm_ssmix2_record_labs, struct mm_ssmix2_lab, labs)
ACCESSOR(mm_ssmix2_record_exams, struct mm_ssmix2_exam, exams)
ACCESSOR(mm_ssmix2_record_admins, struct mm_ssmix2_admin, admins)
ACCESSOR(mm_ssmix2_record_documents, struct mm_ssmix2_document, docs)
ACCESSOR(mm_ssmix2_record_failures, struct mm_ssmix2_failure, fails)

size_t mm_ssmix2_record_orders(const mm_ssmix2_record *r, int kind,
                               const struct mm_ssmix2_order **out)
{
    if (kind < 0 || kind > 2) {
        *out = NULL;
        return 0;
    }
    *out = r->orders[kind].v;
    return r->orders[kind].n;
}
