/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori init: create a repository on a medium, with a first key slot.
 * mamori key add|list|remove: one key slot per user; the last one is never removed.
 * Passphrases come from --passphrase-file, MAMORI_PASSPHRASE (key add: the new one from
 * --new-passphrase-file or MAMORI_NEW_PASSPHRASE), or a prompt on the terminal.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup/backup.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "os/os.h"
#include "repo/repo.h"
#include "repo/repo_backend.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

#define DEFAULT_USER "admin"

/* Parse "--kdf-passes N" / "--kdf-memory MiB" values. @return 0, or -1 when out of range. */
static int parse_kdf(const char *passes, const char *mib, struct mm_kdf_params *p)
{
    char *end;

    p->opslimit = MM_KDF_OPSLIMIT_DEFAULT;
    p->memlimit = MM_KDF_MEMLIMIT_DEFAULT;
    if (passes) {
        unsigned long v = strtoul(passes, &end, 10);
        if (*end || v < MM_KDF_OPSLIMIT_MIN || v > MM_KDF_OPSLIMIT_MAX)
            return -1;
        p->opslimit = (uint32_t)v;
    }
    if (mib) {
        unsigned long v = strtoul(mib, &end, 10);
        if (*end || v < 1 || v > MM_KDF_MEMLIMIT_MAX / (1024 * 1024))
            return -1;
        p->memlimit = (uint64_t)v * 1024 * 1024;
    }
    return 0;
}

int cli_key_parse_kdf(const char *passes, const char *mib, struct mm_kdf_params *p)
{
    return parse_kdf(passes, mib, p);
}

/* The viewer on the new medium (launcher, guide, this mamori in bin/ and the Windows viewer);
 * a failure is a warning. */
static void write_viewer(const struct cli_ctx *ctx, const char *repo)
{
    struct mm_repo_viewer *v = NULL;

    if (mm_backup_medium_viewer(repo, NULL,
                                MM_BACKUP_VIEWER_WRITE |
                                        (cli_viewer_copy_wanted() ? MM_BACKUP_VIEWER_BIN : 0),
                                cli_windows_exe(), &v) < 0)
        cli_error(CLI_T(ctx, "媒体にビューアを置けませんでした: %s",
                        "the viewer could not be put on the medium: %s"),
                  mm_error_last());
    else if (!(v->flags & MM_REPO_VIEWER_NO_BIN) && !mm_backup_medium_has_windows(v))
        cli_windows_missing_say(ctx);
    mm_repo_viewer_free(v);
}

