/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The terminal summary of one patient's record, rendered from the record JSON
 * (mm_ssmix2_record_json without history; a patient index summary has the same shape): the
 * one renderer behind `mamori show --storage` and `show --repo`. Data-driven: the patient
 * header, then one row of `sections` per part of the record (which JSON arrays, the title,
 * how many items and in which order, one function per item), so a new fact of the record is
 * one more row and one more item function. Japanese or English labels; values as stored.
 * Workload: one patient at a time, a few hundred lines at most.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/text.h"
#include "viewer/viewer.h"
#include "viewer/viewer_int.h"

#define put mm_viewer__put /* short names for the two helpers every item uses */
#define js  mm_viewer__js

#define RECENT 10 /* encounters, documents and images shown */

#define T(o, ja, en_) ((o)->en ? (en_) : (ja))

void mm_viewer__put(struct mm_viewer__out *o, const char *fmt, ...)
{
    va_list ap;

    if (o->err)
        return;
    va_start(ap, fmt);
    o->err = mm_buf_vprintf(o->b, fmt, ap);
    va_end(ap);
}

/* @s padded with spaces to @cols terminal columns. */
static void pad(struct mm_viewer__out *o, const char *s, int cols)
{
    put(o, "%s", s);
    for (int w = mm_text_width(s); w < cols; w++)
        put(o, " ");
}

const char *mm_viewer__js(const json_t *e, const char *k)
{
    const char *s = json_string_value(json_object_get(e, k));
    return s ? s : "";
}

static int jb(const json_t *e, const char *k)
{
    return json_is_true(json_object_get(e, k));
}

/* The label of @code in @map (code, ja, en rows), else the code itself. */
static const char *label(const struct mm_viewer__out *o, const char *const (*map)[3], size_t n,
                         const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(map[i][0], code) == 0)
            return o->en ? map[i][2] : map[i][1];
    return code;
}

