/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/drill/: the steps of a drill (drill.c runs them in order), what they
 * share, and the check helpers.
 */
#ifndef MM_DRILL_DRILL_INT_H
#define MM_DRILL_DRILL_INT_H

#include "drill/drill.h"
#include "index/index.h"

/* What the steps of one drill share. */
struct mm_drill__run {
    mm_repo *r;
    const struct mm_drill_opts *o;
    struct mm_drill_result *res;
    struct mm_repo_gen gen;
    int have_gen;
    double t0;            /* monotonic seconds at the call (the unlock came before) */
    mm_repo_pages *pages; /* the generation's patient index, read on demand */
    mm_index *ix;         /* over @pages */
    mm_buf ids;           /* every patient ID of the index, NUL-separated */
    size_t nids;
    char restored[600]; /* <scratch>/data: the restore's target */
};

/* Monotonic seconds. */
double mm_drill__now(void);

/* Set check @id of @res: run, @ok, and its detail in both languages (printf formats with the
 * same arguments in the same order). */
void mm_drill__check(struct mm_drill_result *res, enum mm_drill_check_id id, int ok, const char *ja,
                     const char *en, ...);

/* Step 2: open the patient index on demand, find and show the first sampled patient; sets
 * res->viewer_s and the viewer check. @return 0 (the check holds a failure), MM_ENOMEM */
int mm_drill__viewer(struct mm_drill__run *d);

/* Step 5: read the sample of patients end to end and compare them with their restored
 * records (patients and records checks). @return 0, MM_ENOMEM */
int mm_drill__patients(struct mm_drill__run *d);

/* Step 3: check the free space and restore into the scratch folder (space, restore checks).
 * @return 0 (a damaged file is the check's failure), MM_ELIMIT (no room), other errors */
int mm_drill__restore(struct mm_drill__run *d);

/* Step 4: compare the restored folder with the generation's trees (compare check).
 * @return 0, or an error that stopped the comparison */
int mm_drill__compare(struct mm_drill__run *d);

#endif
