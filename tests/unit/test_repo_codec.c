/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the repository's record codecs (repo_format.h): trees, pack tables, index files
 * and generation manifests. Round trips of random records (seeded splitmix64) whose names
 * and paths hold '^', Japanese UTF-8 and bytes that are not UTF-8; every truncation of a
 * valid encoding rejected; every single-bit and several whole-byte changes either rejected
 * or decoded to something that encodes back to the changed bytes; hand-built encodings
 * (written here from the layout, not by the encoder) for each rule of the decoders;
 * encoders refusing what the decoders refuse and respecting buffer limits; allocation
 * failure at every allocation. Inputs are handed to decoders in exact-size heap copies,
 * so ASan sees any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/limits.h"
#include "repo/repo_format.h"

#define LIMIT     (64u * 1024u * 1024u)
#define TMAX      48 /* entries of a test tree */
#define TARGETMAX 80
#define NIDSMAX   4
#define SECRET    "PATIENT0001" /* a name that must never appear in a message */

/* ---- helpers ------------------------------------------------------------------------------- */

/* splitmix64: the test PRNG. */
static uint64_t sm64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Fill @p with @n PRNG bytes. */
static void fill(uint64_t *rng, void *p, size_t n)
{
    unsigned char *d = p;

    for (size_t i = 0; i < n; i++)
        d[i] = (unsigned char)sm64(rng);
}

/* An exact-size heap copy of @n bytes (freed by the caller). */
static unsigned char *dup_exact(const void *p, size_t n)
{
    unsigned char *d = malloc(n ? n : 1);

    assert_non_null(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

/* @n bytes of zeros that cost no memory until read (munmap). */
static void *lazy_zeros(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    assert_true(p != MAP_FAILED);
    return p;
}

static void put16(mm_buf *b, uint16_t v)
{
    unsigned char d[2];

    mm_put_le16(d, v);
    assert_int_equal(mm_buf_put(b, d, 2), 0);
}

static void put32(mm_buf *b, uint32_t v)
{
    unsigned char d[4];

    mm_put_le32(d, v);
    assert_int_equal(mm_buf_put(b, d, 4), 0);
}

static void put64(mm_buf *b, uint64_t v)
{
    unsigned char d[8];

    mm_put_le64(d, v);
    assert_int_equal(mm_buf_put(b, d, 8), 0);
}

static void putn(mm_buf *b, const void *p, size_t n)
{
    assert_int_equal(mm_buf_put(b, p, n), 0);
}

static void putc_(mm_buf *b, int c)
{
    assert_int_equal(mm_buf_putc(b, c), 0);
}

/* The message of the last error does not give away the test's secret name. */
static void assert_no_secret(void)
{
    assert_null(strstr(mm_error_last(), SECRET));
}

/* ---- trees: fixtures ----------------------------------------------------------------------- */

struct tfix {
    struct mm_repo__tree t;
    struct mm_repo__entry e[TMAX];
    char names[TMAX][MM_LIMIT_NAME];
    unsigned char ids[TMAX][NIDSMAX * ID_SIZE];
    char targets[TMAX][TARGETMAX];
};

/* Pieces of random names: ASCII, the HL7 '^', Japanese UTF-8, and bytes that are not UTF-8. */
static const char *const pieces[] = {
    "a",       "b",    "Z",    "0",    "9",    ".",        "-",    "_", " ",    "^",
    "ADT^A08", "患者", "検査", "\xff", "\x80", "\xe3\x81", "\x01", "~", SECRET,
};

/* A random valid entry name into @buf. @return its length */
static size_t random_name(uint64_t *rng, char *buf)
{
    size_t n = 0, k = 1 + sm64(rng) % 5;

    if (sm64(rng) % 16 == 0) { /* the longest name */
        for (; n < MM_LIMIT_NAME; n++)
            buf[n] = (char)('A' + sm64(rng) % 26);
        return n;
    }
    for (size_t i = 0; i < k; i++) {
        const char *p = pieces[sm64(rng) % (sizeof(pieces) / sizeof(pieces[0]))];
        size_t len = strlen(p);

        memcpy(buf + n, p, len);
        n += len;
    }
    if ((n == 1 && buf[0] == '.') || (n == 2 && buf[0] == '.' && buf[1] == '.'))
        buf[n++] = 'x';
    return n;
}

/* Order of entries by name bytes, then shorter first. */
static int entry_cmp(const void *a, const void *b)
{
    const struct mm_repo__entry *x = a, *y = b;
    size_t n = x->namelen < y->namelen ? x->namelen : y->namelen;
    int c = memcmp(x->name, y->name, n);

    if (c)
        return c;
    return (x->namelen > y->namelen) - (x->namelen < y->namelen);
}

/* A random valid tree of up to @max entries in @f. */
static void random_tree(uint64_t *rng, struct tfix *f, size_t max)
{
    static const uint32_t types[] = { 0, 0100000u, 0040000u, 0120000u };
    size_t n = max ? sm64(rng) % (max + 1) : 0, k = 0;

    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < n; i++) {
        struct mm_repo__entry *e = &f->e[i];

        e->name = f->names[i];
        e->namelen = (uint32_t)random_name(rng, f->names[i]);
        e->kind = (uint8_t)(1 + sm64(rng) % 3);
        e->mode = (uint32_t)(sm64(rng) & 07777);
        if (sm64(rng) & 1)
            e->mode |= types[e->kind];
        e->uid = (uint32_t)sm64(rng);
        e->gid = (uint32_t)sm64(rng);
        e->mtime_ns = (int64_t)(sm64(rng) >> 1) * ((sm64(rng) & 1) ? -1 : 1);
        e->ctime_ns = sm64(rng) % 8 == 0 ? INT64_MIN : (int64_t)(sm64(rng) >> 2);
        e->ino = sm64(rng);
        e->dev = sm64(rng) % 4 == 0 ? UINT64_MAX : sm64(rng);
        fill(rng, f->ids[i], sizeof(f->ids[i]));
        switch (e->kind) {
        case MM_REPO_KIND_FILE:
            e->nids = (uint32_t)(sm64(rng) % (NIDSMAX + 1));
            e->ids = e->nids ? f->ids[i] : NULL;
            e->size = e->nids ? 1 + sm64(rng) % (1ull << 40) : 0;
            break;
        case MM_REPO_KIND_DIR:
            e->nids = 1;
            e->ids = f->ids[i];
            e->size = sm64(rng) % 8192;
            break;
        default:
            e->targetlen = (uint32_t)(1 + sm64(rng) % (TARGETMAX - 1));
            for (size_t j = 0; j < e->targetlen; j++)
                f->targets[i][j] = (char)(1 + sm64(rng) % 255);
            e->target = f->targets[i];
            e->size = e->targetlen;
            break;
        }
    }
    qsort(f->e, n, sizeof(f->e[0]), entry_cmp);
    for (size_t i = 0; i < n; i++)
        if (k == 0 || entry_cmp(&f->e[k - 1], &f->e[i]) != 0)
            f->e[k++] = f->e[i];
    f->t.e = f->e;
    f->t.n = k;
}

static void assert_entry_equal(const struct mm_repo__entry *a, const struct mm_repo__entry *b)
{
    assert_int_equal(a->namelen, b->namelen);
    assert_memory_equal(a->name, b->name, a->namelen);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->uid, b->uid);
    assert_int_equal(a->gid, b->gid);
    assert_int_equal(a->size, b->size);
    assert_true(a->mtime_ns == b->mtime_ns);
    assert_true(a->ctime_ns == b->ctime_ns);
    assert_int_equal(a->ino, b->ino);
    assert_int_equal(a->dev, b->dev);
    switch (a->kind) {
    case MM_REPO_KIND_FILE:
        assert_int_equal(a->nids, b->nids);
        if (a->nids)
            assert_memory_equal(a->ids, b->ids, (size_t)a->nids * ID_SIZE);
        break;
    case MM_REPO_KIND_DIR:
        assert_int_equal(b->nids, 1);
        assert_memory_equal(a->ids, b->ids, ID_SIZE);
        break;
    default:
        assert_int_equal(a->targetlen, b->targetlen);
        assert_memory_equal(a->target, b->target, a->targetlen);
        break;
    }
}

static void assert_tree_equal(const struct mm_repo__tree *a, const struct mm_repo__tree *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_entry_equal(&a->e[i], &b->e[i]);
}

/* Decode @n bytes from an exact-size copy. OUT: @t */
static int tree_decode(const void *p, size_t n, struct mm_repo__tree *t)
{
    unsigned char *d = dup_exact(p, n);
    int rc = mm_repo__tree_decode(d, n, t);

    free(d);
    return rc;
}

/* Decode, release, and return the code. */
static int tree_try(const mm_buf *b)
{
    struct mm_repo__tree t = { NULL, 0, NULL };
    int rc = tree_decode(b->ptr, b->len, &t);

    mm_repo__tree_release(&t);
    return rc;
}

/* Encode @t into a fresh buffer. OUT: @b */
static void tree_encode_ok(const struct mm_repo__tree *t, mm_buf *b)
{
    mm_buf_init(b, LIMIT);
    assert_int_equal(mm_repo__tree_encode(t, b), 0);
}

/* Hand-built trees: header and entries written from the layout, independent of the encoder. */
static void raw_tree(mm_buf *b, const char *magic, uint32_t version, uint32_t count)
{
    mm_buf_init(b, LIMIT);
    putn(b, magic, 4);
    put32(b, version);
    put32(b, count);
}

/* The common part of a hand-built entry, up to the kind-specific tail. */
static void raw_head(mm_buf *b, int kind, const char *name, size_t namelen, uint32_t mode,
                     uint64_t size)
{
    putc_(b, kind);
    put16(b, (uint16_t)namelen);
    putn(b, name, namelen);
    put32(b, mode);
    put32(b, 1000);
    put32(b, 1000);
    put64(b, size);
    put64(b, (uint64_t)-5); /* mtime before 1970 */
    put64(b, 2);
    put64(b, 3);
    put64(b, 4);
}

static void raw_file(mm_buf *b, const char *name, uint64_t size, uint32_t nids)
{
    raw_head(b, MM_REPO_KIND_FILE, name, strlen(name), 0100644, size);
    put32(b, nids);
    for (uint32_t i = 0; i < nids * ID_SIZE; i++)
        putc_(b, (int)(i & 0xff));
}

static void raw_dir(mm_buf *b, const char *name)
{
    raw_head(b, MM_REPO_KIND_DIR, name, strlen(name), 0755, 0);
    for (int i = 0; i < (int)ID_SIZE; i++)
        putc_(b, 0xd0 + (i & 15));
}

static void raw_link(mm_buf *b, const char *name, const char *target, size_t tlen)
{
    raw_head(b, MM_REPO_KIND_SYMLINK, name, strlen(name), 0777, tlen);
    put16(b, (uint16_t)tlen);
    putn(b, target, tlen);
}

/* ---- trees: tests -------------------------------------------------------------------------- */

static void tree__roundtrip(void **state)
{
    static struct tfix f;
    uint64_t rng = 42;

    (void)state;
    for (int round = 0; round < 200; round++) {
        struct mm_repo__tree back = { NULL, 0, NULL };
        mm_buf b, again;

        random_tree(&rng, &f, round % 10 == 0 ? 0 : TMAX);
        tree_encode_ok(&f.t, &b);
        assert_int_equal(tree_decode(b.ptr, b.len, &back), 0);
        assert_tree_equal(&f.t, &back);
        /* entries point into the tree's own copy */
        for (size_t i = 0; i < back.n; i++)
            assert_true((const unsigned char *)back.e[i].name >= back.data &&
                        (const unsigned char *)back.e[i].name < back.data + b.len);
        tree_encode_ok(&back, &again);
        assert_int_equal(again.len, b.len);
        assert_memory_equal(again.ptr, b.ptr, b.len);
        mm_repo__tree_release(&back);
        assert_null(back.e);
        assert_null(back.data);
        assert_int_equal(back.n, 0);
        mm_buf_release(&b);
        mm_buf_release(&again);
    }
}

