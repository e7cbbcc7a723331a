/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Medication resources of a patient's Bundle: MedicationRequest (JP_MedicationRequest for
 * prescriptions, JP_MedicationRequest_Injection for injections), one per drug line of every Rp
 * of every current order that is not itself a cancel; and MedicationAdministration
 * (JP_MedicationAdministration[_Injection]) per current RXA. The dose per timing of 不均等 is
 * one dosageInstruction per timing (same sequence: taken together), never flattened; a day
 * pattern keeps its JAMI 補足用法 code (weekdays also as dayOfWeek); what the record keeps raw
 * goes into extensions with the raw text, instructions and flags into notes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export/export_fhir_int.h"

#define JAMI_USAGE "urn:oid:1.2.392.200250.2.2.20.20"
#define JAMI_EXTRA "urn:oid:1.2.392.200250.2.2.20.22"
#define YJ_SYSTEM  "urn:oid:1.2.392.100495.20.1.73"

/* The medication of a drug: its code (HOT by length, or the sender's system), YJ, name. */
static json_t *medication(struct mm_export__fx *x, const struct mm_ssmix2_drug *d)
{
    json_t *cc = json_object();
    char sb[256];

    if (d->code[0])
        mm_export__push(x, mm_export__arr(x, cc, "coding"),
                        mm_export__coding(x, mm_export__system(d->system, d->code, sb, sizeof(sb)),
                                          d->code, d->name));
    if (d->yj[0])
        mm_export__push(x, mm_export__arr(x, cc, "coding"),
                        mm_export__coding(x, YJ_SYSTEM, d->yj, d->name));
    mm_export__str(x, cc, "text", d->name[0] ? d->name : d->code);
    return cc;
}

/* A Ratio of @value @unit per @per @per_unit (UCUM @per_code), into @dr.rateRatio. */
static int ratio(struct mm_export__fx *x, json_t *dr, const char *value, const char *unit, long per,
                 const char *per_unit, const char *per_code)
{
    json_t *num = mm_export__qty(x, value, unit), *den, *r;

    if (!num)
        return 0;
    den = json_object();
    mm_export__set(x, den, "value", json_integer(per));
    mm_export__str(x, den, "unit", per_unit);
    mm_export__str(x, den, "system", "http://unitsofmeasure.org");
    mm_export__str(x, den, "code", per_code);
    r = json_object();
    mm_export__set(x, r, "numerator", num);
    mm_export__set(x, r, "denominator", den);
    mm_export__set(x, dr, "rateRatio", r);
    return 1;
}

/* The time a rate is per: RXE-22 ("H1": 1 hour; M minutes, D days, S seconds), else a rate unit
 * ending in "/hr", "/h" or "/時間" (also with a full-width slash). OUT: *n, *unit, *code
 * (UCUM). @return 1 when known */
static int rate_time(const struct mm_ssmix2_rp *rp, long *n, const char **unit, const char **code)
{
    static const struct {
        char c;
        const char *unit, *ucum;
    } t[] = { { 'S', "秒", "s" }, { 'M', "分", "min" }, { 'H', "時間", "h" }, { 'D', "日", "d" } };
    const char *p = rp->rate_per, *u = rp->rate_unit;
    size_t len = strlen(u);

    for (size_t i = 0; p[0] && i < sizeof(t) / sizeof(t[0]); i++)
        if (p[0] == t[i].c && p[1] && strspn(p + 1, "0123456789") == strlen(p + 1) &&
            strlen(p + 1) < 6) {
            *n = strtol(p + 1, NULL, 10);
            *unit = t[i].unit;
            *code = t[i].ucum;
            return *n > 0;
        }
    if ((len > 3 && strcmp(u + len - 3, "/hr") == 0) ||
        (len > 2 && strcmp(u + len - 2, "/h") == 0) ||
        (len > 7 && strcmp(u + len - 7, "/時間") == 0) ||
        (len > 9 && strcmp(u + len - 9, "／時間") == 0)) {
        *n = 1;
        *unit = "時間";
        *code = "h";
        return 1;
    }
    return 0;
}

/* The amount part of a rate unit (before its last '/' or '／'; all of it without one). */
static void rate_amount_unit(const char *u, char *out, size_t cap)
{
    const char *a = strrchr(u, '/'), *b = strstr(u, "／");
    const char *cut = a ? a : b;
    size_t n = cut ? (size_t)(cut - u) : strlen(u);

    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), u);
}

/* Whether @s is a plain decimal number (what a Quantity takes). */
static int numeric(const char *s)
{
    return s[0] && strspn(s, "0123456789.") == strlen(s) && s[0] != '.';
}

