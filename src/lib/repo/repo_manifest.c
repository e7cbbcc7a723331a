/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The byte codec of generation manifests (layout in docs/format.md, "Generation manifest"):
 * records of le16 tag, le32 length and value, known tags in increasing order, unknown ones
 * skipped. As the other codecs (repo_codec.c): hostile input, every length checked before
 * use, one encoding per manifest, encoders that size first and grow the buffer once, and
 * messages that never hold names, paths or other content.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/limits.h"
#include "repo/repo_format.h"

#define RECORD_HEAD 6u    /* manifest record: le16 tag, le32 length */
#define COUNTS_SIZE 80u   /* 10 le64 counters */
#define STRING_MAX  4096u /* manifest strings */

_Static_assert(sizeof(struct mm_repo_counts) == COUNTS_SIZE, "counts are ten uint64_t");

/* ---- manifests ----------------------------------------------------------------------------- */

enum tag {
    TAG_VERSION = 1,
    TAG_NAME = 2,
    TAG_HOST = 3,
    TAG_USER = 4,
    TAG_START = 5,
    TAG_END = 6,
    TAG_PARENT = 7,
    TAG_ROOT = 8,
    TAG_SOURCE = 9,
    TAG_COUNTS = 10,
    TAG_INDEX = 11,
    TAG_GUARD = 12,
    TAG_REASONS = 13,
    TAG_CHECK = 14,    /* patient-index check (le32 attention, le64 patients, le64 parent's) */
    TAG_STORAGE = 15,  /* SS-MIX2 storage: u8 kind | u8 flags | path inside the generation */
    TAG_TWINS = 16,    /* the patient index blocks' twins: their IDs, in the blocks' order */
    TAG_VIEWER = 17,   /* the viewer's files on the medium (repo_viewer.c) */
    TAG_UNSTABLE = 18, /* files changed while read: le64 re-read | le64 unstable | paths */
    TAG_LAST = TAG_UNSTABLE
};

#define MANIFEST_VERSION 1u
#define CHECK_SIZE       20u /* tag 14: le32 attention | le64 patients | le64 parent's */
/* Tags every manifest holds. */
#define REQUIRED                                                                             \
    (1u << TAG_VERSION | 1u << TAG_HOST | 1u << TAG_USER | 1u << TAG_START | 1u << TAG_END | \
     1u << TAG_ROOT | 1u << TAG_SOURCE | 1u << TAG_COUNTS | 1u << TAG_GUARD)

static const char *const tag_name[] = {
    "",
    "version",
    "name",
    "host",
    "user",
    "start time",
    "end time",
    "parent",
    "root",
    "source",
    "counts",
    "patient index",
    "guard verdict",
    "guard reasons",
    "patient-index check",
    "storage",
    "patient index twins",
    "viewer files",
    "unstable files",
};

/* Whether @s is a guard verdict the manifest may hold. */
static int guard_ok(const char *s, size_t n)
{
    return (n == 4 && memcmp(s, "none", 4) == 0) || (n == 5 && memcmp(s, "clean", 5) == 0) ||
           (n == 7 && memcmp(s, "suspect", 7) == 0);
}

/* The counts in field order (struct mm_repo_counts, without relying on its layout). */
static void counts_get(const struct mm_repo_counts *c, uint64_t v[10])
{
    v[0] = c->files, v[1] = c->dirs, v[2] = c->symlinks, v[3] = c->skipped, v[4] = c->bytes;
    v[5] = c->files_read, v[6] = c->files_unchanged, v[7] = c->objects_new;
    v[8] = c->bytes_new, v[9] = c->bytes_stored;
}

/* Set the counts from @v in field order. OUT: @c */
static void counts_set(struct mm_repo_counts *c, const uint64_t v[10])
{
    c->files = v[0], c->dirs = v[1], c->symlinks = v[2], c->skipped = v[3], c->bytes = v[4];
    c->files_read = v[5], c->files_unchanged = v[6], c->objects_new = v[7];
    c->bytes_new = v[8], c->bytes_stored = v[9];
}

