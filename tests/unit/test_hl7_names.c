/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the hl7 name tables (hl7_names.c): known segment and field names in both
 * languages, NULL for everything unknown, the tables sorted strictly (checked here, at
 * test time, since the lookups are binary searches), every entry reachable through the
 * lookups, the fields SS-MIX2 fills all named, and every segment and non-empty field of
 * the samples under tests/data/ssmix2-samples named.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/limits.h"
#include "hl7/hl7.h"
#include "os/os.h"

#define SAMPLES MM_SOURCE_ROOT "/tests/data/ssmix2-samples"

/* Whether @s holds only printable ASCII. */
static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static void segment_name__known_in_both_languages(void **state)
{
    (void)state;
    assert_string_equal(mm_hl7_segment_name("PID", 0), "患者識別");
    assert_string_equal(mm_hl7_segment_name("PID", 1), "Patient Identification");
    assert_string_equal(mm_hl7_segment_name("MSH", 0), "メッセージヘッダ");
    assert_string_equal(mm_hl7_segment_name("MSH", 1), "Message Header");
    assert_string_equal(mm_hl7_segment_name("OBX", 1), "Observation/Result");
    assert_string_equal(mm_hl7_segment_name("RXE", 1), "Pharmacy/Treatment Encoded Order");
    assert_string_equal(mm_hl7_segment_name("ZPR", 0), "病名修飾語");
    /* any non-zero value means English */
    assert_string_equal(mm_hl7_segment_name("AL1", 7), "Patient Allergy Information");
    /* the first and the last entry of the table are found too */
    assert_non_null(mm_hl7_segment_name(mm_hl7_names_segment_at(0), 0));
    for (size_t i = 0; mm_hl7_names_segment_at(i); i++)
        if (!mm_hl7_names_segment_at(i + 1))
            assert_non_null(mm_hl7_segment_name(mm_hl7_names_segment_at(i), 1));
}

static void field_name__known_in_both_languages(void **state)
{
    (void)state;
    assert_string_equal(mm_hl7_field_name("PID", 5, 0), "患者氏名");
    assert_string_equal(mm_hl7_field_name("PID", 5, 1), "Patient Name");
    assert_string_equal(mm_hl7_field_name("PID", 7, 0), "生年月日");
    assert_string_equal(mm_hl7_field_name("PID", 3, 1), "Patient Identifier List");
    assert_string_equal(mm_hl7_field_name("MSH", 1, 1), "Field Separator");
    assert_string_equal(mm_hl7_field_name("MSH", 9, 0), "メッセージ型");
    assert_string_equal(mm_hl7_field_name("MSH", 18, 1), "Character Set");
    assert_string_equal(mm_hl7_field_name("MSH", 21, 1), "Message Profile Identifier");
    assert_string_equal(mm_hl7_field_name("OBX", 3, 1), "Observation Identifier");
    assert_string_equal(mm_hl7_field_name("OBX", 5, 0), "結果値");
    assert_string_equal(mm_hl7_field_name("PV1", 44, 1), "Admit Date/Time");
    assert_string_equal(mm_hl7_field_name("PV1", 10, 0), "診療科");
    assert_string_equal(mm_hl7_field_name("ORC", 9, 1), "Date/Time of Transaction");
    assert_string_equal(mm_hl7_field_name("RXE", 2, 1), "Give Code");
    assert_string_equal(mm_hl7_field_name("TQ1", 3, 1), "Repeat Pattern");
    assert_string_equal(mm_hl7_field_name("SPM", 17, 1), "Specimen Collection Date/Time");
    assert_string_equal(mm_hl7_field_name("IPC", 3, 1), "Study Instance UID");
    assert_string_equal(mm_hl7_field_name("PRB", 3, 1), "Problem ID");
    assert_string_equal(mm_hl7_field_name("ZPR", 2, 0), "病名管理番号");
    assert_string_equal(mm_hl7_field_name("IAM", 12, 1), "Onset Date Text");
}

