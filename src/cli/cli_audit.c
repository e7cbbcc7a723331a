/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The repository commands' audit events (cli_audit.h): where the logs live, and one small
 * function per event that turns a command's result into the event's fields. The medium's log
 * is <repo>/audit/audit.log (details sealed with the repository's keys, since a medium can be
 * lost); the host's log is <audit folder>/<repository ID>.log (details in the clear, 0600 in
 * a 0700 folder, like the patient index cache). Failures to write either only warn.
 */
#include "src/cli/cli_audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "src/cli/cli_win.h"

#ifdef _WIN32
/* Windows: --audit-dir, MAMORI_AUDIT_DIR (UTF-8), else %LOCALAPPDATA%\mamori\audit */
int cli_audit_host_dir(const struct cli_ctx *ctx, char *out, size_t cap)
{
    const char *e;
    int n;

    if (ctx->audit_dir && *ctx->audit_dir)
        n = snprintf(out, cap, "%s", ctx->audit_dir);
    else if ((e = cli_env_path("MAMORI_AUDIT_DIR")) && *e)
        n = snprintf(out, cap, "%s", e);
    else
        return cli_win_local_dir("audit", out, cap);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}
#else
int cli_audit_host_dir(const struct cli_ctx *ctx, char *out, size_t cap)
{
    const char *e;
    int n;

    if (ctx->audit_dir && *ctx->audit_dir)
        n = snprintf(out, cap, "%s", ctx->audit_dir);
    else if ((e = getenv("MAMORI_AUDIT_DIR")) && *e)
        n = snprintf(out, cap, "%s", e);
    else if ((e = getenv("XDG_STATE_HOME")) && *e == '/')
        n = snprintf(out, cap, "%s/mamori/audit", e);
    else if ((e = getenv("HOME")) && *e)
        n = snprintf(out, cap, "%s/.local/state/mamori/audit", e);
    else
        return -1;
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}
#endif

int cli_audit_repo_base(const char *repo, char *out, size_t cap)
{
    return mm_audit_medium_base(repo, out, cap);
}

int cli_audit_host_base(const struct cli_ctx *ctx, const char *id, char *out, size_t cap)
{
    char dir[4096];

    if (cli_audit_host_dir(ctx, dir, sizeof(dir)) < 0)
        return -1;
    return mm_audit_host_base(dir, id, out, cap);
}

int cli_audit_repo_id(const char *hex, unsigned char out[MM_AUDIT_REPO_ID_SIZE])
{
    return mm_audit_repo_id(hex, out);
}

/* The library's last message, kept across the audit calls a failing command makes before it
 * prints its own error. */
struct saved_error {
    char msg[512];
};

static void save_error(struct saved_error *s)
{
    snprintf(s->msg, sizeof(s->msg), "%s", mm_error_last());
}

static void restore_error(const struct saved_error *s)
{
    if (s->msg[0])
        mm_error_set(MM_ERROR, "%s", s->msg);
    else
        mm_error_clear();
}

void cli_audit_write(const struct cli_ctx *ctx, mm_repo *r, const char *repo,
                     const struct mm_audit_event *ev)
{
    cli_audit_write_n(ctx, r, repo, ev, 1);
}

void cli_audit_report(const struct cli_ctx *ctx, const struct mm_audit_write_report *rep)
{
    if (rep->nomem) {
        cli_error("%s", CLI_T(ctx, "監査ログに記録できませんでした: メモリ不足",
                              "the audit event could not be written: out of memory"));
        return;
    }
    if (rep->medium_failed)
        cli_error(
                CLI_T(ctx,
                      "監査ログを媒体に書けませんでした（%s）。この PC の監査ログにだけ記録します",
                      "the audit event could not be written to the medium (%s); it is "
                      "recorded in this host's audit log only"),
                rep->medium_msg);
    if (rep->no_host)
        cli_error("%s", CLI_T(ctx,
                              "この PC の監査ログの場所が決まりません（--audit-dir か "
                              "MAMORI_AUDIT_DIR を指定してください）",
                              "no place for this host's audit log (give --audit-dir or "
                              "MAMORI_AUDIT_DIR)"));
    else if (rep->host_failed)
        cli_error(CLI_T(ctx, "この PC の監査ログに書けませんでした%s: %s",
                        "this host's audit log could not be written%s: %s"),
                  rep->medium_ok ? ""
                                 : CLI_T(ctx, "（この操作はどこにも記録されていません）",
                                         " (this action is recorded nowhere)"),
                  rep->host_msg);
    if (rep->head_failed)
        cli_error(CLI_T(ctx, "媒体のリポジトリヘッド: %s", "the medium's repository head: %s"),
                  rep->head_msg);
}

