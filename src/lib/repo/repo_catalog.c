/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host catalog (docs/format-crypto.md "Host catalog"): what a host that writes a format 3
 * repository with its credential alone knows of it, kept in the host's own storage because
 * it can open nothing on the medium. One file, <dir>/<repository ID>/catalog (folder 0700,
 * file 0600, replaced crash-safely): the latest generation the host wrote (ID, root tree,
 * counts, patient-index figures and blocks), the packs it wrote with their tables in the
 * clear, and that generation's trees in the clear (only its: older trees are not kept).
 * On open every pack is checked on the medium (a regular file of the recorded size); a pack
 * that fails is dropped with every object it held, so a poisoned or stale catalog costs
 * space, never a generation that points at missing data. A missing or damaged file is a
 * full re-stage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/log.h"
#include "os/os.h"
#include "repo/repo_int.h"
#include "repo/repo_sync.h"

#define CAT_MAGIC   "MMCT"
#define CAT_VERSION 1u
#define CAT_HEAD    136u /* up to the counts */
#define CAT_NCOUNTS 10u
#define CAT_MAX     ((size_t)4 << 30) /* bytes of a catalog file */
#define F_PARENT    1u
#define F_INDEX     2u
#define F_TWINS     4u
#define F_CHECK     8u

/* ---- trees in the clear --------------------------------------------------------------------- */

static size_t tslot(const unsigned char id[ID_SIZE], size_t mask)
{
    return (size_t)mm_get_le64(id) & mask;
}

/* The entry of tree @id, or NULL. Called with c->lock held. */
static struct mm_repo__cattree *tfind(struct mm_repo__catalog *c, const unsigned char id[ID_SIZE])
{
    if (!c->nslots)
        return NULL;
    for (size_t i = tslot(id, c->nslots - 1); c->slots[i]; i = (i + 1) & (c->nslots - 1))
        if (memcmp(c->tv[c->slots[i] - 1].id, id, ID_SIZE) == 0)
            return &c->tv[c->slots[i] - 1];
    return NULL;
}

/* Room for one more entry (vector and slots, rehashed at half full). Lock held. */
static int tgrow(struct mm_repo__catalog *c)
{
    if (c->ntv == c->captv) {
        size_t ncap = c->captv ? c->captv * 2 : 256;
        void *nv = mm_realloc(c->tv, ncap * sizeof(*c->tv));
        if (!nv)
            return mm_error_set(MM_ENOMEM, "out of memory");
        c->tv = nv;
        c->captv = ncap;
    }
    if (2 * (c->ntv + 1) > c->nslots) {
        size_t ns = c->nslots ? c->nslots * 2 : 512;
        uint32_t *s = mm_calloc(ns, sizeof(*s));
        if (!s)
            return mm_error_set(MM_ENOMEM, "out of memory");
        for (size_t k = 0; k < c->ntv; k++) {
            size_t i = tslot(c->tv[k].id, ns - 1);
            while (s[i])
                i = (i + 1) & (ns - 1);
            s[i] = (uint32_t)k + 1;
        }
        mm_free(c->slots);
        c->slots = s;
        c->nslots = ns;
    }
    return 0;
}

/* Add the tree @id (@n bytes at @p) unless known; @fresh: of the generation being written. */
static int tadd(struct mm_repo__catalog *c, const unsigned char id[ID_SIZE], const void *p,
                size_t n, int fresh)
{
    struct mm_repo__cattree *t;
    size_t i;
    int err = 0;

    pthread_mutex_lock(&c->lock);
    if ((t = tfind(c, id)) != NULL) {
        t->fresh |= (uint8_t)fresh;
        goto out;
    }
    if ((err = tgrow(c)) < 0)
        goto out;
    t = &c->tv[c->ntv];
    memcpy(t->id, id, ID_SIZE);
    t->off = c->trees.len;
    t->len = (uint32_t)n;
    t->fresh = (uint8_t)fresh;
    if ((err = mm_buf_put(&c->trees, p, n)) < 0)
        goto out;
    for (i = tslot(id, c->nslots - 1); c->slots[i]; i = (i + 1) & (c->nslots - 1))
        ;
    c->slots[i] = (uint32_t)++c->ntv;
out:
    pthread_mutex_unlock(&c->lock);
    return err;
}

int mm_repo__catalog_tree_add(struct mm_repo__catalog *c, const unsigned char id[ID_SIZE],
                              const void *p, size_t n)
{
    return tadd(c, id, p, n, 1);
}

