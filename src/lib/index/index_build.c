/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building and updating the index. The patient folders (<a>/<b>/<pid>) are listed and
 * sorted first; loader threads then load records (mm_ssmix2_record_load, or only the newest
 * current ADT-00 in demographics mode) and render their JSON, while the calling thread
 * writes them, in patient order, through prepared statements in one transaction. Loaders
 * work at most WINDOW patients ahead of the writer, so memory stays bounded and the file
 * comes out the same for the same storage. There are more loaders than cores because a
 * loader mostly waits for the disk (small files, cold cache). Records are independent, so the only
 * shared state is the window, under one mutex. Workload: about 55 files per patient, 1 KB-8 KB
 * each; loading dominates, writing is a few rows and one JSON per patient.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/log.h"
#include "index/index_int.h"
#include "os/os.h"

#define WINDOW      128u /* patients loaded ahead of the writer */
#define MAX_THREADS 64u
/* Loading waits on the disk far more than on the CPU: on 2 cores, a cold 1M-file storage
 * took 208 s with 2 loaders, 96 s with 8, 58 s with 16 and 49 s with 32. */
#define DEFAULT_THRDS 16u

struct pat {
    char *pid;
    char *rel; /* "<a>/<b>/<pid>" relative to the storage root; NULL until found */
};

struct slot {
    int ready;
    int err;          /* 0, MM_ENOTFOUND (no folder), MM_EIO (unreadable), or fatal */
    char errmsg[512]; /* the loader's message for err */
    mm_ssmix2_record *rec;
    mm_buf json;
    struct mm_ssmix2_problems probs;
};

struct job {
    const char *std, *ext;
    int compress; /* store summaries as zstd frames (index version 2) */
    struct pat *pats;
    size_t n;
    int demographics;
    pthread_mutex_t mu;
    pthread_cond_t ready, space;
    size_t next, written;
    int stop;
    struct slot slots[WINDOW];
};

/*
 * Add a problem example to @pr. @path is relative to the storage root; it is redacted with
 * mm_log_path() and its first three levels (<pid[0:3]>/<pid[3:6]>/<pid>, or a bare ID) are
 * always masked, since a prefix folder alone already tells part of an ID.
 */
static void problem(struct mm_ssmix2_problems *pr, const char *path, const char *reason)
{
    const size_t max = sizeof(pr->examples) / sizeof(pr->examples[0]);
    char red[MM_LOG_PATH_MAX];
    char *out;
    const char *p = red;
    size_t cap = sizeof(pr->examples[0].path), k = 0;

    pr->bad++;
    if (pr->nexamples >= max)
        return;
    out = pr->examples[pr->nexamples].path;
    mm_log_path(red, sizeof(red), path);
    for (int level = 0; level < 3 && *p && k + 2 < cap; level++) {
        const char *e = strchr(p, '/');
        out[k++] = '*';
        p = e ? e : p + strlen(p);
        if (*p)
            out[k++] = *p++;
    }
    snprintf(out + k, cap - k, "%s", p);
    snprintf(pr->examples[pr->nexamples].reason, sizeof(pr->examples[0].reason), "%s", reason);
    pr->nexamples++;
}

/* Sum @from into @to. */
static void merge_problems(struct mm_ssmix2_problems *to, const struct mm_ssmix2_problems *from)
{
    const size_t max = sizeof(to->examples) / sizeof(to->examples[0]);

    to->files += from->files;
    to->bad += from->bad;
    for (size_t i = 0; i < from->nexamples && to->nexamples < max; i++)
        to->examples[to->nexamples++] = from->examples[i];
}

/* ---- listing patient folders --------------------------------------------------------------- */

struct list {
    struct pat *v;
    size_t n, cap;
};