/* What is wrong with the text @s of a manifest (control characters only when @ctl_ok), or NULL. */
static const char *text_problem(const char *s, int ctl_ok)
{
    size_t len = strlen(s);

    if (len > STRING_MAX)
        return "too long";
    if (!mm_repo__text_ok((const unsigned char *)s, len, !ctl_ok))
        return ctl_ok ? "not UTF-8 text" : "not UTF-8 text without control characters";
    return NULL;
}

/* What is wrong with the storage path @p (@n bytes: entry names joined by '/'), or NULL. */
static const char *storage_problem(const char *p, size_t n)
{
    size_t i = 0;

    if (n == 0 || n > MM_LIMIT_PATH)
        return "bad path length";
    while (i <= n) {
        size_t k = i;
        const char *why;
        while (k < n && p[k] != '/')
            k++;
        if ((why = mm_repo__name_problem(p + i, k - i)) != NULL)
            return why;
        i = k + 1;
    }
    return NULL;
}

static int unstable_size(const struct mm_repo_unstable *u, uint64_t *n);

/* Check @g and the index IDs for encoding, and compute the body size. OUT: *@size */
static int manifest_check(const struct mm_repo_gen *g, const unsigned char *index_ids,
                          size_t nindex, unsigned char parent[ID_SIZE], uint64_t *size)
{
    const char *strs[] = { g->name, g->host, g->user, g->guard };
    const enum tag str_tags[] = { TAG_NAME, TAG_HOST, TAG_USER, TAG_GUARD };
    uint64_t n = 0, vsize = 0;
    int err;

    if (g->viewer && (err = mm_repo__viewer_size(g->viewer, &vsize)) < 0)
        return err;
    n += g->viewer ? RECORD_HEAD + vsize : 0;
    for (size_t i = 0; i < 4; i++) {
        const char *why;

        if (!strs[i]) {
            if (str_tags[i] == TAG_NAME)
                continue;
            return mm_error_set(MM_EINVAL, "manifest: no %s", tag_name[str_tags[i]]);
        }
        if ((why = text_problem(strs[i], 0)) != NULL)
            return mm_error_set(MM_EINVAL, "manifest: %s: %s", tag_name[str_tags[i]], why);
        n += RECORD_HEAD + strlen(strs[i]);
    }
    if (!guard_ok(g->guard, strlen(g->guard)))
        return mm_error_set(MM_EINVAL, "manifest: unknown guard verdict");
    if (g->guard_reasons) {
        const char *why = text_problem(g->guard_reasons, 1);

        if (why)
            return mm_error_set(MM_EINVAL, "manifest: guard reasons: %s", why);
        n += RECORD_HEAD + strlen(g->guard_reasons);
    }
    if (g->parent[0] && mm_crypto_hex_parse(g->parent, parent) != 0)
        return mm_error_set(MM_EINVAL, "manifest: parent is not a generation id");
    if (g->nsources == 0 || !g->sources)
        return mm_error_set(MM_EINVAL, "manifest: no source");
    if (g->nsources > MM_REPO_MANIFEST_MAX / RECORD_HEAD)
        return mm_error_set(MM_ELIMIT, "manifest: too many sources");
    for (size_t i = 0; i < g->nsources; i++) {
        const struct mm_repo_gen_source *s = &g->sources[i];
        size_t plen = s->path ? strlen(s->path) : 0;
        const char *why;

        if (!s->path || plen > MM_LIMIT_PATH)
            return mm_error_set(MM_EINVAL, "manifest: source %zu: bad path length", i);
        if ((unsigned)s->kind > MM_REPO_SOURCE_SSMIX2_EXT)
            return mm_error_set(MM_EINVAL, "manifest: source %zu: unknown kind", i);
        if ((why = mm_repo__name_problem(s->name, s->name ? strlen(s->name) : 0)) != NULL)
            return mm_error_set(MM_EINVAL, "manifest: source %zu: %s", i, why);
        n += RECORD_HEAD + 5u + plen + strlen(s->name);
    }
    if (g->nstorages > MM_REPO_MANIFEST_MAX / RECORD_HEAD)
        return mm_error_set(MM_ELIMIT, "manifest: too many storages");
    for (size_t i = 0; i < g->nstorages; i++) {
        const struct mm_repo_gen_storage *s = &g->storages[i];
        const char *why;

        if (!s->path || (why = storage_problem(s->path, strlen(s->path))) != NULL)
            return mm_error_set(MM_EINVAL, "manifest: storage %zu: %s", i,
                                s->path ? why : "no path");
        if (s->kind != MM_REPO_SOURCE_SSMIX2_STD && s->kind != MM_REPO_SOURCE_SSMIX2_EXT)
            return mm_error_set(MM_EINVAL, "manifest: storage %zu: unknown kind", i);
        n += RECORD_HEAD + 2u + strlen(s->path);
    }
    if (!g->has_index && nindex > 0)
        return mm_error_set(MM_EINVAL, "manifest: index ids without an index");
    if (nindex > 0 && !index_ids)
        return mm_error_set(MM_EINVAL, "manifest: index ids missing");
    if (nindex > MM_REPO_MANIFEST_MAX / ID_SIZE)
        return mm_error_set(MM_ELIMIT, "manifest: index of %zu ids, over the limit", nindex);
    if (g->index_twins && (!g->has_index || nindex % 2 != 0))
        return mm_error_set(MM_EINVAL, "manifest: index twins without one per block");
    n += RECORD_HEAD + 4;       /* version */
    n += 2 * (RECORD_HEAD + 8); /* start, end */
    n += g->parent[0] ? RECORD_HEAD + ID_SIZE : 0;
    n += RECORD_HEAD + ID_SIZE; /* root */
    n += RECORD_HEAD + COUNTS_SIZE;
    n += g->has_index ? RECORD_HEAD + 8 + (uint64_t)nindex * ID_SIZE : 0;
    n += g->check.present ? RECORD_HEAD + CHECK_SIZE : 0;
    n += g->index_twins ? RECORD_HEAD : 0; /* the twins' record (its IDs counted above) */
    if ((err = unstable_size(&g->unstable, &n)) < 0)
        return err;
    if (n > MM_REPO_MANIFEST_MAX)
        return mm_error_set(MM_ELIMIT, "manifest: %llu bytes, over the limit",
                            (unsigned long long)n);
    *size = n;
    return 0;
}

