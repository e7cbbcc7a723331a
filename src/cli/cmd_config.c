/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori config check: reads and validates the daily cycle's configuration
 * (/etc/mamori/mamori.conf or --config F) and prints the plan — hospital, sources with their
 * schedules and RPO targets, the media set and its rotation, hooks, and which medium is due
 * on the date (--date, default today) and the days after. Every problem of the file is
 * printed, each with file, line and key; the exit code is then 1. --json prints the same as
 * one JSON document.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "config/config.h"
#include "src/cli/cmd.h"

#define PLAN_DAYS_MAX 400

struct check_opts {
    const char *path;
    struct mm_config_date date;
    int days;
};

static const char *const wday_ja[7] = { "日", "月", "火", "水", "木", "金", "土" };

/* Print @s as a JSON string, or null. */
static void jstr(const char *s)
{
    if (s)
        cli_json_str(stdout, s, strlen(s));
    else
        fputs("null", stdout);
}

static const char *role_name(enum mm_config_role r)
{
    static const char *const names[] = { "none", "daily", "weekly", "monthly" };
    return names[r];
}

static const char *role_text(const struct cli_ctx *ctx, enum mm_config_role r)
{
    switch (r) {
    case MM_CONFIG_ROLE_DAILY:
        return CLI_T(ctx, "日次", "daily");
    case MM_CONFIG_ROLE_WEEKLY:
        return CLI_T(ctx, "週次", "weekly");
    case MM_CONFIG_ROLE_MONTHLY:
        return CLI_T(ctx, "月次", "monthly");
    default:
        return "";
    }
}

/* The day's weekday in the context's language. */
static const char *wday_text(const struct cli_ctx *ctx, int wd)
{
    return CLI_T(ctx, wday_ja[wd], mm_config_weekday_name(wd));
}

/* A share 0..1 as "5%" / "0.5%" (the configuration's form). */
static const char *pct_str(double v, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.4g%%", v * 100.0);
    return buf;
}

/* The source's guard settings when not the defaults (`guard = on`, learned, no canary). */
static void print_guard(const struct cli_ctx *ctx, const struct mm_config_source *s)
{
    static const char *const ja[] = { "変更", "削除", "追加" };
    static const char *const en[] = { "modified", "deleted", "added" };
    const double v[] = { s->guard_max_modified, s->guard_max_deleted, s->guard_max_added };
    char p[32];

    if (!s->guard) {
        printf("      %s\n", CLI_T(ctx, "ガード: オフ（判定しません）", "guard: off (not judged)"));
        return;
    }
    if (v[0] < 0 && v[1] < 0 && v[2] < 0 && !s->guard_canary)
        return;
    printf("      %s:", CLI_T(ctx, "ガード", "guard"));
    for (int i = 0; i < 3; i++)
        if (v[i] >= 0)
            printf(" %s %s %s", CLI_T(ctx, ja[i], en[i]), CLI_T(ctx, "上限", "max"),
                   pct_str(v[i], p, sizeof(p)));
    if (s->guard_canary)
        printf(" %s", CLI_T(ctx, "カナリアあり", "canary"));
    putchar('\n');
}

static void print_sources(const struct cli_ctx *ctx, const mm_config *cfg)
{
    char sched[96], rpo[32];

    printf("%s (%zu):\n", CLI_T(ctx, "取得元", "sources"), mm_config_source_count(cfg));
    for (size_t i = 0; i < mm_config_source_count(cfg); i++) {
        const struct mm_config_source *s = mm_config_source_at(cfg, i);
        printf("   %-12s %-7s %s", s->name,
               s->kind == MM_CONFIG_SOURCE_SSMIX2 ? "ssmix2" : "folder", s->path);
        if (s->extended)
            printf(" (%s %s)", CLI_T(ctx, "拡張", "extended"), s->extended);
        printf("  %s %s  RPO %s%s\n", CLI_T(ctx, "予定", "schedule"),
               mm_config_schedule_str(&s->schedule, sched, sizeof(sched)),
               mm_config_duration_str(s->rpo, rpo, sizeof(rpo)),
               s->enabled ? "" : CLI_T(ctx, "  （無効）", "  (disabled)"));
        print_guard(ctx, s);
    }
}

