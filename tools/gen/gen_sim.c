/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The clinical simulation of one patient for mamori-gen. Day by day it decides
 * outpatient visits, admissions (planned admission, admission, transfers,
 * leave, attending changes, discharge plan, discharge), orders and their
 * results, diagnoses and allergies, and renders every message as SS-MIX2 HL7
 * v2.5 in UTF-8 (gen.c encodes ISO-2022-JP). Each decision draws from the
 * patient's own PRNG stream, in day order, so the result does not depend on
 * how many days are generated or on the thread that runs it.
 */
#include "tools/gen/gen_sim.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"

const char *const gen_type_names[T_NTYPES] = {
    "ADT-00", "ADT-01", "ADT-12", "ADT-21", "ADT-22", "ADT-31", "ADT-32", "ADT-41", "ADT-42",
    "ADT-51", "ADT-52", "ADT-61", "PPR-01", "OMD",    "OMP-01", "OMP-02", "OMP-11", "OMP-12",
    "OML-01", "OML-11", "OMG-01", "OMG-02", "OMG-03", "OMG-11", "OMG-12", "OMG-13",
};

#define NINES "999999999999999"

static const char *const EXT_DISCHARGE = "^退院時サマリー^^18842-5^退院時サマリー^LN";
static const char *const EXT_REFERRAL = "^診療情報提供書^^57133-1^紹介状^LN";
static const char *const EXT_NOTE = "^経過記録^^11506-3^経過記録^LN";
static const char *const EXT_XRAY = "IMG-XR^単純Ｘ線画像^99ZL01";
static const char *const EXT_ENDO = "IMG-ES^内視鏡画像^99ZL01";

/* ---- rendering scaffolding ---------------------------------------------------------------- */

