/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the S3 client's requests and answers against a scripted HTTP server on loopback
 * (a thread here answering each request with the next canned answer, then closing): the
 * headers sent (Content-MD5 on every PUT, lock headers only with a lock, the bypass header
 * only when asked, x-amz-content-sha256, SigV4 Authorization), canonical queries on the
 * wire, the mapping of answers to mm_err codes (403 by code, 404, 405 delete marker, 409,
 * 400), retries of 503/SlowDown/429 and of a cut answer, no retry of a 4xx, a listing that
 * is not S3 XML, and a 200 CompleteMultipartUpload carrying an Error.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/error.h"
#include "s3/s3.h"

#define MAX_STEPS 16

struct server {
    int fd, port;
    pthread_t th;
    const char *answers[MAX_STEPS]; /* whole HTTP answers, NULL-terminated */
    char requests[MAX_STEPS][4096]; /* request heads as received */
    int served;
};

/* The first place of @needle (lower case) in @hay, ignoring case (strcasestr is GNU). */
static const char *find_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    }
    return NULL;
}

/* Read one request head and its body (by Content-Length) from @c into @head. */
static void read_request(int c, char *head, size_t cap)
{
    size_t n = 0;
    char *end = NULL;
    while (n + 1 < cap && !end) {
        ssize_t r = read(c, head + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        head[n] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    if (!end)
        return;
    if (find_ci(head, "\nexpect: 100-continue") &&
        write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
        return;
    const char *cl = find_ci(head, "\ncontent-length:");
    long body = cl ? strtol(cl + 16, NULL, 10) : 0;
    long have = (long)(n - (size_t)(end + 4 - head));
    char buf[65536];
    while (have < body) {
        ssize_t r = read(c, buf, sizeof(buf));
        if (r <= 0)
            break;
        have += r;
    }
    end[4] = '\0';
}

/* Write answer @a to @c, with a Content-Length of its body unless it has one. */
static void send_answer(int c, const char *a)
{
    const char *end = strstr(a, "\r\n\r\n");
    char head[1024];
    if (!end || find_ci(a, "\ncontent-length:")) {
        if (write(c, a, strlen(a)) < 0)
            return;
        return;
    }
    int n = snprintf(head, sizeof(head), "%.*s\r\nContent-Length: %zu\r\n\r\n", (int)(end - a), a,
                     strlen(end + 4));
    if (write(c, head, (size_t)n) < 0 || write(c, end + 4, strlen(end + 4)) < 0)
        return;
}

static void *serve(void *arg)
{
    struct server *sv = arg;
    for (int i = 0; i < MAX_STEPS && sv->answers[i]; i++) {
        int c = accept(sv->fd, NULL, NULL);
        if (c < 0)
            break;
        read_request(c, sv->requests[i], sizeof(sv->requests[i]));
        sv->served = i + 1;
        send_answer(c, sv->answers[i]);
        close(c);
    }
    return NULL;
}

/* Start the server with @answers (NULL-terminated). */
static void server_start(struct server *sv, const char *const *answers)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    memset(sv, 0, sizeof(*sv));
    for (int i = 0; i < MAX_STEPS - 1 && answers[i]; i++)
        sv->answers[i] = answers[i];
    sv->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(sv->fd >= 0);
    assert_int_equal(bind(sv->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(sv->fd, 8), 0);
    assert_int_equal(getsockname(sv->fd, (struct sockaddr *)&a, &len), 0);
    sv->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&sv->th, NULL, serve, sv), 0);
}

static void server_stop(struct server *sv)
{
    shutdown(sv->fd, SHUT_RDWR);
    pthread_join(sv->th, NULL);
    close(sv->fd);
}

/* A client of the server at @port. */
static mm_s3 *client(int port)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    struct mm_s3_cfg cfg = { .endpoint = url,
                             .bucket = "mm-test",
                             .access_key = "AKIDEXAMPLE",
                             .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                             .timeout_s = 5,
                             .retries = 2 };
    mm_s3 *s = NULL;
    assert_int_equal(mm_s3_new(&s, &cfg), 0);
    return s;
}

#define OK_EMPTY   "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
#define OK_VERSION "HTTP/1.1 200 OK\r\nx-amz-version-id: -v1\r\n\r\n"
#define ERR(status, code)                                                           \
    "HTTP/1.1 " status "\r\nContent-Type: application/xml\r\nConnection: close\r\n" \
    "\r\n<?xml version=\"1.0\"?><Error><Code>" code "</Code></Error>"

