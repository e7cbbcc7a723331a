/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the content-defined chunker with seeded PRNGs (deterministic runs):
 * roll equals restart (one call versus random-sized reads through a moving
 * window), size bounds and the average over 64 MiB, boundary stability under
 * inserts and deletes, a differential test against a naive byte-at-a-time
 * reference written from the specification in chunk.h (random and low-entropy
 * data), keys, bad parameters, allocation failure, and empty or short input.
 * The random buffers are generated once per process (group setup).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chunk/chunk.h"
#include "common/alloc.h"
#include "common/error.h"

#define MIB        ((size_t)1024 * 1024)
#define RANDOM_LEN (64 * MIB)

static unsigned char *random_data; /* RANDOM_LEN seeded random bytes, shared by the tests */

static const struct mm_chunk_params small_params = { 1024, 4096, 16384 };
static const struct mm_chunk_params tiny_params = { 64, 256, 1024 };
static const struct mm_chunk_params default_params = { MM_CHUNK_MIN, MM_CHUNK_AVG, MM_CHUNK_MAX };

/* splitmix64, as chunk.h specifies it for the gear table (also the test PRNG). */
static uint64_t sm64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Fill @buf with @n bytes from a PRNG seeded with @seed. */
static void fill_random(unsigned char *buf, size_t n, uint64_t seed)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t v = sm64(&seed);

        memcpy(buf + i, &v, 8);
    }
    for (; i < n; i++)
        buf[i] = (unsigned char)sm64(&seed);
}

/* FNV-1a 64 of @n bytes at @p. */
static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3u;
    }
    return h;
}

/* The end offsets of the chunks of one input, in order. */
struct cuts {
    size_t *end;
    size_t n, cap;
};

static void cuts_push(struct cuts *c, size_t end)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->end = realloc(c->end, c->cap * sizeof(*c->end));
        assert_non_null(c->end);
    }
    c->end[c->n++] = end;
}

static void cuts_release(struct cuts *c)
{
    free(c->end);
    memset(c, 0, sizeof(*c));
}

/* Length of chunk @i of @c. */
static size_t cuts_len(const struct cuts *c, size_t i)
{
    return c->end[i] - (i ? c->end[i - 1] : 0);
}

static void assert_cuts_equal(const struct cuts *a, const struct cuts *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_int_equal(a->end[i], b->end[i]);
}

static mm_chunker *new_chunker(const struct mm_chunk_params *p, uint64_t key)
{
    mm_chunker *c = NULL;

    assert_int_equal(mm_chunker_new(&c, p, key), 0);
    assert_non_null(c);
    return c;
}

/* Chunk @n bytes of @data handed over in one call. OUT: @out */
static void chunk_whole(mm_chunker *c, const unsigned char *data, size_t n, struct cuts *out)
{
    size_t start = 0, cut = 0;
    int rc;

    while ((rc = mm_chunker_next(c, data + start, n - start, &cut)) == 1) {
        assert_true(cut > 0 && cut <= n - start);
        start += cut;
        cuts_push(out, start);
    }
    assert_int_equal(rc, 0);
    if (start < n)
        cuts_push(out, n);
    mm_chunker_reset(c);
}

/*
 * Chunk @n bytes of @data as a reader would: reads of random sizes (from 1 byte
 * to several times max, PRNG @seed) appended to a window buffer whose consumed
 * head is moved away after each cut, so the chunker sees moved bytes. OUT: @out
 */
static void chunk_reads(mm_chunker *c, const unsigned char *data, size_t n, uint64_t seed,
                        struct cuts *out)
{
    const size_t max = mm_chunker_params(c)->max;
    const size_t read_max = 3 * max;
    unsigned char *win = malloc(max + read_max);
    size_t done = 0, have = 0, base = 0, cut = 0;
    int rc;

