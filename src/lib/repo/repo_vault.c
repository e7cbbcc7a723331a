/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vault copy (repo_vault.h): a medium's repository into a second backend, only what the
 * vault lacks, manifests last.
 */
#include "repo/repo_vault.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "os/os.h"
#include "repo/repo_format.h"
#include "repo/repo_int.h"
#include "repo/repo_sync.h"
#ifdef MM_HAVE_S3
#include "repo/repo_s3.h"
#endif

/* The last part of @rel. */
static const char *base_of(const char *rel)
{
    const char *s = strrchr(rel, '/');

    return s ? s + 1 : rel;
}

/* Send <@src>/<@rel> to @dst as @kind when the vault lacks it (checked against its name first
 * when it is content-named). @return 0, MM_ENOTFOUND (no source), MM_ECORRUPT, MM_EIO, ... */
static int send(const char *src, struct mm_repo_be *dst, const char *rel, int kind,
                struct mm_repo_vault_stats *st)
{
    char path[MM_LIMIT_PATH];
    uint64_t have;
    mm_buf data;
    int err;

    if (kind == MM_REPO_BE_ONCE && dst->ops->stat(dst, rel, &have) == 0) {
        st->present++;
        return 0;
    }
    if (snprintf(path, sizeof(path), "%s/%s", src, rel) >= (int)sizeof(path))
        return mm_error_set(MM_ELIMIT, "repository path too long");
    mm_buf_init(&data, MM_REPO_IXFILE_MAX);
    err = mm_os_read_file(path, &data);
    if (err == 0 && mm_repo__is_hex_name(base_of(rel))) {
        unsigned char h[MM_CRYPTO_ID_SIZE];
        char hex[MM_CRYPTO_HEX_SIZE];
        mm_crypto_hash(data.ptr, data.len, h);
        mm_crypto_hex(h, hex);
        if (strcmp(hex, base_of(rel)) != 0)
            err = mm_error_set(MM_ECORRUPT,
                               "'%s' on the medium does not hash to its name: "
                               "not sent to the vault",
                               rel);
    }
    if (err == 0)
        err = dst->ops->write(dst, rel, data.ptr ? data.ptr : "", data.len, kind);
    if (err == 0) {
        st->files++;
        st->bytes += data.len;
    }
    mm_buf_release(&data);
    return err;
}

/* Send <@src>/<@rel>, a file rewritten in place (a key slot after `key passwd`), when the
 * vault's copy is missing or differs (REPLACE: the S3 backend keeps every version of a key
 * slot retained). */
static int send_changed(const char *src, struct mm_repo_be *dst, const char *rel,
                        struct mm_repo_vault_stats *st)
{
    char path[MM_LIMIT_PATH];
    mm_buf mine, theirs;
    int err, same;

    if (snprintf(path, sizeof(path), "%s/%s", src, rel) >= (int)sizeof(path))
        return mm_error_set(MM_ELIMIT, "repository path too long");
    mm_buf_init(&mine, MM_REPO_IXFILE_MAX);
    mm_buf_init(&theirs, MM_REPO_IXFILE_MAX);
    if ((err = mm_os_read_file(path, &mine)) == 0) {
        same = dst->ops->read(dst, rel, &theirs) == 0 && theirs.len == mine.len &&
               (mine.len == 0 || memcmp(theirs.ptr, mine.ptr, mine.len) == 0);
        mm_error_clear();
        if (same)
            st->present++;
        else if ((err = dst->ops->write(dst, rel, mine.ptr ? mine.ptr : "", mine.len,
                                        MM_REPO_BE_REPLACE)) == 0) {
            st->files++;
            st->bytes += mine.len;
        }
    }
    mm_buf_release(&mine);
    mm_buf_release(&theirs);
    return err;
}

/* The key slots keys/<32 hex> (and their .2 copies) of @src. */
static int send_keys(const char *src, struct mm_repo_be *dst, struct mm_repo_vault_stats *st)
{
    char dir[MM_LIMIT_PATH], rel[MM_LIMIT_PATH];
    struct dirent *de;
    DIR *d;
    int err = 0;

    if (snprintf(dir, sizeof(dir), "%s/keys", src) >= (int)sizeof(dir))
        return mm_error_set(MM_ELIMIT, "repository path too long");
    if (!(d = opendir(dir)))
        return mm_error_set_errno(MM_EIO, errno, "cannot list the key slots of the medium");
    while (err == 0 && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name), hex = strspn(de->d_name, "0123456789abcdef");
        if (!((n == 32 && hex == 32) ||
              (n == 34 && hex == 32 && strcmp(de->d_name + 32, ".2") == 0)))
            continue; /* temporary names and anything else */
        snprintf(rel, sizeof(rel), "keys/%s", de->d_name);
        err = send_changed(src, dst, rel, st);
    }
    closedir(d);
    return err;
}

