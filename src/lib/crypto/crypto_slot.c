/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key slots: the master key wrapped under a user's passphrase. Argon2id (salt and cost in
 * the slot) turns the passphrase into a key-encryption key, which seals the master key with
 * XChaCha20-Poly1305; the whole header is associated data, so any change to it fails the
 * MAC. Opening checks the cheap things (size, magic, version, KDF, name, cost caps) before
 * running Argon2id, so a damaged or hostile slot costs nothing and never asks for more than
 * MM_KDF_MEMLIMIT_MAX of memory. Layout: crypto_int.h and docs/format-crypto.md.
 */
#include <sodium.h>
#include <string.h>

#include "common/endian.h"
#include "common/error.h"
#include "crypto/crypto_int.h"

_Static_assert(MM_KEYSLOT_SALT_SIZE == crypto_pwhash_argon2id_SALTBYTES, "salt size");
_Static_assert(MM_KDF_OPSLIMIT_MIN == crypto_pwhash_argon2id_OPSLIMIT_MIN, "opslimit min");
_Static_assert(MM_KDF_MEMLIMIT_MIN == crypto_pwhash_argon2id_MEMLIMIT_MIN, "memlimit min");
_Static_assert(MM_KDF_MEMLIMIT_MAX <= SIZE_MAX, "memlimit max fits size_t");

static uint32_t cap_ops = MM_KDF_OPSLIMIT_MAX; /* lowered by mm_crypto_kdf_cap() */
static uint64_t cap_mem = MM_KDF_MEMLIMIT_MAX;

void mm_crypto_kdf_cap(uint32_t opslimit_max, uint64_t memlimit_max)
{
    cap_ops =
            opslimit_max && opslimit_max < MM_KDF_OPSLIMIT_MAX ? opslimit_max : MM_KDF_OPSLIMIT_MAX;
    cap_mem =
            memlimit_max && memlimit_max < MM_KDF_MEMLIMIT_MAX ? memlimit_max : MM_KDF_MEMLIMIT_MAX;
}

/* Whether the @n bytes at @s are a user name: UTF-8, no control characters, no NUL. */
static int name_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;

    if (n == 0 || n > MM_KEYSLOT_NAME_MAX)
        return 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        uint32_t cp, min;

        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2, cp = c & 0x1fu, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3, cp = c & 0x0fu, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4, cp = c & 0x07u, min = 0x10000;
        } else {
            return 0;
        }
        if (len > n - i)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        /* C1 controls U+0080..U+009F */
        if (cp < 0xa0)
            return 0;
        i += len;
    }
    return 1;
}

/* Argon2id of the passphrase into @kek (OUT:). @return 0, MM_ENOMEM */
static int derive_kek(unsigned char kek[MM_CRYPTO_KEY_SIZE], const char *passphrase, size_t passlen,
                      const unsigned char *salt, uint32_t ops, uint64_t mem)
{
    if (crypto_pwhash_argon2id(kek, MM_CRYPTO_KEY_SIZE, passphrase ? passphrase : "", passlen, salt,
                               ops, (size_t)mem, crypto_pwhash_argon2id_ALG_ARGON2ID13) != 0)
        return mm_error_set(MM_ENOMEM, "not enough memory for the key derivation (%llu KiB)",
                            (unsigned long long)(mem / 1024));
    return 0;
}

