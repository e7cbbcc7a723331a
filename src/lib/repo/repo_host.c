/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host credentials (format 3, docs/format.md "Host credential"): what a backup host keeps so
 * it can write a repository it cannot read. `host enroll` writes one with a person's key;
 * the host opens the repository with it. The file holds the host key block of the crypto
 * module (object-ID key, chunker seed, audit key, reader and master public keys, the writer
 * key and its certificate), the repository's chunker, compression and pack settings and its
 * compression dictionaries, and a BLAKE2b-256 checksum against damage (not a secret, not a
 * MAC: the certificate inside is what the master key signed). It is refused unless owned by
 * the running user with mode 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "os/os.h"
#include "repo/repo_int.h"

#define HC_MAGIC    "MMHC"
#define HC_VERSION  1u
#define HC_HEAD     48u /* magic, version, reserved, repository ID, 6 x le32 */
#define HC_KEYS     HC_HEAD
#define HC_DICTS    (HC_KEYS + MM_HOSTKEYS_SIZE)
#define HC_FILE_MAX (HC_DICTS + 4u + MM_REPO__DICTS_MAX * (4u + MM_REPO_DICT_MAX) + ID_SIZE)
#define DAY         86400u
#define DAYS_MAX    36600u

/* The 16 bytes of the repository ID of @r. */
static void id_bytes(const char *hex, unsigned char out[MM_REPO_ID_BYTES])
{
    for (size_t i = 0; i < MM_REPO_ID_BYTES; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
}

/* Append the distinct dictionaries of dict/ (count, then le32 length and bytes each). */
static int put_dicts(mm_repo *r, mm_buf *f)
{
    unsigned char seen[MM_REPO__DICTS_MAX][ID_SIZE], h[ID_SIZE], le[4];
    char **names = NULL;
    size_t n = 0, count = 0, at = f->len;
    mm_buf raw, plain;
    int err;

    mm_buf_init(&raw, MM_REPO_DICT_FILE_MAX);
    mm_buf_init(&plain, MM_REPO_DICT_MAX);
    mm_put_le32(le, 0);
    if ((err = mm_buf_put(f, le, 4)) < 0 || (err = mm_repo__list(r, "dict", &names, &n)) < 0)
        goto out;
    for (size_t i = 0; i < n && count < MM_REPO__DICTS_MAX; i++) {
        size_t k = 0;
        if (mm_repo__sealed_read(r, "dict", names[i], "MMDC", &raw, &plain) < 0)
            continue; /* a damaged copy: the other one serves */
        mm_crypto_hash(plain.ptr, plain.len, h);
        while (k < count && memcmp(seen[k], h, ID_SIZE) != 0)
            k++;
        if (k < count)
            continue;
        memcpy(seen[count++], h, ID_SIZE);
        mm_put_le32(le, (uint32_t)plain.len);
        if ((err = mm_buf_put(f, le, 4)) < 0 || (err = mm_buf_put(f, plain.ptr, plain.len)) < 0)
            goto out;
    }
    mm_put_le32((unsigned char *)f->ptr + at, (uint32_t)count);
    mm_error_clear();
out:
    mm_repo__list_free(names, n);
    mm_buf_release(&raw);
    mm_buf_release(&plain);
    return err;
}

/* Write @n bytes to the new file @file (mode 0600, refused when it exists), fsynced. */
static int write_new(const char *file, const void *p, size_t n)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    int err;

    if (fd < 0)
        return mm_error_set_errno(errno == EEXIST ? MM_EEXISTS : MM_EIO, errno,
                                  "cannot create the host credential '%s'", file);
    if ((err = mm_os_write_all(fd, p, n, file)) == 0 && fchmod(fd, 0600) != 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot set the mode of '%s'", file);
    if (err == 0 && fsync(fd) != 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot write '%s'", file);
    close(fd);
    if (err < 0)
        unlink(file);
    return err;
}

int mm_repo_host_enroll(mm_repo *r, const char *name, unsigned days, const char *file)
{
    unsigned char head[HC_HEAD], keys[MM_HOSTKEYS_SIZE], sum[ID_SIZE];
    uint64_t now = (uint64_t)time(NULL);
    mm_buf f;
    int err;

    MM_ASSERT_ARG(r && name && file);
    if (r->version < 3)
        return mm_error_set(MM_EINVAL,
                            "repository format %u has no write-only hosts: "
                            "create a format 3 repository (init --format 3)",
                            r->version);
    if (mm_keyset_is_host(r->ks))
        return mm_error_set(MM_EINVAL, "a host credential cannot enroll a host");
    if (days == 0 || days > DAYS_MAX)
        return mm_error_set(MM_EINVAL, "a writer certificate lasts 1 to %u days", DAYS_MAX);
    memset(head, 0, sizeof(head));
    memcpy(head, HC_MAGIC, 4);
    mm_put_le16(head + 4, HC_VERSION);
    id_bytes(r->id, head + 8);
    mm_put_le32(head + 24, (uint32_t)r->cfg.chunk.min);
    mm_put_le32(head + 28, (uint32_t)r->cfg.chunk.avg);
    mm_put_le32(head + 32, (uint32_t)r->cfg.chunk.max);
    mm_put_le32(head + 36, (uint32_t)r->cfg.zstd_level);
    mm_put_le32(head + 40, r->cfg.pack_target);
    mm_put_le32(head + 44, r->version);
    if ((err = mm_keyset_enroll(r->ks, head + 8, name, now, now + (uint64_t)days * DAY, keys)) < 0)
        return err;
    mm_buf_init(&f, HC_FILE_MAX);
    if ((err = mm_buf_put(&f, head, sizeof(head))) < 0 ||
        (err = mm_buf_put(&f, keys, sizeof(keys))) < 0 || (err = put_dicts(r, &f)) < 0)
        goto out;
    mm_crypto_hash(f.ptr, f.len, sum);
    if ((err = mm_buf_put(&f, sum, sizeof(sum))) < 0)
        goto out;
    err = write_new(file, f.ptr, f.len);
out:
    mm_crypto_wipe(keys, sizeof(keys));
    if (f.ptr)
        mm_crypto_wipe(f.ptr, f.len);
    mm_buf_release(&f);
    return err;
}

/* Read the credential @file into @f after checking its owner and mode. */
static int read_checked(const char *file, mm_buf *f)
{
    struct stat st;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), err = 0;

    if (fd < 0)
        return mm_error_set_errno(errno == ENOENT ? MM_ENOTFOUND : MM_EIO, errno,
                                  "cannot open the host credential '%s'", file);
    if (fstat(fd, &st) != 0) {
        err = mm_error_set_errno(MM_EIO, errno, "cannot read '%s'", file);
    } else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0600) {
        err = mm_error_set(S_ISREG(st.st_mode) && (st.st_mode & 077) ? MM_EREFUSED : MM_EINVAL,
                           "ホスト資格情報 '%s' は実行ユーザーの所有でモード 0600 でなければ"
                           "なりません / the host credential '%s' must be a file owned by the "
                           "user running mamori with mode 0600 (chown, chmod 600)",
                           file, file);
    } else if (st.st_size < (off_t)(HC_DICTS + 4 + ID_SIZE) || st.st_size > (off_t)HC_FILE_MAX) {
        err = mm_error_set(MM_ECORRUPT, "'%s' is not a host credential (size)", file);
    } else if ((err = mm_buf_grow(f, (size_t)st.st_size)) == 0) {
        ssize_t got = pread(fd, f->ptr, (size_t)st.st_size, 0);
        if (got != st.st_size)
            err = mm_error_set_errno(MM_EIO, errno, "cannot read '%s'", file);
        else
            f->len = (size_t)got;
    }
    close(fd);
    return err;
}

