/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small S3 client for one bucket of an S3-compatible object store (Ceph RGW, MinIO, AWS S3):
 * path-style requests over HTTP (loopback) or HTTPS, AWS Signature Version 4 (libcurl's
 * CURLOPT_AWS_SIGV4, or the own signer s3_sign.c where libcurl 7.88 signs a request wrong),
 * Object Lock (bucket configuration, per-object retention, COMPLIANCE/GOVERNANCE), versioned
 * reads and deletes, listings with continuation, multipart uploads of large objects, and
 * retries with backoff on 5xx, 429/SlowDown and timeouts.
 *
 * One mm_s3 may be used by several threads at once: each call uses its own curl handle
 * (from a small pool). Nothing here logs; error messages (mm_error_set) name the operation,
 * the HTTP status and S3 error code, never credentials, a signature or the object key beyond
 * its repository-relative name (keys hold no patient data: they are content hashes).
 */
#ifndef MM_S3_S3_H
#define MM_S3_S3_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct mm_s3 mm_s3;

struct mm_s3_cfg {
    const char *endpoint; /* "http://127.0.0.1:7480" or "https://s3.example.jp" (no path) */
    const char *bucket;
    const char *region;     /* NULL: "us-east-1" */
    const char *access_key; /* required */
    const char *secret_key; /* required; copied into locked memory */
    const char *ca_file;    /* NULL: the system's CAs */
    unsigned timeout_s;     /* per request, 0: 60 */
    unsigned retries;       /* extra attempts on 5xx/429/timeouts/connection errors, 0: 5 */
    size_t part_size;       /* multipart above this size and in parts of it; 0: 8 MiB (>= 5 MiB) */
    unsigned parallel;      /* parts uploaded at once, 0: 4 */
};

/* Object Lock modes. */
enum mm_s3_lock_mode { MM_S3_LOCK_NONE = 0, MM_S3_LOCK_GOVERNANCE, MM_S3_LOCK_COMPLIANCE };

/* One object version as a listing or HEAD describes it. */
struct mm_s3_obj {
    const char *key;   /* the full key (listings); NULL from mm_s3_head */
    char version[256]; /* version ID ("null" when unversioned); may begin with '-' */
    uint64_t size;
    int64_t mtime;             /* seconds since 1970 UTC */
    int latest;                /* the newest version of its key */
    int delete_marker;         /* a delete marker (size 0, no data) */
    enum mm_s3_lock_mode lock; /* from HEAD/GET only (listings do not say) */
    int64_t retain_until;      /* seconds since 1970 UTC; 0 none (HEAD/GET only) */
};

/* Retention to give a new object. */
struct mm_s3_put_opts {
    enum mm_s3_lock_mode lock; /* NONE: no lock headers at all */
    int64_t retain_until;      /* seconds since 1970 UTC, with lock */
};

/* @return 0, MM_EINVAL (bad configuration), MM_ENOMEM */
int mm_s3_new(mm_s3 **out, const struct mm_s3_cfg *cfg);
void mm_s3_free(mm_s3 *s);

/*
 * PUT @key with @n bytes (Content-MD5 always sent; lock headers when o->lock). Above
 * cfg.part_size, a multipart upload (parts in parallel; aborted on failure); its retention is
 * read back after completing and set with PUT ?retention where the store left it out (Ceph
 * RGW 16.2 ignores the lock headers of CreateMultipartUpload). The object is stored only
 * when this returns 0.
 * @param version[out] the new version ID, or "" when the store gives none (may be NULL)
 * @return 0, MM_EAUTH (403 signature/credentials), MM_EREFUSED (403 AccessDenied other than
 *         credentials), MM_ENOTFOUND (no such bucket), MM_EINVAL (400), MM_EIO
 */
int mm_s3_put(mm_s3 *s, const char *key, const void *p, size_t n, const struct mm_s3_put_opts *o,
              char version[256]);

/*
 * GET @key (its @version when not NULL/"") — @len bytes from @off, or the whole object when
 * @len is 0 — appended to @out (bounded by out->limit). A short range answer is MM_ECORRUPT.
 * @param info[out] size/version/lock/retention from the answer's headers (may be NULL)
 * @return 0, MM_ENOTFOUND (no such key or version, or a delete marker), MM_ELIMIT, MM_EAUTH,
 *         MM_EREFUSED, MM_ECORRUPT, MM_EIO
 */
