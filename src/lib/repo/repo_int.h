/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/lib/repo/: the repository handle, its files, the object index and the
 * object codec shared by backup, restore, verify and prune. The record codecs are in
 * repo_format.h. Byte layouts: docs/format.md.
 */
#ifndef MM_REPO_REPO_INT_H
#define MM_REPO_REPO_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "crypto/crypto.h"
#include "repo/repo.h"
#include "repo/repo_backend.h"
#include "repo/repo_format.h"
#include "repo/repo_objindex.h"

/*
 * The twin of a patient index block (docs/format.md, manifest tag 16): the block's bytes and
 * this tail, another object with another ID, stored in another pack than the block.
 */
#define MM_REPO__TWIN_TAIL      "MMTW"
#define MM_REPO__TWIN_TAIL_SIZE 4u

/* ---- the repository handle (repo_open.c) --------------------------------------------------- */

struct mm_repo__config {
    struct mm_chunk_params chunk;
    int zstd_level;
    uint32_t pack_target;
};

/* A compression dictionary of the repository (repo_dict.c). */
struct mm_repo__dict {
    uint32_t id; /* zstd dictionary ID, also in the header of every frame that needs it */
    void *cdict; /* ZSTD_CDict, at the repository's level */
    void *ddict; /* ZSTD_DDict */
};
#define MM_REPO__DICTS_MAX 8

/* Data keys of format 3 packs already opened, by pack ID (repo_fmt3.c). */
struct mm_repo__dkcache {
    unsigned char (*ids)[ID_SIZE];
    unsigned char (*keys)[MM_CRYPTO_DK_SIZE];
    size_t n, cap; /* cap is a power of two; an all-zero ID marks an empty slot */
    pthread_mutex_t lock;
};

struct mm_repo {
    char *path;            /* the location as given: a folder or an s3:// URL (messages) */
    struct mm_repo_be *be; /* where its files live (repo_backend.h) */
    unsigned version;      /* of the repository's format, from its marker file */
    char id[33];
    char user[MM_KEYSLOT_NAME_MAX + 1];
    mm_keyset *ks;
    struct mm_repo__config cfg;
    struct mm_repo__objindex ix;
    char *lock_file; /* our lock, NULL if none */
    enum mm_repo_lock_kind lock_kind;
    int lock_skipped;    /* a reader's lock not written: MM_REPO_LOCK_SKIPPED_* (repo_space.c) */
    uint64_t lock_avail; /* bytes free then */
    struct mm_repo__dict dicts[MM_REPO__DICTS_MAX];
    unsigned ndicts; /* published with __atomic (a backup adds one while workers read) */
    char **dict_bad; /* names of damaged dict/ files */
    size_t ndict_bad;
    int dict_loaded;
    struct mm_repo__dkcache dkc;
    struct mm_repo__catalog *cat; /* a host's backup: its catalog (repo_catalog.c), else NULL */
    struct mm_repo__copy *copies; /* small critical files with a damaged or missing copy */
    size_t ncopies, capcopies;
    int copies2;              /* the repository keeps second copies (its marker has a check) */
    unsigned copies_repaired; /* copies rewritten by this handle (mm_repo__copies_repair) */
};

/*
 * A handle on the repository at @path with its marker read (r->version, r->id) and no key
 * yet (host credentials, repo_host.c). @return 0, MM_ENOTFOUND, MM_ECORRUPT, MM_ENOMEM
 */
int mm_repo__open_marker(mm_repo **out, const char *path);

/* ---- second copies of small critical files (repo_copies.c) -------------------------------- */

/* What a reader found about the two copies of a small critical file. */
enum mm_repo__copy_flags {
    MM_REPO__COPY1_BAD = 1 << 0,     /* <name> is there but not intact */
    MM_REPO__COPY2_BAD = 1 << 1,     /* <name>.2 is there but not intact */
    MM_REPO__COPY1_MISSING = 1 << 2, /* <name> is missing */
    MM_REPO__COPY2_MISSING = 1 << 3, /* <name>.2 is missing (every repository before them) */
    MM_REPO__COPY_DIFFER = 1 << 4,   /* both parse but differ; which is intact is not known */
    MM_REPO__COPY1_OLD = 1 << 5      /* intact, in an older form the next write replaces */
};

