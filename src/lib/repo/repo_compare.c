/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compare a restored folder with a generation's trees a second, independent time (the restore
 * drill, drill/drill.h): each folder of the generation is listed on disk and merged with its
 * tree in name order; an entry only in the tree is missing, one only on disk is extra; a file
 * is read back from disk, cut by the repository's chunker and each chunk's keyed BLAKE2b
 * object ID compared with the blob IDs of its tree entry (so the bytes on disk are checked,
 * not what the restore believed it wrote); a link's target is compared. Single-threaded:
 * one chunk buffer (the chunker's max), one tree and one folder listing per level. Messages
 * and reported paths are redacted (mm_log_path): restored paths are patient data.
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
#include "common/log.h"
#include "repo/repo_int.h"

#define COMPARE_DEPTH 512 /* folder levels at most (a path is at most MM_LIMIT_PATH anyway) */

struct cstate {
    mm_repo *r;
    const struct mm_repo_compare_opts *o;
    const char *gen;
    struct mm_repo__work w;
    mm_chunker *chunker;
    unsigned char *buf; /* one chunk at most: cfg.chunk.max bytes */
    size_t cap;
    struct mm_repo_compare_stats s;
    struct mm_repo_progress pr;
    struct timespec last;
};

/* Report a difference at the generation path @shown (redacted here) and count it in @count. */
static void differ(struct cstate *st, const char *shown, const char *what, uint64_t *count)
{
    char red[MM_LOG_PATH_MAX];

    (*count)++;
    if (st->o && st->o->problem) {
        mm_log_path(red, sizeof(red), shown);
        st->o->problem(st->gen, red, what, st->o->ctx);
    }
}

static void progress(struct cstate *st)
{
    st->pr.files_done = st->s.files;
    st->pr.bytes_done = st->s.bytes;
    if (st->o && st->o->progress && mm_repo__progress_due(&st->last))
        st->o->progress(&st->pr, st->o->ctx);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mm_free(v[i]);
    mm_free(v);
}

/* The names in folder @dir (no "." or ".."), sorted by bytes. OUT: *out, *n */
static int list_sorted(const char *dir, char ***out, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    int err = 0;

    if (!d)
        return mm_error_set_errno(MM_EIO, errno, "cannot list a restored folder");
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **nv = mm_realloc(v, ncap * sizeof(*v));
            if (!nv) {
                err = mm_error_set(MM_ENOMEM, "out of memory");
                goto out;
            }
            v = nv;
            cap = ncap;
        }
        if (!(v[cnt] = mm_strdup(e->d_name))) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
            goto out;
        }
        cnt++;
    }
    if (cnt > 1)
        qsort(v, cnt, sizeof(*v), cmp_name);
out:
    closedir(d);
    if (err < 0) {
        names_free(v, cnt);
        return err;
    }
    *out = v;
    *n = cnt;
    return 0;
}

/* Check one chunk @p (@n bytes) as the @k-th blob of @e. @return 1 same, 0 differs, < 0 */
static int chunk_ok(struct cstate *st, const struct mm_repo__entry *e, uint32_t k, const void *p,
                    size_t n)
{
    unsigned char id[ID_SIZE];
    int err;

    if (k >= e->nids)
        return 0;
    if ((err = mm_crypto_object_id(st->r->ks, p, n, id)) < 0)
        return err;
    return memcmp(id, e->ids + (size_t)k * ID_SIZE, ID_SIZE) == 0;
}