/* 1 when the entry @name of @dir (with d_type @type) is a folder. */
static int is_dir(const char *dir, const char *name, unsigned char type)
{
    char path[MM_LIMIT_PATH];
    struct stat sb;

    if (type == DT_DIR)
        return 1;
    if (type != DT_UNKNOWN && type != DT_LNK)
        return 0;
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return 0;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Append patient @pid at @rel to @l. */
static int list_add(struct list *l, const char *pid, const char *rel)
{
    struct pat *p;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        struct pat *v = mm_realloc(l->v, cap * sizeof(*v));
        if (!v)
            return MM_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    p = &l->v[l->n];
    p->pid = mm_strdup(pid);
    p->rel = rel ? mm_strdup(rel) : NULL;
    if (!p->pid || (rel && !p->rel)) {
        mm_free(p->pid);
        mm_free(p->rel);
        return MM_ENOMEM;
    }
    l->n++;
    return 0;
}

static void list_free(struct list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        mm_free(l->v[i].pid);
        mm_free(l->v[i].rel);
    }
    mm_free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/*
 * List the folders below @root/@rel (level 0, 1: prefix folders; 2: patient folders) into
 * @l. Folders that cannot be read are counted in @st. @prefix filters patient folders.
 */
static int walk(const char *root, const char *rel, int level, const char *prefix, struct list *l,
                struct mm_index_build_stats *st)
{
    char dir[MM_LIMIT_PATH], sub[MM_LIMIT_PATH];
    DIR *d;
    struct dirent *de;
    int err = 0;

    if (snprintf(dir, sizeof(dir), "%s%s%s", root, rel[0] ? "/" : "", rel) >= (int)sizeof(dir))
        return 0;
    if (!(d = opendir(dir))) {
        if (level == 0)
            return mm_error_set_errno(errno == ENOENT || errno == ENOTDIR ? MM_ENOTFOUND : MM_EIO,
                                      errno, "cannot read storage '%s'",
                                      mm_log_path(sub, sizeof(sub), root));
        st->unreadable++;
        problem(&st->problems, rel, "cannot read folder");
        return 0;
    }
    for (;;) {
        errno = 0;
        if (!(de = readdir(d)))
            break;
        if (de->d_name[0] == '.' || !is_dir(dir, de->d_name, de->d_type))
            continue;
        if (snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >=
            (int)sizeof(sub))
            continue;
        if (level < 2) {
            if ((err = walk(root, sub, level + 1, prefix, l, st)) < 0)
                break;
        } else if (!prefix || strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
            if (strlen(de->d_name) > MM_LIMIT_PATIENT_ID) {
                st->unreadable++;
                problem(&st->problems, sub, "patient folder name too long");
            } else if ((err = list_add(l, de->d_name, sub)) < 0) {
                break;
            }
        }
    }
    if (err == 0 && errno != 0) {
        st->unreadable++;
        problem(&st->problems, rel, "cannot list folder");
    }
    closedir(d);
    return err;
}

/* qsort: patients by ID. */
static int cmp_pat(const void *a, const void *b)
{
    return strcmp(((const struct pat *)a)->pid, ((const struct pat *)b)->pid);
}

/* Sort @l by ID and drop repeated IDs (the first folder found wins). */
static void sort_unique(struct list *l, struct mm_index_build_stats *st)
{
    size_t k = 0;

    if (l->n)
        qsort(l->v, l->n, sizeof(l->v[0]), cmp_pat);
    for (size_t i = 0; i < l->n; i++) {
        if (k && strcmp(l->v[k - 1].pid, l->v[i].pid) == 0) {
            if (st && l->v[i].rel)
                problem(&st->problems, l->v[i].rel, "patient folder appears twice");
            mm_free(l->v[i].pid);
            mm_free(l->v[i].rel);
            continue;
        }
        l->v[k++] = l->v[i];
    }
    l->n = k;
}

/* Find the folder of @pid below @root. OUT: @rel. @return 0, MM_ENOTFOUND */
static int find_folder(const char *root, const char *pid, char *rel, size_t cap)
{
    char path[MM_LIMIT_PATH];
    struct stat sb;
    struct list l = { 0 };
    struct mm_index_build_stats *st;
    size_t n = strlen(pid);
    int err;

    if (n >= 6) {
        snprintf(rel, cap, "%.3s/%.3s/%s", pid, pid + 3, pid);
        if (snprintf(path, sizeof(path), "%s/%s", root, rel) < (int)sizeof(path) &&
            stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            return 0;
    }
    /* short IDs: the prefix folders are not computed but found */
    if (!(st = mm_calloc(1, sizeof(*st))))
        return MM_ENOMEM;
    err = walk(root, "", 0, pid, &l, st);
    mm_free(st);
    if (err < 0) {
        list_free(&l);
        return err == MM_ENOMEM ? err : MM_ENOTFOUND;
    }
    err = MM_ENOTFOUND;
    for (size_t i = 0; i < l.n; i++) {
        if (strcmp(l.v[i].pid, pid) == 0) {
            snprintf(rel, cap, "%s", l.v[i].rel);
            err = 0;
            break;
        }
    }
    list_free(&l);
    return err;
}

/* ---- loading ------------------------------------------------------------------------------- */

/* Compare two file-name time stamps of 15-17 digits as fixed-point numbers. */
static int cmp_timestamp(const char *a, const char *b)
{
    char ta[MM_SSMIX2_TIMESTAMP_MAX + 1], tb[MM_SSMIX2_TIMESTAMP_MAX + 1];
    size_t na = strlen(a), nb = strlen(b);

    memset(ta, '0', MM_SSMIX2_TIMESTAMP_MAX);
    memset(tb, '0', MM_SSMIX2_TIMESTAMP_MAX);
    memcpy(ta, a, na < MM_SSMIX2_TIMESTAMP_MAX ? na : MM_SSMIX2_TIMESTAMP_MAX);
    memcpy(tb, b, nb < MM_SSMIX2_TIMESTAMP_MAX ? nb : MM_SSMIX2_TIMESTAMP_MAX);
    ta[MM_SSMIX2_TIMESTAMP_MAX] = tb[MM_SSMIX2_TIMESTAMP_MAX] = '\0';
    return strcmp(ta, tb);
}

/*
 * Find the newest current file of data type @type (any type when NULL) in @dir, newer than
 * what @found (1 when @file and @nm hold a candidate already) says. OUT: @file (its name),
 * @nm (parsed). @return 1 found, 0 none, <0 error (MM_EIO: folder unreadable)
 */
static int newest_in(const char *dir, const char *type, char *file, size_t cap,
                     struct mm_ssmix2_name *nm, int found)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct mm_ssmix2_name cand;

    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? found : MM_EIO;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 2 || strcmp(de->d_name + n - 2, "_1") != 0 || n >= cap)
            continue;
        if (mm_ssmix2_parse_name(&cand, de->d_name, n) < 0 || cand.flag != MM_SSMIX2_CURRENT ||
            (type && strcmp(cand.type, type) != 0))
            continue;
        if (found && cmp_timestamp(cand.timestamp, nm->timestamp) <= 0)
            continue;
        *nm = cand;
        memcpy(file, de->d_name, n + 1);
        found = 1;
    }
    closedir(d);
    mm_error_clear();
    return found;
}

