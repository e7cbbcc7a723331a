/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The crypto module: libsodium wrappers for the encrypted repository. A keyset holds the
 * random master key and the subkeys derived from it (object encryption, object naming,
 * chunker seed, manifest signing, audit MAC); it lives in guarded, locked memory and never
 * leaves this module: callers hold an opaque handle. A key slot wraps the master key under
 * a user's passphrase (Argon2id + XChaCha20-Poly1305); objects are named by keyed BLAKE2b-256
 * of their plaintext and sealed with XChaCha20-Poly1305 bound to that name. The byte layouts
 * are in docs/format-crypto.md. Thread safety: a keyset may be used from several threads at
 * once (it is read-only after creation); mm_crypto_kdf_cap() is a single-threaded test hook.
 */
#ifndef MM_CRYPTO_CRYPTO_H
#define MM_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* An object ID (keyed BLAKE2b-256 of the plaintext), in bytes and in hex digits. */
#define MM_CRYPTO_ID_SIZE  32u
#define MM_CRYPTO_HEX_SIZE 65u /* 64 digits and the NUL */
/* A sealed object is the plaintext plus this much: 24-byte nonce, 16-byte tag. */
#define MM_CRYPTO_NONCE_SIZE    24u
#define MM_CRYPTO_TAG_SIZE      16u
#define MM_CRYPTO_SEAL_OVERHEAD (MM_CRYPTO_NONCE_SIZE + MM_CRYPTO_TAG_SIZE)
/* Ed25519 public keys and detached signatures. */
#define MM_CRYPTO_PK_SIZE  32u
#define MM_CRYPTO_SIG_SIZE 64u

/* Key slot format (docs/format-crypto.md): fixed size, one version so far. */
#define MM_KEYSLOT_SIZE     172u
#define MM_KEYSLOT_VERSION  1u
#define MM_KEYSLOT_NAME_MAX 64u /* bytes of UTF-8, without a NUL */

/*
 * Argon2id cost. The default, 12 passes over 64 MiB (0.3 s on the bench PC), is RFC
 * 9106's memory-constrained recommendation (64 MiB) with more passes than its 3: a stolen disk
 * costs an attacker that per guess, a clinician unlocking the viewer on an old ward PC waits
 * once, and a nightly backup's peak memory stays that of its own work (docs/format-crypto.md
 * explains the choice against 256 MiB). Sites that want more give `init --kdf-memory`. MIN is
 * libsodium's floor (tests only); MAX is what mm_keyslot_open() accepts from a slot, so a
 * hostile slot cannot make the PC swap.
 */
#define MM_KDF_OPSLIMIT_DEFAULT 12u
#define MM_KDF_MEMLIMIT_DEFAULT (64u * 1024u * 1024u)
#define MM_KDF_OPSLIMIT_MIN     1u
#define MM_KDF_MEMLIMIT_MIN     8192u
#define MM_KDF_OPSLIMIT_MAX     16u
#define MM_KDF_MEMLIMIT_MAX     (1024u * 1024u * 1024u)

/*
 * The least cost a new key slot gets without --allow-weak-secrets (docs/format-crypto.md,
 * "Minimums"): libsodium's Argon2id INTERACTIVE memory (64 MiB) with its MODERATE passes (3),
 * which is also RFC 9106's second recommended option. Below it only tests go.
 */
#define MM_KDF_OPSLIMIT_POLICY 3u
#define MM_KDF_MEMLIMIT_POLICY (64u * 1024u * 1024u)

/* Argon2id cost of a key slot: passes and bytes of memory. */
struct mm_kdf_params {
    uint32_t opslimit;
    uint64_t memlimit;
};

/* Why a passphrase is weak (mm_crypto_passphrase_weak). */
enum mm_secret_weakness {
    MM_SECRET_OK = 0,
    MM_SECRET_SHORT,    /* fewer than MM_PASSPHRASE_MIN_CHARS characters */
    MM_SECRET_COMMON,   /* on the built-in list of common passwords (case-insensitive) */
    MM_SECRET_REPEATED, /* one character repeated */
    MM_SECRET_NAME      /* the user's or the repository's name (case-insensitive) */
};
#define MM_PASSPHRASE_MIN_CHARS 12u /* characters (UTF-8 decoded), not bytes */

/*
 * Judge the passphrase @pass (@len bytes of UTF-8) against the rules of docs/security.md
 * ("Weak secrets"): length in characters, the list of common passwords, one repeated
 * character, and the names in @names (@nnames of them, NULL entries skipped).
 * @return enum mm_secret_weakness (the first rule that fails)
 */
