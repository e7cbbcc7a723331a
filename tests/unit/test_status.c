/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the status of all backups (backup/status.h) from hand-written window records: a
 * new line and an old one (without the fields status added) parse, garbage and wrong types
 * do not and are counted without stopping the rest; the judgement of a good week, an RPO
 * breach, a disk missing on its day (a failed window, or none at all), a medium never
 * written, staged data waiting and expired, verify damage and a guard verdict, a paused
 * source, old lines crediting every source; reading the host's files (no state file, a file
 * larger than the tail read, staged files); the JSON shape; the Prometheus exposition
 * (exact lines, label escaping); allocation failure at every allocation of a read. Drill
 * records (backup_drills.c): the round trip, torn and garbage lines rejected, appends; the
 * drill nag (a new installation's grace, a failed or overdue full drill, a failed structural
 * drill on its medium) and its JSON and Prometheus figures.
 */
#include <jansson.h>
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

#include "backup/status.h"
#include "common/alloc.h"
#include "common/error.h"
#include "config/config.h"

static char tmpdir[256];
static mm_config *cfg;

#define G1 "1111111111111111111111111111111111111111111111111111111111111111"
#define G2 "2222222222222222222222222222222222222222222222222222222222222222"
#define G3 "3333333333333333333333333333333333333333333333333333333333333333"

static const struct mm_config_date THU10 = { 2026, 12, 10 };

static int setup(void **state)
{
    char text[2048];
    struct mm_config_errors errs;

    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "%s", "/tmp/mm-status-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(text, sizeof(text),
             "[hospital]\nid = H1\n[service]\nstate_dir = %s/state\n"
             "[source \"ssmix2\"]\nkind = ssmix2\npath = /srv/s\nrpo = 26h\n"
             "[source \"billing\"]\nkind = folder\npath = /srv/b\nrpo = 2d\n"
             "[source \"paused\"]\nkind = folder\npath = /srv/p\nenabled = no\n"
             "[medium \"MON\"]\ndays = mon,sat,sun\npath = /mnt/r\n"
             "[medium \"TUE\"]\ndays = tue\npath = /mnt/r\n"
             "[medium \"WED\"]\ndays = wed\npath = /mnt/r\n"
             "[medium \"THU\"]\ndays = thu\npath = /mnt/r\n"
             "[medium \"FRI\"]\ndays = fri\npath = /mnt/r\n",
             tmpdir);
    mm_config_errors_init(&errs);
    if (mm_config_parse("t.conf", text, strlen(text), &cfg, &errs) != 0)
        return -1;
    mm_config_errors_release(&errs);
    return 0;
}

