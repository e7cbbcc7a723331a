/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SS-MIX2 storage names: the strict parser for standardized-storage file names
 * (<pid>_<date|->_<type>_<order>_<timestamp>_<dept>_<flag>), the lenient one for
 * extended-storage content folders (6 or 7 fields, the type may hold ^, _ and
 * UTF-8 Japanese), the check that a file sits in the folders its name implies,
 * and the registry of the 26 standardized data-type folders (pure functions on
 * bytes: no file-system access, no allocation, safe from any thread); and the
 * clinical record of one patient extracted from its message files (ssmix2_record.c).
 * Error messages name the field that is wrong, never its value (it may be the
 * patient ID), and never quote message content.
 */
#ifndef MM_SSMIX2_SSMIX2_H
#define MM_SSMIX2_SSMIX2_H

#include <stddef.h>

#include "common/limits.h"
#include "hl7/hl7.h"

/* Field widths of the SS-MIX2 naming rules (guideline 1.2 and INDEX DB column sizes). */
#define MM_SSMIX2_DATE_LEN      8u   /* YYYYMMDD */
#define MM_SSMIX2_TYPE_MAX      180u /* INDEX DB DataKind */
#define MM_SSMIX2_KEY_MAX       64u  /* extended-storage 特定キー; orders are 13-15 digits */
#define MM_SSMIX2_ORDER_MIN     13u
#define MM_SSMIX2_ORDER_MAX     15u
#define MM_SSMIX2_TIMESTAMP_MIN 15u /* yyyyMMddHHmmss + at least one fraction digit */
#define MM_SSMIX2_TIMESTAMP_MAX 17u /* yyyyMMddHHmmssfff */
#define MM_SSMIX2_DEPT_MAX      3u

/* The condition flag, the last field of every name. */
enum mm_ssmix2_flag { MM_SSMIX2_CANCELLED = 0, MM_SSMIX2_CURRENT = 1, MM_SSMIX2_SUPERSEDED = 2 };

/* One parsed name. Every string is NUL-terminated and a copy of the bytes in the name. */
struct mm_ssmix2_name {
    char patient_id[MM_LIMIT_PATIENT_ID + 1];
    char date[MM_SSMIX2_DATE_LEN + 1];    /* "YYYYMMDD" or "-" */
    char type[MM_SSMIX2_TYPE_MAX + 1];    /* "OMP-01", or an extended data-type folder name */
    char order_no[MM_SSMIX2_KEY_MAX + 1]; /* 13-15 digits, or an extended 特定キー */
    char timestamp[MM_SSMIX2_TIMESTAMP_MAX + 1];
    char dept[MM_SSMIX2_DEPT_MAX + 1]; /* "-", 2-3 characters, "" in the 6-field extended form */
    enum mm_ssmix2_flag flag;
    int nfields; /* 7, or 6 for the extended form without a department */
};

/* One standardized data-type folder. */
struct mm_ssmix2_type {
    const char *folder;     /* "OMP-01" */
    const char *name_ja;    /* 処方オーダ */
    const char *name_en;    /* prescription order */
    const char *hl7;        /* message type of the regular message, "RDE^O11" */
    const char *hl7_cancel; /* cancel event ("ADT^A23"), NULL when orders cancel by ORC-1 */
    const char *care_date;  /* field giving the date folder ("ORC-9"), NULL when dateless */
    int dateless;           /* 1 when the files live in the "-" date folder */
};

/*
 * Parse a standardized-storage file name of exactly 7 fields, validated strictly:
 * a real date or "-", a known data type, a 13-15 digit order number, a 15-17 digit
 * timestamp starting with a real yyyyMMddHHmmss, "-" or 2-3 letters/digits as the
 * department, and 0, 1 or 2 as the flag.
 * @param[out] out the fields; untouched on failure
 * @param name the name's bytes (need not be NUL-terminated), @n of them
 * @return 0, MM_ECORRUPT when the name breaks a rule (the message names the field, never
 *         its value), MM_EINVAL when @out or @name is NULL (MM_ASSERT_ARG: debug builds
 *         assert instead)
 */
int mm_ssmix2_parse_name(struct mm_ssmix2_name *out, const char *name, size_t n);

