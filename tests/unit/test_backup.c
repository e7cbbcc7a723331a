/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the backup module: mm_backup_run() driven directly, without the command line, on a
 * storage made by mamori-gen - the generation it writes, its counts, the patient index and its
 * check, the audit event on the medium and on the host, the notes, an attention reason for a
 * storage that lost patients, and failures that write nothing. A second caller (`run`,
 * `drill`) uses the pipeline exactly like this.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
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
#include "repo/repo.h"
#include "tests/unit/test_storage.h"

#define PASS "backup: correct horse battery staple"
#define P(s) (s), strlen(s)

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };

static struct test_storage st;
static char work[128], repo[400], cache[400], audit[400];

/* What the callbacks saw. */
struct seen {
    unsigned notes[16];
    unsigned opens;
    uint64_t progress, problems;
};

static void note_cb(const struct mm_backup_note *n, void *arg)
{
    struct seen *s = arg;

    if ((unsigned)n->kind < 16)
        s->notes[n->kind]++;
}

static void progress_cb(const struct mm_repo_progress *p, void *arg)
{
    (void)p;
    ((struct seen *)arg)->progress++;
}

static void problem_cb(const char *gen, const char *path, const char *what, void *arg)
{
    (void)gen;
    (void)path;
    (void)what;
    ((struct seen *)arg)->problems++;
}

static int open_cb(void *arg, mm_repo **out)
{
    ((struct seen *)arg)->opens++;
    return mm_repo_open(out, repo, NULL, P(PASS));
}

static int setup(void **state)
{
    struct mm_repo_init_opts o = { 0 };

    (void)state;
    if (test_storage_make(&st, "backup", 24, 2, 16) != 0)
        return -1;
    snprintf(work, sizeof(work), "/tmp/mamori-test-backup-work-XXXXXX");
    if (!mkdtemp(work))
        return -1;
    snprintf(repo, sizeof(repo), "%s/repo", work);
    snprintf(cache, sizeof(cache), "%s/cache", work);
    snprintf(audit, sizeof(audit), "%s/audit", work);
    o.kdf = &kdf_min;
    if (mm_repo_init(repo, "alice", P(PASS), &o) != 0) {
        fprintf(stderr, "init: %s\n", mm_error_last());
        return -1;
    }
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

/* Options backing up the generated storage's folder (its storages below it), into @s. */
static void opts_for(struct mm_backup_opts *o, const char *const *src, struct seen *s)
{
    memset(o, 0, sizeof(*o));
    o->repo_path = repo;
    o->open = open_cb;
    o->sources = src;
    o->nsources = 1;
    o->cache_root = cache;
    o->audit_host_dir = audit;
    o->threads = 2;
    o->dict_samples = 10;
    /* not judged (test_cycle_guard judges): the storage that loses patients below would be
     * suspect and stand, and every later backup of this repository with it */
    o->no_guard = 1;
    o->progress = progress_cb;
    o->problem = problem_cb;
    o->note = note_cb;
    o->arg = s;
}

static void file_exists(const char *dir, const char *name)
{
    char p[1024];
    struct stat sb;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    if (stat(p, &sb) != 0)
        fail_msg("'%s' is missing", p);
}

/* The first backup: a generation with the index of every patient, nothing to attend to. */
static void run__writes_a_generation_with_its_index(void **state)
{
    const char *src[1] = { st.dir };
    struct mm_backup_opts o;
    struct mm_backup_result res;
    struct mm_repo_gen g;
    struct seen s = { 0 };
    char host_log[600];

    (void)state;
    opts_for(&o, src, &s);
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_OK);
    assert_int_equal(res.failure, MM_BACKUP_FAIL_NONE);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_non_null(res.repo); /* opened through the callback, once */
    assert_int_equal(s.opens, 1);
    assert_int_equal(strlen(res.id), 64);
    assert_int_equal(mm_repo_gen_find(res.repo, "latest", &g), 0);
    assert_string_equal(g.id, res.id);
    assert_true(g.has_index);
    assert_true(g.check.present);
    assert_int_equal(g.check.patients, json_array_size(st.patients));
    mm_repo_gen_release(&g);
    /* counts: every file read once, nothing skipped */
    assert_true(res.counts.files > json_array_size(st.patients));
    assert_int_equal(res.counts.files_read, res.counts.files);
    assert_int_equal(res.counts.skipped, 0);
    assert_int_equal(res.problems, 0);
    assert_int_equal(s.problems, 0);
    /* the source is a folder holding the standardized storage, found below it and in the
     * index, which holds every patient */
    assert_int_equal(res.kinds[0], MM_REPO_SOURCE_FOLDER);
    assert_string_equal(mm_backup_kind_name(res.kinds[0]), "folder");
    assert_true(res.storages.n >= 1);
    assert_int_equal(res.storages.v[0].depth, 1);
    assert_int_equal(res.storages.v[0].kind, MM_SSMIX2_STORAGE_STANDARD);
    assert_true(mm_backup_storage_indexed(&res, 0));
    assert_true(res.index_stored);
    assert_true(res.checked);
    assert_int_equal(res.check.patients, json_array_size(st.patients));
    assert_int_equal(res.check.attention, 0);
    assert_int_equal(res.not_indexed, 0);
    /* the progress was reported between the walk's start and end notes */
    assert_int_equal(s.notes[MM_BACKUP_NOTE_WALK], 1);
    assert_int_equal(s.notes[MM_BACKUP_NOTE_WRITTEN], 1);
    assert_int_equal(s.notes[MM_BACKUP_NOTE_INDEX_FAILED], 0);
    assert_int_equal(s.notes[MM_BACKUP_NOTE_AUDIT], 0);
    /* the audit event is on the medium and on the host; the index is cached */
    assert_true(res.audit_written);
    file_exists(repo, "audit/audit.log");
    snprintf(host_log, sizeof(host_log), "%s.log", mm_repo_id(res.repo));
    file_exists(audit, host_log);
    snprintf(host_log, sizeof(host_log), "%s/patient-index.db", mm_repo_id(res.repo));
    file_exists(cache, host_log);
    mm_backup_result_release(&res);
    assert_null(res.repo);
}

