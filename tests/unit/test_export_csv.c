/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CSV tables of an export (export_csv.c) on a record built from messages written here:
 * the BOM, CRLF line ends, RFC 4180 quoting of commas, quotes and line breaks, the escape of
 * cells a spreadsheet would run (= + - @ tab, Japanese text after them too, a negative lab
 * value included), per-timing doses in their own columns, no cancelled, superseded or
 * cancel-message order, the diagnoses of the newest PPR-01 only, the allergies of the record's
 * current list (a newest register that lists none), the source file of each row (origin.file),
 * read-failure rows, and the temporary tables: renamed when closed, removed when not, a second
 * export refused.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "export/export.h"
#include "ssmix2/ssmix2.h"
#include "test_message.h"

#define MSH(t) "MSH|^~\\&|HIS|S|GW|R|20250101090000||" t "|1|P|2.5\r"
#define PID    "PID|1||0001234^^^^PI\r"
#define ORC(ctl, no, rp) \
    "ORC|" ctl "|" no "||" rp "|||||20250102091000|||D01^医師^一郎|||||01^内科^99Z01\r"

static char dir[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/mm-test-export-csv-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];

    (void)state;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' || strlen(e->d_name) > 2) {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    return rmdir(dir);
}

#define GEN "feedface00000000feedface00000000feedface00000000feedface00000000"
static const struct mm_export_source src = { "0123456789abcdef0123456789abcdef", GEN,
                                             "2025-01-10T02:00:00+09:00", "" };

/* The record of every construct the tables must handle. */
static mm_ssmix2_record *make_record(void)
{
    mm_ssmix2_record *r = NULL;

    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    /* a name with a comma and quotes, an address with a line break (HL7 \.br\) */
    add_text(r, "0001234_-_ADT-00_999999999999999_20250101090000000_-_1",
             MSH("ADT^A08^ADT_A01") "PID|1||0001234^^^^PI||山田,\"試\"^花子^^^^^L^I||19500101|F|||"
                                    "^^^^100-0001^JPN^H^東京都\\.br\\千代田区１\r");
    /* unequal doses: 朝4 昼2 夕1 (RXE-7 V codes) */
    add_text(
            r, "0001234_20250102_OMP-01_000000000000101_20250102091000000_01_1",
            MSH("RDE^O11^RDE_O11") PID ORC(
                    "NW", "000000000000101",
                    "1") "RXE||105271807^プレドニン錠５ｍｇ^HOT|1|4|TAB^錠^MR9P||V14NNNNN^４錠^JAMISDP01~"
                         "V22NNNNN^２錠^JAMISDP01~V31NNNNN^１錠^JAMISDP01\r"
                         "TQ1|1||1013044400000000&内服・経口・１日３回朝昼夕食後&JAMISDP01|||7^D&日&ISO+|"
                         "20250102\r"
                         "RXR|PO^口^HL70162\r");
    /* an update: the old file superseded (_2), the new one current */
    add_text(
            r, "0001234_20250102_OMP-01_000000000000102_20250102100000000_01_2",
            MSH("RDE^O11^RDE_O11") PID ORC(
                    "NW", "000000000000102",
                    "1") "RXE||111^旧い薬^HOT9|1||TAB^錠^MR9P\r"
                         "TQ1|1||1011000400000000&内服・経口・１日１回朝食後&JAMISDP01|||7^D&日&ISO+\r");
    add_text(
            r, "0001234_20250102_OMP-01_000000000000102_20250102110000000_01_1",
            MSH("RDE^O11^RDE_O11") PID ORC(
                    "NW", "000000000000102",
                    "1") "RXE||112^新しい薬^HOT9|1||TAB^錠^MR9P\r"
                         "TQ1|1||1011000400000000&内服・経口・１日１回朝食後&JAMISDP01|||7^D&日&ISO+\r");
    /* a cancel: the order and the cancel message both _0 */
    add_text(r, "0001234_20250102_OMP-01_000000000000103_20250102120000000_01_0",
             MSH("RDE^O11^RDE_O11") PID ORC("NW", "000000000000103",
                                            "1") "RXE||113^取消された薬^HOT9|1||TAB^錠^MR9P\r");
    add_text(r, "0001234_20250102_OMP-01_000000000000103_20250102130000000_01_0",
             MSH("RDE^O11^RDE_O11") PID ORC("CA", "000000000000103",
                                            "1") "RXE||113^取消された薬^HOT9|1||TAB^錠^MR9P\r");
    /* a cancel message left current by its sender: still never a prescription */
    add_text(r, "0001234_20250103_OMP-01_000000000000104_20250103130000000_01_1",
             MSH("RDE^O11^RDE_O11") PID ORC("CA", "000000000000104",
                                            "1") "RXE||114^取消通知の薬^HOT9|1||TAB^錠^MR9P\r");
    /* labs a spreadsheet would run: a negative value, =, @, a tab, Japanese after them */
    add_text(r, "0001234_20250102_OML-11_000000000000007_20250103080000000_01_1",
             MSH("OUL^R22^OUL_R22") PID "OBR|1|7||3A010^総蛋白^JC10|||20250102\r"
                                        "OBX|1|NM|3A010^=SUM(A1)^JC10||-1.2|g/dl\r"
                                        "OBX|2|ST|3A020^@取消^JC10||+3|g/dl\r"
                                        "OBX|3|ST|3A030^\\X09\\タブ^JC10||=日本語|g/dl\r"
                                        "OBX|4|ST|3A040^普通^JC10||ー１|g/dl\r");
    /* diagnoses: only those of the newest current PPR-01 */
    add_text(r, "0001234_-_PPR-01_999999999999999_20250101090000000_-_1",
             MSH("PPR^ZD1^PPR_ZD1") PID
             "PRB|AD|20250101|11111^古い病名^MDCDX2|1|||20250101||20250101|K297^^I10\r");
    add_text(r, "0001234_-_PPR-01_999999999999999_20250105090000000_-_1",
             MSH("PPR^ZD1^PPR_ZD1") PID
             "PRB|AD|20250105|22222^新しい病名^MDCDX2|2|||20250105||20250105|E119^^I10\r");
    /* a file of OMP-02 that could not be read */
    mm_ssmix2_record_note(r, "OMP-02", MM_SSMIX2_NOTE_FILE, NULL);
    mm_ssmix2_record_note(r, "OMP-02", MM_SSMIX2_NOTE_FAILED, "not an HL7 message");
    return r;
}

