/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The terminal summary's orders: a prescription line as a pharmacist transcribes it (dose per
 * dose or per day with each timing's amount, usage, day pattern, days, start and end, PRN
 * condition and maximum, dispense amount, instructions, flags, site, taper steps in date
 * order, and every field the record did not interpret as 「未解釈」), an injection Rp (type,
 * drugs with amounts and roles, route, site, times, start–end, rate), the current-medication
 * section (mm_viewer_current_meds) and the list of fields not interpreted. Japanese or English
 * labels; values as the record holds them.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "ssmix2/ssmix2.h"
#include "viewer/viewer.h"
#include "viewer/viewer_int.h"

#define put           mm_viewer__put
#define js            mm_viewer__js
#define T(o, ja, en_) ((o)->en ? (en_) : (ja))

static const char *const wdays[][2] = {
    { "日", "Sun" }, { "月", "Mon" }, { "火", "Tue" }, { "水", "Wed" },
    { "木", "Thu" }, { "金", "Fri" }, { "土", "Sat" },
};

const char *mm_viewer__type_name(const struct mm_viewer__out *o, const char *type)
{
    const struct mm_ssmix2_type *t = mm_ssmix2_type_find(type);

    return t ? T(o, t->name_ja, t->name_en) : type;
}

/* "  label a・b・c" for the string array @arr (nothing when empty); @sep between items. */
static void list(struct mm_viewer__out *o, const char *label, const json_t *arr, const char *sep)
{
    const json_t *e;
    size_t i;

    if (!json_array_size(arr))
        return;
    put(o, "  %s", label);
    json_array_foreach(arr, i, e)
    {
        const char *s = json_is_string(e) ? json_string_value(e) : js(e, "text");
        put(o, "%s%s", i ? sep : "", s);
    }
}

/* The amount of a prescription drug line: per timing (1日量) or 1回量. */
static void dose(struct mm_viewer__out *o, const json_t *d)
{
    const json_t *pt = json_object_get(d, "per_timing"), *e;
    const char *unit = js(d, "unit");
    size_t i;

    if (json_array_size(pt)) {
        if (*js(d, "daily_dose"))
            put(o, T(o, "  1日%s%s", "  %s %s a day"), js(d, "daily_dose"),
                *js(d, "daily_unit") ? js(d, "daily_unit") : unit);
        put(o, " (");
        json_array_foreach(pt, i, e)
        {
            json_int_t n = json_integer_value(json_object_get(e, "n"));
            put(o, "%s", i ? T(o, "・", ", ") : "");
            if (*js(e, "label"))
                put(o, o->en ? "%s " : "%s", js(e, "label"));
            else
                put(o, T(o, "%lld回目", "dose %lld: "), (long long)n);
            put(o, o->en ? "%s %s" : "%s%s", js(e, "dose"), unit);
        }
        put(o, ")");
    } else if (*js(d, "dose")) {
        put(o, T(o, "  1回%s%s", "  %s %s per dose"), js(d, "dose"), unit);
        if (*js(d, "daily_dose"))
            put(o, T(o, " (1日%s%s)", " (%s %s a day)"), js(d, "daily_dose"),
                *js(d, "daily_unit") ? js(d, "daily_unit") : unit);
    } else if (*js(d, "daily_dose")) {
        put(o, T(o, "  1日%s%s", "  %s %s a day"), js(d, "daily_dose"),
            *js(d, "daily_unit") ? js(d, "daily_unit") : unit);
    }
}

