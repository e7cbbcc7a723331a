/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori verify: check a repository's structure, and with --read-data every byte of it;
 * damage is reported naming the generations and files affected, exit status 3.
 * mamori prune: remove generations a keep policy does not keep, and the data only they used.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "repo/repo.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

static int run_verify(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "read-data", no_argument, NULL, 'R' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *user = NULL, *passfile = NULL;
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats st;
    struct cli_run run;
    mm_repo *r = NULL;
    int opt, rc, err, damaged;

    memset(&run, 0, sizeof(run));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &repo, &user, &passfile))
            continue;
        switch (opt) {
        case 'R':
            vo.read_data = 1;
            break;
        default:
            return cli_option_error(ctx, &cmd_verify, opt, argv);
        }
    }
    if (optind != argc)
        return cli_usage(ctx, &cmd_verify, CLI_T(ctx, "引数が多すぎます", "too many arguments"));
    if ((rc = cli_repo_open(ctx, repo, user, passfile, &r)) != CLI_OK)
        return rc;
    if ((err = mm_repo_lock(r, MM_REPO_LOCK_SHARED, NULL)) < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    cli_progress_start(&run.prog, ctx, CLI_T(ctx, "検証中", "verifying"));
    vo.progress = cli_progress_cb;
    vo.problem = cli_problem_cb;
    vo.ctx = &run;
    err = mm_repo_verify(r, &vo, &st);
    cli_progress_end(&run.prog);
    cli_audit_verify(ctx, r, repo, err, vo.read_data, &st, run.probs.count);
    if (err < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    if (vo.read_data && !st.recorded && st.generations && !ctx->quiet)
        fprintf(stderr, "%s\n",
                CLI_T(ctx, "mamori: 媒体に書き込めないため、検証結果は記録されませんでした",
                      "mamori: the medium cannot be written: the result was not recorded"));
    damaged = st.damaged_generations || st.damaged_packs || st.damaged_objects ||
              st.damaged_files || run.probs.count;
    if (ctx->json) {
        printf("{\"read_data\":%s,\"generations\":%llu,\"trees\":%llu,\"packs\":%llu,"
               "\"objects\":%llu,\"bytes\":%llu,\"damaged_generations\":%llu,"
               "\"damaged_packs\":%llu,\"damaged_objects\":%llu,\"missing_objects\":%llu,"
               "\"damaged_files\":%llu,\"ok\":%s,\"problems\":",
               vo.read_data ? "true" : "false", (unsigned long long)st.generations,
               (unsigned long long)st.trees, (unsigned long long)st.packs,
               (unsigned long long)st.objects, (unsigned long long)st.bytes,
               (unsigned long long)st.damaged_generations, (unsigned long long)st.damaged_packs,
               (unsigned long long)st.damaged_objects, (unsigned long long)st.missing_objects,
               (unsigned long long)st.damaged_files, damaged ? "false" : "true");
        cli_problems_json(stdout, &run.probs);
        printf("}\n");
    } else {
        cli_problems_print(ctx, &run.probs);
        if (damaged)
            printf(CLI_T(ctx,
                         "損傷あり: 世代 %llu/%llu、パック %llu、オブジェクト %llu、ファイル %llu\n",
                         "DAMAGE FOUND: %llu/%llu generations, %llu packs, %llu objects, %llu "
                         "files\n"),
                   (unsigned long long)st.damaged_generations, (unsigned long long)st.generations,
                   (unsigned long long)st.damaged_packs, (unsigned long long)st.damaged_objects,
                   (unsigned long long)st.damaged_files);
        else if (!ctx->quiet)
            printf(CLI_T(ctx, "問題なし: 世代 %llu（パック %llu、オブジェクト %llu、%s）\n",
                         "no damage: %llu generations (%llu packs, %llu objects, %s)\n"),
                   (unsigned long long)st.generations, (unsigned long long)st.packs,
                   (unsigned long long)st.objects,
                   vo.read_data ? CLI_T(ctx, "全データを読んで確認", "all data read and checked")
                                : CLI_T(ctx, "構造のみ", "structure only"));
    }
    rc = damaged ? CLI_DAMAGE : CLI_OK;
out:
    cli_problems_free(&run.probs);
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_verify = {
    "verify",
    "verify --repo <DIR> [--read-data] [--json]",
    "リポジトリを検査する（--read-data で全データを復号して確認）",
    "check a repository (--read-data decrypts and checks every byte)",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ\n"
    "   --read-data               すべてのパックを読み、すべてのオブジェクトを復号・照合する\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --json                    結果を JSON で出す\n"
    "\n"
    "損傷を見つけると、影響する世代とファイル（患者IDは伏せ字）を示します。\n"
    "終了コード: 0 問題なし、1 検査できなかった、2 使い方の誤り、3 損傷あり\n",
    "options:\n"
    "   --repo <DIR>              the repository\n"
    "   --read-data               read every pack, decrypt and check every object\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --json                    print the result as JSON\n"
    "\n"
    "Damage is reported with the generations and files it affects (patient IDs hidden).\n"
    "exit status: 0 no damage, 1 could not check, 2 usage error, 3 damage found\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY,
    run_verify,
};

/* ---- prune ---------------------------------------------------------------------------------- */

struct prune_ctx {
    struct cli_run run; /* first: cli_progress_cb takes the prune's ctx as a cli_run */
    struct cli_ctx *ctx;
    int first;
    struct cli_audit_ids removed; /* for the audit log */
};

static void on_gen(const struct mm_repo_gen *g, int keep, const char *why, void *arg)
{
    struct prune_ctx *p = arg;
    char t[32];
    time_t s = (time_t)(g->start_ns / 1000000000);
    struct tm tm;

    if (!keep)
        cli_audit_ids_add(&p->removed, g->id);
    localtime_r(&s, &tm);
    strftime(t, sizeof(t), "%Y-%m-%d %H:%M", &tm);
    if (p->ctx->json) {
        printf("%s{\"id\":\"%s\",\"keep\":%s,\"why\":\"%s\"}", p->first ? "" : ",", g->id,
               keep ? "true" : "false", why);
        p->first = 0;
    } else if (!p->ctx->quiet) {
        printf("%.12s  %s  %s (%s)\n", g->id, t,
               keep ? CLI_T(p->ctx, "残す  ", "keep  ") : CLI_T(p->ctx, "削除  ", "remove"), why);
    }
}

static int parse_count(const char *s, unsigned int *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (!*s || *end || v > 100000)
        return -1;
    *out = (unsigned int)v;
    return 0;
}

static int run_prune(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "keep-last", required_argument, NULL, 'l' },
        { "keep-daily", required_argument, NULL, 'd' },
        { "keep-weekly", required_argument, NULL, 'w' },
        { "keep-monthly", required_argument, NULL, 'm' },
        { "dry-run", no_argument, NULL, 'n' },
        { "medium", required_argument, NULL, 'M' },
        { "hospital", required_argument, NULL, 'H' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *user = NULL, *passfile = NULL, *medium = NULL, *hospital = NULL;
    struct mm_repo_keep k = { 0 };
    struct mm_repo_prune_stats st;
    struct prune_ctx pc;
    char sz[32];
    mm_repo *r = NULL;
    int opt, rc, err, dry = 0, have_last = 0;

    memset(&pc, 0, sizeof(pc));
    pc.ctx = ctx;
    pc.first = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        unsigned int *dst = NULL;
        if (cli_repo_arg(ctx, opt, &repo, &user, &passfile))
            continue;
        switch (opt) {
        case 'l':
            dst = &k.last;
            have_last = 1;
            break;
        case 'd':
            dst = &k.daily;
            break;
        case 'w':
            dst = &k.weekly;
            break;
        case 'm':
            dst = &k.monthly;
            break;
        case 'n':
            dry = 1;
            break;
        case 'M':
            medium = optarg;
            break;
        case 'H':
            hospital = optarg;
            break;
        default:
            return cli_option_error(ctx, &cmd_prune, opt, argv);
        }
        if (dst && parse_count(optarg, dst) < 0)
            return cli_usage(ctx, &cmd_prune,
                             CLI_T(ctx, "保持数は 0 以上の整数です",
                                   "keep counts are whole numbers from 0"));
    }
    if (optind != argc)
        return cli_usage(ctx, &cmd_prune, CLI_T(ctx, "引数が多すぎます", "too many arguments"));
    if (!have_last || k.last < 1)
        return cli_usage(ctx, &cmd_prune,
                         CLI_T(ctx, "--keep-last に 1 以上を指定してください",
                               "give --keep-last of 1 or more"));
    if ((rc = cli_repo_open(ctx, repo, user, passfile, &r)) != CLI_OK)
        return rc;
    if ((rc = cli_media_check(ctx, r, medium, hospital)) != CLI_OK)
        goto out; /* the wrong medium: nothing is removed */
    if (ctx->json)
        printf("{\"generations\":[");
    cli_progress_start(&pc.run.prog, ctx, CLI_T(ctx, "整理中", "pruning"));
    err = mm_repo_prune(r, &k, dry, on_gen, &pc, cli_progress_cb, &st);
    cli_progress_end(&pc.run.prog);
    cli_audit_prune(ctx, r, repo, err, dry, &pc.removed, &st);
    if (err < 0) {
        if (ctx->json)
            printf("]}\n");
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    if (ctx->json) {
        printf("],\"dry_run\":%s,\"kept\":%llu,\"removed\":%llu,\"packs_removed\":%llu,"
               "\"packs_rewritten\":%llu,\"bytes_freed\":%llu}\n",
               dry ? "true" : "false", (unsigned long long)st.gens_kept,
               (unsigned long long)st.gens_removed, (unsigned long long)st.packs_removed,
               (unsigned long long)st.packs_rewritten, (unsigned long long)st.bytes_freed);
    } else if (!ctx->quiet) {
        printf(dry ? CLI_T(ctx, "（試行）%llu 世代を残し %llu 世代を削除、約 %s 空く見込み\n",
                           "(dry run) would keep %llu and remove %llu generations, freeing about %s\n")
                   : CLI_T(ctx, "%llu 世代を残し %llu 世代を削除、%s 空きました\n",
                           "kept %llu and removed %llu generations, freed %s\n"),
               (unsigned long long)st.gens_kept, (unsigned long long)st.gens_removed,
               cli_bytes(st.bytes_freed, sz));
    }
    rc = CLI_OK;
out:
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_prune = {
    "prune",
    "prune --repo <DIR> --keep-last <N> [--keep-daily <N>] [--keep-weekly <N>] "
    "[--keep-monthly <N>] [--dry-run] [--medium <LABEL>] [--hospital <ID>]",
    "古い世代と、それだけが使っていたデータを削除する",
    "remove old generations and the data only they used",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ\n"
    "   --keep-last <N>           新しい順に N 世代を残す（1 以上）\n"
    "   --keep-daily <N>          直近 N 日それぞれの最新の世代を残す\n"
    "   --keep-weekly <N>         直近 N 週それぞれの最新の世代を残す\n"
    "   --keep-monthly <N>        直近 N か月それぞれの最新の世代を残す\n"
    "   --dry-run                 何が消えるかを表示するだけ\n"
    "   --medium <LABEL>          この媒体でなければ何も消さずに止まる（mamori media）\n"
    "   --hospital <ID>           この病院の媒体でなければ何も消さずに止まる\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --json                    結果を JSON で出す\n"
    "\n"
    "最新の世代と、検証で問題がなかった最新の世代は必ず残します。\n"
    "途中で止まっても残す世代は壊れません。次の prune が続きを行います。\n",
    "options:\n"
    "   --repo <DIR>              the repository\n"
    "   --keep-last <N>           keep the N newest generations (1 or more)\n"
    "   --keep-daily <N>          keep the newest generation of each of the last N days\n"
    "   --keep-weekly <N>         keep the newest generation of each of the last N weeks\n"
    "   --keep-monthly <N>        keep the newest generation of each of the last N months\n"
    "   --dry-run                 only show what would be removed\n"
    "   --medium <LABEL>          refuse, removing nothing, unless this is that medium\n"
    "   --hospital <ID>           refuse, removing nothing, unless it is this hospital's\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --json                    print the result as JSON\n"
    "\n"
    "The newest generation and the newest one that verified clean are always kept. An\n"
    "interrupted prune never harms a kept generation; the next prune finishes the job.\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY | CMD_WRITES_REPO,
    run_prune,
};
