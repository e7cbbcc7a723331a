/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_guard.c: the ransomware guard driven by synthetic deltas (what the walk reports):
 * every rule fires, and stays quiet on its normal counterpart (SS-MIX2 updates and cancels,
 * new files, a department CSV rewritten, JPEGs); learning raises a bound for a source that
 * churns but never above its cap; the standing list round trip and the sticky verdict; a
 * damaged guard folder file is a clear error; canaries in a writable and a read-only folder;
 * observe from many threads at once; the reasons in both languages, without paths.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
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
#include "common/error.h"
#include "guard/guard.h"

#define DAY  86400
#define NOW  1767225600 /* 2026-01-01 */
#define PID  "1000000000"
#define TOP  "standard/100/000/" PID
#define ADT  TOP "/-/ADT-00"
#define OMP  TOP "/20250401/OMP-01"
#define N1   PID "_-_ADT-00_999999999999999_20250401083917762_-_1"
#define N2   PID "_-_ADT-00_999999999999999_20250401083917762_-_2"
#define N0   PID "_-_ADT-00_999999999999999_20250401083917762_-_0"
#define NNEW PID "_-_ADT-00_999999999999999_20250502122508382_-_1"
#define O1   PID "_20250401_OMP-01_1234567890123_20250401090000123_01_1"
#define O0   PID "_20250401_OMP-01_1234567890123_20250401090000123_01_0"
#define OCAN PID "_20250401_OMP-01_1234567890123_20250402100000456_01_0"

static char hl7[2048]; /* an SS-MIX2 message's first bytes */
static char csv[2048]; /* a Japanese billing CSV (UTF-8) */
static unsigned char rnd[4096], jpeg[4096];

static const struct mm_guard_source_cfg ss_cfg = { "ssmix2", 1, 0, -1, -1, -1, 0, NULL };
static const struct mm_guard_source_cfg dept_cfg = { "billing", 0, 0, -1, -1, -1, 0, NULL };

/* xorshift: the same "random" bytes every run */
static void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
    size_t i;

    for (i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        p[i] = (unsigned char)(seed >> 24);
    }
}

static int setup_data(void **state)
{
    size_t o = 0;
    (void)state;
    o = (size_t)snprintf(hl7, sizeof(hl7),
                         "MSH|^~\\&|HIS123|SEND|GW|RCV|20250401083900.000||ADT^A08^ADT_A01|"
                         "20250401083900000|P|2.5||||||~ISO IR87||ISO 2022-1994\r"
                         "EVN||20250401083900|||||SEND\r");
    while (o + 80 < sizeof(hl7))
        o += (size_t)snprintf(hl7 + o, sizeof(hl7) - o,
                              "OBX|%zu|NM|9N001000000000001^身長^JC10||162.5|cm^cm^ISO+|||||F\r",
                              o);
    o = 0;
    while (o + 120 < sizeof(csv))
        o += (size_t)snprintf(csv + o, sizeof(csv) - o,
                              "%zu,外来,内科,初診料,288,再診料,73,処方箋料,68,東京都千代田区\n", o);
    fill_random(rnd, sizeof(rnd), 88172645463325252ull);
    fill_random(jpeg, sizeof(jpeg), 1234567ull);
    memcpy(jpeg, "\xff\xd8\xff\xe0\0\x10JFIF", 10);
    return 0;
}

/* ---- a tiny harness: one guard, deltas, a verdict --------------------------------------- */

struct run {
    struct mm_guard_source_cfg src[2];
    struct mm_guard_opts o;
    mm_guard *g;
    struct mm_guard_verdict v;
};

static void run_start(struct run *r, const char *dir, const struct mm_guard_source_cfg *cfg,
                      size_t n, int64_t parent_end)
{
    memset(r, 0, sizeof(*r));
    memcpy(r->src, cfg, n * sizeof(*cfg));
    r->o.dir = dir;
    r->o.sources = r->src;
    r->o.nsources = n;
    r->o.now_s = NOW;
    r->o.parent_end_s = parent_end;
    r->o.repo_id = "ab000000000000000000000000000001"; /* 32 hex digits, as mm_repo_id */
    r->o.medium = "disk A";
    assert_int_equal(mm_guard_new(&r->o, &r->g), 0);
}

static void folder(struct run *r, size_t src, const char *dir, uint64_t now, uint64_t before)
{
    struct mm_repo_delta d;

    memset(&d, 0, sizeof(d));
    d.kind = MM_REPO_DELTA_FOLDER;
    d.source = src;
    d.dir = dir;
    d.count = now;
    d.before = before;
    mm_guard_observe(&d, r->g);
}

/* A file delta; @content is a one-byte tag of its content (0: none known). */
static void file(struct run *r, enum mm_repo_delta_kind k, size_t src, const char *dir,
                 const char *name, const char *old_name, int old_c, int new_c, const void *head,
                 size_t headlen)
{
    struct mm_repo_delta d;

    memset(&d, 0, sizeof(d));
    d.kind = k;
    d.source = src;
    d.dir = dir;
    d.name = name;
    d.old_name = old_name;
    d.count = 1;
    d.size = headlen;
    d.has_old = old_c != 0;
    d.has_new = new_c != 0;
    memset(d.old_content, old_c, sizeof(d.old_content));
    memset(d.new_content, new_c, sizeof(d.new_content));
    d.head = head;
    d.headlen = headlen;
    mm_guard_observe(&d, r->g);
}

static void run_judge(struct run *r)
{
    assert_int_equal(mm_guard_judge(r->g, &r->v), 0);
}

static void run_end(struct run *r)
{
    mm_guard_verdict_release(&r->v);
    mm_guard_free(r->g);
    r->g = NULL;
}

