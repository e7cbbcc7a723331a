/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verify: every manifest opens and its signature holds; every index file opens; every
 * tree of every generation decodes and every blob it names is in the index, in a pack that
 * exists with the size the index says. With read_data every pack is read whole, its
 * content hash checked against its name, and every object decrypted, decompressed and
 * hashed. Damage is then traced to the files and generations it affects (trees are shared
 * between generations, so a memo remembers which trees hold damage) and reported; with
 * read_data each generation's result is recorded in a verify record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "repo/repo_int.h"

enum { BAD_OBJECT = 1, GOOD_TREE = 2, BAD_TREE = 3 };

struct vstate {
    mm_repo *r;
    const struct mm_repo_verify_opts *o;
    struct mm_repo_verify_stats *s;
    struct mm_repo__idset bad;  /* objects that are damaged or missing: BAD_OBJECT */
    struct mm_repo__idset memo; /* trees: GOOD_TREE or BAD_TREE */
    struct mm_repo__work w;
    struct timespec last;
    uint64_t done, total;
    uint64_t lost_trees; /* folder listings that do not read, met so far */
};

static void report(struct vstate *v, const char *gen, const char *path, const char *what)
{
    char red[MM_LOG_PATH_MAX];

    if (!v->o->problem)
        return;
    mm_log_path(red, sizeof(red), path ? path : "");
    v->o->problem(gen, red, what, v->o->ctx);
}

static void progress(struct vstate *v, uint64_t bytes)
{
    struct mm_repo_progress p = { 0 };

    v->done += bytes;
    if (!v->o->progress || !mm_repo__progress_due(&v->last))
        return;
    p.bytes_done = v->done;
    p.bytes_total = v->total;
    v->o->progress(&p, v->o->ctx);
}

/* Is object @id usable as far as we know? Missing from the index counts as damaged. */
static int object_bad(struct vstate *v, const unsigned char id[ID_SIZE])
{
    if (mm_repo__idset_get(&v->bad, id))
        return 1;
    return mm_repo__index_find(&v->r->ix, id) == NULL;
}

/*
 * Check the tree @id of generation @gen at @path: 1 when it holds damage (reported when
 * @loud), 0 when whole, <0 on a fatal error.
 */
static int check_tree(struct vstate *v, const char *gen, const unsigned char id[ID_SIZE],
                      const char *path, int depth)
{
    struct mm_repo__tree t = { 0 };
    uint8_t m = mm_repo__idset_get(&v->memo, id);
    int damaged = 0, err = 0;

    if (m == GOOD_TREE)
        return 0;
    if (depth > 512) {
        report(v, gen, path, "folders nest too deep");
        return 1;
    }
    if (object_bad(v, id) || (err = mm_repo__tree_get(v->r, &v->w, id, &t)) < 0) {
        if (!object_bad(v, id) && err == MM_ENOMEM)
            return err;
        mm_error_clear();
        report(v, gen, path[0] ? path : ".", "folder listing damaged or missing");
        v->s->damaged_files++;
        v->lost_trees++;
        if (m != BAD_TREE && (err = mm_repo__idset_put(&v->memo, id, BAD_TREE)) < 0)
            return err;
        return 1;
    }
    if (m != BAD_TREE)
        v->s->trees++;
    for (size_t i = 0; i < t.n; i++) {
        const struct mm_repo__entry *e = &t.e[i];
        char *p = NULL;
        if (e->kind == MM_REPO_KIND_DIR) {
            if (!(p = mm_repo__join(path, e->name, e->namelen))) {
                err = mm_error_set(MM_ENOMEM, "out of memory");
                goto fail;
            }
            err = check_tree(v, gen, e->ids, p, depth + 1);
            mm_free(p);
            if (err < 0)
                goto fail;
            damaged |= err;
        } else if (e->kind == MM_REPO_KIND_FILE) {
            for (uint32_t k = 0; k < e->nids; k++)
                if (object_bad(v, e->ids + (size_t)k * ID_SIZE)) {
                    if (!(p = mm_repo__join(path, e->name, e->namelen))) {
                        err = mm_error_set(MM_ENOMEM, "out of memory");
                        goto fail;
                    }
                    int missing = !mm_repo__index_find(&v->r->ix, e->ids + (size_t)k * ID_SIZE);
                    report(v, gen, p, missing ? "file data missing" : "file data damaged");
                    v->s->missing_objects += (uint64_t)missing;
                    mm_free(p);
                    v->s->damaged_files++;
                    damaged = 1;
                    break;
                }
        }
    }
    mm_repo__tree_release(&t);
    if ((err = mm_repo__idset_put(&v->memo, id, damaged ? BAD_TREE : GOOD_TREE)) < 0)
        return err;
    return damaged;
fail:
    mm_repo__tree_release(&t);
    return err;
}