/* Read @fd to its end, cut and hash as a backup does. @return 1 same, 0 differs, < 0 */
static int file_ok(struct cstate *st, const struct mm_repo__entry *e, int fd)
{
    size_t len = 0, off = 0, cut;
    uint64_t total = 0;
    uint32_t k = 0;
    int eof = 0, same = 1, rc;

    mm_chunker_reset(st->chunker);
    while (!eof) {
        ssize_t got = read(fd, st->buf + len, st->cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return mm_error_set_errno(MM_EIO, errno, "cannot read a restored file");
        eof = got == 0;
        len += (size_t)got;
        total += (uint64_t)got;
        while (same && (rc = mm_chunker_next(st->chunker, st->buf + off, len - off, &cut)) == 1) {
            if ((rc = chunk_ok(st, e, k++, st->buf + off, cut)) <= 0)
                same = 0;
            off += cut;
        }
        if (rc < 0)
            return rc;
        if (same && eof && len > off) {
            if ((rc = chunk_ok(st, e, k++, st->buf + off, len - off)) < 0)
                return rc;
            same = rc;
            off = len;
        }
        memmove(st->buf, st->buf + off, len - off);
        len -= off;
        off = 0;
        if (!same)
            break;
    }
    st->s.bytes += total;
    return same && k == e->nids && total == e->size;
}

/* Compare the regular file @path with the tree entry @e. @return 1 same, 0 differs, < 0 */
static int same_file(struct cstate *st, const struct mm_repo__entry *e, const char *path,
                     const struct stat *sb)
{
    int fd, rc;

    st->s.files++;
    if ((uint64_t)sb->st_size != e->size)
        return 0;
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot open a restored file");
    rc = file_ok(st, e, fd);
    close(fd);
    progress(st);
    return rc;
}

/* Compare the link @path with @e. @return 1 same, 0 differs */
static int same_link(struct cstate *st, const struct mm_repo__entry *e, const char *path)
{
    char t[MM_LIMIT_PATH];
    ssize_t n = readlink(path, t, sizeof(t));

    st->s.symlinks++;
    return n >= 0 && (size_t)n == e->targetlen && memcmp(t, e->target, (size_t)n) == 0;
}

static int cmp_dir(struct cstate *st, const unsigned char id[ID_SIZE], const char *path,
                   const char *shown, unsigned depth);

/* Compare the entry @e of the tree with @path on disk (@shown inside the generation). */
static int cmp_entry(struct cstate *st, const struct mm_repo__entry *e, const char *path,
                     const char *shown, unsigned depth)
{
    struct stat sb;
    int rc = 1;

    if (lstat(path, &sb) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot inspect a restored file");
    if (e->kind == MM_REPO_KIND_DIR && S_ISDIR(sb.st_mode))
        return cmp_dir(st, e->ids, path, shown, depth + 1);
    if (e->kind == MM_REPO_KIND_FILE && S_ISREG(sb.st_mode))
        rc = same_file(st, e, path, &sb);
    else if (e->kind == MM_REPO_KIND_SYMLINK && S_ISLNK(sb.st_mode))
        rc = same_link(st, e, path);
    else
        rc = 0;
    if (rc == 0)
        differ(st, shown, "differs from the generation (kind, size or content)", &st->s.differ);
    return rc < 0 ? rc : 0;
}

/* "@a/@b" (@blen bytes of @b; just @b when @a is "") into @out. @return 0, MM_ELIMIT */
static int join(char *out, size_t cap, const char *a, const char *b, size_t blen)
{
    int n = snprintf(out, cap, "%s%s%.*s", a, *a ? "/" : "", (int)blen, b);

    return n < 0 || (size_t)n >= cap ? mm_error_set(MM_ELIMIT, "a restored path is too long") : 0;
}

/* Merge the tree @t with the sorted listing @names of @path. */
static int merge(struct cstate *st, const struct mm_repo__tree *t, char **names, size_t n,
                 const char *path, const char *shown, unsigned depth)
{
    char p[MM_LIMIT_PATH], s[MM_LIMIT_PATH];
    size_t i = 0, j = 0;
    int err = 0;

    while (err == 0 && (i < t->n || j < n)) {
        const struct mm_repo__entry *e = i < t->n ? &t->e[i] : NULL;
        int c;
        if (!e)
            c = 1;
        else if (j >= n)
            c = -1;
        else if ((c = strncmp(e->name, names[j], e->namelen)) == 0)
            c = names[j][e->namelen] ? -1 : 0; /* a longer disk name sorts after */
        if (c <= 0 && (err = join(s, sizeof(s), shown, e->name, e->namelen)) < 0)
            break;
        if (c < 0) {
            differ(st, s, "missing from the restored copy", &st->s.missing);
            i++;
        } else if (c > 0) {
            if ((err = join(s, sizeof(s), shown, names[j], strlen(names[j]))) == 0)
                differ(st, s, "in the restored copy but not in the generation", &st->s.extra);
            j++;
        } else {
            if ((err = join(p, sizeof(p), path, names[j], strlen(names[j]))) == 0)
                err = cmp_entry(st, e, p, s, depth);
            i++;
            j++;
        }
    }
    return err;
}

/* Compare the folder @path with the tree @id. */
static int cmp_dir(struct cstate *st, const unsigned char id[ID_SIZE], const char *path,
                   const char *shown, unsigned depth)
{
    struct mm_repo__tree t = { 0 };
    char **names = NULL;
    size_t n = 0;
    int err;

    if (depth > COMPARE_DEPTH)
        return mm_error_set(MM_ELIMIT, "folders nested too deep");
    st->s.dirs++;
    err = mm_repo__tree_get(st->r, &st->w, id, &t);
    if (err == MM_ECORRUPT || err == MM_EAUTH || err == MM_ENOTFOUND) {
        /* a damaged folder of the generation: what is below it cannot be checked */
        mm_error_clear();
        differ(st, shown, "the folder's tree is damaged or missing in the repository",
               &st->s.unreadable);
        return 0;
    }
    if (err < 0 || (err = list_sorted(path, &names, &n)) < 0)
        goto out;
    err = merge(st, &t, names, n, path, shown, depth);
out:
    names_free(names, n);
    mm_repo__tree_release(&t);
    return err;
}

int mm_repo_compare(mm_repo *r, const char *gen, const char *dir,
                    const struct mm_repo_compare_opts *o, struct mm_repo_compare_stats *stats)
{
    struct mm_repo_gen g;
    struct cstate st;
    int err, wok = 0;

    MM_ASSERT_ARG(r && gen && dir);
    memset(&st, 0, sizeof(st));
    memset(&g, 0, sizeof(g));
    st.r = r;
    st.o = o;
    st.cap = r->cfg.chunk.max;
    if ((err = mm_repo_gen_find(r, gen, &g)) < 0)
        return err;
    st.gen = g.id;
    st.pr.files_total = g.counts.files;
    st.pr.bytes_total = g.counts.bytes;
    if ((err = mm_repo__index_load(r)) < 0 || (err = mm_repo__work_init(&st.w)) < 0)
        goto out;
    wok = 1;
    if ((err = mm_chunker_new(&st.chunker, &r->cfg.chunk, mm_keyset_chunk_seed(r->ks))) < 0)
        goto out;
    if (!(st.buf = mm_malloc(st.cap))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    if ((err = cmp_dir(&st, g.root, dir, "", 0)) < 0)
        goto out;
    st.s.dirs--; /* the top folder is the restore's, not one of the generation's */
    if (o && o->progress) {
        st.pr.files_done = st.s.files;
        st.pr.bytes_done = st.s.bytes;
        o->progress(&st.pr, o->ctx);
    }
    if (stats)
        *stats = st.s;
out:
    mm_free(st.buf);
    mm_chunker_free(st.chunker);
    if (wok)
        mm_repo__work_release(&st.w);
    mm_repo_gen_release(&g);
    return err;
}
