/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The window of a staged cycle (docs/format.md "Staging"): check that the medium is what its
 * shadow expects, copy what it lacks (packs, dictionaries, index files, then the manifests
 * last, each read back and hashed against its name), check every pack the new index files
 * name, record the backup in the medium's audit log, refresh the viewer; the shadow's
 * bootstrap after a backup on the medium; the retirement of whole generations; and, after
 * detach, the shadow dropping the blob packs it delivered.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/cycle_int.h"
#include "common/error.h"
#include "os/os.h"

#define PATHMAX (MM_LIMIT_PATH + 160) /* a shadow or medium path and a repository name */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has(char **v, size_t n, const char *s)
{
    return n && bsearch(&s, v, n, sizeof(*v), cmp_str) != NULL;
}

/*
 * Whether the medium is what the shadow expects: the same repository, every name the base
 * lists still there, and every other name one the shadow holds (left by a window that was
 * cut short, which the copy completes). A generation or index file that the shadow does not
 * know (a backup elsewhere), or one of the base that is gone (a person's prune), is a change
 * behind the shadow's back.
 */
static int matches(struct cyc *c, char **have, size_t nhave, char **all, size_t nall)
{
    char path[PATHMAX], line[256], id[40];
    unsigned char *inbase = calloc(nhave ? nhave : 1, 1);
    int ok = inbase != NULL;
    FILE *f = NULL;

    if (!ok || strcmp(mm_repo_id(c->r), mm_repo_id(c->sr)) != 0)
        goto out;
    snprintf(path, sizeof(path), "%s/base", c->shadow);
    if (!(f = fopen(path, "r")) || !fgets(line, sizeof(line), f) || !fgets(line, sizeof(line), f) ||
        sscanf(line, "id %32s", id) != 1 || strcmp(id, mm_repo_id(c->r)) != 0) {
        ok = 0;
        goto out;
    }
    while (ok && fgets(line, sizeof(line), f)) {
        const char *key = line;
        char **hit;
        line[strcspn(line, "\n")] = '\0';
        hit = nhave ? bsearch(&key, have, nhave, sizeof(*have), cmp_str) : NULL;
        if ((ok = hit != NULL))
            inbase[hit - have] = 1;
    }
    /* a write-only medium's shadow holds none of what the base lists: only the rest counts */
    for (size_t i = 0; ok && i < nhave; i++)
        ok = inbase[i] || has(all, nall, have[i]);
out:
    if (f)
        fclose(f);
    free(inbase);
    return ok;
}

/* Copy to the medium the shadow's files under @prefix that it lacks. @return 0 or an mm_err */
static int copy_missing(struct cyc *c, char **all, size_t n, const char *prefix, char **have,
                        size_t nhave)
{
    size_t plen = strlen(prefix);
    int err;

    for (size_t i = 0; i < n; i++) {
        char path[PATHMAX];
        struct stat sb;
        if (strncmp(all[i], prefix, plen) != 0)
            continue;
        if (plen == 5) { /* "data/": not listed on the medium, looked up one by one */
            snprintf(path, sizeof(path), "%s/%s", c->m->path, all[i]);
            if (stat(path, &sb) == 0)
                continue;
        } else if (has(have, nhave, all[i])) {
            continue;
        }
        if ((err = mm_repo_sync_copy(c->shadow_repo, c->m->path, all[i], &c->sync)) < 0)
            return err;
    }
    return 0;
}

#define AUDIT_EARLIER_MAX 31 /* earlier staged generations recorded per window */

/* An earlier staged generation's event from its "staged" line (@t, @id, @bytes) into @b. */
static void earlier_fields(struct mm_audit_fields *b, long long t, const char *id,
                           unsigned long long bytes)
{
    snprintf(b->msg, sizeof(b->msg), "%s", id); /* the builder keeps pointers: its own copy */
    mm_audit_fields_add(b, "result", "ok");
    mm_audit_fields_add(b, "generation", b->msg);
    mm_audit_fields_addu(b, "bytes_stored", bytes);
    mm_audit_fields_addu(b, "staged_at", (unsigned long long)t);
    mm_audit_fields_add(b, "staged", "1");
}

