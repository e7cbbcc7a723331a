/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The repository: a folder (one per medium) holding many generations of the hospital's
 * storages, content-addressed, deduplicated, zstd-compressed and encrypted. Files are packed
 * many to a pack; large files are cut by content-defined chunking; every folder is a tree
 * object; a generation is a signed manifest naming the root tree. Every file of the
 * repository is immutable and written crash-safely (temporary name, fsync, rename, folder
 * fsync), in the order packs -> pack indexes -> manifest, so an interrupted run never harms
 * an earlier generation. The byte layouts are in docs/format.md (version MM_REPO_VERSION).
 * An mm_repo is used by one thread at a time; backup, restore and verify start their own
 * worker threads. Messages never hold patient data: paths go through mm_log_path().
 */
#ifndef MM_REPO_REPO_H
#define MM_REPO_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "chunk/chunk.h"
#include "common/limits.h"
#include "crypto/crypto.h"

/*
 * Format versions of the repository layout (the "mamori-repo" marker file): the one
 * mm_repo_init writes when its caller names none (MM_REPO_VERSION), the one a new medium gets
 * from `mamori init` unless told `--format 2` (MM_REPO_VERSION_NEW: format 3, write-only
 * hosts: data keys sealed to the reader key, docs/format.md; any medium can then be given a
 * host credential and staged without a passphrase on the host), and the newest this mamori
 * reads and writes.
 */
#define MM_REPO_VERSION     2
#define MM_REPO_VERSION_NEW 3
#define MM_REPO_VERSION_MAX 3
/* A generation ID: 64 hex digits; users may type a unique prefix of at least this many. */
#define MM_REPO_GEN_PREFIX_MIN 4u
/* Default target size of a pack file and zstd level. */
#define MM_REPO_PACK_TARGET (16u * 1024u * 1024u)
#define MM_REPO_ZSTD_LEVEL  3

typedef struct mm_repo mm_repo;

/* ---- creating and opening ------------------------------------------------------------------ */

struct mm_repo_init_opts {
    const struct mm_kdf_params *kdf;     /* NULL: the defaults of the crypto module */
    const struct mm_chunk_params *chunk; /* NULL: MM_CHUNK_* */
    int zstd_level;                      /* 0: MM_REPO_ZSTD_LEVEL */
    size_t pack_target;                  /* 0: MM_REPO_PACK_TARGET */
    unsigned format;                     /* 0: MM_REPO_VERSION; else 2 or 3 */
};

/*
 * Create a repository at @path (a missing or empty folder) with a fresh master key and a
 * first key slot for @user protected by @pass.
 * @param o NULL for the defaults
 * @return 0, MM_EEXISTS (@path holds a repository or other files), MM_EINVAL (bad user name
 *         or options), MM_EIO, MM_ENOMEM
 */
int mm_repo_init(const char *path, const char *user, const char *pass, size_t passlen,
                 const struct mm_repo_init_opts *o);

/*
 * Open the repository at @path by unlocking a key slot with @pass: the slot of @user, or
 * when @user is NULL every slot in turn until one opens.
 * @param[out] out the repository, owned by the caller (mm_repo_free); untouched on failure
 * @return 0, MM_ENOTFOUND (no repository at @path, or no slot named @user), MM_EAUTH (wrong
 *         passphrase), MM_ECORRUPT (damaged marker, config or key slots; unknown version),
 *         MM_EIO, MM_ENOMEM
 */
int mm_repo_open(mm_repo **out, const char *path, const char *user, const char *pass,
                 size_t passlen);

/* Release the lock if held, wipe the keys and free @r. Accepts NULL. */
void mm_repo_free(mm_repo *r);

/* The user name of the key slot that opened @r (borrowed). */
const char *mm_repo_user(const mm_repo *r);

/* The repository ID: 32 hex digits (borrowed). */
const char *mm_repo_id(const mm_repo *r);

/*
 * The keyset unlocked by mm_repo_open() (borrowed for the lifetime of @r), for modules that
 * sign or seal with the repository's keys without reaching into it (the audit log).
 */
const mm_keyset *mm_repo_keyset(const mm_repo *r);

struct mm_repo_be; /* repo_backend.h */

/*
 * Where the files of @r live (borrowed for the lifetime of @r), for modules that keep their
 * own files in the repository (the audit log) through repo_backend.h.
 */
struct mm_repo_be *mm_repo_backend(mm_repo *r);

/*
 * mm_repo_init() and mm_repo_open() on the backend @be (taken over, also on failure; NULL:
 * the backend of @path), @path naming the repository in messages. Tests use them with an
 * in-memory backend (tests/unit/test_repo_backend.c).
 * @return as mm_repo_init() and mm_repo_open()
 */
int mm_repo_init_be(const char *path, struct mm_repo_be *be, const char *user, const char *pass,
                    size_t passlen, const struct mm_repo_init_opts *o);
int mm_repo_open_be(mm_repo **out, const char *path, struct mm_repo_be *be, const char *user,
                    const char *pass, size_t passlen);

/* ---- key slots ----------------------------------------------------------------------------- */

struct mm_repo_key {
    char name[MM_KEYSLOT_NAME_MAX + 1]; /* user name */
    char file[40];                      /* file name under keys/ */
    uint32_t opslimit;                  /* Argon2id cost of the slot */
    uint64_t memlimit;
};

/*
 * List the key slots of the repository at @path (no passphrase needed: names and costs are
 * in the clear, see docs/format-crypto.md). Sorted by name.
 * @param[out] out array of @n slots, owned by the caller (free()); untouched on failure
 * @return 0, MM_ENOTFOUND (no repository), MM_ECORRUPT (a damaged slot file), MM_EIO, MM_ENOMEM
 */
int mm_repo_key_list(const char *path, struct mm_repo_key **out, size_t *n);

/*
 * Add a key slot for @user protected by @pass, wrapping the master key of the open @r.
 * @return 0, MM_EEXISTS (@user has a slot already), MM_EINVAL (bad name or cost), MM_EIO
 */
int mm_repo_key_add(mm_repo *r, const char *user, const char *pass, size_t passlen,
                    const struct mm_kdf_params *kdf);

/*
 * Remove the key slot of @user. The last slot is never removed.
 * @return 0, MM_ENOTFOUND (no such slot), MM_EINVAL (it is the last slot), MM_EIO
 */
int mm_repo_key_remove(mm_repo *r, const char *user);

/* ---- locks --------------------------------------------------------------------------------- */

enum mm_repo_lock_kind { MM_REPO_LOCK_SHARED = 1, MM_REPO_LOCK_EXCLUSIVE = 2 };

/*
 * Take the repository lock: shared for readers (restore, verify), exclusive for writers
 * (backup, prune, key changes). A lock of a process that no longer runs on this host is
 * stale: it is removed (counted in *@stale) and does not block. Released by
 * mm_repo_unlock() or mm_repo_free().
 * @param[out] stale number of stale locks removed (may be NULL)
 * @return 0, MM_ELOCKED (another live process holds a conflicting lock; the message names
 *         its host, process ID and start time), MM_EIO
 */
int mm_repo_lock(mm_repo *r, enum mm_repo_lock_kind kind, unsigned int *stale);

/* Why a reader's lock file was not written (mm_repo_lock_skipped()). */
enum mm_repo_lock_skip { MM_REPO_LOCK_SKIPPED_FULL = 1, MM_REPO_LOCK_SKIPPED_READONLY = 2 };

/*
 * 0 when the shared lock of @r is held by a lock file, or MM_REPO_LOCK_SKIPPED_FULL /
 * _READONLY when the medium could not take one and the reader goes on without (after
 * checking that no live writer holds an exclusive lock), for the caller to say so.
 * @param[out] avail bytes free on the medium then (may be NULL)
 */
int mm_repo_lock_skipped(const mm_repo *r, uint64_t *avail);

/*
 * mm_repo_lock(), naming in the lock file the operation @op ("backup", "prune"; NULL: none)
 * that holds it. A stale exclusive lock (its process was killed) is not only removed: it is
 * kept as a marker of the interruption in locks/interrupted/, until the next writer has
 * recorded it (mm_repo_interrupted, mm_repo_interrupted_clear).
 */
