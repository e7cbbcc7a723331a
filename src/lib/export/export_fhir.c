/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One patient's record as a FHIR R4 Bundle of type collection (mm_export_fhir_bundle): the
 * Patient (JP_Patient), then the writers of export_fhir_clin.c, export_fhir_med.c and
 * export_fhir_doc.c, then an OperationOutcome that says which data types could not be read.
 * Only items of current (_1) files are written. Every resource's ID is a UUID made of
 * BLAKE2b of what identifies its item (never of the generation or the file time), so the same
 * item gets the same ID from every generation; fullUrls are "urn:uuid:<ID>" and every reference
 * is one of them. Also the shared helpers of export_fhir_int.h. No message names a patient.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "export/export.h"
#include "export/export_fhir_int.h"

/* ---- helpers ---- */

static void oom(struct mm_export__fx *x)
{
    if (!x->err)
        x->err = mm_error_set(MM_ENOMEM, "out of memory");
}

void mm_export__set(struct mm_export__fx *x, json_t *o, const char *k, json_t *v)
{
    if (!o || !v) {
        json_decref(v);
        oom(x);
    } else if (json_object_set_new(o, k, v) != 0) { /* it has dropped v */
        oom(x);
    }
}

void mm_export__str(struct mm_export__fx *x, json_t *o, const char *k, const char *s)
{
    if (s && s[0])
        mm_export__set(x, o, k, json_string(s));
}

void mm_export__push(struct mm_export__fx *x, json_t *a, json_t *v)
{
    if (!a || !v) {
        json_decref(v);
        oom(x);
    } else if (json_array_append_new(a, v) != 0) { /* it has dropped v */
        oom(x);
    }
}

json_t *mm_export__arr(struct mm_export__fx *x, json_t *o, const char *k)
{
    json_t *a = o ? json_object_get(o, k) : NULL;

    if (!a && o) {
        a = json_array();
        mm_export__set(x, o, k, a);
        a = json_object_get(o, k);
    }
    return a;
}

json_t *mm_export__ref(struct mm_export__fx *x, const char *url, const char *display)
{
    json_t *o = json_object();

    mm_export__str(x, o, "reference", url);
    mm_export__str(x, o, "display", display);
    return o;
}

json_t *mm_export__coding(struct mm_export__fx *x, const char *system, const char *code,
                          const char *display)
{
    json_t *o;

    if (!code || !code[0])
        return NULL;
    o = json_object();
    mm_export__str(x, o, "system", system);
    mm_export__str(x, o, "code", code);
    mm_export__str(x, o, "display", display);
    return o;
}

json_t *mm_export__cc(struct mm_export__fx *x, const char *system, const char *code,
                      const char *display, const char *text)
{
    json_t *o = json_object();

    if (code && code[0])
        mm_export__push(x, mm_export__arr(x, o, "coding"),
                        mm_export__coding(x, system, code, display));
    mm_export__str(x, o, "text", text && text[0] ? text : display);
    return o;
}

/* Whether @s[0..n) are digits. */
static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

int mm_export__date(struct mm_export__fx *x, json_t *o, const char *k, const char *s)
{
    char b[40];
    size_t n = s ? strlen(s) : 0;

    if (n < 4 || !digits(s, 4))
        return 0;
    if (n == 4 || (n == 7 && s[4] == '-' && digits(s + 5, 2)) ||
        (n == 10 && s[4] == '-' && s[7] == '-' && digits(s + 5, 2) && digits(s + 8, 2))) {
        mm_export__str(x, o, k, s);
        return 1;
    }
    if ((n != 16 && n != 19) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || (n == 19 && (s[16] != ':' || !digits(s + 17, 2))) || s[4] != '-' ||
        s[7] != '-' || !digits(s + 5, 2) || !digits(s + 8, 2))
        return 0;
    snprintf(b, sizeof(b), "%s%s+09:00", s, n == 16 ? ":00" : "");
    mm_export__str(x, o, k, b);
    return 1;
}

/* Whether @s is a FHIR decimal (-?digits[.digits]). */
static int is_number(const char *s)
{
    const char *p = s;

    if (!s || !*s)
        return 0;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0' && strlen(s) < 20;
}

int mm_export__num(struct mm_export__fx *x, json_t *o, const char *k, const char *s)
{
    if (!is_number(s))
        return 0;
    if (strchr(s, '.'))
        mm_export__set(x, o, k, json_real(strtod(s, NULL)));
    else
        mm_export__set(x, o, k, json_integer(strtoll(s, NULL, 10)));
    return 1;
}

