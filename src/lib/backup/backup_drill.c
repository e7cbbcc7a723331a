/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daily cycle's structural drill (cycle.h, docs/operations.md "The scheduled structural
 * drill"): in the window, the medium attached, the day's generation written and checked, the
 * medium is read end to end without any key. Every pack data/<aa>/<64 hex> is read from its
 * device (page cache dropped) and must hash to its name; every pack the host catalog (a
 * write-only medium) or the repository's own index files (a passphrase medium) name must be on
 * the medium with the size they record; index files, manifests and dictionaries must hash to
 * their names; every other repository file (marker, config, key slots, medium label, head,
 * verify records, guard acceptances, the audit log) is read end to end. Nothing on the medium
 * is changed. Due per medium when its last structural drill (<state_dir>/drills.jsonl) is
 * older than [service] structural_drill_interval (0: every window) or failed. The record goes
 * to drills.jsonl and, as a `drill` event, to the host's audit log of the repository.
 * Workload: one sequential read of the medium (its packs are about 16 MiB each, read whole).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "backup/cycle_int.h"
#include "backup/status.h"
#include "common/attr.h"
#include "common/error.h"
#include "os/os.h"
#include "repo/repo_sync.h"

#define READ_CHUNK (1u << 20) /* the buffer a non-pack file is read through */

struct drill {
    struct cyc *c;
    struct mm_status_drill d;
    unsigned int problems;
    uint64_t packs;
    char why[160]; /* the first problem */
};

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Count a problem; the first one's words are kept. */
static MM_PRINTF(2, 3) void problem(struct drill *k, const char *fmt, ...)
{
    va_list ap;

    if (k->problems++ == 0) {
        va_start(ap, fmt);
        vsnprintf(k->why, sizeof(k->why), fmt, ap);
        va_end(ap);
    }
}

/* ---- due? ----------------------------------------------------------------------------------- */

/* The last MM_STATUS_TAIL_MAX bytes of @path, from a line's start. @return 0, MM_ENOTFOUND,
 * MM_EIO, MM_ENOMEM */
static int read_tail(const char *path, mm_buf *b)
{
    struct stat sb;
    off_t off = 0;
    size_t want;
    int err = 0, fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return errno == ENOENT ? MM_ENOTFOUND : MM_EIO;
    if (fstat(fd, &sb) != 0) {
        err = MM_EIO;
        goto out;
    }
    if (sb.st_size > (off_t)MM_STATUS_TAIL_MAX)
        off = sb.st_size - (off_t)MM_STATUS_TAIL_MAX;
    want = (size_t)(sb.st_size - off);
    if ((err = mm_buf_reserve(b, want + 1)) < 0)
        goto out;
    while (b->len < want) {
        ssize_t got = pread(fd, b->ptr + b->len, want - b->len, off + (off_t)b->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            err = MM_EIO;
            goto out;
        }
        if (got == 0)
            break;
        b->len += (size_t)got;
    }
    b->ptr[b->len] = '\0';
    if (off > 0) { /* drop the partial first line */
        char *nl = memchr(b->ptr, '\n', b->len);
        size_t skip = nl ? (size_t)(nl - b->ptr) + 1 : b->len;
        memmove(b->ptr, b->ptr + skip, b->len - skip + 1);
        b->len -= skip;
    }
out:
    close(fd);
    return err;
}

int mm_backup__drill_due(const mm_config *cfg, const char *label, int64_t now)
{
    const struct mm_config_service *sv = mm_config_service(cfg);
    struct mm_status_drill last, d;
    char path[MM_LIMIT_PATH];
    int have = 0, err;
    int64_t slack;
    mm_buf b;

    if (!sv->state_dir || sv->structural_drill_interval <= 0)
        return 1;
    if (snprintf(path, sizeof(path), "%s/drills.jsonl", sv->state_dir) >= (int)sizeof(path))
        return 1;
    mm_buf_init(&b, MM_STATUS_TAIL_MAX + 1);
    err = read_tail(path, &b);
    for (const char *p = b.ptr, *end = b.ptr + b.len; err == 0 && p && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (mm_status_drill_parse(p, (size_t)(e - p), &d) == 0 &&
            strcmp(d.kind, "structural") == 0 && strcasecmp(d.medium, label) == 0 &&
            (!have || d.at >= last.at)) {
            last = d;
            have = 1;
        }
        p = e + 1;
    }
    mm_buf_release(&b);
    mm_error_clear();
    if (!have || strcmp(last.result, "ok") != 0)
        return 1; /* never drilled, or the last one failed: drill again */
    /* the window's start drifts from day to day (a backup longer or shorter): a drill a little
     * short of the interval counts, or a weekly medium would wait two weeks */
    slack = sv->structural_drill_interval / 8;
    slack = slack > MM_BACKUP_DRILL_SLACK_MAX ? MM_BACKUP_DRILL_SLACK_MAX : slack;
    return now - last.at + slack >= sv->structural_drill_interval;
}

