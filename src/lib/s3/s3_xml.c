/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal, strict XML reader for the few S3 answers we read, and their parsers. Not an
 * XML library: it builds a flat tree of elements (name, decoded text of leaves, parent,
 * first child, next sibling), skips attributes, the prolog, comments and whitespace, keeps
 * CDATA as text, and decodes the five predefined entities and character references. It
 * refuses DOCTYPE (no entity expansion), unknown entities, mixed content, mismatched or
 * unclosed tags and anything after the root. Sizes, element count and depth are bounded;
 * any malformed answer is MM_ECORRUPT, never a crash. Element names compare without a
 * namespace prefix.
 */
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "s3/s3_wire.h"

struct xnode {
    const char *name; /* in pool */
    const char *text; /* in pool, "" when none */
    int parent, child, last, next;
};

struct mm_s3_xml {
    struct xnode *n;
    unsigned count, cap;
    char *pool; /* names and decoded texts, NUL-terminated; never longer than the document */
    size_t used, size;
};

struct xparse {
    mm_s3_xml *x;
    const char *p, *end;
    int cur; /* the open element, -1 before the root */
    unsigned depth;
    int root_done;
};

#define BAD(what) mm_error_set(MM_ECORRUPT, "s3: malformed xml answer (%s)", what)

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Whether @n bytes at @s are all whitespace. */
static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_space(s[i]))
            return 0;
    }
    return 1;
}

static int is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':' || (unsigned char)c >= 0x80;
}

static int starts(const struct xparse *ps, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, lit, n) == 0;
}

/* Move past @lit's first occurrence from the current position. @return 0 or MM_ECORRUPT */
static int skip_past(struct xparse *ps, const char *lit, const char *what)
{
    size_t n = strlen(lit);
    for (const char *q = ps->p; q + n <= ps->end; q++) {
        if (memcmp(q, lit, n) == 0) {
            ps->p = q + n;
            return 0;
        }
    }
    return BAD(what);
}

/* Append @n bytes to the pool (room is guaranteed by its size). @return where they went */
static char *pool_put(mm_s3_xml *x, const char *s, size_t n)
{
    char *d = x->pool + x->used;
    memcpy(d, s, n);
    x->used += n;
    return d;
}

/* Append code point @cp as UTF-8. @return 0 or MM_ECORRUPT */
static int put_utf8(mm_s3_xml *x, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return BAD("character reference");
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    pool_put(x, u, n);
    return 0;
}

/* Decode the entity at @p (just after '&', up to ';' before @end). OUT: *next. */
static int put_entity(mm_s3_xml *x, const char *p, const char *end, const char **next)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = { { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' } };
    const char *semi = memchr(p, ';', (size_t)(end - p) < 12 ? (size_t)(end - p) : 12);
    if (!semi)
        return BAD("entity");
    size_t n = (size_t)(semi - p);
    *next = semi + 1;
    for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
        if (strlen(ents[i].name) == n && memcmp(p, ents[i].name, n) == 0) {
            pool_put(x, &ents[i].c, 1);
            return 0;
        }
    }
    if (n < 2 || p[0] != '#')
        return BAD("unknown entity");
    int hexa = p[1] == 'x';
    unsigned long cp = 0;
    const char *q = p + 1 + hexa;
    if (q == semi)
        return BAD("character reference");
    for (; q < semi; q++) {
        int d;
        if (*q >= '0' && *q <= '9')
            d = *q - '0';
        else if (hexa && *q >= 'a' && *q <= 'f')
            d = *q - 'a' + 10;
        else if (hexa && *q >= 'A' && *q <= 'F')
            d = *q - 'A' + 10;
        else
            return BAD("character reference");
        cp = cp * (hexa ? 16 : 10) + (unsigned long)d;
        if (cp > 0x10FFFF)
            return BAD("character reference");
    }
    return put_utf8(x, cp);
}

