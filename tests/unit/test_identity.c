/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every message says about the patient, whatever its data type (docs/orders.md):
 * the identity from the newest PID when there is no current ADT-00, the allergies of the
 * AL1 and IAM segments of every message with their source, deduplicated across messages,
 * and the fields the record does not interpret, kept raw so that none of the public
 * samples' non-order messages drops a field silently.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "hl7/hl7.h"
#include "ssmix2/ssmix2.h"
#include "test_message.h"
#include "viewer/viewer.h"

#define SAMPLES MM_SOURCE_ROOT "/tests/data/ssmix2-samples"

#define MSH(type) "MSH|^~\\&|HIS|S|GW|R|20250102091000||" type "|3|P|2.5\r"

static const char *js(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* The record's JSON, parsed (history with @hist). */
static json_t *record_json(const mm_ssmix2_record *r, int hist)
{
    json_error_t jerr;
    json_t *j;
    mm_buf b;

    mm_buf_init(&b, 1 << 22);
    assert_int_equal(mm_ssmix2_record_json(r, &b, hist ? MM_SSMIX2_JSON_HISTORY : 0), 0);
    j = json_loadb(b.ptr, b.len, 0, &jerr);
    assert_non_null(j);
    mm_buf_release(&b);
    return j;
}

/* The also_in of @a joined by ',' into @out. */
static const char *also_in(json_t *a, char *out, size_t cap)
{
    json_t *v = json_object_get(a, "also_in");
    size_t pos = 0;

    assert_true(json_is_array(v));
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(v); i++)
        pos += (size_t)snprintf(out + pos, cap - pos, "%s%s", i ? "," : "",
                                json_string_value(json_array_get(v, i)));
    return out;
}

#define RX_PID(name) "PID|1||0001234^^^^PI||" name "^^^^^L^I||19500101|F\r"
#define OMP01        MSH("RDE^O11^RDE_O11")
#define OML11        MSH("OUL^R22^OUL_R22")
#define OMP02        MSH("RDE^O11^RDE_O11")
#define ORC_RX       "ORC|NW|000000000000001||1|||||20250102091000\r"

/*
 * Without an ADT-00 the patient is the PID of the newest current message of any type,
 * marked with its source; a superseded file is never the source; an ADT-00, even older,
 * always wins over the stand-ins.
 */
static void identity__newest_pid_without_adt00(void **state)
{
    mm_ssmix2_record *r = NULL;
    const struct mm_ssmix2_patient *p;
    json_t *j, *pj;

    (void)state;
    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    assert_null(mm_ssmix2_record_patient(r));
    add_text(r, "0001234_20250102_OML-11_000000000000007_20250103080000000_01_1",
             OML11 RX_PID("試験^新子") "OBR|1|7||3A010^総蛋白^JC10|||20250102\r"
                                       "OBX|1|NM|3A010^総蛋白^JC10||7.2|g/dl\r");
    add_text(r, "0001234_20250102_OMP-01_000000000000001_20250102091000000_08_1",
             OMP01 RX_PID("試験^旧子") ORC_RX "RXE||111^A錠^HOT9|1||T^錠^MR9P\r");
    /* a newer file that is superseded: never the identity */
    add_text(r, "0001234_20250102_OMP-01_000000000000001_20250104091000000_08_2",
             OMP01 RX_PID("試験^過去") ORC_RX "RXE||111^A錠^HOT9|1||T^錠^MR9P\r");
    p = mm_ssmix2_record_patient(r);
    assert_non_null(p);
    assert_string_equal(p->name, "試験 新子");
    assert_string_equal(p->from.type, "OML-11");
    assert_string_equal(p->birth_date, "1950-01-01");
    assert_string_equal(p->sex, "F");
    j = record_json(r, 0);
    pj = json_object_get(j, "patient");
    assert_string_equal(js(pj, "source"), "OML-11");
    assert_string_equal(js(pj, "source_time"), "2025-01-03T08:00:00");
    assert_string_equal(js(pj, "id"), "0001234");
    json_decref(j);

    /* a newer current prescription takes over */
    add_text(r, "0001234_20250105_OMP-01_000000000000002_20250105091000000_08_1",
             OMP01 RX_PID("試験^最新") ORC_RX "RXE||111^A錠^HOT9|1||T^錠^MR9P\r");
    p = mm_ssmix2_record_patient(r);
    assert_string_equal(p->name, "試験 最新");
    assert_string_equal(p->from.type, "OMP-01");

    /* an ADT-00, older than every order, is the identity */
    add_text(r, "0001234_-_ADT-00_999999999999999_20200101000000000_-_1",
             MSH("ADT^A08^ADT_A01") "EVN||20200101\r" RX_PID("試験^花子") "PV1|1|O\r");
    p = mm_ssmix2_record_patient(r);
    assert_string_equal(p->name, "試験 花子");
    j = record_json(r, 0);
    assert_string_equal(js(json_object_get(j, "patient"), "source"), "ADT-00");
    json_decref(j);
    mm_ssmix2_record_free(r);
}

