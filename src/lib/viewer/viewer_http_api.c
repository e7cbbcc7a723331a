/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The viewer's API answers (viewer_http_int.h): the generations and their patient indexes,
 * decrypted block by block into a slot when first asked for (LOADED at once, the least
 * recently used evicted), each read by up to POOL read-only connections; and the answers of
 * /api/generations, /api/search, /api/patient, /api/recovery, /api/wards and /api/file, each
 * taking a connection of the generation it names and giving it back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "crypto/crypto.h"
#include "os/os.h"
#include "viewer/viewer.h"
#include "viewer/viewer_http_int.h"
#include "viewer/viewer_int.h"

/* ---- generations and indexes ----------------------------------------------------------------- */

int mm_viewer_gen_spec_ok(const char *spec)
{
    size_t n = strlen(spec);

    if (n < 8 || n >= MM_CRYPTO_HEX_SIZE)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (mm_viewer__hexval(spec[i]) < 0)
            return 0;
    return 1;
}

/* The generation named by @spec ("" or NULL: the default), or NULL. Holds v->lock. */
static const struct mm_repo_gen *gen_pick(const mm_viewer *v, const char *spec)
{
    const struct mm_repo_gen *hit = NULL;
    size_t n;

    if (!spec || !*spec)
        spec = v->def;
    if (!mm_viewer_gen_spec_ok(spec))
        return NULL;
    n = strlen(spec);
    for (size_t i = 0; i < v->ngens; i++) {
        if (strncmp(v->gens[i].id, spec, n) != 0)
            continue;
        if (hit)
            return NULL; /* ambiguous */
        hit = &v->gens[i];
    }
    return hit;
}

/* Read the generation list and choose the default. Holds v->lock and the open repository. */
int mm_viewer__gens_load(mm_viewer *v)
{
    struct mm_repo_gen *g = NULL;
    size_t n = 0;
    int err;

    pthread_mutex_lock(&v->repo_lock);
    err = mm_repo_generations(v->repo, &g, &n);
    pthread_mutex_unlock(&v->repo_lock);
    if (err < 0)
        return err;
    mm_repo_gens_free(v->gens, v->ngens);
    v->gens = g;
    v->ngens = n;
    v->def[0] = '\0';
    v->spec_missing = 0;
    if (v->gen_spec && strcmp(v->gen_spec, "latest") != 0) {
        const struct mm_repo_gen *p = gen_pick(v, v->gen_spec);
        if (p && p->has_index)
            memcpy(v->def, p->id, sizeof(v->def));
        else
            v->spec_missing = 1;
    }
    /* the newest good generation (never a suspect one not accepted); when every one with an
     * index is suspect, the newest of them, and the page says that no good one is left */
    v->no_good = 0;
    for (size_t i = n; i-- > 0 && !v->def[0];)
        if (g[i].has_index && mm_repo_gen_good(&g[i]))
            memcpy(v->def, g[i].id, sizeof(v->def));
    for (size_t i = n; i-- > 0 && !v->def[0];)
        if (g[i].has_index) {
            memcpy(v->def, g[i].id, sizeof(v->def));
            v->no_good = 1;
        }
    return 0;
}

/* A read-only connection to an index, held by one request: ix_acquire() to ix_release(). */
struct ixuse {
    mm_index *ix;
    int slot, k;
    char gid[MM_CRYPTO_HEX_SIZE]; /* the generation's full ID, copied while the slot is held
                                     (released, the slot may serve another generation) */
    int64_t gen_ns;               /* when the generation was written (its end, UTC) */
};

/*
 * Get a read-only connection to the index of generation @gen ("" or NULL: the default),
 * opening it when it is not open. Release with ix_release(). OUT: *u
 * @return 0 or an mm_err
 */
