/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the configuration module (config/config.h): the shipped example and a file using
 * every key load with the values written; every kind of problem is reported with its
 * file:line and key, all of them in one load; edge cases of the file (empty, BOM, CRLF,
 * indentation, duplicate sections and keys, lines too long, NUL bytes, missing, a folder,
 * unreadable, too large, too many problems); the value parsers; weekday and GFS rotation over
 * decades of dates against a naive day-by-day reference; allocation failure at every
 * allocation of a load, with nothing leaked.
 */
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
#include "config/config.h"

#define EXAMPLE MM_SOURCE_ROOT "/etc/mamori.conf.example"

static char tmpdir[256];
static char oldcwd[1024];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "%s", "/tmp/mm-config-XXXXXX");
    if (!mkdtemp(tmpdir) || !getcwd(oldcwd, sizeof(oldcwd)) || chdir(tmpdir) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (chdir(oldcwd) != 0)
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' && rm -rf '%s'", tmpdir, tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write @n bytes of @text to file @name in the test's folder. */
static void put(const char *name, const char *text, size_t n)
{
    FILE *f = fopen(name, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void puts_file(const char *name, const char *text)
{
    put(name, text, strlen(text));
}

/* A valid file's sections, to which each case adds or changes a little. */
#define HOSPITAL "[hospital]\nid = H1\n"
#define SOURCE   "[source \"s\"]\nkind = folder\npath = /srv/s\n"
#define WEEK     "[medium \"A\"]\ndays = mon-sun\npath = /mnt/a\n"
#define VALID    HOSPITAL SOURCE WEEK

/* Load @text (as file t.conf); expect @want_err. OUT: problems. */
static int load_text(const char *text, mm_config **cfg, struct mm_config_errors *errs)
{
    puts_file("t.conf", text);
    mm_config_errors_init(errs);
    return mm_config_load_errors("t.conf", cfg, errs);
}

/* Whether @errs holds exactly @msg. */
static int has(const struct mm_config_errors *errs, const char *msg)
{
    for (size_t i = 0; i < errs->count; i++)
        if (strcmp(errs->msgs[i], msg) == 0)
            return 1;
    return 0;
}

static void print_errs(const struct mm_config_errors *errs)
{
    for (size_t i = 0; i < errs->count; i++)
        print_message("  problem: %s\n", errs->msgs[i]);
}

/* @text must fail to load with @msg among its problems. */
static void expect_problem(const char *text, const char *msg)
{
    struct mm_config_errors errs;
    mm_config *cfg = NULL;
    int err = load_text(text, &cfg, &errs);

    if (err != MM_EINVAL || !has(&errs, msg)) {
        print_message("wanted: %s\n", msg);
        print_errs(&errs);
    }
    assert_int_equal(err, MM_EINVAL);
    assert_null(cfg);
    assert_true(has(&errs, msg));
    mm_config_errors_release(&errs);
}

/* @text must load. */
static mm_config *expect_valid(const char *text)
{
    struct mm_config_errors errs;
    mm_config *cfg = NULL;
    int err = load_text(text, &cfg, &errs);

    if (err)
        print_errs(&errs);
    assert_int_equal(err, 0);
    assert_int_equal(errs.count, 0);
    assert_non_null(cfg);
    mm_config_errors_release(&errs);
    return cfg;
}

static struct mm_config_date date(int y, int m, int d)
{
    struct mm_config_date r = { y, m, d };
    return r;
}

/* ---- good files ------------------------------------------------------------------------ */

static void load__example(void **state)
{
    mm_config *cfg = NULL;
    struct mm_config_due due[2];

    (void)state;
    assert_int_equal(mm_config_load(EXAMPLE, &cfg), 0);
    assert_string_equal(mm_config_hospital(cfg)->id, "1310000001");
    assert_int_equal(mm_config_source_count(cfg), 3);
    assert_int_equal(mm_config_medium_count(cfg), 6);
    assert_non_null(mm_config_hooks(cfg)->attach.path);
    assert_int_equal(mm_config_medium_for(cfg, date(2026, 12, 13), due), 0); /* a Sunday */
    assert_string_equal(due[0].medium->label, "WEEKEND");
    assert_string_equal(due[1].medium->label, "MON");
    mm_config_free(cfg);
}

static void load__every_key(void **state)
{
    mm_config *cfg = expect_valid("[hospital]\n"
                                  "id = 1310000001\n"
                                  "name = まもり病院 ; a comment\n"
                                  "[service]\n"
                                  "user = mamori-svc\n"
                                  "state_dir = /var/lib/m\n"
                                  "full_drill_interval = 2w\n"
                                  "structural_drill_interval = 3d\n"
                                  "passphrase_file = /etc/mamori/pass\n"
                                  "[source \"ssmix2\"]\n"
                                  "kind = ssmix2\n"
                                  "path = /srv/ss\n"
                                  "extended = /srv/ext\n"
                                  "schedule = mon-fri 22:00-04:00\n"
                                  "rpo = 1d12h\n"
                                  "enabled = no\n"
                                  "[media]\n"
                                  "rotation = gfs\n"
                                  "staging = /var/stage\n"
                                  "staging_expiry = 10d\n"
                                  "weekly_day = Sunday\n"
                                  "keep_min_age = 7d\n"
                                  "keep_min_clean = 2\n"
                                  "[medium \"D1\"]\n"
                                  "role = daily\n"
                                  "keep = 5\n"
                                  "keep_age = 30d\n"
                                  "path = /mnt/d1\n"
                                  "fs_uuid = 1a2b-3C4D\n"
                                  "fs_label = まもり1\n"
                                  "[medium \"W1\"]\n"
                                  "role = weekly\n"
                                  "path = /mnt/w1\n"
                                  "[medium \"M1\"]\n"
                                  "role = monthly\n"
                                  "path = /mnt/m1\n"
                                  "[hooks]\n"
                                  "attach = /etc/mamori/hooks/a\n"
                                  "attach_timeout = 90s\n"
                                  "detach = /etc/mamori/hooks/d\n"
                                  "detach_timeout = 3m\n"
                                  "alert = /etc/mamori/hooks/al\n"
                                  "alert_timeout = 1h\n");
    const struct mm_config_source *s = mm_config_source_at(cfg, 0);
    const struct mm_config_medium *m = mm_config_medium_find(cfg, "d1");
    const struct mm_config_media *md = mm_config_media(cfg);
    const struct mm_config_hooks *h = mm_config_hooks(cfg);

    (void)state;
    assert_string_equal(mm_config_hospital(cfg)->name, "まもり病院");
    assert_string_equal(mm_config_service(cfg)->user, "mamori-svc");
    assert_string_equal(mm_config_service(cfg)->state_dir, "/var/lib/m");
    assert_int_equal(mm_config_service(cfg)->full_drill_interval, 14 * 86400);
    assert_int_equal(mm_config_service(cfg)->structural_drill_interval, 3 * 86400);
    assert_string_equal(mm_config_service(cfg)->passphrase_file, "/etc/mamori/pass");
    assert_string_equal(s->name, "ssmix2");
    assert_int_equal(s->kind, MM_CONFIG_SOURCE_SSMIX2);
    assert_string_equal(s->extended, "/srv/ext");
    assert_int_equal(s->schedule.days, 0x3e);
    assert_int_equal(s->schedule.start, 22 * 60);
    assert_int_equal(s->schedule.end, 4 * 60);
    assert_int_equal(s->rpo, 36 * 3600);
    assert_int_equal(s->enabled, 0);
    assert_int_equal(md->rotation, MM_CONFIG_ROTATION_GFS);
    assert_string_equal(md->staging, "/var/stage");
    assert_int_equal(md->staging_expiry, 10 * 86400);
    assert_int_equal(md->weekly_day, 0);
    assert_int_equal(md->keep_min_age, 7 * 86400);
    assert_int_equal(md->keep_min_clean, 2);
    assert_non_null(m);
    assert_int_equal(m->role, MM_CONFIG_ROLE_DAILY);
    assert_int_equal(m->keep, 5);
    assert_int_equal(m->keep_age, 30 * 86400);
    assert_string_equal(m->fs_uuid, "1a2b-3C4D");
    assert_string_equal(m->fs_label, "まもり1");
    assert_string_equal(h->attach.path, "/etc/mamori/hooks/a");
    assert_int_equal(h->attach.timeout, 90);
    assert_int_equal(h->detach.timeout, 180);
    assert_int_equal(h->alert.timeout, 3600);
    assert_null(mm_config_medium_find(cfg, "nope"));
    mm_config_free(cfg);
}

static void load__defaults(void **state)
{
    mm_config *cfg = expect_valid(VALID);
    const struct mm_config_source *s = mm_config_source_at(cfg, 0);

    (void)state;
    assert_null(mm_config_hospital(cfg)->name);
    assert_string_equal(mm_config_service(cfg)->user, "mamori");
    assert_int_equal(s->enabled, 1);
    assert_int_equal(s->schedule.days, MM_CONFIG_ALL_DAYS);
    assert_int_equal(s->schedule.start, -1);
    assert_int_equal(s->rpo, 26 * 3600);
    assert_null(s->extended);
    assert_int_equal(mm_config_media(cfg)->rotation, MM_CONFIG_ROTATION_WEEKDAY);
    assert_int_equal(mm_config_media(cfg)->staging_expiry, 14 * 86400);
    assert_int_equal(mm_config_media(cfg)->keep_min_clean, 3);
    assert_null(mm_config_hooks(cfg)->attach.path);
    assert_int_equal(mm_config_hooks(cfg)->attach.timeout, 300);
    assert_string_equal(mm_config_path(cfg), "t.conf");
    mm_config_free(cfg);
}

/* [service] structural_drill_interval: 7 days by default, 0 (or "0d") every window, any
 * other duration; a word or a negative number refused with the line. */
static void values__structural_drill_interval(void **state)
{
    mm_config *cfg = expect_valid(VALID);

    (void)state;
    assert_int_equal(mm_config_service(cfg)->structural_drill_interval, 7 * 86400);
    mm_config_free(cfg);
    cfg = expect_valid("[service]\nstructural_drill_interval = 0\n" VALID);
    assert_int_equal(mm_config_service(cfg)->structural_drill_interval, 0);
    mm_config_free(cfg);
    cfg = expect_valid("[service]\nstructural_drill_interval = 0d\n" VALID);
    assert_int_equal(mm_config_service(cfg)->structural_drill_interval, 0);
    mm_config_free(cfg);
    cfg = expect_valid("[service]\nstructural_drill_interval = 1d12h\n" VALID);
    assert_int_equal(mm_config_service(cfg)->structural_drill_interval, 36 * 3600);
    assert_int_equal(mm_config_service(cfg)->full_drill_interval, 30 * 86400);
    mm_config_free(cfg);
    expect_problem("[service]\nstructural_drill_interval = weekly\n" VALID,
                   "t.conf:2: key 'structural_drill_interval': 'weekly' is not a duration (like "
                   "0, 90m, 24h, 2d, 1w)");
    expect_problem("[service]\nstructural_drill_interval = -1d\n" VALID,
                   "t.conf:2: key 'structural_drill_interval': '-1d' is not a duration (like "
                   "0, 90m, 24h, 2d, 1w)");
}

/* [vault]: absent by default; url, credentials, retain (30 days by default) and lock_mode;
 * bad values refused with the line. */
static void values__vault(void **state)
{
    mm_config *cfg = expect_valid(VALID);
    const struct mm_config_vault *v = mm_config_vault(cfg);

    (void)state;
    assert_null(v->url);
    assert_null(v->credentials);
    assert_int_equal(v->retain, 30 * 86400);
    assert_int_equal(v->governance, 0);
    mm_config_free(cfg);
    cfg = expect_valid(VALID "[vault]\nurl = s3://127.0.0.1:7480/vault/hospital-a\n"
                             "credentials = /etc/mamori/s3-credentials\nretain = 90d\n"
                             "lock_mode = governance\n");
    v = mm_config_vault(cfg);
    assert_string_equal(v->url, "s3://127.0.0.1:7480/vault/hospital-a");
    assert_string_equal(v->credentials, "/etc/mamori/s3-credentials");
    assert_int_equal(v->retain, 90 * 86400);
    assert_int_equal(v->governance, 1);
    mm_config_free(cfg);
    expect_problem(VALID "[vault]\nurl = https://s3.example.jp/vault\n",
                   "t.conf:10: key 'url': 'https://s3.example.jp/vault' is not an S3 URL "
                   "(s3://host[:port]/bucket[/prefix])");
    expect_problem(VALID "[vault]\nurl = s3://ak:sk@s3.example.jp/vault\n",
                   "t.conf:10: key 'url': 's3://ak:sk@s3.example.jp/vault' is not an S3 URL "
                   "(s3://host[:port]/bucket[/prefix])");
    expect_problem(VALID "[vault]\nurl = s3://s3.example.jp\n",
                   "t.conf:10: key 'url': 's3://s3.example.jp' is not an S3 URL "
                   "(s3://host[:port]/bucket[/prefix])");
    expect_problem(VALID "[vault]\nretain = 7d\n", "t.conf:9: section [vault] has no key 'url'");
    expect_problem(VALID "[vault]\nurl = s3://h/b\nlock_mode = legal-hold\n",
                   "t.conf:11: key 'lock_mode': 'legal-hold' is not compliance or governance");
    expect_problem(VALID "[vault]\nurl = s3://h/b\ncredentials = s3cred\n",
                   "t.conf:11: key 'credentials': 's3cred' is not an absolute path");
}

/* The guard's keys: defaults (on, learned, no canary), percentages, and bad values refused. */
static void values__guard_keys(void **state)
{
    mm_config *cfg = expect_valid(VALID "[source \"b\"]\nkind = folder\npath = /x\n"
                                        "guard = off\nguard_max_modified = 5%\n"
                                        "guard_max_deleted = 0.5%\nguard_max_added = 100%\n"
                                        "guard_canary = yes\n");
    const struct mm_config_source *a = mm_config_source_at(cfg, 0);
    const struct mm_config_source *b = mm_config_source_at(cfg, 1);

    (void)state;
    assert_int_equal(a->guard, 1);
    assert_true(a->guard_max_modified < 0 && a->guard_max_deleted < 0 && a->guard_max_added < 0);
    assert_int_equal(a->guard_canary, 0);
    assert_int_equal(b->guard, 0);
    assert_true(b->guard_max_modified > 0.0499 && b->guard_max_modified < 0.0501);
    assert_true(b->guard_max_deleted > 0.00499 && b->guard_max_deleted < 0.00501);
    assert_true(b->guard_max_added > 0.9999 && b->guard_max_added < 1.0001);
    assert_int_equal(b->guard_canary, 1);
    mm_config_free(cfg);
    cfg = expect_valid(VALID "[source \"b\"]\nkind = folder\npath = /x\nguard = on\n"
                             "guard_max_deleted = 0%\nguard_max_added = 0.0001%\n");
    b = mm_config_source_at(cfg, 1);
    assert_int_equal(b->guard, 1);
    assert_true(b->guard_max_deleted == 0.0);
    assert_true(b->guard_max_added > 0 && b->guard_max_added < 0.0000011);
    mm_config_free(cfg);
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nguard_max_deleted = 0.5\n",
                   "t.conf:12: key 'guard_max_deleted': '0.5' is not a percentage from 0% to "
                   "100% (like 5% or 0.5%)");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nguard_max_modified = 101%\n",
                   "t.conf:12: key 'guard_max_modified': '101%' is not a percentage from 0% to "
                   "100% (like 5% or 0.5%)");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nguard_max_added = -1%\n",
                   "t.conf:12: key 'guard_max_added': '-1%' is not a percentage from 0% to "
                   "100% (like 5% or 0.5%)");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nguard_max_added = 5%%\n",
                   "t.conf:12: key 'guard_max_added': '5%%' is not a percentage from 0% to "
                   "100% (like 5% or 0.5%)");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nguard_max_added = .5%\n",
                   "t.conf:12: key 'guard_max_added': '.5%' is not a percentage from 0% to "
                   "100% (like 5% or 0.5%)");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nguard_max_added = 100.5%\n",
                   "t.conf:12: key 'guard_max_added': '100.5%' is not a percentage from 0% to "
                   "100% (like 5% or 0.5%)");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nguard = sometimes\n",
                   "t.conf:12: key 'guard': 'sometimes' is not yes or no");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nguard_canary = 2\n",
                   "t.conf:12: key 'guard_canary': '2' is not yes or no");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nguard = on\nguard = off\n",
                   "t.conf:13: key 'guard': given twice (first on line 12)");
}

