/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The byte codecs of the repository's records: trees, pack tables and index files (layouts
 * in repo_format.h and docs/format.md; generation manifests are repo_manifest.c's). Decoders treat
 * their input as hostile: every length is checked against the bytes left before it is used, counts
 * are bounded by what the input could hold, and allocations are proportional to the input (a tree
 * is one copy of its plaintext plus one entry array; an index file is one pack array plus one
 * object array). Encoders apply the same rules as the decoders, so what they write always decodes,
 * and every record has exactly one encoding (decode then encode gives back the input), except that
 * manifest readers skip unknown tags and counts fields longer than they know. Encoders compute the
 * size first and grow the buffer once, so on failure the buffer's content is unchanged. Messages
 * never hold names, paths or other content.
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

/* ---- shared helpers ------------------------------------------------------------------------ */

/* Tree header: magic, version, count. Entry: kind, namelen, the name, then FIXED bytes. */
#define TREE_HEADER 12u
#define ENTRY_FIXED 52u /* mode, uid, gid 4 each; size, mtime, ctime, ino, dev 8 each */
#define ENTRY_MIN   (3u + 1u + ENTRY_FIXED + 3u) /* a symlink with 1-byte name and target */
#define TARGET_MAX  (MM_LIMIT_PATH - 1u)
#define PACK_HEADER 8u                             /* "MMPK" and the version */
#define OBJ_MIN     (MM_CRYPTO_SEAL_OVERHEAD + 1u) /* nonce, codec byte, tag */
#define IXPACK_MIN  (ID_SIZE + 8u + 4u)            /* id, size, table count */
#define MODE_TYPE   0170000u                       /* the file type bits of a mode */
#define MODE_MAX    0177777u

_Static_assert(MM_REPO_PACK_ENTRY_SIZE == ID_SIZE + 1 + 3 * 4, "pack table entry size");
_Static_assert(ENTRY_MIN == 59, "smallest tree entry");
_Static_assert(MM_REPO_PACK_MAX <= UINT32_MAX, "pack offsets are 32-bit");

/* An int64 from its two's complement bits, without implementation-defined conversion. */
int64_t mm_repo__i64(uint64_t v)
{
    return v <= INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

/* Compare names as the tree orders them: bytes, then the shorter first. */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* What is wrong with the name of @n bytes at @s as a tree entry name, or NULL. */
const char *mm_repo__name_problem(const char *s, size_t n)
{
    if (!s || n == 0)
        return "empty name";
    if (n > MM_LIMIT_NAME)
        return "name too long";
    if (memchr(s, '/', n))
        return "name holds a slash";
    if (memchr(s, '\0', n))
        return "name holds a nul byte";
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return "name is a dot or dot-dot";
    return NULL;
}

/*
 * Whether the @n bytes at @s are well-formed UTF-8 without NUL and, when @no_ctl, without
 * control characters (C0, DEL, C1).
 */
int mm_repo__text_ok(const unsigned char *s, size_t n, int no_ctl)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        uint32_t cp, min;

        if (c == 0 || (no_ctl && (c < 0x20 || c == 0x7f)))
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2, cp = c & 0x1fu, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3, cp = c & 0x0fu, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4, cp = c & 0x07u, min = 0x10000;
        } else {
            return 0;
        }
        if (len > n - i)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        if (no_ctl && cp < 0xa0)
            return 0;
        i += len;
    }
    return 1;
}

/* ---- trees --------------------------------------------------------------------------------- */