static void put__headers(void **state)
{
    static const char *const answers[] = { OK_VERSION, OK_EMPTY, NULL };
    struct server sv;
    char v[256];
    (void)state;
    server_start(&sv, answers);
    mm_s3 *s = client(sv.port);
    struct mm_s3_put_opts o = { MM_S3_LOCK_COMPLIANCE, 1796634000 };
    assert_int_equal(mm_s3_put(s, "a b/c", "hello", 5, &o, v), 0);
    assert_string_equal(v, "-v1");
    assert_int_equal(mm_s3_put(s, "k", "", 0, NULL, NULL), 0);
    mm_s3_free(s);
    server_stop(&sv);
    const char *r = sv.requests[0];
    assert_non_null(strstr(r, "PUT /mm-test/a%20b/c HTTP/1.1\r\n"));
    assert_non_null(strstr(r, "Content-MD5: XUFAKrxLKna5cZ2REBfFkg==\r\n"));
    assert_non_null(strstr(r, "x-amz-object-lock-mode: COMPLIANCE\r\n"));
    assert_non_null(strstr(r, "x-amz-object-lock-retain-until-date: 2026-12-07T09:00:00Z\r\n"));
    assert_non_null(strstr(r, "x-amz-content-sha256: "
                              "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
    assert_non_null(strstr(r, "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
    assert_null(strstr(r, "wJalrXUtnFEMI"));
    r = sv.requests[1];
    assert_non_null(strstr(r, "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==\r\n"));
    assert_null(strstr(r, "x-amz-object-lock"));
}

static void delete__version_and_bypass(void **state)
{
    static const char *const answers[] = {
        "HTTP/1.1 204 No Content\r\n\r\n",
        ERR("403 Forbidden", "AccessDenied"),
        "HTTP/1.1 404 Not Found\r\n\r\n",
        NULL,
    };
    struct server sv;
    (void)state;
    server_start(&sv, answers);
    mm_s3 *s = client(sv.port);
    assert_int_equal(mm_s3_delete(s, "k", "-abc+/=", 0), 0);
    assert_int_equal(mm_s3_delete(s, "k", "-abc", 1), MM_EREFUSED);
    assert_int_equal(mm_s3_delete(s, "k", NULL, 0), 0);
    mm_s3_free(s);
    server_stop(&sv);
    assert_non_null(strstr(sv.requests[0], "DELETE /mm-test/k?versionId=-abc%2B%2F%3D HTTP"));
    assert_null(strstr(sv.requests[0], "bypass"));
    assert_non_null(strstr(sv.requests[1], "x-amz-bypass-governance-retention: true\r\n"));
    assert_non_null(strstr(sv.requests[2], "DELETE /mm-test/k HTTP"));
}

static void errors__mapping(void **state)
{
    static const char *const answers[] = {
        ERR("403 Forbidden", "SignatureDoesNotMatch"),
        ERR("403 Forbidden", "AccessDenied"),
        ERR("404 Not Found", "NoSuchKey"),
        "HTTP/1.1 405 Method Not Allowed\r\nx-amz-delete-marker: true\r\n\r\n",
        ERR("409 Conflict", "BucketAlreadyOwnedByYou"),
        ERR("400 Bad Request", "InvalidArgument"),
        ERR("404 Not Found", "NoSuchBucket"),
        NULL,
    };
    struct server sv;
    mm_buf b;
    (void)state;
    mm_buf_init(&b, 1024);
    server_start(&sv, answers);
    mm_s3 *s = client(sv.port);
    assert_int_equal(mm_s3_put(s, "k", "x", 1, NULL, NULL), MM_EAUTH);
    assert_non_null(strstr(mm_error_last(), "SignatureDoesNotMatch"));
    assert_int_equal(mm_s3_put(s, "k", "x", 1, NULL, NULL), MM_EREFUSED);
    assert_int_equal(mm_s3_get(s, "k", NULL, 0, 0, &b, NULL), MM_ENOTFOUND);
    assert_int_equal(b.len, 0);
    assert_int_equal(mm_s3_get(s, "k", "dm", 0, 0, &b, NULL), MM_ENOTFOUND);
    assert_int_equal(mm_s3_create_bucket(s, 1), MM_EEXISTS);
    assert_int_equal(mm_s3_put_retention(s, "k", "v", MM_S3_LOCK_GOVERNANCE, 1, 0), MM_EINVAL);
    int en;
    enum mm_s3_lock_mode m;
    unsigned d;
    assert_int_equal(mm_s3_lock_config(s, &en, &m, &d), MM_ENOTFOUND);
    mm_s3_free(s);
    server_stop(&sv);
    assert_int_equal(sv.served, 7); /* no 4xx was sent twice */
    assert_non_null(strstr(sv.requests[4], "x-amz-bucket-object-lock-enabled: true\r\n"));
    assert_non_null(strstr(sv.requests[5], "PUT /mm-test/k?retention=&versionId=v HTTP"));
    assert_non_null(strstr(sv.requests[6], "GET /mm-test?object-lock= HTTP"));
    mm_buf_release(&b);
}

static void retries__transient_answers(void **state)
{
    static const char *const answers[] = {
        ERR("503 Service Unavailable", "SlowDown"),
        ERR("500 Internal Server Error", "InternalError"),
        "HTTP/1.1 200 OK\r\n\r\nhello",
        "HTTP/1.1 429 Too Many Requests\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\ncut short" /* cut */,
        "HTTP/1.1 503 Service Unavailable\r\n\r\n",
        ERR("503 Service Unavailable", "SlowDown"),
        NULL,
    };
    struct server sv;
    struct mm_s3_stats st;
    mm_buf b;
    (void)state;
    mm_buf_init(&b, 1024);
    server_start(&sv, answers);
    mm_s3 *s = client(sv.port);
    assert_int_equal(mm_s3_get(s, "k", NULL, 0, 0, &b, NULL), 0);
    assert_int_equal(b.len, 5);
    mm_buf_clear(&b);
    /* 429, a cut answer, 503: the retries (2) are used up */
    assert_int_equal(mm_s3_get(s, "k", NULL, 0, 0, &b, NULL), MM_EIO);
    assert_int_equal(b.len, 0);
    mm_s3_stats(s, &st);
    assert_int_equal(st.requests, 6);
    assert_int_equal(st.retries, 4);
    mm_s3_free(s);
    server_stop(&sv);
    mm_buf_release(&b);
}

static int count_fn(void *arg, const struct mm_s3_obj *o)
{
    (void)o;
    ++*(int *)arg;
    return 0;
}

static void answers__bad_listing_and_retention(void **state)
{
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\n\r\n<ListBucketResult><IsTruncated>true</I",
        "HTTP/1.1 200 OK\r\n\r\n"
        "<Retention><Mode>COMPLIANCE</Mode></Retention>       ",
        "HTTP/1.1 404 Not Found\r\n\r\n<Error><Code>"
        "NoSuchObjectLockConfiguration</Code></Error>                       ",
        NULL,
    };
    struct server sv;
    int n = 0;
    enum mm_s3_lock_mode m;
    int64_t until;
    (void)state;
    server_start(&sv, answers);
    mm_s3 *s = client(sv.port);
    assert_int_equal(mm_s3_list(s, "p/", 0, 0, count_fn, &n), MM_ECORRUPT);
    assert_int_equal(mm_s3_get_retention(s, "k", "v", &m, &until), MM_ECORRUPT);
    assert_int_equal(mm_s3_get_retention(s, "k", "v", &m, &until), 0);
    assert_int_equal(m, MM_S3_LOCK_NONE);
    mm_s3_free(s);
    server_stop(&sv);
    assert_non_null(strstr(sv.requests[0], "GET /mm-test?list-type=2&max-keys=1000&prefix=p%2F "));
}

static void multipart__error_in_200(void **state)
{
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\n\r\n<InitiateMultipartUploadResult>"
        "<UploadId>2~u+/=</UploadId></InitiateMultipartUploadResult>",
        "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\n\r\n",
        "HTTP/1.1 200 OK\r\nETag: \"e2\"\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\r\n<Error><Code>InternalError</Code></Error>",
        "HTTP/1.1 204 No Content\r\n\r\n",
        NULL,
    };
    struct server sv;
    size_t n = 5u * 1024 * 1024 + 1;
    char *p = calloc(1, n);
    (void)state;
    server_start(&sv, answers);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", sv.port);
    struct mm_s3_cfg cfg = { .endpoint = url,
                             .bucket = "mm-test",
                             .access_key = "AK",
                             .secret_key = "SK",
                             .retries = 1,
                             .parallel = 1,
                             .part_size = 5u * 1024 * 1024 };
    mm_s3 *s = NULL;
    assert_int_equal(mm_s3_new(&s, &cfg), 0);
    assert_int_equal(mm_s3_put(s, "big", p, n, NULL, NULL), MM_EIO);
    assert_non_null(strstr(mm_error_last(), "InternalError"));
    mm_s3_free(s);
    server_stop(&sv);
    assert_non_null(strstr(sv.requests[0], "POST /mm-test/big?uploads= HTTP"));
    assert_non_null(strstr(sv.requests[1], "PUT /mm-test/big?partNumber=1&uploadId=2~u%2B%2F%3D "));
    assert_non_null(strstr(sv.requests[1], "Content-MD5: "));
    assert_non_null(strstr(sv.requests[3], "POST /mm-test/big?uploadId=2~u%2B%2F%3D HTTP"));
    assert_non_null(strstr(sv.requests[4], "DELETE /mm-test/big?uploadId=2~u%2B%2F%3D HTTP"));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put__headers),
        cmocka_unit_test(delete__version_and_bypass),
        cmocka_unit_test(errors__mapping),
        cmocka_unit_test(retries__transient_answers),
        cmocka_unit_test(answers__bad_listing_and_retention),
        cmocka_unit_test(multipart__error_in_200),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
