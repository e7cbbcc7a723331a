/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one table of which HL7 fields the clinical record interprets (docs/orders.md lists
 * each with its JAHIS meaning). A field the record reads is MM_SSMIX2__FIELD_READ; message
 * plumbing with no clinical meaning (set IDs, MSH control fields, the order control code) is
 * MM_SSMIX2__FIELD_PLUMBING; any other non-empty field is not interpreted and is shown raw
 * beside the item it belongs to (order lines' raw[], the record's "uninterpreted" list), and
 * `mamori scan` counts it, so that nothing a message carries is dropped silently.
 */
#include <stdio.h>
#include <string.h>

#include "ssmix2/ssmix2_int.h"

struct seg_use {
    const char *seg;
    const char *read;     /* field numbers the record reads, ','-separated, ',' both ends */
    const char *plumbing; /* field numbers that are message plumbing, likewise */
};

static const struct seg_use table[] = {
    /* orders (ssmix2_order.c): JAHIS 処方 / 注射データ交換規約 */
    { "ORC", ",1,2,4,9,12,17,29,", ",3,5,7,8,10,11,13,14,15,16,18,19,20,21,22,23,24,25,26,27,28," },
    { "RXE", ",2,3,4,5,6,7,10,11,15,19,21,22,23,24,27,31,", ",1," },
    { "TQ1", ",2,3,4,6,7,8,9,10,11,14,", ",1," },
    { "RXR", ",1,2,3,4,", "" },
    { "RXC", ",1,2,3,4,", "" },
};

int mm_ssmix2__field_use(const char *seg, int field)
{
    char key[16];

    if (!seg || field < 1 || field > 999)
        return 0;
    snprintf(key, sizeof(key), ",%d,", field);
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].seg, seg) != 0)
            continue;
        if (strstr(table[i].read, key))
            return MM_SSMIX2__FIELD_READ;
        if (strstr(table[i].plumbing, key))
            return MM_SSMIX2__FIELD_PLUMBING;
        return 0;
    }
    return 0;
}
