/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Offline tests of the S3 backend's read cache of ONCE files (repo_s3_cache.c) over a fake
 * store whose bytes are a function of (key, version, offset): reads equal the reference at
 * random offsets (seeded PRNG, differential), one fetch per span, windows for large objects,
 * the version is part of the key, LRU within the byte budget, one fetch for concurrent readers
 * of a span, a failed fetch is not kept, spans larger than the budget are read uncached, reads
 * past the end are refused, and allocation failures (the k-th allocation on run k).
 */
#include <pthread.h>
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
#include "common/error.h"

#ifdef MM_HAVE_S3
#include "repo/repo_s3_cache.h"

struct fake {
    pthread_mutex_t mu;
    unsigned fetches;
    unsigned fail_next; /* fail this many fetches */
    unsigned delay_ms;  /* each fetch sleeps this long */
    uint64_t biggest;   /* largest fetch */
};

/* The byte at @i of @rel@@@version in the fake store. */
static unsigned char byte_at(const char *rel, const char *version, uint64_t i)
{
    uint64_t h = i * 2654435761u;

    h ^= (unsigned char)rel[0] * 131u + (unsigned char)rel[strlen(rel) - 1] * 7u;
    h ^= (unsigned char)version[0] * 977u;
    return (unsigned char)(h ^ (h >> 13));
}

