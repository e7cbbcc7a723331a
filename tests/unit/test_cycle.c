/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of one daily cycle (backup/cycle.h) on plain folders, with hooks that are tiny shell
 * scripts written here: a cycle that goes through writes one generation on the day's medium
 * and records its window; the detach hook runs after every failure (attach that fails or
 * hangs past its timeout, the wrong medium) and the alert hook says why; the wrong medium is
 * refused with nothing written; the passphrase file must be the user's own with mode 0600.
 * The structural drill runs in the window when due (structural_drill_interval), finds a
 * damaged or missing pack (exit 4, alert, medium untouched), on passphrase and write-only media.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "backup/backup.h"
#include "backup/cycle.h"
#include "backup/status.h"
#include "common/error.h"
#include "os/os.h"
#include "repo/repo.h"
#include "repo/repo_sync.h"
#include "tests/unit/test_storage.h"

#define PASS   "cycle: correct horse battery staple"
#define P(s)   (s), strlen(s)
#define MONDAY ((struct mm_config_date){ 2026, 12, 7 })

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };

static struct test_storage st;
static char work[128], repo_a[300], repo_b[300], hooklog[300], state[300];

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
        fprintf(stderr, "repo: %s\n", mm_error_last());
        mm_repo_free(r);
        return -1;
    }
    err = mm_repo_medium_set(r, label, "H1", 0);
    mm_repo_free(r);
    return err;
}

static int setup(void **st_)
{
    char b[600];

    (void)st_;
    if (test_storage_make(&st, "cycle", 12, 2, 16) != 0)
        return -1;
    snprintf(work, sizeof(work), "/tmp/mamori-test-cycle-XXXXXX");
    if (!mkdtemp(work))
        return -1;
    snprintf(repo_a, sizeof(repo_a), "%s/A", work);
    snprintf(repo_b, sizeof(repo_b), "%s/B", work);
    snprintf(hooklog, sizeof(hooklog), "%s/hooks.log", work);
    snprintf(state, sizeof(state), "%s/state", work);
    if (make_repo(repo_a, "A") != 0 || make_repo(repo_b, "B") != 0)
        return -1;
    snprintf(b, sizeof(b), "echo \"attach $MAMORI_HOOK $MAMORI_MEDIUM $MAMORI_HOSPITAL\" >> %s",
             hooklog);
    hook("attach-ok", b);
    snprintf(b, sizeof(b), "echo attach-fail >> %s; exit 3", hooklog);
    hook("attach-fail", b);
    hook("attach-hang", "exec sleep 30");
    snprintf(b, sizeof(b), "echo \"detach $MAMORI_MEDIUM_PATH\" >> %s", hooklog);
    hook("detach", b);
    snprintf(b, sizeof(b), "echo \"alert $MAMORI_ALERT\" >> %s", hooklog);
    hook("alert", b);
    return 0;
}

static int teardown(void **st_)
{
    (void)st_;
    test_storage_free(&st);
    if (work[0])
        test_rm_rf(work);
    return 0;
}

/* A configuration: medium A (sun-wed) at @path_a, B (thu-sat), the attach hook @attach. */
static const char *drill_every; /* [service] structural_drill_interval (NULL: the default) */

/* The [service] line of drill_every ("" none). */
static const char *drill_line(void)
{
    static char line[96];

    snprintf(line, sizeof(line), "structural_drill_interval = %s\n", drill_every);
    return drill_every ? line : "";
}

static mm_config *config(const char *attach, const char *path_a)
{
    char text[4096];
    mm_config *cfg = NULL;
    struct mm_config_errors errs;

    snprintf(text, sizeof(text),
             "[hospital]\nid = H1\n[service]\nstate_dir = %s\n%s"
             "[source \"s\"]\nkind = folder\npath = %s\nschedule = daily\nrpo = 2d\n"
             "[media]\nrotation = weekday\nstaging = %s/staging\n"
             "[medium \"A\"]\ndays = sun,mon,tue,wed\npath = %s\n"
             "[medium \"B\"]\ndays = thu,fri,sat\npath = %s\n"
             "[hooks]\nattach = %s/%s\nattach_timeout = 1s\ndetach = %s/detach\n"
             "alert = %s/alert\n",
             state, drill_line(), st.dir, work, path_a, repo_b, work, attach, work, work);
    mm_config_errors_init(&errs);
    if (mm_config_parse("test.conf", text, strlen(text), &cfg, &errs) != 0)
        fail_msg("config: %s", errs.count ? errs.msgs[0] : mm_error_last());
    mm_config_errors_release(&errs);
    return cfg;
}

static int no_pass;             /* run() without a passphrase (a write-only medium) */
static int viewer_bin;          /* run() refreshes bin/ on the medium */
static const char *windows_exe; /* run()'s Windows build (NULL: looked for) */
static unsigned no_windows;     /* MM_BACKUP_NOTE_NO_WINDOWS seen */

static void note_cb(const struct mm_backup_note *n, void *arg)
{
    (void)arg;
    if (n->kind == MM_BACKUP_NOTE_NO_WINDOWS)
        no_windows++;
}

static void run(mm_config *cfg, struct mm_cycle_result *res)
{
    struct mm_cycle_opts o = { 0 };
    char cache[400], audit[400];

    snprintf(cache, sizeof(cache), "%s/cache", work);
    snprintf(audit, sizeof(audit), "%s/audit", work);
    o.audit_host_dir = audit;
    o.date = MONDAY;
    o.minute = 120;
    o.pass = no_pass ? NULL : PASS;
    o.passlen = no_pass ? 0 : strlen(PASS);
    o.cache_root = cache;
    o.log_fd = -1;
    o.threads = 2;
    o.dict_samples = 10;
    o.medium_viewer = viewer_bin;
    o.windows_exe = windows_exe;
    o.note = note_cb;
    unlink(hooklog);
    mm_cycle_run(cfg, &o, res);
    mm_config_free(cfg);
}

