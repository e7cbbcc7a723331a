/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the ssmix2 module: every sample name of the trees in tests/data/ssmix2-samples
 * (the public NHO samples and mamori's own fixtures), the deliberately misplaced sample, the
 * extended content folders of 6 fields, boundary cases of every field, the registry of 26
 * types, a seeded round-trip property over mutated names, and that no message ever holds the
 * patient ID.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "ssmix2/ssmix2.h"

#define SAMPLES   MM_SOURCE_ROOT "/tests/data/ssmix2-samples"
#define NHO_TOOL  SAMPLES "/nhoHQ_SSMIX2DataTestingTool/sampleData"
#define OWN_STD   SAMPLES "/fixtures/standard_root" /* tests/data/make-fixtures.py */
#define OWN_EXT   SAMPLES "/fixtures/extended_root"
#define MISPLACED "000/000/0000001/20000401/ADT-31/"
#define GOOD      "9999013_20111220_OML-11_000000011000354_20111220103059000_01_1"
#define PID       "9999013"

/* Parse the C string @s as a standardized file name. */
static int pn(struct mm_ssmix2_name *out, const char *s)
{
    return mm_ssmix2_parse_name(out, s, strlen(s));
}

/* Parse the C string @s as an extended content-folder name. */
static int pc(struct mm_ssmix2_name *out, const char *s)
{
    return mm_ssmix2_parse_content_folder(out, s, strlen(s));
}

/* A name built from GOOD with field @idx (0-based) replaced by @val. */
static const char *with_field(char *buf, size_t cap, int idx, const char *val)
{
    const char *f[7] = { PID,  "20111220", "OML-11", "000000011000354", "20111220103059000",
                         "01", "1" };

    f[idx] = val;
    snprintf(buf, cap, "%s_%s_%s_%s_%s_%s_%s", f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
    return buf;
}

/* Whether a standardized name with field @idx set to @val parses. */
static int field_ok(int idx, const char *val)
{
    struct mm_ssmix2_name nm;
    char buf[512];

    return pn(&nm, with_field(buf, sizeof(buf), idx, val)) == 0;
}

/* ---- walks over the real sample trees ------------------------------------------------- */

static int walk_files, walk_ok, walk_misplaced, walk_content;
static size_t walk_root_len;

static int visit_std(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    struct mm_ssmix2_name nm;
    const char *rel = path + walk_root_len + 1;
    int err;

    (void)st;
    if (flag != FTW_F)
        return 0;
    walk_files++;
    assert_int_equal(pn(&nm, path + ftw->base), 0);
    err = mm_ssmix2_check_path(&nm, rel);
    if (strncmp(rel, MISPLACED, strlen(MISPLACED)) == 0) {
        assert_int_equal(err, MM_ECORRUPT);
        assert_string_equal(mm_error_last(), "patient folder does not match the file name");
        walk_misplaced++;
    } else {
        if (err != 0)
            fail_msg("check_path: %s", mm_error_last());
        walk_ok++;
    }
    return 0;
}

static void check_path__accepts_every_sample(void **state)
{
    (void)state;
    walk_files = walk_ok = walk_misplaced = 0;
    walk_root_len = strlen(NHO_TOOL);
    assert_int_equal(nftw(NHO_TOOL, visit_std, 16, FTW_PHYS), 0);
    assert_int_equal(walk_files, 22);
    assert_int_equal(walk_ok, 21);
    assert_int_equal(walk_misplaced, 1);

    walk_files = walk_ok = walk_misplaced = 0;
    walk_root_len = strlen(OWN_STD);
    assert_int_equal(nftw(OWN_STD, visit_std, 16, FTW_PHYS), 0);
    assert_int_equal(walk_files, 2); /* the culture result and the injection order */
    assert_int_equal(walk_ok, 2);
}

static void check_path__rejects_misplaced_sample(void **state)
{
    struct mm_ssmix2_name nm;

    (void)state;
    memset(&nm, 0x5a, sizeof(nm));
    assert_int_equal(mm_ssmix2_check_path(&nm, MISPLACED "9999013_20110630_OMP-11_123456789012345_"
                                                         "20110701113813225_01_1"),
                     MM_ECORRUPT);
    assert_string_equal(mm_error_last(), "patient folder does not match the file name");
    assert_null(strstr(mm_error_last(), "9999013"));
    assert_null(strstr(mm_error_last(), "0000001"));
    assert_int_equal((unsigned char)nm.patient_id[0], 0x5a); /* untouched on failure */
}

static int visit_ext(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    struct mm_ssmix2_name nm;
    const char *name = path + ftw->base;

    (void)st;
    if (flag != FTW_D || ftw->level != 6)
        return 0;
    if (pc(&nm, name) != 0)
        fail_msg("content folder: %s", mm_error_last());
    assert_string_equal(nm.patient_id, "5550001234");
    assert_string_equal(nm.date, "20210304");
    assert_string_equal(nm.type, "L-OBSERVATIONS^OBSERVATIONS^99ZL01");
    /* keyed by the date, zero-padded, or by YYYYMMDDHH; 15-digit time stamps */
    if (strcmp(nm.order_no, "000000020210304") == 0)
        assert_string_equal(nm.timestamp, "202103050001158");
    else if (strcmp(nm.order_no, "000002021030415") == 0)
        assert_string_equal(nm.timestamp, "202103041500321");
    else
        fail_msg("unexpected content folder key '%s'", nm.order_no);
    assert_string_equal(nm.dept, "");
    assert_int_equal(nm.flag, MM_SSMIX2_CURRENT);
    assert_int_equal(nm.nfields, 6);
    walk_content++;
    return 0;
}

static void parse_content_folder__accepts_extended_samples(void **state)
{
    (void)state;
    walk_content = 0;
    assert_int_equal(nftw(OWN_EXT, visit_ext, 16, FTW_PHYS), 0);
    assert_int_equal(walk_content, 2);
}

static void parse_content_folder__accepts_seven_fields(void **state)
{
    struct mm_ssmix2_name nm;

    (void)state;
    assert_int_equal(pc(&nm, "0123456789_20160101_^経過記録^^11506-3^経過記録^LN_"
                             "20160101120000.0001.12345.01_20160101120000123_01_2"),
                     0);
    assert_string_equal(nm.patient_id, "0123456789");
    assert_string_equal(nm.type, "^経過記録^^11506-3^経過記録^LN");
    assert_string_equal(nm.order_no, "20160101120000.0001.12345.01");
    assert_string_equal(nm.timestamp, "20160101120000123");
    assert_string_equal(nm.dept, "01");
    assert_int_equal(nm.flag, MM_SSMIX2_SUPERSEDED);
    assert_int_equal(nm.nfields, 7);

    /* the type may contain '_': fields are read from both ends */
    assert_int_equal(pc(&nm, "12345678_-_LJCS_100D^心カテ^LN_k.1_20200101000000000_-_0"), 0);
    assert_string_equal(nm.date, "-");
    assert_string_equal(nm.type, "LJCS_100D^心カテ^LN");
    assert_string_equal(nm.order_no, "k.1");
    assert_string_equal(nm.dept, "-");
    assert_int_equal(nm.flag, MM_SSMIX2_CANCELLED);
    assert_int_equal(nm.nfields, 7);

    /* and a 6-field name with '_' inside the type */
    assert_int_equal(pc(&nm, "12345678_20200101_A_B_C_key_20200101000000000_1"), 0);
    assert_string_equal(nm.type, "A_B_C");
    assert_int_equal(nm.nfields, 6);
}

static void parse_content_folder__rejects_bad_names(void **state)
{
    struct mm_ssmix2_name nm;

    (void)state;
    assert_int_equal(pc(&nm, ""), MM_ECORRUPT);
    assert_int_equal(pc(&nm, "1_20160101_T_k_201601011500321"), MM_ECORRUPT); /* 5 fields */
    assert_int_equal(pc(&nm, "1_20160101_T_k_2016010115003_1"), MM_ECORRUPT);
    assert_string_equal(mm_error_last(),
                        "content folder name field 5 (timestamp) is not 15-17 digits");
    assert_int_equal(pc(&nm, "1_20160101_T_k_201601011500321_0001_1"), MM_ECORRUPT);
    assert_string_equal(mm_error_last(),
                        "content folder name field 5 (timestamp) is not 15-17 digits");
    assert_int_equal(pc(&nm, "1_20160101_T_k_201601011500321_x!_1"), MM_ECORRUPT);
    assert_string_equal(mm_error_last(),
                        "content folder name field 6 (department) is not '-' or 2-3 letters or "
                        "digits");
    assert_int_equal(pc(&nm, "1_20160101__k_201601011500321_1"), MM_ECORRUPT);
    assert_string_equal(mm_error_last(), "content folder name field 3 (data type) is empty");
    assert_int_equal(pc(&nm, "1_20160101_T__201601011500321_1"), MM_ECORRUPT);
    assert_string_equal(mm_error_last(), "content folder name field 4 (key) is empty");
    assert_int_equal(pc(&nm, "1_20160230_T_k_201601011500321_1"), MM_ECORRUPT);
    assert_int_equal(pc(&nm, "1_20160101_T_k_201601011500321_3"), MM_ECORRUPT);
    assert_int_equal(pc(&nm, "1_20160101_T_k_201613011500321_1"), MM_ECORRUPT);
    assert_int_equal(pc(&nm, "1_20160101_T\n_k_201601011500321_1"), MM_ECORRUPT);
}

static void parse_content_folder__length_limits(void **state)
{
    struct mm_ssmix2_name nm;
    char type[MM_SSMIX2_TYPE_MAX + 2], key[MM_SSMIX2_KEY_MAX + 2], buf[512];

    (void)state;
    memset(type, 'T', sizeof(type) - 2);
    type[sizeof(type) - 2] = '\0';
    snprintf(buf, sizeof(buf), "1_-_%s_k_201601011500321_1", type);
    assert_int_equal(pc(&nm, buf), 0);
    assert_int_equal(strlen(nm.type), MM_SSMIX2_TYPE_MAX);
    type[MM_SSMIX2_TYPE_MAX] = 'T';
    type[MM_SSMIX2_TYPE_MAX + 1] = '\0';
    snprintf(buf, sizeof(buf), "1_-_%s_k_201601011500321_1", type);
    assert_int_equal(pc(&nm, buf), MM_ECORRUPT);

    memset(key, 'k', sizeof(key) - 2);
    key[sizeof(key) - 2] = '\0';
    snprintf(buf, sizeof(buf), "1_-_T_%s_201601011500321_1", key);
    assert_int_equal(pc(&nm, buf), 0);
    assert_int_equal(strlen(nm.order_no), MM_SSMIX2_KEY_MAX);
    key[MM_SSMIX2_KEY_MAX] = 'k';
    key[MM_SSMIX2_KEY_MAX + 1] = '\0';
    snprintf(buf, sizeof(buf), "1_-_T_%s_201601011500321_1", key);
    assert_int_equal(pc(&nm, buf), MM_ECORRUPT);
}

/* ---- standardized names ---------------------------------------------------------------- */

static void parse_name__fields(void **state)
{
    struct mm_ssmix2_name nm;

    (void)state;
    assert_int_equal(pn(&nm, GOOD), 0);
    assert_string_equal(nm.patient_id, PID);
    assert_string_equal(nm.date, "20111220");
    assert_string_equal(nm.type, "OML-11");
    assert_string_equal(nm.order_no, "000000011000354");
    assert_string_equal(nm.timestamp, "20111220103059000");
    assert_string_equal(nm.dept, "01");
    assert_int_equal(nm.flag, MM_SSMIX2_CURRENT);
    assert_int_equal(nm.nfields, 7);

    assert_int_equal(pn(&nm, "9999013_-_ADT-00_999999999999999_20111220224447339_-_2"), 0);
    assert_string_equal(nm.date, "-");
    assert_string_equal(nm.dept, "-");
    assert_int_equal(nm.flag, MM_SSMIX2_SUPERSEDED);
}

static void parse_name__uses_only_n_bytes(void **state)
{
    struct mm_ssmix2_name nm;
    const char *s = GOOD "XYZ";

    (void)state;
    assert_int_equal(mm_ssmix2_parse_name(&nm, s, strlen(GOOD)), 0);
    assert_string_equal(nm.dept, "01");
    assert_int_equal(mm_ssmix2_parse_name(&nm, s, strlen(s)), MM_ECORRUPT);
    assert_int_equal(mm_ssmix2_parse_name(&nm, s, strlen(GOOD) - 2), MM_ECORRUPT);
}

static void parse_name__order_lengths(void **state)
{
    (void)state;
    assert_false(field_ok(3, "000000000012"));
    assert_true(field_ok(3, "0000000000013"));
    assert_true(field_ok(3, "00000000000014"));
    assert_true(field_ok(3, "000000000000015"));
    assert_false(field_ok(3, "0000000000000016"));
    assert_false(field_ok(3, "00000000000001a"));
    assert_false(field_ok(3, ""));
    assert_string_equal(mm_error_last(), "file name field 4 (order number) is not 13-15 digits");
}

static void parse_name__timestamp_lengths(void **state)
{
    (void)state;
    assert_false(field_ok(4, "20111220103059"));
    assert_string_equal(mm_error_last(), "file name field 5 (timestamp) is not 15-17 digits");
    assert_true(field_ok(4, "201112201030591"));
    assert_true(field_ok(4, "2011122010305912"));
    assert_true(field_ok(4, "20111220103059123"));
    assert_false(field_ok(4, "201112201030591234"));
    assert_false(field_ok(4, "2011122010305912x"));
    /* the leading yyyyMMddHHmmss must be real */
    assert_false(field_ok(4, "20111220243059123"));
    assert_string_equal(mm_error_last(),
                        "file name field 5 (timestamp) is not a real date and time");
    assert_false(field_ok(4, "20111220106059123"));
    assert_false(field_ok(4, "20111220103060123"));
    assert_false(field_ok(4, "20110230103059123"));
    assert_false(field_ok(4, "18991231235959000"));
    assert_true(field_ok(4, "20111220235959999"));
}

static void parse_name__dates(void **state)
{
    (void)state;
    assert_true(field_ok(1, "-"));
    assert_true(field_ok(1, "20120229"));
    assert_true(field_ok(1, "20000229"));
    assert_true(field_ok(1, "20111231"));
    assert_false(field_ok(1, "20110230"));
    assert_string_equal(mm_error_last(), "file name field 2 (care date) is not a real date");
    assert_false(field_ok(1, "20110229"));
    assert_false(field_ok(1, "21000229"));
    assert_false(field_ok(1, "20111301"));
    assert_false(field_ok(1, "20111200"));
    assert_false(field_ok(1, "20110431"));
    assert_false(field_ok(1, "18991231"));
    assert_false(field_ok(1, "2011122"));
    assert_string_equal(mm_error_last(), "file name field 2 (care date) is not YYYYMMDD or '-'");
    assert_false(field_ok(1, "201112201"));
    assert_false(field_ok(1, "--"));
    assert_false(field_ok(1, "2011-12-"));
    assert_false(field_ok(1, ""));
}

static void parse_name__types(void **state)
{
    size_t n;
    const struct mm_ssmix2_type *t = mm_ssmix2_types(&n);

    (void)state;
    for (size_t i = 0; i < n; i++)
        assert_true(field_ok(2, t[i].folder));
    assert_false(field_ok(2, "OMP-03"));
    assert_string_equal(mm_error_last(), "file name field 3 (data type) is not a known data type");
    assert_false(field_ok(2, "omp-01"));
    assert_false(field_ok(2, "ADT-0"));
    assert_false(field_ok(2, "OMD "));
    assert_false(field_ok(2, "処方"));
    assert_false(field_ok(2, ""));
}

static void parse_name__departments(void **state)
{
    (void)state;
    assert_true(field_ok(5, "-"));
    assert_true(field_ok(5, "01"));
    assert_true(field_ok(5, "004"));
    assert_true(field_ok(5, "09A"));
    assert_false(field_ok(5, "1"));
    assert_string_equal(mm_error_last(),
                        "file name field 6 (department) is not '-' or 2-3 letters or digits");
    assert_false(field_ok(5, "0001"));
    assert_false(field_ok(5, "0-"));
    assert_false(field_ok(5, "--"));
    assert_false(field_ok(5, ""));
    assert_false(field_ok(5, "内科"));
}

static void parse_name__flags(void **state)
{
    (void)state;
    assert_true(field_ok(6, "0"));
    assert_true(field_ok(6, "1"));
    assert_true(field_ok(6, "2"));
    assert_false(field_ok(6, "3"));
    assert_string_equal(mm_error_last(), "file name field 7 (condition flag) is not 0, 1 or 2");
    assert_false(field_ok(6, "10"));
    assert_false(field_ok(6, "a"));
    assert_false(field_ok(6, ""));
}

static void parse_name__patient_ids(void **state)
{
    char id[MM_LIMIT_PATIENT_ID + 2];

    (void)state;
    assert_true(field_ok(0, "1"));
    assert_true(field_ok(0, "A-123.x"));
    memset(id, '7', sizeof(id) - 2);
    id[sizeof(id) - 2] = '\0';
    assert_true(field_ok(0, id));
    id[MM_LIMIT_PATIENT_ID] = '7';
    id[MM_LIMIT_PATIENT_ID + 1] = '\0';
    assert_false(field_ok(0, id));
    assert_false(field_ok(0, ""));
    assert_string_equal(mm_error_last(), "file name field 1 (patient id) is empty");
    assert_false(field_ok(0, "患者"));
    assert_false(field_ok(0, "12 34"));
    assert_false(field_ok(0, ".."));
    assert_false(field_ok(0, "12\\34"));
}

static void parse_name__field_counts(void **state)
{
    struct mm_ssmix2_name nm;
    char big[400];

    (void)state;
    assert_int_equal(pn(&nm, ""), MM_ECORRUPT);
    assert_string_equal(mm_error_last(), "empty file name");
    assert_int_equal(pn(&nm, "9999013_20111220_OML-11_000000011000354_20111220103059000_1"),
                     MM_ECORRUPT);
    assert_string_equal(mm_error_last(), "file name has 6 fields, expected 7");
    assert_int_equal(pn(&nm, GOOD "_1"), MM_ECORRUPT);
    assert_string_equal(mm_error_last(), "file name has 8 fields, expected 7");
    assert_int_equal(pn(&nm, "______"), MM_ECORRUPT);
    assert_int_equal(pn(&nm, "main_document.hl7"), MM_ECORRUPT);
    assert_int_equal(pn(&nm, "9999013/20111220_OML-11_000000011000354_20111220103059000_01_1"),
                     MM_ECORRUPT);
    assert_int_equal(mm_ssmix2_parse_name(&nm, "9999013\0_20111220", 16), MM_ECORRUPT);
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(pn(&nm, big), MM_ECORRUPT);
    assert_string_equal(mm_error_last(), "file name is longer than 255 bytes");
}

static void parse_name__out_untouched_on_failure(void **state)
{
    struct mm_ssmix2_name nm, before;

    (void)state;
    assert_int_equal(pn(&nm, GOOD), 0);
    before = nm;
    assert_int_equal(pn(&nm, "1234567_20111220_OML-11_000000011000354_20111220103059000_01_3"),
                     MM_ECORRUPT);
    assert_memory_equal(&nm, &before, sizeof(nm));
}

/* ---- check_path -------------------------------------------------------------------------- */

static void check_path__mismatch_messages(void **state)
{
    static const struct {
        const char *path, *msg;
    } cases[] = {
        { "999/901/9999013/20111220/OML-11/" GOOD, NULL },
        { "998/901/9999013/20111220/OML-11/" GOOD,
          "first prefix folder does not match the patient id" },
        { "999/902/9999013/20111220/OML-11/" GOOD,
          "second prefix folder does not match the patient id" },
        { "9999/01/9999013/20111220/OML-11/" GOOD,
          "first prefix folder does not match the patient id" },
        { "999/901/9999014/20111220/OML-11/" GOOD, "patient folder does not match the file name" },
        { "999/901/9999013/20111221/OML-11/" GOOD, "date folder does not match the file name" },
        { "999/901/9999013/-/OML-11/" GOOD, "date folder does not match the file name" },
        { "999/901/9999013/20111220/OML-01/" GOOD,
          "data type folder does not match the file name" },
        { "901/9999013/20111220/OML-11/" GOOD, "path has 5 levels, expected 6" },
        { "x/999/901/9999013/20111220/OML-11/" GOOD, "path has 7 levels, expected 6" },
        { "999/901//9999013/20111220/OML-11/" GOOD, "path has an empty level" },
        { "/999/901/9999013/20111220/OML-11/" GOOD, "path has an empty level" },
        { "999/901/9999013/20111220/OML-11/", "path has an empty level" },
        { "", "empty path" },
        { "999/901/9999013/20111220/OML-11/9999013_20111220_OML-11_1_20111220103059000_01_1",
          "file name field 4 (order number) is not 13-15 digits" },
    };
    struct mm_ssmix2_name nm;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int err = mm_ssmix2_check_path(&nm, cases[i].path);
        if (!cases[i].msg) {
            assert_int_equal(err, 0);
            continue;
        }
        assert_int_equal(err, MM_ECORRUPT);
        assert_string_equal(mm_error_last(), cases[i].msg);
    }
}

static void check_path__short_patient_ids(void **state)
{
    struct mm_ssmix2_name nm;

    (void)state;
#define SHORT(pfx, pid) \
    pfx "/" pid "/-/ADT-00/" pid "_-_ADT-00_999999999999999_20111220224447339_-_1"
    assert_int_equal(mm_ssmix2_check_path(&nm, SHORT("123/45", "12345")), 0);
    assert_string_equal(nm.patient_id, "12345");
    assert_int_equal(mm_ssmix2_check_path(&nm, SHORT("12/345", "12345")), 0);
    assert_int_equal(mm_ssmix2_check_path(&nm, SHORT("1/2", "12")), 0);
    assert_int_equal(mm_ssmix2_check_path(&nm, SHORT("123/4", "1234")), 0);
    assert_int_equal(mm_ssmix2_check_path(&nm, SHORT("123/46", "12345")), MM_ECORRUPT);
    assert_string_equal(mm_error_last(), "second prefix folder does not match the patient id");
    assert_int_equal(mm_ssmix2_check_path(&nm, SHORT("124/45", "12345")), MM_ECORRUPT);
    assert_string_equal(mm_error_last(), "first prefix folder does not match the patient id");
    assert_int_equal(mm_ssmix2_check_path(&nm, SHORT("12/1", "12")), MM_ECORRUPT);
    assert_int_equal(mm_ssmix2_check_path(&nm, SHORT("123/456", "12345")), MM_ECORRUPT);
    /* with 6 or more characters the split is exactly 3 + 3 */
    assert_int_equal(mm_ssmix2_check_path(&nm, SHORT("123/456", "123456")), 0);
    assert_int_equal(mm_ssmix2_check_path(&nm, SHORT("12/345", "123456")), MM_ECORRUPT);
#undef SHORT
}

/* ---- registry ------------------------------------------------------------------------------ */

static void type_find__registry(void **state)
{
    static const char *const folders[] = {
        "ADT-00", "ADT-01", "ADT-12", "ADT-21", "ADT-22", "ADT-31", "ADT-32", "ADT-41", "ADT-42",
        "ADT-51", "ADT-52", "ADT-61", "PPR-01", "OMD",    "OMP-01", "OMP-02", "OMP-11", "OMP-12",
        "OML-01", "OML-11", "OMG-01", "OMG-02", "OMG-03", "OMG-11", "OMG-12", "OMG-13",
    };
    static const struct {
        const char *folder, *hl7, *cancel;
    } msgs[] = {
        { "ADT-00", "ADT^A08", "ADT^A23" }, { "ADT-01", "ADT^A54", "ADT^A55" },
        { "ADT-12", "ADT^A04", NULL },      { "ADT-21", "ADT^A14", "ADT^A27" },
        { "ADT-22", "ADT^A01", "ADT^A11" }, { "ADT-31", "ADT^A21", "ADT^A52" },
        { "ADT-32", "ADT^A22", "ADT^A53" }, { "ADT-41", "ADT^A15", "ADT^A26" },
        { "ADT-42", "ADT^A02", "ADT^A12" }, { "ADT-51", "ADT^A16", "ADT^A25" },
        { "ADT-52", "ADT^A03", "ADT^A13" }, { "ADT-61", "ADT^A60", NULL },
        { "PPR-01", "PPR^ZD1", NULL },      { "OMD", "OMD^O03", NULL },
        { "OMP-01", "RDE^O11", NULL },      { "OMP-02", "RDE^O11", NULL },
        { "OMP-11", "RAS^O17", NULL },      { "OMP-12", "RAS^O17", NULL },
        { "OML-01", "OML^O33", NULL },      { "OML-11", "OUL^R22", NULL },
        { "OMG-01", "OMG^O19", NULL },      { "OMG-02", "OMG^O19", NULL },
        { "OMG-03", "OMG^O19", NULL },      { "OMG-11", "OMI^Z23", NULL },
        { "OMG-12", "OMI^Z23", NULL },      { "OMG-13", "ORU^R01", NULL },
    };
    size_t n = 0;
    const struct mm_ssmix2_type *t = mm_ssmix2_types(&n);
    int dateless = 0;

    (void)state;
    assert_int_equal(n, 26);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(t[i].folder, folders[i]);
        assert_ptr_equal(mm_ssmix2_type_find(folders[i]), &t[i]);
        assert_true(t[i].name_ja[0] && t[i].name_en[0]);
        assert_string_equal(t[i].hl7, msgs[i].hl7);
        if (msgs[i].cancel)
            assert_string_equal(t[i].hl7_cancel, msgs[i].cancel);
        else
            assert_null(t[i].hl7_cancel);
        assert_true(t[i].dateless == (t[i].care_date == NULL));
        dateless += t[i].dateless;
    }
    assert_int_equal(dateless, 4);
    assert_true(mm_ssmix2_type_find("ADT-00")->dateless);
    assert_true(mm_ssmix2_type_find("ADT-01")->dateless);
    assert_true(mm_ssmix2_type_find("ADT-61")->dateless);
    assert_true(mm_ssmix2_type_find("PPR-01")->dateless);
    assert_string_equal(mm_ssmix2_type_find("OMP-01")->name_ja, "処方オーダ");
    assert_string_equal(mm_ssmix2_type_find("OML-11")->care_date, "SPM-17");
    assert_null(mm_ssmix2_type_find("OMP-03"));
    assert_null(mm_ssmix2_type_find(""));
    assert_null(mm_ssmix2_type_find(NULL));
}

