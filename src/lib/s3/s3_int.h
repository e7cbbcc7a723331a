/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/s3: the client object, the request engine (s3.c), the canonical
 * encodings and times (s3_util.c) and the minimal XML reader with the parsers of the few
 * answers we read (s3_xml.c). Everything here is testable offline (tests/unit/test_s3_*.c).
 */
#ifndef MM_S3_S3_INT_H
#define MM_S3_S3_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "s3/s3.h"

/* Idle curl handles kept for reuse (their connections stay open). */
#define MM_S3_POOL_MAX 16
/* An XML answer we parse (a listing page of 1000 versions is ~400 KiB). */
#define MM_S3_XML_MAX (8u * 1024u * 1024u)
/* Elements in one XML answer, and how deep they nest. */
#define MM_S3_XML_NODES_MAX 65536u
#define MM_S3_XML_DEPTH_MAX 16u
/* An error answer's body kept to read its Code. */
#define MM_S3_ERR_BODY_MAX (64u * 1024u)
/* A key, in bytes (S3's limit is 1024). */
#define MM_S3_KEY_MAX 1024u
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
    const char *op;       /* for messages: "put", "list", ... */
    const char *method;   /* GET PUT HEAD DELETE POST */
    const char *key;      /* NULL: the bucket itself */
    const char *query;    /* canonical (mm_s3__query), or NULL */
    const void *body;     /* request body (PUT/POST), may be NULL */
    size_t body_len;
    int body_md5;         /* send Content-MD5 of the body */
    const char *hdr[6];   /* more "Name: value" headers, NULL-terminated */
    int range;            /* send Range: bytes=range_off-(range_off+range_len-1) */
    uint64_t range_off, range_len;
    mm_buf *out;          /* 2xx body appended here (NULL: an internal bounded buffer) */
    int idempotent;       /* re-sent whole also after a timeout or a broken connection */

    long status;          /* HTTP status of the last attempt */
    char code[64];        /* S3 error Code of a non-2xx answer, or "" */
    char version[256];    /* x-amz-version-id */
    char etag[128];       /* ETag, quotes included */
    int delete_marker;    /* x-amz-delete-marker: true */
    enum mm_s3_lock_mode lock;
    int64_t retain_until;
    int64_t mtime;        /* Last-Modified */
    uint64_t length;      /* Content-Length */
    uint64_t total;       /* size of the whole object (Content-Range's, or Content-Length) */
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

/* ---- s3_util.c -------------------------------------------------------------------------- */

/* Append @s URI-encoded as SigV4 asks: A-Z a-z 0-9 - _ . ~ kept, '/' kept when @keep_slash,
 * every other byte %XX (upper-case hex). @return as mm_buf_put() */
int mm_s3__uri_encode(mm_buf *b, const char *s, int keep_slash);

/* A query parameter; value NULL or "" gives "name=". */
struct mm_s3__param {
    const char *name, *value;
};

/* Append the canonical query of @n params (names and values encoded, sorted by encoded name
 * then value, "name=value" joined by '&'), as SigV4 signs it and as we send it.
 * @return as mm_buf_put() */
int mm_s3__query(mm_buf *b, const struct mm_s3__param *p, size_t n);

/* Base64 of the MD5 of @n bytes (24 characters and NUL). */
void mm_s3__md5_b64(const void *p, size_t n, char out[32]);

/* Lower-case hex SHA-256 of @n bytes (64 characters and NUL). */
void mm_s3__sha256_hex(const void *p, size_t n, char out[65]);

/* "GOVERNANCE"/"COMPLIANCE" -> mode (NONE for anything else); mode -> name (NULL for NONE). */
enum mm_s3_lock_mode mm_s3__lock_parse(const char *s);
const char *mm_s3__lock_name(enum mm_s3_lock_mode m);

/* Strict unsigned decimal. @return 0, MM_EINVAL */
int mm_s3__parse_u64(const char *s, uint64_t *out);

/* ---- s3_xml.c ----------------------------------------------------------------------------- */

typedef struct mm_s3__xml mm_s3__xml;

/*
 * Parse one XML document (a prolog, comments and CDATA allowed; DOCTYPE, processing
 * instructions after the prolog, unknown entities and mismatched tags refused).
 * @return 0, MM_ECORRUPT, MM_ELIMIT (over MM_S3_XML_MAX/NODES/DEPTH), MM_ENOMEM
 */
int mm_s3__xml_parse(mm_s3__xml **out, const char *doc, size_t n);
void mm_s3__xml_free(mm_s3__xml *x);
/* The root element (node 0). */
const char *mm_s3__xml_name(const mm_s3__xml *x, int node);
/* Decoded text of a leaf element ("" for one with children). */
const char *mm_s3__xml_text(const mm_s3__xml *x, int node);
/* The first child of @node named @name (any name when NULL), or -1. */
int mm_s3__xml_child(const mm_s3__xml *x, int node, const char *name);
/* The next sibling of @node named @name (any name when NULL), or -1. */
int mm_s3__xml_next(const mm_s3__xml *x, int node, const char *name);
/* The text of the first child of @node named @name, or NULL. */
const char *mm_s3__xml_get(const mm_s3__xml *x, int node, const char *name);

/* Where a listing goes on. */
struct mm_s3__page {
    int truncated;
    char next_token[1024];   /* NextContinuationToken (V2) */
    char next_key[1024];     /* NextKeyMarker (versions) */
    char next_version[256];  /* NextVersionIdMarker (versions) */
};

/* Read a ListBucketResult (V2) or ListVersionsResult page, calling @fn per object (version).
 * @return 0, what @fn returned, MM_ECORRUPT */
int mm_s3__parse_list(const char *doc, size_t n, int versions, struct mm_s3__page *pg,
                      mm_s3_list_fn fn, void *arg);
/* ObjectLockConfiguration. @return 0, MM_ECORRUPT */
int mm_s3__parse_lock(const char *doc, size_t n, int *enabled, enum mm_s3_lock_mode *mode,
                      unsigned *days);
/* VersioningConfiguration. @return 0, MM_ECORRUPT */
int mm_s3__parse_versioning(const char *doc, size_t n, int *enabled);
/* Retention. @return 0, MM_ECORRUPT */
int mm_s3__parse_retention(const char *doc, size_t n, enum mm_s3_lock_mode *mode,
                           int64_t *until);
/* InitiateMultipartUploadResult's UploadId. @return 0, MM_ECORRUPT */
int mm_s3__parse_upload_id(const char *doc, size_t n, char out[1024]);
/* An Error answer's Code into @out ("" when the body is no S3 error). */
void mm_s3__parse_error_code(const char *doc, size_t n, char out[64]);
/* Whether @doc is a CompleteMultipartUploadResult (1), an Error (0, @code set), else -1. */
int mm_s3__parse_complete(const char *doc, size_t n, char code[64]);

/* ---- s3_multipart.c ----------------------------------------------------------------------- */

/* A multipart upload of @n bytes in parts of s->part_size. @return as mm_s3_put() */
int mm_s3__put_multipart(mm_s3 *s, const char *key, const void *p, size_t n,
                         const struct mm_s3_put_opts *o, char version[256]);

/* Add the lock headers of @o to @r->hdr from index @i on (buffers in @until). @return next i */
int mm_s3__lock_headers(struct mm_s3__req *r, int i, const struct mm_s3_put_opts *o,
                        char mode_hdr[64], char until_hdr[96]);

#endif
