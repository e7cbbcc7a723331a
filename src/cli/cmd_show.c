/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori show: one patient's record read straight from a live SS-MIX2 storage,
 * as a Japanese terminal summary for a clinician (allergies first, then current
 * diagnoses, recent encounters, current prescriptions and injections, the
 * latest lab values, documents and images), or as JSON (`--json`, the keys of
 * mm_ssmix2_record_json()). Only current (_1) data is shown as current; files
 * that cannot be read are counted and listed with patient IDs hidden.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "index/index.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"
#include "ssmix2/ssmix2.h"

#define RECENT 10 /* encounters, orders shown in the summary */

/* Age in whole years on today's date, or -1 when the birth date is not a full date. */
static int age_of(const char *birth)
{
    int y, m, d;
    time_t now = time(NULL);
    struct tm t;

    if (sscanf(birth, "%4d-%2d-%2d", &y, &m, &d) != 3 || !localtime_r(&now, &t))
        return -1;
    return t.tm_year + 1900 - y -
           ((t.tm_mon + 1 < m || (t.tm_mon + 1 == m && t.tm_mday < d)) ? 1 : 0);
}

static const char *allergy_type(const struct cli_ctx *ctx, const char *t)
{
    static const char *const map[][3] = {
        { "DA", "薬剤", "drug" },        { "FA", "食物", "food" },   { "LA", "花粉", "pollen" },
        { "EA", "環境", "environment" }, { "AA", "動物", "animal" }, { "MA", "その他", "other" },
        { "PA", "植物", "plant" },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i][0], t) == 0)
            return CLI_T(ctx, map[i][1], map[i][2]);
    return t;
}

static const char *severity(const struct cli_ctx *ctx, const char *s)
{
    if (strcmp(s, "SV") == 0)
        return CLI_T(ctx, "重度", "severe");
    if (strcmp(s, "MO") == 0)
        return CLI_T(ctx, "中等度", "moderate");
    if (strcmp(s, "MI") == 0)
        return CLI_T(ctx, "軽度", "mild");
    return s;
}

static const char *enc_name(const struct cli_ctx *ctx, enum mm_ssmix2_enc_kind k)
{
    static const char *const ja[] = { "外来受診",   "入院",      "退院",     "転棟・転科",
                                      "外出・外泊", "帰院",      "入院予定", "転棟予定",
                                      "退院予定",   "担当医変更" };
    static const char *const en[] = { "outpatient visit",
                                      "admission",
                                      "discharge",
                                      "transfer",
                                      "leave",
                                      "return",
                                      "planned admission",
                                      "planned transfer",
                                      "planned discharge",
                                      "attending change" };
    return CLI_T(ctx, ja[k], en[k]);
}

static void print_order(const struct cli_ctx *ctx, const struct mm_ssmix2_order *o, int inj)
{
    printf("  %s  %s%s  %s %s\n", o->date, CLI_T(ctx, "オーダ番号 ", "order "), o->order_no,
           o->inpatient ? CLI_T(ctx, "入院", "inpatient") : CLI_T(ctx, "外来", "outpatient"),
           o->doctor);
    for (size_t k = 0; k < o->nrps; k++) {
        const struct mm_ssmix2_rp *rp = &o->rps[k];
        if (inj) /* ORC-4 of injections is a long key: number the Rps instead */
            printf("    Rp%zu  %s%s%s %s\n", k + 1, rp->route, rp->rate[0] ? "  " : "", rp->rate,
                   rp->rate[0] ? rp->rate_unit : "");
        else
            printf("    Rp%s  %s  %s%s\n", rp->rp, rp->usage, rp->days,
                   rp->days[0] ? CLI_T(ctx, "日分", " days") : "");
        for (size_t d = 0; d < rp->ndrugs; d++)
            printf("      %s  %s %s\n", rp->drugs[d].name, rp->drugs[d].dose, rp->drugs[d].unit);
    }
}