/* Write a record header for @tag and @len at @d. @return the byte after it */
static unsigned char *record_head(unsigned char *d, enum tag tag, size_t len);

/* The value of tag 18 (@u): its size, 0 when nothing changed while read. */
static size_t unstable_value_size(const struct mm_repo_unstable *u)
{
    size_t n = 16;

    if (!u->reread && !u->unstable)
        return 0;
    for (size_t i = 0; i < u->npaths; i++)
        n += 2 + strlen(u->paths[i]);
    return n;
}

/* Check the unstable files @u and add their record's size to *@n. */
static int unstable_size(const struct mm_repo_unstable *u, uint64_t *n)
{
    if (u->npaths > MM_REPO_UNSTABLE_LISTED || u->npaths > u->unstable)
        return mm_error_set(MM_EINVAL, "manifest: too many unstable files listed");
    for (size_t i = 0; i < u->npaths; i++) {
        size_t len = u->paths[i] ? strlen(u->paths[i]) : 0;
        if (len == 0 || len > MM_LIMIT_PATH)
            return mm_error_set(MM_EINVAL, "manifest: unstable file %zu: bad path length", i);
    }
    *n += unstable_value_size(u) ? RECORD_HEAD + unstable_value_size(u) : 0;
    return 0;
}

/* Write tag 18 for @u at @d (nothing when no file changed). @return the byte after it */
static unsigned char *unstable_encode(const struct mm_repo_unstable *u, unsigned char *d)
{
    size_t n = unstable_value_size(u);

    if (!n)
        return d;
    d = record_head(d, TAG_UNSTABLE, n);
    mm_put_le64(d, u->reread);
    mm_put_le64(d + 8, u->unstable);
    d += 16;
    for (size_t i = 0; i < u->npaths; i++) {
        size_t len = strlen(u->paths[i]);
        mm_put_le16(d, (uint16_t)len);
        memcpy(d + 2, u->paths[i], len);
        d += 2 + len;
    }
    return d;
}

