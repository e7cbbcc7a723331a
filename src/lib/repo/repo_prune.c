/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prune: choose the generations to keep (last N, newest per day, ISO week and month,
 * always the newest and the newest that verified clean), mark every object they reach,
 * and reclaim the rest crash-safely: packs that are mostly garbage are rewritten (their
 * live objects copied after their MAC is checked), then one new index file naming every
 * pack that stays is written, then the manifests of the removed generations, the old
 * index files and the packs no longer named are removed. A crash at any step leaves a
 * repository whose every remaining generation is whole; the next prune finishes the job.
 * Packs that no index names (an interrupted backup) are removed too.
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
#include "repo/repo_int.h"
#ifdef MM_HAVE_S3
#include "repo/repo_s3.h"
#endif

#define LIVE          1
#define REWRITE_BELOW 50 /* rewrite a pack when less than this percent of it is live */

/* Progress of a prune: folders marked, then bytes of packs rewritten. */
struct pprog {
    mm_repo_progress_fn fn;
    void *ctx;
    struct mm_repo_progress p;
    struct timespec last;
};

static void tick(struct pprog *pp)
{
    if (pp->fn && mm_repo__progress_due(&pp->last))
        pp->fn(&pp->p, pp->ctx);
}

/* Mark the tree @id and everything below it in @live. */
static int mark_tree(mm_repo *r, struct mm_repo__work *w, struct mm_repo__idset *live,
                     const unsigned char id[ID_SIZE], int depth, struct pprog *pp)
{
    struct mm_repo__tree t = { 0 };
    int err;

    if (mm_repo__idset_get(live, id))
        return 0;
    if (depth > 512)
        return mm_error_set(MM_ECORRUPT, "folders nest too deep");
    if ((err = mm_repo__tree_get(r, w, id, &t)) < 0)
        return mm_error_set(err == MM_ENOMEM ? err : MM_ECORRUPT,
                            "a folder listing of a generation to keep does not open (%s): run "
                            "'mamori verify' first; nothing was removed",
                            mm_error_last());
    if ((err = mm_repo__idset_put(live, id, LIVE)) < 0)
        goto out;
    pp->p.files_done++;
    tick(pp);
    for (size_t i = 0; i < t.n; i++) {
        const struct mm_repo__entry *e = &t.e[i];
        if (e->kind == MM_REPO_KIND_DIR) {
            if ((err = mark_tree(r, w, live, e->ids, depth + 1, pp)) < 0)
                goto out;
        } else if (e->kind == MM_REPO_KIND_FILE) {
            for (uint32_t k = 0; k < e->nids; k++)
                if ((err = mm_repo__idset_put(live, e->ids + (size_t)k * ID_SIZE, LIVE)) < 0)
                    goto out;
        }
    }
out:
    mm_repo__tree_release(&t);
    return err;
}

/* ISO 8601 weeks in year @y: 53 when it starts on a Thursday, or is a leap year starting on
 * a Wednesday. */
static int iso_weeks(long y)
{
    long p = (y + y / 4 - y / 100 + y / 400) % 7,
         q = ((y - 1) + (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400) % 7;

    return p == 4 || q == 3 ? 53 : 52;
}

/* strftime's "%G-W%V" (the ISO week), which the Microsoft C library lacks. */
static void iso_week(const struct tm *tm, char week[16])
{
    long y = tm->tm_year + 1900L;
    int wday = tm->tm_wday == 0 ? 7 : tm->tm_wday, w = (tm->tm_yday + 1 - wday + 10) / 7;

    if (w < 1)
        w = iso_weeks(--y);
    else if (w > iso_weeks(y))
        w = 1, y++;
    snprintf(week, 16, "%ld-W%02d", y, w);
}

/* Local-time bucket keys of a generation: day, ISO week, month. */
static void buckets(int64_t ns, char day[16], char week[16], char month[16])
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(day, 16, "%Y-%m-%d", &tm);
    iso_week(&tm, week);
    strftime(month, 16, "%Y-%m", &tm);
}

