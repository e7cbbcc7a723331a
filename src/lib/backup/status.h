/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state of all backups at once (`mamori status`), from this host's own records only: the
 * window records <state_dir>/windows.jsonl that every cycle appends (cycle.h), the files
 * <state_dir>/staged/<LABEL>.json of data waiting in the staging area for a medium, and the
 * configuration. No medium is opened, so it works while every medium is detached (the air
 * gap). Per source: the last good generation (written by a window whose result was 0 or 4,
 * its guard verdict not suspect),
 * its age against the source's RPO target, its medium, the last verify and guard verdict.
 * Per medium of the configuration (also one never written): when it was last written, its
 * last window, the figures recorded while it was attached (generations held, free space,
 * size), whether its day passed without a good window, what waits in staging for it, and
 * whether it is due today or next. The file is read from its end (at most
 * MM_STATUS_TAIL_MAX bytes), so memory stays bounded however long it grows; lines that do
 * not parse are skipped and counted. The judgement is docs/operations.md §8.6.
 */
#ifndef MM_BACKUP_STATUS_H
#define MM_BACKUP_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "backup/backup.h"
#include "common/buf.h"
#include "config/config.h"
#include "crypto/crypto.h"

struct mm_status_drills;

/* The most bytes of windows.jsonl read, from its end (about ten years of daily windows). */
#define MM_STATUS_TAIL_MAX (4u * 1024u * 1024u)
/* A line longer than this is not a window record (skipped, counted). */
#define MM_STATUS_LINE_MAX (64u * 1024u)
/* The largest staged/<LABEL>.json read. */
#define MM_STATUS_STAGED_MAX (64u * 1024u)
/* How many days back a medium's last due day is looked for (a monthly GFS medium: a year). */
#define MM_STATUS_DUE_LOOKBACK 400

/* Why an item needs a person: bits of `attention`. */
enum mm_status_why {
    MM_STATUS_WHY_NO_STATE = 1 << 0, /* overall: no window recorded yet (nothing ran) */
    MM_STATUS_WHY_NEVER = 1 << 1,    /* source: no good generation recorded */
    MM_STATUS_WHY_RPO = 1 << 2,      /* source: the last good generation is older than its RPO */
    MM_STATUS_WHY_DAMAGED = 1 << 3,  /* the last verify found damage */
    MM_STATUS_WHY_GUARD = 1 << 4,    /* source: the guard's verdict is not clean */
    MM_STATUS_WHY_FAILED = 1 << 5,   /* medium: its last window failed (1) or needs attention (4) */
    MM_STATUS_WHY_MISSED = 1 << 6,   /* medium: its day passed without a good window */
    MM_STATUS_WHY_EXPIRED = 1 << 7,  /* medium: data staged for it expired */
    MM_STATUS_WHY_VAULT = 1 << 8,    /* vault: its last copy failed, or the store is not
                                        immutable (Object Lock not proven) */
    MM_STATUS_WHY_DRILL = 1 << 9,    /* drills: the last full drill failed, is older than
                                        full_drill_interval, or none after the grace period;
                                        medium: its last structural drill failed */
};
#define MM_STATUS_WHY_COUNT 10

/* "no_state", "never", "rpo", "damaged", "guard", "failed", "missed", "expired", "vault",
 * "drill" (bit @i). */
const char *mm_status_why_name(unsigned int i);

/* One line of windows.jsonl. Fields a line lacks (older lines) are -1 or "". */
struct mm_status_window {
    struct mm_config_date date;          /* the cycle's local date */
    int64_t attached;                    /* seconds since 1970 UTC */
    double online_s;                     /* attach start to detach end */
    char medium[MM_CONFIG_MAX_NAME + 1]; /* the label due ("" when none was) */
    int result;                          /* 0 ok, 1 failed, 4 written, needs attention */
    char stage[16];
    char reason[160];
    int generations; /* written: 0 or 1 */
    char generation[MM_CRYPTO_HEX_SIZE];
    char verify[12]; /* "ok", "damaged", "not_run" */
    char guard[12];  /* "none", "clean", "suspect" */
    int64_t generations_held, free_bytes, size_bytes;
    int64_t sources;    /* how many sources were due */
    int write_only;     /* written with the medium's host credential (the host's own generation) */
    int windows_viewer; /* 1 the Windows viewer put on the medium, 0 none (no Windows build on
                           the host), -1 bin/ not refreshed or not recorded */
    int have_names;     /* the line lists source_names */
    size_t nnames;
    char names[MM_BACKUP_SOURCES_MAX][MM_CONFIG_MAX_NAME + 1];
    /* the S3 vault step (cycle.h vault_*): "" none recorded */
    char vault[8];
    char vault_where[192];
    char vault_reason[192];
    int vault_immutable;        /* 1, 0, -1 unknown */
    int64_t vault_retain_until; /* seconds since 1970 UTC; 0 none; -1 unknown */
};

