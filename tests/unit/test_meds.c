/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_meds: the current medication (mm_viewer_current_meds) and the terminal summary's
 * orders (mm_viewer_record_text), from record JSON written by hand in the shape of the issue
 * 15 contract (docs/orders.md): a taper's switch days, an alternate-day regimen on a dosing
 * and a rest day, a Monday/Thursday regimen, PRN and open-ended lines, injections running or
 * finished, cancelled and superseded orders, unreadable dates; then each construct as text,
 * in Japanese and English.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "viewer/viewer.h"

/* An Rp of one drug line; @extra: more members of the Rp ("" or ",\"k\":v..."). */
#define RP(rp, start, days, extra, drug)                                                       \
    "{\"rp\":\"" rp "\",\"usage\":\"内服・経口・１日１回朝食後\",\"start\":\"" start           \
    "\",\"end\":\"\",\"days\":\"" days "\",\"days_unit\":\"\",\"pattern\":null,\"prn\":false," \
    "\"times\":[],\"step\":null" extra ",\"drugs\":[" drug "]}"
#define DRUG(code, name, dose)                                                             \
    "{\"code\":\"" code "\",\"name\":\"" name "\",\"dose\":\"" dose "\",\"unit\":\"錠\"," \
    "\"per_timing\":[],\"instructions\":[],\"dispensing\":[],\"flags\":[],\"raw\":[]}"
#define ORDER(status, no, date, rps)                                                           \
    "{\"status\":\"" status "\",\"kind\":\"prescription\",\"order_no\":\"" no                  \
    "\",\"date\":\"" date                                                                      \
    "\",\"dept_name\":\"内科\",\"doctor\":\"医師 一郎\",\"inpatient\":false,\"raw\":[]," \
    "\"rps\":[" rps "]}"

/* The taper: 30 mg for 2 days from 4/1, 20 mg for 3 days from 4/3, 10 mg for 7 days from 4/6. */
#define TAPER                                                                          \
    ORDER("current", "T1", "2020-04-01",                                               \
          RP("1", "2020-04-01", "2", ",\"step\":{\"n\":1,\"of\":3}",                   \
             DRUG("P5", "プレドニン",                                                  \
                  "6")) "," RP("2", "2020-04-03", "3", ",\"step\":{\"n\":2,\"of\":3}", \
                               DRUG("P5", "プレドニン",                                \
                                    "4")) "," RP("3", "2020-04-06", "7",               \
                                                 ",\"step\":{\"n\":3,\"of\":3}",       \
                                                 DRUG("P5", "プレドニン", "2")))
/* 隔日 for 7 dosing days from Friday 2026-08-21: the last dose is on 2026-09-02. */
#define ALTERNATE                                                                                   \
    ORDER("current", "A1", "2026-08-21",                                                            \
          RP("1", "2026-08-21", "7",                                                                \
             ",\"pattern\":{\"kind\":\"interval\",\"code\":\"I1100000\",\"text\":\"隔日投与\"," \
             "\"on\":1,\"off\":1}",                                                                 \
             DRUG("D1", "ダーゼン錠", "1")))
/* 月・木 for 4 dosing days from Monday 2026-08-24: 24, 27, 31, 9/3. */
#define WEEKDAYS                                                                                             \
    ORDER("current", "W1", "2026-08-24",                                                                     \
          RP("1", "2026-08-24", "4",                                                                         \
             ",\"pattern\":{\"kind\":\"weekdays\",\"code\":\"W0100100\",\"text\":\"月曜日、木曜日\"," \
             "\"weekdays\":[1,4]}",                                                                          \
             DRUG("M1", "メトトレキサート", "2")))
#define PRN                                                                              \
    ORDER("current", "P1", "2026-08-20",                                                 \
          RP("1", "", "",                                                                \
             ",\"prn\":true,\"condition\":\"疼痛時\",\"tq_text\":\"1日2回まで\"," \
             "\"total\":\"10\"",                                                         \
             DRUG("L1", "ロキソニン錠", "1")))
#define OPEN                             \
    ORDER("current", "O1", "2026-01-10", \
          RP("1", "2026-01-10", "", "", DRUG("O1", "アムロジン", "1")))
