/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What telling a delta observer costs a backup: one backup of SRC into the repository REPO
 * (opened with PASS), with a cheap observer (it counts the records and sums their head bytes,
 * as any observer must at least look at them) or with none. `delta.sh` runs both on two
 * copies of the same repository after the same simulated day, so the two backups do the
 * same work but for the observer.
 * usage: bench_delta REPO PASS SRC on|off     prints "seconds records files_read"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "repo/repo.h"

static unsigned long long records, headsum;

static void observe(const struct mm_repo_delta *d, void *ctx)
{
    unsigned long long s = 0;

    (void)ctx;
    for (size_t i = 0; d->head && i < d->headlen; i += 64)
        s += d->head[i];
    __atomic_add_fetch(&records, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&headsum, s, __ATOMIC_RELAXED);
}

int main(int argc, char **argv)
{
    struct mm_repo_backup_opts o = { 0 };
    struct mm_repo_source s = { 0 };
    struct mm_repo_counts c;
    struct timespec t0, t1;
    mm_repo *r = NULL;

    if (argc != 5) {
        fprintf(stderr, "usage: bench_delta REPO PASS SRC on|off\n");
        return 2;
    }
    if (mm_repo_open(&r, argv[1], NULL, argv[2], strlen(argv[2])) != 0) {
        fprintf(stderr, "open: %s\n", mm_error_last());
        return 1;
    }
    s.path = argv[3];
    s.kind = MM_REPO_SOURCE_SSMIX2_STD;
    if (strcmp(argv[4], "on") == 0)
        o.delta = observe;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (mm_repo_backup(r, &s, 1, &o, NULL, &c) != 0) {
        fprintf(stderr, "backup: %s\n", mm_error_last());
        mm_repo_free(r);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.3f %llu %llu\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
           records, (unsigned long long)c.files_read);
    mm_repo_free(r);
    return 0;
}
