/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/backup/: one cycle's state, shared by backup_cycle.c (hooks, the
 * medium's check, the window's record) and backup_stage.c (the host's shadow of the medium:
 * staging with the medium offline, the copy in the window, the shadow's bootstrap, run's
 * retirement of whole generations, staged data's expiry). docs/format.md "Staging".
 */
#ifndef MM_BACKUP_CYCLE_INT_H
#define MM_BACKUP_CYCLE_INT_H

#include "backup/cycle.h"
#include "common/limits.h"
#include "repo/repo_sync.h"

struct cyc {
    const mm_config *cfg;
    const struct mm_cycle_opts *o;
    struct mm_cycle_result *res;
    const struct mm_config_medium *m;
    mm_repo *r;  /* the medium, opened, unlocked before detach, kept for the audit event */
    mm_repo *sr; /* the shadow, opened for staging (NULL: none) */
    char shadow[MM_LIMIT_PATH];      /* <staging>/<LABEL> */
    char shadow_repo[MM_LIMIT_PATH]; /* <staging>/<LABEL>/repo */
    int staged;                      /* generations wait in the shadow for the medium */
    int staged_today;                /* today's backup went into the shadow */
    char stage_id[MM_CRYPTO_HEX_SIZE];
    struct mm_repo_counts stage_counts;
    struct mm_repo_sync_pack *check; /* packs the new index files name (checked on the medium) */
    size_t ncheck;
    struct mm_repo_sync_pack *packs; /* every pack of the shadow's index (tree flags) */
    size_t npacks;
    int delivered; /* the window delivered: the shadow drops its blob packs after detach */
    struct mm_repo_sync_stats sync;
    unsigned char (*retired_ids)[MM_CRYPTO_ID_SIZE]; /* generations this window retired */
    size_t nretired_ids, capretired_ids;
    /* a write-only medium ([medium] credential): the host's catalogs (<state_dir>/catalog),
     * and the medium's packs after its last window (<staging>/<LABEL>/packs, sorted) */
    char catalog[MM_LIMIT_PATH];
    struct mm_repo_sync_pack *known;
    size_t nknown;
    /* the guard: <state_dir>/guard ("" no state_dir: the backup's default), and the due
     * sources' settings from the configuration, by the index of the backup's sources */
    char guard_dir[MM_LIMIT_PATH];
    struct mm_guard_source_cfg gsrc[MM_BACKUP_SOURCES_MAX];
    char gnames[MM_BACKUP_SOURCES_MAX][MM_CONFIG_MAX_NAME + 16];
    size_t ngsrc;
};

/* Copy the medium's repository (attached, its window done) to the configured S3 vault, and
 * say how it went in the cycle's result (vault_*). No vault configured: nothing. */
void mm_backup__cycle_vault(struct cyc *c);

/* 1 when the vault needs a person: its copy failed, or the store is not immutable. */
int mm_backup__vault_alert(const struct mm_cycle_result *r);

/* The guard's verdict of a backup (@br) into the cycle's result (guard, guard_codes). */
void mm_backup__cycle_guard(struct cyc *c, const struct mm_backup_result *br);

/* Note the generation @hex as retired by this window (the next head drops it). */
void mm_backup__retired(struct cyc *c, const char *hex);

/*
 * The window's repository head on the medium: checked before anything is delivered (lost
 * evidence refuses the window; deleted generations are recorded, exit 4), and written before
 * the retirement removes the generations noted by mm_backup__retired(), without them.
 * @return 0, or -1 when the window must not write (the cycle failed)
 */
int mm_backup__window_head_check(struct cyc *c);
void mm_backup__window_head_write(struct cyc *c);

/* Mark the cycle failed at @st (see backup_cycle.c). @return -1 */
int mm_backup__cycle_fail(struct cyc *c, enum mm_cycle_stage st, int err, const char *reason);

/* The backup options of the cycle @c for the repository @r at @path and the sources @src
 * (its notes pass through the cycle, which records whether the medium gets the Windows
 * viewer: result.windows_viewer). */
void mm_backup__cycle_opts(struct cyc *c, struct mm_backup_opts *bo, const char *path, mm_repo *r,
                           const char **src, size_t nsrc);

/* <state_dir>/catalog into c->catalog (made, mode 0700). @return 0 or -1 */
int mm_backup__catalog_dir(struct cyc *c);

/* Remember what the medium holds now: the shadow's "base" (and, for a write-only medium, its
 * "packs"). Best effort. */
void mm_backup__stage_base(struct cyc *c);

/* Give the shadow up: close it, remove it with what it said waits (staged/<LABEL>.json). */
void mm_backup__stage_drop(struct cyc *c);

/* Before anything: the shadow's paths; drop every medium's staged data that expired. */
void mm_backup__stage_prepare(struct cyc *c);

/*
 * With the medium offline: when the medium has a shadow, back up @src into it. A shadow
 * that fails is removed (the window then runs the backup on the medium, as before).
 * @return 0 (c->staged tells whether something waits), or -1 (a failed backup of the
 *         sources themselves: the cycle failed)
 */
int mm_backup__stage_run(struct cyc *c, const char **src, size_t nsrc);

/*
 * In the window, the medium open and its label checked: deliver what waits in the shadow.
 * @return 0 delivered; 1 the medium changed behind the shadow (dropped: run the backup on
 *         the medium); -1 failed (cycle failed, the staged data stays for the next window)
 */
int mm_backup__stage_deliver(struct cyc *c);

/* In the window, after a backup on the medium: rebuild the shadow from the medium (a
 * failure is only a note: the next window runs on the medium again). */
void mm_backup__stage_bootstrap(struct cyc *c);

/* In the window, after the day's generation is on the medium: retire whole generations
 * beyond keep / keep_age on the medium and in the shadow, never below the floors; then
 * remember what the medium holds. */
void mm_backup__stage_retire(struct cyc *c);

/* A write-only medium: retire, within the floors, whole generations this host wrote itself
 * (backup_host_keep.c), on the medium and in the shadow; then remember what the medium holds. */
void mm_backup__host_retire(struct cyc *c);

/* The most a structural drill may be short of its interval and still count as due. */
#define MM_BACKUP_DRILL_SLACK_MAX (12 * 3600)

/*
 * Whether the structural drill of the medium @label is due at @now (seconds since 1970 UTC):
 * no structural drill of it in <state_dir>/drills.jsonl, its last one failed, or it is at least
 * [service] structural_drill_interval old (0: always), less an eighth of the interval (at most
 * MM_BACKUP_DRILL_SLACK_MAX: the window's start drifts). backup_drill.c
 */
int mm_backup__drill_due(const mm_config *cfg, const char *label, int64_t now);

/* In the window, the day's generation on the medium and checked: the structural drill of the
 * medium (backup_drill.c), its record in drills.jsonl and the host's audit log, its outcome in
 * the cycle's result (drill_*; a failure makes the window exit 4). Nothing is changed on the
 * medium. */
void mm_backup__cycle_drill(struct cyc *c);

/* After detach: the shadow drops delivered blob packs, staged/<LABEL>.json follows what
 * waits; everything the shadow holds open is released. */
void mm_backup__stage_finish(struct cyc *c);

#endif
