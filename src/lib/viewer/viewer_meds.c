/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Current medication: which prescription drug lines and injection Rps of a record JSON are in
 * force at a given local time (docs/orders.md, "Current medication"), which could not be
 * decided and why, and a timeline of every line grouped by drug. Dates are civil dates
 * ("YYYY-MM-DD", optionally "THH:MM") counted as day numbers (Howard Hinnant's
 * days_from_civil): no mktime, no time zone, no DST. Nothing read from the record can make
 * this fail except memory: a date, day count or pattern it cannot read puts the line into
 * "undetermined" with a reason code. Workload: one patient, at most a few thousand lines.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/json.h"
#include "viewer/viewer.h"
#include "viewer/viewer_int.h"

#define NO_DAY   (-2147483647L) /* no such day */
#define MAX_DAYS 36500L         /* a day count beyond 100 years is not read */

/* Days since 1970-01-01 of the civil date @y-@m-@d (proleptic Gregorian). */
static long days_from_civil(long y, long m, long d)
{
    long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The civil date of day number @z as "YYYY-MM-DD". */
static void civil_from_days(long z, char out[11])
{
    long era, doe, yoe, y, doy, mp, d, m;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(((y % 10000) + 10000) % 10000),
             (unsigned)m % 100u, (unsigned)d % 100u);
}

/* Day of the week of day number @z, Sunday 0 (1970-01-01 was a Thursday). */
static int weekday(long z)
{
    return (int)(((z % 7) + 7 + 4) % 7);
}

/* The number in the @n digits at @s, or -1 when one is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/*
 * Read "YYYY-MM-DD", "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" (a real calendar date).
 * OUT: *day, *minute (minute of the day, -1 without a time). @return 0, or -1 when not such
 */
static int parse_when(const char *s, long *day, int *minute)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    size_t n = s ? strlen(s) : 0;
    int y, m, d, h, mi, leap;

    if ((n != 10 && n != 16 && n != 19) || s[4] != '-' || s[7] != '-')
        return -1;
    y = digits(s, 4);
    m = digits(s + 5, 2);
    d = digits(s + 8, 2);
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return -1;
    *minute = -1;
    if (n > 10) {
        if (s[10] != 'T' || s[13] != ':' ||
            (n == 19 && (s[16] != ':' || digits(s + 17, 2) < 0 || digits(s + 17, 2) > 59)))
            return -1;
        h = digits(s + 11, 2);
        mi = digits(s + 14, 2);
        if (h < 0 || h > 23 || mi < 0 || mi > 59)
            return -1;
        *minute = h * 60 + mi;
    }
    *day = days_from_civil(y, m, d);
    return 0;
}

int mm_viewer_as_of_check(const char *as_of)
{
    long day;
    int minute;

    if (!as_of || strlen(as_of) != 16 || parse_when(as_of, &day, &minute) < 0)
        return mm_error_set(MM_EINVAL, "not a time of the form YYYY-MM-DDTHH:MM");
    return 0;
}

static const char *js(const json_t *e, const char *k)
{
    const char *s = json_string_value(json_object_get(e, k));
    return s ? s : "";
}

/* A positive day count written as digits (at most MAX_DAYS), or -1. */
static long count_of(const char *s)
{
    long v = 0;

    if (!*s || strlen(s) > 6)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v > 0 && v <= MAX_DAYS ? v : -1;
}

/* What was decided about one line. */
struct span {
    long start, until; /* days; until exclusive, NO_DAY when open-ended */
    int start_min;     /* -1 without a time */
    long end_day;      /* injections with an end: the end, inclusive */
    int end_min;
    int has_end, open, plain; /* plain: no day pattern to honour */
    int kind;                 /* pattern: 0 none, 'I' interval, 'W' weekdays, 'O' other */
    int on, off, wd[7];
    const char *reason; /* NULL, or why the line is undetermined */
};

