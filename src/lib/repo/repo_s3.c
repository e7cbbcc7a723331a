/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The repository backend on an S3 bucket (repo_backend.h ops on s3/s3.h): repository file
 * <rel> is the key "<prefix>/<rel>". At open the whole prefix's versions are listed into the
 * catalog (repo_s3_catalog.c): ONCE files are read as their FIRST version by version ID, so
 * an attacker holding the same credentials who overwrites a pack or adds a delete marker
 * changes nothing a restore reads; REPLACE files are read as their newest version. ONCE
 * writes go through the queue (repo_s3_queue.c) with the retention the lock proof
 * (repo_s3_proof.c) allows; REPLACE writes are synchronous and never retained. Removal takes
 * every version of a key, and is refused by the store while a version is retained.
 * The library reads MAMORI_S3_* from the environment here, because mm_repo_be_open() is given
 * only the location (docs/operations.md "S3 vault").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/log.h"
#include "repo/repo_int.h"
#include "repo/repo_s3_int.h"

static const struct mm_repo_be_ops s3_ops;

int mm_repo_be_is_s3_backend(const struct mm_repo_be *b)
{
    return b && b->ops == &s3_ops;
}

int mm_repo__s3_key(const struct s3be *h, const char *rel, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", h->prefix, rel);

    if (n < 0 || (size_t)n >= cap)
        return mm_error_set(MM_ELIMIT, "S3 key too long");
    return 0;
}

/* The versions of exactly @rel, listed now, into @e (oldest and newest). */
static int list_versions(struct s3be *h, const char *rel, struct mm_repo__s3_ent *e)
{
    char key[1024];
    int err;

    memset(e, 0, sizeof(*e));
    if ((err = mm_repo__s3_key(h, rel, key, sizeof(key))) < 0)
        return err;
    return mm_repo__s3_key_versions(h->s3, key, e);
}

static void ent_release(struct mm_repo__s3_ent *e)
{
    mm_free(e->first);
    mm_free(e->newest);
    mm_free(e->live);
    memset(e, 0, sizeof(*e));
}

/*
 * The version of @rel to read into @version ("": the newest, an unversioned GET) and, when
 * known (*@known), its size. A ONCE file not in the catalog (written by another writer since
 * open) is looked up by listing. @return 0, MM_ENOTFOUND, the listing's error
 */
static int pick_version(struct s3be *h, const char *rel, char version[256], uint64_t *size,
                        int *known)
{
    struct mm_repo__s3_ent *e, tmp;
    int once = mm_repo__s3_is_once(rel), err;

    *known = 0;
    version[0] = '\0';
    pthread_mutex_lock(&h->mu);
    while ((e = mm_repo__s3_cat_get(&h->cat, rel)) && e->pending)
        pthread_cond_wait(&h->cv, &h->mu);
    /* REPLACE: the newest now (another writer may have replaced it since open), unless this
     * handle wrote it */
    if (e && (once ? e->first : (e->mine ? e->newest : NULL))) {
        snprintf(version, 256, "%s", once ? e->first : e->newest);
        *size = once ? e->first_size : e->newest_size;
        *known = 1;
    }
    pthread_mutex_unlock(&h->mu);
    if (*known || (!once && !mm_repo__s3_is_kept_replace(rel)))
        return 0;
    /* a ONCE file another writer wrote since open: its first version; a key slot: its newest
     * version that is not a delete marker, listed now */
    if ((err = list_versions(h, rel, &tmp)) == 0 && !(once ? tmp.first : tmp.live))
        err = mm_error_set(MM_ENOTFOUND, "'%s' not found in %s", rel, h->where);
    if (err == 0) {
        snprintf(version, 256, "%s", once ? tmp.first : tmp.live);
        *size = once ? tmp.first_size : tmp.live_size;
        *known = 1;
    }
    ent_release(&tmp);
    return err;
}

/* GET @len bytes at @off of @rel (0: whole) into @out. */
static int get_rel(struct s3be *h, const char *rel, uint64_t off, uint64_t len, mm_buf *out)
{
    char key[1024], version[256];
    uint64_t size = 0;
    int err, known;

    if ((err = pick_version(h, rel, version, &size, &known)) < 0)
        return err;
    if ((err = mm_repo__s3_key(h, rel, key, sizeof(key))) < 0)
        return err;
    err = mm_s3_get(h->s3, key, version[0] ? version : NULL, off, len, out, NULL);
    if (err == MM_ENOTFOUND)
        return mm_error_set(MM_ENOTFOUND, "'%s' not found in %s", rel, h->where);
    return err;
}

