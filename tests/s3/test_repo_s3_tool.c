/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helper of tests/s3/test_repo_s3.sh: what the shell cannot do through the CLI — act as an
 * attacker holding the repository's S3 credentials (mm_s3 straight on the bucket: overwrite,
 * delete markers, deletes by version, the bypass header, shortening a retention), and call the
 * S3 backend's own entry points (lock proof, retention extension, remove) to print what they
 * decided. The store is MAMORI_S3_ENDPOINT with MAMORI_S3_ACCESS_KEY/SECRET_KEY/REGION.
 * Prints one "key=value ..." line per command; exits 0 when the command could be carried out,
 * 1 on an error (message on stderr), 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "repo/repo_backend.h"
#include "repo/repo_int.h"
#include "repo/repo_s3.h"
#include "s3/s3.h"

static int die(const char *what, int err)
{
    fprintf(stderr, "test_repo_s3_tool: %s: %s (%d)\n", what, mm_error_last(), err);
    return 1;
}

/* A client of @bucket on MAMORI_S3_ENDPOINT. */
static mm_s3 *client(const char *bucket)
{
    struct mm_s3_cfg cfg;
    mm_s3 *s = NULL;

    memset(&cfg, 0, sizeof(cfg));
    cfg.endpoint = getenv("MAMORI_S3_ENDPOINT");
    cfg.bucket = bucket;
    cfg.region = getenv("MAMORI_S3_REGION");
    cfg.access_key = getenv("MAMORI_S3_ACCESS_KEY");
    cfg.secret_key = getenv("MAMORI_S3_SECRET_KEY");
    cfg.retries = 1;
    if (!cfg.endpoint || !cfg.access_key || !cfg.secret_key || mm_s3_new(&s, &cfg) < 0)
        return NULL;
    return s;
}

static int cmd_mkbucket(const char *bucket, const char *kind)
{
    mm_s3 *s = client(bucket);
    int err;

    if (!s)
        return die("client", -1);
    err = mm_s3_create_bucket(s, strcmp(kind, "lock") == 0);
    mm_s3_free(s);
    return err < 0 ? die("create bucket", err) : 0;
}

static int cmd_proof(const char *url)
{
    struct mm_repo_be *b = NULL;
    int err;

    if ((err = mm_repo_be_open(&b, url, 0)) < 0)
        return die("open", err);
    if ((err = mm_repo_be_s3_proof(b)) < 0) {
        b->ops->close(b);
        return die("proof", err);
    }
    printf("immutable=%d mode=%s days=%u why=%s\n", b->info.immutable,
           b->info.lock_mode[0] ? b->info.lock_mode : "-", (unsigned)b->info.retain_days,
           b->info.why_not[0] ? b->info.why_not : "-");
    b->ops->close(b);
    return 0;
}

/* Write ONCE file @rel (random bytes), flush, extend to now + @days; print the counts. */
static int cmd_write(const char *url, const char *rel, long days)
{
    struct mm_repo_be *b = NULL;
    struct mm_repo_be_s3_counts c;
    char data[4096];
    size_t i;
    int err;

    srand((unsigned)time(NULL));
    for (i = 0; i < sizeof(data); i++)
        data[i] = (char)rand();
    if ((err = mm_repo_be_open(&b, url, 0)) < 0)
        return die("open", err);
    if ((err = b->ops->write(b, rel, data, sizeof(data), MM_REPO_BE_ONCE)) == 0 &&
        (err = b->ops->flush(b)) == 0)
        err = mm_repo_be_s3_extend(b, (int64_t)time(NULL) + days * 86400);
    mm_repo_be_s3_counts(b, &c);
    printf("err=%d immutable=%d checked=%llu extended=%llu failed=%llu lock_requests=%llu\n", err,
           b->info.immutable, (unsigned long long)c.checked, (unsigned long long)c.extended,
           (unsigned long long)c.failed, (unsigned long long)c.lock_requests);
    b->ops->close(b);
    return err < 0 ? die("write", err) : 0;
}