/* What is wrong with @e beyond its encoded lengths (rules shared by encoder and decoder). */
static const char *entry_problem(const struct mm_repo__entry *e)
{
    static const uint32_t type_of[] = { 0, 0100000u, 0040000u, 0120000u };
    const char *why = mm_repo__name_problem(e->name, e->namelen);

    if (why)
        return why;
    if (e->kind < MM_REPO_KIND_FILE || e->kind > MM_REPO_KIND_SYMLINK)
        return "unknown kind";
    /* the type bits of the mode may be left out, but must not contradict the kind */
    if (e->mode > MODE_MAX || ((e->mode & MODE_TYPE) && (e->mode & MODE_TYPE) != type_of[e->kind]))
        return "mode does not fit the kind";
    switch (e->kind) {
    case MM_REPO_KIND_FILE:
        if (e->nids > 0 && !e->ids)
            return "file without its ids";
        if (e->size > 0 && e->nids == 0)
            return "file has data but no ids";
        if (e->nids > MM_REPO_TREE_MAX / ID_SIZE)
            return "file has too many ids";
        break;
    case MM_REPO_KIND_DIR:
        if (e->nids != 1 || !e->ids)
            return "folder without exactly one tree id";
        break;
    default:
        if (!e->target || e->targetlen == 0 || e->targetlen > TARGET_MAX)
            return "link target length out of range";
        if (memchr(e->target, '\0', e->targetlen))
            return "link target holds a nul byte";
        break;
    }
    return NULL;
}

/* Encoded bytes of the valid entry @e. */
static uint64_t entry_size(const struct mm_repo__entry *e)
{
    uint64_t n = 3u + (uint64_t)e->namelen + ENTRY_FIXED;

    if (e->kind == MM_REPO_KIND_FILE)
        return n + 4u + (uint64_t)e->nids * ID_SIZE;
    if (e->kind == MM_REPO_KIND_DIR)
        return n + ID_SIZE;
    return n + 2u + e->targetlen;
}

/* Write the valid entry @e at @d. @return the byte after it */
static unsigned char *entry_write(unsigned char *d, const struct mm_repo__entry *e)
{
    *d++ = e->kind;
    mm_put_le16(d, (uint16_t)e->namelen);
    memcpy(d + 2, e->name, e->namelen);
    d += 2 + e->namelen;
    mm_put_le32(d, e->mode);
    mm_put_le32(d + 4, e->uid);
    mm_put_le32(d + 8, e->gid);
    mm_put_le64(d + 12, e->size);
    mm_put_le64(d + 20, (uint64_t)e->mtime_ns);
    mm_put_le64(d + 28, (uint64_t)e->ctime_ns);
    mm_put_le64(d + 36, e->ino);
    mm_put_le64(d + 44, e->dev);
    d += ENTRY_FIXED;
    switch (e->kind) {
    case MM_REPO_KIND_FILE:
        mm_put_le32(d, e->nids);
        if (e->nids)
            memcpy(d + 4, e->ids, (size_t)e->nids * ID_SIZE);
        return d + 4 + (size_t)e->nids * ID_SIZE;
    case MM_REPO_KIND_DIR:
        memcpy(d, e->ids, ID_SIZE);
        return d + ID_SIZE;
    default:
        mm_put_le16(d, (uint16_t)e->targetlen);
        memcpy(d + 2, e->target, e->targetlen);
        return d + 2 + e->targetlen;
    }
}

int mm_repo__tree_encode(const struct mm_repo__tree *t, mm_buf *out)
{
    uint64_t total = TREE_HEADER;
    unsigned char *d;
    int err;

    MM_ASSERT_ARG(t && out && (t->e || t->n == 0));
    if (t->n > (MM_REPO_TREE_MAX - TREE_HEADER) / ENTRY_MIN)
        return mm_error_set(MM_ELIMIT, "tree: %zu entries, over the limit", t->n);
    for (size_t i = 0; i < t->n; i++) {
        const struct mm_repo__entry *e = &t->e[i];
        const char *why = entry_problem(e);

        if (why)
            return mm_error_set(MM_EINVAL, "tree: entry %zu: %s", i, why);
        if (i > 0 && name_cmp(t->e[i - 1].name, t->e[i - 1].namelen, e->name, e->namelen) >= 0)
            return mm_error_set(MM_EINVAL, "tree: entry %zu: name not in order", i);
        total += entry_size(e);
    }
    if (total > MM_REPO_TREE_MAX)
        return mm_error_set(MM_ELIMIT, "tree: %llu bytes, over the limit",
                            (unsigned long long)total);
    if ((err = mm_buf_grow(out, (size_t)total)) < 0)
        return err;
    d = (unsigned char *)out->ptr + out->len;
    memcpy(d, "MMTR", 4);
    mm_put_le32(d + 4, MM_REPO_TREE_VERSION);
    mm_put_le32(d + 8, (uint32_t)t->n);
    d += TREE_HEADER;
    for (size_t i = 0; i < t->n; i++)
        d = entry_write(d, &t->e[i]);
    out->len += (size_t)total;
    out->ptr[out->len] = '\0';
    return 0;
}