/*
 * A doseAndRate entry of @dose @unit and, as JP Core's rateRatio, the injection's rate per
 * hour (RXE-23/24 "ml/hr") or a prescription line's daily dose (@daily per 1 日); a rate whose
 * unit is not per hour is left to a note by the caller. NULL when there is neither.
 */
static json_t *dose_rate(struct mm_export__fx *x, const char *dose, const char *unit,
                         const struct mm_ssmix2_rp *rp, const struct mm_ssmix2_drug *daily)
{
    json_t *dr = json_object(), *q = mm_export__qty(x, dose, unit);

    if (q)
        mm_export__set(x, dr, "doseQuantity", q);
    if (rp && rp->rate[0]) {
        const char *pu, *pc;
        char nu[128];
        long per;
        if (rate_time(rp, &per, &pu, &pc)) {
            rate_amount_unit(rp->rate_unit, nu, sizeof(nu));
            ratio(x, dr, rp->rate, nu, per, pu, pc);
        }
    } else if (daily && daily->daily_dose[0]) {
        ratio(x, dr, daily->daily_dose, daily->daily_unit[0] ? daily->daily_unit : daily->unit, 1,
              "日", "d");
    }
    if (!json_object_size(dr)) {
        json_decref(dr);
        return NULL;
    }
    return dr;
}

/* The EventTiming of a timing label (朝 昼 夕 寝る前), or NULL. */
static const char *when_of(const char *label)
{
    if (strstr(label, "朝"))
        return "MORN";
    if (strstr(label, "昼"))
        return "NOON";
    if (strstr(label, "夕"))
        return "EVE";
    if (strstr(label, "寝") || strstr(label, "眠"))
        return "HS";
    return NULL;
}

