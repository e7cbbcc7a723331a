/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Folder work of a key rotation (repo_rotate.c): remove a restored tree, and compare two
 * restored trees — the old generation's and its copy's — entry by entry in name order:
 * kind, size, mode, mtime (files), link target and every byte. The comparison is plain
 * bytes, not the repositories' keyed object IDs (which differ by design). Memory: one folder
 * listing per level in flight. Messages name no path: restored paths are patient data.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "repo/repo_rotate_int.h"

/* The names in folder @dir (no "." or ".."), sorted. OUT: *names, *n */
static int list_sorted(const char *dir, char ***names, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    int err = 0;

    if (!d)
        return mm_error_set_errno(MM_EIO, errno, "cannot list a folder of the work folder");
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **nv = mm_realloc(v, ncap * sizeof(*v));
            if (!nv) {
                err = MM_ENOMEM;
                goto out;
            }
            v = nv;
            cap = ncap;
        }
        if (!(v[cnt] = mm_strdup(e->d_name))) {
            err = MM_ENOMEM;
            goto out;
        }
        cnt++;
    }
    if (cnt > 1)
        qsort(v, cnt, sizeof(*v), mm_repo__rotate_cmp_str);
out:
    closedir(d);
    if (err < 0) {
        mm_repo__rotate_names_free(v, cnt);
        return err;
    }
    *names = v;
    *n = cnt;
    return 0;
}

int mm_repo__rotate_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void mm_repo__rotate_names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mm_free(v[i]);
    mm_free(v);
}

int mm_repo__rotate_rmtree(const char *path)
{
    struct stat st;
    char **names = NULL, sub[MM_LIMIT_PATH];
    size_t n = 0;
    int err = 0;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0
                               : mm_error_set_errno(MM_EIO, errno, "cannot clear the work folder");
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0
                       ? 0
                       : mm_error_set_errno(MM_EIO, errno, "cannot clear the work folder");
    chmod(path, 0700); /* a restored read-only folder */
    if ((err = list_sorted(path, &names, &n)) < 0)
        return err;
    for (size_t i = 0; i < n && err == 0; i++) {
        if (snprintf(sub, sizeof(sub), "%s/%s", path, names[i]) >= (int)sizeof(sub))
            err = mm_error_set(MM_ELIMIT, "path too long in the work folder");
        else
            err = mm_repo__rotate_rmtree(sub);
    }
    mm_repo__rotate_names_free(names, n);
    if (err == 0 && rmdir(path) != 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot clear the work folder");
    return err;
}

/* Whether the files @a and @b hold the same bytes. @return 1 same, 0 differ, < 0 error */
static int same_bytes(const char *a, const char *b, uint64_t *bytes)
{
    enum { BLOCK = 64 * 1024 };
    unsigned char *ba = mm_malloc(2 * BLOCK), *bb;
    int fa = -1, fb = -1, rc = 1;

    if (!ba)
        return MM_ENOMEM;
    bb = ba + BLOCK;
    fa = open(a, O_RDONLY | O_CLOEXEC);
    fb = open(b, O_RDONLY | O_CLOEXEC);
    if (fa < 0 || fb < 0) {
        rc = mm_error_set_errno(MM_EIO, errno, "cannot read a restored file of the work folder");
        goto out;
    }
    for (;;) {
        ssize_t na = read(fa, ba, BLOCK), nb;
        if (na < 0) {
            rc = mm_error_set_errno(MM_EIO, errno, "cannot read a restored file");
            goto out;
        }
        for (nb = 0; nb < na;) {
            ssize_t got = read(fb, bb + nb, (size_t)(na - nb));
            if (got < 0) {
                rc = mm_error_set_errno(MM_EIO, errno, "cannot read a restored file");
                goto out;
            }
            if (got == 0)
                break;
            nb += got;
        }
        if (nb != na || memcmp(ba, bb, (size_t)na) != 0) {
            rc = 0;
            goto out;
        }
        *bytes += (uint64_t)na;
        if (na == 0)
            break;
    }
out:
    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    mm_free(ba);
    return rc;
}

/* Compare the entries @a and @b (lstat'ed as @sa, @sb). @return 1 same, 0 differ, < 0 */
static int same_entry(const char *a, const char *b, const struct stat *sa, const struct stat *sb,
                      struct mm_repo__rotate_cmp *c)
{
    if ((sa->st_mode & S_IFMT) != (sb->st_mode & S_IFMT))
        return 0;
    if (S_ISLNK(sa->st_mode)) {
        char ta[MM_LIMIT_PATH], tb[MM_LIMIT_PATH];
        ssize_t na = readlink(a, ta, sizeof(ta)), nb = readlink(b, tb, sizeof(tb));
        c->symlinks++;
        return na >= 0 && na == nb && memcmp(ta, tb, (size_t)na) == 0;
    }
    if ((sa->st_mode & 07777) != (sb->st_mode & 07777))
        return 0;
    if (S_ISDIR(sa->st_mode)) {
        c->dirs++;
        return mm_repo__rotate_cmp_tree(a, b, c);
    }
    if (!S_ISREG(sa->st_mode))
        return 1; /* nothing else is restored */
    c->files++;
    if (sa->st_size != sb->st_size || sa->st_mtim.tv_sec != sb->st_mtim.tv_sec ||
        sa->st_mtim.tv_nsec != sb->st_mtim.tv_nsec)
        return 0;
    return same_bytes(a, b, &c->bytes);
}

int mm_repo__rotate_cmp_tree(const char *a, const char *b, struct mm_repo__rotate_cmp *c)
{
    char **na = NULL, **nb = NULL, pa[MM_LIMIT_PATH], pb[MM_LIMIT_PATH];
    size_t ca = 0, cb = 0;
    int rc = 1;

    if ((rc = list_sorted(a, &na, &ca)) < 0 || (rc = list_sorted(b, &nb, &cb)) < 0)
        goto out;
    rc = ca == cb;
    for (size_t i = 0; i < ca && rc == 1; i++) {
        struct stat sa, sb;
        if (strcmp(na[i], nb[i]) != 0) {
            rc = 0;
            break;
        }
        if (snprintf(pa, sizeof(pa), "%s/%s", a, na[i]) >= (int)sizeof(pa) ||
            snprintf(pb, sizeof(pb), "%s/%s", b, nb[i]) >= (int)sizeof(pb)) {
            rc = mm_error_set(MM_ELIMIT, "path too long in the work folder");
            break;
        }
        if (lstat(pa, &sa) != 0 || lstat(pb, &sb) != 0) {
            rc = mm_error_set_errno(MM_EIO, errno, "cannot inspect a restored file");
            break;
        }
        rc = same_entry(pa, pb, &sa, &sb, c);
    }
out:
    if (rc == MM_ENOMEM)
        mm_error_set(MM_ENOMEM, "out of memory");
    mm_repo__rotate_names_free(na, ca);
    mm_repo__rotate_names_free(nb, cb);
    return rc;
}