static void print_media(const struct cli_ctx *ctx, const mm_config *cfg)
{
    const struct mm_config_media *md = mm_config_media(cfg);
    char a[64], b[32];

    printf("\n%s (%zu, %s):\n", CLI_T(ctx, "媒体", "media"), mm_config_medium_count(cfg),
           md->rotation == MM_CONFIG_ROTATION_GFS
                   ? CLI_T(ctx, "GFS ローテーション", "grandfather-father-son rotation")
                   : CLI_T(ctx, "曜日ローテーション", "weekday rotation"));
    for (size_t i = 0; i < mm_config_medium_count(cfg); i++) {
        const struct mm_config_medium *m = mm_config_medium_at(cfg, i);
        printf("   %-10s ", m->label);
        cli_pad(md->rotation == MM_CONFIG_ROTATION_GFS ? role_text(ctx, m->role)
                                                       : mm_config_days_str(m->days, a, sizeof(a)),
                20);
        printf(" %s", m->path);
        if (m->keep)
            printf(CLI_T(ctx, "  %u 世代保持", "  keep %u"), m->keep);
        if (m->keep_age)
            printf(CLI_T(ctx, "  %s 保持", "  keep %s"),
                   mm_config_duration_str(m->keep_age, b, sizeof(b)));
        if (m->fs_label)
            printf("  %s %s", CLI_T(ctx, "ラベル", "label"), m->fs_label);
        if (m->fs_uuid)
            printf("  UUID %s", m->fs_uuid);
        if (m->credential)
            printf(CLI_T(ctx, "  資格情報 %s", "  credential %s"), m->credential);
        putchar('\n');
    }
    if (md->rotation == MM_CONFIG_ROTATION_GFS)
        printf(CLI_T(ctx, "   週次・月次の曜日: %s\n", "   weekly and monthly day: %s\n"),
               wday_text(ctx, md->weekly_day));
    printf(CLI_T(ctx, "   一時置き場: %s（%s で期限切れ）\n",
                 "   staging: %s (expires after %s)\n"),
           md->staging, mm_config_duration_str(md->staging_expiry, a, sizeof(a)));
    printf(CLI_T(ctx, "   保持の下限: %s かつ正常な %u 世代（run はこれより減らしません）\n",
                 "   retention floor: %s and %u clean generations (run never prunes below)\n"),
           mm_config_duration_str(md->keep_min_age, b, sizeof(b)), md->keep_min_clean);
}

static void print_hooks(const struct cli_ctx *ctx, const mm_config *cfg)
{
    const struct mm_config_hooks *h = mm_config_hooks(cfg);
    const struct mm_config_hook *list[3] = { &h->attach, &h->detach, &h->alert };
    static const char *const names[3] = { "attach", "detach", "alert" };
    char t[32];

    printf("\n%s:\n", CLI_T(ctx, "フック", "hooks"));
    for (int i = 0; i < 3; i++) {
        if (list[i]->path)
            printf("   %-7s %s (%s)\n", names[i], list[i]->path,
                   mm_config_duration_str(list[i]->timeout, t, sizeof(t)));
        else
            printf("   %-7s %s\n", names[i], CLI_T(ctx, "（なし）", "(none)"));
    }
}

/* [vault]: where the S3 vault is, how long each generation stays immutable, in which mode. */
static void print_vault(const struct cli_ctx *ctx, const mm_config *cfg)
{
    const struct mm_config_vault *v = mm_config_vault(cfg);
    char t[32];

    if (!v->url)
        return;
    printf("\n%s:\n   %s\n", CLI_T(ctx, "S3 保管庫", "S3 vault"), v->url);
    printf(CLI_T(ctx, "   保持 %s（%s）、認証情報 %s\n", "   retained %s (%s), credentials %s\n"),
           mm_config_duration_str(v->retain, t, sizeof(t)),
           v->governance ? "GOVERNANCE" : "COMPLIANCE",
           v->credentials ? v->credentials : CLI_T(ctx, "（環境変数）", "(environment)"));
    if (v->governance)
        printf("%s",
               CLI_T(ctx,
                     "   注意: GOVERNANCE は解除権限のある人が保持を外せます（compliance を推奨）\n",
                     "   warning: GOVERNANCE can be lifted by anyone with the bypass "
                     "permission (compliance is recommended)\n"));
}