/* Read @rp's pattern into @s. */
static void read_pattern(const json_t *rp, struct span *s)
{
    const json_t *p = json_object_get(rp, "pattern"), *w;
    const char *kind = js(p, "kind");
    size_t i;

    s->kind = 0;
    if (!json_is_object(p))
        return;
    if (strcmp(kind, "interval") == 0) {
        s->kind = 'I';
        s->on = (int)json_integer_value(json_object_get(p, "on"));
        s->off = (int)json_integer_value(json_object_get(p, "off"));
        if (s->on <= 0 || s->on > 9 || s->off < 0 || s->off > 9)
            s->kind = 'O';
    } else if (strcmp(kind, "weekdays") == 0) {
        int any = 0;
        s->kind = 'W';
        memset(s->wd, 0, sizeof(s->wd));
        json_array_foreach(json_object_get(p, "weekdays"), i, w)
        {
            json_int_t d = json_integer_value(w);
            if (json_is_integer(w) && d >= 0 && d <= 6)
                any = s->wd[d] = 1;
        }
        if (!any)
            s->kind = 'O';
    } else {
        s->kind = 'O';
    }
}

/* Whether day @z is a dosing day of @s's pattern (days before the start are not). */
static int dosing_day(const struct span *s, long z)
{
    if (z < s->start)
        return 0;
    if (s->kind == 'I')
        return (z - s->start) % (s->on + s->off) < s->on;
    if (s->kind == 'W')
        return s->wd[weekday(z)];
    return 1;
}

/* The day after the @n-th dosing day from @s->start (n >= 1, a known pattern). */
static long after_nth(const struct span *s, long n)
{
    long z = s->start;

    if (s->kind == 'I') {
        long cyc = s->on + s->off;
        return s->start + (n - 1) / s->on * cyc + (n - 1) % s->on + 1;
    }
    for (;; z++) /* weekdays: at least one a week, so at most 7 * n steps */
        if (dosing_day(s, z) && --n == 0)
            return z + 1;
}

/* The duration of @rp from its end or its days. @s->start is set. */
static void read_until(const json_t *rp, struct span *s)
{
    const char *end = js(rp, "end"), *days = js(rp, "days"), *unit = js(rp, "days_unit");
    long n;

    s->open = 0;
    if (*end) {
        if (parse_when(end, &s->end_day, &s->end_min) < 0) {
            s->reason = "bad_end";
            return;
        }
        s->has_end = 1;
        s->until = s->end_day + 1;
        if (s->until <= s->start)
            s->reason = "end_before_start";
        return;
    }
    if (!*days) {
        s->open = 1;
        s->until = NO_DAY;
        return;
    }
    if ((n = count_of(days)) < 0) {
        s->reason = "bad_days";
        return;
    }
    if (!*unit || strcmp(unit, "D") == 0 || strcmp(unit, "d") == 0) {
        if (s->kind == 'O')
            s->reason = "pattern_not_understood";
        else
            s->until = s->kind ? after_nth(s, n) : s->start + n;
    } else if (strcmp(unit, "W") == 0 || strcmp(unit, "w") == 0) {
        s->until = s->start + 7 * n; /* calendar weeks, whatever the pattern */
    } else {
        s->reason = "bad_days_unit";
    }
}

/* Decide the span of @rp (of @order). */
static void decide(const json_t *order, const json_t *rp, struct span *s)
{
    const char *start = js(rp, "start");

    memset(s, 0, sizeof(*s));
    s->until = NO_DAY;
    read_pattern(rp, s);
    if (!*start)
        start = js(order, "date");
    if (!*start) {
        s->reason = "no_start";
        return;
    }
    if (parse_when(start, &s->start, &s->start_min) < 0) {
        s->reason = "bad_start";
        return;
    }
    read_until(rp, s);
}

/* Whether @s is current at @day / minute @min (injection: @inj). OUT: none */
static int current(const struct span *s, int inj, long day, int min)
{
    if (s->reason)
        return 0;
    if (inj && s->has_end) {
        long a = day * 1440 + min, st = s->start * 1440 + (s->start_min < 0 ? 0 : s->start_min);
        long en = s->end_min < 0 ? s->end_day * 1440 + 1439 : s->end_day * 1440 + s->end_min;
        return st <= a && a <= en;
    }
    if (inj && s->open) /* start only, no days: the start date only */
        return day == s->start;
    if (s->open)
        return s->start <= day;
    return s->start <= day && day < s->until;
}

