/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the viewer's HTTP side: viewer_http.c holds the daemon, the audit writer, sessions,
 * login and routing; viewer_http_api.c the generations, their loaded indexes and the API
 * answers. Not for other modules: they use viewer.h.
 */
#ifndef MM_VIEWER_VIEWER_HTTP_INT_H
#define MM_VIEWER_VIEWER_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

#include "common/buf.h"
#include "crypto/crypto.h"
#include "viewer/viewer.h"
#include "viewer/viewer_int.h"

#define POOL             8                 /* read-only connections per loaded index */
#define LOADED           3                 /* generations whose index is open at once */
#define CACHE_BYTES      (64u << 20)       /* decrypted index blocks kept per generation */
#define SESSIONS         64                /* live sessions */
#define TOKEN_SIZE       MM_CRYPTO_ID_SIZE /* random bytes of a session token (64 hex digits) */
#define BODY_MAX         4096              /* bytes of a POST body */
#define PASS_MAX         1024              /* bytes of a passphrase */
#define USER_MAX         64                /* bytes of a key slot name */
#define FAILS_LOCK       10                /* consecutive wrong passphrases before logins pause */
#define LOCK_SECONDS     60                /* how long they pause */
#define DELAY_MAX        30   /* seconds a wrong passphrase is answered late, at most */
#define RESULTS_MAX      200  /* patients one search answers */
#define HOUSEKEEPING     2    /* seconds between checks for idle sessions */
#define EVQ_MAX          4096 /* events waiting for the audit writer (requests wait when full) */
#define EVQ_BATCH        256  /* events handed over at once */
#define LOGINS_MAX       4    /* logins in flight (one checked, the others waiting) */
#define CONNECTION_LIMIT 256  /* open connections (each has a thread) */
#define PENDING_MAX      16   /* connections waiting for their request to be complete */
#define PENDING_MS       5000 /* how long one may wait, from its accept or its last answer */
#define GUARD_TICK_MS    200  /* how often the guard looks */

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

struct mm_viewer__conn; /* viewer_http_conn.c */

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
    int no_good; /* the default is suspect: no good generation has a patient index */
    struct slot slots[LOADED];
    struct session sessions[SESSIONS];
    unsigned int inflight; /* requests past the session check */
    unsigned int logins;   /* logins in flight */
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

    pthread_mutex_t conn_lock; /* the connection guard (viewer_http_conn.c): what is below */
    pthread_cond_t conn_cond;
    struct mm_viewer__conn *conns; /* every open connection */
    uint64_t pending_ms;
    int conn_stop;
    pthread_t guard;
    int guard_started;
};

/* What one request carries between the calls of the access handler. */
struct req {
    mm_buf body;
    int too_big;
};

/* ---- viewer_http.c ---- */

/* Milliseconds of the monotonic clock. */
uint64_t mm_viewer__now_ms(void);

/* Hand @ev to the audit writer (@keyed: written with the keys, so it holds v->inflight). */
void mm_viewer__emit(mm_viewer *v, const struct mm_viewer_event *ev, int keyed);

/* Answer @status with the JSON in @b. */
enum MHD_Result mm_viewer__send_json(struct MHD_Connection *c, unsigned int status, const mm_buf *b,
                                     const char *cookie);

/* Answer @status with {"error": @code}. */
enum MHD_Result mm_viewer__send_error(struct MHD_Connection *c, unsigned int status,
                                      const char *code);

/* Answer the library error @err with its status and code. */
enum MHD_Result mm_viewer__send_lib_error(struct MHD_Connection *c, int err);

/* The value of the hex digit @ch, or -1. */
int mm_viewer__hexval(int ch);

/* Wipe and free what the loaded slot @s holds, leaving it free. */
void mm_viewer__slot_clear(struct slot *s);

/* ---- viewer_http_conn.c ---- */

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (@cls the viewer): tracks, and when
 * PENDING_MAX wait, closes the connection that has waited longest. */
void mm_viewer__on_connection(void *cls, struct MHD_Connection *c, void **ctx,
                              enum MHD_ConnectionNotificationCode toe);

/* @c's request is complete (@waiting 0) or its answer is done (1: it waits for the next). */
void mm_viewer__conn_waiting(mm_viewer *v, struct MHD_Connection *c, int waiting);

/* Start and stop the thread that closes connections waiting longer than v->pending_ms. */
int mm_viewer__guard_start(mm_viewer *v);
void mm_viewer__guard_stop(mm_viewer *v);

/* ---- viewer_http_api.c ---- */

/* Read the generation list and choose the default. Holds v->lock and the open repository. */
int mm_viewer__gens_load(mm_viewer *v);

/* The answers of GET /api/generations, /api/search, /api/patient, /api/recovery, /api/wards
 * and /api/file. */
enum MHD_Result mm_viewer__api_generations(mm_viewer *v, struct MHD_Connection *c);
enum MHD_Result mm_viewer__api_search(mm_viewer *v, struct MHD_Connection *c);
enum MHD_Result mm_viewer__api_patient(mm_viewer *v, struct MHD_Connection *c, const char *user);
enum MHD_Result mm_viewer__api_recovery(mm_viewer *v, struct MHD_Connection *c);
enum MHD_Result mm_viewer__api_wards(mm_viewer *v, struct MHD_Connection *c, const char *user);
enum MHD_Result mm_viewer__api_file(mm_viewer *v, struct MHD_Connection *c);

#endif
