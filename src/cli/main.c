/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori's entry point: global options, the command table, help and version.
 * Global options come before the command (getopt "+"), each command parses its
 * own after optind = 0. The language is Japanese unless --lang en or
 * MAMORI_LANG=en (or LANG=C / en_*) asks for English.
 */
#include <getopt.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/text.h"
#include "mm_config.h"
#include "os/os.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cli_win.h"
#include "src/cli/cmd.h"

#ifdef _WIN32
/* The Windows build is the viewer side: reading a medium, never writing a backup. */
static const struct cmd *const cmds[] = {
    &cmd_view,    &cmd_show,  &cmd_search, &cmd_print,   &cmd_verify,
    &cmd_restore, &cmd_audit, &cmd_help,   &cmd_version,
};
/* The commands of the Linux build only: named as such rather than unknown. */
static const char *const linux_only[] = {
    "init",    "key",    "backup", "generations", "prune", "media", "scan",   "index",
    "inspect", "config", "run",    "status",      "guard", "host",  "export",
};
#else
static const struct cmd *const cmds[] = {
    &cmd_init,  &cmd_key,    &cmd_backup, &cmd_generations, &cmd_restore, &cmd_verify,  &cmd_prune,
    &cmd_media, &cmd_audit,  &cmd_scan,   &cmd_search,      &cmd_index,   &cmd_inspect, &cmd_show,
    &cmd_view,  &cmd_print,  &cmd_config, &cmd_run,         &cmd_status,  &cmd_guard,   &cmd_host,
    &cmd_drill, &cmd_export, &cmd_help,   &cmd_version,
};
#endif

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

void cli_error(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    /* a message may quote a name from outside (a path in a library error): escaped, but for
     * the line breaks of a message of several lines (names quoted come through mm_log_path,
     * which escapes a line break in them) */
    fputs("mamori: ", stderr);
    cli_write_lines(msg, strlen(msg), stderr);
    fputc('\n', stderr);
}

/* The escaped copies cli_esc() returned, freed in turn. */
#define ESC_RING 16
static char *esc_ring[ESC_RING];
static unsigned int esc_next;
static int esc_registered;

static void esc_ring_free(void)
{
    for (unsigned int i = 0; i < ESC_RING; i++) {
        free(esc_ring[i]);
        esc_ring[i] = NULL;
    }
}

const char *cli_esc(const char *s)
{
    size_t n, cap;
    char *e;

    if (!s)
        return "";
    n = strlen(s);
    if (mm_text_is_plain(s, n))
        return s;
    cap = 4 * n + 1;
    if (!(e = malloc(cap)))
        return "(unprintable)";
    if (!esc_registered && atexit(esc_ring_free) == 0)
        esc_registered = 1;
    free(esc_ring[esc_next]);
    esc_ring[esc_next] = e;
    esc_next = (esc_next + 1) % ESC_RING;
    return mm_text_escape(e, cap, s, n);
}

void cli_fputs_esc(const char *s, FILE *f)
{
    fputs(cli_esc(s), f);
}

void cli_write_esc(const char *p, size_t n, FILE *f)
{
    char buf[4 * 1024 + 1];

    if (mm_text_is_plain(p, n)) {
        fwrite(p, 1, n, f);
        return;
    }
    /* in pieces that do not split a UTF-8 character (escaped output is at most 4x) */
    for (size_t off = 0; off < n;) {
        size_t k = n - off > 1024 ? 1024 : n - off;
        while (k < n - off && k > 1 && ((unsigned char)p[off + k] & 0xC0) == 0x80)
            k--;
        fputs(mm_text_escape(buf, sizeof(buf), p + off, k), f);
        off += k;
    }
}

void cli_write_lines(const char *p, size_t n, FILE *f)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) : n;

        cli_write_esc(p, len, f);
        if (nl)
            fputc('\n', f);
        p += len + (nl ? 1 : 0);
        n -= len + (nl ? 1 : 0);
    }
}

void cli_json_str(FILE *f, const char *s, size_t n)
{
    mm_buf b;

    mm_buf_init(&b, MM_LIMIT_JSON);
    if (mm_json_strn(&b, s, n) == 0)
        fwrite(b.ptr, 1, b.len, f);
    else
        fputs("null", f); /* out of memory for one string: keep the document valid */
    mm_buf_release(&b);
}

/* Terminal columns of UTF-8 @s: East Asian wide and full-width characters take two. */
int cli_width(const char *s)
{
    return mm_text_width(s);
}

/* Print @s padded to @cols columns. */
void cli_pad(const char *s, int cols)
{
    s = cli_esc(s); /* table cells hold names from outside (HL7 patient names) */
    fputs(s, stdout);
    for (int w = cli_width(s); w < cols; w++)
        fputc(' ', stdout);
}

const char *cli_sex_name(const struct cli_ctx *ctx, const char *s)
{
    if (strcmp(s, "M") == 0)
        return CLI_T(ctx, "男", "male");
    if (strcmp(s, "F") == 0)
        return CLI_T(ctx, "女", "female");
    if (strcmp(s, "O") == 0 || strcmp(s, "A") == 0)
        return CLI_T(ctx, "その他", "other");
    return CLI_T(ctx, "不明", "unknown");
}

