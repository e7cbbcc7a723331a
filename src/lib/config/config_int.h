/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/config: the value parsers shared by the loader and the rotation code.
 * Each returns 0 or -1 and never sets the thread's error: the loader words the message.
 */
#ifndef MM_CONFIG_CONFIG_INT_H
#define MM_CONFIG_CONFIG_INT_H

#include <stddef.h>

#include "config/config.h"

/* The types of the values of the keys (config.c's tables). */
enum mm_config__type {
    T_ID,       /* safe name with dots */
    T_USER,     /* a user name */
    T_TEXT,     /* UTF-8 text */
    T_PATH,     /* absolute path */
    T_DURATION, /* > 0 */
    T_BOOL,
    T_DAYS,
    T_SCHEDULE,
    T_KIND,
    T_ROTATION,
    T_ROLE,
    T_WEEKDAY,
    T_COUNT, /* generations */
    T_UUID,
    T_FSLABEL,
    T_S3URL,     /* s3://host[:port]/bucket[/prefix] (checked in full by the S3 backend) */
    T_LOCKMODE,  /* compliance | governance -> 0 | 1 */
    T_PERCENT,   /* "5%", "0.5%": 0 to 100 %, stored as a double share 0..1 */
    T_DURATION0, /* >= 0 (0: every time) */
};

/*
 * Check @v as a value of @type and store it at @dst (an int, unsigned int, int64_t, enum,
 * schedule, or a char * replaced by a copy, by @type).
 * @return 0; -1 with the reason in @why (@cap bytes); MM_ENOMEM
 */
int mm_config__value(enum mm_config__type type, const char *v, void *dst, char *why, size_t cap);

/* "mon", "tue", ... or the full English name, any case. OUT: 0 = Sunday ... 6. */
int mm_config__weekday_parse(const char *s, size_t n, int *out);

/* "daily", "weekdays" (mon-fri), "weekends" (sat,sun) or a list "mon,wed-fri". OUT: mask. */
int mm_config__days_parse(const char *s, unsigned int *out);

/* "<days> [HH:MM-HH:MM]" or "HH:MM-HH:MM" alone (every day). */
int mm_config__schedule_parse(const char *s, struct mm_config_schedule *out);

/* yes/no, true/false, on/off, 1/0. */
int mm_config__bool_parse(const char *s, int *out);

/* A percentage "N%" or "N.N%" (at most 4 decimals) from 0 to 100. OUT: the share 0..1. */
int mm_config__percent_parse(const char *s, double *out);

/* A whole decimal number from @min to @max. */
int mm_config__uint_parse(const char *s, unsigned int min, unsigned int max, unsigned int *out);

/* Non-empty, at most @max bytes, only [A-Za-z0-9_-] (and '.' when @dots), not starting with
 * '-' or '.'. */
int mm_config__is_name(const char *s, size_t max, int dots);

/* Valid UTF-8 without control characters. */
int mm_config__is_text(const char *s);

/* Days since 1970-01-01 of a valid date (Howard Hinnant's days_from_civil). */
long mm_config__days_from_civil(struct mm_config_date d);

#endif
