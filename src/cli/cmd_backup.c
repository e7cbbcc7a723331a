/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori backup: write a new generation of the given folders into a repository. The
 * SS-MIX2 standardized storages found at or below the folders (mm_ssmix2_detect, by the
 * layout's signature) get one patient index stored with the generation (with the extended
 * storage beside each), so the viewer opens a patient without reading the storage. The index
 * is kept between runs in the host's cache folder and, for one storage, brought up to date
 * only for the patients whose folders changed. A generation whose SS-MIX2 data yields no index, or
 * an index that lost patients, is written but marked (mm_repo_attention_judge), reported on stderr
 * and ends with exit status 4, as does a backup that stored a file still changing at its last
 * read (unstable: counted and named, redacted, on stderr and in --json). An earlier backup or
 * prune found killed is recorded in the audit logs and said on stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/backup.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "repo/repo.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_head.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cli_verdict.h"
#include "src/cli/cmd.h"
#include "ssmix2/ssmix2.h"

/* ---- backup ------------------------------------------------------------------------------ */

/* Say on stderr why generation @id needs attention (counts only, no patient data). */
static void attention_report(struct cli_ctx *ctx, const struct mm_backup_result *res)
{
    const char *id = res->id;
    uint32_t a = res->check.attention;

    if (a & MM_REPO_ATTN_NO_INDEX)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 要確認: 世代 %.12s は書き込みましたが、SS-MIX2 の患者索引がありません。"
                      "ビューアではこの世代の患者を開けません\n",
                      "mamori: needs attention: generation %.12s was written, but without a "
                      "patient index of its SS-MIX2 data; the viewer cannot open its patients\n"),
                id);
    if (a & MM_REPO_ATTN_FEW_PATIENTS)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 要確認: 世代 %.12s の患者索引は %llu 人で、前の世代の %u%% 未満です"
                      "（前の世代は %llu 人）。元のフォルダが欠けていないか確かめてください\n",
                      "mamori: needs attention: the patient index of generation %.12s holds %llu "
                      "patients, under %u%% of the previous generation's %llu; check that the "
                      "source folders are complete\n"),
                id, (unsigned long long)res->check.patients, MM_REPO_PATIENTS_MIN_PERCENT,
                (unsigned long long)res->check.parent_patients);
    if (a & MM_REPO_ATTN_NOT_INDEXED)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 要確認: 患者索引に入っていない SS-MIX2 ストレージが %zu 個あります"
                      "（指定したフォルダから 5 階層以上深い、または隣に標準化ストレージがない拡張"
                      "ストレージ）。データは保存されています\n",
                      "mamori: needs attention: %zu SS-MIX2 storages are not in the patient index "
                      "(more than 4 levels below the folder given, or an extended storage with no "
                      "standardized storage beside it); their files are backed up\n"),
                res->not_indexed);
}

/* The exit status 4 line, after the reasons. */
static void attention_exit_line(struct cli_ctx *ctx)
{
    fprintf(stderr, "%s",
            CLI_T(ctx,
                  "mamori: 終了コード 4: データは保存されましたが確認が必要です"
                  "（docs/operations.md「終了コード 4」）\n",
                  "mamori: exit status 4: the data are stored but need attention (docs/"
                  "operations.md, \"exit status 4\")\n"));
}

/* Say on stderr which files kept changing while read (count, redacted paths). */
static void unstable_report(struct cli_ctx *ctx, const struct mm_backup_result *res,
                            const struct cli_problems *u)
{
    fprintf(stderr,
            CLI_T(ctx,
                  "mamori: 要確認: %llu 件のファイルが読んでいる間に %d 回とも変わりました。"
                  "最後に読んだ内容を保存し、世代 %.12s に「不安定」と記録しました"
                  "（次のバックアップで読み直します）\n",
                  "mamori: needs attention: %llu files changed during each of %d reads; the "
                  "last read is stored and marked unstable in generation %.12s (the next "
                  "backup reads them again)\n"),
            (unsigned long long)res->unstable.unstable, MM_REPO_READ_TRIES, res->id);
    for (size_t i = 0; i < u->n; i++)
        fprintf(stderr, CLI_T(ctx, "mamori:   不安定: %s\n", "mamori:   unstable: %s\n"),
                u->v[i].path);
    if (u->count > u->n)
        fprintf(stderr, CLI_T(ctx, "mamori:   ほか %llu 件\n", "mamori:   and %llu more\n"),
                (unsigned long long)(u->count - u->n));
}