/* Format into the pool; the string lives until the pool is reset. */
const char *gen_pf(struct pool *pl, const char *fmt, ...)
{
    va_list ap;
    size_t room = sizeof(pl->buf) - pl->used;
    char *p = pl->buf + pl->used;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(p, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        return "";
    pl->used += (size_t)n + 1;
    return p;
}

void gen_sset(struct seg *s, int i, const char *v)
{
    s->f[i] = v;
    if (i > s->n)
        s->n = i;
}

void gen_emit(struct rc *r, const char *id, struct seg *s)
{
    int err = mm_buf_puts(&r->b, id);

    for (int i = 1; i <= s->n; i++) {
        err |= mm_buf_putc(&r->b, '|');
        if (s->f[i])
            err |= mm_buf_puts(&r->b, s->f[i]);
    }
    err |= mm_buf_putc(&r->b, '\r');
    if (err)
        r->p->oom = 1;
    memset(s, 0, sizeof(*s));
}

/* Append text with HL7 escaping of the delimiters. */
const char *gen_hesc(struct pool *pl, const char *s)
{
    char tmp[2048];
    size_t o = 0;

    for (; *s && o + 6 < sizeof(tmp); s++) {
        const char *e = NULL;
        switch (*s) {
        case '|':
            e = "\\F\\";
            break;
        case '^':
            e = "\\S\\";
            break;
        case '~':
            e = "\\R\\";
            break;
        case '&':
            e = "\\T\\";
            break;
        case '\\':
            e = "\\E\\";
            break;
        case '\n':
            e = "\\.br\\";
            break;
        default:
            break;
        }
        if (e) {
            memcpy(tmp + o, e, strlen(e));
            o += strlen(e);
        } else {
            tmp[o++] = *s;
        }
    }
    tmp[o] = '\0';
    return gen_pf(pl, "%s", tmp);
}

void gen_tputs(struct rc *r, const char *s)
{
    if (mm_buf_puts(&r->t, s))
        r->p->oom = 1;
}

void gen_tprintf(struct rc *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (mm_buf_vprintf(&r->t, fmt, ap))
        r->p->oom = 1;
    va_end(ap);
}

/* Append "key":"value" (value JSON-escaped), with a leading comma unless first. */
void gen_tkv(struct rc *r, int first, const char *k, const char *v)
{
    if (!first)
        gen_tputs(r, ",");
    gen_tprintf(r, "\"%s\":", k);
    if (mm_json_str(&r->t, v))
        r->p->oom = 1;
}

void gen_rc_begin(struct rc *r, struct patient *p, int type, int64_t ts)
{
    r->p = p;
    mm_buf_clear(&r->b);
    mm_buf_clear(&r->t);
    r->pl.used = 0;
    r->ts = ts;
    r->type = type;
    r->nal = 0;
}

/* ---- common segments ---------------------------------------------------------------------- */

const char *gen_ts14(struct pool *pl, int64_t ms)
{
    char b[24];

    fmt_ts(b, ms, 14);
    return gen_pf(pl, "%s", b);
}

const char *gen_ts12(struct pool *pl, int64_t ms)
{
    char b[24];

    fmt_ts(b, ms, 12);
    return gen_pf(pl, "%s", b);
}

const char *gen_ymd(struct pool *pl, int64_t ms)
{
    char b[24];

    fmt_ts(b, ms, 8);
    return gen_pf(pl, "%s", b);
}

static const char *xpn(struct pool *pl, const struct patient *p)
{
    return gen_pf(pl, "%s^%s^^^^^L^I~%s^%s^^^^^L^P", p->fam->kanji, p->giv->kanji, p->fam->kana,
                  p->giv->kana);
}

const char *gen_xcn(struct pool *pl, int doc)
{
    const struct doctor *d = &gen_doctors[doc % (int)gen_ndoctors];

    return gen_pf(pl, "%s^%s^%s^^^^^^^L^^^^^I", d->id, d->family, d->given);
}

/* The nurse who records an administration: one of a few, by patient and time. */
const struct doctor *gen_nurse_of(const struct patient *p, int64_t t)
{
    static const struct doctor nurses[] = {
        { "N2001", "看護", "花子", "カンゴ", "ハナコ" },
        { "N2002", "京田", "由美", "キョウダ", "ユミ" },
        { "N2003", "日高", "真理", "ヒダカ", "マリ" },
        { "N2004", "本田", "恵", "ホンダ", "メグミ" },
    };

    return &nurses[(p->idx + (uint64_t)(t / MS_PER_DAY)) % (sizeof(nurses) / sizeof(nurses[0]))];
}

/* Copy component @k (1-based) of the ^-separated @s into @out of @cap bytes. */
void gen_comp_of(const char *s, int k, char *out, size_t cap)
{
    const char *e;

    for (int i = 1; i < k && s; i++)
        if ((s = strchr(s, '^')) != NULL)
            s++;
    e = s ? strchr(s, '^') : NULL;
    snprintf(out, cap, "%.*s", s ? (int)(e ? (size_t)(e - s) : strlen(s)) : 0, s ? s : "");
}

/* ,"doctor":"family given","doctor_id":"D0101" for the truth */
void gen_tdoctor(struct rc *r, int doc)
{
    const struct doctor *d = &gen_doctors[doc % (int)gen_ndoctors];

    gen_tkv(r, 0, "doctor", gen_pf(&r->pl, "%s %s", d->family, d->given));
    gen_tkv(r, 0, "doctor_id", d->id);
}

static const char *address_text(struct pool *pl, const struct patient *p)
{
    const struct place *pc = &gen_places[p->place];

    return gen_pf(pl, "%s%s%s%s", pc->pref, pc->city, pc->town, p->street);
}

void gen_seg_msh(struct rc *r, const char *type3, uint32_t ctl)
{
    struct seg s = { 0 };
    struct pool *pl = &r->pl;
    int lab = r->type == T_OML11;
    int ris = r->type >= T_OMG11 && r->type <= T_OMG13;
    int adt = r->type <= T_PPR01;
    char t[24];

    fmt_ts(t, r->ts, 17);
    gen_sset(&s, 1, "^~\\&");
    /* MSH-1 is the separator itself: fields below are numbered as the standard counts, minus one */
    gen_sset(&s, 2, lab ? "LAB01" : ris ? "RIS01" : "HIS123");
    gen_sset(&s, 3, lab ? "LAB" : ris ? "RIS" : "SEND");
    gen_sset(&s, 4, "GW");
    gen_sset(&s, 5, "RCV");
    gen_sset(&s, 6, gen_pf(pl, "%.14s.%.3s", t, t + 14));
    gen_sset(&s, 8, type3);
    gen_sset(&s, 9, gen_pf(pl, "%.14s%05u", t, ctl % 100000));
    gen_sset(&s, 10, "P");
    gen_sset(&s, 11, "2.5");
    gen_sset(&s, 17, lab ? "~ISOIR87" : "~ISO IR87");
    gen_sset(&s, 19, adt ? "ISO 2022-1994" : "ISO2022-1994");
    gen_sset(&s, 20, "SS-MIX2_1.20^SS-MIX2^1.2.392.200250.2.1.100.1.2.120^ISO");
    gen_emit(r, "MSH", &s);
}

static void seg_evn(struct rc *r, int64_t occurred)
{
    struct seg s = { 0 };

    gen_sset(&s, 2, gen_ts12(&r->pl, r->ts));
    if (occurred >= 0)
        gen_sset(&s, 6, gen_ts12(&r->pl, occurred));
    gen_sset(&s, 7, "SEND001");
    gen_emit(r, "EVN", &s);
}

void gen_seg_pid(struct rc *r, int full)
{
    struct seg s = { 0 };
    struct patient *p = r->p;
    struct pool *pl = &r->pl;
    const struct place *pc = &gen_places[p->place];

    gen_sset(&s, 1, "0001");
    gen_sset(&s, 3, gen_pf(pl, "%s^^^^PI", p->pid));
    gen_sset(&s, 5, xpn(pl, p));
    gen_sset(&s, 7, gen_ymd(pl, p->birth * MS_PER_DAY));
    gen_sset(&s, 8, p->sex == 'M' ? "M" : "F");
    if (full || p->no_adt00) {
        gen_sset(&s, 11, gen_pf(pl, "^^^^%s^JPN^H^%s", pc->postal, address_text(pl, p)));
        gen_sset(&s, 13, gen_pf(pl, "^PRN^PH^^^^^^^^^%s~^ORN^CP^^^^^^^^^%s", p->phone, p->mobile));
        if (p->work[0])
            gen_sset(&s, 14, gen_pf(pl, "^WPN^PH^^^^^^^^^%s", p->work));
        gen_sset(&s, 33, gen_ts14(pl, r->ts - 3600 * 1000));
    }
    gen_emit(r, "PID", &s);
}

/* PV1 with the location of the patient: outpatient clinic, or ward^room^bed. */
void gen_seg_pv1(struct rc *r, int inpatient, const char *loc, int dept, int doc)
{
    struct seg s = { 0 };

    gen_sset(&s, 1, "0001");
    gen_sset(&s, 2, inpatient ? "I" : "O");
    gen_sset(&s, 3, loc);
    gen_sset(&s, 7, gen_xcn(&r->pl, doc));
    gen_sset(&s, 10, gen_depts[dept].code);
    gen_emit(r, "PV1", &s);
}

static const char *clinic_loc(struct pool *pl, int dept)
{
    return gen_pf(pl, "%s^^^^^C", gen_depts[dept].code);
}

/* ORC for an order; @ctl NW/CA/SC/PA/CH; @group ORC-4. */
void gen_seg_orc(struct rc *r, const char *ctl, const char *order, const char *group, int64_t txn,
                 int dept, int doc, int inpatient, const char *loc)
{
    struct seg s = { 0 };
    struct pool *pl = &r->pl;

    gen_sset(&s, 1, ctl);
    gen_sset(&s, 2, order);
    if (group)
        gen_sset(&s, 4, group);
    gen_sset(&s, 9, gen_ts14(pl, txn));
    gen_sset(&s, 10, "N0581^入力者^花子^^^^^^^L^^^^^I");
    gen_sset(&s, 12, gen_xcn(pl, doc));
    if (loc)
        gen_sset(&s, 13, loc);
    gen_sset(&s, 17, gen_pf(pl, "%s^%s^99XY1", gen_depts[dept].code, gen_depts[dept].name));
    gen_sset(&s, 21, "登呂総合病院");
    gen_sset(&s, 22, "^^^^422-8033^JPN^^静岡県静岡市駿河区登呂３－１－１");
    gen_sset(&s, 23, "^^^^^^^^^^^054-284-9122");
    gen_sset(&s, 29, inpatient ? "I^入院患者オーダ^HL70482" : "O^外来患者オーダ^HL70482");
    gen_emit(r, "ORC", &s);
}

/* ---- message list ------------------------------------------------------------------------- */

/* @arr with room for one more element (@used of *@cap in use), or NULL when out of memory. */
static void *grow(struct patient *p, void *arr, size_t *cap, size_t used, size_t elem)
{
    size_t ncap;
    void *n;

    if (used < *cap)
        return arr;
    ncap = *cap ? *cap * 2 : 32;
    n = mm_realloc(arr, ncap * elem);
    if (!n) {
        p->oom = 1;
        return NULL;
    }
    *cap = ncap;
    return n;
}

/* The patient JSON a full PID gives (a patient without ADT-00), malloc'd, or NULL. */
static char *pid_json(const struct patient *p)
{
    struct pool *pl = mm_malloc(sizeof(*pl));
    mm_buf b;
    char bd[12];
    int err;

    if (!pl)
        return NULL;
    pl->used = 0;
    mm_buf_init(&b, MM_LIMIT_JSON);
    fmt_date_iso(bd, p->birth);
    err = mm_buf_printf(&b, "{\"id\":\"%s\",\"name\":", p->pid);
    err |= mm_json_str(&b, gen_pf(pl, "%s %s", p->fam->kanji, p->giv->kanji));
    err |= mm_buf_puts(&b, ",\"kana\":");
    err |= mm_json_str(&b, gen_pf(pl, "%s %s", p->fam->kana, p->giv->kana));
    err |= mm_buf_printf(&b, ",\"birth_date\":\"%s\",\"sex\":\"%c\",\"postal_code\":\"%s\"", bd,
                         p->sex == 'M' ? 'M' : 'F', gen_places[p->place].postal);
    err |= mm_buf_puts(&b, ",\"address\":");
    err |= mm_json_str(&b, address_text(pl, p));
    err |= mm_buf_printf(
            &b,
            ",\"phone\":\"%s\",\"phones\":[{\"use\":\"PRN\",\"equipment\":\"PH\","
            "\"number\":\"%s\"},{\"use\":\"ORN\",\"equipment\":\"CP\",\"number\":\"%s\"}",
            p->phone, p->phone, p->mobile);
    if (p->work[0])
        err |= mm_buf_printf(&b, ",{\"use\":\"WPN\",\"equipment\":\"PH\",\"number\":\"%s\"}",
                             p->work);
    err |= mm_buf_puts(&b, "]}");
    mm_free(pl);
    if (err) {
        mm_buf_release(&b);
        return NULL;
    }
    return mm_buf_detach(&b);
}

struct msg *gen_add_msg(struct patient *p, struct rc *r, const char *date, const char *order,
                        int dept, int cancel, int tkind)
{
    struct msg *m;

    if (p->oom)
        return NULL;
    if (!(m = grow(p, p->msgs, &p->capmsgs, p->nmsgs, sizeof(*m))))
        return NULL;
    p->msgs = m;
    m = &p->msgs[p->nmsgs];
    memset(m, 0, sizeof(*m));
    /* the file is written a few seconds after the message time (MSH-7) */
    m->ts = r->ts + 300 + (int64_t)((p->msg_seq * 2654435761u + p->idx * 40503u) % 20000u);
    m->seq = p->msg_seq++;
    m->type = (uint8_t)r->type;
    m->cancel = (uint8_t)cancel;
    m->tkind = (uint8_t)tkind;
    m->tsdigits = r->type == T_OML11 ? 15 : 17;
    scpy(m->date, sizeof(m->date), date);
    scpy(m->order, sizeof(m->order), order);
    scpy(m->dept, sizeof(m->dept), dept < 0 ? "-" : gen_depts[dept].code);
    memcpy(m->al, r->al, sizeof(m->al));
    m->nal = r->nal;
    m->hl7 = mm_buf_detach(&r->b);
    if (!m->hl7) {
        p->oom = 1;
        return NULL;
    }
    if (p->no_adt00 && !(m->pid_truth = pid_json(p))) {
        mm_free(m->hl7);
        p->oom = 1;
        return NULL;
    }
    if (tkind != TK_NONE) {
        m->truth = mm_buf_detach(&r->t);
        if (!m->truth) {
            mm_free(m->hl7);
            mm_free(m->pid_truth);
            p->oom = 1;
            return NULL;
        }
    }
    p->nmsgs++;
    return m;
}

static struct ext *add_ext(struct patient *p, int64_t ts, int kind, const char *typef,
                           const char *key, int dept)
{
    struct ext *e;
    char d[16];

    if (p->oom)
        return NULL;
    if (!(e = grow(p, p->exts, &p->capexts, p->nexts, sizeof(*e))))
        return NULL;
    p->exts = e;
    e = &p->exts[p->nexts++];
    memset(e, 0, sizeof(*e));
    e->ts = ts;
    e->kind = kind;
    e->typef = typef;
    fmt_ts(d, ts, 8);
    scpy(e->date, sizeof(e->date), d);
    scpy(e->key, sizeof(e->key), key);
    scpy(e->dept, sizeof(e->dept), gen_depts[dept].code);
    e->seed = rng_next(&p->rng);
    return e;
}

void gen_next_order(struct patient *p, char *out, int digits)
{
    unsigned long long v = (unsigned long long)(p->idx + 1) * 100000ULL + (++p->order_seq % 100000);

    if (digits == 13)
        snprintf(out, 16, "%013llu", v % 10000000000000ULL);
    else
        snprintf(out, 16, "%015llu", v);
}

static int age_at(const struct patient *p, int64_t day)
{
    int y1, m1, d1, y2, m2, d2;

    civil_from_days(p->birth, &y1, &m1, &d1);
    civil_from_days(day, &y2, &m2, &d2);
    return y2 - y1 - ((m2 < m1 || (m2 == m1 && d2 < d1)) ? 1 : 0);
}

/* ---- patient-level messages --------------------------------------------------------------- */

static const char *const abo_names[] = { "A", "B", "O", "AB" };

/* A patient's emergency contact (the second NK1 of ADT-00). */
struct contact {
    const struct name_entry *giv;
    const char *rel_code, *rel, *postal, *address, *phone;
};

static struct contact emergency_contact(struct pool *pl, const struct patient *p, int64_t day)
{
    static const char *const rels[][2] = {
        { "SPO", "配偶者" }, { "CHD", "子" }, { "PAR", "親" }, { "SIB", "兄弟姉妹" }
    };
    uint64_t h = (uint64_t)p->idx * 2654435761u + 97;
    int child = age_at(p, day) < 20;
    int k = child ? 2 : (int)(h % 4); /* a child's contact is a parent, living with it */
    int home = k == 0 || child;
    int male = (k == 0) ? p->sex != 'M' : (int)((h >> 8) & 1);
    const struct place *pc = &gen_places[home ? p->place : (int)((h >> 12) % gen_nplaces)];
    struct contact c;

    c.giv = male ? &gen_given_m[(h >> 16) % gen_ngiven_m] : &gen_given_f[(h >> 16) % gen_ngiven_f];
    c.rel_code = rels[k][0];
    c.rel = rels[k][1];
    c.postal = pc->postal;
    c.address = home ? address_text(pl, p)
                     : gen_pf(pl, "%s%s%s%u－%u－%u", pc->pref, pc->city, pc->town,
                              (unsigned)(h >> 20) % 9 + 1, (unsigned)(h >> 24) % 20 + 1,
                              (unsigned)(h >> 28) % 30 + 1);
    h = (h ^ (h >> 31)) * 0x9E3779B97F4A7C15ull; /* mixed, for the digits */
    c.phone = gen_pf(pl, "0%u0-%04u-%04u", k == 1 ? 8u : 9u, (unsigned)(h >> 20) % 10000,
                     (unsigned)(h >> 40) % 10000);
    return c;
}

/* ADT-00 (ADT^A08): demographics, next of kin, height/weight/blood type, allergies, insurance. */
static void msg_adt00(struct rc *r, struct patient *p, int64_t ts, int inpatient)
{
    struct seg s = { 0 };
    struct pool *pl = &r->pl;
    const struct place *pc = &gen_places[p->place];
    struct contact ec = { 0 };
    char bd[12];

    if (p->no_adt00) {
        p->msg_seq++; /* the hospital never sends it; later messages keep their times */
        return;
    }
    gen_rc_begin(r, p, T_ADT00, ts);
    gen_seg_msh(r, "ADT^A08^ADT_A01", p->msg_seq);
    seg_evn(r, -1);
    gen_seg_pid(r, 1);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 2, xpn(pl, p));
    gen_sset(&s, 3, "SEL^本人^HL70063");
    gen_sset(&s, 4, gen_pf(pl, "^^^^%s^JPN^H^%s", pc->postal, address_text(pl, p)));
    gen_sset(&s, 5, gen_pf(pl, "^PRN^PH^^^^^^^^^%s", p->phone));
    gen_sset(&s, 13, gen_pf(pl, "%s^D", gen_employers[p->employer]));
    gen_emit(r, "NK1", &s);
    if (p->idx % 5 != 4) {
        /* an emergency contact: spouse, child, parent or sibling, by patient (no draw from the
         * patient's random stream, so that the rest of the storage stays as it was) */
        ec = emergency_contact(pl, p, ts / MS_PER_DAY);
        gen_sset(&s, 1, "2");
        gen_sset(&s, 2,
                 gen_pf(pl, "%s^%s^^^^^L^I~%s^%s^^^^^L^P", p->fam->kanji, ec.giv->kanji,
                        p->fam->kana, ec.giv->kana));
        gen_sset(&s, 3, gen_pf(pl, "%s^%s^HL70063", ec.rel_code, ec.rel));
        gen_sset(&s, 4, gen_pf(pl, "^^^^%s^JPN^H^%s", ec.postal, ec.address));
        gen_sset(&s, 5, gen_pf(pl, "^PRN^CP^^^^^^^^^%s", ec.phone));
        gen_sset(&s, 7, "C^緊急連絡先^HL70131");
        gen_emit(r, "NK1", &s);
    }
    gen_seg_pv1(r, inpatient,
                inpatient ? gen_pf(pl, "%s^^^^^N^^^%s", gen_wards[0].code, gen_wards[0].name)
                          : clinic_loc(pl, p->dept),
                p->dept, p->doctor);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 2, "NM");
    gen_sset(&s, 3, "9N001000000000001^身長^JC10");
    gen_sset(&s, 5, gen_pf(pl, "%.1f", p->height));
    gen_sset(&s, 6, "cm^cm^ISO+");
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    gen_sset(&s, 1, "2");
    gen_sset(&s, 2, "NM");
    gen_sset(&s, 3, "9N006000000000001^体重^JC10");
    gen_sset(&s, 5, gen_pf(pl, "%.1f", p->weight));
    gen_sset(&s, 6, "kg^kg^ISO+");
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    gen_sset(&s, 1, "3");
    gen_sset(&s, 2, "CWE");
    gen_sset(&s, 3, "5H010000009199911^血液型-ABO式^JC10");
    gen_sset(&s, 5, gen_pf(pl, "%s^%s^JSHR002", p->abo, p->abo));
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    gen_sset(&s, 1, "4");
    gen_sset(&s, 2, "CWE");
    gen_sset(&s, 3, "5H020000009199911^血液型-Rh式^JC10");
    gen_sset(&s, 5, p->rh == '+' ? "+^Rh+^JSHR002" : "-^Rh-^JSHR002");
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    for (int i = 0; i < p->nallergy; i++) {
        const struct allergen *a = &gen_allergens[p->allergy[i]];
        gen_sset(&s, 1, gen_pf(pl, "%d", i + 1));
        gen_sset(&s, 2, gen_pf(pl, "%s^%s^HL70127", a->type, a->type_name));
        gen_sset(&s, 3, gen_pf(pl, "%s^%s^%s", a->code, a->name, a->system));
        gen_emit(r, "AL1", &s);
        if (r->nal < 8)
            r->al[r->nal++] = (struct msg_allergen){ (int8_t)p->allergy[i], -1, 0 };
    }
    gen_sset(&s, 1, "1");
    gen_sset(&s, 2,
             p->idx % 3 ? "01^全国健康保険協会管掌健康保険^JHSD0001" : "67^国民健康保険^JHSD0001");
    gen_sset(&s, 3, gen_pf(pl, "%08u", 1130012 + p->idx % 97));
    gen_sset(&s, 12, gen_pf(pl, "%04d0401", 2020 + (int)(p->idx % 5)));
    gen_sset(&s, 17, "SEL^本人^HL70063");
    gen_emit(r, "IN1", &s);

    fmt_date_iso(bd, p->birth);
    gen_tputs(r, "{");
    gen_tkv(r, 1, "id", p->pid);
    gen_tkv(r, 0, "name", gen_pf(pl, "%s %s", p->fam->kanji, p->giv->kanji));
    gen_tkv(r, 0, "kana", gen_pf(pl, "%s %s", p->fam->kana, p->giv->kana));
    gen_tkv(r, 0, "birth_date", bd);
    gen_tkv(r, 0, "sex", p->sex == 'M' ? "M" : "F");
    gen_tkv(r, 0, "postal_code", pc->postal);
    gen_tkv(r, 0, "address", address_text(pl, p));
    gen_tkv(r, 0, "phone", p->phone);
    gen_tkv(r, 0, "blood_type", gen_pf(pl, "%s%c", p->abo, p->rh));
    gen_tprintf(r, ",\"height_cm\":%.1f,\"weight_kg\":%.1f", p->height, p->weight);
    gen_tputs(r, ",\"phones\":[");
    gen_tputs(r, "{\"use\":\"PRN\",\"equipment\":\"PH\"");
    gen_tkv(r, 0, "number", p->phone);
    gen_tputs(r, "},{\"use\":\"ORN\",\"equipment\":\"CP\"");
    gen_tkv(r, 0, "number", p->mobile);
    gen_tputs(r, "}");
    if (p->work[0]) {
        gen_tputs(r, ",{\"use\":\"WPN\",\"equipment\":\"PH\"");
        gen_tkv(r, 0, "number", p->work);
        gen_tputs(r, "}");
    }
    gen_tputs(r, "],\"contacts\":[");
    if (ec.giv) {
        gen_tputs(r, "{");
        gen_tkv(r, 1, "name", gen_pf(pl, "%s %s", p->fam->kanji, ec.giv->kanji));
        gen_tkv(r, 0, "kana", gen_pf(pl, "%s %s", p->fam->kana, ec.giv->kana));
        gen_tkv(r, 0, "relationship_code", ec.rel_code);
        gen_tkv(r, 0, "relationship", ec.rel);
        gen_tkv(r, 0, "postal_code", ec.postal);
        gen_tkv(r, 0, "address", ec.address);
        gen_tputs(r, ",\"phones\":[{\"use\":\"PRN\",\"equipment\":\"CP\"");
        gen_tkv(r, 0, "number", ec.phone);
        gen_tputs(r, "}]}");
    }
    gen_tputs(r, "],\"insurance\":[{");
    gen_tkv(r, 1, "plan_code", p->idx % 3 ? "01" : "67");
    gen_tkv(r, 0, "plan_name", p->idx % 3 ? "全国健康保険協会管掌健康保険" : "国民健康保険");
    gen_tkv(r, 0, "insurer_no", gen_pf(pl, "%08u", 1130012 + p->idx % 97));
    gen_tkv(r, 0, "valid_from", gen_pf(pl, "%04d-04-01", 2020 + (int)(p->idx % 5)));
    gen_tkv(r, 0, "relation_code", "SEL");
    gen_tkv(r, 0, "relation", "本人");
    gen_tputs(r, "}]}");
    gen_add_msg(p, r, "-", NINES, -1, 0, TK_DEMO);
}