static int newest_current(const char *dir, char *file, size_t cap, struct mm_ssmix2_name *nm)
{
    return newest_in(dir, "ADT-00", file, cap, nm, 0);
}

/*
 * A patient without a current ADT-00: the newest current message of any type under the
 * patient folder @pdir (<date|->/<type>/<file>), whose PID names the patient as the full
 * record would (docs/orders.md, identity without ADT-00). OUT: @dir (its folder), @file, @nm.
 * @return 1 found, 0 none, <0 MM_EIO
 */
static int newest_any(const char *pdir, char *dir, size_t dcap, char *file, size_t cap,
                      struct mm_ssmix2_name *nm)
{
    DIR *dd = opendir(pdir), *td;
    struct dirent *de, *te;
    char sub[MM_LIMIT_PATH], best[MM_LIMIT_PATH] = "";
    int found = 0, err = 0;

    if (!dd)
        return errno == ENOENT || errno == ENOTDIR ? 0 : MM_EIO;
    while (err >= 0 && (de = readdir(dd))) {
        if (de->d_name[0] == '.' ||
            snprintf(sub, sizeof(sub), "%s/%s", pdir, de->d_name) >= (int)sizeof(sub) ||
            !(td = opendir(sub)))
            continue;
        while (err >= 0 && (te = readdir(td))) {
            char leaf[MM_LIMIT_PATH], before[sizeof(nm->timestamp)];
            if (te->d_name[0] == '.' ||
                snprintf(leaf, sizeof(leaf), "%s/%s", sub, te->d_name) >= (int)sizeof(leaf))
                continue;
            memcpy(before, nm->timestamp, sizeof(before));
            err = newest_in(leaf, NULL, file, cap, nm, found);
            /* newest_in() keeps the candidate it had unless this folder holds a newer one */
            if (err > 0 && (!found || memcmp(before, nm->timestamp, sizeof(before)) != 0))
                snprintf(best, sizeof(best), "%s", leaf);
            if (err > 0)
                found = 1;
        }
        closedir(td);
    }
    closedir(dd);
    if (err < 0)
        return err;
    if (found && snprintf(dir, dcap, "%s", best) >= (int)dcap)
        return mm_error_set(MM_ELIMIT, "path too long");
    return found;
}

