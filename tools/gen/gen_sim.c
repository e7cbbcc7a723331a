/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The clinical simulation of one patient for mamori-gen. Day by day it decides
 * outpatient visits, admissions (planned admission, admission, transfers,
 * leave, attending changes, discharge plan, discharge), orders and their
 * results, diagnoses and allergies, and renders every message as SS-MIX2 HL7
 * v2.5 in UTF-8 (gen.c encodes ISO-2022-JP; the segments are gen_render.c's, the orders
 * gen_orders.c's and gen_clinical.c's). Each decision draws from the
 * patient's own PRNG stream, in day order, so the result does not depend on
 * how many days are generated or on the thread that runs it.
 */
#include "tools/gen/gen_sim.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"

const char *const gen_type_names[T_NTYPES] = {
    "ADT-00", "ADT-01", "ADT-12", "ADT-21", "ADT-22", "ADT-31", "ADT-32", "ADT-41", "ADT-42",
    "ADT-51", "ADT-52", "ADT-61", "PPR-01", "OMD",    "OMP-01", "OMP-02", "OMP-11", "OMP-12",
    "OML-01", "OML-11", "OMG-01", "OMG-02", "OMG-03", "OMG-11", "OMG-12", "OMG-13",
};

#define NINES "999999999999999"

/* ---- patient-level messages --------------------------------------------------------------- */

static const char *const abo_names[] = { "A", "B", "O", "AB" };

/* A patient's emergency contact (the second NK1 of ADT-00). */
struct contact {
    const struct name_entry *giv;
    const char *rel_code, *rel, *postal, *address, *phone;
};

static struct contact emergency_contact(struct pool *pl, const struct patient *p, int64_t day)
{
    static const char *const rels[][2] = {
        { "SPO", "配偶者" }, { "CHD", "子" }, { "PAR", "親" }, { "SIB", "兄弟姉妹" }
    };
    uint64_t h = (uint64_t)p->idx * 2654435761u + 97;
    int child = gen_age_at(p, day) < 20;
    int k = child ? 2 : (int)(h % 4); /* a child's contact is a parent, living with it */
    int home = k == 0 || child;
    int male = (k == 0) ? p->sex != 'M' : (int)((h >> 8) & 1);
    const struct place *pc = &gen_places[home ? p->place : (int)((h >> 12) % gen_nplaces)];
    struct contact c;

    c.giv = male ? &gen_given_m[(h >> 16) % gen_ngiven_m] : &gen_given_f[(h >> 16) % gen_ngiven_f];
    c.rel_code = rels[k][0];
    c.rel = rels[k][1];
    c.postal = pc->postal;
    c.address = home ? gen_address_text(pl, p)
                     : gen_pf(pl, "%s%s%s%u－%u－%u", pc->pref, pc->city, pc->town,
                              (unsigned)(h >> 20) % 9 + 1, (unsigned)(h >> 24) % 20 + 1,
                              (unsigned)(h >> 28) % 30 + 1);
    h = (h ^ (h >> 31)) * 0x9E3779B97F4A7C15ull; /* mixed, for the digits */
    c.phone = gen_pf(pl, "0%u0-%04u-%04u", k == 1 ? 8u : 9u, (unsigned)(h >> 20) % 10000,
                     (unsigned)(h >> 40) % 10000);
    return c;
}