static void names__null_for_unknown(void **state)
{
    (void)state;
    assert_null(mm_hl7_segment_name(NULL, 0));
    assert_null(mm_hl7_segment_name("", 0));
    assert_null(mm_hl7_segment_name("XYZ", 0));
    assert_null(mm_hl7_segment_name("pid", 1)); /* exact match only */
    assert_null(mm_hl7_segment_name("PI", 1));
    assert_null(mm_hl7_segment_name("PIDX", 1));
    assert_null(mm_hl7_segment_name("PID ", 1));
    assert_null(mm_hl7_segment_name("AAA", 1)); /* before the first entry */
    assert_null(mm_hl7_segment_name("ZZZ", 1)); /* after the last entry */
    assert_null(mm_hl7_field_name(NULL, 5, 0));
    assert_null(mm_hl7_field_name("XYZ", 1, 0));
    assert_null(mm_hl7_field_name("PID", 0, 0));
    assert_null(mm_hl7_field_name("PID", -1, 1));
    assert_null(mm_hl7_field_name("PID", 999, 1));
    assert_null(mm_hl7_field_name("PID", 20, 1)); /* a hole: SS-MIX2 does not use PID-20 */
    assert_null(mm_hl7_field_name("MSH", 22, 1));
    assert_null(mm_hl7_field_name("ZI1", 21, 0)); /* filled in samples, meaning unknown */
    assert_null(mm_hl7_names_segment_at(100000));
    assert_int_equal(mm_hl7_names_field_at(100000, 0), 0);
    assert_int_equal(mm_hl7_names_field_at(0, 100000), 0);
}

static void tables__sorted_and_reachable(void **state)
{
    const char *prev = NULL;
    size_t nseg = 0, nfields = 0;

    (void)state;
    for (size_t i = 0; mm_hl7_names_segment_at(i); i++) {
        const char *id = mm_hl7_names_segment_at(i);
        const char *ja = mm_hl7_segment_name(id, 0), *en = mm_hl7_segment_name(id, 1);
        int prevf = 0;

        /* 3 characters A-Z 0-9, strictly ascending, found by the binary search */
        assert_int_equal(strlen(id), 3);
        for (size_t k = 0; k < 3; k++)
            assert_true((id[k] >= 'A' && id[k] <= 'Z') || (id[k] >= '0' && id[k] <= '9'));
        if (prev)
            assert_true(strcmp(prev, id) < 0);
        prev = id;
        assert_non_null(ja);
        assert_non_null(en);
        assert_true(ja[0] && en[0]);
        assert_false(is_ascii(ja)); /* Japanese really is Japanese */
        assert_true(is_ascii(en));
        for (size_t k = 0; mm_hl7_names_field_at(i, k); k++) {
            int f = mm_hl7_names_field_at(i, k);
            const char *fja = mm_hl7_field_name(id, f, 0), *fen = mm_hl7_field_name(id, f, 1);

            assert_true(f > prevf); /* strictly ascending, from 1 */
            prevf = f;
            assert_non_null(fja);
            assert_non_null(fen);
            assert_true(fja[0] && fen[0]);
            assert_false(is_ascii(fja));
            assert_true(is_ascii(fen));
            /* the numbers between two entries have no name */
            if (k > 0)
                for (int g = mm_hl7_names_field_at(i, k - 1) + 1; g < f; g++)
                    assert_null(mm_hl7_field_name(id, g, 0));
            nfields++;
        }
        assert_true(prevf > 0); /* no segment without fields */
        assert_null(mm_hl7_field_name(id, prevf + 1, 1));
        nseg++;
    }
    assert_true(nseg >= 33);
    assert_true(nfields >= 500);
}

