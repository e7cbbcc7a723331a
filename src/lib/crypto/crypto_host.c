/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Format 3: write-only hosts. A data key per pack or envelope, sealed to the repository's
 * X25519 reader key with crypto_box_seal (anyone with the public key can seal, only the
 * reader secret key derived from the master key opens); writer keys (random Ed25519) with
 * a certificate signed by the master signing key; and the host's key block, which carries
 * exactly what a host needs to seal, name and sign, and nothing that opens. Layouts:
 * docs/format-crypto.md, "Format 3".
 */
#include <sodium.h>
#include <string.h>

#include "common/endian.h"
#include "common/error.h"
#include "crypto/crypto_int.h"

_Static_assert(MM_CRYPTO_SEALED_DK_SIZE == crypto_box_SEALBYTES + MM_CRYPTO_DK_SIZE, "sealed dk");
_Static_assert(MM_CRYPTO_KEY_SIZE == crypto_box_PUBLICKEYBYTES, "reader pk");
_Static_assert(MM_CRYPTO_KEY_SIZE == crypto_box_SECRETKEYBYTES, "reader sk");

/* Writer certificate v1 (all integers little-endian). */
#define WC_MAGIC     "MMWC"
#define WC_OFF_VER   4u   /* le16 */
#define WC_OFF_NLEN  6u   /* u8 */
#define WC_OFF_REPO  8u   /* 16 */
#define WC_OFF_PK    24u  /* 32 */
#define WC_OFF_RPK   56u  /* 32: the reader public key the writer seals to */
#define WC_OFF_MADE  88u  /* le64 */
#define WC_OFF_UNTIL 96u  /* le64 */
#define WC_OFF_NAME  104u /* 64, zero-padded */
#define WC_OFF_SIG   168u /* 64 */
#define WC_DOMAIN    "mamori-writer-cert-v1"

/* Host key block v1. */
#define HK_OFF_ID     0u   /* object-ID key, 32 */
#define HK_OFF_CHUNK  32u  /* chunker seed, 8 */
#define HK_OFF_AUDIT  40u  /* audit MAC key, 32 */
#define HK_OFF_READER 72u  /* reader public key, 32 */
#define HK_OFF_MASTER 104u /* master signing public key, 32 */
#define HK_OFF_WSK    136u /* writer Ed25519 secret key (seed | pk), 64 */
#define HK_OFF_CERT   200u /* writer certificate, 232 */

_Static_assert(WC_OFF_SIG + MM_CRYPTO_SIG_SIZE == MM_WCERT_SIZE, "cert layout");
_Static_assert(WC_OFF_NAME + MM_KEYSLOT_NAME_MAX == WC_OFF_SIG, "cert layout");
_Static_assert(HK_OFF_CERT + MM_WCERT_SIZE == MM_HOSTKEYS_SIZE, "host key block layout");

int mm_keyset_is_host(const mm_keyset *ks)
{
    return ks->kind == MM_KEYSET_HOST;
}

void mm_keyset_reader_pk(const mm_keyset *ks, unsigned char pk[MM_CRYPTO_PK_SIZE])
{
    memcpy(pk, ks->reader_pk, MM_CRYPTO_PK_SIZE);
}

void mm_crypto_datakey_new(unsigned char dk[MM_CRYPTO_DK_SIZE])
{
    mm_crypto_init();
    crypto_aead_xchacha20poly1305_ietf_keygen(dk);
}

int mm_crypto_datakey_seal(const unsigned char reader_pk[MM_CRYPTO_PK_SIZE],
                           const unsigned char dk[MM_CRYPTO_DK_SIZE],
                           unsigned char out[MM_CRYPTO_SEALED_DK_SIZE])
{
    MM_ASSERT_ARG(reader_pk && dk && out);
    if (mm_crypto_init() < 0 || crypto_box_seal(out, dk, MM_CRYPTO_DK_SIZE, reader_pk) != 0)
        return mm_error_set(MM_ERROR, "cannot seal a data key");
    return 0;
}

int mm_crypto_datakey_open(const mm_keyset *ks,
                           const unsigned char sealed[MM_CRYPTO_SEALED_DK_SIZE],
                           unsigned char dk[MM_CRYPTO_DK_SIZE])
{
    MM_ASSERT_ARG(ks && sealed && dk);
    if (ks->kind != MM_KEYSET_MASTER)
        return mm_error_set(MM_EINVAL, "a host credential cannot read the repository "
                                       "(it holds no reader key): a person's passphrase is needed");
    if (crypto_box_seal_open(dk, sealed, MM_CRYPTO_SEALED_DK_SIZE, ks->reader_pk, ks->reader_sk) !=
        0) {
        sodium_memzero(dk, MM_CRYPTO_DK_SIZE);
        return mm_error_set(MM_EAUTH, "sealed data key does not open (altered, or sealed to "
                                      "another repository)");
    }
    return 0;
}

