/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the restore drill (drill/drill.h) and of mm_repo_compare on a storage made by
 * mamori-gen and backed up with mm_backup_run: a drill that passes (every check run and
 * passed, figures measured, scratch folder gone, the record filled), a generation that does
 * not exist (MM_ENOTFOUND, nothing made), the comparison finding a changed, a missing and an
 * extra file, the report's escaping and its sections, and last (it damages the repository) a
 * pack with flipped bytes failing the drill's restore and compare checks.
 */
#define _XOPEN_SOURCE 700 /* nftw (test_storage.h) */
#include <dirent.h>
#include <glob.h>
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

#include "backup/backup.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "drill/drill.h"
#include "repo/repo.h"
#include "tests/unit/test_storage.h"

#define PASS "drill: correct horse battery staple"
#define P(s) (s), strlen(s)

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };

static struct test_storage st;
static char work[128], repo[400], cache[400], audit[400], scratch[400];
static char gen_id[MM_CRYPTO_HEX_SIZE];

static int open_cb(void *arg, mm_repo **out)
{
    (void)arg;
    return mm_repo_open(out, repo, NULL, P(PASS));
}

static int setup(void **state)
{
    struct mm_repo_init_opts o = { 0 };
    struct mm_backup_opts bo = { 0 };
    struct mm_backup_result res;
    const char *src[1];

    (void)state;
    if (test_storage_make(&st, "drill", 30, 3, 21) != 0)
        return -1;
    snprintf(work, sizeof(work), "/tmp/mamori-test-drill-work-XXXXXX");
    if (!mkdtemp(work))
        return -1;
    snprintf(repo, sizeof(repo), "%s/repo", work);
    snprintf(cache, sizeof(cache), "%s/cache", work);
    snprintf(audit, sizeof(audit), "%s/audit", work);
    snprintf(scratch, sizeof(scratch), "%s/scratch", work);
    o.kdf = &kdf_min;
    if (mm_repo_init(repo, "alice", P(PASS), &o) != 0 || mkdir(scratch, 0700) != 0)
        return -1;
    src[0] = st.dir;
    bo.repo_path = repo;
    bo.open = open_cb;
    bo.sources = src;
    bo.nsources = 1;
    bo.cache_root = cache;
    bo.audit_host_dir = audit;
    bo.threads = 2;
    bo.dict_samples = 10;
    bo.no_guard = 1;
    if (mm_backup_run(&bo, &res) != MM_BACKUP_EXIT_OK) {
        fprintf(stderr, "backup: %s\n", mm_error_last());
        mm_backup_result_release(&res);
        return -1;
    }
    snprintf(gen_id, sizeof(gen_id), "%s", res.id);
    mm_backup_result_release(&res);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_storage_free(&st);
    if (work[0])
        test_rm_rf(work);
    return 0;
}

/* The repository, open and locked shared as the CLI hands it to the drill. */
static mm_repo *open_repo(void)
{
    mm_repo *r = NULL;

    assert_int_equal(mm_repo_open(&r, repo, NULL, P(PASS)), 0);
    assert_int_equal(mm_repo_lock(r, MM_REPO_LOCK_SHARED, NULL), 0);
    return r;
}

/* Entries in folder @dir. */
static size_t entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void opts_for(struct mm_drill_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->scratch = scratch;
    o->host_dir = audit;
    o->threads = 2;
    o->unlock_s = 0.5;
}

static void drill__passes_on_a_whole_generation(void **state)
{
    struct mm_drill_opts o;
    struct mm_drill_result res;
    struct mm_repo_gen g;
    mm_repo *r = open_repo();

    (void)state;
    opts_for(&o);
    assert_int_equal(mm_drill_run(r, &o, &res), 0);
    for (size_t i = 0; i < MM_DRILL_CHECKS; i++) {
        if (!res.checks[i].run || !res.checks[i].ok)
            fail_msg("check '%s' run %d ok %d: %s", res.checks[i].name, res.checks[i].run,
                     res.checks[i].ok, res.checks[i].detail_en);
    }
    assert_true(res.ok);
    assert_false(res.damage);
    assert_true(res.cleaned);
    assert_string_equal(res.generation, gen_id);
    assert_int_equal(mm_repo_gen_find(r, gen_id, &g), 0);
    assert_int_equal(res.files, g.counts.files);
    assert_int_equal(res.bytes, g.counts.bytes);
    assert_int_equal(res.compare.files, g.counts.files);
    mm_repo_gen_release(&g);
    /* the unlock counts in the time to a usable viewer */
    assert_true(res.viewer_s >= 0.5 && res.viewer_s < 60);
    assert_true(res.restore_s >= 0 && res.compare_s >= 0 && res.total_s >= res.viewer_s);
    assert_true(res.mib_s > 0);
    assert_int_equal(res.patients, res.patients_total < 20 ? res.patients_total : 20);
    assert_true(res.patients > 1);
    assert_int_equal(res.patients_failed, 0);
    /* not judged by the guard, never verified: no RPO */
    assert_int_equal(res.nrpo, 1);
    assert_int_equal(res.rpo[0].age_s, -1);
    assert_int_equal(res.rpo_s, -1);
    assert_string_equal(res.record.kind, "full");
    assert_string_equal(res.record.result, "ok");
    assert_string_equal(res.record.generation, gen_id);
    assert_int_equal(res.record.files, res.files);
    assert_int_equal(entries(scratch), 0); /* nothing left behind */
    mm_drill_result_release(&res);
    mm_repo_free(r);
}

