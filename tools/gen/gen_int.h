/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of mamori-gen, the synthetic SS-MIX2 storage generator: the
 * clinical catalogs (names, places, diseases, drugs, lab tests), the
 * deterministic PRNG and the calendar helpers shared by its files.
 * Everything is a pure function of the seed, so the same seed gives the same bytes.
 */
#ifndef MM_GEN_INT_H
#define MM_GEN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* ---- PRNG: splitmix64 for seeding, xoshiro256** for streams ---- */
struct rng {
    uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(struct rng *r);
/* Uniform integer in [0, n). */
uint32_t rng_below(struct rng *r, uint32_t n);
/* Uniform integer in [lo, hi]. */
int rng_range(struct rng *r, int lo, int hi);
/* Uniform double in [0, 1). */
double rng_unit(struct rng *r);
/* 1 with probability p. */
int rng_chance(struct rng *r, double p);
/* Approximately normal (mean 0, sd 1). */
double rng_normal(struct rng *r);

/* ---- calendar (proleptic Gregorian, no time zones: SS-MIX2 times are local) ---- */
int64_t days_from_civil(int y, int m, int d);
void civil_from_days(int64_t z, int *y, int *m, int *d);
/* Parse YYYYMMDD into a day number. @return 0 on success */
int parse_yyyymmdd(const char *s, int64_t *out);
/* Format a day number as YYYYMMDD (9 bytes). */
void fmt_date(char *out, int64_t day);
/* Format a day number as YYYY-MM-DD (11 bytes). */
void fmt_date_iso(char *out, int64_t day);
/* Format milliseconds since the epoch: @digits 8 (date) .. 17 (yyyyMMddHHmmssfff). */
void fmt_ts(char *out, int64_t ms, int digits);

#define MS_PER_MIN (60LL * 1000)
#define MS_PER_DAY (86400LL * 1000)

/* ---- catalogs ---- */
struct name_entry {
    const char *kanji, *kana;
};

struct place {
    const char *pref, *city, *town, *postal, *area_code;
};

struct dept {
    const char *code, *name;
};

struct drug {
    const char *hot9, *name;
    const char *unit, *unit_name; /* MR9P unit code and name of one dose */
    const char *form;             /* MR9P dosage form code, "" when none */
    double dose;                  /* per administration */
    int per_day;                  /* administrations a day */
    const char *usage_code, *usage_text;
    const char *route; /* HL7 0162 route code */
};

struct injection {
    const char *hot9, *name, *unit, *unit_name;
    double amount;
    int rate_ml_h;
};

struct lab {
    const char *jlac10, *name, *local, *unit;
    double lo_m, hi_m, lo_f, hi_f; /* reference range by sex */
    double mean, sd;
    int decimals;
    int group; /* 0 血液学, 1 生化学, 2 凝固 */
};

struct condition {
    const char *name, *medis, *exch, *icd10;
    int dept;       /* index into depts */
    int chronic;    /* 1: managed over years in the outpatient clinic */
    int drugs[3];   /* indices into drugs, -1 = none */
    int inj[2];     /* injections during an admission, -1 = none */
    int lab_effect; /* index into labs pushed up (or -1) */
    double effect;  /* multiple of the lab's sd added to its mean */
};

struct allergen {
    const char *type, *type_name; /* HL7 0127 */
    const char *code, *name, *system;
    const char *reaction;
};

struct ward {
    const char *code, *name;
};

struct doctor {
    const char *id, *family, *given, *kfamily, *kgiven;
};

extern const struct name_entry gen_family[];
extern const size_t gen_nfamily;
extern const struct name_entry gen_given_m[];
extern const size_t gen_ngiven_m;
extern const struct name_entry gen_given_f[];
extern const size_t gen_ngiven_f;
extern const struct place gen_places[];
extern const size_t gen_nplaces;
extern const struct dept gen_depts[];
extern const size_t gen_ndepts;
extern const struct drug gen_drugs[];
extern const size_t gen_ndrugs;
extern const struct injection gen_injections[];
extern const size_t gen_ninjections;
extern const struct lab gen_labs[];
extern const size_t gen_nlabs;
extern const struct condition gen_conditions[];
extern const size_t gen_nconditions;
extern const struct allergen gen_allergens[];
extern const size_t gen_nallergens;
extern const struct ward gen_wards[];
extern const size_t gen_nwards;
extern const struct doctor gen_doctors[];
extern const size_t gen_ndoctors;
extern const char *const gen_employers[];
extern const size_t gen_nemployers;
extern const char *const gen_diets[][2];
extern const size_t gen_ndiets;

/* ---- extended-storage content (gen_ext.c) ---- */
/* A PDF page with a title and lines of Japanese text (UTF-8). @return 0 or MM_E* */
int gen_pdf(mm_buf *out, const char *title, const char *const *lines, size_t nlines);
/* A baseline JPEG of a synthetic image, deterministic for @seed. @return 0 or MM_E* */
int gen_jpeg(mm_buf *out, uint64_t seed, int width, int height, int color);

/* Copy the C string @src into @dst of @cap bytes, cutting it if needed. */
void scpy(char *dst, size_t cap, const char *src);

#endif