/* ---- the drill ------------------------------------------------------------------------------ */

/* Read <root>/<rel> end to end from its device (page cache dropped first). @return 0,
 * MM_ENOTFOUND, MM_EIO */
static int read_whole(struct drill *k, const char *root, const char *rel, char *buf)
{
    char path[MM_LIMIT_PATH];
    uint64_t n = 0;
    ssize_t got;
    int fd;

    if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path))
        return MM_EIO;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? MM_ENOTFOUND : MM_EIO;
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    while ((got = read(fd, buf, READ_CHUNK)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            close(fd);
            return MM_EIO;
        }
        n += (uint64_t)got;
    }
    close(fd);
    k->d.files++;
    k->d.bytes += n;
    return 0;
}

/* Read a repository file that is not named by its hash; @need: its absence is a problem. */
static void other_file(struct drill *k, const char *rel, int need, char *buf)
{
    int err = read_whole(k, k->c->m->path, rel, buf);

    if (err == MM_ENOTFOUND && need)
        problem(k, "repository file '%s' is missing", rel);
    else if (err < 0 && err != MM_ENOTFOUND)
        problem(k, "repository file '%s' cannot be read", rel);
}

/* Whether @name is a finished file's name (not a temporary "<name>.tmp.<pid>"). */
static int finished(const char *name)
{
    return name[0] != '.' && strstr(name, ".tmp") == NULL;
}

/* Read every regular file of the folder <medium>/@dir; @need: at least one. */
static void other_dir(struct drill *k, const char *dir, int need, char *buf)
{
    char path[MM_LIMIT_PATH], rel[512];
    unsigned int n = 0;
    struct dirent *e;
    DIR *d;

    if (snprintf(path, sizeof(path), "%s/%s", k->c->m->path, dir) >= (int)sizeof(path))
        return;
    d = opendir(path);
    while (d && (e = readdir(d)) != NULL) {
        if (!finished(e->d_name) || strlen(e->d_name) > 200)
            continue;
        snprintf(rel, sizeof(rel), "%s/%s", dir, e->d_name);
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", k->c->m->path, rel);
        if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        other_file(k, rel, 0, buf);
        n++;
    }
    if (d)
        closedir(d);
    else if (errno != ENOENT)
        problem(k, "repository folder '%s' cannot be read", dir);
    if (need && n == 0)
        problem(k, "repository folder '%s' holds no file", dir);
}

static int pack_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mm_repo_sync_pack *)a)->id,
                  ((const struct mm_repo_sync_pack *)b)->id);
}

/* Append @n packs @p to @v (*nv, *cap). @return 0 or MM_ENOMEM */
static int packs_add(struct mm_repo_sync_pack **v, size_t *nv, size_t *cap,
                     const struct mm_repo_sync_pack *p, size_t n)
{
    if (*nv + n > *cap) {
        size_t c = *cap ? *cap : 64;
        struct mm_repo_sync_pack *w;
        while (c < *nv + n)
            c *= 2;
        if (!(w = realloc(*v, c * sizeof(*w))))
            return MM_ENOMEM;
        *v = w;
        *cap = c;
    }
    memcpy(*v + *nv, p, n * sizeof(*p));
    *nv += n;
    return 0;
}

/* What the packs should be, sorted, each once: the host catalog's (a write-only medium) or
 * every index file's on the medium (a passphrase medium). OUT: *what names the source.
 * @return 0, or a problem counted (the comparison is skipped) */
static int expected_packs(struct drill *k, char **index, size_t nindex,
                          struct mm_repo_sync_pack **out, size_t *n, const char **what)
{
    struct cyc *c = k->c;
    struct mm_repo_sync_pack *v = NULL, *p = NULL;
    size_t nv = 0, cap = 0, np = 0, w = 0;
    int err = 0;

