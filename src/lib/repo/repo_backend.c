/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which backend a repository location names (repo_backend.h): "s3://..." the S3 backend
 * (repo_s3.c, only in builds with MM_HAVE_S3), anything else a local folder (repo_local.c).
 */
#include "repo/repo_backend.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
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

int mm_repo_be_listed_name(const char *name)
{
    size_t i = strspn(name, "0123456789abcdef");

    if (i != 64 && i != 32)
        return 0;
    return name[i] == '\0' || strcmp(name + i, ".2") == 0;
}

int mm_repo_be_names_push(struct mm_repo__names *l, const char *prefix, const char *name)
{
    size_t len = strlen(prefix) + strlen(name) + 1;
    char *s;

    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        char **nv = mm_realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return mm_error_set(MM_ENOMEM, "out of memory");
        l->v = nv;
        l->cap = ncap;
    }
    if (!(s = mm_malloc(len)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    snprintf(s, len, "%s%s", prefix, name);
    l->v[l->n++] = s;
    return 0;
}
