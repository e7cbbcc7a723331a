/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori-gen's clinical orders besides prescriptions (gen_orders.c): laboratory orders and
 * their results, examinations (radiology, endoscopy, ECG) with their images, diet orders, and
 * the extended-storage documents (progress notes as CDA, PDF summaries and referrals), each
 * rendered as its messages and truth (gen_sim.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"
#include "tools/gen/gen_sim.h"

static const char *const EXT_DISCHARGE = "^退院時サマリー^^18842-5^退院時サマリー^LN";
static const char *const EXT_REFERRAL = "^診療情報提供書^^57133-1^紹介状^LN";
static const char *const EXT_NOTE = "^経過記録^^11506-3^経過記録^LN";
static const char *const EXT_XRAY = "IMG-XR^単純Ｘ線画像^99ZL01";
static const char *const EXT_ENDO = "IMG-ES^内視鏡画像^99ZL01";

/* ---- laboratory --------------------------------------------------------------------------- */

int gen_has_chronic(const struct patient *p, int cond)
{
    for (int i = 0; i < p->nchronic; i++)
        if (p->chronic[i] == cond)
            return 1;
    return 0;
}

static double lab_value(struct patient *p, int l, int64_t day, const struct labctx *lc)
{
    const struct lab *lb = &gen_labs[l];
    double v = p->lab_base[l];

    for (int i = 0; i < p->nchronic; i++) {
        const struct condition *c = &gen_conditions[p->chronic[i]];
        if (c->lab_effect == l)
            v += c->effect * lb->sd * (0.6 + 0.4 * exp(-(double)(day - p->reg_day) / 180.0));
    }
    if (lc && lc->acute_cond >= 0 && gen_conditions[lc->acute_cond].lab_effect == l)
        v += gen_conditions[lc->acute_cond].effect * lb->sd *
             exp(-(double)(day - lc->acute_start) / 3.0);
    v += rng_normal(&p->rng) * 0.35 * lb->sd;
    if (v < 0)
        v = lb->decimals ? pow(10, -lb->decimals) : 0;
    return v;
}

/* Which labs a panel holds for this patient. @return count written to @out */
static int panel_labs(const struct patient *p, int panels, int *out)
{
    static const int chem[] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 15 };
    int n = 0;

    if (panels & PANEL_CBC)
        for (int l = 0; l < 3; l++)
            out[n++] = l;
    if (panels & PANEL_CHEM) {
        for (size_t i = 0; i < sizeof(chem) / sizeof(chem[0]); i++)
            out[n++] = chem[i];
        for (int i = 0; i < p->nchronic; i++) {
            int e = gen_conditions[p->chronic[i]].lab_effect;
            if (e == 12 || e == 13 || e == 17) {
                out[n++] = e;
                if (e == 13)
                    out[n++] = 14;
            }
        }
    }
    if (panels & PANEL_COAG)
        out[n++] = 16;
    return n;
}

static const char *specimen_of(int l)
{
    return gen_labs[l].group == 0   ? "019^全血^JC10"
           : gen_labs[l].group == 2 ? "022^血漿^JC10"
                                    : "023^血清^JC10";
}

static const char *group_of(int l)
{
    return gen_labs[l].group == 0   ? "E001^血液学的検査^99O03"
           : gen_labs[l].group == 2 ? "E003^凝固検査^99O03"
                                    : "E002^生化学的検査^99O03";
}

/* A final (F) OBX of a finding: set ID, value type, item, sub-ID and unit when given, value. */
static void obx_final(struct rc *r, struct seg *s, const char *set, const char *type,
                      const char *code, const char *sub, const char *value, const char *unit)
{
    gen_sset(s, 1, set);
    gen_sset(s, 2, type);
    gen_sset(s, 3, code);
    if (sub)
        gen_sset(s, 4, sub);
    gen_sset(s, 5, value);
    if (unit)
        gen_sset(s, 6, unit);
    gen_sset(s, 11, "F");
    gen_emit(r, "OBX", s);
}

