/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Orders as the JAHIS 処方 / 注射データ交換規約 write them (docs/orders.md). A line is one
 * ORC and the RXE/TQ1/RXR/RXC/... that follow it up to the next ORC; an Rp is the lines
 * sharing ORC-4, in message order. A prescription line is a drug (RXE) with its amounts per
 * dose and per timing (不均等: RXE-7 V codes or several TQ1), dispense amount, instructions
 * and flags; the Rp holds the timing of its first line (TQ1: usage, day pattern, times,
 * duration, start, end, PRN condition, maximum, total) and route (RXR). An injection Rp is
 * the RXE (type, rate) with its RXC components. Every non-empty field the model does not
 * interpret is kept raw beside its order, Rp or line (the table of ssmix2_fields.c), so that
 * nothing is dropped silently. Also the administrations (RXA) of OMP-11 / OMP-12.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "ssmix2/ssmix2.h"
#include "ssmix2/ssmix2_int.h"

/* A line's drug while its message is read. */
struct tmp_drug {
    struct mm_ssmix2_drug d;
    struct vec timings, instr, disp, flags, raw;
};

/* An Rp while its message is read. */
struct tmp_rp {
    struct mm_ssmix2_rp rp;
    struct mm_ssmix2_pattern pat;
    int have_pat, lines;
    size_t tq1, rxr, rxe; /* the segments the Rp's values come from (SIZE_MAX: none yet) */
    struct vec drugs;     /* struct tmp_drug */
    struct vec times, instr, disp, flags, raw;
};

static const char *const flag_words[][2] = {
    { "麻薬", "麻薬" },           { "向精神薬", "向精神薬" }, { "毒薬", "毒薬" },
    { "劇薬", "劇薬" },           { "抗がん剤", "抗がん剤" }, { "抗癌剤", "抗がん剤" },
    { "抗悪性腫瘍", "抗がん剤" },
};

/* Append @s to the vector of strings @v unless it is empty or already there. */
static void push_str(mm_ssmix2_record *r, struct vec *v, const char *s)
{
    const char **e = v->v;

    if (!s[0])
        return;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(e[i], s) == 0)
            return;
    if ((e = mm_ssmix2__push(r, v, sizeof(*e))) != NULL)
        *e = s;
}

/* The flags (麻薬, 抗がん剤 ...) that the text @s names, appended to @flags. */
static void flags_of(mm_ssmix2_record *r, struct vec *flags, const char *s)
{
    for (size_t i = 0; i < sizeof(flag_words) / sizeof(flag_words[0]); i++)
        if (strstr(s, flag_words[i][0]))
            push_str(r, flags, flag_words[i][1]);
}

/* Component @c's text, else component 1 (a coded value's name, else its code). */
static const char *name_or_code(mm_ssmix2_record *r, mm_hl7_msg *m, size_t s, int f, int rep, int c)
{
    const char *n = mm_ssmix2__peek(m, s, f, rep, c, 1);

    return mm_ssmix2__sdup(r, n[0] ? n : mm_ssmix2__peek(m, s, f, rep, 1, 1));
}

/* @s without leading and trailing spaces, in @b (of @cap bytes). */
static const char *trim(const char *s, char *b, size_t cap)
{
    size_t n;

    while (*s == ' ')
        s++;
    n = strlen(s);
    while (n && s[n - 1] == ' ')
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(b, s, n);
    b[n] = '\0';
    return b;
}

/* A JAMI 不均等 code "V<n><amount>N..." (n 1-9, amount digits and '.'). OUT: *n, amount */
static int v_code(const char *code, int *n, char *amount, size_t cap)
{
    size_t k;

    if (code[0] != 'V' || code[1] < '1' || code[1] > '9')
        return 0;
    k = strspn(code + 2, "0123456789.");
    if (k == 0 || k >= cap || (code[2 + k] != 'N' && code[2 + k] != '\0') ||
        strspn(code + 2 + k, "N") != strlen(code + 2 + k))
        return 0;
    *n = code[1] - '0';
    memcpy(amount, code + 2, k);
    amount[k] = '\0';
    return 1;
}

static void add_timing(mm_ssmix2_record *r, struct vec *v, int n, const char *label,
                       const char *dose)
{
    struct mm_ssmix2_timing *t = mm_ssmix2__push(r, v, sizeof(*t));

    if (!t)
        return;
    t->n = n;
    t->label = label;
    t->dose = mm_ssmix2__sdup(r, dose);
}

static const char *const timing_words[] = { "起床", "朝", "昼", "夕", "就寝", "寝る前" };

/* The timing of a TQ1's usage text from its one timing word on (「内服・経口・１日１回朝食後」 →
 * 朝食後: the meal relation stays) in the older form of unequal doses, one TQ1 per timing; the
 * whole text when it names none or several timings. */
static const char *timing_word(mm_ssmix2_record *r, const char *usage)
{
    const char *at = NULL;

    for (size_t i = 0; i < sizeof(timing_words) / sizeof(timing_words[0]); i++) {
        const char *p = strstr(usage, timing_words[i]);
        if (!p)
            continue;
        if (at)
            return mm_ssmix2__sdup(r, usage);
        at = p;
    }
    return mm_ssmix2__sdup(r, at ? at : usage);
}

