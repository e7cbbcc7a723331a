/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Objects: the codec (a codec byte, then the plaintext raw or zstd-compressed, whichever is
 * smaller; sealed under the plaintext's keyed ID), the object index (every object of every
 * index file, by ID, in one open-addressing table: about 50 bytes per object), and reading
 * an object back from its pack with every check: MAC, decompression bound, content hash.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/limits.h"
#include "repo/repo_int.h"

enum { CODEC_RAW = 0, CODEC_ZSTD = 1, CODEC_ZSTD_DICT = 2 };
#define CCTX_KEEP (1024u * 1024u) /* a compression context larger than this is not kept */

int mm_repo__work_init(struct mm_repo__work *w)
{
    memset(w, 0, sizeof(*w));
    mm_buf_init(&w->scratch, MM_REPO_IXFILE_MAX);
    w->cctx = ZSTD_createCCtx();
    w->dctx = ZSTD_createDCtx();
    if (!w->cctx || !w->dctx) {
        mm_repo__work_release(w);
        return mm_error_set(MM_ENOMEM, "out of memory for compression");
    }
    return 0;
}

void mm_repo__work_release(struct mm_repo__work *w)
{
    ZSTD_freeCCtx(w->cctx);
    ZSTD_freeDCtx(w->dctx);
    mm_buf_release(&w->scratch);
    memset(w, 0, sizeof(*w));
}

int mm_repo__object_seal(const mm_repo *r, struct mm_repo__work *w, const unsigned char id[ID_SIZE],
                         const void *p, size_t n, const struct mm_repo__dict *dict, mm_buf *out)
{
    return mm_repo__object_seal_dk(r, w, NULL, id, p, n, dict, out);
}

int mm_repo__object_seal_dk(const mm_repo *r, struct mm_repo__work *w, const unsigned char *dk,
                            const unsigned char id[ID_SIZE], const void *p, size_t n,
                            const struct mm_repo__dict *dict, mm_buf *out)
{
    struct mm_repo__work tmp;
    size_t bound = ZSTD_compressBound(n), got;
    int err = 0, own = 0;

    if (!w) {
        if ((err = mm_repo__work_init(&tmp)) < 0)
            return err;
        w = &tmp;
        own = 1;
    }
    mm_buf_clear(&w->scratch);
    if ((err = mm_buf_grow(&w->scratch, bound + 1)) < 0)
        goto out;
    if (n < 16)
        got = 0;
    else if (dict)
        got = ZSTD_compress_usingCDict(w->cctx, w->scratch.ptr + 1, bound, p, n, dict->cdict);
    else if (n < 64)
        got = 0;
    else
        got = ZSTD_compressCCtx(w->cctx, w->scratch.ptr + 1, bound, p, n, r->cfg.zstd_level);
    if (got != 0 && !ZSTD_isError(got) && got < n) {
        w->scratch.ptr[0] = dict ? CODEC_ZSTD_DICT : CODEC_ZSTD;
        w->scratch.len = got + 1;
    } else {
        w->scratch.ptr[0] = CODEC_RAW;
        if (n)
            memcpy(w->scratch.ptr + 1, p, n);
        w->scratch.len = n + 1;
    }
    err = dk ? mm_crypto_seal_dk(dk, id, w->scratch.ptr, w->scratch.len, out)
             : mm_crypto_seal(r->ks, id, w->scratch.ptr, w->scratch.len, out);
out:
    if (w->scratch.cap > (1u << 20))
        mm_buf_release(&w->scratch); /* keep only small scratch space between objects */
    if (ZSTD_sizeof_CCtx(w->cctx) > CCTX_KEEP) {
        /* a large object grew the context (window, tables): sixteen workers would keep
         * that much each; small files, the common case, need a fraction of it */
        ZSTD_CCtx *c = ZSTD_createCCtx();
        if (c) {
            ZSTD_freeCCtx(w->cctx);
            w->cctx = c;
        }
    }
    if (own)
        mm_repo__work_release(&tmp);
    return err;
}

