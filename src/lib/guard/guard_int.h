/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guard's private parts, shared by its files: the counters kept per source while the
 * walk reports (guard.c), the probes of one file's name and first bytes (guard_probe.c,
 * guard_patterns.c), the history of clean runs and the standing list (guard_history.c), the
 * canaries (guard_canary.c) and the rules (guard_judge.c). docs/guard.md has the numbers.
 */
#ifndef MM_GUARD_GUARD_INT_H
#define MM_GUARD_GUARD_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "guard/guard.h"

/* Bounds of the guard folder's files (a larger file is damaged, never read whole). */
#define MM_GUARD__FILE_MAX     (1u << 20)
#define MM_GUARD__HISTORY_KEEP 90u /* clean runs kept per source */
#define MM_GUARD__RECENT       30u /* of which the newest are used to learn */
#define MM_GUARD__LEARN_MIN    3u  /* fewer clean runs: the built-in floors alone */
#define MM_GUARD__LEARN_K      3.0 /* a bound is k times the highest share seen recently */

/* What a file's first bytes or name say it is. */
enum mm_guard__ftype {
    MM_GUARD__FT_UNKNOWN = 0,
    MM_GUARD__FT_TEXT,   /* .txt .csv .xml .hl7 .json .htm ..., SS-MIX2 message files */
    MM_GUARD__FT_BINARY, /* a type that is high-entropy by nature (PDF, JPEG, ZIP, ...) */
};

/* The counters of one source (every field only grows while the walk reports). */
struct mm_guard__counts {
    uint64_t total_now, total_before; /* files in its folders now and in the parent's */
    uint64_t added, modified, replaced, renamed, deleted;
    uint64_t ss_rewritten; /* SS-MIX2 message files rewritten in place */
    uint64_t ss_replaced;  /* SS-MIX2 message files REPLACED (paired or not: judge pairs) */
    uint64_t ss_not_hl7;   /* SS-MIX2 message files whose first segment is not HL7 */
    uint64_t ss_foreign;   /* new names in an SS-MIX2 storage outside the convention */
    uint64_t notes;        /* ransom-note names */
    uint64_t ransom_ext;   /* ransomware extensions */
    uint64_t probed;       /* files whose first bytes were judged */
    uint64_t entropy_text; /* text by name, random by content */
    uint64_t mismatch;     /* a high-entropy type by name, without its magic, random */
    uint64_t ss_folders;   /* standardized data-type folders compared (an SS-MIX2 storage) */
    uint64_t paired;       /* set by the judge: REPLACED message files paired with a rename */
    uint64_t moved;        /* set by the judge: deleted files added elsewhere, same content */
};

/* What a pair half is. */
enum mm_guard__role {
    MM_GUARD__COMPANION = 0, /* a renamed or added _2/_0 message file (its content) */
    MM_GUARD__REPLACED = 1,  /* a REPLACED message file (its old content) */
    MM_GUARD__GONE = 2,      /* a deleted file (its old content) */
    MM_GUARD__CAME = 3,      /* an added file (its content) */
};

/* One half of a pair: an SS-MIX2 update (REPLACED with its _2/_0 companion: same folder, name
 * without flag and content) or a move to another folder (deleted here, added there with the
 * same content: the walk finds renames in the same folder only). */
struct mm_guard__pair {
    size_t source;
    uint64_t key; /* hash of the folder and the name without its flag; 0 for moves */
    unsigned char content[MM_CRYPTO_ID_SIZE];
    enum mm_guard__role role;
};
#define MM_GUARD__PAIRS_MAX (1u << 22) /* halves kept; beyond, nothing more is paired */

/* One clean run's figures of a source. */
struct mm_guard__run {
    int64_t time_s, span_s;
    uint64_t total, added, modified, deleted;
};

struct mm_guard__canary_state {
    unsigned changed, gone, unwritable, planted;
};

struct mm_guard {
    pthread_mutex_t lock;
    char *dir;
    char *repo_id, *medium;
    int64_t now_s, parent_end_s;
    size_t nsources;
    struct mm_guard_source_cfg *cfg; /* copies: names and paths point into own */
    char **own;                      /* 2 per source: the copied name and path */
    struct mm_guard__counts *counts; /* by source */
    struct mm_guard__pair *pairs;    /* under lock */
    size_t npairs, cappairs;
    int oom;                               /* a pair could not be kept: counted as unpaired */
    struct mm_guard__canary_state *canary; /* by source */
    struct mm_guard__run **hist;           /* by source: its clean runs (NULL: none) */
    size_t *nhist;
    int history_damaged; /* a source's history was damaged: defaults used */
    int own_suspect;     /* set by judge: suspect by this run's own evidence */
};

