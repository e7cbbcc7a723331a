/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the content-defined chunker. The first 17 bytes choose the
 * sizes (min 64..4096, avg the next power of two above min times 1, 2 or 4,
 * max up to about 5 avg), the gear key, the seed of a read pattern and how many
 * times the rest is repeated (1..16, so that short inputs still span many
 * chunks and periodic content is covered). Every input is chunked three ways:
 * in one call, in reads of PRNG-chosen sizes through a moving window, and by a
 * naive byte-at-a-time reference of the rule in chunk.h; the cuts must agree,
 * cover the input, and respect min (all but the last chunk) and max.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk/chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER 17

/* Stop the run: a property does not hold. */
static void fail(const char *what)
{
    fprintf(stderr, "fuzz_chunk: %s\n", what);
    abort();
}

/* splitmix64, as chunk.h specifies it. */
static uint64_t sm64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Chunk ends of the whole of @d in one call. OUT: @end; @return the count */
static size_t cut_whole(mm_chunker *c, const unsigned char *d, size_t n, size_t *end)
{
    size_t start = 0, cut = 0, k = 0;
    int rc;

    while ((rc = mm_chunker_next(c, d + start, n - start, &cut)) == 1) {
        if (cut == 0 || cut > n - start)
            fail("cut outside the data");
        start += cut;
        end[k++] = start;
    }
    if (rc != 0)
        fail("mm_chunker_next failed");
    if (start < n)
        end[k++] = n;
    mm_chunker_reset(c);
    return k;
}

/* Chunk ends of @d read in PRNG-sized pieces through a window. OUT: @end; @return the count */
static size_t cut_reads(mm_chunker *c, const unsigned char *d, size_t n, uint64_t seed, size_t *end)
{
    const size_t max = mm_chunker_params(c)->max;
    unsigned char *win = malloc(2 * max);
    size_t done = 0, have = 0, base = 0, cut = 0, k = 0;
    int rc;

    if (!win)
        fail("out of memory");
    while (done < n) {
        uint64_t r = sm64(&seed);
        size_t want = 1 + (size_t)(r >> 8) % ((r & 1) ? 64 : max);

        if (want > n - done)
            want = n - done;
        memcpy(win + have, d + done, want);
        have += want;
        done += want;
        while ((rc = mm_chunker_next(c, win, have, &cut)) == 1) {
            if (cut == 0 || cut > have)
                fail("cut outside the window");
            base += cut;
            end[k++] = base;
            memmove(win, win + cut, have - cut);
            have -= cut;
        }
        if (rc != 0)
            fail("mm_chunker_next failed on reads");
        if (have >= max)
            fail("no cut with max bytes available");
    }
    if (have > 0)
        end[k++] = base + have;
    mm_chunker_reset(c);
    free(win);
    return k;
}

/* The reference: the rule of chunk.h byte at a time. OUT: @end; @return the count */
static size_t cut_reference(const struct mm_chunk_params *p, uint64_t key, const unsigned char *d,
                            size_t n, size_t *end)
{
    uint64_t gear[256], state = key, mask_s, mask_l;
    unsigned b = 0;
    size_t start = 0, k = 0;

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
            h = (h << 1) + gear[d[start + len]];
            len++;
            if (start + len == n || len == p->max)
                break;
            if (len >= p->min && (h & (len < p->avg ? mask_s : mask_l)) == 0)
                break;
        }
        start += len;
        end[k++] = start;
    }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mm_chunk_params p;
    mm_chunker *c = NULL;
    uint64_t key = 0, seed = 0;
    unsigned char *d = NULL;
    size_t *e1 = NULL, *e2 = NULL, *e3 = NULL;
    size_t n, body, reps, k1, k2, k3;

    if (size < HEADER)
        return -1;
    p.min = 64 + (size_t)(data[0] | data[1] << 8) % 4033;
    for (p.avg = 256; p.avg <= p.min; p.avg <<= 1)
        ;
    p.avg <<= data[2] % 3;
    p.max = p.avg + 1 + ((size_t)data[3] * p.avg >> 6);
    for (int i = 0; i < 8; i++)
        key = key << 8 | data[4 + i];
    for (int i = 0; i < 4; i++)
        seed = seed << 8 | data[12 + i];
    reps = 1 + data[16] % 16;
    body = size - HEADER;
    n = body * reps;

    if (mm_chunker_new(&c, &p, key) != 0)
        fail("valid parameters refused");
    d = malloc(n ? n : 1); /* exact size, so that ASan sees reads past the end */
    e1 = malloc((n / 64 + 2) * sizeof(*e1));
    e2 = malloc((n / 64 + 2) * sizeof(*e2));
    e3 = malloc((n / 64 + 2) * sizeof(*e3));
    if (!d || !e1 || !e2 || !e3)
        fail("out of memory");
    for (size_t r = 0; r < reps; r++)
        memcpy(d + r * body, data + HEADER, body);

    k1 = cut_whole(c, d, n, e1);
    k2 = cut_reads(c, d, n, seed, e2);
    k3 = cut_reference(&p, key, d, n, e3);
    if (k1 != k2 || memcmp(e1, e2, k1 * sizeof(*e1)) != 0)
        fail("one call and reads disagree");
    if (k1 != k3 || memcmp(e1, e3, k1 * sizeof(*e1)) != 0)
        fail("chunker and reference disagree");
    if ((k1 ? e1[k1 - 1] : 0) != n)
        fail("chunks do not cover the input");
    for (size_t i = 0; i < k1; i++) {
        size_t len = e1[i] - (i ? e1[i - 1] : 0);

        if (len == 0 || len > p.max || (i + 1 < k1 && len < p.min))
            fail("chunk size out of bounds");
    }
    free(e1);
    free(e2);
    free(e3);
    free(d);
    mm_chunker_free(c);
    return 0;
}