int mm_repo_lock_for(mm_repo *r, enum mm_repo_lock_kind kind, const char *op, unsigned int *stale);

/* An operation that held the exclusive lock and was killed (its lock was found stale). */
struct mm_repo_interrupted {
    char name[65];  /* its marker: locks/interrupted/<name> */
    char op[16];    /* the operation ("backup", "prune", ...), "" when the lock named none */
    char host[256]; /* where it ran */
    char user[65];  /* the key slot that ran it, "" unknown */
    long pid;       /* its process ID there */
    int64_t start;  /* when it took the lock: seconds since 1970 */
};

/*
 * The interruptions found so far and not yet cleared, oldest first.
 * @param[out] out array of @n, owned by the caller (free with mm_free; NULL when none)
 * @return 0, MM_EIO, MM_ENOMEM
 */
int mm_repo_interrupted(mm_repo *r, struct mm_repo_interrupted **out, size_t *n);

/* Remove the marker @name (recorded). @return 0, MM_EIO */
int mm_repo_interrupted_clear(mm_repo *r, const char *name);

/* Release the lock taken by mm_repo_lock(), if any, and close the pack descriptors the local
 * backend keeps open (repo_local.c): nothing of the repository stays open on its medium, which
 * the daily cycle detaches next. Later reads open them again. */
void mm_repo_unlock(mm_repo *r);

/* ---- generations --------------------------------------------------------------------------- */

enum mm_repo_source_kind {
    MM_REPO_SOURCE_FOLDER = 0,     /* any folder (department exports) */
    MM_REPO_SOURCE_SSMIX2_STD = 1, /* SS-MIX2 standardized storage */
    MM_REPO_SOURCE_SSMIX2_EXT = 2  /* SS-MIX2 extended storage */
};

struct mm_repo_source {
    const char *path;              /* the folder backed up */
    enum mm_repo_source_kind kind; /* recorded in the manifest; patient filters use it */
};

struct mm_repo_gen_source {
    char *path; /* absolute path of the source when it was backed up */
    char *name; /* its entry in the root tree (the folder's base name) */
    enum mm_repo_source_kind kind;
};

enum mm_repo_verify_state {
    MM_REPO_UNVERIFIED = 0, /* never read-verified */
    MM_REPO_VERIFIED = 1,   /* the last read-verify found it whole */
    MM_REPO_DAMAGED = 2     /* the last verify found damage */
};

struct mm_repo_counts {
    uint64_t files, dirs, symlinks, skipped; /* skipped: sockets, devices, unreadable */
    uint64_t bytes;                          /* total size of the files */
    uint64_t files_read;                     /* files read (new or changed) */
    uint64_t files_unchanged;                /* recognised by metadata, not read */
    uint64_t objects_new;                    /* objects stored by this generation */
    uint64_t bytes_new;                      /* plaintext bytes of those objects */
    uint64_t bytes_stored;                   /* their size in packs (compressed, sealed) */
};

/*
 * Files that changed while a backup read them (manifest tag 18). Each file is checked with
 * fstat before and after its read (size, mtime, ctime, inode); one that changed is read again,
 * at most MM_REPO_READ_TRIES times in all. One that settled is stored whole (counted in
 * reread); one still changing at the last read is stored as that read found it, marked
 * unstable (its tree entry has ctime 0, so the next backup reads it again) and listed here.
 */
#define MM_REPO_READ_TRIES      3
#define MM_REPO_UNSTABLE_LISTED 64 /* unstable files named in the manifest; the rest counted */
struct mm_repo_unstable {
    uint64_t reread;   /* changed during a read, then read unchanged: stored whole */
    uint64_t unstable; /* still changing at the last read: stored as last read, marked */
    char **paths;      /* the first MM_REPO_UNSTABLE_LISTED unstable files: their paths in the
                        * generation (entry names joined by '/'), owned */
    size_t npaths;
};

/* Why a generation needs attention although it was written (manifest tag 14). */
enum mm_repo_attention {
    /* SS-MIX2 storages were found in the sources, or the parent generation of the same
     * sources had a patient index, but no patient index is stored */
    MM_REPO_ATTN_NO_INDEX = 1 << 0,
    /* the patient index holds fewer than MM_REPO_PATIENTS_MIN_PERCENT % of the parent's */
    MM_REPO_ATTN_FEW_PATIENTS = 1 << 1,
    /* SS-MIX2 storages were found that the patient index does not cover (deeper than the
     * search reports, or an extended storage with no standardized storage beside it) */
    MM_REPO_ATTN_NOT_INDEXED = 1 << 2
};
#define MM_REPO_PATIENTS_MIN_PERCENT 90u

/* The patient-index check of a backup, stored in its manifest. */
struct mm_repo_index_check {
    int present;              /* the manifest holds one (older manifests do not) */
    uint32_t attention;       /* enum mm_repo_attention; bits of newer writers are kept */
    uint64_t patients;        /* patients in the stored index (0 without one) */
    uint64_t parent_patients; /* patients in the parent's index; 0 when not known */
};

/*
 * The attention bits of a backup: @ssmix2 storages were found (@not_indexed of them not
 * covered by the index), the parent generation shares a source with it and had an index
 * (@parent_index) of @parent_patients (0 unknown), this one has one (@index) of @patients.
 * Pure: no I/O. @return enum mm_repo_attention bits, 0 when all is well
 */
uint32_t mm_repo_attention_judge(size_t ssmix2, size_t not_indexed, int parent_index,
                                 uint64_t parent_patients, int index, uint64_t patients);

/* An SS-MIX2 storage inside a generation (manifest tag 15), e.g. found below a source. */
struct mm_repo_gen_storage {
    char *path; /* '/'-separated entry names from the root tree: "ssmix2/standard" */
    enum mm_repo_source_kind kind; /* MM_REPO_SOURCE_SSMIX2_STD or _EXT */
    int indexed;                   /* covered by the generation's patient index */
};

/* ---- the viewer's files on the medium (manifest tag 17, repo_viewer.c) --------------------- */

#define MM_REPO_SHA256_SIZE     32u
#define MM_REPO_VIEWER_FILES    128u                   /* files of one list at most */
#define MM_REPO_VIEWER_FILE_MAX (256u * 1024u * 1024u) /* bytes of one of them at most */

/* A file of the viewer on the medium: what a backup wrote there or found current. */
struct mm_repo_viewer_file {
    char *path; /* relative to the repository, '/'-separated: "bin/mamori" */
    uint64_t size;
    unsigned char sha256[MM_REPO_SHA256_SIZE]; /* SHA-256: what sha256sum and certutil print */
};

enum mm_repo_viewer_flags {
    MM_REPO_VIEWER_NO_BIN = 1 << 0, /* that backup left bin/ alone: bin/ is not listed */
};

/* The viewer's files a generation's backup left on the medium. */
struct mm_repo_viewer {
    unsigned int flags; /* enum mm_repo_viewer_flags */
    struct mm_repo_viewer_file *files;
    size_t n;
};

/* Free @v and what it holds. Accepts NULL. */
void mm_repo_viewer_free(struct mm_repo_viewer *v);

/*
 * Append @path (copied) with @size and @sha256 to @v.
 * @return 0, MM_EINVAL (not a relative path of UTF-8 names), MM_ELIMIT (too many), MM_ENOMEM
 */
int mm_repo_viewer_add(struct mm_repo_viewer *v, const char *path, uint64_t size,
                       const unsigned char sha256[MM_REPO_SHA256_SIZE]);

/*
 * The size and SHA-256 of the file at @path (at most MM_REPO_VIEWER_FILE_MAX bytes).
 * @return 0, MM_ENOTFOUND (no such file), MM_ELIMIT, MM_EIO, MM_ENOMEM
 */
int mm_repo_viewer_hash_file(const char *path, uint64_t *size,
                             unsigned char sha256[MM_REPO_SHA256_SIZE]);

enum mm_repo_viewer_state {
    MM_REPO_VIEWER_OK = 0,    /* the file on the medium is the one listed */
    MM_REPO_VIEWER_CHANGED,   /* it differs (size or SHA-256): changed since the backup */
    MM_REPO_VIEWER_MISSING,   /* it is not there */
    MM_REPO_VIEWER_UNREADABLE /* it cannot be read */
};

