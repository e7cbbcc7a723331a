/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prescription and injection orders of mamori-gen (OMP-01, OMP-02 and their administrations
 * OMP-11, OMP-12), written the way JAHIS 処方/注射データ交換規約 Ver.3.0C writes them, with the
 * constructs of issue 15 in a few percent of orders each: unequal doses per timing (RXE-3
 * smallest, RXE-4 largest, RXE-7 V codes, RXE-19 daily total), day patterns (TQ1-3 repetition
 * 2: W weekdays, I interval), tapers (2-3 Rps of one drug with consecutive TQ1-7 starts and
 * TQ1-6 days), PRN with a maximum (RXE-27 22, TQ1-9/10/11/14), dispense amount (RXE-10/11),
 * site (RXR-2), instruction text (RXE-7), crushing (RXE-21), AL1 inside order messages.
 * Every choice draws from the patient's order stream (p->orng), never from p->rng, so the rest
 * of the storage is what it was without them. Each Rp's truth lists every dosing date
 * ("dose_days") and the exclusive end ("until"), computed here from the plan.
 */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "tools/gen/gen_sim.h"

/* ---- patient traits ----------------------------------------------------------------------- */

void gen_orders_init(struct patient *p, uint64_t seed)
{
    struct rng *g = &p->orng;

    rng_seed(g, seed ^ 0x15A15A15A15A15A1ULL, p->idx);
    p->no_adt00 = rng_chance(g, 0.05);
    p->al_orders = rng_chance(g, 0.12);
    p->al_extra = -1;
    if (p->al_orders && rng_chance(g, 0.6)) {
        int al = (int)rng_below(g, (uint32_t)gen_nallergens), dup = 0;
        for (int j = 0; j < p->nallergy; j++)
            dup |= p->allergy[j] == al;
        if (!dup)
            p->al_extra = al;
    }
}

void gen_seg_al1_orders(struct rc *r)
{
    struct patient *p = r->p;
    struct seg s = { 0 };
    int n = 0;

    if (!p->al_orders)
        return;
    for (int i = 0; i <= p->nallergy; i++) {
        int k = i < p->nallergy ? p->allergy[i] : p->al_extra;
        const struct allergen *a;
        if (k < 0)
            continue;
        a = &gen_allergens[k];
        gen_sset(&s, 1, gen_pf(&r->pl, "%d", ++n));
        gen_sset(&s, 2, gen_pf(&r->pl, "%s^%s^HL70127", a->type, a->type_name));
        gen_sset(&s, 3, gen_pf(&r->pl, "%s^%s^%s", a->code, a->name, a->system));
        gen_sset(&s, 5, a->reaction);
        gen_emit(r, "AL1", &s);
        if (r->nal < 8)
            r->al[r->nal++] = (struct msg_allergen){ (int8_t)k, -1, 1 };
    }
}

/* ---- the plan of one order ---------------------------------------------------------------- */

enum extra { X_NONE, X_UNEQUAL, X_WEEKDAYS, X_INTERVAL, X_TAPER, X_PRN, X_EXTERNAL };

/* A drug of the special constructs (not in the plain catalog, so its code is its own). */
struct xdrug {
    const char *code, *name, *unit, *unit_name;
};

static const struct xdrug X_PRED = { "110523601", "プレドニン錠５ｍｇ", "TAB", "錠" };
static const struct xdrug X_LASIX = { "115566902", "ラシックス錠２０ｍｇ", "TAB", "錠" };
static const struct xdrug X_WEEKLY[] = {
    { "129900302", "フォリアミン錠５ｍｇ", "TAB", "錠" },
    { "111122302", "ボナロン錠３５ｍｇ", "TAB", "錠" },
};
static const struct {
    const char *code, *text;
    int mask; /* bit d = weekday d, Sunday 0 */
    int days; /* dosing days */
    const char *usage_code, *usage;
} WEEKLY[] = {
    { "W0100100", "月曜日、木曜日", (1 << 1) | (1 << 4), 8, "1011000400000000",
      "内服・経口・１日１回朝食後" },
    { "W0000100", "木曜日", 1 << 4, 4, "1011000100000000", "内服・経口・１日１回朝食前" },
};
static const struct {
    struct xdrug d;
    const char *dose, *condition, *usage_code, *usage, *max, *total, *dispense;
} PRN[] = {
    { { "122233602", "ロキソニン錠６０ｍｇ", "TAB", "錠" },
      "1",
      "疼痛時",
      "1050110020000000",
      "内服・経口・疼痛時",
      "1日2回まで",
      "10",
      "10" },
    { { "121122502", "カロナール錠２００", "TAB", "錠" },
      "2",
      "発熱時",
      "1050120020000000",
      "内服・経口・発熱時",
      "1日3回まで",
      "5",
      "10" },
    { { "121700101", "ブロチゾラム錠０．２５ｍｇ", "TAB", "錠" },
      "1",
      "不眠時",
      "1050130020000000",
      "内服・経口・不眠時",
      "1日1回まで",
      "10",
      "10" },
};
static const struct {
    struct xdrug d;
    const char *usage_code, *usage, *route, *route_name;
    const char *sites[3]; /* RXR-2 as written */
    int per_day;
} EXTERNAL[] = {
    { { "121900101", "モーラステープＬ４０ｍｇ", "MAI", "枚" },
      "2B71000000000000",
      "外用・貼付・１日１回",
      "TD",
      "経皮",
      { "^腰部^99ZS1", "RK^右膝^99ZS1", "LS^左肩^99ZS1" },
      1 },
    { { "121900201", "ゲンタシン軟膏０．１％", "G", "g" },
      "2B72000000000000",
      "外用・塗布・１日２回",
      "TP",
      "局所",
      { "LH^左手^HL70163", "RH^右手^HL70163", "^顔面^99ZS1" },
      2 },
};
/* unequal doses per timing (morning first), by usage */
static const struct {
    int dose[3], n;
    const char *usage_code, *usage;
} UNEQUAL[] = {
    { { 4, 2, 1 }, 3, "1013044400000000", "内服・経口・１日３回朝昼夕食後" },
    { { 3, 2, 1 }, 3, "1013044400000000", "内服・経口・１日３回朝昼夕食後" },
    { { 2, 1, 0 }, 2, "1012040400000000", "内服・経口・１日２回朝夕食後" },
};
static const struct {
    int dose[3], days[3], n;
} TAPER[] = {
    { { 6, 4, 2 }, { 3, 3, 4 }, 3 },
    { { 4, 2, 0 }, { 7, 7, 0 }, 2 },
    { { 3, 2, 1 }, { 2, 3, 5 }, 3 },
};