/* ADT-61 (ADT^A60): allergies as IAM segments. */
static void msg_adt61(struct rc *r, struct patient *p, int64_t ts)
{
    static const char *const sev[] = { "MI^軽度^HL70128", "MO^中等度^HL70128", "SV^重度^HL70128" };
    struct seg s = { 0 };
    struct pool *pl = &r->pl;

    gen_rc_begin(r, p, T_ADT61, ts);
    gen_seg_msh(r, "ADT^A60^ADT_A60", p->msg_seq);
    seg_evn(r, -1);
    gen_seg_pid(r, 0);
    gen_tputs(r, "[");
    for (int i = 0; i < p->nallergy; i++) {
        const struct allergen *a = &gen_allergens[p->allergy[i]];
        int sv = (p->allergy[i] * 7 + (int)p->idx) % 3;
        gen_sset(&s, 1, gen_pf(pl, "%d", i + 1));
        gen_sset(&s, 2, gen_pf(pl, "%s^%s^HL70127", a->type, a->type_name));
        gen_sset(&s, 3, gen_pf(pl, "%s^%s^%s", a->code, a->name, a->system));
        gen_sset(&s, 4, sev[sv]);
        gen_sset(&s, 5, a->reaction);
        gen_sset(&s, 6, "A^追加^HL70323");
        gen_sset(&s, 11, gen_pf(pl, "%04d", 1990 + (int)((p->idx + (unsigned)i) % 30)));
        gen_emit(r, "IAM", &s);
        if (r->nal < 8)
            r->al[r->nal++] = (struct msg_allergen){ (int8_t)p->allergy[i], (int8_t)sv, 1 };
        gen_tputs(r, i ? ",{" : "{");
        gen_tkv(r, 1, "type", a->type);
        gen_tkv(r, 0, "code", a->code);
        gen_tkv(r, 0, "name", a->name);
        gen_tkv(r, 0, "severity", gen_pf(pl, "%.2s", sev[sv]));
        gen_tkv(r, 0, "reaction", a->reaction);
        gen_tputs(r, "}");
    }
    gen_tputs(r, "]");
    gen_add_msg(p, r, "-", NINES, -1, 0, TK_ALLERGY);
}

/* PPR-01 (PPR^ZD1): every diagnosis of the patient, active and ended, in one file. */
static void msg_ppr01(struct rc *r, struct patient *p, int64_t ts)
{
    struct seg s = { 0 };
    struct pool *pl = &r->pl;
    int na = 0, nr = 0;
    mm_buf act, res;

    gen_rc_begin(r, p, T_PPR01, ts);
    gen_seg_msh(r, "PPR^ZD1^PPR_ZD1", p->msg_seq);
    gen_seg_pid(r, 0);
    gen_seg_pv1(r, p->admitted, p->admitted ? "3E^^^^^N" : clinic_loc(pl, p->dept), p->dept,
                p->doctor);
    mm_buf_init(&act, MM_LIMIT_JSON);
    mm_buf_init(&res, MM_LIMIT_JSON);
    for (int i = 0; i < p->ndx; i++) {
        const struct dx *d = &p->dx[i];
        const struct condition *c = &gen_conditions[d->cond];
        int ended = d->end >= 0 && d->end * MS_PER_DAY <= ts;
        char sd[12], ed[12];
        mm_buf *tb = ended ? &res : &act;

        if (d->start * MS_PER_DAY > ts)
            continue;
        gen_sset(&s, 1, "AD");
        gen_sset(&s, 2, gen_ymd(pl, ts));
        gen_sset(&s, 3, gen_pf(pl, "%s^%s^MDCDX2", c->medis, c->name));
        gen_sset(&s, 4, d->inst);
        gen_sset(&s, 7, gen_ymd(pl, d->start * MS_PER_DAY));
        if (ended)
            gen_sset(&s, 9, gen_ymd(pl, d->end * MS_PER_DAY));
        gen_sset(&s, 10,
                 gen_pf(pl, "%s^^I10^%s", c->icd10,
                        p->admitted ? "H^入院時^JHSD0004" : "O^外来時^JHSD0004"));
        if (d->suspected)
            gen_sset(&s, 13, "1^疑い^JHSD0005");
        if (ended)
            gen_sset(&s, 14, d->outcome == 'F' ? "F^治癒^HL70241" : "R^軽快^HL70241");
        gen_sset(&s, 15, gen_ymd(pl, ended ? d->end * MS_PER_DAY : d->start * MS_PER_DAY));
        gen_sset(&s, 16, gen_ymd(pl, d->start * MS_PER_DAY));
        gen_sset(&s, 17, gen_pf(pl, "%s%s", c->name, d->suspected ? "の疑い" : ""));
        if (d->main)
            gen_sset(&s, 18, "1^主診断^JHSD0007");
        gen_emit(r, "PRB", &s);
        gen_sset(&s, 2, gen_pf(pl, "%s^%s^MDCDX2", c->medis, c->name));
        gen_sset(&s, 5, gen_pf(pl, "%s^%s^MDCDX2", c->exch, c->name));
        gen_emit(r, "ZPR", &s);

        fmt_date_iso(sd, d->start);
        mm_buf_puts(tb, (ended ? nr++ : na++) ? ",{" : "{");
        mm_buf_puts(tb, "\"name\":");
        mm_json_str(tb, c->name);
        mm_buf_printf(tb, ",\"icd10\":\"%s\",\"medis\":\"%s\",\"start_date\":\"%s\"", c->icd10,
                      c->medis, sd);
        if (ended) {
            fmt_date_iso(ed, d->end);
            mm_buf_printf(tb, ",\"end_date\":\"%s\",\"outcome\":\"%c\"", ed, d->outcome);
        }
        mm_buf_printf(tb, ",\"main\":%s,\"suspected\":%s}", d->main ? "true" : "false",
                      d->suspected ? "true" : "false");
    }
    gen_seg_orc(r, "NW", NINES, NULL, ts, p->dept, p->doctor, p->admitted, NULL);
    gen_tprintf(r, "{\"active\":[%s],\"resolved\":[%s]}", act.ptr ? act.ptr : "",
                res.ptr ? res.ptr : "");
    if (act.len + res.len > 0 && (!act.ptr && !res.ptr))
        p->oom = 1;
    mm_buf_release(&act);
    mm_buf_release(&res);
    gen_add_msg(p, r, "-", NINES, p->dept, 0, TK_DIAG);
}

