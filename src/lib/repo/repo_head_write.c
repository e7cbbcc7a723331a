/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writing a new repository head (repo.h): under flock() of a local repository folder, read the
 * medium's head and the host's copy, refuse to write over evidence (a rollback, a deleted or
 * cut audit log) unless a person accepted it, then list the generations (those on the medium
 * and those the last head lists that are gone, unless removed by the caller or accepted),
 * note the audit log's state and the other media this host knows, sign, and write head, then
 * head.2, then the host's copy: each crash-safely. A crash between them leaves the older
 * copy behind the newer one, which the reader takes (the newer good copy wins).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/endian.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "repo/repo_int.h"

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, MM_CRYPTO_ID_SIZE);
}

static int cmp_peer(const void *a, const void *b)
{
    return memcmp(((const struct mm_repo_head_peer *)a)->repo_id,
                  ((const struct mm_repo_head_peer *)b)->repo_id, MM_REPO_ID_BYTES);
}

static int listed(const unsigned char (*v)[32], size_t n, const unsigned char *id)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(v[i], id, 32) == 0)
            return 1;
    return 0;
}

/* The generations of the new head: on the medium, plus @base's missing ones kept, less the
 * ones the caller removes (forget). */
static int gen_list(mm_repo *r, const struct mm_repo_head *base,
                    const struct mm_repo_head_write_opts *o, struct mm_repo_head *h)
{
    unsigned char(*have)[32] = NULL, (*v)[32];
    size_t nhave = 0, n;
    int err;

    if ((err = mm_repo__head_present(r, &have, &nhave)) < 0)
        return err;
    n = 0;
    v = malloc(32 * (nhave + (base ? base->ngens : 0)) + 1);
    if (!v) {
        free(have);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    /* the caller is about to remove the forgotten ones: a crash before it leaves them on the
     * medium and unlisted (information), never listed and missing (a deletion) */
    for (size_t i = 0; i < nhave; i++)
        if (!listed(o->forget, o->nforget, have[i]))
            memcpy(v[n++], have[i], 32);
    for (size_t i = 0; base && !o->accept_missing && i < base->ngens; i++)
        if (!listed((const unsigned char(*)[32])have, nhave, base->gens[i]) &&
            !listed(o->forget, o->nforget, base->gens[i]))
            memcpy(v[n++], base->gens[i], 32);
    free(have);
    if (n > 1)
        qsort(v, n, 32, cmp_id);
    h->gens = v;
    h->ngens = n;
    return 0;
}

/* The heads of the other media this host keeps (<@dir>/<ID>.rhead), at most PEERS_MAX. */
static int peer_list(const char *dir, const char *own, struct mm_repo_head *h)
{
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    char path[MM_LIMIT_PATH];
    mm_buf b;

    if (!d)
        return 0;
    if (!(h->peers = calloc(MM_REPO_HEAD_PEERS_MAX, sizeof(*h->peers)))) {
        closedir(d);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    mm_buf_init(&b, MM_REPO_HEAD_MAX);
    while ((e = readdir(d)) && h->npeers < MM_REPO_HEAD_PEERS_MAX) {
        size_t len = strlen(e->d_name);
        struct mm_repo_head_peer *p = &h->peers[h->npeers];
        if (len != 32 + strlen(MM_REPO_HEAD_HOST_EXT) ||
            strcmp(e->d_name + 32, MM_REPO_HEAD_HOST_EXT) != 0 || strncmp(e->d_name, own, 32) == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        mm_buf_clear(&b);
        /* checked when the host kept it; here only its place in its chain is taken */
        if (mm_os_read_file(path, &b) < 0 || b.len < 124 || memcmp(b.ptr, "MMRH", 4) != 0)
            continue;
        memcpy(p->repo_id, b.ptr + 8, MM_REPO_ID_BYTES);
        p->seq = mm_get_le64((const unsigned char *)b.ptr + 24);
        mm_crypto_hash(b.ptr, b.len, p->hash);
        h->npeers++;
    }
    closedir(d);
    mm_buf_release(&b);
    mm_error_clear();
    if (h->npeers > 1)
        qsort(h->peers, h->npeers, sizeof(*h->peers), cmp_peer);
    return 0;
}

/* Why no head may be written over what @rep found, or NULL. */
static const char *evidence(const struct mm_repo_head_report *rep, int damaged_only)
{
    if (rep->rollback)
        return "the medium's head is older than this host's copy (rollback)";
    if (rep->forked)
        return "the medium's head does not descend from this host's copy";
    if (rep->audit_deleted)
        return "the audit log the head records is gone";
    if (rep->audit_truncated || rep->audit_rolled)
        return "the audit log is shorter than the head records";
    if (damaged_only)
        return "both copies of the repository head are damaged";
    return NULL;
}

/* Encode @h and write it as head, head.2 and the host copy. */
static int put(mm_repo *r, struct mm_repo_head *h, const struct mm_repo_head_write_opts *o)
{
    mm_buf b;
    int err;

    mm_buf_init(&b, MM_REPO_HEAD_MAX);
    if ((err = mm_repo_head_encode(h, r->ks, &b)) < 0)
        goto out;
    /* what the head lists is stored first (packs, index files, manifests: a queuing backend
     * may hold them yet); then head, then head.2 (MM_REPO_HEAD_FILE2), as every small
     * critical file */
    if ((err = mm_repo__flush(r)) < 0 ||
        (err = mm_repo__write2(r, MM_REPO_HEAD_FILE, b.ptr, b.len)) < 0)
        goto out;
    if (o->host_dir) {
        char key[MM_REPO_HOST_KEY_MAX];
        err = mm_repo__head_host_put(o->host_dir, mm_repo__host_key(r, key), MM_REPO_HEAD_HOST_EXT,
                                     b.ptr, b.len);
    }
out:
    mm_buf_release(&b);
    return err;
}

/* Build and write the head after @cur / @host (either may be absent). */
static int build(mm_repo *r, const struct mm_repo_head_write_opts *o,
                 const struct mm_repo_head *cur, const struct mm_repo_head *host,
                 struct mm_repo_head *h)
{
    const struct mm_repo_head *base = cur ? cur : host;
    int err;

    if (mm_repo__head_id_bytes(r->id, h->repo_id) < 0)
        return mm_error_set(MM_ECORRUPT, "bad repository ID");
    h->seq = 1 + (base ? base->seq : 0);
    if (o->restart && host && host->seq >= h->seq)
        h->seq = host->seq + 1;
    if (base)
        memcpy(h->prev, base->hash, 32);
    h->time_ns = mm_repo__now_ns();
    mm_repo__head_audit_state(r->be, h);
    if ((err = gen_list(r, base, o, h)) < 0 || (err = peer_list(o->host_dir, r->id, h)) < 0)
        return err;
    return put(r, h, o);
}

int mm_repo_head_write(mm_repo *r, const struct mm_repo_head_write_opts *o,
                       struct mm_repo_head *out)
{
    static const struct mm_repo_head_write_opts none = { 0 };
    struct mm_repo_head cur = { 0 }, host = { 0 }, h = { 0 };
    struct mm_repo_head_report rep = { 0 };
    int has_cur = 0, has_host = 0, err, fd = -1;
    const char *why;

    MM_ASSERT_ARG(r && r->ks);
    if (!o)
        o = &none;
    /* writers of one folder take turns (an object store: the repository lock alone) */
    if (mm_repo__local(r) && (fd = open(mm_repo__local(r), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return mm_error_set(MM_EIO, "cannot open the repository folder");
    while (fd >= 0 && flock(fd, LOCK_EX) != 0)
        ; /* EINTR */
    err = mm_repo__head_load_both(r, o->host_dir, &cur, &has_cur, &host, &has_host, &rep.copies,
                                  NULL);
    if (err == 0)
        err = mm_repo__head_judge(r, has_cur ? &cur : NULL, has_host ? &host : NULL, &rep);
    if (err == 0 && !o->restart &&
        (why = evidence(&rep, rep.copies.present && !has_cur && rep.copies.damaged)))
        err = mm_error_set(MM_ECORRUPT, "repository head not written: %s (mamori verify)", why);
    if (err == 0)
        err = build(r, o, has_cur ? &cur : NULL, has_host ? &host : NULL, &h);
    if (err == 0 && o->host_dir && o->restart) {
        char path[MM_LIMIT_PATH], key[MM_REPO_HOST_KEY_MAX]; /* a person accepted it */
        if (snprintf(path, sizeof(path), "%s/%s%s", o->host_dir, mm_repo__host_key(r, key),
                     MM_REPO_HEAD_ALERT_EXT) < (int)sizeof(path))
            (void)unlink(path);
    }
    if (fd >= 0)
        close(fd);
    mm_repo_head_report_release(&rep);
    mm_repo_head_release(&cur);
    mm_repo_head_release(&host);
    if (err == 0 && out)
        *out = h;
    else
        mm_repo_head_release(&h);
    return err;
}
