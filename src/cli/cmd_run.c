/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori run: one daily cycle (mm_cycle_run, backup/cycle.h) of the configuration. The
 * passphrase comes from the configuration's [service] passphrase_file (owner only, mode
 * 0600), else MAMORI_PASSPHRASE, else the terminal. Hooks write to this process's stderr (the
 * service's journal). Exit codes: 0 ok, 1 failure (detached and alerted), 2 usage, 4 written
 * but needs attention.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/cycle.h"
#include "common/error.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cli_verdict.h"
#include "src/cli/cmd.h"

static void now_local(struct mm_config_date *d, int *minute)
{
    time_t t = time(NULL);
    struct tm tm;

    localtime_r(&t, &tm);
    d->year = tm.tm_year + 1900;
    d->month = tm.tm_mon + 1;
    d->day = tm.tm_mday;
    *minute = tm.tm_hour * 60 + tm.tm_min;
}

static const char *cache_root(char *buf, size_t cap)
{
    const char *c = getenv("MAMORI_CACHE");

    if (c && *c)
        return c;
    snprintf(buf, cap, "/var/cache/mamori");
    return buf;
}

/* "vault": null without [vault]; else the step's outcome (cycle.h vault_*). */
static void print_json_vault(const struct mm_cycle_result *r)
{
    if (!r->vault[0]) {
        fputs("null", stdout);
        return;
    }
    fputs("{\"state\":", stdout);
    cli_json_str(stdout, r->vault, strlen(r->vault));
    fputs(",\"where\":", stdout);
    cli_json_str(stdout, r->vault_where, strlen(r->vault_where));
    fputs(",\"reason\":", stdout);
    cli_json_str(stdout, r->vault_reason, strlen(r->vault_reason));
    printf(",\"immutable\":%s,\"files\":%llu,\"bytes\":%llu,\"generations\":%llu,"
           "\"extended\":%llu,\"retain_until\":%lld}",
           r->vault_immutable < 0 ? "null"
           : r->vault_immutable   ? "true"
                                  : "false",
           (unsigned long long)r->vault_files, (unsigned long long)r->vault_bytes,
           (unsigned long long)r->vault_generations, (unsigned long long)r->vault_extended,
           (long long)r->vault_retain_until);
}

static void print_json(const struct mm_cycle_result *r)
{
    printf("{\"result\":%d,\"stage\":\"%s\",\"medium\":", (int)r->exit,
           mm_cycle_stage_name(r->stage));
    cli_json_str(stdout, r->medium, strlen(r->medium));
    fputs(",\"reason\":", stdout);
    cli_json_str(stdout, r->reason, strlen(r->reason));
    printf(",\"generations\":%d,\"generation\":\"%s\",\"bytes_written\":%llu,\"sources\":%zu,"
           "\"online_s\":%.3f,\"detach\":%d,\"alert\":%d,\"state_written\":%s,",
           r->generations, r->id, (unsigned long long)r->bytes_written, r->sources, r->online_s,
           r->detach_status, r->alert_status, r->state_written ? "true" : "false");
    printf("\"window\":\"%s\",\"stage_s\":%.3f,\"copied_bytes\":%llu,\"fsyncs\":%llu,"
           "\"retired\":%zu,\"staged_waiting\":%s,\"resynced\":%s,\"write_only\":%s,"
           "\"expired\":",
           r->window, r->stage_s, (unsigned long long)r->copied_bytes,
           (unsigned long long)r->fsyncs, r->retired, r->staged_waiting ? "true" : "false",
           r->resynced ? "true" : "false", r->write_only ? "true" : "false");
    cli_json_str(stdout, r->expired, strlen(r->expired));
    printf(",\"guard\":\"%s\",\"guard_codes\":", r->guard[0] ? r->guard : "none");
    cli_json_str(stdout, r->guard_codes, strlen(r->guard_codes));
    printf(",\"retire_held\":%s,\"vault\":", r->retire_held ? "true" : "false");
    print_json_vault(r);
    if (r->drill[0]) { /* the structural drill ran in this window */
        printf(",\"drill\":{\"result\":\"%s\",\"reason\":", r->drill);
        cli_json_str(stdout, r->drill_reason, strlen(r->drill_reason));
        printf(",\"packs\":%llu,\"files\":%llu,\"bytes\":%llu,\"read_s\":%.3f,"
               "\"drill_s\":%.3f}",
               (unsigned long long)r->drill_packs, (unsigned long long)r->drill_files,
               (unsigned long long)r->drill_bytes, r->drill_read_s, r->drill_s);
    } else {
        fputs(",\"drill\":null", stdout);
    }
    puts("}");
}