/* ADT-00 (ADT^A08): demographics, next of kin, height/weight/blood type, allergies, insurance. */
static void msg_adt00(struct rc *r, struct patient *p, int64_t ts, int inpatient)
{
    struct seg s = { 0 };
    struct pool *pl = &r->pl;
    const struct place *pc = &gen_places[p->place];
    struct contact ec = { 0 };
    char bd[12];

    if (p->no_adt00) {
        p->msg_seq++; /* the hospital never sends it; later messages keep their times */
        return;
    }
    gen_rc_begin(r, p, T_ADT00, ts);
    gen_seg_msh(r, "ADT^A08^ADT_A01", p->msg_seq);
    gen_seg_evn(r, -1);
    gen_seg_pid(r, 1);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 2, gen_xpn(pl, p));
    gen_sset(&s, 3, "SEL^本人^HL70063");
    gen_sset(&s, 4, gen_pf(pl, "^^^^%s^JPN^H^%s", pc->postal, gen_address_text(pl, p)));
    gen_sset(&s, 5, gen_pf(pl, "^PRN^PH^^^^^^^^^%s", p->phone));
    gen_sset(&s, 13, gen_pf(pl, "%s^D", gen_employers[p->employer]));
    gen_emit(r, "NK1", &s);
    if (p->idx % 5 != 4) {
        /* an emergency contact: spouse, child, parent or sibling, by patient (no draw from the
         * patient's random stream, so that the rest of the storage stays as it was) */
        ec = emergency_contact(pl, p, ts / MS_PER_DAY);
        gen_sset(&s, 1, "2");
        gen_sset(&s, 2,
                 gen_pf(pl, "%s^%s^^^^^L^I~%s^%s^^^^^L^P", p->fam->kanji, ec.giv->kanji,
                        p->fam->kana, ec.giv->kana));
        gen_sset(&s, 3, gen_pf(pl, "%s^%s^HL70063", ec.rel_code, ec.rel));
        gen_sset(&s, 4, gen_pf(pl, "^^^^%s^JPN^H^%s", ec.postal, ec.address));
        gen_sset(&s, 5, gen_pf(pl, "^PRN^CP^^^^^^^^^%s", ec.phone));
        gen_sset(&s, 7, "C^緊急連絡先^HL70131");
        gen_emit(r, "NK1", &s);
    }
    gen_seg_pv1(r, inpatient,
                inpatient ? gen_pf(pl, "%s^^^^^N^^^%s", gen_wards[0].code, gen_wards[0].name)
                          : gen_clinic_loc(pl, p->dept),
                p->dept, p->doctor);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 2, "NM");
    gen_sset(&s, 3, "9N001000000000001^身長^JC10");
    gen_sset(&s, 5, gen_pf(pl, "%.1f", p->height));
    gen_sset(&s, 6, "cm^cm^ISO+");
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    gen_sset(&s, 1, "2");
    gen_sset(&s, 2, "NM");
    gen_sset(&s, 3, "9N006000000000001^体重^JC10");
    gen_sset(&s, 5, gen_pf(pl, "%.1f", p->weight));
    gen_sset(&s, 6, "kg^kg^ISO+");
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    gen_sset(&s, 1, "3");
    gen_sset(&s, 2, "CWE");
    gen_sset(&s, 3, "5H010000009199911^血液型-ABO式^JC10");
    gen_sset(&s, 5, gen_pf(pl, "%s^%s^JSHR002", p->abo, p->abo));
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    gen_sset(&s, 1, "4");
    gen_sset(&s, 2, "CWE");
    gen_sset(&s, 3, "5H020000009199911^血液型-Rh式^JC10");
    gen_sset(&s, 5, p->rh == '+' ? "+^Rh+^JSHR002" : "-^Rh-^JSHR002");
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    for (int i = 0; i < p->nallergy; i++) {
        const struct allergen *a = &gen_allergens[p->allergy[i]];
        gen_sset(&s, 1, gen_pf(pl, "%d", i + 1));
        gen_sset(&s, 2, gen_pf(pl, "%s^%s^HL70127", a->type, a->type_name));
        gen_sset(&s, 3, gen_pf(pl, "%s^%s^%s", a->code, a->name, a->system));
        gen_emit(r, "AL1", &s);
        if (r->nal < 8)
            r->al[r->nal++] = (struct msg_allergen){ (int8_t)p->allergy[i], -1, 0 };
    }
    gen_sset(&s, 1, "1");
    gen_sset(&s, 2,
             p->idx % 3 ? "01^全国健康保険協会管掌健康保険^JHSD0001" : "67^国民健康保険^JHSD0001");
    gen_sset(&s, 3, gen_pf(pl, "%08u", 1130012 + p->idx % 97));
    gen_sset(&s, 12, gen_pf(pl, "%04d0401", 2020 + (int)(p->idx % 5)));
    gen_sset(&s, 17, "SEL^本人^HL70063");
    gen_emit(r, "IN1", &s);

    fmt_date_iso(bd, p->birth);
    gen_tputs(r, "{");
    gen_tkv(r, 1, "id", p->pid);
    gen_tkv(r, 0, "name", gen_pf(pl, "%s %s", p->fam->kanji, p->giv->kanji));
    gen_tkv(r, 0, "kana", gen_pf(pl, "%s %s", p->fam->kana, p->giv->kana));
    gen_tkv(r, 0, "birth_date", bd);
    gen_tkv(r, 0, "sex", p->sex == 'M' ? "M" : "F");
    gen_tkv(r, 0, "postal_code", pc->postal);
    gen_tkv(r, 0, "address", gen_address_text(pl, p));
    gen_tkv(r, 0, "phone", p->phone);
    gen_tkv(r, 0, "blood_type", gen_pf(pl, "%s%c", p->abo, p->rh));
    gen_tprintf(r, ",\"height_cm\":%.1f,\"weight_kg\":%.1f", p->height, p->weight);
    gen_tputs(r, ",\"phones\":[");
    gen_tputs(r, "{\"use\":\"PRN\",\"equipment\":\"PH\"");
    gen_tkv(r, 0, "number", p->phone);
    gen_tputs(r, "},{\"use\":\"ORN\",\"equipment\":\"CP\"");
    gen_tkv(r, 0, "number", p->mobile);
    gen_tputs(r, "}");
    if (p->work[0]) {
        gen_tputs(r, ",{\"use\":\"WPN\",\"equipment\":\"PH\"");
        gen_tkv(r, 0, "number", p->work);
        gen_tputs(r, "}");
    }
    gen_tputs(r, "],\"contacts\":[");
    if (ec.giv) {
        gen_tputs(r, "{");
        gen_tkv(r, 1, "name", gen_pf(pl, "%s %s", p->fam->kanji, ec.giv->kanji));
        gen_tkv(r, 0, "kana", gen_pf(pl, "%s %s", p->fam->kana, ec.giv->kana));
        gen_tkv(r, 0, "relationship_code", ec.rel_code);
        gen_tkv(r, 0, "relationship", ec.rel);
        gen_tkv(r, 0, "postal_code", ec.postal);
        gen_tkv(r, 0, "address", ec.address);
        gen_tputs(r, ",\"phones\":[{\"use\":\"PRN\",\"equipment\":\"CP\"");
        gen_tkv(r, 0, "number", ec.phone);
        gen_tputs(r, "}]}");
    }
    gen_tputs(r, "],\"insurance\":[{");
    gen_tkv(r, 1, "plan_code", p->idx % 3 ? "01" : "67");
    gen_tkv(r, 0, "plan_name", p->idx % 3 ? "全国健康保険協会管掌健康保険" : "国民健康保険");
    gen_tkv(r, 0, "insurer_no", gen_pf(pl, "%08u", 1130012 + p->idx % 97));
    gen_tkv(r, 0, "valid_from", gen_pf(pl, "%04d-04-01", 2020 + (int)(p->idx % 5)));
    gen_tkv(r, 0, "relation_code", "SEL");
    gen_tkv(r, 0, "relation", "本人");
    gen_tputs(r, "}]}");
    gen_add_msg(p, r, "-", NINES, -1, 0, TK_DEMO);
}