static void tree__raw_names_survive(void **state)
{
    /* sorted by bytes: '.' 0x2e < 'A' < '^' 0x5e < 0xe6 (患) < 0xff */
    static const char *const names[] = { "...",  ".a",       "ADT^A08^ADT_A01", "^",   "^^",
                                         "患者", "患者\xff", "\xfe\x80",        "\xff" };
    const size_t n = sizeof(names) / sizeof(names[0]);
    struct mm_repo__tree back = { NULL, 0, NULL };
    mm_buf b;

    (void)state;
    raw_tree(&b, "MMTR", 1, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        raw_file(&b, names[i], 0, 0);
    assert_int_equal(tree_decode(b.ptr, b.len, &back), 0);
    assert_int_equal(back.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(back.e[i].namelen, strlen(names[i]));
        assert_memory_equal(back.e[i].name, names[i], back.e[i].namelen);
        assert_true(back.e[i].mtime_ns == -5);
    }
    mm_repo__tree_release(&back);
    mm_buf_release(&b);
}

static void tree__truncations_rejected(void **state)
{
    static struct tfix f;
    uint64_t rng = 7;
    mm_buf b;

    (void)state;
    random_tree(&rng, &f, 12);
    tree_encode_ok(&f.t, &b);
    assert_true(f.t.n >= 2);
    for (size_t len = 0; len < b.len; len++) {
        struct mm_repo__tree t = { NULL, 0, NULL };

        assert_int_equal(tree_decode(b.ptr, len, &t), MM_ECORRUPT);
        assert_null(t.e);
        assert_null(t.data);
        assert_no_secret();
    }
    mm_buf_release(&b);
}

/* Decode @p with byte @i changed to @v: rejected, or it encodes back to the same bytes. */
static void tree_check_changed(const unsigned char *p, size_t n, size_t i, unsigned char v,
                               size_t *accepted)
{
    unsigned char *d = dup_exact(p, n);
    struct mm_repo__tree t = { NULL, 0, NULL };
    int rc;

    d[i] = v;
    rc = mm_repo__tree_decode(d, n, &t);
    if (rc == 0) {
        mm_buf again;

        tree_encode_ok(&t, &again);
        assert_int_equal(again.len, n);
        assert_memory_equal(again.ptr, d, n);
        mm_buf_release(&again);
        (*accepted)++;
    } else {
        assert_int_equal(rc, MM_ECORRUPT);
        assert_no_secret();
    }
    mm_repo__tree_release(&t);
    free(d);
}

static void tree__byte_flips(void **state)
{
    static struct tfix f;
    uint64_t rng = 99;
    size_t accepted = 0;
    mm_buf b;

    (void)state;
    random_tree(&rng, &f, 16);
    tree_encode_ok(&f.t, &b);
    for (size_t i = 0; i < b.len; i++) {
        unsigned char c = (unsigned char)b.ptr[i];

        for (int bit = 0; bit < 8; bit++)
            tree_check_changed((unsigned char *)b.ptr, b.len, i, (unsigned char)(c ^ (1u << bit)),
                               &accepted);
        tree_check_changed((unsigned char *)b.ptr, b.len, i, 0x00, &accepted);
        tree_check_changed((unsigned char *)b.ptr, b.len, i, 0xff, &accepted);
        tree_check_changed((unsigned char *)b.ptr, b.len, i, '/', &accepted);
    }
    assert_true(accepted > 0); /* flips in times, sizes, ids are fine */
    mm_buf_release(&b);
}

static void tree__rejects_bad_names(void **state)
{
    char longname[MM_LIMIT_NAME + 2];
    struct {
        const char *name;
        size_t len;
        const char *why;
    } bad[] = {
        { "", 0, "name length" },
        { ".", 1, "dot" },
        { "..", 2, "dot" },
        { "a/b", 3, "slash" },
        { "/", 1, "slash" },
        { "a\0b", 3, "nul" },
        { longname, 256, "name length" },
    };

    (void)state;
    memset(longname, 'n', sizeof(longname));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mm_buf b;

        raw_tree(&b, "MMTR", 1, 1);
        raw_head(&b, MM_REPO_KIND_FILE, bad[i].name, bad[i].len, 0644, 0);
        put32(&b, 0);
        assert_int_equal(tree_try(&b), MM_ECORRUPT);
        assert_non_null(strstr(mm_error_last(), bad[i].why));
        mm_buf_release(&b);
    }
    /* the longest name is fine */
    {
        mm_buf b;

        raw_tree(&b, "MMTR", 1, 1);
        raw_head(&b, MM_REPO_KIND_FILE, longname, MM_LIMIT_NAME, 0644, 0);
        put32(&b, 0);
        assert_int_equal(tree_try(&b), 0);
        mm_buf_release(&b);
    }
}

static void tree__rejects_unsorted(void **state)
{
    static const char *const orders[][2] = {
        { "b", "a" }, { "ab", "a" }, { "\xff", "~" }, { "患者", "^" }, { SECRET "2", SECRET "1" },
    };
    mm_buf b;

    (void)state;
    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
        raw_tree(&b, "MMTR", 1, 2);
        raw_file(&b, orders[i][0], 0, 0);
        raw_dir(&b, orders[i][1]);
        assert_int_equal(tree_try(&b), MM_ECORRUPT);
        assert_non_null(strstr(mm_error_last(), "entry 1: name not in order"));
        assert_no_secret();
        mm_buf_release(&b);
        /* the other way round is fine */
        raw_tree(&b, "MMTR", 1, 2);
        raw_file(&b, orders[i][1], 0, 0);
        raw_dir(&b, orders[i][0]);
        assert_int_equal(tree_try(&b), 0);
        mm_buf_release(&b);
    }
}

static void tree__rejects_duplicate_names(void **state)
{
    mm_buf b;

    (void)state;
    raw_tree(&b, "MMTR", 1, 3);
    raw_file(&b, "A", 0, 0);
    raw_file(&b, SECRET, 0, 0);
    raw_dir(&b, SECRET);
    assert_int_equal(tree_try(&b), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "entry 2: name not in order"));
    assert_no_secret();
    mm_buf_release(&b);
}

static void tree__rejects_bad_header(void **state)
{
    mm_buf b;

    (void)state;
    raw_tree(&b, "MMTX", 1, 0);
    assert_int_equal(tree_try(&b), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "magic"));
    mm_buf_release(&b);
    raw_tree(&b, "MMTR", 2, 0);
    assert_int_equal(tree_try(&b), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "unknown version 2"));
    mm_buf_release(&b);
    raw_tree(&b, "MMTR", 0, 0);
    assert_int_equal(tree_try(&b), MM_ECORRUPT);
    mm_buf_release(&b);
    /* an empty folder */
    raw_tree(&b, "MMTR", 1, 0);
    assert_int_equal(tree_try(&b), 0);
    /* trailing bytes */
    putc_(&b, 0);
    assert_int_equal(tree_try(&b), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "trailing"));
    mm_buf_release(&b);
}

static void tree__rejects_count_too_large(void **state)
{
    static const uint32_t counts[] = { 2, 3, 1000, 0x7fffffff, 0xffffffff };
    mm_buf b;

    (void)state;
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        raw_tree(&b, "MMTR", 1, counts[i]);
        raw_link(&b, "l", "t", 1); /* the smallest entry */
        if (counts[i] == 2) {      /* room for two, but the second is zeros (kind 0) */
            for (int j = 0; j < 60; j++)
                putc_(&b, 0);
        }
        assert_int_equal(tree_try(&b), MM_ECORRUPT);
        mm_buf_release(&b);
    }
    /* the count check is exact for the smallest entries */
    raw_tree(&b, "MMTR", 1, 2);
    raw_link(&b, "a", "t", 1);
    raw_link(&b, "b", "t", 1);
    assert_int_equal(b.len, 12 + 2 * 59);
    assert_int_equal(tree_try(&b), 0);
    mm_buf_release(&b);
}

static void tree__rejects_bad_entries(void **state)
{
    char target[MM_LIMIT_PATH + 1];
    mm_buf b;

    (void)state;
    memset(target, 't', sizeof(target));
    /* unknown kinds */
    for (int kind = 0; kind < 256; kind += (kind == 0 ? 4 : 51)) {
        raw_tree(&b, "MMTR", 1, 1);
        raw_head(&b, kind, "k", 1, 0644, 0);
        put32(&b, 0);
        putn(&b, target, 32);
        assert_int_equal(tree_try(&b), MM_ECORRUPT);
        assert_non_null(strstr(mm_error_last(), "kind"));
        mm_buf_release(&b);
    }
    /* a file with data needs ids; an empty one may have some or none */
    raw_tree(&b, "MMTR", 1, 1);
    raw_file(&b, "f", 10, 0);
    assert_int_equal(tree_try(&b), MM_ECORRUPT);
    mm_buf_release(&b);
    raw_tree(&b, "MMTR", 1, 3);
    raw_file(&b, "e", 0, 0);
    raw_file(&b, "f", 0, 1);
    raw_file(&b, "g", 1ull << 40, 3);
    assert_int_equal(tree_try(&b), 0);
    mm_buf_release(&b);
    /* ids past the end, including counts whose byte size overflows 32 bits */
    static const uint32_t nids[] = { 2, 0x08000000, 0x08000001, 0xffffffff };
    for (size_t i = 0; i < sizeof(nids) / sizeof(nids[0]); i++) {
        raw_tree(&b, "MMTR", 1, 1);
        raw_head(&b, MM_REPO_KIND_FILE, "f", 1, 0644, 1);
        put32(&b, nids[i]);
        putn(&b, target, 32);
        assert_int_equal(tree_try(&b), MM_ECORRUPT);
        mm_buf_release(&b);
    }
    /* link targets: 1..4095 bytes without NUL */
    raw_tree(&b, "MMTR", 1, 1);
    raw_link(&b, "l", target, 0);
    putn(&b, target, 8); /* keep the count check out of the way */
    assert_int_equal(tree_try(&b), MM_ECORRUPT);
    mm_buf_release(&b);
    raw_tree(&b, "MMTR", 1, 1);
    raw_link(&b, "l", target, MM_LIMIT_PATH);
    assert_int_equal(tree_try(&b), MM_ECORRUPT);
    mm_buf_release(&b);
    raw_tree(&b, "MMTR", 1, 1);
    raw_link(&b, "l", "a\0b", 3);
    assert_int_equal(tree_try(&b), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "nul"));
    mm_buf_release(&b);
    raw_tree(&b, "MMTR", 1, 1);
    raw_link(&b, "l", target, MM_LIMIT_PATH - 1);
    assert_int_equal(tree_try(&b), 0);
    mm_buf_release(&b);
    /* a folder's id cut short */
    raw_tree(&b, "MMTR", 1, 1);
    raw_head(&b, MM_REPO_KIND_DIR, "d", 1, 0755, 0);
    putn(&b, target, ID_SIZE - 1);
    assert_int_equal(tree_try(&b), MM_ECORRUPT);
    mm_buf_release(&b);
}

static void tree__mode_fits_kind(void **state)
{
    static const struct {
        int kind;
        uint32_t mode;
        int ok;
    } cases[] = {
        { MM_REPO_KIND_FILE, 0100644, 1 },    { MM_REPO_KIND_FILE, 0644, 1 },
        { MM_REPO_KIND_FILE, 0104755, 1 },    { MM_REPO_KIND_FILE, 0040644, 0 },
        { MM_REPO_KIND_FILE, 0200644, 0 },    { MM_REPO_KIND_DIR, 0040755, 1 },
        { MM_REPO_KIND_DIR, 0120777, 0 },     { MM_REPO_KIND_SYMLINK, 0120777, 1 },
        { MM_REPO_KIND_SYMLINK, 0100777, 0 }, { MM_REPO_KIND_FILE, 0xffffffff, 0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mm_buf b;

        raw_tree(&b, "MMTR", 1, 1);
        raw_head(&b, cases[i].kind, "m", 1, cases[i].mode, 0);
        if (cases[i].kind == MM_REPO_KIND_FILE)
            put32(&b, 0);
        else if (cases[i].kind == MM_REPO_KIND_DIR)
            putn(&b, "0123456789abcdef0123456789abcdef", ID_SIZE);
        else
            putn(&b, "\x01\x00x", 3);
        assert_int_equal(tree_try(&b), cases[i].ok ? 0 : MM_ECORRUPT);
        mm_buf_release(&b);
    }
}

static void tree__over_limit_rejected(void **state)
{
    size_t n = (size_t)MM_REPO_TREE_MAX + 1;
    void *big = lazy_zeros(n);
    struct mm_repo__tree t = { NULL, 0, NULL };

    (void)state;
    assert_int_equal(mm_repo__tree_decode(big, n, &t), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "limit"));
    munmap(big, n);
}

/* Encoding @t into a buffer holding "prefix" fails with @code and leaves it as it was. */
static void tree_encode_fails(const struct mm_repo__tree *t, int code, size_t limit)
{
    mm_buf b;

    mm_buf_init(&b, limit);
    assert_int_equal(mm_buf_puts(&b, "prefix"), 0);
    assert_int_equal(mm_repo__tree_encode(t, &b), code);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.ptr, "prefix");
    assert_no_secret();
    mm_buf_release(&b);
}

static void tree__encode_refuses_invalid(void **state)
{
    static const unsigned char id[ID_SIZE];
    struct mm_repo__entry e[2];
    struct mm_repo__tree t = { e, 1, NULL };
    struct mm_repo__entry ok = {
        .name = SECRET,
        .namelen = sizeof(SECRET) - 1,
        .kind = MM_REPO_KIND_FILE,
        .mode = 0644,
    };

    (void)state;
    e[0] = ok;
    {
        mm_buf b;

        mm_buf_init(&b, LIMIT);
        assert_int_equal(mm_repo__tree_encode(&t, &b), 0);
        mm_buf_release(&b);
    }
    e[0].namelen = 0;
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    e[0] = ok, e[0].name = "..", e[0].namelen = 2;
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    e[0] = ok, e[0].name = "a/b", e[0].namelen = 3;
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    e[0] = ok, e[0].namelen = MM_LIMIT_NAME + 1;
    e[0].name = "0123456789012345678901234567890123456789012345678901234567890123456789"
                "0123456789012345678901234567890123456789012345678901234567890123456789"
                "0123456789012345678901234567890123456789012345678901234567890123456789"
                "0123456789012345678901234567890123456789012345678901234567890123456789";
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    e[0] = ok, e[0].kind = 4;
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    e[0] = ok, e[0].size = 1; /* data without ids */
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    e[0] = ok, e[0].nids = 1; /* ids missing */
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    e[0] = ok, e[0].mode = 0040644;
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    e[0] = ok, e[0].kind = MM_REPO_KIND_DIR, e[0].ids = id; /* nids must be 1 */
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    e[0].nids = 1, e[0].ids = NULL;
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    e[0] = ok, e[0].kind = MM_REPO_KIND_SYMLINK; /* no target */
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    e[0].target = "a\0b", e[0].targetlen = 3;
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    /* order: duplicates and unsorted */
    e[0] = ok, e[1] = ok, t.n = 2;
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    assert_non_null(strstr(mm_error_last(), "entry 1: name not in order"));
    e[1].namelen--; /* a prefix sorts first */
    tree_encode_fails(&t, MM_EINVAL, LIMIT);
    e[0].namelen--, e[1].namelen++;
    {
        mm_buf b;

        mm_buf_init(&b, LIMIT);
        assert_int_equal(mm_repo__tree_encode(&t, &b), 0);
        mm_buf_release(&b);
    }
}

