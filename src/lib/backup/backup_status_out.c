/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two machine formats of the status (status.h): one JSON document (its shape is
 * documented in docs/operations.md §8.6 and stays stable: fields are only added) and
 * Prometheus' text exposition format 0.0.4 for node_exporter's textfile collector. Unknown
 * figures are null in JSON and left out in Prometheus. Strings go through the one JSON
 * writer (common/json.h); Prometheus label values are escaped here (\\, \", \n).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "backup/status.h"
#include "common/error.h"
#include "common/json.h"

/* ---- JSON ----------------------------------------------------------------------------------- */

/* `,"key":` (no comma when @first). */
static int key(mm_buf *b, int first, const char *k)
{
    return mm_buf_printf(b, "%s\"%s\":", first ? "" : ",", k);
}

static int jdate(mm_buf *b, int first, const char *k, struct mm_config_date d)
{
    if (!d.year)
        return mm_buf_printf(b, "%s\"%s\":null", first ? "" : ",", k);
    return mm_buf_printf(b, "%s\"%s\":\"%04d-%02d-%02d\"", first ? "" : ",", k, d.year, d.month,
                         d.day);
}

static int jtime(mm_buf *b, const char *k, int64_t t)
{
    char s[32];

    if (t < 0)
        return mm_buf_printf(b, ",\"%s\":null", k);
    return mm_buf_printf(b, ",\"%s\":\"%s\"", k, mm_status_time_str(t, s, sizeof(s)));
}

static int jint(mm_buf *b, const char *k, int64_t v)
{
    if (v < 0)
        return mm_buf_printf(b, ",\"%s\":null", k);
    return mm_buf_printf(b, ",\"%s\":%" PRId64, k, v);
}

/* `,"key":"s"` (no comma when @first), or null when @s is empty. */
static int jstr1(mm_buf *b, int first, const char *k, const char *s)
{
    int err = key(b, first, k);

    if (err == 0)
        err = s && s[0] ? mm_json_str(b, s) : mm_buf_puts(b, "null");
    return err;
}

static int jstr(mm_buf *b, const char *k, const char *s)
{
    return jstr1(b, 0, k, s);
}

static int jwhy(mm_buf *b, unsigned int bits)
{
    int err = mm_buf_puts(b, ",\"attention\":["), n = 0;

    for (unsigned int i = 0; i < MM_STATUS_WHY_COUNT && err == 0; i++)
        if (bits & (1u << i))
            err = mm_buf_printf(b, "%s\"%s\"", n++ ? "," : "", mm_status_why_name(i));
    return err ? err : mm_buf_putc(b, ']');
}

static int jgen(mm_buf *b, const char *k, int have, const struct mm_status_gen *g)
{
    int err = key(b, 0, k);

    if (err || !have)
        return err ? err : mm_buf_puts(b, "null");
    if ((err = mm_buf_puts(b, "{")) == 0 && (err = mm_json_kv(b, 1, "generation", g->id)) == 0 &&
        (err = jdate(b, 0, "date", g->date)) == 0 && (err = jtime(b, "time", g->at)) == 0 &&
        (err = jstr(b, "medium", g->medium)) == 0)
        err = mm_buf_putc(b, '}');
    return err;
}

static int json_source(mm_buf *b, const struct mm_status_source *s)
{
    const struct mm_config_source *c = s->cfg;
    int err = mm_json_kv(b, 1, "name", c->name);

    if (err == 0)
        err = mm_buf_printf(b, ",\"kind\":\"%s\",\"enabled\":%s,\"rpo_s\":%" PRId64,
                            c->kind == MM_CONFIG_SOURCE_SSMIX2 ? "ssmix2" : "folder",
                            c->enabled ? "true" : "false", c->rpo);
    if (err == 0)
        err = jgen(b, "last_good", s->have_good, &s->good);
    if (err == 0 && (err = jint(b, "age_s", s->age)) == 0 &&
        (err = jstr(b, "verify", s->verify)) == 0 && (err = jstr(b, "guard", s->guard)) == 0)
        err = jwhy(b, s->attention);
    return err;
}

static int json_window(mm_buf *b, const struct mm_status_medium *m)
{
    const struct mm_status_window *w = &m->last;
    int err = key(b, 0, "last_window");

    if (err || !m->have_last)
        return err ? err : mm_buf_puts(b, "null");
    if ((err = mm_buf_putc(b, '{')) == 0 && (err = jdate(b, 1, "date", w->date)) == 0 &&
        (err = jtime(b, "time", w->attached)) == 0)
        err = w->online_s >= 0 ? mm_buf_printf(b, ",\"online_s\":%.3f", w->online_s)
                               : mm_buf_puts(b, ",\"online_s\":null");
    if (err == 0)
        err = mm_buf_printf(b, ",\"result\":%d", w->result);
    if (err == 0 && (err = jstr(b, "stage", w->stage)) == 0 &&
        (err = jstr(b, "reason", w->reason)) == 0 && (err = jstr(b, "verify", w->verify)) == 0)
        err = mm_buf_putc(b, '}');
    return err;
}

static int json_staged(mm_buf *b, const struct mm_status_staged *sg)
{
    int err = key(b, 0, "staged");

    if (err || !sg->present)
        return err ? err : mm_buf_puts(b, "null");
    if ((err = mm_buf_putc(b, '{')) == 0 &&
        (err = mm_json_kv(b, 1, "generation", sg->generation)) == 0 &&
        (err = jtime(b, "staged_at", sg->staged_at)) == 0 &&
        (err = jtime(b, "expires", sg->expires)) == 0 && (err = jint(b, "bytes", sg->bytes)) == 0)
        err = mm_buf_printf(b, ",\"expired\":%s}", sg->expired ? "true" : "false");
    return err;
}

static int json_medium(mm_buf *b, const struct mm_status_medium *m)
{
    int err = mm_json_kv(b, 1, "label", m->cfg->label);

    if (err == 0)
        err = mm_buf_printf(b, ",\"due_today\":%s,\"due_next\":%s,\"windows\":%zu",
                            m->due_today ? "true" : "false", m->due_next ? "true" : "false",
                            m->windows);
    if (err == 0 && (err = jgen(b, "last_written", m->have_written, &m->written)) == 0 &&
        (err = json_window(b, m)) == 0 &&
        (err = jint(b, "generations_held", m->generations_held)) == 0 &&
        (err = jint(b, "free_bytes", m->free_bytes)) == 0 &&
        (err = jint(b, "size_bytes", m->size_bytes)) == 0 &&
        (err = jdate(b, 0, "last_good_date", m->good)) == 0 &&
        (err = jdate(b, 0, "missed", m->missed)) == 0 && (err = json_staged(b, &m->staged)) == 0)
        err = mm_buf_printf(b, ",\"windows_viewer\":%s",
                            m->windows_viewer < 0 ? "null"
                            : m->windows_viewer   ? "true"
                                                  : "false");
    if (err == 0)
        err = jwhy(b, m->attention);
    return err;
}

static int json_head(const struct mm_status *st, mm_buf *b)
{
    const struct mm_config_hospital *h = mm_config_hospital(st->cfg);
    int err = mm_buf_printf(b, "{\"verdict\":\"%s\",\"needs_attention\":%zu",
                            st->needs ? "attention" : "ok", st->needs);

    if (err == 0 && (err = jwhy(b, st->attention)) == 0 &&
        (err = jdate(b, 0, "date", st->today)) == 0 && (err = jtime(b, "now", st->now)) == 0 &&
        (err = jstr(b, "hospital", h->id)) == 0)
        err = mm_buf_printf(b,
                            ",\"state\":{\"found\":%s,\"lines\":%zu,\"bad_lines\":%zu,"
                            "\"truncated\":%s,\"bad_staged\":%zu",
                            st->state_found ? "true" : "false", st->lines, st->bad_lines,
                            st->truncated ? "true" : "false", st->bad_staged);
    if (err == 0 && (err = jdate(b, 0, "first_date", st->first)) == 0 &&
        (err = mm_buf_puts(b, "},\"due\":{")) == 0)
        err = jstr1(b, 1, "today", st->due_today ? st->due_today->label : NULL);
    if (err == 0)
        err = jstr(b, "next", st->due_next ? st->due_next->label : NULL);
    return err ? err : mm_buf_putc(b, '}');
}

/* ",\"head_disagreements\":[{repository, problem}...]" */
static int json_heads(const struct mm_status *st, mm_buf *out)
{
    int err = mm_buf_puts(out, ",\"head_disagreements\":[");

    for (size_t i = 0; i < st->nheads && err == 0; i++) {
        err = mm_buf_printf(out, "%s{\"repository\":\"%s\",\"problem\":", i ? "," : "",
                            st->heads[i].repo);
        if (err == 0)
            err = mm_json_str(out, st->heads[i].what);
        if (err == 0)
            err = mm_buf_putc(out, '}');
    }
    return err ? err : mm_buf_putc(out, ']');
}

/* ",\"guard_standing\":[{generation, repository, medium, since}...]" (issue 18) */
static int json_standing(const struct mm_status *st, mm_buf *out)
{
    int err = mm_buf_printf(out, ",\"guard_standing_unreadable\":%s,\"guard_standing\":[",
                            st->standing_unreadable ? "true" : "false");

    for (size_t i = 0; i < st->nstanding && err == 0; i++) {
        const struct mm_guard_standing *g = &st->standing[i];
        err = mm_buf_printf(out, "%s{\"generation\":\"%s\",\"repository\":\"%s\",\"medium\":",
                            i ? "," : "", g->gen, g->repo_id);
        if (err == 0)
            err = mm_json_str(out, g->medium);
        if (err == 0)
            err = jtime(out, "since", g->time_s);
        if (err == 0)
            err = mm_buf_putc(out, '}');
    }
    return err ? err : mm_buf_putc(out, ']');
}

/* "vault": null without [vault]; else its URL, last attempt, last good copy, attention. */
static int json_vault(mm_buf *b, const struct mm_status_vault *v)
{
    int err;

    if (!v->url)
        return mm_buf_puts(b, ",\"vault\":null");
    err = mm_buf_puts(b, ",\"vault\":{");
    if (err == 0 && (err = mm_json_kv(b, 1, "url", v->url)) == 0 &&
        (err = jstr(b, "state", v->have_last ? v->state : "")) == 0 &&
        (err = jstr(b, "where", v->where)) == 0 && (err = jstr(b, "reason", v->reason)) == 0)
        err = mm_buf_printf(b, ",\"immutable\":%s",
                            v->immutable < 0 ? "null"
                            : v->immutable   ? "true"
                                             : "false");
    if (err == 0 && (err = jgen(b, "last", v->have_last, &v->last)) == 0 &&
        (err = jgen(b, "last_good", v->have_good, &v->good)) == 0)
        err = v->have_good && v->retain_until > 0 ? jtime(b, "retain_until", v->retain_until)
                                                  : mm_buf_puts(b, ",\"retain_until\":null");
    if (err == 0 && (err = jwhy(b, v->attention)) == 0)
        err = mm_buf_putc(b, '}');
    return err;
}

/* `,"key":` and the drill record @d as drills.jsonl holds it, or null. */
static int jdrill(mm_buf *b, const char *k, int have, const struct mm_status_drill *d)
{
    int err = key(b, 0, k);

    if (err || !have)
        return err ? err : mm_buf_puts(b, "null");
    return mm_status_drill_json(d, b);
}

/* `,"drills":{...}`: the last full drill and each medium's last structural one. */
static int json_drills(const struct mm_status *st, mm_buf *b)
{
    const struct mm_status_drills *dr = st->drills;
    int err;

    if (!dr)
        return 0;
    err = mm_buf_puts(b, ",\"drills\":{\"found\":");
    if (err == 0)
        err = mm_buf_printf(b, "%s,\"full_interval_seconds\":%" PRId64,
                            dr->found ? "true" : "false",
                            mm_config_service(st->cfg)->full_drill_interval);
    if (err == 0 && (err = jdrill(b, "full", dr->have_full, &dr->full)) == 0 &&
        (err = jint(b, "full_age_seconds", dr->full_age)) == 0 &&
        (err = jtime(b, "full_due", dr->due)) == 0)
        err = mm_buf_puts(b, ",\"structural\":[");
    for (size_t i = 0; i < st->nmedia && err == 0; i++) {
        const struct mm_status_drill_medium *m = &dr->media[i];
        if ((err = mm_buf_puts(b, i ? ",{" : "{")) == 0 &&
            (err = mm_json_kv(b, 1, "medium", st->media[i].cfg->label)) == 0 &&
            (err = jdrill(b, "last", m->have, &m->last)) == 0 &&
            (err = jint(b, "age_seconds", m->age)) == 0)
            err = mm_buf_putc(b, '}');
    }
    if (err == 0)
        err = mm_buf_printf(b, "],\"lines\":%zu,\"bad_lines\":%zu,\"truncated\":%s", dr->lines,
                            dr->bad_lines, dr->truncated ? "true" : "false");
    if (err == 0)
        err = jwhy(b, dr->attention);
    return err ? err : mm_buf_putc(b, '}');
}

int mm_status_json(const struct mm_status *st, mm_buf *out)
{
    int err = json_head(st, out);

    if (err == 0 && (st->nstanding || st->standing_unreadable)) /* only when one stands */
        err = json_standing(st, out);
    if (err == 0)
        err = mm_buf_puts(out, ",\"sources\":[");
    for (size_t i = 0; i < st->nsources && err == 0; i++)
        if ((err = mm_buf_puts(out, i ? ",{" : "{")) == 0 &&
            (err = json_source(out, &st->sources[i])) == 0)
            err = mm_buf_putc(out, '}');
    if (err == 0)
        err = mm_buf_puts(out, "],\"media\":[");
    for (size_t i = 0; i < st->nmedia && err == 0; i++)
        if ((err = mm_buf_puts(out, i ? ",{" : "{")) == 0 &&
            (err = json_medium(out, &st->media[i])) == 0)
            err = mm_buf_putc(out, '}');
    if (err == 0)
        err = mm_buf_putc(out, ']');
    if (err == 0)
        err = json_vault(out, &st->vault);
    if (err == 0)
        err = json_drills(st, out);
    if (err == 0 && st->nheads) /* only when the host knows of one (issue 17.1) */
        err = json_heads(st, out);
    return err ? err : mm_buf_puts(out, "}\n");
}

/* ---- Prometheus ----------------------------------------------------------------------------- */

/* A label value, escaped as the exposition format wants (\\ \" \n). */
static int prom_label(mm_buf *b, const char *name, const char *v)
{
    int err = mm_buf_printf(b, "%s=\"", name);

    for (const char *p = v; *p && err == 0; p++)
        err = *p == '\\'   ? mm_buf_puts(b, "\\\\")
              : *p == '"'  ? mm_buf_puts(b, "\\\"")
              : *p == '\n' ? mm_buf_puts(b, "\\n")
                           : mm_buf_putc(b, *p);
    return err ? err : mm_buf_putc(b, '"');
}

static int prom_family(mm_buf *b, const char *name, const char *help)
{
    return mm_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* One sample `name{label="v"[,when="w"]} value`. */
static int prom_sample(mm_buf *b, const char *name, const char *label, const char *v,
                       const char *when, const char *value)
{
    int err = mm_buf_printf(b, "%s{", name);

    if (err == 0)
        err = prom_label(b, label, v);
    if (err == 0 && when && (err = mm_buf_putc(b, ',')) == 0)
        err = prom_label(b, "when", when);
    return err ? err : mm_buf_printf(b, "} %s\n", value);
}

enum prom_src { P_LAST_GOOD, P_RPO, P_AGE, P_SRC_ATT, P_SRC_COUNT };

static const char *const src_family[P_SRC_COUNT][2] = {
    { "mamori_source_last_good_timestamp_seconds",
      "Time the last good generation holding the source was written (Unix seconds)." },
    { "mamori_source_rpo_seconds", "The source's RPO target in seconds." },
    { "mamori_source_age_seconds", "Age of the source's last good generation in seconds." },
    { "mamori_source_needs_attention", "1 when the source needs a person, else 0." },
};

/* The value of family @f for source @s into @v; 0 when unknown (left out). */
static int src_value(const struct mm_status_source *s, int f, char *v, size_t cap)
{
    int64_t x = f == P_LAST_GOOD ? (s->have_good ? s->good.at : -1)
                : f == P_RPO     ? s->cfg->rpo
                : f == P_AGE     ? s->age
                                 : s->attention != 0;
    if (x < 0)
        return 0;
    snprintf(v, cap, "%" PRId64, x);
    return 1;
}

enum prom_med {
    P_WRITTEN,
    P_WINDOW,
    P_RESULT,
    P_FREE,
    P_SIZE,
    P_GENS,
    P_STAGED,
    P_WINVIEW,
    P_MED_ATT,
    P_MED_COUNT
};

static const char *const med_family[P_MED_COUNT][2] = {
    { "mamori_medium_last_written_timestamp_seconds",
      "Time a generation was last written to the medium (Unix seconds)." },
    { "mamori_medium_last_online_window_seconds",
      "Seconds the medium was online in its last window (attach to detach)." },
    { "mamori_medium_last_result",
      "Exit status of the medium's last window (0 ok, 1 failed, 4 attention)." },
    { "mamori_medium_free_bytes", "Free bytes on the medium, recorded while it was attached." },
    { "mamori_medium_size_bytes",
      "Size of the medium's filesystem in bytes, recorded while attached." },
    { "mamori_medium_generations", "Generations held on the medium after its last backup." },
    { "mamori_medium_staged_bytes", "Bytes staged on the host waiting for the medium." },
    { "mamori_medium_windows_viewer",
      "1 when the medium's last backup put the Windows viewer on it, 0 when the host had no "
      "Windows build." },
    { "mamori_medium_needs_attention", "1 when the medium needs a person, else 0." },
};

static int med_value(const struct mm_status_medium *m, int f, char *v, size_t cap)
{
    int64_t x;

    if (f == P_WINDOW) {
        if (!m->have_last || m->last.online_s < 0)
            return 0;
        snprintf(v, cap, "%.3f", m->last.online_s);
        return 1;
    }
    x = f == P_WRITTEN   ? (m->have_written ? m->written.at : -1)
        : f == P_RESULT  ? (m->have_last ? m->last.result : -1)
        : f == P_FREE    ? m->free_bytes
        : f == P_SIZE    ? m->size_bytes
        : f == P_GENS    ? m->generations_held
        : f == P_STAGED  ? (m->staged.present ? m->staged.bytes : -1)
        : f == P_WINVIEW ? m->windows_viewer
                         : m->attention != 0;
    if (x < 0)
        return 0;
    snprintf(v, cap, "%" PRId64, x);
    return 1;
}

static int prom_sources(const struct mm_status *st, mm_buf *b)
{
    char v[40];
    int err = 0;

    for (int f = 0; f < P_SRC_COUNT && err == 0; f++) {
        err = prom_family(b, src_family[f][0], src_family[f][1]);
        for (size_t i = 0; i < st->nsources && err == 0; i++)
            if (src_value(&st->sources[i], f, v, sizeof(v)))
                err = prom_sample(b, src_family[f][0], "source", st->sources[i].cfg->name, NULL, v);
    }
    return err;
}

static int prom_media(const struct mm_status *st, mm_buf *b)
{
    char v[40];
    int err = 0;

    for (int f = 0; f < P_MED_COUNT && err == 0; f++) {
        err = prom_family(b, med_family[f][0], med_family[f][1]);
        for (size_t i = 0; i < st->nmedia && err == 0; i++)
            if (med_value(&st->media[i], f, v, sizeof(v)))
                err = prom_sample(b, med_family[f][0], "medium", st->media[i].cfg->label, NULL, v);
    }
    if (err == 0)
        err = prom_family(b, "mamori_medium_due",
                          "1 for the medium due today (when=\"today\") and next (when=\"next\").");
    for (int w = 0; w < 2 && err == 0; w++)
        for (size_t i = 0; i < st->nmedia && err == 0; i++)
            err = prom_sample(b, "mamori_medium_due", "medium", st->media[i].cfg->label,
                              w ? "next" : "today",
                              (w ? st->media[i].due_next : st->media[i].due_today) ? "1" : "0");
    return err;
}

/* The vault's gauges (only with [vault]): its last copy ok, the store immutable. */
static int prom_vault(const struct mm_status_vault *v, mm_buf *b)
{
    int err;

    if (!v->url)
        return 0;
    err = prom_family(b, "mamori_vault_ok",
                      "1 when the last copy to the S3 vault succeeded (0 failed, -1 none yet).");
    if (err == 0)
        err = mm_buf_printf(b, "mamori_vault_ok %d\n",
                            !v->have_last ? -1 : strcmp(v->state, "ok") == 0);
    if (err == 0)
        err = prom_family(b, "mamori_vault_immutable",
                          "1 when the S3 vault proved its Object Lock (0 not immutable, -1 "
                          "unknown).");
    if (err == 0)
        err = mm_buf_printf(b, "mamori_vault_immutable %d\n", v->immutable);
    return err;
}

/* The drills' gauges: the full drill's age and result, each medium's structural drill. */
static int prom_drills(const struct mm_status *st, mm_buf *b)
{
    const struct mm_status_drills *dr = st->drills;
    char v[40];
    int err;

    if (!dr)
        return 0;
    err = prom_family(b, "mamori_drill_full_age_seconds",
                      "Age of the last full restore drill in seconds.");
    if (err == 0 && dr->full_age >= 0)
        err = mm_buf_printf(b, "mamori_drill_full_age_seconds %" PRId64 "\n", dr->full_age);
    if (err == 0)
        err = prom_family(b, "mamori_drill_full_ok",
                          "1 when the last full restore drill passed (0 failed, -1 none yet).");
    if (err == 0)
        err = mm_buf_printf(b, "mamori_drill_full_ok %d\n",
                            !dr->have_full ? -1 : strcmp(dr->full.result, "ok") == 0);
    if (err == 0)
        err = prom_family(b, "mamori_drill_structural_age_seconds",
                          "Age of the medium's last structural drill in seconds.");
    for (size_t i = 0; i < st->nmedia && err == 0; i++)
        if (dr->media[i].have) {
            snprintf(v, sizeof(v), "%" PRId64, dr->media[i].age);
            err = prom_sample(b, "mamori_drill_structural_age_seconds", "medium",
                              st->media[i].cfg->label, NULL, v);
        }
    if (err == 0)
        err = prom_family(b, "mamori_drill_structural_ok",
                          "1 when the medium's last structural drill passed, else 0.");
    for (size_t i = 0; i < st->nmedia && err == 0; i++)
        if (dr->media[i].have)
            err = prom_sample(b, "mamori_drill_structural_ok", "medium", st->media[i].cfg->label,
                              NULL, strcmp(dr->media[i].last.result, "ok") == 0 ? "1" : "0");
    return err;
}

int mm_status_prometheus(const struct mm_status *st, mm_buf *out)
{
    int err = prom_family(out, "mamori_needs_attention",
                          "Items that need a person (0: all good), as mamori status counts them.");

    if (err == 0)
        err = mm_buf_printf(out, "mamori_needs_attention %zu\n", st->needs);
    if (err == 0 && (err = prom_family(out, "mamori_status_timestamp_seconds",
                                       "When this status was made (Unix seconds).")) == 0)
        err = mm_buf_printf(out, "mamori_status_timestamp_seconds %" PRId64 "\n", st->now);
    if (err == 0 && (err = prom_family(out, "mamori_state_bad_lines",
                                       "Lines of windows.jsonl that did not parse.")) == 0)
        err = mm_buf_printf(out, "mamori_state_bad_lines %zu\n", st->bad_lines);
    if (err == 0 && (err = prom_family(out, "mamori_guard_standing",
                                       "Suspect generations standing on this host (the guard); "
                                       "-1: the list cannot be read.")) == 0)
        err = mm_buf_printf(out, "mamori_guard_standing %lld\n",
                            st->standing_unreadable ? -1LL : (long long)st->nstanding);
    if (err == 0)
        err = prom_sources(st, out);
    if (err == 0 && st->nheads && /* only when the host knows of one (issue 17.1) */
        (err = prom_family(out, "mamori_head_disagreements",
                           "Media whose repository head disagrees with this host's copy.")) == 0)
        err = mm_buf_printf(out, "mamori_head_disagreements %zu\n", st->nheads);
    if (err == 0)
        err = prom_media(st, out);
    if (err == 0)
        err = prom_vault(&st->vault, out);
    return err ? err : prom_drills(st, out);
}
