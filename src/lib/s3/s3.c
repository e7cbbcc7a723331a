/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 client object and its request engine: a small pool of curl easy handles guarded
 * by a mutex (connections are reused), path-style URLs <endpoint>/<bucket>/<key>, SigV4 by
 * libcurl's CURLOPT_AWS_SIGV4 over a query we canonicalise ourselves. Debian's libcurl 7.88.1
 * signs the query string exactly as given, and RGW 16.2.15 answers SignatureDoesNotMatch for
 * "?versions" and "?object-lock" (no '='), "?max-keys=2&list-type=2" (unsorted) and
 * "?prefix=a/b" or "?prefix=a+b" (not encoded as SigV4 encodes), and for any request without
 * an x-amz-content-sha256 header (7.88 adds none). With "?versions=", sorted names and
 * SigV4-encoded values (mm_s3_query) and our own x-amz-content-sha256 (the body's SHA-256)
 * every request signs right, so there is no signer of our own (tests/s3/test_s3_client.c);
 * retries with exponential backoff and full jitter on 5xx, 429/SlowDown, timeouts and
 * broken connections (after a timeout or a broken connection only idempotent requests are
 * sent again, always whole), and the mapping of HTTP answers to mm_err codes.
 * The secret key lives in sodium_malloc'ed memory (locked, wiped at free); libcurl keeps
 * its own copy of it while a handle is configured (CURLOPT_PASSWORD), which cannot be helped.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "s3/s3_int.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK && sodium_init() >= 0 ? 0 : -1;
}

/* Copy @s (required) into *@out. */
static int dup_cfg(char **out, const char *s, const char *what)
{
    if (!s || !*s)
        return mm_error_set(MM_EINVAL, "s3: no %s configured", what);
    *out = mm_strdup(s);
    return *out ? 0 : MM_ENOMEM;
}

/* Check and copy @cfg into @s. */
static int configure(mm_s3 *s, const struct mm_s3_cfg *cfg)
{
    int rc;
    if ((rc = dup_cfg(&s->endpoint, cfg->endpoint, "endpoint")) < 0 ||
        (rc = dup_cfg(&s->bucket, cfg->bucket, "bucket")) < 0 ||
        (rc = dup_cfg(&s->region, cfg->region ? cfg->region : "us-east-1", "region")) < 0 ||
        (rc = dup_cfg(&s->access_key, cfg->access_key, "access key")) < 0)
        return rc;
    if (cfg->ca_file && !(s->ca_file = mm_strdup(cfg->ca_file)))
        return MM_ENOMEM;
    size_t el = strlen(s->endpoint);
    while (el > 0 && s->endpoint[el - 1] == '/')
        s->endpoint[--el] = '\0';
    if (strncmp(s->endpoint, "http://", 7) != 0 && strncmp(s->endpoint, "https://", 8) != 0)
        return mm_error_set(MM_EINVAL, "s3: endpoint must begin with http:// or https://");
    if (strchr(s->endpoint + 8, '/') || strchr(s->endpoint, '?'))
        return mm_error_set(MM_EINVAL, "s3: endpoint must have no path");
    if (strlen(s->bucket) < 3 || strlen(s->bucket) > 63 || strchr(s->bucket, '/'))
        return mm_error_set(MM_EINVAL, "s3: bad bucket name '%s'", s->bucket);
    if (strlen(s->region) > 64 || strchr(s->region, ':'))
        return mm_error_set(MM_EINVAL, "s3: bad region");
    snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", s->region);
    s->timeout_s = cfg->timeout_s ? cfg->timeout_s : 60;
    s->retries = cfg->retries ? cfg->retries : 5;
    s->part_size = cfg->part_size ? cfg->part_size : 8u * 1024 * 1024;
    s->parallel = cfg->parallel ? cfg->parallel : 4;
    if (s->part_size < 5u * 1024 * 1024 || s->parallel > 64)
        return mm_error_set(MM_EINVAL, "s3: part size under 5 MiB or over 64 parallel parts");
    return 0;
}

