/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori restore: write a generation (or one path, or one patient's folders) back into a
 * folder, byte for byte, with names, folders and mtimes; every byte is checked first.
 * Files with damaged data are reported (patient IDs hidden) and left out; the rest is
 * restored and the exit status is 3.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "repo/repo.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

static int run_restore(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "to", required_argument, NULL, 'o' },
        { "patient", required_argument, NULL, 'P' },
        { "path", required_argument, NULL, 'x' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *to = NULL, *user = NULL, *passfile = NULL;
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_restore_stats st;
    struct cli_run run;
    struct timespec t0, t1;
    char sz[32];
    mm_repo *r = NULL;
    int opt, rc, err;
    double secs;

    memset(&run, 0, sizeof(run));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &repo, &user, &passfile))
            continue;
        switch (opt) {
        case 'o':
            to = optarg;
            break;
        case 'P':
            ro.patient = optarg;
            break;
        case 'x':
            ro.path_prefix = optarg;
            break;
        default:
            return cli_option_error(ctx, &cmd_restore, opt, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage(ctx, &cmd_restore,
                         CLI_T(ctx, "世代を1つ指定してください（latest か ID）",
                               "give one generation (latest or an ID)"));
    if (!to || !*to)
        return cli_usage(ctx, &cmd_restore,
                         CLI_T(ctx, "--to で復元先フォルダを指定してください",
                               "give the target folder with --to"));
    if (ro.patient && ro.path_prefix)
        return cli_usage(ctx, &cmd_restore,
                         CLI_T(ctx, "--patient と --path は同時に使えません",
                               "--patient and --path cannot be combined"));
    if ((rc = cli_repo_open(ctx, repo, user, passfile, &r)) != CLI_OK)
        return rc;
    if ((err = mm_repo_lock(r, MM_REPO_LOCK_SHARED, NULL)) < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    cli_progress_start(&run.prog, ctx, CLI_T(ctx, "復元中", "restoring"));
    ro.progress = cli_progress_cb;
    ro.problem = cli_problem_cb;
    ro.ctx = &run;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    err = mm_repo_restore(r, argv[optind], to, &ro, &st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cli_progress_end(&run.prog);
    cli_audit_restore(ctx, r, repo, err, argv[optind], to, &ro, &st);
    if (err < 0) {
        cli_problems_print(ctx, &run.probs);
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (ctx->json) {
        printf("{\"files\":%llu,\"dirs\":%llu,\"symlinks\":%llu,\"bytes\":%llu,\"damaged\":%llu,"
               "\"duration_s\":%.3f,\"problems\":",
               (unsigned long long)st.files, (unsigned long long)st.dirs,
               (unsigned long long)st.symlinks, (unsigned long long)st.bytes,
               (unsigned long long)st.damaged, secs);
        cli_problems_json(stdout, &run.probs);
        printf("}\n");
    } else {
        if (!ctx->quiet)
            printf(CLI_T(ctx, "%llu ファイル、%llu フォルダ、%s を復元しました（%.1f 秒）\n",
                         "restored %llu files, %llu folders, %s (%.1f s)\n"),
                   (unsigned long long)st.files, (unsigned long long)st.dirs,
                   cli_bytes(st.bytes, sz), secs);
        cli_problems_print(ctx, &run.probs);
    }
    if (st.damaged) {
        cli_error(CLI_T(ctx, "%llu 件は媒体上のデータが損傷していて復元できませんでした",
                        "%llu could not be restored: their data on the medium is damaged"),
                  (unsigned long long)st.damaged);
        rc = CLI_DAMAGE;
    } else {
        rc = CLI_OK;
    }
out:
    cli_problems_free(&run.probs);
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_restore = {
    "restore",
    "restore --repo <DIR> <GENERATION> --to <DIR> [--patient <ID> | --path <PREFIX>]",
    "世代をフォルダに復元する（全体・患者単位・パス単位）",
    "restore a generation (whole, one patient, or one path) into a folder",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ\n"
    "   --to <DIR>                復元先（無いか空のフォルダ。既存のファイルは上書きしません）\n"
    "   --patient <ID>            この患者の SS-MIX2 フォルダだけ\n"
    "   --path <PREFIX>           このパス以下だけ（例: standard/123/456）\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --json                    結果を JSON で出す\n"
    "\n"
    "<GENERATION> は latest か、世代 ID（4桁以上の前方一致）。\n"
    "書き込む前にすべてのデータを検査します。損傷したファイルは報告して除き、残りを復元します。\n"
    "終了コード: 0 成功、1 失敗、2 使い方の誤り、3 損傷したファイルがあった\n",
    "options:\n"
    "   --repo <DIR>              the repository\n"
    "   --to <DIR>                target folder (missing or empty; nothing is overwritten)\n"
    "   --patient <ID>            only this patient's SS-MIX2 folders\n"
    "   --path <PREFIX>           only this path and below (e.g. standard/123/456)\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --json                    print the result as JSON\n"
    "\n"
    "<GENERATION> is latest or a generation ID (a unique prefix of 4 or more digits).\n"
    "Every byte is checked before it is written. Damaged files are reported and left out;\n"
    "the rest is restored.\n"
    "exit status: 0 done, 1 failed, 2 usage error, 3 some files were damaged\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY,
    run_restore,
};