/* The member @k of @o as a string, "" when absent. */
static const char *jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* Emergency contacts and the data types whose files could not be read (record JSON @j). */
static void print_facts(const struct cli_ctx *ctx, const json_t *j)
{
    const json_t *e, *ph;
    size_t i, k;

    json_array_foreach(json_object_get(json_object_get(j, "patient"), "contacts"), i, e)
    {
        printf("  %s %s（%s）", CLI_T(ctx, "連絡先", "contact"), jstr(e, "name"),
               jstr(e, "relationship")[0] ? jstr(e, "relationship") : jstr(e, "relationship_code"));
        json_array_foreach(json_object_get(e, "phones"), k, ph) printf("  %s", jstr(ph, "number"));
        printf("\n");
    }
    k = 0;
    json_array_foreach(json_object_get(j, "read_failures"), i, e)
    {
        json_int_t failed = json_integer_value(json_object_get(e, "failed"));
        json_int_t folders = json_integer_value(json_object_get(e, "folders"));
        if (!failed && !folders)
            continue;
        if (!k++)
            printf("\n%s\n", CLI_T(ctx, "【読めなかったファイル（この記録は不完全です）】",
                                   "[files that could not be read (this record is incomplete)]"));
        printf(CLI_T(ctx, "  %s（%s）: %lld / %lld 件", "  %s (%s): %lld of %lld files"),
               CLI_T(ctx, jstr(e, "type_name"), jstr(e, "type_name_en")), jstr(e, "type"),
               (long long)failed, (long long)json_integer_value(json_object_get(e, "files")));
        if (folders)
            printf(CLI_T(ctx, "、フォルダ %lld", ", %lld folders"), (long long)folders);
        printf("  %s\n", jstr(e, "reason"));
    }
}