static int teardown(void **state)
{
    char cmd[600];

    (void)state;
    mm_config_free(cfg);
    cfg = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int64_t T(const char *s)
{
    int64_t t = 0;

    assert_int_equal(mm_status_time_parse(s, &t), 0);
    return t;
}

/* A new window record: @gen NULL for none written; @verify and @guard as written. */
static const char *rec(char *buf, size_t cap, const char *date, const char *medium, int result,
                       const char *stage, const char *gen, const char *names, const char *verify,
                       const char *guard)
{
    snprintf(buf, cap,
             "{\"date\":\"%s\",\"attached\":\"%sT01:00:02Z\",\"online_s\":3.5,\"medium\":\"%s\","
             "\"result\":%d,\"stage\":\"%s\",\"reason\":\"%s\",\"generations\":%d,"
             "\"generation\":\"%s\",\"bytes_written\":100,\"sources\":2,\"detach\":0,"
             "\"source_names\":[%s],\"free_bytes\":%d,\"size_bytes\":%d,\"generations_held\":%d,"
             "\"verify\":\"%s\",\"guard\":\"%s\",\"hospital\":\"H1\",\"fsyncs\":3}",
             date, date, medium, result, stage, result ? "attach hook failed" : "", gen ? 1 : 0,
             gen ? gen : "", names, gen ? 1000 : -1, gen ? 4000 : -1, gen ? 2 : -1, verify, guard);
    return buf;
}

/* Feed a good window of both enabled sources. */
static void good(struct mm_status *st, const char *date, const char *medium, const char *gen)
{
    char b[2048];

    rec(b, sizeof(b), date, medium, 0, "none", gen, "\"ssmix2\",\"billing\"", "ok", "none");
    assert_int_equal(mm_status_feed(st, b, strlen(b)), 0);
}

static void failed(struct mm_status *st, const char *date, const char *medium, const char *stage)
{
    char b[2048];

    rec(b, sizeof(b), date, medium, 1, stage, NULL, "\"ssmix2\",\"billing\"", "not_run", "none");
    assert_int_equal(mm_status_feed(st, b, strlen(b)), 0);
}

static struct mm_status_medium *med(struct mm_status *st, const char *label)
{
    for (size_t i = 0; i < st->nmedia; i++)
        if (strcmp(st->media[i].cfg->label, label) == 0)
            return &st->media[i];
    fail_msg("no medium %s", label);
    return NULL;
}

/* A status of the week 2026-12-07 (Mon) .. 12-09 (Wed), judged on Thursday 12-10 at @now. */
static void week(struct mm_status *st, const char *now)
{
    assert_int_equal(mm_status_init(st, cfg, THU10, T(now)), 0);
    st->state_found = 1;
    good(st, "2026-12-07", "MON", G1);
    good(st, "2026-12-08", "TUE", G2);
    good(st, "2026-12-09", "WED", G3);
}

/* ---- parsing -------------------------------------------------------------------------------- */

static void time__parse_and_print(void **s)
{
    static const char *const bad[] = { "2026-12-11",           "2026-02-30T00:00:00Z",
                                       "2026-12-11T24:00:00Z", "2026-12-11 01:00:00Z",
                                       "2026-12-11T01:00:00",  " 2026-12-11T01:00:00Z",
                                       "1969-12-31T23:59:59Z", "2026-12-11T01:00:00Z+" };
    int64_t t = 0;
    char buf[32];

    (void)s;
    assert_int_equal(mm_status_time_parse("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(mm_status_time_parse("2026-12-11T00:30:00Z", &t), 0);
    assert_int_equal(t, 1796949000);
    assert_string_equal(mm_status_time_str(t, buf, sizeof(buf)), "2026-12-11T00:30:00Z");
    assert_string_equal(mm_status_time_str(-1, buf, sizeof(buf)), "-");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (mm_status_time_parse(bad[i], &t) != MM_EINVAL)
            fail_msg("parsed: %s", bad[i]);
}

static void parse__new_line_has_every_field(void **s)
{
    struct mm_status_window *w = malloc(sizeof(*w));
    char b[2048];

    (void)s;
    rec(b, sizeof(b), "2026-12-08", "TUE", 0, "none", G2, "\"ssmix2\",\"billing\"", "ok", "none");
    assert_int_equal(mm_status_window_parse(b, strlen(b), w), 0);
    assert_int_equal(w->date.year, 2026);
    assert_int_equal(w->date.day, 8);
    assert_int_equal(w->attached, T("2026-12-08T01:00:02Z"));
    assert_true(w->online_s > 3.49 && w->online_s < 3.51);
    assert_string_equal(w->medium, "TUE");
    assert_int_equal(w->result, 0);
    assert_int_equal(w->generations, 1);
    assert_string_equal(w->generation, G2);
    assert_true(w->have_names);
    assert_int_equal(w->nnames, 2);
    assert_string_equal(w->names[1], "billing");
    assert_int_equal(w->free_bytes, 1000);
    assert_int_equal(w->size_bytes, 4000);
    assert_int_equal(w->generations_held, 2);
    assert_string_equal(w->verify, "ok");
    assert_string_equal(w->guard, "none");
    free(w);
}

static void parse__old_line_lacks_the_new_fields(void **s)
{
    struct mm_status_window *w = malloc(sizeof(*w));
    const char *old = "{\"date\":\"2026-12-07\",\"attached\":\"2026-12-07T01:00:02Z\","
                      "\"online_s\":41.250,\"medium\":\"MON\",\"result\":0,\"stage\":\"none\","
                      "\"reason\":\"\",\"generations\":1,\"generation\":\"" G1 "\","
                      "\"bytes_written\":1048576,\"sources\":2,\"detach\":0}";

    (void)s;
    assert_int_equal(mm_status_window_parse(old, strlen(old), w), 0);
    assert_false(w->have_names);
    assert_int_equal(w->sources, 2);
    assert_int_equal(w->generations_held, -1);
    assert_int_equal(w->free_bytes, -1);
    assert_int_equal(w->size_bytes, -1);
    assert_string_equal(w->verify, "");
    assert_string_equal(w->guard, "");
    assert_int_equal(w->generations, 1);
    free(w);
}

static void parse__garbage_and_wrong_types_are_not_windows(void **s)
{
    static const char *const bad[] = {
        "garbage",
        "[1,2]",
        "{\"date\":\"2026-12-07\",\"medium\":\"MON\"}",
        "{\"date\":\"2026-13-07\",\"medium\":\"MON\",\"result\":0}",
        "{\"date\":7,\"medium\":\"MON\",\"result\":0}",
        "{\"date\":\"2026-12-07\",\"medium\":\"MON\",\"result\":\"0\"}",
        "{\"date\":\"2026-12-07\",\"medium\":\"MON\",\"result\":0,\"source_names\":\"a\"}",
        "{\"date\":\"2026-12-07\",\"medium\":\"MON\",\"result\":0,\"source_names\":[1]}",
        "{\"date\":\"2026-12-07\",\"medium\":\"MON\",\"result\":0,\"free_bytes\":\"9\"}",
        "{\"date\":\"2026-12-07\",\"medium\":\"MON\",\"result\":0,\"online_s\":\"1\"}",
        "{\"date\":\"2026-12-07\",\"medium\":\"MON\",\"result\":0,\"result\":1}",
        "{\"date\":\"2026-12-07\",\"medium\":\"MON\",\"result\":0",
    };
    struct mm_status_window *w = malloc(sizeof(*w));

    (void)s;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (mm_status_window_parse(bad[i], strlen(bad[i]), w) != MM_ECORRUPT)
            fail_msg("parsed: %s", bad[i]);
    free(w);
}

static void feed__bad_lines_are_counted_not_fatal(void **s)
{
    struct mm_status st;

    (void)s;
    week(&st, "2026-12-10T00:30:00Z");
    assert_int_equal(mm_status_feed(&st, "not json", 8), MM_ECORRUPT);
    assert_int_equal(mm_status_feed(&st, "{\"date\":1}", 10), MM_ECORRUPT);
    assert_int_equal(mm_status_feed(&st, "  \r", 3), 0); /* blank: ignored */
    good(&st, "2026-12-09", "WED", G3);
    mm_status_judge(&st);
    assert_int_equal(st.lines, 6);
    assert_int_equal(st.bad_lines, 2);
    assert_int_equal(med(&st, "WED")->windows, 2);
    mm_status_release(&st);
}

/* ---- the judgement ------------------------------------------------------------------------ */

static void judge__a_good_week_is_all_good(void **s)
{
    struct mm_status st;
    struct mm_status_medium *m;

    (void)s;
    week(&st, "2026-12-10T00:30:00Z");
    mm_status_judge(&st);
    assert_int_equal(st.needs, 0);
    assert_int_equal(st.attention, 0);
    assert_string_equal(st.due_today->label, "THU");
    assert_string_equal(st.due_next->label, "FRI");
    assert_true(st.sources[0].have_good);
    assert_string_equal(st.sources[0].good.id, G3);
    assert_string_equal(st.sources[0].good.medium, "WED");
    assert_int_equal(st.sources[0].age, T("2026-12-10T00:30:00Z") - T("2026-12-09T01:00:02Z"));
    assert_string_equal(st.sources[0].verify, "ok");
    assert_false(st.sources[2].have_good); /* paused: never backed up, not judged */
    assert_int_equal(st.sources[2].attention, 0);
    m = med(&st, "TUE");
    assert_int_equal(m->windows, 1);
    assert_true(m->have_written);
    assert_string_equal(m->written.id, G2);
    assert_int_equal(m->written.date.day, 8);
    assert_int_equal(m->generations_held, 2);
    assert_int_equal(m->free_bytes, 1000);
    assert_int_equal(m->size_bytes, 4000);
    assert_int_equal(m->attention, 0);
    m = med(&st, "THU"); /* never written, due today: not red */
    assert_false(m->have_last);
    assert_true(m->due_today);
    assert_int_equal(m->generations_held, -1);
    assert_int_equal(m->attention, 0);
    assert_true(med(&st, "FRI")->due_next);
    mm_status_release(&st);
}

static void judge__rpo_breach(void **s)
{
    struct mm_status st;

    (void)s;
    week(&st, "2026-12-10T03:00:03Z"); /* 26h and 1s after Wednesday's window */
    mm_status_judge(&st);
    assert_int_equal(st.sources[0].attention, MM_STATUS_WHY_RPO); /* ssmix2: 26h */
    assert_int_equal(st.sources[1].attention, 0);                 /* billing: 2d */
    assert_int_equal(st.needs, 1);
    mm_status_release(&st);
}

static void judge__disk_missing_on_its_day(void **s)
{
    struct mm_status st;
    struct mm_status_medium *m;

    (void)s;
    assert_int_equal(mm_status_init(&st, cfg, THU10, T("2026-12-10T00:30:00Z")), 0);
    st.state_found = 1;
    good(&st, "2026-12-07", "MON", G1);
    good(&st, "2026-12-08", "TUE", G2);
    failed(&st, "2026-12-09", "WED", "open"); /* no repository: the disk was not there */
    mm_status_judge(&st);
    m = med(&st, "WED");
    assert_int_equal(m->attention, MM_STATUS_WHY_FAILED | MM_STATUS_WHY_MISSED);
    assert_int_equal(m->missed.day, 9);
    assert_false(m->have_written);
    assert_string_equal(m->last.stage, "open");
    assert_int_equal(m->last.result, 1);
    /* Tuesday's generation is 47.5h old: over ssmix2's 26h, within billing's 2d */
    assert_int_equal(st.sources[0].attention, MM_STATUS_WHY_RPO);
    assert_int_equal(st.sources[1].attention, 0);
    assert_int_equal(st.needs, 2);
    mm_status_release(&st);

    /* no window at all on Wednesday (the timer did not run): missed, not failed */
    assert_int_equal(mm_status_init(&st, cfg, THU10, T("2026-12-10T00:30:00Z")), 0);
    st.state_found = 1;
    good(&st, "2026-12-07", "MON", G1);
    good(&st, "2026-12-08", "TUE", G2);
    mm_status_judge(&st);
    assert_int_equal(med(&st, "WED")->attention, MM_STATUS_WHY_MISSED);
    assert_int_equal(med(&st, "TUE")->attention, 0);
    assert_int_equal(med(&st, "FRI")->attention, 0); /* its day (12-04) is before the records */
    mm_status_release(&st);
}

static void judge__never_written_medium_whose_day_passed(void **s)
{
    struct mm_status st;
    const struct mm_config_date sat12 = { 2026, 12, 12 };

    (void)s;
    assert_int_equal(mm_status_init(&st, cfg, sat12, T("2026-12-12T00:30:00Z")), 0);
    st.state_found = 1;
    good(&st, "2026-12-07", "MON", G1);
    good(&st, "2026-12-08", "TUE", G2);
    good(&st, "2026-12-09", "WED", G3);
    good(&st, "2026-12-11", "FRI", G1);
    mm_status_judge(&st);
    assert_int_equal(med(&st, "THU")->attention, MM_STATUS_WHY_MISSED);
    assert_int_equal(med(&st, "THU")->missed.day, 10);
    assert_int_equal(med(&st, "THU")->windows, 0);
    assert_int_equal(med(&st, "FRI")->attention, 0);
    assert_true(med(&st, "MON")->due_today);
    assert_int_equal(st.needs, 1);
    mm_status_release(&st);
}

static void judge__staged_waiting_and_expired(void **s)
{
    struct mm_status st;
    const char *wait = "{\"medium\":\"THU\",\"generation\":\"" G1 "\","
                       "\"staged_at\":\"2026-12-10T00:00:00Z\",\"bytes\":123,"
                       "\"expires\":\"2026-12-24T00:00:00Z\"}";
    const char *gone = "{\"medium\":\"FRI\",\"generation\":\"" G2 "\","
                       "\"staged_at\":\"2026-11-20T00:00:00Z\",\"bytes\":456,"
                       "\"expires\":\"2026-12-04T00:00:00Z\"}";

    (void)s;
    week(&st, "2026-12-10T00:30:00Z");
    assert_int_equal(mm_status_feed_staged(&st, "THU", wait, strlen(wait)), 0);
    assert_int_equal(mm_status_feed_staged(&st, "fri", gone, strlen(gone)), 0);
    assert_int_equal(mm_status_feed_staged(&st, "SAT", gone, strlen(gone)), MM_ENOTFOUND);
    assert_int_equal(mm_status_feed_staged(&st, "MON", "{\"expires\":3}", 13), MM_ECORRUPT);
    mm_status_judge(&st);
    assert_true(med(&st, "THU")->staged.present);
    assert_false(med(&st, "THU")->staged.expired);
    assert_int_equal(med(&st, "THU")->staged.bytes, 123);
    assert_int_equal(med(&st, "THU")->attention, 0);
    assert_true(med(&st, "FRI")->staged.expired);
    assert_int_equal(med(&st, "FRI")->attention, MM_STATUS_WHY_EXPIRED);
    assert_false(med(&st, "MON")->staged.present);
    assert_int_equal(st.bad_staged, 1);
    assert_int_equal(st.needs, 1);
    mm_status_release(&st);
}

static void judge__verify_damage_and_guard_suspect(void **s)
{
    struct mm_status st;
    char b[2048];

    (void)s;
    week(&st, "2026-12-10T00:30:00Z");
    /* Thursday: written, then the verify found damage (the window failed) */
    rec(b, sizeof(b), "2026-12-10", "THU", 1, "verify", G1, "\"ssmix2\"", "damaged", "none");
    assert_int_equal(mm_status_feed(&st, b, strlen(b)), 0);
    mm_status_judge(&st);
    assert_int_equal(st.sources[0].attention, MM_STATUS_WHY_DAMAGED);
    assert_string_equal(st.sources[0].good.id, G3); /* the last good one is still Wednesday's */
    assert_int_equal(st.sources[1].attention, 0);
    assert_int_equal(med(&st, "THU")->attention, MM_STATUS_WHY_FAILED | MM_STATUS_WHY_DAMAGED);
    assert_true(med(&st, "THU")->have_written);
    mm_status_release(&st);

    week(&st, "2026-12-10T00:30:00Z");
    rec(b, sizeof(b), "2026-12-09", "WED", 4, "none", G3, "\"billing\"", "ok", "suspect");
    assert_int_equal(mm_status_feed(&st, b, strlen(b)), 0);
    mm_status_judge(&st);
    assert_int_equal(st.sources[1].attention, MM_STATUS_WHY_GUARD);
    assert_string_equal(st.sources[1].guard, "suspect");
    assert_int_equal(med(&st, "WED")->attention, MM_STATUS_WHY_FAILED); /* exit 4 */
    assert_int_equal(st.needs, 2);
    mm_status_release(&st);

    /* a suspect generation is never the last good one (issue 18): Thursday's does not reset
     * the RPO, Wednesday's stays the last good generation */
    week(&st, "2026-12-10T00:30:00Z");
    rec(b, sizeof(b), "2026-12-10", "THU", 4, "none", G1, "\"billing\"", "ok", "suspect");
    assert_int_equal(mm_status_feed(&st, b, strlen(b)), 0);
    mm_status_judge(&st);
    assert_string_equal(st.sources[1].good.id, G3);
    assert_string_equal(st.sources[1].guard, "suspect");
    assert_true(st.sources[1].attention & MM_STATUS_WHY_GUARD);
    mm_status_release(&st);
}

static void judge__old_lines_credit_every_source_when_they_count_as_many(void **s)
{
    struct mm_status st;
#define OLD_LINE(n)                                                                      \
    "{\"date\":\"2026-12-09\",\"attached\":\"2026-12-09T01:00:02Z\",\"medium\":\"WED\"," \
    "\"result\":0,\"generations\":1,\"generation\":\"" G3 "\",\"sources\":" n "}"
    char b[512];

    (void)s;
    assert_int_equal(mm_status_init(&st, cfg, THU10, T("2026-12-10T00:30:00Z")), 0);
    st.state_found = 1;
    snprintf(b, sizeof(b), "%s", OLD_LINE("2"));
    assert_int_equal(mm_status_feed(&st, b, strlen(b)), 0);
    mm_status_judge(&st);
    assert_true(st.sources[0].have_good && st.sources[1].have_good);
    assert_false(st.sources[2].have_good);
    assert_string_equal(st.sources[0].verify, ""); /* not recorded then */
    assert_int_equal(med(&st, "WED")->generations_held, -1);
    mm_status_release(&st);

    assert_int_equal(mm_status_init(&st, cfg, THU10, T("2026-12-10T00:30:00Z")), 0);
    st.state_found = 1;
    snprintf(b, sizeof(b), "%s", OLD_LINE("1")); /* one of two: which one is unknown */
    assert_int_equal(mm_status_feed(&st, b, strlen(b)), 0);
    mm_status_judge(&st);
    assert_false(st.sources[0].have_good || st.sources[1].have_good);
    assert_int_equal(st.sources[0].attention, MM_STATUS_WHY_NEVER);
    mm_status_release(&st);
}

/* ---- reading the host's files ------------------------------------------------------------- */

static void put(const char *rel, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void read__no_state_file_needs_attention(void **s)
{
    struct mm_status st;

    (void)s;
    assert_int_equal(mm_status_read(&st, cfg, THU10, T("2026-12-10T00:30:00Z")), 0);
    assert_false(st.state_found);
    assert_int_equal(st.attention, MM_STATUS_WHY_NO_STATE);
    assert_int_equal(st.sources[0].attention, MM_STATUS_WHY_NEVER);
    assert_int_equal(st.needs, 3); /* the state, and the two enabled sources */
    for (size_t i = 0; i < st.nmedia; i++)
        assert_int_equal(st.media[i].attention, 0);
    mm_status_release(&st);
}

static void read__a_huge_file_is_read_from_its_end(void **s)
{
    struct mm_status st;
    char b[2048], path[512];
    char *junk = malloc(MM_STATUS_LINE_MAX + 100);

    (void)s;
    snprintf(path, sizeof(path), "%s/state", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    /* an old MON window, then more than the tail of others, then the week */
    put("state/windows.jsonl",
        rec(b, sizeof(b), "2020-01-06", "MON", 0, "none", G1, "\"ssmix2\"", "ok", "none"));
    put("state/windows.jsonl", "\n");
    memset(junk, 'x', MM_STATUS_LINE_MAX + 10);
    junk[MM_STATUS_LINE_MAX + 10] = '\n';
    junk[MM_STATUS_LINE_MAX + 11] = '\0';
    for (size_t n = 0; n < MM_STATUS_TAIL_MAX / (MM_STATUS_LINE_MAX + 11) + 2; n++)
        put("state/windows.jsonl", junk);
    for (int d = 7; d <= 9; d++) {
        char date[16];
        snprintf(date, sizeof(date), "2026-12-%02d", d);
        put("state/windows.jsonl", rec(b, sizeof(b), date,
                                       d == 7   ? "MON"
                                       : d == 8 ? "TUE"
                                                : "WED",
                                       0, "none", G2, "\"ssmix2\",\"billing\"", "ok", "none"));
        put("state/windows.jsonl", "\n{broken\n");
    }
    free(junk);
    assert_int_equal(mm_status_read(&st, cfg, THU10, T("2026-12-10T00:30:00Z")), 0);
    assert_true(st.state_found);
    assert_true(st.truncated);
    assert_int_equal(st.first.year, 2026); /* the 2020 line was not read */
    assert_true(st.bad_lines >= 3 + MM_STATUS_TAIL_MAX / (MM_STATUS_LINE_MAX + 11) - 1);
    assert_int_equal(st.lines - st.bad_lines, 3);
    assert_int_equal(st.needs, 0);
    assert_int_equal(med(&st, "MON")->windows, 1);
    mm_status_release(&st);
}

static void read__staged_files(void **s)
{
    struct mm_status st;
    char path[512];

    (void)s;
    snprintf(path, sizeof(path), "%s/state", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/state/staged", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    put("state/staged/THU.json", "{\"medium\":\"THU\",\"generation\":\"" G1 "\","
                                 "\"staged_at\":\"2026-12-10T00:00:00Z\",\"bytes\":77,"
                                 "\"expires\":\"2026-12-01T00:00:00Z\"}");
    put("state/staged/FRI.json", "");
    put("state/windows.jsonl", "");
    assert_int_equal(mm_status_read(&st, cfg, THU10, T("2026-12-10T00:30:00Z")), 0);
    assert_true(st.state_found);
    assert_int_equal(st.lines, 0);
    assert_true(med(&st, "THU")->staged.present);
    assert_true(med(&st, "THU")->staged.expired);
    assert_int_equal(med(&st, "THU")->staged.bytes, 77);
    assert_int_equal(st.bad_staged, 1);
    mm_status_release(&st);
}

/* ---- the machine formats ------------------------------------------------------------------- */

static void json__shape(void **s)
{
    struct mm_status st;
    mm_buf b;
    json_t *j, *src, *m;

    (void)s;
    assert_int_equal(mm_status_init(&st, cfg, THU10, T("2026-12-10T00:30:00Z")), 0);
    st.state_found = 1;
    good(&st, "2026-12-07", "MON", G1);
    good(&st, "2026-12-08", "TUE", G2);
    failed(&st, "2026-12-09", "WED", "attach");
    mm_status_judge(&st);
    mm_buf_init(&b, 1u << 20);
    assert_int_equal(mm_status_json(&st, &b), 0);
    j = json_loadb(b.ptr, b.len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "attention");
    assert_int_equal(json_integer_value(json_object_get(j, "needs_attention")), 2);
    assert_string_equal(json_string_value(json_object_get(j, "date")), "2026-12-10");
    assert_string_equal(json_string_value(json_object_get(j, "now")), "2026-12-10T00:30:00Z");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "due"), "today")),
                        "THU");
    src = json_array_get(json_object_get(j, "sources"), 0);
    assert_string_equal(json_string_value(json_object_get(src, "name")), "ssmix2");
    assert_int_equal(json_integer_value(json_object_get(src, "rpo_s")), 26 * 3600);
    assert_string_equal(
            json_string_value(json_object_get(json_object_get(src, "last_good"), "medium")), "TUE");
    assert_string_equal(json_string_value(json_array_get(json_object_get(src, "attention"), 0)),
                        "rpo"); /* Tuesday's generation is 47.5h old */
    assert_true(json_is_null(
            json_object_get(json_array_get(json_object_get(j, "sources"), 2), "last_good")));
    m = json_array_get(json_object_get(j, "media"), 2);
    assert_string_equal(json_string_value(json_object_get(m, "label")), "WED");
    assert_string_equal(json_string_value(json_object_get(m, "missed")), "2026-12-09");
    assert_true(json_is_null(json_object_get(m, "last_written")));
    assert_true(json_is_null(json_object_get(m, "free_bytes")));
    assert_string_equal(
            json_string_value(json_object_get(json_object_get(m, "last_window"), "stage")),
            "attach");
    assert_string_equal(json_string_value(json_array_get(json_object_get(m, "attention"), 0)),
                        "failed");
    m = json_array_get(json_object_get(j, "media"), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "generations_held")), 2);
    assert_int_equal(json_integer_value(json_object_get(m, "size_bytes")), 4000);
    json_decref(j);
    mm_buf_release(&b);
    mm_status_release(&st);
}