/* Half the patients gone: written all the same, but marked with the reason and the counts. */
static void run__marks_a_storage_that_lost_patients(void **state)
{
    const char *src[1] = { st.dir };
    struct mm_backup_opts o;
    struct mm_backup_result res;
    struct seen s = { 0 };
    glob_t gl;
    size_t n = json_array_size(st.patients), removed = 0;
    char pat[400];

    (void)state;
    snprintf(pat, sizeof(pat), "%s/*/*/*", st.std);
    assert_int_equal(glob(pat, 0, NULL, &gl), 0);
    for (size_t i = 0; i < gl.gl_pathc; i++)
        if (i % 3 != 0) {
            char *p = gl.gl_pathv[i], *slash;
            test_rm_rf(p);
            removed++;
            /* and the folders above that it left empty (a storage has none) */
            for (int up = 0; up < 2 && (slash = strrchr(p, '/')); up++) {
                *slash = '\0';
                if (rmdir(p) != 0)
                    break;
            }
        }
    globfree(&gl);
    assert_true(removed * 100 > n * (100 - MM_REPO_PATIENTS_MIN_PERCENT));
    opts_for(&o, src, &s);
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_ATTENTION);
    assert_int_equal(res.failure, MM_BACKUP_FAIL_NONE);
    assert_int_equal(strlen(res.id), 64);
    assert_string_equal(res.guard, "none"); /* --no-guard */
    assert_true(res.checked);
    assert_true(res.check.attention & MM_REPO_ATTN_FEW_PATIENTS);
    assert_false(res.check.attention & MM_REPO_ATTN_NO_INDEX);
    assert_int_equal(res.check.parent_patients, n);
    assert_int_equal(res.check.patients, n - removed);
    assert_true(res.counts.files_unchanged > 0); /* the parent's files were not read again */
    mm_backup_result_release(&res);
}

/* With an open repository given and no index: a generation without index or check. */
static void run__without_index_on_a_given_repository(void **state)
{
    const char *src[1] = { st.dir };
    struct mm_backup_opts o;
    struct mm_backup_result res;
    struct seen s = { 0 };
    mm_repo *r = NULL;

    (void)state;
    assert_int_equal(mm_repo_open(&r, repo, NULL, P(PASS)), 0);
    opts_for(&o, src, &s);
    o.repo = r;
    o.no_index = 1;
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_OK);
    assert_int_equal(s.opens, 0);
    assert_null(res.repo); /* the caller's */
    assert_false(res.index_stored);
    assert_false(res.checked);
    assert_int_equal(res.counts.files_read, 0); /* nothing changed since the last backup */
    mm_backup_result_release(&res);
    mm_repo_free(r);
}

/* A source that is not a folder: nothing is opened or written; which one is named. */
static void run__refuses_a_source_that_is_not_a_folder(void **state)
{
    char missing[400];
    const char *src[2] = { st.dir, missing };
    struct mm_backup_opts o;
    struct mm_backup_result res;
    struct mm_repo_gen *g = NULL;
    struct seen s = { 0 };
    size_t before = 0, after = 0;
    mm_repo *r = NULL;

    (void)state;
    snprintf(missing, sizeof(missing), "%s/no-such-folder", st.dir);
    assert_int_equal(mm_repo_open(&r, repo, NULL, P(PASS)), 0);
    assert_int_equal(mm_repo_generations(r, &g, &before), 0);
    mm_repo_gens_free(g, before);
    opts_for(&o, src, &s);
    o.nsources = 2;
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_FAILED);
    assert_int_equal(res.failure, MM_BACKUP_FAIL_SOURCE);
    assert_int_equal(res.bad_source, 1);
    assert_true(res.err < 0);
    assert_int_equal(s.opens, 0);
    assert_int_equal(s.notes[MM_BACKUP_NOTE_WALK], 0);
    mm_backup_result_release(&res);
    assert_int_equal(mm_repo_generations(r, &g, &after), 0);
    mm_repo_gens_free(g, after);
    assert_int_equal(after, before);
    mm_repo_free(r);
}