static void print_human(const struct cli_ctx *ctx, const mm_ssmix2_record *r)
{
    const struct mm_ssmix2_patient *p = mm_ssmix2_record_patient(r);
    const struct mm_ssmix2_allergy *al;
    const struct mm_ssmix2_diagnosis *dx;
    const struct mm_ssmix2_encounter *en;
    const struct mm_ssmix2_order *o;
    const struct mm_ssmix2_lab *lb;
    const struct mm_ssmix2_document *docs;
    const char *allergy_src = NULL;
    size_t n, shown;
    int age;

    if (p) {
        age = age_of(p->birth_date);
        printf("%s %s（%s）  %s  ", CLI_T(ctx, "患者", "patient"), p->name, p->kana,
               cli_sex_name(ctx, p->sex));
        if (age >= 0)
            printf(CLI_T(ctx, "%d歳  ", "%d years  "), age);
        printf("%s %s  ID %s\n", CLI_T(ctx, "生年月日", "born"), p->birth_date, p->id);
        printf("  %s %s  %s %s cm  %s %s kg\n", CLI_T(ctx, "血液型", "blood type"),
               p->blood_type[0] ? p->blood_type : "-", CLI_T(ctx, "身長", "height"),
               p->height_cm[0] ? p->height_cm : "-", CLI_T(ctx, "体重", "weight"),
               p->weight_kg[0] ? p->weight_kg : "-");
        printf("  %s 〒%s %s  %s %s\n", CLI_T(ctx, "住所", "address"), p->postal_code, p->address,
               CLI_T(ctx, "電話", "phone"), p->phone);
    } else {
        printf("%s\n", CLI_T(ctx, "（患者基本情報 ADT-00 がありません）",
                             "(no demographics: ADT-00 missing)"));
    }
    {
        mm_buf b;
        json_t *j = NULL;
        mm_buf_init(&b, MM_LIMIT_JSON);
        if (mm_ssmix2_record_json(r, &b, 0) == 0)
            j = json_loadb(b.ptr ? b.ptr : "", b.len, 0, NULL);
        if (j)
            print_facts(ctx, j);
        json_decref(j);
        mm_buf_release(&b);
    }

    /* allergies: those of the newest current ADT-61, else of the current ADT-00 */
    n = mm_ssmix2_record_allergies(r, &al);
    for (size_t i = 0; i < n; i++)
        if (al[i].from.flag == MM_SSMIX2_CURRENT && strcmp(al[i].from.type, "ADT-61") == 0 &&
            (!allergy_src || strcmp(al[i].from.file_time, allergy_src) > 0))
            allergy_src = al[i].from.file_time;
    printf("\n%s\n", CLI_T(ctx, "【アレルギー】", "[allergies]"));
    shown = 0;
    for (size_t i = 0; i < n; i++) {
        int cur = al[i].from.flag == MM_SSMIX2_CURRENT &&
                  (allergy_src ? strcmp(al[i].from.file_time, allergy_src) == 0 &&
                                         strcmp(al[i].from.type, "ADT-61") == 0
                               : p && strcmp(al[i].from.file_time, p->from.file_time) == 0);
        if (!cur)
            continue;
        printf("  ! %s（%s%s%s）%s%s\n", al[i].name, allergy_type(ctx, al[i].type),
               al[i].severity[0] ? "・" : "", severity(ctx, al[i].severity),
               al[i].reaction[0] ? "  " : "", al[i].reaction);
        shown++;
    }
    if (!shown)
        printf("  %s\n", CLI_T(ctx, "登録なし", "none recorded"));

    printf("\n%s\n", CLI_T(ctx, "【病名（現在）】", "[current diagnoses]"));
    n = mm_ssmix2_record_diagnoses(r, &dx);
    shown = 0;
    {
        const char *src = NULL;
        for (size_t i = 0; i < n; i++)
            if (dx[i].from.flag == MM_SSMIX2_CURRENT &&
                (!src || strcmp(dx[i].from.file_time, src) > 0))
                src = dx[i].from.file_time;
        for (size_t i = 0; i < n; i++) {
            if (!src || !dx[i].active || strcmp(dx[i].from.file_time, src) != 0)
                continue;
            printf("  %s%s  %s  %s〜%s\n", dx[i].name,
                   dx[i].suspected ? CLI_T(ctx, "（疑い）", " (suspected)") : "", dx[i].icd10,
                   dx[i].start_date, dx[i].main ? CLI_T(ctx, "  主病名", "  main") : "");
            shown++;
        }
    }
    if (!shown)
        printf("  %s\n", CLI_T(ctx, "なし", "none"));

    printf("\n%s\n", CLI_T(ctx, "【受診・入院（最近）】", "[recent encounters]"));
    n = mm_ssmix2_record_encounters(r, &en);
    shown = 0;
    for (size_t i = n; i-- > 0 && shown < RECENT;) {
        if (en[i].from.flag != MM_SSMIX2_CURRENT)
            continue;
        printf("  %s %s  ", en[i].date, en[i].time);
        cli_pad(enc_name(ctx, en[i].kind), 12);
        fputs(en[i].dept, stdout);
        if (en[i].kind != MM_ENC_OUTPATIENT && en[i].ward[0])
            printf("  %s %s%s%s", en[i].ward, en[i].room, en[i].bed[0] ? "-" : "", en[i].bed);
        printf("\n");
        shown++;
    }
    if (!shown)
        printf("  %s\n", CLI_T(ctx, "なし", "none"));

    for (int kind = 0; kind < 2; kind++) {
        printf("\n%s\n", kind ? CLI_T(ctx, "【注射（最近）】", "[recent injections]")
                              : CLI_T(ctx, "【処方（最近）】", "[recent prescriptions]"));
        n = mm_ssmix2_record_orders(r, kind, &o);
        shown = 0;
        for (size_t i = n; i-- > 0 && shown < (size_t)(kind ? 3 : 5);) {
            if (o[i].from.flag != MM_SSMIX2_CURRENT || o[i].cancel)
                continue;
            print_order(ctx, &o[i], kind);
            shown++;
        }
        if (!shown)
            printf("  %s\n", CLI_T(ctx, "なし", "none"));
    }

    /* the latest current value of each test */
    printf("\n%s\n", CLI_T(ctx, "【検査（最新値）】", "[latest lab values]"));
    n = mm_ssmix2_record_labs(r, &lb);
    shown = 0;
    for (size_t i = 0; i < n; i++) {
        int newer = 0;
        if (lb[i].from.flag != MM_SSMIX2_CURRENT)
            continue;
        for (size_t k = i + 1; k < n && !newer; k++)
            newer = lb[k].from.flag == MM_SSMIX2_CURRENT && strcmp(lb[k].code, lb[i].code) == 0;
        if (newer)
            continue;
        fputs("  ", stdout);
        cli_pad(lb[i].name, 22);
        printf("%8s ", lb[i].value);
        cli_pad(lb[i].unit, 10);
        cli_pad(lb[i].flag, 3);
        cli_pad(lb[i].range, 13);
        printf("%s\n", lb[i].collected_at);
        shown++;
    }
    if (!shown)
        printf("  %s\n", CLI_T(ctx, "なし", "none"));

    n = mm_ssmix2_record_documents(r, &docs);
    printf("\n%s\n", CLI_T(ctx, "【文書・画像】", "[documents and images]"));
    shown = 0;
    for (size_t i = n; i-- > 0 && shown < RECENT;) {
        if (docs[i].from.flag != MM_SSMIX2_CURRENT)
            continue;
        printf("  %s  %s  %s  %zu %s\n", docs[i].date, docs[i].title,
               strcmp(docs[i].kind, "image") == 0 ? CLI_T(ctx, "画像", "image")
                                                  : CLI_T(ctx, "文書", "document"),
               docs[i].nfiles, CLI_T(ctx, "ファイル", "file(s)"));
        shown++;
    }
    if (!shown)
        printf("  %s\n", CLI_T(ctx, "なし", "none"));
}

