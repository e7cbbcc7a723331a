/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The viewer's HTTP side: a libmicrohttpd daemon bound to 127.0.0.1 with a thread per
 * connection (a slow login never holds up a patient page), the routes, sessions, the login
 * throttle, and the generations whose patient index is decrypted in memory.
 *
 * Invariants: the repository is open (keys in memory) only while a session lives or a
 * request that passed the session check is in flight (v->inflight); the housekeeping thread
 * ends idle sessions and, when none is left, wipes every loaded index and drops the keys.
 * A loaded index is read in place by up to POOL read-only connections; a connection is
 * used by one request at a time. Every answer carries a strict Content-Security-Policy
 * and "Cache-Control: no-store"; requests naming another host (DNS rebinding) are refused.
 * Workload: one clinician's browser, or a ward's worth of them (tens of connections).
 */
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "crypto/crypto.h"
#include "viewer/viewer.h"
#include "viewer/viewer_int.h"

#define POOL         8                 /* read-only connections per loaded index */
#define LOADED       3                 /* generations whose index is open at once */
#define CACHE_BYTES  (64u << 20)       /* decrypted index blocks kept per generation */
#define SESSIONS     64                /* live sessions */
#define TOKEN_SIZE   MM_CRYPTO_ID_SIZE /* random bytes of a session token (64 hex digits) */
#define BODY_MAX     4096              /* bytes of a POST body */
#define PASS_MAX     1024              /* bytes of a passphrase */
#define USER_MAX     64                /* bytes of a key slot name */
#define FAILS_LOCK   10                /* consecutive wrong passphrases before logins pause */
#define LOCK_SECONDS 60                /* how long they pause */
#define DELAY_MAX    30                /* seconds a wrong passphrase is answered late, at most */
#define RESULTS_MAX  200               /* patients one search answers */
#define HOUSEKEEPING 2                 /* seconds between checks for idle sessions */
#define EVQ_MAX      4096 /* events waiting for the audit writer (requests wait when full) */
#define EVQ_BATCH    256  /* events handed over at once */

#define CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:;" \
    " connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none';"           \
    " form-action 'self'; frame-ancestors 'self'"

struct slot {
    char id[MM_CRYPTO_HEX_SIZE]; /* "" when free */
    mm_repo_pages *pages;        /* its index, decrypted block by block on demand */
    mm_index *conn[POOL];
    int busy[POOL];
    unsigned int refs;
    uint64_t used; /* monotonic ms of the last use, for eviction */
};

struct session {
    unsigned char token[TOKEN_SIZE];
    char user[USER_MAX + 1];
    uint64_t used; /* monotonic ms */
    int live;
};

/* An event waiting for the audit writer: a copy that outlives the request. */
struct qev {
    struct mm_viewer_event ev; /* its strings point into the fields below */
    char user[USER_MAX + 1], gen[MM_CRYPTO_HEX_SIZE], patient[MM_LIMIT_PATIENT_ID + 1];
    char reason[16];
    int keyed; /* written with the keys (not a failed login): holds v->inflight */
};

struct mm_viewer {
    struct MHD_Daemon *d;
    unsigned int port;
    char *repo_path, *gen_spec;
    uint64_t idle_ms;
    uint64_t delay_ms; /* first wrong passphrase's delay */
    mm_viewer_event_fn event;
    void *event_ctx;

    pthread_mutex_t lock; /* everything below */
    pthread_cond_t cond;  /* a connection or slot freed; stop */
    mm_repo *repo;
    struct mm_repo_gen *gens; /* oldest first */
    size_t ngens;
    char def[MM_CRYPTO_HEX_SIZE]; /* generation shown by default */
    int spec_missing;             /* --generation named none of them */
    struct slot slots[LOADED];
    struct session sessions[SESSIONS];
    unsigned int inflight; /* requests past the session check */
    int stop;
    pthread_t keeper;
    int keeper_started;

    pthread_mutex_t repo_lock;  /* reads of the repository */
    pthread_mutex_t login_lock; /* one login at a time */
    unsigned int fails;         /* consecutive wrong passphrases */
    uint64_t paused_until;      /* monotonic ms */
    pthread_mutex_t evq_lock;   /* the event queue: a ring of EVQ_MAX */
    pthread_cond_t evq_more, evq_room;
    struct qev *evq;
    size_t evq_head, evq_n;
    int evq_stop;
    pthread_t writer;
    int writer_started;
};