/* ADT-61 (ADT^A60): allergies as IAM segments. */
static void msg_adt61(struct rc *r, struct patient *p, int64_t ts)
{
    static const char *const sev[] = { "MI^軽度^HL70128", "MO^中等度^HL70128", "SV^重度^HL70128" };
    struct seg s = { 0 };
    struct pool *pl = &r->pl;

    gen_rc_begin(r, p, T_ADT61, ts);
    gen_seg_msh(r, "ADT^A60^ADT_A60", p->msg_seq);
    gen_seg_evn(r, -1);
    gen_seg_pid(r, 0);
    gen_tputs(r, "[");
    for (int i = 0; i < p->nallergy; i++) {
        const struct allergen *a = &gen_allergens[p->allergy[i]];
        int sv = (p->allergy[i] * 7 + (int)p->idx) % 3;
        gen_sset(&s, 1, gen_pf(pl, "%d", i + 1));
        gen_sset(&s, 2, gen_pf(pl, "%s^%s^HL70127", a->type, a->type_name));
        gen_sset(&s, 3, gen_pf(pl, "%s^%s^%s", a->code, a->name, a->system));
        gen_sset(&s, 4, sev[sv]);
        gen_sset(&s, 5, a->reaction);
        gen_sset(&s, 6, "A^追加^HL70323");
        gen_sset(&s, 11, gen_pf(pl, "%04d", 1990 + (int)((p->idx + (unsigned)i) % 30)));
        gen_emit(r, "IAM", &s);
        if (r->nal < 8)
            r->al[r->nal++] = (struct msg_allergen){ (int8_t)p->allergy[i], (int8_t)sv, 1 };
        gen_tputs(r, i ? ",{" : "{");
        gen_tkv(r, 1, "type", a->type);
        gen_tkv(r, 0, "code", a->code);
        gen_tkv(r, 0, "name", a->name);
        gen_tkv(r, 0, "severity", gen_pf(pl, "%.2s", sev[sv]));
        gen_tkv(r, 0, "reaction", a->reaction);
        gen_tputs(r, "}");
    }
    gen_tputs(r, "]");
    gen_add_msg(p, r, "-", NINES, -1, 0, TK_ALLERGY);
}

/* PPR-01 (PPR^ZD1): every diagnosis of the patient, active and ended, in one file. */
static void msg_ppr01(struct rc *r, struct patient *p, int64_t ts)
{
    struct seg s = { 0 };
    struct pool *pl = &r->pl;
    int na = 0, nr = 0;
    mm_buf act, res;

    gen_rc_begin(r, p, T_PPR01, ts);
    gen_seg_msh(r, "PPR^ZD1^PPR_ZD1", p->msg_seq);
    gen_seg_pid(r, 0);
    gen_seg_pv1(r, p->admitted, p->admitted ? "3E^^^^^N" : gen_clinic_loc(pl, p->dept), p->dept,
                p->doctor);
    mm_buf_init(&act, MM_LIMIT_JSON);
    mm_buf_init(&res, MM_LIMIT_JSON);
    for (int i = 0; i < p->ndx; i++) {
        const struct dx *d = &p->dx[i];
        const struct condition *c = &gen_conditions[d->cond];
        int ended = d->end >= 0 && d->end * MS_PER_DAY <= ts;
        char sd[12], ed[12];
        mm_buf *tb = ended ? &res : &act;

        if (d->start * MS_PER_DAY > ts)
            continue;
        gen_sset(&s, 1, "AD");
        gen_sset(&s, 2, gen_ymd(pl, ts));
        gen_sset(&s, 3, gen_pf(pl, "%s^%s^MDCDX2", c->medis, c->name));
        gen_sset(&s, 4, d->inst);
        gen_sset(&s, 7, gen_ymd(pl, d->start * MS_PER_DAY));
        if (ended)
            gen_sset(&s, 9, gen_ymd(pl, d->end * MS_PER_DAY));
        gen_sset(&s, 10,
                 gen_pf(pl, "%s^^I10^%s", c->icd10,
                        p->admitted ? "H^入院時^JHSD0004" : "O^外来時^JHSD0004"));
        if (d->suspected)
            gen_sset(&s, 13, "1^疑い^JHSD0005");
        if (ended)
            gen_sset(&s, 14, d->outcome == 'F' ? "F^治癒^HL70241" : "R^軽快^HL70241");
        gen_sset(&s, 15, gen_ymd(pl, ended ? d->end * MS_PER_DAY : d->start * MS_PER_DAY));
        gen_sset(&s, 16, gen_ymd(pl, d->start * MS_PER_DAY));
        gen_sset(&s, 17, gen_pf(pl, "%s%s", c->name, d->suspected ? "の疑い" : ""));
        if (d->main)
            gen_sset(&s, 18, "1^主診断^JHSD0007");
        gen_emit(r, "PRB", &s);
        gen_sset(&s, 2, gen_pf(pl, "%s^%s^MDCDX2", c->medis, c->name));
        gen_sset(&s, 5, gen_pf(pl, "%s^%s^MDCDX2", c->exch, c->name));
        gen_emit(r, "ZPR", &s);

        fmt_date_iso(sd, d->start);
        mm_buf_puts(tb, (ended ? nr++ : na++) ? ",{" : "{");
        mm_buf_puts(tb, "\"name\":");
        mm_json_str(tb, c->name);
        mm_buf_printf(tb, ",\"icd10\":\"%s\",\"medis\":\"%s\",\"start_date\":\"%s\"", c->icd10,
                      c->medis, sd);
        if (ended) {
            fmt_date_iso(ed, d->end);
            mm_buf_printf(tb, ",\"end_date\":\"%s\",\"outcome\":\"%c\"", ed, d->outcome);
        }
        mm_buf_printf(tb, ",\"main\":%s,\"suspected\":%s}", d->main ? "true" : "false",
                      d->suspected ? "true" : "false");
    }
    gen_seg_orc(r, "NW", NINES, NULL, ts, p->dept, p->doctor, p->admitted, NULL);
    gen_tprintf(r, "{\"active\":[%s],\"resolved\":[%s]}", act.ptr ? act.ptr : "",
                res.ptr ? res.ptr : "");
    if (act.len + res.len > 0 && (!act.ptr && !res.ptr))
        p->oom = 1;
    mm_buf_release(&act);
    mm_buf_release(&res);
    gen_add_msg(p, r, "-", NINES, p->dept, 0, TK_DIAG);
}

static void add_dx(struct patient *p, int cond, int64_t start, int64_t end, int suspected, int main,
                   char outcome)
{
    struct dx *d;

    if (p->ndx == (int)(sizeof(p->dx) / sizeof(p->dx[0]))) {
        /* drop the oldest ended diagnosis to make room; chronic ones never end */
        int k = 0;
        while (k < p->ndx && p->dx[k].end < 0)
            k++;
        if (k == p->ndx)
            return;
        memmove(&p->dx[k], &p->dx[k + 1], (size_t)(p->ndx - k - 1) * sizeof(p->dx[0]));
        p->ndx--;
    }
    d = &p->dx[p->ndx++];
    d->cond = cond;
    d->start = start;
    d->end = end;
    d->suspected = suspected;
    d->main = main;
    d->outcome = outcome;
    snprintf(d->inst, sizeof(d->inst), "%05u%010u", p->idx % 100000,
             (unsigned)(p->ndx * 7919 + (int)start));
}

