/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The full restore drill (`mamori drill`, docs/operations.md "Restore drills"): with a
 * person's key, one generation is checked as a recovery would use it — the repository head,
 * the time to a usable viewer (unlock, patient index opened on demand, a patient found and
 * shown), a restore of every file into a private scratch folder, a second and independent
 * comparison of every restored file with the generation's trees, a sample of patients read
 * end to end as the viewer reads them and compared with their records loaded from the
 * restored files, and the RPO of each source — and the scratch copy is removed, also on
 * failure. The result carries no patient data: checks name what failed, never whom.
 * Also the drill's HTML report (drill_report.c) an auditor files.
 */
#ifndef MM_DRILL_DRILL_H
#define MM_DRILL_DRILL_H

#include <stddef.h>
#include <stdint.h>

#include "backup/status.h"
#include "common/buf.h"
#include "repo/repo.h"

/* Patients read end to end by default, and at most. */
#define MM_DRILL_SAMPLE_DEFAULT 20u
#define MM_DRILL_SAMPLE_MAX     10000u

/* The checks of a drill, in the order they run. */
enum mm_drill_check_id {
    MM_DRILL_CHECK_GENERATION = 0, /* the generation asked for exists and opens */
    MM_DRILL_CHECK_HEAD,           /* the repository head: nothing deleted, no rollback */
    MM_DRILL_CHECK_VIEWER,         /* patient index opened, a patient found and shown */
    MM_DRILL_CHECK_SPACE,          /* room for the restore in the scratch folder */
    MM_DRILL_CHECK_RESTORE,        /* every file restored, every byte checked against its ID */
    MM_DRILL_CHECK_COMPARE,        /* every restored file read back and compared again */
    MM_DRILL_CHECK_PATIENTS,       /* sampled patients read as the viewer reads them */
    MM_DRILL_CHECK_RECORDS,        /* their index summaries equal their restored records */
    MM_DRILL_CHECK_CLEANUP,        /* the scratch copy removed */
    MM_DRILL_CHECKS
};

/* One check: whether it ran, its result and what it found, in words (no patient data). */
struct mm_drill_check {
    const char *name; /* stable: "generation", "head", "viewer", ... (static) */
    int run;          /* 0: not run (an earlier step failed, or not applicable: see detail) */
    int ok;
    char detail_ja[320], detail_en[320];
};

/* The RPO of one source of the generation. */
struct mm_drill_rpo {
    char *name;                          /* the source's entry in the generation (owned) */
    char *path;                          /* the folder backed up (owned) */
    int64_t age_s;                       /* at the drill's start; -1: no such generation */
    char generation[MM_CRYPTO_HEX_SIZE]; /* the newest clean, verified one holding it, or "" */
};

/* Steps reported as they begin (for a progress display). */
enum mm_drill_step {
    MM_DRILL_STEP_VIEWER = 1,
    MM_DRILL_STEP_RESTORE,
    MM_DRILL_STEP_COMPARE,
    MM_DRILL_STEP_PATIENTS,
    MM_DRILL_STEP_CLEANUP
};

struct mm_drill_opts {
    const char *generation; /* any spec of mm_repo_gen_find; NULL: "good" */
    const char *scratch;    /* the folder a new private mamori-drill-XXXXXX is made in (required:
                               the caller picks $TMPDIR or /var/tmp; the library reads no
                               environment) */
    const char *host_dir;   /* the host's audit folder for the head check (NULL: none) */
    unsigned int sample;    /* patients read end to end; 0: MM_DRILL_SAMPLE_DEFAULT */
    unsigned int threads;   /* the restore's workers (0: its default) */
    double unlock_s;        /* seconds the caller spent unlocking the key slot before the call:
                               counted in viewer_s and total_s */
    int64_t now;            /* seconds since 1970 UTC for the RPO (0: the clock) */
    void (*step)(enum mm_drill_step s, void *ctx); /* NULL, or each step as it begins */
    mm_repo_progress_fn progress;                  /* NULL, or the restore's and compare's */
    mm_repo_problem_fn problem; /* NULL, or every damaged or differing file (redacted) */
    void *ctx;
};