/*
 * The viewer on the medium (launcher, guide, and bin/ when wanted) as the staged manifests
 * list it (the staging listed it for the medium, viewer_elsewhere): only what differs is
 * rewritten. A mamori upgraded between staging and delivery writes itself, and verify then
 * reports the difference until the next generation lists it. A failure is a note.
 */
static void write_viewer(struct cyc *c)
{
    struct mm_repo_medium m;
    int labelled = mm_repo_medium_get(c->r, &m) == 0;
    unsigned int flags = MM_BACKUP_VIEWER_WRITE | (c->o->medium_viewer ? MM_BACKUP_VIEWER_BIN : 0);

    mm_error_clear();
    if (mm_backup_medium_viewer(c->m->path, labelled ? &m : NULL, flags, c->o->windows_exe, NULL) <
                0 &&
        c->o->note) {
        struct mm_backup_note n = { MM_BACKUP_NOTE_VIEWER, 0, mm_error_last(), NULL, NULL };
        c->o->note(&n, c->o->arg);
    }
}

/*
 * The backup events of the generations delivered in the medium's own log (its log may have
 * grown by itself, e.g. viewer sessions, so the shadow's log is never copied over it): the
 * day's with its counts, earlier staged ones (a medium that did not come) from the shadow's
 * "staged" list. The host's log got each when it was staged.
 */
static void audit_medium(struct cyc *c)
{
    struct mm_audit_fields *b = calloc(AUDIT_EARLIER_MAX + 1, sizeof(*b));
    struct mm_audit_event ev[AUDIT_EARLIER_MAX + 1];
    struct mm_audit_write_report rep;
    char path[PATHMAX], line[160];
    size_t n = 0;
    FILE *f;

    if (!b)
        return;
    memset(ev, 0, sizeof(ev));
    snprintf(path, sizeof(path), "%s/staged", c->shadow);
    if ((f = fopen(path, "r")) != NULL) {
        while (n < AUDIT_EARLIER_MAX && fgets(line, sizeof(line), f)) {
            long long t;
            unsigned long long bytes;
            char id[MM_CRYPTO_HEX_SIZE];
            if (sscanf(line, "%lld %64s %llu", &t, id, &bytes) == 3 && strcmp(id, c->stage_id) != 0)
                earlier_fields(&b[n++], t, id, bytes);
        }
        fclose(f);
    }
    if (c->staged_today) {
        mm_audit_fields_add(&b[n], "result", "ok");
        mm_backup_audit_fields(c->stage_id, c->res->guard, &c->stage_counts, &b[n]);
        mm_audit_fields_add(&b[n], "staged", "1");
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        ev[i].kind = MM_AUDIT_BACKUP;
        ev[i].fields = b[i].f;
        ev[i].nfields = b[i].n;
        ev[i].subject_kind = MM_AUDIT_SUBJECT_NONE;
    }
    struct mm_repo_head_write_opts ho = { 0 };
    ho.host_dir = c->o->audit_host_dir; /* the head's host copy; the host log has the events */
    if (n && mm_audit_repo_write_head(c->r, c->m->path, NULL, ev, n, &ho, &rep) != 0 &&
        (!rep.medium_ok || rep.head_failed) && c->o->note) {
        struct mm_backup_note note = { MM_BACKUP_NOTE_AUDIT, 0, NULL, &rep, NULL };
        c->o->note(&note, c->o->arg);
    }
    free(b);
    mm_error_clear();
}

