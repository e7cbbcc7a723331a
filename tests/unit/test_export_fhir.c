/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The FHIR Bundle of a record (mm_export_fhir_bundle) on records built in the test from HL7
 * messages written here: every resource type appears, the JSON parses, every reference
 * resolves inside the Bundle, IDs are the same from a record built in another order with more
 * in it, superseded, cancelled and cancel-message orders never appear, 不均等 doses stay one
 * dosage per timing, documents are embedded or said not to be, and read failures are listed
 * in the OperationOutcome.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "export/export.h"
#include "hl7/hl7.h"
#include "ssmix2/ssmix2.h"
#include "test_message.h"

#define MSH(t) "MSH|^~\\&|HIS|S|GW|R|20250101090000||" t "|1|P|2.5\r"
#define PID    "PID|1||0001234^^^^PI\r"

static const char adt00[] = MSH(
        "ADT^A08^ADT_A01") "EVN||20250101\r"
                           "PID|1||0001234^^^^PI||山田^花子^^^^^L^I~ヤマダ^ハナコ^^^^^L^P||19500101|F|||"
                           "^^^^100-0001^JPN^H^東京都千代田区１||^PRN^PH^^^^^^^^^03-1111-1111~^ORN^CP^^^^^^^^^"
                           "090-2222-2222\r"
                           "NK1|1|山田^太郎^^^^^L^I~ヤマダ^タロウ^^^^^L^P|SPO^配偶者^HL70063|"
                           "^^^^100-0002^JPN^H^東京都千代田区２|^PRN^CP^^^^^^^^^080-4444-4444\r"
                           "AL1|1|FA^食物^HL70127|^ソバ\r";
static const char adt61[] =
        MSH("ADT^A60^ADT_A60") "EVN||20250101\r" PID
                               "IAM|1|DA^薬剤^HL70127|1^ペニシリン^99XYZ|SV|発疹|A\r";
static const char adt12[] = MSH(
        "ADT^A04^ADT_A01") "EVN||202501020900\r" PID
                           "PV1|1|O|08^^^^^C||||D01^外科^一郎^^^^^^^L^^^^^I|||08|||||||||||||||||||||||||||||||||||"
                           "202501020900\r";
static const char ppr01[] = MSH("PPR^ZD1^PPR_ZD1") PID
        "PRB|AD|20250105|B0BK^胃炎^MDCDX2|1|||20250105|||K297^^I10||||||20250105||1\r"
        "PRB|AD|20250105|C0AA^高血圧症^MDCDX2|2|||20250105|||I10^^I10|||1|||20250105\r";
/* a prescription: 不均等 (V codes), Mon/Thu, PRN with a condition */
static const char omp01[] = MSH("RDE^O11^RDE_O11") PID
        "PV1|1|O\r"
        "ORC|NW|000000000000009||1|||||20250102|||D01^外科^一郎|||||08^外科^99Z01\r"
        "RXE||105271807^プレドニン錠５ｍｇ^HOT|1|2|TAB^錠^MR9P\r"
        "TQ1|1||1012040400000000&内服・経口・１日２回朝夕食後&JAMISDP01~V12NNNNN&２錠&JAMISDP01"
        "~V21NNNNN&１錠&JAMISDP01|||7^D&日&ISO+|20250102\r"
        "RXR|PO^口^HL70162\r"
        "ORC|NW|000000000000009||2|||||20250102|||D01^外科^一郎|||||08^外科^99Z01\r"
        "RXE||105271807^プレドニン錠５ｍｇ^HOT|3||TAB^錠^MR9P|||||6|TAB^錠^MR9P|||||||||||||||"
        "|21^内服^JHSP0003\r"
        "TQ1|1||1011000400000000&内服・経口・１日１回朝食後&JAMISDP01~W0100100&月曜日、木曜日&"
        "JAMISDP01|||2^W&週&ISO+|20250102\r"
        "RXR|PO^口^HL70162\r"
        "ORC|NW|000000000000009||3|||||20250102|||D01^外科^一郎|||||08^外科^99Z01\r"
        "RXE||100795402^ロキソニン錠６０ｍｇ^HOT|1||TAB^錠^MR9P|||||10|TAB^錠^MR9P|||||||||||"
        "|||||22^頓用^JHSP0003\r"
        "TQ1|1||1050110020000000&内服・経口・疼痛時&JAMISDP01||||20250102||PRN|疼痛時|1日2回まで\r"
        "RXR|PO^口^HL70162\r";