/* A small critical file whose copies are not both intact, as the handle found it. */
struct mm_repo__copy {
    char rel[80];        /* "guard/<generation ID>" the longest */
    unsigned flags;      /* enum mm_repo__copy_flags */
    unsigned char *good; /* the intact bytes (to repair from), NULL when not known */
    size_t n;
};

/* Whether @n bytes at @p are an intact copy: 0 yes, <0 no (with a message). */
typedef int (*mm_repo__intact_fn)(const void *p, size_t n, void *arg);

/*
 * Write @rel and its second copy "@rel.2" (each temporary name, fsync, rename; the second
 * after the first is durable), replacing what is there; forgets what was noted about @rel.
 * @return 0, MM_EIO, MM_ELIMIT
 */
int mm_repo__write2(mm_repo *r, const char *rel, const void *data, size_t n);

/*
 * Read the first intact copy of @rel (@ok says what intact means) into @out (bounded by its
 * limit) and note on @r what was wrong with the other (mm_repo__copy_note).
 * @return 0, MM_ENOTFOUND (neither copy exists), MM_ECORRUPT (no intact copy; the message
 *         names the file), MM_EIO, MM_ENOMEM
 */
int mm_repo__read2(mm_repo *r, const char *rel, mm_buf *out, mm_repo__intact_fn ok, void *arg);

/* Note @flags about @rel on @r (0 forgets it), with the intact bytes when known. */
int mm_repo__copy_note(mm_repo *r, const char *rel, unsigned flags, const void *good, size_t n);
void mm_repo__copy_forget(mm_repo *r, const char *rel);

/*
 * Rewrite every noted damaged or missing copy whose intact bytes are known (best effort: a
 * failure leaves the note for verify). Logged at MM_LOG_WARN. @return the copies repaired
 */
unsigned mm_repo__copies_repair(mm_repo *r);
void mm_repo__copies_release(mm_repo *r);

/* ---- key slots (repo_keys.c) -------------------------------------------------------------- */

/*
 * Open the key slot of @user (NULL: any) with the passphrase into r->ks and r->user, noting
 * damaged slot copies on @r.
 * @return 0, MM_EAUTH (wrong passphrase), MM_ENOTFOUND (no slot for @user), MM_ECORRUPT (no
 *         slot parses: the message names one), MM_ELIMIT, MM_EIO, MM_ENOMEM
 */
int mm_repo__slots_open(mm_repo *r, const char *user, const char *pass, size_t passlen);

/* Seal a new key slot for @user (r->ks) into @out, its new name "keys/<32 hex>" into @rel.
 * @return 0, MM_ENOMEM, MM_ELIMIT */
int mm_repo__slot_seal(mm_repo *r, const char *user, const char *pass, size_t passlen,
                       const struct mm_kdf_params *kdf, mm_buf *out, char rel[64]);
/* Write a new key slot (and its second copy) for @user sealing r->ks. @return 0 or an mm_err */
int mm_repo__slot_write(mm_repo *r, const char *user, const char *pass, size_t passlen,
                        const struct mm_kdf_params *kdf);

/* ---- compression dictionaries (repo_dict.c) ------------------------------------------------ */

/* Add the dictionary @p (@n bytes, as zstd's trainer writes it) unless known. */
int mm_repo__dict_add(mm_repo *r, const void *p, size_t n);

/*
 * Load every dictionary under dict/ (once; mm_repo__index_load calls it). A damaged copy is
 * skipped and named in r->dict_bad. @return 0, MM_EIO, MM_ENOMEM
 */
int mm_repo__dict_load(mm_repo *r);
/* The dictionary with zstd ID @id, or NULL. */
const struct mm_repo__dict *mm_repo__dict_find(const mm_repo *r, uint32_t id);
/* The dictionary new small objects are compressed with, or NULL (none trained yet). */
const struct mm_repo__dict *mm_repo__dict_current(const mm_repo *r);
/*
 * Train a dictionary from @n samples (concatenated in @samples, sizes in @sizes), write it
 * crash-safely (two copies) and make it current.
 * @return 1 trained, 0 the samples gave no useful dictionary, <0 MM_EIO, MM_ENOMEM
 */
int mm_repo__dict_train(mm_repo *r, const void *samples, const size_t *sizes, unsigned n);
void mm_repo__dict_release(mm_repo *r);

/* ---- files of the repository (repo_file.c) ------------------------------------------------- */

/*
 * "<folder>/<rel>" of a repository on a local folder, in @out (@cap bytes): only for the
 * local-only features (reserve file, viewer payload, page-cache hints).
 * @return 0, MM_ELIMIT, MM_EINVAL (not a local repository)
 */
