/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The repository head on the command line (issue 17.1): what verify, audit verify and backup
 * print when a medium's head shows a deleted generation, a deleted or cut audit log or a
 * rollback, and verify's cross-check of the heads of several media (--against).
 */
#ifndef MM_CLI_CLI_HEAD_H
#define MM_CLI_CLI_HEAD_H

#include "repo/repo.h"
#include "src/cli/cmd.h"

/*
 * Print the findings of @rep (tampering on @f, information on stderr unless quiet); a deleted
 * generation with the time this host's audit log recorded its backup, for repository @id
 * (NULL: not looked up).
 */
void cli_head_print(const struct cli_ctx *ctx, const struct mm_repo_head_report *rep, FILE *f,
                    const char *id);

/* Only what @rep says of the audit log (deleted, cut), on @f. */
void cli_head_print_audit(const struct cli_ctx *ctx, const struct mm_repo_head_report *rep,
                          FILE *f);

/* @rep as a JSON object (no newline). */
void cli_head_json(const struct mm_repo_head_report *rep);

/* The stable name of the first problem of @rep ("ok", "generation-deleted", ...). */
const char *cli_head_problem(const struct mm_repo_head_report *rep);

/*
 * Check the open @r against its head and this host's copy (the host's audit folder).
 * @param[out] rep the findings (mm_repo_head_report_release)
 * @return CLI_OK (see mm_repo_head_report_bad(@rep)), or an error's exit status (printed)
 */
int cli_head_check(const struct cli_ctx *ctx, mm_repo *r, struct mm_repo_head_report *rep);

/*
 * Compare the head of @r (at @repo) with the heads of the media at @paths (@n): what each
 * says it last saw of the other. @return CLI_OK, CLI_DAMAGE (a rollback or fork), CLI_ERROR
 */
int cli_head_against(const struct cli_ctx *ctx, mm_repo *r, const char *repo,
                     const char *const *paths, size_t n);

#endif
