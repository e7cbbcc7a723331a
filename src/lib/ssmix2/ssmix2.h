/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SS-MIX2 storage names: the strict parser for standardized-storage file names
 * (<pid>_<date|->_<type>_<order>_<timestamp>_<dept>_<flag>), the lenient one for
 * extended-storage content folders (6 or 7 fields, the type may hold ^, _ and
 * UTF-8 Japanese), the check that a file sits in the folders its name implies,
 * and the registry of the 26 standardized data-type folders. Pure functions on
 * bytes: no file-system access, no allocation, safe from any thread. Error
 * messages name the field that is wrong, never its value (it may be the patient ID).
 */
#ifndef MM_SSMIX2_SSMIX2_H
#define MM_SSMIX2_SSMIX2_H

#include <stddef.h>

#include "common/limits.h"

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

#endif