/* The content of table @name (NUL-terminated, in @b). */
static void read_table(const char *name, mm_buf *b)
{
    char p[512];
    FILE *f;
    char chunk[4096];
    size_t n;

    snprintf(p, sizeof(p), "%s/%s.csv", dir, name);
    f = fopen(p, "rb");
    assert_non_null(f);
    mm_buf_init(b, 1u << 24);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(mm_buf_put(b, chunk, n), 0);
    fclose(f);
    assert_non_null(b->ptr);
}

/* Rows of a table: CRLF line ends outside quotes (the header counted). */
static size_t rows_of(const mm_buf *b)
{
    size_t rows = 0;
    int q = 0;

    for (size_t i = 0; i < b->len; i++) {
        if (b->ptr[i] == '"')
            q = !q;
        else if (!q && b->ptr[i] == '\n') {
            assert_true(i > 0 && b->ptr[i - 1] == '\r'); /* never a bare LF */
            rows++;
        }
    }
    assert_false(q);
    return rows;
}

/* Write @r's tables into dir. */
static void export_record(mm_ssmix2_record *r)
{
    mm_export_csv *c = NULL;

    assert_int_equal(mm_export_csv_open(&c, dir), 0);
    assert_int_equal(mm_export_csv_add(c, r, &src), 0);
    assert_int_equal(mm_export_csv_close(c), 0);
    mm_export_csv_free(c);
}