/*
 * Parse an extended-storage content-folder name, 7 fields
 * (<pid>_<date|->_<type>_<key>_<timestamp>_<dept>_<flag>) or the 6-field form without
 * the department that real storages also write. The patient ID and date are read from
 * the left and the rest from the right, so the data type in the middle may contain
 * '_', '^' and any non-control bytes (it is kept as opaque bytes, up to 180). The key
 * is free-form up to 64 bytes without '_'.
 * @param[out] out the fields (dept is "" and nfields 6 in the short form); untouched
 *             on failure
 * @return 0, MM_ECORRUPT (message names the field), MM_EINVAL when @out or @name is NULL
 */
int mm_ssmix2_parse_content_folder(struct mm_ssmix2_name *out, const char *name, size_t n);

/*
 * Check a path relative to a standardized storage root,
 * <pid[0:3]>/<pid[3:6]>/<pid>/<date|->/<type>/<file>: the file name parses and every
 * folder agrees with it. For patient IDs shorter than 6 characters the two prefix
 * folders are accepted as they are found when, read one after the other, they are a
 * prefix of the ID (the rule is not published, so it is discovered, not computed).
 * @param[out] out the parsed file name; untouched on failure
 * @param relpath NUL-terminated, '/'-separated, no leading '/', no empty levels
 * @return 0, MM_ECORRUPT with one distinct message per mismatch (level count, patient
 *         folder, first or second prefix folder, date folder, data-type folder) or the
 *         file name's own error, MM_EINVAL when an argument is NULL
 */
int mm_ssmix2_check_path(struct mm_ssmix2_name *out, const char *relpath);

/*
 * Look up a standardized data-type folder by its exact name ("OMP-01").
 * @return the entry (static, never freed), or NULL when @type is not one of the 26
 */
const struct mm_ssmix2_type *mm_ssmix2_type_find(const char *type);

/*
 * The registry of all 26 data-type folders in guideline order (ADT-00 ... OMG-13).
 * @param[out] count number of entries
 * @return the static array; an entry's index is stable and may be used to index counters
 */
const struct mm_ssmix2_type *mm_ssmix2_types(size_t *count);

/* ---- finding storages (ssmix2_detect.c) ------------------------------------------------- */

/* Levels below a given folder where mm_ssmix2_detect() looks for storages (0: the folder). */
#define MM_SSMIX2_DETECT_DEPTH 4u
/* Further levels looked at only to count storages too deep to be reported (too_deep). */
#define MM_SSMIX2_DETECT_BEYOND 4u
/* Most storages one mm_ssmix2_detect() reports (further ones set incomplete). */
#define MM_SSMIX2_DETECT_MAX 64u

enum mm_ssmix2_storage_kind { MM_SSMIX2_STORAGE_STANDARD = 1, MM_SSMIX2_STORAGE_EXTENDED = 2 };

/* One storage found. */
struct mm_ssmix2_storage {
    char *path;     /* the given folder, '/', and rel (the given folder itself when rel is "") */
    char *rel;      /* '/'-separated path below the given folder, "" for the folder itself */
    size_t root;    /* index of the given folder it was found under */
    unsigned depth; /* levels below the given folder, 0 to MM_SSMIX2_DETECT_DEPTH */
    enum mm_ssmix2_storage_kind kind;
    long pair; /* index in the list of the storage it is paired with (extended beside
                  standardized, or the reverse), -1 for none */
};

struct mm_ssmix2_detection {
    struct mm_ssmix2_storage *v; /* shallowest first per given folder, then by name */
    size_t n;
    size_t unreadable; /* folders that could not be opened (skipped) */
    size_t too_deep;   /* storages found more than MM_SSMIX2_DETECT_DEPTH levels down (not
                          reported in v: a sign that a storage was moved out of reach) */
    int incomplete;    /* a work bound was reached: folders were left unexamined */
};

/*
 * Whether @dir itself is the root of an SS-MIX2 storage, by the layout's signature (a few
 * names per level followed down to <3>/<3>/<pid>/<date|->/<type>/ and a message file name
 * that parses and agrees with those folders, or an extended content folder that does).
 * Links are not followed; at most a hundred folders are opened.
 * @return MM_SSMIX2_STORAGE_STANDARD, MM_SSMIX2_STORAGE_EXTENDED, or 0 (neither, or unreadable)
 */
