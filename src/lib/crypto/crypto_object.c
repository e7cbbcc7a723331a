/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Objects: names (keyed BLAKE2b-256 of the plaintext), sealing and opening with
 * XChaCha20-Poly1305 under the object subkey, the name as associated data, and a fresh
 * random 24-byte nonce per seal (random nonces are safe at this size for any number of
 * objects a repository will hold). Opening checks the MAC first, then that the plaintext
 * hashes to its name. Workload: millions of 1-8 KB SS-MIX2 files and large-file chunks;
 * both directions work in place in the caller's buffer, with no extra copy.
 */
#include <sodium.h>
#include <string.h>

#include "common/error.h"
#include "crypto/crypto_int.h"

_Static_assert(MM_CRYPTO_NONCE_SIZE == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(MM_CRYPTO_TAG_SIZE == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(MM_CRYPTO_KEY_SIZE == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key");

int mm_crypto_object_id(const mm_keyset *ks, const void *plain, size_t n,
                        unsigned char out[MM_CRYPTO_ID_SIZE])
{
    MM_ASSERT_ARG(ks && out && (plain || n == 0));
    if (crypto_generichash(out, MM_CRYPTO_ID_SIZE, plain, n, ks->id_key, MM_CRYPTO_KEY_SIZE))
        return mm_error_set(MM_EINVAL, "cannot hash an object");
    return 0;
}

/*
 * A fresh random nonce. The kernel's random bytes are fetched 4 KiB at a time per thread
 * (one getrandom call per 170 nonces instead of one per object: a backup seals hundreds of
 * thousands of small files); nonces are public, so the pool needs no wiping.
 */
static void nonce(unsigned char *dst)
{
    static _Thread_local unsigned char pool[4096];
    static _Thread_local size_t left;

    if (left < MM_CRYPTO_NONCE_SIZE) {
        randombytes_buf(pool, sizeof(pool));
        left = sizeof(pool);
    }
    memcpy(dst, pool + sizeof(pool) - left, MM_CRYPTO_NONCE_SIZE);
    left -= MM_CRYPTO_NONCE_SIZE;
}

/* Refuse the object key of a host keyset (it has none: the field is zero). */
static int need_master(const mm_keyset *ks)
{
    if (ks->kind != MM_KEYSET_MASTER)
        return mm_error_set(MM_EINVAL, "a host credential holds no key that seals or opens "
                                       "objects with the object key");
    return 0;
}

/* Seal under the 32-byte @key (object key or a data key). */
static int seal_key(const unsigned char *key, const unsigned char id[MM_CRYPTO_ID_SIZE],
                    const void *plain, size_t n, mm_buf *out)
{
    unsigned char *dst;
    int err;

    if (n > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
        n > SIZE_MAX - MM_CRYPTO_SEAL_OVERHEAD)
        return mm_error_set(MM_ELIMIT, "object of %zu bytes is too large to seal", n);
    if ((err = mm_buf_grow(out, n + MM_CRYPTO_SEAL_OVERHEAD)) < 0)
        return err;
    dst = (unsigned char *)out->ptr + out->len;
    nonce(dst);
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(dst + MM_CRYPTO_NONCE_SIZE, NULL, plain, n, id,
                                                   MM_CRYPTO_ID_SIZE, NULL, dst, key) != 0) {
        out->ptr[out->len] = '\0';
        return mm_error_set(MM_ERROR, "cannot seal an object");
    }
    out->len += n + MM_CRYPTO_SEAL_OVERHEAD;
    out->ptr[out->len] = '\0';
    return 0;
}

int mm_crypto_seal(const mm_keyset *ks, const unsigned char id[MM_CRYPTO_ID_SIZE],
                   const void *plain, size_t n, mm_buf *out)
{
    int err;

    MM_ASSERT_ARG(ks && id && out && (plain || n == 0));
    if ((err = need_master(ks)) < 0)
        return err;
    return seal_key(ks->object_key, id, plain, n, out);
}

int mm_crypto_seal_dk(const unsigned char dk[MM_CRYPTO_DK_SIZE],
                      const unsigned char id[MM_CRYPTO_ID_SIZE], const void *plain, size_t n,
                      mm_buf *out)
{
    MM_ASSERT_ARG(dk && id && out && (plain || n == 0));
    return seal_key(dk, id, plain, n, out);
}

/*
 * Open @sealed into @out (OUT:) under @key, checking the content against @id when @ks is
 * not NULL (the ID key is then that of @ks).
 */
static int open_object(const mm_keyset *ks, const unsigned char *key, const unsigned char *id,
                       const void *sealed, size_t n, mm_buf *out)
{
    const int check = ks != NULL;
    const unsigned char *src = sealed;
    unsigned char hash[MM_CRYPTO_ID_SIZE];
    unsigned char *dst = NULL;
    size_t plen = 0;
    int err = 0;

    MM_ASSERT_ARG(key && id && out && (sealed || n == 0));
    if (n < MM_CRYPTO_SEAL_OVERHEAD)
        return mm_error_set(MM_ECORRUPT, "sealed object of %zu bytes is too short", n);
    plen = n - MM_CRYPTO_SEAL_OVERHEAD;
    if ((err = mm_buf_grow(out, plen)) < 0)
        return err;
    dst = (unsigned char *)out->ptr + out->len;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, src + MM_CRYPTO_NONCE_SIZE,
                                                   n - MM_CRYPTO_NONCE_SIZE, id, MM_CRYPTO_ID_SIZE,
                                                   src, key) != 0) {
        err = mm_error_set(MM_EAUTH, "sealed object fails authentication (altered, truncated "
                                     "or under another name)");
        goto out;
    }
    if (check && (err = mm_crypto_object_id(ks, dst, plen, hash)) < 0)
        goto out;
    if (check && sodium_memcmp(hash, id, MM_CRYPTO_ID_SIZE) != 0) {
        err = mm_error_set(MM_ECORRUPT, "object content does not match its name");
        goto out;
    }
    out->len += plen;
out:
    if (err < 0)
        sodium_memzero(dst, plen);
    out->ptr[out->len] = '\0';
    return err;
}