static void tree__encode_respects_limit(void **state)
{
    static struct tfix f;
    uint64_t rng = 5;
    mm_buf b, full;
    size_t n;

    (void)state;
    random_tree(&rng, &f, 10);
    tree_encode_ok(&f.t, &full);
    n = full.len;
    tree_encode_fails(&f.t, MM_ELIMIT, 6 + n - 1);
    mm_buf_init(&b, 6 + n);
    assert_int_equal(mm_buf_puts(&b, "prefix"), 0);
    assert_int_equal(mm_repo__tree_encode(&f.t, &b), 0);
    assert_int_equal(b.len, 6 + n);
    assert_memory_equal(b.ptr + 6, full.ptr, n);
    mm_buf_release(&b);
    mm_buf_release(&full);
    /* a tree over MM_REPO_TREE_MAX is refused before its ids are read */
    {
        size_t nids = MM_REPO_TREE_MAX / ID_SIZE;
        void *ids = lazy_zeros(nids * ID_SIZE);
        struct mm_repo__entry e = { .name = "big",
                                    .namelen = 3,
                                    .kind = MM_REPO_KIND_FILE,
                                    .size = 1,
                                    .ids = ids,
                                    .nids = (uint32_t)nids };
        struct mm_repo__tree t = { &e, 1, NULL };

        tree_encode_fails(&t, MM_ELIMIT, SIZE_MAX);
        e.nids++;
        tree_encode_fails(&t, MM_EINVAL, SIZE_MAX);
        munmap(ids, nids * ID_SIZE);
    }
}

static void tree__alloc_failure(void **state)
{
    static struct tfix f;
    uint64_t rng = 11;
    mm_buf b;
    long k;
    int rc;

    (void)state;
    mm_alloc_track(1); /* exact, unlike glibc's heap statistics: see common/alloc.h */
    random_tree(&rng, &f, 8);
    tree_encode_ok(&f.t, &b);
    for (k = 1;; k++) {
        struct mm_repo__tree t = { NULL, 0, NULL };

        mm_alloc_fail_at(k, 0);
        rc = mm_repo__tree_decode(b.ptr, b.len, &t);
        mm_alloc_fail_at(0, 0);
        if (rc == 0) {
            assert_tree_equal(&f.t, &t);
            mm_repo__tree_release(&t);
            break;
        }
        assert_int_equal(rc, MM_ENOMEM);
        assert_null(t.e);
        assert_null(t.data);
    }
    assert_int_equal(k, f.t.n ? 3 : 2); /* the copy and the entries */
    for (k = 1;; k++) {
        mm_buf e;

        mm_buf_init(&e, LIMIT);
        mm_alloc_fail_at(k, 0);
        rc = mm_repo__tree_encode(&f.t, &e);
        mm_alloc_fail_at(0, 0);
        if (rc == 0) {
            assert_int_equal(e.len, b.len);
            mm_buf_release(&e);
            break;
        }
        assert_int_equal(rc, MM_ENOMEM);
        assert_int_equal(e.len, 0);
        mm_buf_release(&e);
    }
    mm_buf_release(&b);
    assert_int_equal(mm_alloc_live(), 0); /* every path freed all it allocated */
    mm_alloc_track(0);
}

/* ---- pack tables --------------------------------------------------------------------------- */

/* @n random valid objects into @o, packed from offset 8 with random gaps. @return the end */
static uint64_t random_objs(uint64_t *rng, struct mm_repo__obj *o, size_t n)
{
    uint64_t off = 8;

    for (size_t i = 0; i < n; i++) {
        fill(rng, o[i].id, ID_SIZE);
        o[i].type = (uint8_t)(1 + sm64(rng) % 2);
        off += sm64(rng) % 4 == 0 ? sm64(rng) % 100 : 0;
        o[i].offset = (uint32_t)off;
        o[i].length = (uint32_t)(MM_CRYPTO_SEAL_OVERHEAD + 1 + sm64(rng) % 70000);
        o[i].plain = (uint32_t)(sm64(rng) % 4 == 0 ? MM_REPO_OBJECT_MAX : sm64(rng) % 100000);
        off += o[i].length;
    }
    return off;
}

static void assert_objs_equal(const struct mm_repo__obj *a, const struct mm_repo__obj *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal(a[i].id, b[i].id, ID_SIZE);
        assert_int_equal(a[i].type, b[i].type);
        assert_int_equal(a[i].offset, b[i].offset);
        assert_int_equal(a[i].length, b[i].length);
        assert_int_equal(a[i].plain, b[i].plain);
    }
}

/* Decode a pack table from an exact-size copy and free the result. */
static int packtab_try(const void *p, size_t n, uint64_t data_end)
{
    unsigned char *d = dup_exact(p, n);
    struct mm_repo__obj *o = NULL;
    size_t no = 0;
    int rc = mm_repo__packtab_decode(d, n, data_end, &o, &no);

    free(o);
    free(d);
    return rc;
}

/* A hand-built pack table entry. */
static void raw_obj(mm_buf *b, int type, uint32_t offset, uint32_t length, uint32_t plain)
{
    for (int i = 0; i < (int)ID_SIZE; i++)
        putc_(b, 0xa0 + i);
    putc_(b, type);
    put32(b, offset);
    put32(b, length);
    put32(b, plain);
}

static void packtab__roundtrip(void **state)
{
    struct mm_repo__obj o[64], *back = NULL;
    uint64_t rng = 3;

    (void)state;
    for (int round = 0; round < 100; round++) {
        size_t n = sm64(&rng) % 65, nback = 99;
        uint64_t end = random_objs(&rng, o, n);
        mm_buf b, again;

        mm_buf_init(&b, LIMIT);
        mm_buf_init(&again, LIMIT);
        assert_int_equal(mm_repo__packtab_encode(o, n, &b), 0);
        assert_int_equal(b.len, 4 + n * MM_REPO_PACK_ENTRY_SIZE);
        assert_int_equal(mm_repo__packtab_decode(b.ptr, b.len, end, &back, &nback), 0);
        assert_int_equal(nback, n);
        assert_objs_equal(o, back, n);
        assert_int_equal(mm_repo__packtab_encode(back, nback, &again), 0);
        assert_int_equal(again.len, b.len);
        assert_memory_equal(again.ptr, b.ptr, b.len);
        /* one byte less of pack and the last object does not fit */
        if (n > 0)
            assert_int_equal(packtab_try(b.ptr, b.len, end - 1), MM_ECORRUPT);
        free(back);
        back = NULL;
        mm_buf_release(&b);
        mm_buf_release(&again);
    }
}

static void packtab__truncations_and_flips(void **state)
{
    struct mm_repo__obj o[5];
    uint64_t rng = 8, end;
    size_t accepted = 0;
    mm_buf b;

    (void)state;
    end = random_objs(&rng, o, 5);
    mm_buf_init(&b, LIMIT);
    assert_int_equal(mm_repo__packtab_encode(o, 5, &b), 0);
    for (size_t len = 0; len < b.len; len++)
        assert_int_equal(packtab_try(b.ptr, len, end), MM_ECORRUPT);
    for (size_t i = 0; i < b.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            unsigned char *d = dup_exact(b.ptr, b.len);
            struct mm_repo__obj *back = NULL;
            size_t nback = 0;
            int rc;

            d[i] ^= (unsigned char)(1u << bit);
            rc = mm_repo__packtab_decode(d, b.len, end, &back, &nback);
            if (rc == 0) {
                mm_buf again;

                mm_buf_init(&again, LIMIT);
                assert_int_equal(mm_repo__packtab_encode(back, nback, &again), 0);
                assert_int_equal(again.len, b.len);
                assert_memory_equal(again.ptr, d, b.len);
                mm_buf_release(&again);
                accepted++;
            } else {
                assert_int_equal(rc, MM_ECORRUPT);
            }
            free(back);
            free(d);
        }
    assert_true(accepted > 0);
    mm_buf_release(&b);
}

static void packtab__rejects(void **state)
{
    static const struct {
        int type;
        uint32_t off1, len1, off2, len2, plain;
        uint64_t end;
        int ok;
        const char *why;
    } cases[] = {
        /* adjacent objects, the last ending exactly at the end: fine */
        { 1, 8, 41, 49, 100, 0, 149, 1, NULL },
        { 2, 8, 41, 49, 100, MM_REPO_OBJECT_MAX, 149, 1, NULL },
        { 1, 8, 41, 49, 100, 0, 148, 0, "past the end" },
        { 1, 8, 41, 48, 100, 0, 1000, 0, "overlaps" },
        { 1, 100, 41, 8, 41, 0, 1000, 0, "overlaps" }, /* not in offset order */
        { 1, 8, 41, 8, 41, 0, 1000, 0, "overlaps" },   /* the same place twice */
        { 0, 8, 41, 49, 41, 0, 1000, 0, "type" },
        { 3, 8, 41, 49, 41, 0, 1000, 0, "type" },
        { 1, 7, 41, 49, 41, 0, 1000, 0, "header" },
        { 1, 0, 41, 49, 41, 0, 1000, 0, "header" },
        { 1, 8, 40, 49, 41, 0, 1000, 0, "shorter" },
        { 1, 8, 0, 49, 41, 0, 1000, 0, "shorter" },
        { 1, 8, 41, 49, 41, MM_REPO_OBJECT_MAX + 1, 1000, 0, "plain" },
        /* offset + length past the end, and past 2^32 where 32-bit math would wrap */
        { 1, 8, 41, 0xfffffff0u, 0x30, 0, 1u << 20, 0, "past the end" },
        { 1, 8, 41, 49, 0xffffffffu, 0, 1u << 20, 0, "past the end" },
        { 1, 8, 41, 0xffffffffu, 0xffffffffu, 0, UINT32_MAX, 0, "past the end" },
        { 1, 8, 41, 0xffffffffu, 41, 0, UINT64_MAX, 1, NULL },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mm_buf b;

        mm_buf_init(&b, LIMIT);
        put32(&b, 2);
        raw_obj(&b, 1, cases[i].off1, cases[i].len1, 5);
        raw_obj(&b, cases[i].type, cases[i].off2, cases[i].len2, cases[i].plain);
        assert_int_equal(packtab_try(b.ptr, b.len, cases[i].end), cases[i].ok ? 0 : MM_ECORRUPT);
        if (!cases[i].ok && !strstr(mm_error_last(), cases[i].why))
            fail_msg("case %zu: %s", i, mm_error_last());
        mm_buf_release(&b);
    }
}

static void packtab__rejects_bad_count(void **state)
{
    static const uint32_t counts[] = { 0, 1, 3, 0x05b05b06, 0xffffffff };
    mm_buf b;

    (void)state;
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        mm_buf_init(&b, LIMIT);
        put32(&b, counts[i]);
        raw_obj(&b, 1, 8, 41, 1);
        raw_obj(&b, 1, 49, 41, 1);
        assert_int_equal(packtab_try(b.ptr, b.len, 1000), MM_ECORRUPT);
        mm_buf_release(&b);
    }
    /* an empty table is fine */
    mm_buf_init(&b, LIMIT);
    put32(&b, 0);
    assert_int_equal(packtab_try(b.ptr, b.len, 8), 0);
    mm_buf_release(&b);
}

static void packtab__encode_refuses_invalid(void **state)
{
    struct mm_repo__obj o[3];
    uint64_t rng = 1;
    mm_buf b;

    (void)state;
    random_objs(&rng, o, 3);
    mm_buf_init(&b, LIMIT);
    o[1].offset = o[0].offset; /* overlap */
    assert_int_equal(mm_repo__packtab_encode(o, 3, &b), MM_EINVAL);
    random_objs(&rng, o, 3);
    o[2].type = 9;
    assert_int_equal(mm_repo__packtab_encode(o, 3, &b), MM_EINVAL);
    random_objs(&rng, o, 3);
    o[0].length = 40;
    assert_int_equal(mm_repo__packtab_encode(o, 3, &b), MM_EINVAL);
    assert_int_equal(b.len, 0);
    mm_buf_release(&b);
    /* the limit */
    random_objs(&rng, o, 3);
    mm_buf_init(&b, 4 + 3 * MM_REPO_PACK_ENTRY_SIZE - 1);
    assert_int_equal(mm_repo__packtab_encode(o, 3, &b), MM_ELIMIT);
    assert_int_equal(b.len, 0);
    mm_buf_release(&b);
    mm_buf_init(&b, 4 + 3 * MM_REPO_PACK_ENTRY_SIZE);
    assert_int_equal(mm_repo__packtab_encode(o, 3, &b), 0);
    mm_buf_release(&b);
}

/* ---- index files --------------------------------------------------------------------------- */

#define PMAX 12

struct pfix {
    struct mm_repo__packinfo p[PMAX];
    struct mm_repo__obj o[PMAX][16];
    size_t n;
};

/* A random valid index file in @f. */
static void random_packs(uint64_t *rng, struct pfix *f, size_t max)
{
    memset(f, 0, sizeof(*f));
    f->n = sm64(rng) % (max + 1);
    for (size_t i = 0; i < f->n; i++) {
        size_t n = sm64(rng) % 4 == 0 ? 0 : sm64(rng) % 17;
        uint64_t end = random_objs(rng, f->o[i], n);

        fill(rng, f->p[i].id, ID_SIZE);
        f->p[i].objs = f->o[i];
        f->p[i].nobjs = n;
        f->p[i].size = end + sm64(rng) % 200;
    }
}