static const char *const sexes[][3] = {
    { "M", "男", "male" },
    { "F", "女", "female" },
    { "O", "その他", "other" },
    { "A", "その他", "other" },
};
static const char *const allergy_types[][3] = {
    { "DA", "薬剤", "drug" },        { "FA", "食物", "food" },   { "LA", "花粉", "pollen" },
    { "EA", "環境", "environment" }, { "AA", "動物", "animal" }, { "MA", "その他", "other" },
    { "PA", "植物", "plant" },
};
static const char *const severities[][3] = {
    { "SV", "重度", "severe" },
    { "MO", "中等度", "moderate" },
    { "MI", "軽度", "mild" },
};
static const char *const encounter_kinds[][3] = {
    { "outpatient", "外来受診", "outpatient visit" },
    { "admission", "入院", "admission" },
    { "discharge", "退院", "discharge" },
    { "transfer", "転棟・転科", "transfer" },
    { "leave", "外出・外泊", "leave" },
    { "return", "帰院", "return" },
    { "planned_admission", "入院予定", "planned admission" },
    { "planned_transfer", "転棟予定", "planned transfer" },
    { "planned_discharge", "退院予定", "planned discharge" },
    { "attending_change", "担当医変更", "attending change" },
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* HL7 table 0001: "U", "N" and anything unknown are 不明. */
static const char *sex_name(const struct mm_viewer__out *o, const char *code)
{
    const char *s = label(o, sexes, N(sexes), code);

    return s == code ? T(o, "不明", "unknown") : s;
}

/* Full years from the date "YYYY-MM-DD" @birth to @y-@m-@d, or -1 when not a full date. */
static int age_on(const char *birth, int y, int m, int d)
{
    int by, bm, bd, a;

    if (sscanf(birth, "%4d-%2d-%2d", &by, &bm, &bd) != 3)
        return -1;
    a = y - by - ((m < bm || (m == bm && d < bd)) ? 1 : 0);
    return a < 0 ? -1 : a;
}

/* The emergency contacts (NK1) of the patient: name, relationship, phones. */
static void contacts(struct mm_viewer__out *o, const json_t *arr)
{
    const json_t *e, *ph;
    size_t i, k;

    json_array_foreach(arr, i, e)
    {
        put(o, "  %s %s（%s）", T(o, "連絡先", "contact"), js(e, "name"),
            js(e, "relationship")[0] ? js(e, "relationship") : js(e, "relationship_code"));
        json_array_foreach(json_object_get(e, "phones"), k, ph) put(o, "  %s", js(ph, "number"));
        put(o, "\n");
    }
}

static void patient(struct mm_viewer__out *o, const json_t *p, const char *as_of)
{
    int y, m, d, age;

    if (!json_is_object(p)) {
        put(o, "%s\n",
            T(o, "（患者基本情報 ADT-00 がありません）", "(no demographics: ADT-00 missing)"));
        return;
    }
    if (!as_of || sscanf(as_of, "%4d-%2d-%2d", &y, &m, &d) != 3) {
        time_t now = time(NULL);
        struct tm t;
        if (!localtime_r(&now, &t))
            memset(&t, 0, sizeof(t));
        y = t.tm_year + 1900;
        m = t.tm_mon + 1;
        d = t.tm_mday;
    }
    age = age_on(js(p, "birth_date"), y, m, d);
    put(o, "%s %s（%s）  %s  ", T(o, "患者", "patient"), js(p, "name"), js(p, "kana"),
        sex_name(o, js(p, "sex")));
    if (age >= 0)
        put(o, T(o, "%d歳  ", "%d years  "), age);
    put(o, "%s %s  ID %s\n", T(o, "生年月日", "born"), js(p, "birth_date"), js(p, "id"));
    if (*js(p, "source") && strcmp(js(p, "source"), "ADT-00") != 0)
        put(o,
            T(o, "  ※ADT-00なし: %s %.10s のPIDより\n",
              "  * no ADT-00: from the PID of %s %.10s\n"),
            mm_viewer__type_name(o, js(p, "source")), js(p, "source_time"));
    put(o, "  %s %s  %s %s cm  %s %s kg\n", T(o, "血液型", "blood type"),
        js(p, "blood_type")[0] ? js(p, "blood_type") : "-", T(o, "身長", "height"),
        js(p, "height_cm")[0] ? js(p, "height_cm") : "-", T(o, "体重", "weight"),
        js(p, "weight_kg")[0] ? js(p, "weight_kg") : "-");
    put(o, "  %s 〒%s %s  %s %s\n", T(o, "住所", "address"), js(p, "postal_code"), js(p, "address"),
        T(o, "電話", "phone"), js(p, "phone"));
    contacts(o, json_object_get(p, "contacts"));
}

/* ---- one function per kind of item: @e the item, @k its number, @which the array ---- */

static void allergy(struct mm_viewer__out *o, const json_t *e, size_t k, int which)
{
    const json_t *src = json_object_get(e, "source"), *also;
    size_t i;

    (void)k;
    (void)which;
    put(o, "  ! %s（%s%s%s）%s%s", js(e, "name"),
        label(o, allergy_types, N(allergy_types), js(e, "type")), js(e, "severity")[0] ? "・" : "",
        label(o, severities, N(severities), js(e, "severity")), js(e, "reaction")[0] ? "  " : "",
        js(e, "reaction"));
    if (json_is_object(src) && *js(src, "type")) {
        put(o, T(o, "  出典: %s %.10s", "  source: %s %.10s"),
            mm_viewer__type_name(o, js(src, "type")), js(src, "file_time"));
        json_array_foreach(json_object_get(e, "also_in"), i, also) put(
                o, "%s%s", i ? "・" : T(o, "（ほかに ", " (also in "),
                mm_viewer__type_name(o, json_string_value(also) ? json_string_value(also) : ""));
        if (json_array_size(json_object_get(e, "also_in")))
            put(o, "%s", T(o, "）", ")"));
    }
    put(o, "\n");
}

static void diagnosis(struct mm_viewer__out *o, const json_t *e, size_t k, int which)
{
    (void)k;
    (void)which;
    put(o, "  %s%s  %s  %s〜%s\n", js(e, "name"),
        jb(e, "suspected") ? T(o, "（疑い）", " (suspected)") : "", js(e, "icd10"),
        js(e, "start_date"), jb(e, "main") ? T(o, "  主病名", "  main") : "");
}

static void encounter(struct mm_viewer__out *o, const json_t *e, size_t k, int which)
{
    (void)k;
    (void)which;
    put(o, "  %s %s  ", js(e, "date"), js(e, "time"));
    pad(o, label(o, encounter_kinds, N(encounter_kinds), js(e, "kind")), 12);
    put(o, "%s", js(e, "dept_name")[0] ? js(e, "dept_name") : js(e, "dept"));
    if (strcmp(js(e, "kind"), "outpatient") != 0 && js(e, "ward")[0])
        put(o, "  %s %s%s%s", js(e, "ward_name")[0] ? js(e, "ward_name") : js(e, "ward"),
            js(e, "room"), js(e, "bed")[0] ? "-" : "", js(e, "bed"));
    put(o, "\n");
}

static void prescription(struct mm_viewer__out *o, const json_t *e, size_t k, int which)
{
    (void)k;
    (void)which;
    mm_viewer__text_order(o, e, 0);
}

static void injection(struct mm_viewer__out *o, const json_t *e, size_t k, int which)
{
    (void)k;
    (void)which;
    mm_viewer__text_order(o, e, 1);
}

static void lab(struct mm_viewer__out *o, const json_t *e, size_t k, int which)
{
    (void)k;
    (void)which;
    put(o, "  ");
    pad(o, js(e, "name"), 22);
    put(o, "%8s ", js(e, "value"));
    pad(o, js(e, "unit"), 10);
    pad(o, js(e, "flag"), 3);
    pad(o, js(e, "range"), 13);
    put(o, "%s\n", js(e, "collected_at"));
}

/* Whether a later item of @arr has the code of item @i (labs: only the latest is shown). */
static int superseded(const json_t *arr, size_t i)
{
    const char *code = js(json_array_get(arr, i), "code");

    for (size_t k = i + 1; k < json_array_size(arr); k++)
        if (strcmp(js(json_array_get(arr, k), "code"), code) == 0)
            return 1;
    return 0;
}

static void document(struct mm_viewer__out *o, const json_t *e, size_t k, int which)
{
    (void)k;
    put(o, "  %s  %s  %s  %zu %s\n", js(e, "date"), js(e, "title"),
        which ? T(o, "画像", "image") : T(o, "文書", "document"),
        json_array_size(json_object_get(e, "files")), T(o, "ファイル", "file(s)"));
}

/* One part of the summary. */
struct section {
    const char *title_ja, *title_en;
    const char *keys[2]; /* the JSON arrays shown, one after the other (keys[1] may be NULL) */
    size_t max;          /* items shown at most (newest first, from the end); 0: all, in order */
    int none_recorded;   /* "登録なし" rather than "なし" when empty */
    int (*skip)(const json_t *arr, size_t i); /* NULL, or leave item i out */
    void (*item)(struct mm_viewer__out *o, const json_t *e, size_t k, int which);
};

static const struct section sections[] = {
    { "【アレルギー】", "[allergies]", { "allergies" }, 0, 1, NULL, allergy },
    { "【病名（現在）】", "[current diagnoses]", { "diagnoses" }, 0, 0, NULL, diagnosis },
    { "【受診・入院（最近）】",
      "[recent encounters]",
      { "encounters" },
      RECENT,
      0,
      NULL,
      encounter },
    { "【処方（最近）】", "[recent prescriptions]", { "prescriptions" }, 5, 0, NULL, prescription },
    { "【注射（最近）】", "[recent injections]", { "injections" }, 3, 0, NULL, injection },
    { "【検査（最新値）】", "[latest lab values]", { "labs" }, 0, 0, superseded, lab },
    { "【文書・画像】",
      "[documents and images]",
      { "documents", "images" },
      RECENT,
      0,
      NULL,
      document },
};

/*
 * The lines for the data types of section @name whose files could not be read (the record's
 * read_failures); OUT: how many such types there were.
 */
static size_t failures(struct mm_viewer__out *o, const json_t *rec, const char *name)
{
    const json_t *e;
    size_t i, n = 0;

    json_array_foreach(json_object_get(rec, "read_failures"), i, e)
    {
        json_int_t failed = json_integer_value(json_object_get(e, "failed"));
        json_int_t folders = json_integer_value(json_object_get(e, "folders"));
        json_int_t damaged = json_integer_value(json_object_get(e, "damaged"));
        if (strcmp(js(e, "section"), name) != 0 || (!failed && !folders && !damaged))
            continue;
        n++;
        put(o, T(o, "  ！読めなかったファイル %s（%s）: ", "  ! unreadable files %s (%s): "),
            T(o, js(e, "type_name"), js(e, "type_name_en")), js(e, "type"));
        put(o, T(o, "%lld / %lld 件", "%lld of %lld files"), (long long)failed,
            (long long)json_integer_value(json_object_get(e, "files")));
        if (damaged)
            put(o, T(o, "、文字化け %lld 件", ", %lld with undecodable text"), (long long)damaged);
        if (folders)
            put(o, T(o, "、読めないフォルダ %lld", ", %lld unreadable folders"),
                (long long)folders);
        put(o, "%s%s\n", js(e, "reason")[0] ? "  " : "", js(e, "reason"));
    }
    return n;
}

/* Whether any file of the record could not be read. */
static int any_failure(const json_t *rec)
{
    const json_t *e;
    size_t i;

    json_array_foreach(json_object_get(rec, "read_failures"), i, e)
    {
        if (json_integer_value(json_object_get(e, "failed")) ||
            json_integer_value(json_object_get(e, "folders")) ||
            json_integer_value(json_object_get(e, "damaged")))
            return 1;
    }
    return 0;
}

static void section(struct mm_viewer__out *o, const json_t *rec, const struct section *s)
{
    size_t shown = 0, failed;

    put(o, "\n%s\n", o->en ? s->title_en : s->title_ja);
    failed = failures(o, rec, s->keys[0]);
    for (int w = 0; w < 2 && s->keys[w]; w++) {
        const json_t *arr = json_object_get(rec, s->keys[w]);
        size_t n = json_array_size(arr);
        for (size_t k = 0; k < n && (!s->max || shown < s->max); k++) {
            size_t i = s->max ? n - 1 - k : k;
            if (s->skip && s->skip(arr, i))
                continue;
            s->item(o, json_array_get(arr, i), shown, w);
            shown++;
        }
    }
    if (!shown && s->none_recorded && any_failure(rec)) /* allergies: from any message type */
        put(o, "  %s\n",
            T(o, "アレルギーの記載は見つかりませんが、読めなかったファイルがあります",
              "no allergy found, but some files could not be read"));
    else if (!shown && failed) /* never "none" where files could not be read */
        put(o, "  %s\n",
            T(o, "読めなかったファイルがあるため、記録がないとは言えません",
              "files could not be read: the absence of records cannot be told"));
    else if (!shown)
        put(o, "  %s\n",
            s->none_recorded ? T(o, "登録なし", "none recorded") : T(o, "なし", "none"));
}

/* The time the current medication is judged at: @as_of, its date at 00:00, or now. OUT: @out */
static void meds_at(const char *as_of, char out[17])
{
    time_t now = time(NULL);
    struct tm t;

    if (as_of && strlen(as_of) >= 16) {
        snprintf(out, 17, "%.16s", as_of);
        if (mm_viewer_as_of_check(out) == 0)
            return;
        mm_error_clear();
    } else if (as_of && strlen(as_of) == 10) {
        snprintf(out, 17, "%.10sT00:00", as_of);
        if (mm_viewer_as_of_check(out) == 0)
            return;
        mm_error_clear();
    }
    if (!localtime_r(&now, &t))
        memset(&t, 0, sizeof(t));
    snprintf(out, 17, "%04u-%02u-%02uT%02u:%02u", (unsigned)(t.tm_year + 1900) % 10000u,
             (unsigned)(t.tm_mon + 1) % 100u, (unsigned)t.tm_mday % 100u,
             (unsigned)t.tm_hour % 100u, (unsigned)t.tm_min % 100u);
}

int mm_viewer_record_text(const char *json, size_t n, enum mm_viewer_lang lang, const char *as_of,
                          mm_buf *out)
{
    struct mm_viewer__out o = { .b = out, .en = lang == MM_VIEWER_EN };
    size_t start = out->len;
    char when[17];
    json_t *rec;

    MM_ASSERT_ARG(json && out);
    if (!(rec = json_loadb(json, n, 0, NULL)) || !json_is_object(rec)) {
        json_decref(rec);
        return mm_error_set(MM_ECORRUPT, "the patient's record is not a JSON object");
    }
    patient(&o, json_object_get(rec, "patient"), as_of);
    for (const char *const *k =
                 (const char *const[]){ "patient", "orders", "exams", "other", NULL };
         *k; k++)
        failures(&o, rec, *k); /* the data types no section below shows */
    meds_at(as_of, when);
    mm_viewer__text_meds(&o, rec, when);
    for (size_t i = 0; i < N(sections); i++)
        section(&o, rec, &sections[i]);
    mm_viewer__text_uninterpreted(&o, rec);
    json_decref(rec);
    if (o.err < 0)
        mm_buf_truncate(out, start);
    return o.err;
}
