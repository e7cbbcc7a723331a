/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The repository head's codec (repo.h, docs/format.md "Repository head", MMRH version 1):
 * sequence number, hash of the head before, time, the audit log's state, the sorted list of
 * generation IDs and what the writer knew of the other media of its set, signed with the
 * repository's signing key or a certified writer key (format 3 hosts), like manifests and
 * the audit head. Pure: no I/O. Every byte is covered by the signature and the file's hash
 * chains the next head to it, so a changed, cut or replayed head is found.
 */
#include <stdlib.h>
#include <string.h>

#include "common/endian.h"
#include "common/error.h"
#include "repo/repo.h"

#define MAGIC      "MMRH"
#define DOMAIN     "mamori-head-v1" /* and its NUL: 15 bytes */
#define DOMAIN_LEN 15u
#define FIXED      124u /* bytes up to the generation count and including it */
#define PEER_SIZE  56u
#define SIG_SIZE   64u

void mm_repo_head_release(struct mm_repo_head *h)
{
    if (!h)
        return;
    free(h->gens);
    free(h->peers);
    h->gens = NULL;
    h->peers = NULL;
    h->ngens = h->npeers = 0;
}

/* The signature over DOMAIN || @p[0..@n) with @ks. */
static int sign(const mm_keyset *ks, const unsigned char *p, size_t n, unsigned char sig[64])
{
    unsigned char *m = malloc(DOMAIN_LEN + n);
    int err;

    if (!m)
        return mm_error_set(MM_ENOMEM, "out of memory");
    memcpy(m, DOMAIN, DOMAIN_LEN);
    memcpy(m + DOMAIN_LEN, p, n);
    err = mm_crypto_sign(ks, m, DOMAIN_LEN + n, sig);
    free(m);
    return err;
}

int mm_repo_head_encode(struct mm_repo_head *h, const mm_keyset *ks, mm_buf *out)
{
    unsigned char cert[MM_WCERT_SIZE], sig[SIG_SIZE];
    size_t certlen = mm_keyset_writer_cert(ks, cert) ? MM_WCERT_SIZE : 0, start = out->len, need;
    unsigned char *p;
    int err;

    if (h->ngens > MM_REPO_HEAD_GENS_MAX || h->npeers > MM_REPO_HEAD_PEERS_MAX)
        return mm_error_set(MM_ELIMIT, "too many generations or media for a head");
    need = FIXED + 32u * h->ngens + 4 + PEER_SIZE * h->npeers + 4 + certlen + SIG_SIZE;
    if ((err = mm_buf_grow(out, need)) < 0)
        return err;
    p = (unsigned char *)out->ptr + start;
    memcpy(p, MAGIC, 4);
    mm_put_le16(p + 4, MM_REPO_HEAD_VERSION);
    mm_put_le16(p + 6, (uint16_t)h->flags);
    memcpy(p + 8, h->repo_id, 16);
    mm_put_le64(p + 24, h->seq);
    memcpy(p + 32, h->prev, 32);
    mm_put_le64(p + 64, (uint64_t)h->time_ns);
    mm_put_le64(p + 72, h->audit_len);
    mm_put_le64(p + 80, h->audit_seq);
    memcpy(p + 88, h->audit_h, 32);
    mm_put_le32(p + 120, (uint32_t)h->ngens);
    p += FIXED;
    for (size_t i = 0; i < h->ngens; i++, p += 32)
        memcpy(p, h->gens[i], 32);
    mm_put_le32(p, (uint32_t)h->npeers);
    p += 4;
    for (size_t i = 0; i < h->npeers; i++, p += PEER_SIZE) {
        memcpy(p, h->peers[i].repo_id, 16);
        mm_put_le64(p + 16, h->peers[i].seq);
        memcpy(p + 24, h->peers[i].hash, 32);
    }
    mm_put_le32(p, (uint32_t)certlen);
    memcpy(p + 4, cert, certlen);
    p += 4 + certlen;
    if ((err = sign(ks, (unsigned char *)out->ptr + start,
                    (size_t)(p - ((unsigned char *)out->ptr + start)), sig)) < 0)
        return err;
    memcpy(p, sig, SIG_SIZE);
    out->len = start + need;
    mm_crypto_hash(out->ptr + start, need, h->hash);
    return 0;
}

/* The fixed fields of @p into @h. */
static void fixed_fields(const unsigned char *p, struct mm_repo_head *h)
{
    h->flags = mm_get_le16(p + 6);
    memcpy(h->repo_id, p + 8, 16);
    h->seq = mm_get_le64(p + 24);
    memcpy(h->prev, p + 32, 32);
    h->time_ns = (int64_t)mm_get_le64(p + 64);
    h->audit_len = mm_get_le64(p + 72);
    h->audit_seq = mm_get_le64(p + 80);
    memcpy(h->audit_h, p + 88, 32);
}

/* 1 when the 32-byte entries at @p (@n) ascend strictly at @stride bytes apart. */
static int ascending(const unsigned char *p, size_t n, size_t stride, size_t keylen)
{
    for (size_t i = 1; i < n; i++)
        if (memcmp(p + (i - 1) * stride, p + i * stride, keylen) >= 0)
            return 0;
    return 1;
}