static void assert_packs_equal(const struct mm_repo__packinfo *a, const struct mm_repo__packinfo *b,
                               size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal(a[i].id, b[i].id, ID_SIZE);
        assert_int_equal(a[i].size, b[i].size);
        assert_int_equal(a[i].nobjs, b[i].nobjs);
        assert_objs_equal(a[i].objs, b[i].objs, a[i].nobjs);
    }
}

/* Decode an index file from an exact-size copy and free the result. */
static int ixfile_try(const void *p, size_t n)
{
    unsigned char *d = dup_exact(p, n);
    struct mm_repo__packinfo *pk = NULL;
    size_t np = 0;
    int rc = mm_repo__ixfile_decode(d, n, &pk, &np);

    mm_repo__ixfile_free(pk, np);
    free(d);
    return rc;
}

static void ixfile__roundtrip(void **state)
{
    static struct pfix f;
    uint64_t rng = 17;

    (void)state;
    for (int round = 0; round < 100; round++) {
        struct mm_repo__packinfo *back = NULL;
        size_t nback = 99, k = 0;
        mm_buf b, again;

        random_packs(&rng, &f, PMAX);
        mm_buf_init(&b, LIMIT);
        mm_buf_init(&again, LIMIT);
        assert_int_equal(mm_repo__ixfile_encode(f.p, f.n, &b), 0);
        assert_int_equal(mm_repo__ixfile_decode(b.ptr, b.len, &back, &nback), 0);
        assert_int_equal(nback, f.n);
        assert_packs_equal(f.p, back, f.n);
        /* every pack's objects lie in the one allocation of the first */
        for (size_t i = 0; i < nback; i++) {
            if (back[i].nobjs)
                assert_ptr_equal(back[i].objs, back[0].objs + k);
            k += back[i].nobjs;
        }
        assert_int_equal(mm_repo__ixfile_encode(back, nback, &again), 0);
        assert_int_equal(again.len, b.len);
        assert_memory_equal(again.ptr, b.ptr, b.len);
        mm_repo__ixfile_free(back, nback);
        mm_buf_release(&b);
        mm_buf_release(&again);
    }
    mm_repo__ixfile_free(NULL, 0);
}

static void ixfile__truncations_and_flips(void **state)
{
    static struct pfix f;
    uint64_t rng = 23;
    size_t accepted = 0;
    mm_buf b;

    (void)state;
    do
        random_packs(&rng, &f, 4);
    while (f.n < 3);
    mm_buf_init(&b, LIMIT);
    assert_int_equal(mm_repo__ixfile_encode(f.p, f.n, &b), 0);
    for (size_t len = 0; len < b.len; len++)
        assert_int_equal(ixfile_try(b.ptr, len), MM_ECORRUPT);
    for (size_t i = 0; i < b.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            unsigned char *d = dup_exact(b.ptr, b.len);
            struct mm_repo__packinfo *back = NULL;
            size_t nback = 0;
            int rc;

            d[i] ^= (unsigned char)(1u << bit);
            rc = mm_repo__ixfile_decode(d, b.len, &back, &nback);
            if (rc == 0) {
                mm_buf again;

                mm_buf_init(&again, LIMIT);
                assert_int_equal(mm_repo__ixfile_encode(back, nback, &again), 0);
                assert_int_equal(again.len, b.len);
                assert_memory_equal(again.ptr, d, b.len);
                mm_buf_release(&again);
                accepted++;
            } else {
                assert_int_equal(rc, MM_ECORRUPT);
            }
            mm_repo__ixfile_free(back, nback);
            free(d);
        }
    assert_true(accepted > 0);
    mm_buf_release(&b);
}

/* A hand-built pack of an index file with one object at @off of @len bytes. */
static void raw_pack(mm_buf *b, int idbyte, uint64_t size, uint32_t off, uint32_t len)
{
    for (int i = 0; i < (int)ID_SIZE; i++)
        putc_(b, idbyte);
    put64(b, size);
    put32(b, 1);
    raw_obj(b, 1, off, len, 1);
}

static void ixfile__rejects(void **state)
{
    mm_buf b;

    (void)state;
    /* the same pack twice, not next to each other */
    mm_buf_init(&b, LIMIT);
    put32(&b, 3);
    raw_pack(&b, 1, 100, 8, 41);
    raw_pack(&b, 2, 100, 8, 41);
    raw_pack(&b, 1, 200, 8, 41);
    assert_int_equal(ixfile_try(b.ptr, b.len), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "twice"));
    mm_buf_release(&b);
    /* an object past its pack's size, each pack's table judged by its own size */
    mm_buf_init(&b, LIMIT);
    put32(&b, 2);
    raw_pack(&b, 1, 1000, 900, 100);
    raw_pack(&b, 2, 999, 900, 100);
    assert_int_equal(ixfile_try(b.ptr, b.len), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "past the end"));
    mm_buf_release(&b);
    /* a pack over MM_REPO_PACK_MAX */
    mm_buf_init(&b, LIMIT);
    put32(&b, 1);
    raw_pack(&b, 1, (uint64_t)MM_REPO_PACK_MAX + 1, 8, 41);
    assert_int_equal(ixfile_try(b.ptr, b.len), MM_ECORRUPT);
    mm_buf_release(&b);
    mm_buf_init(&b, LIMIT);
    put32(&b, 1);
    raw_pack(&b, 1, MM_REPO_PACK_MAX, 8, 41);
    assert_int_equal(ixfile_try(b.ptr, b.len), 0);
    /* trailing bytes; pack counts the input cannot hold */
    putc_(&b, 0);
    assert_int_equal(ixfile_try(b.ptr, b.len), MM_ECORRUPT);
    mm_buf_release(&b);
    static const uint32_t counts[] = { 2, 1000, 0xffffffff };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        mm_buf_init(&b, LIMIT);
        put32(&b, counts[i]);
        raw_pack(&b, 1, 100, 8, 41);
        assert_int_equal(ixfile_try(b.ptr, b.len), MM_ECORRUPT);
        mm_buf_release(&b);
    }
    /* a table count past the end */
    mm_buf_init(&b, LIMIT);
    put32(&b, 1);
    for (int i = 0; i < (int)ID_SIZE; i++)
        putc_(&b, 1);
    put64(&b, 100);
    put32(&b, 0xffffffff);
    raw_obj(&b, 1, 8, 41, 1);
    assert_int_equal(ixfile_try(b.ptr, b.len), MM_ECORRUPT);
    mm_buf_release(&b);
    /* empty files and packs are fine */
    mm_buf_init(&b, LIMIT);
    put32(&b, 0);
    assert_int_equal(ixfile_try(b.ptr, b.len), 0);
    mm_buf_release(&b);
}

static void ixfile__over_limit_rejected(void **state)
{
    size_t n = (size_t)MM_REPO_IXFILE_MAX + 1;
    void *big = lazy_zeros(n);
    struct mm_repo__packinfo *p = NULL;
    size_t np = 0;

    (void)state;
    assert_int_equal(mm_repo__ixfile_decode(big, n, &p, &np), MM_ECORRUPT);
    assert_null(p);
    munmap(big, n);
}

static void ixfile__encode_refuses_invalid(void **state)
{
    static struct pfix f;
    uint64_t rng = 31;
    mm_buf b;

    (void)state;
    do
        random_packs(&rng, &f, 4);
    while (f.n < 2 || f.p[1].nobjs == 0);
    mm_buf_init(&b, LIMIT);
    memcpy(f.p[1].id, f.p[0].id, ID_SIZE);
    assert_int_equal(mm_repo__ixfile_encode(f.p, f.n, &b), MM_EINVAL);
    f.p[1].id[0] ^= 1;
    f.p[1].size = 8; /* its objects no longer fit */
    assert_int_equal(mm_repo__ixfile_encode(f.p, f.n, &b), MM_EINVAL);
    f.p[1].size = (uint64_t)MM_REPO_PACK_MAX + 1;
    assert_int_equal(mm_repo__ixfile_encode(f.p, f.n, &b), MM_EINVAL);
    f.p[1].size = MM_REPO_PACK_MAX;
    f.p[1].objs = NULL;
    assert_int_equal(mm_repo__ixfile_encode(f.p, f.n, &b), MM_EINVAL);
    f.p[1].objs = f.o[1];
    f.p[1].nobjs = MM_REPO_PACK_MAX;
    assert_int_equal(mm_repo__ixfile_encode(f.p, f.n, &b), MM_EINVAL);
    f.p[1].nobjs = 1;
    assert_int_equal(b.len, 0);
    assert_int_equal(mm_repo__ixfile_encode(f.p, f.n, &b), 0);
    /* the limit: one byte short fails and leaves the buffer alone */
    {
        mm_buf c;

        mm_buf_init(&c, b.len - 1);
        assert_int_equal(mm_repo__ixfile_encode(f.p, f.n, &c), MM_ELIMIT);
        assert_int_equal(c.len, 0);
        mm_buf_release(&c);
    }
    mm_buf_release(&b);
}

static void ixfile__alloc_failure(void **state)
{
    static struct pfix f;
    uint64_t rng = 37;
    size_t total = 0;
    mm_buf b;
    long k;
    int rc;

    (void)state;
    mm_alloc_track(1); /* exact, unlike glibc's heap statistics: see common/alloc.h */
    do
        random_packs(&rng, &f, 6);
    while (f.n < 3);
    for (size_t i = 0; i < f.n; i++)
        total += f.p[i].nobjs;
    mm_buf_init(&b, LIMIT);
    assert_int_equal(mm_repo__ixfile_encode(f.p, f.n, &b), 0);
    for (k = 1;; k++) {
        struct mm_repo__packinfo *back = NULL;
        size_t nback = 0;

        mm_alloc_fail_at(k, 0);
        rc = mm_repo__ixfile_decode(b.ptr, b.len, &back, &nback);
        mm_alloc_fail_at(0, 0);
        if (rc == 0) {
            assert_packs_equal(f.p, back, f.n);
            mm_repo__ixfile_free(back, nback);
            break;
        }
        assert_int_equal(rc, MM_ENOMEM);
        assert_null(back);
    }
    assert_int_equal(k, total ? 4 : 3); /* packs, objects, the duplicate check */
    for (k = 1;; k++) {
        mm_buf e;

        mm_buf_init(&e, LIMIT);
        mm_alloc_fail_at(k, 0);
        rc = mm_repo__ixfile_encode(f.p, f.n, &e);
        mm_alloc_fail_at(0, 0);
        assert_true(rc == 0 || (rc == MM_ENOMEM && e.len == 0));
        mm_buf_release(&e);
        if (rc == 0)
            break;
    }
    mm_buf_release(&b);
    /* a pack table decode failing its one allocation */
    {
        struct mm_repo__obj o[3];
        uint64_t end = random_objs(&rng, o, 3);

        mm_buf_init(&b, LIMIT);
        assert_int_equal(mm_repo__packtab_encode(o, 3, &b), 0);
        mm_alloc_fail_at(1, 0);
        rc = packtab_try(b.ptr, b.len, end);
        mm_alloc_fail_at(0, 0);
        assert_int_equal(rc, MM_ENOMEM);
        mm_buf_release(&b);
    }
    assert_int_equal(mm_alloc_live(), 0); /* every path freed all it allocated */
    mm_alloc_track(0);
}

/* ---- manifests: fixtures ------------------------------------------------------------------- */

#define SMAX 4
#define IMAX 5

struct gfix {
    struct mm_repo_gen g;
    struct mm_repo_gen_source src[SMAX];
    char paths[SMAX][80], snames[SMAX][MM_LIMIT_NAME + 1];
    char name[40], host[40], user[40], guard[8], reasons[80];
    struct mm_repo_gen_storage stor[SMAX];
    char stpaths[SMAX][120];
    unsigned char ids[IMAX * ID_SIZE];
    size_t nids;
};

/* Random bytes for a source path: no NUL, anything else (not UTF-8 either). */
static void random_path(uint64_t *rng, char *buf, size_t cap)
{
    size_t n = sm64(rng) % (cap - 1), k = 0;

    while (k < n) {
        const char *p =
                sm64(rng) % 3 ? "/" : pieces[sm64(rng) % (sizeof(pieces) / sizeof(*pieces))];
        size_t len = strlen(p);

        if (k + len >= cap)
            break;
        memcpy(buf + k, p, len);
        k += len;
    }
    buf[k] = '\0';
}

