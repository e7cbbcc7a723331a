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

#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"
#include "os/os.h"
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
    { "RXR", ",1,2,3,4,6,", "" },
    { "RXC", ",1,2,3,4,", "" },
    /*
     * every other segment (ssmix2_record.c, ssmix2_patient.c). Plumbing: the MSH control
     * fields (sender, receiver, message time, control ID, processing ID, version, character
     * sets, profile: how the message travelled, not what it says of the patient; MSH-9 is
     * read to check the type and take the trigger), EVN-1 (the trigger again), the set IDs
     * (PID-1, NK1-1, PV1-1, IN1-1, AL1-1, IAM-1, OBR-1, OBX-1, SPM-1, DB1-1), the RXA
     * sub-ID counters (RXA-1, RXA-2: 0 and 1 in every single administration) and SFT (the
     * sending software). Segments without a row (NTE, PD1, SAC, CTI, Z-segments) are not
     * understood at all and are kept raw as whole segments.
     */
    { "MSH", ",9,", ",3,4,5,6,7,8,10,11,12,13,14,15,16,17,18,19,20,21," },
    { "SFT", "", ",1,2,3,4,5,6," },
    { "EVN", ",2,6,", ",1," },
    { "PID", ",3,5,7,8,11,13,14,", ",1," },
    { "NK1", ",2,3,4,5,6,", ",1," },
    { "PV1", ",2,3,6,7,10,36,44,45,", ",1," },
    { "PV2", ",8,9,", "" },
    { "IN1", ",2,3,12,13,17,", ",1," },
    { "DB1", "", ",1," },
    { "AL1", ",2,3,4,5,6,", ",1," },
    { "IAM", ",2,3,4,5,6,11,12,", ",1," },
    { "PRB", ",1,3,7,9,10,13,14,16,17,18,", "" },
    { "OBR", ",2,4,7,", ",1," },
    { "OBX", ",2,3,5,6,7,8,11,14,", ",1," },
    { "SPM", ",17,", ",1," },
    { "IPC", ",3,", "" },
    { "RXA", ",3,4,5,6,7,9,10,11,20,", ",1,2," },
    { "ODS", ",3,", "" },
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

int mm_ssmix2__segment_known(const char *seg)
{
    for (size_t i = 0; seg && i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(table[i].seg, seg) == 0)
            return 1;
    return 0;
}

/* Non-empty fields of segment @seg (MSH-1 and MSH-2, the delimiters, never count). */
static size_t nonempty(const mm_hl7_msg *m, size_t seg, int f)
{
    const char *p;
    size_t n;

    if (mm_hl7_get_raw(m, seg, f, 0, 0, 0, &p, &n) != 0 || n == 0)
        return 0;
    return !(n == 2 && p[0] == '"' && p[1] == '"');
}

static int first_field(const mm_hl7_msg *m, size_t seg)
{
    return strcmp(mm_hl7_segment_id(m, seg), "MSH") == 0 ? 3 : 1;
}

void mm_ssmix2__raw_add(mm_ssmix2_record *r, struct vec *v, mm_hl7_msg *m, size_t seg, int f)
{
    struct mm_ssmix2_raw *e;
    const char *id = mm_hl7_segment_id(m, seg), *p;
    size_t n, nf = mm_hl7_field_count(m, seg), shown = 0;
    char name[16];

    if (f > 0) {
        if (!nonempty(m, seg, f) || mm_hl7_get_raw(m, seg, f, 0, 0, 0, &p, &n) != 0)
            return;
        shown = 1;
        snprintf(name, sizeof(name), "%s-%d", id, f);
    } else {
        /* the whole segment: its text after the ID and the first field separator */
        const char *sp;
        size_t sn;
        for (int k = first_field(m, seg); (size_t)k <= nf; k++)
            shown += nonempty(m, seg, k);
        if (!shown || mm_hl7_get_raw(m, seg, first_field(m, seg), 0, 0, 0, &p, &n) != 0 ||
            mm_hl7_get_raw(m, seg, (int)nf, 0, 0, 0, &sp, &sn) != 0)
            return;
        n = (size_t)(sp + sn - p);
        snprintf(name, sizeof(name), "%s", id);
    }
    /* a repeated segment saying the same again (RXA-22 of every RXA) is listed once */
    for (size_t i = 0; i < v->n; i++) {
        const struct mm_ssmix2_raw *o = (const struct mm_ssmix2_raw *)v->v + i;
        if (strcmp(o->field, name) == 0 && strlen(o->text) == n && memcmp(o->text, p, n) == 0) {
            r->raw_shown += shown;
            return;
        }
    }
    if ((e = mm_ssmix2__push(r, v, sizeof(*e))) == NULL)
        return;
    e->field = mm_ssmix2__sdup(r, name);
    e->text = mm_ssmix2__sdupn(r, p, n);
    r->raw_shown += shown;
}

