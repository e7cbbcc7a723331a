/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The current allergy list of a record (docs/orders.md): the union of the current files'
 * allergies — the newest current ADT-61, the newest current ADT-00, then every other current
 * message newest first — each allergen once (same type and code, or without codes the same
 * name), held by the first file that names it, the other files' data types as "also in". The
 * one place that decides it: the record JSON (so the viewer and `show`), the CSV and the FHIR
 * export all list what this returns.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "ssmix2/ssmix2.h"
#include "ssmix2/ssmix2_int.h"

int mm_ssmix2_record_allergy_current(const mm_ssmix2_record *r, const struct mm_ssmix2_allergy *a)
{
    const struct mm_ssmix2_origin *o = &a->from;
    int k = strcmp(o->type, "ADT-61") == 0 ? 0 : strcmp(o->type, "ADT-00") == 0 ? 1 : -1;

    if (o->flag != MM_SSMIX2_CURRENT)
        return 0;
    return k < 0 || (r->allergy_src[k] && strcmp(o->file_time, r->allergy_src[k]) == 0);
}

/* A current allergy: its rank in the list and its index in the record. */
struct al_pick {
    int rank; /* 0 newest current ADT-61, 1 newest current ADT-00, 2 other current messages */
    const struct mm_ssmix2_allergy *a;
    size_t i; /* index in the record, for a stable order */
};

/* The list's order: by rank, the others newest first, then as recorded. */
static int cmp_pick(const void *x, const void *y)
{
    const struct al_pick *a = x, *b = y;
    int c;

    if (a->rank != b->rank)
        return a->rank - b->rank;
    if (a->rank == 2 && (c = strcmp(b->a->from.file_time, a->a->from.file_time)) != 0)
        return c; /* newest first */
    return a->i < b->i ? -1 : a->i > b->i;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

int mm_ssmix2_allergy_same(const struct mm_ssmix2_allergy *a, const struct mm_ssmix2_allergy *b)
{
    if (strcmp(a->type, b->type) != 0)
        return 0;
    if (a->code[0] || b->code[0])
        return strcmp(a->code, b->code) == 0;
    return strcmp(a->name, b->name) == 0;
}

/* Whether two items come from the same file (type, file time and order number). */
static int same_origin(const struct mm_ssmix2_origin *a, const struct mm_ssmix2_origin *b)
{
    return strcmp(a->type, b->type) == 0 && strcmp(a->file_time, b->file_time) == 0 &&
           strcmp(a->order_no, b->order_no) == 0;
}

/* The current allergies of @r in the list's order into @pk (room for all), flagged in @cur;
 * @return their count */
static size_t pick_current(const mm_ssmix2_record *r, struct al_pick *pk, unsigned char *cur)
{
    const struct mm_ssmix2_allergy *a;
    size_t n = mm_ssmix2_record_allergies(r, &a), np = 0;

    for (size_t i = 0; i < n; i++) {
        const char *t = a[i].from.type;
        if (!mm_ssmix2_record_allergy_current(r, &a[i]))
            continue;
        pk[np++] = (struct al_pick){ strcmp(t, "ADT-61") == 0   ? 0
                                     : strcmp(t, "ADT-00") == 0 ? 1
                                                                : 2,
                                     &a[i], i };
        cur[i] = 1;
    }
    if (np > 1)
        qsort(pk, np, sizeof(*pk), cmp_pick);
    return np;
}

int mm_ssmix2_record_allergy_list(const mm_ssmix2_record *r, struct mm_ssmix2_allergy_list *out)
{
    const struct mm_ssmix2_allergy *a;
    size_t n = mm_ssmix2_record_allergies(r, &a);
    struct mm_ssmix2_allergy_list l = { 0 };
    struct al_pick *pk = NULL;
    size_t np, nalso = 0;

    if (n == 0) {
        *out = l;
        return 0;
    }
    if (!(pk = mm_calloc(n, sizeof(*pk))) || !(l.v = mm_calloc(n, sizeof(*l.v))) ||
        !(l.current = mm_calloc(n, 1)) || !(l.also_mem_ = mm_calloc(n, sizeof(*l.also_mem_)))) {
        mm_free(pk);
        mm_ssmix2_allergy_list_release(&l);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    np = pick_current(r, pk, l.current);
    for (size_t k = 0; k < np; k++) {
        struct mm_ssmix2_allergy_item *it;
        size_t j;
        for (j = 0; j < k && !mm_ssmix2_allergy_same(pk[j].a, pk[k].a); j++)
            ;
        if (j < k)
            continue; /* listed with the first that names it */
        it = &l.v[l.n++];
        it->a = pk[k].a;
        it->also = l.also_mem_ + nalso;
        for (j = k + 1; j < np; j++)
            if (mm_ssmix2_allergy_same(pk[j].a, pk[k].a) &&
                !same_origin(&pk[j].a->from, &pk[k].a->from))
                l.also_mem_[nalso + it->nalso++] = pk[j].a->from.type;
        if (it->nalso > 1)
            qsort(l.also_mem_ + nalso, it->nalso, sizeof(*l.also_mem_), cmp_str);
        nalso += it->nalso;
    }
    mm_free(pk);
    *out = l;
    return 0;
}

void mm_ssmix2_allergy_list_release(struct mm_ssmix2_allergy_list *l)
{
    if (!l)
        return;
    mm_free(l->v);
    mm_free(l->current);
    mm_free(l->also_mem_);
    memset(l, 0, sizeof(*l));
}