/* The day pattern of an Rp or item: 隔日, 月・木, its text otherwise. */
static void pattern(struct mm_viewer__out *o, const json_t *p)
{
    const char *kind = js(p, "kind");
    const json_t *w;
    size_t i;

    if (!json_is_object(p))
        return;
    if (strcmp(kind, "weekdays") == 0 && json_array_size(json_object_get(p, "weekdays"))) {
        put(o, "  ");
        json_array_foreach(json_object_get(p, "weekdays"), i, w)
        {
            json_int_t d = json_integer_value(w);
            if (d >= 0 && d <= 6)
                put(o, "%s%s", i ? T(o, "・", ", ") : "", wdays[d][o->en]);
        }
        return;
    }
    if (strcmp(kind, "interval") == 0) {
        json_int_t on = json_integer_value(json_object_get(p, "on"));
        json_int_t off = json_integer_value(json_object_get(p, "off"));
        if (on == 1 && off == 1)
            put(o, "  %s", T(o, "隔日", "every other day"));
        else
            put(o, T(o, "  %lld日投与%lld日休薬", "  %lld days on, %lld off"), (long long)on,
                (long long)off);
        return;
    }
    put(o, "  %s", *js(p, "text") ? js(p, "text") : js(p, "code"));
}

/* Usage, pattern, times and PRN of an Rp or item. */
static void schedule(struct mm_viewer__out *o, const json_t *rp)
{
    int prn = json_is_true(json_object_get(rp, "prn"));

    if (prn)
        put(o, "  %s", T(o, "頓用", "as needed"));
    /* the condition once: the usage text often names it already (内服・経口・疼痛時) */
    if (*js(rp, "condition") && !strstr(js(rp, "usage"), js(rp, "condition")))
        put(o, " %s", js(rp, "condition"));
    if (*js(rp, "usage"))
        put(o, "  %s", js(rp, "usage"));
    pattern(o, json_object_get(rp, "pattern"));
    list(o, "", json_object_get(rp, "times"), T(o, "・", ", "));
    if (*js(rp, "tq_text"))
        put(o, "  %s", js(rp, "tq_text"));
    if (*js(rp, "total"))
        put(o, T(o, "  %s回分", "  %s doses"), js(rp, "total"));
}

/*
 * Days and dates of an Rp: 7日分 (start〜end) / start から / 第N段階 startからN日間; a line
 * with a day pattern shows its last dosing day counted (隔日 7日分 ends on the 13th day).
 */
static void period(struct mm_viewer__out *o, const json_t *order, const json_t *rp)
{
    const json_t *step = json_object_get(rp, "step");
    const char *days = js(rp, "days"), *unit = js(rp, "days_unit");
    const char *start = js(rp, "start"), *end = js(rp, "end");
    int weeks = strcmp(unit, "W") == 0 || strcmp(unit, "w") == 0;
    char last[11];

    if (json_is_object(step) && *start && *days) {
        put(o, T(o, "  第%lld段階 %sから%s%s", "  step %lld: from %s for %s %s"),
            (long long)json_integer_value(json_object_get(step, "n")), start, days,
            weeks ? T(o, "週間", "weeks") : T(o, "日間", "days"));
        return;
    }
    if (json_is_object(step))
        put(o, T(o, "  第%lld段階", "  step %lld"),
            (long long)json_integer_value(json_object_get(step, "n")));
    if (*days)
        put(o, weeks ? T(o, "  %s週分", "  %s weeks") : T(o, "  %s日分", "  %s days"), days);
    if (*start && !*end && *days && json_is_object(json_object_get(rp, "pattern")) &&
        mm_viewer__last_day(order, rp, last) == 0)
        put(o, " (%s〜%s)", start, last);
    else if (*start && *end)
        put(o, " (%s〜%s)", start, end);
    else if (*start)
        put(o, T(o, "  %sから", "  from %s"), start);
    else if (*end)
        put(o, T(o, "  〜%s", "  until %s"), end);
}

/* raw[] of an order, Rp or line: 未解釈: RXE-8 … one per line at @indent. */
static void raw(struct mm_viewer__out *o, const json_t *arr, int indent)
{
    const json_t *e;
    size_t i;

    json_array_foreach(arr, i, e)
            put(o, "%*s%s %s %s\n", indent, "", T(o, "未解釈:", "not interpreted:"), js(e, "field"),
                js(e, "text"));
}

