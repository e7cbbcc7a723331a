/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the unit tests that build a record from messages written in the test itself
 * (test_record, test_order, test_identity): one message text added under a file name.
 * Include after <cmocka.h>.
 */
#ifndef MM_TESTS_UNIT_TEST_MESSAGE_H
#define MM_TESTS_UNIT_TEST_MESSAGE_H

#include <string.h>

#include "hl7/hl7.h"
#include "ssmix2/ssmix2.h"

/* Add the message @text (UTF-8, segments ended by CR) as file @name to @r. */
static inline void add_text(mm_ssmix2_record *r, const char *name, const char *text)
{
    struct mm_ssmix2_name nm;
    mm_hl7_msg *m = NULL;

    assert_int_equal(mm_ssmix2_parse_name(&nm, name, strlen(name)), 0);
    assert_int_equal(mm_hl7_parse(&m, text, strlen(text)), 0);
    assert_int_equal(mm_ssmix2_record_add(r, &nm, m), 0);
    mm_hl7_free(m);
}

#endif