/* ---- guard_probe.c ---------------------------------------------------------------------- */

/* Shannon entropy of @n bytes, in bits per byte (0 for n 0). */
double mm_guard__entropy(const unsigned char *p, size_t n);

/* Whether @n first bytes look like random data (encrypted), for a file of type @t. */
int mm_guard__looks_random(const unsigned char *p, size_t n, enum mm_guard__ftype t);

/* The type a name's extension promises (.csv text, .jpg binary, ...). */
enum mm_guard__ftype mm_guard__type_by_name(const char *name);

/* Whether @n first bytes start as a type that is high-entropy by nature (a known magic). */
int mm_guard__binary_magic(const unsigned char *p, size_t n);

/* Whether @n first bytes start as an HL7 message whose MSH segment decodes and tokenises. */
int mm_guard__hl7_ok(const unsigned char *p, size_t n);

/* Whether @dir/@name is an SS-MIX2 message file: MM_GUARD__STD in the standard layout,
 * MM_GUARD__EXT a file of an extended storage's content folder, 0 neither. */
#define MM_GUARD__STD 1
#define MM_GUARD__EXT 2
int mm_guard__ssmix2_msg(const char *dir, const char *name);

/* Whether @dir ends as an SS-MIX2 standardized storage's data-type folder (<date|->/<type>). */
int mm_guard__ssmix2_type_folder(const char *dir);

/* Whether @name (in @dir) is a new name outside the SS-MIX2 convention (see the .c). */
int mm_guard__ssmix2_foreign(const char *dir, const char *name);

/* Whether renaming @old_name to @name changes only the flag, the way SS-MIX2 does. */
int mm_guard__ssmix2_rename_ok(const char *old_name, const char *name);

/* Hash of @dir and @name without its trailing "_<flag>" (SS-MIX2 update pairing). */
uint64_t mm_guard__pair_key(const char *dir, const char *name);

/* The flag of an SS-MIX2 message name (0, 1, 2), or -1 when it has none. */
int mm_guard__ssmix2_flag(const char *name);

/* ---- guard_patterns.c ------------------------------------------------------------------- */

/* Whether @name is a known ransom-note name. */
int mm_guard__ransom_note(const char *name);

/* Whether @name ends in a known ransomware extension, or (in an SS-MIX2 storage,
 * @ssmix2 set) an SS-MIX2 message name has any extension appended. */
int mm_guard__ransom_ext(const char *name, int ssmix2);

/* ---- guard_canary.c --------------------------------------------------------------------- */

#define MM_GUARD__CANARY_NAME "!0000_mamori_canary_do_not_edit.docx"

/* Whether @name in @dir is the guard's canary (it is counted nowhere). */
int mm_guard__is_canary(const char *dir, const char *name);

/* Check the canary of every source with canary set, plant missing ones. @return 0, MM_ENOMEM */
int mm_guard__canaries(mm_guard *g);

/* ---- guard_history.c -------------------------------------------------------------------- */

/* The file name a source's things are kept under: its name with unsafe bytes as '_'. */
void mm_guard__safe_name(const char *name, char *out, size_t cap);

/*
 * Read the history of source @name in @dir (the newest last).
 * @param[out] out array of @n (mm_free), NULL when none
 * @return 0 (also when there is none), MM_ECORRUPT (damaged or oversized), MM_EIO, MM_ENOMEM
 */
int mm_guard__history_read(const char *dir, const char *name, struct mm_guard__run **out,
                           size_t *n);

/* Append @run to the history of @name, keeping the newest MM_GUARD__HISTORY_KEEP. */
int mm_guard__history_add(const char *dir, const char *name, const struct mm_guard__run *run);

/* Add @s to the standing list of @dir (an entry for the same generation is replaced). */
int mm_guard__standing_add(const char *dir, const struct mm_guard_standing *s);

/* Write @n bytes to @dir/@name crash-safely (creating @dir). @return 0, MM_EIO */
int mm_guard__write_file(const char *dir, const char *name, const void *p, size_t n);

/* Read @dir/@name whole into @out (bounded). @return 0, MM_ENOTFOUND, MM_ECORRUPT, MM_EIO */
int mm_guard__read_file(const char *dir, const char *name, mm_buf *out);

/* ---- guard_judge.c ---------------------------------------------------------------------- */

/* The bound a share of kind @kind (0 modified, 1 deleted, 2 added) is judged against for
 * source @cfg, from its clean runs @h (@nh) and this run's span @span_s. */
double mm_guard__bound(const struct mm_guard_source_cfg *cfg, int kind,
                       const struct mm_guard__run *h, size_t nh, int64_t span_s);

#endif