/* ---- ADT events --------------------------------------------------------------------------- */

struct adtx {
    int inpatient;
    const char *loc, *prior;
    int dept, doc;
    int64_t pv1_44, pv1_45, pv2_8, pv2_9, pv2_47, evn6; /* ms, or -1 */
    const char *disp;
};

static void adtx_init(struct adtx *x, int inpatient, const char *loc, int dept, int doc)
{
    memset(x, 0, sizeof(*x));
    x->inpatient = inpatient;
    x->loc = loc;
    x->dept = dept;
    x->doc = doc;
    x->pv1_44 = x->pv1_45 = x->pv2_8 = x->pv2_9 = x->pv2_47 = x->evn6 = -1;
}

/* An ADT message; @truth is the encounter JSON (NULL for none), @date the care-date folder. */
static void msg_adt(struct rc *r, struct patient *p, int type, const char *msgtype, int64_t ts,
                    const char *date, const struct adtx *x, int cancel, const char *truth)
{
    struct seg s = { 0 };
    struct pool *pl = &r->pl;

    /* no gen_rc_begin() here: @truth lives in the caller's pool, which must survive */
    mm_buf_clear(&r->b);
    mm_buf_clear(&r->t);
    r->type = type;
    r->ts = ts;
    r->nal = 0;
    if (truth && !cancel)
        gen_tputs(r, truth);
    gen_seg_msh(r, msgtype, p->msg_seq);
    gen_seg_evn(r, x->evn6);
    gen_seg_pid(r, 0);
    gen_sset(&s, 1, "0001");
    gen_sset(&s, 2, x->inpatient ? "I" : "O");
    gen_sset(&s, 3, x->loc);
    if (x->prior)
        gen_sset(&s, 6, x->prior);
    gen_sset(&s, 7, gen_xcn(pl, x->doc));
    /* this sender writes the department as code^name (others, below, the code alone) */
    gen_sset(&s, 10, gen_pf(pl, "%s^%s^99Z01", gen_depts[x->dept].code, gen_depts[x->dept].name));
    if (x->inpatient)
        gen_sset(&s, 17, gen_xcn(pl, x->doc));
    if (x->disp)
        gen_sset(&s, 36, x->disp);
    if (x->pv1_44 >= 0)
        gen_sset(&s, 44, gen_ts12(pl, x->pv1_44));
    if (x->pv1_45 >= 0)
        gen_sset(&s, 45, gen_ts12(pl, x->pv1_45));
    gen_emit(r, "PV1", &s);
    if (x->pv2_8 >= 0 || x->pv2_9 >= 0 || x->pv2_47 >= 0) {
        if (x->pv2_8 >= 0)
            gen_sset(&s, 8, gen_ts12(pl, x->pv2_8));
        if (x->pv2_9 >= 0)
            gen_sset(&s, 9, gen_ts12(pl, x->pv2_9));
        if (x->pv2_47 >= 0)
            gen_sset(&s, 47, gen_ts12(pl, x->pv2_47));
        gen_emit(r, "PV2", &s);
    }
    gen_add_msg(p, r, date, NINES, x->dept, cancel, truth && !cancel ? TK_ENC : TK_NONE);
}

/* Start an encounter truth object with kind, date (ISO) and department. */
static const char *enc_json(struct pool *pl, const char *kind, int64_t ms, int dept,
                            const char *extra)
{
    char d[24];

    fmt_ts(d, ms, 12);
    return gen_pf(
            pl,
            "{\"kind\":\"%s\",\"date\":\"%.4s-%.2s-%.2s\",\"time\":\"%.2s:%.2s\",\"dept\":\"%s\",\"dept_name\":\"%s\"%s}",
            kind, d, d + 4, d + 6, d + 8, d + 10, gen_depts[dept].code, gen_depts[dept].name,
            extra ? extra : "");
}

/* ---- encounters --------------------------------------------------------------------------- */

/* Drugs for the patient's chronic conditions (deduplicated), plus those of @acute. */
static int collect_drugs(const struct patient *p, int acute, int *out)
{
    int n = 0;

    for (int i = -1; i < p->nchronic; i++) {
        int c = i < 0 ? acute : p->chronic[i];
        if (c < 0)
            continue;
        for (int k = 0; k < 3; k++) {
            int d = gen_conditions[c].drugs[k], dup = 0;
            if (d < 0)
                continue;
            for (int j = 0; j < n; j++)
                dup |= out[j] == d;
            if (!dup && n < 8)
                out[n++] = d;
        }
    }
    return n;
}