/* A drug with every string "" (the arrays are settled later). */
static void drug_init(struct mm_ssmix2_drug *d)
{
    d->code = d->name = d->system = d->dose = d->unit = d->unit_code = "";
    d->dose_max = d->form = d->yj = d->daily_dose = d->daily_unit = "";
    d->dispense = d->dispense_unit = d->class_name = d->class_code = d->rx_no = d->role = "";
}

/* The texts of RXE-7 repetitions (V codes to @timings when non-NULL) and of RXE-21. */
static void rxe_texts(mm_ssmix2_record *r, mm_hl7_msg *m, size_t s, struct vec *timings,
                      struct vec *instr, struct vec *disp, struct vec *flags)
{
    char code[64], amount[32];
    int n;

    for (int rep = 1; rep <= (int)mm_hl7_rep_count(m, s, 7); rep++) {
        const char *text;
        trim(mm_ssmix2__peek(m, s, 7, rep, 1, 1), code, sizeof(code));
        if (timings && v_code(code, &n, amount, sizeof(amount))) {
            add_timing(r, timings, n, "", amount);
            continue;
        }
        text = name_or_code(r, m, s, 7, rep, 2);
        push_str(r, instr, text);
        flags_of(r, flags, text);
    }
    for (int rep = 1; rep <= (int)mm_hl7_rep_count(m, s, 21); rep++) {
        const char *text = name_or_code(r, m, s, 21, rep, 2);
        push_str(r, disp, text);
        flags_of(r, flags, text);
    }
}

/* A prescription line's drug from its RXE @s. */
static void read_rxe_drug(mm_ssmix2_record *r, struct tmp_drug *t, mm_hl7_msg *m, size_t s)
{
    struct mm_ssmix2_drug *d = &t->d;
    const char *du = mm_ssmix2__peek(m, s, 19, 1, 2, 2);

    d->code = mm_ssmix2__get(r, m, s, 2, 1, 1, 1);
    d->name = mm_ssmix2__get(r, m, s, 2, 1, 2, 1);
    d->system = mm_ssmix2__get(r, m, s, 2, 1, 3, 1);
    d->dose = mm_ssmix2__get(r, m, s, 3, 1, 1, 1);
    d->dose_max = mm_ssmix2__get(r, m, s, 4, 1, 1, 1);
    d->unit = name_or_code(r, m, s, 5, 1, 2);
    d->unit_code = mm_ssmix2__get(r, m, s, 5, 1, 1, 1);
    d->form = name_or_code(r, m, s, 6, 1, 2);
    d->dispense = mm_ssmix2__get(r, m, s, 10, 1, 1, 1);
    d->dispense_unit = name_or_code(r, m, s, 11, 1, 2);
    d->rx_no = mm_ssmix2__get(r, m, s, 15, 1, 1, 1);
    d->daily_dose = mm_ssmix2__get(r, m, s, 19, 1, 1, 1);
    d->daily_unit = mm_ssmix2__sdup(r, du[0] ? du : mm_ssmix2__peek(m, s, 19, 1, 2, 1));
    d->class_name = mm_ssmix2__get(r, m, s, 27, 1, 2, 1);
    d->class_code = mm_ssmix2__get(r, m, s, 27, 1, 1, 1);
    d->yj = mm_ssmix2__get(r, m, s, 31, 1, 1, 1);
    rxe_texts(r, m, s, &t->timings, &t->instr, &t->disp, &t->flags);
    flags_of(r, &t->flags, d->class_name);
    /* read for injections only: shown raw when a prescription carries them */
    for (int f = 22; f <= 24; f++)
        mm_ssmix2__raw_add(r, &t->raw, m, s, f);
}

/* An injection Rp's RXE @s: type, total amount, rate, instructions. */
static void read_rxe_inj(mm_ssmix2_record *r, struct tmp_rp *t, mm_hl7_msg *m, size_t s)
{
    struct mm_ssmix2_rp *rp = &t->rp;
    static const int unused[] = { 4, 10, 11, 19, 31 }; /* read for prescriptions only */

    rp->type_code = mm_ssmix2__get(r, m, s, 2, 1, 1, 1);
    rp->type_name = name_or_code(r, m, s, 2, 1, 2);
    rp->dose = mm_ssmix2__get(r, m, s, 3, 1, 1, 1);
    rp->unit = name_or_code(r, m, s, 5, 1, 2);
    rp->form = name_or_code(r, m, s, 6, 1, 2);
    rp->rx_no = mm_ssmix2__get(r, m, s, 15, 1, 1, 1);
    rp->rate_per = mm_ssmix2__get(r, m, s, 22, 1, 1, 1);
    rp->rate = mm_ssmix2__get(r, m, s, 23, 1, 1, 1);
    rp->rate_unit = name_or_code(r, m, s, 24, 1, 2);
    rp->class_name = mm_ssmix2__get(r, m, s, 27, 1, 2, 1);
    rp->class_code = mm_ssmix2__get(r, m, s, 27, 1, 1, 1);
    flags_of(r, &t->flags, rp->type_name);
    rxe_texts(r, m, s, NULL, &t->instr, &t->disp, &t->flags);
    for (size_t i = 0; i < sizeof(unused) / sizeof(unused[0]); i++)
        mm_ssmix2__raw_add(r, &t->raw, m, s, unused[i]);
}