int mm_repo__catalog_tree(struct mm_repo__catalog *c, const unsigned char id[ID_SIZE],
                          struct mm_repo__tree *out)
{
    struct mm_repo__cattree *t;
    int err;

    pthread_mutex_lock(&c->lock);
    t = tfind(c, id);
    err = t ? mm_repo__tree_decode((const unsigned char *)c->trees.ptr + t->off, t->len, out)
            : mm_error_set(MM_ENOTFOUND, "the host catalog has no such tree");
    pthread_mutex_unlock(&c->lock);
    return err;
}

/* ---- reading ------------------------------------------------------------------------------- */

struct rd {
    const unsigned char *p;
    size_t n, pos;
};

static const unsigned char *take(struct rd *d, size_t k)
{
    const unsigned char *q = d->p + d->pos;
    if (d->n - d->pos < k)
        return NULL;
    d->pos += k;
    return q;
}

/*
 * The generation part of the file (after its checksum was checked; @ids: with the patient
 * index's block IDs, else only the head). @return 0, MM_ECORRUPT, MM_ENOMEM
 */
static int parse_gen(struct mm_repo__catalog *c, struct rd *d, const char *rid, int ids)
{
    const unsigned char *h = take(d, CAT_HEAD), *q;
    uint64_t *cn[CAT_NCOUNTS];
    struct mm_repo_counts *k = &c->counts;
    unsigned flags;

    if (!h || memcmp(h, CAT_MAGIC, 4) != 0 || mm_get_le16(h + 4) != CAT_VERSION ||
        memcmp(h + 8, rid, 32) != 0 || mm_get_le32(h + 132) != CAT_NCOUNTS)
        return MM_ECORRUPT;
    flags = mm_get_le16(h + 6);
    c->have_parent = (flags & F_PARENT) != 0;
    c->has_index = (flags & F_INDEX) != 0;
    c->index_twins = (flags & F_TWINS) != 0;
    c->check.present = (flags & F_CHECK) != 0;
    memcpy(c->gen, h + 48, ID_SIZE);
    memcpy(c->root, h + 80, ID_SIZE);
    c->index_size = mm_get_le64(h + 112);
    c->check.patients = mm_get_le64(h + 120);
    c->check.attention = mm_get_le32(h + 128);
    cn[0] = &k->files, cn[1] = &k->dirs, cn[2] = &k->symlinks, cn[3] = &k->skipped;
    cn[4] = &k->bytes, cn[5] = &k->files_read, cn[6] = &k->files_unchanged;
    cn[7] = &k->objects_new, cn[8] = &k->bytes_new, cn[9] = &k->bytes_stored;
    for (unsigned i = 0; i < CAT_NCOUNTS; i++) {
        if (!(q = take(d, 8)))
            return MM_ECORRUPT;
        *cn[i] = mm_get_le64(q);
    }
    if (!(q = take(d, 4)))
        return MM_ECORRUPT;
    c->nindex = mm_get_le32(q);
    if (!ids)
        return 0;
    if (c->nindex > (d->n - d->pos) / ID_SIZE || !(q = take(d, c->nindex * ID_SIZE)))
        return MM_ECORRUPT;
    if (c->nindex && !(c->index_ids = mm_malloc(c->nindex * ID_SIZE)))
        return MM_ENOMEM;
    if (c->nindex)
        memcpy(c->index_ids, q, c->nindex * ID_SIZE);
    return 0;
}

/* The packs and trees (after parse_gen). @return 0, MM_ECORRUPT, MM_ENOMEM */
static int parse_rest(struct mm_repo__catalog *c, struct rd *d)
{
    const unsigned char *q;
    uint64_t len;
    uint32_t nt;
    int err;

    if (!(q = take(d, 8)) || (len = mm_get_le64(q)) > d->n - d->pos || !(q = take(d, len)))
        return MM_ECORRUPT;
    if (len && mm_repo__ixfile_decode(q, len, &c->packs, &c->npacks) < 0)
        return MM_ECORRUPT;
    c->objs = c->npacks ? c->packs[0].objs : NULL; /* one block for every table */
    if (!(q = take(d, 4)))
        return MM_ECORRUPT;
    nt = mm_get_le32(q);
    for (uint32_t i = 0; i < nt; i++) {
        const unsigned char *id = take(d, ID_SIZE), *l = take(d, 4);
        uint32_t tl = l ? mm_get_le32(l) : 0;
        if (!id || !l || !(q = take(d, tl)))
            return MM_ECORRUPT;
        if ((err = tadd(c, id, q, tl, 0)) < 0)
            return err;
    }
    return d->pos == d->n ? 0 : MM_ECORRUPT;
}