int mm_s3_new(mm_s3 **out, const struct mm_s3_cfg *cfg)
{
    MM_ASSERT_ARG(out && cfg);
    pthread_once(&global_once, global_init);
    if (global_rc < 0)
        return mm_error_set(MM_EIO, "s3: cannot initialise libcurl");
    if (!cfg->secret_key || !*cfg->secret_key)
        return mm_error_set(MM_EINVAL, "s3: no secret key configured");
    mm_s3 *s = mm_calloc(1, sizeof(*s));
    if (!s)
        return MM_ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    int rc = configure(s, cfg);
    if (rc == 0) {
        size_t n = strlen(cfg->secret_key) + 1;
        if (!(s->secret = sodium_malloc(n)))
            rc = mm_error_set(MM_ENOMEM, "s3: no locked memory for the secret key");
        else
            memcpy(s->secret, cfg->secret_key, n);
    }
    if (rc < 0) {
        mm_s3_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void mm_s3_free(mm_s3 *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < s->npool; i++)
        curl_easy_cleanup(s->pool[i]);
    pthread_mutex_destroy(&s->lock);
    if (s->secret)
        sodium_free(s->secret); /* wipes */
    mm_free(s->endpoint);
    mm_free(s->bucket);
    mm_free(s->region);
    mm_free(s->access_key);
    mm_free(s->ca_file);
    mm_free(s);
}

void mm_s3_stats(mm_s3 *s, struct mm_s3_stats *out)
{
    out->requests = atomic_load(&s->requests);
    out->retries = atomic_load(&s->retried);
    out->bytes_up = atomic_load(&s->bytes_up);
    out->bytes_down = atomic_load(&s->bytes_down);
}

/* ---- the handle pool ------------------------------------------------------------------------ */

static CURL *pool_get(mm_s3 *s)
{
    CURL *c = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->npool > 0)
        c = s->pool[--s->npool];
    pthread_mutex_unlock(&s->lock);
    if (c)
        curl_easy_reset(c);
    else
        c = curl_easy_init();
    return c;
}

