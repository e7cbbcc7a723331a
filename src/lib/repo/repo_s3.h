/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the S3 backend (repo_s3*.c) offers beyond the ops table of repo_backend.h: the lock
 * proof on demand (for `status`) and the extension of retention before a generation is
 * recorded as stored (docs/format.md "S3 repositories"). Both take a backend opened by
 * mm_repo_be_s3_open(); given any other backend they return MM_EINVAL.
 */
#ifndef MM_REPO_REPO_S3_H
#define MM_REPO_REPO_S3_H

#include <stdint.h>

#include "repo/repo_backend.h"

/* What the last mm_repo_be_s3_extend() did. */
struct mm_repo_be_s3_counts {
    uint64_t checked;       /* ONCE objects looked at */
    uint64_t extended;      /* whose retention was extended */
    uint64_t failed;        /* that could not be checked or extended */
    uint64_t lock_requests; /* since open: uploads with lock headers and retention requests
                             * sent (the proof's own test object not counted) */
};

/* 1 when @b is an S3 backend. */
int mm_repo_be_is_s3_backend(const struct mm_repo_be *b);

/*
 * Prove (once per handle) that the store keeps Object Lock: the bucket's lock configuration
 * and versioning say Enabled, and a test object "<prefix>/lockproof/<32 hex>" written with a
 * COMPLIANCE retention of one day cannot be deleted by version (also not with the bypass
 * header) and reads back that retention. The verdict goes to b->info (immutable, why_not);
 * a store that failed is never sent a lock header or retention request by this handle.
 * @return 0 (whatever the verdict), MM_EINVAL (not S3), MM_EIO/MM_EAUTH (the proof could not
 *         be run)
 */
int mm_repo_be_s3_proof(struct mm_repo_be *b);

/*
 * Make every ONCE object of the repository retained at least until @until (seconds since
 * 1970 UTC): each whose retention ends sooner gets until + retain_days/4 days. Queued writes
 * are flushed first. Does nothing on a store that is not immutable. Counts into @counts
 * (may be NULL).
 * @return 0 (all retained long enough), MM_EREFUSED (some could not be extended: counted as
 *         failed), MM_EIO, MM_EINVAL (not S3)
 */
int mm_repo_be_s3_extend(struct mm_repo_be *b, int64_t until);

/* The counts of the last mm_repo_be_s3_extend() on @b (lock_requests: since open). @return 0,
 * MM_EINVAL (not S3) */
int mm_repo_be_s3_counts(const struct mm_repo_be *b, struct mm_repo_be_s3_counts *out);

#endif