static int ix_acquire(mm_viewer *v, const char *gen, struct ixuse *u)
{
    const struct mm_repo_gen *g;
    struct slot *s = NULL;
    int err = 0;

    pthread_mutex_lock(&v->lock);
    if (!(g = gen_pick(v, gen))) {
        err = mm_error_set(MM_ENOTFOUND, "no such generation");
        goto out;
    }
    if (!g->has_index) {
        err = mm_error_set(MM_ENOTFOUND, "generation has no patient index");
        goto out;
    }
    for (;;) {
        struct slot *victim = NULL;
        s = NULL;
        for (int i = 0; i < LOADED; i++)
            if (strcmp(v->slots[i].id, g->id) == 0)
                s = &v->slots[i];
        if (s)
            break;
        for (int i = 0; i < LOADED; i++) {
            struct slot *t = &v->slots[i];
            if (t->refs == 0 && (!victim || !t->id[0] || (victim->id[0] && t->used < victim->used)))
                victim = t;
        }
        if (!victim) {
            pthread_cond_wait(&v->cond, &v->lock);
            continue;
        }
        mm_viewer__slot_clear(victim);
        pthread_mutex_lock(&v->repo_lock);
        err = mm_repo_pages_open(v->repo, g, CACHE_BYTES, &victim->pages);
        pthread_mutex_unlock(&v->repo_lock);
        if (err < 0)
            goto out;
        memcpy(victim->id, g->id, sizeof(victim->id));
        s = victim;
        break;
    }
    for (;;) {
        int free_k = -1;
        for (int i = 0; i < POOL && free_k < 0; i++)
            if (!s->busy[i] && s->conn[i])
                free_k = i;
        for (int i = 0; i < POOL && free_k < 0; i++)
            if (!s->conn[i]) {
                if ((err = mm_index_open_pages(&s->conn[i], mm_repo_pages_read, s->pages,
                                               mm_repo_pages_size(s->pages))) < 0)
                    goto out;
                free_k = i;
            }
        if (free_k >= 0) {
            s->busy[free_k] = 1;
            s->refs++;
            s->used = mm_viewer__now_ms();
            u->ix = s->conn[free_k];
            u->slot = (int)(s - v->slots);
            u->k = free_k;
            memcpy(u->gid, s->id, sizeof(u->gid));
            u->gen_ns = g->end_ns;
            break;
        }
        pthread_cond_wait(&v->cond, &v->lock);
    }
out:
    pthread_mutex_unlock(&v->lock);
    return err;
}

static void ix_release(mm_viewer *v, const struct ixuse *u)
{
    pthread_mutex_lock(&v->lock);
    v->slots[u->slot].busy[u->k] = 0;
    v->slots[u->slot].refs--;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
}

/* ---- API ----------------------------------------------------------------------------------- */

void mm_viewer_local_time(int64_t ns, char out[48])
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    long gmtoff;
    unsigned int off;

    if (mm_os_localtime(t, &tm, &gmtoff) < 0) {
        out[0] = '\0';
        return;
    }
    off = (unsigned int)(labs(gmtoff) / 60) % (100 * 60);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d%c%02u:%02u", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, gmtoff < 0 ? '-' : '+', off / 60, off % 60);
}

/*
 * ,"attention":[names],"patients":N|null of a generation's patient-index check (backup's
 * mark: written, but needs attention; see docs/operations.md, exit status 4).
 */
static int attention_json(mm_buf *b, const struct mm_repo_index_check *k)
{
    static const char *const names[] = { "no_index", "few_patients", "not_indexed" };
    int err = mm_buf_puts(b, ",\"attention\":["), first = 1;

    for (unsigned i = 0; i < 32 && err == 0; i++) {
        if (!(k->attention & (1u << i)))
            continue;
        if (i < sizeof(names) / sizeof(*names))
            err = mm_buf_printf(b, "%s\"%s\"", first ? "" : ",", names[i]);
        else
            err = mm_buf_printf(b, "%s\"other-%u\"", first ? "" : ",", i);
        first = 0;
    }
    if (err == 0 && k->present)
        err = mm_buf_printf(b, "],\"patients\":%llu,\"parent_patients\":%llu",
                            (unsigned long long)k->patients,
                            (unsigned long long)k->parent_patients);
    else if (err == 0)
        err = mm_buf_puts(b, "],\"patients\":null,\"parent_patients\":null");
    return err;
}

enum MHD_Result mm_viewer__api_generations(mm_viewer *v, struct MHD_Connection *c)
{
    mm_buf b;
    enum MHD_Result ok;
    int err;