static int s3_read(struct mm_repo_be *b, const char *rel, mm_buf *out)
{
    return get_rel((struct s3be *)b, rel, 0, 0, out);
}

/* mm_repo__s3_fetch_fn: GET @len bytes at @off of @rel@@@version into a new buffer *@out. */
static int cache_fetch(void *arg, const char *rel, const char *version, uint64_t off, size_t len,
                       unsigned char **out)
{
    struct s3be *h = arg;
    char key[1024];
    mm_buf buf;
    int err;

    if ((err = mm_repo__s3_key(h, rel, key, sizeof(key))) < 0)
        return err;
    mm_buf_init(&buf, len);
    /* the answer lands in place: no growth, no copy (the span keeps this buffer) */
    if ((err = mm_buf_reserve(&buf, len + 1)) == 0)
        err = mm_s3_get(h->s3, key, version, off, len, &buf, NULL);
    if (err == MM_ENOTFOUND)
        err = mm_error_set(MM_ENOTFOUND, "'%s' not found in %s", rel, h->where);
    if (err == 0 && buf.len != len)
        err = mm_error_set(MM_ECORRUPT, "'%s': short read", rel);
    if (err == 0) {
        *out = (unsigned char *)buf.ptr; /* now owned by the caller */
        return 0;
    }
    mm_buf_release(&buf);
    return err;
}

/*
 * A ONCE file's bytes come through the read cache (repo_s3_cache.c), keyed by the version the
 * catalog names; REPLACE files (and everything when the cache is off) by one ranged GET.
 */
static int s3_read_at(struct mm_repo_be *b, const char *rel, uint64_t off, void *dst, size_t n)
{
    struct s3be *h = (struct s3be *)b;
    char version[256];
    uint64_t size = 0;
    mm_buf buf;
    int err, known;

    if (n == 0)
        return 0;
    if (h->cache && mm_repo__s3_is_once(rel)) {
        if ((err = pick_version(h, rel, version, &size, &known)) < 0)
            return err;
        if (known && version[0])
            return mm_repo__s3_cache_read(h->cache, rel, version, size, off, dst, n);
    }
    mm_buf_init(&buf, n);
    err = get_rel(h, rel, off, n, &buf);
    if (err == 0 && buf.len != n)
        err = mm_error_set(MM_ECORRUPT, "'%s': short read", rel);
    if (err == 0)
        memcpy(dst, buf.ptr, n);
    mm_buf_release(&buf);
    return err;
}

static int s3_stat(struct mm_repo_be *b, const char *rel, uint64_t *size)
{
    struct s3be *h = (struct s3be *)b;
    char key[1024], version[256];
    struct mm_s3_obj info;
    int err, known;

    if ((err = pick_version(h, rel, version, size, &known)) < 0)
        return err;
    if (known)
        return 0; /* the catalog knows the size of that version */
    if ((err = mm_repo__s3_key(h, rel, key, sizeof(key))) < 0)
        return err;
    if ((err = mm_s3_head(h->s3, key, NULL, &info)) == MM_ENOTFOUND)
        return mm_error_set(MM_ENOTFOUND, "'%s' not found in %s", rel, h->where);
    if (err == 0)
        *size = info.size;
    return err;
}

