/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log: an append-only, hash-chained, signed log of what was done to a repository
 * (init, key changes, backups, verifies, restores, prunes, and the viewer's logins and
 * patient views). Record N holds the hash of record N-1 (record 1 that of the file header),
 * a sequence number, the time in UTC with the writer's local offset, the user (key slot),
 * the host and the event's details. A writer holding the repository's keyset signs every
 * record it writes with the repository's Ed25519 key and keeps a signed head file naming
 * the newest signed record, so an edited, inserted, removed or reordered record, a cut tail
 * and a record forged without the key are all found, and the first bad record is named.
 * Records written without a key (a failed login) are chained all the same and covered by
 * the next signed record. A write-only host (a host keyset, format 3) signs with its writer
 * key and carries the certificate the repository's key gave it (record and head version 2),
 * and seals details to the repository's reader key, so that it cannot read them back. Details can
 * be sealed with the repository's keys (the copy on a medium, which may be lost) or kept in the
 * clear (the host's copy, protected by file permissions). Appends are crash-safe (one write, fsync;
 * a torn last record is cut by the next append, which records that it did) and serialized by a lock
 * on the log file. The byte layout is in docs/format.md ("Audit log", version MM_AUDIT_VERSION).
 * Messages never hold record contents: patient IDs and paths live only inside records.
 */
#ifndef MM_AUDIT_AUDIT_H
#define MM_AUDIT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "crypto/crypto.h"
#include "repo/repo.h"

/* Format versions: the log file ("MMAL"), its records, the head ("MMAH"), exports ("MMAX"). */
#define MM_AUDIT_VERSION        1u
#define MM_AUDIT_EXPORT_VERSION 1u
/* The repository ID in a log header: 16 bytes (32 hex digits in the repository's marker). */
#define MM_AUDIT_REPO_ID_SIZE 16u
/* Sizes of the fixed parts (docs/format.md). */
#define MM_AUDIT_HEADER_SIZE 56u
#define MM_AUDIT_HEAD_SIZE   112u
/* A head signed by a certified writer (version 2): the certificate follows. */
#define MM_AUDIT_HEAD2_SIZE (MM_AUDIT_HEAD_SIZE + MM_WCERT_SIZE)
/* The file names of a log: <base>.log and <base>.head. */
#define MM_AUDIT_LOG_SUFFIX  ".log"
#define MM_AUDIT_HEAD_SUFFIX ".head"
/* In a repository the log is <repo>/audit/audit.log (and .head). */
#define MM_AUDIT_REPO_DIR  "audit"
#define MM_AUDIT_REPO_BASE "audit"

/* What happened. Numbers are stored in records: never reuse or renumber one. */
enum mm_audit_kind {
    MM_AUDIT_INIT = 1,                 /* repository created */
    MM_AUDIT_KEY_ADD = 2,              /* key slot added (field "slot") */
    MM_AUDIT_KEY_REMOVE = 3,           /* key slot removed (field "slot") */
    MM_AUDIT_BACKUP = 4,               /* generation written (generation, guard, counts) */
    MM_AUDIT_VERIFY = 5,               /* repository checked (result) */
    MM_AUDIT_RESTORE = 6,              /* generation restored (scope; subject: patient or path) */
    MM_AUDIT_PRUNE = 7,                /* generations removed */
    MM_AUDIT_GUARD_ACCEPT = 8,         /* a suspect generation accepted by a person */
    MM_AUDIT_MEDIA_REFUSED = 9,        /* a medium refused (wrong set, not attachable...) */
    MM_AUDIT_VIEWER_LOGIN = 10,        /* viewer unlocked */
    MM_AUDIT_VIEWER_LOGIN_FAILED = 11, /* viewer: wrong passphrase (written without a key) */
    MM_AUDIT_PATIENT_OPENED = 12,      /* viewer: a patient's record shown (subject: patient) */
    MM_AUDIT_LOG_REPAIRED = 13,        /* this module: a torn last record was cut */
    MM_AUDIT_EXPORT = 14,              /* the log was exported for an investigator */
    MM_AUDIT_UNLOCK_FAILED = 15,       /* a command's wrong passphrase (written without a key) */
    MM_AUDIT_VIEWER_LOGOUT = 16,       /* viewer: a session ended (field "reason") */
    MM_AUDIT_CYCLE = 17,               /* run: a daily cycle's online window (host log only) */
    MM_AUDIT_MEDIA_LABEL = 18,         /* media init: a medium labelled or relabelled */
    MM_AUDIT_EVIDENCE_LOST = 19,       /* a backup found what the repository head says is missing:
                                          a deleted or cut audit log, a deleted generation, a
                                          rollback (fields: problem, head_seq, audit_seq, ...) */
    MM_AUDIT_ROTATE_STARTED = 20,      /* key rotate: a copy into a new repository began */
    MM_AUDIT_ROTATE_COPIED = 21,       /* key rotate: one generation copied and verified */
    MM_AUDIT_ROTATE_FINISHED = 22,     /* key rotate: ended (result, counts) */
    MM_AUDIT_INTERRUPTED = 23,         /* a writer (backup, prune) was killed: found by the next */
    MM_AUDIT_DRILL = 24,               /* a restore drill ran (fields "drill" full|structural,
                                          result, generation, figures) */
    MM_AUDIT_PATIENT_EXPORTED = 25,    /* export: a patient's record written out (subject:
                                          patient; field "format" fhir|csv) */
    MM_AUDIT_KIND_MAX = 25
};