static int cmd_extend(const char *url, long days)
{
    struct mm_repo_be *b = NULL;
    struct mm_repo_be_s3_counts c;
    int err;

    if ((err = mm_repo_be_open(&b, url, 0)) < 0)
        return die("open", err);
    err = mm_repo_be_s3_extend(b, (int64_t)time(NULL) + days * 86400);
    mm_repo_be_s3_counts(b, &c);
    printf("err=%d checked=%llu extended=%llu failed=%llu\n", err,
           (unsigned long long)c.checked, (unsigned long long)c.extended,
           (unsigned long long)c.failed);
    b->ops->close(b);
    return err < 0 ? die("extend", err) : 0;
}

static int cmd_remove(const char *url, const char *rel)
{
    struct mm_repo_be *b = NULL;
    int err;

    if ((err = mm_repo_be_open(&b, url, 0)) < 0)
        return die("open", err);
    err = b->ops->remove(b, rel);
    printf("remove=%s message=%s\n", err == 0 ? "ok" : mm_error_name(err),
           err == 0 ? "-" : mm_error_last());
    b->ops->close(b);
    return 0;
}

struct keys {
    char **key, **version;
    int *dm;
    size_t n, cap;
};

/* mm_s3_list_fn: collect every version. */
static int collect(void *arg, const struct mm_s3_obj *o)
{
    struct keys *k = arg;

    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 256;
        k->key = realloc(k->key, k->cap * sizeof(*k->key));
        k->version = realloc(k->version, k->cap * sizeof(*k->version));
        k->dm = realloc(k->dm, k->cap * sizeof(*k->dm));
        if (!k->key || !k->version || !k->dm)
            return MM_ENOMEM;
    }
    k->key[k->n] = strdup(o->key);
    k->version[k->n] = strdup(o->version);
    k->dm[k->n] = o->delete_marker;
    k->n++;
    return 0;
}

/* 1 when @key (under the prefix) is a ONCE file the attack aims at. */
static int target(const char *key, const char *prefix)
{
    const char *rel = key + strlen(prefix);

    return strncmp(rel, "data/", 5) == 0 || strncmp(rel, "index/", 6) == 0 ||
           strncmp(rel, "generations/", 12) == 0 || strcmp(rel, "config") == 0 ||
           strcmp(rel, "mamori-repo") == 0;
}

/*
 * The attacker: every version of every ONCE file under @prefix is deleted by version (with and
 * without the bypass header), then garbage is PUT over each, then half get a delete marker.
 */
static int cmd_attack(const char *bucket, const char *prefix)
{
    struct keys k = { NULL, NULL, NULL, 0, 0 };
    unsigned long refused = 0, deleted = 0, overwritten = 0, markers = 0, other = 0;
    struct mm_s3_put_opts none = { MM_S3_LOCK_NONE, 0 };
    mm_s3 *s = client(bucket);
    size_t i;
    int err;

    if (!s)
        return die("client", -1);
    if ((err = mm_s3_list_versions(s, prefix, 0, collect, &k)) < 0)
        return die("list", err);
    for (i = 0; i < k.n; i++) {
        if (k.dm[i] || !target(k.key[i], prefix))
            continue;
        err = mm_s3_delete(s, k.key[i], k.version[i], 0);
        if (err == MM_EREFUSED)
            err = mm_s3_delete(s, k.key[i], k.version[i], 1);
        refused += err == MM_EREFUSED;
        deleted += err == 0;
        other += err < 0 && err != MM_EREFUSED;
        if (mm_s3_put(s, k.key[i], "garbage", 7, &none, NULL) == 0)
            overwritten++;
        if ((i & 1) && mm_s3_delete(s, k.key[i], NULL, 0) == 0)
            markers++;
    }
    printf("refused=%lu deleted=%lu other=%lu overwritten=%lu markers=%lu\n", refused, deleted,
           other, overwritten, markers);
    mm_s3_free(s);
    return 0;
}

