/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Audit events of the repository commands (cli_audit.c): one call per event from each
 * cmd_<verb>.c. Each event goes to the repository's log on the medium (details sealed) and
 * to this host's log of that repository (details in the clear, mode 0600); a medium that
 * cannot be written (write-protected, full) never fails the command: the event is kept on
 * the host and stderr says so.
 */
#ifndef MM_CLI_CLI_AUDIT_H
#define MM_CLI_CLI_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "repo/repo.h"
#include "src/cli/cmd.h"
#include "viewer/viewer.h"

/*
 * The host's audit folder: --audit-dir, else $MAMORI_AUDIT_DIR, else
 * $XDG_STATE_HOME/mamori/audit, else ~/.local/state/mamori/audit.
 * @return 0, or -1 when there is none (no HOME)
 */
int cli_audit_host_dir(const struct cli_ctx *ctx, char *out, size_t cap);

/* The log bases of the repository at @repo (ID @id, 32 hex digits): medium and host. */
int cli_audit_repo_base(const char *repo, char *out, size_t cap);
int cli_audit_host_base(const struct cli_ctx *ctx, const char *id, char *out, size_t cap);

/* Parse a repository ID (32 hex digits) into 16 bytes. @return 0 or -1 */
int cli_audit_repo_id(const char *hex, unsigned char out[MM_AUDIT_REPO_ID_SIZE]);

/*
 * Write @ev (user: the slot that opened @r when NULL) for the open repository @r at @repo to
 * the medium's log and the host's log, warning on stderr when one cannot be written.
 */
void cli_audit_write(const struct cli_ctx *ctx, mm_repo *r, const char *repo,
                     const struct mm_audit_event *ev);

/* Warn on stderr about what mm_audit_repo_write_n() reported it could not write. */
void cli_audit_report(const struct cli_ctx *ctx, const struct mm_audit_write_report *rep);

/* The host's audit folder (cli_audit_host_dir) in @buf, or NULL when there is none. */
const char *cli_audit_dir_or_null(const struct cli_ctx *ctx, char *buf, size_t cap);

/* cli_audit_write() of @n events at once (one lock, one fsync per log: group commit). */
void cli_audit_write_n(const struct cli_ctx *ctx, mm_repo *r, const char *repo,
                       const struct mm_audit_event *evs, size_t n);

/*
 * A batch of the viewer's events (mm_viewer_event_fn), of the patients one print wrote or of
 * the one patient show showed: logins, patients opened and session ends written together
 * (field via: @via, "viewer", "print" or "show"); failed logins (@r NULL) without the key.
 */
void cli_audit_viewer_n(const struct cli_ctx *ctx, mm_repo *r, const char *repo,
                        const struct mm_viewer_event *evs, size_t n, const char *via);

/*
 * A wrong passphrase for the repository at @repo (@user: the slot asked for, or NULL): an
 * event written without the key to the medium's and the host's log when they exist (the
 * next signed event covers it). Silent: the command reports the wrong passphrase itself.
 */
void cli_audit_unlock_failed(const struct cli_ctx *ctx, const char *repo, const char *user);

/*
 * A write refused because the medium is not the one wanted (cli_media_check): recorded in
 * this host's log only (nothing is written to the wrong medium), signed with @r's key.
 * @reason: unlabelled, wrong-label, other-hospital, label-unverified; @have: this medium's
 * label (NULL when none can be trusted); @want, @want_hospital: what was asked for (or NULL).
 */
void cli_audit_media_refused(const struct cli_ctx *ctx, mm_repo *r, const char *reason,
                             const char *have, const char *want, const char *want_hospital);

/* The events of the commands that exist today. @err is the command's library result. */
void cli_audit_init(const struct cli_ctx *ctx, const char *repo, const char *user, const char *pass,
                    size_t passlen);
void cli_audit_key(const struct cli_ctx *ctx, mm_repo *r, const char *repo, int added,
                   const char *slot);
void cli_audit_verify(const struct cli_ctx *ctx, mm_repo *r, const char *repo, int err,
                      int read_data, const struct mm_repo_verify_stats *st, uint64_t problems);
void cli_audit_restore(const struct cli_ctx *ctx, mm_repo *r, const char *repo, int err,
                       const char *gen, const char *to, const struct mm_repo_restore_opts *o,
                       const struct mm_repo_restore_stats *st);

/*
 * Record the interruptions of earlier writers found on the open, exclusively locked @r
 * (mm_audit_record_interrupted, @found_by "backup" or "prune") and say so on stderr.
 */
void cli_audit_interrupted(const struct cli_ctx *ctx, mm_repo *r, const char *repo,
                           const char *found_by);
/* Say on stderr that the earlier writer @it was interrupted, and whether that is recorded. */
void cli_audit_interrupted_say(const struct cli_ctx *ctx, const struct mm_repo_interrupted *it,
                               int recorded, const struct mm_audit_write_report *rep);

/* Generation IDs a prune removes, gathered by its callback. */
struct cli_audit_ids {
    char *s; /* comma-separated, or NULL */
    size_t len;
};
void cli_audit_ids_add(struct cli_audit_ids *ids, const char *id);
/* (a dry run is not recorded; @removed is freed either way) */
void cli_audit_prune(const struct cli_ctx *ctx, mm_repo *r, const char *repo, int err, int dry_run,
                     struct cli_audit_ids *removed, const struct mm_repo_prune_stats *st);

#endif
