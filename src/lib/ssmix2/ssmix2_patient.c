/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every message of a patient says about the patient, whatever its data type
 * (docs/orders.md "Identity without ADT-00", "Allergies from every message", "Fields not
 * interpreted"): the identity of its PID (ADT-00 in full with contacts, insurance and
 * body measurements; any other message's PID as a stand-in when the patient has no current
 * ADT-00), the allergies of its AL1 and IAM segments, and, for the messages that are not
 * orders, the non-empty fields the record does not interpret, kept raw. mm_ssmix2_record_add()
 * calls these for every message before and after the extractor of its data type.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ssmix2/ssmix2.h"
#include "ssmix2/ssmix2_int.h"

/* ---- identity ---- */

/* Append every repetition of the XTN field @f of segment @seg to @v (struct mm_ssmix2_phone). */
static void add_phones(mm_ssmix2_record *r, struct vec *v, mm_hl7_msg *m, size_t seg, int f)
{
    for (int rep = 1; seg != SIZE_MAX && rep <= (int)mm_hl7_rep_count(m, seg, f); rep++) {
        const char *num = mm_ssmix2__peek(m, seg, f, rep, 12, 1);
        struct mm_ssmix2_phone *ph;
        if (!num[0])
            num = mm_ssmix2__peek(m, seg, f, rep, 1, 1);
        if (!num[0] || !(ph = mm_ssmix2__push(r, v, sizeof(*ph))))
            continue;
        ph->use = mm_ssmix2__get(r, m, seg, f, rep, 2, 1);
        ph->equipment = mm_ssmix2__get(r, m, seg, f, rep, 3, 1);
        ph->number = mm_ssmix2__sdup(r, num);
    }
}

/* An address (XAD) of repetition @rep: component 8 (the full text), else the parts. */
static const char *address_of(mm_ssmix2_record *r, mm_hl7_msg *m, size_t seg, int f, int rep)
{
    const char *full = mm_ssmix2__peek(m, seg, f, rep, 8, 1);
    char b[768];

    if (full[0])
        return mm_ssmix2__sdup(r, full);
    snprintf(b, sizeof(b), "%s%s%s%s", mm_ssmix2__peek(m, seg, f, rep, 4, 1),
             mm_ssmix2__peek(m, seg, f, rep, 3, 1), mm_ssmix2__peek(m, seg, f, rep, 1, 1),
             mm_ssmix2__peek(m, seg, f, rep, 2, 1));
    return mm_ssmix2__sdup(r, b);
}