static int has_reason(const struct run *r, const char *line)
{
    return r->v.reasons && strstr(r->v.reasons, line) != NULL;
}

/* A storage of 1,000 message files in 100 folders, one day after its parent. */
static void ss_day(struct run *r)
{
    int i;

    run_start(r, NULL, &ss_cfg, 1, NOW - DAY);
    for (i = 0; i < 100; i++)
        folder(r, 0, ADT, 10, 10);
}

/* ---- SS-MIX2 storages ------------------------------------------------------------------- */

static void ssmix2__update_and_cancel_are_clean(void **state)
{
    struct run r;
    (void)state;

    ss_day(&r);
    /* update: _1 renamed to _2 (same content), the new _1 added under a new time stamp */
    file(&r, MM_REPO_DELTA_RENAMED, 0, ADT, N2, N1, 7, 7, NULL, 0);
    file(&r, MM_REPO_DELTA_ADDED, 0, ADT, NNEW, NULL, 0, 8, hl7, sizeof(hl7) - 1);
    /* cancel: _1 renamed to _0, the cancel message added as _0 */
    file(&r, MM_REPO_DELTA_RENAMED, 0, OMP, O0, O1, 9, 9, NULL, 0);
    file(&r, MM_REPO_DELTA_ADDED, 0, OMP, OCAN, NULL, 0, 10, hl7, sizeof(hl7) - 1);
    /* new patients' files, the storage's own control file, the walk's unchanged reads */
    file(&r, MM_REPO_DELTA_ADDED, 0, OMP, O1, NULL, 0, 11, hl7, sizeof(hl7) - 1);
    file(&r, MM_REPO_DELTA_ADDED, 0, "standard", "SS-MIX2_INDEX.db", NULL, 0, 12, rnd, 300);
    file(&r, MM_REPO_DELTA_TOUCHED, 0, ADT, N1, NULL, 5, 5, hl7, sizeof(hl7) - 1);
    file(&r, MM_REPO_DELTA_ADDED, 0, ADT, "Thumbs.db", NULL, 0, 13, "x", 1);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    assert_null(r.v.reasons);
    assert_string_equal(mm_guard_verdict_name(&r.v), "clean");
    run_end(&r);
}

static void ssmix2__rewrite_in_place_is_suspect(void **state)
{
    struct run r;
    (void)state;

    ss_day(&r);
    file(&r, MM_REPO_DELTA_MODIFIED, 0, ADT, N1, NULL, 1, 2, hl7, sizeof(hl7) - 1);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_true(has_reason(&r, "ssmix2-rewritten 1 1000\n"));
    assert_string_equal(mm_guard_verdict_name(&r.v), "suspect");
    run_end(&r);
}

static void ssmix2__replaced_pairs_with_its_rename(void **state)
{
    struct run r;
    (void)state;

    /* a new _1 under the very name of the old one, the old content now as _2: an update */
    ss_day(&r);
    file(&r, MM_REPO_DELTA_REPLACED, 0, ADT, N1, NULL, 3, 4, hl7, sizeof(hl7) - 1);
    file(&r, MM_REPO_DELTA_RENAMED, 0, ADT, N2, N1, 3, 3, NULL, 0);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);

    /* the same without the rename (encrypted to a new file under the old name): suspect */
    ss_day(&r);
    file(&r, MM_REPO_DELTA_REPLACED, 0, ADT, N1, NULL, 3, 4, hl7, sizeof(hl7) - 1);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_true(has_reason(&r, "ssmix2-rewritten 1 1000\n"));
    run_end(&r);

    /* a rename of other content does not pair */
    ss_day(&r);
    file(&r, MM_REPO_DELTA_REPLACED, 0, ADT, N1, NULL, 3, 4, hl7, sizeof(hl7) - 1);
    file(&r, MM_REPO_DELTA_RENAMED, 0, OMP, O0, O1, 6, 6, NULL, 0);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    run_end(&r);
}

static void ssmix2__not_hl7_and_random_are_suspect(void **state)
{
    struct run r;
    (void)state;

    ss_day(&r);
    file(&r, MM_REPO_DELTA_ADDED, 0, ADT, NNEW, NULL, 0, 8, rnd, sizeof(rnd));
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_true(has_reason(&r, "ssmix2-not-hl7 1 1000\n"));
    assert_true(has_reason(&r, "high-entropy 1 1\n"));
    run_end(&r);

    /* a sender's Shift_JIS byte in MSH (東 in MSH-4) is still HL7 */
    ss_day(&r);
    {
        static const char sjis[] = "MSH|^~\\&|HIS|\x93\x8c|GW|RCV|20250401083900||ADT^A08|1|P|2.5\r"
                                   "EVN||20250401083900\r";
        file(&r, MM_REPO_DELTA_ADDED, 0, ADT, NNEW, NULL, 0, 8, sjis, sizeof(sjis) - 1);
    }
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);

    /* text that is not HL7 (a damaged message) */
    ss_day(&r);
    file(&r, MM_REPO_DELTA_ADDED, 0, ADT, NNEW, NULL, 0, 8, "not an HL7 message at all", 25);
    run_judge(&r);
    assert_true(has_reason(&r, "ssmix2-not-hl7 1 1000\n"));
    assert_false(has_reason(&r, "high-entropy"));
    run_end(&r);
}

