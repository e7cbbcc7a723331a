/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 client (src/lib/s3) against a real S3 store: Ceph RGW from tests/s3/rgw.sh, or any
 * endpoint in MAMORI_S3_ENDPOINT/ACCESS_KEY/SECRET_KEY (MAMORI_S3_REGION optional). Each run
 * makes two fresh buckets (mm-s3c-<random>, one with Object Lock) and checks objects
 * (put/get/range/head/delete by marker and by version, version IDs beginning with '-'),
 * listings with continuation, multipart uploads, the lock configuration, and retention
 * (COMPLIANCE objects cannot be deleted, not even with the bypass header; shortening refused).
 * Speaks TAP; skips everything when no endpoint is set.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "s3/s3.h"

static int n_test, n_fail;

static void ok(int cond, const char *what)
{
    n_test++;
    if (!cond)
        n_fail++;
    printf("%sok %d - %s\n", cond ? "" : "not ", n_test, what);
    if (!cond)
        printf("# last error: %s\n", mm_error_last());
    fflush(stdout);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* A client for @bucket with @part_size (0: default). */
static mm_s3 *client_at(const char *endpoint, const char *bucket, size_t part_size,
                        const char *secret)
{
    struct mm_s3_cfg cfg = { .endpoint = endpoint,
                             .bucket = bucket,
                             .region = env("MAMORI_S3_REGION"),
                             .access_key = env("MAMORI_S3_ACCESS_KEY"),
                             .secret_key = secret ? secret : env("MAMORI_S3_SECRET_KEY"),
                             .timeout_s = 60,
                             .retries = 3,
                             .part_size = part_size,
                             .parallel = 3 };
    mm_s3 *s = NULL;
    if (mm_s3_new(&s, &cfg) < 0)
        return NULL;
    return s;
}

static mm_s3 *client(const char *bucket, size_t part_size, const char *secret)
{
    return client_at(env("MAMORI_S3_ENDPOINT"), bucket, part_size, secret);
}

struct collect {
    int n, markers, latest;
    char keys[64][128];
    char versions[64][256];
    int marker[64];
};

static int collect_fn(void *arg, const struct mm_s3_obj *o)
{
    struct collect *c = arg;
    if (c->n < 64) {
        snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", o->key);
        snprintf(c->versions[c->n], sizeof(c->versions[0]), "%s", o->version);
        c->marker[c->n] = o->delete_marker;
    }
    c->n++;
    c->markers += o->delete_marker;
    c->latest += o->latest;
    return 0;
}

static void test_objects(mm_s3 *s)
{
    static const char key[] = "dir/a b+c=d&e%f~g.h_i-j,k;l:m@n(o)'p!q*r$s\xe6\x97\xa5";
    char v1[256], v2[256];
    mm_buf b;
    struct mm_s3_obj info;
    mm_buf_init(&b, 1 << 20);
    ok(mm_s3_put(s, key, "hello, world", 12, NULL, v1) == 0, "put a key with reserved characters");
    ok(mm_s3_get(s, key, NULL, 0, 0, &b, &info) == 0 && b.len == 12 &&
               memcmp(b.ptr, "hello, world", 12) == 0 && info.size == 12,
       "get it whole");
    mm_buf_clear(&b);
    ok(mm_s3_get(s, key, NULL, 7, 5, &b, &info) == 0 && b.len == 5 &&
               memcmp(b.ptr, "world", 5) == 0 && info.size == 12,
       "range get");
    mm_buf_clear(&b);
    ok(mm_s3_get(s, key, NULL, 10, 5, &b, NULL) == MM_ECORRUPT && b.len == 0,
       "a short range is ECORRUPT");
    ok(mm_s3_get(s, key, NULL, 7, 0, &b, &info) == 0 && b.len == 5 &&
               memcmp(b.ptr, "world", 5) == 0 && info.size == 12,
       "get from an offset to the end");
    mm_buf_clear(&b);
    ok(mm_s3_head(s, key, NULL, &info) == 0 && info.size == 12 && info.mtime > 1700000000, "head");
    ok(mm_s3_head(s, "no/such/key", NULL, &info) == MM_ENOTFOUND, "head of a missing key");
    ok(mm_s3_get(s, "no/such/key", NULL, 0, 0, &b, NULL) == MM_ENOTFOUND, "get of a missing key");
    ok(mm_s3_put(s, key, "second", 6, NULL, v2) == 0 && strcmp(v1, v2) != 0 && v1[0] && v2[0],
       "a second version");
    mm_buf_clear(&b);
    ok(mm_s3_get(s, key, v1, 0, 0, &b, NULL) == 0 && b.len == 12, "get the first version");
    ok(mm_s3_delete(s, key, NULL, 0) == 0, "delete (marker)");
    ok(mm_s3_get(s, key, NULL, 0, 0, &b, NULL) == MM_ENOTFOUND, "get after the marker: ENOTFOUND");
    mm_buf_clear(&b);
    ok(mm_s3_get(s, key, v2, 0, 0, &b, NULL) == 0 && b.len == 6, "get by version after the marker");
    ok(mm_s3_delete(s, key, v1, 0) == 0, "delete by version");
    ok(mm_s3_get(s, key, v1, 0, 0, &b, NULL) == MM_ENOTFOUND, "the deleted version is gone");
    ok(mm_s3_delete(s, "no/such/key", NULL, 0) == 0, "delete of a missing key is 0");
    mm_buf_release(&b);
}

/* Put small objects until one gets a version ID beginning with '-', then use it. */
static void test_dash_version(mm_s3 *s)
{
    char v[256] = "";
    int i;
    for (i = 0; i < 400 && v[0] != '-'; i++) {
        if (mm_s3_put(s, "dash/k", "x", 1, NULL, v) < 0)
            break;
    }
    if (v[0] != '-') {
        printf("ok %d - # SKIP no version ID beginning with '-' in %d puts\n", ++n_test, i);
        return;
    }
    mm_buf b;
    struct mm_s3_obj info;
    mm_buf_init(&b, 1024);
    ok(mm_s3_get(s, "dash/k", v, 0, 0, &b, NULL) == 0 && b.len == 1, "get a '-' version");
    ok(mm_s3_head(s, "dash/k", v, &info) == 0 && strcmp(info.version, v) == 0,
       "head a '-' version");
    ok(mm_s3_delete(s, "dash/k", v, 0) == 0 && mm_s3_head(s, "dash/k", v, NULL) == MM_ENOTFOUND,
       "delete a '-' version");
    mm_buf_release(&b);
}

static void test_lists(mm_s3 *s)
{
    static const char *const keys[] = { "list/a",   "list/b=1", "list/c+2", "list/d/e",
                                        "list/f g", "list/h~",  "list/z" };
    struct collect *c = calloc(1, sizeof(*c));
    int rc = 0;
    for (int i = 0; i < 7 && rc == 0; i++) {
        rc = mm_s3_put(s, keys[i], "1", 1, NULL, NULL);
        if (rc == 0)
            rc = mm_s3_put(s, keys[i], "22", 2, NULL, NULL);
    }
    ok(rc == 0, "put 7 keys twice");
    ok(mm_s3_list(s, "list/", 0, 2, collect_fn, c) == 0 && c->n == 7 &&
               strcmp(c->keys[0], "list/a") == 0 && strcmp(c->keys[6], "list/z") == 0,
       "list with page 2 follows continuation tokens");
    memset(c, 0, sizeof(*c));
    ok(mm_s3_list(s, "list/", 1, 2, collect_fn, c) == 0 && c->n == 6,
       "list one level (common prefix skipped)");
    memset(c, 0, sizeof(*c));
    ok(mm_s3_delete(s, "list/z", NULL, 0) == 0, "a delete marker on list/z");
    ok(mm_s3_list_versions(s, "list/", 2, collect_fn, c) == 0 && c->n == 15 && c->markers == 1 &&
               c->latest == 7,
       "list versions with page 2 (key and version markers)");
    free(c);
}

static void test_multipart(mm_s3 *s)
{
    size_t n = 13u * 1024 * 1024 + 12345;
    unsigned char *p = malloc(n);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    char v[256];
    mm_buf b;
    struct mm_s3_obj info;
    struct mm_s3_put_opts o = { MM_S3_LOCK_GOVERNANCE, (int64_t)time(NULL) + 3600 };
    mm_buf_init(&b, 32u * 1024 * 1024);
    ok(mm_s3_put(s, "mp/big", p, n, &o, v) == 0 && v[0], "multipart put (5 MiB parts, 13 MiB)");
    ok(mm_s3_get(s, "mp/big", v, 0, 0, &b, &info) == 0 && b.len == n && memcmp(b.ptr, p, n) == 0 &&
               info.lock == MM_S3_LOCK_GOVERNANCE && info.retain_until == o.retain_until,
       "multipart object byte-exact, with its retention");
    mm_buf_clear(&b);
    ok(mm_s3_get(s, "mp/big", v, 5u * 1024 * 1024 - 10, 20, &b, NULL) == 0 && b.len == 20 &&
               memcmp(b.ptr, p + 5u * 1024 * 1024 - 10, 20) == 0,
       "range across a part boundary");
    ok(mm_s3_delete(s, "mp/big", v, 0) == MM_EREFUSED, "governance: delete by version refused");
    ok(mm_s3_delete(s, "mp/big", v, 1) == 0, "governance: delete with bypass");
    mm_buf_release(&b);
    free(p);
}

static void test_lock(mm_s3 *lock, mm_s3 *plain)
{
    int en = -1;
    enum mm_s3_lock_mode m;
    unsigned days;
    ok(mm_s3_lock_config(lock, &en, &m, &days) == 0 && en == 1, "lock config: enabled");
    ok(mm_s3_lock_config(plain, &en, &m, &days) == 0 && en == 0, "plain bucket: no lock");
    ok(mm_s3_versioning(lock, &en) == 0 && en == 1, "lock bucket is versioned");
    ok(mm_s3_versioning(plain, &en) == 0 && en == 0, "plain bucket is not versioned");

    char v[256];
    int64_t until = (int64_t)time(NULL) + 120, got = 0;
    struct mm_s3_put_opts o = { MM_S3_LOCK_COMPLIANCE, until };
    struct mm_s3_obj info;
    ok(mm_s3_put(lock, "locked/k", "secret-free", 11, &o, v) == 0 && v[0], "put with COMPLIANCE");
    ok(mm_s3_head(lock, "locked/k", v, &info) == 0 && info.lock == MM_S3_LOCK_COMPLIANCE &&
               info.retain_until == until,
       "head shows the retention");
    ok(mm_s3_delete(lock, "locked/k", v, 0) == MM_EREFUSED, "delete by version refused");
    ok(mm_s3_delete(lock, "locked/k", v, 1) == MM_EREFUSED, "also with the bypass header");
    ok(mm_s3_put_retention(lock, "locked/k", v, MM_S3_LOCK_COMPLIANCE, until - 60, 0) ==
               MM_EREFUSED,
       "shortening COMPLIANCE retention refused");
    ok(mm_s3_put_retention(lock, "locked/k", v, MM_S3_LOCK_COMPLIANCE, until + 60, 0) == 0,
       "extending it allowed");
    ok(mm_s3_get_retention(lock, "locked/k", v, &m, &got) == 0 && m == MM_S3_LOCK_COMPLIANCE &&
               got == until + 60,
       "get retention round trip");
    ok(mm_s3_put(lock, "plain/k", "x", 1, NULL, v) == 0 &&
               mm_s3_get_retention(lock, "plain/k", v, &m, &got) == 0 && m == MM_S3_LOCK_NONE,
       "an object without retention reads NONE");
}

struct worker {
    mm_s3 *s;
    int id, failed;
    pthread_t th;
};

/* Put, read back and delete 10 objects of its own. */
static void *worker_run(void *arg)
{
    struct worker *w = arg;
    mm_buf b;
    mm_buf_init(&b, 4096);
    for (int i = 0; i < 10; i++) {
        char key[64], data[64];
        snprintf(key, sizeof(key), "threads/%d/%d", w->id, i);
        int n = snprintf(data, sizeof(data), "object %d of thread %d", i, w->id);
        mm_buf_clear(&b);
        if (mm_s3_put(w->s, key, data, (size_t)n, NULL, NULL) < 0 ||
            mm_s3_get(w->s, key, NULL, 0, 0, &b, NULL) < 0 || b.len != (size_t)n ||
            memcmp(b.ptr, data, (size_t)n) != 0)
            w->failed++;
    }
    mm_buf_release(&b);
    return NULL;
}

/* Several threads on one client at once. */
static void test_threads(mm_s3 *s)
{
    struct worker w[6];
    struct collect *c = calloc(1, sizeof(*c));
    int failed = 0;
    for (int i = 0; i < 6; i++) {
        w[i] = (struct worker){ .s = s, .id = i };
        pthread_create(&w[i].th, NULL, worker_run, &w[i]);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(w[i].th, NULL);
        failed += w[i].failed;
    }
    ok(failed == 0, "6 threads put and get 60 objects on one client");
    ok(mm_s3_list(s, "threads/", 0, 0, collect_fn, c) == 0 && c->n == 60, "all 60 listed");
    free(c);
}

/* Arm the dropping proxy: cut @count body requests from the @nth on after @bytes bytes. */
static int arm(const char *ctl, int nth, int bytes, int count)
{
    FILE *f = fopen(ctl, "w");
    if (!f)
        return -1;
    fprintf(f, "%d %d %d\n", nth, bytes, count);
    return fclose(f);
}

/* Through the dropping proxy (tests/s3/s3proxy.py): cut uploads are sent again whole. */
static void test_dropping(const char *bucket)
{
    const char *url = env("MAMORI_S3_DROPPING"), *ctl = env("MAMORI_S3_DROPPING_CTL");
    if (!url || !ctl) {
        printf("ok %d - # SKIP no dropping proxy (MAMORI_S3_DROPPING)\n", ++n_test);
        return;
    }
    mm_s3 *s = client_at(url, bucket, 5u * 1024 * 1024, NULL);
    size_t n = 13u * 1024 * 1024;
    unsigned char *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 2654435761u >> 13);
    struct mm_s3_stats st;
    mm_buf b;
    char v[256];
    mm_buf_init(&b, 16u * 1024 * 1024);
    ok(s && arm(ctl, 1, 1000, 1) == 0 && mm_s3_put(s, "drop/small", p, 100000, NULL, v) == 0 &&
               mm_s3_get(s, "drop/small", v, 0, 0, &b, NULL) == 0 && b.len == 100000 &&
               memcmp(b.ptr, p, 100000) == 0,
       "a put cut mid-body is sent again whole");
    mm_buf_clear(&b);
    ok(s && arm(ctl, 1, 300000, 2) == 0 && mm_s3_put(s, "drop/big", p, n, NULL, v) == 0 &&
               mm_s3_get(s, "drop/big", v, 0, 0, &b, NULL) == 0 && b.len == n &&
               memcmp(b.ptr, p, n) == 0,
       "a multipart upload with two parts cut completes byte-exact");
    mm_s3_stats(s, &st);
    ok(st.retries >= 3, "the cuts were retried");
    remove(ctl);
    mm_buf_release(&b);
    mm_s3_free(s);
    free(p);
}