/* BOM, CRLF, indentation, tabs, comments of both kinds and blank lines are all fine. */
static void load__bom_crlf_indent(void **state)
{
    mm_config *cfg = expect_valid("\xef\xbb\xbf# comment\r\n"
                                  "; another\r\n"
                                  "\r\n"
                                  "  [ hospital ]  \r\n"
                                  "\tid = H1\r\n"
                                  "    name = x   \r\n"
                                  "[source \"s\"]\r\n"
                                  "  kind = folder\r\n"
                                  "  path = /srv/s\r\n" WEEK);

    (void)state;
    assert_string_equal(mm_config_hospital(cfg)->id, "H1");
    assert_string_equal(mm_config_hospital(cfg)->name, "x");
    assert_string_equal(mm_config_source_at(cfg, 0)->path, "/srv/s");
    mm_config_free(cfg);
}

/* A last line without a newline, and a value with '#' and ';' not after a blank. */
static void load__no_final_newline(void **state)
{
    mm_config *cfg = expect_valid(SOURCE WEEK "[hospital]\nname = a#b;c\nid = H1");

    (void)state;
    assert_string_equal(mm_config_hospital(cfg)->id, "H1");
    assert_string_equal(mm_config_hospital(cfg)->name, "a#b;c");
    mm_config_free(cfg);
}

