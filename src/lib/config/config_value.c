/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Value parsers of the configuration: durations, weekdays and day lists, schedules,
 * booleans, numbers, names and text; and the calendar arithmetic the rotation needs (no
 * time zone is involved: dates are the host's local calendar dates, given by the caller).
 * Parsers are strict: no leading or trailing junk, no overflow, no silent clamping.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/error.h"
#include "config/config_int.h"

static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
static const char *const day_long[7] = { "sunday",   "monday", "tuesday", "wednesday",
                                         "thursday", "friday", "saturday" };

#define MAX_DURATION (3660LL * 86400LL)

const char *mm_config_weekday_name(int d)
{
    return d >= 0 && d < 7 ? day_names[d] : "?";
}

int mm_config__weekday_parse(const char *s, size_t n, int *out)
{
    for (int d = 0; d < 7; d++) {
        if ((n == 3 && strncasecmp(s, day_names[d], 3) == 0) ||
            (n == strlen(day_long[d]) && strncasecmp(s, day_long[d], n) == 0)) {
            *out = d;
            return 0;
        }
    }
    return -1;
}

/* One item of a day list: "mon" or "wed-fri" (a range may wrap: "sat-mon"). OUT: mask. */
static int day_item(const char *s, size_t n, unsigned int *mask)
{
    const char *dash = memchr(s, '-', n);
    int a, b;

    if (!dash) {
        if (mm_config__weekday_parse(s, n, &a) < 0)
            return -1;
        *mask |= 1u << a;
        return 0;
    }
    if (mm_config__weekday_parse(s, (size_t)(dash - s), &a) < 0 ||
        mm_config__weekday_parse(dash + 1, n - (size_t)(dash - s) - 1, &b) < 0)
        return -1;
    for (int d = a;; d = (d + 1) % 7) {
        *mask |= 1u << d;
        if (d == b)
            break;
    }
    return 0;
}

int mm_config__days_parse(const char *s, unsigned int *out)
{
    unsigned int mask = 0;

    if (strcasecmp(s, "daily") == 0 || strcasecmp(s, "every day") == 0) {
        *out = MM_CONFIG_ALL_DAYS;
        return 0;
    }
    if (strcasecmp(s, "weekdays") == 0) {
        *out = 0x3eu;
        return 0;
    }
    if (strcasecmp(s, "weekends") == 0) {
        *out = 0x41u;
        return 0;
    }
    while (*s) {
        size_t n;

        while (*s == ' ')
            s++;
        n = strcspn(s, ",");
        size_t m = n;
        while (m > 0 && s[m - 1] == ' ')
            m--;
        if (m == 0 || day_item(s, m, &mask) < 0)
            return -1;
        s += n;
        if (*s == ',') {
            s++;
            if (!*s)
                return -1;
        }
    }
    if (mask == 0)
        return -1;
    *out = mask;
    return 0;
}

/* "HH:MM" of exactly five characters. OUT: minutes after midnight. */
static int clock_parse(const char *s, int *out)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] != ':' || s[3] < '0' ||
        s[3] > '9' || s[4] < '0' || s[4] > '9')
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    *out = h * 60 + m;
    return 0;
}

/* "HH:MM-HH:MM". OUT: start and end minutes. */
static int window_parse(const char *s, int *start, int *end)
{
    if (strlen(s) != 11 || s[5] != '-' || clock_parse(s, start) < 0 ||
        clock_parse(s + 6, end) < 0 || *start == *end)
        return -1;
    if (*start == 24 * 60)
        return -1;
    return 0;
}

int mm_config__schedule_parse(const char *s, struct mm_config_schedule *out)
{
    struct mm_config_schedule r = { MM_CONFIG_ALL_DAYS, -1, -1 };
    char days[64];
    const char *sp = strrchr(s, ' ');

    if (!*s)
        return -1;
    if (strchr(s, ':')) {
        const char *w = sp ? sp + 1 : s;
        if (window_parse(w, &r.start, &r.end) < 0)
            return -1;
        if (!sp) {
            *out = r;
            return 0;
        }
        size_t n = (size_t)(sp - s);
        while (n > 0 && s[n - 1] == ' ')
            n--;
        if (n == 0 || n >= sizeof(days))
            return -1;
        memcpy(days, s, n);
        days[n] = '\0';
        if (mm_config__days_parse(days, &r.days) < 0)
            return -1;
        *out = r;
        return 0;
    }
    if (mm_config__days_parse(s, &r.days) < 0)
        return -1;
    *out = r;
    return 0;
}

