/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori-gen's driver: runs the per-patient simulation on worker threads,
 * applies the SS-MIX2 update and cancel conventions (a new version renames the
 * old file's flag 1 -> 2, a cancel renames the key's files to 0 and adds the
 * cancel message as _0), writes the files in ISO-2022-JP with their times as
 * mtimes, and assembles the JSON ground truth from what is current (_1).
 * Work is per patient, so threads never touch the same folder.
 */
#include "tools/gen/gen.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/log.h"
#include "hl7/hl7.h"
#include "os/os.h"
#include "tools/gen/gen_int.h"
#include "tools/gen/gen_sim.h"

#define STATE_FILE "mamori-gen.state"

struct job {
    const struct gen_opts *o;
    uint64_t seed;
    unsigned patients;
    int64_t start; /* first day of the storage */
    int64_t from;  /* first day to write */
    int64_t end;   /* one past the last day */
    int extended;
    char std_root[MM_LIMIT_PATH];
    char ext_root[MM_LIMIT_PATH];
    char **truth; /* per patient, or NULL */
    atomic_uint next;
    atomic_uint done;
    atomic_ullong files, renames, bytes, messages, active;
    atomic_int failed;
    pthread_mutex_t err_lock;
    int err;
    char errmsg[512];
};

struct worker {
    struct job *j;
    mm_buf enc;  /* encoded file */
    mm_buf path; /* scratch */
    char last_dir[MM_LIMIT_PATH];
};

static void job_fail(struct job *j, int err)
{
    pthread_mutex_lock(&j->err_lock);
    if (!j->err) {
        j->err = err;
        snprintf(j->errmsg, sizeof(j->errmsg), "%s", mm_error_last());
    }
    pthread_mutex_unlock(&j->err_lock);
    atomic_store(&j->failed, 1);
}

/* ---- file names ---- */

static int msg_name(char *out, size_t cap, const struct patient *p, const struct msg *m, int flag)
{
    char ts[24];

    fmt_ts(ts, m->ts, m->tsdigits);
    return snprintf(out, cap, "%s_%s_%s_%s_%s_%s_%d", p->pid, m->date, gen_type_names[m->type],
                    m->order, ts, m->dept, flag) >= (int)cap
                   ? -1
                   : 0;
}

static int msg_dir(char *out, size_t cap, const struct job *j, const struct patient *p,
                   const struct msg *m)
{
    return snprintf(out, cap, "%s/%.3s/%.3s/%s/%s/%s", j->std_root, p->pid, p->pid + 3, p->pid,
                    m->date, gen_type_names[m->type]) >= (int)cap
                   ? -1
                   : 0;
}

/* mkdir -p @dir unless it is the folder this worker made last. */
static int ensure_dir(struct worker *w, const char *dir)
{
    int err;

    if (strcmp(w->last_dir, dir) == 0)
        return 0;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        if ((err = mm_os_mkdir_p(dir, 0755)) < 0)
            return err;
    }
    snprintf(w->last_dir, sizeof(w->last_dir), "%s", dir);
    return 0;
}

/* Write @n bytes to @path and set its times to @ms. */
static int write_file(struct worker *w, const char *path, const void *data, size_t n, int64_t ms)
{
    char red[MM_LOG_PATH_MAX];
    struct timespec ts[2];
    int err, fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot create '%s'",
                                  mm_log_path(red, sizeof(red), path));
    if ((err = mm_os_write_all(fd, data, n, path)) < 0) {
        close(fd);
        return err;
    }
    ts[0].tv_sec = ts[1].tv_sec = (time_t)(ms / 1000);
    ts[0].tv_nsec = ts[1].tv_nsec = (long)(ms % 1000) * 1000000L;
    futimens(fd, ts);
    if (close(fd) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot close '%s'",
                                  mm_log_path(red, sizeof(red), path));
    atomic_fetch_add(&w->j->bytes, (unsigned long long)n);
    atomic_fetch_add(&w->j->files, 1);
    return 0;
}

/* A per-file choice that real storages vary on: 0 CR, 1 LF, 2 CR + trailing 0x1C. */
static int ending_of(const struct job *j, const struct patient *p, const struct msg *m)
{
    uint64_t h = j->seed ^ ((uint64_t)p->idx * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)m->ts;
    unsigned v;

    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    v = (unsigned)(h % 100);
    return v < 3 ? 1 : v < 8 ? 2 : 0;
}

