/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The clinical resources of a patient's Bundle: Encounter (JP_Encounter, one per current ADT
 * event), Condition (JP_Condition, the diagnoses of the newest current PPR-01, as the record's
 * JSON lists them), AllergyIntolerance (JP_AllergyIntolerance, the current allergy list: each
 * allergen once) and Observation (JP_Observation_LabResult, current lab results).
 */
#include <string.h>

#include "export/export_fhir_int.h"

/* ---- Encounter ---- */

static const char *enc_status(const struct mm_ssmix2_encounter *e)
{
    switch (e->kind) {
    case MM_ENC_OUTPATIENT:
    case MM_ENC_DISCHARGE:
        return "finished";
    case MM_ENC_PLANNED_ADMISSION:
    case MM_ENC_PLANNED_TRANSFER:
    case MM_ENC_PLANNED_DISCHARGE:
        return "planned";
    case MM_ENC_LEAVE:
        return "onleave";
    default:
        return "in-progress";
    }
}

/* "YYYY-MM-DDTHH:MM" of an event (date and time), or the date alone. */
static void event_time(char *b, size_t cap, const char *date, const char *time)
{
    if (time[0])
        snprintf(b, cap, "%sT%s", date, time);
    else
        snprintf(b, cap, "%s", date);
}

/* The discharge that ends the admission @a (the first current one after it), or NULL. */
static const struct mm_ssmix2_encounter *discharge_of(const struct mm_ssmix2_encounter *v, size_t n,
                                                      const struct mm_ssmix2_encounter *a)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].kind == MM_ENC_DISCHARGE && mm_export__current(&v[i].from) &&
            strcmp(v[i].date, a->date) >= 0)
            return &v[i];
    return NULL;
}

static void encounter(struct mm_export__fx *x, const struct mm_ssmix2_encounter *v, size_t n,
                      const struct mm_ssmix2_encounter *e)
{
    char url[MM_FHIR_REF_MAX], t[40], key[64];
    const struct mm_ssmix2_encounter *end = NULL;
    const char *dn, *wn;
    json_t *res, *cls, *period;

    snprintf(key, sizeof(key), "%s %s", e->kind_name, e->date);
    res = mm_export__resource(x, "Encounter", MM_FHIR_JP "JP_Encounter", &e->from, key, url);
    if (!res)
        return;
    if (e->kind == MM_ENC_ADMISSION)
        end = discharge_of(v, n, e);
    mm_export__str(x, res, "status", end ? "finished" : enc_status(e));
    cls = mm_export__coding(x, "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                            e->kind == MM_ENC_OUTPATIENT ? "AMB" : "IMP",
                            e->kind == MM_ENC_OUTPATIENT ? "ambulatory" : "inpatient encounter");
    mm_export__set(x, res, "class", cls);
    mm_export__push(x, mm_export__arr(x, res, "type"),
                    mm_export__cc(x, MM_FHIR_LOCAL "CodeSystem/ssmix2-adt-event", e->kind_name,
                                  e->kind_name, NULL));
    dn = e->dept_name[0] ? e->dept_name : mm_ssmix2_record_code_name(x->r, 0, e->dept);
    if (e->dept[0])
        mm_export__set(x, res, "serviceType",
                       mm_export__cc(x, "urn:oid:1.2.392.200250.2.2.2", e->dept, dn, dn));
    mm_export__set(x, res, "subject", mm_export__ref(x, x->patient, NULL));
    if (e->doctor[0] || e->doctor_id[0]) {
        json_t *p = json_object();
        mm_export__set(x, p, "individual",
                       mm_export__ref(x, NULL, e->doctor[0] ? e->doctor : e->doctor_id));
        mm_export__push(x, mm_export__arr(x, res, "participant"), p);
    }
    period = json_object();
    event_time(t, sizeof(t), e->date, e->time);
    if (!mm_export__date(x, period, e->kind == MM_ENC_DISCHARGE ? "end" : "start", t))
        mm_export__note(x, res, "date as written: ", t);
    if (end) {
        event_time(t, sizeof(t), end->date, end->time);
        mm_export__date(x, period, "end", t);
    }
    if (json_object_size(period))
        mm_export__set(x, res, "period", period);
    else
        json_decref(period);
    wn = e->ward_name[0] ? e->ward_name : mm_ssmix2_record_code_name(x->r, 1, e->ward);
    if (e->ward[0] || wn[0]) {
        json_t *l = json_object();
        char where[256];
        snprintf(where, sizeof(where), "%s%s%s%s%s", wn[0] ? wn : e->ward, e->room[0] ? " " : "",
                 e->room, e->bed[0] ? "-" : "", e->bed);
        mm_export__set(x, l, "location", mm_export__ref(x, NULL, where));
        mm_export__push(x, mm_export__arr(x, res, "location"), l);
    }
    if (e->disposition[0]) {
        json_t *h = json_object();
        mm_export__set(
                x, h, "dischargeDisposition",
                mm_export__cc(x, MM_FHIR_TERM "v2-0112", e->disposition, NULL, e->disposition));
        mm_export__set(x, res, "hospitalization", h);
    }
    mm_export__remember(x, 0, e->date, e->dept, e->kind_name, url);
}