/* What one request carries between the calls of the access handler. */
struct req {
    mm_buf body;
    int too_big;
};

/* Milliseconds of the monotonic clock. */
static uint64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/*
 * Queue @ev for the audit writer (waiting while the queue is full). @keyed: written with the
 * keys; the repository stays open (v->inflight) until it is.
 */
static void emit(mm_viewer *v, const struct mm_viewer_event *ev, int keyed)
{
    struct timespec ts;
    struct tm tm;
    struct qev *q;
    time_t t;

    if (!v->event)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    t = ts.tv_sec;
    if (keyed) {
        pthread_mutex_lock(&v->lock);
        v->inflight++;
        pthread_mutex_unlock(&v->lock);
    }
    pthread_mutex_lock(&v->evq_lock);
    while (v->evq_n == EVQ_MAX)
        pthread_cond_wait(&v->evq_room, &v->evq_lock);
    q = &v->evq[(v->evq_head + v->evq_n) % EVQ_MAX];
    memset(q, 0, sizeof(*q));
    q->ev.kind = ev->kind;
    q->ev.time_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    q->ev.utc_offset_s = localtime_r(&t, &tm) ? (int32_t)tm.tm_gmtoff : 0;
    q->keyed = keyed;
    if (ev->user) {
        snprintf(q->user, sizeof(q->user), "%s", ev->user);
        q->ev.user = q->user;
    }
    if (ev->generation) {
        snprintf(q->gen, sizeof(q->gen), "%s", ev->generation);
        q->ev.generation = q->gen;
    }
    if (ev->patient) {
        snprintf(q->patient, sizeof(q->patient), "%s", ev->patient);
        q->ev.patient = q->patient;
    }
    if (ev->reason) {
        snprintf(q->reason, sizeof(q->reason), "%s", ev->reason);
        q->ev.reason = q->reason;
    }
    v->evq_n++;
    pthread_cond_signal(&v->evq_more);
    pthread_mutex_unlock(&v->evq_lock);
}

/* The audit writer: hands the queued events over in batches, until stopped and drained. */
static void *writer_main(void *arg)
{
    mm_viewer *v = arg;
    struct mm_viewer_event batch[EVQ_BATCH];

    pthread_mutex_lock(&v->evq_lock);
    for (;;) {
        size_t n = 0;
        int keyed;
        while (v->evq_n == 0 && !v->evq_stop)
            pthread_cond_wait(&v->evq_more, &v->evq_lock);
        if (v->evq_n == 0)
            break;
        /* a run of events written the same way, oldest first; the ring keeps them meanwhile
         * (emit only adds behind them) */
        keyed = v->evq[v->evq_head].keyed;
        while (n < v->evq_n && n < EVQ_BATCH &&
               v->evq[(v->evq_head + n) % EVQ_MAX].keyed == keyed) {
            batch[n] = v->evq[(v->evq_head + n) % EVQ_MAX].ev;
            n++;
        }
        pthread_mutex_unlock(&v->evq_lock);
        v->event(batch, n, keyed ? v->repo : NULL, v->event_ctx);
        if (keyed) {
            pthread_mutex_lock(&v->lock);
            v->inflight -= (unsigned int)n;
            pthread_cond_broadcast(&v->cond);
            pthread_mutex_unlock(&v->lock);
        }
        pthread_mutex_lock(&v->evq_lock);
        for (size_t i = 0; i < n; i++)
            mm_crypto_wipe(&v->evq[(v->evq_head + i) % EVQ_MAX], sizeof(struct qev));
        v->evq_head = (v->evq_head + n) % EVQ_MAX;
        v->evq_n -= n;
        pthread_cond_broadcast(&v->evq_room);
    }
    pthread_mutex_unlock(&v->evq_lock);
    mm_crypto_wipe(batch, sizeof(batch));
    return NULL;
}

/* ---- responses ----------------------------------------------------------------------------- */

static enum MHD_Result send_bytes(struct MHD_Connection *c, unsigned int status, const char *type,
                                  const void *p, size_t n, enum MHD_ResponseMemoryMode mode,
                                  const char *cookie)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)(uintptr_t)p, mode);
    enum MHD_Result ok;

    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store, max-age=0");
    MHD_add_response_header(r, MHD_HTTP_HEADER_PRAGMA, "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "SAMEORIGIN");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    if (cookie)
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
    ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned int status, const mm_buf *b,
                                 const char *cookie)
{
    return send_bytes(c, status, "application/json; charset=utf-8", b->ptr, b->len,
                      MHD_RESPMEM_MUST_COPY, cookie);
}

