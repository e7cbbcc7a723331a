/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guard in the shared pipeline (backup/backup.h) and in the daily cycle (backup/cycle.h),
 * on a plain folder of text files: a ransom note makes the backup suspect (exit 4, the
 * verdict and its reasons in the result and the manifest, the audit event holds "suspect",
 * the host's standing list names it); later backups stay suspect while it stands, by the
 * host's list and, on another host, by the repository's own generations; --no-guard stores
 * "none" and creates no guard folder; a guard folder that cannot be written is a note. In
 * `run`: the alert hook says "suspect generation on medium A: ransom-note", windows.jsonl
 * holds the verdict, and while it stands nothing is retired on the other medium either;
 * `status` shows it standing (needs a person).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
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

#include "backup/cycle.h"
#include "backup/status.h"
#include "common/buf.h"
#include "common/error.h"
#include "guard/guard.h"
#include "os/os.h"
#include "repo/repo.h"

#define PASS     "cycle-guard: correct horse battery staple"
#define P(s)     (s), strlen(s)
#define MONDAY   ((struct mm_config_date){ 2026, 12, 7 })
#define THURSDAY ((struct mm_config_date){ 2026, 12, 10 })
#define NOTE     "README_RESTORE.txt" /* a ransom note's name */

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };

static char work[128], src[300], repo_a[300], repo_b[300], hooklog[300], state[300];
static char gdir[400], bguard[400], cache[300], audit[300];

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(path, mode) != 0)
        fail_msg("cannot write '%s'", path);
}

static void hook(const char *name, const char *body)
{
    char p[400], text[1024];

    snprintf(p, sizeof(p), "%s/%s", work, name);
    snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
    write_file(p, text, 0700);
}

static int make_repo(const char *path, const char *label)
{
    struct mm_repo_init_opts o = { 0 };
    mm_repo *r = NULL;
    int err;

    o.kdf = &kdf_min;
    if (mm_repo_init(path, "alice", P(PASS), &o) != 0 ||
        mm_repo_open(&r, path, "alice", P(PASS)) != 0 ||
        mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, NULL) != 0) {
        mm_repo_free(r);
        return -1;
    }
    err = mm_repo_medium_set(r, label, "H1", 0);
    mm_repo_free(r);
    return err;
}

/* A fresh work folder: the source (40 small text files), media A and B, the hooks. */
static int setup(void **st_)
{
    char b[600], p[400];

    (void)st_;
    snprintf(work, sizeof(work), "/tmp/mamori-test-cycle-guard-XXXXXX");
    if (!mkdtemp(work))
        return -1;
    snprintf(src, sizeof(src), "%s/src", work);
    snprintf(repo_a, sizeof(repo_a), "%s/A", work);
    snprintf(repo_b, sizeof(repo_b), "%s/B", work);
    snprintf(hooklog, sizeof(hooklog), "%s/hooks.log", work);
    snprintf(state, sizeof(state), "%s/state", work);
    snprintf(gdir, sizeof(gdir), "%s/guard", state);
    snprintf(bguard, sizeof(bguard), "%s/backup-guard", work);
    snprintf(cache, sizeof(cache), "%s/cache", work);
    snprintf(audit, sizeof(audit), "%s/audit", work);
    if (mkdir(src, 0700) != 0 || make_repo(repo_a, "A") != 0 || make_repo(repo_b, "B") != 0)
        return -1;
    for (int i = 0; i < 40; i++) {
        snprintf(p, sizeof(p), "%s/note-%02d.txt", src, i);
        snprintf(b, sizeof(b), "a department's plain text note number %d\n", i);
        write_file(p, b, 0644);
    }
    snprintf(b, sizeof(b), "echo \"attach $MAMORI_MEDIUM\" >> %s", hooklog);
    hook("attach-ok", b);
    snprintf(b, sizeof(b), "echo \"detach $MAMORI_MEDIUM\" >> %s", hooklog);
    hook("detach", b);
    snprintf(b, sizeof(b), "echo \"alert $MAMORI_ALERT\" >> %s", hooklog);
    hook("alert", b);
    return 0;
}

static int teardown(void **st_)
{
    (void)st_;
    if (work[0]) {
        chmod(gdir, 0700);
        rm_rf(work);
    }
    return 0;
}

