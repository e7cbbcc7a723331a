/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori verify: check a repository's structure, and with --read-data every byte of it;
 * damage is reported naming the generations and files affected, exit status 3.
 * The viewer's files on the medium (bin/, launcher, guide) are hashed and compared with the
 * newest generation's list (manifest tag 17): a difference is damage too (a program the
 * reading PC would run, changed since the backup). --viewer-hashes prints only that list, in
 * sha256sum's format, to compare with another medium or with paper.
 * mamori prune: remove generations a keep policy does not keep, and the data only they used.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "repo/repo.h"
#include "repo/repo_backend.h"
#ifdef MM_HAVE_S3
#include "repo/repo_s3.h"
#endif
#include "src/cli/cli_audit.h"
#include "src/cli/cli_head.h"
#include "src/cli/cli_repo.h"

#define AGAINST_MAX 8 /* --against: other media of the set compared at once */
#include "src/cli/cmd.h"

/* The viewer check's result: text lines and a JSON array, printed after the repository's. */
struct vcheck {
    const struct cli_ctx *ctx;
    mm_buf text, json;
    size_t n, bad;
    int recorded, no_bin;
    char gen[MM_CRYPTO_HEX_SIZE];
};

static void hex256(const unsigned char h[MM_REPO_SHA256_SIZE], char out[65])
{
    for (size_t i = 0; i < MM_REPO_SHA256_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* mm_repo_viewer_fn: one file's line and JSON object. */
static void on_viewer(const struct mm_repo_viewer_file *want, enum mm_repo_viewer_state st,
                      uint64_t size, const unsigned char h[MM_REPO_SHA256_SIZE], void *arg)
{
    static const char *const ja[] = { "OK      ", "不一致  ", "なし    ", "読めない" };
    static const char *const en[] = { "OK      ", "CHANGED ", "MISSING ", "UNREADABLE" };
    static const char *const js[] = { "ok", "changed", "missing", "unreadable" };
    struct vcheck *v = arg;
    char have[65], rec[65];

    (void)size;
    hex256(want->sha256, rec);
    if (st == MM_REPO_VIEWER_OK || st == MM_REPO_VIEWER_CHANGED)
        hex256(h, have);
    else
        snprintf(have, sizeof(have), "%-64s", "-");
    if (st != MM_REPO_VIEWER_OK || !v->ctx->quiet) {
        mm_buf_printf(&v->text, "  %s %s  %s", CLI_T(v->ctx, ja[st], en[st]), have, want->path);
        if (st == MM_REPO_VIEWER_CHANGED)
            mm_buf_printf(&v->text, CLI_T(v->ctx, "（記録: %s）", " (recorded: %s)"), rec);
        mm_buf_puts(&v->text, "\n");
    }
    mm_buf_puts(&v->json, v->n ? ",{\"path\":" : "{\"path\":");
    mm_json_str(&v->json, want->path);
    mm_buf_printf(&v->json, ",\"size\":%llu,\"sha256\":\"%s\",\"state\":\"%s\"}",
                  (unsigned long long)want->size, rec, js[st]);
    v->n++;
}

/* Check the viewer's files against the newest generation's list (a medium only: an object
 * store holds no viewer). @return 0 or an mm_err */
static int check_viewer(mm_repo *r, struct vcheck *v)
{
    struct mm_repo_gen g;
    int err;

    if (!mm_repo_be_local_path(mm_repo_backend(r)))
        return 0;
    if ((err = mm_repo_gen_find(r, "latest", &g)) < 0) {
        mm_error_clear();
        return err == MM_ENOTFOUND || err == MM_ECORRUPT ? 0 : err; /* reported by verify */
    }
    snprintf(v->gen, sizeof(v->gen), "%s", g.id);
    if (g.viewer) {
        v->recorded = 1;
        v->no_bin = (g.viewer->flags & MM_REPO_VIEWER_NO_BIN) != 0;
        err = mm_repo_viewer_check(r, g.viewer, on_viewer, v, &v->bad);
    }
    mm_repo_gen_release(&g);
    return err;
}

/* Print the viewer check (text), after the repository's problems. */
static void print_viewer(const struct cli_ctx *ctx, const struct vcheck *v)
{
    if (!v->gen[0])
        return;
    if (!v->recorded) {
        if (!ctx->quiet)
            printf(CLI_T(ctx,
                         "ビューアのファイル: 最新の世代 %.12s には記録がありません（以前の "
                         "mamori のバックアップ）\n",
                         "viewer files: the newest generation %.12s has no record of them (a "
                         "backup by an older mamori)\n"),
                   v->gen);
        return;
    }
    if (!ctx->quiet || v->bad)
        printf(CLI_T(ctx, "ビューアのファイル（最新の世代 %.12s の記録と照合、SHA-256）:\n",
                     "viewer files (against the newest generation %.12s's record, SHA-256):\n"),
               v->gen);
    if (v->text.len)
        fwrite(v->text.ptr, 1, v->text.len, stdout);
    if (v->no_bin && !ctx->quiet)
        printf("%s\n", CLI_T(ctx,
                             "  bin/ は記録されていません（その世代のバックアップは bin/ "
                             "を書き換えていません: MAMORI_VIEWER_COPY=0）",
                             "  bin/ is not recorded (that generation's backup left bin/ "
                             "alone: MAMORI_VIEWER_COPY=0)"));
}

/* --viewer-hashes --json: {"generation","bin_recorded","files":[{"path","size","sha256"}]}. */
static void print_hashes_json(const struct mm_repo_gen *g)
{
    mm_buf b;

    mm_buf_init(&b, 1u << 20);
    mm_buf_printf(&b, "{\"generation\":\"%s\",\"bin_recorded\":%s,\"files\":[", g->id,
                  g->viewer->flags & MM_REPO_VIEWER_NO_BIN ? "false" : "true");
    for (size_t i = 0; i < g->viewer->n; i++) {
        char h[65];
        hex256(g->viewer->files[i].sha256, h);
        mm_buf_puts(&b, i ? ",{\"path\":" : "{\"path\":");
        mm_json_str(&b, g->viewer->files[i].path);
        mm_buf_printf(&b, ",\"size\":%llu,\"sha256\":\"%s\"}",
                      (unsigned long long)g->viewer->files[i].size, h);
    }
    mm_buf_puts(&b, "]}\n");
    fwrite(b.ptr, 1, b.len, stdout);
    mm_buf_release(&b);
}

/* --viewer-hashes: the newest generation's list in sha256sum's format. */
static int print_hashes(const struct cli_ctx *ctx, mm_repo *r)
{
    struct mm_repo_gen g;
    int err;

    if ((err = mm_repo_gen_find(r, "latest", &g)) < 0)
        return cli_lib_error(err);
    if (!g.viewer) {
        cli_error(CLI_T(ctx, "最新の世代 %.12s にはビューアのファイルの記録がありません",
                        "the newest generation %.12s has no record of the viewer's files"),
                  g.id);
        mm_repo_gen_release(&g);
        return CLI_ERROR;
    }
    if (ctx->json) {
        print_hashes_json(&g);
        mm_repo_gen_release(&g);
        return CLI_OK;
    }
    for (size_t i = 0; i < g.viewer->n; i++) {
        char h[65];
        hex256(g.viewer->files[i].sha256, h);
        printf("%s  %s\n", h, g.viewer->files[i].path);
    }
    if (!ctx->quiet)
        fprintf(stderr,
                CLI_T(ctx, "mamori: 世代 %.12s の記録%s\n",
                      "mamori: generation %.12s's record%s\n"),
                g.id,
                g.viewer->flags & MM_REPO_VIEWER_NO_BIN
                        ? CLI_T(ctx, "（bin/ は記録されていません）", " (bin/ is not recorded)")
                        : "");
    mm_repo_gen_release(&g);
    return CLI_OK;
}

/* Whether the store keeps what is written (an S3 bucket's Object Lock, proven now; a folder:
 * null). OUT: @imm 1 immutable, 0 not, -1 not applicable or the proof could not run. */
static void store_check(mm_repo *r, int *imm)
{
    *imm = -1;
#ifdef MM_HAVE_S3
    struct mm_repo_be *be = mm_repo_backend(r);
    if (mm_repo_be_is_s3_backend(be) && mm_repo_be_s3_proof(be) == 0)
        *imm = be->info.immutable;
    mm_error_clear();
#else
    (void)r;
#endif
}

/* The store's immutability in words: plainly "NOT immutable" when it is not. */
static void store_say(const struct cli_ctx *ctx, mm_repo *r, int imm)
{
    const struct mm_repo_be_info *i = &mm_repo_backend(r)->info;

    if (imm == 1 && !ctx->quiet)
        printf(CLI_T(ctx, "保存先: 変更不可（Object Lock を確認済み、%s、%u 日）\n",
                     "store: immutable (Object Lock proven, %s, %u days)\n"),
               i->lock_mode, i->retain_days);
    else if (imm == 0)
        cli_error(CLI_T(ctx,
                        "保存先は変更不可ではありません（削除・改ざんから守られていません）: %s",
                        "the store is NOT immutable (not protected from deletion or rewriting): "
                        "%s"),
                  i->why_not[0] ? i->why_not : "-");
}

/* The result as one JSON object. */
static void print_json(int read_data, const struct mm_repo_verify_stats *st,
                       const struct cli_run *run, const struct vcheck *vc, int damaged,
                       const struct mm_repo_head_report *head, mm_repo *r, int imm)
{
    const struct mm_repo_be_info *i = &mm_repo_backend(r)->info;

    printf("{\"read_data\":%s,\"generations\":%llu,\"trees\":%llu,\"packs\":%llu,"
           "\"objects\":%llu,\"bytes\":%llu,\"damaged_generations\":%llu,"
           "\"damaged_packs\":%llu,\"damaged_objects\":%llu,\"missing_objects\":%llu,"
           "\"damaged_files\":%llu,\"damaged_copies\":%llu,\"old_copies\":%llu,\"ok\":%s,"
           "\"problems\":",
           read_data ? "true" : "false", (unsigned long long)st->generations,
           (unsigned long long)st->trees, (unsigned long long)st->packs,
           (unsigned long long)st->objects, (unsigned long long)st->bytes,
           (unsigned long long)st->damaged_generations, (unsigned long long)st->damaged_packs,
           (unsigned long long)st->damaged_objects, (unsigned long long)st->missing_objects,
           (unsigned long long)st->damaged_files, (unsigned long long)st->damaged_copies,
           (unsigned long long)st->old_copies,
           damaged || vc->bad || mm_repo_head_report_bad(head) ? "false" : "true");
    cli_problems_json(stdout, &run->probs);
    printf(",\"store\":{\"scheme\":\"%s\",\"immutable\":%s", i->scheme,
           imm < 0 ? "null"
           : imm   ? "true"
                   : "false");
    if (imm == 0) {
        printf(",\"why_not\":");
        cli_json_str(stdout, i->why_not, strlen(i->why_not));
    } else if (imm == 1) {
        printf(",\"lock_mode\":\"%s\",\"retain_days\":%u", i->lock_mode, i->retain_days);
    }
    printf("},\"head\":");
    cli_head_json(head);
    if (vc->recorded)
        printf(",\"viewer\":{\"generation\":\"%s\",\"bin_recorded\":%s,\"changed\":%zu,"
               "\"files\":[%.*s]}}\n",
               vc->gen, vc->no_bin ? "false" : "true", vc->bad, (int)vc->json.len,
               vc->json.ptr ? vc->json.ptr : "");
    else
        printf(",\"viewer\":null}\n");
}

/* The result as text: problems, the viewer's files, the verdict. */
static void print_text(const struct cli_ctx *ctx, int read_data,
                       const struct mm_repo_verify_stats *st, const struct cli_run *run,
                       const struct vcheck *vc, int damaged)
{
    cli_problems_print(ctx, &run->probs);
    if (st->old_copies && !ctx->quiet)
        printf(CLI_T(ctx,
                     "情報: 重要な小さいファイル %llu 件に予備の写し（.2）がありません（以前の "
                     "mamori で作成）。次に鍵を使って書き込むとき（backup、key add）に作ります\n",
                     "information: %llu small critical files have no second copy (.2; made by an "
                     "older mamori): the next write with the key (backup, key add) adds them\n"),
               (unsigned long long)st->old_copies);
    print_viewer(ctx, vc);
    if (vc->bad)
        printf(CLI_T(ctx,
                     "損傷あり: ビューアのファイル %zu 件が最新の世代の記録と違います"
                     "（書き換えられた疑い。docs/operations.md 4a）\n",
                     "DAMAGE FOUND: %zu viewer files differ from the newest generation's "
                     "record (possibly tampered with; docs/operations.md 4a)\n"),
               vc->bad);
    if (damaged)
        printf(CLI_T(ctx,
                     "損傷あり: 世代 %llu/%llu、パック %llu、オブジェクト %llu、ファイル %llu\n",
                     "DAMAGE FOUND: %llu/%llu generations, %llu packs, %llu objects, %llu "
                     "files\n"),
               (unsigned long long)st->damaged_generations, (unsigned long long)st->generations,
               (unsigned long long)st->damaged_packs, (unsigned long long)st->damaged_objects,
               (unsigned long long)st->damaged_files);
    if (st->damaged_copies)
        printf(CLI_T(ctx, "損傷あり: 重要な小さいファイルの写し %llu 件（上の一覧）\n",
                     "DAMAGE FOUND: %llu copies of small critical files (listed above)\n"),
               (unsigned long long)st->damaged_copies);
    else if (!ctx->quiet && !vc->bad && !damaged)
        printf(CLI_T(ctx, "問題なし: 世代 %llu（パック %llu、オブジェクト %llu、%s）\n",
                     "no damage: %llu generations (%llu packs, %llu objects, %s)\n"),
               (unsigned long long)st->generations, (unsigned long long)st->packs,
               (unsigned long long)st->objects,
               read_data ? CLI_T(ctx, "全データを読んで確認", "all data read and checked")
                         : CLI_T(ctx, "構造のみ", "structure only"));
}

static int run_verify(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "read-data", no_argument, NULL, 'R' },
        { "viewer-hashes", no_argument, NULL, 'V' },
        { "against", required_argument, NULL, 'G' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *user = NULL, *passfile = NULL, *against[AGAINST_MAX];
    size_t nagainst = 0;
    struct mm_repo_head_report head = { 0 };
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats st;
    struct cli_run run;
    struct vcheck vc = { 0 };
    mm_repo *r = NULL;
    int opt, rc, err, damaged, hashes = 0, imm = -1;

    memset(&run, 0, sizeof(run));
    vc.ctx = ctx;
    mm_buf_init(&vc.text, 1u << 20);
    mm_buf_init(&vc.json, 1u << 20);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &repo, &user, &passfile))
            continue;
        switch (opt) {
        case 'R':
            vo.read_data = 1;
            break;
        case 'V':
            hashes = 1;
            break;
        case 'G':
            if (nagainst == AGAINST_MAX) {
                rc = cli_usage(
                        ctx, &cmd_verify,
                        CLI_T(ctx, "--against は %d 個までです", "--against at most %d times"),
                        AGAINST_MAX);
                goto out;
            }
            against[nagainst++] = optarg;
            break;
        default:
            rc = cli_option_error(ctx, &cmd_verify, opt, argv);
            goto out;
        }
    }
    if (optind != argc) {
        rc = cli_usage(ctx, &cmd_verify, CLI_T(ctx, "引数が多すぎます", "too many arguments"));
        goto out;
    }
    if ((rc = cli_repo_open(ctx, repo, user, passfile, &r)) != CLI_OK)
        goto out;
    if ((rc = cli_repo_lock_reader(ctx, r)) != CLI_OK)
        goto out;
    if (hashes) {
        rc = print_hashes(ctx, r);
        goto out;
    }
    if (nagainst) {
        rc = cli_head_against(ctx, r, repo, against, nagainst);
        goto out;
    }
    /* before verify's own event, which writes the audit log and a head */
    if ((rc = cli_head_check(ctx, r, &head)) != CLI_OK)
        goto out;
    cli_progress_start(&run.prog, ctx, CLI_T(ctx, "検証中", "verifying"));
    vo.progress = cli_progress_cb;
    vo.problem = cli_problem_cb;
    vo.ctx = &run;
    err = mm_repo_verify(r, &vo, &st);
    cli_progress_end(&run.prog);
    if (err == 0)
        err = check_viewer(r, &vc);
    cli_audit_verify(ctx, r, repo, err, vo.read_data, &st, run.probs.count + vc.bad);
    if (err < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    if (vo.read_data && !st.recorded && st.generations && !ctx->quiet)
        fprintf(stderr, "%s\n",
                CLI_T(ctx, "mamori: 媒体に書き込めないため、検証結果は記録されませんでした",
                      "mamori: the medium cannot be written: the result was not recorded"));
    damaged = st.damaged_generations || st.damaged_packs || st.damaged_objects ||
              st.damaged_files || st.damaged_copies || run.probs.count;
    store_check(r, &imm);
    if (ctx->json) {
        print_json(vo.read_data, &st, &run, &vc, damaged, &head, r, imm);
    } else {
        cli_head_print(ctx, &head, stdout, mm_repo_id(r));
        print_text(ctx, vo.read_data, &st, &run, &vc, damaged);
        store_say(ctx, r, imm);
    }
    /* a viewer file changed on the medium is damage: a program or guide not as backed up;
     * a generation or audit log the repository head lists and is gone, or a rollback, is
     * tampering */
    rc = damaged || vc.bad || mm_repo_head_report_bad(&head) ? CLI_DAMAGE : CLI_OK;
out:
    mm_repo_head_report_release(&head);
    cli_problems_free(&run.probs);
    mm_buf_release(&vc.text);
    mm_buf_release(&vc.json);
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_verify = {
    "verify",
    "verify --repo <DIR> [--read-data] [--viewer-hashes] [--json]",
    "リポジトリを検査する（--read-data で全データを復号して確認）",
    "check a repository (--read-data decrypts and checks every byte)",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ\n"
    "   --read-data               すべてのパックを読み、すべてのオブジェクトを復号・照合する\n"
    "   --viewer-hashes           ビューアのファイルの SHA-256 一覧（最新の世代の記録）だけを\n"
    "                             sha256sum の形式で表示する（別の媒体・紙の一覧と比べる）\n"
    "   --against <DIR>           同じセットの別の媒体とリポジトリヘッドを照合するだけ（互いに\n"
    "                             最後に見た番号より古ければ巻き戻し。繰り返し可、8 個まで）\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --json                    結果を JSON で出す\n"
    "\n"
    "損傷を見つけると、影響する世代とファイル（患者IDは伏せ字）を示します。\n"
    "媒体のビューアのファイル（bin/、mamori-view.sh、緊急時の使い方）は、最新の世代の記録と\n"
    "SHA-256 で照合し、違えば損傷（書き換えの疑い）とします。\n"
    "リポジトリヘッド（署名つきの目録）と照合し、削除された世代・消されたり切り詰められた\n"
    "監査ログ・この PC の控えより古いヘッド（巻き戻し）も損傷として報告します。\n"
    "終了コード: 0 問題なし、1 検査できなかった、2 使い方の誤り、3 損傷・削除・巻き戻しあり\n",
    "options:\n"
    "   --repo <DIR>              the repository\n"
    "   --read-data               read every pack, decrypt and check every object\n"
    "   --viewer-hashes           print only the SHA-256 list of the viewer's files (the newest\n"
    "                             generation's record) in sha256sum's format, to compare\n"
    "   --against <DIR>           only compare the repository heads with another medium of the\n"
    "                             set (older than what the other last saw: a rollback;\n"
    "                             repeatable, up to 8 times)\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --json                    print the result as JSON\n"
    "\n"
    "Damage is reported with the generations and files it affects (patient IDs hidden).\n"
    "The viewer's files on the medium (bin/, mamori-view.sh, the emergency guide) are compared\n"
    "with the newest generation's record by SHA-256; a difference is damage (tampering?).\n"
    "The repository head (a signed list of what it holds) is checked too: a deleted\n"
    "generation, a deleted or cut audit log, a head older than this host's copy (rollback).\n"
    "exit status: 0 no damage, 1 could not check, 2 usage error, 3 damage, deletion or\n"
    "rollback found\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY,
    run_verify,
};

/* ---- prune ---------------------------------------------------------------------------------- */
#ifndef _WIN32 /* the Windows build reads media: it never removes a generation */

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
    /* the lock first, naming the prune: a killed backup or prune before it is recorded
     * (a lock that cannot be taken: mm_repo_prune says why) */
    if (!dry && mm_repo_lock_for(r, MM_REPO_LOCK_EXCLUSIVE, "prune", NULL) == 0)
        cli_audit_interrupted(ctx, r, repo, "prune");
    mm_error_clear();
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
               "\"packs_rewritten\":%llu,\"bytes_freed\":%llu,\"retained_generations\":%llu,"
               "\"retained_files\":%llu}\n",
               dry ? "true" : "false", (unsigned long long)st.gens_kept,
               (unsigned long long)st.gens_removed, (unsigned long long)st.packs_removed,
               (unsigned long long)st.packs_rewritten, (unsigned long long)st.bytes_freed,
               (unsigned long long)st.gens_retained, (unsigned long long)st.files_retained);
    } else if (!ctx->quiet) {
        printf(dry ? CLI_T(ctx, "（試行）%llu 世代を残し %llu 世代を削除、約 %s 空く見込み\n",
                           "(dry run) would keep %llu and remove %llu generations, freeing about %s\n")
                   : CLI_T(ctx, "%llu 世代を残し %llu 世代を削除、%s 空きました\n",
                           "kept %llu and removed %llu generations, freed %s\n"),
               (unsigned long long)st.gens_kept, (unsigned long long)st.gens_removed,
               cli_bytes(st.bytes_freed, sz));
    }
    if (!ctx->json && (st.gens_retained || st.files_retained))
        printf(CLI_T(ctx,
                     "保存先の保持期限（Object Lock）中のため残したもの: 世代 %llu、ファイル %llu"
                     "（期限が過ぎた後の prune で削除されます）\n",
                     "kept because the store still retains them (Object Lock): %llu "
                     "generations, %llu files (a prune after their retention removes them)\n"),
               (unsigned long long)st.gens_retained, (unsigned long long)st.files_retained);
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
#endif /* !_WIN32 */