int mm_repo__path(const mm_repo *r, const char *rel, char *out, size_t cap);

/* The folder of a local repository, NULL for any other backend. */
const char *mm_repo__local(const mm_repo *r);

/*
 * Write @n bytes as <rel>, kind ONCE (repo_backend.h; a local folder: temporary name, fsync,
 * rename, folder fsync, its folder created when missing). An existing file of that name is
 * left alone (names are content hashes, so it holds the same bytes).
 * @return 0, MM_EIO (a new file is not left there, even when only the folder's fsync failed)
 */
int mm_repo__write(mm_repo *r, const char *rel, const void *data, size_t n);
/* Write @n bytes as <rel>, kind REPLACE: the file is replaced as one step. @return as above */
int mm_repo__replace(mm_repo *r, const char *rel, const void *data, size_t n);
/* The size of <rel>. @return 0, MM_ENOTFOUND, MM_EIO */
int mm_repo__stat(const mm_repo *r, const char *rel, uint64_t *size);
/* Wait until every write so far is stored (a queuing backend). @return 0, MM_EIO */
int mm_repo__flush(mm_repo *r);

/* Read <repo>/<rel> whole into @out (bounded by out->limit). @return 0, MM_ENOTFOUND, MM_ELIMIT,
 * MM_EIO */
int mm_repo__read(mm_repo *r, const char *rel, mm_buf *out);

/* Read @n bytes at @off of <repo>/<rel> into @dst. @return 0, MM_ENOTFOUND, MM_ECORRUPT (short),
 * MM_EIO */
int mm_repo__read_at(const mm_repo *r, const char *rel, uint64_t off, void *dst, size_t n);

/* Read @n bytes at @off of the open file @fd (the repository file @rel, for messages). */
int mm_repo__pread(int fd, void *dst, size_t n, uint64_t off, const char *rel);

/* The names (sorted) in <repo>/<dir> that are 64 hex digits. @return 0, MM_EIO, MM_ENOMEM */
int mm_repo__list(mm_repo *r, const char *dir, char ***out, size_t *n);
/* The names (sorted) in <repo>/<dir> that a backend lists (mm_repo_be_listed_name). */
int mm_repo__list_all(mm_repo *r, const char *dir, char ***out, size_t *n);

/* 1 when @s is a repository file name: 64 lower-case hex digits. */
int mm_repo__is_hex_name(const char *s);

/* struct mm_repo__names: a growing list of names (repo_backend.h). */

/*
 * Append the repository file names (mm_repo__is_hex_name) of the folder @path, each as
 * "@prefix<name>"; @dir names the folder in messages. A missing folder adds nothing.
 * @return 0, MM_EIO, MM_ENOMEM
 */
int mm_repo__names_add(struct mm_repo__names *l, const char *path, const char *dir,
                       const char *prefix);
/* mm_repo__names_add() of the names @keep returns 1 for. */
int mm_repo__names_scan(struct mm_repo__names *l, const char *path, const char *dir,
                        const char *prefix, int (*keep)(const char *name));

/* Sort @n names in byte order. */
void mm_repo__names_sort(char **v, size_t n);
void mm_repo__list_free(char **v, size_t n);

/* Remove <repo>/<rel> and fsync its folder. A missing file is fine. @return 0, MM_EIO */
int mm_repo__remove(mm_repo *r, const char *rel);

/* "data/<aa>/<hex>" for a pack ID. */
void mm_repo__pack_rel(const unsigned char id[ID_SIZE], char out[80]);

/*
 * Sealed repository file ("MMIX", "MMGN", "MMCF", "MMVR"): magic, le32 version, object ID
 * of the plaintext, then the sealed payload (codec byte, then raw or zstd data).
 * @return 0, MM_ENOMEM, MM_ELIMIT
 */
int mm_repo__envelope_seal(mm_repo *r, const char magic[4], const void *plain, size_t n,
                           mm_buf *out);