    assert_non_null(win);
    while (done < n) {
        uint64_t r = sm64(&seed);
        size_t want;

        switch (r % 4) {
        case 0:
            want = 1 + (r >> 8) % 16;
            break;
        case 1:
            want = 1 + (r >> 8) % 4096;
            break;
        case 2:
            want = 1 + (r >> 8) % max;
            break;
        default:
            want = 1 + (r >> 8) % read_max;
            break;
        }
        /* the window holds less than max unconsumed bytes before a read */
        if (want > read_max)
            want = read_max;
        if (want > n - done)
            want = n - done;
        memcpy(win + have, data + done, want);
        have += want;
        done += want;
        while ((rc = mm_chunker_next(c, win, have, &cut)) == 1) {
            assert_true(cut > 0 && cut <= have);
            base += cut;
            cuts_push(out, base);
            memmove(win, win + cut, have - cut);
            have -= cut;
        }
        assert_int_equal(rc, 0);
        assert_true(have < max);
    }
    if (have > 0)
        cuts_push(out, base + have);
    mm_chunker_reset(c);
    free(win);
}

/* The naive reference: the specification of chunk.h, byte at a time, no skipping. OUT: @out */
static void chunk_reference(const struct mm_chunk_params *p, uint64_t key,
                            const unsigned char *data, size_t n, struct cuts *out)
{
    uint64_t gear[256], state = key, mask_s, mask_l;
    unsigned b = 0;
    size_t start = 0;

    for (int i = 0; i < 256; i++)
        gear[i] = sm64(&state);
    while (((size_t)1 << b) < p->avg)
        b++;
    mask_s = ~(uint64_t)0 << (64 - (b + 2));
    mask_l = ~(uint64_t)0 << (64 - (b - 2));
    while (start < n) {
        uint64_t h = 0;
        size_t len = 0;

        for (;;) {
            h = (h << 1) + gear[data[start + len]];
            len++;
            if (start + len == n || len == p->max)
                break;
            if (len >= p->min && (h & (len < p->avg ? mask_s : mask_l)) == 0)
                break;
        }
        start += len;
        cuts_push(out, start);
    }
}

/* Every chunk but the last is within [min, max], the last within [1, max], and they cover @n. */
static void assert_bounds(const struct cuts *c, const struct mm_chunk_params *p, size_t n)
{
    for (size_t i = 0; i < c->n; i++) {
        size_t len = cuts_len(c, i);

        assert_true(len <= p->max);
        assert_true(len >= 1);
        if (i + 1 < c->n)
            assert_true(len >= p->min);
    }
    assert_int_equal(c->n ? c->end[c->n - 1] : 0, n);
}

static int group_setup(void **state)
{
    (void)state;
    random_data = malloc(RANDOM_LEN);
    if (!random_data)
        return -1;
    fill_random(random_data, RANDOM_LEN, 0x6d616d6f7269u);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(random_data);
    return 0;
}

/* A 12 MiB input mixing random bytes, zeros and a short repeating pattern. */
static unsigned char *mixed_input(size_t *n)
{
    const size_t len = 12 * MIB;
    unsigned char *d = malloc(len);

    assert_non_null(d);
    memcpy(d, random_data, 8 * MIB);
    memset(d + 8 * MIB, 0, 2 * MIB);
    for (size_t i = 10 * MIB; i < len; i++)
        d[i] = (unsigned char)"mamori\r\n"[i % 8];
    memcpy(d + 11 * MIB, random_data + 9 * MIB, MIB / 2);
    *n = len;
    return d;
}

static void chunker__roll_equals_restart(void **state)
{
    const struct mm_chunk_params *params[] = { &tiny_params, &small_params, &default_params };
    size_t n;
    unsigned char *d = mixed_input(&n);

    (void)state;
    for (size_t k = 0; k < sizeof(params) / sizeof(params[0]); k++) {
        mm_chunker *c = new_chunker(params[k], 0x1234 + k);
        struct cuts whole = { 0 }, ref = { 0 };

        chunk_whole(c, d, n, &whole);
        assert_bounds(&whole, params[k], n);
        assert_true(whole.n > 2);
        for (uint64_t seed = 1; seed <= 4; seed++) {
            struct cuts rd = { 0 };

            chunk_reads(c, d, n, seed * 7919 + k, &rd);
            assert_cuts_equal(&whole, &rd);
            cuts_release(&rd);
        }
        /* and the reference agrees on this input too */
        chunk_reference(params[k], 0x1234 + k, d, n, &ref);
        assert_cuts_equal(&whole, &ref);
        cuts_release(&ref);
        cuts_release(&whole);
        mm_chunker_free(c);
    }
    free(d);
}