/* The stable name of @k ("init", "key-add", ... as in --json), or NULL for an unknown kind. */
const char *mm_audit_kind_name(unsigned int k);

/*
 * The kind named @name (as mm_audit_kind_name() spells it).
 * @return 0, MM_ENOTFOUND
 */
int mm_audit_kind_parse(const char *name, unsigned int *out);

/* What a record is about, when it is about a patient or a path (patient data). */
enum mm_audit_subject {
    MM_AUDIT_SUBJECT_NONE = 0,
    MM_AUDIT_SUBJECT_PATIENT = 1, /* a patient ID */
    MM_AUDIT_SUBJECT_PATH = 2     /* a path inside a generation */
};

/* A detail of an event: a short key and a value without patient data ("generation", ID). */
struct mm_audit_field {
    const char *key;   /* 1..64 bytes of printable ASCII: [a-z0-9_-] */
    const char *value; /* UTF-8, up to 4096 bytes */
};

/* Fields of one event being built, with room for the numbers written into them and for a
 * library message of a failure (no patient data, by contract); no allocation. */
#define MM_AUDIT_BUILD_MAX 24u
struct mm_audit_fields {
    struct mm_audit_field f[MM_AUDIT_BUILD_MAX];
    char num[MM_AUDIT_BUILD_MAX][24];
    char msg[512];
    size_t n;
};

/* Append the field @key = @value (nothing when @value is NULL or the builder is full). */
void mm_audit_fields_add(struct mm_audit_fields *b, const char *key, const char *value);
/* Append the field @key = the decimal @v (nothing when the builder is full). */
void mm_audit_fields_addu(struct mm_audit_fields *b, const char *key, unsigned long long v);

/* An event to append. */
struct mm_audit_event {
    unsigned int kind;    /* enum mm_audit_kind */
    const char *user;     /* the key slot that did it; NULL: "" (unknown) */
    const char *host;     /* NULL: this host's name */
    int64_t time_ns;      /* ns since 1970 UTC; 0: now */
    int32_t utc_offset_s; /* local offset east of UTC with time_ns (ignored when time_ns is 0) */
    const struct mm_audit_field *fields;
    size_t nfields; /* at most MM_AUDIT_FIELDS_MAX */
    enum mm_audit_subject subject_kind;
    const char *subject; /* patient ID or path, NULL when subject_kind is NONE */
};

#define MM_AUDIT_FIELDS_MAX 64u

/* How an append stores the details (fields and subject). */
enum mm_audit_store {
    MM_AUDIT_CLEAR = 0, /* details in the clear: the host's log, protected by permissions */
    MM_AUDIT_SEALED = 1 /* details sealed with the keyset: the log on a medium */
};

/* Where a log lives and who writes it. */
struct mm_audit_target {
    const char *base;             /* path without suffix: <base>.log, <base>.head */
    const unsigned char *repo_id; /* MM_AUDIT_REPO_ID_SIZE bytes: the log must belong to it */
    const mm_keyset *ks;          /* NULL: append without a key (unsigned; needs an existing log);
                                     a host keyset writes version 2 records: signed by its
                                     writer key with its certificate, details sealed to the
                                     reader key (it cannot read them back) */
    enum mm_audit_store store;
};

/* What an append did besides appending. */
struct mm_audit_append_info {
    uint64_t seq;      /* the sequence number of the event's record */
    uint64_t repaired; /* bytes of a torn last record cut before appending (0: none) */
    int created;       /* the log file was created */
};