struct plan {
    int extra;   /* enum extra */
    int variant; /* index into the construct's table */
    int site;    /* external: which site */
    int instr;   /* an RXE-7 instruction on antihypertensive lines */
    int crush;   /* RXE-21 粉砕 on tablet lines */
};

static void plan_order(struct patient *p, struct plan *pl)
{
    struct rng *g = &p->orng;
    double u = rng_unit(g);

    memset(pl, 0, sizeof(*pl));
    pl->extra = u < 0.03    ? X_UNEQUAL
                : u < 0.055 ? X_WEEKDAYS
                : u < 0.08  ? X_INTERVAL
                : u < 0.11  ? X_TAPER
                : u < 0.16  ? X_PRN
                : u < 0.20  ? X_EXTERNAL
                            : X_NONE;
    pl->variant = (int)rng_below(g, 6);
    pl->site = (int)rng_below(g, 3);
    pl->instr = rng_chance(g, 0.15);
    pl->crush = rng_chance(g, 0.02);
}

/* ---- one Rp and its lines ----------------------------------------------------------------- */

/* The timing of an Rp (TQ1, RXR) as written in each of its lines. */
struct rp {
    const char *usage_code, *usage;
    const char *pat_code, *pat_text; /* TQ1-3 repetition 2, NULL none */
    int pat_kind;                    /* 0 none, 1 weekdays, 2 interval */
    int mask, on, off;
    int days;     /* TQ1-6, 0: none */
    int days_iso; /* TQ1-6 written "n^D&日&ISO+" (else "n^d") */
    int64_t start;
    int prn;
    const char *condition, *tq_text, *total; /* "" none */
    const char *route, *route_name, *site;   /* site as written, "" none */
    int step_n, step_of;
};

/* One ORC/RXE/TQ1/RXR line. */
struct line {
    const char *code, *name, *unit, *unit_name;
    const char *dose, *dose_max; /* "" none */
    const char *form;            /* RXE-6 as written, "" none */
    const int *vdose;            /* per timing doses (unequal), NULL none */
    int nv;
    const char *instr; /* RXE-7 text, NULL none */
    const char *dispense;
    const char *daily; /* RXE-19 comp 1, "" none */
    int inpatient, crush;
    const char *cls_code, *cls_name; /* RXE-27, "" none */
};

/* The context every line of an order shares. */
struct octx {
    struct rc *r;
    struct patient *p;
    int64_t t;
    const char *order, *loc;
    int dept, inpatient, cancel;
};

static const char *const TIMING[] = { "起床", "朝", "昼", "夕", "就寝" };

/* The labels of the timings found in @usage, in order, when there are @n of them. OUT: lab */
static int timing_labels(const char *usage, int n, const char **lab)
{
    int k = 0;

    for (size_t i = 0; i < sizeof(TIMING) / sizeof(TIMING[0]); i++)
        if (strstr(usage, TIMING[i]) && k < 4)
            lab[k++] = TIMING[i];
    return k == n;
}

static void fw_digits(char *out, size_t cap, int v)
{
    char d[16];
    size_t o = 0;

    snprintf(d, sizeof(d), "%d", v);
    for (char *c = d; *c && o + 4 < cap; c++) {
        out[o++] = (char)0xEF;
        out[o++] = (char)0xBC;
        out[o++] = (char)(0x90 + (*c - '0'));
    }
    out[o] = '\0';
}

/* Every dosing date of the Rp and its exclusive end, as the truth lists them. */
static void t_dose_days(struct rc *r, const struct rp *rp)
{
    char d[12];
    int64_t day = rp->start, last = -1;
    int n = 0;

    gen_tputs(r, ",\"dose_days\":[");
    for (int guard = 0; rp->days > 0 && n < rp->days && guard < 4000; guard++, day++) {
        int dose = 1;
        if (rp->pat_kind == 1)
            dose = (rp->mask >> (int)((day + 4) % 7)) & 1; /* 1970-01-01 was a Thursday */
        else if (rp->pat_kind == 2)
            dose = (day - rp->start) % (rp->on + rp->off) < rp->on;
        if (!dose)
            continue;
        fmt_date_iso(d, day);
        gen_tprintf(r, "%s\"%s\"", n++ ? "," : "", d);
        last = day;
    }
    if (last >= 0)
        fmt_date_iso(d, last + 1);
    gen_tprintf(r, "],\"until\":\"%s\"", last >= 0 ? d : "");
}

