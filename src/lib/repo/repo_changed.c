/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The patients whose folders changed between two generations' trees
 * (mm_repo_changed_patients): the patient index is updated for those only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "os/os.h"
#include "repo/repo_int.h"

/* ---- changed patients ----------------------------------------------------------------------- */

struct strv {
    char **v;
    size_t n, cap;
};

static int strv_push(struct strv *s, const char *p, size_t len)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        void *nv = mm_realloc(s->v, ncap * sizeof(*s->v));
        if (!nv)
            return mm_error_set(MM_ENOMEM, "out of memory");
        s->v = nv;
        s->cap = ncap;
    }
    if (!(s->v[s->n] = mm_strndup(p, len)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    s->n++;
    return 0;
}

void mm_repo_strings_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mm_free(v[i]);
    mm_free(v);
}

/* The folder entries of tree @id (or none for NULL). */
static int load_tree(mm_repo *r, struct mm_repo__work *w, const unsigned char *id,
                     struct mm_repo__tree *t)
{
    memset(t, 0, sizeof(*t));
    return id ? mm_repo__tree_get(r, w, id, t) : 0;
}

/* Walk the folders of both trees at level @level (3: patient folders), adding changed names. */
static int diff_level(mm_repo *r, struct mm_repo__work *w, const unsigned char *a,
                      const unsigned char *b, int level, struct strv *out)
{
    struct mm_repo__tree ta, tb;
    size_t i = 0, k = 0;
    int err;

    if (a && b && memcmp(a, b, ID_SIZE) == 0)
        return 0;
    if ((err = load_tree(r, w, a, &ta)) < 0)
        return err;
    if ((err = load_tree(r, w, b, &tb)) < 0) {
        mm_repo__tree_release(&ta);
        return err;
    }
    while ((i < ta.n || k < tb.n) && err == 0) {
        const struct mm_repo__entry *x = i < ta.n ? &ta.e[i] : NULL,
                                    *y = k < tb.n ? &tb.e[k] : NULL;
        int c;
        const unsigned char *xa, *yb;
        if (x && y) {
            size_t m = x->namelen < y->namelen ? x->namelen : y->namelen;
            c = memcmp(x->name, y->name, m);
            if (c == 0)
                c = x->namelen < y->namelen ? -1 : x->namelen > y->namelen;
        } else {
            c = x ? -1 : 1;
        }
        xa = c <= 0 && x->kind == MM_REPO_KIND_DIR ? x->ids : NULL;
        yb = c >= 0 && y->kind == MM_REPO_KIND_DIR ? y->ids : NULL;
        if (xa || yb) {
            const struct mm_repo__entry *e = c <= 0 ? x : y;
            if (level == 3) {
                if (!(xa && yb && memcmp(xa, yb, ID_SIZE) == 0))
                    err = strv_push(out, e->name, e->namelen);
            } else {
                err = diff_level(r, w, xa, yb, level + 1, out);
            }
        }
        if (c <= 0)
            i++;
        if (c >= 0)
            k++;
    }
    mm_repo__tree_release(&ta);
    mm_repo__tree_release(&tb);
    return err;
}

/*
 * The folder at the '/'-separated @path below the root tree @root (NULL: none).
 * OUT: @id, *@found (0 when some level is missing or not a folder)
 */
static int find_folder(mm_repo *r, struct mm_repo__work *w, const unsigned char *root,
                       const char *path, unsigned char id[ID_SIZE], int *found)
{
    unsigned char cur[ID_SIZE];
    const char *p = path;

    *found = 0;
    if (!root)
        return 0;
    memcpy(cur, root, ID_SIZE);
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        const struct mm_repo__entry *e;
        struct mm_repo__tree t;
        int err;

        if (len == 0) {
            p++;
            continue;
        }
        if ((err = load_tree(r, w, cur, &t)) < 0)
            return err;
        e = mm_repo__tree_find(&t, p, len);
        if (!e || e->kind != MM_REPO_KIND_DIR) {
            mm_repo__tree_release(&t);
            return 0;
        }
        memcpy(cur, e->ids, ID_SIZE);
        mm_repo__tree_release(&t);
        p += len;
    }
    memcpy(id, cur, ID_SIZE);
    *found = 1;
    return 0;
}

int mm_repo_changed_patients(mm_repo *r, const unsigned char *old_root,
                             const unsigned char *new_root, const char *source, char ***out,
                             size_t *n)
{
    unsigned char a[ID_SIZE], b[ID_SIZE];
    struct mm_repo__work w;
    struct strv v = { 0 };
    int err, has_a = 0, has_b = 0;

    *out = NULL;
    *n = 0;
    if ((err = mm_repo__work_init(&w)) < 0)
        return err;
    if ((err = find_folder(r, &w, old_root, source, a, &has_a)) < 0 ||
        (err = find_folder(r, &w, new_root, source, b, &has_b)) < 0)
        goto out;
    if (!has_b) {
        err = mm_error_set(MM_ENOTFOUND, "the generation has no folder '%s'", source);
        goto out;
    }
    err = diff_level(r, &w, has_a ? a : NULL, b, 1, &v);
out:
    mm_repo__work_release(&w);
    if (err < 0) {
        mm_repo_strings_free(v.v, v.n);
        return err;
    }
    *out = v.v;
    *n = v.n;
    return 0;
}