/* The same from memory: @name stands for the file; the text need not end in a NUL. */
static void load__from_memory(void **state)
{
    static const char text[] = VALID "[hooks]\nalert = /a\nrpo = x";
    struct mm_config_errors errs;
    mm_config *cfg = NULL;

    (void)state;
    assert_int_equal(mm_config_parse("mem.conf", text, strlen(VALID) + 19, &cfg, NULL), 0);
    assert_string_equal(mm_config_hooks(cfg)->alert.path, "/a");
    assert_string_equal(mm_config_path(cfg), "mem.conf");
    mm_config_free(cfg);
    mm_config_errors_init(&errs);
    assert_int_equal(mm_config_parse("mem.conf", text, sizeof(text) - 1, &cfg, &errs), MM_EINVAL);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.msgs[0], "mem.conf:11: key 'rpo': not a key of section [hooks]");
    mm_config_errors_release(&errs);
}

/* ---- problems ---------------------------------------------------------------------------- */

static void problems__values(void **state)
{
    (void)state;
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nrpo = 25x\n",
                   "t.conf:12: key 'rpo': '25x' is not a duration (like 90m, 24h, 2d, 1w)");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nrpo = 0d\n",
                   "t.conf:12: key 'rpo': '0d' must be longer than zero");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nrpo = 24\n",
                   "t.conf:12: key 'rpo': '24' is not a duration (like 90m, 24h, 2d, 1w)");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nrpo = 99999w\n",
                   "t.conf:12: key 'rpo': '99999w' is not a duration (like 90m, 24h, 2d, 1w)");
    expect_problem(VALID "[source \"b\"]\nkind = tape\npath = /x\n",
                   "t.conf:10: key 'kind': 'tape' is not ssmix2 or folder");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = x/y\n",
                   "t.conf:11: key 'path': 'x/y' is not an absolute path");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x/../etc\n",
                   "t.conf:11: key 'path': '/x/../etc' is not an absolute path");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /..\n",
                   "t.conf:11: key 'path': '/..' is not an absolute path");
    mm_config_free(expect_valid(VALID "[source \"b\"]\nkind = folder\npath = /\n"));
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nenabled = maybe\n",
                   "t.conf:12: key 'enabled': 'maybe' is not yes or no");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nschedule = funday\n",
                   "t.conf:12: key 'schedule': 'funday' is not a schedule (like daily, mon-fri, "
                   "daily 01:00-05:00)");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nschedule = mon 01:00-01:00\n",
                   "t.conf:12: key 'schedule': 'mon 01:00-01:00' is not a schedule (like daily, "
                   "mon-fri, daily 01:00-05:00)");
    expect_problem(VALID "[source \"b\"]\nkind = folder\npath = /x\nextended = /e\n",
                   "t.conf:12: key 'extended': only a source of kind ssmix2 has an extended "
                   "storage");
    expect_problem(VALID "[media]\nrotation = monthly\n",
                   "t.conf:10: key 'rotation': 'monthly' is not weekday or gfs");
    expect_problem(VALID "[media]\nweekly_day = someday\n",
                   "t.conf:10: key 'weekly_day': 'someday' is not a weekday (sun, mon, ... sat)");
    expect_problem(VALID "[media]\nkeep_min_clean = -1\n",
                   "t.conf:10: key 'keep_min_clean': '-1' is not a number from 1 to 100000");
    expect_problem(HOSPITAL SOURCE "[medium \"A\"]\ndays = mon-sun,xyz\npath = /m\n",
                   "t.conf:7: key 'days': 'mon-sun,xyz' is not a list of weekdays (like "
                   "mon,wed-fri)");
    expect_problem(VALID "[hospital]\n",
                   "t.conf:9: section [hospital] given twice (first on line 1)");
    expect_problem("[hospital]\nid = bad id\n" SOURCE WEEK,
                   "t.conf:2: key 'id': 'bad id' is not an id (1 to 32 of A-Z a-z 0-9 _ - .)");
    expect_problem("[hospital]\nid = H\nname = \x01\n" SOURCE WEEK,
                   "t.conf:3: key 'name': the value holds control characters or is not UTF-8");
    expect_problem("[hospital]\nid = H\nname = \xff\xfe\n" SOURCE WEEK,
                   "t.conf:3: key 'name': the value holds control characters or is not UTF-8");
    expect_problem("[hospital]\nid = H\nname =\n" SOURCE WEEK,
                   "t.conf:3: key 'name': the value is empty");
    expect_problem(HOSPITAL SOURCE WEEK "fs_uuid = zz\n",
                   "t.conf:9: key 'fs_uuid': 'zz' is not a filesystem UUID (like 1A2B-3C4D)");
    expect_problem(HOSPITAL SOURCE WEEK "fs_label = 123456789012345678901234567890123\n",
                   "t.conf:9: key 'fs_label': '123456789012345678901234567890123' is longer "
                   "than 32 bytes");
    expect_problem(HOSPITAL SOURCE WEEK "keep = 2\n",
                   "t.conf:9: key 'keep': 2 is below keep_min_clean = 3 of [media]");
    expect_problem(HOSPITAL SOURCE WEEK "keep_age = 7d\n",
                   "t.conf:9: key 'keep_age': 7d is below keep_min_age = 28d of [media]");
    expect_problem(VALID "[hooks]\nattach = hooks/attach\n",
                   "t.conf:10: key 'attach': 'hooks/attach' is not an absolute path");
    expect_problem(VALID "[hooks]\ndetach_timeout = soon\n",
                   "t.conf:10: key 'detach_timeout': 'soon' is not a duration (like 90m, 24h, "
                   "2d, 1w)");
    expect_problem(VALID "[service]\npassphrase_file = pass.txt\n",
                   "t.conf:10: key 'passphrase_file': 'pass.txt' is not an absolute path");
    expect_problem(VALID "[service]\nuser = bad user\n",
                   "t.conf:10: key 'user': 'bad user' is not a user name");
}

