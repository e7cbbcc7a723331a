/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers of the repository commands (cli_repo.c): passphrases, opening, progress, sizes
 * and problem lists.
 */
#ifndef MM_CLI_CLI_REPO_H
#define MM_CLI_CLI_REPO_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "common/buf.h"
#include "common/log.h"
#include "index/index.h"
#include "repo/repo.h"
#include "src/cli/cmd.h"

#define CLI_PASS_MAX      1024 /* bytes of a passphrase, with the NUL */
#define CLI_PROBLEMS_KEPT 1000 /* problems listed; the rest are counted */

/*
 * Read a passphrase into @out: from @file (its first line), else the environment variable
 * @env, else a prompt on the terminal (asked twice when @confirm). Prints the error.
 * @return CLI_OK with *@len set, or CLI_ERROR (nothing left in @out)
 */
int cli_passphrase(const struct cli_ctx *ctx, const char *file, const char *env,
                   const char *prompt_ja, const char *prompt_en, int confirm,
                   char out[CLI_PASS_MAX], size_t *len);

/*
 * Take MAMORI_PASSPHRASE and MAMORI_NEW_PASSPHRASE out of the environment once, at the start:
 * each is copied, its bytes in the environment block (what /proc/<pid>/environ shows) are
 * overwritten in place, and it is unset. cli_passphrase() reads the copies.
 */
void cli_secret_env_take(void);

/*
 * The rules for a new passphrase (init, key add): a weak one is refused with CLI_REFUSED
 * and a message naming the rule and --allow-weak-secrets, unless ctx->allow_weak.
 * @param user, repo names the passphrase must not be (NULL: none)
 * @return CLI_OK or CLI_REFUSED
 */
int cli_secret_new(const struct cli_ctx *ctx, const char *pass, size_t len, const char *user,
                   const char *repo);

/* After opening a repository with @pass: a warning with the fix when it is weak (not refused:
 * the person may not be able to change it now). */
void cli_secret_warn(const struct cli_ctx *ctx, const char *pass, size_t len, const char *user,
                     const char *repo);

/* The KDF cost of a new key slot: below the minimum, CLI_REFUSED unless ctx->allow_weak. */
int cli_secret_kdf(const struct cli_ctx *ctx, const struct mm_kdf_params *kdf);

/* The options every repository command takes, for its struct option table. */
/* clang-format off */
#define CLI_REPO_OPTIONS                                    \
    { "repo", required_argument, NULL, 'r' },               \
    { "user", required_argument, NULL, 'u' },               \
    { "passphrase-file", required_argument, NULL, 'p' },    \
    { "json", no_argument, NULL, 'j' },                     \
    { "audit-dir", required_argument, NULL, 'A' },          \
    { "allow-weak-secrets", no_argument, NULL, CLI_OPT_WEAK }

/* The option value of --allow-weak-secrets in every command's table. */
#define CLI_OPT_WEAK 0x157
/* clang-format on */

/*
 * Take one of CLI_REPO_OPTIONS: --repo, --user, --passphrase-file into the given strings
 * (optarg), --json and --audit-dir into ctx.
 * @return 1 when @opt was one of them, 0 otherwise
 */
int cli_repo_arg(struct cli_ctx *ctx, int opt, const char **repo, const char **user,
                 const char **passfile);

/* Open the repository at @path with a passphrase (see cli_passphrase). Prints the error. */
int cli_repo_open(struct cli_ctx *ctx, const char *path, const char *user, const char *passfile,
                  mm_repo **out);

/* A generation's patient index, decrypted into memory (cli_repo_index_open). */
struct cli_repo_index {
    mm_repo *repo;
    struct mm_repo_gen gen;
    int have_gen;
    mm_repo_pages *pages; /* the index, decrypted block by block as it is read */
    mm_index *ix;
};

/*
 * Open the repository at @path (passphrase as cli_repo_open), find generation @gen ("latest"
 * when NULL) and open its patient index in memory. Prints the error.
 * @return CLI_OK (close with cli_repo_index_close), CLI_ERROR or CLI_USAGE
 */
int cli_repo_index_open(struct cli_ctx *ctx, const char *path, const char *user,
                        const char *passfile, const char *gen, struct cli_repo_index *out);
/* Wipe and free what @x holds. Accepts a closed one. */
void cli_repo_index_close(struct cli_repo_index *x);

/* Print the library error @err for a person (wrong passphrase, lock held...). */
int cli_repo_error(const struct cli_ctx *ctx, int err);

/* Whether the viewer is copied onto the medium (not when MAMORI_VIEWER_COPY=0: tests). */
int cli_viewer_copy_wanted(void);

/* The Windows build to put on the medium with bin/ (mm_backup_opts.windows_exe): the
 * environment's MAMORI_WINDOWS_EXE ("" none), NULL when unset (looked for beside mamori). */
const char *cli_windows_exe(void);

/* Say on stderr (not with -q) that the medium gets no Windows viewer and how to get one;
 * nothing when MAMORI_WINDOWS_EXE is set empty (none wanted). */
void cli_windows_missing_say(const struct cli_ctx *ctx);

/* "12.3 MiB" */
const char *cli_bytes(uint64_t b, char out[32]);

/*
 * Take @r's shared lock for a reader (restore, verify); when the medium is full or
 * write-protected it goes on without a lock file and says so once on stderr.
 * @return CLI_OK, or the exit code of the error printed
 */
int cli_repo_lock_reader(const struct cli_ctx *ctx, mm_repo *r);

struct cli_progress {
    const struct cli_ctx *ctx;
    const char *label;
    struct timespec start;
    int shown;
};
void cli_progress_start(struct cli_progress *p, const struct cli_ctx *ctx, const char *label);
/* mm_repo_progress_fn; @arg is a struct cli_run */
void cli_progress_cb(const struct mm_repo_progress *pr, void *arg);
void cli_progress_end(struct cli_progress *p);

struct cli_problem {
    char gen[65];
    char path[MM_LOG_PATH_MAX];
    char what[256];
};
struct cli_problems {
    struct cli_problem *v;
    size_t n, cap;
    uint64_t count;
};
/* What a repository command's callbacks share (their ctx argument). */
struct cli_run {
    struct cli_progress prog;
    struct cli_problems probs;
    int overwrite; /* restore's listing: what is only in the target is moved aside */
};

/* Keep the problem in @pr (the first CLI_PROBLEMS_KEPT), count it. */
void cli_problems_add(struct cli_problems *pr, const char *gen, const char *path, const char *what);
/* mm_repo_problem_fn: keeps the first CLI_PROBLEMS_KEPT problems, counts all. @arg: cli_run */
void cli_problem_cb(const char *gen, const char *path, const char *what, void *arg);
void cli_problems_print(const struct cli_ctx *ctx, const struct cli_problems *pr);
void cli_problems_json(FILE *f, const struct cli_problems *pr);
void cli_problems_free(struct cli_problems *pr);

/* The host cache folder's root: --cache @opt, $MAMORI_CACHE, $XDG_CACHE_HOME/mamori,
 * ~/.cache/mamori, /var/cache/mamori (the library adds the repository's ID; the guard's folder
 * is its guard/). @buf holds the path when one is built. */
const char *cli_cache_root(const char *opt, char *buf, size_t cap);

/* The patient-index check's attention bits @a as a JSON array of names (backup --json and
 * generations --json name them alike). */
void cli_attention_json(FILE *f, uint32_t a);

#endif
