/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PLACEHOLDER (branch g-repo replaces this file): the guard's records in the repository, with
 * no acceptance yet, so that the other branches build against repo.h.
 */
#include <string.h>

#include "common/error.h"
#include "repo/repo.h"

int mm_repo_guard_accept(mm_repo *r, const char *spec, const char *reason,
                         struct mm_repo_guard_accept *out)
{
    (void)r;
    (void)spec;
    (void)reason;
    (void)out;
    return mm_error_set(MM_ERROR, "guard acceptance is not written yet");
}

int mm_repo_guard_accepted(mm_repo *r, const char *id, struct mm_repo_guard_accept *out)
{
    (void)r;
    (void)id;
    (void)out;
    return 0;
}

size_t mm_repo_gen_standing(const struct mm_repo_gen *g, size_t n)
{
    size_t s = n;

    for (size_t i = 0; i < n; i++) {
        if (mm_repo_gen_good(&g[i]))
            s = n;
        else if (s == n)
            s = i;
    }
    return s;
}

int mm_repo_gen_good(const struct mm_repo_gen *g)
{
    return !(g->guard && strcmp(g->guard, "suspect") == 0) || g->guard_accepted;
}
