/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The files of a repository, through its backend (repo_backend.h: a local folder or an S3
 * bucket): whole and ranged reads, writes of the two kinds, listings of content-named files,
 * removal; and the sealed envelope of repository files (config, index files, manifests,
 * verify records). Every repository file but the marker and the locks is named by a hash of
 * its content and never rewritten.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include "os/os.h"
#include "repo/repo_int.h"

const char *mm_repo__local(const mm_repo *r)
{
    return mm_repo_be_local_path(r->be);
}

int mm_repo__path(const mm_repo *r, const char *rel, char *out, size_t cap)
{
    const char *dir = mm_repo__local(r);
    int n;

    if (!dir)
        return mm_error_set(MM_EINVAL, "'%s' is not a folder on this machine", r->path);
    n = snprintf(out, cap, "%s/%s", dir, rel);

    if (n < 0 || (size_t)n >= cap)
        return mm_error_set(MM_ELIMIT, "repository path too long");
    return 0;
}

int mm_repo__write(mm_repo *r, const char *rel, const void *data, size_t n)
{
    return r->be->ops->write(r->be, rel, data, n, MM_REPO_BE_ONCE);
}

int mm_repo__replace(mm_repo *r, const char *rel, const void *data, size_t n)
{
    return r->be->ops->write(r->be, rel, data, n, MM_REPO_BE_REPLACE);
}

int mm_repo__read(mm_repo *r, const char *rel, mm_buf *out)
{
    return r->be->ops->read(r->be, rel, out);
}

int mm_repo__stat(const mm_repo *r, const char *rel, uint64_t *size)
{
    return r->be->ops->stat(r->be, rel, size);
}

int mm_repo__flush(mm_repo *r)
{
    return r->be->ops->flush(r->be);
}