int mm_keyslot_seal(const mm_keyset *ks, const char *name, const char *passphrase, size_t passlen,
                    const struct mm_kdf_params *p, mm_buf *out)
{
    struct mm_kdf_params def = { MM_KDF_OPSLIMIT_DEFAULT, MM_KDF_MEMLIMIT_DEFAULT };
    unsigned char slot[MM_KEYSLOT_SIZE];
    unsigned char kek[MM_CRYPTO_KEY_SIZE];
    size_t namelen;
    int err = 0;

    MM_ASSERT_ARG(ks && name && out && (passphrase || passlen == 0));
    if (ks->kind != MM_KEYSET_MASTER)
        return mm_error_set(MM_EINVAL, "a host credential holds no master key to put in a slot");
    if (!p)
        p = &def;
    namelen = strnlen(name, MM_KEYSLOT_NAME_MAX + 1);
    if (!name_ok((const unsigned char *)name, namelen))
        return mm_error_set(MM_EINVAL,
                            "a key slot name is 1 to %u bytes of UTF-8 without "
                            "control characters",
                            MM_KEYSLOT_NAME_MAX);
    if (p->opslimit < MM_KDF_OPSLIMIT_MIN || p->memlimit < MM_KDF_MEMLIMIT_MIN)
        return mm_error_set(MM_EINVAL, "key derivation cost below the minimum");
    if (p->opslimit > MM_KDF_OPSLIMIT_MAX || p->memlimit > MM_KDF_MEMLIMIT_MAX)
        return mm_error_set(MM_ELIMIT, "key derivation cost over the limit (%u passes, %u MiB)",
                            MM_KDF_OPSLIMIT_MAX, MM_KDF_MEMLIMIT_MAX >> 20);

    memset(slot, 0, sizeof(slot));
    memcpy(slot + MM_KEYSLOT_OFF_MAGIC, MM_KEYSLOT_MAGIC, 4);
    mm_put_le16(slot + MM_KEYSLOT_OFF_VERSION, MM_KEYSLOT_VERSION);
    slot[MM_KEYSLOT_OFF_KDF] = MM_KEYSLOT_KDF_ARGON2ID13;
    slot[MM_KEYSLOT_OFF_NAMELEN] = (unsigned char)namelen;
    mm_put_le32(slot + MM_KEYSLOT_OFF_OPSLIMIT, p->opslimit);
    mm_put_le64(slot + MM_KEYSLOT_OFF_MEMLIMIT, p->memlimit);
    randombytes_buf(slot + MM_KEYSLOT_OFF_SALT, MM_KEYSLOT_SALT_SIZE);
    memcpy(slot + MM_KEYSLOT_OFF_NAME, name, namelen);
    randombytes_buf(slot + MM_KEYSLOT_OFF_NONCE, MM_CRYPTO_NONCE_SIZE);

    if ((err = derive_kek(kek, passphrase, passlen, slot + MM_KEYSLOT_OFF_SALT, p->opslimit,
                          p->memlimit)) < 0)
        goto out;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(slot + MM_KEYSLOT_OFF_CT, NULL, ks->master,
                                                   MM_CRYPTO_KEY_SIZE, slot, MM_KEYSLOT_HEADER_SIZE,
                                                   NULL, slot + MM_KEYSLOT_OFF_NONCE, kek) != 0) {
        err = mm_error_set(MM_ERROR, "cannot seal the key slot");
        goto out;
    }
    err = mm_buf_put(out, slot, sizeof(slot));
out:
    sodium_memzero(kek, sizeof(kek));
    return err;
}

/* Check the header of the slot @s (n bytes) up to the KDF cost. @return 0, MM_ECORRUPT, ELIMIT */
static int check_header(const unsigned char *s, size_t n)
{
    unsigned version, namelen;
    uint32_t ops;
    uint64_t mem;

    if (n < MM_KEYSLOT_OFF_KDF)
        return mm_error_set(MM_ECORRUPT, "key slot is truncated (%zu bytes)", n);
    if (memcmp(s + MM_KEYSLOT_OFF_MAGIC, MM_KEYSLOT_MAGIC, 4) != 0)
        return mm_error_set(MM_ECORRUPT, "not a mamori key slot (bad magic)");
    version = mm_get_le16(s + MM_KEYSLOT_OFF_VERSION);
    if (version != MM_KEYSLOT_VERSION)
        return mm_error_set(MM_ECORRUPT, "key slot format version %u is not supported", version);
    if (n != MM_KEYSLOT_SIZE)
        return mm_error_set(MM_ECORRUPT, "key slot has %zu bytes, not %u", n, MM_KEYSLOT_SIZE);
    if (s[MM_KEYSLOT_OFF_KDF] != MM_KEYSLOT_KDF_ARGON2ID13)
        return mm_error_set(MM_ECORRUPT, "key slot names unknown key derivation %u",
                            (unsigned)s[MM_KEYSLOT_OFF_KDF]);
    namelen = s[MM_KEYSLOT_OFF_NAMELEN];
    if (!name_ok(s + MM_KEYSLOT_OFF_NAME, namelen))
        return mm_error_set(MM_ECORRUPT, "key slot has a damaged user name");
    for (size_t i = namelen; i < MM_KEYSLOT_NAME_MAX; i++)
        if (s[MM_KEYSLOT_OFF_NAME + i] != 0)
            return mm_error_set(MM_ECORRUPT, "key slot has a damaged user name");
    ops = mm_get_le32(s + MM_KEYSLOT_OFF_OPSLIMIT);
    mem = mm_get_le64(s + MM_KEYSLOT_OFF_MEMLIMIT);
    if (ops < MM_KDF_OPSLIMIT_MIN || mem < MM_KDF_MEMLIMIT_MIN)
        return mm_error_set(MM_ECORRUPT, "key slot has a key derivation cost below the minimum");
    if (ops > cap_ops || mem > cap_mem)
        return mm_error_set(MM_ELIMIT,
                            "key slot asks for a key derivation of %lu passes over %llu KiB, "
                            "over the limit of %lu passes over %llu KiB",
                            (unsigned long)ops, (unsigned long long)(mem / 1024),
                            (unsigned long)cap_ops, (unsigned long long)(cap_mem / 1024));
    return 0;
}