const char *cli_audit_dir_or_null(const struct cli_ctx *ctx, char *buf, size_t cap)
{
    return cli_audit_host_dir(ctx, buf, cap) == 0 ? buf : NULL;
}

void cli_audit_write_n(const struct cli_ctx *ctx, mm_repo *r, const char *repo,
                       const struct mm_audit_event *evs, size_t n)
{
    struct mm_audit_write_report rep;
    char dir[4096];

    if (mm_audit_repo_write_head(r, repo, cli_audit_dir_or_null(ctx, dir, sizeof(dir)), evs, n,
                                 NULL, &rep) != 0)
        cli_audit_report(ctx, &rep);
}

void cli_audit_media_refused(const struct cli_ctx *ctx, mm_repo *r, const char *reason,
                             const char *have, const char *want, const char *want_hospital)
{
    char base[4200];
    unsigned char id[MM_AUDIT_REPO_ID_SIZE];
    struct mm_audit_field f[4];
    struct mm_audit_event e = { 0 };
    struct mm_audit_target t = { 0 };
    size_t n = 0;

    f[n++] = (struct mm_audit_field){ "reason", reason };
    if (have)
        f[n++] = (struct mm_audit_field){ "medium", have };
    if (want)
        f[n++] = (struct mm_audit_field){ "wanted", want };
    if (want_hospital)
        f[n++] = (struct mm_audit_field){ "wanted_hospital", want_hospital };
    e.kind = MM_AUDIT_MEDIA_REFUSED;
    e.user = mm_repo_user(r);
    e.fields = f;
    e.nfields = n;
    if (cli_audit_repo_id(mm_repo_id(r), id) < 0 ||
        cli_audit_host_base(ctx, mm_repo_id(r), base, sizeof(base)) < 0)
        return; /* the refusal itself is on stderr */
    t.repo_id = id;
    t.ks = mm_repo_keyset(r);
    t.base = base;
    t.store = MM_AUDIT_CLEAR;
    if (mm_audit_append_n(&t, &e, 1, NULL) < 0)
        cli_error(CLI_T(ctx, "この PC の監査ログに書けませんでした: %s",
                        "this host's audit log could not be written: %s"),
                  mm_error_last());
}

/* A wrong passphrase of kind @kind, written without the key (see cli_audit_unlock_failed). */
static void failed_unlock(const struct cli_ctx *ctx, const char *repo, const char *user,
                          unsigned int kind)
{
    static const char hex[] = "0123456789abcdef";
    char base[4200], idhex[2 * MM_AUDIT_REPO_ID_SIZE + 1];
    unsigned char id[MM_AUDIT_REPO_ID_SIZE], pk[MM_CRYPTO_PK_SIZE];
    struct mm_audit_field f[1] = { { "slot", user ? user : "" } };
    struct mm_audit_event ev = { 0 };
    struct mm_audit_target t = { 0 };
    struct saved_error se;

    save_error(&se);
    if (cli_audit_repo_base(repo, base, sizeof(base)) < 0 || mm_audit_header_read(base, id, pk) < 0)
        goto out; /* no log on the medium (yet): nothing to chain to */
    for (size_t i = 0; i < MM_AUDIT_REPO_ID_SIZE; i++) {
        idhex[2 * i] = hex[id[i] >> 4];
        idhex[2 * i + 1] = hex[id[i] & 15];
    }
    idhex[2 * MM_AUDIT_REPO_ID_SIZE] = '\0';
    ev.kind = kind;
    ev.user = user;
    ev.fields = f;
    ev.nfields = user ? 1 : 0;
    t.base = base;
    t.repo_id = id;
    t.store = MM_AUDIT_SEALED; /* without a key the fields stay clear: they hold no patient data */
    (void)mm_audit_append(&t, &ev, NULL);
    if (cli_audit_host_base(ctx, idhex, base, sizeof(base)) == 0) {
        t.store = MM_AUDIT_CLEAR;
        (void)mm_audit_append(&t, &ev, NULL);
    }
out:
    restore_error(&se);
}

