/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori audit show|verify|export: read, check and export the tamper-evident audit log of a
 * repository (on its medium, or this host's copy with --host), or an exported file (--file,
 * checked with no repository and no passphrase). verify exits 3 naming the first bad record
 * and what is wrong with it. Records hold patient IDs: they are printed only by `audit show`,
 * whose output is the point; no message of these commands carries one.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "repo/repo.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_head.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

struct audit_opts {
    const char *repo, *as, *passfile, *file, *out, *user, *patient, *kind;
    int host, have_since;
    int64_t since_s;
};

/* The opened log and where it came from. */
struct audit_src {
    mm_repo *r;
    mm_audit_log *log;
    const char *what; /* "repo", "host", "file" */
    unsigned char pk[MM_CRYPTO_PK_SIZE];
    int have_pk; /* the repository's own key (not only the log's) */
    char base[4200];
    const char *head; /* the medium's log: what its repository head says ("ok", ...), or NULL */
};

/* "2026-11-22", "2026-11-22T06:00[:00]" (local time) or with a trailing Z (UTC), into
 * seconds since 1970. */
static int parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, se = 0, n = 0, utc = 0;
    size_t len = strlen(s);
    time_t t;

    if (len && s[len - 1] == 'Z')
        utc = 1;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
        return -1;
    if (s[n] == 'T' || s[n] == ' ') {
        int m = 0;
        if (sscanf(s + n + 1, "%2d:%2d%n", &h, &mi, &m) != 2)
            return -1;
        n += 1 + m;
        if (s[n] == ':') {
            if (sscanf(s + n + 1, "%2d%n", &se, &m) != 1)
                return -1;
            n += 1 + m;
        }
    }
    if ((size_t)n + (size_t)utc != len || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || se > 60)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    tm.tm_isdst = -1;
    t = utc ? timegm(&tm) : mktime(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = (int64_t)t; /* seconds: nanoseconds would overflow after 2262 */
    return 0;
}

