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

#include "common/buf.h"
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

/* An allergen a message carries (IAM of ADT-61, AL1 of ADT-00 and of order messages). */
struct msg_allergen {
    int8_t idx;       /* into gen_allergens */
    int8_t sev;       /* IAM-4 severity 0..2, -1 none */
    uint8_t reaction; /* the reaction text is written */
};

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
    char *hl7;       /* UTF-8 text, segments ended by CR */
    char *truth;     /* JSON value for the truth file, or NULL */
    char *pid_truth; /* patients without ADT-00: the patient JSON of this message's PID */
    struct msg_allergen al[8];
    uint8_t nal;
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
    /* issue 15 constructs, drawn from their own stream so the rest stays as it was */
    struct rng orng;
    int no_adt00;  /* the hospital never sent an ADT-00: every message carries a full PID */
    int al_orders; /* order messages carry AL1 segments */
    int al_extra;  /* an allergen written only in order messages, -1 none */
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

/* ---- rendering scaffolding shared by gen_sim.c and gen_orders.c ---- */

struct pool {
    char buf[32768];
    size_t used;
};

struct seg {
    const char *f[80];
    int n;
};

/* The message being rendered: its HL7 text, its truth and a string pool. */
struct rc {
    struct patient *p;
    mm_buf b;
    mm_buf t; /* truth JSON of the message */
    struct pool pl;
    int64_t ts;
    int type;
    const char *sys;           /* sending system */
    struct msg_allergen al[8]; /* allergens the message carries (copied to its struct msg) */
    uint8_t nal;
};

/* Format into the pool; the string lives until the pool is reset. */
__attribute__((format(printf, 2, 3))) const char *gen_pf(struct pool *pl, const char *fmt, ...);
/* Set field @i of a segment being built. */
void gen_sset(struct seg *s, int i, const char *v);
/* Append the segment @id with its fields to the message, and clear @s. */
void gen_emit(struct rc *r, const char *id, struct seg *s);
/* @s with the HL7 delimiters escaped. */
const char *gen_hesc(struct pool *pl, const char *s);
/* Append to the message's truth JSON. */
void gen_tputs(struct rc *r, const char *s);
__attribute__((format(printf, 2, 3))) void gen_tprintf(struct rc *r, const char *fmt, ...);
/* Append "key":"value" (value JSON-escaped), with a leading comma unless @first. */
void gen_tkv(struct rc *r, int first, const char *k, const char *v);
/* Start a new message of @type at @ts. */
void gen_rc_begin(struct rc *r, struct patient *p, int type, int64_t ts);
/* Time stamps of 14 and 12 digits and the date (8 digits) of @ms. */
const char *gen_ts14(struct pool *pl, int64_t ms);
const char *gen_ts12(struct pool *pl, int64_t ms);
const char *gen_ymd(struct pool *pl, int64_t ms);
/* XCN of doctor @doc. */
const char *gen_xcn(struct pool *pl, int doc);
/* The nurse who records an administration at @t. */
const struct doctor *gen_nurse_of(const struct patient *p, int64_t t);
/* Copy component @k (1-based) of the ^-separated @s into @out of @cap bytes. */
void gen_comp_of(const char *s, int k, char *out, size_t cap);
/* ,"doctor":"family given","doctor_id":"D0101" for the truth */
void gen_tdoctor(struct rc *r, int doc);
void gen_seg_msh(struct rc *r, const char *type3, uint32_t ctl);
/* PID; @full adds address, phones and the last update (a patient without ADT-00: always). */
void gen_seg_pid(struct rc *r, int full);
void gen_seg_pv1(struct rc *r, int inpatient, const char *loc, int dept, int doc);
/* ORC for an order; @ctl NW/CA/SC/PA/CH; @group ORC-4. */
void gen_seg_orc(struct rc *r, const char *ctl, const char *order, const char *group, int64_t txn,
                 int dept, int doc, int inpatient, const char *loc);
/* Add the rendered message to the patient's list (NULL when out of memory). */
struct msg *gen_add_msg(struct patient *p, struct rc *r, const char *date, const char *order,
                        int dept, int cancel, int tkind);
