/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command table (tmux's one entry per file, git's precondition flags).
 * The CLI is the only code that prints, exits or reads the environment.
 * Exit codes: 0 ok, 1 error, 2 usage, 3 damage found by check/verify, 4 written but needs
 * attention (a backup without the patient index its SS-MIX2 data should give, or with far
 * fewer patients than before, or with a file that kept changing while it was read; the coming
 * guard reuses it for a suspect generation).
 */
#ifndef MM_CLI_CMD_H
#define MM_CLI_CMD_H

#include <stdio.h>

#include "common/attr.h"

enum cmd_flags { CMD_NEEDS_REPO = 1 << 0, CMD_NEEDS_KEY = 1 << 1, CMD_WRITES_REPO = 1 << 2 };

enum cli_exit {
    CLI_OK = 0,
    CLI_ERROR = 1,
    CLI_USAGE = 2,
    CLI_DAMAGE = 3,
    CLI_ATTENTION = 4,
    CLI_REFUSED = 5 /* a safety rule refused: weak secret, readable secret file, non-empty target */
};

enum cli_lang { CLI_LANG_JA = 0, CLI_LANG_EN = 1 };

struct cli_ctx {
    int json;    /* --json: machine output on stdout, no progress */
    int quiet;   /* -q */
    int verbose; /* -v */
    int tty;     /* stderr is a terminal: progress may be drawn */
    enum cli_lang lang;
    const char *repo;      /* -r/--repo */
    const char *key_file;  /* --key-file */
    const char *audit_dir; /* --audit-dir: this host's audit logs (cli_audit.h) */
    int allow_weak;        /* --allow-weak-secrets: the person knows (tests, demos) */
};

struct cmd {
    const char *name;
    const char *usage;      /* one line of synopsis, without "usage: mamori " */
    const char *summary_ja; /* one line for `mamori --help` */
    const char *summary_en;
    const char *help_ja; /* option text for `mamori help <cmd>` */
    const char *help_en;
    unsigned int flags;
    int (*run)(struct cli_ctx *ctx, int argc, char **argv);
};

/* Print "mamori: <msg>" to stderr; the message must hold no patient data. */
void cli_error(const char *fmt, ...) MM_PRINTF(1, 2);

/*
 * @s with every control character and malformed UTF-8 byte escaped (mm_text_escape): text
 * from outside (file names, HL7 values, audit details, host names) goes through this before
 * it is printed. @s itself when nothing needs escaping, else a copy that stays valid for the
 * next 15 calls. NULL gives "".
 */
const char *cli_esc(const char *s);
/* fputs(cli_esc(@s), @f). */
void cli_fputs_esc(const char *s, FILE *f);
/* Write the @n bytes at @p to @f escaped as cli_esc() does. */
void cli_write_esc(const char *p, size_t n, FILE *f);
/* Write the @n bytes at @p (text of several lines: a rendered record) to @f, escaped as
 * cli_esc() does except for the line breaks. */
void cli_write_lines(const char *p, size_t n, FILE *f);

/* Print @n bytes at @s to @f as a JSON string (invalid UTF-8 becomes U+FFFD). */
void cli_json_str(FILE *f, const char *s, size_t n);

/* Terminal columns of the UTF-8 text @s (East Asian wide characters count two). */
int cli_width(const char *s);

/* Print @s to stdout padded with spaces to @cols terminal columns. */
void cli_pad(const char *s, int cols);

/* "男" / "女" / ... (or English) for an HL7 table 0001 sex code. */
const char *cli_sex_name(const struct cli_ctx *ctx, const char *s);

/* Print the last library error with the prefix "mamori: " and return CLI_ERROR. */
int cli_lib_error(int err);

/* Print the help text of @cmd to @f in the context's language. */
void cli_print_cmd_help(const struct cli_ctx *ctx, const struct cmd *cmd, FILE *f);

/* Print a usage error for @cmd and return CLI_USAGE. */
int cli_usage(const struct cli_ctx *ctx, const struct cmd *cmd, const char *fmt, ...)
        MM_PRINTF(3, 4);

/*
 * Report the option error getopt_long() signalled with @opt (':' for a missing value,
 * anything else for an unknown option; optstrings start with ':') for @cmd.
 * @return CLI_USAGE
 */
int cli_option_error(const struct cli_ctx *ctx, const struct cmd *cmd, int opt, char **argv);

/* Pick the text of the context's language. */
#define CLI_T(ctx, ja, en) ((ctx)->lang == CLI_LANG_EN ? (en) : (ja))

extern const struct cmd cmd_help;
extern const struct cmd cmd_version;
extern const struct cmd cmd_scan;
extern const struct cmd cmd_host;
extern const struct cmd cmd_search;
extern const struct cmd cmd_index;
extern const struct cmd cmd_inspect;
extern const struct cmd cmd_show;
extern const struct cmd cmd_init;
extern const struct cmd cmd_key;
extern const struct cmd cmd_backup;
extern const struct cmd cmd_generations;
extern const struct cmd cmd_restore;
extern const struct cmd cmd_verify;
extern const struct cmd cmd_drill; /* not in the Windows build */
extern const struct cmd cmd_prune;
extern const struct cmd cmd_audit;
extern const struct cmd cmd_view;
extern const struct cmd cmd_print;
extern const struct cmd cmd_media;

struct mm_repo;
/*
 * Before a write: check that the open repository @r is the medium wanted, @label and
 * @hospital (each NULL when not asked for; both NULL: no check). A wrong, unlabelled or
 * other hospital's medium, or one whose label does not verify, is refused with a message
 * naming this medium and the one wanted (cmd_media.c).
 * @return CLI_OK, or CLI_ERROR after printing why
 */
int cli_media_check(const struct cli_ctx *ctx, struct mm_repo *r, const char *label,
                    const char *hospital);

/*
 * mamori key rotate (cmd_key_rotate.c), reached from `mamori key` with @argv[0] "rotate";
 * @cmd is cmd_key, for usage messages. @return a CLI exit code
 */
int cli_key_rotate(struct cli_ctx *ctx, int argc, char **argv, const struct cmd *cmd);
/* Parse "--kdf-passes N" / "--kdf-memory MiB" values (cmd_init.c). @return 0, or -1 */
struct mm_kdf_params;
int cli_key_parse_kdf(const char *passes, const char *mib, struct mm_kdf_params *p);

extern const struct cmd cmd_config;
extern const struct cmd cmd_run;
extern const struct cmd cmd_status;
extern const struct cmd cmd_guard;
extern const struct cmd cmd_export;

#endif