/* "2026-11-22T06:00:00Z" and "+09:00" */
static void fmt_time(int64_t ns, int32_t off, char utc[32], char offs[8])
{
    time_t s = (time_t)(ns >= 0 ? ns / 1000000000 : (ns - 999999999) / 1000000000);
    struct tm tm;
    int a = off < 0 ? -off : off;

    if (!gmtime_r(&s, &tm))
        memset(&tm, 0, sizeof(tm));
    strftime(utc, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(offs, 8, "%c%02d:%02d", off < 0 ? '-' : '+', (a / 3600) % 100, (a / 60) % 60);
}

static const char *kind_label(const struct cli_ctx *ctx, unsigned int k)
{
    static const char *const ja[] = {
        NULL,
        "初期化",
        "鍵の追加",
        "鍵の削除",
        "バックアップ",
        "検証",
        "復元",
        "世代の整理",
        "異常判定の承認",
        "媒体の拒否",
        "ビューア開始",
        "ログイン失敗",
        "患者の閲覧",
        "ログの修復",
        "書き出し",
        "パスフレーズ誤り",
        "ビューア終了",
        "毎日のサイクル",
        "媒体のラベル",
        "証拠の欠落",
        "鍵の更新の開始",
        "鍵の更新: 世代の複製",
        "鍵の更新の終了",
        "中断された処理",
        "復元訓練",
        "患者記録の書き出し",
    };
    const char *n = mm_audit_kind_name(k);

    _Static_assert(sizeof(ja) / sizeof(*ja) == MM_AUDIT_KIND_MAX + 1,
                   "every audit kind has its Japanese label");
    if (!n)
        return "?";
    return CLI_T(ctx, ja[k], n);
}

static void src_release(struct audit_src *s)
{
    mm_audit_log_free(s->log);
    mm_repo_free(s->r);
}

/* Open the log the options name; prints the error. */
static int open_source(struct cli_ctx *ctx, const struct cmd *cmd, const struct audit_opts *o,
                       struct audit_src *s)
{
    int rc, err;

    memset(s, 0, sizeof(*s));
    if (o->file && (o->repo || o->host))
        return cli_usage(ctx, cmd,
                         CLI_T(ctx, "--file と --repo/--host は同時に使えません",
                               "--file cannot be combined with --repo or --host"));
    if (o->file) {
        s->what = "file";
        if ((err = mm_audit_log_load_file(&s->log, o->file)) < 0)
            return err == MM_ECORRUPT ? (cli_lib_error(err), CLI_DAMAGE) : cli_lib_error(err);
        return CLI_OK;
    }
    if (!o->repo || !*o->repo)
        return cli_usage(
                ctx, cmd,
                CLI_T(ctx, "--repo か --file を指定してください", "give --repo or --file"));
    if ((rc = cli_repo_open(ctx, o->repo, o->as, o->passfile, &s->r)) != CLI_OK)
        return rc;
    mm_keyset_public_key(mm_repo_keyset(s->r), s->pk);
    s->have_pk = 1;
    s->what = o->host ? "host" : "repo";
    if (o->host ? cli_audit_host_base(ctx, mm_repo_id(s->r), s->base, sizeof(s->base))
                : cli_audit_repo_base(o->repo, s->base, sizeof(s->base))) {
        cli_error("%s", CLI_T(ctx, "監査ログの場所が決まりません", "no place for the audit log"));
        return CLI_ERROR;
    }
    return CLI_OK;
}

/*
 * Load the log of an opened repository source (after any event was appended); with
 * @details, open the sealed details too (show: verify needs only the chain and signatures,
 * so a damaged record is reported by verify as the tampering it is).
 */
static int load_source(struct cli_ctx *ctx, struct audit_src *s, int details)
{
    int err;

    if (s->log)
        return CLI_OK;
    err = mm_audit_log_load(&s->log, s->base);
    if (err == MM_ENOTFOUND) {
        cli_error("%s", CLI_T(ctx, "監査ログがまだありません", "there is no audit log yet"));
        return CLI_ERROR;
    }
    if (err == MM_ECORRUPT) /* not even a header: as damaged as a log can be */
        return cli_lib_error(err), CLI_DAMAGE;
    if (err < 0)
        return cli_lib_error(err);
    if (details && s->r && (err = mm_audit_log_open_details(s->log, mm_repo_keyset(s->r))) < 0) {
        if (err != MM_ECORRUPT && err != MM_EAUTH)
            return cli_lib_error(err);
        cli_lib_error(err);
        fprintf(stderr, "%s\n",
                CLI_T(ctx,
                      "mamori: 監査ログが損傷しています（mamori audit verify で確認してください）",
                      "mamori: the audit log is damaged (see mamori audit verify)"));
        return CLI_DAMAGE;
    }
    return CLI_OK;
}

/* One line (or JSON object) describing what verify found. */
static void print_problem(const struct cli_ctx *ctx, FILE *f,
                          const struct mm_audit_verify_result *v)
{
    unsigned long long b = v->bad_seq, x = v->found_seq;

    switch (v->problem) {
    case MM_AUDIT_OK:
        break;
    case MM_AUDIT_EDITED:
        if (b == 0)
            fputs(CLI_T(ctx, "ログのヘッダが書き換えられています", "the log header was edited"), f);
        else
            fprintf(f, CLI_T(ctx, "記録 %llu が書き換えられています", "record %llu was edited"), b);
        break;
    case MM_AUDIT_INSERTED:
        fprintf(f,
                CLI_T(ctx, "記録 %llu の位置に、鎖に属さない記録が挿入されています（番号 %llu）",
                      "a record was inserted at record %llu (it carries number %llu)"),
                b, x);
        break;
    case MM_AUDIT_REMOVED:
        if (x <= b + 1)
            fprintf(f, CLI_T(ctx, "記録 %llu が削除されています", "record %llu was removed"), b);
        else
            fprintf(f,
                    CLI_T(ctx, "記録 %llu から %llu までが削除されています",
                          "records %llu to %llu were removed"),
                    b, x - 1);
        break;
    case MM_AUDIT_REORDERED:
        fprintf(f,
                CLI_T(ctx, "記録 %llu の位置で順序が入れ替えられています（そこに記録 %llu）",
                      "records were reordered at record %llu (record %llu is there)"),
                b, x);
        break;
    case MM_AUDIT_TRUNCATED:
        fprintf(f,
                CLI_T(ctx,
                      "末尾が切り取られています: 記録 %llu 以降がありません（署名済みの先頭は記録 "
                      "%llu）",
                      "the log was truncated: record %llu and later are missing (the signed head "
                      "names record %llu)"),
                b, x);
        break;
    case MM_AUDIT_BAD_SIGNATURE:
        fprintf(f,
                CLI_T(ctx,
                      "記録 %llu の署名が正しくありません（鍵を持たない者による偽造か、署名の書き換え）",
                      "record %llu has a bad signature (forged without the key, or its signature "
                      "altered)"),
                b);
        break;
    case MM_AUDIT_DAMAGED:
        fprintf(f,
                CLI_T(ctx, "記録 %llu の位置（%llu バイト目）が記録として読めません",
                      "record %llu is unreadable (damaged bytes at byte %llu)"),
                b, (unsigned long long)v->offset);
        break;
    case MM_AUDIT_WRONG_KEY:
        fputs(CLI_T(ctx, "ログがこのリポジトリの鍵で署名されていません",
                    "the log is not signed with this repository's key"),
              f);
        break;
    case MM_AUDIT_HEAD_MISSING:
        fprintf(f,
                CLI_T(ctx,
                      "署名済みの先頭（head）がありません: 記録 %llu 以降の切り取りを確かめられません",
                      "the signed head is missing: records from %llu on may have been cut"),
                b);
        break;
    case MM_AUDIT_BAD_HEAD:
        fprintf(f,
                CLI_T(ctx, "署名済みの先頭（head）が壊れているか書き換えられています（記録 %llu）",
                      "the signed head is damaged or edited (record %llu)"),
                b);
        break;
    case MM_AUDIT_NEWER:
        fprintf(f,
                CLI_T(ctx,
                      "記録 %llu はこの mamori が知らない新しい形式です（mamori を更新してください）",
                      "record %llu is of a newer format than this mamori reads (update mamori)"),
                b);
        break;
    }
}

static void hex16(const unsigned char *p, char out[33])
{
    static const char hx[] = "0123456789abcdef";

    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[32] = '\0';
}

/* Verify the loaded log and print the verdict (@json: 1 an object, 2 an object that ends the
 * one `audit show --json` opened). @return CLI_OK or CLI_DAMAGE */
static int report(const struct cli_ctx *ctx, const struct audit_src *s, int json, int quiet)
{
    struct mm_audit_verify_result v;
    char fp[MM_AUDIT_FINGERPRINT_SIZE], id[33];

    mm_audit_verify(s->log, s->have_pk ? s->pk : NULL, &v);
    mm_audit_fingerprint(s->have_pk ? s->pk : mm_audit_log_public_key(s->log), fp);
    hex16(mm_audit_log_repo_id(s->log), id);
    if (json) {
        printf("{\"log\":\"%s\",\"repository\":\"%s\",\"fingerprint\":\"%s\",\"ok\":%s,"
               "\"problem\":\"%s\",\"record\":%llu,\"found\":%llu,\"records\":%llu,"
               "\"signed\":%llu,\"head\":%llu,\"unsigned_tail\":%llu,\"torn_bytes\":%llu",
               s->what, id, fp, v.problem ? "false" : "true", mm_audit_problem_name(v.problem),
               (unsigned long long)v.bad_seq, (unsigned long long)v.found_seq,
               (unsigned long long)v.records, (unsigned long long)v.signed_records,
               (unsigned long long)v.head_seq, (unsigned long long)v.unsigned_tail,
               (unsigned long long)v.torn_bytes);
        if (s->head)
            printf(",\"repository_head\":\"%s\"", s->head);
        if (v.writer_records || v.head_writer) { /* a log a host wrote to (format 3) */
            printf(",\"writer_records\":%llu,\"head_signer\":",
                   (unsigned long long)v.writer_records);
            cli_json_str(stdout, v.head_writer ? v.head_signer : "", strlen(v.head_signer));
        }
        printf("}%s", json == 2 ? "}\n" : "\n");
    } else if (!quiet || v.problem) {
        printf(CLI_T(ctx, "リポジトリ ID: %s\n公開鍵の指紋: %s%s\n",
                     "repository ID: %s\npublic key fingerprint: %s%s\n"),
               id, fp,
               s->have_pk ? CLI_T(ctx, "（リポジトリの鍵と一致を確認）",
                                  " (checked against the repository's key)")
                          : CLI_T(ctx, "（リポジトリの指紋と照合してください）",
                                  " (compare it with the repository's)"));
        if (v.problem) {
            printf("%s", CLI_T(ctx, "改ざんを検出しました: ", "TAMPERING DETECTED: "));
            print_problem(ctx, stdout, &v);
            printf("\n");
        } else {
            printf(CLI_T(ctx,
                         "問題なし: 記録 %llu 件（署名つき %llu 件）、署名済みの先頭は記録 %llu\n",
                         "intact: %llu records (%llu signed), the signed head names record %llu\n"),
                   (unsigned long long)v.records, (unsigned long long)v.signed_records,
                   (unsigned long long)v.head_seq);
            if (v.head_writer)
                printf(CLI_T(ctx,
                             "署名済みの先頭の署名者: ホスト %s（このリポジトリの鍵が認めた書き手）\n",
                             "the signed head was signed by host %s (a writer certified by the "
                             "repository's key)\n"),
                       v.head_signer);
            else if (v.writer_records)
                printf("%s", CLI_T(ctx, "署名済みの先頭の署名者: リポジトリの鍵\n",
                                   "the signed head was signed by the repository's key\n"));
        }
    }
    if (!v.problem && v.unsigned_tail && !quiet)
        fprintf(stderr,
                CLI_T(ctx, "mamori: 末尾の %llu 件は鍵なしで書かれ、まだ署名で守られていません\n",
                      "mamori: the last %llu records were written without a key and are not yet "
                      "covered by a signature\n"),
                (unsigned long long)v.unsigned_tail);
    if (!v.problem && v.torn_bytes && !quiet)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 末尾に中断された追記の跡（%llu バイト）があります。次の記録で修復されます\n",
                      "mamori: an interrupted append left %llu bytes at the end; the next event "
                      "repairs it\n"),
                (unsigned long long)v.torn_bytes);
    return v.problem ? CLI_DAMAGE : CLI_OK;
}