/* A random valid generation in @f. */
static void random_gen(uint64_t *rng, struct gfix *f)
{
    static const char *const verdicts[] = { "none", "clean", "suspect" };
    static const char *const texts[] = { "", "day", "月次", "ADT^A08", "a b" };
    struct mm_repo_gen *g = &f->g;
    uint64_t c[10];

    memset(f, 0, sizeof(*f));
    if (sm64(rng) & 1) {
        snprintf(f->name, sizeof(f->name), "%s-%u", texts[sm64(rng) % 5],
                 (unsigned)(sm64(rng) % 1000));
        g->name = f->name;
    }
    snprintf(f->host, sizeof(f->host), "host%s", texts[sm64(rng) % 5]);
    snprintf(f->user, sizeof(f->user), "医事課-%u", (unsigned)(sm64(rng) % 100));
    snprintf(f->guard, sizeof(f->guard), "%s", verdicts[sm64(rng) % 3]);
    g->host = f->host;
    g->user = f->user;
    g->guard = f->guard;
    if (sm64(rng) & 1) {
        snprintf(f->reasons, sizeof(f->reasons), "%u files renamed\n\tcheck %s",
                 (unsigned)(sm64(rng) % 100000), texts[sm64(rng) % 5]);
        g->guard_reasons = f->reasons;
    }
    g->start_ns = (int64_t)(sm64(rng) >> 1) * ((sm64(rng) & 1) ? -1 : 1);
    g->end_ns = sm64(rng) % 8 == 0 ? INT64_MIN : (int64_t)(sm64(rng) >> 1);
    if (sm64(rng) & 1) {
        unsigned char id[ID_SIZE];

        fill(rng, id, ID_SIZE);
        mm_crypto_hex(id, g->parent);
    }
    fill(rng, g->root, ID_SIZE);
    g->nsources = 1 + sm64(rng) % SMAX;
    g->sources = f->src;
    for (size_t i = 0; i < g->nsources; i++) {
        size_t len = random_name(rng, f->snames[i]);

        f->snames[i][len] = '\0';
        random_path(rng, f->paths[i], sizeof(f->paths[i]));
        f->src[i].path = f->paths[i];
        f->src[i].name = f->snames[i];
        f->src[i].kind = (enum mm_repo_source_kind)(sm64(rng) % 3);
    }
    for (size_t i = 0; i < 10; i++)
        c[i] = sm64(rng) >> (sm64(rng) % 64);
    g->counts =
            (struct mm_repo_counts){ c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9] };
    if (sm64(rng) & 1) {
        g->has_index = 1;
        g->index_size = sm64(rng) % (1ull << 36);
        f->nids = sm64(rng) % (IMAX + 1);
        fill(rng, f->ids, f->nids * ID_SIZE);
        /* each block with its twin (IDs of the blocks, then the twins'): decided by the IDs
         * drawn, so the sequence of fixtures stays what it was before twins */
        g->index_twins = f->nids % 2 == 0 && (f->nids == 0 || (f->ids[0] & 1));
    }
    if (sm64(rng) & 1) { /* storages inside the generation (tag 15) */
        g->nstorages = 1 + sm64(rng) % SMAX;
        g->storages = f->stor;
        for (size_t i = 0; i < g->nstorages; i++) {
            char a[MM_LIMIT_NAME + 1], b[MM_LIMIT_NAME + 1];
            size_t la = random_name(rng, a), lb = random_name(rng, b);

            a[la] = '\0';
            b[lb] = '\0';
            if (sm64(rng) & 1)
                snprintf(f->stpaths[i], sizeof(f->stpaths[i]), "%.50s", a);
            else
                snprintf(f->stpaths[i], sizeof(f->stpaths[i]), "%.50s/%.50s", a, b);
            f->stor[i].path = f->stpaths[i];
            f->stor[i].kind = (enum mm_repo_source_kind)(1 + sm64(rng) % 2);
            f->stor[i].indexed = (int)(sm64(rng) & 1);
        }
    }
    if (sm64(rng) & 1) { /* the patient-index check (tag 14), any bits and counts */
        g->check.present = 1;
        g->check.attention = (uint32_t)(sm64(rng) % 3 ? sm64(rng) % 8 : sm64(rng));
        g->check.patients = sm64(rng) >> (sm64(rng) % 64);
        g->check.parent_patients = sm64(rng) >> (sm64(rng) % 64);
    }
}

/* Copy the fixture @from to @f, pointing the copy's strings at its own arrays. */
static void gfix_copy(struct gfix *f, const struct gfix *from)
{
    *f = *from;
    f->g.name = from->g.name ? f->name : NULL;
    f->g.host = f->host;
    f->g.user = f->user;
    f->g.guard = f->guard;
    f->g.guard_reasons = from->g.guard_reasons ? f->reasons : NULL;
    f->g.sources = f->src;
    f->g.storages = from->g.storages ? f->stor : NULL;
    for (size_t i = 0; i < SMAX; i++) {
        f->src[i].path = f->paths[i];
        f->src[i].name = f->snames[i];
        f->stor[i].path = f->stpaths[i];
    }
}

/* Strings equal, both NULL included. */
static void assert_str_or_null(const char *a, const char *b)
{
    if (!a || !b)
        assert_true(a == b);
    else
        assert_string_equal(a, b);
}

static void assert_gen_equal(const struct mm_repo_gen *a, const struct mm_repo_gen *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->parent, b->parent);
    assert_str_or_null(a->name, b->name);
    assert_str_or_null(a->host, b->host);
    assert_str_or_null(a->user, b->user);
    assert_true(a->start_ns == b->start_ns);
    assert_true(a->end_ns == b->end_ns);
    assert_int_equal(a->nsources, b->nsources);
    for (size_t i = 0; i < a->nsources; i++) {
        assert_string_equal(a->sources[i].path, b->sources[i].path);
        assert_string_equal(a->sources[i].name, b->sources[i].name);
        assert_int_equal(a->sources[i].kind, b->sources[i].kind);
    }
    assert_memory_equal(&a->counts, &b->counts, sizeof(a->counts));
    assert_memory_equal(a->root, b->root, ID_SIZE);
    assert_int_equal(a->has_index, b->has_index);
    assert_int_equal(a->index_size, b->index_size);
    assert_int_equal(a->index_twins, b->index_twins);
    assert_str_or_null(a->guard, b->guard);
    assert_str_or_null(a->guard_reasons, b->guard_reasons);
    assert_int_equal(a->check.present, b->check.present);
    assert_int_equal(a->check.attention, b->check.attention);
    assert_true(a->check.patients == b->check.patients);
    assert_true(a->check.parent_patients == b->check.parent_patients);
    assert_int_equal(a->nstorages, b->nstorages);
    for (size_t i = 0; i < a->nstorages; i++) {
        assert_string_equal(a->storages[i].path, b->storages[i].path);
        assert_int_equal(a->storages[i].kind, b->storages[i].kind);
        assert_int_equal(a->storages[i].indexed, b->storages[i].indexed);
    }
    assert_int_equal(!a->viewer, !b->viewer);
    if (a->viewer) {
        assert_int_equal(a->viewer->flags, b->viewer->flags);
        assert_int_equal(a->viewer->n, b->viewer->n);
        for (size_t i = 0; i < a->viewer->n; i++) {
            assert_string_equal(a->viewer->files[i].path, b->viewer->files[i].path);
            assert_true(a->viewer->files[i].size == b->viewer->files[i].size);
            assert_memory_equal(a->viewer->files[i].sha256, b->viewer->files[i].sha256, 32);
        }
    }
    assert_int_equal(a->verify, b->verify);
    assert_true(a->verify_ns == b->verify_ns);
}

/* A decoded generation and its index IDs. */
struct gdec {
    struct mm_repo_gen g;
    unsigned char *ids;
    size_t nids;
};

/* Decode from an exact-size copy. OUT: @d */
static int gen_decode(const void *p, size_t n, struct gdec *d)
{
    unsigned char *c = dup_exact(p, n);
    int rc;

    d->ids = (unsigned char *)"untouched";
    d->nids = 12345;
    rc = mm_repo__manifest_decode(c, n, &d->g, &d->ids, &d->nids);
    free(c);
    if (rc != 0) {
        struct mm_repo_gen zero;

        memset(&zero, 0, sizeof(zero));
        assert_memory_equal(&d->g, &zero, sizeof(zero));
        assert_string_equal((char *)d->ids, "untouched");
        assert_int_equal(d->nids, 12345);
        d->ids = NULL;
        d->nids = 0;
    }
    return rc;
}

static void gdec_release(struct gdec *d)
{
    mm_repo_gen_release(&d->g);
    mm_free(d->ids); /* free(), as the contract says, seen by mm_alloc_live() */
    d->ids = NULL;
}

static int gen_try(const mm_buf *b)
{
    struct gdec d;
    int rc = gen_decode(b->ptr, b->len, &d);

    gdec_release(&d);
    return rc;
}

static void gen_encode_ok(const struct gfix *f, mm_buf *b)
{
    mm_buf_init(b, LIMIT);
    assert_int_equal(mm_repo__manifest_encode(&f->g, f->ids, f->nids, b), 0);
}

/* A hand-built record. */
static void rec(mm_buf *b, unsigned tag, const void *v, size_t n)
{
    put16(b, (uint16_t)tag);
    put32(b, (uint32_t)n);
    putn(b, v, n);
}

/* Copy the records of @in to @out, leaving out @drop and putting @ins (@n bytes) before
 * the record number @at (or at the end when there are fewer). */
static void edit_records(const mm_buf *in, mm_buf *out, unsigned drop, size_t at, const void *ins,
                         size_t n)
{
    size_t pos = 0, r = 0;
    const unsigned char *p = (const unsigned char *)in->ptr;

    mm_buf_init(out, LIMIT);
    while (pos < in->len) {
        unsigned tag = mm_get_le16(p + pos);
        size_t len = mm_get_le32(p + pos + 2);

        if (r++ == at && ins)
            putn(out, ins, n);
        if (tag != drop)
            putn(out, p + pos, 6 + len);
        pos += 6 + len;
    }
    if (r <= at && ins)
        putn(out, ins, n);
}

/* Whether the manifest @p has only known tags and a counts record of 80 bytes. */
static int manifest_canonical(const unsigned char *p, size_t n)
{
    size_t pos = 0;

    while (n - pos >= 6) {
        unsigned tag = mm_get_le16(p + pos);
        size_t len = mm_get_le32(p + pos + 2);

        if (tag == 0 || tag > 17 || (tag == 10 && len != 80) || (tag == 14 && len != 20) ||
            len > n - pos - 6 || (tag == 17 && (len == 0 || p[pos + 6] > 1)))
            return 0;
        pos += 6 + len;
    }
    return pos == n;
}

/* ---- manifests: tests ---------------------------------------------------------------------- */

static void manifest__roundtrip(void **state)
{
    static struct gfix f;
    uint64_t rng = 2024;

    (void)state;
    for (int round = 0; round < 200; round++) {
        struct gdec d;
        mm_buf b, again;

        random_gen(&rng, &f);
        gen_encode_ok(&f, &b);
        assert_int_equal(gen_decode(b.ptr, b.len, &d), 0);
        assert_gen_equal(&f.g, &d.g);
        assert_int_equal(d.nids, f.nids);
        if (f.nids)
            assert_memory_equal(d.ids, f.ids, f.nids * ID_SIZE);
        else
            assert_null(d.ids);
        mm_buf_init(&again, LIMIT);
        assert_int_equal(mm_repo__manifest_encode(&d.g, d.ids, d.nids, &again), 0);
        assert_int_equal(again.len, b.len);
        assert_memory_equal(again.ptr, b.ptr, b.len);
        /* the decoder may be told to drop the ids */
        {
            struct mm_repo_gen g;

            assert_int_equal(mm_repo__manifest_decode(b.ptr, b.len, &g, NULL, NULL), 0);
            mm_repo_gen_release(&g);
        }
        gdec_release(&d);
        mm_buf_release(&b);
        mm_buf_release(&again);
    }
}

static void manifest__truncations_rejected(void **state)
{
    static struct gfix f;
    uint64_t rng = 77;

    (void)state;
    for (int with_reasons = 0; with_reasons < 2; with_reasons++) {
        size_t accepted = 0;
        mm_buf b;

        do
            random_gen(&rng, &f);
        while (!f.g.guard_reasons != !with_reasons || !f.g.has_index || f.g.nsources < 2 ||
               f.g.index_twins || f.g.check.present || f.g.nstorages);
        gen_encode_ok(&f, &b);
        for (size_t len = 0; len < b.len; len++) {
            struct gdec d;
            int rc = gen_decode(b.ptr, len, &d);

            if (rc == 0) {
                /* only the optional last record may go, at its boundary (the seal and the
                 * signature of the manifest file cover that) */
                assert_true(with_reasons);
                assert_int_equal(len, b.len - 6 - strlen(f.reasons));
                assert_null(d.g.guard_reasons);
                accepted++;
            } else {
                assert_int_equal(rc, MM_ECORRUPT);
            }
            gdec_release(&d);
        }
        assert_int_equal(accepted, with_reasons ? 1 : 0);
        mm_buf_release(&b);
    }
}

/* Decode @p with byte @i set to @v: rejected, or it encodes back (to the same bytes when the
 * input has a single encoding, else to something that decodes to the same). */
static void gen_check_changed(const unsigned char *p, size_t n, size_t i, unsigned char v,
                              size_t *accepted)
{
    unsigned char *c = dup_exact(p, n);
    struct gdec d, d2;
    mm_buf again;
    int rc;

    c[i] = v;
    rc = gen_decode(c, n, &d);
    if (rc != 0) {
        assert_int_equal(rc, MM_ECORRUPT);
        free(c);
        return;
    }
    (*accepted)++;
    mm_buf_init(&again, LIMIT);
    assert_int_equal(mm_repo__manifest_encode(&d.g, d.ids, d.nids, &again), 0);
    if (manifest_canonical(c, n)) {
        assert_int_equal(again.len, n);
        assert_memory_equal(again.ptr, c, n);
    }
    assert_int_equal(gen_decode(again.ptr, again.len, &d2), 0);
    assert_gen_equal(&d.g, &d2.g);
    assert_int_equal(d.nids, d2.nids);
    if (d.nids)
        assert_memory_equal(d.ids, d2.ids, d.nids * ID_SIZE);
    gdec_release(&d);
    gdec_release(&d2);
    mm_buf_release(&again);
    free(c);
}

