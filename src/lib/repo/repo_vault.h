/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vault copy: a repository of the folder backend (a medium, complete while attached) copied
 * file for file into another backend (an S3 bucket prefix with Object Lock), so that the vault
 * holds the very generations the medium holds — the same repository ID, keys and manifests; a
 * generation restored from the vault is the generation of the medium. Only what the vault lacks
 * is sent, in the order that keeps every earlier vault generation whole: the small critical files
 * (marker, config, key slots, label), packs, dictionaries and index files; then, when the store is
 * immutable, every older retained object's retention is extended to the new generation's; then
 * the manifests, last; then the head. A generation counts as copied only when the store
 * acknowledged every object (the backend's flush). No key is needed: content-named files are
 * checked against their names before they are sent.
 */
#ifndef MM_REPO_REPO_VAULT_H
#define MM_REPO_REPO_VAULT_H

#include <stdint.h>

#include "repo/repo_backend.h"

struct mm_repo_vault_stats {
    uint64_t files;       /* files sent */
    uint64_t bytes;       /* bytes sent */
    uint64_t present;     /* content-named files the vault held already */
    uint64_t generations; /* manifests sent */
    uint64_t extended;    /* retained objects whose retention was extended */
};

/*
 * Copy what the backend @dst lacks of the repository in folder @src.
 * @param retain_until the new generations' retention (seconds since 1970 UTC; 0 none): on an
 *        immutable @dst, every retained object is kept at least that long before a manifest
 *        is sent
 * @return 0, MM_ECORRUPT (a source file does not hash to its name: nothing of it is sent),
 *         MM_ENOTFOUND (@src is not a repository), MM_EIO (the store failed: the generations
 *         not yet sent are not in the vault, earlier ones are whole), MM_EAUTH, MM_ENOMEM
 */
int mm_repo_vault_copy(const char *src, struct mm_repo_be *dst, int64_t retain_until,
                       struct mm_repo_vault_stats *st);

#endif
