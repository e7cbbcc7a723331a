/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The status of all backups (status.h): window records parsed with jansson one line at a
 * time and folded into one summary per configured source and medium, so memory is the tail
 * read (at most MM_STATUS_TAIL_MAX) plus the summaries. Lines are taken in the file's order;
 * a later line overrides an earlier one. Nothing here opens a medium.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/status.h"
#include "common/alloc.h"
#include "common/error.h"
#include "os/os.h"

const char *mm_status_why_name(unsigned int i)
{
    static const char *const names[MM_STATUS_WHY_COUNT] = {
        "no_state", "never",  "rpo",     "damaged", "guard",
        "failed",   "missed", "expired", "vault",   "drill",
    };
    return i < MM_STATUS_WHY_COUNT ? names[i] : "unknown";
}

/* ---- times and dates --------------------------------------------------------------------- */

int mm_status_time_parse(const char *s, int64_t *out)
{
    struct tm tm = { 0 };
    struct mm_config_date date;
    char day[11];
    int y, mo, d, h, mi, se, used = 0;

    if (s && strlen(s) == 20) {
        memcpy(day, s, 10);
        day[10] = '\0';
    }
    if (!s || strlen(s) != 20 || mm_config_date_parse(day, &date) < 0 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &used) != 6 ||
        used != 20 || h > 23 || mi > 59 || se > 60 || h < 0 || mi < 0 || se < 0 || s[10] != 'T' ||
        s[13] != ':' || s[16] != ':')
        return mm_error_set(MM_EINVAL, "'%s' is not a time YYYY-MM-DDTHH:MM:SSZ", s ? s : "(null)");
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *out = (int64_t)timegm(&tm);
    return 0;
}

const char *mm_status_time_str(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t < 0 || !gmtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "-");
    return buf;
}

/* A date as one comparable number, 0 for "none". */
static long date_key(struct mm_config_date d)
{
    return d.year ? (long)d.year * 10000 + d.month * 100 + d.day : 0;
}

/* ---- one line ------------------------------------------------------------------------------ */

/* Copy the string member @key of @o into @buf (absent: ""). @return 0, -1 wrong type */
static int get_str(json_t *o, const char *key, char *buf, size_t cap)
{
    json_t *v = json_object_get(o, key);

    buf[0] = '\0';
    if (!v)
        return 0;
    if (!json_is_string(v))
        return -1;
    snprintf(buf, cap, "%s", json_string_value(v));
    return 0;
}

/* The integer member @key of @o into *out (absent: @dflt). @return 0, -1 wrong type */
static int get_int(json_t *o, const char *key, int64_t dflt, int64_t *out)
{
    json_t *v = json_object_get(o, key);

    *out = dflt;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return -1;
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* source_names into @w. @return 0, -1 not a list of strings */
static int get_names(json_t *o, struct mm_status_window *w)
{
    json_t *v = json_object_get(o, "source_names"), *e;
    size_t i;

    if (!v)
        return 0;
    if (!json_is_array(v))
        return -1;
    w->have_names = 1;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return -1;
        if (w->nnames < MM_BACKUP_SOURCES_MAX)
            snprintf(w->names[w->nnames++], sizeof(w->names[0]), "%s", json_string_value(e));
    }
    return 0;
}

/* The vault_* members of @o. @return 0, -1 a wrong type */
static int get_vault(json_t *o, struct mm_status_window *w)
{
    int64_t imm;

    if (get_str(o, "vault", w->vault, sizeof(w->vault)) < 0 ||
        get_str(o, "vault_where", w->vault_where, sizeof(w->vault_where)) < 0 ||
        get_str(o, "vault_reason", w->vault_reason, sizeof(w->vault_reason)) < 0 ||
        get_int(o, "vault_immutable", -1, &imm) < 0 ||
        get_int(o, "vault_retain_until", -1, &w->vault_retain_until) < 0)
        return -1;
    w->vault_immutable = imm == 0 || imm == 1 ? (int)imm : -1;
    return 0;
}