/* ---- the same summary from a stored index (show --repo): its record JSON ----------------- */

/* The string member @k of @o, or "" */
static const char *js(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int jb(const json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k));
}

static const char *enc_name_s(const struct cli_ctx *ctx, const char *kind)
{
    static const char *const names[] = { "outpatient",
                                         "admission",
                                         "discharge",
                                         "transfer",
                                         "leave",
                                         "return",
                                         "planned_admission",
                                         "planned_transfer",
                                         "planned_discharge",
                                         "attending_change" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(kind, names[i]) == 0)
            return enc_name(ctx, (enum mm_ssmix2_enc_kind)i);
    return kind;
}

static void print_order_json(const struct cli_ctx *ctx, const json_t *o, int inj)
{
    const json_t *rps = json_object_get(o, "rps"), *rp, *d;
    size_t k, i;

    printf("  %s  %s%s  %s %s\n", js(o, "date"), CLI_T(ctx, "オーダ番号 ", "order "),
           js(o, "order_no"),
           jb(o, "inpatient") ? CLI_T(ctx, "入院", "inpatient") : CLI_T(ctx, "外来", "outpatient"),
           js(o, "doctor"));
    json_array_foreach(rps, k, rp)
    {
        const char *rate = js(rp, "rate");
        if (inj)
            printf("    Rp%zu  %s%s%s %s\n", k + 1, js(rp, "route"), rate[0] ? "  " : "", rate,
                   rate[0] ? js(rp, "rate_unit") : "");
        else
            printf("    Rp%s  %s  %s%s\n", js(rp, "rp"), js(rp, "usage"), js(rp, "days"),
                   js(rp, "days")[0] ? CLI_T(ctx, "日分", " days") : "");
        json_array_foreach(json_object_get(rp, "drugs"), i, d)
                printf("      %s  %s %s\n", js(d, "name"), js(d, "dose"), js(d, "unit"));
    }
}

/* Print "なし" when nothing of a section was shown. */
static void none_if(const struct cli_ctx *ctx, size_t shown)
{
    if (!shown)
        printf("  %s\n", CLI_T(ctx, "なし", "none"));
}