static void prometheus__exposition(void **s)
{
    struct mm_status st;
    mm_buf b;

    (void)s;
    week(&st, "2026-12-10T00:30:00Z");
    mm_status_judge(&st);
    mm_buf_init(&b, 1u << 20);
    assert_int_equal(mm_status_prometheus(&st, &b), 0);
    assert_non_null(
            strstr(b.ptr, "# TYPE mamori_needs_attention gauge\nmamori_needs_attention 0\n"));
    assert_non_null(strstr(b.ptr, "\nmamori_source_rpo_seconds{source=\"ssmix2\"} 93600\n"));
    assert_non_null(strstr(b.ptr, "\nmamori_source_age_seconds{source=\"ssmix2\"} 84598\n"));
    assert_non_null(strstr(b.ptr, "\nmamori_medium_generations{medium=\"TUE\"} 2\n"));
    assert_non_null(strstr(b.ptr, "\nmamori_medium_due{medium=\"THU\",when=\"today\"} 1\n"));
    assert_non_null(strstr(b.ptr, "\nmamori_medium_due{medium=\"FRI\",when=\"next\"} 1\n"));
    assert_non_null(strstr(b.ptr, "\nmamori_medium_last_online_window_seconds{medium=\"MON\"} "
                                  "3.500\n"));
    assert_null(strstr(b.ptr, "{source=\"paused\"} -")); /* unknown: left out */
    assert_null(strstr(b.ptr, "mamori_source_age_seconds{source=\"paused\"}"));
    assert_null(strstr(b.ptr, "mamori_medium_free_bytes{medium=\"THU\"}"));
    /* every line is a comment or `name{labels} value` */
    for (char *p = b.ptr; *p;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_true(*p == '#' || (strncmp(p, "mamori_", 7) == 0 && memchr(p, ' ', nl - p)));
        p = nl + 1;
    }
    mm_buf_release(&b);
    mm_status_release(&st);
}