static void ssmix2__foreign_names_and_renames(void **state)
{
    struct run r;
    (void)state;

    /* a file in a data-type folder whose name does not parse */
    ss_day(&r);
    file(&r, MM_REPO_DELTA_ADDED, 0, ADT, "copy of report.txt", NULL, 0, 8, "x", 1);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_true(has_reason(&r, "ssmix2-foreign-name 1 1000\n"));
    run_end(&r);

    /* a department folder that only looks like one (its patient levels do not match the
     * patient folder, as mm_ssmix2_check_path wants) is not judged by the convention */
    ss_day(&r);
    file(&r, MM_REPO_DELTA_ADDED, 0, "standard/abc/def/1234567/20240101/ADT-00", "report.txt", NULL,
         0, 8, "x", 1);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);
    ss_day(&r);
    file(&r, MM_REPO_DELTA_ADDED, 0, "x/123/456/1234567/20240101/ADT-00", "report.txt", NULL, 0, 8,
         "x", 1);
    run_judge(&r);
    assert_true(has_reason(&r, "ssmix2-foreign-name 1 1000\n"));
    run_end(&r);

    /* a message renamed to another order number (not a flag change) */
    ss_day(&r);
    file(&r, MM_REPO_DELTA_RENAMED, 0, ADT, PID "_-_ADT-00_999999999999998_20250401083917762_-_1",
         N1, 3, 3, NULL, 0);
    run_judge(&r);
    assert_true(has_reason(&r, "ssmix2-foreign-name 1 1000\n"));
    run_end(&r);

    /* _0 back to _1 is not what the standard does */
    ss_day(&r);
    file(&r, MM_REPO_DELTA_RENAMED, 0, ADT, N1, N0, 3, 3, NULL, 0);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    run_end(&r);

    /* a random extension appended by the rename (BlackCat style) */
    ss_day(&r);
    file(&r, MM_REPO_DELTA_RENAMED, 0, ADT, N1 ".x7k2q9a", N1, 3, 4, NULL, 0);
    run_judge(&r);
    assert_true(has_reason(&r, "ransom-ext 1\n"));
    assert_true(has_reason(&r, "ssmix2-foreign-name 1 1000\n"));
    assert_true(has_reason(&r, "ssmix2-rewritten 1 1000\n"));
    run_end(&r);
}

static void ssmix2__deletions(void **state)
{
    struct run r;
    int i;
    (void)state;

    /* 0.5 % of the files deleted */
    ss_day(&r);
    for (i = 0; i < 5; i++)
        file(&r, MM_REPO_DELTA_DELETED, 0, ADT, N2, NULL, 1, 0, NULL, 0);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_true(has_reason(&r, "deleted-share 0.0050 0.0010\n"));
    run_end(&r);

    /* configured looser, an SS-MIX2 storage still may not lose 0.5 % */
    {
        struct mm_guard_source_cfg loose = ss_cfg;
        loose.max_deleted = 0.10;
        run_start(&r, NULL, &loose, 1, NOW - DAY);
        folder(&r, 0, ADT, 1000, 1000);
        for (i = 0; i < 5; i++)
            file(&r, MM_REPO_DELTA_DELETED, 0, ADT, N2, NULL, 1, 0, NULL, 0);
        run_judge(&r);
        assert_string_equal(r.v.reasons, "deleted-share 0.0050 0.0050\n");
        run_end(&r);
    }

    /* a whole patient folder of 12 files */
    ss_day(&r);
    {
        struct mm_repo_delta d;
        memset(&d, 0, sizeof(d));
        d.kind = MM_REPO_DELTA_DELETED;
        d.dir = TOP;
        d.name = "20250401";
        d.count = 12;
        mm_guard_observe(&d, r.g);
    }
    run_judge(&r);
    /* (its 12 files count among the files before: 12 of 1,012) */
    assert_true(has_reason(&r, "deleted-share 0.0119 0.0010\n"));
    run_end(&r);

    /* a department folder that lost a folder larger than what is left: at most all of it */
    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "", 10, 10);
    {
        struct mm_repo_delta d;
        memset(&d, 0, sizeof(d));
        d.kind = MM_REPO_DELTA_DELETED;
        d.name = "exports";
        d.count = 990;
        mm_guard_observe(&d, r.g);
    }
    run_judge(&r);
    assert_string_equal(r.v.reasons, "deleted-share 0.9900 0.0050\n");
    run_end(&r);

    /* none: clean; the same deletions on a first backup are not judged by share */
    ss_day(&r);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);
}

static void ssmix2__storage_inside_a_plain_folder(void **state)
{
    struct run r;
    int i;
    (void)state;

    /* `backup SS-MIX2` of the folder holding standard/ and extended/, given as a plain one:
     * the SS-MIX2 rules go by the path */
    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    for (i = 0; i < 100; i++)
        folder(&r, 0, ADT, 10, 10);
    folder(&r, 0, "", 1, 1);
    file(&r, MM_REPO_DELTA_MODIFIED, 0, ADT, N1, NULL, 1, 2, hl7, sizeof(hl7) - 1);
    for (i = 0; i < 5; i++)
        file(&r, MM_REPO_DELTA_DELETED, 0, ADT, N2, NULL, 1, 0, NULL, 0);
    file(&r, MM_REPO_DELTA_ADDED, 0, ADT, "x.txt", NULL, 0, 3, "x", 1);
    run_judge(&r);
    assert_true(has_reason(&r, "ssmix2-rewritten 1 1001\n"));
    assert_true(has_reason(&r, "ssmix2-foreign-name 1 1001\n"));
    assert_true(has_reason(&r, "deleted-share 0.0050 0.0010\n")); /* SS-MIX2's floor */
    run_end(&r);

    /* a department folder with a folder that only looks like a data type is not one (0.3 %
     * deleted: below a department's floor, above a storage's) */
    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "reports/OMP-01", 1000, 1000);
    for (i = 0; i < 3; i++)
        file(&r, MM_REPO_DELTA_DELETED, 0, "reports/OMP-01", "a.csv", NULL, 1, 0, NULL, 0);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);
}