/* Decode the value of tag 18 (@v, @n bytes) into @u. */
static int take_unstable(const unsigned char *v, size_t n, struct mm_repo_unstable *u)
{
    size_t pos = 16, k = 0;

    if (n < 16)
        return mm_error_set(MM_ECORRUPT, "manifest: unstable files: truncated");
    u->reread = mm_get_le64(v);
    u->unstable = mm_get_le64(v + 8);
    for (size_t p = pos; p < n; k++) { /* count, check */
        size_t len;
        if (n - p < 2 || (len = mm_get_le16(v + p)) == 0 || len > n - p - 2 ||
            memchr(v + p + 2, '\0', len))
            return mm_error_set(MM_ECORRUPT, "manifest: unstable files: bad path");
        p += 2 + len;
    }
    if (k > MM_REPO_UNSTABLE_LISTED || k > u->unstable)
        return mm_error_set(MM_ECORRUPT, "manifest: unstable files: too many paths");
    if (k && !(u->paths = mm_calloc(k, sizeof(*u->paths))))
        return MM_ENOMEM;
    for (; pos < n; u->npaths++) {
        size_t len = mm_get_le16(v + pos);
        if (!(u->paths[u->npaths] = mm_strndup((const char *)v + pos + 2, len)))
            return MM_ENOMEM;
        pos += 2 + len;
    }
    return 0;
}

/* Write a record header for @tag and @len at @d. @return the byte after it */
static unsigned char *record_head(unsigned char *d, enum tag tag, size_t len)
{
    mm_put_le16(d, (uint16_t)tag);
    mm_put_le32(d + 2, (uint32_t)len);
    return d + RECORD_HEAD;
}

/* Write the record @tag holding the string @s at @d. @return the byte after it */
static unsigned char *record_str(unsigned char *d, enum tag tag, const char *s)
{
    size_t len = strlen(s);

    d = record_head(d, tag, len);
    memcpy(d, s, len);
    return d + len;
}