json_t *mm_export__qty(struct mm_export__fx *x, const char *value, const char *unit)
{
    json_t *q;

    if (!is_number(value))
        return NULL;
    q = json_object();
    mm_export__num(x, q, "value", value);
    mm_export__str(x, q, "unit", unit);
    return q;
}

void mm_export__note(struct mm_export__fx *x, json_t *o, const char *label, const char *text)
{
    const char *rt;
    json_t *a;
    char *t;
    size_t n;

    if (!text || !text[0])
        return;
    n = strlen(label) + strlen(text) + 1;
    if (!(t = mm_malloc(n))) {
        oom(x);
        return;
    }
    snprintf(t, n, "%s%s", label, text);
    a = json_object();
    rt = json_string_value(json_object_get(o, "resourceType"));
    if (rt && (strcmp(rt, "Patient") == 0 || strcmp(rt, "Encounter") == 0)) {
        /* no note element: an extension with the text as written */
        mm_export__str(x, a, "url", MM_FHIR_LOCAL "StructureDefinition/as-written");
        mm_export__str(x, a, "valueString", t);
        mm_export__push(x, mm_export__arr(x, o, "extension"), a);
    } else {
        mm_export__str(x, a, "text", t);
        mm_export__push(x, mm_export__arr(x, o, "note"), a);
    }
    mm_free(t);
}

void mm_export__raw(struct mm_export__fx *x, json_t *o, const struct mm_ssmix2_raw *raw, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_object(), *sub = json_array(), *f = json_object(), *t = json_object();
        mm_export__str(x, e, "url", MM_FHIR_LOCAL "StructureDefinition/ssmix2-raw-field");
        mm_export__str(x, f, "url", "field");
        mm_export__str(x, f, "valueString", raw[i].field);
        mm_export__str(x, t, "url", "text");
        mm_export__str(x, t, "valueString", raw[i].text[0] ? raw[i].text : "\"\"");
        mm_export__push(x, sub, f);
        mm_export__push(x, sub, t);
        mm_export__set(x, e, "extension", sub);
        mm_export__push(x, mm_export__arr(x, o, "extension"), e);
    }
}

/* Append @s to @buf percent-encoded (all but unreserved characters and '/'). */
static void pct(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);

    for (; *s && n + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
            buf[n++] = (char)c;
        else
            n += (size_t)snprintf(buf + n, cap - n, "%%%02X", c);
    }
    buf[n] = '\0';
}

const char *mm_export__system(const char *sys, const char *code, char *buf, size_t cap)
{
    size_t n = code ? strlen(code) : 0;

    if (strcmp(sys, "HOT") == 0 || strncmp(sys, "HOT", 3) == 0) {
        if (n == 13)
            return "urn:oid:1.2.392.200119.4.402.1"; /* HOT13 */
        if (n == 7)
            return "urn:oid:1.2.392.200119.4.403.2"; /* HOT7 */
        if (n == 9)
            return "urn:oid:1.2.392.200119.4.403.1"; /* HOT9 */
    }
    if (strcmp(sys, "JC10") == 0 || strcmp(sys, "JLAC10") == 0)
        return "urn:oid:1.2.392.200119.4.504";
    if (strcmp(sys, "LN") == 0)
        return "http://loinc.org";
    if (strcmp(sys, "JAMISDP01") == 0)
        return "urn:oid:1.2.392.200250.2.2.20.20";
    if (strcmp(sys, "HL70162") == 0)
        return MM_FHIR_TERM "v2-0162";
    snprintf(buf, cap, "%sCodeSystem/ssmix2-local/", MM_FHIR_LOCAL);
    pct(buf, cap, sys[0] ? sys : "unnamed");
    return buf;
}

/* ---- IDs ---- */

/* Hash the parts of an item's key, each ended by a unit separator. */
static void key_hash(unsigned char out[16], const char *const *parts, size_t n, unsigned long k)
{
    crypto_generichash_state st;
    char occ[24];

    crypto_generichash_init(&st, NULL, 0, 16);
    for (size_t i = 0; i < n; i++) {
        const char *p = parts[i] ? parts[i] : "";
        crypto_generichash_update(&st, (const unsigned char *)p, strlen(p));
        crypto_generichash_update(&st, (const unsigned char *)"\x1f", 1);
    }
    snprintf(occ, sizeof(occ), "%lu", k);
    if (k)
        crypto_generichash_update(&st, (const unsigned char *)occ, strlen(occ));
    crypto_generichash_final(&st, out, 16);
}