/* An AL1 inside an injection order is an allergy, with its source: never "none". */
static void allergy__in_an_injection_order_has_a_source(void **state)
{
    mm_ssmix2_record *r = NULL;
    json_t *j, *al, *a;
    char b[128];

    (void)state;
    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    add_text(r, "0001234_20250102_OMP-02_000000000000009_20250102091000000_08_1",
             OMP02 RX_PID("試験^花子") "AL1|1|EA^環境^HL70127|5A1002216023023^スギ^JC10\r"
                                       "AL1|2|EA^環境^HL70127|^ハウスダスト\r" ORC_RX
                                       "RXE||1^注射^JHSI0001|||\r");
    j = record_json(r, 0);
    al = json_object_get(j, "allergies");
    assert_int_equal(json_array_size(al), 2);
    a = json_array_get(al, 0);
    assert_string_equal(js(a, "name"), "スギ");
    assert_string_equal(js(a, "status"), "current");
    assert_string_equal(js(json_object_get(a, "source"), "type"), "OMP-02");
    assert_string_equal(js(json_object_get(a, "source"), "order_no"), "000000000000009");
    assert_string_equal(js(json_object_get(a, "source"), "file_time"), "2025-01-02T09:10:00");
    assert_string_equal(also_in(a, b, sizeof(b)), "");
    assert_string_equal(js(json_array_get(al, 1), "name"), "ハウスダスト");
    json_decref(j);

    /* and the text that `mamori show` prints never says there is none */
    {
        mm_buf rec, txt;
        mm_buf_init(&rec, 1 << 22);
        mm_buf_init(&txt, 1 << 22);
        assert_int_equal(mm_ssmix2_record_json(r, &rec, 0), 0);
        assert_int_equal(mm_viewer_record_text(rec.ptr, rec.len, MM_VIEWER_JA, "2025-01-03", &txt),
                         0);
        assert_non_null(strstr(txt.ptr, "スギ"));
        assert_null(strstr(txt.ptr, "登録なし"));
        mm_buf_release(&rec);
        mm_buf_release(&txt);
    }
    mm_ssmix2_record_free(r);
}

/*
 * The current allergies are the union of the newest ADT-61, the newest ADT-00 and every
 * other current message, each allergy once, listed where it was first found, the other
 * messages' types in also_in; history adds the rest with their status.
 */