/* A day pattern from a TQ1-3 repetition's code and text. */
static void read_pattern(mm_ssmix2_record *r, struct mm_ssmix2_pattern *p, const char *code,
                         const char *text)
{
    size_t n = strlen(code);

    memset(p, 0, sizeof(*p));
    p->code = mm_ssmix2__sdup(r, code);
    p->text = mm_ssmix2__sdup(r, text);
    p->kind = "other";
    if (code[0] == 'W' && n == 8 && strspn(code + 1, "01") == 7) {
        p->kind = "weekdays";
        for (int i = 0; i < 7; i++)
            p->weekdays[i] = code[1 + i] == '1';
    } else if (code[0] == 'I' && n >= 3 && code[1] >= '0' && code[1] <= '9' && code[2] >= '0' &&
               code[2] <= '9') {
        p->kind = "interval";
        p->on = code[1] - '0';
        p->off = code[2] - '0';
    }
}

/* TQ1-3 repetitions 2..n: V codes to @timings (when non-NULL), the first other code as the
 * Rp's pattern, further ones kept raw. */
static void tq1_reps(mm_ssmix2_record *r, struct tmp_rp *t, mm_hl7_msg *m, size_t s,
                     struct vec *timings)
{
    char code[64], amount[32];
    int n;

    for (int rep = 2; rep <= (int)mm_hl7_rep_count(m, s, 3); rep++) {
        const char *text = mm_ssmix2__peek(m, s, 3, rep, 1, 2);
        struct mm_ssmix2_raw *e;
        const char *p;
        size_t len;
        trim(mm_ssmix2__peek(m, s, 3, rep, 1, 1), code, sizeof(code));
        if (v_code(code, &n, amount, sizeof(amount))) {
            if (timings)
                add_timing(r, timings, n, "", amount);
        } else if (!t->have_pat && code[0]) {
            read_pattern(r, &t->pat, code, text);
            t->have_pat = 1;
        } else if (mm_hl7_get_raw(m, s, 3, rep, 0, 0, &p, &len) == 0 && len &&
                   (e = mm_ssmix2__push(r, &t->raw, sizeof(*e))) != NULL) {
            e->field = "TQ1-3";
            e->text = mm_ssmix2__sdupn(r, p, len);
        }
    }
}

/* The Rp's timing from its first TQ1 @s. */
static void read_tq1(mm_ssmix2_record *r, struct tmp_rp *t, mm_hl7_msg *m, size_t s,
                     struct vec *timings)
{
    struct mm_ssmix2_rp *rp = &t->rp;
    const char *du = mm_ssmix2__peek(m, s, 6, 1, 2, 1);

    rp->usage_code = mm_ssmix2__get(r, m, s, 3, 1, 1, 1);
    rp->usage = mm_ssmix2__get(r, m, s, 3, 1, 1, 2);
    if (!rp->usage[0])
        rp->usage = rp->usage_code;
    tq1_reps(r, t, m, s, timings);
    for (int rep = 1; rep <= (int)mm_hl7_rep_count(m, s, 4); rep++) {
        const char *v = mm_ssmix2__peek(m, s, 4, rep, 1, 1),
                   *tx = mm_ssmix2__peek(m, s, 4, rep, 1, 2);
        char b[8];
        if (strspn(v, "0123456789") >= 4) {
            snprintf(b, sizeof(b), "%.2s:%.2s", v, v + 2);
            push_str(r, &t->times, mm_ssmix2__sdup(r, b));
        } else {
            push_str(r, &t->times, mm_ssmix2__sdup(r, tx[0] ? tx : v));
        }
    }
    rp->days = mm_ssmix2__get(r, m, s, 6, 1, 1, 1);
    rp->days_unit = mm_ssmix2__sdup(r, du[0] ? du : mm_ssmix2__peek(m, s, 6, 1, 2, 0));
    rp->start = mm_ssmix2__iso_minute(r, mm_ssmix2__peek(m, s, 7, 1, 1, 1));
    rp->end = mm_ssmix2__iso_minute(r, mm_ssmix2__peek(m, s, 8, 1, 1, 1));
    rp->prn = strcmp(mm_ssmix2__peek(m, s, 9, 1, 1, 1), "PRN") == 0;
    rp->condition = mm_ssmix2__get(r, m, s, 10, 1, 1, 1);
    rp->tq_text = mm_ssmix2__get(r, m, s, 11, 1, 1, 1);
    rp->total = mm_ssmix2__get(r, m, s, 14, 1, 1, 1);
    if (strstr(rp->usage, "頓用") || strstr(rp->usage, "頓服"))
        rp->prn = 1;
}

