/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 backend's version catalog: what ListObjectVersions said at open, one entry per key
 * (open addressing on an FNV-1a hash of the name; no generic string table exists in common/),
 * with the key's FIRST version that is not a delete marker (ONCE files are read as it, so a
 * newer version or a delete marker an attacker added changes nothing) and its NEWEST version
 * (REPLACE files; a delete marker as newest means absent). Listings come newest first per key
 * (the S3 API's order), so the last version seen of a key is its oldest.
 * Workload: up to a few hundred thousand keys, filled once, then looked up by readers under
 * the handle's mutex.
 */
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "repo/repo_s3_int.h"

/* FNV-1a of @s. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

struct mm_repo__s3_ent *mm_repo__s3_cat_get(struct mm_repo__s3_cat *c, const char *rel)
{
    size_t i, mask;

    if (!c->cap)
        return NULL;
    mask = c->cap - 1;
    for (i = name_hash(rel) & mask; c->slots[i]; i = (i + 1) & mask)
        if (strcmp(c->slots[i]->rel, rel) == 0)
            return c->slots[i];
    return NULL;
}

/* Double the table. @return 0, MM_ENOMEM */
static int cat_grow(struct mm_repo__s3_cat *c)
{
    size_t ncap = c->cap ? c->cap * 2 : 1024, k;
    struct mm_repo__s3_ent **ns = mm_calloc(ncap, sizeof(*ns));

    if (!ns)
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (k = 0; k < c->cap; k++) {
        size_t i;
        if (!c->slots[k])
            continue;
        for (i = name_hash(c->slots[k]->rel) & (ncap - 1); ns[i]; i = (i + 1) & (ncap - 1))
            ;
        ns[i] = c->slots[k];
    }
    mm_free(c->slots);
    c->slots = ns;
    c->cap = ncap;
    return 0;
}

struct mm_repo__s3_ent *mm_repo__s3_cat_put(struct mm_repo__s3_cat *c, const char *rel)
{
    struct mm_repo__s3_ent *e = mm_repo__s3_cat_get(c, rel);
    size_t i;

    if (e)
        return e;
    if ((c->n + 1) * 2 > c->cap && cat_grow(c) < 0)
        return NULL;
    if (!(e = mm_calloc(1, sizeof(*e))) || !(e->rel = mm_strdup(rel))) {
        mm_free(e);
        mm_error_set(MM_ENOMEM, "out of memory");
        return NULL;
    }
    for (i = name_hash(rel) & (c->cap - 1); c->slots[i]; i = (i + 1) & (c->cap - 1))
        ;
    c->slots[i] = e;
    c->n++;
    return e;
}

int mm_repo__s3_set_version(char **slot, const char *version)
{
    char *v = NULL;

    if (version && !(v = mm_strdup(version)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    mm_free(*slot);
    *slot = v;
    return 0;
}

void mm_repo__s3_cat_free(struct mm_repo__s3_cat *c)
{
    size_t k;

    for (k = 0; k < c->cap; k++) {
        struct mm_repo__s3_ent *e = c->slots[k];
        if (!e)
            continue;
        mm_free(e->rel);
        mm_free(e->first);
        mm_free(e->newest);
        mm_free(e->live);
        mm_free(e);
    }
    mm_free(c->slots);
    memset(c, 0, sizeof(*c));
}

/* Take one listed version @o into @e. @return 0, MM_ENOMEM */
static int ent_take(struct mm_repo__s3_ent *e, const struct mm_s3_obj *o)
{
    int err = 0;

    if (o->latest && !o->delete_marker) {
        err = mm_repo__s3_set_version(&e->newest, o->version);
        e->newest_size = o->size;
    }
    if (err == 0 && !o->delete_marker && !e->live) { /* newest first: the first seen */
        err = mm_repo__s3_set_version(&e->live, o->version);
        e->live_size = o->size;
    }
    if (err == 0 && !o->delete_marker) {
        /* newest first: each later one is older */
        err = mm_repo__s3_set_version(&e->first, o->version);
        e->first_size = o->size;
    }
    return err;
}

struct load_ctx {
    struct mm_repo__s3_cat *c;
    const char *prefix;
    size_t plen;
};

/* mm_s3_list_fn: one version of a key under the prefix. */
static int load_one(void *arg, const struct mm_s3_obj *o)
{
    struct load_ctx *x = arg;
    struct mm_repo__s3_ent *e;

    if (!o->key || strncmp(o->key, x->prefix, x->plen) != 0 || !o->key[x->plen])
        return 0;
    if (!(e = mm_repo__s3_cat_put(x->c, o->key + x->plen)))
        return MM_ENOMEM;
    return ent_take(e, o);
}

int mm_repo__s3_cat_load(struct mm_repo__s3_cat *c, mm_s3 *s, const char *prefix)
{
    struct load_ctx x = { c, prefix, strlen(prefix) };

    return mm_s3_list_versions(s, prefix, 0, load_one, &x);
}

struct key_ctx {
    const char *key;
    struct mm_repo__s3_ent *e;
};

/* mm_s3_list_fn: one version of exactly the key asked for. */
static int key_one(void *arg, const struct mm_s3_obj *o)
{
    struct key_ctx *x = arg;

    if (!o->key || strcmp(o->key, x->key) != 0)
        return 0;
    return ent_take(x->e, o);
}

int mm_repo__s3_key_versions(mm_s3 *s, const char *key, struct mm_repo__s3_ent *e)
{
    struct key_ctx x = { key, e };

    return mm_s3_list_versions(s, key, 0, key_one, &x);
}

int mm_repo__s3_is_kept_replace(const char *rel)
{
    return strncmp(rel, "keys/", 5) == 0;
}

int mm_repo__s3_is_once(const char *rel)
{
    static const char *const replace_dirs[] = { "locks/", "audit/", "keys/" };
    static const char *const replace_names[] = { "head",     "head.2",       "medium",
                                                 "medium.2", "rotate-state", "reserve" };
    size_t i;

    for (i = 0; i < sizeof(replace_dirs) / sizeof(replace_dirs[0]); i++)
        if (strncmp(rel, replace_dirs[i], strlen(replace_dirs[i])) == 0)
            return 0;
    for (i = 0; i < sizeof(replace_names) / sizeof(replace_names[0]); i++)
        if (strcmp(rel, replace_names[i]) == 0)
            return 0;
    return 1;
}