/*
 * Seal @n bytes of @plain in the envelope @magic and write it crash-safely as
 * <dir>/<hash of the file> (buffer bounded by @limit); the hash in hex goes to @hex_out and
 * the name relative to the repository to @rel_out (each may be NULL).
 * @return 0, MM_EIO, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__sealed_write(mm_repo *r, const char *dir, const char magic[4], const void *plain,
                          size_t n, size_t limit, char hex_out[MM_CRYPTO_HEX_SIZE],
                          char rel_out[96]);

/*
 * Read <dir>/<name> (a sealed file named by the hash of its bytes) into @raw, check that its
 * bytes hash to its name, open the envelope @magic into @plain (both buffers cleared first).
 * @return 0, MM_ENOTFOUND, MM_EIO, MM_ENOMEM, MM_ECORRUPT (hash, envelope), MM_EAUTH, MM_ELIMIT
 */
int mm_repo__sealed_read(mm_repo *r, const char *dir, const char *name, const char magic[4],
                         mm_buf *raw, mm_buf *plain);

/* Now, in nanoseconds since 1970 UTC (manifest and verify-record times). */
int64_t mm_repo__now_ns(void);

/*
 * Worker threads for backup and restore: @asked (at most 64), or by default at least 16 —
 * small files wait on the disk far more than on the CPU (a cold SS-MIX2 storage reads about
 * 8 times faster with 16 readers than with 2 on the test machine, docs/PERFORMANCE.md) —
 * or twice the CPUs on larger machines.
 */
unsigned int mm_repo__threads(unsigned int asked);

/* 1 (and @last set to now) when a progress report is due: 250 ms since *@last. */
int mm_repo__progress_due(struct timespec *last);

/* @out: 250 ms from now on CLOCK_REALTIME, for pthread_cond_timedwait between progress reports. */
void mm_repo__progress_deadline(struct timespec *out);

/* "@a/@name" (@len bytes of name; just the name when @a is ""), allocated; NULL: no memory. */
char *mm_repo__join(const char *a, const char *name, size_t len);

/* @return 0, MM_ECORRUPT (wrong magic or version, damaged), MM_EAUTH (MAC), MM_ENOMEM */
int mm_repo__envelope_open(mm_repo *r, const char magic[4], const void *p, size_t n, mm_buf *out);

/* ---- objects (repo_object.c) --------------------------------------------------------------- */

/* Per-thread compression state and scratch space. */
struct mm_repo__work {
    void *cctx, *dctx; /* ZSTD_CCtx, ZSTD_DCtx */
    mm_buf scratch;
};
int mm_repo__work_init(struct mm_repo__work *w);
void mm_repo__work_release(struct mm_repo__work *w);

/*
 * Compress (codec byte 0: raw, 1: zstd, 2: zstd with the dictionary @dict when not NULL;
 * whichever is smallest of raw and the compressed form) and seal @n bytes named @id,
 * appending to @out. @w may be NULL (a temporary one is used).
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__object_seal(const mm_repo *r, struct mm_repo__work *w, const unsigned char id[ID_SIZE],
                         const void *p, size_t n, const struct mm_repo__dict *dict, mm_buf *out);
/* mm_repo__object_seal() under the data key @dk (format 3); NULL: the keyset's object key. */
int mm_repo__object_seal_dk(const mm_repo *r, struct mm_repo__work *w, const unsigned char *dk,
                            const unsigned char id[ID_SIZE], const void *p, size_t n,
                            const struct mm_repo__dict *dict, mm_buf *out);
/*
 * Open a sealed object named @id (format 3: under the data key of the pack the object
 * index places it in): MAC, decompress (at most @plain bytes), check that the
 * plaintext hashes to @id; append the plaintext to @out.
 * @return 0, MM_EAUTH, MM_ECORRUPT, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__object_open(const mm_repo *r, struct mm_repo__work *w, const unsigned char id[ID_SIZE],
                         const void *p, size_t n, uint32_t plain, mm_buf *out);
/* mm_repo__object_open() under the data key @dk; NULL: the keyset's object key. */
int mm_repo__object_open_dk(const mm_repo *r, struct mm_repo__work *w, const unsigned char *dk,
                            const unsigned char id[ID_SIZE], const void *p, size_t n,
                            uint32_t plain, mm_buf *out);
/*
 * mm_repo__object_open() writing the plaintext to @dst, which has room for exactly @plain
 * bytes (the size the object index knows): a smaller or larger plaintext is MM_ECORRUPT.
 * @return as mm_repo__object_open()
 */
int mm_repo__object_open_at(const mm_repo *r, struct mm_repo__work *w,
                            const unsigned char id[ID_SIZE], const void *p, size_t n,
                            uint32_t plain, unsigned char *dst);