static void problems__structure(void **state)
{
    (void)state;
    expect_problem("id = H1\n" VALID, "t.conf:1: key 'id': outside any section");
    expect_problem(VALID "[hospital\n", "t.conf:9: a section header ends with ']'");
    expect_problem(VALID "[bogus]\nx = 1\n", "t.conf:9: unknown section [bogus]");
    expect_problem(VALID "[source]\n",
                   "t.conf:9: section [source] needs a name: [source \"NAME\"]");
    expect_problem(VALID "[media \"x\"]\n", "t.conf:9: section [media] takes no name");
    expect_problem(VALID "[medium \"B]\n",
                   "t.conf:9: section [medium \"B]: the name must be in double quotes");
    expect_problem(VALID "[medium \"a b\"]\n",
                   "t.conf:9: section [medium]: 'a b' is not a name (1 to 32 of A-Z a-z 0-9 _ -)");
    expect_problem(VALID "[medium \"a.b\"]\n",
                   "t.conf:9: section [medium]: 'a.b' is not a name (1 to 32 of A-Z a-z 0-9 _ -)");
    expect_problem(VALID "[medium \"a\"]\n", "t.conf:9: section [medium \"a\"] given twice (first "
                                             "on line 6)");
    expect_problem(VALID "[source \"s\"]\n",
                   "t.conf:9: section [source \"s\"] given twice (first on line 3)");
    expect_problem(VALID "[hospital]\n", "t.conf:9: section [hospital] given twice (first on "
                                         "line 1)");
    expect_problem(HOSPITAL "name = a\nname = b\n" SOURCE WEEK,
                   "t.conf:4: key 'name': given twice (first on line 3)");
    expect_problem(VALID "just words\n", "t.conf:9: expected 'key = value' or '[section]'");
    expect_problem(VALID "= 1\n", "t.conf:9: expected 'key = value' or '[section]'");
    expect_problem(HOSPITAL "colour = red\n" SOURCE WEEK,
                   "t.conf:3: key 'colour': not a key of section [hospital]");
    expect_problem(HOSPITAL "ID = x\n" SOURCE WEEK,
                   "t.conf:3: key 'ID': not a key of section [hospital]");
    /* keys after a bad header are not reported a second time */
    expect_problem(VALID "[bogus]\nx = 1\n[hospital\ny = 2\n",
                   "t.conf:11: a section header ends with ']'");
}