/*
 * The steps of opening an object: MAC, decompress, content hash. The plaintext is appended
 * to @out, or when @dst is not NULL written to @dst, which has room for exactly @plain bytes
 * and must be filled (a block whose size its index knows).
 */
static int object_open(const mm_repo *r, struct mm_repo__work *w, const unsigned char *dk,
                       const unsigned char id[ID_SIZE], const void *p, size_t n, uint32_t plain,
                       mm_buf *out, unsigned char *dst)
{
    struct mm_repo__work tmp;
    unsigned char check[ID_SIZE], *to;
    size_t start = out ? out->len : 0, size, got;
    const struct mm_repo__dict *dict = NULL;
    const char *z;
    unsigned char codec;
    int err, own = 0;

    if (!w) {
        if ((err = mm_repo__work_init(&tmp)) < 0)
            return err;
        w = &tmp;
        own = 1;
    }
    mm_buf_clear(&w->scratch);
    if ((err = dk ? mm_crypto_open_raw_dk(dk, id, p, n, &w->scratch)
                  : mm_crypto_open_raw(r->ks, id, p, n, &w->scratch)) < 0)
        goto out;
    if (w->scratch.len < 1) {
        err = mm_error_set(MM_ECORRUPT, "object has no codec byte");
        goto out;
    }
    codec = (unsigned char)w->scratch.ptr[0];
    z = w->scratch.ptr + 1;
    if (codec == CODEC_RAW) {
        size = w->scratch.len - 1;
        if (size > plain) {
            err = mm_error_set(MM_ECORRUPT, "object is larger than its index says");
            goto out;
        }
    } else if (codec == CODEC_ZSTD || codec == CODEC_ZSTD_DICT) {
        unsigned long long fs = ZSTD_getFrameContentSize(z, w->scratch.len - 1);
        if (fs == ZSTD_CONTENTSIZE_ERROR || fs == ZSTD_CONTENTSIZE_UNKNOWN || fs > plain ||
            (out && fs > out->limit - out->len)) {
            err = mm_error_set(MM_ECORRUPT, "object has a bad compressed size");
            goto out;
        }
        size = (size_t)fs;
        if (codec == CODEC_ZSTD_DICT) {
            unsigned did = ZSTD_getDictID_fromFrame(z, w->scratch.len - 1);
            if (!(dict = mm_repo__dict_find(r, did))) {
                err = mm_error_set(MM_ECORRUPT,
                                   "object needs compression dictionary %08x, which no intact "
                                   "copy under dict/ holds",
                                   did);
                goto out;
            }
        } else if (ZSTD_getDictID_fromFrame(z, w->scratch.len - 1) != 0) {
            err = mm_error_set(MM_ECORRUPT, "object names a dictionary its codec does not use");
            goto out;
        }
    } else {
        err = mm_error_set(MM_ECORRUPT, "object has unknown codec %u", (unsigned)codec);
        goto out;
    }
    if (dst && size != plain) {
        err = mm_error_set(MM_ECORRUPT, "object is not the size its index says");
        goto out;
    }
    if (dst) {
        to = dst;
    } else {
        if ((err = mm_buf_grow(out, size)) < 0)
            goto out;
        to = (unsigned char *)out->ptr + out->len;
    }
    if (codec == CODEC_RAW) {
        if (size)
            memcpy(to, z, size);
        got = size;
    } else {
        got = dict ? ZSTD_decompress_usingDDict(w->dctx, to, size, z, w->scratch.len - 1,
                                                dict->ddict)
                   : ZSTD_decompressDCtx(w->dctx, to, size, z, w->scratch.len - 1);
        if (ZSTD_isError(got) || got != size) {
            err = mm_error_set(MM_ECORRUPT, "object does not decompress");
            goto out;
        }
    }
    if (!dst) {
        out->len += got;
        out->ptr[out->len] = '\0';
    }
    if ((err = mm_crypto_object_id(r->ks, to, got, check)) < 0)
        goto out;
    if (memcmp(check, id, ID_SIZE) != 0)
        err = mm_error_set(MM_ECORRUPT, "object content does not match its name");
out:
    if (err < 0 && out)
        mm_buf_truncate(out, start);
    mm_buf_clear(&w->scratch);
    if (w->scratch.cap > (1u << 20))
        mm_buf_release(&w->scratch);
    if (own)
        mm_repo__work_release(&tmp);
    return err;
}

