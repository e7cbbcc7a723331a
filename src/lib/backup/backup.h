/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backup pipeline every caller shares (`mamori backup`, later `run` and `drill`): find the
 * SS-MIX2 storages at or below the given folders (mm_ssmix2_detect), open and lock the
 * repository, build or update the patient index (kept between runs in the host's cache
 * folder, started beside the walk when the cache matches no generation), write the generation
 * with the index and its check (mm_repo_attention_judge), record the backup's audit event on
 * the medium and on the host, and refresh the viewer and its launcher on the medium. Nothing
 * here prints or reads the environment: what a person should hear comes through the note
 * callback, the outcome in struct mm_backup_result.
 */
#ifndef MM_BACKUP_BACKUP_H
#define MM_BACKUP_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "crypto/crypto.h"
#include "guard/guard.h"
#include "repo/repo.h"
#include "ssmix2/ssmix2.h"

#define MM_BACKUP_SOURCES_MAX 64 /* folders of one backup */

/* How a backup ended, as the command line's exit status (docs/operations.md). */
enum mm_backup_exit {
    MM_BACKUP_EXIT_OK = 0,
    MM_BACKUP_EXIT_FAILED = 1,    /* nothing written, or files could not be read */
    MM_BACKUP_EXIT_EVIDENCE = 3,  /* nothing written: the repository head shows a deleted or
                                     cut audit log or a rollback (result.head); a person must
                                     look and accept it (opts.accept_loss) */
    MM_BACKUP_EXIT_ATTENTION = 4, /* written, but marked: result.check.attention says why, or
                                     result.evidence (the head's findings, recorded), or
                                     result.unstable.unstable files kept changing while read,
                                     or result.guard is "suspect" (a person must look) */
};

/* Where a backup that wrote nothing stopped (result.failure; result.err is the mm_err). */
enum mm_backup_failure {
    MM_BACKUP_FAIL_NONE = 0,
    MM_BACKUP_FAIL_SOURCE,       /* sources[result.bad_source] is not a folder, or too many */
    MM_BACKUP_FAIL_DETECT,       /* looking for SS-MIX2 storages failed (mm_error_last) */
    MM_BACKUP_FAIL_STORAGE_PATH, /* a storage's path in the generation is too long */
    MM_BACKUP_FAIL_OPEN,         /* the open callback failed (it reported why) */
    MM_BACKUP_FAIL_LOCK,         /* the repository's lock (err: MM_ELOCKED, ...) */
    MM_BACKUP_FAIL_CACHE_PATH,   /* the index cache folder's path is too long */
    MM_BACKUP_FAIL_NOMEM,
    MM_BACKUP_FAIL_BACKUP,   /* mm_repo_backup() failed (err, mm_error_last) */
    MM_BACKUP_FAIL_HEAD,     /* the repository head could not be checked (err) */
    MM_BACKUP_FAIL_EVIDENCE, /* refused: result.head shows lost evidence (exit 3) */
};

/* What a person should hear during a backup (none of it holds patient data). */
enum mm_backup_note_kind {
    MM_BACKUP_NOTE_DETECT_UNREADABLE, /* count: folders unreadable while looking for storages */
    MM_BACKUP_NOTE_STALE_LOCKS,       /* count: locks of processes that are gone, removed */
    MM_BACKUP_NOTE_INDEX_FAILED,      /* message: no index; the generation is written without */
    MM_BACKUP_NOTE_INDEX_UNREADABLE,  /* count: files the index could not read (backed up) */
    MM_BACKUP_NOTE_WALK,              /* the repository's part begins (progress starts) */
    MM_BACKUP_NOTE_WRITTEN, /* the repository's part is over (progress ends): err in count */
    MM_BACKUP_NOTE_AUDIT,   /* audit: a log of the backup's event could not be written */
    MM_BACKUP_NOTE_VIEWER,  /* message: the viewer on the medium could not be updated */
    /* interrupted: an earlier writer was killed (its stale lock found); count 1 when its
     * event is in the audit logs, 0 when not (audit says what failed) */
    MM_BACKUP_NOTE_INTERRUPTED,
    /* message: the host's guard folder could not be read (the run is judged with built-in
     * thresholds) or written (count 1: this run's figures or its standing suspect are not
     * recorded; a suspect verdict still stands on the medium) */
    MM_BACKUP_NOTE_GUARD,
    /* bin/ was refreshed but no Windows build of mamori was found (opts.windows_exe): the
     * medium has no Windows viewer (said once per backup, before the walk) */
    MM_BACKUP_NOTE_NO_WINDOWS,
    /* the host's patient-index cache matched no generation (lost, another host's): count 1,
     * the parent generation's index was read from the repository (then updated for the
     * changed patients); count 0, it could not be used (message: why) and the index is built
     * from every file */
    MM_BACKUP_NOTE_INDEX_CACHE,
};

