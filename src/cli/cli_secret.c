/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Secrets on the command line's side: reading a passphrase (--passphrase-file, the
 * environment for scripts, or a prompt on the terminal with echo off), and the rules a new
 * one must meet (docs/security.md, "Weak secrets"). MAMORI_PASSPHRASE and
 * MAMORI_NEW_PASSPHRASE are taken out of the environment once at the start: copied, their
 * bytes overwritten where /proc/<pid>/environ reads them, and unset (unsetenv alone leaves
 * the bytes in place). A passphrase file that others can read is refused (a FIFO or a pipe
 * is not stored anywhere and is taken as it is). A passphrase lives only in buffers that
 * are wiped after use and is never printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifndef _WIN32
#include <termios.h>
#endif

#include "common/error.h"
#include "crypto/crypto.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cli_win.h"

/* The passphrases the environment held at the start (cli_secret_env_take). */
static struct env_secret {
    const char *name;
    int have;
    long len; /* -2: too long */
    char value[CLI_PASS_MAX];
} env_secrets[] = { { "MAMORI_PASSPHRASE", 0, 0, { 0 } },
                    { "MAMORI_NEW_PASSPHRASE", 0, 0, { 0 } } };

static void env_wipe(void)
{
    mm_crypto_wipe(env_secrets, sizeof(env_secrets));
}

#ifdef _WIN32
/* Windows: the UTF-8 value of the wide environment (the C runtime's is in the ANSI code page),
 * every copy of it overwritten (cli_win_env_take) */
void cli_secret_env_take(void)
{
    for (size_t i = 0; i < sizeof(env_secrets) / sizeof(env_secrets[0]); i++) {
        struct env_secret *s = &env_secrets[i];
        long n = cli_win_env_take(s->name, s->value, sizeof(s->value));
        if (n == -1)
            continue;
        s->have = 1;
        s->len = n;
    }
    atexit(env_wipe);
}
#else
void cli_secret_env_take(void)
{
    for (size_t i = 0; i < sizeof(env_secrets) / sizeof(env_secrets[0]); i++) {
        struct env_secret *s = &env_secrets[i];
        char *e = getenv(s->name);
        size_t n;
        if (!e)
            continue;
        n = strlen(e);
        s->have = 1;
        s->len = n >= CLI_PASS_MAX ? -2 : (long)n;
        if (s->len >= 0)
            memcpy(s->value, e, n + 1);
        mm_crypto_wipe(e, n); /* the bytes /proc/<pid>/environ shows */
        unsetenv(s->name);
    }
    atexit(env_wipe);
}
#endif

/* The copy of the environment variable @name. NULL when it was not set. */
static const struct env_secret *env_secret(const char *name)
{
    for (size_t i = 0; name && i < sizeof(env_secrets) / sizeof(env_secrets[0]); i++)
        if (strcmp(env_secrets[i].name, name) == 0)
            return env_secrets[i].have ? &env_secrets[i] : NULL;
    return NULL;
}

/* Read one line from @f into @out without the line end. @return length, or -1. */
static long read_line(FILE *f, char *out, size_t cap)
{
    size_t n;

    if (!fgets(out, (int)cap, f))
        return -1;
    n = strlen(out);
    if (n == cap - 1 && out[n - 1] != '\n')
        return -2; /* too long */
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return (long)n;
}