/*
 * Load every index file into r->ix (once). A damaged index file is skipped and named in
 * ix.bad; the packs it named are then found by reading the table of every pack that no
 * good index file names, so one damaged index file loses nothing.
 * @return 0, MM_EIO, MM_ENOMEM
 */
int mm_repo__index_load(mm_repo *r);

/*
 * Read the pack table of the pack @id (@size bytes): trailer, sealed table, decode.
 * @param[out] out objects (free()), @n of them
 * @return 0, MM_ENOTFOUND, MM_ECORRUPT, MM_EAUTH, MM_EIO, MM_ENOMEM
 */
int mm_repo__pack_table(mm_repo *r, const unsigned char id[ID_SIZE], uint64_t size,
                        struct mm_repo__obj **out, size_t *n);

/*
 * A pack being filled: "MMPK", version (format 3: and the sealed data key), sealed objects;
 * the table goes on at the end.
 */
struct mm_repo__packw {
    mm_buf data;
    unsigned char dk[MM_CRYPTO_DK_SIZE]; /* format 3: this pack's data key */
    int fmt3;
    struct mm_repo__obj *objs;
    size_t n, cap;
    size_t reserve; /* bytes allocated at once by packw_start (0: grow as filled) */
};
/* Start (or restart) an empty pack (format 3: with a fresh data key). @return 0, MM_ENOMEM */
int mm_repo__packw_start(const mm_repo *r, struct mm_repo__packw *p);
/* Note the object sealed at data[@off..len) as the pack's next entry. @return 0, MM_ENOMEM */
int mm_repo__packw_record(struct mm_repo__packw *p, const unsigned char id[ID_SIZE], uint8_t type,
                          size_t off, uint32_t plain);
/*
 * Append the sealed table and trailer, write the pack crash-safely as data/<aa>/<hash>;
 * its ID goes to @id_out and its size to @size. p->objs stays for the caller's index.
 * @return 0, MM_EIO, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__packw_finish(mm_repo *r, struct mm_repo__work *w, struct mm_repo__packw *p,
                          unsigned char id_out[ID_SIZE], uint64_t *size);
void mm_repo__packw_release(struct mm_repo__packw *p);

/*
 * Write an index file naming the packs @p (@n of them) crash-safely as index/<hash>; its
 * name relative to the repository goes to @rel_out (may be NULL).
 * @return 0, MM_EIO, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__ixfile_write(mm_repo *r, const struct mm_repo__packinfo *p, size_t n,
                          char rel_out[96]);

/* The IDs of every pack file under data/ (@n * 32 bytes, free()). @return 0, MM_EIO, MM_ENOMEM */
int mm_repo__list_packs(mm_repo *r, unsigned char **out, size_t *n);

/* A set of IDs with a small value each (verify, prune). */
struct mm_repo__idset {
    unsigned char (*keys)[ID_SIZE];
    uint8_t *vals; /* 0: empty slot; callers store values 1..255 */
    size_t n, cap; /* cap is a power of two */
};
/* The value of @id, 0 if absent. */
uint8_t mm_repo__idset_get(const struct mm_repo__idset *s, const unsigned char id[ID_SIZE]);
/* Set @id to @v (1..255). @return 0, MM_ENOMEM */
int mm_repo__idset_put(struct mm_repo__idset *s, const unsigned char id[ID_SIZE], uint8_t v);
void mm_repo__idset_release(struct mm_repo__idset *s);
/*
 * Make r->ix know where the @n objects @ids are, reading the index files (newest first,
 * until all are found) but keeping only those: a partial index, so the viewer reads a
 * generation's patient index and a patient's documents without the million entries of a
 * large repository. What earlier lookups found stays; only objects r->ix lacks are looked
 * up. Objects found in no index file make it load the whole index. A later
 * mm_repo__index_load() starts over and loads everything.
 * @param trees the @ids are trees: keep every tree of the index files read (a path's next
 *        folders are then mostly known without reading again), and skip the files read
 *        that way before
 * @return 0, MM_ENOMEM, MM_EIO, and the errors of mm_repo__index_load()
 */
int mm_repo__index_locate(mm_repo *r, const unsigned char *ids, size_t n, int trees);

/*
 * Read and open the object @id into @out (locks ix.lock for the lookup, so it may run while
 * a backup adds objects).
 * @return 0, MM_ENOTFOUND (not in the index, or its pack is missing), MM_ECORRUPT, MM_EAUTH,
 *         MM_EIO, MM_ENOMEM
 */