static void manifest__byte_flips(void **state)
{
    static struct gfix f;
    uint64_t rng = 5150;
    size_t accepted = 0;
    mm_buf b;

    (void)state;
    do
        random_gen(&rng, &f);
    while (!f.g.has_index || !f.g.name || !f.g.guard_reasons || !f.g.parent[0]);
    gen_encode_ok(&f, &b);
    for (size_t i = 0; i < b.len; i++) {
        unsigned char c = (unsigned char)b.ptr[i];

        for (int bit = 0; bit < 8; bit++)
            gen_check_changed((unsigned char *)b.ptr, b.len, i, (unsigned char)(c ^ (1u << bit)),
                              &accepted);
        gen_check_changed((unsigned char *)b.ptr, b.len, i, 0, &accepted);
        gen_check_changed((unsigned char *)b.ptr, b.len, i, 0xff, &accepted);
    }
    assert_true(accepted > 0);
    mm_buf_release(&b);
}

static void manifest__missing_required_rejected(void **state)
{
    static const unsigned required[] = { 1, 3, 4, 5, 6, 8, 9, 10, 12 };
    static const unsigned optional[] = { 2, 7, 11, 13, 14, 15 };
    static struct gfix f;
    uint64_t rng = 1;
    mm_buf b;

    (void)state;
    do
        random_gen(&rng, &f);
    while (!f.g.has_index || !f.g.name || !f.g.guard_reasons || !f.g.parent[0] ||
           !f.g.check.present || !f.g.nstorages);
    gen_encode_ok(&f, &b);
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        mm_buf e;

        edit_records(&b, &e, required[i], 0, NULL, 0);
        assert_true(e.len < b.len);
        assert_int_equal(gen_try(&e), MM_ECORRUPT);
        assert_non_null(strstr(mm_error_last(), required[i] == 1 ? "version" : "no "));
        mm_buf_release(&e);
    }
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
        struct gdec d;
        mm_buf e;

        edit_records(&b, &e, optional[i], 0, NULL, 0);
        assert_true(e.len < b.len);
        assert_int_equal(gen_decode(e.ptr, e.len, &d), 0);
        if (optional[i] == 7)
            assert_string_equal(d.g.parent, "");
        if (optional[i] == 11)
            assert_true(!d.g.has_index && !d.ids && d.nids == 0);
        if (optional[i] == 15) /* older: no storages named */
            assert_true(d.g.nstorages == 0 && !d.g.storages);
        if (optional[i] == 14) /* a manifest older than the check */
            assert_true(!d.g.check.present && d.g.check.attention == 0 && d.g.check.patients == 0);
        gdec_release(&d);
        mm_buf_release(&e);
    }
    mm_buf_release(&b);
    mm_buf_init(&b, LIMIT); /* empty */
    assert_int_equal(gen_try(&b), MM_ECORRUPT);
    mm_buf_release(&b);
}

/* The patient-index check (tag 14): the last record, exactly as written; a truncated one is
 * damage, a longer one (a newer writer's) is read by its first 20 bytes; without it, a
 * manifest of an older mamori reads as "no check". */
static void manifest__patient_index_check(void **state)
{
    static struct gfix f;
    uint64_t rng = 14;
    unsigned char v[28];
    struct gdec d;
    mm_buf b, e, r;

    (void)state;
    do
        random_gen(&rng, &f);
    while (f.g.check.present || f.g.guard_reasons || f.g.nstorages || f.g.index_twins);
    gen_encode_ok(&f, &b); /* no check: as an older mamori wrote it */
    assert_int_equal(gen_decode(b.ptr, b.len, &d), 0);
    assert_int_equal(d.g.check.present, 0);
    gdec_release(&d);
    mm_buf_release(&b);
    f.g.check.present = 1;
    f.g.check.attention = MM_REPO_ATTN_FEW_PATIENTS;
    f.g.check.patients = 450;
    f.g.check.parent_patients = 1000;
    gen_encode_ok(&f, &b);
    assert_int_equal(gen_decode(b.ptr, b.len, &d), 0);
    assert_gen_equal(&f.g, &d.g);
    gdec_release(&d);
    /* the record's bytes: le32 attention | le64 patients | le64 parent's, last */
    assert_true(b.len > 26);
    assert_int_equal(mm_get_le16((unsigned char *)b.ptr + b.len - 26), 14);
    assert_int_equal(mm_get_le32((unsigned char *)b.ptr + b.len - 24), 20);
    assert_int_equal(mm_get_le32((unsigned char *)b.ptr + b.len - 20), MM_REPO_ATTN_FEW_PATIENTS);
    assert_true(mm_get_le64((unsigned char *)b.ptr + b.len - 16) == 450);
    assert_true(mm_get_le64((unsigned char *)b.ptr + b.len - 8) == 1000);
    /* shorter: damage */
    mm_put_le32(v, 3);
    mm_put_le64(v + 4, 7);
    mm_put_le64(v + 12, 9);
    memset(v + 20, 0xee, 8);
    mm_buf_init(&r, LIMIT);
    rec(&r, 14, v, 19);
    edit_records(&b, &e, 14, 99, r.ptr, r.len);
    assert_int_equal(gen_try(&e), MM_ECORRUPT);
    mm_buf_release(&e);
    mm_buf_release(&r);
    /* longer: the first 20 bytes are ours */
    mm_buf_init(&r, LIMIT);
    rec(&r, 14, v, sizeof(v));
    edit_records(&b, &e, 14, 99, r.ptr, r.len);
    assert_int_equal(gen_decode(e.ptr, e.len, &d), 0);
    assert_true(d.g.check.present && d.g.check.attention == 3 && d.g.check.patients == 7 &&
                d.g.check.parent_patients == 9);
    gdec_release(&d);
    mm_buf_release(&e);
    mm_buf_release(&r);
    mm_buf_release(&b);
}

/* The storage records (tag 15): repeatable, after the check; paths of entry names joined by
 * '/', kinds 1 and 2, flags 0 and 1, anything else is damage; the encoder refuses the same. */
static void manifest__storages(void **state)
{
    static const struct {
        const char *v;
        size_t n;
        int ok;
    } cases[] = {
        { "\x01\x01"
          "ssmix2/standard",
          17, 1 },
        { "\x02\x00"
          "拡張ストレージ",
          23, 1 },
        { "\x01\x00"
          "a",
          3, 1 },
        { "\x01\x00", 2, 0 }, /* no path */
        { "\x00\x00"
          "a",
          3, 0 }, /* kind 0 (a plain folder is not a storage) */
        { "\x03\x00"
          "a",
          3, 0 }, /* unknown kind */
        { "\x01\x02"
          "a",
          3, 0 }, /* unknown flags */
        { "\x01\x00"
          "/a",
          4, 0 }, /* empty name */
        { "\x01\x00"
          "a//b",
          6, 0 }, /* empty name */
        { "\x01\x00"
          "a/..",
          5, 0 }, /* dot-dot */
        { "\x01\x00"
          "a/",
          4, 0 }, /* trailing slash */
        { "\x01\x00"
          "a\0b",
          5, 0 }, /* nul */
    };
    static struct gfix f;
    uint64_t rng = 15;
    mm_buf b;

    (void)state;
    do
        random_gen(&rng, &f);
    while (f.g.nstorages || f.g.check.present || f.g.index_twins);
    gen_encode_ok(&f, &b);
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct gdec d;
        mm_buf r, e;

        mm_buf_init(&r, LIMIT);
        rec(&r, 15, cases[i].v, cases[i].n);
        rec(&r, 15,
            "\x02\x01"
            "x/y",
            5); /* repeated */
        edit_records(&b, &e, 0, 99, r.ptr, r.len);
        if (cases[i].ok) {
            assert_int_equal(gen_decode(e.ptr, e.len, &d), 0);
            assert_int_equal(d.g.nstorages, 2);
            assert_int_equal(d.g.storages[0].kind, (unsigned char)cases[i].v[0]);
            assert_int_equal(d.g.storages[0].indexed, cases[i].v[1]);
            assert_int_equal(strlen(d.g.storages[0].path), cases[i].n - 2);
            assert_string_equal(d.g.storages[1].path, "x/y");
            gdec_release(&d);
        } else {
            assert_int_equal(gen_try(&e), MM_ECORRUPT);
        }
        mm_buf_release(&e);
        mm_buf_release(&r);
    }
    mm_buf_release(&b);
    /* the encoder refuses what the decoder would */
    {
        struct mm_repo_gen_storage bad = { (char *)"a/../b", MM_REPO_SOURCE_SSMIX2_STD, 0 };
        mm_buf o;

        f.g.storages = &bad;
        f.g.nstorages = 1;
        mm_buf_init(&o, LIMIT);
        assert_int_equal(mm_repo__manifest_encode(&f.g, f.ids, f.nids, &o), MM_EINVAL);
        bad.path = (char *)"a/b";
        bad.kind = MM_REPO_SOURCE_FOLDER;
        assert_int_equal(mm_repo__manifest_encode(&f.g, f.ids, f.nids, &o), MM_EINVAL);
        mm_buf_release(&o);
        f.g.storages = NULL;
        f.g.nstorages = 0;
    }
}

/*
 * The viewer's files (tag 17): a list with Japanese names round-trips byte for byte after the
 * other records, a manifest without one decodes with none, and a record that is cut short or
 * names a path that is not a plain relative one is damage; the encoder refuses the same.
 */
static void manifest__viewer_files(void **state)
{
    static const char *const paths[] = { "bin/mamori", "bin/lib/libc.so.6", "mamori-view.sh",
                                         "緊急時の使い方.html", "README-EMERGENCY.txt" };
    static const struct {
        const char *path;
        size_t n;
    } bad[] = { { "", 0 },     { "/bin/mamori", 11 }, { "bin//x", 6 }, { "bin/../x", 8 },
                { "bin/", 4 }, { "./x", 3 },          { "a\\b", 3 },   { "a\nb", 3 },
                { "a\0b", 3 }, { "\xff", 1 },         { "..", 2 } };
    static struct gfix f;
    struct mm_repo_viewer v = { 0 };
    unsigned char h[32];
    uint64_t rng = 17;
    struct gdec d;
    mm_buf b, again;

    (void)state;
    do
        random_gen(&rng, &f);
    while (!f.g.index_twins || !f.g.nstorages);
    gen_encode_ok(&f, &b);
    assert_int_equal(gen_decode(b.ptr, b.len, &d), 0);
    assert_null(d.g.viewer); /* none recorded */
    gdec_release(&d);
    mm_buf_release(&b);
    for (size_t i = 0; i < 5; i++) {
        memset(h, (int)i + 1, sizeof(h));
        assert_int_equal(mm_repo_viewer_add(&v, paths[i], 1000u * i, h), 0);
    }
    v.flags = MM_REPO_VIEWER_NO_BIN;
    f.g.viewer = &v;
    gen_encode_ok(&f, &b);
    assert_int_equal(gen_decode(b.ptr, b.len, &d), 0);
    assert_gen_equal(&f.g, &d.g);
    gdec_release(&d);
    /* the k-th allocation failing: ENOMEM, nothing left allocated (the list, each path) */
    mm_alloc_track(1);
    for (long k = 1;; k++) {
        int rc;

        mm_alloc_fail_at(k, 0);
        rc = gen_decode(b.ptr, b.len, &d);
        mm_alloc_fail_at(0, 0);
        if (rc == 0)
            break;
        assert_int_equal(rc, MM_ENOMEM);
        assert_int_equal(mm_alloc_live(), 0);
    }
    gdec_release(&d);
    assert_int_equal(mm_alloc_live(), 0);
    mm_alloc_track(0);
    assert_int_equal(gen_decode(b.ptr, b.len, &d), 0);
    assert_non_null(d.g.viewer);
    assert_string_equal(d.g.viewer->files[3].path, "緊急時の使い方.html");
    assert_int_equal(d.g.viewer->files[4].size, 4000);
    assert_int_equal(d.g.viewer->files[4].sha256[31], 5);
    mm_buf_init(&again, LIMIT);
    assert_int_equal(mm_repo__manifest_encode(&d.g, d.ids, d.nids, &again), 0);
    assert_int_equal(again.len, b.len);
    assert_memory_equal(again.ptr, b.ptr, b.len);
    mm_buf_release(&again);
    gdec_release(&d);
    /* the record is the last: every cut inside it is damage (or, at its very start, the
     * record's header no longer fits) */
    for (size_t cut = 1; cut < 6 + 1 + 2 + 10 + 8 + 32; cut++)
        assert_int_equal(gen_try(&(mm_buf){ .ptr = b.ptr, .len = b.len - cut }), MM_ECORRUPT);
    mm_buf_release(&b);
    /* bad paths: refused by the encoder and, hand-built, by the decoder */
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        unsigned char val[1 + 2 + 16 + 8 + 32] = { 0 };
        mm_buf r, e, o;

        if (strlen(bad[i].path) == bad[i].n) /* (a C string cannot hold the NUL) */
            assert_int_equal(mm_repo_viewer_add(&v, bad[i].path, 1, h), MM_EINVAL);
        mm_put_le16(val + 1, (uint16_t)bad[i].n);
        memcpy(val + 3, bad[i].path, bad[i].n);
        mm_buf_init(&r, LIMIT);
        rec(&r, 17, val, 1 + 2 + bad[i].n + 8 + 32);
        f.g.viewer = NULL;
        gen_encode_ok(&f, &o);
        edit_records(&o, &e, 0, 99, r.ptr, r.len);
        assert_int_equal(gen_try(&e), MM_ECORRUPT);
        mm_buf_release(&e);
        mm_buf_release(&o);
        mm_buf_release(&r);
        f.g.viewer = &v;
    }
    {
        char *keep = v.files[1].path;
        mm_buf o;

        v.files[1].path = (char *)"bin/../etc";
        mm_buf_init(&o, LIMIT);
        assert_int_equal(mm_repo__manifest_encode(&f.g, f.ids, f.nids, &o), MM_EINVAL);
        mm_buf_release(&o);
        v.files[1].path = keep;
    }
    f.g.viewer = NULL;
    for (size_t i = 0; i < v.n; i++)
        mm_free(v.files[i].path);
    mm_free(v.files);
}

