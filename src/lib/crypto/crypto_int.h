/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/crypto: the keyset's layout, the subkey derivation table and the key
 * slot's field offsets. The keyset is one sodium_malloc() block (guard pages, canary,
 * mlock) made read-only once its subkeys are derived; sodium_free() zeroes it.
 */
#ifndef MM_CRYPTO_CRYPTO_INT_H
#define MM_CRYPTO_CRYPTO_INT_H

#include "crypto/crypto.h"

#define MM_CRYPTO_KEY_SIZE 32u

/* crypto_kdf context (8 bytes) and subkey ids; never reuse an id for another purpose. */
#define MM_CRYPTO_KDF_CONTEXT   "mamori01"
#define MM_CRYPTO_SUBKEY_OBJECT 1u /* XChaCha20-Poly1305 key of objects, 32 bytes */
#define MM_CRYPTO_SUBKEY_ID     2u /* keyed BLAKE2b-256 key of object IDs, 32 bytes */
#define MM_CRYPTO_SUBKEY_CHUNK  3u /* chunker gear seed, 16 bytes, first 8 used (LE) */
#define MM_CRYPTO_SUBKEY_SIGN   4u /* Ed25519 seed, 32 bytes */
#define MM_CRYPTO_SUBKEY_AUDIT  5u /* keyed BLAKE2b-256 key of the audit chain, 32 bytes */
#define MM_CRYPTO_SUBKEY_READER 6u /* X25519 seed of the reader keypair (format 3), 32 bytes */

/* The list of common passwords (share/common-passwords.txt), built in by tools/embed-assets.py. */
struct mm_crypto__asset {
    const char *name, *type;
    const unsigned char *data;
    size_t size;
};
/* The generated table, ended by an entry with a NULL name. */
extern const struct mm_crypto__asset mm_crypto__wordlist[];

/* What a keyset can do (mm_keyset.kind). */
enum { MM_KEYSET_MASTER = 1, MM_KEYSET_HOST = 2 };

/* Byte arrays only, so the block needs no alignment beyond 1. */
struct mm_keyset {
    unsigned char kind; /* MM_KEYSET_MASTER, MM_KEYSET_HOST (no master, object or reader key) */
    unsigned char master[MM_CRYPTO_KEY_SIZE];
    unsigned char object_key[MM_CRYPTO_KEY_SIZE];
    unsigned char id_key[MM_CRYPTO_KEY_SIZE];
    unsigned char audit_key[MM_CRYPTO_KEY_SIZE];
    unsigned char sign_sk[64];
    unsigned char sign_pk[MM_CRYPTO_PK_SIZE];
    unsigned char chunk_seed[8];
    unsigned char reader_sk[MM_CRYPTO_KEY_SIZE]; /* X25519; zero in a host keyset */
    unsigned char reader_pk[MM_CRYPTO_KEY_SIZE];
    unsigned char master_pk[MM_CRYPTO_PK_SIZE]; /* the master signing key's public half */
    unsigned char cert[MM_WCERT_SIZE];          /* host keyset: the writer's certificate */
};

/* Key slot v1 layout; all integers little-endian. */
#define MM_KEYSLOT_MAGIC          "MMKS"
#define MM_KEYSLOT_KDF_ARGON2ID13 1u
#define MM_KEYSLOT_OFF_MAGIC      0u   /* 4 bytes "MMKS" */
#define MM_KEYSLOT_OFF_VERSION    4u   /* le16 */
#define MM_KEYSLOT_OFF_KDF        6u   /* u8, 1 = Argon2id v1.3 */
#define MM_KEYSLOT_OFF_NAMELEN    7u   /* u8, 1..64 */
#define MM_KEYSLOT_OFF_OPSLIMIT   8u   /* le32 */
#define MM_KEYSLOT_OFF_MEMLIMIT   12u  /* le64, bytes */
#define MM_KEYSLOT_OFF_SALT       20u  /* 16 bytes */
#define MM_KEYSLOT_OFF_NAME       36u  /* 64 bytes, UTF-8, zero-padded */
#define MM_KEYSLOT_OFF_NONCE      100u /* 24 bytes */
#define MM_KEYSLOT_OFF_CT         124u /* 32-byte master key + 16-byte tag */
#define MM_KEYSLOT_SALT_SIZE      16u
#define MM_KEYSLOT_HEADER_SIZE    MM_KEYSLOT_OFF_CT /* the associated data */

_Static_assert(MM_KEYSLOT_OFF_NAME + MM_KEYSLOT_NAME_MAX == MM_KEYSLOT_OFF_NONCE, "slot layout");
_Static_assert(MM_KEYSLOT_OFF_NONCE + MM_CRYPTO_NONCE_SIZE == MM_KEYSLOT_OFF_CT, "slot layout");
_Static_assert(MM_KEYSLOT_OFF_CT + MM_CRYPTO_KEY_SIZE + MM_CRYPTO_TAG_SIZE == MM_KEYSLOT_SIZE,
               "slot layout");

/* Allocate a keyset in guarded memory. @return the keyset, or NULL (error set to ENOMEM) */
mm_keyset *mm_crypto__keyset_alloc(void);

/* Derive every subkey of @ks from its master key, then make @ks read-only. @return 0, MM_ERROR */
int mm_crypto__keyset_derive(mm_keyset *ks);

#endif
