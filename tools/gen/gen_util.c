/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PRNG and calendar helpers of mamori-gen. The calendar is Howard
 * Hinnant's days-from-civil algorithm: no time zones, no libc time functions,
 * so output is the same on every machine.
 */
#include <stdio.h>
#include <string.h>

#include "tools/gen/gen_int.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);

    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
    return n ? (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32) : 0;
}

int rng_range(struct rng *r, int lo, int hi)
{
    return lo + (int)rng_below(r, (uint32_t)(hi - lo + 1));
}

double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int rng_chance(struct rng *r, double p)
{
    return rng_unit(r) < p;
}

double rng_normal(struct rng *r)
{
    /* Irwin-Hall with 12 terms: cheap, bounded to +-6, close enough for lab values */
    double s = 0;

    for (int i = 0; i < 12; i++)
        s += rng_unit(r);
    return s - 6.0;
}

int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

int parse_yyyymmdd(const char *s, int64_t *out)
{
    int y, m, d, yy, mm, dd;

    if (strlen(s) != 8 || strspn(s, "0123456789") != 8)
        return -1;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[4] - '0') * 10 + (s[5] - '0');
    d = (s[6] - '0') * 10 + (s[7] - '0');
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    *out = days_from_civil(y, m, d);
    civil_from_days(*out, &yy, &mm, &dd);
    return yy == y && mm == m && dd == d ? 0 : -1;
}

void scpy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void fmt_date(char *out, int64_t day)
{
    char tmp[48];
    int y, m, d;

    civil_from_days(day, &y, &m, &d);
    snprintf(tmp, sizeof(tmp), "%04d%02d%02d", y % 10000, m, d);
    scpy(out, 9, tmp);
}

void fmt_date_iso(char *out, int64_t day)
{
    char tmp[48];
    int y, m, d;

    civil_from_days(day, &y, &m, &d);
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", y % 10000, m, d);
    scpy(out, 11, tmp);
}

void fmt_ts(char *out, int64_t ms, int digits)
{
    char full[24];
    int64_t day = ms >= 0 ? ms / MS_PER_DAY : (ms - MS_PER_DAY + 1) / MS_PER_DAY;
    int64_t rem = ms - day * MS_PER_DAY;
    int y, m, d;

    civil_from_days(day, &y, &m, &d);
    snprintf(full, sizeof(full), "%04d%02d%02d%02d%02d%02d%03d", y % 10000, m, d,
             (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
             (int)(rem % 1000));
    if (digits > 17)
        digits = 17;
    memcpy(out, full, (size_t)digits);
    out[digits] = '\0';
}
