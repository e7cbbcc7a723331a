/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writing packs (mm_repo__packw: objects appended, the table sealed at the end, the file
 * written crash-safely under the hash of its bytes) and the ID sets a backup uses to know
 * which objects it has claimed (open addressing on the IDs, which are uniform hashes).
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

/* ---- pack writing ---------------------------------------------------------------------------- */

int mm_repo__packw_start(const mm_repo *r, struct mm_repo__packw *p)
{
    unsigned char head[MM_REPO__PACK_HEAD3], rpk[MM_CRYPTO_PK_SIZE];
    int err;

    if (!p->data.limit)
        mm_buf_init(&p->data, MM_REPO_PACK_MAX);
    mm_buf_clear(&p->data);
    p->n = 0;
    if (p->reserve && (err = mm_buf_reserve(&p->data, p->reserve)) < 0)
        return err;
    memcpy(head, "MMPK", 4);
    mm_put_le32(head + 4, MM_REPO_PACK_VERSION);
    p->fmt3 = r->version >= 3;
    if (!p->fmt3)
        return mm_buf_put(&p->data, head, 8);
    /* format 3: a fresh data key, sealed to the reader key in the header */
    mm_put_le32(head + 4, MM_REPO_PACK_VERSION3);
    mm_crypto_datakey_new(p->dk);
    mm_keyset_reader_pk(r->ks, rpk);
    if ((err = mm_crypto_datakey_seal(rpk, p->dk, head + 8)) < 0)
        return err;
    return mm_buf_put(&p->data, head, sizeof(head));
}

int mm_repo__packw_record(struct mm_repo__packw *p, const unsigned char id[ID_SIZE], uint8_t type,
                          size_t off, uint32_t plain)
{
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 1024;
        void *nv = mm_realloc(p->objs, ncap * sizeof(*p->objs));
        if (!nv)
            return mm_error_set(MM_ENOMEM, "out of memory");
        p->objs = nv;
        p->cap = ncap;
    }
    memcpy(p->objs[p->n].id, id, ID_SIZE);
    p->objs[p->n].type = type;
    p->objs[p->n].offset = (uint32_t)off;
    p->objs[p->n].length = (uint32_t)(p->data.len - off);
    p->objs[p->n].plain = plain;
    p->n++;
    return 0;
}

int mm_repo__packw_finish(mm_repo *r, struct mm_repo__work *w, struct mm_repo__packw *p,
                          unsigned char id_out[ID_SIZE], uint64_t *size)
{
    unsigned char tail[8], tid[ID_SIZE];
    char rel[80];
    mm_buf table;
    size_t tstart = p->data.len;
    int err;

    mm_buf_init(&table, MM_REPO_PACK_MAX);
    if ((err = mm_repo__packtab_encode(p->objs, p->n, &table)) < 0 ||
        (err = mm_crypto_object_id(r->ks, table.ptr, table.len, tid)) < 0 ||
        /* room for the sealed table in one step (growing would double a 16 MiB pack) */
        (err = mm_buf_reserve(&p->data, p->data.len + ID_SIZE + ZSTD_compressBound(table.len) + 1 +
                                                MM_CRYPTO_SEAL_OVERHEAD + 64)) < 0 ||
        (err = mm_buf_put(&p->data, tid, ID_SIZE)) < 0 ||
        (err = mm_repo__object_seal_dk(r, w, p->fmt3 ? p->dk : NULL, tid, table.ptr, table.len,
                                       NULL, &p->data)) < 0)
        goto out;
    mm_put_le32(tail, (uint32_t)(p->data.len - tstart));
    memcpy(tail + 4, "MMPK", 4);
    if ((err = mm_buf_put(&p->data, tail, sizeof(tail))) < 0)
        goto out;
    mm_crypto_hash(p->data.ptr, p->data.len, id_out);
    mm_repo__pack_rel(id_out, rel);
    *size = p->data.len;
    err = mm_repo__write(r, rel, p->data.ptr, p->data.len);
out:
    if (err < 0)
        mm_buf_truncate(&p->data, tstart);
    mm_buf_release(&table);
    return err;
}

void mm_repo__packw_release(struct mm_repo__packw *p)
{
    mm_crypto_wipe(p->dk, sizeof(p->dk));
    mm_buf_release(&p->data);
    mm_free(p->objs);
    memset(p, 0, sizeof(*p));
}