static void read_rxr(mm_ssmix2_record *r, struct mm_ssmix2_rp *rp, mm_hl7_msg *m, size_t s)
{
    rp->route = mm_ssmix2__get(r, m, s, 1, 1, 1, 1);
    rp->route_name = mm_ssmix2__get(r, m, s, 1, 1, 2, 1);
    rp->site = name_or_code(r, m, s, 2, 1, 2);
    /* RXR-6 (site modifier, HL7 0495: L 左, R 右 ...) before the site: 左腕 */
    if (mm_ssmix2__peek(m, s, 6, 1, 1, 1)[0]) {
        char b[512];
        const char *mod = name_or_code(r, m, s, 6, 1, 2);
        snprintf(b, sizeof(b), "%s%s", mod, rp->site);
        rp->site = mm_ssmix2__sdup(r, b);
    }
    rp->device = name_or_code(r, m, s, 3, 1, 2);
    rp->method = name_or_code(r, m, s, 4, 1, 2);
}

/* An injection component (RXC), or an extra component of a prescription line. */
static void read_rxc(mm_ssmix2_record *r, struct tmp_rp *t, mm_hl7_msg *m, size_t s)
{
    struct tmp_drug *td = mm_ssmix2__push(r, &t->drugs, sizeof(*td));
    struct mm_ssmix2_drug *d;

    if (!td)
        return;
    d = &td->d;
    drug_init(d);
    d->role = mm_ssmix2__get(r, m, s, 1, 1, 1, 1);
    d->code = mm_ssmix2__get(r, m, s, 2, 1, 1, 1);
    d->name = mm_ssmix2__get(r, m, s, 2, 1, 2, 1);
    d->system = mm_ssmix2__get(r, m, s, 2, 1, 3, 1);
    d->dose = mm_ssmix2__get(r, m, s, 3, 1, 1, 1);
    d->unit = name_or_code(r, m, s, 4, 1, 2);
    d->unit_code = mm_ssmix2__get(r, m, s, 4, 1, 1, 1);
    /* RXC-7 (supplementary codes: JHSI0005 01 麻薬, 03 劇薬; JHSI0004 03 抗がん剤 ...) is
     * shown raw; the classes it names also flag the Rp */
    for (int rep = 1; rep <= (int)mm_hl7_rep_count(m, s, 7); rep++)
        flags_of(r, &t->flags, mm_ssmix2__peek(m, s, 7, rep, 2, 1));
}

/* The text of segment @s from field @from to its end. OUT: *p, *n */
static void seg_text(mm_hl7_msg *m, size_t s, int from, const char **p, size_t *n)
{
    size_t nf = mm_hl7_field_count(m, s);
    const char *e;
    size_t en;

    *p = "";
    *n = 0;
    if ((size_t)from > nf || mm_hl7_get_raw(m, s, from, 0, 0, 0, p, n) != 0 ||
        mm_hl7_get_raw(m, s, (int)nf, 0, 0, 0, &e, &en) != 0)
        return;
    *n = (size_t)(e + en - *p);
}

/* Whether segments @a and @b say the same from field @from on (TQ1-1 is a set ID). */
static int same_segment(mm_hl7_msg *m, size_t a, size_t b, int from)
{
    const char *pa, *pb;
    size_t na, nb;

    seg_text(m, a, from, &pa, &na);
    seg_text(m, b, from, &pb, &nb);
    return na == nb && memcmp(pa, pb, na) == 0;
}

/* Capture what the model does not interpret of segment @s into @raw: order segments and the
 * message's header segments field by field (the table), NTE, TQ2, OBX inside an order line
 * and Z-segments whole. */
static void capture(mm_ssmix2_record *r, struct vec *raw, mm_hl7_msg *m, size_t s, int in_line)
{
    const char *id = mm_hl7_segment_id(m, s);

    if (id[0] == 'Z' || strcmp(id, "NTE") == 0 || strcmp(id, "TQ2") == 0 ||
        (in_line && strcmp(id, "OBX") == 0))
        mm_ssmix2__raw_add(r, raw, m, s, 0);
    else
        mm_ssmix2__raw_segment(r, raw, m, s);
}

/* The Rp of ORC @s's group (ORC-4), new at the end of @rps when it is the first line. */
static struct tmp_rp *rp_of(mm_ssmix2_record *r, struct vec *rps, mm_hl7_msg *m, size_t s)
{
    const char *group = mm_ssmix2__peek(m, s, 4, 1, 1, 1);
    struct tmp_rp *t = rps->v;
    struct mm_ssmix2_rp *rp;

    for (size_t i = 0; i < rps->n; i++)
        if (strcmp(t[i].rp.rp, group) == 0)
            return &t[i];
    if ((t = mm_ssmix2__push(r, rps, sizeof(*t))) == NULL)
        return NULL;
    rp = &t->rp;
    rp->rp = mm_ssmix2__sdup(r, group);
    rp->usage = rp->usage_code = rp->days = rp->days_unit = rp->start = rp->end = "";
    rp->condition = rp->tq_text = rp->total = rp->route = rp->route_name = "";
    rp->site = rp->device = rp->method = rp->type_code = rp->type_name = "";
    rp->dose = rp->unit = rp->form = rp->rx_no = rp->class_name = rp->class_code = "";
    rp->rate = rp->rate_per = rp->rate_unit = "";
    t->tq1 = t->rxr = t->rxe = SIZE_MAX;
    return t;
}