/* The terminal summary of print_human(), from the index's record JSON (current items only). */
static void print_human_json(const struct cli_ctx *ctx, const json_t *j)
{
    const json_t *p = json_object_get(j, "patient"), *arr, *e;
    size_t i, n, shown;

    if (json_is_object(p)) {
        int age = age_of(js(p, "birth_date"));
        printf("%s %s（%s）  %s  ", CLI_T(ctx, "患者", "patient"), js(p, "name"), js(p, "kana"),
               cli_sex_name(ctx, js(p, "sex")));
        if (age >= 0)
            printf(CLI_T(ctx, "%d歳  ", "%d years  "), age);
        printf("%s %s  ID %s\n", CLI_T(ctx, "生年月日", "born"), js(p, "birth_date"), js(p, "id"));
        printf("  %s %s  %s %s cm  %s %s kg\n", CLI_T(ctx, "血液型", "blood type"),
               js(p, "blood_type")[0] ? js(p, "blood_type") : "-", CLI_T(ctx, "身長", "height"),
               js(p, "height_cm")[0] ? js(p, "height_cm") : "-", CLI_T(ctx, "体重", "weight"),
               js(p, "weight_kg")[0] ? js(p, "weight_kg") : "-");
        printf("  %s 〒%s %s  %s %s\n", CLI_T(ctx, "住所", "address"), js(p, "postal_code"),
               js(p, "address"), CLI_T(ctx, "電話", "phone"), js(p, "phone"));
    } else {
        printf("%s\n", CLI_T(ctx, "（患者基本情報 ADT-00 がありません）",
                             "(no demographics: ADT-00 missing)"));
    }
    print_facts(ctx, j);

    printf("\n%s\n", CLI_T(ctx, "【アレルギー】", "[allergies]"));
    shown = 0;
    json_array_foreach(json_object_get(j, "allergies"), i, e)
    {
        printf("  ! %s（%s%s%s）%s%s\n", js(e, "name"), allergy_type(ctx, js(e, "type")),
               js(e, "severity")[0] ? "・" : "", severity(ctx, js(e, "severity")),
               js(e, "reaction")[0] ? "  " : "", js(e, "reaction"));
        shown++;
    }
    if (!shown)
        printf("  %s\n", CLI_T(ctx, "登録なし", "none recorded"));

    printf("\n%s\n", CLI_T(ctx, "【病名（現在）】", "[current diagnoses]"));
    shown = 0;
    json_array_foreach(json_object_get(j, "diagnoses"), i, e)
    {
        printf("  %s%s  %s  %s〜%s\n", js(e, "name"),
               jb(e, "suspected") ? CLI_T(ctx, "（疑い）", " (suspected)") : "", js(e, "icd10"),
               js(e, "start_date"), jb(e, "main") ? CLI_T(ctx, "  主病名", "  main") : "");
        shown++;
    }
    none_if(ctx, shown);

    printf("\n%s\n", CLI_T(ctx, "【受診・入院（最近）】", "[recent encounters]"));
    arr = json_object_get(j, "encounters");
    n = json_array_size(arr);
    for (i = n, shown = 0; i-- > 0 && shown < RECENT; shown++) {
        e = json_array_get(arr, i);
        printf("  %s %s  ", js(e, "date"), js(e, "time"));
        cli_pad(enc_name_s(ctx, js(e, "kind")), 12);
        fputs(js(e, "dept"), stdout);
        if (strcmp(js(e, "kind"), "outpatient") != 0 && js(e, "ward")[0])
            printf("  %s %s%s%s", js(e, "ward"), js(e, "room"), js(e, "bed")[0] ? "-" : "",
                   js(e, "bed"));
        printf("\n");
    }
    none_if(ctx, shown);

    for (int kind = 0; kind < 2; kind++) {
        printf("\n%s\n", kind ? CLI_T(ctx, "【注射（最近）】", "[recent injections]")
                              : CLI_T(ctx, "【処方（最近）】", "[recent prescriptions]"));
        arr = json_object_get(j, kind ? "injections" : "prescriptions");
        n = json_array_size(arr);
        for (i = n, shown = 0; i-- > 0 && shown < (size_t)(kind ? 3 : 5); shown++)
            print_order_json(ctx, json_array_get(arr, i), kind);
        none_if(ctx, shown);
    }

    printf("\n%s\n", CLI_T(ctx, "【検査（最新値）】", "[latest lab values]"));
    arr = json_object_get(j, "labs");
    n = json_array_size(arr);
    shown = 0;
    for (i = 0; i < n; i++) {
        const json_t *l = json_array_get(arr, i);
        int newer = 0;
        for (size_t k = i + 1; k < n && !newer; k++)
            newer = strcmp(js(json_array_get(arr, k), "code"), js(l, "code")) == 0;
        if (newer)
            continue;
        fputs("  ", stdout);
        cli_pad(js(l, "name"), 22);
        printf("%8s ", js(l, "value"));
        cli_pad(js(l, "unit"), 10);
        cli_pad(js(l, "flag"), 3);
        cli_pad(js(l, "range"), 13);
        printf("%s\n", js(l, "collected_at"));
        shown++;
    }
    none_if(ctx, shown);

    printf("\n%s\n", CLI_T(ctx, "【文書・画像】", "[documents and images]"));
    shown = 0;
    for (int k = 0; k < 2; k++) {
        arr = json_object_get(j, k ? "images" : "documents");
        n = json_array_size(arr);
        for (i = n; i-- > 0 && shown < RECENT; shown++) {
            e = json_array_get(arr, i);
            printf("  %s  %s  %s  %zu %s\n", js(e, "date"), js(e, "title"),
                   k ? CLI_T(ctx, "画像", "image") : CLI_T(ctx, "文書", "document"),
                   json_array_size(json_object_get(e, "files")), CLI_T(ctx, "ファイル", "file(s)"));
        }
    }
    none_if(ctx, shown);
}