    mm_buf_init(&b, MM_LIMIT_JSON);
    pthread_mutex_lock(&v->lock);
    err = mm_buf_puts(&b, "{\"generations\":[");
    for (size_t i = v->ngens; i-- > 0 && err == 0;) {
        const struct mm_repo_gen *g = &v->gens[i];
        char when[48];
        mm_viewer_local_time(g->end_ns, when);
        err = mm_buf_puts(&b, i + 1 < v->ngens ? ",{" : "{");
        if (err == 0)
            err = mm_json_kv(&b, 1, "id", g->id);
        if (err == 0)
            err = mm_buf_printf(&b, ",\"short\":\"%.12s\",\"name\":", g->id);
        if (err == 0)
            err = g->name ? mm_json_str(&b, g->name) : mm_buf_puts(&b, "null");
        if (err == 0)
            err = mm_json_kv(&b, 0, "time", when);
        if (err == 0)
            err = mm_json_kv(&b, 0, "guard", g->guard ? g->guard : "none");
        if (err == 0)
            err = mm_viewer__guard_json(&b, g);
        if (err == 0)
            err = attention_json(&b, &g->check);
        if (err == 0)
            err = mm_buf_printf(&b, ",\"latest\":%s,\"has_index\":%s}",
                                i + 1 == v->ngens ? "true" : "false",
                                g->has_index ? "true" : "false");
    }
    if (err == 0)
        err = mm_buf_puts(&b, "],\"default\":");
    if (err == 0)
        err = v->def[0] ? mm_json_str(&b, v->def) : mm_buf_puts(&b, "null");
    if (err == 0 && v->no_good)
        err = mm_buf_puts(&b, ",\"no_good\":true");
    if (err == 0 && v->spec_missing)
        err = mm_buf_puts(&b, ",\"notice\":\"requested_generation_not_found\"");
    if (err == 0)
        err = mm_buf_putc(&b, '}');
    pthread_mutex_unlock(&v->lock);
    ok = err < 0 ? mm_viewer__send_lib_error(c, err)
                 : mm_viewer__send_json(c, MHD_HTTP_OK, &b, NULL);
    mm_buf_release(&b);
    return ok;
}

/* A query argument of at most @max bytes: NULL when absent; *bad when too long. */
static const char *arg(struct MHD_Connection *c, const char *key, size_t max, int *bad)
{
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);

    if (s && strlen(s) > max)
        *bad = 1;
    return s;
}

/*
 * Start a request on an index: its argument @key (required, at most @max bytes) and "gen"
 * (optional) read, and a connection taken to that generation's index (ix_release() it).
 * @return the argument, or NULL when the answer is already given in *ok (400 with @bad_code,
 *         or the library error's)
 */
static const char *ix_begin(mm_viewer *v, struct MHD_Connection *c, const char *key, size_t max,
                            const char *bad_code, struct ixuse *u, enum MHD_Result *ok)
{
    int bad = 0, err;
    const char *val = arg(c, key, max, &bad), *gen = arg(c, "gen", 64, &bad);

    if (bad || !val || !*val) {
        *ok = mm_viewer__send_error(c, MHD_HTTP_BAD_REQUEST, bad_code);
        return NULL;
    }
    if ((err = ix_acquire(v, gen, u)) < 0) {
        *ok = mm_viewer__send_lib_error(c, err);
        return NULL;
    }
    return val;
}

/* Start the JSON object of an answer about generation @gid: `{"generation":"<gid>"`. */
static int json_open_generation(mm_buf *b, const char *gid)
{
    int err = mm_buf_puts(b, "{\"generation\":");

    return err < 0 ? err : mm_json_str(b, gid);
}

/*
 * Answer a request for patient data built in @b (@err: how building it went). On success
 * each of the @n patients shown, their IDs NUL-terminated one after another from @pids, is
 * recorded as shown to @user in generation @gid, and @b is sent; else the library error's
 * answer. @b is wiped either way; the caller releases it.
 */
static enum MHD_Result send_patients(mm_viewer *v, struct MHD_Connection *c, int err,
                                     const char *user, const char *gid, const char *pids, size_t n,
                                     mm_buf *b)
{
    enum MHD_Result ok;

    if (err == 0) {
        for (size_t i = 0; i < n; i++, pids += strlen(pids) + 1) {
            struct mm_viewer_event ev = {
                .kind = MM_VIEWER_PATIENT, .user = user, .generation = gid, .patient = pids
            };
            mm_viewer__emit(v, &ev, 1);
        }
        ok = mm_viewer__send_json(c, MHD_HTTP_OK, b, NULL);
    } else {
        ok = mm_viewer__send_lib_error(c, err);
    }
    mm_crypto_wipe(b->ptr, b->len);
    return ok;
}

