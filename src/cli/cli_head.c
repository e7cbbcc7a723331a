/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The repository head on the command line (cli_head.h). Generation IDs, sequence numbers,
 * sizes and times only: a head holds no patient data.
 */
#include "src/cli/cli_head.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "common/error.h"
#include "src/cli/cli_audit.h"

/* "2026-12-07T02:00:00Z" */
static void utc(int64_t ns, char out[32])
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;

    if (!gmtime_r(&s, &tm))
        memset(&tm, 0, sizeof(tm));
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *cli_head_problem(const struct mm_repo_head_report *rep)
{
    return rep->rollback                           ? "rollback"
           : rep->forked                           ? "forked"
           : rep->audit_deleted                    ? "audit-log-deleted"
           : rep->audit_truncated                  ? "audit-log-truncated"
           : rep->audit_rolled                     ? "audit-log-rolled-back"
           : rep->nmissing                         ? "generation-deleted"
           : rep->copies.damaged && !rep->has_head ? "head-damaged"
           : rep->copies.damaged                   ? "head-copy-damaged"
           : !rep->has_head                        ? "no-head"
                                                   : "ok";
}

void cli_head_json(const struct mm_repo_head_report *rep)
{
    char hex[MM_CRYPTO_HEX_SIZE];

    printf("{\"problem\":\"%s\",\"seq\":%llu,\"host_seq\":%llu,\"audit_seq\":%llu,"
           "\"audit_seq_now\":%llu,\"missing\":[",
           cli_head_problem(rep), (unsigned long long)rep->seq, (unsigned long long)rep->host_seq,
           (unsigned long long)rep->audit_seq, (unsigned long long)rep->audit_seq_now);
    for (size_t i = 0; i < rep->nmissing; i++) {
        mm_crypto_hex(rep->missing[i], hex);
        printf("%s\"%s\"", i ? "," : "", hex);
    }
    printf("],\"unlisted\":[");
    for (size_t i = 0; i < rep->nunlisted; i++) {
        mm_crypto_hex(rep->unlisted[i], hex);
        printf("%s\"%s\"", i ? "," : "", hex);
    }
    printf("]}");
}

void cli_head_print_audit(const struct cli_ctx *ctx, const struct mm_repo_head_report *rep, FILE *f)
{
    if (rep->audit_deleted)
        fprintf(f,
                CLI_T(ctx,
                      "削除を検出: 媒体の監査ログがありません（リポジトリヘッドの記録では署名済みの"
                      "記録 %llu まであったログ）\n",
                      "DELETION FOUND: the medium's audit log is gone (the repository head records "
                      "a log signed up to record %llu)\n"),
                (unsigned long long)rep->audit_seq);
    else if (rep->audit_truncated || rep->audit_rolled)
        fprintf(f,
                CLI_T(ctx,
                      "切り詰めを検出: 媒体の監査ログがリポジトリヘッドの記録より短くなっています"
                      "（署名済みの記録 %llu まで。記録では %llu まで）。切り詰められたか、削除"
                      "されて作り直されています\n",
                      "TRUNCATION FOUND: the medium's audit log is shorter than the repository "
                      "head records (signed up to record %llu; recorded: %llu): cut, or deleted "
                      "and begun anew\n"),
                (unsigned long long)rep->audit_seq_now, (unsigned long long)rep->audit_seq);
}

/* When this host's audit log recorded the backup of generation @hex of repository @id: its
 * time in @out ("" when not known). */
static void gen_time(const struct cli_ctx *ctx, const char *id, const char *hex, char out[32])
{
    mm_audit_log *l = NULL;
    char base[4200];

    out[0] = '\0';
    if (!id || cli_audit_host_base(ctx, id, base, sizeof(base)) < 0 ||
        mm_audit_log_load(&l, base) < 0) {
        mm_error_clear();
        return;
    }
    for (size_t i = 0; i < mm_audit_log_count(l) && !out[0]; i++) {
        const struct mm_audit_record *rec = mm_audit_log_record(l, i);
        if (rec->kind != MM_AUDIT_BACKUP || !rec->opened)
            continue;
        for (size_t k = 0; k < rec->nfields; k++)
            if (strcmp(rec->fields[k].key, "generation") == 0 &&
                strcmp(rec->fields[k].value, hex) == 0)
                utc(rec->time_ns, out);
    }
    mm_audit_log_free(l);
}

