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
    struct vec fails;         /* struct mm_ssmix2_failure, one per data type, sorted by type */
    struct vec names[2];      /* struct mm_ssmix2__code_name: departments, locations */
    struct vec uninterpreted; /* struct mm_ssmix2_uninterpreted: raw fields of non-order messages */
    size_t raw_shown;         /* non-empty fields captured raw so far (mm_ssmix2__raw_add) */
    const char *allergy_src[2]; /* file times of the newest current ADT-61 and ADT-00 */
    const char *cur_file;       /* path of the file being added (the loader's), or NULL */
    struct mm_ssmix2_field_counts counts;
    int oom;
};

/* The JSON value of an order's kind for its data type: "prescription", "injection", "diet", ... */
const char *mm_ssmix2__order_kind(const char *type);

/* ---- orders (ssmix2_order.c, JSON in ssmix2_order_json.c) ---- */

/* Add the order of message @m (OMP-01/02 with its Rps and lines, or any other order). */
void mm_ssmix2__add_order(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o0, mm_hl7_msg *m);
/* Add the administrations (RXA) of an OMP-11 / OMP-12 message. */
void mm_ssmix2__add_admins(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o0, mm_hl7_msg *m);
/*
 * Append the list "@key":[...] of the orders of @kind (0 prescriptions, 1 injections, 2 other
 * orders) to @b, preceded by a comma: current ones, or all marked with their status when @hist.
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_ssmix2__orders_json(const mm_ssmix2_record *r, mm_buf *b, int hist, int kind,
                           const char *key);

/* ---- the arena and field readers every extractor shares (ssmix2_util.c) ---- */

/* Arena copy of @n bytes of @s, NUL-terminated; "" for n 0 or out of memory (r->oom set). */
const char *mm_ssmix2__sdupn(mm_ssmix2_record *r, const char *s, size_t n);
/* Arena copy of the string @s ("" for NULL). */
const char *mm_ssmix2__sdup(mm_ssmix2_record *r, const char *s);
/* A new zeroed element at the end of @v, or NULL when out of memory (r->oom set). */
void *mm_ssmix2__push(mm_ssmix2_record *r, struct vec *v, size_t elem);
/* Arena copy of @n bytes, 8-byte aligned; NULL for n 0 or out of memory. */
void *mm_ssmix2__adup(mm_ssmix2_record *r, const void *p, size_t n);
/* Move the @elem-sized items of the scratch vector @v into the arena and empty @v. OUT: *n */
const void *mm_ssmix2__settle(mm_ssmix2_record *r, struct vec *v, size_t elem, size_t *n);
/* "YYYYMMDD[HHMM...]" -> "YYYY-MM-DD" or, with @minute and enough digits, "YYYY-MM-DDTHH:MM";
 * fewer than 8 digits are kept as written. */
const char *mm_ssmix2__iso(mm_ssmix2_record *r, const char *ts, int minute);
const char *mm_ssmix2__iso_date(mm_ssmix2_record *r, const char *ts);
const char *mm_ssmix2__iso_minute(mm_ssmix2_record *r, const char *ts);
/* "HH:MM" of a time stamp with at least 12 digits, else "". */
const char *mm_ssmix2__hhmm(mm_ssmix2_record *r, const char *ts);
/* @v, or "" for HL7's null ("": the sender says there is no value, not two quotes). */
const char *mm_ssmix2__unnull(const char *v);
/* Family and given name of an XPN/XCN repetition joined by a space. */
const char *mm_ssmix2__person(mm_ssmix2_record *r, mm_hl7_msg *m, size_t seg, int field, int rep,
                              int family_comp);
/* Remember that @code is called @name (kind 0 departments, 1 locations); the first name wins. */
void mm_ssmix2__learn_name(mm_ssmix2_record *r, int kind, const char *code, const char *name);
/* Component @c of field @f (first repetition) as a name for the code in component 1. */
const char *mm_ssmix2__named(mm_ssmix2_record *r, mm_hl7_msg *m, size_t seg, int f, int c,
                             int kind);