static void add_dx(struct patient *p, int cond, int64_t start, int64_t end, int suspected, int main,
                   char outcome)
{
    struct dx *d;

    if (p->ndx == (int)(sizeof(p->dx) / sizeof(p->dx[0]))) {
        /* drop the oldest ended diagnosis to make room; chronic ones never end */
        int k = 0;
        while (k < p->ndx && p->dx[k].end < 0)
            k++;
        if (k == p->ndx)
            return;
        memmove(&p->dx[k], &p->dx[k + 1], (size_t)(p->ndx - k - 1) * sizeof(p->dx[0]));
        p->ndx--;
    }
    d = &p->dx[p->ndx++];
    d->cond = cond;
    d->start = start;
    d->end = end;
    d->suspected = suspected;
    d->main = main;
    d->outcome = outcome;
    snprintf(d->inst, sizeof(d->inst), "%05u%010u", p->idx % 100000,
             (unsigned)(p->ndx * 7919 + (int)start));
}

/* ---- laboratory --------------------------------------------------------------------------- */

enum { PANEL_CBC = 1, PANEL_CHEM = 2, PANEL_COAG = 4 };

struct labctx {
    int acute_cond;      /* condition pushing a lab acutely, or -1 */
    int64_t acute_start; /* day */
};

static int has_chronic(const struct patient *p, int cond)
{
    for (int i = 0; i < p->nchronic; i++)
        if (p->chronic[i] == cond)
            return 1;
    return 0;
}

static double lab_value(struct patient *p, int l, int64_t day, const struct labctx *lc)
{
    const struct lab *lb = &gen_labs[l];
    double v = p->lab_base[l];

    for (int i = 0; i < p->nchronic; i++) {
        const struct condition *c = &gen_conditions[p->chronic[i]];
        if (c->lab_effect == l)
            v += c->effect * lb->sd * (0.6 + 0.4 * exp(-(double)(day - p->reg_day) / 180.0));
    }
    if (lc && lc->acute_cond >= 0 && gen_conditions[lc->acute_cond].lab_effect == l)
        v += gen_conditions[lc->acute_cond].effect * lb->sd *
             exp(-(double)(day - lc->acute_start) / 3.0);
    v += rng_normal(&p->rng) * 0.35 * lb->sd;
    if (v < 0)
        v = lb->decimals ? pow(10, -lb->decimals) : 0;
    return v;
}

/* Which labs a panel holds for this patient. @return count written to @out */
static int panel_labs(const struct patient *p, int panels, int *out)
{
    static const int chem[] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 15 };
    int n = 0;

    if (panels & PANEL_CBC)
        for (int l = 0; l < 3; l++)
            out[n++] = l;
    if (panels & PANEL_CHEM) {
        for (size_t i = 0; i < sizeof(chem) / sizeof(chem[0]); i++)
            out[n++] = chem[i];
        for (int i = 0; i < p->nchronic; i++) {
            int e = gen_conditions[p->chronic[i]].lab_effect;
            if (e == 12 || e == 13 || e == 17) {
                out[n++] = e;
                if (e == 13)
                    out[n++] = 14;
            }
        }
    }
    if (panels & PANEL_COAG)
        out[n++] = 16;
    return n;
}

static const char *specimen_of(int l)
{
    return gen_labs[l].group == 0   ? "019^全血^JC10"
           : gen_labs[l].group == 2 ? "022^血漿^JC10"
                                    : "023^血清^JC10";
}

static const char *group_of(int l)
{
    return gen_labs[l].group == 0   ? "E001^血液学的検査^99O03"
           : gen_labs[l].group == 2 ? "E003^凝固検査^99O03"
                                    : "E002^生化学的検査^99O03";
}

/* OML-01 order and (unless cancelled) OML-11 result. */
static void lab_order(struct rc *r, struct patient *p, int64_t t, int panels, int inpatient,
                      const char *loc, int dept, const struct labctx *lc)
{
    struct seg s = { 0 };
    struct pool *pl;
    int labs[32], n = panel_labs(p, panels, labs);
    char order[16], date[12], spec[24];
    int64_t collect = t + 15 * MS_PER_MIN;
    int64_t day = t / MS_PER_DAY;
    int cancelled = rng_chance(&p->rng, 0.02);

    gen_next_order(p, order, 15);
    fmt_ts(date, t, 8);
    gen_rc_begin(r, p, T_OML01, t);
    pl = &r->pl;
    gen_seg_msh(r, "OML^O33^OML_O33", p->msg_seq);
    gen_seg_pid(r, 0);
    gen_seg_pv1(r, inpatient, loc, dept, p->doctor);
    for (int g = 0; g < 3; g++) {
        int first = 1;
        for (int i = 0; i < n; i++) {
            if (gen_labs[labs[i]].group != g)
                continue;
            if (first) {
                gen_sset(&s, 1, gen_pf(pl, "%d", g + 1));
                gen_sset(&s, 4,
                         gen_pf(pl, "%s^01^%s^99Z01", specimen_of(labs[i]),
                                g == 0   ? "全血"
                                : g == 2 ? "血漿"
                                         : "血清"));
                gen_sset(&s, 17, gen_ts12(pl, collect));
                gen_emit(r, "SPM", &s);
                gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, inpatient, loc);
                gen_sset(&s, 1, "1");
                gen_sset(&s, 2, order);
                gen_sset(&s, 4, group_of(labs[i]));
                gen_sset(&s, 16, gen_xcn(pl, p->doctor));
                gen_emit(r, "OBR", &s);
                first = 0;
            }
            gen_sset(&s, 1, gen_pf(pl, "%d", i + 1));
            gen_sset(&s, 3,
                     gen_pf(pl, "%s^%s^JC10^%s^%s^99X03", gen_labs[labs[i]].jlac10,
                            gen_labs[labs[i]].name, gen_labs[labs[i]].local,
                            gen_labs[labs[i]].name));
            gen_sset(&s, 11, "O");
            gen_emit(r, "OBX", &s);
        }
    }
    gen_add_msg(p, r, date, order, dept, 0, TK_NONE);

    if (cancelled) {
        gen_rc_begin(r, p, T_OML01, t + 7 * MS_PER_MIN);
        gen_seg_msh(r, "OML^O33^OML_O33", p->msg_seq);
        gen_seg_pid(r, 0);
        gen_seg_pv1(r, inpatient, loc, dept, p->doctor);
        gen_seg_orc(r, "CA", order, NULL, t + 7 * MS_PER_MIN, dept, p->doctor, inpatient, loc);
        gen_add_msg(p, r, date, order, dept, 1, TK_NONE);
        return;
    }

    /* result, 1-3 hours after collection */
    int64_t rep = collect + (60 + rng_below(&p->rng, 120)) * MS_PER_MIN;
    snprintf(spec, sizeof(spec), "%015llu",
             (unsigned long long)(p->idx + 1) * 1000000ULL + p->order_seq);
    gen_rc_begin(r, p, T_OML11, rep);
    pl = &r->pl;
    gen_seg_msh(r, "OUL^R22^OUL_R22", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_pv1(r, inpatient, loc, dept, p->doctor);
    gen_tputs(r, "[");
    int nt = 0;
    for (int g = 0; g < 3; g++) {
        int first = 1, k = 0;
        for (int i = 0; i < n; i++) {
            const struct lab *lb = &gen_labs[labs[i]];
            double lo = p->sex == 'M' ? lb->lo_m : lb->lo_f,
                   hi = p->sex == 'M' ? lb->hi_m : lb->hi_f;
            double v;
            const char *flag, *val, *range;
            char cat[24];

            if (lb->group != g)
                continue;
            if (first) {
                gen_sset(&s, 1, gen_pf(pl, "%d", g + 1));
                gen_sset(&s, 2, spec);
                gen_sset(&s, 4, specimen_of(labs[i]));
                gen_sset(&s, 17, gen_ts12(pl, collect));
                gen_emit(r, "SPM", &s);
                gen_sset(&s, 1, "1");
                gen_sset(&s, 2, order);
                gen_sset(&s, 3, spec);
                gen_sset(&s, 4, group_of(labs[i]));
                gen_sset(&s, 7, gen_ts12(pl, collect));
                gen_sset(&s, 16, gen_xcn(pl, p->doctor));
                gen_sset(&s, 22, gen_ts14(pl, rep));
                gen_sset(&s, 25, "F");
                gen_emit(r, "OBR", &s);
                gen_sset(&s, 1, "SC");
                gen_sset(&s, 2, order);
                gen_sset(&s, 3, spec);
                gen_sset(&s, 5, "CM");
                gen_sset(&s, 9, gen_ts14(pl, rep));
                gen_sset(&s, 12, gen_xcn(pl, p->doctor));
                gen_sset(&s, 13, loc);
                gen_sset(&s, 17,
                         gen_pf(pl, "%s^%s^99XY1", gen_depts[dept].code, gen_depts[dept].name));
                gen_sset(&s, 29,
                         inpatient ? "I^入院患者オーダ^HL70482" : "O^外来患者オーダ^HL70482");
                gen_emit(r, "ORC", &s);
                first = 0;
            }
            v = lab_value(p, labs[i], day, lc);
            val = gen_pf(pl, "%.*f", lb->decimals, v);
            range = gen_pf(pl, "%.*f-%.*f", lb->decimals, lo, lb->decimals, hi);
            /* flag from the value as written, so a reader can recompute it */
            double vw = strtod(val, NULL);
            flag = vw > hi ? "H" : vw < lo ? "L" : "";
            gen_sset(&s, 1, gen_pf(pl, "%d", ++k));
            gen_sset(&s, 2, "NM");
            gen_sset(&s, 3,
                     gen_pf(pl, "%s^%s^JC10^%s^%s^99X03", lb->jlac10, lb->name, lb->local,
                            lb->name));
            gen_sset(&s, 5, val);
            if (lb->unit[0])
                gen_sset(&s, 6, gen_pf(pl, "%s^%s^99XYZ", lb->unit, lb->unit));
            gen_sset(&s, 7, range);
            gen_sset(&s, 8, flag);
            gen_sset(&s, 11, "F");
            gen_sset(&s, 14, gen_ts12(pl, collect));
            gen_emit(r, "OBX", &s);
            fmt_ts(cat, collect, 12);
            gen_tputs(r, nt++ ? ",{" : "{");
            gen_tkv(r, 1, "code", lb->jlac10);
            gen_tkv(r, 0, "name", lb->name);
            gen_tkv(r, 0, "value", val);
            gen_tkv(r, 0, "unit", lb->unit);
            gen_tkv(r, 0, "range", range);
            gen_tkv(r, 0, "flag", flag);
            gen_tkv(r, 0, "collected_at",
                    gen_pf(pl, "%.4s-%.2s-%.2sT%.2s:%.2s", cat, cat + 4, cat + 6, cat + 8,
                           cat + 10));
            gen_tkv(r, 0, "order_no", order);
            gen_tputs(r, "}");
        }
    }
    gen_tputs(r, "]");
    fmt_ts(date, collect, 8); /* the OML-11 care date is SPM-17 */
    gen_add_msg(p, r, date, order, dept, 0, TK_LAB);
}

/* ---- ADT events --------------------------------------------------------------------------- */

struct adtx {
    int inpatient;
    const char *loc, *prior;
    int dept, doc;
    int64_t pv1_44, pv1_45, pv2_8, pv2_9, pv2_47, evn6; /* ms, or -1 */
    const char *disp;
};

static void adtx_init(struct adtx *x, int inpatient, const char *loc, int dept, int doc)
{
    memset(x, 0, sizeof(*x));
    x->inpatient = inpatient;
    x->loc = loc;
    x->dept = dept;
    x->doc = doc;
    x->pv1_44 = x->pv1_45 = x->pv2_8 = x->pv2_9 = x->pv2_47 = x->evn6 = -1;
}

