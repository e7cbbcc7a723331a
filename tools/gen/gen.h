/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori-gen: a synthetic SS-MIX2 hospital. Writes a standardized storage
 * (and optionally an extended storage) that looks real at a glance, and a JSON
 * ground truth of what a correct reader must show. Output is a pure function
 * of (seed, patients, start date, days): generating D days and then advancing
 * by K gives the same tree as generating D+K days at once.
 */
#ifndef MM_GEN_H
#define MM_GEN_H

#include <stdint.h>

#include "common/buf.h"

struct gen_opts {
    const char *out;   /* output folder: out/standard, out/extended, out/mamori-gen.state */
    unsigned patients; /* patient population of the hospital */
    unsigned days;     /* days to generate (create) or to add (advance) */
    uint64_t seed;     /* same seed, same bytes */
    int64_t start;     /* first day, as a day number (days since 1970-01-01) */
    int extended;      /* also write the extended storage */
    const char *truth; /* write the ground truth here (NULL: none) */
    int threads;       /* worker threads (0: one per core) */
    int progress;      /* draw progress on stderr */
};

struct gen_stats {
    uint64_t files;    /* files written (standardized + extended) */
    uint64_t renames;  /* flag renames (1->2, ->0) */
    uint64_t bytes;    /* bytes written */
    uint64_t patients; /* patients with at least one file */
    uint64_t messages; /* messages simulated (all days) */
};

/*
 * Create a new storage under opts->out (which must not hold one yet).
 * @return 0, MM_EEXISTS when out already holds a generated storage, MM_EIO, MM_EINVAL
 */
int gen_create(const struct gen_opts *opts, struct gen_stats *stats);

/*
 * Add opts->days more days to the storage under opts->out, with the seed and
 * population recorded there (opts->seed, patients, start, extended are ignored).
 * @return 0, MM_ENOTFOUND when out holds no generated storage, MM_ECORRUPT, MM_EIO
 */
int gen_advance(const struct gen_opts *opts, struct gen_stats *stats);

/*
 * Break @count (0: all) of patient @pid's files of standardized data type @type under
 * @out/standard, chosen by a shuffle seeded with @seed: each is replaced by text that is not
 * an HL7 message. Appends to @report one JSON line: {"patient","type","files" (of the type),
 * "broken":[{"path" (relative to the storage),"order_no","current"}]}.
 * @return 0, MM_EINVAL (bad ID or type), MM_ENOTFOUND (no such patient or no such file),
 *         MM_EIO, MM_ENOMEM
 */
int gen_damage(const char *out, const char *pid, const char *type, unsigned count, uint64_t seed,
               mm_buf *report);

#endif
