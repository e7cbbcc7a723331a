/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guard's life: mm_guard_new copies the sources' settings, reads their histories of
 * clean runs and checks the canaries; mm_guard_observe is the walk's delta hook, called from
 * its worker threads at once: it probes one file's name and first bytes without the lock
 * (guard_probe.c, guard_patterns.c) and then adds what it found to the source's counters and
 * the SS-MIX2 update halves to the pairing list under one mutex, so no count is lost;
 * mm_guard_judge (guard_judge.c) reads them; mm_guard_record keeps a clean run's figures
 * (learning) or adds a suspect generation to the standing list (guard_history.c).
 */
#include "guard/guard.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "guard/guard_int.h"

void mm_guard_free(mm_guard *g)
{
    size_t i;

    if (!g)
        return;
    for (i = 0; i < g->nsources; i++) {
        if (g->own) {
            mm_free(g->own[2 * i]);
            mm_free(g->own[2 * i + 1]);
        }
        if (g->hist)
            mm_free(g->hist[i]);
    }
    mm_free(g->own);
    mm_free(g->cfg);
    mm_free(g->hist);
    mm_free(g->nhist);
    mm_free(g->counts);
    mm_free(g->canary);
    mm_free(g->pairs);
    mm_free(g->dir);
    mm_free(g->repo_id);
    mm_free(g->medium);
    pthread_mutex_destroy(&g->lock);
    mm_free(g);
}