/* The TQ1s of a line: the Rp's timing from its first, the older 不均等 (several TQ1 each
 * with TQ1-2) as per-timing amounts, a later TQ1 of the Rp that differs kept whole. */
static void line_tq1(mm_ssmix2_record *r, struct tmp_rp *t, struct tmp_drug *td, mm_hl7_msg *m,
                     size_t a, size_t b, struct vec *raw)
{
    size_t ntq = 0, first = SIZE_MAX;
    int older = 0;

    for (size_t s = a; s < b; s++)
        if (strcmp(mm_hl7_segment_id(m, s), "TQ1") == 0) {
            older |= mm_ssmix2__peek(m, s, 2, 1, 1, 1)[0] != '\0';
            first = ntq++ ? first : s;
        }
    older = older && td;
    for (size_t s = first, k = 0; s < b; s++) {
        if (strcmp(mm_hl7_segment_id(m, s), "TQ1") != 0)
            continue;
        k++;
        if (older && mm_ssmix2__peek(m, s, 2, 1, 1, 1)[0])
            add_timing(r, &td->timings, (int)k, timing_word(r, mm_ssmix2__peek(m, s, 3, 1, 1, 2)),
                       mm_ssmix2__peek(m, s, 2, 1, 1, 1));
        if (t->tq1 == SIZE_MAX) {
            t->tq1 = s;
            read_tq1(r, t, m, s, td ? &td->timings : NULL);
        } else if (!(older && k > 1) && !same_segment(m, t->tq1, s, 2)) {
            mm_ssmix2__raw_add(r, raw, m, s, 0); /* a timing of its own: shown whole */
            continue;
        }
        mm_ssmix2__raw_segment(r, raw, m, s);
    }
}

/* Whether the later segment @s repeats the Rp's first @first; if not it is kept whole. */
static int repeats(mm_ssmix2_record *r, struct vec *raw, mm_hl7_msg *m, size_t first, size_t s)
{
    if (same_segment(m, first, s, 1))
        return 1;
    mm_ssmix2__raw_add(r, raw, m, s, 0);
    return 0;
}

/* One line: segments [@a, @b) starting with its ORC. */
static void read_line(mm_ssmix2_record *r, struct tmp_rp *t, int kind, mm_hl7_msg *m, size_t a,
                      size_t b)
{
    struct tmp_drug *td = NULL;
    struct vec *raw = &t->raw;

    for (size_t s = a; s < b && !r->oom; s++) {
        const char *id = mm_hl7_segment_id(m, s);
        if (strcmp(id, "TQ1") == 0)
            continue; /* line_tq1() */
        if (strcmp(id, "RXE") == 0 && kind == 0 && !td) {
            if ((td = mm_ssmix2__push(r, &t->drugs, sizeof(*td))) == NULL)
                return;
            drug_init(&td->d);
            read_rxe_drug(r, td, m, s);
            raw = &td->raw;
            mm_ssmix2__raw_segment(r, raw, m, a); /* the line's ORC */
        } else if (strcmp(id, "RXE") == 0 && kind == 1 && t->rxe == SIZE_MAX) {
            t->rxe = s;
            read_rxe_inj(r, t, m, s);
        } else if (strcmp(id, "RXE") == 0 && (kind == 0 || !repeats(r, raw, m, t->rxe, s))) {
            if (kind == 0)
                mm_ssmix2__raw_add(r, raw, m, s, 0); /* a second RXE in one line */
            continue;
        } else if (strcmp(id, "RXR") == 0 && t->rxr == SIZE_MAX) {
            t->rxr = s;
            read_rxr(r, &t->rp, m, s);
        } else if (strcmp(id, "RXR") == 0 && !repeats(r, raw, m, t->rxr, s)) {
            continue;
        } else if (strcmp(id, "RXC") == 0) {
            size_t di = td ? (size_t)(td - (struct tmp_drug *)t->drugs.v) : 0;
            read_rxc(r, t, m, s); /* may move t->drugs: find the line's drug again */
            if (td) {
                td = (struct tmp_drug *)t->drugs.v + di;
                raw = &td->raw;
            }
        } else if (strcmp(id, "ORC") == 0 && kind == 0) {
            continue; /* with the line's RXE, into the drug's raw */
        }
        capture(r, raw, m, s, 1);
    }
    if (kind == 0 && !td)
        mm_ssmix2__raw_segment(r, raw, m, a);
    line_tq1(r, t, td, m, a, b, raw);
    t->lines++;
}

/* ---- after the lines: labels of per-timing amounts, taper steps, settling ---- */

/* Label the per-timing amounts with the timing words of @usage (朝, 昼, 夕 ...) in the order
 * they appear, when there are as many words as timings. */
static void label_timings(struct vec *timings, const char *usage)
{
    const char *const *words = timing_words;
    const char *found[6];
    size_t pos[6], nfound = 0;
    struct mm_ssmix2_timing *t = timings->v;

    if (!timings->n || t[0].label[0])
        return; /* none, or labelled from several TQ1 */
    for (size_t i = 0; i < sizeof(timing_words) / sizeof(timing_words[0]); i++) {
        const char *p = strstr(usage, words[i]);
        size_t k;
        if (!p)
            continue;
        for (k = nfound; k > 0 && pos[k - 1] > (size_t)(p - usage); k--) {
            pos[k] = pos[k - 1];
            found[k] = found[k - 1];
        }
        pos[k] = (size_t)(p - usage);
        found[k] = words[i];
        nfound++;
    }
    if (nfound != timings->n)
        return;
    for (size_t i = 0; i < timings->n; i++)
        if (t[i].n >= 1 && (size_t)t[i].n <= nfound)
            t[i].label = found[t[i].n - 1];
}