/*
 * Open the object @id as it lies in its pack: format 3 packs under their data key (from the
 * pack the object index places @id in), older packs under the keyset's object key.
 */
static int object_open_in_pack(const mm_repo *r, struct mm_repo__work *w,
                               const unsigned char id[ID_SIZE], const void *p, size_t n,
                               uint32_t plain, mm_buf *out, unsigned char *dst)
{
    unsigned char dk[MM_CRYPTO_DK_SIZE];
    int err, legacy = 1;

    if (r->version >= 3 && (err = mm_repo__object_key(r, id, dk, &legacy)) < 0)
        return err;
    err = object_open(r, w, legacy ? NULL : dk, id, p, n, plain, out, dst);
    if (!legacy)
        mm_crypto_wipe(dk, sizeof(dk));
    return err;
}

int mm_repo__object_open(const mm_repo *r, struct mm_repo__work *w, const unsigned char id[ID_SIZE],
                         const void *p, size_t n, uint32_t plain, mm_buf *out)
{
    return object_open_in_pack(r, w, id, p, n, plain, out, NULL);
}

int mm_repo__object_open_dk(const mm_repo *r, struct mm_repo__work *w, const unsigned char *dk,
                            const unsigned char id[ID_SIZE], const void *p, size_t n,
                            uint32_t plain, mm_buf *out)
{
    return object_open(r, w, dk, id, p, n, plain, out, NULL);
}

int mm_repo__object_open_at(const mm_repo *r, struct mm_repo__work *w,
                            const unsigned char id[ID_SIZE], const void *p, size_t n,
                            uint32_t plain, unsigned char *dst)
{
    return object_open_in_pack(r, w, id, p, n, plain, NULL, dst);
}

/* ---- the object index ----------------------------------------------------------------------- */

struct mm_repo__loc *mm_repo__index_find(struct mm_repo__objindex *ix,
                                         const unsigned char id[ID_SIZE])
{
    size_t mask, i;

    if (!ix->nslots)
        return NULL;
    mask = ix->nslots - 1;
    for (i = mm_repo__id_hash(id) & mask;; i = (i + 1) & mask) {
        uint32_t s = ix->slots[i];
        if (!s)
            return NULL;
        if (ix->tags[i] == id[8] && memcmp(ix->locs[s - 1].id, id, ID_SIZE) == 0)
            return &ix->locs[s - 1];
    }
}

/* The first free slot for @id (the table has one). */
static size_t free_slot(const uint32_t *slots, size_t mask, const unsigned char id[ID_SIZE])
{
    size_t i = mm_repo__id_hash(id) & mask;

    while (slots[i])
        i = (i + 1) & mask;
    return i;
}

/* Double the slot table (rehash). */
static int grow_slots(struct mm_repo__objindex *ix)
{
    size_t n = ix->nslots ? ix->nslots * 2 : 1024, mask = n - 1;
    uint32_t *s = mm_calloc(n, sizeof(*s));
    uint8_t *t = mm_malloc(n);

    if (!s || !t) {
        mm_free(s);
        mm_free(t);
        return mm_error_set(MM_ENOMEM, "out of memory for the object index");
    }
    for (size_t k = 0; k < ix->nlocs; k++) {
        size_t i = free_slot(s, mask, ix->locs[k].id);
        s[i] = (uint32_t)(k + 1);
        t[i] = ix->locs[k].id[8];
    }
    mm_free(ix->slots);
    mm_free(ix->tags);
    ix->slots = s;
    ix->tags = t;
    ix->nslots = n;
    return 0;
}

int mm_repo__index_add(struct mm_repo__objindex *ix, const struct mm_repo__loc *loc,
                       struct mm_repo__loc **out)
{
    struct mm_repo__loc *found = mm_repo__index_find(ix, loc->id);
    size_t i;
    int err;

