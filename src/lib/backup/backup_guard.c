/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guard in the backup pipeline (backup.h, guard/guard.h): before the walk, the settings
 * of each source (the caller's, or the defaults named by the folder's base name; SS-MIX2
 * from what was detected), the host's guard folder and the generation that stands suspect
 * on this repository (read from its manifests with a person's handle; a host handle cannot
 * read them, so there the host's standing list, which mm_guard_judge reads, is the truth);
 * during the walk mm_guard_observe is the repository's delta hook; the judge hook gives the
 * guard's verdict, made suspect while a generation stands ("standing <12 hex digits>");
 * after the manifest the verdict joins the host's history or standing list. A guard folder
 * that cannot be read or written is a note, never a failed backup.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup_int.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "os/os.h"

/* The settings of source @i (a copy of the caller's, or the defaults). */
static void source_cfg(struct guard_job *gj, const struct mm_repo_source *src, size_t i)
{
    const struct mm_backup_opts *o = gj->o;
    struct mm_guard_source_cfg *c = &gj->cfg[i];

    if (o->guard_sources) {
        *c = o->guard_sources[i];
    } else {
        memset(c, 0, sizeof(*c));
        c->max_modified = c->max_deleted = c->max_added = -1;
    }
    if (!c->name)
        c->name = mm_backup__base(src[i].path);
    if (!c->path)
        c->path = src[i].path;
    c->ssmix2 = c->ssmix2 || src[i].kind != MM_REPO_SOURCE_FOLDER;
}

/* Whether the suspect generation @g was suspect by its own evidence: a reason other than
 * "standing ..." (a run suspect only because another stood is cleared with that one, as
 * mm_guard_record keeps it off the host's standing list). */
static int own_evidence(const struct mm_repo_gen *g)
{
    for (const char *p = g->guard_reasons; p && *p;) {
        size_t n = strcspn(p, "\n");
        if (n && strncmp(p, "standing", 8) != 0)
            return 1;
        p += n + (p[n] == '\n');
    }
    return !g->guard_reasons || !*g->guard_reasons; /* no reasons given: take it as its own */
}

/* The generation standing on @g (@n, oldest first): the oldest suspect one, not accepted and
 * suspect by its own evidence, after which no generation is good. @return its index or @n */
static size_t standing_own(const struct mm_repo_gen *g, size_t n)
{
    size_t s = n;

    for (size_t i = 0; i < n; i++) {
        if (mm_repo_gen_good(&g[i]))
            s = n;
        else if (s == n && own_evidence(&g[i]))
            s = i;
    }
    return s;
}

/* The parent's end time and the generation standing suspect on @r (a person's handle). */
static void repo_facts(struct guard_job *gj, mm_repo *r)
{
    struct mm_repo_gen *g = NULL;
    size_t n = 0, s;

    if (mm_keyset_is_host(mm_repo_keyset(r))) {
        /* manifests are closed to a host: its standing list stands in, and its catalog
         * says when the parent was written (moves between folders are paired only when
         * there is a parent) */
        struct mm_repo_gen last;
        if (gj->o->catalog_dir && mm_repo_catalog_last(r, gj->o->catalog_dir, &last) == 0)
            gj->parent_end_ns = last.end_ns;
        else
            mm_error_clear(); /* no catalog yet: the first backup, no parent */
        return;
    }
    if (mm_repo_generations(r, &g, &n) < 0) {
        mm_error_clear(); /* a damaged manifest is verify's to report */
        return;
    }
    if (n)
        gj->parent_end_ns = g[n - 1].end_ns;
    if (mm_repo_gen_standing(g, n) < n && (s = standing_own(g, n)) < n)
        snprintf(gj->standing, sizeof(gj->standing), "%s", g[s].id);
    mm_repo_gens_free(g, n);
}

int mm_backup__guard_start(struct guard_job *gj, mm_repo *r, const struct mm_repo_source *src,
                           int64_t now_s)
{
    const struct mm_backup_opts *o = gj->o;
    struct mm_guard_opts go = { 0 };
    int err;

    if (o->no_guard)
        return 0;
    for (size_t i = 0; i < o->nsources; i++)
        source_cfg(gj, src, i);
    if (o->guard_dir)
        snprintf(gj->dir, sizeof(gj->dir), "%s", o->guard_dir);
    else if (mm_backup__pjoin(gj->dir, sizeof(gj->dir),
                              o->cache_root ? o->cache_root : "/var/cache/mamori", "guard") < 0)
        return mm_error_set(MM_ELIMIT, "guard folder path too long");
    repo_facts(gj, r);
    if (mm_os_mkdir_p(gj->dir, 0700) != 0)
        mm_error_clear(); /* mm_guard_new says what it cannot read; recording notes it */
    go.dir = gj->dir;
    go.sources = gj->cfg;
    go.nsources = o->nsources;
    go.now_s = now_s;
    go.parent_end_s = gj->parent_end_ns / 1000000000;
    go.repo_id = mm_repo_id(r);
    go.medium = o->medium_label;
    if ((err = mm_guard_new(&go, &gj->g)) == MM_ENOMEM)
        return err;
    if (err < 0) { /* the folder cannot be read: built-in thresholds, nothing recorded */
        mm_backup__note(o, MM_BACKUP_NOTE_GUARD, 0, mm_error_last());
        gj->unreadable = 1;
        go.dir = NULL;
        if ((err = mm_guard_new(&go, &gj->g)) < 0)
            return err;
    }
    return 0;
}

/* Whether the reason lines @reasons hold the line @line. */
static int has_line(const char *reasons, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = reasons; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == n && memcmp(p, line, n) == 0)
            return 1;
        p = nl ? nl + 1 : p + len;
    }
    return 0;
}