/* Decode raw text [@p, @end) into the pool. @return 0 or MM_ECORRUPT */
static int put_text(mm_s3_xml *x, const char *p, const char *end)
{
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        pool_put(x, p, (size_t)(stop - p));
        if (!amp)
            break;
        int rc = put_entity(x, amp + 1, end, &p);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Add an element named [@name, +@len) under the open one. OUT: the node index. */
static int add_node(struct xparse *ps, const char *name, size_t len, int *out)
{
    mm_s3_xml *x = ps->x;
    if (x->count >= MM_S3_XML_NODES_MAX)
        return mm_error_set(MM_ELIMIT, "s3: xml answer has too many elements");
    if (x->count == x->cap) {
        unsigned cap = x->cap ? 2 * x->cap : 64;
        struct xnode *n = mm_realloc(x->n, cap * sizeof(*n));
        if (!n)
            return MM_ENOMEM;
        x->n = n;
        x->cap = cap;
    }
    const char *colon = memchr(name, ':', len); /* drop a namespace prefix */
    if (colon) {
        len -= (size_t)(colon + 1 - name);
        name = colon + 1;
    }
    int i = (int)x->count++;
    struct xnode *n = &x->n[i];
    n->name = pool_put(x, name, len);
    pool_put(x, "", 1);
    n->text = "";
    n->parent = ps->cur;
    n->child = n->last = n->next = -1;
    if (ps->cur >= 0) {
        struct xnode *par = &x->n[ps->cur];
        if (par->child < 0 && *par->text) { /* blanks before the first child, or mixed */
            if (!blank(par->text, strlen(par->text)))
                return BAD("mixed content");
            par->text = "";
        }
        if (par->last >= 0)
            x->n[par->last].next = i;
        else
            par->child = i;
        par->last = i;
    }
    *out = i;
    return 0;
}

/* Skip the attributes of a start tag up to '>' or "/>". OUT: *empty for "/>". */
static int skip_attrs(struct xparse *ps, int *empty)
{
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == '>') {
            ps->p++;
            *empty = 0;
            return 0;
        }
        if (c == '/' && ps->p + 1 < ps->end && ps->p[1] == '>') {
            ps->p += 2;
            *empty = 1;
            return 0;
        }
        if (c == '"' || c == '\'') {
            const char *q = memchr(ps->p + 1, c, (size_t)(ps->end - ps->p - 1));
            if (!q)
                return BAD("attribute");
            ps->p = q + 1;
        } else if (c == '<' || c == '&') {
            return BAD("tag");
        } else {
            ps->p++;
        }
    }
    return BAD("unclosed tag");
}

/* A start tag at ps->p (after '<'). */
static int start_tag(struct xparse *ps)
{
    const char *name = ps->p;
    while (ps->p < ps->end && is_name_char(*ps->p))
        ps->p++;
    size_t len = (size_t)(ps->p - name);
    if (len == 0 || (ps->p < ps->end && !is_space(*ps->p) && *ps->p != '>' && *ps->p != '/'))
        return BAD("element name");
    if (ps->root_done)
        return BAD("content after the root");
    if (ps->depth >= MM_S3_XML_DEPTH_MAX)
        return mm_error_set(MM_ELIMIT, "s3: xml answer nests too deep");
    int i = -1, empty = 0, rc = add_node(ps, name, len, &i);
    if (rc == 0)
        rc = skip_attrs(ps, &empty);
    if (rc < 0)
        return rc;
    if (empty) {
        if (ps->cur < 0)
            ps->root_done = 1;
        return 0;
    }
    ps->cur = i;
    ps->depth++;
    return 0;
}

/* An end tag at ps->p (after "</"). */
static int end_tag(struct xparse *ps)
{
    const char *name = ps->p;
    while (ps->p < ps->end && is_name_char(*ps->p))
        ps->p++;
    size_t len = (size_t)(ps->p - name);
    while (ps->p < ps->end && is_space(*ps->p))
        ps->p++;
    if (ps->cur < 0 || ps->p >= ps->end || *ps->p != '>')
        return BAD("end tag");
    ps->p++;
    const char *colon = memchr(name, ':', len);
    if (colon) {
        len -= (size_t)(colon + 1 - name);
        name = colon + 1;
    }
    const struct xnode *n = &ps->x->n[ps->cur];
    if (strlen(n->name) != len || memcmp(n->name, name, len) != 0)
        return BAD("mismatched end tag");
    ps->cur = n->parent;
    ps->depth--;
    if (ps->cur < 0)
        ps->root_done = 1;
    return 0;
}

