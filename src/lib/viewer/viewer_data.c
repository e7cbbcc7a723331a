/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the viewer answers, apart from HTTP: the patient JSON (summary and lab matrix), the
 * check that a document path belongs to a patient, the current inpatients of a ward, and
 * the standalone print document. Summaries are the index's record JSON (current items
 * only); the few decisions that need their content (wards, documents) parse them with
 * jansson. Nothing here prints or names a patient in a message.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "crypto/crypto.h"
#include "guard/guard.h"
#include "ssmix2/ssmix2.h"
#include "viewer/viewer.h"
#include "viewer/viewer_int.h"

/* Append @s as a JSON string, or null when @s is NULL. */
static int json_str_or_null(mm_buf *b, const char *s)
{
    return s ? mm_json_str(b, s) : mm_buf_puts(b, "null");
}

/* Append the lab matrix of @id as {"tests":[...],"times":[...],"cells":[[...]...]}. */
static int labs_json(mm_index *ix, const char *id, mm_buf *b)
{
    struct mm_index_lab_matrix m = { 0 };
    int err;

    if ((err = mm_index_lab_matrix(ix, id, &m)) < 0)
        return err;
    err = mm_buf_puts(b, "{\"tests\":[");
    for (size_t t = 0; t < m.ntests && err == 0; t++) {
        const struct mm_index_lab_test *x = &m.tests[t];
        err = mm_buf_puts(b, t ? ",{" : "{");
        if (err == 0)
            err = mm_json_kv(b, 1, "code", x->code);
        if (err == 0)
            err = mm_json_kv(b, 0, "name", x->name);
        if (err == 0)
            err = mm_json_kv(b, 0, "unit", x->unit);
        if (err == 0)
            err = mm_json_kv(b, 0, "range", x->range);
        if (err == 0)
            err = mm_buf_putc(b, '}');
    }
    if (err == 0)
        err = mm_buf_puts(b, "],\"times\":[");
    for (size_t k = 0; k < m.ntimes && err == 0; k++) {
        if (k)
            err = mm_buf_putc(b, ',');
        if (err == 0)
            err = mm_json_str(b, m.times[k]);
    }
    if (err == 0)
        err = mm_buf_puts(b, "],\"cells\":[");
    for (size_t t = 0; t < m.ntests && err == 0; t++) {
        err = mm_buf_puts(b, t ? ",[" : "[");
        for (size_t k = 0; k < m.ntimes && err == 0; k++) {
            const struct mm_index_lab_cell *c = &m.cells[t * m.ntimes + k];
            if (k)
                err = mm_buf_putc(b, ',');
            if (err == 0 && !c->value) {
                err = mm_buf_puts(b, "null");
                continue;
            }
            if (err == 0)
                err = mm_buf_putc(b, '{');
            if (err == 0)
                err = mm_json_kv(b, 1, "value", c->value);
            if (err == 0)
                err = mm_json_kv(b, 0, "flag", c->flag ? c->flag : "");
            if (err == 0)
                err = mm_buf_putc(b, '}');
        }
        if (err == 0)
            err = mm_buf_putc(b, ']');
    }
    if (err == 0)
        err = mm_buf_puts(b, "]}");
    mm_index_lab_matrix_release(&m);
    return err;
}

/* Append ,"current_medication":{...} of the summary @json (@n bytes) at @as_of. */
static int meds_json(const char *json, size_t n, const char *as_of, mm_buf *out)
{
    json_t *rec = json_loadb(json, n, 0, NULL), *meds = NULL;
    char *s = NULL;
    int err;

    if (!rec || !json_is_object(rec)) {
        json_decref(rec);
        return mm_error_set(MM_ECORRUPT, "a patient summary in the index is not JSON");
    }
    if ((err = mm_viewer_current_meds(rec, as_of, &meds)) == 0 &&
        !(s = json_dumps(meds, JSON_COMPACT)))
        err = mm_error_set(MM_ENOMEM, "out of memory writing the current medication");
    if (err == 0)
        err = mm_buf_puts(out, ",\"current_medication\":");
    if (err == 0)
        err = mm_buf_puts(out, s);
    free(s);
    json_decref(meds);
    json_decref(rec);
    return err;
}

