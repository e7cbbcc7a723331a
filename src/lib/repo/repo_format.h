/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The byte-level codecs of the repository's records (repo_codec.c): trees, pack tables,
 * index files and generation manifests, as pure functions over bytes. They are declared
 * here rather than in repo_int.h so that the unit tests and the fuzzers can reach them;
 * no other module uses this header. Every decoder treats its input as hostile: it checks
 * every length against the input and every value against docs/format.md, and allocates
 * only in proportion to the input. All integers are little endian (common/endian.h).
 */
#ifndef MM_REPO_REPO_FORMAT_H
#define MM_REPO_REPO_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "repo/repo.h"

#define ID_SIZE MM_CRYPTO_ID_SIZE

/* Object types (pack table, index file). */
enum mm_repo__otype { MM_REPO_OBJ_BLOB = 1, MM_REPO_OBJ_TREE = 2 };

/* Tree entry kinds. */
enum mm_repo__kind { MM_REPO_KIND_FILE = 1, MM_REPO_KIND_DIR = 2, MM_REPO_KIND_SYMLINK = 3 };

/* Limits on decoded records (hostile input must not make us allocate without bound). */
#define MM_REPO_TREE_MAX        (256u * 1024u * 1024u) /* bytes of one tree plaintext */
#define MM_REPO_OBJECT_MAX      (MM_CHUNK_MAX_HIGHEST + 1024u)
#define MM_REPO_PACK_MAX        (256u * 1024u * 1024u)
#define MM_REPO_IXFILE_MAX      (1024u * 1024u * 1024u)
#define MM_REPO_DICT_SIZE       (64u * 1024u)   /* bytes of a dictionary this mamori trains */
#define MM_REPO_DICT_MAX        (1024u * 1024u) /* bytes of a dictionary it accepts */
#define MM_REPO_DICT_FILE_MAX   (MM_REPO_DICT_MAX + 4096u)
#define MM_REPO_DICT_OBJECT_MAX (64u * 1024u) /* objects up to this size use the dictionary */
#define MM_REPO_MANIFEST_MAX    (16u * 1024u * 1024u)
#define MM_REPO_TREE_VERSION    1u
#define MM_REPO_PACK_VERSION    1u
#define MM_REPO_FILE_VERSION    1u
#define MM_REPO_PACK_ENTRY_SIZE 45u /* id 32, type 1, offset, length, plain 4 each */

/* ---- trees (repo_codec.c) ------------------------------------------------------------------ */

/*
 * One folder entry. Decoded entries point into the tree's own copy of the plaintext (name,
 * target and ids are not NUL-terminated and not separately allocated).
 */
struct mm_repo__entry {
    const char *name; /* raw bytes: no '/', no NUL, not "." or ".." */
    uint32_t namelen; /* 1..MM_LIMIT_NAME */
    uint8_t kind;     /* enum mm_repo__kind */
    uint32_t mode, uid, gid;
    uint64_t size;
    int64_t mtime_ns, ctime_ns;
    uint64_t ino, dev;
    const unsigned char *ids; /* file: nids blob IDs (32 bytes each); dir: 1 tree ID */
    uint32_t nids;
    const char *target; /* symlink: target bytes */
    uint32_t targetlen;
};

struct mm_repo__tree {
    struct mm_repo__entry *e; /* sorted by name bytes, unique */
    size_t n;
    unsigned char *data; /* decoded trees: the plaintext the entries point into */
};

/*
 * Encode @t ("MMTR", version, count, entries) and append it to @out. Entries must be
 * sorted and valid (as the decoder checks).
 * @return 0, MM_EINVAL (unsorted or invalid entry), MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__tree_encode(const struct mm_repo__tree *t, mm_buf *out);

/*
 * Decode a tree plaintext. @p is copied; @out owns the copy (mm_repo__tree_release).
 * Checks magic, version, every length against the input, names (no '/', NUL, "." or "..",
 * strictly increasing in byte order), kinds, a folder's single ID, mode and limits.
 * @return 0, MM_ECORRUPT (the message says what is wrong), MM_ENOMEM
 */
int mm_repo__tree_decode(const void *p, size_t n, struct mm_repo__tree *out);

/* Free what a decoded tree holds. Accepts a zeroed tree. */
void mm_repo__tree_release(struct mm_repo__tree *t);

/* The entry of @t named @name (@len bytes), or NULL (binary search: entries are sorted). */
const struct mm_repo__entry *mm_repo__tree_find(const struct mm_repo__tree *t, const char *name,
                                                size_t len);

/* ---- pack tables and index files (repo_codec.c) -------------------------------------------- */

/* Where one object lies in its pack. */
struct mm_repo__obj {
    unsigned char id[ID_SIZE];
    uint8_t type;    /* enum mm_repo__otype */
    uint32_t offset; /* from the start of the pack file */
    uint32_t length; /* stored (sealed) bytes */
    uint32_t plain;  /* plaintext bytes */
};