static int matches(const struct audit_opts *o, const struct mm_audit_record *r, unsigned int kind)
{
    if (o->have_since && (r->time_ns < 0 ? -1 : r->time_ns / 1000000000) < o->since_s)
        return 0;
    if (o->user && strcmp(o->user, r->user) != 0)
        return 0;
    if (o->kind && r->kind != kind)
        return 0;
    if (o->patient && !(r->opened && r->subject_kind == MM_AUDIT_SUBJECT_PATIENT &&
                        strcmp(r->subject, o->patient) == 0))
        return 0;
    return 1;
}

static void show_json(const struct mm_audit_record *r, int *first)
{
    char t[32], off[8];
    const char *kn = mm_audit_kind_name(r->kind);

    fmt_time(r->time_ns, r->utc_offset_s, t, off);
    printf("%s{\"seq\":%llu,\"time\":\"%s\",\"utc_offset\":\"%s\",\"kind\":", *first ? "" : ",",
           (unsigned long long)r->seq, t, off);
    if (kn)
        printf("\"%s\"", kn);
    else
        printf("\"unknown-%u\"", r->kind);
    printf(",\"user\":");
    cli_json_str(stdout, r->user, strlen(r->user));
    printf(",\"host\":");
    cli_json_str(stdout, r->host, strlen(r->host));
    printf(",\"signed\":%s,\"details\":", r->keyed ? "true" : "false");
    if (!r->opened) {
        printf("null");
    } else {
        printf("{");
        for (size_t i = 0; i < r->nfields; i++) {
            printf(i ? "," : "");
            cli_json_str(stdout, r->fields[i].key, strlen(r->fields[i].key));
            printf(":");
            cli_json_str(stdout, r->fields[i].value, strlen(r->fields[i].value));
        }
        printf("}");
    }
    if (r->opened && r->subject) {
        printf(",\"%s\":", r->subject_kind == MM_AUDIT_SUBJECT_PATIENT ? "patient" : "path");
        cli_json_str(stdout, r->subject, strlen(r->subject));
    }
    printf("}");
    *first = 0;
}