/* Queue ONCE file @rel unless the catalog has it already. */
static int write_once(struct s3be *h, const char *rel, const void *p, size_t n)
{
    struct mm_repo__s3_ent *e;
    int err;

    if ((err = mm_repo__s3_prove(h)) < 0)
        return err;
    pthread_mutex_lock(&h->mu);
    e = mm_repo__s3_cat_put(&h->cat, rel);
    if (e && (e->first || e->pending)) {
        pthread_mutex_unlock(&h->mu);
        return 0; /* content-named: the same bytes are there (or on their way) */
    }
    if (e)
        e->pending = 1;
    pthread_mutex_unlock(&h->mu);
    if (!e)
        return MM_ENOMEM;
    if ((err = mm_repo__s3_enqueue(h, MM_REPO__S3_JOB_PUT, rel, p, n, 0)) < 0) {
        pthread_mutex_lock(&h->mu);
        e->pending = 0;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
    return err;
}

static int s3_write(struct mm_repo_be *b, const char *rel, const void *p, size_t n, int kind)
{
    struct s3be *h = (struct s3be *)b;

    int err;

    if (kind == MM_REPO_BE_ONCE)
        return write_once(h, rel, p, n);
    if (!mm_repo__s3_is_kept_replace(rel))
        return mm_repo__s3_put_now(h, rel, p, n, 0);
    /* a key slot: replaced (key passwd), yet every version retained like a ONCE file */
    if ((err = mm_repo__s3_prove(h)) < 0)
        return err;
    return mm_repo__s3_put_now(h, rel, p, n, 1);
}

struct live_ctx {
    struct mm_repo__names *l;
    const char *prefix;
    size_t klen; /* length of "<key prefix><dir>/" */
};

/* mm_s3_list_fn: a current key of a REPLACE folder, or (key slots, listed by version) a key
 * with a version that is not a delete marker, once. */
static int live_one(void *arg, const struct mm_s3_obj *o)
{
    struct live_ctx *x = arg;
    const char *name = o->key && strlen(o->key) > x->klen ? o->key + x->klen : NULL;

    if (!name || o->delete_marker || !mm_repo_be_listed_name(name))
        return 0;
    if (x->l->n && strcmp(x->l->v[x->l->n - 1] + strlen(x->prefix), name) == 0)
        return 0; /* an older version of the key just listed */
    return mm_repo_be_names_push(x->l, x->prefix, name);
}

static int s3_list(struct mm_repo_be *b, const char *dir, struct mm_repo__names *l,
                   const char *prefix)
{
    struct s3be *h = (struct s3be *)b;
    size_t dl = strlen(dir), k;
    char key[1024];
    int err = 0, n;

    n = snprintf(key, sizeof(key), "%s/x", dir);
    if (n < 0 || (size_t)n >= sizeof(key))
        return mm_error_set(MM_ELIMIT, "folder name too long");
    if (!mm_repo__s3_is_once(key)) {
        /* another writer's lock or key slot matters now, not as it was at open */
        struct live_ctx x = { l, prefix, 0 };
        n = snprintf(key, sizeof(key), "%s%s/", h->prefix, dir);
        if (n < 0 || (size_t)n >= sizeof(key))
            return mm_error_set(MM_ELIMIT, "S3 key too long");
        x.klen = (size_t)n;
        if (mm_repo__s3_is_kept_replace(key + strlen(h->prefix)))
            return mm_s3_list_versions(h->s3, key, 0, live_one, &x);
        return mm_s3_list(h->s3, key, 1, 0, live_one, &x);
    }
    pthread_mutex_lock(&h->mu);
    for (k = 0; k < h->cat.cap && err == 0; k++) {
        struct mm_repo__s3_ent *e = h->cat.slots[k];
        if (!e || (!e->first && !e->pending) || strncmp(e->rel, dir, dl) != 0 ||
            e->rel[dl] != '/' || !mm_repo_be_listed_name(e->rel + dl + 1))
            continue;
        err = mm_repo_be_names_push(l, prefix, e->rel + dl + 1);
    }
    pthread_mutex_unlock(&h->mu);
    return err;
}

struct vers {
    const char *key;
    struct mm_repo__names l; /* the version IDs */
};

/* mm_s3_list_fn: collect every version (and delete marker) of exactly v->key. */
static int vers_one(void *arg, const struct mm_s3_obj *o)
{
    struct vers *x = arg;

    if (!o->key || strcmp(o->key, x->key) != 0)
        return 0;
    return mm_repo_be_names_push(&x->l, "", o->version);
}

/* MM_EREFUSED naming when @key@@version is retained, or 0 when it is not (any more). */
static int refuse_retained(struct s3be *h, const char *rel, const char *key, const char *version)
{
    struct mm_s3_obj info;
    char when[32];

    if (mm_s3_head(h->s3, key, version, &info) < 0 || info.retain_until <= (int64_t)time(NULL))
        return 0;
    mm_s3_time_format(info.retain_until, when);
    return mm_error_set(MM_EREFUSED, "'%s' is retained until %s", rel, when);
}

static int s3_remove(struct mm_repo_be *b, const char *rel)
{
    struct s3be *h = (struct s3be *)b;
    struct mm_repo__s3_ent *e;
    struct vers x = { NULL, { NULL, 0, 0 } };
    char key[1024], first[256] = "";
    size_t i;
    int err;

    if ((err = mm_repo__s3_key(h, rel, key, sizeof(key))) < 0)
        return err;
    x.key = key;
    pthread_mutex_lock(&h->mu);
    if ((e = mm_repo__s3_cat_get(&h->cat, rel)) && e->first && mm_repo__s3_is_once(rel))
        snprintf(first, sizeof(first), "%s", e->first);
    pthread_mutex_unlock(&h->mu);
    if (first[0] && (err = refuse_retained(h, rel, key, first)) < 0)
        return err; /* nothing removed: not even an attacker's newer versions */
    if ((err = mm_s3_list_versions(h->s3, key, 0, vers_one, &x)) < 0)
        goto out;
    for (i = 0; i < x.l.n && err == 0; i++) {
        err = mm_s3_delete(h->s3, key, x.l.v[i], 0);
        if (err == MM_EREFUSED && refuse_retained(h, rel, key, x.l.v[i]) == 0)
            err = mm_error_set(MM_EREFUSED, "the store refused to remove '%s'", rel);
    }
    pthread_mutex_lock(&h->mu);
    if (err == 0 && (e = mm_repo__s3_cat_get(&h->cat, rel))) {
        mm_repo__s3_set_version(&e->first, NULL);
        mm_repo__s3_set_version(&e->newest, NULL);
        e->retain_until = 0;
    }
    pthread_mutex_unlock(&h->mu);
out:
    mm_repo__list_free(x.l.v, x.l.n);
    return err;
}

static int s3_flush(struct mm_repo_be *b)
{
    return mm_repo__s3_flush((struct s3be *)b);
}

static void s3_close(struct mm_repo_be *b)
{
    struct s3be *h = (struct s3be *)b;

    if (!h)
        return;
    mm_repo__s3_queue_stop(h);
    if (h->cache) {
        struct mm_repo__s3_cache_stats st;
        mm_repo__s3_cache_stats(h->cache, &st);
        mm_log(MM_LOG_DEBUG,
               "S3 read cache: %llu fetches, %llu hits, %llu evictions, %llu uncached, "
               "peak %zu KiB",
               (unsigned long long)st.fetches, (unsigned long long)st.hits,
               (unsigned long long)st.evictions, (unsigned long long)st.bypassed, st.peak / 1024);
        mm_repo__s3_cache_free(h->cache);
    }
    mm_repo__s3_cat_free(&h->cat);
    mm_s3_free(h->s3);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->proof_mu);
    pthread_mutex_destroy(&h->mu);
    mm_free(h->prefix);
    mm_free(h->bucket);
    mm_free(h);
}

