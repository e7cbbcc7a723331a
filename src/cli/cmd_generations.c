/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori generations: list the generations of a repository, oldest first: ID, time, files,
 * size, verification, the guard's verdict and the sources, with a line under each one that
 * needs attention (no patient index, fewer patients, unstable files) and, under a suspect
 * generation, its reasons in words and who accepted it (cli_guard.h). While a suspect
 * generation stands (mm_repo_gen_standing) stderr says so and the exit status is 4; other
 * marks keep exit 0, as before the guard.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/backup.h"
#include "common/error.h"
#include "repo/repo.h"
#include "src/cli/cli_guard.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

static const char *verify_name(const struct cli_ctx *ctx, enum mm_repo_verify_state v)
{
    switch (v) {
    case MM_REPO_VERIFIED:
        return CLI_T(ctx, "検証済", "verified");
    case MM_REPO_DAMAGED:
        return CLI_T(ctx, "損傷あり", "damaged");
    default:
        return CLI_T(ctx, "未検証", "unverified");
    }
}

/* The indented line under a generation that needs attention: why, with the counts. */
static void attention_line(const struct cli_ctx *ctx, const struct mm_repo_index_check *k)
{
    printf("  ⚠ %s:", CLI_T(ctx, "要確認", "NEEDS ATTENTION"));
    if (k->attention & MM_REPO_ATTN_NO_INDEX)
        printf(" %s", CLI_T(ctx, "SS-MIX2 の患者索引がない（ビューアで開けない）",
                            "no patient index of its SS-MIX2 data (the viewer cannot open it)"));
    if (k->attention & MM_REPO_ATTN_FEW_PATIENTS)
        printf(CLI_T(ctx, " 患者が %llu 人に減った（前の世代 %llu 人）",
                     " patients fell to %llu (previous generation %llu)"),
               (unsigned long long)k->patients, (unsigned long long)k->parent_patients);
    if (k->attention & MM_REPO_ATTN_NOT_INDEXED)
        printf(" %s", CLI_T(ctx, "索引に入っていない SS-MIX2 ストレージがある",
                            "SS-MIX2 storages not in the index"));
    if (k->attention &
        ~(uint32_t)(MM_REPO_ATTN_NO_INDEX | MM_REPO_ATTN_FEW_PATIENTS | MM_REPO_ATTN_NOT_INDEXED))
        printf(" %s", CLI_T(ctx, "（新しい mamori が付けた印）", "(a mark of a newer mamori)"));
    printf("\n");
}

/* The sources and storages of @g as JSON arrays (after "sources":). */
static void json_sources(const struct mm_repo_gen *g)
{
    printf(",\"sources\":[");
    for (size_t k = 0; k < g->nsources; k++) {
        printf(k ? ",{\"path\":" : "{\"path\":");
        cli_json_str(stdout, g->sources[k].path, strlen(g->sources[k].path));
        printf(",\"name\":");
        cli_json_str(stdout, g->sources[k].name, strlen(g->sources[k].name));
        printf(",\"kind\":\"%s\"}", mm_backup_kind_name(g->sources[k].kind));
    }
    printf("],\"files\":%llu,\"dirs\":%llu,\"bytes\":%llu,\"bytes_new\":%llu,"
           "\"bytes_stored\":%llu,\"patient_index\":%s,\"guard\":",
           (unsigned long long)g->counts.files, (unsigned long long)g->counts.dirs,
           (unsigned long long)g->counts.bytes, (unsigned long long)g->counts.bytes_new,
           (unsigned long long)g->counts.bytes_stored, g->has_index ? "true" : "false");
    cli_json_str(stdout, g->guard, strlen(g->guard));
    printf(",\"guard_accepted\":%s,\"guard_reasons\":", g->guard_accepted ? "true" : "false");
    if (g->guard_reasons)
        cli_json_str(stdout, g->guard_reasons, strlen(g->guard_reasons));
    else
        printf("null");
    printf(",\"storages\":[");
    for (size_t k = 0; k < g->nstorages; k++) {
        printf(k ? ",{\"path\":" : "{\"path\":");
        cli_json_str(stdout, g->storages[k].path, strlen(g->storages[k].path));
        printf(",\"kind\":\"%s\",\"indexed\":%s}", mm_backup_kind_name(g->storages[k].kind),
               g->storages[k].indexed ? "true" : "false");
    }
    printf("]");
}