/* What the backup's callbacks share (their arg): cli_run first, as cli_progress_cb and
 * cli_problem_cb want it. */
struct backup_cli {
    struct cli_run run;
    struct cli_ctx *ctx;
    const char *repo, *user, *passfile;
    const char *medium, *hospital;    /* the medium wanted (mamori media), NULL for any */
    const char *credential, *catalog; /* a host's backup: its credential and catalog folder */
    struct cli_problems unstable;     /* files stored unstable (redacted paths) */
    int open_rc;
};

/* mm_repo_problem_fn: a file stored unstable. */
static void unstable_cb(const char *gen, const char *path, const char *what, void *arg)
{
    cli_problems_add(&((struct backup_cli *)arg)->unstable, gen, path, what);
}

/* mm_backup_open_fn: the passphrase, the repository (printing what went wrong). */
static int open_cb(void *arg, mm_repo **out)
{
    struct backup_cli *b = arg;

    if (b->credential) { /* no passphrase: the host credential writes, it opens nothing */
        int err = mm_repo_open_host(out, b->repo, b->credential);
        b->open_rc = err < 0 ? cli_repo_error(b->ctx, err) : CLI_OK;
    } else {
        b->open_rc = cli_repo_open(b->ctx, b->repo, b->user, b->passfile, out);
    }
    if (b->open_rc != CLI_OK)
        return 1;
    /* the medium wanted, checked before anything is written (not even the lock file) */
    b->open_rc = cli_media_check(b->ctx, *out, b->medium, b->hospital);
    if (b->open_rc != CLI_OK) {
        mm_repo_free(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

/* mm_backup_note_fn: what the library says during the backup, on stderr. */
static void note_cb(const struct mm_backup_note *n, void *arg)
{
    struct backup_cli *b = arg;
    struct cli_ctx *ctx = b->ctx;

    switch (n->kind) {
    case MM_BACKUP_NOTE_DETECT_UNREADABLE:
        if (!ctx->quiet)
            fprintf(stderr,
                    CLI_T(ctx,
                          "mamori: SS-MIX2 ストレージを探す途中で %zu 個のフォルダが読めませんでした\n",
                          "mamori: %zu folders could not be read while looking for SS-MIX2 "
                          "storages\n"),
                    (size_t)n->count);
        break;
    case MM_BACKUP_NOTE_STALE_LOCKS:
        if (!ctx->quiet)
            fprintf(stderr,
                    CLI_T(ctx, "mamori: 終了したプロセスの古いロックを %u 個外しました\n",
                          "mamori: removed %u stale locks of processes that are gone\n"),
                    (unsigned int)n->count);
        break;
    case MM_BACKUP_NOTE_INDEX_FAILED:
        fprintf(stderr,
                CLI_T(ctx, "mamori: 患者索引を作れませんでした: %s\n",
                      "mamori: the patient index could not be built: %s\n"),
                n->message);
        break;
    case MM_BACKUP_NOTE_INDEX_CACHE:
        if (n->count && !ctx->quiet)
            fprintf(stderr, "%s",
                    CLI_T(ctx,
                          "mamori: 患者索引のキャッシュが前の世代と合わないため、前の世代の索引を媒体から読みました（変わった患者だけ更新します）\n",
                          "mamori: the patient index cache does not match the parent generation: "
                          "its index was read from the repository (only changed patients are "
                          "updated)\n"));
        else if (!n->count)
            fprintf(stderr,
                    CLI_T(ctx,
                          "mamori: 患者索引のキャッシュが前の世代と合わず、前の世代の索引も使えません（%s）: 全ファイルから作り直します\n",
                          "mamori: the patient index cache does not match the parent generation, "
                          "whose stored index cannot be used (%s): it is built from every file\n"),
                    n->message);
        break;
    case MM_BACKUP_NOTE_INDEX_UNREADABLE:
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 患者索引: %zu 件のファイルが読めませんでした（データ自体はバックアップされます）\n",
                      "mamori: patient index: %zu files could not be read (their data is still backed up)\n"),
                (size_t)n->count);
        break;
    case MM_BACKUP_NOTE_WALK:
        cli_progress_start(&b->run.prog, ctx, CLI_T(ctx, "バックアップ中", "backing up"));
        break;
    case MM_BACKUP_NOTE_WRITTEN:
        cli_progress_end(&b->run.prog);
        break;
    case MM_BACKUP_NOTE_AUDIT:
        cli_audit_report(ctx, n->audit);
        break;
    case MM_BACKUP_NOTE_INTERRUPTED:
        cli_audit_interrupted_say(ctx, n->interrupted, n->count != 0, n->audit);
        break;
    case MM_BACKUP_NOTE_VIEWER:
        cli_error(CLI_T(ctx, "媒体のビューアを更新できませんでした: %s",
                        "the viewer on the medium could not be updated: %s"),
                  n->message);
        break;
    case MM_BACKUP_NOTE_NO_WINDOWS:
        cli_windows_missing_say(ctx);
        break;
    case MM_BACKUP_NOTE_GUARD:
        cli_error(n->count ? CLI_T(ctx, "ガードの記録を書けませんでした: %s",
                                   "the guard's record could not be written: %s")
                           : CLI_T(ctx, "ガードのフォルダを読めません（既定の閾値で判定）: %s",
                                   "the guard folder cannot be read (judged with built-in "
                                   "thresholds): %s"),
                  n->message);
        break;
    }
}

/* A host's backup: what its catalog did, on stderr (counts only). */
static void catalog_report(struct cli_ctx *ctx, const struct mm_repo_catalog_report *c)
{
    if (c->lost && !ctx->quiet)
        fprintf(stderr, "%s",
                CLI_T(ctx,
                      "mamori: ホストのカタログがありません（初回か、失われたか壊れていた）: "
                      "すべてのデータを保存し直しました\n",
                      "mamori: no host catalog (first run, lost or damaged): every object was "
                      "stored again\n"));
    if (c->dropped_packs)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: カタログにあるパック %llu 個が媒体にないか大きさが違うため外し、"
                      "その中身を保存し直しました\n",
                      "mamori: %llu packs the catalog names are missing on the medium or of "
                      "another size: dropped, their objects stored again\n"),
                (unsigned long long)c->dropped_packs);
    if (c->used && !c->saved)
        fprintf(stderr, "%s",
                CLI_T(ctx,
                      "mamori: 警告: ホストのカタログを更新できませんでした（世代は書き込み済み。"
                      "次回は多めに保存します）\n",
                      "mamori: warning: the host catalog could not be updated (the generation "
                      "is written; the next backup stores more)\n"));
}