/* Whether each medium's last backup put the Windows viewer on it: the newest window that
 * wrote a generation and recorded it ("windows_viewer"); unknown for old lines; in JSON and
 * the Prometheus exposition. */
static void feed__windows_viewer(void **s)
{
    struct mm_status st;
    mm_buf b;
    char b1[2048], line[2100];
    json_t *j;

    (void)s;
    assert_int_equal(mm_status_init(&st, cfg, THU10, T("2026-12-10T00:30:00Z")), 0);
    st.state_found = 1;
    rec(b1, sizeof(b1), "2026-12-07", "MON", 0, "none", G1, "\"ssmix2\"", "ok", "none");
    snprintf(line, sizeof(line), "{\"windows_viewer\":0,%s", b1 + 1);
    assert_int_equal(mm_status_feed(&st, line, strlen(line)), 0);
    rec(b1, sizeof(b1), "2026-12-08", "TUE", 0, "none", G2, "\"ssmix2\"", "ok", "none");
    snprintf(line, sizeof(line), "{\"windows_viewer\":1,%s", b1 + 1);
    assert_int_equal(mm_status_feed(&st, line, strlen(line)), 0);
    failed(&st, "2026-12-09", "TUE", "attach"); /* wrote nothing: changes nothing */
    good(&st, "2026-12-09", "WED", G3);         /* an old line: unknown */
    assert_int_equal(med(&st, "MON")->windows_viewer, 0);
    assert_int_equal(med(&st, "TUE")->windows_viewer, 1);
    assert_int_equal(med(&st, "WED")->windows_viewer, -1);
    mm_status_judge(&st);
    mm_buf_init(&b, 1u << 20);
    assert_int_equal(mm_status_json(&st, &b), 0);
    assert_non_null(j = json_loadb(b.ptr, b.len, 0, NULL));
    assert_true(json_is_false(
            json_object_get(json_array_get(json_object_get(j, "media"), 0), "windows_viewer")));
    assert_true(json_is_true(
            json_object_get(json_array_get(json_object_get(j, "media"), 1), "windows_viewer")));
    assert_true(json_is_null(
            json_object_get(json_array_get(json_object_get(j, "media"), 2), "windows_viewer")));
    json_decref(j);
    mm_buf_clear(&b);
    assert_int_equal(mm_status_prometheus(&st, &b), 0);
    assert_non_null(strstr(b.ptr, "\nmamori_medium_windows_viewer{medium=\"MON\"} 0\n"));
    assert_non_null(strstr(b.ptr, "\nmamori_medium_windows_viewer{medium=\"TUE\"} 1\n"));
    assert_null(strstr(b.ptr, "mamori_medium_windows_viewer{medium=\"WED\"}"));
    mm_buf_release(&b);
    mm_status_release(&st);
}