int cli_lib_error(int err)
{
    const char *msg = mm_error_last();

    cli_error("%s", msg[0] ? msg : mm_error_name(err));
    return err == MM_EREFUSED ? CLI_REFUSED : CLI_ERROR;
}

void cli_print_cmd_help(const struct cli_ctx *ctx, const struct cmd *cmd, FILE *f)
{
    fprintf(f, "%s: mamori %s\n\n%s\n", CLI_T(ctx, "使い方", "usage"), cmd->usage,
            CLI_T(ctx, cmd->summary_ja, cmd->summary_en));
    const char *h = CLI_T(ctx, cmd->help_ja, cmd->help_en);
    if (h && h[0])
        fprintf(f, "\n%s", h);
}

int cli_usage(const struct cli_ctx *ctx, const struct cmd *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("mamori: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s: mamori %s\n", CLI_T(ctx, "使い方", "usage"), cmd->usage);
    return CLI_USAGE;
}

int cli_option_error(const struct cli_ctx *ctx, const struct cmd *cmd, int opt, char **argv)
{
    if (opt == ':')
        return cli_usage(ctx, cmd, CLI_T(ctx, "'%s' には値が必要です", "'%s' needs a value"),
                         argv[optind - 1]);
    return cli_usage(ctx, cmd, CLI_T(ctx, "不明なオプション '%s'", "unknown option '%s'"),
                     argv[optind - 1]);
}

static const struct cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < NCMDS; i++)
        if (strcmp(cmds[i]->name, name) == 0)
            return cmds[i];
    return NULL;
}

/* Print that @name is not a command; on Windows, that it is the Linux build's. */
static void no_such_cmd(const struct cli_ctx *ctx, const char *name, int hint)
{
#ifdef _WIN32
    for (size_t i = 0; i < sizeof(linux_only) / sizeof(linux_only[0]); i++)
        if (strcmp(linux_only[i], name) == 0) {
            cli_error(CLI_T(ctx,
                            "'%s' は Windows 版の mamori にはありません（閲覧・検索・印刷・検証・"
                            "復元・監査ログだけです）。Linux 版の mamori で実行してください",
                            "'%s' is not in the Windows build of mamori (it views, searches, "
                            "prints, verifies, restores and checks the audit log only); run "
                            "it with the Linux build"),
                      name);
            return;
        }
#endif
    if (hint)
        cli_error(CLI_T(ctx, "'%s' というコマンドはありません。'mamori --help' を参照してください",
                        "'%s' is not a mamori command; see 'mamori --help'"),
                  name);
    else
        cli_error(CLI_T(ctx, "'%s' というコマンドはありません", "'%s' is not a mamori command"),
                  name);
}

static void print_main_help(const struct cli_ctx *ctx, FILE *f)
{
    fprintf(f, "%s: mamori [-q|-v] [--json] [--lang ja|en] <%s> [<args>]\n\n",
            CLI_T(ctx, "使い方", "usage"), CLI_T(ctx, "コマンド", "command"));
    fputs(CLI_T(ctx,
                "mamori（守り）は SS-MIX2 標準化・拡張ストレージを、世代管理された暗号化バックアップとして\n"
                "オフライン媒体に守り、停電・ランサムウェア・災害の最中でも診療記録を読めるようにします。\n\n"
                "コマンド:\n",
                "mamori keeps the SS-MIX2 standardized and extended storage readable through ransomware,\n"
                "outages and disasters, as generation-managed encrypted backups on offline media.\n\n"
                "commands:\n"),
          f);
    for (size_t i = 0; i < NCMDS; i++)
        fprintf(f, "   %-12s %s\n", cmds[i]->name,
                CLI_T(ctx, cmds[i]->summary_ja, cmds[i]->summary_en));
    fputs(CLI_T(ctx,
                "\n共通オプション:\n"
                "   -q, --quiet      進捗を表示しない\n"
                "   -v, --verbose    詳しく表示する\n"
                "   --json           機械可読な JSON を標準出力に出す（進捗なし）\n"
                "   --lang ja|en     表示言語（既定: 日本語。MAMORI_LANG でも指定可）\n"
                "   -h, --help       このヘルプ\n"
                "   --version        版を表示\n\n"
                "'mamori help <コマンド>' で各コマンドの説明を表示します。\n",
                "\ncommon options:\n"
                "   -q, --quiet      no progress output\n"
                "   -v, --verbose    more detail\n"
                "   --json           machine-readable JSON on stdout (no progress)\n"
                "   --lang ja|en     language (default Japanese; also MAMORI_LANG)\n"
                "   -h, --help       this help\n"
                "   --version        print the version\n\n"
                "'mamori help <command>' shows the help of one command.\n"),
          f);
}

static int run_help(struct cli_ctx *ctx, int argc, char **argv)
{
    const struct cmd *c;

    if (argc > 2)
        return cli_usage(ctx, &cmd_help, CLI_T(ctx, "引数が多すぎます", "too many arguments"));
    if (argc < 2) {
        print_main_help(ctx, stdout);
        return CLI_OK;
    }
    c = find_cmd(argv[1]);
    if (!c) {
        no_such_cmd(ctx, argv[1], 0);
        return CLI_USAGE;
    }
    cli_print_cmd_help(ctx, c, stdout);
    return CLI_OK;
}