/* A backup refused because the repository head shows lost evidence. @return CLI_DAMAGE */
static int evidence_refused(struct cli_ctx *ctx, const struct mm_backup_result *res)
{
    cli_head_print(ctx, &res->head, stderr, NULL);
    cli_error("%s",
              CLI_T(ctx,
                    "何も書き込んでいません: 媒体から記録が消えています（上記）。新しい監査ログを"
                    "黙って始めることはしません。担当者が mamori verify で確かめ、原因（盗難・"
                    "改ざん・古い写しの差し戻し）を調べたうえで、失われたことを認めて続けるなら "
                    "--accept-loss を付けて実行してください（docs/operations.md 7）",
                    "nothing was written: records are missing from the medium (above), and a new "
                    "audit log is not begun silently. A person checks with mamori verify, finds "
                    "out why (theft, tampering, an old copy put back), and to accept the loss "
                    "and go on runs the backup again with --accept-loss (docs/operations.md 7)"));
    return CLI_DAMAGE;
}

/* Print why a backup wrote nothing. @return the exit status */
static int backup_failed(struct cli_ctx *ctx, const struct backup_cli *b,
                         const struct mm_backup_opts *o, const struct mm_backup_result *res)
{
    switch (res->failure) {
    case MM_BACKUP_FAIL_SOURCE:
        cli_error(CLI_T(ctx, "'%s' はフォルダではありません", "'%s' is not a folder"),
                  res->bad_source < o->nsources ? o->sources[res->bad_source] : "");
        return CLI_ERROR;
    case MM_BACKUP_FAIL_DETECT:
        return cli_lib_error(res->err);
    case MM_BACKUP_FAIL_STORAGE_PATH:
        cli_error("%s", CLI_T(ctx, "ストレージのパスが長すぎます", "storage path too long"));
        return CLI_ERROR;
    case MM_BACKUP_FAIL_OPEN:
        return b->open_rc != CLI_OK ? b->open_rc : CLI_ERROR;
    case MM_BACKUP_FAIL_CACHE_PATH:
        cli_error("%s", CLI_T(ctx, "キャッシュフォルダのパスが長すぎます", "cache path too long"));
        return CLI_ERROR;
    case MM_BACKUP_FAIL_NOMEM:
        cli_error("%s", CLI_T(ctx, "メモリが足りません", "out of memory"));
        return CLI_ERROR;
    default: /* the lock, the backup */
        return cli_repo_error(ctx, res->err);
    }
}

