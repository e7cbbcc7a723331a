/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a backup's walk saw change against the parent generation, told to the caller's delta
 * observer (mm_repo_backup_opts.delta, the guard): per compared folder its counts, files
 * renamed in it (found by inode), files and folders of the parent's folder that are gone (a
 * folder counted from the parent's trees), and for every file read whether it is new, was
 * rewritten in place, replaced by another inode, or only touched, with its first bytes. The
 * walk calls these only when an observer is set: without one a backup does no extra work.
 * Called from the worker threads; paths hold patient IDs and are never printed here.
 */
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "repo/repo_backup_int.h"
#include "repo/repo_int.h"

#define DELETED_DEPTH 64 /* folders below a deleted folder counted at most this deep */

void mm_repo__bk_content(const unsigned char *ids, size_t n, unsigned char out[ID_SIZE])
{
    mm_crypto_hash(n ? ids : (const unsigned char *)"", n * ID_SIZE, out);
}

/* The path of job @j relative to its source (no leading '/'). */
static const char *rel_path(const struct bstate *st, const struct job *j)
{
    const char *base = st->src[j->src].path, *rel = j->path;
    size_t n = strlen(base);

    if (strncmp(rel, base, n) == 0)
        rel += n;
    while (*rel == '/')
        rel++;
    return rel;
}

static void emit(struct bstate *st, struct mm_repo_delta *d)
{
    st->o->delta(d, st->o->ctx);
}

/* The name of the parent's entry @e, NUL-terminated in @out (at most MM_LIMIT_NAME bytes). */
static const char *entry_name(const struct mm_repo__entry *e, char out[MM_LIMIT_NAME + 1])
{
    size_t n = e->namelen < MM_LIMIT_NAME ? e->namelen : MM_LIMIT_NAME;

    memcpy(out, e->name, n);
    out[n] = '\0';
    return out;
}

void mm_repo__bk_renamed(struct worker *wk, const struct job *j, const char *name,
                         const struct mm_repo__entry *old)
{
    struct bstate *st = wk->st;
    struct mm_repo_delta d;
    char oldname[MM_LIMIT_NAME + 1];

    memset(&d, 0, sizeof(d));
    d.kind = MM_REPO_DELTA_RENAMED;
    d.source = j->src;
    d.dir = rel_path(st, j);
    d.name = name;
    d.old_name = entry_name(old, oldname);
    d.size = old->size;
    d.count = 1;
    d.has_old = d.has_new = 1;
    mm_repo__bk_content(old->ids, old->nids, d.old_content);
    memcpy(d.new_content, d.old_content, ID_SIZE);
    emit(st, &d);
}

/* Count the files below the old tree @id into *@count (what can be read of it). */
static void count_old(struct worker *wk, const unsigned char id[ID_SIZE], int depth,
                      uint64_t *count)
{
    struct mm_repo__tree t = { 0 };

    if (depth > DELETED_DEPTH || mm_repo__tree_get(wk->st->r, &wk->w, id, &t) < 0) {
        mm_error_clear(); /* a damaged parent tree: counted as far as it reads */
        return;
    }
    for (size_t i = 0; i < t.n; i++) {
        if (t.e[i].kind == MM_REPO_KIND_FILE)
            (*count)++;
        else if (t.e[i].kind == MM_REPO_KIND_DIR && t.e[i].nids == 1)
            count_old(wk, t.e[i].ids, depth + 1, count);
    }
    mm_repo__tree_release(&t);
}

/* Tell the observer of the old entry @e of @j's folder that is gone. */
static void deleted(struct worker *wk, const struct job *j, const char *dir,
                    const struct mm_repo__entry *e)
{
    struct bstate *st = wk->st;
    struct mm_repo_delta d;
    char name[MM_LIMIT_NAME + 1];

    memset(&d, 0, sizeof(d));
    d.kind = MM_REPO_DELTA_DELETED;
    d.source = j->src;
    d.dir = dir;
    d.name = entry_name(e, name);
    if (e->kind == MM_REPO_KIND_FILE) {
        d.size = e->size;
        d.count = 1;
        d.has_old = 1;
        mm_repo__bk_content(e->ids, e->nids, d.old_content);
    } else if (e->nids == 1) {
        count_old(wk, e->ids, 1, &d.count);
    }
    emit(st, &d);
}

void mm_repo__bk_folder_done(struct worker *wk, const struct job *j,
                             const struct mm_repo__bk_seen *seen)
{
    struct bstate *st = wk->st;
    const struct mm_repo__tree *old = seen->old;
    struct mm_repo_delta d;
    const char *dir = rel_path(st, j);

    memset(&d, 0, sizeof(d));
    d.kind = MM_REPO_DELTA_FOLDER;
    d.source = j->src;
    d.dir = dir;
    d.count = seen->files;
    d.unchanged = seen->unchanged;
    for (size_t i = 0; i < old->n; i++)
        d.before += old->e[i].kind == MM_REPO_KIND_FILE;
    emit(st, &d);
    for (size_t i = 0; i < old->n; i++) {
        const struct mm_repo__entry *e = &old->e[i];
        unsigned m = seen->mark ? seen->mark[i] : 0;
        if (e->kind == MM_REPO_KIND_FILE && !(m & (SEEN_FILE | SEEN_RENAMED)))
            deleted(wk, j, dir, e);
        else if (e->kind == MM_REPO_KIND_DIR && !(m & SEEN_DIR))
            deleted(wk, j, dir, e);
    }
}

void mm_repo__bk_file_read(struct worker *wk, const struct job *j, const struct stat *s,
                           uint64_t size)
{
    struct bstate *st = wk->st;
    struct mm_repo_delta d;
    char dir[MM_LIMIT_PATH];
    const char *rel = rel_path(st, j), *slash = strrchr(rel, '/');
    size_t n = slash ? (size_t)(slash - rel) : 0;

    if (n >= sizeof(dir))
        n = sizeof(dir) - 1;
    memcpy(dir, rel, n);
    dir[n] = '\0';
    memset(&d, 0, sizeof(d));
    d.source = j->src;
    d.dir = dir;
    d.name = slash ? slash + 1 : rel;
    d.size = size;
    d.count = 1;
    d.has_new = 1;
    mm_repo__bk_content((const unsigned char *)wk->ids, wk->nids, d.new_content);
    if (!j->has_old) {
        d.kind = MM_REPO_DELTA_ADDED;
    } else {
        d.has_old = 1;
        memcpy(d.old_content, j->old, ID_SIZE);
        if (memcmp(d.old_content, d.new_content, ID_SIZE) == 0)
            d.kind = MM_REPO_DELTA_TOUCHED;
        else if (j->old_ino == (uint64_t)s->st_ino && j->old_dev == (uint64_t)s->st_dev)
            d.kind = MM_REPO_DELTA_MODIFIED;
        else
            d.kind = MM_REPO_DELTA_REPLACED;
    }
    d.head = wk->head;
    d.headlen = wk->headlen;
    emit(st, &d);
}