/* {"error": @code} with @status. */
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned int status, const char *code)
{
    char body[128];
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", code);

    return send_bytes(c, status, "application/json; charset=utf-8", body, (size_t)n,
                      MHD_RESPMEM_MUST_COPY, NULL);
}

/* The HTTP answer for a library error of a data request. */
static enum MHD_Result send_lib_error(struct MHD_Connection *c, int err)
{
    mm_error_clear();
    switch (err) {
    case MM_ENOTFOUND:
        return send_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    case MM_EINVAL:
    case MM_ELIMIT:
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request");
    case MM_ENOMEM:
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory");
    case MM_ECORRUPT:
    case MM_EAUTH:
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "damaged");
    default:
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "repository");
    }
}

/* ---- sessions ------------------------------------------------------------------------------ */

/* The value of the lower-case hex digit @ch, or -1 (generation prefixes, JSON escapes). */
static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/*
 * Find the live session of @c's cookie, refresh it and count the request in flight (the
 * caller ends it with leave()). OUT: user (a copy). @return the session index, or -1.
 */
static int enter(mm_viewer *v, struct MHD_Connection *c, char user[USER_MAX + 1])
{
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "mm_session");
    unsigned char tok[TOKEN_SIZE];
    uint64_t now;
    int found = -1;

    if (!cookie || mm_crypto_hex_parse(cookie, tok) < 0) { /* written as an object ID is */
        mm_error_clear();
        return -1;
    }
    pthread_mutex_lock(&v->lock);
    now = now_ms(); /* under the lock: another request of the session may have just used it */
    for (int i = 0; i < SESSIONS; i++) {
        struct session *s = &v->sessions[i];
        if (!s->live || !mm_crypto_equal(s->token, tok, TOKEN_SIZE))
            continue;
        if (s->used + v->idle_ms < now || !v->repo)
            break; /* expired: the housekeeper ends it and records it */
        s->used = now;
        memcpy(user, s->user, USER_MAX + 1);
        v->inflight++;
        found = i;
        break;
    }
    pthread_mutex_unlock(&v->lock);
    mm_crypto_wipe(tok, sizeof(tok));
    return found;
}

static void leave(mm_viewer *v)
{
    pthread_mutex_lock(&v->lock);
    v->inflight--;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
}

/* Wipe and free what slot @s holds. Caller holds v->lock; nothing uses the slot. */
static void slot_clear(struct slot *s)
{
    for (int k = 0; k < POOL; k++) {
        mm_index_free(s->conn[k]);
        s->conn[k] = NULL;
        s->busy[k] = 0;
    }
    mm_repo_pages_free(s->pages); /* after its connections: wipes its decrypted blocks */
    s->pages = NULL;
    s->id[0] = '\0';
    s->refs = 0;
}

/* No session left and nothing in flight: wipe the indexes, drop the keys. Holds v->lock. */
static void drop_all(mm_viewer *v)
{
    for (int i = 0; i < LOADED; i++)
        slot_clear(&v->slots[i]);
    mm_repo_gens_free(v->gens, v->ngens);
    v->gens = NULL;
    v->ngens = 0;
    v->def[0] = '\0';
    mm_repo_free(v->repo);
    v->repo = NULL;
}

static int nsessions(const mm_viewer *v)
{
    int n = 0;

    for (int i = 0; i < SESSIONS; i++)
        n += v->sessions[i].live;
    return n;
}

/*
 * End the sessions idle too long (all when @all), record each, and drop the keys when
 * none is left.
 */
