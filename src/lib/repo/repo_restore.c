/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restore: the target (a temporary sibling swapped in when whole, or a merge into it), the
 * filters (a path prefix, or one patient's folders: <pid[0:3]>/<pid[3:6]>/<pid> below an
 * SS-MIX2 source) and the plan of a merge or overwrite (what it adds, replaces and leaves).
 * The folders and files are written by repo_restore_walk.c: never following a link, every
 * blob checked against its ID before a byte of it is written, damaged files removed,
 * reported and counted, folders' modes and mtimes set last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "os/os.h"
#include "os/winpath.h"
#include "repo/repo_restore_int.h"

#define RED(buf, path) mm_log_path(buf, sizeof(buf), path)

static void add(uint64_t *p, uint64_t v)
{
    mm_repo__radd(p, v);
}

/* Make the folder @path (or accept an existing real folder). OUT: *created (may be NULL) */
static int make_dir(const char *path, int *created)
{
    char red[MM_LOG_PATH_MAX];
    struct stat s;
    int fd, made = mkdir(path, 0700) == 0;

    if (created)
        *created = made;
    if (!made && errno != EEXIST)
        return mm_error_set_errno(MM_EIO, errno, "cannot create the folder '%s'", RED(red, path));
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &s) != 0) {
        if (fd >= 0)
            close(fd);
        return mm_error_set(MM_EEXISTS, "'%s' exists and is not a folder", RED(red, path));
    }
    close(fd);
    return 0;
}