/* ---- the viewer on the medium: launcher, emergency guide, their list ---------------------- */

static const char *const guide_files[] = { "緊急時の使い方.html", "README-EMERGENCY.html",
                                           "緊急時の使い方.txt", "README-EMERGENCY.txt" };

/* The file @name of @dir, whole, NUL-terminated (free()). OUT: *@n */
static char *slurp(const char *dir, const char *name, size_t *n)
{
    char p[1024];
    FILE *f;
    char *b = malloc(1u << 20);
    size_t len;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    assert_non_null(b);
    if (!(f = fopen(p, "rb")))
        fail_msg("cannot open '%s'", p);
    len = fread(b, 1, (1u << 20) - 1, f);
    fclose(f);
    b[len] = '\0';
    if (n)
        *n = len;
    return b;
}

/* Whether @n bytes at @s are well-formed UTF-8 without NUL. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t len = s[i] < 0x80             ? 1
                     : (s[i] & 0xe0) == 0xc0 ? 2
                     : (s[i] & 0xf0) == 0xe0 ? 3
                     : (s[i] & 0xf8) == 0xf0 ? 4
                                             : 0;
        if (len == 0 || s[i] == 0 || len > n - i || (len == 2 && s[i] < 0xc2))
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += len;
    }
    return 1;
}

static ino_t inode_of(const char *dir, const char *name)
{
    char p[1024];
    struct stat sb;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    assert_int_equal(stat(p, &sb), 0);
    return sb.st_ino;
}

/*
 * The guide is written under its Japanese and ASCII names with the label and hospital filled
 * in (escaped in HTML), as UTF-8; the text with a BOM and CRLF only; without bin/mamori.exe it
 * says Windows is not yet on the medium. The list names every file with its size and SHA-256.
 */
static void medium__guide_with_label_and_hospital(void **state)
{
    struct mm_repo_medium m = { "MON", "1310012345", "alice", 0, 1 };
    struct mm_repo_viewer *v = NULL;
    char dir[600];
    size_t n;
    char *t;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/medium-guide", work);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mm_backup_medium_viewer(dir, &m, MM_BACKUP_VIEWER_WRITE, "", &v), 0);
    assert_non_null(v);
    assert_int_equal(v->flags, MM_REPO_VIEWER_NO_BIN); /* bin/ not wanted: not listed */
    assert_int_equal(v->n, 5);
    assert_string_equal(v->files[0].path, "mamori-view.sh");
    for (size_t i = 0; i < v->n; i++) {
        char p[1024];
        unsigned char h[32];
        uint64_t size;

        assert_int_equal(strncmp(v->files[i].path, "bin/", 4) != 0, 1);
        snprintf(p, sizeof(p), "%s/%s", dir, v->files[i].path);
        assert_int_equal(mm_repo_viewer_hash_file(p, &size, h), 0);
        assert_true(size == v->files[i].size);
        assert_memory_equal(h, v->files[i].sha256, 32);
    }
    for (size_t i = 0; i < 4; i++) {
        int txt = i >= 2;
        t = slurp(dir, guide_files[i], &n);
        assert_true(utf8_ok((const unsigned char *)t, n));
        assert_non_null(strstr(t, "MON"));
        assert_non_null(strstr(t, "1310012345"));
        assert_non_null(strstr(t, "緊急時の使い方"));
        assert_null(strstr(t, "{{")); /* every placeholder filled */
        assert_non_null(strstr(t, "Windows"));
        assert_non_null(
                strstr(t, txt ? "Windows: not yet on this medium" : "not yet on this medium"));
        assert_null(strstr(t, "bin\\mamori.exe view"));
        if (txt) {
            assert_memory_equal(t, "\xef\xbb\xbf", 3); /* BOM */
            for (size_t k = 0; k < n; k++)
                if (t[k] == '\n')
                    assert_int_equal(k > 0 && t[k - 1] == '\r', 1);
        } else {
            assert_memory_equal(t, "<!doctype html>", 15);
            assert_null(strchr(t, '\r'));
            /* self-contained: nothing loaded from elsewhere */
            assert_null(strstr(t, "href="));
            assert_null(strstr(t, "src="));
            assert_null(strstr(t, "url("));
            assert_null(strstr(t, "@import"));
            assert_null(strstr(t, "https://"));
        }
        free(t);
    }
    mm_repo_viewer_free(v);
    /* HTML-escaped label, the unlabelled medium */
    snprintf(m.label, sizeof(m.label), "A&B");
    assert_int_equal(mm_backup_medium_viewer(dir, &m, MM_BACKUP_VIEWER_WRITE, "", NULL), 0);
    t = slurp(dir, "README-EMERGENCY.html", NULL);
    assert_non_null(strstr(t, "<b>A&amp;B</b>"));
    free(t);
    assert_int_equal(mm_backup_medium_viewer(dir, NULL, MM_BACKUP_VIEWER_WRITE, "", NULL), 0);
    t = slurp(dir, "README-EMERGENCY.txt", NULL);
    assert_non_null(strstr(t, "unlabelled"));
    free(t);
}

