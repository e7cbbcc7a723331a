/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_view: the viewer as its users feel it, measured from outside over HTTP against a
 * running `mamori view`. (1) Open: the time from sending the passphrase to the first search
 * answer (login: key slot unlocked, generations listed; first search: the newest index's
 * blocks located, and those the search reads decrypted); one cold open per run. (2) Under @clients
 * concurrent keep-alive clients, each with its own session, for
 * @seconds each: search requests (kana family names, ID prefixes, birth dates) and patient
 * screen requests (summary + lab matrix of patients found by those searches); median, 99th
 * percentile and maximum latency, and requests per second.
 *   bench_view PORT PASSPHRASE [clients] [seconds]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX (64u * 1024u * 1024u)
#define IDS_MAX  4096

static unsigned short port;
static pthread_barrier_t ready; /* every client logged in (logins are one at a time) */
static const char *passphrase;
static char *ids[IDS_MAX];
static size_t nids;

static const char *const queries[] = {
    "サトウ",   "スズキ",   "タカハシ", "タナカ",   "イトウ", "ワタナベ", "ヤマモト", "なかむら",
    "こばやし", "カトウ",   "ヨシダ",   "ヤマダ",   "ササキ", "ヤマグチ", "マツモト", "イノウエ",
    "キムラ",   "ハヤシ",   "シミズ",   "ヤマザキ", "1000",   "10005",    "100123",   "1950-01-01",
    "S25.4.1",  "19601010", "ﾀﾅｶ",      "佐藤",     "鈴木",   "高橋",
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int connect_local(void)
{
    struct sockaddr_in sa = { 0 };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0)
        return -1;
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

struct conn {
    int fd;
    char cookie[128];
    char *buf; /* the last response body */
    size_t len, cap;
};

/* Send one request and read the whole response (Content-Length). @return the status or -1 */
static int request(struct conn *c, const char *method, const char *path, const char *body)
{
    char head[2048], *p, *hdr_end;
    size_t have = 0, need = 0, blen = body ? strlen(body) : 0;
    int n, status;

    if (c->fd < 0 && (c->fd = connect_local()) < 0)
        return -1;
    n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s%s%s%s", method,
                 path, (unsigned)port, c->cookie[0] ? "Cookie: " : "", c->cookie,
                 c->cookie[0] ? "\r\n" : "", body ? "Content-Type: application/json\r\n" : "");
    if (body)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n\r\n", blen);
    else
        n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
    if (write(c->fd, head, (size_t)n) != n || (blen && write(c->fd, body, blen) != (ssize_t)blen))
        return -1;
    for (;;) {
        ssize_t r;
        if (have + 65536 > c->cap) {
            c->cap = c->cap ? c->cap * 2 : 1u << 20;
            if (c->cap > RESP_MAX || !(c->buf = realloc(c->buf, c->cap)))
                return -1;
        }
        r = read(c->fd, c->buf + have, c->cap - have - 1);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        c->buf[have] = '\0';
        if (!(hdr_end = strstr(c->buf, "\r\n\r\n")))
            continue;
        if (!need) {
            p = strcasestr(c->buf, "\r\nContent-Length:");
            if (!p || p > hdr_end)
                return -1;
            need = (size_t)(hdr_end + 4 - c->buf) + strtoul(p + 17, NULL, 10);
        }
        if (have >= need)
            break;
    }
    status = atoi(c->buf + 9);
    if (!c->cookie[0] && (p = strcasestr(c->buf, "\r\nSet-Cookie: ")) && p < hdr_end) {
        char *e = strchr(p + 14, ';');
        if (e && (size_t)(e - (p + 14)) < sizeof(c->cookie))
            snprintf(c->cookie, sizeof(c->cookie), "%.*s", (int)(e - (p + 14)), p + 14);
    }
    c->len = need - (size_t)(hdr_end + 4 - c->buf);
    memmove(c->buf, hdr_end + 4, c->len);
    c->buf[c->len] = '\0';
    return status;
}

static void urlenc(const char *s, char *out, size_t cap)
{
    size_t o = 0;

    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.')
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
    }
    out[o] = '\0';
}

static int login(struct conn *c)
{
    char body[1200];

    snprintf(body, sizeof(body), "{\"passphrase\":\"%s\"}", passphrase);
    return request(c, "POST", "/api/login", body);
}

/* Remember the patient IDs of a search answer. */
static void collect_ids(const char *json)
{
    const char *p = json;

    while (nids < IDS_MAX && (p = strstr(p, "{\"id\":\""))) {
        const char *e = strchr(p + 7, '"');
        if (!e)
            break;
        ids[nids++] = strndup(p + 7, (size_t)(e - (p + 7)));
        p = e;
    }
}

