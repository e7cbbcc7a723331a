/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File helpers shared by the unit tests that back up and restore whole folders
 * (test_wokeys, test_catalog): path joining, whole-file read and write, a byte-for-byte
 * comparison of two trees, and a temporary folder removed after each test. Include after
 * <cmocka.h> (fail_msg).
 */
#ifndef MM_TESTS_UNIT_TEST_FILES_H
#define MM_TESTS_UNIT_TEST_FILES_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/test_storage.h"

#ifndef PATHCAP
#define PATHCAP 1024
#endif

/* @a/@b into @out (PATHCAP bytes). */
static inline char *pj(char *out, const char *a, const char *b)
{
    if (snprintf(out, PATHCAP, "%s/%s", a, b) >= PATHCAP)
        fail_msg("path too long");
    return out;
}

/* The whole file @path (malloc'd, *@n bytes), or NULL. */
static inline unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p;
    long len;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)len + 1);
    if (p && fread(p, 1, (size_t)len, f) != (size_t)len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* Write @n bytes at @p to @path with @mode (replacing it). */
static inline void write_file_mode(const char *path, const void *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    if (fd < 0 || write(fd, p, n) != (ssize_t)n)
        fail_msg("write '%s'", path);
    close(fd);
}

static const char *test_cmp_root, *test_cmp_other;
static size_t test_cmp_files;

static inline int test_cmp_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    char other[PATHCAP];
    unsigned char *x, *y;
    size_t nx = 0, ny = 0;

    (void)ftw;
    if (flag != FTW_F || !S_ISREG(st->st_mode))
        return 0;
    if (snprintf(other, sizeof(other), "%s%s", test_cmp_other, path + strlen(test_cmp_root)) >=
        (int)sizeof(other))
        fail_msg("path too long");
    x = read_all(path, &nx);
    y = read_all(other, &ny);
    if (!x || !y || nx != ny || memcmp(x, y, nx) != 0)
        fail_msg("'%s' was not restored byte for byte", other);
    free(x);
    free(y);
    test_cmp_files++;
    return 0;
}

/* Every regular file below @a equals the same name below @b. @return the files compared */
static inline size_t compare_trees(const char *a, const char *b)
{
    test_cmp_root = a;
    test_cmp_other = b;
    test_cmp_files = 0;
    nftw(a, test_cmp_cb, 16, FTW_PHYS);
    return test_cmp_files;
}

/* The test's temporary folder, removed (with everything below it) by remove_tmp. */
static char tmpdir[PATHCAP];

/* A cmocka teardown: remove tmpdir. */
static inline int remove_tmp(void **state)
{
    (void)state;
    if (tmpdir[0])
        test_rm_rf(tmpdir);
    tmpdir[0] = '\0';
    return 0;
}

#endif
