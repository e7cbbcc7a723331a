/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori guard accept GENERATION: a person clears a false alarm of the ransomware guard. The
 * repository is opened with a person's passphrase; a host credential (format 3: the library
 * refuses it, MM_EREFUSED) and, on a host whose configuration names the unattended passphrase
 * file of `[service]`, the key slot that passphrase opens are refused with exit 5, because an
 * owned host must not accept its own attack. The signed record is written by
 * mm_repo_guard_accept, the event recorded in the medium's and the host's audit logs (refusals
 * too), and the generation leaves this host's standing list (<state_dir>/guard with a
 * configuration, <cache root>/guard of `mamori backup`). mamori guard list: every generation
 * with its verdict, the reasons in words, who accepted it and when, and which one stands
 * (exit 4 while one does). Reasons hold counts and shares only: no patient data.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit/audit.h"
#include "common/alloc.h"
#include "common/error.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "guard/guard.h"
#include "repo/repo.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_guard.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

#define REASON_MAX 255 /* bytes of --reason (the record keeps 255 and a NUL) */

/* The options of guard accept and guard list. */
struct guard_args {
    const char *repo, *user, *passfile, *gen, *reason, *config, *credential, *cache;
};

/* ---- the host's configuration: the unattended slot and the standing list ------------------ */

/*
 * The configuration: --config (it must load), else the default file when it exists.
 * OUT: *cfg (NULL: none). @return CLI_OK or CLI_ERROR (printed)
 */
static int load_config(const struct cli_ctx *ctx, const char *path, mm_config **cfg)
{
    struct stat st;
    int err;

    *cfg = NULL;
    if (!path && stat(MM_CONFIG_DEFAULT_PATH, &st) != 0 && errno == ENOENT)
        return CLI_OK;
    err = mm_config_load(path ? path : MM_CONFIG_DEFAULT_PATH, cfg);
    if (err == 0)
        return CLI_OK;
    cli_error(CLI_T(ctx, "設定ファイルを読めません（無人運転の鍵スロットを確かめられません）: %s",
                    "cannot read the configuration (the unattended key slot cannot be checked): "
                    "%s"),
              mm_error_last());
    return CLI_ERROR;
}

/*
 * Whether the passphrase of the service's file @pf opens the key slot that opened @r (the
 * repository at @path). OUT: *same. @return CLI_OK, or CLI_REFUSED when it cannot be told
 */
static int service_slot(const struct cli_ctx *ctx, const char *path, mm_repo *r, const char *pf,
                        int *same)
{
    char pass[CLI_PASS_MAX];
    mm_repo *sr = NULL;
    size_t len = 0;
    int err;

    *same = 0;
    if (cli_passphrase(ctx, pf, NULL, "", "", 0, pass, &len) != CLI_OK) {
        cli_error(
                CLI_T(ctx,
                      "無人運転のパスフレーズファイル（設定の [service] passphrase_file）を読めない"
                      "ため、使っている鍵スロットが無人運転のものでないことを確かめられません。"
                      "root かサービスの利用者で実行してください",
                      "the unattended passphrase file ([service] passphrase_file of the "
                      "configuration) cannot be read, so it cannot be told that the key slot "
                      "used is not the unattended one: run this as root or the service user"));
        return CLI_REFUSED;
    }
    err = mm_repo_open(&sr, path, mm_repo_user(r), pass, len);
    mm_crypto_wipe(pass, sizeof(pass));
    mm_repo_free(sr);
    if (err == 0)
        *same = 1;
    else if (err != MM_EAUTH && err != MM_ENOTFOUND) {
        cli_error(CLI_T(ctx, "無人運転の鍵スロットを確かめられません: %s",
                        "cannot check the unattended key slot: %s"),
                  mm_error_last());
        return CLI_REFUSED;
    }
    mm_error_clear();
    return CLI_OK;
}