static void prometheus__label_values_are_escaped(void **s)
{
    struct mm_config_source src = { 0 };
    struct mm_status_source one = { 0 };
    struct mm_status st = { 0 };
    mm_buf b;

    (void)s;
    src.name = "a\"b\\c\nd";
    src.rpo = 60;
    one.cfg = &src;
    one.age = -1;
    st.sources = &one;
    st.nsources = 1;
    mm_buf_init(&b, 1u << 20);
    assert_int_equal(mm_status_prometheus(&st, &b), 0);
    assert_non_null(strstr(b.ptr, "\nmamori_source_rpo_seconds{source=\"a\\\"b\\\\c\\nd\"} 60\n"));
    mm_buf_release(&b);
}

/* ---- drill records (backup_drills.c) and the drill nag ------------------------------------ */

/* A drill record line of @kind at @at on @medium with @result. */
static const char *drill(char *buf, size_t cap, const char *kind, const char *at,
                         const char *medium, const char *result)
{
    struct mm_status_drill d;
    mm_buf b;

    memset(&d, 0, sizeof(d));
    snprintf(d.kind, sizeof(d.kind), "%s", kind);
    d.at = T(at);
    snprintf(d.medium, sizeof(d.medium), "%s", medium);
    snprintf(d.repo_id, sizeof(d.repo_id), "0123456789abcdef0123456789abcdef");
    snprintf(d.generation, sizeof(d.generation), "%s", strcmp(kind, "full") == 0 ? G2 : "");
    snprintf(d.result, sizeof(d.result), "%s", result);
    snprintf(d.reason, sizeof(d.reason), "%s", strcmp(result, "ok") ? "2 files differ" : "");
    d.viewer_s = strcmp(kind, "full") == 0 ? 12.5 : -1;
    d.restore_s = 340.25;
    d.total_s = 360;
    d.files = 200000;
    d.bytes = 524288000;
    d.mib_s = 1.47;
    d.rpo_s = strcmp(kind, "full") == 0 ? 93600 : -1;
    d.patients = 20;
    d.patients_failed = strcmp(result, "ok") ? 1 : 0;
    mm_buf_init(&b, MM_STATUS_DRILL_LINE_MAX);
    assert_int_equal(mm_status_drill_json(&d, &b), 0);
    assert_true(b.len < cap);
    memcpy(buf, b.ptr, b.len);
    buf[b.len] = '\0';
    mm_buf_release(&b);
    return buf;
}