static void visit(struct rc *r, struct patient *p, int64_t day, int acute, int extended)
{
    int64_t t = day * MS_PER_DAY + (9 * 60 + (int64_t)rng_below(&p->rng, 420)) * MS_PER_MIN;
    int dept = acute >= 0 ? gen_conditions[acute].dept : p->dept;
    char *loc;
    struct adtx x;
    char date[12];
    int drugs[8], nd;
    int days = acute >= 0 ? 5 : p->interval;

    fmt_date(date, day);
    gen_rc_begin(r, p, T_ADT12, t);
    loc = mm_strdup(gen_clinic_loc(&r->pl, dept));
    if (!loc) {
        p->oom = 1;
        return;
    }
    adtx_init(&x, 0, loc, dept, p->doctor);
    x.pv1_44 = t;
    msg_adt(r, p, T_ADT12, "ADT^A04^ADT_A01", t, date, &x, 0,
            enc_json(&r->pl, "outpatient", t, dept, NULL));
    if (acute >= 0) {
        add_dx(p, acute, day, day + 14, rng_chance(&p->rng, 0.2), 0, 'F');
        msg_ppr01(r, p, t + 25 * MS_PER_MIN);
    }
    if ((acute < 0 && rng_chance(&p->rng, 0.75)) || (acute >= 0 && rng_chance(&p->rng, 0.4)))
        gen_lab_order(r, p, t + 5 * MS_PER_MIN,
                      PANEL_CBC | PANEL_CHEM | (gen_has_chronic(p, 4) ? PANEL_COAG : 0), 0, loc,
                      dept, NULL);
    if (rng_chance(&p->rng, acute >= 0 ? 0.3 : 0.08))
        gen_radiology(r, p, t + 10 * MS_PER_MIN, extended, 0, loc, dept);
    if (rng_chance(&p->rng, gen_has_chronic(p, 4) || gen_has_chronic(p, 5) ? 0.3 : 0.04))
        gen_ecg(r, p, t + 12 * MS_PER_MIN, loc, dept);
    if (rng_chance(&p->rng,
                   gen_conditions[acute >= 0 ? acute : p->chronic[0]].dept == 1 ? 0.06 : 0.01))
        gen_endoscopy(r, p, t + 14 * MS_PER_MIN, extended, loc, dept);
    if (acute >= 0) {
        /* an acute visit prescribes for the acute illness only; chronic drugs run on */
        nd = 0;
        for (int k = 0; k < 3; k++)
            if (gen_conditions[acute].drugs[k] >= 0)
                drugs[nd++] = gen_conditions[acute].drugs[k];
    } else {
        nd = collect_drugs(p, -1, drugs);
    }
    gen_rx_order(r, p, t + 40 * MS_PER_MIN, drugs, nd, days, 0, loc, dept);
    if (extended && rng_chance(&p->rng, 0.3))
        gen_progress_note(r, p, t + 45 * MS_PER_MIN, dept,
                          acute >= 0 ? gen_conditions[acute].name
                                     : gen_conditions[p->chronic[0]].name);
    mm_free(loc);
}

struct adm {
    int64_t admit, discharge, transfer, leave, ret, plan_dis, attend;
    int cond, ward, room, bed, dept;
    int drugs[8], nd;
    char rx_order[16], diet_order[16];
    char loc[80], prior[80];
    struct labctx lc;
};

static void set_loc(struct adm *a)
{
    /* PL: ward^room^bed^^^N^^^ward name (PL-9, the location description) */
    snprintf(a->loc, sizeof(a->loc), "%s^%d^%d^^^N^^^%s", gen_wards[a->ward].code, a->room, a->bed,
             gen_wards[a->ward].name);
}

static const char *loc_json(struct pool *pl, const struct adm *a, const char *prefix)
{
    return gen_pf(pl,
                  ",\"%sward\":\"%s\",\"%sward_name\":\"%s\",\"%sroom\":\"%d\",\"%sbed\":\"%d\"",
                  prefix, gen_wards[a->ward].code, prefix, gen_wards[a->ward].name, prefix, a->room,
                  prefix, a->bed);
}

static void admit(struct rc *r, struct patient *p, struct adm *a, int64_t day, int extended)
{
    static const int acute_adm[] = { 17, 18, 19, 20, 21, 22 };
    int64_t t = day * MS_PER_DAY + (10 * 60 + (int64_t)rng_below(&p->rng, 300)) * MS_PER_MIN;
    int los = rng_range(&p->rng, 4, 21);
    struct adtx x;
    char date[12];

    memset(a, 0, sizeof(*a));
    a->cond = acute_adm[rng_below(&p->rng, 6)];
    a->dept = gen_conditions[a->cond].dept;
    a->admit = day;
    a->discharge = day + los;
    a->ward = (int)rng_below(&p->rng, (uint32_t)gen_nwards);
    a->room = 300 + rng_range(&p->rng, 1, 20) + 100 * (a->ward / 2);
    a->bed = rng_range(&p->rng, 1, 4);
    a->transfer = a->leave = a->ret = a->attend = -1;
    a->lc.acute_cond = a->cond;
    a->lc.acute_start = day;
    set_loc(a);
    p->admitted = 1;
    fmt_date(date, day);

    if (rng_chance(&p->rng, 0.02)) {
        /* entered by mistake into the wrong bed, cancelled (A11), then entered again */
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.pv1_44 = t;
        gen_rc_begin(r, p, T_ADT22, t);
        msg_adt(r, p, T_ADT22, "ADT^A01^ADT_A01", t, date, &x, 0,
                enc_json(&r->pl, "admission", t, a->dept, loc_json(&r->pl, a, "")));
        gen_rc_begin(r, p, T_ADT22, t + 10 * MS_PER_MIN);
        msg_adt(r, p, T_ADT22, "ADT^A11^ADT_A09", t + 10 * MS_PER_MIN, date, &x, 1, NULL);
        a->bed = a->bed % 4 + 1;
        set_loc(a);
        t += 15 * MS_PER_MIN;
    }
    adtx_init(&x, 1, a->loc, a->dept, p->doctor);
    x.pv1_44 = t;
    gen_rc_begin(r, p, T_ADT22, t);
    msg_adt(r, p, T_ADT22, "ADT^A01^ADT_A01", t, date, &x, 0,
            enc_json(&r->pl, "admission", t, a->dept, loc_json(&r->pl, a, "")));
    add_dx(p, a->cond, day, a->discharge, 0, 1, rng_chance(&p->rng, 0.7) ? 'F' : 'R');
    msg_ppr01(r, p, t + 10 * MS_PER_MIN);
    if (rng_chance(&p->rng, 0.3)) {
        p->weight += rng_range(&p->rng, -30, 10) / 10.0;
        msg_adt00(r, p, t + 20 * MS_PER_MIN, 1);
    }
    gen_next_order(p, a->diet_order, 15);
    gen_diet(r, p, t + 30 * MS_PER_MIN, a->diet_order,
             gen_has_chronic(p, 0) ? 3 : (int)rng_below(&p->rng, 3), a->loc, a->dept);
    a->nd = collect_drugs(p, -1, a->drugs);
    gen_rx_order(r, p, t + 40 * MS_PER_MIN, a->drugs, a->nd, los < 7 ? los : 7, 1, a->loc, a->dept);
    snprintf(a->rx_order, sizeof(a->rx_order), "%015llu",
             (unsigned long long)(p->idx + 1) * 100000ULL + p->order_seq % 100000);
    gen_lab_order(r, p, t + 50 * MS_PER_MIN, PANEL_CBC | PANEL_CHEM | PANEL_COAG, 1, a->loc,
                  a->dept, &a->lc);
    if (rng_chance(&p->rng, 0.5))
        gen_radiology(r, p, t + 70 * MS_PER_MIN, extended, 1, a->loc, a->dept);
    if (los > 4 && rng_chance(&p->rng, 0.25))
        a->transfer = day + rng_range(&p->rng, 2, los - 2);
    if (los > 8 && rng_chance(&p->rng, 0.25)) {
        a->leave = day + rng_range(&p->rng, 3, los - 4);
        a->ret = a->leave + 1;
    }
    if (rng_chance(&p->rng, 0.25))
        a->attend = day + rng_range(&p->rng, 1, los - 1);
    a->plan_dis = a->discharge - 2 > day ? a->discharge - 2 : day;
    if (extended)
        gen_progress_note(r, p, t + 90 * MS_PER_MIN, a->dept, gen_conditions[a->cond].name);
}

