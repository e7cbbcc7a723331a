/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A read-only index whose bytes come from a caller's function, page by page, as SQLite asks
 * for them (mm_index_open_pages): a small SQLite VFS, "mamori-pages", whose one kind of file
 * is such a source. Nothing is written anywhere: no journal, no temporary file (sorting stays
 * in memory), and the file is declared immutable so SQLite takes no locks.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "index/index_int.h"

#define VFS_NAME "mamori-pages"

/* One source of pages; its name ("/mamori-pages/<n>") is how xOpen finds it. */
struct source {
    struct source *next;
    unsigned long long n;
    mm_index_read_fn read;
    void *ctx;
    uint64_t size;
};

struct pfile {
    sqlite3_file base;
    struct source *src;
};

static pthread_mutex_t sources_lock = PTHREAD_MUTEX_INITIALIZER;
static struct source *sources;
static unsigned long long sources_next;
static sqlite3_vfs vfs;
static int vfs_err; /* the result of registering it */
static pthread_once_t vfs_once = PTHREAD_ONCE_INIT;

static int p_close(sqlite3_file *f)
{
    (void)f;
    return SQLITE_OK;
}

static int p_read(sqlite3_file *f, void *dst, int amt, sqlite3_int64 off)
{
    const struct source *s = ((struct pfile *)f)->src;
    size_t want = (size_t)amt, have;

    if (amt < 0 || off < 0)
        return SQLITE_IOERR_READ;
    have = (uint64_t)off >= s->size ? 0 : (size_t)(s->size - (uint64_t)off);
    if (have > want)
        have = want;
    if (have && s->read(s->ctx, dst, have, (uint64_t)off) < 0)
        return SQLITE_IOERR_READ;
    if (have < want) { /* SQLite wants the rest zeroed and told */
        memset((char *)dst + have, 0, want - have);
        return SQLITE_IOERR_SHORT_READ;
    }
    return SQLITE_OK;
}

static int p_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
    (void)f;
    (void)p;
    (void)amt;
    (void)off;
    return SQLITE_READONLY;
}

static int p_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    (void)f;
    (void)size;
    return SQLITE_READONLY;
}

/* xSync, xLock, xUnlock: nothing to do on an immutable, read-only file */
static int p_nothing(sqlite3_file *f, int arg)
{
    (void)f;
    (void)arg;
    return SQLITE_OK;
}

static int p_size(sqlite3_file *f, sqlite3_int64 *size)
{
    *size = (sqlite3_int64)((struct pfile *)f)->src->size;
    return SQLITE_OK;
}

static int p_reserved(sqlite3_file *f, int *out)
{
    (void)f;
    *out = 0;
    return SQLITE_OK;
}

static int p_control(sqlite3_file *f, int op, void *arg)
{
    (void)f;
    (void)op;
    (void)arg;
    return SQLITE_NOTFOUND;
}

static int p_sector(sqlite3_file *f)
{
    (void)f;
    return 4096;
}

static int p_caps(sqlite3_file *f)
{
    (void)f;
    return SQLITE_IOCAP_IMMUTABLE;
}

static const sqlite3_io_methods methods = {
    .iVersion = 1,
    .xClose = p_close,
    .xRead = p_read,
    .xWrite = p_write,
    .xTruncate = p_truncate,
    .xSync = p_nothing,
    .xFileSize = p_size,
    .xLock = p_nothing,
    .xUnlock = p_nothing,
    .xCheckReservedLock = p_reserved,
    .xFileControl = p_control,
    .xSectorSize = p_sector,
    .xDeviceCharacteristics = p_caps,
};

static int v_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags, int *out)
{
    struct pfile *pf = (struct pfile *)f;
    unsigned long long n;
    char tail;

    (void)v;
    pf->base.pMethods = NULL;
    pf->src = NULL;
    /* the index itself, read-only; journals, temporary files and the like are refused */
    if (!name || !(flags & SQLITE_OPEN_MAIN_DB) || (flags & SQLITE_OPEN_READWRITE) ||
        sscanf(name, "/" VFS_NAME "/%llu%c", &n, &tail) != 1)
        return SQLITE_CANTOPEN;
    pthread_mutex_lock(&sources_lock);
    for (struct source *s = sources; s; s = s->next)
        if (s->n == n)
            pf->src = s;
    pthread_mutex_unlock(&sources_lock);
    if (!pf->src)
        return SQLITE_CANTOPEN;
    pf->base.pMethods = &methods;
    if (out)
        *out = SQLITE_OPEN_READONLY;
    return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync)
{
    (void)v;
    (void)name;
    (void)sync;
    return SQLITE_IOERR_DELETE;
}

