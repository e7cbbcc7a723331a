/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One daily cycle (`mamori run`): pick the medium due on the date (mm_config_medium_for); back
 * up every enabled source that is due as ONE generation (mm_backup_run) into the host's shadow
 * of that medium while it is still offline (docs/format.md "Staging"); run the attach hook,
 * open the repository at the medium's path and refuse a wrong, unlabelled or other hospital's
 * medium before writing; copy only what the medium lacks, each file read back and checked
 * against its hash name, manifests last (a medium without a shadow, or changed behind it, gets
 * the backup itself and the quick verify, as before); retire whole generations beyond keep
 * (never below the floors, and nothing while a suspect generation stands on this host: the
 * guard's standing list in <state_dir>/guard); seal (syncfs; a read-only remount is the
 * detach hook's job); ALWAYS run the detach hook, run the alert hook on any failure, a
 * suspect generation (MAMORI_ALERT "suspect generation on medium X: <reason codes>") or
 * expired staged data, and
 * record the online window (attach start to detach end) as a JSON line in
 * <state_dir>/windows.jsonl (with what `mamori status` needs and cannot learn later: the
 * sources, the medium's free space, size and generations held, the verify and guard verdicts)
 * and, when a repository was opened, as a `cycle` event in the host's audit log of it. Hooks follow
 * docs/operations.md §8: no arguments, a fixed environment (PATH and the MAMORI_* variables,
 * nothing inherited), their output to opts->log_fd, a timeout from the configuration. Nothing here
 * prints, reads the environment or exits.
 */
#ifndef MM_BACKUP_CYCLE_H
#define MM_BACKUP_CYCLE_H

#include <stddef.h>
#include <stdint.h>

#include "backup/backup.h"
#include "config/config.h"

/* Where a cycle stopped (result.stage; MM_CYCLE_STAGE_NONE when it went through). */
enum mm_cycle_stage {
    MM_CYCLE_STAGE_NONE = 0,
    MM_CYCLE_STAGE_MEDIUM,  /* no medium is due (bad date) */
    MM_CYCLE_STAGE_ATTACH,  /* the attach hook failed or timed out */
    MM_CYCLE_STAGE_OPEN,    /* no repository at the medium's path, or it does not unlock */
    MM_CYCLE_STAGE_LABEL,   /* wrong, unlabelled or other hospital's medium: nothing written */
    MM_CYCLE_STAGE_SOURCES, /* no source is due */
    MM_CYCLE_STAGE_BACKUP,  /* mm_backup_run failed */
    MM_CYCLE_STAGE_VERIFY,  /* the verify found damage or could not run */
    MM_CYCLE_STAGE_SEAL,    /* fsync of the repository failed */
    MM_CYCLE_STAGE_DETACH,  /* the detach hook failed (after everything else went well) */
    MM_CYCLE_STAGE_COPY,    /* copying the staged generation to the medium failed (kept) */
};

struct mm_cycle_opts {
    struct mm_config_date date; /* the cycle's local date */
    int minute;                 /* minutes after local midnight, for source windows */
    const char *pass;           /* the passphrase of the repositories (any key slot) */
    size_t passlen;
    const char *cache_root;             /* as mm_backup_opts (NULL: /var/cache/mamori) */
    const char *audit_host_dir;         /* as mm_backup_opts */
    int log_fd;                         /* hooks' stdout and stderr (-1: /dev/null) */
    unsigned int threads, dict_samples; /* as mm_backup_opts (0: defaults) */
    int medium_viewer;                  /* refresh the viewer on the medium */
    const char *windows_exe;            /* as mm_backup_opts */
    mm_backup_note_fn note;             /* as mm_backup_opts, with @arg */
    void *arg;
};

struct mm_cycle_result {
    enum mm_backup_exit exit; /* 0 ok, 1 failed (detached, alerted), 4 written, attention */
    enum mm_cycle_stage stage;
    int err;          /* the mm_err of the failure */
    char reason[160]; /* short, no patient data: "attach hook exited 3" (MAMORI_ALERT) */
    char medium[MM_CONFIG_MAX_NAME + 1]; /* the label due */
    char found[MM_CONFIG_MAX_NAME + 1];  /* STAGE_LABEL: the label found ("" unlabelled) */
    char found_hospital[MM_CONFIG_MAX_NAME + 1];
    size_t sources;                                 /* sources backed up */
    int generations;                                /* written (0 or 1) */
    char id[MM_CRYPTO_HEX_SIZE];                    /* the generation written */
    uint64_t bytes_written;                         /* bytes stored in packs on the medium */
    double online_s;                                /* attach start to detach end */
    int attach_status, detach_status, alert_status; /* -1 not run; 0 ok; else failed */
    int state_written;                              /* the window's line is in the state file */
    int audit_written; /* the window's `cycle` event is in the host's audit log */
    struct mm_repo_verify_stats verify;
    /* for `mamori status` (status.h), which never opens a medium: the window record holds */
    char source_names[MM_BACKUP_SOURCES_MAX][MM_CONFIG_MAX_NAME + 1]; /* the due sources */
    int64_t free_bytes, size_bytes; /* statvfs of the medium's path while attached; -1 unknown */
    int64_t generations_held;       /* on the medium after the backup; -1 unknown */
    /* staging (docs/format.md "Staging") */
    char window[8]; /* "staged": only what the medium lacked was copied in the window;
                       "direct": the backup ran on the medium (a medium's first window,
                       after a resync, or when staging failed); "" nothing written */
    double stage_s; /* the backup into the host's shadow, with the medium offline */
    uint64_t copied_files, copied_bytes; /* copied to the medium (and read back) */
    uint64_t fsyncs;                     /* fsync calls on the medium during the window */
    int write_only;     /* written with the medium's host credential, no passphrase */
    int resynced;       /* the medium had changed behind its shadow (or, write-only, a pack
                           its staged generations may use was on neither the medium nor the
                           shadow): the staged generations were dropped, the day's backup ran
                           on the medium, shadow rebuilt */
    int staged_waiting; /* staged generations wait in the host's staging for this medium */
    size_t retired;     /* whole generations retired beyond keep / keep_age (floors held) */
    /* the guard (guard/guard.h): the verdict of the day's generation ("none", "clean",
     * "suspect"; "" none written) and its reason codes (the first word of each reason line,
     * space separated: no patient data); retire_held: a suspect generation stands on this
     * host (its guard folder's standing list, or today's), so nothing was retired on the
     * medium (nor by the host's keep) */
    char guard[8];
    char guard_codes[160];
    int retire_held;
    char expired[160]; /* media whose staged data expired and was dropped, space separated */
    /* the viewer on the medium with bin/ (opts.medium_viewer): 1 with the Windows viewer, 0
     * without (no Windows build on this host); -1 bin/ not refreshed */
    int windows_viewer;
    /* the S3 vault ([vault], backup_vault.c): "" none configured; "ok" every generation of
     * the medium is in the vault; "failed" (vault_reason: why; the medium's generation
     * stands, the next window sends what the vault lacks); "skipped" nothing was written */
    char vault[8];
    char vault_where[192];  /* s3://host/bucket/prefix/<repository ID>, no secrets */
    int vault_immutable;    /* the store proved Object Lock (1), did not (0), unknown (-1) */
    char vault_reason[192]; /* why it failed, or why the store is not immutable */
    uint64_t vault_files, vault_bytes, vault_generations, vault_extended;
    int64_t vault_retain_until; /* seconds since 1970 UTC; 0 none (not immutable) */
    /* the structural drill (backup_drill.c, docs/operations.md "The scheduled structural
     * drill"): "" not due (or nothing was written); "ok"; "failed" (drill_reason: the first
     * problem, no patient data; the window exits 4 and alerts). Every pack read and hashed,
     * compared with the host catalog (write-only) or the index (passphrase); every other
     * repository file read end to end. drill_s: what it added to the online window. */
    char drill[8];
    char drill_reason[192];
    uint64_t drill_packs, drill_files, drill_bytes;
    double drill_read_s, drill_s;
    int drill_recorded; /* its line is in <state_dir>/drills.jsonl */
    int drill_audited;  /* its `drill` event is in the host's audit log */
};

/* What run's retirement of whole generations may not go below (struct mm_config_media). */
struct mm_cycle_keep {
    unsigned int keep;      /* the medium's keep (0: no count limit) */
    int64_t keep_age;       /* the medium's keep_age, seconds (0: no age limit) */
    int64_t min_age;        /* [media] keep_min_age: never retire a younger generation */
    unsigned int min_clean; /* [media] keep_min_clean: never below this many clean ones */
};

/* A generation as retirement sees it. */
struct mm_cycle_gen_fact {
    int64_t end_ns; /* when it was written (ns since 1970 UTC) */
    int clean;      /* guard verdict not "suspect" and no attention mark */
};

/*
 * Which of the @n generations @g (oldest first) run retires at @now_ns: those beyond
 * k->keep or older than k->keep_age, oldest first, but never the newest, never one younger
 * than k->min_age, and never a clean one when that would leave fewer than k->min_clean clean
 * generations. Pure: no I/O.
 * @param[out] retire @n flags, 1 = retire
 * @return how many are retired
 */
size_t mm_cycle_retire_plan(const struct mm_cycle_gen_fact *g, size_t n,
                            const struct mm_cycle_keep *k, int64_t now_ns, unsigned char *retire);

/* Whether data staged at @staged_at (seconds since 1970) has expired at @now with @expiry
 * seconds of waiting allowed (0: never). */
int mm_cycle_staged_expired(int64_t staged_at, int64_t expiry, int64_t now);

/* "none", "medium", "attach", "open", "label", "sources", "backup", "verify", "seal", "detach" */
const char *mm_cycle_stage_name(enum mm_cycle_stage s);

/*
 * Run one cycle of @cfg as the file comment says.
 * @return res->exit
 */
int mm_cycle_run(const mm_config *cfg, const struct mm_cycle_opts *opts,
                 struct mm_cycle_result *res);

/*
 * Run the hook @hook (path NULL: nothing to run, 0) as @event ("attach", "detach", "alert")
 * with the contract's environment; @alert is MAMORI_ALERT (NULL: unset).
 * @return 0 exited 0; 1 exited non-zero or by a signal; 2 timed out (killed); MM_EIO cannot
 *         start it (not found, not executable); a failure's text in mm_error_last()
 */
int mm_cycle_hook(const mm_config *cfg, const struct mm_config_hook *hook, const char *event,
                  const struct mm_config_medium *m, const char *alert, int log_fd);

/*
 * Read the passphrase file @path: refused unless a regular file owned by the running user
 * with mode 0600 (checked with fstat on the opened file). A trailing newline is dropped.
 * @return 0 with the length in *len; MM_ENOTFOUND, MM_EREFUSED (group or others can read
 *         it), MM_EINVAL (owner, mode), MM_ELIMIT, MM_EIO
 */
int mm_cycle_passphrase_read(const char *path, char *buf, size_t cap, size_t *len);

#endif