/* OML-01 order and (unless cancelled) OML-11 result. */
void gen_lab_order(struct rc *r, struct patient *p, int64_t t, int panels, int inpatient,
                   const char *loc, int dept, const struct labctx *lc)
{
    struct seg s = { 0 };
    struct pool *pl;
    int labs[32], n = panel_labs(p, panels, labs);
    char order[16], date[12], spec[24];
    int64_t collect = t + 15 * MS_PER_MIN;
    int64_t day = t / MS_PER_DAY;
    int cancelled = rng_chance(&p->rng, 0.02);

    gen_next_order(p, order, 15);
    fmt_ts(date, t, 8);
    gen_rc_begin(r, p, T_OML01, t);
    pl = &r->pl;
    gen_seg_msh(r, "OML^O33^OML_O33", p->msg_seq);
    gen_seg_pid(r, 0);
    gen_seg_pv1(r, inpatient, loc, dept, p->doctor);
    for (int g = 0; g < 3; g++) {
        int first = 1;
        for (int i = 0; i < n; i++) {
            if (gen_labs[labs[i]].group != g)
                continue;
            if (first) {
                gen_sset(&s, 1, gen_pf(pl, "%d", g + 1));
                gen_sset(&s, 4,
                         gen_pf(pl, "%s^01^%s^99Z01", specimen_of(labs[i]),
                                g == 0   ? "全血"
                                : g == 2 ? "血漿"
                                         : "血清"));
                gen_sset(&s, 17, gen_ts12(pl, collect));
                gen_emit(r, "SPM", &s);
                gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, inpatient, loc);
                gen_sset(&s, 1, "1");
                gen_sset(&s, 2, order);
                gen_sset(&s, 4, group_of(labs[i]));
                gen_sset(&s, 16, gen_xcn(pl, p->doctor));
                gen_emit(r, "OBR", &s);
                first = 0;
            }
            gen_sset(&s, 1, gen_pf(pl, "%d", i + 1));
            gen_sset(&s, 3,
                     gen_pf(pl, "%s^%s^JC10^%s^%s^99X03", gen_labs[labs[i]].jlac10,
                            gen_labs[labs[i]].name, gen_labs[labs[i]].local,
                            gen_labs[labs[i]].name));
            gen_sset(&s, 11, "O");
            gen_emit(r, "OBX", &s);
        }
    }
    gen_add_msg(p, r, date, order, dept, 0, TK_NONE);

    if (cancelled) {
        gen_rc_begin(r, p, T_OML01, t + 7 * MS_PER_MIN);
        gen_seg_msh(r, "OML^O33^OML_O33", p->msg_seq);
        gen_seg_pid(r, 0);
        gen_seg_pv1(r, inpatient, loc, dept, p->doctor);
        gen_seg_orc(r, "CA", order, NULL, t + 7 * MS_PER_MIN, dept, p->doctor, inpatient, loc);
        gen_add_msg(p, r, date, order, dept, 1, TK_NONE);
        return;
    }

    /* result, 1-3 hours after collection */
    int64_t rep = collect + (60 + rng_below(&p->rng, 120)) * MS_PER_MIN;
    snprintf(spec, sizeof(spec), "%015llu",
             (unsigned long long)(p->idx + 1) * 1000000ULL + p->order_seq);
    gen_rc_begin(r, p, T_OML11, rep);
    pl = &r->pl;
    gen_seg_msh(r, "OUL^R22^OUL_R22", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_pv1(r, inpatient, loc, dept, p->doctor);
    gen_tputs(r, "[");
    int nt = 0;
    for (int g = 0; g < 3; g++) {
        int first = 1, k = 0;
        for (int i = 0; i < n; i++) {
            const struct lab *lb = &gen_labs[labs[i]];
            double lo = p->sex == 'M' ? lb->lo_m : lb->lo_f,
                   hi = p->sex == 'M' ? lb->hi_m : lb->hi_f;
            double v;
            const char *flag, *val, *range;
            char cat[24];

            if (lb->group != g)
                continue;
            if (first) {
                gen_sset(&s, 1, gen_pf(pl, "%d", g + 1));
                gen_sset(&s, 2, spec);
                gen_sset(&s, 4, specimen_of(labs[i]));
                gen_sset(&s, 17, gen_ts12(pl, collect));
                gen_emit(r, "SPM", &s);
                gen_sset(&s, 1, "1");
                gen_sset(&s, 2, order);
                gen_sset(&s, 3, spec);
                gen_sset(&s, 4, group_of(labs[i]));
                gen_sset(&s, 7, gen_ts12(pl, collect));
                gen_sset(&s, 16, gen_xcn(pl, p->doctor));
                gen_sset(&s, 22, gen_ts14(pl, rep));
                gen_sset(&s, 25, "F");
                gen_emit(r, "OBR", &s);
                gen_sset(&s, 1, "SC");
                gen_sset(&s, 2, order);
                gen_sset(&s, 3, spec);
                gen_sset(&s, 5, "CM");
                gen_sset(&s, 9, gen_ts14(pl, rep));
                gen_sset(&s, 12, gen_xcn(pl, p->doctor));
                gen_sset(&s, 13, loc);
                gen_sset(&s, 17,
                         gen_pf(pl, "%s^%s^99XY1", gen_depts[dept].code, gen_depts[dept].name));
                gen_sset(&s, 29,
                         inpatient ? "I^入院患者オーダ^HL70482" : "O^外来患者オーダ^HL70482");
                gen_emit(r, "ORC", &s);
                first = 0;
            }
            v = lab_value(p, labs[i], day, lc);
            val = gen_pf(pl, "%.*f", lb->decimals, v);
            range = gen_pf(pl, "%.*f-%.*f", lb->decimals, lo, lb->decimals, hi);
            /* flag from the value as written, so a reader can recompute it */
            double vw = strtod(val, NULL);
            flag = vw > hi ? "H" : vw < lo ? "L" : "";
            gen_sset(&s, 1, gen_pf(pl, "%d", ++k));
            gen_sset(&s, 2, "NM");
            gen_sset(&s, 3,
                     gen_pf(pl, "%s^%s^JC10^%s^%s^99X03", lb->jlac10, lb->name, lb->local,
                            lb->name));
            gen_sset(&s, 5, val);
            if (lb->unit[0])
                gen_sset(&s, 6, gen_pf(pl, "%s^%s^99XYZ", lb->unit, lb->unit));
            gen_sset(&s, 7, range);
            gen_sset(&s, 8, flag);
            gen_sset(&s, 11, "F");
            gen_sset(&s, 14, gen_ts12(pl, collect));
            gen_emit(r, "OBX", &s);
            fmt_ts(cat, collect, 12);
            gen_tputs(r, nt++ ? ",{" : "{");
            gen_tkv(r, 1, "code", lb->jlac10);
            gen_tkv(r, 0, "name", lb->name);
            gen_tkv(r, 0, "value", val);
            gen_tkv(r, 0, "unit", lb->unit);
            gen_tkv(r, 0, "range", range);
            gen_tkv(r, 0, "flag", flag);
            gen_tkv(r, 0, "collected_at",
                    gen_pf(pl, "%.4s-%.2s-%.2sT%.2s:%.2s", cat, cat + 4, cat + 6, cat + 8,
                           cat + 10));
            gen_tkv(r, 0, "order_no", order);
            gen_tputs(r, "}");
        }
    }
    gen_tputs(r, "]");
    fmt_ts(date, collect, 8); /* the OML-11 care date is SPM-17 */
    gen_add_msg(p, r, date, order, dept, 0, TK_LAB);
}