/* Demographics only: a record from the newest current ADT-00 of patient @p (without one,
 * from the newest current message of any type, whose PID names the patient). */
static int load_demographics(struct job *j, struct pat *p, struct slot *s)
{
    char rel[MM_LIMIT_PATH], dir[MM_LIMIT_PATH], path[MM_LIMIT_PATH], file[MM_LIMIT_NAME + 1];
    struct mm_ssmix2_name nm;
    mm_buf raw, dec;
    mm_hl7_msg *msg = NULL;
    int err = 0, found;

    mm_buf_init(&raw, MM_LIMIT_HL7_MESSAGE);
    mm_buf_init(&dec, MM_LIMIT_HL7_MESSAGE);
    if (p->rel)
        snprintf(rel, sizeof(rel), "%s", p->rel);
    else if ((err = find_folder(j->std, p->pid, rel, sizeof(rel))) < 0)
        goto out;
    if (snprintf(dir, sizeof(dir), "%s/%s/-/ADT-00", j->std, rel) >= (int)sizeof(dir)) {
        err = mm_error_set(MM_EIO, "path too long");
        goto out;
    }
    if ((err = mm_ssmix2_record_new(&s->rec)) < 0)
        goto out;
    /* a live storage renames _1 to _2 at any time: list again when the file is gone */
    for (int attempt = 0; attempt < 3; attempt++) {
        found = newest_current(dir, file, sizeof(file), &nm);
        if (found == 0) {
            /* no current ADT-00: the newest current message of any type names the patient */
            if (snprintf(path, sizeof(path), "%s/%s", j->std, rel) >= (int)sizeof(path))
                found = MM_ELIMIT;
            else
                found = newest_any(path, dir, sizeof(dir), file, sizeof(file), &nm);
        }
        if (found < 0) {
            err = mm_error_set(MM_EIO, "cannot read folder");
            goto out;
        }
        if (!found) {
            /* no demographics; unless the patient folder itself is gone */
            struct stat sb;
            if (snprintf(path, sizeof(path), "%s/%s", j->std, rel) < (int)sizeof(path) &&
                stat(path, &sb) != 0)
                err = mm_error_set(MM_ENOTFOUND, "patient folder is gone");
            goto out;
        }
        mm_buf_clear(&raw);
        if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
            err = mm_error_set(MM_ELIMIT, "path too long");
        else
            err = mm_os_read_file(path, &raw);
        if (err != MM_ENOTFOUND)
            break;
    }
    if (snprintf(path, sizeof(path), "%s/%s", dir + strlen(j->std) + 1, file) >= (int)sizeof(path))
        path[0] = '\0'; /* only named in a problem (redacted) */
    s->probs.files++;
    if (err == 0)
        err = mm_jis_decode(&dec, raw.ptr, raw.len, 0, NULL);
    if (err == 0)
        err = mm_hl7_parse(&msg, dec.ptr, dec.len);
    if (err == 0)
        err = mm_ssmix2_record_add(s->rec, &nm, msg);
    if (err < 0 && err != MM_ENOMEM) {
        problem(&s->probs, path, mm_error_last());
        err = 0;
    }
out:
    mm_hl7_free(msg);
    mm_buf_release(&raw);
    mm_buf_release(&dec);
    return err;
}

