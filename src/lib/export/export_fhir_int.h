/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the FHIR part of src/lib/export: the state of one Bundle being built (jansson
 * objects) and the helpers every resource writer shares (export_fhir.c): deterministic IDs,
 * meta, references, codings, FHIR dates. A helper that fails to allocate sets x->err and
 * returns; the writers go on and the Bundle is refused at the end, so no writer checks.
 * The code systems and profiles are those of JP Core v1.1.2 (docs/export.md).
 */
#ifndef MM_EXPORT_EXPORT_FHIR_INT_H
#define MM_EXPORT_EXPORT_FHIR_INT_H

#include <jansson.h>
#include <stddef.h>

#include "export/export.h"
#include "ssmix2/ssmix2.h"

#define MM_FHIR_JP      "http://jpfhir.jp/fhir/core/StructureDefinition/"
#define MM_FHIR_TERM    "http://terminology.hl7.org/CodeSystem/"
#define MM_FHIR_LOCAL   "http://mamori.invalid/fhir/" /* mamori's own systems (never resolved) */
#define MM_FHIR_UUID    37u                           /* a UUID's text and its NUL */
#define MM_FHIR_REF_MAX (9u + MM_FHIR_UUID)           /* "urn:uuid:" + UUID */

/* A resource written, for the references of later ones (encounters, requests). */
struct mm_export__ref {
    const char *a, *b, *c; /* what it is found by (borrowed from the record) */
    char url[MM_FHIR_REF_MAX];
};

struct mm_export__fx {
    const mm_ssmix2_record *r;
    const struct mm_export_source *src;
    mm_export_read_fn read;
    void *read_ctx;
    const char *pid;
    json_t *entries;
    char patient[MM_FHIR_REF_MAX]; /* the Patient's fullUrl */
    unsigned char (*ids)[16];      /* the IDs given so far (made unique by an occurrence count) */
    size_t nids, capids;
    struct mm_export__ref *encs, *reqs; /* encounters (date, dept, kind), requests (order, code) */
    size_t nencs, nreqs, capencs, capreqs;
    int err;
};

/* ---- export_fhir.c: the shared helpers ---- */

/*
 * A new resource of @type for the item of origin @o (NULL: the patient-level key) with the
 * item key @key: its deterministic ID (a UUID made of 128 bits of BLAKE2b of type, patient,
 * origin type, order number, care date and key, unique in the Bundle by an occurrence count),
 * meta.profile @profile (NULL: none) and meta.source (the origin's file); appended to the
 * Bundle. OUT: @url the fullUrl ("urn:uuid:..."). @return the resource (borrowed), or NULL.
 */
json_t *mm_export__resource(struct mm_export__fx *x, const char *type, const char *profile,
                            const struct mm_ssmix2_origin *o, const char *key,
                            char url[MM_FHIR_REF_MAX]);
/* Set @o[@k] to @v (taking it); NULL @v is out of memory. */
void mm_export__set(struct mm_export__fx *x, json_t *o, const char *k, json_t *v);
/* Set @o[@k] to the string @s unless it is empty. */
void mm_export__str(struct mm_export__fx *x, json_t *o, const char *k, const char *s);
/* Append @v to the array @a (taking it). */
void mm_export__push(struct mm_export__fx *x, json_t *a, json_t *v);
/* The array @o[@k], created when missing. @return it (borrowed), or NULL */
json_t *mm_export__arr(struct mm_export__fx *x, json_t *o, const char *k);
/* {"reference": @url} (with "display" unless @display is NULL or empty). */
json_t *mm_export__ref(struct mm_export__fx *x, const char *url, const char *display);
/* A Coding {system, code, display}; NULL when @code is empty. */
json_t *mm_export__coding(struct mm_export__fx *x, const char *system, const char *code,
                          const char *display);
/* A CodeableConcept of one coding (when @code is not empty) and @text (when not empty). */
json_t *mm_export__cc(struct mm_export__fx *x, const char *system, const char *code,
                      const char *display, const char *text);
/* Set @o[@k] to the FHIR dateTime of @s ("YYYY[-MM[-DD[THH:MM[:SS]]]]", Japan time) when it
 * is one; @return 1 when set, 0 when @s is empty or not a date (the caller keeps it as text) */
int mm_export__date(struct mm_export__fx *x, json_t *o, const char *k, const char *s);
/* Set @o[@k] to a FHIR decimal of @s when it is a number. @return 1 when set */
int mm_export__num(struct mm_export__fx *x, json_t *o, const char *k, const char *s);
/* A Quantity {value, unit}; NULL when @value is not a number. */
json_t *mm_export__qty(struct mm_export__fx *x, const char *value, const char *unit);
/* Append an Annotation {text: @label + @text} to @o.note when @text is not empty (to a Patient
 * or Encounter, which have no note: an extension "as-written" with the text). */
void mm_export__note(struct mm_export__fx *x, json_t *o, const char *label, const char *text);
/* Append the fields kept raw as extensions of @o (field and text, never dropped). */
void mm_export__raw(struct mm_export__fx *x, json_t *o, const struct mm_ssmix2_raw *raw, size_t n);
/* The system URI of a code whose HL7 v2 table or coding system is @sys (a JP Core OID for
 * the known ones, by the code's length for HOT), written into @buf. */
const char *mm_export__system(const char *sys, const char *code, char *buf, size_t cap);
/* Remember a resource written, found later by (@a, @b, @c). */
void mm_export__remember(struct mm_export__fx *x, int reqs, const char *a, const char *b,
                         const char *c, const char *url);
/* The encounter of an item dated @date (YYYY-MM-DD...) of department @dept, or NULL. */
const char *mm_export__encounter(const struct mm_export__fx *x, const char *date, const char *dept);
/* Whether an item is exported: its file is current. */
int mm_export__current(const struct mm_ssmix2_origin *o);

/* ---- the resource writers ---- */

void mm_export__encounters(struct mm_export__fx *x);   /* export_fhir_clin.c */
void mm_export__conditions(struct mm_export__fx *x);   /* export_fhir_clin.c */
void mm_export__allergies(struct mm_export__fx *x);    /* export_fhir_clin.c */
void mm_export__labs(struct mm_export__fx *x);         /* export_fhir_clin.c */
void mm_export__exams(struct mm_export__fx *x);        /* export_fhir_clin.c */
void mm_export__documents(struct mm_export__fx *x);    /* export_fhir_doc.c */
void mm_export__med_requests(struct mm_export__fx *x); /* export_fhir_med.c */
void mm_export__med_admins(struct mm_export__fx *x);   /* export_fhir_med.c */

#endif