static char *slurp(const char *path)
{
    mm_buf b;
    char *s;

    mm_buf_init(&b, 1u << 20);
    if (mm_os_read_file(path, &b) != 0 || b.len == 0) {
        mm_buf_release(&b);
        return strdup("");
    }
    s = strndup(b.ptr, b.len);
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

/* The window's line holds what `mamori status` needs, and status reads it back. */
static void status_fields_recorded(const char *wf, const struct mm_cycle_result *res, size_t held)
{
    char *text = slurp(wf), *last;
    struct mm_status_window *w = malloc(sizeof(*w));

    assert_int_equal(res->generations_held, (int64_t)held);
    assert_true(res->size_bytes > 0);
    assert_true(res->free_bytes > 0 && res->free_bytes <= res->size_bytes);
    has(wf, "\"source_names\":[\"s\"]", 1);
    has(wf, "\"verify\":\"ok\",\"guard\":\"", 1);
    has(wf, "\"retire_held\":0,\"windows_viewer\":-1,\"hospital\":\"H1\"", 1);
    text[strlen(text) - 1] = '\0'; /* the newline */
    last = strrchr(text, '\n') ? strrchr(text, '\n') + 1 : text;
    assert_int_equal(mm_status_window_parse(last, strlen(last), w), 0);
    assert_int_equal(w->generations_held, (int64_t)held);
    assert_int_equal(w->free_bytes, res->free_bytes);
    assert_int_equal(w->size_bytes, res->size_bytes);
    assert_int_equal(w->nnames, 1);
    assert_string_equal(w->names[0], "s");
    assert_string_equal(w->generation, res->id);
    assert_string_equal(w->verify, "ok");
    assert_string_equal(w->guard, res->guard); /* the verdict the window's backup stored */
    assert_int_equal(w->windows_viewer, -1);   /* bin/ not refreshed */
    free(w);
    free(text);
}

static void cycle__writes_the_days_medium_and_records_the_window(void **s)
{
    struct mm_cycle_result res;
    char wf[400];
    size_t a = generations(repo_a), b = generations(repo_b);

    (void)s;
    run(config("attach-ok", repo_a), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_int_equal(res.stage, MM_CYCLE_STAGE_NONE);
    assert_string_equal(res.medium, "A");
    assert_int_equal(res.generations, 1);
    assert_true(res.bytes_written > 0);
    assert_int_equal(generations(repo_a), a + 1);
    assert_int_equal(generations(repo_b), b);
    assert_int_equal(res.attach_status, 0);
    assert_int_equal(res.detach_status, 0);
    assert_int_equal(res.alert_status, -1);
    has(hooklog, "attach attach A H1", 1);
    has(hooklog, "detach ", 1);
    has(hooklog, "alert", 0);
    assert_true(res.state_written);
    assert_true(res.audit_written);
    snprintf(wf, sizeof(wf), "%s/windows.jsonl", state);
    has(wf, "\"medium\":\"A\"", 1);
    has(wf, "\"generations\":1", 1);
    has(wf, "\"online_s\":", 1);
    has(wf, res.id, 1);
    status_fields_recorded(wf, &res, a + 1);
}

static void cycle__refuses_the_wrong_medium_and_still_detaches(void **s)
{
    struct mm_cycle_result res;
    size_t b = generations(repo_b);

    (void)s;
    run(config("attach-ok", repo_b), &res); /* A is due, B is at A's path */
    assert_int_equal(res.exit, MM_BACKUP_EXIT_FAILED);
    assert_int_equal(res.stage, MM_CYCLE_STAGE_LABEL);
    assert_string_equal(res.found, "B");
    assert_true(res.audit_written); /* in the host's log of the refused repository */
    assert_int_equal(res.generations, 0);
    assert_int_equal(res.generations_held, -1); /* nothing recorded of another medium */
    assert_int_equal(res.free_bytes, -1);
    assert_int_equal(generations(repo_b), b);
    has(hooklog, "detach ", 1);
    has(hooklog, "alert wrong medium B attached, A wanted", 1);
}

static void cycle__failing_attach_detaches_and_alerts(void **s)
{
    struct mm_cycle_result res;
    size_t a = generations(repo_a);

    (void)s;
    run(config("attach-fail", repo_a), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_FAILED);
    assert_int_equal(res.stage, MM_CYCLE_STAGE_ATTACH);
    assert_int_equal(res.attach_status, 1);
    assert_false(res.audit_written); /* no repository was opened */
    assert_int_equal(generations(repo_a), a);
    has(hooklog, "attach-fail", 1);
    has(hooklog, "detach ", 1);
    has(hooklog, "alert attach hook failed", 1);
}

static void cycle__hanging_attach_times_out_detaches_and_alerts(void **s)
{
    struct mm_cycle_result res;

    (void)s;
    run(config("attach-hang", repo_a), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_FAILED);
    assert_int_equal(res.attach_status, 2);
    assert_true(res.online_s < 10);
    has(hooklog, "detach ", 1);
    has(hooklog, "alert attach hook timed out", 1);
}

static void cycle__missing_attach_hook_fails_and_alerts(void **s)
{
    struct mm_cycle_result res;

    (void)s;
    run(config("no-such-hook", repo_a), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_FAILED);
    assert_int_equal(res.stage, MM_CYCLE_STAGE_ATTACH);
    has(hooklog, "detach ", 1);
    has(hooklog, "alert attach hook failed", 1);
}

static void passphrase__only_the_owners_0600_file(void **s)
{
    char p[400], buf[64];
    size_t n = 0;

    (void)s;
    snprintf(p, sizeof(p), "%s/pass", work);
    write_file(p, "secret\n", 0600);
    assert_int_equal(mm_cycle_passphrase_read(p, buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 6);
    assert_string_equal(buf, "secret");
    chmod(p, 0640); /* others may read it: refused by a safety rule (exit 5) */
    assert_int_equal(mm_cycle_passphrase_read(p, buf, sizeof(buf), &n), MM_EREFUSED);
    chmod(p, 0644);
    assert_int_equal(mm_cycle_passphrase_read(p, buf, sizeof(buf), &n), MM_EREFUSED);
    strcat(p, "-missing");
    assert_int_equal(mm_cycle_passphrase_read(p, buf, sizeof(buf), &n), MM_ENOTFOUND);
}

/* ---- run's retirement with floors, staged data's expiry (pure) ------------------------------ */

#define DAY_NS (86400LL * 1000000000LL)
#define NOW_NS (1800000000LL * 1000000000LL)

/* @n generations, one a day, the newest written a day before NOW_NS; all clean. */
static void gens_daily(struct mm_cycle_gen_fact *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g[i].end_ns = NOW_NS - (int64_t)(n - i) * DAY_NS;
        g[i].clean = 1;
    }
}

static void retire__keep_one_with_min_clean_two_keeps_two(void **s)
{
    struct mm_cycle_gen_fact g[5];
    struct mm_cycle_keep k = { 1, 0, 0, 2 };
    unsigned char out[5];

    (void)s;
    gens_daily(g, 5);
    assert_int_equal(mm_cycle_retire_plan(g, 5, &k, NOW_NS, out), 3);
    assert_memory_equal(out, ((unsigned char[]){ 1, 1, 1, 0, 0 }), 5);
}

static void retire__unclean_ones_do_not_count_for_the_floor(void **s)
{
    struct mm_cycle_gen_fact g[5];
    struct mm_cycle_keep k = { 1, 0, 0, 2 };
    unsigned char out[5];

    (void)s;
    gens_daily(g, 5);
    g[3].clean = g[4].clean = 0; /* the two newest are suspect or marked */
    /* of the three clean ones (0, 1, 2) only the oldest may go; the unclean 3 goes too */
    assert_int_equal(mm_cycle_retire_plan(g, 5, &k, NOW_NS, out), 2);
    assert_memory_equal(out, ((unsigned char[]){ 1, 0, 0, 1, 0 }), 5);
}

static void retire__never_younger_than_min_age(void **s)
{
    struct mm_cycle_gen_fact g[6];
    struct mm_cycle_keep k = { 1, 0, 3 * 86400, 0 };
    unsigned char out[6];

    (void)s;
    gens_daily(g, 6); /* ages 6..1 days: those of 2 and 1 days are too young */
    assert_int_equal(mm_cycle_retire_plan(g, 6, &k, NOW_NS, out), 4);
    assert_memory_equal(out, ((unsigned char[]){ 1, 1, 1, 1, 0, 0 }), 6);
}

static void retire__by_age_and_never_the_newest(void **s)
{
    struct mm_cycle_gen_fact g[4];
    struct mm_cycle_keep k = { 0, 86400, 0, 0 };
    unsigned char out[4];

    (void)s;
    gens_daily(g, 4);
    for (size_t i = 0; i < 4; i++)
        g[i].end_ns -= 30 * DAY_NS; /* every one older than keep_age */
    assert_int_equal(mm_cycle_retire_plan(g, 4, &k, NOW_NS, out), 3);
    assert_int_equal(out[3], 0);
}

static void retire__no_limit_retires_nothing(void **s)
{
    struct mm_cycle_gen_fact g[4];
    struct mm_cycle_keep k = { 0, 0, 0, 0 };
    unsigned char out[4];

    (void)s;
    gens_daily(g, 4);
    assert_int_equal(mm_cycle_retire_plan(g, 4, &k, NOW_NS, out), 0);
    assert_int_equal(mm_cycle_retire_plan(g, 0, &k, NOW_NS, out), 0);
}

static void staged__expires_only_after_the_expiry(void **s)
{
    (void)s;
    assert_false(mm_cycle_staged_expired(1000, 14 * 86400, 1000 + 14 * 86400));
    assert_true(mm_cycle_staged_expired(1000, 14 * 86400, 1001 + 14 * 86400));
    assert_false(mm_cycle_staged_expired(1000, 0, 1000 + 365 * 86400)); /* 0: never */
    assert_false(mm_cycle_staged_expired(0, 60, 1000));                 /* nothing staged */
}

/* The files under @dir (recursively). */
static size_t count_files(const char *dir)
{
    char cmd[600], out[32] = "";
    FILE *f;

    snprintf(cmd, sizeof(cmd), "find '%s' -type f 2>/dev/null | wc -l", dir);
    if ((f = popen(cmd, "r")) != NULL) {
        if (!fgets(out, sizeof(out), f))
            out[0] = '\0';
        pclose(f);
    }
    return (size_t)strtoul(out, NULL, 10);
}

static void cycle__stages_offline_then_copies_only_what_the_medium_lacks(void **s)
{
    struct mm_cycle_result res;
    char repo_c[400], shadow[300], data[400], json[400], extra[400], missing[400];

    (void)s;
    snprintf(repo_c, sizeof(repo_c), "%s/C", work);
    snprintf(shadow, sizeof(shadow), "%s/staging/A/repo", work);
    snprintf(json, sizeof(json), "%s/staged/A.json", state);
    snprintf(missing, sizeof(missing), "%s/not-plugged", work);
    assert_int_equal(make_repo(repo_c, "A"), 0);
    snprintf(data, sizeof(data), "%s/staging/A", work);
    test_rm_rf(data); /* no shadow of A yet */
    /* the first window of the medium runs on it and builds the shadow */
    run(config("attach-ok", repo_c), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.window, "direct");
    assert_int_equal(generations(repo_c), 1);
    snprintf(data, sizeof(data), "%s/mamori-repo", shadow);
    assert_int_equal(access(data, F_OK), 0);
    /* new data: staged with the medium offline, only the copy online */
    snprintf(extra, sizeof(extra), "%s/extra.txt", st.dir);
    write_file(extra, "a new file of the day\n", 0644);
    run(config("attach-ok", repo_c), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.window, "staged");
    assert_true(res.copied_bytes > 0 && res.fsyncs > 0 && res.stage_s > 0);
    assert_int_equal(res.generations, 1);
    assert_int_equal(generations(repo_c), 2);
    snprintf(data, sizeof(data), "%s/data", shadow);
    {
        char mdata[420];
        snprintf(mdata, sizeof(mdata), "%s/data", repo_c);
        assert_true(count_files(data) < count_files(mdata)); /* delivered blob packs dropped */
    }
    /* the medium does not come: the staged generation waits, reported */
    write_file(extra, "the next day's version\n", 0644);
    run(config("attach-ok", missing), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_FAILED);
    assert_int_equal(res.stage, MM_CYCLE_STAGE_OPEN);
    assert_true(res.staged_waiting);
    has(json, "\"medium\":\"A\",\"generation\":\"", 1);
    /* the next window delivers it with the day's */
    run(config("attach-ok", repo_c), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.window, "staged");
    assert_int_equal(generations(repo_c), 4);
    assert_int_not_equal(access(json, F_OK), 0);
    unlink(extra);
    /* the window wrote the medium's repository head after the copy: it lists all four */
    {
        struct mm_repo_head_report hr;
        mm_repo *r = NULL;
        assert_int_equal(mm_repo_open(&r, repo_c, NULL, P(PASS)), 0);
        assert_int_equal(mm_repo_head_check(r, NULL, &hr), 0);
        assert_int_equal(hr.has_head, 1);
        assert_int_equal(hr.nmissing + hr.nunlisted, 0);
        assert_int_equal(mm_repo_head_report_bad(&hr), 0);
        mm_repo_head_report_release(&hr);
        mm_repo_free(r);
    }
}

/*
 * A write-only medium ([medium] credential): a format 3 repository made by a person, the host
 * enrolled; `run` writes it with no passphrase at all, through the host catalog (the second
 * day stores only the day's data), checks every file it added by reading it back against its
 * name (the first window on the medium; the next ones staged, each copy read back), retires
 * its own oldest generation beyond keep = 2 (once older than keep_min_age) in a staged window
 * too, and the person reads every generation left (verify --read-data clean).
 */
static void cycle__credential_writes_without_a_passphrase(void **s)
{
    struct mm_repo_init_opts io = { 0 };
    struct mm_cycle_result res;
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats vs;
    char repo_d[400], cred[400], text[4096], extra[400], staged1[MM_CRYPTO_HEX_SIZE] = "";
    mm_config *cfg = NULL;
    mm_repo *r = NULL;
    uint64_t first = 0;

    (void)s;
    snprintf(repo_d, sizeof(repo_d), "%s/D", work);
    snprintf(cred, sizeof(cred), "%s/D.cred", work);
    io.kdf = &kdf_min;
    io.format = 3;
    assert_int_equal(mm_repo_init(repo_d, "alice", P(PASS), &io), 0);
    assert_int_equal(mm_repo_open(&r, repo_d, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, NULL), 0);
    assert_int_equal(mm_repo_medium_set(r, "A", "H1", 0), 0);
    assert_int_equal(mm_repo_host_enroll(r, "nightly", 30, cred), 0);
    mm_repo_free(r);
    for (int day = 0; day < 4; day++) {
        if (day >= 2)
            sleep(2); /* the earlier ones are older than keep_min_age now */
        snprintf(text, sizeof(text),
                 "[hospital]\nid = H1\n[service]\nstate_dir = %s\n"
                 "[source \"s\"]\nkind = folder\npath = %s\nschedule = daily\nrpo = 2d\n"
                 "[media]\nrotation = weekday\nstaging = %s/staging\nkeep_min_age = 1s\n"
                 "keep_min_clean = 1\n"
                 "[medium \"A\"]\ndays = sun,mon,tue,wed\npath = %s\ncredential = %s\n"
                 "keep = 2\n"
                 "[medium \"B\"]\ndays = thu,fri,sat\npath = %s\n"
                 "[hooks]\nattach = %s/attach-ok\ndetach = %s/detach\nalert = %s/alert\n",
                 state, st.dir, work, repo_d, cred, repo_b, work, work, work);
        assert_int_equal(mm_config_parse("test.conf", text, strlen(text), &cfg, NULL), 0);
        no_pass = 1;
        run(cfg, &res);
        no_pass = 0;
        assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
        /* the first window runs on the medium and builds the shadow; then staged */
        assert_string_equal(res.window, day == 0 ? "direct" : "staged");
        assert_true(res.write_only);
        assert_false(res.resynced); /* retiring keeps the shadow's record of the medium true */
        assert_int_equal(res.generations, 1);
        if (day == 0)
            assert_true(res.verify.packs > 0); /* the packs it added, read back and hashed */
        else
            assert_true(res.copied_files > 0 && res.stage_s > 0);
        /* keep = 2: the third and fourth nights retire the host's oldest (its manifest) */
        assert_int_equal(res.generations_held, day < 2 ? day + 1 : 2);
        assert_int_equal(res.retired, day < 2 ? 0 : 1);
        if (day == 1)
            memcpy(staged1, res.id, sizeof(staged1));
        if (day == 3) { /* the staged generation retired is gone from the shadow too */
            char p[600];
            snprintf(p, sizeof(p), "%s/staging/A/repo/generations/%s", work, staged1);
            assert_int_not_equal(access(p, F_OK), 0);
            snprintf(p, sizeof(p), "%s/generations/%s", repo_d, staged1);
            assert_int_not_equal(access(p, F_OK), 0);
        }
        if (day == 0) {
            first = res.bytes_written;
            snprintf(extra, sizeof(extra), "%s/extra-cred.txt", st.dir);
            write_file(extra, "one new file of the second day\n", 0644);
        } else {
            assert_true(res.bytes_written < first / 4); /* only the day's data: the catalog */
            write_file(extra,
                       day == 1   ? "the third day's version\n"
                       : day == 2 ? "-\n"
                                  : "+\n",
                       0644);
        }
    }
    unlink(extra);
    assert_int_equal(generations(repo_d), 2);
    assert_int_equal(mm_repo_open(&r, repo_d, "alice", P(PASS)), 0);
    vo.read_data = 1;
    assert_int_equal(mm_repo_verify(r, &vo, &vs), 0);
    assert_int_equal(vs.generations, 2);
    assert_int_equal(vs.damaged_generations + vs.damaged_packs + vs.damaged_objects +
                             vs.missing_objects + vs.damaged_files,
                     0);
    /* the host signed the medium's repository heads with its certified writer key; the
     * generation it retired is no deletion (issue 17.1) */
    {
        struct mm_repo_head_report hr;
        assert_int_equal(mm_repo_head_check(r, NULL, &hr), 0);
        assert_int_equal(hr.has_head, 1);
        assert_string_equal(hr.signer, "nightly");
        assert_int_equal(hr.nmissing, 0);
        assert_int_equal(hr.nunlisted, 0);
        assert_int_equal(mm_repo_head_report_bad(&hr), 0);
        mm_repo_head_report_release(&hr);
    }
    mm_repo_free(r);
}

/* ---- a write-only medium staged ----------------------------------------------------------- */

/* The medium pulled in the middle of a window: with pull_at set, the copy of the first file
 * whose name starts with it fails as a medium that went away does (-Wl,--wrap). */
static const char *pull_at;
int __real_mm_repo_sync_copy(const char *src, const char *dst, const char *rel,
                             struct mm_repo_sync_stats *stats);
int __wrap_mm_repo_sync_copy(const char *src, const char *dst, const char *rel,
                             struct mm_repo_sync_stats *stats);
int __wrap_mm_repo_sync_copy(const char *src, const char *dst, const char *rel,
                             struct mm_repo_sync_stats *stats)
{
    if (pull_at && strncmp(rel, pull_at, strlen(pull_at)) == 0) {
        pull_at = NULL;
        return mm_error_set(MM_EIO, "the medium went away");
    }
    return __real_mm_repo_sync_copy(src, dst, rel, stats);
}

/* One write-only cycle of medium A at @path with the credential @cred. */
static void run_wo(const char *path, const char *cred, struct mm_cycle_result *res)
{
    char text[4096];
    mm_config *cfg = NULL;

    snprintf(text, sizeof(text),
             "[hospital]\nid = H1\n[service]\nstate_dir = %s\n%s"
             "[source \"s\"]\nkind = folder\npath = %s\nschedule = daily\nrpo = 2d\n"
             "[media]\nrotation = weekday\nstaging = %s/staging\n"
             "[medium \"A\"]\ndays = sun,mon,tue,wed\npath = %s\ncredential = %s\n"
             "[medium \"B\"]\ndays = thu,fri,sat\npath = %s\n"
             "[hooks]\nattach = %s/attach-ok\ndetach = %s/detach\nalert = %s/alert\n",
             state, drill_line(), st.dir, work, path, cred, repo_b, work, work, work);
    assert_int_equal(mm_config_parse("test.conf", text, strlen(text), &cfg, NULL), 0);
    no_pass = 1;
    run(cfg, res);
    no_pass = 0;
}

/* A person's verify --read-data of @path: @gens generations, nothing damaged or missing. */
static void person_verifies(const char *path, size_t gens)
{
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats vs;
    mm_repo *r = NULL;

    assert_int_equal(mm_repo_open(&r, path, "alice", P(PASS)), 0);
    vo.read_data = 1;
    assert_int_equal(mm_repo_verify(r, &vo, &vs), 0);
    assert_int_equal(vs.damaged_generations + vs.damaged_packs + vs.damaged_objects +
                             vs.missing_objects + vs.damaged_files,
                     0);
    assert_int_equal(vs.generations, gens);
    mm_repo_free(r);
}

/* The names of @path that @before lacks, and their bytes. @return how many */
static size_t added(const char *path, char **before, size_t nb, char ***out, uint64_t *bytes)
{
    char **after = NULL, **v = calloc(4096, sizeof(*v));
    size_t na = 0, n = 0;

    assert_int_equal(mm_repo_sync_list(path, 1, &after, &na), 0);
    *bytes = 0;
    for (size_t i = 0; i < na && n < 4096; i++) {
        size_t j = 0;
        char p[600];
        struct stat sb;
        while (j < nb && strcmp(before[j], after[i]) != 0)
            j++;
        if (j < nb)
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, after[i]);
        assert_int_equal(stat(p, &sb), 0);
        *bytes += (uint64_t)sb.st_size;
        v[n++] = strdup(after[i]);
    }
    mm_repo_sync_list_free(after, na);
    *out = v;
    return n;
}

/*
 * A window cut at its first pack (nothing reaches the medium: the day's generation waits in
 * the shadow, its new file @name with @text), then the host loses the shadow's packs; with
 * @claim, the host's record of the medium ("packs") is poisoned to say the medium has them.
 */
static void lose_staged_packs(const char *medium, const char *cred, const char *shadow,
                              const char *name, const char *text, int claim)
{
    struct mm_cycle_result res;
    char p[600], cmd[1400];

    snprintf(p, sizeof(p), "%s/%s", st.dir, name);
    write_file(p, text, 0644);
    pull_at = "data/";
    run_wo(medium, cred, &res);
    pull_at = NULL;
    assert_int_equal(res.stage, MM_CYCLE_STAGE_COPY);
    assert_true(res.staged_waiting);
    snprintf(p, sizeof(p), "%s/repo/data", shadow);
    assert_true(count_files(p) > 0);
    if (claim) {
        snprintf(cmd, sizeof(cmd),
                 "find '%s' -type f -printf '%%f %%s\\n' >> '%s/packs' && "
                 "find '%s' -type f -delete",
                 p, shadow, p);
    } else {
        snprintf(cmd, sizeof(cmd), "find '%s' -type f -delete", p);
    }
    assert_int_equal(system(cmd), 0);
    assert_int_equal(count_files(p), 0);
}

/* The day after lose_staged_packs(): the window must fall back to a backup on the medium,
 * and no generation points at missing data (a person's verify --read-data). */
static void falls_back_whole(const char *medium, const char *cred, const char *extra,
                             const char *text)
{
    struct mm_cycle_result res;
    size_t gens = generations(medium);

    write_file(extra, text, 0644);
    run_wo(medium, cred, &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    person_verifies(medium, gens + 1);         /* nothing points at missing data; the waiting
                                                  generation was never delivered */
    assert_string_equal(res.window, "direct"); /* fell back: the backup ran on it */
    assert_true(res.resynced);
}

/*
 * A write-only medium is staged like a passphrase one: the first window runs on the medium and
 * builds the shadow (marker, label, the medium's packs); the next day is backed up with the
 * medium offline into the shadow through the host catalog, and the window copies exactly the
 * new packs, index file and manifest (each read back against its name). A medium pulled before
 * the manifest leaves its generations whole and the next window delivers both. A poisoned
 * catalog (a pack it names is not on the medium, though the host's record says it is) never
 * yields a manifest pointing at missing data: the window falls back to a backup on the medium.
 */
static void cycle__credential_medium_is_staged(void **s)
{
    struct mm_repo_init_opts io = { 0 };
    struct mm_cycle_result res;
    char repo_e[400], cred[400], shadow[400], extra[400], p[600], **before = NULL, **diff = NULL;
    size_t nb = 0, nd = 0, gens;
    uint64_t bytes = 0;
    mm_repo *r = NULL;

    (void)s;
    snprintf(repo_e, sizeof(repo_e), "%s/E", work);
    snprintf(cred, sizeof(cred), "%s/E.cred", work);
    snprintf(shadow, sizeof(shadow), "%s/staging/A", work);
    snprintf(extra, sizeof(extra), "%s/extra-wo.txt", st.dir);
    io.kdf = &kdf_min;
    io.format = 3;
    assert_int_equal(mm_repo_init(repo_e, "alice", P(PASS), &io), 0);
    assert_int_equal(mm_repo_open(&r, repo_e, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, NULL), 0);
    assert_int_equal(mm_repo_medium_set(r, "A", "H1", 0), 0);
    assert_int_equal(mm_repo_host_enroll(r, "nightly", 30, cred), 0);
    mm_repo_free(r);
    test_rm_rf(shadow);

    /* first window: direct, then the shadow: marker, label, base, the medium's packs */
    run_wo(repo_e, cred, &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.window, "direct");
    snprintf(p, sizeof(p), "%s/repo/mamori-repo", shadow);
    assert_int_equal(access(p, F_OK), 0);
    snprintf(p, sizeof(p), "%s/packs", shadow);
    has(p, "mamori-packs 1\n", 1);
    snprintf(p, sizeof(p), "%s/repo/config", shadow);
    assert_int_not_equal(access(p, F_OK), 0); /* nothing the host cannot use */

    /* second day: staged; the window copies only the new packs, index file and manifest */
    write_file(extra, "one new file of the write-only day\n", 0644);
    assert_int_equal(mm_repo_sync_list(repo_e, 1, &before, &nb), 0);
    run_wo(repo_e, cred, &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.window, "staged");
    assert_true(res.write_only && res.stage_s > 0);
    assert_int_equal(res.generations, 1);
    nd = added(repo_e, before, nb, &diff, &bytes);
    assert_int_equal(res.copied_files, nd);
    assert_int_equal(res.copied_bytes, bytes);
    {
        size_t ng = 0, ni = 0, np = 0;
        for (size_t i = 0; i < nd; i++) {
            ng += strncmp(diff[i], "generations/", 12) == 0;
            ni += strncmp(diff[i], "index/", 6) == 0;
            np += strncmp(diff[i], "data/", 5) == 0;
        }
        assert_int_equal(ng, 1);
        assert_int_equal(ni, 1);
        assert_true(np >= 1 && ng + ni + np == nd);
        snprintf(p, sizeof(p), "generations/%s", res.id);
        for (size_t i = 0; i < nd && strncmp(diff[i], "generations/", 12) == 0; i++)
            assert_string_equal(diff[i], p);
    }
    for (size_t i = 0; i < nd; i++)
        free(diff[i]);
    free(diff);
    mm_repo_sync_list_free(before, nb);
    snprintf(p, sizeof(p), "%s/repo/data", shadow);
    assert_int_equal(count_files(p), 0); /* delivered: the shadow keeps no pack */
    assert_int_equal(generations(repo_e), 2);

    /* pulled before the manifest: earlier generations whole, the next window delivers both */
    write_file(extra, "the write-only day three\n", 0644);
    pull_at = "generations/";
    run_wo(repo_e, cred, &res);
    pull_at = NULL;
    assert_int_equal(res.exit, MM_BACKUP_EXIT_FAILED);
    assert_int_equal(res.stage, MM_CYCLE_STAGE_COPY);
    assert_true(res.staged_waiting);
    person_verifies(repo_e, 2);
    write_file(extra, "the write-only day four\n", 0644);
    run_wo(repo_e, cred, &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.window, "staged");
    assert_false(res.staged_waiting);
    person_verifies(repo_e, 4);

    /* the staged packs of a waiting generation lost from the shadow: the next staging
     * drops them from the catalog and stores the file again, but the waiting generation
     * needs them: never delivered ("needs") */
    lose_staged_packs(repo_e, cred, shadow, "lost-wo.txt", "a file whose packs get lost\n", 0);
    falls_back_whole(repo_e, cred, extra, "the write-only day five\n");
    /* poisoned: the host's record claims the medium has them, so staging reuses their IDs
     * for the unchanged file; the window finds them on neither side */
    lose_staged_packs(repo_e, cred, shadow, "poisoned-wo.txt", "a file the record lies about\n", 1);
    falls_back_whole(repo_e, cred, extra, "the write-only day six\n");
    gens = generations(repo_e);
    /* and the shadow is whole again: the next day is staged */
    write_file(extra, "the write-only day seven\n", 0644);
    run_wo(repo_e, cred, &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.window, "staged");
    person_verifies(repo_e, gens + 1);
    unlink(extra);
    snprintf(p, sizeof(p), "%s/lost-wo.txt", st.dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/poisoned-wo.txt", st.dir);
    unlink(p);
}

/* The newest generation's list of viewer files on the medium at @path: the files on the medium
 * match it; it holds the Windows viewer (@windows). */
static void viewer_whole(const char *path, int windows)
{
    struct mm_repo_gen g;
    mm_repo *r = NULL;
    size_t bad = 99;

    assert_int_equal(mm_repo_open(&r, path, NULL, P(PASS)), 0);
    assert_int_equal(mm_repo_gen_find(r, "latest", &g), 0);
    assert_non_null(g.viewer);
    assert_int_equal(g.viewer->flags & MM_REPO_VIEWER_NO_BIN, 0);
    assert_int_equal(mm_backup_medium_has_windows(g.viewer), windows);
    assert_int_equal(mm_repo_viewer_check(r, g.viewer, NULL, NULL, &bad), 0);
    assert_int_equal(bad, 0);
    mm_repo_gen_release(&g);
    mm_repo_free(r);
}

/* The newest generation's list of viewer files matches the medium at @path. */
static void viewer_listed_whole(const char *path)
{
    struct mm_repo_gen g;
    mm_repo *r = NULL;
    size_t bad = 99;

    assert_int_equal(mm_repo_open(&r, path, NULL, P(PASS)), 0);
    assert_int_equal(mm_repo_gen_find(r, "latest", &g), 0);
    assert_non_null(g.viewer);
    assert_int_equal(mm_repo_viewer_check(r, g.viewer, NULL, NULL, &bad), 0);
    assert_int_equal(bad, 0);
    mm_repo_gen_release(&g);
    mm_repo_free(r);
}

/*
 * The daily cycle puts the Windows viewer on the medium with bin/: in the medium's first
 * window (a backup on the medium) and in a staged one (listed in the staging, written in the
 * window), where another build replaces bin/mamori.exe; the manifest lists what is on the
 * medium. Without a Windows build a cycle says so once and writes no launcher; without bin/
 * the guide the window writes is the one the staging listed.
 */
/* ---- the structural drill ---------------------------------------------------------------- */

/* How many lines <state>/drills.jsonl holds; each must parse. OUT: the last one. */
static size_t drill_records(struct mm_status_drill *last)
{
    char path[400], *text, *p;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/drills.jsonl", state);
    text = slurp(path);
    for (p = text; *p;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every line whole */
        assert_int_equal(mm_status_drill_parse(p, (size_t)(nl - p), last), 0);
        n++;
        p = nl + 1;
    }
    free(text);
    return n;
}

/* Whether the bytes of @path hold @needle (binary files too). */
static int file_holds(const char *path, const char *needle)
{
    mm_buf b;
    size_t k = strlen(needle);
    int found = 0;

    mm_buf_init(&b, 1u << 24);
    if (mm_os_read_file(path, &b) == 0)
        for (size_t i = 0; !found && i + k <= b.len; i++)
            found = memcmp(b.ptr + i, needle, k) == 0;
    mm_buf_release(&b);
    return found;
}

/* The last line of windows.jsonl. */
static char *last_window(void)
{
    char path[400], *text, *last;

    snprintf(path, sizeof(path), "%s/windows.jsonl", state);
    text = slurp(path);
    text[strlen(text) ? strlen(text) - 1 : 0] = '\0';
    last = strrchr(text, '\n') ? strrchr(text, '\n') + 1 : text;
    memmove(text, last, strlen(last) + 1);
    return text;
}

/* The @i-th pack (sorted) of the repository at @path that the host's shadow of medium A does
 * not hold (a window would copy a pack the shadow holds back), as "data/<aa>/<64 hex>". */
static void nth_pack(const char *path, size_t i, char *out, size_t cap)
{
    char **v = NULL, p[800];
    size_t n = 0, k = 0;

    assert_int_equal(mm_repo_sync_list(path, 1, &v, &n), 0);
    out[0] = '\0';
    for (size_t j = 0; j < n; j++) {
        snprintf(p, sizeof(p), "%s/staging/A/repo/%s", work, v[j]);
        if (strncmp(v[j], "data/", 5) == 0 && access(p, F_OK) != 0 && k++ == i)
            snprintf(out, cap, "%s", v[j]);
    }
    mm_repo_sync_list_free(v, n);
    assert_true(out[0] != '\0');
}

/* The drill runs in the first window of a medium, not in the next one while its last drill is
 * younger than structural_drill_interval (7 days by default), and in every window with 0; its
 * record (drills.jsonl, the window's line, the host's audit log) names the medium and the
 * repository; a good medium passes. */
static void cycle__structural_drill_runs_when_due(void **s)
{
    struct mm_status_drill d;
    struct mm_cycle_result res;
    char repo_e[400], path[400], log[800], *w;
    mm_repo *r = NULL;

    (void)s;
    snprintf(path, sizeof(path), "%s/drills.jsonl", state);
    unlink(path);
    snprintf(repo_e, sizeof(repo_e), "%s/drill-pass", work);
    snprintf(path, sizeof(path), "%s/staging/A", work);
    test_rm_rf(path); /* no shadow of A yet: the first window runs on the medium */
    assert_int_equal(make_repo(repo_e, "A"), 0);
    assert_int_equal(mm_repo_open(&r, repo_e, "alice", P(PASS)), 0);
    snprintf(log, sizeof(log), "%s/audit/%s.log", work, mm_repo_id(r));
    /* the first window of the medium: due (never drilled) */
    run(config("attach-ok", repo_e), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.drill, "ok");
    assert_string_equal(res.drill_reason, "");
    assert_true(res.drill_packs > 0);
    assert_true(res.drill_files > res.drill_packs); /* marker, config, slots, index, ... */
    assert_true(res.drill_bytes > 0);
    assert_true(res.drill_s >= res.drill_read_s && res.drill_s <= res.online_s);
    assert_true(res.drill_recorded);
    assert_true(res.drill_audited);
    assert_int_equal(drill_records(&d), 1);
    assert_string_equal(d.kind, "structural");
    assert_string_equal(d.medium, "A");
    assert_string_equal(d.repo_id, mm_repo_id(r));
    assert_string_equal(d.result, "ok");
    assert_string_equal(d.generation, "");
    assert_int_equal(d.files, res.drill_files);
    assert_int_equal(d.bytes, res.drill_bytes);
    assert_true(d.restore_s >= 0 && d.mib_s >= 0);
    w = last_window();
    assert_non_null(strstr(w, "\"drill\":\"ok\",\"drill_s\":"));
    free(w);
    assert_true(file_holds(log, "structural"));
    assert_true(file_holds(log, "read_s"));
    /* the next window: its last drill is younger than 7 days, nothing drilled */
    run(config("attach-ok", repo_e), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.drill, "");
    assert_int_equal(res.drill_recorded, 0);
    assert_int_equal(drill_records(&d), 1);
    w = last_window();
    assert_null(strstr(w, "\"drill\""));
    free(w);
    /* 0: every window */
    drill_every = "0";
    run(config("attach-ok", repo_e), &res);
    assert_string_equal(res.drill, "ok");
    run(config("attach-ok", repo_e), &res);
    drill_every = NULL;
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.drill, "ok");
    assert_int_equal(drill_records(&d), 3);
    mm_repo_free(r);
}

/* A record of a structural drill of medium A at @ago seconds before now, with @result. */
static void drill_record(int64_t ago, const char *result)
{
    struct mm_status_drill d;

    memset(&d, 0, sizeof(d));
    snprintf(d.kind, sizeof(d.kind), "structural");
    d.at = (int64_t)time(NULL) - ago;
    snprintf(d.medium, sizeof(d.medium), "a"); /* labels compare without case */
    snprintf(d.result, sizeof(d.result), "%s", result);
    d.viewer_s = d.restore_s = d.total_s = d.mib_s = -1;
    d.rpo_s = -1;
    assert_int_equal(mm_status_drill_append(state, &d), 0);
}

/* Due by the record's age: 6 days of a 7-day interval is not; 7 days less a few hours is (the
 * window's start drifts: an eighth of the interval, at most 12 hours, of slack); a failed one
 * is due whatever its age; another medium's record does not count. */
static void cycle__structural_drill_due_by_age(void **s)
{
    struct mm_cycle_result res;
    char repo_k[400], path[400];

    (void)s;
    snprintf(path, sizeof(path), "%s/drills.jsonl", state);
    unlink(path);
    snprintf(repo_k, sizeof(repo_k), "%s/drill-age", work);
    snprintf(path, sizeof(path), "%s/staging/A", work);
    test_rm_rf(path);
    assert_int_equal(make_repo(repo_k, "A"), 0);
    drill_record(6 * 86400, "ok");
    run(config("attach-ok", repo_k), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.drill, "");
    snprintf(path, sizeof(path), "%s/drills.jsonl", state);
    unlink(path); /* the latest record counts: start again */
    drill_record(7 * 86400 - 6 * 3600, "ok");
    run(config("attach-ok", repo_k), &res);
    assert_string_equal(res.drill, "ok");
    unlink(path);
    drill_record(60, "failed"); /* a minute old */
    run(config("attach-ok", repo_k), &res);
    assert_string_equal(res.drill, "ok");
    /* now the last one is a minute old and ok: not due, also with another medium failed */
    {
        struct mm_status_drill d;
        memset(&d, 0, sizeof(d));
        snprintf(d.kind, sizeof(d.kind), "structural");
        d.at = (int64_t)time(NULL);
        snprintf(d.medium, sizeof(d.medium), "B");
        snprintf(d.result, sizeof(d.result), "failed");
        d.viewer_s = d.restore_s = d.total_s = d.mib_s = -1;
        d.rpo_s = -1;
        assert_int_equal(mm_status_drill_append(state, &d), 0);
    }
    run(config("attach-ok", repo_k), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.drill, "");
}

/* A pack damaged on the medium (its size kept), then one removed: the drill fails, the window
 * exits 4 and alerts, the record says why, and nothing on the medium is changed; a failed
 * drill is due again in the next window (whatever the interval), which passes once the
 * medium is whole. */
static void cycle__structural_drill_fails_on_a_damaged_medium(void **s)
{
    struct mm_status_drill d;
    struct mm_cycle_result res;
    char repo_g[400], rel[200], rel2[200], path[800], path2[800], *w;
    mm_buf orig, now, orig2;

    (void)s;
    snprintf(path, sizeof(path), "%s/drills.jsonl", state);
    unlink(path);
    snprintf(repo_g, sizeof(repo_g), "%s/drill-damage", work);
    snprintf(path, sizeof(path), "%s/staging/A", work);
    test_rm_rf(path); /* no shadow of A yet: the first window runs on the medium */
    assert_int_equal(make_repo(repo_g, "A"), 0);
    drill_every = "0";
    run(config("attach-ok", repo_g), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.drill, "ok");
    /* flip one byte in the middle of a pack */
    nth_pack(repo_g, 0, rel, sizeof(rel));
    snprintf(path, sizeof(path), "%s/%s", repo_g, rel);
    mm_buf_init(&orig, 1u << 28);
    mm_buf_init(&now, 1u << 28);
    mm_buf_init(&orig2, 1u << 28);
    assert_int_equal(mm_os_read_file(path, &orig), 0);
    orig.ptr[orig.len / 2] ^= 0x40;
    assert_int_equal(mm_os_write_atomic(path, orig.ptr, orig.len), 0);
    run(config("attach-ok", repo_g), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_ATTENTION);
    assert_int_equal(res.stage, MM_CYCLE_STAGE_NONE);
    assert_int_equal(res.generations, 1); /* the day's generation stands */
    assert_string_equal(res.reason, "structural drill failed");
    assert_string_equal(res.drill, "failed");
    assert_non_null(strstr(res.drill_reason, "does not hash to its name"));
    assert_non_null(strstr(res.drill_reason, rel));
    assert_int_equal(res.alert_status, 0);
    has(hooklog, "alert structural drill failed on medium A: ", 1);
    has(hooklog, "detach ", 1);
    assert_int_equal(drill_records(&d), 2);
    assert_string_equal(d.result, "failed");
    assert_string_equal(d.reason, res.drill_reason);
    w = last_window();
    assert_non_null(strstr(w, "\"result\":4"));
    assert_non_null(strstr(w, "\"drill\":\"failed\""));
    free(w);
    assert_int_equal(mm_os_read_file(path, &now), 0); /* the damage is left as found */
    assert_int_equal(now.len, orig.len);
    assert_memory_equal(now.ptr, orig.ptr, orig.len);
    /* mended, but another pack gone: the index names it (the default interval: a failed
     * drill is due again) */
    drill_every = NULL;
    orig.ptr[orig.len / 2] ^= 0x40;
    assert_int_equal(mm_os_write_atomic(path, orig.ptr, orig.len), 0);
    nth_pack(repo_g, 1, rel2, sizeof(rel2));
    snprintf(path2, sizeof(path2), "%s/%s", repo_g, rel2);
    assert_int_equal(mm_os_read_file(path2, &orig2), 0);
    assert_int_equal(unlink(path2), 0);
    run(config("attach-ok", repo_g), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_ATTENTION);
    assert_string_equal(res.drill, "failed");
    assert_non_null(strstr(res.drill_reason, "is missing (named by the index)"));
    assert_int_not_equal(access(path2, F_OK), 0); /* nothing written back */
    /* whole again: the next window drills again and passes */
    assert_int_equal(mm_os_write_atomic(path2, orig2.ptr, orig2.len), 0);
    run(config("attach-ok", repo_g), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.drill, "ok");
    assert_int_equal(drill_records(&d), 4);
    assert_string_equal(d.result, "ok");
    mm_buf_release(&orig);
    mm_buf_release(&now);
    mm_buf_release(&orig2);
}

/* A write-only medium: the drill compares the packs with the host catalog without any key;
 * a pack damaged on the medium fails it. */
static void cycle__structural_drill_of_a_write_only_medium(void **s)
{
    struct mm_repo_init_opts io = { 0 };
    struct mm_cycle_result res;
    char repo_h[400], cred[400], rel[200], path[800];
    mm_repo *r = NULL;
    mm_buf b;

    (void)s;
    snprintf(repo_h, sizeof(repo_h), "%s/drill-wo", work);
    snprintf(path, sizeof(path), "%s/staging/A", work);
    test_rm_rf(path); /* no shadow of A yet: the first window runs on the medium */
    snprintf(cred, sizeof(cred), "%s/drill-wo.cred", work);
    io.kdf = &kdf_min;
    io.format = 3;
    assert_int_equal(mm_repo_init(repo_h, "alice", P(PASS), &io), 0);
    assert_int_equal(mm_repo_open(&r, repo_h, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, NULL), 0);
    assert_int_equal(mm_repo_medium_set(r, "A", "H1", 0), 0);
    assert_int_equal(mm_repo_host_enroll(r, "nightly", 30, cred), 0);
    mm_repo_free(r);
    drill_every = "0";
    run_wo(repo_h, cred, &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_true(res.write_only);
    assert_string_equal(res.drill, "ok");
    assert_true(res.drill_packs > 0);
    run_wo(repo_h, cred, &res); /* staged */
    assert_string_equal(res.window, "staged");
    assert_string_equal(res.drill, "ok");
    nth_pack(repo_h, 0, rel, sizeof(rel));
    snprintf(path, sizeof(path), "%s/%s", repo_h, rel);
    mm_buf_init(&b, 1u << 28);
    assert_int_equal(mm_os_read_file(path, &b), 0);
    b.ptr[b.len - 1] ^= 0x01;
    assert_int_equal(mm_os_write_atomic(path, b.ptr, b.len), 0);
    run_wo(repo_h, cred, &res);
    drill_every = NULL;
    assert_int_equal(res.exit, MM_BACKUP_EXIT_ATTENTION);
    assert_string_equal(res.drill, "failed");
    assert_non_null(strstr(res.drill_reason, rel));
    has(hooklog, "alert structural drill failed on medium A: ", 1);
    mm_buf_release(&b);
}

static void cycle__puts_the_windows_viewer_on_the_medium(void **s)
{
    struct mm_cycle_result res;
    char repo_w[400], exe[400], extra[400], p[500], b[64];
    FILE *f;

    (void)s;
    snprintf(repo_w, sizeof(repo_w), "%s/W", work);
    snprintf(exe, sizeof(exe), "%s/cycle-mamori.exe", work);
    snprintf(extra, sizeof(extra), "%s/extra-w.txt", st.dir);
    assert_int_equal(make_repo(repo_w, "A"), 0);
    snprintf(p, sizeof(p), "%s/staging/A", work);
    test_rm_rf(p); /* no shadow of A yet: the first window runs on the medium */
    viewer_bin = 1;
    windows_exe = exe;
    write_file(exe, "MZ build one", 0644);
    run(config("attach-ok", repo_w), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.window, "direct");
    assert_int_equal(res.windows_viewer, 1);
    viewer_whole(repo_w, 1);
    /* staged, another build */
    write_file(exe, "MZ build two", 0644);
    write_file(extra, "a Windows day\n", 0644);
    run(config("attach-ok", repo_w), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.window, "staged");
    viewer_whole(repo_w, 1);
    snprintf(p, sizeof(p), "%s/bin/mamori.exe", repo_w);
    assert_non_null(f = fopen(p, "rb"));
    memset(b, 0, sizeof(b));
    assert_true(fread(b, 1, sizeof(b) - 1, f) > 0);
    fclose(f);
    assert_string_equal(b, "MZ build two");
    /* none: said once, the medium's list without it */
    windows_exe = "";
    no_windows = 0;
    write_file(extra, "a day without Windows\n", 0644);
    run(config("attach-ok", repo_w), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_int_equal(no_windows, 1);
    assert_int_equal(res.windows_viewer, 0); /* recorded for mamori status */
    snprintf(p, sizeof(p), "%s/windows.jsonl", state);
    has(p, "\"windows_viewer\":0,", 1);
    viewer_whole(repo_w, 0);
    /* bin/ left alone (MAMORI_VIEWER_COPY=0), staged, the old bin/mamori.exe still on the
     * medium: the window writes the guide the staging listed (verify finds it as listed) */
    viewer_bin = 0;
    write_file(extra, "a day without bin/\n", 0644);
    run(config("attach-ok", repo_w), &res);
    assert_int_equal(res.exit, MM_BACKUP_EXIT_OK);
    assert_string_equal(res.window, "staged");
    assert_int_equal(res.windows_viewer, -1);
    viewer_listed_whole(repo_w);
    unlink(extra);
    viewer_bin = 0;
    windows_exe = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cycle__writes_the_days_medium_and_records_the_window),
        cmocka_unit_test(cycle__refuses_the_wrong_medium_and_still_detaches),
        cmocka_unit_test(cycle__failing_attach_detaches_and_alerts),
        cmocka_unit_test(cycle__hanging_attach_times_out_detaches_and_alerts),
        cmocka_unit_test(cycle__missing_attach_hook_fails_and_alerts),
        cmocka_unit_test(passphrase__only_the_owners_0600_file),
        cmocka_unit_test(retire__keep_one_with_min_clean_two_keeps_two),
        cmocka_unit_test(retire__unclean_ones_do_not_count_for_the_floor),
        cmocka_unit_test(retire__never_younger_than_min_age),
        cmocka_unit_test(retire__by_age_and_never_the_newest),
        cmocka_unit_test(retire__no_limit_retires_nothing),
        cmocka_unit_test(staged__expires_only_after_the_expiry),
        cmocka_unit_test(cycle__stages_offline_then_copies_only_what_the_medium_lacks),
        cmocka_unit_test(cycle__credential_writes_without_a_passphrase),
        cmocka_unit_test(cycle__credential_medium_is_staged),
        cmocka_unit_test(cycle__puts_the_windows_viewer_on_the_medium),
        cmocka_unit_test(cycle__structural_drill_runs_when_due),
        cmocka_unit_test(cycle__structural_drill_due_by_age),
        cmocka_unit_test(cycle__structural_drill_fails_on_a_damaged_medium),
        cmocka_unit_test(cycle__structural_drill_of_a_write_only_medium),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