#define CANCELLED                          \
    ORDER("cancelled", "C1", "2026-08-01", \
          RP("1", "2026-08-01", "90", "", DRUG("C1", "取消薬", "1")))
#define SUPERSEDED                          \
    ORDER("superseded", "S1", "2026-08-01", \
          RP("1", "2026-08-01", "90", "", DRUG("S1", "旧薬", "1")))
#define NOSTART ORDER("current", "N1", "", RP("1", "", "7", "", DRUG("N1", "開始不明薬", "1")))
#define BADSTART                         \
    ORDER("current", "B1", "2026-08-01", \
          RP("1", "2026-13-45", "7", "", DRUG("B1", "日付化け薬", "1")))

/* An injection Rp (as the contract's injection JSON). */
#define INJ(no, start, end, days)                                                                        \
    "{\"status\":\"current\",\"kind\":\"injection\",\"order_no\":\"" no                                  \
    "\",\"date\":\"2026-08-24\","                                                                        \
    "\"dept_name\":\"外科\",\"doctor\":\"医師 二郎\",\"inpatient\":true,\"raw\":[],\"rps\":[{"     \
    "\"rp\":\"1\",\"type_name\":\"点滴\",\"usage\":\"\",\"pattern\":null,\"times\":[\"10:00\"],"       \
    "\"days\":\"" days "\",\"days_unit\":\"\",\"start\":\"" start "\",\"end\":\"" end "\","              \
    "\"prn\":false,\"route\":\"IV\",\"route_name\":\"静脈内\",\"site\":\"左手\",\"rate\":\"102\","  \
    "\"rate_unit\":\"ml/hr\",\"instructions\":[\"血圧低下が見られたら中止\"],\"step\":null," \
    "\"raw\":[],\"drugs\":[{\"code\":\"S3\",\"name\":\"ソルデム3A\",\"dose\":\"500\",\"unit\":"      \
    "\"mL\",\"role\":\"B\"},{\"code\":\"AD\",\"name\":\"アドナ\",\"dose\":\"50\",\"unit\":\"mg\","    \
    "\"role\":\"A\"}]}]}"