/* NK1 contacts (not the patient's own line, NK1-3 SEL) and IN1 insurance of an ADT-00. */
static void add_contacts(mm_ssmix2_record *r, struct mm_ssmix2_patient *p, mm_hl7_msg *m)
{
    struct vec cs = { 0 }, ins = { 0 };

    for (size_t s = mm_hl7_find(m, "NK1", 0); s != SIZE_MAX && !r->oom;
         s = mm_hl7_find(m, "NK1", s + 1)) {
        struct vec ph = { 0 };
        struct mm_ssmix2_contact *c;
        if (strcmp(mm_ssmix2__peek(m, s, 3, 1, 1, 1), "SEL") == 0 ||
            !(c = mm_ssmix2__push(r, &cs, sizeof(*c))))
            continue;
        c->name = c->kana = "";
        for (int rep = 1; rep <= (int)mm_hl7_rep_count(m, s, 2); rep++) {
            const char *rt = mm_ssmix2__peek(m, s, 2, rep, 8, 1);
            if (strcmp(rt, "P") == 0)
                c->kana = mm_ssmix2__person(r, m, s, 2, rep, 1);
            else if (!c->name[0])
                c->name = mm_ssmix2__person(r, m, s, 2, rep, 1);
        }
        c->relationship_code = mm_ssmix2__get(r, m, s, 3, 1, 1, 1);
        c->relationship = mm_ssmix2__get(r, m, s, 3, 1, 2, 1);
        c->address = mm_hl7_rep_count(m, s, 4) ? address_of(r, m, s, 4, 1) : "";
        c->postal_code = mm_ssmix2__get(r, m, s, 4, 1, 5, 1);
        add_phones(r, &ph, m, s, 5);
        add_phones(r, &ph, m, s, 6);
        c->phones = mm_ssmix2__settle(r, &ph, sizeof(struct mm_ssmix2_phone), &c->nphones);
    }
    for (size_t s = mm_hl7_find(m, "IN1", 0); s != SIZE_MAX && !r->oom;
         s = mm_hl7_find(m, "IN1", s + 1)) {
        struct mm_ssmix2_insurance *in = mm_ssmix2__push(r, &ins, sizeof(*in));
        if (!in)
            break;
        in->plan_code = mm_ssmix2__get(r, m, s, 2, 1, 1, 1);
        in->plan_name = mm_ssmix2__get(r, m, s, 2, 1, 2, 1);
        in->insurer_no = mm_ssmix2__get(r, m, s, 3, 1, 1, 1);
        in->valid_from = mm_ssmix2__iso_date(r, mm_ssmix2__peek(m, s, 12, 1, 1, 1));
        in->valid_to = mm_ssmix2__iso_date(r, mm_ssmix2__peek(m, s, 13, 1, 1, 1));
        in->relation_code = mm_ssmix2__get(r, m, s, 17, 1, 1, 1);
        in->relation = mm_ssmix2__get(r, m, s, 17, 1, 2, 1);
    }
    p->contacts = mm_ssmix2__settle(r, &cs, sizeof(struct mm_ssmix2_contact), &p->ncontacts);
    p->insurance = mm_ssmix2__settle(r, &ins, sizeof(struct mm_ssmix2_insurance), &p->ninsurance);
}

/* Height, weight and blood type from the OBX segments of an ADT-00. */
static void add_measures(mm_ssmix2_record *r, struct mm_ssmix2_patient *p, mm_hl7_msg *m)
{
    char abo[8] = "", rh[4] = "", bt[16];

    for (size_t s = mm_hl7_find(m, "OBX", 0); s != SIZE_MAX; s = mm_hl7_find(m, "OBX", s + 1)) {
        const char *code = mm_ssmix2__peek(m, s, 3, 1, 1, 1);
        if (strcmp(code, "9N001000000000001") == 0)
            p->height_cm = mm_ssmix2__get(r, m, s, 5, 1, 1, 1);
        else if (strcmp(code, "9N006000000000001") == 0)
            p->weight_kg = mm_ssmix2__get(r, m, s, 5, 1, 1, 1);
        else if (strncmp(code, "5H010", 5) == 0)
            snprintf(abo, sizeof(abo), "%s", mm_ssmix2__peek(m, s, 5, 1, 1, 1));
        else if (strncmp(code, "5H020", 5) == 0)
            snprintf(rh, sizeof(rh), "%s", mm_ssmix2__peek(m, s, 5, 1, 1, 1));
    }
    snprintf(bt, sizeof(bt), "%s%s", abo, abo[0] ? rh : "");
    p->blood_type = mm_ssmix2__sdup(r, bt);
}

/*
 * The one PID reader (ADT-00 and every other message): PID-3 (the PI repetition, else the
 * first), PID-5 (I the name, P the kana), PID-7, PID-8, PID-11 (home, else the first), PID-13
 * and PID-14. The rest of @p is left empty ("", no contacts).
 */
