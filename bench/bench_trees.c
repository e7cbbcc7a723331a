/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How trees could be encoded (issue 22; docs/PERFORMANCE.md "Trees: how they could be
 * encoded"). Reads every generation of a repository, walks its trees (root, then folders) and,
 * for every tree object, compares the bytes it is stored in today with what it would take,
 * computed in memory (nothing is written):
 *   zstd        the tree alone at the repository's level, no dictionary (what backup does)
 *   dict        with a dictionary trained on a sample of the first generation's trees
 *   delta K=k   the tree compressed with the same path's tree of the previous generation as a
 *               zstd prefix (refPrefix), every k-th version of a path stored whole (k=1: none)
 *   delta+dict  the same, its whole versions compressed with the dictionary
 * Stored sizes count what a sealed object holds: nonce and tag (40), the codec byte, and for a
 * delta the 32-byte ID of its base; raw when compression does not make it smaller (the
 * repository's rule). Every encoded form is decoded again and compared with the plaintext:
 * any difference is an error (exit 1). Decoding speed is plaintext MB/s of decompression
 * alone (decryption is the same for every choice). "Damage" is what one damaged tree costs:
 * the other tree objects that need it to decode (its later versions in the chain), and the
 * generations whose folder at that path no longer reads (today: those that share the object).
 * usage: bench_trees REPO            (passphrase from MAMORI_PASSPHRASE)
 *        bench_trees --self-test     (round trips on three versions of a folder's tree,
 *                                     backed up into a temporary repository, and that a
 *                                     wrong base is caught)
 * It reads the repository through the repo module's public API only (mm_repo_trees_walk,
 * mm_repo_object_totals).
 */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zdict.h>
#include <zstd.h>

#include "common/error.h"
#include "repo/repo.h"

#define ID_SIZE MM_CRYPTO_ID_SIZE

#define SEAL        40u /* nonce 24 and tag 16 around the payload */
#define REF         32u /* a delta names its base's ID */
#define DICT_CAP    (64u * 1024u)
#define SAMPLES_MAX 4000u
#define SAMPLE_MAX  (8u * 1024u * 1024u)
#define NK          3

static const unsigned ks[NK] = { 1, 4, 16 };

/* One tree object, in the order the walk first met it. */
struct obj {
    unsigned char id[ID_SIZE];
    unsigned char *plain;
    uint32_t n;
    uint32_t today;   /* its sealed length in its pack */
    int32_t base;     /* the same path's tree of an earlier generation, -1: none */
    unsigned gen;     /* the generation that made it */
    unsigned refgens; /* generations that reach it */
    unsigned stamp;   /* walk mark: generation + 1 */
    unsigned entries; /* entries of the folder */
    int root;         /* the root tree of a generation */
    size_t z, zd, zp; /* compressed sizes: alone, with the dictionary, against base (0: none) */
    unsigned char *fz, *fzd, *fzp; /* those frames */
    unsigned depth[NK];
    unsigned long long deps[NK], lost[NK];
};

static struct obj *objs;
static size_t nobjs, capobjs;

static void die(const char *what)
{
    fprintf(stderr, "bench_trees: %s\n", what);
    exit(1);
}

static void *xalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        die("out of memory");
    return p;
}

/* ---- hash maps: object ID -> object, path -> object ------------------------------------- */

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

struct map {
    char **keys; /* NULL: empty */
    size_t *klen;
    uint32_t *vals;
    size_t n, cap;
};

static void map_grow(struct map *m);

