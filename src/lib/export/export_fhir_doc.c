/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Documents and images of the extended storage in a patient's Bundle: a DocumentReference per
 * current content folder, one attachment per file, and a Binary with the file's bytes (base64)
 * when the caller gives a reader and the file is at most MM_EXPORT_BINARY_MAX; otherwise the
 * attachment says why the file was not embedded. JP Core v1.1.2 has no DocumentReference or
 * Binary profile: these follow FHIR R4 (docs/export.md).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "export/export_fhir_int.h"

/* The MIME type of a file by its extension. */
static const char *mime_of(const char *name)
{
    static const struct {
        const char *ext, *mime;
    } t[] = { { ".jpg", "image/jpeg" },        { ".jpeg", "image/jpeg" },
              { ".png", "image/png" },         { ".pdf", "application/pdf" },
              { ".xml", "application/xml" },   { ".txt", "text/plain" },
              { ".dcm", "application/dicom" }, { ".html", "text/html" },
              { ".htm", "text/html" },         { ".tif", "image/tiff" },
              { ".tiff", "image/tiff" },       { ".gif", "image/gif" } };
    size_t n = strlen(name);

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t m = strlen(t[i].ext);
        if (n > m && strcasecmp(name + n - m, t[i].ext) == 0)
            return t[i].mime;
    }
    return "application/octet-stream";
}

/* A Binary of @data (base64) for file @name of document @d. OUT: @url */
static void binary(struct mm_export__fx *x, const struct mm_ssmix2_document *d, const char *name,
                   const mm_buf *data, char url[MM_FHIR_REF_MAX])
{
    size_t n = data->len, cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char key[1024], *b64;
    json_t *res;

    snprintf(key, sizeof(key), "%s/%s", d->folder, name);
    res = mm_export__resource(x, "Binary", NULL, &d->from, key, url);
    if (!res)
        return;
    mm_export__str(x, res, "contentType", mime_of(name));
    if (!(b64 = mm_malloc(cap))) {
        mm_export__set(x, res, "data", NULL); /* out of memory */
        return;
    }
    sodium_bin2base64(b64, cap, (const unsigned char *)(data->ptr ? data->ptr : ""), n,
                      sodium_base64_VARIANT_ORIGINAL);
    mm_export__set(x, res, "data", json_stringn(b64, strlen(b64)));
    mm_free(b64);
}

/* One attachment of @d's file @name: embedded as a Binary when it can be read and is small. */
static void attachment(struct mm_export__fx *x, json_t *doc, const struct mm_ssmix2_document *d,
                       const char *name)
{
    json_t *c = json_object(), *att = json_object();
    char rel[1024], url[MM_FHIR_REF_MAX];
    const char *why = "読み出し手段なし / no reader given";
    mm_buf data;
    int err;

    mm_export__str(x, att, "contentType", mime_of(name));
    mm_export__str(x, att, "title", name);
    mm_buf_init(&data, MM_EXPORT_BINARY_MAX);
    if (x->read && snprintf(rel, sizeof(rel), "%s/%s", d->folder, name) < (int)sizeof(rel)) {
        err = x->read(x->read_ctx, rel, MM_EXPORT_BINARY_MAX, &data);
        if (err == 0) {
            binary(x, d, name, &data, url);
            mm_export__str(x, att, "url", url);
            mm_export__set(x, att, "size", json_integer((json_int_t)data.len));
            why = NULL;
        } else if (err == MM_ENOMEM) {
            mm_export__set(x, att, "url", NULL); /* out of memory */
        } else {
            why = err == MM_ELIMIT ? "大きすぎるため埋め込んでいません / larger than the limit, "
                                     "not embedded"
                                   : "読めないため埋め込んでいません / could not be read, not "
                                     "embedded";
        }
    }
    mm_buf_release(&data);
    mm_export__set(x, c, "attachment", att);
    if (why) {
        char b[512];
        snprintf(b, sizeof(b), "%s: %s", name, why);
        mm_export__note(x, doc, "", b); /* collected into description below */
    }
    mm_export__push(x, mm_export__arr(x, doc, "content"), c);
}

/* Move the notes of @doc (DocumentReference has none) into its description. */
static void notes_to_description(struct mm_export__fx *x, json_t *doc)
{
    json_t *notes = json_object_get(doc, "note"), *v;
    mm_buf b;
    size_t i;

    if (!notes)
        return;
    mm_buf_init(&b, 1u << 20);
    json_array_foreach(notes, i, v)
    {
        const char *t = json_string_value(json_object_get(v, "text"));
        if ((i && mm_buf_puts(&b, "\n") != 0) || mm_buf_puts(&b, t ? t : "") != 0)
            break;
    }
    mm_export__str(x, doc, "description", b.ptr ? b.ptr : "");
    json_object_del(doc, "note");
    mm_buf_release(&b);
}

static void document(struct mm_export__fx *x, const struct mm_ssmix2_document *d)
{
    char url[MM_FHIR_REF_MAX], ts[40], sb[64];
    const char *code = d->code;
    size_t n = strlen(code);
    int loinc = n >= 3 && code[n - 2] == '-' && strspn(code, "0123456789-") == n;
    json_t *res;

    res = mm_export__resource(x, "DocumentReference", NULL, &d->from, d->folder, url);
    if (!res)
        return;
    mm_export__str(x, res, "status", "current");
    mm_export__set(
            x, res, "type",
            mm_export__cc(x,
                          loinc ? "http://loinc.org" : mm_export__system("", code, sb, sizeof(sb)),
                          code, d->title, d->title));
    mm_export__push(
            x, mm_export__arr(x, res, "category"),
            mm_export__cc(x, NULL, NULL, NULL,
                          strcmp(d->kind, "image") == 0 ? "画像 / image" : "文書 / document"));
    mm_export__set(x, res, "subject", mm_export__ref(x, x->patient, NULL));
    snprintf(ts, sizeof(ts), "%s+09:00", d->from.file_time);
    mm_export__str(x, res, "date", ts);
    for (size_t i = 0; i < d->nfiles && !x->err; i++)
        attachment(x, res, d, d->files[i]);
    if (!d->nfiles) {
        json_t *c = json_object(), *att = json_object();
        mm_export__str(x, att, "title", "ファイルなし / the folder holds no file");
        mm_export__set(x, c, "attachment", att);
        mm_export__push(x, mm_export__arr(x, res, "content"), c);
    }
    notes_to_description(x, res);
    if (d->date[0]) {
        json_t *ctx = json_object(), *p = json_object();
        if (mm_export__date(x, p, "start", d->date)) {
            mm_export__set(x, ctx, "period", p);
            mm_export__set(x, res, "context", ctx);
        } else {
            json_decref(p);
            json_decref(ctx);
        }
    }
}

void mm_export__documents(struct mm_export__fx *x)
{
    const struct mm_ssmix2_document *d;
    size_t n = mm_ssmix2_record_documents(x->r, &d);

    for (size_t i = 0; i < n && !x->err; i++)
        if (mm_export__current(&d[i].from))
            document(x, &d[i]);
}