/* The members of @o after the required ones. @return 0, -1 a wrong type */
static int get_rest(json_t *o, struct mm_status_window *w)
{
    char at[32];
    int64_t gens, srcs, wo, win;
    json_t *on = json_object_get(o, "online_s");

    if (get_str(o, "attached", at, sizeof(at)) < 0 ||
        get_str(o, "stage", w->stage, sizeof(w->stage)) < 0 ||
        get_str(o, "reason", w->reason, sizeof(w->reason)) < 0 ||
        get_str(o, "generation", w->generation, sizeof(w->generation)) < 0 ||
        get_str(o, "verify", w->verify, sizeof(w->verify)) < 0 ||
        get_str(o, "guard", w->guard, sizeof(w->guard)) < 0 ||
        get_int(o, "generations", 0, &gens) < 0 || get_int(o, "sources", -1, &srcs) < 0 ||
        get_int(o, "generations_held", -1, &w->generations_held) < 0 ||
        get_int(o, "free_bytes", -1, &w->free_bytes) < 0 ||
        get_int(o, "size_bytes", -1, &w->size_bytes) < 0 || get_int(o, "write_only", 0, &wo) < 0 ||
        get_int(o, "windows_viewer", -1, &win) < 0 || get_names(o, w) < 0)
        return -1;
    if (get_vault(o, w) < 0)
        return -1;
    w->write_only = wo == 1;
    w->windows_viewer = win == 0 || win == 1 ? (int)win : -1;
    if (on && !json_is_number(on))
        return -1;
    w->online_s = on ? json_number_value(on) : -1;
    if (!at[0] || mm_status_time_parse(at, &w->attached) < 0)
        w->attached = -1;
    w->generations = gens == 1 && strlen(w->generation) == 64;
    w->sources = srcs;
    return 0;
}

int mm_status_window_parse(const char *line, size_t n, struct mm_status_window *out)
{
    json_error_t je;
    json_t *o = json_loadb(line, n, JSON_REJECT_DUPLICATES, &je);
    char date[16];
    int64_t result = 1;
    int bad;

    memset(out, 0, sizeof(*out));
    out->generations_held = out->free_bytes = out->size_bytes = -1;
    if (!o)
        return mm_error_set(MM_ECORRUPT, "window record: not JSON (column %d)", je.column);
    bad = !json_is_object(o) || !json_is_string(json_object_get(o, "date")) ||
          !json_is_string(json_object_get(o, "medium")) ||
          !json_is_integer(json_object_get(o, "result"));
    if (!bad) {
        snprintf(date, sizeof(date), "%s", json_string_value(json_object_get(o, "date")));
        bad = mm_config_date_parse(date, &out->date) < 0 ||
              get_str(o, "medium", out->medium, sizeof(out->medium)) < 0 ||
              get_int(o, "result", 1, &result) < 0 || get_rest(o, out) < 0;
        out->result = (int)result;
    }
    json_decref(o);
    if (bad)
        return mm_error_set(MM_ECORRUPT, "window record: not a window");
    return 0;
}

/* ---- folding the windows in ------------------------------------------------------------- */