/* The first version of @key: retention as stored, and what the bypass header can do to it. */
static int cmd_retention(const char *bucket, const char *key)
{
    struct keys k = { NULL, NULL, NULL, 0, 0 };
    enum mm_s3_lock_mode mode = MM_S3_LOCK_NONE;
    int64_t until = 0, now = (int64_t)time(NULL);
    mm_s3 *s = client(bucket);
    const char *v = NULL;
    int err, shorten, shorten_bypass, del_bypass;
    size_t i;

    if (!s)
        return die("client", -1);
    if ((err = mm_s3_list_versions(s, key, 0, collect, &k)) < 0)
        return die("list", err);
    for (i = 0; i < k.n; i++)
        if (!k.dm[i] && strcmp(k.key[i], key) == 0)
            v = k.version[i]; /* newest first: the last is the first written */
    if (!v)
        return die("no version", MM_ENOTFOUND);
    if ((err = mm_s3_get_retention(s, key, v, &mode, &until)) < 0)
        return die("get retention", err);
    shorten = mm_s3_put_retention(s, key, v, mode ? mode : MM_S3_LOCK_GOVERNANCE, now + 60, 0);
    shorten_bypass = mm_s3_put_retention(s, key, v, MM_S3_LOCK_GOVERNANCE, now + 60, 1);
    del_bypass = mm_s3_delete(s, key, v, 1);
    mm_s3_get_retention(s, key, v, &mode, &until);
    printf("mode=%s days_left=%lld shorten=%s shorten_bypass=%s delete_bypass=%s\n",
           mode == MM_S3_LOCK_COMPLIANCE   ? "COMPLIANCE"
           : mode == MM_S3_LOCK_GOVERNANCE ? "GOVERNANCE"
                                           : "NONE",
           (long long)((until - now) / 86400), shorten == 0 ? "ok" : mm_error_name(shorten),
           shorten_bypass == 0 ? "ok" : mm_error_name(shorten_bypass),
           del_bypass == 0 ? "ok" : mm_error_name(del_bypass));
    mm_s3_free(s);
    return 0;
}

/* Print each key under @prefix that has a version which is not a delete marker, once. */
static int cmd_keys(const char *bucket, const char *prefix)
{
    struct keys k = { NULL, NULL, NULL, 0, 0 };
    mm_s3 *s = client(bucket);
    const char *last = "";
    size_t i;
    int err;

    if (!s)
        return die("client", -1);
    if ((err = mm_s3_list_versions(s, prefix, 0, collect, &k)) < 0)
        return die("list", err);
    for (i = 0; i < k.n; i++)
        if (!k.dm[i] && strcmp(k.key[i], last) != 0)
            printf("%s\n", last = k.key[i]);
    mm_s3_free(s);
    return 0;
}

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "ops: line %d: %s failed: %s\n", __LINE__, #cond,       \
                    mm_error_last());                                              \
            return 1;                                                              \
        }                                                                          \
    } while (0)

static const char hexa[] = "data/ab/ab00000000000000000000000000000000000000000000000000000000000000";
static const char hexb[] = "data/ab/ab11111111111111111111111111111111111111111111111111111111111111";

/* Write through the backend: two ONCE packs (one of 9 MiB: multipart), a REPLACE head. */
static int ops_write(const char *url, char *big, size_t bign)
{
    struct mm_repo_be *b = NULL;

    CHECK(mm_repo_be_open(&b, url, 1) == 0);
    CHECK(b->ops->write(b, hexa, "pack-a", 6, MM_REPO_BE_ONCE) == 0);
    CHECK(b->ops->write(b, hexb, big, bign, MM_REPO_BE_ONCE) == 0);
    CHECK(b->ops->write(b, hexa, "other", 5, MM_REPO_BE_ONCE) == 0); /* skipped: present */
    CHECK(b->ops->write(b, "head", "head-1", 6, MM_REPO_BE_REPLACE) == 0);
    CHECK(b->ops->write(b, "head", "head-2", 6, MM_REPO_BE_REPLACE) == 0);
    CHECK(b->ops->flush(b) == 0);
    b->ops->close(b);
    return 0;
}

