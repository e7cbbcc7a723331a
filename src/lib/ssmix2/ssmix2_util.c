/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The record's arena and arrays, and the small field readers every extractor of
 * src/lib/ssmix2 shares (demographics and results in ssmix2_record.c, orders in
 * ssmix2_order.c): a value is copied into the record's arena once, HL7's null ("") reads
 * as no value, dates become ISO 8601.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "ssmix2/ssmix2.h"
#include "ssmix2/ssmix2_int.h"

/* ---- arena and arrays ---- */

const char *mm_ssmix2__sdupn(mm_ssmix2_record *r, const char *s, size_t n)
{
    struct chunk *c = r->chunks;
    char *p;

    if (n == 0)
        return "";
    if (!c || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > 16384 ? n + 1 : 16384;
        c = mm_malloc(sizeof(*c) + cap);
        if (!c) {
            r->oom = 1;
            return "";
        }
        c->next = r->chunks;
        c->used = 0;
        c->cap = cap;
        r->chunks = c;
    }
    p = c->data + c->used;
    memcpy(p, s, n);
    p[n] = '\0';
    c->used += n + 1;
    return p;
}

const char *mm_ssmix2__sdup(mm_ssmix2_record *r, const char *s)
{
    return s ? mm_ssmix2__sdupn(r, s, strlen(s)) : "";
}

/* A new zeroed element at the end of @v, or NULL when out of memory. */
void *mm_ssmix2__push(mm_ssmix2_record *r, struct vec *v, size_t elem)
{
    char *base;

    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        void *n = mm_realloc(v->v, cap * elem);
        if (!n) {
            r->oom = 1;
            return NULL;
        }
        v->v = n;
        v->cap = cap;
    }
    base = v->v;
    memset(base + v->n * elem, 0, elem);
    return base + v->n++ * elem;
}

/* Arena copy of @n bytes (order parts are copied whole once an order is complete). */
void *mm_ssmix2__adup(mm_ssmix2_record *r, const void *p, size_t n)
{
    struct chunk *c = r->chunks;
    void *d;
    size_t align = (c ? (8 - (c->used % 8)) % 8 : 0);

    if (n == 0)
        return NULL;
    if (!c || c->cap - c->used < n + align) {
        size_t cap = n + 8 > 16384 ? n + 8 : 16384;
        c = mm_malloc(sizeof(*c) + cap);
        if (!c) {
            r->oom = 1;
            return NULL;
        }
        c->next = r->chunks;
        c->used = 0;
        c->cap = cap;
        r->chunks = c;
        align = 0;
    }
    c->used += align;
    d = c->data + c->used;
    memcpy(d, p, n);
    c->used += n;
    return d;
}

/* ---- small field helpers ---- */

/* "YYYYMMDD[HHMM...]" -> "YYYY-MM-DD" or, with @minute and enough digits, "YYYY-MM-DDTHH:MM";
 * input with fewer than 8 digits is kept as written. */
const char *mm_ssmix2__iso(mm_ssmix2_record *r, const char *ts, int minute)
{
    size_t digits = strspn(ts, "0123456789");
    char b[17];

    if (digits < 8)
        return mm_ssmix2__sdup(r, ts);
    memcpy(b, ts, 4);
    b[4] = '-';
    memcpy(b + 5, ts + 4, 2);
    b[7] = '-';
    memcpy(b + 8, ts + 6, 2);
    if (!minute || digits < 12)
        return mm_ssmix2__sdupn(r, b, 10);
    b[10] = 'T';
    memcpy(b + 11, ts + 8, 2);
    b[13] = ':';
    memcpy(b + 14, ts + 10, 2);
    return mm_ssmix2__sdupn(r, b, 16);
}

const char *mm_ssmix2__iso_date(mm_ssmix2_record *r, const char *ts)
{
    return mm_ssmix2__iso(r, ts, 0);
}

const char *mm_ssmix2__iso_minute(mm_ssmix2_record *r, const char *ts)
{
    return mm_ssmix2__iso(r, ts, 1);
}

const char *mm_ssmix2__hhmm(mm_ssmix2_record *r, const char *ts)
{
    char b[8];

    if (strspn(ts, "0123456789") < 12)
        return "";
    snprintf(b, sizeof(b), "%.2s:%.2s", ts + 8, ts + 10);
    return mm_ssmix2__sdup(r, b);
}

/* @v, or "" for HL7's null ("": the sender says there is no value, not two quotes). */
const char *mm_ssmix2__unnull(const char *v)
{
    return strcmp(v, "\"\"") == 0 ? "" : v;
}