int mm_status_init(struct mm_status *st, const mm_config *cfg, struct mm_config_date today,
                   int64_t now)
{
    struct mm_config_date chk;
    char d[16];

    memset(st, 0, sizeof(*st));
    st->cfg = cfg;
    st->today = today;
    st->now = now;
    snprintf(d, sizeof(d), "%04d-%02d-%02d", today.year, today.month, today.day);
    if (mm_config_date_parse(d, &chk) < 0)
        return MM_EINVAL;
    st->nsources = mm_config_source_count(cfg);
    st->nmedia = mm_config_medium_count(cfg);
    st->sources = mm_calloc(st->nsources ? st->nsources : 1, sizeof(*st->sources));
    st->media = mm_calloc(st->nmedia ? st->nmedia : 1, sizeof(*st->media));
    if (!st->sources || !st->media)
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < st->nsources; i++) {
        st->sources[i].cfg = mm_config_source_at(cfg, i);
        st->sources[i].age = -1;
    }
    for (size_t i = 0; i < st->nmedia; i++) {
        struct mm_status_medium *m = &st->media[i];
        m->cfg = mm_config_medium_at(cfg, i);
        m->generations_held = m->free_bytes = m->size_bytes = -1;
        m->windows_viewer = -1;
        m->staged.staged_at = m->staged.expires = m->staged.bytes = -1;
    }
    st->vault.url = mm_config_vault(cfg)->url;
    st->vault.immutable = -1;
    st->vault.retain_until = -1;
    st->drills = mm_calloc(1, sizeof(*st->drills));
    if (!st->drills ||
        !(st->drills->media = mm_calloc(st->nmedia ? st->nmedia : 1, sizeof(*st->drills->media))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    st->drills->full_age = st->drills->first_window = st->drills->due = -1;
    for (size_t i = 0; i < st->nmedia; i++)
        st->drills->media[i].age = -1;
    return 0;
}

static struct mm_status_medium *medium_of(struct mm_status *st, const char *label)
{
    for (size_t i = 0; i < st->nmedia; i++)
        if (strcasecmp(st->media[i].cfg->label, label) == 0)
            return &st->media[i];
    return NULL;
}

static void gen_of(const struct mm_status_window *w, struct mm_status_gen *g)
{
    g->date = w->date;
    g->at = w->attached;
    snprintf(g->medium, sizeof(g->medium), "%s", w->medium);
    memcpy(g->id, w->generation, sizeof(g->id));
}

/* Whether the window @w wrote the source @s (older lines without names: every enabled source
 * when they count as many). */
static int wrote_source(const struct mm_status *st, const struct mm_status_window *w,
                        const struct mm_config_source *s)
{
    size_t enabled = 0;

    if (w->have_names) {
        for (size_t i = 0; i < w->nnames; i++)
            if (strcmp(w->names[i], s->name) == 0)
                return 1;
        return 0;
    }
    for (size_t i = 0; i < st->nsources; i++)
        enabled += st->sources[i].cfg->enabled != 0;
    return s->enabled && w->sources >= 0 && (size_t)w->sources == enabled;
}

static void feed_sources(struct mm_status *st, const struct mm_status_window *w)
{
    /* a suspect generation is never a good one (issue 18): it does not reset the RPO */
    const int good = (w->result == MM_BACKUP_EXIT_OK || w->result == MM_BACKUP_EXIT_ATTENTION) &&
                     strcmp(w->guard, "suspect") != 0;

    if (!w->generations)
        return;
    for (size_t i = 0; i < st->nsources; i++) {
        struct mm_status_source *s = &st->sources[i];
        if (!wrote_source(st, w, s->cfg))
            continue;
        snprintf(s->verify, sizeof(s->verify), "%s", w->verify);
        snprintf(s->guard, sizeof(s->guard), "%s", w->guard);
        if (!good)
            continue;
        s->have_good = 1;
        gen_of(w, &s->good);
    }
}

static void feed_medium(struct mm_status_medium *m, const struct mm_status_window *w)
{
    const int good = w->result == MM_BACKUP_EXIT_OK || w->result == MM_BACKUP_EXIT_ATTENTION;

    m->windows++;
    m->have_last = 1;
    m->last = *w;
    m->last.nnames = 0;
    if (w->generations) {
        m->have_written = 1;
        gen_of(w, &m->written);
    }
    if (good && w->generations && date_key(w->date) > date_key(m->good))
        m->good = w->date;
    if (w->generations_held >= 0)
        m->generations_held = w->generations_held;
    if (w->generations && w->windows_viewer >= 0)
        m->windows_viewer = w->windows_viewer;
    if (w->size_bytes > 0 && w->free_bytes >= 0) {
        m->free_bytes = w->free_bytes;
        m->size_bytes = w->size_bytes;
    }
}

/* The vault step of the window @w (one that tried the vault: "ok" or "failed"). */
static void feed_vault(struct mm_status_vault *v, const struct mm_status_window *w)
{
    if (strcmp(w->vault, "ok") != 0 && strcmp(w->vault, "failed") != 0)
        return;
    v->have_last = 1;
    gen_of(w, &v->last);
    snprintf(v->state, sizeof(v->state), "%s", w->vault);
    snprintf(v->where, sizeof(v->where), "%s", w->vault_where);
    snprintf(v->reason, sizeof(v->reason), "%s", w->vault_reason);
    v->immutable = w->vault_immutable;
    if (w->vault[0] == 'o' && w->generations) {
        v->have_good = 1;
        gen_of(w, &v->good);
        v->retain_until = w->vault_retain_until;
    }
}

int mm_status_feed(struct mm_status *st, const char *line, size_t n)
{
    struct mm_status_window *w;
    struct mm_status_medium *m;
    size_t i = 0;

    while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == n)
        return 0;
    w = mm_malloc(sizeof(*w)); /* 2 KiB of names: not on the stack */
    if (!w)
        return mm_error_set(MM_ENOMEM, "out of memory");
    st->lines++;
    if (n > MM_STATUS_LINE_MAX || mm_status_window_parse(line, n, w) < 0) {
        st->bad_lines++;
        mm_free(w);
        return MM_ECORRUPT;
    }
    if (!st->first.year || date_key(w->date) < date_key(st->first))
        st->first = w->date;
    if (st->drills && w->attached >= 0 &&
        (st->drills->first_window < 0 || w->attached < st->drills->first_window))
        st->drills->first_window = w->attached;
    feed_sources(st, w);
    m = w->medium[0] ? medium_of(st, w->medium) : NULL;
    if (m)
        feed_medium(m, w);
    feed_vault(&st->vault, w);
    mm_free(w);
    return 0;
}