struct mm_drill_result {
    /* the generation drilled ("" when none was found) */
    char generation[MM_CRYPTO_HEX_SIZE];
    int64_t gen_time_ns; /* its backup's start */
    char guard[16];      /* its guard verdict: "none", "clean", "suspect" */
    int guard_accepted;
    int verified; /* enum mm_repo_verify_state of the generation */
    char repo_id[MM_CRYPTO_HEX_SIZE];
    char user[MM_KEYSLOT_NAME_MAX + 1]; /* the key slot that ran it */
    int64_t at;                         /* start, seconds since 1970 UTC */
    struct mm_drill_check checks[MM_DRILL_CHECKS];
    double viewer_s, restore_s, compare_s, total_s; /* -1: not measured */
    double patients_s, cleanup_s; /* reading the sample; removing the scratch copy; -1 */
    double mib_s;                 /* restored bytes / restore_s; -1 */
    uint64_t files, bytes;        /* restored */
    uint64_t damaged;             /* files the restore found damaged */
    struct mm_repo_compare_stats compare;
    uint64_t patients_total;            /* in the index */
    uint64_t patients, patients_failed; /* sampled, and of them failed */
    uint64_t documents;                 /* document and image files read back */
    struct mm_drill_rpo *rpo;           /* per source of the generation */
    size_t nrpo;
    int64_t rpo_s;     /* the worst of them; -1 when one has none */
    int ok;            /* every check that ran passed and none that should run was left out */
    int damage;        /* a failure is damage (exit 3), not an error */
    int cleaned;       /* the scratch copy is gone (or was never made) */
    char scratch[512]; /* the scratch folder (removed; named for a failed cleanup) */
    struct mm_status_drill record; /* for <state_dir>/drills.jsonl (medium label: caller's) */
};

/*
 * Run the drill on the open @r (the caller holds its shared lock: mm_repo_lock) as the file
 * comment says. Failed checks are results, not errors.
 * @param[out] out the result (mm_drill_result_release), filled as far as the drill got,
 *             also on failure
 * @return 0 when the drill ran (out->ok, out->damage); MM_ENOTFOUND (no such generation:
 *         the message names what was asked), MM_EINVAL (bad options, an ambiguous prefix),
 *         MM_ELIMIT (not enough free space for the restore), MM_ELOCKED, MM_EIO, MM_ENOMEM
 */
int mm_drill_run(mm_repo *r, const struct mm_drill_opts *o, struct mm_drill_result *out);

/* Free what @res holds. Accepts a zeroed result. */
void mm_drill_result_release(struct mm_drill_result *res);

/* The language of a report. */
enum mm_drill_lang { MM_DRILL_JA = 0, MM_DRILL_EN = 1 };

/* Who and where, for the report's header (strings may be NULL: "-"). */
struct mm_drill_report_info {
    const char *hospital; /* the medium's hospital ID */
    const char *medium;   /* the medium's label */
    const char *host;     /* the host the drill ran on */
    const char *repo;     /* the repository's path */
    const char *version;  /* mamori's version */
};

/*
 * Append the drill's report to @out: one standalone HTML document (inline CSS, no script, no
 * external request, A4-printable) in @lang with the generation, who ran it, when, the
 * figures (RTO: time to a usable viewer, to a full restore, throughput; RPO per source), each
 * check with its result and detail, the verdict and a signature block for the auditor. Every
 * value is HTML-escaped. Nothing in it names a patient.
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_drill_report_html(const struct mm_drill_result *res, const struct mm_drill_report_info *info,
                         enum mm_drill_lang lang, mm_buf *out);

/*
 * Append @s HTML-escaped (& < > " ' as entities) to @out.
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_drill_html_escape(mm_buf *out, const char *s);

#endif