int mm_ssmix2_storage_kind(const char *dir);

/*
 * Find the SS-MIX2 standardized and extended storages at or below each of the @nroots
 * folders @roots, up to MM_SSMIX2_DETECT_DEPTH levels down, whatever the folders are called
 * (mm_ssmix2_storage_kind on each folder, breadth first; a storage's own folders are not
 * searched further); storages up to MM_SSMIX2_DETECT_BEYOND levels deeper are only counted
 * (out->too_deep), so that a caller can say so rather than silently leave them out. Bounded
 * work, shallow folders first: at most 4,096 folders opened per given folder, 4,096
 * entries read per folder (their subfolders followed no further than the opens left could
 * reach); hitting a bound sets out->incomplete. Symbolic links are never followed; unreadable
 * folders are counted. Each standardized storage is paired with the extended storage in the same
 * parent folder, or, when exactly one of each is found, with that one.
 * @param[out] out the storages, owned by the caller (mm_ssmix2_detection_release), also when
 *             none is found; zeroed on failure
 * @return 0, MM_ENOMEM, MM_EINVAL (NULL @out)
 */
int mm_ssmix2_detect(const char *const *roots, size_t nroots, struct mm_ssmix2_detection *out);

/* Release what @d holds (not @d). Accepts NULL. */
void mm_ssmix2_detection_release(struct mm_ssmix2_detection *d);

/* ---- clinical records (ssmix2_record.c) ------------------------------------------------- */

/*
 * A patient's clinical record, built from the patient's message files one by one. Every
 * item keeps the condition flag of the file it came from: only items of current (_1) files
 * are "current"; items of superseded (_2) and cancelled (_0) files stay reachable as
 * history and are never shown as current. All strings are UTF-8, NUL-terminated, never
 * NULL ("" when absent) and owned by the record until mm_ssmix2_record_free().
 */
typedef struct mm_ssmix2_record mm_ssmix2_record;

/* Where an item came from. */
struct mm_ssmix2_origin {
    enum mm_ssmix2_flag flag; /* of the file */
    const char *type;         /* data type, "OMP-01" */
    const char *order_no;     /* file-name order number */
    const char *file_time;    /* file-name time stamp as "YYYY-MM-DDTHH:MM:SS" */
    const char *care_date;    /* date folder as "YYYY-MM-DD", "" for "-" */
    const char *file;         /* the message file (or extended content folder), relative to its
                                 storage root: the path the loader read, else the standard
                                 layout's path of the name (not in the record's JSON) */
};

/* A telephone number (XTN): PID-13/14, NK1-5/6. */
struct mm_ssmix2_phone {
    const char *use;       /* HL7 0201: PRN home, ORN other (often mobile), WPN work, EMR ... */
    const char *equipment; /* HL7 0202: PH, CP (mobile), FX ... */
    const char *number;    /* XTN-12 (unformatted), else XTN-1 */
};

/* A next of kin or emergency contact (NK1), the patient's own line (NK1-3 SEL) left out. */
struct mm_ssmix2_contact {
    const char *name, *kana;                      /* NK1-2 as PID-5 */
    const char *relationship_code, *relationship; /* NK1-3.1 (HL7 0063) and NK1-3.2 */
    const char *postal_code, *address;            /* NK1-4, the first repetition */
    size_t nphones;
    const struct mm_ssmix2_phone *phones; /* NK1-5 then NK1-6 */
};

/* An insurance (IN1). */
struct mm_ssmix2_insurance {
    const char *plan_code, *plan_name;    /* IN1-2 (JHSD0001) */
    const char *insurer_no;               /* IN1-3.1 */
    const char *valid_from, *valid_to;    /* IN1-12, IN1-13 as "YYYY-MM-DD" */
    const char *relation_code, *relation; /* IN1-17 (HL7 0063) */
};

