/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for clinical record extraction. The first byte picks the data type
 * (an index into the 26-type registry) and the condition flag; the rest is the
 * message as UTF-8 HL7 text. An accepted message is added to a record, and the
 * record is written as JSON with and without history. Beyond memory safety it
 * checks that the JSON output always succeeds for an accepted message and that
 * the history view is never shorter than the current view.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "hl7/hl7.h"
#include "ssmix2/ssmix2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t ntypes;
    const struct mm_ssmix2_type *types = mm_ssmix2_types(&ntypes);
    struct mm_ssmix2_name name;
    char fname[128];
    mm_hl7_msg *m = NULL;
    mm_ssmix2_record *r = NULL;
    mm_buf cur, hist;

    if (size < 1)
        return 0;
    snprintf(fname, sizeof(fname), "1234567_%s_%s_000000000000001_20240101093000123_01_%d",
             types[data[0] % ntypes].dateless ? "-" : "20240101", types[data[0] % ntypes].folder,
             (data[0] / 32) % 3);
    if (mm_ssmix2_parse_name(&name, fname, strlen(fname)) != 0)
        abort(); /* the synthetic name must always parse */
    if (mm_hl7_parse(&m, (const char *)data + 1, size - 1) != 0)
        return 0;
    if (mm_ssmix2_record_new(&r) != 0)
        abort();
    if (mm_ssmix2_record_add(r, &name, m) == 0) {
        mm_buf_init(&cur, MM_LIMIT_JSON);
        mm_buf_init(&hist, MM_LIMIT_JSON);
        if (mm_ssmix2_record_json(r, &cur, 0) != 0 ||
            mm_ssmix2_record_json(r, &hist, MM_SSMIX2_JSON_HISTORY) != 0)
            abort();
        if (hist.len < cur.len)
            abort();
        mm_buf_release(&cur);
        mm_buf_release(&hist);
    }
    mm_ssmix2_record_free(r);
    mm_hl7_free(m);
    return 0;
}