/* mm_audit_interrupted_fn: a killed writer of the medium found by the window: a note. */
static void interrupted_note(const struct mm_repo_interrupted *it, int recorded,
                             const struct mm_audit_write_report *rep, void *arg)
{
    const struct cyc *c = arg;
    struct mm_backup_note n = { MM_BACKUP_NOTE_INTERRUPTED, recorded ? 1 : 0, NULL, rep, it };

    if (c->o->note)
        c->o->note(&n, c->o->arg);
}

/*
 * Every pack c->check (a write-only medium's: those its waiting generations' IDs may live in)
 * on the medium with its size: one the medium lacks or holds at another size is copied from
 * the shadow when the shadow has it (@dry: nothing is copied, only looked up; run before the
 * window writes anything).
 * @return 0; 1 a pack is on neither (a poisoned or stale catalog, packs lost from the shadow:
 *         the staged generations might point at missing data and are never delivered); an
 *         mm_err (copy failed)
 */
static int check_catalog_packs(struct cyc *c, int dry)
{
    for (size_t i = 0; i < c->ncheck; i++) {
        char rel[96], path[PATHMAX];
        struct stat sb;
        int err = mm_repo_sync_pack_check(c->m->path, &c->check[i], &c->sync);
        if (err == 0)
            continue;
        snprintf(rel, sizeof(rel), "data/%.2s/%s", c->check[i].id, c->check[i].id);
        snprintf(path, sizeof(path), "%s/%s", c->shadow_repo, rel);
        if (stat(path, &sb) != 0 || (uint64_t)sb.st_size != c->check[i].size) {
            mm_error_clear();
            return 1;
        }
        if (dry)
            continue;
        if ((err = mm_repo_sync_copy(c->shadow_repo, c->m->path, rel, &c->sync)) < 0 ||
            (err = mm_repo_sync_pack_check(c->m->path, &c->check[i], &c->sync)) < 0)
            return err;
    }
    return 0;
}

int mm_backup__stage_deliver(struct cyc *c)
{
    char **have = NULL, **all = NULL;
    size_t nhave = 0, nall = 0;
    int err;

    /* a writer of the medium like any backup: a person's prune waits, a stale lock of a
     * killed window or backup is kept as its marker and recorded in the audit logs */
    if ((err = mm_repo_lock_for(c->r, MM_REPO_LOCK_EXCLUSIVE, "run", NULL)) < 0)
        return mm_backup__cycle_fail(c, MM_CYCLE_STAGE_COPY, err, "medium is locked");
    if (mm_backup__window_head_check(c) < 0)
        return -1;
    if (mm_audit_record_interrupted(c->r, c->m->path, c->o->audit_host_dir, "run", interrupted_note,
                                    c) < 0)
        mm_error_clear(); /* the markers stay for the next writer */
    if ((err = mm_repo_sync_list(c->m->path, 0, &have, &nhave)) < 0)
        return mm_backup__cycle_fail(c, MM_CYCLE_STAGE_COPY, err, "medium cannot be listed");
    if ((err = mm_repo_sync_list(c->shadow_repo, 1, &all, &nall)) < 0) {
        mm_repo_sync_list_free(have, nhave);
        return mm_backup__cycle_fail(c, MM_CYCLE_STAGE_COPY, err, "staging cannot be listed");
    }
    if (!matches(c, have, nhave, all, nall)) { /* changed behind the shadow: not trusted */
        mm_repo_sync_list_free(have, nhave);
        mm_repo_sync_list_free(all, nall);
        mm_backup__stage_drop(c);
        c->res->resynced = 1;
        return 1;
    }
    if (c->m->credential && check_catalog_packs(c, 1) == 1) {
        /* never a manifest pointing at missing data, and nothing written that names it:
         * the day runs on the medium, whose backup checks the catalog against the medium
         * itself and stores again what is missing */
        mm_repo_sync_list_free(have, nhave);
        mm_repo_sync_list_free(all, nall);
        mm_backup__stage_drop(c);
        c->res->resynced = 1;
        return 1;
    }
    /* packs (a write-only medium's checked at once), then dictionaries, then index files;
     * the manifests only once all is checked */
    if (err == 0)
        err = copy_missing(c, all, nall, "data/", have, nhave);
    if (err == 0 && c->m->credential && (err = check_catalog_packs(c, 0)) == 1)
        err = mm_error_set(MM_ENOTFOUND, "a pack went missing during the window");
    if (err == 0)
        err = copy_missing(c, all, nall, "dict/", have, nhave);
    if (err == 0)
        err = copy_missing(c, all, nall, "index/", have, nhave);
    for (size_t i = 0; err == 0 && !c->m->credential && i < c->ncheck; i++)
        err = mm_repo_sync_pack_check(c->m->path, &c->check[i], &c->sync);
    if (err == 0)
        err = copy_missing(c, all, nall, "generations/", have, nhave);
    mm_repo_sync_list_free(have, nhave);
    mm_repo_sync_list_free(all, nall);
    if (err < 0) { /* the message names repository files only (hex names), never data */
        char why[160];
        snprintf(why, sizeof(why), "copy of the staged generation failed: %s", mm_error_last());
        return mm_backup__cycle_fail(c, MM_CYCLE_STAGE_COPY, err, why);
    }
    snprintf(c->res->window, sizeof(c->res->window), "staged");
    c->delivered = 1;
    if (c->staged_today) {
        c->res->generations = 1;
        memcpy(c->res->id, c->stage_id, sizeof(c->res->id));
        c->res->bytes_written = c->stage_counts.bytes_stored;
    }
    audit_medium(c);
    write_viewer(c);
    return 0;
}

