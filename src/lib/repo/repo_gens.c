/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The generations of a repository as its callers see them: every manifest read (sealed,
 * signed), sorted oldest first, with what other records say of them applied — verify records
 * (verified/, the newest wins) and the guard's acceptance records (guard/, repo_guard.c) —
 * and one generation found by a spec ("latest", "good", an ID or a unique prefix).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "repo/repo_int.h"

/* Apply every verify record (newest wins) to @g. Damaged records are skipped. */
static void apply_verify_records(mm_repo *r, struct mm_repo_gen *g, size_t ng)
{
    char **names = NULL;
    size_t n = 0;
    mm_buf raw, plain;

    if (mm_repo__list(r, "verified", &names, &n) < 0) {
        mm_error_clear();
        return;
    }
    mm_buf_init(&raw, MM_REPO_MANIFEST_MAX + 1024);
    mm_buf_init(&plain, MM_REPO_MANIFEST_MAX);
    for (size_t i = 0; i < n; i++) {
        char rel[96];
        const unsigned char *p;
        int64_t t;
        uint32_t cnt;
        mm_buf_clear(&raw);
        mm_buf_clear(&plain);
        snprintf(rel, sizeof(rel), "verified/%s", names[i]);
        if (mm_repo__read(r, rel, &raw) < 0 ||
            mm_repo__envelope_open(r, "MMVR", raw.ptr, raw.len, &plain) < 0 || plain.len < 12)
            continue;
        p = (const unsigned char *)plain.ptr;
        t = (int64_t)mm_get_le64(p);
        cnt = mm_get_le32(p + 8);
        if ((plain.len - 12) / (ID_SIZE + 1) < cnt)
            continue;
        for (uint32_t k = 0; k < cnt; k++) {
            const unsigned char *e = p + 12 + (size_t)k * (ID_SIZE + 1);
            char hex[MM_CRYPTO_HEX_SIZE];
            mm_crypto_hex(e, hex);
            for (size_t j = 0; j < ng; j++)
                if (strcmp(g[j].id, hex) == 0 && t >= g[j].verify_ns && e[ID_SIZE] <= 2) {
                    g[j].verify_ns = t;
                    g[j].verify = (enum mm_repo_verify_state)e[ID_SIZE];
                }
        }
    }
    mm_error_clear();
    mm_buf_release(&raw);
    mm_buf_release(&plain);
    mm_repo__list_free(names, n);
}

static int cmp_gen(const void *a, const void *b)
{
    const struct mm_repo_gen *x = a, *y = b;

    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int generations_impl(mm_repo *r, struct mm_repo_gen **out, size_t *nout, int skip);
int mm_repo_generations(mm_repo *r, struct mm_repo_gen **out, size_t *nout)
{
    return generations_impl(r, out, nout, 0);
}
static int generations_impl(mm_repo *r, struct mm_repo_gen **out, size_t *nout, int skip)
{
    char **names = NULL;
    size_t n = 0, k = 0;
    struct mm_repo_gen *g = NULL;
    int err;

    *out = NULL;
    *nout = 0;
    if ((err = mm_repo__list(r, "generations", &names, &n)) < 0)
        return err;
    if (!(g = mm_calloc(n ? n : 1, sizeof(*g)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char *ids = NULL;
        size_t nids = 0;
        if ((err = mm_repo__gen_load(r, names[i], &g[k], &ids, &nids)) < 0) {
            if (skip && err == MM_ECORRUPT) {
                mm_error_clear();
                err = 0;
                continue;
            }
            goto out;
        }
        mm_free(ids);
        k++;
    }
    qsort(g, k, sizeof(*g), cmp_gen);
    apply_verify_records(r, g, k);
    mm_repo__guard_fill(r, g, k);
    *out = g;
    *nout = k;
    g = NULL;
out:
    mm_repo_gens_free(g, k);
    mm_repo__list_free(names, n);
    return err;
}

int mm_repo_gen_find(mm_repo *r, const char *spec, struct mm_repo_gen *out)
{
    struct mm_repo_gen *g = NULL;
    size_t n = 0, hit = SIZE_MAX, len = strlen(spec);
    int err;

    if ((err = generations_impl(r, &g, &n, 1)) < 0)
        return err;
    if (n == 0) {
        err = mm_error_set(MM_ENOTFOUND, "the repository has no generation yet");
        goto out;
    }
    if (strcmp(spec, "latest") == 0) {
        hit = n - 1;
    } else if (strcmp(spec, "good") == 0) {
        for (size_t i = n; i-- > 0 && hit == SIZE_MAX;)
            if (mm_repo_gen_good(&g[i]))
                hit = i;
        if (hit == SIZE_MAX) {
            err = mm_error_set(MM_ENOTFOUND, "the repository has no good generation: every "
                                             "one is suspect and not accepted");
            goto out;
        }
    } else if (len < MM_REPO_GEN_PREFIX_MIN || len > 64 ||
               strspn(spec, "0123456789abcdef") != len) {
        err = mm_error_set(MM_EINVAL,
                           "'%s' is not a generation: give 'latest' or at least %u hex digits of "
                           "its ID",
                           spec, MM_REPO_GEN_PREFIX_MIN);
        goto out;
    } else {
        for (size_t i = 0; i < n; i++) {
            if (strncmp(g[i].id, spec, len) != 0)
                continue;
            if (hit != SIZE_MAX) {
                err = mm_error_set(MM_EINVAL, "'%s' names more than one generation", spec);
                goto out;
            }
            hit = i;
        }
        if (hit == SIZE_MAX) {
            err = mm_error_set(MM_ENOTFOUND, "no generation '%s'", spec);
            goto out;
        }
    }
    *out = g[hit];
    memset(&g[hit], 0, sizeof(g[hit])); /* now owned by the caller */
out:
    mm_repo_gens_free(g, n);
    return err;
}