int mm_config_schedule_due(const struct mm_config_schedule *sched, int wday, int minute)
{
    if (sched->start < 0)
        return (sched->days >> wday) & 1u;
    if (sched->start < sched->end)
        return ((sched->days >> wday) & 1u) && minute >= sched->start && minute < sched->end;
    if (minute >= sched->start)
        return (sched->days >> wday) & 1u;
    if (minute < sched->end)
        return (sched->days >> ((wday + 6) % 7)) & 1u; /* the window began yesterday */
    return 0;
}

int mm_config__bool_parse(const char *s, int *out)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

int mm_config__uint_parse(const char *s, unsigned int min, unsigned int max, unsigned int *out)
{
    unsigned long v = 0;

    if (!*s || strlen(s) > 9)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = (unsigned int)v;
    return 0;
}

int mm_config__percent_parse(const char *s, double *out)
{
    unsigned long whole = 0, frac = 0, scale = 1;
    const char *p = s;
    int digits = 0;

    for (; *p >= '0' && *p <= '9' && digits < 4; p++, digits++)
        whole = whole * 10 + (unsigned long)(*p - '0');
    if (!digits)
        return -1;
    if (*p == '.') {
        int fd = 0;
        for (p++; *p >= '0' && *p <= '9' && fd < 4; p++, fd++) {
            frac = frac * 10 + (unsigned long)(*p - '0');
            scale *= 10;
        }
        if (!fd)
            return -1;
    }
    if (p[0] != '%' || p[1] != '\0' || whole > 100 || (whole == 100 && frac))
        return -1;
    *out = ((double)whole + (double)frac / (double)scale) / 100.0;
    return 0;
}

int mm_config_duration_parse(const char *s, int64_t *out)
{
    int64_t total = 0;

    if (!s || !*s)
        return mm_error_set(MM_EINVAL, "empty duration");
    while (*s) {
        int64_t n = 0, unit;
        int digits = 0;

        for (; *s >= '0' && *s <= '9'; s++, digits++) {
            if (digits >= 9)
                return mm_error_set(MM_EINVAL, "duration too long");
            n = n * 10 + (*s - '0');
        }
        switch (*s) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        case 'w':
            unit = 7 * 86400;
            break;
        default:
            return mm_error_set(MM_EINVAL, "not a duration");
        }
        if (digits == 0)
            return mm_error_set(MM_EINVAL, "not a duration");
        s++;
        total += n * unit;
        if (total > MAX_DURATION)
            return mm_error_set(MM_EINVAL, "duration too long");
    }
    *out = total;
    return 0;
}

const char *mm_config_duration_str(int64_t secs, char *buf, size_t cap)
{
    static const struct {
        int64_t n;
        char c;
    } units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
    size_t len = 0;

    buf[0] = '\0';
    if (secs <= 0) {
        snprintf(buf, cap, "0s");
        return buf;
    }
    for (size_t i = 0; i < 3; i++) { /* "26h" rather than "1d2h" */
        if (secs % units[i].n == 0) {
            snprintf(buf, cap, "%lld%c", (long long)(secs / units[i].n), units[i].c);
            return buf;
        }
    }
    for (size_t i = 0; i < 4 && len < cap; i++) {
        if (secs >= units[i].n) {
            int r = snprintf(buf + len, cap - len, "%lld%c", (long long)(secs / units[i].n),
                             units[i].c);
            if (r < 0)
                break;
            len += (size_t)r;
            secs %= units[i].n;
        }
    }
    return buf;
}

int mm_config__is_name(const char *s, size_t max, int dots)
{
    size_t n = strlen(s);

    if (n == 0 || n > max || s[0] == '-' || s[0] == '.')
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || (dots && c == '.')))
            return 0;
    }
    return 1;
}