int mm_repo__pread(int fd, void *dst, size_t n, uint64_t off, const char *rel)
{
    size_t done = 0;

    while (done < n) {
        ssize_t got = pread(fd, (char *)dst + done, n - done, (off_t)(off + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return mm_error_set_errno(MM_EIO, errno, "cannot read '%s'", rel);
        if (got == 0)
            return mm_error_set(MM_ECORRUPT, "'%s' is shorter than its index says", rel);
        done += (size_t)got;
    }
    return 0;
}

int mm_repo__read_at(const mm_repo *r, const char *rel, uint64_t off, void *dst, size_t n)
{
    return r->be->ops->read_at(r->be, rel, off, dst, n);
}

int mm_repo__is_hex_name(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == 2 * MM_CRYPTO_ID_SIZE;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void mm_repo__names_sort(char **v, size_t n)
{
    if (n)
        qsort(v, n, sizeof(*v), cmp_str);
}

int mm_repo__names_add(struct mm_repo__names *l, const char *path, const char *dir,
                       const char *prefix)
{
    return mm_repo__names_scan(l, path, dir, prefix, mm_repo__is_hex_name);
}

int mm_repo__names_scan(struct mm_repo__names *l, const char *path, const char *dir,
                        const char *prefix, int (*keep)(const char *name))
{
    struct dirent *de;
    DIR *d;
    int err = 0;

    if (!(d = opendir(path)))
        return errno == ENOENT ? 0 : mm_error_set_errno(MM_EIO, errno, "cannot list '%s'", dir);
    errno = 0;
    while (err == 0 && (de = readdir(d)) != NULL) {
        if (keep(de->d_name))
            err = mm_repo_be_names_push(l, prefix, de->d_name);
        errno = 0;
    }
    if (err == 0 && errno)
        err = mm_error_set_errno(MM_EIO, errno, "cannot list '%s'", dir);
    closedir(d);
    return err;
}

int mm_repo__list(mm_repo *r, const char *dir, char ***out, size_t *n)
{
    size_t k = 0;
    int err;

    if ((err = mm_repo__list_all(r, dir, out, n)) < 0)
        return err;
    for (size_t i = 0; i < *n; i++) /* content names only: no key slots, no second copies */
        if (mm_repo__is_hex_name((*out)[i]))
            (*out)[k++] = (*out)[i];
        else
            mm_free((*out)[i]);
    *n = k;
    return 0;
}

int mm_repo__list_all(mm_repo *r, const char *dir, char ***out, size_t *n)
{
    struct mm_repo__names l = { NULL, 0, 0 };
    int err;

    *out = NULL;
    *n = 0;
    if ((err = r->be->ops->list(r->be, dir, &l, "")) < 0) {
        mm_repo__list_free(l.v, l.n);
        return err;
    }
    mm_repo__names_sort(l.v, l.n);
    *out = l.v;
    *n = l.n;
    return 0;
}

void mm_repo__list_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mm_free(v[i]);
    mm_free(v);
}

int mm_repo__remove(mm_repo *r, const char *rel)
{
    return r->be->ops->remove(r->be, rel);
}

void mm_repo__pack_rel(const unsigned char id[ID_SIZE], char out[80])
{
    char hex[MM_CRYPTO_HEX_SIZE];

    mm_crypto_hex(id, hex);
    snprintf(out, 80, "data/%.2s/%s", hex, hex);
}

/* Envelope: magic 4 | le32 version | object ID 32 | sealed object. */
#define ENV_HEAD (8u + ID_SIZE)

int mm_repo__envelope_seal(mm_repo *r, const char magic[4], const void *plain, size_t n,
                           mm_buf *out)
{
    unsigned char head[ENV_HEAD];
    size_t start = out->len;
    int err;

    /* format 3: everything but the config (written and read only by a person) is sealed to
     * the reader key */
    if (r->version >= 3 && memcmp(magic, "MMCF", 4) != 0)
        return mm_repo__envelope3_seal(r, magic, plain, n, out);
    memcpy(head, magic, 4);
    mm_put_le32(head + 4, MM_REPO_FILE_VERSION);
    if ((err = mm_crypto_object_id(r->ks, plain, n, head + 8)) < 0)
        return err;
    if ((err = mm_buf_put(out, head, sizeof(head))) < 0)
        return err;
    if ((err = mm_repo__object_seal(r, NULL, head + 8, plain, n, NULL, out)) < 0)
        mm_buf_truncate(out, start);
    return err;
}

int mm_repo__sealed_write(mm_repo *r, const char *dir, const char magic[4], const void *plain,
                          size_t n, size_t limit, char hex_out[MM_CRYPTO_HEX_SIZE],
                          char rel_out[96])
{
    unsigned char h[ID_SIZE];
    char hex[MM_CRYPTO_HEX_SIZE], rel[96];
    mm_buf file;
    int err;

    mm_buf_init(&file, limit);
    if ((err = mm_repo__envelope_seal(r, magic, plain, n, &file)) < 0)
        goto out;
    mm_crypto_hash(file.ptr, file.len, h);
    mm_crypto_hex(h, hex);
    snprintf(rel, sizeof(rel), "%s/%s", dir, hex);
    if ((err = mm_repo__write(r, rel, file.ptr, file.len)) < 0)
        goto out;
    if (hex_out)
        memcpy(hex_out, hex, sizeof(hex));
    if (rel_out)
        memcpy(rel_out, rel, sizeof(rel));
out:
    mm_buf_release(&file);
    return err;
}

int mm_repo__sealed_read(mm_repo *r, const char *dir, const char *name, const char magic[4],
                         mm_buf *raw, mm_buf *plain)
{
    unsigned char h[ID_SIZE], want[ID_SIZE];
    char rel[96];
    int err;

    mm_buf_clear(raw);
    mm_buf_clear(plain);
    snprintf(rel, sizeof(rel), "%s/%s", dir, name);
    if ((err = mm_repo__read(r, rel, raw)) < 0)
        return err;
    mm_crypto_hash(raw->ptr, raw->len, h);
    if (mm_crypto_hex_parse(name, want) < 0 || memcmp(h, want, ID_SIZE) != 0)
        return mm_error_set(MM_ECORRUPT, "'%s' is damaged (content hash)", rel);
    return mm_repo__envelope_open(r, magic, raw->ptr, raw->len, plain);
}

int64_t mm_repo__now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

unsigned int mm_repo__threads(unsigned int asked)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (asked)
        return asked > 64 ? 64 : asked;
    if (cpus * 2 > 64)
        return 64;
    return cpus * 2 > 16 ? (unsigned int)(cpus * 2) : 16;
}

int mm_repo__progress_due(struct timespec *last)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - last->tv_sec) * 1000 + (now.tv_nsec - last->tv_nsec) / 1000000 < 250)
        return 0;
    *last = now;
    return 1;
}

void mm_repo__progress_deadline(struct timespec *out)
{
    clock_gettime(CLOCK_REALTIME, out);
    out->tv_nsec += 250000000;
    if (out->tv_nsec >= 1000000000) {
        out->tv_sec++;
        out->tv_nsec -= 1000000000;
    }
}

char *mm_repo__join(const char *a, const char *name, size_t len)
{
    size_t n = strlen(a), sep = n ? 1 : 0;
    char *p = mm_malloc(n + sep + len + 1);

    if (!p)
        return NULL;
    memcpy(p, a, n);
    p[n] = '/';
    memcpy(p + n + sep, name, len);
    p[n + sep + len] = '\0';
    return p;
}

int mm_repo__envelope_open(mm_repo *r, const char magic[4], const void *p, size_t n, mm_buf *out)
{
    const unsigned char *b = p;
    uint32_t version;

    if (n < ENV_HEAD || memcmp(b, magic, 4) != 0)
        return mm_error_set(MM_ECORRUPT, "not a '%.4s' file", magic);
    version = mm_get_le32(b + 4);
    if (version == MM_REPO_FILE_VERSION3 && r->version >= 3 && memcmp(magic, "MMCF", 4) != 0)
        return mm_repo__envelope3_open(r, p, n, out);
    if (version != MM_REPO_FILE_VERSION)
        return mm_error_set(MM_ECORRUPT, "'%.4s' file version %u is not known to this mamori",
                            magic, (unsigned)version);
    return mm_repo__object_open_dk(r, NULL, NULL, b + 8, b + ENV_HEAD, n - ENV_HEAD, UINT32_MAX,
                                   out);
}
