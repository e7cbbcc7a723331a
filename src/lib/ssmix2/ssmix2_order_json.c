/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON of a record's orders (the "prescriptions", "injections" and "orders" lists of
 * mm_ssmix2_record_json): every key of the shape in docs/orders.md always present, strings
 * "" and lists [] when absent, pattern and step null when there are none, prn false.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "ssmix2/ssmix2.h"
#include "ssmix2/ssmix2_int.h"

struct ow {
    mm_buf *b;
    int err;
};

static void raw(struct ow *w, const char *s)
{
    if (!w->err)
        w->err = mm_buf_puts(w->b, s);
}

/* ,"key": */
static void key(struct ow *w, int first, const char *k)
{
    raw(w, first ? "\"" : ",\"");
    raw(w, k);
    raw(w, "\":");
}

static void kv(struct ow *w, int first, const char *k, const char *v)
{
    if (!w->err)
        w->err = mm_json_kv(w->b, first, k, v ? v : "");
}

static void kbool(struct ow *w, const char *k, int v)
{
    key(w, 0, k);
    raw(w, v ? "true" : "false");
}

static void kint(struct ow *w, int first, const char *k, int v)
{
    char b[24];

    key(w, first, k);
    snprintf(b, sizeof(b), "%d", v);
    raw(w, b);
}

static void strs(struct ow *w, const char *k, const char *const *v, size_t n)
{
    key(w, 0, k);
    raw(w, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            raw(w, ",");
        if (!w->err)
            w->err = mm_json_str(w->b, v[i]);
    }
    raw(w, "]");
}

static void raws(struct ow *w, const struct mm_ssmix2_raw *v, size_t n)
{
    key(w, 0, "raw");
    if (!w->err)
        w->err = mm_ssmix2__raw_json(w->b, v, n);
}

static void timings(struct ow *w, const struct mm_ssmix2_timing *t, size_t n)
{
    key(w, 0, "per_timing");
    raw(w, "[");
    for (size_t i = 0; i < n; i++) {
        raw(w, i ? ",{" : "{");
        kint(w, 1, "n", t[i].n);
        kv(w, 0, "label", t[i].label);
        kv(w, 0, "dose", t[i].dose);
        raw(w, "}");
    }
    raw(w, "]");
}

static void pattern(struct ow *w, const struct mm_ssmix2_pattern *p)
{
    key(w, 0, "pattern");
    if (!p) {
        raw(w, "null");
        return;
    }
    raw(w, "{");
    kv(w, 1, "kind", p->kind);
    kv(w, 0, "code", p->code);
    kv(w, 0, "text", p->text);
    if (strcmp(p->kind, "weekdays") == 0) {
        int n = 0;
        key(w, 0, "weekdays");
        raw(w, "[");
        for (int d = 0; d < 7; d++)
            if (p->weekdays[d]) {
                char b[8];
                snprintf(b, sizeof(b), "%s%d", n++ ? "," : "", d);
                raw(w, b);
            }
        raw(w, "]");
    } else if (strcmp(p->kind, "interval") == 0) {
        kint(w, 0, "on", p->on);
        kint(w, 0, "off", p->off);
    }
    raw(w, "}");
}

static void step(struct ow *w, const struct mm_ssmix2_step *s)
{
    key(w, 0, "step");
    if (!s->n) {
        raw(w, "null");
        return;
    }
    raw(w, "{");
    kint(w, 1, "n", s->n);
    kint(w, 0, "of", s->of);
    raw(w, "}");
}

/* A prescription line's drug. */
static void rx_drug(struct ow *w, const struct mm_ssmix2_drug *d)
{
    kv(w, 1, "code", d->code);
    kv(w, 0, "name", d->name);
    kv(w, 0, "system", d->system);
    kv(w, 0, "yj", d->yj);
    kv(w, 0, "dose", d->dose);
    kv(w, 0, "dose_max", d->dose_max);
    kv(w, 0, "unit", d->unit);
    kv(w, 0, "unit_code", d->unit_code);
    kv(w, 0, "form", d->form);
    timings(w, d->per_timing, d->ntimings);
    kv(w, 0, "daily_dose", d->daily_dose);
    kv(w, 0, "daily_unit", d->daily_unit);
    kv(w, 0, "dispense", d->dispense);
    kv(w, 0, "dispense_unit", d->dispense_unit);
    strs(w, "instructions", d->instructions, d->ninstructions);
    strs(w, "dispensing", d->dispensing, d->ndispensing);
    kv(w, 0, "class", d->class_name);
    kv(w, 0, "class_code", d->class_code);
    strs(w, "flags", d->flags, d->nflags);
    kv(w, 0, "rx_no", d->rx_no);
    raws(w, d->raw, d->nraw);
}

/* An injection component. */
static void inj_drug(struct ow *w, const struct mm_ssmix2_drug *d)
{
    kv(w, 1, "code", d->code);
    kv(w, 0, "name", d->name);
    kv(w, 0, "system", d->system);
    kv(w, 0, "dose", d->dose);
    kv(w, 0, "unit", d->unit);
    kv(w, 0, "role", d->role);
}

