/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the HL7 v2 tokenizer. Every input is parsed as UTF-8 text and, decoded
 * from ISO-2022-JP, a second time. An accepted message is walked through every segment,
 * field, repetition, component and sub-component the counters report (plus one past
 * each end), with a budget per input. Beyond memory safety it checks: counters and
 * lookups agree, an unescaped leaf is never longer than its raw text, a position asked
 * twice gives the same string, absent positions are "", and IDs hold no delimiter.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "hl7/hl7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BUDGET 20000 /* lookups per message */

/* Stop the run: a property does not hold. */
static void fail(const char *what)
{
    fprintf(stderr, "fuzz_hl7_parse: %s\n", what);
    abort();
}

/* Look one position up both ways and check they agree. */
static void check_pos(mm_hl7_msg *m, size_t seg, int f, int r, int c, int s, long *budget)
{
    const char *raw, *v, *v2;
    size_t n;
    int rc = mm_hl7_get_raw(m, seg, f, r, c, s, &raw, &n);

    (*budget)--;
    v = mm_hl7_get(m, seg, f, r, c, s);
    if (!v)
        fail("get returned NULL without an allocation failure");
    if (rc == MM_ENOTFOUND && (*v != '\0' || n != 0))
        fail("absent position has a value");
    if (rc != 0 && rc != MM_ENOTFOUND)
        fail("get_raw code");
    if (rc == 0 && strlen(v) > n)
        fail("value longer than its raw text");
    if (rc == 0 && n > 0 && memchr(raw, '\0', n))
        fail("nul inside raw text");
    v2 = mm_hl7_get(m, seg, f, r, c, s);
    if (!v2 || strcmp(v, v2) != 0 || (*v != '\0' && v2 != v))
        fail("second lookup gave another string");
}

/* Walk every position of @m within the budget. */
static void walk(mm_hl7_msg *m)
{
    long budget = BUDGET;
    size_t nseg = mm_hl7_segment_count(m);
    const char *fs;

    if (nseg == 0 || strcmp(mm_hl7_segment_id(m, 0), "MSH") != 0)
        fail("first segment is not MSH");
    fs = mm_hl7_get(m, 0, 1, 1, 1, 1);
    if (!fs || strlen(fs) != 1)
        fail("msh-1 is not one character");
    if (strlen(mm_hl7_msg_type(m)) > strlen(mm_hl7_get(m, 0, 9, 0, 0, 0)) + 1)
        fail("message type longer than msh-9");
    for (size_t seg = 0; seg <= nseg && budget > 0; seg++) {
        int nf = (int)mm_hl7_field_count(m, seg);
        const char *id = mm_hl7_segment_id(m, seg);

        if (seg == nseg) {
            if (*id != '\0' || nf != 0)
                fail("segment past the end");
            check_pos(m, seg, 1, 1, 1, 1, &budget);
            break;
        }
        if (mm_hl7_find(m, id, 0) > seg || mm_hl7_find(m, id, seg) != seg)
            fail("find disagrees with segment_id");
        if (strchr(id, fs[0]) != NULL)
            fail("segment id holds the field separator");
        check_pos(m, seg, 0, 0, 0, 0, &budget);
        for (int f = 1; f <= nf + 1 && budget > 0; f++) {
            int nr = (int)mm_hl7_rep_count(m, seg, f);

            if (f > nf && nr != 0)
                fail("field past the end has repetitions");
            check_pos(m, seg, f, 0, 0, 0, &budget);
            for (int r = 1; r <= nr + 1 && budget > 0; r++) {
                int nc = (int)mm_hl7_comp_count(m, seg, f, r);

                check_pos(m, seg, f, r, 0, 0, &budget);
                for (int c = 1; c <= nc + 1 && budget > 0; c++) {
                    int ns = (int)mm_hl7_sub_count(m, seg, f, r, c);

                    check_pos(m, seg, f, r, c, 0, &budget);
                    for (int s = 1; s <= ns + 1 && budget > 0; s++)
                        check_pos(m, seg, f, r, c, s, &budget);
                }
            }
        }
    }
    if (mm_hl7_get(m, 0, -1, 1, 1, 1)[0] != '\0' || mm_hl7_get(m, SIZE_MAX, 1, 1, 1, 1)[0])
        fail("invalid position has a value");
}

/* Parse s[0..n) and walk it when it is HL7. */
static void parse_and_walk(const char *s, size_t n)
{
    mm_hl7_msg *m = NULL;
    int rc = mm_hl7_parse(&m, s, n);

    if (rc == 0) {
        walk(m);
        mm_hl7_free(m);
    } else if (m != NULL) {
        fail("output set on failure");
    } else if (rc != MM_ECORRUPT && rc != MM_ELIMIT) {
        fail("parse error code");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mm_buf dec;

    parse_and_walk((const char *)data, size);
    mm_buf_init(&dec, MM_LIMIT_HL7_MESSAGE);
    if (mm_jis_decode(&dec, (const char *)data, size, 0, NULL) == 0 && dec.len > 0)
        parse_and_walk(dec.ptr, dec.len);
    mm_buf_release(&dec);
    return 0;
}
