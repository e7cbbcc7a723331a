/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the generation manifest codec (repo_format.h). Every input is decoded;
 * a rejected input must be rejected as MM_ECORRUPT (or MM_ENOMEM) and leave the generation
 * zeroed. An accepted one must encode, and decoding the encoding must give the same
 * generation and patient index ids; when the input holds only known tags and a counts
 * record of exactly 80 bytes and a patient-index check of exactly 20 (so that it has one
 * encoding), the encoding must be the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/endian.h"
#include "common/error.h"
#include "repo/repo_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop the run: a property does not hold. */
static void fail(const char *what)
{
    fprintf(stderr, "fuzz_repo_manifest: %s (%s)\n", what, mm_error_last());
    abort();
}

/* Whether the manifest @p has only known tags and an 80-byte counts record. */
static int canonical(const unsigned char *p, size_t n)
{
    size_t pos = 0;

    while (n - pos >= 6) {
        unsigned tag = mm_get_le16(p + pos);
        size_t len = mm_get_le32(p + pos + 2);

        if (tag == 0 || tag > 15 || (tag == 10 && len != 80) || (tag == 14 && len != 20) ||
            len > n - pos - 6)
            return 0;
        pos += 6 + len;
    }
    return pos == n;
}

/* Whether two strings are equal, both NULL included. */
static int str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whether two decoded generations are the same. */
static int gen_same(const struct mm_repo_gen *a, const struct mm_repo_gen *b)
{
    if (strcmp(a->id, b->id) != 0 || strcmp(a->parent, b->parent) != 0 ||
        !str_same(a->name, b->name) || !str_same(a->host, b->host) || !str_same(a->user, b->user) ||
        a->start_ns != b->start_ns || a->end_ns != b->end_ns || a->nsources != b->nsources ||
        memcmp(&a->counts, &b->counts, sizeof(a->counts)) != 0 ||
        memcmp(a->root, b->root, sizeof(a->root)) != 0 || a->has_index != b->has_index ||
        a->index_size != b->index_size || !str_same(a->guard, b->guard) ||
        !str_same(a->guard_reasons, b->guard_reasons) || a->check.present != b->check.present ||
        a->check.attention != b->check.attention || a->check.patients != b->check.patients ||
        a->check.parent_patients != b->check.parent_patients || a->verify != b->verify ||
        a->verify_ns != b->verify_ns)
        return 0;
    if (a->nstorages != b->nstorages)
        return 0;
    for (size_t i = 0; i < a->nstorages; i++)
        if (strcmp(a->storages[i].path, b->storages[i].path) != 0 ||
            a->storages[i].kind != b->storages[i].kind ||
            a->storages[i].indexed != b->storages[i].indexed)
            return 0;
    if (!a->viewer != !b->viewer ||
        (a->viewer && (a->viewer->flags != b->viewer->flags || a->viewer->n != b->viewer->n)))
        return 0;
    for (size_t i = 0; a->viewer && i < a->viewer->n; i++)
        if (strcmp(a->viewer->files[i].path, b->viewer->files[i].path) != 0 ||
            a->viewer->files[i].size != b->viewer->files[i].size ||
            memcmp(a->viewer->files[i].sha256, b->viewer->files[i].sha256, 32) != 0)
            return 0;
    for (size_t i = 0; i < a->nsources; i++)
        if (strcmp(a->sources[i].path, b->sources[i].path) != 0 ||
            strcmp(a->sources[i].name, b->sources[i].name) != 0 ||
            a->sources[i].kind != b->sources[i].kind)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct mm_repo_gen zero;
    struct mm_repo_gen g, g2;
    unsigned char *ids = NULL, *ids2 = NULL;
    size_t nids = 0, nids2 = 0;
    mm_buf b;
    int rc;

    rc = mm_repo__manifest_decode(data, size, &g, &ids, &nids);
    if (rc != 0) {
        if (rc != MM_ECORRUPT && rc != MM_ENOMEM)
            fail("rejected with an unexpected code");
        if (memcmp(&g, &zero, sizeof(g)) != 0 || ids)
            fail("a rejected manifest left something behind");
        return 0;
    }
    mm_buf_init(&b, MM_REPO_MANIFEST_MAX);
    if (mm_repo__manifest_encode(&g, ids, nids, &b) != 0)
        fail("a decoded manifest does not encode");
    if (canonical(data, size) && (b.len != size || memcmp(b.ptr, data, size) != 0))
        fail("the encoding differs from the input");
    if (mm_repo__manifest_decode(b.ptr, b.len, &g2, &ids2, &nids2) != 0)
        fail("the encoding does not decode");
    if (!gen_same(&g, &g2) || nids != nids2 || (nids && memcmp(ids, ids2, nids * ID_SIZE) != 0))
        fail("generations differ");
    mm_repo_gen_release(&g);
    mm_repo_gen_release(&g2);
    free(ids);
    free(ids2);
    mm_buf_release(&b);
    return 0;
}
