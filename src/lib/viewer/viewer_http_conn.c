/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The viewer's guard against slow clients. Every client is 127.0.0.1, so nothing can be
 * limited per client; instead a connection counts as "waiting" from its accept (and again from
 * the end of each answer on a kept-alive connection) until its request — headers and body —
 * is complete. A waiting connection is closed when it has waited PENDING_MS (5 s; the clock
 * is not restarted by the bytes that trickle in), and at most PENDING_MAX (16) wait at once:
 * a new connection beyond them closes the one that has waited longest. The newest is kept
 * because a browser sends its request at once: a clinician's request (and a valid session
 * cookie, which the server can only read once the headers are in) is always served, however
 * many slow connections are held open. A connection is closed by shutdown() of its socket
 * from the guard's thread: its own thread then sees the end of the stream and libmicrohttpd
 * closes it; the socket stays open until libmicrohttpd has reported the close
 * (MHD_CONNECTION_NOTIFY_CLOSED comes before its close()), and v->conn_lock orders both.
 * Workload: at most CONNECTION_LIMIT connections, scanned every GUARD_TICK_MS.
 */
#ifdef _WIN32
#include <winsock2.h> /* before microhttpd.h */
#endif
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#ifndef _WIN32
#include <sys/socket.h>
#endif

#include "common/alloc.h"
#include "common/error.h"
#include "viewer/viewer_http_int.h"

/* One open connection (its libmicrohttpd socket context). */
struct mm_viewer__conn {
    struct mm_viewer__conn *prev, *next;
    MHD_socket fd;  /* an int, but winsock's SOCKET on Windows */
    int waiting;    /* no request is being answered and the connection is not being closed */
    uint64_t since; /* monotonic ms: when it began to wait */
};

/* Close @k (caller holds v->conn_lock): its thread sees the end of the stream. */
static void cut(struct mm_viewer__conn *k)
{
#ifdef _WIN32
    shutdown(k->fd, SD_BOTH);
#else
    shutdown(k->fd, SHUT_RDWR);
#endif
    k->waiting = 0;
}

/* How many connections wait. Caller holds v->conn_lock. */
static unsigned int count_waiting(const mm_viewer *v)
{
    unsigned int n = 0;

    for (const struct mm_viewer__conn *o = v->conns; o; o = o->next)
        n += o->waiting != 0;
    return n;
}

/* The waiting connection that has waited longest. Caller holds v->conn_lock. */
static struct mm_viewer__conn *oldest_waiting(mm_viewer *v)
{
    struct mm_viewer__conn *old = NULL;

    for (struct mm_viewer__conn *o = v->conns; o; o = o->next)
        if (o->waiting && (!old || o->since < old->since))
            old = o;
    return old;
}

void mm_viewer__on_connection(void *cls, struct MHD_Connection *c, void **ctx,
                              enum MHD_ConnectionNotificationCode toe)
{
    mm_viewer *v = cls;
    struct mm_viewer__conn *k = *ctx;
    const union MHD_ConnectionInfo *info;

    pthread_mutex_lock(&v->conn_lock);
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (k) {
            *(k->prev ? &k->prev->next : &v->conns) = k->next;
            if (k->next)
                k->next->prev = k->prev;
            mm_free(k);
            *ctx = NULL;
        }
        pthread_mutex_unlock(&v->conn_lock);
        return;
    }
    info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info || !(k = mm_calloc(1, sizeof(*k)))) { /* unguarded; its 120 s time-out holds */
        mm_error_clear();
        pthread_mutex_unlock(&v->conn_lock);
        return;
    }
    if (count_waiting(v) >= PENDING_MAX)
        cut(oldest_waiting(v));
    k->fd = info->connect_fd;
    k->waiting = 1;
    k->since = mm_viewer__now_ms();
    k->next = v->conns;
    if (v->conns)
        v->conns->prev = k;
    v->conns = k;
    *ctx = k;
    pthread_mutex_unlock(&v->conn_lock);
}

void mm_viewer__conn_waiting(mm_viewer *v, struct MHD_Connection *c, int waiting)
{
    const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct mm_viewer__conn *k = info ? info->socket_context : NULL;

    if (!k)
        return;
    pthread_mutex_lock(&v->conn_lock);
    k->waiting = waiting;
    k->since = mm_viewer__now_ms();
    pthread_mutex_unlock(&v->conn_lock);
}

/* Close every connection that has waited too long, until told to stop. */
static void *guard_main(void *arg)
{
    mm_viewer *v = arg;

    pthread_mutex_lock(&v->conn_lock);
    while (!v->conn_stop) {
        struct timespec t;
        uint64_t now;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += GUARD_TICK_MS * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&v->conn_cond, &v->conn_lock, &t);
        now = mm_viewer__now_ms();
        for (struct mm_viewer__conn *k = v->conns; k && !v->conn_stop; k = k->next)
            if (k->waiting && now - k->since >= v->pending_ms)
                cut(k);
    }
    pthread_mutex_unlock(&v->conn_lock);
    return NULL;
}

int mm_viewer__guard_start(mm_viewer *v)
{
    if (pthread_create(&v->guard, NULL, guard_main, v) != 0)
        return mm_error_set(MM_ENOMEM, "cannot start a thread");
    v->guard_started = 1;
    return 0;
}

void mm_viewer__guard_stop(mm_viewer *v)
{
    if (!v->guard_started)
        return;
    pthread_mutex_lock(&v->conn_lock);
    v->conn_stop = 1;
    pthread_cond_broadcast(&v->conn_cond);
    pthread_mutex_unlock(&v->conn_lock);
    pthread_join(v->guard, NULL);
    v->guard_started = 0;
}