/* ---- redaction ------------------------------------------------------------------------------ */

static void messages__never_contain_patient_id(void **state)
{
    static const char *const names[] = {
        "9876543210_20111230_OML-11_000000011000354_20111220103059000_01_1",
        "9876543210_20110230_OML-11_000000011000354_20111220103059000_01_1",
        "9876543210_20111220_OMX-11_000000011000354_20111220103059000_01_1",
        "9876543210_20111220_OML-11_9876543210_20111220103059000_01_1",
        "9876543210_20111220_OML-11_000000011000354_9876543210_01_1",
        "9876543210_20111220_OML-11_000000011000354_20111220103059000_9876543210_1",
        "9876543210_20111220_OML-11_000000011000354_20111220103059000_01_9876543210",
        "9876543210_20111220_OML-11_000000011000354_20111220103059000_01",
        "9876543210 _20111220_OML-11_000000011000354_20111220103059000_01_1",
        "9876543210_20111220_^9876543210^_9876543210_20111220103059000_01_1",
        "9876543210_20111220_T_k_9876543210_1",
        "9876543210_20111220_T_k_20111220103059000_9876543210_1",
        "9876543210",
    };
    static const char *const paths[] = {
        "987/654/9876543210/20111220/OML-11/"
        "9876543211_20111220_OML-11_000000011000354_20111220103059000_01_1",
        "987/655/9876543210/20111220/OML-11/"
        "9876543210_20111220_OML-11_000000011000354_20111220103059000_01_1",
        "987/654/9876543210/20111221/OML-11/"
        "9876543210_20111220_OML-11_000000011000354_20111220103059000_01_1",
        "987/654/9876543210/9876543210/OML-11/"
        "9876543210_20111220_OML-11_000000011000354_20111220103059000_01_1",
        "987/654/9876543210/20111220/OML-11/9876543210",
        "987/654/9876543210",
    };
    struct mm_ssmix2_name nm;

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        mm_error_clear();
        if (pn(&nm, names[i]) == 0 && i == 0)
            continue; /* the one valid name */
        assert_true(mm_error_last()[0]);
        assert_null(strstr(mm_error_last(), "9876543210"));
        mm_error_clear();
        (void)pc(&nm, names[i]);
        assert_null(strstr(mm_error_last(), "9876543210"));
    }
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        mm_error_clear();
        assert_int_equal(mm_ssmix2_check_path(&nm, paths[i]), MM_ECORRUPT);
        assert_true(mm_error_last()[0]);
        assert_null(strstr(mm_error_last(), "987654"));
    }
}