/* "until" as the item shows it: exclusive day, an injection's end as written, or "". */
static json_t *until_json(const json_t *rp, const struct span *s, int inj)
{
    char d[11];

    if (inj && s->has_end && s->end_min >= 0)
        return json_string(js(rp, "end"));
    if (inj && s->open) {
        civil_from_days(s->start + 1, d);
        return json_string(d);
    }
    if (s->until == NO_DAY)
        return json_string("");
    civil_from_days(s->until, d);
    return json_string(d);
}

/* Copy the members @keys of @from into @to (missing ones as ""). */
static int copy_keys(json_t *to, const json_t *from, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(from, *keys);
        if (json_object_set_new(to, *keys, v ? json_deep_copy(v) : json_string("")) < 0)
            return -1;
    }
    return 0;
}

static const char *const rp_keys[] = { "rp",         "step", "usage",     "pattern", "times",
                                       "days",       "prn",  "condition", "tq_text", "total",
                                       "route_name", "site", NULL };
static const char *const drug_keys[] = { "name",       "code",       "dose",
                                         "dose_max",   "unit",       "per_timing",
                                         "daily_dose", "daily_unit", NULL };
static const char *const inj_keys[] = { "rate", "rate_unit", "instructions", "drugs", NULL };
static const char *const line_keys[] = { "instructions", NULL };
static const char *const array_keys[] = { "per_timing", "times", "instructions", "drugs", NULL };

/* The first drug of an injection Rp that is a base (role B), else the first. */
static const json_t *main_drug(const json_t *rp)
{
    const json_t *ds = json_object_get(rp, "drugs"), *d;
    size_t i;

    json_array_foreach(ds, i, d) if (strcmp(js(d, "role"), "B") == 0) return d;
    return json_array_get(ds, 0);
}

/* The item of one line (@d the drug; an injection: its main drug). */
static json_t *item_of(const json_t *order, const json_t *rp, const json_t *d, int inj,
                       const struct span *s, long day)
{
    json_t *it = json_object();
    char st[11];

    if (!it)
        return NULL;
    civil_from_days(s->start, st);
    if (json_object_set_new(it, "kind", json_string(inj ? "injection" : "prescription")) < 0 ||
        json_object_set_new(it, "order_no", json_string(js(order, "order_no"))) < 0 ||
        json_object_set_new(it, "order_date", json_string(js(order, "date"))) < 0 ||
        copy_keys(it, rp, rp_keys) < 0 || copy_keys(it, d, drug_keys) < 0 ||
        json_object_set_new(it, "start", json_string(*js(rp, "start") ? js(rp, "start") : st)) <
                0 ||
        json_object_set_new(it, "until", until_json(rp, s, inj)) < 0 ||
        json_object_set_new(it, "open_ended", json_boolean(s->open && !inj)) < 0 ||
        json_object_set_new(it, "today",
                            json_string(!s->kind || s->kind == 'O' ? ""
                                        : dosing_day(s, day)       ? "dose"
                                                                   : "rest")) < 0 ||
        json_object_set_new(it, "dept_name", json_string(js(order, "dept_name"))) < 0 ||
        json_object_set_new(it, "doctor", json_string(js(order, "doctor"))) < 0 ||
        (inj ? copy_keys(it, rp, inj_keys) : copy_keys(it, d, line_keys)) < 0) {
        json_decref(it);
        return NULL;
    }
    for (const char *const *k = array_keys; *k; k++)
        if (!json_is_array(json_object_get(it, *k)))
            json_object_set_new(it, *k, json_array());
    if (!json_is_object(json_object_get(it, "pattern")))
        json_object_set_new(it, "pattern", json_null());
    if (!json_is_object(json_object_get(it, "step")))
        json_object_set_new(it, "step", json_null());
    if (!json_is_boolean(json_object_get(it, "prn")))
        json_object_set_new(it, "prn", json_false());
    return it;
}

/* What the lines are collected into. */
struct acc {
    json_t *items, *undetermined, *groups; /* groups: key -> {code,name,periods} */
    long day;
    int min;
};

