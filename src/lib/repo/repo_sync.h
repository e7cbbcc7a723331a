/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copying a repository's content-named files between two folders of the directory backend
 * (the host's shadow of a medium and the medium itself, docs/format.md "Staging"). Every file
 * copied here is named by the unkeyed BLAKE2b-256 of its bytes, so a copy is checked without
 * any key: it is written crash-safely (temporary name, fsync, rename, folder fsync), its page
 * cache dropped, read back from the target and hashed against its name. Which packs hold
 * trees, and which packs an index file names, needs the repository's key (the pack tables are
 * sealed): those helpers take an open repository.
 */
#ifndef MM_REPO_REPO_SYNC_H
#define MM_REPO_REPO_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "repo/repo.h"

/* What copies cost (added to, never cleared). */
struct mm_repo_sync_stats {
    uint64_t files;   /* files copied */
    uint64_t bytes;   /* bytes written (and read back) */
    uint64_t fsyncs;  /* fsync calls on the target: the file and its folder, per file */
    uint64_t checked; /* packs whose presence and size were checked */
};

/* A pack as an index names it. */
struct mm_repo_sync_pack {
    char id[MM_CRYPTO_HEX_SIZE];
    uint64_t size;
    int trees; /* it holds the copy of a tree (or a patient-index twin) readers use */
};

/*
 * The content-named files under the repository folder @root that a shadow mirrors, as paths
 * relative to it, sorted: "dict/<64 hex>", "index/<64 hex>", "generations/<64 hex>" and, when
 * @packs, "data/<aa>/<64 hex>". Missing folders are empty. No key needed.
 * @param[out] out @n paths, owned by the caller (mm_repo_sync_list_free)
 * @return 0, MM_EIO, MM_ENOMEM
 */
int mm_repo_sync_list(const char *root, int packs, char ***out, size_t *n);

/* The 64-hex names in <@root>/<@dir>, sorted. @return as mm_repo_sync_list() */
int mm_repo_sync_list_dir(const char *root, const char *dir, char ***out, size_t *n);

void mm_repo_sync_list_free(char **v, size_t n);

/*
 * Read <@root>/<@rel> back from its device (page cache dropped first) and check that it
 * hashes to its name (64 hex digits). No key needed.
 * @return 0, MM_ECORRUPT (it does not), MM_EINVAL (not a content name), MM_EIO, MM_ENOMEM
 */
int mm_repo_sync_check(const char *root, const char *rel, struct mm_repo_sync_stats *st);

/*
 * Copy <@src>/<@rel> to <@dst>/<@rel> crash-safely (creating its folder), drop the copy's
 * page cache, read it back from @dst and check that it hashes to its name (when the name is
 * 64 hex digits; other files are compared byte for byte with the source). A copy that fails
 * its check is removed.
 * @return 0, MM_ENOTFOUND (no source), MM_ECORRUPT (read back wrong), MM_EIO, MM_ELIMIT,
 *         MM_ENOMEM
 */
int mm_repo_sync_copy(const char *src, const char *dst, const char *rel,
                      struct mm_repo_sync_stats *st);

/*
 * Every pack the index of the open @r names (its full load: index files and packs no index
 * file names), with whether it holds the copy of a tree readers use.
 * @param[out] out @n packs (free())
 * @return 0, MM_EIO, MM_ENOMEM
 */
int mm_repo_sync_packs(mm_repo *r, struct mm_repo_sync_pack **out, size_t *n);

/*
 * The packs the index file index/<@name> of the open @r names.
 * @param[out] out @n packs (free())
 * @return 0, MM_ENOTFOUND, MM_ECORRUPT, MM_EAUTH, MM_EIO, MM_ENOMEM
 */
int mm_repo_sync_index_packs(mm_repo *r, const char *name, struct mm_repo_sync_pack **out,
                             size_t *n);

/*
 * Whether <@root>/data/<aa>/<id> exists with the size @p names (counted in st->checked).
 * @return 0, MM_ENOTFOUND (missing), MM_ECORRUPT (another size)
 */
int mm_repo_sync_pack_check(const char *root, const struct mm_repo_sync_pack *p,
                            struct mm_repo_sync_stats *st);

/*
 * Every pack the host catalog in <@catalog_dir>/<repository ID>/ names for the repository
 * @r (a handle of mm_repo_open_host, of the medium or of its shadow: the same ID), unchecked:
 * what a write-only backup's reused object IDs may live in. No key needed (the catalog is the
 * host's own, in the clear).
 * @param[out] out @n packs (free(); trees is 0)
 * @return 0, MM_ENOTFOUND (no catalog, or a damaged one), MM_EIO, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo_catalog_packs(mm_repo *r, const char *catalog_dir, struct mm_repo_sync_pack **out,
                          size_t *n);

/*
 * Remove <@root>/<@rel> and fsync its folder; a missing file is fine.
 * @return 0, MM_EIO
 */
int mm_repo_sync_remove(const char *root, const char *rel, struct mm_repo_sync_stats *st);

#endif