/* One day in hospital; returns 1 when the patient went home today. */
static int inpatient_day(struct rc *r, struct patient *p, struct adm *a, int64_t day, int extended)
{
    int64_t t0 = day * MS_PER_DAY;
    struct adtx x;
    char date[12];
    int ninj = 0, inj[2];

    fmt_date(date, day);
    for (int k = 0; k < 2; k++)
        if (gen_conditions[a->cond].inj[k] >= 0 && day < a->discharge)
            inj[ninj++] = gen_conditions[a->cond].inj[k];
    gen_rx_given(r, p, t0 + 8 * 3600 * 1000, a->drugs, a->nd, a->rx_order, a->loc, a->dept);
    gen_inj_day(r, p, t0 + 9 * 3600 * 1000 + rng_below(&p->rng, 30) * MS_PER_MIN, inj, ninj, a->loc,
                a->dept);
    if ((day - a->admit) % 3 == 0 && day < a->discharge)
        gen_lab_order(r, p, t0 + 6 * 3600 * 1000 + rng_below(&p->rng, 60) * MS_PER_MIN,
                      PANEL_CBC | PANEL_CHEM, 1, a->loc, a->dept, &a->lc);
    if ((day - a->admit) % 7 == 0 && day < a->discharge) {
        gen_rx_order(r, p, t0 + 11 * 3600 * 1000, a->drugs, a->nd, 7, 1, a->loc, a->dept);
        snprintf(a->rx_order, sizeof(a->rx_order), "%015llu",
                 (unsigned long long)(p->idx + 1) * 100000ULL + p->order_seq % 100000);
    }
    if (day == a->admit + 2 && rng_chance(&p->rng, 0.3)) /* diet changed: same order, new version */
        gen_diet(r, p, t0 + 14 * 3600 * 1000, a->diet_order,
                 (int)rng_below(&p->rng, (uint32_t)gen_ndiets), a->loc, a->dept);
    if (extended && rng_chance(&p->rng, 0.5))
        gen_progress_note(r, p, t0 + 16 * 3600 * 1000, a->dept, gen_conditions[a->cond].name);
    if (day == a->transfer - 1) {
        int64_t t = t0 + 15 * 3600 * 1000;
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.pv2_8 = (day + 1) * MS_PER_DAY + 10 * 3600 * 1000;
        fmt_date(date, day + 1);
        gen_rc_begin(r, p, T_ADT41, t);
        msg_adt(r, p, T_ADT41, "ADT^A15^ADT_A15", t, date, &x, 0,
                enc_json(&r->pl, "planned_transfer", x.pv2_8, a->dept, NULL));
        fmt_date(date, day);
    }
    if (day == a->transfer) {
        int64_t t = t0 + 10 * 3600 * 1000 + rng_below(&p->rng, 60) * MS_PER_MIN;
        scpy(a->prior, sizeof(a->prior), a->loc);
        a->ward =
                (a->ward + 1 + (int)rng_below(&p->rng, (uint32_t)gen_nwards - 1)) % (int)gen_nwards;
        a->room = 300 + rng_range(&p->rng, 1, 20) + 100 * (a->ward / 2);
        set_loc(a);
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.prior = a->prior;
        x.evn6 = t;
        gen_rc_begin(r, p, T_ADT42, t);
        msg_adt(r, p, T_ADT42, "ADT^A02^ADT_A02", t, date, &x, 0,
                enc_json(&r->pl, "transfer", t, a->dept, loc_json(&r->pl, a, "")));
    }
    if (day == a->leave) {
        int64_t t = t0 + 13 * 3600 * 1000;
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.evn6 = t;
        x.pv2_47 = t + 24 * 3600 * 1000;
        gen_rc_begin(r, p, T_ADT31, t);
        msg_adt(r, p, T_ADT31, "ADT^A21^ADT_A21", t, date, &x, 0,
                enc_json(&r->pl, "leave", t, a->dept, NULL));
    }
    if (day == a->ret) {
        int64_t t = t0 + 12 * 3600 * 1000;
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.evn6 = t;
        gen_rc_begin(r, p, T_ADT32, t);
        msg_adt(r, p, T_ADT32, "ADT^A22^ADT_A21", t, date, &x, 0,
                enc_json(&r->pl, "return", t, a->dept, NULL));
    }
    if (day == a->attend) {
        int64_t t = t0 + 9 * 3600 * 1000;
        int cancel = rng_chance(&p->rng, 0.1);
        p->doctor = (p->doctor + 1) % (int)gen_ndoctors;
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.evn6 = t;
        gen_rc_begin(r, p, T_ADT01, t);
        msg_adt(r, p, T_ADT01, "ADT^A54^ADT_A54", t, "-", &x, 0,
                enc_json(&r->pl, "attending_change", t, a->dept,
                         gen_pf(&r->pl, ",\"doctor\":\"%s %s\"", gen_doctors[p->doctor].family,
                                gen_doctors[p->doctor].given)));
        if (cancel) {
            gen_rc_begin(r, p, T_ADT01, t + 20 * MS_PER_MIN);
            msg_adt(r, p, T_ADT01, "ADT^A55^ADT_A52", t + 20 * MS_PER_MIN, "-", &x, 1, NULL);
            p->doctor = (p->doctor + (int)gen_ndoctors - 1) % (int)gen_ndoctors;
        }
    }
    if (day == a->plan_dis) {
        int64_t t = t0 + 16 * 3600 * 1000;
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.pv2_9 = a->discharge * MS_PER_DAY + 10 * 3600 * 1000;
        fmt_date(date, a->discharge);
        gen_rc_begin(r, p, T_ADT51, t);
        msg_adt(r, p, T_ADT51, "ADT^A16^ADT_A16", t, date, &x, 0,
                enc_json(&r->pl, "planned_discharge", x.pv2_9, a->dept, NULL));
        fmt_date(date, day);
    }
    if (day == a->discharge) {
        int64_t t = t0 + (10 * 60 + (int64_t)rng_below(&p->rng, 120)) * MS_PER_MIN;
        char ad[12];
        fmt_date_iso(ad, a->admit);
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.pv1_45 = t;
        x.evn6 = t;
        x.disp = "01";
        gen_rc_begin(r, p, T_ADT52, t);
        msg_adt(r, p, T_ADT52, "ADT^A03^ADT_A03", t, date, &x, 0,
                enc_json(&r->pl, "discharge", t, a->dept,
                         gen_pf(&r->pl, ",\"admit_date\":\"%s\",\"disposition\":\"01\"%s", ad,
                                loc_json(&r->pl, a, ""))));
        p->admitted = 0;
        msg_ppr01(r, p, t + 30 * MS_PER_MIN);
        if (extended)
            gen_pdf_doc(r, p, t + 26 * 3600 * 1000, a->dept, 0, gen_conditions[a->cond].name,
                        a->admit, a->discharge);
        return 1;
    }
    return 0;
}