static void ssmix2__canary_name_is_not_foreign(void **state)
{
    struct run r;
    (void)state;

    ss_day(&r);
    file(&r, MM_REPO_DELTA_ADDED, 0, "", "!0000_mamori_canary_do_not_edit.docx", NULL, 0, 1,
         "mamori canary", 13);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);
}

/* ---- department folders ----------------------------------------------------------------- */

static void dept__csv_rewrite_clean_random_csv_suspect(void **state)
{
    struct run r;
    (void)state;

    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "", 3, 3);
    file(&r, MM_REPO_DELTA_MODIFIED, 0, "", "billing.csv", NULL, 1, 2, csv, sizeof(csv) - 1);
    file(&r, MM_REPO_DELTA_REPLACED, 0, "", "billing_prev.csv", NULL, 3, 4, csv, sizeof(csv) - 1);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);

    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "", 3, 3);
    file(&r, MM_REPO_DELTA_MODIFIED, 0, "", "billing.csv", NULL, 1, 2, rnd, sizeof(rnd));
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_true(has_reason(&r, "high-entropy 1 1\n"));
    run_end(&r);

    /* only the first KiB encrypted (intermittent encryption) */
    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "", 3, 3);
    {
        char mixed[1024 + sizeof(csv)];
        memcpy(mixed, rnd, 1024);
        memcpy(mixed + 1024, csv, sizeof(csv));
        file(&r, MM_REPO_DELTA_MODIFIED, 0, "", "billing.csv", NULL, 1, 2, mixed, 1024);
    }
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    run_end(&r);
}

static void dept__jpeg_clean_jpeg_without_magic_suspect(void **state)
{
    struct run r;
    (void)state;

    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "pacs/2025", 200, 190);
    file(&r, MM_REPO_DELTA_ADDED, 0, "pacs/2025", "IMG0001.jpg", NULL, 0, 1, jpeg, sizeof(jpeg));
    file(&r, MM_REPO_DELTA_ADDED, 0, "pacs/2025", "README.txt", NULL, 0, 2, "read me", 7);
    {
        unsigned char dcm[4096];
        memcpy(dcm, rnd, sizeof(dcm));
        memcpy(dcm, "\x08\x00\x05\x00", 4); /* (0008,0005) without a preamble */
        file(&r, MM_REPO_DELTA_ADDED, 0, "pacs/2025", "IM0001.dcm", NULL, 0, 3, dcm, sizeof(dcm));
        memset(dcm, 0, 128);
        memcpy(dcm + 128, "DICM", 4);
        file(&r, MM_REPO_DELTA_ADDED, 0, "pacs/2025", "IM0002.dcm", NULL, 0, 4, dcm, sizeof(dcm));
        memcpy(dcm, rnd, sizeof(dcm));
        memcpy(dcm + 300, "%PDF-1.4", 8); /* a PDF after 300 bytes of something else */
        file(&r, MM_REPO_DELTA_ADDED, 0, "pacs/2025", "report.pdf", NULL, 0, 5, dcm, sizeof(dcm));
    }
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);

    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "pacs/2025", 200, 200);
    file(&r, MM_REPO_DELTA_REPLACED, 0, "pacs/2025", "IMG0001.jpg", NULL, 1, 2, rnd, sizeof(rnd));
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_true(has_reason(&r, "type-mismatch 1 1\n"));
    run_end(&r);

    /* renamed with a random extension while encrypted: the walk reads it as a new file, and
     * the extension inside tells its type */
    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "pacs/2025", 200, 200);
    file(&r, MM_REPO_DELTA_ADDED, 0, "pacs/2025", "IMG0001.jpg.x7k2q9a", NULL, 0, 2, rnd,
         sizeof(rnd));
    file(&r, MM_REPO_DELTA_ADDED, 0, "", "billing.csv.x7k2q9a", NULL, 0, 3, rnd, sizeof(rnd));
    file(&r, MM_REPO_DELTA_ADDED, 0, "", "billing.csv.x7k2q9a", NULL, 0, 4, csv, sizeof(csv) - 1);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_true(has_reason(&r, "type-mismatch 1 3\n"));
    assert_true(has_reason(&r, "high-entropy 1 3\n"));
    run_end(&r);
}

static void dept__moves_to_another_folder_are_not_deletions(void **state)
{
    struct run r;
    char name[32];
    int i;
    (void)state;

    /* the 1st of the month: the daily CSVs move into archive/YYYYMM/ (deleted here, added
     * there with the same content: the walk finds renames in one folder only) */
    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "", 3, 93);
    folder(&r, 0, "archive/202512", 90, 0);
    for (i = 0; i < 90; i++) {
        snprintf(name, sizeof(name), "day%02d.csv", i);
        file(&r, MM_REPO_DELTA_DELETED, 0, "", name, NULL, i + 1, 0, NULL, 0);
        file(&r, MM_REPO_DELTA_ADDED, 0, "archive/202512", name, NULL, 0, i + 1, csv,
             sizeof(csv) - 1);
    }
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);

    /* the same with other content added (encrypted copies, originals deleted): suspect */
    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "", 3, 93);
    folder(&r, 0, "archive/202512", 90, 0);
    for (i = 0; i < 90; i++) {
        snprintf(name, sizeof(name), "day%02d.csv", i);
        file(&r, MM_REPO_DELTA_DELETED, 0, "", name, NULL, i + 1, 0, NULL, 0);
        file(&r, MM_REPO_DELTA_ADDED, 0, "archive/202512", name, NULL, 0, i + 101, csv,
             sizeof(csv) - 1);
    }
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_true(has_reason(&r, "deleted-share 0.9677 0.0050\n"));
    run_end(&r);
}

