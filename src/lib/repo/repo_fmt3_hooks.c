/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hooks of repo_fmt3.h: a walk over every sealed thing of the format 3 packs as they lie
 * in their files (for the key harness), and a minimal generation written through any handle,
 * a host credential's included (the seal path with public material only).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "repo/repo_fmt3.h"
#include "repo/repo_int.h"

/* Walk the pack @id: its sealed data key, objects (from its table) and table. */
static int walk_pack(mm_repo *r, const unsigned char id[ID_SIZE], mm_repo_sealed_fn fn, void *ctx)
{
    struct mm_repo__obj *objs = NULL;
    size_t nobj = 0;
    char rel[80];
    mm_buf pack;
    const unsigned char *p;
    uint32_t tlen;
    int err;

    mm_repo__pack_rel(id, rel);
    mm_buf_init(&pack, MM_REPO_PACK_MAX);
    if ((err = mm_repo__read(r, rel, &pack)) < 0)
        goto out;
    p = (const unsigned char *)pack.ptr;
    if (pack.len < MM_REPO__PACK_HEAD3 + 8 || mm_get_le32(p + 4) != MM_REPO_PACK_VERSION3) {
        err = mm_error_set(MM_ECORRUPT, "pack '%.12s' is not a format 3 pack", rel + 8);
        goto out;
    }
    fn(MM_REPO_SEALED_DATAKEY, p + 8, MM_CRYPTO_SEALED_DK_SIZE, NULL, 0, ctx);
    if ((err = mm_repo__pack_table(r, id, pack.len, &objs, &nobj)) < 0)
        goto out;
    for (size_t k = 0; k < nobj; k++)
        fn(MM_REPO_SEALED_OBJECT, p + objs[k].offset, objs[k].length, objs[k].id, ID_SIZE, ctx);
    tlen = mm_get_le32(p + pack.len - 8);
    fn(MM_REPO_SEALED_TABLE, p + pack.len - 8 - tlen + ID_SIZE, tlen - ID_SIZE,
       p + pack.len - 8 - tlen, ID_SIZE, ctx);
out:
    mm_free(objs);
    mm_buf_release(&pack);
    return err;
}

long mm_repo_fmt3_pack_walk(mm_repo *r, mm_repo_sealed_fn fn, void *ctx)
{
    unsigned char *ids = NULL;
    size_t n = 0;
    int err;

    MM_ASSERT_ARG(r && fn);
    if ((err = mm_repo__list_packs(r, &ids, &n)) < 0)
        return err;
    for (size_t i = 0; i < n && err == 0; i++)
        err = walk_pack(r, ids + i * ID_SIZE, fn, ctx);
    mm_free(ids);
    return err < 0 ? err : (long)n;
}

int mm_repo_fmt3_first_pack_key(mm_repo *r, unsigned char dk[MM_CRYPTO_DK_SIZE])
{
    unsigned char *ids = NULL;
    size_t n = 0;
    int err, legacy = 0;

    if ((err = mm_repo__list_packs(r, &ids, &n)) < 0)
        return err;
    if (n == 0)
        err = mm_error_set(MM_ENOTFOUND, "the repository has no pack");
    else if ((err = mm_repo__pack_key(r, ids, dk, &legacy)) == 0 && legacy)
        err = mm_error_set(MM_ENOTFOUND, "the first pack is not a format 3 pack");
    mm_free(ids);
    return err;
}

/* Seal @n bytes as object @type into @pw. OUT: @id */
static int put(mm_repo *r, struct mm_repo__work *w, struct mm_repo__packw *pw, uint8_t type,
               const void *p, size_t n, unsigned char id[ID_SIZE])
{
    size_t off = pw->data.len;
    int err;

    if ((err = mm_crypto_object_id(r->ks, p, n, id)) < 0 ||
        (err = mm_repo__object_seal_dk(r, w, pw->dk, id, p, n, NULL, &pw->data)) < 0)
        return err;
    return mm_repo__packw_record(pw, id, type, off, (uint32_t)n);
}

/* The two trees: @src holding @name (the file @blob of @n bytes), the root holding @src. */
static int put_trees(mm_repo *r, struct mm_repo__work *w, struct mm_repo__packw *pw,
                     const char *src, const char *name, const unsigned char *blob, size_t n,
                     unsigned char root[ID_SIZE])
{
    struct mm_repo__entry e = { 0 };
    struct mm_repo__tree tree = { &e, 1, NULL };
    unsigned char sub[ID_SIZE];
    mm_buf tb;
    int err;

    mm_buf_init(&tb, 1 << 20);
    e.name = name;
    e.namelen = (uint32_t)strlen(name);
    e.kind = MM_REPO_KIND_FILE;
    e.mode = 0100644;
    e.size = n;
    e.ids = blob;
    e.nids = 1;
    if ((err = mm_repo__tree_encode(&tree, &tb)) < 0 ||
        (err = put(r, w, pw, MM_REPO_OBJ_TREE, tb.ptr, tb.len, sub)) < 0)
        goto out;
    mm_buf_clear(&tb);
    memset(&e, 0, sizeof(e));
    e.name = src;
    e.namelen = (uint32_t)strlen(src);
    e.kind = MM_REPO_KIND_DIR;
    e.mode = 040755;
    e.ids = sub;
    e.nids = 1;
    if ((err = mm_repo__tree_encode(&tree, &tb)) == 0)
        err = put(r, w, pw, MM_REPO_OBJ_TREE, tb.ptr, tb.len, root);
out:
    mm_buf_release(&tb);
    return err;
}

int mm_repo_fmt3_write_file_gen(mm_repo *r, const char *src, const char *name, const void *data,
                                size_t n, char gen_out[MM_CRYPTO_HEX_SIZE])
{
    struct mm_repo__work w;
    struct mm_repo__packw pw = { 0 };
    struct mm_repo__packinfo pi;
    struct mm_repo_gen_source s = { 0 };
    struct mm_repo_gen g = { 0 };
    unsigned char blob[ID_SIZE];
    char path[300];
    int err;

    MM_ASSERT_ARG(r && src && name && (data || n == 0) && gen_out);
    if (r->version < 3)
        return mm_error_set(MM_EINVAL, "not a format 3 repository");
    if ((err = mm_repo__work_init(&w)) < 0)
        return err;
    if ((err = mm_repo__packw_start(r, &pw)) < 0 ||
        (err = put(r, &w, &pw, MM_REPO_OBJ_BLOB, data, n, blob)) < 0 ||
        (err = put_trees(r, &w, &pw, src, name, blob, n, g.root)) < 0 ||
        (err = mm_repo__packw_finish(r, &w, &pw, pi.id, &pi.size)) < 0)
        goto out;
    pi.objs = pw.objs;
    pi.nobjs = pw.n;
    if ((err = mm_repo__ixfile_write(r, &pi, 1, NULL)) < 0)
        goto out;
    snprintf(path, sizeof(path), "/%s", src);
    s.path = path;
    s.name = (char *)(uintptr_t)src;
    g.host = (char *)(uintptr_t) "mamori-fmt3";
    g.user = r->user;
    g.start_ns = g.end_ns = mm_repo__now_ns();
    g.sources = &s;
    g.nsources = 1;
    g.guard = (char *)(uintptr_t) "none";
    err = mm_repo__gen_write(r, &g, NULL, 0, gen_out);
out:
    mm_repo__packw_release(&pw);
    mm_repo__work_release(&w);
    return err;
}