static int run_init(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "user", required_argument, NULL, 'u' },
        { "passphrase-file", required_argument, NULL, 'p' },
        { "kdf-passes", required_argument, NULL, 'P' },
        { "kdf-memory", required_argument, NULL, 'M' },
        { "json", no_argument, NULL, 'j' },
        { "audit-dir", required_argument, NULL, 'A' },
        { "format", required_argument, NULL, 'F' },
        { "allow-weak-secrets", no_argument, NULL, CLI_OPT_WEAK },
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *user = DEFAULT_USER, *passfile = NULL, *passes = NULL,
               *mib = NULL, *format = NULL;
    struct mm_repo_init_opts io = { 0 };
    struct mm_kdf_params kdf;
    char pass[CLI_PASS_MAX];
    size_t len = 0;
    int opt, rc, err;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            repo = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'p':
            passfile = optarg;
            break;
        case 'P':
            passes = optarg;
            break;
        case 'M':
            mib = optarg;
            break;
        case 'j':
            ctx->json = 1;
            break;
        case 'A':
            ctx->audit_dir = optarg;
            break;
        case 'F':
            format = optarg;
            break;
        case CLI_OPT_WEAK:
            ctx->allow_weak = 1;
            break;
        default:
            return cli_option_error(ctx, &cmd_init, opt, argv);
        }
    }
    if (optind != argc)
        return cli_usage(ctx, &cmd_init, CLI_T(ctx, "引数が多すぎます", "too many arguments"));
    if (!repo || !*repo)
        return cli_usage(ctx, &cmd_init,
                         CLI_T(ctx, "--repo を指定してください", "--repo is required"));
    if (parse_kdf(passes, mib, &kdf) < 0)
        return cli_usage(ctx, &cmd_init,
                         CLI_T(ctx, "--kdf-passes は 1〜16、--kdf-memory は 1〜1024 (MiB) です",
                               "--kdf-passes takes 1 to 16, --kdf-memory 1 to 1024 (MiB)"));
    if (format && strcmp(format, "2") != 0 && strcmp(format, "3") != 0)
        return cli_usage(ctx, &cmd_init,
                         CLI_T(ctx, "--format は 2 または 3 です", "--format takes 2 or 3"));
    io.format = format ? (unsigned)(format[0] - '0') : MM_REPO_VERSION_NEW;
    if ((rc = cli_secret_kdf(ctx, &kdf)) != CLI_OK)
        return rc;
    if ((rc = cli_passphrase(ctx, passfile, "MAMORI_PASSPHRASE",
                             "新しいパスフレーズ: ", "new passphrase: ", 1, pass, &len)) != CLI_OK)
        return rc;
    if ((rc = cli_secret_new(ctx, pass, len, user, repo)) != CLI_OK) {
        mm_crypto_wipe(pass, sizeof(pass));
        return rc;
    }
    io.kdf = &kdf;
    err = mm_repo_init(repo, user, pass, len, &io);
    if (err == 0)
        cli_audit_init(ctx, repo, user, pass, len);
    mm_crypto_wipe(pass, sizeof(pass));
    if (err < 0)
        return cli_repo_error(ctx, err);
    if (!mm_repo_be_is_s3(repo)) /* an object store is no medium: no viewer on it */
        write_viewer(ctx, repo);
    if (ctx->json) {
        printf("{\"repo\":");
        cli_json_str(stdout, repo, strlen(repo));
        printf(",\"user\":");
        cli_json_str(stdout, user, strlen(user));
        printf("}\n");
    } else if (!ctx->quiet) {
        printf(CLI_T(ctx, "リポジトリを作成しました: %s（利用者 %s）\n",
                     "created repository %s (user %s)\n"),
               repo, user);
    }
    return CLI_OK;
}