/*
 * keep[i] = reason or NULL, newest first by policy; the newest good generation that verified
 * clean always; while a suspect generation stands (mm_repo_gen_standing), every generation:
 * nothing older may go before a person looked (the guard), nor the suspect ones (evidence).
 */
static void choose(const struct mm_repo_gen *g, size_t n, const struct mm_repo_keep *k,
                   const char **keep)
{
    char lastd[16] = "", lastw[16] = "", lastm[16] = "";
    unsigned int nd = 0, nw = 0, nm = 0, nl = 0;
    size_t clean = SIZE_MAX;

    for (size_t j = n; j-- > 0;) {
        char d[16], w[16], m[16];
        buckets(g[j].start_ns, d, w, m);
        keep[j] = NULL;
        if (nl < k->last) {
            keep[j] = "last";
            nl++;
        }
        if (strcmp(d, lastd) != 0 && nd < k->daily) {
            if (!keep[j])
                keep[j] = "daily";
            nd++;
            memcpy(lastd, d, sizeof(d));
        }
        if (strcmp(w, lastw) != 0 && nw < k->weekly) {
            if (!keep[j])
                keep[j] = "weekly";
            nw++;
            memcpy(lastw, w, sizeof(w));
        }
        if (strcmp(m, lastm) != 0 && nm < k->monthly) {
            if (!keep[j])
                keep[j] = "monthly";
            nm++;
            memcpy(lastm, m, sizeof(m));
        }
        if (clean == SIZE_MAX && g[j].verify == MM_REPO_VERIFIED && mm_repo_gen_good(&g[j]))
            clean = j;
    }
    if (n && !keep[n - 1])
        keep[n - 1] = "newest";
    if (clean != SIZE_MAX && !keep[clean])
        keep[clean] = "newest verified clean";
    for (size_t j = 0, s = mm_repo_gen_standing(g, n); s < n && j < n; j++)
        if (!keep[j])
            keep[j] = j < s ? "before a suspect generation (guard)"
                            : "suspect generation standing (guard)";
}

/* Seal the checked plaintext @plain of the object @l again into the format 3 pack @pw. */
static int reseal(mm_repo *r, struct mm_repo__work *w, struct mm_repo__packw *pw,
                  const struct mm_repo__loc *l, const mm_buf *plain)
{
    const struct mm_repo__dict *dict = NULL;

    if (l->type == MM_REPO_OBJ_BLOB && plain->len <= MM_REPO_DICT_OBJECT_MAX)
        dict = mm_repo__dict_current(r);
    return mm_repo__object_seal_dk(r, w, pw->dk, l->id, plain->ptr, plain->len, dict, &pw->data);
}

/* Write the pack @pw; @pi takes its ID, size and objects (pw keeps its buffer for reuse). */
static int finish_pack(mm_repo *r, struct mm_repo__work *w, struct mm_repo__packw *pw,
                       struct mm_repo__packinfo *pi)
{
    int err = mm_repo__packw_finish(r, w, pw, pi->id, &pi->size);

    if (err < 0)
        return err;
    pi->objs = pw->objs;
    pi->nobjs = pw->n;
    pw->objs = NULL;
    pw->cap = 0;
    return 0;
}