/* the same order number's earlier version (superseded) and a cancelled order */
static const char omp01_old[] =
        MSH("RDE^O11^RDE_O11") PID "ORC|NW|000000000000009||1|||||20250102\r"
                                   "RXE||111111111^古い薬^HOT|1||TAB^錠^MR9P\r";
static const char omp01_cancelled[] =
        MSH("RDE^O11^RDE_O11") PID "ORC|NW|000000000000010||1|||||20250102\r"
                                   "RXE||222222222^取消薬^HOT|1||TAB^錠^MR9P\r";
static const char omp01_cancel_msg[] =
        MSH("RDE^O11^RDE_O11") PID "ORC|CA|000000000000011||1|||||20250102\r"
                                   "RXE||333333333^取消通知薬^HOT|1||TAB^錠^MR9P\r";
/* an injection: base and additive, times, rate */
static const char omp02[] = MSH("RDE^O11^RDE_O11") PID
        "PV1|1|I\r"
        "ORC|NW|000000000000012||000000000000012_01_001|||||20250103080000|||D01^医師^一郎|||||"
        "01^内科^99Z01||||||||||||I\r"
        "RXE||00^一般^JHSI0002|510||ml^ミリリットル^ISO+|INJ^注射剤^MR9P|||||||||20250103-001||||||"
        "IHP^入院処方^MR9P|H1|102|ml/hr^ミリリットル／時間^ISO+\r"
        "TQ1|1|||0900|||202501030900|202501031400\r"
        "RXR|IV^静脈内^HL70162\r"
        "RXC|B|107750602^ソリタ－Ｔ３号輸液５００ｍＬ^HOT|1|HON^本^MR9P\r"
        "RXC|A|620000100^成分^HOT|3|BTL^瓶^MR9P\r";
static const char omp11[] = MSH("RAS^O17^RAS_O17") PID
        "ORC|NW|000000000000009||1|||||20250102\r"
        "RXA|0|1|20250102120000||105271807^プレドニン錠５ｍｇ^HOT|2|TAB^錠^MR9P|||||||||||||CP\r"
        "RXR|PO^口^HL70162\r";
static const char oml11[] = MSH("OUL^R22^OUL_R22") PID
        "SPM|1|||||||||||||||||20250106083000\r"
        "OBR|1|000000000000013||3A010000002327101^総蛋白^JC10|||20250106083000\r"
        "OBX|1|NM|3A010000002327101^総蛋白^JC10||7.2|g/dL^g/dL^99|6.7-8.3|N|||F\r"
        "OBX|2|NM|3D010000001926101^血糖^JC10||180|mg/dL^mg/dL^99|70-109|H|||F\r"
        "OBX|3|ST|1B020000000000000^尿蛋白^JC10||(-)||||||F\r";

#define DOC_TYPE   "SCAN^紹介状^99ZZ1"
#define DOC_NAME   "0001234_20250107_" DOC_TYPE "_K001_20250107100000000_01_1"
#define DOC_FOLDER "000/123/0001234/20250107/" DOC_TYPE "/" DOC_NAME