    if (found) {
        if (out)
            *out = found;
        return 0;
    }
    /* at most 3/4 full: the tags keep the longer probes cheap (4 bytes a slot, not 8) */
    if ((ix->nlocs + 1) * 4 > ix->nslots * 3 && (err = grow_slots(ix)) < 0)
        return err;
    if (ix->nlocs == ix->caplocs) {
        size_t ncap = ix->caplocs ? ix->caplocs + ix->caplocs / 2 : 1024;
        struct mm_repo__loc *nl;
        if (ncap > UINT32_MAX - 1)
            return mm_error_set(MM_ELIMIT, "too many objects");
        nl = mm_realloc(ix->locs, ncap * sizeof(*nl));
        if (!nl)
            return mm_error_set(MM_ENOMEM, "out of memory for the object index");
        ix->locs = nl;
        ix->caplocs = ncap;
    }
    ix->locs[ix->nlocs] = *loc;
    i = free_slot(ix->slots, ix->nslots - 1, loc->id);
    ix->slots[i] = (uint32_t)(ix->nlocs + 1);
    ix->tags[i] = loc->id[8];
    if (out)
        *out = &ix->locs[ix->nlocs];
    ix->nlocs++;
    return 1;
}

/* Double the pack slot table (rehash). */
static int grow_packslots(struct mm_repo__objindex *ix)
{
    size_t n = ix->npackslots ? ix->npackslots * 2 : 256, mask = n - 1;
    uint32_t *s = mm_calloc(n, sizeof(*s));

    if (!s)
        return mm_error_set(MM_ENOMEM, "out of memory for the object index");
    for (size_t k = 0; k < ix->npacks; k++) {
        size_t i = mm_repo__id_hash(ix->packs[k].id) & mask;
        while (s[i])
            i = (i + 1) & mask;
        s[i] = (uint32_t)(k + 1);
    }
    mm_free(ix->packslots);
    ix->packslots = s;
    ix->npackslots = n;
    return 0;
}

int64_t mm_repo__index_add_pack(struct mm_repo__objindex *ix, const unsigned char id[ID_SIZE],
                                uint64_t size)
{
    size_t mask, i;
    int err;

    if (ix->npackslots) {
        mask = ix->npackslots - 1;
        for (i = mm_repo__id_hash(id) & mask; ix->packslots[i]; i = (i + 1) & mask)
            if (memcmp(ix->packs[ix->packslots[i] - 1].id, id, ID_SIZE) == 0)
                return (int64_t)ix->packslots[i] - 1;
    }
    if ((ix->npacks + 1) * 2 > ix->npackslots && (err = grow_packslots(ix)) < 0)
        return err;
    if (ix->npacks == ix->cappacks) {
        size_t ncap = ix->cappacks ? ix->cappacks * 2 : 256;
        void *np;
        if (ncap > MM_REPO__PACKS_MAX)
            ncap = MM_REPO__PACKS_MAX;
        if (ix->npacks >= ncap)
            return mm_error_set(MM_ELIMIT, "too many packs");
        np = mm_realloc(ix->packs, ncap * sizeof(*ix->packs));
        if (!np)
            return mm_error_set(MM_ENOMEM, "out of memory for the object index");
        ix->packs = np;
        ix->cappacks = ncap;
    }
    memcpy(ix->packs[ix->npacks].id, id, ID_SIZE);
    ix->packs[ix->npacks].size = size;
    mask = ix->npackslots - 1;
    for (i = mm_repo__id_hash(id) & mask; ix->packslots[i]; i = (i + 1) & mask)
        ;
    ix->packslots[i] = (uint32_t)(ix->npacks + 1);
    return (int64_t)ix->npacks++;
}