void mm_export__encounters(struct mm_export__fx *x)
{
    const struct mm_ssmix2_encounter *v;
    size_t n = mm_ssmix2_record_encounters(x->r, &v);

    for (size_t i = 0; i < n && !x->err; i++)
        if (mm_export__current(&v[i].from))
            encounter(x, v, n, &v[i]);
}

/* ---- Condition ---- */

/* The newest current PPR-01's file time (it holds every diagnosis), or NULL. */
static const char *newest_ppr(const struct mm_ssmix2_diagnosis *d, size_t n)
{
    const char *best = NULL;

    for (size_t i = 0; i < n; i++)
        if (mm_export__current(&d[i].from) && strcmp(d[i].from.type, "PPR-01") == 0 &&
            (!best || strcmp(d[i].from.file_time, best) > 0))
            best = d[i].from.file_time;
    return best;
}

static void condition(struct mm_export__fx *x, const struct mm_ssmix2_diagnosis *d)
{
    char url[MM_FHIR_REF_MAX], key[256];
    json_t *res, *code;

    snprintf(key, sizeof(key), "%s|%s|%s|%s", d->medis, d->icd10, d->name, d->start_date);
    res = mm_export__resource(x, "Condition", MM_FHIR_JP "JP_Condition", &d->from, key, url);
    if (!res)
        return;
    if (d->main) {
        json_t *e = json_object();
        mm_export__str(x, e, "url", MM_FHIR_LOCAL "StructureDefinition/main-diagnosis");
        mm_export__set(x, e, "valueBoolean", json_true());
        mm_export__push(x, mm_export__arr(x, res, "extension"), e);
    }
    mm_export__set(x, res, "clinicalStatus",
                   mm_export__cc(x, MM_FHIR_TERM "condition-clinical",
                                 d->active ? "active" : "resolved", NULL, NULL));
    mm_export__set(x, res, "verificationStatus",
                   mm_export__cc(x, MM_FHIR_TERM "condition-ver-status",
                                 d->suspected ? "provisional" : "confirmed", NULL, NULL));
    mm_export__push(x, mm_export__arr(x, res, "category"),
                    mm_export__cc(x, MM_FHIR_TERM "condition-category", "encounter-diagnosis",
                                  "Encounter Diagnosis", NULL));
    code = json_object();
    if (d->medis[0])
        mm_export__push(x, mm_export__arr(x, code, "coding"),
                        mm_export__coding(x, "urn:oid:1.2.392.200119.4.101.6", d->medis, d->name));
    if (d->icd10[0])
        mm_export__push(x, mm_export__arr(x, code, "coding"),
                        mm_export__coding(x,
                                          "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/"
                                          "ICD10-2013-full",
                                          d->icd10, NULL));
    mm_export__str(x, code, "text", d->name);
    mm_export__set(x, res, "code", code);
    mm_export__set(x, res, "subject", mm_export__ref(x, x->patient, NULL));
    if (!mm_export__date(x, res, "onsetDateTime", d->start_date))
        mm_export__note(x, res, "onset as written: ", d->start_date);
    if (!mm_export__date(x, res, "abatementDateTime", d->end_date))
        mm_export__note(x, res, "end as written: ", d->end_date);
    if (d->outcome[0]) {
        json_t *e = json_object();
        mm_export__str(x, e, "url", MM_FHIR_LOCAL "StructureDefinition/disease-outcome");
        mm_export__set(x, e, "valueCoding",
                       mm_export__coding(x, MM_FHIR_TERM "v2-0241", d->outcome, NULL));
        mm_export__push(x, mm_export__arr(x, res, "extension"), e);
    }
}