int mm_s3_get(mm_s3 *s, const char *key, const char *version, uint64_t off, uint64_t len,
              mm_buf *out, struct mm_s3_obj *info);

/* HEAD @key (@version optional). @return 0, MM_ENOTFOUND, MM_EAUTH, MM_EREFUSED, MM_EIO */
int mm_s3_head(mm_s3 *s, const char *key, const char *version, struct mm_s3_obj *info);

/*
 * DELETE @key: without @version only a delete marker is added on a versioned bucket; with
 * it that version is removed. @bypass_governance sends x-amz-bypass-governance-retention.
 * @return 0 (also for a missing key), MM_EREFUSED (403: retained, or not allowed), MM_EAUTH,
 *         MM_EIO
 */
int mm_s3_delete(mm_s3 *s, const char *key, const char *version, int bypass_governance);

/* Called once per listed object (version); non-zero stops the listing and is returned. */
typedef int (*mm_s3_list_fn)(void *arg, const struct mm_s3_obj *o);

/*
 * ListObjectsV2 of the keys under @prefix (with @delimiter "/" only one level: common
 * prefixes are skipped), following continuation tokens; @page keys per request (0: 1000).
 * @return 0, what @fn returned, MM_ENOTFOUND (no bucket), MM_EAUTH, MM_EREFUSED, MM_ECORRUPT
 *         (an answer that is not S3 XML), MM_EIO
 */
int mm_s3_list(mm_s3 *s, const char *prefix, int delimiter, unsigned page, mm_s3_list_fn fn,
               void *arg);

/* ListObjectVersions under @prefix (versions and delete markers, following key and version
 * ID markers). @return as mm_s3_list() */
int mm_s3_list_versions(mm_s3 *s, const char *prefix, unsigned page, mm_s3_list_fn fn, void *arg);

/*
 * The bucket's Object Lock configuration: @enabled 1 when it says "Enabled"; its default
 * retention, if any, in @mode/@days (NONE/0 without).
 * @return 0 (a bucket without lock configuration: 0 with @enabled 0), MM_ENOTFOUND (no
 *         bucket), MM_EAUTH, MM_EREFUSED, MM_ECORRUPT, MM_EIO
 */
int mm_s3_lock_config(mm_s3 *s, int *enabled, enum mm_s3_lock_mode *mode, unsigned *days);

/* Whether versioning is "Enabled". @return as mm_s3_lock_config() */
int mm_s3_versioning(mm_s3 *s, int *enabled);

/*
 * PUT ?retention of @key@@version: @mode until @until (seconds since 1970 UTC).
 * @return 0, MM_EREFUSED (403: e.g. shortening a COMPLIANCE retention), MM_EINVAL (400),
 *         MM_ENOTFOUND, MM_EAUTH, MM_EIO
 */
int mm_s3_put_retention(mm_s3 *s, const char *key, const char *version, enum mm_s3_lock_mode mode,
                        int64_t until, int bypass_governance);

/* GET ?retention of @key@@version. @return 0 (NONE/0 when the object has none), MM_ENOTFOUND,
 * MM_EAUTH, MM_EREFUSED, MM_ECORRUPT, MM_EIO */
int mm_s3_get_retention(mm_s3 *s, const char *key, const char *version, enum mm_s3_lock_mode *mode,
                        int64_t *until);

/* Create the bucket (with Object Lock enabled when @object_lock, which also enables
 * versioning). For tests and `mamori vault init`. @return 0, MM_EEXISTS, MM_EAUTH, MM_EIO */
int mm_s3_create_bucket(mm_s3 *s, int object_lock);

/* Requests sent, retried and bytes moved by @s so far (for benchmarks and status). */
struct mm_s3_stats {
    uint64_t requests, retries, bytes_up, bytes_down;
};
void mm_s3_stats(mm_s3 *s, struct mm_s3_stats *out);

/* "2026-12-07T09:00:00Z" <-> seconds. @return 0, MM_EINVAL */
int mm_s3_time_parse(const char *s, int64_t *out);
void mm_s3_time_format(int64_t t, char out[32]);

#endif