struct mm_ssmix2_patient {
    struct mm_ssmix2_origin from;
    const char *id, *name, *kana; /* name and kana: family and given joined by one space */
    const char *birth_date;       /* "YYYY-MM-DD" (or shorter when the file is less precise) */
    const char *sex;              /* HL7 0001: M F O U A N */
    const char *postal_code, *address, *phone; /* phone: the first number of PID-13 */
    const char *blood_type;                    /* "A+", "O-", "AB" (Rh missing), "" */
    const char *height_cm, *weight_kg;         /* as written */
    size_t nphones;
    const struct mm_ssmix2_phone *phones; /* every number of PID-13 then PID-14 */
    size_t ncontacts;
    const struct mm_ssmix2_contact *contacts;
    size_t ninsurance;
    const struct mm_ssmix2_insurance *insurance;
};

struct mm_ssmix2_allergy {
    struct mm_ssmix2_origin from;
    const char *type; /* HL7 0127: DA FA EA LA AA MA ... */
    const char *code, *name, *system;
    const char *severity; /* HL7 0128: SV MO MI, "" */
    const char *reaction, *onset;
};

struct mm_ssmix2_diagnosis {
    struct mm_ssmix2_origin from;
    const char *name;                  /* PRB-3.2 (PRB-17 when empty) */
    const char *icd10;                 /* PRB-10.1 as written ("K297") */
    const char *medis;                 /* PRB-3.1 */
    const char *start_date, *end_date; /* "YYYY-MM-DD"; end_date "" while active */
    const char *outcome;               /* HL7 0241 code of PRB-14, "" */
    int active;                        /* no resolution date and not deleted (PRB-1 DE) */
    int main, suspected;
};

enum mm_ssmix2_enc_kind {
    MM_ENC_OUTPATIENT,
    MM_ENC_ADMISSION,
    MM_ENC_DISCHARGE,
    MM_ENC_TRANSFER,
    MM_ENC_LEAVE,
    MM_ENC_RETURN,
    MM_ENC_PLANNED_ADMISSION,
    MM_ENC_PLANNED_TRANSFER,
    MM_ENC_PLANNED_DISCHARGE,
    MM_ENC_ATTENDING_CHANGE
};

struct mm_ssmix2_encounter {
    struct mm_ssmix2_origin from;
    enum mm_ssmix2_enc_kind kind;
    const char *kind_name;         /* "outpatient", "admission", ... (JSON value) */
    const char *date, *time;       /* "YYYY-MM-DD", "HH:MM" of the event */
    const char *dept;              /* department code (PV1-10.1) */
    const char *dept_name;         /* PV1-10.2 when the sender writes one, else "" */
    const char *ward, *room, *bed; /* PV1-3 for inpatients; clinic in ward for outpatients */
    const char *ward_name;         /* PV1-3.9 (location description), "" when absent */
    const char *prior_ward, *prior_room, *prior_bed; /* PV1-6 (transfers) */
    const char *prior_ward_name;                     /* PV1-6.9 */
    const char *doctor;                              /* PV1-7 family + " " + given */
    const char *doctor_id;                           /* PV1-7.1 */
    const char *disposition;                         /* PV1-36 */
};

/* A field the record does not interpret, as written (components, repetitions and
 * sub-components with their delimiters): shown raw beside its item, never dropped. */
struct mm_ssmix2_raw {
    const char *field; /* "RXE-8", or a segment ID ("NTE") for a whole segment */
    const char *text;
};

/* One timing of the day with its own amount (不均等: RXE-7 V codes, or several TQ1). */
struct mm_ssmix2_timing {
    int n;             /* 1 = the first timing of the day */
    const char *label; /* 朝, 昼, 夕 ... from the usage text, "" when not known */
    const char *dose;  /* as written; the unit is the line's unit */
};

/* A day pattern (JAMI 補足用法 in TQ1-3 repetitions 2..n). */
struct mm_ssmix2_pattern {
    const char *kind; /* "weekdays" (W), "interval" (I) or "other" */
    const char *code, *text;
    int weekdays[7]; /* 1 for each day of the week taken, Sunday first (weekdays) */
    int on, off;     /* days on, days off (interval) */
};

/* The place of an Rp in a taper or escalation of the same drug: step n of m (n 0: none). */
struct mm_ssmix2_step {
    int n, of;
};