static void chunker__size_bounds(void **state)
{
    const struct mm_chunk_params *params[] = { &default_params, &small_params,
                                               &(struct mm_chunk_params){ 16384, 65536, 262144 } };

    (void)state;
    for (size_t k = 0; k < sizeof(params) / sizeof(params[0]); k++) {
        mm_chunker *c = new_chunker(params[k], 42);
        struct cuts cu = { 0 };
        double mean;

        chunk_whole(c, random_data, RANDOM_LEN, &cu);
        assert_bounds(&cu, params[k], RANDOM_LEN);
        /* normalized chunking at level 2 with min = avg/4 averages about 1.1 avg */
        mean = (double)RANDOM_LEN / (double)cu.n;
        assert_true(mean > 0.75 * (double)params[k]->avg);
        assert_true(mean < 1.5 * (double)params[k]->avg);
        cuts_release(&cu);
        mm_chunker_free(c);
    }
}

/* Hashes of the chunks of @data as cut by @c. OUT: @out, @n */
static void chunk_hashes(mm_chunker *c, const unsigned char *data, size_t len, uint64_t **out,
                         size_t *n)
{
    struct cuts cu = { 0 };
    uint64_t *h;

    chunk_whole(c, data, len, &cu);
    h = malloc((cu.n ? cu.n : 1) * sizeof(*h));
    assert_non_null(h);
    for (size_t i = 0; i < cu.n; i++) {
        size_t start = i ? cu.end[i - 1] : 0;

        h[i] = fnv1a(data + start, cu.end[i] - start);
    }
    *out = h;
    *n = cu.n;
    cuts_release(&cu);
}

static void chunker__stable_under_edits(void **state)
{
    const size_t len = 32 * MIB;
    /* offset, bytes inserted (> 0) or deleted (< 0) */
    static const struct {
        size_t at;
        long delta;
    } edits[] = { { 0, 1 },      { 1000, 7 },      { 300000, -5 },
                  { 600000, 3 }, { 3 * MIB, -64 }, { 5 * MIB + 17, 4096 } };
    mm_chunker *c = new_chunker(NULL, 7);
    unsigned char *edited = malloc(len + 8192);
    uint64_t *base, *other;
    size_t nbase, nother;

    (void)state;
    assert_non_null(edited);
    chunk_hashes(c, random_data, len, &base, &nbase);
    assert_true(nbase >= 8);
    for (size_t k = 0; k < sizeof(edits) / sizeof(edits[0]); k++) {
        size_t at = edits[k].at, elen, prefix = 0, suffix = 0;

        memcpy(edited, random_data, at);
        if (edits[k].delta > 0) {
            fill_random(edited + at, (size_t)edits[k].delta, 99 + k);
            memcpy(edited + at + edits[k].delta, random_data + at, len - at);
            elen = len + (size_t)edits[k].delta;
        } else {
            size_t del = (size_t)-edits[k].delta;

            memcpy(edited + at, random_data + at + del, len - at - del);
            elen = len - del;
        }
        chunk_hashes(c, edited, elen, &other, &nother);
        while (prefix < nbase && prefix < nother && base[prefix] == other[prefix])
            prefix++;
        while (suffix < nbase - prefix && suffix < nother - prefix &&
               base[nbase - 1 - suffix] == other[nother - 1 - suffix])
            suffix++;
        /* only the chunk holding the edit, and at most one more, differ */
        assert_true(nbase - prefix - suffix <= 2);
        assert_true(nother - prefix - suffix <= 2);
        assert_true(nbase - prefix - suffix >= 1);
        free(other);
    }
    free(base);
    free(edited);
    mm_chunker_free(c);
}

/* Chunk @d with the chunker and the reference; they must agree. OUT: @out (may be NULL) */
static void check_reference(const struct mm_chunk_params *p, uint64_t key, const unsigned char *d,
                            size_t n, struct cuts *out)
{
    mm_chunker *c = new_chunker(p, key);
    struct cuts got = { 0 }, ref = { 0 };

    chunk_whole(c, d, n, &got);
    chunk_reference(p, key, d, n, &ref);
    assert_cuts_equal(&got, &ref);
    assert_bounds(&got, p, n);
    if (out)
        *out = got;
    else
        cuts_release(&got);
    cuts_release(&ref);
    mm_chunker_free(c);
}