static const struct mm_repo_be_ops s3_ops = {
    s3_read,   s3_read_at, s3_stat,  s3_write, s3_list,
    s3_remove, s3_flush,   s3_close, NULL, /* release: it holds no descriptor of a file */
};

/* An unsigned number from the environment variable @name in [@lo, @hi], else @def. */
static unsigned env_number(const char *name, unsigned lo, unsigned hi, unsigned def)
{
    const char *v = getenv(name);
    char *end;
    unsigned long n;

    if (!v || !*v)
        return def;
    n = strtoul(v, &end, 10);
    if (*end || n < lo || n > hi) {
        mm_log(MM_LOG_WARN, "%s: not a number from %u to %u, %u used", name, lo, hi, def);
        return def;
    }
    return (unsigned)n;
}

/* The handle's settings from the environment (retention, lock mode, workers). */
static void settings_from_env(struct s3be *h)
{
    const char *mode = getenv("MAMORI_S3_LOCK_MODE");

    h->retain_days = env_number("MAMORI_S3_RETAIN_DAYS", 1, 36500, 30);
    h->want_workers = env_number("MAMORI_S3_PARALLEL", 1, 64, 8);
    h->mode = MM_S3_LOCK_COMPLIANCE;
    if (mode && strcmp(mode, "GOVERNANCE") == 0) {
        h->mode = MM_S3_LOCK_GOVERNANCE;
        mm_log(MM_LOG_WARN, "S3 retention in GOVERNANCE mode: anyone allowed to bypass "
                            "governance retention can delete the backups");
    } else if (mode && *mode && strcmp(mode, "COMPLIANCE") != 0) {
        mm_log(MM_LOG_WARN, "MAMORI_S3_LOCK_MODE: not COMPLIANCE or GOVERNANCE, COMPLIANCE used");
    }
}

