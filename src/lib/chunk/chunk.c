/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The FastCDC chunker specified in chunk.h. Per chunk the work is: skip to
 * min - 64 without hashing, hash 64 bytes without testing (so that the hash
 * at min equals the one of a chunker hashing from the start), then test with
 * the strict mask up to avg and the loose one up to max. The state between
 * calls is only the scan position and the hash, so a chunk split over many
 * reads gives exactly the cuts of a single read. Throughput is one shift-add,
 * one load and one test per byte (well over 1 GB/s on one core).
 */
#include "chunk/chunk.h"

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

struct mm_chunker {
    struct mm_chunk_params p;
    uint64_t mask_s; /* top b+2 bits: the strict mask below avg */
    uint64_t mask_l; /* top b-2 bits: the loose mask from avg on */
    size_t pos;      /* bytes of the current chunk already scanned */
    uint64_t hash;   /* gear hash after those bytes */
    uint64_t gear[256];
};

/* The next output of splitmix64 (Steele, Lea, Flood), advancing *state. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* log2 of the power of two @v. */
static unsigned log2_exact(size_t v)
{
    unsigned b = 0;

    while (v > 1) {
        v >>= 1;
        b++;
    }
    return b;
}

/* A mask of the top @bits bits of a 64-bit word (1 <= bits <= 63). */
static uint64_t top_bits(unsigned bits)
{
    return ~(uint64_t)0 << (64 - bits);
}

int mm_chunk_params_check(const struct mm_chunk_params *p)
{
    MM_ASSERT_ARG(p);
    if (p->min < MM_CHUNK_MIN_LOWEST)
        return mm_error_set(MM_EINVAL, "chunk min %zu is below %u", p->min, MM_CHUNK_MIN_LOWEST);
    if (p->avg < MM_CHUNK_AVG_LOWEST)
        return mm_error_set(MM_EINVAL, "chunk avg %zu is below %u", p->avg, MM_CHUNK_AVG_LOWEST);
    if ((p->avg & (p->avg - 1)) != 0)
        return mm_error_set(MM_EINVAL, "chunk avg %zu is not a power of two", p->avg);
    if (p->min >= p->avg)
        return mm_error_set(MM_EINVAL, "chunk min %zu is not below avg %zu", p->min, p->avg);
    if (p->max <= p->avg)
        return mm_error_set(MM_EINVAL, "chunk max %zu is not above avg %zu", p->max, p->avg);
    if (p->max > MM_CHUNK_MAX_HIGHEST)
        return mm_error_set(MM_EINVAL, "chunk max %zu is above %u", p->max, MM_CHUNK_MAX_HIGHEST);
    return 0;
}

int mm_chunker_new(mm_chunker **out, const struct mm_chunk_params *p, uint64_t key)
{
    static const struct mm_chunk_params defaults = { MM_CHUNK_MIN, MM_CHUNK_AVG, MM_CHUNK_MAX };
    mm_chunker *c = NULL;
    uint64_t state = key;
    unsigned b;
    int err;

    MM_ASSERT_ARG(out);
    if (!p)
        p = &defaults;
    if ((err = mm_chunk_params_check(p)) < 0)
        goto out;
    if (!(c = mm_calloc(1, sizeof(*c)))) {
        err = MM_ENOMEM;
        goto out;
    }
    c->p = *p;
    b = log2_exact(p->avg);
    c->mask_s = top_bits(b + 2);
    c->mask_l = top_bits(b - 2);
    for (size_t i = 0; i < 256; i++)
        c->gear[i] = splitmix64(&state);
    *out = c;
    c = NULL; /* now owned by the caller */
    err = 0;
out:
    mm_chunker_free(c);
    return err;
}

void mm_chunker_free(mm_chunker *c)
{
    if (!c)
        return;
    explicit_bzero(c, sizeof(*c)); /* the gear table is derived from a repository secret */
    mm_free(c);
}

const struct mm_chunk_params *mm_chunker_params(const mm_chunker *c)
{
    return &c->p;
}

void mm_chunker_reset(mm_chunker *c)
{
    c->pos = 0;
    c->hash = 0;
}

/*
 * Hash data[i..end) into *h and stop after the first byte that leaves the top
 * bits of @mask zero. @return the index after that byte, or 0 when there is none.
 */
static size_t scan(const uint64_t *gear, const unsigned char *data, size_t i, size_t end,
                   uint64_t mask, uint64_t *h)
{
    uint64_t x = *h;

    for (; i < end; i++) {
        x = (x << 1) + gear[data[i]];
        if (!(x & mask)) {
            *h = x;
            return i + 1;
        }
    }
    *h = x;
    return 0;
}

int mm_chunker_next(mm_chunker *c, const unsigned char *data, size_t n, size_t *cut)
{
    size_t min, avg, max, i, end, hit = 0;
    uint64_t h;

    MM_ASSERT_ARG(c && cut);
    min = c->p.min;
    avg = c->p.avg;
    max = c->p.max;
    if (n < c->pos)
        return mm_error_set(MM_EINVAL, "chunker input shrank from %zu to %zu bytes", c->pos, n);
    if (n == 0)
        return 0;
    MM_ASSERT_ARG(data);
    i = c->pos;
    h = c->hash;
    if (i < min - 64)
        i = n < min - 64 ? n : min - 64; /* cut-point skipping: these bytes never count */
    /* warm up: the last 64 bytes before min decide the hash at min */
    end = n < min - 1 ? n : min - 1;
    for (; i < end; i++)
        h = (h << 1) + c->gear[data[i]];
    /* lengths min..avg-1: strict mask */
    end = n < avg - 1 ? n : avg - 1;
    if (i < end) {
        hit = scan(c->gear, data, i, end, c->mask_s, &h);
        i = end;
    }
    /* lengths avg..max: loose mask */
    end = n < max ? n : max;
    if (!hit && i < end) {
        hit = scan(c->gear, data, i, end, c->mask_l, &h);
        i = end;
    }
    if (!hit && i == max)
        hit = max; /* forced cut */
    if (hit) {
        mm_chunker_reset(c);
        *cut = hit;
        return 1;
    }
    c->pos = i;
    c->hash = h;
    return 0;
}