/*
 * A drug: of a prescription line (RXE, JAHIS 処方データ交換規約), of an injection Rp (RXC)
 * or of an administration (RXA). Strings are "" and lists empty when absent.
 */
struct mm_ssmix2_drug {
    const char *code, *name, *system;     /* RXE-2 / RXC-2 / RXA-5 */
    const char *dose, *unit;              /* amount per administration (RXE-3, the smallest one
                                             for 不均等) and its unit name */
    const char *unit_code;                /* RXE-5.1 */
    const char *dose_max;                 /* RXE-4 */
    const char *form;                     /* RXE-6 */
    const char *yj;                       /* RXE-31 */
    const char *daily_dose, *daily_unit;  /* RXE-19 */
    const char *dispense, *dispense_unit; /* RXE-10 / RXE-11 */
    const char *class_name, *class_code;  /* RXE-27 (JHSP0003: 21 内服, 22 頓用 ...) */
    const char *rx_no;                    /* RXE-15 */
    const char *role;                     /* RXC-1: B base, A additive */
    size_t ntimings;
    const struct mm_ssmix2_timing *per_timing; /* 不均等 */
    size_t ninstructions;
    const char *const *instructions; /* RXE-7 texts */
    size_t ndispensing;
    const char *const *dispensing; /* RXE-21 texts */
    size_t nflags;
    const char *const *flags; /* 麻薬, 向精神薬, 毒薬, 劇薬, 抗がん剤 ... */
    size_t nraw;
    const struct mm_ssmix2_raw *raw; /* fields of the line not interpreted */
};

/* An Rp: the lines of an order sharing ORC-4, with the timing of its first line. */
struct mm_ssmix2_rp {
    const char *rp;                     /* ORC-4 group */
    const char *usage, *usage_code;     /* TQ1-3 repetition 1 */
    const char *days, *days_unit;       /* TQ1-6 as written ("7", "D") */
    const char *start, *end;            /* TQ1-7 / TQ1-8: "YYYY-MM-DD[THH:MM]" */
    const char *condition, *tq_text;    /* TQ1-10, TQ1-11 ("疼痛時", "1日2回まで") */
    const char *total;                  /* TQ1-14 */
    int prn;                            /* TQ1-9 PRN, RXE-27 22, or 頓用/頓服 in the usage */
    const char *route, *route_name;     /* RXR-1 */
    const char *site, *device, *method; /* RXR-2..4 */
    const struct mm_ssmix2_pattern *pattern; /* NULL when none */
    struct mm_ssmix2_step step;
    size_t ntimes;
    const char *const *times; /* TQ1-4 as "HH:MM" (or the text of a named time) */
    /* injections (OMP-02): the Rp's RXE */
    const char *type_code, *type_name;       /* RXE-2 (JHSI0002: 00 一般, 07 抗がん剤 ...) */
    const char *dose, *unit, *form, *rx_no;  /* RXE-3/5, RXE-6, RXE-15 */
    const char *class_name, *class_code;     /* RXE-27 */
    const char *rate, *rate_per, *rate_unit; /* RXE-23, RXE-22, RXE-24 */
    size_t ninstructions;
    const char *const *instructions; /* RXE-7 texts */
    size_t ndispensing;
    const char *const *dispensing; /* RXE-21 texts */
    size_t nflags;
    const char *const *flags;
    size_t nraw;
    const struct mm_ssmix2_raw *raw; /* TQ1/RXR of later lines that differ, injections' fields */
    size_t ndrugs;
    const struct mm_ssmix2_drug *drugs;
};

/* An order of any kind: prescription, injection, lab, radiology, endoscopy, physiology, diet. */
struct mm_ssmix2_order {
    struct mm_ssmix2_origin from;
    const char *order_no, *date;    /* ORC-2, ORC-9 as "YYYY-MM-DD" */
    const char *dept, *dept_name;   /* ORC-17.1, ORC-17.2 */
    const char *doctor, *doctor_id; /* ORC-12 family + " " + given, ORC-12.1 */
    int inpatient;
    int cancel;                        /* the message itself is a cancel (ORC-1 CA) */
    const char *exam_code, *exam_name; /* OBR-4 of exam orders */
    const char *text;                  /* diet name, findings, ... */
    size_t nraw;
    const struct mm_ssmix2_raw *raw; /* fields of the message's other segments not interpreted */
    size_t nrps;
    const struct mm_ssmix2_rp *rps; /* prescriptions and injections */
};