static void expire(mm_viewer *v, int all, const char *reason)
{
    char users[SESSIONS][USER_MAX + 1];
    int n = 0;
    uint64_t now;

    pthread_mutex_lock(&v->lock);
    now = now_ms();
    for (int i = 0; i < SESSIONS; i++) {
        struct session *s = &v->sessions[i];
        if (!s->live || (!all && s->used + v->idle_ms >= now))
            continue;
        memcpy(users[n++], s->user, USER_MAX + 1);
        mm_crypto_wipe(s, sizeof(*s));
    }
    if (n && v->repo) {
        v->inflight++; /* keep the keys until the records are queued (they hold them on) */
        pthread_mutex_unlock(&v->lock);
        for (int i = 0; i < n; i++) {
            struct mm_viewer_event ev = { .kind = MM_VIEWER_LOGOUT,
                                          .user = users[i],
                                          .reason = all ? reason : "idle" };
            emit(v, &ev, 1);
        }
        pthread_mutex_lock(&v->lock);
        v->inflight--;
    }
    if (nsessions(v) == 0 && v->inflight == 0 && v->repo)
        drop_all(v);
    pthread_mutex_unlock(&v->lock);
}

static void *keeper_main(void *arg)
{
    mm_viewer *v = arg;

    pthread_mutex_lock(&v->lock);
    while (!v->stop) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec += HOUSEKEEPING;
        pthread_cond_timedwait(&v->cond, &v->lock, &t);
        if (v->stop)
            break;
        pthread_mutex_unlock(&v->lock);
        expire(v, 0, NULL);
        pthread_mutex_lock(&v->lock);
    }
    pthread_mutex_unlock(&v->lock);
    return NULL;
}

/* ---- generations and indexes ----------------------------------------------------------------- */

/* The generation named by @spec ("" or NULL: the default), or NULL. Holds v->lock. */
static const struct mm_repo_gen *gen_pick(const mm_viewer *v, const char *spec)
{
    const struct mm_repo_gen *hit = NULL;
    size_t n;

    if (!spec || !*spec)
        spec = v->def;
    n = strlen(spec);
    if (n < 8 || n >= MM_CRYPTO_HEX_SIZE)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (hexval(spec[i]) < 0)
            return NULL;
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
static int gens_load(mm_viewer *v)
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
    for (size_t i = n; i-- > 0 && !v->def[0];)
        if (g[i].has_index)
            memcpy(v->def, g[i].id, sizeof(v->def));
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
        slot_clear(victim);
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
            s->used = now_ms();
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
    unsigned int off;

    if (!localtime_r(&t, &tm)) {
        out[0] = '\0';
        return;
    }
    off = (unsigned int)(labs(tm.tm_gmtoff) / 60) % (100 * 60);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d%c%02u:%02u", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, tm.tm_gmtoff < 0 ? '-' : '+', off / 60, off % 60);
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

static enum MHD_Result api_generations(mm_viewer *v, struct MHD_Connection *c)
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
    if (err == 0 && v->spec_missing)
        err = mm_buf_puts(&b, ",\"notice\":\"requested_generation_not_found\"");
    if (err == 0)
        err = mm_buf_putc(&b, '}');
    pthread_mutex_unlock(&v->lock);
    ok = err < 0 ? send_lib_error(c, err) : send_json(c, MHD_HTTP_OK, &b, NULL);
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
        *ok = send_error(c, MHD_HTTP_BAD_REQUEST, bad_code);
        return NULL;
    }
    if ((err = ix_acquire(v, gen, u)) < 0) {
        *ok = send_lib_error(c, err);
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
            emit(v, &ev, 1);
        }
        ok = send_json(c, MHD_HTTP_OK, b, NULL);
    } else {
        ok = send_lib_error(c, err);
    }
    mm_crypto_wipe(b->ptr, b->len);
    return ok;
}

static enum MHD_Result api_search(mm_viewer *v, struct MHD_Connection *c)
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
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_query");
    }
    if (err < 0)
        return send_lib_error(c, err);
    mm_buf_init(&b, MM_LIMIT_JSON);
    err = json_open_generation(&b, u.gid);
    if (err == 0)
        err = mm_buf_putc(&b, ',');
    if (err == 0)
        err = mm_index_results_json(&res, &b);
    if (err == 0)
        err = mm_buf_putc(&b, '}');
    mm_index_results_release(&res);
    ok = err < 0 ? send_lib_error(c, err) : send_json(c, MHD_HTTP_OK, &b, NULL);
    mm_crypto_wipe(b.ptr, b.len);
    mm_buf_release(&b);
    return ok;
}

static enum MHD_Result api_patient(mm_viewer *v, struct MHD_Connection *c, const char *user)
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
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_as_of");
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
static enum MHD_Result api_recovery(mm_viewer *v, struct MHD_Connection *c)
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
        return send_lib_error(c, MM_ENOMEM);
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
    ok = err < 0 ? send_lib_error(c, err) : send_json(c, MHD_HTTP_OK, &b, NULL);
    mm_buf_release(&b);
    mm_free(s);
    mm_free(r);
    return ok;
}