/* Days since 1970-01-01 of "YYYY-MM-DD...", or LONG_MIN when it is not a date. */
static long day_number(const char *d)
{
    int y, mo, da;
    long era, yoe, doy, doe;

    if (strlen(d) < 10 || sscanf(d, "%4d-%2d-%2d", &y, &mo, &da) != 3 || mo < 1 || mo > 12 ||
        da < 1 || da > 31)
        return -100000000L;
    y -= mo <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153L * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + da - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Days an Rp runs from its start (days × 7 for weeks), or -1 when not known. */
static long run_days(const struct mm_ssmix2_rp *rp)
{
    char *end;
    long d = strtol(rp->days, &end, 10);

    if (rp->end[0])
        return day_number(rp->end) - day_number(rp->start) + 1;
    if (!rp->days[0] || *end || d <= 0 || rp->pattern)
        return -1; /* a day pattern stretches the days over a longer span */
    return rp->days_unit[0] == 'W' || rp->days_unit[0] == 'w' ? d * 7 : d;
}

static const char *first_code(const struct tmp_rp *t)
{
    const struct tmp_drug *d = t->drugs.v;

    return t->drugs.n ? d[0].d.code : "";
}

/* Whether Rps @p and @q give the same (first drug's dose, usage, rate): a repeat, no step. */
static int same_regimen(const struct tmp_rp *p, const struct tmp_rp *q)
{
    const struct tmp_drug *a = p->drugs.v, *b = q->drugs.v;

    return strcmp(a[0].d.dose, b[0].d.dose) == 0 && strcmp(p->rp.usage, q->rp.usage) == 0 &&
           strcmp(p->rp.rate, q->rp.rate) == 0 && strcmp(p->rp.dose, q->rp.dose) == 0;
}

/* The Rps of the same first drug as Rp @i, sorted by start. OUT: group. @return how many */
static size_t same_drug(const struct tmp_rp *t, size_t n, size_t i, size_t *group, size_t cap)
{
    size_t ng = 0;

    for (size_t j = 0; j < n && ng < cap; j++)
        if (strcmp(first_code(&t[j]), first_code(&t[i])) == 0)
            group[ng++] = j;
    for (size_t a = 1; a < ng; a++) /* insertion sort by start */
        for (size_t b = a; b > 0 && strcmp(t[group[b]].rp.start, t[group[b - 1]].rp.start) < 0;
             b--) {
            size_t x = group[b];
            group[b] = group[b - 1];
            group[b - 1] = x;
        }
    return ng;
}

/*
 * Steps of a taper or escalation: the Rps of one order with the same first drug, numbered by
 * start, when each starts no earlier than the one before ends (never concurrent, as
 * alternating regimens are) and the regimen changes somewhere (not a plain repeat).
 */
static void taper_steps(struct tmp_rp *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t group[64], ng;
        int ok = 1, change = 0;
        size_t seen = 0;
        for (size_t j = 0; j < i; j++)
            seen += strcmp(first_code(&t[j]), first_code(&t[i])) == 0;
        if (!first_code(&t[i])[0] || seen)
            continue; /* no drug, or the group was judged from its first member already */
        ng = same_drug(t, n, i, group, 64);
        if (ng < 2)
            continue;
        for (size_t a = 1; a < ng && ok; a++) {
            const struct mm_ssmix2_rp *p = &t[group[a - 1]].rp, *q = &t[group[a]].rp;
            long len = run_days(p);
            ok = p->start[0] && q->start[0] && len > 0 &&
                 day_number(p->start) + len <= day_number(q->start);
            change |= !same_regimen(&t[group[a - 1]], &t[group[a]]);
        }
        for (size_t a = 0; a < ng && ok && change; a++) {
            t[group[a]].rp.step.n = (int)a + 1;
            t[group[a]].rp.step.of = (int)ng;
        }
    }
}

/* Remove repeated entries (the same field and text, from lines that repeat a segment). */
static void dedupe_raw(struct vec *v)
{
    struct mm_ssmix2_raw *e = v->v;
    size_t n = 0;

    for (size_t i = 0; i < v->n; i++) {
        size_t k;
        for (k = 0; k < n; k++)
            if (strcmp(e[k].field, e[i].field) == 0 && strcmp(e[k].text, e[i].text) == 0)
                break;
        if (k == n)
            e[n++] = e[i];
    }
    v->n = n;
}

#define SETTLE(r, v, T, count) ((const T *)mm_ssmix2__settle((r), (v), sizeof(T), (count)))