/* OUT: *files: the files in the folders below tree @id that read (lost ones skipped). */
static int count_files(struct vstate *v, const unsigned char id[ID_SIZE], int depth,
                       uint64_t *files)
{
    struct mm_repo__tree t = { 0 };
    int err = 0;

    if (depth > 512 || object_bad(v, id) || mm_repo__tree_get(v->r, &v->w, id, &t) < 0) {
        mm_error_clear();
        return 0;
    }
    for (size_t i = 0; i < t.n && err == 0; i++) {
        if (t.e[i].kind == MM_REPO_KIND_FILE)
            (*files)++;
        else if (t.e[i].kind == MM_REPO_KIND_DIR)
            err = count_files(v, t.e[i].ids, depth + 1, files);
    }
    mm_repo__tree_release(&t);
    return err;
}

/*
 * Generation @g lost @lost folder listings: count the files below them (the generation's file
 * count less the files in the folders that read) instead of one per folder.
 */
static void count_lost_files(struct vstate *v, const struct mm_repo_gen *g, uint64_t lost)
{
    uint64_t files = 0;

    if (!lost || !g->counts.files || count_files(v, g->root, 0, &files) < 0 ||
        files > g->counts.files)
        return;
    v->s->damaged_files += g->counts.files - files - lost;
}

/* Structure: each pack the index names exists with its size. Of a pack cut short, only the
 * objects past its end are lost: the ones before it still read. */
static int check_packs_present(struct vstate *v)
{
    struct mm_repo__objindex *ix = &v->r->ix;
    uint64_t *have = mm_malloc((ix->npacks ? ix->npacks : 1) * sizeof(*have));

    if (!have)
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < ix->npacks; i++) {
        char rel[80];
        uint64_t size;
        int err;
        have[i] = UINT64_MAX;
        mm_repo__pack_rel(ix->packs[i].id, rel);
        v->s->packs++;
        if ((err = mm_repo__stat(v->r, rel, &size)) < 0) {
            report(v, NULL, rel, err == MM_ENOTFOUND ? "pack file missing" : mm_error_last());
            mm_error_clear();
            v->s->damaged_packs++;
            have[i] = 0;
        } else if (size != ix->packs[i].size) {
            report(v, NULL, rel, "pack file has the wrong size");
            v->s->damaged_packs++;
            have[i] = size;
        }
        v->total += ix->packs[i].size;
    }
    for (size_t k = 0; k < ix->nlocs; k++) {
        const struct mm_repo__loc *l = &ix->locs[k];
        v->s->objects++;
        if ((uint64_t)l->offset + l->length > have[l->pack]) {
            int err = mm_repo__idset_put(&v->bad, l->id, BAD_OBJECT);
            if (err < 0) {
                mm_free(have);
                return err;
            }
        }
    }
    mm_free(have);
    return 0;
}

/* The small critical files (marker, config, key slots, label): each copy noted as damaged or
 * missing is damage; a missing second copy in a repository older than them is information. */