static void chunker__matches_reference(void **state)
{
    const size_t len = 4 * MIB;
    unsigned char *d = malloc(20 * MIB);
    struct cuts cu = { 0 };

    (void)state;
    assert_non_null(d);
    /* random data, several keys and sizes */
    for (uint64_t key = 0; key < 3; key++) {
        check_reference(&tiny_params, key, random_data + key, len, NULL);
        check_reference(&small_params, key, random_data + key * 4096, len, NULL);
    }
    check_reference(&(struct mm_chunk_params){ 100, 512, 700 }, 5, random_data, len, NULL);
    check_reference(&default_params, 9, random_data, 20 * MIB, NULL);

    /* all zeros: the hash settles on one value, which is not a boundary, so cuts fall at max */
    memset(d, 0, 20 * MIB);
    check_reference(&small_params, 1, d, len, &cu);
    for (size_t i = 0; i + 1 < cu.n; i++)
        assert_int_equal(cuts_len(&cu, i), small_params.max);
    cuts_release(&cu);
    check_reference(&default_params, 1, d, 20 * MIB, &cu);
    assert_int_equal(cu.n, 3);
    assert_int_equal(cu.end[0], MM_CHUNK_MAX);
    assert_int_equal(cu.end[1], 2 * MM_CHUNK_MAX);
    cuts_release(&cu);

    /* short repeating pattern, a repeated random block, low-entropy text */
    for (size_t i = 0; i < len; i++)
        d[i] = (unsigned char)"abcabcd"[i % 7];
    check_reference(&small_params, 2, d, len, NULL);
    check_reference(&tiny_params, 2, d, len, NULL);
    for (size_t i = 0; i < len; i++)
        d[i] = random_data[i % 4096];
    check_reference(&small_params, 3, d, len, NULL);
    for (size_t i = 0; i < len; i++)
        d[i] = (unsigned char)("  eeettaonisrhld\n"[random_data[i] % 17]);
    check_reference(&small_params, 4, d, len, &cu);
    assert_true(cu.n > len / small_params.max); /* text still has content-defined cuts */
    cuts_release(&cu);
    check_reference(&tiny_params, 4, d, len, NULL);
    free(d);
}

static void chunker__key_changes_boundaries(void **state)
{
    const size_t len = 8 * MIB;
    struct cuts a = { 0 }, b = { 0 };
    size_t common = 0, i = 0, j = 0;

    (void)state;
    check_reference(&small_params, 1, random_data, len, &a);
    check_reference(&small_params, 2, random_data, len, &b);
    while (i < a.n && j < b.n) {
        if (a.end[i] == b.end[j]) {
            common++;
            i++;
            j++;
        } else if (a.end[i] < b.end[j]) {
            i++;
        } else {
            j++;
        }
    }
    /* only the end of the input and chance coincidences (after a shared max cut) are shared */
    assert_true(common < a.n / 10);
    cuts_release(&a);
    cuts_release(&b);
}

static void params__invalid_rejected(void **state)
{
    static const struct mm_chunk_params bad[] = {
        { 63, 256, 1024 },                   /* min below 64 */
        { 64, 128, 1024 },                   /* avg below 256 */
        { 1024, 3000, 16384 },               /* avg not a power of two */
        { 4096, 4096, 16384 },               /* min == avg */
        { 8192, 4096, 16384 },               /* min > avg */
        { 1024, 4096, 4096 },                /* max == avg */
        { 1024, 4096, 2048 },                /* max < avg */
        { 1024, 4096, 64 * MIB + 1 },        /* max over 64 MiB */
        { 0, 0, 0 },                         /* all zero */
        { 1024, (size_t)1 << 40, SIZE_MAX }, /* absurd */
    };
    static const struct mm_chunk_params good[] = {
        { 64, 256, 257 },
        { 1024, 4096, 16384 },
        { MM_CHUNK_MIN, MM_CHUNK_AVG, MM_CHUNK_MAX },
        { 32 * MIB - 1, 32 * MIB, 64 * MIB },
    };
    mm_chunker *sentinel = (mm_chunker *)&sentinel, *c = sentinel;

    (void)state;
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        assert_int_equal(mm_chunk_params_check(&bad[k]), MM_EINVAL);
        assert_int_equal(mm_chunker_new(&c, &bad[k], 0), MM_EINVAL);
        assert_ptr_equal(c, sentinel);
        assert_true(strncmp(mm_error_last(), "chunk ", 6) == 0);
    }
    for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
        assert_int_equal(mm_chunk_params_check(&good[k]), 0);
        c = new_chunker(&good[k], 0);
        assert_int_equal(mm_chunker_params(c)->avg, good[k].avg);
        mm_chunker_free(c);
    }
    c = new_chunker(NULL, 0);
    assert_int_equal(mm_chunker_params(c)->min, MM_CHUNK_MIN);
    assert_int_equal(mm_chunker_params(c)->avg, MM_CHUNK_AVG);
    assert_int_equal(mm_chunker_params(c)->max, MM_CHUNK_MAX);
    mm_chunker_free(c);
    mm_chunker_free(NULL);
}