int mm_repo__manifest_encode(const struct mm_repo_gen *g, const unsigned char *index_ids,
                             size_t nindex, mm_buf *out)
{
    unsigned char parent[ID_SIZE];
    uint64_t size = 0, counts[10];
    unsigned char *d;
    int err;

    MM_ASSERT_ARG(g && out);
    if ((err = manifest_check(g, index_ids, nindex, parent, &size)) < 0)
        return err;
    if ((err = mm_buf_grow(out, (size_t)size)) < 0)
        return err;
    d = (unsigned char *)out->ptr + out->len;
    d = record_head(d, TAG_VERSION, 4);
    mm_put_le32(d, MANIFEST_VERSION);
    d += 4;
    if (g->name)
        d = record_str(d, TAG_NAME, g->name);
    d = record_str(d, TAG_HOST, g->host);
    d = record_str(d, TAG_USER, g->user);
    d = record_head(d, TAG_START, 8);
    mm_put_le64(d, (uint64_t)g->start_ns);
    d = record_head(d + 8, TAG_END, 8);
    mm_put_le64(d, (uint64_t)g->end_ns);
    d += 8;
    if (g->parent[0]) {
        d = record_head(d, TAG_PARENT, ID_SIZE);
        memcpy(d, parent, ID_SIZE);
        d += ID_SIZE;
    }
    d = record_head(d, TAG_ROOT, ID_SIZE);
    memcpy(d, g->root, ID_SIZE);
    d += ID_SIZE;
    for (size_t i = 0; i < g->nsources; i++) {
        const struct mm_repo_gen_source *s = &g->sources[i];
        size_t plen = strlen(s->path), nlen = strlen(s->name);

        d = record_head(d, TAG_SOURCE, 5 + plen + nlen);
        *d = (unsigned char)s->kind;
        mm_put_le16(d + 1, (uint16_t)plen);
        memcpy(d + 3, s->path, plen);
        d += 3 + plen;
        mm_put_le16(d, (uint16_t)nlen);
        memcpy(d + 2, s->name, nlen);
        d += 2 + nlen;
    }
    d = record_head(d, TAG_COUNTS, COUNTS_SIZE);
    counts_get(&g->counts, counts);
    for (size_t i = 0; i < 10; i++, d += 8)
        mm_put_le64(d, counts[i]);
    if (g->has_index) {
        size_t blocks = g->index_twins ? nindex / 2 : nindex;
        d = record_head(d, TAG_INDEX, 8 + blocks * ID_SIZE);
        mm_put_le64(d, g->index_size);
        if (blocks)
            memcpy(d + 8, index_ids, blocks * ID_SIZE);
        d += 8 + blocks * ID_SIZE;
    }
    d = record_str(d, TAG_GUARD, g->guard);
    if (g->guard_reasons)
        d = record_str(d, TAG_REASONS, g->guard_reasons);
    if (g->check.present) {
        d = record_head(d, TAG_CHECK, CHECK_SIZE);
        mm_put_le32(d, g->check.attention);
        mm_put_le64(d + 4, g->check.patients);
        mm_put_le64(d + 12, g->check.parent_patients);
        d += CHECK_SIZE;
    }
    for (size_t i = 0; i < g->nstorages; i++) {
        const struct mm_repo_gen_storage *s = &g->storages[i];
        size_t plen = strlen(s->path);

        d = record_head(d, TAG_STORAGE, 2 + plen);
        d[0] = (unsigned char)s->kind;
        d[1] = s->indexed ? 1 : 0;
        memcpy(d + 2, s->path, plen);
        d += 2 + plen;
    }
    if (g->index_twins) {
        size_t blocks = nindex / 2;
        d = record_head(d, TAG_TWINS, blocks * ID_SIZE);
        if (blocks)
            memcpy(d, index_ids + blocks * ID_SIZE, blocks * ID_SIZE);
        d += blocks * ID_SIZE;
    }
    if (g->viewer) {
        uint64_t vsize = 0;
        (void)mm_repo__viewer_size(g->viewer, &vsize); /* checked by manifest_check() */
        d = mm_repo__viewer_encode(g->viewer, record_head(d, TAG_VIEWER, (size_t)vsize));
    }
    d = unstable_encode(&g->unstable, d);
    assert((size_t)(d - (unsigned char *)out->ptr - out->len) == size);
    out->len += (size_t)size;
    out->ptr[out->len] = '\0';
    return 0;
}

/* A NUL-terminated copy of the string value @v (@n bytes) of @tag into *@dst. */
static int take_str(const unsigned char *v, size_t n, enum tag tag, char **dst)
{
    if (n > STRING_MAX)
        return mm_error_set(MM_ECORRUPT, "manifest: %s too long", tag_name[tag]);
    if (!mm_repo__text_ok(v, n, tag != TAG_REASONS))
        return mm_error_set(MM_ECORRUPT, "manifest: %s is not valid text", tag_name[tag]);
    if (tag == TAG_GUARD && !guard_ok((const char *)v, n))
        return mm_error_set(MM_ECORRUPT, "manifest: unknown guard verdict");
    if (!(*dst = mm_strndup((const char *)v, n)))
        return MM_ENOMEM;
    return 0;
}