static int cmp_offset(const void *a, const void *b)
{
    const struct mm_repo__obj *x = a, *y = b;

    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

struct packstat {
    uint64_t live_bytes, all_bytes;
    int fate; /* 0 keep, 1 remove, 2 rewrite */
};

/*
 * The exclusive lock for prune; on a medium filled to the last byte the reserve file is given
 * up to make room for it and for the new index file. OUT: *tight (no room to rewrite packs)
 */
static int prune_lock(mm_repo *r, int *tight)
{
    uint64_t avail;
    int err = mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, NULL);

    *tight = 0;
    if (err == MM_EIO && mm_repo__medium_state(r, &avail) == MM_REPO_LOCK_SKIPPED_FULL) {
        if (!mm_repo__reserve_release(r))
            return mm_error_set(MM_EIO,
                                "the medium is full: %llu bytes free, and it has no reserve file "
                                "to give up for prune (see docs/operations.md, a full medium)",
                                (unsigned long long)avail);
        *tight = 1;
        err = mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, NULL);
    } else if (err == 0 && mm_repo__medium_state(r, &avail) == MM_REPO_LOCK_SKIPPED_FULL) {
        *tight = mm_repo__reserve_release(r);
    }
    return err;
}

/*
 * A new repository head without the generations prune is about to remove (removed, not
 * deleted). A head refused because the medium already shows lost evidence (MM_ECORRUPT) is
 * left: the prune's audit event tries again and reports it. Any other failure stops prune
 * before it removes a manifest, as a crash there would: a head still listing them would
 * report their removal as a deletion. @return 0, MM_EIO, MM_ENOMEM, MM_ELIMIT
 */
static int head_without(mm_repo *r, const struct mm_repo_gen *g, size_t ng, const char **keep)
{
    struct mm_repo_head_write_opts ho = { 0 };
    unsigned char(*ids)[MM_CRYPTO_ID_SIZE] = mm_calloc(ng ? ng : 1, MM_CRYPTO_ID_SIZE);
    size_t n = 0;
    int err;

    if (!ids)
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < ng; i++)
        if (!keep[i] && mm_crypto_hex_parse(g[i].id, ids[n]) == 0)
            n++;
    ho.forget = (const unsigned char(*)[MM_CRYPTO_ID_SIZE])ids;
    ho.nforget = n;
    err = mm_repo_head_write(r, &ho, NULL);
    mm_free(ids);
    if (err == MM_ECORRUPT) {
        mm_error_clear();
        err = 0;
    }
    return err;
}

/*
 * On an immutable store (S3 Object Lock), what its retention keeps cannot be removed, and
 * every object a generation uses is retained at least as long as the generation (a backup
 * extends them before it writes the manifest). So the generations the policy would forget
 * are tried first, by their manifests alone, after a head without them: one the store refuses
 * is kept ("retained", with everything it uses) and the head is written again listing it.
 * @return 0, or the error of the head or of a removal other than a refusal
 */
static int forget_retained(mm_repo *r, const struct mm_repo_gen *g, size_t ng, const char **keep,
                           struct mm_repo_prune_stats *stats)
{
    int err = head_without(r, g, ng, keep);
    uint64_t refused = 0;

    for (size_t i = 0; i < ng && err == 0; i++) {
        char rel[96];
        if (keep[i])
            continue;
        snprintf(rel, sizeof(rel), "generations/%s", g[i].id);
        err = mm_repo__remove(r, rel);
        if (err == MM_EREFUSED) {
            keep[i] = "retained";
            refused++;
            mm_error_clear();
            err = 0;
        } else if (err == 0) {
            err = mm_repo__guard_remove(r, g[i].id);
        }
    }
    stats->gens_retained += refused;
    if (err == 0 && refused) /* the head lists them again */
        err = head_without(r, g, ng, keep);
    return err;
}

/* Whether the store is immutable: an S3 backend proves its lock now (once per handle). */
static int store_immutable(mm_repo *r)
{
#ifdef MM_HAVE_S3
    if (mm_repo_be_is_s3_backend(r->be) && mm_repo_be_s3_proof(r->be) < 0)
        mm_error_clear(); /* not proven: not immutable, and never sent a retention */
#endif
    return r->be->info.immutable;
}

/* Remove @rel; on an immutable store a refusal (retained) is counted, not an error.
 * OUT: @gone 1 when it was removed. */
