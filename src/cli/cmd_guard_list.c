/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori guard list (cli_guard.h): every generation of a repository, oldest first, with the
 * guard's verdict, a suspect one's reasons in words (mm_guard_reasons_say), who accepted it,
 * when and why (its signed record, checked: one that does not verify is tampering, exit 3),
 * and which suspect generation stands (mm_repo_gen_standing: exit 4, and a line on stderr).
 * Also the lines `generations` prints under a suspect generation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "guard/guard.h"
#include "repo/repo.h"
#include "src/cli/cli_guard.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

#define SAY_MAX 8192 /* bytes of the reasons in words */

int cli_guard_suspect(const struct mm_repo_gen *g)
{
    return g->guard && strcmp(g->guard, "suspect") == 0;
}

void cli_guard_say(const struct cli_ctx *ctx, const char *reasons, const char *indent, FILE *f)
{
    char *say = malloc(SAY_MAX);
    const char *p;

    if (!reasons || !*reasons) {
        fprintf(f, "%s%s\n", indent, CLI_T(ctx, "（理由の記録なし）", "(no reasons recorded)"));
        free(say);
        return;
    }
    if (!say)
        return;
    mm_guard_reasons_say(reasons, ctx->lang == CLI_LANG_JA, say, SAY_MAX);
    for (p = say; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n) {
            fputs(indent, f);
            cli_write_esc(p, n, f);
            fputc('\n', f);
        }
        p += n + (nl ? 1 : 0);
    }
    free(say);
}

void cli_guard_standing_say(const struct cli_ctx *ctx, const struct mm_repo_gen *g,
                            const char *repo)
{
    fprintf(stderr,
            CLI_T(ctx,
                  "mamori: 要注意の世代 %.12s が承認されていません。確かめるまで古い世代の整理と"
                  "退役は止まり、以後のバックアップも要注意と判定されます。誤検知なら mamori guard "
                  "accept %.12s --repo %s で承認してください（docs/operations.md「誤検知の承認」）\n",
                  "mamori: suspect generation %.12s stands: until it is checked no older "
                  "generation is pruned or retired and every later backup is judged suspect too; "
                  "if it is a false alarm, accept it with mamori guard accept %.12s --repo %s "
                  "(docs/operations.md, \"Accepting a false alarm\")\n"),
            g->id, g->id, cli_esc(repo));
}

int cli_guard_gen_lines(const struct cli_ctx *ctx, mm_repo *r, const struct mm_repo_gen *g,
                        int standing)
{
    struct mm_repo_guard_accept a;
    char when[32];
    int err;

    if (!cli_guard_suspect(g))
        return 0;
    err = mm_repo_guard_accepted(r, g->id, &a);
    if (err < 0) {
        printf("  ⚠ %s\n", CLI_T(ctx, "承認の記録が検証できません（改ざん）",
                                 "its acceptance record does not verify (tampering)"));
        cli_lib_error(err);
        return err;
    }
    if (err == 1) {
        cli_guard_time(a.time_ns, when, 0);
        printf(CLI_T(ctx, "  ✓ 誤検知として承認済み: %s、%s",
                     "  ✓ accepted as a false alarm by %s, %s"),
               cli_esc(a.user), when);
        if (a.reason[0])
            printf(CLI_T(ctx, "（理由: %s）", " (why: %s)"), cli_esc(a.reason));
        printf("\n");
    } else {
        printf("  ⚠ %s%s:\n",
               CLI_T(ctx, "要注意（ランサムウェアの疑い）", "SUSPECT (possible ransomware)"),
               standing ? CLI_T(ctx, "・承認待ち（継続中）", ", not accepted (stands)")
                        : CLI_T(ctx, "・承認待ち", ", not accepted"));
    }
    cli_guard_say(ctx, g->guard_reasons, "      ", stdout);
    return 0;
}

/* ---- guard list ------------------------------------------------------------------------------ */

/* The verdict of @g in a word. */
static const char *verdict_word(const struct cli_ctx *ctx, const struct mm_repo_gen *g)
{
    if (cli_guard_suspect(g))
        return g->guard_accepted ? CLI_T(ctx, "承認済み", "accepted")
                                 : CLI_T(ctx, "⚠要注意", "⚠SUSPECT");
    if (g->guard && strcmp(g->guard, "clean") == 0)
        return CLI_T(ctx, "正常", "clean");
    return CLI_T(ctx, "判定なし", "not judged");
}