static void export_csv__bom_crlf_and_quoting(void **state)
{
    static const char *const tables[] = { "patients",        "encounters",    "diagnoses",
                                          "allergies",       "prescriptions", "injections",
                                          "administrations", "labs",          "exams",
                                          "documents",       "read_failures" };
    mm_ssmix2_record *r = make_record();
    mm_buf b;

    (void)state;
    export_record(r);
    for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++) {
        read_table(tables[i], &b);
        assert_memory_equal(b.ptr, "\xEF\xBB\xBFpatient_id,", 14);
        assert_true(b.len >= 2 && memcmp(b.ptr + b.len - 2, "\r\n", 2) == 0);
        assert_non_null(strstr(b.ptr, ",source_type,source_order_no,source_time,generation\r\n"));
        rows_of(&b);
        mm_buf_release(&b);
    }
    read_table("patients", &b);
    assert_int_equal(rows_of(&b), 2);
    /* the comma and the quotes: quoted, quotes doubled; the line break kept inside quotes */
    assert_non_null(strstr(b.ptr, "\r\n0001234,\"山田,\"\"試\"\" 花子\","));
    assert_non_null(strstr(b.ptr, ",\"東京都\n千代田区１\","));
    /* the source and the generation end the row */
    assert_non_null(strstr(b.ptr, ",ADT-00,999999999999999,2025-01-01T09:00:00,"));
    assert_non_null(strstr(b.ptr, GEN));
    mm_buf_release(&b);
    /* source_file: the name of the item's message file (origin.file), then its parts */
    read_table("prescriptions", &b);
    assert_non_null(strstr(b.ptr, ",0001234_20250102_OMP-01_000000000000102_20250102110000000_01_"
                                  "1,OMP-01,000000000000102,2025-01-02T11:00:00," GEN "\r\n"));
    assert_non_null(strstr(b.ptr, ",0001234_20250102_OMP-01_000000000000101_20250102091000000_01_"
                                  "1,OMP-01,000000000000101,2025-01-02T09:10:00," GEN "\r\n"));
    mm_buf_release(&b);
    read_table("diagnoses", &b);
    assert_non_null(
            strstr(b.ptr, ",0001234_-_PPR-01_999999999999999_20250105090000000_-_1,PPR-01,"));
    mm_buf_release(&b);
    mm_ssmix2_record_free(r);
}

static void export_csv__formula_cells_are_escaped(void **state)
{
    mm_ssmix2_record *r = make_record();
    mm_buf b;

    (void)state;
    export_record(r);
    read_table("labs", &b);
    assert_int_equal(rows_of(&b), 5);
    assert_non_null(strstr(b.ptr, ",'=SUM(A1),'-1.2,")); /* a negative value too */
    assert_non_null(strstr(b.ptr, ",'@取消,'+3,"));
    assert_non_null(strstr(b.ptr, ",'\tタブ,'=日本語,"));
    assert_non_null(strstr(b.ptr, ",普通,ー１,")); /* Japanese text is left as it is */
    assert_null(strstr(b.ptr, ",=SUM"));
    assert_null(strstr(b.ptr, ",-1.2"));
    mm_buf_release(&b);
    mm_ssmix2_record_free(r);
}

static void export_csv__only_current_orders(void **state)
{
    mm_ssmix2_record *r = make_record();
    mm_buf b;

    (void)state;
    export_record(r);
    read_table("prescriptions", &b);
    assert_int_equal(rows_of(&b), 3); /* the header, プレドニン, 新しい薬 */
    assert_non_null(strstr(b.ptr, "新しい薬"));
    assert_null(strstr(b.ptr, "旧い薬"));          /* superseded */
    assert_null(strstr(b.ptr, "取消された薬"));    /* cancelled */
    assert_null(strstr(b.ptr, "取消通知の薬"));    /* a cancel message */
    assert_null(strstr(b.ptr, "000000000000103")); /* nothing of the cancelled order */
    mm_buf_release(&b);
    read_table("diagnoses", &b);
    assert_int_equal(rows_of(&b), 2);
    assert_non_null(strstr(b.ptr, "新しい病名"));
    assert_null(strstr(b.ptr, "古い病名"));
    mm_buf_release(&b);
    mm_ssmix2_record_free(r);
}

