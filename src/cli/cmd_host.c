/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori host enroll: give a backup host a credential for a format 3 repository (a writer
 * key certified by the repository's key, and the public and clear material a host needs to
 * write), so that it can back up at night without a key that reads the repository. A person
 * runs it with a passphrase; the credential file is created with mode 0600 and never
 * overwritten. docs/format-crypto.md, "Format 3".
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "repo/repo.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

#define DEFAULT_DAYS 3650u

/*
 * Seed the host catalog in @catalog from the repository's latest generation (so the host's
 * first night stores only what is new). A failure is a warning: the credential stands.
 * @return 1 seeded (generation in @gen), 0 not
 */
static int seed(struct cli_ctx *ctx, mm_repo *r, const char *catalog, char gen[MM_CRYPTO_HEX_SIZE])
{
    int err = mm_repo_catalog_seed(r, catalog, gen);

    if (err == MM_ENOTFOUND)
        fprintf(stderr, "%s",
                CLI_T(ctx,
                      "mamori: 世代がまだないのでカタログは空です。ホストの最初のバックアップで"
                      "すべて保存します\n",
                      "mamori: no generation yet, so no catalog: the host's first backup stores "
                      "everything\n"));
    else if (err < 0)
        cli_error(CLI_T(ctx,
                        "警告: ホストのカタログを用意できませんでした（最初のバックアップで"
                        "すべて保存します）: %s",
                        "warning: the host catalog could not be seeded (the first backup stores "
                        "everything): %s"),
                  mm_error_last());
    return err == 0;
}

static int enroll(struct cli_ctx *ctx, const char *repo, const char *user, const char *passfile,
                  const char *name, unsigned days, const char *out, const char *catalog)
{
    char slot[320], gen[MM_CRYPTO_HEX_SIZE];
    int seeded = 0;
    mm_repo *r = NULL;
    int rc, err;

    if ((rc = cli_repo_open(ctx, repo, user, passfile, &r)) != CLI_OK)
        return rc;
    err = mm_repo_host_enroll(r, name, days, out);
    if (err == MM_EEXISTS) {
        cli_error(CLI_T(ctx, "'%s' は既にあります。上書きしません",
                        "'%s' exists already; it is not overwritten"),
                  out);
        mm_repo_free(r);
        return CLI_ERROR;
    }
    if (err == MM_EINVAL) {
        cli_error(
                CLI_T(ctx,
                      "ホスト資格情報を作れません（形式 3 のリポジトリが必要です: init --format 3）: %s",
                      "cannot make a host credential (a format 3 repository is needed: init "
                      "--format 3): %s"),
                mm_error_last());
        mm_repo_free(r);
        return CLI_ERROR;
    }
    if (err < 0) {
        rc = cli_lib_error(err);
        mm_repo_free(r);
        return rc;
    }
    snprintf(slot, sizeof(slot), "host:%s", name);
    cli_audit_key(ctx, r, repo, 1, slot);
    if (catalog)
        seeded = seed(ctx, r, catalog, gen);
    if (ctx->json) {
        printf("{\"credential\":");
        cli_json_str(stdout, out, strlen(out));
        printf(",\"host\":");
        cli_json_str(stdout, name, strlen(name));
        printf(",\"days\":%u", days);
        if (seeded)
            printf(",\"catalog_generation\":\"%s\"", gen);
        printf("}\n");
    } else if (!ctx->quiet) {
        printf(CLI_T(ctx,
                     "ホスト資格情報を書きました: %s（ホスト %s、%u 日有効）。"
                     "このファイルではリポジトリを読めません\n",
                     "host credential written: %s (host %s, valid %u days); it cannot read "
                     "the repository\n"),
               out, name, days);
        if (seeded)
            printf(CLI_T(ctx, "ホストのカタログを用意しました: %s（世代 %.12s まで）\n",
                         "host catalog seeded: %s (up to generation %.12s)\n"),
                   catalog, gen);
    }
    mm_repo_free(r);
    return CLI_OK;
}