static int run_version(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return cli_usage(ctx, &cmd_version, CLI_T(ctx, "引数が多すぎます", "too many arguments"));
    if (ctx->json)
        printf("{\"version\":\"%s\"}\n", MM_VERSION);
    else
        printf("mamori %s\n", MM_VERSION);
    return CLI_OK;
}

const struct cmd cmd_help = {
    "help",
    "help [<コマンド>|<command>]",
    "コマンドの説明を表示する",
    "show the help of a command",
    "",
    "",
    0,
    run_help,
};

const struct cmd cmd_version = {
    "version", "version", "版を表示する", "print the version", "", "", 0, run_version,
};

/* Choose the language from MAMORI_LANG, then LANG/LC_ALL (English only when asked for). */
static enum cli_lang env_lang(void)
{
    const char *v = getenv("MAMORI_LANG");

    if (v && v[0])
        return strncmp(v, "en", 2) == 0 ? CLI_LANG_EN : CLI_LANG_JA;
    return CLI_LANG_JA;
}

static int finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to standard output");
        return CLI_ERROR;
    }
    return rc;
}

/* The library's warnings (a repaired copy of a small critical file, a damaged host catalog):
 * one line each on standard error. */
static void log_sink(enum mm_log_level level, const char *msg, void *arg)
{
    (void)arg;
    if (level <= MM_LOG_WARN)
        fprintf(stderr, "mamori: %s\n", msg);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "json", no_argument, NULL, 'j' },
        { "lang", required_argument, NULL, 'L' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "repo", required_argument, NULL, 'r' },
        { "key-file", required_argument, NULL, 'k' },
        { "audit-dir", required_argument, NULL, 'A' },
        { "allow-weak-secrets", no_argument, NULL, 'W' },
        { NULL, 0, NULL, 0 },
    };
    struct cli_ctx ctx = { 0 };
    const struct cmd *c;
    int opt, err;

#ifdef _WIN32
    /* the arguments and the console in UTF-8 (the C runtime's are in the ANSI code page) */
    if (cli_win_start(&argc, &argv) < 0) {
        fputs("mamori: cannot read the command line\n", stderr);
        return CLI_ERROR;
    }
#else
    /*
     * Large buffers (16 MiB packs, file chunks) always come from mmap and go back to the
     * system when freed. glibc would otherwise raise its mmap threshold after the first such
     * free and serve later packs from the arena of whichever of the 16 worker threads asked,
     * where freed packs stay: a first backup of 200,000 files grew to 260 MiB instead of 100.
     */
    mallopt(M_MMAP_THRESHOLD, 512 * 1024);
#endif
    cli_secret_env_take(); /* before anything else: the passphrase leaves the environment */
    mm_log_set_sink(log_sink, NULL, MM_LOG_WARN);
    ctx.lang = env_lang();
#ifdef _WIN32
    ctx.tty = cli_win_stderr_console();
#else
    ctx.tty = isatty(STDERR_FILENO);
#endif
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+qvhr:", opts, NULL)) != -1) {
        switch (opt) {
        case 'q':
            ctx.quiet = 1;
            break;
        case 'v':
            ctx.verbose++;
            break;
        case 'j':
            ctx.json = 1;
            break;
        case 'L':
            if (strcmp(optarg, "ja") == 0)
                ctx.lang = CLI_LANG_JA;
            else if (strcmp(optarg, "en") == 0)
                ctx.lang = CLI_LANG_EN;
            else {
                cli_error("--lang: 'ja' or 'en'");
                return CLI_USAGE;
            }
            break;
        case 'h':
            print_main_help(&ctx, stdout);
            return finish(CLI_OK);
        case 'V':
            return finish(run_version(&ctx, 1, argv));
        case 'r':
            ctx.repo = optarg;
            break;
        case 'k':
            ctx.key_file = optarg;
            break;
        case 'A':
            ctx.audit_dir = optarg;
            break;
        case 'W':
            ctx.allow_weak = 1;
            break;
        default:
            cli_error(CLI_T(&ctx, "不明なオプション '%s'", "unknown option '%s'"),
                      argv[optind - 1]);
            print_main_help(&ctx, stderr);
            return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        print_main_help(&ctx, stderr);
        return CLI_USAGE;
    }
    c = find_cmd(argv[optind]);
    if (!c) {
        no_such_cmd(&ctx, argv[optind], 1);
        return CLI_USAGE;
    }
    argc -= optind;
    argv += optind;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_print_cmd_help(&ctx, c, stdout);
            return finish(CLI_OK);
        }
    }
    /* every command but help and version reads keys or decrypted patient data: no core file,
     * and no reading of this process's memory by others of the same user */
    if (c != &cmd_help && c != &cmd_version && (err = mm_os_no_core_dumps()) < 0)
        return finish(cli_lib_error(err));
    optind = 0;
    return finish(c->run(&ctx, argc, argv));
}