/* Add the full record (@reverse: in another order, and with one more lab result). */
static mm_ssmix2_record *build(int reverse)
{
    static const char *const files[] = { "a.pdf", "big.jpg" };
    struct {
        const char *name, *text;
    } m[] = {
        { "0001234_-_ADT-00_999999999999999_20250101090000000_-_1", adt00 },
        { "0001234_-_ADT-61_999999999999999_20250101090000000_-_1", adt61 },
        { "0001234_20250102_ADT-12_999999999999999_20250102090000000_08_1", adt12 },
        { "0001234_-_PPR-01_999999999999999_20250105090000000_08_1", ppr01 },
        { "0001234_20250102_OMP-01_000000000000009_20250102091000000_08_1", omp01 },
        { "0001234_20250102_OMP-01_000000000000009_20250102080000000_08_2", omp01_old },
        { "0001234_20250102_OMP-01_000000000000010_20250102080000000_08_0", omp01_cancelled },
        { "0001234_20250102_OMP-01_000000000000011_20250102080000000_08_1", omp01_cancel_msg },
        { "0001234_20250103_OMP-02_000000000000012_20250103080000000_01_1", omp02 },
        { "0001234_20250102_OMP-11_000000000000009_20250102120000000_08_1", omp11 },
        { "0001234_20250106_OML-11_000000000000013_20250106100000000_01_1", oml11 },
    };
    size_t n = sizeof(m) / sizeof(m[0]);
    struct mm_ssmix2_name nm;
    mm_ssmix2_record *r = NULL;

    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    for (size_t i = 0; i < n; i++)
        add_text(r, m[reverse ? n - 1 - i : i].name, m[reverse ? n - 1 - i : i].text);
    if (reverse)
        add_text(r, "0001234_20250110_OML-11_000000000000014_20250110100000000_01_1",
                 MSH("OUL^R22^OUL_R22") PID
                 "SPM|1|||||||||||||||||20250110083000\r"
                 "OBR|1|000000000000014\r"
                 "OBX|1|NM|3D010000001926101^血糖^JC10||99|mg/dL||N|||F\r");
    assert_int_equal(mm_ssmix2_parse_content_folder(&nm, DOC_NAME, strlen(DOC_NAME)), 0);
    assert_int_equal(mm_ssmix2_record_add_document(r, &nm, DOC_FOLDER, files, 2), 0);
    return r;
}

/* A document reader: a.pdf has bytes, big.jpg is too large. */
static int reader(void *ctx, const char *rel, size_t limit, mm_buf *out)
{
    (void)limit;
    (*(int *)ctx)++;
    if (strstr(rel, "big.jpg"))
        return MM_ELIMIT;
    assert_non_null(strstr(rel, DOC_FOLDER "/a.pdf"));
    return mm_buf_puts(out, "%PDF-1.4 test");
}

static json_t *bundle_of(const mm_ssmix2_record *r, char **text, int want_reads)
{
    struct mm_export_source src = { "aa", "bb", "2026-12-07T02:00:00+09:00", "1234567890" };
    json_error_t jerr;
    int reads = 0;
    json_t *j;
    mm_buf b;

    mm_buf_init(&b, 1u << 26);
    assert_int_equal(mm_export_fhir_bundle(r, &src, reader, &reads, &b), 0);
    assert_int_equal(reads, want_reads);
    j = json_loads(b.ptr, 0, &jerr);
    assert_non_null(j);
    if (text)
        *text = strdup(b.ptr);
    mm_buf_release(&b);
    return j;
}

/* The resources of type @type in @bundle, into @out (at most @cap). @return how many */
static size_t of_type(json_t *bundle, const char *type, json_t **out, size_t cap)
{
    json_t *e;
    size_t i, n = 0;

    json_array_foreach(json_object_get(bundle, "entry"), i, e)
    {
        json_t *res = json_object_get(e, "resource");
        if (strcmp(json_string_value(json_object_get(res, "resourceType")), type) == 0) {
            if (n < cap)
                out[n] = res;
            n++;
        }
    }
    return n;
}

