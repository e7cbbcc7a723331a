/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 operations of s3.h on the request engine of s3.c: objects (PUT with Content-MD5
 * and lock headers, ranged GET, HEAD, DELETE by marker or by version), listings with
 * continuation (ListObjectsV2 and ListObjectVersions, their XML read by s3_xml.c), the
 * bucket's Object Lock and versioning configuration, per-object retention, and bucket
 * creation. Every query is built canonical (sorted, encoded, "name=" for valueless ones).
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "s3/s3_int.h"

/* Build the canonical query of @p into @b; "" when n is 0. */
static int query(mm_buf *b, const struct mm_s3_param *p, size_t n)
{
    mm_buf_init(b, 8192);
    int rc = mm_s3_query(b, p, n);
    if (rc == 0 && !b->ptr)
        rc = mm_buf_puts(b, "");
    return rc;
}

int mm_s3__lock_headers(struct mm_s3__req *r, int i, const struct mm_s3_put_opts *o,
                        char mode_hdr[64], char until_hdr[96])
{
    char t[32];
    if (!o || o->lock == MM_S3_LOCK_NONE)
        return i;
    mm_s3_time_format(o->retain_until, t);
    snprintf(mode_hdr, 64, "x-amz-object-lock-mode: %s", mm_s3_lock_name(o->lock));
    snprintf(until_hdr, 96, "x-amz-object-lock-retain-until-date: %s", t);
    r->hdr[i++] = mode_hdr;
    r->hdr[i++] = until_hdr;
    return i;
}

int mm_s3_put(mm_s3 *s, const char *key, const void *p, size_t n, const struct mm_s3_put_opts *o,
              char version[256])
{
    MM_ASSERT_ARG(s && key && (p || n == 0));
    if (o && o->lock != MM_S3_LOCK_NONE && !mm_s3_lock_name(o->lock))
        return mm_error_set(MM_EINVAL, "s3 put: bad lock mode");
    if (n > s->part_size)
        return mm_s3__put_multipart(s, key, p, n, o, version);
    char mh[64], uh[96];
    struct mm_s3__req r = { .op = "put",
                            .method = "PUT",
                            .key = key,
                            .body = p ? p : "",
                            .body_len = n,
                            .body_md5 = 1,
                            .idempotent = 1 };
    mm_s3__lock_headers(&r, 0, o, mh, uh);
    int rc = mm_s3__call(s, &r);
    if (rc == 0 && version)
        snprintf(version, 256, "%s", r.version);
    return rc;
}

/* The ?versionId= query of @version (none when NULL or ""). */
static int version_query(mm_buf *b, const char *version, const char *extra)
{
    struct mm_s3_param p[2];
    size_t n = 0;
    if (extra)
        p[n++] = (struct mm_s3_param){ extra, "" };
    if (version && *version)
        p[n++] = (struct mm_s3_param){ "versionId", version };
    return query(b, p, n);
}

/* Fill @info from the answer headers of @r. */
static void fill_info(const struct mm_s3__req *r, struct mm_s3_obj *info)
{
    if (!info)
        return;
    memset(info, 0, sizeof(*info));
    snprintf(info->version, sizeof(info->version), "%s", r->version[0] ? r->version : "null");
    info->size = r->have_total ? r->total : r->length;
    info->mtime = r->mtime;
    info->latest = 0;
    info->delete_marker = r->delete_marker;
    info->lock = r->lock;
    info->retain_until = r->retain_until;
}

/* Check the body of a ranged GET: exactly @len bytes from @off (a 200 answer is sliced). */
static int check_range(struct mm_s3__req *r, mm_buf *out, size_t start, uint64_t off, uint64_t len)
{
    size_t got = out->len - start;
    if (r->status == 200 && got >= off + len) { /* the store ignored Range */
        memmove(out->ptr + start, out->ptr + start + off, (size_t)len);
        mm_buf_truncate(out, start + (size_t)len);
        got = (size_t)len;
    }
    if (got != len) {
        mm_buf_truncate(out, start);
        return mm_error_set(MM_ECORRUPT, "s3 get '%s': %zu bytes of a %llu byte range", r->key, got,
                            (unsigned long long)len);
    }
    return 0;
}