/* Every member survives the JSON line and back; unknown figures (-1) are null and come back
 * as -1; a line written twice is the same line. */
static void drills__round_trip(void **s)
{
    struct mm_status_drill d, e;
    char line[4096], again[4096];
    mm_buf b;

    (void)s;
    drill(line, sizeof(line), "full", "2026-12-08T09:00:00Z", "TUE", "failed");
    assert_non_null(strstr(line, "\"kind\":\"full\",\"at\":\"2026-12-08T09:00:00Z\""));
    assert_int_equal(mm_status_drill_parse(line, strlen(line), &d), 0);
    assert_string_equal(d.kind, "full");
    assert_int_equal(d.at, T("2026-12-08T09:00:00Z"));
    assert_string_equal(d.medium, "TUE");
    assert_string_equal(d.repo_id, "0123456789abcdef0123456789abcdef");
    assert_string_equal(d.generation, G2);
    assert_string_equal(d.result, "failed");
    assert_string_equal(d.reason, "2 files differ");
    assert_true(d.viewer_s > 12.49 && d.viewer_s < 12.51);
    assert_true(d.restore_s > 340.24 && d.restore_s < 340.26);
    assert_true(d.total_s > 359.99 && d.total_s < 360.01);
    assert_int_equal(d.files, 200000);
    assert_int_equal(d.bytes, 524288000);
    assert_true(d.mib_s > 1.469 && d.mib_s < 1.471);
    assert_int_equal(d.rpo_s, 93600);
    assert_int_equal(d.patients, 20);
    assert_int_equal(d.patients_failed, 1);
    mm_buf_init(&b, MM_STATUS_DRILL_LINE_MAX);
    assert_int_equal(mm_status_drill_json(&d, &b), 0);
    assert_int_equal(b.len, strlen(line));
    assert_memory_equal(b.ptr, line, b.len);
    mm_buf_release(&b);
    /* a structural one: no viewer, no RPO: null, read back as -1 */
    drill(again, sizeof(again), "structural", "2026-12-09T01:00:05Z", "WED", "ok");
    assert_non_null(strstr(again, "\"viewer_s\":null"));
    assert_non_null(strstr(again, "\"rpo_s\":null"));
    assert_int_equal(mm_status_drill_parse(again, strlen(again), &e), 0);
    assert_string_equal(e.kind, "structural");
    assert_string_equal(e.generation, "");
    assert_true(e.viewer_s < 0);
    assert_int_equal(e.rpo_s, -1);
    assert_string_equal(e.reason, "");
}

/* Torn lines (every prefix of a good one), garbage, wrong kinds, results, times and types are
 * not drill records, and leave the output untouched. */
static void drills__torn_and_garbage_lines_are_rejected(void **s)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[1,2]",
        "{}",
        "{\"kind\":\"partial\",\"at\":\"2026-12-08T09:00:00Z\",\"medium\":\"A\",\"repo\":\"\","
        "\"generation\":\"\",\"result\":\"ok\",\"reason\":\"\"}",
        "{\"kind\":\"full\",\"at\":\"yesterday\",\"medium\":\"A\",\"repo\":\"\","
        "\"generation\":\"\",\"result\":\"ok\",\"reason\":\"\"}",
        "{\"kind\":\"full\",\"at\":\"2026-12-08T09:00:00Z\",\"medium\":\"A\",\"repo\":\"\","
        "\"generation\":\"\",\"result\":\"maybe\",\"reason\":\"\"}",
        "{\"kind\":\"full\",\"at\":\"2026-12-08T09:00:00Z\",\"medium\":7,\"repo\":\"\","
        "\"generation\":\"\",\"result\":\"ok\",\"reason\":\"\"}",
        "{\"kind\":\"full\",\"at\":\"2026-12-08T09:00:00Z\",\"medium\":\"A\",\"repo\":\"\","
        "\"generation\":\"\",\"result\":\"ok\",\"reason\":\"\",\"files\":-3}",
        "{\"kind\":\"full\",\"at\":\"2026-12-08T09:00:00Z\",\"medium\":\"A\",\"repo\":\"\","
        "\"generation\":\"\",\"result\":\"ok\",\"reason\":\"\",\"viewer_s\":\"fast\"}",
        "{\"kind\":\"full\",\"kind\":\"full\",\"at\":\"2026-12-08T09:00:00Z\",\"medium\":\"A\","
        "\"repo\":\"\",\"generation\":\"\",\"result\":\"ok\",\"reason\":\"\"}",
    };
    struct mm_status_drill d, keep;
    char line[4096];
    char *big;

    (void)s;
    memset(&keep, 0x5a, sizeof(keep));
    d = keep;
    drill(line, sizeof(line), "structural", "2026-12-09T01:00:05Z", "WED", "ok");
    for (size_t n = 0; n < strlen(line); n++) { /* every torn prefix */
        assert_int_equal(mm_status_drill_parse(line, n, &d), MM_ECORRUPT);
        assert_memory_equal(&d, &keep, sizeof(d));
    }
    assert_int_equal(mm_status_drill_parse(line, strlen(line), &d), 0);
    d = keep;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (mm_status_drill_parse(bad[i], strlen(bad[i]), &d) != MM_ECORRUPT)
            fail_msg("taken: %s", bad[i]);
        assert_memory_equal(&d, &keep, sizeof(d));
    }
    big = malloc(MM_STATUS_DRILL_LINE_MAX + 2); /* longer than a record may be */
    assert_non_null(big);
    memset(big, ' ', MM_STATUS_DRILL_LINE_MAX + 1);
    memcpy(big + MM_STATUS_DRILL_LINE_MAX + 1 - strlen(line), line, strlen(line));
    assert_int_equal(mm_status_drill_parse(big, MM_STATUS_DRILL_LINE_MAX + 1, &d), MM_ECORRUPT);
    free(big);
}