/* The Rp object of the truth up to its drugs array. */
static void t_rp_open(struct rc *r, int k, const struct rp *rp)
{
    char sd[12];

    fmt_date_iso(sd, rp->start);
    gen_tputs(r, k > 1 ? ",{" : "{");
    gen_tprintf(r, "\"rp\":\"%d\"", k);
    gen_tkv(r, 0, "usage", rp->usage);
    gen_tkv(r, 0, "usage_code", rp->usage_code);
    if (rp->pat_kind == 1) {
        gen_tputs(r, ",\"pattern\":{\"kind\":\"weekdays\"");
        gen_tkv(r, 0, "code", rp->pat_code);
        gen_tkv(r, 0, "text", rp->pat_text);
        gen_tputs(r, ",\"weekdays\":[");
        for (int d = 0, n = 0; d < 7; d++)
            if ((rp->mask >> d) & 1)
                gen_tprintf(r, "%s%d", n++ ? "," : "", d);
        gen_tputs(r, "]}");
    } else if (rp->pat_kind == 2) {
        gen_tputs(r, ",\"pattern\":{\"kind\":\"interval\"");
        gen_tkv(r, 0, "code", rp->pat_code);
        gen_tkv(r, 0, "text", rp->pat_text);
        gen_tprintf(r, ",\"on\":%d,\"off\":%d}", rp->on, rp->off);
    } else {
        gen_tputs(r, ",\"pattern\":null");
    }
    gen_tputs(r, ",\"times\":[]");
    gen_tkv(r, 0, "days", rp->days ? gen_pf(&r->pl, "%d", rp->days) : "");
    gen_tkv(r, 0, "days_unit", !rp->days ? "" : rp->days_iso ? "D" : "d");
    gen_tkv(r, 0, "start", sd);
    gen_tkv(r, 0, "end", "");
    gen_tprintf(r, ",\"prn\":%s", rp->prn ? "true" : "false");
    gen_tkv(r, 0, "condition", rp->condition);
    gen_tkv(r, 0, "tq_text", rp->tq_text);
    gen_tkv(r, 0, "total", rp->total);
    gen_tkv(r, 0, "route", rp->route);
    gen_tkv(r, 0, "route_name", rp->route_name);
    {
        char site[64];
        gen_comp_of(rp->site, 2, site, sizeof(site));
        if (!site[0])
            gen_comp_of(rp->site, 1, site, sizeof(site));
        gen_tkv(r, 0, "site", site);
    }
    gen_tkv(r, 0, "device", "");
    gen_tkv(r, 0, "method", "");
    if (rp->step_of)
        gen_tprintf(r, ",\"step\":{\"n\":%d,\"of\":%d}", rp->step_n, rp->step_of);
    else
        gen_tputs(r, ",\"step\":null");
    t_dose_days(r, rp);
    gen_tputs(r, ",\"drugs\":[");
}

/* RXE-7 of a line: the V codes of unequal doses, or the instruction text. */
static const char *rxe7(struct pool *pl, const struct line *ln)
{
    const char *v = "";

    if (ln->instr)
        return gen_pf(pl, "^%s^99IC6", ln->instr);
    for (int i = 0; i < ln->nv; i++) {
        char code[16], fw[16], nfw[16];
        if (!ln->vdose[i])
            continue;
        int len = snprintf(code, sizeof(code), "V%d%d", i + 1, ln->vdose[i]);
        while (len < 8)
            code[len++] = 'N';
        code[8] = '\0';
        fw_digits(nfw, sizeof(nfw), i + 1);
        fw_digits(fw, sizeof(fw), ln->vdose[i]);
        v = gen_pf(pl, "%s%s%s^不均等・%s回目・%s%s^JAMISDP01", v, v[0] ? "~" : "", code, nfw, fw,
                   ln->unit_name);
    }
    return v;
}

/* The drug object of the truth for one line. */
static void t_drug(struct rc *r, const struct octx *o, const struct rp *rp, const struct line *ln,
                   int first)
{
    char form[32];

    gen_comp_of(ln->form, 2, form, sizeof(form));
    if (!form[0])
        gen_comp_of(ln->form, 1, form, sizeof(form));
    gen_tputs(r, first ? "{" : ",{");
    gen_tkv(r, 1, "code", ln->code);
    gen_tkv(r, 0, "name", ln->name);
    gen_tkv(r, 0, "system", "HOT9");
    gen_tkv(r, 0, "yj", "");
    gen_tkv(r, 0, "dose", ln->dose);
    gen_tkv(r, 0, "dose_max", ln->dose_max);
    gen_tkv(r, 0, "unit", ln->unit_name);
    gen_tkv(r, 0, "unit_code", ln->unit);
    gen_tkv(r, 0, "form", form);
    gen_tputs(r, ",\"per_timing\":[");
    if (ln->nv) {
        const char *lab[4] = { 0 };
        int named = timing_labels(rp->usage, ln->nv - (ln->vdose[ln->nv - 1] == 0), lab);
        for (int i = 0, n = 0; i < ln->nv; i++) {
            if (!ln->vdose[i])
                continue;
            gen_tprintf(r, "%s{\"n\":%d", n++ ? "," : "", i + 1);
            gen_tkv(r, 0, "label", named ? lab[i] : "");
            gen_tprintf(r, ",\"dose\":\"%d\"}", ln->vdose[i]);
        }
    }
    gen_tputs(r, "]");
    gen_tkv(r, 0, "daily_dose", ln->daily);
    gen_tkv(r, 0, "daily_unit", ln->daily[0] ? ln->unit_name : "");
    gen_tkv(r, 0, "dispense", ln->dispense);
    gen_tkv(r, 0, "dispense_unit", ln->unit_name);
    gen_tputs(r, ",\"instructions\":[");
    if (ln->instr && mm_json_str(&r->t, ln->instr))
        r->p->oom = 1;
    gen_tprintf(r, "],\"dispensing\":[%s%s]",
                ln->inpatient ? "\"入院処方\"" : "\"外来処方\",\"院外処方\"",
                ln->crush ? ",\"粉砕\"" : "");
    gen_tkv(r, 0, "class", ln->cls_name);
    gen_tkv(r, 0, "class_code", ln->cls_code);
    gen_tputs(r, ",\"flags\":[]");
    gen_tkv(r, 0, "rx_no", o->order);
    gen_tputs(r, "}");
}

