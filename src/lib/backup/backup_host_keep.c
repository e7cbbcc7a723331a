/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Retiring on a write-only medium ([medium] credential, docs/security.md): the host cannot
 * open the medium's manifests, so it judges only the generations it wrote itself, as its
 * window records (<state_dir>/windows.jsonl, "write_only") name them, and only those still on
 * the medium; the same floors as every medium (mm_cycle_retire_plan: never the newest, never
 * younger than keep_min_age, never below keep_min_clean clean generations — counting only its
 * own, which can only keep more) decide, and a retired generation's manifest is removed, on
 * the medium and in the host's shadow of it (staging). A person's generations are never
 * touched, nor any pack (compaction needs a person's key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/cycle_int.h"
#include "backup/status.h"
#include "common/error.h"
#include "os/os.h"
#include "repo/repo_sync.h"

#define WINDOWS_MAX (16u * 1024u * 1024u) /* the window records read (years of nights) */

struct hk_gen {
    char id[MM_CRYPTO_HEX_SIZE];
    struct mm_cycle_gen_fact f;
};

struct hk_list {
    struct hk_gen *v;
    size_t n, cap;
};

/* Add @id (once: a later record of the same generation replaces nothing). @return 0 or -1 */
static int hk_push(struct hk_list *l, const char *id, int64_t end_ns, int clean)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].id, id) == 0)
            return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct hk_gen *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    snprintf(l->v[l->n].id, sizeof(l->v[0].id), "%s", id);
    l->v[l->n].f.end_ns = end_ns;
    l->v[l->n].f.clean = clean;
    l->n++;
    return 0;
}

/* Whether generations/<@id> is on the medium at @path. */
static int on_medium(const char *path, const char *id)
{
    char p[MM_LIMIT_PATH];

    return snprintf(p, sizeof(p), "%s/generations/%s", path, id) < (int)sizeof(p) &&
           access(p, F_OK) == 0;
}

/* The generations this host wrote on @c's medium, oldest first (the window records). */
static int own_generations(struct cyc *c, struct hk_list *l)
{
    const struct mm_config_service *sv = mm_config_service(c->cfg);
    char path[MM_LIMIT_PATH];
    struct mm_status_window w;
    mm_buf b;
    int err;

    if (!sv->state_dir ||
        snprintf(path, sizeof(path), "%s/windows.jsonl", sv->state_dir) >= (int)sizeof(path))
        return -1;
    mm_buf_init(&b, WINDOWS_MAX);
    err = mm_os_read_file(path, &b);
    for (size_t at = 0; err == 0 && at < b.len;) {
        const char *line = (const char *)b.ptr + at, *nl = memchr(line, '\n', b.len - at);
        size_t len = nl ? (size_t)(nl - line) : b.len - at;
        at += len + 1;
        if (mm_status_window_parse(line, len, &w) != 0 || !w.write_only || !w.generations ||
            (w.result != 0 && w.result != 4) || strcmp(w.medium, c->m->label) != 0 ||
            !on_medium(c->m->path, w.generation))
            continue;
        err = hk_push(l, w.generation, w.attached * 1000000000,
                      w.result == 0 && strcmp(w.guard, "suspect") != 0);
    }
    mm_buf_release(&b);
    mm_error_clear();
    return err == MM_ENOTFOUND ? 0 : err;
}

void mm_backup__host_retire(struct cyc *c)
{
    const struct mm_config_media *md = mm_config_media(c->cfg);
    struct mm_cycle_keep k = { c->m->keep, c->m->keep_age, md->keep_min_age, md->keep_min_clean };
    struct hk_list l = { NULL, 0, 0 };
    struct mm_cycle_gen_fact *f = NULL;
    unsigned char *out = NULL;
    int64_t now = (int64_t)time(NULL) * 1000000000;

    /* today's generation is not in the records yet: it is the newest */
    if ((k.keep || k.keep_age > 0) && c->res->generations && !c->res->retire_held &&
        own_generations(c, &l) == 0 &&
        hk_push(&l, c->res->id, now, c->res->exit == MM_BACKUP_EXIT_OK) == 0 &&
        (f = calloc(l.n, sizeof(*f))) && (out = calloc(l.n, 1))) {
        for (size_t i = 0; i < l.n; i++)
            f[i] = l.v[i].f;
        mm_cycle_retire_plan(f, l.n, &k, now, out);
        for (size_t i = 0; i < l.n; i++) /* a head without them first (a crash: unlisted) */
            if (out[i])
                mm_backup__retired(c, l.v[i].id);
        mm_backup__window_head_write(c);
        for (size_t i = 0; i < l.n; i++) {
            char rel[96];
            if (!out[i])
                continue;
            struct mm_repo_sync_stats host = { 0 };
            snprintf(rel, sizeof(rel), "generations/%s", l.v[i].id);
            if (mm_repo_sync_remove(c->m->path, rel, &c->sync) == 0)
                c->res->retired++;
            if (c->shadow[0]) /* the shadow's copy goes too (its base follows below) */
                (void)mm_repo_sync_remove(c->shadow_repo, rel, &host);
        }
    }
    free(f);
    free(out);
    free(l.v);
    mm_error_clear();
    mm_backup__stage_base(c);
}