/* ---- the patient -------------------------------------------------------------------------- */

static void fullwidth_digits(char *out, size_t cap, unsigned v)
{
    char d[16];
    size_t o = 0;

    snprintf(d, sizeof(d), "%u", v);
    for (char *c = d; *c && o + 4 < cap; c++) {
        out[o++] = (char)0xEF;
        out[o++] = (char)0xBC;
        out[o++] = (char)(0x90 + (*c - '0'));
    }
    out[o] = '\0';
}

static void init_patient(struct patient *p, unsigned idx, uint64_t seed, int64_t start)
{
    struct rng *g = &p->rng;
    int age, nchronic;
    char a[16], b[16], c[16];
    uint64_t pidnum = 1000000000ULL + ((uint64_t)idx * 104729ULL) % 900000000ULL;

    memset(p, 0, sizeof(*p));
    p->idx = idx;
    rng_seed(g, seed, idx);
    snprintf(p->pid, sizeof(p->pid), "%010llu", (unsigned long long)pidnum);
    p->sex = rng_chance(g, 0.5) ? 'M' : 'F';
    p->fam = &gen_family[rng_below(g, (uint32_t)gen_nfamily)];
    p->giv = p->sex == 'M' ? &gen_given_m[rng_below(g, (uint32_t)gen_ngiven_m)]
                           : &gen_given_f[rng_below(g, (uint32_t)gen_ngiven_f)];
    age = rng_chance(g, 0.1) ? rng_range(g, 0, 15) : 20 + (int)(75 * sqrt(rng_unit(g)));
    p->birth = start - age * 365 - rng_range(g, 0, 364);
    p->place = (int)rng_below(g, (uint32_t)gen_nplaces);
    fullwidth_digits(a, sizeof(a), (unsigned)rng_range(g, 1, 5));
    fullwidth_digits(b, sizeof(b), (unsigned)rng_range(g, 1, 30));
    fullwidth_digits(c, sizeof(c), (unsigned)rng_range(g, 1, 20));
    if (rng_chance(g, 0.5))
        snprintf(p->street, sizeof(p->street), "%s－%s－%s", a, b, c);
    else
        snprintf(p->street, sizeof(p->street), "%s丁目%s番%s号", a, b, c);
    snprintf(p->phone, sizeof(p->phone), "%s-%03d-%04d", gen_places[p->place].area_code,
             rng_range(g, 200, 999), rng_range(g, 0, 9999));
    snprintf(p->mobile, sizeof(p->mobile), "090-%04d-%04d", rng_range(g, 1000, 9999),
             rng_range(g, 0, 9999));
    if (rng_chance(g, 0.5))
        snprintf(p->work, sizeof(p->work), "03-%04d-%04d", rng_range(g, 1000, 9999),
                 rng_range(g, 0, 9999));
    p->employer = (int)rng_below(g, (uint32_t)gen_nemployers);
    p->height = age < 16 ? 100 + age * 4.0 : (p->sex == 'M' ? 168 : 155) + rng_normal(g) * 6;
    p->height = floor(p->height * 10) / 10;
    p->weight = age < 16 ? 15 + age * 3.0 : (p->sex == 'M' ? 66 : 53) + rng_normal(g) * 9;
    p->weight = floor(p->weight * 10) / 10;
    {
        double u = rng_unit(g);
        p->abo = abo_names[u < 0.4 ? 0 : u < 0.6 ? 1 : u < 0.9 ? 2 : 3];
    }
    p->rh = rng_chance(g, 0.005) ? '-' : '+';
    if (rng_chance(g, 0.3)) {
        int n = rng_range(g, 1, 3);
        for (int i = 0; i < n; i++) {
            int al = (int)rng_below(g, (uint32_t)gen_nallergens), dup = 0;
            for (int j = 0; j < p->nallergy; j++)
                dup |= p->allergy[j] == al;
            if (!dup)
                p->allergy[p->nallergy++] = al;
        }
    }
    nchronic = age > 60 ? rng_range(g, 1, 3) : age > 40 ? rng_range(g, 0, 2) : rng_range(g, 0, 1);
    for (int i = 0; i < nchronic; i++) {
        int cnd = (int)rng_below(g, 13), dup = 0;
        for (int j = 0; j < p->nchronic; j++)
            dup |= p->chronic[j] == cnd;
        if (!dup)
            p->chronic[p->nchronic++] = cnd;
    }
    for (size_t l = 0; l < gen_nlabs; l++)
        p->lab_base[l] = gen_labs[l].mean + gen_labs[l].sd * rng_normal(g) * 0.6;
    p->reg_day = rng_chance(g, 0.85) ? start : start + rng_range(g, 1, 364);
    p->dept = p->nchronic ? gen_conditions[p->chronic[0]].dept : 0;
    p->doctor = (int)rng_below(g, (uint32_t)gen_ndoctors);
    p->interval = rng_chance(g, 0.6) ? 28 : rng_chance(g, 0.7) ? 56 : 84;
    p->next_visit = p->nchronic ? p->reg_day + rng_range(g, 0, p->interval - 1) : -1;
    for (int i = 0; i < p->nchronic; i++)
        add_dx(p, p->chronic[i], p->reg_day - rng_range(g, 30, 3650), -1, 0, i == 0, 0);
    gen_orders_init(p, seed);
}