/* Decode the source record value @v (@n bytes) into @s. */
static int take_source(const unsigned char *v, size_t n, size_t i, struct mm_repo_gen_source *s)
{
    size_t plen, nlen;
    const char *why;

    if (n < 5)
        return mm_error_set(MM_ECORRUPT, "manifest: source %zu: truncated", i);
    if (v[0] > MM_REPO_SOURCE_SSMIX2_EXT)
        return mm_error_set(MM_ECORRUPT, "manifest: source %zu: unknown kind %u", i,
                            (unsigned)v[0]);
    s->kind = (enum mm_repo_source_kind)v[0];
    plen = mm_get_le16(v + 1);
    if (plen > n - 5)
        return mm_error_set(MM_ECORRUPT, "manifest: source %zu: truncated", i);
    nlen = mm_get_le16(v + 3 + plen);
    if (5 + plen + nlen != n)
        return mm_error_set(MM_ECORRUPT, "manifest: source %zu: wrong length", i);
    if (plen > MM_LIMIT_PATH || memchr(v + 3, '\0', plen))
        return mm_error_set(MM_ECORRUPT, "manifest: source %zu: bad path", i);
    if ((why = mm_repo__name_problem((const char *)v + 5 + plen, nlen)) != NULL)
        return mm_error_set(MM_ECORRUPT, "manifest: source %zu: %s", i, why);
    if (!(s->path = mm_strndup((const char *)v + 3, plen)))
        return MM_ENOMEM;
    if (!(s->name = mm_strndup((const char *)v + 5 + plen, nlen)))
        return MM_ENOMEM;
    return 0;
}

/* Decode the storage record value @v (@n bytes) into @s. */
static int take_storage(const unsigned char *v, size_t n, size_t i, struct mm_repo_gen_storage *s)
{
    const char *why;

    if (n < 3)
        return mm_error_set(MM_ECORRUPT, "manifest: storage %zu: truncated", i);
    if (v[0] != MM_REPO_SOURCE_SSMIX2_STD && v[0] != MM_REPO_SOURCE_SSMIX2_EXT)
        return mm_error_set(MM_ECORRUPT, "manifest: storage %zu: unknown kind %u", i,
                            (unsigned)v[0]);
    if (v[1] > 1)
        return mm_error_set(MM_ECORRUPT, "manifest: storage %zu: unknown flags", i);
    if ((why = storage_problem((const char *)v + 2, n - 2)) != NULL)
        return mm_error_set(MM_ECORRUPT, "manifest: storage %zu: %s", i, why);
    s->kind = (enum mm_repo_source_kind)v[0];
    s->indexed = v[1];
    if (!(s->path = mm_strndup((const char *)v + 2, n - 2)))
        return MM_ENOMEM;
    return 0;
}

/*
 * First pass over a manifest: record framing, the version first, known tags in increasing
 * order (sources may repeat), every required tag present. OUT: *@nsources
 */
static int manifest_frame(const unsigned char *in, size_t n, size_t *nsources, size_t *nstorages)
{
    uint32_t seen = 0;
    unsigned last = 0;
    size_t pos = 0;

    *nsources = 0;
    *nstorages = 0;
    for (size_t r = 0; pos < n; r++) {
        unsigned tag;
        size_t len;

        if (n - pos < RECORD_HEAD)
            return mm_error_set(MM_ECORRUPT, "manifest: record %zu: truncated", r);
        tag = mm_get_le16(in + pos);
        len = mm_get_le32(in + pos + 2);
        pos += RECORD_HEAD;
        if (len > n - pos)
            return mm_error_set(MM_ECORRUPT, "manifest: record %zu: truncated", r);
        pos += len;
        if (r == 0 && (tag != TAG_VERSION || len != 4))
            return mm_error_set(MM_ECORRUPT, "manifest: does not start with its version");
        if (r == 0 && mm_get_le32(in + pos - 4) != MANIFEST_VERSION)
            return mm_error_set(MM_ECORRUPT, "manifest: unknown version %u",
                                (unsigned)mm_get_le32(in + pos - 4));
        if (tag == 0 || tag > TAG_LAST)
            continue; /* a newer writer's record: skipped */
        if (tag < last || (tag == last && tag != TAG_SOURCE && tag != TAG_STORAGE))
            return mm_error_set(MM_ECORRUPT, "manifest: record %zu: %s out of order", r,
                                tag_name[tag]);
        last = tag;
        seen |= 1u << tag;
        if (tag == TAG_SOURCE)
            (*nsources)++;
        if (tag == TAG_STORAGE)
            (*nstorages)++;
    }
    if (n == 0)
        return mm_error_set(MM_ECORRUPT, "manifest: empty");
    for (unsigned t = 1; t <= TAG_LAST; t++)
        if ((REQUIRED & (1u << t)) && !(seen & (1u << t)))
            return mm_error_set(MM_ECORRUPT, "manifest: no %s", tag_name[t]);
    return 0;
}