/* ---- property: mutated names either fail or round-trip ------------------------------------ */

static uint32_t rng_state;

/* xorshift32, seeded per test for reproducible runs */
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void parse_name__mutations_round_trip(void **state)
{
    static const char alphabet[] = "0123456789_-ADTOMPLG^\x80\xe3 ";
    char buf[300], back[512];
    struct mm_ssmix2_name nm;
    int ok = 0;

    (void)state;
    rng_state = 0x6d616d6fu;
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = strlen(GOOD);
        memcpy(buf, GOOD, n + 1);
        for (int m = 1 + (int)(rng() % 3); m > 0; m--) {
            size_t at = rng() % (n + 1);
            uint32_t op = rng() % 3;
            char c = alphabet[rng() % (sizeof(alphabet) - 1)];
            if (op == 0 && at < n) {
                buf[at] = c; /* replace */
            } else if (op == 1 && n + 1 < sizeof(buf)) {
                memmove(buf + at + 1, buf + at, n - at + 1); /* insert */
                buf[at] = c;
                n++;
            } else if (at < n) {
                memmove(buf + at, buf + at + 1, n - at); /* delete */
                n--;
            }
        }
        if (pn(&nm, buf) != 0)
            continue;
        ok++;
        snprintf(back, sizeof(back), "%s_%s_%s_%s_%s_%s_%d", nm.patient_id, nm.date, nm.type,
                 nm.order_no, nm.timestamp, nm.dept, (int)nm.flag);
        assert_string_equal(back, buf);
        assert_int_equal(mm_ssmix2_parse_content_folder(&nm, buf, n), 0);
    }
    assert_true(ok > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_path__accepts_every_sample),
        cmocka_unit_test(check_path__rejects_misplaced_sample),
        cmocka_unit_test(parse_content_folder__accepts_extended_samples),
        cmocka_unit_test(parse_content_folder__accepts_seven_fields),
        cmocka_unit_test(parse_content_folder__rejects_bad_names),
        cmocka_unit_test(parse_content_folder__length_limits),
        cmocka_unit_test(parse_name__fields),
        cmocka_unit_test(parse_name__uses_only_n_bytes),
        cmocka_unit_test(parse_name__order_lengths),
        cmocka_unit_test(parse_name__timestamp_lengths),
        cmocka_unit_test(parse_name__dates),
        cmocka_unit_test(parse_name__types),
        cmocka_unit_test(parse_name__departments),
        cmocka_unit_test(parse_name__flags),
        cmocka_unit_test(parse_name__patient_ids),
        cmocka_unit_test(parse_name__field_counts),
        cmocka_unit_test(parse_name__out_untouched_on_failure),
        cmocka_unit_test(check_path__mismatch_messages),
        cmocka_unit_test(check_path__short_patient_ids),
        cmocka_unit_test(type_find__registry),
        cmocka_unit_test(messages__never_contain_patient_id),
        cmocka_unit_test(parse_name__mutations_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