/* An ADT message; @truth is the encounter JSON (NULL for none), @date the care-date folder. */
static void msg_adt(struct rc *r, struct patient *p, int type, const char *msgtype, int64_t ts,
                    const char *date, const struct adtx *x, int cancel, const char *truth)
{
    struct seg s = { 0 };
    struct pool *pl = &r->pl;

    /* no gen_rc_begin() here: @truth lives in the caller's pool, which must survive */
    mm_buf_clear(&r->b);
    mm_buf_clear(&r->t);
    r->type = type;
    r->ts = ts;
    r->nal = 0;
    if (truth && !cancel)
        gen_tputs(r, truth);
    gen_seg_msh(r, msgtype, p->msg_seq);
    seg_evn(r, x->evn6);
    gen_seg_pid(r, 0);
    gen_sset(&s, 1, "0001");
    gen_sset(&s, 2, x->inpatient ? "I" : "O");
    gen_sset(&s, 3, x->loc);
    if (x->prior)
        gen_sset(&s, 6, x->prior);
    gen_sset(&s, 7, gen_xcn(pl, x->doc));
    /* this sender writes the department as code^name (others, below, the code alone) */
    gen_sset(&s, 10, gen_pf(pl, "%s^%s^99Z01", gen_depts[x->dept].code, gen_depts[x->dept].name));
    if (x->inpatient)
        gen_sset(&s, 17, gen_xcn(pl, x->doc));
    if (x->disp)
        gen_sset(&s, 36, x->disp);
    if (x->pv1_44 >= 0)
        gen_sset(&s, 44, gen_ts12(pl, x->pv1_44));
    if (x->pv1_45 >= 0)
        gen_sset(&s, 45, gen_ts12(pl, x->pv1_45));
    gen_emit(r, "PV1", &s);
    if (x->pv2_8 >= 0 || x->pv2_9 >= 0 || x->pv2_47 >= 0) {
        if (x->pv2_8 >= 0)
            gen_sset(&s, 8, gen_ts12(pl, x->pv2_8));
        if (x->pv2_9 >= 0)
            gen_sset(&s, 9, gen_ts12(pl, x->pv2_9));
        if (x->pv2_47 >= 0)
            gen_sset(&s, 47, gen_ts12(pl, x->pv2_47));
        gen_emit(r, "PV2", &s);
    }
    gen_add_msg(p, r, date, NINES, x->dept, cancel, truth && !cancel ? TK_ENC : TK_NONE);
}

/* Start an encounter truth object with kind, date (ISO) and department. */
static const char *enc_json(struct pool *pl, const char *kind, int64_t ms, int dept,
                            const char *extra)
{
    char d[24];

    fmt_ts(d, ms, 12);
    return gen_pf(
            pl,
            "{\"kind\":\"%s\",\"date\":\"%.4s-%.2s-%.2s\",\"time\":\"%.2s:%.2s\",\"dept\":\"%s\",\"dept_name\":\"%s\"%s}",
            kind, d, d + 4, d + 6, d + 8, d + 10, gen_depts[dept].code, gen_depts[dept].name,
            extra ? extra : "");
}

/* ---- examinations ------------------------------------------------------------------------- */

static void seg_tq1_routine(struct rc *r)
{
    struct seg s = { 0 };

    gen_sset(&s, 1, "1");
    gen_sset(&s, 9, "R^ルーチン^HL70485");
    gen_emit(r, "TQ1", &s);
}

static void seg_obr_exam(struct rc *r, const char *order, const char *code, int64_t done, int doc,
                         const char *parent)
{
    struct seg s = { 0 };

    gen_sset(&s, 2, order);
    gen_sset(&s, 4, code);
    if (done >= 0)
        gen_sset(&s, 7, gen_ts14(&r->pl, done));
    gen_sset(&s, 16, gen_xcn(&r->pl, doc));
    if (done >= 0) {
        gen_sset(&s, 22, gen_ts14(&r->pl, done + 20 * MS_PER_MIN));
        gen_sset(&s, 25, "F");
    }
    if (parent)
        gen_sset(&s, 29, parent);
    gen_emit(r, "OBR", &s);
}

static void seg_ipc(struct rc *r, struct patient *p, const char *order, const char *mod)
{
    struct seg s = { 0 };

    gen_sset(&s, 1, gen_pf(&r->pl, "A%s", order));
    gen_sset(&s, 2, gen_pf(&r->pl, "P%s", order + 5));
    gen_sset(&s, 3, gen_pf(&r->pl, "1.2.392.200036.9116.2.5.1.%u.%s", p->idx + 1, order));
    gen_sset(&s, 5, gen_pf(&r->pl, "%s^^DCM", mod));
    gen_emit(r, "IPC", &s);
}

static const char *const xr_exams[][2] = {
    { "10000002000102000000010000000000", "胸部.Ｘ線単純撮影.立位正面(P→A)" },
    { "10000002500102000000010000000000", "腹部.Ｘ線単純撮影.立位正面(A→P)" },
    { "10000004300102000000010000000000", "腰椎.Ｘ線単純撮影.正面" },
};

static void add_images(struct patient *p, int64_t t, int kind, const char *order, int dept, int n,
                       const char *exam)
{
    struct ext *e = add_ext(p, t, kind, kind == E_XRAY ? EXT_XRAY : EXT_ENDO, order, dept);
    char d[12];

    if (!e)
        return;
    e->nimages = n;
    fmt_date_iso(d, t / MS_PER_DAY);
    e->title = mm_strdup(exam);
    e->truth = mm_malloc(256);
    if (!e->title || !e->truth) {
        p->oom = 1;
        return;
    }
    snprintf(e->truth, 256, "{\"kind\":\"%s\",\"date\":\"%s\",\"order_no\":\"%s\",\"count\":%d}",
             kind == E_XRAY ? "xray" : "endoscopy", d, order, n);
}

static void radiology(struct rc *r, struct patient *p, int64_t t, int extended, int inpatient,
                      const char *loc, int dept)
{
    char order[16], date[12];
    int ex = (int)rng_below(&p->rng, 3);
    const char *code;

    gen_next_order(p, order, 13);
    fmt_ts(date, t, 8);
    gen_rc_begin(r, p, T_OMG01, t);
    code = gen_pf(&r->pl, "%s^%s^JJ1017", xr_exams[ex][0], xr_exams[ex][1]);
    gen_seg_msh(r, "OMG^O19^OMG_O19", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_pv1(r, inpatient, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, inpatient, loc);
    seg_tq1_routine(r);
    seg_obr_exam(r, order, code, -1, p->doctor, NULL);
    gen_add_msg(p, r, date, order, -1, 0, TK_NONE);

    int64_t done = t + rng_range(&p->rng, 20, 90) * MS_PER_MIN;
    gen_rc_begin(r, p, T_OMG11, done + 10 * MS_PER_MIN);
    code = gen_pf(&r->pl, "%s^%s^JJ1017", xr_exams[ex][0], xr_exams[ex][1]);
    gen_seg_msh(r, "OMI^Z23^OMI_Z23", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_pv1(r, inpatient, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, inpatient, loc);
    seg_tq1_routine(r);
    seg_obr_exam(r, order, code, done, p->doctor, NULL);
    seg_ipc(r, p, order, "CR");
    gen_add_msg(p, r, date, order, 12, 0, TK_NONE);
    if (extended && rng_chance(&p->rng, 0.6))
        add_images(p, done + 15 * MS_PER_MIN, E_XRAY, order, 12, 1, xr_exams[ex][1]);
}

static void endoscopy(struct rc *r, struct patient *p, int64_t t, int extended, const char *loc,
                      int dept)
{
    struct seg s = { 0 };
    struct pool *pl;
    char order[16], date[12];
    const char *code = "11000000100^検査.上部.-.-.上部通常内視鏡.-^LENDO";

    gen_next_order(p, order, 15);
    fmt_ts(date, t, 8);
    gen_rc_begin(r, p, T_OMG02, t);
    pl = &r->pl;
    gen_seg_msh(r, "OMG^O19^OMG_O19", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_pv1(r, 0, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, 0, loc);
    seg_tq1_routine(r);
    seg_obr_exam(r, order, code, -1, p->doctor, NULL);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 2, "TX");
    gen_sset(&s, 3, "MS3-24^外来所見^JSHR");
    gen_sset(&s, 5, gen_hesc(pl, "心窩部痛が２週間持続。\n食後に増悪する。"));
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    gen_sset(&s, 1, "2");
    gen_sset(&s, 2, "TX");
    gen_sset(&s, 3, "MS3-34^臨床病名^JSHR");
    gen_sset(&s, 5, "胃潰瘍の疑い");
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    gen_add_msg(p, r, date, order, dept, 0, TK_NONE);

    int64_t done = t + rng_range(&p->rng, 90, 180) * MS_PER_MIN;
    gen_rc_begin(r, p, T_OMG12, done + 30 * MS_PER_MIN);
    pl = &r->pl;
    gen_seg_msh(r, "OMI^Z23^OMI_Z23", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_pv1(r, 0, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, 0, loc);
    seg_tq1_routine(r);
    seg_obr_exam(r, order, code, done, p->doctor, NULL);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 2, "RS");
    gen_sset(&s, 3, code);
    gen_emit(r, "ZE1", &s);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 2, "XCN");
    gen_sset(&s, 3, "DR-02.EM-01^正従業員の実施医師^JSHR");
    gen_sset(&s, 5, gen_xcn(pl, p->doctor + 2));
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    gen_sset(&s, 1, "2");
    gen_sset(&s, 2, "TS");
    gen_sset(&s, 3, "TM-P1^開始時間^JSHR");
    gen_sset(&s, 5, gen_ts14(pl, done));
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    seg_ipc(r, p, order, "ES");
    gen_add_msg(p, r, date, order, dept, 0, TK_NONE);
    if (extended)
        add_images(p, done + 40 * MS_PER_MIN, E_ENDO, order, dept, rng_range(&p->rng, 2, 4),
                   "上部消化管内視鏡検査");
}

static void ecg(struct rc *r, struct patient *p, int64_t t, const char *loc, int dept)
{
    struct seg s = { 0 };
    struct pool *pl;
    char order[16], date[12];
    const char *code = "9A110^標準１２誘導心電図^JC10";
    int af = has_chronic(p, 4);
    int hr = af ? rng_range(&p->rng, 85, 120) : rng_range(&p->rng, 58, 88);

    gen_next_order(p, order, 15);
    fmt_ts(date, t, 8);
    gen_rc_begin(r, p, T_OMG03, t);
    gen_seg_msh(r, "OMG^O19^OMG_O19", p->msg_seq);
    gen_seg_pid(r, 1);
    gen_seg_pv1(r, 0, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, 0, loc);
    seg_tq1_routine(r);
    seg_obr_exam(r, order, code, -1, p->doctor, NULL);
    gen_add_msg(p, r, date, order, dept, 0, TK_NONE);

    int64_t done = t + rng_range(&p->rng, 15, 60) * MS_PER_MIN;
    gen_rc_begin(r, p, T_OMG13, done + 5 * MS_PER_MIN);
    pl = &r->pl;
    gen_seg_msh(r, "ORU^R01^ORU_R01", p->msg_seq);
    gen_seg_pid(r, 0);
    gen_seg_pv1(r, 0, loc, dept, p->doctor);
    gen_sset(&s, 1, "1");
    seg_obr_exam(r, order, code, done, p->doctor, NULL);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 2, "TX");
    gen_sset(&s, 3, "9A100&IMP^心電図所見^JC10");
    gen_sset(&s, 4, "1");
    gen_sset(&s, 5, af ? "心房細動" : hr > 80 ? "洞調律、軽度頻脈" : "洞調律、正常範囲");
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    gen_sset(&s, 1, "2");
    gen_sset(&s, 2, "NM");
    gen_sset(&s, 3, "32769^心拍数^99MFR");
    gen_sset(&s, 4, "2");
    gen_sset(&s, 5, gen_pf(pl, "%d", hr));
    gen_sset(&s, 6, "bpm");
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    gen_sset(&s, 1, "3");
    gen_sset(&s, 2, "NM");
    gen_sset(&s, 3, "56008^QT 時間^99MFR");
    gen_sset(&s, 4, "2");
    gen_sset(&s, 5, gen_pf(pl, "%d", rng_range(&p->rng, 360, 440)));
    gen_sset(&s, 6, "msec");
    gen_sset(&s, 11, "F");
    gen_emit(r, "OBX", &s);
    gen_add_msg(p, r, date, order, dept, 0, TK_NONE);
}