static void problems__required(void **state)
{
    (void)state;
    expect_problem(SOURCE WEEK, "t.conf: section [hospital] is missing");
    expect_problem("[hospital]\nname = x\n" SOURCE WEEK,
                   "t.conf:1: section [hospital] has no key 'id'");
    expect_problem(HOSPITAL WEEK, "t.conf: no [source \"NAME\"] section: nothing to back up");
    expect_problem(HOSPITAL SOURCE, "t.conf: no [medium \"LABEL\"] section: nowhere to back up to");
    expect_problem(HOSPITAL WEEK "[source \"x\"]\npath = /x\n",
                   "t.conf:6: section [source \"x\"] has no key 'kind' (ssmix2 or folder)");
    expect_problem(HOSPITAL WEEK "[source \"x\"]\nkind = folder\n",
                   "t.conf:6: section [source \"x\"] has no key 'path'");
    expect_problem(HOSPITAL SOURCE "[medium \"A\"]\ndays = daily\n",
                   "t.conf:6: section [medium \"A\"] has no key 'path'");
    expect_problem(HOSPITAL SOURCE "[medium \"A\"]\npath = /m\n",
                   "t.conf:6: section [medium \"A\"] has no key 'days' (rotation = weekday)");
}

static void problems__rotation(void **state)
{
    (void)state;
    expect_problem(HOSPITAL SOURCE "[medium \"A\"]\ndays = mon-fri\npath = /m\n",
                   "t.conf: weekday 'sat' is served by no medium (rotation = weekday)");
    expect_problem(HOSPITAL SOURCE "[medium \"A\"]\ndays = mon-fri\npath = /m\n",
                   "t.conf: weekday 'sun' is served by no medium (rotation = weekday)");
    expect_problem(VALID "[medium \"B\"]\ndays = fri-sat\npath = /m\n",
                   "t.conf:10: key 'days': weekday 'fri' is served by both 'A' and 'B'");
    expect_problem(VALID "[medium \"B\"]\ndays = fri-sat\npath = /m\n",
                   "t.conf:10: key 'days': weekday 'sat' is served by both 'A' and 'B'");
    expect_problem(VALID "role = daily\n", "t.conf:9: key 'role': only for rotation = gfs");
    expect_problem(HOSPITAL SOURCE "[media]\nrotation = gfs\n[medium \"A\"]\nrole = weekly\n"
                                   "path = /m\ndays = mon\n",
                   "t.conf:11: key 'days': only for rotation = weekday");
    expect_problem(HOSPITAL SOURCE "[media]\nrotation = gfs\n[medium \"A\"]\nrole = weekly\n"
                                   "path = /m\n",
                   "t.conf: rotation = gfs needs a medium with role = daily");
    expect_problem(HOSPITAL SOURCE "[media]\nrotation = gfs\n[medium \"A\"]\nrole = daily\n"
                                   "path = /m\n",
                   "t.conf: rotation = gfs needs a medium with role = weekly");
    expect_problem(HOSPITAL SOURCE "[media]\nrotation = gfs\n[medium \"A\"]\npath = /m\n",
                   "t.conf:8: section [medium \"A\"] has no key 'role' (rotation = gfs)");
    expect_problem(HOSPITAL SOURCE "[media]\nrotation = gfs\n[medium \"A\"]\nrole = son\n"
                                   "path = /m\n",
                   "t.conf:9: key 'role': 'son' is not daily, weekly or monthly");
}

/* All problems of a file come in one load, in line order, file-wide ones last. */
static void problems__all_collected(void **state)
{
    struct mm_config_errors errs;
    mm_config *cfg = NULL;

    (void)state;
    assert_int_equal(load_text("[hospital]\n"
                               "id = a b\n"
                               "x = 1\n"
                               "[source \"s\"]\n"
                               "kind = tape\n"
                               "rpo = 25x\n"
                               "[medium \"A\"]\n"
                               "days = mon\n"
                               "path = rel\n",
                               &cfg, &errs),
                     MM_EINVAL);
    assert_null(cfg);
    assert_int_equal(errs.count, 12); /* 5 values, the missing path, 6 missing weekdays */
    assert_string_equal(errs.msgs[0],
                        "t.conf:2: key 'id': 'a b' is not an id (1 to 32 of A-Z a-z 0-9 _ - .)");
    assert_string_equal(errs.msgs[1], "t.conf:3: key 'x': not a key of section [hospital]");
    assert_string_equal(errs.msgs[2], "t.conf:4: section [source \"s\"] has no key 'path'");
    assert_string_equal(errs.msgs[3], "t.conf:5: key 'kind': 'tape' is not ssmix2 or folder");
    assert_string_equal(errs.msgs[5], "t.conf:9: key 'path': 'rel' is not an absolute path");
    assert_string_equal(errs.msgs[6],
                        "t.conf: weekday 'sun' is served by no medium (rotation = weekday)");
    /* the thread's message is the first problem and how many more */
    assert_string_equal(mm_error_last(), "t.conf:2: key 'id': 'a b' is not an id (1 to 32 of "
                                         "A-Z a-z 0-9 _ - .) (and 11 more)");
    mm_config_errors_release(&errs);
}