int mm_viewer_patient_json(mm_index *ix, const char *gen, const char *as_of, const char *id,
                           mm_buf *out)
{
    size_t start, rec;
    int err;

    MM_ASSERT_ARG(ix && id && out);
    if (as_of && (err = mm_viewer_as_of_check(as_of)) < 0)
        return err;
    start = out->len;
    if ((err = mm_buf_puts(out, "{\"generation\":")) == 0 &&
        (err = json_str_or_null(out, gen)) == 0 && (err = mm_buf_puts(out, ",\"record\":")) == 0) {
        rec = out->len;
        if ((err = mm_index_summary(ix, id, out)) == 0 && as_of)
            err = meds_json((const char *)out->ptr + rec, out->len - rec, as_of, out);
    }
    if (err == 0 && (err = mm_buf_puts(out, ",\"labs\":")) == 0 &&
        (err = labs_json(ix, id, out)) == 0)
        err = mm_buf_putc(out, '}');
    if (err < 0)
        mm_buf_truncate(out, start);
    return err;
}

/* Parse patient @id's summary. OUT: *out (json_decref). @return 0 or an mm_err */
static int summary_parse(mm_index *ix, const char *id, json_t **out)
{
    mm_buf b;
    json_t *j;
    int err;

    mm_buf_init(&b, MM_LIMIT_JSON);
    if ((err = mm_index_summary(ix, id, &b)) < 0)
        goto out;
    if (!(j = json_loadb((const char *)b.ptr, b.len, 0, NULL))) {
        err = mm_error_set(MM_ECORRUPT, "a patient summary in the index is not JSON");
        goto out;
    }
    *out = j;
out:
    mm_buf_release(&b);
    return err;
}