const struct cmd cmd_init = {
    "init",
    "init --repo <DIR> [--user <NAME>] [--passphrase-file <FILE>]",
    "バックアップ先（媒体）にリポジトリを作る",
    "create a repository on a backup medium",
    "オプション:\n"
    "   --repo <DIR>              作成するフォルダ（存在しないか空であること）\n"
    "   --user <NAME>             最初の鍵スロットの利用者名（既定: admin）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --kdf-passes <N>          Argon2id の反復回数（既定 12）\n"
    "   --kdf-memory <MiB>        Argon2id のメモリ量（既定 64）\n"
    "   --format <2|3>            リポジトリ形式（既定 3: 書き込み専用ホストにも使える形式。\n"
    "                             2 は以前の形式）\n"
    "   --allow-weak-secrets      弱いパスフレーズ・鍵導出の強さ・他人が読めるパスフレーズ\n"
    "                             ファイルを承知の上で使う（試験用）\n"
    "\n"
    "パスフレーズは 12 文字以上で、よく使われるパスワード・同じ文字の繰り返し・利用者名や\n"
    "リポジトリ名は使えません。鍵導出は最低 Argon2id 3 回 × 64 MiB です。\n"
    "パスフレーズは端末で2回尋ねます。スクリプトでは環境変数 MAMORI_PASSPHRASE も使えます。\n"
    "利用者名は媒体上で暗号化されません。職名（it-admin など）を勧めます。\n"
    "媒体にはビューアの起動スクリプト mamori-view.sh、緊急時の使い方（緊急時の使い方.html/.txt、\n"
    "README-EMERGENCY.html/.txt）と、mamori とそのライブラリの写し（bin/）も置きます\n"
    "（バックアップごとに更新。MAMORI_VIEWER_COPY=0 なら bin/ は置かない）。bin/ には\n"
    "Windows 用ビューア mamori.exe も置き、起動用の 緊急時ビューア.bat（mamori-view.bat）と\n"
    "SHA256SUMS-windows.txt を添えます（MAMORI_WINDOWS_EXE、なければインストール先の\n"
    "lib/mamori/windows/mamori.exe。見つからなければそう伝えます）。\n",
    "options:\n"
    "   --repo <DIR>              folder to create (missing or empty)\n"
    "   --user <NAME>             user of the first key slot (default: admin)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --kdf-passes <N>          Argon2id passes (default 12)\n"
    "   --kdf-memory <MiB>        Argon2id memory (default 64)\n"
    "   --format <2|3>            repository format (default 3: also for write-only hosts;\n"
    "                             2: the earlier format)\n"
    "   --allow-weak-secrets      use a weak passphrase, a low key derivation cost or a\n"
    "                             passphrase file others can read, knowingly (tests)\n"
    "\n"
    "A passphrase has at least 12 characters and is not a common password, one character\n"
    "repeated, or the user's or the repository's name. Key derivation: at least Argon2id\n"
    "3 passes x 64 MiB.\n"
    "The passphrase is asked twice on the terminal; scripts may set MAMORI_PASSPHRASE.\n"
    "User names are not encrypted on the medium: role names such as it-admin are advised.\n"
    "The medium also gets the viewer's launcher mamori-view.sh, the emergency guide\n"
    "(緊急時の使い方.html/.txt, README-EMERGENCY.html/.txt) and a copy of mamori and its\n"
    "libraries in bin/ (refreshed by every backup; MAMORI_VIEWER_COPY=0: no bin/). With bin/\n"
    "comes the Windows viewer bin/mamori.exe, its launchers 緊急時ビューア.bat and\n"
    "mamori-view.bat and SHA256SUMS-windows.txt (MAMORI_WINDOWS_EXE, else the installed\n"
    "lib/mamori/windows/mamori.exe; said when there is none).\n",
    0,
    run_init,
};

/* ---- key ------------------------------------------------------------------------------------ */

static int key_list(struct cli_ctx *ctx, const char *repo)
{
    struct mm_repo_key *k = NULL;
    size_t n = 0;
    int err = mm_repo_key_list(repo, &k, &n);

    if (err < 0)
        return cli_repo_error(ctx, err);
    if (ctx->json) {
        printf("[");
        for (size_t i = 0; i < n; i++) {
            printf(i ? ",{\"user\":" : "{\"user\":");
            cli_json_str(stdout, k[i].name, strlen(k[i].name));
            printf(",\"kdf_passes\":%u,\"kdf_memory_mib\":%llu}", (unsigned)k[i].opslimit,
                   (unsigned long long)(k[i].memlimit / (1024 * 1024)));
        }
        printf("]\n");
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%s\t(Argon2id %u x %llu MiB)\n", k[i].name, (unsigned)k[i].opslimit,
                   (unsigned long long)(k[i].memlimit / (1024 * 1024)));
    }
    free(k);
    return CLI_OK;
}