struct mm_backup_note {
    enum mm_backup_note_kind kind;
    uint64_t count;
    const char *message;
    const struct mm_audit_write_report *audit;
    const struct mm_repo_interrupted *interrupted;
};
typedef void (*mm_backup_note_fn)(const struct mm_backup_note *n, void *arg);

/* Open the repository (after the sources were looked at). @return 0, or non-zero: failed */
typedef int (*mm_backup_open_fn)(void *arg, mm_repo **out);

struct mm_backup_opts {
    const char *repo_path;      /* the repository's folder (audit log, viewer on the medium) */
    mm_repo *repo;              /* open, or NULL: opened by @open (and freed by the result) */
    mm_backup_open_fn open;     /* used when @repo is NULL */
    const char *const *sources; /* the folders to back up */
    size_t nsources;            /* 1 to MM_BACKUP_SOURCES_MAX */
    const char *name;           /* NULL, or the generation's name */
    unsigned int threads;       /* 0: mm_repo_backup's default */
    unsigned int dict_samples;  /* 0: mm_repo_backup's default */
    int no_index;               /* no patient index and no check */
    const char *cache_root;     /* the cache: <cache_root>/<repo ID>/ (NULL: /var/cache/mamori) */
    const char *audit_host_dir; /* the host's audit folder (NULL: none, reported) */
    int medium_viewer; /* refresh bin/ (the viewer's program) on the medium; the launcher and
                          the guide are refreshed by every backup */
    /* the Windows build put on the medium as bin/mamori.exe with bin/ (@medium_viewer): NULL
     * looked for beside this mamori (mm_backup_medium_viewer), "" none */
    const char *windows_exe;
    int viewer_elsewhere; /* @repo_path is the host's shadow of the medium (staging): list the
                             viewer files for the manifest as they will be on the medium, but
                             write none; the window writes them on the medium */
    mm_repo_progress_fn progress; /* as mm_repo_backup's, with @arg */
    mm_repo_problem_fn problem;   /* files that could not be read, with @arg */
    mm_repo_problem_fn unstable;  /* NULL, or each file stored unstable (redacted), with @arg */
    /* tests only: mm_repo_backup_opts.after_read, with @arg */
    void (*after_read)(const char *path, unsigned int attempt, void *arg);
    mm_backup_note_fn note; /* NULL, or what a person should hear, with @arg */
    void *arg;
    /* @repo (or what @open gives) opened with a host credential (mm_repo_open_host): the
     * folder of the host's catalogs (mm_repo_backup_opts.catalog_dir); ignored otherwise */
    const char *catalog_dir;
    /* a person accepts what the repository head shows is lost (a deleted or cut audit log,
     * a rollback, deleted generations): recorded as an `evidence-lost` event, and the head
     * starts again from what is there (docs/operations.md) */
    int accept_loss;
    int no_head; /* @repo_path is the host's shadow of a medium: no head check, no head */
    /* as mm_repo_backup_opts.catalog_pack_known (NULL: a pack must be in @repo_path) */
    int (*catalog_pack_known)(const char *hex, uint64_t size, void *ctx);
    void *catalog_pack_ctx;
    /* the guard (guard/guard.h): settings of each source, by the index of @sources (NULL:
     * every source with the defaults, named by its folder's base name) */
    const struct mm_guard_source_cfg *guard_sources;
    const char *guard_dir;    /* the host's guard folder (NULL: <cache_root>/guard) */
    int no_guard;             /* not judged ("none" stored; `backup --no-guard`, benchmarks) */
    const char *medium_label; /* the medium's label for the standing suspects (NULL: none) */
};

