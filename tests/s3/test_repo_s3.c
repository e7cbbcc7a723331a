/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 repository backend (repo_s3*.c) against a real Ceph RGW (tests/s3/with-rgw.sh exports
 * MAMORI_S3_ENDPOINT, the keys and MAMORI_S3_LYING): the ops round trip (multipart, ranges,
 * sizes, listings, REPLACE files) before and after an attacker with the same credentials
 * overwrote packs and added delete markers; the lock proof on a lock bucket, a plain bucket and
 * through the lying proxy (and no lock request at all after a failed proof); COMPLIANCE
 * retention that the bypass header can neither shorten nor lift; retention extended and never
 * shortened; remove refused while retained; many parallel uploads; refused credentials.
 * Each test makes its own bucket mm-<test>-<random>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "repo/repo_backend.h"
#include "repo/repo_s3.h"
#include "s3/s3.h"

static void names_free(struct mm_repo__names *l)
{
    for (size_t i = 0; i < l->n; i++)
        mm_free(l->v[i]);
    mm_free(l->v);
}

struct fix {
    char bucket[64];
    char url[512];
    mm_s3 *s3; /* the attacker: the same credentials, straight on the bucket */
};

static const char hexa[] =
        "data/ab/ab00000000000000000000000000000000000000000000000000000000000000";
static const char hexb[] =
        "data/ab/ab11111111111111111111111111111111111111111111111111111111111111";

/* A client of @bucket on @endpoint (NULL: MAMORI_S3_ENDPOINT). */
static mm_s3 *client(const char *endpoint, const char *bucket)
{
    struct mm_s3_cfg cfg;
    mm_s3 *s = NULL;

    memset(&cfg, 0, sizeof(cfg));
    cfg.endpoint = endpoint ? endpoint : getenv("MAMORI_S3_ENDPOINT");
    cfg.bucket = bucket;
    cfg.region = getenv("MAMORI_S3_REGION");
    cfg.access_key = getenv("MAMORI_S3_ACCESS_KEY");
    cfg.secret_key = getenv("MAMORI_S3_SECRET_KEY");
    assert_non_null(cfg.endpoint);
    assert_int_equal(mm_s3_new(&s, &cfg), 0);
    return s;
}

/* A fresh bucket for test @name (with Object Lock when @lock), its URL through @endpoint. */
static struct fix *fix_new(const char *name, int lock, const char *endpoint)
{
    struct fix *f = calloc(1, sizeof(*f));
    unsigned char r[4];
    const char *ep = endpoint ? endpoint : getenv("MAMORI_S3_ENDPOINT");

    assert_non_null(f);
    mm_crypto_random(r, sizeof(r));
    snprintf(f->bucket, sizeof(f->bucket), "mm-%s-%02x%02x%02x%02x", name, r[0], r[1], r[2], r[3]);
    f->s3 = client(endpoint, f->bucket); /* through the lying proxy too: it makes it "lock" */
    assert_int_equal(mm_s3_create_bucket(f->s3, lock), 0);
    assert_non_null(strstr(ep, "://"));
    snprintf(f->url, sizeof(f->url), "s3://%s/%s/p", strstr(ep, "://") + 3, f->bucket);
    return f;
}

static void fix_free(struct fix *f)
{
    mm_s3_free(f->s3);
    free(f);
}

static struct mm_repo_be *be_open(const char *url, int create)
{
    struct mm_repo_be *b = NULL;
    int err = mm_repo_be_open(&b, url, create);

    if (err)
        fail_msg("open %s: %s", url, mm_error_last());
    assert_true(mm_repo_be_is_s3_backend(b));
    return b;
}