int mm_config__is_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        unsigned int c = *p, need, cp;
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, cp = c & 0x07;
        else
            return 0;
        for (unsigned int i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        p += need + 1;
    }
    return 1;
}

const char *mm_config_days_str(unsigned int days, char *buf, size_t cap)
{
    size_t len = 0;

    buf[0] = '\0';
    if (days == MM_CONFIG_ALL_DAYS) {
        snprintf(buf, cap, "daily");
        return buf;
    }
    /* Monday first, the way the week is read in the hospital's timetable */
    for (int i = 1; i <= 7; i++) {
        int d = i % 7;
        if (!((days >> d) & 1u))
            continue;
        int r = snprintf(buf + len, cap - len, "%s%s", len ? "," : "", day_names[d]);
        if (r < 0 || (size_t)r >= cap - len)
            break;
        len += (size_t)r;
    }
    return buf;
}

const char *mm_config_schedule_str(const struct mm_config_schedule *sched, char *buf, size_t cap)
{
    char days[64];

    mm_config_days_str(sched->days, days, sizeof(days));
    if (sched->start < 0)
        snprintf(buf, cap, "%s", days);
    else
        snprintf(buf, cap, "%s %02d:%02d-%02d:%02d", days, sched->start / 60, sched->start % 60,
                 sched->end / 60, sched->end % 60);
    return buf;
}

/* The non-string types of mm_config__value(). Returns 1 when @type is a string type. */
static int value_scalar(enum mm_config__type type, const char *v, void *dst, char *why, size_t cap)
{
    int64_t secs;
    unsigned int u;
    int i;

    switch (type) {
    case T_DURATION0:
        secs = 0;
        if (strcmp(v, "0") != 0 && mm_config_duration_parse(v, &secs) < 0) {
            snprintf(why, cap, "'%s' is not a duration (like 0, 90m, 24h, 2d, 1w)", v);
            return -1;
        }
        *(int64_t *)dst = secs;
        return 0;
    case T_DURATION:
        if (mm_config_duration_parse(v, &secs) < 0) {
            snprintf(why, cap, "'%s' is not a duration (like 90m, 24h, 2d, 1w)", v);
            return -1;
        }
        if (secs == 0) {
            snprintf(why, cap, "'%s' must be longer than zero", v);
            return -1;
        }
        *(int64_t *)dst = secs;
        return 0;
    case T_BOOL:
        if (mm_config__bool_parse(v, &i) < 0) {
            snprintf(why, cap, "'%s' is not yes or no", v);
            return -1;
        }
        *(int *)dst = i;
        return 0;
    case T_DAYS:
        if (mm_config__days_parse(v, &u) < 0) {
            snprintf(why, cap, "'%s' is not a list of weekdays (like mon,wed-fri)", v);
            return -1;
        }
        *(unsigned int *)dst = u;
        return 0;
    case T_SCHEDULE:
        if (mm_config__schedule_parse(v, dst) < 0) {
            snprintf(why, cap, "'%s' is not a schedule (like daily, mon-fri, daily 01:00-05:00)",
                     v);
            return -1;
        }
        return 0;
    case T_WEEKDAY:
        if (mm_config__weekday_parse(v, strlen(v), &i) < 0) {
            snprintf(why, cap, "'%s' is not a weekday (sun, mon, ... sat)", v);
            return -1;
        }
        *(int *)dst = i;
        return 0;
    case T_COUNT:
        if (mm_config__uint_parse(v, 1, 100000, &u) < 0) {
            snprintf(why, cap, "'%s' is not a number from 1 to 100000", v);
            return -1;
        }
        *(unsigned int *)dst = u;
        return 0;
    case T_PERCENT:
        if (mm_config__percent_parse(v, dst) < 0) {
            snprintf(why, cap, "'%s' is not a percentage from 0%% to 100%% (like 5%% or 0.5%%)", v);
            return -1;
        }
        return 0;
    case T_KIND:
        if (strcmp(v, "ssmix2") != 0 && strcmp(v, "folder") != 0) {
            snprintf(why, cap, "'%s' is not ssmix2 or folder", v);
            return -1;
        }
        *(enum mm_config_source_kind *)dst =
                v[0] == 's' ? MM_CONFIG_SOURCE_SSMIX2 : MM_CONFIG_SOURCE_FOLDER;
        return 0;
    case T_LOCKMODE:
        if (strcmp(v, "compliance") != 0 && strcmp(v, "governance") != 0) {
            snprintf(why, cap, "'%s' is not compliance or governance", v);
            return -1;
        }
        *(int *)dst = v[0] == 'g';
        return 0;
    case T_ROTATION:
        if (strcmp(v, "weekday") != 0 && strcmp(v, "gfs") != 0) {
            snprintf(why, cap, "'%s' is not weekday or gfs", v);
            return -1;
        }
        *(enum mm_config_rotation *)dst =
                v[0] == 'w' ? MM_CONFIG_ROTATION_WEEKDAY : MM_CONFIG_ROTATION_GFS;
        return 0;
    case T_ROLE:
        if (strcmp(v, "daily") == 0)
            *(enum mm_config_role *)dst = MM_CONFIG_ROLE_DAILY;
        else if (strcmp(v, "weekly") == 0)
            *(enum mm_config_role *)dst = MM_CONFIG_ROLE_WEEKLY;
        else if (strcmp(v, "monthly") == 0)
            *(enum mm_config_role *)dst = MM_CONFIG_ROLE_MONTHLY;
        else {
            snprintf(why, cap, "'%s' is not daily, weekly or monthly", v);
            return -1;
        }
        return 0;
    default:
        return 1;
    }
}