/* Family and given name of an XPN/XCN repetition joined by a space. */
const char *mm_ssmix2__person(mm_ssmix2_record *r, mm_hl7_msg *m, size_t seg, int field, int rep,
                              int family_comp)
{
    const char *f = mm_hl7_get(m, seg, field, rep, family_comp, 1);
    const char *g = mm_hl7_get(m, seg, field, rep, family_comp + 1, 1);
    char b[512];

    if (!f || !g)
        return "";
    f = mm_ssmix2__unnull(f);
    g = mm_ssmix2__unnull(g);
    if (!g[0])
        return mm_ssmix2__sdup(r, f);
    if (!f[0])
        return mm_ssmix2__sdup(r, g);
    snprintf(b, sizeof(b), "%s %s", f, g);
    return mm_ssmix2__sdup(r, b);
}

/* Remember that @code is called @name (kind 0 departments, 1 locations); the first name wins. */
void mm_ssmix2__learn_name(mm_ssmix2_record *r, int kind, const char *code, const char *name)
{
    struct vec *v = &r->names[kind];
    struct mm_ssmix2__code_name *e = v->v;

    if (!code[0] || !name[0])
        return;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(e[i].code, code) == 0)
            return;
    if ((e = mm_ssmix2__push(r, v, sizeof(*e))) != NULL) {
        e->code = code;
        e->name = name;
    }
}

/* Component @c of field @f (first repetition) as a name for the code in component 1. */
const char *mm_ssmix2__named(mm_ssmix2_record *r, mm_hl7_msg *m, size_t seg, int f, int c, int kind)
{
    const char *code = mm_ssmix2__get(r, m, seg, f, 1, 1, 1),
               *name = mm_ssmix2__get(r, m, seg, f, 1, c, 1);

    mm_ssmix2__learn_name(r, kind, code, name);
    return name;
}

const char *mm_ssmix2__get(mm_ssmix2_record *r, mm_hl7_msg *m, size_t seg, int f, int rep, int c,
                           int s)
{
    const char *v, *p;
    size_t n;

    if (seg == SIZE_MAX || mm_hl7_get_raw(m, seg, f, rep, c, s, &p, &n) != 0)
        return "";
    if (n == 2 && p[0] == '"' && p[1] == '"')
        return ""; /* HL7's null, as mm_ssmix2__unnull() */
    /* the common case, a value without escapes, is copied straight from the text */
    if (!memchr(p, '\\', n))
        return mm_ssmix2__sdupn(r, p, n);
    v = mm_hl7_get(m, seg, f, rep, c, s);
    if (!v) {
        r->oom = 1;
        return "";
    }
    return mm_ssmix2__sdup(r, v);
}

/* Borrowed value (valid until the message is freed), "" when absent. */
const char *mm_ssmix2__peek(mm_hl7_msg *m, size_t seg, int f, int rep, int c, int s)
{
    const char *v = seg == SIZE_MAX ? "" : mm_hl7_get(m, seg, f, rep, c, s);

    return v ? mm_ssmix2__unnull(v) : "";
}

void mm_ssmix2__set_origin(mm_ssmix2_record *r, struct mm_ssmix2_origin *o,
                           const struct mm_ssmix2_name *name, const char *type)
{
    const char *t = name->timestamp;
    char b[24];

    o->flag = name->flag;
    o->type = type;
    o->order_no = mm_ssmix2__sdup(r, name->order_no);
    snprintf(b, sizeof(b), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", t, t + 4, t + 6, t + 8, t + 10, t + 12);
    o->file_time = mm_ssmix2__sdup(r, b);
    o->care_date = strcmp(name->date, "-") == 0 ? "" : mm_ssmix2__iso_date(r, name->date);
    if (r->cur_file) {
        o->file = mm_ssmix2__sdup(r, r->cur_file);
    } else {
        /* added without a path: the standard layout's <pid[0:3]>/<pid[3:6]>/<pid>/<date>/... */
        const char *pid = name->patient_id;
        size_t n = strlen(pid);
        char f[4 * MM_LIMIT_PATIENT_ID + 2 * MM_SSMIX2_TYPE_MAX + 256];
        snprintf(f, sizeof(f), "%.3s/%.3s/%s/%s/%s/%s_%s_%s_%s_%s_%s_%d", pid, n > 3 ? pid + 3 : "",
                 pid, name->date, name->type, pid, name->date, name->type, name->order_no,
                 name->timestamp, name->dept, (int)name->flag);
        o->file = mm_ssmix2__sdup(r, f);
    }
}

/* Move the @elem-sized items of the scratch vector @v into the arena. OUT: *n */
const void *mm_ssmix2__settle(mm_ssmix2_record *r, struct vec *v, size_t elem, size_t *n)
{
    const void *p = v->n ? mm_ssmix2__adup(r, v->v, v->n * elem) : NULL;

    *n = p ? v->n : 0;
    mm_free(v->v);
    memset(v, 0, sizeof(*v));
    return p;
}
