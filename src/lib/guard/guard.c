/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PLACEHOLDER (branch g-core replaces this file): the guard's API with no judgement yet, so
 * that the other branches build against guard.h.
 */
#include "guard/guard.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

struct mm_guard {
    int unused;
};

int mm_guard_new(const struct mm_guard_opts *o, mm_guard **out)
{
    MM_ASSERT_ARG(o && out);
    if (!(*out = mm_calloc(1, sizeof(**out))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    return 0;
}

void mm_guard_free(mm_guard *g)
{
    mm_free(g);
}

void mm_guard_observe(const struct mm_repo_delta *d, void *ctx)
{
    (void)d;
    (void)ctx;
}

int mm_guard_judge(mm_guard *g, struct mm_guard_verdict *v)
{
    (void)g;
    memset(v, 0, sizeof(*v));
    return 0;
}

int mm_guard_record(mm_guard *g, const char *gen_id, const struct mm_guard_verdict *v)
{
    (void)g;
    (void)gen_id;
    (void)v;
    return 0;
}

void mm_guard_verdict_release(struct mm_guard_verdict *v)
{
    if (!v)
        return;
    mm_free(v->reasons);
    v->reasons = NULL;
}

const char *mm_guard_verdict_name(const struct mm_guard_verdict *v)
{
    return v && v->suspect ? "suspect" : "clean";
}

void mm_guard_reasons_say(const char *reasons, int ja, char *out, size_t cap)
{
    (void)ja;
    if (cap)
        snprintf(out, cap, "%s", reasons ? reasons : "");
}

int mm_guard_standing_list(const char *dir, struct mm_guard_standing **out, size_t *n)
{
    (void)dir;
    *out = NULL;
    *n = 0;
    return 0;
}

int mm_guard_standing_clear(const char *dir, const char *gen)
{
    (void)dir;
    (void)gen;
    return 0;
}