int mm_keyslot_info(const void *slot, size_t n, char name[MM_KEYSLOT_NAME_MAX + 1],
                    struct mm_kdf_params *cost)
{
    const unsigned char *s = slot;
    int err = check_header(s, n);

    if (err < 0 && err != MM_ELIMIT)
        return err;
    memcpy(name, s + MM_KEYSLOT_OFF_NAME, s[MM_KEYSLOT_OFF_NAMELEN]);
    name[s[MM_KEYSLOT_OFF_NAMELEN]] = '\0';
    cost->opslimit = mm_get_le32(s + MM_KEYSLOT_OFF_OPSLIMIT);
    cost->memlimit = mm_get_le64(s + MM_KEYSLOT_OFF_MEMLIMIT);
    mm_error_clear();
    return 0;
}

int mm_keyslot_open(mm_keyset **out, const void *slot, size_t n, const char *passphrase,
                    size_t passlen, char *name_out, size_t name_cap)
{
    const unsigned char *s = slot;
    unsigned char kek[MM_CRYPTO_KEY_SIZE];
    mm_keyset *ks = NULL;
    size_t namelen;
    int err;

    MM_ASSERT_ARG(out && (slot || n == 0) && (passphrase || passlen == 0));
    MM_ASSERT_ARG(name_out || name_cap == 0);
    sodium_memzero(kek, sizeof(kek));
    if ((err = mm_crypto_init()) < 0)
        return err;
    if ((err = check_header(s, n)) < 0)
        return err;
    namelen = s[MM_KEYSLOT_OFF_NAMELEN];
    if (name_cap > 0 && name_cap <= namelen)
        return mm_error_set(MM_EINVAL, "no room for the key slot's user name");
    if (!(ks = mm_crypto__keyset_alloc()))
        return MM_ENOMEM;
    if ((err = derive_kek(kek, passphrase, passlen, s + MM_KEYSLOT_OFF_SALT,
                          mm_get_le32(s + MM_KEYSLOT_OFF_OPSLIMIT),
                          mm_get_le64(s + MM_KEYSLOT_OFF_MEMLIMIT))) < 0)
        goto out;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
                ks->master, NULL, NULL, s + MM_KEYSLOT_OFF_CT, MM_KEYSLOT_SIZE - MM_KEYSLOT_OFF_CT,
                s, MM_KEYSLOT_HEADER_SIZE, s + MM_KEYSLOT_OFF_NONCE, kek) != 0) {
        err = mm_error_set(MM_EAUTH, "wrong passphrase (or a damaged key slot)");
        goto out;
    }
    if ((err = mm_crypto__keyset_derive(ks)) < 0)
        goto out;
    if (name_cap > 0) {
        memcpy(name_out, s + MM_KEYSLOT_OFF_NAME, namelen);
        name_out[namelen] = '\0';
    }
    *out = ks;
    ks = NULL; /* now owned by the caller */
out:
    sodium_memzero(kek, sizeof(kek));
    mm_keyset_free(ks);
    return err;
}