/* Add one period of a line to the timeline. */
static int period(struct acc *a, const json_t *order, const json_t *rp, const json_t *d, int inj,
                  const struct span *s, const char *status)
{
    const char *code = js(d, "code"), *name = js(d, "name");
    const char *key = *code ? code : name;
    json_t *g = json_object_get(a->groups, key), *p;

    if (!g) {
        g = json_pack("{s:s,s:s,s:[]}", "code", code, "name", name, "periods");
        if (!g || json_object_set_new(a->groups, key, g) < 0)
            return -1;
    }
    p = json_pack("{s:s,s:s,s:O?,s:s,s:o,s:s,s:s,s:s,s:O?,s:b,s:b,s:s}", "kind",
                  inj ? "injection" : "prescription", "order_no", js(order, "order_no"), "rp",
                  json_object_get(rp, "rp"), "start",
                  *js(rp, "start") ? js(rp, "start") : js(order, "date"), "until",
                  s->reason ? json_string("") : until_json(rp, s, inj), "dose", js(d, "dose"),
                  "unit", js(d, "unit"), "usage", js(rp, "usage"), "pattern",
                  json_object_get(rp, "pattern"), "prn", json_is_true(json_object_get(rp, "prn")),
                  "open_ended", s->open && !s->reason, "status", status);
    return !p || json_array_append_new(json_object_get(g, "periods"), p) < 0 ? -1 : 0;
}

/* Collect one line: its item or undetermined entry, and its period. */
static int line(struct acc *a, const json_t *order, const json_t *rp, const json_t *d, int inj)
{
    struct span s;
    const char *status;
    json_t *it;

    decide(order, rp, &s);
    if (s.reason) {
        it = json_pack("{s:s,s:s,s:O?,s:s,s:s}", "kind", inj ? "injection" : "prescription",
                       "order_no", js(order, "order_no"), "rp", json_object_get(rp, "rp"), "name",
                       js(d, "name"), "reason", s.reason);
        if (!it || json_array_append_new(a->undetermined, it) < 0)
            return -1;
        return period(a, order, rp, d, inj, &s, "undetermined");
    }
    if (current(&s, inj, a->day, a->min)) {
        status = "current";
        if (!(it = item_of(order, rp, d, inj, &s, a->day)) ||
            json_array_append_new(a->items, it) < 0)
            return -1;
    } else {
        status = a->day < s.start || (a->day == s.start && inj && s.start_min > a->min) ? "future"
                                                                                        : "past";
    }
    return period(a, order, rp, d, inj, &s, status);
}

/* Whether an order of the record is in force at all (not cancelled or superseded). */
static int order_current(const json_t *o)
{
    const char *st = js(o, "status");

    return (!*st || strcmp(st, "current") == 0) && !json_is_true(json_object_get(o, "cancelled"));
}

/* Every line of the orders in array @key. */
static int orders(struct acc *a, const json_t *rec, const char *key, int inj)
{
    const json_t *o, *rp, *d;
    size_t i, k, j;

    json_array_foreach(json_object_get(rec, key), i, o)
    {
        if (!order_current(o))
            continue;
        json_array_foreach(json_object_get(o, "rps"), k, rp)
        {
            if (inj) {
                const json_t *m = main_drug(rp);
                json_t *empty = m ? NULL : json_object();
                int err = line(a, o, rp, m ? m : empty, 1);
                json_decref(empty);
                if (err < 0)
                    return -1;
                continue;
            }
            json_array_foreach(json_object_get(rp, "drugs"), j,
                               d) if (line(a, o, rp, d, 0) < 0) return -1;
        }
    }
    return 0;
}

static int by_name(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int c = strcmp(js(a, "name"), js(b, "name"));

    return c ? c : strcmp(js(a, "code"), js(b, "code"));
}

static int by_start(const void *x, const void *y)
{
    return strcmp(js(*(json_t *const *)x, "start"), js(*(json_t *const *)y, "start"));
}