/*
 * Keep the packs found on the medium as recorded (a regular file of the recorded size) and
 * make their objects known to r->ix; the others are dropped with every object they held.
 */
static int check_packs(mm_repo *r, struct mm_repo__catalog *c)
{
    size_t keep = 0;

    for (size_t i = 0; i < c->npacks; i++) {
        struct mm_repo__packinfo *p = &c->packs[i];
        char rel[80];
        uint64_t size;
        int64_t pk;
        mm_repo__pack_rel(p->id, rel);
        if (mm_repo__stat(r, rel, &size) < 0 || size != p->size) {
            mm_error_clear();
            char hex[MM_CRYPTO_HEX_SIZE];
            mm_crypto_hex(p->id, hex);
            if (!c->known || c->known(hex, p->size, c->known_ctx) != 1) {
                c->dropped++;
                continue;
            }
        }
        if ((pk = mm_repo__index_add_pack(&r->ix, p->id, p->size)) < 0)
            return (int)pk;
        for (size_t k = 0; k < p->nobjs; k++) {
            struct mm_repo__loc loc = { 0 };
            int err;
            memcpy(loc.id, p->objs[k].id, ID_SIZE);
            loc.pack = (uint32_t)pk;
            loc.offset = p->objs[k].offset;
            loc.length = p->objs[k].length;
            loc.plain = p->objs[k].plain;
            loc.type = p->objs[k].type;
            if ((err = mm_repo__index_add(&r->ix, &loc, NULL)) < 0)
                return err;
        }
        c->packs[keep++] = *p;
    }
    c->npacks = keep;
    return 0;
}

/* Read <dir>/catalog into @c (@check: its packs checked, their objects in r->ix). A missing
 * or damaged file leaves @c empty (lost). */
static int load(mm_repo *r, struct mm_repo__catalog *c, int check)
{
    unsigned char sum[ID_SIZE];
    struct rd d;
    mm_buf f;
    int err;

    mm_buf_init(&f, CAT_MAX);
    err = mm_os_read_file(c->file, &f);
    if (err == MM_ENOTFOUND) {
        mm_error_clear();
        c->lost = 1;
        err = 0;
        goto out;
    }
    if (err < 0)
        goto out;
    if (f.len < CAT_HEAD + ID_SIZE)
        err = MM_ECORRUPT;
    else {
        mm_crypto_hash(f.ptr, f.len - ID_SIZE, sum);
        if (!mm_crypto_equal(sum, (unsigned char *)f.ptr + f.len - ID_SIZE, ID_SIZE))
            err = MM_ECORRUPT;
    }
    d.p = (const unsigned char *)f.ptr;
    d.n = f.len - ID_SIZE;
    d.pos = 0;
    if (err == 0 && (err = parse_gen(c, &d, r->id, 1)) == 0)
        err = parse_rest(c, &d);
    if (err == MM_ECORRUPT) { /* as if lost: everything is stored again */
        mm_log(MM_LOG_WARN, "the host catalog was damaged: this backup stores everything again");
        mm_repo__catalog_free_parts(c);
        c->lost = 1;
        err = 0;
    } else if (err == 0 && check) {
        err = check_packs(r, c);
    }
out:
    if (f.ptr)
        mm_crypto_wipe(f.ptr, f.len);
    mm_buf_release(&f);
    if (err < 0 && !mm_error_last()[0])
        mm_error_set(err, "cannot read the host catalog");
    return err;
}