static void chunker_new__alloc_failure(void **state)
{
    long k;

    (void)state;
    for (k = 1;; k++) {
        mm_chunker *c = NULL;
        int err;

        mm_alloc_fail_at(k, 0);
        err = mm_chunker_new(&c, &small_params, 3);
        if (mm_alloc_count() < k) { /* no allocation failed: the run is complete */
            assert_int_equal(err, 0);
            assert_non_null(c);
            mm_chunker_free(c);
            break;
        }
        assert_int_equal(err, MM_ENOMEM);
        assert_null(c);
        assert_true(k < 100);
    }
    mm_alloc_fail_at(0, 0);
    assert_true(k >= 2);
}

static void chunker__empty_and_short_input(void **state)
{
    mm_chunker *c = new_chunker(&small_params, 1);
    struct cuts cu = { 0 };
    size_t cut = 12345;

    (void)state;
    /* empty input: no chunk at all */
    assert_int_equal(mm_chunker_next(c, NULL, 0, &cut), 0);
    assert_int_equal(cut, 12345);
    chunk_whole(c, random_data, 0, &cu);
    assert_int_equal(cu.n, 0);
    chunk_reads(c, random_data, 0, 1, &cu);
    assert_int_equal(cu.n, 0);
    /* below min: one chunk, the chunker never cuts */
    for (size_t n = 1; n < small_params.min; n += 97) {
        assert_int_equal(mm_chunker_next(c, random_data, n, &cut), 0);
        mm_chunker_reset(c);
        chunk_whole(c, random_data, n, &cu);
        assert_int_equal(cu.n, 1);
        assert_int_equal(cu.end[0], n);
        cu.n = 0;
    }
    cuts_release(&cu);
    mm_chunker_free(c);
}

static void chunker__forced_cut_and_misuse(void **state)
{
    mm_chunker *c = new_chunker(&small_params, 1);
    unsigned char *zeros = calloc(1, 3 * small_params.max);
    size_t cut = 0;

    (void)state;
    assert_non_null(zeros);
    /* one byte short of max: more data needed; at max: a forced cut of exactly max */
    assert_int_equal(mm_chunker_next(c, zeros, small_params.max - 1, &cut), 0);
    assert_int_equal(mm_chunker_next(c, zeros, small_params.max, &cut), 1);
    assert_int_equal(cut, small_params.max);
    /* more than max at once: still max */
    assert_int_equal(mm_chunker_next(c, zeros, 3 * small_params.max, &cut), 1);
    assert_int_equal(cut, small_params.max);
    /* the buffer may not shrink below what was scanned */
    assert_int_equal(mm_chunker_next(c, zeros, 2000, &cut), 0);
    assert_int_equal(mm_chunker_next(c, zeros, 1000, &cut), MM_EINVAL);
    assert_true(strstr(mm_error_last(), "shrank") != NULL);
    /* the same length again is fine, and reset starts over */
    assert_int_equal(mm_chunker_next(c, zeros, 2000, &cut), 0);
    mm_chunker_reset(c);
    assert_int_equal(mm_chunker_next(c, zeros, 1000, &cut), 0);
    free(zeros);
    mm_chunker_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chunker__roll_equals_restart),
        cmocka_unit_test(chunker__size_bounds),
        cmocka_unit_test(chunker__stable_under_edits),
        cmocka_unit_test(chunker__matches_reference),
        cmocka_unit_test(chunker__key_changes_boundaries),
        cmocka_unit_test(params__invalid_rejected),
        cmocka_unit_test(chunker_new__alloc_failure),
        cmocka_unit_test(chunker__empty_and_short_input),
        cmocka_unit_test(chunker__forced_cut_and_misuse),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