#ifdef _WIN32
/* Prompt on the console with echo off; from a pipe or a file, its next line. */
static long prompt_tty(const char *prompt, char *out, size_t cap)
{
    long n = cli_win_prompt(prompt, out, cap);

    return n == CLI_WIN_NOT_CONSOLE ? read_line(stdin, out, cap) : n;
}
#else
/* Prompt on the terminal with echo off. */
static long prompt_tty(const char *prompt, char *out, size_t cap)
{
    FILE *tty = fopen("/dev/tty", "r+");
    struct termios old, quiet;
    long n;
    int restore = 0;

    if (!tty)
        return -3;
    fputs(prompt, tty);
    fflush(tty);
    if (tcgetattr(fileno(tty), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
    }
    n = read_line(tty, out, cap);
    if (restore)
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fclose(tty);
    return n;
}
#endif

/* Read the first line of the passphrase file @file. @return length, -1 empty, -2 too long,
 * or -(100 + CLI_*) when refused or unreadable (the message printed). */
static long read_file(const struct cli_ctx *ctx, const char *file, char out[CLI_PASS_MAX])
{
    struct stat st;
    FILE *f;
    long n;
    int fd = open(file, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) != 0) {
        cli_error(CLI_T(ctx, "パスフレーズファイル '%s' を開けません: %s",
                        "cannot open the passphrase file '%s': %s"),
                  file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -100 - CLI_ERROR;
    }
#ifndef _WIN32 /* Windows: who may read a file is its ACL's, not mode bits */
    if (S_ISREG(st.st_mode) && (st.st_mode & 077) && !ctx->allow_weak) {
        cli_error(CLI_T(ctx,
                        "パスフレーズファイル '%s' は他の利用者も読めます（モード %04o）: "
                        "chmod 600 '%s' で直してください（承知の上なら --allow-weak-secrets）",
                        "the passphrase file '%s' can be read by others (mode %04o): "
                        "chmod 600 '%s' (or give --allow-weak-secrets if you know)"),
                  file, (unsigned)(st.st_mode & 07777), file);
        close(fd);
        return -100 - CLI_REFUSED;
    }
#endif
    if (!(f = fdopen(fd, "r"))) {
        close(fd);
        return -100 - CLI_ERROR;
    }
    n = read_line(f, out, CLI_PASS_MAX);
    fclose(f);
    return n;
}

/* Ask twice on the terminal. @return length, -2 too long, or -(100 + CLI_*) (printed). */
static long ask(const struct cli_ctx *ctx, const char *prompt_ja, const char *prompt_en,
                int confirm, char out[CLI_PASS_MAX])
{
    char again[CLI_PASS_MAX];
    long n = prompt_tty(CLI_T(ctx, prompt_ja, prompt_en), out, CLI_PASS_MAX), m;

    if (n == -3) {
        cli_error("%s", CLI_T(ctx,
                              "パスフレーズが必要です: 端末で実行するか --passphrase-file か "
                              "環境変数 MAMORI_PASSPHRASE で渡してください",
                              "a passphrase is needed: run on a terminal, or give "
                              "--passphrase-file or MAMORI_PASSPHRASE"));
        return -100 - CLI_ERROR;
    }
    if (n < 0 || !confirm)
        return n;
    m = prompt_tty(CLI_T(ctx, "もう一度入力してください: ", "again: "), again, sizeof(again));
    if (m != n || memcmp(again, out, (size_t)n) != 0) {
        mm_crypto_wipe(again, sizeof(again));
        cli_error("%s", CLI_T(ctx, "パスフレーズが一致しません", "the passphrases do not match"));
        return -100 - CLI_ERROR;
    }
    mm_crypto_wipe(again, sizeof(again));
    return n;
}

int cli_passphrase(const struct cli_ctx *ctx, const char *file, const char *env,
                   const char *prompt_ja, const char *prompt_en, int confirm,
                   char out[CLI_PASS_MAX], size_t *len)
{
    const struct env_secret *e = env_secret(env);
    long n;

    if (file) {
        n = read_file(ctx, file, out);
        if (n == -1)
            n = 0;
    } else if (e) {
        n = e->len;
        if (n >= 0)
            memcpy(out, e->value, (size_t)n + 1);
    } else {
        n = ask(ctx, prompt_ja, prompt_en, confirm, out);
    }
    if (n <= -100) {
        mm_crypto_wipe(out, CLI_PASS_MAX);
        return (int)(-n - 100);
    }
    if (n == -2) {
        mm_crypto_wipe(out, CLI_PASS_MAX);
        cli_error(CLI_T(ctx, "パスフレーズが長すぎます（%d バイトまで）",
                        "the passphrase is too long (at most %d bytes)"),
                  CLI_PASS_MAX - 1);
        return CLI_ERROR;
    }
    if (n <= 0) {
        mm_crypto_wipe(out, CLI_PASS_MAX);
        cli_error("%s", CLI_T(ctx, "パスフレーズが空です", "the passphrase is empty"));
        return CLI_ERROR;
    }
    *len = (size_t)n;
    return CLI_OK;
}

/* ---- the rules for new secrets ------------------------------------------------------------- */

/* The base name of the folder @repo (NULL when none). */
static const char *base_name(const char *repo, char *out, size_t cap)
{
    size_t n;
    const char *slash;

    if (!repo)
        return NULL;
    n = strlen(repo);
    while (n > 1 && repo[n - 1] == '/')
        n--;
    snprintf(out, cap, "%.*s", (int)n, repo);
    slash = strrchr(out, '/');
    return slash ? slash + 1 : out;
}

/* What is weak about it, for a person. */
static const char *weakness(const struct cli_ctx *ctx, int why)
{
    switch (why) {
    case MM_SECRET_SHORT:
        return CLI_T(ctx, "12 文字未満", "under 12 characters");
    case MM_SECRET_COMMON:
        return CLI_T(ctx, "よく使われるパスワードの一覧にあります",
                     "on the list of common passwords");
    case MM_SECRET_REPEATED:
        return CLI_T(ctx, "同じ文字の繰り返しです", "one character repeated");
    default:
        return CLI_T(ctx, "利用者名かリポジトリ名と同じです",
                     "the user's or the repository's name");
    }
}

static int judge(const char *pass, size_t len, const char *user, const char *repo)
{
    char buf[4096];
    const char *names[2] = { user, base_name(repo, buf, sizeof(buf)) };

    return mm_crypto_passphrase_weak(pass, len, names, 2);
}

int cli_secret_new(const struct cli_ctx *ctx, const char *pass, size_t len, const char *user,
                   const char *repo)
{
    int why = judge(pass, len, user, repo);

    if (why == MM_SECRET_OK || ctx->allow_weak)
        return CLI_OK;
    cli_error(
            CLI_T(ctx,
                  "弱いパスフレーズは使えません（%s）: 12 文字以上で、推測されにくい語の組み合わせに"
                  "してください（承知の上なら --allow-weak-secrets）",
                  "weak passphrase refused (%s): use at least 12 characters, a few words that "
                  "are hard to guess (or give --allow-weak-secrets if you know)"),
            weakness(ctx, why));
    return CLI_REFUSED;
}

void cli_secret_warn(const struct cli_ctx *ctx, const char *pass, size_t len, const char *user,
                     const char *repo)
{
    int why = judge(pass, len, user, repo);

    if (why == MM_SECRET_OK || ctx->allow_weak)
        return;
    cli_error(CLI_T(ctx,
                    "警告: このパスフレーズは弱いです（%s）。新しい鍵スロットを強いパスフレーズで"
                    "作り（key add）、この利用者のものを削除してください（key remove。"
                    "docs/operations.md）",
                    "warning: this passphrase is weak (%s): add a key slot with a strong one "
                    "(key add) and remove this user's (key remove; docs/operations.md)"),
              weakness(ctx, why));
}

int cli_secret_kdf(const struct cli_ctx *ctx, const struct mm_kdf_params *kdf)
{
    if (!mm_kdf_params_weak(kdf) || ctx->allow_weak)
        return CLI_OK;
    cli_error(CLI_T(ctx,
                    "鍵導出の強さが最低限を下回ります（Argon2id %u 回 × %llu MiB。最低 %u 回 × "
                    "%u MiB）: 承知の上なら --allow-weak-secrets（試験用）",
                    "the key derivation cost is below the minimum (Argon2id %u passes x %llu MiB; "
                    "at least %u x %u MiB): give --allow-weak-secrets if you know (tests only)"),
              (unsigned)kdf->opslimit, (unsigned long long)(kdf->memlimit >> 20),
              MM_KDF_OPSLIMIT_POLICY, MM_KDF_MEMLIMIT_POLICY >> 20);
    return CLI_REFUSED;
}