/*
 * Parse one window record (@n bytes at @line, no newline needed). "date", "medium" and
 * "result" are required; unknown fields are ignored; a field of the wrong type is an error.
 * @return 0; MM_ECORRUPT when it is not a window record
 */
int mm_status_window_parse(const char *line, size_t n, struct mm_status_window *out);

/* A generation as status knows it from the windows. */
struct mm_status_gen {
    struct mm_config_date date;          /* the cycle's date */
    int64_t at;                          /* attached, seconds since 1970 UTC; -1 unknown */
    char medium[MM_CONFIG_MAX_NAME + 1]; /* as recorded */
    char id[MM_CRYPTO_HEX_SIZE];
};

struct mm_status_source {
    const struct mm_config_source *cfg; /* borrowed from the configuration */
    int have_good;
    struct mm_status_gen good; /* the last good generation holding it */
    int64_t age;               /* now - good.at; -1 unknown */
    char verify[12];           /* of the last window that wrote it; "" none recorded */
    char guard[12];
    unsigned int attention; /* enum mm_status_why bits */
};

struct mm_status_staged {
    int present; /* staged/<LABEL>.json exists and parses */
    int expired; /* its expiry has passed */
    char generation[MM_CRYPTO_HEX_SIZE];
    int64_t staged_at, expires; /* seconds since 1970 UTC; -1 unknown */
    int64_t bytes;              /* -1 unknown */
};

struct mm_status_medium {
    const struct mm_config_medium *cfg; /* borrowed from the configuration */
    size_t windows;                     /* its windows in what was read */
    int have_written;
    struct mm_status_gen written; /* the last generation written to it */
    int have_last;
    struct mm_status_window last;                     /* its last window (names unused) */
    int64_t generations_held, free_bytes, size_bytes; /* latest recorded; -1 unknown */
    struct mm_config_date good;   /* the last date of a good window (year 0: none) */
    struct mm_config_date missed; /* its last due day without a good window (year 0: none) */
    int due_today, due_next;
    struct mm_status_staged staged;
    int windows_viewer; /* of its last window that wrote a generation and recorded it: 1 the
                           Windows viewer on the medium, 0 none (no Windows build), -1 unknown */
    unsigned int attention;
};

/* The S3 vault ([vault] in the configuration) as the windows recorded it. */
struct mm_status_vault {
    const char *url; /* [vault] url; NULL: no vault configured (nothing below is judged) */
    int have_last;   /* a window tried the vault */
    struct mm_status_gen last; /* that window (its generation, if it wrote one) */
    char state[8];             /* its outcome: "ok", "failed" */
    char where[192];           /* s3://.../<repository ID> (no secrets) */
    char reason[192];          /* why it failed, or why the store is not immutable */
    int immutable;             /* the store proved Object Lock then: 1, 0, -1 unknown */
    int have_good;
    struct mm_status_gen good; /* the last generation copied to the vault */
    int64_t retain_until;      /* that copy's retention (seconds since 1970 UTC; 0 none) */
    unsigned int attention;    /* MM_STATUS_WHY_VAULT, MM_STATUS_WHY_NEVER */
};

/* A disagreement of a medium's repository head with this host's copy (issue 17.1): the alert
 * a check left in the host's audit folder (<repository ID>.rhead-alert). */
struct mm_status_head {
    char repo[64];  /* repository ID; a copy elsewhere (an S3 vault): "<ID>-s3-<12 hex>" */
    char what[200]; /* "rollback medium=3 host=5 missing=0", ... */
};
#define MM_STATUS_HEADS_MAX 64u