/* One file checked: what the list says (@want), and what the medium holds (@size, @sha256:
 * meaningful when @state is OK or CHANGED). */
typedef void (*mm_repo_viewer_fn)(const struct mm_repo_viewer_file *want,
                                  enum mm_repo_viewer_state state, uint64_t size,
                                  const unsigned char sha256[MM_REPO_SHA256_SIZE], void *ctx);

/*
 * Check the viewer's files on the medium of @r against the list @v (a generation's): each is
 * hashed and compared, and reported through @fn in the list's order.
 * @param[out] bad files not OK (may be NULL)
 * @return 0 when the check ran, MM_ENOMEM
 */
int mm_repo_viewer_check(mm_repo *r, const struct mm_repo_viewer *v, mm_repo_viewer_fn fn,
                         void *ctx, size_t *bad);

struct mm_repo_gen {
    char id[MM_CRYPTO_HEX_SIZE];
    char parent[MM_CRYPTO_HEX_SIZE]; /* "" for the first */
    char *name;                      /* --name, or NULL */
    char *host, *user;               /* where and with which key slot it was written */
    int64_t start_ns, end_ns;        /* UTC, nanoseconds since the epoch */
    struct mm_repo_gen_source *sources;
    size_t nsources;
    struct mm_repo_counts counts;
    unsigned char root[MM_CRYPTO_ID_SIZE];
    int has_index;       /* an SS-MIX2 patient index is stored */
    uint64_t index_size; /* its size in bytes */
    int index_twins;     /* each block of it is stored twice (manifest tag 16) */
    char *guard;         /* guard verdict: "none" (not judged), "clean", "suspect" */
    char *guard_reasons; /* NULL or text */
    int guard_accepted;  /* a suspect generation a person accepted (signed record, below) */
    struct mm_repo_index_check check;     /* check.present is 0 for older manifests */
    struct mm_repo_gen_storage *storages; /* none in older manifests: see the sources' kinds */
    size_t nstorages;
    struct mm_repo_viewer *viewer;    /* the viewer's files on the medium (NULL: not recorded) */
    struct mm_repo_unstable unstable; /* files that changed while read (zero in older ones) */
    enum mm_repo_verify_state verify;
    int64_t verify_ns; /* time of the last verify, 0 if none */
};

/* Release what @g holds (not @g itself). */
void mm_repo_gen_release(struct mm_repo_gen *g);
/* Release the paths of @u and zero it. Accepts NULL. */
void mm_repo_unstable_release(struct mm_repo_unstable *u);
/* Release an array from mm_repo_generations(). Accepts NULL. */
void mm_repo_gens_free(struct mm_repo_gen *g, size_t n);

/*
 * Read every generation manifest, check its seal and signature, sorted oldest first, with
 * verify records and guard acceptance (guard_accepted; a record that does not verify counts
 * as none here, verify reports it) applied.
 * A manifest that does not open is an error (verify reports it as damage instead).
 * @param[out] out array of @n generations, owned by the caller (mm_repo_gens_free)
 * @return 0, MM_ECORRUPT (a manifest is damaged; the message names it), MM_EIO, MM_ENOMEM
 */
int mm_repo_generations(mm_repo *r, struct mm_repo_gen **out, size_t *n);

/* One visit of mm_repo_trees_walk(): a tree object at a path of a generation. Borrowed for
 * the call only. */
struct mm_repo_tree_visit {
    size_t gen;                 /* index of the generation in mm_repo_generations() order */
    const char *path;           /* "" for the root, else "/<name>/<name>..." (NUL-terminated) */
    size_t pathlen;             /* bytes of @path (names may hold any byte but '/' and NUL) */
    const unsigned char *id;    /* the tree's MM_CRYPTO_ID_SIZE-byte ID */
    const unsigned char *plain; /* its plaintext (the encoded tree, docs/format.md) */
    size_t n;                   /* bytes of @plain */
    uint32_t stored;            /* bytes its sealed object takes in its pack */
    size_t entries;             /* entries of the folder */
};

/* Called for each visit; a nonzero return stops the walk and is returned by it. */
typedef int (*mm_repo_tree_fn)(const struct mm_repo_tree_visit *v, void *ctx);

/*
 * Walk the trees of every generation (oldest first, as mm_repo_generations() sorts them),
 * each from its root, depth first, a folder's subfolders in entry order: @fn sees every
 * folder of every generation, so a tree shared by generations (or paths) is visited once
 * per place it is reached, read again each time. Loads the whole object index. For tools
 * that study the repository's trees (bench/bench_trees.c).
 * @return 0, what @fn returned (nonzero), MM_ELIMIT (a path over 8191 bytes), MM_ENOTFOUND
 *         (a tree the index does not know), MM_ECORRUPT, MM_EAUTH, MM_EIO, MM_ENOMEM
 */
int mm_repo_trees_walk(mm_repo *r, mm_repo_tree_fn fn, void *ctx);

/* What the object index of a repository holds (mm_repo_object_totals). */
struct mm_repo_object_totals {
    size_t objects;      /* objects the index knows */
    uint64_t tree_bytes; /* sealed bytes of its tree objects in their packs */
    uint64_t blob_bytes; /* sealed bytes of every other object */
    int zstd_level;      /* the repository's compression level */
};

/*
 * Load the whole object index of @r and sum it up.
 * @param[out] out the totals
 * @return 0, MM_EIO, MM_ENOMEM
 */
int mm_repo_object_totals(mm_repo *r, struct mm_repo_object_totals *out);

/*
 * Find one generation: "latest", "good" (the newest good one, mm_repo_gen_good), a full ID,
 * or a unique prefix of at least MM_REPO_GEN_PREFIX_MIN hex digits.
 * @param[out] out filled on success (mm_repo_gen_release)
 * @return 0, MM_ENOTFOUND (no such generation, or no generation at all), MM_EINVAL (prefix
 *         ambiguous or too short), MM_ECORRUPT, MM_EIO
 */
int mm_repo_gen_find(mm_repo *r, const char *spec, struct mm_repo_gen *out);

/* ---- progress ------------------------------------------------------------------------------ */

struct mm_repo_progress {
    uint64_t files_done, files_total; /* total 0: not known yet */
    uint64_t bytes_done, bytes_total;
};
/* Called now and then (at most a few times a second, from the calling thread). */
typedef void (*mm_repo_progress_fn)(const struct mm_repo_progress *p, void *ctx);

/* A problem found on the way (unreadable file, damaged object): @path is already redacted. */
typedef void (*mm_repo_problem_fn)(const char *gen, const char *path, const char *what, void *ctx);

/* ---- backup -------------------------------------------------------------------------------- */

/*
 * Called once the new generation's folders are stored and before its manifest is written,
 * with the root tree of the parent generation (NULL for the first) and of the new one, so
 * the caller can bring its patient index up to date (mm_repo_changed_patients). It sets
 * *@index_file to the index file to store with the generation, or NULL for none, or sets
 * *@reuse to 1 to store the parent's index unchanged.
 * @return 0, or an error that stops the backup (no manifest is written)
 */
typedef int (*mm_repo_index_fn)(mm_repo *r, const unsigned char *old_root,
                                const unsigned char *new_root, const char **index_file, int *reuse,
                                void *ctx);

/*
 * What a backup's walk saw change against the parent generation, for an observer (the guard,
 * guard/guard.h). Reported from the worker threads, concurrently; every pointer is borrowed
 * for the call only. Unchanged files are not reported one by one: each compared folder is one
 * MM_REPO_DELTA_FOLDER with its counts. Paths are relative to the source, '/'-separated,
 * and hold patient IDs: an observer never prints them.
 */
