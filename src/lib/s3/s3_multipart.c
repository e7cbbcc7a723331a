/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Multipart upload of one large object: CreateMultipartUpload (with the lock headers),
 * the parts (each a PUT with Content-MD5, idempotent, so retried whole) uploaded by up to
 * cfg.parallel threads taking the next part number from a shared counter, then
 * CompleteMultipartUpload with the parts' ETags (a 200 answer may still carry an Error,
 * which is checked). Any failure aborts the upload (AbortMultipartUpload), so no part stays
 * stored and billed; the object exists only when mm_s3__put_multipart() returns 0.
 * Ceph RGW 16.2 (Pacific) accepts the lock headers on CreateMultipartUpload but stores the
 * completed object without retention (seen against 16.2.15: HEAD and GET ?retention show
 * none, and the version can be deleted). So after completing, the new version's retention is
 * read back and, where missing or different, set with PUT ?retention; if that fails the new
 * version is deleted again and the put fails.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "s3/s3_int.h"

struct upload {
    mm_s3 *s;
    const char *key;
    const unsigned char *data;
    size_t size, part_size;
    unsigned nparts;
    char id[1024];        /* UploadId */
    char (*etag)[128];    /* per part */
    pthread_mutex_t lock; /* guards next, err, msg */
    unsigned next;        /* next part to take (0-based) */
    int err;              /* first failure */
    char msg[256];        /* its message (set in a worker thread) */
};

/* The canonical query "partNumber=N&uploadId=ID" (@part 0: only the upload ID). */
static int upload_query(mm_buf *q, const struct upload *u, unsigned part)
{
    char num[16];
    struct mm_s3_param p[2] = { { "uploadId", u->id } };
    size_t n = 1;
    snprintf(num, sizeof(num), "%u", part);
    if (part)
        p[n++] = (struct mm_s3_param){ "partNumber", num };
    mm_buf_init(q, 4096);
    return mm_s3_query(q, p, n);
}

static int initiate(struct upload *u, const struct mm_s3_put_opts *o)
{
    char mh[64], uh[96];
    mm_buf body;
    mm_buf_init(&body, MM_S3_XML_MAX);
    struct mm_s3__req r = { .op = "create multipart upload",
                            .method = "POST",
                            .key = u->key,
                            .query = "uploads=",
                            .out = &body };
    mm_s3__lock_headers(&r, 0, o, mh, uh);
    int rc = mm_s3__call(u->s, &r);
    if (rc == 0)
        rc = mm_s3_parse_upload_id(body.ptr ? body.ptr : "", body.len, u->id);
    mm_buf_release(&body);
    return rc;
}

/* PUT part @i (0-based). */
static int put_part(struct upload *u, unsigned i)
{
    mm_buf q;
    size_t off = (size_t)i * u->part_size;
    size_t n = u->size - off < u->part_size ? u->size - off : u->part_size;
    struct mm_s3__req r = { .op = "upload part",
                            .method = "PUT",
                            .key = u->key,
                            .body = u->data + off,
                            .body_len = n,
                            .body_md5 = 1,
                            .idempotent = 1 };
    int rc = upload_query(&q, u, i + 1);
    r.query = q.ptr;
    if (rc == 0)
        rc = mm_s3__call(u->s, &r);
    if (rc == 0 && (!r.etag[0] || strlen(r.etag) >= sizeof(u->etag[i])))
        rc = mm_error_set(MM_ECORRUPT, "s3 upload part '%s': no etag", u->key);
    if (rc == 0)
        memcpy(u->etag[i], r.etag, strlen(r.etag) + 1);
    mm_buf_release(&q);
    return rc;
}

/* A worker: parts until none is left or one failed. */
static void *worker(void *arg)
{
    struct upload *u = arg;
    for (;;) {
        pthread_mutex_lock(&u->lock);
        unsigned i = u->err ? u->nparts : u->next++;
        pthread_mutex_unlock(&u->lock);
        if (i >= u->nparts)
            break;
        int rc = put_part(u, i);
        if (rc < 0) {
            pthread_mutex_lock(&u->lock);
            if (!u->err) {
                u->err = rc;
                snprintf(u->msg, sizeof(u->msg), "%s", mm_error_last());
            }
            pthread_mutex_unlock(&u->lock);
        }
    }
    return NULL;
}