/* The ID of an item: unique in the Bundle (the k-th item of the same key gets k hashed in). */
static int make_id(struct mm_export__fx *x, const char *const *parts, size_t n,
                   char id[MM_FHIR_UUID])
{
    unsigned char h[16];
    unsigned long k = 0;
    size_t i;

    for (;;) {
        key_hash(h, parts, n, k);
        for (i = 0; i < x->nids && memcmp(x->ids[i], h, 16) != 0; i++)
            ;
        if (i == x->nids)
            break;
        k++;
    }
    if (x->nids == x->capids) {
        size_t cap = x->capids ? x->capids * 2 : 64;
        void *v = mm_realloc(x->ids, cap * sizeof(*x->ids));
        if (!v)
            return MM_ENOMEM;
        x->ids = v;
        x->capids = cap;
    }
    memcpy(x->ids[x->nids++], h, 16);
    h[6] = (unsigned char)((h[6] & 0x0f) | 0x50); /* a name-based UUID (RFC 4122 version 5) */
    h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
    snprintf(id, MM_FHIR_UUID,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", h[0], h[1],
             h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13], h[14],
             h[15]);
    return 0;
}

json_t *mm_export__resource(struct mm_export__fx *x, const char *type, const char *profile,
                            const struct mm_ssmix2_origin *o, const char *key,
                            char url[MM_FHIR_REF_MAX])
{
    const char *parts[6] = {
        type, x->pid, o ? o->type : "", o ? o->order_no : "", o ? o->care_date : "", key
    };
    char id[MM_FHIR_UUID], src[2048];
    json_t *res, *meta, *entry;

    url[0] = '\0';
    if (x->err)
        return NULL;
    if (make_id(x, parts, 6, id) < 0) {
        oom(x);
        return NULL;
    }
    snprintf(url, MM_FHIR_REF_MAX, "urn:uuid:%s", id);
    res = json_object();
    meta = json_object();
    mm_export__str(x, res, "resourceType", type);
    mm_export__str(x, res, "id", id);
    if (profile)
        mm_export__push(x, mm_export__arr(x, meta, "profile"), json_string(profile));
    src[0] = '\0';
    if (o && o->file && o->file[0]) {
        /* the source file, as a URI: urn:mamori:<repo>:<generation>:<path> */
        if (x->src && x->src->repo_id && x->src->repo_id[0] && x->src->generation)
            snprintf(src, sizeof(src), "urn:mamori:%s:%s:", x->src->repo_id, x->src->generation);
        pct(src, sizeof(src), o->file);
        mm_export__str(x, meta, "source", src);
    }
    if (json_object_size(meta))
        mm_export__set(x, res, "meta", meta);
    else
        json_decref(meta);
    entry = json_object();
    mm_export__str(x, entry, "fullUrl", url);
    mm_export__set(x, entry, "resource", res);
    mm_export__push(x, x->entries, entry);
    return x->err ? NULL : res;
}

void mm_export__remember(struct mm_export__fx *x, int reqs, const char *a, const char *b,
                         const char *c, const char *url)
{
    struct mm_export__ref **v = reqs ? &x->reqs : &x->encs;
    size_t *n = reqs ? &x->nreqs : &x->nencs, *cap = reqs ? &x->capreqs : &x->capencs;

    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        void *nv = mm_realloc(*v, nc * sizeof(**v));
        if (!nv) {
            oom(x);
            return;
        }
        *v = nv;
        *cap = nc;
    }
    (*v)[*n] = (struct mm_export__ref){ a, b, c, { 0 } };
    snprintf((*v)[*n].url, MM_FHIR_REF_MAX, "%s", url);
    (*n)++;
}

const char *mm_export__encounter(const struct mm_export__fx *x, const char *date, const char *dept)
{
    const char *hit = NULL;

    /* an outpatient visit of the same day (and department, when both say one), if only one */
    for (size_t i = 0; i < x->nencs; i++) {
        const struct mm_export__ref *e = &x->encs[i];
        if (strcmp(e->c, "outpatient") != 0 || strncmp(e->a, date, 10) != 0 || strlen(date) < 10 ||
            (dept && dept[0] && e->b[0] && strcmp(dept, e->b) != 0))
            continue;
        if (hit)
            return NULL;
        hit = e->url;
    }
    return hit;
}

int mm_export__current(const struct mm_ssmix2_origin *o)
{
    return o->flag == MM_SSMIX2_CURRENT;
}