static void settle_drug(mm_ssmix2_record *r, struct tmp_drug *t)
{
    struct mm_ssmix2_drug *d = &t->d;

    dedupe_raw(&t->raw);
    d->per_timing = SETTLE(r, &t->timings, struct mm_ssmix2_timing, &d->ntimings);
    d->instructions = SETTLE(r, &t->instr, char *const, &d->ninstructions);
    d->dispensing = SETTLE(r, &t->disp, char *const, &d->ndispensing);
    d->flags = SETTLE(r, &t->flags, char *const, &d->nflags);
    d->raw = SETTLE(r, &t->raw, struct mm_ssmix2_raw, &d->nraw);
}

/* Move an Rp's parts into the arena (the drugs' vectors freed on the way). */
static void settle_rp(mm_ssmix2_record *r, struct tmp_rp *t)
{
    struct mm_ssmix2_rp *rp = &t->rp;
    struct tmp_drug *td = t->drugs.v;
    struct vec drugs = { 0 };

    for (size_t i = 0; i < t->drugs.n; i++) {
        struct mm_ssmix2_drug *d;
        settle_drug(r, &td[i]);
        if ((d = mm_ssmix2__push(r, &drugs, sizeof(*d))) != NULL)
            *d = td[i].d;
    }
    mm_free(t->drugs.v);
    memset(&t->drugs, 0, sizeof(t->drugs));
    rp->pattern = t->have_pat ? mm_ssmix2__adup(r, &t->pat, sizeof(t->pat)) : NULL;
    dedupe_raw(&t->raw);
    rp->drugs = SETTLE(r, &drugs, struct mm_ssmix2_drug, &rp->ndrugs);
    rp->times = SETTLE(r, &t->times, char *const, &rp->ntimes);
    rp->instructions = SETTLE(r, &t->instr, char *const, &rp->ninstructions);
    rp->dispensing = SETTLE(r, &t->disp, char *const, &rp->ndispensing);
    rp->flags = SETTLE(r, &t->flags, char *const, &rp->nflags);
    rp->raw = SETTLE(r, &t->raw, struct mm_ssmix2_raw, &rp->nraw);
}

/* Whatever is decided once all lines are read: PRN from RXE-27 22, labels, steps. */
static void finish_rps(struct tmp_rp *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct tmp_drug *td = t[i].drugs.v;
        t[i].rp.pattern = t[i].have_pat ? &t[i].pat : NULL; /* for run_days() */
        const char *const *disp = t[i].disp.v;
        for (size_t k = 0; k < t[i].drugs.n; k++) {
            t[i].rp.prn |= strcmp(td[k].d.class_code, "22") == 0;
            label_timings(&td[k].timings, t[i].rp.usage);
        }
        /* injections: a PRN usage code (PRNpain) or 頓用処方 (RXE-21 OTP, JHSI0001) */
        t[i].rp.prn |= strncmp(t[i].rp.usage_code, "PRN", 3) == 0;
        for (size_t k = 0; k < t[i].disp.n; k++)
            t[i].rp.prn |= strstr(disp[k], "頓用") != NULL;
    }
    taper_steps(t, n);
}

/* ---- orders ---- */

const char *mm_ssmix2__order_kind(const char *type)
{
    if (strcmp(type, "OMP-01") == 0)
        return "prescription";
    if (strcmp(type, "OMP-02") == 0)
        return "injection";
    if (strcmp(type, "OMD") == 0)
        return "diet";
    if (strcmp(type, "OML-01") == 0)
        return "lab";
    if (strcmp(type, "OMG-01") == 0)
        return "radiology";
    if (strcmp(type, "OMG-02") == 0)
        return "endoscopy";
    return "physiology";
}

/* The Rps of a prescription or injection message: one line per ORC. */
static void read_rps(mm_ssmix2_record *r, struct mm_ssmix2_order *o, int kind, mm_hl7_msg *m,
                     size_t orc)
{
    size_t nseg = mm_hl7_segment_count(m);
    struct vec rps = { 0 }, out = { 0 };
    struct tmp_rp *t;

    for (size_t a = orc; a < nseg && !r->oom;) {
        size_t b = mm_hl7_find(m, "ORC", a + 1);
        struct tmp_rp *cur = rp_of(r, &rps, m, a);
        b = b == SIZE_MAX ? nseg : b;
        if (cur)
            read_line(r, cur, kind, m, a, b);
        a = b;
    }
    t = rps.v;
    finish_rps(t, rps.n);
    for (size_t i = 0; i < rps.n; i++) {
        struct mm_ssmix2_rp *rp;
        settle_rp(r, &t[i]);
        if ((rp = mm_ssmix2__push(r, &out, sizeof(*rp))) != NULL)
            *rp = t[i].rp;
    }
    mm_free(rps.v);
    o->rps = SETTLE(r, &out, struct mm_ssmix2_rp, &o->nrps);
}