void mm_repo__index_release(struct mm_repo__objindex *ix)
{
    mm_free(ix->locs);
    mm_free(ix->slots);
    mm_free(ix->tags);
    mm_free(ix->packs);
    mm_free(ix->packslots);
    for (size_t i = 0; i < ix->nfiles; i++)
        mm_free(ix->files[i]);
    mm_free(ix->files);
    for (size_t i = 0; i < ix->nbad; i++)
        mm_free(ix->bad[i]);
    mm_free(ix->bad);
    for (size_t i = 0; i < ix->ntree_files; i++)
        mm_free(ix->tree_files[i]);
    mm_free(ix->tree_files);
    ix->tree_files = NULL;
    ix->ntree_files = 0;
    ix->bad = NULL;
    ix->nbad = 0;
    ix->locs = NULL;
    ix->slots = NULL;
    ix->tags = NULL;
    ix->packs = NULL;
    ix->packslots = NULL;
    ix->files = NULL;
    ix->nlocs = ix->caplocs = ix->nslots = ix->npacks = ix->cappacks = ix->nfiles = 0;
    ix->npackslots = 0;
    ix->loaded = 0;
}

/* Whether the pack @id of @r is on the medium. */
static int pack_present(const mm_repo *r, const unsigned char id[ID_SIZE])
{
    char rel[80];
    uint64_t size;

    mm_repo__pack_rel(id, rel);
    if (mm_repo__stat(r, rel, &size) == 0)
        return 1;
    mm_error_clear();
    return 0;
}

/*
 * Add the packs and objects of one decoded index file. An object stored twice (a host that
 * did not know a copy, a pack lost and stored again) is read from a pack on the medium.
 */
static int add_ixfile(const mm_repo *r, struct mm_repo__objindex *ix,
                      const struct mm_repo__packinfo *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t pk = mm_repo__index_add_pack(ix, p[i].id, p[i].size);
        if (pk < 0)
            return (int)pk;
        for (size_t k = 0; k < p[i].nobjs; k++) {
            const struct mm_repo__obj *o = &p[i].objs[k];
            struct mm_repo__loc loc, *have = NULL;
            int err;
            memcpy(loc.id, o->id, ID_SIZE);
            loc.pack = (uint32_t)pk;
            loc.offset = o->offset;
            loc.length = o->length;
            loc.plain = o->plain;
            loc.type = o->type;
            loc.pending = 0;
            if ((err = mm_repo__index_add(ix, &loc, &have)) < 0)
                return err;
            if (err == 0 && have->pack != loc.pack && !have->pending &&
                !pack_present(r, ix->packs[have->pack].id) && pack_present(r, p[i].id))
                *have = loc;
        }
    }
    return 0;
}

int mm_repo__pack_table(mm_repo *r, const unsigned char id[ID_SIZE], uint64_t size,
                        struct mm_repo__obj **out, size_t *n)
{
    unsigned char tail[8], *trailer = NULL, dk[MM_CRYPTO_DK_SIZE];
    char rel[80];
    uint32_t tlen;
    mm_buf plain;
    int err, legacy = 1;