static uint32_t *map_slot(struct map *m, const void *key, size_t len, int add)
{
    size_t i;

    if (add && (m->n + 1) * 2 > m->cap)
        map_grow(m);
    if (m->cap == 0)
        return NULL;
    i = hash_bytes(key, len) & (m->cap - 1);
    while (m->keys[i]) {
        if (m->klen[i] == len && memcmp(m->keys[i], key, len) == 0)
            return &m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    if (!add)
        return NULL;
    m->keys[i] = xalloc(len);
    memcpy(m->keys[i], key, len);
    m->klen[i] = len;
    m->vals[i] = UINT32_MAX;
    m->n++;
    return &m->vals[i];
}

static void map_grow(struct map *m)
{
    struct map o = *m;

    m->cap = o.cap ? o.cap * 2 : 1024;
    m->keys = calloc(m->cap, sizeof(*m->keys));
    m->klen = xalloc(m->cap * sizeof(*m->klen));
    m->vals = xalloc(m->cap * sizeof(*m->vals));
    if (!m->keys)
        die("out of memory");
    m->n = 0;
    for (size_t i = 0; i < o.cap; i++)
        if (o.keys[i]) {
            *map_slot(m, o.keys[i], o.klen[i], 1) = o.vals[i];
            free(o.keys[i]);
        }
    free(o.keys);
    free(o.klen);
    free(o.vals);
}

/* ---- the codecs --------------------------------------------------------------------------- */

static ZSTD_CCtx *cctx;
static ZSTD_DCtx *dctx;
static ZSTD_CDict *cdict;
static ZSTD_DDict *ddict;
static int level = 3;
static unsigned char *zbuf, *dbuf;
static size_t zcap, dcap;

static void room(size_t n)
{
    size_t b = ZSTD_compressBound(n);

    if (b > zcap) {
        free(zbuf);
        zcap = b;
        zbuf = xalloc(zcap);
    }
    if (n > dcap) {
        free(dbuf);
        dcap = n;
        dbuf = xalloc(dcap);
    }
}

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Compressed size of @p (@n bytes) into zbuf: alone, with cdict, or against @base. */
static size_t encode(const void *p, size_t n, int use_dict, const void *base, size_t basen)
{
    size_t got;

    room(n);
    if (use_dict) {
        got = ZSTD_compress_usingCDict(cctx, zbuf, zcap, p, n, cdict);
    } else if (base) {
        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
        if (ZSTD_isError(ZSTD_CCtx_refPrefix(cctx, base, basen)))
            die("refPrefix failed");
        got = ZSTD_compress2(cctx, zbuf, zcap, p, n);
    } else {
        got = ZSTD_compressCCtx(cctx, zbuf, zcap, p, n, level);
    }
    if (ZSTD_isError(got))
        die(ZSTD_getErrorName(got));
    return got;
}

/* Decode the @zn bytes of zbuf-like @z into dbuf; @return the plaintext size or -1. */
static long decode(const void *z, size_t zn, size_t n, int use_dict, const void *base, size_t basen)
{
    size_t got;

    room(n);
    if (use_dict) {
        got = ZSTD_decompress_usingDDict(dctx, dbuf, n, z, zn, ddict);
    } else if (base) {
        if (ZSTD_isError(ZSTD_DCtx_refPrefix(dctx, base, basen)))
            die("refPrefix failed");
        got = ZSTD_decompressDCtx(dctx, dbuf, n, z, zn);
    } else {
        got = ZSTD_decompressDCtx(dctx, dbuf, n, z, zn);
    }
    if (ZSTD_isError(got)) {
        ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
        return -1;
    }
    return (long)got;
}

/*
 * Encode, decode again and compare (dies on a difference). @return the compressed size;
 * the frame goes to *@frame when not NULL (free()).
 */
static size_t round_trip(const void *p, size_t n, int use_dict, const void *base, size_t basen,
                         unsigned char **frame)
{
    size_t z = encode(p, n, use_dict, base, basen);
    unsigned char *copy = xalloc(z);
    long got;

    memcpy(copy, zbuf, z);
    got = decode(copy, z, n, use_dict, base, basen);
    if (got != (long)n || memcmp(dbuf, p, n) != 0) {
        fprintf(stderr, "bench_trees: round trip differs (%s, %zu bytes)\n",
                use_dict ? "dictionary"
                : base   ? "delta"
                         : "zstd",
                n);
        exit(1);
    }
    if (frame)
        *frame = copy;
    else
        free(copy);
    return z;
}

/* Sealed bytes of a tree of @n plaintext bytes compressed to @z (the repository's rule). */
static uint64_t sealed(size_t n, size_t z, int dict, int delta)
{
    size_t body = n;

    if (z && z < n && n >= (dict ? 16u : 64u))
        body = z;
    if (delta)
        return z < n ? SEAL + 1u + REF + z : SEAL + 1u + n;
    return SEAL + 1u + body;
}

/* ---- the walk ----------------------------------------------------------------------------- */

static struct map byid, bypath;

/*
 * One visit of mm_repo_trees_walk(): the object of the tree (read on first sight, in the
 * generation that made it), the path's previous tree as the base of a new object, the
 * generation counted once per object. The walk goes into the folders itself.
 */
static int visit(const struct mm_repo_tree_visit *v, void *ctx)
{
    uint32_t *slot = map_slot(&byid, v->id, ID_SIZE, 1), x, *ps;
    unsigned gen = (unsigned)v->gen;
    int fresh = 0;

    (void)ctx;
    if (*slot == UINT32_MAX) {
        struct obj *o;

        fresh = 1;
        if (nobjs == capobjs) {
            capobjs = capobjs ? capobjs * 2 : 4096;
            objs = realloc(objs, capobjs * sizeof(*objs));
            if (!objs)
                die("out of memory");
        }
        o = &objs[nobjs];
        memset(o, 0, sizeof(*o));
        memcpy(o->id, v->id, ID_SIZE);
        o->gen = gen;
        o->base = -1;
        o->today = v->stored;
        o->n = (uint32_t)v->n;
        o->plain = xalloc(v->n);
        memcpy(o->plain, v->plain, v->n);
        o->entries = (unsigned)v->entries;
        *slot = (uint32_t)nobjs++;
    }
    x = *slot;
    ps = map_slot(&bypath, v->path, v->pathlen, 1);
    if (fresh && *ps != UINT32_MAX && *ps != x)
        objs[x].base = (int32_t)*ps;
    *ps = x;
    if (v->pathlen == 0)
        objs[x].root = 1;
    if (objs[x].stamp != gen + 1) {
        objs[x].stamp = gen + 1;
        objs[x].refgens++;
    }
    return 0;
}

/* ---- the dictionary ----------------------------------------------------------------------- */

static size_t train(void)
{
    size_t n1 = 0, step, total = 0, ns = 0, got;
    size_t *sizes = xalloc(SAMPLES_MAX * sizeof(size_t));
    unsigned char *buf = xalloc(SAMPLE_MAX), *dict = xalloc(DICT_CAP);

    for (size_t i = 0; i < nobjs; i++)
        n1 += objs[i].gen == 0;
    step = n1 / SAMPLES_MAX + 1;
    for (size_t i = 0, k = 0; i < nobjs && ns < SAMPLES_MAX; i++) {
        if (objs[i].gen != 0 || k++ % step != 0 || objs[i].n > 64u * 1024u)
            continue;
        if (total + objs[i].n > SAMPLE_MAX)
            break;
        memcpy(buf + total, objs[i].plain, objs[i].n);
        sizes[ns++] = objs[i].n;
        total += objs[i].n;
    }
    got = ZDICT_trainFromBuffer(dict, DICT_CAP, buf, sizes, (unsigned)ns);
    if (ZDICT_isError(got))
        die("dictionary training failed");
    cdict = ZSTD_createCDict(dict, got, level);
    ddict = ZSTD_createDDict(dict, got);
    if (!cdict || !ddict)
        die("out of memory for the dictionary");
    fprintf(stderr, "dictionary: %zu bytes from %zu samples (%zu bytes) of %zu first trees\n", got,
            ns, total, n1);
    free(sizes);
    free(buf);
    free(dict);
    return got;
}

/* ---- the report --------------------------------------------------------------------------- */

/* The choices of the table. */
enum { S_TODAY, S_ZSTD, S_DICT, S_D4, S_D16, S_DD4, S_DD16, S_N };
static const char *sname[S_N] = { "today (stored)", "zstd (K=1)",     "dict",           "delta K=4",
                                  "delta K=16",     "delta+dict K=4", "delta+dict K=16" };

/* Whether object @o is stored as a delta under choice @s, and its sealed size. */
static uint64_t size_of(const struct obj *o, int s, int *delta)
{
    int ki = (s == S_D4 || s == S_DD4) ? 1 : 2;
    int dict = s == S_DICT || s == S_DD4 || s == S_DD16;

    *delta = 0;
    switch (s) {
    case S_TODAY:
        return o->today;
    case S_ZSTD:
        return sealed(o->n, o->z, 0, 0);
    case S_DICT:
        return sealed(o->n, o->zd, 1, 0);
    default:
        if (o->depth[ki] > 0) {
            *delta = 1;
            return sealed(o->n, o->zp, 0, 1);
        }
        return dict ? sealed(o->n, o->zd, 1, 0) : sealed(o->n, o->z, 0, 0);
    }
}

static int kindex(int s)
{
    return (s == S_D4 || s == S_DD4) ? 1 : (s == S_D16 || s == S_DD16) ? 2 : 0;
}

/* Decode object @o as choice @s stores it and check it; @return seconds. */
static double decode_one(const struct obj *o, int s)
{
    int dict = s == S_DICT || s == S_DD4 || s == S_DD16, delta, raw;
    const struct obj *b;
    double t0;
    long got;

    size_of(o, s, &delta);
    b = delta ? &objs[o->base] : NULL;
    if (delta)
        raw = o->zp >= o->n;
    else if (dict)
        raw = o->zd >= o->n || o->n < 16u;
    else
        raw = o->z >= o->n || o->n < 64u;
    t0 = now();
    if (raw) {
        memcpy(dbuf, o->plain, o->n);
        got = (long)o->n;
    } else if (delta) {
        got = decode(o->fzp, o->zp, o->n, 0, b->plain, b->n);
    } else if (dict) {
        got = decode(o->fzd, o->zd, o->n, 1, NULL, 0);
    } else {
        got = decode(o->fz, o->z, o->n, 0, NULL, 0);
    }
    t0 = now() - t0;
    if (got != (long)o->n || memcmp(dbuf, o->plain, o->n) != 0)
        die("decoded tree differs from its plaintext");
    return t0;
}

/*
 * The decoding time of every choice into @sum (S_TODAY: none): each object is decoded by
 * every choice in turn, 5 rounds, and its fastest decode counts, so a busy machine (other
 * processes taking the core) slows no choice more than another.
 */
static void decode_times(double sum[S_N])
{
    double *best = xalloc(nobjs * S_N * sizeof(double));

    for (size_t i = 0; i < nobjs * S_N; i++)
        best[i] = 1e9;
    for (int rep = 0; rep < 5; rep++)
        for (size_t i = 0; i < nobjs; i++)
            for (int s = S_ZSTD; s < S_N; s++) {
                double t = decode_one(&objs[i], s);
                if (t < best[i * S_N + s])
                    best[i * S_N + s] = t;
            }
    for (int s = 0; s < S_N; s++) {
        sum[s] = 0;
        for (size_t i = 0; s != S_TODAY && i < nobjs; i++)
            sum[s] += best[i * S_N + s];
    }
    free(best);
}

/*
 * The encoding time of zstd alone, with the dictionary and against the base (objects with
 * one) into @sum[0..2], the same way: every object by each in turn, 3 rounds, fastest counts.
 */
static void encode_times(double sum[3], double sub[3])
{
    sum[0] = sum[1] = sum[2] = 0;
    sub[0] = sub[1] = sub[2] = 0;
    for (size_t i = 0; i < nobjs; i++) {
        const struct obj *o = &objs[i], *b = o->base >= 0 ? &objs[o->base] : NULL;
        double best[3] = { 1e9, 1e9, 1e9 };
        for (int rep = 0; rep < 3; rep++)
            for (int c = 0; c < (b ? 3 : 2); c++) {
                double t = now();
                encode(o->plain, o->n, c == 1, c == 2 ? b->plain : NULL, c == 2 ? b->n : 0);
                t = now() - t;
                if (t < best[c])
                    best[c] = t;
            }
        for (int c = 0; c < (b ? 3 : 2); c++) {
            sum[c] += best[c];
            if (b)
                sub[c] += best[c];
        }
    }
}

static uint64_t repo_bytes;
static uint64_t index_bytes; /* of index/ */
static int sum_file(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    const char *slash = strrchr(p, '/');

    if (flag != FTW_F)
        return 0;
    repo_bytes += (uint64_t)st->st_size;
    if (f->level == 2 && slash && slash - p >= 6 && memcmp(slash - 6, "/index", 6) == 0)
        index_bytes += (uint64_t)st->st_size;
    return 0;
}

static int run(const char *path)
{
    const char *pass = getenv("MAMORI_PASSPHRASE");
    struct mm_repo_object_totals tot;
    struct mm_repo_gen *g = NULL;
    mm_repo *repo = NULL;
    size_t ng = 0, dictsize;
    uint64_t tree_today, blob_today, plain = 0, plain1 = 0;
    double dts[S_N];
    size_t npz = 0, ndeltas = 0;

    if (!pass)
        die("set MAMORI_PASSPHRASE");
    if (nftw(path, sum_file, 32, FTW_PHYS) != 0)
        die("cannot list the repository");
    if (mm_repo_open(&repo, path, NULL, pass, strlen(pass)) != 0 ||
        mm_repo_object_totals(repo, &tot) != 0 || mm_repo_generations(repo, &g, &ng) != 0)
        die(mm_error_last());
    if (ng == 0)
        die("no generation");
    level = tot.zstd_level;
    tree_today = tot.tree_bytes;
    blob_today = tot.blob_bytes;
    if (mm_repo_trees_walk(repo, visit, NULL) != 0)
        die(mm_error_last());
    cctx = ZSTD_createCCtx();
    dctx = ZSTD_createDCtx();
    if (!cctx || !dctx)
        die("out of memory for zstd");
    dictsize = train();
    /* the compressed sizes, each round-tripped, and encode times */
    for (size_t i = 0; i < nobjs; i++) {
        struct obj *o = &objs[i];

        plain += o->n;
        if (o->gen == 0)
            plain1 += o->n;
        o->z = round_trip(o->plain, o->n, 0, NULL, 0, &o->fz);
        o->zd = round_trip(o->plain, o->n, 1, NULL, 0, &o->fzd);
        if (o->base >= 0) {
            o->zp = round_trip(o->plain, o->n, 0, objs[o->base].plain, objs[o->base].n, &o->fzp);
            npz += o->n;
            ndeltas++;
        }
    }
    /* chain depths (bases come first), dependents and generations lost per K */
    for (size_t i = 0; i < nobjs; i++) {
        struct obj *o = &objs[i];
        for (int k = 0; k < NK; k++) {
            o->depth[k] = 0;
            if (o->base >= 0 && objs[o->base].depth[k] + 1 < ks[k])
                o->depth[k] = objs[o->base].depth[k] + 1;
            o->lost[k] += o->refgens;
            for (int32_t b = o->base, d = (int32_t)o->depth[k]; d > 0; b = objs[b].base, d--) {
                objs[b].deps[k]++;
                objs[b].lost[k] += o->refgens;
            }
        }
    }

    printf("repository %s: %zu generations, %llu bytes on disk; trees stored today %llu bytes "
           "(%.1f %% of the disk, %.1f %% of the objects)\n",
           path, ng, (unsigned long long)repo_bytes, (unsigned long long)tree_today,
           100.0 * (double)tree_today / (double)repo_bytes,
           100.0 * (double)tree_today / (double)(tree_today + blob_today));
    {
        size_t n1 = 0;
        for (size_t i = 0; i < nobjs; i++)
            n1 += objs[i].gen == 0;
        printf("tree objects %zu (first generation %zu, later %zu, %zu of them with a base); "
               "plaintext %llu bytes (first %llu); zstd level %d; dictionary %zu bytes "
               "(stored twice)\n",
               nobjs, n1, nobjs - n1, ndeltas, (unsigned long long)plain,
               (unsigned long long)plain1, level, dictsize);
    }
    {
        double et[3], sub[3];
        encode_times(et, sub);
        printf("encode MB/s of plaintext: every tree: zstd %.0f, dict %.0f; the %zu trees with "
               "a base: zstd %.0f, dict %.0f, delta %.0f\n",
               (double)plain / 1e6 / et[0], (double)plain / 1e6 / et[1], ndeltas,
               ndeltas ? (double)npz / 1e6 / sub[0] : 0.0,
               ndeltas ? (double)npz / 1e6 / sub[1] : 0.0,
               ndeltas ? (double)npz / 1e6 / sub[2] : 0.0);
    }
    decode_times(dts);
    printf("\n| choice | trees stored (bytes) | first gen | later gens | vs today | saved "
           "(bytes) | saved (%% of repository) | decode MB/s | decodes per tree read "
           "(newest gen) | a damaged tree: other trees needing it (mean / max) | generations "
           "whose folder is lost (mean / max) |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int s = 0; s < S_N; s++) {
        uint64_t all = 0, first = 0, later, extra = 0;
        unsigned long long dep = 0, depmax = 0, lost = 0, lostmax = 0;
        double reads = 0, dt = dts[s];
        size_t nnew = 0;
        int k = kindex(s), delta;

        if (s == S_DICT || s == S_DD4 || s == S_DD16)
            extra = 2u * (SEAL + 1u + dictsize); /* dict/ holds it twice */
        for (size_t i = 0; i < nobjs; i++) {
            struct obj *o = &objs[i];
            uint64_t b = size_of(o, s, &delta);
            unsigned long long d = s >= S_D4 ? o->deps[k] : 0;
            unsigned long long l = s >= S_D4 ? o->lost[k] : o->refgens;

            all += b;
            if (o->gen == 0)
                first += b;
            dep += d;
            lost += l;
            depmax = d > depmax ? d : depmax;
            lostmax = l > lostmax ? l : lostmax;
            if (o->stamp == ng) { /* reached by the newest generation */
                reads += 1.0 + (s >= S_D4 ? o->depth[k] : 0);
                nnew++;
            }
        }
        later = all - first;
        all += extra;
        char speed[32] = "-";

        if (s != S_TODAY)
            snprintf(speed, sizeof(speed), "%.0f", (double)plain / 1e6 / dt);
        printf("| %s | %llu | %llu | %llu | %.3f | %lld | %.1f %% | %s | %.2f | %.2f / "
               "%llu | %.2f / %llu |\n",
               sname[s], (unsigned long long)all, (unsigned long long)first,
               (unsigned long long)later, (double)all / (double)tree_today,
               (long long)tree_today - (long long)all,
               100.0 * ((double)tree_today - (double)all) / (double)repo_bytes, speed,
               nnew ? reads / (double)nnew : 0.0, (double)dep / (double)nobjs, depmax,
               (double)lost / (double)nobjs, lostmax);
    }
    {
        /* a tree object also costs its entry in its pack's table and in an index file
         * (45 bytes each, sealed and compressed: about what index/ holds per object) */
        double per = (double)index_bytes / (double)tot.objects;
        uint64_t nb[3] = { 0 }, sb[3] = { 0 };
        unsigned long long rl = 0, rlmax[NK] = { 0 }, rn = 0, rlost[NK] = { 0 };

        printf("\nevery object also has an entry in its pack's table and in an index file: "
               "index/ holds %.1f bytes per object, so the %zu trees cost about %.0f bytes "
               "more (trees with them: %.1f %% of the disk)\n",
               per, nobjs, 2.0 * per * (double)nobjs,
               100.0 * ((double)tree_today + 2.0 * per * (double)nobjs) / (double)repo_bytes);
        for (size_t i = 0; i < nobjs; i++) {
            int c = objs[i].entries <= 1 ? 0 : objs[i].entries <= 10 ? 1 : 2;
            nb[c]++;
            sb[c] += objs[i].today;
            if (objs[i].root) {
                rn++;
                rl += objs[i].refgens;
                for (int k = 0; k < NK; k++) {
                    rlost[k] += objs[i].lost[k];
                    rlmax[k] = objs[i].lost[k] > rlmax[k] ? objs[i].lost[k] : rlmax[k];
                }
            }
        }
        printf("trees by entries: 0-1 %llu (%llu bytes stored), 2-10 %llu (%llu), more %llu "
               "(%llu)\n",
               (unsigned long long)nb[0], (unsigned long long)sb[0], (unsigned long long)nb[1],
               (unsigned long long)sb[1], (unsigned long long)nb[2], (unsigned long long)sb[2]);
        printf("a damaged root tree (%llu roots): generations that no longer read from the "
               "root, mean / max: today %.2f / %llu, delta K=4 %.2f / %llu, K=16 %.2f / %llu\n",
               rn, rn ? (double)rl / (double)rn : 0.0, rlmax[0],
               rn ? (double)rlost[1] / (double)rn : 0.0, rlmax[1],
               rn ? (double)rlost[2] / (double)rn : 0.0, rlmax[2]);
    }
    printf("(a dictionary's rows include its two copies; a delta's size includes the 32-byte "
           "ID of its base; every size includes nonce, tag and codec byte)\n");
    mm_repo_gens_free(g, ng);
    mm_repo_free(repo);
    return 0;
}

/* ---- self-test: synthetic trees, round trips, and that a wrong base is caught ------------- */

/* A plaintext, owned. */
struct plain {
    unsigned char *ptr;
    size_t len;
};

/* mm_repo_trees_walk(): keep the tree of "/folder" of each generation (@ctx: struct plain[3]) */
static int keep_folder(const struct mm_repo_tree_visit *v, void *ctx)
{
    struct plain *p = (struct plain *)ctx + v->gen;

    if (v->gen >= 3 || v->pathlen != 7 || memcmp(v->path, "/folder", 7) != 0)
        return 0;
    free(p->ptr);
    p->ptr = xalloc(v->n);
    memcpy(p->ptr, v->plain, v->n);
    p->len = v->n;
    return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    remove(p);
    return 0;
}

/* Write the file <@dir>/f<@i>.hl7 of 1000 + @i bytes. */
static void write_file(const char *dir, size_t i)
{
    char p[4400], body[1100];
    int fd;

    snprintf(p, sizeof(p), "%s/f%04zu.hl7", dir, i);
    for (size_t k = 0; k < sizeof(body); k++)
        body[k] = (char)('a' + (i * 7u + k) % 26u);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, body, 1000 + i) != (ssize_t)(1000 + i) || close(fd) != 0)
        die("cannot write a file of the self-test");
}