static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    (void)name;
    (void)flags;
    *out = 0; /* no journal, no WAL */
    return SQLITE_OK;
}

static int v_full(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    if (snprintf(out, (size_t)n, "%s", name) >= n)
        return SQLITE_CANTOPEN;
    return SQLITE_OK;
}

/* Randomness, sleeping and the clock are the default VFS's. */
static int v_random(sqlite3_vfs *v, int n, char *out)
{
    sqlite3_vfs *d = v->pAppData;
    return d->xRandomness(d, n, out);
}

static int v_sleep(sqlite3_vfs *v, int us)
{
    sqlite3_vfs *d = v->pAppData;
    return d->xSleep(d, us);
}

static int v_time(sqlite3_vfs *v, double *out)
{
    sqlite3_vfs *d = v->pAppData;
    return d->xCurrentTime(d, out);
}

static int v_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    if (n > 0)
        out[0] = '\0';
    return 0;
}

static void vfs_register(void)
{
    sqlite3_vfs *d = sqlite3_vfs_find(NULL);

    if (!d) {
        vfs_err = SQLITE_ERROR;
        return;
    }
    vfs = (sqlite3_vfs){ .iVersion = 1,
                         .szOsFile = (int)sizeof(struct pfile),
                         .mxPathname = 64,
                         .zName = VFS_NAME,
                         .pAppData = d,
                         .xOpen = v_open,
                         .xDelete = v_delete,
                         .xAccess = v_access,
                         .xFullPathname = v_full,
                         .xRandomness = v_random,
                         .xSleep = v_sleep,
                         .xCurrentTime = v_time,
                         .xGetLastError = v_last_error };
    vfs_err = sqlite3_vfs_register(&vfs, 0);
}

static void source_drop(struct source *s)
{
    pthread_mutex_lock(&sources_lock);
    for (struct source **p = &sources; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    pthread_mutex_unlock(&sources_lock);
    mm_free(s);
}

void mm_index__pages_free(void *src)
{
    if (src)
        source_drop(src);
}

int mm_index_open_pages(mm_index **out, mm_index_read_fn read, void *ctx, uint64_t size)
{
    char name[64], uri[128];
    struct source *s;
    mm_index *ix = NULL;
    int err;

    MM_ASSERT_ARG(out && read);
    *out = NULL;
    if (size < 512)
        return mm_error_set(MM_ECORRUPT, "not a mamori index");
    pthread_once(&vfs_once, vfs_register);
    if (vfs_err != SQLITE_OK)
        return mm_error_set(MM_ENOMEM, "index: cannot register the page reader (%s)",
                            sqlite3_errstr(vfs_err));
    if (!(s = mm_calloc(1, sizeof(*s))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    s->read = read;
    s->ctx = ctx;
    s->size = size;
    pthread_mutex_lock(&sources_lock);
    s->n = ++sources_next;
    s->next = sources;
    sources = s;
    pthread_mutex_unlock(&sources_lock);
    if (!(ix = mm_calloc(1, sizeof(*ix)))) {
        source_drop(s);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    ix->pages = s;
    ix->memory = 1;
    snprintf(name, sizeof(name), "/" VFS_NAME "/%llu", s->n);
    snprintf(uri, sizeof(uri), "file:%s?vfs=" VFS_NAME "&immutable=1", name);
    if ((err = mm_index__open_db(ix, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI)) < 0 ||
        (err = mm_index__check_format(ix)) < 0 ||
        /* each connection caches 2 MiB of pages; sorting in memory, nothing written */
        (err = mm_index__exec(ix, "PRAGMA cache_size = -2048; PRAGMA temp_store = MEMORY;"
                                  " PRAGMA query_only = 1")) < 0) {
        mm_index_free(ix); /* drops the source */
        return err;
    }
    *out = ix;
    return 0;
}
