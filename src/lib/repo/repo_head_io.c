/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The repository head on the medium and on the host (repo.h): <repo>/head and its second
 * copy head.2, the host's copy <audit folder>/<repository ID>.rhead, and the alert file
 * `status` reads. A new head chains to the newer of the medium's head and the host's copy;
 * a head is not written over evidence (a deleted or cut audit log, a rollback) unless a
 * person accepted it (restart), so no later writer launders what was found. Generations the
 * head lists whose manifests are gone stay listed (still reported) until a person accepts
 * the loss or a prune or retirement says it removed them. The audit log's state is read as
 * files (its size, and the sequence number and hash its head names: docs/format.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/endian.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "repo/repo_int.h"

#define AUDIT_LOG  "audit/audit.log"
#define AUDIT_HEAD "audit/audit.head"

int mm_repo__head_id_bytes(const char *hex, unsigned char out[MM_REPO_ID_BYTES])
{
    for (size_t i = 0; i < 2 * MM_REPO_ID_BYTES; i++) {
        char c = hex[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        out[i / 2] = (unsigned char)(i % 2 ? (out[i / 2] << 4) | v : v);
    }
    return hex[2 * MM_REPO_ID_BYTES] == '\0' ? 0 : -1;
}

/* Decode the head in @b with @pk, its bytes into @raw (may be NULL). */
static int decode_copy(mm_buf *b, const unsigned char *pk, struct mm_repo_head *out, mm_buf *raw)
{
    int err = mm_repo_head_decode(b->ptr, b->len, pk, out);

    if (err == 0 && raw) {
        mm_buf_clear(raw);
        err = mm_buf_put(raw, b->ptr, b->len);
    }
    return err;
}

/* Read and decode the head file @path with @pk. @return as mm_repo_head_decode, ENOTFOUND */
static int load_file(const char *path, const unsigned char *pk, struct mm_repo_head *out,
                     mm_buf *raw)
{
    mm_buf b;
    int err;

    mm_buf_init(&b, MM_REPO_HEAD_MAX);
    if ((err = mm_os_read_file(path, &b)) == 0)
        err = decode_copy(&b, pk, out, raw);
    mm_buf_release(&b);
    return err;
}

/* Read and decode the head copy @rel of the repository on @be. @return as load_file() */
static int load_copy(struct mm_repo_be *be, const char *rel, const unsigned char *pk,
                     struct mm_repo_head *out, mm_buf *raw)
{
    mm_buf b;
    int err;

    mm_buf_init(&b, MM_REPO_HEAD_MAX);
    if ((err = be->ops->read(be, rel, &b)) == 0)
        err = decode_copy(&b, pk, out, raw);
    mm_buf_release(&b);
    return err;
}

/* mm_repo_head_load() of the repository on @be, with the bytes of the copy chosen in @raw
 * (may be NULL). */
int mm_repo__head_load_raw(struct mm_repo_be *be, const unsigned char pk[MM_CRYPTO_PK_SIZE],
                           struct mm_repo_head *out, struct mm_repo_head_copies *copies,
                           mm_buf *raw)
{
    static const char *const names[2] = { MM_REPO_HEAD_FILE, MM_REPO_HEAD_FILE2 };
    struct mm_repo_head h[2];
    struct mm_repo_head_copies c = { 0 };
    int ok[2] = { 0, 0 }, first = 0, err = 0, pick;
    mm_buf raws[2];

    memset(h, 0, sizeof(h));
    mm_buf_init(&raws[0], MM_REPO_HEAD_MAX);
    mm_buf_init(&raws[1], MM_REPO_HEAD_MAX);
    for (int i = 0; i < 2; i++) {
        err = load_copy(be, names[i], pk, &h[i], raw ? &raws[i] : NULL);
        if (err == MM_ENOTFOUND)
            continue;
        c.present++;
        if (err == MM_ENOMEM || err == MM_EIO)
            goto out;
        if (err < 0) {
            if (!c.damaged)
                first = err;
            c.damaged++;
            snprintf(c.msg, sizeof(c.msg), "%s: %s", names[i], mm_error_last());
        } else {
            ok[i] = 1;
        }
    }
    err = 0;
    c.differ = ok[0] && ok[1] && memcmp(h[0].hash, h[1].hash, 32) != 0;
    if (copies)
        *copies = c;
    if (!ok[0] && !ok[1]) {
        err = !c.present ? mm_error_set(MM_ENOTFOUND, "no repository head yet")
                         : mm_error_set(first, "%s", c.msg);
        goto out;
    }
    /* the newer good copy: head.2 is behind head after a crash between the two writes */
    pick = ok[0] && (!ok[1] || h[0].seq >= h[1].seq) ? 0 : 1;
    *out = h[pick];
    memset(&h[pick], 0, sizeof(h[pick]));
    if (raw) {
        mm_buf_clear(raw);
        err = mm_buf_put(raw, raws[pick].ptr, raws[pick].len);
    }
out:
    mm_repo_head_release(&h[0]);
    mm_repo_head_release(&h[1]);
    mm_buf_release(&raws[0]);
    mm_buf_release(&raws[1]);
    return err;
}

int mm_repo_head_load(const char *path, const unsigned char pk[MM_CRYPTO_PK_SIZE],
                      struct mm_repo_head *out, struct mm_repo_head_copies *copies)
{
    struct mm_repo_be *be = NULL;
    int err;

    if ((err = mm_repo_be_open(&be, path, 0)) < 0)
        return err;
    err = mm_repo__head_load_raw(be, pk, out, copies, NULL);
    be->ops->close(be);
    return err;
}

int mm_repo_head_host_load(const char *dir, const char *id,
                           const unsigned char pk[MM_CRYPTO_PK_SIZE], struct mm_repo_head *out)
{
    char p[MM_LIMIT_PATH];

    if (!dir || snprintf(p, sizeof(p), "%s/%s%s", dir, id, MM_REPO_HEAD_HOST_EXT) >= (int)sizeof(p))
        return mm_error_set(MM_ENOTFOUND, "no host folder");
    return load_file(p, pk, out, NULL);
}

int mm_repo__head_host_put(const char *dir, const char *id, const char *ext, const void *p,
                           size_t n)
{
    char path[MM_LIMIT_PATH];
    int err;

    if (snprintf(path, sizeof(path), "%s/%s%s", dir, id, ext) >= (int)sizeof(path))
        return mm_error_set(MM_ELIMIT, "host folder path too long");
    if ((err = mm_os_mkdir_p(dir, 0700)) < 0 || (err = mm_os_write_atomic(path, p, n)) < 0)
        return err;
    (void)chmod(path, 0600);
    return 0;
}

/* Remove the host's file <@dir>/<@id><@ext> (a missing one is fine). */
static void host_remove(const char *dir, const char *id, const char *ext)
{
    char path[MM_LIMIT_PATH];

    if (snprintf(path, sizeof(path), "%s/%s%s", dir, id, ext) < (int)sizeof(path))
        (void)unlink(path);
}

int mm_repo_head_alert_read(const char *dir, const char *id, char *out, size_t cap)
{
    char path[MM_LIMIT_PATH];
    FILE *f;
    int got;

    if (!dir || cap == 0 ||
        snprintf(path, sizeof(path), "%s/%s%s", dir, id, MM_REPO_HEAD_ALERT_EXT) >=
                (int)sizeof(path) ||
        !(f = fopen(path, "r")))
        return 0;
    got = fgets(out, (int)cap, f) != NULL;
    fclose(f);
    if (got)
        out[strcspn(out, "\n")] = '\0';
    return got;
}

/* ---- the state a head records -------------------------------------------------------------- */

/* The audit log's state in the repository on @be into @h (flags, length, signed head). */
void mm_repo__head_audit_state(struct mm_repo_be *be, struct mm_repo_head *h)
{
    unsigned char b[48];
    uint64_t size;

    h->flags &= ~(unsigned)MM_REPO_HEAD_AUDIT;
    h->audit_len = h->audit_seq = 0;
    memset(h->audit_h, 0, 32);
    if (be->ops->stat(be, AUDIT_LOG, &size) < 0) {
        mm_error_clear();
        return;
    }
    h->flags |= MM_REPO_HEAD_AUDIT;
    h->audit_len = size;
    /* "MMAH" | le32 version | le64 seq | H (docs/format.md, "Head file") */
    if (be->ops->read_at(be, AUDIT_HEAD, 0, b, sizeof(b)) == 0 && memcmp(b, "MMAH", 4) == 0) {
        h->audit_seq = mm_get_le64(b + 8);
        memcpy(h->audit_h, b + 16, 32);
    }
    mm_error_clear();
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, MM_CRYPTO_ID_SIZE);
}

/* The IDs of the manifests on the medium, ascending. OUT: *@out (free()), *@n. */
int mm_repo__head_present(mm_repo *r, unsigned char (**out)[32], size_t *n)
{
    char **names = NULL;
    size_t k = 0;
    int err = mm_repo__list(r, "generations", &names, &k);

    *out = NULL;
    *n = 0;
    if (err < 0)
        return err;
    if (k && !(*out = malloc(32 * k))) {
        mm_repo__list_free(names, k);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < k; i++)
        if (mm_crypto_hex_parse(names[i], (*out)[*n]) == 0)
            (*n)++;
    mm_repo__list_free(names, k);
    if (*n > 1)
        qsort(*out, *n, 32, cmp_id);
    return 0;
}

static int has_id(const unsigned char (*v)[32], size_t n, const unsigned char *id)
{
    return n && bsearch(id, v, n, 32, cmp_id) != NULL;
}

/* ---- the check ----------------------------------------------------------------------------- */

void mm_repo_head_report_release(struct mm_repo_head_report *rep)
{
    if (!rep)
        return;
    free(rep->missing);
    free(rep->unlisted);
    rep->missing = rep->unlisted = NULL;
    rep->nmissing = rep->nunlisted = 0;
}

int mm_repo_head_report_bad(const struct mm_repo_head_report *rep)
{
    return rep->nmissing || rep->audit_deleted || rep->audit_truncated || rep->audit_rolled ||
           rep->rollback || rep->forked || (rep->copies.damaged && !rep->has_head);
}

/* Compare the medium's head @cur (NULL: none) with what is there now and the host copy. */
int mm_repo__head_judge(mm_repo *r, const struct mm_repo_head *cur, const struct mm_repo_head *host,
                        struct mm_repo_head_report *rep)
{
    struct mm_repo_head now = { 0 };
    unsigned char(*have)[32] = NULL;
    size_t nhave = 0;
    int err;

    mm_repo__head_audit_state(r->be, &now);
    rep->audit_len_now = now.audit_len;
    rep->audit_seq_now = now.audit_seq;
    if (host) {
        rep->host_known = 1;
        rep->host_seq = host->seq;
        rep->host_time_ns = host->time_ns;
        rep->rollback = !cur || cur->seq < host->seq;
        rep->forked =
                cur && ((cur->seq == host->seq && memcmp(cur->hash, host->hash, 32) != 0) ||
                        (cur->seq == host->seq + 1 && memcmp(cur->prev, host->hash, 32) != 0));
    }
    if (!cur)
        return 0;
    rep->has_head = 1;
    rep->seq = cur->seq;
    rep->time_ns = cur->time_ns;
    memcpy(rep->signer, cur->signer, sizeof(rep->signer));
    rep->audit_len = cur->audit_len;
    rep->audit_seq = cur->audit_seq;
    memcpy(rep->audit_h, cur->audit_h, 32);
    if (cur->flags & MM_REPO_HEAD_AUDIT) {
        rep->audit_deleted = !(now.flags & MM_REPO_HEAD_AUDIT);
        rep->audit_truncated = !rep->audit_deleted && now.audit_len < cur->audit_len;
        rep->audit_rolled = !rep->audit_deleted && now.audit_seq < cur->audit_seq;
    }
    if ((err = mm_repo__head_present(r, &have, &nhave)) < 0)
        return err;
    rep->missing = cur->ngens ? malloc(32 * cur->ngens) : NULL;
    rep->unlisted = nhave ? malloc(32 * nhave) : NULL;
    if ((cur->ngens && !rep->missing) || (nhave && !rep->unlisted)) {
        free(have);
        return mm_error_set(MM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < cur->ngens; i++)
        if (!has_id((const unsigned char(*)[32])have, nhave, cur->gens[i]))
            memcpy(rep->missing[rep->nmissing++], cur->gens[i], 32);
    for (size_t i = 0; i < nhave; i++)
        if (!has_id((const unsigned char(*)[32])cur->gens, cur->ngens, have[i]))
            memcpy(rep->unlisted[rep->nunlisted++], have[i], 32);
    free(have);
    return 0;
}

const char *mm_repo__host_key(const mm_repo *r, char out[MM_REPO_HOST_KEY_MAX])
{
    unsigned char h[MM_CRYPTO_ID_SIZE];
    char hex[MM_CRYPTO_HEX_SIZE];

    if (mm_repo_be_local_path(r->be)) {
        snprintf(out, MM_REPO_HOST_KEY_MAX, "%s", r->id);
        return out;
    }
    mm_crypto_hash(r->be->where, strlen(r->be->where), h);
    mm_crypto_hex(h, hex);
    snprintf(out, MM_REPO_HOST_KEY_MAX, "%s-%s-%.12s", r->id, r->be->info.scheme, hex);
    return out;
}

/* The medium's head and the host copy of @r. OUT: @cur, @host and whether each was read. */
int mm_repo__head_load_both(mm_repo *r, const char *host_dir, struct mm_repo_head *cur,
                            int *has_cur, struct mm_repo_head *host, int *has_host,
                            struct mm_repo_head_copies *c, mm_buf *raw)
{
    unsigned char pk[MM_CRYPTO_PK_SIZE];
    char key[MM_REPO_HOST_KEY_MAX];
    int err;

    mm_keyset_public_key(r->ks, pk);
    *has_cur = *has_host = 0;
    err = mm_repo__head_load_raw(r->be, pk, cur, c, raw);
    if (err == 0)
        *has_cur = 1;
    else if (err == MM_ENOMEM || err == MM_EIO || err == MM_ELIMIT)
        return err;
    err = mm_repo_head_host_load(host_dir, mm_repo__host_key(r, key), pk, host);
    if (err == 0)
        *has_host = 1;
    else if (err == MM_ENOMEM)
        return err;
    mm_error_clear();
    return 0;
}

/* The alert line of @rep for `status` (empty: nothing to report). */
static void alert_line(const struct mm_repo_head_report *rep, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s%s%s medium=%llu host=%llu missing=%zu\n",
             rep->rollback ? " rollback" : "", rep->forked ? " forked" : "",
             rep->nmissing ? " generation-deleted" : "",
             rep->audit_deleted ? " audit-log-deleted" : "",
             rep->audit_truncated ? " audit-log-truncated" : "",
             rep->audit_rolled ? " audit-log-rolled-back" : "", (unsigned long long)rep->seq,
             (unsigned long long)rep->host_seq, rep->nmissing);
}

int mm_repo_head_check(mm_repo *r, const char *host_dir, struct mm_repo_head_report *rep)
{
    struct mm_repo_head cur = { 0 }, host = { 0 };
    int has_cur, has_host, err;
    char line[256], key[MM_REPO_HOST_KEY_MAX];
    mm_buf raw;

    memset(rep, 0, sizeof(*rep));
    mm_repo__host_key(r, key);
    mm_buf_init(&raw, MM_REPO_HEAD_MAX);
    err = mm_repo__head_load_both(r, host_dir, &cur, &has_cur, &host, &has_host, &rep->copies,
                                  &raw);
    if (err == 0)
        err = mm_repo__head_judge(r, has_cur ? &cur : NULL, has_host ? &host : NULL, rep);
    /* the host keeps the newest good head it read, unless it is no descendant of its copy */
    if (err == 0 && host_dir && has_cur && !rep->rollback && !rep->forked &&
        (!has_host || cur.seq > host.seq))
        (void)mm_repo__head_host_put(host_dir, key, MM_REPO_HEAD_HOST_EXT, raw.ptr, raw.len);
    if (err == 0 && host_dir) {
        if (mm_repo_head_report_bad(rep)) {
            alert_line(rep, line, sizeof(line));
            (void)mm_repo__head_host_put(host_dir, key, MM_REPO_HEAD_ALERT_EXT, line + 1,
                                         strlen(line + 1));
        } else {
            host_remove(host_dir, key, MM_REPO_HEAD_ALERT_EXT);
        }
    }
    mm_buf_release(&raw);
    mm_repo_head_release(&cur);
    mm_repo_head_release(&host);
    if (err == 0)
        mm_error_clear();
    return err;
}

int mm_repo_head_audit_gone(mm_repo *r, const char *host_dir)
{
    struct mm_repo_head cur = { 0 }, host = { 0 }, now = { 0 };
    int has_cur = 0, has_host = 0, said = 0;

    if (mm_repo__head_load_both(r, host_dir, &cur, &has_cur, &host, &has_host, NULL, NULL) < 0)
        return 0;
    said = (has_cur && (cur.flags & MM_REPO_HEAD_AUDIT)) ||
           (has_host && (host.flags & MM_REPO_HEAD_AUDIT));
    mm_repo_head_release(&cur);
    mm_repo_head_release(&host);
    mm_error_clear();
    if (!said)
        return 0;
    mm_repo__head_audit_state(r->be, &now);
    return !(now.flags & MM_REPO_HEAD_AUDIT);
}
