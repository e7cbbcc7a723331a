/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local backend's pack descriptors (repo_local.c, issue 22): read_at keeps packs open in
 * a small cache instead of opening each per object. Many concurrent reads of more packs than
 * the cache has slots return the right bytes from 8 threads; more packs than slots never hold
 * more descriptors than slots; a removed or rewritten pack is not read through its old
 * descriptor; release and close give back every descriptor (counted in /proc/self/fd); names
 * other than packs are not kept open. Files live in a temporary folder removed at the end.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "repo/repo_backend.h"

#define NPACKS   100 /* more than the cache's slots (48) */
#define PACKLEN  20000
#define SLOTS    48
#define NTHREADS 8
#define READS    3000

static char dir[64];

/* The number of open descriptors of this process. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the folder's own descriptor */
}

static void pack_name(int i, char *out, size_t cap)
{
    snprintf(out, cap, "data/%02x/%064x", i & 0xff, i);
}

/* Byte @k of pack @i. */
static unsigned char pack_byte(int i, size_t k)
{
    return (unsigned char)((k * 131u + (size_t)i * 7u + (k >> 8)) & 0xff);
}

static void write_pack(struct mm_repo_be *b, int i)
{
    static unsigned char p[PACKLEN];
    char rel[96];

    for (size_t k = 0; k < PACKLEN; k++)
        p[k] = pack_byte(i, k);
    pack_name(i, rel, sizeof(rel));
    assert_int_equal(b->ops->write(b, rel, p, PACKLEN, MM_REPO_BE_ONCE), 0);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup(void **state)
{
    struct mm_repo_be *b;

    snprintf(dir, sizeof(dir), "/tmp/mm-localfds-XXXXXX");
    if (!mkdtemp(dir) || mm_repo_be_local_open(&b, dir) != 0)
        return -1;
    for (int i = 0; i < NPACKS; i++)
        write_pack(b, i);
    b->ops->close(b);
    *state = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

struct worker {
    struct mm_repo_be *b;
    unsigned seed;
    int bad;
};

static void *reader(void *arg)
{
    struct worker *w = arg;
    unsigned char got[512];

    for (int r = 0; r < READS; r++) {
        char rel[96];
        int i = (int)(rand_r(&w->seed) % NPACKS);
        size_t n = 1 + rand_r(&w->seed) % sizeof(got);
        size_t off = rand_r(&w->seed) % (PACKLEN - n);
        pack_name(i, rel, sizeof(rel));
        if (w->b->ops->read_at(w->b, rel, off, got, n) != 0) {
            w->bad++;
            continue;
        }
        for (size_t k = 0; k < n; k++)
            if (got[k] != pack_byte(i, off + k)) {
                w->bad++;
                break;
            }
    }
    return NULL;
}

/* 8 threads read random ranges of 100 packs through 48 slots: every byte right, at most
 * 48 descriptors held, none after close. */
static void local_fds__concurrent_reads_equal_the_bytes(void **state)
{
    struct mm_repo_be *b;
    struct worker w[NTHREADS];
    pthread_t t[NTHREADS];
    int base = open_fds(), held;

    (void)state;
    assert_int_equal(mm_repo_be_local_open(&b, dir), 0);
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){ b, 1234u + (unsigned)i, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, reader, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].bad, 0);
    }
    held = open_fds() - base;
    assert_true(held > 0); /* packs are kept open: the cache works */
    assert_true(held <= SLOTS);
    b->ops->close(b);
    assert_int_equal(open_fds(), base);
}

/* More packs than slots, read one after another: the cache evicts, never holds more than its
 * slots, reads stay right; release closes all, and reads open again. */