/*
 * Parse entry @i at *@pos of the @n bytes at @d into @e (pointing into @d), checking every
 * length against the input and the rules of entry_problem(). OUT: @e, *@pos
 */
static int entry_parse(const unsigned char *d, size_t n, size_t *pos, size_t i,
                       struct mm_repo__entry *e)
{
    size_t p = *pos;
    const char *why;

    if (n - p < 3)
        return mm_error_set(MM_ECORRUPT, "tree: entry %zu: truncated", i);
    e->kind = d[p];
    e->namelen = mm_get_le16(d + p + 1);
    p += 3;
    if (e->namelen == 0 || e->namelen > MM_LIMIT_NAME)
        return mm_error_set(MM_ECORRUPT, "tree: entry %zu: name length out of range", i);
    if (n - p < e->namelen + ENTRY_FIXED)
        return mm_error_set(MM_ECORRUPT, "tree: entry %zu: truncated", i);
    e->name = (const char *)d + p;
    p += e->namelen;
    e->mode = mm_get_le32(d + p);
    e->uid = mm_get_le32(d + p + 4);
    e->gid = mm_get_le32(d + p + 8);
    e->size = mm_get_le64(d + p + 12);
    e->mtime_ns = mm_repo__i64(mm_get_le64(d + p + 20));
    e->ctime_ns = mm_repo__i64(mm_get_le64(d + p + 28));
    e->ino = mm_get_le64(d + p + 36);
    e->dev = mm_get_le64(d + p + 44);
    p += ENTRY_FIXED;
    switch (e->kind) {
    case MM_REPO_KIND_FILE:
        if (n - p < 4)
            return mm_error_set(MM_ECORRUPT, "tree: entry %zu: truncated", i);
        e->nids = mm_get_le32(d + p);
        p += 4;
        if (e->nids > (n - p) / ID_SIZE)
            return mm_error_set(MM_ECORRUPT, "tree: entry %zu: ids past the end", i);
        e->ids = e->nids ? d + p : NULL;
        p += (size_t)e->nids * ID_SIZE;
        break;
    case MM_REPO_KIND_DIR:
        if (n - p < ID_SIZE)
            return mm_error_set(MM_ECORRUPT, "tree: entry %zu: truncated", i);
        e->ids = d + p;
        e->nids = 1;
        p += ID_SIZE;
        break;
    case MM_REPO_KIND_SYMLINK:
        if (n - p < 2)
            return mm_error_set(MM_ECORRUPT, "tree: entry %zu: truncated", i);
        e->targetlen = mm_get_le16(d + p);
        p += 2;
        if (e->targetlen > n - p)
            return mm_error_set(MM_ECORRUPT, "tree: entry %zu: truncated", i);
        e->target = (const char *)d + p;
        p += e->targetlen;
        break;
    default:
        return mm_error_set(MM_ECORRUPT, "tree: entry %zu: unknown kind %u", i, (unsigned)e->kind);
    }
    if ((why = entry_problem(e)) != NULL)
        return mm_error_set(MM_ECORRUPT, "tree: entry %zu: %s", i, why);
    *pos = p;
    return 0;
}