/* Copy every regular file of <medium>/@dir into <@to>/@dir. @return 0 or an mm_err */
static int copy_dir_files(struct cyc *c, const char *to, const char *dir,
                          struct mm_repo_sync_stats *st)
{
    char path[PATHMAX], rel[PATHMAX];
    struct dirent *de;
    DIR *d;
    int err = 0;

    snprintf(path, sizeof(path), "%s/%s", c->m->path, dir);
    if (!(d = opendir(path)))
        return 0;
    while (err == 0 && (de = readdir(d)) != NULL) {
        struct stat sb;
        if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
            continue;
        if (snprintf(rel, sizeof(rel), "%s/%s", dir, de->d_name) >= (int)sizeof(rel) ||
            snprintf(path, sizeof(path), "%s/%s", c->m->path, rel) >= (int)sizeof(path))
            continue;
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
            err = mm_repo_sync_copy(c->m->path, to, rel, st);
    }
    closedir(d);
    return err;
}

/* The shadow's files from the medium into @to. @return 0 or an mm_err */
static int bootstrap_into(struct cyc *c, const char *to)
{
    static const char *const fixed[] = { "mamori-repo",   "config",   "medium",
                                         "mamori-repo.2", "config.2", "medium.2" };
    struct mm_repo_sync_stats st = { 0 }; /* host-side: not the medium's fsyncs */
    struct mm_repo_sync_pack *p = NULL;
    char **names = NULL, path[PATHMAX];
    size_t n = 0, np = 0;
    int err = 0;

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && err == 0; i++) {
        snprintf(path, sizeof(path), "%s/%s", c->m->path, fixed[i]);
        if (access(path, F_OK) == 0)
            err = mm_repo_sync_copy(c->m->path, to, fixed[i], &st);
    }
    if (err == 0)
        err = copy_dir_files(c, to, "keys", &st);
    if (err == 0)
        err = mm_repo_sync_list(c->m->path, 0, &names, &n);
    for (size_t i = 0; err == 0 && i < n; i++)
        err = mm_repo_sync_copy(c->m->path, to, names[i], &st);
    if (err == 0)
        err = mm_repo_sync_packs(c->r, &p, &np);
    for (size_t i = 0; err == 0 && i < np; i++) {
        char rel[96];
        if (!p[i].trees)
            continue;
        snprintf(rel, sizeof(rel), "data/%.2s/%s", p[i].id, p[i].id);
        err = mm_repo_sync_copy(c->m->path, to, rel, &st);
    }
    free(p);
    mm_repo_sync_list_free(names, n);
    return err;
}

