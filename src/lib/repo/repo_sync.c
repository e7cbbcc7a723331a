/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copies between a repository folder and its shadow (repo_sync.h): listings of content-named
 * files without a key, checked copies, the packs an index names. A window of `mamori run`
 * copies tens of packs, a few index files and one manifest: every file is read whole into
 * memory (a pack is at most MM_REPO_PACK_MAX, usually 16 MiB), written once and read back
 * once from the target with its page cache dropped, so the check reads the medium, not RAM.
 */
#include "repo/repo_sync.h"

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
#include "os/os.h"
#include "repo/repo_int.h"

/* The 64-hex names of <@root>/<@dir> appended as "@prefix<name>". @return 0 or an mm_err */
static int list_into(const char *root, const char *dir, const char *prefix,
                     struct mm_repo__names *l)
{
    char path[MM_LIMIT_PATH];

    if (snprintf(path, sizeof(path), "%s/%s", root, dir) >= (int)sizeof(path))
        return mm_error_set(MM_ELIMIT, "repository path too long");
    return mm_repo__names_add(l, path, dir, prefix);
}

int mm_repo_sync_list_dir(const char *root, const char *dir, char ***out, size_t *n)
{
    struct mm_repo__names l = { NULL, 0, 0 };
    int err = list_into(root, dir, "", &l);

    if (err < 0) {
        mm_repo_sync_list_free(l.v, l.n);
        return err;
    }
    mm_repo__names_sort(l.v, l.n);
    *out = l.v;
    *n = l.n;
    return 0;
}

int mm_repo_sync_list(const char *root, int packs, char ***out, size_t *n)
{
    static const char *const dirs[] = { "dict", "index", "generations" };
    struct mm_repo__names l = { NULL, 0, 0 };
    int err = 0;

    for (size_t i = 0; i < 3 && err == 0; i++) {
        char prefix[16];
        snprintf(prefix, sizeof(prefix), "%s/", dirs[i]);
        err = list_into(root, dirs[i], prefix, &l);
    }
    for (unsigned b = 0; packs && b < 256 && err == 0; b++) {
        char dir[16], prefix[16];
        snprintf(dir, sizeof(dir), "data/%02x", b);
        snprintf(prefix, sizeof(prefix), "data/%02x/", b);
        err = list_into(root, dir, prefix, &l);
    }
    if (err < 0) {
        mm_repo_sync_list_free(l.v, l.n);
        return err;
    }
    mm_repo__names_sort(l.v, l.n);
    *out = l.v;
    *n = l.n;
    return 0;
}

void mm_repo_sync_list_free(char **v, size_t n)
{
    mm_repo__list_free(v, n);
}

/* Read @path back from its device (page cache dropped first) into @out. */
static int read_back(const char *path, mm_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    return mm_os_read_file(path, out);
}

/* The last part of @rel. */
static const char *base_of(const char *rel)
{
    const char *s = strrchr(rel, '/');

    return s ? s + 1 : rel;
}

/* Check the copy @back of @rel against its name (or the source's bytes @src). */
static int check_copy(const char *rel, const mm_buf *src, const mm_buf *back)
{
    unsigned char h[MM_CRYPTO_ID_SIZE];
    char hex[MM_CRYPTO_HEX_SIZE];

    if (!mm_repo__is_hex_name(base_of(rel))) {
        if (back->len != src->len || memcmp(back->ptr, src->ptr, src->len) != 0)
            return mm_error_set(MM_ECORRUPT, "copy of '%s' reads back different", rel);
        return 0;
    }
    mm_crypto_hash(back->ptr, back->len, h);
    mm_crypto_hex(h, hex);
    if (strcmp(hex, base_of(rel)) != 0)
        return mm_error_set(MM_ECORRUPT, "copy of '%s' does not hash to its name", rel);
    return 0;
}

int mm_repo_sync_check(const char *root, const char *rel, struct mm_repo_sync_stats *st)
{
    char path[MM_LIMIT_PATH];
    mm_buf back;
    int err;

    if (!mm_repo__is_hex_name(base_of(rel)))
        return mm_error_set(MM_EINVAL, "'%s' is not a repository file", rel);
    if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path))
        return mm_error_set(MM_ELIMIT, "repository path too long");
    mm_buf_init(&back, MM_REPO_IXFILE_MAX);
    err = read_back(path, &back);
    if (err == 0)
        err = check_copy(rel, NULL, &back);
    if (err == 0 && st)
        st->bytes += back.len;
    mm_buf_release(&back);
    return err;
}

int mm_repo_sync_copy(const char *src, const char *dst, const char *rel,
                      struct mm_repo_sync_stats *st)
{
    char from[MM_LIMIT_PATH], to[MM_LIMIT_PATH], dir[MM_LIMIT_PATH];
    mm_buf data, back;
    char *slash;
    int err;