/*
 * Three versions of a folder's tree (40, then 50, then 60 files), as the repository stores
 * them: the folder backed up three times into a temporary repository, the trees read back
 * with mm_repo_trees_walk().
 */
static void folder_versions(struct plain v[3])
{
    static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };
    struct mm_repo_init_opts o = { 0 };
    const char *pass = "bench-trees self-test passphrase";
    const char *tmpdir = getenv("TMPDIR");
    char top[4096], dir[4200], rp[4200], env[4200];
    struct mm_repo_source src;
    mm_repo *r = NULL;

    snprintf(top, sizeof(top), "%s/bench_trees-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(top))
        die("cannot make a temporary folder");
    snprintf(env, sizeof(env), "%s/cache", top);
    setenv("XDG_CACHE_HOME", env, 1);
    setenv("MAMORI_CACHE", env, 1);
    snprintf(env, sizeof(env), "%s/audit", top);
    setenv("MAMORI_AUDIT_DIR", env, 1);
    snprintf(dir, sizeof(dir), "%s/folder", top);
    snprintf(rp, sizeof(rp), "%s/repo", top);
    if (mkdir(dir, 0700) != 0)
        die("cannot make a temporary folder");
    o.kdf = &kdf_min;
    src.path = dir;
    src.kind = MM_REPO_SOURCE_FOLDER;
    if (mm_repo_init(rp, "bench", pass, strlen(pass), &o) != 0 ||
        mm_repo_open(&r, rp, NULL, pass, strlen(pass)) != 0)
        die(mm_error_last());
    for (size_t ver = 0, nf = 0; ver < 3; ver++) {
        for (; nf < 40u + 10u * ver; nf++)
            write_file(dir, nf);
        if (mm_repo_backup(r, &src, 1, NULL, NULL, NULL) != 0)
            die(mm_error_last());
    }
    memset(v, 0, 3 * sizeof(*v));
    if (mm_repo_trees_walk(r, keep_folder, v) != 0)
        die(mm_error_last());
    mm_repo_free(r);
    nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < 3; i++)
        if (!v[i].ptr)
            die("self-test: a version of the folder was not walked");
}