static void show_text(const struct cli_ctx *ctx, const struct mm_audit_record *r)
{
    char t[32], off[8];

    fmt_time(r->time_ns, r->utc_offset_s, t, off);
    printf("%6llu  %s (%s)  ", (unsigned long long)r->seq, t, off);
    cli_pad(kind_label(ctx, r->kind), 14);
    printf("  %s@%s", r->user[0] ? cli_esc(r->user) : "-", cli_esc(r->host));
    if (!r->opened) {
        printf("  %s", CLI_T(ctx, "（詳細は暗号化）", "(details encrypted)"));
    } else {
        if (r->subject)
            printf("  %s=%s",
                   r->subject_kind == MM_AUDIT_SUBJECT_PATIENT ? CLI_T(ctx, "患者", "patient")
                                                               : CLI_T(ctx, "パス", "path"),
                   cli_esc(r->subject));
        for (size_t i = 0; i < r->nfields; i++) /* (keys are [a-z0-9_-]) */
            printf("  %s=%s", r->fields[i].key, cli_esc(r->fields[i].value));
    }
    if (!r->keyed)
        printf("  %s", CLI_T(ctx, "[鍵なし]", "[unsigned]"));
    printf("\n");
}

static int do_show(struct cli_ctx *ctx, const struct audit_opts *o)
{
    struct audit_src s;
    unsigned int kind = 0;
    int rc, first = 1;
    size_t shown = 0;

    if (o->kind && mm_audit_kind_parse(o->kind, &kind) < 0)
        return cli_usage(ctx, &cmd_audit,
                         CLI_T(ctx, "--kind '%s' という種類はありません", "no event kind '%s'"),
                         o->kind);
    if ((rc = open_source(ctx, &cmd_audit, o, &s)) != CLI_OK)
        goto out;
    if ((rc = load_source(ctx, &s, 1)) != CLI_OK)
        goto out;
    if (ctx->json)
        printf("{\"records\":[");
    for (size_t i = 0; i < mm_audit_log_count(s.log); i++) {
        const struct mm_audit_record *r = mm_audit_log_record(s.log, i);
        if (!r->user || !matches(o, r, kind))
            continue; /* (a record that does not decode has no user: verify reports it) */
        if (ctx->json)
            show_json(r, &first);
        else
            show_text(ctx, r);
        shown++;
    }
    if (ctx->json) {
        printf("],\"verify\":");
    } else if (!shown && !ctx->quiet) {
        printf("%s\n", CLI_T(ctx, "該当する記録はありません", "no matching records"));
    }
    rc = report(ctx, &s, ctx->json ? 2 : 0, 1); /* (2: close the show's object) */
out:
    src_release(&s);
    return rc;
}

