/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The viewer's HTTP side: a libmicrohttpd daemon bound to 127.0.0.1 with a thread per
 * connection (a slow login never holds up a patient page), the routes, sessions, the login
 * throttle and the audit writer; the generations whose patient index is decrypted in memory
 * and the API answers are in viewer_http_api.c (viewer_http_int.h is what they share).
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
#ifdef _WIN32
#include <winsock2.h> /* before microhttpd.h and anything that includes windows.h */
#include <ws2tcpip.h>
#endif
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#ifndef _WIN32
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "crypto/crypto.h"
#include "os/os.h"
#include "viewer/viewer.h"
#include "viewer/viewer_http_int.h"
#include "viewer/viewer_int.h"

/* Milliseconds of the monotonic clock. */
uint64_t mm_viewer__now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/*
 * Queue @ev for the audit writer (waiting while the queue is full). @keyed: written with the
 * keys; the repository stays open (v->inflight) until it is.
 */
void mm_viewer__emit(mm_viewer *v, const struct mm_viewer_event *ev, int keyed)
{
    struct timespec ts;
    struct tm tm;
    struct qev *q;
    long gmtoff;
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
    q->ev.utc_offset_s = mm_os_localtime(t, &tm, &gmtoff) == 0 ? (int32_t)gmtoff : 0;
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

enum MHD_Result mm_viewer__send_json(struct MHD_Connection *c, unsigned int status, const mm_buf *b,
                                     const char *cookie)
{
    return send_bytes(c, status, "application/json; charset=utf-8", b->ptr, b->len,
                      MHD_RESPMEM_MUST_COPY, cookie);
}

/* {"error": @code} with @status. */
enum MHD_Result mm_viewer__send_error(struct MHD_Connection *c, unsigned int status,
                                      const char *code)
{
    char body[128];
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", code);

    return send_bytes(c, status, "application/json; charset=utf-8", body, (size_t)n,
                      MHD_RESPMEM_MUST_COPY, NULL);
}

/* The HTTP answer for a library error of a data request. */
enum MHD_Result mm_viewer__send_lib_error(struct MHD_Connection *c, int err)
{
    mm_error_clear();
    switch (err) {
    case MM_ENOTFOUND:
        return mm_viewer__send_error(c, MHD_HTTP_NOT_FOUND, "not_found");
    case MM_EINVAL:
    case MM_ELIMIT:
        return mm_viewer__send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request");
    case MM_ENOMEM:
        return mm_viewer__send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory");
    case MM_ECORRUPT:
    case MM_EAUTH:
        return mm_viewer__send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "damaged");
    default:
        return mm_viewer__send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "repository");
    }
}

/* ---- sessions ------------------------------------------------------------------------------ */