/* ---- Patient ---- */

/* A HumanName of "family given" with the iso21090 representation @rep (IDE, SYL). */
static json_t *human_name(struct mm_export__fx *x, const char *full, const char *rep)
{
    json_t *n = json_object(), *e = json_object();
    const char *sp = strchr(full, ' ');

    mm_export__str(x, e, "url",
                   "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation");
    mm_export__str(x, e, "valueCode", rep);
    mm_export__push(x, mm_export__arr(x, n, "extension"), e);
    mm_export__str(x, n, "use", "official");
    mm_export__str(x, n, "text", full);
    if (sp) {
        mm_export__set(x, n, "family", json_stringn(full, (size_t)(sp - full)));
        if (sp[1])
            mm_export__push(x, mm_export__arr(x, n, "given"), json_string(sp + 1));
    } else {
        mm_export__str(x, n, "family", full);
    }
    return n;
}

/* Append the names (kanji IDE, kana SYL) of @o. */
static void names(struct mm_export__fx *x, json_t *o, const char *name, const char *kana)
{
    if (name[0])
        mm_export__push(x, mm_export__arr(x, o, "name"), human_name(x, name, "IDE"));
    if (kana[0])
        mm_export__push(x, mm_export__arr(x, o, "name"), human_name(x, kana, "SYL"));
}

/* Append ContactPoints of the phones to @o.telecom. */
static void phones(struct mm_export__fx *x, json_t *o, const struct mm_ssmix2_phone *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *t;
        const char *use = strcmp(p[i].use, "WPN") == 0 ? "work" : "home";
        if (!p[i].number[0])
            continue;
        if (strcmp(p[i].equipment, "CP") == 0 || strcmp(p[i].use, "ORN") == 0)
            use = "mobile";
        t = json_object();
        mm_export__str(x, t, "system",
                       strcmp(p[i].equipment, "FX") == 0         ? "fax"
                       : strcmp(p[i].equipment, "Internet") == 0 ? "email"
                                                                 : "phone");
        mm_export__str(x, t, "value", p[i].number);
        mm_export__str(x, t, "use", use);
        mm_export__push(x, mm_export__arr(x, o, "telecom"), t);
    }
}

/* Append an Address {text, postalCode} to @o.address. */
static void address(struct mm_export__fx *x, json_t *o, const char *postal, const char *text)
{
    json_t *a;

    if (!postal[0] && !text[0])
        return;
    a = json_object();
    mm_export__str(x, a, "text", text);
    mm_export__str(x, a, "postalCode", postal);
    mm_export__str(x, a, "country", "JP");
    mm_export__push(x, mm_export__arr(x, o, "address"), a);
}

static void patient_contacts(struct mm_export__fx *x, json_t *res,
                             const struct mm_ssmix2_patient *p)
{
    for (size_t i = 0; i < p->ncontacts; i++) {
        const struct mm_ssmix2_contact *c = &p->contacts[i];
        json_t *o = json_object(), *n;
        if (c->relationship_code[0] || c->relationship[0])
            mm_export__push(x, mm_export__arr(x, o, "relationship"),
                            mm_export__cc(x, MM_FHIR_TERM "v2-0063", c->relationship_code,
                                          c->relationship, c->relationship));
        if (c->name[0] || c->kana[0]) {
            n = human_name(x, c->name[0] ? c->name : c->kana, c->name[0] ? "IDE" : "SYL");
            mm_export__set(x, o, "name", n);
        }
        phones(x, o, c->phones, c->nphones);
        if (c->postal_code[0] || c->address[0]) {
            json_t *a = json_object();
            mm_export__str(x, a, "text", c->address);
            mm_export__str(x, a, "postalCode", c->postal_code);
            mm_export__set(x, o, "address", a);
        }
        mm_export__push(x, mm_export__arr(x, res, "contact"), o);
    }
}