int mm_crypto_passphrase_weak(const char *pass, size_t len, const char *const *names,
                              size_t nnames);

/* 1 when @p is below MM_KDF_OPSLIMIT_POLICY passes or MM_KDF_MEMLIMIT_POLICY bytes, else 0. */
int mm_kdf_params_weak(const struct mm_kdf_params *p);

/* The master key and its subkeys, in guarded memory. Opaque. */
typedef struct mm_keyset mm_keyset;

/*
 * Initialise libsodium. Safe to call any number of times from any thread; the functions
 * below call it themselves, so callers need it only to fail early.
 * @return 0, MM_ERROR when libsodium cannot initialise (no entropy source)
 */
int mm_crypto_init(void);

/*
 * Create a keyset around a fresh random master key and derive its subkeys.
 * @param[out] out  the new keyset, owned by the caller (mm_keyset_free); untouched on failure
 * @return 0, MM_ENOMEM (no guarded memory left), MM_ERROR (libsodium unusable)
 */
int mm_keyset_generate(mm_keyset **out);

/* Wipe and free @ks (sodium_free zeroes guarded memory). Accepts NULL. */
void mm_keyset_free(mm_keyset *ks);

/*
 * The seed of the content-defined chunker's gear table: 64 bits derived from the master
 * key, so chunk boundaries do not reveal content to someone without the key.
 */
uint64_t mm_keyset_chunk_seed(const mm_keyset *ks);

/* Copy the Ed25519 public key that verifies this keyset's signatures into @pk. */
void mm_keyset_public_key(const mm_keyset *ks, unsigned char pk[MM_CRYPTO_PK_SIZE]);

/*
 * Wrap the master key of @ks under @passphrase as a key slot for the user @name, and append
 * the MM_KEYSLOT_SIZE bytes of the slot to @out.
 * @param name  the user, 1 to MM_KEYSLOT_NAME_MAX bytes of UTF-8 without control characters
 * @param passphrase  @passlen bytes, any content (never copied, never in a message)
 * @param p  Argon2id cost; NULL for the defaults
 * @return 0, MM_EINVAL (bad name, cost below MIN), MM_ELIMIT (cost above MAX, or @out full),
 *         MM_ENOMEM; @out is unchanged on failure
 */
int mm_keyslot_seal(const mm_keyset *ks, const char *name, const char *passphrase, size_t passlen,
                    const struct mm_kdf_params *p, mm_buf *out);

/*
 * Unwrap the master key of the key slot @slot (@n bytes) with @passphrase.
 * @param[out] out  the keyset, owned by the caller; untouched on failure
 * @param[out] name_out  the slot's user name, NUL-terminated, when @name_cap > 0 (may be NULL
 *                      when @name_cap is 0); MM_KEYSLOT_NAME_MAX + 1 always suffices
 * @return 0, MM_EAUTH (wrong passphrase, or a slot altered in a way only the MAC sees),
 *         MM_ECORRUPT (damaged or truncated slot, unknown version or KDF),
 *         MM_ELIMIT (the slot asks for more KDF cost than MM_KDF_*_MAX), MM_ENOMEM,
 *         MM_EINVAL (@name_cap too small for the name)
 */
int mm_keyslot_open(mm_keyset **out, const void *slot, size_t n, const char *passphrase,
                    size_t passlen, char *name_out, size_t name_cap);

/*
 * Read the user name and KDF cost of the key slot @slot (@n bytes) without opening it
 * (they are in the clear). A slot over the cost cap is still described.
 * @return 0, MM_ECORRUPT (damaged or truncated slot, unknown version or KDF)
 */
int mm_keyslot_info(const void *slot, size_t n, char name[MM_KEYSLOT_NAME_MAX + 1],
                    struct mm_kdf_params *cost);

/*
 * Test and fuzz hook: lower the KDF cost mm_keyslot_open() accepts (values above the
 * built-in MAX are clamped to it; 0 restores MAX). Process-wide, not thread-safe.
 */
void mm_crypto_kdf_cap(uint32_t opslimit_max, uint64_t memlimit_max);

/*
 * Name an object: keyed BLAKE2b-256 of its @n bytes of plaintext under the keyset's ID key.
 * Same key and content give the same ID; another keyset gives an unrelated one.
 * @return 0, MM_EINVAL
 */
int mm_crypto_object_id(const mm_keyset *ks, const void *plain, size_t n,
                        unsigned char out[MM_CRYPTO_ID_SIZE]);

/*
 * Seal @n bytes of plaintext named @id: append [24-byte random nonce | ciphertext | 16-byte
 * tag] (n + MM_CRYPTO_SEAL_OVERHEAD bytes) to @out. The ID is associated data, so the
 * result opens only under that name.
 * @return 0, MM_ELIMIT (@out would pass its limit), MM_ENOMEM; @out is unchanged on failure
 */
