/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-patient simulation of mamori-gen: the patient, the list of messages
 * (each one SS-MIX2 file with its key, time, rendered UTF-8 HL7 text and its
 * piece of ground truth) and the extended-storage items. gen_sim.c fills them;
 * gen.c applies the update/cancel conventions, writes files and the truth.
 */
#ifndef MM_GEN_SIM_H
#define MM_GEN_SIM_H

#include <stdint.h>

#include "tools/gen/gen_int.h"

enum mtype {
    T_ADT00,
    T_ADT01,
    T_ADT12,
    T_ADT21,
    T_ADT22,
    T_ADT31,
    T_ADT32,
    T_ADT41,
    T_ADT42,
    T_ADT51,
    T_ADT52,
    T_ADT61,
    T_PPR01,
    T_OMD,
    T_OMP01,
    T_OMP02,
    T_OMP11,
    T_OMP12,
    T_OML01,
    T_OML11,
    T_OMG01,
    T_OMG02,
    T_OMG03,
    T_OMG11,
    T_OMG12,
    T_OMG13,
    T_NTYPES
};

extern const char *const gen_type_names[T_NTYPES];

/* What part of the ground truth a message carries. */
enum tkind { TK_NONE, TK_DEMO, TK_ALLERGY, TK_DIAG, TK_ENC, TK_RX, TK_INJ, TK_LAB, TK_ADMIN };

struct msg {
    int64_t ts;       /* 発生日時 (file time), ms since the epoch */
    uint32_t seq;     /* creation order, breaks ties */
    uint8_t type;     /* enum mtype */
    uint8_t cancel;   /* a cancel message: its key goes to flag 0 */
    uint8_t tkind;    /* enum tkind */
    uint8_t tsdigits; /* 15 or 17 digits of time stamp in the file name */
    int8_t flag;      /* flag after applying the conventions (computed) */
    char date[9];     /* 診療日 folder, or "-" */
    char order[16];
    char dept[4];
    char *hl7;   /* UTF-8 text, segments ended by CR */
    char *truth; /* JSON value for the truth file, or NULL */
};

enum ekind { E_PDF, E_CDA, E_XRAY, E_ENDO };

struct ext {
    int64_t ts;
    int kind;          /* enum ekind */
    const char *typef; /* data-type folder name */
    char date[9];
    char key[24];
    char dept[4];
    char *title;
    char *text;  /* PDF lines separated by \n, or the CDA XML document */
    int nimages; /* images for E_XRAY / E_ENDO */
    uint64_t seed;
    char *truth; /* JSON object for "documents" or "images" */
};

struct patient {
    unsigned idx;
    char pid[16];
    struct rng rng;
    char sex; /* 'M' or 'F' */
    const struct name_entry *fam, *giv;
    int64_t birth;
    int place;
    char street[96];
    char phone[20], mobile[20], work[20];
    int employer;
    double height, weight;
    const char *abo;
    char rh;
    int allergy[6];
    int nallergy;
    int chronic[4];
    int nchronic;
    int64_t reg_day;
    double lab_base[32];

    /* diagnosis history (all entries ever made, in order) */
    struct dx {
        int cond;
        int64_t start, end; /* end < 0: active */
        int suspected, main;
        char outcome; /* 'F' recovered, 'R' improved, 0 none */
        char inst[16];
    } dx[64];
    int ndx;

    /* running state */
    int dept;   /* index into gen_depts of the usual clinic */
    int doctor; /* usual doctor */
    int64_t next_visit;
    int interval;
    unsigned order_seq;
    uint32_t msg_seq;
    int admitted;

    /* output */
    struct msg *msgs;
    size_t nmsgs, capmsgs;
    struct ext *exts;
    size_t nexts, capexts;
    int oom;
};

/*
 * Simulate patient @idx of the hospital for days [0, @end) from day number @start.
 * Fills p->msgs and p->exts (only those whose time falls before the end).
 * @return 0 or MM_ENOMEM
 */
int gen_simulate(struct patient *p, unsigned idx, uint64_t seed, int64_t start, int64_t end,
                 int extended);

/* Free everything gen_simulate() allocated. */
void gen_patient_release(struct patient *p);

#endif