/*
 * A second refresh with the same label rewrites nothing (same inodes); another label rewrites
 * the guide, not the launcher; without WRITE only the list is made; a Windows binary in bin/
 * turns the guide's Windows step into how to start it when a refresh that leaves bin/ alone
 * is told to look at the medium (media init), not otherwise.
 */
static void medium__rewritten_only_when_changed(void **state)
{
    struct mm_repo_medium m = { "TUE", "1310012345", "alice", 0, 1 };
    struct mm_repo_viewer *a = NULL, *b = NULL;
    ino_t ino[5];
    char dir[600], exe[700];
    FILE *f;
    char *t;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/medium-rewrite", work);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mm_backup_medium_viewer(dir, &m, MM_BACKUP_VIEWER_WRITE, "", &a), 0);
    ino[4] = inode_of(dir, "mamori-view.sh");
    for (size_t i = 0; i < 4; i++)
        ino[i] = inode_of(dir, guide_files[i]);
    assert_int_equal(mm_backup_medium_viewer(dir, &m, MM_BACKUP_VIEWER_WRITE, "", &b), 0);
    for (size_t i = 0; i < 4; i++)
        assert_true(inode_of(dir, guide_files[i]) == ino[i]);
    assert_true(inode_of(dir, "mamori-view.sh") == ino[4]);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_memory_equal(a->files[i].sha256, b->files[i].sha256, 32);
    mm_repo_viewer_free(b);
    b = NULL;
    snprintf(m.label, sizeof(m.label), "WED");
    assert_int_equal(mm_backup_medium_viewer(dir, &m, 0, "", &b), 0); /* list only */
    for (size_t i = 0; i < 4; i++)
        assert_true(inode_of(dir, guide_files[i]) == ino[i]);
    assert_memory_equal(a->files[0].sha256, b->files[0].sha256, 32); /* the launcher */
    assert_memory_not_equal(a->files[1].sha256, b->files[1].sha256, 32);
    mm_repo_viewer_free(b);
    assert_int_equal(mm_backup_medium_viewer(dir, &m, MM_BACKUP_VIEWER_WRITE, "", NULL), 0);
    for (size_t i = 0; i < 4; i++)
        assert_true(inode_of(dir, guide_files[i]) != ino[i]);
    assert_true(inode_of(dir, "mamori-view.sh") == ino[4]);
    t = slurp(dir, "緊急時の使い方.txt", NULL);
    assert_non_null(strstr(t, "WED"));
    assert_null(strstr(t, "TUE"));
    free(t);
    /* a Windows binary on the medium */
    snprintf(exe, sizeof(exe), "%s/bin", dir);
    assert_int_equal(mkdir(exe, 0700), 0);
    snprintf(exe, sizeof(exe), "%s/bin/mamori.exe", dir);
    assert_non_null(f = fopen(exe, "w"));
    fclose(f);
    assert_int_equal(mm_backup_medium_viewer(dir, &m, MM_BACKUP_VIEWER_WRITE, "", NULL), 0);
    t = slurp(dir, "README-EMERGENCY.txt", NULL); /* not looked at: not listed, "none" */
    assert_non_null(strstr(t, "not yet on this medium"));
    free(t);
    assert_int_equal(mm_backup_medium_viewer(dir, &m,
                                             MM_BACKUP_VIEWER_WRITE | MM_BACKUP_VIEWER_SEE_MEDIUM,
                                             "", NULL),
                     0);
    for (size_t i = 0; i < 4; i++) {
        t = slurp(dir, guide_files[i], NULL);
        assert_non_null(strstr(t, "緊急時ビューア.bat"));
        assert_null(strstr(t, "not yet on this medium"));
        free(t);
    }
    mm_repo_viewer_free(a);
}

struct vseen {
    size_t n, bad;
    char changed[64];
    enum mm_repo_viewer_state st;
};

static void viewer_cb(const struct mm_repo_viewer_file *want, enum mm_repo_viewer_state state,
                      uint64_t size, const unsigned char h[32], void *arg)
{
    struct vseen *s = arg;

    (void)size;
    (void)h;
    s->n++;
    if (state != MM_REPO_VIEWER_OK) {
        s->bad++;
        s->st = state;
        snprintf(s->changed, sizeof(s->changed), "%s", want->path);
    }
}

/*
 * A backup records the viewer's files it left on the medium in its manifest (tag 17): the
 * check passes on the untouched medium, and names a guide with one byte changed and a
 * launcher removed.
 */