int mm_repo__object_get(mm_repo *r, struct mm_repo__work *w, const unsigned char id[ID_SIZE],
                        mm_buf *out);
/* Read and decode the tree @id. Same returns. */
int mm_repo__tree_get(mm_repo *r, struct mm_repo__work *w, const unsigned char id[ID_SIZE],
                      struct mm_repo__tree *out);

/* Manifest of generation @hex: read, open, check the signature, decode. */
int mm_repo__gen_load(mm_repo *r, const char *hex, struct mm_repo_gen *g, unsigned char **index_ids,
                      size_t *nindex);

/*
 * Write the manifest of @g (signed, sealed) as generations/<hash>; its ID goes to @id_out.
 * @return 0, MM_EIO, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__gen_write(mm_repo *r, const struct mm_repo_gen *g, const unsigned char *index_ids,
                       size_t nindex, char id_out[MM_CRYPTO_HEX_SIZE]);

/* ---- the guard's acceptance records (repo_guard.c) ---- */

/* Write the signed acceptance record @a (and its second copy) into @r: a person's handle only.
 * @return 0, MM_EREFUSED (a host credential's handle), MM_EINVAL, MM_EIO */
int mm_repo__guard_write(mm_repo *r, const struct mm_repo_guard_accept *a);
/* Remove the acceptance record of generation @id and its copy (none there: 0). */
int mm_repo__guard_remove(mm_repo *r, const char *id);
/* Fill guard_accepted of the @n generations @g (a record that does not verify: 0). */
void mm_repo__guard_fill(mm_repo *r, struct mm_repo_gen *g, size_t n);

/* Record the verify result @states[i] (enum mm_repo_verify_state) of generations @ids. */
int mm_repo__verify_record(mm_repo *r, const unsigned char *ids, const uint8_t *states, size_t n);

/* ---- the host catalog (repo_catalog.c; docs/format-crypto.md "Host catalog") -------------- */

/* A tree of the catalog: @len bytes at @off of the catalog's tree buffer. */
struct mm_repo__cattree {
    unsigned char id[ID_SIZE];
    uint64_t off;
    uint32_t len;
    uint8_t fresh; /* a tree of the generation being written (kept by the next save) */
};

/* What a host knows of one repository it writes but cannot read. */
struct mm_repo__catalog {
    char dir[4096], file[4200];
    int lost;       /* no catalog file, or a damaged one: everything is stored again */
    size_t dropped; /* packs not found on the medium as recorded, dropped with their objects */
    int (*known)(const char *hex, uint64_t size, void *ctx); /* opts' catalog_pack_known */
    void *known_ctx;
    /* the latest generation the host wrote */
    int have_parent, has_index, index_twins;
    unsigned char gen[ID_SIZE], root[ID_SIZE];
    struct mm_repo_counts counts;
    uint64_t index_size;
    struct mm_repo_index_check check;
    unsigned char *index_ids; /* the patient index's blocks (and twins), @nindex IDs */
    size_t nindex;
    struct mm_repo__packinfo *packs; /* packs it wrote, checked on the medium */
    size_t npacks;
    struct mm_repo__obj *objs; /* the one allocation every pack's table lies in */
    pthread_mutex_t lock;      /* the trees: workers add while others read */
    mm_buf trees;
    struct mm_repo__cattree *tv;
    size_t ntv, captv;
    uint32_t *slots; /* 0 empty, else index into tv + 1 */
    size_t nslots;
};

/*
 * Open the catalog of @r in <@parent>/<repository ID>/ (created, mode 0700): load it,
 * check its packs on the medium (dropping those missing or of another size with their
 * objects) and add the objects of the rest to r->ix. A missing or damaged file gives an
 * empty catalog (c->lost). @return 0, MM_EIO, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__catalog_open(mm_repo *r, const char *parent, const struct mm_repo_backup_opts *o,
                          struct mm_repo__catalog **out);
/* The tree @id in the clear, decoded. @return 0, MM_ENOTFOUND, MM_ECORRUPT, MM_ENOMEM */
int mm_repo__catalog_tree(struct mm_repo__catalog *c, const unsigned char id[ID_SIZE],
                          struct mm_repo__tree *out);
/* Record the tree @id (@n bytes at @p) of the generation being written. Locked. */
int mm_repo__catalog_tree_add(struct mm_repo__catalog *c, const unsigned char id[ID_SIZE],
                              const void *p, size_t n);