/* The version ID of the first version of @key into @out; its count of versions. */
struct first_ctx {
    const char *key;
    char version[256];
    int n;
};
static int first_one(void *arg, const struct mm_s3_obj *o)
{
    struct first_ctx *x = arg;

    if (strcmp(o->key, x->key) == 0 && !o->delete_marker)
        snprintf(x->version, sizeof(x->version), "%s", o->version);
    x->n += strcmp(o->key, x->key) == 0;
    return 0;
}
static int first_version(mm_s3 *s, const char *key, char out[256])
{
    struct first_ctx x = { key, "", 0 };

    assert_int_equal(mm_s3_list_versions(s, key, 0, first_one, &x), 0);
    snprintf(out, 256, "%s", x.version);
    return x.n;
}

/* Write two ONCE packs (one of 9 MiB: multipart) and a REPLACE head twice. */
static void ops_write(const char *url, const char *big, size_t bign)
{
    struct mm_repo_be *b = be_open(url, 1);

    assert_int_equal(b->ops->write(b, hexa, "pack-a", 6, MM_REPO_BE_ONCE), 0);
    assert_int_equal(b->ops->write(b, hexb, big, bign, MM_REPO_BE_ONCE), 0);
    assert_int_equal(b->ops->write(b, hexa, "other", 5, MM_REPO_BE_ONCE), 0); /* present */
    assert_int_equal(b->ops->write(b, "head", "head-1", 6, MM_REPO_BE_REPLACE), 0);
    assert_int_equal(b->ops->write(b, "head", "head-2", 6, MM_REPO_BE_REPLACE), 0);
    assert_int_equal(b->ops->flush(b), 0);
    b->ops->close(b);
}