/* mm_status_drill_append makes the folder and the file (0640) and appends whole lines. */
static void drills__append_writes_whole_lines(void **s)
{
    struct mm_status_drill d;
    char line[4096], dir[512], path[600], *text;
    struct stat sb;
    FILE *f;
    long n;

    (void)s;
    snprintf(dir, sizeof(dir), "%s/state/deeper", tmpdir);
    snprintf(path, sizeof(path), "%s/drills.jsonl", dir);
    drill(line, sizeof(line), "full", "2026-12-08T09:00:00Z", "TUE", "ok");
    assert_int_equal(mm_status_drill_parse(line, strlen(line), &d), 0);
    assert_int_equal(mm_status_drill_append(dir, &d), 0);
    assert_int_equal(mm_status_drill_append(dir, &d), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    assert_non_null(f = fopen(path, "rb"));
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    assert_int_equal((size_t)n, 2 * (strlen(line) + 1));
    assert_memory_equal(text, line, strlen(line));
    assert_int_equal(text[strlen(line)], '\n');
    assert_memory_equal(text + strlen(line) + 1, line, strlen(line));
    free(text);
    assert_int_equal(mm_status_drill_append("", &d), MM_EINVAL);
}

/* A new installation: no full drill, the first window younger than full_drill_interval (30
 * days by default): no nag, the due time is the first window + 30 days; past it, the nag. */
static void drills__grace_period_of_a_new_installation(void **s)
{
    struct mm_status st;

    (void)s;
    week(&st, "2026-12-10T00:30:00Z");
    mm_status_judge(&st);
    assert_int_equal(st.needs, 0);
    assert_false(st.drills->have_full);
    assert_int_equal(st.drills->attention, 0);
    assert_int_equal(st.drills->first_window, T("2026-12-07T01:00:02Z"));
    assert_int_equal(st.drills->due, T("2026-12-07T01:00:02Z") + 30 * 86400);
    assert_int_equal(st.drills->full_age, -1);
    mm_status_release(&st);
    /* 31 days after the first window: no full drill is a nag (one item) */
    week(&st, "2027-01-07T01:00:03Z");
    st.today = (struct mm_config_date){ 2027, 1, 7 };
    mm_status_judge(&st);
    assert_int_equal(st.drills->attention, MM_STATUS_WHY_DRILL);
    assert_true(st.drills->never);
    assert_false(st.drills->overdue);
    assert_true(st.needs >= 1);
    {
        size_t before = st.needs;
        char b[4096];
        /* a full drill recorded: no nag from the drills any more */
        drill(b, sizeof(b), "full", "2027-01-06T09:00:00Z", "WED", "ok");
        assert_int_equal(mm_status_feed_drill(&st, b, strlen(b)), 0);
        mm_status_judge(&st);
        assert_int_equal(st.drills->attention, 0);
        assert_int_equal(st.needs, before - 1);
    }
    mm_status_release(&st);
    /* no window at all: nothing to count the grace from, no drill nag (NO_STATE says it) */
    assert_int_equal(mm_status_init(&st, cfg, THU10, T("2027-06-01T00:00:00Z")), 0);
    mm_status_judge(&st);
    assert_int_equal(st.drills->attention, 0);
    mm_status_release(&st);
}

/* The latest full drill counts (by its start, whatever the line order): failed is a nag, ok
 * is not until it is older than full_drill_interval; each medium's latest structural drill:
 * a failed one puts "drill" on the medium (one item however many reasons); labels the
 * configuration lacks are not kept; the figures reach the JSON and the Prometheus gauges. */
static void drills__full_and_structural_judged(void **s)
{
    struct mm_status st;
    struct mm_status_medium *m;
    char b[4096];
    mm_buf out;

    (void)s;
    week(&st, "2026-12-10T00:30:00Z");
    drill(b, sizeof(b), "full", "2026-12-08T09:00:00Z", "TUE", "failed");
    assert_int_equal(mm_status_feed_drill(&st, b, strlen(b)), 0);
    drill(b, sizeof(b), "full", "2026-12-01T09:00:00Z", "MON", "ok"); /* older, later line */
    assert_int_equal(mm_status_feed_drill(&st, b, strlen(b)), 0);
    drill(b, sizeof(b), "structural", "2026-12-09T01:00:05Z", "WED", "ok");
    assert_int_equal(mm_status_feed_drill(&st, b, strlen(b)), 0);
    drill(b, sizeof(b), "structural", "2026-12-08T01:00:05Z", "TUE", "ok");
    assert_int_equal(mm_status_feed_drill(&st, b, strlen(b)), 0);
    drill(b, sizeof(b), "structural", "2026-12-09T02:00:05Z", "TUE", "failed");
    assert_int_equal(mm_status_feed_drill(&st, b, strlen(b)), 0);
    drill(b, sizeof(b), "structural", "2026-12-09T03:00:05Z", "GONE", "failed");
    assert_int_equal(mm_status_feed_drill(&st, b, strlen(b)), 0);
    assert_int_equal(mm_status_feed_drill(&st, "{\"kind\":\"full\",\"at\":", 20), MM_ECORRUPT);
    assert_int_equal(mm_status_feed_drill(&st, "  \r", 3), 0); /* blank */
    mm_status_judge(&st);
    assert_int_equal(st.drills->lines, 7);
    assert_int_equal(st.drills->bad_lines, 1);
    assert_true(st.drills->have_full);
    assert_string_equal(st.drills->full.result, "failed");
    assert_string_equal(st.drills->full.medium, "TUE");
    assert_int_equal(st.drills->full_age, T("2026-12-10T00:30:00Z") - T("2026-12-08T09:00:00Z"));
    assert_true(st.drills->failed);
    assert_false(st.drills->overdue);
    assert_int_equal(st.drills->attention, MM_STATUS_WHY_DRILL);
    m = med(&st, "TUE");
    assert_int_equal(m->attention, MM_STATUS_WHY_DRILL);
    assert_string_equal(st.drills->media[m - st.media].last.result, "failed");
    assert_int_equal(st.drills->media[m - st.media].age,
                     T("2026-12-10T00:30:00Z") - T("2026-12-09T02:00:05Z"));
    m = med(&st, "WED");
    assert_int_equal(m->attention, 0);
    assert_true(st.drills->media[m - st.media].have);
    assert_false(st.drills->media[med(&st, "MON") - st.media].have);
    assert_int_equal(st.needs, 2); /* the full drill, medium TUE */
    /* the machine formats */
    mm_buf_init(&out, 1u << 20);
    assert_int_equal(mm_status_json(&st, &out), 0);
    assert_int_equal(mm_buf_putc(&out, '\0'), 0);
    {
        json_error_t je;
        json_t *doc = json_loads(out.ptr, 0, &je), *dr, *full, *sv;
        assert_non_null(doc);
        dr = json_object_get(doc, "drills");
        assert_true(json_is_object(dr));
        full = json_object_get(dr, "full");
        assert_string_equal(json_string_value(json_object_get(full, "result")), "failed");
        assert_string_equal(json_string_value(json_object_get(full, "generation")), G2);
        assert_int_equal(json_integer_value(json_object_get(full, "rpo_s")), 93600);
        assert_int_equal(json_integer_value(json_object_get(dr, "bad_lines")), 1);
        assert_string_equal(json_string_value(json_array_get(json_object_get(dr, "attention"), 0)),
                            "drill");
        sv = json_array_get(json_object_get(dr, "structural"), 1); /* TUE */
        assert_string_equal(json_string_value(json_object_get(sv, "medium")), "TUE");
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(sv, "last"), "result")),
                "failed");
        assert_true(json_is_null(
                json_object_get(json_array_get(json_object_get(dr, "structural"), 0), "last")));
        json_decref(doc);
    }
    mm_buf_clear(&out);
    assert_int_equal(mm_status_prometheus(&st, &out), 0);
    assert_int_equal(mm_buf_putc(&out, '\0'), 0);
    assert_non_null(strstr(out.ptr, "\nmamori_drill_full_ok 0\n"));
    assert_non_null(strstr(out.ptr, "\nmamori_drill_full_age_seconds 142200\n"));
    assert_non_null(strstr(out.ptr, "\nmamori_drill_structural_ok{medium=\"TUE\"} 0\n"));
    assert_non_null(strstr(out.ptr, "\nmamori_drill_structural_ok{medium=\"WED\"} 1\n"));
    assert_non_null(
            strstr(out.ptr, "\nmamori_drill_structural_age_seconds{medium=\"WED\"} 84595\n"));
    assert_null(strstr(out.ptr, "medium=\"MON\"} 1\nmamori_drill"));
    assert_null(strstr(out.ptr, "GONE"));
    mm_buf_release(&out);
    mm_status_release(&st);
    /* an ok full drill: no nag until it is older than full_drill_interval */
    week(&st, "2026-12-10T00:30:00Z");
    drill(b, sizeof(b), "full", "2026-12-08T09:00:00Z", "TUE", "ok");
    assert_int_equal(mm_status_feed_drill(&st, b, strlen(b)), 0);
    mm_status_judge(&st);
    assert_int_equal(st.drills->attention, 0);
    assert_int_equal(st.needs, 0);
    assert_int_equal(st.drills->due, T("2026-12-08T09:00:00Z") + 30 * 86400);
    st.now = T("2027-01-07T09:00:01Z");
    mm_status_judge(&st);
    assert_true(st.drills->overdue);
    assert_int_equal(st.drills->attention, MM_STATUS_WHY_DRILL);
    mm_status_release(&st);
}