static void read_pid(mm_ssmix2_record *r, struct mm_ssmix2_patient *p, mm_hl7_msg *m, size_t pid)
{
    struct vec ph = { 0 };

    p->id = mm_ssmix2__get(r, m, pid, 3, 1, 1, 1);
    for (int rep = 1; rep <= (int)mm_hl7_rep_count(m, pid, 3); rep++)
        if (strcmp(mm_ssmix2__peek(m, pid, 3, rep, 5, 1), "PI") == 0)
            p->id = mm_ssmix2__get(r, m, pid, 3, rep, 1, 1);
    p->name = p->kana = "";
    for (int rep = 1; rep <= (int)mm_hl7_rep_count(m, pid, 5); rep++) {
        const char *rt = mm_ssmix2__peek(m, pid, 5, rep, 8, 1);
        if (strcmp(rt, "I") == 0 || (!p->name[0] && rt[0] == '\0' && rep == 1))
            p->name = mm_ssmix2__person(r, m, pid, 5, rep, 1);
        else if (strcmp(rt, "P") == 0)
            p->kana = mm_ssmix2__person(r, m, pid, 5, rep, 1);
    }
    p->birth_date = mm_ssmix2__iso_date(r, mm_ssmix2__peek(m, pid, 7, 1, 1, 1));
    p->sex = mm_ssmix2__get(r, m, pid, 8, 1, 1, 1);
    /* PID-11: the home address (type H) or the first; component 8 holds the full text */
    p->address = p->postal_code = "";
    for (int rep = 1; rep <= (int)mm_hl7_rep_count(m, pid, 11); rep++) {
        const char *t = mm_ssmix2__peek(m, pid, 11, rep, 7, 1);
        if (rep == 1 || strcmp(t, "H") == 0) {
            p->address = address_of(r, m, pid, 11, rep);
            p->postal_code = mm_ssmix2__get(r, m, pid, 11, rep, 5, 1);
        }
    }
    p->phone = "";
    for (int rep = 1; rep <= (int)mm_hl7_rep_count(m, pid, 13) && !p->phone[0]; rep++) {
        const char *num = mm_ssmix2__peek(m, pid, 13, rep, 12, 1);
        p->phone = mm_ssmix2__sdup(r, num[0] ? num : mm_ssmix2__peek(m, pid, 13, rep, 1, 1));
    }
    add_phones(r, &ph, m, pid, 13);
    add_phones(r, &ph, m, pid, 14);
    p->phones = mm_ssmix2__settle(r, &ph, sizeof(struct mm_ssmix2_phone), &p->nphones);
    p->blood_type = p->height_cm = p->weight_kg = "";
}

/*
 * The slot for the PID of a message that is not an ADT-00: only current files count, and
 * only the newest is kept (one slot, overwritten), since it stands in for a missing ADT-00.
 * @return the slot to fill, or NULL when @o is not newer than the one kept.
 */
static struct mm_ssmix2_patient *stand_in_slot(mm_ssmix2_record *r,
                                               const struct mm_ssmix2_origin *o)
{
    struct mm_ssmix2_patient *p = r->patients.v;

    if (o->flag != MM_SSMIX2_CURRENT)
        return NULL;
    for (size_t i = 0; i < r->patients.n; i++) {
        if (strcmp(p[i].from.type, "ADT-00") == 0)
            continue;
        if (strcmp(o->file_time, p[i].from.file_time) <= 0)
            return NULL;
        memset(&p[i], 0, sizeof(p[i])); /* the older stand-in's strings stay in the arena */
        return &p[i];
    }
    return mm_ssmix2__push(r, &r->patients, sizeof(*p));
}

void mm_ssmix2__add_identity(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o, mm_hl7_msg *m)
{
    size_t pid = mm_hl7_find(m, "PID", 0);
    int adt00 = strcmp(o->type, "ADT-00") == 0;
    struct mm_ssmix2_patient *p;

    if (pid == SIZE_MAX)
        return;
    p = adt00 ? mm_ssmix2__push(r, &r->patients, sizeof(*p)) : stand_in_slot(r, o);
    if (!p)
        return;
    p->from = *o;
    read_pid(r, p, m, pid);
    if (adt00) {
        add_contacts(r, p, m);
        add_measures(r, p, m);
    }
}

/* ---- allergies ---- */

/* A new allergy from segment @s: AL1 and IAM agree on fields 2-5 (type, allergen, severity,
 * reaction); the caller sets the onset, which they keep in different fields. */