/* Decode the value @v (@len bytes) of the known @tag into @g, *@ids, *@nids. */
static int manifest_value(unsigned tag, const unsigned char *v, size_t len, struct mm_repo_gen *g,
                          unsigned char **ids, size_t *nids)
{
    static const size_t fixed[TAG_LAST + 1] = {
        [TAG_VERSION] = 4,      [TAG_START] = 8,      [TAG_END] = 8,
        [TAG_PARENT] = ID_SIZE, [TAG_ROOT] = ID_SIZE,
    };
    uint64_t counts[10];

    if (fixed[tag] && len != fixed[tag])
        return mm_error_set(MM_ECORRUPT, "manifest: %s has the wrong length", tag_name[tag]);
    switch (tag) {
    case TAG_VERSION: /* checked by manifest_frame() */
        return 0;
    case TAG_NAME:
        return take_str(v, len, TAG_NAME, &g->name);
    case TAG_HOST:
        return take_str(v, len, TAG_HOST, &g->host);
    case TAG_USER:
        return take_str(v, len, TAG_USER, &g->user);
    case TAG_GUARD:
        return take_str(v, len, TAG_GUARD, &g->guard);
    case TAG_REASONS:
        return take_str(v, len, TAG_REASONS, &g->guard_reasons);
    case TAG_STORAGE:
        g->nstorages++;
        return take_storage(v, len, g->nstorages - 1, &g->storages[g->nstorages - 1]);
    case TAG_CHECK:
        /* a newer writer may append fields: the first 20 bytes are ours */
        if (len < CHECK_SIZE)
            return mm_error_set(MM_ECORRUPT, "manifest: patient-index check is truncated");
        g->check.present = 1;
        g->check.attention = mm_get_le32(v);
        g->check.patients = mm_get_le64(v + 4);
        g->check.parent_patients = mm_get_le64(v + 12);
        return 0;
    case TAG_START:
        g->start_ns = mm_repo__i64(mm_get_le64(v));
        return 0;
    case TAG_END:
        g->end_ns = mm_repo__i64(mm_get_le64(v));
        return 0;
    case TAG_PARENT:
        mm_crypto_hex(v, g->parent);
        return 0;
    case TAG_ROOT:
        memcpy(g->root, v, ID_SIZE);
        return 0;
    case TAG_SOURCE:
        g->nsources++;
        return take_source(v, len, g->nsources - 1, &g->sources[g->nsources - 1]);
    case TAG_COUNTS:
        /* a newer writer may append counters: the first ten are ours */
        if (len < COUNTS_SIZE)
            return mm_error_set(MM_ECORRUPT, "manifest: counts have the wrong length");
        for (size_t i = 0; i < 10; i++)
            counts[i] = mm_get_le64(v + 8 * i);
        counts_set(&g->counts, counts);
        return 0;
    case TAG_VIEWER:
        return mm_repo__viewer_decode(v, len, &g->viewer);
    case TAG_UNSTABLE:
        return take_unstable(v, len, &g->unstable);
    case TAG_TWINS: {
        /* one twin per block of the index (tag 11, read before): appended to its IDs */
        unsigned char *all;
        if (!g->has_index || len != *nids * ID_SIZE)
            return mm_error_set(MM_ECORRUPT, "manifest: patient index twins do not match it");
        if (len == 0) {
            g->index_twins = 1;
            return 0;
        }
        if (!(all = mm_realloc(*ids, 2 * len)))
            return MM_ENOMEM;
        memcpy(all + len, v, len);
        *ids = all;
        *nids *= 2;
        g->index_twins = 1;
        return 0;
    }
    default: /* TAG_INDEX */
        if (len < 8 || (len - 8) % ID_SIZE != 0)
            return mm_error_set(MM_ECORRUPT, "manifest: patient index has the wrong length");
        g->has_index = 1;
        g->index_size = mm_get_le64(v);
        *nids = (len - 8) / ID_SIZE;
        if (*nids > 0 && !(*ids = mm_malloc(len - 8)))
            return MM_ENOMEM;
        if (*nids > 0)
            memcpy(*ids, v + 8, len - 8);
        return 0;
    }
}