/* Check every "reference" under @v against the fullUrls of @bundle. @return references seen */
static size_t check_refs(json_t *bundle, json_t *v)
{
    size_t n = 0, i;
    const char *k;
    json_t *c, *e;

    if (json_is_object(v)) {
        json_object_foreach(v, k, c)
        {
            if (strcmp(k, "reference") == 0) {
                int found = 0;
                json_array_foreach(json_object_get(bundle, "entry"), i, e) found |=
                        strcmp(json_string_value(json_object_get(e, "fullUrl")),
                               json_string_value(c)) == 0;
                assert_true(found);
                n++;
            } else {
                n += check_refs(bundle, c);
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c) n += check_refs(bundle, c);
    }
    return n;
}

static void bundle__every_type_and_references_resolve(void **state)
{
    static const char *const types[] = { "Patient",
                                         "Encounter",
                                         "Condition",
                                         "AllergyIntolerance",
                                         "MedicationRequest",
                                         "MedicationAdministration",
                                         "Observation",
                                         "DocumentReference",
                                         "Binary",
                                         "OperationOutcome" };
    mm_ssmix2_record *r = build(0);
    json_t *b = bundle_of(r, NULL, 2), *e, *res[16];
    size_t i;

    (void)state;
    assert_string_equal(json_string_value(json_object_get(b, "resourceType")), "Bundle");
    assert_string_equal(json_string_value(json_object_get(b, "type")), "collection");
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        assert_true(of_type(b, types[i], res, 16) > 0);
    assert_int_equal(of_type(b, "Patient", res, 16), 1);
    assert_int_equal(of_type(b, "Condition", res, 16), 2);
    assert_int_equal(of_type(b, "Observation", res, 16), 3);
    assert_int_equal(of_type(b, "Binary", res, 16), 1);
    /* allergies: the newest ADT-61's and the ADT-00's, each once */
    assert_int_equal(of_type(b, "AllergyIntolerance", res, 16), 2);
    /* fullUrl is urn:uuid:<id>, every id unique */
    json_array_foreach(json_object_get(b, "entry"), i, e)
    {
        const char *u = json_string_value(json_object_get(e, "fullUrl"));
        const char *id = json_string_value(json_object_get(json_object_get(e, "resource"), "id"));
        assert_int_equal(strncmp(u, "urn:uuid:", 9), 0);
        assert_string_equal(u + 9, id);
        assert_int_equal(strlen(id), 36);
    }
    assert_true(check_refs(b, b) > 10);
    json_decref(b);
    mm_ssmix2_record_free(r);
}

static void bundle__patient_jp_core(void **state)
{
    mm_ssmix2_record *r = build(0);
    json_t *b = bundle_of(r, NULL, 2), *p, *names, *id;

    (void)state;
    assert_int_equal(of_type(b, "Patient", &p, 1), 1);
    id = json_array_get(json_object_get(p, "identifier"), 0);
    assert_string_equal(json_string_value(json_object_get(id, "system")),
                        "urn:oid:1.2.392.100495.20.3.51.11234567890");
    assert_string_equal(json_string_value(json_object_get(id, "value")), "0001234");
    names = json_object_get(p, "name");
    assert_int_equal(json_array_size(names), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(names, 0), "family")),
                        "山田");
    assert_string_equal(
            json_string_value(json_object_get(
                    json_array_get(json_object_get(json_array_get(names, 1), "extension"), 0),
                    "valueCode")),
            "SYL");
    assert_string_equal(json_string_value(json_object_get(p, "gender")), "female");
    assert_string_equal(json_string_value(json_object_get(p, "birthDate")), "1950-01-01");
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "meta"), "source")),
                        "urn:mamori:aa:bb:000/123/0001234/-/ADT-00/"
                        "0001234_-_ADT-00_999999999999999_20250101090000000_-_1");
    assert_int_equal(json_array_size(json_object_get(p, "contact")), 1);
    json_decref(b);
    mm_ssmix2_record_free(r);
}

static void bundle__ids_are_deterministic(void **state)
{
    mm_ssmix2_record *r1 = build(0), *r2 = build(1);
    json_t *b1 = bundle_of(r1, NULL, 2), *b2 = bundle_of(r2, NULL, 2), *e, *f;
    size_t i, j, n2 = json_array_size(json_object_get(b2, "entry"));

    (void)state;
    assert_string_equal(json_string_value(json_object_get(b1, "id")),
                        json_string_value(json_object_get(b2, "id")));
    /* the second holds one more lab result; every resource of the first is in it by ID */
    assert_int_equal(json_array_size(json_object_get(b1, "entry")) + 1, n2);
    json_array_foreach(json_object_get(b1, "entry"), i, e)
    {
        const char *u = json_string_value(json_object_get(e, "fullUrl"));
        int found = 0;
        json_array_foreach(json_object_get(b2, "entry"), j, f) found |=
                strcmp(u, json_string_value(json_object_get(f, "fullUrl"))) == 0;
        assert_true(found);
    }
    json_decref(b1);
    json_decref(b2);
    mm_ssmix2_record_free(r1);
    mm_ssmix2_record_free(r2);
}