/* The S3 vault step in words: copied, failed, or copied to a store that is not immutable. */
static void print_text_vault(const struct cli_ctx *ctx, const struct mm_cycle_result *r)
{
    char b[32];

    if (strcmp(r->vault, "failed") == 0) {
        cli_error(CLI_T(ctx, "S3 保管庫へのコピーに失敗しました（媒体の世代は無事です）: %s",
                        "the copy to the S3 vault failed (the medium's generation stands): %s"),
                  r->vault_reason);
        return;
    }
    if (strcmp(r->vault, "ok") != 0)
        return;
    if (!ctx->quiet)
        printf(CLI_T(ctx, "  S3 保管庫 %s: %llu 件 %s 送信、世代 %llu\n",
                     "  S3 vault %s: %llu file(s), %s sent, %llu generation(s)\n"),
               r->vault_where, (unsigned long long)r->vault_files, cli_bytes(r->vault_bytes, b),
               (unsigned long long)r->vault_generations);
    if (r->vault_immutable == 0)
        cli_error(CLI_T(ctx,
                        "S3 保管庫は変更不可ではありません（削除・改ざんから守られていません）: %s",
                        "the S3 vault is NOT immutable (not protected from deletion or "
                        "rewriting): %s"),
                  r->vault_reason);
}

static void print_text(const struct cli_ctx *ctx, const struct mm_cycle_result *r)
{
    char b[32];

    if (r->stage == MM_CYCLE_STAGE_LABEL && r->found[0])
        cli_error(CLI_T(ctx, "この媒体は「%s」です。必要な媒体は「%s」です。何も書き込んでいません",
                        "this medium is '%s'; the medium wanted is '%s'. Nothing was written"),
                  r->found, r->medium);
    else if (r->stage == MM_CYCLE_STAGE_LABEL)
        cli_error(CLI_T(ctx, "この媒体は使えません（%s）。必要な媒体は「%s」です",
                        "this medium cannot be used (%s); the medium wanted is '%s'"),
                  r->reason, r->medium);
    else if (r->exit == MM_BACKUP_EXIT_FAILED)
        cli_error(CLI_T(ctx, "サイクル失敗（%s、段階 %s）: %s", "cycle failed (%s, stage %s): %s"),
                  r->medium, mm_cycle_stage_name(r->stage), r->reason);
    if (ctx->quiet)
        return;
    printf(CLI_T(ctx, "媒体 %s: 世代 %d（%s）、書き込み %s、オンライン %.1f 秒\n",
                 "medium %s: %d generation(s) (%s), %s written, online %.1f s\n"),
           r->medium, r->generations, r->id[0] ? r->id : "-", cli_bytes(r->bytes_written, b),
           r->online_s);
    if (r->window[0] == 's')
        printf(CLI_T(ctx, "  準備（媒体オフライン）%.1f 秒、媒体へ複写 %s、fsync %llu 回\n",
                     "  staged with the medium offline in %.1f s, %s copied, %llu fsyncs\n"),
               r->stage_s, cli_bytes(r->copied_bytes, b), (unsigned long long)r->fsyncs);
    if (r->window[0] == 's' && r->write_only)
        printf("%s", CLI_T(ctx, "  書き込み専用の資格情報で準備しました（パスフレーズなし）\n",
                           "  staged with its write-only credential (no passphrase)\n"));
    else if (r->window[0] == 'd' && r->write_only)
        printf("%s",
               CLI_T(ctx,
                     "  書き込み専用の資格情報で媒体上に直接バックアップしました（パスフレーズ"
                     "なし、書いたファイルは読み戻して確認）\n",
                     "  backed up on the medium with its write-only credential (no "
                     "passphrase; every file written read back and checked)\n"));
    else if (r->window[0] == 'd')
        printf("%s", CLI_T(ctx, "  媒体上で直接バックアップしました（初回または再同期）\n",
                           "  backed up on the medium itself (first window or resync)\n"));
    if (r->guard[0])
        printf("  %s: %s%s%s\n", CLI_T(ctx, "ガード判定", "guard"), cli_verdict_word(ctx, r->guard),
               r->guard_codes[0] ? "  " : "", r->guard_codes);
    if (r->retired)
        printf(CLI_T(ctx, "  古い世代 %zu 個を退役\n", "  %zu old generation(s) retired\n"),
               r->retired);
    if (strcmp(r->drill, "ok") == 0)
        printf(CLI_T(ctx, "  構造訓練: 正常（パック %llu 個、%s を %.1f 秒で読み取り）\n",
                     "  structural drill: ok (%llu pack(s), %s read in %.1f s)\n"),
               (unsigned long long)r->drill_packs, cli_bytes(r->drill_bytes, b), r->drill_read_s);
    else if (strcmp(r->drill, "failed") == 0)
        cli_error(CLI_T(ctx, "構造訓練が失敗しました（媒体 %s、何も変更していません）: %s",
                        "the structural drill failed (medium %s, nothing changed): %s"),
                  r->medium, r->drill_reason);
    if (strcmp(r->guard, "suspect") == 0)
        cli_error(CLI_T(ctx,
                        "⚠ 要注意の世代を媒体 %s に書き込みました（証拠）。人が確認してください: "
                        "mamori status、mamori guard list --repo <媒体>",
                        "⚠ a SUSPECT generation was written on medium %s (evidence). A person "
                        "must look: mamori status, mamori guard list --repo <medium>"),
                  r->medium);
    if (r->retire_held)
        cli_error("%s",
                  CLI_T(ctx, "要注意の世代が確認されるまで、どの媒体でも古い世代を退役しません",
                        "no generation is retired on any medium while a suspect one "
                        "stands (until a person accepts it)"));
    if (r->staged_waiting)
        cli_error(CLI_T(ctx, "媒体 %s 用の準備済みデータが一時置き場で待っています",
                        "staged data waits in the staging area for medium %s"),
                  r->medium);
    if (r->expired[0])
        cli_error(CLI_T(ctx, "期限切れの準備済みデータを破棄しました: %s",
                        "staged data expired and was dropped: %s"),
                  r->expired);
    print_text_vault(ctx, r);
    if (r->detach_status != 0)
        cli_error("%s", CLI_T(ctx, "切り離しフックが失敗しました", "the detach hook failed"));
    if (!r->state_written)
        cli_error("%s", CLI_T(ctx, "状態ファイルに記録できませんでした",
                              "the window could not be recorded in the state file"));
}