/* The verdict's reasons with the repository's standing suspect added. @return 0, MM_ENOMEM */
static int add_standing(struct guard_job *gj)
{
    char line[32];
    mm_buf b;
    int err;

    if (!gj->standing[0])
        return 0;
    gj->v.suspect = 1;
    snprintf(line, sizeof(line), "standing %.12s", gj->standing);
    if (has_line(gj->v.reasons, line))
        return 0;
    mm_buf_init(&b, 1u << 20);
    err = mm_buf_puts(&b, gj->v.reasons ? gj->v.reasons : "");
    if (err == 0 && b.len && b.ptr[b.len - 1] != '\n')
        err = mm_buf_putc(&b, '\n');
    if (err == 0)
        err = mm_buf_printf(&b, "%s\n", line);
    if (err < 0) {
        mm_buf_release(&b);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    mm_free(gj->v.reasons);
    gj->v.reasons = mm_buf_detach(&b); /* now owned by the verdict */
    return 0;
}

int mm_backup__guard_judge(mm_repo *r, const struct mm_repo_counts *c, const char **verdict,
                           const char **reasons, void *ctx)
{
    struct guard_job *gj = ctx;
    int err;

    (void)r;
    (void)c;
    mm_guard_verdict_release(&gj->v);
    if ((err = mm_guard_judge(gj->g, &gj->v)) < 0 || (err = add_standing(gj)) < 0)
        return err;
    gj->judged = 1;
    *verdict = mm_guard_verdict_name(&gj->v);
    *reasons = gj->v.reasons;
    return 0;
}

void mm_backup__guard_finish(struct guard_job *gj, struct mm_backup_result *res)
{
    int err;

    snprintf(res->guard, sizeof(res->guard), "%s",
             gj->judged ? mm_guard_verdict_name(&gj->v) : "none");
    if (!gj->judged)
        return;
    if (gj->v.reasons)
        res->guard_reasons = strdup(gj->v.reasons); /* NULL when out of memory: words lost */
    if (gj->unreadable)
        return; /* noted when it could not be read: nothing recorded on this host */
    if ((err = mm_guard_record(gj->g, res->id, &gj->v)) < 0) {
        mm_backup__note(gj->o, MM_BACKUP_NOTE_GUARD, 1, mm_error_last());
        mm_error_clear();
        return;
    }
    res->guard_recorded = 1;
}

void mm_backup__guard_release(struct guard_job *gj)
{
    mm_guard_verdict_release(&gj->v);
    mm_guard_free(gj->g);
    gj->g = NULL;
}