/* Read back through a fresh handle; @after: the attacker ran. */
static void ops_read(const char *url, const char *big, size_t bign, int after)
{
    struct mm_repo_be *b = be_open(url, 0);
    struct mm_repo__names l = { NULL, 0, 0 };
    uint64_t size = 0;
    char part[16];
    mm_buf buf;

    mm_buf_init(&buf, 64u << 20);
    assert_int_equal(b->ops->read(b, hexa, &buf), 0);
    assert_int_equal(buf.len, 6);
    assert_memory_equal(buf.ptr, "pack-a", 6);
    mm_buf_clear(&buf);
    assert_int_equal(b->ops->read(b, hexb, &buf), 0);
    assert_int_equal(buf.len, bign);
    assert_memory_equal(buf.ptr, big, bign);
    assert_int_equal(b->ops->read_at(b, hexb, bign - 16, part, 16), 0);
    assert_memory_equal(part, big + bign - 16, 16);
    assert_int_equal(b->ops->read_at(b, hexb, bign - 8, part, 16), MM_ECORRUPT);
    assert_int_equal(b->ops->stat(b, hexb, &size), 0);
    assert_int_equal(size, bign);
    mm_buf_clear(&buf);
    if (!after) {
        assert_int_equal(b->ops->read(b, "head", &buf), 0);
        assert_memory_equal(buf.ptr, "head-2", 6);
    } else {
        assert_int_equal(b->ops->read(b, "head", &buf), MM_ENOTFOUND); /* newest: a marker */
    }
    assert_int_equal(b->ops->read(b, "data/ab/missing", &buf), MM_ENOTFOUND);
    assert_int_equal(b->ops->stat(b, "generations/missing", &size), MM_ENOTFOUND);
    assert_int_equal(b->ops->list(b, "data/ab", &l, "x/"), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(strncmp(l.v[0], "x/ab", 4), 0);
    assert_int_equal(b->ops->list(b, "data", &l, ""), 0); /* folders are not names */
    assert_int_equal(b->ops->list(b, "index", &l, ""), 0);
    assert_int_equal(l.n, 2);
    names_free(&l);
    mm_buf_release(&buf);
    b->ops->close(b);
}

static void ops__round_trip_then_attacker_changes_nothing(void **state)
{
    struct mm_s3_put_opts none = { MM_S3_LOCK_NONE, 0 };
    struct fix *f = fix_new("ops", 1, NULL);
    const char *bkey = "p/data/ab/ab11111111111111111111111111111111111111111111111111111111111111";
    size_t bign = 9u << 20, i;
    char *big = malloc(bign), v[256];
    enum mm_s3_lock_mode mode;
    int64_t until = 0;

    (void)state;
    assert_non_null(big);
    for (i = 0; i < bign; i++)
        big[i] = (char)(i * 7 + (i >> 13));
    ops_write(f->url, big, bign);
    ops_read(f->url, big, bign, 0);
    /* the multipart upload is retained like the others */
    first_version(f->s3, bkey, v);
    assert_int_equal(mm_s3_get_retention(f->s3, bkey, v, &mode, &until), 0);
    assert_int_equal(mode, MM_S3_LOCK_COMPLIANCE);
    assert_true(until > (int64_t)time(NULL) + 29 * 86400);
    /* the attacker: garbage over both packs, a delete marker over one and over the head */
    assert_int_equal(
            mm_s3_put(f->s3,
                      "p/data/ab/ab00000000000000000000000000000000000000000000000000000000000000",
                      "garbage", 7, &none, NULL),
            0);
    assert_int_equal(
            mm_s3_delete(
                    f->s3,
                    "p/data/ab/ab00000000000000000000000000000000000000000000000000000000000000",
                    NULL, 0),
            0);
    assert_int_equal(
            mm_s3_put(f->s3,
                      "p/data/ab/ab11111111111111111111111111111111111111111111111111111111111111",
                      "garbage", 7, &none, NULL),
            0);
    assert_int_equal(mm_s3_delete(f->s3, "p/head", NULL, 0), 0);
    ops_read(f->url, big, bign, 1);
    free(big);
    fix_free(f);
}

static void proof__lock_bucket_immutable(void **state)
{
    struct fix *f = fix_new("proof", 1, NULL);
    struct mm_repo_be *b = be_open(f->url, 0);

    (void)state;
    assert_int_equal(b->info.immutable, 0); /* nothing proven before it is asked for */
    assert_int_equal(mm_repo_be_s3_proof(b), 0);
    assert_int_equal(b->info.immutable, 1);
    assert_string_equal(b->info.lock_mode, "COMPLIANCE");
    assert_int_equal(b->info.retain_days, 30);
    assert_string_equal(b->info.why_not, "");
    assert_string_equal(b->info.scheme, "s3");
    assert_int_equal(b->info.local, 0);
    assert_null(mm_repo_be_local_path(b));
    assert_null(strstr(b->where, getenv("MAMORI_S3_SECRET_KEY")));
    b->ops->close(b);
    fix_free(f);
}

/* Write one ONCE file through @url, flush, extend to now + 2 days; the counts into @c. */
static void write_and_extend(const char *url, struct mm_repo_be_s3_counts *c, int *immutable)
{
    struct mm_repo_be *b = be_open(url, 0);

    assert_int_equal(b->ops->write(b, hexa, "pack-a", 6, MM_REPO_BE_ONCE), 0);
    assert_int_equal(b->ops->flush(b), 0);
    assert_int_equal(mm_repo_be_s3_extend(b, (int64_t)time(NULL) + 2 * 86400), 0);
    assert_int_equal(mm_repo_be_s3_counts(b, c), 0);
    *immutable = b->info.immutable;
    b->ops->close(b);
}

static void proof__plain_bucket_not_immutable_no_lock_sent(void **state)
{
    struct fix *f = fix_new("plain", 0, NULL);
    struct mm_repo_be *b = be_open(f->url, 0);
    struct mm_repo_be_s3_counts c;
    struct mm_s3_obj info;
    char v[256];
    int imm;

    (void)state;
    assert_int_equal(mm_repo_be_s3_proof(b), 0);
    assert_int_equal(b->info.immutable, 0);
    assert_string_equal(b->info.why_not, "the bucket has no Object Lock");
    b->ops->close(b);
    write_and_extend(f->url, &c, &imm);
    assert_int_equal(imm, 0);
    assert_int_equal(c.lock_requests, 0);
    first_version(f->s3,
                  "p/data/ab/ab00000000000000000000000000000000000000000000000000000000000000", v);
    assert_int_equal(
            mm_s3_head(f->s3,
                       "p/data/ab/ab00000000000000000000000000000000000000000000000000000000000000",
                       v[0] ? v : NULL, &info),
            0);
    assert_int_equal(info.lock, MM_S3_LOCK_NONE);
    assert_int_equal(info.retain_until, 0);
    fix_free(f);
}

static void proof__lying_proxy_not_immutable_no_lock_sent(void **state)
{
    const char *lying = getenv("MAMORI_S3_LYING");
    struct mm_repo_be_s3_counts c;
    struct fix *f;
    struct mm_repo_be *b;
    int imm;

    (void)state;
    if (!lying)
        skip();
    f = fix_new("lying", 1, lying);
    b = be_open(f->url, 0);
    assert_int_equal(mm_repo_be_s3_proof(b), 0);
    assert_int_equal(b->info.immutable, 0);
    assert_string_equal(b->info.why_not, "the store accepted a retention it did not keep: a "
                                         "locked test object could be deleted");
    assert_string_equal(b->info.lock_mode, "");
    b->ops->close(b);
    write_and_extend(f->url, &c, &imm);
    assert_int_equal(imm, 0);
    assert_int_equal(c.lock_requests, 0);
    fix_free(f);
}

static void retention__compliance_bypass_cannot_shorten_or_delete(void **state)
{
    struct fix *f = fix_new("ret", 1, NULL);
    const char *key = "p/data/ab/ab00000000000000000000000000000000000000000000000000000000000000";
    struct mm_repo_be_s3_counts c;
    enum mm_s3_lock_mode mode;
    int64_t until = 0, now = (int64_t)time(NULL);
    char v[256];
    int imm;

    (void)state;
    write_and_extend(f->url, &c, &imm);
    assert_int_equal(imm, 1);
    assert_true(c.lock_requests >= 1);
    assert_int_equal(c.extended, 0); /* 30 days already cover 2 */
    first_version(f->s3, key, v);
    assert_int_equal(mm_s3_get_retention(f->s3, key, v, &mode, &until), 0);
    assert_int_equal(mode, MM_S3_LOCK_COMPLIANCE);
    assert_true(until >= now + 30 * 86400 - 60 && until <= now + 30 * 86400 + 60);
    assert_int_equal(mm_s3_put_retention(f->s3, key, v, MM_S3_LOCK_COMPLIANCE, now + 60, 0),
                     MM_EREFUSED);
    assert_int_equal(mm_s3_put_retention(f->s3, key, v, MM_S3_LOCK_GOVERNANCE, now + 60, 1),
                     MM_EREFUSED);
    assert_int_equal(mm_s3_delete(f->s3, key, v, 0), MM_EREFUSED);
    assert_int_equal(mm_s3_delete(f->s3, key, v, 1), MM_EREFUSED);
    assert_int_equal(mm_s3_get_retention(f->s3, key, v, &mode, &until), 0);
    assert_int_equal(mode, MM_S3_LOCK_COMPLIANCE);
    assert_true(until >= now + 30 * 86400 - 60);
    fix_free(f);
}

static void extend__lengthens_never_shortens(void **state)
{
    struct fix *f = fix_new("ext", 1, NULL);
    const char *key = "p/data/ab/ab00000000000000000000000000000000000000000000000000000000000000";
    struct mm_repo_be_s3_counts c;
    struct mm_repo_be *b;
    enum mm_s3_lock_mode mode;
    int64_t until = 0, now = (int64_t)time(NULL);
    char v[256];
    int imm;

    (void)state;
    write_and_extend(f->url, &c, &imm);
    b = be_open(f->url, 0);
    assert_int_equal(mm_repo_be_s3_extend(b, now + 45 * 86400), 0);
    assert_int_equal(mm_repo_be_s3_counts(b, &c), 0);
    assert_int_equal(c.checked, 1);
    assert_int_equal(c.extended, 1);
    assert_int_equal(c.failed, 0);
    /* asked again, shorter: nothing to do, and the handle knows without asking the store */
    assert_int_equal(mm_repo_be_s3_extend(b, now + 40 * 86400), 0);
    assert_int_equal(mm_repo_be_s3_counts(b, &c), 0);
    assert_int_equal(c.extended, 0);
    b->ops->close(b);
    first_version(f->s3, key, v);
    assert_int_equal(mm_s3_get_retention(f->s3, key, v, &mode, &until), 0);
    assert_int_equal(mode, MM_S3_LOCK_COMPLIANCE);
    /* 45 days + the slack of retain_days / 4 = 7 days */
    assert_true(until >= now + 52 * 86400 - 60 && until <= now + 52 * 86400 + 60);
    fix_free(f);
}

static void remove__retained_refused_replace_removed(void **state)
{
    struct fix *f = fix_new("rm", 1, NULL);
    struct mm_repo_be *b = be_open(f->url, 1);
    mm_buf buf;
    char v[256];

    (void)state;
    mm_buf_init(&buf, 1024);
    assert_int_equal(b->ops->write(b, hexa, "pack-a", 6, MM_REPO_BE_ONCE), 0);
    assert_int_equal(
            b->ops->write(b,
                          "locks/"
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                          "l1", 2, MM_REPO_BE_REPLACE),
            0);
    assert_int_equal(
            b->ops->write(b,
                          "locks/"
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                          "l2", 2, MM_REPO_BE_REPLACE),
            0);
    assert_int_equal(b->ops->flush(b), 0);
    assert_int_equal(b->ops->remove(b, hexa), MM_EREFUSED);
    assert_non_null(strstr(mm_error_last(), "is retained until 20"));
    assert_int_equal(b->ops->read(b, hexa, &buf), 0);
    assert_int_equal(
            b->ops->remove(b, "locks/"
                              "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            0);
    assert_int_equal(
            b->ops->read(b,
                         "locks/"
                         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                         &buf),
            MM_ENOTFOUND);
    assert_int_equal(
            first_version(f->s3,
                          "p/locks/"
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                          v),
            0); /* every version */
    assert_int_equal(b->ops->remove(b, "data/ab/missing"), 0);
    mm_buf_release(&buf);
    b->ops->close(b);
    fix_free(f);
}

static void queue__many_parallel_uploads(void **state)
{
    struct fix *f = fix_new("queue", 1, NULL);
    struct mm_repo_be *b = be_open(f->url, 1);
    struct mm_repo__names l = { NULL, 0, 0 };
    struct mm_repo_be_s3_counts c;
    unsigned char id[MM_CRYPTO_ID_SIZE];
    char hex[MM_CRYPTO_HEX_SIZE], rel[128], data[3000];
    mm_buf buf;
    size_t i;

    (void)state;
    for (i = 0; i < 120; i++) {
        memset(id, 0, sizeof(id));
        id[0] = 0xcd;
        id[31] = (unsigned char)i;
        mm_crypto_hex(id, hex);
        snprintf(rel, sizeof(rel), "index/%s", hex);
        memset(data, (int)i, sizeof(data));
        assert_int_equal(b->ops->write(b, rel, data, 100 + i * 20, MM_REPO_BE_ONCE), 0);
    }
    assert_int_equal(b->ops->flush(b), 0);
    b->ops->close(b);
    b = be_open(f->url, 0);
    assert_int_equal(b->ops->list(b, "index", &l, ""), 0);
    assert_int_equal(l.n, 120);
    mm_buf_init(&buf, 1u << 20);
    for (i = 0; i < l.n; i++) {
        snprintf(rel, sizeof(rel), "index/%s", l.v[i]);
        mm_buf_clear(&buf);
        assert_int_equal(b->ops->read(b, rel, &buf), 0);
        assert_int_equal(buf.len, 100 + (size_t)(unsigned char)buf.ptr[0] * 20);
    }
    names_free(&l);
    mm_buf_release(&buf);
    /* the workers extend them all (each retained 30 days: 40 asked) */
    assert_int_equal(mm_repo_be_s3_extend(b, (int64_t)time(NULL) + 40 * 86400), 0);
    assert_int_equal(mm_repo_be_s3_counts(b, &c), 0);
    assert_int_equal(c.checked, 120);
    assert_int_equal(c.extended, 120);
    assert_int_equal(c.failed, 0);
    b->ops->close(b);
    fix_free(f);
}

static void settings__governance_and_days(void **state)
{
    struct fix *f = fix_new("gov", 1, NULL);
    const char *key = "p/data/ab/ab00000000000000000000000000000000000000000000000000000000000000";
    struct mm_repo_be_s3_counts c;
    enum mm_s3_lock_mode mode;
    int64_t until = 0, now = (int64_t)time(NULL);
    char v[256];
    int imm;

    (void)state;
    setenv("MAMORI_S3_LOCK_MODE", "GOVERNANCE", 1);
    setenv("MAMORI_S3_RETAIN_DAYS", "3", 1);
    write_and_extend(f->url, &c, &imm);
    unsetenv("MAMORI_S3_LOCK_MODE");
    unsetenv("MAMORI_S3_RETAIN_DAYS");
    assert_int_equal(imm, 1);
    first_version(f->s3, key, v);
    assert_int_equal(mm_s3_get_retention(f->s3, key, v, &mode, &until), 0);
    assert_int_equal(mode, MM_S3_LOCK_GOVERNANCE);
    assert_true(until >= now + 3 * 86400 - 60 && until <= now + 3 * 86400 + 60);
    /* why GOVERNANCE is only offered with a warning: the bypass header lifts it */
    assert_int_equal(mm_s3_delete(f->s3, key, v, 0), MM_EREFUSED);
    assert_int_equal(mm_s3_delete(f->s3, key, v, 1), 0);
    fix_free(f);
}

static void open__refused_credentials(void **state)
{
    struct fix *f = fix_new("cred", 1, NULL);
    struct mm_repo_be *b = NULL;
    char *secret = strdup(getenv("MAMORI_S3_SECRET_KEY"));
    int err;

    (void)state;
    setenv("MAMORI_S3_SECRET_KEY", "not-the-secret-key-at-all", 1);
    err = mm_repo_be_open(&b, f->url, 0);
    assert_true(err == MM_EAUTH || err == MM_EREFUSED);
    assert_null(strstr(mm_error_last(), "not-the-secret"));
    setenv("MAMORI_S3_SECRET_KEY", secret, 1);
    free(secret);
    fix_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ops__round_trip_then_attacker_changes_nothing),
        cmocka_unit_test(proof__lock_bucket_immutable),
        cmocka_unit_test(proof__plain_bucket_not_immutable_no_lock_sent),
        cmocka_unit_test(proof__lying_proxy_not_immutable_no_lock_sent),
        cmocka_unit_test(retention__compliance_bypass_cannot_shorten_or_delete),
        cmocka_unit_test(extend__lengthens_never_shortens),
        cmocka_unit_test(remove__retained_refused_replace_removed),
        cmocka_unit_test(queue__many_parallel_uploads),
        cmocka_unit_test(settings__governance_and_days),
        cmocka_unit_test(open__refused_credentials),
    };

    if (!getenv("MAMORI_S3_ENDPOINT")) {
        printf("1..0 # SKIP no S3 store (run under tests/s3/with-rgw.sh)\n");
        return 0;
    }
    unsetenv("MAMORI_S3_RETAIN_DAYS");
    unsetenv("MAMORI_S3_LOCK_MODE");
    unsetenv("MAMORI_S3_CREDENTIALS");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