void mm_export__conditions(struct mm_export__fx *x)
{
    const struct mm_ssmix2_diagnosis *d;
    size_t n = mm_ssmix2_record_diagnoses(x->r, &d);
    const char *src = newest_ppr(d, n);

    /* as the record's JSON: the newest current PPR-01 only, active ones then the others */
    for (int pass = 0; pass < 2 && src; pass++)
        for (size_t i = 0; i < n && !x->err; i++)
            if (mm_export__current(&d[i].from) && strcmp(d[i].from.file_time, src) == 0 &&
                strcmp(d[i].from.type, "PPR-01") == 0 && d[i].active == !pass)
                condition(x, &d[i]);
}

/* ---- AllergyIntolerance ---- */

static void allergy(struct mm_export__fx *x, const struct mm_ssmix2_allergy *a)
{
    char url[MM_FHIR_REF_MAX], key[256], sb[256];
    const char *t = a->type,
               *cat = strcmp(t, "DA") == 0   ? "medication"
                      : strcmp(t, "FA") == 0 ? "food"
                      : (strcmp(t, "EA") == 0 || strcmp(t, "LA") == 0 || strcmp(t, "AA") == 0)
                              ? "environment"
                              : NULL;
    struct mm_ssmix2_origin o = a->from;
    json_t *res;

    /* the ID is the allergen's, the same whichever current file names it; the source is
     * the file it is taken from */
    o.type = o.order_no = o.care_date = "";
    snprintf(key, sizeof(key), "%s|%s|%s", a->type, a->code, a->code[0] ? "" : a->name);
    res = mm_export__resource(x, "AllergyIntolerance", MM_FHIR_JP "JP_AllergyIntolerance", &o, key,
                              url);
    if (!res)
        return;
    mm_export__set(
            x, res, "clinicalStatus",
            mm_export__cc(x, MM_FHIR_TERM "allergyintolerance-clinical", "active", NULL, NULL));
    mm_export__set(x, res, "verificationStatus",
                   mm_export__cc(x, MM_FHIR_TERM "allergyintolerance-verification", "confirmed",
                                 NULL, NULL));
    mm_export__str(x, res, "type", "allergy");
    if (cat)
        mm_export__push(x, mm_export__arr(x, res, "category"), json_string(cat));
    mm_export__set(x, res, "code",
                   mm_export__cc(x, mm_export__system(a->system, a->code, sb, sizeof(sb)), a->code,
                                 a->name, a->name[0] ? a->name : a->code));
    mm_export__set(x, res, "patient", mm_export__ref(x, x->patient, NULL));
    if (!mm_export__date(x, res, "onsetDateTime", a->onset))
        mm_export__note(x, res, "onset as written: ", a->onset);
    if (a->reaction[0] || a->severity[0]) {
        json_t *rx = json_object(), *m = json_object();
        const char *s = a->severity;
        mm_export__str(x, m, "text", a->reaction[0] ? a->reaction : "記載なし");
        mm_export__push(x, mm_export__arr(x, rx, "manifestation"), m);
        mm_export__str(x, rx, "severity",
                       strcmp(s, "SV") == 0   ? "severe"
                       : strcmp(s, "MO") == 0 ? "moderate"
                       : strcmp(s, "MI") == 0 ? "mild"
                                              : "");
        mm_export__push(x, mm_export__arr(x, res, "reaction"), rx);
    }
    mm_export__note(x, res, "allergy type (HL7 0127): ", a->type);
}

