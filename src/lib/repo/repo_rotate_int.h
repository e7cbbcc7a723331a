/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the key rotation (repo_rotate.c, repo_rotate_tree.c): the folder work on the
 * restored plaintext in the work folder.
 */
#ifndef MM_REPO_REPO_ROTATE_INT_H
#define MM_REPO_REPO_ROTATE_INT_H

#include <stddef.h>
#include <stdint.h>

/* What a comparison of two restored trees went through. */
struct mm_repo__rotate_cmp {
    uint64_t files, dirs, symlinks, bytes;
};

/*
 * Compare the folders @a and @b: the same names, kinds, modes, sizes, file mtimes, link
 * targets and bytes, recursively. Counts go to @c (those of @a).
 * @return 1 same, 0 they differ, MM_EIO, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__rotate_cmp_tree(const char *a, const char *b, struct mm_repo__rotate_cmp *c);

/* Remove @path and all below it (a missing @path is fine). @return 0, MM_EIO, MM_ENOMEM */
int mm_repo__rotate_rmtree(const char *path);

/* qsort comparison of two char *. */
int mm_repo__rotate_cmp_str(const void *a, const void *b);
/* Free @n strings and the array. Accepts NULL. */
void mm_repo__rotate_names_free(char **v, size_t n);

#endif