struct mm_backup_result {
    enum mm_backup_exit exit;
    enum mm_backup_failure failure;
    int err;           /* the mm_err of a failure */
    size_t bad_source; /* MM_BACKUP_FAIL_SOURCE: the index of the source that is not a folder */
    mm_repo *repo;     /* the repository opened by opts.open (NULL when given or not opened) */
    char id[MM_CRYPTO_HEX_SIZE]; /* the generation written */
    struct mm_repo_counts counts;
    double duration_s; /* the backup with its index, from the walk's start */
    enum mm_repo_source_kind kinds[MM_BACKUP_SOURCES_MAX]; /* what each source is */
    struct mm_ssmix2_detection storages; /* the SS-MIX2 storages found below the sources */
    int index_stored;                    /* the generation holds a patient index */
    int checked; /* the patient-index check was stored (then check is meaningful) */
    struct mm_repo_index_check check;
    size_t not_indexed;                    /* SS-MIX2 storages the index does not cover */
    uint64_t problems;                     /* files or folders that could not be read */
    int audit_written;                     /* the backup's event is in both logs */
    struct mm_repo_catalog_report catalog; /* a host's backup: what its catalog did */
    struct mm_repo_head_report head;       /* the repository head checked before the backup */
    int evidence; /* the head showed losses: recorded in the audit log (accepted, or deleted
                     generations, which do not stop a backup: exit 4) */
    int evidence_recorded;            /* that `evidence-lost` event is in the medium's log */
    struct mm_repo_unstable unstable; /* files that changed while read (manifest tag 18) */
    char guard[8];       /* the verdict stored: "none", "clean" or "suspect" (exit 4) */
    char *guard_reasons; /* NULL, or its reason lines (mm_guard_reasons_say); owned */
    int guard_recorded;  /* the verdict is in the host's guard folder (history, standing) */
};

/*
 * Back up opts->sources into the repository as a new generation, as the file comment says.
 * A patient index that cannot be built leaves the generation without one (noted, marked);
 * failures after the generation is written (audit log, viewer) are notes, never failures.
 * The repository's exclusive lock is taken here and held until the caller unlocks or frees
 * the repository (mm_backup_result_release() for one opened by opts->open), so a caller may
 * verify what was written before another writer comes in.
 * @param[out] res everything above; release with mm_backup_result_release()
 * @return res->exit (MM_BACKUP_EXIT_FAILED with res->failure set when nothing was written)
 */
int mm_backup_run(const struct mm_backup_opts *opts, struct mm_backup_result *res);

/*
 * The fields of a written backup's audit event after "result" = "ok" (generation @id, its
 * guard verdict @guard ("none", "clean", "suspect"; NULL: "none"), the counts @c), appended to @b:
 * `run` appends the same event to the medium's log when the backup was written into the host's
 * staging (cycle.h).
 */
void mm_backup_audit_fields(const char *id, const char *guard, const struct mm_repo_counts *c,
                            struct mm_audit_fields *b);

/* Release what @res holds (the storages; the repository it opened). */
void mm_backup_result_release(struct mm_backup_result *res);

/* Whether storage @i of res->storages is in the generation's patient index. */
int mm_backup_storage_indexed(const struct mm_backup_result *res, size_t i);

/* "ssmix2-standard", "ssmix2-extended", "folder". */
const char *mm_backup_kind_name(enum mm_repo_source_kind k);