/* One generation as a JSON object. */
static void json_one(const struct mm_repo_gen *g, int first)
{
    char t0[32], t1[32];

    cli_guard_time(g->start_ns, t0, 1);
    cli_guard_time(g->end_ns, t1, 1);
    printf("%s{\"id\":\"%s\",\"parent\":", first ? "" : ",", g->id);
    if (g->parent[0])
        printf("\"%s\"", g->parent);
    else
        printf("null");
    printf(",\"name\":");
    if (g->name)
        cli_json_str(stdout, g->name, strlen(g->name));
    else
        printf("null");
    printf(",\"start\":\"%s\",\"end\":\"%s\",\"host\":", t0, t1);
    cli_json_str(stdout, g->host, strlen(g->host));
    printf(",\"user\":");
    cli_json_str(stdout, g->user, strlen(g->user));
    json_sources(g);
    printf(",\"attention\":");
    cli_attention_json(stdout, g->check.attention);
    if (g->check.present)
        printf(",\"patients\":%llu,\"parent_patients\":%llu", (unsigned long long)g->check.patients,
               (unsigned long long)g->check.parent_patients);
    else
        printf(",\"patients\":null,\"parent_patients\":null");
    if (g->unstable.reread || g->unstable.unstable) /* tag 18: only when any */
        printf(",\"files_reread\":%llu,\"files_unstable\":%llu",
               (unsigned long long)g->unstable.reread, (unsigned long long)g->unstable.unstable);
    printf(",\"verify\":\"%s\"}", g->verify == MM_REPO_VERIFIED  ? "verified"
                                  : g->verify == MM_REPO_DAMAGED ? "damaged"
                                                                 : "unverified");
}

/* The guard's verdict of @g in a word. */
static const char *guard_word(const struct cli_ctx *ctx, const struct mm_repo_gen *g)
{
    if (cli_guard_suspect(g))
        return g->guard_accepted ? CLI_T(ctx, "承認済み", "accepted")
                                 : CLI_T(ctx, "⚠要注意", "⚠SUSPECT");
    return strcmp(g->guard, "clean") == 0 ? CLI_T(ctx, "正常", "clean")
                                          : CLI_T(ctx, "判定なし", "not judged");
}

/* One generation as text, with its attention and guard lines. @return 0 or MM_ECORRUPT */
static int text_one(const struct cli_ctx *ctx, mm_repo *r, const struct mm_repo_gen *g,
                    int standing)
{
    char t0[32], sz[32];

    cli_guard_time(g->start_ns, t0, 0);
    printf("%.12s  %s  %8llu %s  %10s  %s  %s", g->id, t0, (unsigned long long)g->counts.files,
           CLI_T(ctx, "ファイル", "files"), cli_bytes(g->counts.bytes, sz),
           verify_name(ctx, g->verify), guard_word(ctx, g));
    for (size_t k = 0; k < g->nsources; k++)
        printf("%s%s", k ? ", " : "  ", cli_esc(g->sources[k].path));
    if (g->name)
        printf("  [%s]", cli_esc(g->name));
    printf("\n");
    if (g->check.attention)
        attention_line(ctx, &g->check);
    if (g->unstable.unstable) /* manifest tag 18 */
        printf(CLI_T(ctx,
                     "  ⚠ %s: 読んでいる間に変わり続けたファイル %llu 件（最後に読んだ内容、"
                     "不安定）\n",
                     "  ⚠ %s: %llu files kept changing while read (stored as last read, "
                     "unstable)\n"),
               CLI_T(ctx, "要確認", "NEEDS ATTENTION"), (unsigned long long)g->unstable.unstable);
    return cli_guard_gen_lines(ctx, r, g, standing);
}

