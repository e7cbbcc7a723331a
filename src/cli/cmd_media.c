/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori media init | show: give a medium (its repository) its label and hospital, signed
 * with the repository's key (mm_repo_medium_set), and print them. `media init` warns when
 * the medium's file system is one a Windows PC cannot read. cli_media_check() is what every
 * write that is told which medium it wants (backup --medium/--hospital) calls before it
 * writes anything: a wrong, unlabelled or other hospital's medium is refused with a message
 * naming this medium and the one wanted (no patient data).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backup/backup.h"
#include "common/error.h"
#include "os/os.h"
#include "repo/repo.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

/* "「MON」（病院 1310012345）" / "'MON' (hospital 1310012345)" into @out. */
static const char *describe(const struct cli_ctx *ctx, const char *label, const char *hospital,
                            char *out, size_t cap)
{
    int n;

    if (!label) { /* only the hospital is asked for */
        snprintf(out, cap, CLI_T(ctx, "病院 %s の媒体", "a medium of hospital %s"),
                 hospital && hospital[0] ? hospital : "-");
        return out;
    }
    n = snprintf(out, cap, CLI_T(ctx, "「%s」", "'%s'"), label);
    if (n >= 0 && (size_t)n < cap && hospital)
        snprintf(out + n, cap - (size_t)n, CLI_T(ctx, "（病院 %s）", " (hospital %s)"),
                 hospital[0] ? hospital : CLI_T(ctx, "指定なし", "none"));
    return out;
}

int cli_media_check(const struct cli_ctx *ctx, mm_repo *r, const char *label, const char *hospital)
{
    struct mm_repo_medium m;
    char have[160], want[160];
    int err;

    if (!label && !hospital)
        return CLI_OK;
    describe(ctx, label, hospital, want, sizeof(want));
    err = mm_repo_medium_get(r, &m);
    if (err == MM_ENOTFOUND) {
        cli_audit_media_refused(ctx, r, "unlabelled", NULL, label, hospital);
        cli_error(CLI_T(ctx,
                        "この媒体にはラベルがありません（mamori media init で付けます）。"
                        "必要な媒体は%sです。何も書き込んでいません",
                        "this medium has no label (mamori media init gives one); the medium "
                        "wanted is %s. Nothing was written"),
                  want);
        return CLI_ERROR;
    }
    if (err < 0) {
        cli_audit_media_refused(ctx, r, "label-unverified", NULL, label, hospital);
        cli_error(CLI_T(ctx,
                        "この媒体のラベルを確かめられません（書き換えか破損: %s）。"
                        "必要な媒体は%sです。何も書き込んでいません",
                        "this medium's label cannot be trusted (edited or damaged: %s); the "
                        "medium wanted is %s. Nothing was written"),
                  mm_error_last(), want);
        return CLI_ERROR;
    }
    switch (mm_repo_medium_judge(&m, label, hospital)) {
    case MM_REPO_MEDIUM_OK:
        return CLI_OK;
    case MM_REPO_MEDIUM_OTHER_HOSPITAL:
        cli_audit_media_refused(ctx, r, "other-hospital", m.label, label, hospital);
        describe(ctx, m.label, m.hospital, have, sizeof(have));
        cli_error(CLI_T(ctx,
                        "この媒体は別の病院の媒体%sです。必要な媒体は%sです。何も書き込んで"
                        "いません",
                        "this is another hospital's medium, %s; the medium wanted is %s. "
                        "Nothing was written"),
                  have, want);
        return CLI_ERROR;
    default:
        cli_audit_media_refused(ctx, r, "wrong-label", m.label, label, hospital);
        describe(ctx, m.label, m.hospital[0] ? m.hospital : NULL, have, sizeof(have));
        cli_error(CLI_T(ctx,
                        "この媒体は%sです。必要な媒体は%sです。正しい媒体をつないでください。"
                        "何も書き込んでいません",
                        "this medium is %s; the medium wanted is %s. Attach the right medium. "
                        "Nothing was written"),
                  have, want);
        return CLI_ERROR;
    }
}

/* Warn on stderr when the medium at @repo lies on a file system Windows cannot read. */
static void fs_warning(const struct cli_ctx *ctx, const char *repo)
{
    struct mm_os_fs fs;

    if (mm_os_fs_type(repo, &fs) < 0) {
        mm_error_clear();
        return;
    }
    if (!MM_OS_FS_WINDOWS(fs.kind))
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 警告: この媒体のファイルシステム（%s）は Windows で読めません。"
                      "媒体は exFAT（mkfs.exfat -L <ラベル>）か NTFS にしてください"
                      "（docs/operations.md「媒体の準備」）\n",
                      "mamori: warning: this medium's file system (%s) cannot be read by "
                      "Windows; format media as exFAT (mkfs.exfat -L <label>) or NTFS "
                      "(docs/operations.md, \"Preparing a medium\")\n"),
                fs.name);
}

