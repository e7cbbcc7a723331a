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
#include "viewer/viewer.h"

/* The local time now as "YYYY-MM-DDTHH:MM". OUT: @out */
static void now_local(char out[17])
{
    time_t now = time(NULL);
    struct tm t;

    if (!localtime_r(&now, &t))
        memset(&t, 0, sizeof(t));
    snprintf(out, 17, "%04u-%02u-%02uT%02u:%02u", (unsigned)(t.tm_year + 1900) % 10000u,
             (unsigned)(t.tm_mon + 1) % 100u, (unsigned)t.tm_mday % 100u,
             (unsigned)t.tm_hour % 100u, (unsigned)t.tm_min % 100u);
}

/* Print the record JSON @b with its current medication at @as_of (judged from @cur, the
 * record without history, when not NULL) added. */
static int print_json(const mm_buf *b, const mm_buf *cur, const char *as_of)
{
    mm_buf j;
    int err;

    mm_buf_init(&j, MM_LIMIT_JSON);
    err = mm_viewer_record_with_meds(b->ptr, b->len, cur ? (const char *)cur->ptr : NULL,
                                     cur ? cur->len : 0, as_of, &j);
    if (err == 0) {
        fwrite(j.ptr, 1, j.len, stdout);
        fputc('\n', stdout);
    }
    if (j.ptr)
        mm_crypto_wipe(j.ptr, j.len);
    mm_buf_release(&j);
    return err;
}

/* Print the terminal summary of the record JSON @b (mm_viewer_record_text) at @as_of. */
static int print_summary(const struct cli_ctx *ctx, const mm_buf *b, const char *as_of)
{
    mm_buf text;
    int err;

    mm_buf_init(&text, MM_LIMIT_JSON);
    err = mm_viewer_record_text(
            b->ptr, b->len, ctx->lang == CLI_LANG_EN ? MM_VIEWER_EN : MM_VIEWER_JA, as_of, &text);
    if (err == 0) /* HL7 text may hold control characters: shown escaped, never obeyed */
        cli_write_lines(text.ptr, text.len, stdout);
    if (text.ptr)
        mm_crypto_wipe(text.ptr, text.len);
    mm_buf_release(&text);
    return err;
}

/* show --repo: the patient's summary from generation @gen's index, in memory. */
static int show_from_repo(struct cli_ctx *ctx, const char *repo, const char *user,
                          const char *passfile, const char *gen, const char *pid, const char *asked)
{
    struct cli_repo_index ri = { 0 };
    char as_of[48];
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
    if (asked) { /* else the generation's local time, to the minute */
        snprintf(as_of, sizeof(as_of), "%s", asked);
    } else {
        mm_viewer_local_time(ri.gen.end_ns, as_of);
        as_of[strlen(as_of) >= 16 ? 16 : 0] = '\0';
    }
    if (ctx->json) {
        if ((err = print_json(&b, NULL, as_of)) < 0) {
            rc = err == MM_ECORRUPT ? CLI_ERROR : cli_lib_error(err);
            if (err == MM_ECORRUPT)
                cli_error("%s", CLI_T(ctx, "索引の患者記録が壊れています",
                                      "the patient's record in the index is damaged"));
            goto out;
        }
    } else {
        printf(CLI_T(ctx, "（世代 %.12s  %s の時点）\n", "(as of generation %.12s  %s)\n"),
               ri.gen.id, cli_esc(ri.gen.name));
        if ((err = print_summary(ctx, &b, as_of)) == MM_ECORRUPT) {
            cli_error("%s", CLI_T(ctx, "索引の患者記録が壊れています",
                                  "the patient's record in the index is damaged"));
            rc = CLI_ERROR;
            goto out;
        }
        if (err < 0) {
            rc = cli_lib_error(err);
            goto out;
        }
    }
    rc = CLI_OK;
out:
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
        fprintf(stderr, "  %s: %s\n", cli_esc(pr->examples[i].path),
                cli_esc(pr->examples[i].reason));
}

/* show --storage: print record @r (JSON, with history when asked, or the terminal summary)
 * with its current medication at @asked, else now. @return the exit status */