static int run_key(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "user", required_argument, NULL, 'u' },
        { "as", required_argument, NULL, 'a' },
        { "passphrase-file", required_argument, NULL, 'p' },
        { "new-passphrase-file", required_argument, NULL, 'n' },
        { "kdf-passes", required_argument, NULL, 'P' },
        { "kdf-memory", required_argument, NULL, 'M' },
        { "json", no_argument, NULL, 'j' },
        { "audit-dir", required_argument, NULL, 'A' },
        { "allow-weak-secrets", no_argument, NULL, CLI_OPT_WEAK },
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *user = NULL, *as = NULL, *passfile = NULL, *newfile = NULL,
               *passes = NULL, *mib = NULL, *verb;
    struct mm_kdf_params kdf;
    mm_repo *r = NULL;
    int opt, rc, err;

    if (argc > 1 && strcmp(argv[1], "rotate") == 0)
        return cli_key_rotate(ctx, argc - 1, argv + 1, &cmd_key);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            repo = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'a':
            as = optarg;
            break;
        case 'p':
            passfile = optarg;
            break;
        case 'n':
            newfile = optarg;
            break;
        case 'P':
            passes = optarg;
            break;
        case 'M':
            mib = optarg;
            break;
        case 'j':
            ctx->json = 1;
            break;
        case 'A':
            ctx->audit_dir = optarg;
            break;
        case CLI_OPT_WEAK:
            ctx->allow_weak = 1;
            break;
        default:
            return cli_option_error(ctx, &cmd_key, opt, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage(ctx, &cmd_key,
                         CLI_T(ctx, "add / list / remove / rotate のどれかを指定してください",
                               "give one of add, list, remove, rotate"));
    verb = argv[optind];
    if (!repo || !*repo)
        return cli_usage(ctx, &cmd_key,
                         CLI_T(ctx, "--repo を指定してください", "--repo is required"));
    if (strcmp(verb, "list") == 0)
        return key_list(ctx, repo);
    if (strcmp(verb, "add") != 0 && strcmp(verb, "remove") != 0)
        return cli_usage(ctx, &cmd_key,
                         CLI_T(ctx, "add / list / remove / rotate のどれかを指定してください",
                               "give one of add, list, remove, rotate"));
    if (!user)
        return cli_usage(
                ctx, &cmd_key,
                CLI_T(ctx, "--user で対象の利用者を指定してください", "give the user with --user"));
    if (parse_kdf(passes, mib, &kdf) < 0)
        return cli_usage(ctx, &cmd_key,
                         CLI_T(ctx, "--kdf-passes は 1〜16、--kdf-memory は 1〜1024 (MiB) です",
                               "--kdf-passes takes 1 to 16, --kdf-memory 1 to 1024 (MiB)"));
    if (strcmp(verb, "add") == 0 && (rc = cli_secret_kdf(ctx, &kdf)) != CLI_OK)
        return rc;
    if ((rc = cli_repo_open(ctx, repo, as, passfile, &r)) != CLI_OK)
        return rc;
    if ((err = mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, NULL)) < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    if (strcmp(verb, "add") == 0) {
        char pass[CLI_PASS_MAX];
        size_t len = 0;
        if ((rc = cli_passphrase(ctx, newfile, "MAMORI_NEW_PASSPHRASE",
                                 "新しい利用者のパスフレーズ: ", "the new user's passphrase: ", 1,
                                 pass, &len)) != CLI_OK)
            goto out;
        if ((rc = cli_secret_new(ctx, pass, len, user, repo)) != CLI_OK) {
            mm_crypto_wipe(pass, sizeof(pass));
            goto out;
        }
        err = mm_repo_key_add(r, user, pass, len, &kdf);
        mm_crypto_wipe(pass, sizeof(pass));
    } else {
        err = mm_repo_key_remove(r, user);
    }
    if (err < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    if (strcmp(verb, "remove") == 0) /* issue 17.11: nothing is re-keyed; say so */
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 注意: 利用者 %s のパスフレーズでは、もうこのリポジトリを開けません。\n"
                      "ただし、データは鍵を替えて書き直していません。マスター鍵の控えや以前の鍵スロットの\n"
                      "コピーを持つ人は、これまでに書かれたデータをすべて（鍵を更新するまでは今後の\n"
                      "データも）読めます。完全に締め出すには mamori key rotate で新しい鍵の\n"
                      "リポジトリへ移してください。\n",
                      "mamori: note: the passphrase of %s no longer opens this repository.\n"
                      "The data is not re-keyed: whoever kept a copy of the master key or an old\n"
                      "copy of the key slot can still read everything written so far (and what is\n"
                      "written later, until the key is rotated). To cut them off completely, move\n"
                      "to a new key with mamori key rotate.\n"),
                user);
    if (!ctx->quiet && !ctx->json)
        printf(strcmp(verb, "add") == 0 ? CLI_T(ctx, "利用者 %s の鍵スロットを追加しました\n",
                                                "added a key slot for %s\n")
                                        : CLI_T(ctx, "利用者 %s の鍵スロットを削除しました\n",
                                                "removed the key slot of %s\n"),
               user);
    cli_audit_key(ctx, r, repo, strcmp(verb, "add") == 0, user);
    rc = CLI_OK;
