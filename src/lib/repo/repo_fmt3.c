/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Repository format 3: every pack and every envelope carries its own random data key,
 * sealed to the repository's reader public key (crypto_box_seal), so a host that holds only
 * public material and a writer key can write a repository it cannot read. This file holds
 * the format 3 parts of the codec layer: the data keys of packs (read from a pack's header
 * once, then cached by pack ID), the version 2 envelope, and the signer block of format 3
 * manifests (master key, or a writer key certified by it). Layouts: docs/format.md and
 * docs/format-crypto.md, "Format 3".
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "repo/repo_int.h"

#define ENV3_HEAD        (8u + MM_CRYPTO_SEALED_DK_SIZE + ID_SIZE)
#define SIGNER_MAGIC     "MMSG"
#define SIGNER_TRAILER   8u /* le32 certificate length, "MMSG" */
#define MANIFEST3_DOMAIN "mamori-manifest-v3"

/* ---- the data key cache -------------------------------------------------------------------- */

static size_t dk_slot(const struct mm_repo__dkcache *c, const unsigned char id[ID_SIZE])
{
    return (size_t)mm_get_le64(id) & (c->cap - 1);
}

static int is_zero(const unsigned char *p, size_t n)
{
    unsigned char acc = 0;

    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* The cached key of @id into @dk. @return 1 found, 0 not. Locked by the caller. */
static int dk_get(const struct mm_repo__dkcache *c, const unsigned char id[ID_SIZE],
                  unsigned char *dk)
{
    if (!c->cap)
        return 0;
    for (size_t i = dk_slot(c, id); !is_zero(c->ids[i], ID_SIZE); i = (i + 1) & (c->cap - 1))
        if (memcmp(c->ids[i], id, ID_SIZE) == 0) {
            memcpy(dk, c->keys[i], MM_CRYPTO_DK_SIZE);
            return 1;
        }
    return 0;
}

/* Insert @id -> @dk (not present). Locked by the caller. @return 0, MM_ENOMEM */
static int dk_put(struct mm_repo__dkcache *c, const unsigned char id[ID_SIZE],
                  const unsigned char *dk)
{
    size_t i;

    if ((c->n + 1) * 2 > c->cap) {
        struct mm_repo__dkcache g = { 0 };
        g.cap = c->cap ? c->cap * 2 : 256;
        g.ids = mm_calloc(g.cap, ID_SIZE);
        g.keys = mm_calloc(g.cap, MM_CRYPTO_DK_SIZE);
        if (!g.ids || !g.keys) {
            mm_free(g.ids);
            mm_free(g.keys);
            return mm_error_set(MM_ENOMEM, "out of memory");
        }
        for (size_t k = 0; k < c->cap; k++) {
            if (is_zero(c->ids[k], ID_SIZE))
                continue;
            for (i = dk_slot(&g, c->ids[k]); !is_zero(g.ids[i], ID_SIZE); i = (i + 1) & (g.cap - 1))
                ;
            memcpy(g.ids[i], c->ids[k], ID_SIZE);
            memcpy(g.keys[i], c->keys[k], MM_CRYPTO_DK_SIZE);
        }
        if (c->keys)
            mm_crypto_wipe(c->keys, c->cap * MM_CRYPTO_DK_SIZE);
        mm_free(c->ids);
        mm_free(c->keys);
        c->ids = g.ids;
        c->keys = g.keys;
        c->cap = g.cap;
    }
    for (i = dk_slot(c, id); !is_zero(c->ids[i], ID_SIZE); i = (i + 1) & (c->cap - 1))
        ;
    memcpy(c->ids[i], id, ID_SIZE);
    memcpy(c->keys[i], dk, MM_CRYPTO_DK_SIZE);
    c->n++;
    return 0;
}

void mm_repo__dkcache_release(struct mm_repo__dkcache *c)
{
    if (c->keys)
        mm_crypto_wipe(c->keys, c->cap * MM_CRYPTO_DK_SIZE);
    mm_free(c->ids);
    mm_free(c->keys);
    c->ids = NULL;
    c->keys = NULL;
    c->n = c->cap = 0;
}

int mm_repo__pack_key(const mm_repo *r, const unsigned char pack[ID_SIZE],
                      unsigned char dk[MM_CRYPTO_DK_SIZE], int *legacy)
{
    mm_repo *rw =
            (mm_repo *)(uintptr_t)r; /* the cache and the file reads; the repository is unchanged */
    unsigned char head[MM_REPO__PACK_HEAD3];
    char rel[80];
    uint32_t version;
    int err, found;

    *legacy = 0;
    pthread_mutex_lock(&rw->dkc.lock);
    found = dk_get(&r->dkc, pack, dk);
    pthread_mutex_unlock(&rw->dkc.lock);
    if (found)
        return 0;
    mm_repo__pack_rel(pack, rel);
    if ((err = mm_repo__read_at(rw, rel, 0, head, 8)) < 0)
        return err;
    version = mm_get_le32(head + 4);
    if (memcmp(head, "MMPK", 4) != 0)
        return mm_error_set(MM_ECORRUPT, "pack '%.12s' has a damaged header", rel + 8);
    if (version == MM_REPO_PACK_VERSION) {
        *legacy = 1;
        return 0;
    }
    if (version != MM_REPO_PACK_VERSION3)
        return mm_error_set(MM_ECORRUPT, "pack '%.12s' has unknown version %u", rel + 8,
                            (unsigned)version);
    if ((err = mm_repo__read_at(rw, rel, 0, head, sizeof(head))) < 0)
        return err;
    if ((err = mm_crypto_datakey_open(r->ks, head + 8, dk)) < 0)
        return mm_error_set(err, "pack '%.12s': %s", rel + 8, mm_error_last());
    pthread_mutex_lock(&rw->dkc.lock);
    {
        unsigned char tmp[MM_CRYPTO_DK_SIZE];
        err = dk_get(&r->dkc, pack, tmp) ? 0 : dk_put(&rw->dkc, pack, dk);
        mm_crypto_wipe(tmp, sizeof(tmp));
    }
    pthread_mutex_unlock(&rw->dkc.lock);
    return err;
}

int mm_repo__object_key(const mm_repo *r, const unsigned char id[ID_SIZE],
                        unsigned char dk[MM_CRYPTO_DK_SIZE], int *legacy)
{
    mm_repo *rw = (mm_repo *)(uintptr_t)r;
    unsigned char pack[ID_SIZE];
    struct mm_repo__loc *l;
    int found;

    pthread_rwlock_rdlock(&rw->ix.lock);
    l = mm_repo__index_find(&rw->ix, id);
    found = l && !l->pending;
    if (found)
        memcpy(pack, r->ix.packs[l->pack].id, ID_SIZE);
    pthread_rwlock_unlock(&rw->ix.lock);
    if (!found)
        return mm_error_set(MM_ENOTFOUND, "object is in no pack the index names");
    return mm_repo__pack_key(r, pack, dk, legacy);
}

/* ---- envelopes, version 2 ------------------------------------------------------------------ */

int mm_repo__envelope3_seal(mm_repo *r, const char magic[4], const void *plain, size_t n,
                            mm_buf *out)
{
    unsigned char head[ENV3_HEAD], dk[MM_CRYPTO_DK_SIZE], rpk[MM_CRYPTO_PK_SIZE];
    unsigned char *id = head + 8 + MM_CRYPTO_SEALED_DK_SIZE;
    size_t start = out->len;
    int err;

    memcpy(head, magic, 4);
    mm_put_le32(head + 4, MM_REPO_FILE_VERSION3);
    mm_crypto_datakey_new(dk);
    mm_keyset_reader_pk(r->ks, rpk);
    if ((err = mm_crypto_datakey_seal(rpk, dk, head + 8)) < 0 ||
        (err = mm_crypto_object_id(r->ks, plain, n, id)) < 0 ||
        (err = mm_buf_put(out, head, sizeof(head))) < 0)
        goto out;
    if ((err = mm_repo__object_seal_dk(r, NULL, dk, id, plain, n, NULL, out)) < 0)
        mm_buf_truncate(out, start);
out:
    mm_crypto_wipe(dk, sizeof(dk));
    return err;
}

int mm_repo__envelope3_open(mm_repo *r, const void *p, size_t n, mm_buf *out)
{
    const unsigned char *b = p;
    unsigned char dk[MM_CRYPTO_DK_SIZE];
    int err;

    if (n < ENV3_HEAD)
        return mm_error_set(MM_ECORRUPT, "'%.4s' file is truncated", (const char *)b);
    if ((err = mm_crypto_datakey_open(r->ks, b + 8, dk)) < 0)
        return err;
    err = mm_repo__object_open_dk(r, NULL, dk, b + 8 + MM_CRYPTO_SEALED_DK_SIZE, b + ENV3_HEAD,
                                  n - ENV3_HEAD, UINT32_MAX, out);
    mm_crypto_wipe(dk, sizeof(dk));
    return err;
}

/* ---- manifests: master key or certified writer --------------------------------------------- */

int mm_repo__manifest3_sign(mm_repo *r, mm_buf *body)
{
    unsigned char cert[MM_WCERT_SIZE], tail[SIGNER_TRAILER], sig[MM_CRYPTO_SIG_SIZE];
    int writer = mm_keyset_writer_cert(r->ks, cert);
    mm_buf msg;
    int err;

    mm_put_le32(tail, writer ? MM_WCERT_SIZE : 0);
    memcpy(tail + 4, SIGNER_MAGIC, 4);
    if ((writer && (err = mm_buf_put(body, cert, sizeof(cert))) < 0) ||
        (err = mm_buf_put(body, tail, sizeof(tail))) < 0)
        return err;
    mm_buf_init(&msg, MM_REPO_MANIFEST_MAX + 1024);
    if ((err = mm_buf_put(&msg, MANIFEST3_DOMAIN, sizeof(MANIFEST3_DOMAIN))) == 0 &&
        (err = mm_buf_put(&msg, body->ptr, body->len)) == 0 &&
        (err = mm_crypto_sign(r->ks, msg.ptr, msg.len, sig)) == 0)
        err = mm_buf_put(body, sig, sizeof(sig));
    mm_buf_release(&msg);
    return err;
}

/* The 16 bytes of the repository ID (hex in r->id). */
static void repo_id_bytes(const mm_repo *r, unsigned char out[MM_REPO_ID_BYTES])
{
    for (size_t i = 0; i < MM_REPO_ID_BYTES; i++) {
        unsigned v = 0;
        sscanf(r->id + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
}

int mm_repo__manifest3_check(mm_repo *r, const unsigned char *p, size_t n, size_t *bodylen,
                             struct mm_wcert *wc, int *writer)
{
    unsigned char mpk[MM_CRYPTO_PK_SIZE], rid[MM_REPO_ID_BYTES];
    const unsigned char *pk = mpk;
    size_t signed_len, certlen;
    mm_buf msg;
    int err;

    *writer = 0;
    if (n < MM_CRYPTO_SIG_SIZE + SIGNER_TRAILER)
        return mm_error_set(MM_ECORRUPT, "manifest has no signature");
    signed_len = n - MM_CRYPTO_SIG_SIZE;
    if (memcmp(p + signed_len - 4, SIGNER_MAGIC, 4) != 0)
        return mm_error_set(MM_ECORRUPT, "manifest has no signer block");
    certlen = mm_get_le32(p + signed_len - SIGNER_TRAILER);
    if ((certlen != 0 && certlen != MM_WCERT_SIZE) || certlen > signed_len - SIGNER_TRAILER)
        return mm_error_set(MM_ECORRUPT, "manifest has a damaged signer block");
    *bodylen = signed_len - SIGNER_TRAILER - certlen;
    mm_keyset_public_key(r->ks, mpk);
    if (certlen) {
        repo_id_bytes(r, rid);
        unsigned char rpk[MM_CRYPTO_PK_SIZE];
        if ((err = mm_wcert_check(mpk, p + *bodylen, certlen, rid, wc)) < 0)
            return mm_error_set(MM_ECORRUPT, "manifest writer: %s", mm_error_last());
        mm_keyset_reader_pk(r->ks, rpk);
        if (!mm_crypto_equal(rpk, wc->reader_pk, sizeof(rpk)))
            return mm_error_set(MM_ECORRUPT, "manifest writer's certificate names another "
                                             "reader key");
        pk = wc->pk;
        *writer = 1;
    }
    mm_buf_init(&msg, MM_REPO_MANIFEST_MAX + 1024);
    if ((err = mm_buf_put(&msg, MANIFEST3_DOMAIN, sizeof(MANIFEST3_DOMAIN))) == 0 &&
        (err = mm_buf_put(&msg, p, signed_len)) == 0 &&
        mm_crypto_verify(pk, msg.ptr, msg.len, p + signed_len) < 0)
        err = mm_error_set(MM_ECORRUPT, "manifest signature is not valid");
    mm_buf_release(&msg);
    return err;
}