int mm_s3_get(mm_s3 *s, const char *key, const char *version, uint64_t off, uint64_t len,
              mm_buf *out, struct mm_s3_obj *info)
{
    MM_ASSERT_ARG(s && key && out);
    mm_buf q;
    size_t start = out->len;
    struct mm_s3__req r = { .op = "get", .method = "GET", .key = key, .out = out, .idempotent = 1 };
    if (len && len > out->limit - out->len)
        return mm_error_set(MM_ELIMIT, "s3 get '%s': range over the buffer's limit", key);
    int rc = version_query(&q, version, NULL);
    r.query = q.ptr;
    if (len || off) {
        r.range = 1;
        r.range_off = off;
        r.range_len = len;
    }
    if (rc == 0)
        rc = mm_s3__call(s, &r);
    if (rc == 0 && len)
        rc = check_range(&r, out, start, off, len);
    else if (rc == 0 && r.status != 200 && r.status != 206)
        rc = mm_error_set(MM_EIO, "s3 get '%s': http %ld", key, r.status);
    else if (rc == 0 && r.have_length && r.length != out->len - start)
        rc = mm_error_set(MM_ECORRUPT, "s3 get '%s': short answer", key);
    if (rc == 0)
        fill_info(&r, info);
    else
        mm_buf_truncate(out, start); /* nothing of a failed answer stays */
    mm_buf_release(&q);
    return rc;
}

int mm_s3_head(mm_s3 *s, const char *key, const char *version, struct mm_s3_obj *info)
{
    MM_ASSERT_ARG(s && key);
    mm_buf q;
    struct mm_s3__req r = { .op = "head", .method = "HEAD", .key = key, .idempotent = 1 };
    int rc = version_query(&q, version, NULL);
    r.query = q.ptr;
    if (rc == 0)
        rc = mm_s3__call(s, &r);
    if (rc == 0)
        fill_info(&r, info);
    mm_buf_release(&q);
    return rc;
}

int mm_s3_delete(mm_s3 *s, const char *key, const char *version, int bypass_governance)
{
    MM_ASSERT_ARG(s && key);
    mm_buf q;
    struct mm_s3__req r = { .op = "delete", .method = "DELETE", .key = key, .idempotent = 1 };
    if (bypass_governance)
        r.hdr[0] = "x-amz-bypass-governance-retention: true";
    int rc = version_query(&q, version, NULL);
    r.query = q.ptr;
    if (rc == 0)
        rc = mm_s3__send(s, &r);
    if (rc == 0 && (r.status < 200 || r.status >= 300) &&
        !(r.status == 404 && strcmp(r.code, "NoSuchBucket") != 0))
        rc = mm_s3__status_err(&r);
    mm_buf_release(&q);
    return rc;
}

/* One listing request with @p params; its page is parsed and @fn called. */
static int list_page(mm_s3 *s, const struct mm_s3_param *p, size_t n, int versions,
                     struct mm_s3_page *pg, mm_s3_list_fn fn, void *arg)
{
    mm_buf q, body;
    mm_buf_init(&body, MM_S3_XML_MAX);
    struct mm_s3__req r = {
        .op = versions ? "list versions" : "list", .method = "GET", .out = &body, .idempotent = 1
    };
    int rc = query(&q, p, n);
    r.query = q.ptr;
    if (rc == 0)
        rc = mm_s3__call(s, &r);
    if (rc == 0)
        rc = mm_s3_parse_list(body.ptr ? body.ptr : "", body.len, versions, pg, fn, arg);
    mm_buf_release(&q);
    mm_buf_release(&body);
    return rc;
}

