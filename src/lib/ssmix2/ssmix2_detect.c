/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding SS-MIX2 storages at or below the folders a backup is given, by the layout's
 * signature and never by folder names: a standardized storage holds
 * <3 chars>/<3 chars>/<pid>/<YYYYMMDD|->/<data type>/<file whose name parses and agrees with
 * those folders>, an extended storage the same with a content folder in place of the file.
 * Work is bounded: each folder's listing is read up to a cap, a signature looks at a few
 * names per level, each given folder costs at most DETECT_OPENS folder opens, and the search
 * reports storages MM_SSMIX2_DETECT_DEPTH levels down at most; deeper ones, up to
 * MM_SSMIX2_DETECT_BEYOND more levels, are only counted. Symbolic links are never followed
 * (the backup stores them as links, so a storage behind one is not in the generation), which
 * with the depth bound also rules out loops; unreadable folders are counted and skipped. Folders
 * are opened with O_NOFOLLOW | O_DIRECTORY, so a folder swapped for a link meanwhile is refused.
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
#include "ssmix2/ssmix2.h"

#define DETECT_OPENS 4096u /* folder opens per given folder (search and signatures) */
#define SIG_OPENS    96u   /* of those, per signature check */
#define SIG_PROBE    16u   /* names per level a signature follows (budget: SIG_OPENS) */
#define SIG_ENTRIES  64u   /* entries read per folder by a signature check */
#define LIST_ENTRIES 4096u /* entries read per folder when looking for subfolders */

/* Work left for one given folder, and what went wrong on the way. */
struct walk {
    unsigned opens;
    size_t unreadable;
    int incomplete;
};

/* Open the folder @path without following a link; NULL when it cannot be read. */
static DIR *open_dir(struct walk *w, const char *path)
{
    int fd;
    DIR *d;

    if (w->opens == 0) {
        w->incomplete = 1;
        return NULL;
    }
    w->opens--;
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOTDIR && errno != ELOOP && errno != ENOENT)
            w->unreadable++;
        return NULL;
    }
    if (!(d = fdopendir(fd))) {
        close(fd);
        w->unreadable++;
    }
    return d;
}

/* The type of entry @de of @d (DT_DIR, DT_REG, DT_LNK...), without following links. */
static unsigned char entry_type(DIR *d, const struct dirent *de)
{
    struct stat s;

    if (de->d_type != DT_UNKNOWN)
        return de->d_type;
    if (fstatat(dirfd(d), de->d_name, &s, AT_SYMLINK_NOFOLLOW) != 0)
        return DT_UNKNOWN;
    return S_ISDIR(s.st_mode) ? DT_DIR : S_ISREG(s.st_mode) ? DT_REG : DT_LNK;
}