/* The value of the lower-case hex digit @ch, or -1 (generation prefixes, JSON escapes). */
int mm_viewer__hexval(int ch)
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
    now = mm_viewer__now_ms(); /* under the lock: another request of the session may have just used
                                  it */
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
void mm_viewer__slot_clear(struct slot *s)
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
        mm_viewer__slot_clear(&v->slots[i]);
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
    now = mm_viewer__now_ms();
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
            mm_viewer__emit(v, &ev, 1);
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
        return mm_viewer__send_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "json_required");
    if (rq->too_big)
        return mm_viewer__send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large");
    err = mm_viewer_login_parse(rq->body.ptr ? rq->body.ptr : "", rq->body.len, user, sizeof(user),
                                pass, sizeof(pass), &plen);
    mm_crypto_wipe(rq->body.ptr, rq->body.len);
    if (err < 0) {
        mm_error_clear();
        return mm_viewer__send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request");
    }

    pthread_mutex_lock(&v->login_lock);
    now = mm_viewer__now_ms();
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
            v->paused_until = mm_viewer__now_ms() + LOCK_SECONDS * 1000u;
        ev.kind = MM_VIEWER_LOGIN_FAILED;
        ev.user = user[0] ? user : NULL;
        mm_viewer__emit(v, &ev, 0);
        ts.tv_sec = (time_t)(d / 1000u);
        ts.tv_nsec = (long)(d % 1000u) * 1000000L;
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ; /* still holding the login lock: guesses wait their turn */
        pthread_mutex_unlock(&v->login_lock);
        return mm_viewer__send_error(c, MHD_HTTP_UNAUTHORIZED, "wrong_passphrase");
    }
    if (err < 0) {
        pthread_mutex_unlock(&v->login_lock);
        return mm_viewer__send_lib_error(c, err);
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
    err = mm_viewer__gens_load(v);
    for (int i = 0; i < SESSIONS && slot < 0 && err == 0; i++)
        if (!v->sessions[i].live)
            slot = i;
    if (err == 0 && slot < 0)
        err = mm_error_set(MM_ELIMIT, "too many sessions");
    if (err == 0) {
        struct session *s = &v->sessions[slot];
        mm_crypto_random(s->token, TOKEN_SIZE);
        memcpy(s->user, user, sizeof(s->user));
        s->used = mm_viewer__now_ms();
        s->live = 1;
        mm_crypto_hex(s->token, hex);
    }
    pthread_mutex_unlock(&v->lock);
    mm_repo_free(r); /* another session opened the repository first */
    pthread_mutex_unlock(&v->login_lock);
    if (err < 0) {
        leave(v);
        return mm_viewer__send_lib_error(c, err);
    }
    pthread_mutex_lock(&v->lock);
    memcpy(defgen, v->def, sizeof(defgen));
    pthread_mutex_unlock(&v->lock);
    ev.kind = MM_VIEWER_LOGIN;
    ev.user = user;
    ev.generation = defgen[0] ? defgen : NULL;
    mm_viewer__emit(v, &ev, 1);
    snprintf(cookie, sizeof(cookie), "mm_session=%s; Path=/; HttpOnly; SameSite=Strict", hex);
    mm_crypto_wipe(hex, sizeof(hex));
    mm_buf_init(&b, 1024);
    err = mm_buf_puts(&b, "{\"user\":");
    if (err == 0)
        err = mm_json_str(&b, user);
    if (err == 0)
        err = mm_buf_printf(&b, ",\"idle_timeout_s\":%llu}",
                            (unsigned long long)(v->idle_ms / 1000));
    ok = mm_viewer__send_json(c, MHD_HTTP_OK, &b, cookie);
    mm_crypto_wipe(cookie, sizeof(cookie));
    mm_buf_release(&b);
    leave(v);
    return ok;
}

/*
 * A login, unless LOGINS_MAX are already in flight: logins take their turn (a wrong
 * passphrase holds the turn for its delay, up to 30 s), and each waiting one holds a
 * connection; without a bound, a flood of wrong passphrases would hold every connection and
 * lock out the clinicians already logged in. Beyond it: 429, as while logins pause.
 */
static enum MHD_Result login_counted(mm_viewer *v, struct MHD_Connection *c, struct req *rq)
{
    static const char busy[] = "{\"error\":\"too_many_attempts\",\"retry_after_s\":5}";
    enum MHD_Result ok;
    int full;

