/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the audit module: the byte codecs of records, header and head (audit_codec.c),
 * shared with the appender (audit_file.c), the verifier (audit_verify.c) and the tests.
 * Layouts: docs/format.md, "Audit log".
 */
#ifndef MM_AUDIT_AUDIT_INT_H
#define MM_AUDIT_AUDIT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/limits.h"
#include "crypto/crypto.h"

#define ID_SIZE MM_CRYPTO_ID_SIZE

/* Record frame: "MMAR" le32 n | body n | u8 s | sig s | le32 total | "MMAZ". */
#define FRAME_FIXED      17u /* 8 before the body, 1 signature length, 8 after */
#define FRAME_MAX        (FRAME_FIXED + MM_LIMIT_AUDIT_RECORD + MM_CRYPTO_SIG_SIZE)
#define DETAIL_VALUE_MAX 4096u
#define USER_MAX         64u
#define HOST_MAX         255u

/* Body tags (le16 tag | le32 length | value), in increasing order. */
enum {
    TAG_VERSION = 1,  /* le16 record version = 1 */
    TAG_SEQ = 2,      /* le64 */
    TAG_PREV = 3,     /* 32: hash of the previous record (record 1: of the header) */
    TAG_FLAGS = 4,    /* u8: bit 0 keyed (a signature follows the body) */
    TAG_TIME = 5,     /* le64 ns since 1970 UTC (signed) | le32 local offset in s (signed) */
    TAG_KIND = 6,     /* le16 */
    TAG_USER = 7,     /* UTF-8, 0..64 bytes */
    TAG_HOST = 8,     /* UTF-8, 0..255 bytes */
    TAG_DETAILS = 9,  /* details in the clear */
    TAG_SEALED = 10,  /* 32-byte ID | sealed details (version 1) */
    TAG_WSEALED = 11, /* version 2: sealed data key (80) | 32-byte ID | details sealed under it */
    TAG_WCERT = 12    /* version 2: the writer's certificate (MM_WCERT_SIZE) */
};

/* Record versions: 1 signed by the repository's key, 2 by a certified writer (a host). */
#define REC_V1 1u
#define REC_V2 2u
/* Sealed details of a version 2 record: sealed data key | ID | sealed object. */
#define WSEALED_MIN (MM_CRYPTO_SEALED_DK_SIZE + ID_SIZE + MM_CRYPTO_SEAL_OVERHEAD)

#define FLAG_KEYED 1u

/* The signed message: "mamori-audit-v1\0" followed by the 32-byte record hash. */
#define SIGN_DOMAIN     "mamori-audit-v1"
#define SIGN_DOMAIN_LEN 16u /* with its NUL */

/* A record to encode (the body's fields). */
struct mm_audit__rec {
    uint64_t seq;
    unsigned char prev[ID_SIZE];
    int keyed;
    int64_t time_ns;
    int32_t utc_offset_s;
    unsigned int kind;
    const char *user, *host;
    const void *details; /* the encoded details, NULL when none */
    size_t ndetails;
    int sealed; /* details are [id | sealed] (TAG_SEALED) rather than clear (TAG_DETAILS) */
    const unsigned char *cert; /* a writer's certificate: a version 2 record, NULL: version 1 */
};

/* Encode the details plaintext: le64 seq | u8 subject kind | le16 n | subject | le16 nfields
 * | per field: u8 klen | key | le16 vlen | value. @return 0, MM_EINVAL, MM_ELIMIT, MM_ENOMEM */
int mm_audit__details_encode(uint64_t seq, const struct mm_audit_event *ev, mm_buf *out);

/* Encode the body of @r into @out. @return 0, MM_ELIMIT, MM_ENOMEM */
int mm_audit__body_encode(const struct mm_audit__rec *r, mm_buf *out);

/* The record hash: BLAKE2b-256 of the body. */
void mm_audit__hash(const void *body, size_t n, unsigned char out[ID_SIZE]);

/* Sign the record hash @h with @ks. @return 0, MM_ERROR */
int mm_audit__sign(const mm_keyset *ks, const unsigned char h[ID_SIZE],
                   unsigned char sig[MM_CRYPTO_SIG_SIZE]);
/* @return 0, MM_EAUTH */
int mm_audit__check_sig(const unsigned char pk[MM_CRYPTO_PK_SIZE], const unsigned char h[ID_SIZE],
                        const unsigned char sig[MM_CRYPTO_SIG_SIZE]);

/* Append the frame of @body (@n) with @sig (NULL: unsigned) to @out. @return as mm_buf_put */
int mm_audit__frame(const void *body, size_t n, const unsigned char *sig, mm_buf *out);

/*
 * Decode the frame at the start of @p (@n bytes available).
 * @param[out] body, blen, sig (NULL when unsigned), flen (the whole frame's length)
 * @return 0, MM_ECORRUPT when it is not a whole frame
 */