static int run_host(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "out", required_argument, NULL, 'o' },
        { "name", required_argument, NULL, 'n' },
        { "days", required_argument, NULL, 'd' },
        { "catalog", required_argument, NULL, 'c' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *user = NULL, *passfile = NULL, *out = NULL, *name = NULL,
               *catalog = NULL;
    char host[256];
    unsigned long days = DEFAULT_DAYS;
    char *end;
    int opt;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &repo, &user, &passfile))
            continue;
        switch (opt) {
        case 'o':
            out = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'c':
            catalog = optarg;
            break;
        case 'd':
            days = strtoul(optarg, &end, 10);
            if (*end || days < 1 || days > 36600)
                return cli_usage(ctx, &cmd_host,
                                 CLI_T(ctx, "--days は 1〜36600 です", "--days takes 1 to 36600"));
            break;
        default:
            return cli_option_error(ctx, &cmd_host, opt, argv);
        }
    }
    if (optind + 1 != argc || strcmp(argv[optind], "enroll") != 0)
        return cli_usage(ctx, &cmd_host, CLI_T(ctx, "enroll を指定してください", "give enroll"));
    if (!repo || !*repo || !out || !*out)
        return cli_usage(
                ctx, &cmd_host,
                CLI_T(ctx, "--repo と --out を指定してください", "--repo and --out are required"));
    if (!name) {
        if (gethostname(host, sizeof(host)) != 0 || !host[0])
            snprintf(host, sizeof(host), "host");
        host[sizeof(host) - 1] = '\0';
        name = host;
    }
    return enroll(ctx, repo, user, passfile, name, (unsigned)days, out, catalog);
}

const struct cmd cmd_host = {
    "host",
    "host enroll --repo <DIR> --out <FILE> [--name <HOST>] [--days <N>]",
    "バックアップホストに書き込み専用の資格情報を与える（形式 3）",
    "give a backup host a write-only credential (format 3)",
    "オプション:\n"
    "   --repo <DIR>              形式 3 のリポジトリ（init --format 3）\n"
    "   --out <FILE>              書き出す資格情報ファイル（既にあれば拒否、モード 0600）\n"
    "   --name <HOST>             ホスト名（既定: このホストの名前）\n"
    "   --days <N>                書き込み鍵の証明書の有効日数（既定 3650）\n"
    "   --catalog <DIR>           ホストのカタログを最新の世代から用意する（backup --catalog\n"
    "                             と同じフォルダ。最初の夜は新しい分だけ保存）\n"
    "   --user <NAME>             この利用者の鍵スロットで開く\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --json                    JSON で出す\n"
    "\n"
    "資格情報には書き込み鍵（リポジトリの鍵で証明）と公開鍵・オブジェクト ID 鍵などが入り、\n"
    "リポジトリを読む鍵は入りません。検証（--read-data）・復元・閲覧はパスフレーズを持つ人が\n"
    "行います。ファイルはサービスの利用者の所有・モード 0600 でなければ読み込みを拒否します。\n",
    "options:\n"
    "   --repo <DIR>              a format 3 repository (init --format 3)\n"
    "   --out <FILE>              the credential file to write (refused if it exists; 0600)\n"
    "   --name <HOST>             the host's name (default: this host's name)\n"
    "   --days <N>                days the writer key's certificate is valid (default 3650)\n"
    "   --catalog <DIR>           seed the host catalog from the latest generation (the\n"
    "                             folder backup --catalog uses; the first night stores only\n"
    "                             what is new)\n"
    "   --user <NAME>             open with this user's key slot\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --json                    print JSON\n"
    "\n"
    "The credential holds a writer key certified by the repository's key, the public keys,\n"
    "the object-ID key and the like, and no key that reads the repository: verify --read-data,\n"
    "restore and viewing need a person with a passphrase. A credential file not owned by the\n"
    "service's user or not of mode 0600 is refused when read.\n",
    0,
    run_host,
};