/* Load patient @i of @j into its slot (no lock held: the slot is the loader's). */
/* Replace s->json by one zstd frame of it (index version 2), in the loader thread. */
static int compress_json(struct slot *s)
{
    size_t bound = ZSTD_compressBound(s->json.len), got;
    mm_buf z;
    int err;

    mm_buf_init(&z, MM_LIMIT_JSON);
    if ((err = mm_buf_grow(&z, bound)) < 0)
        return err;
    got = ZSTD_compress(z.ptr, bound, s->json.ptr, s->json.len, 3);
    if (ZSTD_isError(got)) {
        mm_buf_release(&z);
        return mm_error_set(MM_ERROR, "cannot compress a patient summary");
    }
    z.len = got;
    mm_buf_release(&s->json);
    s->json = z;
    return 0;
}

static void load(struct job *j, size_t i)
{
    struct slot *s = &j->slots[i % WINDOW];
    struct pat *p = &j->pats[i];
    int err;

    memset(&s->probs, 0, sizeof(s->probs));
    s->rec = NULL;
    mm_buf_init(&s->json, MM_LIMIT_JSON);
    if (j->demographics)
        err = load_demographics(j, p, s);
    else
        err = mm_ssmix2_record_load(&s->rec, j->std, j->ext, p->pid, &s->probs);
    if (err == 0)
        err = mm_ssmix2_record_json(s->rec, &s->json, 0);
    if (err == 0 && j->compress)
        err = compress_json(s);
    s->err = err;
    if (err < 0)
        snprintf(s->errmsg, sizeof(s->errmsg), "%s", mm_error_last());
}

