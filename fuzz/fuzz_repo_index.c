/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the pack table and index file codecs (repo_format.h). Every input is
 * decoded as an index file body and as a pack table (of a pack of MM_REPO_PACK_MAX bytes);
 * a rejected input must be rejected as MM_ECORRUPT (or MM_ENOMEM). An accepted one must
 * encode back to exactly the input (both records have one encoding), and decoding that must
 * give the same packs and objects; an index file's objects must lie in one array. Decoding
 * while keeping some objects only (the viewer's lookup) must give those objects of the same
 * packs whenever the whole decode accepts the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "repo/repo_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop the run: a property does not hold. */
static void fail(const char *what)
{
    fprintf(stderr, "fuzz_repo_index: %s (%s)\n", what, mm_error_last());
    abort();
}

/* Whether the @n objects at @a and @b are the same. */
static int objs_same(const struct mm_repo__obj *a, const struct mm_repo__obj *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(a[i].id, b[i].id, ID_SIZE) != 0 || a[i].type != b[i].type ||
            a[i].offset != b[i].offset || a[i].length != b[i].length || a[i].plain != b[i].plain)
            return 0;
    return 1;
}

/* The input as a pack table. */
static void packtab(const uint8_t *data, size_t size)
{
    struct mm_repo__obj *o = NULL, *o2 = NULL;
    size_t n = 0, n2 = 0;
    mm_buf b;
    int rc;

    rc = mm_repo__packtab_decode(data, size, MM_REPO_PACK_MAX, &o, &n);
    if (rc != 0) {
        if (rc != MM_ECORRUPT && rc != MM_ENOMEM)
            fail("pack table rejected with an unexpected code");
        return;
    }
    mm_buf_init(&b, MM_REPO_PACK_MAX);
    if (mm_repo__packtab_encode(o, n, &b) != 0)
        fail("a decoded pack table does not encode");
    if (b.len != size || memcmp(b.ptr, data, size) != 0)
        fail("the pack table's encoding differs from the input");
    if (mm_repo__packtab_decode(b.ptr, b.len, MM_REPO_PACK_MAX, &o2, &n2) != 0)
        fail("the pack table's encoding does not decode");
    if (n != n2 || !objs_same(o, o2, n))
        fail("pack tables differ");
    free(o);
    free(o2);
    mm_buf_release(&b);
}

/* mm_repo__keep_fn for the test: objects whose ID starts with an even byte. */
static int keep_even(const unsigned char *entry, void *ctx)
{
    (void)ctx;
    return (entry[0] & 1) == 0;
}

/*
 * The input decoded keeping some objects only: whenever the whole decode accepts it, the kept
 * decode gives the same packs with exactly the kept objects, in order.
 */
static void ixfile_keep(const uint8_t *data, size_t size, const struct mm_repo__packinfo *all,
                        size_t nall, int all_rc)
{
    struct mm_repo__packinfo *p = NULL;
    size_t n = 0;
    int rc = mm_repo__ixfile_decode_keep(data, size, keep_even, NULL, &p, &n);

    if (rc != 0) {
        if (rc != MM_ECORRUPT && rc != MM_ENOMEM)
            fail("kept decode rejected with an unexpected code");
        if (all_rc == 0 && rc != MM_ENOMEM)
            fail("kept decode rejects what the whole decode accepts");
        return;
    }
    if (all_rc == 0) {
        if (n != nall)
            fail("kept decode has other packs");
        for (size_t i = 0; i < n; i++) {
            size_t k = 0;
            if (memcmp(p[i].id, all[i].id, ID_SIZE) != 0 || p[i].size != all[i].size)
                fail("kept decode names other packs");
            for (size_t o = 0; o < all[i].nobjs; o++)
                if (keep_even(all[i].objs[o].id, NULL) &&
                    (k >= p[i].nobjs || !objs_same(&all[i].objs[o], &p[i].objs[k++], 1)))
                    fail("kept decode lost or changed an object");
            if (k != p[i].nobjs)
                fail("kept decode kept an object it was not asked for");
        }
    }
    mm_repo__ixfile_free(p, n);
}

/* The input as an index file. */
static void ixfile(const uint8_t *data, size_t size)
{
    struct mm_repo__packinfo *p = NULL, *p2 = NULL;
    size_t n = 0, n2 = 0, k = 0;
    mm_buf b;
    int rc;

    rc = mm_repo__ixfile_decode(data, size, &p, &n);
    ixfile_keep(data, size, p, n, rc);
    if (rc != 0) {
        if (rc != MM_ECORRUPT && rc != MM_ENOMEM)
            fail("index file rejected with an unexpected code");
        if (p)
            fail("a rejected index file holds something");
        return;
    }
    for (size_t i = 0; i < n; k += p[i].nobjs, i++)
        if (p[i].nobjs && p[i].objs != p[0].objs + k)
            fail("objects are not in one array");
    mm_buf_init(&b, MM_REPO_IXFILE_MAX);
    if (mm_repo__ixfile_encode(p, n, &b) != 0)
        fail("a decoded index file does not encode");
    if (b.len != size || memcmp(b.ptr, data, size) != 0)
        fail("the index file's encoding differs from the input");
    if (mm_repo__ixfile_decode(b.ptr, b.len, &p2, &n2) != 0)
        fail("the index file's encoding does not decode");
    if (n != n2)
        fail("pack counts differ");
    for (size_t i = 0; i < n; i++)
        if (memcmp(p[i].id, p2[i].id, ID_SIZE) != 0 || p[i].size != p2[i].size ||
            p[i].nobjs != p2[i].nobjs || !objs_same(p[i].objs, p2[i].objs, p[i].nobjs))
            fail("packs differ");
    mm_repo__ixfile_free(p, n);
    mm_repo__ixfile_free(p2, n2);
    mm_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ixfile(data, size);
    packtab(data, size);
    return 0;
}