struct mm_ssmix2_lab {
    struct mm_ssmix2_origin from;
    const char *code; /* OBX-3.1 (JLAC10), else OBX-3.4, else the name */
    const char *name, *value, *unit, *range, *flag;
    const char *collected_at; /* "YYYY-MM-DDTHH:MM": SPM-17, else OBX-14, else OBR-7 */
    const char *order_no, *status;
};

/* A result of an examination (OMG-11/12/13): what was done, findings, DICOM study. */
struct mm_ssmix2_exam {
    struct mm_ssmix2_origin from;
    const char *kind; /* "radiology", "endoscopy", "physiology" */
    const char *code, *name, *performed_at, *findings, *study_uid;
};

/* A medication given (OMP-11 / OMP-12, RAS^O17): one RXA. */
struct mm_ssmix2_admin {
    struct mm_ssmix2_origin from;
    const char *order_no;
    const char *given_at; /* RXA-3 as "YYYY-MM-DDTHH:MM" */
    const char *ended_at; /* RXA-4 likewise, "" when absent */
    struct mm_ssmix2_drug drug;
    const char *route, *route_name;     /* RXR-1.1, RXR-1.2 */
    const char *status;                 /* RXA-20 (HL7 0322: CP complete, RE refused, NA, PA) */
    const char *given_by, *given_by_id; /* RXA-10 family + " " + given, RXA-10.1 */
    const char *location;               /* RXA-11.1 (ward or clinic code) */
    const char *location_name;          /* RXA-11.9, "" when absent */
    const char *site;                   /* RXA-9.2 (note, "左前腕に実施"), "" */
    int injection;                      /* OMP-12 */
};

/*
 * Files of one data type that could not be read, decoded or understood, and so are missing
 * from the record. Its type is the data-type folder the file lies in (an extended-storage
 * data-type folder name for documents). Files with some undecodable characters are still
 * read (the characters shown as U+FFFD) and only counted in @damaged.
 */
struct mm_ssmix2_failure {
    const char *type;   /* "OMP-01" */
    size_t files;       /* files of this type seen */
    size_t failed;      /* files left out */
    size_t folders;     /* folders of this type that could not be listed */
    size_t damaged;     /* files read with undecodable characters */
    const char *reason; /* the first failure's reason (no content, no patient data) */
};

/* An extended-storage document or image folder. */
struct mm_ssmix2_document {
    struct mm_ssmix2_origin from;
    const char *kind;  /* "document" or "image" */
    const char *title; /* data-type name (the 2nd or 5th component of the folder name) */
    const char *code;  /* standard code (LOINC) or local code */
    const char *date;
    const char *folder; /* content folder, relative to the extended storage root */
    size_t nfiles;
    const char *const *files; /* file names in the folder, sorted */
};

/* The fields of one non-order message (ADT, PPR, results ...) the record does not interpret. */
struct mm_ssmix2_uninterpreted {
    struct mm_ssmix2_origin from;
    size_t nfields;
    const struct mm_ssmix2_raw *fields;
};

/* Non-empty fields of the messages added so far, by what the record made of them. */
struct mm_ssmix2_field_counts {
    size_t read;     /* read into the model */
    size_t plumbing; /* message plumbing without clinical meaning (set IDs, MSH control ...) */
    size_t raw;      /* not interpreted, shown raw beside their item */
    size_t dropped;  /* not interpreted and not shown: a gap (should stay 0) */
};

/* The counts of every message added to @r (zeros for NULL). */
void mm_ssmix2_record_field_counts(const mm_ssmix2_record *r, struct mm_ssmix2_field_counts *out);

/*
 * Read, decode and parse the message file @path (whose parsed name is @name) and add the
 * counts of its non-empty fields, by what the record makes of them, to @out (what `mamori
 * scan` reports; the counts of a record of this one message).
 * @return 0, 1 when the file cannot be read or is not a message of its data type (nothing
 *         counted; mm_error_last() says why), MM_ENOMEM
 */
