/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The viewer's files on a medium in its generations' manifests (tag 17, docs/format.md):
 * every file of the viewer payload a backup wrote or found current (bin/mamori, bin/lib/...,
 * mamori-view.sh, the emergency guide) with its size and SHA-256, so that `verify` finds a
 * viewer program or guide changed on the medium since, and a person can compare the list with
 * sha256sum / certutil on a stranger's PC. SHA-256 rather than the repository's BLAKE2b:
 * those are the tools a hospital PC has. The codec is pure; the check reads files.
 * Record value: u8 flags | entries: le16 path length | path | le64 size | 32 bytes SHA-256.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "repo/repo_int.h"

#define PATH_MAX_LEN 1024u /* bytes of a listed path */
#define ENTRY_FIXED  (2u + 8u + MM_REPO_SHA256_SIZE)

/* Whether the part of @l bytes at @s is a name: not empty, not "." or "..". */
static int part_ok(const char *s, size_t l)
{
    return l > 0 && !(l == 1 && s[0] == '.') && !(l == 2 && s[0] == '.' && s[1] == '.');
}

/* Whether @n bytes at @s are a relative path of UTF-8 names without control characters,
 * backslashes, empty, "." or ".." parts. */
static int path_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t start = 0;

    if (n == 0 || n > PATH_MAX_LEN)
        return 0;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i], len = c < 0x80                 ? 1
                                 : c >= 0xc2 && c <= 0xdf ? 2
                                 : c >= 0xe0 && c <= 0xef ? 3
                                 : c >= 0xf0 && c <= 0xf4 ? 4
                                                          : 0;
        if (len == 0 || c < 0x20 || c == 0x7f || c == '\\' || len > n - i)
            return 0;
        for (unsigned k = 1; k < len; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
        if (c == '/') {
            if (!part_ok(s + start, i - start))
                return 0;
            start = i + 1;
        }
        i += len;
    }
    return part_ok(s + start, n - start);
}

void mm_repo_viewer_free(struct mm_repo_viewer *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        mm_free(v->files[i].path);
    mm_free(v->files);
    mm_free(v);
}