/* One ORC/RXE/TQ1/RXR line of Rp @k, and its drug in the truth. */
static void rx_line(const struct octx *o, int k, const struct rp *rp, const struct line *ln,
                    int first)
{
    struct rc *r = o->r;
    struct pool *pl = &r->pl;
    struct seg s = { 0 };

    gen_seg_orc(r, o->cancel ? "CA" : "NW", o->order, gen_pf(pl, "%d", k), o->t, o->dept,
                o->p->doctor, o->inpatient, o->loc);
    gen_sset(&s, 2, gen_pf(pl, "%s^%s^HOT9", ln->code, ln->name));
    gen_sset(&s, 3, ln->dose);
    if (ln->dose_max[0])
        gen_sset(&s, 4, ln->dose_max);
    gen_sset(&s, 5, gen_pf(pl, "%s^%s^MR9P", ln->unit, ln->unit_name));
    if (ln->form[0])
        gen_sset(&s, 6, ln->form);
    if (ln->instr || ln->nv)
        gen_sset(&s, 7, rxe7(pl, ln));
    gen_sset(&s, 10, ln->dispense);
    gen_sset(&s, 11, gen_pf(pl, "%s^%s^MR9P", ln->unit, ln->unit_name));
    gen_sset(&s, 15, o->order);
    if (ln->daily[0])
        gen_sset(&s, 19, gen_pf(pl, "%s^%s&%s&MR9P", ln->daily, ln->unit, ln->unit_name));
    gen_sset(&s, 21,
             gen_pf(pl, "%s%s",
                    ln->inpatient ? "IHP^入院処方^MR9P" : "OHP^外来処方^MR9P~OHO^院外処方^MR9P",
                    ln->crush ? "~CRS^粉砕^99I01" : ""));
    if (ln->cls_code[0])
        gen_sset(&s, 27, gen_pf(pl, "%s^%s^JHSP0003", ln->cls_code, ln->cls_name));
    gen_emit(r, "RXE", &s);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 3,
             rp->pat_code ? gen_pf(pl, "%s&%s&JAMISDP01~%s&%s&JAMISDP01", rp->usage_code, rp->usage,
                                   rp->pat_code, rp->pat_text)
                          : gen_pf(pl, "%s&%s&JAMISDP01", rp->usage_code, rp->usage));
    if (rp->days)
        gen_sset(&s, 6, gen_pf(pl, rp->days_iso ? "%d^D&日&ISO+" : "%d^d", rp->days));
    gen_sset(&s, 7, gen_ymd(pl, rp->start * MS_PER_DAY));
    if (rp->prn)
        gen_sset(&s, 9, "PRN");
    if (rp->condition[0])
        gen_sset(&s, 10, rp->condition);
    if (rp->tq_text[0])
        gen_sset(&s, 11, rp->tq_text);
    if (rp->total[0])
        gen_sset(&s, 14, rp->total);
    gen_emit(r, "TQ1", &s);
    gen_sset(&s, 1, gen_pf(pl, "%s^%s^HL70162", rp->route, rp->route_name));
    if (rp->site[0])
        gen_sset(&s, 2, rp->site);
    gen_emit(r, "RXR", &s);
    t_drug(r, o, rp, ln, first);
}

/* A line of the plain catalog drug @d for @days days. */
static void plain_line(struct pool *pl, struct line *ln, const struct drug *d, int days,
                       const struct octx *o, const struct plan *plan)
{
    memset(ln, 0, sizeof(*ln));
    ln->code = d->hot9;
    ln->name = d->name;
    ln->unit = d->unit;
    ln->unit_name = d->unit_name;
    ln->dose = gen_pf(pl, "%g", d->dose);
    ln->dose_max = "";
    ln->form = d->form[0] ? gen_pf(pl, "%s^%s^MR9P", d->form, strcmp(d->form, "PWD") ? "" : "散剤")
                          : "";
    ln->dispense = gen_pf(pl, "%g", d->dose * d->per_day * days);
    ln->daily = gen_pf(pl, "%g", d->dose * d->per_day);
    ln->inpatient = o->inpatient;
    ln->crush = plan->crush && strcmp(d->unit, "TAB") == 0;
    ln->cls_code = ln->cls_name = "";
    /* antihypertensives: the stop criterion written by the doctor */
    if (plan->instr && (strcmp(d->hot9, "110626901") == 0 || strcmp(d->hot9, "113344501") == 0 ||
                        strcmp(d->hot9, "125566901") == 0))
        ln->instr = "血圧低下が見られたら中止";
}

/* A line of the special drug @x. */
static void x_line(struct line *ln, const struct xdrug *x, const struct octx *o)
{
    memset(ln, 0, sizeof(*ln));
    ln->code = x->code;
    ln->name = x->name;
    ln->unit = x->unit;
    ln->unit_name = x->unit_name;
    ln->dose_max = ln->form = ln->daily = ln->cls_code = ln->cls_name = "";
    ln->inpatient = o->inpatient;
}

static void rp_init(struct rp *rp, const char *usage_code, const char *usage, int days,
                    int64_t start)
{
    memset(rp, 0, sizeof(*rp));
    rp->usage_code = usage_code;
    rp->usage = usage;
    rp->days = days;
    rp->start = start;
    rp->condition = rp->tq_text = rp->total = rp->site = "";
    rp->route = "PO";
    rp->route_name = "口";
}

/* Unequal doses per timing: RXE-3 smallest, RXE-4 largest, RXE-7 V codes, RXE-19. */
static void x_unequal(const struct octx *o, const struct plan *plan, int k)
{
    struct rc *r = o->r;
    struct pool *pl = &r->pl;
    int64_t day = o->t / MS_PER_DAY;
    struct line ln;
    struct rp rp;
    int v = plan->variant;

    const int *dz = UNEQUAL[v % 3].dose;
    int n = UNEQUAL[v % 3].n, days = v < 3 ? 7 : 14, lo = 99, hi = 0, sum = 0;
    for (int i = 0; i < n; i++) {
        if (dz[i] && dz[i] < lo)
            lo = dz[i];
        hi = dz[i] > hi ? dz[i] : hi;
        sum += dz[i];
    }
    rp_init(&rp, UNEQUAL[v % 3].usage_code, UNEQUAL[v % 3].usage, days, day);
    t_rp_open(r, k, &rp);
    x_line(&ln, &X_PRED, o);
    ln.dose = gen_pf(pl, "%d", lo);
    ln.dose_max = gen_pf(pl, "%d", hi);
    ln.vdose = dz;
    ln.nv = n;
    ln.daily = gen_pf(pl, "%d", sum);
    ln.dispense = gen_pf(pl, "%d", sum * days);
    ln.cls_code = "21";
    ln.cls_name = "内服";
    rx_line(o, k, &rp, &ln, 1);
    gen_tputs(r, "]}");
}

