/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the unit tests that run on a generated SS-MIX2 storage (test_index, test_viewer):
 * a storage with its extended storage and the generator's truth in a temporary folder.
 */
#ifndef MM_TESTS_UNIT_TEST_STORAGE_H
#define MM_TESTS_UNIT_TEST_STORAGE_H

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/error.h"
#include "tools/gen/gen.h"

struct test_storage {
    char dir[128];
    char std[300], ext[300], truth[300];
    json_t *truth_json;
    json_t *patients; /* borrowed from truth_json */
};

static inline int test_storage_rm_cb(const char *path, const struct stat *st, int flag,
                                     struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove @dir and everything below it. */
static inline void test_rm_rf(const char *dir)
{
    nftw(dir, test_storage_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* (Re)load the truth of @s. @return 0, or -1 (said on stderr) */
static inline int test_storage_load_truth(struct test_storage *s)
{
    json_error_t e;

    json_decref(s->truth_json);
    s->truth_json = json_load_file(s->truth, 0, &e);
    if (!s->truth_json) {
        fprintf(stderr, "truth: %s\n", e.text);
        return -1;
    }
    s->patients = json_object_get(s->truth_json, "patients");
    return json_array_size(s->patients) > 0 ? 0 : -1;
}

/*
 * Generate @patients x @days from 2025-04-14 with @seed (extended storage and truth too) into
 * a new folder /tmp/mamori-test-@tag-XXXXXX and load the truth. @return 0, or -1 (said on
 * stderr)
 */
static inline int test_storage_make(struct test_storage *s, const char *tag, unsigned patients,
                                    unsigned days, uint64_t seed)
{
    struct gen_opts o = { 0 };

    snprintf(s->dir, sizeof(s->dir), "/tmp/mamori-test-%s-XXXXXX", tag);
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(s->std, sizeof(s->std), "%s/standard", s->dir);
    snprintf(s->ext, sizeof(s->ext), "%s/extended", s->dir);
    snprintf(s->truth, sizeof(s->truth), "%s/truth.json", s->dir);
    o.out = s->dir;
    o.patients = patients;
    o.days = days;
    o.seed = seed;
    o.start = 20180; /* 2025-04-14 */
    o.extended = 1;
    o.truth = s->truth;
    o.threads = 2;
    if (gen_create(&o, NULL) != 0) {
        fprintf(stderr, "generate: %s\n", mm_error_last());
        return -1;
    }
    return test_storage_load_truth(s);
}

/* Free the truth and remove the folder. */
static inline void test_storage_free(struct test_storage *s)
{
    json_decref(s->truth_json);
    s->truth_json = NULL;
    s->patients = NULL;
    if (s->dir[0])
        test_rm_rf(s->dir);
}

#endif