static char *slurp(const char *path)
{
    mm_buf b;
    char *s;

    mm_buf_init(&b, 1u << 22);
    if (mm_os_read_file(path, &b) != 0 || b.len == 0) {
        mm_buf_release(&b);
        return calloc(1, 1);
    }
    s = malloc(b.len + 1);
    memcpy(s, b.ptr, b.len);
    s[b.len] = '\0';
    for (size_t i = 0; i < b.len; i++) /* binary logs: searchable as text */
        if (!s[i])
            s[i] = ' ';
    mm_buf_release(&b);
    return s;
}

static void has(const char *path, const char *needle, int want)
{
    char *s = slurp(path);

    if ((strstr(s, needle) != NULL) != want)
        fail_msg("'%s' %s '%s':\n%s", path, want ? "lacks" : "holds", needle, s);
    free(s);
}

static int open_a(void *arg, mm_repo **out)
{
    return mm_repo_open(out, (const char *)arg, "alice", P(PASS));
}

static unsigned guard_notes; /* MM_BACKUP_NOTE_GUARD seen (not read, or not written) */

static void note_cb(const struct mm_backup_note *n, void *arg)
{
    (void)arg;
    if (n->kind == MM_BACKUP_NOTE_GUARD)
        guard_notes++;
}

/* Back up the source into @repo with the guard folder @guard (NULL: the default). */
static void backup(const char *repo, const char *guard, int no_guard, struct mm_backup_result *res)
{
    struct mm_backup_opts o = { 0 };
    const char *s[1] = { src };

    o.repo_path = repo;
    o.open = open_a;
    o.arg = (void *)(uintptr_t)repo;
    o.sources = s;
    o.nsources = 1;
    o.cache_root = cache;
    o.audit_host_dir = audit;
    o.threads = 2;
    o.dict_samples = 10;
    o.guard_dir = guard;
    o.no_guard = no_guard;
    o.note = note_cb;
    mm_backup_run(&o, res);
}

/* The generation @id of @repo, as its manifest says. */
static void gen_of(const char *repo, const char *id, struct mm_repo_gen *g)
{
    mm_repo *r = NULL;

    assert_int_equal(mm_repo_open(&r, repo, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_gen_find(r, id, g), 0);
    mm_repo_free(r);
}

static size_t standing(const char *dir, struct mm_guard_standing *first)
{
    struct mm_guard_standing *v = NULL;
    size_t n = 0;

    assert_int_equal(mm_guard_standing_list(dir, &v, &n), 0);
    if (n && first)
        *first = v[0];
    free(v);
    return n;
}

/* ---- the pipeline ---------------------------------------------------------------------------- */

/*
 * A clean backup, then a ransom note: suspect, exit 4, reasons, recorded and audited; a
 * later backup is suspect while it stands ("standing <12 hex>"), on another host too.
 */
static void backup__ransom_note_is_suspect_and_stands(void **s)
{
    struct mm_backup_result res;
    struct mm_repo_gen g;
    struct mm_guard_standing sg;
    char note[400], line[40], other[400], hostlog[600], id[MM_CRYPTO_HEX_SIZE];

    (void)s;
    backup(repo_a, bguard, 0, &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.guard, "clean");
    assert_true(res.guard_recorded);
    snprintf(hostlog, sizeof(hostlog), "%s/%s.log", audit, mm_repo_id(res.repo));
    has(hostlog, "suspect", 0);
    mm_backup_result_release(&res);

    snprintf(note, sizeof(note), "%s/%s", src, NOTE);
    write_file(note, "your files are encrypted\n", 0644);
    backup(repo_a, bguard, 0, &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_ATTENTION);
    assert_int_equal(res.failure, MM_BACKUP_FAIL_NONE);
    assert_string_equal(res.guard, "suspect");
    assert_non_null(res.guard_reasons);
    assert_non_null(strstr(res.guard_reasons, "ransom-note"));
    assert_null(strstr(res.guard_reasons, NOTE)); /* counts, never names */
    assert_true(res.guard_recorded);
    has(hostlog, "suspect", 1); /* the audit event's verdict */
    memcpy(id, res.id, sizeof(id));
    mm_backup_result_release(&res);
    gen_of(repo_a, id, &g);
    assert_string_equal(g.guard, "suspect");
    assert_non_null(strstr(g.guard_reasons, "ransom-note"));
    mm_repo_gen_release(&g);
    assert_int_equal(standing(bguard, &sg), 1);
    assert_string_equal(sg.gen, id);

    /* the note gone, nothing else changed: still suspect while it stands */
    unlink(note);
    snprintf(line, sizeof(line), "standing %.12s", id);
    backup(repo_a, bguard, 0, &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_ATTENTION);
    assert_string_equal(res.guard, "suspect");
    assert_non_null(strstr(res.guard_reasons, line));
    mm_backup_result_release(&res);
    assert_int_equal(standing(bguard, NULL), 1); /* suspect only because it stands: not added */

    /* another host (its own, empty guard folder) reads it from the repository itself */
    snprintf(other, sizeof(other), "%s/other-guard", work);
    backup(repo_a, other, 0, &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_ATTENTION);
    assert_string_equal(res.guard, "suspect");
    assert_non_null(strstr(res.guard_reasons, line));
    mm_backup_result_release(&res);
}

/* --no-guard: "none" stored, exit 0 even with a ransom note, no guard folder made. */
static void backup__no_guard_stores_none(void **s)
{
    struct mm_backup_result res;
    struct mm_repo_gen g;
    struct stat sb;
    char note[400], dir[400], id[MM_CRYPTO_HEX_SIZE];

    (void)s;
    snprintf(dir, sizeof(dir), "%s/no-guard", work);
    snprintf(note, sizeof(note), "%s/%s", src, NOTE);
    write_file(note, "your files are encrypted\n", 0644);
    backup(repo_b, dir, 1, &res);
    unlink(note);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.guard, "none");
    assert_null(res.guard_reasons);
    assert_false(res.guard_recorded);
    memcpy(id, res.id, sizeof(id));
    mm_backup_result_release(&res);
    gen_of(repo_b, id, &g);
    assert_string_equal(g.guard, "none");
    mm_repo_gen_release(&g);
    assert_int_not_equal(stat(dir, &sb), 0);
}