void mm_ssmix2__add_order(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o0, mm_hl7_msg *m)
{
    int kind = strcmp(o0->type, "OMP-01") == 0 ? 0 : strcmp(o0->type, "OMP-02") == 0 ? 1 : 2;
    size_t orc = mm_hl7_find(m, "ORC", 0), pv1 = mm_hl7_find(m, "PV1", 0);
    size_t nseg = mm_hl7_segment_count(m), end;
    struct mm_ssmix2_order *o;
    struct vec raw = { 0 };

    if (orc == SIZE_MAX)
        return;
    o = mm_ssmix2__push(r, &r->orders[kind], sizeof(*o));
    if (!o)
        return;
    o->from = *o0;
    o->order_no = mm_ssmix2__get(r, m, orc, 2, 1, 1, 1);
    o->date = mm_ssmix2__iso_date(r, mm_ssmix2__peek(m, orc, 9, 1, 1, 1));
    o->dept = mm_ssmix2__get(r, m, orc, 17, 1, 1, 1);
    o->dept_name = mm_ssmix2__named(r, m, orc, 17, 2, 0);
    o->doctor = mm_ssmix2__person(r, m, orc, 12, 1, 2);
    o->doctor_id = mm_ssmix2__get(r, m, orc, 12, 1, 1, 1);
    if (pv1 != SIZE_MAX) {
        mm_ssmix2__named(r, m, pv1, 3, 9, 1);
        mm_ssmix2__named(r, m, pv1, 10, 2, 0);
    }
    o->inpatient = strcmp(mm_ssmix2__peek(m, orc, 29, 1, 1, 1), "I") == 0 ||
                   strcmp(mm_ssmix2__peek(m, pv1, 2, 1, 1, 1), "I") == 0;
    o->cancel = strcmp(mm_ssmix2__peek(m, orc, 1, 1, 1, 1), "CA") == 0;
    o->exam_code = o->exam_name = o->text = "";
    if (kind == 2) {
        size_t obr = mm_hl7_find(m, "OBR", 0), ods = mm_hl7_find(m, "ODS", 0);
        o->exam_code = mm_ssmix2__get(r, m, obr, 4, 1, 1, 1);
        o->exam_name = mm_ssmix2__get(r, m, obr, 4, 1, 2, 1);
        if (ods != SIZE_MAX)
            o->text = mm_ssmix2__get(r, m, ods, 3, 1, 2, 1);
        o->exam_name = o->exam_name[0] ? o->exam_name
                                       : mm_ssmix2__sdup(r, mm_ssmix2__order_kind(o0->type));
    }
    /* the segments before the first ORC (all of them for other orders) belong to the order */
    end = kind == 2 ? nseg : orc;
    for (size_t s = 0; s < end; s++)
        capture(r, &raw, m, s, 0);
    if (kind != 2)
        read_rps(r, o, kind, m, orc);
    dedupe_raw(&raw);
    o->raw = SETTLE(r, &raw, struct mm_ssmix2_raw, &o->nraw);
}

/* ---- administrations (OMP-11 / OMP-12) ---- */

void mm_ssmix2__add_admins(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o0, mm_hl7_msg *m)
{
    size_t orc = mm_hl7_find(m, "ORC", 0), rxr = mm_hl7_find(m, "RXR", 0);
    size_t pv1 = mm_hl7_find(m, "PV1", 0);

    if (orc != SIZE_MAX)
        mm_ssmix2__named(r, m, orc, 17, 2, 0);
    if (pv1 != SIZE_MAX) {
        mm_ssmix2__named(r, m, pv1, 3, 9, 1);
        mm_ssmix2__named(r, m, pv1, 10, 2, 0);
    }
    for (size_t s = mm_hl7_find(m, "RXA", 0); s != SIZE_MAX; s = mm_hl7_find(m, "RXA", s + 1)) {
        struct mm_ssmix2_admin *a = mm_ssmix2__push(r, &r->admins, sizeof(*a));
        if (!a)
            return;
        a->from = *o0;
        a->order_no = mm_ssmix2__get(r, m, orc, 2, 1, 1, 1);
        a->given_at = mm_ssmix2__iso_minute(r, mm_ssmix2__peek(m, s, 3, 1, 1, 1));
        a->ended_at = mm_ssmix2__iso_minute(r, mm_ssmix2__peek(m, s, 4, 1, 1, 1));
        drug_init(&a->drug);
        a->drug.code = mm_ssmix2__get(r, m, s, 5, 1, 1, 1);
        a->drug.name = mm_ssmix2__get(r, m, s, 5, 1, 2, 1);
        a->drug.system = mm_ssmix2__get(r, m, s, 5, 1, 3, 1);
        a->drug.dose = mm_ssmix2__get(r, m, s, 6, 1, 1, 1);
        a->drug.unit = name_or_code(r, m, s, 7, 1, 2);
        a->route = mm_ssmix2__get(r, m, rxr, 1, 1, 1, 1);
        a->route_name = mm_ssmix2__get(r, m, rxr, 1, 1, 2, 1);
        a->status = mm_ssmix2__get(r, m, s, 20, 1, 1, 1);
        a->given_by = mm_ssmix2__person(r, m, s, 10, 1, 2);
        a->given_by_id = mm_ssmix2__get(r, m, s, 10, 1, 1, 1);
        a->location = mm_ssmix2__get(r, m, s, 11, 1, 1, 1);
        a->location_name = mm_ssmix2__named(r, m, s, 11, 9, 1);
        a->site = mm_ssmix2__get(r, m, s, 9, 1, 2, 1);
        a->injection = strcmp(o0->type, "OMP-12") == 0;
    }
}