int mm_repo__tree_decode(const void *p, size_t n, struct mm_repo__tree *out)
{
    struct mm_repo__tree t = { NULL, 0, NULL };
    const unsigned char *in = p;
    size_t count, pos = TREE_HEADER;
    uint32_t version;
    int err = 0;

    MM_ASSERT_ARG(out && (p || n == 0));
    if (n > MM_REPO_TREE_MAX)
        return mm_error_set(MM_ECORRUPT, "tree: %zu bytes, over the limit", n);
    if (n < TREE_HEADER)
        return mm_error_set(MM_ECORRUPT, "tree: truncated header");
    if (memcmp(in, "MMTR", 4) != 0)
        return mm_error_set(MM_ECORRUPT, "tree: bad magic");
    version = mm_get_le32(in + 4);
    if (version != MM_REPO_TREE_VERSION)
        return mm_error_set(MM_ECORRUPT, "tree: unknown version %u", (unsigned)version);
    count = mm_get_le32(in + 8);
    if (count > (n - TREE_HEADER) / ENTRY_MIN)
        return mm_error_set(MM_ECORRUPT, "tree: %zu entries cannot fit in %zu bytes", count, n);
    /* parse the copy, so that what was checked is what the entries point to */
    if (!(t.data = mm_malloc(n))) {
        err = MM_ENOMEM;
        goto out;
    }
    memcpy(t.data, in, n);
    if (count > 0 && !(t.e = mm_calloc(count, sizeof(*t.e)))) {
        err = MM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        if ((err = entry_parse(t.data, n, &pos, i, &t.e[i])) < 0)
            goto out;
        if (i > 0 &&
            name_cmp(t.e[i - 1].name, t.e[i - 1].namelen, t.e[i].name, t.e[i].namelen) >= 0) {
            err = mm_error_set(MM_ECORRUPT, "tree: entry %zu: name not in order", i);
            goto out;
        }
    }
    if (pos != n) {
        err = mm_error_set(MM_ECORRUPT, "tree: %zu trailing bytes", n - pos);
        goto out;
    }
    t.n = count;
    *out = t;
    return 0;
out:
    mm_repo__tree_release(&t);
    return err;
}