/* Whether a drug line has extras to show (drug_extras). */
static int has_extras(const json_t *d, const json_t *rp)
{
    return json_array_size(json_object_get(d, "flags")) || *js(d, "dispense") ||
           (rp && *js(rp, "site")) || json_array_size(json_object_get(d, "instructions")) ||
           json_array_size(json_object_get(d, "dispensing"));
}

/* The extras line of a drug: flags, dispense, site, instructions, dispensing. */
static void drug_extras(struct mm_viewer__out *o, const json_t *d, const json_t *rp)
{
    put(o, "      ");
    list(o, "", json_object_get(d, "flags"), T(o, "・", ", "));
    if (*js(d, "dispense"))
        put(o, T(o, "  総量 %s%s", "  dispense %s %s"), js(d, "dispense"), js(d, "dispense_unit"));
    if (rp && *js(rp, "site"))
        put(o, T(o, "  部位 %s", "  site %s"), js(rp, "site"));
    list(o, T(o, "指示: ", "instructions: "), json_object_get(d, "instructions"), " / ");
    list(o, T(o, "調剤: ", "dispensing: "), json_object_get(d, "dispensing"), T(o, "・", ", "));
    put(o, "\n");
}

/* One prescription Rp (the @k-th of its order): each drug as one transcribed line, then its
 * extras. The Rp is named by its ORC-4 when that is a short number, else by its place (a
 * group number such as <order>_01_001 means nothing to a reader; the browser does the same). */
static void presc_rp(struct mm_viewer__out *o, const json_t *order, const json_t *rp, size_t k)
{
    const char *no = js(rp, "rp");
    const json_t *d;
    char place[24];
    size_t i, n = strlen(no);

    if (n == 0 || n > 3 || strspn(no, "0123456789") != n) {
        snprintf(place, sizeof(place), "%zu", k);
        no = place;
    }
    json_array_foreach(json_object_get(rp, "drugs"), i, d)
    {
        put(o, "    %s%s  %s", i ? "   " : "Rp", i ? "" : no, js(d, "name"));
        dose(o, d);
        schedule(o, rp);
        period(o, order, rp);
        put(o, "\n");
        if (has_extras(d, i == 0 ? rp : NULL))
            drug_extras(o, d, i == 0 ? rp : NULL);
        raw(o, json_object_get(d, "raw"), 8);
    }
    raw(o, json_object_get(rp, "raw"), 8);
}

/* The drugs of an injection Rp: name amount unit (基剤/添加), joined by ＋. */
static void inj_drugs(struct mm_viewer__out *o, const json_t *rp)
{
    const json_t *d;
    size_t i;

    json_array_foreach(json_object_get(rp, "drugs"), i, d)
    {
        const char *role = js(d, "role");
        put(o, "%s%s", i ? T(o, "＋", " + ") : "", js(d, "name"));
        if (*js(d, "dose"))
            put(o, o->en ? " %s %s" : " %s%s", js(d, "dose"), js(d, "unit"));
        if (strcmp(role, "B") == 0 || strcmp(role, "A") == 0)
            put(o, "（%s）", *role == 'B' ? T(o, "基剤", "base") : T(o, "添加", "additive"));
    }
}

/* Route, site, times, start–end (@dates) and rate of an injection Rp or item. */
static void inj_schedule(struct mm_viewer__out *o, const json_t *rp, int dates)
{
    const char *route = *js(rp, "route_name") ? js(rp, "route_name") : js(rp, "route");
    const char *start = js(rp, "start"), *end = js(rp, "end");

    if (*route)
        put(o, "  %s", route);
    if (*js(rp, "site"))
        put(o, T(o, "  部位 %s", "  site %s"), js(rp, "site"));
    schedule(o, rp);
    if (*js(rp, "days"))
        put(o, T(o, "  %s日分", "  %s days"), js(rp, "days"));
    if (dates && (*start || *end))
        put(o, "  %s〜%s", start, end);
    if (*js(rp, "rate"))
        put(o, "  %s %s", js(rp, "rate"), js(rp, "rate_unit"));
}