enum MHD_Result mm_viewer__api_search(mm_viewer *v, struct MHD_Connection *c)
{
    struct mm_index_results res = { 0 };
    struct ixuse u;
    const char *q;
    mm_buf b;
    enum MHD_Result ok;
    int err;

    if (!(q = ix_begin(v, c, "q", MM_INDEX_QUERY_MAX, "bad_query", &u, &ok)))
        return ok;
    err = mm_index_find(u.ix, q, RESULTS_MAX, NULL, &res);
    ix_release(v, &u);
    if (err == MM_EINVAL || err == MM_ELIMIT) {
        mm_error_clear();
        return mm_viewer__send_error(c, MHD_HTTP_BAD_REQUEST, "bad_query");
    }
    if (err < 0)
        return mm_viewer__send_lib_error(c, err);
    mm_buf_init(&b, MM_LIMIT_JSON);
    err = json_open_generation(&b, u.gid);
    if (err == 0)
        err = mm_buf_putc(&b, ',');
    if (err == 0)
        err = mm_index_results_json(&res, &b);
    if (err == 0)
        err = mm_buf_putc(&b, '}');
    mm_index_results_release(&res);
    ok = err < 0 ? mm_viewer__send_lib_error(c, err)
                 : mm_viewer__send_json(c, MHD_HTTP_OK, &b, NULL);
    mm_crypto_wipe(b.ptr, b.len);
    mm_buf_release(&b);
    return ok;
}

enum MHD_Result mm_viewer__api_patient(mm_viewer *v, struct MHD_Connection *c, const char *user)
{
    struct ixuse u;
    const char *id, *asked;
    char as_of[48];
    mm_buf b;
    enum MHD_Result ok;
    int err, bad = 0;

    /* ?as_of=YYYY-MM-DDTHH:MM, else the generation's local time to the minute */
    asked = arg(c, "as_of", 16, &bad);
    if (bad || (asked && mm_viewer_as_of_check(asked) < 0)) {
        mm_error_clear();
        return mm_viewer__send_error(c, MHD_HTTP_BAD_REQUEST, "bad_as_of");
    }
    if (!(id = ix_begin(v, c, "id", MM_LIMIT_PATIENT_ID, "bad_request", &u, &ok)))
        return ok;
    if (asked) {
        memcpy(as_of, asked, 17);
    } else {
        mm_viewer_local_time(u.gen_ns, as_of);
        as_of[strlen(as_of) >= 16 ? 16 : 0] = '\0';
    }
    mm_buf_init(&b, MM_LIMIT_JSON);
    err = mm_viewer_patient_json(u.ix, u.gid, as_of[0] ? as_of : NULL, id, &b);
    ix_release(v, &u);
    ok = send_patients(v, c, err, user, u.gid, id, 1, &b);
    mm_buf_release(&b);
    return ok;
}

/* The other generations of a recovery answer, opened through the viewer's loaded indexes. */
struct recovery_src {
    mm_viewer *v;
    const char *gid; /* the record's own generation */
    char ids[MM_VIEWER_RECOVERY_GENS][MM_CRYPTO_HEX_SIZE], when[MM_VIEWER_RECOVERY_GENS][48];
    size_t n, listed;  /* candidates; listed: the list has been taken */
    struct ixuse *own; /* the record's own index while held */
    struct ixuse w;
};

static int recovery_open(void *arg, size_t i, struct mm_viewer_recovery_gen *g, mm_index **ix)
{
    struct recovery_src *s = arg;
    mm_viewer *v = s->v;
    int err;

    if (s->own) { /* let the record's own index go first: indexes open at once are few */
        ix_release(v, s->own);
        s->own = NULL;
    }
    if (!s->listed) { /* the newest generations with an index, the record's own left out */
        pthread_mutex_lock(&v->lock);
        for (size_t k = v->ngens; k-- > 0 && s->n < MM_VIEWER_RECOVERY_GENS;) {
            if (!v->gens[k].has_index || strcmp(v->gens[k].id, s->gid) == 0)
                continue;
            memcpy(s->ids[s->n], v->gens[k].id, sizeof(s->ids[s->n]));
            mm_viewer_local_time(v->gens[k].end_ns, s->when[s->n]);
            s->n++;
        }
        pthread_mutex_unlock(&v->lock);
        s->listed = 1;
    }
    if (i >= s->n)
        return MM_ENOTFOUND;
    if ((err = ix_acquire(v, s->ids[i], &s->w)) < 0)
        return err;
    memcpy(g->id, s->ids[i], sizeof(g->id));
    memcpy(g->time, s->when[i], sizeof(g->time));
    *ix = s->w.ix;
    return 0;
}