int mm_crypto_open(const mm_keyset *ks, const unsigned char id[MM_CRYPTO_ID_SIZE],
                   const void *sealed, size_t n, mm_buf *out)
{
    int err;

    MM_ASSERT_ARG(ks);
    if ((err = need_master(ks)) < 0)
        return err;
    return open_object(ks, ks->object_key, id, sealed, n, out);
}

int mm_crypto_open_raw(const mm_keyset *ks, const unsigned char id[MM_CRYPTO_ID_SIZE],
                       const void *sealed, size_t n, mm_buf *out)
{
    int err;

    MM_ASSERT_ARG(ks);
    if ((err = need_master(ks)) < 0)
        return err;
    return open_object(NULL, ks->object_key, id, sealed, n, out);
}

int mm_crypto_open_raw_dk(const unsigned char dk[MM_CRYPTO_DK_SIZE],
                          const unsigned char id[MM_CRYPTO_ID_SIZE], const void *sealed, size_t n,
                          mm_buf *out)
{
    return open_object(NULL, dk, id, sealed, n, out);
}

void mm_crypto_hash(const void *p, size_t n, unsigned char out[MM_CRYPTO_ID_SIZE])
{
    crypto_generichash(out, MM_CRYPTO_ID_SIZE, p, n, NULL, 0);
}

void mm_crypto_sha256(const void *p, size_t n, unsigned char out[32])
{
    crypto_hash_sha256(out, p, n);
}

int mm_crypto_equal(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

void mm_crypto_random(void *p, size_t n)
{
    mm_crypto_init();
    randombytes_buf(p, n);
}

void mm_crypto_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

void mm_crypto_hex(const unsigned char id[MM_CRYPTO_ID_SIZE], char out[MM_CRYPTO_HEX_SIZE])
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < MM_CRYPTO_ID_SIZE; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
    out[2 * MM_CRYPTO_ID_SIZE] = '\0';
}

/* The value of the lower-case hex digit @c, or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int mm_crypto_hex_parse(const char *hex, unsigned char out[MM_CRYPTO_ID_SIZE])
{
    unsigned char id[MM_CRYPTO_ID_SIZE];

    MM_ASSERT_ARG(hex && out);
    for (size_t i = 0; i < MM_CRYPTO_ID_SIZE; i++) {
        int hi = hexval(hex[2 * i]), lo;

        /* a NUL stops at hi, so hex[2 * i + 1] is never read past the string */
        if (hi < 0 || (lo = hexval(hex[2 * i + 1])) < 0)
            return mm_error_set(MM_EINVAL, "not an object id (64 lower-case hex digits)");
        id[i] = (unsigned char)(hi << 4 | lo);
    }
    if (hex[2 * MM_CRYPTO_ID_SIZE] != '\0')
        return mm_error_set(MM_EINVAL, "not an object id (64 lower-case hex digits)");
    memcpy(out, id, sizeof(id));
    return 0;
}