out:
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_key = {
    "key",
    "key add|list|remove|rotate --repo <DIR> [--user <NAME>]",
    "利用者ごとの鍵スロットを追加・一覧・削除し、鍵を更新する",
    "add, list or remove a user's key slot; rotate the master key",
    "形式:\n"
    "   mamori key list   --repo <DIR>\n"
    "   mamori key add    --repo <DIR> --user <NAME> [--as <NAME>] [--passphrase-file <F>]\n"
    "                     [--new-passphrase-file <F>] [--kdf-passes <N>] [--kdf-memory <MiB>]\n"
    "   mamori key remove --repo <DIR> --user <NAME> [--as <NAME>] [--passphrase-file <F>]\n"
    "   mamori key rotate --repo <DIR> --to <NEW> [--user <NAME>] [--as <NAME>]\n"
    "                     [--passphrase-file <F>] [--new-passphrase-file <F>] [--work <DIR>]\n"
    "                     [--kdf-passes <N>] [--kdf-memory <MiB>]\n"
    "\n"
    "追加と削除には既存の利用者のパスフレーズ（--as でその利用者名）が要ります。\n"
    "新しいパスフレーズは端末で2回尋ねます（スクリプトでは MAMORI_NEW_PASSPHRASE）。\n"
    "最後の鍵スロットは削除できません。削除してもデータは鍵を替えて書き直されません。\n"
    "新しいパスフレーズと鍵導出の強さには init と同じ決まりがあります（--allow-weak-secrets）。\n"
    "rotate は全世代を新しいマスター鍵の新しいリポジトリ <NEW> へ複製し、1 世代ごとに\n"
    "照合して記録します（中断しても同じコマンドで続きから再開）。<NEW> の鍵スロットは\n"
    "--user（既定: 今の利用者）の 1 つです。--work（既定: $TMPDIR か /var/tmp の下）には\n"
    "複製中の 1 世代分の復号したデータが一時的に置かれ、終わると消されます。\n",
    "forms:\n"
    "   mamori key list   --repo <DIR>\n"
    "   mamori key add    --repo <DIR> --user <NAME> [--as <NAME>] [--passphrase-file <F>]\n"
    "                     [--new-passphrase-file <F>] [--kdf-passes <N>] [--kdf-memory <MiB>]\n"
    "   mamori key remove --repo <DIR> --user <NAME> [--as <NAME>] [--passphrase-file <F>]\n"
    "   mamori key rotate --repo <DIR> --to <NEW> [--user <NAME>] [--as <NAME>]\n"
    "                     [--passphrase-file <F>] [--new-passphrase-file <F>] [--work <DIR>]\n"
    "                     [--kdf-passes <N>] [--kdf-memory <MiB>]\n"
    "\n"
    "Adding and removing need an existing user's passphrase (--as names that user).\n"
    "The new passphrase is asked twice on the terminal (scripts: MAMORI_NEW_PASSPHRASE).\n"
    "The last key slot cannot be removed. Removing a slot does not re-key the data.\n"
    "A new passphrase and key derivation cost follow init's rules (--allow-weak-secrets).\n"
    "rotate copies every generation into a new repository <NEW> with a new master key,\n"
    "comparing and recording one generation at a time (an interrupted run continues when\n"
    "the same command is run again). <NEW> has one key slot, --user's (default: yours).\n"
    "--work (default: under $TMPDIR or /var/tmp) holds the decrypted data of the generation\n"
    "being copied, and is emptied when it is done.\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY,
    run_key,
};