/* Read back through a fresh handle: whole, ranges, sizes, listing; @after: the attack ran. */
static int ops_read(const char *url, const char *big, size_t bign, int after)
{
    struct mm_repo_be *b = NULL;
    struct mm_repo__names l = { NULL, 0, 0 };
    uint64_t size = 0;
    char part[16];
    mm_buf buf;

    mm_buf_init(&buf, 64u << 20);
    CHECK(mm_repo_be_open(&b, url, 0) == 0);
    CHECK(b->ops->read(b, hexa, &buf) == 0 && buf.len == 6 && memcmp(buf.ptr, "pack-a", 6) == 0);
    mm_buf_clear(&buf);
    CHECK(b->ops->read(b, hexb, &buf) == 0 && buf.len == bign && memcmp(buf.ptr, big, bign) == 0);
    CHECK(b->ops->read_at(b, hexb, bign - 16, part, 16) == 0 && memcmp(part, big + bign - 16, 16) == 0);
    CHECK(b->ops->read_at(b, hexb, bign - 8, part, 16) == MM_ECORRUPT);
    CHECK(b->ops->stat(b, hexb, &size) == 0 && size == bign);
    mm_buf_clear(&buf);
    if (!after)
        CHECK(b->ops->read(b, "head", &buf) == 0 && buf.len == 6 && memcmp(buf.ptr, "head-2", 6) == 0);
    else
        CHECK(b->ops->read(b, "head", &buf) == MM_ENOTFOUND); /* a delete marker is newest */
    CHECK(b->ops->read(b, "data/ab/missing", &buf) == MM_ENOTFOUND);
    CHECK(b->ops->stat(b, "generations/missing", &size) == MM_ENOTFOUND);
    CHECK(b->ops->list(b, "data/ab", &l, "p/") == 0 && l.n == 2);
    CHECK(b->ops->list(b, "data", &l, "") == 0 && l.n == 2);
    CHECK(b->ops->list(b, "index", &l, "") == 0 && l.n == 2);
    mm_buf_release(&buf);
    b->ops->close(b);
    printf("ops%s: ok\n", after ? " after the attack" : "");
    return 0;
}

/* The attacker on ops_write's files: garbage over both packs, a delete marker on one and on
 * the head. */
static int ops_attack(const char *bucket, const char *prefix)
{
    struct mm_s3_put_opts none = { MM_S3_LOCK_NONE, 0 };
    mm_s3 *s = client(bucket);
    char key[256];

    CHECK(s);
    snprintf(key, sizeof(key), "%s/%s", prefix, hexa);
    CHECK(mm_s3_put(s, key, "garbage", 7, &none, NULL) == 0);
    CHECK(mm_s3_delete(s, key, NULL, 0) == 0);
    snprintf(key, sizeof(key), "%s/%s", prefix, hexb);
    CHECK(mm_s3_put(s, key, "garbage", 7, &none, NULL) == 0);
    snprintf(key, sizeof(key), "%s/head", prefix);
    CHECK(mm_s3_delete(s, key, NULL, 0) == 0);
    mm_s3_free(s);
    return 0;
}

/* The backend's ops round trip on @bucket/@prefix (a fresh one), before and after an attack. */
static int cmd_ops(const char *url, const char *bucket, const char *prefix)
{
    size_t bign = 9u << 20, i;
    char *big = malloc(bign);
    int err;

    if (!big)
        return 1;
    for (i = 0; i < bign; i++)
        big[i] = (char)(i * 7 + (i >> 13));
    err = ops_write(url, big, bign);
    if (!err)
        err = ops_read(url, big, bign, 0);
    if (!err)
        err = ops_attack(bucket, prefix);
    if (!err)
        err = ops_read(url, big, bign, 1);
    free(big);
    return err;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";

    if (strcmp(c, "mkbucket") == 0 && argc == 4)
        return cmd_mkbucket(argv[2], argv[3]);
    if (strcmp(c, "proof") == 0 && argc == 3)
        return cmd_proof(argv[2]);
    if (strcmp(c, "write") == 0 && argc == 5)
        return cmd_write(argv[2], argv[3], strtol(argv[4], NULL, 10));
    if (strcmp(c, "extend") == 0 && argc == 4)
        return cmd_extend(argv[2], strtol(argv[3], NULL, 10));
    if (strcmp(c, "remove") == 0 && argc == 4)
        return cmd_remove(argv[2], argv[3]);
    if (strcmp(c, "ops") == 0 && argc == 5)
        return cmd_ops(argv[2], argv[3], argv[4]);
    if (strcmp(c, "keys") == 0 && argc == 4)
        return cmd_keys(argv[2], argv[3]);
    if (strcmp(c, "attack") == 0 && argc == 4)
        return cmd_attack(argv[2], argv[3]);
    if (strcmp(c, "retention") == 0 && argc == 4)
        return cmd_retention(argv[2], argv[3]);
    fprintf(stderr, "usage: test_repo_s3_tool mkbucket BUCKET lock|plain | proof URL | write URL "
                    "REL DAYS | extend URL DAYS | remove URL REL | attack BUCKET PREFIX/ | "
                    "retention BUCKET KEY | keys BUCKET PREFIX | ops URL BUCKET PREFIX\n");
    return 2;
}