    *out = NULL;
    *n = 0;
    if (c->m->credential) {
        *what = "the host catalog";
        if (mm_backup__catalog_dir(c) < 0) {
            problem(k, "the host catalog cannot be read");
            return -1;
        }
        err = mm_repo_catalog_packs(c->r, c->catalog, &v, &nv);
        mm_error_clear();
        if (err == MM_ENOTFOUND)
            return 0; /* no catalog (lost): the hashes are checked, sizes have no reference */
        if (err < 0) {
            problem(k, "the host catalog cannot be read");
            return -1;
        }
    } else {
        *what = "the index";
        for (size_t i = 0; i < nindex && err == 0; i++) {
            const char *name = index[i];
            err = mm_repo_sync_index_packs(c->r, name, &p, &np);
            if (err == 0)
                err = packs_add(&v, &nv, &cap, p, np);
            else if (err != MM_ENOMEM) {
                problem(k, "index file '%s' does not open", name);
                err = 0;
            }
            free(p);
            p = NULL;
        }
        mm_error_clear();
        if (err < 0) {
            free(v);
            problem(k, "out of memory");
            return -1;
        }
    }
    if (nv)
        qsort(v, nv, sizeof(*v), pack_cmp);
    for (size_t i = 0; i < nv; i++) /* each pack once */
        if (w == 0 || strcmp(v[w - 1].id, v[i].id) != 0)
            v[w++] = v[i];
    *out = v;
    *n = w;
    return 0;
}

/* The pack ID of the listing entry "data/<aa>/<64 hex>", or NULL for other files. */
static const char *pack_id(const char *rel)
{
    return strncmp(rel, "data/", 5) == 0 && strlen(rel) == 5 + 3 + 64 ? rel + 8 : NULL;
}

/* The size of <medium>/@rel, or -1. */
static int64_t size_of(struct drill *k, const char *rel)
{
    char path[MM_LIMIT_PATH];
    struct stat sb;

    if (snprintf(path, sizeof(path), "%s/%s", k->c->m->path, rel) >= (int)sizeof(path) ||
        stat(path, &sb) != 0)
        return -1;
    return (int64_t)sb.st_size;
}

/* Check every content-named file of the medium against its name, and the packs against what
 * @exp says. */
static void check_named(struct drill *k, char **list, size_t nlist,
                        const struct mm_repo_sync_pack *exp, size_t nexp, const char *what)
{
    size_t j = 0;

    for (size_t i = 0; i < nlist; i++) {
        const char *id = pack_id(list[i]);
        struct mm_repo_sync_stats s = { 0 };
        int64_t size = size_of(k, list[i]);
        int err;

        if (id) { /* a pack: what @exp says of it, and any it names that sort before */
            for (; j < nexp && strcmp(exp[j].id, id) < 0; j++)
                problem(k, "pack %.16s is missing (named by %s)", exp[j].id, what);
            if (j < nexp && strcmp(exp[j].id, id) == 0) {
                if (size >= 0 && (uint64_t)size != exp[j].size)
                    problem(k, "pack %.16s is %lld bytes, %s says %llu", id, (long long)size, what,
                            (unsigned long long)exp[j].size);
                j++;
            }
            k->packs++;
        }
        err = mm_repo_sync_check(k->c->m->path, list[i], &s);
        mm_error_clear();
        k->d.files += err == 0;
        k->d.bytes += err == MM_ECORRUPT && size > 0 ? (uint64_t)size : s.bytes; /* read too */
        if (err == MM_ECORRUPT)
            problem(k, "'%s' does not hash to its name", list[i]);
        else if (err < 0)
            problem(k, "'%s' cannot be read", list[i]);
    }
    for (; j < nexp; j++)
        problem(k, "pack %.16s is missing (named by %s)", exp[j].id, what);
}

/* The drill as a `drill` event in the host's audit log of the repository. */
static void drill_audit(struct drill *k)
{
    struct cyc *c = k->c;
    char packs[24], files[24], bytes[24], read_s[32], mib_s[32], base[4200];
    unsigned char id[MM_AUDIT_REPO_ID_SIZE];
    struct mm_audit_field f[] = {
        { "drill", "structural" }, { "medium", k->d.medium }, { "result", k->d.result },
        { "packs", packs },        { "files", files },        { "bytes", bytes },
        { "read_s", read_s },      { "mib_s", mib_s },        { "reason", k->d.reason },
    };
    struct mm_audit_event ev = { 0 };
    struct mm_audit_target t = { 0 };

    if (!c->r || !c->o->audit_host_dir || mm_audit_repo_id(mm_repo_id(c->r), id) < 0 ||
        mm_audit_host_base(c->o->audit_host_dir, mm_repo_id(c->r), base, sizeof(base)) < 0)
        return;
    snprintf(packs, sizeof(packs), "%llu", (unsigned long long)k->packs);
    snprintf(files, sizeof(files), "%llu", (unsigned long long)k->d.files);
    snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)k->d.bytes);
    snprintf(read_s, sizeof(read_s), "%.3f", k->d.restore_s);
    snprintf(mib_s, sizeof(mib_s), "%.1f", k->d.mib_s);
    ev.kind = MM_AUDIT_DRILL;
    ev.user = mm_repo_user(c->r);
    ev.fields = f;
    ev.nfields = k->d.reason[0] ? 9 : 8;
    t.base = base;
    t.repo_id = id;
    t.ks = mm_repo_keyset(c->r);
    t.store = MM_AUDIT_CLEAR;
    c->res->drill_audited = mm_audit_append(&t, &ev, NULL) == 0;
    mm_error_clear();
}