/* The passphrase, unless the medium due on @date is written with a host credential. */
static int get_pass(struct cli_ctx *ctx, const mm_config *cfg, struct mm_config_date date,
                    char pass[CLI_PASS_MAX], size_t *len)
{
    const char *pf = mm_config_service(cfg)->passphrase_file;
    struct mm_config_due due[2];

    *len = 0;
    if (mm_config_medium_for(cfg, date, due) == 0 && due[0].medium && due[0].medium->credential)
        return CLI_OK; /* write-only: no key that reads the medium */
    if (pf) {
        int err = mm_cycle_passphrase_read(pf, pass, CLI_PASS_MAX, len);
        return err == 0 ? CLI_OK : cli_lib_error(err); /* MM_EREFUSED: others can read it */
    }
    return cli_passphrase(ctx, NULL, "MAMORI_PASSPHRASE", "パスフレーズ: ", "passphrase: ", 0, pass,
                          len);
}

/* mm_backup_note_fn: a cycle logs to stderr itself; a killed earlier writer, a guard folder
 * that cannot be read or written, and a medium without a Windows viewer (once) are said too. */
static void note_cb(const struct mm_backup_note *n, void *arg)
{
    const struct cli_ctx *ctx = arg;
    static int windows_said;

    if (n->kind == MM_BACKUP_NOTE_NO_WINDOWS && !windows_said) {
        windows_said = 1; /* a cycle may back up twice (staging failed, then the medium) */
        cli_windows_missing_say(ctx);
    } else if (n->kind == MM_BACKUP_NOTE_INTERRUPTED)
        cli_audit_interrupted_say(arg, n->interrupted, n->count != 0, n->audit);
    else if (n->kind == MM_BACKUP_NOTE_GUARD) /* <state_dir>/guard: history, standing list */
        cli_error(n->count ? CLI_T(ctx, "ガードの記録を書けませんでした: %s",
                                   "the guard's record could not be written: %s")
                           : CLI_T(ctx, "ガードのフォルダを読めません（既定の閾値で判定）: %s",
                                   "the guard folder cannot be read (judged with built-in "
                                   "thresholds): %s"),
                  n->message);
}