/*
 * Read the header of the log <base>.log: the repository it belongs to and the key that signs
 * it, for a writer without the key (which must find the host's log by repository ID).
 * @return 0, MM_ENOTFOUND (no log), MM_ECORRUPT (not an audit log), MM_EIO, MM_EINVAL
 */
int mm_audit_header_read(const char *base, unsigned char repo_id[MM_AUDIT_REPO_ID_SIZE],
                         unsigned char pk[MM_CRYPTO_PK_SIZE]);

/*
 * Append @ev to the log @t (created with its folder when missing and @t->ks is set), with
 * the log file locked: read the last record, cut a torn last record (recording that in a
 * MM_AUDIT_LOG_REPAIRED record first), write the record in one write, fsync, and, with a
 * key, replace the head crash-safely. A subject needs a key when details are sealed: without
 * one the details are written in the clear, so they must not hold patient data.
 * @param[out] info may be NULL
 * Only the header, the head and the last record are read (damage further back is left as it
 * is, for mm_audit_verify() to name).
 * @return 0, MM_EINVAL (bad event, or a subject to seal without a key), MM_ENOTFOUND (no log
 *         and no key to create one), MM_ECORRUPT (the log belongs to another repository or
 *         key, its end is damaged but not torn, or it is shorter than its signed head: nothing
 *         is appended), MM_ELIMIT, MM_EIO (cannot write: write-protected or full medium; the
 *         log is as before), MM_ENOMEM
 */
int mm_audit_append(const struct mm_audit_target *t, const struct mm_audit_event *ev,
                    struct mm_audit_append_info *info);

/*
 * Append the @n events @evs as mm_audit_append() does one, under one lock with one fsync and
 * one head update (group commit: the viewer's patient views). All of them are appended or,
 * on failure, none; info->seq is the last one's.
 * @return as mm_audit_append()
 */
int mm_audit_append_n(const struct mm_audit_target *t, const struct mm_audit_event *evs, size_t n,
                      struct mm_audit_append_info *info);

/* ---- reading ------------------------------------------------------------------------------- */

/* A decoded log: header, records, head. Opaque. */
typedef struct mm_audit_log mm_audit_log;

struct mm_audit_kv {
    char *key, *value;
};

/* One record as read. Strings are owned by the log. */
struct mm_audit_record {
    uint64_t seq;
    int64_t time_ns;
    int32_t utc_offset_s;
    unsigned int kind; /* may be a kind this mamori does not know */
    const char *user, *host;
    int keyed;          /* written with the key: signed */
    const char *writer; /* signed by this certified writer (a host), NULL: by the repository */
    int sealed;         /* details sealed; *_opened tells whether they were opened */
    int opened;         /* details readable (clear, or opened with mm_audit_log_open_details) */
    const struct mm_audit_kv *fields; /* when opened */
    size_t nfields;
    enum mm_audit_subject subject_kind; /* when opened */
    const char *subject;                /* when opened; NULL when none */
    uint64_t offset;                    /* byte offset in the log file */
    uint64_t length;                    /* bytes of the record in the file */
    unsigned char hash[MM_CRYPTO_ID_SIZE];
};

/*
 * Decode a log file's bytes @log (@n) and its head file's bytes @head (@hn; NULL/0 when there
 * is none). Never fails on damaged records: decoding stops at the first frame that does not
 * decode and mm_audit_verify() reports it. The header must be intact.
 * @param[out] out owned by the caller (mm_audit_log_free); untouched on failure
 * @return 0, MM_ECORRUPT (not an audit log: bad header, unknown version), MM_ELIMIT, MM_ENOMEM
 */
int mm_audit_log_parse(mm_audit_log **out, const void *log, size_t n, const void *head, size_t hn);

/*
 * Read the log <base>.log and its head <base>.head (which may be missing).
 * @return as mm_audit_log_parse(), MM_ENOTFOUND (no log), MM_EIO
 */
int mm_audit_log_load(mm_audit_log **out, const char *base);

/*
 * Read an export file (mm_audit_export()), or a bare log file (then its head, when present,
 * is read from beside it).
 * @return as mm_audit_log_load()
 */
int mm_audit_log_load_file(mm_audit_log **out, const char *path);

/* Free @l. Accepts NULL. */
void mm_audit_log_free(mm_audit_log *l);