/* The timing and route keys prescriptions and injections share. */
static void timing(struct ow *w, const struct mm_ssmix2_rp *rp)
{
    kv(w, 0, "usage", rp->usage);
    kv(w, 0, "usage_code", rp->usage_code);
    pattern(w, rp->pattern);
    strs(w, "times", rp->times, rp->ntimes);
    kv(w, 0, "days", rp->days);
    kv(w, 0, "days_unit", rp->days_unit);
    kv(w, 0, "start", rp->start);
    kv(w, 0, "end", rp->end);
    kbool(w, "prn", rp->prn);
    kv(w, 0, "condition", rp->condition);
    kv(w, 0, "tq_text", rp->tq_text);
    kv(w, 0, "total", rp->total);
    kv(w, 0, "route", rp->route);
    kv(w, 0, "route_name", rp->route_name);
    kv(w, 0, "site", rp->site);
    kv(w, 0, "device", rp->device);
    kv(w, 0, "method", rp->method);
}

/* What an injection Rp's RXE says besides the contract's keys (dose, form, flags ...). */
static void inj_rxe(struct ow *w, const struct mm_ssmix2_rp *rp)
{
    kv(w, 0, "rate", rp->rate);
    kv(w, 0, "rate_per", rp->rate_per);
    kv(w, 0, "rate_unit", rp->rate_unit);
    strs(w, "instructions", rp->instructions, rp->ninstructions);
    kv(w, 0, "type_code", rp->type_code);
    kv(w, 0, "dose", rp->dose);
    kv(w, 0, "unit", rp->unit);
    kv(w, 0, "form", rp->form);
    kv(w, 0, "class", rp->class_name);
    kv(w, 0, "class_code", rp->class_code);
    kv(w, 0, "rx_no", rp->rx_no);
    strs(w, "dispensing", rp->dispensing, rp->ndispensing);
    strs(w, "flags", rp->flags, rp->nflags);
}

static void rp_json(struct ow *w, const struct mm_ssmix2_rp *rp, int inj)
{
    kv(w, 1, "rp", rp->rp);
    if (inj)
        kv(w, 0, "type_name", rp->type_name);
    timing(w, rp);
    if (inj)
        inj_rxe(w, rp);
    step(w, &rp->step);
    raws(w, rp->raw, rp->nraw);
    key(w, 0, "drugs");
    raw(w, "[");
    for (size_t i = 0; i < rp->ndrugs; i++) {
        raw(w, i ? ",{" : "{");
        if (inj)
            inj_drug(w, &rp->drugs[i]);
        else
            rx_drug(w, &rp->drugs[i]);
        raw(w, "}");
    }
    raw(w, "]");
}

static void order_json(struct ow *w, const mm_ssmix2_record *r, const struct mm_ssmix2_order *o,
                       int kind)
{
    const char *dn = o->dept_name[0] ? o->dept_name : mm_ssmix2_record_code_name(r, 0, o->dept);

    kv(w, 0, "kind", mm_ssmix2__order_kind(o->from.type));
    kv(w, 0, "order_no", o->order_no);
    kv(w, 0, "date", o->date);
    kv(w, 0, "dept", o->dept);
    kv(w, 0, "dept_name", dn);
    kv(w, 0, "doctor", o->doctor);
    kv(w, 0, "doctor_id", o->doctor_id);
    kbool(w, "inpatient", o->inpatient);
    if (kind == 2) {
        kv(w, 0, "code", o->exam_code);
        kv(w, 0, "name", o->exam_name);
        kv(w, 0, "text", o->text);
    }
    raws(w, o->raw, o->nraw);
    if (kind == 2)
        return;
    key(w, 0, "rps");
    raw(w, "[");
    for (size_t k = 0; k < o->nrps; k++) {
        raw(w, k ? ",{" : "{");
        rp_json(w, &o->rps[k], kind == 1);
        raw(w, "}");
    }
    raw(w, "]");
}

int mm_ssmix2__orders_json(const mm_ssmix2_record *r, mm_buf *b, int hist, int kind, const char *k)
{
    const struct mm_ssmix2_order *o = r->orders[kind].v;
    struct ow w = { b, 0 };
    int n = 0;

    key(&w, 0, k);
    raw(&w, "[");
    for (size_t i = 0; i < r->orders[kind].n; i++) {
        const struct mm_ssmix2_origin *from = &o[i].from;
        if (!hist && (from->flag != MM_SSMIX2_CURRENT || o[i].cancel))
            continue;
        raw(&w, n++ ? ",{" : "{");
        kv(&w, 1, "status",
           from->flag == MM_SSMIX2_CURRENT      ? "current"
           : from->flag == MM_SSMIX2_SUPERSEDED ? "superseded"
                                                : "cancelled");
        order_json(&w, r, &o[i], kind);
        raw(&w, "}");
    }
    raw(&w, "]");
    return w.err;
}