/* The message a certificate's signature covers: domain and bytes 0..WC_OFF_SIG. */
static void cert_msg(const unsigned char *cert, unsigned char *msg)
{
    memcpy(msg, WC_DOMAIN, sizeof(WC_DOMAIN));
    memcpy(msg + sizeof(WC_DOMAIN), cert, WC_OFF_SIG);
}

int mm_keyset_enroll(const mm_keyset *master, const unsigned char repo_id[MM_REPO_ID_BYTES],
                     const char *name, uint64_t created, uint64_t not_after,
                     unsigned char out[MM_HOSTKEYS_SIZE])
{
    unsigned char msg[sizeof(WC_DOMAIN) + WC_OFF_SIG], wpk[MM_CRYPTO_PK_SIZE];
    unsigned char *cert = out + HK_OFF_CERT;
    size_t namelen;

    MM_ASSERT_ARG(master && repo_id && name && out);
    if (master->kind != MM_KEYSET_MASTER)
        return mm_error_set(MM_EINVAL, "only a person's key can enroll a host");
    namelen = strnlen(name, MM_KEYSLOT_NAME_MAX + 1);
    if (namelen == 0 || namelen > MM_KEYSLOT_NAME_MAX || memchr(name, '\n', namelen))
        return mm_error_set(MM_EINVAL, "a host name is 1 to %u bytes", MM_KEYSLOT_NAME_MAX);
    if (not_after <= created)
        return mm_error_set(MM_EINVAL, "a writer certificate must end after it begins");
    memset(out, 0, MM_HOSTKEYS_SIZE);
    memcpy(out + HK_OFF_ID, master->id_key, MM_CRYPTO_KEY_SIZE);
    memcpy(out + HK_OFF_CHUNK, master->chunk_seed, sizeof(master->chunk_seed));
    memcpy(out + HK_OFF_AUDIT, master->audit_key, MM_CRYPTO_KEY_SIZE);
    memcpy(out + HK_OFF_READER, master->reader_pk, MM_CRYPTO_KEY_SIZE);
    memcpy(out + HK_OFF_MASTER, master->sign_pk, MM_CRYPTO_PK_SIZE);
    if (crypto_sign_keypair(wpk, out + HK_OFF_WSK) != 0)
        return mm_error_set(MM_ERROR, "cannot make a writer key");
    memcpy(cert, WC_MAGIC, 4);
    mm_put_le16(cert + WC_OFF_VER, MM_WCERT_VERSION);
    cert[WC_OFF_NLEN] = (unsigned char)namelen;
    memcpy(cert + WC_OFF_REPO, repo_id, MM_REPO_ID_BYTES);
    memcpy(cert + WC_OFF_PK, wpk, MM_CRYPTO_PK_SIZE);
    memcpy(cert + WC_OFF_RPK, master->reader_pk, MM_CRYPTO_PK_SIZE);
    mm_put_le64(cert + WC_OFF_MADE, created);
    mm_put_le64(cert + WC_OFF_UNTIL, not_after);
    memcpy(cert + WC_OFF_NAME, name, namelen);
    cert_msg(cert, msg);
    if (crypto_sign_detached(cert + WC_OFF_SIG, NULL, msg, sizeof(msg), master->sign_sk) != 0) {
        sodium_memzero(out, MM_HOSTKEYS_SIZE);
        return mm_error_set(MM_ERROR, "cannot sign the writer certificate");
    }
    return 0;
}