void cli_audit_unlock_failed(const struct cli_ctx *ctx, const char *repo, const char *user)
{
    failed_unlock(ctx, repo, user, MM_AUDIT_UNLOCK_FAILED);
}

/* The error of a failed command: its code's name and the library's message. */
static void adderr(struct mm_audit_fields *b, int err)
{
    mm_audit_fields_add(b, "error", mm_error_name(err));
    snprintf(b->msg, sizeof(b->msg), "%s", mm_error_last());
    if (b->msg[0])
        mm_audit_fields_add(b, "message", b->msg);
}

static void emit(const struct cli_ctx *ctx, mm_repo *r, const char *repo, unsigned int kind,
                 struct mm_audit_fields *b, enum mm_audit_subject sk, const char *subject)
{
    struct mm_audit_event ev = { 0 };
    struct saved_error se;

    ev.kind = kind;
    ev.fields = b->f;
    ev.nfields = b->n;
    ev.subject_kind = subject ? sk : MM_AUDIT_SUBJECT_NONE;
    ev.subject = subject;
    save_error(&se);
    cli_audit_write(ctx, r, repo, &ev);
    restore_error(&se);
}

void cli_audit_init(const struct cli_ctx *ctx, const char *repo, const char *user, const char *pass,
                    size_t passlen)
{
    struct mm_audit_fields b = { 0 };
    mm_repo *r = NULL;

    /* the new repository is opened once more to sign its first event */
    if (mm_repo_open(&r, repo, user, pass, passlen) < 0) {
        cli_error(CLI_T(ctx, "監査ログに記録できませんでした: %s",
                        "the audit event could not be written: %s"),
                  mm_error_last());
        return;
    }
    mm_audit_fields_add(&b, "repository", mm_repo_id(r));
    mm_audit_fields_add(&b, "slot", user);
    emit(ctx, r, repo, MM_AUDIT_INIT, &b, MM_AUDIT_SUBJECT_NONE, NULL);
    mm_repo_free(r);
}

void cli_audit_key(const struct cli_ctx *ctx, mm_repo *r, const char *repo, int added,
                   const char *slot)
{
    struct mm_audit_fields b = { 0 };

    mm_audit_fields_add(&b, "slot", slot);
    emit(ctx, r, repo, added ? MM_AUDIT_KEY_ADD : MM_AUDIT_KEY_REMOVE, &b, MM_AUDIT_SUBJECT_NONE,
         NULL);
}

static const char *result(int err, int damaged)
{
    return err < 0 ? "failed" : damaged ? "damaged" : "ok";
}

void cli_audit_verify(const struct cli_ctx *ctx, mm_repo *r, const char *repo, int err,
                      int read_data, const struct mm_repo_verify_stats *st, uint64_t problems)
{
    struct mm_audit_fields b = { 0 };
    int damaged = err == 0 && (st->damaged_generations || st->damaged_packs ||
                               st->damaged_objects || st->damaged_files || problems);

    mm_audit_fields_add(&b, "result", err < 0 ? "failed" : damaged ? "damaged" : "clean");
    mm_audit_fields_add(&b, "read_data", read_data ? "yes" : "no");
    if (err < 0) {
        adderr(&b, err);
    } else {
        mm_audit_fields_addu(&b, "generations", st->generations);
        mm_audit_fields_addu(&b, "packs", st->packs);
        mm_audit_fields_addu(&b, "objects", st->objects);
        mm_audit_fields_addu(&b, "damaged_generations", st->damaged_generations);
        mm_audit_fields_addu(&b, "damaged_packs", st->damaged_packs);
        mm_audit_fields_addu(&b, "damaged_objects", st->damaged_objects);
        mm_audit_fields_addu(&b, "damaged_files", st->damaged_files);
    }
    emit(ctx, r, repo, MM_AUDIT_VERIFY, &b, MM_AUDIT_SUBJECT_NONE, NULL);
}