static void diet(struct rc *r, struct patient *p, int64_t t, const char *order, int kind,
                 const char *loc, int dept)
{
    struct seg s = { 0 };
    char date[12];

    fmt_ts(date, t, 8);
    gen_rc_begin(r, p, T_OMD, t);
    gen_seg_msh(r, "OMD^O03^OMD_O03", p->msg_seq);
    gen_seg_pid(r, 0);
    gen_seg_pv1(r, 1, loc, dept, p->doctor);
    gen_seg_orc(r, "NW", order, NULL, t, dept, p->doctor, 1, loc);
    gen_sset(&s, 1, "1");
    gen_sset(&s, 3, "TID&１日３回&HL70335");
    gen_sset(&s, 7, gen_ts12(&r->pl, t + 3 * 3600 * 1000));
    gen_sset(&s, 9, "R^ルーチン^HL70485");
    gen_emit(r, "TQ1", &s);
    gen_sset(&s, 1, "D");
    gen_sset(&s, 3, gen_pf(&r->pl, "%s^%s^99XY3", gen_diets[kind][0], gen_diets[kind][1]));
    gen_sset(&s, 4, kind >= 3 ? "水分制限なし" : "");
    gen_emit(r, "ODS", &s);
    gen_add_msg(p, r, date, order, dept, 0, TK_NONE);
}

/* ---- extended-storage documents ----------------------------------------------------------- */

static const char *xml_esc(struct pool *pl, const char *s)
{
    char tmp[1024];
    size_t o = 0;

    for (; *s && o + 8 < sizeof(tmp); s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        if (e) {
            memcpy(tmp + o, e, strlen(e));
            o += strlen(e);
        } else {
            tmp[o++] = *s;
        }
    }
    tmp[o] = '\0';
    return gen_pf(pl, "%s", tmp);
}

static void doc_truth(struct patient *p, struct ext *e, const char *kind, const char *format)
{
    char d[12];

    fmt_date_iso(d, e->ts / MS_PER_DAY);
    e->truth = mm_malloc(512);
    if (!e->truth) {
        p->oom = 1;
        return;
    }
    snprintf(e->truth, 512,
             "{\"kind\":\"%s\",\"date\":\"%s\",\"title\":\"%s\",\"format\":\"%s\",\"dept\":\"%s\"}",
             kind, d, e->title ? e->title : "", format, e->dept);
}

/* A progress note as a CDA R2 document (UTF-8 XML) with SOAP sections. */
static void progress_note(struct rc *r, struct patient *p, int64_t t, int dept, const char *assess)
{
    static const char *const subj[] = { "特に変わりなし。", "夜間よく眠れている。",
                                        "食欲は普通。",     "倦怠感が少しある。",
                                        "咳が続いている。", "痛みは軽減した。" };
    struct pool *pl = &r->pl;
    char key[16], ts[24];
    struct ext *e;
    mm_buf x;

    gen_next_order(p, key, 15);
    e = add_ext(p, t, E_CDA, EXT_NOTE, key, dept);
    if (!e)
        return;
    r->pl.used = 0;
    fmt_ts(ts, t, 14);
    mm_buf_init(&x, 1u << 20);
    mm_buf_printf(
            &x,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">\n"
            "  <typeId root=\"2.16.840.1.113883.1.3\" extension=\"POCD_HD000040\"/>\n"
            "  <id root=\"1.2.392.200036.9116.2.5.1\" extension=\"%s\"/>\n"
            "  <code code=\"11506-3\" codeSystem=\"2.16.840.1.113883.6.1\" displayName=\"経過記録\"/>\n"
            "  <title>経過記録</title>\n"
            "  <effectiveTime value=\"%s\"/>\n"
            "  <recordTarget><patientRole><id root=\"1.2.392.100495.20.3.51.11234567890\" extension=\"%s\"/>\n"
            "    <patient><name>%s %s</name><administrativeGenderCode code=\"%c\"/><birthTime value=\"%s\"/></patient>\n"
            "  </patientRole></recordTarget>\n"
            "  <author><time value=\"%s\"/><assignedAuthor><id extension=\"%s\"/><assignedPerson><name>%s %s</name></assignedPerson></assignedAuthor></author>\n"
            "  <component><structuredBody>\n"
            "    <component><section><title>S</title><text>%s</text></section></component>\n"
            "    <component><section><title>O</title><text>体温 %.1f℃、血圧 %d/%d mmHg、脈拍 %d/分、SpO2 %d%%</text></section></component>\n"
            "    <component><section><title>A</title><text>%s</text></section></component>\n"
            "    <component><section><title>P</title><text>現在の治療を継続。</text></section></component>\n"
            "  </structuredBody></component>\n"
            "</ClinicalDocument>\n",
            key, ts, p->pid, p->fam->kanji, p->giv->kanji, p->sex,
            gen_ymd(pl, p->birth * MS_PER_DAY), ts, gen_doctors[p->doctor].id,
            gen_doctors[p->doctor].family, gen_doctors[p->doctor].given,
            subj[rng_below(&p->rng, 6)], 36.0 + rng_below(&p->rng, 16) / 10.0,
            rng_range(&p->rng, 105, 160), rng_range(&p->rng, 60, 95), rng_range(&p->rng, 58, 96),
            rng_range(&p->rng, 94, 99), xml_esc(pl, assess));
    e->text = mm_buf_detach(&x);
    e->title = mm_strdup("経過記録");
    if (!e->text || !e->title) {
        p->oom = 1;
        return;
    }
    doc_truth(p, e, "progress_note", "cda");
}

/* A one-page PDF: discharge summary or referral letter. */
static void pdf_doc(struct rc *r, struct patient *p, int64_t t, int dept, int referral,
                    const char *dxname, int64_t admit, int64_t discharge)
{
    struct pool *pl = &r->pl;
    char key[16], a[12], d[12], bd[12];
    struct ext *e;

    gen_next_order(p, key, 15);
    e = add_ext(p, t, E_PDF, referral ? EXT_REFERRAL : EXT_DISCHARGE, key, dept);
    if (!e)
        return;
    r->pl.used = 0;
    fmt_date_iso(bd, p->birth);
    fmt_date_iso(a, admit);
    fmt_date_iso(d, discharge);
    e->title = mm_strdup(referral ? "診療情報提供書" : "退院時サマリー");
    if (referral)
        e->text = mm_strdup(gen_pf(
                pl,
                "患者：%s %s（%s）様\n生年月日：%s\n紹介元：日本橋内科クリニック　京橋 本一 先生\n"
                "傷病名：%s\n紹介目的：精査加療のお願い\n"
                "経過：近医にて加療中でしたが、症状の改善が乏しく貴院へご紹介申し上げます。\n"
                "現在の処方：別紙のとおり",
                p->fam->kanji, p->giv->kanji, p->fam->kana, bd, dxname));
    else
        e->text = mm_strdup(
                gen_pf(pl,
                       "患者：%s %s（%s）様\n生年月日：%s\n入院日：%s\n退院日：%s\n主病名：%s\n"
                       "入院経過：入院後、点滴加療を行い症状は改善した。\n"
                       "退院時処方：入院前と同じ\n退院後の方針：外来にて経過観察。",
                       p->fam->kanji, p->giv->kanji, p->fam->kana, bd, a, d, dxname));
    if (!e->title || !e->text) {
        p->oom = 1;
        return;
    }
    doc_truth(p, e, referral ? "referral" : "discharge_summary", "pdf");
}

/* ---- encounters --------------------------------------------------------------------------- */

/* Drugs for the patient's chronic conditions (deduplicated), plus those of @acute. */
static int collect_drugs(const struct patient *p, int acute, int *out)
{
    int n = 0;

    for (int i = -1; i < p->nchronic; i++) {
        int c = i < 0 ? acute : p->chronic[i];
        if (c < 0)
            continue;
        for (int k = 0; k < 3; k++) {
            int d = gen_conditions[c].drugs[k], dup = 0;
            if (d < 0)
                continue;
            for (int j = 0; j < n; j++)
                dup |= out[j] == d;
            if (!dup && n < 8)
                out[n++] = d;
        }
    }
    return n;
}

static void visit(struct rc *r, struct patient *p, int64_t day, int acute, int extended)
{
    int64_t t = day * MS_PER_DAY + (9 * 60 + (int64_t)rng_below(&p->rng, 420)) * MS_PER_MIN;
    int dept = acute >= 0 ? gen_conditions[acute].dept : p->dept;
    char *loc;
    struct adtx x;
    char date[12];
    int drugs[8], nd;
    int days = acute >= 0 ? 5 : p->interval;

    fmt_date(date, day);
    gen_rc_begin(r, p, T_ADT12, t);
    loc = mm_strdup(clinic_loc(&r->pl, dept));
    if (!loc) {
        p->oom = 1;
        return;
    }
    adtx_init(&x, 0, loc, dept, p->doctor);
    x.pv1_44 = t;
    msg_adt(r, p, T_ADT12, "ADT^A04^ADT_A01", t, date, &x, 0,
            enc_json(&r->pl, "outpatient", t, dept, NULL));
    if (acute >= 0) {
        add_dx(p, acute, day, day + 14, rng_chance(&p->rng, 0.2), 0, 'F');
        msg_ppr01(r, p, t + 25 * MS_PER_MIN);
    }
    if ((acute < 0 && rng_chance(&p->rng, 0.75)) || (acute >= 0 && rng_chance(&p->rng, 0.4)))
        lab_order(r, p, t + 5 * MS_PER_MIN,
                  PANEL_CBC | PANEL_CHEM | (has_chronic(p, 4) ? PANEL_COAG : 0), 0, loc, dept,
                  NULL);
    if (rng_chance(&p->rng, acute >= 0 ? 0.3 : 0.08))
        radiology(r, p, t + 10 * MS_PER_MIN, extended, 0, loc, dept);
    if (rng_chance(&p->rng, has_chronic(p, 4) || has_chronic(p, 5) ? 0.3 : 0.04))
        ecg(r, p, t + 12 * MS_PER_MIN, loc, dept);
    if (rng_chance(&p->rng,
                   gen_conditions[acute >= 0 ? acute : p->chronic[0]].dept == 1 ? 0.06 : 0.01))
        endoscopy(r, p, t + 14 * MS_PER_MIN, extended, loc, dept);
    if (acute >= 0) {
        /* an acute visit prescribes for the acute illness only; chronic drugs run on */
        nd = 0;
        for (int k = 0; k < 3; k++)
            if (gen_conditions[acute].drugs[k] >= 0)
                drugs[nd++] = gen_conditions[acute].drugs[k];
    } else {
        nd = collect_drugs(p, -1, drugs);
    }
    gen_rx_order(r, p, t + 40 * MS_PER_MIN, drugs, nd, days, 0, loc, dept);
    if (extended && rng_chance(&p->rng, 0.3))
        progress_note(r, p, t + 45 * MS_PER_MIN, dept,
                      acute >= 0 ? gen_conditions[acute].name : gen_conditions[p->chronic[0]].name);
    mm_free(loc);
}

