/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark: SS-MIX2 reading throughput on one core. Every message file of a
 * standardized storage is first read into memory (so the disk is not measured),
 * then timed in three passes over the same bytes: ISO-2022-JP decoding alone,
 * decoding + HL7 tokenizing, and decoding + tokenizing + clinical record
 * extraction (one record per patient, as the index builds them). Prints
 * messages per second for each (the best of three runs of each pass).
 * usage: bench_parse <standard-storage-root> [max-files]
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "hl7/hl7.h"
#include "os/os.h"
#include "ssmix2/ssmix2.h"

struct item {
    struct mm_ssmix2_name name;
    size_t off, len;
};

static struct item *items;
static size_t nitems, capitems, maxitems = (size_t)-1;
static mm_buf data;
static size_t root_len;

static int collect(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    struct item *it;

    (void)st;
    (void)ftw;
    if (flag != FTW_F)
        return 0;
    if (nitems == maxitems)
        return 1;
    if (nitems == capitems) {
        capitems = capitems ? capitems * 2 : 4096;
        items = realloc(items, capitems * sizeof(*items));
        if (!items)
            return -1;
    }
    it = &items[nitems];
    if (mm_ssmix2_check_path(&it->name, path + root_len + 1) != 0)
        return 0;
    it->off = data.len;
    if (mm_os_read_file(path, &data) != 0)
        return -1;
    it->len = data.len - it->off;
    nitems++;
    return 0;
}

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    mm_buf dec;
    mm_ssmix2_record *r = NULL;
    double t0, t[3];
    size_t bad = 0;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_parse <standard-storage-root> [max-files]\n");
        return 2;
    }
    if (argc == 3)
        maxitems = strtoul(argv[2], NULL, 10);
    root_len = strlen(argv[1]);
    mm_buf_init(&data, (size_t)16 << 30);
    mm_buf_init(&dec, MM_LIMIT_HL7_MESSAGE * 2);
    if (nftw(argv[1], collect, 32, FTW_PHYS) < 0) {
        fprintf(stderr, "bench_parse: cannot read the storage: %s\n", mm_error_last());
        return 1;
    }
    /* each pass three times, keeping the fastest: the machine is shared and noisy */
    for (int round = 0; round < 9; round++) {
        int pass = round % 3;
        double dt;
        t0 = now();
        for (size_t i = 0; i < nitems; i++) {
            mm_hl7_msg *m = NULL;
            mm_buf_clear(&dec);
            mm_jis_decode(&dec, data.ptr + items[i].off, items[i].len, 0, NULL);
            if (pass >= 1 && mm_hl7_parse(&m, dec.ptr, dec.len) != 0) {
                bad++;
                continue;
            }
            if (pass == 2) {
                if (i == 0 || strcmp(items[i].name.patient_id, items[i - 1].name.patient_id) != 0) {
                    mm_ssmix2_record_free(r);
                    r = NULL;
                    if (mm_ssmix2_record_new(&r) != 0)
                        return 1;
                }
                if (mm_ssmix2_record_add(r, &items[i].name, m) != 0)
                    bad++;
            }
            mm_hl7_free(m);
        }
        mm_ssmix2_record_free(r);
        r = NULL;
        dt = now() - t0;
        if (round < 3 || dt < t[pass])
            t[pass] = dt;
    }
    printf("bench_parse: %zu messages, %.1f MB, one core\n", nitems, data.len / 1e6);
    printf("  decode                  %9.0f messages/s\n", nitems / t[0]);
    printf("  decode + parse          %9.0f messages/s\n", nitems / t[1]);
    printf("  decode + parse + extract %8.0f messages/s\n", nitems / t[2]);
    if (bad)
        printf("  (%zu messages failed)\n", bad);
    mm_buf_release(&dec);
    mm_buf_release(&data);
    free(items);
    return bad ? 1 : 0;
}