static void pool_put(mm_s3 *s, CURL *c)
{
    if (!c)
        return;
    curl_easy_reset(c); /* drops the copies of the credentials */
    pthread_mutex_lock(&s->lock);
    if (s->npool < MM_S3_POOL_MAX) {
        s->pool[s->npool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (c)
        curl_easy_cleanup(c);
}

/* ---- one attempt ---------------------------------------------------------------------------- */

struct attempt {
    mm_s3 *s;
    struct mm_s3__req *r;
    mm_buf err;       /* body of a non-2xx answer */
    size_t out_start; /* r->out->len before this attempt */
    size_t sent;      /* body bytes handed to curl */
    int full;         /* the body passed out->limit */
    long status_seen; /* from the status line, to route the body */
};

static size_t on_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct attempt *a = arg;
    size_t left = a->r->body_len - a->sent, n = size * nitems;
    if (n > left)
        n = left;
    if (n)
        memcpy(buf, (const char *)a->r->body + a->sent, n);
    a->sent += n;
    return n;
}

static int on_seek(void *arg, curl_off_t off, int origin)
{
    struct attempt *a = arg;
    if (origin != SEEK_SET || off < 0 || (uint64_t)off > a->r->body_len)
        return CURL_SEEKFUNC_FAIL;
    a->sent = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg)
{
    struct attempt *a = arg;
    size_t n = size * nmemb;
    mm_buf *b = a->status_seen >= 200 && a->status_seen < 300 && a->r->out ? a->r->out : &a->err;
    if (b == &a->err && b->len + n > b->limit)
        return n; /* an error body past the bound: keep its beginning */
    if (mm_buf_put(b, p, n) < 0) {
        a->full = 1;
        return 0;
    }
    atomic_fetch_add(&a->s->bytes_down, n);
    return n;
}

/* Whether header line @h (of @n bytes) is @name; OUT: *val (trimmed, in @tmp). */
static int header_is(const char *h, size_t n, const char *name, char *tmp, size_t cap)
{
    size_t l = strlen(name);
    if (n <= l || h[l] != ':' || strncasecmp(h, name, l) != 0)
        return 0;
    const char *v = h + l + 1, *e = h + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
        e--;
    size_t vl = (size_t)(e - v) < cap - 1 ? (size_t)(e - v) : cap - 1;
    memcpy(tmp, v, vl);
    tmp[vl] = '\0';
    return 1;
}

/* Copy @v into @out of @cap bytes, cut short when longer. */
static void copy_str(char *out, size_t cap, const char *v)
{
    size_t n = strnlen(v, cap - 1);
    memcpy(out, v, n);
    out[n] = '\0';
}

/* The byte count after '/' of a Content-Range "bytes a-b/total". */
static void content_range(struct mm_s3__req *r, const char *v)
{
    const char *slash = strrchr(v, '/');
    if (slash && mm_s3_parse_u64(slash + 1, &r->total) == 0)
        r->have_total = 1;
}

static size_t on_header(char *h, size_t size, size_t nitems, void *arg)
{
    struct attempt *a = arg;
    struct mm_s3__req *r = a->r;
    size_t n = size * nitems;
    char v[300];
    uint64_t u;
    if (n > 5 && strncmp(h, "HTTP/", 5) == 0) {
        const char *sp = memchr(h, ' ', n); /* h is not NUL-terminated */
        a->status_seen = 0;
        const char *d = sp ? sp + 1 : h + n;
        const char *end = d + ((size_t)(h + n - d) < 3 ? (size_t)(h + n - d) : 3);
        for (; d < end && *d >= '0' && *d <= '9'; d++)
            a->status_seen = a->status_seen * 10 + (*d - '0');
    } else if (header_is(h, n, "x-amz-version-id", v, sizeof(v))) {
        copy_str(r->version, sizeof(r->version), v);
    } else if (header_is(h, n, "etag", v, sizeof(v))) {
        copy_str(r->etag, sizeof(r->etag), v);
    } else if (header_is(h, n, "x-amz-delete-marker", v, sizeof(v))) {
        r->delete_marker = strcmp(v, "true") == 0;
    } else if (header_is(h, n, "x-amz-object-lock-mode", v, sizeof(v))) {
        r->lock = mm_s3_lock_parse(v);
    } else if (header_is(h, n, "x-amz-object-lock-retain-until-date", v, sizeof(v))) {
        if (mm_s3_time_parse(v, &r->retain_until) < 0)
            mm_error_clear();
    } else if (header_is(h, n, "last-modified", v, sizeof(v))) {
        time_t t = curl_getdate(v, NULL);
        r->mtime = t > 0 ? (int64_t)t : 0;
    } else if (header_is(h, n, "content-length", v, sizeof(v))) {
        if (mm_s3_parse_u64(v, &u) == 0) {
            r->length = u;
            r->have_length = 1;
        }
    } else if (header_is(h, n, "content-range", v, sizeof(v))) {
        content_range(r, v);
    }
    return n;
}

/* The URL of @r. OUT: @url. */
static int build_url(mm_s3 *s, const struct mm_s3__req *r, mm_buf *url)
{
    int rc = mm_buf_printf(url, "%s/%s", s->endpoint, s->bucket);
    if (rc == 0 && r->key) {
        if (!*r->key || strlen(r->key) > MM_S3_KEY_MAX)
            return mm_error_set(MM_EINVAL, "s3: bad key length");
        rc = mm_buf_putc(url, '/');
        if (rc == 0)
            rc = mm_s3_uri_encode(url, r->key, 1);
    }
    if (rc == 0 && r->query && *r->query)
        rc = mm_buf_printf(url, "?%s", r->query);
    return rc;
}

/* The request headers of @r. OUT: *out (free with curl_slist_free_all). */
static int build_headers(const struct mm_s3__req *r, struct curl_slist **out)
{
    char md5[32], sha[65], h1[64], h2[96];
    struct curl_slist *l = NULL, *t;
    const char *body = r->body ? r->body : "";
    mm_s3_sha256_hex(body, r->body_len, sha);
    snprintf(h2, sizeof(h2), "x-amz-content-sha256: %s", sha);
    int ok = (l = curl_slist_append(NULL, h2)) != NULL;
    if (ok && r->body_md5) {
        mm_s3_md5_b64(body, r->body_len, md5);
        snprintf(h1, sizeof(h1), "Content-MD5: %s", md5);
        ok = (t = curl_slist_append(l, h1)) != NULL;
    }
    if (ok && (r->body || !strcmp(r->method, "PUT") || !strcmp(r->method, "POST")))
        ok = (t = curl_slist_append(l, "Content-Type: application/octet-stream")) != NULL;
    for (int i = 0; ok && i < 6 && r->hdr[i]; i++)
        ok = (t = curl_slist_append(l, r->hdr[i])) != NULL;
    if (!ok) {
        curl_slist_free_all(l);
        return mm_error_set(MM_ENOMEM, "s3: out of memory");
    }
    *out = l;
    return 0;
}

/* Set the options of one request on @c. */
static void setup(mm_s3 *s, CURL *c, struct attempt *a, const char *url, struct curl_slist *h)
{
    struct mm_s3__req *r = a->r;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)s->timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(s->timeout_s < 15 ? s->timeout_s : 15));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt(c, CURLOPT_USERNAME, s->access_key);
    curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 2000L);
    if (s->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
    if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "PUT") || !strcmp(r->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, a);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, a);
        if (!strcmp(r->method, "POST"))
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    }
}