static void recovery_close(void *arg, mm_index *ix)
{
    struct recovery_src *s = arg;

    (void)ix;
    ix_release(s->v, &s->w);
}

/*
 * /api/recovery?id=&gen=: for each data type whose files failed to read in patient @id's
 * record of generation @gen, the newest other generation (of the MM_VIEWER_RECOVERY_GENS
 * newest with an index) that holds the patient readable there (mm_viewer_recovery), or null.
 * Only asked for when a record has failures, so the extra indexes opened cost nothing
 * otherwise.
 */
enum MHD_Result mm_viewer__api_recovery(mm_viewer *v, struct MHD_Connection *c)
{
    struct recovery_src *s;
    struct mm_viewer_recovery *r;
    struct mm_viewer_recovery_src src;
    struct ixuse u;
    const char *id;
    mm_buf b;
    enum MHD_Result ok;
    int err;

    if (!(id = ix_begin(v, c, "id", MM_LIMIT_PATIENT_ID, "bad_request", &u, &ok)))
        return ok;
    s = mm_calloc(1, sizeof(*s));
    r = mm_malloc(sizeof(*r));
    if (!s || !r) {
        ix_release(v, &u);
        mm_free(s);
        mm_free(r);
        return mm_viewer__send_lib_error(c, MM_ENOMEM);
    }
    s->v = v;
    s->gid = u.gid;
    src.open = recovery_open;
    src.close = recovery_close;
    src.arg = s;
    s->own = &u;
    err = mm_viewer_recovery(u.ix, id, &src, r);
    if (s->own)
        ix_release(v, &u);
    mm_buf_init(&b, MM_LIMIT_JSON);
    if (err == 0)
        err = json_open_generation(&b, u.gid);
    if (err == 0)
        err = mm_buf_putc(&b, ',');
    if (err == 0)
        err = mm_viewer_recovery_json(r, &b);
    if (err == 0)
        err = mm_buf_putc(&b, '}');
    ok = err < 0 ? mm_viewer__send_lib_error(c, err)
                 : mm_viewer__send_json(c, MHD_HTTP_OK, &b, NULL);
    mm_buf_release(&b);
    mm_free(s);
    mm_free(r);
    return ok;
}

/*
 * The ward screen: the wards with current inpatients, or (?ward=) that ward's inpatients,
 * each of whom is recorded as shown, as `mamori print --ward` records each patient printed.
 */
enum MHD_Result mm_viewer__api_wards(mm_viewer *v, struct MHD_Connection *c, const char *user)
{
    struct ixuse u;
    const char *ward, *gen;
    mm_buf b, ids;
    enum MHD_Result ok;
    size_t n = 0;
    int bad = 0, err;

    ward = arg(c, "ward", 64, &bad);
    gen = arg(c, "gen", 64, &bad);
    if (bad || (ward && !*ward))
        return mm_viewer__send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request");
    if ((err = ix_acquire(v, gen, &u)) < 0)
        return mm_viewer__send_lib_error(c, err);
    mm_buf_init(&b, MM_LIMIT_JSON);
    mm_buf_init(&ids, MM_LIMIT_JSON);
    err = json_open_generation(&b, u.gid);
    if (err == 0)
        err = mm_buf_puts(&b, ",\"list\":");
    if (err == 0)
        err = mm_viewer_wards_json(u.ix, ward, &b, &ids, &n);
    if (err == 0)
        err = mm_buf_putc(&b, '}');
    ix_release(v, &u);
    /* the list of wards names no patient: only a ward's list is recorded */
    ok = send_patients(v, c, err, user, u.gid, (const char *)ids.ptr, ward ? n : 0, &b);
    mm_crypto_wipe(ids.ptr, ids.len);
    mm_buf_release(&ids);
    mm_buf_release(&b);
    return ok;
}