static void print_json(const struct cli_ctx *ctx, const struct mm_backup_opts *o,
                       const struct mm_backup_result *res, const struct cli_problems *probs,
                       const struct cli_problems *unstable)
{
    const struct mm_repo_counts *c = &res->counts;
    const struct mm_ssmix2_detection *found = &res->storages;

    printf("{\"id\":\"%s\",\"files\":%llu,\"dirs\":%llu,\"symlinks\":%llu,\"skipped\":%llu,"
           "\"bytes\":%llu,\"files_read\":%llu,\"files_unchanged\":%llu,\"objects_new\":%llu,"
           "\"bytes_new\":%llu,\"bytes_stored\":%llu,\"duration_s\":%.3f,\"sources\":[",
           res->id, (unsigned long long)c->files, (unsigned long long)c->dirs,
           (unsigned long long)c->symlinks, (unsigned long long)c->skipped,
           (unsigned long long)c->bytes, (unsigned long long)c->files_read,
           (unsigned long long)c->files_unchanged, (unsigned long long)c->objects_new,
           (unsigned long long)c->bytes_new, (unsigned long long)c->bytes_stored, res->duration_s);
    for (size_t i = 0; i < o->nsources; i++) {
        printf(i ? ",{\"path\":" : "{\"path\":");
        cli_json_str(stdout, o->sources[i], strlen(o->sources[i]));
        printf(",\"kind\":\"%s\"}", mm_backup_kind_name(res->kinds[i]));
    }
    printf("],\"storages\":[");
    for (size_t i = 0; i < found->n; i++) {
        printf(i ? ",{\"path\":" : "{\"path\":");
        cli_json_str(stdout, found->v[i].path, strlen(found->v[i].path));
        printf(",\"kind\":\"%s\",\"indexed\":%s}",
               found->v[i].kind == MM_SSMIX2_STORAGE_STANDARD ? "ssmix2-standard"
                                                              : "ssmix2-extended",
               mm_backup_storage_indexed(res, i) ? "true" : "false");
    }
    printf("],\"patient_index\":%s,\"patients\":", res->index_stored ? "true" : "false");
    if (res->checked)
        printf("%llu", (unsigned long long)res->check.patients);
    else
        printf("null");
    printf(",\"attention\":");
    cli_attention_json(stdout, res->checked ? res->check.attention : 0);
    printf(",\"problems\":");
    cli_problems_json(stdout, probs);
    printf(",\"files_reread\":%llu,\"files_unstable\":%llu,\"unstable\":",
           (unsigned long long)res->unstable.reread, (unsigned long long)res->unstable.unstable);
    cli_problems_json(stdout, unstable);
    putchar(',');
    cli_verdict_json(ctx, stdout, res->guard, res->guard_reasons);
    printf(",\"guard_recorded\":%s}\n", res->guard_recorded ? "true" : "false");
}

