/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the tree codec (repo_format.h). Every input is decoded; a rejected input
 * must be rejected as MM_ECORRUPT (or MM_ENOMEM). An accepted one must encode back to
 * exactly the input (a tree has one encoding), and decoding that must give the same
 * entries. Entries are compared field by field, names and ids as bytes.
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
    fprintf(stderr, "fuzz_repo_tree: %s (%s)\n", what, mm_error_last());
    abort();
}

/* Whether two decoded entries are the same. */
static int entry_same(const struct mm_repo__entry *a, const struct mm_repo__entry *b)
{
    if (a->namelen != b->namelen || memcmp(a->name, b->name, a->namelen) != 0 ||
        a->kind != b->kind || a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
        a->size != b->size || a->mtime_ns != b->mtime_ns || a->ctime_ns != b->ctime_ns ||
        a->ino != b->ino || a->dev != b->dev || a->nids != b->nids || a->targetlen != b->targetlen)
        return 0;
    if (a->nids && memcmp(a->ids, b->ids, (size_t)a->nids * ID_SIZE) != 0)
        return 0;
    return a->targetlen == 0 || memcmp(a->target, b->target, a->targetlen) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mm_repo__tree t = { NULL, 0, NULL }, t2 = { NULL, 0, NULL };
    mm_buf b;
    int rc;

    rc = mm_repo__tree_decode(data, size, &t);
    if (rc != 0) {
        if (rc != MM_ECORRUPT && rc != MM_ENOMEM)
            fail("rejected with an unexpected code");
        if (t.e || t.data || t.n)
            fail("a rejected tree holds something");
        return 0;
    }
    mm_buf_init(&b, MM_REPO_TREE_MAX);
    if (mm_repo__tree_encode(&t, &b) != 0)
        fail("a decoded tree does not encode");
    if (b.len != size || memcmp(b.ptr, data, size) != 0)
        fail("the encoding differs from the input");
    if (mm_repo__tree_decode(b.ptr, b.len, &t2) != 0)
        fail("the encoding does not decode");
    if (t.n != t2.n)
        fail("entry counts differ");
    for (size_t i = 0; i < t.n; i++)
        if (!entry_same(&t.e[i], &t2.e[i]))
            fail("entries differ");
    mm_repo__tree_release(&t);
    mm_repo__tree_release(&t2);
    mm_buf_release(&b);
    return 0;
}
