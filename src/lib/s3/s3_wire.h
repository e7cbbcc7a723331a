/* SPDX-License-Identifier: Apache-2.0 */
/*
 * S3's wire formats as the client (s3.h) builds and reads them: URI encoding and the
 * canonical query string of AWS Signature Version 4, the Content-MD5 and payload digests,
 * lock mode names, and a minimal strict XML reader with parsers for the few answers we read
 * (listings, lock and versioning configuration, retention, multipart, errors). Pure
 * functions without I/O: public so that unit tests and fuzzers reach them
 * (tests/unit/test_s3_wire.c); nothing outside src/lib/s3 needs them otherwise.
 */
#ifndef MM_S3_S3_WIRE_H
#define MM_S3_S3_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "s3/s3.h"

/* An XML answer we parse (a listing page of 1000 versions is ~400 KiB). */
#define MM_S3_XML_MAX (8u * 1024u * 1024u)
/* Elements in one XML answer, and how deep they nest. */
#define MM_S3_XML_NODES_MAX 65536u
#define MM_S3_XML_DEPTH_MAX 16u
/* A key, in bytes (S3's limit is 1024). */
#define MM_S3_KEY_MAX 1024u

/* ---- encodings (s3_util.c) ------------------------------------------------------------- */

/* Append @s URI-encoded as SigV4 asks: A-Z a-z 0-9 - _ . ~ kept, '/' kept when @keep_slash,
 * every other byte %XX (upper-case hex). @return as mm_buf_put() */
int mm_s3_uri_encode(mm_buf *b, const char *s, int keep_slash);

/* A query parameter; value NULL or "" gives "name=". */
struct mm_s3_param {
    const char *name, *value;
};

/* Append the canonical query of @n params (names and values encoded, sorted by encoded name
 * then value, "name=value" joined by '&'), as SigV4 signs it and as we send it.
 * @return as mm_buf_put() */
int mm_s3_query(mm_buf *b, const struct mm_s3_param *p, size_t n);

/* Base64 of the MD5 of @n bytes (24 characters and NUL). */
void mm_s3_md5_b64(const void *p, size_t n, char out[32]);

/* Lower-case hex SHA-256 of @n bytes (64 characters and NUL). */
void mm_s3_sha256_hex(const void *p, size_t n, char out[65]);

/* "GOVERNANCE"/"COMPLIANCE" -> mode (NONE for anything else); mode -> name (NULL for NONE). */
enum mm_s3_lock_mode mm_s3_lock_parse(const char *s);
const char *mm_s3_lock_name(enum mm_s3_lock_mode m);

/* Strict unsigned decimal. @return 0, MM_EINVAL */
int mm_s3_parse_u64(const char *s, uint64_t *out);

/* ---- XML (s3_xml.c) ------------------------------------------------------------------------ */

typedef struct mm_s3_xml mm_s3_xml;

/*
 * Parse one XML document (a prolog, comments and CDATA allowed; DOCTYPE, processing
 * instructions after the prolog, unknown entities and mismatched tags refused).
 * @return 0, MM_ECORRUPT, MM_ELIMIT (over MM_S3_XML_MAX/NODES/DEPTH), MM_ENOMEM
 */
int mm_s3_xml_parse(mm_s3_xml **out, const char *doc, size_t n);
void mm_s3_xml_free(mm_s3_xml *x);
/* The root element (node 0). */
const char *mm_s3_xml_name(const mm_s3_xml *x, int node);
/* Decoded text of a leaf element ("" for one with children). */
const char *mm_s3_xml_text(const mm_s3_xml *x, int node);
/* The first child of @node named @name (any name when NULL), or -1. */
int mm_s3_xml_child(const mm_s3_xml *x, int node, const char *name);
/* The next sibling of @node named @name (any name when NULL), or -1. */
int mm_s3_xml_next(const mm_s3_xml *x, int node, const char *name);
/* The text of the first child of @node named @name, or NULL. */
const char *mm_s3_xml_get(const mm_s3_xml *x, int node, const char *name);

/* Where a listing goes on. */
struct mm_s3_page {
    int truncated;
    char next_token[1024];  /* NextContinuationToken (V2) */
    char next_key[1024];    /* NextKeyMarker (versions) */
    char next_version[256]; /* NextVersionIdMarker (versions) */
};

/* Read a ListBucketResult (V2) or ListVersionsResult page, calling @fn per object (version).
 * @return 0, what @fn returned, MM_ECORRUPT */
int mm_s3_parse_list(const char *doc, size_t n, int versions, struct mm_s3_page *pg,
                     mm_s3_list_fn fn, void *arg);
/* ObjectLockConfiguration. @return 0, MM_ECORRUPT */
int mm_s3_parse_lock(const char *doc, size_t n, int *enabled, enum mm_s3_lock_mode *mode,
                     unsigned *days);
/* VersioningConfiguration. @return 0, MM_ECORRUPT */
int mm_s3_parse_versioning(const char *doc, size_t n, int *enabled);
/* Retention. @return 0, MM_ECORRUPT */
int mm_s3_parse_retention(const char *doc, size_t n, enum mm_s3_lock_mode *mode, int64_t *until);
/* InitiateMultipartUploadResult's UploadId. @return 0, MM_ECORRUPT */
int mm_s3_parse_upload_id(const char *doc, size_t n, char out[1024]);
/* An Error answer's Code into @out ("" when the body is no S3 error). */
void mm_s3_parse_error_code(const char *doc, size_t n, char out[64]);
/* Whether @doc is a CompleteMultipartUploadResult (1), an Error (0, @code set), else -1. */
int mm_s3_parse_complete(const char *doc, size_t n, char code[64]);

#endif