/* The string types of mm_config__value(). */
static int value_string(enum mm_config__type type, const char *v, void *dst, char *why, size_t cap)
{
    char *copy;

    if (!mm_config__is_text(v)) {
        snprintf(why, cap, "the value holds control characters or is not UTF-8");
        return -1;
    }
    size_t n = strlen(v);
    if (type == T_PATH &&
        (v[0] != '/' || strstr(v, "/../") || (n >= 3 && strcmp(v + n - 3, "/..") == 0))) {
        snprintf(why, cap, "'%s' is not an absolute path", v);
        return -1;
    }
    if (type == T_ID && !mm_config__is_name(v, MM_CONFIG_MAX_NAME, 1)) {
        snprintf(why, cap, "'%s' is not an id (1 to %u of A-Z a-z 0-9 _ - .)", v,
                 MM_CONFIG_MAX_NAME);
        return -1;
    }
    if (type == T_USER && !mm_config__is_name(v, MM_CONFIG_MAX_NAME, 1)) {
        snprintf(why, cap, "'%s' is not a user name", v);
        return -1;
    }
    if (type == T_S3URL &&
        (strncmp(v, "s3://", 5) != 0 || strlen(v) > 512 || strpbrk(v, " \\?#@") ||
         strstr(v, "/../") || strchr(v + 5, '/') == NULL)) {
        snprintf(why, cap, "'%s' is not an S3 URL (s3://host[:port]/bucket[/prefix])", v);
        return -1;
    }
    if (type == T_UUID &&
        (strlen(v) < 4 || strlen(v) > 36 || strspn(v, "0123456789abcdefABCDEF-") != strlen(v))) {
        snprintf(why, cap, "'%s' is not a filesystem UUID (like 1A2B-3C4D)", v);
        return -1;
    }
    if ((type == T_TEXT || type == T_FSLABEL) && v[0] == '\0') {
        snprintf(why, cap, "the value is empty");
        return -1;
    }
    if (type == T_FSLABEL && strlen(v) > 32) {
        snprintf(why, cap, "'%s' is longer than 32 bytes", v);
        return -1;
    }
    copy = mm_strdup(v);
    if (!copy)
        return MM_ENOMEM;
    mm_free(*(char **)dst);
    *(char **)dst = copy;
    return 0;
}

int mm_config__value(enum mm_config__type type, const char *v, void *dst, char *why, size_t cap)
{
    int r = value_scalar(type, v, dst, why, cap);

    return r == 1 ? value_string(type, v, dst, why, cap) : r;
}