/*
 * Replace the catalog file after the generation @g is durable: @g's figures, the patient
 * index blocks @index_ids, the checked packs and the @nnew new packs @newp, and only the
 * trees recorded since the open. @return 0, MM_EIO, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__catalog_save(mm_repo *r, struct mm_repo__catalog *c, const struct mm_repo_gen *g,
                          const unsigned char *index_ids, size_t nindex,
                          const struct mm_repo__packinfo *newp, size_t nnew);
/*
 * A host's backup (a handle of mm_repo_open_host): empty r->ix and fill it, and @parent
 * (ID, root, counts, patient index; *@have_parent), from the catalog in o->catalog_dir,
 * kept open as r->cat (none without o->catalog_dir: everything is stored). Nothing of the
 * repository is read but the packs' sizes. @return 0, or as mm_repo__catalog_open()
 */
int mm_repo__catalog_begin(mm_repo *r, const struct mm_repo_backup_opts *o,
                           struct mm_repo_gen *parent, int *have_parent);
void mm_repo__catalog_free_parts(struct mm_repo__catalog *c);
void mm_repo__catalog_free(struct mm_repo__catalog *c);

/* ---- format 3: data keys sealed to the reader key (repo_fmt3.c) ---------------------------- */

#define MM_REPO_PACK_VERSION3 2u /* "MMPK" version of format 3 packs */
#define MM_REPO_FILE_VERSION3 2u /* envelope version of format 3 files */
#define MM_REPO__PACK_HEAD3   (8u + MM_CRYPTO_SEALED_DK_SIZE)

/*
 * The data key of the pack @pack into @dk: from the cache, else from the pack's header
 * (read and opened with the reader key, then cached). *@legacy is set to 1 for a version
 * 1 pack (sealed with the keyset's object key; @dk untouched), else 0.
 * @return 0, MM_ENOTFOUND, MM_EIO, MM_ECORRUPT (header), MM_EAUTH, MM_EINVAL (host keyset)
 */
int mm_repo__pack_key(const mm_repo *r, const unsigned char pack[ID_SIZE],
                      unsigned char dk[MM_CRYPTO_DK_SIZE], int *legacy);
/* mm_repo__pack_key() of the pack the object index places object @id in. MM_ENOTFOUND. */
int mm_repo__object_key(const mm_repo *r, const unsigned char id[ID_SIZE],
                        unsigned char dk[MM_CRYPTO_DK_SIZE], int *legacy);
void mm_repo__dkcache_release(struct mm_repo__dkcache *c);

/* Format 3 envelope (version 2) of @magic around @plain, appended to @out. */
int mm_repo__envelope3_seal(mm_repo *r, const char magic[4], const void *plain, size_t n,
                            mm_buf *out);
/* Open a version 2 envelope (already checked: magic, version). */
int mm_repo__envelope3_open(mm_repo *r, const void *p, size_t n, mm_buf *out);

/*
 * Format 3 manifests: append to @body its signer (the keyset's writer certificate, or none
 * for the master key), the trailer and the signature. @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo__manifest3_sign(mm_repo *r, mm_buf *body);
/*
 * Check a format 3 manifest plaintext: signature by the master key or by a writer whose
 * certificate the master key signed for this repository. OUT: *@bodylen, *@wc (when a
 * writer signed, @writer set to 1). @return 0, MM_ECORRUPT
 */
int mm_repo__manifest3_check(mm_repo *r, const unsigned char *p, size_t n, size_t *bodylen,
                             struct mm_wcert *wc, int *writer);

/* A table slot's hash of an object ID (IDs are uniform hashes already: their first 8 bytes). */
static inline uint64_t mm_repo__id_hash(const unsigned char id[ID_SIZE])
{
    uint64_t h;

    memcpy(&h, id, sizeof(h));
    return h;
}

/* ---- restore targets (repo_restore_target.c) ---- */
/* @to without trailing slashes into @out. @return 0, MM_EINVAL ('.', '..', '/'), MM_ELIMIT */
int mm_repo__target_clean(const char *to, char *out, size_t cap);
/* Create the empty sibling "<to>.mamori-restore-<pid>" (and @to's parents), or with @inside
 * the folder "<to>/.mamori-restore-<pid>", into @out. @return 0, MM_EIO */