/* ---- examinations ------------------------------------------------------------------------- */

static void seg_tq1_routine(struct rc *r)
{
    struct seg s = { 0 };

    gen_sset(&s, 1, "1");
    gen_sset(&s, 9, "R^ルーチン^HL70485");
    gen_emit(r, "TQ1", &s);
}

static void seg_obr_exam(struct rc *r, const char *order, const char *code, int64_t done, int doc,
                         const char *parent)
{
    struct seg s = { 0 };

    gen_sset(&s, 2, order);
    gen_sset(&s, 4, code);
    if (done >= 0)
        gen_sset(&s, 7, gen_ts14(&r->pl, done));
    gen_sset(&s, 16, gen_xcn(&r->pl, doc));
    if (done >= 0) {
        gen_sset(&s, 22, gen_ts14(&r->pl, done + 20 * MS_PER_MIN));
        gen_sset(&s, 25, "F");
    }
    if (parent)
        gen_sset(&s, 29, parent);
    gen_emit(r, "OBR", &s);
}

static void seg_ipc(struct rc *r, struct patient *p, const char *order, const char *mod)
{
    struct seg s = { 0 };

    gen_sset(&s, 1, gen_pf(&r->pl, "A%s", order));
    gen_sset(&s, 2, gen_pf(&r->pl, "P%s", order + 5));
    gen_sset(&s, 3, gen_pf(&r->pl, "1.2.392.200036.9116.2.5.1.%u.%s", p->idx + 1, order));
    gen_sset(&s, 5, gen_pf(&r->pl, "%s^^DCM", mod));
    gen_emit(r, "IPC", &s);
}