static void problems__too_many(void **state)
{
    struct mm_config_errors errs;
    mm_config *cfg = NULL;
    char *text = malloc(200 * 16 + 64);
    size_t n = 0;

    (void)state;
    assert_non_null(text);
    n += (size_t)snprintf(text, 64, "%s", "[hospital]\nid = H\n");
    for (int i = 0; i < 150; i++)
        n += (size_t)snprintf(text + n, 16, "k%d = 1\n", i);
    assert_int_equal(load_text(text, &cfg, &errs), MM_EINVAL);
    assert_int_equal(errs.count, MM_CONFIG_MAX_ERRORS);
    assert_int_equal(errs.dropped, 150 + 2 - MM_CONFIG_MAX_ERRORS); /* + no source, no medium */
    mm_config_errors_release(&errs);
    free(text);
}

/* ---- the file as a whole ------------------------------------------------------------------ */

static void file__empty(void **state)
{
    struct mm_config_errors errs;
    mm_config *cfg = NULL;

    (void)state;
    assert_int_equal(load_text("", &cfg, &errs), MM_EINVAL);
    assert_int_equal(errs.count, 3);
    assert_true(has(&errs, "t.conf: section [hospital] is missing"));
    mm_config_errors_release(&errs);
    /* only comments and a BOM is the same */
    assert_int_equal(load_text("\xef\xbb\xbf; nothing\n\n", &cfg, &errs), MM_EINVAL);
    assert_int_equal(errs.count, 3);
    mm_config_errors_release(&errs);
}

static void file__long_line(void **state)
{
    char text[2048], path[400]; /* room for VALID and three paths: no truncation */

    (void)state;
    memset(path, 'a', sizeof(path));
    path[0] = '/';
    path[300] = '\0';
    snprintf(text, sizeof(text), VALID "[hooks]\nattach = %s\n", path);
    expect_problem(text, "t.conf:10: the line is longer than 199 bytes");
    /* a key line of exactly 199 bytes is fine; a long comment too */
    path[199 - strlen("attach = ")] = '\0';
    snprintf(text, sizeof(text), VALID "# %s%s\n[hooks]\nattach = %s\n", path, path, path);
    mm_config_free(expect_valid(text));
    /* a very long file of long lines: each reported, nothing crashes */
    char *big = malloc(200000);
    assert_non_null(big);
    memset(big, 'x', 199999);
    big[199999] = '\0';
    expect_problem(big, "t.conf:1: the line is longer than 199 bytes");
    free(big);
}

static void file__nul_byte(void **state)
{
    struct mm_config_errors errs;
    mm_config *cfg = NULL;
    static const char text[] = HOSPITAL "name = a\0b\n" SOURCE WEEK;

    (void)state;
    put("t.conf", text, sizeof(text) - 1);
    mm_config_errors_init(&errs);
    assert_int_equal(mm_config_load_errors("t.conf", &cfg, &errs), MM_EINVAL);
    assert_true(has(&errs, "t.conf:3: the line holds a NUL byte"));
    mm_config_errors_release(&errs);
}

static void file__missing_unreadable(void **state)
{
    struct mm_config_errors errs;
    mm_config *cfg = NULL;

    (void)state;
    mm_config_errors_init(&errs);
    assert_int_equal(mm_config_load_errors("nope.conf", &cfg, &errs), MM_ENOTFOUND);
    assert_null(cfg);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.msgs[0],
                        "nope.conf: cannot open the configuration file: No such file or directory");
    assert_string_equal(mm_error_last(),
                        "cannot open configuration file 'nope.conf': No such file or directory");
    mm_config_errors_release(&errs);
    assert_int_equal(mkdir("dir.conf", 0700), 0);
    assert_int_equal(mm_config_load("dir.conf", &cfg), MM_EIO);
    assert_string_equal(mm_error_last(),
                        "cannot read configuration file 'dir.conf': Is a directory");
    puts_file("locked.conf", VALID);
    assert_int_equal(chmod("locked.conf", 0), 0);
    if (geteuid() != 0) { /* root reads it anyway */
        assert_int_equal(mm_config_load("locked.conf", &cfg), MM_EIO);
        assert_null(cfg);
    }
    /* too large */
    char *big = malloc(MM_CONFIG_MAX_SIZE + 2);
    assert_non_null(big);
    memset(big, '\n', MM_CONFIG_MAX_SIZE + 1);
    put("big.conf", big, MM_CONFIG_MAX_SIZE + 1);
    free(big);
    assert_int_equal(mm_config_load("big.conf", &cfg), MM_ELIMIT);
    assert_null(cfg);
}

/* ---- values ------------------------------------------------------------------------------ */

static void values__durations(void **state)
{
    int64_t s;
    char buf[32];

    (void)state;
    assert_int_equal(mm_config_duration_parse("90m", &s), 0);
    assert_int_equal(s, 5400);
    assert_int_equal(mm_config_duration_parse("1w2d3h4m5s", &s), 0);
    assert_int_equal(s, 9 * 86400 + 3 * 3600 + 4 * 60 + 5);
    assert_int_equal(mm_config_duration_parse("3660d", &s), 0);
    assert_int_equal(mm_config_duration_parse("3661d", &s), MM_EINVAL);
    assert_int_equal(mm_config_duration_parse("1000000000s", &s), MM_EINVAL);
    assert_int_equal(mm_config_duration_parse("", &s), MM_EINVAL);
    assert_int_equal(mm_config_duration_parse("h", &s), MM_EINVAL);
    assert_int_equal(mm_config_duration_parse("1 h", &s), MM_EINVAL);
    assert_int_equal(mm_config_duration_parse("-1h", &s), MM_EINVAL);
    assert_int_equal(mm_config_duration_parse("1H", &s), MM_EINVAL);
    assert_string_equal(mm_config_duration_str(26 * 3600, buf, sizeof(buf)), "26h");
    assert_string_equal(mm_config_duration_str(2 * 86400, buf, sizeof(buf)), "2d");
    assert_string_equal(mm_config_duration_str(86400 + 61, buf, sizeof(buf)), "1d1m1s");
    assert_string_equal(mm_config_duration_str(0, buf, sizeof(buf)), "0s");
}