/* Given weekdays: TQ1-3 repetition 2 W…, TQ1-6 the dosing days. */
static void x_weekdays(const struct octx *o, const struct plan *plan, int k)
{
    struct rc *r = o->r;
    struct pool *pl = &r->pl;
    int64_t day = o->t / MS_PER_DAY;
    struct line ln;
    struct rp rp;
    int v = plan->variant;

    int w = v % 2;
    rp_init(&rp, WEEKLY[w].usage_code, WEEKLY[w].usage, WEEKLY[w].days, day);
    rp.pat_kind = 1;
    rp.pat_code = WEEKLY[w].code;
    rp.pat_text = WEEKLY[w].text;
    rp.mask = WEEKLY[w].mask;
    t_rp_open(r, k, &rp);
    x_line(&ln, &X_WEEKLY[w], o);
    ln.dose = "1";
    ln.daily = "1";
    ln.dispense = gen_pf(pl, "%d", WEEKLY[w].days);
    rx_line(o, k, &rp, &ln, 1);
    gen_tputs(r, "]}");
}

/* Every other day: TQ1-3 repetition 2 I1100000, TQ1-6 the dosing days. */
static void x_interval(const struct octx *o, const struct plan *plan, int k)
{
    struct rc *r = o->r;
    struct pool *pl = &r->pl;
    int64_t day = o->t / MS_PER_DAY;
    struct line ln;
    struct rp rp;
    int v = plan->variant;

    rp_init(&rp, "1011000400000000", "内服・経口・１日１回朝食後", v < 3 ? 7 : 14, day);
    rp.pat_kind = 2;
    rp.pat_code = "I1100000";
    rp.pat_text = "隔日投与";
    rp.on = rp.off = 1;
    t_rp_open(r, k, &rp);
    x_line(&ln, &X_LASIX, o);
    ln.dose = "1";
    ln.daily = "1";
    ln.dispense = gen_pf(pl, "%d", rp.days);
    rx_line(o, k, &rp, &ln, 1);
    gen_tputs(r, "]}");
}

/* A taper: 2-3 Rps of one drug, each starting the day after the previous ends. */
static void x_taper(const struct octx *o, const struct plan *plan, int k)
{
    struct rc *r = o->r;
    struct pool *pl = &r->pl;
    int64_t day = o->t / MS_PER_DAY;
    struct line ln;
    struct rp rp;
    int v = plan->variant;

    int tp = v % 3, n = TAPER[tp].n;
    int64_t start = day;
    for (int i = 0; i < n; i++) {
        rp_init(&rp, "1011000400000000", "内服・経口・１日１回朝食後", TAPER[tp].days[i], start);
        rp.days_iso = 1;
        rp.step_n = i + 1;
        rp.step_of = n;
        t_rp_open(r, k + i, &rp);
        x_line(&ln, &X_PRED, o);
        ln.dose = gen_pf(pl, "%d", TAPER[tp].dose[i]);
        ln.daily = ln.dose;
        ln.dispense = gen_pf(pl, "%d", TAPER[tp].dose[i] * TAPER[tp].days[i]);
        rx_line(o, k + i, &rp, &ln, 1);
        gen_tputs(r, "]}");
        start += TAPER[tp].days[i];
    }
}

/* PRN with a maximum: RXE-27 22, TQ1-9 PRN, TQ1-10 condition, TQ1-11, TQ1-14. */
static void x_prn(const struct octx *o, const struct plan *plan, int k)
{
    struct rc *r = o->r;
    int64_t day = o->t / MS_PER_DAY;
    struct line ln;
    struct rp rp;
    int v = plan->variant;

    int q = v % 3;
    rp_init(&rp, PRN[q].usage_code, PRN[q].usage, 0, day);
    rp.prn = 1;
    rp.condition = PRN[q].condition;
    rp.tq_text = PRN[q].max;
    rp.total = PRN[q].total;
    t_rp_open(r, k, &rp);
    x_line(&ln, &PRN[q].d, o);
    ln.dose = PRN[q].dose;
    ln.dispense = PRN[q].dispense;
    ln.cls_code = "22";
    ln.cls_name = "頓用";
    rx_line(o, k, &rp, &ln, 1);
    gen_tputs(r, "]}");
}

/* An external medicine with its site (RXR-2) and dispense amount. */
static void x_external(const struct octx *o, const struct plan *plan, int k)
{
    struct rc *r = o->r;
    struct pool *pl = &r->pl;
    int64_t day = o->t / MS_PER_DAY;
    struct line ln;
    struct rp rp;
    int v = plan->variant;

    int e = v % 2, days = 14;
    rp_init(&rp, EXTERNAL[e].usage_code, EXTERNAL[e].usage, days, day);
    rp.route = EXTERNAL[e].route;
    rp.route_name = EXTERNAL[e].route_name;
    rp.site = EXTERNAL[e].sites[plan->site % 3];
    t_rp_open(r, k, &rp);
    x_line(&ln, &EXTERNAL[e].d, o);
    ln.dose = e ? "" : "1";
    ln.dispense = e ? "10" : gen_pf(pl, "%d", days * EXTERNAL[e].per_day);
    ln.cls_code = "23";
    ln.cls_name = "外用";
    rx_line(o, k, &rp, &ln, 1);
    gen_tputs(r, "]}");
}

/* The special Rps of the order's plan, numbered from @k. */
static void extra_rps(const struct octx *o, const struct plan *plan, int k)
{
    static void (*const fn[])(const struct octx *, const struct plan *, int) = {
        [X_UNEQUAL] = x_unequal, [X_WEEKDAYS] = x_weekdays, [X_INTERVAL] = x_interval,
        [X_TAPER] = x_taper,     [X_PRN] = x_prn,           [X_EXTERNAL] = x_external,
    };

    if (plan->extra > X_NONE && plan->extra <= X_EXTERNAL)
        fn[plan->extra](o, plan, k);
}