struct mm_status {
    const mm_config *cfg; /* borrowed */
    struct mm_config_date today;
    int64_t now;     /* seconds since 1970 UTC */
    int state_found; /* windows.jsonl exists */
    int truncated;   /* only its last MM_STATUS_TAIL_MAX bytes were read */
    size_t lines, bad_lines, bad_staged;
    struct mm_config_date first;                         /* the earliest date read (year 0: none) */
    const struct mm_config_medium *due_today, *due_next; /* NULL when none */
    struct mm_status_source *sources;                    /* one per configured source */
    size_t nsources;
    struct mm_status_medium *media; /* one per configured medium */
    size_t nmedia;
    struct mm_status_vault vault;
    unsigned int attention;       /* overall bits (NO_STATE) */
    size_t needs;                 /* items that need a person: the verdict; 0 all good */
    struct mm_status_head *heads; /* mm_status_read_heads(): each needs a person */
    size_t nheads;
    /* mm_status_read_guard(): the suspect generations standing on this host (the guard's
     * standing list); each needs a person (`mamori guard accept`) */
    struct mm_guard_standing *standing;
    size_t nstanding;
    int standing_unreadable; /* the list exists but cannot be read: needs a person too */
    /* <state_dir>/drills.jsonl (below, "drills in the status"): allocated by mm_status_init */
    struct mm_status_drills *drills;
};

/*
 * Start an empty status of @cfg (borrowed for @st's life) on the local date @today at @now.
 * @return 0; MM_EINVAL (@today not a date); MM_ENOMEM
 */
int mm_status_init(struct mm_status *st, const mm_config *cfg, struct mm_config_date today,
                   int64_t now);

/*
 * Take one line of windows.jsonl into @st (lines in the file's order). A line that is not a
 * record is counted in st->bad_lines; blank lines are ignored.
 * @return 0; MM_ECORRUPT (counted, not fatal)
 */
int mm_status_feed(struct mm_status *st, const char *line, size_t n);

/*
 * Take the @n bytes of staged/<LABEL>.json for the configured medium @label.
 * @return 0; MM_ENOTFOUND (no such medium); MM_ECORRUPT (counted in st->bad_staged)
 */
int mm_status_feed_staged(struct mm_status *st, const char *label, const char *data, size_t n);

/* Judge what was fed: ages, missed days, due media, attention and st->needs. */
void mm_status_judge(struct mm_status *st);

/*
 * mm_status_init(), then the tail of <state_dir>/windows.jsonl and every medium's staged
 * file fed, then mm_status_judge(). A missing state file is not an error (nothing ran yet:
 * st->state_found is 0 and the status needs attention).
 * @param[out] st owned by the caller (mm_status_release), also on failure
 * @return 0; MM_EIO (the state file or a staged file exists but cannot be read); MM_EINVAL;
 *         MM_ENOMEM
 */
int mm_status_read(struct mm_status *st, const mm_config *cfg, struct mm_config_date today,
                   int64_t now);

/*
 * Take the repository-head disagreements this host knows of: the alert files a check left in
 * the host's audit folder @audit_dir (NULL: none), each counted in st->needs.
 * @return 0; MM_ENOMEM
 */
int mm_status_read_heads(struct mm_status *st, const char *audit_dir);

/*
 * Take the suspect generations standing on this host from the guard folder @guard_dir (NULL:
 * <state_dir>/guard), each counted in st->needs; a list that cannot be read is counted too
 * (st->standing_unreadable: it may hide one).
 * @return 0; MM_ENOMEM
 */
int mm_status_read_guard(struct mm_status *st, const char *guard_dir);

/* Free what @st holds (it may be zeroed). */
void mm_status_release(struct mm_status *st);

/*
 * Parse "YYYY-MM-DDTHH:MM:SSZ" (UTC, from 1970).
 * @return 0; MM_EINVAL
 */
int mm_status_time_parse(const char *s, int64_t *out);

/* Write @t as "YYYY-MM-DDTHH:MM:SSZ" into @buf (at least 21 bytes). */
const char *mm_status_time_str(int64_t t, char *buf, size_t cap);

/*
 * Append @st as one JSON document (the shape of docs/operations.md §8.6) and a newline.
 * @return 0; MM_ELIMIT; MM_ENOMEM
 */
int mm_status_json(const struct mm_status *st, mm_buf *out);

/*
 * Append @st in Prometheus' text exposition format 0.0.4 (node_exporter's textfile
 * collector): HELP and TYPE lines, label values escaped; unknown figures are left out.
 * @return 0; MM_ELIMIT; MM_ENOMEM
 */
int mm_status_prometheus(const struct mm_status *st, mm_buf *out);

/* ---- drill records (backup_drills.c) ------------------------------------------------------ */

/* Longest line of <state_dir>/drills.jsonl read back. */
#define MM_STATUS_DRILL_LINE_MAX 4096u

