/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The trees of every generation, visited folder by folder for tools that study them
 * (mm_repo_trees_walk), and the object index summed up (mm_repo_object_totals). The walk
 * reads each tree again at every place it is reached (nothing cached: memory stays at one
 * decoded tree per folder level); the path grows in one 8 KiB buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "repo/repo.h"
#include "repo/repo_format.h"
#include "repo/repo_int.h"

#define PATH_CAP 8192u

struct walk {
    mm_repo *r;
    struct mm_repo__work w;
    mm_repo_tree_fn fn;
    void *ctx;
    char *path;
    size_t gen;
};

/* Visit the tree @id at wk->path[0..@plen), then its subfolders. */
static int visit(struct walk *wk, const unsigned char id[ID_SIZE], size_t plen)
{
    struct mm_repo__tree t = { 0 };
    struct mm_repo_tree_visit v;
    struct mm_repo__loc *loc;
    mm_buf b;
    int rc;

    mm_buf_init(&b, MM_REPO_TREE_MAX + 1);
    rc = mm_repo__object_get(wk->r, &wk->w, id, &b);
    if (rc != 0)
        goto out;
    loc = mm_repo__index_find(&wk->r->ix, id);
    if (!loc) {
        rc = mm_error_set(MM_ENOTFOUND, "a tree the object index does not know");
        goto out;
    }
    rc = mm_repo__tree_decode(b.ptr, b.len, &t);
    if (rc != 0)
        goto out;
    wk->path[plen] = '\0';
    v.gen = wk->gen;
    v.path = wk->path;
    v.pathlen = plen;
    v.id = id;
    v.plain = (const unsigned char *)b.ptr;
    v.n = b.len;
    v.stored = loc->length;
    v.entries = t.n;
    rc = wk->fn(&v, wk->ctx);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < t.n; i++) {
        const struct mm_repo__entry *e = &t.e[i];

        if (e->kind != MM_REPO_KIND_DIR)
            continue;
        if (plen + 1 + e->namelen >= PATH_CAP) {
            rc = mm_error_set(MM_ELIMIT, "a folder path over %u bytes", PATH_CAP - 1u);
            goto out;
        }
        wk->path[plen] = '/';
        memcpy(wk->path + plen + 1, e->name, e->namelen);
        rc = visit(wk, e->ids, plen + 1 + e->namelen);
        if (rc != 0)
            goto out;
    }
out:
    mm_repo__tree_release(&t);
    mm_buf_release(&b);
    return rc;
}

int mm_repo_trees_walk(mm_repo *r, mm_repo_tree_fn fn, void *ctx)
{
    struct walk wk = { 0 };
    struct mm_repo_gen *g = NULL;
    size_t ng = 0;
    int rc, work = 0;

    MM_ASSERT_ARG(r);
    MM_ASSERT_ARG(fn);
    wk.r = r;
    wk.fn = fn;
    wk.ctx = ctx;
    wk.path = malloc(PATH_CAP);
    if (!wk.path) {
        rc = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    rc = mm_repo__index_load(r);
    if (rc != 0)
        goto out;
    rc = mm_repo_generations(r, &g, &ng);
    if (rc != 0)
        goto out;
    rc = mm_repo__work_init(&wk.w);
    if (rc != 0)
        goto out;
    work = 1;
    for (size_t i = 0; i < ng && rc == 0; i++) {
        wk.gen = i;
        rc = visit(&wk, g[i].root, 0);
    }
out:
    if (work)
        mm_repo__work_release(&wk.w);
    mm_repo_gens_free(g, ng);
    free(wk.path);
    return rc;
}

int mm_repo_object_totals(mm_repo *r, struct mm_repo_object_totals *out)
{
    int rc;

    MM_ASSERT_ARG(r);
    MM_ASSERT_ARG(out);
    memset(out, 0, sizeof(*out));
    rc = mm_repo__index_load(r);
    if (rc != 0)
        goto out;
    out->objects = r->ix.nlocs;
    out->zstd_level = r->cfg.zstd_level;
    for (size_t i = 0; i < r->ix.nlocs; i++) {
        if (r->ix.locs[i].type == MM_REPO_OBJ_TREE)
            out->tree_bytes += r->ix.locs[i].length;
        else
            out->blob_bytes += r->ix.locs[i].length;
    }
out:
    return rc;
}