static struct mm_ssmix2_allergy *add_allergy(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o,
                                             mm_hl7_msg *m, size_t s)
{
    struct mm_ssmix2_allergy *a = mm_ssmix2__push(r, &r->allergies, sizeof(*a));

    if (!a)
        return NULL;
    a->from = *o;
    a->type = mm_ssmix2__get(r, m, s, 2, 1, 1, 1);
    a->code = mm_ssmix2__get(r, m, s, 3, 1, 1, 1);
    a->name = mm_ssmix2__get(r, m, s, 3, 1, 2, 1);
    a->system = mm_ssmix2__get(r, m, s, 3, 1, 3, 1);
    a->severity = mm_ssmix2__get(r, m, s, 4, 1, 1, 1);
    a->reaction = mm_ssmix2__get(r, m, s, 5, 1, 1, 1);
    return a;
}

void mm_ssmix2__add_allergies(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o, mm_hl7_msg *m)
{
    size_t n = mm_hl7_segment_count(m);
    int k = strcmp(o->type, "ADT-61") == 0 ? 0 : strcmp(o->type, "ADT-00") == 0 ? 1 : -1;

    /* the newest current register, even when it lists no allergy any more */
    if (k >= 0 && o->flag == MM_SSMIX2_CURRENT &&
        (!r->allergy_src[k] || strcmp(o->file_time, r->allergy_src[k]) > 0))
        r->allergy_src[k] = o->file_time;
    /* in message order: AL1 (ADT-00, RDE, OMG, ...) and IAM (ADT-61) alike */
    for (size_t s = 0; s < n && !r->oom; s++) {
        const char *id = mm_hl7_segment_id(m, s), *onset;
        struct mm_ssmix2_allergy *a;

        if (strcmp(id, "AL1") != 0 && strcmp(id, "IAM") != 0)
            continue;
        if (!mm_ssmix2__peek(m, s, 2, 1, 1, 1)[0] && !mm_ssmix2__peek(m, s, 3, 1, 1, 1)[0] &&
            !mm_ssmix2__peek(m, s, 3, 1, 2, 1)[0] && !mm_ssmix2__peek(m, s, 5, 1, 1, 1)[0])
            continue; /* names no allergen, type or reaction: says nothing */
        if (strcmp(id, "AL1") == 0) {
            if ((a = add_allergy(r, o, m, s)) != NULL)
                a->onset = mm_ssmix2__iso_date(r, mm_ssmix2__peek(m, s, 6, 1, 1, 1));
        } else if (strcmp(id, "IAM") == 0) {
            if (strcmp(mm_ssmix2__peek(m, s, 6, 1, 1, 1), "D") == 0)
                continue; /* the sender deletes this allergy */
            if ((a = add_allergy(r, o, m, s)) == NULL)
                continue;
            onset = mm_ssmix2__peek(m, s, 11, 1, 1, 1);
            a->onset =
                    onset[0] ? mm_ssmix2__iso_date(r, onset) : mm_ssmix2__get(r, m, s, 12, 1, 1, 1);
        }
    }
}

/* ---- fields not interpreted ---- */

int mm_ssmix2__order_type(const char *type)
{
    static const char *const orders[] = { "OMP-01", "OMP-02", "OML-01", "OMG-01",
                                          "OMG-02", "OMG-03", "OMD" };

    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++)
        if (strcmp(type, orders[i]) == 0)
            return 1;
    return 0;
}

void mm_ssmix2__add_uninterpreted(mm_ssmix2_record *r, const struct mm_ssmix2_origin *o,
                                  mm_hl7_msg *m)
{
    struct mm_ssmix2_uninterpreted *u;
    struct vec v = { 0 };
    size_t n = mm_hl7_segment_count(m), nf;
    const struct mm_ssmix2_raw *f;

    for (size_t s = 0; s < n && !r->oom; s++) {
        if (mm_ssmix2__segment_known(mm_hl7_segment_id(m, s)))
            mm_ssmix2__raw_segment(r, &v, m, s);
        else
            mm_ssmix2__raw_add(r, &v, m, s, 0); /* NTE, Z-segments ...: the whole segment */
    }
    f = mm_ssmix2__settle(r, &v, sizeof(struct mm_ssmix2_raw), &nf);
    if (!nf || !(u = mm_ssmix2__push(r, &r->uninterpreted, sizeof(*u))))
        return;
    u->from = *o;
    u->nfields = nf;
    u->fields = f;
}