/*
 * The ward screen: the wards with current inpatients, or (?ward=) that ward's inpatients,
 * each of whom is recorded as shown, as `mamori print --ward` records each patient printed.
 */
static enum MHD_Result api_wards(mm_viewer *v, struct MHD_Connection *c, const char *user)
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
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request");
    if ((err = ix_acquire(v, gen, &u)) < 0)
        return send_lib_error(c, err);
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

static enum MHD_Result api_file(mm_viewer *v, struct MHD_Connection *c)
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
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request");
    if (!(id = ix_begin(v, c, "id", MM_LIMIT_PATIENT_ID, "bad_request", &u, &ok)))
        return ok;
    err = mm_viewer__file_allowed(u.ix, id, path);
    ix_release(v, &u);
    if (err < 0)
        return send_lib_error(c, err);
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
        return send_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    mm_buf_init(&b, MM_VIEWER_FILE_MAX);
    pthread_mutex_lock(&v->repo_lock); /* never while holding v->lock: see ix_acquire */
    err = mm_repo_read_file(v->repo, &gc, full, MM_VIEWER_FILE_MAX, &b);
    pthread_mutex_unlock(&v->repo_lock);
    if (err < 0) {
        mm_buf_release(&b);
        return send_lib_error(c, err);
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

/* ---- login --------------------------------------------------------------------------------- */

/* Milliseconds a wrong passphrase is answered late after @fails in a row: 1, 2, 4 ... 30 s. */
static uint64_t fail_delay(const mm_viewer *v, unsigned int fails)
{
    uint64_t d = v->delay_ms << (fails > 6 ? 5 : fails - 1);

    return d > DELAY_MAX * 1000u ? DELAY_MAX * 1000u : d;
}

static enum MHD_Result api_login(mm_viewer *v, struct MHD_Connection *c, struct req *rq)
{
    char pass[PASS_MAX], user[USER_MAX + 1], cookie[160], hex[MM_CRYPTO_HEX_SIZE];
    char defgen[MM_CRYPTO_HEX_SIZE];
    const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    struct mm_viewer_event ev = { 0 };
    mm_repo *r = NULL;
    size_t plen;
    int err, slot = -1;
    uint64_t now;
    mm_buf b;
    enum MHD_Result ok;

    if (!ctype || strncasecmp(ctype, "application/json", 16) != 0)
        return send_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "json_required");
    if (rq->too_big)
        return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large");
    err = mm_viewer_login_parse(rq->body.ptr ? rq->body.ptr : "", rq->body.len, user, sizeof(user),
                                pass, sizeof(pass), &plen);
    mm_crypto_wipe(rq->body.ptr, rq->body.len);
    if (err < 0) {
        mm_error_clear();
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request");
    }

    pthread_mutex_lock(&v->login_lock);
    now = now_ms();
    if (v->paused_until > now) {
        char body[96];
        int n = snprintf(body, sizeof(body),
                         "{\"error\":\"too_many_attempts\",\"retry_after_s\":%llu}",
                         (unsigned long long)((v->paused_until - now + 999) / 1000));
        pthread_mutex_unlock(&v->login_lock);
        mm_crypto_wipe(pass, sizeof(pass));
        return send_bytes(c, MHD_HTTP_TOO_MANY_REQUESTS, "application/json; charset=utf-8", body,
                          (size_t)n, MHD_RESPMEM_MUST_COPY, NULL);
    }
    err = mm_repo_open(&r, v->repo_path, user[0] ? user : NULL, pass, plen);
    mm_crypto_wipe(pass, sizeof(pass));
    if (err == MM_EAUTH || (err == MM_ENOTFOUND && user[0])) {
        uint64_t d;
        struct timespec ts;
        mm_error_clear();
        v->fails++;
        d = fail_delay(v, v->fails);
        if (v->fails >= FAILS_LOCK)
            v->paused_until = now_ms() + LOCK_SECONDS * 1000u;
        ev.kind = MM_VIEWER_LOGIN_FAILED;
        ev.user = user[0] ? user : NULL;
        emit(v, &ev, 0);
        ts.tv_sec = (time_t)(d / 1000u);
        ts.tv_nsec = (long)(d % 1000u) * 1000000L;
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ; /* still holding the login lock: guesses wait their turn */
        pthread_mutex_unlock(&v->login_lock);
        return send_error(c, MHD_HTTP_UNAUTHORIZED, "wrong_passphrase");
    }
    if (err < 0) {
        pthread_mutex_unlock(&v->login_lock);
        return send_lib_error(c, err);
    }
    v->fails = 0;
    v->paused_until = 0;
    snprintf(user, sizeof(user), "%s", mm_repo_user(r));

    pthread_mutex_lock(&v->lock);
    if (!v->repo) {
        v->repo = r; /* now owned by the viewer */
        r = NULL;
    }
    v->inflight++;
    err = gens_load(v);
    for (int i = 0; i < SESSIONS && slot < 0 && err == 0; i++)
        if (!v->sessions[i].live)
            slot = i;
    if (err == 0 && slot < 0)
        err = mm_error_set(MM_ELIMIT, "too many sessions");
    if (err == 0) {
        struct session *s = &v->sessions[slot];
        mm_crypto_random(s->token, TOKEN_SIZE);
        memcpy(s->user, user, sizeof(s->user));
        s->used = now_ms();
        s->live = 1;
        mm_crypto_hex(s->token, hex);
    }
    pthread_mutex_unlock(&v->lock);
    mm_repo_free(r); /* another session opened the repository first */
    pthread_mutex_unlock(&v->login_lock);
    if (err < 0) {
        leave(v);
        return send_lib_error(c, err);
    }
    pthread_mutex_lock(&v->lock);
    memcpy(defgen, v->def, sizeof(defgen));
    pthread_mutex_unlock(&v->lock);
    ev.kind = MM_VIEWER_LOGIN;
    ev.user = user;
    ev.generation = defgen[0] ? defgen : NULL;
    emit(v, &ev, 1);
    snprintf(cookie, sizeof(cookie), "mm_session=%s; Path=/; HttpOnly; SameSite=Strict", hex);
    mm_crypto_wipe(hex, sizeof(hex));
    mm_buf_init(&b, 1024);
    err = mm_buf_puts(&b, "{\"user\":");
    if (err == 0)
        err = mm_json_str(&b, user);
    if (err == 0)
        err = mm_buf_printf(&b, ",\"idle_timeout_s\":%llu}",
                            (unsigned long long)(v->idle_ms / 1000));
    ok = send_json(c, MHD_HTTP_OK, &b, cookie);
    mm_crypto_wipe(cookie, sizeof(cookie));
    mm_buf_release(&b);
    leave(v);
    return ok;
}