enum mm_repo_delta_kind {
    MM_REPO_DELTA_FOLDER = 1, /* a folder compared: count = files in it now, before = files
                                  its parent-generation folder had, unchanged = kept unread */
    MM_REPO_DELTA_ADDED,      /* a file whose name the parent's folder did not have (and not
                                  found there by inode) */
    MM_REPO_DELTA_MODIFIED,   /* same name, same inode, other content: rewritten in place */
    MM_REPO_DELTA_REPLACED,   /* same name, another inode, other content: a new file under an
                                  old name (SS-MIX2 updates do this after renaming the old one) */
    MM_REPO_DELTA_TOUCHED,    /* read again (metadata changed), same content */
    MM_REPO_DELTA_RENAMED,    /* found by inode under another name in the same folder */
    MM_REPO_DELTA_DELETED,    /* in the parent's folder, gone: a file (count 1, its old
                                  content) or a whole folder (name = the folder, count = the
                                  files it held, counted from the parent's trees) */
};
#define MM_REPO_DELTA_HEAD 4096u /* first bytes of a file read, given to the observer */
struct mm_repo_delta {
    enum mm_repo_delta_kind kind;
    size_t source;                     /* index into the sources given to mm_repo_backup */
    const char *dir;                   /* the folder, relative to the source ("" its top) */
    const char *name;                  /* the entry (NULL for FOLDER) */
    const char *old_name;              /* RENAMED: the name it had */
    uint64_t size;                     /* the file's size now (DELETED: before) */
    uint64_t count, before, unchanged; /* as the kinds above say */
    int has_old, has_new;              /* whether old_content / new_content are set */
    /* the content (BLAKE2b-256 of the file's blob-ID list: equal lists, equal content) before
     * and now: an observer pairs an SS-MIX2 update's renamed old file with what it replaced */
    unsigned char old_content[MM_CRYPTO_ID_SIZE], new_content[MM_CRYPTO_ID_SIZE];
    const unsigned char *head; /* ADDED, MODIFIED, REPLACED, TOUCHED: the first bytes read */
    size_t headlen;            /* min(size, MM_REPO_DELTA_HEAD) */
};
typedef void (*mm_repo_delta_fn)(const struct mm_repo_delta *d, void *ctx);

/*
 * Called once the walk and the index hook are done and before the manifest is written, with
 * the new generation's counts: sets *@verdict ("none", "clean" or "suspect") and *@reasons
 * (NULL or text), both borrowed until mm_repo_backup returns, stored in the manifest.
 * @return 0, or an error that stops the backup (no manifest is written)
 */
typedef int (*mm_repo_judge_fn)(mm_repo *r, const struct mm_repo_counts *c, const char **verdict,
                                const char **reasons, void *ctx);
/* Bytes of reasons a manifest keeps: longer ones are cut after the last whole line. */
#define MM_REPO_GUARD_REASONS_MAX 4096u

struct mm_repo_backup_opts {
    const char *name;       /* NULL: none */
    const char *index_file; /* NULL, or an SS-MIX2 patient index file to store with it */
    mm_repo_index_fn index; /* NULL, or the hook above (it overrides index_file) */
    unsigned int threads;   /* workers; 0: twice the number of CPUs, at least 16 (I/O) */
    mm_repo_progress_fn progress;
    mm_repo_problem_fn problem; /* files that could not be read (skipped, counted) */
    /* NULL, or told of each file stored unstable (@path redacted, @gen NULL) */
    mm_repo_problem_fn unstable;
    /* tests only (NULL otherwise): called after each read of a file, before its metadata is
     * checked again, with its full path and the read's number (0, 1, ...), so that a test
     * can rewrite the file between the reads deterministically */
    void (*after_read)(const char *path, unsigned int attempt, void *ctx);
    /* NULL, or where the files re-read and stored unstable are reported (owned by the
     * caller after the call: mm_repo_unstable_release) */
    struct mm_repo_unstable *unstable_out;
    void *ctx;
    /* small files sampled to train the repository's compression dictionary when it has
     * none yet (0: 2,000; fewer small files in the backup: no dictionary this time) */
    unsigned int dict_samples;
    /* NULL, or the patient-index check to store in the manifest; read after the index hook
     * returned, so the hook (or its caller beforehand) may fill it */
    const struct mm_repo_index_check *check;
    /* the SS-MIX2 storages inside the generation, recorded in the manifest (NULL: none) */
    const struct mm_repo_gen_storage *storages;
    size_t nstorages;
    /* NULL, or the viewer's files on the medium, recorded in the manifest (borrowed) */
    const struct mm_repo_viewer *viewer;
    /* NULL, or the generation this one is a copy of (key rotation, repo_rotate.c): its name
     * is taken from @name as usual, its times, host, user, guard verdict and source paths
     * from here (borrowed; the sources must be given in its order) */
    const struct mm_repo_gen *copy_of;
    /* @r opened with a host credential (mm_repo_open_host): the folder of the host's
     * catalogs; its <repository ID>/ holds what the host knows of @r (parent generation,
     * trees, packs), used instead of reading the repository and updated after the manifest
     * is written (docs/format-crypto.md "Host catalog"). NULL: no catalog, everything is
     * stored and the generation has no parent. Ignored for a person's handle. */
    const char *catalog_dir;
    struct mm_repo_catalog_report *catalog_report; /* NULL, or what the catalog did */
    /* NULL, or for a pack the catalog names that is not in the repository's own data/ as
     * recorded: whether it is on the medium all the same (@hex, its @size; 1 yes). A backup
     * into the host's shadow of a write-only medium (docs/format.md "Staging") asks what the
     * medium held after its last window; the window checks those packs on the medium again
     * before it copies a manifest. */
    int (*catalog_pack_known)(const char *hex, uint64_t size, void *ctx);
    void *catalog_pack_ctx;
    /* NULL, or told of every change against the parent (above), with @ctx */
    mm_repo_delta_fn delta;
    /* NULL ("none" is stored), or the verdict to store (above), with @ctx */
    mm_repo_judge_fn judge;
    /* the parent generation's end time is reported here when not NULL (0: no parent) */
    int64_t *parent_end_ns;
};

/*
 * The generation the host catalog in <@catalog_dir>/<repository ID>/ last recorded for @r
 * (ID, root, counts, patient-index figures, and as end_ns the time the catalog was saved,
 * right after that generation's manifest; nothing else of @out is set): what a host uses
 * instead of reading the repository's manifests, which it cannot open.
 * @return 0, MM_ENOTFOUND (no catalog, or it names no generation), MM_ELIMIT
 */
int mm_repo_catalog_last(mm_repo *r, const char *catalog_dir, struct mm_repo_gen *out);

/*
 * Seed the host catalog in <@catalog_dir>/<repository ID>/ from the format 3 repository @r
 * opened with a person's passphrase (`host enroll --catalog`): its latest generation (ID,
 * root, counts, patient index), that generation's trees and every pack of the index, so the
 * host's first night stores only what is new. Replaces a catalog there.
 * @param[out] gen_out the generation recorded (may be NULL)
 * @return 0, MM_EINVAL (a host handle, format < 3), MM_ENOTFOUND (no generation yet),
 *         MM_ECORRUPT, MM_EAUTH, MM_EIO, MM_ELIMIT, MM_ENOMEM
 */
int mm_repo_catalog_seed(mm_repo *r, const char *catalog_dir, char gen_out[MM_CRYPTO_HEX_SIZE]);

/* What a host backup's catalog did (mm_repo_backup_opts.catalog_report). */
struct mm_repo_catalog_report {
    int used;               /* a catalog was opened */
    int lost;               /* none was found (or it was damaged): everything stored again */
    uint64_t dropped_packs; /* packs it named that are not on the medium as recorded */
    int saved;              /* updated after the generation (0: stale, the next run stores more) */
};

/*
 * Back up the folders @src as a new generation whose parent is the newest generation: files
 * whose size, mtime, ctime and inode match the parent are not read again, files renamed in
 * the same folder (SS-MIX2 flag changes) are recognised by inode, and content already in the
 * repository is not stored again. Symbolic links are stored as links, never followed.
 * Needs the exclusive lock (taken here if not held).
 * @param[out] id_out the new generation's ID (may be NULL)
 * @param[out] counts what was done (may be NULL)
 * @return 0, MM_EINVAL (no sources, two sources with the same base name), MM_ENOTFOUND (a
 *         source is missing), MM_ELOCKED, MM_EIO (writing the repository: nothing earlier is
 *         harmed), MM_ENOMEM
 */
int mm_repo_backup(mm_repo *r, const struct mm_repo_source *src, size_t nsrc,
                   const struct mm_repo_backup_opts *o, char id_out[MM_CRYPTO_HEX_SIZE],
                   struct mm_repo_counts *counts);