static void tables__cover_what_ssmix2_uses(void **state)
{
    static const char *const segs[] = { "MSH", "EVN", "PID", "PD1", "NK1", "PV1", "PV2",
                                        "DB1", "OBX", "AL1", "IAM", "IN1", "PRB", "ZPR",
                                        "ZPD", "ZI1", "ORC", "RXE", "RXR", "RXC", "RXA",
                                        "TQ1", "TQ2", "ODS", "ODT", "SPM", "OBR", "NTE",
                                        "IPC", "ZE1", "ZE2", "DG1", "CTI" };
    /* the fields the SS-MIX2 reader (ssmix2_record.c) and the data-type registry rely on */
    static const struct {
        const char *seg;
        int fields[24];
    } used[] = {
        { "MSH", { 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 18, 20, 21 } },
        { "EVN", { 2, 6, 7 } },
        { "PID", { 1, 3, 5, 7, 8, 11, 13, 14, 33 } },
        { "NK1", { 1, 2, 3, 4, 5, 6, 13 } },
        { "PV1", { 1, 2, 3, 6, 7, 10, 17, 36, 44, 45 } },
        { "PV2", { 8, 9, 47 } },
        { "DB1", { 1, 2, 4 } },
        { "IN1", { 1, 2, 3, 12, 13, 17 } },
        { "AL1", { 1, 2, 3, 4, 5 } },
        { "IAM", { 1, 2, 3, 4, 5, 6, 11, 12, 13, 17, 18, 19, 20 } },
        { "PRB", { 1, 2, 3, 4, 7, 8, 9, 10, 13, 14, 15, 16, 17, 18, 25 } },
        { "ZPR", { 1, 2, 3, 4, 5, 6, 7 } },
        { "ORC", { 1, 2, 3, 4, 5, 8, 9, 10, 12, 13, 17, 21, 22, 23, 29 } },
        { "RXE", { 2, 3, 5, 6, 7, 10, 11, 15, 19, 21, 22, 23, 24, 27, 31 } },
        { "TQ1", { 1, 2, 3, 6, 7, 8, 9, 11, 14 } },
        { "RXR", { 1, 2, 3, 4 } },
        { "RXC", { 1, 2, 3, 4 } },
        { "RXA", { 3, 4, 5, 6, 7, 9, 10, 11, 12, 20, 22 } },
        { "ODS", { 1, 2, 3, 4 } },
        { "SPM", { 1, 2, 4, 12, 17, 25 } },
        { "OBR", { 1, 2, 3, 4, 7, 8, 16, 22, 25, 29 } },
        { "OBX", { 1, 2, 3, 4, 5, 6, 7, 8, 11, 14 } },
        { "IPC", { 1, 2, 3, 4, 5 } },
        { "ZE1", { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 } },
        { "NTE", { 1, 2, 3 } },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        assert_non_null(mm_hl7_segment_name(segs[i], 0));
        assert_non_null(mm_hl7_segment_name(segs[i], 1));
    }
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
        for (size_t k = 0; k < 24 && used[i].fields[k]; k++) {
            const char *ja = mm_hl7_field_name(used[i].seg, used[i].fields[k], 0);
            if (!ja)
                fail_msg("%s-%d has no name", used[i].seg, used[i].fields[k]);
            assert_non_null(mm_hl7_field_name(used[i].seg, used[i].fields[k], 1));
        }
    }
}

/* OUT: *nseen: count the segments of every sample message file below @dir; fail on unnamed */
static void check_samples(const char *dir, size_t *nseen)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char path[2048];
        struct stat st;
        size_t n = strlen(de->d_name);
        mm_buf raw, text;
        mm_hl7_msg *m = NULL;

        if (de->d_name[0] == '.' || strcmp(de->d_name, "LICENSE") == 0 ||
            (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0) ||
            (n > 3 && strcmp(de->d_name + n - 3, ".md") == 0))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            check_samples(path, nseen);
            continue;
        }
        mm_buf_init(&raw, MM_LIMIT_HL7_MESSAGE);
        mm_buf_init(&text, MM_LIMIT_HL7_MESSAGE);
        assert_int_equal(mm_os_read_file(path, &raw), 0);
        assert_int_equal(mm_jis_decode(&text, raw.ptr, raw.len, 0, NULL), 0);
        if (mm_hl7_parse(&m, text.ptr, text.len) == 0) {
            for (size_t s = 0; s < mm_hl7_segment_count(m); s++) {
                const char *id = mm_hl7_segment_id(m, s);

                if (!mm_hl7_segment_name(id, 0))
                    fail_msg("segment %s of %s has no name", id, path);
                for (size_t f = 1; f <= mm_hl7_field_count(m, s); f++) {
                    const char *p;
                    size_t len;

                    assert_int_equal(mm_hl7_get_raw(m, s, (int)f, 0, 0, 0, &p, &len), 0);
                    if (len && !mm_hl7_field_name(id, (int)f, 0) &&
                        !(strcmp(id, "ZI1") == 0 && f == 21))
                        fail_msg("%s-%zu of %s has no name", id, f, path);
                }
                (*nseen)++;
            }
        }
        mm_hl7_free(m);
        mm_buf_release(&raw);
        mm_buf_release(&text);
    }
    closedir(d);
}

static void tables__name_every_field_of_the_samples(void **state)
{
    size_t nseen = 0;

    (void)state;
    check_samples(SAMPLES, &nseen);
    assert_true(nseen > 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(segment_name__known_in_both_languages),
        cmocka_unit_test(field_name__known_in_both_languages),
        cmocka_unit_test(names__null_for_unknown),
        cmocka_unit_test(tables__sorted_and_reachable),
        cmocka_unit_test(tables__cover_what_ssmix2_uses),
        cmocka_unit_test(tables__name_every_field_of_the_samples),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