static void patterns__notes_and_extensions(void **state)
{
    static const char *const notes[] = { "README_RESTORE_FILES.txt", "HOW_TO_DECRYPT.html",
                                         "!!!READ_ME!!!.txt",        "akira_readme.txt",
                                         "DECRYPT-FILES.html",       "RESTORE-MY-FILES.TXT",
                                         "RECOVER-abc123-FILES.txt", "x7k2q9a.README.txt" };
    static const char *const exts[] = {
        "kenshin.xlsx.locked", "a.pdf.lockbit", "report.csv.encrypted",
        "b.docx.akira",        "c.jpg.phobos",  "d.txt.id[ABCD-1234].[mail@x.example].eking"
    };
    static const char *const fine[] = { "README.txt",  "readme.md",
                                        "手順書.docx", "restore_test_plan.xlsx",
                                        "app.lock",    "data.bak" };
    struct run r;
    size_t i;
    char line[64];
    (void)state;

    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "", 1000, 1000);
    for (i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
        file(&r, MM_REPO_DELTA_ADDED, 0, "", notes[i], NULL, 0, 1, "pay", 3);
    for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
        file(&r, MM_REPO_DELTA_ADDED, 0, "", exts[i], NULL, 0, 1, "x", 1);
    run_judge(&r);
    snprintf(line, sizeof(line), "ransom-note %zu\n", sizeof(notes) / sizeof(notes[0]));
    assert_true(has_reason(&r, line));
    snprintf(line, sizeof(line), "ransom-ext %zu\n", sizeof(exts) / sizeof(exts[0]));
    assert_true(has_reason(&r, line));
    run_end(&r);

    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "", 1000, 1000);
    for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
        file(&r, MM_REPO_DELTA_ADDED, 0, "", fine[i], NULL, 0, 1, "x", 1);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);
}

static void judge__first_backup_and_guard_off(void **state)
{
    struct run r;
    struct mm_guard_source_cfg off[2] = { ss_cfg, dept_cfg };
    int i;
    (void)state;

    /* a first backup adds every file: no share rule */
    run_start(&r, NULL, &ss_cfg, 1, 0);
    folder(&r, 0, ADT, 500, 0);
    for (i = 0; i < 500; i++)
        file(&r, MM_REPO_DELTA_ADDED, 0, ADT, NNEW, NULL, 0, 1, hl7, sizeof(hl7) - 1);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);

    /* additions: a day's new files are clean; a folder growing tenfold in a day is not */
    ss_day(&r);
    for (i = 0; i < 60; i++)
        file(&r, MM_REPO_DELTA_ADDED, 0, ADT, NNEW, NULL, 0, 1, hl7, sizeof(hl7) - 1);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);
    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    folder(&r, 0, "", 110, 10);
    for (i = 0; i < 100; i++)
        file(&r, MM_REPO_DELTA_ADDED, 0, "", "scan.tmp", NULL, 0, 1, "x", 1);
    run_judge(&r);
    assert_string_equal(r.v.reasons, "added-share 10.0000 3.0000\n");
    run_end(&r);

    /* a source with guard = off is not judged, and the reasons say so */
    off[1].off = 1;
    run_start(&r, NULL, off, 2, NOW - DAY);
    folder(&r, 1, "", 10, 10);
    file(&r, MM_REPO_DELTA_ADDED, 1, "", "HOW_TO_DECRYPT.txt", NULL, 0, 1, "x", 1);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    assert_string_equal(r.v.reasons, "guard-off 1\n");
    run_end(&r);
}

/* ---- guard folder: learning, standing, damage ------------------------------------------- */

static char gdir[64];