/* Check framing and checksum of the credential @p (@n bytes), load its dictionaries. */
static int parse_cred(mm_repo *r, const unsigned char *p, size_t n, const char *file)
{
    unsigned char sum[ID_SIZE], rid[MM_REPO_ID_BYTES];
    size_t pos = HC_DICTS + 4;
    uint32_t ndict;
    int err;

    mm_crypto_hash(p, n - ID_SIZE, sum);
    if (memcmp(p, HC_MAGIC, 4) != 0 || !mm_crypto_equal(sum, p + n - ID_SIZE, ID_SIZE))
        return mm_error_set(MM_ECORRUPT, "'%s' is not a host credential, or is damaged", file);
    if (mm_get_le16(p + 4) != HC_VERSION)
        return mm_error_set(MM_ECORRUPT, "host credential version %u is not known",
                            (unsigned)mm_get_le16(p + 4));
    id_bytes(r->id, rid);
    if (memcmp(rid, p + 8, MM_REPO_ID_BYTES) != 0)
        return mm_error_set(MM_EINVAL, "the host credential '%s' belongs to another repository",
                            file);
    r->cfg.chunk.min = mm_get_le32(p + 24);
    r->cfg.chunk.avg = mm_get_le32(p + 28);
    r->cfg.chunk.max = mm_get_le32(p + 32);
    r->cfg.zstd_level = (int)mm_get_le32(p + 36);
    r->cfg.pack_target = mm_get_le32(p + 40);
    if (mm_chunk_params_check(&r->cfg.chunk) < 0 || r->cfg.zstd_level < 1 ||
        r->cfg.zstd_level > 19 || r->cfg.pack_target < 1024 * 1024 ||
        r->cfg.pack_target > MM_REPO_PACK_MAX / 2)
        return mm_error_set(MM_ECORRUPT, "host credential has impossible settings");
    if ((err = mm_keyset_from_hostkeys(&r->ks, p + HC_KEYS, MM_HOSTKEYS_SIZE, rid)) < 0)
        return err;
    ndict = mm_get_le32(p + HC_DICTS);
    for (uint32_t i = 0; i < ndict; i++) {
        uint32_t len;
        if (n - ID_SIZE - pos < 4 || (len = mm_get_le32(p + pos)) > n - ID_SIZE - pos - 4)
            return mm_error_set(MM_ECORRUPT, "host credential: dictionary %u is truncated", i);
        if ((err = mm_repo__dict_add(r, p + pos + 4, len)) < 0)
            return err;
        pos += 4 + len;
    }
    if (pos != n - ID_SIZE)
        return mm_error_set(MM_ECORRUPT, "host credential has trailing bytes");
    r->dict_loaded = 1; /* dict/ is sealed to the reader key: the credential's copies serve */
    return 0;
}