static void run__records_the_viewer_files(void **state)
{
    const char *src[1] = { st.dir };
    struct mm_backup_opts o;
    struct mm_backup_result res;
    struct mm_repo_gen g;
    struct vseen v = { 0 };
    struct seen s = { 0 };
    size_t bad = 99;
    char p[700];
    FILE *f;

    (void)state;
    opts_for(&o, src, &s);
    o.no_index = 1;
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_OK);
    assert_int_equal(s.notes[MM_BACKUP_NOTE_VIEWER], 0);
    assert_int_equal(mm_repo_gen_find(res.repo, "latest", &g), 0);
    assert_non_null(g.viewer);
    assert_int_equal(g.viewer->flags, MM_REPO_VIEWER_NO_BIN);
    assert_int_equal(g.viewer->n, 5);
    assert_int_equal(mm_repo_viewer_check(res.repo, g.viewer, viewer_cb, &v, &bad), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(v.n, 5);
    /* one byte of the guide */
    snprintf(p, sizeof(p), "%s/緊急時の使い方.html", repo);
    assert_non_null(f = fopen(p, "r+b"));
    fseek(f, 100, SEEK_SET);
    fputc('#', f);
    fclose(f);
    memset(&v, 0, sizeof(v));
    assert_int_equal(mm_repo_viewer_check(res.repo, g.viewer, viewer_cb, &v, &bad), 0);
    assert_int_equal(bad, 1);
    assert_int_equal(v.st, MM_REPO_VIEWER_CHANGED);
    assert_string_equal(v.changed, "緊急時の使い方.html");
    /* the launcher gone */
    snprintf(p, sizeof(p), "%s/mamori-view.sh", repo);
    assert_int_equal(unlink(p), 0);
    memset(&v, 0, sizeof(v));
    assert_int_equal(mm_repo_viewer_check(res.repo, g.viewer, viewer_cb, &v, &bad), 0);
    assert_int_equal(bad, 2);
    assert_int_equal(v.st, MM_REPO_VIEWER_CHANGED); /* the last reported: the guide */
    mm_repo_gen_release(&g);
    mm_backup_result_release(&res);
    /* the next backup puts both back and records them: whole again */
    memset(&s, 0, sizeof(s));
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_OK);
    assert_int_equal(mm_repo_gen_find(res.repo, "latest", &g), 0);
    assert_int_equal(mm_repo_viewer_check(res.repo, g.viewer, NULL, NULL, &bad), 0);
    assert_int_equal(bad, 0);
    mm_repo_gen_release(&g);
    mm_backup_result_release(&res);
}

/* ---- the Windows viewer on the medium ------------------------------------------------------ */

/* Write @n bytes at @data to @path. */
static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Whether the list @v names @path; OUT: its index in *@at. */
static int listed(const struct mm_repo_viewer *v, const char *path, size_t *at)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->files[i].path, path) == 0) {
            if (at)
                *at = i;
            return 1;
        }
    return 0;
}

/* SHA256SUMS-windows.txt of @dir holds "<sha256>  <path>" CRLF lines for exactly the three
 * Windows files, each with the SHA-256 of the file on the medium. */
static void check_sums(const char *dir)
{
    static const char *const want[] = { "bin/mamori.exe", "緊急時ビューア.bat", "mamori-view.bat" };
    char *t = slurp(dir, "SHA256SUMS-windows.txt", NULL), *line = t;

    for (size_t i = 0; i < 3; i++) {
        char p[1024], hex[65], *eol = strstr(line, "\r\n");
        unsigned char h[32];
        uint64_t size;

        assert_non_null(eol);
        *eol = '\0';
        assert_int_equal(strlen(line), 64 + 2 + strlen(want[i]));
        assert_memory_equal(line + 64, "  ", 2);
        assert_string_equal(line + 66, want[i]);
        snprintf(p, sizeof(p), "%s/%s", dir, want[i]);
        assert_int_equal(mm_repo_viewer_hash_file(p, &size, h), 0);
        mm_crypto_hex(h, hex);
        assert_memory_equal(line, hex, 64);
        line = eol + 2;
    }
    assert_string_equal(line, ""); /* nothing more, no bare LF */
    free(t);
}

/* The launcher's bytes: ASCII only, CRLF line ends only, and the command that runs the
 * medium's mamori.exe on the medium's folder (never "%~dp0" alone before a quote). */
static void check_launcher(const char *dir, const char *name)
{
    size_t n;
    char *t = slurp(dir, name, &n);

    assert_memory_equal(t, "@echo off\r\n", 11);
    for (size_t k = 0; k < n; k++) {
        assert_true((unsigned char)t[k] < 0x80 && t[k] != '\0');
        if (t[k] == '\n')
            assert_int_equal(k > 0 && t[k - 1] == '\r', 1);
        if (t[k] == '\r')
            assert_int_equal(k + 1 < n && t[k + 1] == '\n', 1);
    }
    assert_memory_equal(t + n - 2, "\r\n", 2);
    assert_non_null(strstr(t, "\r\ncd /d \"%~dp0\"\r\n"));
    assert_non_null(strstr(t, "\r\n\"%~dp0bin\\mamori.exe\" view --repo \"%~dp0.\" %*\r\n"));
    assert_null(strstr(t, "\"%~dp0\" "));
    assert_non_null(strstr(t, "\r\nif %errorlevel% neq 0 pause\r\n"));
    free(t);
}