static void *loader(void *arg)
{
    struct job *j = arg;

    pthread_mutex_lock(&j->mu);
    for (;;) {
        size_t i;

        while (!j->stop && j->next < j->n && j->next >= j->written + WINDOW)
            pthread_cond_wait(&j->space, &j->mu);
        if (j->stop || j->next >= j->n)
            break;
        i = j->next++;
        pthread_mutex_unlock(&j->mu);
        load(j, i);
        pthread_mutex_lock(&j->mu);
        j->slots[i % WINDOW].ready = 1;
        pthread_cond_broadcast(&j->ready);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Free what slot @s holds. */
static void slot_clear(struct slot *s)
{
    mm_ssmix2_record_free(s->rec);
    s->rec = NULL;
    mm_buf_release(&s->json);
    s->ready = 0;
}

/* ---- writing ------------------------------------------------------------------------------- */

enum { ST_DEL_LAB, ST_DEL_SUM, ST_DEL_PAT, ST_PAT, ST_SUM, ST_LAB, NSTMT };

static const char *const stmt_sql[NSTMT] = {
    "DELETE FROM lab WHERE patient_id = ?1",
    "DELETE FROM summary WHERE patient_id = ?1",
    "DELETE FROM patient WHERE id = ?1",
    "INSERT INTO patient(id, name, kana, sex, birth_date, name_key, kana_key)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "INSERT INTO summary(patient_id, json) VALUES(?1, ?2)",
    "INSERT INTO lab(patient_id, seq, code, name, unit, range, collected_at, value, flag)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
};

struct writer {
    mm_index *ix;
    sqlite3_stmt *st[NSTMT];
    mm_buf name_key, kana_key;
};

/* Run the bound statement @st to completion and reset it. */
static int step(struct writer *w, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    int err = rc == SQLITE_DONE ? 0 : mm_index__sql_error(w->ix->db, rc, "write");

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

/* Delete every row of patient @pid. */
static int delete_patient(struct writer *w, const char *pid)
{
    int err = 0;

    for (int k = ST_DEL_LAB; k <= ST_DEL_PAT && err == 0; k++)
        if ((err = mm_index__bind(w->st[k], 1, pid)) == 0)
            err = step(w, w->st[k]);
    return err;
}

/* Write the rows of patient @pid from slot @s. */
static int write_patient(struct writer *w, const char *pid, struct slot *s,
                         struct mm_index_build_stats *st)
{
    const struct mm_ssmix2_patient *p = mm_ssmix2_record_patient(s->rec);
    const struct mm_ssmix2_lab *labs = NULL;
    /* demographics only: a stand-in message's results are not the patient's lab matrix */
    size_t nlabs = w->ix->demographics ? 0 : mm_ssmix2_record_labs(s->rec, &labs);
    sqlite3_stmt *q = w->st[ST_PAT];
    int err, seq = 0;

    mm_buf_clear(&w->name_key);
    mm_buf_clear(&w->kana_key);
    if ((err = mm_index_name_key(p ? p->name : "", &w->name_key)) < 0 ||
        (err = mm_index_name_key(p ? p->kana : "", &w->kana_key)) < 0)
        return err;
    if ((err = mm_index__bind(q, 1, pid)) < 0 ||
        (err = mm_index__bind(q, 2, p ? p->name : "")) < 0 ||
        (err = mm_index__bind(q, 3, p ? p->kana : "")) < 0 ||
        (err = mm_index__bind(q, 4, p ? p->sex : "")) < 0 ||
        (err = mm_index__bind(q, 5, p ? p->birth_date : "")) < 0 ||
        (err = mm_index__bind(q, 6, w->name_key.ptr)) < 0 ||
        (err = mm_index__bind(q, 7, w->kana_key.ptr)) < 0 || (err = step(w, q)) < 0)
        return err;
    q = w->st[ST_SUM];
    if ((err = mm_index__bind(q, 1, pid)) < 0)
        return err;
    if (w->ix->version >= 2 ? sqlite3_bind_blob(q, 2, s->json.ptr ? s->json.ptr : "",
                                                (int)s->json.len, SQLITE_STATIC) != SQLITE_OK
                            : (err = mm_index__bind(q, 2, s->json.ptr)) < 0)
        return err < 0 ? err : mm_index__sql_error(w->ix->db, SQLITE_ERROR, "bind");
    if ((err = step(w, q)) < 0)
        return err;
    q = w->st[ST_LAB];
    for (size_t i = 0; i < nlabs; i++) {
        const struct mm_ssmix2_lab *l = &labs[i];
        if (l->from.flag != MM_SSMIX2_CURRENT)
            continue;
        if ((err = mm_index__bind(q, 1, pid)) < 0 || sqlite3_bind_int(q, 2, seq++) != SQLITE_OK ||
            (err = mm_index__bind(q, 3, l->code)) < 0 ||
            (err = mm_index__bind(q, 4, l->name)) < 0 ||
            (err = mm_index__bind(q, 5, l->unit)) < 0 ||
            (err = mm_index__bind(q, 6, l->range)) < 0 ||
            (err = mm_index__bind(q, 7, l->collected_at)) < 0 ||
            (err = mm_index__bind(q, 8, l->value)) < 0 ||
            (err = mm_index__bind(q, 9, l->flag)) < 0 || (err = step(w, q)) < 0)
            return err ? err : mm_index__sql_error(w->ix->db, SQLITE_ERROR, "bind");
        st->labs++;
    }
    st->patients++;
    if (!p || strcmp(p->from.type, "ADT-00") != 0)
        st->no_demographics++; /* named, if at all, by the PID of another message */
    return 0;
}

/* Write the result of loading patient @p (slot @s). */
static int consume(struct writer *w, int update, struct pat *p, struct slot *s,
                   struct mm_index_build_stats *st)
{
    int err;

    merge_problems(&st->problems, &s->probs);
    if (s->err == MM_ENOTFOUND || s->err == MM_EIO || s->err == MM_ECORRUPT ||
        s->err == MM_ELIMIT || s->err == MM_EINVAL) {
        if (s->err == MM_ENOTFOUND && update) {
            /* the folder is gone: the patient leaves the index */
            st->removed++;
            return delete_patient(w, p->pid);
        }
        st->unreadable++;
        problem(&st->problems, p->rel ? p->rel : p->pid, s->errmsg);
        return 0; /* an update keeps the rows it had */
    }
    if (s->err < 0)
        return mm_error_set(s->err, "%s", s->errmsg);
    if (update && (err = delete_patient(w, p->pid)) < 0)
        return err;
    return write_patient(w, p->pid, s, st);
}

/* Load and write the patients @pats (sorted, unique) with the threads of @opts. */
static int run(mm_index *ix, const char *std_root, const char *ext_root, struct pat *pats, size_t n,
               int update, const struct mm_index_build_opts *opts, struct mm_index_build_stats *st)
{
    struct job *j = NULL;
    struct writer w = { 0 };
    pthread_t th[MAX_THREADS];
    unsigned nthreads = opts && opts->threads ? opts->threads : DEFAULT_THRDS, started = 0;
    int err = 0, sync = 0, in_tx = 0;

    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    w.ix = ix;
    mm_buf_init(&w.name_key, MM_LIMIT_JSON);
    mm_buf_init(&w.kana_key, MM_LIMIT_JSON);
    if (!(j = mm_calloc(1, sizeof(*j))))
        return MM_ENOMEM;
    j->std = std_root;
    j->ext = ext_root;
    j->pats = pats;
    j->n = n;
    j->demographics = ix->demographics;
    j->compress = ix->version >= 2;
    for (int k = 0; k < NSTMT; k++)
        if ((err = mm_index__prepare(ix, stmt_sql[k], &w.st[k])) < 0)
            goto out;
    if ((err = mm_index__exec(ix, "BEGIN IMMEDIATE")) < 0)
        goto out;
    in_tx = 1;
    if (!update && (err = mm_index__exec(ix, "DELETE FROM lab; DELETE FROM summary;"
                                             " DELETE FROM patient;")) < 0)
        goto out;
    if (!update && (err = mm_index__set_content(ix, ix->demographics)) < 0)
        goto out;
    if (pthread_mutex_init(&j->mu, NULL) != 0) {
        err = mm_error_set(MM_ENOMEM, "cannot create a mutex");
        goto out;
    }
    sync = 1;
    if (pthread_cond_init(&j->ready, NULL) != 0) {
        err = mm_error_set(MM_ENOMEM, "cannot create a condition variable");
        goto out;
    }
    sync = 2;
    if (pthread_cond_init(&j->space, NULL) != 0) {
        err = mm_error_set(MM_ENOMEM, "cannot create a condition variable");
        goto out;
    }
    sync = 3;
    for (; started < nthreads && started < n; started++)
        if (pthread_create(&th[started], NULL, loader, j) != 0)
            break; /* fewer loaders; with none the writer loads itself */
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &j->slots[i % WINDOW];

        if (started == 0) {
            load(j, i);
        } else {
            pthread_mutex_lock(&j->mu);
            while (!s->ready)
                pthread_cond_wait(&j->ready, &j->mu);
            pthread_mutex_unlock(&j->mu);
        }
        err = consume(&w, update, &pats[i], s, st);
        slot_clear(s);
        pthread_mutex_lock(&j->mu);
        j->written = i + 1;
        pthread_cond_broadcast(&j->space);
        pthread_mutex_unlock(&j->mu);
        if (err < 0)
            break;
        if (opts && opts->progress)
            opts->progress(i + 1, n, opts->progress_ctx);
    }
out:
    if (sync >= 3) {
        pthread_mutex_lock(&j->mu);
        j->stop = 1;
        pthread_cond_broadcast(&j->space);
        pthread_mutex_unlock(&j->mu);
        for (unsigned k = 0; k < started; k++)
            pthread_join(th[k], NULL);
        for (size_t k = 0; k < WINDOW; k++)
            if (j->slots[k].ready)
                slot_clear(&j->slots[k]);
        pthread_cond_destroy(&j->space);
    }
    if (sync >= 2)
        pthread_cond_destroy(&j->ready);
    if (sync >= 1)
        pthread_mutex_destroy(&j->mu);
    for (int k = 0; k < NSTMT; k++)
        sqlite3_finalize(w.st[k]);
    if (in_tx) {
        if (err == 0)
            err = mm_index__exec(ix, "COMMIT");
        if (err < 0)
            sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
    }
    mm_buf_release(&w.name_key);
    mm_buf_release(&w.kana_key);
    mm_free(j);
    return err;
}

/*
 * Index every patient folder of @std_root (and @ext_root): the whole index anew, or, with
 * @add, as an update of the patients found (their rows replaced, the others kept).
 */
static int build_storage(mm_index *ix, const char *std_root, const char *ext_root,
                         const struct mm_index_build_opts *opts, struct mm_index_build_stats *st,
                         int add)
{
    struct mm_index_build_stats *mine = NULL;
    struct list l = { 0 };
    int err, was;

    MM_ASSERT_ARG(ix && std_root);
    was = ix->demographics;
    if (!st && !(st = mine = mm_calloc(1, sizeof(*st))))
        return MM_ENOMEM;
    memset(st, 0, sizeof(*st));
    if (!ix->writable) {
        err = mm_error_set(MM_EINVAL, "index is read-only");
        goto out;
    }
    if ((err = walk(std_root, "", 0, opts ? opts->id_prefix : NULL, &l, st)) < 0)
        goto out;
    sort_unique(&l, st);
    if (!add)
        ix->demographics = opts && (opts->flags & MM_INDEX_DEMOGRAPHICS);
    err = run(ix, std_root, ext_root, l.v, l.n, add, opts, st);
    if (err < 0)
        ix->demographics = was;
out:
    list_free(&l);
    mm_free(mine);
    return err;
}

int mm_index_build(mm_index *ix, const char *std_root, const char *ext_root,
                   const struct mm_index_build_opts *opts, struct mm_index_build_stats *st)
{
    return build_storage(ix, std_root, ext_root, opts, st, 0);
}

int mm_index_build_add(mm_index *ix, const char *std_root, const char *ext_root,
                       const struct mm_index_build_opts *opts, struct mm_index_build_stats *st)
{
    return build_storage(ix, std_root, ext_root, opts, st, 1);
}

int mm_index_update(mm_index *ix, const char *std_root, const char *ext_root,
                    const char *const *pids, size_t n, const struct mm_index_build_opts *opts,
                    struct mm_index_build_stats *st)
{
    struct mm_index_build_stats *mine = NULL;
    struct list l = { 0 };
    int err = 0;

    MM_ASSERT_ARG(ix && std_root && (pids || n == 0));
    if (!st && !(st = mine = mm_calloc(1, sizeof(*st))))
        return MM_ENOMEM;
    memset(st, 0, sizeof(*st));
    if (!ix->writable) {
        err = mm_error_set(MM_EINVAL, "index is read-only");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *p = pids[i];
        if (!p || !p[0] || strchr(p, '/') || strcmp(p, ".") == 0 || strcmp(p, "..") == 0 ||
            strlen(p) > MM_LIMIT_PATIENT_ID) {
            st->unreadable++;
            problem(&st->problems, "", "not a patient ID");
            continue;
        }
        if ((err = list_add(&l, p, NULL)) < 0)
            goto out;
    }
    sort_unique(&l, NULL);
    err = run(ix, std_root, ext_root, l.v, l.n, 1, opts, st);
out:
    list_free(&l);
    mm_free(mine);
    return err;
}