/* The read cache of @h sized by MAMORI_S3_CACHE_MB (0: none). @return 0, MM_ENOMEM */
static int cache_from_env(struct s3be *h)
{
    struct mm_repo__s3_cache_cfg cfg;
    unsigned mb = env_number("MAMORI_S3_CACHE_MB", 0, 65536, MM_REPO__S3_CACHE_MB);

    if (mb == 0)
        return 0;
    cfg.budget = (size_t)mb * 1024u * 1024u;
    cfg.whole_max = MM_REPO__S3_CACHE_WHOLE_MAX;
    cfg.window = MM_REPO__S3_CACHE_WINDOW;
    return mm_repo__s3_cache_new(&h->cache, &cfg, cache_fetch, h);
}

/* Make the S3 client of @u. @return 0, MM_EINVAL, MM_EREFUSED, MM_EIO, MM_ENOMEM */
static int client_new(struct s3be *h, const struct mm_repo__s3_url *u)
{
    struct mm_repo__s3_creds c;
    struct mm_s3_cfg cfg;
    int err;

    err = mm_repo__s3_creds_load(&c, getenv("MAMORI_S3_ACCESS_KEY"), getenv("MAMORI_S3_SECRET_KEY"),
                                 getenv("MAMORI_S3_REGION"), getenv("MAMORI_S3_CREDENTIALS"),
                                 getenv("HOME"));
    if (err < 0)
        return err;
    memset(&cfg, 0, sizeof(cfg));
    cfg.endpoint = u->endpoint;
    cfg.bucket = u->bucket;
    cfg.region = c.region[0] ? c.region : NULL;
    cfg.access_key = c.access;
    cfg.secret_key = c.secret;
    cfg.ca_file = getenv("MAMORI_S3_CA_FILE");
    err = mm_s3_new(&h->s3, &cfg);
    mm_repo__s3_creds_wipe(&c);
    return err;
}

/* A new empty handle for @u. @return NULL when out of memory */
static struct s3be *handle_new(const struct mm_repo__s3_url *u)
{
    struct s3be *h = mm_calloc(1, sizeof(*h));
    size_t pl = strlen(u->prefix);

    if (!h)
        return NULL;
    h->prefix = mm_malloc(pl + 2);
    h->bucket = mm_strdup(u->bucket);
    if (!h->prefix || !h->bucket) {
        mm_free(h->prefix);
        mm_free(h->bucket);
        mm_free(h);
        return NULL;
    }
    snprintf(h->prefix, pl + 2, "%s%s", u->prefix, pl ? "/" : "");
    pthread_mutex_init(&h->mu, NULL);
    pthread_mutex_init(&h->proof_mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    snprintf(h->where, sizeof(h->where), "%s", u->where);
    h->be.ops = &s3_ops;
    h->be.where = h->where;
    h->be.info.scheme = "s3";
    snprintf(h->be.info.why_not, sizeof(h->be.info.why_not), "the lock has not been proven yet");
    return h;
}

int mm_repo_be_s3_open(struct mm_repo_be **out, const char *url, int create)
{
    struct mm_repo__s3_url u;
    const char *http = getenv("MAMORI_S3_HTTP");
    struct s3be *h;
    int err;

    if ((err = mm_repo__s3_url_parse(url, http && strcmp(http, "1") == 0, &u)) < 0)
        return err;
    if (!(h = handle_new(&u)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    settings_from_env(h);
    if ((err = client_new(h, &u)) < 0 || (err = cache_from_env(h)) < 0)
        goto out;
    err = mm_repo__s3_cat_load(&h->cat, h->s3, h->prefix);
    if (err == MM_ENOTFOUND)
        err = mm_error_set(MM_ENOTFOUND, "%s: no such bucket", h->where);
    if (err == 0 && create)
        err = mm_repo__s3_prove(h);
out:
    if (err < 0) {
        s3_close(&h->be);
        return err;
    }
    *out = &h->be;
    return 0;
}