static int remove_unless_retained(mm_repo *r, const char *rel, struct mm_repo_prune_stats *stats,
                                  int *gone)
{
    int err = mm_repo__remove(r, rel);

    *gone = err == 0;
    if (err == MM_EREFUSED && r->be->info.immutable) {
        stats->files_retained++;
        mm_error_clear();
        err = 0;
    }
    return err;
}

/*
 * One prune's state, shared by its steps (mm_repo_prune runs them in order). Every pointer
 * starts NULL and is freed by prune_release().
 */
struct prune {
    mm_repo *r;
    struct mm_repo_prune_stats *stats;
    struct mm_repo_gen *g; /* every generation, oldest first */
    size_t ng;
    const char **keep; /* why generation i is kept, or NULL: removed */
    struct mm_repo__idset live, indexed, stay;
    struct mm_repo__work w;
    int wok;
    int tight;                    /* no room to rewrite packs */
    struct packstat *ps;          /* per pack of r->ix */
    size_t *start, *order;        /* objects grouped by pack: order[start[p] .. start[p + 1]) */
    unsigned char *disk, *orphan; /* the packs on the medium; those no index names, unneeded */
    size_t ndisk;
    struct mm_repo__packinfo *out; /* unindexed packs kept, then the packs rewriting wrote */
    size_t nout, nkept_orphans;
    struct mm_repo__packw pw;
    mm_buf pack;
    struct pprog pp;
};

/* Mark the blocks and twins of the patient index of generation @gen live. */
static int mark_ids(struct prune *x, const char *gen)
{
    struct mm_repo_gen tmp;
    unsigned char *ids = NULL;
    size_t nids = 0;
    int err;

    if ((err = mm_repo__gen_load(x->r, gen, &tmp, &ids, &nids)) < 0)
        return err;
    for (size_t j = 0; j < nids && err == 0; j++)
        err = mm_repo__idset_put(&x->live, ids + j * ID_SIZE, LIVE);
    mm_free(ids);
    mm_repo_gen_release(&tmp);
    return err;
}

/* Say what becomes of each generation, and mark everything a kept one reaches (its trees,
 * and the blocks and twins of its patient index). */
static int mark_kept(struct prune *x, mm_repo_prune_fn fn, void *ctx)
{
    int err;

    for (size_t i = 0; i < x->ng; i++) {
        if (fn)
            fn(&x->g[i], x->keep[i] != NULL, x->keep[i] ? x->keep[i] : "policy", ctx);
        if (!x->keep[i]) {
            x->stats->gens_removed++;
            continue;
        }
        x->stats->gens_kept++;
        if ((err = mark_tree(x->r, &x->w, &x->live, x->g[i].root, 0, &x->pp)) < 0)
            return err;
        if (x->g[i].has_index && (err = mark_ids(x, x->g[i].id)) < 0)
            return err;
    }
    return 0;
}