/*
 * A write-only medium's shadow from the medium into @to: only its marker and label. The host
 * can open nothing else of the medium, and its backup needs nothing else: the catalog holds
 * the parent's trees and the packs' tables, the credential the dictionaries and settings.
 * @return 0 or an mm_err
 */
static int bootstrap_wo(struct cyc *c, const char *to)
{
    static const char *const dirs[] = { "data", "index", "generations" };
    struct mm_repo_sync_stats st = { 0 };
    char path[PATHMAX];
    int err = mm_repo_sync_copy(c->m->path, to, "mamori-repo", &st);

    snprintf(path, sizeof(path), "%s/medium", c->m->path);
    if (err == 0 && access(path, F_OK) == 0)
        err = mm_repo_sync_copy(c->m->path, to, "medium", &st);
    for (size_t i = 0; err == 0 && i < 3; i++)
        err = snprintf(path, sizeof(path), "%s/%s", to, dirs[i]) < (int)sizeof(path)
                      ? mm_os_mkdir_p(path, 0700)
                      : MM_ELIMIT;
    return err;
}

void mm_backup__stage_bootstrap(struct cyc *c)
{
    char tmp[PATHMAX];

    if (!c->shadow[0])
        return;
    mm_backup__stage_drop(c);
    snprintf(tmp, sizeof(tmp), "%s.new", c->shadow_repo);
    if (mm_os_mkdir_p(c->shadow, 0700) != 0 ||
        (c->m->credential ? bootstrap_wo(c, tmp) : bootstrap_into(c, tmp)) != 0 ||
        rename(tmp, c->shadow_repo) != 0) {
        mm_backup__stage_drop(c); /* the next window runs on the medium again */
        mm_error_clear();
    }
}

/* A write-only medium's packs with their sizes into the shadow's "packs" (what its catalog
 * may count as present at the next staging; the window checks them again). */
