/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration of the daily cycle (/etc/mamori/mamori.conf): the hospital, the sources
 * with their schedules and RPO targets, the media set and its rotation (weekday or
 * grandfather-father-son), the staging area, the hooks and the service settings. The file is
 * INI, read with inih; sections with a name are written git-style, `[source "billing"]`.
 * Loading validates everything that can be checked without touching the machine (paths are
 * absolute, durations, weekdays, labels, the weekday rotation covers every day exactly once);
 * whether a hook exists and is executable is checked when it is run. Every problem is
 * collected with its file, line and key; none stops the reading of the rest. The file holds
 * no secrets. docs/operations.md describes every key.
 */
#ifndef MM_CONFIG_CONFIG_H
#define MM_CONFIG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct mm_config mm_config;

/* Where the daily cycle reads its configuration when no file is given. */
#define MM_CONFIG_DEFAULT_PATH "/etc/mamori/mamori.conf"

/* The largest configuration file read, in bytes. */
#define MM_CONFIG_MAX_SIZE (1024u * 1024u)
/* The longest label of a medium or name of a source or hospital id, in bytes. */
#define MM_CONFIG_MAX_NAME 32u
/* The most problems kept by one load; the rest are only counted. */
#define MM_CONFIG_MAX_ERRORS 100u

/* Days of the week as bits of a mask: bit d is weekday d, 0 = Sunday ... 6 = Saturday. */
#define MM_CONFIG_ALL_DAYS 0x7fu

enum mm_config_source_kind { MM_CONFIG_SOURCE_SSMIX2 = 0, MM_CONFIG_SOURCE_FOLDER = 1 };

enum mm_config_rotation { MM_CONFIG_ROTATION_WEEKDAY = 0, MM_CONFIG_ROTATION_GFS = 1 };

/* A medium's role under grandfather-father-son rotation (unused under weekday rotation). */
enum mm_config_role {
    MM_CONFIG_ROLE_NONE = 0,
    MM_CONFIG_ROLE_DAILY = 1,   /* son */
    MM_CONFIG_ROLE_WEEKLY = 2,  /* father */
    MM_CONFIG_ROLE_MONTHLY = 3, /* grandfather */
};

/*
 * When a source is backed up: on the days of @days, and when @start >= 0 only if the cycle
 * starts inside [@start, @end) (minutes after local midnight). A window with @end <= @start
 * crosses midnight; its part after midnight belongs to the day it started on.
 */
struct mm_config_schedule {
    unsigned int days;
    int start; /* -1: any time of the day */
    int end;
};

struct mm_config_hospital {
    char *id;   /* written on every medium; [A-Za-z0-9._-], at most MM_CONFIG_MAX_NAME bytes */
    char *name; /* for people; may be NULL */
};

struct mm_config_service {
    char *user;                  /* the service user owning secrets and staging */
    char *state_dir;             /* the host's catalogs, window records, status */
    int64_t full_drill_interval; /* seconds between full restore drills */
    /* seconds between the daily cycle's structural drills of a medium (0: every window) */
    int64_t structural_drill_interval;
    char *passphrase_file; /* absolute, or NULL: the unattended passphrase (0600, owner) */
};

struct mm_config_source {
    char *name; /* from the section header; safe characters */
    enum mm_config_source_kind kind;
    char *path;     /* absolute */
    char *extended; /* ssmix2 only: the extended storage, absolute; NULL when none */
    struct mm_config_schedule schedule;
    int64_t rpo; /* seconds: a last good generation older than this needs a person */
    int enabled;
    /* the ransomware guard (guard/guard.h, docs/guard.md): `guard = on|off` (default on);
     * `guard_max_modified|deleted|added` as shares 0..1 (written as percentages, "5%",
     * "0.5%"; -1 when not given: learned from the source's history); `guard_canary` */
    int guard;
    double guard_max_modified, guard_max_deleted, guard_max_added;
    int guard_canary;
    int line; /* the section header's line */
};