/*
 * The medium's log against its repository head: gone, cut, or another log (the head's record
 * is not in it). @return 1 when the head shows the log lost records, else 0
 */
static int head_lost(const struct cli_ctx *ctx, struct audit_src *s, struct mm_repo_head_report *hr)
{
    int has = s->log && hr->audit_seq ? mm_audit_log_has(s->log, hr->audit_seq, hr->audit_h) : 1;

    if (hr->audit_deleted || hr->audit_truncated || hr->audit_rolled) {
        s->head = cli_head_problem(hr);
    } else if (has != 1) {
        s->head = "audit-log-replaced";
        if (!ctx->json)
            printf(CLI_T(ctx,
                         "改ざんを検出: リポジトリヘッドが記録した署名済みの記録 %llu が、この"
                         "監査ログにありません（別のログに置き換えられています）\n",
                         "TAMPERING DETECTED: the signed record %llu the repository head "
                         "recorded is not in this audit log (it was replaced)\n"),
                   (unsigned long long)hr->audit_seq);
    } else {
        s->head = hr->has_head ? "ok" : "no-head";
        return 0;
    }
    if (!ctx->json)
        cli_head_print_audit(ctx, hr, stdout);
    return 1;
}

static int do_verify(struct cli_ctx *ctx, const struct audit_opts *o)
{
    struct mm_repo_head_report hr = { 0 };
    struct audit_src s;
    int rc, lost = 0;

    if ((rc = open_source(ctx, &cmd_audit, o, &s)) != CLI_OK)
        goto out;
    /* the medium's log: its repository head knows how long it was */
    if (s.r && !o->host && (rc = cli_head_check(ctx, s.r, &hr)) != CLI_OK)
        goto out;
    if (s.r && !o->host && hr.audit_deleted) {
        s.head = cli_head_problem(&hr);
        if (ctx->json)
            printf("{\"log\":\"repo\",\"ok\":false,\"problem\":\"deleted\","
                   "\"repository_head\":\"%s\"}\n",
                   s.head);
        else
            cli_head_print_audit(ctx, &hr, stdout);
        rc = CLI_DAMAGE;
        goto out;
    }
    if ((rc = load_source(ctx, &s, 0)) != CLI_OK)
        goto out;
    if (s.r && !o->host)
        lost = head_lost(ctx, &s, &hr);
    rc = report(ctx, &s, ctx->json, ctx->quiet);
    if (lost)
        rc = CLI_DAMAGE;
out:
    mm_repo_head_report_release(&hr);
    src_release(&s);
    return rc;
}

