/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Content-defined chunking (FastCDC: gear hash, cut-point skipping below the
 * minimum, normalized chunking at level 2). Large files of the repository are
 * cut where the content says so, so an edit in a 2 GB dump changes only the
 * chunks around it. The chunker is streaming: it never holds data, it scans the
 * caller's buffer and remembers how far it got, so boundaries depend only on
 * the content, the key and the parameters, never on how the input was read.
 *
 * The cut rule is part of the repository format (changing it breaks dedup
 * against older generations), so it is specified here exactly:
 *  - gear[i] for i = 0..255 is the (i+1)-th output of splitmix64 seeded with
 *    the key (state += 0x9e3779b97f4a7c15; z = state; z = (z ^ z >> 30) *
 *    0xbf58476d1ce4e5b9; z = (z ^ z >> 27) * 0x94d049bb133111eb; z ^ z >> 31);
 *  - from the start of each chunk, h = (h << 1) + gear[byte] (mod 2^64, h = 0
 *    at the chunk start); after the byte that makes the chunk L bytes long,
 *    the chunk ends when L >= min and the top b+2 bits of h are all zero
 *    (L < avg) or the top b-2 bits are (L >= avg), where avg = 2^b; a chunk
 *    that reaches max bytes ends there; the end of the input ends the last one.
 * h has 64 bits and shifts left, so only the last 64 bytes count: the chunker
 * hashes nothing before min - 64 and still gets the hash of the rule above.
 */
#ifndef MM_CHUNK_CHUNK_H
#define MM_CHUNK_CHUNK_H

#include <stddef.h>
#include <stdint.h>

/* Default sizes: chunks of 512 KiB to 8 MiB, 2 MiB on average. */
#define MM_CHUNK_MIN (512u * 1024u)
#define MM_CHUNK_AVG (2u * 1024u * 1024u)
#define MM_CHUNK_MAX (8u * 1024u * 1024u)

/* Bounds on the parameters: min at least 64, avg at least 256, max at most 64 MiB. */
#define MM_CHUNK_MIN_LOWEST  64u
#define MM_CHUNK_AVG_LOWEST  256u
#define MM_CHUNK_MAX_HIGHEST (64u * 1024u * 1024u)

/*
 * Chunk sizes in bytes: MM_CHUNK_MIN_LOWEST <= min < avg < max <= MM_CHUNK_MAX_HIGHEST,
 * avg a power of two. Small files (below min) are one chunk and are not chunked at all.
 */
struct mm_chunk_params {
    size_t min, avg, max;
};

/* A content-defined chunker; opaque, one per stream at a time, not thread-safe. */
typedef struct mm_chunker mm_chunker;

/*
 * Check @p against the bounds above (the message says which one fails).
 * @return 0, MM_EINVAL when a bound does not hold
 */
int mm_chunk_params_check(const struct mm_chunk_params *p);

/*
 * Create a chunker for the sizes @p (NULL: the MM_CHUNK_* defaults) whose gear
 * table is derived from @key. The repository passes a value derived from its
 * secret key, so the boundaries of the same content differ between repositories.
 * @param[out] out the new chunker, owned by the caller (mm_chunker_free)
 * @return 0, MM_EINVAL on bad parameters, MM_ENOMEM (*out untouched on failure)
 */
int mm_chunker_new(mm_chunker **out, const struct mm_chunk_params *p, uint64_t key);

/* Free @c (wiping its key-derived gear table); NULL is fine. */
void mm_chunker_free(mm_chunker *c);

/* The sizes @c cuts with (borrowed for the life of @c). */
const struct mm_chunk_params *mm_chunker_params(const mm_chunker *c);

/*
 * Find the end of the current chunk. @data holds the @n bytes read so far
 * since the current chunk started; between calls the caller may only append
 * to it (the same bytes, possibly moved, plus more), since the chunker resumes
 * after the bytes it has already scanned. Typical loop: read into a buffer, call
 * until it returns 0 passing data + consumed, read more (keeping the unconsumed
 * tail, up to max bytes), and at the end of the input take whatever is left as
 * the last chunk and call mm_chunker_reset().
 * Returns 1 with *cut set when the chunk ends within @data (min <= *cut <= max,
 * *cut <= n); the chunker is then reset, so the next call starts a new chunk at
 * data + *cut. Returns 0 when more data is needed, which only happens while
 * n < max. Empty input (@n 0, @data may be NULL) returns 0.
 * @param[out] cut the length of the finished chunk (set only when 1 is returned)
 * @return 1, 0, MM_EINVAL when @n is smaller than what was already scanned
 */
int mm_chunker_next(mm_chunker *c, const unsigned char *data, size_t n, size_t *cut);

/* Forget the current chunk, so the next call of mm_chunker_next() starts a new one. */
void mm_chunker_reset(mm_chunker *c);

#endif