struct mm_config_media {
    enum mm_config_rotation rotation;
    char *staging;               /* absolute: host-side staging area */
    int64_t staging_expiry;      /* seconds staged data waits for its medium */
    int weekly_day;              /* GFS: the day of weekly and monthly generations (0 = Sunday) */
    int64_t keep_min_age;        /* run never prunes a generation younger than this (seconds) */
    unsigned int keep_min_clean; /* ... nor below this many clean generations on a medium */
};

struct mm_config_medium {
    char *label;              /* unique (case-insensitively), [A-Za-z0-9_-] */
    unsigned int days;        /* weekday rotation: the days it serves */
    enum mm_config_role role; /* GFS rotation */
    unsigned int keep;        /* generations kept; 0 = no count limit */
    int64_t keep_age;         /* seconds a generation is kept; 0 = no age limit */
    char *path;               /* absolute: the repository while the medium is attached */
    char *fs_uuid;            /* filesystem UUID, or NULL */
    char *fs_label;           /* filesystem label, or NULL */
    char *credential;         /* absolute: the host credential of the medium's format 3 repository
                                 (`mamori host enroll`): `run` writes it without a passphrase; NULL */
    int line;
};

struct mm_config_hook {
    char *path;      /* absolute, or NULL when no hook is configured */
    int64_t timeout; /* seconds */
};

struct mm_config_hooks {
    struct mm_config_hook attach, detach, alert;
};

/* `[vault]`: an S3 bucket with Object Lock that `run` copies every medium's generations to
 * (docs/operations.md "S3 vault"). Absent section: no vault (url NULL). */
struct mm_config_vault {
    char *url;         /* s3://host[:port]/bucket[/prefix]: each medium's repository goes to
                        * <url>/<its repository ID>/ */
    char *credentials; /* absolute: the S3 credentials file (0600, owner), or NULL: the
                        * service's environment (MAMORI_S3_ACCESS_KEY, ...) */
    int64_t retain;    /* seconds each copied generation stays immutable (default 30 days) */
    int governance;    /* lock_mode = governance (warned: lifted by anyone with the bypass
                        * permission); default compliance */
};

/* A local calendar date. */
struct mm_config_date {
    int year, month, day;
};

/* The problems one load found, each "FILE:LINE: key 'K': what is wrong" or "FILE: ...". */
struct mm_config_errors {
    char **msgs;
    size_t count;
    size_t dropped; /* problems beyond MM_CONFIG_MAX_ERRORS, counted only */
};

/* Start an empty list. */
void mm_config_errors_init(struct mm_config_errors *errs);

/* Free the messages of @errs (which may be empty) and leave it empty. */
void mm_config_errors_release(struct mm_config_errors *errs);

/*
 * Read and validate the configuration file @path.
 * @param[out] out the configuration, owned by the caller (mm_config_free)
 * @param[out] errs when not NULL, every problem found (the caller releases it); filled on
 *             MM_EINVAL, also holds the open/read problem on MM_ENOTFOUND and MM_EIO
 * @return 0; MM_ENOTFOUND when there is no such file; MM_EIO when it cannot be read;
 *         MM_ELIMIT when it is larger than MM_CONFIG_MAX_SIZE; MM_EINVAL when it is not a
 *         valid configuration (mm_error_last() holds the first problem and how many more);
 *         MM_ENOMEM
 */
int mm_config_load_errors(const char *path, mm_config **out, struct mm_config_errors *errs);

/*
 * Like mm_config_load_errors(), from @len bytes at @data; @name stands for the file in the
 * messages.
 * @return 0; MM_ELIMIT; MM_EINVAL; MM_ENOMEM
 */
int mm_config_parse(const char *name, const char *data, size_t len, mm_config **out,
                    struct mm_config_errors *errs);

/* mm_config_load_errors() without the list of problems. */
int mm_config_load(const char *path, mm_config **out);

/* Free @cfg (NULL is fine). */
void mm_config_free(mm_config *cfg);