/*
 * One restore drill as <state_dir>/drills.jsonl records it (docs/format.md "Drill records"):
 * a full drill (`mamori drill`, a person's key: restored, checked, patients read) or the daily
 * cycle's structural one (the host's credential: every pack read and checked against the
 * host's catalog, timings). Strings are "" when unknown; figures -1 when not measured.
 */
struct mm_status_drill {
    char kind[12];                       /* "full" or "structural" */
    int64_t at;                          /* start, seconds since 1970 UTC */
    char medium[MM_CONFIG_MAX_NAME + 1]; /* the medium's label */
    char repo_id[MM_CRYPTO_HEX_SIZE];    /* the repository's ID (hex) */
    char generation[MM_CRYPTO_HEX_SIZE]; /* the generation drilled ("" structural) */
    char result[8];                      /* "ok" or "failed" */
    char reason[192];                    /* failed: why, in words (no patient data); "" ok */
    double viewer_s;  /* full: unlock, open the index and show the first patient (RTO of a
                         usable viewer); -1 */
    double restore_s; /* full: restore and check every file; structural: read the medium */
    double total_s;   /* the whole drill */
    uint64_t files;   /* restored (full) or read (structural) */
    uint64_t bytes;
    double mib_s;  /* bytes / restore_s in MiB/s; -1 */
    int64_t rpo_s; /* age at @at of the newest clean, verified generation; -1 none */
    uint64_t patients, patients_failed; /* full: patients read as the viewer does, failures */
};

/*
 * Append @d as one JSON line (no newline) to @out.
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_status_drill_json(const struct mm_status_drill *d, mm_buf *out);

/*
 * Read one line of drills.jsonl.
 * @param[out] out the record; untouched on failure
 * @return 0, MM_ECORRUPT (not such a line: the message says which member)
 */
int mm_status_drill_parse(const char *line, size_t n, struct mm_status_drill *out);

/*
 * Append @d to <@state_dir>/drills.jsonl (created 0640 with the folder; one write, fsync).
 * @return 0, MM_EIO, MM_ENOMEM
 */
int mm_status_drill_append(const char *state_dir, const struct mm_status_drill *d);

/* ---- drills in the status (backup_status.c) ------------------------------------------------ */

/* The last structural drill of a configured medium. */
struct mm_status_drill_medium {
    int have;
    struct mm_status_drill last; /* the latest (by its start) of the medium's label */
    int64_t age;                 /* now - last.at; -1 none */
};

/*
 * What <state_dir>/drills.jsonl says (its tail, at most MM_STATUS_TAIL_MAX bytes; lines that
 * do not parse are counted and skipped), judged against [service] full_drill_interval
 * (docs/operations.md §8.6): the full drill needs a person (MM_STATUS_WHY_DRILL, one item of
 * st->needs) when the last one failed, when it is older than the interval, or when none was
 * ever recorded and the first window recorded is older than the interval (a new installation
 * gets that much grace: grace_until). A medium whose last structural drill failed gets
 * MM_STATUS_WHY_DRILL in its own attention.
 */
struct mm_status_drills {
    int found;     /* drills.jsonl exists */
    int truncated; /* only its last MM_STATUS_TAIL_MAX bytes were read */
    size_t lines, bad_lines;
    int have_full;
    struct mm_status_drill full; /* the latest full drill (by its start) */
    int64_t full_age;            /* now - full.at; -1 none */
    int64_t first_window;        /* the earliest window's attach time read; -1 none */
    int64_t due;                 /* when the next full drill is due: full.at (or first_window,
                                    none recorded) + full_drill_interval; -1 unknown */
    struct mm_status_drill_medium *media; /* one per configured medium, as st->media */
    unsigned int attention;               /* MM_STATUS_WHY_DRILL (the full drill) */
    int overdue, never, failed;           /* why (failed: the last full drill's result) */
};

/*
 * Take one line of drills.jsonl into @st (lines in the file's order). A line that is not a
 * drill record is counted in st->drills->bad_lines; blank lines are ignored. Structural drills
 * of a label the configuration lacks are not kept.
 * @return 0; MM_ECORRUPT (counted, not fatal); MM_EINVAL (@st not initialised)
 */
int mm_status_feed_drill(struct mm_status *st, const char *line, size_t n);

/*
 * Take the tail of <@state_dir>/drills.jsonl into @st (mm_status_read does it with the
 * configuration's state_dir, before judging). A missing file is not an error.
 * @return 0; MM_EIO (it exists but cannot be read); MM_ENOMEM; MM_EINVAL
 */
int mm_status_read_drills(struct mm_status *st, const char *state_dir);

#endif