int mm_repo__manifest_decode(const void *p, size_t n, struct mm_repo_gen *g,
                             unsigned char **index_ids, size_t *nindex)
{
    const unsigned char *in = p;
    unsigned char *ids = NULL;
    size_t nids = 0, nsources = 0, nstorages = 0, pos = 0;
    int err;

    MM_ASSERT_ARG(g && (p || n == 0));
    memset(g, 0, sizeof(*g));
    if (n > MM_REPO_MANIFEST_MAX)
        return mm_error_set(MM_ECORRUPT, "manifest: %zu bytes, over the limit", n);
    if ((err = manifest_frame(in, n, &nsources, &nstorages)) < 0)
        return err;
    if (nstorages && !(g->storages = mm_calloc(nstorages, sizeof(*g->storages)))) {
        err = MM_ENOMEM;
        goto out;
    }
    if (!(g->sources = mm_calloc(nsources, sizeof(*g->sources)))) {
        err = MM_ENOMEM;
        goto out;
    }
    while (pos < n) {
        unsigned tag = mm_get_le16(in + pos);
        size_t len = mm_get_le32(in + pos + 2);

        pos += RECORD_HEAD;
        if (tag >= 1 && tag <= TAG_LAST &&
            (err = manifest_value(tag, in + pos, len, g, &ids, &nids)) < 0)
            goto out;
        pos += len;
    }
    if (index_ids)
        *index_ids = ids;
    else
        mm_free(ids);
    if (nindex)
        *nindex = nids;
    return 0;
out:
    mm_free(ids);
    mm_repo_gen_release(g);
    return err;
}

void mm_repo_gen_release(struct mm_repo_gen *g)
{
    if (!g)
        return;
    mm_free(g->name);
    mm_free(g->host);
    mm_free(g->user);
    mm_free(g->guard);
    mm_free(g->guard_reasons);
    for (size_t i = 0; g->sources && i < g->nsources; i++) {
        mm_free(g->sources[i].path);
        mm_free(g->sources[i].name);
    }
    mm_free(g->sources);
    for (size_t i = 0; g->storages && i < g->nstorages; i++)
        mm_free(g->storages[i].path);
    mm_free(g->storages);
    mm_repo_viewer_free(g->viewer);
    mm_repo_unstable_release(&g->unstable);
    memset(g, 0, sizeof(*g));
}

void mm_repo_unstable_release(struct mm_repo_unstable *u)
{
    if (!u)
        return;
    for (size_t i = 0; u->paths && i < u->npaths; i++)
        mm_free(u->paths[i]);
    mm_free(u->paths);
    memset(u, 0, sizeof(*u));
}

void mm_repo_gens_free(struct mm_repo_gen *g, size_t n)
{
    if (!g)
        return;
    for (size_t i = 0; i < n; i++)
        mm_repo_gen_release(&g[i]);
    mm_free(g);
}