static void check_copies(struct vstate *v)
{
    struct mm_repo_medium m;
    int err = mm_repo_medium_get(v->r, &m);

    if (err < 0 && err != MM_ENOTFOUND) {
        report(v, NULL, "medium", mm_error_last());
        v->s->damaged_copies++;
    }
    mm_error_clear();
    for (size_t i = 0; i < v->r->ncopies; i++) {
        const struct mm_repo__copy *c = &v->r->copies[i];
        char rel2[sizeof(c->rel) + 2];
        snprintf(rel2, sizeof(rel2), "%s.2", c->rel);
        if ((c->flags & (MM_REPO__COPY1_BAD | MM_REPO__COPY1_MISSING)) &&
            (c->flags & (MM_REPO__COPY2_BAD | MM_REPO__COPY2_MISSING))) {
            report(v, NULL, c->rel, "damaged, and no intact second copy: it cannot be used");
            v->s->damaged_copies++;
            continue;
        }
        if (c->flags & MM_REPO__COPY_DIFFER) {
            report(v, NULL, c->rel,
                   "its two copies differ: one is damaged (the one its user's passphrase opens "
                   "serves; that user's next write repairs the other)");
            v->s->damaged_copies++;
            continue;
        }
        if (c->flags & (MM_REPO__COPY1_BAD | MM_REPO__COPY1_MISSING)) {
            report(v, NULL, c->rel,
                   c->flags & MM_REPO__COPY1_BAD
                           ? "damaged (its second copy serves; the next write with the key repairs it)"
                           : "missing (its second copy serves; the next write with the key restores it)");
            v->s->damaged_copies++;
        }
        if (c->flags & MM_REPO__COPY2_BAD) {
            report(v, NULL, rel2,
                   "second copy damaged (the first serves; the next write with the "
                   "key repairs it)");
            v->s->damaged_copies++;
        } else if ((c->flags & MM_REPO__COPY2_MISSING) && v->r->copies2) {
            report(v, NULL, rel2, "second copy missing (the next write with the key restores it)");
            v->s->damaged_copies++;
        } else if (c->flags & MM_REPO__COPY2_MISSING) {
            v->s->old_copies++;
        }
    }
}

/* The guard's acceptance record of each generation @names (@n): one that does not verify
 * (damaged in both copies, or forged) is tampering, counted with the damaged copies. Before
 * check_copies(), which then reports a record with one damaged copy. */
static void check_guard(struct vstate *v, char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char rel[96];
        if (mm_repo_guard_accepted(v->r, names[i], NULL) != MM_ECORRUPT) {
            mm_error_clear();
            continue;
        }
        snprintf(rel, sizeof(rel), "guard/%s", names[i]);
        report(v, names[i], rel, mm_error_last());
        mm_error_clear();
        v->s->damaged_copies++;
    }
}

static int cmp_loc_pack(const void *a, const void *b)
{
    const struct mm_repo__loc *x = *(struct mm_repo__loc *const *)a,
                              *y = *(struct mm_repo__loc *const *)b;

    if (x->pack != y->pack)
        return x->pack < y->pack ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Read every pack whole: content hash, then every object opened and checked. */
static int read_data(struct vstate *v)
{
    struct mm_repo__objindex *ix = &v->r->ix;
    struct mm_repo__loc **order = mm_malloc((ix->nlocs ? ix->nlocs : 1) * sizeof(*order));
    mm_buf pack, plain;
    size_t k = 0;
    int err = 0;

    if (!order)
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < ix->nlocs; i++)
        order[i] = &ix->locs[i];
    qsort(order, ix->nlocs, sizeof(*order), cmp_loc_pack);
    mm_buf_init(&pack, MM_REPO_PACK_MAX);
    mm_buf_init(&plain, MM_REPO_OBJECT_MAX);
    for (size_t p = 0; p < ix->npacks; p++) {
        char rel[80];
        unsigned char h[ID_SIZE];
        int readable;
        mm_repo__pack_rel(ix->packs[p].id, rel);
        mm_buf_clear(&pack);
        err = mm_repo__read(v->r, rel, &pack);
        if (err == MM_ENOMEM)
            goto out;
        readable = err == 0; /* a pack cut short: the objects before its end still read */
        mm_error_clear();
        err = 0;
        if (readable && pack.len == ix->packs[p].size) {
            mm_crypto_hash(pack.ptr, pack.len, h);
            if (memcmp(h, ix->packs[p].id, ID_SIZE) != 0) {
                report(v, NULL, rel, "pack file damaged (content hash)");
                v->s->damaged_packs++;
            }
        }
        for (; k < ix->nlocs && order[k]->pack == p; k++) {
            struct mm_repo__loc *l = order[k];
            int bad = !readable || (uint64_t)l->offset + l->length > pack.len;
            if (!bad) {
                mm_buf_clear(&plain);
                bad = mm_repo__object_open(v->r, &v->w, l->id, pack.ptr + l->offset, l->length,
                                           l->plain, &plain) < 0;
                mm_error_clear();
                if (!bad && plain.len != l->plain)
                    bad = 1;
            }
            if (bad) {
                v->s->damaged_objects++;
                if ((err = mm_repo__idset_put(&v->bad, l->id, BAD_OBJECT)) < 0)
                    goto out;
            }
            v->s->bytes += l->plain;
        }
        progress(v, ix->packs[p].size);
    }
out:
    mm_free(order);
    mm_buf_release(&pack);
    mm_buf_release(&plain);
    return err;
}