void mm_export__allergies(struct mm_export__fx *x)
{
    struct mm_ssmix2_allergy_list l;
    int err;

    /* each allergen once, from the first current file of the list that names it */
    if ((err = mm_ssmix2_record_allergy_list(x->r, &l)) != 0) {
        x->err = x->err ? x->err : err;
        return;
    }
    for (size_t k = 0; k < l.n && !x->err; k++)
        allergy(x, l.v[k].a);
    mm_ssmix2_allergy_list_release(&l);
}

/* ---- Observation (lab results) ---- */

/* Set the reference range "low-high" (or its text) of @res. */
static void range(struct mm_export__fx *x, json_t *res, const char *r, const char *unit)
{
    json_t *o;
    const char *dash;
    char lo[32];

    if (!r[0])
        return;
    o = json_object();
    dash = strchr(r + 1, '-');
    if (dash && (size_t)(dash - r) < sizeof(lo)) {
        json_t *ql, *qh;
        memcpy(lo, r, (size_t)(dash - r));
        lo[dash - r] = '\0';
        ql = mm_export__qty(x, lo, unit);
        qh = mm_export__qty(x, dash + 1, unit);
        if (ql)
            mm_export__set(x, o, "low", ql);
        if (qh)
            mm_export__set(x, o, "high", qh);
    }
    mm_export__str(x, o, "text", r);
    mm_export__push(x, mm_export__arr(x, res, "referenceRange"), o);
}

static void lab(struct mm_export__fx *x, const struct mm_ssmix2_lab *l)
{
    char url[MM_FHIR_REF_MAX], key[256];
    const char *enc, *f = l->flag;
    json_t *res, *q;
    size_t cn = strlen(l->code);

    snprintf(key, sizeof(key), "%s|%s|%s", l->code, l->collected_at, l->order_no);
    res = mm_export__resource(x, "Observation", MM_FHIR_JP "JP_Observation_LabResult", &l->from,
                              key, url);
    if (!res)
        return;
    mm_export__str(x, res, "status",
                   strcmp(l->status, "C") == 0                                  ? "corrected"
                   : strcmp(l->status, "P") == 0 || strcmp(l->status, "I") == 0 ? "preliminary"
                                                                                : "final");
    /* JP Core's own category code system first, then HL7's */
    mm_export__push(x, mm_export__arr(x, res, "category"),
                    mm_export__cc(x,
                                  "http://jpfhir.jp/fhir/core/CodeSystem/"
                                  "JP_SimpleObservationCategory_CS",
                                  "laboratory", "検体検査", NULL));
    mm_export__push(x, mm_export__arr(x, res, "category"),
                    mm_export__cc(x, MM_FHIR_TERM "observation-category", "laboratory",
                                  "Laboratory", NULL));
    /* a 17-character code is JLAC10's; any other is the sender's own */
    mm_export__set(x, res, "code",
                   mm_export__cc(x,
                                 cn == 17 ? "urn:oid:1.2.392.200119.4.504"
                                          : MM_FHIR_LOCAL "CodeSystem/ssmix2-local/lab",
                                 l->code, l->name, l->name[0] ? l->name : l->code));
    mm_export__set(x, res, "subject", mm_export__ref(x, x->patient, NULL));
    if ((enc = mm_export__encounter(x, l->from.care_date, NULL)))
        mm_export__set(x, res, "encounter", mm_export__ref(x, enc, NULL));
    if (!mm_export__date(x, res, "effectiveDateTime", l->collected_at))
        mm_export__note(x, res, "collected at, as written: ", l->collected_at);
    if ((q = mm_export__qty(x, l->value, l->unit)))
        mm_export__set(x, res, "valueQuantity", q);
    else
        mm_export__str(x, res, "valueString", l->value);
    if (f[0])
        mm_export__push(
                x, mm_export__arr(x, res, "interpretation"),
                mm_export__cc(x, MM_FHIR_TERM "v3-ObservationInterpretation", f, NULL, NULL));
    range(x, res, l->range, l->unit);
    {
        /* JP Core's suggested [ORC-2]_[OBR-4]_[SPM-4]_[OBX-3]: the record keeps no OBR-4/SPM-4 */
        json_t *id = json_object();
        char v[256];
        snprintf(v, sizeof(v), "%s___%s", l->order_no, l->code);
        mm_export__str(x, id, "system", MM_FHIR_LOCAL "NamingSystem/lab-result");
        mm_export__str(x, id, "value", v);
        mm_export__push(x, mm_export__arr(x, res, "identifier"), id);
    }
}