int mm_status_feed_staged(struct mm_status *st, const char *label, const char *data, size_t n)
{
    struct mm_status_medium *m = medium_of(st, label);
    struct mm_status_staged *sg;
    json_t *o;
    char at[32], ex[32];
    int bad;

    if (!m)
        return mm_error_set(MM_ENOTFOUND, "no medium '%s'", label);
    sg = &m->staged;
    o = json_loadb(data, n, JSON_REJECT_DUPLICATES, NULL);
    bad = !o || !json_is_object(o) || get_str(o, "generation", sg->generation, 65) < 0 ||
          get_str(o, "staged_at", at, sizeof(at)) < 0 ||
          get_str(o, "expires", ex, sizeof(ex)) < 0 || get_int(o, "bytes", -1, &sg->bytes) < 0 ||
          mm_status_time_parse(ex, &sg->expires) < 0;
    if (!bad && (!at[0] || mm_status_time_parse(at, &sg->staged_at) < 0))
        sg->staged_at = -1;
    json_decref(o);
    if (bad) {
        memset(sg, 0, sizeof(*sg));
        sg->staged_at = sg->expires = sg->bytes = -1;
        st->bad_staged++;
        return mm_error_set(MM_ECORRUPT, "staged record of '%s' does not parse", label);
    }
    sg->present = 1;
    return 0;
}

/* ---- the drill records ------------------------------------------------------------------- */

int mm_status_feed_drill(struct mm_status *st, const char *line, size_t n)
{
    struct mm_status_drills *dr = st->drills;
    struct mm_status_drill d;
    size_t i = 0;

    if (!dr)
        return MM_EINVAL;
    while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == n)
        return 0;
    dr->lines++;
    if (mm_status_drill_parse(line, n, &d) < 0) {
        dr->bad_lines++;
        return MM_ECORRUPT;
    }
    if (strcmp(d.kind, "full") == 0) {
        if (!dr->have_full || d.at >= dr->full.at) {
            dr->full = d;
            dr->have_full = 1;
        }
        return 0;
    }
    for (size_t k = 0; k < st->nmedia; k++) {
        struct mm_status_drill_medium *m = &dr->media[k];
        if (strcasecmp(st->media[k].cfg->label, d.medium) != 0)
            continue;
        if (!m->have || d.at >= m->last.at) {
            m->last = d;
            m->have = 1;
        }
    }
    return 0;
}

/* ---- the judgement -------------------------------------------------------------------------- */

static void judge_source(struct mm_status *st, struct mm_status_source *s)
{
    if (s->have_good && s->good.at >= 0)
        s->age = st->now > s->good.at ? st->now - s->good.at : 0;
    if (strcmp(s->verify, "damaged") == 0)
        s->attention |= MM_STATUS_WHY_DAMAGED;
    if (s->guard[0] && strcmp(s->guard, "none") != 0 && strcmp(s->guard, "clean") != 0)
        s->attention |= MM_STATUS_WHY_GUARD;
    if (!s->cfg->enabled)
        return;
    if (!s->have_good)
        s->attention |= MM_STATUS_WHY_NEVER;
    else if (s->age < 0 || s->age > s->cfg->rpo)
        s->attention |= MM_STATUS_WHY_RPO;
}