static int rm_cb(const char *p, const struct stat *st, int f, struct FTW *w)
{
    (void)st;
    (void)f;
    (void)w;
    return remove(p);
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(gdir, sizeof(gdir), "/tmp/mamori-test-guard-XXXXXX");
    return mkdtemp(gdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    nftw(gdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* One day of a department folder of 100 files of which @modified were rewritten. */
static int churn_day(const struct mm_guard_source_cfg *cfg, int day, int modified, int record)
{
    struct run r;
    char name[32];
    int i, suspect;

    run_start(&r, gdir, cfg, 1, NOW - DAY);
    r.o.now_s = NOW + (int64_t)day * DAY;
    mm_guard_free(r.g);
    r.o.parent_end_s = r.o.now_s - DAY;
    assert_int_equal(mm_guard_new(&r.o, &r.g), 0);
    folder(&r, 0, "", 100, 100);
    for (i = 0; i < modified; i++) {
        snprintf(name, sizeof(name), "r%03d.csv", i);
        file(&r, MM_REPO_DELTA_MODIFIED, 0, "", name, NULL, 1, 2, csv, sizeof(csv) - 1);
    }
    run_judge(&r);
    suspect = r.v.suspect;
    if (record) {
        struct mm_guard_verdict clean = { 0, NULL };
        assert_int_equal(mm_guard_record(r.g,
                                         "00000000000000000000000000000000000000000000000"
                                         "00000000000000000",
                                         &clean),
                         0);
    }
    run_end(&r);
    return suspect;
}

static void learn__raises_bound_never_above_cap(void **state)
{
    struct mm_guard_source_cfg capped = dept_cfg;
    int d;
    (void)state;

    /* with no history, 30 % of the files rewritten passes the floor of 25 %: suspect */
    assert_int_equal(churn_day(&dept_cfg, 0, 30, 0), 1);
    /* three clean days of 20 % churn teach the guard: 3 x 20 % = 60 %, capped at 50 % */
    for (d = 1; d <= 3; d++)
        assert_int_equal(churn_day(&dept_cfg, d, 20, 1), 0);
    assert_int_equal(churn_day(&dept_cfg, 4, 30, 0), 0);
    assert_int_equal(churn_day(&dept_cfg, 4, 49, 0), 0);
    assert_int_equal(churn_day(&dept_cfg, 4, 50, 0), 1); /* the built-in cap */
    /* a configured cap below the learned bound wins */
    capped.max_modified = 0.35;
    assert_int_equal(churn_day(&capped, 4, 34, 0), 0);
    assert_int_equal(churn_day(&capped, 4, 35, 0), 1);
    /* a configured share is the bound: a site may also allow more than the built-in cap */
    capped.max_modified = 0.70;
    assert_int_equal(churn_day(&capped, 4, 60, 0), 0);
    assert_int_equal(churn_day(&capped, 4, 70, 0), 1);
    /* another source learned nothing */
    capped = dept_cfg;
    capped.name = "radiology";
    assert_int_equal(churn_day(&capped, 4, 30, 0), 1);
}

/* A department folder of 1,000 files losing @deleted of them over @span days. */
static int purge_day(int day, int span, int deleted, int record)
{
    struct run r;
    int i, suspect;

    run_start(&r, NULL, &dept_cfg, 1, NOW - DAY);
    mm_guard_free(r.g);
    r.o.dir = gdir;
    r.o.now_s = NOW + (int64_t)day * DAY;
    r.o.parent_end_s = r.o.now_s - (int64_t)span * DAY;
    assert_int_equal(mm_guard_new(&r.o, &r.g), 0);
    folder(&r, 0, "", 1000 - deleted, 1000);
    for (i = 0; i < deleted; i++)
        file(&r, MM_REPO_DELTA_DELETED, 0, "", "old.csv", NULL, i + 1, 0, NULL, 0);
    run_judge(&r);
    suspect = r.v.suspect;
    if (record) {
        struct mm_guard_verdict clean = { 0, NULL };
        assert_int_equal(mm_guard_record(r.g,
                                         "00000000000000000000000000000000000000000000000"
                                         "00000000000000000",
                                         &clean),
                         0);
    }
    run_end(&r);
    return suspect;
}

static void learn__deletions_per_day_of_span(void **state)
{
    int d;
    (void)state;

    /* a folder that drops 2 % of its files a night is suspect until it has learned */
    assert_int_equal(purge_day(0, 1, 20, 0), 1);
    for (d = 1; d <= 3; d++)
        purge_day(d, 1, 20, 1); /* (a person's choice: recorded as clean) */
    /* learned 3 x 2 % a day: a night may lose 5.9 %, three days 17.9 %, not 6.1 % in one;
     * never 20 % (the cap) */
    assert_int_equal(purge_day(4, 1, 59, 0), 0);
    assert_int_equal(purge_day(4, 1, 61, 0), 1);
    assert_int_equal(purge_day(6, 3, 179, 0), 0);
    assert_int_equal(purge_day(6, 3, 181, 0), 1);
    assert_int_equal(purge_day(14, 10, 199, 0), 0);
    assert_int_equal(purge_day(14, 10, 200, 0), 1);
}

static void standing__round_trip_and_sticky(void **state)
{
    static const char gen[] = "c0ffee0000000000000000000000000000000000000000000000000000000001";
    struct mm_guard_standing *v = NULL;
    size_t n = 0;
    struct run r;
    (void)state;

    /* a suspect run stands */
    run_start(&r, gdir, &ss_cfg, 1, NOW - DAY);
    folder(&r, 0, ADT, 100, 100);
    file(&r, MM_REPO_DELTA_MODIFIED, 0, ADT, N1, NULL, 1, 2, hl7, sizeof(hl7) - 1);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_int_equal(mm_guard_record(r.g, gen, &r.v), 0);
    run_end(&r);
    assert_int_equal(mm_guard_standing_list(gdir, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].gen, gen);
    assert_string_equal(v[0].medium, "disk A");
    assert_int_equal(v[0].time_s, NOW);
    assert_string_equal(v[0].repo_id, "ab000000000000000000000000000001");
    mm_free(v);

    /* a clean day is suspect while it stands, and does not stand itself */
    run_start(&r, gdir, &ss_cfg, 1, NOW - DAY);
    folder(&r, 0, ADT, 100, 100);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_string_equal(r.v.reasons, "standing c0ffee000000\n");
    assert_int_equal(mm_guard_record(r.g,
                                     "d0000000000000000000000000000000000000000000000000"
                                     "00000000000002",
                                     &r.v),
                     0);
    run_end(&r);
    assert_int_equal(mm_guard_standing_list(gdir, &v, &n), 0);
    assert_int_equal(n, 1);
    mm_free(v);

    /* accepted: cleared, and the next day is clean */
    assert_int_equal(mm_guard_standing_clear(gdir, gen), 1);
    assert_int_equal(mm_guard_standing_clear(gdir, gen), 0);
    assert_int_equal(mm_guard_standing_list(gdir, &v, &n), 0);
    assert_int_equal(n, 0);
    assert_null(v);
    run_start(&r, gdir, &ss_cfg, 1, NOW - DAY);
    folder(&r, 0, ADT, 100, 100);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    run_end(&r);
}

static void write_text(const char *name, const char *text, size_t n)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", gdir, name);
    assert_non_null(f = fopen(path, "wb"));
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
}

static void damage__clear_errors_never_a_crash(void **state)
{
    struct mm_guard_standing *v = NULL;
    size_t n = 0;
    struct run r;
    char *big;
    (void)state;

    /* a damaged history: defaults, and a note */
    write_text("history-ssmix2.txt", "mamori-guard-history 1\n1 2 3\n", 29);
    run_start(&r, gdir, &ss_cfg, 1, NOW - DAY);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 0);
    assert_string_equal(r.v.reasons, "history-damaged\n");
    /* recording a clean run starts the history again */
    folder(&r, 0, ADT, 100, 100);
    assert_int_equal(mm_guard_record(r.g,
                                     "e0000000000000000000000000000000000000000000000000"
                                     "00000000000003",
                                     &r.v),
                     0);
    run_end(&r);
    run_start(&r, gdir, &ss_cfg, 1, NOW - DAY);
    run_judge(&r);
    assert_null(r.v.reasons);
    run_end(&r);

    /* a damaged standing list: a clear error, and the run is suspect */
    write_text("standing.txt", "mamori-guard-standing 1\nnot a generation\n", 41);
    assert_int_equal(mm_guard_standing_list(gdir, &v, &n), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "damaged at line 2"));
    assert_null(v);
    run_start(&r, gdir, &ss_cfg, 1, NOW - DAY);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_string_equal(r.v.reasons, "standing-unreadable\n");
    run_end(&r);

    /* an oversized one, and one with a NUL byte */
    big = malloc(2u << 20);
    assert_non_null(big);
    memset(big, 'a', 2u << 20);
    write_text("standing.txt", big, 2u << 20);
    free(big);
    assert_int_equal(mm_guard_standing_list(gdir, &v, &n), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "larger than"));
    write_text("standing.txt", "mamori-guard-standing 1\n\0", 25);
    assert_int_equal(mm_guard_standing_list(gdir, &v, &n), MM_ECORRUPT);
    assert_int_equal(mm_guard_standing_clear(gdir, "ab"), MM_ECORRUPT);
    write_text("standing.txt", "mamori-guard-standing 1\n", 24);
    assert_int_equal(mm_guard_standing_list(gdir, &v, &n), 0);
    assert_int_equal(n, 0);
}