void mm_export__labs(struct mm_export__fx *x)
{
    const struct mm_ssmix2_lab *l;
    size_t n = mm_ssmix2_record_labs(x->r, &l);

    for (size_t i = 0; i < n && !x->err; i++)
        if (mm_export__current(&l[i].from))
            lab(x, &l[i]);
}

/* ---- DiagnosticReport (examination results) ---- */

static void exam(struct mm_export__fx *x, const struct mm_ssmix2_exam *e)
{
    char url[MM_FHIR_REF_MAX], key[256];
    const char *enc, *k = e->kind;
    json_t *res;

    snprintf(key, sizeof(key), "%s|%s|%s", e->kind, e->code, e->performed_at);
    res = mm_export__resource(x, "DiagnosticReport", MM_FHIR_JP "JP_DiagnosticReport_Common",
                              &e->from, key, url);
    if (!res)
        return;
    if (e->from.order_no[0]) {
        json_t *id = json_object();
        mm_export__str(x, id, "system", MM_FHIR_LOCAL "NamingSystem/order-no");
        mm_export__str(x, id, "value", e->from.order_no);
        mm_export__push(x, mm_export__arr(x, res, "identifier"), id);
    }
    if (e->study_uid[0]) { /* a DICOM study, as FHIR writes DICOM UIDs */
        json_t *id = json_object();
        char v[160];
        snprintf(v, sizeof(v), "urn:oid:%s", e->study_uid);
        mm_export__str(x, id, "system", "urn:dicom:uid");
        mm_export__str(x, id, "value", v);
        mm_export__push(x, mm_export__arr(x, res, "identifier"), id);
    }
    mm_export__str(x, res, "status", "final");
    mm_export__push(x, mm_export__arr(x, res, "category"),
                    mm_export__cc(x, MM_FHIR_TERM "v2-0074",
                                  strcmp(k, "radiology") == 0 ? "RAD" : "OTH", NULL,
                                  strcmp(k, "radiology") == 0    ? "放射線 / radiology"
                                  : strcmp(k, "endoscopy") == 0  ? "内視鏡 / endoscopy"
                                  : strcmp(k, "physiology") == 0 ? "生理検査 / physiology"
                                                                 : k));
    mm_export__set(x, res, "code",
                   mm_export__cc(x, MM_FHIR_LOCAL "CodeSystem/ssmix2-local/exam", e->code, e->name,
                                 e->name[0]   ? e->name
                                 : e->code[0] ? e->code
                                              : k));
    mm_export__set(x, res, "subject", mm_export__ref(x, x->patient, NULL));
    if ((enc = mm_export__encounter(x, e->from.care_date, NULL)))
        mm_export__set(x, res, "encounter", mm_export__ref(x, enc, NULL));
    if (!mm_export__date(x, res, "effectiveDateTime", e->performed_at) && e->performed_at[0])
        mm_export__note(x, res, "performed at, as written: ", e->performed_at);
    mm_export__str(x, res, "conclusion", e->findings);
}

void mm_export__exams(struct mm_export__fx *x)
{
    const struct mm_ssmix2_exam *e;
    size_t n = mm_ssmix2_record_exams(x->r, &e);

    for (size_t i = 0; i < n && !x->err; i++)
        if (mm_export__current(&e[i].from))
            exam(x, &e[i]);
}