void cli_audit_restore(const struct cli_ctx *ctx, mm_repo *r, const char *repo, int err,
                       const char *gen, const char *to, const struct mm_repo_restore_opts *o,
                       const struct mm_repo_restore_stats *st)
{
    struct mm_repo_gen g;
    struct mm_audit_fields b = { 0 };
    struct saved_error se;
    int found;

    memset(&g, 0, sizeof(g));
    save_error(&se);
    found = mm_repo_gen_find(r, gen, &g) == 0;
    restore_error(&se);
    mm_audit_fields_add(&b, "result", result(err, err == 0 && st->damaged));
    mm_audit_fields_add(&b, "generation", found ? g.id : gen);
    mm_audit_fields_add(&b, "scope", o->patient ? "patient" : o->path_prefix ? "path" : "all");
    mm_audit_fields_add(&b, "to", to);
    if (o->mode != MM_REPO_RESTORE_NEW)
        mm_audit_fields_add(&b, "mode", o->mode == MM_REPO_RESTORE_MERGE ? "merge" : "overwrite");
    if (err < 0) {
        adderr(&b, err);
    } else {
        if (st->aside[0])
            mm_audit_fields_add(&b, "moved_aside_to", st->aside);
        mm_audit_fields_addu(&b, "files", st->files);
        mm_audit_fields_addu(&b, "dirs", st->dirs);
        mm_audit_fields_addu(&b, "bytes", st->bytes);
        mm_audit_fields_addu(&b, "damaged", st->damaged);
    }
    emit(ctx, r, repo, MM_AUDIT_RESTORE, &b,
         o->patient ? MM_AUDIT_SUBJECT_PATIENT : MM_AUDIT_SUBJECT_PATH,
         o->patient ? o->patient : o->path_prefix);
    if (found)
        mm_repo_gen_release(&g);
}

void cli_audit_ids_add(struct cli_audit_ids *ids, const char *id)
{
    size_t n = strlen(id);
    char *s = realloc(ids->s, ids->len + n + 2);

    if (!s)
        return; /* the list is only shortened: the counts stay right */
    if (ids->len)
        s[ids->len++] = ',';
    memcpy(s + ids->len, id, n + 1);
    ids->len += n;
    ids->s = s;
}

void cli_audit_prune(const struct cli_ctx *ctx, mm_repo *r, const char *repo, int err, int dry_run,
                     struct cli_audit_ids *removed, const struct mm_repo_prune_stats *st)
{
    struct mm_audit_fields b = { 0 };

    if (dry_run)
        goto out;
    mm_audit_fields_add(&b, "result", result(err, 0));
    if (err < 0) {
        adderr(&b, err);
    } else {
        mm_audit_fields_addu(&b, "kept", st->gens_kept);
        mm_audit_fields_addu(&b, "removed", st->gens_removed);
        mm_audit_fields_addu(&b, "packs_removed", st->packs_removed);
        mm_audit_fields_addu(&b, "packs_rewritten", st->packs_rewritten);
        mm_audit_fields_addu(&b, "bytes_freed", st->bytes_freed);
        /* values hold at most 4096 bytes: 62 IDs; the count above is always whole */
        if (removed->s && removed->len <= 4096)
            mm_audit_fields_add(&b, "generations", removed->s);
    }
    emit(ctx, r, repo, MM_AUDIT_PRUNE, &b, MM_AUDIT_SUBJECT_NONE, NULL);
out:
    free(removed->s);
    removed->s = NULL;
    removed->len = 0;
}

