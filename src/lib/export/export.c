/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mm_export_run (export.h): the driver of `mamori export`. The generation's SS-MIX2 storages
 * (the manifest's list, else the sources that are storages) are restored, one patient's
 * folders or all of them, into a private scratch folder (0700) inside the output folder; each
 * patient's record is loaded from a standardized storage and the extended storage paired with
 * it (the one in the same parent folder, else the only one), then written as a FHIR Bundle
 * (fhir/<patient ID>.json, written to a temporary name, fsync'd, renamed; fhir/index.csv maps
 * every patient ID to its file) and/or CSV rows (csv/). A patient found in several storages is
 * exported once, from the last storage in the manifest's order (the patient index does the
 * same: a later storage's record replaces). The scratch folder is removed on every path out.
 * Nothing here names a patient in a message.
 */
#include "export/export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "export/export_int.h"
#include "os/os.h"

/* One SS-MIX2 storage of the generation. */
struct stor {
    const char *path; /* inside the generation: "ssmix2/standard" (borrowed from the gen) */
    int ext;          /* an extended storage */
    long pair;        /* standardized: index of its extended storage, or -1 */
    char *root;       /* where it was restored (NULL: not restored) */
};

/* One patient to export: its ID and the standardized storage it is read from. */
struct pat {
    char *id;
    size_t stor;
};

struct run {
    mm_repo *r;
    const struct mm_export_opts *o;
    struct mm_repo_gen g;
    int have_gen;
    struct stor *s;
    size_t ns;
    char *scratch;
    struct pat *p;
    size_t np, pcap;
    struct mm_export_stats st;
};

/* "<a>/<b>" in a new string, or NULL. */
static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = mm_malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* Whether the parent folders of the two '/'-separated paths are the same. */
static int same_parent(const char *a, const char *b)
{
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    size_t la = sa ? (size_t)(sa - a) : 0, lb = sb ? (size_t)(sb - b) : 0;

    return la == lb && strncmp(a, b, la) == 0;
}

/* The generation's storages and their pairs (as mm_ssmix2_detect pairs them). */
static int list_storages(struct run *x)
{
    const struct mm_repo_gen *g = &x->g;
    size_t nstd = 0, next = 0, lastext = 0;

    x->s = mm_calloc(g->nstorages + g->nsources + 1, sizeof(*x->s));
    if (!x->s)
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < g->nstorages; i++)
        if (g->storages[i].kind == MM_REPO_SOURCE_SSMIX2_STD ||
            g->storages[i].kind == MM_REPO_SOURCE_SSMIX2_EXT)
            x->s[x->ns++] =
                    (struct stor){ g->storages[i].path,
                                   g->storages[i].kind == MM_REPO_SOURCE_SSMIX2_EXT, -1, NULL };
    for (size_t i = 0; !g->nstorages && i < g->nsources; i++) /* older manifests */
        if (g->sources[i].kind == MM_REPO_SOURCE_SSMIX2_STD ||
            g->sources[i].kind == MM_REPO_SOURCE_SSMIX2_EXT)
            x->s[x->ns++] =
                    (struct stor){ g->sources[i].name,
                                   g->sources[i].kind == MM_REPO_SOURCE_SSMIX2_EXT, -1, NULL };
    for (size_t i = 0; i < x->ns; i++) {
        if (x->s[i].ext) {
            next++;
            lastext = i;
        } else {
            nstd++;
        }
    }
    if (!nstd)
        return mm_error_set(MM_ENOTFOUND, "generation '%.12s' has no SS-MIX2 standardized storage",
                            g->id);
    for (size_t i = 0; i < x->ns; i++) {
        if (x->s[i].ext)
            continue;
        for (size_t k = 0; k < x->ns && x->s[i].pair < 0; k++)
            if (x->s[k].ext && same_parent(x->s[i].path, x->s[k].path))
                x->s[i].pair = (long)k;
        if (x->s[i].pair < 0 && nstd == 1 && next == 1)
            x->s[i].pair = (long)lastext;
    }
    return 0;
}