static void export_csv__doses_per_timing_in_their_columns(void **state)
{
    mm_ssmix2_record *r = make_record();
    const char *row, *hdr_end;
    char line[4096];
    size_t col = 0, want = 0;
    mm_buf b;

    (void)state;
    export_record(r);
    read_table("prescriptions", &b);
    /* the column of timing_1_label in the header */
    hdr_end = strstr(b.ptr, "\r\n");
    for (const char *p = b.ptr; p < strstr(b.ptr, "timing_1_label"); p++)
        want += *p == ',';
    assert_true(strstr(b.ptr, "timing_1_label") < hdr_end);
    row = strstr(b.ptr, "プレドニン");
    assert_non_null(row);
    while (row > b.ptr && row[-1] != '\n')
        row--;
    snprintf(line, sizeof(line), "%.*s", (int)(strstr(row, "\r\n") - row), row);
    for (const char *p = line; *p && col < want; p++)
        if (*p == ',' && ++col == want) {
            assert_memory_equal(p + 1, "朝,4,昼,2,夕,1,,,,,,,", strlen("朝,4,昼,2,夕,1,,,,,,,"));
            break;
        }
    assert_int_equal(col, want);
    /* the Rp's usage code and text, days and start in their own columns */
    assert_non_null(
            strstr(line, ",1013044400000000,内服・経口・１日３回朝昼夕食後,7,D,2025-01-02,"));
    mm_buf_release(&b);
    mm_ssmix2_record_free(r);
}

/* Allergies: the record's current list (the viewer's and the FHIR export's). The newest current
 * ADT-61 lists none any more, so the earlier one's ペニシリン is gone; of the ADT-00s only the
 * newest counts (卵, not ソバ); an AL1 of another current message counts (ヨード), one of a
 * superseded message does not; 卵 named twice is one row. */
static void export_csv__allergies_current_list(void **state)
{
    mm_ssmix2_record *r = NULL;
    mm_buf b, j;

    (void)state;
    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    add_text(r, "0001234_-_ADT-61_999999999999999_20250101090000000_-_1",
             MSH("ADT^A60^ADT_A60") "EVN||20250101\r" PID
                                    "IAM|1|DA^薬剤^HL70127|1^ペニシリン^99XYZ|SV|発疹|A\r");
    add_text(r, "0001234_-_ADT-61_999999999999999_20250201090000000_-_1",
             MSH("ADT^A60^ADT_A60") "EVN||20250201\r" PID);
    add_text(r, "0001234_-_ADT-00_999999999999999_20250101090000000_-_1",
             MSH("ADT^A08^ADT_A01") "EVN||20250101\r" PID "AL1|1|FA^食物^HL70127|^ソバ\r");
    add_text(r, "0001234_-_ADT-00_999999999999999_20250201090000000_-_1",
             MSH("ADT^A08^ADT_A01") "EVN||20250201\r" PID "AL1|1|FA^食物^HL70127|^卵\r");
    add_text(r, "0001234_20250203_OMP-01_000000000000201_20250203091000000_01_1",
             MSH("RDE^O11^RDE_O11") PID
             "AL1|1|DA^薬剤^HL70127|^ヨード\r"
             "AL1|2|FA^食物^HL70127|^卵\r" ORC("NW", "000000000000201",
                                               "1") "RXE||112^新しい薬^HOT9|1||TAB^錠^MR9P\r");
    add_text(r, "0001234_20250203_OMP-01_000000000000202_20250203080000000_01_2",
             MSH("RDE^O11^RDE_O11") PID "AL1|1|DA^薬剤^HL70127|^アスピリン\r" ORC(
                     "NW", "000000000000202", "1") "RXE||111^旧い薬^HOT9|1||TAB^錠^MR9P\r");
    export_record(r);
    read_table("allergies", &b);
    assert_int_equal(rows_of(&b), 3); /* the header, 卵, ヨード */
    assert_non_null(strstr(b.ptr, "\r\n0001234,FA,,卵,"));
    assert_non_null(strstr(b.ptr, "\r\n0001234,DA,,ヨード,"));
    assert_null(strstr(b.ptr, "ペニシリン")); /* the newest ADT-61 lists none */
    assert_null(strstr(b.ptr, "ソバ"));       /* an earlier ADT-00 */
    assert_null(strstr(b.ptr, "アスピリン")); /* a superseded message */
    /* 卵 from the newest ADT-00, which comes before the other messages in the list */
    assert_non_null(
            strstr(b.ptr, ",卵,,,,,0001234_-_ADT-00_999999999999999_20250201090000000_-_1,"));
    /* the viewer's list (the record's JSON without history) is the same */
    mm_buf_init(&j, 1u << 24);
    assert_int_equal(mm_ssmix2_record_json(r, &j, 0), 0);
    assert_int_equal(mm_buf_put(&j, "", 1), 0);
    assert_non_null(strstr(j.ptr, "卵"));
    assert_non_null(strstr(j.ptr, "ヨード"));
    assert_null(strstr(j.ptr, "ペニシリン"));
    assert_null(strstr(j.ptr, "ソバ"));
    assert_null(strstr(j.ptr, "アスピリン"));
    mm_buf_release(&j);
    mm_buf_release(&b);
    mm_ssmix2_record_free(r);
}

