/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/ssmix2: the layout of a clinical record, shared by the reader
 * (ssmix2_record.c: extraction and loading) and its JSON writer (ssmix2_record_json.c).
 * Strings live in an arena of chunks owned by the record; items live in growable arrays.
 */
#ifndef MM_SSMIX2_SSMIX2_INT_H
#define MM_SSMIX2_SSMIX2_INT_H

#include <stddef.h>

#include "ssmix2/ssmix2.h"

struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
};

struct vec {
    void *v;
    size_t n, cap;
};

/* A code and the name a message gives it (ORC-17 "01^内科", a PL's location description). */
struct mm_ssmix2__code_name {
    const char *code, *name;
};

struct mm_ssmix2_record {
    struct chunk *chunks;
    struct vec patients, allergies, diagnoses, encounters, orders[3], labs, exams, admins, docs;
    struct vec fails;    /* struct mm_ssmix2_failure, one per data type, sorted by type */
    struct vec names[2]; /* struct mm_ssmix2__code_name: departments, locations */
    int oom;
};

/* The JSON value of an order's kind for its data type: "prescription", "injection", "diet", ... */
const char *mm_ssmix2__order_kind(const char *type);

/* What the record makes of a field (ssmix2_fields.c, the one table; docs/orders.md). */
enum mm_ssmix2__field_use_kind {
    MM_SSMIX2__FIELD_RAW = 0,     /* not interpreted: shown raw beside its item, counted by scan */
    MM_SSMIX2__FIELD_READ = 1,    /* read into the record's model */
    MM_SSMIX2__FIELD_PLUMBING = 2 /* message plumbing without clinical meaning (set IDs ...) */
};

/* The use of field @field (1-based) of segment @seg ("RXE"): an enum mm_ssmix2__field_use_kind. */
int mm_ssmix2__field_use(const char *seg, int field);

#endif
