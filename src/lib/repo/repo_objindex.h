/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/repo/ (and its unit test): the object index, every object of every
 * index file by ID -> its pack and place in it (repo_object.c). Open addressing over a
 * power-of-two slot table kept at most 3/4 full, a tag byte per slot so a probe rarely
 * reads a location; the packs are listed once each. Not locked: the repository handle's
 * users hold ix.lock while a backup adds. A self-contained data structure: this header
 * needs nothing of the repository handle.
 */
#ifndef MM_REPO_REPO_OBJINDEX_H
#define MM_REPO_REPO_OBJINDEX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "repo/repo_format.h"

/* Location of an object: index into the pack list, and the pack table entry. */
struct mm_repo__loc {
    unsigned char id[ID_SIZE];
    uint32_t offset, length, plain;
    uint32_t pack : 24;   /* index into mm_repo__objindex.packs (MM_REPO__PACKS_MAX) */
    uint32_t type : 7;    /* enum mm_repo__otype */
    uint32_t pending : 1; /* claimed by a running backup, not in a pack yet */
};
/* Packs one object index can name: 48-byte locations (2.7 million of them at 1,000,000 files) */
#define MM_REPO__PACKS_MAX (1u << 24)

/* The object index: every object of every index file, by ID (open addressing). */
struct mm_repo__objindex {
    struct mm_repo__loc *locs;
    size_t nlocs, caplocs;
    uint32_t *slots; /* 0 empty, else index into locs + 1 */
    uint8_t *tags;   /* per slot: byte 8 of its ID, so a probe rarely reads a location */
    size_t nslots;   /* power of two, at most 3/4 full */
    struct mm_repo__pack {
        unsigned char id[ID_SIZE];
        uint64_t size;
    } * packs;
    size_t npacks, cappacks;
    uint32_t *packslots; /* 0 empty, else index into packs + 1: each pack is listed once */
    size_t npackslots;   /* power of two */
    char **files;        /* index file names (hex) loaded */
    size_t nfiles;
    char **bad; /* index files that did not open (their packs were read instead) */
    size_t nbad;
    char **tree_files; /* partial index: index files whose every tree it holds */
    size_t ntree_files;
    pthread_rwlock_t lock; /* taken for reading by lookups, for writing by a backup's adds */
    int loaded;
    unsigned long full_loads, partial_loads; /* how often each way was taken (for tests) */
};

/* The location of @id, or NULL. Not locked (callers hold ix.lock while others may add). */
struct mm_repo__loc *mm_repo__index_find(struct mm_repo__objindex *ix,
                                         const unsigned char id[ID_SIZE]);
/*
 * Add @id at @loc (pack, offset...) unless present. Not locked.
 * @param[out] out the entry (new or existing), may be NULL
 * @return 1 added, 0 present already, MM_ENOMEM
 */
int mm_repo__index_add(struct mm_repo__objindex *ix, const struct mm_repo__loc *loc,
                       struct mm_repo__loc **out);
/*
 * Add a pack unless present (two index files may name one pack: a prune interrupted before
 * it removed the old ones). @return its number, new or existing, or MM_ENOMEM, MM_ELIMIT.
 * Not locked.
 */
int64_t mm_repo__index_add_pack(struct mm_repo__objindex *ix, const unsigned char id[ID_SIZE],
                                uint64_t size);
/* Forget the loaded index (prune reloads it). */
void mm_repo__index_release(struct mm_repo__objindex *ix);

#endif