/* The attention rule (mm_repo_attention_judge). */
static void attention__judge(void **state)
{
    (void)state;
    /* a plain folder, no parent index: nothing */
    assert_int_equal(mm_repo_attention_judge(0, 0, 0, 0, 0, 0), 0);
    /* SS-MIX2 found, indexed, first generation */
    assert_int_equal(mm_repo_attention_judge(1, 0, 0, 0, 1, 12), 0);
    /* SS-MIX2 found, no index; or an index of nobody */
    assert_int_equal(mm_repo_attention_judge(1, 0, 0, 0, 0, 0), MM_REPO_ATTN_NO_INDEX);
    assert_int_equal(mm_repo_attention_judge(1, 0, 0, 0, 1, 0), MM_REPO_ATTN_NO_INDEX);
    /* nothing found now, but the parent of the same sources had an index */
    assert_int_equal(mm_repo_attention_judge(0, 0, 1, 100, 0, 0), MM_REPO_ATTN_NO_INDEX);
    /* 90 % is fine, under it is not */
    assert_int_equal(mm_repo_attention_judge(1, 0, 1, 100, 1, 90), 0);
    assert_int_equal(mm_repo_attention_judge(1, 0, 1, 100, 1, 89), MM_REPO_ATTN_FEW_PATIENTS);
    assert_int_equal(mm_repo_attention_judge(1, 0, 1, 1000000, 1, 899999),
                     MM_REPO_ATTN_FEW_PATIENTS);
    /* the parent's count unknown (an older manifest, no cache): no comparison */
    assert_int_equal(mm_repo_attention_judge(1, 0, 1, 0, 1, 5), 0);
    /* more patients than before: fine */
    assert_int_equal(mm_repo_attention_judge(1, 0, 1, 10, 1, 500), 0);
    /* storages the index does not cover */
    assert_int_equal(mm_repo_attention_judge(2, 1, 0, 0, 1, 10), MM_REPO_ATTN_NOT_INDEXED);
}

/* Tag 18, the files that changed while read: counts and paths round-trip; a path that runs
 * past the value, or more paths than unstable files, is damage; none changed: no record. */
static void manifest__unstable_files_round_trip(void **state)
{
    static struct gfix f;
    char *paths[2] = { (char *)"data/a.bin", (char *)"ssmix2/std/x" };
    uint64_t rng = 11;
    struct gdec d;
    mm_buf b, plain;

    (void)state;
    random_gen(&rng, &f);
    gen_encode_ok(&f, &plain);
    f.g.unstable.reread = 3;
    f.g.unstable.unstable = 5;
    f.g.unstable.paths = paths;
    f.g.unstable.npaths = 2;
    gen_encode_ok(&f, &b);
    assert_int_equal(b.len, plain.len + 6 + 16 + 2 + 10 + 2 + 12);
    assert_int_equal(gen_decode(b.ptr, b.len, &d), 0);
    assert_int_equal(d.g.unstable.reread, 3);
    assert_int_equal(d.g.unstable.unstable, 5);
    assert_int_equal(d.g.unstable.npaths, 2);
    assert_string_equal(d.g.unstable.paths[0], "data/a.bin");
    assert_string_equal(d.g.unstable.paths[1], "ssmix2/std/x");
    gdec_release(&d);
    /* the last path's length one past the value: damage */
    b.ptr[b.len - 12 - 2] = 13;
    assert_int_equal(gen_try(&b), MM_ECORRUPT);
    mm_buf_release(&b);
    /* two paths but one unstable file: refused on encode */
    f.g.unstable.unstable = 1;
    mm_buf_init(&b, LIMIT);
    assert_int_equal(mm_repo__manifest_encode(&f.g, f.ids, f.nids, &b), MM_EINVAL);
    mm_buf_release(&b);
    memset(&f.g.unstable, 0, sizeof(f.g.unstable));
    mm_buf_release(&plain);
}

static void manifest__unknown_tags_skipped(void **state)
{
    static struct gfix f;
    uint64_t rng = 9;
    mm_buf b, u;

    (void)state;
    random_gen(&rng, &f);
    gen_encode_ok(&f, &b);
    mm_buf_init(&u, LIMIT);
    rec(&u, 19, "future", 6); /* (18 became the unstable files) */
    rec(&u, 0, "", 0);
    rec(&u, 0xffff, "\x00\x01\x02", 3);
    rec(&u, 100, "\x0a\x0b", 2); /* control bytes: not our business */
    for (size_t at = 1; at < 20; at++) {
        struct gdec d;
        mm_buf e;

        edit_records(&b, &e, 0, at, u.ptr, u.len);
        assert_int_equal(e.len, b.len + u.len);
        assert_int_equal(gen_decode(e.ptr, e.len, &d), 0);
        assert_gen_equal(&f.g, &d.g);
        gdec_release(&d);
        mm_buf_release(&e);
    }
    /* but not before the version */
    {
        mm_buf e;

        edit_records(&b, &e, 0, 0, u.ptr, u.len);
        assert_int_equal(gen_try(&e), MM_ECORRUPT);
        mm_buf_release(&e);
    }
    /* a longer counts record: its first 80 bytes are read */
    {
        unsigned char counts[96];
        struct gdec d;
        mm_buf c;

        for (size_t i = 0; i < 10; i++)
            mm_put_le64(counts + 8 * i, f.g.counts.files + i);
        memset(counts + 80, 0xee, 16);
        mm_buf_init(&c, LIMIT);
        rec(&c, 10, counts, sizeof(counts));
        /* put it where the old one was: after the last source */
        {
            size_t pos = 0, at = 0, r = 0;
            const unsigned char *p = (const unsigned char *)b.ptr;
            mm_buf tmp;

            while (pos < b.len) {
                if (mm_get_le16(p + pos) == 10)
                    at = r;
                pos += 6 + mm_get_le32(p + pos + 2);
                r++;
            }
            edit_records(&b, &tmp, 10, at, c.ptr, c.len);
            assert_int_equal(gen_decode(tmp.ptr, tmp.len, &d), 0);
            assert_int_equal(d.g.counts.files, f.g.counts.files);
            assert_int_equal(d.g.counts.dirs, f.g.counts.files + 1);
            assert_int_equal(d.g.counts.bytes_stored, f.g.counts.files + 9);
            gdec_release(&d);
            mm_buf_release(&tmp);
        }
        mm_buf_release(&c);
    }
    mm_buf_release(&u);
    mm_buf_release(&b);
}

/*
 * The patient index's twins (tag 16): their IDs follow the blocks' in one list; a twins
 * record that does not match the index (another count, no index) is damage, and an encoder
 * asked for twins of an odd list refuses.
 */
static void manifest__index_twins(void **state)
{
    static struct gfix f;
    uint64_t rng = 77;
    struct gdec d;
    mm_buf b, e;

    (void)state;
    random_gen(&rng, &f);
    f.g.has_index = 1;
    f.g.index_twins = 1;
    f.g.index_size = 3 * 4096;
    f.nids = 4;
    fill(&rng, f.ids, f.nids * ID_SIZE);
    gen_encode_ok(&f, &b);
    assert_int_equal(gen_decode(b.ptr, b.len, &d), 0);
    assert_int_equal(d.g.index_twins, 1);
    assert_int_equal(d.nids, 4);
    assert_memory_equal(d.ids, f.ids, 4 * ID_SIZE);
    gdec_release(&d);
    /* cut at any length: refused, but for the cut of exactly the last record, the twins' */
    for (size_t len = 0; len < b.len; len++) {
        int rc = gen_decode(b.ptr, len, &d);
        if (rc == 0) {
            assert_int_equal(len, b.len - 6 - 2 * ID_SIZE);
            assert_int_equal(d.g.index_twins, 0);
        } else {
            assert_int_equal(rc, MM_ECORRUPT);
        }
        gdec_release(&d);
    }
    /* without its twins record: the blocks alone, as a mamori before twins wrote it */
    edit_records(&b, &e, 16, 1000, NULL, 0);
    assert_int_equal(gen_decode(e.ptr, e.len, &d), 0);
    assert_int_equal(d.g.index_twins, 0);
    assert_int_equal(d.nids, 2);
    assert_memory_equal(d.ids, f.ids, 2 * ID_SIZE);
    gdec_release(&d);
    mm_buf_release(&e);
    /* one twin too few, one too many, and twins without an index */
    {
        mm_buf t;
        mm_buf_init(&t, LIMIT);
        rec(&t, 16, f.ids, ID_SIZE);
        edit_records(&b, &e, 16, 1000, t.ptr, t.len);
        assert_int_equal(gen_try(&e), MM_ECORRUPT);
        mm_buf_release(&e);
        mm_buf_clear(&t);
        rec(&t, 16, f.ids, 3 * ID_SIZE);
        edit_records(&b, &e, 16, 1000, t.ptr, t.len);
        assert_int_equal(gen_try(&e), MM_ECORRUPT);
        mm_buf_release(&e);
        mm_buf_clear(&t);
        rec(&t, 16, f.ids, 2 * ID_SIZE);
        {
            mm_buf noix;
            edit_records(&b, &noix, 11, 1000, NULL, 0);
            edit_records(&noix, &e, 16, 1000, t.ptr, t.len);
            assert_int_equal(gen_try(&e), MM_ECORRUPT);
            mm_buf_release(&e);
            mm_buf_release(&noix);
        }
        mm_buf_release(&t);
    }
    mm_buf_release(&b);
    /* an odd list cannot be blocks and twins */
    f.nids = 3;
    mm_buf_init(&b, LIMIT);
    assert_int_equal(mm_repo__manifest_encode(&f.g, f.ids, f.nids, &b), MM_EINVAL);
    mm_buf_release(&b);
    mm_error_clear();
}

/* A minimal hand-built manifest with @host as the host value; more records appended after. */
static void raw_manifest(mm_buf *b, uint32_t version, const char *host, size_t hostlen)
{
    unsigned char v[80];

    memset(v, 0, sizeof(v));
    mm_buf_init(b, LIMIT);
    mm_put_le32(v, version);
    rec(b, 1, v, 4);
    rec(b, 3, host, hostlen);
    rec(b, 4, "it-admin", 8);
    rec(b, 5, v, 8);
    rec(b, 6, v, 8);
    rec(b, 8, v, 32);
    rec(b, 9, "\x01\x05\x00/data\x06\x00ssmix2", 16);
    rec(b, 10, v, 80);
    rec(b, 12, "clean", 5);
}

static void manifest__rejects_bad_values(void **state)
{
    static const struct {
        const char *host;
        size_t len;
        int ok;
    } hosts[] = {
        { "ward-3", 6, 1 },
        { "", 0, 1 },
        { "病棟", 6, 1 },
        { "a\nb", 3, 0 },
        { "a\x1b[2J", 6, 0 },
        { "a\x7f", 2, 0 },
        { "\xc2\x9b", 2, 0 },
        { "a\0b", 3, 0 },
        { "\xff", 1, 0 },
        { "\xe6\x82", 2, 0 },
        { "\xc0\xaf", 2, 0 },
        { "\xed\xa0\x80", 3, 0 },
        { "\xf4\x90\x80\x80", 4, 0 },
    };
    struct gdec d;
    mm_buf b;

    (void)state;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        raw_manifest(&b, 1, hosts[i].host, hosts[i].len);
        assert_int_equal(gen_try(&b), hosts[i].ok ? 0 : MM_ECORRUPT);
        mm_buf_release(&b);
    }
    /* a good one, checked field by field */
    raw_manifest(&b, 1, "ward-3", 6);
    assert_int_equal(gen_decode(b.ptr, b.len, &d), 0);
    assert_string_equal(d.g.host, "ward-3");
    assert_string_equal(d.g.user, "it-admin");
    assert_string_equal(d.g.parent, "");
    assert_string_equal(d.g.id, "");
    assert_null(d.g.name);
    assert_int_equal(d.g.nsources, 1);
    assert_int_equal(d.g.sources[0].kind, MM_REPO_SOURCE_SSMIX2_STD);
    assert_string_equal(d.g.sources[0].path, "/data");
    assert_string_equal(d.g.sources[0].name, "ssmix2");
    assert_string_equal(d.g.guard, "clean");
    assert_int_equal(d.g.has_index, 0);
    gdec_release(&d);
    mm_buf_release(&b);
    /* strings of up to 4096 bytes */
    {
        char *s4097 = malloc(4097);

        assert_non_null(s4097);
        memset(s4097, 'h', 4097);
        raw_manifest(&b, 1, s4097, 4096);
        assert_int_equal(gen_try(&b), 0);
        mm_buf_release(&b);
        raw_manifest(&b, 1, s4097, 4097);
        assert_int_equal(gen_try(&b), MM_ECORRUPT);
        mm_buf_release(&b);
        free(s4097);
    }
    /* unknown version */
    raw_manifest(&b, 2, "h", 1);
    assert_int_equal(gen_try(&b), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "unknown version 2"));
    mm_buf_release(&b);
    /* wrong lengths and values of known tags, appended after a good manifest */
    static const struct {
        unsigned tag;
        const char *v;
        size_t len;
    } bad[] = {
        { 12, "maybe", 5 },
        { 12, "Clean", 5 },
        { 12, "", 0 },
        { 13, "a\0b", 3 },
        { 13, "\xff", 1 },
        { 9, "\x03\x01\x00/\x01\x00x", 7 },     /* kind 3 */
        { 9, "\x00\x02\x00/\x00\x01\x00x", 8 }, /* NUL in the path */
        { 9, "\x00\x01\x00/\x01\x00.", 7 },     /* name "." */
        { 9,
          "\x00\x01\x00/\x03\x00"
          "a/b",
          9 },                               /* slash in the name */
        { 9, "\x00\x01\x00/\x00\x00", 6 },   /* empty name */
        { 9, "\x00\x01\x00/\x02\x00x", 7 },  /* name past the record */
        { 9, "\x00\x01\x00/\x01\x00xy", 8 }, /* bytes after the name */
        { 9, "\x00\x09\x00/", 4 },           /* path past the record */
        { 10, "0123456789", 10 },            /* counts too short */
        { 11, "0123456", 7 },                /* index too short */
        { 11, "01234567890", 11 },           /* not whole ids */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mm_buf e;

        raw_manifest(&b, 1, "h", 1);
        /* records must come in order: drop the tag, and put the bad one in its place */
        edit_records(&b, &e, bad[i].tag, 0, NULL, 0);
        mm_buf_release(&b);
        {
            mm_buf r;
            size_t at = 0, pos = 0;
            const unsigned char *p = (const unsigned char *)e.ptr;

            while (pos < e.len && mm_get_le16(p + pos) < bad[i].tag) {
                pos += 6 + mm_get_le32(p + pos + 2);
                at++;
            }
            mm_buf_init(&r, LIMIT);
            rec(&r, bad[i].tag, bad[i].v, bad[i].len);
            edit_records(&e, &b, 0, at, r.ptr, r.len);
            mm_buf_release(&r);
        }
        assert_int_equal(gen_try(&b), MM_ECORRUPT);
        mm_buf_release(&e);
        mm_buf_release(&b);
    }
    /* fixed-size tags with other sizes */
    static const unsigned fixed[] = { 1, 5, 6, 7, 8 };
    static const size_t sizes[] = { 4, 8, 8, 32, 32 };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        for (int delta = -1; delta <= 1; delta += 2) {
            unsigned char v[40];
            mm_buf r, e;
            size_t at = 0, pos = 0;
            const unsigned char *p;

            memset(v, 1, sizeof(v));
            mm_put_le32(v, 1);
            raw_manifest(&b, 1, "h", 1);
            edit_records(&b, &e, fixed[i], 0, NULL, 0);
            p = (const unsigned char *)e.ptr;
            while (pos < e.len && mm_get_le16(p + pos) < fixed[i]) {
                pos += 6 + mm_get_le32(p + pos + 2);
                at++;
            }
            mm_buf_release(&b);
            mm_buf_init(&r, LIMIT);
            rec(&r, fixed[i], v, sizes[i] + (size_t)delta);
            edit_records(&e, &b, 0, at, r.ptr, r.len);
            assert_int_equal(gen_try(&b), MM_ECORRUPT);
            mm_buf_release(&r);
            mm_buf_release(&e);
            mm_buf_release(&b);
        }
}