static void print_medium(const struct cli_ctx *ctx, const struct mm_repo_medium *m,
                         const char *fsname)
{
    char when[32];
    time_t t = (time_t)m->written;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (ctx->json) {
        printf("{\"label\":");
        cli_json_str(stdout, m->label, strlen(m->label));
        printf(",\"hospital\":");
        if (m->hospital[0])
            cli_json_str(stdout, m->hospital, strlen(m->hospital));
        else
            printf("null");
        printf(",\"written\":\"%s\",\"by\":", when);
        cli_json_str(stdout, m->by, strlen(m->by));
        printf(",\"verified\":%s,\"filesystem\":\"%s\"}\n", m->verified ? "true" : "false", fsname);
        return;
    }
    printf("%s %s\n", CLI_T(ctx, "ラベル:        ", "label:     "), m->label);
    printf("%s %s\n", CLI_T(ctx, "病院:          ", "hospital:  "),
           m->hospital[0] ? m->hospital : CLI_T(ctx, "（なし）", "(none)"));
    printf(CLI_T(ctx, "%s %s（%s）\n", "%s %s (%s)\n"),
           CLI_T(ctx, "書き込み:      ", "written:   "), when, m->by);
    printf("%s %s\n", CLI_T(ctx, "署名:          ", "signature: "),
           CLI_T(ctx, "確認済み", "verified"));
    printf("%s %s\n", CLI_T(ctx, "ファイルシステム:", "filesystem:"), fsname);
}

struct media_args {
    const char *repo, *user, *passfile, *label, *hospital;
    int force;
};

/*
 * The labelling as a `media-label` event on the medium and this host: the new label and
 * hospital, and the label it replaced (a relabel with --force) or "" for an unlabelled medium.
 */
static void audit_label(const struct cli_ctx *ctx, mm_repo *r, const struct media_args *a,
                        const struct mm_repo_medium *old)
{
    struct mm_audit_field f[4];
    struct mm_audit_event e = { 0 };
    size_t n = 0;

    f[n++] = (struct mm_audit_field){ "medium", a->label };
    if (a->hospital)
        f[n++] = (struct mm_audit_field){ "hospital", a->hospital };
    f[n++] = (struct mm_audit_field){ "replaced", old->label };
    if (old->hospital[0])
        f[n++] = (struct mm_audit_field){ "replaced_hospital", old->hospital };
    e.kind = MM_AUDIT_MEDIA_LABEL;
    e.fields = f;
    e.nfields = n;
    cli_audit_write(ctx, r, a->repo, &e);
}

static int media_init(struct cli_ctx *ctx, mm_repo *r, const struct media_args *a)
{
    struct mm_repo_medium old = { 0 };
    unsigned int stale = 0;
    int err;

    if (!a->label)
        return cli_usage(ctx, &cmd_media,
                         CLI_T(ctx, "--label を指定してください", "--label is required"));
    fs_warning(ctx, a->repo);
    if ((err = mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, &stale)) < 0)
        return cli_repo_error(ctx, err);
    if (mm_repo_medium_get(r, &old) < 0) /* unlabelled, or a label that does not verify */
        memset(&old, 0, sizeof(old));
    if ((err = mm_repo_medium_set(r, a->label, a->hospital, a->force)) < 0) {
        if (err == MM_EEXISTS || err == MM_EAUTH || err == MM_ECORRUPT) {
            cli_error(CLI_T(ctx,
                            "この媒体には別のラベルがあります（または検証できません）。"
                            "付け替えるには --force を指定してください: %s",
                            "this medium has another label (or one that does not verify); "
                            "give --force to relabel it: %s"),
                      mm_error_last());
            return CLI_ERROR;
        }
        return cli_lib_error(err);
    }
    audit_label(ctx, r, a, &old);
    /* the guide on the medium names its label: rewritten now, or by the next backup */
    if ((err = mm_backup_medium_relabel(r, a->repo)) < 0)
        cli_error(CLI_T(ctx, "媒体の緊急時の使い方を書き換えられませんでした: %s",
                        "the emergency guide on the medium could not be rewritten: %s"),
                  mm_error_last());
    else if (err == 1 && !ctx->quiet)
        fprintf(stderr, "%s\n",
                CLI_T(ctx,
                      "mamori: 媒体の緊急時の使い方は、次のバックアップで新しいラベルに"
                      "書き換わります",
                      "mamori: the emergency guide on the medium gets the new label with the "
                      "next backup"));
    if (!ctx->quiet && !ctx->json)
        printf(CLI_T(ctx, "媒体にラベル「%s」を付けました%s%s%s\n",
                     "the medium is labelled '%s'%s%s%s\n"),
               a->label, a->hospital ? CLI_T(ctx, "（病院 ", " (hospital ") : "",
               a->hospital ? a->hospital : "", a->hospital ? CLI_T(ctx, "）", ")") : "");
    if (ctx->json)
        printf("{\"label\":\"%s\"}\n", a->label);
    return CLI_OK;
}

