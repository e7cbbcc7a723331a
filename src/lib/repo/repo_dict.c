/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compression dictionaries (codec 2). An SS-MIX2 message is a kilobyte or two of HL7 whose
 * segments, field layout and code systems repeat from file to file; zstd alone finds little
 * to reuse inside one such file, a dictionary trained on the repository's own small files
 * finds most of it (docs/PERFORMANCE.md: the standard storage shrinks to about a third).
 *
 * The first backup of a repository trains one dictionary from the first small files it
 * stores and writes it, sealed like every repository file, twice (two seals, two names)
 * under dict/ before any object compressed with it is written: an object never needs a
 * dictionary that is not on the medium, even after a crash, and one damaged copy loses
 * nothing. Prune never removes dictionaries; verify checks every copy.
 */
#include <string.h>
#include <zdict.h>
#include <zstd.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "repo/repo_int.h"

#define DICT_COPIES 2

static int add_dict(mm_repo *r, const void *p, size_t n)
{
    unsigned id = ZDICT_getDictID(p, n);
    unsigned k = __atomic_load_n(&r->ndicts, __ATOMIC_ACQUIRE);
    struct mm_repo__dict *d;

    if (id == 0)
        return mm_error_set(MM_ECORRUPT, "not a compression dictionary");
    for (unsigned i = 0; i < k; i++)
        if (r->dicts[i].id == id)
            return 0; /* the other copy */
    if (k == MM_REPO__DICTS_MAX)
        return mm_error_set(MM_ELIMIT, "more than %d compression dictionaries", MM_REPO__DICTS_MAX);
    d = &r->dicts[k];
    d->id = id;
    d->cdict = ZSTD_createCDict(p, n, r->cfg.zstd_level);
    d->ddict = ZSTD_createDDict(p, n);
    if (!d->cdict || !d->ddict) {
        ZSTD_freeCDict(d->cdict);
        ZSTD_freeDDict(d->ddict);
        memset(d, 0, sizeof(*d));
        return mm_error_set(MM_ENOMEM, "out of memory for a compression dictionary");
    }
    __atomic_store_n(&r->ndicts, k + 1, __ATOMIC_RELEASE); /* published whole */
    return 0;
}

int mm_repo__dict_add(mm_repo *r, const void *p, size_t n)
{
    return add_dict(r, p, n);
}

int mm_repo__dict_load(mm_repo *r)
{
    char **names = NULL;
    size_t n = 0;
    mm_buf raw, plain;
    int err;

    if (r->dict_loaded)
        return 0;
    mm_buf_init(&raw, MM_REPO_DICT_FILE_MAX);
    mm_buf_init(&plain, MM_REPO_DICT_MAX);
    if ((err = mm_repo__list(r, "dict", &names, &n)) < 0)
        goto out;
    if (!(r->dict_bad = mm_calloc(n ? n : 1, sizeof(*r->dict_bad)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        err = mm_repo__sealed_read(r, "dict", names[i], "MMDC", &raw, &plain);
        if (err == MM_ENOMEM || err == MM_EIO)
            goto out;
        if (err == 0)
            err = add_dict(r, plain.ptr, plain.len);
        if (err == MM_ENOMEM)
            goto out;
        if (err < 0) { /* damaged: the other copy serves, verify names this one */
            r->dict_bad[r->ndict_bad++] = names[i]; /* now owned by r->dict_bad */
            names[i] = NULL;
        }
    }
    err = 0;
    mm_error_clear();
    r->dict_loaded = 1;
out:
    mm_repo__list_free(names, n);
    mm_buf_release(&raw);
    mm_buf_release(&plain);
    return err;
}

const struct mm_repo__dict *mm_repo__dict_find(const mm_repo *r, uint32_t id)
{
    unsigned k = __atomic_load_n(&r->ndicts, __ATOMIC_ACQUIRE);

    for (unsigned i = 0; i < k; i++)
        if (r->dicts[i].id == id)
            return &r->dicts[i];
    return NULL;
}

const struct mm_repo__dict *mm_repo__dict_current(const mm_repo *r)
{
    return __atomic_load_n(&r->ndicts, __ATOMIC_ACQUIRE) ? &r->dicts[0] : NULL;
}

int mm_repo__dict_train(mm_repo *r, const void *samples, const size_t *sizes, unsigned n)
{
    unsigned char *d = NULL;
    size_t got;
    int err = 0;

    if (!(d = mm_malloc(MM_REPO_DICT_SIZE)))
        return mm_error_set(MM_ENOMEM, "out of memory");
    got = ZDICT_trainFromBuffer(d, MM_REPO_DICT_SIZE, samples, sizes, n);
    if (ZDICT_isError(got) || got < 256) { /* too few or too varied samples: no dictionary */
        err = 0;
        goto out;
    }
    for (int c = 0; c < DICT_COPIES && err == 0; c++)
        err = mm_repo__sealed_write(r, "dict", "MMDC", d, got, MM_REPO_DICT_FILE_MAX, NULL, NULL);
    if (err == 0)
        err = add_dict(r, d, got);
    if (err == 0)
        err = 1;
out:
    mm_free(d);
    return err;
}

void mm_repo__dict_release(mm_repo *r)
{
    for (unsigned i = 0; i < r->ndicts; i++) {
        ZSTD_freeCDict(r->dicts[i].cdict);
        ZSTD_freeDDict(r->dicts[i].ddict);
    }
    r->ndicts = 0;
    for (size_t i = 0; i < r->ndict_bad; i++)
        mm_free(r->dict_bad[i]);
    mm_free(r->dict_bad);
    r->dict_bad = NULL;
    r->ndict_bad = 0;
    r->dict_loaded = 0;
}