static void values__schedule_due(void **state)
{
    mm_config *cfg = expect_valid(VALID "[source \"n\"]\nkind = folder\npath = /n\n"
                                        "schedule = fri 22:00-04:00\n"
                                        "[source \"d\"]\nkind = folder\npath = /d\n"
                                        "schedule = weekends\n"
                                        "[source \"w\"]\nkind = folder\npath = /w\n"
                                        "schedule = 01:00-05:00\n");
    const struct mm_config_schedule *night = &mm_config_source_at(cfg, 1)->schedule;
    const struct mm_config_schedule *we = &mm_config_source_at(cfg, 2)->schedule;
    const struct mm_config_schedule *w = &mm_config_source_at(cfg, 3)->schedule;
    char buf[64];

    (void)state;
    assert_true(mm_config_schedule_due(night, 5, 23 * 60));  /* Friday 23:00 */
    assert_true(mm_config_schedule_due(night, 6, 3 * 60));   /* Saturday 03:00: Friday's */
    assert_false(mm_config_schedule_due(night, 6, 4 * 60));  /* the window has closed */
    assert_false(mm_config_schedule_due(night, 5, 3 * 60));  /* Friday 03:00: Thursday's */
    assert_false(mm_config_schedule_due(night, 5, 21 * 60)); /* before the window */
    assert_true(mm_config_schedule_due(we, 0, 0));
    assert_true(mm_config_schedule_due(we, 6, 1439));
    assert_false(mm_config_schedule_due(we, 1, 600));
    assert_true(mm_config_schedule_due(w, 3, 60));
    assert_false(mm_config_schedule_due(w, 3, 300));
    assert_string_equal(mm_config_schedule_str(night, buf, sizeof(buf)), "fri 22:00-04:00");
    assert_string_equal(mm_config_schedule_str(we, buf, sizeof(buf)), "sat,sun");
    assert_string_equal(mm_config_schedule_str(w, buf, sizeof(buf)), "daily 01:00-05:00");
    assert_string_equal(mm_config_days_str(0x3e, buf, sizeof(buf)), "mon,tue,wed,thu,fri");
    mm_config_free(cfg);
}

static void values__dates(void **state)
{
    struct mm_config_date d;

    (void)state;
    assert_int_equal(mm_config_date_parse("2024-02-29", &d), 0);
    assert_int_equal(mm_config_date_weekday(d), 4); /* a Thursday */
    assert_int_equal(mm_config_date_parse("2023-02-29", &d), MM_EINVAL);
    assert_int_equal(mm_config_date_parse("1969-12-31", &d), MM_EINVAL);
    assert_int_equal(mm_config_date_parse("2024-1-01", &d), MM_EINVAL);
    assert_int_equal(mm_config_date_parse("2024-13-01", &d), MM_EINVAL);
    assert_int_equal(mm_config_date_parse("2024-12-0x", &d), MM_EINVAL);
    assert_int_equal(mm_config_date_parse("1970-01-01", &d), 0);
    assert_int_equal(mm_config_date_weekday(d), 4);
    d = mm_config_date_add(date(2024, 12, 31), 1);
    assert_int_equal(d.year, 2025);
    assert_int_equal(d.month, 1);
    assert_int_equal(d.day, 1);
    d = mm_config_date_add(date(2100, 3, 1), -1); /* 2100 is not a leap year */
    assert_int_equal(d.month, 2);
    assert_int_equal(d.day, 28);
}

/* ---- rotation ---------------------------------------------------------------------------- */

static void rotation__weekday(void **state)
{
    mm_config *cfg =
            expect_valid(HOSPITAL SOURCE "[medium \"MON\"]\ndays = mon\npath = /m\n"
                                         "[medium \"MIDWEEK\"]\ndays = tue-thu\npath = /m\n"
                                         "[medium \"fri\"]\ndays = friday\npath = /m\n"
                                         "[medium \"WE\"]\ndays = sat,sun\npath = /m\n");
    static const char *const want[7] = {
        "WE", "MON", "MIDWEEK", "MIDWEEK", "MIDWEEK", "fri", "WE"
    };
    struct mm_config_date d = date(1970, 1, 1);
    struct mm_config_due due[2];
    int wd = 4; /* 1970-01-01 was a Thursday */

    (void)state;
    for (int i = 0; i < 40000; i++, wd = (wd + 1) % 7) {
        assert_int_equal(mm_config_medium_for(cfg, d, due), 0);
        assert_int_equal(mm_config_date_weekday(d), wd);
        assert_string_equal(due[0].medium->label, want[wd]);
        assert_string_equal(due[1].medium->label, want[(wd + 1) % 7]);
        assert_int_equal(due[0].rule, MM_CONFIG_ROLE_NONE);
        d = mm_config_date_add(d, 1);
    }
    assert_int_equal(mm_config_medium_for(cfg, date(2026, 2, 30), due), MM_EINVAL);
    assert_int_equal(mm_config_medium_for(cfg, date(1969, 12, 31), due), MM_EINVAL);
    mm_config_free(cfg);
}

static int days_in(int y, int m)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 ? 28 + ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) : dim[m - 1];
}

/*
 * GFS against a naive reference that walks day by day from Monday 1970-01-05 keeping one
 * turn counter per role: the last @wd of a month is monthly (media by month), other @wd days
 * weekly, the rest daily, each role's media taking turns in the file's order.
 */
static void check_gfs(const char *text, int wd, int ndaily, int nweekly, int nmonthly,
                      const char *const *labels)
{
    mm_config *cfg = expect_valid(text);
    struct mm_config_date d = date(1970, 1, 5);
    long turn_daily = 0, turn_weekly = 0;
    int dow = 1;

    for (int i = 0; i < 30000; i++, dow = (dow + 1) % 7) {
        struct mm_config_due due[2];
        const char *want;
        enum mm_config_role rule;

        if (dow == wd && d.day + 7 > days_in(d.year, d.month) && nmonthly) {
            rule = MM_CONFIG_ROLE_MONTHLY;
            want = labels[ndaily + nweekly + (d.month - 1) % nmonthly];
        } else if (dow == wd) {
            rule = MM_CONFIG_ROLE_WEEKLY;
            want = labels[ndaily + turn_weekly++ % nweekly];
        } else {
            rule = MM_CONFIG_ROLE_DAILY;
            want = labels[turn_daily++ % ndaily];
        }
        assert_int_equal(mm_config_medium_for(cfg, d, due), 0);
        if (strcmp(due[0].medium->label, want) != 0 || due[0].rule != rule)
            fail_msg("%04d-%02d-%02d: %s (%d), want %s (%d)", d.year, d.month, d.day,
                     due[0].medium->label, due[0].rule, want, rule);
        d = mm_config_date_add(d, 1);
    }
    mm_config_free(cfg);
}