struct adm {
    int64_t admit, discharge, transfer, leave, ret, plan_dis, attend;
    int cond, ward, room, bed, dept;
    int drugs[8], nd;
    char rx_order[16], diet_order[16];
    char loc[80], prior[80];
    struct labctx lc;
};

static void set_loc(struct adm *a)
{
    /* PL: ward^room^bed^^^N^^^ward name (PL-9, the location description) */
    snprintf(a->loc, sizeof(a->loc), "%s^%d^%d^^^N^^^%s", gen_wards[a->ward].code, a->room, a->bed,
             gen_wards[a->ward].name);
}

static const char *loc_json(struct pool *pl, const struct adm *a, const char *prefix)
{
    return gen_pf(pl,
                  ",\"%sward\":\"%s\",\"%sward_name\":\"%s\",\"%sroom\":\"%d\",\"%sbed\":\"%d\"",
                  prefix, gen_wards[a->ward].code, prefix, gen_wards[a->ward].name, prefix, a->room,
                  prefix, a->bed);
}

static void admit(struct rc *r, struct patient *p, struct adm *a, int64_t day, int extended)
{
    static const int acute_adm[] = { 17, 18, 19, 20, 21, 22 };
    int64_t t = day * MS_PER_DAY + (10 * 60 + (int64_t)rng_below(&p->rng, 300)) * MS_PER_MIN;
    int los = rng_range(&p->rng, 4, 21);
    struct adtx x;
    char date[12];

    memset(a, 0, sizeof(*a));
    a->cond = acute_adm[rng_below(&p->rng, 6)];
    a->dept = gen_conditions[a->cond].dept;
    a->admit = day;
    a->discharge = day + los;
    a->ward = (int)rng_below(&p->rng, (uint32_t)gen_nwards);
    a->room = 300 + rng_range(&p->rng, 1, 20) + 100 * (a->ward / 2);
    a->bed = rng_range(&p->rng, 1, 4);
    a->transfer = a->leave = a->ret = a->attend = -1;
    a->lc.acute_cond = a->cond;
    a->lc.acute_start = day;
    set_loc(a);
    p->admitted = 1;
    fmt_date(date, day);

    if (rng_chance(&p->rng, 0.02)) {
        /* entered by mistake into the wrong bed, cancelled (A11), then entered again */
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.pv1_44 = t;
        gen_rc_begin(r, p, T_ADT22, t);
        msg_adt(r, p, T_ADT22, "ADT^A01^ADT_A01", t, date, &x, 0,
                enc_json(&r->pl, "admission", t, a->dept, loc_json(&r->pl, a, "")));
        gen_rc_begin(r, p, T_ADT22, t + 10 * MS_PER_MIN);
        msg_adt(r, p, T_ADT22, "ADT^A11^ADT_A09", t + 10 * MS_PER_MIN, date, &x, 1, NULL);
        a->bed = a->bed % 4 + 1;
        set_loc(a);
        t += 15 * MS_PER_MIN;
    }
    adtx_init(&x, 1, a->loc, a->dept, p->doctor);
    x.pv1_44 = t;
    gen_rc_begin(r, p, T_ADT22, t);
    msg_adt(r, p, T_ADT22, "ADT^A01^ADT_A01", t, date, &x, 0,
            enc_json(&r->pl, "admission", t, a->dept, loc_json(&r->pl, a, "")));
    add_dx(p, a->cond, day, a->discharge, 0, 1, rng_chance(&p->rng, 0.7) ? 'F' : 'R');
    msg_ppr01(r, p, t + 10 * MS_PER_MIN);
    if (rng_chance(&p->rng, 0.3)) {
        p->weight += rng_range(&p->rng, -30, 10) / 10.0;
        msg_adt00(r, p, t + 20 * MS_PER_MIN, 1);
    }
    gen_next_order(p, a->diet_order, 15);
    diet(r, p, t + 30 * MS_PER_MIN, a->diet_order,
         has_chronic(p, 0) ? 3 : (int)rng_below(&p->rng, 3), a->loc, a->dept);
    a->nd = collect_drugs(p, -1, a->drugs);
    gen_rx_order(r, p, t + 40 * MS_PER_MIN, a->drugs, a->nd, los < 7 ? los : 7, 1, a->loc, a->dept);
    snprintf(a->rx_order, sizeof(a->rx_order), "%015llu",
             (unsigned long long)(p->idx + 1) * 100000ULL + p->order_seq % 100000);
    lab_order(r, p, t + 50 * MS_PER_MIN, PANEL_CBC | PANEL_CHEM | PANEL_COAG, 1, a->loc, a->dept,
              &a->lc);
    if (rng_chance(&p->rng, 0.5))
        radiology(r, p, t + 70 * MS_PER_MIN, extended, 1, a->loc, a->dept);
    if (los > 4 && rng_chance(&p->rng, 0.25))
        a->transfer = day + rng_range(&p->rng, 2, los - 2);
    if (los > 8 && rng_chance(&p->rng, 0.25)) {
        a->leave = day + rng_range(&p->rng, 3, los - 4);
        a->ret = a->leave + 1;
    }
    if (rng_chance(&p->rng, 0.25))
        a->attend = day + rng_range(&p->rng, 1, los - 1);
    a->plan_dis = a->discharge - 2 > day ? a->discharge - 2 : day;
    if (extended)
        progress_note(r, p, t + 90 * MS_PER_MIN, a->dept, gen_conditions[a->cond].name);
}

/* One day in hospital; returns 1 when the patient went home today. */
static int inpatient_day(struct rc *r, struct patient *p, struct adm *a, int64_t day, int extended)
{
    int64_t t0 = day * MS_PER_DAY;
    struct adtx x;
    char date[12];
    int ninj = 0, inj[2];

    fmt_date(date, day);
    for (int k = 0; k < 2; k++)
        if (gen_conditions[a->cond].inj[k] >= 0 && day < a->discharge)
            inj[ninj++] = gen_conditions[a->cond].inj[k];
    gen_rx_given(r, p, t0 + 8 * 3600 * 1000, a->drugs, a->nd, a->rx_order, a->loc, a->dept);
    gen_inj_day(r, p, t0 + 9 * 3600 * 1000 + rng_below(&p->rng, 30) * MS_PER_MIN, inj, ninj, a->loc,
                a->dept);
    if ((day - a->admit) % 3 == 0 && day < a->discharge)
        lab_order(r, p, t0 + 6 * 3600 * 1000 + rng_below(&p->rng, 60) * MS_PER_MIN,
                  PANEL_CBC | PANEL_CHEM, 1, a->loc, a->dept, &a->lc);
    if ((day - a->admit) % 7 == 0 && day < a->discharge) {
        gen_rx_order(r, p, t0 + 11 * 3600 * 1000, a->drugs, a->nd, 7, 1, a->loc, a->dept);
        snprintf(a->rx_order, sizeof(a->rx_order), "%015llu",
                 (unsigned long long)(p->idx + 1) * 100000ULL + p->order_seq % 100000);
    }
    if (day == a->admit + 2 && rng_chance(&p->rng, 0.3)) /* diet changed: same order, new version */
        diet(r, p, t0 + 14 * 3600 * 1000, a->diet_order,
             (int)rng_below(&p->rng, (uint32_t)gen_ndiets), a->loc, a->dept);
    if (extended && rng_chance(&p->rng, 0.5))
        progress_note(r, p, t0 + 16 * 3600 * 1000, a->dept, gen_conditions[a->cond].name);
    if (day == a->transfer - 1) {
        int64_t t = t0 + 15 * 3600 * 1000;
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.pv2_8 = (day + 1) * MS_PER_DAY + 10 * 3600 * 1000;
        fmt_date(date, day + 1);
        gen_rc_begin(r, p, T_ADT41, t);
        msg_adt(r, p, T_ADT41, "ADT^A15^ADT_A15", t, date, &x, 0,
                enc_json(&r->pl, "planned_transfer", x.pv2_8, a->dept, NULL));
        fmt_date(date, day);
    }
    if (day == a->transfer) {
        int64_t t = t0 + 10 * 3600 * 1000 + rng_below(&p->rng, 60) * MS_PER_MIN;
        scpy(a->prior, sizeof(a->prior), a->loc);
        a->ward =
                (a->ward + 1 + (int)rng_below(&p->rng, (uint32_t)gen_nwards - 1)) % (int)gen_nwards;
        a->room = 300 + rng_range(&p->rng, 1, 20) + 100 * (a->ward / 2);
        set_loc(a);
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.prior = a->prior;
        x.evn6 = t;
        gen_rc_begin(r, p, T_ADT42, t);
        msg_adt(r, p, T_ADT42, "ADT^A02^ADT_A02", t, date, &x, 0,
                enc_json(&r->pl, "transfer", t, a->dept, loc_json(&r->pl, a, "")));
    }
    if (day == a->leave) {
        int64_t t = t0 + 13 * 3600 * 1000;
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.evn6 = t;
        x.pv2_47 = t + 24 * 3600 * 1000;
        gen_rc_begin(r, p, T_ADT31, t);
        msg_adt(r, p, T_ADT31, "ADT^A21^ADT_A21", t, date, &x, 0,
                enc_json(&r->pl, "leave", t, a->dept, NULL));
    }
    if (day == a->ret) {
        int64_t t = t0 + 12 * 3600 * 1000;
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.evn6 = t;
        gen_rc_begin(r, p, T_ADT32, t);
        msg_adt(r, p, T_ADT32, "ADT^A22^ADT_A21", t, date, &x, 0,
                enc_json(&r->pl, "return", t, a->dept, NULL));
    }
    if (day == a->attend) {
        int64_t t = t0 + 9 * 3600 * 1000;
        int cancel = rng_chance(&p->rng, 0.1);
        p->doctor = (p->doctor + 1) % (int)gen_ndoctors;
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.evn6 = t;
        gen_rc_begin(r, p, T_ADT01, t);
        msg_adt(r, p, T_ADT01, "ADT^A54^ADT_A54", t, "-", &x, 0,
                enc_json(&r->pl, "attending_change", t, a->dept,
                         gen_pf(&r->pl, ",\"doctor\":\"%s %s\"", gen_doctors[p->doctor].family,
                                gen_doctors[p->doctor].given)));
        if (cancel) {
            gen_rc_begin(r, p, T_ADT01, t + 20 * MS_PER_MIN);
            msg_adt(r, p, T_ADT01, "ADT^A55^ADT_A52", t + 20 * MS_PER_MIN, "-", &x, 1, NULL);
            p->doctor = (p->doctor + (int)gen_ndoctors - 1) % (int)gen_ndoctors;
        }
    }
    if (day == a->plan_dis) {
        int64_t t = t0 + 16 * 3600 * 1000;
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.pv2_9 = a->discharge * MS_PER_DAY + 10 * 3600 * 1000;
        fmt_date(date, a->discharge);
        gen_rc_begin(r, p, T_ADT51, t);
        msg_adt(r, p, T_ADT51, "ADT^A16^ADT_A16", t, date, &x, 0,
                enc_json(&r->pl, "planned_discharge", x.pv2_9, a->dept, NULL));
        fmt_date(date, day);
    }
    if (day == a->discharge) {
        int64_t t = t0 + (10 * 60 + (int64_t)rng_below(&p->rng, 120)) * MS_PER_MIN;
        char ad[12];
        fmt_date_iso(ad, a->admit);
        adtx_init(&x, 1, a->loc, a->dept, p->doctor);
        x.pv1_45 = t;
        x.evn6 = t;
        x.disp = "01";
        gen_rc_begin(r, p, T_ADT52, t);
        msg_adt(r, p, T_ADT52, "ADT^A03^ADT_A03", t, date, &x, 0,
                enc_json(&r->pl, "discharge", t, a->dept,
                         gen_pf(&r->pl, ",\"admit_date\":\"%s\",\"disposition\":\"01\"%s", ad,
                                loc_json(&r->pl, a, ""))));
        p->admitted = 0;
        msg_ppr01(r, p, t + 30 * MS_PER_MIN);
        if (extended)
            pdf_doc(r, p, t + 26 * 3600 * 1000, a->dept, 0, gen_conditions[a->cond].name, a->admit,
                    a->discharge);
        return 1;
    }
    return 0;
}