static const char *const xr_exams[][2] = {
    { "10000002000102000000010000000000", "胸部.Ｘ線単純撮影.立位正面(P→A)" },
    { "10000002500102000000010000000000", "腹部.Ｘ線単純撮影.立位正面(A→P)" },
    { "10000004300102000000010000000000", "腰椎.Ｘ線単純撮影.正面" },
};

static void add_images(struct patient *p, int64_t t, int kind, const char *order, int dept, int n,
                       const char *exam)
{
    struct ext *e = gen_add_ext(p, t, kind, kind == E_XRAY ? EXT_XRAY : EXT_ENDO, order, dept);
    char d[12];

    if (!e)
        return;
    e->nimages = n;
    fmt_date_iso(d, t / MS_PER_DAY);
    e->title = mm_strdup(exam);
    e->truth = mm_malloc(256);
    if (!e->title || !e->truth) {
        p->oom = 1;
        return;
    }
    snprintf(e->truth, 256, "{\"kind\":\"%s\",\"date\":\"%s\",\"order_no\":\"%s\",\"count\":%d}",
             kind == E_XRAY ? "xray" : "endoscopy", d, order, n);
}

void gen_radiology(struct rc *r, struct patient *p, int64_t t, int extended, int inpatient,
                   const char *loc, int dept)
{
    char order[16], date[12];
    int ex = (int)rng_below(&p->rng, 3);
    const char *code;

    gen_next_order(p, order, 13);
    fmt_ts(date, t, 8);
    gen_rc_begin(r, p, T_OMG01, t);
    code = gen_pf(&r->pl, "%s^%s^JJ1017", xr_exams[ex][0], xr_exams[ex][1]);
    gen_seg_msh(r, "OMG^O19^OMG_O19", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_pv1(r, inpatient, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, inpatient, loc);
    seg_tq1_routine(r);
    seg_obr_exam(r, order, code, -1, p->doctor, NULL);
    gen_add_msg(p, r, date, order, -1, 0, TK_NONE);

    int64_t done = t + rng_range(&p->rng, 20, 90) * MS_PER_MIN;
    gen_rc_begin(r, p, T_OMG11, done + 10 * MS_PER_MIN);
    code = gen_pf(&r->pl, "%s^%s^JJ1017", xr_exams[ex][0], xr_exams[ex][1]);
    gen_seg_msh(r, "OMI^Z23^OMI_Z23", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_pv1(r, inpatient, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, inpatient, loc);
    seg_tq1_routine(r);
    seg_obr_exam(r, order, code, done, p->doctor, NULL);
    seg_ipc(r, p, order, "CR");
    gen_add_msg(p, r, date, order, 12, 0, TK_NONE);
    if (extended && rng_chance(&p->rng, 0.6))
        add_images(p, done + 15 * MS_PER_MIN, E_XRAY, order, 12, 1, xr_exams[ex][1]);
}

void gen_endoscopy(struct rc *r, struct patient *p, int64_t t, int extended, const char *loc,
                   int dept)
{
    struct seg s = { 0 };
    struct pool *pl;
    char order[16], date[12];
    const char *code = "11000000100^検査.上部.-.-.上部通常内視鏡.-^LENDO";

    gen_next_order(p, order, 15);
    fmt_ts(date, t, 8);
    gen_rc_begin(r, p, T_OMG02, t);
    pl = &r->pl;
    gen_seg_msh(r, "OMG^O19^OMG_O19", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_pv1(r, 0, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, 0, loc);
    seg_tq1_routine(r);
    seg_obr_exam(r, order, code, -1, p->doctor, NULL);
    obx_final(r, &s, "1", "TX", "MS3-24^外来所見^JSHR", NULL,
              gen_hesc(pl, "心窩部痛が２週間持続。\n食後に増悪する。"), NULL);
    obx_final(r, &s, "2", "TX", "MS3-34^臨床病名^JSHR", NULL, "胃潰瘍の疑い", NULL);
    gen_add_msg(p, r, date, order, dept, 0, TK_NONE);

    int64_t done = t + rng_range(&p->rng, 90, 180) * MS_PER_MIN;
    gen_rc_begin(r, p, T_OMG12, done + 30 * MS_PER_MIN);
    pl = &r->pl;
    gen_seg_msh(r, "OMI^Z23^OMI_Z23", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_pv1(r, 0, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, 0, loc);
    seg_tq1_routine(r);
    seg_obr_exam(r, order, code, done, p->doctor, NULL);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 2, "RS");
    gen_sset(&s, 3, code);
    gen_emit(r, "ZE1", &s);
    obx_final(r, &s, "1", "XCN", "DR-02.EM-01^正従業員の実施医師^JSHR", NULL,
              gen_xcn(pl, p->doctor + 2), NULL);
    obx_final(r, &s, "2", "TS", "TM-P1^開始時間^JSHR", NULL, gen_ts14(pl, done), NULL);
    seg_ipc(r, p, order, "ES");
    gen_add_msg(p, r, date, order, dept, 0, TK_NONE);
    if (extended)
        add_images(p, done + 40 * MS_PER_MIN, E_ENDO, order, dept, rng_range(&p->rng, 2, 4),
                   "上部消化管内視鏡検査");
}

void gen_ecg(struct rc *r, struct patient *p, int64_t t, const char *loc, int dept)
{
    struct seg s = { 0 };
    struct pool *pl;
    char order[16], date[12];
    const char *code = "9A110^標準１２誘導心電図^JC10";
    int af = gen_has_chronic(p, 4);
    int hr = af ? rng_range(&p->rng, 85, 120) : rng_range(&p->rng, 58, 88);

    gen_next_order(p, order, 15);
    fmt_ts(date, t, 8);
    gen_rc_begin(r, p, T_OMG03, t);
    gen_seg_msh(r, "OMG^O19^OMG_O19", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_pv1(r, 0, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, 0, loc);
    seg_tq1_routine(r);
    seg_obr_exam(r, order, code, -1, p->doctor, NULL);
    gen_add_msg(p, r, date, order, dept, 0, TK_NONE);

    int64_t done = t + rng_range(&p->rng, 15, 60) * MS_PER_MIN;
    gen_rc_begin(r, p, T_OMG13, done + 5 * MS_PER_MIN);
    pl = &r->pl;
    gen_seg_msh(r, "ORU^R01^ORU_R01", p->msg_seq);
    gen_seg_pid(r, 0);
    gen_seg_pv1(r, 0, loc, dept, p->doctor);
    gen_sset(&s, 1, "1");
    seg_obr_exam(r, order, code, done, p->doctor, NULL);
    obx_final(r, &s, "1", "TX", "9A100&IMP^心電図所見^JC10", "1",
              af        ? "心房細動"
              : hr > 80 ? "洞調律、軽度頻脈"
                        : "洞調律、正常範囲",
              NULL);
    obx_final(r, &s, "2", "NM", "32769^心拍数^99MFR", "2", gen_pf(pl, "%d", hr), "bpm");
    obx_final(r, &s, "3", "NM", "56008^QT 時間^99MFR", "2",
              gen_pf(pl, "%d", rng_range(&p->rng, 360, 440)), "msec");
    gen_add_msg(p, r, date, order, dept, 0, TK_NONE);
}

void gen_diet(struct rc *r, struct patient *p, int64_t t, const char *order, int kind,
              const char *loc, int dept)
{
    struct seg s = { 0 };
    char date[12];

    fmt_ts(date, t, 8);
    gen_rc_begin(r, p, T_OMD, t);
    gen_seg_msh(r, "OMD^O03^OMD_O03", p->msg_seq);
    gen_seg_pid(r, 0);
    gen_seg_pv1(r, 1, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, 1, loc);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 3, "TID&１日３回&HL70335");
    gen_sset(&s, 7, gen_ts12(&r->pl, t + 3 * 3600 * 1000));
    gen_sset(&s, 9, "R^ルーチン^HL70485");
    gen_emit(r, "TQ1", &s);
    gen_sset(&s, 1, "D");
    gen_sset(&s, 3, gen_pf(&r->pl, "%s^%s^99XY3", gen_diets[kind][0], gen_diets[kind][1]));
    gen_sset(&s, 4, kind >= 3 ? "水分制限なし" : "");
    gen_emit(r, "ODS", &s);
    gen_add_msg(p, r, date, order, dept, 0, TK_NONE);
}

/* ---- extended-storage documents ----------------------------------------------------------- */

static const char *xml_esc(struct pool *pl, const char *s)
{
    char tmp[1024];
    size_t o = 0;

    for (; *s && o + 8 < sizeof(tmp); s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        if (e) {
            memcpy(tmp + o, e, strlen(e));
            o += strlen(e);
        } else {
            tmp[o++] = *s;
        }
    }
    tmp[o] = '\0';
    return gen_pf(pl, "%s", tmp);
}

static void doc_truth(struct patient *p, struct ext *e, const char *kind, const char *format)
{
    char d[12];

    fmt_date_iso(d, e->ts / MS_PER_DAY);
    e->truth = mm_malloc(512);
    if (!e->truth) {
        p->oom = 1;
        return;
    }
    snprintf(e->truth, 512,
             "{\"kind\":\"%s\",\"date\":\"%s\",\"title\":\"%s\",\"format\":\"%s\",\"dept\":\"%s\"}",
             kind, d, e->title ? e->title : "", format, e->dept);
}

/* A progress note as a CDA R2 document (UTF-8 XML) with SOAP sections. */
void gen_progress_note(struct rc *r, struct patient *p, int64_t t, int dept, const char *assess)
{
    static const char *const subj[] = { "特に変わりなし。", "夜間よく眠れている。",
                                        "食欲は普通。",     "倦怠感が少しある。",
                                        "咳が続いている。", "痛みは軽減した。" };
    struct pool *pl = &r->pl;
    char key[16], ts[24];
    struct ext *e;
    mm_buf x;

    gen_next_order(p, key, 15);
    e = gen_add_ext(p, t, E_CDA, EXT_NOTE, key, dept);
    if (!e)
        return;
    r->pl.used = 0;
    fmt_ts(ts, t, 14);
    mm_buf_init(&x, 1u << 20);
    mm_buf_printf(
            &x,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">\n"
            "  <typeId root=\"2.16.840.1.113883.1.3\" extension=\"POCD_HD000040\"/>\n"
            "  <id root=\"1.2.392.200036.9116.2.5.1\" extension=\"%s\"/>\n"
            "  <code code=\"11506-3\" codeSystem=\"2.16.840.1.113883.6.1\" displayName=\"経過記録\"/>\n"
            "  <title>経過記録</title>\n"
            "  <effectiveTime value=\"%s\"/>\n"
            "  <recordTarget><patientRole><id root=\"1.2.392.100495.20.3.51.11234567890\" extension=\"%s\"/>\n"
            "    <patient><name>%s %s</name><administrativeGenderCode code=\"%c\"/><birthTime value=\"%s\"/></patient>\n"
            "  </patientRole></recordTarget>\n"
            "  <author><time value=\"%s\"/><assignedAuthor><id extension=\"%s\"/><assignedPerson><name>%s %s</name></assignedPerson></assignedAuthor></author>\n"
            "  <component><structuredBody>\n"
            "    <component><section><title>S</title><text>%s</text></section></component>\n"
            "    <component><section><title>O</title><text>体温 %.1f℃、血圧 %d/%d mmHg、脈拍 %d/分、SpO2 %d%%</text></section></component>\n"
            "    <component><section><title>A</title><text>%s</text></section></component>\n"
            "    <component><section><title>P</title><text>現在の治療を継続。</text></section></component>\n"
            "  </structuredBody></component>\n"
            "</ClinicalDocument>\n",
            key, ts, p->pid, p->fam->kanji, p->giv->kanji, p->sex,
            gen_ymd(pl, p->birth * MS_PER_DAY), ts, gen_doctors[p->doctor].id,
            gen_doctors[p->doctor].family, gen_doctors[p->doctor].given,
            subj[rng_below(&p->rng, 6)], 36.0 + rng_below(&p->rng, 16) / 10.0,
            rng_range(&p->rng, 105, 160), rng_range(&p->rng, 60, 95), rng_range(&p->rng, 58, 96),
            rng_range(&p->rng, 94, 99), xml_esc(pl, assess));
    e->text = mm_buf_detach(&x);
    e->title = mm_strdup("経過記録");
    if (!e->text || !e->title) {
        p->oom = 1;
        return;
    }
    doc_truth(p, e, "progress_note", "cda");
}

/* A one-page PDF: discharge summary or referral letter. */
void gen_pdf_doc(struct rc *r, struct patient *p, int64_t t, int dept, int referral,
                 const char *dxname, int64_t admit, int64_t discharge)
{
    struct pool *pl = &r->pl;
    char key[16], a[12], d[12], bd[12];
    struct ext *e;

    gen_next_order(p, key, 15);
    e = gen_add_ext(p, t, E_PDF, referral ? EXT_REFERRAL : EXT_DISCHARGE, key, dept);
    if (!e)
        return;
    r->pl.used = 0;
    fmt_date_iso(bd, p->birth);
    fmt_date_iso(a, admit);
    fmt_date_iso(d, discharge);
    e->title = mm_strdup(referral ? "診療情報提供書" : "退院時サマリー");
    if (referral)
        e->text = mm_strdup(gen_pf(
                pl,
                "患者：%s %s（%s）様\n生年月日：%s\n紹介元：日本橋内科クリニック　京橋 本一 先生\n"
                "傷病名：%s\n紹介目的：精査加療のお願い\n"
                "経過：近医にて加療中でしたが、症状の改善が乏しく貴院へご紹介申し上げます。\n"
                "現在の処方：別紙のとおり",
                p->fam->kanji, p->giv->kanji, p->fam->kana, bd, dxname));
    else
        e->text = mm_strdup(
                gen_pf(pl,
                       "患者：%s %s（%s）様\n生年月日：%s\n入院日：%s\n退院日：%s\n主病名：%s\n"
                       "入院経過：入院後、点滴加療を行い症状は改善した。\n"
                       "退院時処方：入院前と同じ\n退院後の方針：外来にて経過観察。",
                       p->fam->kanji, p->giv->kanji, p->fam->kana, bd, a, d, dxname));
    if (!e->title || !e->text) {
        p->oom = 1;
        return;
    }
    doc_truth(p, e, referral ? "referral" : "discharge_summary", "pdf");
}