int mm_s3_list(mm_s3 *s, const char *prefix, int delimiter, unsigned page, mm_s3_list_fn fn,
               void *arg)
{
    MM_ASSERT_ARG(s && fn);
    char max[16], token[1024];
    struct mm_s3_page *pg = mm_calloc(1, sizeof(*pg));
    if (!pg)
        return MM_ENOMEM;
    snprintf(max, sizeof(max), "%u", page ? (page < 1000 ? page : 1000) : 1000);
    int rc;
    do {
        struct mm_s3_param p[5] = { { "list-type", "2" }, { "max-keys", max } };
        size_t n = 2;
        if (prefix && *prefix)
            p[n++] = (struct mm_s3_param){ "prefix", prefix };
        if (delimiter)
            p[n++] = (struct mm_s3_param){ "delimiter", "/" };
        memcpy(token, pg->next_token, sizeof(token)); /* the page is parsed over pg */
        if (token[0])
            p[n++] = (struct mm_s3_param){ "continuation-token", token };
        rc = list_page(s, p, n, 0, pg, fn, arg);
        if (rc == 0 && pg->truncated && strcmp(token, pg->next_token) == 0)
            rc = mm_error_set(MM_ECORRUPT, "s3 list: the same continuation token again");
    } while (rc == 0 && pg->truncated);
    mm_free(pg);
    return rc;
}

int mm_s3_list_versions(mm_s3 *s, const char *prefix, unsigned page, mm_s3_list_fn fn, void *arg)
{
    MM_ASSERT_ARG(s && fn);
    char max[16], key[1024], ver[256];
    struct mm_s3_page *pg = mm_calloc(1, sizeof(*pg));
    if (!pg)
        return MM_ENOMEM;
    snprintf(max, sizeof(max), "%u", page ? (page < 1000 ? page : 1000) : 1000);
    int rc;
    do {
        struct mm_s3_param p[5] = { { "versions", "" }, { "max-keys", max } };
        size_t n = 2;
        memcpy(key, pg->next_key, sizeof(key));
        memcpy(ver, pg->next_version, sizeof(ver));
        if (prefix && *prefix)
            p[n++] = (struct mm_s3_param){ "prefix", prefix };
        if (key[0])
            p[n++] = (struct mm_s3_param){ "key-marker", key };
        if (ver[0])
            p[n++] = (struct mm_s3_param){ "version-id-marker", ver };
        rc = list_page(s, p, n, 1, pg, fn, arg);
        if (rc == 0 && pg->truncated && !strcmp(key, pg->next_key) &&
            !strcmp(ver, pg->next_version))
            rc = mm_error_set(MM_ECORRUPT, "s3 list versions: the same markers again");
    } while (rc == 0 && pg->truncated);
    mm_free(pg);
    return rc;
}

/* GET the bucket with one valueless parameter @sub into @body. OUT: @r's status/code. */
static int get_sub(mm_s3 *s, const char *sub, const char *op, mm_buf *body, struct mm_s3__req *r)
{
    mm_buf q;
    *r = (struct mm_s3__req){ .op = op, .method = "GET", .out = body, .idempotent = 1 };
    int rc = version_query(&q, NULL, sub);
    r->query = q.ptr;
    if (rc == 0)
        rc = mm_s3__send(s, r);
    mm_buf_release(&q);
    return rc;
}

int mm_s3_lock_config(mm_s3 *s, int *enabled, enum mm_s3_lock_mode *mode, unsigned *days)
{
    MM_ASSERT_ARG(s && enabled && mode && days);
    struct mm_s3__req r;
    mm_buf body;
    mm_buf_init(&body, MM_S3_XML_MAX);
    *enabled = 0;
    *mode = MM_S3_LOCK_NONE;
    *days = 0;
    int rc = get_sub(s, "object-lock", "lock config", &body, &r);
    if (rc == 0 && r.status == 404 && strcmp(r.code, "NoSuchBucket") != 0)
        rc = 0; /* ObjectLockConfigurationNotFoundError: no lock */
    else if (rc == 0 && (r.status < 200 || r.status >= 300))
        rc = mm_s3__status_err(&r);
    else if (rc == 0)
        rc = mm_s3_parse_lock(body.ptr ? body.ptr : "", body.len, enabled, mode, days);
    mm_buf_release(&body);
    return rc;
}

