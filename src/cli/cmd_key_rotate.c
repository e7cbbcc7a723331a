/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori key rotate --repo OLD --to NEW: copy every generation into a new repository with a
 * new master key (mm_repo_rotate does the work: resumable, verified), print each step, and
 * record rotate-started, rotate-copied and rotate-finished in the audit logs of both
 * repositories (medium and host). Reached from `mamori key` (cmd_init.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "backup/backup.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "repo/repo.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

struct rot_cli {
    struct cli_ctx *ctx;
    mm_repo *old;
    const char *old_path, *new_path;
    char new_id[MM_CRYPTO_HEX_SIZE];
};

/* Write one rotate event with @b to the logs of @r at @path. */
static void audit_one(struct rot_cli *c, mm_repo *r, const char *path, unsigned int kind,
                      struct mm_audit_fields *b)
{
    struct mm_audit_event ev = { 0 };

    ev.kind = kind;
    ev.fields = b->f;
    ev.nfields = b->n;
    cli_audit_write(c->ctx, r, path, &ev);
}

/* The fields every rotate event carries: both repositories and the counts. */
static void audit_fields(const struct rot_cli *c, const struct mm_repo_rotate_event *ev,
                         struct mm_audit_fields *b)
{
    mm_audit_fields_add(b, "from", mm_repo_id(c->old));
    mm_audit_fields_add(b, "to", c->new_id[0] ? c->new_id : NULL);
    mm_audit_fields_addu(b, "generations", ev->total);
    mm_audit_fields_addu(b, "done", ev->done);
    mm_audit_fields_addu(b, "skipped", ev->skipped);
}

/* Each step: printed, and recorded in both repositories' logs. */
static int on_event(const struct mm_repo_rotate_event *ev, void *arg)
{
    struct rot_cli *c = arg;
    struct cli_ctx *ctx = c->ctx;
    struct mm_audit_fields b = { 0 };
    unsigned int kind = ev->step == MM_REPO_ROTATE_STARTED  ? MM_AUDIT_ROTATE_STARTED
                        : ev->step == MM_REPO_ROTATE_COPIED ? MM_AUDIT_ROTATE_COPIED
                                                            : MM_AUDIT_ROTATE_FINISHED;

    snprintf(c->new_id, sizeof(c->new_id), "%s", mm_repo_id(ev->newr));
    audit_fields(c, ev, &b);
    if (ev->step == MM_REPO_ROTATE_STARTED)
        mm_audit_fields_add(&b, "resumed", ev->resumed ? "yes" : "no");
    if (ev->step == MM_REPO_ROTATE_COPIED) {
        mm_audit_fields_add(&b, "generation", ev->old_gen);
        mm_audit_fields_add(&b, "copy", ev->new_gen);
    }
    if (ev->step != MM_REPO_ROTATE_STARTED) {
        mm_audit_fields_addu(&b, "files", ev->files);
        mm_audit_fields_addu(&b, "bytes", ev->bytes);
    }
    if (ev->step == MM_REPO_ROTATE_FINISHED)
        mm_audit_fields_add(&b, "result", "ok");
    audit_one(c, c->old, c->old_path, kind, &b);
    audit_one(c, ev->newr, c->new_path, kind, &b);
    if (ctx->quiet)
        return 0;
    if (ev->step == MM_REPO_ROTATE_STARTED && ev->resumed)
        printf(CLI_T(ctx, "前回の続きから再開します: 世代 %zu 件のうち %zu 件は複製済みです\n",
                     "continuing an earlier run: %zu generations, %zu of them copied already\n"),
               ev->total, ev->skipped);
    else if (ev->step == MM_REPO_ROTATE_STARTED)
        printf(CLI_T(ctx,
                     "新しいマスター鍵で新しいリポジトリを作りました。世代 %zu 件を複製します\n",
                     "created the new repository with a new master key; copying %zu "
                     "generations\n"),
               ev->total);
    else if (ev->step == MM_REPO_ROTATE_COPIED)
        printf(CLI_T(ctx,
                     "世代 %.12s を %.12s として複製し、照合しました（%zu/%zu、ファイル %llu 件）\n",
                     "copied generation %.12s as %.12s and compared it (%zu/%zu, %llu files)\n"),
               ev->old_gen, ev->new_gen, ev->done, ev->total, (unsigned long long)ev->files);
    fflush(stdout);
    return 0;
}

/* A failed rotation: recorded in the old repository's logs (the new one may not open). */
static void audit_failed(struct rot_cli *c, int err, const struct mm_repo_rotate_stats *st)
{
    struct mm_audit_fields b = { 0 };

    mm_audit_fields_add(&b, "from", mm_repo_id(c->old));
    mm_audit_fields_add(&b, "to", c->new_id[0] ? c->new_id : NULL);
    mm_audit_fields_addu(&b, "generations", st->total);
    mm_audit_fields_addu(&b, "copied", st->copied);
    mm_audit_fields_add(&b, "result", "failed");
    mm_audit_fields_add(&b, "error", mm_error_name(err));
    snprintf(b.msg, sizeof(b.msg), "%s", mm_error_last());
    mm_audit_fields_add(&b, "message", b.msg);
    audit_one(c, c->old, c->old_path, MM_AUDIT_ROTATE_FINISHED, &b);
}

/* The end: what was done, the medium's viewer when none was copied, and what comes next. */
static void finish(struct rot_cli *c, mm_repo *newr, const struct mm_repo_rotate_stats *st)
{
    struct cli_ctx *ctx = c->ctx;
    struct mm_repo_medium m;
    int labelled = mm_repo_medium_get(newr, &m) == 0;

    if (st->viewer_files == 0 &&
        mm_backup_medium_viewer(c->new_path, labelled ? &m : NULL,
                                MM_BACKUP_VIEWER_WRITE |
                                        (cli_viewer_copy_wanted() ? MM_BACKUP_VIEWER_BIN : 0),
                                cli_windows_exe(), NULL) < 0)
        cli_error(CLI_T(ctx, "新しい媒体のビューアを書けませんでした: %s",
                        "could not write the viewer on the new medium: %s"),
                  mm_error_last());
    mm_error_clear();
    if (ctx->quiet)
        return;
    printf(CLI_T(ctx,
                 "鍵の更新が終わりました: 世代 %zu 件（今回 %zu 件、前回まで %zu 件）、ファイル %llu "
                 "件を複製し照合しました。\n"
                 "新しいリポジトリの鍵スロットは 1 つです。ほかの利用者は mamori key add で追加し、\n"
                 "mamori verify --read-data で確かめてから、古い媒体を安全に消去してください。\n",
                 "key rotation done: %zu generations (%zu now, %zu by earlier runs), %llu files "
                 "copied and compared.\n"
                 "The new repository has one key slot: add the other users with mamori key add,\n"
                 "check it with mamori verify --read-data, then erase the old medium safely.\n"),
           st->total, st->copied, st->skipped, (unsigned long long)st->files);
}

/* The default work folder: $TMPDIR (else /var/tmp)/mamori-rotate-<old ID>. */
static const char *default_work(mm_repo *old, char *buf, size_t cap)
{
    const char *tmp = getenv("TMPDIR");

    if (!tmp || !*tmp)
        tmp = "/var/tmp";
    if (snprintf(buf, cap, "%s/mamori-rotate-%s", tmp, mm_repo_id(old)) >= (int)cap)
        return NULL;
    return buf;
}

/* Run the rotation with the options read; prints. @return a CLI exit code */
static int rotate(struct rot_cli *c, struct mm_repo_rotate_opts *o)
{
    struct cli_ctx *ctx = c->ctx;
    struct mm_repo_rotate_stats st = { 0 };
    mm_repo *newr = NULL;
    int err;

    o->event = on_event;
    o->problem = NULL;
    o->ctx = c;
    err = mm_repo_rotate(c->old, c->new_path, o, &newr, &st);
    if (err < 0) {
        int rc = cli_repo_error(ctx, err);
        audit_failed(c, err, &st);
        if (st.copied || st.skipped)
            fprintf(stderr,
                    CLI_T(ctx,
                          "mamori: 複製し照合した世代 %zu 件は新しいリポジトリに残っています。"
                          "同じコマンドをもう一度実行すると続きから再開します\n",
                          "mamori: the %zu generations copied and compared stay in the new "
                          "repository; run the same command again to continue\n"),
                    st.copied + st.skipped);
        return rc;
    }
    finish(c, newr, &st);
    mm_repo_free(newr);
    return CLI_OK;
}

/* The options of key rotate. */
struct rot_args {
    const char *repo, *to, *user, *as, *passfile, *newfile, *passes, *mib, *work;
};

/* Parse the options into @a (prints a usage error). @return CLI_OK or a CLI exit code */
static int parse_args(struct cli_ctx *ctx, int argc, char **argv, const struct cmd *cmd,
                      struct rot_args *a)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "to", required_argument, NULL, 't' },
        { "user", required_argument, NULL, 'u' },
        { "as", required_argument, NULL, 'a' },
        { "passphrase-file", required_argument, NULL, 'p' },
        { "new-passphrase-file", required_argument, NULL, 'n' },
        { "kdf-passes", required_argument, NULL, 'P' },
        { "kdf-memory", required_argument, NULL, 'M' },
        { "work", required_argument, NULL, 'w' },
        { "audit-dir", required_argument, NULL, 'A' },
        { "allow-weak-secrets", no_argument, NULL, CLI_OPT_WEAK },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    a->repo = ctx->repo;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            a->repo = optarg;
            break;
        case 't':
            a->to = optarg;
            break;
        case 'u':
            a->user = optarg;
            break;
        case 'a':
            a->as = optarg;
            break;
        case 'p':
            a->passfile = optarg;
            break;
        case 'n':
            a->newfile = optarg;
            break;
        case 'P':
            a->passes = optarg;
            break;
        case 'M':
            a->mib = optarg;
            break;
        case 'w':
            a->work = optarg;
            break;
        case 'A':
            ctx->audit_dir = optarg;
            break;
        case CLI_OPT_WEAK:
            ctx->allow_weak = 1;
            break;
        default:
            return cli_option_error(ctx, cmd, opt, argv);
        }
    }
    if (optind != argc)
        return cli_usage(ctx, cmd, CLI_T(ctx, "引数が多すぎます", "too many arguments"));
    if (!a->repo || !*a->repo || !a->to || !*a->to)
        return cli_usage(
                ctx, cmd,
                CLI_T(ctx, "--repo（今のリポジトリ）と --to（新しいリポジトリ）を指定してください",
                      "give --repo (the repository now) and --to (the new one)"));
    return CLI_OK;
}