/* The plain Rps: the drugs grouped by usage. @return the number of Rps written */
static int plain_rps(const struct octx *o, const struct plan *plan, const int *drugs, int nd,
                     int days)
{
    struct rc *r = o->r;
    const char *usages[8];
    int nu = 0;

    for (int i = 0; i < nd; i++) {
        int k;
        for (k = 0; k < nu; k++)
            if (strcmp(usages[k], gen_drugs[drugs[i]].usage_code) == 0)
                break;
        if (k == nu && nu < 8)
            usages[nu++] = gen_drugs[drugs[i]].usage_code;
    }
    for (int u = 0; u < nu; u++) {
        int first = 1;
        struct rp rp;
        for (int i = 0; i < nd; i++) {
            const struct drug *d = &gen_drugs[drugs[i]];
            struct line ln;
            if (strcmp(d->usage_code, usages[u]) != 0)
                continue;
            if (first) {
                rp_init(&rp, d->usage_code, d->usage_text, days, o->t / MS_PER_DAY);
                rp.route = d->route;
                rp.route_name = strcmp(d->route, "PO") ? "吸入" : "口";
                if ((o->p->idx + (unsigned)drugs[i]) % 29 == 0)
                    rp.tq_text = "①食後すぐに服用";
                t_rp_open(r, u + 1, &rp);
            }
            plain_line(&r->pl, &ln, d, days, o, plan);
            rx_line(o, u + 1, &rp, &ln, first);
            first = 0;
        }
        gen_tputs(r, "]}");
    }
    return nu;
}