/* The Content-Type of a stored document by its name's extension. */
static const char *file_type(const char *path, int *inline_ok)
{
    static const char *const map[][2] = {
        { ".pdf", "application/pdf" },
        { ".jpg", "image/jpeg" },
        { ".jpeg", "image/jpeg" },
        { ".png", "image/png" },
        { ".gif", "image/gif" },
        { ".txt", "text/plain; charset=utf-8" },
        { ".xml", "text/plain; charset=utf-8" }, /* shown as text, never run as markup */
        { ".csv", "text/plain; charset=utf-8" },
    };
    const char *dot = strrchr(path, '.');

    *inline_ok = 1;
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (strcasecmp(dot, map[i][0]) == 0)
                return map[i][1];
    *inline_ok = 0;
    return "application/octet-stream";
}

enum MHD_Result mm_viewer__api_file(mm_viewer *v, struct MHD_Connection *c)
{
    int bad = 0, err, inline_ok;
    const char *path = arg(c, "path", MM_LIMIT_PATH - 256, &bad), *id;
    const struct mm_repo_gen *g;
    struct mm_repo_gen gc;
    char full[MM_LIMIT_PATH];
    const char *type;
    struct MHD_Response *r;
    struct ixuse u;
    mm_buf b;
    enum MHD_Result ok;

    if (bad || !path || !*path)
        return mm_viewer__send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request");
    if (!(id = ix_begin(v, c, "id", MM_LIMIT_PATIENT_ID, "bad_request", &u, &ok)))
        return ok;
    err = mm_viewer__file_allowed(u.ix, id, path);
    ix_release(v, &u);
    if (err < 0)
        return mm_viewer__send_lib_error(c, err);
    /* the extended storage of that generation holds the document */
    full[0] = '\0';
    memset(&gc, 0, sizeof(gc)); /* what reading a file needs of it: ID and root tree */
    pthread_mutex_lock(&v->lock);
    if ((g = gen_pick(v, u.gid))) { /* the generation whose index allowed the path */
        memcpy(gc.id, g->id, sizeof(gc.id));
        memcpy(gc.root, g->root, sizeof(gc.root));
        for (size_t i = 0; i < g->nstorages && !full[0]; i++) /* found below a source */
            if (g->storages[i].kind == MM_REPO_SOURCE_SSMIX2_EXT && g->storages[i].indexed)
                snprintf(full, sizeof(full), "%s/%s", g->storages[i].path, path);
        for (size_t i = 0; i < g->nsources && !full[0]; i++)
            if (g->sources[i].kind == MM_REPO_SOURCE_SSMIX2_EXT)
                snprintf(full, sizeof(full), "%s/%s", g->sources[i].name, path);
    }
    pthread_mutex_unlock(&v->lock);
    if (!full[0])
        return mm_viewer__send_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    mm_buf_init(&b, MM_VIEWER_FILE_MAX);
    pthread_mutex_lock(&v->repo_lock); /* never while holding v->lock: see ix_acquire */
    err = mm_repo_read_file(v->repo, &gc, full, MM_VIEWER_FILE_MAX, &b);
    pthread_mutex_unlock(&v->repo_lock);
    if (err < 0) {
        mm_buf_release(&b);
        return mm_viewer__send_lib_error(c, err);
    }
    type = file_type(path, &inline_ok);
    if (!(r = MHD_create_response_from_buffer(b.len, b.ptr, MHD_RESPMEM_MUST_COPY))) {
        mm_crypto_wipe(b.ptr, b.len);
        mm_buf_release(&b);
        return MHD_NO;
    }
    mm_crypto_wipe(b.ptr, b.len);
    mm_buf_release(&b);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    /* a stored file runs nothing; PDFs are shown by the browser's viewer, which a sandboxed
     * frame would block, so only they go without the sandbox */
    MHD_add_response_header(
            r, "Content-Security-Policy",
            strcmp(type, "application/pdf") == 0
                    ? "default-src 'none'; frame-ancestors 'self'"
                    : "default-src 'none'; img-src 'self'; style-src 'unsafe-inline';"
                      " frame-ancestors 'self'; sandbox");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store, max-age=0");
    MHD_add_response_header(r, MHD_HTTP_HEADER_PRAGMA, "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "SAMEORIGIN");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(r, "Content-Disposition", inline_ok ? "inline" : "attachment");
    ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}