static void allergy__union_of_every_message_deduplicated(void **state)
{
    mm_ssmix2_record *r = NULL;
    json_t *j, *al;
    char b[128];

    (void)state;
    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    add_text(r, "0001234_-_ADT-00_999999999999999_20250101000000000_-_1",
             MSH("ADT^A08^ADT_A01") "EVN||20250101\r" RX_PID(
                     "試験^花子") "PV1|1|O\r"
                                  "AL1|1|DA^薬剤^HL70127|1^ペニシリン^99XYZ\r"
                                  "AL1|2|FA^食物^HL70127|^ソバ\r");
    add_text(r, "0001234_-_ADT-61_999999999999999_20240101000000000_-_1",
             MSH("ADT^A60^ADT_A60") "EVN||20240101\r" RX_PID(
                     "試験^花子") "IAM|1|DA^薬剤^HL70127|1^ペニシリン^99XYZ|SV|発疹|A\r"
                                  "IAM|2|LA^花粉^HL70127|5A1002216023023^スギ^JC10|MI||A\r"
                                  "IAM|3|DA^薬剤^HL70127|2^アスピリン^99XYZ|MO||D\r");
    add_text(r, "0001234_-_ADT-61_999999999999999_20230101000000000_-_1",
             MSH("ADT^A60^ADT_A60") "EVN||20230101\r" RX_PID(
                     "試験^花子") "IAM|1|DA^薬剤^HL70127|3^セフェム^99XYZ|MO||A\r");
    add_text(r, "0001234_20250102_OMP-01_000000000000001_20250102091000000_08_1",
             OMP01 RX_PID("試験^花子") "AL1|1|DA^薬剤^HL70127|1^ペニシリン^99XYZ\r"
                                       "AL1|2|FA^食物^HL70127|^卵\r" ORC_RX
                                       "RXE||111^A錠^HOT9|1||T^錠^MR9P\r");
    add_text(r, "0001234_20250103_OMP-02_000000000000002_20250103091000000_08_2",
             OMP02 RX_PID("試験^花子") "AL1|1|FA^食物^HL70127|^ピーナッツ\r" ORC_RX
                                       "RXE||1^注射^JHSI0001|||\r");
    add_text(r, "0001234_20250104_OMP-02_000000000000003_20250104091000000_08_1",
             OMP02 RX_PID("試験^花子") "AL1|1|FA^食物^HL70127|^ソバ\r" ORC_RX
                                       "RXE||1^注射^JHSI0001|||\r");
    j = record_json(r, 0);
    al = json_object_get(j, "allergies");
    /* ペニシリン, スギ (ADT-61), ソバ (ADT-00), then newest first: ソバ dup, 卵 (OMP-01) */
    assert_int_equal(json_array_size(al), 4);
    assert_string_equal(js(json_array_get(al, 0), "name"), "ペニシリン");
    assert_string_equal(js(json_array_get(al, 0), "severity"), "SV");
    assert_string_equal(js(json_object_get(json_array_get(al, 0), "source"), "type"), "ADT-61");
    assert_string_equal(also_in(json_array_get(al, 0), b, sizeof(b)), "ADT-00,OMP-01");
    assert_string_equal(js(json_array_get(al, 1), "name"), "スギ");
    assert_string_equal(also_in(json_array_get(al, 1), b, sizeof(b)), "");
    assert_string_equal(js(json_array_get(al, 2), "name"), "ソバ");
    assert_string_equal(js(json_object_get(json_array_get(al, 2), "source"), "type"), "ADT-00");
    assert_string_equal(also_in(json_array_get(al, 2), b, sizeof(b)), "OMP-02");
    assert_string_equal(js(json_array_get(al, 3), "name"), "卵");
    assert_string_equal(js(json_object_get(json_array_get(al, 3), "source"), "type"), "OMP-01");
    for (size_t i = 0; i < json_array_size(al); i++) {
        assert_string_not_equal(js(json_array_get(al, i), "name"), "アスピリン"); /* IAM-6 D */
        assert_string_not_equal(js(json_array_get(al, i), "name"), "セフェム");   /* older 61 */
        assert_string_not_equal(js(json_array_get(al, i), "name"), "ピーナッツ"); /* _2 */
    }
    json_decref(j);

    j = record_json(r, 1);
    al = json_object_get(j, "allergies");
    assert_int_equal(json_array_size(al), 6);
    for (size_t i = 4; i < 6; i++) {
        json_t *a = json_array_get(al, i);
        if (strcmp(js(a, "name"), "セフェム") == 0)
            assert_string_equal(js(a, "status"), "replaced");
        else
            assert_string_equal(js(a, "status"), "superseded");
    }
    json_decref(j);
    mm_ssmix2_record_free(r);
}

/* The newest ADT-61 is the register even when it deletes every allergy: the older one's
 * allergies are then replaced, never current. */
static void allergy__newest_register_without_allergies_replaces_the_older(void **state)
{
    mm_ssmix2_record *r = NULL;
    json_t *j, *al;

    (void)state;
    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    add_text(r, "0001234_-_ADT-61_999999999999999_20230101000000000_-_1",
             MSH("ADT^A60^ADT_A60") "EVN||20230101\r" RX_PID(
                     "試験^花子") "IAM|1|DA^薬剤^HL70127|3^セフェム^99XYZ|MO||A\r");
    add_text(r, "0001234_-_ADT-61_999999999999999_20240101000000000_-_1",
             MSH("ADT^A60^ADT_A60") "EVN||20240101\r" RX_PID(
                     "試験^花子") "IAM|1|DA^薬剤^HL70127|3^セフェム^99XYZ|MO||D\r");
    j = record_json(r, 0);
    assert_int_equal(json_array_size(json_object_get(j, "allergies")), 0);
    json_decref(j);
    j = record_json(r, 1);
    al = json_object_get(j, "allergies");
    assert_int_equal(json_array_size(al), 1);
    assert_string_equal(js(json_array_get(al, 0), "status"), "replaced");
    json_decref(j);
    mm_ssmix2_record_free(r);
}