/* The last day before today the medium @m was due, not before the first date read. */
static struct mm_config_date last_due(const struct mm_status *st, const struct mm_status_medium *m)
{
    struct mm_config_date none = { 0, 0, 0 };
    struct mm_config_due due[2];

    if (!st->first.year)
        return none;
    for (int back = 1; back <= MM_STATUS_DUE_LOOKBACK; back++) {
        struct mm_config_date d = mm_config_date_add(st->today, -back);
        if (d.year < 1970 || date_key(d) < date_key(st->first))
            break;
        if (mm_config_medium_for(st->cfg, d, due) == 0 && due[0].medium == m->cfg)
            return d;
    }
    return none;
}

static void judge_medium(struct mm_status *st, struct mm_status_medium *m)
{
    struct mm_config_date d = last_due(st, m);

    m->due_today = st->due_today == m->cfg;
    m->due_next = st->due_next == m->cfg;
    if (d.year && date_key(m->good) < date_key(d)) {
        m->missed = d;
        m->attention |= MM_STATUS_WHY_MISSED;
    }
    if (m->have_last && m->last.result != MM_BACKUP_EXIT_OK)
        m->attention |= MM_STATUS_WHY_FAILED;
    if (m->have_last && strcmp(m->last.verify, "damaged") == 0)
        m->attention |= MM_STATUS_WHY_DAMAGED;
    if (m->staged.present && m->staged.expires >= 0 && m->staged.expires <= st->now) {
        m->staged.expired = 1;
        m->attention |= MM_STATUS_WHY_EXPIRED;
    }
}

/* A configured vault needs a person when its last copy failed, when the store did not prove
 * its Object Lock, or when media were written but nothing ever reached it. */
static void judge_vault(const struct mm_status *st, struct mm_status_vault *v)
{
    int written = 0;

    v->url = mm_config_vault(st->cfg)->url;
    v->attention = 0;
    if (!v->url)
        return;
    for (size_t i = 0; i < st->nmedia; i++)
        written |= st->media[i].have_written;
    if (!v->have_last) {
        if (written)
            v->attention |= MM_STATUS_WHY_NEVER;
        return;
    }
    if (strcmp(v->state, "ok") != 0 || v->immutable == 0)
        v->attention |= MM_STATUS_WHY_VAULT;
}

/* The full drill against [service] full_drill_interval; the structural drills' ages. */
static void judge_drills(const struct mm_status *st, struct mm_status_drills *dr)
{
    int64_t every = mm_config_service(st->cfg)->full_drill_interval;

    dr->attention = 0;
    dr->overdue = dr->never = dr->failed = 0;
    dr->full_age = dr->due = -1;
    for (size_t i = 0; i < st->nmedia; i++)
        dr->media[i].age = dr->media[i].have && st->now >= dr->media[i].last.at
                                   ? st->now - dr->media[i].last.at
                                   : (dr->media[i].have ? 0 : -1);
    if (dr->have_full) {
        dr->full_age = st->now > dr->full.at ? st->now - dr->full.at : 0;
        dr->due = dr->full.at + every;
        dr->failed = strcmp(dr->full.result, "ok") != 0;
        dr->overdue = dr->full_age > every;
    } else if (dr->first_window >= 0) { /* a new installation's grace */
        dr->due = dr->first_window + every;
        dr->never = st->now > dr->due;
    }
    if (dr->failed || dr->overdue || dr->never)
        dr->attention |= MM_STATUS_WHY_DRILL;
}