/* The next order number of the patient, of @digits (13 or 15). */
void gen_next_order(struct patient *p, char *out, int digits);

/* ---- orders (gen_orders.c) ---- */

/* Draw the patient's issue-15 traits (no ADT-00, allergies in orders) from p->orng. */
void gen_orders_init(struct patient *p, uint64_t seed);
/* AL1 segments of an order message (after PID) for a patient whose orders carry them. */
void gen_seg_al1_orders(struct rc *r);
/* A prescription order, sometimes revised (1 -> 2) or cancelled (-> 0) soon after. */
void gen_rx_order(struct rc *r, struct patient *p, int64_t t, const int *drugs, int nd, int days,
                  int inpatient, const char *loc, int dept);
/* OMP-11 (RAS^O17): the day's inpatient medication given. */
void gen_rx_given(struct rc *r, struct patient *p, int64_t t, const int *drugs, int nd,
                  const char *order, const char *loc, int dept);
/* OMP-02 (RDE^O11 injection order) for one day, and OMP-12 (RAS^O17) when given. */
void gen_inj_day(struct rc *r, struct patient *p, int64_t t, const int *inj, int ni,
                 const char *loc, int dept);

/*
 * Simulate patient @idx of the hospital for days [0, @end) from day number @start.
 * Fills p->msgs and p->exts (only those whose time falls before the end).
 * @return 0 or MM_ENOMEM
 */
int gen_simulate(struct patient *p, unsigned idx, uint64_t seed, int64_t start, int64_t end,
                 int extended);

/* Free everything gen_simulate() allocated. */
void gen_patient_release(struct patient *p);

/* ---- shared by gen_sim.c (the days), gen_render.c (segments, message list) and
 * gen_clinical.c (laboratory, examinations, documents) ---- */

/* Panels of a laboratory order (bits). */
enum { PANEL_CBC = 1, PANEL_CHEM = 2, PANEL_COAG = 4 };

struct labctx {
    int acute_cond;      /* condition pushing a lab acutely, or -1 */
    int64_t acute_start; /* day */
};

/* The patient's name as an XPN (kanji and kana repetitions). */
const char *gen_xpn(struct pool *pl, const struct patient *p);
/* The patient's address as one line of text. */
const char *gen_address_text(struct pool *pl, const struct patient *p);
/* EVN with the time the event occurred. */
void gen_seg_evn(struct rc *r, int64_t occurred);
/* The outpatient clinic of department @dept as a PL. */
const char *gen_clinic_loc(struct pool *pl, int dept);
/* The patient's age in whole years on day number @day. */
int gen_age_at(const struct patient *p, int64_t day);
/* A new extended-storage item of the patient (NULL when out of memory). */
struct ext *gen_add_ext(struct patient *p, int64_t ts, int kind, const char *typef, const char *key,
                        int dept);
/* Whether the patient has the chronic condition @cond. */
int gen_has_chronic(const struct patient *p, int cond);
/* OML-01 order and (unless cancelled) OML-11 result. */
void gen_lab_order(struct rc *r, struct patient *p, int64_t t, int panels, int inpatient,
                   const char *loc, int dept, const struct labctx *lc);
/* Examinations (OMG-01 orders, OMG-11 results, images in the extended storage) and a diet
 * order (OMD). */
void gen_radiology(struct rc *r, struct patient *p, int64_t t, int extended, int inpatient,
                   const char *loc, int dept);
void gen_endoscopy(struct rc *r, struct patient *p, int64_t t, int extended, const char *loc,
                   int dept);
void gen_ecg(struct rc *r, struct patient *p, int64_t t, const char *loc, int dept);
void gen_diet(struct rc *r, struct patient *p, int64_t t, const char *order, int kind,
              const char *loc, int dept);
/* A progress note as a CDA R2 document (UTF-8 XML) with SOAP sections. */
void gen_progress_note(struct rc *r, struct patient *p, int64_t t, int dept, const char *assess);
/* A one-page PDF: discharge summary or referral letter. */
void gen_pdf_doc(struct rc *r, struct patient *p, int64_t t, int dept, int referral,
                 const char *dxname, int64_t admit, int64_t discharge);

#endif