/* show --repo: the patient's summary from generation @gen's index, in memory. */
static int show_from_repo(struct cli_ctx *ctx, const char *repo, const char *user,
                          const char *passfile, const char *gen, const char *pid)
{
    struct cli_repo_index ri = { 0 };
    json_t *j = NULL;
    mm_buf b;
    int rc, err;

    mm_buf_init(&b, MM_LIMIT_JSON);
    if ((rc = cli_repo_index_open(ctx, repo, user, passfile, gen, &ri)) != CLI_OK)
        goto out;
    err = mm_index_summary(ri.ix, pid, &b);
    if (err == MM_ENOTFOUND) {
        cli_error("%s", CLI_T(ctx, "この患者IDの患者はこの世代にいません",
                              "no patient with this ID in this generation"));
        rc = CLI_ERROR;
        goto out;
    }
    if (err < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    {
        struct mm_viewer_event ev = { .kind = MM_VIEWER_PATIENT,
                                      .user = mm_repo_user(ri.repo),
                                      .generation = ri.gen.id,
                                      .patient = pid };
        cli_audit_viewer_n(ctx, ri.repo, repo, &ev, 1, "show");
    }
    if (ctx->json) {
        fwrite(b.ptr, 1, b.len, stdout);
        fputc('\n', stdout);
    } else if (!(j = json_loadb(b.ptr, b.len, 0, NULL))) {
        cli_error("%s", CLI_T(ctx, "索引の患者記録が壊れています",
                              "the patient's record in the index is damaged"));
        rc = CLI_ERROR;
        goto out;
    } else {
        printf(CLI_T(ctx, "（世代 %.12s  %s の時点）\n", "(as of generation %.12s  %s)\n"),
               ri.gen.id, ri.gen.name ? ri.gen.name : "");
        print_human_json(ctx, j);
    }
    rc = CLI_OK;
out:
    json_decref(j);
    if (b.ptr)
        mm_crypto_wipe(b.ptr, b.len);
    mm_buf_release(&b);
    cli_repo_index_close(&ri);
    return rc;
}

static void print_problems(const struct cli_ctx *ctx, const struct mm_ssmix2_problems *pr)
{
    if (!pr->bad)
        return;
    fprintf(stderr,
            CLI_T(ctx, "mamori: %zu 件のファイルに問題があります（読めた部分は表示しています）:\n",
                  "mamori: %zu file(s) had problems (what could be read is shown):\n"),
            pr->bad);
    for (size_t i = 0; i < pr->nexamples; i++)
        fprintf(stderr, "  %s: %s\n", pr->examples[i].path, pr->examples[i].reason);
}

static int run_show(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "storage", required_argument, NULL, 's' },
        { "extended", required_argument, NULL, 'x' },
        { "history", no_argument, NULL, 'H' },
        { "generation", required_argument, NULL, 'g' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *storage = NULL, *ext = NULL, *pid;
    const char *repo = NULL, *user = NULL, *passfile = NULL, *gen = NULL;
    struct mm_ssmix2_problems probs = { 0 };
    mm_ssmix2_record *r = NULL;
    int opt, err, history = 0, rc = CLI_OK;
    mm_buf b;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &repo, &user, &passfile))
            continue;
        switch (opt) {
        case 's':
            storage = optarg;
            break;
        case 'x':
            ext = optarg;
            break;
        case 'g':
            gen = optarg;
            break;
        case 'H':
            history = 1;
            break;
        default:
            return cli_option_error(ctx, &cmd_show, opt, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage(ctx, &cmd_show,
                         CLI_T(ctx, "患者IDを1つ指定してください", "give exactly one patient ID"));
    if ((storage && storage[0]) == (repo && repo[0]))
        return cli_usage(ctx, &cmd_show,
                         CLI_T(ctx, "--storage か --repo のどちらか一方を指定してください",
                               "give either --storage or --repo"));
    if (repo && (ext || history))
        return cli_usage(ctx, &cmd_show,
                         CLI_T(ctx, "--extended と --history は --storage と使います",
                               "--extended and --history go with --storage"));
    if (gen && !repo)
        return cli_usage(
                ctx, &cmd_show,
                CLI_T(ctx, "--generation は --repo と使います", "--generation goes with --repo"));
    pid = argv[optind];
    if (repo) {
        if (!*pid || strlen(pid) > MM_LIMIT_PATIENT_ID) {
            cli_error("%s", CLI_T(ctx, "患者IDの形式が正しくありません", "not a valid patient ID"));
            return CLI_USAGE;
        }
        return show_from_repo(ctx, repo, user, passfile, gen, pid);
    }
    err = mm_ssmix2_record_load(&r, storage, ext, pid, &probs);
    if (err == MM_ENOTFOUND) {
        cli_error("%s", CLI_T(ctx, "この患者IDの患者はストレージにいません",
                              "no patient with this ID in the storage"));
        return CLI_ERROR;
    }
    if (err == MM_EINVAL) {
        cli_error("%s", CLI_T(ctx, "患者IDの形式が正しくありません", "not a valid patient ID"));
        return CLI_USAGE;
    }
    if (err < 0)
        return cli_lib_error(err);
    if (ctx->json) {
        mm_buf_init(&b, MM_LIMIT_JSON);
        err = mm_ssmix2_record_json(r, &b, history ? MM_SSMIX2_JSON_HISTORY : 0);
        if (err == 0) {
            fwrite(b.ptr, 1, b.len, stdout);
            fputc('\n', stdout);
        } else {
            rc = cli_lib_error(err);
        }
        mm_buf_release(&b);
    } else {
        print_human(ctx, r);
    }
    print_problems(ctx, &probs);
    mm_ssmix2_record_free(r);
    return rc;
}

const struct cmd cmd_show = {
    "show",
    "show <患者ID|patient-ID> (--storage <DIR> [--extended <DIR>] [--history] | --repo <DIR>"
    " [--generation <G>]) [--json]",
    "患者の記録（アレルギー・病名・処方・検査など）を表示する",
    "show a patient's record (allergies, diagnoses, prescriptions, labs, ...)",
    "オプション:\n"
    "   --storage <DIR>    標準化ストレージのルートフォルダ\n"
    "   --extended <DIR>   拡張ストレージのルートフォルダ（文書・画像）\n"
    "   --json             記録を JSON で標準出力に出す\n"
    "   --history          JSON に過去（_2）と取消（_0）のデータも含める\n"
    "   --repo <DIR>       ストレージの代わりにバックアップ（媒体）の世代から表示する（索引をメモリ上で復号）\n"
    "   --generation <G>   --repo のどの世代か（既定: latest）\n"
    "   --user <NAME>, --passphrase-file <FILE>  --repo を開く鍵スロットとパスフレーズ\n"
    "\n"
    "有効（コンディションフラグ 1）のデータだけを現在のものとして表示します。\n"
    "読めないファイルは患者IDを伏せて標準エラーに報告し、読めた部分は表示します。\n"
    "\n"
    "終了コード: 0 表示した、1 患者がいない・読めない、2 使い方の誤り\n",
    "options:\n"
    "   --storage <DIR>    root folder of the standardized storage\n"
    "   --extended <DIR>   root folder of the extended storage (documents, images)\n"
    "   --json             print the record as JSON on standard output\n"
    "   --history          include superseded (_2) and cancelled (_0) data in the JSON\n"
    "   --repo <DIR>       show it from a backup generation instead of a storage (the\n"
    "                      index is decrypted in memory)\n"
    "   --generation <G>   which generation of --repo (default: latest)\n"
    "   --user <NAME>, --passphrase-file <FILE>  key slot and passphrase for --repo\n"
    "\n"
    "Only current data (condition flag 1) is shown as current. Files that cannot be read\n"
    "are reported on standard error with patient IDs hidden; the rest is shown.\n"
    "\n"
    "exit status: 0 shown, 1 no such patient or unreadable, 2 usage error\n",
    0,
    run_show,
};