int mm_crypto_seal(const mm_keyset *ks, const unsigned char id[MM_CRYPTO_ID_SIZE],
                   const void *plain, size_t n, mm_buf *out);

/*
 * Open the @n sealed bytes of the object named @id and append its plaintext to @out, after
 * checking that the plaintext hashes to @id.
 * @return 0, MM_EAUTH (altered, truncated, or sealed under another name or key),
 *         MM_ECORRUPT (shorter than MM_CRYPTO_SEAL_OVERHEAD, or content not matching @id),
 *         MM_ELIMIT, MM_ENOMEM; @out is unchanged on failure (no plaintext is left in it)
 */
int mm_crypto_open(const mm_keyset *ks, const unsigned char id[MM_CRYPTO_ID_SIZE],
                   const void *sealed, size_t n, mm_buf *out);

/*
 * Like mm_crypto_open() without the content check, for payloads transformed before sealing
 * (the repository seals zstd(plaintext) under the ID of the plaintext): the MAC still binds
 * the payload to @id and the key, and the caller must check the content with
 * mm_crypto_object_id() after undoing its transform.
 * @return 0, MM_EAUTH, MM_ECORRUPT (too short), MM_ELIMIT, MM_ENOMEM; @out unchanged on failure
 */
int mm_crypto_open_raw(const mm_keyset *ks, const unsigned char id[MM_CRYPTO_ID_SIZE],
                       const void *sealed, size_t n, mm_buf *out);

/*
 * Sign @n bytes of @msg with the keyset's Ed25519 key (manifests, audit chain). Callers
 * domain-separate their messages (a manifest and an audit record never share a prefix).
 * @return 0, MM_ERROR
 */
int mm_crypto_sign(const mm_keyset *ks, const void *msg, size_t n,
                   unsigned char sig[MM_CRYPTO_SIG_SIZE]);

/*
 * Check the detached signature @sig of @n bytes of @msg against the public key @pk.
 * @return 0, MM_EAUTH when it does not verify
 */
int mm_crypto_verify(const unsigned char pk[MM_CRYPTO_PK_SIZE], const void *msg, size_t n,
                     const unsigned char sig[MM_CRYPTO_SIG_SIZE]);

/*
 * MAC of @n bytes of @msg under the keyset's audit key (keyed BLAKE2b-256), for the audit
 * hash chain: only a holder of the master key can extend the chain.
 * @return 0, MM_EINVAL
 */
int mm_crypto_audit_mac(const mm_keyset *ks, const void *msg, size_t n,
                        unsigned char out[MM_CRYPTO_ID_SIZE]);

/*
 * Unkeyed BLAKE2b-256 of @n bytes: the names of repository files (packs, indexes,
 * manifests), so that damage to a file is found without any key.
 */
void mm_crypto_hash(const void *p, size_t n, unsigned char out[MM_CRYPTO_ID_SIZE]);

/*
 * SHA-256 of @n bytes: the viewer's files on a medium, which a person compares with what
 * sha256sum (Linux) or certutil -hashfile (Windows) prints, so not BLAKE2b.
 */
void mm_crypto_sha256(const void *p, size_t n, unsigned char out[32]);

/* Compare @n bytes in constant time. @return 1 when equal, 0 otherwise */
int mm_crypto_equal(const void *a, const void *b, size_t n);

/* Fill @n bytes at @p with random bytes (lock names, repository IDs). */
void mm_crypto_random(void *p, size_t n);

/* Zero @n bytes at @p in a way the compiler cannot drop (secrets that left guarded memory). */
void mm_crypto_wipe(void *p, size_t n);

/* Write @id as 64 lower-case hex digits and a NUL into @out. */
void mm_crypto_hex(const unsigned char id[MM_CRYPTO_ID_SIZE], char out[MM_CRYPTO_HEX_SIZE]);

/*
 * Parse the NUL-terminated @hex, exactly 64 lower-case hex digits, into @out.
 * @return 0, MM_EINVAL when @hex is not such a string (@out is then unchanged)
 */
int mm_crypto_hex_parse(const char *hex, unsigned char out[MM_CRYPTO_ID_SIZE]);

/* ---- format 3: write-only hosts (docs/format-crypto.md, "Format 3") ------------------------ */