static void test_errors(const char *bucket)
{
    mm_s3 *bad = client(bucket, 0, "0000000000000000000000000000000000000000");
    ok(bad && mm_s3_put(bad, "k", "x", 1, NULL, NULL) == MM_EAUTH, "a wrong secret is EAUTH");
    mm_s3_free(bad);
    mm_s3 *none = client("mm-s3c-no-such-bucket", 0, NULL);
    struct collect c = { 0 };
    ok(none && mm_s3_list(none, NULL, 0, 0, collect_fn, &c) == MM_ENOTFOUND,
       "list of a missing bucket is ENOTFOUND");
    mm_s3_free(none);
}

int main(void)
{
    if (!env("MAMORI_S3_ENDPOINT") || !env("MAMORI_S3_ACCESS_KEY") ||
        !env("MAMORI_S3_SECRET_KEY")) {
        printf("1..0 # SKIP MAMORI_S3_ENDPOINT/ACCESS_KEY/SECRET_KEY not set\n");
        return 0;
    }
    char lb[64], pb[64];
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    snprintf(lb, sizeof(lb), "mm-s3c-lock-%08x", (unsigned)rand());
    snprintf(pb, sizeof(pb), "mm-s3c-plain-%08x", (unsigned)rand());
    mm_s3 *lock = client(lb, 5u * 1024 * 1024, NULL), *plain = client(pb, 0, NULL);
    ok(lock && plain, "clients");
    if (!lock || !plain)
        return 1;
    ok(mm_s3_create_bucket(lock, 1) == 0, "create a bucket with object lock");
    ok(mm_s3_create_bucket(plain, 0) == 0, "create a bucket without");
    test_objects(lock);
    test_dash_version(lock);
    test_lists(lock);
    test_multipart(lock);
    test_lock(lock, plain);
    test_errors(pb);
    test_threads(plain);
    test_dropping(lb);
    struct mm_s3_stats st;
    mm_s3_stats(lock, &st);
    ok(st.requests > 20 && st.bytes_up > 13u * 1024 * 1024, "stats count requests and bytes");
    mm_s3_free(lock);
    mm_s3_free(plain);
    printf("1..%d\n", n_test);
    return n_fail ? 1 : 0;
}
