/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verdict. First the SS-MIX2 update halves are paired (a REPLACED message file whose old
 * content is now under the same name with flag _2 or _0, in the same folder, is an update;
 * one without is a rewrite). Then per source: the absolute rules (suspect at any share), the
 * share rules (modified, deleted, added against a bound learned from the source's clean runs,
 * between a built-in floor and a cap the configuration may lower), then the canaries and the
 * standing suspects of the guard folder. docs/guard.md gives the same numbers in words; a
 * change here changes it there.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "guard/guard_int.h"

#define DAY_S 86400.0

enum { K_MODIFIED = 0, K_DELETED = 1, K_ADDED = 2 };

/* The built-in rules per kind, for SS-MIX2 storages and for other folders. */
static const struct share_rule {
    const char *code;
    double floor_ss, cap_ss, floor_other, cap_other;
    uint64_t min_ss, min_other; /* fewer files than this never make a share suspect */
    int per_day;                /* the share grows with the days since the parent */
} rules[3] = {
    { "modified-share", 0.02, 0.05, 0.25, 0.50, 10, 10, 0 },
    { "deleted-share", 0.001, 0.005, 0.005, 0.20, 1, 2, 1 },
    /* additions destroy nothing and a growing export (PACS) adds a lot to a small folder:
     * only a folder that grows many times over in a day is suspect by additions alone */
    { "added-share", 1.00, 2.00, 3.00, 10.00, 50, 50, 1 },
};

/* A clean run's count of kind @kind. */
static uint64_t run_count(const struct mm_guard__run *r, int kind)
{
    return kind == K_MODIFIED ? r->modified : kind == K_DELETED ? r->deleted : r->added;
}

static double cfg_cap(const struct mm_guard_source_cfg *cfg, int kind)
{
    return kind == K_MODIFIED  ? cfg->max_modified
           : kind == K_DELETED ? cfg->max_deleted
                               : cfg->max_added;
}

double mm_guard__bound(const struct mm_guard_source_cfg *cfg, int kind,
                       const struct mm_guard__run *h, size_t nh, int64_t span_s)
{
    const struct share_rule *r = &rules[kind];
    double floor = cfg->ssmix2 ? r->floor_ss : r->floor_other;
    double cap = cfg->ssmix2 ? r->cap_ss : r->cap_other;
    double high = 0, days_now = span_s / DAY_S, b;
    size_t i;

    /* a configured share is the bound itself (a site that purges old files may allow it),
     * except that an SS-MIX2 storage, which never deletes, stays suspect at 0.5 % deleted */
    if (cfg_cap(cfg, kind) >= 0) {
        b = cfg_cap(cfg, kind);
        return cfg->ssmix2 && kind == K_DELETED && b > cap ? cap : b;
    }
    if (nh >= MM_GUARD__LEARN_MIN) {
        for (i = nh > MM_GUARD__RECENT ? nh - MM_GUARD__RECENT : 0; i < nh; i++) {
            double share, days = h[i].span_s / DAY_S;
            if (!h[i].total)
                continue;
            share = (double)run_count(&h[i], kind) / (double)h[i].total;
            if (r->per_day && days > 1)
                share /= days;
            if (share > high)
                high = share;
        }
        high *= MM_GUARD__LEARN_K;
        if (r->per_day && days_now > 1)
            high *= days_now;
    }
    b = high > floor ? high : floor;
    return b < cap ? b : cap;
}

static int cmp_pair(const void *a, const void *b)
{
    const struct mm_guard__pair *x = a, *y = b;
    int c;

    if (x->source != y->source)
        return x->source < y->source ? -1 : 1;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if ((c = memcmp(x->content, y->content, MM_CRYPTO_ID_SIZE)))
        return c;
    return (int)x->role - (int)y->role;
}

static int same_group(const struct mm_guard__pair *x, const struct mm_guard__pair *y)
{
    return x->source == y->source && x->key == y->key &&
           !memcmp(x->content, y->content, MM_CRYPTO_ID_SIZE);
}