/* Arena copy of a value ("" when absent, HL7 null or seg SIZE_MAX). */
const char *mm_ssmix2__get(mm_ssmix2_record *r, mm_hl7_msg *m, size_t seg, int f, int rep, int c,
                           int s);
/* Borrowed value (valid until the message is freed), "" when absent or HL7 null. */
const char *mm_ssmix2__peek(mm_hl7_msg *m, size_t seg, int f, int rep, int c, int s);
/* Where an item came from: the file name's flag, type, order number, time and date folder. */
void mm_ssmix2__set_origin(mm_ssmix2_record *r, struct mm_ssmix2_origin *o,
                           const struct mm_ssmix2_name *name, const char *type);

/* What the record makes of a field (ssmix2_fields.c, the one table; docs/orders.md). */
enum mm_ssmix2__field_use_kind {
    MM_SSMIX2__FIELD_RAW = 0,     /* not interpreted: shown raw beside its item, counted by scan */
    MM_SSMIX2__FIELD_READ = 1,    /* read into the record's model */
    MM_SSMIX2__FIELD_PLUMBING = 2 /* message plumbing without clinical meaning (set IDs ...) */
};

/*
 * Append to the scratch vector @v (of struct mm_ssmix2_raw) field @f of segment @seg as
 * written ({"RXE-8", text}), or with @f 0 the whole segment ({"NTE", text after the ID}),
 * when non-empty; counts what it shows in r->raw_shown.
 */
void mm_ssmix2__raw_add(mm_ssmix2_record *r, struct vec *v, mm_hl7_msg *m, size_t seg, int f);
/* Append @v's @n raw fields to @b as the JSON array [{"field":…,"text":…}…] (orders' raw[],
 * the record's uninterpreted fields). @return 0, MM_ELIMIT, MM_ENOMEM */
int mm_ssmix2__raw_json(mm_buf *b, const struct mm_ssmix2_raw *v, size_t n);
/* Append every non-empty field of segment @seg that the table says is not interpreted. */
void mm_ssmix2__raw_segment(mm_ssmix2_record *r, struct vec *v, mm_hl7_msg *m, size_t seg);
/*
 * Count the non-empty fields of @m by their use into r->counts; the fields not interpreted
 * that the extractors showed raw while adding @m (r->raw_shown grew from @shown_before) are
 * "raw", the rest "dropped". mm_ssmix2_record_add() calls it after every message.
 */
void mm_ssmix2__fields_tally(mm_ssmix2_record *r, mm_hl7_msg *m, size_t shown_before);

/* The use of field @field (1-based) of segment @seg ("RXE"): an enum mm_ssmix2__field_use_kind. */
int mm_ssmix2__field_use(const char *seg, int field);
/* Whether segment @seg has a row in the table (else it is not understood at all: NTE, Z...). */
int mm_ssmix2__segment_known(const char *seg);

/* ---- what every message says about the patient (ssmix2_patient.c) ---- */

/* The PID of @m: in full for an ADT-00 (with NK1, IN1, OBX measures), else as the stand-in
 * identity when @o is current and newer than the stand-in kept (docs/orders.md). */
void mm_ssmix2__add_identity(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o, mm_hl7_msg *m);
/* Every AL1 and IAM of @m (any data type) as an allergy of origin @o; IAM-6 D is left out. */
void mm_ssmix2__add_allergies(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o, mm_hl7_msg *m);
/* Whether data type @type is an order (OMP-01/02, OML-01, OMG-01/02/03, OMD): its fields
 * not interpreted go to its order's raw[], not to the record's "uninterpreted" list. */
int mm_ssmix2__order_type(const char *type);
/* The non-empty fields of @m that the table does not interpret (whole segments for those
 * without a row) as one entry of r->uninterpreted; nothing when there are none. */
void mm_ssmix2__add_uninterpreted(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o,
                                  mm_hl7_msg *m);

#endif
