/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 backend's parsers, reachable by the offline unit tests (tests/unit/
 * test_repo_s3_url.c) like repo_format.h's codecs: the location "s3://host[:port]/bucket
 * [/prefix]", the credentials (environment or a 0600 file) and which repository names are
 * REPLACE files. No network, no S3 client: functions of their arguments, the file and (the
 * URL parser) MAMORI_S3_TLS.
 */
#ifndef MM_REPO_REPO_S3_URL_H
#define MM_REPO_REPO_S3_URL_H

/* ---- URL and credentials (repo_s3_url.c) ---- */
struct mm_repo__s3_url {
    char host[256];     /* as written, without brackets for IPv6 */
    unsigned port;      /* 0: none given */
    char bucket[64];    /* 3..63 of [a-z0-9.-] */
    char prefix[512];   /* "" or "a/b" (no leading or trailing '/') */
    int loopback;       /* 127.0.0.0/8, ::1, localhost */
    char endpoint[300]; /* "http://127.0.0.1:7480" or "https://host" */
    char where[900];    /* "s3://host:port/bucket/prefix" */
};

/*
 * Parse "s3://host[:port]/bucket[/prefix]" strictly (no spaces, user info, query, empty or
 * "."/".." parts, bounded lengths). @allow_http: plain http also for a host not on loopback.
 * MAMORI_S3_TLS=1 in the environment: https also for a loopback host (with @allow_http: an
 * error).
 * @return 0, MM_EINVAL (with what is wrong), MM_ELIMIT
 */
int mm_repo__s3_url_parse(const char *url, int allow_http, struct mm_repo__s3_url *out);

struct mm_repo__s3_creds {
    char access[128];
    char secret[128];
    char region[64]; /* "" : the store's default */
};

/*
 * Credentials from @env_access/@env_secret (both set), else from the file @file (NULL: the
 * default "@home/.config/mamori/s3-credentials"), which must be a regular file owned by the
 * user with mode 0600 or stricter. @env_region overrides the file's region.
 * @return 0, MM_EREFUSED (a file others may read, or owned by another user), MM_EINVAL (no
 *         credentials, a malformed file), MM_EIO
 */
int mm_repo__s3_creds_load(struct mm_repo__s3_creds *out, const char *env_access,
                           const char *env_secret, const char *env_region, const char *file,
                           const char *home);
/* Wipe @c. */
void mm_repo__s3_creds_wipe(struct mm_repo__s3_creds *c);

/* 1 when @rel is written once and read as its first version (not a REPLACE name). */
int mm_repo__s3_is_once(const char *rel);

#endif
