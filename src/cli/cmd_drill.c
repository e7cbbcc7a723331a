/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori drill: the full restore drill with a person's key (drill/drill.h does the work):
 * this file parses the options, unlocks the key slot (timed: it is part of the time to a
 * usable viewer), prints progress on a terminal, the result as text or one JSON object, writes
 * the HTML report atomically, the `drill` audit event into the medium's and the host's log,
 * and the record into the configuration's state_dir/drills.jsonl when there is a
 * configuration. Exit: 0 passed, 1 error (no such generation, no room, wrong passphrase),
 * 2 usage, 3 damage found. Nothing printed names a patient.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/status.h"
#include "common/error.h"
#include "config/config.h"
#include "drill/drill.h"
#include "mm_config.h"
#include "os/os.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"
#include "viewer/viewer.h"

/* What the drill's output needs besides the result. */
struct drill_out {
    struct cli_run run; /* first: the progress and problem callbacks take it */
    struct mm_repo_medium medium;
    int have_medium;
    char host[256];
    char report[4096]; /* the report written, or "" */
    int recorded;      /* the record is in the host's drills.jsonl */
    char record_why[600];
};

static double mono(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Each step as it begins, on a terminal. */
static void on_step(enum mm_drill_step s, void *arg)
{
    static const char *const ja[] = { "",       "閲覧の確認",     "復元",
                                      "再照合", "患者の読み出し", "後片付け" };
    static const char *const en[] = {
        "", "viewer check", "restore", "second check", "reading patients", "cleanup"
    };
    struct drill_out *d = arg;
    const struct cli_ctx *ctx = d->run.prog.ctx;

    cli_progress_end(&d->run.prog);
    if (ctx->json || ctx->quiet || !ctx->tty)
        return;
    fprintf(stderr, "mamori: %s...\n", CLI_T(ctx, ja[s], en[s]));
    cli_progress_start(&d->run.prog, ctx, CLI_T(ctx, ja[s], en[s]));
}

/* Unlock a key slot as every command does, timing mm_repo_open (not the prompt). */
static int unlock(struct cli_ctx *ctx, const char *path, const char *user, const char *passfile,
                  mm_repo **out, double *secs)
{
    char pass[CLI_PASS_MAX];
    size_t len = 0;
    double t;
    int rc, err;

    if ((rc = cli_passphrase(ctx, passfile, "MAMORI_PASSPHRASE",
                             "パスフレーズ: ", "passphrase: ", 0, pass, &len)) != CLI_OK)
        return rc;
    t = mono();
    err = mm_repo_open(out, path, user, pass, len);
    *secs = mono() - t;
    if (err == 0)
        cli_secret_warn(ctx, pass, len, mm_repo_user(*out), path);
    mm_crypto_wipe(pass, sizeof(pass));
    if (err == MM_EAUTH)
        cli_audit_unlock_failed(ctx, path, user);
    return err < 0 ? cli_repo_error(ctx, err) : CLI_OK;
}

/* The configuration: --config (it must load), else the default file when it can be read.
 * OUT: *cfg (NULL: none). @return CLI_OK or CLI_ERROR (printed) */
static int load_config(const struct cli_ctx *ctx, const char *path, mm_config **cfg)
{
    *cfg = NULL;
    if (!path && access(MM_CONFIG_DEFAULT_PATH, R_OK) != 0)
        return CLI_OK;
    if (mm_config_load(path ? path : MM_CONFIG_DEFAULT_PATH, cfg) == 0)
        return CLI_OK;
    cli_error(CLI_T(ctx, "設定ファイルを読めません: %s", "cannot read the configuration: %s"),
              mm_error_last());
    return CLI_ERROR;
}

/* "%.3f", or "-1" when not measured, into @out (for the audit event). */
static const char *fig(double v, char out[32])
{
    snprintf(out, 32, v < 0 ? "-1" : "%.3f", v);
    return out;
}

/* The `drill` audit event. */
static void audit(const struct cli_ctx *ctx, mm_repo *r, const char *repo, int err,
                  const struct mm_drill_result *res)
{
    struct mm_audit_fields b = { 0 };
    struct mm_audit_event ev = { 0 };
    char v[6][32], msg[256];

    mm_audit_fields_add(&b, "drill", "full");
    mm_audit_fields_add(&b, "result", err < 0 ? "failed" : res->ok ? "ok" : "damaged");
    mm_audit_fields_add(&b, "generation", res->generation[0] ? res->generation : NULL);
    mm_audit_fields_add(&b, "viewer_s", fig(res->viewer_s, v[0]));
    mm_audit_fields_add(&b, "restore_s", fig(res->restore_s, v[1]));
    mm_audit_fields_add(&b, "compare_s", fig(res->compare_s, v[2]));
    mm_audit_fields_add(&b, "total_s", fig(res->total_s, v[3]));
    mm_audit_fields_add(&b, "mib_s", fig(res->mib_s, v[4]));
    mm_audit_fields_addu(&b, "files", res->files);
    mm_audit_fields_addu(&b, "bytes", res->bytes);
    snprintf(v[5], sizeof(v[5]), "%lld", (long long)res->rpo_s);
    mm_audit_fields_add(&b, "rpo_s", v[5]);
    mm_audit_fields_addu(&b, "patients", res->patients);
    mm_audit_fields_addu(&b, "patients_failed", res->patients_failed);
    mm_audit_fields_add(&b, "scratch_removed", res->cleaned ? "yes" : "no");
    for (size_t i = 0; i < MM_DRILL_CHECKS; i++)
        if (res->checks[i].run && !res->checks[i].ok) {
            mm_audit_fields_add(&b, "failed_check", res->checks[i].name);
            break;
        }
    if (err < 0) {
        snprintf(msg, sizeof(msg), "%s", mm_error_last());
        mm_audit_fields_add(&b, "error", mm_error_name(err));
        mm_audit_fields_add(&b, "message", msg);
    }
    ev.kind = MM_AUDIT_DRILL;
    ev.fields = b.f;
    ev.nfields = b.n;
    cli_audit_write(ctx, r, repo, &ev);
}

/* Write the report to @path (NULL: the default name in the current folder), atomically. */
static int write_report(const struct cli_ctx *ctx, const char *path, const char *repo,
                        const struct mm_drill_result *res, struct drill_out *d)
{
    struct mm_drill_report_info in = { 0 };
    struct tm tm;
    time_t at = (time_t)res->at;
    long off;
    mm_buf b;
    int err;

    if (path)
        snprintf(d->report, sizeof(d->report), "%s", path);
    else if (mm_os_localtime(at, &tm, &off) == 0)
        snprintf(d->report, sizeof(d->report), "mamori-drill-%04d%02d%02d-%02d%02d%02d-%.8s.html",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 res->generation);
    in.hospital = d->have_medium ? d->medium.hospital : NULL;
    in.medium = d->have_medium ? d->medium.label : NULL;
    in.host = d->host;
    in.repo = repo;
    in.version = MM_VERSION;
    mm_buf_init(&b, 4u << 20);
    err = mm_drill_report_html(res, &in, ctx->lang == CLI_LANG_EN ? MM_DRILL_EN : MM_DRILL_JA, &b);
    if (err == 0)
        err = mm_os_write_atomic(d->report, b.ptr, b.len);
    mm_buf_release(&b);
    if (err < 0) {
        cli_error(CLI_T(ctx, "報告書を書けません: %s", "cannot write the report: %s"),
                  mm_error_last());
        d->report[0] = '\0';
        return CLI_ERROR;
    }
    return CLI_OK;
}

/* Append the record to the configuration's state_dir/drills.jsonl. */
static void record(const struct cli_ctx *ctx, const char *cfg_path, struct mm_drill_result *res,
                   struct drill_out *d)
{
    mm_config *cfg = NULL;

    if (load_config(ctx, cfg_path, &cfg) != CLI_OK || !cfg) {
        snprintf(d->record_why, sizeof(d->record_why), "%s",
                 cfg_path ? CLI_T(ctx, "設定を読めません", "the configuration does not read")
                          : CLI_T(ctx, "設定ファイルがありません", "no configuration file"));
        return;
    }
    if (d->have_medium)
        snprintf(res->record.medium, sizeof(res->record.medium), "%s", d->medium.label);
    if (mm_status_drill_append(mm_config_service(cfg)->state_dir, &res->record) == 0)
        d->recorded = 1;
    else
        snprintf(d->record_why, sizeof(d->record_why), "%s", mm_error_last());
    mm_config_free(cfg);
}

/* A figure as JSON: null when not measured. */
static void jnum(const char *key, double v, int comma)
{
    if (v < 0)
        printf("\"%s\":null%s", key, comma ? "," : "");
    else
        printf("\"%s\":%.3f%s", key, v, comma ? "," : "");
}

static void print_json(const struct mm_drill_result *res, const struct drill_out *d, int err,
                       double unlock_s)
{
    char gt[48], at[48];

    mm_viewer_local_time(res->gen_time_ns, gt);
    mm_viewer_local_time(res->at * 1000000000, at);
    printf("{\"ok\":%s,\"result\":\"%s\",", res->ok && err == 0 ? "true" : "false",
           err < 0       ? "error"
           : res->ok     ? "ok"
           : res->damage ? "damaged"
                         : "failed");
    if (err < 0) {
        printf("\"error\":\"%s\",\"message\":", mm_error_name(err));
        cli_json_str(stdout, mm_error_last(), strlen(mm_error_last()));
        printf(",");
    }
    printf("\"repo_id\":\"%s\",\"user\":", res->repo_id);
    cli_json_str(stdout, res->user, strlen(res->user));
    printf(",\"host\":");
    cli_json_str(stdout, d->host, strlen(d->host));
    printf(",\"at\":\"%s\",\"generation\":", at);
    if (res->generation[0])
        printf("{\"id\":\"%s\",\"time\":\"%s\",\"guard\":\"%s\"}", res->generation, gt, res->guard);
    else
        printf("null");
    printf(",\"timings\":{");
    jnum("unlock_s", unlock_s, 1);
    jnum("viewer_s", res->viewer_s, 1);
    jnum("restore_s", res->restore_s, 1);
    jnum("compare_s", res->compare_s, 1);
    jnum("patients_s", res->patients_s, 1);
    jnum("cleanup_s", res->cleanup_s, 1);
    jnum("total_s", res->total_s, 0);
    printf("},\"files\":%llu,\"bytes\":%llu,", (unsigned long long)res->files,
           (unsigned long long)res->bytes);
    jnum("mib_s", res->mib_s, 1);
    printf("\"damaged_files\":%llu,\"compare\":{\"files\":%llu,\"missing\":%llu,\"extra\":%llu,"
           "\"differ\":%llu,\"unreadable_folders\":%llu},\"patients\":{\"total\":%llu,\"sampled\":%llu,\"failed\":%llu,"
           "\"documents\":%llu},\"rpo_s\":",
           (unsigned long long)res->damaged, (unsigned long long)res->compare.files,
           (unsigned long long)res->compare.missing, (unsigned long long)res->compare.extra,
           (unsigned long long)res->compare.differ, (unsigned long long)res->compare.unreadable,
           (unsigned long long)res->patients_total, (unsigned long long)res->patients,
           (unsigned long long)res->patients_failed, (unsigned long long)res->documents);
    if (res->rpo_s < 0)
        printf("null");
    else
        printf("%lld", (long long)res->rpo_s);
    printf(",\"rpo\":[");
    for (size_t i = 0; i < res->nrpo; i++) {
        const struct mm_drill_rpo *p = &res->rpo[i];
        printf("%s{\"source\":", i ? "," : "");
        cli_json_str(stdout, p->name, strlen(p->name));
        printf(",\"path\":");
        cli_json_str(stdout, p->path, strlen(p->path));
        if (p->age_s < 0)
            printf(",\"age_s\":null,\"generation\":null}");
        else
            printf(",\"age_s\":%lld,\"generation\":\"%s\"}", (long long)p->age_s, p->generation);
    }
    printf("],\"checks\":[");
    for (size_t i = 0; i < MM_DRILL_CHECKS; i++) {
        const struct mm_drill_check *c = &res->checks[i];
        printf("%s{\"name\":\"%s\",\"run\":%s,\"ok\":%s,\"detail\":", i ? "," : "", c->name,
               c->run ? "true" : "false", c->run && c->ok ? "true" : "false");
        cli_json_str(stdout, c->detail_en, strlen(c->detail_en));
        printf("}");
    }
    printf("],\"problems\":");
    cli_problems_json(stdout, &d->run.probs);
    printf(",\"scratch_removed\":%s,\"report\":", res->cleaned ? "true" : "false");
    if (d->report[0])
        cli_json_str(stdout, d->report, strlen(d->report));
    else
        printf("null");
    printf(",\"recorded_on_host\":%s}\n", d->recorded ? "true" : "false");
}

/* Seconds as text, "-" when not measured. */
static const char *secs(const struct cli_ctx *ctx, double v, char out[40])
{
    if (v < 0)
        snprintf(out, 40, "-");
    else
        snprintf(out, 40, CLI_T(ctx, "%.2f 秒", "%.2f s"), v);
    return out;
}

static void print_text(const struct cli_ctx *ctx, const struct mm_drill_result *res,
                       const struct drill_out *d)
{
    char a[40], b[40], c[40];

    cli_problems_print(ctx, &d->run.probs);
    if (res->generation[0] && !ctx->quiet)
        printf(CLI_T(ctx, "復元訓練: 世代 %.12s（ガード: %s）\n",
                     "restore drill: generation %.12s (guard: %s)\n"),
               res->generation, res->guard);
    for (size_t i = 0; i < MM_DRILL_CHECKS; i++) {
        const struct mm_drill_check *k = &res->checks[i];
        if (!k->run || (ctx->quiet && k->ok))
            continue;
        printf("  %-8s %-10s ", k->ok ? CLI_T(ctx, "合格  ", "PASS") : CLI_T(ctx, "不合格", "FAIL"),
               k->name);
        cli_fputs_esc(CLI_T(ctx, k->detail_ja, k->detail_en), stdout);
        printf("\n");
    }
    if (!ctx->quiet && res->restore_s >= 0) {
        printf(CLI_T(ctx, "閲覧可能までの時間 %s、全復元時間 %s、再照合 %s、転送速度 %.1f MiB/秒\n",
                     "time to a usable viewer %s, full restore %s, second check %s, %.1f MiB/s\n"),
               secs(ctx, res->viewer_s, a), secs(ctx, res->restore_s, b),
               secs(ctx, res->compare_s, c), res->mib_s < 0 ? 0.0 : res->mib_s);
        for (size_t i = 0; i < res->nrpo; i++) {
            const struct mm_drill_rpo *p = &res->rpo[i];
            printf("RPO %s: ", cli_esc(p->name));
            if (p->age_s < 0)
                printf("%s\n", CLI_T(ctx, "なし（クリーンで検証済みの世代がありません）",
                                     "none (no clean, verified generation)"));
            else
                printf(CLI_T(ctx, "%lld 時間 %lld 分（世代 %.12s）\n",
                             "%lld h %lld min (generation %.12s)\n"),
                       (long long)(p->age_s / 3600), (long long)(p->age_s % 3600 / 60),
                       p->generation);
        }
    }
    if (!res->cleaned)
        printf(CLI_T(ctx,
                     "警告: 作業用フォルダ %s を削除できませんでした。患者データが残っています\n",
                     "WARNING: the scratch folder %s could not be removed: patient data is left\n"),
               cli_esc(res->scratch));
    if (res->generation[0])
        printf(CLI_T(ctx, "総合判定: %s\n", "verdict: %s\n"),
               res->ok ? CLI_T(ctx, "合格", "PASS") : CLI_T(ctx, "不合格", "FAIL"));
    if (d->report[0] && !ctx->quiet)
        printf(CLI_T(ctx, "報告書: %s\n", "report: %s\n"), cli_esc(d->report));
    if (!ctx->quiet) {
        if (d->recorded)
            printf("%s\n", CLI_T(ctx, "この PC の記録（drills.jsonl）に書きました",
                                 "recorded on this host (drills.jsonl)"));
        else
            printf(CLI_T(ctx, "この PC には記録していません（%s）\n",
                         "not recorded on this host (%s)\n"),
                   cli_esc(d->record_why));
    }
}

/* The drill's exit status after an error @err of the library (printed here). */
static int drill_error(const struct cli_ctx *ctx, int err, const char *spec)
{
    if (err == MM_ENOTFOUND && spec) {
        cli_error(CLI_T(ctx, "世代 '%s' がありません（mamori generations で一覧できます）",
                        "no generation '%s' (mamori generations lists them)"),
                  cli_esc(spec));
        return CLI_ERROR;
    }
    if (err == MM_ENOTFOUND) {
        cli_error("%s", CLI_T(ctx, "訓練できる世代がありません", "no generation to drill"));
        return CLI_ERROR;
    }
    if (err == MM_ELIMIT) {
        cli_error(CLI_T(ctx, "空き容量が足りません: %s", "not enough space: %s"),
                  cli_esc(mm_error_last()));
        return CLI_ERROR;
    }
    return cli_repo_error(ctx, err);
}

struct drill_args {
    const char *repo, *user, *passfile, *gen, *scratch, *report, *config;
    unsigned int sample;
};

/* Parse the options into @a. @return CLI_OK or CLI_USAGE (printed) */
static int parse(struct cli_ctx *ctx, int argc, char **argv, struct drill_args *a)
{
    static const struct option opts[] = {
        { "generation", required_argument, NULL, 'g' },
        { "scratch", required_argument, NULL, 's' },
        { "sample", required_argument, NULL, 'n' },
        { "report", required_argument, NULL, 'o' },
        { "config", required_argument, NULL, 'c' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    int opt;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        char *end;
        unsigned long v;
        if (cli_repo_arg(ctx, opt, &a->repo, &a->user, &a->passfile))
            continue;
        switch (opt) {
        case 'g':
            a->gen = optarg;
            break;
        case 's':
            a->scratch = optarg;
            break;
        case 'o':
            a->report = optarg;
            break;
        case 'c':
            a->config = optarg;
            break;
        case 'n':
            v = strtoul(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > MM_DRILL_SAMPLE_MAX)
                return cli_usage(ctx, &cmd_drill,
                                 CLI_T(ctx, "--sample は 1 から %u の整数です",
                                       "--sample is a whole number from 1 to %u"),
                                 MM_DRILL_SAMPLE_MAX);
            a->sample = (unsigned int)v;
            break;
        default:
            return cli_option_error(ctx, &cmd_drill, opt, argv);
        }
    }
    if (optind != argc)
        return cli_usage(ctx, &cmd_drill, CLI_T(ctx, "引数が多すぎます", "too many arguments"));
    if (!a->repo || !*a->repo)
        return cli_usage(ctx, &cmd_drill,
                         CLI_T(ctx, "--repo でリポジトリを指定してください",
                               "give the repository with --repo"));
    return CLI_OK;
}

/* The folder the scratch copy goes into: --scratch, $TMPDIR, /var/tmp. */
static const char *scratch_parent(const char *opt)
{
    const char *t = getenv("TMPDIR");

    return opt ? opt : t && *t ? t : "/var/tmp";
}

static int run_drill(struct cli_ctx *ctx, int argc, char **argv)
{
    struct drill_args a = { 0 };
    struct mm_drill_opts o = { 0 };
    struct mm_drill_result res;
    struct drill_out d;
    char audit_dir[4096];
    mm_repo *r = NULL;
    double unlock_s = 0;
    int rc, err;

    a.repo = ctx->repo;
    memset(&res, 0, sizeof(res));
    memset(&d, 0, sizeof(d));
    d.run.prog.ctx = ctx;
    if ((rc = parse(ctx, argc, argv, &a)) != CLI_OK)
        return rc;
    if ((rc = unlock(ctx, a.repo, a.user, a.passfile, &r, &unlock_s)) != CLI_OK)
        return rc;
    if ((rc = cli_repo_lock_reader(ctx, r)) != CLI_OK)
        goto out;
    if (mm_os_hostname(d.host, sizeof(d.host)) < 0)
        snprintf(d.host, sizeof(d.host), "-");
    d.have_medium = mm_repo_medium_get(r, &d.medium) == 0;
    mm_error_clear();
    o.generation = a.gen;
    o.scratch = scratch_parent(a.scratch);
    o.host_dir = cli_audit_dir_or_null(ctx, audit_dir, sizeof(audit_dir));
    o.sample = a.sample;
    o.unlock_s = unlock_s;
    o.step = on_step;
    o.progress = cli_progress_cb;
    o.problem = cli_problem_cb;
    o.ctx = &d;
    err = mm_drill_run(r, &o, &res);
    cli_progress_end(&d.run.prog);
    audit(ctx, r, a.repo, err, &res);
    /* a drill that found no generation to drill is an audit event, not a drill record */
    if (res.generation[0]) {
        write_report(ctx, a.report, a.repo, &res, &d);
        record(ctx, a.config, &res, &d);
    } else {
        snprintf(d.record_why, sizeof(d.record_why), "%s",
                 CLI_T(ctx, "訓練した世代がありません", "no generation was drilled"));
    }
    if (ctx->json)
        print_json(&res, &d, err, unlock_s);
    else
        print_text(ctx, &res, &d);
    if (err < 0)
        rc = drill_error(ctx, err, a.gen);
    else
        rc = res.ok ? CLI_OK : res.damage ? CLI_DAMAGE : CLI_ERROR;
out:
    mm_drill_result_release(&res);
    cli_problems_free(&d.run.probs);
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_drill = {
    "drill",
    "drill --repo <DIR> [--generation <G>] [--scratch <DIR>] [--sample <N>] [--report <FILE>] "
    "[--config <FILE>] [--json]",
    "復元訓練（作業用フォルダに復元して全部を確かめ、RTO/RPO を報告する）",
    "restore drill: restore into a scratch folder, check it all, report RTO/RPO",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ（媒体）\n"
    "   --generation <G>          訓練する世代（ID・先頭部分・latest。既定: 問題のない最新の世代）\n"
    "   --scratch <DIR>           この中に作業用フォルダを作って復元する（既定: $TMPDIR か\n"
    "                             /var/tmp）。終わると必ず削除します\n"
    "   --sample <N>              ビューアと同じ読み方で確かめる患者の数（既定 20、1〜10000）\n"
    "   --report <FILE>           HTML の報告書（既定: ./mamori-drill-<日時>-<世代>.html）\n"
    "   --config <FILE>           この PC の設定（既定: /etc/mamori/mamori.conf があれば）。\n"
    "                             その state_dir の drills.jsonl に結果を記録します\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --json                    結果を JSON で出す（進み具合は出さない）\n"
    "\n"
    "確かめること: リポジトリヘッド（削除・巻き戻し）、閲覧可能までの時間（鍵の解除から患者\n"
    "画面まで）、全ファイルの復元（全バイトを ID と照合）、復元したファイルの再照合（名前・\n"
    "大きさ・内容のハッシュ）、患者の読み出し（検索・患者画面・検査結果・文書と画像）、\n"
    "インデックスと復元データの一致、ソースごとの RPO。監査ログに記録します。\n"
    "終了コード: 0 合格、1 実施できなかった（世代なし・空き不足・パスフレーズ違い）、\n"
    "2 使い方の誤り、3 損傷・不一致・削除を見つけた\n",
    "options:\n"
    "   --repo <DIR>              the repository (medium)\n"
    "   --generation <G>          the generation to drill (ID, prefix, latest; default: the\n"
    "                             newest good one)\n"
    "   --scratch <DIR>           restore into a new folder inside this one (default: $TMPDIR\n"
    "                             or /var/tmp); it is always removed at the end\n"
    "   --sample <N>              patients read as the viewer reads them (default 20, 1-10000)\n"
    "   --report <FILE>           the HTML report (default ./mamori-drill-<time>-<gen>.html)\n"
    "   --config <FILE>           this host's configuration (default /etc/mamori/mamori.conf\n"
    "                             when it exists); the result goes to its state_dir/drills.jsonl\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --json                    print the result as JSON (no progress)\n"
    "\n"
    "Checks: the repository head (deletion, rollback), the time to a usable viewer (from the\n"
    "key's unlock to a patient's screen), a restore of every file (every byte checked against\n"
    "its ID), a second check of the restored files (names, sizes, content hashes), patients\n"
    "read (search, patient screen, labs, documents and images), the index against the\n"
    "restored data, and the RPO of each source. Recorded in the audit log.\n"
    "exit status: 0 passed, 1 could not drill (no such generation, no room, wrong\n"
    "passphrase), 2 usage error, 3 damage, mismatch or deletion found\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY,
    run_drill,
};