int mm_repo_viewer_add(struct mm_repo_viewer *v, const char *path, uint64_t size,
                       const unsigned char sha256[MM_REPO_SHA256_SIZE])
{
    struct mm_repo_viewer_file *f;

    MM_ASSERT_ARG(v && path && sha256);
    if (!path_ok(path, strlen(path)))
        return mm_error_set(MM_EINVAL, "viewer file: not a relative path");
    if (v->n >= MM_REPO_VIEWER_FILES)
        return mm_error_set(MM_ELIMIT, "more than %u viewer files", MM_REPO_VIEWER_FILES);
    if (!(f = mm_realloc(v->files, (v->n + 1) * sizeof(*f))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    v->files = f;
    f += v->n;
    if (!(f->path = mm_strdup(path)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    f->size = size;
    memcpy(f->sha256, sha256, MM_REPO_SHA256_SIZE);
    v->n++;
    return 0;
}

/* ---- the record (manifest tag 17) ---------------------------------------------------------- */

int mm_repo__viewer_size(const struct mm_repo_viewer *v, uint64_t *size)
{
    uint64_t n = 1;

    if (v->n > MM_REPO_VIEWER_FILES)
        return mm_error_set(MM_ELIMIT, "manifest: more than %u viewer files", MM_REPO_VIEWER_FILES);
    for (size_t i = 0; i < v->n; i++) {
        const char *p = v->files[i].path;
        if (!p || !path_ok(p, strlen(p)))
            return mm_error_set(MM_EINVAL, "manifest: viewer file %zu: bad path", i);
        n += ENTRY_FIXED + strlen(p);
    }
    *size = n;
    return 0;
}

unsigned char *mm_repo__viewer_encode(const struct mm_repo_viewer *v, unsigned char *d)
{
    *d++ = (unsigned char)(v->flags & MM_REPO_VIEWER_NO_BIN);
    for (size_t i = 0; i < v->n; i++) {
        const struct mm_repo_viewer_file *f = &v->files[i];
        size_t len = strlen(f->path);

        mm_put_le16(d, (uint16_t)len);
        memcpy(d + 2, f->path, len);
        d += 2 + len;
        mm_put_le64(d, f->size);
        memcpy(d + 8, f->sha256, MM_REPO_SHA256_SIZE);
        d += 8 + MM_REPO_SHA256_SIZE;
    }
    return d;
}

int mm_repo__viewer_decode(const unsigned char *v, size_t n, struct mm_repo_viewer **out)
{
    struct mm_repo_viewer *x;
    size_t pos = 1;
    int err = 0;

    if (n < 1)
        return mm_error_set(MM_ECORRUPT, "manifest: viewer files: truncated");
    if (!(x = mm_calloc(1, sizeof(*x))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    x->flags = v[0] & MM_REPO_VIEWER_NO_BIN; /* bits of a newer writer are ignored */
    while (pos < n && err == 0) {
        char path[PATH_MAX_LEN + 1];
        size_t len;

        if (n - pos < ENTRY_FIXED || (len = mm_get_le16(v + pos)) > n - pos - ENTRY_FIXED ||
            len > PATH_MAX_LEN) {
            err = mm_error_set(MM_ECORRUPT, "manifest: viewer file %zu: truncated", x->n);
            break;
        }
        memcpy(path, v + pos + 2, len);
        path[len] = '\0';
        if (!path_ok(path, len) || memchr(path, '\0', len)) {
            err = mm_error_set(MM_ECORRUPT, "manifest: viewer file %zu: bad path", x->n);
            break;
        }
        err = mm_repo_viewer_add(x, path, mm_get_le64(v + pos + 2 + len), v + pos + 10 + len);
        if (err == MM_ELIMIT)
            err = mm_error_set(MM_ECORRUPT, "manifest: more than %u viewer files",
                               MM_REPO_VIEWER_FILES);
        pos += ENTRY_FIXED + len;
    }
    if (err < 0) {
        mm_repo_viewer_free(x);
        return err;
    }
    *out = x;
    return 0;
}

/* ---- the check ----------------------------------------------------------------------------- */

int mm_repo_viewer_hash_file(const char *path, uint64_t *size,
                             unsigned char sha256[MM_REPO_SHA256_SIZE])
{
    mm_buf b;
    int err;

    mm_buf_init(&b, MM_REPO_VIEWER_FILE_MAX);
    if ((err = mm_os_read_file(path, &b)) == 0) {
        mm_crypto_sha256(b.ptr ? b.ptr : "", b.len, sha256);
        *size = b.len;
    }
    mm_buf_release(&b);
    return err;
}

/* mm_repo_viewer_hash_file() of the repository file @rel (through the backend). */
static int hash_rel(mm_repo *r, const char *rel, uint64_t *size,
                    unsigned char sha256[MM_REPO_SHA256_SIZE])
{
    mm_buf b;
    int err;

    mm_buf_init(&b, MM_REPO_VIEWER_FILE_MAX);
    if ((err = mm_repo__read(r, rel, &b)) == 0) {
        mm_crypto_sha256(b.ptr ? b.ptr : "", b.len, sha256);
        *size = b.len;
    }
    mm_buf_release(&b);
    return err;
}

int mm_repo_viewer_check(mm_repo *r, const struct mm_repo_viewer *v, mm_repo_viewer_fn fn,
                         void *ctx, size_t *bad)
{
    size_t nbad = 0;

    MM_ASSERT_ARG(r && v);
    for (size_t i = 0; i < v->n; i++) {
        const struct mm_repo_viewer_file *f = &v->files[i];
        unsigned char h[MM_REPO_SHA256_SIZE] = { 0 };
        enum mm_repo_viewer_state st = MM_REPO_VIEWER_OK;
        uint64_t size = 0;
        int err = hash_rel(r, f->path, &size, h);

        if (err == MM_ENOMEM)
            return err;
        if (err == MM_ENOTFOUND)
            st = MM_REPO_VIEWER_MISSING;
        else if (err < 0)
            st = MM_REPO_VIEWER_UNREADABLE;
        else if (size != f->size || !mm_crypto_equal(h, f->sha256, MM_REPO_SHA256_SIZE))
            st = MM_REPO_VIEWER_CHANGED;
        mm_error_clear();
        nbad += st != MM_REPO_VIEWER_OK;
        if (fn)
            fn(f, st, size, h, ctx);
    }
    if (bad)
        *bad = nbad;
    return 0;
}