static int self_test(void)
{
    struct plain v[3];
    size_t z;
    long got;

    cctx = ZSTD_createCCtx();
    dctx = ZSTD_createDCtx();
    folder_versions(v);
    {
        /* a dictionary from many small variants */
        size_t sizes[200], total = 0, got2;
        unsigned char *buf = xalloc(200u * v[2].len), *dict = xalloc(DICT_CAP);
        for (int i = 0; i < 200; i++) {
            memcpy(buf + total, v[i % 3].ptr, v[i % 3].len);
            buf[total + 20 + (size_t)i] ^= (unsigned char)i; /* vary them a little */
            sizes[i] = v[i % 3].len;
            total += sizes[i];
        }
        got2 = ZDICT_trainFromBuffer(dict, 4096, buf, sizes, 200);
        if (!ZDICT_isError(got2)) {
            cdict = ZSTD_createCDict(dict, got2, level);
            ddict = ZSTD_createDDict(dict, got2);
            round_trip(v[2].ptr, v[2].len, 1, NULL, 0, NULL);
        } else {
            fprintf(stderr, "self-test: no dictionary from the samples (%s)\n",
                    ZDICT_getErrorName(got2));
            return 1;
        }
        free(buf);
        free(dict);
    }
    round_trip(v[0].ptr, v[0].len, 0, NULL, 0, NULL);
    {
        /* the prefix must be used: against its previous version a tree takes much less */
        size_t alone = round_trip(v[1].ptr, v[1].len, 0, NULL, 0, NULL);
        z = round_trip(v[1].ptr, v[1].len, 0, v[0].ptr, v[0].len, NULL);
        if (z * 2 > alone) {
            fprintf(stderr, "self-test: delta %zu bytes, alone %zu: the base is not used\n", z,
                    alone);
            return 1;
        }
    }
    z = round_trip(v[2].ptr, v[2].len, 0, v[1].ptr, v[1].len, NULL);
    /* the same frame against the wrong base must not give the plaintext back */
    {
        unsigned char *copy = xalloc(z);
        encode(v[2].ptr, v[2].len, 0, v[1].ptr, v[1].len);
        memcpy(copy, zbuf, z);
        got = decode(copy, z, v[2].len, 0, v[0].ptr, v[0].len);
        if (got == (long)v[2].len && memcmp(dbuf, v[2].ptr, v[2].len) == 0)
            die("self-test: a delta decoded against the wrong base gave the plaintext");
        free(copy);
    }
    for (int i = 0; i < 3; i++)
        free(v[i].ptr);
    printf("self-test: zstd, dictionary and delta round trips equal; a wrong base is caught\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--self-test") == 0)
        return self_test();
    if (argc != 2) {
        fprintf(stderr, "usage: bench_trees REPO | --self-test   (MAMORI_PASSPHRASE)\n");
        return 2;
    }
    return run(argv[1]);
}