void cli_head_print(const struct cli_ctx *ctx, const struct mm_repo_head_report *rep, FILE *f,
                    const char *id)
{
    char hex[MM_CRYPTO_HEX_SIZE], t[32];

    if (rep->copies.damaged)
        fprintf(f,
                CLI_T(ctx, "損傷あり: リポジトリヘッドの写し %d 個が読めません（%s）\n",
                      "DAMAGE FOUND: %d copies of the repository head do not verify (%s)\n"),
                rep->copies.damaged, rep->copies.msg);
    if (rep->rollback && !rep->has_head)
        fprintf(f,
                CLI_T(ctx,
                      "削除を検出: 媒体にリポジトリヘッドがありませんが、この PC は番号 %llu "
                      "のヘッドを控えています（媒体が古い写しに戻されたか、ヘッドが消されました）\n",
                      "DELETION FOUND: the medium has no repository head, but this host keeps "
                      "head number %llu of it (an old copy of the medium put back, or the head "
                      "deleted)\n"),
                (unsigned long long)rep->host_seq);
    else if (rep->rollback)
        fprintf(f,
                CLI_T(ctx,
                      "巻き戻しを検出: 媒体のリポジトリヘッドは番号 %llu ですが、この PC は番号 "
                      "%llu を控えています（媒体が古い写しに戻されています）\n",
                      "ROLLBACK FOUND: the medium's repository head is number %llu, but this "
                      "host keeps number %llu (an old copy of the medium was put back)\n"),
                (unsigned long long)rep->seq, (unsigned long long)rep->host_seq);
    if (rep->forked)
        fprintf(f,
                CLI_T(ctx,
                      "巻き戻しを検出: 媒体のリポジトリヘッド（番号 %llu）はこの PC の控え（番号 "
                      "%llu）から続いていません\n",
                      "ROLLBACK FOUND: the medium's repository head (number %llu) does not "
                      "follow this host's copy (number %llu)\n"),
                (unsigned long long)rep->seq, (unsigned long long)rep->host_seq);
    cli_head_print_audit(ctx, rep, f);
    utc(rep->time_ns, t);
    for (size_t i = 0; i < rep->nmissing; i++) {
        char when[32];
        mm_crypto_hex(rep->missing[i], hex);
        gen_time(ctx, id, hex, when);
        if (when[0])
            fprintf(f,
                    CLI_T(ctx, "削除を検出: 世代 %s（%s のバックアップ）がありません\n",
                          "DELETION FOUND: generation %s (backed up %s) is gone\n"),
                    hex, when);
        else
            fprintf(f,
                    CLI_T(ctx,
                          "削除を検出: 世代 %s がありません（リポジトリヘッド %llu、%s に記録）\n",
                          "DELETION FOUND: generation %s is gone (listed by repository head %llu of "
                          "%s)\n"),
                    hex, (unsigned long long)rep->seq, t);
    }
    if (ctx->quiet)
        return;
    if (!rep->has_head && !rep->rollback && !rep->copies.damaged)
        fprintf(stderr, "%s\n",
                CLI_T(ctx,
                      "mamori: この媒体にはまだリポジトリヘッドがありません（次の書き込みで作られます）",
                      "mamori: no repository head yet (the next write creates it)"));
    for (size_t i = 0; i < rep->nunlisted; i++) {
        mm_crypto_hex(rep->unlisted[i], hex);
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 世代 %s はリポジトリヘッドより後に書かれました（ヘッドの前に中断"
                      "した書き込み。改ざんではありません）\n",
                      "mamori: generation %s was written after the repository head (a write "
                      "interrupted before its head; not tampering)\n"),
                hex);
    }
}

int cli_head_check(const struct cli_ctx *ctx, mm_repo *r, struct mm_repo_head_report *rep)
{
    char dir[4096];
    int err = mm_repo_head_check(r, cli_audit_dir_or_null(ctx, dir, sizeof(dir)), rep);

    if (err < 0) {
        memset(rep, 0, sizeof(*rep));
        return cli_lib_error(err);
    }
    return CLI_OK;
}

