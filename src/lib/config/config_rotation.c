/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which medium is due on a date: weekday rotation (each weekday belongs to one medium) and
 * grandfather-father-son (config.h, mm_config_medium_for). Dates are proleptic Gregorian
 * calendar dates from 1970 to 9999 counted in days since 1970-01-01 (Howard Hinnant's
 * civil-date algorithms), so no time zone or C library calendar call is involved.
 */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "config/config_int.h"

#define EPOCH_MONDAY 4 /* 1970-01-05, a Monday, is day 4 since 1970-01-01 */

static int days_in_month(int y, int m)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 ? 28 + leap : dim[m - 1];
}

static int date_valid(struct mm_config_date d)
{
    return d.year >= 1970 && d.year <= 9999 && d.month >= 1 && d.month <= 12 && d.day >= 1 &&
           d.day <= days_in_month(d.year, d.month);
}

long mm_config__days_from_civil(struct mm_config_date d)
{
    long y = d.year - (d.month <= 2);
    long era = y / 400;
    long yoe = y - era * 400;
    long mp = (d.month + 9) % 12;
    long doy = (153 * mp + 2) / 5 + d.day - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

static struct mm_config_date civil_from_days(long z)
{
    struct mm_config_date d;
    long era, doe, yoe, doy, mp, y;

    z += 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    d.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    d.year = (int)(y + (d.month <= 2));
    return d;
}

int mm_config_date_parse(const char *s, struct mm_config_date *out)
{
    struct mm_config_date d;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return mm_error_set(MM_EINVAL, "'%s' is not a date YYYY-MM-DD", s ? s : "");
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return mm_error_set(MM_EINVAL, "'%s' is not a date YYYY-MM-DD", s);
    d.year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    d.month = (s[5] - '0') * 10 + (s[6] - '0');
    d.day = (s[8] - '0') * 10 + (s[9] - '0');
    if (!date_valid(d))
        return mm_error_set(MM_EINVAL, "'%s' is not a date from 1970 to 9999", s);
    *out = d;
    return 0;
}

int mm_config_date_weekday(struct mm_config_date date)
{
    long z = mm_config__days_from_civil(date);

    return (int)((z % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
}

struct mm_config_date mm_config_date_add(struct mm_config_date date, int days)
{
    return civil_from_days(mm_config__days_from_civil(date) + days);
}

/* The @k-th medium (0-based, modulo their count) of @role in the file's order, or NULL. */
static const struct mm_config_medium *nth_of_role(const mm_config *cfg, enum mm_config_role role,
                                                  long k)
{
    size_t n = 0, i, want;

    for (i = 0; i < mm_config_medium_count(cfg); i++)
        n += mm_config_medium_at(cfg, i)->role == role;
    if (n == 0)
        return NULL;
    want = (size_t)(((k % (long)n) + (long)n) % (long)n);
    for (i = 0; i < mm_config_medium_count(cfg); i++) {
        const struct mm_config_medium *m = mm_config_medium_at(cfg, i);
        if (m->role == role && want-- == 0)
            return m;
    }
    return NULL;
}

/* Occurrences of weekday @wd on days [EPOCH_MONDAY, z] (z since 1970-01-01). */
static long weekday_count(long z, int wd)
{
    long first = EPOCH_MONDAY + (wd + 6) % 7; /* the first @wd on or after the epoch Monday */

    return z < first ? 0 : (z - first) / 7 + 1;
}

/* Whether day @z is in the last seven days of its month. */
static int last_of_month(long z)
{
    struct mm_config_date d = civil_from_days(z);

    return d.day + 7 > days_in_month(d.year, d.month);
}

/* Months since the epoch's month whose monthly day is on or before @z. */
static long monthly_count(long z, int wd)
{
    struct mm_config_date d = civil_from_days(z);
    long months = (long)(d.year - 1970) * 12 + (d.month - 1); /* months before this one */
    /* the last @wd of this month */
    struct mm_config_date end = { d.year, d.month, days_in_month(d.year, d.month) };
    long ze = mm_config__days_from_civil(end);
    long last = ze - ((mm_config_date_weekday(end) - wd + 7) % 7);

    return months + (z >= last ? 1 : 0);
}

/* GFS: the medium and rule of day @z. */
static struct mm_config_due gfs_due(const mm_config *cfg, long z)
{
    const struct mm_config_media *media = mm_config_media(cfg);
    struct mm_config_date d = civil_from_days(z);
    int wd = media->weekly_day, today = mm_config_date_weekday(d);
    struct mm_config_due r = { NULL, MM_CONFIG_ROLE_DAILY };

    if (today == wd && last_of_month(z)) {
        r.rule = MM_CONFIG_ROLE_MONTHLY;
        r.medium =
                nth_of_role(cfg, MM_CONFIG_ROLE_MONTHLY, (long)(d.year - 1970) * 12 + d.month - 1);
        if (r.medium)
            return r;
    }
    if (today == wd) {
        long weekly = weekday_count(z, wd) - monthly_count(z, wd);
        r.rule = MM_CONFIG_ROLE_WEEKLY;
        /* when monthly media exist, monthly days are not weekly ones */
        if (!nth_of_role(cfg, MM_CONFIG_ROLE_MONTHLY, 0))
            weekly = weekday_count(z, wd);
        r.medium = nth_of_role(cfg, MM_CONFIG_ROLE_WEEKLY, weekly - 1);
        if (r.medium)
            return r;
    }
    r.rule = MM_CONFIG_ROLE_DAILY;
    r.medium = nth_of_role(cfg, MM_CONFIG_ROLE_DAILY, (z - EPOCH_MONDAY) - weekday_count(z, wd));
    return r;
}

/* The medium and rule of day @z. */
static struct mm_config_due due_on(const mm_config *cfg, long z)
{
    struct mm_config_due r = { NULL, MM_CONFIG_ROLE_NONE };

    if (mm_config_media(cfg)->rotation == MM_CONFIG_ROTATION_GFS)
        return gfs_due(cfg, z);
    int wd = mm_config_date_weekday(civil_from_days(z));
    for (size_t i = 0; i < mm_config_medium_count(cfg); i++) {
        const struct mm_config_medium *m = mm_config_medium_at(cfg, i);
        if ((m->days >> wd) & 1u) {
            r.medium = m;
            break;
        }
    }
    return r;
}

int mm_config_medium_for(const mm_config *cfg, struct mm_config_date date,
                         struct mm_config_due out[2])
{
    MM_ASSERT_ARG(cfg && out);
    if (!date_valid(date))
        return mm_error_set(MM_EINVAL, "%04d-%02d-%02d is not a date from 1970 to 9999", date.year,
                            date.month, date.day);
    long z = mm_config__days_from_civil(date);
    out[0] = due_on(cfg, z);
    out[1] = due_on(cfg, z + 1);
    return 0;
}