/* Take generation @id off the standing list of the guard folder under @root; say so. */
static void standing_clear(const struct cli_ctx *ctx, const char *root, const char *id)
{
    char dir[4096];
    int rc;

    if (snprintf(dir, sizeof(dir), "%s/guard", root) >= (int)sizeof(dir))
        return;
    rc = mm_guard_standing_clear(dir, id);
    if (rc < 0)
        cli_error(CLI_T(ctx,
                        "この PC の要注意の一覧（%s）から外せませんでした: %s。次の実行も要注意と"
                        "判定されます",
                        "could not take it off this host's list of standing suspects (%s): %s; "
                        "the next run is judged suspect too"),
                  dir, mm_error_last());
    else if (rc == 1 && !ctx->quiet && !ctx->json)
        printf(CLI_T(ctx, "この PC の要注意の一覧（%s）から外しました\n",
                     "taken off this host's list of standing suspects (%s)\n"),
               dir);
}

/* ---- guard accept -------------------------------------------------------------------------- */

/* Record the acceptance (or its refusal, @why) of generation @gen in both audit logs. */
static void audit_accept(const struct cli_ctx *ctx, mm_repo *r, const char *repo, const char *gen,
                         const char *reason, const char *why)
{
    struct mm_audit_fields b = { 0 };
    struct mm_audit_event ev = { 0 };

    mm_audit_fields_add(&b, "result", why ? "refused" : "accepted");
    mm_audit_fields_add(&b, "generation", gen);
    if (why)
        mm_audit_fields_add(&b, "why", why);
    if (reason && *reason)
        mm_audit_fields_add(&b, "reason", reason);
    ev.kind = MM_AUDIT_GUARD_ACCEPT;
    ev.fields = b.f;
    ev.nfields = b.n;
    cli_audit_write(ctx, r, repo, &ev);
}

/* Local time of @ns as "YYYY-MM-DD HH:MM:SS" (@iso: ISO 8601 with the offset). */
void cli_guard_time(int64_t ns, char out[32], int iso)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;

    if (!localtime_r(&t, &tm)) {
        snprintf(out, 32, "?");
        return;
    }
    strftime(out, 32, iso ? "%Y-%m-%dT%H:%M:%S%z" : "%Y-%m-%d %H:%M:%S", &tm);
}

/*
 * Before writing: generation @spec of @r exists, is suspect and not yet accepted.
 * OUT: @id (full ID). @return CLI_OK, or CLI_ERROR/CLI_DAMAGE after saying why
 */
static int accept_check(const struct cli_ctx *ctx, mm_repo *r, const char *spec,
                        char id[MM_CRYPTO_HEX_SIZE])
{
    struct mm_repo_guard_accept a;
    struct mm_repo_gen g = { 0 };
    char when[32];
    int err, rc = CLI_ERROR;

    if ((err = mm_repo_gen_find(r, spec, &g)) < 0) {
        if (err == MM_ENOTFOUND)
            cli_error(CLI_T(ctx, "世代 '%s' はありません", "no generation '%s'"), cli_esc(spec));
        else
            cli_repo_error(ctx, err);
        return err == MM_ECORRUPT ? CLI_DAMAGE : CLI_ERROR;
    }
    memcpy(id, g.id, MM_CRYPTO_HEX_SIZE);
    if (!g.guard || strcmp(g.guard, "suspect") != 0) {
        cli_error(
                CLI_T(ctx,
                      "世代 %.12s は要注意ではありません（判定: %s）。承認するものはありません",
                      "generation %.12s is not suspect (verdict: %s): there is nothing to accept"),
                g.id,
                g.guard && strcmp(g.guard, "clean") == 0 ? CLI_T(ctx, "正常", "clean")
                                                         : CLI_T(ctx, "判定なし", "not judged"));
        goto out;
    }
    err = mm_repo_guard_accepted(r, g.id, &a);
    if (err == 1) {
        cli_guard_time(a.time_ns, when, 0);
        cli_error(CLI_T(ctx, "世代 %.12s は承認済みです（%s、%s）",
                        "generation %.12s is accepted already (by %s, %s)"),
                  g.id, cli_esc(a.user), when);
        goto out;
    }
    if (err < 0) { /* a record that does not verify: tampering */
        cli_lib_error(err);
        rc = err == MM_ECORRUPT ? CLI_DAMAGE : CLI_ERROR;
        goto out;
    }
    rc = CLI_OK;
out:
    mm_repo_gen_release(&g);
    return rc;
}