/* Reset what an attempt fills in. */
static void attempt_reset(struct attempt *a)
{
    struct mm_s3__req *r = a->r;
    if (r->out)
        mm_buf_truncate(r->out, a->out_start);
    mm_buf_clear(&a->err);
    a->sent = 0;
    a->full = 0;
    a->status_seen = 0;
    r->status = 0;
    r->code[0] = r->version[0] = r->etag[0] = '\0';
    r->delete_marker = r->have_total = r->have_length = 0;
    r->lock = MM_S3_LOCK_NONE;
    r->retain_until = r->mtime = 0;
    r->length = r->total = 0;
}

/* One attempt on @c. OUT: *cc (curl's result). @return 0, MM_ELIMIT */
static int perform(mm_s3 *s, CURL *c, struct attempt *a, CURLcode *cc)
{
    char range[64];
    attempt_reset(a);
    if (a->r->range && a->r->range_len) {
        snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)a->r->range_off,
                 (unsigned long long)(a->r->range_off + a->r->range_len - 1));
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    } else if (a->r->range) { /* to the end */
        snprintf(range, sizeof(range), "%llu-", (unsigned long long)a->r->range_off);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    atomic_fetch_add(&s->requests, 1);
    *cc = curl_easy_perform(c);
    if (a->full)
        return mm_error_set(MM_ELIMIT, "s3 %s: answer over the buffer's limit", a->r->op);
    if (*cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->r->status);
        atomic_fetch_add(&s->bytes_up, a->r->body_len);
        if (a->r->status < 200 || a->r->status >= 300)
            mm_s3_parse_error_code(a->err.ptr, a->err.len, a->r->code);
    }
    return 0;
}

/* Whether to try again after @cc/@r->status. */
static int retryable(const struct mm_s3__req *r, CURLcode cc)
{
    if (cc == CURLE_OK)
        return r->status >= 500 || r->status == 429 || !strcmp(r->code, "SlowDown") ||
               !strcmp(r->code, "RequestTimeout");
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return 1; /* nothing was sent */
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
        return r->idempotent;
    default:
        return 0;
    }
}

