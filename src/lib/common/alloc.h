/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation wrappers. Every allocation of the library goes through these, so
 * the allocation-failure torture test (curl's) can fail the k-th allocation and
 * check that every caller returns MM_ENOMEM cleanly and leaks nothing.
 * On failure each sets the thread's error to MM_ENOMEM and returns NULL.
 */
#ifndef MM_COMMON_ALLOC_H
#define MM_COMMON_ALLOC_H

#include <stddef.h>

void *mm_malloc(size_t n);
void *mm_calloc(size_t count, size_t size);
void *mm_realloc(void *p, size_t n);
char *mm_strdup(const char *s);
char *mm_strndup(const char *s, size_t n);
void mm_free(void *p);

/*
 * Test hook: make the @n-th allocation from now fail (1 = the next one), and
 * every later one too when @sticky. 0 turns failure injection off.
 * The counter is process-wide; torture tests run single-threaded.
 */
void mm_alloc_fail_at(long n, int sticky);

/* Test hook: how many allocations were attempted since the last mm_alloc_fail_at(). */
long mm_alloc_count(void);

/*
 * Test hook: count the allocations that are live. From mm_alloc_track(1) on, every successful
 * mm_malloc, mm_calloc, mm_strdup, mm_strndup and mm_realloc(NULL, n) adds one and every
 * mm_free of a non-NULL pointer takes one away; mm_alloc_track(0) stops counting. Both reset
 * the count to 0. Unlike the C library's heap statistics (which count memory parked in
 * per-thread caches as in use, depending on the heap's history), the count is exact: a torture
 * test that frees all it made sees 0 after every run. Only what is allocated after
 * mm_alloc_track(1) may be freed while counting. Process-wide; single-threaded tests only.
 */
void mm_alloc_track(int on);

/* Test hook: allocations made and not yet freed since mm_alloc_track(1) (see there). */
long mm_alloc_live(void);

#endif