/* A host credential's handle: refused by the library (MM_EREFUSED), recorded, said. */
static int accept_host(const struct cli_ctx *ctx, const struct guard_args *a)
{
    struct mm_repo_guard_accept acc;
    mm_repo *r = NULL;
    int err;

    if ((err = mm_repo_open_host(&r, a->repo, a->credential)) < 0)
        return cli_repo_error(ctx, err);
    err = mm_repo_guard_accept(r, a->gen, a->reason, &acc);
    if (err == MM_EREFUSED) {
        audit_accept(ctx, r, a->repo, a->gen, a->reason, "host-credential");
        cli_error("%s",
                  CLI_T(ctx,
                        "ホスト資格情報では要注意の世代を承認できません。乗っ取られたバックアップ"
                        "用 PC が自分の攻撃を承認できないようにするためです。人のパスフレーズで"
                        "開いてください",
                        "a host credential cannot accept a suspect generation (an owned "
                        "backup host must not accept its own attack): open the repository "
                        "with a person's passphrase"));
        mm_repo_free(r);
        return CLI_REFUSED;
    }
    /* the library must refuse it: anything else is a bug worth failing loudly on */
    mm_repo_free(r);
    return err < 0 ? cli_repo_error(ctx, err) : CLI_ERROR;
}

/* The refusal of the service's unattended slot: recorded, said. */
static int accept_service_refused(const struct cli_ctx *ctx, mm_repo *r, const struct guard_args *a,
                                  const char *id)
{
    audit_accept(ctx, r, a->repo, id, a->reason, "unattended-slot");
    cli_error(CLI_T(ctx,
                    "鍵スロット '%s' は無人運転のパスフレーズ（設定の [service] passphrase_file）で"
                    "開くため、要注意の世代を承認できません。乗っ取られたバックアップ用 PC が自分の"
                    "攻撃を承認できないようにするためです。自分の鍵スロット（--user）とパスフレーズ"
                    "で開いてください",
                    "the key slot '%s' opens with the unattended passphrase ([service] "
                    "passphrase_file of the configuration), so it cannot accept a suspect "
                    "generation (an owned backup host must not accept its own attack): open "
                    "the repository with your own key slot (--user) and passphrase"),
              cli_esc(mm_repo_user(r)));
    return CLI_REFUSED;
}

/* Say what was accepted (text or JSON); @still: the suspect generation that still stands on
 * this medium (NULL: none). */
static void accept_print(const struct cli_ctx *ctx, const struct mm_repo_guard_accept *acc,
                         const char *still)
{
    char when[32];

    if (ctx->json) {
        cli_guard_time(acc->time_ns, when, 1);
        printf("{\"generation\":\"%s\",\"accepted\":true,\"user\":", acc->gen);
        cli_json_str(stdout, acc->user, strlen(acc->user));
        printf(",\"time\":\"%s\",\"reason\":", when);
        cli_json_str(stdout, acc->reason, strlen(acc->reason));
        printf(still ? ",\"standing\":\"%s\"}\n" : ",\"standing\":null}\n", still);
        return;
    }
    if (ctx->quiet)
        return;
    cli_guard_time(acc->time_ns, when, 0);
    printf(CLI_T(ctx,
                 "世代 %.12s を誤検知として承認しました（%s、%s）。署名した記録を媒体に書き、"
                 "監査ログに残しました。\n",
                 "generation %.12s accepted as a false alarm (by %s, %s): the signed record is "
                 "on the medium and the audit logs hold the acceptance.\n"),
           acc->gen, cli_esc(acc->user), when);
    if (!still)
        printf("%s",
               CLI_T(ctx,
                     "この世代は良い世代として数えられ、この媒体の古い世代の整理が再開します。\n",
                     "It counts as a good generation now; pruning this medium's older "
                     "generations resumes.\n"));
}

/* Whether every reason line of @reasons is "standing ...": suspect only because another
 * generation stood. */
static int only_standing(const char *reasons)
{
    int any = 0;

    for (const char *p = reasons; p && *p;) {
        size_t n = strcspn(p, "\n");
        if (n && strncmp(p, "standing", 8) != 0)
            return 0;
        any |= n != 0;
        p += n + (p[n] == '\n');
    }
    return any;
}

/* The suspect generation of @r that stands after the acceptance (mm_repo_gen_standing), in
 * @still ("" none). @return 1 when it is suspect only because another one stood */