/* One injection Rp (numbered @k from 1: ORC-4 of injections is a long key). */
static void inj_rp(struct mm_viewer__out *o, const json_t *rp, size_t k)
{
    put(o, "    Rp%zu  ", k);
    if (*js(rp, "type_name"))
        put(o, "%s  ", js(rp, "type_name"));
    inj_drugs(o, rp);
    inj_schedule(o, rp, 1);
    put(o, "\n");
    if (json_array_size(json_object_get(rp, "instructions"))) {
        put(o, "       ");
        list(o, T(o, "指示: ", "instructions: "), json_object_get(rp, "instructions"), " / ");
        put(o, "\n");
    }
    raw(o, json_object_get(rp, "raw"), 8);
}

/*
 * The position of Rp @i in date order: a taper's steps by their number (1..999), the rest
 * after them as given; unique (the index breaks ties), so every Rp is shown once.
 */
static long long rp_rank(const json_t *rps, size_t i)
{
    const json_t *step = json_object_get(json_array_get(rps, i), "step");
    json_int_t n = json_integer_value(json_object_get(step, "n"));

    return (n >= 1 && n <= 999 ? (long long)n : 1000LL) * 1000000LL + (long long)i;
}

void mm_viewer__text_order(struct mm_viewer__out *o, const json_t *e, int inj)
{
    const json_t *rps = json_object_get(e, "rps");
    size_t n = json_array_size(rps), shown = 0;
    long long last = -1;

    put(o, "  %s  %s%s  %s %s", js(e, "date"), T(o, "オーダ番号 ", "order "), js(e, "order_no"),
        json_is_true(json_object_get(e, "inpatient")) ? T(o, "入院", "inpatient")
                                                      : T(o, "外来", "outpatient"),
        js(e, "doctor"));
    put(o, "%s%s\n", *js(e, "dept_name") ? "  " : "", js(e, "dept_name"));
    raw(o, json_object_get(e, "raw"), 4);
    while (shown < n && n < 1000000) { /* in rank order, without sorting a copy */
        long long best = -1;
        size_t bi = 0;
        for (size_t i = 0; i < n; i++) {
            long long r = rp_rank(rps, i);
            if (r > last && (best < 0 || r < best)) {
                best = r;
                bi = i;
            }
        }
        if (best < 0)
            break;
        last = best;
        shown++;
        if (inj)
            inj_rp(o, json_array_get(rps, bi), bi + 1);
        else
            presc_rp(o, e, json_array_get(rps, bi), bi + 1);
    }
}

/* Whether prescriptions or injections failed to read (the list may then be incomplete). */
static int orders_failed(const json_t *rec)
{
    const json_t *e;
    size_t i;

    json_array_foreach(json_object_get(rec, "read_failures"), i, e)
    {
        const char *s = js(e, "section");
        if ((strcmp(s, "prescriptions") == 0 || strcmp(s, "injections") == 0) &&
            (json_integer_value(json_object_get(e, "failed")) ||
             json_integer_value(json_object_get(e, "folders")) ||
             json_integer_value(json_object_get(e, "damaged"))))
            return 1;
    }
    return 0;
}

/* The dates of a current item: start〜last day (until is exclusive), or 〜end time. */
static void item_dates(struct mm_viewer__out *o, const json_t *it)
{
    const char *start = js(it, "start"), *until = js(it, "until");
    char last[11];

    if (json_is_true(json_object_get(it, "open_ended"))) {
        put(o, T(o, "  %sから（終了日なし）", "  from %s (no end date)"), start);
        return;
    }
    if (strlen(until) == 10)
        mm_viewer__prev_day(until, last);
    else
        snprintf(last, sizeof(last), "%s", "");
    put(o, "  %s〜%s", start, strlen(until) == 10 ? last : until);
}