static int do_export(struct cli_ctx *ctx, const struct audit_opts *o)
{
    struct audit_src s;
    struct mm_audit_field f[2];
    struct mm_audit_event ev = { 0 };
    mm_buf b;
    int rc, err;

    mm_buf_init(&b, MM_LIMIT_AUDIT_LOG + 64);
    if (!o->out || !*o->out)
        return cli_usage(ctx, &cmd_audit,
                         CLI_T(ctx, "--out で書き出し先を指定してください",
                               "give the file to write with --out"));
    if (o->file)
        return cli_usage(
                ctx, &cmd_audit,
                CLI_T(ctx, "export には --repo を指定してください", "export takes --repo"));
    if ((rc = open_source(ctx, &cmd_audit, o, &s)) != CLI_OK)
        goto out;
    /* the export is itself an event, recorded before the log is copied */
    f[0].key = "log";
    f[0].value = s.what;
    f[1].key = "out";
    f[1].value = o->out;
    ev.kind = MM_AUDIT_EXPORT;
    ev.fields = f;
    ev.nfields = 2;
    cli_audit_write(ctx, s.r, o->repo, &ev);
    if ((err = mm_audit_export(s.base, &b)) < 0 ||
        (err = mm_os_write_atomic(o->out, b.ptr, b.len)) < 0) {
        rc = err == MM_ENOTFOUND ? (cli_error("%s", CLI_T(ctx, "監査ログがまだありません",
                                                          "there is no audit log yet")),
                                    CLI_ERROR)
                                 : cli_lib_error(err);
        goto out;
    }
    /* the host's log holds patient IDs in the clear: so does its export */
    if (o->host && chmod(o->out, 0600) != 0)
        cli_error(CLI_T(ctx, "'%s' を本人だけが読めるようにできませんでした",
                        "could not make '%s' readable by its owner only"),
                  o->out);
    if ((err = mm_audit_log_load_file(&s.log, o->out)) < 0) {
        rc = cli_lib_error(err);
        goto out;
    }
    if (!ctx->json && !ctx->quiet)
        printf(CLI_T(ctx, "監査ログを %s に書き出しました（%zu バイト）\n",
                     "exported the audit log to %s (%zu bytes)\n"),
               o->out, b.len);
    rc = report(ctx, &s, ctx->json, 0);
out:
    mm_buf_release(&b);
    src_release(&s);
    return rc;
}