/* An empty catalog of @r in <@parent>/<repository ID>/ (the folder made, mode 0700). */
static int cat_new(mm_repo *r, const char *parent, struct mm_repo__catalog **out)
{
    struct mm_repo__catalog *c;
    int err;

    *out = NULL;
    if (!(c = mm_calloc(1, sizeof(*c))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    mm_buf_init(&c->trees, MM_REPO_TREE_MAX * (size_t)16);
    if (snprintf(c->dir, sizeof(c->dir), "%s/%s", parent, r->id) >= (int)sizeof(c->dir) ||
        snprintf(c->file, sizeof(c->file), "%s/catalog", c->dir) >= (int)sizeof(c->file)) {
        err = mm_error_set(MM_ELIMIT, "the host catalog's folder name is too long");
        goto fail;
    }
    if ((err = mm_os_mkdir_p(c->dir, 0700)) < 0)
        goto fail;
    if (chmod(c->dir, 0700) != 0) {
        err = mm_error_set_errno(MM_EIO, errno, "cannot set the mode of the host catalog");
        goto fail;
    }
    *out = c;
    return 0;
fail:
    mm_repo__catalog_free(c);
    return err;
}

int mm_repo__catalog_open(mm_repo *r, const char *parent, const struct mm_repo_backup_opts *o,
                          struct mm_repo__catalog **out)
{
    struct mm_repo__catalog *c;
    int err;

    if ((err = cat_new(r, parent, &c)) < 0)
        return err;
    if (o) {
        c->known = o->catalog_pack_known;
        c->known_ctx = o->catalog_pack_ctx;
    }
    if ((err = load(r, c, 1)) < 0) {
        mm_repo__catalog_free(c);
        return err;
    }
    *out = c;
    return 0;
}

int mm_repo_catalog_last(mm_repo *r, const char *parent, struct mm_repo_gen *out)
{
    struct mm_repo__catalog c;
    unsigned char head[CAT_HEAD + CAT_NCOUNTS * 8 + 4];
    char file[4200];
    struct rd d;
    struct stat st;
    int fd, err = MM_ENOTFOUND;

    MM_ASSERT_ARG(r && parent && out);
    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    if (snprintf(file, sizeof(file), "%s/%s/catalog", parent, r->id) >= (int)sizeof(file))
        return mm_error_set(MM_ELIMIT, "the host catalog's folder name is too long");
    if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
        return mm_error_set(MM_ENOTFOUND, "no host catalog");
    d.p = head;
    d.n = sizeof(head);
    d.pos = 0;
    if (pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
        parse_gen(&c, &d, r->id, 0) == 0 && c.have_parent) {
        mm_crypto_hex(c.gen, out->id);
        memcpy(out->root, c.root, ID_SIZE);
        out->counts = c.counts;
        out->has_index = c.has_index;
        out->index_size = c.index_size;
        out->index_twins = c.index_twins;
        out->check = c.check;
        err = 0;
        /* the catalog is saved right after its generation's manifest: its time stands for
         * the generation's end (the host cannot open the manifest) */
        if (fstat(fd, &st) == 0)
            out->end_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    }
    close(fd);
    mm_free(c.index_ids);
    return err == 0 ? 0 : mm_error_set(err, "the host catalog names no generation");
}

int mm_repo_catalog_packs(mm_repo *r, const char *catalog_dir, struct mm_repo_sync_pack **out,
                          size_t *n)
{
    struct mm_repo__catalog *c = NULL;
    struct mm_repo_sync_pack *p = NULL;
    int err;

    MM_ASSERT_ARG(r && catalog_dir && out && n);
    *out = NULL;
    *n = 0;
    if ((err = cat_new(r, catalog_dir, &c)) < 0 || (err = load(r, c, 0)) < 0)
        goto out;
    if (c->lost) {
        err = mm_error_set(MM_ENOTFOUND, "no host catalog");
        goto out;
    }
    if (!(p = mm_calloc(c->npacks ? c->npacks : 1, sizeof(*p)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c->npacks; i++) {
        mm_crypto_hex(c->packs[i].id, p[i].id);
        p[i].size = c->packs[i].size;
    }
    *out = p;
    *n = c->npacks;
out:
    mm_repo__catalog_free(c);
    return err;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* Replace c->file with @n bytes at @p: a 0600 temporary, fsync, rename, folder fsync. */
static int write_file(struct mm_repo__catalog *c, const void *p, size_t n)
{
    char tmp[sizeof(c->file) + 8];
    int fd, err;

    snprintf(tmp, sizeof(tmp), "%s.tmp", c->file);
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot write the host catalog");
    if ((err = mm_os_write_all(fd, p, n, tmp)) == 0 && (fchmod(fd, 0600) != 0 || fsync(fd) != 0))
        err = mm_error_set_errno(MM_EIO, errno, "cannot write the host catalog");
    if (close(fd) != 0 && err == 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot write the host catalog");
    if (err == 0 && rename(tmp, c->file) != 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot replace the host catalog");
    if (err < 0)
        unlink(tmp);
    else
        err = mm_os_fsync_dir(c->dir);
    return err;
}

/* The head and the generation part for @g (index blocks @ids, @nids of them). */
static int put_gen(mm_repo *r, const struct mm_repo_gen *g, const unsigned char *ids, size_t nids,
                   mm_buf *f)
{
    unsigned char h[CAT_HEAD + CAT_NCOUNTS * 8 + 4];
    const struct mm_repo_counts *k = &g->counts;
    const uint64_t cn[CAT_NCOUNTS] = { k->files,           k->dirs,        k->symlinks,
                                       k->skipped,         k->bytes,       k->files_read,
                                       k->files_unchanged, k->objects_new, k->bytes_new,
                                       k->bytes_stored };
    unsigned flags = F_PARENT | (g->has_index ? F_INDEX : 0) | (g->index_twins ? F_TWINS : 0) |
                     (g->check.present ? F_CHECK : 0);
    int err;

    memset(h, 0, sizeof(h));
    memcpy(h, CAT_MAGIC, 4);
    mm_put_le16(h + 4, CAT_VERSION);
    mm_put_le16(h + 6, (uint16_t)flags);
    memcpy(h + 8, r->id, 32);
    mm_put_le64(h + 40, (uint64_t)time(NULL));
    if ((err = mm_crypto_hex_parse(g->id, h + 48)) < 0)
        return err;
    memcpy(h + 80, g->root, ID_SIZE);
    mm_put_le64(h + 112, g->index_size);
    mm_put_le64(h + 120, g->check.patients);
    mm_put_le32(h + 128, g->check.attention);
    mm_put_le32(h + 132, CAT_NCOUNTS);
    for (unsigned i = 0; i < CAT_NCOUNTS; i++)
        mm_put_le64(h + CAT_HEAD + 8 * i, cn[i]);
    mm_put_le32(h + CAT_HEAD + CAT_NCOUNTS * 8, (uint32_t)nids);
    if ((err = mm_buf_put(f, h, sizeof(h))) < 0)
        return err;
    return nids ? mm_buf_put(f, ids, nids * ID_SIZE) : 0;
}

/* The packs: the checked ones of the catalog, then @nnew new ones. */
static int put_packs(struct mm_repo__catalog *c, const struct mm_repo__packinfo *newp, size_t nnew,
                     mm_buf *f)
{
    struct mm_repo__packinfo *all;
    unsigned char le[8];
    mm_buf b;
    size_t n = c->npacks + nnew;
    int err;

    if (!(all = mm_malloc((n ? n : 1) * sizeof(*all))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    if (c->npacks)
        memcpy(all, c->packs, c->npacks * sizeof(*all));
    if (nnew)
        memcpy(all + c->npacks, newp, nnew * sizeof(*all));
    mm_buf_init(&b, CAT_MAX / 2);
    if ((err = mm_repo__ixfile_encode(all, n, &b)) == 0) {
        mm_put_le64(le, b.len);
        if ((err = mm_buf_put(f, le, 8)) == 0)
            err = mm_buf_put(f, b.ptr, b.len);
    }
    mm_buf_release(&b);
    mm_free(all);
    return err;
}

/* The trees of the generation just written (the fresh ones), and the checksum. */
static int put_trees(struct mm_repo__catalog *c, mm_buf *f)
{
    unsigned char le[4], sum[ID_SIZE];
    size_t at = f->len;
    uint32_t n = 0;
    int err;

    mm_put_le32(le, 0);
    if ((err = mm_buf_put(f, le, 4)) < 0)
        return err;
    for (size_t i = 0; i < c->ntv; i++) {
        const struct mm_repo__cattree *t = &c->tv[i];
        if (!t->fresh)
            continue;
        mm_put_le32(le, t->len);
        if ((err = mm_buf_put(f, t->id, ID_SIZE)) < 0 || (err = mm_buf_put(f, le, 4)) < 0 ||
            (err = mm_buf_put(f, (const char *)c->trees.ptr + t->off, t->len)) < 0)
            return err;
        n++;
    }
    mm_put_le32((unsigned char *)f->ptr + at, n);
    mm_crypto_hash(f->ptr, f->len, sum);
    return mm_buf_put(f, sum, ID_SIZE);
}

int mm_repo__catalog_save(mm_repo *r, struct mm_repo__catalog *c, const struct mm_repo_gen *g,
                          const unsigned char *index_ids, size_t nindex,
                          const struct mm_repo__packinfo *newp, size_t nnew)
{
    mm_buf f;
    int err;

    mm_buf_init(&f, CAT_MAX);
    if ((err = put_gen(r, g, index_ids, nindex, &f)) == 0 &&
        (err = put_packs(c, newp, nnew, &f)) == 0 && (err = put_trees(c, &f)) == 0)
        err = write_file(c, f.ptr, f.len);
    if (f.ptr)
        mm_crypto_wipe(f.ptr, f.len);
    mm_buf_release(&f);
    return err;
}

/* ---- a host's backup (repo_backup.c) ------------------------------------------------------ */

int mm_repo__catalog_begin(mm_repo *r, const struct mm_repo_backup_opts *o,
                           struct mm_repo_gen *parent, int *have_parent)
{
    struct mm_repo__catalog *c;
    int err;

    mm_repo__index_release(&r->ix);
    r->ix.loaded = 1; /* index/ is sealed to the reader key: what the catalog knows serves */
    if (!o->catalog_dir)
        return 0;
    if ((err = mm_repo__catalog_open(r, o->catalog_dir, o, &c)) < 0)
        return err;
    r->cat = c;
    if (o->catalog_report) {
        o->catalog_report->used = 1;
        o->catalog_report->lost = c->lost;
        o->catalog_report->dropped_packs = c->dropped;
    }
    if (!c->have_parent)
        return 0;
    mm_crypto_hex(c->gen, parent->id);
    memcpy(parent->root, c->root, ID_SIZE);
    parent->counts = c->counts;
    parent->has_index = c->has_index;
    parent->index_size = c->index_size;
    parent->index_twins = c->index_twins;
    parent->check = c->check;
    *have_parent = 1;
    return 0;
}

/* ---- seeding by a person (host enroll) ----------------------------------------------------- */

/* Record every tree below @root (its plaintext, read with the person's key) in @c. */
static int seed_trees(mm_repo *r, struct mm_repo__catalog *c, const unsigned char root[ID_SIZE])
{
    struct mm_repo__work w;
    unsigned char *stack = NULL;
    size_t n = 0, cap = 0;
    mm_buf b;
    int err;

    if ((err = mm_repo__work_init(&w)) < 0)
        return err;
    mm_buf_init(&b, MM_REPO_TREE_MAX);
    if (!(stack = mm_malloc(ID_SIZE)))
        err = mm_error_set(MM_ENOMEM, "out of memory");
    else
        memcpy(stack, root, ID_SIZE), n = 1, cap = 1;
    while (err == 0 && n > 0) {
        unsigned char id[ID_SIZE];
        struct mm_repo__tree t = { 0 };
        memcpy(id, stack + --n * ID_SIZE, ID_SIZE);
        mm_buf_clear(&b);
        if ((err = mm_repo__object_get(r, &w, id, &b)) < 0 ||
            (err = tadd(c, id, b.ptr, b.len, 1)) < 0 ||
            (err = mm_repo__tree_decode(b.ptr, b.len, &t)) < 0)
            break;
        for (size_t i = 0; i < t.n && err == 0; i++) {
            if (t.e[i].kind != MM_REPO_KIND_DIR || tfind(c, t.e[i].ids))
                continue;
            if (n == cap) {
                void *nv = mm_realloc(stack, cap * 2 * ID_SIZE);
                if (!nv) {
                    err = mm_error_set(MM_ENOMEM, "out of memory");
                    break;
                }
                stack = nv;
                cap *= 2;
            }
            memcpy(stack + n++ * ID_SIZE, t.e[i].ids, ID_SIZE);
        }
        mm_repo__tree_release(&t);
    }
    mm_free(stack);
    mm_buf_release(&b);
    mm_repo__work_release(&w);
    return err;
}

static int by_offset(const void *a, const void *b)
{
    uint32_t x = ((const struct mm_repo__obj *)a)->offset,
             y = ((const struct mm_repo__obj *)b)->offset;
    return x < y ? -1 : x > y;
}

/* Every pack of r->ix with its objects, as index file entries (@objs: the one block). */
static int seed_packs(mm_repo *r, struct mm_repo__packinfo **out, struct mm_repo__obj **objs)
{
    const struct mm_repo__objindex *ix = &r->ix;
    struct mm_repo__packinfo *p = mm_calloc(ix->npacks ? ix->npacks : 1, sizeof(*p));
    struct mm_repo__obj *o = mm_calloc(ix->nlocs ? ix->nlocs : 1, sizeof(*o));
    size_t at = 0;

    if (!p || !o) {
        mm_free(p);
        mm_free(o);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ix->nlocs; i++)
        if (!ix->locs[i].pending)
            p[ix->locs[i].pack].nobjs++;
    for (size_t k = 0; k < ix->npacks; k++) {
        memcpy(p[k].id, ix->packs[k].id, ID_SIZE);
        p[k].size = ix->packs[k].size;
        p[k].objs = o + at;
        at += p[k].nobjs;
        p[k].nobjs = 0;
    }
    for (size_t i = 0; i < ix->nlocs; i++) {
        const struct mm_repo__loc *l = &ix->locs[i];
        struct mm_repo__obj *e;
        if (l->pending)
            continue;
        e = &p[l->pack].objs[p[l->pack].nobjs++];
        memcpy(e->id, l->id, ID_SIZE);
        e->type = l->type;
        e->offset = l->offset;
        e->length = l->length;
        e->plain = l->plain;
    }
    for (size_t k = 0; k < ix->npacks; k++) /* a table lists its objects in pack order */
        qsort(p[k].objs, p[k].nobjs, sizeof(*p[k].objs), by_offset);
    *out = p;
    *objs = o;
    return 0;
}

int mm_repo_catalog_seed(mm_repo *r, const char *catalog_dir, char gen_out[MM_CRYPTO_HEX_SIZE])
{
    struct mm_repo__catalog *c = NULL;
    struct mm_repo_gen g = { 0 };
    struct mm_repo__packinfo *packs = NULL;
    struct mm_repo__obj *objs = NULL;
    unsigned char *ids = NULL;
    char hex[MM_CRYPTO_HEX_SIZE];
    size_t nids = 0;
    int err;

    MM_ASSERT_ARG(r && catalog_dir);
    if (r->version < 3 || mm_keyset_is_host(r->ks))
        return mm_error_set(MM_EINVAL, "a host catalog is seeded from a format 3 repository "
                                       "opened with a passphrase");
    if ((err = mm_repo__index_load(r)) < 0 || (err = mm_repo_gen_find(r, "latest", &g)) < 0)
        return err;
    memcpy(hex, g.id, sizeof(hex));
    mm_repo_gen_release(&g);
    /* the manifest again, for the patient index's block IDs */
    if ((err = mm_repo__gen_load(r, hex, &g, &ids, &nids)) < 0)
        return err;
    memcpy(g.id, hex, sizeof(hex));
    if ((err = cat_new(r, catalog_dir, &c)) == 0 && (err = seed_trees(r, c, g.root)) == 0 &&
        (err = seed_packs(r, &packs, &objs)) == 0)
        err = mm_repo__catalog_save(r, c, &g, g.has_index ? ids : NULL, g.has_index ? nids : 0,
                                    packs, r->ix.npacks);
    if (err == 0 && gen_out)
        memcpy(gen_out, g.id, MM_CRYPTO_HEX_SIZE);
    mm_free(packs);
    mm_free(objs);
    mm_free(ids);
    mm_repo__catalog_free(c);
    mm_repo_gen_release(&g);
    return err;
}

/* ---- release ------------------------------------------------------------------------------- */

void mm_repo__catalog_free_parts(struct mm_repo__catalog *c)
{
    mm_free(c->objs);
    mm_free(c->packs);
    c->objs = NULL;
    c->packs = NULL;
    c->npacks = 0;
    mm_free(c->index_ids);
    c->index_ids = NULL;
    c->nindex = 0;
    if (c->trees.ptr)
        mm_crypto_wipe(c->trees.ptr, c->trees.len);
    mm_buf_clear(&c->trees);
    mm_free(c->tv);
    mm_free(c->slots);
    c->tv = NULL;
    c->slots = NULL;
    c->ntv = c->captv = c->nslots = 0;
    c->have_parent = 0;
}

void mm_repo__catalog_free(struct mm_repo__catalog *c)
{
    if (!c)
        return;
    mm_repo__catalog_free_parts(c);
    mm_buf_release(&c->trees);
    pthread_mutex_destroy(&c->lock);
    mm_free(c);
}