int mm_audit__frame_decode(const unsigned char *p, size_t n, const unsigned char **body,
                           size_t *blen, const unsigned char **sig, size_t *flen);

/* The fields of a decoded body; pointers into the body. */
struct mm_audit__body {
    uint64_t seq;
    const unsigned char *prev;
    int keyed;
    int64_t time_ns;
    int32_t utc_offset_s;
    unsigned int kind;
    const unsigned char *user, *host;
    size_t userlen, hostlen;
    const unsigned char *details; /* clear details, or [id | sealed], or [sdk | id | sealed] */
    size_t ndetails;
    int sealed;
    unsigned int version;      /* REC_V1 or REC_V2 */
    const unsigned char *cert; /* version 2: the writer's certificate */
};

/* The record version a body declares (0: none readable): tells a newer record from damage. */
unsigned int mm_audit__body_version(const unsigned char *p, size_t n);

/* Decode a body. @return 0, MM_ECORRUPT (the message says what) */
int mm_audit__body_decode(const unsigned char *p, size_t n, struct mm_audit__body *out);

/* Write the header of a log for @repo_id and @pk into @out (MM_AUDIT_HEADER_SIZE bytes). */
void mm_audit__header_encode(const unsigned char *repo_id,
                             const unsigned char pk[MM_CRYPTO_PK_SIZE],
                             unsigned char out[MM_AUDIT_HEADER_SIZE]);
/* @return 0, MM_ECORRUPT (not an audit log or unknown version) */
int mm_audit__header_check(const unsigned char *p, size_t n);

/* The head: the newest signed record's sequence number, hash and signature; version 2 (a
 * writer's head) adds the writer's certificate. */
struct mm_audit__head {
    uint64_t seq;
    unsigned char hash[ID_SIZE];
    unsigned char sig[MM_CRYPTO_SIG_SIZE];
    int writer; /* version 2: signed by the writer of @cert */
    unsigned char cert[MM_WCERT_SIZE];
};
/* Encode @h into @out (MM_AUDIT_HEAD_SIZE or MM_AUDIT_HEAD2_SIZE bytes). @return its length */
size_t mm_audit__head_encode(const struct mm_audit__head *h, unsigned char *out);
/* @return 0, MM_ECORRUPT */
int mm_audit__head_decode(const unsigned char *p, size_t n, struct mm_audit__head *out);

/* How the decoding of a log's records ended. */
enum { STOP_END = 0, STOP_TORN = 1, STOP_DAMAGED = 2 };

/* A record of a parsed log, with what verify needs. */
struct mm_audit__entry {
    struct mm_audit_record pub;
    int malformed; /* a whole frame whose body does not decode */
    int newer;     /* ... because it is of a record version this mamori does not know */
    unsigned int version;
    int writer_ok;                        /* version 2: its certificate holds for this log */
    unsigned char wpk[MM_CRYPTO_PK_SIZE]; /* version 2: the writer's key */
    char wname[MM_KEYSLOT_NAME_MAX + 1];  /* version 2: the writer's name */
    unsigned char prev[ID_SIZE];
    const unsigned char *sig; /* into the log's copy, NULL when unsigned */
    const unsigned char *details;
    size_t ndetails;
    struct mm_audit_kv *kv; /* owned */
    char *strings;          /* owned: user, host */
    char *detail_strings;   /* owned: subject, keys, values */
};

struct mm_audit_log {
    unsigned char *raw; /* copy of the log file */
    size_t rawn;
    struct mm_audit__entry *v;
    size_t n;
    int has_head, head_bad;
    struct mm_audit__head head;
    unsigned char h0[ID_SIZE]; /* hash of the header: record 1's prev */
    size_t stop_offset;
    int stop;
    const unsigned char *wc_cert; /* the last writer certificate that verified (into raw) */
    struct mm_wcert wc;           /* what it says */
};

/*
 * Check the writer certificate @cert for the log whose header holds @pk and @repo_id, at the
 * time @time_ns (inside its validity; skipped when 0). @return 0 (@out filled), MM_EAUTH,
 * MM_ECORRUPT
 */
int mm_audit__writer_check(const unsigned char *pk, const unsigned char *repo_id,
                           const unsigned char *cert, int64_t time_ns, struct mm_wcert *out);

/* Decode the details @p (@n) into @e (keys, values, subject), checking the seq. */
int mm_audit__details_decode(struct mm_audit__entry *e, const unsigned char *p, size_t n);

/* Frames at most this long can be the torn tail of one interrupted append. */
#define TORN_MAX FRAME_MAX

/* Where decoding of @p stops and why: STOP_TORN when no whole frame follows @off. */
int mm_audit__classify_stop(const unsigned char *p, size_t n, size_t off);

#endif