static int run_cycle(struct cli_ctx *ctx, const char *path, struct mm_cycle_opts *o)
{
    struct mm_cycle_result res;
    char pass[CLI_PASS_MAX], cbuf[256], abuf[4096];
    mm_config *cfg = NULL;
    size_t plen = 0;
    int rc, err = mm_config_load(path, &cfg);

    if (err < 0)
        return cli_lib_error(err);
    if ((rc = get_pass(ctx, cfg, o->date, pass, &plen)) != CLI_OK) {
        mm_config_free(cfg);
        return rc;
    }
    o->pass = pass;
    o->passlen = plen;
    o->cache_root = cache_root(cbuf, sizeof(cbuf));
    o->audit_host_dir = cli_audit_dir_or_null(ctx, abuf, sizeof(abuf));
    o->log_fd = STDERR_FILENO;
    o->note = note_cb;
    o->arg = ctx;
    o->medium_viewer = cli_viewer_copy_wanted();
    o->windows_exe = cli_windows_exe();
    {
        const char *ds = getenv("MAMORI_DICT_SAMPLES"); /* tests only, as backup */
        char *end;
        unsigned long v = ds ? strtoul(ds, &end, 10) : 0;
        if (ds && *ds && !*end && v >= 10 && v <= 100000)
            o->dict_samples = (unsigned int)v;
    }
    fflush(NULL);
    mm_cycle_run(cfg, o, &res);
    mm_crypto_wipe(pass, sizeof(pass));
    if (ctx->json)
        print_json(&res);
    else
        print_text(ctx, &res);
    mm_config_free(cfg);
    return res.exit == MM_BACKUP_EXIT_OK          ? CLI_OK
           : res.exit == MM_BACKUP_EXIT_ATTENTION ? CLI_ATTENTION
                                                  : CLI_ERROR;
}

static int run_run(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "date", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    struct mm_cycle_opts o;
    const char *path = MM_CONFIG_DEFAULT_PATH;
    int opt;

    memset(&o, 0, sizeof(o));
    now_local(&o.date, &o.minute);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'd':
            if (mm_config_date_parse(optarg, &o.date) < 0)
                return cli_usage(ctx, &cmd_run,
                                 CLI_T(ctx, "--date は 1970 年以降の YYYY-MM-DD です: '%s'",
                                       "--date takes a date YYYY-MM-DD from 1970 on: '%s'"),
                                 optarg);
            break;
        case 'j':
            ctx->json = 1;
            break;
        default:
            return cli_option_error(ctx, &cmd_run, opt, argv);
        }
    }
    if (optind != argc)
        return cli_usage(ctx, &cmd_run, CLI_T(ctx, "余分な引数: '%s'", "extra argument: '%s'"),
                         argv[optind]);
    return run_cycle(ctx, path, &o);
}

const struct cmd cmd_run = {
    "run",
    "run [--config <FILE>] [--date <YYYY-MM-DD>] [--json]",
    "毎日のバックアップを1回行う（媒体の接続から切り離しまで）",
    "run one daily cycle (from attaching the medium to detaching it)",
    "オプション:\n"
    "   --config <FILE>      設定ファイル（既定: /etc/mamori/mamori.conf）\n"
    "   --date <YYYY-MM-DD>  この日のサイクルとして行う（既定: 今日）\n"
    "   --json               結果を JSON で出す\n"
    "\n"
    "その日の媒体を選び、期限の来たソースを媒体をつなぐ前に一時置き場へバックアップし、\n"
    "接続フック、ラベルの確認、媒体に無いものだけの複写と読み戻し検査、同期を行い、\n"
    "必ず切り離しフックを実行します。失敗したとき、ガードの判定が要注意のときは通知フックも\n"
    "実行します（MAMORI_ALERT「suspect generation on medium X: 理由コード」）。要注意の世代が\n"
    "残っている間（<state_dir>/guard）は、どの媒体でも古い世代を退役しません。\n"
    "媒体の初回は媒体上で直接バックアップし、一時置き場の写しを作ります。\n"
    "パスフレーズは [service] passphrase_file（所有者のみ・0600）から読みます。\n"
    "credential を設定した媒体（形式 3）はパスフレーズなしで直接書き込みます。\n"
    "終了コード: 0 正常、1 失敗（切り離しと通知済み）、2 使い方の誤り、4 書いたが要確認\n",
    "options:\n"
    "   --config <FILE>      configuration file (default /etc/mamori/mamori.conf)\n"
    "   --date <YYYY-MM-DD>  run as the cycle of this date (default today)\n"
    "   --json               print the result as JSON\n"
    "\n"
    "Picks the day's medium, backs up the sources that are due into the host's staging\n"
    "while the medium is still offline, runs the attach hook, checks the label, copies only\n"
    "what the medium lacks (read back and checked), syncs and always runs the detach hook;\n"
    "on failure, or a suspect guard verdict, the alert hook (MAMORI_ALERT \"suspect generation\n"
    "on medium X: <reason codes>\"); while a suspect generation stands (<state_dir>/guard) no\n"
    "generation is retired on any medium. A medium's first cycle backs up on the medium itself and\n"
    "builds its shadow in the staging area.\n"
    "The passphrase is read from [service] passphrase_file (owner only, mode 0600).\n"
    "A medium with a credential (format 3) is written directly, without a passphrase.\n"
    "Exit codes: 0 ok, 1 failed (detached and alerted), 2 usage, 4 written, needs attention\n",
    0,
    run_run,
};