static enum MHD_Result api_logout(mm_viewer *v, struct MHD_Connection *c, int sess)
{
    char user[USER_MAX + 1];
    struct mm_viewer_event ev = { .kind = MM_VIEWER_LOGOUT, .reason = "logout" };

    pthread_mutex_lock(&v->lock);
    memcpy(user, v->sessions[sess].user, sizeof(user));
    mm_crypto_wipe(&v->sessions[sess], sizeof(v->sessions[sess]));
    pthread_mutex_unlock(&v->lock);
    ev.user = user;
    emit(v, &ev, 1);
    return send_bytes(c, MHD_HTTP_OK, "application/json; charset=utf-8", "{}", 2,
                      MHD_RESPMEM_PERSISTENT,
                      "mm_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

static enum MHD_Result api_session(mm_viewer *v, struct MHD_Connection *c, const char *user)
{
    mm_buf b;
    enum MHD_Result ok;
    int err;

    mm_buf_init(&b, 1024);
    err = mm_buf_puts(&b, "{\"user\":");
    if (err == 0)
        err = mm_json_str(&b, user);
    if (err == 0)
        err = mm_buf_printf(&b, ",\"idle_timeout_s\":%llu}",
                            (unsigned long long)(v->idle_ms / 1000));
    ok = err < 0 ? send_lib_error(c, err) : send_json(c, MHD_HTTP_OK, &b, NULL);
    mm_buf_release(&b);
    return ok;
}

/* ---- routing ------------------------------------------------------------------------------- */

/* Does the Host header name this server (127.0.0.1 or localhost with our port)? */
static int host_ok(const mm_viewer *v, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    char a[64], b[64];

    if (!h)
        return 0;
    snprintf(a, sizeof(a), "127.0.0.1:%u", v->port);
    snprintf(b, sizeof(b), "localhost:%u", v->port);
    return strcmp(h, a) == 0 || strcmp(h, b) == 0;
}

static enum MHD_Result route(mm_viewer *v, struct MHD_Connection *c, const char *url,
                             const char *method, struct req *rq)
{
    int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    int post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    char user[USER_MAX + 1];
    enum MHD_Result ok;
    int sess;

    if (!host_ok(v, c))
        return send_error(c, MHD_HTTP_MISDIRECTED_REQUEST, "wrong_host");
    if (!get && !post)
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed");
    if (strncmp(url, "/api/", 5) != 0) {
        const unsigned char *p;
        const char *type;
        size_t n;
        if (!get)
            return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed");
        if (strcmp(url, "/") == 0)
            url = "/index.html";
        if (strchr(url + 1, '/') || !(p = mm_viewer_asset(url + 1, &n, &type)))
            return send_error(c, MHD_HTTP_NOT_FOUND, "not_found");
        return send_bytes(c, MHD_HTTP_OK, type, p, n, MHD_RESPMEM_PERSISTENT, NULL);
    }
    if (strcmp(url, "/api/login") == 0)
        return post ? api_login(v, c, rq)
                    : send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed");
    if ((sess = enter(v, c, user)) < 0)
        return send_error(c, MHD_HTTP_UNAUTHORIZED, "no_session");
    if (strcmp(url, "/api/logout") == 0) {
        const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        if (!post)
            ok = send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed");
        else if (!ctype || strncasecmp(ctype, "application/json", 16) != 0)
            ok = send_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "json_required");
        else
            ok = api_logout(v, c, sess);
    } else if (!get) {
        ok = send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed");
    } else if (strcmp(url, "/api/session") == 0) {
        ok = api_session(v, c, user);
    } else if (strcmp(url, "/api/generations") == 0) {
        ok = api_generations(v, c);
    } else if (strcmp(url, "/api/search") == 0) {
        ok = api_search(v, c);
    } else if (strcmp(url, "/api/patient") == 0) {
        ok = api_patient(v, c, user);
    } else if (strcmp(url, "/api/wards") == 0) {
        ok = api_wards(v, c, user);
    } else if (strcmp(url, "/api/file") == 0) {
        ok = api_file(v, c);
    } else if (strcmp(url, "/api/recovery") == 0) {
        ok = api_recovery(v, c);
    } else {
        ok = send_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    }
    leave(v);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    mm_viewer *v = cls;
    struct req *rq = *con_cls;

    (void)version;
    if (!rq) {
        if (!(rq = mm_calloc(1, sizeof(*rq))))
            return MHD_NO;
        mm_buf_init(&rq->body, BODY_MAX);
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* the body's final room at once: growing would leave copies of it in freed heap */
        if (!rq->too_big && (mm_buf_reserve(&rq->body, BODY_MAX + 1) < 0 ||
                             mm_buf_put(&rq->body, upload_data, *upload_data_size) < 0)) {
            mm_error_clear();
            rq->too_big = 1;
        }
        /*
         * The bytes lie in libmicrohttpd's connection buffer, which is reused and freed
         * without wiping: wipe them there (they are consumed, libmicrohttpd never reads
         * them again).
         */
        mm_crypto_wipe((void *)(uintptr_t)upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return route(v, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (rq) {
        mm_crypto_wipe(rq->body.ptr, rq->body.len);
        mm_buf_release(&rq->body);
        mm_free(rq);
        *con_cls = NULL;
    }
}

/* libmicrohttpd's own messages may quote a request line: never printed. */
static void quiet_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    (void)fmt;
    (void)ap;
}

/* ---- start and stop ------------------------------------------------------------------------ */

const unsigned char *mm_viewer_asset(const char *name, size_t *n, const char **type)
{
    for (const struct mm_viewer__asset *a = mm_viewer__assets; a->name; a++)
        if (strcmp(a->name, name) == 0) {
            *n = a->size;
            if (type)
                *type = a->type;
            return a->data;
        }
    return NULL;
}

int mm_viewer_start(mm_viewer **out, const struct mm_viewer_opts *o)
{
    struct sockaddr_in sa;
    struct mm_repo_key *keys = NULL;
    const union MHD_DaemonInfo *info;
    size_t nkeys = 0;
    mm_viewer *v;
    int err;

    MM_ASSERT_ARG(out && o && o->repo_path);
    if (o->port > 65535 || o->idle_timeout > MM_VIEWER_IDLE_MAX)
        return mm_error_set(MM_EINVAL, "port or idle time out of range");
    /* a repository with key slots, before anything listens */
    if ((err = mm_repo_key_list(o->repo_path, &keys, &nkeys)) < 0)
        return err;
    free(keys);
    if (!(v = mm_calloc(1, sizeof(*v))))
        return MM_ENOMEM;
    mm_viewer_json_wiping(); /* before the daemon's threads use jansson */
    pthread_mutex_init(&v->lock, NULL);
    pthread_mutex_init(&v->repo_lock, NULL);
    pthread_mutex_init(&v->login_lock, NULL);
    pthread_mutex_init(&v->evq_lock, NULL);
    pthread_cond_init(&v->evq_more, NULL);
    pthread_cond_init(&v->evq_room, NULL);
    pthread_cond_init(&v->cond, NULL);
    v->idle_ms = (uint64_t)(o->idle_timeout ? o->idle_timeout : MM_VIEWER_IDLE_DEFAULT) * 1000u;
    v->delay_ms = o->fail_delay_ms ? o->fail_delay_ms : 1000u;
    v->event = o->event;
    v->event_ctx = o->event_ctx;
    if (!(v->repo_path = mm_strdup(o->repo_path)) ||
        (o->generation && !(v->gen_spec = mm_strdup(o->generation)))) {
        err = MM_ENOMEM;
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    v->d = MHD_start_daemon(
            MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
            NULL, on_request, v, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, v, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)0, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned int)120, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
            MHD_OPTION_EXTERNAL_LOGGER, quiet_log, NULL, MHD_OPTION_END);
    if (!v->d) {
        err = mm_error_set(MM_EIO, "cannot listen on 127.0.0.1 port %u (in use?)", o->port);
        goto out;
    }
    if (!(v->evq = mm_calloc(EVQ_MAX, sizeof(*v->evq)))) {
        err = MM_ENOMEM;
        goto out;
    }
    if (pthread_create(&v->writer, NULL, writer_main, v) != 0) {
        err = mm_error_set(MM_ENOMEM, "cannot start a thread");
        goto out;
    }
    v->writer_started = 1;
    info = MHD_get_daemon_info(v->d, MHD_DAEMON_INFO_BIND_PORT);
    v->port = info ? info->port : o->port;
    if (pthread_create(&v->keeper, NULL, keeper_main, v) != 0) {
        err = mm_error_set(MM_ENOMEM, "cannot start a thread");
        goto out;
    }
    v->keeper_started = 1;
out:
    if (err < 0) {
        mm_viewer_stop(v);
        return err;
    }
    *out = v;
    return 0;
}

unsigned int mm_viewer_port(const mm_viewer *v)
{
    return v->port;
}

void mm_viewer_stop(mm_viewer *v)
{
    if (!v)
        return;
    if (v->d)
        MHD_stop_daemon(v->d); /* waits for the connection threads */
    if (v->keeper_started) {
        pthread_mutex_lock(&v->lock);
        v->stop = 1;
        pthread_cond_broadcast(&v->cond);
        pthread_mutex_unlock(&v->lock);
        pthread_join(v->keeper, NULL);
    }
    expire(v, 1, "stop");
    if (v->writer_started) { /* every queued event is written before the keys go */
        pthread_mutex_lock(&v->evq_lock);
        v->evq_stop = 1;
        pthread_cond_broadcast(&v->evq_more);
        pthread_mutex_unlock(&v->evq_lock);
        pthread_join(v->writer, NULL);
    }
    pthread_mutex_lock(&v->lock);
    drop_all(v);
    pthread_mutex_unlock(&v->lock);
    mm_free(v->evq);
    pthread_cond_destroy(&v->cond);
    pthread_cond_destroy(&v->evq_room);
    pthread_cond_destroy(&v->evq_more);
    pthread_mutex_destroy(&v->evq_lock);
    pthread_mutex_destroy(&v->login_lock);
    pthread_mutex_destroy(&v->repo_lock);
    pthread_mutex_destroy(&v->lock);
    mm_free(v->gen_spec);
    mm_free(v->repo_path);
    mm_free(v);
}