static void print_text(struct cli_ctx *ctx, const struct mm_backup_opts *o,
                       const struct mm_backup_result *res)
{
    const struct mm_repo_counts *c = &res->counts;
    const struct mm_ssmix2_detection *found = &res->storages;
    char b1[32], b2[32], b3[32];

    printf(CLI_T(ctx, "世代 %s を作成しました\n", "generation %s created\n"), res->id);
    printf(CLI_T(ctx, "  ファイル %llu（読んだもの %llu、変更なし %llu）、フォルダ %llu、合計 %s\n",
                 "  %llu files (%llu read, %llu unchanged), %llu folders, %s in total\n"),
           (unsigned long long)c->files, (unsigned long long)c->files_read,
           (unsigned long long)c->files_unchanged, (unsigned long long)c->dirs,
           cli_bytes(c->bytes, b1));
    printf(CLI_T(ctx, "  新しいデータ %s → 媒体に %s、%.1f 秒%s\n",
                 "  new data %s -> %s on the medium, %.1f s%s\n"),
           cli_bytes(c->bytes_new, b2), cli_bytes(c->bytes_stored, b3), res->duration_s,
           res->index_stored ? CLI_T(ctx, "、患者索引つき", ", with the patient index") : "");
    printf("  %s: %s%s\n", CLI_T(ctx, "ガード判定", "guard"), cli_verdict_word(ctx, res->guard),
           o->no_guard ? " (--no-guard)" : "");
    if (res->unstable.reread)
        printf(CLI_T(ctx,
                     "  読んでいる間に変わったファイル %llu（読み直して変わらない内容を保存）\n",
                     "  %llu files changed while read (read again, stored as they settled)\n"),
               (unsigned long long)res->unstable.reread);
    for (size_t i = 0; i < found->n; i++)
        if (found->v[i].depth > 0)
            printf(CLI_T(ctx, "  SS-MIX2 %s: %s%s\n", "  SS-MIX2 %s: %s%s\n"),
                   found->v[i].kind == MM_SSMIX2_STORAGE_STANDARD
                           ? CLI_T(ctx, "標準化ストレージ", "standardized storage")
                           : CLI_T(ctx, "拡張ストレージ", "extended storage"),
                   cli_esc(found->v[i].path),
                   mm_backup_storage_indexed(res, i) ? CLI_T(ctx, "（索引あり）", " (indexed)")
                                                     : "");
}

/* The options of the backup itself (after the repository options). @return CLI_OK or usage */
static int backup_args(struct cli_ctx *ctx, int argc, char **argv, struct backup_cli *b,
                       struct mm_backup_opts *o, const char **cache)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },
        { "cache", required_argument, NULL, 'c' },
        { "no-index", no_argument, NULL, 'N' },
        { "threads", required_argument, NULL, 't' },
        { "medium", required_argument, NULL, 'm' },
        { "hospital", required_argument, NULL, 'H' },
        { "credential", required_argument, NULL, 'C' },
        { "catalog", required_argument, NULL, 'K' },
        { "accept-loss", no_argument, NULL, 'L' },
        { "no-guard", no_argument, NULL, 'G' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    int opt;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &b->repo, &b->user, &b->passfile))
            continue;
        switch (opt) {
        case 'n':
            o->name = optarg;
            break;
        case 'c':
            *cache = optarg;
            break;
        case 'N':
            o->no_index = 1;
            break;
        case 'm':
            b->medium = optarg;
            break;
        case 'H':
            b->hospital = optarg;
            break;
        case 'C':
            b->credential = optarg;
            break;
        case 'K':
            b->catalog = optarg;
            break;
        case 'L':
            o->accept_loss = 1;
            break;
        case 'G':
            o->no_guard = 1;
            break;
        case 't': {
            char *end;
            unsigned long threads = strtoul(optarg, &end, 10);
            if (*end || threads < 1 || threads > 64)
                return cli_usage(ctx, &cmd_backup,
                                 CLI_T(ctx, "--threads は 1〜64 です", "--threads takes 1 to 64"));
            o->threads = (unsigned int)threads;
            break;
        }
        default:
            return cli_option_error(ctx, &cmd_backup, opt, argv);
        }
    }
    if (!b->repo || !*b->repo)
        return cli_usage(ctx, &cmd_backup,
                         CLI_T(ctx, "--repo を指定してください", "--repo is required"));
    if (!b->credential != !b->catalog)
        return cli_usage(ctx, &cmd_backup,
                         CLI_T(ctx, "--credential と --catalog は一緒に指定してください",
                               "--credential and --catalog go together"));
    if (optind >= argc)
        return cli_usage(ctx, &cmd_backup,
                         CLI_T(ctx, "バックアップするフォルダを指定してください",
                               "give the folders to back up"));
    if (argc - optind > MM_BACKUP_SOURCES_MAX)
        return cli_usage(ctx, &cmd_backup, CLI_T(ctx, "フォルダが多すぎます", "too many folders"));
    o->sources = (const char *const *)argv + optind;
    o->nsources = (size_t)(argc - optind);
    return CLI_OK;
}

