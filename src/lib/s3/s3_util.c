/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The encodings S3 requests are built from: URI encoding of keys and query values exactly
 * as AWS Signature Version 4 canonicalises them, the canonical (sorted) query string, the
 * Content-MD5 and payload SHA-256 digests (OpenSSL EVP), lock mode names, and the ISO 8601
 * UTC times of S3 ("2026-12-07T09:00:00Z", also with milliseconds) converted without the
 * C library's time zone machinery.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "s3/s3_wire.h"

int mm_s3_uri_encode(mm_buf *b, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
        int rc;
        if (keep) {
            rc = mm_buf_putc(b, (int)c);
        } else {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };
            rc = mm_buf_put(b, e, 3);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

struct enc_param {
    char *name, *value;
};

/* qsort order of SigV4: by encoded name, then by encoded value (byte order). */
static int param_cmp(const void *a, const void *b)
{
    const struct enc_param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Encode @s into a fresh string. OUT: *out. */
static int encode_dup(const char *s, char **out)
{
    mm_buf b;
    mm_buf_init(&b, 3 * MM_S3_KEY_MAX + 64);
    int rc = mm_s3_uri_encode(&b, s ? s : "", 0);
    if (rc == 0 && !(*out = mm_buf_detach(&b)))
        rc = MM_ENOMEM;
    mm_buf_release(&b);
    return rc;
}

int mm_s3_query(mm_buf *b, const struct mm_s3_param *p, size_t n)
{
    int rc = 0;
    struct enc_param *e = n ? mm_calloc(n, sizeof(*e)) : NULL;
    if (n && !e)
        return MM_ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = encode_dup(p[i].name, &e[i].name);
        if (rc == 0)
            rc = encode_dup(p[i].value, &e[i].value);
    }
    if (rc == 0 && n > 1)
        qsort(e, n, sizeof(*e), param_cmp);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = mm_buf_printf(b, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
    for (size_t i = 0; i < n; i++) {
        mm_free(e[i].name);
        mm_free(e[i].value);
    }
    mm_free(e);
    return rc;
}

void mm_s3_md5_b64(const void *p, size_t n, char out[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(p, n, md, &len, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, (int)len);
}

void mm_s3_sha256_hex(const void *p, size_t n, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

enum mm_s3_lock_mode mm_s3_lock_parse(const char *s)
{
    if (s && strcmp(s, "GOVERNANCE") == 0)
        return MM_S3_LOCK_GOVERNANCE;
    if (s && strcmp(s, "COMPLIANCE") == 0)
        return MM_S3_LOCK_COMPLIANCE;
    return MM_S3_LOCK_NONE;
}

const char *mm_s3_lock_name(enum mm_s3_lock_mode m)
{
    switch (m) {
    case MM_S3_LOCK_GOVERNANCE:
        return "GOVERNANCE";
    case MM_S3_LOCK_COMPLIANCE:
        return "COMPLIANCE";
    case MM_S3_LOCK_NONE:
        break;
    }
    return NULL;
}

int mm_s3_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s || strlen(s) > 20)
        return MM_EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return MM_EINVAL;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return MM_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* @n decimal digits at @s. OUT: *v. @return 0 or -1 */
static int digits(const char *s, int n, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (unsigned)(s[i] - '0');
    }
    return 0;
}

int mm_s3_time_parse(const char *s, int64_t *out)
{
    static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    unsigned y, mo, d, h, mi, se;
    if (!s || strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
        return mm_error_set(MM_EINVAL, "bad time '%.40s'", s ? s : "");
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9' && nd < 9) {
            p++;
            nd++;
        }
        if (nd == 0)
            return mm_error_set(MM_EINVAL, "bad time '%.40s'", s);
    }
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (strcmp(p, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 60)
        return mm_error_set(MM_EINVAL, "bad time '%.40s'", s);
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

void mm_s3_time_format(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}