/* The string member @key of object @o, or "" */
static const char *member(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

int mm_viewer__file_allowed(mm_index *ix, const char *id, const char *path)
{
    static const char *const keys[] = { "documents", "images" };
    json_t *j = NULL;
    int err, found = 0;

    if ((err = summary_parse(ix, id, &j)) < 0)
        return err;
    for (size_t k = 0; k < 2 && !found; k++) {
        const json_t *arr = json_object_get(j, keys[k]);
        size_t i;
        json_t *d;
        json_array_foreach(arr, i, d)
        {
            const char *folder = member(d, "folder");
            size_t fl = strlen(folder);
            const json_t *files = json_object_get(d, "files");
            size_t f;
            json_t *name;
            if (fl == 0 || strncmp(path, folder, fl) != 0 || path[fl] != '/')
                continue;
            json_array_foreach(files, f, name)
            {
                const char *s = json_string_value(name);
                if (s && strcmp(s, path + fl + 1) == 0)
                    found = 1;
            }
            if (found)
                break;
        }
    }
    json_decref(j);
    return found ? 0 : mm_error_set(MM_ENOTFOUND, "no such document of that patient");
}

int mm_viewer__failed_types(mm_index *ix, const char *id, char (*types)[MM_VIEWER__TYPE_MAX + 1],
                            size_t cap, size_t *n)
{
    json_t *j = NULL, *f;
    size_t i;
    int err;

    *n = 0;
    if ((err = summary_parse(ix, id, &j)) < 0)
        return err;
    json_array_foreach(json_object_get(j, "read_failures"), i, f)
    {
        json_int_t failed = json_integer_value(json_object_get(f, "failed"));
        json_int_t folders = json_integer_value(json_object_get(f, "folders"));
        if ((failed > 0 || folders > 0) && *n < cap)
            snprintf(types[(*n)++], MM_VIEWER__TYPE_MAX + 1, "%s", member(f, "type"));
    }
    json_decref(j);
    return 0;
}

int mm_viewer__types_readable(mm_index *ix, const char *id,
                              const char (*types)[MM_VIEWER__TYPE_MAX + 1], size_t n, int *helps)
{
    json_t *j = NULL, *f;
    size_t i;
    int err;

    if ((err = summary_parse(ix, id, &j)) < 0)
        return err;
    for (size_t t = 0; t < n; t++) {
        const char *sec = mm_ssmix2_type_section(types[t]);
        int items;
        if (strcmp(sec, "patient") == 0)
            items = json_is_object(json_object_get(j, "patient"));
        else if (strcmp(sec, "documents") == 0)
            items = json_array_size(json_object_get(j, "documents")) +
                            json_array_size(json_object_get(j, "images")) >
                    0;
        else if (strcmp(sec, "other") == 0)
            items = 1;
        else
            items = json_array_size(json_object_get(j, sec)) > 0;
        helps[t] = items;
        json_array_foreach(json_object_get(j, "read_failures"), i, f)
        {
            if (strcmp(member(f, "type"), types[t]) == 0 &&
                (json_integer_value(json_object_get(f, "failed")) > 0 ||
                 json_integer_value(json_object_get(f, "folders")) > 0))
                helps[t] = 0;
        }
    }
    json_decref(j);
    return 0;
}

int mm_viewer_recovery(mm_index *ix, const char *id, const struct mm_viewer_recovery_src *src,
                       struct mm_viewer_recovery *out)
{
    size_t open;
    int err;

    MM_ASSERT_ARG(ix && id && src && src->open && out);
    memset(out, 0, sizeof(*out));
    if ((err = mm_viewer__failed_types(ix, id, out->type, MM_VIEWER_RECOVERY_TYPES, &out->n)) < 0)
        return err;
    open = out->n;
    for (size_t i = 0; i < MM_VIEWER_RECOVERY_GENS && open > 0; i++) {
        struct mm_viewer_recovery_gen g = { { 0 }, { 0 } };
        int helps[MM_VIEWER_RECOVERY_TYPES];
        mm_index *other = NULL;
        err = src->open(src->arg, i, &g, &other);
        if (err == MM_ENOTFOUND) {
            mm_error_clear();
            break; /* no more candidates */
        }
        if (err < 0) {
            mm_error_clear();
            continue; /* an unreadable generation helps with nothing */
        }
        err = mm_viewer__types_readable(
                other, id, (const char(*)[MM_VIEWER__TYPE_MAX + 1]) out->type, out->n, helps);
        if (src->close)
            src->close(src->arg, other);
        out->searched++;
        if (err < 0) {
            mm_error_clear(); /* not in that generation, or unreadable: no help there */
            continue;
        }
        for (size_t t = 0; t < out->n; t++)
            if (!out->found[t] && helps[t]) {
                out->found[t] = 1;
                out->gen[t] = g;
                open--;
            }
    }
    return 0;
}

int mm_viewer_recovery_json(const struct mm_viewer_recovery *r, mm_buf *out)
{
    int err = mm_buf_printf(out, "\"searched\":%zu,\"help\":{", r->searched);

    for (size_t t = 0; t < r->n && err == 0; t++) {
        err = mm_buf_puts(out, t ? "," : "");
        if (err == 0)
            err = mm_json_str(out, r->type[t]);
        if (err == 0 && !r->found[t])
            err = mm_buf_puts(out, ":null");
        else if (err == 0)
            err = mm_buf_printf(out, ":{\"id\":\"%s\",\"short\":\"%.12s\",\"time\":\"%s\"}",
                                r->gen[t].id, r->gen[t].id, r->gen[t].time);
    }
    return err < 0 ? err : mm_buf_putc(out, '}');
}

/* One inpatient found for a ward list. */
struct inpatient {
    char *id, *room;
};

static int inpatient_cmp(const void *a, const void *b)
{
    const struct inpatient *x = a, *y = b;
    int c = strcmp(x->room, y->room);
    return c ? c : strcmp(x->id, y->id);
}

/* Where the patient of summary @j stays now. */
struct stay_now {
    const char *ward, *room, *bed, *since; /* borrowed from the summary; ward NULL: not in */
};

/* Where the patient of summary @j stays now (ward NULL when not admitted). */
static struct stay_now stay_of(const json_t *j)
{
    const json_t *enc = json_object_get(j, "encounters");
    struct stay_now s = { NULL, "", "", "" };
    size_t i;
    json_t *e;

    /* encounters are oldest first; the newest admission-side event decides */
    json_array_foreach(enc, i, e)
    {
        const char *kind = member(e, "kind"), *w = member(e, "ward");
        if (strcmp(kind, "admission") == 0 || strcmp(kind, "transfer") == 0) {
            if (strcmp(kind, "admission") == 0 || !s.ward)
                s.since = member(e, "date");
            s.ward = w;
            s.room = member(e, "room");
            s.bed = member(e, "bed");
        } else if (strcmp(kind, "leave") == 0 || strcmp(kind, "return") == 0) {
            if (s.ward && *w) { /* a leave or return names the ward only sometimes */
                s.ward = w;
                s.room = member(e, "room");
                s.bed = member(e, "bed");
            }
        } else if (strcmp(kind, "discharge") == 0) {
            s.ward = NULL;
        }
    }
    return s;
}

/* Is the patient of summary @j staying in @ward now? OUT: *room (borrowed from @j) */
static int in_ward(const json_t *j, const char *ward, const char **room)
{
    struct stay_now s = stay_of(j);

    if (!s.ward || strcmp(s.ward, ward) != 0)
        return 0;
    *room = s.room;
    return 1;
}

int mm_viewer_ward_patients(mm_index *ix, const char *ward, mm_buf *out, size_t *n)
{
    struct inpatient *v = NULL;
    size_t nids = 0, nv = 0, start;
    mm_buf ids;
    const char *p;
    int err;

    MM_ASSERT_ARG(ix && ward && out && n);
    start = out->len;
    mm_buf_init(&ids, MM_LIMIT_JSON);
    if ((err = mm_index_patient_ids(ix, &ids, &nids)) < 0)
        goto out;
    if (nids && !(v = mm_calloc(nids, sizeof(*v)))) {
        err = MM_ENOMEM;
        goto out;
    }
    p = (const char *)ids.ptr;
    for (size_t i = 0; i < nids; i++, p += strlen(p) + 1) {
        json_t *j = NULL;
        const char *room = "";
        if ((err = summary_parse(ix, p, &j)) < 0)
            goto out;
        if (in_ward(j, ward, &room)) {
            v[nv].id = mm_strdup(p);
            v[nv].room = mm_strdup(room);
            if (!v[nv].id || !v[nv].room) {
                mm_free(v[nv].id);
                mm_free(v[nv].room);
                json_decref(j);
                err = MM_ENOMEM;
                goto out;
            }
            nv++;
        }
        json_decref(j);
    }
    qsort(v, nv, sizeof(*v), inpatient_cmp);
    for (size_t i = 0; i < nv && err == 0; i++)
        err = mm_buf_put(out, v[i].id, strlen(v[i].id) + 1);
    if (err == 0)
        *n = nv;
out:
    for (size_t i = 0; i < nv; i++) {
        mm_free(v[i].id);
        mm_free(v[i].room);
    }
    mm_free(v);
    mm_buf_release(&ids);
    if (err < 0)
        mm_buf_truncate(out, start);
    return err;
}

/* Append @n bytes of JSON to @out with every '<' written as \u003c (safe inside <script>). */
static int put_script_json(mm_buf *out, const char *p, size_t n)
{
    size_t i = 0;
    int err = 0;

    while (i < n && err == 0) {
        const char *lt = memchr(p + i, '<', n - i);
        size_t run = lt ? (size_t)(lt - (p + i)) : n - i;
        err = mm_buf_put(out, p + i, run);
        i += run;
        if (err == 0 && lt) {
            err = mm_buf_puts(out, "\\u003c");
            i++;
        }
    }
    return err;
}

/* Find the tag that starts with @open and contains @needle before its '>' in @s. */
static const char *find_tag(const char *s, const char *open, const char *needle, size_t *len)
{
    const char *p = s;

    while ((p = strstr(p, open))) {
        const char *end = strchr(p, '>');
        const char *hit = strstr(p, needle);
        if (!end)
            return NULL;
        if (hit && hit < end) {
            *len = (size_t)(end - p) + 1;
            return p;
        }
        p = end;
    }
    return NULL;
}

/* Append @n bytes as base64. */
static int put_base64(mm_buf *out, const unsigned char *p, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    int err = 0;

    for (size_t i = 0; i < n && err == 0; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        q[0] = abc[v >> 18 & 63];
        q[1] = abc[v >> 12 & 63];
        q[2] = i + 1 < n ? abc[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? abc[v & 63] : '=';
        err = mm_buf_put(out, q, 4);
    }
    return err;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);

    return n >= t && strcasecmp(s + n - t, tail) == 0;
}

/*
 * Append ,"files":{"<folder>/<file>": text or data: URL, ...} for the CDA documents and the
 * JPEGs of patient @id, read from @gen's extended storage. A file the generation does not
 * hold (or one over its limit) is left out: the page then lists it by name.
 */
static int print_files(mm_index *ix, const struct mm_viewer_print_gen *gen, const char *id,
                       mm_buf *out)
{
    static const char *const keys[] = { "documents", "images" };
    const char *ext = NULL;
    json_t *j = NULL;
    mm_buf f;
    char full[1024];
    int err, first = 1;

    for (size_t i = 0; i < gen->gen->nsources && !ext; i++)
        if (gen->gen->sources[i].kind == MM_REPO_SOURCE_SSMIX2_EXT)
            ext = gen->gen->sources[i].name;
    if (!ext)
        return 0;
    if ((err = summary_parse(ix, id, &j)) < 0)
        return err;
    mm_buf_init(&f, MM_VIEWER_PRINT_IMAGE_MAX > MM_VIEWER_PRINT_TEXT_MAX
                            ? MM_VIEWER_PRINT_IMAGE_MAX
                            : MM_VIEWER_PRINT_TEXT_MAX);
    err = mm_buf_puts(out, ",\"files\":{");
    for (size_t k = 0; k < 2 && err == 0; k++) {
        const json_t *arr = json_object_get(j, keys[k]);
        size_t i, fi;
        json_t *d, *name;
        json_array_foreach(arr, i, d)
        {
            const char *folder = member(d, "folder");
            json_array_foreach(json_object_get(d, "files"), fi, name)
            {
                const char *fn = json_string_value(name);
                int text = fn && ends_with(fn, ".xml");
                int jpeg = fn && (ends_with(fn, ".jpg") || ends_with(fn, ".jpeg"));
                int n;
                if (err < 0 || !*folder || (!text && !jpeg))
                    continue;
                n = snprintf(full, sizeof(full), "%s/%s/%s", ext, folder, fn);
                if (n < 0 || (size_t)n >= sizeof(full))
                    continue;
                mm_buf_clear(&f);
                err = mm_repo_read_file(gen->repo, gen->gen, full,
                                        text ? MM_VIEWER_PRINT_TEXT_MAX : MM_VIEWER_PRINT_IMAGE_MAX,
                                        &f);
                if (err == MM_ENOTFOUND || err == MM_ELIMIT) {
                    mm_error_clear();
                    err = 0;
                    continue;
                }
                if (err == 0 && !first)
                    err = mm_buf_putc(out, ',');
                first = 0;
                if (err == 0)
                    err = mm_json_str(out, full + strlen(ext) + 1);
                if (err == 0)
                    err = mm_buf_putc(out, ':');
                if (err == 0 && text)
                    err = mm_json_strn(out, (const char *)f.ptr, f.len);
                if (err == 0 && jpeg)
                    err = mm_buf_puts(out, "\"data:image/jpeg;base64,");
                if (err == 0 && jpeg)
                    err = put_base64(out, (const unsigned char *)f.ptr, f.len);
                if (err == 0 && jpeg)
                    err = mm_buf_putc(out, '"');
            }
        }
    }
    if (err == 0)
        err = mm_buf_putc(out, '}');
    mm_crypto_wipe(f.ptr, f.len);
    mm_buf_release(&f);
    json_decref(j);
    return err;
}

#define GUARD_SAY_MAX 8192 /* bytes of a generation's guard reasons in words */

/* ",\"guard_accepted\":..,\"guard_said\":{\"ja\":..,\"en\":..}" of @g: its reasons in words in
 * both languages (the page shows the one it speaks), null when there are none. */
int mm_viewer__guard_json(mm_buf *b, const struct mm_repo_gen *g)
{
    char *say;
    int err = mm_buf_printf(
            b, ",\"guard_accepted\":%s,\"guard_said\":", g->guard_accepted ? "true" : "false");

    if (err < 0 || !g->guard_reasons || !*g->guard_reasons)
        return err < 0 ? err : mm_buf_puts(b, "null");
    if (!(say = mm_malloc(GUARD_SAY_MAX)))
        return MM_ENOMEM;
    mm_guard_reasons_say(g->guard_reasons, 1, say, GUARD_SAY_MAX);
    err = mm_buf_puts(b, "{\"ja\":");
    if (err == 0)
        err = mm_json_str(b, say);
    if (err == 0)
        mm_guard_reasons_say(g->guard_reasons, 0, say, GUARD_SAY_MAX);
    if (err == 0)
        err = mm_buf_puts(b, ",\"en\":");
    if (err == 0)
        err = mm_json_str(b, say);
    if (err == 0)
        err = mm_buf_putc(b, '}');
    mm_free(say);
    return err;
}

int mm_viewer_print(mm_index *ix, const struct mm_viewer_print_gen *gen, const char *title,
                    const char *const *ids, size_t n, mm_buf *out, size_t *missing,
                    unsigned char *in_doc)
{
    const unsigned char *html, *css, *js;
    const char *link, *script, *close_tag;
    size_t nhtml, ncss, njs, llen = 0, slen = 0, start, found = 0, miss = 0;
    mm_buf data, one;
    char *page = NULL, as_of[17] = "";
    int err = 0;

    MM_ASSERT_ARG(ix && gen && title && (ids || n == 0) && out);
    if (gen->time && strlen(gen->time) >= 16) { /* the generation's local time, to the minute */
        memcpy(as_of, gen->time, 16);
        if (mm_viewer_as_of_check(as_of) < 0) {
            mm_error_clear();
            as_of[0] = '\0';
        }
    }
    start = out->len;
    if (in_doc)
        memset(in_doc, 0, n);
    html = mm_viewer_asset("index.html", &nhtml, NULL);
    css = mm_viewer_asset("app.css", &ncss, NULL);
    js = mm_viewer_asset("app.js", &njs, NULL);
    if (!html || !css || !js)
        return mm_error_set(MM_ENOTFOUND, "the viewer's pages are missing from this build");
    if (!(page = mm_malloc(nhtml + 1)))
        return MM_ENOMEM;
    memcpy(page, html, nhtml);
    page[nhtml] = '\0';
    link = find_tag(page, "<link", "app.css", &llen);
    script = find_tag(page, "<script", "app.js", &slen);
    close_tag = script ? strstr(script, "</script>") : NULL;
    if (!link || !script || !close_tag || link > script) {
        mm_free(page);
        return mm_error_set(MM_ECORRUPT,
                            "the viewer's page does not name its stylesheet and script");
    }
    mm_buf_init(&data, MM_LIMIT_JSON);
    mm_buf_init(&one, MM_LIMIT_JSON);
    err = mm_buf_puts(&data, "{\"title\":");
    if (err == 0)
        err = mm_json_str(&data, title);
    if (err == 0)
        err = mm_buf_puts(&data, ",\"generation\":{");
    if (err == 0)
        err = mm_json_kv(&data, 1, "id", gen->id);
    if (err == 0)
        err = mm_buf_puts(&data, ",\"short\":");
    if (err == 0)
        err = mm_json_strn(&data, gen->id, strlen(gen->id) < 12 ? strlen(gen->id) : 12);
    if (err == 0)
        err = mm_buf_puts(&data, ",\"name\":");
    if (err == 0)
        err = json_str_or_null(&data, gen->name);
    if (err == 0)
        err = mm_json_kv(&data, 0, "time", gen->time);
    if (err == 0)
        err = mm_json_kv(&data, 0, "guard", gen->guard);
    if (err == 0 && gen->gen)
        err = mm_viewer__guard_json(&data, gen->gen);
    if (err == 0)
        err = mm_buf_printf(&data, ",\"latest\":%s,\"has_index\":true},\"patients\":[",
                            gen->latest ? "true" : "false");
    for (size_t i = 0; i < n && err == 0; i++) {
        mm_buf_clear(&one);
        err = mm_viewer_patient_json(ix, gen->id, as_of[0] ? as_of : NULL, ids[i], &one);
        if (err == MM_ENOTFOUND) {
            mm_error_clear();
            miss++;
            err = 0;
            continue;
        }
        if (err == 0 && gen->repo && gen->gen) { /* the files go inside the patient's object */
            mm_buf_truncate(&one, one.len - 1);
            err = print_files(ix, gen, ids[i], &one);
            if (err == 0)
                err = mm_buf_putc(&one, '}');
        }
        if (err == 0 && gen->others) { /* so does where the failed sections are readable */
            struct mm_viewer_recovery r;
            err = mm_viewer_recovery(ix, ids[i], gen->others, &r);
            if (err == 0 && r.n > 0) {
                mm_buf_truncate(&one, one.len - 1);
                err = mm_buf_puts(&one, ",\"recovery\":{");
                if (err == 0)
                    err = mm_viewer_recovery_json(&r, &one);
                if (err == 0)
                    err = mm_buf_puts(&one, "}}");
            }
        }
        if (err == 0 && found)
            err = mm_buf_putc(&data, ',');
        if (err == 0)
            err = mm_buf_put(&data, one.ptr, one.len);
        if (in_doc)
            in_doc[i] = 1;
        found++;
    }
    if (err == 0)
        err = mm_buf_puts(&data, "]}");
    if (err == 0 && found == 0)
        err = mm_error_set(MM_ENOTFOUND, "none of the patients is in the index");
    /* index.html with its stylesheet and script built in, the data before the script */
    if (err == 0)
        err = mm_buf_put(out, page, (size_t)(link - page));
    if (err == 0)
        err = mm_buf_puts(out, "<style>\n");
    if (err == 0)
        err = mm_buf_put(out, css, ncss);
    if (err == 0)
        err = mm_buf_puts(out, "\n</style>");
    if (err == 0)
        err = mm_buf_put(out, link + llen, (size_t)(script - (link + llen)));
    if (err == 0)
        err = mm_buf_puts(out, "<script type=\"application/json\" id=\"mm-print-data\">");
    if (err == 0)
        err = put_script_json(out, data.ptr, data.len);
    if (err == 0)
        err = mm_buf_puts(out, "</script>\n<script>\n");
    if (err == 0)
        err = mm_buf_put(out, js, njs);
    if (err == 0)
        err = mm_buf_puts(out, "\n</script>");
    if (err == 0)
        err = mm_buf_puts(out, close_tag + strlen("</script>"));
    if (err < 0)
        mm_buf_truncate(out, start);
    else if (missing)
        *missing = miss;
    mm_buf_release(&one);
    mm_buf_release(&data);
    mm_free(page);
    return err;
}

/* One current inpatient of the ward screen: the summary parsed and where the patient is. */
struct ward_row {
    json_t *j;
    struct stay_now at;
};

static int ward_row_cmp(const void *a, const void *b)
{
    const struct ward_row *x = a, *y = b;
    int c = strcmp(x->at.ward, y->at.ward);

    if (c == 0)
        c = strcmp(x->at.room, y->at.room);
    if (c == 0)
        c = strcmp(x->at.bed, y->at.bed);
    return c ? c
             : strcmp(member(json_object_get(x->j, "patient"), "id"),
                      member(json_object_get(y->j, "patient"), "id"));
}

/* Append {"ward":..,"count":N} or, with @full, {"ward":..,"patients":[...]} for rows [a, b). */
static int ward_json(mm_buf *out, const struct ward_row *v, size_t a, size_t b, int full,
                     mm_buf *ids)
{
    int err = mm_buf_putc(out, '{');

    if (err == 0)
        err = mm_json_kv(out, 1, "ward", v[a].at.ward);
    if (err == 0 && !full)
        return mm_buf_printf(out, ",\"count\":%zu}", b - a);
    if (err == 0)
        err = mm_buf_puts(out, ",\"patients\":[");
    for (size_t i = a; i < b && err == 0; i++) {
        const json_t *p = json_object_get(v[i].j, "patient");
        const char *id = member(p, "id");
        err = mm_buf_puts(out, i > a ? ",{" : "{");
        if (err == 0)
            err = mm_json_kv(out, 1, "id", id);
        if (err == 0)
            err = mm_json_kv(out, 0, "name", member(p, "name"));
        if (err == 0)
            err = mm_json_kv(out, 0, "kana", member(p, "kana"));
        if (err == 0)
            err = mm_json_kv(out, 0, "sex", member(p, "sex"));
        if (err == 0)
            err = mm_json_kv(out, 0, "birth_date", member(p, "birth_date"));
        if (err == 0)
            err = mm_json_kv(out, 0, "room", v[i].at.room);
        if (err == 0)
            err = mm_json_kv(out, 0, "bed", v[i].at.bed);
        if (err == 0)
            err = mm_json_kv(out, 0, "since", v[i].at.since);
        /* allergies_unknown: none found, but files of the record could not be read — the
         * ward screen must not say "none recorded" then (the patient screen's rule) */
        if (err == 0)
            err = mm_buf_printf(
                    out, ",\"allergies\":%zu,\"allergies_unknown\":%s}",
                    json_array_size(json_object_get(v[i].j, "allergies")),
                    json_array_size(json_object_get(v[i].j, "allergies")) == 0 &&
                                    json_array_size(json_object_get(v[i].j, "read_failures")) > 0
                            ? "true"
                            : "false");
        if (err == 0 && ids)
            err = mm_buf_put(ids, id, strlen(id) + 1);
    }
    if (err == 0)
        err = mm_buf_puts(out, "]}");
    return err;
}

int mm_viewer_wards_json(mm_index *ix, const char *ward, mm_buf *out, mm_buf *ids, size_t *n)
{
    struct ward_row *v = NULL;
    size_t nids = 0, nv = 0, start, nout = 0;
    mm_buf all;
    const char *p;
    int err;

    MM_ASSERT_ARG(ix && out);
    start = out->len;
    mm_buf_init(&all, MM_LIMIT_JSON);
    if ((err = mm_index_patient_ids(ix, &all, &nids)) < 0)
        goto out;
    if (nids && !(v = mm_calloc(nids, sizeof(*v)))) {
        err = MM_ENOMEM;
        goto out;
    }
    p = (const char *)all.ptr;
    for (size_t i = 0; i < nids; i++, p += strlen(p) + 1) {
        json_t *j = NULL;
        struct stay_now at;
        if ((err = summary_parse(ix, p, &j)) < 0)
            goto out;
        at = stay_of(j);
        if (!at.ward || !*at.ward || (ward && strcmp(at.ward, ward) != 0)) {
            json_decref(j);
            continue;
        }
        v[nv].j = j;
        v[nv++].at = at;
    }
    qsort(v, nv, sizeof(*v), ward_row_cmp);
    err = mm_buf_puts(out, "{\"wards\":[");
    for (size_t a = 0, b; a < nv && err == 0; a = b) {
        for (b = a + 1; b < nv && strcmp(v[b].at.ward, v[a].at.ward) == 0; b++)
            ;
        if (nout++)
            err = mm_buf_putc(out, ',');
        if (err == 0)
            err = ward_json(out, v, a, b, ward != NULL, ids);
    }
    if (err == 0)
        err = mm_buf_puts(out, "]}");
    if (err == 0 && n)
        *n = ward ? nv : nout;
out:
    for (size_t i = 0; i < nv; i++)
        json_decref(v[i].j);
    mm_free(v);
    mm_buf_release(&all);
    if (err < 0)
        mm_buf_truncate(out, start);
    return err;
}