int gen_simulate(struct patient *p, unsigned idx, uint64_t seed, int64_t start, int64_t end,
                 int extended)
{
    struct rc r;
    struct adm a;
    int64_t planned = -1;
    int in_hosp = 0;

    init_patient(p, idx, seed, start);
    mm_buf_init(&r.b, MM_LIMIT_HL7_MESSAGE);
    mm_buf_init(&r.t, MM_LIMIT_JSON);
    for (int64_t day = p->reg_day; day < end && !p->oom; day++) {
        if (day == p->reg_day) {
            int64_t t = day * MS_PER_DAY + (8 * 60 + (int64_t)rng_below(&p->rng, 60)) * MS_PER_MIN;
            msg_adt00(&r, p, t, 0);
            if (p->nallergy)
                msg_adt61(&r, p, t + MS_PER_MIN);
            if (p->nchronic)
                msg_ppr01(&r, p, t + 2 * MS_PER_MIN);
            if (extended && day > start && rng_chance(&p->rng, 0.6))
                gen_pdf_doc(&r, p, t + 3 * MS_PER_MIN, p->dept, 1,
                            p->nchronic ? gen_conditions[p->chronic[0]].name : "精査依頼", day,
                            day);
        }
        /* outpatient diagnoses that end today: the doctor closes them */
        for (int i = 0; i < p->ndx; i++)
            if (p->dx[i].end == day && !p->dx[i].main && !in_hosp) {
                msg_ppr01(&r, p, day * MS_PER_DAY + 17 * 3600 * 1000);
                break;
            }
        if (in_hosp) {
            if (inpatient_day(&r, p, &a, day, extended))
                in_hosp = 0;
            continue;
        }
        if (day == planned || rng_chance(&p->rng, (gen_age_at(p, day) > 65 ? 0.0006 : 0.0002))) {
            planned = -1;
            admit(&r, p, &a, day, extended);
            in_hosp = 1;
            continue;
        }
        if (day == p->next_visit) {
            visit(&r, p, day, -1, extended);
            p->next_visit = day + p->interval + rng_range(&p->rng, -3, 3);
            if (planned < 0 && rng_chance(&p->rng, 0.03)) {
                /* an elective admission a week from now (ADT-21 sits in the planned day's folder)
                 */
                struct adtx x;
                char date[12];
                int64_t t = day * MS_PER_DAY + 16 * 3600 * 1000;
                planned = day + 7;
                fmt_date(date, planned);
                adtx_init(&x, 1, "3E^^^^^N", p->dept, p->doctor);
                x.pv2_8 = planned * MS_PER_DAY + 10 * 3600 * 1000;
                gen_rc_begin(&r, p, T_ADT21, t);
                msg_adt(&r, p, T_ADT21, "ADT^A14^ADT_A05", t, date, &x, 0,
                        enc_json(&r.pl, "planned_admission", x.pv2_8, p->dept, NULL));
                if (rng_chance(&p->rng, 0.1)) {
                    gen_rc_begin(&r, p, T_ADT21, t + 3600 * 1000);
                    msg_adt(&r, p, T_ADT21, "ADT^A27^ADT_A21", t + 3600 * 1000, date, &x, 1, NULL);
                    planned = -1;
                }
            }
        } else if (rng_chance(&p->rng, 0.004)) {
            visit(&r, p, day, 13 + (int)rng_below(&p->rng, 4), extended);
        } else if (rng_chance(&p->rng, 0.0003)) {
            /* the patient moved: demographics update, the old ADT-00 becomes _2 */
            p->place = (int)rng_below(&p->rng, (uint32_t)gen_nplaces);
            msg_adt00(&r, p, day * MS_PER_DAY + 11 * 3600 * 1000, 0);
        }
    }
    mm_buf_release(&r.b);
    mm_buf_release(&r.t);
    if (p->oom)
        return mm_error_set(MM_ENOMEM, "out of memory simulating a patient");
    /* drop what lies beyond the last day: it has not happened yet */
    size_t k = 0;
    for (size_t i = 0; i < p->nmsgs; i++) {
        if (p->msgs[i].ts < end * MS_PER_DAY) {
            p->msgs[k++] = p->msgs[i];
        } else {
            mm_free(p->msgs[i].hl7);
            mm_free(p->msgs[i].truth);
            mm_free(p->msgs[i].pid_truth);
        }
    }
    p->nmsgs = k;
    k = 0;
    for (size_t i = 0; i < p->nexts; i++) {
        if (p->exts[i].ts < end * MS_PER_DAY) {
            p->exts[k++] = p->exts[i];
        } else {
            mm_free(p->exts[i].title);
            mm_free(p->exts[i].text);
            mm_free(p->exts[i].truth);
        }
    }
    p->nexts = k;
    return 0;
}

void gen_patient_release(struct patient *p)
{
    for (size_t i = 0; i < p->nmsgs; i++) {
        mm_free(p->msgs[i].hl7);
        mm_free(p->msgs[i].truth);
        mm_free(p->msgs[i].pid_truth);
    }
    for (size_t i = 0; i < p->nexts; i++) {
        mm_free(p->exts[i].title);
        mm_free(p->exts[i].text);
        mm_free(p->exts[i].truth);
    }
    mm_free(p->msgs);
    mm_free(p->exts);
    p->msgs = NULL;
    p->exts = NULL;
    p->nmsgs = p->nexts = 0;
}