/* The fields a non-order message carries and the record does not interpret are listed raw. */
static void uninterpreted__listed_per_message(void **state)
{
    mm_ssmix2_record *r = NULL;
    struct mm_ssmix2_field_counts c;
    json_t *j, *u, *f;

    (void)state;
    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    add_text(r, "0001234_-_ADT-00_999999999999999_20250101000000000_-_1",
             MSH("ADT^A08^ADT_A01") "EVN||20250101\r"
                                    "PID|1||0001234^^^^PI||試験^花子^^^^^L^I||19500101|F|||||||||"
                                    "||||||||||||20250101|Y\r"
                                    "PV1|1|O\rZZ1|1|秘密のメモ\r");
    mm_ssmix2_record_field_counts(r, &c);
    assert_int_equal(c.dropped, 0);
    assert_int_equal(c.raw, 4); /* PID-29, PID-30 and the two fields of ZZ1 */
    j = record_json(r, 0);
    u = json_object_get(j, "uninterpreted");
    assert_int_equal(json_array_size(u), 1);
    assert_string_equal(js(json_array_get(u, 0), "type"), "ADT-00");
    f = json_object_get(json_array_get(u, 0), "fields");
    assert_int_equal(json_array_size(f), 3);
    assert_string_equal(js(json_array_get(f, 0), "field"), "PID-29");
    assert_string_equal(js(json_array_get(f, 0), "text"), "20250101");
    assert_string_equal(js(json_array_get(f, 1), "field"), "PID-30");
    assert_string_equal(js(json_array_get(f, 2), "field"), "ZZ1");
    assert_string_equal(js(json_array_get(f, 2), "text"), "1|秘密のメモ");
    json_decref(j);

    /* a cancelled file's fields are history: listed only with it, with their status */
    add_text(r, "0001234_20250102_ADT-12_999999999999999_20250102000000000_01_0",
             MSH("ADT^A04^ADT_A01") "EVN||20250102\rPID|1||0001234^^^^PI\r"
                                    "PV1|1|O|||||||||||||||||V0001\r");
    j = record_json(r, 0);
    assert_int_equal(json_array_size(json_object_get(j, "uninterpreted")), 1);
    json_decref(j);
    j = record_json(r, 1);
    u = json_object_get(j, "uninterpreted");
    assert_int_equal(json_array_size(u), 2);
    assert_string_equal(js(json_array_get(u, 1), "status"), "cancelled");
    f = json_object_get(json_array_get(u, 1), "fields");
    assert_string_equal(js(json_array_get(f, 0), "field"), "PV1-19");
    json_decref(j);
    mm_ssmix2_record_free(r);
}

static size_t checked, checked_orders;

static int each_sample(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    const char *base = path + ftw->base;
    struct mm_ssmix2_field_counts c = { 0 };
    struct mm_ssmix2_name nm;

    (void)st;
    if (flag != FTW_F || mm_ssmix2_parse_name(&nm, base, strlen(base)) != 0)
        return 0;
    if (mm_ssmix2_count_fields(path, &nm, &c) != 0)
        return 0; /* the deliberately broken samples */
    assert_true(c.read > 0);
    if (strstr(",OMP-01,OMP-02,OML-01,OMG-01,OMG-02,OMG-03,OMD,", nm.type) &&
        strchr(nm.type, ',') == NULL) {
        checked_orders++; /* orders keep theirs in raw[] (ssmix2_order.c) */
        return 0;
    }
    if (c.dropped != 0)
        fprintf(stderr, "%s: %zu fields dropped\n", nm.type, c.dropped);
    assert_int_equal(c.dropped, 0);
    checked++;
    return 0;
}

/* No field of the public samples' non-order messages is dropped silently. */
static void uninterpreted__samples_drop_nothing(void **state)
{
    (void)state;
    assert_int_equal(nftw(SAMPLES, each_sample, 16, FTW_PHYS), 0);
    assert_true(checked >= 12); /* ADT, PPR-01, OMP-11/12, OML-11, OMG-11/12/13 */
    assert_true(checked_orders >= 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity__newest_pid_without_adt00),
        cmocka_unit_test(allergy__in_an_injection_order_has_a_source),
        cmocka_unit_test(allergy__union_of_every_message_deduplicated),
        cmocka_unit_test(allergy__newest_register_without_allergies_replaces_the_older),
        cmocka_unit_test(uninterpreted__listed_per_message),
        cmocka_unit_test(uninterpreted__samples_drop_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