static void drill__missing_generation_is_not_found(void **state)
{
    struct mm_drill_opts o;
    struct mm_drill_result res;
    mm_repo *r = open_repo();

    (void)state;
    opts_for(&o);
    o.generation = "ffffffff";
    assert_int_equal(mm_drill_run(r, &o, &res), MM_ENOTFOUND);
    assert_non_null(strstr(mm_error_last(), "ffffffff"));
    assert_false(res.ok);
    assert_true(res.checks[MM_DRILL_CHECK_GENERATION].run);
    assert_false(res.checks[MM_DRILL_CHECK_GENERATION].ok);
    assert_false(res.checks[MM_DRILL_CHECK_RESTORE].run);
    assert_string_equal(res.generation, "");
    assert_string_equal(res.record.result, "failed");
    assert_int_equal(entries(scratch), 0);
    mm_drill_result_release(&res);
    mm_repo_free(r);
}

/* Write @text to @path (replacing it). */
static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The first regular file below @dir, into @out. @return 1 found */
static int first_file(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;

    if (!d)
        return 0;
    while (!found && (e = readdir(d)) != NULL) {
        char p[1024];
        struct stat sb;
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (lstat(p, &sb) != 0)
            continue;
        if (S_ISREG(sb.st_mode) && sb.st_size > 4) {
            snprintf(out, cap, "%s", p);
            found = 1;
        } else if (S_ISDIR(sb.st_mode)) {
            found = first_file(p, out, cap);
        }
    }
    closedir(d);
    return found;
}

static void compare__finds_changed_missing_and_extra_files(void **state)
{
    struct mm_repo_restore_stats rs;
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_compare_stats cs;
    char to[600], f[1024], extra[700];
    struct stat sb;
    FILE *fp;
    int c;
    mm_repo *r = open_repo();

    (void)state;
    snprintf(to, sizeof(to), "%s/cmp", work);
    assert_int_equal(mm_repo_restore(r, gen_id, to, &ro, &rs), 0);
    assert_int_equal(mm_repo_compare(r, gen_id, to, NULL, &cs), 0);
    assert_int_equal(cs.missing + cs.extra + cs.differ, 0);
    assert_int_equal(cs.files, rs.files);
    assert_int_equal(cs.bytes, rs.bytes);
    /* one byte changed in place, same size: only the content hash can tell */
    assert_true(first_file(to, f, sizeof(f)));
    assert_int_equal(chmod(f, 0600), 0);
    fp = fopen(f, "r+b");
    assert_non_null(fp);
    c = fgetc(fp);
    fseek(fp, 0, SEEK_SET);
    fputc(c ^ 1, fp);
    fclose(fp);
    assert_int_equal(mm_repo_compare(r, gen_id, to, NULL, &cs), 0);
    assert_int_equal(cs.differ, 1);
    assert_int_equal(cs.missing + cs.extra, 0);
    /* gone, and a stranger beside it */
    assert_int_equal(unlink(f), 0);
    snprintf(extra, sizeof(extra), "%s/src-extra", to);
    put(extra, "x");
    assert_int_equal(mm_repo_compare(r, gen_id, to, NULL, &cs), 0);
    assert_int_equal(cs.missing, 1);
    assert_int_equal(cs.extra, 1);
    assert_int_equal(cs.differ, 0);
    assert_int_equal(stat(to, &sb), 0);
    test_rm_rf(to);
    mm_repo_free(r);
}