    *out = NULL;
    *n = 0;
    mm_repo__pack_rel(id, rel);
    if (r->version >= 3 && size >= MM_REPO__PACK_HEAD3 &&
        (err = mm_repo__pack_key(r, id, dk, &legacy)) < 0)
        return err;
    if (size < 16 + ID_SIZE + MM_CRYPTO_SEAL_OVERHEAD)
        return mm_error_set(MM_ECORRUPT, "pack '%.12s' is too short", rel + 8);
    if ((err = mm_repo__read_at(r, rel, size - 8, tail, 8)) < 0)
        return err;
    tlen = mm_get_le32(tail);
    if (memcmp(tail + 4, "MMPK", 4) != 0 || tlen < ID_SIZE + MM_CRYPTO_SEAL_OVERHEAD ||
        tlen > size - 16)
        return mm_error_set(MM_ECORRUPT, "pack '%.12s' has a damaged trailer", rel + 8);
    if (!(trailer = mm_malloc(tlen)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    mm_buf_init(&plain, MM_REPO_PACK_MAX);
    if ((err = mm_repo__read_at(r, rel, size - 8 - tlen, trailer, tlen)) < 0)
        goto out;
    if ((err = mm_repo__object_open_dk(r, NULL, legacy ? NULL : dk, trailer, trailer + ID_SIZE,
                                       tlen - ID_SIZE, MM_REPO_PACK_MAX, &plain)) < 0 ||
        (err = mm_repo__packtab_decode(plain.ptr, plain.len, size - 8 - tlen, out, n)) < 0)
        err = mm_error_set(err == MM_EAUTH ? MM_ECORRUPT : err, "pack '%.12s': table: %s", rel + 8,
                           mm_error_last());
out:
    mm_crypto_wipe(dk, sizeof(dk));
    mm_free(trailer);
    mm_buf_release(&plain);
    return err;
}

/* The IDs of every pack file under data/ (data/<aa>/<64 hex>). */
static int list_packs(mm_repo *r, unsigned char **out, size_t *nout)
{
    unsigned char *v = NULL;
    size_t n = 0, cap = 0;
    int err = 0;

    *out = NULL;
    *nout = 0;
    for (int a = 0; a < 256; a++) {
        char dir[16];
        char **names = NULL;
        size_t k = 0;
        snprintf(dir, sizeof(dir), "data/%02x", a);
        if ((err = mm_repo__list(r, dir, &names, &k)) < 0)
            break;
        for (size_t i = 0; i < k; i++) {
            if (strncmp(names[i], dir + 5, 2) != 0)
                continue;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                unsigned char *nv = mm_realloc(v, ncap * ID_SIZE);
                if (!nv) {
                    err = mm_error_set(MM_ENOMEM, "out of memory");
                    break;
                }
                v = nv;
                cap = ncap;
            }
            mm_crypto_hex_parse(names[i], v + n * ID_SIZE);
            n++;
        }
        mm_repo__list_free(names, k);
        if (err < 0)
            break;
    }
    if (err < 0) {
        mm_free(v);
        return err;
    }
    *out = v;
    *nout = n;
    return 0;
}

int mm_repo__list_packs(mm_repo *r, unsigned char **out, size_t *n)
{
    return list_packs(r, out, n);
}

/* Add the tables of packs that no loaded index file names. */
static int scan_unindexed(mm_repo *r)
{
    struct mm_repo__objindex *ix = &r->ix;
    struct mm_repo__idset known = { 0 };
    unsigned char *ids = NULL;
    size_t n = 0;
    int err;

    for (size_t i = 0; i < ix->npacks; i++)
        if ((err = mm_repo__idset_put(&known, ix->packs[i].id, 1)) < 0)
            goto out;
    if ((err = list_packs(r, &ids, &n)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct mm_repo__packinfo pi;
        char rel[80];
        if (mm_repo__idset_get(&known, ids + i * ID_SIZE))
            continue;
        mm_repo__pack_rel(ids + i * ID_SIZE, rel);
        if (mm_repo__stat(r, rel, &pi.size) < 0) {
            mm_error_clear();
            continue;
        }
        memcpy(pi.id, ids + i * ID_SIZE, ID_SIZE);
        if (mm_repo__pack_table(r, pi.id, pi.size, &pi.objs, &pi.nobjs) < 0) {
            mm_error_clear(); /* a damaged pack: verify reports it */
            continue;
        }
        err = add_ixfile(r, ix, &pi, 1);
        mm_free(pi.objs);
        if (err < 0)
            goto out;
    }
out:
    mm_free(ids);
    mm_repo__idset_release(&known);
    return err;
}

int mm_repo__index_load(mm_repo *r)
{
    struct mm_repo__objindex *ix = &r->ix;
    char **names = NULL;
    size_t n = 0, nbad = 0;
    mm_buf raw, plain;
    int err;

    if (ix->loaded)
        return 0;
    if ((err = mm_repo__dict_load(r)) < 0)
        return err;
    mm_repo__index_release(ix); /* a partial index of mm_repo__index_locate() */
    mm_buf_init(&raw, MM_REPO_IXFILE_MAX);
    mm_buf_init(&plain, MM_REPO_IXFILE_MAX);
    if ((err = mm_repo__list(r, "index", &names, &n)) < 0)
        goto out;
    if (!(ix->bad = mm_calloc(n ? n : 1, sizeof(*ix->bad)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct mm_repo__packinfo *p = NULL;
        size_t np = 0;

        err = mm_repo__sealed_read(r, "index", names[i], "MMIX", &raw, &plain);
        if (err == MM_ENOMEM || err == MM_EIO)
            goto out;
        if (err == 0)
            err = mm_repo__ixfile_decode(plain.ptr, plain.len, &p, &np);
        if (err == MM_ENOMEM)
            goto out;
        if (err < 0) {
            ix->bad[ix->nbad++] = names[i]; /* now owned by ix->bad */
            names[i] = NULL;
            nbad++;
            continue;
        }
        err = add_ixfile(r, ix, p, np);
        mm_repo__ixfile_free(p, np);
        if (err < 0)
            goto out;
    }
    err = 0;
    mm_error_clear();
    if ((err = scan_unindexed(r)) < 0)
        goto out;
    {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (names[i])
                names[k++] = names[i];
        ix->files = names; /* now owned by the index */
        ix->nfiles = k;
        names = NULL;
        n = 0;
    }
    ix->loaded = 1;
    ix->full_loads++;
out:
    mm_repo__list_free(names, n);
    mm_buf_release(&raw);
    mm_buf_release(&plain);
    return err;
}

/* What one index file holds of the objects wanted (mm_repo__index_locate). */
struct located {
    struct mm_repo__packinfo *p; /* each pack's objects cut down to the wanted ones */
    size_t np;
};

/* A thread of mm_repo__index_locate: the index file @name, its wanted objects into @res. */
struct locator {
    pthread_t t;
    mm_repo *r;
    struct mm_repo__objindex *want;
    int trees; /* keep every tree too */
    const char *name;
    struct located res;
    int err;
};

/* mm_repo__keep_fn: is the entry's object one of the wanted, or a tree when trees are kept? */
static int wanted(const unsigned char *entry, void *ctx)
{
    struct locator *x = ctx;

    return (x->trees && entry[ID_SIZE] == MM_REPO_OBJ_TREE) ||
           mm_repo__index_find(x->want, entry) != NULL;
}

static void *locator_main(void *arg)
{
    struct locator *x = arg;
    mm_buf raw, plain;
    int err;

    mm_buf_init(&raw, MM_REPO_IXFILE_MAX);
    mm_buf_init(&plain, MM_REPO_IXFILE_MAX);
    err = mm_repo__sealed_read(x->r, "index", x->name, "MMIX", &raw, &plain);
    if (err == 0)
        err = mm_repo__ixfile_decode_keep(plain.ptr, plain.len, wanted, x, &x->res.p, &x->res.np);
    if (err == MM_ENOMEM)
        x->err = err;
    else if (err < 0) /* the full load deals with damaged index files */
        mm_error_clear();
    mm_buf_release(&raw);
    mm_buf_release(&plain);
    return NULL;
}

/* An index file and its modification time, to read the newest first. */
struct ixname {
    char *name;
    int64_t mtime_ns;
};

static int ixname_newest_first(const void *a, const void *b)
{
    const struct ixname *x = a, *y = b;

    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* How many of the objects of @want @ix knows. */
static size_t known(struct mm_repo__objindex *ix, const struct mm_repo__objindex *want)
{
    size_t n = 0;

    for (size_t i = 0; i < want->nlocs; i++)
        n += mm_repo__index_find(ix, want->locs[i].id) != NULL;
    return n;
}

/* Whether the index file @name had all its trees kept by an earlier lookup. */
static int trees_kept(const struct mm_repo__objindex *ix, const char *name)
{
    for (size_t i = 0; i < ix->ntree_files; i++)
        if (strcmp(ix->tree_files[i], name) == 0)
            return 1;
    return 0;
}

/* Note that the index file @name had all its trees kept. @return 0, MM_ENOMEM */
static int note_trees_kept(struct mm_repo__objindex *ix, const char *name)
{
    char **v = mm_realloc(ix->tree_files, (ix->ntree_files + 1) * sizeof(*v));

    if (!v)
        return mm_error_set(MM_ENOMEM, "out of memory");
    ix->tree_files = v;
    if (!(v[ix->ntree_files] = mm_strdup(name)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    ix->ntree_files++;
    return 0;
}

int mm_repo__index_locate(mm_repo *r, const unsigned char *ids, size_t n, int trees)
{
    struct mm_repo__objindex want = { 0 }, *ix = &r->ix;
    struct locator x[4];
    struct ixname *order = NULL;
    char **names = NULL;
    size_t nfiles = 0, found = 0, nt;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int err;

    if (ix->loaded)
        return 0;
    if ((err = mm_repo__dict_load(r)) < 0)
        return err;
    /* the partial index of earlier lookups stays: only objects it lacks are looked up */
    for (size_t i = 0; i < n; i++) {
        struct mm_repo__loc loc = { 0 };
        if (mm_repo__index_find(ix, ids + i * ID_SIZE))
            continue;
        memcpy(loc.id, ids + i * ID_SIZE, ID_SIZE);
        if ((err = mm_repo__index_add(&want, &loc, NULL)) < 0) /* 1: added, 0: a repeat */
            goto out;
    }
    if (want.nlocs == 0)
        goto out;
    if ((err = mm_repo__list(r, "index", &names, &nfiles)) < 0)
        goto out;
    /* a generation's index blocks were written at the end of its backup (or of an earlier
     * one, when unchanged): the newest index files hold them; older ones mostly hold files */
    if (!(order = mm_calloc(nfiles ? nfiles : 1, sizeof(*order)))) {
        err = MM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nfiles; i++) {
        char rel[96], path[MM_LIMIT_PATH];
        struct stat st;
        order[i].name = names[i];
        snprintf(rel, sizeof(rel), "index/%s", names[i]);
        /* a hint of a local folder (an object store: the names' order) */
        if (mm_repo__local(r) && mm_repo__path(r, rel, path, sizeof(path)) == 0 &&
            stat(path, &st) == 0)
            order[i].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    }
    qsort(order, nfiles, sizeof(*order), ixname_newest_first);
    if (trees) { /* the trees of files read that way before are known: those files are skipped */
        size_t k = 0;
        for (size_t i = 0; i < nfiles; i++)
            if (!trees_kept(ix, order[i].name))
                order[k++] = order[i];
        nfiles = k;
    }
    nt = cpus < 2 ? 1 : cpus > 4 ? 4 : (size_t)cpus;
    /* rounds of one file per core, until every object is found */
    for (size_t i = 0; i < nfiles && found < want.nlocs && err == 0; i += nt) {
        size_t started = 0, m = nfiles - i < nt ? nfiles - i : nt;
        for (size_t k = 0; k < m; k++) {
            x[k] = (struct locator){
                .r = r, .want = &want, .trees = trees, .name = order[i + k].name
            };
            if (pthread_create(&x[k].t, NULL, locator_main, &x[k]) != 0) {
                err = mm_error_set(MM_ENOMEM, "cannot start a thread");
                break;
            }
            started++;
        }
        for (size_t k = 0; k < started; k++) {
            pthread_join(x[k].t, NULL);
            if (x[k].err < 0 && err == 0)
                err = mm_error_set(x[k].err, "out of memory reading the index files");
        }
        for (size_t k = 0; k < started && err == 0; k++) {
            err = add_ixfile(r, ix, x[k].res.p, x[k].res.np);
            if (err == 0 && trees && x[k].res.p)
                err = note_trees_kept(ix, x[k].name);
        }
        found = known(ix, &want);
        for (size_t k = 0; k < started; k++)
            mm_repo__ixfile_free(x[k].res.p, x[k].res.np);
    }
    if (err < 0)
        goto out;
    /* an object only in a pack without index file: the full load reads those packs */
    if (found < want.nlocs) {
        mm_repo__index_release(ix);
        err = mm_repo__index_load(r);
    }
    if (err == 0)
        r->ix.partial_loads++;
out:
    if (err < 0)
        mm_repo__index_release(ix);
    mm_free(order);
    mm_repo__index_release(&want);
    mm_repo__list_free(names, nfiles);
    return err;
}

void mm_repo_index_stats(const mm_repo *r, unsigned long *full, unsigned long *partial)
{
    *full = r->ix.full_loads;
    *partial = r->ix.partial_loads;
}
