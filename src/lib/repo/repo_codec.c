/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The byte codecs of the repository's records: trees, pack tables, index files and
 * generation manifests (layouts in repo_format.h and docs/format.md). Decoders treat their
 * input as hostile: every length is checked against the bytes left before it is used,
 * counts are bounded by what the input could hold, and allocations are proportional to the
 * input (a tree is one copy of its plaintext plus one entry array; an index file is one pack
 * array plus one object array). Encoders apply the same rules as the decoders, so what they
 * write always decodes, and every record has exactly one encoding (decode then encode gives
 * back the input), except that manifest readers skip unknown tags and counts fields longer
 * than they know. Encoders compute the size first and grow the buffer once, so on failure
 * the buffer's content is unchanged. Messages never hold names, paths or other content.
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
#define RECORD_HEAD 6u                             /* manifest record: le16 tag, le32 length */
#define COUNTS_SIZE 80u                            /* 10 le64 counters */
#define STRING_MAX  4096u                          /* manifest strings */
#define MODE_TYPE   0170000u                       /* the file type bits of a mode */
#define MODE_MAX    0177777u

_Static_assert(MM_REPO_PACK_ENTRY_SIZE == ID_SIZE + 1 + 3 * 4, "pack table entry size");
_Static_assert(ENTRY_MIN == 59, "smallest tree entry");
_Static_assert(sizeof(struct mm_repo_counts) == COUNTS_SIZE, "counts are ten uint64_t");
_Static_assert(MM_REPO_PACK_MAX <= UINT32_MAX, "pack offsets are 32-bit");

/* An int64 from its two's complement bits, without implementation-defined conversion. */
static int64_t to_i64(uint64_t v)
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
static const char *name_problem(const char *s, size_t n)
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
static int text_ok(const unsigned char *s, size_t n, int no_ctl)
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
    const char *why = name_problem(e->name, e->namelen);

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
    e->mtime_ns = to_i64(mm_get_le64(d + p + 20));
    e->ctime_ns = to_i64(mm_get_le64(d + p + 28));
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
    TAG_CHECK = 14,   /* patient-index check (le32 attention, le64 patients, le64 parent's) */
    TAG_STORAGE = 15, /* SS-MIX2 storage: u8 kind | u8 flags | path inside the generation */
    TAG_TWINS = 16,   /* the patient index blocks' twins: their IDs, in the blocks' order */
    TAG_VIEWER = 17,  /* the viewer's files on the medium (repo_viewer.c) */
    TAG_LAST = TAG_VIEWER
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
    if (!text_ok((const unsigned char *)s, len, !ctl_ok))
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
        if ((why = name_problem(p + i, k - i)) != NULL)
            return why;
        i = k + 1;
    }
    return NULL;
}

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
        if ((why = name_problem(s->name, s->name ? strlen(s->name) : 0)) != NULL)
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
    if (n > MM_REPO_MANIFEST_MAX)
        return mm_error_set(MM_ELIMIT, "manifest: %llu bytes, over the limit",
                            (unsigned long long)n);
    *size = n;
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
    if (!text_ok(v, n, tag != TAG_REASONS))
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
    if ((why = name_problem((const char *)v + 5 + plen, nlen)) != NULL)
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
        g->start_ns = to_i64(mm_get_le64(v));
        return 0;
    case TAG_END:
        g->end_ns = to_i64(mm_get_le64(v));
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
    memset(g, 0, sizeof(*g));
}

void mm_repo_gens_free(struct mm_repo_gen *g, size_t n)
{
    if (!g)
        return;
    for (size_t i = 0; i < n; i++)
        mm_repo_gen_release(&g[i]);
    mm_free(g);
}