/* "@a/@b" into @out. @return 0, -1 when it does not fit */
static int pjoin(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int is_date_folder(const char *s)
{
    size_t n = strlen(s);

    if (n == 1 && s[0] == '-')
        return 1;
    if (n != MM_SSMIX2_DATE_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The folders a name at the bottom of a signature sits in. */
struct sigpath {
    const char *pid, *date, *type;
};

/* Whether the parsed name @nm agrees with the folders @sp it was found in. */
static int agrees(const struct mm_ssmix2_name *nm, const struct sigpath *sp)
{
    return strcmp(nm->patient_id, sp->pid) == 0 && strcmp(nm->date, sp->date) == 0 &&
           strcmp(nm->type, sp->type) == 0;
}

/* Whether @n (@len bytes, of type @t) may be the next folder of the layout at @level (0..4). */
static int sig_folder(int level, const char *n, size_t len, unsigned char t)
{
    if (t != DT_DIR)
        return 0;
    if ((level <= 1 && len != 3) || (level == 2 && len > MM_LIMIT_PATIENT_ID) ||
        (level == 3 && !is_date_folder(n)) || (level == 4 && len > MM_SSMIX2_TYPE_MAX))
        return 0;
    return 1;
}

/* Level 5 (<type>/): a message file, or an extended content folder, agreeing with @sp. */
static int sig_leaf(const char *n, size_t len, unsigned char t, const struct sigpath *sp)
{
    struct mm_ssmix2_name nm;

    if (t == DT_REG && mm_ssmix2_parse_name(&nm, n, len) == 0 && agrees(&nm, sp))
        return MM_SSMIX2_STORAGE_STANDARD;
    if (t == DT_DIR && mm_ssmix2_parse_content_folder(&nm, n, len) == 0 && agrees(&nm, sp))
        return MM_SSMIX2_STORAGE_EXTENDED;
    return 0;
}

/*
 * Level @level (0: the candidate root) of a signature check below @dir: follow up to
 * SIG_PROBE names of the right shape one level down, each as soon as it is read, so that
 * emptied folders (a patient's files removed, its <3>/<3> parents left) cost one open each
 * and do not hide the rest; the open budget bounds the whole check. @return the kind, or 0
 */
static int sig_level(struct walk *w, unsigned *budget, const char *dir, int level,
                     struct sigpath *sp)
{
    size_t followed = 0, seen = 0;
    struct dirent *de;
    DIR *d;
    int kind = 0;

    if (*budget == 0)
        return 0;
    (*budget)--;
    if (!(d = open_dir(w, dir)))
        return 0;
    while (!kind && *budget && followed < SIG_PROBE && seen < SIG_ENTRIES &&
           (de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        size_t len = strlen(n);
        unsigned char t;
        char sub[MM_LIMIT_PATH + 1];

        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        seen++;
        t = entry_type(d, de);
        if (level == 5) {
            kind = sig_leaf(n, len, t, sp);
            continue;
        }
        if (!sig_folder(level, n, len, t) || pjoin(sub, sizeof(sub), dir, n) < 0)
            continue;
        followed++;
        if (level == 2) /* n stays valid: @d is not read again until the subtree is done */
            sp->pid = n;
        else if (level == 3)
            sp->date = n;
        else if (level == 4)
            sp->type = n;
        kind = sig_level(w, budget, sub, level + 1, sp);
    }
    mm_error_clear(); /* the parsers' messages of names that did not parse */
    closedir(d);
    return kind;
}

int mm_ssmix2_storage_kind(const char *dir)
{
    struct walk w = { SIG_OPENS, 0, 0 };
    unsigned budget = SIG_OPENS;
    struct sigpath sp = { "", "", "" };

    if (!dir)
        return 0;
    return sig_level(&w, &budget, dir, 0, &sp);
}

/* ---- the search ---------------------------------------------------------------------------- */

struct qitem {
    char *path;
    unsigned depth;
};

struct queue {
    struct qitem *v;
    size_t head, n, cap;
};

static int q_push(struct queue *q, const char *path, unsigned depth)
{
    if (q->n == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 64;
        void *nv = mm_realloc(q->v, ncap * sizeof(*q->v));
        if (!nv)
            return mm_error_set(MM_ENOMEM, "out of memory");
        q->v = nv;
        q->cap = ncap;
    }
    if (!(q->v[q->n].path = mm_strdup(path)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    q->v[q->n++].depth = depth;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Queue the subfolders of @dir (links not followed), in name order, at @depth: those of its
 * first LIST_ENTRIES entries, and no more than the folder opens left could ever look at.
 */
static int queue_subdirs(struct walk *w, struct queue *q, const char *dir, unsigned depth)
{
    char **names = NULL;
    size_t nn = 0, seen = 0;
    struct dirent *de;
    DIR *d;
    int err = 0;

    if (!(d = open_dir(w, dir)))
        return 0;
    if (!(names = mm_calloc(LIST_ENTRIES, sizeof(*names)))) {
        closedir(d);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (++seen > LIST_ENTRIES) {
            w->incomplete = 1;
            break;
        }
        if (entry_type(d, de) != DT_DIR)
            continue;
        if (!(names[nn] = mm_strdup(de->d_name))) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
            break;
        }
        nn++;
    }
    closedir(d);
    qsort(names, nn, sizeof(*names), cmp_names);
    for (size_t i = 0; i < nn; i++) {
        char sub[MM_LIMIT_PATH + 1];
        if (err == 0 && q->n - q->head >= w->opens) {
            w->incomplete = 1; /* more waiting than could be opened */
        } else if (err == 0 && pjoin(sub, sizeof(sub), dir, names[i]) == 0) {
            err = q_push(q, sub, depth);
        }
        mm_free(names[i]);
    }
    mm_free(names);
    return err;
}

static int found_push(struct mm_ssmix2_detection *out, size_t root, const char *path,
                      const char *rel, unsigned depth, int kind)
{
    struct mm_ssmix2_storage *s;

    if (out->n == MM_SSMIX2_DETECT_MAX) {
        out->incomplete = 1;
        return 0;
    }
    if (!out->v && !(out->v = mm_calloc(MM_SSMIX2_DETECT_MAX, sizeof(*out->v))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    s = &out->v[out->n];
    if (!(s->path = mm_strdup(path)) || !(s->rel = mm_strdup(rel))) {
        mm_free(s->path);
        s->path = NULL;
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    s->root = root;
    s->depth = depth;
    s->kind = (enum mm_ssmix2_storage_kind)kind;
    s->pair = -1;
    out->n++;
    return 0;
}

/* Breadth first below the given folder @root (number @ri): storages, shallowest first. */
static int search_root(const char *root, size_t ri, struct mm_ssmix2_detection *out)
{
    struct walk w = { DETECT_OPENS, 0, 0 };
    struct queue q = { 0 };
    size_t rootlen = strlen(root);
    int err;

    while (rootlen > 1 && root[rootlen - 1] == '/')
        rootlen--;
    if ((err = q_push(&q, root, 0)) < 0)
        goto out;
    q.v[0].path[rootlen] = '\0';
    while (q.head < q.n && err == 0) {
        struct qitem *it = &q.v[q.head++];
        unsigned budget = SIG_OPENS < w.opens ? SIG_OPENS : w.opens;
        struct sigpath sp = { "", "", "" };
        int kind;

        kind = sig_level(&w, &budget, it->path, 0, &sp);
        if (kind) {
            const char *rel = it->path + rootlen;
            while (*rel == '/')
                rel++;
            if (it->depth <= MM_SSMIX2_DETECT_DEPTH)
                err = found_push(out, ri, it->path, rel, it->depth, kind);
            else
                out->too_deep++; /* seen, so that a caller can say it is not used */
        } else if (it->depth < MM_SSMIX2_DETECT_DEPTH + MM_SSMIX2_DETECT_BEYOND) {
            err = queue_subdirs(&w, &q, it->path, it->depth + 1);
        }
    }
out:
    for (size_t i = 0; i < q.n; i++)
        mm_free(q.v[i].path);
    mm_free(q.v);
    out->unreadable += w.unreadable;
    out->incomplete |= w.incomplete;
    return err;
}

/* The length of the folder part of @p ("a/b/c" -> 3, "c" -> 0). */
static size_t parent_len(const char *p)
{
    const char *s = strrchr(p, '/');

    return s ? (size_t)(s - p) : 0;
}

/* Pair each standardized storage with the extended storage beside it (same parent folder);
 * when there is one of each and neither has a neighbour, with each other. */
static void pair_up(struct mm_ssmix2_detection *d)
{
    size_t nstd = 0, next = 0, si = 0, ei = 0;

    for (size_t i = 0; i < d->n; i++) {
        struct mm_ssmix2_storage *a = &d->v[i];
        size_t la = parent_len(a->path);

        if (a->kind == MM_SSMIX2_STORAGE_STANDARD)
            nstd++, si = i;
        else
            next++, ei = i;
        if (a->kind != MM_SSMIX2_STORAGE_STANDARD)
            continue;
        for (size_t k = 0; k < d->n; k++) {
            struct mm_ssmix2_storage *b = &d->v[k];
            if (b->kind == MM_SSMIX2_STORAGE_EXTENDED && b->pair < 0 && parent_len(b->path) == la &&
                memcmp(a->path, b->path, la) == 0) {
                a->pair = (long)k;
                b->pair = (long)i;
                break;
            }
        }
    }
    if (nstd == 1 && next == 1 && d->v[si].pair < 0) {
        d->v[si].pair = (long)ei;
        d->v[ei].pair = (long)si;
    }
}

int mm_ssmix2_detect(const char *const *roots, size_t nroots, struct mm_ssmix2_detection *out)
{
    int err = 0;

    MM_ASSERT_ARG(out && (roots || nroots == 0));
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < nroots && err == 0; i++)
        err = search_root(roots[i], i, out);
    if (err < 0) {
        mm_ssmix2_detection_release(out);
        return err;
    }
    pair_up(out);
    return 0;
}

void mm_ssmix2_detection_release(struct mm_ssmix2_detection *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        mm_free(d->v[i].path);
        mm_free(d->v[i].rel);
    }
    mm_free(d->v);
    memset(d, 0, sizeof(*d));
}
