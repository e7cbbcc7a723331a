/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hooks of repository format 3 (repo_fmt3.c) for the key harness (tests/unit/test_wokeys.c)
 * and tools: walk every sealed thing of the packs as stored, and write a minimal
 * generation through any handle (a host credential's included: the seal path without a
 * key that reads). Declared here, not in repo_int.h, so that tests can reach them; no
 * other module uses this header.
 */
#ifndef MM_REPO_REPO_FMT3_H
#define MM_REPO_REPO_FMT3_H

#include <stddef.h>

#include "repo/repo.h"

/* What a sealed thing of a pack is. */
enum mm_repo_sealed_kind {
    MM_REPO_SEALED_DATAKEY = 1, /* the pack's 80-byte sealed data key (no associated data) */
    MM_REPO_SEALED_OBJECT = 2,  /* nonce | ciphertext | tag, the object ID as associated data */
    MM_REPO_SEALED_TABLE = 3    /* the same for the pack table, its ID as associated data */
};

/* Called for one sealed thing: @n bytes at @sealed, @adlen bytes of associated data. */
typedef void (*mm_repo_sealed_fn)(enum mm_repo_sealed_kind kind, const unsigned char *sealed,
                                  size_t n, const unsigned char *ad, size_t adlen, void *ctx);

/*
 * Call @fn for every sealed data key, object and table of every format 3 pack of @r (opened
 * with a person's key: the objects are found from the pack tables). @return the number of
 * packs walked, or MM_EIO, MM_ECORRUPT, MM_EAUTH, MM_EINVAL (a host handle), MM_ENOMEM
 */
long mm_repo_fmt3_pack_walk(mm_repo *r, mm_repo_sealed_fn fn, void *ctx);

/*
 * The data key of the first pack of @r into @dk (a control for the harness: a real key).
 * @return 0, MM_ENOTFOUND (no pack), MM_EINVAL (a host handle cannot open it), MM_EAUTH
 */
int mm_repo_fmt3_first_pack_key(mm_repo *r, unsigned char dk[MM_CRYPTO_DK_SIZE]);

/*
 * Write a generation of one source folder @src holding one file @name (@n bytes of @data)
 * through @r: one pack, one index file, one manifest signed by @r's key (a host handle's
 * writer key, with its certificate). The generation's ID goes to @gen_out.
 * @return 0, MM_EINVAL (not format 3, bad names), MM_EIO, MM_ENOMEM
 */
int mm_repo_fmt3_write_file_gen(mm_repo *r, const char *src, const char *name, const void *data,
                                size_t n, char gen_out[MM_CRYPTO_HEX_SIZE]);

#endif