const struct mm_repo__entry *mm_repo__tree_find(const struct mm_repo__tree *t, const char *name,
                                                size_t len)
{
    size_t lo = 0, hi = t->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, n;
        const struct mm_repo__entry *e = &t->e[mid];
        int c;
        n = e->namelen < len ? e->namelen : len;
        c = memcmp(e->name, name, n);
        if (c == 0)
            c = e->namelen < len ? -1 : e->namelen > len;
        if (c == 0)
            return e;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void mm_repo__tree_release(struct mm_repo__tree *t)
{
    if (!t)
        return;
    mm_free(t->e);
    mm_free(t->data);
    t->e = NULL;
    t->n = 0;
    t->data = NULL;
}

/* ---- pack tables and index files ----------------------------------------------------------- */

/*
 * What is wrong with object @o of a pack whose object area is [8, @data_end), when the
 * previous object ends at @prev_end (0 for the first), or NULL.
 */
static const char *obj_problem(const struct mm_repo__obj *o, uint64_t prev_end, uint64_t data_end)
{
    if (o->type != MM_REPO_OBJ_BLOB && o->type != MM_REPO_OBJ_TREE)
        return "unknown type";
    if (o->offset < PACK_HEADER)
        return "offset inside the pack header";
    if (o->length < OBJ_MIN)
        return "shorter than a sealed object";
    if ((uint64_t)o->offset + o->length > data_end)
        return "past the end of the pack";
    if (o->offset < prev_end)
        return "overlaps the previous object";
    if (o->plain > MM_REPO_OBJECT_MAX)
        return "plain size over the limit";
    return NULL;
}

/* Write the pack table of @n valid objects at @d. @return the byte after it */
static unsigned char *packtab_write(unsigned char *d, const struct mm_repo__obj *o, size_t n)
{
    mm_put_le32(d, (uint32_t)n);
    d += 4;
    for (size_t i = 0; i < n; i++, d += MM_REPO_PACK_ENTRY_SIZE) {
        memcpy(d, o[i].id, ID_SIZE);
        d[ID_SIZE] = o[i].type;
        mm_put_le32(d + ID_SIZE + 1, o[i].offset);
        mm_put_le32(d + ID_SIZE + 5, o[i].length);
        mm_put_le32(d + ID_SIZE + 9, o[i].plain);
    }
    return d;
}

/* Check the @n objects at @o against a pack of @data_end bytes; errors are @code. */
static int objs_check(const struct mm_repo__obj *o, size_t n, uint64_t data_end, int code,
                      const char *what)
{
    uint64_t prev_end = 0;

    for (size_t i = 0; i < n; i++) {
        const char *why = obj_problem(&o[i], prev_end, data_end);

        if (why)
            return mm_error_set(code, "%s: object %zu: %s", what, i, why);
        prev_end = (uint64_t)o[i].offset + o[i].length;
    }
    return 0;
}

int mm_repo__packtab_encode(const struct mm_repo__obj *o, size_t n, mm_buf *out)
{
    size_t total;
    int err;

    MM_ASSERT_ARG(out && (o || n == 0));
    if (n > (MM_REPO_PACK_MAX - 4) / MM_REPO_PACK_ENTRY_SIZE)
        return mm_error_set(MM_ELIMIT, "pack table: %zu objects, over the limit", n);
    if ((err = objs_check(o, n, MM_REPO_PACK_MAX, MM_EINVAL, "pack table")) < 0)
        return err;
    total = 4 + n * MM_REPO_PACK_ENTRY_SIZE;
    if ((err = mm_buf_grow(out, total)) < 0)
        return err;
    packtab_write((unsigned char *)out->ptr + out->len, o, n);
    out->len += total;
    out->ptr[out->len] = '\0';
    return 0;
}

/* Read the @n table entries at @d into @o (no checks). */
static void objs_read(const unsigned char *d, size_t n, struct mm_repo__obj *o)
{
    for (size_t i = 0; i < n; i++, d += MM_REPO_PACK_ENTRY_SIZE) {
        memcpy(o[i].id, d, ID_SIZE);
        o[i].type = d[ID_SIZE];
        o[i].offset = mm_get_le32(d + ID_SIZE + 1);
        o[i].length = mm_get_le32(d + ID_SIZE + 5);
        o[i].plain = mm_get_le32(d + ID_SIZE + 9);
    }
}

int mm_repo__packtab_decode(const void *p, size_t n, uint64_t data_end, struct mm_repo__obj **out,
                            size_t *nout)
{
    const unsigned char *in = p;
    struct mm_repo__obj *o = NULL;
    size_t count;
    int err;

    MM_ASSERT_ARG(out && nout && (p || n == 0));
    if (n < 4)
        return mm_error_set(MM_ECORRUPT, "pack table: truncated");
    count = mm_get_le32(in);
    if (count > (n - 4) / MM_REPO_PACK_ENTRY_SIZE || count * MM_REPO_PACK_ENTRY_SIZE != n - 4)
        return mm_error_set(MM_ECORRUPT, "pack table: %zu objects do not fill %zu bytes", count, n);
    if (count > 0 && !(o = mm_malloc(count * sizeof(*o))))
        return MM_ENOMEM;
    objs_read(in + 4, count, o);
    if ((err = objs_check(o, count, data_end, MM_ECORRUPT, "pack table")) < 0) {
        mm_free(o);
        return err;
    }
    *out = o;
    *nout = count;
    return 0;
}

/* Order of packinfo pointers by pack ID, for finding duplicates. */
static int pack_ptr_cmp(const void *a, const void *b)
{
    const struct mm_repo__packinfo *const *pa = a, *const *pb = b;

    return memcmp((*pa)->id, (*pb)->id, ID_SIZE);
}

/* Whether two of the @n packs at @p share an ID. OUT: *@dup. @return 0, MM_ENOMEM */
static int packs_dup(const struct mm_repo__packinfo *p, size_t n, int *dup)
{
    const struct mm_repo__packinfo **v;

    *dup = 0;
    if (n < 2)
        return 0;
    if (!(v = mm_malloc(n * sizeof(*v))))
        return MM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = &p[i];
    qsort(v, n, sizeof(*v), pack_ptr_cmp);
    for (size_t i = 1; i < n && !*dup; i++)
        *dup = memcmp(v[i - 1]->id, v[i]->id, ID_SIZE) == 0;
    mm_free(v);
    return 0;
}

int mm_repo__ixfile_encode(const struct mm_repo__packinfo *p, size_t n, mm_buf *out)
{
    uint64_t total = 4;
    unsigned char *d;
    int err, dup;

    MM_ASSERT_ARG(out && (p || n == 0));
    if (n > (MM_REPO_IXFILE_MAX - 4) / IXPACK_MIN)
        return mm_error_set(MM_ELIMIT, "index file: %zu packs, over the limit", n);
    for (size_t i = 0; i < n; i++) {
        if (p[i].size > MM_REPO_PACK_MAX)
            return mm_error_set(MM_EINVAL, "index file: pack %zu: size over the limit", i);
        if (p[i].nobjs > (MM_REPO_PACK_MAX - 4) / MM_REPO_PACK_ENTRY_SIZE)
            return mm_error_set(MM_EINVAL, "index file: pack %zu: too many objects", i);
        if (!p[i].objs && p[i].nobjs > 0)
            return mm_error_set(MM_EINVAL, "index file: pack %zu: objects missing", i);
        if ((err = objs_check(p[i].objs, p[i].nobjs, p[i].size, MM_EINVAL, "index file")) < 0)
            return err;
        total += IXPACK_MIN + (uint64_t)p[i].nobjs * MM_REPO_PACK_ENTRY_SIZE;
    }
    if (total > MM_REPO_IXFILE_MAX)
        return mm_error_set(MM_ELIMIT, "index file: %llu bytes, over the limit",
                            (unsigned long long)total);
    if ((err = packs_dup(p, n, &dup)) < 0)
        return err;
    if (dup)
        return mm_error_set(MM_EINVAL, "index file: a pack is named twice");
    if ((err = mm_buf_grow(out, (size_t)total)) < 0)
        return err;
    d = (unsigned char *)out->ptr + out->len;
    mm_put_le32(d, (uint32_t)n);
    d += 4;
    for (size_t i = 0; i < n; i++) {
        memcpy(d, p[i].id, ID_SIZE);
        mm_put_le64(d + ID_SIZE, p[i].size);
        d = packtab_write(d + ID_SIZE + 8, p[i].objs, p[i].nobjs);
    }
    out->len += (size_t)total;
    out->ptr[out->len] = '\0';
    return 0;
}

int mm_repo__ixfile_decode(const void *p, size_t n, struct mm_repo__packinfo **out, size_t *nout)
{
    return mm_repo__ixfile_decode_keep(p, n, NULL, NULL, out, nout);
}

int mm_repo__ixfile_decode_keep(const void *p, size_t n, mm_repo__keep_fn keep, void *ctx,
                                struct mm_repo__packinfo **out, size_t *nout)
{
    const unsigned char *in = p;
    struct mm_repo__packinfo *packs = NULL;
    struct mm_repo__obj *objs = NULL;
    size_t npacks, total = 0, pos = 4, k = 0;
    int err = 0, dup;

    MM_ASSERT_ARG(out && nout && (p || n == 0));
    if (n > MM_REPO_IXFILE_MAX)
        return mm_error_set(MM_ECORRUPT, "index file: %zu bytes, over the limit", n);
    if (n < 4)
        return mm_error_set(MM_ECORRUPT, "index file: truncated");
    npacks = mm_get_le32(in);
    if (npacks > (n - 4) / IXPACK_MIN)
        return mm_error_set(MM_ECORRUPT, "index file: %zu packs cannot fit in %zu bytes", npacks,
                            n);
    /* first pass: the framing, and how many objects there are in all */
    for (size_t i = 0; i < npacks; i++) {
        size_t count;

        if (n - pos < IXPACK_MIN)
            return mm_error_set(MM_ECORRUPT, "index file: pack %zu: truncated", i);
        count = mm_get_le32(in + pos + ID_SIZE + 8);
        pos += IXPACK_MIN;
        if (count > (n - pos) / MM_REPO_PACK_ENTRY_SIZE)
            return mm_error_set(MM_ECORRUPT, "index file: pack %zu: table truncated", i);
        if (keep) /* only the objects asked for are decoded (and allocated) */
            for (size_t e = 0; e < count; e++)
                total += keep(in + pos + e * MM_REPO_PACK_ENTRY_SIZE, ctx) != 0;
        else
            total += count;
        pos += count * MM_REPO_PACK_ENTRY_SIZE;
    }
    if (pos != n)
        return mm_error_set(MM_ECORRUPT, "index file: %zu trailing bytes", n - pos);
    if (npacks > 0 && !(packs = mm_calloc(npacks, sizeof(*packs))))
        return MM_ENOMEM;
    if (total > 0 && !(objs = mm_malloc(total * sizeof(*objs)))) {
        err = MM_ENOMEM;
        goto out;
    }
    /* second pass: the values */
    pos = 4;
    for (size_t i = 0; i < npacks; i++) {
        struct mm_repo__packinfo *pk = &packs[i];

        memcpy(pk->id, in + pos, ID_SIZE);
        pk->size = mm_get_le64(in + pos + ID_SIZE);
        pk->nobjs = mm_get_le32(in + pos + ID_SIZE + 8);
        pk->objs = objs ? objs + k : NULL;
        pos += IXPACK_MIN;
        if (pk->size > MM_REPO_PACK_MAX) {
            err = mm_error_set(MM_ECORRUPT, "index file: pack %zu: size over the limit", i);
            goto out;
        }
        if (keep) {
            size_t count = pk->nobjs, kept = 0;
            for (size_t e = 0; e < count; e++)
                if (keep(in + pos + e * MM_REPO_PACK_ENTRY_SIZE, ctx))
                    objs_read(in + pos + e * MM_REPO_PACK_ENTRY_SIZE, 1, pk->objs + kept++);
            pk->nobjs = kept;
            pos += count * MM_REPO_PACK_ENTRY_SIZE;
        } else {
            objs_read(in + pos, pk->nobjs, pk->objs);
            pos += pk->nobjs * MM_REPO_PACK_ENTRY_SIZE;
        }
        if ((err = objs_check(pk->objs, pk->nobjs, pk->size, MM_ECORRUPT, "index file")) < 0)
            goto out;
        k += pk->nobjs;
    }
    if ((err = packs_dup(packs, npacks, &dup)) < 0)
        goto out;
    if (dup) {
        err = mm_error_set(MM_ECORRUPT, "index file: a pack is named twice");
        goto out;
    }
    *out = packs;
    *nout = npacks;
    return 0;
out:
    mm_free(objs);
    mm_free(packs);
    return err;
}

void mm_repo__ixfile_free(struct mm_repo__packinfo *p, size_t n)
{
    if (!p)
        return;
    if (n > 0)
        mm_free(p[0].objs);
    mm_free(p);
}