void mm_status_judge(struct mm_status *st)
{
    struct mm_config_due due[2];

    st->needs = 0;
    st->attention = st->state_found ? 0 : MM_STATUS_WHY_NO_STATE;
    st->due_today = st->due_next = NULL;
    if (mm_config_medium_for(st->cfg, st->today, due) == 0) {
        st->due_today = due[0].medium;
        st->due_next = due[1].medium;
    }
    for (size_t i = 0; i < st->nsources; i++) {
        st->sources[i].attention = 0;
        judge_source(st, &st->sources[i]);
        st->needs += st->sources[i].attention != 0;
    }
    for (size_t i = 0; i < st->nmedia; i++) {
        st->media[i].attention = 0;
        st->media[i].staged.expired = 0;
        judge_medium(st, &st->media[i]);
        st->needs += st->media[i].attention != 0;
    }
    judge_vault(st, &st->vault);
    st->needs += st->vault.attention != 0;
    if (st->drills) {
        judge_drills(st, st->drills);
        for (size_t i = 0; i < st->nmedia; i++) /* a medium already counted is not again */
            if (st->drills->media[i].have && strcmp(st->drills->media[i].last.result, "ok") != 0) {
                st->needs += st->media[i].attention == 0;
                st->media[i].attention |= MM_STATUS_WHY_DRILL;
            }
        st->needs += st->drills->attention != 0;
    }
    st->needs += st->attention != 0;
}

/* ---- reading the host's files --------------------------------------------------------------- */

/* Feed every line of @b (the last one may lack its newline). */
static int feed_lines(struct mm_status *st, const mm_buf *b)
{
    const char *p = b->ptr, *end = b->ptr + b->len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (mm_status_feed(st, p, (size_t)(e - p)) == MM_ENOMEM)
            return MM_ENOMEM;
        p = e + 1;
    }
    return 0;
}

/* Read the last MM_STATUS_TAIL_MAX bytes of @path into @b (limit MM_STATUS_TAIL_MAX), from a
 * line's start. OUT: *found (0: a missing file, not an error), *truncated. */
static int read_tail(const char *path, mm_buf *b, int *found, int *truncated)
{
    struct stat sb;
    off_t off = 0;
    size_t want;
    int err = 0, fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        err = mm_error_set_errno(MM_EIO, errno, "state file '%s'", path);
        goto out;
    }
    *found = 1;
    if (sb.st_size > (off_t)MM_STATUS_TAIL_MAX) {
        off = sb.st_size - (off_t)MM_STATUS_TAIL_MAX;
        *truncated = 1;
    }
    want = (size_t)(sb.st_size - off);
    if ((err = mm_buf_reserve(b, want + 1)) < 0)
        goto out;
    while (b->len < want) { /* the file may shrink or grow meanwhile: read what is there */
        ssize_t got = pread(fd, b->ptr + b->len, want - b->len, off + (off_t)b->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            err = mm_error_set_errno(MM_EIO, errno, "state file '%s'", path);
            goto out;
        }
        if (got == 0)
            break;
        b->len += (size_t)got;
    }
    b->ptr[b->len] = '\0';
    if (*truncated) { /* drop the partial first line */
        char *nl = memchr(b->ptr, '\n', b->len);
        size_t skip = nl ? (size_t)(nl - b->ptr) + 1 : b->len;
        memmove(b->ptr, b->ptr + skip, b->len - skip + 1);
        b->len -= skip;
    }
out:
    if (fd >= 0)
        close(fd);
    return err;
}

/* Feed staged/<LABEL>.json of every medium that has one. */
static int read_staged(struct mm_status *st, const char *dir)
{
    char path[4200];
    mm_buf b;
    int err = 0;

    mm_buf_init(&b, MM_STATUS_STAGED_MAX);
    for (size_t i = 0; i < st->nmedia && err == 0; i++) {
        const char *label = st->media[i].cfg->label;
        mm_buf_clear(&b);
        snprintf(path, sizeof(path), "%s/staged/%s.json", dir, label);
        err = mm_os_read_file(path, &b);
        if (err == 0)
            mm_status_feed_staged(st, label, b.ptr ? b.ptr : "", b.len);
        else if (err == MM_ELIMIT)
            st->bad_staged++;
        if (err == MM_ENOTFOUND || err == MM_ELIMIT)
            err = 0;
    }
    mm_buf_release(&b);
    return err < 0 ? err : 0;
}

