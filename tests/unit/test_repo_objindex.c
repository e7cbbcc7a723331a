/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the object index (repo_objindex.h, repo_object.c: mm_repo__index_add/find): every object
 * added is found with its location, an absent one is not, a repeat is refused, objects whose IDs
 * share the slot tag byte or the hashed prefix are told apart, and the slot table stays at most 3/4
 * full as it grows. Seeded splitmix64 IDs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "repo/repo_objindex.h"

#define N 200000u

static uint64_t sm64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* The ID of object @i: random, but every third shares the tag byte (id[8]) and every fifth
 * the hashed first 8 bytes of three others, so probes meet equal tags and long runs. */
static void make_id(uint64_t seed, size_t i, unsigned char id[ID_SIZE])
{
    uint64_t s = seed * 1000003u + i;

    for (size_t k = 0; k < ID_SIZE; k += 8) {
        uint64_t v = sm64(&s);
        memcpy(id + k, &v, 8);
    }
    if (i % 3 == 0)
        id[8] = 0x5a;
    if (i % 5 == 0) { /* groups of four with one hashed prefix */
        uint64_t g = seed * 7919u + i / 20u, v = sm64(&g);
        memcpy(id, &v, 8);
    }
}

static void fill_loc(size_t i, struct mm_repo__loc *l)
{
    memset(l, 0, sizeof(*l));
    make_id(1, i, l->id);
    l->pack = (uint32_t)(i % MM_REPO__PACKS_MAX);
    l->offset = (uint32_t)i * 7u;
    l->length = (uint32_t)i + 1u;
    l->plain = (uint32_t)i * 3u;
    l->type = (i & 1) ? MM_REPO_OBJ_TREE : MM_REPO_OBJ_BLOB;
    l->pending = (i % 7) == 0;
}

static void objindex__added_found_absent_not(void **state)
{
    struct mm_repo__objindex ix;
    struct mm_repo__loc l, *out = NULL;
    unsigned char id[ID_SIZE];

    (void)state;
    memset(&ix, 0, sizeof(ix));
    for (size_t i = 0; i < N; i++) {
        fill_loc(i, &l);
        assert_int_equal(mm_repo__index_add(&ix, &l, &out), 1);
        assert_memory_equal(out->id, l.id, ID_SIZE);
        assert_true(ix.nlocs * 4 <= ix.nslots * 3);
    }
    assert_int_equal(ix.nlocs, N);
    for (size_t i = 0; i < N; i++) {
        struct mm_repo__loc *f;
        fill_loc(i, &l);
        f = mm_repo__index_find(&ix, l.id);
        assert_non_null(f);
        assert_memory_equal(f->id, l.id, ID_SIZE);
        assert_int_equal(f->pack, l.pack);
        assert_int_equal(f->offset, l.offset);
        assert_int_equal(f->length, l.length);
        assert_int_equal(f->plain, l.plain);
        assert_int_equal(f->type, l.type);
        assert_int_equal(f->pending, l.pending);
        /* a repeat is not added again */
        assert_int_equal(mm_repo__index_add(&ix, &l, &out), 0);
        assert_ptr_equal(out, f);
    }
    for (size_t i = 0; i < N; i++) { /* same tag and prefix patterns, other IDs */
        make_id(2, i, id);
        assert_null(mm_repo__index_find(&ix, id));
    }
    mm_repo__index_release(&ix);
    assert_int_equal(ix.nslots, 0);
}

/* The packed word keeps the largest pack number, both types and the flag apart. */
static void objindex__location_fields_apart(void **state)
{
    struct mm_repo__loc l;

    (void)state;
    memset(&l, 0, sizeof(l));
    l.pack = MM_REPO__PACKS_MAX - 1;
    l.type = MM_REPO_OBJ_TREE;
    l.pending = 1;
    assert_int_equal(l.pack, MM_REPO__PACKS_MAX - 1);
    assert_int_equal(l.type, MM_REPO_OBJ_TREE);
    assert_int_equal(l.pending, 1);
    l.pending = 0;
    assert_int_equal(l.pack, MM_REPO__PACKS_MAX - 1);
    assert_int_equal(l.type, MM_REPO_OBJ_TREE);
    assert_int_equal(sizeof(l), 48);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(objindex__added_found_absent_not),
        cmocka_unit_test(objindex__location_fields_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