/* The plan: the medium due on each of @o->days days from @o->date. */
static int print_plan(const struct cli_ctx *ctx, const mm_config *cfg, const struct check_opts *o)
{
    const int gfs = mm_config_media(cfg)->rotation == MM_CONFIG_ROTATION_GFS;

    printf("\n%s:\n", CLI_T(ctx, "媒体の予定", "plan"));
    for (int i = 0; i < o->days; i++) {
        struct mm_config_date d = mm_config_date_add(o->date, i);
        struct mm_config_due due[2];
        int err = mm_config_medium_for(cfg, d, due);
        if (err < 0)
            return cli_lib_error(err);
        const char *label = due[0].medium ? due[0].medium->label : "-";
        printf("   %04d-%02d-%02d %-3s  ", d.year, d.month, d.day,
               wday_text(ctx, mm_config_date_weekday(d)));
        if (gfs || i == 0)
            printf("%-10s", label);
        else
            fputs(label, stdout);
        if (gfs)
            printf(" %s", role_text(ctx, due[0].rule));
        if (i == 0)
            printf("  %s", CLI_T(ctx, "← この日の媒体", "<- due on this date"));
        if (i == 0 && due[1].medium)
            printf(CLI_T(ctx, "（次は %s）", " (next: %s)"), due[1].medium->label);
        putchar('\n');
    }
    return CLI_OK;
}

static int print_human(const struct cli_ctx *ctx, const mm_config *cfg, const struct check_opts *o)
{
    const struct mm_config_hospital *h = mm_config_hospital(cfg);
    const struct mm_config_service *sv = mm_config_service(cfg);
    char t[32], t2[32];

    printf(CLI_T(ctx, "設定ファイル %s: 正しい設定です\n\n", "configuration %s: valid\n\n"),
           mm_config_path(cfg));
    printf("%s: %s%s%s\n", CLI_T(ctx, "病院", "hospital"), h->id, h->name ? "  " : "",
           h->name ? h->name : "");
    if (sv->structural_drill_interval == 0)
        snprintf(t2, sizeof(t2), "%s", CLI_T(ctx, "毎回", "every window"));
    else
        mm_config_duration_str(sv->structural_drill_interval, t2, sizeof(t2));
    printf(CLI_T(ctx, "サービス: 利用者 %s、状態 %s、全件復元訓練 %s ごと、構造訓練 %s%s%s\n\n",
                 "service: user %s, state %s, full drill every %s, structural drill %s%s%s\n\n"),
           sv->user, sv->state_dir, mm_config_duration_str(sv->full_drill_interval, t, sizeof(t)),
           sv->structural_drill_interval == 0 ? "" : CLI_T(ctx, "", "every "), t2,
           sv->structural_drill_interval == 0 ? "" : CLI_T(ctx, " ごと", ""));
    print_sources(ctx, cfg);
    print_media(ctx, cfg);
    print_hooks(ctx, cfg);
    print_vault(ctx, cfg);
    return print_plan(ctx, cfg, o);
}

/* `,"key":share` (null when learned). */
static void json_share(const char *key, double v)
{
    if (v < 0)
        printf(",\"%s\":null", key);
    else
        printf(",\"%s\":%.6g", key, v);
}

static void json_sources(const mm_config *cfg)
{
    char sched[96];

    fputs(",\"sources\":[", stdout);
    for (size_t i = 0; i < mm_config_source_count(cfg); i++) {
        const struct mm_config_source *s = mm_config_source_at(cfg, i);
        printf("%s{\"name\":", i ? "," : "");
        jstr(s->name);
        printf(",\"kind\":\"%s\",\"path\":",
               s->kind == MM_CONFIG_SOURCE_SSMIX2 ? "ssmix2" : "folder");
        jstr(s->path);
        fputs(",\"extended\":", stdout);
        jstr(s->extended);
        printf(",\"schedule\":\"%s\",\"rpo_seconds\":%lld,\"enabled\":%s",
               mm_config_schedule_str(&s->schedule, sched, sizeof(sched)), (long long)s->rpo,
               s->enabled ? "true" : "false");
        printf(",\"guard\":{\"on\":%s", s->guard ? "true" : "false");
        json_share("max_modified", s->guard_max_modified);
        json_share("max_deleted", s->guard_max_deleted);
        json_share("max_added", s->guard_max_added);
        printf(",\"canary\":%s}}", s->guard_canary ? "true" : "false");
    }
    fputc(']', stdout);
}