/* Copy the settings of @o into @g. @return 0, MM_ENOMEM */
static int copy_opts(mm_guard *g, const struct mm_guard_opts *o)
{
    size_t i;

    g->nsources = o->nsources;
    g->now_s = o->now_s ? o->now_s : (int64_t)time(NULL);
    g->parent_end_s = o->parent_end_s;
    if ((o->dir && !(g->dir = mm_strdup(o->dir))) ||
        (o->repo_id && !(g->repo_id = mm_strdup(o->repo_id))) ||
        (o->medium && !(g->medium = mm_strdup(o->medium))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    if (!(g->cfg = mm_calloc(o->nsources + 1, sizeof(*g->cfg))) ||
        !(g->counts = mm_calloc(o->nsources + 1, sizeof(*g->counts))) ||
        !(g->canary = mm_calloc(o->nsources + 1, sizeof(*g->canary))) ||
        !(g->hist = mm_calloc(o->nsources + 1, sizeof(*g->hist))) ||
        !(g->nhist = mm_calloc(o->nsources + 1, sizeof(*g->nhist))) ||
        !(g->own = mm_calloc(2 * o->nsources + 1, sizeof(*g->own))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (i = 0; i < o->nsources; i++) {
        g->cfg[i] = o->sources[i];
        g->own[2 * i] = mm_strdup(o->sources[i].name ? o->sources[i].name : "source");
        g->own[2 * i + 1] = o->sources[i].path ? mm_strdup(o->sources[i].path) : NULL;
        if (!g->own[2 * i] || (o->sources[i].path && !g->own[2 * i + 1]))
            return mm_error_set(MM_ENOMEM, "out of memory");
        g->cfg[i].name = g->own[2 * i];
        g->cfg[i].path = g->own[2 * i + 1];
    }
    return 0;
}

/* Read each source's history; a damaged one is a note and the built-in floors. */
static int read_histories(mm_guard *g)
{
    size_t i;
    int rc;

    for (i = 0; g->dir && i < g->nsources; i++) {
        rc = mm_guard__history_read(g->dir, g->cfg[i].name, &g->hist[i], &g->nhist[i]);
        if (rc == MM_ECORRUPT) {
            mm_error_clear();
            g->history_damaged = 1;
        } else if (rc < 0) {
            return rc == MM_ENOMEM ? rc : mm_error_set(MM_EIO, "guard folder cannot be read");
        }
    }
    return 0;
}

int mm_guard_new(const struct mm_guard_opts *o, mm_guard **out)
{
    mm_guard *g;
    int rc;

    MM_ASSERT_ARG(o && out && (o->sources || !o->nsources));
    if (!(g = mm_calloc(1, sizeof(*g))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    pthread_mutex_init(&g->lock, NULL);
    if ((rc = copy_opts(g, o)) < 0 || (rc = read_histories(g)) < 0 ||
        (rc = mm_guard__canaries(g)) < 0) {
        mm_guard_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

/* Count the name of a file that appeared (added, or renamed to @name) in @c. The SS-MIX2
 * rules go by the path, whatever the source was configured as: a storage may sit inside a
 * folder given as a plain one, and an SS-MIX2 name or data-type folder is nothing else. */
static void probe_name(const char *dir, const char *name, struct mm_guard__counts *c)
{
    c->notes += (uint64_t)mm_guard__ransom_note(name);
    c->ransom_ext += (uint64_t)mm_guard__ransom_ext(name, 1);
    c->ss_foreign += (uint64_t)mm_guard__ssmix2_foreign(dir, name);
}

/* Judge a file's first bytes: HL7 for a standard message file, else entropy by type. */
static void probe_head(const struct mm_repo_delta *d, int msg, struct mm_guard__counts *c)
{
    enum mm_guard__ftype t;

    if (!d->head || !d->headlen)
        return;
    if (msg == MM_GUARD__STD) {
        c->ss_not_hl7 += (uint64_t)!mm_guard__hl7_ok(d->head, d->headlen);
        t = MM_GUARD__FT_TEXT;
    } else {
        t = mm_guard__type_by_name(d->name);
    }
    if (t == MM_GUARD__FT_UNKNOWN || d->headlen < 256)
        return;
    c->probed++;
    if (mm_guard__looks_random(d->head, d->headlen, t)) {
        if (t == MM_GUARD__FT_TEXT)
            c->entropy_text++;
        else
            c->mismatch++;
    }
}

/* Keep one pair half of role @role (guard_int.h). */
static void pair_add(mm_guard *g, const struct mm_repo_delta *d, const unsigned char *content,
                     enum mm_guard__role role)
{
    struct mm_guard__pair *p;

    if (g->npairs >= MM_GUARD__PAIRS_MAX) {
        g->oom = 1;
        return;
    }
    if (g->npairs == g->cappairs) {
        size_t cap = g->cappairs ? 2 * g->cappairs : 64;
        if (!(p = mm_realloc(g->pairs, cap * sizeof(*p)))) {
            g->oom = 1; /* the judge then counts every REPLACED as unpaired */
            return;
        }
        g->pairs = p;
        g->cappairs = cap;
    }
    p = &g->pairs[g->npairs++];
    memset(p, 0, sizeof(*p));
    p->source = d->source;
    if (role == MM_GUARD__COMPANION || role == MM_GUARD__REPLACED)
        p->key = mm_guard__pair_key(d->dir ? d->dir : "", d->name);
    if (content)
        memcpy(p->content, content, MM_CRYPTO_ID_SIZE);
    p->role = role;
}

/* What one delta of an SS-MIX2 rename adds to @c (the names, the content, the convention). */
static void observe_renamed(const struct mm_repo_delta *d, const char *dir,
                            struct mm_guard__counts *c)
{
    int changed = d->has_old && d->has_new &&
                  memcmp(d->old_content, d->new_content, MM_CRYPTO_ID_SIZE) != 0;
    int msg = mm_guard__ssmix2_msg(dir, d->name);
    int msg_old = d->old_name ? mm_guard__ssmix2_msg(dir, d->old_name) : 0;

    c->renamed = 1;
    probe_name(dir, d->name, c);
    c->modified += (uint64_t)changed;
    if (!d->old_name)
        return;
    if ((msg == MM_GUARD__STD || msg_old == MM_GUARD__STD) && changed)
        c->ss_rewritten++;
    /* a message file renamed other than by its flag, or a name that leaves the convention */
    if ((msg == MM_GUARD__STD || msg_old == MM_GUARD__STD) &&
        !mm_guard__ssmix2_rename_ok(d->old_name, d->name) && !c->ss_foreign)
        c->ss_foreign++;
}

/* The counts one delta adds (@c zeroed by the caller); @pair set to the role of the pair half
 * it is (-1 none), @move to MM_GUARD__GONE or MM_GUARD__CAME for a possible move (-1 none). */
static void classify(mm_guard *g, const struct mm_repo_delta *d, struct mm_guard__counts *c,
                     int *pair, int *move)
{
    const char *dir = d->dir ? d->dir : "";
    int msg = d->name ? mm_guard__ssmix2_msg(dir, d->name) : 0;
    int flag = msg == MM_GUARD__STD ? mm_guard__ssmix2_flag(d->name) : -1;

    *pair = -1;
    *move = -1;
    switch (d->kind) {
    case MM_REPO_DELTA_FOLDER:
        c->total_now = d->count;
        c->total_before = d->before;
        c->ss_folders = mm_guard__ssmix2_type_folder(dir);
        return;
    case MM_REPO_DELTA_DELETED:
        if (!d->has_old) {
            /* a whole folder: its files were in no compared folder's count before */
            c->deleted = c->total_before = d->count;
            return;
        }
        c->deleted = 1;
        if (g->parent_end_s)
            *move = MM_GUARD__GONE;
        return;
    case MM_REPO_DELTA_ADDED:
        c->added = 1;
        probe_name(dir, d->name, c);
        probe_head(d, msg, c);
        if ((flag == 0 || flag == 2) && d->has_new)
            *pair = MM_GUARD__COMPANION;
        if (d->has_new && g->parent_end_s)
            *move = MM_GUARD__CAME;
        return;
    case MM_REPO_DELTA_MODIFIED:
        c->modified = 1;
        c->ss_rewritten = msg == MM_GUARD__STD;
        probe_head(d, msg, c);
        return;
    case MM_REPO_DELTA_REPLACED:
        c->replaced = 1;
        probe_head(d, msg, c);
        if (msg == MM_GUARD__STD) {
            c->ss_replaced = 1;
            *pair = MM_GUARD__REPLACED;
        }
        return;
    case MM_REPO_DELTA_RENAMED:
        observe_renamed(d, dir, c);
        if ((flag == 0 || flag == 2) && (d->has_new || d->has_old))
            *pair = MM_GUARD__COMPANION;
        return;
    case MM_REPO_DELTA_TOUCHED:
        return;
    }
}

static void counts_add(struct mm_guard__counts *to, const struct mm_guard__counts *c)
{
    to->total_now += c->total_now;
    to->total_before += c->total_before;
    to->added += c->added;
    to->modified += c->modified;
    to->replaced += c->replaced;
    to->renamed += c->renamed;
    to->deleted += c->deleted;
    to->ss_rewritten += c->ss_rewritten;
    to->ss_replaced += c->ss_replaced;
    to->ss_not_hl7 += c->ss_not_hl7;
    to->ss_foreign += c->ss_foreign;
    to->notes += c->notes;
    to->ransom_ext += c->ransom_ext;
    to->probed += c->probed;
    to->entropy_text += c->entropy_text;
    to->mismatch += c->mismatch;
    to->ss_folders += c->ss_folders;
}

void mm_guard_observe(const struct mm_repo_delta *d, void *ctx)
{
    mm_guard *g = ctx;
    struct mm_guard__counts c;
    int pair, move;

    if (!g || !d || d->source >= g->nsources || g->cfg[d->source].off)
        return;
    if (d->kind != MM_REPO_DELTA_FOLDER && (!d->name || mm_guard__is_canary(d->dir, d->name)))
        return;
    memset(&c, 0, sizeof(c));
    classify(g, d, &c, &pair, &move);
    pthread_mutex_lock(&g->lock);
    counts_add(&g->counts[d->source], &c);
    if (pair == MM_GUARD__REPLACED)
        pair_add(g, d, d->has_old ? d->old_content : NULL, MM_GUARD__REPLACED);
    else if (pair == MM_GUARD__COMPANION)
        pair_add(g, d, d->has_new ? d->new_content : d->old_content, MM_GUARD__COMPANION);
    if (move == MM_GUARD__GONE)
        pair_add(g, d, d->old_content, MM_GUARD__GONE);
    else if (move == MM_GUARD__CAME)
        pair_add(g, d, d->new_content, MM_GUARD__CAME);
    pthread_mutex_unlock(&g->lock);
}

/* The last error again as MM_EIO (the caller reports a guard folder it cannot write). */
static int as_eio(int rc)
{
    char msg[512];

    if (rc == MM_ENOMEM)
        return rc;
    snprintf(msg, sizeof(msg), "%s", mm_error_last());
    return mm_error_set(MM_EIO, "%s", msg);
}

int mm_guard_record(mm_guard *g, const char *gen_id, const struct mm_guard_verdict *v)
{
    struct mm_guard_standing s;
    size_t i;
    int rc = 0, r;

    MM_ASSERT_ARG(g && gen_id && v);
    if (!g->dir)
        return 0;
    if (v->suspect) {
        /* only a run suspect by its own evidence stands; one suspect only because another
         * stands is cleared with it */
        if (!g->own_suspect)
            return 0;
        memset(&s, 0, sizeof(s));
        snprintf(s.gen, sizeof(s.gen), "%s", gen_id);
        snprintf(s.repo_id, sizeof(s.repo_id), "%s", g->repo_id ? g->repo_id : "");
        snprintf(s.medium, sizeof(s.medium), "%s", g->medium ? g->medium : "");
        s.time_s = g->now_s;
        rc = mm_guard__standing_add(g->dir, &s);
        return rc < 0 ? as_eio(rc) : rc;
    }
    if (!g->parent_end_s)
        return 0; /* a first backup adds everything: nothing to learn */
    for (i = 0; i < g->nsources; i++) {
        const struct mm_guard__counts *c = &g->counts[i];
        struct mm_guard__run run = { g->now_s,
                                     g->now_s - g->parent_end_s,
                                     c->total_before,
                                     c->added,
                                     c->modified + c->replaced - c->paired,
                                     c->deleted };
        if (g->cfg[i].off || !c->total_before)
            continue;
        if (run.span_s < 0)
            run.span_s = 0;
        if ((r = mm_guard__history_add(g->dir, g->cfg[i].name, &run)) < 0 && !rc)
            rc = as_eio(r);
    }
    return rc;
}

void mm_guard_verdict_release(struct mm_guard_verdict *v)
{
    if (!v)
        return;
    mm_free(v->reasons);
    v->reasons = NULL;
}

const char *mm_guard_verdict_name(const struct mm_guard_verdict *v)
{
    return v && v->suspect ? "suspect" : "clean";
}
