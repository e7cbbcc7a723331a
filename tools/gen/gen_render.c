/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori-gen's rendering of HL7 v2.5: the scaffolding of a message being built (string pool,
 * segments, the truth JSON beside it), the segments every message shares (MSH, EVN, PID,
 * PV1, ORC), and the patient's list of messages and extended-storage items (gen_sim.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"
#include "tools/gen/gen_sim.h"

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

const char *gen_xpn(struct pool *pl, const struct patient *p)
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

const char *gen_address_text(struct pool *pl, const struct patient *p)
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

void gen_seg_evn(struct rc *r, int64_t occurred)
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
    gen_sset(&s, 5, gen_xpn(pl, p));
    gen_sset(&s, 7, gen_ymd(pl, p->birth * MS_PER_DAY));
    gen_sset(&s, 8, p->sex == 'M' ? "M" : "F");
    if (full || p->no_adt00) {
        gen_sset(&s, 11, gen_pf(pl, "^^^^%s^JPN^H^%s", pc->postal, gen_address_text(pl, p)));
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

const char *gen_clinic_loc(struct pool *pl, int dept)
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
    err |= mm_json_str(&b, gen_address_text(pl, p));
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

struct ext *gen_add_ext(struct patient *p, int64_t ts, int kind, const char *typef, const char *key,
                        int dept)
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

int gen_age_at(const struct patient *p, int64_t day)
{
    int y1, m1, d1, y2, m2, d2;

    civil_from_days(p->birth, &y1, &m1, &d1);
    civil_from_days(day, &y2, &m2, &d2);
    return y2 - y1 - ((m2 < m1 || (m2 == m1 && d2 < d1)) ? 1 : 0);
}