/* Tell o->change about @shown/@name (@len bytes) and count it. */
static int note(struct mm_repo__rstate *st, enum mm_repo_change what, const char *shown,
                const char *name, size_t len)
{
    char red[MM_LOG_PATH_MAX], *p;

    add(what == MM_REPO_CHANGE_ADD       ? &st->s.added
        : what == MM_REPO_CHANGE_REPLACE ? &st->s.replaced
                                         : &st->s.left,
        1);
    if (!st->o->change)
        return 0;
    if (!(p = shown[0] ? mm_repo__join(shown, name, len) : mm_strndup(name, len)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    st->o->change(what, mm_log_path(red, sizeof(red), p), st->o->ctx);
    mm_free(p);
    return 0;
}

/* Note each entry of the existing folder @dst that tree @t does not hold. */
static int note_left(struct mm_repo__rstate *st, const struct mm_repo__tree *t, const char *dst,
                     const char *shown)
{
    char buf[4096], red[MM_LOG_PATH_MAX];
    long n;
    int fd, err = 0;

    if ((fd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot open '%s'", RED(red, dst));
    while (err == 0 && (n = mm_os_dir_read(fd, buf, sizeof(buf))) > 0) {
        size_t off = 0;
        const char *name;
        while (err == 0 && (name = mm_os_dir_next(buf, (size_t)n, &off)))
            if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
                !mm_repo__tree_find(t, name, strlen(name)))
                err = note(st, MM_REPO_CHANGE_LEAVE, shown, name, strlen(name));
    }
    close(fd);
    return err;
}

/*
 * Count (and tell o->change) what restoring tree @id at @dst would add, replace and leave
 * alone, writing nothing; @have: @dst exists as a folder. A merge refuses a name that is a
 * folder on one side only.
 */
static int plan(struct mm_repo__rstate *st, struct mm_repo__work *w,
                const unsigned char id[ID_SIZE], const char *dst, int have, const char *shown,
                const struct mm_repo__entry **stack, size_t depth, int all)
{
    struct mm_repo__tree t = { 0 };
    char red[MM_LOG_PATH_MAX];
    int err;

    if (depth >= 512)
        return mm_error_set(MM_ECORRUPT, "generation's folders nest too deep");
    if ((err = mm_repo__tree_get(st->r, w, id, &t)) < 0) {
        if (err == MM_ENOMEM)
            return err;
        mm_error_clear(); /* reported by the restore itself */
        return 0;
    }
    for (size_t i = 0; i < t.n && err == 0; i++) {
        const struct mm_repo__entry *e = &t.e[i];
        char *path, *sh;
        struct stat s;
        int m = 2, ex;

        if (!all) {
            stack[depth] = e;
            m = mm_repo__restore_filter_match(st, stack, depth + 1);
            if (m == 0 || (m == 1 && e->kind != MM_REPO_KIND_DIR))
                continue;
        }
        if (!(path = mm_repo__join(dst, e->name, e->namelen))) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
            break;
        }
        ex = have && lstat(path, &s) == 0;
        if (st->merge && ex && (e->kind == MM_REPO_KIND_DIR) != !!S_ISDIR(s.st_mode)) {
            err = mm_error_set(MM_EEXISTS,
                               "'%s' is a folder on one side and not on the other: a merge "
                               "cannot put it in place",
                               RED(red, path));
        } else if (e->kind != MM_REPO_KIND_DIR) {
            err = note(st, ex ? MM_REPO_CHANGE_REPLACE : MM_REPO_CHANGE_ADD, shown, e->name,
                       e->namelen);
        } else if (!(sh = shown[0] ? mm_repo__join(shown, e->name, e->namelen)
                                   : mm_strndup(e->name, e->namelen))) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
        } else {
            err = plan(st, w, e->ids, path, ex && S_ISDIR(s.st_mode), sh, stack, depth + 1, m == 2);
            mm_free(sh);
        }
        mm_free(path);
    }
    if (err == 0 && all && have)
        err = note_left(st, &t, dst, shown);
    mm_repo__tree_release(&t);
    return err;
}

/* Fill st->filters from the options. */
static int make_filters(struct mm_repo__rstate *st)
{
    const struct mm_repo_restore_opts *o = st->o;

    if (o->path_prefix && *o->path_prefix) {
        const char *p = o->path_prefix;
        struct mm_repo__rfilter *f = mm_calloc(1, sizeof(*f));
        if (!f)
            return mm_error_set(MM_ENOMEM, "out of memory");
        st->filters = f;
        st->nfilters = 1;
        while (*p) {
            size_t len;
            while (*p == '/')
                p++;
            len = strcspn(p, "/");
            if (!len)
                break;
            if (f->n == MM_RESTORE_FILTER_DEPTH || len > MM_LIMIT_NAME ||
                (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                return mm_error_set(MM_EINVAL,
                                    "the --path value is not a path inside a generation");
            memcpy(f->comp[f->n], p, len);
            f->comp[f->n][len] = '\0';
            f->n++;
            p += len;
        }
        if (f->n == 0)
            st->nfilters = 0;
    }
    if (o->patient) {
        size_t len = strlen(o->patient), k = 0;
        struct mm_repo__rfilter *f;
        if (len == 0 || len > MM_LIMIT_PATIENT_ID || strchr(o->patient, '/') ||
            strcmp(o->patient, ".") == 0 || strcmp(o->patient, "..") == 0)
            return mm_error_set(MM_EINVAL, "not a patient ID");
        if (st->nfilters)
            return mm_error_set(MM_EINVAL, "give either a path or a patient, not both");
        f = mm_calloc(st->g->nsources + st->g->nstorages + 1, sizeof(*f));
        if (!f)
            return mm_error_set(MM_ENOMEM, "out of memory");
        st->filters = f;
        /* the storages the manifest names (found below a source), else the sources that are
         * storages themselves (older manifests) */
        for (size_t i = 0; i < st->g->nsources + st->g->nstorages; i++) {
            const char *p;
            size_t m = 0;
            if (i < st->g->nsources) {
                const struct mm_repo_gen_source *s = &st->g->sources[i];
                if (st->g->nstorages ||
                    (s->kind != MM_REPO_SOURCE_SSMIX2_STD && s->kind != MM_REPO_SOURCE_SSMIX2_EXT))
                    continue;
                p = s->name;
            } else {
                p = st->g->storages[i - st->g->nsources].path;
            }
            while (*p &&
                   m + 3 < MM_RESTORE_FILTER_DEPTH) { /* the storage's own path, name by name */
                size_t cl = strcspn(p, "/");
                if (cl > 0 && cl <= MM_LIMIT_NAME) {
                    memcpy(f[k].comp[m], p, cl);
                    f[k].comp[m++][cl] = '\0';
                }
                p += cl;
                while (*p == '/')
                    p++;
            }
            if (*p || m == 0)
                continue; /* deeper than a filter holds: not possible for paths mamori wrote */
            if (len >= 6) {
                memcpy(f[k].comp[m], o->patient, 3);
                memcpy(f[k].comp[m + 1], o->patient + 3, 3);
            } /* shorter IDs: any first two levels */
            snprintf(f[k].comp[m + 2], sizeof(f[k].comp[m + 2]), "%s", o->patient);
            f[k].n = m + 3;
            k++;
        }
        st->nfilters = k;
        if (k == 0)
            return mm_error_set(MM_ENOTFOUND, "generation '%.12s' has no SS-MIX2 storage",
                                st->g->id);
    }
    return 0;
}

/*
 * Restore into @to as o->mode says: a merge writes into it; a new or overwriting restore
 * writes into a temporary sibling that replaces @to only when whole (and is removed when
 * the restore fails). An empty @to whose parent this process cannot write gets the temporary
 * folder inside it instead, its entries moved up when whole. @state: of @to (0, 1 or 2)
 */
static int restore_into(struct mm_repo__rstate *st, struct mm_repo__work *w, const char *to,
                        int state)
{
    char tmp[MM_LIMIT_PATH + 64], red[MM_LOG_PATH_MAX];
    int err, inside;

    if (st->merge) {
        if ((err = mm_os_mkdir_p(to, 0700)) < 0 || (err = make_dir(to, NULL)) < 0)
            return err;
        return mm_repo__restore_run(st, w, to);
    }
    inside = state == 1 && st->o->mode == MM_REPO_RESTORE_NEW &&
             !mm_repo__target_parent_writable(to);
    if ((err = mm_repo__target_temp(to, inside, tmp, sizeof(tmp))) < 0)
        return err;
    if ((err = mm_repo__restore_run(st, w, tmp)) == 0) {
        err = inside ? mm_repo__target_move_up(tmp, to)
                     : mm_repo__target_swap(tmp, to, st->o->mode == MM_REPO_RESTORE_OVERWRITE,
                                            st->s.aside, sizeof(st->s.aside));
        if (err == 0)
            return 0;
    }
    if (lstat(tmp, &(struct stat){ 0 }) == 0 && mm_repo__tree_remove(tmp) < 0)
        mm_log(MM_LOG_WARN, "the unfinished restore could not be removed: remove '%s' by hand",
               RED(red, tmp));
    return err;
}

int mm_repo_restore(mm_repo *r, const char *gen, const char *to,
                    const struct mm_repo_restore_opts *o, struct mm_repo_restore_stats *stats)
{
    struct mm_repo_restore_opts def = { 0 };
    struct mm_repo_gen g = { 0 };
    struct mm_repo__rstate st;
    struct mm_repo__work w = { 0 };
    const struct mm_repo__entry *stack[MM_RESTORE_FILTER_DEPTH + 1];
    char target[MM_LIMIT_PATH], red[MM_LOG_PATH_MAX];
    int err, wok = 0, state = 0;

    if (!o)
        o = &def;
    memset(&st, 0, sizeof(st));
    if (stats)
        memset(stats, 0, sizeof(*stats));
    pthread_mutex_init(&st.mu, NULL);
    pthread_cond_init(&st.cv_job, NULL);
    pthread_cond_init(&st.cv_done, NULL);
    st.r = r;
    st.o = o;
    st.g = &g;
    st.root_user = geteuid() == 0;
    st.merge = o->mode == MM_REPO_RESTORE_MERGE;
    if ((err = mm_repo__target_clean(to, target, sizeof(target))) < 0 ||
        (err = state = mm_repo_restore_target(target)) < 0)
        goto out;
    if (state == 2 && o->mode == MM_REPO_RESTORE_NEW) {
        err = mm_error_set(MM_EEXISTS, "the target folder '%s' is not empty", RED(red, target));
        goto out;
    }
    if ((err = mm_repo_gen_find(r, gen, &g)) < 0 || (err = make_filters(&st)) < 0 ||
        (err = mm_repo__index_load(r)) < 0 || (err = mm_repo__work_init(&w)) < 0)
        goto out;
    wok = 1;
    if ((o->mode != MM_REPO_RESTORE_NEW || o->dry_run || o->change) &&
        (err = plan(&st, &w, g.root, target, state > 0, "", stack, 0, st.nfilters == 0)) < 0)
        goto out;
    if (o->dry_run)
        goto done;
    if ((err = restore_into(&st, &w, target, state)) < 0)
        goto out;
done:
    if (stats)
        *stats = st.s;
out:
    mm_repo__restore_state_release(&st);
    mm_free(st.filters);
    if (wok)
        mm_repo__work_release(&w);
    mm_repo_gen_release(&g);
    pthread_mutex_destroy(&st.mu);
    pthread_cond_destroy(&st.cv_job);
    pthread_cond_destroy(&st.cv_done);
    return err;
}

int mm_repo_read_file(mm_repo *r, const struct mm_repo_gen *gen, const char *path, size_t limit,
                      mm_buf *out)
{
    struct mm_repo__tree t = { 0 }, next = { 0 };
    const struct mm_repo__entry *e = NULL;
    struct mm_repo__work w;
    unsigned char id[ID_SIZE];
    const char *p = path;
    size_t start;
    int err = 0, have_w = 0;

    MM_ASSERT_ARG(r && gen && path && out);
    start = out->len;
    if (!*path || *path == '/' || strlen(path) > MM_LIMIT_PATH)
        return mm_error_set(MM_EINVAL, "not a path inside the generation");
    memcpy(id, gen->root, ID_SIZE);
    /* only the trees of the path and the file's blocks are looked up, not the whole object
     * index (seconds on a medium of millions of objects); the trees of the index files read
     * are kept, so the path's next folders are mostly known without reading again */
    if ((err = mm_repo__index_locate(r, id, 1, 1)) < 0)
        return err;
    if ((err = mm_repo__tree_get(r, NULL, id, &t)) < 0)
        goto out;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            err = mm_error_set(MM_EINVAL, "not a path inside the generation");
            goto out;
        }
        if (!(e = mm_repo__tree_find(&t, p, n))) {
            err = mm_error_set(MM_ENOTFOUND, "no such file in generation '%.12s'", gen->id);
            goto out;
        }
        if (!slash)
            break;
        if (e->kind != MM_REPO_KIND_DIR || e->nids != 1) {
            err = mm_error_set(MM_ENOTFOUND, "no such file in generation '%.12s'", gen->id);
            goto out;
        }
        memcpy(id, e->ids, ID_SIZE);
        if ((err = mm_repo__index_locate(r, id, 1, 1)) < 0 ||
            (err = mm_repo__tree_get(r, NULL, id, &next)) < 0)
            goto out;
        mm_repo__tree_release(&t);
        t = next; /* now owned by t */
        memset(&next, 0, sizeof(next));
        p = slash + 1;
    }
    if (e->kind != MM_REPO_KIND_FILE) {
        err = mm_error_set(MM_ENOTFOUND, "no such file in generation '%.12s'", gen->id);
        goto out;
    }
    if (e->size > limit) {
        err = mm_error_set(MM_ELIMIT, "file of %llu bytes is over the limit of %zu bytes",
                           (unsigned long long)e->size, limit);
        goto out;
    }
    if ((err = mm_repo__index_locate(r, e->ids, e->nids, 0)) < 0)
        goto out;
    if ((err = mm_repo__work_init(&w)) < 0)
        goto out;
    have_w = 1;
    for (uint32_t i = 0; i < e->nids; i++)
        if ((err = mm_repo__object_get(r, &w, e->ids + (size_t)i * ID_SIZE, out)) < 0)
            goto out;
    if (out->len - start != e->size)
        err = mm_error_set(MM_ECORRUPT, "file data does not add up to its size");
out:
    if (err < 0)
        mm_buf_truncate(out, start);
    if (have_w)
        mm_repo__work_release(&w);
    mm_repo__tree_release(&next);
    mm_repo__tree_release(&t);
    return err;
}