static void report__escapes_values_and_has_its_sections(void **state)
{
    struct mm_drill_result res;
    struct mm_drill_report_info in = { 0 };
    struct mm_drill_rpo rpo = { 0 };
    mm_buf b;

    (void)state;
    memset(&res, 0, sizeof(res));
    snprintf(res.generation, sizeof(res.generation), "<script>alert(1)</script>");
    snprintf(res.user, sizeof(res.user), "a&b\"c'");
    snprintf(res.guard, sizeof(res.guard), "clean");
    res.checks[MM_DRILL_CHECK_RESTORE].name = "restore";
    res.checks[MM_DRILL_CHECK_RESTORE].run = 1;
    snprintf(res.checks[MM_DRILL_CHECK_RESTORE].detail_ja,
             sizeof(res.checks[MM_DRILL_CHECK_RESTORE].detail_ja), "<b>壊れた</b>");
    rpo.name = (char *)"<src>";
    rpo.path = (char *)"/srv/a&b";
    rpo.age_s = 3725;
    res.rpo = &rpo;
    res.nrpo = 1;
    res.viewer_s = 1.5;
    res.restore_s = res.compare_s = res.total_s = res.mib_s = -1;
    in.hospital = "<H>";
    mm_buf_init(&b, 1u << 22);
    assert_int_equal(mm_drill_report_html(&res, &in, MM_DRILL_JA, &b), 0);
    assert_int_equal(mm_buf_putc(&b, 0), 0);
    assert_null(strstr(b.ptr, "<script"));
    assert_null(strstr(b.ptr, "<b>"));
    assert_null(strstr(b.ptr, "<src>"));
    assert_null(strstr(b.ptr, "<H>"));
    assert_non_null(strstr(b.ptr, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(b.ptr, "a&amp;b&quot;c&#39;"));
    assert_non_null(strstr(b.ptr, "/srv/a&amp;b"));
    assert_non_null(strstr(b.ptr, "<title>復元訓練報告書</title>"));
    assert_non_null(strstr(b.ptr, "閲覧可能までの時間"));
    assert_non_null(strstr(b.ptr, "全復元時間"));
    assert_non_null(strstr(b.ptr, "転送速度"));
    assert_non_null(strstr(b.ptr, "1.50 秒"));
    assert_non_null(strstr(b.ptr, "0 日 1 時間 2 分"));
    assert_non_null(strstr(b.ptr, "不合格"));
    assert_non_null(strstr(b.ptr, "監査者 署名"));
    assert_null(strstr(b.ptr, "<script")); /* and no script of its own */
    assert_null(strstr(b.ptr, "http://"));
    assert_null(strstr(b.ptr, "https://"));
    mm_buf_clear(&b);
    assert_int_equal(mm_drill_report_html(&res, &in, MM_DRILL_EN, &b), 0);
    assert_int_equal(mm_buf_putc(&b, 0), 0);
    assert_non_null(strstr(b.ptr, "<title>Restore drill report</title>"));
    assert_non_null(strstr(b.ptr, "FAIL"));
    mm_buf_release(&b);
}

/* Flip 64 bytes in the middle of the pack file @path (again: flipped back). */
static void flip(const char *path)
{
    FILE *f = fopen(path, "r+b");
    unsigned char b[64];
    long mid;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    mid = ftell(f) / 2;
    assert_int_equal(fseek(f, mid, SEEK_SET), 0);
    assert_int_equal(fread(b, 1, sizeof(b), f), sizeof(b));
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] ^= 0xff;
    assert_int_equal(fseek(f, mid, SEEK_SET), 0);
    assert_int_equal(fwrite(b, 1, sizeof(b), f), sizeof(b));
    fclose(f);
}

/* Damage a pack that holds file data (not the trees, not the twinned patient index): each
 * pack in turn is flipped until a restore finds damaged files and still runs. */
static void damage_a_data_pack(void)
{
    char pat[500], to[600];
    glob_t gl;
    int done = 0;

    snprintf(pat, sizeof(pat), "%s/data/*/*", repo);
    snprintf(to, sizeof(to), "%s/probe", work);
    assert_int_equal(glob(pat, 0, NULL, &gl), 0);
    for (size_t i = 0; i < gl.gl_pathc && !done; i++) {
        struct mm_repo_restore_opts ro = { 0 };
        struct mm_repo_restore_stats rs = { 0 };
        mm_repo *r;
        flip(gl.gl_pathv[i]);
        r = open_repo();
        done = mm_repo_restore(r, gen_id, to, &ro, &rs) == 0 && rs.damaged > 0;
        mm_repo_free(r);
        test_rm_rf(to);
        if (!done)
            flip(gl.gl_pathv[i]);
    }
    globfree(&gl);
    assert_true(done);
}

/* Last: it damages the repository. */
static void drill__damaged_pack_fails_restore_and_compare(void **state)
{
    struct mm_drill_opts o;
    struct mm_drill_result res;
    mm_repo *r;

    (void)state;
    damage_a_data_pack();
    r = open_repo();
    opts_for(&o);
    if (mm_drill_run(r, &o, &res) != 0)
        fail_msg("drill: %s", mm_error_last());
    assert_false(res.ok);
    assert_true(res.damage);
    assert_true(res.checks[MM_DRILL_CHECK_RESTORE].run);
    assert_false(res.checks[MM_DRILL_CHECK_RESTORE].ok);
    assert_true(res.damaged > 0);
    assert_false(res.checks[MM_DRILL_CHECK_COMPARE].ok);
    assert_true(res.compare.missing + res.compare.unreadable > 0);
    assert_string_equal(res.record.result, "failed");
    assert_non_null(strstr(res.record.reason, "restore"));
    assert_true(res.cleaned);
    assert_int_equal(entries(scratch), 0);
    mm_drill_result_release(&res);
    mm_repo_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(drill__passes_on_a_whole_generation),
        cmocka_unit_test(drill__missing_generation_is_not_found),
        cmocka_unit_test(compare__finds_changed_missing_and_extra_files),
        cmocka_unit_test(report__escapes_values_and_has_its_sections),
        cmocka_unit_test(drill__damaged_pack_fails_restore_and_compare),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