static void local_fds__eviction_keeps_to_the_slots(void **state)
{
    struct mm_repo_be *b;
    unsigned char got[64];
    char rel[96];
    int base = open_fds();

    (void)state;
    assert_int_equal(mm_repo_be_local_open(&b, dir), 0);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < NPACKS; i++) {
            pack_name(i, rel, sizeof(rel));
            assert_int_equal(b->ops->read_at(b, rel, 1000, got, sizeof(got)), 0);
            assert_int_equal(got[5], pack_byte(i, 1005));
            assert_true(open_fds() - base <= SLOTS);
        }
    assert_int_equal(open_fds() - base, SLOTS);
    /* the same pack again and again: one descriptor, not more */
    b->ops->release(b);
    assert_int_equal(open_fds(), base);
    pack_name(7, rel, sizeof(rel));
    for (int k = 0; k < 50; k++)
        assert_int_equal(b->ops->read_at(b, rel, (uint64_t)k, got, 8), 0);
    assert_int_equal(got[0], pack_byte(7, 49));
    assert_int_equal(open_fds() - base, 1);
    b->ops->close(b);
    assert_int_equal(open_fds(), base);
}

/* A removed pack is not read through the descriptor the cache held (ENOTFOUND, as without
 * a cache), whether the backend or another process removed it, and a rewritten one reads its
 * new bytes. */
static void local_fds__remove_and_write_drop_the_descriptor(void **state)
{
    struct mm_repo_be *b;
    unsigned char got[16], repl[PACKLEN];
    char rel[96], path[160];
    int base = open_fds();

    (void)state;
    assert_int_equal(mm_repo_be_local_open(&b, dir), 0);
    pack_name(3, rel, sizeof(rel));
    assert_int_equal(b->ops->read_at(b, rel, 0, got, sizeof(got)), 0);
    assert_int_equal(open_fds() - base, 1);
    assert_int_equal(b->ops->remove(b, rel), 0);
    assert_int_equal(open_fds(), base); /* its descriptor closed with the file */
    assert_int_equal(b->ops->read_at(b, rel, 0, got, sizeof(got)), MM_ENOTFOUND);
    mm_error_clear();

    pack_name(4, rel, sizeof(rel));
    assert_int_equal(b->ops->read_at(b, rel, 0, got, sizeof(got)), 0);
    memset(repl, 0xa5, sizeof(repl));
    assert_int_equal(b->ops->write(b, rel, repl, sizeof(repl), MM_REPO_BE_REPLACE), 0);
    assert_int_equal(b->ops->read_at(b, rel, 100, got, sizeof(got)), 0);
    assert_int_equal(got[0], 0xa5); /* the new file, not the old one's descriptor */
    assert_int_equal(got[15], 0xa5);

    /* removed from outside the backend (another process): not read through the old one */
    pack_name(5, rel, sizeof(rel));
    assert_int_equal(b->ops->read_at(b, rel, 0, got, sizeof(got)), 0);
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(b->ops->read_at(b, rel, 0, got, sizeof(got)), MM_ENOTFOUND);
    mm_error_clear();
    b->ops->close(b);
    assert_int_equal(open_fds(), base);
    /* all back as they were, for the other tests */
    assert_int_equal(mm_repo_be_local_open(&b, dir), 0);
    pack_name(4, rel, sizeof(rel));
    assert_int_equal(b->ops->remove(b, rel), 0);
    write_pack(b, 3);
    write_pack(b, 4);
    write_pack(b, 5);
    b->ops->close(b);
}

/* Names other than packs (head, index files: replaced in place) are opened per read. */
static void local_fds__other_names_are_not_kept(void **state)
{
    struct mm_repo_be *b;
    unsigned char got[4];
    int base = open_fds();

    (void)state;
    assert_int_equal(mm_repo_be_local_open(&b, dir), 0);
    assert_int_equal(b->ops->write(b, "head", "HEAD-one", 8, MM_REPO_BE_REPLACE), 0);
    assert_int_equal(b->ops->read_at(b, "head", 5, got, 3), 0);
    assert_memory_equal(got, "one", 3);
    assert_int_equal(open_fds(), base);
    assert_int_equal(b->ops->read_at(b, "data/00/missing", 0, got, 1), MM_ENOTFOUND);
    mm_error_clear();
    assert_int_equal(open_fds(), base);
    b->ops->close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(local_fds__concurrent_reads_equal_the_bytes),
        cmocka_unit_test(local_fds__eviction_keeps_to_the_slots),
        cmocka_unit_test(local_fds__remove_and_write_drop_the_descriptor),
        cmocka_unit_test(local_fds__other_names_are_not_kept),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