static int still_standing(mm_repo *r, char still[MM_CRYPTO_HEX_SIZE])
{
    struct mm_repo_gen *g = NULL;
    size_t n = 0, s;
    int only = 0;

    still[0] = '\0';
    if (mm_repo_generations(r, &g, &n) < 0) {
        mm_error_clear(); /* the acceptance is written: the listing is only a courtesy */
        return 0;
    }
    if ((s = mm_repo_gen_standing(g, n)) < n) {
        memcpy(still, g[s].id, MM_CRYPTO_HEX_SIZE);
        only = only_standing(g[s].guard_reasons);
    }
    mm_repo_gens_free(g, n);
    return only;
}

/* The suspects this host's daily cycle still lists (<@state_dir>/guard), said on stderr.
 * @return how many */
static size_t host_standing(const struct cli_ctx *ctx, const char *state_dir)
{
    struct mm_guard_standing *v = NULL;
    char dir[4096];
    size_t n = 0;

    if (snprintf(dir, sizeof(dir), "%s/guard", state_dir) >= (int)sizeof(dir) ||
        mm_guard_standing_list(dir, &v, &n) < 0) {
        mm_error_clear();
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: この PC の毎日のバックアップは、まだ要注意の世代 %.12s（媒体 %s）を"
                      "継続中として扱っています。承認されるまで、どの媒体の退役も止まります\n",
                      "mamori: this host's daily cycle still holds suspect generation %.12s "
                      "(medium %s) as standing: no medium retires anything until it is "
                      "accepted\n"),
                v[i].gen, v[i].medium[0] ? cli_esc(v[i].medium) : "?");
    mm_free(v);
    return n;
}

/* Write the record, the audit event, clear the standing lists. @r: a person's handle.
 * @return CLI_OK, CLI_ATTENTION (written, but a suspect generation still stands), or an error */
static int accept_write(const struct cli_ctx *ctx, mm_repo *r, const struct guard_args *a,
                        const mm_config *cfg, const char *id)
{
    struct mm_repo_guard_accept acc;
    char buf[4096], still[MM_CRYPTO_HEX_SIZE];
    const char *state = cfg ? mm_config_service(cfg)->state_dir : NULL;
    size_t host = 0;
    int err, only;

    if ((err = mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, NULL)) < 0)
        return cli_repo_error(ctx, err);
    memset(&acc, 0, sizeof(acc));
    err = mm_repo_guard_accept(r, id, a->reason ? a->reason : "", &acc);
    if (err == MM_EREFUSED) {
        audit_accept(ctx, r, a->repo, id, a->reason, "refused");
        return cli_lib_error(err);
    }
    if (err < 0)
        return cli_repo_error(ctx, err);
    audit_accept(ctx, r, a->repo, acc.gen, a->reason, NULL);
    only = still_standing(r, still);
    accept_print(ctx, &acc, still[0] ? still : NULL);
    fflush(stdout); /* before the lines on stderr that follow it */
    if (still[0] && !only) {
        struct mm_repo_gen sg;
        memset(&sg, 0, sizeof(sg));
        memcpy(sg.id, still, sizeof(sg.id));
        cli_guard_standing_say(ctx, &sg, a->repo);
    }
    if (only)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 要注意の世代 %.12s がまだ継続中です。ほかの要注意の世代が継続中だった"
                      "ためだけに要注意とされたもので、次のバックアップが正常と判定されれば継続は"
                      "終わります（それまでこの媒体の古い世代は整理しません）。内容を確かめて承認する"
                      "こともできます\n",
                      "mamori: suspect generation %.12s still stands; it was judged suspect only "
                      "because another suspect generation stood, and stops standing once the next "
                      "backup is judged clean (until then this medium's older generations are not "
                      "pruned); it can also be checked and accepted\n"),
                still);
    if (state)
        standing_clear(ctx, state, acc.gen);
    standing_clear(ctx, cli_cache_root(a->cache, buf, sizeof(buf)), acc.gen);
    if (state)
        host = host_standing(ctx, state);
    return still[0] || host ? CLI_ATTENTION : CLI_OK;
}