/* Text (or CDATA) inside the open element up to the next markup: a leaf's text, or blanks. */
static int text(struct xparse *ps, const char *raw, size_t n, int cdata)
{
    mm_s3_xml *x = ps->x;
    int white = !cdata && blank(raw, n);
    if (ps->cur < 0)
        return white ? 0 : BAD("text outside the root");
    struct xnode *e = &x->n[ps->cur];
    if (e->child >= 0)
        return white ? 0 : BAD("mixed content");
    if (n == 0)
        return 0;
    size_t start = x->used;
    if (*e->text) { /* the previous piece is the pool's last: continue over its NUL */
        x->used--;
        start = (size_t)(e->text - x->pool);
    }
    int rc = 0;
    if (cdata)
        pool_put(x, raw, n);
    else
        rc = put_text(x, raw, raw + n);
    if (rc < 0)
        return rc;
    pool_put(x, "", 1);
    e->text = x->pool + start;
    return 0;
}

/* Markup beginning with "<!" or "<?" at ps->p (at '<'). */
static int special(struct xparse *ps)
{
    if (starts(ps, "<!--"))
        return skip_past(ps, "-->", "comment");
    if (starts(ps, "<![CDATA[")) {
        if (ps->cur < 0)
            return BAD("cdata outside the root");
        const char *raw = ps->p + 9;
        int rc = skip_past(ps, "]]>", "cdata");
        return rc < 0 ? rc : text(ps, raw, (size_t)(ps->p - 3 - raw), 1);
    }
    if (starts(ps, "<?xml") && ps->x->count == 0)
        return skip_past(ps, "?>", "prolog");
    return BAD("doctype or processing instruction");
}

/* One step: markup or a run of text. */
static int step(struct xparse *ps)
{
    if (*ps->p != '<') {
        const char *lt = memchr(ps->p, '<', (size_t)(ps->end - ps->p));
        const char *stop = lt ? lt : ps->end;
        const char *raw = ps->p;
        ps->p = stop;
        return text(ps, raw, (size_t)(stop - raw), 0);
    }
    if (starts(ps, "<!") || starts(ps, "<?"))
        return special(ps);
    ps->p++;
    if (ps->p < ps->end && *ps->p == '/') {
        ps->p++;
        return end_tag(ps);
    }
    return start_tag(ps);
}

int mm_s3_xml_parse(mm_s3_xml **out, const char *doc, size_t n)
{
    if (n > MM_S3_XML_MAX)
        return mm_error_set(MM_ELIMIT, "s3: xml answer over %u bytes", MM_S3_XML_MAX);
    if (memchr(doc, '\0', n))
        return BAD("nul byte");
    int rc = MM_ENOMEM;
    mm_s3_xml *x = mm_calloc(1, sizeof(*x));
    if (!x)
        return MM_ENOMEM;
    /* every name or text is shorter than its markup, plus one NUL per element */
    x->size = 2 * n + 16;
    if (!(x->pool = mm_malloc(x->size)))
        goto out;
    struct xparse ps = { x, doc, doc + n, -1, 0, 0 };
    rc = 0;
    while (rc == 0 && ps.p < ps.end)
        rc = step(&ps);
    if (rc == 0 && (!ps.root_done || ps.cur >= 0))
        rc = BAD("no complete root element");
out:
    if (rc < 0) {
        mm_s3_xml_free(x);
        return rc;
    }
    *out = x;
    return 0;
}

void mm_s3_xml_free(mm_s3_xml *x)
{
    if (!x)
        return;
    mm_free(x->n);
    mm_free(x->pool);
    mm_free(x);
}

const char *mm_s3_xml_name(const mm_s3_xml *x, int node)
{
    return node >= 0 && (unsigned)node < x->count ? x->n[node].name : "";
}

const char *mm_s3_xml_text(const mm_s3_xml *x, int node)
{
    return node >= 0 && (unsigned)node < x->count ? x->n[node].text : "";
}

/* From @i on along the sibling chain, the first node named @name. */
static int find(const mm_s3_xml *x, int i, const char *name)
{
    while (i >= 0 && name && strcmp(x->n[i].name, name) != 0)
        i = x->n[i].next;
    return i;
}

int mm_s3_xml_child(const mm_s3_xml *x, int node, const char *name)
{
    if (node < 0 || (unsigned)node >= x->count)
        return -1;
    return find(x, x->n[node].child, name);
}

int mm_s3_xml_next(const mm_s3_xml *x, int node, const char *name)
{
    if (node < 0 || (unsigned)node >= x->count)
        return -1;
    return find(x, x->n[node].next, name);
}