/*
 * The patients whose folders differ between two root trees below the source entry
 * @source (an SS-MIX2 storage: <source>/<pid[0:3]>/<pid[3:6]>/<pid>; @source may be a
 * '/'-separated path to a storage below a source, "ssmix2/standard"): folders whose tree ID
 * changed, appeared or disappeared. Equal tree IDs mean equal content, so this reads only
 * the trees of the first three levels that changed.
 * @param old_root NULL: every patient of @new_root
 * @param[out] out @n NUL-terminated patient IDs (mm_repo_strings_free)
 * @return 0, MM_ECORRUPT, MM_EIO, MM_ENOMEM
 */
int mm_repo_changed_patients(mm_repo *r, const unsigned char *old_root,
                             const unsigned char *new_root, const char *source, char ***out,
                             size_t *n);
void mm_repo_strings_free(char **v, size_t n);

/* ---- restore ------------------------------------------------------------------------------- */

/* What restoring does with a target folder that holds something already. */
enum mm_repo_restore_mode {
    MM_REPO_RESTORE_NEW = 0,   /* the target must be missing or empty (MM_EEXISTS otherwise) */
    MM_REPO_RESTORE_MERGE,     /* into the folder: same-named files replaced, others left */
    MM_REPO_RESTORE_OVERWRITE, /* the folder becomes the generation's tree; the old one is
                                * moved aside to "<to>.before-restore-<time>" (not deleted) */
};

/* What restoring does to one path: MM_REPO_CHANGE_ADD (not in the target yet), _REPLACE
 * (in both), _LEAVE (only in the target: left alone by a merge, moved aside by an
 * overwrite). @path is inside the generation, with patient IDs already hidden. */
enum mm_repo_change {
    MM_REPO_CHANGE_ADD = 'A',
    MM_REPO_CHANGE_REPLACE = 'R',
    MM_REPO_CHANGE_LEAVE = 'L'
};
typedef void (*mm_repo_change_fn)(enum mm_repo_change what, const char *path, void *ctx);

struct mm_repo_restore_opts {
    const char *path_prefix; /* NULL, or only this path ("source-name/sub/folder") and below */
    const char *patient;     /* NULL, or only this patient's folders of SS-MIX2 sources */
    unsigned int threads;    /* 0: as for backup */
    enum mm_repo_restore_mode mode;
    int dry_run; /* only count (and list through @change) what would change; write nothing */
    mm_repo_progress_fn progress;
    mm_repo_problem_fn problem; /* damaged files (not written) */
    mm_repo_change_fn change;   /* NULL, or each path a merge or overwrite adds, replaces or
                                 * leaves, before anything is written */
    void *ctx;
};

struct mm_repo_restore_stats {
    uint64_t files, dirs, symlinks, bytes;
    uint64_t damaged; /* files not restored because their data is damaged or missing */
    uint64_t unnamed; /* files and folders not restored because this system forbids their
                         names (Windows: CON, a:b, "x."; each reported through o->problem) */
    /* merge and overwrite (and dry runs): files and links added, replaced, left alone (or
     * moved aside); entries only in the target are counted where they are, not below */
    uint64_t added, replaced, left;
    char aside[MM_LIMIT_PATH]; /* overwrite: where the old folder was moved, or "" */
};

/*
 * 0 when @to is missing, 1 when it is an empty folder, 2 when it is a folder that holds
 * something (what a restore without --merge or --overwrite refuses).
 * @return 0|1|2, MM_EEXISTS (@to is not a folder), MM_EIO
 */
int mm_repo_restore_target(const char *to);

/*
 * Restore generation @gen into the folder @to. Every byte is checked against its object ID
 * before it is written; a file with damaged data is reported through o->problem and left
 * out, the rest is restored. Names are restored as raw bytes, and mtimes and modes of files
 * and folders. A new or overwriting restore is written into the sibling
 * "<to>.mamori-restore-<pid>" and renamed into place when done (damaged files reported and
 * left out, as partial data is better than none); when it fails that sibling is removed and
 * @to is left as it was. A merge writes each file beside its final name and renames it over
 * the old one, so a failure leaves every file either old or new, never cut short.
 * @return 0 (check stats->damaged), MM_ENOTFOUND (no such generation, or nothing matches
 *         the filters), MM_EEXISTS (a new restore into a folder that holds something, or a
 *         merge where a name is a folder on one side and not on the other), MM_ECORRUPT (the
 *         generation's trees are damaged), MM_EINVAL, MM_EIO
 */
int mm_repo_restore(mm_repo *r, const char *gen, const char *to,
                    const struct mm_repo_restore_opts *o, struct mm_repo_restore_stats *stats);

/*
 * The patient index of @gen read on demand: its blocks are located now, and each is read,
 * decrypted and checked against its ID when bytes it holds are first asked for; up to
 * @cache_bytes of them are kept decrypted (wiped when replaced and at mm_repo_pages_free).
 * mm_repo_pages_read() may be called from many threads at once; @r must stay open, and
 * other calls on @r may run meanwhile. OUT: *out
 * @return 0, MM_ENOTFOUND (no index, or a block is in no pack), MM_ECORRUPT, MM_EIO, MM_ENOMEM
 */
typedef struct mm_repo_pages mm_repo_pages;
int mm_repo_pages_open(mm_repo *r, const struct mm_repo_gen *gen, size_t cache_bytes,
                       mm_repo_pages **out);
/* The index's size in bytes. */
uint64_t mm_repo_pages_size(const mm_repo_pages *p);
/*
 * Read @n bytes at @off of the index @pages (an mm_repo_pages; void so that this serves as
 * an mm_index_read_fn for mm_index_open_pages) into @dst.
 * @return 0, MM_EINVAL (past the end), MM_ENOTFOUND (pack missing), MM_ECORRUPT, MM_EAUTH,
 *         MM_EIO, MM_ENOMEM
 */
int mm_repo_pages_read(void *pages, void *dst, size_t n, uint64_t off);
/* Wipe and free. Accepts NULL. */
void mm_repo_pages_free(mm_repo_pages *p);

/*
 * Read the whole patient index of @gen into the file open for writing at @fd (written from
 * offset 0 and cut to the index's size; not synced): every block decrypted and checked
 * against its ID, a damaged one read from its twin (repo_index_fetch.c). A host whose index
 * cache is lost takes its parent's index this way instead of rebuilding it from every file.
 * On failure the file holds part of the index: the caller removes it. OUT: *@size (may be
 * NULL), the index's bytes
 * @return 0, MM_ENOTFOUND (no index, or a block is in no pack), MM_ECORRUPT or MM_EAUTH (a
 *         block and its twin are damaged), MM_EIO, MM_ENOMEM, MM_EINVAL
 */
int mm_repo_read_index(mm_repo *r, const struct mm_repo_gen *gen, int fd, uint64_t *size);

/*
 * How the object index of @r was read so far: *@full, how often it was loaded whole;
 * *@partial, how often only some objects were looked up in it (mm_repo_pages_open and
 * mm_repo_read_file do that). For tests and diagnostics.
 */
void mm_repo_index_stats(const mm_repo *r, unsigned long *full, unsigned long *partial);

/*
 * Read one file of generation @gen into @out: @path is "source-name/sub/folder/file" as
 * restore names it (no leading '/', no "." or ".." parts). Every block is checked against
 * its ID as it is read. Only the trees of the path and the file's blocks are looked up in
 * the object index (unless it is loaded whole already), not the whole index.
 * @param limit refuse files larger than this many bytes
 * @return 0, MM_ENOTFOUND (no such file, or a part is not a folder), MM_EINVAL (not a
 *         relative path), MM_ELIMIT (over @limit), MM_ECORRUPT, MM_EIO, MM_ENOMEM; on
 *         failure @out keeps its previous content
 */
int mm_repo_read_file(mm_repo *r, const struct mm_repo_gen *gen, const char *path, size_t limit,
                      mm_buf *out);

/* ---- compare a restored folder (repo_compare.c) ------------------------------------------- */

struct mm_repo_compare_opts {
    mm_repo_progress_fn progress; /* NULL, or now and then (totals: the generation's counts) */
    mm_repo_problem_fn problem;   /* NULL, or each difference: a redacted path and what */
    void *ctx;
};