/* The current medication of {"prescriptions":[@presc],"injections":[@inj]} at @as_of. */
static json_t *meds(const char *presc, const char *inj, const char *as_of)
{
    char *text = NULL;
    json_t *rec, *out = NULL;
    size_t n = strlen(presc) + strlen(inj) + 64;

    text = malloc(n);
    assert_non_null(text);
    snprintf(text, n, "{\"prescriptions\":[%s],\"injections\":[%s]}", presc, inj);
    rec = json_loads(text, 0, NULL);
    assert_non_null(rec);
    assert_int_equal(mm_viewer_current_meds(rec, as_of, &out), 0);
    json_decref(rec);
    free(text);
    return out;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The item of order @no in @m, or NULL. */
static const json_t *item(const json_t *m, const char *no)
{
    const json_t *e;
    size_t i;

    json_array_foreach(json_object_get(m, "items"), i,
                       e) if (strcmp(jstr(e, "order_no"), no) == 0) return e;
    return NULL;
}

static void meds__taper_switch_days(void **state)
{
    json_t *m;

    (void)state;
    m = meds(TAPER, "", "2020-04-02T23:59"); /* the last day of step 1 */
    assert_int_equal(json_array_size(json_object_get(m, "items")), 1);
    assert_string_equal(jstr(item(m, "T1"), "dose"), "6");
    assert_string_equal(jstr(item(m, "T1"), "until"), "2020-04-03");
    json_decref(m);
    m = meds(TAPER, "", "2020-04-03T00:00"); /* the first day of step 2 */
    assert_int_equal(json_array_size(json_object_get(m, "items")), 1);
    assert_string_equal(jstr(item(m, "T1"), "dose"), "4");
    assert_string_equal(jstr(item(m, "T1"), "start"), "2020-04-03");
    json_decref(m);
    m = meds(TAPER, "", "2020-04-06T08:00"); /* step 3 */
    assert_string_equal(jstr(item(m, "T1"), "dose"), "2");
    assert_int_equal(json_array_size(json_object_get(m, "items")), 1);
    json_decref(m);
    m = meds(TAPER, "", "2020-04-13T08:00"); /* the day after 4/6 + 7 days */
    assert_int_equal(json_array_size(json_object_get(m, "items")), 0);
    /* the timeline holds the three steps of the one drug, by start */
    assert_int_equal(json_array_size(json_object_get(m, "timeline")), 1);
    {
        const json_t *ps =
                json_object_get(json_array_get(json_object_get(m, "timeline"), 0), "periods");
        assert_int_equal(json_array_size(ps), 3);
        assert_string_equal(jstr(json_array_get(ps, 0), "start"), "2020-04-01");
        assert_string_equal(jstr(json_array_get(ps, 2), "start"), "2020-04-06");
        assert_string_equal(jstr(json_array_get(ps, 2), "status"), "past");
    }
    json_decref(m);
}

static void meds__alternate_day(void **state)
{
    json_t *m;

    (void)state;
    m = meds(ALTERNATE, "", "2026-08-22T09:00"); /* a rest day */
    assert_non_null(item(m, "A1"));
    assert_string_equal(jstr(item(m, "A1"), "today"), "rest");
    assert_string_equal(jstr(item(m, "A1"), "until"), "2026-09-03");
    json_decref(m);
    m = meds(ALTERNATE, "", "2026-08-23T09:00"); /* a dosing day */
    assert_string_equal(jstr(item(m, "A1"), "today"), "dose");
    json_decref(m);
    m = meds(ALTERNATE, "", "2026-09-02T21:00"); /* the 7th dosing day */
    assert_string_equal(jstr(item(m, "A1"), "today"), "dose");
    json_decref(m);
    m = meds(ALTERNATE, "", "2026-09-03T00:00"); /* over */
    assert_null(item(m, "A1"));
    json_decref(m);
    m = meds(ALTERNATE, "", "2026-08-20T23:59"); /* not yet */
    assert_null(item(m, "A1"));
    json_decref(m);
}

static void meds__weekdays(void **state)
{
    json_t *m;

    (void)state;
    m = meds(WEEKDAYS, "", "2026-08-25T09:00"); /* Tuesday */
    assert_string_equal(jstr(item(m, "W1"), "today"), "rest");
    json_decref(m);
    m = meds(WEEKDAYS, "", "2026-08-27T09:00"); /* Thursday */
    assert_string_equal(jstr(item(m, "W1"), "today"), "dose");
    assert_string_equal(jstr(item(m, "W1"), "until"), "2026-09-04");
    json_decref(m);
    m = meds(WEEKDAYS, "", "2026-09-04T09:00"); /* after the 4th dose (Thursday 9/3) */
    assert_null(item(m, "W1"));
    json_decref(m);
}

static void meds__prn_and_open_ended(void **state)
{
    json_t *m;

    (void)state;
    m = meds(PRN "," OPEN, "", "2027-03-01T09:00");
    assert_non_null(item(m, "P1"));
    assert_true(json_is_true(json_object_get(item(m, "P1"), "prn")));
    assert_true(json_is_true(json_object_get(item(m, "P1"), "open_ended")));
    assert_string_equal(jstr(item(m, "P1"), "condition"), "疼痛時");
    assert_string_equal(jstr(item(m, "P1"), "start"), "2026-08-20"); /* the order's date */
    assert_string_equal(jstr(item(m, "P1"), "until"), "");
    assert_non_null(item(m, "O1"));
    assert_true(json_is_true(json_object_get(item(m, "O1"), "open_ended")));
    json_decref(m);
    m = meds(PRN "," OPEN, "", "2026-08-19T09:00"); /* before the PRN order */
    assert_null(item(m, "P1"));
    assert_non_null(item(m, "O1"));
    json_decref(m);
}

static void meds__injections(void **state)
{
    const char *inj = INJ("I1", "2026-08-24T08:00", "2026-08-24T15:00", "") "," INJ(
            "I2", "2026-08-24T10:00", "", "") "," INJ("I3", "2026-08-20", "", "3");
    json_t *m;

    (void)state;
    m = meds("", inj, "2026-08-24T09:00");
    assert_non_null(item(m, "I1")); /* running */
    assert_non_null(item(m, "I2")); /* start only: its start date */
    assert_null(item(m, "I3"));     /* 3 days from 8/20: over */
    assert_string_equal(jstr(item(m, "I1"), "name"), "ソルデム3A");
    assert_string_equal(jstr(item(m, "I1"), "rate"), "102");
    assert_int_equal(json_array_size(json_object_get(item(m, "I1"), "drugs")), 2);
    json_decref(m);
    m = meds("", inj, "2026-08-24T15:01"); /* I1 finished */
    assert_null(item(m, "I1"));
    assert_non_null(item(m, "I2"));
    json_decref(m);
    m = meds("", inj, "2026-08-25T09:00");
    assert_null(item(m, "I2"));
    json_decref(m);
    m = meds("", inj, "2026-08-22T09:00");
    assert_non_null(item(m, "I3"));
    json_decref(m);
}

static void meds__cancelled_never_current(void **state)
{
    json_t *m;

    (void)state;
    m = meds(CANCELLED "," SUPERSEDED, "", "2026-08-10T09:00");
    assert_int_equal(json_array_size(json_object_get(m, "items")), 0);
    assert_int_equal(json_array_size(json_object_get(m, "timeline")), 0);
    json_decref(m);
}

static void meds__unreadable_start(void **state)
{
    json_t *m;
    const json_t *u;

    (void)state;
    m = meds(NOSTART "," BADSTART, "", "2026-08-10T09:00");
    assert_int_equal(json_array_size(json_object_get(m, "items")), 0);
    u = json_object_get(m, "undetermined");
    assert_int_equal(json_array_size(u), 2);
    assert_string_equal(jstr(json_array_get(u, 0), "reason"), "no_start");
    assert_string_equal(jstr(json_array_get(u, 0), "name"), "開始不明薬");
    assert_string_equal(jstr(json_array_get(u, 1), "reason"), "bad_start");
    json_decref(m);
}

static void meds__days_and_calendar(void **state)
{
    json_t *m;

    (void)state;
    /* 2 days from 2024-02-28 cover the leap day, not March 1st */
    m = meds(ORDER("current", "L", "2024-02-28",
                   RP("1", "2024-02-28", "2", "", DRUG("X", "閏日薬", "1"))),
             "", "2024-02-29T12:00");
    assert_string_equal(jstr(item(m, "L"), "until"), "2024-03-01");
    json_decref(m);
    m = meds(ORDER("current", "L", "2024-02-28",
                   RP("1", "2024-02-28", "2", "", DRUG("X", "閏日薬", "1"))),
             "", "2024-03-01T00:00");
    assert_null(item(m, "L"));
    json_decref(m);
    /* days_unit W: weeks */
    m = meds(ORDER("current", "WK", "2026-12-25",
                   RP("1", "2026-12-25", "2", ",\"days_unit\":\"W\"", DRUG("X", "週薬", "1"))),
             "", "2027-01-07T12:00");
    assert_string_equal(jstr(item(m, "WK"), "until"), "2027-01-08");
    json_decref(m);
    /* an unreadable day count is undetermined, not dropped */
    m = meds(ORDER("current", "BD", "2026-12-25",
                   RP("1", "2026-12-25", "7日", "", DRUG("X", "薬", "1"))),
             "", "2026-12-26T12:00");
    assert_string_equal(jstr(json_array_get(json_object_get(m, "undetermined"), 0), "reason"),
                        "bad_days");
    json_decref(m);
}

static void meds__bad_as_of(void **state)
{
    static const char *const bad[] = { "2026-08-24",       "2026-02-30T09:00",  "2026-08-24T24:00",
                                       "2026-08-24 09:00", "2026-08-24T09:00Z", "" };
    json_t *rec = json_object(), *out = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(mm_viewer_current_meds(rec, bad[i], &out), MM_EINVAL);
    assert_null(out);
    assert_int_equal(mm_viewer_as_of_check("2028-02-29T23:59"), 0);
    json_decref(rec);
}

/* ---- the terminal summary ---- */

/* The record of the text tests, in parts (C11 limits a string literal's length). */
static const char *const record_parts[] = {
    "{\"patient\":{\"id\":\"0001\",\"name\":\"山田 花子\",\"kana\":\"ヤマダ ハナコ\","
    "\"birth_date\":\"1950-01-01\",\"sex\":\"F\",\"source\":\"OMP-01\","
    "\"source_time\":\"2026-08-21T10:00:00\"},"
    "\"allergies\":[{\"status\":\"current\",\"type\":\"EA\",\"code\":\"\",\"name\":\"スギ\","
    "\"severity\":\"\",\"reaction\":\"\",\"source\":{\"type\":\"OMP-02\",\"file_time\":"
    "\"2020-08-25T09:00:00\",\"order_no\":\"I1\"},\"also_in\":[\"OMP-01\"]}],",
    "\"prescriptions\":[" TAPER "," ALTERNATE ",",
    WEEKDAYS "," PRN ",",
    "{\"status\":\"current\",\"kind\":\"prescription\",\"order_no\":\"U1\",\"date\":"
    "\"2026-08-21\",\"dept_name\":\"内科\",\"doctor\":\"医師\",\"inpatient\":false,"
    "\"raw\":[],\"rps\":[{\"rp\":\"1\",\"usage\":\"内服・経口・１日３回朝昼夕食後\","
    "\"start\":\"2026-08-21\",\"end\":\"\",\"days\":\"7\",\"days_unit\":\"\",\"pattern\":null,"
    "\"prn\":false,\"times\":[],\"step\":null,\"site\":\"\",\"raw\":[{\"field\":\"TQ1-12\","
    "\"text\":\"X\"}],\"drugs\":[{\"code\":\"PR\",\"name\":\"プレドニン錠５ｍｇ\",\"dose\":\"1\","
    "\"dose_max\":\"4\",\"unit\":\"錠\",\"daily_dose\":\"7\",\"daily_unit\":\"錠\","
    "\"per_timing\":[{\"n\":1,\"label\":\"朝\",\"dose\":\"4\"},{\"n\":2,\"label\":\"昼\","
    "\"dose\":\"2\"},{\"n\":3,\"label\":\"夕\",\"dose\":\"1\"}],\"dispense\":\"49\","
    "\"dispense_unit\":\"錠\",\"instructions\":[\"血圧低下が見られたら中止\"],"
    "\"dispensing\":[\"粉砕\"],\"flags\":[\"麻薬\"],\"raw\":[{\"field\":\"RXE-8\",\"text\":"
    "\"abc^def\"}]},{\"code\":\"AL\",\"name\":\"アレピアチン散\",\"dose\":\"50\","
    "\"unit\":\"mg\",\"daily_dose\":\"100\",\"daily_unit\":\"\"},{\"code\":\"LX\","
    "\"name\":\"ラキソベロン液\",\"dose\":\"\",\"unit\":\"滴\",\"daily_dose\":\"10\"}]}]}],",
    "\"injections\":[" INJ(
            "I1", "2026-08-24T08:00", "2026-08-24T15:00",
            "") "],"
                "\"uninterpreted\":[{\"type\":\"ADT-00\",\"file_time\":\"2026-08-01T10:00:00\","
                "\"fields\":[{\"field\":\"PID-9\",\"text\":\"別名\"}]}],"
                "\"read_failures\":[]}",
};
static char record_text_json[8192];

static int setup(void **state)
{
    (void)state;
    record_text_json[0] = '\0';
    for (size_t i = 0; i < sizeof(record_parts) / sizeof(record_parts[0]); i++)
        strncat(record_text_json, record_parts[i],
                sizeof(record_text_json) - strlen(record_text_json) - 1);
    return strlen(record_text_json) + 1 < sizeof(record_text_json) ? 0 : -1;
}

/* The summary of @json in @lang at @as_of, NUL-terminated (free it). */
static char *text_of(const char *json, enum mm_viewer_lang lang, const char *as_of)
{
    mm_buf b;
    char *s;

    mm_buf_init(&b, MM_LIMIT_JSON);
    assert_int_equal(mm_viewer_record_text(json, strlen(json), lang, as_of, &b), 0);
    s = malloc(b.len + 1);
    assert_non_null(s);
    memcpy(s, b.ptr, b.len);
    s[b.len] = '\0';
    mm_buf_release(&b);
    return s;
}

#define HAS(s, x)                                         \
    do {                                                  \
        if (!strstr((s), (x)))                            \
            fail_msg("missing \"%s\" in:\n%s", (x), (s)); \
    } while (0)

static void text__orders_ja(void **state)
{
    char *s = text_of(record_text_json, MM_VIEWER_JA, "2026-08-24T09:00");
    if (getenv("MEDS_DUMP"))
        fputs(s, stderr);

    (void)state;
    HAS(s, "【服用中・投与中の薬（2026-08-24T09:00 時点）】");
    HAS(s,
        "プレドニン錠５ｍｇ  1日7錠 (朝4錠・昼2錠・夕1錠)  内服・経口・１日３回朝昼夕食後  7日分  "
        "2026-08-21から");
    HAS(s, "ダーゼン錠  1回1錠  内服・経口・１日１回朝食後  隔日  7日分 (2026-08-21〜2026-09-02)");
    HAS(s, "メトトレキサート  1回2錠  内服・経口・１日１回朝食後  月・木  4日分 "
           "(2026-08-24〜2026-09-03)");
    HAS(s, "ダーゼン錠  1回1錠  内服・経口・１日１回朝食後  隔日  本日休薬日  7日分  "
           "2026-08-21〜2026-09-02");
    HAS(s, "メトトレキサート  1回2錠  内服・経口・１日１回朝食後  月・木  本日投与日");
    HAS(s, "ロキソニン錠  1回1錠  頓用 疼痛時  内服・経口・１日１回朝食後  1日2回まで  10回分");
    HAS(s, "第1段階 2020-04-01から2日間");
    HAS(s, "アレピアチン散  1回50mg (1日100mg)");
    HAS(s, "ラキソベロン液  1日10滴");
    HAS(s, "第2段階 2020-04-03から3日間");
    HAS(s, "麻薬  総量 49錠  指示: 血圧低下が見られたら中止  調剤: 粉砕");
    HAS(s, "未解釈: RXE-8 abc^def");
    HAS(s, "未解釈: TQ1-12 X");
    HAS(s, "点滴  ソルデム3A 500mL（基剤）＋アドナ 50mg（添加）  静脈内  部位 左手  10:00  "
           "2026-08-24T08:00〜2026-08-24T15:00  102 ml/hr");
    HAS(s, "［注射］ ソルデム3A 500mL（基剤）＋アドナ 50mg（添加）  静脈内  部位 左手  10:00  102 "
           "ml/hr  2026-08-24T08:00〜2026-08-24T15:00");
    HAS(s, "指示: 血圧低下が見られたら中止");
    HAS(s, "! スギ（環境）  出典: 注射オーダ 2020-08-25（ほかに 処方オーダ）");
    HAS(s, "※ADT-00なし: 処方オーダ 2026-08-21 のPIDより");
    HAS(s, "【未解釈の項目】\n  ADT-00 2026-08-01: PID-9 別名");
    assert_null(strstr(s, "該当なし"));
    /* the current list comes first, before the allergies */
    assert_true(strstr(s, "【服用中") < strstr(s, "【アレルギー】"));
    /* the taper's steps print in date order */
    assert_true(strstr(s, "第1段階") < strstr(s, "第2段階"));
    free(s);
}

static void text__orders_en(void **state)
{
    char *s = text_of(record_text_json, MM_VIEWER_EN, "2026-08-27T09:00");

    (void)state;
    HAS(s, "[current medication (as of 2026-08-27T09:00)]");
    HAS(s,
        "プレドニン錠５ｍｇ  7 錠 a day (朝 4 錠, 昼 2 錠, 夕 1 錠)  内服・経口・１日３回朝昼夕食後  "
        "7 days  2026-08-21〜2026-08-27\n");       /* the current list: the last day is 8/27 */
    HAS(s, "every other day  a dosing day today"); /* 8/27: the 4th dosing day from 8/21 */
    HAS(s, "Mon, Thu  a dosing day today");
    HAS(s, "as needed 疼痛時");
    HAS(s, "10 doses");
    HAS(s, "step 1: from 2020-04-01 for 2 days");
    HAS(s, "not interpreted: RXE-8 abc^def");
    HAS(s, "102 ml/hr");
    HAS(s, "source: injection order 2020-08-25 (also in prescription order)");
    HAS(s, "* no ADT-00: from the PID of prescription order 2026-08-21");
    HAS(s, "[fields not interpreted]");
    free(s);
}

static void text__none_only_without_failures(void **state)
{
    static const char empty[] =
            "{\"patient\":null,\"allergies\":[],\"prescriptions\":[],\"injections\":[],"
            "\"read_failures\":[]}";
    static const char failed[] =
            "{\"patient\":null,\"allergies\":[],\"prescriptions\":[],\"injections\":[],"
            "\"read_failures\":[{\"type\":\"OMP-01\",\"section\":\"prescriptions\","
            "\"type_name\":\"処方オーダ\",\"type_name_en\":\"prescription order\",\"files\":2,"
            "\"failed\":1,\"folders\":0,\"damaged\":0,\"reason\":\"\"}]}";
    char *s = text_of(empty, MM_VIEWER_JA, "2026-08-24T09:00");

    (void)state;
    HAS(s, "時点）】\n  該当なし\n");
    HAS(s, "【アレルギー】\n  登録なし\n");
    free(s);
    s = text_of(failed, MM_VIEWER_JA, "2026-08-24T09:00");
    assert_null(strstr(s, "該当なし"));
    assert_null(strstr(s, "登録なし"));
    HAS(s, "この一覧は不完全かもしれません");
    HAS(s, "アレルギーの記載は見つかりませんが、読めなかったファイルがあります");
    free(s);
    s = text_of(failed, MM_VIEWER_EN, "2026-08-24T09:00");
    HAS(s, "this list may be incomplete");
    HAS(s, "no allergy found, but some files could not be read");
    free(s);
}

static void text__undetermined_shown(void **state)
{
    static const char rec[] = "{\"prescriptions\":[" NOSTART "]}";
    char *s = text_of(rec, MM_VIEWER_JA, "2026-08-24T09:00");

    (void)state;
    HAS(s, "？判定できません: 開始不明薬（オーダ番号 N1 Rp1）: 開始日がありません");
    assert_null(strstr(s, "該当なし"));
    free(s);
}

/* Two tapers in one order (steps 1 and 2 each) and a bad step: every Rp once, by step. */
static void text__every_rp_once_in_step_order(void **state)
{
    static const char rec[] = "{\"prescriptions\":[" ORDER(
            "current", "T2", "2020-04-01",
            RP("1", "2020-04-03", "3", ",\"step\":{\"n\":2,\"of\":2}", DRUG("A", "薬A", "2")) "," RP(
                    "2", "2020-04-01", "2", ",\"step\":{\"n\":1,\"of\":2}",
                    DRUG("B", "薬B",
                         "1")) "," RP("3", "2020-04-01", "2", ",\"step\":{\"n\":1,\"of\":2}",
                                      DRUG("A", "薬A",
                                           "4")) "," RP("4", "2020-04-03", "3",
                                                        ",\"step\":{\"n\":-5}",
                                                        DRUG("C", "薬C",
                                                             "1")) "," RP("5", "2020-04-03", "3",
                                                                          ",\"step\":{\"n\":2,\"of\":2}",
                                                                          DRUG("B", "薬B",
                                                                               "1"))) "]}";
    char *s = text_of(rec, MM_VIEWER_JA, "2020-04-02T09:00");
    const char *rp[] = { "Rp2  薬B", "Rp3  薬A", "Rp1  薬A", "Rp5  薬B", "Rp4  薬C" };
    const char *at = s;

    (void)state;
    for (size_t i = 0; i < 5; i++) {
        const char *p = strstr(at, rp[i]);
        if (!p)
            fail_msg("\"%s\" missing or out of order in:\n%s", rp[i], s);
        at = p + 1;
    }
    free(s);
}

/* Members of the wrong type, out-of-range patterns and huge counts: rendered, never a crash. */
static void text__hostile_shapes(void **state)
{
    static const char *const recs[] = {
        "{\"prescriptions\":\"x\",\"injections\":{},\"allergies\":7,\"patient\":[]}",
        "{\"prescriptions\":[1,\"a\",null,{\"rps\":7},{\"rps\":[1,{\"drugs\":\"x\"}]}]}",
        "{\"prescriptions\":[{\"date\":\"2026-08-01\",\"rps\":[{\"start\":5,\"days\":\"36500\","
        "\"pattern\":{\"kind\":\"weekdays\",\"weekdays\":[-1,7,\"3\",99999999999]},"
        "\"drugs\":[{\"name\":1,\"per_timing\":[1,{\"n\":\"x\"}],\"flags\":[{}]}]}]}]}",
        "{\"prescriptions\":[{\"date\":\"2026-08-01\",\"rps\":[{\"days\":\"36500\","
        "\"pattern\":{\"kind\":\"weekdays\",\"weekdays\":[0]},\"step\":{\"n\":-5},"
        "\"drugs\":[{}]},{\"days\":\"999999999\",\"pattern\":{\"kind\":\"interval\","
        "\"on\":9,\"off\":9},\"drugs\":[{}]},{\"days\":\"36500\",\"pattern\":{\"kind\":"
        "\"interval\",\"on\":1,\"off\":0},\"drugs\":[{}]}]}],\"injections\":[{\"rps\":[{"
        "\"start\":\"2026-08-24T25:00\",\"drugs\":[]},{\"start\":\"2026-08-24\",\"end\":"
        "\"2026-08-23\"}]}],\"uninterpreted\":[{\"fields\":7},3]}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
        char *s = text_of(recs[i], MM_VIEWER_JA, "2026-08-24T09:00");
        free(s);
        s = text_of(recs[i], MM_VIEWER_EN, NULL);
        free(s);
    }
}

static void record_with_meds__appends_member(void **state)
{
    static const char rec[] = "{\"prescriptions\":[" OPEN "]} \n";
    mm_buf b;
    json_t *j;

    (void)state;
    mm_buf_init(&b, MM_LIMIT_JSON);
    assert_int_equal(mm_buf_puts(&b, "x"), 0);
    assert_int_equal(mm_viewer_record_with_meds(rec, strlen(rec), NULL, 0, "2026-08-24T09:00", &b),
                     0);
    assert_int_equal(b.ptr[0], 'x');
    assert_memory_equal(b.ptr + 1, rec, 20); /* copied byte for byte */
    j = json_loadb((const char *)b.ptr + 1, b.len - 1, 0, NULL);
    assert_non_null(j);
    assert_string_equal(jstr(json_object_get(j, "current_medication"), "as_of"),
                        "2026-08-24T09:00");
    assert_int_equal(
            json_array_size(json_object_get(json_object_get(j, "current_medication"), "items")), 1);
    json_decref(j);
    /* judged from @from (the record without history) when given */
    mm_buf_clear(&b);
    assert_int_equal(mm_viewer_record_with_meds(rec, strlen(rec), "{\"prescriptions\":[]}", 20,
                                                "2026-08-24T09:00", &b),
                     0);
    j = json_loadb((const char *)b.ptr, b.len, 0, NULL);
    assert_non_null(j);
    assert_int_equal(
            json_array_size(json_object_get(json_object_get(j, "current_medication"), "items")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "prescriptions")), 1);
    json_decref(j);
    assert_int_equal(mm_viewer_record_with_meds(rec, strlen(rec), NULL, 0, "bad", &b), MM_EINVAL);
    assert_int_equal(mm_viewer_record_with_meds("[1]", 3, NULL, 0, "2026-08-24T09:00", &b),
                     MM_ECORRUPT);
    mm_error_clear();
    mm_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(meds__taper_switch_days),
        cmocka_unit_test(meds__alternate_day),
        cmocka_unit_test(meds__weekdays),
        cmocka_unit_test(meds__prn_and_open_ended),
        cmocka_unit_test(meds__injections),
        cmocka_unit_test(meds__cancelled_never_current),
        cmocka_unit_test(meds__unreadable_start),
        cmocka_unit_test(meds__days_and_calendar),
        cmocka_unit_test(meds__bad_as_of),
        cmocka_unit_test(text__orders_ja),
        cmocka_unit_test(text__orders_en),
        cmocka_unit_test(text__none_only_without_failures),
        cmocka_unit_test(text__undetermined_shown),
        cmocka_unit_test(text__hostile_shapes),
        cmocka_unit_test(text__every_rp_once_in_step_order),
        cmocka_unit_test(record_with_meds__appends_member),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