void cli_audit_viewer_n(const struct cli_ctx *ctx, mm_repo *r, const char *repo,
                        const struct mm_viewer_event *evs, size_t n, const char *via)
{
    struct mm_audit_event *e;
    struct mm_audit_field(*f)[3];
    struct saved_error se;

    if (!r) { /* failed logins: written without the key, one by one (rare) */
        for (size_t i = 0; i < n; i++)
            failed_unlock(ctx, repo, evs[i].user, MM_AUDIT_VIEWER_LOGIN_FAILED);
        return;
    }
    e = calloc(n ? n : 1, sizeof(*e));
    f = calloc(n ? n : 1, sizeof(*f));
    if (!e || !f) {
        free(e);
        free(f);
        cli_error("%s", CLI_T(ctx, "監査ログに記録できませんでした: メモリ不足",
                              "the audit events could not be written: out of memory"));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct mm_viewer_event *v = &evs[i];
        size_t k = 0;
        f[i][k].key = "via";
        f[i][k++].value = via;
        if (v->generation) {
            f[i][k].key = "generation";
            f[i][k++].value = v->generation;
        }
        if (v->reason) {
            f[i][k].key = "reason";
            f[i][k++].value = v->reason;
        }
        e[i].kind = v->kind == MM_VIEWER_LOGIN     ? MM_AUDIT_VIEWER_LOGIN
                    : v->kind == MM_VIEWER_PATIENT ? MM_AUDIT_PATIENT_OPENED
                                                   : MM_AUDIT_VIEWER_LOGOUT;
        e[i].user = v->user;
        e[i].time_ns = v->time_ns;
        e[i].utc_offset_s = v->utc_offset_s;
        e[i].fields = f[i];
        e[i].nfields = k;
        e[i].subject_kind = v->patient ? MM_AUDIT_SUBJECT_PATIENT : MM_AUDIT_SUBJECT_NONE;
        e[i].subject = v->patient;
    }
    save_error(&se);
    cli_audit_write_n(ctx, r, repo, e, n);
    restore_error(&se);
    free(f);
    free(e);
}

/* ---- interrupted writers ------------------------------------------------------------------ */

void cli_audit_interrupted_say(const struct cli_ctx *ctx, const struct mm_repo_interrupted *it,
                               int recorded, const struct mm_audit_write_report *rep)
{
    char when[32] = "?";
    const char *op = it->op[0] ? it->op : CLI_T(ctx, "書き込み", "write");
    time_t t = (time_t)it->start;
    struct tm tm;

    if (it->start > 0 && localtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    if (ctx->lang == CLI_LANG_EN)
        fprintf(stderr,
                "mamori: an earlier %s (process %ld on host '%s', started %s, key slot '%s') was "
                "killed before it finished%s\n",
                op, it->pid, cli_esc(it->host), when, it->user[0] ? cli_esc(it->user) : "?",
                recorded ? "; recorded as 'interrupted' in the audit logs"
                         : " (the audit record waits for the next run)");
    else
        fprintf(stderr,
                "mamori: 前回の %s（ホスト '%s' のプロセス %ld、%s 開始、鍵 '%s'）は終わる前に"
                "強制終了されていました%s\n",
                op, cli_esc(it->host), it->pid, when, it->user[0] ? cli_esc(it->user) : "?",
                recorded ? "。監査ログに「中断」を記録しました"
                         : "（監査ログへの記録は次回に持ち越します）");
    if (!recorded && rep)
        cli_audit_report(ctx, rep);
}

struct interrupted_arg {
    const struct cli_ctx *ctx;
};

/* mm_audit_interrupted_fn: say it. */
static void interrupted_cb(const struct mm_repo_interrupted *it, int recorded,
                           const struct mm_audit_write_report *rep, void *arg)
{
    cli_audit_interrupted_say(((struct interrupted_arg *)arg)->ctx, it, recorded, rep);
}

void cli_audit_interrupted(const struct cli_ctx *ctx, mm_repo *r, const char *repo,
                           const char *found_by)
{
    struct interrupted_arg a = { ctx };
    char dir[4096];

    if (mm_audit_record_interrupted(r, repo, cli_audit_dir_or_null(ctx, dir, sizeof(dir)), found_by,
                                    interrupted_cb, &a) < 0) {
        cli_error(CLI_T(ctx, "中断された処理の記録を読めませんでした: %s",
                        "the records of interrupted writers could not be read: %s"),
                  mm_error_last());
        mm_error_clear();
    }
}