void mm_ssmix2__raw_segment(mm_ssmix2_record *r, struct vec *v, mm_hl7_msg *m, size_t seg)
{
    const char *id = mm_hl7_segment_id(m, seg);
    size_t nf = mm_hl7_field_count(m, seg);

    for (int f = first_field(m, seg); (size_t)f <= nf; f++)
        if (mm_ssmix2__field_use(id, f) == MM_SSMIX2__FIELD_RAW)
            mm_ssmix2__raw_add(r, v, m, seg, f);
}

void mm_ssmix2__fields_tally(mm_ssmix2_record *r, mm_hl7_msg *m, size_t shown_before)
{
    size_t raw = 0, shown = r->raw_shown - shown_before;

    for (size_t s = 0; s < mm_hl7_segment_count(m); s++) {
        const char *id = mm_hl7_segment_id(m, s);
        size_t nf = mm_hl7_field_count(m, s);
        for (int f = first_field(m, s); (size_t)f <= nf; f++) {
            if (!nonempty(m, s, f))
                continue;
            switch (mm_ssmix2__field_use(id, f)) {
            case MM_SSMIX2__FIELD_READ:
                r->counts.read++;
                break;
            case MM_SSMIX2__FIELD_PLUMBING:
                r->counts.plumbing++;
                break;
            default:
                raw++;
            }
        }
    }
    r->counts.raw += shown < raw ? shown : raw;
    r->counts.dropped += raw > shown ? raw - shown : 0;
}

void mm_ssmix2_record_field_counts(const mm_ssmix2_record *r, struct mm_ssmix2_field_counts *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (r)
        *out = r->counts;
}

int mm_ssmix2_count_fields(const char *path, const struct mm_ssmix2_name *name,
                           struct mm_ssmix2_field_counts *out)
{
    struct mm_ssmix2_field_counts c;
    mm_ssmix2_record *r = NULL;
    mm_hl7_msg *m = NULL;
    mm_buf raw, dec;
    int err;

    MM_ASSERT_ARG(path != NULL && name != NULL && out != NULL);
    mm_buf_init(&raw, MM_LIMIT_HL7_MESSAGE);
    mm_buf_init(&dec, MM_LIMIT_HL7_MESSAGE * 2);
    if ((err = mm_os_read_file(path, &raw)) < 0 ||
        (err = mm_jis_decode(&dec, raw.ptr ? raw.ptr : "", raw.len, 0, NULL)) < 0 ||
        (err = mm_hl7_parse(&m, dec.ptr ? dec.ptr : "", dec.len)) < 0 ||
        (err = mm_ssmix2_record_new(&r)) < 0 || (err = mm_ssmix2_record_add(r, name, m)) < 0)
        goto out;
    mm_ssmix2_record_field_counts(r, &c);
    out->read += c.read;
    out->plumbing += c.plumbing;
    out->raw += c.raw;
    out->dropped += c.dropped;
out:
    mm_ssmix2_record_free(r);
    mm_hl7_free(m);
    mm_buf_release(&raw);
    mm_buf_release(&dec);
    return err == MM_ENOMEM ? err : err < 0 ? 1 : 0;
}

int mm_ssmix2__raw_json(mm_buf *b, const struct mm_ssmix2_raw *v, size_t n)
{
    int err = mm_buf_putc(b, '[');

    for (size_t i = 0; i < n && err == 0; i++) {
        if ((err = mm_buf_puts(b, i ? ",{" : "{")) == 0 &&
            (err = mm_json_kv(b, 1, "field", v[i].field)) == 0 &&
            (err = mm_json_kv(b, 0, "text", v[i].text)) == 0)
            err = mm_buf_putc(b, '}');
    }
    return err ? err : mm_buf_putc(b, ']');
}
