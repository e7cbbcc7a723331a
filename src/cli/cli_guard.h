/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ransomware guard's verdicts for people (cmd_guard.c, cmd_guard_list.c): `guard list`,
 * and the lines `generations` prints under a suspect generation (its reasons in words, who
 * accepted it). Reasons hold counts and shares only, never patient data.
 */
#ifndef MM_CLI_CLI_GUARD_H
#define MM_CLI_CLI_GUARD_H

#include <stdint.h>
#include <stdio.h>

#include "repo/repo.h"
#include "src/cli/cmd.h"

/* Local time of @ns: "YYYY-MM-DD HH:MM:SS", or with @iso ISO 8601 with the offset. */
void cli_guard_time(int64_t ns, char out[32], int iso);

/* Whether @g's verdict is "suspect" (accepted or not). */
int cli_guard_suspect(const struct mm_repo_gen *g);

/* Print the reasons @reasons (as stored) in words, one per line, each after @indent. */
void cli_guard_say(const struct cli_ctx *ctx, const char *reasons, const char *indent, FILE *f);

/*
 * The lines under suspect generation @g in a listing: "⚠ SUSPECT" or "accepted by X" and its
 * reasons in words; @standing: @g is the one that stands. Nothing for other generations.
 * @return 0, or MM_ECORRUPT when its acceptance record does not verify (said)
 */
int cli_guard_gen_lines(const struct cli_ctx *ctx, mm_repo *r, const struct mm_repo_gen *g,
                        int standing);

/* The stderr line of a standing suspect generation @g of the repository at @repo (exit
 * status 4). */
void cli_guard_standing_say(const struct cli_ctx *ctx, const struct mm_repo_gen *g,
                            const char *repo);

/* mamori guard list. @return a CLI exit code (4 when a suspect generation stands) */
int cli_guard_list(struct cli_ctx *ctx, const char *repo, const char *user, const char *passfile);

#endif
