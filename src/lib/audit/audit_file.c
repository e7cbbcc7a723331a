/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Audit log files: appending (one locked, fsynced write per record; a torn last record left by
 * a crash or a full disk is cut by the next append, which records the cut), loading a log and
 * its head, and exports. An append reads only the header, the head and the last record (its
 * trailer gives its length), so it costs the same on a log of any size; only a log whose last
 * record does not decode is read whole to find where the torn bytes start. Concurrent
 * writers (backup under the repository lock, viewers that hold none) are serialized by
 * flock() on the log file; the head is replaced crash-safely after the record is durable, so
 * a crash leaves the head at most one record behind, never ahead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/log.h"
#include "os/os.h"

#define PATH_CAP (MM_LIMIT_PATH + 16)

/* @path for a message, patient IDs hidden (mm_log_path); valid until the next call. */
static const char *redact(const char *path)
{
    static _Thread_local char buf[MM_LOG_PATH_MAX];

    return mm_log_path(buf, sizeof(buf), path);
}

/* <base><suffix> into @out. @return 0, MM_EINVAL (too long) */
static int join(char out[PATH_CAP], const char *base, const char *suffix)
{
    if (!base || !*base || strlen(base) > MM_LIMIT_PATH)
        return mm_error_set(MM_EINVAL, "bad audit log path");
    snprintf(out, PATH_CAP, "%s%s", base, suffix);
    return 0;
}

/* The folder of @path into @out. */
static void dirname_of(const char *path, char out[PATH_CAP])
{
    const char *s = strrchr(path, '/');

    if (!s)
        snprintf(out, PATH_CAP, ".");
    else if (s == path)
        snprintf(out, PATH_CAP, "/");
    else
        snprintf(out, PATH_CAP, "%.*s", (int)(s - path), path);
}