/* The number of records decoded (up to the first frame that does not decode). */
size_t mm_audit_log_count(const mm_audit_log *l);
/* Record @i (0-based, in file order), borrowed. */
const struct mm_audit_record *mm_audit_log_record(const mm_audit_log *l, size_t i);
/* The repository ID and public key named in the header. */
const unsigned char *mm_audit_log_repo_id(const mm_audit_log *l);
const unsigned char *mm_audit_log_public_key(const mm_audit_log *l);

/*
 * Open the sealed details of every record with @ks (the repository's keyset).
 * @return 0, MM_EAUTH (a record's details do not open with @ks), MM_EINVAL (@ks is a host
 *         keyset: it opens no sealed details), MM_ECORRUPT, MM_ENOMEM
 */
int mm_audit_log_open_details(mm_audit_log *l, const mm_keyset *ks);

/* What verify found. */
enum mm_audit_problem {
    MM_AUDIT_OK = 0,
    MM_AUDIT_EDITED = 1,        /* a record's bytes changed */
    MM_AUDIT_INSERTED = 2,      /* a record that is not part of the chain */
    MM_AUDIT_REMOVED = 3,       /* records missing from the middle */
    MM_AUDIT_REORDERED = 4,     /* records out of order */
    MM_AUDIT_TRUNCATED = 5,     /* records missing from the end (the signed head says so) */
    MM_AUDIT_BAD_SIGNATURE = 6, /* a signature does not verify: forged or edited */
    MM_AUDIT_DAMAGED = 7,       /* bytes that are no record (frame broken) */
    MM_AUDIT_WRONG_KEY = 8,     /* the log is not signed by the expected key */
    MM_AUDIT_HEAD_MISSING = 9,  /* signed records but no head: the tail cannot be checked */
    MM_AUDIT_BAD_HEAD = 10,     /* the head does not verify or names no record of the chain */
    MM_AUDIT_NEWER = 11         /* a record of a version this mamori does not know */
};

/* The stable name of a problem ("edited", ...), for --json. */
const char *mm_audit_problem_name(enum mm_audit_problem p);

struct mm_audit_verify_result {
    enum mm_audit_problem problem; /* the first problem found */
    uint64_t bad_seq;   /* the first bad record: the sequence number expected where the log
                           first departs from what was written (0: the header) */
    uint64_t found_seq; /* the number the record found there carries (0 when none) */
    uint64_t offset;    /* byte offset of that place in the log file */
    uint64_t records;   /* records read */
    uint64_t signed_records;
    uint64_t last_seq;       /* of the last good record */
    uint64_t head_seq;       /* the signed head's record (0: none) */
    uint64_t unsigned_tail;  /* records after the last signed one (not yet covered) */
    uint64_t torn_bytes;     /* an interrupted append's bytes at the end (not tampering) */
    uint64_t damaged_at;     /* offset of bytes that are no record with records after them
                                (0: none), whatever the first problem is */
    uint64_t writer_records; /* signed records signed by a certified writer (a host) */
    int head_writer;         /* the head is signed by a certified writer, not the repository */
    char head_signer[MM_KEYSLOT_NAME_MAX + 1]; /* that writer's name ("" otherwise) */
};

/*
 * Check the whole log: frames, chain, sequence numbers, every signature, and the head. A
 * record or head may be signed by the repository's key or by a writer whose certificate,
 * carried with it, is signed by that key for this repository and valid at the record's time.
 * @param pk the key the log must be signed with (the repository's), or NULL to use the key
 *        in its header (an export: compare its fingerprint with the repository's)
 * @return 0 when the check ran (the verdict is in @res), MM_EINVAL
 */
int mm_audit_verify(const mm_audit_log *l, const unsigned char pk[MM_CRYPTO_PK_SIZE],
                    struct mm_audit_verify_result *res);

/* A public key's fingerprint: the first 16 bytes of BLAKE2b-256(pk), "xxxx-xxxx-...-xxxx". */
#define MM_AUDIT_FINGERPRINT_SIZE 40u
void mm_audit_fingerprint(const unsigned char pk[MM_CRYPTO_PK_SIZE],
                          char out[MM_AUDIT_FINGERPRINT_SIZE]);

/*
 * Build the export of the log <base>: the log file and its head, as they are, in one file an
 * investigator verifies with mm_audit_log_load_file() and mm_audit_verify() alone.
 * @param[out] out the export is appended
 * @return 0, MM_ENOTFOUND (no log), MM_ELIMIT, MM_EIO, MM_ENOMEM
 */