const char *mm_s3_xml_get(const mm_s3_xml *x, int node, const char *name)
{
    int c = mm_s3_xml_child(x, node, name);
    return c >= 0 ? x->n[c].text : NULL;
}

/* ---- the answers ---------------------------------------------------------------------------- */

/* Parse @doc and check its root is @root. OUT: *x. */
static int open_doc(mm_s3_xml **x, const char *doc, size_t n, const char *root)
{
    int rc = mm_s3_xml_parse(x, doc, n);
    if (rc < 0)
        return rc;
    if (strcmp(mm_s3_xml_name(*x, 0), root) != 0) {
        mm_s3_xml_free(*x);
        *x = NULL;
        return BAD("unexpected root element");
    }
    return 0;
}

/* Copy @s (may be NULL: "") into @out of @cap bytes. @return 0 or MM_ECORRUPT when too long */
static int copy_field(char *out, size_t cap, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= cap)
        return BAD("field too long");
    memcpy(out, s ? s : "", n + 1);
    return 0;
}

/* One Contents, Version or DeleteMarker element into @o. */
static int list_entry(const mm_s3_xml *x, int e, int versions, struct mm_s3_obj *o)
{
    memset(o, 0, sizeof(*o));
    o->key = mm_s3_xml_get(x, e, "Key");
    const char *lm = mm_s3_xml_get(x, e, "LastModified");
    const char *size = mm_s3_xml_get(x, e, "Size");
    o->delete_marker = strcmp(mm_s3_xml_name(x, e), "DeleteMarker") == 0;
    if (!o->key || !*o->key || !lm || mm_s3_time_parse(lm, &o->mtime) < 0)
        return BAD("list entry");
    if (!o->delete_marker && (!size || mm_s3_parse_u64(size, &o->size) < 0))
        return BAD("list entry size");
    if (!versions) {
        o->latest = 1;
        return 0;
    }
    const char *vid = mm_s3_xml_get(x, e, "VersionId");
    const char *latest = mm_s3_xml_get(x, e, "IsLatest");
    if (!vid || !*vid || !latest || copy_field(o->version, sizeof(o->version), vid) < 0)
        return BAD("list entry version");
    o->latest = strcmp(latest, "true") == 0;
    return 0;
}

/* IsTruncated and the markers of a page. */
static int list_page(const mm_s3_xml *x, int versions, struct mm_s3_page *pg)
{
    const char *t = mm_s3_xml_get(x, 0, "IsTruncated");
    memset(pg, 0, sizeof(*pg));
    if (!t || (strcmp(t, "true") != 0 && strcmp(t, "false") != 0))
        return BAD("IsTruncated");
    pg->truncated = strcmp(t, "true") == 0;
    if (!pg->truncated)
        return 0;
    if (!versions) {
        const char *tok = mm_s3_xml_get(x, 0, "NextContinuationToken");
        if (!tok || !*tok)
            return BAD("NextContinuationToken");
        return copy_field(pg->next_token, sizeof(pg->next_token), tok);
    }
    const char *k = mm_s3_xml_get(x, 0, "NextKeyMarker");
    const char *v = mm_s3_xml_get(x, 0, "NextVersionIdMarker");
    if (!k || !*k)
        return BAD("NextKeyMarker");
    int rc = copy_field(pg->next_key, sizeof(pg->next_key), k);
    return rc < 0 ? rc : copy_field(pg->next_version, sizeof(pg->next_version), v);
}

int mm_s3_parse_list(const char *doc, size_t n, int versions, struct mm_s3_page *pg,
                     mm_s3_list_fn fn, void *arg)
{
    mm_s3_xml *x = NULL;
    int rc = open_doc(&x, doc, n, versions ? "ListVersionsResult" : "ListBucketResult");
    if (rc < 0)
        return rc;
    rc = list_page(x, versions, pg);
    for (int e = mm_s3_xml_child(x, 0, NULL); rc == 0 && e >= 0; e = mm_s3_xml_next(x, e, NULL)) {
        const char *name = mm_s3_xml_name(x, e);
        int want = versions ? strcmp(name, "Version") == 0 || strcmp(name, "DeleteMarker") == 0
                            : strcmp(name, "Contents") == 0;
        struct mm_s3_obj o;
        if (!want)
            continue;
        rc = list_entry(x, e, versions, &o);
        if (rc == 0)
            rc = fn(arg, &o);
    }
    mm_s3_xml_free(x);
    return rc;
}