void mm_backup__cycle_drill(struct cyc *c)
{
    static const char *const files[] = { "mamori-repo", "config" };
    static const char *const optional[] = {
        "mamori-repo.2", "config.2",     "medium",          "medium.2",        "head",
        "head.2",        "rotate-state", "audit/audit.log", "audit/audit.head"
    };
    struct mm_cycle_result *res = c->res;
    const struct mm_config_service *sv = mm_config_service(c->cfg);
    struct mm_repo_sync_pack *exp = NULL;
    struct drill *k = calloc(1, sizeof(*k));
    char **list = NULL, **index = NULL, *buf = malloc(READ_CHUNK);
    size_t nlist = 0, nindex = 0, nexp = 0;
    const char *what = "the index";
    double t0 = mono_s(), t1;

    if (!k || !buf || !c->r) {
        free(k);
        free(buf);
        return;
    }
    k->c = c;
    snprintf(k->d.kind, sizeof(k->d.kind), "structural");
    k->d.at = (int64_t)time(NULL);
    snprintf(k->d.medium, sizeof(k->d.medium), "%s", c->m->label);
    snprintf(k->d.repo_id, sizeof(k->d.repo_id), "%s", mm_repo_id(c->r));
    k->d.viewer_s = -1;
    k->d.rpo_s = -1;
    if (mm_repo_sync_list(c->m->path, 1, &list, &nlist) < 0 ||
        mm_repo_sync_list_dir(c->m->path, "index", &index, &nindex) < 0) {
        mm_error_clear();
        problem(k, "the medium's folders cannot be listed");
    } else if (expected_packs(k, index, nindex, &exp, &nexp, &what) == 0) {
        check_named(k, list, nlist, exp, nexp, what);
    }
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        other_file(k, files[i], 1, buf);
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
        other_file(k, optional[i], 0, buf);
    other_dir(k, "keys", 1, buf);
    other_dir(k, "verified", 0, buf);
    other_dir(k, "guard", 0, buf);
    t1 = mono_s();
    k->d.restore_s = t1 - t0;
    k->d.total_s = t1 - t0;
    k->d.mib_s = k->d.restore_s > 0 ? (double)k->d.bytes / 1048576.0 / k->d.restore_s : -1;
    snprintf(k->d.result, sizeof(k->d.result), "%s", k->problems ? "failed" : "ok");
    if (k->problems > 1)
        snprintf(k->d.reason, sizeof(k->d.reason), "%u problems, the first: %s", k->problems,
                 k->why);
    else if (k->problems)
        snprintf(k->d.reason, sizeof(k->d.reason), "%s", k->why);

    snprintf(res->drill, sizeof(res->drill), "%s", k->d.result);
    snprintf(res->drill_reason, sizeof(res->drill_reason), "%s", k->d.reason);
    res->drill_packs = k->packs;
    res->drill_files = k->d.files;
    res->drill_bytes = k->d.bytes;
    res->drill_read_s = k->d.restore_s;
    if (k->problems && res->exit == MM_BACKUP_EXIT_OK) {
        res->exit = MM_BACKUP_EXIT_ATTENTION; /* written, but a person must look */
        snprintf(res->reason, sizeof(res->reason), "structural drill failed");
    }
    res->drill_recorded =
            sv->state_dir && mm_status_drill_append(sv->state_dir, &k->d) == 0 ? 1 : 0;
    mm_error_clear();
    drill_audit(k);
    res->drill_s = mono_s() - t0;
    mm_repo_sync_list_free(list, nlist);
    mm_repo_sync_list_free(index, nindex);
    free(exp);
    free(buf);
    free(k);
}