int mm_audit_export(const char *base, mm_buf *out);

/* ---- the logs of an open repository (audit_repo.c) ---------------------------------------- */

/* Parse a repository ID (32 hex digits) into 16 bytes. @return 0 or -1 */
int mm_audit_repo_id(const char *hex, unsigned char out[MM_AUDIT_REPO_ID_SIZE]);

/* The log base on the medium of the repository at @repo: <repo>/audit/audit. @return 0, -1 */
int mm_audit_medium_base(const char *repo, char *out, size_t cap);

/* The log base of repository @id (32 hex digits) in the host's audit folder @dir. @return 0,
 * -1 (does not fit) */
int mm_audit_host_base(const char *dir, const char *id, char *out, size_t cap);

/* What mm_audit_repo_write_n() could not do (all zero: everything was written). */
struct mm_audit_write_report {
    int nomem;         /* nothing written: out of memory */
    int medium_failed; /* the medium's log could not be written (medium_msg says why) */
    int no_host;       /* no host folder given (or its path does not fit): not on the host */
    int host_failed;   /* the host's log could not be written (host_msg says why) */
    int medium_ok;     /* the medium's log was written */
    int head_failed;   /* the repository head was not written after it (head_msg says why) */
    char medium_msg[512], host_msg[512], head_msg[512];
};

/*
 * Write the @n events @evs (user: the slot that opened @r when NULL) for the open repository
 * @r at @repo to the medium's log (details sealed) and, when @host_dir is given, to the
 * host's log of that repository in it (details in the clear), under one lock and one fsync
 * per log. A log that cannot be written is only reported in @rep: the caller warns. No
 * repository head is written (a host's shadow of a medium: its head is the medium's); see
 * mm_audit_repo_write_head().
 * @return 0 when both were written, 1 otherwise (see @rep)
 */
int mm_audit_repo_write_n(mm_repo *r, const char *repo, const char *host_dir,
                          const struct mm_audit_event *evs, size_t n,
                          struct mm_audit_write_report *rep);

/*
 * mm_audit_repo_write_n(), then, when the medium's log was written, a new repository head
 * (mm_repo_head_write with @ho; its host copy in ho->host_dir, else in @host_dir): the head
 * covers the log as it is now. Every command that writes a medium records through this. A head that
 * is not written is reported in @rep (head_failed), never fatal.
 * @param ho NULL for the defaults
 * @return 0 when both logs and the head were written, 1 otherwise (see @rep)
 */
int mm_audit_repo_write_head(mm_repo *r, const char *repo, const char *host_dir,
                             const struct mm_audit_event *evs, size_t n,
                             const struct mm_repo_head_write_opts *ho,
                             struct mm_audit_write_report *rep);

/*
 * Whether the log @l holds record @seq with hash @h (what a repository head recorded).
 * @return 1 it does, 0 no record @seq was decoded, -1 record @seq has another hash
 */
int mm_audit_log_has(const mm_audit_log *l, uint64_t seq, const unsigned char h[MM_CRYPTO_ID_SIZE]);

/*
 * The fields of an `evidence-lost` event for what the head check @rep found, appended to @b
 * (generation IDs and the lost log's hash are written into @buf, @cap bytes).
 */
void mm_audit_head_fields(const struct mm_repo_head_report *rep, struct mm_audit_fields *b,
                          char *buf, size_t cap);

/* ---- interrupted writers (audit_interrupted.c) --------------------------------------------- */

/* One interruption: @recorded in both logs, or not (@rep says what failed). */
typedef void (*mm_audit_interrupted_fn)(const struct mm_repo_interrupted *it, int recorded,
                                        const struct mm_audit_write_report *rep, void *arg);

/*
 * Record each interruption of the open, exclusively locked @r (mm_repo_interrupted: a killed
 * backup's or prune's stale lock) as an `interrupted` event — fields op, user, host, pid,
 * started, found_by (@found_by: "backup", "prune", "run"); no patient data — in the medium's
 * and the host's log (mm_audit_repo_write_n), then clear its marker. A marker whose event the
 * medium's log did not take stays for the next writer. @cb (may be NULL) hears of each.
 * @return the number of interruptions found (0: none), or MM_EIO / MM_ENOMEM (message set)
 */
int mm_audit_record_interrupted(mm_repo *r, const char *repo, const char *host_dir,
                                const char *found_by, mm_audit_interrupted_fn cb, void *arg);

#endif