static int patient(struct mm_export__fx *x, const struct mm_ssmix2_patient *p)
{
    json_t *res, *id;
    char sys[96];
    const char *fac = x->src && x->src->facility ? x->src->facility : "";

    struct mm_ssmix2_origin o = p->from;

    /* the ID is the patient's alone, whichever message gives the identity; the source is it */
    o.type = o.order_no = o.care_date = "";
    res = mm_export__resource(x, "Patient", MM_FHIR_JP "JP_Patient", &o, "patient", x->patient);
    if (!res)
        return x->err;
    id = json_object();
    if (strlen(fac) == 10 && digits(fac, 10))
        snprintf(sys, sizeof(sys), "urn:oid:1.2.392.100495.20.3.51.1%s", fac);
    else
        snprintf(sys, sizeof(sys), "%sNamingSystem/local-patient-id", MM_FHIR_LOCAL);
    mm_export__str(x, id, "system", sys);
    mm_export__str(x, id, "value", p->id);
    mm_export__push(x, mm_export__arr(x, res, "identifier"), id);
    mm_export__set(x, res, "active", json_true());
    names(x, res, p->name, p->kana);
    phones(x, res, p->phones, p->nphones);
    mm_export__str(x, res, "gender",
                   strcmp(p->sex, "M") == 0   ? "male"
                   : strcmp(p->sex, "F") == 0 ? "female"
                   : strcmp(p->sex, "O") == 0 ? "other"
                   : p->sex[0]                ? "unknown"
                                              : "");
    if (!mm_export__date(x, res, "birthDate", p->birth_date) && p->birth_date[0])
        mm_export__note(x, res, "birth date as written: ", p->birth_date); /* never dropped */
    address(x, res, p->postal_code, p->address);
    patient_contacts(x, res, p);
    return x->err;
}

/* ---- Coverage (IN1) ---- */

/* The subscriber-relationship of an HL7 0063 code. */
static const char *relationship(const char *c)
{
    if (strcmp(c, "SEL") == 0)
        return "self";
    if (strcmp(c, "SPO") == 0 || strcmp(c, "DOM") == 0)
        return "spouse";
    if (strcmp(c, "CHD") == 0 || strcmp(c, "SON") == 0 || strcmp(c, "DAU") == 0)
        return "child";
    if (strcmp(c, "PAR") == 0 || strcmp(c, "FTH") == 0 || strcmp(c, "MTH") == 0)
        return "parent";
    return "other";
}

static void coverage(struct mm_export__fx *x, const struct mm_ssmix2_patient *p,
                     const struct mm_ssmix2_insurance *in)
{
    char url[MM_FHIR_REF_MAX], key[256], sb[128];
    json_t *res, *payor, *id, *period;

    snprintf(key, sizeof(key), "%s|%s|%s", in->plan_code, in->insurer_no, in->valid_from);
    res = mm_export__resource(x, "Coverage", MM_FHIR_JP "JP_Coverage", &p->from, key, url);
    if (!res)
        return;
    mm_export__str(x, res, "status", "active");
    mm_export__set(x, res, "type",
                   mm_export__cc(x, mm_export__system("JHSD0001", in->plan_code, sb, sizeof(sb)),
                                 in->plan_code, in->plan_name, in->plan_name));
    mm_export__set(x, res, "beneficiary", mm_export__ref(x, x->patient, NULL));
    if (in->relation_code[0] || in->relation[0])
        mm_export__set(x, res, "relationship",
                       mm_export__cc(x, MM_FHIR_TERM "subscriber-relationship",
                                     relationship(in->relation_code), NULL, in->relation));
    period = json_object();
    mm_export__date(x, period, "start", in->valid_from);
    mm_export__date(x, period, "end", in->valid_to);
    if (json_object_size(period))
        mm_export__set(x, res, "period", period);
    else
        json_decref(period);
    /* the insurer by its 保険者番号, as a reference without a resource */
    payor = mm_export__ref(x, NULL, in->plan_name[0] ? in->plan_name : "保険者 / insurer");
    if (in->insurer_no[0]) {
        id = json_object();
        mm_export__str(x, id, "system", "urn:oid:1.2.392.100495.20.3.61");
        mm_export__str(x, id, "value", in->insurer_no);
        mm_export__set(x, payor, "identifier", id);
    }
    mm_export__push(x, mm_export__arr(x, res, "payor"), payor);
}

/* ---- OperationOutcome ---- */