static int run_audit(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "as", required_argument, NULL, 'a' },
        { "passphrase-file", required_argument, NULL, 'p' },
        { "json", no_argument, NULL, 'j' },
        { "host", no_argument, NULL, 'H' },
        { "file", required_argument, NULL, 'f' },
        { "out", required_argument, NULL, 'o' },
        { "since", required_argument, NULL, 's' },
        { "user", required_argument, NULL, 'u' },
        { "patient", required_argument, NULL, 'P' },
        { "kind", required_argument, NULL, 'k' },
        { "audit-dir", required_argument, NULL, 'A' },
        { NULL, 0, NULL, 0 },
    };
    struct audit_opts o;
    const char *verb;
    int opt;

    memset(&o, 0, sizeof(o));
    o.repo = ctx->repo;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            o.repo = optarg;
            break;
        case 'a':
            o.as = optarg;
            break;
        case 'p':
            o.passfile = optarg;
            break;
        case 'j':
            ctx->json = 1;
            break;
        case 'H':
            o.host = 1;
            break;
        case 'f':
            o.file = optarg;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 's':
            if (parse_time(optarg, &o.since_s) < 0)
                return cli_usage(ctx, &cmd_audit,
                                 CLI_T(ctx, "--since は 2026-11-22 か 2026-11-22T06:00 の形です",
                                       "--since takes 2026-11-22 or 2026-11-22T06:00"));
            o.have_since = 1;
            break;
        case 'u':
            o.user = optarg;
            break;
        case 'P':
            o.patient = optarg;
            break;
        case 'k':
            o.kind = optarg;
            break;
        case 'A':
            ctx->audit_dir = optarg;
            break;
        default:
            return cli_option_error(ctx, &cmd_audit, opt, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage(ctx, &cmd_audit,
                         CLI_T(ctx, "show / verify / export のどれかを指定してください",
                               "give one of show, verify, export"));
    verb = argv[optind];
    if (strcmp(verb, "show") == 0)
        return do_show(ctx, &o);
    if (strcmp(verb, "verify") == 0)
        return do_verify(ctx, &o);
    if (strcmp(verb, "export") == 0)
        return do_export(ctx, &o);
    return cli_usage(ctx, &cmd_audit,
                     CLI_T(ctx, "show / verify / export のどれかを指定してください",
                           "give one of show, verify, export"));
}