/* ---- canaries --------------------------------------------------------------------------- */

static void canary_run(const char *src, const char *expect_reasons, int expect_suspect)
{
    struct mm_guard_source_cfg cfg = dept_cfg;
    struct run r;

    cfg.name = strcmp(src, "/proc") ? "billing" : "vendor";
    cfg.canary = 1;
    cfg.path = src;
    run_start(&r, gdir, &cfg, 1, NOW - DAY);
    run_judge(&r);
    assert_int_equal(r.v.suspect, expect_suspect);
    if (expect_reasons)
        assert_string_equal(r.v.reasons, expect_reasons);
    else
        assert_null(r.v.reasons);
    run_end(&r);
}

static void canary__plant_check_readonly(void **state)
{
    char src[128], path[256];
    struct stat st;
    FILE *f;
    (void)state;

    snprintf(src, sizeof(src), "%s/source", gdir);
    assert_int_equal(mkdir(src, 0755), 0);
    snprintf(path, sizeof(path), "%s/!0000_mamori_canary_do_not_edit.docx", src);

    canary_run(src, NULL, 0); /* planted */
    assert_int_equal(stat(path, &st), 0);
    canary_run(src, NULL, 0); /* as planted */

    assert_non_null(f = fopen(path, "ab"));
    fputs("encrypted", f);
    fclose(f);
    canary_run(src, "canary-changed 1\n", 1);
    canary_run(src, NULL, 0); /* planted again */

    assert_int_equal(unlink(path), 0);
    canary_run(src, "canary-gone 1\n", 1);
    assert_int_equal(stat(path, &st), 0);

    /* a read-only source: a note, not a failure (root writes anywhere chmod allows, so
     * then /proc, which nobody can add a file to) */
    if (geteuid() == 0) {
        canary_run("/proc", "canary-unwritable 1\n", 0);
    } else {
        char ro[160];
        snprintf(ro, sizeof(ro), "%s/readonly", gdir);
        assert_int_equal(mkdir(ro, 0555), 0);
        canary_run(ro, "canary-unwritable 1\n", 0); /* (named "billing": no memory yet) */
    }

    /* without a guard folder nothing is planted */
    {
        struct mm_guard_source_cfg cfg = dept_cfg;
        struct run r;
        assert_int_equal(unlink(path), 0);
        cfg.canary = 1;
        cfg.path = src;
        run_start(&r, NULL, &cfg, 1, NOW - DAY);
        run_end(&r);
        assert_int_equal(stat(path, &st), -1);
    }
}

/* ---- threads ---------------------------------------------------------------------------- */

#define THREADS 8
#define PER     20000

static void *observer(void *arg)
{
    struct run *r = arg;
    int i;

    for (i = 0; i < PER; i++) {
        folder(r, 0, ADT, 10, 10);
        if (i % 10 == 0)
            file(r, MM_REPO_DELTA_MODIFIED, 0, ADT, N1, NULL, 1, 2, hl7, sizeof(hl7) - 1);
        if (i % 20 == 0) {
            file(r, MM_REPO_DELTA_REPLACED, 0, OMP, O1, NULL, (i % 200) + 1, 99, hl7,
                 sizeof(hl7) - 1);
            file(r, MM_REPO_DELTA_RENAMED, 0, OMP, O0, O1, (i % 200) + 1, (i % 200) + 1, NULL, 0);
        }
        file(r, MM_REPO_DELTA_ADDED, 0, "", "HOW_TO_DECRYPT.txt", NULL, 0, 1, "x", 1);
    }
    return NULL;
}

