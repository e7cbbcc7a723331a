/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori restore: write a generation (or one path, or one patient's folders) back into a
 * folder, byte for byte, with names, folders and mtimes; every byte is checked first.
 * Files with damaged data are reported (patient IDs hidden) and left out; the rest is
 * restored and the exit status is 3. A target that holds something is refused (exit 5)
 * unless --merge or --overwrite says what to do with it; --dry-run (and -v before writing)
 * lists what they change.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/log.h"
#include "repo/repo.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

/* One line of the listing of what a merge or an overwrite changes (path already redacted). */
static void on_change(enum mm_repo_change what, const char *path, void *arg)
{
    struct cli_run *run = arg;
    const struct cli_ctx *ctx = run->prog.ctx;
    const char *w;

    if (what == MM_REPO_CHANGE_ADD)
        w = CLI_T(ctx, "追加    ", "add     ");
    else if (what == MM_REPO_CHANGE_REPLACE)
        w = CLI_T(ctx, "置き換え", "replace ");
    else
        w = run->overwrite ? CLI_T(ctx, "退避    ", "aside   ")
                           : CLI_T(ctx, "そのまま", "leave   ");
    printf("  %s  %s\n", w, path);
}

/* The counts of a merge or an overwrite (@dry: what would change). */
static void print_changes(const struct cli_ctx *ctx, const struct mm_repo_restore_opts *ro,
                          const struct mm_repo_restore_stats *st)
{
    unsigned long long a = st->added, rp = st->replaced, l = st->left;

    if (ro->mode == MM_REPO_RESTORE_OVERWRITE)
        printf(ro->dry_run ? CLI_T(ctx,
                                   "予定: 追加 %llu、置き換え %llu、退避 %llu（今の中身は "
                                   "<復元先>.before-restore-<日時> に移します）\n",
                                   "would add %llu, replace %llu, move aside %llu (the present "
                                   "content goes to <target>.before-restore-<time>)\n")
                           : CLI_T(ctx, "追加 %llu、置き換え %llu、退避 %llu\n",
                                   "added %llu, replaced %llu, moved aside %llu\n"),
               a, rp, l);
    else if (ro->mode == MM_REPO_RESTORE_MERGE)
        printf(ro->dry_run ? CLI_T(ctx, "予定: 追加 %llu、置き換え %llu、そのまま %llu\n",
                                   "would add %llu, replace %llu, leave alone %llu\n")
                           : CLI_T(ctx, "追加 %llu、置き換え %llu、そのまま %llu\n",
                                   "added %llu, replaced %llu, left alone %llu\n"),
               a, rp, l);
    else
        printf(CLI_T(ctx, "予定: 追加 %llu\n", "would add %llu\n"), a);
}

/* Refuse (CLI_REFUSED) a target that holds something unless --merge or --overwrite says what
 * to do with it. @return CLI_OK to go on */
static int check_target(const struct cli_ctx *ctx, const char *to,
                        const struct mm_repo_restore_opts *ro)
{
    char red[MM_LOG_PATH_MAX];
    int state = mm_repo_restore_target(to);

    if (state < 0)
        return cli_repo_error(ctx, state);
    if (state < 2 || ro->mode != MM_REPO_RESTORE_NEW)
        return CLI_OK;
    cli_error(CLI_T(ctx,
                    "復元先フォルダ '%s' は空ではありません。何もしていません。\n"
                    "  --merge      同じ名前のファイルだけ置き換え、ほかのファイルは残す\n"
                    "  --overwrite  今の中身を '<復元先>.before-restore-<日時>' に移してから復元\n"
                    "  --dry-run    どちらかと一緒に、何が変わるかを一覧するだけ\n"
                    "  または空のフォルダを --to に指定してください",
                    "the target folder '%s' is not empty; nothing was done.\n"
                    "  --merge      replace same-named files, leave the other files\n"
                    "  --overwrite  move the present content to "
                    "'<target>.before-restore-<time>', then restore\n"
                    "  --dry-run    with either: only list what would change\n"
                    "  or give an empty folder with --to"),
              mm_log_path(red, sizeof(red), to));
    return CLI_REFUSED;
}

/* Print the result of a restore that ran. @return the exit code */
static int print_result(const struct cli_ctx *ctx, struct cli_run *run,
                        const struct mm_repo_restore_opts *ro,
                        const struct mm_repo_restore_stats *st, double secs)
{
    char sz[32], red[MM_LOG_PATH_MAX];

    if (ctx->json) {
        printf("{\"files\":%llu,\"dirs\":%llu,\"symlinks\":%llu,\"bytes\":%llu,\"damaged\":%llu,",
               (unsigned long long)st->files, (unsigned long long)st->dirs,
               (unsigned long long)st->symlinks, (unsigned long long)st->bytes,
               (unsigned long long)st->damaged);
        if (ro->mode != MM_REPO_RESTORE_NEW)
            printf("\"added\":%llu,\"replaced\":%llu,\"left\":%llu,", (unsigned long long)st->added,
                   (unsigned long long)st->replaced, (unsigned long long)st->left);
        printf("\"duration_s\":%.3f,\"problems\":", secs);
        cli_problems_json(stdout, &run->probs);
        printf("}\n");
    } else {
        if (!ctx->quiet) {
            printf(CLI_T(ctx, "%llu ファイル、%llu フォルダ、%s を復元しました（%.1f 秒）\n",
                         "restored %llu files, %llu folders, %s (%.1f s)\n"),
                   (unsigned long long)st->files, (unsigned long long)st->dirs,
                   cli_bytes(st->bytes, sz), secs);
            if (ro->mode != MM_REPO_RESTORE_NEW)
                print_changes(ctx, ro, st);
        }
        cli_problems_print(ctx, &run->probs);
    }
    if (st->aside[0]) /* always said, -q or not: the person's files are there now */
        cli_error(CLI_T(ctx, "復元前の中身は '%s' に移しました（削除はしていません）",
                        "the previous content was moved to '%s' (nothing was deleted)"),
                  mm_log_path(red, sizeof(red), st->aside));
    if (st->unnamed)
        cli_error(CLI_T(ctx, "%llu 件は Windows で使えない名前のため復元していません（上の一覧）",
                        "%llu not restored: Windows forbids their names (listed above)"),
                  (unsigned long long)st->unnamed);
    if (!st->damaged)
        return st->unnamed ? CLI_DAMAGE : CLI_OK;
    cli_error(CLI_T(ctx, "%llu 件は媒体上のデータが損傷していて復元できませんでした",
                    "%llu could not be restored: their data on the medium is damaged"),
              (unsigned long long)st->damaged);
    return CLI_DAMAGE;
}

/* Parse the options into @ro. OUT: *to. @return CLI_OK to go on */
static int parse(struct cli_ctx *ctx, int argc, char **argv, struct mm_repo_restore_opts *ro,
                 const char **repo, const char **user, const char **passfile, const char **to)
{
    static const struct option opts[] = {
        { "to", required_argument, NULL, 'o' },
        { "patient", required_argument, NULL, 'P' },
        { "path", required_argument, NULL, 'x' },
        { "merge", no_argument, NULL, 'M' },
        { "overwrite", no_argument, NULL, 'W' },
        { "dry-run", no_argument, NULL, 'n' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    int opt, merge = 0, over = 0;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, repo, user, passfile))
            continue;
        switch (opt) {
        case 'o':
            *to = optarg;
            break;
        case 'P':
            ro->patient = optarg;
            break;
        case 'x':
            ro->path_prefix = optarg;
            break;
        case 'M':
            merge = 1;
            break;
        case 'W':
            over = 1;
            break;
        case 'n':
            ro->dry_run = 1;
            break;
        default:
            return cli_option_error(ctx, &cmd_restore, opt, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage(ctx, &cmd_restore,
                         CLI_T(ctx, "世代を1つ指定してください（latest か ID）",
                               "give one generation (latest or an ID)"));
    if (!*to || !**to)
        return cli_usage(ctx, &cmd_restore,
                         CLI_T(ctx, "--to で復元先フォルダを指定してください",
                               "give the target folder with --to"));
    if (ro->patient && ro->path_prefix)
        return cli_usage(ctx, &cmd_restore,
                         CLI_T(ctx, "--patient と --path は同時に使えません",
                               "--patient and --path cannot be combined"));
    if (merge && over)
        return cli_usage(ctx, &cmd_restore,
                         CLI_T(ctx, "--merge と --overwrite は同時に使えません",
                               "--merge and --overwrite cannot be combined"));
    ro->mode = merge  ? MM_REPO_RESTORE_MERGE
               : over ? MM_REPO_RESTORE_OVERWRITE
                      : MM_REPO_RESTORE_NEW;
    return CLI_OK;
}

/*
 * A generation that holds files the backup stored while they kept changing (manifest tag 18):
 * say so after its restore, with their count and redacted paths, as the backup did.
 */
static void unstable_note(const struct cli_ctx *ctx, mm_repo *r, const char *spec)
{
    struct mm_repo_gen g;
    char red[MM_LOG_PATH_MAX];

    memset(&g, 0, sizeof(g));
    if (mm_repo_gen_find(r, spec, &g) < 0) {
        mm_error_clear();
        return;
    }
    if (g.unstable.unstable) {
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 注意: この世代の %llu 件のファイルはバックアップ中に書き換わり"
                      "続け、最後に読んだ内容で保存されています（書き込み途中の状態の可能性が"
                      "あります）\n",
                      "mamori: note: %llu files of this generation kept changing while the "
                      "backup read them and are stored as last read (possibly in the middle of "
                      "a write)\n"),
                (unsigned long long)g.unstable.unstable);
        for (size_t i = 0; i < g.unstable.npaths; i++)
            fprintf(stderr, CLI_T(ctx, "mamori:   不安定: %s\n", "mamori:   unstable: %s\n"),
                    mm_log_path(red, sizeof(red), g.unstable.paths[i]));
    }
    mm_repo_gen_release(&g);
}

static int run_restore(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *repo = ctx->repo, *to = NULL, *user = NULL, *passfile = NULL;
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_restore_stats st;
    struct cli_run run;
    struct timespec t0, t1;
    mm_repo *r = NULL;
    int rc, err;

    memset(&run, 0, sizeof(run));
    memset(&st, 0, sizeof(st));
    if ((rc = parse(ctx, argc, argv, &ro, &repo, &user, &passfile, &to)) != CLI_OK ||
        (rc = check_target(ctx, to, &ro)) != CLI_OK)
        return rc;
    if ((rc = cli_repo_open(ctx, repo, user, passfile, &r)) != CLI_OK)
        return rc;
    if ((rc = cli_repo_lock_reader(ctx, r)) != CLI_OK)
        goto out;
    run.prog.ctx = ctx;
    run.overwrite = ro.mode == MM_REPO_RESTORE_OVERWRITE;
    if (!ctx->json && (ro.dry_run || (ctx->verbose && ro.mode != MM_REPO_RESTORE_NEW)))
        ro.change = on_change;
    if (!ro.dry_run)
        cli_progress_start(&run.prog, ctx, CLI_T(ctx, "復元中", "restoring"));
    ro.progress = cli_progress_cb;
    ro.problem = cli_problem_cb;
    ro.ctx = &run;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    err = mm_repo_restore(r, argv[optind], to, &ro, &st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!ro.dry_run) {
        cli_progress_end(&run.prog);
        cli_audit_restore(ctx, r, repo, err, argv[optind], to, &ro, &st);
    }
    if (err < 0) {
        cli_problems_print(ctx, &run.probs);
        rc = err == MM_EEXISTS && ro.mode == MM_REPO_RESTORE_NEW ? check_target(ctx, to, &ro)
                                                                 : CLI_OK;
        if (rc == CLI_OK)
            rc = cli_repo_error(ctx, err);
        if (err == MM_EIO && ro.mode != MM_REPO_RESTORE_MERGE && !ro.dry_run)
            cli_error("%s", CLI_T(ctx, "復元を中止しました。復元先は元のままです",
                                  "the restore was stopped; the target is as it was"));
        goto out;
    }
    if (ro.dry_run) {
        if (ctx->json)
            printf("{\"dry_run\":true,\"added\":%llu,\"replaced\":%llu,\"left\":%llu}\n",
                   (unsigned long long)st.added, (unsigned long long)st.replaced,
                   (unsigned long long)st.left);
        else
            print_changes(ctx, &ro, &st);
        rc = CLI_OK;
    } else {
        unstable_note(ctx, r, argv[optind]);
        rc = print_result(ctx, &run, &ro, &st,
                          (double)(t1.tv_sec - t0.tv_sec) +
                                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
out:
    cli_problems_free(&run.probs);
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_restore = {
    "restore",
    "restore --repo <DIR> <GENERATION> --to <DIR> [--patient <ID> | --path <PREFIX>] "
    "[--merge | --overwrite] [--dry-run]",
    "世代をフォルダに復元する（全体・患者単位・パス単位）",
    "restore a generation (whole, one patient, or one path) into a folder",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ\n"
    "   --to <DIR>                復元先（無いか空のフォルダ。中身があれば下のどちらかが必要）\n"
    "   --merge                   中身のあるフォルダに書き込む: 同じ名前のファイルは置き換え、\n"
    "                             ほかのファイルはそのまま残す\n"
    "   --overwrite               復元先を世代のとおりにする: 今の中身は\n"
    "                             <復元先>.before-restore-<日時> に移して残す（削除しない）\n"
    "   --dry-run                 何も書かず、追加・置き換え・そのまま（退避）を一覧する\n"
    "   --patient <ID>            この患者の SS-MIX2 フォルダだけ\n"
    "   --path <PREFIX>           このパス以下だけ（例: standard/123/456）\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --json                    結果を JSON で出す\n"
    "\n"
    "<GENERATION> は latest か、世代 ID（4桁以上の前方一致）。\n"
    "書き込む前にすべてのデータを検査します。損傷したファイルは報告して除き、残りを復元します。\n"
    "新しいフォルダへの復元（と --overwrite）は隣の一時フォルダ <復元先>.mamori-restore-<PID>\n"
    "に書き、全部そろってから名前を変えて置きます。途中で失敗すると一時フォルダを消し、\n"
    "復元先は元のままです。-v を付けると、--merge と --overwrite は書く前に一覧を出します。\n"
    "一覧のパスは患者 ID を伏せて表示します。\n"
    "終了コード: 0 成功、1 失敗、2 使い方の誤り、3 損傷したファイルがあった（ほかは復元済み）、\n"
    "5 復元先に中身があり --merge も --overwrite も無い（何もしていない）\n",
    "options:\n"
    "   --repo <DIR>              the repository\n"
    "   --to <DIR>                target folder (missing or empty, or give one of the two below)\n"
    "   --merge                   write into a folder that holds something: same-named files\n"
    "                             are replaced, the other files are left as they are\n"
    "   --overwrite               make the target the generation's tree: its present content\n"
    "                             is moved to <target>.before-restore-<time> (not deleted)\n"
    "   --dry-run                 write nothing; list what would be added, replaced, left\n"
    "                             alone (or moved aside)\n"
    "   --patient <ID>            only this patient's SS-MIX2 folders\n"
    "   --path <PREFIX>           only this path and below (e.g. standard/123/456)\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --json                    print the result as JSON\n"
    "\n"
    "<GENERATION> is latest or a generation ID (a unique prefix of 4 or more digits).\n"
    "Every byte is checked before it is written. Damaged files are reported and left out;\n"
    "the rest is restored. A restore into a new folder (and --overwrite) is written into the\n"
    "sibling <target>.mamori-restore-<PID> and renamed into place when whole; when it fails,\n"
    "that sibling is removed and the target is as it was. With -v, --merge and --overwrite\n"
    "list what they change before writing. Listed paths hide patient IDs.\n"
    "exit status: 0 done, 1 failed, 2 usage error, 3 some files were damaged (the rest is\n"
    "restored), 5 the target holds something and neither --merge nor --overwrite was given\n"
    "(nothing was done)\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY,
    run_restore,
};
