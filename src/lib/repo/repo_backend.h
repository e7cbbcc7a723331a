/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a repository's files live: one small table of operations that a local folder
 * (repo_local.c: a USB medium, the host's shadow) and an S3 bucket with Object Lock
 * (repo_s3.c) both implement. Nothing above this interface knows which one is in use:
 * envelopes, packs, index files, manifests, the head, the key slots and the locks are all
 * read and written through it (docs/architecture.md "Backends").
 *
 * Names are repository-relative, '/'-separated ("data/ab/<64 hex>", "index/<64 hex>",
 * "head", "locks/<64 hex>"), never absolute, never with "." or ".." parts.
 *
 * Write kinds. Every repository file is one of two kinds, and the backend may treat them
 * differently (an S3 backend retains ONCE files under Object Lock; REPLACE files are not
 * retained and are read as their newest version):
 *  - MM_REPO_BE_ONCE: named by its content (or written once under a fresh random name:
 *    the marker, the config, key slots, guard acceptances); a file of that name already
 *    there holds the same bytes and is left alone. Readers read the FIRST version ever
 *    written (S3: despite newer versions or delete markers an attacker added).
 *  - MM_REPO_BE_REPLACE: a mutable name (head, head.2, medium, locks, audit files, key slots
 *    rewritten by `key passwd`): the write replaces the file as one step.
 *
 * Thread safety: read, read_at, stat and write may be called from several threads at once
 * (backup and restore workers); list, remove, flush and close from one thread.
 * Errors are mm_err codes with mm_error_set() messages that never hold credentials, a
 * signed URL or patient data.
 */
#ifndef MM_REPO_REPO_BACKEND_H
#define MM_REPO_REPO_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum mm_repo_be_kind {
    MM_REPO_BE_ONCE = 1,
    MM_REPO_BE_REPLACE = 2,
};

/* What the store promises (filled by open; the S3 backend after its lock proof). */
struct mm_repo_be_info {
    const char *scheme;   /* "file" or "s3" */
    int local;            /* 1: a folder on this machine (mm_repo_be_local_path works) */
    int immutable;        /* 1: ONCE files cannot be removed or rewritten before their
                           * retention ends (S3 Object Lock, proven); 0 otherwise */
    char lock_mode[16];   /* "COMPLIANCE", "GOVERNANCE" or "" */
    uint32_t retain_days; /* retention given to ONCE files (0: none) */
    char why_not[160];    /* when !immutable on S3: why, in plain words (no secrets) */
};

struct mm_repo_be;

/* A growing list of names, filled by list (freed with mm_repo__list_free(v, n), repo_int.h). */
struct mm_repo__names {
    char **v;
    size_t n, cap;
};

struct mm_repo_be_ops {
    /* Read @rel whole into @out (bounded by out->limit).
     * @return 0, MM_ENOTFOUND, MM_ELIMIT, MM_EIO */
    int (*read)(struct mm_repo_be *b, const char *rel, mm_buf *out);
    /* Read exactly @n bytes at @off of @rel. @return 0, MM_ENOTFOUND, MM_ECORRUPT (short), MM_EIO
     */
    int (*read_at)(struct mm_repo_be *b, const char *rel, uint64_t off, void *dst, size_t n);
    /* The size of @rel. @return 0, MM_ENOTFOUND, MM_EIO */
    int (*stat)(struct mm_repo_be *b, const char *rel, uint64_t *size);
    /* Write @n bytes as @rel (enum mm_repo_be_kind @kind). The file counts as stored only
     * when this returned 0 AND, for a backend that queues writes, the next flush returned 0.
     * @return 0, MM_EIO, MM_ELIMIT, MM_ENOMEM */
    int (*write)(struct mm_repo_be *b, const char *rel, const void *p, size_t n, int kind);
    /* Append to @l the names in folder @dir that are 64 lower-case hex digits, or 32 (key
     * slots), either optionally followed by ".2" (second copies): mm_repo_be_listed_name()
     * (exactly one level: "data/ab" lists packs, "data" lists nothing but folders are not
     * names), each as "@prefix<name>". A missing folder adds nothing.
     * @return 0, MM_EIO, MM_ENOMEM */
    int (*list)(struct mm_repo_be *b, const char *dir, struct mm_repo__names *l,
                const char *prefix);
    /* Remove @rel; a missing file is fine. On an immutable store a retained file is not
     * removed: MM_EREFUSED with its retain-until date in the message.
     * @return 0, MM_EREFUSED, MM_EIO */
    int (*remove)(struct mm_repo_be *b, const char *rel);
    /* Wait for every queued write; @return the first error any of them met (0: all stored). */
    int (*flush)(struct mm_repo_be *b);
    /* Free the backend (after a flush; queued writes not flushed are abandoned). */
    void (*close)(struct mm_repo_be *b);
    /* Optional (NULL: nothing held): close what the backend keeps open between calls (the
     * local backend's pack descriptors), so that the medium can be detached; later reads
     * open again. From one thread, as close. */
    void (*release)(struct mm_repo_be *b);
};

struct mm_repo_be {
    const struct mm_repo_be_ops *ops;
    struct mm_repo_be_info info;
    char *where; /* for messages: the folder, or "s3://host:port/bucket/prefix" (no secrets) */
};

/*
 * Open the backend of @location: "s3://host[:port]/bucket[/prefix]" gives the S3 backend
 * (mm_repo_be_s3_open; MM_EINVAL "S3 repositories are not in this build" without it), any
 * other string a local folder.
 * @param create 1 when the repository is being created (a folder may not exist yet)
 * @return 0, MM_EINVAL, MM_EAUTH (S3 credentials refused), MM_EIO, MM_ENOMEM
 */
int mm_repo_be_open(struct mm_repo_be **out, const char *location, int create);

/* 1 when @location is an s3:// URL. */
int mm_repo_be_is_s3(const char *location);

/* The local folder backend (repo_local.c). */
int mm_repo_be_local_open(struct mm_repo_be **out, const char *path);

/* 1 when @name is one that list returns: 64 lower-case hex digits, or 32, either alone or
 * followed by ".2". */
int mm_repo_be_listed_name(const char *name);

/* Append "@prefix@name" to @l (for list). @return 0, MM_ENOMEM */
int mm_repo_be_names_push(struct mm_repo__names *l, const char *prefix, const char *name);

/* The folder of a local backend, or NULL for any other (callers that need a real file
 * system — the reserve file, the viewer payload, flock'ed audit log — skip or refuse). */
const char *mm_repo_be_local_path(const struct mm_repo_be *b);

#ifdef MM_HAVE_S3
/* The S3 backend (repo_s3.c); @create as mm_repo_be_open. */
int mm_repo_be_s3_open(struct mm_repo_be **out, const char *url, int create);
#endif

#endif