static int guard_accept(struct cli_ctx *ctx, const struct guard_args *a)
{
    char id[MM_CRYPTO_HEX_SIZE];
    const char *pf;
    mm_config *cfg = NULL;
    mm_repo *r = NULL;
    int rc, same = 0;

    if (a->credential)
        return accept_host(ctx, a);
    if ((rc = load_config(ctx, a->config, &cfg)) != CLI_OK)
        return rc;
    if ((rc = cli_repo_open(ctx, a->repo, a->user, a->passfile, &r)) != CLI_OK)
        goto out;
    pf = cfg ? mm_config_service(cfg)->passphrase_file : NULL;
    if (pf && (rc = service_slot(ctx, a->repo, r, pf, &same)) != CLI_OK)
        goto out;
    if (same) { /* whatever the generation: this slot never accepts */
        rc = accept_service_refused(ctx, r, a, a->gen);
        goto out;
    }
    if ((rc = accept_check(ctx, r, a->gen, id)) != CLI_OK)
        goto out;
    rc = accept_write(ctx, r, a, cfg, id);
out:
    mm_repo_free(r);
    mm_config_free(cfg);
    return rc;
}

/* ---- the command ---------------------------------------------------------------------------- */

/* Parse the options of guard <verb> (@argv[0] is the verb) into @a. @return CLI_OK or an exit */
static int guard_args(struct cli_ctx *ctx, int argc, char **argv, int accept, struct guard_args *a)
{
    static const struct option opts[] = {
        CLI_REPO_OPTIONS,
        { "reason", required_argument, NULL, 'R' },
        { "config", required_argument, NULL, 'c' },
        { "credential", required_argument, NULL, 'C' },
        { "cache", required_argument, NULL, 'K' },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    a->repo = ctx->repo;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &a->repo, &a->user, &a->passfile))
            continue;
        if (accept && opt == 'R')
            a->reason = optarg;
        else if (accept && opt == 'c')
            a->config = optarg;
        else if (accept && opt == 'C')
            a->credential = optarg;
        else if (accept && opt == 'K')
            a->cache = optarg;
        else if (opt == 'R' || opt == 'c' || opt == 'C' || opt == 'K')
            return cli_usage(ctx, &cmd_guard,
                             CLI_T(ctx, "--%s は guard accept のオプションです",
                                   "--%s is an option of guard accept"),
                             opt == 'R'   ? "reason"
                             : opt == 'c' ? "config"
                             : opt == 'C' ? "credential"
                                          : "cache");
        else
            return cli_option_error(ctx, &cmd_guard, opt, argv);
    }
    if (accept && optind + 1 != argc)
        return cli_usage(ctx, &cmd_guard,
                         CLI_T(ctx, "承認する世代を 1 つ指定してください",
                               "give the one generation to accept"));
    if (!accept && optind != argc)
        return cli_usage(ctx, &cmd_guard, CLI_T(ctx, "引数が多すぎます", "too many arguments"));
    a->gen = accept ? argv[optind] : NULL;
    if (!a->repo || !*a->repo)
        return cli_usage(ctx, &cmd_guard,
                         CLI_T(ctx, "--repo を指定してください", "--repo is required"));
    if (a->reason && strlen(a->reason) > REASON_MAX)
        return cli_usage(
                ctx, &cmd_guard,
                CLI_T(ctx, "--reason は %d バイトまでです", "--reason takes at most %d bytes"),
                REASON_MAX);
    if (a->credential && (a->user || a->passfile))
        return cli_usage(ctx, &cmd_guard,
                         CLI_T(ctx, "--credential と --user / --passphrase-file は一緒に使えません",
                               "--credential goes with neither --user nor --passphrase-file"));
    return CLI_OK;
}

static int run_guard(struct cli_ctx *ctx, int argc, char **argv)
{
    struct guard_args a = { 0 };
    int accept, rc;

    if (argc < 2 || (strcmp(argv[1], "accept") != 0 && strcmp(argv[1], "list") != 0))
        return cli_usage(ctx, &cmd_guard,
                         CLI_T(ctx, "accept か list を指定してください", "give accept or list"));
    accept = strcmp(argv[1], "accept") == 0;
    if ((rc = guard_args(ctx, argc - 1, argv + 1, accept, &a)) != CLI_OK)
        return rc;
    return accept ? guard_accept(ctx, &a) : cli_guard_list(ctx, a.repo, a.user, a.passfile);
}