static void manifest__rejects_order_and_duplicates(void **state)
{
    mm_buf b;
    struct gdec d;

    (void)state;
    /* two hosts */
    raw_manifest(&b, 1, "h", 1);
    {
        mm_buf e, r;

        mm_buf_init(&r, LIMIT);
        rec(&r, 3, "h2", 2);
        edit_records(&b, &e, 0, 2, r.ptr, r.len);
        assert_int_equal(gen_try(&e), MM_ECORRUPT);
        mm_buf_release(&e);
        /* user before host */
        mm_buf_release(&r);
        mm_buf_init(&r, LIMIT);
        rec(&r, 4, "u", 1);
        edit_records(&b, &e, 4, 1, r.ptr, r.len);
        assert_int_equal(gen_try(&e), MM_ECORRUPT);
        assert_non_null(strstr(mm_error_last(), "out of order"));
        mm_buf_release(&e);
        /* sources repeat, in a row */
        mm_buf_release(&r);
        mm_buf_init(&r, LIMIT);
        rec(&r, 9,
            "\x02\x02\x00/x\x03\x00"
            "ext",
            10);
        edit_records(&b, &e, 0, 7, r.ptr, r.len);
        assert_int_equal(gen_decode(e.ptr, e.len, &d), 0);
        assert_int_equal(d.g.nsources, 2);
        assert_string_equal(d.g.sources[1].name, "ext");
        assert_int_equal(d.g.sources[1].kind, MM_REPO_SOURCE_SSMIX2_EXT);
        gdec_release(&d);
        mm_buf_release(&e);
        mm_buf_release(&r);
    }
    mm_buf_release(&b);
}

static void manifest__over_limit_rejected(void **state)
{
    size_t n = (size_t)MM_REPO_MANIFEST_MAX + 1;
    void *big = lazy_zeros(n);
    struct mm_repo_gen g;

    (void)state;
    assert_int_equal(mm_repo__manifest_decode(big, n, &g, NULL, NULL), MM_ECORRUPT);
    munmap(big, n);
}

/* Encoding @f fails with @code and leaves the buffer as it was. */
static void gen_encode_fails(const struct gfix *f, int code, size_t limit)
{
    mm_buf b;

    mm_buf_init(&b, limit);
    assert_int_equal(mm_buf_puts(&b, "prefix"), 0);
    assert_int_equal(mm_repo__manifest_encode(&f->g, f->ids, f->nids, &b), code);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.ptr, "prefix");
    assert_no_secret();
    mm_buf_release(&b);
}

static void manifest__encode_refuses_invalid(void **state)
{
    static struct gfix f, good;
    uint64_t rng = 4;
    char longpath[MM_LIMIT_PATH + 2];
    mm_buf b;

    (void)state;
    memset(longpath, 'p', sizeof(longpath));
    longpath[MM_LIMIT_PATH + 1] = '\0';
    do
        random_gen(&rng, &good);
    while (good.g.nsources < 2);
    snprintf(good.snames[1], sizeof(good.snames[1]), "%s", SECRET);
    gfix_copy(&f, &good);
    gen_encode_ok(&f, &b);
    mm_buf_release(&b);
    f.g.host = NULL;
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    f.g.user = NULL;
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    f.g.guard = NULL;
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    snprintf(f.guard, sizeof(f.guard), "ok");
    f.g.guard = f.guard;
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    snprintf(f.host, sizeof(f.host), "a\x1b]0;x");
    f.g.host = f.host;
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    snprintf(f.name, sizeof(f.name), "\xff");
    f.g.name = f.name;
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    snprintf(f.g.parent, sizeof(f.g.parent), "ABCD");
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    f.g.nsources = 0;
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    f.src[1].kind = (enum mm_repo_source_kind)3;
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    snprintf(f.snames[1], sizeof(f.snames[1]), "a/b");
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    snprintf(f.snames[1], sizeof(f.snames[1]), "..");
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    f.src[1].name = NULL;
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    f.src[0].path = longpath;
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    longpath[MM_LIMIT_PATH] = '\0'; /* the longest path is fine */
    gen_encode_ok(&f, &b);
    mm_buf_release(&b);
    gfix_copy(&f, &good);
    f.g.has_index = 0, f.nids = 1;
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    f.g.has_index = 1, f.nids = 1;
    {
        struct mm_repo_gen g = f.g;
        mm_buf c;

        mm_buf_init(&c, LIMIT);
        assert_int_equal(mm_repo__manifest_encode(&g, NULL, 1, &c), MM_EINVAL);
        mm_buf_release(&c);
    }
    gfix_copy(&f, &good);
    snprintf(f.reasons, sizeof(f.reasons), "bad \xff");
    f.g.guard_reasons = f.reasons;
    gen_encode_fails(&f, MM_EINVAL, LIMIT);
    gfix_copy(&f, &good);
    snprintf(f.reasons, sizeof(f.reasons), "line\nline\t\x1b");
    f.g.guard_reasons = f.reasons;
    gen_encode_ok(&f, &b); /* control characters are fine in the reasons */
    mm_buf_release(&b);
    /* the buffer's limit, and MM_REPO_MANIFEST_MAX */
    gfix_copy(&f, &good);
    gen_encode_ok(&f, &b);
    gen_encode_fails(&f, MM_ELIMIT, 6 + b.len - 1);
    mm_buf_release(&b);
    {
        size_t n = MM_REPO_MANIFEST_MAX / ID_SIZE;
        void *ids = lazy_zeros(n * ID_SIZE);
        struct mm_repo_gen g = good.g;

        mm_buf_init(&b, SIZE_MAX);
        g.has_index = 1;
        assert_int_equal(mm_repo__manifest_encode(&g, ids, n, &b), MM_ELIMIT);
        assert_int_equal(b.len, 0);
        mm_buf_release(&b);
        munmap(ids, n * ID_SIZE);
    }
}

static void manifest__alloc_failure(void **state)
{
    static struct gfix f;
    uint64_t rng = 64;
    mm_buf b;
    long k;
    int rc;

    (void)state;
    mm_alloc_track(1); /* exact, unlike glibc's heap statistics: see common/alloc.h */
    do
        random_gen(&rng, &f);
    while (!f.g.has_index || !f.nids || !f.g.name || !f.g.guard_reasons || f.g.nsources < 3);
    gen_encode_ok(&f, &b);
    for (k = 1;; k++) {
        struct gdec d;

        mm_alloc_fail_at(k, 0);
        rc = gen_decode(b.ptr, b.len, &d); /* checks the generation is zeroed on failure */
        mm_alloc_fail_at(0, 0);
        if (rc == 0) {
            assert_gen_equal(&f.g, &d.g);
            gdec_release(&d);
            break;
        }
        assert_int_equal(rc, MM_ENOMEM);
    }
    /* sources array, name, host, user, 2 per source, ids, guard, reasons */
    assert_int_equal(k, 1 + 3 + 2 * (long)f.g.nsources + 3 + 1);
    for (k = 1;; k++) {
        mm_buf e;

        mm_buf_init(&e, LIMIT);
        mm_alloc_fail_at(k, 0);
        rc = mm_repo__manifest_encode(&f.g, f.ids, f.nids, &e);
        mm_alloc_fail_at(0, 0);
        assert_true(rc == 0 || (rc == MM_ENOMEM && e.len == 0));
        mm_buf_release(&e);
        if (rc == 0)
            break;
    }
    mm_buf_release(&b);
    assert_int_equal(mm_alloc_live(), 0); /* every path freed all it allocated */
    mm_alloc_track(0);
}

static void gen__release_and_free(void **state)
{
    static struct gfix f;
    uint64_t rng = 3;
    struct mm_repo_gen *v = calloc(3, sizeof(*v)), zero;
    mm_buf b;

    (void)state;
    assert_non_null(v);
    memset(&zero, 0, sizeof(zero));
    for (size_t i = 0; i < 3; i++) {
        random_gen(&rng, &f);
        gen_encode_ok(&f, &b);
        assert_int_equal(mm_repo__manifest_decode(b.ptr, b.len, &v[i], NULL, NULL), 0);
        mm_buf_release(&b);
    }
    mm_repo_gen_release(&v[2]);
    assert_memory_equal(&v[2], &zero, sizeof(zero));
    mm_repo_gen_release(&v[2]); /* twice is fine */
    mm_repo_gen_release(NULL);
    mm_repo_gens_free(v, 3);
    mm_repo_gens_free(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tree__roundtrip),
        cmocka_unit_test(tree__raw_names_survive),
        cmocka_unit_test(tree__truncations_rejected),
        cmocka_unit_test(tree__byte_flips),
        cmocka_unit_test(tree__rejects_bad_names),
        cmocka_unit_test(tree__rejects_unsorted),
        cmocka_unit_test(tree__rejects_duplicate_names),
        cmocka_unit_test(tree__rejects_bad_header),
        cmocka_unit_test(tree__rejects_count_too_large),
        cmocka_unit_test(tree__rejects_bad_entries),
        cmocka_unit_test(tree__mode_fits_kind),
        cmocka_unit_test(tree__over_limit_rejected),
        cmocka_unit_test(tree__encode_refuses_invalid),
        cmocka_unit_test(tree__encode_respects_limit),
        cmocka_unit_test(tree__alloc_failure),
        cmocka_unit_test(packtab__roundtrip),
        cmocka_unit_test(packtab__truncations_and_flips),
        cmocka_unit_test(packtab__rejects),
        cmocka_unit_test(packtab__rejects_bad_count),
        cmocka_unit_test(packtab__encode_refuses_invalid),
        cmocka_unit_test(ixfile__roundtrip),
        cmocka_unit_test(ixfile__truncations_and_flips),
        cmocka_unit_test(ixfile__rejects),
        cmocka_unit_test(ixfile__over_limit_rejected),
        cmocka_unit_test(ixfile__encode_refuses_invalid),
        cmocka_unit_test(ixfile__alloc_failure),
        cmocka_unit_test(manifest__roundtrip),
        cmocka_unit_test(manifest__truncations_rejected),
        cmocka_unit_test(manifest__byte_flips),
        cmocka_unit_test(manifest__missing_required_rejected),
        cmocka_unit_test(manifest__unknown_tags_skipped),
        cmocka_unit_test(manifest__unstable_files_round_trip),
        cmocka_unit_test(manifest__index_twins),
        cmocka_unit_test(manifest__patient_index_check),
        cmocka_unit_test(manifest__storages),
        cmocka_unit_test(manifest__viewer_files),
        cmocka_unit_test(attention__judge),
        cmocka_unit_test(manifest__rejects_bad_values),
        cmocka_unit_test(manifest__rejects_order_and_duplicates),
        cmocka_unit_test(manifest__over_limit_rejected),
        cmocka_unit_test(manifest__encode_refuses_invalid),
        cmocka_unit_test(manifest__alloc_failure),
        cmocka_unit_test(gen__release_and_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