static void json_media(const mm_config *cfg)
{
    const struct mm_config_media *md = mm_config_media(cfg);
    char days[64];

    printf(",\"media_set\":{\"rotation\":\"%s\",\"staging\":",
           md->rotation == MM_CONFIG_ROTATION_GFS ? "gfs" : "weekday");
    jstr(md->staging);
    printf(",\"staging_expiry_seconds\":%lld,\"weekly_day\":\"%s\",\"keep_min_age_seconds\":%lld,"
           "\"keep_min_clean\":%u},\"media\":[",
           (long long)md->staging_expiry, mm_config_weekday_name(md->weekly_day),
           (long long)md->keep_min_age, md->keep_min_clean);
    for (size_t i = 0; i < mm_config_medium_count(cfg); i++) {
        const struct mm_config_medium *m = mm_config_medium_at(cfg, i);
        printf("%s{\"label\":", i ? "," : "");
        jstr(m->label);
        fputs(",\"days\":", stdout);
        jstr(m->days ? mm_config_days_str(m->days, days, sizeof(days)) : NULL);
        fputs(",\"role\":", stdout);
        jstr(m->role ? role_name(m->role) : NULL);
        printf(",\"keep\":%u,\"keep_age_seconds\":%lld,\"path\":", m->keep, (long long)m->keep_age);
        jstr(m->path);
        fputs(",\"fs_uuid\":", stdout);
        jstr(m->fs_uuid);
        fputs(",\"fs_label\":", stdout);
        jstr(m->fs_label);
        fputs(",\"credential\":", stdout);
        jstr(m->credential);
        fputc('}', stdout);
    }
    fputc(']', stdout);
}

static int print_json(const mm_config *cfg, const struct check_opts *o)
{
    const struct mm_config_hooks *h = mm_config_hooks(cfg);
    const struct mm_config_hook *hooks[3] = { &h->attach, &h->detach, &h->alert };
    static const char *const names[3] = { "attach", "detach", "alert" };

    fputs("{\"config\":", stdout);
    jstr(mm_config_path(cfg));
    fputs(",\"valid\":true,\"hospital\":{\"id\":", stdout);
    jstr(mm_config_hospital(cfg)->id);
    fputs(",\"name\":", stdout);
    jstr(mm_config_hospital(cfg)->name);
    fputs("},\"service\":{\"user\":", stdout);
    jstr(mm_config_service(cfg)->user);
    fputs(",\"state_dir\":", stdout);
    jstr(mm_config_service(cfg)->state_dir);
    printf(",\"full_drill_interval_seconds\":%lld,\"structural_drill_interval_seconds\":%lld}",
           (long long)mm_config_service(cfg)->full_drill_interval,
           (long long)mm_config_service(cfg)->structural_drill_interval);
    json_sources(cfg);
    json_media(cfg);
    fputs(",\"hooks\":{", stdout);
    for (int i = 0; i < 3; i++) {
        printf("%s\"%s\":{\"path\":", i ? "," : "", names[i]);
        jstr(hooks[i]->path);
        printf(",\"timeout_seconds\":%lld}", (long long)hooks[i]->timeout);
    }
    fputs("},\"vault\":", stdout);
    if (!mm_config_vault(cfg)->url) {
        fputs("null", stdout);
    } else {
        fputs("{\"url\":", stdout);
        jstr(mm_config_vault(cfg)->url);
        fputs(",\"credentials\":", stdout);
        jstr(mm_config_vault(cfg)->credentials);
        printf(",\"retain_seconds\":%lld,\"lock_mode\":\"%s\"}",
               (long long)mm_config_vault(cfg)->retain,
               mm_config_vault(cfg)->governance ? "governance" : "compliance");
    }
    fputs(",\"plan\":[", stdout);
    for (int i = 0; i < o->days; i++) {
        struct mm_config_date d = mm_config_date_add(o->date, i);
        struct mm_config_due due[2];
        int err = mm_config_medium_for(cfg, d, due);
        if (err < 0)
            return cli_lib_error(err);
        printf("%s{\"date\":\"%04d-%02d-%02d\",\"weekday\":\"%s\",\"medium\":", i ? "," : "",
               d.year, d.month, d.day, mm_config_weekday_name(mm_config_date_weekday(d)));
        jstr(due[0].medium ? due[0].medium->label : NULL);
        fputs(",\"rule\":", stdout);
        jstr(due[0].rule ? role_name(due[0].rule) : NULL);
        fputc('}', stdout);
    }
    fputs("]}\n", stdout);
    return CLI_OK;
}