/*
 * Encode a pack table: le32 count, then per object: id, type, le32 offset, le32 length,
 * le32 plain (MM_REPO_PACK_ENTRY_SIZE bytes each).
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__packtab_encode(const struct mm_repo__obj *o, size_t n, mm_buf *out);

/*
 * Decode a pack table of a pack whose object area is [8, @data_end): every object must lie
 * inside it, at least MM_CRYPTO_SEAL_OVERHEAD + 1 bytes long, objects in increasing offset
 * order without overlap, types known, plain at most MM_REPO_OBJECT_MAX.
 * @param[out] out array of @nout objects, owned by the caller (free())
 * @return 0, MM_ECORRUPT, MM_ENOMEM
 */
int mm_repo__packtab_decode(const void *p, size_t n, uint64_t data_end, struct mm_repo__obj **out,
                            size_t *nout);

/* One pack as named by an index file. */
struct mm_repo__packinfo {
    unsigned char id[ID_SIZE];
    uint64_t size; /* bytes of the pack file */
    struct mm_repo__obj *objs;
    size_t nobjs;
};

/*
 * Encode an index file body: le32 pack count, then per pack: id, le64 size, the pack table
 * (as mm_repo__packtab_encode).
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__ixfile_encode(const struct mm_repo__packinfo *p, size_t n, mm_buf *out);

/*
 * Decode an index file body; each pack's table is checked as by mm_repo__packtab_decode
 * with data_end = size. @out[0].objs is one allocation holding every pack's objects.
 * @param[out] out array of @nout packs, owned by the caller (mm_repo__ixfile_free)
 * @return 0, MM_ECORRUPT, MM_ENOMEM
 */
int mm_repo__ixfile_decode(const void *p, size_t n, struct mm_repo__packinfo **out, size_t *nout);
void mm_repo__ixfile_free(struct mm_repo__packinfo *p, size_t n);

/* Whether to keep the object whose pack table entry (its ID first) is at @entry. */
typedef int (*mm_repo__keep_fn)(const unsigned char *entry, void *ctx);

/*
 * mm_repo__ixfile_decode() keeping only the objects @keep says yes to (every pack stays,
 * with the objects kept; the others are checked for framing only, never allocated).
 * @keep NULL keeps everything. Same returns.
 */
int mm_repo__ixfile_decode_keep(const void *p, size_t n, mm_repo__keep_fn keep, void *ctx,
                                struct mm_repo__packinfo **out, size_t *nout);

/* ---- manifests (repo_codec.c) -------------------------------------------------------------- */

/*
 * Encode the manifest body of @g (tag-length-value records, unknown tags skipped by
 * readers; the generation's own id, verify state and time are not part of it) and the
 * blob IDs of its patient index, and append it to @out. With g->index_twins, @nindex is
 * twice the blocks: their IDs (tag 11), then their twins' in the same order (tag 16).
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__manifest_encode(const struct mm_repo_gen *g, const unsigned char *index_ids,
                             size_t nindex, mm_buf *out);

/*
 * Decode a manifest body into @g (allocated strings; mm_repo_gen_release) and the patient
 * index blob IDs (*@index_ids, @nindex * 32 bytes, free(); NULL when none; with twins,
 * g->index_twins is set and the twins' IDs follow the blocks', @nindex twice the blocks).
 * @return 0, MM_ECORRUPT, MM_ENOMEM (nothing allocated is left on failure)
 */
int mm_repo__manifest_decode(const void *p, size_t n, struct mm_repo_gen *g,
                             unsigned char **index_ids, size_t *nindex);

/* ---- manifest tag 17: the viewer's files on the medium (repo_viewer.c) ---------------------- */

/* The size of @v's record value. @return 0, MM_EINVAL (a bad entry), MM_ELIMIT. OUT: *@size */
int mm_repo__viewer_size(const struct mm_repo_viewer *v, uint64_t *size);
/* Write @v's record value (mm_repo__viewer_size bytes) at @d. @return the byte after it */
unsigned char *mm_repo__viewer_encode(const struct mm_repo_viewer *v, unsigned char *d);
/* Decode a record value of @n bytes. OUT: *@out (mm_repo_viewer_free). @return 0,
 * MM_ECORRUPT, MM_ENOMEM */
int mm_repo__viewer_decode(const unsigned char *v, size_t n, struct mm_repo_viewer **out);

/* Shared by the codecs (repo_codec.c, repo_manifest.c). */
/* An int64 from its two's complement bits, without implementation-defined conversion. */
int64_t mm_repo__i64(uint64_t v);
/* What is wrong with the name of @n bytes at @s as a tree entry name, or NULL. */
const char *mm_repo__name_problem(const char *s, size_t n);
/* Whether the @n bytes at @s are well-formed UTF-8 without NUL and, when @no_ctl, without
 * control characters (C0, DEL, C1). */
int mm_repo__text_ok(const unsigned char *s, size_t n, int no_ctl);

#endif
