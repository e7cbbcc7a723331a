/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guard's verdict on the command line (guard/guard.h): what `backup` and `status` print
 * of a suspect generation, its reasons in plain words (mm_guard_reasons_say, in the
 * context's language) and the machine-stable codes for --json. No patient data: the reasons
 * hold counts, shares, file types and extensions only.
 */
#ifndef MM_CLI_CLI_VERDICT_H
#define MM_CLI_CLI_VERDICT_H

#include <stdio.h>

#include "src/cli/cmd.h"

/* "正常"/"clean", "要注意"/"SUSPECT", "判定なし"/"not judged" for @guard. */
const char *cli_verdict_word(const struct cli_ctx *ctx, const char *guard);

/*
 * A suspect generation @id of the repository @repo (NULL: not named) on @f: the warning,
 * each reason in words (indented), and what a person does (`mamori guard accept`).
 */
void cli_verdict_suspect(const struct cli_ctx *ctx, FILE *f, const char *id, const char *repo,
                         const char *reasons);

/* `"guard":"<guard>","guard_reasons":[{"code":..,"line":..,"text":..},...]` (no braces). */
void cli_verdict_json(const struct cli_ctx *ctx, FILE *f, const char *guard, const char *reasons);

#endif