/* The path the configuration was read from. Borrowed from @cfg. */
const char *mm_config_path(const mm_config *cfg);

/* The sections of @cfg, borrowed for its lifetime. */
const struct mm_config_hospital *mm_config_hospital(const mm_config *cfg);
const struct mm_config_service *mm_config_service(const mm_config *cfg);
const struct mm_config_media *mm_config_media(const mm_config *cfg);
const struct mm_config_hooks *mm_config_hooks(const mm_config *cfg);
const struct mm_config_vault *mm_config_vault(const mm_config *cfg);

/* The sources in the file's order; @i < mm_config_source_count(). */
size_t mm_config_source_count(const mm_config *cfg);
const struct mm_config_source *mm_config_source_at(const mm_config *cfg, size_t i);

/* The media in the file's order; @i < mm_config_medium_count(). */
size_t mm_config_medium_count(const mm_config *cfg);
const struct mm_config_medium *mm_config_medium_at(const mm_config *cfg, size_t i);

/* The medium labelled @label (compared case-insensitively), or NULL. */
const struct mm_config_medium *mm_config_medium_find(const mm_config *cfg, const char *label);

/* Which medium serves a date, and under which rule. */
struct mm_config_due {
    const struct mm_config_medium *medium; /* borrowed from the configuration */
    enum mm_config_role rule;              /* NONE under weekday rotation */
};

/*
 * Which medium is due on the local date @date (@out[0]) and on the day after (@out[1]).
 * Weekday rotation: the medium whose `days` hold the date's weekday. GFS rotation: the last
 * weekly_day of a month is a monthly day, the other weekly_days are weekly days, every other
 * day is a daily day. Media of one role take turns in the file's order: monthly media by
 * month (January the first), weekly media by weekly day, daily media by daily day, counted
 * from Monday 1970-01-05 (so six daily media and a Sunday weekly_day give each daily medium
 * a fixed weekday). A GFS set has daily and weekly media (the loader checks it); without
 * monthly media the monthly days are weekly days.
 * @return 0; MM_EINVAL when @date is not a date from 1970 to 9999
 */
int mm_config_medium_for(const mm_config *cfg, struct mm_config_date date,
                         struct mm_config_due out[2]);

/*
 * Whether a source with @sched is due when a cycle starts on weekday @wday (0 = Sunday) at
 * @minute after local midnight.
 */
int mm_config_schedule_due(const struct mm_config_schedule *sched, int wday, int minute);

/*
 * Parse "YYYY-MM-DD" (a real date from 1970 to 9999).
 * @return 0; MM_EINVAL otherwise
 */
int mm_config_date_parse(const char *s, struct mm_config_date *out);

/* The weekday of @date, 0 = Sunday. @date must be valid. */
int mm_config_date_weekday(struct mm_config_date date);

/* @date moved by @days days. @date must be valid. */
struct mm_config_date mm_config_date_add(struct mm_config_date date, int days);

/* "sun" ... "sat" for weekday @d (0..6). */
const char *mm_config_weekday_name(int d);

/*
 * Parse a duration: one or more groups of a number and a unit s, m, h, d or w ("24h",
 * "1d12h"), at most 3660 days.
 * @param[out] out seconds
 * @return 0; MM_EINVAL otherwise
 */
int mm_config_duration_parse(const char *s, int64_t *out);

/* Write day mask @days as text into @buf of @cap bytes: "daily" or "mon,tue,sat" (Monday
 * first). */
const char *mm_config_days_str(unsigned int days, char *buf, size_t cap);

/* Write @sched as text into @buf of @cap bytes: "daily", "mon,wed 01:00-05:00". */
const char *mm_config_schedule_str(const struct mm_config_schedule *sched, char *buf, size_t cap);

/* Write @secs as the shortest duration text ("2d", "1d12h", "90s") into @buf of @cap bytes. */
const char *mm_config_duration_str(int64_t secs, char *buf, size_t cap);

#endif
