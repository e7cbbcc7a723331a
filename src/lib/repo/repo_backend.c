/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which backend a repository location names (repo_backend.h): "s3://..." the S3 backend
 * (repo_s3.c, only in builds with MM_HAVE_S3), anything else a local folder (repo_local.c).
 */
#include "repo/repo_backend.h"

#include <string.h>

#include "common/error.h"

int mm_repo_be_is_s3(const char *location)
{
    return location && strncmp(location, "s3://", 5) == 0;
}

int mm_repo_be_open(struct mm_repo_be **out, const char *location, int create)
{
    MM_ASSERT_ARG(out && location);
    if (mm_repo_be_is_s3(location)) {
#ifdef MM_HAVE_S3
        return mm_repo_be_s3_open(out, location, create);
#else
        return mm_error_set(MM_EINVAL, "S3 repositories are not in this build");
#endif
    }
    (void)create;
    return mm_repo_be_local_open(out, location);
}
