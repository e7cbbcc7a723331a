/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark: content-defined chunking throughput on one core. Chunks 256 MiB
 * of seeded random bytes (in memory, so no disk is measured) with the default
 * sizes and with 64 KiB chunks (to show the per-cut cost), handing the
 * chunker 1 MiB reads through a window buffer as the repository will. Prints
 * MB/s (best of three runs), the chunk count and the mean chunk size.
 * usage: bench_chunk [MiB]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chunk/chunk.h"
#include "common/error.h"

#define READ_SIZE ((size_t)1 << 20)

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Chunk @n bytes of @data in READ_SIZE reads; @return the chunk count, or 0 on error. */
static size_t run(mm_chunker *c, const unsigned char *data, size_t n)
{
    const size_t max = mm_chunker_params(c)->max;
    size_t start = 0, avail = 0, cut, count = 0;
    int rc;

    /* the window is data itself: the bytes since the chunk start, up to what was "read" */
    while (avail < n) {
        avail = n - avail < READ_SIZE ? n : avail + READ_SIZE;
        while ((rc = mm_chunker_next(c, data + start, avail - start, &cut)) == 1) {
            start += cut;
            count++;
        }
        if (rc < 0 || avail - start >= max)
            return 0;
    }
    if (start < n)
        count++;
    mm_chunker_reset(c);
    return count;
}

static int bench(const char *name, const struct mm_chunk_params *p, const unsigned char *data,
                 size_t n)
{
    mm_chunker *c = NULL;
    double best = 0;
    size_t count = 0;

    if (mm_chunker_new(&c, p, 0x6d616d6f7269u) < 0) {
        fprintf(stderr, "bench_chunk: %s\n", mm_error_last());
        return 1;
    }
    for (int r = 0; r < 3; r++) {
        double t0 = now(), dt;

        count = run(c, data, n);
        dt = now() - t0;
        if (count == 0) {
            fprintf(stderr, "bench_chunk: chunking failed\n");
            mm_chunker_free(c);
            return 1;
        }
        if (best == 0 || dt < best)
            best = dt;
    }
    printf("chunk %-8s min %zu avg %zu max %zu: %.0f MB/s (%.0f MiB/s), %zu chunks, mean %.0f "
           "bytes\n",
           name, p->min, p->avg, p->max, (double)n / best / 1e6,
           (double)n / best / (1024.0 * 1024.0), count, (double)n / (double)count);
    mm_chunker_free(c);
    return 0;
}

int main(int argc, char **argv)
{
    const struct mm_chunk_params def = { MM_CHUNK_MIN, MM_CHUNK_AVG, MM_CHUNK_MAX };
    const struct mm_chunk_params small = { 16384, 65536, 262144 };
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    size_t n = mib * 1024 * 1024;
    unsigned char *data;
    uint64_t s = 1;
    int err = 0;

    if (n == 0 || !(data = malloc(n))) {
        fprintf(stderr, "usage: bench_chunk [MiB]\n");
        return 2;
    }
    for (size_t i = 0; i + 8 <= n; i += 8) { /* splitmix64 */
        uint64_t z = (s += 0x9e3779b97f4a7c15u);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        z ^= z >> 31;
        memcpy(data + i, &z, 8);
    }
    printf("chunking %zu MiB of random data, one core, best of 3\n", mib);
    err |= bench("default", &def, data, n);
    err |= bench("64k", &small, data, n);
    free(data);
    return err;
}