/* A guard folder that cannot be read or written: one note, the verdict still stored (here
 * suspect: the repository's own standing generation), exit 4 kept, nothing recorded. */
static void backup__unwritable_guard_folder_is_a_note(void **s)
{
    struct mm_backup_result res;
    char file[300], dir[400];

    (void)s;
    /* below a regular file: the guard folder can be neither made nor read nor written (also
     * by root, whom a folder's mode does not stop) */
    snprintf(file, sizeof(file), "%s/not-a-folder", work);
    write_file(file, "x\n", 0644);
    snprintf(dir, sizeof(dir), "%s/guard", file);
    guard_notes = 0;
    backup(repo_a, dir, 0, &res); /* A: its suspect generation stands (the test before) */
    assert_int_equal(res.exit, MM_BACKUP_EXIT_ATTENTION);
    assert_int_equal(res.failure, MM_BACKUP_FAIL_NONE);
    assert_string_equal(res.guard, "suspect");
    assert_false(res.guard_recorded);
    assert_int_equal(guard_notes, 1);
    mm_backup_result_release(&res);
}

/* The audit fields carry the verdict given (NULL: "none"). */
static void audit_fields__carry_the_verdict(void **s)
{
    struct mm_repo_counts c = { 0 };
    struct mm_audit_fields b = { 0 }, n = { 0 };
    int found = 0;

    (void)s;
    mm_backup_audit_fields("abc", "suspect", &c, &b);
    mm_backup_audit_fields("abc", NULL, &c, &n);
    for (size_t i = 0; i < b.n; i++)
        if (strcmp(b.f[i].key, "guard") == 0)
            found = strcmp(b.f[i].value, "suspect") == 0 && strcmp(n.f[i].value, "none") == 0;
    assert_true(found);
}

/* ---- the daily cycle ------------------------------------------------------------------------- */

/* A configuration: A (sun-wed) and B (thu-sat), keep 1 each, floors low enough to retire. */
static mm_config *config(void)
{
    char text[4096];
    mm_config *cfg = NULL;
    struct mm_config_errors errs;

    snprintf(text, sizeof(text),
             "[hospital]\nid = H1\n[service]\nstate_dir = %s\n"
             "[source \"dept\"]\nkind = folder\npath = %s\nschedule = daily\nrpo = 2d\n"
             "guard_max_deleted = 50%%\n"
             "[media]\nrotation = weekday\nstaging = %s/staging\nkeep_min_age = 1s\n"
             "keep_min_clean = 1\n"
             "[medium \"A\"]\ndays = sun,mon,tue,wed\npath = %s\nkeep = 1\n"
             "[medium \"B\"]\ndays = thu,fri,sat\npath = %s\nkeep = 1\n"
             "[hooks]\nattach = %s/attach-ok\ndetach = %s/detach\nalert = %s/alert\n",
             state, src, work, repo_a, repo_b, work, work, work);
    mm_config_errors_init(&errs);
    if (mm_config_parse("test.conf", text, strlen(text), &cfg, &errs) != 0)
        fail_msg("config: %s", errs.count ? errs.msgs[0] : mm_error_last());
    mm_config_errors_release(&errs);
    return cfg;
}

