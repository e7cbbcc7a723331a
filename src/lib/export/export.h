/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hand-over of records (`mamori export`): a generation's SS-MIX2 patients written out as FHIR R4
 * resources following the JP Core profiles (one Bundle per patient, export_fhir*.c) and as flat
 * CSV tables (export_csv.c), UTF-8. Only current items are exported: a cancelled (_0) or
 * superseded (_2) file never gives a resource or a row, and a patient's export holds nothing of
 * another patient. What could not be read is said in the output (an OperationOutcome in the
 * Bundle, read_failures.csv), never left out silently. Resource IDs are deterministic: the same
 * item exports to the same ID from every generation that holds it. export.c drives it: the
 * generation's patient folders are restored into a private scratch folder (0700) inside the
 * output folder, read with mm_ssmix2_record_load(), written out, and the scratch removed.
 * No message names a patient.
 */
#ifndef MM_EXPORT_EXPORT_H
#define MM_EXPORT_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "repo/repo.h"
#include "ssmix2/ssmix2.h"

/* Largest document or image file embedded as a FHIR Binary (larger: referenced, said so). */
#define MM_EXPORT_BINARY_MAX (32u * 1024u * 1024u)

/* What an export is taken from: recorded in every resource's meta and in the CSV rows. */
struct mm_export_source {
    const char *repo_id;    /* the repository's ID (32 hex digits) */
    const char *generation; /* the generation's ID (64 hex digits) */
    const char *gen_time;   /* its end time as a FHIR instant, "2026-12-07T02:00:00+09:00" */
    /* 医療機関コード (10 digits) for JP Core identifier systems, or "" when not known (then the
     * system says it is local) */
    const char *facility;
};

/*
 * Read one file of the patient's extended storage (a document or image), @rel relative to the
 * extended storage root (the document's folder '/' file name), into @out (at most @limit bytes).
 * @return 0, MM_ENOTFOUND, MM_ELIMIT (larger than @limit), MM_EIO, MM_ECORRUPT
 */
typedef int (*mm_export_read_fn)(void *ctx, const char *rel, size_t limit, mm_buf *out);

/*
 * Append patient @r's current record as one FHIR R4 Bundle (type "collection", JSON, UTF-8) to
 * @out: Patient (JP_Patient), Encounter, Condition, AllergyIntolerance, MedicationRequest
 * (prescriptions and injections, one per drug line, the dose per timing and the day pattern kept
 * as separate dosage instructions, never flattened), MedicationAdministration, Observation (lab
 * results), DocumentReference and Binary (documents and images; Binary only when @read is given
 * and the file is at most MM_EXPORT_BINARY_MAX), and an OperationOutcome listing the data types
 * that could not be read. The SS-MIX2 codes are carried as codings (ICD-10, MEDIS, HOT, YJ,
 * JLAC10, JAMI 用法, JHSD tables); every resource's meta.source names the message file it came
 * from; every reference resolves inside the Bundle.
 * @param read NULL: documents are referenced by name only
 * @return 0, MM_EINVAL (no patient identity in @r), MM_ELIMIT, MM_ENOMEM, MM_EIO
 */
int mm_export_fhir_bundle(const mm_ssmix2_record *r, const struct mm_export_source *src,
                          mm_export_read_fn read, void *read_ctx, mm_buf *out);

/* The CSV tables of an export, open for appending patients. */
typedef struct mm_export_csv mm_export_csv;

/*
 * Create the CSV tables in the folder @dir (patients.csv, encounters.csv, diagnoses.csv,
 * allergies.csv, prescriptions.csv, injections.csv, administrations.csv, labs.csv, exams.csv,
 * documents.csv, read_failures.csv): UTF-8 with a BOM, CRLF line ends, RFC 4180 quoting, a header
 * row; a cell that starts with = + - @ (or a tab or CR) is escaped with a leading apostrophe so
 * that a spreadsheet does not run it. Written under temporary names until mm_export_csv_close().
 * @param[out] out owned by the caller (mm_export_csv_free); untouched on failure
 * @return 0, MM_EEXISTS (a table is there already), MM_EIO, MM_ENOMEM
 */
int mm_export_csv_open(mm_export_csv **out, const char *dir);

/*
 * Append patient @r's current items as rows (every row starts with the patient ID, and ends
 * with the source file and the generation).
 * @return 0, MM_EIO, MM_ENOMEM
 */
int mm_export_csv_add(mm_export_csv *c, const mm_ssmix2_record *r,
                      const struct mm_export_source *src);

/*
 * Flush, fsync and give every table its final name.
 * @return 0, MM_EIO (the temporary files are removed by mm_export_csv_free)
 */
int mm_export_csv_close(mm_export_csv *c);

/* Free @c, removing tables not closed. Accepts NULL. */
void mm_export_csv_free(mm_export_csv *c);

enum mm_export_formats { MM_EXPORT_FHIR = 1 << 0, MM_EXPORT_CSV = 1 << 1 };

/* Called after each patient written (the CLI writes its audit event). @patient is the ID. */
typedef void (*mm_export_patient_fn)(const char *patient, unsigned int formats, void *ctx);

struct mm_export_opts {
    const char *generation; /* "latest", "good", an ID or prefix; NULL: "good" */
    const char *patient;    /* one patient's ID, or NULL for every patient of the generation */
    unsigned int formats;   /* enum mm_export_formats, at least one */
    const char *out_dir;    /* created if missing; must not hold an earlier export */
    const char *facility;   /* 医療機関コード override, or NULL (taken from the messages) */
    unsigned int threads;   /* restore threads; 0: default */
    mm_export_patient_fn patient_done; /* NULL: none */
    mm_repo_progress_fn progress;      /* NULL: none */
    mm_repo_problem_fn problem;        /* damaged files met (left out, counted, said) */
    void *ctx;
};

struct mm_export_stats {
    char generation[MM_CRYPTO_HEX_SIZE]; /* the generation exported */
    uint64_t patients;                   /* patients written */
    uint64_t resources;                  /* FHIR resources written */
    uint64_t rows;                       /* CSV rows written (headers not counted) */
    uint64_t unreadable;                 /* patients with read failures (said in their output) */
    uint64_t damaged;                    /* files the restore left out as damaged */
};

/*
 * Export @o->patient (or every patient) of generation @o->generation of @r into @o->out_dir:
 * fhir/<patient ID>.json (one Bundle each) and/or csv/<table>.csv.
 * @param[out] st what was written (may be NULL)
 * @return 0, MM_ENOTFOUND (no such generation, no SS-MIX2 storage in it, or no such patient),
 *         MM_EEXISTS (the output folder holds an earlier export), MM_EINVAL, MM_ECORRUPT,
 *         MM_EIO, MM_ENOMEM; on failure no Bundle or table is left cut short (Bundles of the
 *         patients done before stay, each reported through patient_done)
 */
int mm_export_run(mm_repo *r, const struct mm_export_opts *o, struct mm_export_stats *st);

#endif