int mm_ssmix2_count_fields(const char *path, const struct mm_ssmix2_name *name,
                           struct mm_ssmix2_field_counts *out);

/* Start an empty record. @return 0, MM_ENOMEM */
int mm_ssmix2_record_new(mm_ssmix2_record **out);

/* Free @r and everything it owns. Accepts NULL. */
void mm_ssmix2_record_free(mm_ssmix2_record *r);

/*
 * Add what one standardized-storage message says. @name is the parsed file name (its
 * flag decides current or history), @msg the parsed message. Messages may come in any
 * order. Unknown segments and fields are ignored; a message whose type does not fit
 * its folder is refused.
 * @return 0, MM_ECORRUPT (the message does not fit its data type: the message says why,
 *         without content), MM_ENOMEM
 */
int mm_ssmix2_record_add(mm_ssmix2_record *r, const struct mm_ssmix2_name *name, mm_hl7_msg *msg);

/* Add an extended-storage content folder @folder (relative path) with its @nfiles files. */
int mm_ssmix2_record_add_document(mm_ssmix2_record *r, const struct mm_ssmix2_name *name,
                                  const char *folder, const char *const *files, size_t nfiles);

enum mm_ssmix2_note {
    MM_SSMIX2_NOTE_FILE,    /* a file of the type was met (counted in files) */
    MM_SSMIX2_NOTE_FAILED,  /* ... and left out: unreadable, undecodable, not a message */
    MM_SSMIX2_NOTE_DAMAGED, /* ... and read with undecodable characters */
    MM_SSMIX2_NOTE_FOLDER   /* a folder of the type could not be listed */
};

/*
 * Count a file or folder of data type @type (its data-type folder name) for the record's
 * failure list, so its section can say what is missing; @reason (no content, no patient
 * data) is kept for the first failure of the type. The loader calls it for every file; a
 * caller that adds messages itself may. Out of memory is reported by the next add or load.
 */
void mm_ssmix2_record_note(mm_ssmix2_record *r, const char *type, enum mm_ssmix2_note what,
                           const char *reason);

/* Problems met while loading: counted and shown redacted, never fatal. */
struct mm_ssmix2_problems {
    size_t files;     /* message files read */
    size_t bad;       /* files that failed (decode, parse, name, type) */
    size_t nexamples; /* examples kept */
    struct {
        char path[256];   /* relative to the storage root, redacted with mm_log_path() */
        char reason[160]; /* no content, no patient data */
    } examples[20];
};

/*
 * Load patient @pid's record from a standardized storage at @root (and the extended
 * storage at @ext_root unless NULL): every file under <pid[0:3]>/<pid[3:6]>/<pid>/ is
 * decoded, parsed and added; files that fail are counted in @probs and skipped, never
 * fatal. The patient folder is found by scanning, not computed, for short IDs.
 * @return 0, MM_ENOTFOUND when the storage has no folder for @pid, MM_EIO, MM_ENOMEM
 */
int mm_ssmix2_record_load(mm_ssmix2_record **out, const char *root, const char *ext_root,
                          const char *pid, struct mm_ssmix2_problems *probs);

/* The current demographics (newest current ADT-00), or NULL when there are none. */
const struct mm_ssmix2_patient *mm_ssmix2_record_patient(const mm_ssmix2_record *r);

/* Every item of a kind, current and history, sorted by time (oldest first). */
size_t mm_ssmix2_record_allergies(const mm_ssmix2_record *r, const struct mm_ssmix2_allergy **out);
size_t mm_ssmix2_record_diagnoses(const mm_ssmix2_record *r,
                                  const struct mm_ssmix2_diagnosis **out);
size_t mm_ssmix2_record_encounters(const mm_ssmix2_record *r,
                                   const struct mm_ssmix2_encounter **out);
/* Prescriptions (OMP-01) are kind 0, injections (OMP-02) 1, other orders 2. */
size_t mm_ssmix2_record_orders(const mm_ssmix2_record *r, int kind,
                               const struct mm_ssmix2_order **out);