/* ---- the viewer on the medium (backup_medium.c) ------------------------------------------- */

enum mm_backup_viewer_flags {
    MM_BACKUP_VIEWER_BIN = 1 << 0,   /* this mamori and its libraries in bin/ too */
    MM_BACKUP_VIEWER_WRITE = 1 << 1, /* write what differs (without: only list it) */
    /* without BIN: the guide's Windows step follows bin/mamori.exe on the medium at @repo
     * (media init after init; never a host's shadow of the medium) */
    MM_BACKUP_VIEWER_SEE_MEDIUM = 1 << 2,
};

/* The Windows viewer's files on the medium (the launchers: the same bytes, ASCII, CRLF). */
#define MM_BACKUP_WINDOWS_EXE      "bin/mamori.exe"
#define MM_BACKUP_WINDOWS_LAUNCHER "緊急時ビューア.bat"
#define MM_BACKUP_WINDOWS_ASCII    "mamori-view.bat"
#define MM_BACKUP_WINDOWS_SUMS     "SHA256SUMS-windows.txt" /* "<sha256>  <path>" of the three */

/*
 * The viewer on the medium at @repo: <repo>/mamori-view.sh (executable), the emergency guide
 * (緊急時の使い方.html/.txt, README-EMERGENCY.html/.txt) filled in with @m's label and
 * hospital (NULL: unlabelled), and with MM_BACKUP_VIEWER_BIN this mamori in bin/mamori and
 * the shared libraries it runs with (the dynamic loader included) in bin/lib/, and beside it
 * the Windows viewer when a Windows build is found: MM_BACKUP_WINDOWS_EXE, the launchers
 * MM_BACKUP_WINDOWS_LAUNCHER and MM_BACKUP_WINDOWS_ASCII (running
 * `"%~dp0bin\mamori.exe" view --repo "%~dp0."`) and MM_BACKUP_WINDOWS_SUMS. The build is
 * @windows_exe ("" or a path that is no file: none), or with NULL the first file of
 * <dir of this mamori>/../lib/mamori/windows/mamori.exe (installed),
 * <dir>/../../../build-windows/mamori.exe (build/src/cli/mamori of a source tree) and
 * <dir>/../../build-windows/mamori.exe. The guide's Windows step says how to start it, or
 * that the medium has none. A refresh that leaves bin/ alone writes nothing of Windows, and
 * its guide says the medium has none (with MM_BACKUP_VIEWER_SEE_MEDIUM: what bin/mamori.exe
 * on the medium says).
 * With MM_BACKUP_VIEWER_WRITE every file that differs on the medium is replaced
 * crash-safely; nothing that is the same is rewritten.
 * @param[out] out NULL, or the list of the files (path, size, SHA-256) for the manifest,
 *             owned by the caller (mm_repo_viewer_free); MM_REPO_VIEWER_NO_BIN when bin/ was
 *             not wanted or this mamori was started through the loader (from a medium)
 * @return 0, MM_EINVAL (the Windows build is not a Windows program), MM_ELIMIT, MM_EIO,
 *         MM_ENOMEM (message set)
 */
int mm_backup_medium_viewer(const char *repo, const struct mm_repo_medium *m, unsigned int flags,
                            const char *windows_exe, struct mm_repo_viewer **out);

/* Whether the list @v (of mm_backup_medium_viewer; NULL: no) holds the Windows viewer. */
int mm_backup_medium_has_windows(const struct mm_repo_viewer *v);

/*
 * After `media init`: rewrite the launcher and the guide (not bin/) of the open @r at @repo
 * with its label, when it has no generation yet. A medium with generations keeps its guide
 * until the next backup, whose manifest lists the new one (verify compares the medium with
 * the newest manifest's list: a guide rewritten now would be reported as changed).
 * @return 0 (written), 1 (left for the next backup), or an mm_err (message set)
 */
int mm_backup_medium_relabel(mm_repo *r, const char *repo);

#endif
