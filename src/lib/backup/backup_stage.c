/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's shadow of a medium (docs/format.md "Staging"): <staging>/<LABEL>/repo is a
 * repository of the directory backend with the medium's marker, config, key slots, label,
 * dict/, index/, generations/ and the packs holding trees, but not the blob packs the medium
 * already has. A backup into it with the medium offline reads the parent's trees and
 * deduplicates against its index exactly as on the medium; the window then copies only what
 * the medium lacks (packs, dict, index files, the manifest last), each checked on the medium
 * by its name's hash. <staging>/<LABEL>/base lists what the medium held after the last window
 * (its marker ID and the names under generations/, index/, dict/): a medium that differs was
 * changed behind the shadow (a person's prune, a backup elsewhere), and its staged data is
 * never delivered. <staging>/<LABEL>/staged lists the generations waiting ("<time> <ID>
 * <bytes>" a line), mirrored for `status` as <state_dir>/staged/<LABEL>.json. A write-only
 * medium ([medium] credential) has a write-only shadow: only the medium's marker and label and
 * what the host's backups wrote into it, opened with the credential; the host catalog stands
 * in for the parent's trees and the index, <staging>/<LABEL>/packs for the medium's packs, and
 * <staging>/<LABEL>/needs lists the packs the waiting generations may use, which the window
 * checks on the medium before it writes anything (docs/format.md "Staging").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/cycle_int.h"
#include "common/error.h"
#include "common/json.h"
#include "os/os.h"

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Remove @path and everything below it (best effort). */
static void rm_tree(const char *path)
{
    struct stat sb;
    DIR *d;
    struct dirent *de;

    if (lstat(path, &sb) != 0)
        return;
    if (!S_ISDIR(sb.st_mode)) {
        unlink(path);
        return;
    }
    if ((d = opendir(path)) != NULL) {
        while ((de = readdir(d)) != NULL) {
            char sub[MM_LIMIT_PATH];
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) < (int)sizeof(sub))
                rm_tree(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

/* "<dir>/<name>" into @out. @return 0, -1 too long */
static int pjoin(char *out, size_t cap, const char *dir, const char *name)
{
    return snprintf(out, cap, "%s/%s", dir, name) < (int)cap ? 0 : -1;
}

static int paths_for(const mm_config *cfg, const char *label, char *shadow, char *repo)
{
    const struct mm_config_media *md = mm_config_media(cfg);

    if (!md->staging || pjoin(shadow, MM_LIMIT_PATH, md->staging, label) < 0 ||
        pjoin(repo, MM_LIMIT_PATH, shadow, "repo") < 0)
        return -1;
    return 0;
}

/* <state_dir>/staged/<LABEL>.json into @out. */
static int json_path(const mm_config *cfg, const char *label, char *out, size_t cap)
{
    const struct mm_config_service *sv = mm_config_service(cfg);

    return sv->state_dir && snprintf(out, cap, "%s/staged/%s.json", sv->state_dir, label) < (int)cap
                   ? 0
                   : -1;
}

/* What waits in a shadow (its "staged" file). */
struct waiting {
    int64_t first;                 /* staged_at of the oldest, 0: nothing waits */
    char last[MM_CRYPTO_HEX_SIZE]; /* the newest generation */
    uint64_t bytes;
    size_t n;
};

static void read_waiting(const char *shadow, struct waiting *w)
{
    char path[MM_LIMIT_PATH], line[160];
    FILE *f;

    memset(w, 0, sizeof(*w));
    if (pjoin(path, sizeof(path), shadow, "staged") < 0 || !(f = fopen(path, "r")))
        return;
    while (fgets(line, sizeof(line), f)) {
        long long t;
        unsigned long long b;
        char id[MM_CRYPTO_HEX_SIZE];
        if (sscanf(line, "%lld %64s %llu", &t, id, &b) != 3)
            continue;
        if (w->n++ == 0)
            w->first = t;
        memcpy(w->last, id, sizeof(w->last));
        w->bytes += b;
    }
    fclose(f);
}

/* <state_dir>/staged/<LABEL>.json from the shadow's "staged" file (removed when empty). */
static void write_json(struct cyc *c)
{
    const struct mm_config_media *md = mm_config_media(c->cfg);
    char path[MM_LIMIT_PATH], dir[MM_LIMIT_PATH], at[32], ex[32], num[32];
    struct waiting w;
    time_t t, e;
    struct tm tm;
    mm_buf b;

    if (json_path(c->cfg, c->m->label, path, sizeof(path)) < 0)
        return;
    read_waiting(c->shadow, &w);
    if (w.n == 0) {
        unlink(path);
        return;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    *strrchr(dir, '/') = '\0';
    if (mm_os_mkdir_p(dir, 0750) != 0)
        return;
    t = (time_t)w.first;
    e = (time_t)(w.first + md->staging_expiry);
    gmtime_r(&t, &tm);
    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    gmtime_r(&e, &tm);
    strftime(ex, sizeof(ex), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)w.bytes);
    mm_buf_init(&b, 4096);
    if (mm_buf_put(&b, "{", 1) == 0 && mm_json_kv(&b, 1, "medium", c->m->label) == 0 &&
        mm_json_kv(&b, 0, "generation", w.last) == 0 && mm_json_kv(&b, 0, "staged_at", at) == 0 &&
        mm_buf_put(&b, ",\"bytes\":", 9) == 0 && mm_buf_put(&b, num, strlen(num)) == 0 &&
        mm_json_kv(&b, 0, "expires", ex) == 0 && mm_buf_put(&b, "}\n", 2) == 0)
        (void)mm_os_write_atomic(path, b.ptr, b.len);
    mm_buf_release(&b);
    mm_error_clear();
}

/* Drop the shadow of @label and what it said waits. */
static void drop_shadow(const mm_config *cfg, const char *label)
{
    char shadow[MM_LIMIT_PATH], repo[MM_LIMIT_PATH], json[MM_LIMIT_PATH];

    if (paths_for(cfg, label, shadow, repo) == 0)
        rm_tree(shadow);
    if (json_path(cfg, label, json, sizeof(json)) == 0)
        unlink(json);
}

void mm_backup__stage_drop(struct cyc *c)
{
    mm_repo_free(c->sr);
    c->sr = NULL;
    c->staged = c->staged_today = 0;
    if (c->shadow[0])
        drop_shadow(c->cfg, c->m->label);
}

void mm_backup__stage_prepare(struct cyc *c)
{
    const struct mm_config_media *md = mm_config_media(c->cfg);
    time_t now = time(NULL);

    if (paths_for(c->cfg, c->m->label, c->shadow, c->shadow_repo) < 0)
        c->shadow[0] = c->shadow_repo[0] = '\0';
    for (size_t i = 0; i < mm_config_medium_count(c->cfg); i++) {
        const struct mm_config_medium *m = mm_config_medium_at(c->cfg, i);
        char shadow[MM_LIMIT_PATH], repo[MM_LIMIT_PATH];
        struct waiting w;
        size_t len = strlen(c->res->expired);
        if (paths_for(c->cfg, m->label, shadow, repo) < 0)
            continue;
        read_waiting(shadow, &w);
        if (!w.n || !mm_cycle_staged_expired(w.first, md->staging_expiry, (int64_t)now))
            continue;
        drop_shadow(c->cfg, m->label); /* its next window runs on the medium */
        snprintf(c->res->expired + len, sizeof(c->res->expired) - len, "%s%s", len ? " " : "",
                 m->label);
    }
}

/* Whether the medium has a shadow to stage into (bootstrapped, with its base). */
static int shadow_ready(struct cyc *c)
{
    char a[MM_LIMIT_PATH], b[MM_LIMIT_PATH];

    return c->shadow[0] && pjoin(a, sizeof(a), c->shadow_repo, "mamori-repo") == 0 &&
           pjoin(b, sizeof(b), c->shadow, "base") == 0 && access(a, F_OK) == 0 &&
           access(b, F_OK) == 0;
}

/* The names the base file lists (after its "id" line) and the ID. @return 0, -1 */
static int read_base(struct cyc *c, char id[33], char ***out, size_t *n)
{
    char path[MM_LIMIT_PATH], line[256];
    char **v = NULL;
    size_t len = 0, cap = 0;
    FILE *f;
    int err = 0;

    *out = NULL;
    *n = 0;
    if (pjoin(path, sizeof(path), c->shadow, "base") < 0 || !(f = fopen(path, "r")))
        return -1;
    if (!fgets(line, sizeof(line), f) || strcmp(line, "mamori-shadow 1\n") != 0 ||
        !fgets(line, sizeof(line), f) || sscanf(line, "id %32s", id) != 1) {
        fclose(f);
        return -1;
    }
    while (err == 0 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (len == cap) {
            char **nv = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));
            if (!nv) {
                err = -1;
                break;
            }
            v = nv;
        }
        if (!(v[len] = strdup(line)))
            err = -1;
        else
            len++;
    }
    fclose(f);
    if (err < 0) {
        mm_repo_sync_list_free(v, len);
        return -1;
    }
    *out = v;
    *n = len;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether the sorted @v holds @s. */
static int has(char **v, size_t n, const char *s)
{
    return n && bsearch(&s, v, n, sizeof(*v), cmp_str) != NULL;
}

/* Append the day's staged generation to the shadow's "staged" list (fsynced). @return 0, -1 */
static int add_waiting(struct cyc *c)
{
    char path[MM_LIMIT_PATH];
    FILE *f;
    int err;

    if (pjoin(path, sizeof(path), c->shadow, "staged") < 0 || !(f = fopen(path, "a")))
        return -1;
    fprintf(f, "%lld %s %llu\n", (long long)time(NULL), c->stage_id,
            (unsigned long long)c->stage_counts.bytes_stored);
    err = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
    return fclose(f) == 0 ? err : -1;
}

static int cmp_pack(const void *a, const void *b)
{
    return strcmp(((const struct mm_repo_sync_pack *)a)->id,
                  ((const struct mm_repo_sync_pack *)b)->id);
}

/* Append the "<64 hex> <size>" lines of the shadow's file @name (first line "mamori-packs 1")
 * to @v (@n of them, room @cap). @return 0, 1 no such file, -1 bad or out of memory */
static int read_packs(struct cyc *c, const char *name, struct mm_repo_sync_pack **v, size_t *n,
                      size_t *cap)
{
    char path[MM_LIMIT_PATH], line[160];
    FILE *f;
    int err = 0;

    if (pjoin(path, sizeof(path), c->shadow, name) < 0)
        return -1;
    if (!(f = fopen(path, "r")))
        return 1;
    if (!fgets(line, sizeof(line), f) || strcmp(line, "mamori-packs 1\n") != 0)
        err = -1;
    while (err == 0 && fgets(line, sizeof(line), f)) {
        unsigned long long size;
        char id[MM_CRYPTO_HEX_SIZE];
        if (sscanf(line, "%64s %llu", id, &size) != 2 || strlen(id) != MM_CRYPTO_HEX_SIZE - 1) {
            err = -1;
            break;
        }
        if (*n == *cap) {
            struct mm_repo_sync_pack *nv =
                    realloc(*v, (*cap = *cap ? 2 * *cap : 256) * sizeof(*nv));
            if (!nv) {
                err = -1;
                break;
            }
            *v = nv;
        }
        memcpy((*v)[*n].id, id, sizeof(id));
        (*v)[*n].size = size;
        (*v)[(*n)++].trees = 0;
    }
    fclose(f);
    return err;
}

/* Sort @v by ID and keep one entry per ID. @return the count left */
static size_t sort_unique(struct mm_repo_sync_pack *v, size_t n)
{
    size_t k = 0;

    if (n)
        qsort(v, n, sizeof(*v), cmp_pack);
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(v[k - 1].id, v[i].id) != 0)
            v[k++] = v[i];
    return k;
}

/* Write @n packs @v as the shadow's file @name (crash-safely). @return 0, -1 */
static int write_packs_file(struct cyc *c, const char *name, const struct mm_repo_sync_pack *v,
                            size_t n)
{
    char path[MM_LIMIT_PATH];
    mm_buf b;
    int err;

    if (pjoin(path, sizeof(path), c->shadow, name) < 0)
        return -1;
    mm_buf_init(&b, 64u * 1024u * 1024u);
    err = mm_buf_puts(&b, "mamori-packs 1\n");
    for (size_t i = 0; err == 0 && i < n; i++)
        err = mm_buf_printf(&b, "%s %llu\n", v[i].id, (unsigned long long)v[i].size);
    if (err == 0)
        err = mm_os_write_atomic(path, b.ptr, b.len);
    mm_buf_release(&b);
    return err < 0 ? -1 : 0;
}

/* The catalog's question at staging: was pack @hex of @size on the medium after its last
 * window (the shadow's "packs")? @return 1 yes, 0 no */
static int known_pack(const char *hex, uint64_t size, void *ctx)
{
    struct cyc *c = ctx;
    struct mm_repo_sync_pack key, *p;

    snprintf(key.id, sizeof(key.id), "%s", hex);
    p = c->nknown ? bsearch(&key, c->known, c->nknown, sizeof(key), cmp_pack) : NULL;
    return p && p->size == size;
}

/* The shadow's "packs" file into c->known, sorted. @return 0, -1 (missing or bad) */
static int read_known(struct cyc *c)
{
    size_t cap = 0;

    if (read_packs(c, "packs", &c->known, &c->nknown, &cap) != 0)
        return -1;
    c->nknown = sort_unique(c->known, c->nknown);
    return 0;
}

/*
 * After a write-only backup into the shadow: the packs to check on the medium before a
 * manifest is copied are every pack the host catalog names (the reused IDs live in some of
 * them; the new ones are among them too), and those of the generations staged before it
 * that still wait (the shadow's "needs"); the packs to drop after delivery are all the
 * shadow holds (it keeps no tree pack: the catalog has the trees in the clear).
 */
static int plan_wo(struct cyc *c)
{
    char **all = NULL;
    size_t nall = 0, k = 0, cap;
    int err = mm_repo_catalog_packs(c->sr, c->catalog, &c->check, &c->ncheck);

    /* with those every generation still waiting needed when it was staged: a pack dropped
     * from the catalog since (lost from the shadow) may be one of theirs */
    cap = c->ncheck;
    if (err == 0 && read_packs(c, "needs", &c->check, &c->ncheck, &cap) < 0)
        err = -1;
    if (err == 0) {
        c->ncheck = sort_unique(c->check, c->ncheck);
        err = write_packs_file(c, "needs", c->check, c->ncheck);
    }
    if (err == 0)
        err = mm_repo_sync_list(c->shadow_repo, 1, &all, &nall);
    if (err == 0 && !(c->packs = calloc(nall ? nall : 1, sizeof(*c->packs))))
        err = -1;
    for (size_t i = 0; err == 0 && i < nall; i++) {
        const char *b = strrchr(all[i], '/') + 1;
        if (strncmp(all[i], "data/", 5) != 0 || strlen(b) != MM_CRYPTO_HEX_SIZE - 1)
            continue;
        memcpy(c->packs[k++].id, b, MM_CRYPTO_HEX_SIZE);
    }
    c->npacks = k;
    mm_repo_sync_list_free(all, nall);
    return err < 0 ? -1 : add_waiting(c);
}

/* After the backup into the shadow: what waits, the packs to check and to drop later. */
static int plan(struct cyc *c)
{
    char id[33], **base = NULL, **ix = NULL, line[160];
    size_t nbase = 0, nix = 0;
    int err;

    if (c->m->credential)
        return plan_wo(c);
    if (read_base(c, id, &base, &nbase) < 0)
        return -1;
    if (nbase)
        qsort(base, nbase, sizeof(*base), cmp_str);
    err = mm_repo_sync_packs(c->sr, &c->packs, &c->npacks);
    if (err == 0)
        err = mm_repo_sync_list_dir(c->shadow_repo, "index", &ix, &nix);
    for (size_t i = 0; err == 0 && i < nix; i++) {
        struct mm_repo_sync_pack *p = NULL, *v;
        size_t np = 0;
        snprintf(line, sizeof(line), "index/%s", ix[i]);
        if (has(base, nbase, line))
            continue;
        if ((err = mm_repo_sync_index_packs(c->sr, ix[i], &p, &np)) < 0)
            break;
        if (!(v = realloc(c->check, (c->ncheck + np + 1) * sizeof(*v)))) {
            free(p);
            err = -1;
            break;
        }
        c->check = v;
        memcpy(c->check + c->ncheck, p, np * sizeof(*p));
        c->ncheck += np;
        free(p);
    }
    mm_repo_sync_list_free(ix, nix);
    mm_repo_sync_list_free(base, nbase);
    return err < 0 ? -1 : add_waiting(c);
}

/* Open the shadow: with the passphrase, or a write-only medium's with its credential (and
 * what the catalog needs: its folder, the medium's packs). @return 0, or non-zero */
static int open_shadow(struct cyc *c)
{
    if (!c->m->credential)
        return mm_repo_open(&c->sr, c->shadow_repo, NULL, c->o->pass, c->o->passlen);
    if (mm_backup__catalog_dir(c) < 0 || read_known(c) < 0)
        return -1;
    return mm_repo_open_host(&c->sr, c->shadow_repo, c->m->credential);
}

int mm_backup__stage_run(struct cyc *c, const char **src, size_t nsrc)
{
    struct mm_backup_opts bo = { 0 };
    struct mm_backup_result br;
    double t0 = mono_s();
    int rc;

    if (!shadow_ready(c))
        return 0;
    if (open_shadow(c) != 0) {
        mm_backup__stage_drop(c); /* rebuilt by the window on the medium */
        mm_error_clear();
        return 0;
    }
    mm_backup__cycle_opts(c, &bo, c->shadow_repo, c->sr, src, nsrc);
    if (c->m->credential) {
        bo.catalog_dir = c->catalog;
        bo.catalog_pack_known = known_pack;
        bo.catalog_pack_ctx = c;
    }
    bo.viewer_elsewhere = 1; /* the viewer is listed for the manifest, written in the window */
    bo.no_head = 1;          /* the shadow has no head: the medium's is written in the window */
    rc = mm_backup_run(&bo, &br);
    c->res->stage_s = mono_s() - t0;
    if (rc == MM_BACKUP_EXIT_FAILED && br.failure != MM_BACKUP_FAIL_NONE &&
        br.failure != MM_BACKUP_FAIL_SOURCE && br.failure != MM_BACKUP_FAIL_DETECT) {
        /* the shadow itself failed (lock, index, disk): the window backs up on the medium */
        mm_backup_result_release(&br);
        mm_backup__stage_drop(c);
        mm_error_clear();
        return 0;
    }
    if (rc == MM_BACKUP_EXIT_FAILED && br.failure != MM_BACKUP_FAIL_NONE) {
        mm_backup__cycle_fail(c, MM_CYCLE_STAGE_BACKUP, br.err, "backup failed");
        mm_backup_result_release(&br);
        return -1;
    }
    memcpy(c->stage_id, br.id, sizeof(c->stage_id));
    c->stage_counts = br.counts;
    mm_backup__cycle_guard(c, &br); /* a suspect staged generation still goes to the medium */
    c->res->exit = (enum mm_backup_exit)rc;
    mm_backup_result_release(&br);
    if (plan(c) < 0) { /* cannot tell what to copy: back up on the medium instead */
        mm_backup__stage_drop(c);
        c->res->exit = MM_BACKUP_EXIT_OK;
        mm_error_clear();
        return 0;
    }
    mm_repo_unlock(c->sr);
    c->staged = c->staged_today = 1;
    write_json(c); /* waits until the window delivers it */
    if (rc == MM_BACKUP_EXIT_FAILED) {
        mm_backup__cycle_fail(c, MM_CYCLE_STAGE_BACKUP, MM_EIO, "backup failed");
        return -1;
    }
    return 0;
}