static int run_backup(struct cli_ctx *ctx, int argc, char **argv)
{
    struct backup_cli b;
    struct mm_backup_opts o = { 0 };
    struct mm_backup_result res;
    const char *cache = NULL;
    char cbuf[8192], abuf[4096];
    int rc;

    memset(&b, 0, sizeof(b));
    memset(&res, 0, sizeof(res));
    b.ctx = ctx;
    b.repo = ctx->repo;
    if ((rc = backup_args(ctx, argc, argv, &b, &o, &cache)) != CLI_OK)
        return rc;
    o.repo_path = b.repo;
    o.open = open_cb;
    o.catalog_dir = b.catalog;
    o.cache_root = cli_cache_root(cache, cbuf, sizeof(cbuf));
    o.audit_host_dir = cli_audit_dir_or_null(ctx, abuf, sizeof(abuf));
    o.medium_viewer = cli_viewer_copy_wanted();
    o.windows_exe = cli_windows_exe();
    { /* tests only: train the compression dictionary from fewer small files (default 2000) */
        const char *ds = getenv("MAMORI_DICT_SAMPLES");
        char *end;
        unsigned long v = ds ? strtoul(ds, &end, 10) : 0;
        if (ds && *ds && !*end && v >= 10 && v <= 100000)
            o.dict_samples = (unsigned int)v;
    }
    o.progress = cli_progress_cb;
    o.problem = cli_problem_cb;
    o.unstable = unstable_cb;
    o.note = note_cb;
    o.arg = &b; /* starts with its cli_run, as the callbacks want */
    mm_backup_run(&o, &res);
    cli_progress_end(&b.run.prog);
    if (res.failure == MM_BACKUP_FAIL_EVIDENCE) {
        rc = evidence_refused(ctx, &res);
        goto out;
    }
    if (res.failure != MM_BACKUP_FAIL_NONE) {
        rc = backup_failed(ctx, &b, &o, &res);
        goto out;
    }
    if (res.evidence) { /* recorded in the audit log; the exit status says a person is needed */
        fflush(stdout);
        cli_head_print(ctx, &res.head, stderr, res.repo ? mm_repo_id(res.repo) : NULL);
        cli_error(CLI_T(ctx,
                        "この記録の欠落を監査ログに残しました（evidence-lost）%s。"
                        "docs/operations.md 7 を見てください",
                        "what is missing was recorded in the audit log (evidence-lost)%s; see "
                        "docs/operations.md 7"),
                  o.accept_loss ? CLI_T(ctx, "。--accept-loss により欠落を認めました",
                                        ", and accepted (--accept-loss)")
                                : "");
    }
    if (ctx->json) {
        print_json(ctx, &o, &res, &b.run.probs, &b.unstable);
    } else {
        if (!ctx->quiet)
            print_text(ctx, &o, &res);
        cli_problems_print(ctx, &b.run.probs);
    }
    if (b.credential)
        catalog_report(ctx, &res.catalog);
    if (res.checked && res.check.attention)
        attention_report(ctx, &res);
    if (res.unstable.unstable)
        unstable_report(ctx, &res, &b.unstable);
    if (strcmp(res.guard, "suspect") == 0)
        cli_verdict_suspect(ctx, stderr, res.id, b.repo, res.guard_reasons);
    if ((res.checked && res.check.attention) || res.unstable.unstable ||
        strcmp(res.guard, "suspect") == 0)
        attention_exit_line(ctx);
    if (res.counts.skipped && b.run.probs.count) {
        cli_error(CLI_T(ctx, "%llu 件のファイルかフォルダが読めず、この世代に入っていません",
                        "%llu files or folders could not be read and are not in this generation"),
                  (unsigned long long)b.run.probs.count);
        rc = CLI_ERROR;
    } else {
        rc = res.exit == MM_BACKUP_EXIT_ATTENTION ? CLI_ATTENTION : CLI_OK;
    }
out:
    mm_backup_result_release(&res);
    cli_problems_free(&b.run.probs);
    cli_problems_free(&b.unstable);
    return rc;
}