int mm_status_read(struct mm_status *st, const mm_config *cfg, struct mm_config_date today,
                   int64_t now)
{
    const struct mm_config_service *sv = mm_config_service(cfg);
    char path[4200];
    mm_buf b;
    int err = mm_status_init(st, cfg, today, now);

    if (err < 0)
        return err;
    mm_buf_init(&b, MM_STATUS_TAIL_MAX);
    if (snprintf(path, sizeof(path), "%s/windows.jsonl", sv->state_dir) >= (int)sizeof(path)) {
        err = mm_error_set(MM_EINVAL, "state_dir is too long");
        goto out;
    }
    if ((err = read_tail(path, &b, &st->state_found, &st->truncated)) < 0 ||
        (err = feed_lines(st, &b)) < 0 || (err = read_staged(st, sv->state_dir)) < 0 ||
        (err = mm_status_read_drills(st, sv->state_dir)) < 0)
        goto out;
    mm_status_judge(st);
out:
    mm_buf_release(&b);
    return err;
}

int mm_status_read_drills(struct mm_status *st, const char *state_dir)
{
    struct mm_status_drills *dr = st->drills;
    char path[4200];
    mm_buf b;
    int err;

    if (!dr || !state_dir)
        return MM_EINVAL;
    if (snprintf(path, sizeof(path), "%s/drills.jsonl", state_dir) >= (int)sizeof(path))
        return mm_error_set(MM_EINVAL, "state_dir is too long");
    mm_buf_init(&b, MM_STATUS_TAIL_MAX);
    err = read_tail(path, &b, &dr->found, &dr->truncated);
    for (const char *p = b.ptr, *end = b.ptr + b.len; err == 0 && p && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        (void)mm_status_feed_drill(st, p, (size_t)(e - p));
        p = e + 1;
    }
    if (err == 0)
        mm_error_clear(); /* the bad lines' messages: counted, not errors */
    mm_buf_release(&b);
    return err;
}

int mm_status_read_guard(struct mm_status *st, const char *guard_dir)
{
    const struct mm_config_service *sv = mm_config_service(st->cfg);
    char dir[4200];
    int err;

    if (!guard_dir) {
        if (!sv->state_dir ||
            snprintf(dir, sizeof(dir), "%s/guard", sv->state_dir) >= (int)sizeof(dir))
            return 0;
        guard_dir = dir;
    }
    mm_free(st->standing);
    st->standing = NULL;
    st->nstanding = 0;
    err = mm_guard_standing_list(guard_dir, &st->standing, &st->nstanding);
    if (err == MM_ENOMEM)
        return err;
    if (err < 0) { /* unreadable or damaged: it may hide a standing suspect */
        mm_error_clear();
        st->standing_unreadable = 1;
        st->needs++;
        return 0;
    }
    st->needs += st->nstanding;
    return 0;
}

void mm_status_release(struct mm_status *st)
{
    mm_free(st->sources);
    mm_free(st->media);
    mm_free(st->heads);
    mm_free(st->standing);
    if (st->drills)
        mm_free(st->drills->media);
    mm_free(st->drills);
    st->drills = NULL;
    st->standing = NULL;
    st->nstanding = 0;
    st->sources = NULL;
    st->media = NULL;
    st->heads = NULL;
    st->nsources = st->nmedia = st->nheads = 0;
}

int mm_status_read_heads(struct mm_status *st, const char *audit_dir)
{
    const size_t ext = strlen(MM_REPO_HEAD_ALERT_EXT);
    DIR *d = audit_dir ? opendir(audit_dir) : NULL;
    struct dirent *e;
    int err = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) && err == 0 && st->nheads < MM_STATUS_HEADS_MAX) {
        struct mm_status_head *h;
        size_t len = strlen(e->d_name), key = len > ext ? len - ext : 0;
        /* <32 hex>.rhead-alert, or <32 hex>-<scheme>-<12 hex>.rhead-alert (repo_int.h) */
        if (key < 32 || key >= sizeof(h->repo) ||
            strcmp(e->d_name + key, MM_REPO_HEAD_ALERT_EXT) != 0 ||
            strspn(e->d_name, "0123456789abcdef") < 32 || (key > 32 && e->d_name[32] != '-'))
            continue;
        if (!st->heads && !(st->heads = mm_calloc(MM_STATUS_HEADS_MAX, sizeof(*st->heads)))) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
            break;
        }
        h = &st->heads[st->nheads];
        memcpy(h->repo, e->d_name, key);
        h->repo[key] = '\0';
        if (mm_repo_head_alert_read(audit_dir, h->repo, h->what, sizeof(h->what))) {
            st->nheads++;
            st->needs++;
        }
    }
    closedir(d);
    return err;
}