    pthread_mutex_lock(&v->lock);
    full = v->logins >= LOGINS_MAX;
    if (!full)
        v->logins++;
    pthread_mutex_unlock(&v->lock);
    if (full) /* the body is wiped with the request (on_completed) */
        return send_bytes(c, MHD_HTTP_TOO_MANY_REQUESTS, "application/json; charset=utf-8", busy,
                          sizeof(busy) - 1, MHD_RESPMEM_PERSISTENT, NULL);
    ok = api_login(v, c, rq);
    pthread_mutex_lock(&v->lock);
    v->logins--;
    pthread_mutex_unlock(&v->lock);
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
    mm_viewer__emit(v, &ev, 1);
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
    ok = err < 0 ? mm_viewer__send_lib_error(c, err)
                 : mm_viewer__send_json(c, MHD_HTTP_OK, &b, NULL);
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
        return mm_viewer__send_error(c, MHD_HTTP_MISDIRECTED_REQUEST, "wrong_host");
    if (!get && !post)
        return mm_viewer__send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed");
    if (strncmp(url, "/api/", 5) != 0) {
        const unsigned char *p;
        const char *type;
        size_t n;
        if (!get)
            return mm_viewer__send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed");
        if (strcmp(url, "/") == 0)
            url = "/index.html";
        if (strchr(url + 1, '/') || !(p = mm_viewer_asset(url + 1, &n, &type)))
            return mm_viewer__send_error(c, MHD_HTTP_NOT_FOUND, "not_found");
        return send_bytes(c, MHD_HTTP_OK, type, p, n, MHD_RESPMEM_PERSISTENT, NULL);
    }
    if (strcmp(url, "/api/login") == 0)
        return post ? login_counted(v, c, rq)
                    : mm_viewer__send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed");
    if ((sess = enter(v, c, user)) < 0)
        return mm_viewer__send_error(c, MHD_HTTP_UNAUTHORIZED, "no_session");
    if (strcmp(url, "/api/logout") == 0) {
        const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        if (!post)
            ok = mm_viewer__send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed");
        else if (!ctype || strncasecmp(ctype, "application/json", 16) != 0)
            ok = mm_viewer__send_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "json_required");
        else
            ok = api_logout(v, c, sess);
    } else if (!get) {
        ok = mm_viewer__send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed");
    } else if (strcmp(url, "/api/session") == 0) {
        ok = api_session(v, c, user);
    } else if (strcmp(url, "/api/generations") == 0) {
        ok = mm_viewer__api_generations(v, c);
    } else if (strcmp(url, "/api/search") == 0) {
        ok = mm_viewer__api_search(v, c);
    } else if (strcmp(url, "/api/patient") == 0) {
        ok = mm_viewer__api_patient(v, c, user);
    } else if (strcmp(url, "/api/wards") == 0) {
        ok = mm_viewer__api_wards(v, c, user);
    } else if (strcmp(url, "/api/file") == 0) {
        ok = mm_viewer__api_file(v, c);
    } else if (strcmp(url, "/api/recovery") == 0) {
        ok = mm_viewer__api_recovery(v, c);
    } else {
        ok = mm_viewer__send_error(c, MHD_HTTP_NOT_FOUND, "not_found");
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
    mm_viewer__conn_waiting(v, c, 0); /* complete: no longer under the guard's clock */
    return route(v, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;

    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) /* kept alive: waits for the next one */
        mm_viewer__conn_waiting(cls, c, 1);
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

#ifdef _WIN32
/* Windows lets a second program bind the same address and port unless the first asked for it
 * alone (SO_EXCLUSIVEADDRUSE: libmicrohttpd's "no reuse"); winsock itself is started by
 * libmicrohttpd (MHD_init, WSAStartup) */
#define LISTEN_ALONE MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)0,
#else
#define LISTEN_ALONE
#endif

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
    pthread_mutex_init(&v->conn_lock, NULL);
    pthread_cond_init(&v->conn_cond, NULL);
    v->pending_ms = PENDING_MS;
    v->idle_ms = (uint64_t)(o->idle_timeout ? o->idle_timeout : MM_VIEWER_IDLE_DEFAULT) * 1000u;
    v->delay_ms = o->fail_delay_ms ? o->fail_delay_ms : 1000u;
    v->event = o->event;
    v->event_ctx = o->event_ctx;
    if (!(v->repo_path = mm_strdup(o->repo_path)) ||
        (o->generation && !(v->gen_spec = mm_strdup(o->generation)))) {
        err = MM_ENOMEM;
        goto out;
    }
    if ((err = mm_viewer__guard_start(v)) < 0)
        goto out;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    v->d = MHD_start_daemon(
            MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
            NULL, on_request, v, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, v, MHD_OPTION_NOTIFY_CONNECTION, mm_viewer__on_connection, v,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)0, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned int)120, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
            MHD_OPTION_EXTERNAL_LOGGER, quiet_log, NULL, LISTEN_ALONE MHD_OPTION_END);
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
    mm_viewer__guard_stop(v);
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
    pthread_cond_destroy(&v->conn_cond);
    pthread_mutex_destroy(&v->conn_lock);
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