struct mm_repo_compare_stats {
    uint64_t files, dirs, symlinks; /* of the generation, compared */
    uint64_t bytes;                 /* read back from disk and hashed */
    uint64_t missing;               /* in the generation, not in the folder */
    uint64_t extra;                 /* in the folder, not in the generation */
    uint64_t differ;                /* in both: another kind, size, content or link target */
    uint64_t unreadable; /* folders whose tree does not read from the repository (damaged or
                            missing): nothing below them is compared */
};

/*
 * Check the folder @dir, a restore of generation @gen, against the generation's trees a
 * second, independent time: every name of every folder on both sides, and every file read
 * back from disk, cut by the repository's chunker and each chunk's object ID (keyed BLAKE2b)
 * compared with the blob IDs of the tree; link targets too. Modes and times are not compared.
 * Each difference is reported through o->problem (paths redacted) and counted in @stats.
 * @param o NULL: no progress, no problems reported
 * A folder whose tree does not read (damaged or missing in the repository) is reported and
 * counted in stats->unreadable, and what is below it is not compared.
 * @return 0 when the comparison ran (a difference is not an error: see @stats),
 *         MM_ENOTFOUND (no such generation), MM_EINVAL (ambiguous prefix), MM_ELIMIT, MM_EIO
 *         (@dir unreadable), MM_ENOMEM
 */
int mm_repo_compare(mm_repo *r, const char *gen, const char *dir,
                    const struct mm_repo_compare_opts *o, struct mm_repo_compare_stats *stats);

/* ---- verify -------------------------------------------------------------------------------- */

struct mm_repo_verify_opts {
    int read_data; /* decrypt and check every object of every pack */
    mm_repo_progress_fn progress;
    mm_repo_problem_fn problem; /* every damage found: generation, path, what */
    void *ctx;
};

struct mm_repo_verify_stats {
    uint64_t generations, trees, packs, objects, bytes;
    uint64_t damaged_generations, damaged_packs, damaged_objects, missing_objects, damaged_files;
    uint64_t damaged_copies; /* copies of the marker, config, key slots, label: damaged/missing */
    uint64_t old_copies;     /* second copies a repository made before them lacks (information) */
    int recorded; /* read_data: the result was recorded on the medium (not when it is full or
                     write-protected; the result stands all the same) */
};

/*
 * Check the repository: every manifest opens and is signed, every tree is readable, every
 * object a generation needs is in the index and its pack is present with the right size;
 * with read_data, every pack is read, hashed and every object decrypted and checked. Damage
 * is reported through o->problem naming the generations and files affected, and recorded
 * (with read_data) as each generation's verification state.
 * @return 0 when the check ran (damage is in @stats), MM_EIO, MM_ENOMEM
 */
int mm_repo_verify(mm_repo *r, const struct mm_repo_verify_opts *o,
                   struct mm_repo_verify_stats *stats);

/* ---- prune --------------------------------------------------------------------------------- */

struct mm_repo_keep {
    unsigned int last, daily, weekly, monthly;
};

struct mm_repo_prune_stats {
    uint64_t gens_kept, gens_removed, packs_removed, packs_rewritten, bytes_freed;
    /* an immutable store (S3 Object Lock): generations the policy would remove that the store
     * still retains (kept, with all they use), and files it refused to remove (a later prune
     * removes them once their retention has ended) */
    uint64_t gens_retained, files_retained;
};

/*
 * Called for each generation with its fate (1 kept, 0 removed) before anything is removed.
 * The prune's @ctx is passed to it and to the progress function.
 */
typedef void (*mm_repo_prune_fn)(const struct mm_repo_gen *g, int keep, const char *why, void *ctx);

/*
 * Remove the generations the policy @k does not keep and the data only they used, crash
 * safely (new packs and index first, then manifests, then old indexes and packs). Never
 * removes the newest generation, nor the newest good one (mm_repo_gen_good) that verified
 * clean, nor any generation while a suspect one stands (mm_repo_gen_standing: @fn is told
 * "before a suspect generation (guard)" or "suspect generation standing (guard)"). Packs
 * that no index names (left by an interrupted backup) are removed too.
 * @param dry_run only report what would be removed
 * @return 0, MM_EINVAL (@k keeps nothing), MM_ELOCKED, MM_ECORRUPT, MM_EIO
 */
int mm_repo_prune(mm_repo *r, const struct mm_repo_keep *k, int dry_run, mm_repo_prune_fn fn,
                  void *ctx, mm_repo_progress_fn progress, struct mm_repo_prune_stats *stats);

/* ---- the medium's label (repo_media.c) ----------------------------------------------------- */

/* Bytes of a medium label or hospital ID at most. */
#define MM_REPO_MEDIUM_NAME_MAX 32u

/* A medium's identity (<repo>/medium, docs/format.md "Medium label"). */
struct mm_repo_medium {
    char label[MM_REPO_MEDIUM_NAME_MAX + 1];    /* "MON" */
    char hospital[MM_REPO_MEDIUM_NAME_MAX + 1]; /* "" when none was given */
    char by[MM_KEYSLOT_NAME_MAX + 1];           /* the key slot that wrote it */
    int64_t written;                            /* seconds since 1970 UTC */
    int verified;                               /* the signature was checked */
};

enum mm_repo_medium_verdict {
    MM_REPO_MEDIUM_OK = 0,
    MM_REPO_MEDIUM_UNLABELLED,     /* the medium has no label */
    MM_REPO_MEDIUM_WRONG_LABEL,    /* another medium of the set */
    MM_REPO_MEDIUM_OTHER_HOSPITAL, /* a medium of another hospital (or of none) */
};

/*
 * Whether @s may be a label or a hospital ID: 1 to MM_REPO_MEDIUM_NAME_MAX bytes of UTF-8, no
 * control characters or spaces, none of Windows' forbidden / \ : * ? " < > |, no trailing dot.
 * @return 1 or 0
 */
int mm_repo_medium_name_ok(const char *s);

/*
 * Give the open @r (exclusive lock held by the caller) the label @label and the hospital
 * @hospital (NULL: none), signed with its key, replacing <repo>/medium crash-safely. The
 * same label again is rewritten harmlessly; another label, or a label that does not verify,
 * is replaced only with @force.
 * @return 0, MM_EINVAL (bad label or hospital), MM_EEXISTS (labelled otherwise, no @force),
 *         MM_EAUTH/MM_ECORRUPT (the present label is damaged or edited, no @force), MM_EIO
 */
int mm_repo_medium_set(mm_repo *r, const char *label, const char *hospital, int force);

/*
 * Read and verify the label of the open @r with its key.
 * @param[out] out filled on success (verified = 1)
 * @return 0, MM_ENOTFOUND (unlabelled), MM_EAUTH (signature does not verify, or written for
 *         another repository: edited or copied), MM_ECORRUPT (not a label file), MM_EIO
 */
int mm_repo_medium_get(mm_repo *r, struct mm_repo_medium *out);

/*
 * Parse the @n bytes of a label file of the repository @repo_id (32 hex digits); check its
 * signature against @pk unless it is NULL (then out->verified is 0: for tools that hold
 * only a repository's public key, or none). Pure: no I/O.
 * @return 0, MM_EAUTH, MM_ECORRUPT, MM_ELIMIT
 */
int mm_repo_medium_parse(const void *data, size_t n, const char *repo_id,
                         const unsigned char pk[MM_CRYPTO_PK_SIZE], struct mm_repo_medium *out);

/*
 * Judge the medium @have (NULL: unlabelled) against what a write wants: @label and
 * @hospital, each NULL when not asked for. Pure.
 */
enum mm_repo_medium_verdict mm_repo_medium_judge(const struct mm_repo_medium *have,
                                                 const char *label, const char *hospital);

/* ---- key rotation (repo_rotate.c; docs/format.md "Rotation state") ------------------------- */

/* The state file of a rotation, in the new repository: which old generations are copied. */
#define MM_REPO_ROTATE_STATE "rotate-state"

enum mm_repo_rotate_step {
    MM_REPO_ROTATE_STARTED = 1, /* the new repository is open (created or resumed) */
    MM_REPO_ROTATE_COPIED,      /* one generation is copied, verified and recorded */
    MM_REPO_ROTATE_FINISHED     /* every generation of the old repository is in the new one */
};