/* The Timing of an Rp: JAMI 用法 code, times of day, weekdays, start and end. */
static json_t *timing(struct mm_export__fx *x, const struct mm_ssmix2_rp *rp, const char *when)
{
    static const char *const dow[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
    json_t *t = json_object(), *rep = json_object(), *bounds = json_object();

    if (rp->usage_code[0] || rp->usage[0])
        mm_export__set(x, t, "code",
                       mm_export__cc(x, JAMI_USAGE, rp->usage_code, rp->usage, rp->usage));
    for (size_t i = 0; i < rp->ntimes; i++) {
        const char *s = rp->times[i];
        char b[16];
        if (strlen(s) == 5 && s[2] == ':') {
            snprintf(b, sizeof(b), "%s:00", s);
            mm_export__push(x, mm_export__arr(x, rep, "timeOfDay"), json_string(b));
        }
    }
    if (when)
        mm_export__push(x, mm_export__arr(x, rep, "when"), json_string(when));
    if (rp->pattern && strcmp(rp->pattern->kind, "weekdays") == 0)
        for (int d = 0; d < 7; d++)
            if (rp->pattern->weekdays[d])
                mm_export__push(x, mm_export__arr(x, rep, "dayOfWeek"), json_string(dow[d]));
    mm_export__date(x, bounds, "start", rp->start);
    mm_export__date(x, bounds, "end", rp->end);
    if (json_object_size(bounds))
        mm_export__set(x, rep, "boundsPeriod", bounds);
    else
        json_decref(bounds);
    if (json_object_size(rep))
        mm_export__set(x, t, "repeat", rep);
    else
        json_decref(rep);
    return t;
}

/* One dosageInstruction of @rp with @dose (and its timing label for 不均等). */
static json_t *dosage(struct mm_export__fx *x, const struct mm_ssmix2_rp *rp, const char *dose,
                      const char *unit, const char *label, const struct mm_ssmix2_drug *daily)
{
    json_t *d = json_object(), *dr;
    char text[512];

    mm_export__set(x, d, "sequence", json_integer(1));
    snprintf(text, sizeof(text), "%s%s%s%s%s", rp->usage, label && label[0] ? " " : "",
             label ? label : "", rp->condition[0] ? " " : "", rp->condition);
    mm_export__str(x, d, "text", text[0] == ' ' ? text + 1 : text);
    if (rp->pattern)
        mm_export__push(x, mm_export__arr(x, d, "additionalInstruction"),
                        mm_export__cc(x, JAMI_EXTRA, rp->pattern->code, rp->pattern->text,
                                      rp->pattern->text));
    if (rp->tq_text[0])
        mm_export__str(x, d, "patientInstruction", rp->tq_text);
    mm_export__set(x, d, "timing", timing(x, rp, label ? when_of(label) : NULL));
    if (rp->prn && rp->condition[0])
        mm_export__set(x, d, "asNeededCodeableConcept",
                       mm_export__cc(x, NULL, NULL, NULL, rp->condition));
    else if (rp->prn)
        mm_export__set(x, d, "asNeededBoolean", json_true());
    if (rp->site[0])
        mm_export__set(x, d, "site", mm_export__cc(x, NULL, NULL, NULL, rp->site));
    if (rp->route[0] || rp->route_name[0])
        mm_export__set(x, d, "route",
                       mm_export__cc(x, MM_FHIR_TERM "v2-0162", rp->route, rp->route_name,
                                     rp->route_name));
    if (rp->method[0])
        mm_export__set(x, d, "method", mm_export__cc(x, NULL, NULL, NULL, rp->method));
    if ((dr = dose_rate(x, dose, unit, rp, daily)))
        mm_export__push(x, mm_export__arr(x, d, "doseAndRate"), dr);
    return d;
}

/* Append the notes of a line: instructions, dispensing, flags, taper step, device, total. */
static void line_notes(struct mm_export__fx *x, json_t *res, const struct mm_ssmix2_rp *rp,
                       const struct mm_ssmix2_drug *d)
{
    const char *pu, *pc;
    long per;
    char b[64];

    for (size_t i = 0; i < d->ninstructions; i++)
        mm_export__note(x, res, "指示: ", d->instructions[i]);
    for (size_t i = 0; i < rp->ninstructions; i++)
        mm_export__note(x, res, "指示: ", rp->instructions[i]);
    for (size_t i = 0; i < d->ndispensing; i++)
        mm_export__note(x, res, "調剤: ", d->dispensing[i]);
    for (size_t i = 0; i < rp->ndispensing; i++)
        mm_export__note(x, res, "調剤: ", rp->dispensing[i]);
    for (size_t i = 0; i < d->nflags; i++)
        mm_export__note(x, res, "区分: ", d->flags[i]);
    for (size_t i = 0; i < rp->nflags; i++)
        mm_export__note(x, res, "区分: ", rp->flags[i]);
    if (rp->step.n) {
        snprintf(b, sizeof(b), "%d / %d", rp->step.n, rp->step.of);
        mm_export__note(x, res, "漸減・漸増の段階: ", b);
    }
    mm_export__note(x, res, "器具: ", rp->device);
    mm_export__note(x, res, "総量: ", rp->total);
    if (d->ntimings || !numeric(d->daily_dose) || d->role[0]) /* else rateRatio */
        mm_export__note(x, res, "1日量: ", d->daily_dose);
    if (rp->rate[0] && (!rate_time(rp, &per, &pu, &pc) || !numeric(rp->rate))) {
        char b2[160];
        snprintf(b2, sizeof(b2), "%s %s (RXE-22 %s)", rp->rate, rp->rate_unit, rp->rate_per);
        mm_export__note(x, res, "投与速度: ", b2);
    }
    mm_export__note(x, res, "剤形: ", d->form[0] ? d->form : rp->form);
    mm_export__note(x, res, "最大量: ", d->dose_max);
    mm_export__note(x, res, "注射区分: ", rp->type_name);
    mm_export__note(x, res, "役割 (RXC-1): ", d->role);
}

/* dispenseRequest: the amount dispensed and the days (expectedSupplyDuration). */
static void dispense(struct mm_export__fx *x, json_t *res, const struct mm_ssmix2_rp *rp,
                     const struct mm_ssmix2_drug *d)
{
    json_t *dr = json_object(), *q;
    const char *u = rp->days_unit;

    if ((q = mm_export__qty(x, d->dispense, d->dispense_unit)))
        mm_export__set(x, dr, "quantity", q);
    if ((q = mm_export__qty(x, rp->days, NULL))) {
        const char *code = strcasecmp(u, "W") == 0 ? "wk" : strcasecmp(u, "M") == 0 ? "mo" : "d";
        mm_export__str(x, q, "unit",
                       strcmp(code, "wk") == 0   ? "週"
                       : strcmp(code, "mo") == 0 ? "月"
                                                 : "日");
        mm_export__str(x, q, "system", "http://unitsofmeasure.org");
        mm_export__str(x, q, "code", code);
        mm_export__set(x, dr, "expectedSupplyDuration", q);
    } else {
        mm_export__note(x, res, "日数: ", rp->days);
    }
    if (rp->start[0]) {
        json_t *p = json_object();
        mm_export__date(x, p, "start", rp->start);
        mm_export__date(x, p, "end", rp->end);
        if (json_object_size(p))
            mm_export__set(x, dr, "validityPeriod", p);
        else
            json_decref(p);
    }
    if (json_object_size(dr))
        mm_export__set(x, res, "dispenseRequest", dr);
    else
        json_decref(dr);
}

/* An identifier {system, value}. */
static json_t *ident(struct mm_export__fx *x, const char *system, const char *value)
{
    json_t *o = json_object();

    mm_export__str(x, o, "system", system);
    mm_export__str(x, o, "value", value);
    return o;
}

static void request(struct mm_export__fx *x, const struct mm_ssmix2_order *o, int inj, size_t k,
                    size_t line)
{
    const struct mm_ssmix2_rp *rp = &o->rps[k];
    const struct mm_ssmix2_drug *d = &rp->drugs[line];
    char url[MM_FHIR_REF_MAX], key[160], num[24];
    const char *enc, *dn;
    json_t *res, *di;

    snprintf(key, sizeof(key), "%s|%zu|%s", rp->rp, line, d->code);
    res = mm_export__resource(x, "MedicationRequest",
                              inj ? MM_FHIR_JP "JP_MedicationRequest_Injection"
                                  : MM_FHIR_JP "JP_MedicationRequest",
                              &o->from, key, url);
    if (!res)
        return;
    mm_export__raw(x, res, d->raw, d->nraw);
    if (line == 0) {
        mm_export__raw(x, res, rp->raw, rp->nraw); /* the Rp's and order's on its first line */
        if (k == 0)
            mm_export__raw(x, res, o->raw, o->nraw);
    }
    mm_export__push(x, mm_export__arr(x, res, "identifier"),
                    ident(x, "urn:oid:1.2.392.100495.20.3.81", rp->rp[0] ? rp->rp : "1"));
    snprintf(num, sizeof(num), "%zu", line + 1);
    mm_export__push(x, mm_export__arr(x, res, "identifier"),
                    ident(x, "urn:oid:1.2.392.100495.20.3.82", num));
    mm_export__str(x, res, "status", "active"); /* JP Core: fixed to active */
    mm_export__str(x, res, "intent", "order");
    mm_export__push(x, mm_export__arr(x, res, "category"),
                    mm_export__cc(x, MM_FHIR_TERM "medicationrequest-category",
                                  o->inpatient ? "inpatient" : "outpatient", NULL, NULL));
    if (d->class_code[0] || rp->class_code[0])
        mm_export__push(x, mm_export__arr(x, res, "category"),
                        mm_export__cc(x, MM_FHIR_LOCAL "CodeSystem/ssmix2-local/JHSP0003",
                                      d->class_code[0] ? d->class_code : rp->class_code,
                                      d->class_code[0] ? d->class_name : rp->class_name, NULL));
    mm_export__set(x, res, "medicationCodeableConcept", medication(x, d));
    mm_export__set(x, res, "subject", mm_export__ref(x, x->patient, NULL));
    if ((enc = mm_export__encounter(x, o->date[0] ? o->date : o->from.care_date, o->dept)))
        mm_export__set(x, res, "encounter", mm_export__ref(x, enc, NULL));
    if (!mm_export__date(x, res, "authoredOn", o->date)) { /* required by JP Core */
        mm_export__date(x, res, "authoredOn", o->from.file_time);
        mm_export__note(x, res, "オーダ日 (ORC-9) がないためファイル時刻 / order date as written: ",
                        o->date[0] ? o->date : "-");
    }
    if (o->doctor[0] || o->doctor_id[0])
        mm_export__set(x, res, "requester",
                       mm_export__ref(x, NULL, o->doctor[0] ? o->doctor : o->doctor_id));
    dn = o->dept_name[0] ? o->dept_name : mm_ssmix2_record_code_name(x->r, 0, o->dept);
    mm_export__note(x, res, "診療科: ", dn[0] ? dn : o->dept);
    line_notes(x, res, rp, d);
    mm_export__set(x, res, "groupIdentifier",
                   ident(x, MM_FHIR_LOCAL "NamingSystem/order-no", o->order_no));
    di = mm_export__arr(x, res, "dosageInstruction");
    if (d->ntimings) /* 不均等: one per timing, taken together */
        for (size_t i = 0; i < d->ntimings; i++)
            mm_export__push(x, di,
                            dosage(x, rp, d->per_timing[i].dose, d->unit,
                                   d->per_timing[i].label[0] ? d->per_timing[i].label : "-",
                                   NULL)); /* the daily dose stays a note: not per timing */
    else
        mm_export__push(x, di, dosage(x, rp, d->dose, d->unit, NULL, inj ? NULL : d));
    dispense(x, res, rp, d);
    mm_export__remember(x, 1, o->order_no, d->code, o->from.type, url);
}

void mm_export__med_requests(struct mm_export__fx *x)
{
    for (int kind = 0; kind < 2; kind++) {
        const struct mm_ssmix2_order *o;
        size_t n = mm_ssmix2_record_orders(x->r, kind, &o);
        for (size_t i = 0; i < n && !x->err; i++) {
            if (!mm_export__current(&o[i].from) || o[i].cancel)
                continue;
            for (size_t k = 0; k < o[i].nrps; k++)
                for (size_t l = 0; l < o[i].rps[k].ndrugs; l++)
                    request(x, &o[i], kind, k, l);
        }
    }
}

/* ---- MedicationAdministration ---- */

/* The MedicationRequest of order @order_no for drug @code, or NULL. */
static const char *request_of(const struct mm_export__fx *x, const char *order_no, const char *code)
{
    for (size_t i = 0; i < x->nreqs; i++)
        if (strcmp(x->reqs[i].a, order_no) == 0 && strcmp(x->reqs[i].b, code) == 0)
            return x->reqs[i].url;
    return NULL;
}

static void admin(struct mm_export__fx *x, const struct mm_ssmix2_admin *a)
{
    char url[MM_FHIR_REF_MAX], key[160];
    const char *req, *s = a->status, *ln;
    json_t *res, *dos, *q;

    snprintf(key, sizeof(key), "%s|%s|%s", a->order_no, a->given_at, a->drug.code);
    res = mm_export__resource(x, "MedicationAdministration",
                              a->injection ? MM_FHIR_JP "JP_MedicationAdministration_Injection"
                                           : MM_FHIR_JP "JP_MedicationAdministration",
                              &a->from, key, url);
    if (!res)
        return;
    mm_export__raw(x, res, a->drug.raw, a->drug.nraw);
    mm_export__str(x, res, "status",
                   strcmp(s, "CP") == 0   ? "completed"
                   : strcmp(s, "RE") == 0 ? "not-done"
                   : strcmp(s, "NA") == 0 ? "not-done"
                   : strcmp(s, "PA") == 0 ? "in-progress"
                                          : "unknown");
    mm_export__set(x, res, "medicationCodeableConcept", medication(x, &a->drug));
    mm_export__set(x, res, "subject", mm_export__ref(x, x->patient, NULL));
    if (a->ended_at[0]) {
        json_t *p = json_object();
        mm_export__date(x, p, "start", a->given_at);
        mm_export__date(x, p, "end", a->ended_at);
        mm_export__set(x, res, "effectivePeriod", p);
    } else if (!mm_export__date(x, res, "effectiveDateTime", a->given_at)) {
        /* required: the message file's time stands in, and the note says so */
        mm_export__date(x, res, "effectiveDateTime", a->from.file_time);
        mm_export__note(
                x, res,
                "実施日時は記録のまま (ファイル時刻で代用) / given at, as written: ", a->given_at);
    }
    if (a->given_by[0] || a->given_by_id[0]) {
        json_t *p = json_object();
        mm_export__set(x, p, "actor",
                       mm_export__ref(x, NULL, a->given_by[0] ? a->given_by : a->given_by_id));
        mm_export__push(x, mm_export__arr(x, res, "performer"), p);
    }
    if ((req = request_of(x, a->order_no, a->drug.code)))
        mm_export__set(x, res, "request", mm_export__ref(x, req, NULL));
    ln = a->location_name[0] ? a->location_name : mm_ssmix2_record_code_name(x->r, 1, a->location);
    mm_export__note(x, res, "実施場所: ", ln[0] ? ln : a->location);
    mm_export__note(x, res, "部位: ", a->site);
    dos = json_object();
    if (a->route[0] || a->route_name[0])
        mm_export__set(
                x, dos, "route",
                mm_export__cc(x, MM_FHIR_TERM "v2-0162", a->route, a->route_name, a->route_name));
    if ((q = mm_export__qty(x, a->drug.dose, a->drug.unit)))
        mm_export__set(x, dos, "dose", q);
    if (json_object_size(dos))
        mm_export__set(x, res, "dosage", dos);
    else
        json_decref(dos);
}

void mm_export__med_admins(struct mm_export__fx *x)
{
    const struct mm_ssmix2_admin *a;
    size_t n = mm_ssmix2_record_admins(x->r, &a);

    for (size_t i = 0; i < n && !x->err; i++)
        if (mm_export__current(&a[i].from))
            admin(x, &a[i]);
}
