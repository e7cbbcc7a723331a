/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the SS-MIX2 name parsers and the path redactor. Every input is
 * tried as a standardized file name, an extended content-folder name, a relative
 * storage path and a path to redact. Beyond memory safety it checks properties:
 * an accepted name re-assembles to exactly the input, field lengths respect the
 * header's bounds, the redactor terminates inside its buffer, and the patient ID
 * of an accepted name or path never survives redaction.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/log.h"
#include "ssmix2/ssmix2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop the run: a property does not hold. */
static void fail(const char *what)
{
    fprintf(stderr, "fuzz_ssmix2_name: %s\n", what);
    abort();
}

/* Check the bounds every parsed name must respect. */
static void check_fields(const struct mm_ssmix2_name *nm)
{
    if (strlen(nm->patient_id) == 0 || strlen(nm->patient_id) > MM_LIMIT_PATIENT_ID)
        fail("patient id length");
    if (strcmp(nm->date, "-") != 0 && strlen(nm->date) != MM_SSMIX2_DATE_LEN)
        fail("date length");
    if (strlen(nm->type) == 0 || strlen(nm->type) > MM_SSMIX2_TYPE_MAX)
        fail("type length");
    if (strlen(nm->order_no) == 0 || strlen(nm->order_no) > MM_SSMIX2_KEY_MAX)
        fail("order length");
    if (strlen(nm->timestamp) < MM_SSMIX2_TIMESTAMP_MIN ||
        strlen(nm->timestamp) > MM_SSMIX2_TIMESTAMP_MAX)
        fail("timestamp length");
    if ((unsigned)nm->flag > 2)
        fail("flag");
    if (nm->nfields != 6 && nm->nfields != 7)
        fail("nfields");
    if ((nm->nfields == 6) != (nm->dept[0] == '\0'))
        fail("dept and nfields disagree");
}

/* Rebuild the name from @nm into @buf. */
static size_t rebuild(char *buf, size_t cap, const struct mm_ssmix2_name *nm)
{
    int n;

    if (nm->nfields == 7)
        n = snprintf(buf, cap, "%s_%s_%s_%s_%s_%s_%d", nm->patient_id, nm->date, nm->type,
                     nm->order_no, nm->timestamp, nm->dept, (int)nm->flag);
    else
        n = snprintf(buf, cap, "%s_%s_%s_%s_%s_%d", nm->patient_id, nm->date, nm->type,
                     nm->order_no, nm->timestamp, (int)nm->flag);
    return n < 0 ? 0 : (size_t)n;
}

/* The patient ID must not survive redaction of @s (IDs holding '*' are the mask itself). */
static void check_redacted(const char *s, const char *pid)
{
    char red[MM_LOG_PATH_MAX];

    mm_log_path(red, sizeof(red), s);
    if (strlen(red) >= sizeof(red))
        fail("redacted path overflows");
    if (!strchr(pid, '*') && strstr(red, pid))
        fail("patient id survives redaction");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[MM_LIMIT_PATH + 2], back[1024], red[MM_LOG_PATH_MAX];
    const char *name = (const char *)data;
    struct mm_ssmix2_name nm;
    size_t n = size > MM_LIMIT_PATH + 1 ? MM_LIMIT_PATH + 1 : size;

    if (mm_ssmix2_parse_name(&nm, name, size) == 0) {
        check_fields(&nm);
        if (nm.nfields != 7 || !mm_ssmix2_type_find(nm.type))
            fail("standardized name with a bad type or field count");
        if (rebuild(back, sizeof(back), &nm) != size || memcmp(back, data, size) != 0)
            fail("standardized name does not round-trip");
        check_redacted(back, nm.patient_id);
    }
    if (mm_ssmix2_parse_content_folder(&nm, name, size) == 0) {
        check_fields(&nm);
        if (rebuild(back, sizeof(back), &nm) != size || memcmp(back, data, size) != 0)
            fail("content folder name does not round-trip");
        check_redacted(back, nm.patient_id);
    }
    memcpy(path, data, n);
    path[n] = '\0';
    if (mm_ssmix2_check_path(&nm, path) == 0) {
        check_fields(&nm);
        check_redacted(path, nm.patient_id);
    }
    mm_log_path(red, sizeof(red), path);
    if (strlen(red) >= sizeof(red))
        fail("redacted path overflows");
    mm_log_path(red, 8, path);
    mm_log_path(red, 1, path);
    return 0;
}