/* The listing as text. @return 0 or the first acceptance record's error */
static int print_text(const struct cli_ctx *ctx, mm_repo *r, const struct mm_repo_gen *g, size_t n,
                      size_t standing)
{
    size_t nattn = 0;
    int bad = 0, err;

    if (n == 0 && !ctx->quiet)
        printf("%s\n", CLI_T(ctx, "世代はまだありません", "no generations yet"));
    for (size_t i = 0; i < n; i++) {
        if (g[i].check.attention || g[i].unstable.unstable)
            nattn++;
        if ((err = text_one(ctx, r, &g[i], i == standing)) < 0 && !bad)
            bad = err;
    }
    if (nattn)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 要確認の世代が %zu 個あります（docs/operations.md「終了コード "
                      "4」）\n",
                      "mamori: %zu generations need attention (docs/operations.md, \"exit "
                      "status 4\")\n"),
                nattn);
    return bad;
}

static int run_generations(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *user = NULL, *passfile = NULL;
    struct mm_repo_gen *g = NULL;
    size_t n = 0, standing;
    mm_repo *r = NULL;
    int opt, rc, err = 0;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1)
        if (!cli_repo_arg(ctx, opt, &repo, &user, &passfile))
            return cli_option_error(ctx, &cmd_generations, opt, argv);
    if (optind != argc)
        return cli_usage(ctx, &cmd_generations,
                         CLI_T(ctx, "引数が多すぎます", "too many arguments"));
    if ((rc = cli_repo_open(ctx, repo, user, passfile, &r)) != CLI_OK)
        return rc;
    if ((err = mm_repo_generations(r, &g, &n)) < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    standing = mm_repo_gen_standing(g, n);
    if (ctx->json) {
        printf("[");
        for (size_t i = 0; i < n; i++)
            json_one(&g[i], i == 0);
        printf("]\n");
    } else {
        err = print_text(ctx, r, g, n, standing);
    }
    rc = err == MM_ECORRUPT ? CLI_DAMAGE : err < 0 ? CLI_ERROR : CLI_OK;
    if (rc == CLI_OK && standing < n) {
        cli_guard_standing_say(ctx, &g[standing], repo);
        rc = CLI_ATTENTION;
    }
out:
    mm_repo_gens_free(g, n);
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_generations = {
    "generations",
    "generations --repo <DIR> [--json]",
    "リポジトリの世代を一覧する",
    "list the generations of a repository",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --json                    JSON で出す\n"
    "\n"
    "ID（先頭12桁）、開始時刻、ファイル数、大きさ、検証状態、ガード判定、元のフォルダ。\n"
    "要確認の世代（バックアップが終了コード 4 で終わったもの）には、その下の行に ⚠ と理由。\n"
    "要注意の世代（ランサムウェアの疑い）には、その下に理由と、承認されていればその人と日時。\n"
    "終了コード: 0 一覧した、1 失敗、2 使い方の誤り、3 承認の記録が検証できない（改ざん）、\n"
    "4 承認されていない要注意の世代が継続中（mamori guard accept、docs/operations.md）\n",
    "options:\n"
    "   --repo <DIR>              the repository\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --json                    print JSON\n"
    "\n"
    "ID (first 12 digits), start time, files, size, verification, guard verdict, sources.\n"
    "A generation that needs attention (its backup ended with exit status 4) gets a line\n"
    "with ⚠ and the reason below it. A suspect generation (possible ransomware) gets its\n"
    "reasons below it and, once accepted, who accepted it and when.\n"
    "exit status: 0 listed, 1 failed, 2 usage error, 3 an acceptance record does not verify\n"
    "(tampering), 4 a suspect generation stands, not accepted (mamori guard accept,\n"
    "docs/operations.md)\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY,
    run_generations,
};