static int write_msg(struct worker *w, const struct patient *p, const struct msg *m)
{
    char dir[MM_LIMIT_PATH], name[MM_LIMIT_NAME + 1], path[MM_LIMIT_PATH];
    int err, ending = ending_of(w->j, p, m);

    if (msg_dir(dir, sizeof(dir), w->j, p, m) < 0 ||
        msg_name(name, sizeof(name), p, m, m->flag) < 0 ||
        (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return mm_error_set(MM_ELIMIT, "path too long");
    if ((err = ensure_dir(w, dir)) < 0)
        return err;
    mm_buf_clear(&w->enc);
    if ((err = mm_jis_encode(&w->enc, m->hl7, strlen(m->hl7), MM_JIS_STRICT, NULL)) < 0)
        return err;
    if (ending == 1)
        for (size_t i = 0; i < w->enc.len; i++)
            if (w->enc.ptr[i] == '\r')
                w->enc.ptr[i] = '\n';
    if (ending == 2 && (err = mm_buf_putc(&w->enc, 0x1C)) < 0)
        return err;
    return write_file(w, path, w->enc.ptr, w->enc.len, m->ts);
}

static int rename_msg(struct worker *w, const struct patient *p, const struct msg *m, int from,
                      int to)
{
    char dir[MM_LIMIT_PATH], a[MM_LIMIT_NAME + 1], b[MM_LIMIT_NAME + 1];
    char pa[MM_LIMIT_PATH], pb[MM_LIMIT_PATH], red[MM_LOG_PATH_MAX];
    struct stat st;

    if (msg_dir(dir, sizeof(dir), w->j, p, m) < 0 || msg_name(a, sizeof(a), p, m, from) < 0 ||
        msg_name(b, sizeof(b), p, m, to) < 0 ||
        (size_t)snprintf(pa, sizeof(pa), "%s/%s", dir, a) >= sizeof(pa) ||
        (size_t)snprintf(pb, sizeof(pb), "%s/%s", dir, b) >= sizeof(pb))
        return mm_error_set(MM_ELIMIT, "path too long");
    if (rename(pa, pb) != 0) {
        /* an interrupted earlier run may have renamed it already */
        if (errno == ENOENT && stat(pb, &st) == 0)
            return 0;
        return mm_error_set_errno(MM_EIO, errno, "cannot rename '%s'",
                                  mm_log_path(red, sizeof(red), pa));
    }
    atomic_fetch_add(&w->j->renames, 1);
    return 0;
}

/* ---- applying the conventions ---- */

static const struct patient *sort_p;

static int cmp_key(const void *x, const void *y)
{
    const struct msg *a = &sort_p->msgs[*(const size_t *)x];
    const struct msg *b = &sort_p->msgs[*(const size_t *)y];
    int c;

    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    if ((c = strcmp(a->date, b->date)) != 0)
        return c;
    if ((c = strcmp(a->order, b->order)) != 0)
        return c;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

/* Compute every message's flag and perform the file operations of days in [from, end). */
static int apply(struct worker *w, struct patient *p)
{
    size_t *ix = NULL;
    int err = 0;
    int64_t from_ms = w->j->from * MS_PER_DAY;

    if (p->nmsgs == 0)
        return 0;
    ix = mm_malloc(p->nmsgs * sizeof(*ix));
    if (!ix)
        return MM_ENOMEM;
    for (size_t i = 0; i < p->nmsgs; i++)
        ix[i] = i;
    pthread_mutex_lock(&sort_lock); /* qsort has no context argument in C11 */
    sort_p = p;
    qsort(ix, p->nmsgs, sizeof(*ix), cmp_key);
    pthread_mutex_unlock(&sort_lock);
    for (size_t g = 0; g < p->nmsgs && err == 0;) {
        size_t e = g + 1;
        while (e < p->nmsgs && p->msgs[ix[e]].type == p->msgs[ix[g]].type &&
               strcmp(p->msgs[ix[e]].date, p->msgs[ix[g]].date) == 0 &&
               strcmp(p->msgs[ix[e]].order, p->msgs[ix[g]].order) == 0)
            e++;
        for (size_t k = g; k < e && err == 0; k++) {
            struct msg *m = &p->msgs[ix[k]];
            int write_now = m->ts >= from_ms;
            for (size_t q = g; q < k && err == 0; q++) {
                struct msg *o = &p->msgs[ix[q]];
                int nf = m->cancel ? (o->flag != 0 ? 0 : o->flag) : (o->flag == 1 ? 2 : o->flag);
                if (nf != o->flag) {
                    if (write_now)
                        err = rename_msg(w, p, o, o->flag, nf);
                    o->flag = (int8_t)nf;
                }
            }
            m->flag = m->cancel ? 0 : 1;
            if (write_now && err == 0)
                err = write_msg(w, p, m);
        }
        g = e;
    }
    mm_free(ix);
    return err;
}

static int write_ext(struct worker *w, const struct patient *p, const struct ext *e)
{
    char dir[MM_LIMIT_PATH], path[MM_LIMIT_PATH], ts[24];
    mm_buf out;
    int err;

    fmt_ts(ts, e->ts, 17);
    if ((size_t)snprintf(dir, sizeof(dir), "%s/%.3s/%.3s/%s/%s/%s/%s_%s_%s_%s_%s_%s_1",
                         w->j->ext_root, p->pid, p->pid + 3, p->pid, e->date, e->typef, p->pid,
                         e->date, e->typef, e->key, ts, e->dept) >= sizeof(dir))
        return mm_error_set(MM_ELIMIT, "path too long");
    if ((err = mm_os_mkdir_p(dir, 0755)) < 0)
        return err;
    mm_buf_init(&out, 64u << 20);
    if (e->kind == E_PDF) {
        const char *lines[32];
        size_t n = 0;
        char *text = mm_strdup(e->text);
        if (!text)
            return MM_ENOMEM;
        for (char *s = text, *nl; s && n < 32; s = nl ? nl + 1 : NULL) {
            nl = strchr(s, '\n');
            if (nl)
                *nl = '\0';
            lines[n++] = s;
        }
        err = gen_pdf(&out, e->title, lines, n);
        if (err == 0 &&
            snprintf(path, sizeof(path), "%s/main_document.pdf", dir) < (int)sizeof(path))
            err = write_file(w, path, out.ptr, out.len, e->ts);
        mm_free(text);
    } else if (e->kind == E_CDA) {
        if (snprintf(path, sizeof(path), "%s/main_document.xml", dir) < (int)sizeof(path))
            err = write_file(w, path, e->text, strlen(e->text), e->ts);
    } else {
        for (int i = 0; i < e->nimages && err == 0; i++) {
            mm_buf_clear(&out);
            err = e->kind == E_XRAY ? gen_jpeg(&out, e->seed + (uint64_t)i, 384, 384, 0)
                                    : gen_jpeg(&out, e->seed + (uint64_t)i, 320, 240, 1);
            if (err == 0 &&
                snprintf(path, sizeof(path), "%s/image_%03d.jpg", dir, i + 1) < (int)sizeof(path))
                err = write_file(w, path, out.ptr, out.len, e->ts);
        }
    }
    mm_buf_release(&out);
    return err;
}

/* ---- truth ---- */

/* Append the elements of the JSON array text @arr (without its brackets). */
static void splice_array(mm_buf *b, const char *arr, int *n)
{
    size_t len = strlen(arr);

    if (len <= 2)
        return;
    if ((*n)++)
        mm_buf_putc(b, ',');
    mm_buf_put(b, arr + 1, len - 2);
}

static const struct msg *latest(const struct patient *p, int tkind)
{
    const struct msg *best = NULL;

    for (size_t i = 0; i < p->nmsgs; i++) {
        const struct msg *m = &p->msgs[i];
        if (m->tkind == tkind && m->flag == 1 && (!best || m->ts > best->ts))
            best = m;
    }
    return best;
}

static int cmp_ts(const void *x, const void *y)
{
    const struct msg *a = *(const struct msg *const *)x, *b = *(const struct msg *const *)y;

    return a->ts < b->ts ? -1 : a->ts > b->ts ? 1 : (a->seq > b->seq) - (a->seq < b->seq);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* "YYYY-MM-DDTHH:MM:SS" of a file time. OUT: out (20 bytes) */
static void iso_time(char *out, int64_t ms)
{
    char t[24];

    fmt_ts(t, ms, 14);
    snprintf(out, 20, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", t, t + 4, t + 6, t + 8, t + 10, t + 12);
}

/*
 * The patient object: the current ADT-00, else the full PID of the newest current message,
 * with the "source" type and "source_time" (the file time) of the message it comes from.
 */
static void t_patient(mm_buf *b, const struct patient *p, const struct msg *const *v)
{
    const struct msg *src = latest(p, TK_DEMO);
    const char *text = src ? src->truth : NULL;
    char when[24];

    for (size_t i = p->nmsgs; !src && i-- > 0;)
        if (v[i]->flag == 1 && v[i]->pid_truth) {
            src = v[i];
            text = src->pid_truth;
        }
    if (!src) {
        mm_buf_puts(b, "null");
        return;
    }
    iso_time(when, src->ts);
    mm_buf_put(b, text, strlen(text) - 1);
    mm_buf_printf(b, ",\"source\":\"%s\",\"source_time\":\"%s\"}", gen_type_names[src->type], when);
}

/*
 * Current allergies as the union over current files: the newest ADT-61, the newest ADT-00,
 * then every other current message newest first, one entry per (type, code); the first file
 * that names an allergen is its source, every later message adds its type to also_in (its
 * own type too, when another message of that type names it).
 */
static void t_allergies(mm_buf *b, const struct patient *p, const struct msg *const *v)
{
    const struct msg *order[4096];
    const struct msg *first[16] = { 0 };
    unsigned also[16] = { 0 }; /* bit: type */
    int8_t sev[16], react[16], seen[16], nseen = 0;
    size_t n = 0;
    const struct msg *a61 = latest(p, TK_ALLERGY), *a00 = latest(p, TK_DEMO);

    if (a61)
        order[n++] = a61;
    if (a00)
        order[n++] = a00;
    for (size_t i = p->nmsgs; i-- > 0 && n < 4096;)
        if (v[i]->flag == 1 && v[i]->nal && v[i] != a61 && v[i] != a00)
            order[n++] = v[i];
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < order[i]->nal; k++) {
            int idx = order[i]->al[k].idx, s;
            for (s = 0; s < nseen && seen[s] != idx; s++)
                ;
            if (s == nseen && nseen < 16) {
                seen[nseen++] = (int8_t)idx;
                first[s] = order[i];
                sev[s] = order[i]->al[k].sev;
                react[s] = (int8_t)order[i]->al[k].reaction;
            } else if (s < nseen && first[s] != order[i]) { /* another message, any type */
                also[s] |= 1u << order[i]->type;
            }
        }
    mm_buf_puts(b, "[");
    for (int s = 0; s < nseen; s++) {
        static const char *const sv[] = { "MI", "MO", "SV" };
        const struct allergen *al = &gen_allergens[seen[s]];
        char when[24];
        iso_time(when, first[s]->ts);
        mm_buf_printf(b, "%s{\"status\":\"current\",\"type\":\"%s\",\"code\":", s ? "," : "",
                      al->type);
        mm_json_str(b, al->code);
        mm_buf_puts(b, ",\"name\":");
        mm_json_str(b, al->name);
        mm_buf_printf(b, ",\"severity\":\"%s\",\"reaction\":", sev[s] >= 0 ? sv[sev[s] % 3] : "");
        mm_json_str(b, react[s] ? al->reaction : "");
        mm_buf_printf(b,
                      ",\"source\":{\"type\":\"%s\",\"file_time\":\"%s\",\"order_no\":\"%s\"}"
                      ",\"also_in\":[",
                      gen_type_names[first[s]->type], when, first[s]->order);
        {
            const char *names[T_NTYPES];
            size_t k = 0;
            for (int t = 0; t < T_NTYPES; t++)
                if (also[s] >> t & 1)
                    names[k++] = gen_type_names[t];
            qsort(names, k, sizeof(names[0]), cmp_str);
            for (size_t j = 0; j < k; j++)
                mm_buf_printf(b, "%s\"%s\"", j ? "," : "", names[j]);
        }
        mm_buf_puts(b, "]}");
    }
    mm_buf_puts(b, "]");
}

static char *patient_truth(const struct patient *p)
{
    mm_buf b;
    const struct msg *dx = latest(p, TK_DIAG);
    const struct msg **v;
    int n;

    v = mm_malloc((p->nmsgs + 1) * sizeof(*v));
    if (!v)
        return NULL;
    for (size_t i = 0; i < p->nmsgs; i++)
        v[i] = &p->msgs[i];
    qsort(v, p->nmsgs, sizeof(*v), cmp_ts);
    mm_buf_init(&b, MM_LIMIT_JSON);
    mm_buf_puts(&b, "{\"patient\":");
    t_patient(&b, p, v);
    mm_buf_puts(&b, ",\"allergies\":");
    t_allergies(&b, p, v);
    if (dx) {
        const char *r = strstr(dx->truth, ",\"resolved\":");
        mm_buf_puts(&b, ",\"diagnoses\":");
        mm_buf_put(&b, dx->truth + 10, (size_t)(r - dx->truth) - 10);
        mm_buf_puts(&b, ",\"resolved_diagnoses\":");
        mm_buf_put(&b, r + 12, strlen(r + 12) - 1);
    } else {
        mm_buf_puts(&b, ",\"diagnoses\":[],\"resolved_diagnoses\":[]");
    }
    static const struct {
        const char *key;
        int kind;
    } lists[] = { { "encounters", TK_ENC }, { "prescriptions", TK_RX }, { "injections", TK_INJ } };
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
        n = 0;
        mm_buf_printf(&b, ",\"%s\":[", lists[l].key);
        for (size_t i = 0; i < p->nmsgs; i++)
            if (v[i]->tkind == lists[l].kind && v[i]->flag == 1)
                mm_buf_printf(&b, "%s%s", n++ ? "," : "", v[i]->truth);
        mm_buf_puts(&b, "]");
    }
    n = 0;
    mm_buf_puts(&b, ",\"labs\":[");
    for (size_t i = 0; i < p->nmsgs; i++)
        if (v[i]->tkind == TK_LAB && v[i]->flag == 1)
            splice_array(&b, v[i]->truth, &n);
    mm_buf_puts(&b, "]");
    n = 0;
    mm_buf_puts(&b, ",\"administrations\":[");
    for (size_t i = 0; i < p->nmsgs; i++)
        if (v[i]->tkind == TK_ADMIN && v[i]->flag == 1)
            splice_array(&b, v[i]->truth, &n);
    mm_buf_puts(&b, "]");
    for (int kind = 0; kind < 2; kind++) {
        n = 0;
        mm_buf_printf(&b, ",\"%s\":[", kind ? "images" : "documents");
        for (size_t i = 0; i < p->nexts; i++) {
            int img = p->exts[i].kind == E_XRAY || p->exts[i].kind == E_ENDO;
            if (img == kind && p->exts[i].truth)
                mm_buf_printf(&b, "%s%s", n++ ? "," : "", p->exts[i].truth);
        }
        mm_buf_puts(&b, "]");
    }
    for (int f = 2; f >= 0; f -= 2) {
        n = 0;
        mm_buf_printf(&b, ",\"%s\":[", f == 2 ? "superseded_orders" : "cancelled_orders");
        for (size_t i = 0; i < p->nmsgs; i++) {
            const struct msg *m = v[i];
            int dup = 0;
            if (m->flag != f || strcmp(m->order, "999999999999999") == 0 ||
                (m->type != T_OMP01 && m->type != T_OMP02 && m->type != T_OML01 &&
                 m->type != T_OMD))
                continue;
            /* a key lists once, as "TYPE/order" */
            for (size_t k = 0; k < i; k++)
                dup |= v[k]->flag == f && v[k]->type == m->type &&
                       strcmp(v[k]->order, m->order) == 0;
            if (!dup)
                mm_buf_printf(&b, "%s\"%s/%s\"", n++ ? "," : "", gen_type_names[m->type], m->order);
        }
        mm_buf_puts(&b, "]");
    }
    mm_buf_puts(&b, "}");
    mm_free(v);
    return mm_buf_detach(&b);
}

/* ---- workers ---- */

static void *work(void *arg)
{
    struct worker *w = arg;
    struct job *j = w->j;
    struct patient *p = mm_malloc(sizeof(*p));

    if (!p) {
        job_fail(j, MM_ENOMEM);
        return NULL;
    }
    for (;;) {
        unsigned idx = atomic_fetch_add(&j->next, 1);
        int err;

        if (idx >= j->patients || atomic_load(&j->failed))
            break;
        err = gen_simulate(p, idx, j->seed, j->start, j->end, j->extended);
        if (err == 0)
            err = apply(w, p);
        for (size_t i = 0; i < p->nexts && err == 0; i++)
            if (p->exts[i].ts >= j->from * MS_PER_DAY)
                err = write_ext(w, p, &p->exts[i]);
        if (err == 0 && p->nmsgs)
            atomic_fetch_add(&j->active, 1);
        atomic_fetch_add(&j->messages, p->nmsgs);
        if (err == 0 && j->truth && p->nmsgs) {
            j->truth[idx] = patient_truth(p);
            if (!j->truth[idx])
                err = mm_error_set(MM_ENOMEM, "out of memory writing the truth");
        }
        gen_patient_release(p);
        if (err) {
            job_fail(j, err);
            break;
        }
        atomic_fetch_add(&j->done, 1);
    }
    mm_free(p);
    return NULL;
}

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int write_truth(const struct job *j, const char *path)
{
    FILE *f = fopen(path, "w");
    char s[12], e[12], red[MM_LOG_PATH_MAX];
    int n = 0;

    if (!f)
        return mm_error_set_errno(MM_EIO, errno, "cannot create '%s'",
                                  mm_log_path(red, sizeof(red), path));
    fmt_date_iso(s, j->start);
    fmt_date_iso(e, j->end - 1);
    fprintf(f,
            "{\"generator\":\"mamori-gen\",\"format\":1,\"seed\":%llu,\"first_day\":\"%s\",\"last_day\":\"%s\",\"patients\":[\n",
            (unsigned long long)j->seed, s, e);
    for (unsigned i = 0; i < j->patients; i++)
        if (j->truth[i])
            fprintf(f, "%s%s", n++ ? ",\n" : "", j->truth[i]);
    fprintf(f, "\n]}\n");
    if (fclose(f) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot write '%s'",
                                  mm_log_path(red, sizeof(red), path));
    return 0;
}

static int run(struct job *j, struct gen_stats *stats)
{
    int nthreads = j->o->threads > 0 ? j->o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    pthread_t th[64];
    struct worker w[64];
    int started = 0, err = 0;
    double t0 = now_s(), last = t0;

    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > 64)
        nthreads = 64;
    if (j->o->truth) {
        j->truth = mm_calloc(j->patients ? j->patients : 1, sizeof(char *));
        if (!j->truth)
            return MM_ENOMEM;
    }
    pthread_mutex_init(&j->err_lock, NULL);
    for (int i = 0; i < nthreads; i++) {
        w[i].j = j;
        mm_buf_init(&w[i].enc, MM_LIMIT_HL7_MESSAGE);
        mm_buf_init(&w[i].path, MM_LIMIT_PATH);
        w[i].last_dir[0] = '\0';
        if (pthread_create(&th[i], NULL, work, &w[i]) != 0) {
            err = mm_error_set(MM_ERROR, "cannot start a thread");
            break;
        }
        started++;
    }
    while (j->o->progress && atomic_load(&j->done) < j->patients && !atomic_load(&j->failed) &&
           started == nthreads) {
        struct timespec ts = { 0, 200 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        double t = now_s();
        if (t - last >= 0.5) {
            unsigned d = atomic_load(&j->done);
            unsigned long long f = atomic_load(&j->files);
            double rate = f / (t - t0);
            double eta = d ? (t - t0) * (j->patients - d) / d : 0;
            fprintf(stderr,
                    "\rmamori-gen: 患者 %u/%u  ファイル %llu  %.0f 件/秒  残り約 %.0f 秒   ", d,
                    j->patients, f, rate, eta);
            last = t;
        }
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (j->o->progress)
        fprintf(stderr, "\r%*s\r", 79, "");
    for (int i = 0; i < nthreads; i++) {
        mm_buf_release(&w[i].enc);
        mm_buf_release(&w[i].path);
    }
    if (!err && j->err)
        err = mm_error_set(j->err, "%s", j->errmsg);
    if (!err && j->truth)
        err = write_truth(j, j->o->truth);
    if (j->truth) {
        for (unsigned i = 0; i < j->patients; i++)
            mm_free(j->truth[i]);
        mm_free(j->truth);
    }
    pthread_mutex_destroy(&j->err_lock);
    if (stats) {
        stats->files = atomic_load(&j->files);
        stats->renames = atomic_load(&j->renames);
        stats->bytes = atomic_load(&j->bytes);
        stats->patients = atomic_load(&j->active);
        stats->messages = atomic_load(&j->messages);
    }
    return err;
}

/* ---- state file ---- */

static int write_state(const struct job *j, const char *out)
{
    char path[MM_LIMIT_PATH], text[512], d[12];

    fmt_date(d, j->start);
    snprintf(text, sizeof(text),
             "mamori-gen 1\nseed=%llu\npatients=%u\nstart=%s\ndays=%lld\nextended=%d\n",
             (unsigned long long)j->seed, j->patients, d, (long long)(j->end - j->start),
             j->extended);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", out, STATE_FILE) >= sizeof(path))
        return mm_error_set(MM_ELIMIT, "path too long");
    return mm_os_write_atomic(path, text, strlen(text));
}

static int read_state(struct job *j, const char *out)
{
    char path[MM_LIMIT_PATH], start[16] = "";
    unsigned long long seed = 0;
    long long days = -1;
    unsigned patients = 0;
    int ext = -1, version = 0;
    FILE *f;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", out, STATE_FILE) >= sizeof(path))
        return mm_error_set(MM_ELIMIT, "path too long");
    f = fopen(path, "r");
    if (!f)
        return mm_error_set(MM_ENOTFOUND, "no generated storage here (missing %s)", STATE_FILE);
    int ok = fscanf(f, "mamori-gen %d\nseed=%llu\npatients=%u\nstart=%15s\ndays=%lld\nextended=%d",
                    &version, &seed, &patients, start, &days, &ext) == 6;
    fclose(f);
    if (!ok || version != 1 || days < 0 || ext < 0 || parse_yyyymmdd(start, &j->start) != 0)
        return mm_error_set(MM_ECORRUPT, "'%s' is damaged", STATE_FILE);
    j->seed = seed;
    j->patients = patients;
    j->from = j->end = j->start + days;
    j->extended = ext;
    return 0;
}

static int set_roots(struct job *j, const char *out)
{
    if ((size_t)snprintf(j->std_root, sizeof(j->std_root), "%s/standard", out) >=
                sizeof(j->std_root) ||
        (size_t)snprintf(j->ext_root, sizeof(j->ext_root), "%s/extended", out) >=
                sizeof(j->ext_root))
        return mm_error_set(MM_ELIMIT, "output path too long");
    return 0;
}

int gen_create(const struct gen_opts *o, struct gen_stats *stats)
{
    struct job *j;
    char path[MM_LIMIT_PATH];
    struct stat st;
    int err;

    if (!o->out || o->patients == 0 || o->days == 0)
        return mm_error_set(MM_EINVAL,
                            "--out, --patients and --days are required and must be positive");
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", o->out, STATE_FILE) >= sizeof(path))
        return mm_error_set(MM_ELIMIT, "path too long");
    if (stat(path, &st) == 0)
        return mm_error_set(MM_EEXISTS, "a generated storage exists here already; use 'advance'");
    j = mm_calloc(1, sizeof(*j));
    if (!j)
        return MM_ENOMEM;
    j->o = o;
    j->seed = o->seed;
    j->patients = o->patients;
    j->start = o->start;
    j->from = o->start;
    j->end = o->start + o->days;
    j->extended = o->extended;
    if ((err = set_roots(j, o->out)) == 0 && (err = mm_os_mkdir_p(j->std_root, 0755)) == 0 &&
        (!j->extended || (err = mm_os_mkdir_p(j->ext_root, 0755)) == 0) &&
        (err = run(j, stats)) == 0)
        err = write_state(j, o->out);
    mm_free(j);
    return err;
}

int gen_advance(const struct gen_opts *o, struct gen_stats *stats)
{
    struct job *j;
    int err;

    if (!o->out || o->days == 0)
        return mm_error_set(MM_EINVAL, "--out and a positive --days are required");
    j = mm_calloc(1, sizeof(*j));
    if (!j)
        return MM_ENOMEM;
    j->o = o;
    if ((err = read_state(j, o->out)) == 0 && (err = set_roots(j, o->out)) == 0) {
        j->end = j->from + o->days;
        if ((err = run(j, stats)) == 0)
            err = write_state(j, o->out);
    }
    mm_free(j);
    return err;
}