/* The small critical files: what opening the vault needs. Missing optional ones are fine. */
static int send_fixed(const char *src, struct mm_repo_be *dst, struct mm_repo_vault_stats *st)
{
    static const char *const required[] = { "mamori-repo", "config" };
    static const char *const optional[] = { "mamori-repo.2", "config.2", "medium", "medium.2" };
    int err = 0;

    for (size_t i = 0; i < 2 && err == 0; i++)
        if ((err = send(src, dst, required[i], MM_REPO_BE_ONCE, st)) == MM_ENOTFOUND)
            err = mm_error_set(MM_ENOTFOUND, "the medium holds no mamori repository");
    for (size_t i = 0; i < 4 && err == 0; i++)
        if ((err = send(src, dst, optional[i], MM_REPO_BE_ONCE, st)) == MM_ENOTFOUND)
            err = 0;
    return err ? err : send_keys(src, dst, st);
}

/* Send the listed files whose names begin with @dir (all but the manifests, or only them). */
static int send_list(const char *src, struct mm_repo_be *dst, char **v, size_t n, const char *dir,
                     struct mm_repo_vault_stats *st)
{
    size_t dl = strlen(dir);
    int err = 0;

    for (size_t i = 0; i < n && err == 0; i++)
        if (strncmp(v[i], dir, dl) == 0)
            err = send(src, dst, v[i], MM_REPO_BE_ONCE, st);
    return err;
}

/* The files rewritten in place, last: the medium's audit log and its signed head (the head
 * records the log), then the repository head (what the repository should hold). The vault's
 * copies are replaced each time (its own events, e.g. a restore from the vault, are in the
 * host's audit log too). Missing ones are fine. */
static int send_replaced(const char *src, struct mm_repo_be *dst, struct mm_repo_vault_stats *st)
{
    static const char *const names[] = { "audit/audit.log", "audit/audit.head", "head", "head.2" };
    int err = 0, ferr;

    for (size_t i = 0; i < 4 && err == 0; i++)
        if ((err = send(src, dst, names[i], MM_REPO_BE_REPLACE, st)) == MM_ENOTFOUND)
            err = 0;
    ferr = dst->ops->flush(dst);
    return err ? err : ferr;
}

/* Before a manifest is sent: every retained object lives at least until @until. */
static int extend(struct mm_repo_be *dst, int64_t until, struct mm_repo_vault_stats *st)
{
    if (!until || !dst->info.immutable)
        return 0;
#ifdef MM_HAVE_S3
    if (mm_repo_be_is_s3_backend(dst)) {
        struct mm_repo_be_s3_counts n = { 0 };
        int err = mm_repo_be_s3_extend(dst, until);
        if (mm_repo_be_s3_counts(dst, &n) == 0)
            st->extended += n.extended;
        return err;
    }
#endif
    (void)st;
    return 0;
}

int mm_repo_vault_copy(const char *src, struct mm_repo_be *dst, int64_t retain_until,
                       struct mm_repo_vault_stats *st)
{
    char **v = NULL;
    size_t n = 0;
    int err, ferr;

    memset(st, 0, sizeof(*st));
    if ((err = send_fixed(src, dst, st)) < 0)
        return err;
    if ((err = mm_repo_sync_list(src, 1, &v, &n)) < 0)
        return err;
    /* packs, then what names them, then (once all is acknowledged and retained) manifests */
    err = send_list(src, dst, v, n, "data/", st);
    if (err == 0)
        err = send_list(src, dst, v, n, "dict/", st);
    if (err == 0)
        err = send_list(src, dst, v, n, "index/", st);
    ferr = dst->ops->flush(dst);
    err = err ? err : ferr;
    if (err == 0)
        err = extend(dst, retain_until, st);
    if (err == 0) {
        uint64_t before = st->files;
        err = send_list(src, dst, v, n, "generations/", st);
        st->generations = st->files - before;
    }
    ferr = dst->ops->flush(dst);
    err = err ? err : ferr;
    if (err == 0) /* the medium's audit log and head as they are now: not retained */
        err = send_replaced(src, dst, st);
    mm_repo_sync_list_free(v, n);
    return err;
}