/* ---- the patient -------------------------------------------------------------------------- */

static void fullwidth_digits(char *out, size_t cap, unsigned v)
{
    char d[16];
    size_t o = 0;

    snprintf(d, sizeof(d), "%u", v);
    for (char *c = d; *c && o + 4 < cap; c++) {
        out[o++] = (char)0xEF;
        out[o++] = (char)0xBC;
        out[o++] = (char)(0x90 + (*c - '0'));
    }
    out[o] = '\0';
}

static void init_patient(struct patient *p, unsigned idx, uint64_t seed, int64_t start)
{
    struct rng *g = &p->rng;
    int age, nchronic;
    char a[16], b[16], c[16];
    uint64_t pidnum = 1000000000ULL + ((uint64_t)idx * 104729ULL) % 900000000ULL;

    memset(p, 0, sizeof(*p));
    p->idx = idx;
    rng_seed(g, seed, idx);
    snprintf(p->pid, sizeof(p->pid), "%010llu", (unsigned long long)pidnum);
    p->sex = rng_chance(g, 0.5) ? 'M' : 'F';
    p->fam = &gen_family[rng_below(g, (uint32_t)gen_nfamily)];
    p->giv = p->sex == 'M' ? &gen_given_m[rng_below(g, (uint32_t)gen_ngiven_m)]
                           : &gen_given_f[rng_below(g, (uint32_t)gen_ngiven_f)];
    age = rng_chance(g, 0.1) ? rng_range(g, 0, 15) : 20 + (int)(75 * sqrt(rng_unit(g)));
    p->birth = start - age * 365 - rng_range(g, 0, 364);
    p->place = (int)rng_below(g, (uint32_t)gen_nplaces);
    fullwidth_digits(a, sizeof(a), (unsigned)rng_range(g, 1, 5));
    fullwidth_digits(b, sizeof(b), (unsigned)rng_range(g, 1, 30));
    fullwidth_digits(c, sizeof(c), (unsigned)rng_range(g, 1, 20));
    if (rng_chance(g, 0.5))
        snprintf(p->street, sizeof(p->street), "%s－%s－%s", a, b, c);
    else
        snprintf(p->street, sizeof(p->street), "%s丁目%s番%s号", a, b, c);
    snprintf(p->phone, sizeof(p->phone), "%s-%03d-%04d", gen_places[p->place].area_code,
             rng_range(g, 200, 999), rng_range(g, 0, 9999));
    snprintf(p->mobile, sizeof(p->mobile), "090-%04d-%04d", rng_range(g, 1000, 9999),
             rng_range(g, 0, 9999));
    if (rng_chance(g, 0.5))
        snprintf(p->work, sizeof(p->work), "03-%04d-%04d", rng_range(g, 1000, 9999),
                 rng_range(g, 0, 9999));
    p->employer = (int)rng_below(g, (uint32_t)gen_nemployers);
    p->height = age < 16 ? 100 + age * 4.0 : (p->sex == 'M' ? 168 : 155) + rng_normal(g) * 6;
    p->height = floor(p->height * 10) / 10;
    p->weight = age < 16 ? 15 + age * 3.0 : (p->sex == 'M' ? 66 : 53) + rng_normal(g) * 9;
    p->weight = floor(p->weight * 10) / 10;
    {
        double u = rng_unit(g);
        p->abo = abo_names[u < 0.4 ? 0 : u < 0.6 ? 1 : u < 0.9 ? 2 : 3];
    }
    p->rh = rng_chance(g, 0.005) ? '-' : '+';
    if (rng_chance(g, 0.3)) {
        int n = rng_range(g, 1, 3);
        for (int i = 0; i < n; i++) {
            int al = (int)rng_below(g, (uint32_t)gen_nallergens), dup = 0;
            for (int j = 0; j < p->nallergy; j++)
                dup |= p->allergy[j] == al;
            if (!dup)
                p->allergy[p->nallergy++] = al;
        }
    }
    nchronic = age > 60 ? rng_range(g, 1, 3) : age > 40 ? rng_range(g, 0, 2) : rng_range(g, 0, 1);
    for (int i = 0; i < nchronic; i++) {
        int cnd = (int)rng_below(g, 13), dup = 0;
        for (int j = 0; j < p->nchronic; j++)
            dup |= p->chronic[j] == cnd;
        if (!dup)
            p->chronic[p->nchronic++] = cnd;
    }
    for (size_t l = 0; l < gen_nlabs; l++)
        p->lab_base[l] = gen_labs[l].mean + gen_labs[l].sd * rng_normal(g) * 0.6;
    p->reg_day = rng_chance(g, 0.85) ? start : start + rng_range(g, 1, 364);
    p->dept = p->nchronic ? gen_conditions[p->chronic[0]].dept : 0;
    p->doctor = (int)rng_below(g, (uint32_t)gen_ndoctors);
    p->interval = rng_chance(g, 0.6) ? 28 : rng_chance(g, 0.7) ? 56 : 84;
    p->next_visit = p->nchronic ? p->reg_day + rng_range(g, 0, p->interval - 1) : -1;
    for (int i = 0; i < p->nchronic; i++)
        add_dx(p, p->chronic[i], p->reg_day - rng_range(g, 30, 3650), -1, 0, i == 0, 0);
    gen_orders_init(p, seed);
}

int gen_simulate(struct patient *p, unsigned idx, uint64_t seed, int64_t start, int64_t end,
                 int extended)
{
    struct rc r;
    struct adm a;
    int64_t planned = -1;
    int in_hosp = 0;

    init_patient(p, idx, seed, start);
    mm_buf_init(&r.b, MM_LIMIT_HL7_MESSAGE);
    mm_buf_init(&r.t, MM_LIMIT_JSON);
    for (int64_t day = p->reg_day; day < end && !p->oom; day++) {
        if (day == p->reg_day) {
            int64_t t = day * MS_PER_DAY + (8 * 60 + (int64_t)rng_below(&p->rng, 60)) * MS_PER_MIN;
            msg_adt00(&r, p, t, 0);
            if (p->nallergy)
                msg_adt61(&r, p, t + MS_PER_MIN);
            if (p->nchronic)
                msg_ppr01(&r, p, t + 2 * MS_PER_MIN);
            if (extended && day > start && rng_chance(&p->rng, 0.6))
                pdf_doc(&r, p, t + 3 * MS_PER_MIN, p->dept, 1,
                        p->nchronic ? gen_conditions[p->chronic[0]].name : "精査依頼", day, day);
        }
        /* outpatient diagnoses that end today: the doctor closes them */
        for (int i = 0; i < p->ndx; i++)
            if (p->dx[i].end == day && !p->dx[i].main && !in_hosp) {
                msg_ppr01(&r, p, day * MS_PER_DAY + 17 * 3600 * 1000);
                break;
            }
        if (in_hosp) {
            if (inpatient_day(&r, p, &a, day, extended))
                in_hosp = 0;
            continue;
        }
        if (day == planned || rng_chance(&p->rng, (age_at(p, day) > 65 ? 0.0006 : 0.0002))) {
            planned = -1;
            admit(&r, p, &a, day, extended);
            in_hosp = 1;
            continue;
        }
        if (day == p->next_visit) {
            visit(&r, p, day, -1, extended);
            p->next_visit = day + p->interval + rng_range(&p->rng, -3, 3);
            if (planned < 0 && rng_chance(&p->rng, 0.03)) {
                /* an elective admission a week from now (ADT-21 sits in the planned day's folder)
                 */
                struct adtx x;
                char date[12];
                int64_t t = day * MS_PER_DAY + 16 * 3600 * 1000;
                planned = day + 7;
                fmt_date(date, planned);
                adtx_init(&x, 1, "3E^^^^^N", p->dept, p->doctor);
                x.pv2_8 = planned * MS_PER_DAY + 10 * 3600 * 1000;
                gen_rc_begin(&r, p, T_ADT21, t);
                msg_adt(&r, p, T_ADT21, "ADT^A14^ADT_A05", t, date, &x, 0,
                        enc_json(&r.pl, "planned_admission", x.pv2_8, p->dept, NULL));
                if (rng_chance(&p->rng, 0.1)) {
                    gen_rc_begin(&r, p, T_ADT21, t + 3600 * 1000);
                    msg_adt(&r, p, T_ADT21, "ADT^A27^ADT_A21", t + 3600 * 1000, date, &x, 1, NULL);
                    planned = -1;
                }
            }
        } else if (rng_chance(&p->rng, 0.004)) {
            visit(&r, p, day, 13 + (int)rng_below(&p->rng, 4), extended);
        } else if (rng_chance(&p->rng, 0.0003)) {
            /* the patient moved: demographics update, the old ADT-00 becomes _2 */
            p->place = (int)rng_below(&p->rng, (uint32_t)gen_nplaces);
            msg_adt00(&r, p, day * MS_PER_DAY + 11 * 3600 * 1000, 0);
        }
    }
    mm_buf_release(&r.b);
    mm_buf_release(&r.t);
    if (p->oom)
        return mm_error_set(MM_ENOMEM, "out of memory simulating a patient");
    /* drop what lies beyond the last day: it has not happened yet */
    size_t k = 0;
    for (size_t i = 0; i < p->nmsgs; i++) {
        if (p->msgs[i].ts < end * MS_PER_DAY) {
            p->msgs[k++] = p->msgs[i];
        } else {
            mm_free(p->msgs[i].hl7);
            mm_free(p->msgs[i].truth);
            mm_free(p->msgs[i].pid_truth);
        }
    }
    p->nmsgs = k;
    k = 0;
    for (size_t i = 0; i < p->nexts; i++) {
        if (p->exts[i].ts < end * MS_PER_DAY) {
            p->exts[k++] = p->exts[i];
        } else {
            mm_free(p->exts[i].title);
            mm_free(p->exts[i].text);
            mm_free(p->exts[i].truth);
        }
    }
    p->nexts = k;
    return 0;
}

void gen_patient_release(struct patient *p)
{
    for (size_t i = 0; i < p->nmsgs; i++) {
        mm_free(p->msgs[i].hl7);
        mm_free(p->msgs[i].truth);
        mm_free(p->msgs[i].pid_truth);
    }
    for (size_t i = 0; i < p->nexts; i++) {
        mm_free(p->exts[i].title);
        mm_free(p->exts[i].text);
        mm_free(p->exts[i].truth);
    }
    mm_free(p->msgs);
    mm_free(p->exts);
    p->msgs = NULL;
    p->exts = NULL;
    p->nmsgs = p->nexts = 0;
}