/* Print every problem of @errs; @err is the load's result. */
static int print_errors(const struct cli_ctx *ctx, const struct check_opts *o,
                        const struct mm_config_errors *errs, int err)
{
    size_t total = errs->count + errs->dropped;

    if (ctx->json) {
        fputs("{\"config\":", stdout);
        jstr(o->path);
        printf(",\"valid\":false,\"error\":\"%s\",\"problems\":[", mm_error_name(err));
        for (size_t i = 0; i < errs->count; i++) {
            if (i)
                fputc(',', stdout);
            jstr(errs->msgs[i]);
        }
        printf("],\"problems_not_listed\":%zu}\n", errs->dropped);
        return CLI_ERROR;
    }
    if (err != MM_EINVAL)
        return cli_lib_error(err);
    for (size_t i = 0; i < errs->count; i++)
        cli_error("%s", errs->msgs[i]);
    if (errs->dropped)
        cli_error(CLI_T(ctx, "ほかに %zu 件の問題があります", "%zu more problems"), errs->dropped);
    cli_error(
            CLI_T(ctx, "設定に %zu 件の問題があります: %s", "%zu problems in the configuration %s"),
            total, o->path);
    return CLI_ERROR;
}

/* Today's local date. */
static struct mm_config_date today(void)
{
    time_t now = time(NULL);
    struct tm t;
    struct mm_config_date d = { 1970, 1, 1 };

    if (localtime_r(&now, &t)) {
        d.year = t.tm_year + 1900;
        d.month = t.tm_mon + 1;
        d.day = t.tm_mday;
    }
    return d;
}

/* --days: 1 to PLAN_DAYS_MAX. OUT: @out */
static int parse_days(const char *s, int *out)
{
    char *end;
    long n = strtol(s, &end, 10);

    if (*end || end == s || n < 1 || n > PLAN_DAYS_MAX)
        return -1;
    *out = (int)n;
    return 0;
}

static int run_config(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "date", required_argument, NULL, 'd' },
        { "days", required_argument, NULL, 'n' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    struct check_opts o = { MM_CONFIG_DEFAULT_PATH, today(), 7 };
    struct mm_config_errors errs;
    mm_config *cfg = NULL;
    int opt, err, rc;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            o.path = optarg;
            break;
        case 'd':
            if (mm_config_date_parse(optarg, &o.date) < 0)
                return cli_usage(ctx, &cmd_config,
                                 CLI_T(ctx, "--date は 1970 年以降の YYYY-MM-DD です: '%s'",
                                       "--date takes a date YYYY-MM-DD from 1970 on: '%s'"),
                                 optarg);
            break;
        case 'n':
            if (parse_days(optarg, &o.days) < 0)
                return cli_usage(ctx, &cmd_config,
                                 CLI_T(ctx, "--days は 1 から %d の数です", "--days takes 1 to %d"),
                                 PLAN_DAYS_MAX);
            break;
        case 'j':
            ctx->json = 1;
            break;
        default:
            return cli_option_error(ctx, &cmd_config, opt, argv);
        }
    }
    if (optind + 1 != argc || strcmp(argv[optind], "check") != 0)
        return cli_usage(ctx, &cmd_config, CLI_T(ctx, "check を指定してください", "give check"));
    mm_config_errors_init(&errs);
    err = mm_config_load_errors(o.path, &cfg, &errs);
    if (err < 0)
        rc = print_errors(ctx, &o, &errs, err);
    else
        rc = ctx->json ? print_json(cfg, &o) : print_human(ctx, cfg, &o);
    mm_config_errors_release(&errs);
    mm_config_free(cfg);
    return rc;
}

const struct cmd cmd_config = {
    "config",
    "config check [--config <FILE>] [--date <YYYY-MM-DD>] [--days <N>] [--json]",
    "毎日のバックアップの設定を検査し、予定を表示する",
    "check the daily cycle's configuration and print its plan",
    "オプション:\n"
    "   --config <FILE>      設定ファイル（既定: /etc/mamori/mamori.conf）\n"
    "   --date <YYYY-MM-DD>  この日から予定を表示する（既定: 今日）\n"
    "   --days <N>           予定を表示する日数（既定: 7）\n"
    "   --json               結果を JSON で出す\n"
    "\n"
    "設定の誤りはすべて、ファイル名・行番号・キーとともに表示します。\n"
    "フックのファイルがあるか・実行できるかは、使うとき（mamori run）に確かめます。\n"
    "終了コード: 0 正しい設定、1 誤りがある、2 使い方の誤り\n",
    "options:\n"
    "   --config <FILE>      configuration file (default /etc/mamori/mamori.conf)\n"
    "   --date <YYYY-MM-DD>  show the plan from this date (default today)\n"
    "   --days <N>           days of plan to show (default 7)\n"
    "   --json               print the result as JSON\n"
    "\n"
    "Every problem of the file is printed with its file name, line and key.\n"
    "Whether hook files exist and are executable is checked when they are used (mamori run).\n"
    "Exit codes: 0 valid, 1 problems found, 2 usage error\n",
    0,
    run_config,
};