/* A pack's or envelope's data key, and the same sealed to the reader key (crypto_box_seal). */
#define MM_CRYPTO_DK_SIZE        32u
#define MM_CRYPTO_SEALED_DK_SIZE 80u
/* Writer certificate ("MMWC", version 1) and the host's key block (inside "MMHC"). */
#define MM_WCERT_SIZE    232u
#define MM_WCERT_VERSION 1u
#define MM_HOSTKEYS_SIZE 432u
#define MM_REPO_ID_BYTES 16u

/* A checked writer certificate. */
struct mm_wcert {
    unsigned char repo_id[MM_REPO_ID_BYTES];
    unsigned char pk[MM_CRYPTO_PK_SIZE];        /* the writer's Ed25519 public key */
    unsigned char reader_pk[MM_CRYPTO_PK_SIZE]; /* the X25519 key it seals data keys to */
    char name[MM_KEYSLOT_NAME_MAX + 1];
    uint64_t created, not_after; /* seconds since 1970 UTC */
};

/* 1 when @ks was built from a host credential (it seals and signs, and opens nothing). */
int mm_keyset_is_host(const mm_keyset *ks);

/* Copy the X25519 reader public key, to which format 3 data keys are sealed, into @pk. */
void mm_keyset_reader_pk(const mm_keyset *ks, unsigned char pk[MM_CRYPTO_PK_SIZE]);

/* A fresh random data key. */
void mm_crypto_datakey_new(unsigned char dk[MM_CRYPTO_DK_SIZE]);

/*
 * Seal the data key @dk to the reader public key @reader_pk (crypto_box_seal: an ephemeral
 * X25519 key, 80 bytes). Needs no secret. @return 0, MM_ERROR
 */
int mm_crypto_datakey_seal(const unsigned char reader_pk[MM_CRYPTO_PK_SIZE],
                           const unsigned char dk[MM_CRYPTO_DK_SIZE],
                           unsigned char out[MM_CRYPTO_SEALED_DK_SIZE]);

/*
 * Open a sealed data key with the reader secret key of @ks.
 * @return 0, MM_EAUTH (sealed to another key, altered), MM_EINVAL (@ks is a host keyset:
 *         it holds no reader secret key)
 */
int mm_crypto_datakey_open(const mm_keyset *ks,
                           const unsigned char sealed[MM_CRYPTO_SEALED_DK_SIZE],
                           unsigned char dk[MM_CRYPTO_DK_SIZE]);

/* mm_crypto_seal() under the data key @dk instead of the object key. Same returns. */
int mm_crypto_seal_dk(const unsigned char dk[MM_CRYPTO_DK_SIZE],
                      const unsigned char id[MM_CRYPTO_ID_SIZE], const void *plain, size_t n,
                      mm_buf *out);

/* mm_crypto_open_raw() under the data key @dk. Same returns. */
int mm_crypto_open_raw_dk(const unsigned char dk[MM_CRYPTO_DK_SIZE],
                          const unsigned char id[MM_CRYPTO_ID_SIZE], const void *sealed, size_t n,
                          mm_buf *out);

/*
 * Make a host's key block: a fresh random Ed25519 writer key, its certificate for @name
 * (repository @repo_id, valid from @created to @not_after, seconds) signed by the master
 * signing key of @master, and the clear keys a host needs (object-ID key, chunker seed,
 * audit key, reader public key, master signing public key). The block holds no key that
 * opens anything. @return 0, MM_EINVAL (@master is a host keyset, bad name or times), MM_ERROR
 */
int mm_keyset_enroll(const mm_keyset *master, const unsigned char repo_id[MM_REPO_ID_BYTES],
                     const char *name, uint64_t created, uint64_t not_after,
                     unsigned char out[MM_HOSTKEYS_SIZE]);

/*
 * Build a host keyset from the key block @p (@n bytes) of repository @repo_id; its
 * certificate must verify under the block's master signing public key.
 * @return 0, MM_ECORRUPT (damaged block, certificate for another repository), MM_ENOMEM
 */
int mm_keyset_from_hostkeys(mm_keyset **out, const void *p, size_t n,
                            const unsigned char repo_id[MM_REPO_ID_BYTES]);

/* Copy the writer certificate of a host keyset into @cert. @return 1 copied, 0 master keyset */
int mm_keyset_writer_cert(const mm_keyset *ks, unsigned char cert[MM_WCERT_SIZE]);

/*
 * Check the writer certificate @cert (@n bytes): layout, signature by @master_pk, and that
 * it names repository @repo_id. @return 0 (@out filled, may be NULL), MM_ECORRUPT, MM_EAUTH
 */
int mm_wcert_check(const unsigned char master_pk[MM_CRYPTO_PK_SIZE], const void *cert, size_t n,
                   const unsigned char repo_id[MM_REPO_ID_BYTES], struct mm_wcert *out);

#endif