int mm_wcert_check(const unsigned char master_pk[MM_CRYPTO_PK_SIZE], const void *p, size_t n,
                   const unsigned char repo_id[MM_REPO_ID_BYTES], struct mm_wcert *out)
{
    unsigned char msg[sizeof(WC_DOMAIN) + WC_OFF_SIG];
    const unsigned char *c = p;
    unsigned namelen;

    MM_ASSERT_ARG(master_pk && (p || n == 0) && repo_id);
    if (n != MM_WCERT_SIZE || memcmp(c, WC_MAGIC, 4) != 0)
        return mm_error_set(MM_ECORRUPT, "not a writer certificate");
    if (mm_get_le16(c + WC_OFF_VER) != MM_WCERT_VERSION)
        return mm_error_set(MM_ECORRUPT, "writer certificate version %u is not known",
                            (unsigned)mm_get_le16(c + WC_OFF_VER));
    namelen = c[WC_OFF_NLEN];
    if (namelen == 0 || namelen > MM_KEYSLOT_NAME_MAX || c[7] != 0 ||
        memchr(c + WC_OFF_NAME, 0, namelen))
        return mm_error_set(MM_ECORRUPT, "writer certificate has a damaged name");
    cert_msg(c, msg);
    if (mm_crypto_init() < 0 ||
        crypto_sign_verify_detached(c + WC_OFF_SIG, msg, sizeof(msg), master_pk) != 0)
        return mm_error_set(MM_EAUTH, "writer certificate is not signed by this repository's key");
    if (sodium_memcmp(c + WC_OFF_REPO, repo_id, MM_REPO_ID_BYTES) != 0)
        return mm_error_set(MM_EAUTH, "writer certificate belongs to another repository");
    if (out) {
        memcpy(out->repo_id, c + WC_OFF_REPO, MM_REPO_ID_BYTES);
        memcpy(out->pk, c + WC_OFF_PK, MM_CRYPTO_PK_SIZE);
        memcpy(out->reader_pk, c + WC_OFF_RPK, MM_CRYPTO_PK_SIZE);
        memcpy(out->name, c + WC_OFF_NAME, namelen);
        out->name[namelen] = '\0';
        out->created = mm_get_le64(c + WC_OFF_MADE);
        out->not_after = mm_get_le64(c + WC_OFF_UNTIL);
    }
    return 0;
}

int mm_keyset_from_hostkeys(mm_keyset **out, const void *p, size_t n,
                            const unsigned char repo_id[MM_REPO_ID_BYTES])
{
    const unsigned char *b = p;
    unsigned char pk[MM_CRYPTO_PK_SIZE];
    struct mm_wcert wc;
    mm_keyset *ks;
    int err;

    MM_ASSERT_ARG(out && (p || n == 0) && repo_id);
    if ((err = mm_crypto_init()) < 0)
        return err;
    if (n != MM_HOSTKEYS_SIZE)
        return mm_error_set(MM_ECORRUPT, "host key block has %zu bytes, not %u", n,
                            MM_HOSTKEYS_SIZE);
    if ((err = mm_wcert_check(b + HK_OFF_MASTER, b + HK_OFF_CERT, MM_WCERT_SIZE, repo_id, &wc)) < 0)
        return mm_error_set(MM_ECORRUPT, "host key block: %s", mm_error_last());
    /* the writer secret key (its seed, not only the public half stored beside it) must be
     * the one the certificate names */
    {
        unsigned char sk[crypto_sign_SECRETKEYBYTES];
        int same = crypto_sign_seed_keypair(pk, sk, b + HK_OFF_WSK) == 0 &&
                   sodium_memcmp(sk, b + HK_OFF_WSK, sizeof(sk)) == 0 &&
                   sodium_memcmp(pk, wc.pk, sizeof(pk)) == 0;
        sodium_memzero(sk, sizeof(sk));
        if (!same)
            return mm_error_set(MM_ECORRUPT, "host key block: writer key does not match its "
                                             "certificate");
    }
    if (sodium_memcmp(wc.reader_pk, b + HK_OFF_READER, MM_CRYPTO_PK_SIZE) != 0)
        return mm_error_set(MM_ECORRUPT, "host key block: reader key is not the certified one");
    if (!(ks = mm_crypto__keyset_alloc()))
        return MM_ENOMEM;
    ks->kind = MM_KEYSET_HOST;
    memcpy(ks->id_key, b + HK_OFF_ID, MM_CRYPTO_KEY_SIZE);
    memcpy(ks->chunk_seed, b + HK_OFF_CHUNK, sizeof(ks->chunk_seed));
    memcpy(ks->audit_key, b + HK_OFF_AUDIT, MM_CRYPTO_KEY_SIZE);
    memcpy(ks->reader_pk, b + HK_OFF_READER, MM_CRYPTO_KEY_SIZE);
    memcpy(ks->master_pk, b + HK_OFF_MASTER, MM_CRYPTO_PK_SIZE);
    memcpy(ks->sign_sk, b + HK_OFF_WSK, sizeof(ks->sign_sk));
    memcpy(ks->sign_pk, pk, sizeof(pk));
    memcpy(ks->cert, b + HK_OFF_CERT, MM_WCERT_SIZE);
    (void)sodium_mprotect_readonly(ks);
    *out = ks;
    return 0;
}

int mm_keyset_writer_cert(const mm_keyset *ks, unsigned char cert[MM_WCERT_SIZE])
{
    if (ks->kind != MM_KEYSET_HOST)
        return 0;
    memcpy(cert, ks->cert, MM_WCERT_SIZE);
    return 1;
}