static int media_show(struct cli_ctx *ctx, mm_repo *r, const struct media_args *a)
{
    struct mm_repo_medium m;
    struct mm_os_fs fs;
    int err = mm_repo_medium_get(r, &m);

    if (err == MM_ENOTFOUND) {
        cli_error("%s", CLI_T(ctx, "この媒体にはラベルがありません（mamori media init で付けます）",
                              "this medium has no label (mamori media init gives one)"));
        return CLI_ERROR;
    }
    if (err == MM_EAUTH || err == MM_ECORRUPT) {
        cli_error(CLI_T(ctx, "この媒体のラベルは書き換えられたか壊れています: %s",
                        "this medium's label was edited or is damaged: %s"),
                  mm_error_last());
        return CLI_DAMAGE;
    }
    if (err < 0)
        return cli_lib_error(err);
    if (mm_os_fs_type(a->repo, &fs) < 0) {
        mm_error_clear();
        snprintf(fs.name, sizeof(fs.name), "unknown");
    }
    print_medium(ctx, &m, fs.name);
    return CLI_OK;
}

static int run_media(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "label", required_argument, NULL, 'l' },
        { "hospital", required_argument, NULL, 'H' },
        { "force", no_argument, NULL, 'f' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    struct media_args a = { ctx->repo, NULL, NULL, NULL, NULL, 0 };
    const char *verb;
    mm_repo *r = NULL;
    int opt, rc;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &a.repo, &a.user, &a.passfile))
            continue;
        switch (opt) {
        case 'l':
            a.label = optarg;
            break;
        case 'H':
            a.hospital = optarg;
            break;
        case 'f':
            a.force = 1;
            break;
        default:
            return cli_option_error(ctx, &cmd_media, opt, argv);
        }
    }
    if (optind + 1 != argc ||
        (strcmp(argv[optind], "init") != 0 && strcmp(argv[optind], "show") != 0))
        return cli_usage(ctx, &cmd_media,
                         CLI_T(ctx, "init か show を指定してください", "give init or show"));
    verb = argv[optind];
    if (!a.repo || !*a.repo)
        return cli_usage(ctx, &cmd_media,
                         CLI_T(ctx, "--repo を指定してください", "--repo is required"));
    if ((a.label && !mm_repo_medium_name_ok(a.label)) ||
        (a.hospital && !mm_repo_medium_name_ok(a.hospital)))
        return cli_usage(
                ctx, &cmd_media,
                CLI_T(ctx,
                      "ラベルと病院 ID は 1〜32 バイト、空白と / \\ : * ? \" < > | を含まず、"
                      "末尾が . でないこと",
                      "a label and a hospital ID are 1 to 32 bytes, without spaces or "
                      "/ \\ : * ? \" < > |, not ending in a dot"));
    if ((rc = cli_repo_open(ctx, a.repo, a.user, a.passfile, &r)) != CLI_OK)
        return rc;
    rc = strcmp(verb, "init") == 0 ? media_init(ctx, r, &a) : media_show(ctx, r, &a);
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_media = {
    "media",
    "media init --repo <DIR> --label <LABEL> [--hospital <ID>] [--force] | media show --repo <DIR>",
    "媒体にラベルと病院を付ける・表示する",
    "label a medium with its name and hospital, or show its label",
    "オプション:\n"
    "   --repo <DIR>              媒体のリポジトリ\n"
    "   --label <LABEL>           媒体のラベル（MON、TUE など。1〜32 バイト）\n"
    "   --hospital <ID>           病院 ID（医療機関コードなど）\n"
    "   --force                   別のラベルがある媒体に付け替える\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --json                    JSON で出す\n"
    "\n"
    "ラベルはリポジトリの鍵で署名して媒体に書き込みます（書き換えると検証できなくなります）。\n"
    "backup --medium <LABEL> --hospital <ID> は、違う媒体・ラベルのない媒体・他の病院の媒体に\n"
    "何も書き込まずに終了コード 1 で止まります。media init は Windows で読めない\n"
    "ファイルシステム（ext4、xfs、btrfs など）の媒体に警告します。\n"
    "終了コード: 0 成功、1 失敗・ラベルなし、2 使い方の誤り、3 ラベルが書き換えられている\n",
    "options:\n"
    "   --repo <DIR>              the medium's repository\n"
    "   --label <LABEL>           the medium's label (MON, TUE...; 1 to 32 bytes)\n"
    "   --hospital <ID>           the hospital's ID (its institution code, say)\n"
    "   --force                   relabel a medium that has another label\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --json                    print JSON\n"
    "\n"
    "The label is signed with the repository's key (an edited label no longer verifies).\n"
    "backup --medium <LABEL> --hospital <ID> refuses, writing nothing and with exit status 1,\n"
    "a wrong medium, an unlabelled medium and another hospital's medium. media init warns on\n"
    "a file system Windows cannot read (ext4, xfs, btrfs...).\n"
    "exit status: 0 done, 1 failed or no label, 2 usage error, 3 the label was edited\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY | CMD_WRITES_REPO,
    run_media,
};