/* What a rotation reports as it goes (no patient data: IDs and counts only). */
struct mm_repo_rotate_event {
    enum mm_repo_rotate_step step;
    mm_repo *newr;         /* the new repository, open (for its audit log) */
    const char *old_gen;   /* COPIED: the generation of the old repository */
    const char *new_gen;   /* COPIED: its copy */
    uint64_t files, bytes; /* COPIED: of that generation; FINISHED: of all copied this run */
    size_t total;          /* generations of the old repository */
    size_t done;           /* of them in the new one so far (earlier runs included) */
    size_t skipped;        /* of them found done by an earlier run */
    int resumed;           /* STARTED: the new repository existed (an earlier run) */
};

/* Called at each step from the calling thread. @return 0, or < 0 to stop the rotation there
 * (the error is returned; what is done stays done and a rerun continues). */
typedef int (*mm_repo_rotate_fn)(const struct mm_repo_rotate_event *ev, void *ctx);

struct mm_repo_rotate_opts {
    const char *user; /* the new repository's first key slot */
    const char *pass; /* and its passphrase */
    size_t passlen;
    const struct mm_kdf_params *kdf; /* NULL: the crypto module's defaults */
    /* a private folder (created 0700) that holds the plaintext of one generation, twice, while
     * it is copied; emptied after each generation and at the end. Required. */
    const char *work;
    unsigned int threads; /* as for backup; 0: its default */
    mm_repo_rotate_fn event;
    mm_repo_problem_fn problem; /* damaged files of the old repository */
    void *ctx;
};

struct mm_repo_rotate_stats {
    size_t total, copied, skipped; /* generations: of the old one, copied now, done before */
    uint64_t files, bytes;         /* copied now */
    int labelled;                  /* the old medium's label was given to the new one */
    size_t viewer_files;           /* the viewer's files copied (the newest generation's list) */
};

/*
 * Re-key: copy every generation of @old, oldest first, into a new repository at @to with a
 * new master key (and so new object IDs), the same chunker, compression and pack settings,
 * and one key slot (o->user, o->pass). Each generation is restored into o->work, backed up
 * into @to keeping its name, times, host, user, sources, guard verdict, patient-index check and
 * SS-MIX2 storages (its patient index is copied too), then restored from @to
 * and compared byte for byte (names, kinds, sizes, modes, mtimes, contents, link targets,
 * the patient index) with the old one, and only then recorded in <@to>/rotate-state. The
 * old medium's label is signed anew for @to first, and the viewer's files the newest
 * generation lists are copied before its copy, the only one that keeps its viewer list (the
 * others' files were never on the new medium); a caller writes a fresh viewer when none are
 * listed. A
 * rerun continues: @to is opened with the same passphrase and recorded generations are
 * skipped; a generation written but not recorded (a run killed in between) is found by its
 * times, verified and recorded. @old is locked shared, @to exclusive.
 * @param[out] newr_out the new repository, open (may be NULL: closed)
 * @return 0, MM_EINVAL (options), MM_EEXISTS (@to holds other files or another repository),
 *         MM_EAUTH (@to exists and the passphrase does not open it), MM_ECORRUPT (a
 *         generation of @old is damaged, or its copy differs: nothing of it is recorded),
 *         MM_ELOCKED, MM_EIO, MM_ENOMEM, or the event callback's error
 */
int mm_repo_rotate(mm_repo *old, const char *to, const struct mm_repo_rotate_opts *o,
                   mm_repo **newr_out, struct mm_repo_rotate_stats *stats);

/* ---- host credentials (repo_host.c; docs/format.md "Host credential") ---------------------- */

/*
 * Enroll a host on the format 3 repository @r (opened with a person's passphrase): make a
 * writer key and its certificate for @name, valid @days days, and write the host
 * credential ("MMHC": the host key block, the chunker and pack settings, the compression
 * dictionaries) to @file, created with mode 0600 (an existing file is refused).
 * @return 0, MM_EINVAL (not format 3, bad name or days, @r opened without a person's key),
 *         MM_EEXISTS (@file exists), MM_EIO, MM_ENOMEM
 */
int mm_repo_host_enroll(mm_repo *r, const char *name, unsigned days, const char *file);

/*
 * Open the format 3 repository at @path with the host credential @file: the handle seals
 * new packs and envelopes and signs manifests with the writer key, and opens nothing.
 * The file must be owned by the running user and have mode 0600.
 * @return 0, MM_EREFUSED (group or others can read it), MM_EINVAL (owner or mode, credential
 *         of another repository, not format 3),
 *         MM_ECORRUPT (damaged credential), MM_ENOTFOUND, MM_EIO, MM_ENOMEM
 */
int mm_repo_open_host(mm_repo **out, const char *path, const char *file);

/* ---- the repository head (repo_head.c, repo_head_io.c; docs/format.md, "Repository head") -- */

/*
 * What the repository should hold, signed and hash-chained: written as <repo>/head and its
 * second copy <repo>/head.2 after every change of what the repository holds (backup, prune,
 * a daily cycle's window, a host's retirement, a signed audit append), and kept by the host
 * as <audit folder>/<repository ID>.rhead (the newest it wrote or read). A missing generation
 * the head lists is a deletion; an audit log shorter than it says, or gone, is a truncation;
 * a head older than the host's copy, or than another medium of the set last saw, is a
 * rollback.
 */
#define MM_REPO_HEAD_VERSION   1u
#define MM_REPO_HEAD_FILE      "head"
#define MM_REPO_HEAD_FILE2     "head.2"
#define MM_REPO_HEAD_HOST_EXT  ".rhead"
#define MM_REPO_HEAD_ALERT_EXT ".rhead-alert"
#define MM_REPO_HEAD_GENS_MAX  65536u /* generations listed at most */
#define MM_REPO_HEAD_PEERS_MAX 32u    /* other media of the set a head names at most */
#define MM_REPO_HEAD_MAX       (256u + 32u * MM_REPO_HEAD_GENS_MAX + 56u * 32u + 300u)

enum mm_repo_head_flags {
    MM_REPO_HEAD_AUDIT = 1 << 0 /* the medium held an audit log when the head was written */
};

/* What a head said of another medium of the set (the writer's host copy of its head). */
struct mm_repo_head_peer {
    unsigned char repo_id[MM_REPO_ID_BYTES];
    uint64_t seq;
    unsigned char hash[MM_CRYPTO_ID_SIZE];
};

/* A decoded head. */
struct mm_repo_head {
    unsigned int flags; /* enum mm_repo_head_flags */
    unsigned char repo_id[MM_REPO_ID_BYTES];
    uint64_t seq;                          /* 1 for the first head */
    unsigned char prev[MM_CRYPTO_ID_SIZE]; /* hash of the head before (zero for seq 1) */
    int64_t time_ns;
    uint64_t audit_len;                       /* bytes of audit/audit.log */
    uint64_t audit_seq;                       /* its signed head's record (0: none yet) */
    unsigned char audit_h[MM_CRYPTO_ID_SIZE]; /* that record's hash H */
    unsigned char (*gens)[MM_CRYPTO_ID_SIZE]; /* generation IDs, ascending */
    size_t ngens;
    struct mm_repo_head_peer *peers; /* ascending by repository ID */
    size_t npeers;
    char signer[MM_KEYSLOT_NAME_MAX + 1];  /* "" signed by the master key, else a host's name */
    unsigned char hash[MM_CRYPTO_ID_SIZE]; /* BLAKE2b-256 of the head file's bytes */
};

/* Release what @h holds (not @h). Accepts NULL. */
void mm_repo_head_release(struct mm_repo_head *h);

/*
 * Encode @h (its flags, repository ID, seq, prev, time, audit state, generations, peers),
 * signed with @ks (a host keyset: its writer key, and its certificate goes along), as a head
 * file appended to @out; h->hash is set to the file's hash.
 * @return 0, MM_ELIMIT (too many generations or peers), MM_ENOMEM, MM_ERROR
 */
int mm_repo_head_encode(struct mm_repo_head *h, const mm_keyset *ks, mm_buf *out);