struct worker {
    pthread_t t;
    int kind; /* 0 search, 1 patient */
    double until;
    unsigned seed;
    double *lat;
    size_t n, cap;
    int errors;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct conn c = { .fd = -1 };
    char path[1024], q[512];

    int in = login(&c) == 200;

    if (!in)
        w->errors++;
    pthread_barrier_wait(&ready);
    w->until += now();
    while (in && now() < w->until) {
        double t0, t1;
        int st;
        if (w->kind == 0) {
            urlenc(queries[rand_r(&w->seed) % NQUERIES], q, sizeof(q));
            snprintf(path, sizeof(path), "/api/search?q=%s", q);
        } else {
            snprintf(path, sizeof(path), "/api/patient?id=%s", ids[rand_r(&w->seed) % nids]);
        }
        t0 = now();
        st = request(&c, "GET", path, NULL);
        t1 = now();
        if (st != 200) {
            if (getenv("BENCH_VIEW_DEBUG"))
                fprintf(stderr, "status %d for %s\n", st, path);
            w->errors++;
            if (c.fd >= 0)
                close(c.fd);
            c.fd = -1;
            continue;
        }
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 4096;
            w->lat = realloc(w->lat, w->cap * sizeof(double));
        }
        w->lat[w->n++] = (t1 - t0) * 1000.0;
    }
    request(&c, "POST", "/api/logout", "{}");
    if (c.fd >= 0)
        close(c.fd);
    free(c.buf);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void run(const char *what, int kind, int clients, double seconds)
{
    struct worker *w = calloc((size_t)clients, sizeof(*w));
    double *all = NULL, t0 = now();
    size_t n = 0;
    int errors = 0;

    pthread_barrier_init(&ready, NULL, (unsigned)clients + 1);
    for (int i = 0; i < clients; i++) {
        w[i].kind = kind;
        w[i].until = seconds; /* from when every client is in */
        w[i].seed = (unsigned)(i * 7919 + kind);
        pthread_create(&w[i].t, NULL, worker_main, &w[i]);
    }
    pthread_barrier_wait(&ready);
    t0 = now();
    for (int i = 0; i < clients; i++) {
        pthread_join(w[i].t, NULL);
        all = realloc(all, (n + w[i].n + 1) * sizeof(double));
        memcpy(all + n, w[i].lat, w[i].n * sizeof(double));
        n += w[i].n;
        errors += w[i].errors;
        free(w[i].lat);
    }
    pthread_barrier_destroy(&ready);
    qsort(all, n, sizeof(double), cmp_d);
    if (n)
        printf("%-8s %2d clients  %7zu requests  %7.0f req/s  median %6.2f ms  p99 %6.2f ms  "
               "max %7.2f ms  errors %d\n",
               what, clients, n, (double)n / (now() - t0), all[n / 2], all[(n * 99) / 100],
               all[n - 1], errors);
    else
        printf("%-8s no answers (errors %d)\n", what, errors);
    free(all);
    free(w);
}

int main(int argc, char **argv)
{
    struct conn c = { .fd = -1 };
    int clients = argc > 3 ? atoi(argv[3]) : 20;
    double seconds = argc > 4 ? atof(argv[4]) : 20, t0, t1, t2, t3;
    char path[1024], q[512];

    if (argc < 3) {
        fprintf(stderr, "usage: bench_view PORT PASSPHRASE [clients] [seconds]\n");
        return 2;
    }
    port = (unsigned short)atoi(argv[1]);
    passphrase = argv[2];
    t0 = now();
    if (login(&c) != 200) {
        fprintf(stderr, "bench_view: login failed\n");
        return 1;
    }
    t1 = now();
    if (request(&c, "GET", "/api/generations", NULL) != 200)
        return 1;
    urlenc(queries[0], q, sizeof(q));
    snprintf(path, sizeof(path), "/api/search?q=%s", q);
    t2 = now();
    if (request(&c, "GET", path, NULL) != 200)
        return 1;
    t3 = now();
    printf("open     passphrase to search answer %.2f s (login %.2f s, generations %.3f s, first"
           " search with the index opened %.2f s)\n",
           t3 - t0, t1 - t0, t2 - t1, t3 - t2);
    for (size_t i = 0; i < NQUERIES; i++) {
        urlenc(queries[i], q, sizeof(q));
        snprintf(path, sizeof(path), "/api/search?q=%s", q);
        if (request(&c, "GET", path, NULL) == 200)
            collect_ids(c.buf);
    }
    if (!nids) {
        fprintf(stderr, "bench_view: no patients found\n");
        return 1;
    }
    printf("patients sampled from the searches: %zu\n", nids);
    /* this session stays open: the index stays decrypted between the two runs */
    run("search", 0, clients, seconds);
    run("patient", 1, clients, seconds);
    request(&c, "POST", "/api/logout", "{}");
    close(c.fd);
    free(c.buf);
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    return 0;
}