/* The signature of the head @p (@body bytes before it) by @pk or the certificate @cert. */
static int check_sig(const unsigned char *p, size_t body, const unsigned char *cert, size_t certlen,
                     const unsigned char pk[MM_CRYPTO_PK_SIZE], struct mm_repo_head *h)
{
    unsigned char *m = malloc(DOMAIN_LEN + body);
    const unsigned char *key = pk;
    struct mm_wcert wc;
    int err = 0;

    if (!m)
        return mm_error_set(MM_ENOMEM, "out of memory");
    if (certlen) {
        if ((err = mm_wcert_check(pk, cert, certlen, h->repo_id, &wc)) < 0)
            goto out;
        if (h->time_ns < 0 || (uint64_t)(h->time_ns / 1000000000) < wc.created ||
            (uint64_t)(h->time_ns / 1000000000) > wc.not_after) {
            err = mm_error_set(MM_EAUTH, "repository head: writer certificate not valid then");
            goto out;
        }
        key = wc.pk;
        memcpy(h->signer, wc.name, sizeof(h->signer));
    }
    memcpy(m, DOMAIN, DOMAIN_LEN);
    memcpy(m + DOMAIN_LEN, p, body);
    if (mm_crypto_verify(key, m, DOMAIN_LEN + body, p + body) < 0)
        err = mm_error_set(MM_EAUTH, "repository head: signature does not verify");
out:
    free(m);
    return err;
}

int mm_repo_head_decode(const void *data, size_t n, const unsigned char pk[MM_CRYPTO_PK_SIZE],
                        struct mm_repo_head *out)
{
    const unsigned char *p = data, *q;
    struct mm_repo_head h;
    size_t ng, np, certlen, body;
    int err;

    memset(&h, 0, sizeof(h));
    if (n < FIXED + 8 + SIG_SIZE || memcmp(p, MAGIC, 4) != 0)
        return mm_error_set(MM_ECORRUPT, "not a repository head");
    if (mm_get_le16(p + 4) != MM_REPO_HEAD_VERSION)
        return mm_error_set(MM_ECORRUPT,
                            "repository head version %u is newer than this mamori "
                            "reads",
                            (unsigned)mm_get_le16(p + 4));
    if (mm_get_le16(p + 6) & ~(unsigned)MM_REPO_HEAD_AUDIT)
        return mm_error_set(MM_ECORRUPT, "repository head: unknown flags");
    ng = mm_get_le32(p + 120);
    if (ng > MM_REPO_HEAD_GENS_MAX || n < FIXED + 32 * ng + 8 + SIG_SIZE)
        return mm_error_set(MM_ECORRUPT, "repository head cut short");
    q = p + FIXED + 32 * ng;
    np = mm_get_le32(q);
    if (np > MM_REPO_HEAD_PEERS_MAX || n < (size_t)(q - p) + 8 + PEER_SIZE * np + SIG_SIZE)
        return mm_error_set(MM_ECORRUPT, "repository head cut short");
    certlen = mm_get_le32(q + 4 + PEER_SIZE * np);
    body = (size_t)(q - p) + 8 + PEER_SIZE * np + certlen;
    if ((certlen != 0 && certlen != MM_WCERT_SIZE) || n != body + SIG_SIZE)
        return mm_error_set(MM_ECORRUPT, "repository head has a wrong length");
    if (!ascending(p + FIXED, ng, 32, 32) || !ascending(q + 4, np, PEER_SIZE, 16))
        return mm_error_set(MM_ECORRUPT, "repository head: lists out of order");
    fixed_fields(p, &h);
    if (h.seq == 0)
        return mm_error_set(MM_ECORRUPT, "repository head: sequence number 0");
    if ((err = check_sig(p, body, q + 8 + PEER_SIZE * np, certlen, pk, &h)) < 0)
        return err;
    h.gens = ng ? malloc(32 * ng) : NULL;
    h.peers = np ? calloc(np, sizeof(*h.peers)) : NULL;
    if ((ng && !h.gens) || (np && !h.peers)) {
        mm_repo_head_release(&h);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    if (ng)
        memcpy(h.gens, p + FIXED, 32 * ng);
    h.ngens = ng;
    for (size_t i = 0; i < np; i++) {
        const unsigned char *e = q + 4 + PEER_SIZE * i;
        memcpy(h.peers[i].repo_id, e, 16);
        h.peers[i].seq = mm_get_le64(e + 16);
        memcpy(h.peers[i].hash, e + 24, 32);
    }
    h.npeers = np;
    mm_crypto_hash(p, n, h.hash);
    *out = h;
    return 0;
}

void mm_repo_head_cross(const struct mm_repo_head *a, const struct mm_repo_head *b,
                        struct mm_repo_head_cross *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < b->npeers; i++) {
        const struct mm_repo_head_peer *e = &b->peers[i];
        if (memcmp(e->repo_id, a->repo_id, 16) != 0)
            continue;
        out->known = 1;
        out->seen = e->seq;
        out->older = a->seq < e->seq;
        out->differ = a->seq == e->seq && memcmp(a->hash, e->hash, 32) != 0;
    }
}