/* One generation as JSON. @return 0, or the error of its acceptance record */
static int list_json_one(const struct cli_ctx *ctx, mm_repo *r, const struct mm_repo_gen *g,
                         int standing, int first)
{
    struct mm_repo_guard_accept a;
    char t[32], *say = NULL;
    int err = 0;

    cli_guard_time(g->end_ns, t, 1);
    printf("%s{\"id\":\"%s\",\"time\":\"%s\",\"guard\":", first ? "" : ",", g->id, t);
    cli_json_str(stdout, g->guard ? g->guard : "none", strlen(g->guard ? g->guard : "none"));
    printf(",\"guard_reasons\":");
    if (g->guard_reasons && (say = malloc(SAY_MAX))) {
        cli_json_str(stdout, g->guard_reasons, strlen(g->guard_reasons));
        mm_guard_reasons_say(g->guard_reasons, ctx->lang == CLI_LANG_JA, say, SAY_MAX);
        printf(",\"reasons_said\":");
        cli_json_str(stdout, say, strlen(say));
        free(say);
    } else {
        printf("null,\"reasons_said\":null");
    }
    printf(",\"good\":%s,\"standing\":%s,\"accepted\":", mm_repo_gen_good(g) ? "true" : "false",
           standing ? "true" : "false");
    if (cli_guard_suspect(g) && (err = mm_repo_guard_accepted(r, g->id, &a)) == 1) {
        cli_guard_time(a.time_ns, t, 1);
        printf("{\"user\":");
        cli_json_str(stdout, a.user, strlen(a.user));
        printf(",\"time\":\"%s\",\"reason\":", t);
        cli_json_str(stdout, a.reason, strlen(a.reason));
        printf("}");
        err = 0;
    } else {
        printf(err < 0 ? "\"unverified\"" : "null");
        if (err < 0)
            cli_lib_error(err); /* a record that does not verify: tampering */
    }
    printf("}");
    return err;
}

/* The listing of @g (@n) with standing index @s. @return the first record error, or 0 */
static int list_print(const struct cli_ctx *ctx, mm_repo *r, const struct mm_repo_gen *g, size_t n,
                      size_t s)
{
    int bad = 0, err;

    if (ctx->json) {
        printf("{\"generations\":[");
        for (size_t i = 0; i < n; i++)
            if ((err = list_json_one(ctx, r, &g[i], i == s, i == 0)) < 0 && !bad)
                bad = err;
        printf("],\"standing\":");
        if (s < n)
            printf("\"%s\"", g[s].id);
        else
            printf("null");
        printf("}\n");
        return bad;
    }
    if (n == 0 && !ctx->quiet)
        printf("%s\n", CLI_T(ctx, "世代はまだありません", "no generations yet"));
    for (size_t i = 0; i < n; i++) {
        char t[32];
        cli_guard_time(g[i].end_ns, t, 0);
        printf("%.12s  %s  %s%s\n", g[i].id, t, verdict_word(ctx, &g[i]),
               i == s ? CLI_T(ctx, "  ← 継続中", "  <- stands") : "");
        if ((err = cli_guard_gen_lines(ctx, r, &g[i], i == s)) < 0 && !bad)
            bad = err;
    }
    return bad;
}

int cli_guard_list(struct cli_ctx *ctx, const char *repo, const char *user, const char *passfile)
{
    struct mm_repo_gen *g = NULL;
    size_t n = 0, s;
    mm_repo *r = NULL;
    int rc, err;

    if ((rc = cli_repo_open(ctx, repo, user, passfile, &r)) != CLI_OK)
        return rc;
    if ((err = mm_repo_generations(r, &g, &n)) < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    s = mm_repo_gen_standing(g, n);
    err = list_print(ctx, r, g, n, s);
    if (err == MM_ECORRUPT)
        rc = CLI_DAMAGE;
    else if (err < 0)
        rc = CLI_ERROR;
    else if (s < n) {
        cli_guard_standing_say(ctx, &g[s], repo);
        rc = CLI_ATTENTION;
    } else
        rc = CLI_OK;
out:
    mm_repo_gens_free(g, n);
    mm_repo_free(r);
    return rc;
}