/*
 * A program put on the medium is hashed once per process while it stays the same file (a
 * backup lists it twice), yet every change is seen: the Windows build rewritten in place with
 * as many bytes (same inode) is listed with its new SHA-256 and copied; the medium's copy
 * altered with as many bytes is rewritten (bytes compared, not only sizes); one of another
 * size too; SHA256SUMS-windows.txt follows each time.
 */
static void medium__same_size_changes_are_seen(void **state)
{
    static const char exe1[] = "MZ\x90\x00 build one", exe2[] = "MZ\x90\x00 build two";
    struct mm_repo_medium m = { "FRI", "1310012345", "alice", 0, 1 };
    const unsigned int fl = MM_BACKUP_VIEWER_WRITE | MM_BACKUP_VIEWER_BIN;
    struct mm_repo_viewer *v = NULL;
    char dir[600], exe[700], onm[1024];
    unsigned char h[32];
    size_t at = 0, n;
    ino_t ino;
    char *t;
    FILE *f;

    (void)state;
    _Static_assert(sizeof(exe1) == sizeof(exe2), "as many bytes");
    snprintf(dir, sizeof(dir), "%s/medium-same-size", work);
    snprintf(exe, sizeof(exe), "%s/same-size-mamori.exe", work);
    snprintf(onm, sizeof(onm), "%s/bin/mamori.exe", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_file(exe, exe1, sizeof(exe1) - 1);
    assert_int_equal(mm_backup_medium_viewer(dir, &m, fl, exe, NULL), 0);
    /* rewritten in place, as many bytes: the same inode, a new ctime */
    ino = inode_of(work, "same-size-mamori.exe");
    assert_non_null(f = fopen(exe, "r+"));
    assert_int_equal(fwrite(exe2, 1, sizeof(exe2) - 1, f), sizeof(exe2) - 1);
    assert_int_equal(fclose(f), 0);
    assert_true(inode_of(work, "same-size-mamori.exe") == ino);
    assert_int_equal(mm_backup_medium_viewer(dir, &m, fl, exe, &v), 0);
    assert_true(listed(v, "bin/mamori.exe", &at));
    mm_crypto_sha256(exe2, sizeof(exe2) - 1, h);
    assert_memory_equal(v->files[at].sha256, h, 32);
    mm_repo_viewer_free(v);
    v = NULL;
    t = slurp(dir, "bin/mamori.exe", &n);
    assert_int_equal(n, sizeof(exe2) - 1);
    assert_memory_equal(t, exe2, n);
    free(t);
    check_sums(dir);
    /* the medium's copy altered, as many bytes: rewritten */
    write_file(onm, exe1, sizeof(exe1) - 1);
    assert_int_equal(mm_backup_medium_viewer(dir, &m, fl, exe, NULL), 0);
    t = slurp(dir, "bin/mamori.exe", &n);
    assert_int_equal(n, sizeof(exe2) - 1);
    assert_memory_equal(t, exe2, n);
    free(t);
    /* another size: rewritten */
    write_file(onm, "MZ", 2);
    assert_int_equal(mm_backup_medium_viewer(dir, &m, fl, exe, NULL), 0);
    t = slurp(dir, "bin/mamori.exe", &n);
    assert_int_equal(n, sizeof(exe2) - 1);
    assert_memory_equal(t, exe2, n);
    free(t);
    check_sums(dir);
    /* unchanged: not rewritten */
    ino = inode_of(dir, "bin/mamori.exe");
    assert_int_equal(mm_backup_medium_viewer(dir, &m, fl, exe, NULL), 0);
    assert_true(inode_of(dir, "bin/mamori.exe") == ino);
}

/*
 * With bin/ and a Windows build (a few bytes given by path), the medium gets bin/mamori.exe
 * (those bytes), both launchers (the same bytes) and the SHA-256 list, all in the list with
 * the hashes of the files written; the guide tells to double-click the launcher. The same
 * build again rewrites nothing; another build replaces bin/mamori.exe and the list, nothing
 * else; a file that is no Windows program is refused; none ("", a missing path) writes
 * nothing of Windows and the guide says the medium has none.
 */
static void medium__windows_viewer(void **state)
{
    static const char exe1[] = "MZ\x90\x00 a Windows build", exe2[] = "MZ\x90\x00 another build";
    struct mm_repo_medium m = { "THU", "1310012345", "alice", 0, 1 };
    const char *win[] = { "bin/mamori.exe", "緊急時ビューア.bat", "mamori-view.bat",
                          "SHA256SUMS-windows.txt" };
    struct mm_repo_viewer *v = NULL;
    char dir[600], exe[700], bad[700], none[700];
    ino_t ino[6];
    size_t at = 0, n;
    char *t, *u;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/medium-windows", work);
    snprintf(exe, sizeof(exe), "%s/fake-mamori.exe", work);
    snprintf(bad, sizeof(bad), "%s/not-windows.exe", work);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_file(exe, exe1, sizeof(exe1) - 1);
    write_file(bad,
               "\x7f"
               "ELF",
               4);
    assert_int_equal(mm_backup_medium_viewer(dir, &m, MM_BACKUP_VIEWER_WRITE | MM_BACKUP_VIEWER_BIN,
                                             exe, &v),
                     0);
    assert_int_equal(v->flags, 0);
    assert_true(mm_backup_medium_has_windows(v));
    assert_true(listed(v, "bin/mamori", NULL));
    for (size_t i = 0; i < 4; i++) {
        char p[1024];
        unsigned char h[32];
        uint64_t size;
        assert_true(listed(v, win[i], &at));
        snprintf(p, sizeof(p), "%s/%s", dir, win[i]);
        assert_int_equal(mm_repo_viewer_hash_file(p, &size, h), 0);
        assert_true(size == v->files[at].size);
        assert_memory_equal(h, v->files[at].sha256, 32);
    }
    t = slurp(dir, "bin/mamori.exe", &n);
    assert_int_equal(n, sizeof(exe1) - 1);
    assert_memory_equal(t, exe1, n);
    free(t);
    check_launcher(dir, "緊急時ビューア.bat");
    check_launcher(dir, "mamori-view.bat");
    { /* the release notes publish the launchers' SHA-256 */
        char hex[65];
        assert_true(listed(v, "mamori-view.bat", &at));
        mm_crypto_hex(v->files[at].sha256, hex);
        t = slurp(MM_SOURCE_ROOT "/docs", "RELEASE-NOTES.md", NULL);
        if (!strstr(t, hex))
            fail_msg("docs/RELEASE-NOTES.md does not give the launchers' SHA-256 %s", hex);
        free(t);
    }
    t = slurp(dir, "緊急時ビューア.bat", NULL);
    u = slurp(dir, "mamori-view.bat", NULL);
    assert_string_equal(t, u);
    free(t);
    free(u);
    check_sums(dir);
    for (size_t i = 0; i < 4; i++) {
        t = slurp(dir, guide_files[i], NULL);
        assert_non_null(strstr(t, "緊急時ビューア.bat"));
        assert_non_null(strstr(t, "mamori-view.bat"));
        assert_non_null(strstr(t, "SHA256SUMS-windows.txt"));
        assert_non_null(strstr(t, "Windows によって PC が保護されました"));
        assert_null(strstr(t, "not yet on this medium"));
        free(t);
    }
    mm_repo_viewer_free(v);
    /* the same build: nothing rewritten */
    ino[4] = inode_of(dir, "bin/mamori");
    ino[5] = inode_of(dir, "緊急時の使い方.html");
    for (size_t i = 0; i < 4; i++)
        ino[i] = inode_of(dir, win[i]);
    assert_int_equal(mm_backup_medium_viewer(dir, &m, MM_BACKUP_VIEWER_WRITE | MM_BACKUP_VIEWER_BIN,
                                             exe, NULL),
                     0);
    for (size_t i = 0; i < 4; i++)
        assert_true(inode_of(dir, win[i]) == ino[i]);
    /* another build: bin/mamori.exe and the list replaced, the launchers, bin/mamori, guide not */
    write_file(exe, exe2, sizeof(exe2) - 1);
    assert_int_equal(mm_backup_medium_viewer(dir, &m, MM_BACKUP_VIEWER_WRITE | MM_BACKUP_VIEWER_BIN,
                                             exe, NULL),
                     0);
    t = slurp(dir, "bin/mamori.exe", &n);
    assert_int_equal(n, sizeof(exe2) - 1);
    assert_memory_equal(t, exe2, n);
    free(t);
    assert_true(inode_of(dir, "bin/mamori.exe") != ino[0]);
    assert_true(inode_of(dir, "緊急時ビューア.bat") == ino[1]);
    assert_true(inode_of(dir, "mamori-view.bat") == ino[2]);
    assert_true(inode_of(dir, "SHA256SUMS-windows.txt") != ino[3]);
    assert_true(inode_of(dir, "bin/mamori") == ino[4]);
    assert_true(inode_of(dir, "緊急時の使い方.html") == ino[5]);
    check_sums(dir);
    /* not a Windows program: refused, the medium's copy kept */
    assert_int_equal(mm_backup_medium_viewer(dir, &m, MM_BACKUP_VIEWER_WRITE | MM_BACKUP_VIEWER_BIN,
                                             bad, NULL),
                     MM_EINVAL);
    t = slurp(dir, "bin/mamori.exe", &n);
    assert_memory_equal(t, exe2, n);
    free(t);
    /* no Windows build ("", or a path that is no file): nothing of Windows */
    snprintf(none, sizeof(none), "%s/medium-no-windows", work);
    assert_int_equal(mkdir(none, 0700), 0);
    for (int k = 0; k < 2; k++) {
        char missing[700];
        snprintf(missing, sizeof(missing), "%s/no-such.exe", work);
        v = NULL;
        assert_int_equal(mm_backup_medium_viewer(none, &m,
                                                 MM_BACKUP_VIEWER_WRITE | MM_BACKUP_VIEWER_BIN,
                                                 k ? missing : "", &v),
                         0);
        assert_int_equal(v->flags, 0);
        assert_false(mm_backup_medium_has_windows(v));
        for (size_t i = 0; i < 4; i++) {
            char p[1024];
            struct stat sb;
            assert_false(listed(v, win[i], NULL));
            snprintf(p, sizeof(p), "%s/%s", none, win[i]);
            assert_int_equal(stat(p, &sb), -1);
        }
        t = slurp(none, "README-EMERGENCY.txt", NULL);
        assert_non_null(strstr(t, "Windows: not yet on this medium"));
        assert_null(strstr(t, ".bat"));
        free(t);
        mm_repo_viewer_free(v);
    }
}

/*
 * A backup with bin/ and a Windows build records the Windows files in its manifest: the check
 * passes, then names a tampered bin/mamori.exe; the next backup with another build rewrites
 * it and the check passes again. A backup with bin/ and no Windows build says so (one note).
 */
static void run__records_the_windows_viewer(void **state)
{
    static const char exe1[] = "MZ first", exe2[] = "MZ second";
    const char *src[1] = { st.dir };
    struct mm_backup_opts o;
    struct mm_backup_result res;
    struct mm_repo_gen g;
    struct vseen v = { 0 };
    struct seen s = { 0 };
    char exe[700], p[700];
    size_t bad = 99;

    (void)state;
    snprintf(exe, sizeof(exe), "%s/fake-run.exe", work);
    write_file(exe, exe1, sizeof(exe1) - 1);
    opts_for(&o, src, &s);
    o.no_index = 1;
    o.medium_viewer = 1;
    o.windows_exe = exe;
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_OK);
    assert_int_equal(s.notes[MM_BACKUP_NOTE_VIEWER], 0);
    assert_int_equal(s.notes[MM_BACKUP_NOTE_NO_WINDOWS], 0);
    assert_int_equal(mm_repo_gen_find(res.repo, "latest", &g), 0);
    assert_int_equal(g.viewer->flags, 0);
    assert_true(mm_backup_medium_has_windows(g.viewer));
    assert_true(listed(g.viewer, "緊急時ビューア.bat", NULL));
    assert_true(listed(g.viewer, "mamori-view.bat", NULL));
    assert_true(listed(g.viewer, "SHA256SUMS-windows.txt", NULL));
    assert_int_equal(mm_repo_viewer_check(res.repo, g.viewer, viewer_cb, &v, &bad), 0);
    assert_int_equal(bad, 0);
    /* bin/mamori.exe tampered with */
    snprintf(p, sizeof(p), "%s/bin/mamori.exe", repo);
    write_file(p, "MZ evil", 7);
    memset(&v, 0, sizeof(v));
    assert_int_equal(mm_repo_viewer_check(res.repo, g.viewer, viewer_cb, &v, &bad), 0);
    assert_int_equal(bad, 1);
    assert_int_equal(v.st, MM_REPO_VIEWER_CHANGED);
    assert_string_equal(v.changed, "bin/mamori.exe");
    mm_repo_gen_release(&g);
    mm_backup_result_release(&res);
    /* the next backup, another build: written and recorded */
    write_file(exe, exe2, sizeof(exe2) - 1);
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_OK);
    assert_int_equal(mm_repo_gen_find(res.repo, "latest", &g), 0);
    assert_int_equal(mm_repo_viewer_check(res.repo, g.viewer, NULL, NULL, &bad), 0);
    assert_int_equal(bad, 0);
    check_sums(repo);
    mm_repo_gen_release(&g);
    mm_backup_result_release(&res);
    /* no Windows build: one note */
    memset(&s, 0, sizeof(s));
    o.windows_exe = "";
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_OK);
    assert_int_equal(s.notes[MM_BACKUP_NOTE_NO_WINDOWS], 1);
    assert_int_equal(mm_repo_gen_find(res.repo, "latest", &g), 0);
    assert_false(mm_backup_medium_has_windows(g.viewer));
    assert_int_equal(mm_repo_viewer_check(res.repo, g.viewer, NULL, NULL, &bad), 0);
    assert_int_equal(bad, 0);
    mm_repo_gen_release(&g);
    mm_backup_result_release(&res);
    /* bin/ not wanted: no note, nothing of Windows listed */
    memset(&s, 0, sizeof(s));
    o.medium_viewer = 0;
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_OK);
    assert_int_equal(s.notes[MM_BACKUP_NOTE_NO_WINDOWS], 0);
    mm_backup_result_release(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run__writes_a_generation_with_its_index),
        cmocka_unit_test(run__marks_a_storage_that_lost_patients),
        cmocka_unit_test(run__without_index_on_a_given_repository),
        cmocka_unit_test(run__refuses_a_source_that_is_not_a_folder),
        cmocka_unit_test(medium__guide_with_label_and_hospital),
        cmocka_unit_test(medium__rewritten_only_when_changed),
        cmocka_unit_test(run__records_the_viewer_files),
        cmocka_unit_test(medium__windows_viewer),
        cmocka_unit_test(medium__same_size_changes_are_seen),
        cmocka_unit_test(run__records_the_windows_viewer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