static int print_record(struct cli_ctx *ctx, mm_ssmix2_record *r, int history, const char *asked)
{
    char as_of[17];
    mm_buf b, cur;
    int err;

    /* the summary is rendered from the same JSON (as show --repo renders the index's) */
    mm_buf_init(&b, MM_LIMIT_JSON);
    if (asked)
        snprintf(as_of, sizeof(as_of), "%s", asked);
    else
        now_local(as_of);
    mm_buf_init(&cur, MM_LIMIT_JSON);
    err = mm_ssmix2_record_json(r, &b, ctx->json && history ? MM_SSMIX2_JSON_HISTORY : 0);
    if (err == 0 && ctx->json && history) /* current medication: from current orders only */
        err = mm_ssmix2_record_json(r, &cur, 0);
    if (err == 0 && ctx->json)
        err = print_json(&b, history ? &cur : NULL, as_of);
    else if (err == 0)
        err = print_summary(ctx, &b, as_of);
    mm_buf_release(&cur);
    mm_buf_release(&b);
    return err < 0 ? cli_lib_error(err) : CLI_OK;
}

static int run_show(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "storage", required_argument, NULL, 's' },
        { "extended", required_argument, NULL, 'x' },
        { "history", no_argument, NULL, 'H' },
        { "generation", required_argument, NULL, 'g' },
        { "as-of", required_argument, NULL, 'a' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *storage = NULL, *ext = NULL, *pid;
    const char *repo = NULL, *user = NULL, *passfile = NULL, *gen = NULL, *asked = NULL;
    struct mm_ssmix2_problems probs = { 0 };
    mm_ssmix2_record *r = NULL;
    int opt, err, history = 0, rc;

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
        case 'a':
            asked = optarg;
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
    if (asked && mm_viewer_as_of_check(asked) < 0) {
        mm_error_clear();
        return cli_usage(ctx, &cmd_show,
                         CLI_T(ctx, "--as-of は YYYY-MM-DDTHH:MM（現地時刻）で指定してください",
                               "--as-of takes a local time YYYY-MM-DDTHH:MM"));
    }
    pid = argv[optind];
    if (repo) {
        if (!*pid || strlen(pid) > MM_LIMIT_PATIENT_ID) {
            cli_error("%s", CLI_T(ctx, "患者IDの形式が正しくありません", "not a valid patient ID"));
            return CLI_USAGE;
        }
        return show_from_repo(ctx, repo, user, passfile, gen, pid, asked);
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
    rc = print_record(ctx, r, history, asked);
    print_problems(ctx, &probs);
    mm_ssmix2_record_free(r);
    return rc;
}

const struct cmd cmd_show = {
    "show",
    "show <患者ID|patient-ID> (--storage <DIR> [--extended <DIR>] [--history] | --repo <DIR>"
    " [--generation <G>]) [--as-of <YYYY-MM-DDTHH:MM>] [--json]",
    "患者の記録（アレルギー・病名・処方・検査など）を表示する",
    "show a patient's record (allergies, diagnoses, prescriptions, labs, ...)",
    "オプション:\n"
    "   --storage <DIR>    標準化ストレージのルートフォルダ\n"
    "   --extended <DIR>   拡張ストレージのルートフォルダ（文書・画像）\n"
    "   --json             記録を JSON で標準出力に出す\n"
    "   --history          JSON に過去（_2）と取消（_0）のデータも含める\n"
    "   --repo <DIR>       ストレージの代わりにバックアップ（媒体）の世代から表示する（索引をメモリ上で復号）\n"
    "   --generation <G>   --repo のどの世代か（既定: latest）\n"
    "   --as-of <YYYY-MM-DDTHH:MM>  服用中・投与中の薬をこの現地時刻で判定する\n"
    "                      （既定: --storage は現在時刻、--repo は世代の作成時刻）\n"
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
    "   --as-of <YYYY-MM-DDTHH:MM>  local time the current medication is judged at\n"
    "                      (default: now for --storage, the generation's time for --repo)\n"
    "   --user <NAME>, --passphrase-file <FILE>  key slot and passphrase for --repo\n"
    "\n"
    "Only current data (condition flag 1) is shown as current. Files that cannot be read\n"
    "are reported on standard error with patient IDs hidden; the rest is shown.\n"
    "\n"
    "exit status: 0 shown, 1 no such patient or unreadable, 2 usage error\n",
    0,
    run_show,
};