int mm_repo__ixfile_write(mm_repo *r, const struct mm_repo__packinfo *p, size_t n, char rel_out[96])
{
    mm_buf plain;
    int err;

    mm_buf_init(&plain, MM_REPO_IXFILE_MAX);
    /* the packs it names are stored before it, and it before anything that relies on it (a
     * manifest, prune's removals): flushes around it (a queuing backend) */
    if ((err = mm_repo__ixfile_encode(p, n, &plain)) == 0 && (err = mm_repo__flush(r)) == 0 &&
        (err = mm_repo__sealed_write(r, "index", "MMIX", plain.ptr, plain.len, MM_REPO_IXFILE_MAX,
                                     NULL, rel_out)) == 0)
        err = mm_repo__flush(r);
    mm_buf_release(&plain);
    return err;
}

/* ---- ID sets -------------------------------------------------------------------------------- */

uint8_t mm_repo__idset_get(const struct mm_repo__idset *s, const unsigned char id[ID_SIZE])
{
    size_t mask, i;

    if (!s->cap)
        return 0;
    mask = s->cap - 1;
    for (i = mm_repo__id_hash(id) & mask; s->vals[i]; i = (i + 1) & mask)
        if (memcmp(s->keys[i], id, ID_SIZE) == 0)
            return s->vals[i];
    return 0;
}

int mm_repo__idset_put(struct mm_repo__idset *s, const unsigned char id[ID_SIZE], uint8_t v)
{
    size_t mask, i;

    if ((s->n + 1) * 2 > s->cap) {
        struct mm_repo__idset g = { 0 };
        g.cap = s->cap ? s->cap * 2 : 1024;
        g.keys = mm_malloc(g.cap * ID_SIZE);
        g.vals = mm_calloc(g.cap, 1);
        if (!g.keys || !g.vals) {
            mm_free(g.keys);
            mm_free(g.vals);
            return mm_error_set(MM_ENOMEM, "out of memory");
        }
        for (size_t k = 0; k < s->cap; k++)
            if (s->vals[k]) {
                size_t j = mm_repo__id_hash(s->keys[k]) & (g.cap - 1);
                while (g.vals[j])
                    j = (j + 1) & (g.cap - 1);
                memcpy(g.keys[j], s->keys[k], ID_SIZE);
                g.vals[j] = s->vals[k];
            }
        g.n = s->n;
        mm_repo__idset_release(s);
        *s = g;
    }
    mask = s->cap - 1;
    for (i = mm_repo__id_hash(id) & mask; s->vals[i]; i = (i + 1) & mask)
        if (memcmp(s->keys[i], id, ID_SIZE) == 0) {
            s->vals[i] = v;
            return 0;
        }
    memcpy(s->keys[i], id, ID_SIZE);
    s->vals[i] = v;
    s->n++;
    return 0;
}

void mm_repo__idset_release(struct mm_repo__idset *s)
{
    mm_free(s->keys);
    mm_free(s->vals);
    memset(s, 0, sizeof(*s));
}

int mm_repo__object_get(mm_repo *r, struct mm_repo__work *w, const unsigned char id[ID_SIZE],
                        mm_buf *out)
{
    struct mm_repo__loc loc, *l;
    unsigned char packid[ID_SIZE];
    char rel[80], hex[MM_CRYPTO_HEX_SIZE];
    unsigned char *sealed;
    int err, found;

    pthread_rwlock_rdlock(&r->ix.lock);
    l = mm_repo__index_find(&r->ix, id);
    found = l && !l->pending;
    if (found) {
        loc = *l;
        memcpy(packid, r->ix.packs[loc.pack].id, ID_SIZE);
    }
    pthread_rwlock_unlock(&r->ix.lock);
    mm_crypto_hex(id, hex);
    if (!found)
        return mm_error_set(MM_ENOTFOUND, "object '%.12s' is not in the index", hex);
    mm_repo__pack_rel(packid, rel);
    sealed = mm_malloc(loc.length ? loc.length : 1);
    if (!sealed)
        return mm_error_set(MM_ENOMEM, "out of memory reading an object");
    err = mm_repo__read_at(r, rel, loc.offset, sealed, loc.length);
    if (err == 0)
        err = mm_repo__object_open(r, w, id, sealed, loc.length, loc.plain, out);
    if (err < 0)
        err = mm_error_set(err, "object '%.12s' in pack '%.12s': %s", hex, rel + 8,
                           mm_error_last());
    mm_free(sealed);
    return err;
}

int mm_repo__tree_get(mm_repo *r, struct mm_repo__work *w, const unsigned char id[ID_SIZE],
                      struct mm_repo__tree *out)
{
    mm_buf b;
    int err;

    if (r->cat) /* a host's backup: the trees it knows are in its catalog, in the clear */
        return mm_repo__catalog_tree(r->cat, id, out);
    mm_buf_init(&b, MM_REPO_TREE_MAX);
    err = mm_repo__object_get(r, w, id, &b);
    if (err == 0)
        err = mm_repo__tree_decode(b.ptr, b.len, out);
    mm_buf_release(&b);
    return err;
}