#define GFS_HEAD HOSPITAL SOURCE "[media]\nrotation = gfs\n"
#define M(l, r)  "[medium \"" l "\"]\nrole = " r "\npath = /m\n"

static void rotation__gfs(void **state)
{
    static const char *const classic[] = { "S1",  "S2",  "S3",  "S4",  "F1",  "F2",  "F3",
                                           "F4",  "G01", "G02", "G03", "G04", "G05", "G06",
                                           "G07", "G08", "G09", "G10", "G11", "G12" };
    static const char *const small[] = { "D1", "D2", "W1", "W2", "W3", "M1", "M2" };
    static const char *const nomonth[] = { "D1", "D2", "D3", "W1" };

    (void)state;
    /* the classic: four sons, four fathers on Fridays, twelve grandfathers (default fri) */
    check_gfs(GFS_HEAD M("S1", "daily") M("S2", "daily") M("F1", "weekly") M("S3", "daily")
                      M("F2", "weekly") M("S4", "daily") M("F3", "weekly") M("F4", "weekly")
                              M("G01", "monthly") M("G02", "monthly") M("G03", "monthly")
                                      M("G04", "monthly") M("G05", "monthly") M("G06", "monthly")
                                              M("G07", "monthly") M("G08", "monthly")
                                                      M("G09", "monthly") M("G10", "monthly")
                                                              M("G11", "monthly")
                                                                      M("G12", "monthly"),
              5, 4, 4, 12, classic);
    /* odd counts, Sunday */
    check_gfs(GFS_HEAD "weekly_day = sun\n" M("D1", "daily") M("D2", "daily") M("W1", "weekly")
                      M("W2", "weekly") M("W3", "weekly") M("M1", "monthly") M("M2", "monthly"),
              0, 2, 3, 2, small);
    /* without monthly media, every weekly day is weekly */
    check_gfs(GFS_HEAD "weekly_day = wed\n" M("D1", "daily") M("D2", "daily") M("D3", "daily")
                      M("W1", "weekly"),
              3, 3, 1, 0, nomonth);
}

/* Six daily media and a Sunday weekly day: each daily medium keeps its weekday for ever. */
static void rotation__gfs_six_sons_fixed_days(void **state)
{
    mm_config *cfg = expect_valid(GFS_HEAD "weekly_day = sun\n" M("MON", "daily") M("TUE", "daily")
                                          M("WED", "daily") M("THU", "daily") M("FRI", "daily")
                                                  M("SAT", "daily") M("SUN", "weekly"));
    static const char *const want[7] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT" };
    struct mm_config_date d = date(2020, 1, 1);
    struct mm_config_due due[2];

    (void)state;
    for (int i = 0; i < 4000; i++) {
        assert_int_equal(mm_config_medium_for(cfg, d, due), 0);
        assert_string_equal(due[0].medium->label, want[mm_config_date_weekday(d)]);
        d = mm_config_date_add(d, 1);
    }
    /* 2026-12-25 is the last Friday... the last Sunday of December 2026 is the 27th */
    assert_int_equal(mm_config_medium_for(cfg, date(2026, 12, 27), due), 0);
    assert_int_equal(due[0].rule, MM_CONFIG_ROLE_WEEKLY); /* no monthly media: weekly */
    assert_string_equal(due[1].medium->label, "MON");
    mm_config_free(cfg);
}

/* ---- allocation failure ------------------------------------------------------------------ */

static void alloc__every_failure(void **state)
{
    mm_config *cfg = NULL;
    int ok = 0;

    (void)state;
    for (long k = 1; k < 2000 && !ok; k++) {
        struct mm_config_errors errs;
        mm_config_errors_init(&errs);
        mm_alloc_track(1);
        mm_alloc_fail_at(k, 0);
        int err = mm_config_load_errors(EXAMPLE, &cfg, &errs);
        mm_alloc_fail_at(0, 0);
        if (err == 0) {
            ok = 1;
            mm_config_free(cfg);
        } else {
            assert_int_equal(err, MM_ENOMEM);
        }
        mm_config_errors_release(&errs);
        assert_int_equal(mm_alloc_live(), 0);
        mm_alloc_track(0);
    }
    assert_true(ok);
    /* and for a file with problems */
    puts_file("bad.conf", "[hospital]\nid = a b\n[bogus]\n[medium \"X\"]\n");
    ok = 0;
    for (long k = 1; k < 2000 && !ok; k++) {
        struct mm_config_errors errs;
        mm_config_errors_init(&errs);
        mm_alloc_track(1);
        mm_alloc_fail_at(k, 0);
        int err = mm_config_load_errors("bad.conf", &cfg, &errs);
        mm_alloc_fail_at(0, 0);
        if (err == MM_EINVAL)
            ok = 1;
        else
            assert_int_equal(err, MM_ENOMEM);
        mm_config_errors_release(&errs);
        assert_int_equal(mm_alloc_live(), 0);
        mm_alloc_track(0);
    }
    assert_true(ok);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        T(load__example),
        T(load__every_key),
        T(load__defaults),
        T(load__bom_crlf_indent),
        T(load__no_final_newline),
        T(load__from_memory),
        T(problems__values),
        T(problems__structure),
        T(problems__required),
        T(problems__rotation),
        T(problems__all_collected),
        T(problems__too_many),
        T(file__empty),
        T(file__long_line),
        T(file__nul_byte),
        T(file__missing_unreadable),
        T(values__durations),
        T(values__guard_keys),
        T(values__vault),
        T(values__structural_drill_interval),
        T(values__schedule_due),
        T(values__dates),
        T(rotation__weekday),
        T(rotation__gfs),
        T(rotation__gfs_six_sons_fixed_days),
        T(alloc__every_failure),
    };
    /* clang-format on */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