int mm_s3_versioning(mm_s3 *s, int *enabled)
{
    MM_ASSERT_ARG(s && enabled);
    struct mm_s3__req r;
    mm_buf body;
    mm_buf_init(&body, MM_S3_XML_MAX);
    *enabled = 0;
    int rc = get_sub(s, "versioning", "versioning", &body, &r);
    if (rc == 0 && (r.status < 200 || r.status >= 300))
        rc = mm_s3__status_err(&r);
    else if (rc == 0)
        rc = mm_s3_parse_versioning(body.ptr ? body.ptr : "", body.len, enabled);
    mm_buf_release(&body);
    return rc;
}

int mm_s3_put_retention(mm_s3 *s, const char *key, const char *version, enum mm_s3_lock_mode mode,
                        int64_t until, int bypass_governance)
{
    MM_ASSERT_ARG(s && key);
    char t[32], xml[256];
    const char *name = mm_s3_lock_name(mode);
    mm_s3_time_format(until, t);
    if (name)
        snprintf(xml, sizeof(xml),
                 "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>%s</Mode>"
                 "<RetainUntilDate>%s</RetainUntilDate></Retention>",
                 name, t);
    else
        snprintf(xml, sizeof(xml),
                 "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
    mm_buf q;
    struct mm_s3__req r = { .op = "put retention",
                            .method = "PUT",
                            .key = key,
                            .body = xml,
                            .body_len = strlen(xml),
                            .body_md5 = 1,
                            .idempotent = 1 };
    if (bypass_governance)
        r.hdr[0] = "x-amz-bypass-governance-retention: true";
    int rc = version_query(&q, version, "retention");
    r.query = q.ptr;
    if (rc == 0)
        rc = mm_s3__call(s, &r);
    mm_buf_release(&q);
    return rc;
}

int mm_s3_get_retention(mm_s3 *s, const char *key, const char *version, enum mm_s3_lock_mode *mode,
                        int64_t *until)
{
    MM_ASSERT_ARG(s && key && mode && until);
    mm_buf q, body;
    mm_buf_init(&body, MM_S3_XML_MAX);
    struct mm_s3__req r = {
        .op = "get retention", .method = "GET", .key = key, .out = &body, .idempotent = 1
    };
    *mode = MM_S3_LOCK_NONE;
    *until = 0;
    int rc = version_query(&q, version, "retention");
    r.query = q.ptr;
    if (rc == 0)
        rc = mm_s3__send(s, &r);
    if (rc == 0 && r.status == 404 &&
        (!strcmp(r.code, "NoSuchObjectLockConfiguration") ||
         !strcmp(r.code, "ObjectLockConfigurationNotFoundError")))
        rc = 0; /* the object has no retention */
    else if (rc == 0 && (r.status < 200 || r.status >= 300))
        rc = mm_s3__status_err(&r);
    else if (rc == 0)
        rc = mm_s3_parse_retention(body.ptr ? body.ptr : "", body.len, mode, until);
    mm_buf_release(&q);
    mm_buf_release(&body);
    return rc;
}

int mm_s3_create_bucket(mm_s3 *s, int object_lock)
{
    MM_ASSERT_ARG(s);
    struct mm_s3__req r = {
        .op = "create bucket", .method = "PUT", .body = "", .body_md5 = 1, .idempotent = 1
    };
    if (object_lock)
        r.hdr[0] = "x-amz-bucket-object-lock-enabled: true";
    return mm_s3__call(s, &r);
}