int mm_repo__target_temp(const char *to, int inside, char *out, size_t cap);
/* Whether a sibling of @to can be made (its parent is writable, or missing). */
int mm_repo__target_parent_writable(const char *to);
/* Move every entry of the whole restore @tmp (inside @to) up into @to, remove @tmp. */
int mm_repo__target_move_up(const char *tmp, const char *to);
/* Remove the folder @path and all below it, never following a link. @return 0, MM_EIO */
int mm_repo__tree_remove(const char *path);
/*
 * Rename the whole restore @tmp to @to. @keep_aside: a @to that holds something is first
 * moved to "<to>.before-restore-<time>" (its path into @aside); without it @to must be
 * missing or empty. @return 0, MM_EIO (then @to is as before), MM_EEXISTS
 */
int mm_repo__target_swap(const char *tmp, const char *to, int keep_aside, char *aside, size_t cap);

/* ---- a full or read-only medium (repo_space.c) ---- */
/* Whether the medium of @r can take a small file: 0 yes, MM_REPO_LOCK_SKIPPED_FULL (no space;
 * bytes free into *@avail), MM_REPO_LOCK_SKIPPED_READONLY. */
int mm_repo__medium_state(const mm_repo *r, uint64_t *avail);
/* Remove the reserve file (room for prune on a full medium). @return 1 removed, 0 none */
int mm_repo__reserve_release(mm_repo *r);
/* Write the reserve file if it is missing and the medium has room for it to spare. Best
 * effort: nothing is reported. */
void mm_repo__reserve_make(mm_repo *r);

/* ---- key rotation (repo_rotate.c) --------------------------------------------------------- */

/*
 * A backup that copies the generation @from (mm_repo_backup_opts.copy_of): give the manifest
 * @g its times, host, user, guard verdict and source paths (borrowed from @from).
 */
void mm_repo__rotate_stamp(struct mm_repo_gen *g, const struct mm_repo_gen *from);

/* ---- the repository head (repo_head_io.c, repo_head_write.c) ------------------------------- */

/* The 16 bytes of the repository ID @hex (32 hex digits). @return 0 or -1 */
int mm_repo__head_id_bytes(const char *hex, unsigned char out[MM_REPO_ID_BYTES]);
/* mm_repo_head_load() of the repository on @be, with the bytes of the copy chosen in @raw
 * (may be NULL). */
int mm_repo__head_load_raw(struct mm_repo_be *be, const unsigned char pk[MM_CRYPTO_PK_SIZE],
                           struct mm_repo_head *out, struct mm_repo_head_copies *copies,
                           mm_buf *raw);
/* The medium's head (@raw: its bytes, may be NULL) and the host's copy of @r; each flag says
 * whether it was read. @return 0, MM_EIO, MM_ELIMIT, MM_ENOMEM */
int mm_repo__head_load_both(mm_repo *r, const char *host_dir, struct mm_repo_head *cur,
                            int *has_cur, struct mm_repo_head *host, int *has_host,
                            struct mm_repo_head_copies *c, mm_buf *raw);
/* Compare the medium's head @cur and the host copy @host (NULL: none) with the medium now. */
int mm_repo__head_judge(mm_repo *r, const struct mm_repo_head *cur, const struct mm_repo_head *host,
                        struct mm_repo_head_report *rep);
/* The audit log's state in the repository on @be into @h (flag, length, its head's seq and
 * H). */
void mm_repo__head_audit_state(struct mm_repo_be *be, struct mm_repo_head *h);
/* The IDs of the manifests on the medium, ascending (free()). @return 0, MM_EIO, MM_ENOMEM */
int mm_repo__head_present(mm_repo *r, unsigned char (**out)[32], size_t *n);
/* Replace the host's file <@dir>/<@id><@ext> with @n bytes (0600 in a 0700 folder). */
/* The name of @r's files in the host's audit folder (<key>.rhead, <key>.rhead-alert): its
 * repository ID for a folder (a medium); for any other backend "<ID>-<scheme>-<12 hex of its
 * location>", so that a vault holding a copy of a medium's repository (same ID, its own head
 * and audit log) is never taken for a rollback of the medium, nor the medium for the vault's. */
#define MM_REPO_HOST_KEY_MAX 64
const char *mm_repo__host_key(const mm_repo *r, char out[MM_REPO_HOST_KEY_MAX]);

int mm_repo__head_host_put(const char *dir, const char *id, const char *ext, const void *p,
                           size_t n);

#endif
