/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark: the crypto module on one core. Prints MB/s of mm_crypto_seal, mm_crypto_open
 * (which includes the name check) and mm_crypto_object_id for 1 MiB and 8 KiB objects
 * (SS-MIX2 files are 1-8 KB; large files are cut into chunks of about 1 MiB), the best of
 * three runs of about 256 MiB each, and the time of one key slot open with the default
 * Argon2id cost (what a clinician waits when unlocking the viewer).
 * usage: bench_crypto [MiB-per-run]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
    fprintf(stderr, "bench_crypto: %s: %s\n", what, mm_error_last());
    return 1;
}

/* Time @what over @reps objects of @size bytes; print the best of three in MB/s. */
static int run(mm_keyset *ks, size_t size, size_t reps)
{
    unsigned char id[32];
    unsigned char *plain = malloc(size);
    mm_buf sealed, out;
    double best[3] = { 0, 0, 0 };
    static const char *const names[3] = { "object_id", "seal", "open" };

    if (!plain)
        return 1;
    for (size_t i = 0; i < size; i++)
        plain[i] = (unsigned char)(i * 131 + 7);
    mm_buf_init(&sealed, size + MM_CRYPTO_SEAL_OVERHEAD);
    mm_buf_init(&out, size);
    if (mm_crypto_object_id(ks, plain, size, id) < 0 ||
        mm_crypto_seal(ks, id, plain, size, &sealed) < 0)
        return die("seal");
    for (int round = 0; round < 3; round++) {
        for (int op = 0; op < 3; op++) {
            double t0 = now(), mbs;

            for (size_t r = 0; r < reps; r++) {
                int rc;

                if (op == 0) {
                    rc = mm_crypto_object_id(ks, plain, size, id);
                } else if (op == 1) {
                    mm_buf_clear(&sealed);
                    rc = mm_crypto_seal(ks, id, plain, size, &sealed);
                } else {
                    mm_buf_clear(&out);
                    rc = mm_crypto_open(ks, id, sealed.ptr, sealed.len, &out);
                }
                if (rc < 0)
                    return die(names[op]);
            }
            mbs = (double)size * (double)reps / (now() - t0) / 1e6;
            if (mbs > best[op])
                best[op] = mbs;
        }
    }
    for (int op = 0; op < 3; op++)
        printf("%-9s %7zu B objects: %8.1f MB/s (best of 3)\n", names[op], size, best[op]);
    mm_buf_release(&sealed);
    mm_buf_release(&out);
    free(plain);
    return 0;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 256;
    mm_keyset *ks = NULL, *back = NULL;
    mm_buf slot;
    double t0;

    if (mib == 0)
        mib = 1;
    if (mm_keyset_generate(&ks) < 0)
        return die("keyset");
    if (run(ks, 1024 * 1024, mib) || run(ks, 8192, mib * 128))
        return 1;
    mm_buf_init(&slot, MM_KEYSLOT_SIZE);
    t0 = now();
    if (mm_keyslot_seal(ks, "bench", "a passphrase", 12, NULL, &slot) < 0)
        return die("keyslot seal");
    printf("keyslot seal (default %u passes, %u MiB): %.3f s\n", MM_KDF_OPSLIMIT_DEFAULT,
           MM_KDF_MEMLIMIT_DEFAULT >> 20, now() - t0);
    t0 = now();
    if (mm_keyslot_open(&back, slot.ptr, slot.len, "a passphrase", 12, NULL, 0) < 0)
        return die("keyslot open");
    printf("keyslot open (default %u passes, %u MiB): %.3f s\n", MM_KDF_OPSLIMIT_DEFAULT,
           MM_KDF_MEMLIMIT_DEFAULT >> 20, now() - t0);
    mm_keyset_free(back);
    mm_keyset_free(ks);
    mm_buf_release(&slot);
    return 0;
}