/* The head of the medium at @path, checked with the key its audit log names. */
static int other_head(const struct cli_ctx *ctx, const char *path, struct mm_repo_head *out)
{
    unsigned char id[MM_AUDIT_REPO_ID_SIZE], pk[MM_CRYPTO_PK_SIZE];
    char base[4200];
    int err;

    if (cli_audit_repo_base(path, base, sizeof(base)) < 0 ||
        (err = mm_audit_header_read(base, id, pk)) < 0) {
        cli_error(CLI_T(ctx, "'%s' の鍵が分かりません（監査ログがありません）",
                        "the key of '%s' is unknown (it has no audit log)"),
                  path);
        return CLI_ERROR;
    }
    if ((err = mm_repo_head_load(path, pk, out, NULL)) < 0) {
        if (err == MM_ENOTFOUND) {
            cli_error(CLI_T(ctx, "'%s' にはまだリポジトリヘッドがありません",
                            "'%s' has no repository head yet"),
                      path);
            return CLI_ERROR;
        }
        cli_lib_error(err);
        return err == MM_ECORRUPT || err == MM_EAUTH ? CLI_DAMAGE : CLI_ERROR;
    }
    return CLI_OK;
}

/* What @b says of @a (named @an, @bn), printed. @return 1 a rollback or fork of @a shows */
static int cross_one(const struct cli_ctx *ctx, const struct mm_repo_head *a, const char *an,
                     const struct mm_repo_head *b, const char *bn)
{
    struct mm_repo_head_cross x;

    mm_repo_head_cross(a, b, &x);
    if (!x.known) {
        if (!ctx->quiet)
            printf(CLI_T(ctx, "%s は %s を知りません（同じ PC で書かれていない）\n",
                         "%s has no record of %s (not written on the same host)\n"),
                   bn, an);
        return 0;
    }
    if (x.older)
        printf(CLI_T(ctx,
                     "巻き戻しを検出: %s のリポジトリヘッドは番号 %llu ですが、%s は番号 %llu "
                     "を見ています\n",
                     "ROLLBACK FOUND: the repository head of %s is number %llu, but %s saw "
                     "number %llu\n"),
               an, (unsigned long long)a->seq, bn, (unsigned long long)x.seen);
    else if (x.differ)
        printf(CLI_T(ctx,
                     "巻き戻しを検出: %s のリポジトリヘッド（番号 %llu）は %s が見たものと違います\n",
                     "ROLLBACK FOUND: the repository head of %s (number %llu) is not the one %s "
                     "saw\n"),
               an, (unsigned long long)a->seq, bn);
    else if (!ctx->quiet)
        printf(CLI_T(ctx, "一致: %s のヘッド %llu（%s が見たのは %llu）\n",
                     "consistent: %s is at head %llu (%s saw %llu)\n"),
               an, (unsigned long long)a->seq, bn, (unsigned long long)x.seen);
    return x.older || x.differ;
}

int cli_head_against(const struct cli_ctx *ctx, mm_repo *r, const char *repo,
                     const char *const *paths, size_t n)
{
    struct mm_repo_head a = { 0 };
    unsigned char pk[MM_CRYPTO_PK_SIZE];
    int rc = CLI_OK, bad = 0, err;

    mm_keyset_public_key(mm_repo_keyset(r), pk);
    if ((err = mm_repo_head_load(repo, pk, &a, NULL)) < 0) {
        cli_error("%s", CLI_T(ctx, "このリポジトリにはまだリポジトリヘッドがありません",
                              "this repository has no repository head yet"));
        return err == MM_ENOTFOUND ? CLI_ERROR : CLI_DAMAGE;
    }
    for (size_t i = 0; i < n && rc != CLI_ERROR; i++) {
        struct mm_repo_head b = { 0 };
        int orc = other_head(ctx, paths[i], &b);
        if (orc != CLI_OK) {
            rc = orc;
            continue;
        }
        bad |= cross_one(ctx, &a, repo, &b, paths[i]);
        bad |= cross_one(ctx, &b, paths[i], &a, repo);
        mm_repo_head_release(&b);
    }
    mm_repo_head_release(&a);
    return rc != CLI_OK ? rc : bad ? CLI_DAMAGE : CLI_OK;
}