/* The Patient's ID is the patient's, whichever message gives the identity. */
static void bundle__patient_id_does_not_depend_on_the_identity_source(void **state)
{
    mm_ssmix2_record *r1 = NULL, *r2 = build(0);
    json_t *b1, *b2, *p1, *p2;
    mm_buf b;
    json_error_t jerr;

    (void)state;
    assert_int_equal(mm_ssmix2_record_new(&r1), 0);
    add_text(r1, "0001234_20250106_OML-11_000000000000013_20250106100000000_01_1", oml11);
    mm_buf_init(&b, 1u << 24);
    assert_int_equal(mm_export_fhir_bundle(r1, NULL, NULL, NULL, &b), 0);
    b1 = json_loads(b.ptr, 0, &jerr);
    mm_buf_release(&b);
    b2 = bundle_of(r2, NULL, 2);
    assert_int_equal(of_type(b1, "Patient", &p1, 1), 1);
    assert_int_equal(of_type(b2, "Patient", &p2, 1), 1);
    assert_string_equal(json_string_value(json_object_get(p1, "id")),
                        json_string_value(json_object_get(p2, "id")));
    json_decref(b1);
    json_decref(b2);
    mm_ssmix2_record_free(r1);
    mm_ssmix2_record_free(r2);
}

static void bundle__no_superseded_or_cancelled_order(void **state)
{
    mm_ssmix2_record *r = build(0);
    char *text = NULL;
    json_t *b = bundle_of(r, &text, 2), *mr[16];
    size_t n = of_type(b, "MedicationRequest", mr, 16);

    (void)state;
    assert_null(strstr(text, "111111111"));
    assert_null(strstr(text, "222222222"));
    assert_null(strstr(text, "333333333"));
    assert_null(strstr(text, "000000000000010"));
    assert_null(strstr(text, "000000000000011"));
    /* three prescription lines and the injection's two components */
    assert_int_equal(n, 5);
    free(text);
    json_decref(b);
    mm_ssmix2_record_free(r);
}

/* The MedicationRequest of drug @code and RP @rp in @b. */
static json_t *request(json_t *b, const char *code, const char *rp)
{
    json_t *mr[16];
    size_t n = of_type(b, "MedicationRequest", mr, 16);

    for (size_t i = 0; i < n && i < 16; i++) {
        json_t *c = json_array_get(
                json_object_get(json_object_get(mr[i], "medicationCodeableConcept"), "coding"), 0);
        json_t *id = json_array_get(json_object_get(mr[i], "identifier"), 0);
        if (strcmp(json_string_value(json_object_get(c, "code")), code) == 0 &&
            strcmp(json_string_value(json_object_get(id, "value")), rp) == 0)
            return mr[i];
    }
    return NULL;
}