const struct cmd cmd_audit = {
    "audit",
    "audit show|verify|export (--repo <DIR> [--host] | --file <FILE>) [options]",
    "改ざんを検出できる監査ログを表示・検証・書き出しする",
    "show, verify or export the tamper-evident audit log",
    "形式:\n"
    "   mamori audit show   --repo <DIR> [--host] [--since <TIME>] [--user <NAME>]\n"
    "                       [--patient <ID>] [--kind <KIND>] [--json]\n"
    "   mamori audit show   --file <FILE> [...]\n"
    "   mamori audit verify --repo <DIR> [--host] | --file <FILE> [--json]\n"
    "   mamori audit export --repo <DIR> [--host] --out <FILE>\n"
    "\n"
    "オプション:\n"
    "   --repo <DIR>              リポジトリ（媒体上の監査ログ。パスフレーズが要ります）\n"
    "   --host                    媒体ではなく、この PC に残したそのリポジトリの監査ログ\n"
    "   --file <FILE>             書き出したファイル（または .log）。パスフレーズ不要\n"
    "   --out <FILE>              export の書き出し先\n"
    "   --since <TIME>            この時刻以降（2026-11-22、2026-11-22T06:00、末尾 Z で UTC）\n"
    "   --user <NAME>             この利用者（鍵スロット名）の記録だけ\n"
    "   --patient <ID>            この患者についての記録だけ\n"
    "   --kind <KIND>             この種類だけ（init, key-add, backup, verify, restore, prune,\n"
    "                             patient-opened など）\n"
    "   --as <NAME>               この利用者の鍵スロットで開く\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --audit-dir <DIR>         この PC の監査ログのフォルダ（既定: $MAMORI_AUDIT_DIR、\n"
    "                             $XDG_STATE_HOME/mamori/audit、~/.local/state/mamori/audit）\n"
    "   --json                    結果を JSON で出す\n"
    "\n"
    "記録は1つ前の記録のハッシュを含んで鎖になり、リポジトリの鍵で署名されます。\n"
    "verify は書き換え・挿入・削除・入れ替え・末尾の切り取り・偽造の署名を見つけ、\n"
    "最初の不正な記録の番号を示します。媒体上の記録の詳細はリポジトリの鍵で暗号化されています。\n"
    "書き出したファイルは、別の PC で mamori audit verify --file だけで（パスフレーズなしで）\n"
    "検証できます。表示される公開鍵の指紋をリポジトリのものと照合してください。\n"
    "終了コード: 0 問題なし、1 失敗、2 使い方の誤り、3 改ざんを検出\n",
    "forms:\n"
    "   mamori audit show   --repo <DIR> [--host] [--since <TIME>] [--user <NAME>]\n"
    "                       [--patient <ID>] [--kind <KIND>] [--json]\n"
    "   mamori audit show   --file <FILE> [...]\n"
    "   mamori audit verify --repo <DIR> [--host] | --file <FILE> [--json]\n"
    "   mamori audit export --repo <DIR> [--host] --out <FILE>\n"
    "\n"
    "options:\n"
    "   --repo <DIR>              the repository (the log on its medium; needs a passphrase)\n"
    "   --host                    this host's log of that repository instead of the medium's\n"
    "   --file <FILE>             an exported file (or a .log file); no passphrase needed\n"
    "   --out <FILE>              where export writes\n"
    "   --since <TIME>            from this time on (2026-11-22, 2026-11-22T06:00; Z for UTC)\n"
    "   --user <NAME>             only this user's (key slot's) records\n"
    "   --patient <ID>            only records about this patient\n"
    "   --kind <KIND>             only this kind (init, key-add, backup, verify, restore,\n"
    "                             prune, patient-opened, ...)\n"
    "   --as <NAME>               open with this user's key slot\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --audit-dir <DIR>         this host's audit folder (default: $MAMORI_AUDIT_DIR,\n"
    "                             $XDG_STATE_HOME/mamori/audit, ~/.local/state/mamori/audit)\n"
    "   --json                    print the result as JSON\n"
    "\n"
    "Each record holds the hash of the one before and is signed with the repository's key.\n"
    "verify finds edited, inserted, removed and reordered records, a cut tail and forged\n"
    "signatures, and names the first bad record. On the medium, record details are encrypted\n"
    "with the repository's keys. An exported file is verified on another PC with\n"
    "mamori audit verify --file alone (no passphrase): compare the public key fingerprint it\n"
    "prints with the repository's.\n"
    "exit status: 0 intact, 1 failed, 2 usage error, 3 tampering found\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY,
    run_audit,
};