int mm_s3_parse_lock(const char *doc, size_t n, int *enabled, enum mm_s3_lock_mode *mode,
                     unsigned *days)
{
    mm_s3_xml *x = NULL;
    int rc = open_doc(&x, doc, n, "ObjectLockConfiguration");
    if (rc < 0)
        return rc;
    const char *en = mm_s3_xml_get(x, 0, "ObjectLockEnabled");
    *enabled = en && strcmp(en, "Enabled") == 0;
    *mode = MM_S3_LOCK_NONE;
    *days = 0;
    int dr = mm_s3_xml_child(x, mm_s3_xml_child(x, 0, "Rule"), "DefaultRetention");
    if (dr >= 0) {
        const char *m = mm_s3_xml_get(x, dr, "Mode");
        const char *d = mm_s3_xml_get(x, dr, "Days");
        const char *y = mm_s3_xml_get(x, dr, "Years");
        uint64_t v = 0;
        *mode = mm_s3_lock_parse(m);
        if (*mode == MM_S3_LOCK_NONE || (!d && !y) || mm_s3_parse_u64(d ? d : y, &v) < 0 ||
            v > (y && !d ? 100000u : 36500000u))
            rc = BAD("DefaultRetention");
        else
            *days = (unsigned)(d ? v : v * 365);
    }
    mm_s3_xml_free(x);
    return rc;
}

int mm_s3_parse_versioning(const char *doc, size_t n, int *enabled)
{
    mm_s3_xml *x = NULL;
    int rc = open_doc(&x, doc, n, "VersioningConfiguration");
    if (rc < 0)
        return rc;
    const char *st = mm_s3_xml_get(x, 0, "Status");
    *enabled = st && strcmp(st, "Enabled") == 0;
    mm_s3_xml_free(x);
    return 0;
}

int mm_s3_parse_retention(const char *doc, size_t n, enum mm_s3_lock_mode *mode, int64_t *until)
{
    mm_s3_xml *x = NULL;
    int rc = open_doc(&x, doc, n, "Retention");
    if (rc < 0)
        return rc;
    const char *m = mm_s3_xml_get(x, 0, "Mode");
    const char *u = mm_s3_xml_get(x, 0, "RetainUntilDate");
    *mode = mm_s3_lock_parse(m);
    *until = 0;
    if ((m && *mode == MM_S3_LOCK_NONE) || (*mode != MM_S3_LOCK_NONE && !u))
        rc = BAD("Retention");
    else if (u && mm_s3_time_parse(u, until) < 0)
        rc = BAD("RetainUntilDate");
    mm_s3_xml_free(x);
    return rc;
}

int mm_s3_parse_upload_id(const char *doc, size_t n, char out[1024])
{
    mm_s3_xml *x = NULL;
    int rc = open_doc(&x, doc, n, "InitiateMultipartUploadResult");
    if (rc < 0)
        return rc;
    const char *id = mm_s3_xml_get(x, 0, "UploadId");
    rc = !id || !*id ? BAD("UploadId") : copy_field(out, 1024, id);
    mm_s3_xml_free(x);
    return rc;
}

void mm_s3_parse_error_code(const char *doc, size_t n, char out[64])
{
    mm_s3_xml *x = NULL;
    out[0] = '\0';
    if (n == 0 || open_doc(&x, doc, n, "Error") < 0) {
        mm_error_clear();
        return;
    }
    const char *c = mm_s3_xml_get(x, 0, "Code");
    if (c && copy_field(out, 64, c) < 0)
        out[0] = '\0';
    mm_s3_xml_free(x);
    mm_error_clear();
}

int mm_s3_parse_complete(const char *doc, size_t n, char code[64])
{
    mm_s3_xml *x = NULL;
    code[0] = '\0';
    if (mm_s3_xml_parse(&x, doc, n) < 0)
        return -1;
    int r = -1;
    if (strcmp(mm_s3_xml_name(x, 0), "CompleteMultipartUploadResult") == 0) {
        r = 1;
    } else if (strcmp(mm_s3_xml_name(x, 0), "Error") == 0) {
        const char *c = mm_s3_xml_get(x, 0, "Code");
        r = 0;
        if (c && copy_field(code, 64, c) < 0)
            code[0] = '\0';
    }
    mm_s3_xml_free(x);
    return r;
}