/* Upload every part with up to cfg.parallel threads (this one among them). */
static int put_parts(struct upload *u)
{
    pthread_t th[64];
    unsigned want = u->s->parallel < u->nparts ? u->s->parallel : u->nparts, started = 0;
    while (started + 1 < want && pthread_create(&th[started], NULL, worker, u) == 0)
        started++;
    worker(u);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (u->err)
        return mm_error_set(u->err, "%s", u->msg);
    return 0;
}

/* CompleteMultipartUpload. OUT: @version. */
static int complete(struct upload *u, char version[256])
{
    mm_buf q, xml, body;
    char code[64];
    mm_buf_init(&xml, (size_t)u->nparts * 200 + 256);
    mm_buf_init(&body, MM_S3_XML_MAX);
    struct mm_s3__req r = {
        .op = "complete multipart upload", .method = "POST", .key = u->key, .out = &body
    };
    int rc = upload_query(&q, u, 0);
    r.query = q.ptr;
    if (rc == 0)
        rc = mm_buf_puts(&xml, "<CompleteMultipartUpload "
                               "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (unsigned i = 0; rc == 0 && i < u->nparts; i++)
        rc = mm_buf_printf(&xml, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", i + 1,
                           u->etag[i]);
    if (rc == 0)
        rc = mm_buf_puts(&xml, "</CompleteMultipartUpload>");
    r.body = xml.ptr;
    r.body_len = xml.len;
    if (rc == 0)
        rc = mm_s3__call(u->s, &r);
    if (rc == 0 && mm_s3_parse_complete(body.ptr ? body.ptr : "", body.len, code) != 1)
        rc = mm_error_set(MM_EIO, "s3 complete multipart upload '%s': %s", u->key,
                          code[0] ? code : "no result");
    if (rc == 0 && version)
        snprintf(version, 256, "%s", r.version);
    mm_buf_release(&q);
    mm_buf_release(&xml);
    mm_buf_release(&body);
    return rc;
}

/* AbortMultipartUpload, keeping the caller's error message. */
static void abort_upload(struct upload *u)
{
    char msg[256];
    mm_buf q;
    snprintf(msg, sizeof(msg), "%s", mm_error_last());
    struct mm_s3__req r = {
        .op = "abort multipart upload", .method = "DELETE", .key = u->key, .idempotent = 1
    };
    if (upload_query(&q, u, 0) == 0) {
        r.query = q.ptr;
        mm_s3__send(u->s, &r);
    }
    mm_buf_release(&q);
    mm_error_set(MM_ERROR, "%s", msg);
}

/* Give the completed @version the retention of @o when the store left it out (see above). */
static int lock_after(struct upload *u, const struct mm_s3_put_opts *o, const char *version)
{
    enum mm_s3_lock_mode mode;
    int64_t until;
    if (!o || o->lock == MM_S3_LOCK_NONE)
        return 0;
    int rc = mm_s3_get_retention(u->s, u->key, version, &mode, &until);
    if (rc == 0 && mode == o->lock && until == o->retain_until)
        return 0;
    if (rc == 0)
        rc = mm_s3_put_retention(u->s, u->key, version, o->lock, o->retain_until, 0);
    if (rc < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", mm_error_last());
        mm_s3_delete(u->s, u->key, version, 1);
        mm_error_set(rc, "%s", msg);
    }
    return rc;
}

int mm_s3__put_multipart(mm_s3 *s, const char *key, const void *p, size_t n,
                         const struct mm_s3_put_opts *o, char version[256])
{
    struct upload u = { .s = s, .key = key, .data = p, .size = n, .part_size = s->part_size };
    size_t parts = (n + s->part_size - 1) / s->part_size;
    if (parts > MM_S3_PARTS_MAX)
        return mm_error_set(MM_ELIMIT, "s3 put '%s': over %u parts", key, MM_S3_PARTS_MAX);
    u.nparts = (unsigned)parts;
    if (!(u.etag = mm_calloc(parts, sizeof(*u.etag))))
        return MM_ENOMEM;
    pthread_mutex_init(&u.lock, NULL);
    char ver[256] = "";
    int rc = initiate(&u, o);
    if (rc == 0) {
        rc = put_parts(&u);
        if (rc == 0)
            rc = complete(&u, ver);
        if (rc < 0)
            abort_upload(&u);
        else
            rc = lock_after(&u, o, ver);
    }
    if (rc == 0 && version)
        memcpy(version, ver, sizeof(ver));
    pthread_mutex_destroy(&u.lock);
    mm_free(u.etag);
    return rc;
}