static void run(struct mm_config_date date, struct mm_cycle_result *res)
{
    struct mm_cycle_opts o = { 0 };
    mm_config *cfg = config();

    o.audit_host_dir = audit;
    o.date = date;
    o.minute = 120;
    o.pass = PASS;
    o.passlen = strlen(PASS);
    o.cache_root = cache;
    o.log_fd = -1;
    o.threads = 2;
    o.dict_samples = 10;
    unlink(hooklog);
    mm_cycle_run(cfg, &o, res);
    mm_config_free(cfg);
}

static size_t generations(const char *path)
{
    mm_repo *r = NULL;
    struct mm_repo_gen *g = NULL;
    size_t n = 0;

    assert_int_equal(mm_repo_open(&r, path, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_generations(r, &g, &n), 0);
    mm_repo_gens_free(g, n);
    mm_repo_free(r);
    return n;
}

/*
 * B gets two clean windows (the older retired: keep 1); then a ransom note on A's day: the
 * window is written (evidence), exit 4, the alert hook names the medium and the reason code,
 * windows.jsonl holds the verdict; B's next windows retire nothing while it stands (staged
 * or not), and status shows it standing.
 */
static void cycle__suspect_alerts_and_holds_retirement_everywhere(void **s)
{
    struct mm_cycle_result res;
    struct mm_status st = { 0 };
    char note[400], wf[400];
    size_t b;
    mm_config *cfg;

    (void)s;
    snprintf(wf, sizeof(wf), "%s/windows.jsonl", state);
    snprintf(note, sizeof(note), "%s/%s", src, NOTE);
    run(THURSDAY, &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.guard, "clean");
    sleep(2); /* older than keep_min_age */
    run(THURSDAY, &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_true(res.retired >= 1); /* keep 1: every older one (the --no-guard one too) */
    assert_false(res.retire_held);
    has(hooklog, "alert", 0);
    b = generations(repo_b);

    write_file(note, "your files are encrypted\n", 0644);
    run(MONDAY, &res);
    unlink(note);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_ATTENTION);
    assert_int_equal(res.generations, 1); /* written: evidence */
    assert_string_equal(res.guard, "suspect");
    assert_non_null(strstr(res.guard_codes, "ransom-note"));
    assert_true(res.retire_held);
    assert_int_equal(res.retired, 0);
    assert_int_equal(res.alert_status, 0);
    has(hooklog, "alert suspect generation on medium A: ransom-note", 1);
    has(hooklog, NOTE, 0);
    has(wf, "\"guard\":\"suspect\",\"guard_codes\":\"ransom-note", 1);
    has(wf, "\"retire_held\":1", 1);

    /* the other medium, two windows later (the second staged): nothing retired there */
    for (int i = 0; i < 2; i++) {
        sleep(2);
        run(THURSDAY, &res);
        assert_int_equal(res.exit, MM_BACKUP_EXIT_ATTENTION);
        assert_string_equal(res.guard, "suspect");
        assert_non_null(strstr(res.guard_codes, "standing"));
        assert_true(res.retire_held);
        assert_int_equal(res.retired, 0);
        has(hooklog, "alert suspect generation on medium B: standing", 1);
        assert_int_equal(generations(repo_b), b + 1 + (size_t)i);
    }
    assert_string_equal(res.window, "staged"); /* judged in the shadow the same way */

    /* status: standing, needs a person */
    cfg = config();
    assert_int_equal(mm_status_read(&st, cfg, MONDAY, 1796600000), 0);
    assert_int_equal(mm_status_read_guard(&st, NULL), 0);
    assert_int_equal(st.nstanding, 1);
    assert_string_equal(st.standing[0].medium, "A");
    assert_true(st.needs >= 1);
    mm_status_release(&st);
    mm_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(audit_fields__carry_the_verdict),
        cmocka_unit_test(backup__no_guard_stores_none),
        cmocka_unit_test(backup__ransom_note_is_suspect_and_stands),
        cmocka_unit_test(backup__unwritable_guard_folder_is_a_note),
        cmocka_unit_test(cycle__suspect_alerts_and_holds_retirement_everywhere),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
