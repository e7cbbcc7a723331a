/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ransomware guard: during every backup it watches the change set the walk reports
 * (mm_repo_delta_fn: files added, rewritten, replaced, renamed, deleted, with the first bytes
 * of every file read) and judges it against the source's own history of normal days: shares
 * of files modified, deleted and added; in SS-MIX2 storages message files rewritten in place
 * (the standard renames flags and adds files, it never rewrites one), files that no longer
 * decode as HL7 and names outside the convention; the entropy of the first bytes of changed
 * files, per file type (PDF, JPEG, ZIP, DICOM are high-entropy by nature); ransom-note names
 * and extensions; canary files planted where the configuration allows. The verdict is
 * "clean" or "suspect" with its reasons, one per line, in a form mm_guard_reasons_say()
 * renders in Japanese or English. Thresholds learn from the history of clean runs kept in
 * the host's guard folder (per source) and can be set per source in the configuration. A
 * suspect generation "stands" until a person accepts it (`mamori guard accept`); while one
 * stands anywhere on this host, every run is suspect too (judged against the last clean
 * generation) and nothing is pruned or retired on any medium (mm_guard_standing_*).
 * Nothing here prints, and no reason holds patient data (no names, no paths: counts, shares,
 * file types and extensions only). docs/guard.md describes the signals and the thresholds.
 */
#ifndef MM_GUARD_GUARD_H
#define MM_GUARD_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "repo/repo.h"

typedef struct mm_guard mm_guard;

/* Per-source settings (configuration [source "x"] guard_* keys; defaults when not given). */
struct mm_guard_source_cfg {
    const char *name; /* the source's name: the configuration's, or the folder's base name;
                         its history is kept under it (safe characters only) */
    int ssmix2;       /* the source is an SS-MIX2 storage (standard or extended) */
    int off;          /* `guard = off`: not judged (the reason says so; the verdict stays
                         "clean" only if every other source is clean) */
    /* shares of the source's files (0..1) above which a run is suspect; < 0: learned */
    double max_modified, max_deleted, max_added;
    int canary;       /* plant canary files in the source's top folder and check them each run */
    const char *path; /* the source folder (for its canaries); NULL: no canary */
};

struct mm_guard_opts {
    const char *dir; /* the host's guard folder (history, standing suspects, canaries);
                        NULL: no history, built-in thresholds only, nothing recorded */
    const struct mm_guard_source_cfg *sources; /* by the index mm_repo_delta.source */
    size_t nsources;
    int64_t now_s;        /* the run's time (seconds since 1970, UTC) */
    int64_t parent_end_s; /* when the parent generation was written; 0: none (first backup) */
    const char *repo_id;  /* the repository judged (for the standing list) */
    const char *medium;   /* its medium's label, or NULL */
};

/* A verdict. */
struct mm_guard_verdict {
    int suspect;   /* 0: "clean", 1: "suspect" */
    char *reasons; /* NULL, or reason lines (mm_guard_reasons_say); owned */
};

/*
 * Start judging one backup. Checks, then plants, the canaries of sources with canary set and
 * a path (only with a guard folder, where they are remembered; a source folder that cannot
 * be written is a note, not a failure).
 * @return 0, MM_EINVAL, MM_ENOMEM, MM_EIO (the guard folder cannot be read)
 */
int mm_guard_new(const struct mm_guard_opts *o, mm_guard **out);

/* Free @g. Accepts NULL. */
void mm_guard_free(mm_guard *g);

/* An mm_repo_delta_fn (@ctx is the mm_guard): safe to call from many threads at once. */
void mm_guard_observe(const struct mm_repo_delta *d, void *ctx);

/*
 * Judge what was observed, with the standing suspects of the guard folder.
 * @param[out] v the verdict (mm_guard_verdict_release)
 * @return 0, MM_ENOMEM
 */
int mm_guard_judge(mm_guard *g, struct mm_guard_verdict *v);

/*
 * After the generation @gen_id holding verdict @v was written: a clean run's figures join
 * each source's history (learning); a suspect one is added to the standing suspects.
 * @return 0, MM_EIO (the guard folder cannot be written: the caller reports it), MM_ENOMEM
 */
int mm_guard_record(mm_guard *g, const char *gen_id, const struct mm_guard_verdict *v);

void mm_guard_verdict_release(struct mm_guard_verdict *v);

/* "clean" or "suspect". */
const char *mm_guard_verdict_name(const struct mm_guard_verdict *v);

/*
 * Render the reason lines @reasons (as stored in a manifest) for people, one sentence per
 * line, in Japanese (@ja 1) or English, into @out (NUL-terminated, truncated to @cap).
 * A line this mamori does not know is shown as stored.
 */
void mm_guard_reasons_say(const char *reasons, int ja, char *out, size_t cap);

/* ---- standing suspects (the host's guard folder) ----------------------------------------- */

struct mm_guard_standing {
    char gen[MM_CRYPTO_HEX_SIZE];
    char repo_id[MM_CRYPTO_HEX_SIZE];
    char medium[MM_REPO_MEDIUM_NAME_MAX + 1]; /* "" unknown */
    int64_t time_s;                           /* when it was judged */
};

/*
 * The suspect generations of @dir not yet accepted (any medium).
 * @param[out] out array of @n, owned by the caller (mm_free); NULL when none
 * @return 0, MM_EIO, MM_ECORRUPT, MM_ENOMEM
 */
int mm_guard_standing_list(const char *dir, struct mm_guard_standing **out, size_t *n);

/*
 * A person accepted generation @gen (its signed record is on its medium): remove it from the
 * standing suspects of @dir. @return 1 removed, 0 not listed, MM_EIO, MM_ECORRUPT (the list
 * is damaged: nothing is changed)
 */
int mm_guard_standing_clear(const char *dir, const char *gen);

#endif