/* Sleep before attempt @n (1, 2, ...): full jitter over 100 ms * 2^n, at most 10 s. */
static void backoff(unsigned n)
{
    static _Thread_local unsigned seed;
    if (!seed)
        seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
    uint64_t cap = 100ull << (n < 7 ? n : 7);
    if (cap > 10000)
        cap = 10000;
    seed = seed * 1103515245u + 12345u;
    uint64_t ms = (seed >> 8) % (cap + 1);
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Attempts of @r on @c until an answer that is no transient error. */
static int send_on(mm_s3 *s, CURL *c, struct attempt *a)
{
    CURLcode cc = CURLE_OK;
    int rc = 0;
    for (unsigned n = 0;; n++) {
        if ((rc = perform(s, c, a, &cc)) < 0)
            return rc;
        if (n >= s->retries || !retryable(a->r, cc))
            break;
        atomic_fetch_add(&s->retried, 1);
        backoff(n + 1);
    }
    if (cc == CURLE_PEER_FAILED_VERIFICATION)
        return mm_error_set(MM_EIO,
                            "s3 %s: the store's TLS certificate is not trusted (%s): a private "
                            "CA's bundle is named by MAMORI_S3_CA_FILE",
                            a->r->op, curl_easy_strerror(cc));
    if (cc != CURLE_OK)
        return mm_error_set(MM_EIO, "s3 %s: %s", a->r->op, curl_easy_strerror(cc));
    return 0;
}

int mm_s3__send(mm_s3 *s, struct mm_s3__req *r)
{
    struct attempt a = { .s = s, .r = r };
    struct curl_slist *h = NULL;
    mm_buf url;
    mm_buf_init(&url, 4 * MM_S3_KEY_MAX + 4096);
    mm_buf_init(&a.err, MM_S3_ERR_BODY_MAX);
    a.out_start = r->out ? r->out->len : 0;
    CURL *c = NULL;
    int rc = build_url(s, r, &url);
    if (rc == 0)
        rc = build_headers(r, &h);
    if (rc == 0 && !(c = pool_get(s)))
        rc = mm_error_set(MM_ENOMEM, "s3: cannot make a curl handle");
    if (rc == 0) {
        setup(s, c, &a, url.ptr, h);
        rc = send_on(s, c, &a);
    }
    pool_put(s, c);
    curl_slist_free_all(h);
    mm_buf_release(&url);
    mm_buf_release(&a.err);
    return rc;
}

/* Whether S3 error @code means bad credentials or a bad signature. */
static int auth_code(const char *code)
{
    static const char *const codes[] = { "SignatureDoesNotMatch", "InvalidAccessKeyId",
                                         "InvalidToken",          "ExpiredToken",
                                         "RequestTimeTooSkewed",  "AuthorizationHeaderMalformed",
                                         "InvalidSecurity" };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(code, codes[i]) == 0)
            return 1;
    }
    return 0;
}

int mm_s3__status_err(const struct mm_s3__req *r)
{
    const char *code = r->code[0] ? r->code : "-";
    const char *key = r->key ? r->key : "";
    int e = MM_EIO;
    if (r->status == 403)
        e = auth_code(r->code) || (!r->code[0] && !strcmp(r->method, "HEAD")) ? MM_EAUTH
                                                                              : MM_EREFUSED;
    else if (r->status == 404 || (r->status == 405 && r->delete_marker))
        e = MM_ENOTFOUND;
    else if (r->status == 400)
        e = MM_EINVAL;
    else if (r->status == 409 && !strncmp(r->code, "BucketAlready", 13))
        e = MM_EEXISTS;
    else if (r->status == 416)
        e = MM_ECORRUPT;
    return mm_error_set(e, "s3 %s '%s': http %ld %s", r->op, key, r->status, code);
}

int mm_s3__call(mm_s3 *s, struct mm_s3__req *r)
{
    int rc = mm_s3__send(s, r);
    if (rc < 0)
        return rc;
    if (r->status < 200 || r->status >= 300)
        return mm_s3__status_err(r);
    return 0;
}