const struct cmd cmd_guard = {
    "guard",
    "guard accept <GENERATION>|list --repo <DIR> [--reason <TEXT>] [--config <FILE>]",
    "ランサムウェア検知の判定を一覧し、誤検知を人が承認する",
    "list the ransomware guard's verdicts; a person accepts a false alarm",
    "形式:\n"
    "   guard list --repo <DIR> [--json]\n"
    "       すべての世代の判定（正常・要注意・判定なし）、要注意の理由、承認した人と日時、\n"
    "       いま継続中の要注意の世代を表示します。\n"
    "   guard accept <世代> --repo <DIR> [--reason <理由>] [--config <FILE>]\n"
    "       要注意の世代を誤検知として承認します（人のパスフレーズが必要）。\n"
    "\n"
    "オプション:\n"
    "   --repo <DIR>              リポジトリ（媒体）\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --reason <TEXT>           承認の理由（記録と監査ログに残る。患者の情報は書かない）\n"
    "   --config <FILE>           この PC の設定（既定: /etc/mamori/mamori.conf があれば）。\n"
    "                             [service] の無人運転の鍵スロットでの承認を拒み、\n"
    "                             <state_dir>/guard の要注意の一覧から外す\n"
    "   --cache <DIR>             backup のキャッシュフォルダ（既定: backup と同じ）。\n"
    "                             その guard/ の要注意の一覧から外す\n"
    "   --credential <FILE>       ホスト資格情報（常に拒否されます。形式 3）\n"
    "   --json                    JSON で出す\n"
    "\n"
    "要注意の世代は、人が承認するまで「継続中」です。その間、どの媒体でも古い世代を\n"
    "整理（prune）・退役せず、以後のバックアップもすべて要注意と判定します。承認は媒体に\n"
    "マスター署名鍵で署名した記録（<repo>/guard/<世代 ID>）として残り、監査ログにも\n"
    "記録されます。ホスト資格情報（形式 3）は署名鍵を持たないため承認できません。形式 2\n"
    "では、設定の [service] passphrase_file のパスフレーズで開く鍵スロットを拒否します。\n"
    "終了コード: 0 承認した／継続中の要注意なし、1 失敗（要注意でない、承認済み）、\n"
    "2 使い方の誤り、3 承認の記録が検証できない（改ざん）、4 継続中の要注意の世代がある\n"
    "（list。accept では承認は書いたが、この媒体か PC の一覧にまだ継続中の世代がある）、\n"
    "5 安全のため拒否（ホスト資格情報、無人運転の鍵スロット）\n",
    "forms:\n"
    "   guard list --repo <DIR> [--json]\n"
    "       every generation's verdict (clean, suspect, not judged), the reasons of a\n"
    "       suspect one, who accepted it and when, and which suspect generation stands.\n"
    "   guard accept <GENERATION> --repo <DIR> [--reason <TEXT>] [--config <FILE>]\n"
    "       accept a suspect generation as a false alarm (needs a person's passphrase).\n"
    "\n"
    "options:\n"
    "   --repo <DIR>              the repository (medium)\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --reason <TEXT>           why (kept in the record and the audit logs; no patient data)\n"
    "   --config <FILE>           this host's configuration (default /etc/mamori/mamori.conf\n"
    "                             when it exists): the unattended key slot of [service] is\n"
    "                             refused, and <state_dir>/guard's standing list is cleared\n"
    "   --cache <DIR>             backup's cache folder (default: as backup finds it): its\n"
    "                             guard/ standing list is cleared\n"
    "   --credential <FILE>       a host credential (always refused; format 3)\n"
    "   --json                    print JSON\n"
    "\n"
    "A suspect generation stands until a person accepts it. While it stands no older\n"
    "generation is pruned or retired on any medium, and every later backup is judged suspect\n"
    "too. The acceptance is a record on the medium signed with the master signing key\n"
    "(<repo>/guard/<generation ID>) and an event in the audit logs. A host credential\n"
    "(format 3) has no signing key and cannot accept; on format 2 the key slot that the\n"
    "passphrase of the configuration's [service] passphrase_file opens is refused.\n"
    "exit status: 0 accepted / no suspect stands, 1 failed (not suspect, accepted already),\n"
    "2 usage error, 3 an acceptance record does not verify (tampering), 4 a suspect\n"
    "generation stands (list; accept: written, but another one still stands on this medium\n"
    "or in this host's list), 5 refused by a safety rule (host credential, unattended slot)\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY | CMD_WRITES_REPO,
    run_guard,
};
