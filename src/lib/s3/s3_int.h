/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/s3: the client object, the request engine (s3.c) and the multipart
 * upload (s3_multipart.c). The wire formats they use are in s3_wire.h.
 */
#ifndef MM_S3_S3_INT_H
#define MM_S3_S3_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "s3/s3.h"
#include "s3/s3_wire.h"

/* Idle curl handles kept for reuse (their connections stay open). */
#define MM_S3_POOL_MAX 16
/* An error answer's body kept to read its Code. */
#define MM_S3_ERR_BODY_MAX (64u * 1024u)
/* Parts of one multipart upload (S3's limit). */
#define MM_S3_PARTS_MAX 10000u

struct mm_s3 {
    char *endpoint; /* without a trailing '/' */
    char *bucket;
    char *region;
    char *access_key;
    char *secret;       /* sodium_malloc: locked, wiped at free */
    char *ca_file;      /* NULL: the system's */
    char sigv4[128];    /* "aws:amz:<region>:s3" */
    unsigned timeout_s; /* per request */
    unsigned retries;   /* extra attempts */
    size_t part_size;
    unsigned parallel;

    pthread_mutex_t lock; /* guards pool/npool */
    void *pool[MM_S3_POOL_MAX];
    unsigned npool;

    atomic_uint_least64_t requests, retried, bytes_up, bytes_down;
};

/* One HTTP request and what came back. Fill the first block, zero the rest. */
struct mm_s3__req {
    const char *op;     /* for messages: "put", "list", ... */
    const char *method; /* GET PUT HEAD DELETE POST */
    const char *key;    /* NULL: the bucket itself */
    const char *query;  /* canonical (mm_s3_query), or NULL */
    const void *body;   /* request body (PUT/POST), may be NULL */
    size_t body_len;
    int body_md5;       /* send Content-MD5 of the body */
    const char *hdr[6]; /* more "Name: value" headers, NULL-terminated */
    int range;          /* send Range: bytes=off-(off+len-1), or off- when len is 0 */
    uint64_t range_off, range_len;
    mm_buf *out;    /* 2xx body appended here (NULL: an internal bounded buffer) */
    int idempotent; /* re-sent whole also after a timeout or a broken connection */

    long status;       /* HTTP status of the last attempt */
    char code[64];     /* S3 error Code of a non-2xx answer, or "" */
    char version[256]; /* x-amz-version-id */
    char etag[128];    /* ETag, quotes included */
    int delete_marker; /* x-amz-delete-marker: true */
    enum mm_s3_lock_mode lock;
    int64_t retain_until;
    int64_t mtime;   /* Last-Modified */
    uint64_t length; /* Content-Length */
    int have_length;
    uint64_t total; /* size of the whole object (Content-Range's, or Content-Length) */
    int have_total;
};

/*
 * Send @r (with retries on 5xx, 429, timeouts and connection errors) and keep the last answer
 * in @r. Any answer counts as success here; the caller maps the status (mm_s3__status_err).
 * @return 0 (an answer came), MM_ELIMIT (out full), MM_EIO (no answer after the retries),
 *         MM_ENOMEM
 */
int mm_s3__send(mm_s3 *s, struct mm_s3__req *r);

/*
 * The error of a non-2xx answer: 403 with a credential/signature code MM_EAUTH, other 403
 * MM_EREFUSED, 404 (and 405 on a delete marker) MM_ENOTFOUND, 400 MM_EINVAL, 409
 * BucketAlready* MM_EEXISTS, 416 MM_ECORRUPT, the rest MM_EIO; sets the message.
 */
int mm_s3__status_err(const struct mm_s3__req *r);

/* Send and map: 0 for a 2xx answer, else as mm_s3__send()/mm_s3__status_err(). */
int mm_s3__call(mm_s3 *s, struct mm_s3__req *r);

/* ---- s3_multipart.c ----------------------------------------------------------------------- */

/* A multipart upload of @n bytes in parts of s->part_size. @return as mm_s3_put() */
int mm_s3__put_multipart(mm_s3 *s, const char *key, const void *p, size_t n,
                         const struct mm_s3_put_opts *o, char version[256]);

/* Add the lock headers of @o to @r->hdr from index @i on (buffers in @until). @return next i */
int mm_s3__lock_headers(struct mm_s3__req *r, int i, const struct mm_s3_put_opts *o,
                        char mode_hdr[64], char until_hdr[96]);

#endif