const struct cmd cmd_backup = {
    "backup",
    "backup --repo <DIR> [--name <NAME>] [--medium <LABEL>] [--hospital <ID>] [--no-guard] "
    "<FOLDER>...",
    "フォルダを新しい世代としてリポジトリにバックアップする",
    "back up folders into the repository as a new generation",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ\n"
    "   --name <NAME>             世代に付ける名前\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --cache <DIR>             患者索引のキャッシュフォルダ（既定 ~/.cache/mamori）\n"
    "   --no-index                患者索引を作らない\n"
    "   --medium <LABEL>          この媒体でなければ何も書かずに止まる（mamori media）\n"
    "   --hospital <ID>           この病院の媒体でなければ何も書かずに止まる\n"
    "   --threads <N>             作業スレッド数（既定: CPU 数の2倍）\n"
    "   --credential <FILE>       ホスト資格情報で書く（パスフレーズ不要、形式 3、host enroll）\n"
    "   --catalog <DIR>           ホストのカタログフォルダ（--credential と一緒に。例\n"
    "                             /var/lib/mamori/catalog）\n"
    "   --accept-loss             リポジトリヘッドが示す欠落（消えた監査ログ・世代、巻き戻し）を\n"
    "                             確認済みとして認め、監査ログに記録して続ける\n"
    "   --no-guard                ガード（ランサムウェア検知）で判定しない（性能測定・調査用。\n"
    "                             世代には \"none\" と記録）\n"
    "   --json                    結果を JSON で出す\n"
    "\n"
    "前の世代から大きさ・更新時刻・変更時刻・inode が変わらないファイルは読み直しません。\n"
    "SS-MIX2 標準化ストレージには患者索引（ビューア用）を暗号化して一緒に保存します。\n"
    "保存元のフォルダとその 4 階層下までから、SS-MIX2 の標準化ストレージと拡張ストレージを\n"
    "フォルダ名によらず構造で探して索引にします。\n"
    "ガードは変更の内容（変更・削除・追加の割合、SS-MIX2 ファイルの書き換え、身代金メモ、\n"
    "暗号化の兆候など）を判定し、要注意なら世代を証拠として書いたうえで終了コード 4 にします\n"
    "（ガードの記録は ~/.cache/mamori/guard、docs/guard.md）。\n"
    "終了コード: 0 成功、1 失敗または読めないファイルがあった、2 使い方の誤り、\n"
    "3 何も書いていない: 監査ログが消えた・切り詰められた、または巻き戻された媒体\n"
    "（--accept-loss で認めるまで）、\n"
    "4 世代は書き込んだが要確認（SS-MIX2 なのに患者索引がない、患者が前の世代の 90% 未満、\n"
    "リポジトリヘッドにある世代が消えている、ガードの判定が要注意 など）\n",
    "options:\n"
    "   --repo <DIR>              the repository\n"
    "   --name <NAME>             a name for the generation\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --cache <DIR>             cache folder of the patient index (default ~/.cache/mamori)\n"
    "   --no-index                do not build the patient index\n"
    "   --medium <LABEL>          refuse, writing nothing, unless this is that medium\n"
    "   --hospital <ID>           refuse, writing nothing, unless it is this hospital's\n"
    "   --threads <N>             worker threads (default: twice the CPUs)\n"
    "   --credential <FILE>       write with a host credential (no passphrase; format 3,\n"
    "                             host enroll)\n"
    "   --catalog <DIR>           the host's catalog folder (with --credential; e.g.\n"
    "                             /var/lib/mamori/catalog)\n"
    "   --accept-loss             accept what the repository head shows is lost (a deleted\n"
    "                             audit log or generation, a rollback): recorded, then go on\n"
    "   --no-guard                do not judge the change set (the ransomware guard): for\n"
    "                             benchmarks and diagnosis; recorded as \"none\"\n"
    "   --json                    print the result as JSON\n"
    "\n"
    "Files whose size, mtime, ctime and inode did not change since the last generation are not\n"
    "read again. An SS-MIX2 standardized storage gets its patient index (for the viewer)\n"
    "stored with the generation, encrypted.\n"
    "SS-MIX2 standardized and extended storages are found by their layout, whatever the\n"
    "folders are called, in the given folders and up to 4 levels below them.\n"
    "The guard judges the change set (shares modified, deleted and added, SS-MIX2 files\n"
    "rewritten, ransom notes, signs of encryption, ...); a suspect one is written, as\n"
    "evidence, and ends with exit status 4 (its records: ~/.cache/mamori/guard; docs/guard.md).\n"
    "exit status: 0 done, 1 failed or some files could not be read, 2 usage error,\n"
    "3 nothing written: the audit log was deleted or cut, or the medium was rolled back\n"
    "(until --accept-loss), 4 written but needs attention (SS-MIX2 data without a patient\n"
    "index, fewer than 90% of the previous generation's patients, a generation the\n"
    "repository head lists is gone, a suspect guard verdict, ...)\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY | CMD_WRITES_REPO,
    run_backup,
};