/* Sort a jansson array with qsort. */
static int sort_array(json_t *arr, int (*cmp)(const void *, const void *), json_t **out)
{
    size_t n = json_array_size(arr);
    json_t **v = n ? calloc(n, sizeof(*v)) : NULL, *r = json_array();
    int err = 0;

    if ((n && !v) || !r) {
        free(v);
        json_decref(r);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(arr, i);
    if (n)
        qsort(v, n, sizeof(*v), cmp);
    for (size_t i = 0; i < n && err == 0; i++)
        err = json_array_append(r, v[i]);
    free(v);
    if (err < 0) {
        json_decref(r);
        return -1;
    }
    *out = r;
    return 0;
}

/* The timeline from the groups: sorted by name, each group's periods by start. */
static json_t *timeline(json_t *groups)
{
    json_t *list = json_array(), *g, *sorted = NULL, *ps;
    const char *k;

    if (!list)
        return NULL;
    json_object_foreach(groups, k, g)
    {
        if (sort_array(json_object_get(g, "periods"), by_start, &ps) < 0 ||
            json_object_set_new(g, "periods", ps) < 0 || json_array_append(list, g) < 0) {
            json_decref(list);
            return NULL;
        }
    }
    if (sort_array(list, by_name, &sorted) < 0)
        sorted = NULL;
    json_decref(list);
    return sorted;
}

int mm_viewer_current_meds(const json_t *record, const char *as_of, json_t **out)
{
    struct acc a = { 0 };
    json_t *r = NULL, *tl = NULL;
    int err = 0;

    MM_ASSERT_ARG(record && out);
    if ((err = mm_viewer_as_of_check(as_of)) < 0)
        return err;
    parse_when(as_of, &a.day, &a.min);
    a.items = json_array();
    a.undetermined = json_array();
    a.groups = json_object();
    if (!a.items || !a.undetermined || !a.groups || orders(&a, record, "prescriptions", 0) < 0 ||
        orders(&a, record, "injections", 1) < 0 || !(tl = timeline(a.groups)) ||
        !(r = json_pack("{s:s,s:O,s:O,s:o}", "as_of", as_of, "items", a.items, "undetermined",
                        a.undetermined, "timeline", tl))) {
        err = mm_error_set(MM_ENOMEM, "out of memory computing the current medication");
        goto out;
    }
    *out = r;
out:
    json_decref(a.items);
    json_decref(a.undetermined);
    json_decref(a.groups);
    return err;
}

int mm_viewer_record_with_meds(const char *json, size_t n, const char *from, size_t from_n,
                               const char *as_of, mm_buf *out)
{
    json_t *rec = NULL, *src = NULL, *meds = NULL;
    char *s = NULL;
    size_t end = n, start = out ? out->len : 0;
    int err;

    MM_ASSERT_ARG(json && out);
    if ((err = mm_viewer_as_of_check(as_of)) < 0)
        return err;
    while (end > 0 && (json[end - 1] == ' ' || json[end - 1] == '\n' || json[end - 1] == '\r' ||
                       json[end - 1] == '\t'))
        end--;
    if (!(rec = json_loadb(json, n, 0, NULL)) || !json_is_object(rec) || !end ||
        json[end - 1] != '}') {
        err = mm_error_set(MM_ECORRUPT, "the patient's record is not a JSON object");
        goto out;
    }
    if (from && (!(src = json_loadb(from, from_n, 0, NULL)) || !json_is_object(src))) {
        err = mm_error_set(MM_ECORRUPT, "the patient's record is not a JSON object");
        goto out;
    }
    if ((err = mm_viewer_current_meds(src ? src : rec, as_of, &meds)) < 0)
        goto out;
    if (!(s = json_dumps(meds, JSON_COMPACT))) {
        err = mm_error_set(MM_ENOMEM, "out of memory writing the current medication");
        goto out;
    }
    err = mm_buf_put(out, json, end - 1);
    if (err == 0)
        err = mm_buf_puts(out, json_object_size(rec) ? ",\"current_medication\":"
                                                     : "\"current_medication\":");
    if (err == 0)
        err = mm_buf_puts(out, s);
    if (err == 0)
        err = mm_buf_putc(out, '}');
    if (err < 0)
        mm_buf_truncate(out, start);
out:
    free(s);
    json_decref(meds);
    json_decref(src);
    json_decref(rec);
    return err;
}

void mm_viewer__prev_day(const char *date, char out[11])
{
    long day;
    int minute;

    out[0] = '\0';
    if (date && strlen(date) == 10 && parse_when(date, &day, &minute) == 0)
        civil_from_days(day - 1, out);
}

int mm_viewer__last_day(const json_t *order, const json_t *rp, char out[11])
{
    struct span s;

    out[0] = '\0';
    decide(order, rp, &s);
    if (s.reason || s.open || s.until == NO_DAY)
        return -1;
    civil_from_days(s.until - 1, out);
    return 0;
}