static void observe__threads_lose_no_count(void **state)
{
    pthread_t t[THREADS];
    struct run r;
    char line[96];
    int i;
    (void)state;

    run_start(&r, NULL, &ss_cfg, 1, NOW - DAY);
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, observer, &r), 0);
    for (i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    run_judge(&r);
    /* every REPLACED paired with its rename; only the in-place rewrites count */
    snprintf(line, sizeof(line), "ssmix2-rewritten %d %d\n", THREADS * PER / 10,
             THREADS * PER * 10);
    assert_true(has_reason(&r, line));
    snprintf(line, sizeof(line), "ransom-note %d\n", THREADS * PER);
    assert_true(has_reason(&r, line));
    run_end(&r);
}

/* ---- reasons in words ------------------------------------------------------------------- */

static void say__both_languages_no_paths(void **state)
{
    static const char all[] = "ssmix2-rewritten 12 40213\nssmix2-not-hl7 1 40213\n"
                              "ssmix2-foreign-name 3 40213\nransom-note 3\nransom-ext 7\n"
                              "high-entropy 2 9\ntype-mismatch 1 9\n"
                              "modified-share 0.3000 0.2500\ndeleted-share 0.0123 0.0050\n"
                              "added-share 0.9000 0.5000\ncanary-changed 1\ncanary-gone 1\n"
                              "canary-unwritable 2\nguard-off 1\nhistory-damaged\n"
                              "standing c0ffee000000\nstanding-unreadable\n"
                              "some-future-reason 1 2\nransom-note x\n";
    char ja[8192], en[8192], small[40];
    struct run r;
    (void)state;

    mm_guard_reasons_say(all, 1, ja, sizeof(ja));
    mm_guard_reasons_say(all, 0, en, sizeof(en));
    assert_non_null(strstr(ja, "SS-MIX2 のメッセージファイル 12 件（全 40,213 件中）がその場で"
                               "書き換えられました（規格では書き換えは起きません）\n"));
    assert_non_null(strstr(en, "12 SS-MIX2 message files (of 40,213) were rewritten in place"));
    assert_non_null(strstr(ja, "削除されたファイルの割合 1.23 % が、この取り込み元の上限 0.50 %"));
    assert_non_null(strstr(en, "the share of files deleted, 1.23 %, reached this source's "
                               "bound of 0.50 %"));
    assert_non_null(strstr(ja, "世代 c0ffee000000 が異常の疑いのまま"));
    assert_non_null(strstr(en, "read-only; not a fault"));
    /* unknown lines, or lines whose arguments do not fit, are shown as stored */
    assert_non_null(strstr(ja, "\nsome-future-reason 1 2\nransom-note x\n"));
    assert_non_null(strstr(en, "\nsome-future-reason 1 2\nransom-note x\n"));
    /* every known line became a sentence: as many lines out as in */
    {
        size_t lines = 0;
        const char *p;
        for (p = ja; *p; p++)
            lines += *p == '\n';
        assert_int_equal(lines, 19);
    }
    /* truncated, still NUL-terminated and whole characters */
    mm_guard_reasons_say(all, 1, small, sizeof(small));
    assert_true(strlen(small) < sizeof(small));
    mm_guard_reasons_say(NULL, 0, small, sizeof(small));
    assert_string_equal(small, "");

    /* reasons hold no path, no name, no patient ID */
    ss_day(&r);
    file(&r, MM_REPO_DELTA_MODIFIED, 0, ADT, N1, NULL, 1, 2, rnd, sizeof(rnd));
    file(&r, MM_REPO_DELTA_ADDED, 0, ADT, N1 ".lockbit", NULL, 0, 2, rnd, sizeof(rnd));
    file(&r, MM_REPO_DELTA_ADDED, 0, TOP, "README_RESTORE.txt", NULL, 0, 3, "pay", 3);
    run_judge(&r);
    assert_int_equal(r.v.suspect, 1);
    assert_null(strchr(r.v.reasons, '/'));
    assert_null(strstr(r.v.reasons, PID));
    assert_null(strstr(r.v.reasons, "README"));
    mm_guard_reasons_say(r.v.reasons, 1, ja, sizeof(ja));
    assert_null(strstr(ja, PID));
    run_end(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ssmix2__update_and_cancel_are_clean),
        cmocka_unit_test(ssmix2__rewrite_in_place_is_suspect),
        cmocka_unit_test(ssmix2__replaced_pairs_with_its_rename),
        cmocka_unit_test(ssmix2__not_hl7_and_random_are_suspect),
        cmocka_unit_test(ssmix2__foreign_names_and_renames),
        cmocka_unit_test(ssmix2__deletions),
        cmocka_unit_test(ssmix2__storage_inside_a_plain_folder),
        cmocka_unit_test(ssmix2__canary_name_is_not_foreign),
        cmocka_unit_test(dept__csv_rewrite_clean_random_csv_suspect),
        cmocka_unit_test(dept__jpeg_clean_jpeg_without_magic_suspect),
        cmocka_unit_test(dept__moves_to_another_folder_are_not_deletions),
        cmocka_unit_test(patterns__notes_and_extensions),
        cmocka_unit_test(judge__first_backup_and_guard_off),
        cmocka_unit_test_setup_teardown(learn__raises_bound_never_above_cap, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(learn__deletions_per_day_of_span, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(standing__round_trip_and_sticky, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(damage__clear_errors_never_a_crash, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(canary__plant_check_readonly, setup_dir, teardown_dir),
        cmocka_unit_test(observe__threads_lose_no_count),
        cmocka_unit_test(say__both_languages_no_paths),
    };
    return cmocka_run_group_tests(tests, setup_data, NULL);
}