static void bundle__dosage_kept_per_timing_and_pattern(void **state)
{
    mm_ssmix2_record *r = build(0);
    json_t *b = bundle_of(r, NULL, 2), *mr, *di, *c;

    (void)state;
    mr = request(b, "105271807", "1");
    assert_non_null(mr);
    c = json_array_get(json_object_get(json_object_get(mr, "medicationCodeableConcept"), "coding"),
                       0);
    assert_string_equal(json_string_value(json_object_get(c, "system")),
                        "urn:oid:1.2.392.200119.4.403.1");
    di = json_object_get(mr, "dosageInstruction");
    assert_int_equal(json_array_size(di), 2); /* 朝 2 錠, 夕 1 錠: never flattened */
    assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(json_array_get(json_object_get(json_array_get(di, 0),
                                                                            "doseAndRate"),
                                                            0),
                                             "doseQuantity"),
                             "value")),
                     2);
    assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(json_array_get(json_object_get(json_array_get(di, 1),
                                                                            "doseAndRate"),
                                                            0),
                                             "doseQuantity"),
                             "value")),
                     1);
    c = json_array_get(
            json_object_get(
                    json_object_get(json_object_get(json_array_get(di, 0), "timing"), "code"),
                    "coding"),
            0);
    assert_string_equal(json_string_value(json_object_get(c, "system")),
                        "urn:oid:1.2.392.200250.2.2.20.20");
    assert_string_equal(json_string_value(json_object_get(c, "code")), "1012040400000000");
    /* Mon/Thu: dayOfWeek and the JAMI 補足用法 code */
    mr = request(b, "105271807", "2");
    assert_non_null(mr);
    di = json_array_get(json_object_get(mr, "dosageInstruction"), 0);
    assert_int_equal(
            json_array_size(json_object_get(
                    json_object_get(json_object_get(di, "timing"), "repeat"), "dayOfWeek")),
            2);
    c = json_array_get(
            json_object_get(json_array_get(json_object_get(di, "additionalInstruction"), 0),
                            "coding"),
            0);
    assert_string_equal(json_string_value(json_object_get(c, "code")), "W0100100");
    assert_string_equal(json_string_value(json_object_get(
                                json_object_get(json_object_get(mr, "dispenseRequest"),
                                                "expectedSupplyDuration"),
                                "code")),
                        "wk");
    /* the injection's rate per hour as JP Core's rateRatio */
    mr = request(b, "107750602", "000000000000012_01_001");
    assert_non_null(mr);
    c = json_object_get(
            json_array_get(
                    json_object_get(json_array_get(json_object_get(mr, "dosageInstruction"), 0),
                                    "doseAndRate"),
                    0),
            "rateRatio");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "numerator"), "value")),
                     102);
    assert_string_equal(
            json_string_value(json_object_get(json_object_get(c, "denominator"), "code")), "h");
    /* PRN with its condition */
    mr = request(b, "100795402", "3");
    assert_non_null(mr);
    di = json_array_get(json_object_get(mr, "dosageInstruction"), 0);
    assert_string_equal(json_string_value(json_object_get(
                                json_object_get(di, "asNeededCodeableConcept"), "text")),
                        "疼痛時");
    json_decref(b);
    mm_ssmix2_record_free(r);
}

static void bundle__documents_and_read_failures(void **state)
{
    mm_ssmix2_record *r = build(0);
    json_t *b, *d, *oo, *is, *bin;
    char *text = NULL;

    (void)state;
    mm_ssmix2_record_note(r, "OML-11", MM_SSMIX2_NOTE_FILE, NULL);
    mm_ssmix2_record_note(r, "OML-11", MM_SSMIX2_NOTE_FAILED, "cannot decode");
    b = bundle_of(r, &text, 2);
    assert_int_equal(of_type(b, "DocumentReference", &d, 1), 1);
    assert_int_equal(json_array_size(json_object_get(d, "content")), 2);
    assert_non_null(strstr(json_string_value(json_object_get(d, "description")), "big.jpg"));
    assert_int_equal(of_type(b, "Binary", &bin, 1), 1);
    assert_string_equal(json_string_value(json_object_get(bin, "data")), "JVBERi0xLjQgdGVzdA==");
    assert_int_equal(of_type(b, "OperationOutcome", &oo, 1), 1);
    is = json_array_get(json_object_get(oo, "issue"), 0);
    assert_string_equal(json_string_value(json_object_get(is, "severity")), "error");
    assert_non_null(strstr(
            json_string_value(json_object_get(json_object_get(is, "details"), "text")), "OML-11"));
    /* no patient data in what says what is missing */
    assert_null(strstr(json_string_value(json_object_get(json_object_get(is, "details"), "text")),
                       "0001234"));
    free(text);
    json_decref(b);
    mm_ssmix2_record_free(r);
}