static size_t min2(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Pair each REPLACED message file with a companion of the same folder, stem and content, and
 * each deleted file with a file added elsewhere in the source with the same content. */
static void pair_halves(mm_guard *g)
{
    size_t i, j;

    if (g->oom)
        return; /* a half was lost: nothing is paired (every REPLACED is a rewrite) */
    if (g->npairs)
        qsort(g->pairs, g->npairs, sizeof(*g->pairs), cmp_pair);
    for (i = 0; i < g->npairs; i = j) {
        size_t n[4] = { 0, 0, 0, 0 };
        struct mm_guard__counts *c = &g->counts[g->pairs[i].source];
        for (j = i; j < g->npairs && same_group(&g->pairs[i], &g->pairs[j]); j++)
            n[g->pairs[j].role]++;
        c->paired += min2(n[MM_GUARD__REPLACED], n[MM_GUARD__COMPANION]);
        c->moved += min2(n[MM_GUARD__GONE], n[MM_GUARD__CAME]);
    }
}

/* Absolute rules of source @i: suspect at any share. @return 0, MM_ELIMIT, MM_ENOMEM */
static int judge_absolute(mm_guard *g, size_t i, mm_buf *b, int *suspect)
{
    const struct mm_guard__counts *c = &g->counts[i];
    uint64_t total = c->total_before > c->total_now ? c->total_before : c->total_now;
    uint64_t rewritten = c->ss_rewritten + (c->ss_replaced - c->paired);
    int rc = 0;

    if (rewritten && !rc)
        rc = mm_buf_printf(b, "ssmix2-rewritten %" PRIu64 " %" PRIu64 "\n", rewritten, total);
    if (c->ss_not_hl7 && !rc)
        rc = mm_buf_printf(b, "ssmix2-not-hl7 %" PRIu64 " %" PRIu64 "\n", c->ss_not_hl7, total);
    if (c->ss_foreign && !rc)
        rc = mm_buf_printf(b, "ssmix2-foreign-name %" PRIu64 " %" PRIu64 "\n", c->ss_foreign,
                           total);
    if (c->notes && !rc)
        rc = mm_buf_printf(b, "ransom-note %" PRIu64 "\n", c->notes);
    if (c->ransom_ext && !rc)
        rc = mm_buf_printf(b, "ransom-ext %" PRIu64 "\n", c->ransom_ext);
    if (c->entropy_text && !rc)
        rc = mm_buf_printf(b, "high-entropy %" PRIu64 " %" PRIu64 "\n", c->entropy_text, c->probed);
    if (c->mismatch && !rc)
        rc = mm_buf_printf(b, "type-mismatch %" PRIu64 " %" PRIu64 "\n", c->mismatch, c->probed);
    if (rewritten || c->ss_not_hl7 || c->ss_foreign || c->notes || c->ransom_ext ||
        c->entropy_text || c->mismatch)
        *suspect = 1;
    return rc;
}

/* Share rules of source @i (not on a first backup, nor on an empty parent). */
static int judge_shares(mm_guard *g, size_t i, mm_buf *b, int *suspect)
{
    const struct mm_guard__counts *c = &g->counts[i];
    const struct mm_guard_source_cfg *cfg = &g->cfg[i];
    struct mm_guard_source_cfg eff;
    uint64_t count[3];
    int k, rc = 0;

    if (!g->parent_end_s || !c->total_before)
        return 0;
    count[K_MODIFIED] = c->modified + c->replaced - c->paired;
    count[K_DELETED] = c->deleted - c->moved;
    count[K_ADDED] = c->added - c->moved;
    /* a source holding a standardized storage is judged as one, however it was given */
    eff = *cfg;
    eff.ssmix2 = cfg->ssmix2 || c->ss_folders > 0;
    for (k = 0; k < 3 && !rc; k++) {
        double share = (double)count[k] / (double)c->total_before;
        double bound =
                mm_guard__bound(&eff, k, g->hist[i], g->nhist[i], g->now_s - g->parent_end_s);
        uint64_t min = eff.ssmix2 ? rules[k].min_ss : rules[k].min_other;
        if (count[k] >= min && share >= bound) {
            rc = mm_buf_printf(b, "%s %.4f %.4f\n", rules[k].code, share, bound);
            *suspect = 1;
        }
    }
    return rc;
}

/* The canaries' reasons (changed or gone: suspect; unwritable: a note). */
static int judge_canaries(mm_guard *g, mm_buf *b, int *suspect)
{
    unsigned changed = 0, gone = 0, unwritable = 0;
    size_t i;
    int rc = 0;

    for (i = 0; i < g->nsources; i++) {
        changed += g->canary[i].changed;
        gone += g->canary[i].gone;
        unwritable += g->canary[i].unwritable;
    }
    if (changed)
        rc = mm_buf_printf(b, "canary-changed %u\n", changed);
    if (gone && !rc)
        rc = mm_buf_printf(b, "canary-gone %u\n", gone);
    if (unwritable && !rc)
        rc = mm_buf_printf(b, "canary-unwritable %u\n", unwritable);
    if (changed || gone)
        *suspect = 1;
    return rc;
}

/* The standing suspects of the guard folder: each makes this run suspect too. */
static int judge_standing(mm_guard *g, mm_buf *b, int *suspect)
{
    struct mm_guard_standing *v = NULL;
    size_t n = 0, i;
    int rc;

    if (!g->dir)
        return 0;
    rc = mm_guard_standing_list(g->dir, &v, &n);
    if (rc == MM_ENOMEM)
        return rc;
    if (rc < 0) {
        /* a list that cannot be read may hide a standing suspect: judged as one */
        mm_error_clear();
        *suspect = 1;
        return mm_buf_puts(b, "standing-unreadable\n");
    }
    for (i = 0, rc = 0; i < n && !rc; i++) {
        rc = mm_buf_printf(b, "standing %.12s\n", v[i].gen);
        *suspect = 1;
    }
    mm_free(v);
    return rc;
}

int mm_guard_judge(mm_guard *g, struct mm_guard_verdict *v)
{
    mm_buf b;
    size_t i;
    int rc = 0, own = 0, standing = 0, off = 0;

    MM_ASSERT_ARG(g && v);
    memset(v, 0, sizeof(*v));
    mm_buf_init(&b, 1u << 16);
    pthread_mutex_lock(&g->lock);
    for (i = 0; i < g->nsources; i++)
        g->counts[i].paired = g->counts[i].moved = 0;
    pair_halves(g);
    for (i = 0; i < g->nsources && !rc; i++) {
        if (g->cfg[i].off) {
            off++;
            continue;
        }
        rc = judge_absolute(g, i, &b, &own);
        if (!rc)
            rc = judge_shares(g, i, &b, &own);
    }
    pthread_mutex_unlock(&g->lock);
    if (!rc)
        rc = judge_canaries(g, &b, &own);
    if (!rc && off)
        rc = mm_buf_printf(&b, "guard-off %d\n", off);
    if (!rc && g->history_damaged)
        rc = mm_buf_puts(&b, "history-damaged\n");
    if (!rc)
        rc = judge_standing(g, &b, &standing);
    if (rc < 0) {
        mm_buf_release(&b);
        return rc == MM_ENOMEM ? rc : mm_error_set(MM_ENOMEM, "guard reasons too long");
    }
    g->own_suspect = own;
    v->suspect = own || standing;
    if (b.len && !(v->reasons = mm_buf_detach(&b))) {
        mm_buf_release(&b);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    mm_buf_release(&b);
    return 0;
}