static void write_packs(struct cyc *c)
{
    char **all = NULL, path[PATHMAX];
    size_t n = 0;
    mm_buf b;
    int err;

    if (mm_repo_sync_list(c->m->path, 1, &all, &n) < 0)
        return;
    mm_buf_init(&b, 64u * 1024u * 1024u);
    err = mm_buf_puts(&b, "mamori-packs 1\n");
    for (size_t i = 0; err == 0 && i < n; i++) {
        struct stat sb;
        if (strncmp(all[i], "data/", 5) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", c->m->path, all[i]);
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
            err = mm_buf_printf(&b, "%s %llu\n", strrchr(all[i], '/') + 1,
                                (unsigned long long)sb.st_size);
    }
    snprintf(path, sizeof(path), "%s/packs", c->shadow);
    if (err == 0)
        (void)mm_os_write_atomic(path, b.ptr, b.len);
    mm_buf_release(&b);
    mm_repo_sync_list_free(all, n);
}

/* Remember what the medium holds now (the shadow's "base"). */
static void write_base(struct cyc *c)
{
    char **have = NULL, path[PATHMAX];
    size_t n = 0;
    mm_buf b;

    snprintf(path, sizeof(path), "%s/mamori-repo", c->shadow_repo);
    if (!c->shadow[0] || access(path, F_OK) != 0 ||
        mm_repo_sync_list(c->m->path, 0, &have, &n) < 0) {
        mm_error_clear();
        return;
    }
    mm_buf_init(&b, 64u * 1024u * 1024u);
    int err = mm_buf_put(&b, "mamori-shadow 1\nid ", 19);
    if (err == 0)
        err = mm_buf_put(&b, mm_repo_id(c->r), strlen(mm_repo_id(c->r)));
    if (err == 0)
        err = mm_buf_put(&b, "\n", 1);
    for (size_t i = 0; err == 0 && i < n; i++) {
        err = mm_buf_put(&b, have[i], strlen(have[i]));
        if (err == 0)
            err = mm_buf_put(&b, "\n", 1);
    }
    if (err == 0 && c->m->credential)
        write_packs(c); /* before the base: a shadow with a base has its packs */
    snprintf(path, sizeof(path), "%s/base", c->shadow);
    if (err == 0)
        (void)mm_os_write_atomic(path, b.ptr, b.len);
    mm_buf_release(&b);
    mm_repo_sync_list_free(have, n);
    mm_error_clear();
}

void mm_backup__stage_base(struct cyc *c)
{
    write_base(c);
}

void mm_backup__stage_retire(struct cyc *c)
{
    const struct mm_config_media *md = mm_config_media(c->cfg);
    struct mm_cycle_keep k = { c->m->keep, c->m->keep_age, md->keep_min_age, md->keep_min_clean };
    mm_repo *from = c->delivered && c->sr ? c->sr : c->r;
    struct mm_repo_gen *g = NULL;
    struct mm_cycle_gen_fact *f = NULL;
    unsigned char *out = NULL;
    size_t n = 0;

    if ((k.keep || k.keep_age > 0) && !c->res->retire_held &&
        mm_repo_generations(from, &g, &n) == 0 && n && (f = calloc(n, sizeof(*f))) &&
        (out = calloc(n, 1))) {
        for (size_t i = 0; i < n; i++) {
            f[i].end_ns = g[i].end_ns;
            f[i].clean = mm_repo_gen_good(&g[i]) && !(g[i].check.present && g[i].check.attention);
        }
        mm_cycle_retire_plan(f, n, &k, (int64_t)time(NULL) * 1000000000, out);
        for (size_t i = 0; i < n; i++) /* a head without them first (a crash: unlisted) */
            if (out[i])
                mm_backup__retired(c, g[i].id);
        mm_backup__window_head_write(c);
        for (size_t i = 0; i < n; i++) {
            char rel[96];
            struct mm_repo_sync_stats host = { 0 };
            if (!out[i])
                continue;
            snprintf(rel, sizeof(rel), "generations/%s", g[i].id);
            if (mm_repo_sync_remove(c->m->path, rel, &c->sync) == 0)
                c->res->retired++;
            if (c->shadow[0])
                (void)mm_repo_sync_remove(c->shadow_repo, rel, &host);
        }
    }
    free(f);
    free(out);
    mm_repo_gens_free(g, n);
    mm_error_clear();
    write_base(c);
}

void mm_backup__stage_finish(struct cyc *c)
{
    char path[PATHMAX];

    if (c->delivered) { /* the medium has them now: the shadow keeps only tree packs */
        for (size_t i = 0; i < c->npacks; i++) {
            if (c->packs[i].trees)
                continue;
            snprintf(path, sizeof(path), "%s/data/%.2s/%s", c->shadow_repo, c->packs[i].id,
                     c->packs[i].id);
            unlink(path);
        }
        snprintf(path, sizeof(path), "%s/staged", c->shadow);
        unlink(path);
        snprintf(path, sizeof(path), "%s/needs", c->shadow);
        unlink(path);
        c->staged = 0;
    }
    c->res->staged_waiting = c->staged;
    if (c->shadow[0]) {
        const struct mm_config_service *sv = mm_config_service(c->cfg);
        if (!c->staged && sv->state_dir &&
            snprintf(path, sizeof(path), "%s/staged/%s.json", sv->state_dir, c->m->label) <
                    (int)sizeof(path))
            unlink(path);
    }
    free(c->check);
    free(c->packs);
    free(c->known);
    c->check = c->packs = c->known = NULL;
    c->ncheck = c->npacks = c->nknown = 0;
    mm_repo_free(c->sr);
    c->sr = NULL;
}