int cli_key_rotate(struct cli_ctx *ctx, int argc, char **argv, const struct cmd *cmd)
{
    struct rot_args a = { 0 };
    struct mm_repo_rotate_opts o = { 0 };
    struct mm_kdf_params kdf;
    struct rot_cli c = { 0 };
    char pass[CLI_PASS_MAX], wbuf[4096];
    const char *work;
    size_t len = 0;
    int rc;

    if ((rc = parse_args(ctx, argc, argv, cmd, &a)) != CLI_OK)
        return rc;
    if (cli_key_parse_kdf(a.passes, a.mib, &kdf) < 0)
        return cli_usage(ctx, cmd,
                         CLI_T(ctx, "--kdf-passes は 1〜16、--kdf-memory は 1〜1024 (MiB) です",
                               "--kdf-passes takes 1 to 16, --kdf-memory 1 to 1024 (MiB)"));
    if ((rc = cli_secret_kdf(ctx, &kdf)) != CLI_OK)
        return rc;
    if ((rc = cli_repo_open(ctx, a.repo, a.as, a.passfile, &c.old)) != CLI_OK)
        return rc;
    c.ctx = ctx;
    c.old_path = a.repo;
    c.new_path = a.to;
    if (!(work = a.work ? a.work : default_work(c.old, wbuf, sizeof(wbuf)))) {
        rc = cli_usage(ctx, cmd, CLI_T(ctx, "--work を指定してください", "give --work"));
        goto out;
    }
    if ((rc = cli_passphrase(ctx, a.newfile, "MAMORI_NEW_PASSPHRASE",
                             "新しいリポジトリのパスフレーズ: ",
                             "the new repository's passphrase: ", 1, pass, &len)) != CLI_OK)
        goto out;
    o.user = a.user ? a.user : mm_repo_user(c.old);
    if ((rc = cli_secret_new(ctx, pass, len, o.user, a.to)) != CLI_OK) {
        mm_crypto_wipe(pass, sizeof(pass));
        goto out;
    }
    o.pass = pass;
    o.passlen = len;
    o.kdf = &kdf;
    o.work = work;
    rc = rotate(&c, &o);
    mm_crypto_wipe(pass, sizeof(pass));
out:
    mm_repo_free(c.old);
    return rc;
}