    if (snprintf(from, sizeof(from), "%s/%s", src, rel) >= (int)sizeof(from) ||
        snprintf(to, sizeof(to), "%s/%s", dst, rel) >= (int)sizeof(to))
        return mm_error_set(MM_ELIMIT, "repository path too long");
    snprintf(dir, sizeof(dir), "%s", to);
    if ((slash = strrchr(dir, '/')) != NULL)
        *slash = '\0';
    mm_buf_init(&data, MM_REPO_IXFILE_MAX);
    mm_buf_init(&back, MM_REPO_IXFILE_MAX);
    if ((err = mm_os_read_file(from, &data)) < 0)
        goto out;
    if (access(dir, F_OK) != 0 && (err = mm_os_mkdir_p(dir, 0700)) < 0)
        goto out;
    if ((err = mm_os_write_atomic(to, data.ptr, data.len)) < 0)
        goto out;
    st->fsyncs += 2; /* the file, its folder */
    st->files++;
    st->bytes += data.len;
    if ((err = read_back(to, &back)) < 0 || (err = check_copy(rel, &data, &back)) < 0) {
        if (err == MM_ECORRUPT)
            unlink(to); /* never leave a bad copy under a good name */
        goto out;
    }
out:
    mm_buf_release(&data);
    mm_buf_release(&back);
    return err;
}

int mm_repo_sync_packs(mm_repo *r, struct mm_repo_sync_pack **out, size_t *n)
{
    struct mm_repo__objindex *ix = &r->ix;
    struct mm_repo_sync_pack *p;
    int err;

    *out = NULL;
    *n = 0;
    if ((err = mm_repo__index_load(r)) < 0)
        return err;
    if (!(p = mm_calloc(ix->npacks ? ix->npacks : 1, sizeof(*p))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < ix->npacks; i++) {
        mm_crypto_hex(ix->packs[i].id, p[i].id);
        p[i].size = ix->packs[i].size;
    }
    /* the copy readers use of each object is the one the index holds */
    for (size_t i = 0; i < ix->nlocs; i++) {
        const struct mm_repo__loc *l = &ix->locs[i];
        if (l->pending || l->pack >= ix->npacks)
            continue;
        if (l->type == MM_REPO_OBJ_TREE)
            p[l->pack].trees = 1;
    }
    *out = p;
    *n = ix->npacks;
    return 0;
}

int mm_repo_sync_index_packs(mm_repo *r, const char *name, struct mm_repo_sync_pack **out,
                             size_t *n)
{
    struct mm_repo__packinfo *pi = NULL;
    struct mm_repo_sync_pack *p = NULL;
    size_t np = 0;
    mm_buf raw, plain;
    int err;

    *out = NULL;
    *n = 0;
    mm_buf_init(&raw, MM_REPO_IXFILE_MAX);
    mm_buf_init(&plain, MM_REPO_IXFILE_MAX);
    err = mm_repo__sealed_read(r, "index", name, "MMIX", &raw, &plain);
    if (err == 0)
        err = mm_repo__ixfile_decode_keep(plain.ptr, plain.len, NULL, NULL, &pi, &np);
    if (err == 0 && !(p = mm_calloc(np ? np : 1, sizeof(*p))))
        err = mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; err == 0 && i < np; i++) {
        mm_crypto_hex(pi[i].id, p[i].id);
        p[i].size = pi[i].size;
        for (size_t k = 0; k < pi[i].nobjs && !p[i].trees; k++)
            p[i].trees = pi[i].objs[k].type == MM_REPO_OBJ_TREE;
    }
    if (err == 0) {
        *out = p;
        *n = np;
        p = NULL;
    }
    mm_free(p);
    mm_repo__ixfile_free(pi, np);
    mm_buf_release(&raw);
    mm_buf_release(&plain);
    return err;
}

int mm_repo_sync_pack_check(const char *root, const struct mm_repo_sync_pack *p,
                            struct mm_repo_sync_stats *st)
{
    char path[MM_LIMIT_PATH];
    struct stat sb;

    st->checked++;
    snprintf(path, sizeof(path), "%s/data/%.2s/%s", root, p->id, p->id);
    if (stat(path, &sb) != 0)
        return mm_error_set(MM_ENOTFOUND, "pack '%s' is missing", p->id);
    if ((uint64_t)sb.st_size != p->size)
        return mm_error_set(MM_ECORRUPT, "pack '%s' has %llu bytes, not %llu", p->id,
                            (unsigned long long)sb.st_size, (unsigned long long)p->size);
    return 0;
}

int mm_repo_sync_remove(const char *root, const char *rel, struct mm_repo_sync_stats *st)
{
    char path[MM_LIMIT_PATH], *slash;

    if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path))
        return mm_error_set(MM_ELIMIT, "repository path too long");
    if (unlink(path) != 0 && errno != ENOENT)
        return mm_error_set_errno(MM_EIO, errno, "cannot remove '%s'", rel);
    if ((slash = strrchr(path, '/')) != NULL)
        *slash = '\0';
    st->fsyncs++;
    return mm_os_fsync_dir(path);
}