static void outcome(struct mm_export__fx *x)
{
    const struct mm_ssmix2_failure *f;
    size_t n = mm_ssmix2_record_failures(x->r, &f);
    char url[MM_FHIR_REF_MAX], b[512];
    json_t *res, *issues;
    int any = 0;

    res = mm_export__resource(x, "OperationOutcome", NULL, NULL, "read-failures", url);
    if (!res)
        return;
    issues = mm_export__arr(x, res, "issue");
    for (size_t i = 0; i < n; i++) {
        const struct mm_ssmix2_type *t = mm_ssmix2_type_find(f[i].type);
        json_t *is;
        if (!f[i].failed && !f[i].folders && !f[i].damaged)
            continue;
        is = json_object();
        mm_export__str(x, is, "severity", f[i].failed || f[i].folders ? "error" : "warning");
        mm_export__str(x, is, "code", "incomplete");
        snprintf(b, sizeof(b),
                 "%s（%s）: %zu 件中 %zu 件のファイルを読めず、%zu 個のフォルダを開けず、"
                 "%zu 件は一部の文字を読めませんでした / %s (%s): %zu of %zu files not read, "
                 "%zu folders not listed, %zu files with undecodable characters",
                 f[i].type[0] ? f[i].type : "-", t ? t->name_ja : "", f[i].files, f[i].failed,
                 f[i].folders, f[i].damaged, f[i].type[0] ? f[i].type : "-", t ? t->name_en : "",
                 f[i].failed, f[i].files, f[i].folders, f[i].damaged);
        mm_export__set(x, is, "details", mm_export__cc(x, NULL, NULL, NULL, b));
        mm_export__str(x, is, "diagnostics", f[i].reason);
        mm_export__push(x, mm_export__arr(x, is, "expression"),
                        json_string(mm_ssmix2_type_section(f[i].type)));
        mm_export__push(x, issues, is);
        any = 1;
    }
    if (!any) {
        json_t *is = json_object();
        mm_export__str(x, is, "severity", "information");
        mm_export__str(x, is, "code", "informational");
        mm_export__set(x, is, "details",
                       mm_export__cc(x, NULL, NULL, NULL,
                                     "読めなかったデータはありません / every file was read"));
        mm_export__push(x, issues, is);
    }
}

/* ---- the Bundle ---- */

/* Where json_dump_callback writes: the output and the first error of appending to it. */
struct dump {
    mm_buf *b;
    int err;
};

static int dump_cb(const char *buffer, size_t size, void *data)
{
    struct dump *d = data;

    if (!d->err)
        d->err = mm_buf_put(d->b, buffer, size);
    return d->err ? -1 : 0;
}

int mm_export_fhir_bundle(const mm_ssmix2_record *r, const struct mm_export_source *src,
                          mm_export_read_fn read, void *read_ctx, mm_buf *out)
{
    const struct mm_ssmix2_patient *p;
    struct mm_export__fx x = { 0 };
    struct dump d = { out, 0 };
    json_t *bundle = NULL;
    char id[MM_FHIR_UUID];
    const char *parts[2];
    size_t before;
    int err;

    MM_ASSERT_ARG(r != NULL && out != NULL);
    p = mm_ssmix2_record_patient(r);
    if (!p || !p->id[0])
        return mm_error_set(MM_EINVAL, "the record has no current patient identity");
    x.r = r;
    x.src = src;
    x.read = read;
    x.read_ctx = read_ctx;
    x.pid = p->id;
    parts[0] = "Bundle";
    parts[1] = p->id;
    if (!(bundle = json_object()) || !(x.entries = json_array()) || make_id(&x, parts, 2, id) < 0) {
        json_decref(x.entries);
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    mm_export__str(&x, bundle, "resourceType", "Bundle");
    mm_export__str(&x, bundle, "id", id);
    mm_export__str(&x, bundle, "type", "collection");
    if (src && src->gen_time)
        mm_export__str(&x, bundle, "timestamp", src->gen_time);
    mm_export__set(&x, bundle, "entry", x.entries);
    if (patient(&x, p) == 0) {
        for (size_t i = 0; i < p->ninsurance && !x.err; i++)
            coverage(&x, p, &p->insurance[i]);
        mm_export__encounters(&x);
        mm_export__conditions(&x);
        mm_export__allergies(&x);
        mm_export__med_requests(&x);
        mm_export__med_admins(&x);
        mm_export__labs(&x);
        mm_export__exams(&x);
        mm_export__documents(&x);
        outcome(&x);
    }
    if ((err = x.err) < 0)
        goto out;
    before = out->len;
    if (json_dump_callback(bundle, dump_cb, &d,
                           JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) != 0 ||
        (d.err = mm_buf_puts(out, "\n")) != 0) {
        out->len = before; /* nothing of a Bundle cut short */
        if (out->ptr)
            out->ptr[before] = '\0';
        err = d.err == MM_ELIMIT
                      ? mm_error_set(MM_ELIMIT, "the bundle is larger than the output allows")
                      : mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    err = 0;
out:
    json_decref(bundle);
    mm_free(x.ids);
    mm_free(x.encs);
    mm_free(x.reqs);
    return err;
}
