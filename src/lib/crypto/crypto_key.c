/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keysets: libsodium initialisation, the random master key, subkey derivation with
 * crypto_kdf (one context, one id per purpose, see crypto_int.h), Ed25519 signatures and the
 * audit MAC. A keyset is one sodium_malloc() block, read-only after derivation; temporaries
 * on the stack that hold key material are wiped before return.
 */
#include <sodium.h>
#include <string.h>

#include "common/endian.h"
#include "common/error.h"
#include "crypto/crypto_int.h"

_Static_assert(MM_CRYPTO_KEY_SIZE == crypto_kdf_KEYBYTES, "master key size");
_Static_assert(sizeof(MM_CRYPTO_KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context");
_Static_assert(MM_CRYPTO_PK_SIZE == crypto_sign_PUBLICKEYBYTES, "public key size");
_Static_assert(MM_CRYPTO_SIG_SIZE == crypto_sign_BYTES, "signature size");
_Static_assert(sizeof(((mm_keyset *)0)->sign_sk) == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(MM_CRYPTO_KEY_SIZE == crypto_sign_SEEDBYTES, "sign seed size");
_Static_assert(MM_CRYPTO_ID_SIZE == crypto_generichash_BYTES, "id size");

int mm_crypto_init(void)
{
    /* sodium_init is itself thread-safe and idempotent: 0 first time, 1 afterwards */
    if (sodium_init() < 0)
        return mm_error_set(MM_ERROR, "cannot initialise libsodium");
    return 0;
}

mm_keyset *mm_crypto__keyset_alloc(void)
{
    mm_keyset *ks = sodium_malloc(sizeof(*ks));

    if (!ks) {
        mm_error_set(MM_ENOMEM, "out of guarded memory for a keyset");
        return NULL;
    }
    sodium_memzero(ks, sizeof(*ks));
    return ks;
}

/* Derive the subkey @id of @len bytes from @ks's master key into @out (OUT:). @return 0, -1 */
static int subkey(const mm_keyset *ks, uint64_t id, unsigned char *out, size_t len)
{
    return crypto_kdf_derive_from_key(out, len, id, MM_CRYPTO_KDF_CONTEXT, ks->master);
}

int mm_crypto__keyset_derive(mm_keyset *ks)
{
    unsigned char seed[crypto_sign_SEEDBYTES];
    unsigned char rseed[crypto_box_SEEDBYTES];
    unsigned char chunk[crypto_kdf_BYTES_MIN];
    int err = 0;

    if (subkey(ks, MM_CRYPTO_SUBKEY_OBJECT, ks->object_key, sizeof(ks->object_key)) != 0 ||
        subkey(ks, MM_CRYPTO_SUBKEY_ID, ks->id_key, sizeof(ks->id_key)) != 0 ||
        subkey(ks, MM_CRYPTO_SUBKEY_CHUNK, chunk, sizeof(chunk)) != 0 ||
        subkey(ks, MM_CRYPTO_SUBKEY_SIGN, seed, sizeof(seed)) != 0 ||
        subkey(ks, MM_CRYPTO_SUBKEY_AUDIT, ks->audit_key, sizeof(ks->audit_key)) != 0 ||
        subkey(ks, MM_CRYPTO_SUBKEY_READER, rseed, sizeof(rseed)) != 0) {
        err = mm_error_set(MM_ERROR, "cannot derive subkeys");
        goto out;
    }
    memcpy(ks->chunk_seed, chunk, sizeof(ks->chunk_seed));
    if (crypto_sign_seed_keypair(ks->sign_pk, ks->sign_sk, seed) != 0) {
        err = mm_error_set(MM_ERROR, "cannot derive the signing key");
        goto out;
    }
    if (crypto_box_seed_keypair(ks->reader_pk, ks->reader_sk, rseed) != 0) {
        err = mm_error_set(MM_ERROR, "cannot derive the reader key");
        goto out;
    }
    memcpy(ks->master_pk, ks->sign_pk, sizeof(ks->master_pk));
    ks->kind = MM_KEYSET_MASTER;
    /* a failure here only loses the hardening, never the key */
    (void)sodium_mprotect_readonly(ks);
out:
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(rseed, sizeof(rseed));
    sodium_memzero(chunk, sizeof(chunk));
    return err;
}

int mm_keyset_generate(mm_keyset **out)
{
    mm_keyset *ks = NULL;
    int err;

    MM_ASSERT_ARG(out);
    if ((err = mm_crypto_init()) < 0)
        return err;
    if (!(ks = mm_crypto__keyset_alloc()))
        return MM_ENOMEM;
    crypto_kdf_keygen(ks->master);
    if ((err = mm_crypto__keyset_derive(ks)) < 0)
        goto out;
    *out = ks;
    ks = NULL; /* now owned by the caller */
out:
    mm_keyset_free(ks);
    return err;
}

void mm_keyset_free(mm_keyset *ks)
{
    /* sodium_free makes the block writable, zeroes it, unlocks and unmaps it */
    if (ks)
        sodium_free(ks);
}

uint64_t mm_keyset_chunk_seed(const mm_keyset *ks)
{
    return mm_get_le64(ks->chunk_seed);
}

void mm_keyset_public_key(const mm_keyset *ks, unsigned char pk[MM_CRYPTO_PK_SIZE])
{
    /* a host keyset signs with its writer key, but verifies against the master's */
    memcpy(pk, ks->master_pk, MM_CRYPTO_PK_SIZE);
}

int mm_crypto_sign(const mm_keyset *ks, const void *msg, size_t n,
                   unsigned char sig[MM_CRYPTO_SIG_SIZE])
{
    MM_ASSERT_ARG(ks && sig && (msg || n == 0));
    if (crypto_sign_detached(sig, NULL, msg, n, ks->sign_sk) != 0)
        return mm_error_set(MM_ERROR, "cannot sign");
    return 0;
}

int mm_crypto_verify(const unsigned char pk[MM_CRYPTO_PK_SIZE], const void *msg, size_t n,
                     const unsigned char sig[MM_CRYPTO_SIG_SIZE])
{
    int err;

    MM_ASSERT_ARG(pk && sig && (msg || n == 0));
    if ((err = mm_crypto_init()) < 0)
        return err;
    if (crypto_sign_verify_detached(sig, msg, n, pk) != 0)
        return mm_error_set(MM_EAUTH, "signature does not verify");
    return 0;
}

int mm_crypto_audit_mac(const mm_keyset *ks, const void *msg, size_t n,
                        unsigned char out[MM_CRYPTO_ID_SIZE])
{
    MM_ASSERT_ARG(ks && out && (msg || n == 0));
    if (crypto_generichash(out, MM_CRYPTO_ID_SIZE, msg, n, ks->audit_key, sizeof(ks->audit_key)) !=
        0)
        return mm_error_set(MM_EINVAL, "cannot compute the audit mac");
    return 0;
}