static void export_csv__read_failures_rows(void **state)
{
    mm_ssmix2_record *r = make_record();
    mm_buf b;

    (void)state;
    export_record(r);
    read_table("read_failures", &b);
    assert_int_equal(rows_of(&b), 2);
    assert_non_null(strstr(b.ptr, "\r\n0001234,OMP-02,注射オーダ,injections,1,1,0,0,not an HL7 "
                                  "message,,,,"));
    mm_buf_release(&b);
    mm_ssmix2_record_free(r);
}

static void export_csv__temporary_tables_and_refusal(void **state)
{
    mm_ssmix2_record *r = make_record();
    mm_export_csv *c = NULL;
    char p[512];
    struct stat st;

    (void)state;
    /* not closed: nothing is left */
    assert_int_equal(mm_export_csv_open(&c, dir), 0);
    assert_int_equal(mm_export_csv_add(c, r, &src), 0);
    snprintf(p, sizeof(p), "%s/labs.csv.tmp", dir);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    mm_export_csv_free(c);
    assert_int_not_equal(stat(p, &st), 0);
    snprintf(p, sizeof(p), "%s/labs.csv", dir);
    assert_int_not_equal(stat(p, &st), 0);
    /* closed: the tables are there, and a second export into the folder is refused */
    export_record(r);
    assert_int_equal(stat(p, &st), 0);
    c = NULL;
    assert_int_equal(mm_export_csv_open(&c, dir), MM_EEXISTS);
    assert_null(c);
    mm_ssmix2_record_free(r);
}

static void export_csv__record_without_patient(void **state)
{
    mm_ssmix2_record *r = NULL;
    mm_export_csv *c = NULL;

    (void)state;
    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    assert_int_equal(mm_export_csv_open(&c, dir), 0);
    assert_int_equal(mm_export_csv_add(c, r, &src), MM_EINVAL);
    mm_export_csv_free(c);
    mm_ssmix2_record_free(r);
}

/* Allocation failures: every one is MM_ENOMEM (no table left, nothing leaked), until the
 * export goes through whole. */
static void export_csv__allocation_failure(void **state)
{
    mm_ssmix2_record *r = make_record();
    int err = MM_ENOMEM;
    long k;

    (void)state;
    for (k = 1; err == MM_ENOMEM && k < 10000; k++) {
        mm_export_csv *c = NULL;
        char p[512];
        mm_alloc_track(1);
        mm_alloc_fail_at(k, 0);
        err = mm_export_csv_open(&c, dir);
        if (err == 0 && (err = mm_export_csv_add(c, r, &src)) == 0)
            err = mm_export_csv_close(c);
        mm_export_csv_free(c);
        mm_alloc_fail_at(0, 0);
        assert_int_equal(mm_alloc_live(), 0);
        mm_alloc_track(0);
        if (err == MM_ENOMEM) {
            snprintf(p, sizeof(p), "%s/labs.csv.tmp", dir);
            assert_int_not_equal(access(p, F_OK), 0);
            snprintf(p, sizeof(p), "%s/labs.csv", dir);
            assert_int_not_equal(access(p, F_OK), 0);
        }
    }
    assert_int_equal(err, 0);
    assert_true(k > 3); /* allocations were failed on the way */
    mm_ssmix2_record_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(export_csv__bom_crlf_and_quoting, setup, teardown),
        cmocka_unit_test_setup_teardown(export_csv__formula_cells_are_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(export_csv__only_current_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(export_csv__doses_per_timing_in_their_columns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(export_csv__allergies_current_list, setup, teardown),
        cmocka_unit_test_setup_teardown(export_csv__read_failures_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(export_csv__temporary_tables_and_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(export_csv__record_without_patient, setup, teardown),
        cmocka_unit_test_setup_teardown(export_csv__allocation_failure, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