/* Which packs hold what: live and all bytes, each pack's fate, the set of indexed packs. */
static int judge_packs(struct prune *x)
{
    const struct mm_repo__objindex *ix = &x->r->ix;
    int err;

    if (!(x->ps = mm_calloc(ix->npacks ? ix->npacks : 1, sizeof(*x->ps))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < ix->nlocs; i++) {
        const struct mm_repo__loc *l = &ix->locs[i];
        x->ps[l->pack].all_bytes += l->length;
        if (mm_repo__idset_get(&x->live, l->id))
            x->ps[l->pack].live_bytes += l->length;
    }
    for (size_t p = 0; p < ix->npacks; p++) {
        struct packstat *s = &x->ps[p];
        if (s->live_bytes == 0)
            s->fate = 1;
        else if (s->live_bytes * 100 < s->all_bytes * REWRITE_BELOW && !x->tight &&
                 !x->r->be->info.immutable)
            s->fate = 2; /* (on a full medium only whole dead packs go: no room to copy; an
                          * immutable store keeps the old pack anyway: copying adds) */
        if ((err = mm_repo__idset_put(&x->indexed, ix->packs[p].id, 1)) < 0)
            return err;
    }
    return 0;
}

/* The objects of r->ix grouped by pack: order[start[p] .. start[p + 1]). */
static int group_by_pack(struct prune *x)
{
    const struct mm_repo__objindex *ix = &x->r->ix;

    if (!(x->start = mm_calloc(ix->npacks + 2, sizeof(*x->start))) ||
        !(x->order = mm_malloc((ix->nlocs ? ix->nlocs : 1) * sizeof(*x->order))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < ix->nlocs; i++)
        x->start[ix->locs[i].pack + 2]++;
    for (size_t p = 0; p < ix->npacks; p++)
        x->start[p + 2] += x->start[p + 1];
    for (size_t i = 0; i < ix->nlocs; i++)
        x->order[x->start[ix->locs[i].pack + 1]++] = i;
    return 0;
}

/*
 * Packs on the medium that no index names (an interrupted backup): kept (into x->out, to be
 * indexed) if a generation to keep needs an object only they hold, else marked in x->orphan
 * to be removed. One that cannot be read is not ours to judge: left alone.
 */
static int find_orphans(struct prune *x)
{
    mm_repo *r = x->r;

    if (!(x->orphan = mm_calloc(x->ndisk ? x->ndisk : 1, 1)) ||
        !(x->out = mm_calloc(r->ix.npacks + x->ndisk + 1, sizeof(*x->out))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < x->ndisk; i++) {
        struct mm_repo__packinfo pi;
        char rel[80];
        int needed = 0;
        if (mm_repo__idset_get(&x->indexed, x->disk + i * ID_SIZE))
            continue;
        mm_repo__pack_rel(x->disk + i * ID_SIZE, rel);
        if (mm_repo__stat(r, rel, &pi.size) < 0) {
            mm_error_clear();
            continue;
        }
        memcpy(pi.id, x->disk + i * ID_SIZE, ID_SIZE);
        if (mm_repo__pack_table(r, pi.id, pi.size, &pi.objs, &pi.nobjs) < 0) {
            mm_error_clear(); /* unreadable: not ours to judge; leave it */
            continue;
        }
        for (size_t k2 = 0; k2 < pi.nobjs; k2++)
            needed |= mm_repo__idset_get(&x->live, pi.objs[k2].id) != 0 &&
                      !mm_repo__index_find(&r->ix, pi.objs[k2].id);
        if (needed)
            x->out[x->nout++] = pi; /* now owned by out */
        else {
            mm_free(pi.objs);
            x->orphan[i] = 1;
            x->stats->bytes_freed += pi.size;
        }
    }
    return 0;
}

/* A dry run: what the steps below would remove, rewrite and free. */
static void dry_run_stats(struct prune *x)
{
    for (size_t i = 0; i < x->ndisk; i++)
        x->stats->packs_removed += x->orphan[i];
    for (size_t p = 0; p < x->r->ix.npacks; p++) {
        x->stats->packs_removed += x->ps[p].fate != 0;
        x->stats->packs_rewritten += x->ps[p].fate == 2;
        if (x->ps[p].fate)
            x->stats->bytes_freed += x->ps[p].all_bytes - x->ps[p].live_bytes;
    }
}

/* Step 0: the packs no index names and no kept generation needs (an interrupted or failed
 * backup), removed first, which frees space on a full medium before anything is written. */
static int remove_orphans(struct prune *x)
{
    int err, gone;

    for (size_t i = 0; i < x->ndisk; i++) {
        char rel[80];
        if (!x->orphan[i])
            continue;
        mm_repo__pack_rel(x->disk + i * ID_SIZE, rel);
        if ((err = remove_unless_retained(x->r, rel, x->stats, &gone)) < 0)
            return err;
        x->stats->packs_removed += gone;
    }
    return 0;
}

/*
 * Copy the live objects of pack @p (read whole into x->pack), each checked, into the packs
 * being written. A damaged object keeps the old pack (evidence, not garbage): its fate
 * becomes 0. @return 0, or the error of a write
 */
static int copy_live(struct prune *x, size_t p)
{
    mm_repo *r = x->r;
    int err;

    for (size_t i = x->start[p]; i < x->start[p + 1]; i++) {
        const struct mm_repo__loc *l = &r->ix.locs[x->order[i]];
        mm_buf check;
        size_t off;
        int bad;
        if (!mm_repo__idset_get(&x->live, l->id))
            continue;
        mm_buf_init(&check, MM_REPO_OBJECT_MAX);
        bad = (uint64_t)l->offset + l->length > x->pack.len ||
              mm_repo__object_open(r, &x->w, l->id, x->pack.ptr + l->offset, l->length, l->plain,
                                   &check) < 0;
        if (bad) { /* keep the old pack: a damaged object is evidence, not garbage */
            mm_buf_release(&check);
            mm_error_clear();
            x->ps[p].fate = 0;
            return 0;
        }
        off = x->pw.data.len;
        /* format 3: each pack has its own data key, so the object is sealed again */
        err = x->pw.fmt3 ? reseal(r, &x->w, &x->pw, l, &check)
                         : mm_buf_put(&x->pw.data, x->pack.ptr + l->offset, l->length);
        mm_buf_release(&check);
        if (err < 0 || (err = mm_repo__packw_record(&x->pw, l->id, l->type, off, l->plain)) < 0)
            return err;
        if (x->pw.data.len >= r->cfg.pack_target &&
            ((err = finish_pack(r, &x->w, &x->pw, &x->out[x->nout++])) < 0 ||
             (err = mm_repo__packw_start(r, &x->pw)) < 0))
            return err;
    }
    return 0;
}

/* Step 1: rewrite the mostly-dead packs: their live objects copied, checked, into new packs
 * (one that cannot be read whole is left as it is; verify reports it). */
static int rewrite_packs(struct prune *x)
{
    mm_repo *r = x->r;
    int err;

    if ((err = mm_repo__packw_start(r, &x->pw)) < 0)
        return err;
    for (size_t p = 0; p < r->ix.npacks; p++) {
        char rel[80];
        if (x->ps[p].fate != 2)
            continue;
        mm_repo__pack_rel(r->ix.packs[p].id, rel);
        mm_buf_clear(&x->pack);
        x->pp.p.bytes_done += r->ix.packs[p].size;
        tick(&x->pp);
        if (mm_repo__read(r, rel, &x->pack) < 0 || x->pack.len != r->ix.packs[p].size) {
            x->ps[p].fate = 0; /* unreadable: leave it as it is, verify reports it */
            mm_error_clear();
            continue;
        }
        if ((err = copy_live(x, p)) < 0)
            return err;
        if (x->ps[p].fate == 2)
            x->stats->packs_rewritten++;
    }
    if (x->pw.n && (err = finish_pack(r, &x->w, &x->pw, &x->out[x->nout++])) < 0)
        return err;
    return 0;
}

/* The pack @p of r->ix as an index file lists it, its objects (in offset order, as pack
 * tables list them) copied into @o (room for all of them). OUT: @pi */
static void kept_pack(const struct prune *x, size_t p, struct mm_repo__obj *o,
                      struct mm_repo__packinfo *pi)
{
    const mm_repo *r = x->r;
    size_t cnt = x->start[p + 1] - x->start[p];

    for (size_t i = 0; i < cnt; i++) {
        const struct mm_repo__loc *l = &r->ix.locs[x->order[x->start[p] + i]];
        memcpy(o[i].id, l->id, ID_SIZE);
        o[i].type = l->type;
        o[i].offset = l->offset;
        o[i].length = l->length;
        o[i].plain = l->plain;
    }
    qsort(o, cnt, sizeof(*o), cmp_offset);
    memcpy(pi->id, r->ix.packs[p].id, ID_SIZE);
    pi->size = r->ix.packs[p].size;
    pi->objs = o;
    pi->nobjs = cnt;
}

/* Step 2: one index file naming every pack that stays (those kept as they are, then
 * x->out); x->stay is the set of them. */
static int write_index(struct prune *x)
{
    mm_repo *r = x->r;
    struct mm_repo__packinfo *all;
    struct mm_repo__obj *objs;
    size_t nall = 0;
    int err = 0;

    objs = mm_malloc((r->ix.nlocs ? r->ix.nlocs : 1) * sizeof(*objs));
    all = mm_calloc(r->ix.npacks + x->nout + 1, sizeof(*all));
    if (!objs || !all) {
        mm_free(objs);
        mm_free(all);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    for (size_t p = 0; p < r->ix.npacks; p++)
        if (x->ps[p].fate == 0)
            kept_pack(x, p, &objs[x->start[p]], &all[nall++]);
    for (size_t i = 0; i < x->nout; i++)
        all[nall++] = x->out[i];
    for (size_t i = 0; i < nall && err == 0; i++)
        err = mm_repo__idset_put(&x->stay, all[i].id, 1);
    if (err == 0 && nall)
        err = mm_repo__ixfile_write(r, all, nall, NULL);
    mm_free(objs);
    mm_free(all);
    return err;
}

/* Step 3: a repository head without the removed generations (a crash after it leaves them
 * present, unlisted: not a deletion), then their manifests, each with its acceptance record
 * after it (a crash between leaves a record of nothing). */
static int remove_generations(struct prune *x)
{
    int err;

    if ((err = head_without(x->r, x->g, x->ng, x->keep)) < 0)
        return err;
    for (size_t i = 0; i < x->ng; i++) {
        char rel[96];
        if (x->keep[i])
            continue;
        snprintf(rel, sizeof(rel), "generations/%s", x->g[i].id);
        if ((err = mm_repo__remove(x->r, rel)) < 0 ||
            (err = mm_repo__guard_remove(x->r, x->g[i].id)) < 0)
            return err;
    }
    return 0;
}

/* Step 4: the old index files (the new one names everything that stays). */
static int remove_old_index_files(struct prune *x)
{
    const struct mm_repo__objindex *ix = &x->r->ix;
    int err, gone;

    for (size_t i = 0; i < ix->nfiles + ix->nbad; i++) {
        char rel[96];
        const char *f = i < ix->nfiles ? ix->files[i] : ix->bad[i - ix->nfiles];
        snprintf(rel, sizeof(rel), "index/%s", f);
        if ((err = remove_unless_retained(x->r, rel, x->stats, &gone)) < 0)
            return err;
    }
    return 0;
}

/* Step 5: the packs no longer named: garbage, rewritten ones, and those no index ever named;
 * never one the new index names (a pack listed twice in r->ix must not be judged twice). The
 * bytes freed are net of the packs rewriting wrote. */
static int remove_dead_packs(struct prune *x)
{
    mm_repo *r = x->r;
    struct mm_repo_prune_stats *stats = x->stats;
    int err, gone;

    for (size_t p = 0; p < r->ix.npacks; p++) {
        char rel[80];
        if (x->ps[p].fate == 0)
            continue;
        if (NEVER(mm_repo__idset_get(&x->stay, r->ix.packs[p].id)))
            continue;
        mm_repo__pack_rel(r->ix.packs[p].id, rel);
        if ((err = remove_unless_retained(r, rel, stats, &gone)) < 0)
            return err;
        stats->packs_removed += gone;
        stats->bytes_freed += gone ? r->ix.packs[p].size : 0;
    }
    for (size_t i = x->nkept_orphans; i < x->nout; i++) /* the packs rewriting wrote */
        stats->bytes_freed -=
                x->out[i].size < stats->bytes_freed ? x->out[i].size : stats->bytes_freed;
    return 0;
}

/* Free what the steps made; the reserve file made again after a real prune. */
static void prune_release(struct prune *x, int dry_run)
{
    mm_repo__index_release(&x->r->ix);
    for (size_t i = 0; i < x->nout; i++)
        mm_free(x->out[i].objs);
    mm_free(x->out);
    mm_repo__packw_release(&x->pw);
    mm_buf_release(&x->pack);
    mm_free(x->disk);
    mm_free(x->orphan);
    mm_free(x->start);
    mm_free(x->order);
    mm_free(x->ps);
    mm_free(x->keep);
    mm_repo_gens_free(x->g, x->ng);
    mm_repo__idset_release(&x->live);
    mm_repo__idset_release(&x->indexed);
    mm_repo__idset_release(&x->stay);
    if (x->wok)
        mm_repo__work_release(&x->w);
    if (!dry_run)
        mm_repo__reserve_make(x->r); /* given up, or never written: again, if there is room */
}

/* Load the generations and the object index fresh, and choose the generations to keep. */
static int prune_start(struct prune *x, const struct mm_repo_keep *k, int dry_run)
{
    mm_repo *r = x->r;
    int err;

    if ((err = mm_repo__work_init(&x->w)) < 0)
        return err;
    x->wok = 1;
    mm_repo__index_release(&r->ix); /* fresh: index files may have changed since open */
    if ((err = mm_repo__index_load(r)) < 0 || (err = mm_repo_generations(r, &x->g, &x->ng)) < 0)
        return err;
    if (!(x->keep = mm_calloc(x->ng ? x->ng : 1, sizeof(*x->keep))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    choose(x->g, x->ng, k, x->keep);
    if (store_immutable(r) && !dry_run &&
        (err = forget_retained(r, x->g, x->ng, x->keep, x->stats)) < 0)
        return err;
    return 0;
}

int mm_repo_prune(mm_repo *r, const struct mm_repo_keep *k, int dry_run, mm_repo_prune_fn fn,
                  void *ctx, mm_repo_progress_fn progress, struct mm_repo_prune_stats *stats)
{
    struct mm_repo_prune_stats local;
    struct prune x;
    int err;

    memset(&x, 0, sizeof(x));
    x.r = r;
    x.pp.fn = progress;
    x.pp.ctx = ctx;
    x.stats = stats ? stats : &local;
    memset(x.stats, 0, sizeof(*x.stats));
    mm_buf_init(&x.pack, MM_REPO_PACK_MAX);
    if (!k->last && !k->daily && !k->weekly && !k->monthly)
        return mm_error_set(MM_EINVAL, "the keep policy keeps nothing");
    if (!dry_run && (err = prune_lock(r, &x.tight)) < 0)
        return err;
    /* choose, mark what the kept generations reach, judge every pack */
    if ((err = prune_start(&x, k, dry_run)) < 0 || (err = mark_kept(&x, fn, ctx)) < 0 ||
        (err = judge_packs(&x)) < 0 || (err = mm_repo__list_packs(r, &x.disk, &x.ndisk)) < 0 ||
        (err = group_by_pack(&x)) < 0 || (err = find_orphans(&x)) < 0)
        goto out;
    if (dry_run) {
        dry_run_stats(&x);
        goto out;
    }
    x.nkept_orphans = x.nout; /* out[] so far: unindexed packs kept, not written by this prune */
    /* then reclaim, in the order that keeps every remaining generation whole at any crash */
    if ((err = remove_orphans(&x)) < 0 || (err = rewrite_packs(&x)) < 0 ||
        (err = write_index(&x)) < 0 || (err = remove_generations(&x)) < 0 ||
        (err = remove_old_index_files(&x)) < 0)
        goto out;
    err = remove_dead_packs(&x);
out:
    prune_release(&x, dry_run);
    return err;
}
