/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Creating and opening a repository (marker, key slots, sealed config), key slot
 * management, the repository lock, and reading and writing generation manifests (sealed,
 * signed) and verify records (listed and applied by repo_gens.c). The marker "mamori-repo" is the
 * only file in the clear besides key slots and locks; it names the format version, so an older
 * mamori refuses a newer repository.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "repo/repo_int.h"

#define MARKER          "mamori-repo"
#define CONFIG_SIZE     36u /* chunk min, avg, max, zstd level, pack target: le32; repo id 16 */
#define MANIFEST_DOMAIN "mamori-manifest-v1"

static const char *const repo_dirs[] = { "keys",  "data",     "index", "generations",
                                         "locks", "verified", "audit", "dict" };

/* ---- helpers -------------------------------------------------------------------------------- */

/* Random bytes as lower-case hex (2 * @n digits and a NUL). */
static void random_hex(char *out, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char b[64];

    mm_crypto_random(b, n);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* A handle on the backend @be (taken over, also on failure; NULL: opened from @path with
 * @create). @return 0, MM_ENOMEM, and the errors of mm_repo_be_open() */
static int repo_alloc(mm_repo **out, const char *path, struct mm_repo_be *be, int create)
{
    mm_repo *r;
    int err;

    if (!be && (err = mm_repo_be_open(&be, path, create)) < 0)
        return err;
    if (!(r = mm_calloc(1, sizeof(*r))) || !(r->path = mm_strdup(path))) {
        mm_free(r);
        be->ops->close(be);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    r->be = be; /* now owned by the handle */
    pthread_rwlock_init(&r->ix.lock, NULL);
    pthread_mutex_init(&r->dkc.lock, NULL);
    *out = r;
    return 0;
}

void mm_repo_free(mm_repo *r)
{
    if (!r)
        return;
    mm_repo_unlock(r);
    mm_repo__index_release(&r->ix);
    mm_repo__dict_release(r);
    pthread_rwlock_destroy(&r->ix.lock);
    mm_repo__dkcache_release(&r->dkc);
    pthread_mutex_destroy(&r->dkc.lock);
    mm_keyset_free(r->ks);
    mm_repo__copies_release(r);
    if (r->be)
        r->be->ops->close(r->be);
    mm_free(r->path);
    mm_free(r);
}

struct mm_repo_be *mm_repo_backend(mm_repo *r)
{
    return r->be;
}

const char *mm_repo_user(const mm_repo *r)
{
    return r->user;
}

const char *mm_repo_id(const mm_repo *r)
{
    return r->id;
}

const mm_keyset *mm_repo_keyset(const mm_repo *r)
{
    return r->ks;
}

static void config_encode(const mm_repo *r, unsigned char out[CONFIG_SIZE])
{
    mm_put_le32(out, (uint32_t)r->cfg.chunk.min);
    mm_put_le32(out + 4, (uint32_t)r->cfg.chunk.avg);
    mm_put_le32(out + 8, (uint32_t)r->cfg.chunk.max);
    mm_put_le32(out + 12, (uint32_t)r->cfg.zstd_level);
    mm_put_le32(out + 16, r->cfg.pack_target);
    for (size_t i = 0; i < 16; i++) {
        unsigned v;
        sscanf(r->id + 2 * i, "%2x", &v);
        out[20 + i] = (unsigned char)v;
    }
}

/* The marker's text: format, repository ID, and a check of both lines (first 8 bytes of
 * their BLAKE2b-256 in hex), which an older mamori ignores. */
static void marker_text(unsigned version, const char *id, char *out, size_t cap)
{
    unsigned char h[ID_SIZE];
    int n = snprintf(out, cap, MARKER " %u\nid %s\n", version, id);

    mm_crypto_hash(out, (size_t)n, h);
    snprintf(out + n, cap - (size_t)n, "check %02x%02x%02x%02x%02x%02x%02x%02x\n", h[0], h[1], h[2],
             h[3], h[4], h[5], h[6], h[7]);
}

/* Parse a marker copy: version, ID, whether it has a check line. @return 0, MM_ECORRUPT */
static int marker_parse(const void *p, size_t n, unsigned *version, char id[33], int *checked)
{
    char text[160], want[160];
    int used = 0;

    if (n == 0 || n >= sizeof(text) || memchr(p, '\0', n))
        return mm_error_set(MM_ECORRUPT, "'" MARKER "' is damaged");
    memcpy(text, p, n);
    text[n] = '\0';
    if (sscanf(text, MARKER " %u\nid %32[0-9a-f]\n%n", version, id, &used) != 2 || used == 0 ||
        strlen(id) != 32)
        return mm_error_set(MM_ECORRUPT, "'" MARKER "' is damaged");
    *checked = (size_t)used < n;
    if ((size_t)used == n)
        return 0; /* made before markers had a check line */
    marker_text(*version, id, want, sizeof(want));
    if (strcmp(text, want) != 0)
        return mm_error_set(MM_ECORRUPT, "'" MARKER "' is damaged (check)");
    return 0;
}

/* mm_repo__intact_fn of the marker. */
static int marker_ok(const void *p, size_t n, void *arg)
{
    unsigned version;
    char id[33];
    int checked;

    (void)arg;
    return marker_parse(p, n, &version, id, &checked);
}

/* Read and check the marker of the repository at @r->path into r->id. */
static int read_marker(mm_repo *r)
{
    mm_buf b;
    unsigned version = 0;
    char id[33], text[160];
    int err, checked = 0;

    mm_buf_init(&b, 4096);
    err = mm_repo__read2(r, MARKER, &b, marker_ok, NULL);
    if (err == MM_ENOTFOUND) {
        err = mm_error_set(MM_ENOTFOUND, "no mamori repository at '%s'", r->path);
        goto out;
    }
    if (err < 0 || (err = marker_parse(b.ptr, b.len, &version, id, &checked)) < 0)
        goto out;
    if (version > MM_REPO_VERSION_MAX) {
        err = mm_error_set(
                MM_ECORRUPT,
                "repository format %u is newer than this mamori reads (%u): update mamori", version,
                MM_REPO_VERSION_MAX);
        goto out;
    }
    memcpy(r->id, id, sizeof(id));
    r->version = version;
    r->copies2 = checked;
    if (!checked) { /* the first write with the key gives the marker its check and copy */
        marker_text(version, id, text, sizeof(text));
        err = mm_repo__copy_note(r, MARKER, MM_REPO__COPY1_OLD | MM_REPO__COPY2_MISSING, text,
                                 strlen(text));
    }
out:
    mm_buf_release(&b);
    return err;
}

/* The sealed config of @r into @out. @return 0, MM_ENOMEM, MM_ELIMIT */
static int seal_config(mm_repo *r, mm_buf *out)
{
    unsigned char c[CONFIG_SIZE];

    config_encode(r, c);
    return mm_repo__envelope_seal(r, "MMCF", c, sizeof(c), out);
}

/* mm_repo__intact_fn of the config: it opens (MAC) into @arg (an mm_buf). */
static int config_ok(const void *p, size_t n, void *arg)
{
    mm_repo *r = ((void **)arg)[0];
    mm_buf *plain = ((void **)arg)[1];
    int err;

    mm_buf_clear(plain);
    if ((err = mm_repo__envelope_open(r, "MMCF", p, n, plain)) < 0)
        return mm_error_set(err == MM_EAUTH ? MM_ECORRUPT : err, "%s", mm_error_last());
    if (plain->len < CONFIG_SIZE)
        return mm_error_set(MM_ECORRUPT, "repository config is too short");
    return 0;
}

static int read_config(mm_repo *r)
{
    unsigned char want[CONFIG_SIZE];
    mm_buf raw, plain;
    void *arg[2] = { r, &plain };
    int err;

    mm_buf_init(&raw, 4096);
    mm_buf_init(&plain, 4096);
    if ((err = mm_repo__read2(r, "config", &raw, config_ok, arg)) < 0) {
        /* a marker without a config is a damaged repository, not a missing one */
        err = mm_error_set(err == MM_ENOTFOUND ? MM_ECORRUPT : err, "repository config: %s",
                           mm_error_last());
        goto out;
    }
    if ((err = config_ok(raw.ptr, raw.len, arg)) < 0) /* the copy read2 chose */
        goto out;
    {
        const unsigned char *c = (const unsigned char *)plain.ptr;
        r->cfg.chunk.min = mm_get_le32(c);
        r->cfg.chunk.avg = mm_get_le32(c + 4);
        r->cfg.chunk.max = mm_get_le32(c + 8);
        r->cfg.zstd_level = (int)mm_get_le32(c + 12);
        r->cfg.pack_target = mm_get_le32(c + 16);
        config_encode(r, want);
        if (memcmp(want + 20, c + 20, 16) != 0) {
            err = mm_error_set(MM_ECORRUPT, "repository config belongs to another repository");
            goto out;
        }
        if ((err = mm_chunk_params_check(&r->cfg.chunk)) < 0 || r->cfg.zstd_level < 1 ||
            r->cfg.zstd_level > 19 || r->cfg.pack_target < 1024 * 1024 ||
            r->cfg.pack_target > MM_REPO_PACK_MAX / 2) {
            err = mm_error_set(MM_ECORRUPT, "repository config has impossible values");
            goto out;
        }
    }
out:
    mm_buf_release(&raw);
    mm_buf_release(&plain);
    return err;
}

/* ---- init and open -------------------------------------------------------------------------- */

/* 1 when the file <@dir>/<@name> begins with the 4 bytes @magic. */
static int begins_with(const char *dir, const char *name, const char magic[4])
{
    char path[MM_LIMIT_PATH], head[4];
    FILE *f;
    int ok;

    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
        !(f = fopen(path, "rb")))
        return 0;
    ok = fread(head, 1, 4, f) == 4 && memcmp(head, magic, 4) == 0;
    fclose(f);
    return ok;
}

/* Whether @name in <@root>/<@sub> ("" the top) is what an init writes before its marker: a
 * temporary name, the config and its copy, a key slot and its copy (checked by their magic),
 * one of the layout's folders (2). */
static int init_leftover(const char *root, const char *sub, const char *name)
{
    char dir[MM_LIMIT_PATH];
    size_t n = strlen(name);

    snprintf(dir, sizeof(dir), "%s%s%s", root, *sub ? "/" : "", sub);
    if (strstr(name, ".tmp."))
        return 1;
    if (!*sub) {
        for (size_t i = 0; i < sizeof(repo_dirs) / sizeof(repo_dirs[0]); i++)
            if (strcmp(name, repo_dirs[i]) == 0)
                return 2;
        return (strcmp(name, "config") == 0 || strcmp(name, "config.2") == 0) &&
               begins_with(dir, name, "MMCF");
    }
    return strcmp(sub, "keys") == 0 && (n == 32 || (n == 34 && strcmp(name + 32, ".2") == 0)) &&
           strspn(name, "0123456789abcdef") >= 32 && begins_with(dir, name, "MMKS");
}

/* Walk what an init killed before its marker left in @root (only its own files, no marker,
 * no generation, no data): @remove 0 checks, 1 removes it. @return 1 such a folder, 0 not */
static int interrupted_init(const char *root, int remove)
{
    DIR *d = opendir(root), *sd;
    struct dirent *de, *se;
    char sub[MM_LIMIT_PATH], path[MM_LIMIT_PATH];
    int ok = d != NULL;

    while (ok && (de = readdir(d)) != NULL) {
        int kind;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        kind = init_leftover(root, "", de->d_name);
        if (snprintf(sub, sizeof(sub), "%s/%s", root, de->d_name) >= (int)sizeof(sub)) {
            ok = 0;
            break;
        }
        if (kind == 1 && remove)
            (void)unlink(sub);
        if (kind != 2) {
            ok = kind == 1;
            continue;
        }
        if (!(sd = opendir(sub))) {
            ok = 0;
            break;
        }
        while (ok && (se = readdir(sd)) != NULL) {
            if (strcmp(se->d_name, ".") == 0 || strcmp(se->d_name, "..") == 0)
                continue;
            ok = init_leftover(root, de->d_name, se->d_name) == 1 &&
                 snprintf(path, sizeof(path), "%s/%s", sub, se->d_name) < (int)sizeof(path);
            if (ok && remove)
                (void)unlink(path);
        }
        closedir(sd);
        if (ok && remove)
            (void)rmdir(sub);
    }
    if (d)
        closedir(d);
    return ok;
}

/* 1 when @path is an empty folder, 0 a folder with something in it, -1 none (errno). */
static int folder_empty(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    int empty = 1;

    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    return empty;
}

/* 1 when @path is missing or an empty folder, or holds only what an init killed before its
 * marker wrote (no generation, no data: removed, so that init can start again). */
static int usable_target(const char *path)
{
    int e = folder_empty(path);

    if (e < 0)
        return errno == ENOENT;
    if (e == 0 && interrupted_init(path, 0)) {
        (void)interrupted_init(path, 1);
        e = folder_empty(path);
    }
    return e == 1;
}

/* The empty repository's layout: its folders on a local backend (an object store has none),
 * after checking that nothing is there yet. @return 0, MM_EEXISTS, MM_EIO */
static int init_target(mm_repo *r)
{
    const char *dir = mm_repo__local(r);
    char p[MM_LIMIT_PATH];
    uint64_t size;
    int err;

    if (!dir) {
        if ((err = mm_repo__stat(r, MARKER, &size)) != MM_ENOTFOUND)
            return err < 0 ? err
                           : mm_error_set(MM_EEXISTS, "'%s' holds a repository already", r->path);
        mm_error_clear();
        return 0;
    }
    if (!usable_target(dir))
        return mm_error_set(MM_EEXISTS, "'%s' is not empty: a repository needs its own folder",
                            r->path);
    if ((err = mm_os_mkdir_p(dir, 0700)) < 0)
        return err;
    for (size_t i = 0; i < sizeof(repo_dirs) / sizeof(repo_dirs[0]); i++)
        if ((err = mm_repo__path(r, repo_dirs[i], p, sizeof(p))) < 0 ||
            (err = mm_os_mkdir_p(p, 0700)) < 0)
            return err;
    return 0;
}

/* Seal the key slot and the config (in memory: a failure there leaves no trace), make the
 * layout, then write slot and config, and the marker once they are stored: a folder with a
 * marker is a usable repository. */
static int init_write(mm_repo *r, const char *user, const char *pass, size_t passlen,
                      const struct mm_kdf_params *kdf)
{
    char marker[128], slot[64];
    mm_buf s, c;
    int err;

    mm_buf_init(&s, MM_KEYSLOT_SIZE);
    mm_buf_init(&c, 4096);
    if ((err = mm_repo__slot_seal(r, user, pass, passlen, kdf, &s, slot)) < 0 ||
        (err = seal_config(r, &c)) < 0 || (err = init_target(r)) < 0 ||
        (err = mm_repo__write2(r, slot, s.ptr, s.len)) < 0 ||
        (err = mm_repo__write2(r, "config", c.ptr, c.len)) < 0 || (err = mm_repo__flush(r)) < 0)
        goto out;
    marker_text(r->version, r->id, marker, sizeof(marker));
    if ((err = mm_repo__write2(r, MARKER, marker, strlen(marker))) == 0 &&
        (err = mm_repo__flush(r)) == 0)
        mm_repo__reserve_make(r); /* room for prune on a medium filled to the last byte */
out:
    mm_buf_release(&s);
    mm_buf_release(&c);
    return err;
}

int mm_repo_init(const char *path, const char *user, const char *pass, size_t passlen,
                 const struct mm_repo_init_opts *o)
{
    MM_ASSERT_ARG(path && user && (pass || passlen == 0));
    return mm_repo_init_be(path, NULL, user, pass, passlen, o);
}

int mm_repo_init_be(const char *path, struct mm_repo_be *be, const char *user, const char *pass,
                    size_t passlen, const struct mm_repo_init_opts *o)
{
    struct mm_repo_init_opts def = { 0 };
    mm_repo *r = NULL;
    int err;

    if (!o)
        o = &def;
    if ((err = mm_crypto_init()) < 0) {
        if (be)
            be->ops->close(be);
        return err;
    }
    if (!be && !mm_repo_be_is_s3(path) && !usable_target(path))
        return mm_error_set(MM_EEXISTS, "'%s' is not empty: a repository needs its own folder",
                            path);
    if ((err = repo_alloc(&r, path, be, 1)) < 0)
        return err;
    r->cfg.chunk.min = o->chunk ? o->chunk->min : MM_CHUNK_MIN;
    r->cfg.chunk.avg = o->chunk ? o->chunk->avg : MM_CHUNK_AVG;
    r->cfg.chunk.max = o->chunk ? o->chunk->max : MM_CHUNK_MAX;
    r->cfg.zstd_level = o->zstd_level ? o->zstd_level : MM_REPO_ZSTD_LEVEL;
    r->cfg.pack_target = o->pack_target ? (uint32_t)o->pack_target : MM_REPO_PACK_TARGET;
    r->version = o->format ? o->format : MM_REPO_VERSION;
    if (r->version < 2 || r->version > MM_REPO_VERSION_MAX) {
        err = mm_error_set(MM_EINVAL, "repository format %u cannot be created (2 or 3)",
                           r->version);
        goto out;
    }
    if ((err = mm_chunk_params_check(&r->cfg.chunk)) < 0)
        goto out;
    if (r->cfg.zstd_level < 1 || r->cfg.zstd_level > 19 || r->cfg.pack_target < 1024 * 1024 ||
        r->cfg.pack_target > MM_REPO_PACK_MAX / 2) {
        err = mm_error_set(MM_EINVAL, "compression level or pack size out of range");
        goto out;
    }
    if ((err = mm_keyset_generate(&r->ks)) < 0)
        goto out;
    random_hex(r->id, 16);
    err = init_write(r, user, pass, passlen, o->kdf);
out:
    mm_repo_free(r);
    return err;
}

int mm_repo_open(mm_repo **out, const char *path, const char *user, const char *pass,
                 size_t passlen)
{
    MM_ASSERT_ARG(out && path && (pass || passlen == 0));
    return mm_repo_open_be(out, path, NULL, user, pass, passlen);
}

int mm_repo_open_be(mm_repo **out, const char *path, struct mm_repo_be *be, const char *user,
                    const char *pass, size_t passlen)
{
    mm_repo *r = NULL;
    int err;

    if ((err = mm_crypto_init()) < 0) {
        if (be)
            be->ops->close(be);
        return err;
    }
    if ((err = repo_alloc(&r, path, be, 0)) < 0)
        return err;
    if ((err = read_marker(r)) < 0 || (err = mm_repo__slots_open(r, user, pass, passlen)) < 0 ||
        (err = read_config(r)) < 0)
        goto out;
    *out = r;
    r = NULL; /* now owned by the caller */
out:
    mm_repo_free(r);
    return err;
}

int mm_repo__open_marker(mm_repo **out, const char *path)
{
    mm_repo *r = NULL;
    int err;

    if ((err = mm_crypto_init()) < 0 || (err = repo_alloc(&r, path, NULL, 0)) < 0)
        return err;
    if ((err = read_marker(r)) < 0) {
        mm_repo_free(r);
        return err;
    }
    *out = r;
    return 0;
}

/* ---- locks ---------------------------------------------------------------------------------- */

struct lockinfo {
    char host[256];
    long pid;
    long long start;
    char kind[16];
    char op[16];      /* "" in the locks of an older mamori */
    char user[65];    /* the key slot (or host credential) that took it; "" unknown */
    char machine[33]; /* /etc/machine-id of the host that took it; "" unknown (older) */
};

static int parse_lock(const char *text, struct lockinfo *li)
{
    const char *op;

    memset(li, 0, sizeof(*li));
    if (sscanf(text, "mamori-lock 1\nkind %15s\nhost %255s\npid %ld\nstart %lld\n", li->kind,
               li->host, &li->pid, &li->start) != 4)
        return -1;
    if ((op = strstr(text, "\nop ")) != NULL && sscanf(op, "\nop %15[a-z-]", li->op) != 1)
        li->op[0] = '\0';
    if ((op = strstr(text, "\nuser ")) != NULL && sscanf(op, "\nuser %64s", li->user) != 1)
        li->user[0] = '\0';
    if ((op = strstr(text, "\nmachine ")) != NULL &&
        (sscanf(op, "\nmachine %32[0-9a-f]", li->machine) != 1 || strlen(li->machine) != 32))
        li->machine[0] = '\0';
    return 0;
}

/* The stale lock @rel of a killed process: an exclusive one is kept as the marker of its
 * interruption (locks/interrupted/<name>: written, then the lock removed), a shared one
 * removed. */
static void stale_lock(mm_repo *r, const char *rel, const char *name, const struct lockinfo *li,
                       const mm_buf *text)
{
    char to[128];

    snprintf(to, sizeof(to), "locks/interrupted/%s", name);
    if (strcmp(li->kind, "exclusive") == 0 &&
        (mm_repo__replace(r, to, text->ptr, text->len - 1) < 0 || mm_repo__flush(r) < 0))
        mm_error_clear(); /* not recorded (as before: the lock goes all the same) */
    mm_repo__remove(r, rel);
}

/* 1 when the lock @li was taken on this machine by a process that is gone. On a local folder
 * the same host name (and machine ID, when both locks have one) is this machine; on a store
 * several machines may share, only the same machine ID is (two hosts made from one image can
 * share a name, never a machine ID): a lock without one there cannot be judged and blocks. */
static int lock_is_stale(const mm_repo *r, const struct lockinfo *li, const char *host)
{
    char me[33];
    int mine_known = mm_os_machine_id(me) == 0;

    mm_error_clear();
    if (strcmp(li->host, host) != 0 || li->pid <= 0)
        return 0;
    if (li->machine[0] && mine_known ? strcmp(li->machine, me) != 0 : !mm_repo__local(r))
        return 0;
    return kill((pid_t)li->pid, 0) != 0 && errno == ESRCH;
}

int mm_repo_interrupted(mm_repo *r, struct mm_repo_interrupted **out, size_t *n)
{
    struct mm_repo_interrupted *v = NULL;
    char **names = NULL;
    size_t nn = 0, k = 0;
    int err;

    *out = NULL;
    *n = 0;
    if ((err = mm_repo__list(r, "locks/interrupted", &names, &nn)) < 0)
        return err;
    if (nn && !(v = mm_calloc(nn, sizeof(*v)))) {
        mm_repo__list_free(names, nn);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nn; i++) {
        char rel[128];
        struct lockinfo li;
        mm_buf b;
        int ok;
        snprintf(rel, sizeof(rel), "locks/interrupted/%s", names[i]);
        mm_buf_init(&b, 4096);
        ok = mm_repo__read(r, rel, &b) == 0 && mm_buf_putc(&b, 0) == 0 &&
             parse_lock(b.ptr, &li) == 0;
        mm_buf_release(&b);
        mm_error_clear();
        if (!ok) { /* not a lock: recorded as an interruption of unknown kind */
            memset(&li, 0, sizeof(li));
            snprintf(li.host, sizeof(li.host), "unknown");
        }
        snprintf(v[k].name, sizeof(v[k].name), "%s", names[i]);
        snprintf(v[k].op, sizeof(v[k].op), "%s", li.op);
        snprintf(v[k].host, sizeof(v[k].host), "%s", li.host);
        snprintf(v[k].user, sizeof(v[k].user), "%s", li.user);
        v[k].pid = li.pid;
        v[k].start = (int64_t)li.start;
        k++;
    }
    mm_repo__list_free(names, nn);
    for (size_t i = 1; i < k; i++) /* oldest first (few: insertion sort) */
        for (size_t j = i; j > 0 && v[j].start < v[j - 1].start; j--) {
            struct mm_repo_interrupted t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    *out = v;
    *n = k;
    return 0;
}

int mm_repo_interrupted_clear(mm_repo *r, const char *name)
{
    char rel[128];

    if (!mm_repo__is_hex_name(name))
        return mm_error_set(MM_EINVAL, "not an interruption marker");
    snprintf(rel, sizeof(rel), "locks/interrupted/%s", name);
    return mm_repo__remove(r, rel);
}

/*
 * A reader on a medium that cannot take its lock file (@why: MM_REPO_LOCK_SKIPPED_*): it goes
 * on without one unless a live process holds an exclusive lock. @return 0, MM_ELOCKED
 */
static int lock_without_file(mm_repo *r, const char *host, int why, uint64_t avail)
{
    char **names = NULL;
    size_t n = 0;
    int err = 0;

    mm_error_clear();
    if (mm_repo__list(r, "locks", &names, &n) < 0)
        mm_error_clear(); /* no locks folder to read: no writer either */
    for (size_t i = 0; i < n && err == 0; i++) {
        char orel[96];
        struct lockinfo li;
        mm_buf b;
        int ok;
        snprintf(orel, sizeof(orel), "locks/%s", names[i]);
        mm_buf_init(&b, 4096);
        ok = mm_repo__read(r, orel, &b) == 0 && mm_buf_putc(&b, 0) == 0 &&
             parse_lock(b.ptr, &li) == 0 && strcmp(li.kind, "exclusive") == 0;
        mm_buf_release(&b);
        mm_error_clear();
        if (ok && !lock_is_stale(r, &li, host))
            err = mm_error_set(MM_ELOCKED,
                               "the repository is being written (exclusive lock of process %ld "
                               "on host '%s'); if that process is gone, remove 'locks/%.12s...'",
                               li.pid, li.host, names[i]);
    }
    mm_repo__list_free(names, n);
    if (err == 0) {
        r->lock_skipped = why;
        r->lock_avail = avail;
    }
    return err;
}

int mm_repo_lock_skipped(const mm_repo *r, uint64_t *avail)
{
    if (avail)
        *avail = r->lock_skipped ? r->lock_avail : 0;
    return r->lock_skipped;
}

int mm_repo_lock(mm_repo *r, enum mm_repo_lock_kind kind, unsigned int *stale)
{
    return mm_repo_lock_for(r, kind, NULL, stale);
}

int mm_repo_lock_for(mm_repo *r, enum mm_repo_lock_kind kind, const char *op, unsigned int *stale)
{
    char host[256] = "unknown", hex[MM_CRYPTO_HEX_SIZE], rel[96], text[512];
    char **names = NULL;
    size_t n = 0;
    int err;

    if (stale)
        *stale = 0;
    char *old_lock = NULL;
    if (r->lock_file && (r->lock_kind == MM_REPO_LOCK_EXCLUSIVE || kind == MM_REPO_LOCK_SHARED))
        return 0;
    if (r->lock_file) { /* shared held, exclusive wanted: take it, then drop the shared one */
        old_lock = r->lock_file;
        r->lock_file = NULL;
    }
    if (kind == MM_REPO_LOCK_SHARED && mm_repo__local(r)) {
        char dir[MM_LIMIT_PATH];
        if (mm_repo__path(r, "locks", dir, sizeof(dir)) == 0 && access(dir, W_OK) != 0 &&
            (errno == EROFS || errno == EACCES)) {
            r->lock_skipped = MM_REPO_LOCK_SKIPPED_READONLY;
            return 0; /* a write-protected medium: nobody can write it, readers need no lock */
        }
    }
    (void)mm_os_hostname(host, sizeof(host));
    for (char *c = host; *c; c++)
        if (*c <= ' ')
            *c = '_';
    random_hex(hex, 32);
    snprintf(rel, sizeof(rel), "locks/%s", hex);
    {
        int user_ok = r->user[0] && strlen(r->user) <= 64 && !strpbrk(r->user, " \t\n");
        char machine[33];
        int mid = mm_os_machine_id(machine) == 0;
        mm_error_clear();
        snprintf(
                text, sizeof(text),
                "mamori-lock 1\nkind %s\nhost %s\npid %ld\nstart %lld\n%s%.15s%s%s%.64s%s%s%.32s%s",
                kind == MM_REPO_LOCK_EXCLUSIVE ? "exclusive" : "shared", host, (long)getpid(),
                (long long)time(NULL), op ? "op " : "", op ? op : "", op ? "\n" : "",
                user_ok ? "user " : "", user_ok ? r->user : "", user_ok ? "\n" : "",
                mid ? "machine " : "", mid ? machine : "", mid ? "\n" : "");
    }
    /* a failure may come after the rename (the folder's fsync): never leave the file behind,
     * it would lock out the rest of this process (issue 17.12) */
    if ((err = mm_repo__replace(r, rel, text, strlen(text))) < 0 || (err = mm_repo__flush(r)) < 0) {
        uint64_t avail = 0;
        int why = mm_repo__medium_state(r, &avail);
        if (why && kind == MM_REPO_LOCK_SHARED) {
            mm_repo__remove(r, rel);
            return lock_without_file(r, host, why, avail);
        }
        if (why == MM_REPO_LOCK_SKIPPED_FULL)
            err = mm_error_set(MM_EIO,
                               "the medium is full: %llu bytes free (not even the lock file "
                               "can be written)",
                               (unsigned long long)avail);
        goto fail;
    }
    if ((err = mm_repo__list(r, "locks", &names, &n)) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        char orel[96];
        struct lockinfo li;
        mm_buf b;
        int ok, dead;
        if (strcmp(names[i], hex) == 0 || (old_lock && strcmp(names[i], old_lock + 6) == 0))
            continue;
        snprintf(orel, sizeof(orel), "locks/%s", names[i]);
        mm_buf_init(&b, 4096);
        ok = mm_repo__read(r, orel, &b) == 0 && mm_buf_putc(&b, 0) == 0 &&
             parse_lock(b.ptr, &li) == 0;
        dead = ok && lock_is_stale(r, &li, host);
        if (dead) {
            stale_lock(r, orel, names[i], &li, &b); /* its process is gone */
            if (stale)
                (*stale)++;
        }
        mm_buf_release(&b);
        if (!ok || dead)
            continue; /* vanished meanwhile, not a lock, or stale */
        if (kind == MM_REPO_LOCK_EXCLUSIVE || strcmp(li.kind, "exclusive") == 0) {
            char when[32];
            time_t t = (time_t)li.start;
            struct tm tm;
            localtime_r(&t, &tm);
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
            err = mm_error_set(MM_ELOCKED,
                               "the repository is in use (%s lock of process %ld on host '%s' "
                               "since %s); if that process is gone, remove 'locks/%.12s...'",
                               li.kind, li.pid, li.host, when, names[i]);
            goto fail;
        }
    }
    mm_repo__list_free(names, n);
    if (old_lock) {
        mm_repo__remove(r, old_lock);
        mm_free(old_lock);
        old_lock = NULL;
    }
    if (!(r->lock_file = mm_strdup(rel))) {
        mm_repo__remove(r, rel);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    r->lock_kind = kind;
    r->lock_skipped = 0;
    if (kind == MM_REPO_LOCK_EXCLUSIVE)
        mm_repo__copies_repair(r); /* a writer with the key: damaged or missing copies */
    return 0;
fail:
    snprintf(text, sizeof(text), "%s", mm_error_last()); /* the removal may set its own */
    mm_repo__list_free(names, n);
    mm_repo__remove(r, rel);
    if (old_lock)
        r->lock_file = old_lock; /* still shared */
    mm_error_set(err, "%s", text);
    return err;
}

void mm_repo_unlock(mm_repo *r)
{
    /* nothing of the repository stays open on it: the daily cycle detaches the medium next */
    if (r->be && r->be->ops->release)
        r->be->ops->release(r->be);
    if (!r->lock_file)
        return;
    mm_repo__remove(r, r->lock_file);
    mm_free(r->lock_file);
    r->lock_file = NULL;
}

/* ---- generations ---------------------------------------------------------------------------- */

/*
 * The format 3 steps of loading a manifest: signer (master key or certified writer), body;
 * a writer's generation must lie within its certificate's validity.
 */
static int gen_check3(mm_repo *r, const char *hex, const mm_buf *plain, struct mm_repo_gen *g,
                      unsigned char **index_ids, size_t *nindex)
{
    struct mm_wcert wc;
    size_t bodylen = 0;
    int err, writer = 0;

    if ((err = mm_repo__manifest3_check(r, (const unsigned char *)plain->ptr, plain->len, &bodylen,
                                        &wc, &writer)) < 0)
        return mm_error_set(MM_ECORRUPT, "generation '%.12s': %s", hex, mm_error_last());
    if ((err = mm_repo__manifest_decode(plain->ptr, bodylen, g, index_ids, nindex)) < 0)
        return mm_error_set(err, "generation '%.12s': %s", hex, mm_error_last());
    if (writer && (g->start_ns / 1000000000 + 300 < (int64_t)wc.created ||
                   g->end_ns / 1000000000 > (int64_t)wc.not_after)) {
        mm_repo_gen_release(g);
        mm_free(*index_ids);
        *index_ids = NULL;
        *nindex = 0;
        return mm_error_set(MM_ECORRUPT,
                            "generation '%.12s': written outside its writer certificate's "
                            "validity",
                            hex);
    }
    memcpy(g->id, hex, MM_CRYPTO_HEX_SIZE);
    return 0;
}

int mm_repo__gen_load(mm_repo *r, const char *hex, struct mm_repo_gen *g, unsigned char **index_ids,
                      size_t *nindex)
{
    unsigned char h[ID_SIZE], want[ID_SIZE], pk[MM_CRYPTO_PK_SIZE];
    char rel[96];
    mm_buf raw, plain, msg;
    int err;

    memset(g, 0, sizeof(*g));
    *index_ids = NULL;
    *nindex = 0;
    mm_buf_init(&raw, MM_REPO_MANIFEST_MAX);
    mm_buf_init(&plain, MM_REPO_MANIFEST_MAX + 1024);
    mm_buf_init(&msg, MM_REPO_MANIFEST_MAX + sizeof(MANIFEST_DOMAIN));
    snprintf(rel, sizeof(rel), "generations/%s", hex);
    if ((err = mm_repo__read(r, rel, &raw)) < 0)
        goto out;
    mm_crypto_hash(raw.ptr, raw.len, h);
    if (mm_crypto_hex_parse(hex, want) < 0 || memcmp(h, want, ID_SIZE) != 0) {
        err = mm_error_set(MM_ECORRUPT, "generation '%.12s': manifest is damaged (content hash)",
                           hex);
        goto out;
    }
    if ((err = mm_repo__envelope_open(r, "MMGN", raw.ptr, raw.len, &plain)) < 0) {
        /* out of memory is not damage: the generation list skips a damaged manifest, and
         * would silently drop a whole one (issue 17.12; test_faults) */
        err = mm_error_set(err == MM_ENOMEM ? MM_ENOMEM : MM_ECORRUPT,
                           "generation '%.12s': manifest does not open: %s", hex, mm_error_last());
        goto out;
    }
    if (r->version >= 3) {
        err = gen_check3(r, hex, &plain, g, index_ids, nindex);
        goto out;
    }
    if (plain.len < MM_CRYPTO_SIG_SIZE) {
        err = mm_error_set(MM_ECORRUPT, "generation '%.12s': manifest has no signature", hex);
        goto out;
    }
    mm_keyset_public_key(r->ks, pk);
    if ((err = mm_buf_put(&msg, MANIFEST_DOMAIN, sizeof(MANIFEST_DOMAIN))) < 0 ||
        (err = mm_buf_put(&msg, plain.ptr, plain.len - MM_CRYPTO_SIG_SIZE)) < 0)
        goto out;
    if (mm_crypto_verify(pk, msg.ptr, msg.len,
                         (unsigned char *)plain.ptr + plain.len - MM_CRYPTO_SIG_SIZE) < 0) {
        err = mm_error_set(MM_ECORRUPT, "generation '%.12s': manifest signature is not valid", hex);
        goto out;
    }
    if ((err = mm_repo__manifest_decode(plain.ptr, plain.len - MM_CRYPTO_SIG_SIZE, g, index_ids,
                                        nindex)) < 0) {
        err = mm_error_set(err, "generation '%.12s': %s", hex, mm_error_last());
        goto out;
    }
    memcpy(g->id, hex, MM_CRYPTO_HEX_SIZE);
out:
    mm_buf_release(&raw);
    mm_buf_release(&plain);
    mm_buf_release(&msg);
    return err;
}

int mm_repo__gen_write(mm_repo *r, const struct mm_repo_gen *g, const unsigned char *index_ids,
                       size_t nindex, char id_out[MM_CRYPTO_HEX_SIZE])
{
    unsigned char sig[MM_CRYPTO_SIG_SIZE];
    mm_buf body, msg;
    int err;

    mm_buf_init(&body, MM_REPO_MANIFEST_MAX + 1024);
    mm_buf_init(&msg, MM_REPO_MANIFEST_MAX + sizeof(MANIFEST_DOMAIN));
    /* packs and index files are stored before the manifest that names them (a queuing
     * backend: flushed), and the manifest before this returns */
    if ((err = mm_repo__flush(r)) < 0)
        goto out;
    if (r->version >= 3) { /* signer block, signature by the master or a writer key */
        if ((err = mm_repo__manifest_encode(g, index_ids, nindex, &body)) == 0 &&
            (err = mm_repo__manifest3_sign(r, &body)) == 0)
            err = mm_repo__sealed_write(r, "generations", "MMGN", body.ptr, body.len,
                                        MM_REPO_MANIFEST_MAX + 2048, id_out, NULL);
    } else if ((err = mm_repo__manifest_encode(g, index_ids, nindex, &body)) == 0 &&
               (err = mm_buf_put(&msg, MANIFEST_DOMAIN, sizeof(MANIFEST_DOMAIN))) == 0 &&
               (err = mm_buf_put(&msg, body.ptr, body.len)) == 0 &&
               (err = mm_crypto_sign(r->ks, msg.ptr, msg.len, sig)) == 0 &&
               (err = mm_buf_put(&body, sig, sizeof(sig))) == 0)
        err = mm_repo__sealed_write(r, "generations", "MMGN", body.ptr, body.len,
                                    MM_REPO_MANIFEST_MAX + 1024, id_out, NULL);
    if (err == 0)
        err = mm_repo__flush(r);
out:
    mm_buf_release(&body);
    mm_buf_release(&msg);
    return err;
}

/* Verify records: verified/<hash>: le64 time, le32 n, n x (generation ID, state byte). */
int mm_repo__verify_record(mm_repo *r, const unsigned char *ids, const uint8_t *states, size_t n)
{
    mm_buf plain;
    unsigned char head[12];
    int err;

    mm_buf_init(&plain, MM_REPO_MANIFEST_MAX);
    mm_put_le64(head, (uint64_t)mm_repo__now_ns());
    mm_put_le32(head + 8, (uint32_t)n);
    if ((err = mm_buf_put(&plain, head, sizeof(head))) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if ((err = mm_buf_put(&plain, ids + i * ID_SIZE, ID_SIZE)) < 0 ||
            (err = mm_buf_putc(&plain, states[i])) < 0)
            goto out;
    err = mm_repo__sealed_write(r, "verified", "MMVR", plain.ptr, plain.len,
                                MM_REPO_MANIFEST_MAX + 1024, NULL, NULL);
out:
    mm_buf_release(&plain);
    return err;
}