size_t mm_ssmix2_record_labs(const mm_ssmix2_record *r, const struct mm_ssmix2_lab **out);
size_t mm_ssmix2_record_admins(const mm_ssmix2_record *r, const struct mm_ssmix2_admin **out);
size_t mm_ssmix2_record_exams(const mm_ssmix2_record *r, const struct mm_ssmix2_exam **out);
size_t mm_ssmix2_record_documents(const mm_ssmix2_record *r, const struct mm_ssmix2_document **out);
/*
 * Whether allergy @a's file counts for the record's current list: its file is current and, for
 * ADT-61 and ADT-00, the newest current file of its type (a newer register that lists no
 * allergy any more leaves none). Lists use mm_ssmix2_record_allergy_list(), which also names
 * each allergen once.
 */
int mm_ssmix2_record_allergy_current(const mm_ssmix2_record *r, const struct mm_ssmix2_allergy *a);

/* Whether two allergies name the same allergen: the same type and code, or without codes, name. */
int mm_ssmix2_allergy_same(const struct mm_ssmix2_allergy *a, const struct mm_ssmix2_allergy *b);

/* One allergen of the current list. */
struct mm_ssmix2_allergy_item {
    const struct mm_ssmix2_allergy *a; /* as the first current file of the list names it */
    size_t nalso;
    const char *const *also; /* data types of the other current files naming it (sorted, may
                                repeat): the JSON's "also_in" */
};

/* The current allergy list (ssmix2_allergy.c). Pointers are into the record. */
struct mm_ssmix2_allergy_list {
    size_t n;
    struct mm_ssmix2_allergy_item *v;
    unsigned char *current; /* per allergy of mm_ssmix2_record_allergies(): 1 when its file
                               counts for the list (listed, or named with an earlier one) */
    const char **also_mem_; /* private */
};

/*
 * The record's current allergy list, the one every reader shows (record JSON, CSV, FHIR): the
 * newest current ADT-61, the newest current ADT-00, then every other current message newest
 * first, each allergen once (mm_ssmix2_allergy_same), held by the first file naming it.
 * @param[out] out released with mm_ssmix2_allergy_list_release(); zeroed on failure
 * @return 0, MM_ENOMEM
 */
int mm_ssmix2_record_allergy_list(const mm_ssmix2_record *r, struct mm_ssmix2_allergy_list *out);

/* Free what @l holds and zero it. Accepts NULL and a zeroed list. */
void mm_ssmix2_allergy_list_release(struct mm_ssmix2_allergy_list *l);
/* Every data type noted (mm_ssmix2_record_note) with its counts, sorted by type; the types
 * with failed, damaged or folder counts are those with read failures. */
size_t mm_ssmix2_record_failures(const mm_ssmix2_record *r, const struct mm_ssmix2_failure **out);

/*
 * The name the patient's messages give a department or ward code (ORC-17 code^name,
 * PV1-10 code^name, PV1-3.9/PV1-6.9/RXA-11.9 location descriptions), or "" when none does.
 * @kind 0 department, 1 ward or clinic location
 */
const char *mm_ssmix2_record_code_name(const mm_ssmix2_record *r, int kind, const char *code);

/*
 * The section of the viewer a data type's items appear in: "patient", "allergies",
 * "diagnoses", "encounters", "prescriptions", "injections", "orders", "labs", "exams",
 * "documents" (any extended-storage type), or "other" for an unknown folder.
 */
const char *mm_ssmix2_type_section(const char *type);

enum mm_ssmix2_json_flags {
    MM_SSMIX2_JSON_HISTORY = 1 << 0 /* also list superseded and cancelled items, marked */
};

/*
 * Append the record as one JSON object with the keys patient (with phones, contacts and
 * insurance), allergies, diagnoses, resolved_diagnoses, encounters, prescriptions,
 * injections, orders, administrations, labs, exams, documents, images and read_failures
 * (the keys of `mamori show --json`; ssmix2_record_json.c); current items only unless
 * MM_SSMIX2_JSON_HISTORY. Department and ward codes get their names (dept_name,
 * ward_name, ...) from the message that holds them, else from mm_ssmix2_record_code_name().
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_ssmix2_record_json(const mm_ssmix2_record *r, mm_buf *out, unsigned int flags);

#endif