/*
 * Decode the head file @p (@n bytes) and check its signature with the master signing public
 * key @pk (or the writer certificate it carries, signed by @pk, for its repository and valid
 * at its time).
 * @param[out] out owned by the caller (mm_repo_head_release); untouched on failure
 * @return 0, MM_ECORRUPT (not a head, damaged, a newer version), MM_EAUTH (the signature or
 *         certificate does not verify), MM_ENOMEM
 */
int mm_repo_head_decode(const void *p, size_t n, const unsigned char pk[MM_CRYPTO_PK_SIZE],
                        struct mm_repo_head *out);

/* What reading a medium's head found of its two copies. */
struct mm_repo_head_copies {
    int present; /* copies found (0, 1 or 2) */
    int damaged; /* copies that did not decode or verify (their message in @msg) */
    int differ;  /* both good but not the same head (a crash between the two writes) */
    char msg[256];
};

/*
 * Read the head of the repository at @path, checked with @pk: the newer good copy of head
 * and head.2.
 * @param[out] copies may be NULL
 * @return 0, MM_ENOTFOUND (no copy at all: an older repository, "no head yet"), MM_ECORRUPT or
 *         MM_EAUTH (no copy is good), MM_EIO, MM_ENOMEM
 */
int mm_repo_head_load(const char *path, const unsigned char pk[MM_CRYPTO_PK_SIZE],
                      struct mm_repo_head *out, struct mm_repo_head_copies *copies);

/*
 * The host's copy of the head of repository @id (32 hex digits) in the host's audit folder
 * @dir, checked with @pk. @return 0, MM_ENOTFOUND, MM_ECORRUPT, MM_EAUTH, MM_EIO, MM_ENOMEM
 */
int mm_repo_head_host_load(const char *dir, const char *id,
                           const unsigned char pk[MM_CRYPTO_PK_SIZE], struct mm_repo_head *out);

/* Options of a head write. */
struct mm_repo_head_write_opts {
    const char *host_dir; /* NULL, or the host's audit folder: keep the host copy there and
                             name the other media it knows (peers) */
    /* generations the caller removed itself (prune, retirement): not carried forward */
    const unsigned char (*forget)[MM_CRYPTO_ID_SIZE];
    size_t nforget;
    int accept_missing; /* listed generations whose manifests are gone are dropped (a person
                           accepted the loss, which the audit log records); else kept listed
                           so that the deletion stays visible */
    int restart;        /* do not chain to the medium's head (a person accepted a rollback or
                           a lost head): seq continues after the higher of it and the host copy */
};

/*
 * Write a new head of the open @r (exclusive or shared lock, or none: the head folder is
 * flock()ed while it is written): seq + 1 of the current head, chained to it; the
 * generations whose manifests are on the medium, plus those the current head lists and are
 * missing (unless forgotten or accepted); the audit log's length and signed head. Written as
 * head then head.2, each crash-safely; then the host copy.
 * @param o may be NULL
 * @param[out] out the head written (may be NULL; mm_repo_head_release)
 * @return 0, MM_EIO (read-only or full medium), MM_ECORRUPT (the current head is damaged in
 *         both copies: written anew after it), MM_ELIMIT, MM_ENOMEM
 */
int mm_repo_head_write(mm_repo *r, const struct mm_repo_head_write_opts *o,
                       struct mm_repo_head *out);

/* What mm_repo_head_check() found. */
struct mm_repo_head_report {
    int has_head; /* 0: no head yet (an older repository: information) */
    struct mm_repo_head_copies copies;
    uint64_t seq;
    int64_t time_ns;
    char signer[MM_KEYSLOT_NAME_MAX + 1];
    /* listed by the head, manifest missing: deleted (tampering) */
    unsigned char (*missing)[MM_CRYPTO_ID_SIZE];
    size_t nmissing;
    /* manifest present, not listed: written after the head (information) */
    unsigned char (*unlisted)[MM_CRYPTO_ID_SIZE];
    size_t nunlisted;
    int audit_deleted;   /* the head says a log existed; there is none */
    int audit_truncated; /* the log is shorter than the head says */
    int audit_rolled;    /* the log's signed head names an earlier record than the head */
    uint64_t audit_len, audit_len_now, audit_seq, audit_seq_now;
    unsigned char audit_h[MM_CRYPTO_ID_SIZE];
    /* the host's copy */
    int host_known;
    uint64_t host_seq;
    int64_t host_time_ns;
    int rollback; /* the medium's head is older than the host's copy, or gone while it exists */
    int forked;   /* same seq as the host copy but another head, or not its descendant */
};

/* Release what @rep holds. */
void mm_repo_head_report_release(struct mm_repo_head_report *rep);

/* 1 when @rep shows deletion, truncation or rollback (exit status 3), else 0. */
int mm_repo_head_report_bad(const struct mm_repo_head_report *rep);

/*
 * Compare the open @r with its head: generations listed and present, the audit log's state,
 * and (with @host_dir) the host's copy, which is then brought up to a newer good head of the
 * medium, and the alert file <@host_dir>/<ID>.rhead-alert written or removed for `status`.
 * @return 0 when the check ran (findings in @rep, released by the caller), MM_EIO, MM_ENOMEM
 */
int mm_repo_head_check(mm_repo *r, const char *host_dir, struct mm_repo_head_report *rep);

/*
 * 1 when the head of @r (the medium's, or the host's copy in @host_dir) records an audit log
 * and the medium has none: a writer must not begin a new log silently (docs/format.md).
 */
int mm_repo_head_audit_gone(mm_repo *r, const char *host_dir);

/* What a head of one medium says of another's (mm_repo_head_cross). */
struct mm_repo_head_cross {
    int known;     /* @b names @a's repository */
    uint64_t seen; /* the seq of @a's head @b's writer knew */
    int older;     /* @a's head is older than that: a rollback of @a */
    int differ;    /* same seq, another head: a fork */
};

/* Compare @a's head with what @b's head says of @a (its peers). Pure. */
void mm_repo_head_cross(const struct mm_repo_head *a, const struct mm_repo_head *b,
                        struct mm_repo_head_cross *out);

/*
 * The alert the last check of repository @id left in the host's audit folder @dir: one line
 * of text (no patient data), for `status`.
 * @return 1 an alert (in @out), 0 none
 */
int mm_repo_head_alert_read(const char *dir, const char *id, char *out, size_t cap);

/* ---- the guard's verdicts (repo_guard.c) -------------------------------------------------- */

/* A person's acceptance of a suspect generation as a false alarm (docs/format.md "Guard
 * acceptance"): <repo>/guard/<generation ID> and its second copy, signed with the master
 * signing key, which a host credential does not hold. */
struct mm_repo_guard_accept {
    char gen[MM_CRYPTO_HEX_SIZE];
    char user[MM_KEYSLOT_NAME_MAX + 1]; /* the key slot that accepted it */
    int64_t time_ns;
    char reason[256]; /* what the person wrote (no patient data asked for) */
};

/*
 * Accept the suspect generation @spec (as mm_repo_gen_find) of @r, opened with a person's
 * passphrase, writing its signed record (and the second copy).
 * @return 0; MM_EREFUSED (a host credential's handle: an owned host must not accept its own
 *         attack); MM_EINVAL (not suspect, or already accepted); MM_ENOTFOUND; MM_EIO
 */
int mm_repo_guard_accept(mm_repo *r, const char *spec, const char *reason,
                         struct mm_repo_guard_accept *out);

/*
 * The acceptance record of generation @id (full ID), checked against the master signing key.
 * A host credential's handle checks it too (it holds the master signing public key).
 * @return 1 accepted (@out filled when not NULL), 0 none, MM_ECORRUPT (a record that does not
 *         verify: reported as tampering), MM_EINVAL (@id not a full ID), MM_EIO
 */
int mm_repo_guard_accepted(mm_repo *r, const char *id, struct mm_repo_guard_accept *out);

/*
 * The generation of @g (@n, oldest first, with guard_accepted filled) that stands: the
 * oldest suspect one not accepted after which no generation is clean or accepted.
 * @return its index, or @n when none stands. Pure.
 */
size_t mm_repo_gen_standing(const struct mm_repo_gen *g, size_t n);

/* Whether @g counts as a good generation: its verdict is not "suspect", or it was accepted. */
int mm_repo_gen_good(const struct mm_repo_gen *g);

#endif
