/* SPDX-License-Identifier: Apache-2.0 */
/*
 * malloc wrappers with a failure-injection counter and a live-allocation count for torture
 * tests. Each costs one branch per allocation when disarmed. Armed, the counts are atomic: a
 * torture test of backup or rotate arms them while the backup's worker threads allocate and
 * free (a plain ++/-- there once lost an update and reported -1 allocations leaked); arming
 * and disarming themselves happen while no other thread runs.
 */
#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

static long fail_at; /* 0 = never fail */
static int fail_sticky;
static long attempts;
static int tracking; /* mm_alloc_track() */
static long live;

void mm_alloc_fail_at(long n, int sticky)
{
    fail_at = n;
    fail_sticky = sticky;
    attempts = 0;
}

long mm_alloc_count(void)
{
    return __atomic_load_n(&attempts, __ATOMIC_SEQ_CST);
}

void mm_alloc_track(int on)
{
    tracking = on;
    live = 0;
}

long mm_alloc_live(void)
{
    return __atomic_load_n(&live, __ATOMIC_SEQ_CST);
}

/* Whether this allocation attempt is to fail. */
static int should_fail(void)
{
    if (fail_at <= 0)
        return 0;
    long a = __atomic_add_fetch(&attempts, 1, __ATOMIC_SEQ_CST);
    return a == fail_at || (fail_sticky && a > fail_at);
}

static void *oom(void)
{
    mm_error_set(MM_ENOMEM, "out of memory");
    return NULL;
}

void *mm_malloc(size_t n)
{
    void *p;

    if (should_fail())
        return oom();
    p = malloc(n ? n : 1);
    if (!p)
        return oom();
    if (tracking)
        __atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
    return p;
}

void *mm_calloc(size_t count, size_t size)
{
    void *p;

    if (should_fail())
        return oom();
    p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        return oom();
    if (tracking)
        __atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
    return p;
}

void *mm_realloc(void *p, size_t n)
{
    void *q;

    if (should_fail())
        return oom();
    q = realloc(p, n ? n : 1);
    if (!q)
        return oom();
    if (tracking && !p)
        __atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
    return q;
}

char *mm_strndup(const char *s, size_t n)
{
    char *p = mm_malloc(n + 1);

    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *mm_strdup(const char *s)
{
    return mm_strndup(s, strlen(s));
}

void mm_free(void *p)
{
    if (tracking && p)
        __atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
    free(p);
}