static const char *const reasons[][3] = {
    { "no_start", "開始日がありません", "no start date" },
    { "bad_start", "開始日が読めません", "the start date cannot be read" },
    { "bad_end", "終了日が読めません", "the end date cannot be read" },
    { "end_before_start", "終了日が開始日より前です", "the end is before the start" },
    { "bad_days", "日数が読めません", "the number of days cannot be read" },
    { "bad_days_unit", "日数の単位が不明です", "the unit of the days is not understood" },
    { "pattern_not_understood", "投与日のパターンが解釈できません",
      "the day pattern is not understood" },
};

static const char *reason_text(const struct mm_viewer__out *o, const char *code)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (strcmp(reasons[i][0], code) == 0)
            return reasons[i][o->en ? 2 : 1];
    return code;
}

/* One current item. */
static void med_item(struct mm_viewer__out *o, const json_t *it)
{
    const char *today = js(it, "today");

    if (strcmp(js(it, "kind"), "injection") == 0) {
        put(o, "  %s ", T(o, "［注射］", "[injection]"));
        inj_drugs(o, it);
        inj_schedule(o, it, 0);
        item_dates(o, it);
        put(o, "\n");
        return;
    }
    put(o, "  %s", js(it, "name"));
    dose(o, it);
    schedule(o, it);
    if (*today)
        put(o, "  %s",
            strcmp(today, "dose") == 0 ? T(o, "本日投与日", "a dosing day today")
                                       : T(o, "本日休薬日", "a rest day today"));
    if (*js(it, "days"))
        put(o, T(o, "  %s日分", "  %s days"), js(it, "days"));
    item_dates(o, it);
    put(o, "\n");
}

void mm_viewer__text_meds(struct mm_viewer__out *o, const json_t *rec, const char *as_of)
{
    json_t *m = NULL;
    const json_t *e;
    size_t i;
    int err, failed = orders_failed(rec);

    put(o, T(o, "\n【服用中・投与中の薬（%s 時点）】\n", "\n[current medication (as of %s)]\n"),
        as_of);
    if ((err = mm_viewer_current_meds(rec, as_of, &m)) < 0) {
        if (o->err == 0)
            o->err = err;
        return;
    }
    json_array_foreach(json_object_get(m, "items"), i, e) med_item(o, e);
    json_array_foreach(json_object_get(m, "undetermined"), i, e)
    {
        put(o,
            T(o, "  ？判定できません: %s（オーダ番号 %s Rp%s）: %s\n",
              "  ? cannot be decided: %s (order %s Rp%s): %s\n"),
            js(e, "name"), js(e, "order_no"), js(e, "rp"), reason_text(o, js(e, "reason")));
    }
    if (failed)
        put(o, "  %s\n",
            T(o, "！読めなかった処方・注射のファイルがあるため、この一覧は不完全かもしれません",
              "! prescription or injection files could not be read: this list may be "
              "incomplete"));
    else if (!json_array_size(json_object_get(m, "items")) &&
             !json_array_size(json_object_get(m, "undetermined")))
        put(o, "  %s\n", T(o, "該当なし", "none"));
    json_decref(m);
}

void mm_viewer__text_uninterpreted(struct mm_viewer__out *o, const json_t *rec)
{
    const json_t *arr = json_object_get(rec, "uninterpreted"), *e, *f;
    size_t i, k;

    if (!json_array_size(arr))
        return;
    put(o, "\n%s\n", T(o, "【未解釈の項目】", "[fields not interpreted]"));
    json_array_foreach(arr, i, e)
    {
        put(o, "  %s %.10s:", js(e, "type"), js(e, "file_time"));
        json_array_foreach(json_object_get(e, "fields"), k, f)
                put(o, "%s %s %s", k ? ";" : "", js(f, "field"), js(f, "text"));
        put(o, "\n");
    }
}
