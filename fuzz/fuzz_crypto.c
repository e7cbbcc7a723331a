/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the crypto module. Every input is opened as a key slot (passphrase
 * "fuzz") with the KDF caps lowered to 2 passes over 64 KiB, so a hostile slot is refused
 * with MM_ELIMIT instead of costing seconds and no input spends more than a fraction of a
 * millisecond in Argon2id; as a sealed object under a fixed name; and as a hex object ID.
 * Properties: only the documented codes come back; a sealed copy of the input opens to
 * exactly the input and fails with MM_EAUTH once any one bit (picked by the input) flips;
 * an accepted hex ID prints back to itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mm_keyset *ks; /* one keyset for the whole run */

/* Stop the run: a property does not hold. */
static void fail(const char *what)
{
    fprintf(stderr, "fuzz_crypto: %s (%s)\n", what, mm_error_last());
    abort();
}

static void slot(const uint8_t *data, size_t size)
{
    char name[MM_KEYSLOT_NAME_MAX + 1];
    mm_keyset *back = NULL;
    int rc = mm_keyslot_open(&back, data, size, "fuzz", 4, name, sizeof(name));

    if (rc == 0) {
        if (!back || strlen(name) == 0 || strlen(name) > MM_KEYSLOT_NAME_MAX)
            fail("opened slot without a keyset or name");
        mm_keyset_free(back);
    } else if (rc != MM_EAUTH && rc != MM_ECORRUPT && rc != MM_ELIMIT) {
        fail("key slot open returned an undocumented code");
    } else if (back) {
        fail("failed key slot open set its out-param");
    }
}

static void object(const uint8_t *data, size_t size)
{
    unsigned char id[MM_CRYPTO_ID_SIZE];
    mm_buf sealed, plain;
    int rc;

    mm_buf_init(&sealed, size + MM_CRYPTO_SEAL_OVERHEAD);
    mm_buf_init(&plain, size);
    memset(id, 0x5a, sizeof(id));
    rc = mm_crypto_open(ks, id, data, size, &plain);
    if (rc != MM_EAUTH && rc != MM_ECORRUPT)
        fail("random bytes opened as a sealed object");
    if (plain.len != 0)
        fail("failed open left plaintext");

    /* round trip, then one flipped bit */
    if (mm_crypto_object_id(ks, data, size, id) < 0 ||
        mm_crypto_seal(ks, id, data, size, &sealed) < 0)
        fail("seal");
    if (mm_crypto_open(ks, id, sealed.ptr, sealed.len, &plain) < 0 || plain.len != size ||
        (size && memcmp(plain.ptr, data, size) != 0))
        fail("round trip");
    mm_buf_clear(&plain);
    if (size > 0) {
        size_t bit = (data[0] | (size > 1 ? (size_t)data[1] << 8 : 0)) % (sealed.len * 8);

        sealed.ptr[bit / 8] ^= (char)(1u << (bit % 8));
        if (mm_crypto_open(ks, id, sealed.ptr, sealed.len, &plain) != MM_EAUTH)
            fail("flipped bit not detected");
    }
    mm_buf_release(&sealed);
    mm_buf_release(&plain);
}

static void hex(const uint8_t *data, size_t size)
{
    char s[2 * MM_CRYPTO_HEX_SIZE], back[MM_CRYPTO_HEX_SIZE];
    unsigned char id[MM_CRYPTO_ID_SIZE];
    size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

    memcpy(s, data, n);
    s[n] = '\0';
    if (mm_crypto_hex_parse(s, id) == 0) {
        mm_crypto_hex(id, back);
        if (strcmp(s, back) != 0)
            fail("hex id does not print back to itself");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ks) {
        mm_crypto_kdf_cap(2, 64 * 1024);
        if (mm_keyset_generate(&ks) < 0)
            fail("keyset");
    }
    slot(data, size);
    if (size <= 1024 * 1024)
        object(data, size);
    hex(data, size);
    return 0;
}