/* Restore storage @i (all of it) into scratch/<i>. */
static int restore_storage(struct run *x, size_t i)
{
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_restore_stats rs;
    char name[32], *to;
    int err;

    if (x->s[i].root)
        return 0;
    snprintf(name, sizeof(name), "s%zu", i);
    if (!(to = join(x->scratch, name)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    memset(&rs, 0, sizeof(rs));
    ro.path_prefix = x->s[i].path;
    ro.threads = x->o->threads;
    ro.progress = x->o->progress;
    ro.problem = x->o->problem;
    ro.ctx = x->o->ctx;
    err = mm_repo_restore(x->r, x->g.id, to, &ro, &rs);
    x->st.damaged += rs.damaged;
    if (err == MM_ENOTFOUND) { /* an empty storage: nothing in it to export */
        mm_error_clear();
        err = 0;
    }
    if (err == 0) {
        x->s[i].root = join(to, x->s[i].path);
        if (!x->s[i].root)
            err = mm_error_set(MM_ENOMEM, "out of memory");
    }
    mm_free(to);
    return err;
}

/* Restore patient @pid's folders of every storage into scratch/p. */
static int restore_patient(struct run *x, const char *pid)
{
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_restore_stats rs;
    char *to;
    int err;

    if (!(to = join(x->scratch, "p")))
        return mm_error_set(MM_ENOMEM, "out of memory");
    memset(&rs, 0, sizeof(rs));
    ro.patient = pid;
    ro.threads = x->o->threads;
    ro.progress = x->o->progress;
    ro.problem = x->o->problem;
    ro.ctx = x->o->ctx;
    err = mm_repo_restore(x->r, x->g.id, to, &ro, &rs);
    x->st.damaged += rs.damaged;
    if (err == MM_ENOTFOUND)
        err = mm_error_set(MM_ENOTFOUND, "no such patient in generation '%.12s'", x->g.id);
    for (size_t i = 0; err == 0 && i < x->ns; i++)
        if (!(x->s[i].root = join(to, x->s[i].path)))
            err = mm_error_set(MM_ENOMEM, "out of memory");
    mm_free(to);
    return err;
}

/* Add patient @id of storage @stor to the list. */
static int add_patient(struct run *x, const char *id, size_t stor)
{
    if (x->np == x->pcap) {
        size_t ncap = x->pcap ? 2 * x->pcap : 64;
        struct pat *np = mm_realloc(x->p, ncap * sizeof(*np));
        if (!np)
            return mm_error_set(MM_ENOMEM, "out of memory");
        x->p = np;
        x->pcap = ncap;
    }
    if (!(x->p[x->np].id = mm_strdup(id)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    x->p[x->np++].stor = stor;
    return 0;
}

/* Add the patient folders of the restored standardized storage @i (<3>/<3>/<pid>). */
static int list_patients(struct run *x, size_t i)
{
    DIR *d1 = NULL, *d2 = NULL, *d3 = NULL;
    struct dirent *e1, *e2, *e3;
    char path[MM_LIMIT_PATH];
    int err = 0;

    if (!x->s[i].root || !(d1 = opendir(x->s[i].root)))
        return 0; /* nothing of it restored */
    while (err == 0 && (e1 = readdir(d1))) {
        if (e1->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", x->s[i].root, e1->d_name);
        if (!(d2 = opendir(path)))
            continue;
        while (err == 0 && (e2 = readdir(d2))) {
            size_t len;
            if (e2->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s/%s", x->s[i].root, e1->d_name, e2->d_name);
            if (!(d3 = opendir(path)))
                continue;
            len = strlen(path);
            while (err == 0 && (e3 = readdir(d3))) {
                struct stat sb;
                if (strcmp(e3->d_name, ".") == 0 || strcmp(e3->d_name, "..") == 0 ||
                    strlen(e3->d_name) > MM_LIMIT_PATIENT_ID)
                    continue;
                snprintf(path + len, sizeof(path) - len, "/%s", e3->d_name);
                if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
                    err = add_patient(x, e3->d_name, i);
                path[len] = '\0';
            }
            closedir(d3);
        }
        closedir(d2);
    }
    closedir(d1);
    return err;
}

static int cmp_pat(const void *a, const void *b)
{
    const struct pat *x = a, *y = b;
    int c = strcmp(x->id, y->id);

    return c ? c : x->stor < y->stor ? -1 : x->stor > y->stor;
}

/* Sort the patients by ID and keep each once, from its last storage. */
static void dedup_patients(struct run *x)
{
    size_t k = 0;

    if (x->np > 1)
        qsort(x->p, x->np, sizeof(*x->p), cmp_pat);
    for (size_t i = 0; i < x->np; i++) {
        if (i + 1 < x->np && strcmp(x->p[i].id, x->p[i + 1].id) == 0) {
            mm_free(x->p[i].id); /* a later storage's record replaces */
            continue;
        }
        x->p[k++] = x->p[i];
    }
    x->np = k;
}

/* Whether @id may be used as a file name as it is: [A-Za-z0-9._-], not "." or "..". */
static int safe_name(const char *id)
{
    if (!*id || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* The Bundle's file name of patient @id: "<id>.json", or "id-<hash>.json". OUT: @out */
static void bundle_name(const char *id, char out[MM_LIMIT_PATIENT_ID + 80])
{
    unsigned char h[MM_CRYPTO_ID_SIZE];
    char hex[MM_CRYPTO_HEX_SIZE];

    if (safe_name(id)) {
        snprintf(out, MM_LIMIT_PATIENT_ID + 80, "%s.json", id);
        return;
    }
    mm_crypto_hash(id, strlen(id), h);
    mm_crypto_hex(h, hex);
    snprintf(out, MM_LIMIT_PATIENT_ID + 80, "id-%.32s.json", hex);
}

/* Write @n bytes at @p to @dir/@name: a temporary name, fsync, rename (0600). */
static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[MM_LIMIT_PATH], tmp[MM_LIMIT_PATH], red[MM_LOG_PATH_MAX];
    int fd, err = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot create '%s'",
                                  mm_log_path(red, sizeof(red), tmp));
    if ((err = mm_os_write_all(fd, p, n, tmp)) == 0 && fsync(fd) != 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot write '%s'",
                                 mm_log_path(red, sizeof(red), tmp));
    if (close(fd) != 0 && err == 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot write '%s'",
                                 mm_log_path(red, sizeof(red), tmp));
    if (err == 0 && rename(tmp, path) != 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot rename '%s'",
                                 mm_log_path(red, sizeof(red), tmp));
    if (err < 0)
        unlink(tmp);
    return err;
}

/* What the FHIR writer's read callback reads from: the extended storage's root. */
struct reader {
    const char *ext_root; /* NULL: none restored */
};

/* mm_export_read_fn: one file of the patient's extended storage. */
static int read_ext(void *ctx, const char *rel, size_t limit, mm_buf *out)
{
    const struct reader *rd = ctx;
    char path[MM_LIMIT_PATH];
    struct stat sb;
    mm_buf b;
    int err;

    if (!rd->ext_root)
        return mm_error_set(MM_ENOTFOUND, "no extended storage");
    /* a name inside the storage only: no absolute path, no ".." part */
    if (!rel || !*rel || rel[0] == '/' || strcmp(rel, "..") == 0 || strncmp(rel, "../", 3) == 0 ||
        strstr(rel, "/../") || (strlen(rel) >= 3 && strcmp(rel + strlen(rel) - 3, "/..") == 0))
        return mm_error_set(MM_ENOTFOUND, "not a file of the extended storage");
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", rd->ext_root, rel) >= sizeof(path))
        return mm_error_set(MM_ENOTFOUND, "path too long");
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return mm_error_set(MM_ENOTFOUND, "no such document file");
    if ((uint64_t)sb.st_size > limit)
        return mm_error_set(MM_ELIMIT, "the document file is larger than %zu bytes", limit);
    mm_buf_init(&b, limit);
    if ((err = mm_os_read_file(path, &b)) == 0)
        err = mm_buf_put(out, b.ptr ? b.ptr : "", b.len);
    if (b.ptr)
        mm_crypto_wipe(b.ptr, b.len);
    mm_buf_release(&b);
    return err;
}

/* Count the resources of a Bundle: its "resourceType" keys less the Bundle's own. */
static uint64_t count_resources(const char *p, size_t n)
{
    uint64_t c = 0;
    const char *end = p + n;

    while (p < end && (p = strstr(p, "\"resourceType\""))) {
        c++;
        p += 14;
    }
    return c ? c - 1 : 0;
}

/* Say through o->problem what loading a record met (paths arrive redacted). */
static void say_problems(struct run *x, const struct mm_ssmix2_problems *pr)
{
    if (!x->o->problem)
        return;
    for (size_t i = 0; i < pr->nexamples; i++)
        x->o->problem(x->g.id, pr->examples[i].path, pr->examples[i].reason, x->o->ctx);
    if (pr->bad > pr->nexamples) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%zu more files of this patient could not be read",
                 pr->bad - pr->nexamples);
        x->o->problem(x->g.id, "", msg, x->o->ctx);
    }
}

/* Whether the record lists read failures. */
static int has_failures(const mm_ssmix2_record *rec)
{
    const struct mm_ssmix2_failure *f;
    size_t n = mm_ssmix2_record_failures(rec, &f);

    for (size_t i = 0; i < n; i++)
        if (f[i].failed || f[i].folders || f[i].damaged)
            return 1;
    return 0;
}

/* The generation's end as a FHIR instant with the local offset. OUT: @out */
static void gen_instant(int64_t ns, char out[40])
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    long off = 0;

    if (mm_os_localtime(t, &tm, &off) < 0) {
        snprintf(out, 40, "1970-01-01T00:00:00Z");
        return;
    }
    snprintf(out, 40, "%04u-%02u-%02uT%02u:%02u:%02u%c%02u:%02u",
             (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
             (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
             (unsigned)tm.tm_sec % 100u, off < 0 ? '-' : '+', (unsigned)(labs(off) / 3600 % 100),
             (unsigned)(labs(off) / 60 % 60));
}

/* Export every listed patient into @out_dir. */
static int export_patients(struct run *x, const char *fhir_dir, const char *csv_dir)
{
    const struct mm_export_opts *o = x->o;
    struct mm_export_source src;
    mm_export_csv *csv = NULL;
    char when[40], idx_name[MM_LIMIT_PATIENT_ID + 80];
    FILE *idx = NULL;
    char *idx_buf = NULL;
    size_t idx_len = 0;
    mm_buf b;
    int err = 0;

    gen_instant(x->g.end_ns, when);
    src.repo_id = mm_repo_id(x->r);
    src.generation = x->g.id;
    src.gen_time = when;
    src.facility = o->facility ? o->facility : "";
    mm_buf_init(&b, MM_LIMIT_JSON);
    if (csv_dir && (err = mm_export_csv_open(&csv, csv_dir)) < 0)
        goto out;
    if (fhir_dir) {
        if (!(idx = open_memstream(&idx_buf, &idx_len))) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
            goto out;
        }
        fputs("\xEF\xBB\xBFpatient_id,file\r\n", idx);
    }
    for (size_t i = 0; i < x->np && err == 0; i++) {
        const struct stor *s = &x->s[x->p[i].stor];
        const char *ext = s->pair >= 0 ? x->s[s->pair].root : NULL;
        struct mm_ssmix2_problems pr;
        mm_ssmix2_record *rec = NULL;
        struct reader rd;
        struct stat sb;
        unsigned int done = 0;

        memset(&pr, 0, sizeof(pr));
        if (ext && stat(ext, &sb) != 0)
            ext = NULL; /* nothing of the extended storage restored */
        err = mm_ssmix2_record_load(&rec, s->root, ext, x->p[i].id, &pr);
        if (err == MM_ENOTFOUND) { /* listed but not readable as a patient folder */
            mm_error_clear();
            err = 0;
            x->st.unreadable++;
            if (o->problem)
                o->problem(x->g.id, "", "a patient folder could not be read: left out", o->ctx);
            continue;
        }
        if (err < 0)
            break;
        say_problems(x, &pr);
        if (!mm_ssmix2_record_patient(rec)) {
            /* no message names the patient: nothing can carry the record */
            x->st.unreadable++;
            if (o->problem)
                o->problem(x->g.id, "",
                           "a patient folder without any readable patient identity: left out",
                           o->ctx);
            mm_ssmix2_record_free(rec);
            continue;
        }
        if (strcmp(mm_ssmix2_record_patient(rec)->id, x->p[i].id) != 0) {
            /* a message names another patient than its folder: never mix two patients */
            x->st.unreadable++;
            if (o->problem)
                o->problem(x->g.id, "",
                           "a patient folder whose messages name another patient ID: left out",
                           o->ctx);
            mm_ssmix2_record_free(rec);
            continue;
        }
        if (has_failures(rec) || pr.bad)
            x->st.unreadable++;
        if (fhir_dir) {
            rd.ext_root = ext;
            mm_buf_clear(&b);
            err = mm_export_fhir_bundle(rec, &src, read_ext, &rd, &b);
            if (err == 0) {
                bundle_name(x->p[i].id, idx_name);
                err = write_file(fhir_dir, idx_name, b.ptr, b.len);
            }
            if (err == 0) {
                x->st.resources += count_resources(b.ptr, b.len);
                mm_export__csv_cell(idx, x->p[i].id, 1);
                mm_export__csv_cell(idx, idx_name, 0);
                fputs("\r\n", idx);
                done |= MM_EXPORT_FHIR;
            }
            if (b.ptr)
                mm_crypto_wipe(b.ptr, b.len);
        }
        if (err == 0 && csv) {
            err = mm_export_csv_add(csv, rec, &src);
            done |= err == 0 ? MM_EXPORT_CSV : 0;
        }
        mm_ssmix2_record_free(rec);
        if (done) {
            x->st.patients++;
            if (o->patient_done)
                o->patient_done(x->p[i].id, done, o->ctx);
        }
    }
    if (err == 0 && csv) {
        x->st.rows = mm_export__csv_rows(csv);
        err = mm_export_csv_close(csv);
    }
out:
    if (idx) {
        if (fclose(idx) != 0 && err == 0)
            err = mm_error_set(MM_ENOMEM, "out of memory");
        idx = NULL;
        /* the index of the Bundles written, also when the export stopped half way */
        if (idx_buf && x->st.patients) {
            int e2 = write_file(fhir_dir, "index.csv", idx_buf, idx_len);
            if (err == 0)
                err = e2;
            mm_crypto_wipe(idx_buf, idx_len);
        }
        free(idx_buf); /* open_memstream's: libc allocated */
    }
    mm_export_csv_free(csv);
    mm_buf_release(&b);
    return err;
}

/* Whether @dir holds an earlier export (its fhir/ or csv/ folder). */
static int holds_export(const char *dir)
{
    char p[MM_LIMIT_PATH];
    struct stat sb;

    snprintf(p, sizeof(p), "%s/fhir", dir);
    if (lstat(p, &sb) == 0)
        return 1;
    snprintf(p, sizeof(p), "%s/csv", dir);
    return lstat(p, &sb) == 0;
}

int mm_export_run(mm_repo *r, const struct mm_export_opts *o, struct mm_export_stats *st)
{
    struct run x;
    char *fhir_dir = NULL, *csv_dir = NULL, red[MM_LOG_PATH_MAX];
    struct stat sb;
    int err, created = 0;

    MM_ASSERT_ARG(r != NULL && o != NULL && o->out_dir != NULL && *o->out_dir);
    if (!(o->formats & (MM_EXPORT_FHIR | MM_EXPORT_CSV)))
        return mm_error_set(MM_EINVAL, "no export format given");
    if (o->patient &&
        (!*o->patient || strlen(o->patient) > MM_LIMIT_PATIENT_ID || strchr(o->patient, '/') ||
         strcmp(o->patient, ".") == 0 || strcmp(o->patient, "..") == 0))
        return mm_error_set(MM_EINVAL, "not a patient ID");
    memset(&x, 0, sizeof(x));
    x.r = r;
    x.o = o;
    if ((err = mm_repo_gen_find(r, o->generation ? o->generation : "good", &x.g)) < 0)
        goto out;
    x.have_gen = 1;
    memcpy(x.st.generation, x.g.id, sizeof(x.st.generation));
    if ((err = list_storages(&x)) < 0)
        goto out;
    created = lstat(o->out_dir, &sb) != 0;
    if ((err = mm_os_mkdir_p(o->out_dir, 0700)) < 0)
        goto out;
    if (holds_export(o->out_dir)) {
        err = mm_error_set(MM_EEXISTS, "'%s' holds an earlier export",
                           mm_log_path(red, sizeof(red), o->out_dir));
        goto out;
    }
    /* the restored files stay inside the output folder, readable by this user only */
    if (!(x.scratch = join(o->out_dir, ".mamori-export-XXXXXX"))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    if (!mkdtemp(x.scratch)) {
        err = mm_error_set_errno(MM_EIO, errno, "cannot create a scratch folder in '%s'",
                                 mm_log_path(red, sizeof(red), o->out_dir));
        mm_free(x.scratch);
        x.scratch = NULL;
        goto out;
    }
    if (o->patient) {
        if ((err = restore_patient(&x, o->patient)) < 0)
            goto out;
    } else {
        for (size_t i = 0; i < x.ns; i++) {
            if (x.s[i].ext)
                continue;
            if ((err = restore_storage(&x, i)) < 0 ||
                (x.s[i].pair >= 0 && (err = restore_storage(&x, (size_t)x.s[i].pair)) < 0))
                goto out;
        }
    }
    for (size_t i = 0; i < x.ns; i++)
        if (!x.s[i].ext && (err = list_patients(&x, i)) < 0)
            goto out;
    dedup_patients(&x);
    if (o->patient) { /* the filter matches the folder of that ID only; keep no other */
        size_t k = 0;
        for (size_t i = 0; i < x.np; i++) {
            if (strcmp(x.p[i].id, o->patient) == 0) {
                x.p[k++] = x.p[i];
                continue;
            }
            mm_free(x.p[i].id);
        }
        x.np = k;
    }
    if (!x.np) {
        err = o->patient
                      ? mm_error_set(MM_ENOTFOUND, "no such patient in generation '%.12s'", x.g.id)
                      : mm_error_set(MM_ENOTFOUND, "generation '%.12s' holds no patient", x.g.id);
        goto out;
    }
    if (((o->formats & MM_EXPORT_FHIR) && !(fhir_dir = join(o->out_dir, "fhir"))) ||
        ((o->formats & MM_EXPORT_CSV) && !(csv_dir = join(o->out_dir, "csv")))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    if ((fhir_dir && (err = mm_os_mkdir_p(fhir_dir, 0700)) < 0) ||
        (csv_dir && (err = mm_os_mkdir_p(csv_dir, 0700)) < 0))
        goto out;
    err = export_patients(&x, fhir_dir, csv_dir);
out:
    if (x.scratch) {
        if (mm_os_rmtree(x.scratch) != 0 && err == 0)
            err = mm_error_set_errno(MM_EIO, errno,
                                     "the scratch folder could not be removed: remove '%s' by "
                                     "hand",
                                     mm_log_path(red, sizeof(red), x.scratch));
        mm_free(x.scratch);
    }
    if (err < 0) { /* folders left empty would make the next run refuse the output folder */
        if (csv_dir)
            (void)rmdir(csv_dir);
        if (fhir_dir)
            (void)rmdir(fhir_dir);
        if (created)
            (void)rmdir(o->out_dir);
    }
    for (size_t i = 0; i < x.ns; i++)
        mm_free(x.s[i].root);
    mm_free(x.s);
    for (size_t i = 0; i < x.np; i++)
        mm_free(x.p[i].id);
    mm_free(x.p);
    mm_free(fhir_dir);
    mm_free(csv_dir);
    if (x.have_gen)
        mm_repo_gen_release(&x.g);
    if (st)
        *st = x.st;
    return err;
}