static int pread_all(int fd, void *dst, size_t n, uint64_t off, const char *path)
{
    unsigned char *d = dst;

    while (n) {
        ssize_t k = pread(fd, d, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return mm_error_set_errno(MM_EIO, errno, "cannot read '%s'", redact(path));
        if (k == 0)
            return mm_error_set(MM_ECORRUPT, "audit log '%s' is shorter than expected",
                                redact(path));
        d += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* Now, and the local offset east of UTC. */
static void now(int64_t *ns, int32_t *offset)
{
    struct timespec ts;
    struct tm tm;
    long off;

    clock_gettime(CLOCK_REALTIME, &ts);
    *ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    *offset = mm_os_localtime(ts.tv_sec, &tm, &off) == 0 ? (int32_t)off : 0;
}

/* Where the log ends: the last good record's sequence number and hash, and its end. */
struct tail {
    uint64_t seq;
    unsigned char hash[ID_SIZE];
    uint64_t end;  /* bytes before any torn record */
    uint64_t size; /* file size */
};

/* Find the tail of the open log @fd of @size bytes whose header hash is @h0. */
static int find_tail(int fd, uint64_t size, const unsigned char h0[ID_SIZE], const char *path,
                     struct tail *t)
{
    unsigned char tr[8];
    mm_buf b;
    mm_audit_log *l = NULL;
    int err;

    t->size = size;
    t->seq = 0;
    memcpy(t->hash, h0, ID_SIZE);
    t->end = MM_AUDIT_HEADER_SIZE;
    if (size == MM_AUDIT_HEADER_SIZE)
        return 0;
    /* fast path: the trailer of the last record gives its length */
    if (size >= MM_AUDIT_HEADER_SIZE + FRAME_FIXED + 1 &&
        (err = pread_all(fd, tr, 8, size - 8, path)) == 0 && memcmp(tr + 4, "MMAZ", 4) == 0) {
        uint64_t fl = mm_get_le32(tr);
        if (fl <= FRAME_MAX && fl <= size - MM_AUDIT_HEADER_SIZE) {
            unsigned char *f = mm_malloc(fl);
            const unsigned char *body, *sig;
            size_t blen, flen;
            struct mm_audit__body bd;
            if (!f)
                return MM_ENOMEM;
            if ((err = pread_all(fd, f, fl, size - fl, path)) == 0 &&
                mm_audit__frame_decode(f, fl, &body, &blen, &sig, &flen) == 0 && flen == fl &&
                mm_audit__body_decode(body, blen, &bd) == 0) {
                t->seq = bd.seq;
                mm_audit__hash(body, blen, t->hash);
                t->end = size;
                mm_free(f);
                return 0;
            }
            mm_free(f);
            if (err == MM_EIO)
                return err;
        }
    }
    mm_error_clear();
    /* slow path: read it all and find where whole records end */
    if (size > MM_LIMIT_AUDIT_LOG)
        return mm_error_set(MM_ELIMIT, "audit log '%s' is too large", redact(path));
    mm_buf_init(&b, MM_LIMIT_AUDIT_LOG);
    if ((err = mm_buf_grow(&b, (size_t)size)) < 0)
        goto out;
    if ((err = pread_all(fd, b.ptr, (size_t)size, 0, path)) < 0)
        goto out;
    b.len = (size_t)size;
    if ((err = mm_audit_log_parse(&l, b.ptr, b.len, NULL, 0)) < 0)
        goto out;
    if (l->stop == STOP_DAMAGED || (l->n && l->v[l->n - 1].malformed)) {
        err = mm_error_set(MM_ECORRUPT,
                           "audit log '%s' is damaged at byte %zu: run 'mamori audit verify'",
                           redact(path), l->stop_offset);
        goto out;
    }
    if (l->n) {
        t->seq = l->v[l->n - 1].pub.seq;
        memcpy(t->hash, l->v[l->n - 1].pub.hash, ID_SIZE);
    }
    t->end = l->stop_offset;
out:
    mm_audit_log_free(l);
    mm_buf_release(&b);
    return err;
}

/* Write the head for record @seq with hash @h, signed with @ks. */
static int write_head(const char *hpath, const mm_keyset *ks, uint64_t seq,
                      const unsigned char h[ID_SIZE])
{
    struct mm_audit__head hd;
    unsigned char buf[MM_AUDIT_HEAD2_SIZE];
    size_t n;
    int err;

    memset(&hd, 0, sizeof(hd));
    hd.seq = seq;
    memcpy(hd.hash, h, ID_SIZE);
    hd.writer = mm_keyset_writer_cert(ks, hd.cert); /* a host signs as a certified writer */
    if ((err = mm_audit__sign(ks, h, hd.sig)) < 0)
        return err;
    n = mm_audit__head_encode(&hd, buf);
    return mm_os_write_atomic(hpath, buf, n);
}

/* Read the head, when there is one. @return 0 (*@have 0 or 1), MM_ECORRUPT, MM_EIO */
static int read_head(const char *hpath, struct mm_audit__head *hd, int *have)
{
    mm_buf b;
    int err;

    *have = 0;
    mm_buf_init(&b, MM_AUDIT_HEAD2_SIZE + 1);
    err = mm_os_read_file(hpath, &b);
    if (err == MM_ENOTFOUND) {
        mm_error_clear();
        err = 0;
    } else if (err == MM_ELIMIT) {
        err = mm_error_set(MM_ECORRUPT, "damaged audit head '%s'", redact(hpath));
    } else if (err == 0) {
        if ((err = mm_audit__head_decode((const unsigned char *)b.ptr, b.len, hd)) == 0)
            *have = 1;
    }
    mm_buf_release(&b);
    return err;
}

/*
 * Seal the details @d (@n) of a writer's record into @out: a fresh data key sealed to the
 * reader key | the details' ID | the details sealed under the data key (format 3's envelope).
 */
static int seal_writer(const mm_keyset *ks, const void *d, size_t n, mm_buf *out)
{
    unsigned char dk[MM_CRYPTO_DK_SIZE], rpk[MM_CRYPTO_PK_SIZE], sdk[MM_CRYPTO_SEALED_DK_SIZE];
    unsigned char id[ID_SIZE];
    int err;

    mm_keyset_reader_pk(ks, rpk);
    mm_crypto_datakey_new(dk);
    if ((err = mm_crypto_datakey_seal(rpk, dk, sdk)) == 0 &&
        (err = mm_crypto_object_id(ks, d, n, id)) == 0 &&
        (err = mm_buf_put(out, sdk, sizeof(sdk))) == 0 && (err = mm_buf_put(out, id, ID_SIZE)) == 0)
        err = mm_crypto_seal_dk(dk, id, d, n, out);
    mm_crypto_wipe(dk, sizeof(dk));
    return err;
}

/* Encode and write one record at the end of @fd. */
static int write_record(int fd, const char *lpath, const struct mm_audit_target *t,
                        const struct mm_audit_event *ev, struct tail *tl, const char *host,
                        int64_t ns, int32_t offset, int sync)
{
    struct mm_audit__rec r;
    mm_buf d, sealed, body, frame;
    unsigned char sig[MM_CRYPTO_SIG_SIZE], cert[MM_WCERT_SIZE];
    int err;

    mm_buf_init(&d, MM_LIMIT_AUDIT_RECORD);
    mm_buf_init(&sealed, MM_LIMIT_AUDIT_RECORD);
    mm_buf_init(&body, MM_LIMIT_AUDIT_RECORD);
    mm_buf_init(&frame, FRAME_MAX);
    memset(&r, 0, sizeof(r));
    r.seq = tl->seq + 1;
    memcpy(r.prev, tl->hash, ID_SIZE);
    r.keyed = t->ks != NULL;
    r.time_ns = ns;
    r.utc_offset_s = offset;
    r.kind = ev->kind;
    r.user = ev->user ? ev->user : "";
    r.host = host;
    if (t->ks && mm_keyset_writer_cert(t->ks, cert))
        r.cert = cert; /* a host: a version 2 record */
    if ((err = mm_audit__details_encode(r.seq, ev, &d)) < 0)
        goto out;
    if (t->store == MM_AUDIT_SEALED && r.cert) {
        if ((err = seal_writer(t->ks, d.ptr, d.len, &sealed)) < 0)
            goto out;
        r.details = sealed.ptr;
        r.ndetails = sealed.len;
        r.sealed = 1;
    } else if (t->store == MM_AUDIT_SEALED && t->ks) {
        unsigned char id[ID_SIZE];
        if ((err = mm_crypto_object_id(t->ks, d.ptr, d.len, id)) < 0 ||
            (err = mm_buf_put(&sealed, id, ID_SIZE)) < 0 ||
            (err = mm_crypto_seal(t->ks, id, d.ptr, d.len, &sealed)) < 0)
            goto out;
        r.details = sealed.ptr;
        r.ndetails = sealed.len;
        r.sealed = 1;
    } else {
        r.details = d.ptr;
        r.ndetails = d.len;
    }
    if ((err = mm_audit__body_encode(&r, &body)) < 0)
        goto out;
    mm_audit__hash(body.ptr, body.len, tl->hash);
    if (t->ks && (err = mm_audit__sign(t->ks, tl->hash, sig)) < 0)
        goto out;
    if ((err = mm_audit__frame(body.ptr, body.len, t->ks ? sig : NULL, &frame)) < 0)
        goto out;
    if ((err = mm_os_write_all(fd, frame.ptr, frame.len, lpath)) < 0 || (sync && fsync(fd) != 0)) {
        if (err == 0)
            err = mm_error_set_errno(MM_EIO, errno, "cannot write '%s'", redact(lpath));
        if (ftruncate(fd, (off_t)tl->end) == 0) /* take back what was written, if we can */
            (void)fsync(fd);
        goto out;
    }
    tl->seq = r.seq;
    tl->end += frame.len;
out:
    if (d.ptr)
        mm_crypto_wipe(d.ptr, d.cap);
    mm_buf_release(&d);
    mm_buf_release(&sealed);
    mm_buf_release(&body);
    mm_buf_release(&frame);
    return err;
}

/* Refuse a bad event before any file is touched. */
static int event_check(const struct mm_audit_target *t, const struct mm_audit_event *ev)
{
    mm_buf d;
    int err;

    if (ev->kind < 1 || ev->kind > 0xffff)
        return mm_error_set(MM_EINVAL, "audit event: bad kind");
    if ((ev->user && strlen(ev->user) > USER_MAX) || (ev->host && strlen(ev->host) > HOST_MAX))
        return mm_error_set(MM_EINVAL, "audit event: user or host name too long");
    mm_buf_init(&d, MM_LIMIT_AUDIT_RECORD);
    err = mm_audit__details_encode(0, ev, &d);
    mm_buf_release(&d);
    if (err < 0)
        return err;
    if (ev->subject_kind != MM_AUDIT_SUBJECT_NONE && t->store == MM_AUDIT_SEALED && !t->ks)
        return mm_error_set(MM_EINVAL, "audit event: a subject cannot be sealed without the key");
    return 0;
}

/* The host name of @ev, or this host's. OUT: host */
/* Where and when @ev happened: its host and time, else this host and now. */
static void place_of(const struct mm_audit_event *ev, char host[HOST_MAX + 1], int64_t *ns,
                     int32_t *offset)
{
    if (ev->host) {
        snprintf(host, HOST_MAX + 1, "%s", ev->host);
    } else {
        memset(host, 0, HOST_MAX + 1);
        if (mm_os_hostname(host, HOST_MAX + 1) != 0)
            snprintf(host, HOST_MAX + 1, "unknown");
    }
    *ns = ev->time_ns;
    *offset = ev->utc_offset_s;
    if (*ns == 0)
        now(ns, offset);
}

int mm_audit_append(const struct mm_audit_target *t, const struct mm_audit_event *ev,
                    struct mm_audit_append_info *info)
{
    MM_ASSERT_ARG(ev);
    return mm_audit_append_n(t, ev, 1, info);
}

int mm_audit_append_n(const struct mm_audit_target *t, const struct mm_audit_event *evs, size_t n,
                      struct mm_audit_append_info *info)
{
    char lpath[PATH_CAP], hpath[PATH_CAP], dir[PATH_CAP], host[HOST_MAX + 1], num[2][24];
    unsigned char hdr[MM_AUDIT_HEADER_SIZE], h0[ID_SIZE], pk[MM_CRYPTO_PK_SIZE];
    struct mm_audit_append_info inf = { 0 };
    const struct mm_audit_event *ev = evs;
    struct mm_audit__head hd;
    struct tail tl;
    struct stat st;
    int64_t ns;
    int32_t offset;
    uint64_t batch_start;
    int fd = -1, err, have_head;

    MM_ASSERT_ARG(t && evs && n > 0 && t->repo_id);
    for (size_t i = 0; i < n; i++)
        if ((err = event_check(t, &evs[i])) < 0)
            return err;
    if ((err = join(lpath, t->base, MM_AUDIT_LOG_SUFFIX)) < 0 ||
        (err = join(hpath, t->base, MM_AUDIT_HEAD_SUFFIX)) < 0)
        return err;
    place_of(ev, host, &ns, &offset);
    fd = open(lpath, O_RDWR | O_APPEND | O_CLOEXEC | (t->ks ? O_CREAT : 0),
              t->store == MM_AUDIT_SEALED ? 0644 : 0600);
    if (fd < 0 && errno == ENOENT && t->ks) {
        dirname_of(lpath, dir);
        if ((err = mm_os_mkdir_p(dir, t->store == MM_AUDIT_SEALED ? 0755 : 0700)) < 0)
            return err;
        fd = open(lpath, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
                  t->store == MM_AUDIT_SEALED ? 0644 : 0600);
    }
    if (fd < 0) {
        if (errno == ENOENT)
            return mm_error_set(MM_ENOTFOUND, "no audit log '%s'", redact(lpath));
        return mm_error_set_errno(MM_EIO, errno, "cannot open '%s'", redact(lpath));
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            err = mm_error_set_errno(MM_EIO, errno, "cannot lock '%s'", redact(lpath));
            goto out;
        }
    }
    if (fstat(fd, &st) != 0) {
        err = mm_error_set_errno(MM_EIO, errno, "cannot stat '%s'", redact(lpath));
        goto out;
    }
    if (t->ks)
        mm_keyset_public_key(t->ks, pk);
    if ((uint64_t)st.st_size < MM_AUDIT_HEADER_SIZE) {
        /* new, or a crash while the header was written (no record can follow it) */
        if (!t->ks) {
            err = mm_error_set(MM_ENOTFOUND, "no audit log '%s' yet", redact(lpath));
            goto out;
        }
        mm_audit__header_encode(t->repo_id, pk, hdr);
        if (ftruncate(fd, 0) != 0 || (err = mm_os_write_all(fd, hdr, sizeof(hdr), lpath)) < 0 ||
            fsync(fd) != 0) {
            if (err == 0)
                err = mm_error_set_errno(MM_EIO, errno, "cannot write '%s'", redact(lpath));
            goto out;
        }
        dirname_of(lpath, dir);
        mm_audit__hash(hdr, sizeof(hdr), h0);
        if ((err = mm_os_fsync_dir(dir)) < 0 || (err = write_head(hpath, t->ks, 0, h0)) < 0)
            goto out;
        st.st_size = MM_AUDIT_HEADER_SIZE;
        inf.created = 1;
    } else {
        if ((err = pread_all(fd, hdr, sizeof(hdr), 0, lpath)) < 0)
            goto out;
        if ((err = mm_audit__header_check(hdr, sizeof(hdr))) < 0)
            goto out;
        if (memcmp(hdr + 8, t->repo_id, MM_AUDIT_REPO_ID_SIZE) != 0) {
            err = mm_error_set(MM_ECORRUPT, "audit log '%s' belongs to another repository",
                               redact(lpath));
            goto out;
        }
        if (t->ks && memcmp(hdr + 24, pk, MM_CRYPTO_PK_SIZE) != 0) {
            err = mm_error_set(MM_ECORRUPT, "audit log '%s' is signed with another key",
                               redact(lpath));
            goto out;
        }
        mm_audit__hash(hdr, sizeof(hdr), h0);
    }
    if ((err = find_tail(fd, (uint64_t)st.st_size, h0, lpath, &tl)) < 0)
        goto out;
    if ((err = read_head(hpath, &hd, &have_head)) < 0)
        goto out;
    if (have_head && hd.seq > tl.seq) {
        err = mm_error_set(MM_ECORRUPT,
                           "audit log '%s' is shorter than its signed head: run 'mamori audit "
                           "verify'",
                           redact(lpath));
        goto out;
    }
    if (tl.end < tl.size) {
        /* a torn record from an interrupted append: cut it, and say so in the log */
        struct mm_audit_field f[2] = { { "bytes", num[0] }, { "offset", num[1] } };
        struct mm_audit_event rep = { 0 };
        inf.repaired = tl.size - tl.end;
        snprintf(num[0], sizeof(num[0]), "%llu", (unsigned long long)inf.repaired);
        snprintf(num[1], sizeof(num[1]), "%llu", (unsigned long long)tl.end);
        if (ftruncate(fd, (off_t)tl.end) != 0 || fsync(fd) != 0) {
            err = mm_error_set_errno(MM_EIO, errno, "cannot repair '%s'", redact(lpath));
            goto out;
        }
        rep.kind = MM_AUDIT_LOG_REPAIRED;
        rep.user = ev->user;
        rep.fields = f;
        rep.nfields = 2;
        if ((err = write_record(fd, lpath, t, &rep, &tl, host, ns, offset, 1)) < 0)
            goto out;
    }
    /* the batch: every record written, one fsync after the last (a crash in between leaves
     * a torn tail that the next append cuts and records) */
    batch_start = tl.end;
    for (size_t i = 0; i < n; i++) {
        if (i)
            place_of(&evs[i], host, &ns, &offset);
        if ((err = write_record(fd, lpath, t, &evs[i], &tl, host, ns, offset, i + 1 == n)) < 0) {
            if (i && ftruncate(fd, (off_t)batch_start) == 0) /* all of the batch or none */
                (void)fsync(fd);
            goto out;
        }
    }
    inf.seq = tl.seq;
    if (t->ks && (err = write_head(hpath, t->ks, tl.seq, tl.hash)) < 0)
        goto out;
    if (info)
        *info = inf;
out:
    if (fd >= 0)
        close(fd); /* releases the lock */
    return err;
}

/* ---- loading and exports ------------------------------------------------------------------- */

int mm_audit_header_read(const char *base, unsigned char repo_id[MM_AUDIT_REPO_ID_SIZE],
                         unsigned char pk[MM_CRYPTO_PK_SIZE])
{
    char lpath[PATH_CAP];
    unsigned char hdr[MM_AUDIT_HEADER_SIZE];
    int fd, err;

    if ((err = join(lpath, base, MM_AUDIT_LOG_SUFFIX)) < 0)
        return err;
    if ((fd = open(lpath, O_RDONLY | O_CLOEXEC)) < 0) {
        if (errno == ENOENT)
            return mm_error_set(MM_ENOTFOUND, "no audit log '%s'", redact(lpath));
        return mm_error_set_errno(MM_EIO, errno, "cannot open '%s'", redact(lpath));
    }
    if ((err = pread_all(fd, hdr, sizeof(hdr), 0, lpath)) == 0 &&
        (err = mm_audit__header_check(hdr, sizeof(hdr))) == 0) {
        memcpy(repo_id, hdr + 8, MM_AUDIT_REPO_ID_SIZE);
        memcpy(pk, hdr + 24, MM_CRYPTO_PK_SIZE);
    }
    close(fd);
    return err;
}

int mm_audit_log_load(mm_audit_log **out, const char *base)
{
    char lpath[PATH_CAP], hpath[PATH_CAP];
    mm_buf lb, hb;
    int err, have_head = 1;

    MM_ASSERT_ARG(out);
    if ((err = join(lpath, base, MM_AUDIT_LOG_SUFFIX)) < 0 ||
        (err = join(hpath, base, MM_AUDIT_HEAD_SUFFIX)) < 0)
        return err;
    mm_buf_init(&lb, MM_LIMIT_AUDIT_LOG);
    mm_buf_init(&hb, 4096);
    if ((err = mm_os_read_file(lpath, &lb)) < 0)
        goto out;
    err = mm_os_read_file(hpath, &hb);
    if (err == MM_ENOTFOUND) {
        mm_error_clear();
        have_head = 0;
    } else if (err == MM_ELIMIT) {
        mm_error_clear();
        mm_buf_clear(&hb); /* a head this large is damaged: verify says so */
        if ((err = mm_buf_put(&hb, "x", 1)) < 0)
            goto out;
    } else if (err < 0) {
        goto out;
    }
    err = mm_audit_log_parse(out, lb.ptr ? lb.ptr : "", lb.len,
                             have_head ? (hb.ptr ? hb.ptr : "") : NULL, hb.len);
out:
    mm_buf_release(&lb);
    mm_buf_release(&hb);
    return err;
}

/* Export: "MMAX" | le32 version | le64 L | log (L) | le32 H | head (H). */
int mm_audit_export(const char *base, mm_buf *out)
{
    char lpath[PATH_CAP], hpath[PATH_CAP];
    unsigned char t[16];
    mm_buf lb, hb;
    size_t start = out->len;
    int err;

    if ((err = join(lpath, base, MM_AUDIT_LOG_SUFFIX)) < 0 ||
        (err = join(hpath, base, MM_AUDIT_HEAD_SUFFIX)) < 0)
        return err;
    mm_buf_init(&lb, MM_LIMIT_AUDIT_LOG);
    mm_buf_init(&hb, MM_AUDIT_HEAD2_SIZE);
    if ((err = mm_os_read_file(lpath, &lb)) < 0)
        goto out;
    err = mm_os_read_file(hpath, &hb);
    if (err == MM_ENOTFOUND) {
        mm_error_clear();
        err = 0;
    } else if (err < 0) {
        goto out;
    }
    memcpy(t, "MMAX", 4);
    mm_put_le32(t + 4, MM_AUDIT_EXPORT_VERSION);
    mm_put_le64(t + 8, lb.len);
    if ((err = mm_buf_put(out, t, 16)) < 0 || (err = mm_buf_put(out, lb.ptr, lb.len)) < 0)
        goto out;
    mm_put_le32(t, (uint32_t)hb.len);
    if ((err = mm_buf_put(out, t, 4)) < 0 ||
        (hb.len && (err = mm_buf_put(out, hb.ptr, hb.len)) < 0))
        goto out;
out:
    if (err < 0)
        mm_buf_truncate(out, start);
    mm_buf_release(&lb);
    mm_buf_release(&hb);
    return err;
}

/* Decode an export's sections. */
static int export_parse(mm_audit_log **out, const unsigned char *p, size_t n)
{
    uint64_t ll;
    size_t hl;

    if (n < 16 || mm_get_le32(p + 4) != MM_AUDIT_EXPORT_VERSION)
        return mm_error_set(MM_ECORRUPT, "not an audit export this mamori reads");
    ll = mm_get_le64(p + 8);
    if (ll > n - 16 || n - 16 - ll < 4)
        return mm_error_set(MM_ECORRUPT, "audit export cut short");
    hl = mm_get_le32(p + 16 + ll);
    if (hl != n - 20 - ll)
        return mm_error_set(MM_ECORRUPT, "audit export cut short or too long");
    return mm_audit_log_parse(out, p + 16, (size_t)ll, hl ? p + 20 + ll : NULL, hl);
}

int mm_audit_log_load_file(mm_audit_log **out, const char *path)
{
    size_t n = path ? strlen(path) : 0;
    mm_buf b;
    int err;

    MM_ASSERT_ARG(out && path);
    if (n > 4 && strcmp(path + n - 4, MM_AUDIT_LOG_SUFFIX) == 0) {
        char base[PATH_CAP];
        if (n - 4 > MM_LIMIT_PATH)
            return mm_error_set(MM_EINVAL, "bad audit log path");
        snprintf(base, sizeof(base), "%.*s", (int)(n - 4), path);
        return mm_audit_log_load(out, base);
    }
    mm_buf_init(&b, MM_LIMIT_AUDIT_LOG + 64);
    if ((err = mm_os_read_file(path, &b)) < 0)
        goto out;
    if (b.len >= 4 && memcmp(b.ptr, "MMAX", 4) == 0)
        err = export_parse(out, (const unsigned char *)b.ptr, b.len);
    else
        err = mm_audit_log_parse(out, b.ptr ? b.ptr : "", b.len, NULL, 0);
out:
    mm_buf_release(&b);
    return err;
}