static void bundle__no_identity_is_refused(void **state)
{
    mm_ssmix2_record *r = NULL;
    mm_buf b;

    (void)state;
    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    mm_buf_init(&b, 1u << 20);
    assert_int_equal(mm_export_fhir_bundle(r, NULL, NULL, NULL, &b), MM_EINVAL);
    assert_int_equal(b.len, 0);
    mm_buf_release(&b);
    mm_ssmix2_record_free(r);
}

static void bundle__too_small_output_is_a_limit(void **state)
{
    mm_ssmix2_record *r = build(0);
    mm_buf b;

    (void)state;
    mm_buf_init(&b, 1000);
    assert_int_equal(mm_export_fhir_bundle(r, NULL, NULL, NULL, &b), MM_ELIMIT);
    assert_int_equal(b.len, 0);
    mm_buf_release(&b);
    mm_ssmix2_record_free(r);
}

/* Fail the k-th allocation (mamori's and jansson's) on run k: never a crash, a leak or a Bundle
 * cut short; ENOMEM until it succeeds. */
static void bundle__allocation_failure(void **state)
{
    mm_ssmix2_record *r = build(0);
    struct mm_export_source src = { "aa", "bb", "2026-12-07T02:00:00+09:00", "1234567890" };
    int err = MM_ENOMEM, reads;
    long k;

    (void)state;
    for (k = 1; err == MM_ENOMEM && k < 100000; k++) {
        mm_buf b;
        mm_buf_init(&b, 1u << 26);
        reads = 0;
        mm_alloc_fail_at(k, 0);
        err = mm_export_fhir_bundle(r, &src, reader, &reads, &b);
        mm_alloc_fail_at(0, 0);
        if (err == MM_ENOMEM)
            assert_int_equal(b.len, 0);
        mm_buf_release(&b);
    }
    assert_int_equal(err, 0);
    assert_true(k > 100);
    mm_ssmix2_record_free(r);
}

/* Values that are not FHIR dates are kept as written: in an extension where there is no note. */
static void bundle__dates_not_fhir_are_kept_as_written(void **state)
{
    mm_ssmix2_record *r = NULL;
    json_t *b, *p, *ext;
    char *text = NULL;

    (void)state;
    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    add_text(r, "0001234_-_ADT-00_999999999999999_20250101090000000_-_1",
             MSH("ADT^A08^ADT_A01") "EVN||20250101\r"
                                    "PID|1||0001234^^^^PI||山田^花子^^^^^L^I||19501|F\r");
    b = bundle_of(r, &text, 0);
    assert_int_equal(of_type(b, "Patient", &p, 1), 1);
    assert_null(json_object_get(p, "birthDate"));
    assert_null(json_object_get(p, "note")); /* Patient has no note element */
    ext = json_array_get(json_object_get(p, "extension"), 0);
    assert_non_null(strstr(json_string_value(json_object_get(ext, "url")), "as-written"));
    assert_non_null(strstr(json_string_value(json_object_get(ext, "valueString")), "19501"));
    free(text);
    json_decref(b);
    mm_ssmix2_record_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bundle__every_type_and_references_resolve),
        cmocka_unit_test(bundle__patient_jp_core),
        cmocka_unit_test(bundle__ids_are_deterministic),
        cmocka_unit_test(bundle__patient_id_does_not_depend_on_the_identity_source),
        cmocka_unit_test(bundle__no_superseded_or_cancelled_order),
        cmocka_unit_test(bundle__dosage_kept_per_timing_and_pattern),
        cmocka_unit_test(bundle__documents_and_read_failures),
        cmocka_unit_test(bundle__no_identity_is_refused),
        cmocka_unit_test(bundle__too_small_output_is_a_limit),
        cmocka_unit_test(bundle__dates_not_fhir_are_kept_as_written),
        cmocka_unit_test(bundle__allocation_failure),
    };
    /* jansson allocates through mamori's allocator, so that its failures are injected too */
    json_set_alloc_funcs(mm_malloc, mm_free);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