int mm_repo_verify(mm_repo *r, const struct mm_repo_verify_opts *o,
                   struct mm_repo_verify_stats *stats)
{
    struct mm_repo_verify_opts def = { 0 };
    struct mm_repo_verify_stats local;
    struct vstate v;
    char **names = NULL;
    size_t n = 0, nrec = 0;
    unsigned char *rec_ids = NULL;
    uint8_t *rec_states = NULL;
    int err;

    if (!o)
        o = &def;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof(*stats));
    memset(&v, 0, sizeof(v));
    v.r = r;
    v.o = o;
    v.s = stats;
    if ((err = mm_repo__work_init(&v.w)) < 0)
        return err;
    if ((err = mm_repo__index_load(r)) < 0)
        goto out;
    for (size_t i = 0; i < r->ix.nbad; i++) {
        char rel[96];
        snprintf(rel, sizeof(rel), "index/%s", r->ix.bad[i]);
        report(&v, NULL, rel, "index file damaged (its packs were read instead)");
        stats->damaged_packs++;
    }
    for (size_t i = 0; i < r->ndict_bad; i++) {
        char rel[96];
        snprintf(rel, sizeof(rel), "dict/%s", r->dict_bad[i]);
        report(&v, NULL, rel,
               r->ndicts ? "compression dictionary copy damaged (an intact copy serves)"
                         : "compression dictionary damaged, no intact copy: files compressed "
                           "with it cannot be read");
    }
    if ((err = mm_repo__list(r, "generations", &names, &n)) < 0)
        goto out;
    check_guard(&v, names, n);
    check_copies(&v);
    if ((err = check_packs_present(&v)) < 0)
        goto out;
    if (o->read_data && (err = read_data(&v)) < 0)
        goto out;
    rec_ids = mm_malloc((n ? n : 1) * ID_SIZE);
    rec_states = mm_malloc(n ? n : 1);
    if (!rec_ids || !rec_states) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct mm_repo_gen g;
        unsigned char *ids = NULL;
        size_t nids = 0;
        int damaged = 0;
        stats->generations++;
        if (mm_repo__gen_load(r, names[i], &g, &ids, &nids) < 0) {
            report(&v, names[i], NULL, mm_error_last());
            mm_error_clear();
            stats->damaged_generations++;
            continue;
        }
        uint64_t lost0 = v.lost_trees;
        err = check_tree(&v, g.id, g.root, "", 0);
        if (err >= 0)
            count_lost_files(&v, &g, v.lost_trees - lost0);
        if (err >= 0) {
            damaged = err;
            err = 0;
            for (size_t k = 0; k < nids; k++)
                if (object_bad(&v, ids + k * ID_SIZE)) {
                    report(&v, g.id, "(patient index)", "data damaged or missing");
                    damaged = 1;
                    break;
                }
        }
        mm_free(ids);
        if (err < 0) {
            mm_repo_gen_release(&g);
            goto out;
        }
        if (damaged)
            stats->damaged_generations++;
        mm_crypto_hex_parse(g.id, rec_ids + nrec * ID_SIZE);
        rec_states[nrec++] = damaged ? MM_REPO_DAMAGED : MM_REPO_VERIFIED;
        mm_repo_gen_release(&g);
    }
    if (o->read_data && nrec) {
        /* best effort: a full or write-protected medium keeps no record, the result stands */
        stats->recorded = mm_repo__verify_record(r, rec_ids, rec_states, nrec) == 0;
        mm_error_clear();
    }
out:
    mm_free(rec_ids);
    mm_free(rec_states);
    mm_repo__list_free(names, n);
    mm_repo__idset_release(&v.bad);
    mm_repo__idset_release(&v.memo);
    mm_repo__work_release(&v.w);
    return err;
}