/* One RDE^O11 prescription: the plain Rps (drugs grouped by usage), then the plan's. */
static void render_rx(struct rc *r, struct patient *p, int64_t t, const char *order,
                      const int *drugs, int nd, int days, int inpatient, const char *loc, int dept,
                      int ctl_cancel, const struct plan *plan)
{
    struct octx o = { r, p, t, order, loc, dept, inpatient, ctl_cancel };
    char date[12], dd[12];
    int nu;

    fmt_ts(date, t, 8);
    fmt_date_iso(dd, t / MS_PER_DAY);
    gen_rc_begin(r, p, T_OMP01, t);
    gen_seg_msh(r, "RDE^O11^RDE_O11", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_al1_orders(r);
    gen_seg_pv1(r, inpatient, loc, dept, p->doctor);
    gen_tputs(r, "{");
    gen_tkv(r, 1, "order_no", order);
    gen_tkv(r, 0, "date", dd);
    gen_tkv(r, 0, "dept", gen_depts[dept].code);
    gen_tkv(r, 0, "dept_name", gen_depts[dept].name);
    gen_tdoctor(r, p->doctor);
    gen_tprintf(r, ",\"inpatient\":%s,\"rps\":[", inpatient ? "true" : "false");
    nu = plain_rps(&o, plan, drugs, nd, days);
    extra_rps(&o, plan, nu + 1);
    gen_tputs(r, "]}");
    gen_add_msg(p, r, date, order, dept, ctl_cancel, ctl_cancel ? TK_NONE : TK_RX);
}

void gen_rx_order(struct rc *r, struct patient *p, int64_t t, const int *drugs, int nd, int days,
                  int inpatient, const char *loc, int dept)
{
    char order[16];
    struct plan plan;

    if (nd == 0)
        return;
    gen_next_order(p, order, 15);
    plan_order(p, &plan);
    render_rx(r, p, t, order, drugs, nd, days, inpatient, loc, dept, 0, &plan);
    if (rng_chance(&p->rng, 0.05)) {
        /* the doctor revises the order: the old file becomes _2, the new one _1 */
        int ndays = days + 7 * rng_range(&p->rng, -1, 2);
        render_rx(r, p, t + rng_range(&p->rng, 5, 40) * MS_PER_MIN, order, drugs, nd,
                  ndays < 3 ? 3 : ndays, inpatient, loc, dept, 0, &plan);
    } else if (rng_chance(&p->rng, 0.02)) {
        render_rx(r, p, t + rng_range(&p->rng, 5, 40) * MS_PER_MIN, order, drugs, nd, days,
                  inpatient, loc, dept, 1, &plan);
    }
}

/* One administration (an RXA) in the truth: what, when, how much, route, who, where. */
static void tadmin(struct rc *r, int first, const char *order, int64_t given, const char *code,
                   const char *name, const char *dose, const char *unit, const char *route,
                   const struct doctor *nurse, const char *loc, int injection)
{
    char d[24], ward[32], ward_name[64];

    fmt_ts(d, given, 12);
    gen_comp_of(loc, 1, ward, sizeof(ward));
    gen_comp_of(loc, 9, ward_name, sizeof(ward_name));
    gen_tputs(r, first ? "{" : ",{");
    gen_tkv(r, 1, "order_no", order);
    gen_tkv(r, 0, "given_at",
            gen_pf(&r->pl, "%.4s-%.2s-%.2sT%.2s:%.2s", d, d + 4, d + 6, d + 8, d + 10));
    gen_tkv(r, 0, "code", code);
    gen_tkv(r, 0, "name", name);
    gen_tkv(r, 0, "dose", dose);
    gen_tkv(r, 0, "unit", unit);
    gen_tkv(r, 0, "route", route);
    gen_tkv(r, 0, "completion", "CP");
    gen_tkv(r, 0, "given_by", gen_pf(&r->pl, "%s %s", nurse->family, nurse->given));
    gen_tkv(r, 0, "given_by_id", nurse->id);
    gen_tkv(r, 0, "location", ward);
    gen_tkv(r, 0, "location_name", ward_name);
    gen_tprintf(r, ",\"injection\":%s}", injection ? "true" : "false");
}

/* OMP-11 (RAS^O17): the day's inpatient medication given. */
void gen_rx_given(struct rc *r, struct patient *p, int64_t t, const int *drugs, int nd,
                  const char *order, const char *loc, int dept)
{
    const struct doctor *nurse;
    struct seg s = { 0 };
    struct pool *pl;
    char date[12];

    if (nd == 0)
        return;
    gen_rc_begin(r, p, T_OMP11, t + 2 * 3600 * 1000);
    pl = &r->pl;
    fmt_ts(date, t, 8);
    gen_seg_msh(r, "RAS^O17^RAS_O17", p->msg_seq);
    gen_seg_pid(r, 0);
    gen_seg_pv1(r, 1, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, "1", t, dept, p->doctor, 1, loc);
    nurse = gen_nurse_of(p, t);
    gen_tputs(r, "[");
    for (int i = 0; i < nd; i++) {
        const struct drug *d = &gen_drugs[drugs[i]];
        gen_sset(&s, 1, "0");
        gen_sset(&s, 2, "1");
        gen_sset(&s, 3, gen_ts12(pl, t));
        gen_sset(&s, 4, gen_ts12(pl, t));
        gen_sset(&s, 5, gen_pf(pl, "%s^%s^HOT9", d->hot9, d->name));
        gen_sset(&s, 6, gen_pf(pl, "%g", d->dose));
        gen_sset(&s, 7, gen_pf(pl, "%s^%s^MR9P", d->unit, d->unit_name));
        gen_sset(&s, 10,
                 gen_pf(pl, "%s^%s^%s^^^^^^^L^^^^^I", nurse->id, nurse->family, nurse->given));
        gen_sset(&s, 11, loc);
        gen_sset(&s, 20, "CP");
        gen_sset(&s, 22, gen_ts14(pl, r->ts));
        gen_emit(r, "RXA", &s);
        tadmin(r, i == 0, order, t, d->hot9, d->name, gen_pf(pl, "%g", d->dose), d->unit_name, "PO",
               nurse, loc, 0);
    }
    gen_tputs(r, "]");
    gen_sset(&s, 1, "PO^口^HL70162");
    gen_emit(r, "RXR", &s);
    gen_add_msg(p, r, date, order, dept, 0, TK_ADMIN);
}

/* The injection order's Rp in the contract's shape (",\"rps\":[…]"): one Rp a day, named by
 * its ORC-4 group number as written (<order>_01_001, as the JAMI injection example does). */
static void t_inj_rp(struct rc *r, const char *order, int64_t t, int rate, const int *inj, int ni)
{
    struct pool *pl = &r->pl;
    const char *a = gen_ts12(pl, t + 30 * MS_PER_MIN), *b = gen_ts12(pl, t + 150 * MS_PER_MIN);
    char d[12];

    gen_tprintf(r, ",\"rps\":[{\"rp\":\"%s_01_001\"", order);
    gen_tkv(r, 0, "type_name", "一般");
    gen_tputs(r, ",\"usage\":\"\",\"usage_code\":\"\",\"pattern\":null");
    gen_tprintf(r, ",\"times\":[\"%.2s:%.2s\"]", a + 8, a + 10);
    gen_tputs(r, ",\"days\":\"\",\"days_unit\":\"\"");
    gen_tprintf(r, ",\"start\":\"%.4s-%.2s-%.2sT%.2s:%.2s\"", a, a + 4, a + 6, a + 8, a + 10);
    gen_tprintf(r, ",\"end\":\"%.4s-%.2s-%.2sT%.2s:%.2s\"", b, b + 4, b + 6, b + 8, b + 10);
    gen_tputs(r, ",\"prn\":false,\"condition\":\"\",\"tq_text\":\"\",\"total\":\"\"");
    gen_tkv(r, 0, "route", "IV");
    gen_tkv(r, 0, "route_name", "静脈内");
    gen_tkv(r, 0, "site", "");
    gen_tkv(r, 0, "device", rate ? "点滴ポンプ" : "");
    gen_tkv(r, 0, "method", "");
    gen_tkv(r, 0, "rate", rate ? gen_pf(pl, "%d", rate) : "");
    gen_tkv(r, 0, "rate_per", rate ? "H1" : "");
    gen_tkv(r, 0, "rate_unit", rate ? "ミリリットル／時間" : "");
    gen_tputs(r, ",\"instructions\":[");
    if (mm_json_str(&r->t, rate ? "２時間かけて点滴" : "ゆっくり静注"))
        r->p->oom = 1;
    gen_tputs(r, "],\"step\":null");
    /* the day it runs, and the day after its end as the exclusive end */
    fmt_date_iso(d, (t + 30 * MS_PER_MIN) / MS_PER_DAY);
    gen_tprintf(r, ",\"dose_days\":[\"%s\"]", d);
    fmt_date_iso(d, (t + 150 * MS_PER_MIN) / MS_PER_DAY + 1);
    gen_tprintf(r, ",\"until\":\"%s\",\"drugs\":[", d);
    for (int i = 0; i < ni; i++) {
        const struct injection *in = &gen_injections[inj[i]];
        gen_tputs(r, i ? ",{" : "{");
        gen_tkv(r, 1, "code", in->hot9);
        gen_tkv(r, 0, "name", in->name);
        gen_tkv(r, 0, "system", "HOT9");
        gen_tkv(r, 0, "dose", gen_pf(pl, "%g", in->amount));
        gen_tkv(r, 0, "unit", in->unit_name);
        gen_tkv(r, 0, "role", i == 0 ? "B" : "A");
        gen_tputs(r, "}");
    }
    gen_tputs(r, "]}]");
}

/* OMP-02 (RDE^O11 injection order) for one day, and OMP-12 (RAS^O17) when given. */
void gen_inj_day(struct rc *r, struct patient *p, int64_t t, const int *inj, int ni,
                 const char *loc, int dept)
{
    const struct doctor *nurse;
    struct seg s = { 0 };
    struct pool *pl;
    char order[16], date[12], dd[12];
    int rate = 0;

    if (ni == 0)
        return;
    if (ni == 2 && gen_injections[inj[1]].rate_ml_h > gen_injections[inj[0]].rate_ml_h) {
        /* the drip (the base, RXC-1 B) comes first, the drug added to it after */
        int tmp[2] = { inj[1], inj[0] };
        gen_inj_day(r, p, t, tmp, 2, loc, dept);
        return;
    }
    gen_next_order(p, order, 15);
    fmt_ts(date, t, 8);
    fmt_date_iso(dd, t / MS_PER_DAY);
    for (int i = 0; i < ni; i++)
        if (gen_injections[inj[i]].rate_ml_h > rate)
            rate = gen_injections[inj[i]].rate_ml_h;
    gen_rc_begin(r, p, T_OMP02, t);
    pl = &r->pl;
    gen_seg_msh(r, "RDE^O11^RDE_O11", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_al1_orders(r);
    gen_seg_pv1(r, 1, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, gen_pf(pl, "%s_01_001", order), t, dept, p->doctor, 1, loc);
    gen_sset(&s, 2, "00^一般^99I02");
    gen_sset(&s, 3, "1");
    gen_sset(&s, 5, "HON^本^MR9P");
    gen_sset(&s, 6, "INJ^注射剤^MR9P");
    gen_sset(&s, 7, rate ? "^２時間かけて点滴^99IC6" : "^ゆっくり静注^99IC6");
    gen_sset(&s, 15, gen_pf(pl, "%s-001", gen_ymd(pl, t)));
    gen_sset(&s, 21, "IHP^入院処方^MR9P~FTP^定時処方^99I01");
    if (rate) {
        gen_sset(&s, 22, "H1");
        gen_sset(&s, 23, gen_pf(pl, "%d", rate));
        gen_sset(&s, 24, "ml/hr^ミリリットル／時間^ISO+");
    }
    gen_emit(r, "RXE", &s);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 4, gen_pf(pl, "%.4s", gen_ts12(pl, t + 30 * MS_PER_MIN) + 8));
    gen_sset(&s, 7, gen_ts12(pl, t + 30 * MS_PER_MIN));
    gen_sset(&s, 8, gen_ts12(pl, t + 150 * MS_PER_MIN));
    gen_emit(r, "TQ1", &s);
    gen_sset(&s, 1, "IV^静脈内^HL70162");
    if (rate)
        gen_sset(&s, 3, "IVP^点滴ポンプ^HL70164");
    gen_emit(r, "RXR", &s);
    gen_tputs(r, "{");
    gen_tkv(r, 1, "order_no", order);
    gen_tkv(r, 0, "date", dd);
    gen_tkv(r, 0, "dept", gen_depts[dept].code);
    gen_tkv(r, 0, "dept_name", gen_depts[dept].name);
    gen_tdoctor(r, p->doctor);
    gen_tkv(r, 0, "route", "IV");
    gen_tprintf(r, ",\"rate_ml_h\":%d", rate);
    t_inj_rp(r, order, t, rate, inj, ni);
    gen_tputs(r, ",\"components\":[");
    for (int i = 0; i < ni; i++) {
        const struct injection *in = &gen_injections[inj[i]];
        gen_sset(&s, 1, i == 0 ? "B" : "A");
        gen_sset(&s, 2, gen_pf(pl, "%s^%s^HOT9", in->hot9, in->name));
        gen_sset(&s, 3, gen_pf(pl, "%g", in->amount));
        gen_sset(&s, 4, gen_pf(pl, "%s^%s^MR9P", in->unit, in->unit_name));
        gen_emit(r, "RXC", &s);
        gen_tputs(r, i ? ",{" : "{");
        gen_tkv(r, 1, "code", in->hot9);
        gen_tkv(r, 0, "name", in->name);
        gen_tkv(r, 0, "amount", gen_pf(pl, "%g", in->amount));
        gen_tkv(r, 0, "unit", in->unit_name);
        gen_tputs(r, "}");
    }
    gen_tputs(r, "]}");
    gen_add_msg(p, r, date, order, dept, 0, TK_INJ);

    gen_rc_begin(r, p, T_OMP12, t + 160 * MS_PER_MIN);
    pl = &r->pl;
    gen_seg_msh(r, "RAS^O17^RAS_O17", p->msg_seq);
    gen_seg_pid(r, 0);
    gen_seg_pv1(r, 1, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, gen_pf(pl, "%s_01_001", order), t, dept, p->doctor, 1, loc);
    nurse = gen_nurse_of(p, t + MS_PER_DAY / 2);
    gen_tputs(r, "[");
    for (int i = 0; i < ni; i++) {
        const struct injection *in = &gen_injections[inj[i]];
        gen_sset(&s, 1, "0");
        gen_sset(&s, 2, "1");
        gen_sset(&s, 3, gen_ts14(pl, t + 30 * MS_PER_MIN));
        gen_sset(&s, 4, gen_ts14(pl, t + 150 * MS_PER_MIN));
        gen_sset(&s, 5, gen_pf(pl, "%s^%s^HOT9", in->hot9, in->name));
        gen_sset(&s, 6, gen_pf(pl, "%g", in->amount));
        gen_sset(&s, 7, gen_pf(pl, "%s^%s^MR9P", in->unit, in->unit_name));
        gen_sset(&s, 9, "^左前腕に実施^99IC2");
        gen_sset(&s, 10,
                 gen_pf(pl, "%s^%s^%s^^^^^^^L^^^^^I", nurse->id, nurse->family, nurse->given));
        gen_sset(&s, 11, loc);
        if (rate)
            gen_sset(&s, 12, gen_pf(pl, "%dml/hr", rate));
        gen_sset(&s, 20, "CP");
        gen_sset(&s, 22, gen_ts14(pl, r->ts));
        gen_emit(r, "RXA", &s);
        tadmin(r, i == 0, order, t + 30 * MS_PER_MIN, in->hot9, in->name,
               gen_pf(pl, "%g", in->amount), in->unit_name, "IV", nurse, loc, 1);
    }
    gen_tputs(r, "]");
    gen_sset(&s, 1, "IV^静脈内^HL70162");
    gen_emit(r, "RXR", &s);
    gen_add_msg(p, r, date, order, dept, 0, TK_ADMIN);
}