int mm_repo_open_host(mm_repo **out, const char *path, const char *file)
{
    struct mm_wcert wc;
    unsigned char cert[MM_WCERT_SIZE], pk[MM_CRYPTO_PK_SIZE], rid[MM_REPO_ID_BYTES];
    mm_repo *r = NULL;
    mm_buf f;
    int err;

    MM_ASSERT_ARG(out && path && file);
    mm_buf_init(&f, HC_FILE_MAX);
    if ((err = read_checked(file, &f)) < 0 || (err = mm_repo__open_marker(&r, path)) < 0)
        goto out;
    if (r->version < 3) {
        err = mm_error_set(MM_EINVAL, "repository format %u is not written by host credentials",
                           r->version);
        goto out;
    }
    if ((err = parse_cred(r, (const unsigned char *)f.ptr, f.len, file)) < 0)
        goto out;
    mm_keyset_writer_cert(r->ks, cert);
    mm_keyset_public_key(r->ks, pk);
    id_bytes(r->id, rid);
    if ((err = mm_wcert_check(pk, cert, sizeof(cert), rid, &wc)) < 0)
        goto out;
    snprintf(r->user, sizeof(r->user), "%s", wc.name);
    *out = r;
    r = NULL;
out:
    if (f.ptr)
        mm_crypto_wipe(f.ptr, f.len);
    mm_buf_release(&f);
    mm_repo_free(r);
    return err;
}