/* mm_repo__s3_fetch_fn over the fake store. */
static int fake_fetch(void *arg, const char *rel, const char *version, uint64_t off, size_t len,
                      unsigned char **out)
{
    struct fake *f = arg;
    unsigned char *d;
    size_t i;
    int fail;

    pthread_mutex_lock(&f->mu);
    f->fetches++;
    if (len > f->biggest)
        f->biggest = len;
    fail = f->fail_next > 0;
    if (fail)
        f->fail_next--;
    pthread_mutex_unlock(&f->mu);
    if (f->delay_ms) {
        struct timespec ts = { 0, (long)f->delay_ms * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (fail)
        return mm_error_set(MM_EIO, "fake store: GET failed");
    if (!(d = mm_malloc(len ? len : 1)))
        return MM_ENOMEM;
    for (i = 0; i < len; i++)
        d[i] = byte_at(rel, version, off + i);
    *out = d;
    return 0;
}

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
}

static struct mm_repo__s3_cache *cache_new(struct fake *f, size_t budget, uint64_t whole_max,
                                           uint64_t window)
{
    struct mm_repo__s3_cache_cfg cfg = { budget, whole_max, window };
    struct mm_repo__s3_cache *c = NULL;

    assert_int_equal(mm_repo__s3_cache_new(&c, &cfg, fake_fetch, f), 0);
    return c;
}

/* Read and compare with the reference. */
static void read_check(struct mm_repo__s3_cache *c, const char *rel, const char *version,
                       uint64_t size, uint64_t off, size_t n)
{
    unsigned char *b = malloc(n ? n : 1);
    size_t i;

    assert_non_null(b);
    assert_int_equal(mm_repo__s3_cache_read(c, rel, version, size, off, b, n), 0);
    for (i = 0; i < n; i++)
        if (b[i] != byte_at(rel, version, off + i))
            fail_msg("byte %zu of a read at %llu differs", i, (unsigned long long)off);
    free(b);
}

/* xorshift64*, seeded */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void cache__random_reads_match_reference(void **state)
{
    struct fake f;
    struct mm_repo__s3_cache *c;
    struct mm_repo__s3_cache_stats st;
    uint64_t seed = 20261207, small = 50000, big = 200000;
    int k;

    (void)state;
    fake_init(&f);
    c = cache_new(&f, 1u << 20, 65536, 16384);
    for (k = 0; k < 2000; k++) {
        int which = (int)(rnd(&seed) % 2);
        uint64_t size = which ? big : small, off = rnd(&seed) % size;
        size_t n = (size_t)(rnd(&seed) % (size - off < 40000 ? size - off : 40000));
        read_check(c, which ? "data/bb/big" : "data/aa/small", "v1", size, off, n);
    }
    /* the small object whole once, the big one in at most ceil(200000 / 16384) windows */
    assert_true(f.fetches <= 1 + (big + 16383) / 16384);
    assert_true(f.biggest <= 65536);
    mm_repo__s3_cache_stats(c, &st);
    assert_int_equal(st.fetches, f.fetches);
    assert_int_equal(st.evictions, 0);
    assert_true(st.peak <= (1u << 20));
    mm_repo__s3_cache_free(c);
}

static void cache__one_fetch_per_span(void **state)
{
    struct fake f;
    struct mm_repo__s3_cache *c;
    uint64_t off;

    (void)state;
    fake_init(&f);
    c = cache_new(&f, 1u << 20, 65536, 16384);
    for (off = 0; off + 100 <= 60000; off += 100)
        read_check(c, "data/aa/pack", "v1", 60000, off, 100);
    assert_int_equal(f.fetches, 1);
    assert_int_equal(f.biggest, 60000);
    /* a window-crossing read of a large object: two windows, each fetched once */
    read_check(c, "data/bb/large", "v1", 100000, 16000, 1000);
    assert_int_equal(f.fetches, 3);
    read_check(c, "data/bb/large", "v1", 100000, 16384, 16384);
    assert_int_equal(f.fetches, 3);
    /* the last window is short */
    read_check(c, "data/bb/large", "v1", 100000, 99990, 10);
    assert_int_equal(f.fetches, 4);
    mm_repo__s3_cache_free(c);
}

static void cache__version_is_part_of_key(void **state)
{
    struct fake f;
    struct mm_repo__s3_cache *c;

    (void)state;
    fake_init(&f);
    c = cache_new(&f, 1u << 20, 65536, 16384);
    read_check(c, "data/aa/pack", "first", 1000, 0, 1000);
    read_check(c, "data/aa/pack", "second", 1000, 0, 1000);
    read_check(c, "data/aa/pack", "first", 1000, 10, 10);
    assert_int_equal(f.fetches, 2);
    mm_repo__s3_cache_free(c);
}

static void cache__lru_within_budget(void **state)
{
    struct fake f;
    struct mm_repo__s3_cache *c;
    struct mm_repo__s3_cache_stats st;
    char rel[32];
    int i;

    (void)state;
    fake_init(&f);
    c = cache_new(&f, 100000, 65536, 16384); /* room for three 30000-byte objects */
    for (i = 0; i < 10; i++) {
        snprintf(rel, sizeof(rel), "data/%02d/p", i);
        read_check(c, rel, "v", 30000, 5, 5);
        /* keep object 0 the most recently used */
        read_check(c, "data/00/p", "v", 30000, 7, 5);
    }
    assert_int_equal(f.fetches, 10);
    mm_repo__s3_cache_stats(c, &st);
    assert_true(st.peak <= 100000);
    assert_true(st.held <= 100000);
    assert_int_equal(st.evictions, 10 - 3);
    read_check(c, "data/09/p", "v", 30000, 0, 30000); /* held */
    assert_int_equal(f.fetches, 10);
    read_check(c, "data/01/p", "v", 30000, 0, 10); /* evicted long ago */
    assert_int_equal(f.fetches, 11);
    mm_repo__s3_cache_free(c);
}

struct reader {
    struct mm_repo__s3_cache *c;
    int err, same;
    uint64_t off;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    unsigned char b[256];
    size_t i;

    r->err = mm_repo__s3_cache_read(r->c, "data/cc/hot", "v", 40000, r->off, b, sizeof(b));
    r->same = 1;
    for (i = 0; i < sizeof(b); i++)
        r->same &= b[i] == byte_at("data/cc/hot", "v", r->off + i);
    return NULL;
}

static void cache__concurrent_readers_share_one_fetch(void **state)
{
    struct fake f;
    struct reader rd[8];
    pthread_t t[8];
    int i;

    (void)state;
    fake_init(&f);
    f.delay_ms = 100;
    for (i = 0; i < 8; i++) {
        rd[i].c = NULL;
        rd[i].off = (uint64_t)i * 4000;
    }
    rd[0].c = cache_new(&f, 1u << 20, 65536, 16384);
    for (i = 0; i < 8; i++) {
        rd[i].c = rd[0].c;
        assert_int_equal(pthread_create(&t[i], NULL, reader_main, &rd[i]), 0);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(rd[i].err, 0);
        assert_true(rd[i].same);
    }
    assert_int_equal(f.fetches, 1);
    mm_repo__s3_cache_free(rd[0].c);
}

static void cache__failed_fetch_is_not_kept(void **state)
{
    struct fake f;
    struct mm_repo__s3_cache *c;
    struct mm_repo__s3_cache_stats st;
    unsigned char b[10];

    (void)state;
    fake_init(&f);
    c = cache_new(&f, 1u << 20, 65536, 16384);
    f.fail_next = 1;
    assert_int_equal(mm_repo__s3_cache_read(c, "data/aa/p", "v", 1000, 0, b, sizeof(b)), MM_EIO);
    mm_repo__s3_cache_stats(c, &st);
    assert_int_equal(st.held, 0);
    read_check(c, "data/aa/p", "v", 1000, 0, 10);
    read_check(c, "data/aa/p", "v", 1000, 500, 10);
    assert_int_equal(f.fetches, 2);
    mm_repo__s3_cache_free(c);
}

static void cache__span_over_budget_read_uncached(void **state)
{
    struct fake f;
    struct mm_repo__s3_cache *c;
    struct mm_repo__s3_cache_stats st;

    (void)state;
    fake_init(&f);
    /* whole objects do not fit: windows; windows do not fit either: uncached */
    c = cache_new(&f, 10000, 65536, 16384);
    read_check(c, "data/aa/p", "v", 50000, 100, 300);
    read_check(c, "data/aa/p", "v", 50000, 16000, 1000);
    mm_repo__s3_cache_stats(c, &st);
    assert_int_equal(st.held, 0);
    assert_int_equal(st.bypassed, 3);
    assert_true(f.biggest <= 1000);
    /* a small object still fits whole */
    read_check(c, "data/bb/s", "v", 5000, 0, 10);
    read_check(c, "data/bb/s", "v", 5000, 4990, 10);
    assert_int_equal(f.fetches, 4);
    mm_repo__s3_cache_free(c);
}

static void cache__past_end_refused(void **state)
{
    struct fake f;
    struct mm_repo__s3_cache *c;
    unsigned char b[16];

    (void)state;
    fake_init(&f);
    c = cache_new(&f, 1u << 20, 65536, 16384);
    assert_int_equal(mm_repo__s3_cache_read(c, "data/aa/p", "v", 100, 90, b, 16), MM_ECORRUPT);
    assert_int_equal(mm_repo__s3_cache_read(c, "data/aa/p", "v", 100, UINT64_MAX, b, 1),
                     MM_ECORRUPT);
    assert_int_equal(mm_repo__s3_cache_read(c, "data/aa/p", "v", 100, 100, b, 0), 0);
    assert_int_equal(f.fetches, 0);
    mm_repo__s3_cache_free(c);
}

static void cache__alloc_failure(void **state)
{
    struct mm_repo__s3_cache_cfg cfg = { 1u << 20, 65536, 16384 };
    struct fake f;
    long k;
    int done = 0;

    (void)state;
    fake_init(&f);
    for (k = 1; k < 100 && !done; k++) {
        struct mm_repo__s3_cache *c = NULL;
        unsigned char b[100];
        int err;
        mm_alloc_fail_at(k, 0);
        err = mm_repo__s3_cache_new(&c, &cfg, fake_fetch, &f);
        if (err == 0) {
            err = mm_repo__s3_cache_read(c, "data/aa/p", "v", 30000, 0, b, sizeof(b));
            if (err == 0)
                err = mm_repo__s3_cache_read(c, "data/bb/q", "v", 100000, 20000, b, sizeof(b));
            if (err == 0)
                err = mm_repo__s3_cache_read(c, "data/aa/p", "v", 30000, 50, b, sizeof(b));
        }
        mm_alloc_fail_at(0, 0);
        assert_true(err == 0 || err == MM_ENOMEM);
        if (err == 0) {
            read_check(c, "data/aa/p", "v", 30000, 50, 100);
            done = 1;
        }
        mm_repo__s3_cache_free(c);
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cache__random_reads_match_reference),
        cmocka_unit_test(cache__one_fetch_per_span),
        cmocka_unit_test(cache__version_is_part_of_key),
        cmocka_unit_test(cache__lru_within_budget),
        cmocka_unit_test(cache__concurrent_readers_share_one_fetch),
        cmocka_unit_test(cache__failed_fetch_is_not_kept),
        cmocka_unit_test(cache__span_over_budget_read_uncached),
        cmocka_unit_test(cache__past_end_refused),
        cmocka_unit_test(cache__alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    printf("1..0 # SKIP built without S3\n");
    return 0;
}
#endif