/* mm_status_read takes <state_dir>/drills.jsonl: bad lines (a torn last one) counted, not
 * fatal; a missing file is not an error. */
static void read__drills_file(void **s)
{
    struct mm_status st;
    char b[4096], path[512];

    (void)s;
    snprintf(path, sizeof(path), "%s/state", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    put("state/windows.jsonl",
        rec(b, sizeof(b), "2026-12-09", "WED", 0, "none", G3, "\"ssmix2\"", "ok", "none"));
    put("state/windows.jsonl", "\n");
    assert_int_equal(mm_status_read(&st, cfg, THU10, T("2026-12-10T00:30:00Z")), 0);
    assert_false(st.drills->found);
    assert_int_equal(st.drills->lines, 0);
    mm_status_release(&st);
    put("state/drills.jsonl", "garbage\n");
    put("state/drills.jsonl",
        drill(b, sizeof(b), "structural", "2026-12-09T01:00:05Z", "WED", "failed"));
    put("state/drills.jsonl", "\n");
    put("state/drills.jsonl", "{\"kind\":\"structural\",\"at\":\"2026-12-09T0");
    assert_int_equal(mm_status_read(&st, cfg, THU10, T("2026-12-10T00:30:00Z")), 0);
    assert_true(st.drills->found);
    assert_int_equal(st.drills->lines, 3);
    assert_int_equal(st.drills->bad_lines, 2);
    assert_int_equal(med(&st, "WED")->attention, MM_STATUS_WHY_DRILL);
    assert_string_equal(mm_status_why_name(9), "drill");
    mm_status_release(&st);
}

static void alloc__failure_at_every_allocation(void **s)
{
    char b[2048], path[512];
    int ok = 0;

    (void)s;
    snprintf(path, sizeof(path), "%s/state", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    put("state/windows.jsonl",
        rec(b, sizeof(b), "2026-12-09", "WED", 0, "none", G3, "\"ssmix2\"", "ok", "none"));
    put("state/windows.jsonl", "\n");
    put("state/drills.jsonl", drill(b, sizeof(b), "full", "2026-12-08T09:00:00Z", "TUE", "ok"));
    put("state/drills.jsonl", "\n");
    for (long k = 1; k < 100 && !ok; k++) {
        struct mm_status st;
        mm_buf out;
        mm_alloc_track(1);
        mm_alloc_fail_at(k, 0);
        int err = mm_status_read(&st, cfg, THU10, T("2026-12-10T00:30:00Z"));
        mm_buf_init(&out, 1u << 20);
        if (err == 0)
            err = mm_status_json(&st, &out);
        if (err == 0)
            err = mm_status_prometheus(&st, &out);
        mm_alloc_fail_at(0, 0);
        if (err == 0)
            ok = 1;
        else
            assert_int_equal(err, MM_ENOMEM);
        mm_buf_release(&out);
        mm_status_release(&st);
        assert_int_equal(mm_alloc_live(), 0);
        mm_alloc_track(0);
    }
    assert_true(ok);
}

int main(void)
{
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T_(time__parse_and_print),
        T_(parse__new_line_has_every_field),
        T_(parse__old_line_lacks_the_new_fields),
        T_(parse__garbage_and_wrong_types_are_not_windows),
        T_(feed__bad_lines_are_counted_not_fatal),
        T_(judge__a_good_week_is_all_good),
        T_(judge__rpo_breach),
        T_(judge__disk_missing_on_its_day),
        T_(judge__never_written_medium_whose_day_passed),
        T_(judge__staged_waiting_and_expired),
        T_(judge__verify_damage_and_guard_suspect),
        T_(judge__old_lines_credit_every_source_when_they_count_as_many),
        T_(read__no_state_file_needs_attention),
        T_(read__a_huge_file_is_read_from_its_end),
        T_(read__staged_files),
        T_(json__shape),
        T_(prometheus__exposition),
        T_(feed__windows_viewer),
        T_(prometheus__label_values_are_escaped),
        T_(drills__round_trip),
        T_(drills__torn_and_garbage_lines_are_rejected),
        T_(drills__append_writes_whole_lines),
        T_(drills__grace_period_of_a_new_installation),
        T_(drills__full_and_structural_judged),
        T_(read__drills_file),
        T_(alloc__failure_at_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
