/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Byte codecs of the audit log (docs/format.md, "Audit log"): the file header, record frames
 * and bodies (le16 tag | le32 length | value, tags increasing, unknown tags skipped), event
 * details, the head, and the parser that turns a whole log into records. Decoders take
 * arbitrary bytes (fuzzed by fuzz_audit): every length is checked against what is left
 * before it is used, and nothing is read past @n.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"
#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/limits.h"

static const char *const kind_names[MM_AUDIT_KIND_MAX + 1] = {
    NULL,
    "init",
    "key-add",
    "key-remove",
    "backup",
    "verify",
    "restore",
    "prune",
    "guard-accept",
    "media-refused",
    "viewer-login",
    "viewer-login-failed",
    "patient-opened",
    "log-repaired",
    "export",
    "unlock-failed",
    "viewer-logout",
    "cycle",
    "media-label",
    "evidence-lost",
    "rotate-started",
    "rotate-copied",
    "rotate-finished",
    "interrupted",
    "drill",
    "patient-exported",
};

const char *mm_audit_kind_name(unsigned int k)
{
    return k >= 1 && k <= MM_AUDIT_KIND_MAX ? kind_names[k] : NULL;
}

int mm_audit_kind_parse(const char *name, unsigned int *out)
{
    for (unsigned int k = 1; k <= MM_AUDIT_KIND_MAX; k++)
        if (name && strcmp(name, kind_names[k]) == 0) {
            *out = k;
            return 0;
        }
    return mm_error_set(MM_ENOTFOUND, "no audit event kind '%s'", name ? name : "");
}

void mm_audit__hash(const void *body, size_t n, unsigned char out[ID_SIZE])
{
    mm_crypto_hash(body, n, out);
}

/* The signed message of a record hash. */
static void sign_msg(const unsigned char h[ID_SIZE], unsigned char msg[SIGN_DOMAIN_LEN + ID_SIZE])
{
    memcpy(msg, SIGN_DOMAIN, SIGN_DOMAIN_LEN); /* with its NUL */
    memcpy(msg + SIGN_DOMAIN_LEN, h, ID_SIZE);
}

int mm_audit__sign(const mm_keyset *ks, const unsigned char h[ID_SIZE],
                   unsigned char sig[MM_CRYPTO_SIG_SIZE])
{
    unsigned char msg[SIGN_DOMAIN_LEN + ID_SIZE];

    sign_msg(h, msg);
    return mm_crypto_sign(ks, msg, sizeof(msg), sig);
}

int mm_audit__check_sig(const unsigned char pk[MM_CRYPTO_PK_SIZE], const unsigned char h[ID_SIZE],
                        const unsigned char sig[MM_CRYPTO_SIG_SIZE])
{
    unsigned char msg[SIGN_DOMAIN_LEN + ID_SIZE];

    sign_msg(h, msg);
    return mm_crypto_verify(pk, msg, sizeof(msg), sig);
}

/* ---- details ------------------------------------------------------------------------------- */

/* A detail key: 1..64 of [a-z0-9_-] (@n bytes at @k). */
static int key_okn(const char *k, size_t n)
{
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_' ||
              k[i] == '-'))
            return 0;
    return 1;
}

static int key_ok(const char *k)
{
    return k && key_okn(k, strlen(k));
}

int mm_audit__details_encode(uint64_t seq, const struct mm_audit_event *ev, mm_buf *out)
{
    unsigned char t[8];
    size_t sn = 0, start = out->len;
    int err;

    if (ev->nfields > MM_AUDIT_FIELDS_MAX || (ev->nfields && !ev->fields))
        return mm_error_set(MM_EINVAL, "audit event: too many fields");
    if (ev->subject_kind != MM_AUDIT_SUBJECT_NONE) {
        if (ev->subject_kind > MM_AUDIT_SUBJECT_PATH || !ev->subject)
            return mm_error_set(MM_EINVAL, "audit event: bad subject");
        sn = strlen(ev->subject);
        if (sn < 1 || sn > MM_LIMIT_PATH)
            return mm_error_set(MM_EINVAL, "audit event: bad subject length");
    }
    for (size_t i = 0; i < ev->nfields; i++) {
        if (!key_ok(ev->fields[i].key))
            return mm_error_set(MM_EINVAL, "audit event: bad field name");
        if (!ev->fields[i].value || strlen(ev->fields[i].value) > DETAIL_VALUE_MAX)
            return mm_error_set(MM_EINVAL, "audit event: bad value of field '%s'",
                                ev->fields[i].key);
    }
    mm_put_le64(t, seq);
    if ((err = mm_buf_put(out, t, 8)) < 0)
        goto fail;
    t[0] = (unsigned char)ev->subject_kind;
    mm_put_le16(t + 1, (uint16_t)sn);
    if ((err = mm_buf_put(out, t, 3)) < 0 || (sn && (err = mm_buf_put(out, ev->subject, sn)) < 0))
        goto fail;
    mm_put_le16(t, (uint16_t)ev->nfields);
    if ((err = mm_buf_put(out, t, 2)) < 0)
        goto fail;
    for (size_t i = 0; i < ev->nfields; i++) {
        size_t kn = strlen(ev->fields[i].key), vn = strlen(ev->fields[i].value);
        t[0] = (unsigned char)kn;
        if ((err = mm_buf_put(out, t, 1)) < 0 || (err = mm_buf_put(out, ev->fields[i].key, kn)) < 0)
            goto fail;
        mm_put_le16(t, (uint16_t)vn);
        if ((err = mm_buf_put(out, t, 2)) < 0 ||
            (err = mm_buf_put(out, ev->fields[i].value, vn)) < 0)
            goto fail;
    }
    return 0;
fail:
    mm_buf_truncate(out, start);
    return err;
}

/* Bounded reader over decoded bytes. */
struct rd {
    const unsigned char *p;
    size_t n, off;
};

static const unsigned char *take(struct rd *r, size_t k)
{
    const unsigned char *q;

    if (k > r->n - r->off)
        return NULL;
    q = r->p + r->off;
    r->off += k;
    return q;
}

int mm_audit__details_decode(struct mm_audit__entry *e, const unsigned char *p, size_t n)
{
    struct rd r = { p, n, 0 };
    const unsigned char *q, *subj = NULL;
    size_t sn, nf, total = 0;
    struct mm_audit_kv *kv = NULL;
    char *s = NULL, *w;
    unsigned int sk;

    /* first pass: shape and sizes */
    if (!(q = take(&r, 8)) || mm_get_le64(q) != e->pub.seq)
        return mm_error_set(MM_ECORRUPT, "audit record %llu: details of another record",
                            (unsigned long long)e->pub.seq);
    if (!(q = take(&r, 3)))
        goto bad;
    sk = q[0];
    sn = mm_get_le16(q + 1);
    if (sk > MM_AUDIT_SUBJECT_PATH || (sk == 0) != (sn == 0) || !(subj = take(&r, sn)) ||
        memchr(subj, 0, sn))
        goto bad;
    total += sn + 1;
    if (!(q = take(&r, 2)))
        goto bad;
    nf = mm_get_le16(q);
    if (nf > MM_AUDIT_FIELDS_MAX)
        goto bad;
    {
        struct rd r2 = r;
        for (size_t i = 0; i < nf; i++) {
            size_t kn, vn;
            const unsigned char *k, *v;
            if (!(q = take(&r2, 1)) || (kn = q[0]) < 1 || kn > 64 || !(k = take(&r2, kn)) ||
                !key_okn((const char *)k, kn) || !(q = take(&r2, 2)) ||
                (vn = mm_get_le16(q)) > DETAIL_VALUE_MAX || !(v = take(&r2, vn)) ||
                memchr(v, 0, vn))
                goto bad;
            total += kn + vn + 2;
        }
        if (r2.off != n)
            goto bad;
    }
    if (nf && !(kv = mm_calloc(nf, sizeof(*kv))))
        return MM_ENOMEM;
    if (!(s = mm_malloc(total ? total : 1))) {
        mm_free(kv);
        return MM_ENOMEM;
    }
    w = s;
    memcpy(w, subj, sn);
    w[sn] = '\0';
    w += sn + 1;
    for (size_t i = 0; i < nf; i++) {
        size_t kn = *take(&r, 1);
        kv[i].key = w;
        memcpy(w, take(&r, kn), kn);
        w[kn] = '\0';
        w += kn + 1;
        q = take(&r, 2);
        size_t vn = mm_get_le16(q);
        kv[i].value = w;
        memcpy(w, take(&r, vn), vn);
        w[vn] = '\0';
        w += vn + 1;
    }
    mm_free(e->kv);
    mm_free(e->detail_strings);
    e->kv = kv;
    e->detail_strings = s;
    e->pub.fields = kv;
    e->pub.nfields = nf;
    e->pub.subject_kind = (enum mm_audit_subject)sk;
    e->pub.subject = sk ? s : NULL;
    e->pub.opened = 1;
    return 0;
bad:
    return mm_error_set(MM_ECORRUPT, "audit record %llu: damaged details",
                        (unsigned long long)e->pub.seq);
}

/* ---- bodies and frames --------------------------------------------------------------------- */

static int put_tag(mm_buf *b, unsigned int tag, const void *v, size_t n)
{
    unsigned char t[6];
    int err;

    mm_put_le16(t, (uint16_t)tag);
    mm_put_le32(t + 2, (uint32_t)n);
    if ((err = mm_buf_put(b, t, 6)) < 0)
        return err;
    return n ? mm_buf_put(b, v, n) : 0;
}

int mm_audit__body_encode(const struct mm_audit__rec *r, mm_buf *out)
{
    unsigned char t[12];
    size_t start = out->len, un = r->user ? strlen(r->user) : 0, hn = r->host ? strlen(r->host) : 0;
    int err;

    if (un > USER_MAX || hn > HOST_MAX)
        return mm_error_set(MM_EINVAL, "audit event: user or host name too long");
    mm_put_le16(t, (uint16_t)(r->cert ? REC_V2 : REC_V1));
    if ((err = put_tag(out, TAG_VERSION, t, 2)) < 0)
        goto fail;
    mm_put_le64(t, r->seq);
    if ((err = put_tag(out, TAG_SEQ, t, 8)) < 0 ||
        (err = put_tag(out, TAG_PREV, r->prev, ID_SIZE)) < 0)
        goto fail;
    t[0] = r->keyed ? FLAG_KEYED : 0;
    if ((err = put_tag(out, TAG_FLAGS, t, 1)) < 0)
        goto fail;
    mm_put_le64(t, (uint64_t)r->time_ns);
    mm_put_le32(t + 8, (uint32_t)r->utc_offset_s);
    if ((err = put_tag(out, TAG_TIME, t, 12)) < 0)
        goto fail;
    mm_put_le16(t, (uint16_t)r->kind);
    if ((err = put_tag(out, TAG_KIND, t, 2)) < 0 ||
        (err = put_tag(out, TAG_USER, r->user, un)) < 0 ||
        (err = put_tag(out, TAG_HOST, r->host, hn)) < 0)
        goto fail;
    if (r->details && (err = put_tag(out,
                                     !r->sealed ? TAG_DETAILS
                                     : r->cert  ? TAG_WSEALED
                                                : TAG_SEALED,
                                     r->details, r->ndetails)) < 0)
        goto fail;
    if (r->cert && (err = put_tag(out, TAG_WCERT, r->cert, MM_WCERT_SIZE)) < 0)
        goto fail;
    if (out->len - start > MM_LIMIT_AUDIT_RECORD) {
        err = mm_error_set(MM_ELIMIT, "audit record larger than %u bytes", MM_LIMIT_AUDIT_RECORD);
        goto fail;
    }
    return 0;
fail:
    mm_buf_truncate(out, start);
    return err;
}

int mm_audit__body_decode(const unsigned char *p, size_t n, struct mm_audit__body *out)
{
    struct mm_audit__body b;
    size_t off = 0;
    unsigned int last = 0, seen = 0;

    memset(&b, 0, sizeof(b));
    while (off < n) {
        unsigned int tag;
        size_t len;
        const unsigned char *v;

        if (n - off < 6)
            return mm_error_set(MM_ECORRUPT, "audit record: cut field");
        tag = mm_get_le16(p + off);
        len = mm_get_le32(p + off + 2);
        off += 6;
        if (len > n - off)
            return mm_error_set(MM_ECORRUPT, "audit record: field longer than the record");
        if (tag <= last)
            return mm_error_set(MM_ECORRUPT, "audit record: fields out of order");
        if (last == 0 && tag != TAG_VERSION)
            return mm_error_set(MM_ECORRUPT, "audit record: no version");
        last = tag;
        v = p + off;
        off += len;
        switch (tag) {
        case TAG_VERSION:
            if (len != 2 || (mm_get_le16(v) != REC_V1 && mm_get_le16(v) != REC_V2))
                return mm_error_set(MM_ECORRUPT, "audit record: unknown version");
            b.version = mm_get_le16(v);
            break;
        case TAG_SEQ:
            if (len != 8 || (b.seq = mm_get_le64(v)) == 0)
                return mm_error_set(MM_ECORRUPT, "audit record: bad sequence number");
            break;
        case TAG_PREV:
            if (len != ID_SIZE)
                return mm_error_set(MM_ECORRUPT, "audit record: bad chain hash");
            b.prev = v;
            break;
        case TAG_FLAGS:
            if (len != 1 || (v[0] & ~FLAG_KEYED))
                return mm_error_set(MM_ECORRUPT, "audit record: bad flags");
            b.keyed = v[0] & FLAG_KEYED;
            break;
        case TAG_TIME:
            if (len != 12)
                return mm_error_set(MM_ECORRUPT, "audit record: bad time");
            b.time_ns = (int64_t)mm_get_le64(v);
            b.utc_offset_s = (int32_t)mm_get_le32(v + 8);
            if (b.utc_offset_s < -24 * 3600 || b.utc_offset_s > 24 * 3600)
                return mm_error_set(MM_ECORRUPT, "audit record: bad time offset");
            break;
        case TAG_KIND:
            if (len != 2 || mm_get_le16(v) == 0)
                return mm_error_set(MM_ECORRUPT, "audit record: bad kind");
            b.kind = mm_get_le16(v);
            break;
        case TAG_USER:
            if (len > USER_MAX || memchr(v, 0, len))
                return mm_error_set(MM_ECORRUPT, "audit record: bad user");
            b.user = v;
            b.userlen = len;
            break;
        case TAG_HOST:
            if (len > HOST_MAX || memchr(v, 0, len))
                return mm_error_set(MM_ECORRUPT, "audit record: bad host");
            b.host = v;
            b.hostlen = len;
            break;
        case TAG_DETAILS:
            b.details = v;
            b.ndetails = len;
            break;
        case TAG_SEALED:
            if (b.details || b.version != REC_V1 || len < ID_SIZE + MM_CRYPTO_SEAL_OVERHEAD)
                return mm_error_set(MM_ECORRUPT, "audit record: bad sealed details");
            b.details = v;
            b.ndetails = len;
            b.sealed = 1;
            break;
        case TAG_WSEALED:
            if (b.version != REC_V2)
                break; /* version 1 skips tags it does not know, as it always did */
            if (b.details || len < WSEALED_MIN)
                return mm_error_set(MM_ECORRUPT, "audit record: bad sealed details");
            b.details = v;
            b.ndetails = len;
            b.sealed = 1;
            break;
        case TAG_WCERT:
            if (b.version != REC_V2)
                break;
            if (len != MM_WCERT_SIZE)
                return mm_error_set(MM_ECORRUPT, "audit record: bad writer certificate");
            b.cert = v;
            break;
        default:
            break; /* a later version's field */
        }
        if (tag <= TAG_HOST)
            seen |= 1u << tag;
    }
    if (seen != 0x1feu) /* tags 1..8 */
        return mm_error_set(MM_ECORRUPT, "audit record: a required field is missing");
    if (b.version == REC_V2 && (!b.cert || !b.keyed)) /* a writer's record is always signed */
        return mm_error_set(MM_ECORRUPT, "audit record: writer record without its certificate");
    *out = b;
    return 0;
}

int mm_audit__frame(const void *body, size_t n, const unsigned char *sig, mm_buf *out)
{
    unsigned char t[8];
    size_t s = sig ? MM_CRYPTO_SIG_SIZE : 0, start = out->len;
    int err;

    memcpy(t, "MMAR", 4);
    mm_put_le32(t + 4, (uint32_t)n);
    if ((err = mm_buf_put(out, t, 8)) < 0 || (err = mm_buf_put(out, body, n)) < 0 ||
        (err = mm_buf_putc(out, (int)s)) < 0 || (s && (err = mm_buf_put(out, sig, s)) < 0))
        goto fail;
    mm_put_le32(t, (uint32_t)(FRAME_FIXED + n + s));
    memcpy(t + 4, "MMAZ", 4);
    if ((err = mm_buf_put(out, t, 8)) < 0)
        goto fail;
    return 0;
fail:
    mm_buf_truncate(out, start);
    return err;
}

int mm_audit__frame_decode(const unsigned char *p, size_t n, const unsigned char **body,
                           size_t *blen, const unsigned char **sig, size_t *flen)
{
    size_t b, s;

    if (n < FRAME_FIXED + 1 || memcmp(p, "MMAR", 4) != 0)
        return MM_ECORRUPT;
    b = mm_get_le32(p + 4);
    if (b < 1 || b > MM_LIMIT_AUDIT_RECORD || n - FRAME_FIXED < b)
        return MM_ECORRUPT;
    s = p[8 + b];
    if (s != 0 && s != MM_CRYPTO_SIG_SIZE)
        return MM_ECORRUPT;
    if (n - FRAME_FIXED - b < s)
        return MM_ECORRUPT;
    if (mm_get_le32(p + 9 + b + s) != FRAME_FIXED + b + s || memcmp(p + 13 + b + s, "MMAZ", 4) != 0)
        return MM_ECORRUPT;
    *body = p + 8;
    *blen = b;
    *sig = s ? p + 9 + b : NULL;
    *flen = FRAME_FIXED + b + s;
    return 0;
}

/* ---- header and head ----------------------------------------------------------------------- */

void mm_audit__header_encode(const unsigned char *repo_id,
                             const unsigned char pk[MM_CRYPTO_PK_SIZE],
                             unsigned char out[MM_AUDIT_HEADER_SIZE])
{
    memcpy(out, "MMAL", 4);
    mm_put_le32(out + 4, MM_AUDIT_VERSION);
    memcpy(out + 8, repo_id, MM_AUDIT_REPO_ID_SIZE);
    memcpy(out + 24, pk, MM_CRYPTO_PK_SIZE);
}

int mm_audit__header_check(const unsigned char *p, size_t n)
{
    if (n < 8 || memcmp(p, "MMAL", 4) != 0)
        return mm_error_set(MM_ECORRUPT, "not a mamori audit log");
    if (mm_get_le32(p + 4) != MM_AUDIT_VERSION)
        return mm_error_set(MM_ECORRUPT, "audit log format %lu is not one this mamori reads",
                            (unsigned long)mm_get_le32(p + 4));
    if (n < MM_AUDIT_HEADER_SIZE)
        return mm_error_set(MM_ECORRUPT, "audit log header cut short");
    return 0;
}

size_t mm_audit__head_encode(const struct mm_audit__head *h, unsigned char *out)
{
    memcpy(out, "MMAH", 4);
    mm_put_le32(out + 4, h->writer ? 2u : 1u);
    mm_put_le64(out + 8, h->seq);
    memcpy(out + 16, h->hash, ID_SIZE);
    memcpy(out + 48, h->sig, MM_CRYPTO_SIG_SIZE);
    if (!h->writer)
        return MM_AUDIT_HEAD_SIZE;
    memcpy(out + MM_AUDIT_HEAD_SIZE, h->cert, MM_WCERT_SIZE);
    return MM_AUDIT_HEAD2_SIZE;
}

int mm_audit__head_decode(const unsigned char *p, size_t n, struct mm_audit__head *out)
{
    uint32_t v = n >= 8 ? mm_get_le32(p + 4) : 0;

    if (n < 8 || memcmp(p, "MMAH", 4) != 0 || (v == 1 && n != MM_AUDIT_HEAD_SIZE) ||
        (v == 2 && n != MM_AUDIT_HEAD2_SIZE) || (v != 1 && v != 2))
        return mm_error_set(MM_ECORRUPT, "damaged audit head");
    out->seq = mm_get_le64(p + 8);
    memcpy(out->hash, p + 16, ID_SIZE);
    memcpy(out->sig, p + 48, MM_CRYPTO_SIG_SIZE);
    out->writer = v == 2;
    if (out->writer)
        memcpy(out->cert, p + MM_AUDIT_HEAD_SIZE, MM_WCERT_SIZE);
    return 0;
}

unsigned int mm_audit__body_version(const unsigned char *p, size_t n)
{
    if (n < 8 || mm_get_le16(p) != TAG_VERSION || mm_get_le32(p + 2) != 2)
        return 0;
    return mm_get_le16(p + 6);
}

/* Is the certificate @wc valid at @time_ns (0: not checked)? @return 0, MM_EAUTH */
static int valid_at(const struct mm_wcert *wc, int64_t time_ns)
{
    int64_t s = time_ns / 1000000000;

    if (time_ns && (s < 0 || (uint64_t)s < wc->created || (uint64_t)s > wc->not_after))
        return mm_error_set(MM_EAUTH, "writer certificate of '%s' is not valid at that time",
                            wc->name);
    return 0;
}

int mm_audit__writer_check(const unsigned char *pk, const unsigned char *repo_id,
                           const unsigned char *cert, int64_t time_ns, struct mm_wcert *out)
{
    int err;

    if ((err = mm_wcert_check(pk, cert, MM_WCERT_SIZE, repo_id, out)) < 0)
        return err;
    return valid_at(out, time_ns);
}

/* ---- whole logs ---------------------------------------------------------------------------- */

int mm_audit__classify_stop(const unsigned char *p, size_t n, size_t off)
{
    if (off >= n)
        return STOP_END;
    for (size_t i = off + 1; i + FRAME_FIXED < n; i++) {
        const unsigned char *b, *s;
        size_t bl, fl;
        if (p[i] == 'M' && mm_audit__frame_decode(p + i, n - i, &b, &bl, &s, &fl) == 0)
            return STOP_DAMAGED; /* a whole record follows: not an interrupted append */
    }
    return n - off <= TORN_MAX ? STOP_TORN : STOP_DAMAGED;
}

/* A version 2 record: who wrote it, and does its certificate hold in log @raw? */
static void entry_writer(struct mm_audit__entry *e, mm_audit_log *l, const unsigned char *cert)
{
    /* a host writes many records with one certificate: its signature is checked once */
    if (!l->wc_cert || memcmp(l->wc_cert, cert, MM_WCERT_SIZE) != 0) {
        l->wc_cert = NULL;
        if (mm_wcert_check(l->raw + 24, cert, MM_WCERT_SIZE, l->raw + 8, &l->wc) == 0)
            l->wc_cert = cert;
    }
    if (!l->wc_cert || valid_at(&l->wc, e->pub.time_ns) < 0) {
        mm_error_clear();
        snprintf(e->wname, sizeof(e->wname), "?");
    } else {
        e->writer_ok = 1;
        memcpy(e->wpk, l->wc.pk, MM_CRYPTO_PK_SIZE);
        snprintf(e->wname, sizeof(e->wname), "%s", l->wc.name);
    }
    e->pub.writer = e->wname;
}

/* Fill entry @e from the frame at @off of the log @l. @return 0, MM_ENOMEM */
static int entry_fill(struct mm_audit__entry *e, mm_audit_log *l, size_t off,
                      const unsigned char *body, size_t blen, const unsigned char *sig, size_t flen)
{
    struct mm_audit__body b;
    char *s;
    int err;

    memset(e, 0, sizeof(*e));
    e->pub.offset = off;
    e->pub.length = flen;
    mm_audit__hash(body, blen, e->pub.hash);
    e->sig = sig;
    if (mm_audit__body_decode(body, blen, &b) < 0 || (b.keyed != 0) != (sig != NULL)) {
        e->malformed = 1;
        e->newer = mm_audit__body_version(body, blen) > REC_V2;
        mm_error_clear();
        return 0;
    }
    if (!(s = mm_malloc(b.userlen + b.hostlen + 2)))
        return MM_ENOMEM;
    memcpy(s, b.user, b.userlen);
    s[b.userlen] = '\0';
    memcpy(s + b.userlen + 1, b.host, b.hostlen);
    s[b.userlen + 1 + b.hostlen] = '\0';
    e->strings = s;
    e->pub.user = s;
    e->pub.host = s + b.userlen + 1;
    e->pub.seq = b.seq;
    e->pub.time_ns = b.time_ns;
    e->pub.utc_offset_s = b.utc_offset_s;
    e->pub.kind = b.kind;
    e->pub.keyed = b.keyed;
    e->pub.sealed = b.sealed;
    e->version = b.version;
    if (b.version == REC_V2)
        entry_writer(e, l, b.cert);
    memcpy(e->prev, b.prev, ID_SIZE);
    e->details = b.details;
    e->ndetails = b.ndetails;
    if (b.details && !b.sealed) {
        err = mm_audit__details_decode(e, b.details, b.ndetails);
        if (err == MM_ENOMEM)
            return err;
        if (err < 0) {
            e->malformed = 1;
            mm_error_clear();
        }
    } else if (!b.details) {
        e->pub.opened = 1;
    }
    return 0;
}

static void entry_release(struct mm_audit__entry *e)
{
    mm_free(e->kv);
    mm_free(e->strings);
    mm_free(e->detail_strings);
}

void mm_audit_log_free(mm_audit_log *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        entry_release(&l->v[i]);
    mm_free(l->v);
    mm_free(l->raw);
    mm_free(l);
}

int mm_audit_log_parse(mm_audit_log **out, const void *log, size_t n, const void *head, size_t hn)
{
    mm_audit_log *l = NULL;
    size_t off, cap = 0;
    int err;

    if (!out || (!log && n))
        return mm_error_set(MM_EINVAL, "no audit log");
    if (n > MM_LIMIT_AUDIT_LOG)
        return mm_error_set(MM_ELIMIT, "audit log larger than %u bytes", MM_LIMIT_AUDIT_LOG);
    if ((err = mm_audit__header_check(log, n)) < 0)
        return err;
    if (!(l = mm_calloc(1, sizeof(*l))))
        return MM_ENOMEM;
    if (!(l->raw = mm_malloc(n))) {
        err = MM_ENOMEM;
        goto fail;
    }
    memcpy(l->raw, log, n);
    l->rawn = n;
    mm_audit__hash(l->raw, MM_AUDIT_HEADER_SIZE, l->h0);
    if (head) {
        l->has_head = 1;
        if (mm_audit__head_decode(head, hn, &l->head) < 0) {
            l->head_bad = 1;
            mm_error_clear();
        }
    }
    off = MM_AUDIT_HEADER_SIZE;
    while (off < n) {
        const unsigned char *body, *sig;
        size_t blen, flen;
        if (mm_audit__frame_decode(l->raw + off, n - off, &body, &blen, &sig, &flen) < 0)
            break;
        if (l->n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct mm_audit__entry *nv = mm_realloc(l->v, nc * sizeof(*nv));
            if (!nv) {
                err = MM_ENOMEM;
                goto fail;
            }
            l->v = nv;
            cap = nc;
        }
        if ((err = entry_fill(&l->v[l->n], l, off, body, blen, sig, flen)) < 0) {
            entry_release(&l->v[l->n]);
            goto fail;
        }
        l->n++;
        off += flen;
    }
    l->stop_offset = off;
    l->stop = mm_audit__classify_stop(l->raw, n, off);
    *out = l;
    return 0;
fail:
    mm_audit_log_free(l);
    return err;
}

size_t mm_audit_log_count(const mm_audit_log *l)
{
    return l ? l->n : 0;
}

const struct mm_audit_record *mm_audit_log_record(const mm_audit_log *l, size_t i)
{
    return l && i < l->n ? &l->v[i].pub : NULL;
}

const unsigned char *mm_audit_log_repo_id(const mm_audit_log *l)
{
    return l->raw + 8;
}

const unsigned char *mm_audit_log_public_key(const mm_audit_log *l)
{
    return l->raw + 24;
}

/*
 * Open the details of a writer's record @e (sealed data key | ID | sealed object) into
 * @plain: the data key opens with the reader key of @ks, the content must have the ID.
 */
static int open_writer(const mm_keyset *ks, const struct mm_audit__entry *e, mm_buf *plain)
{
    const unsigned char *id = e->details + MM_CRYPTO_SEALED_DK_SIZE;
    unsigned char dk[MM_CRYPTO_DK_SIZE], got[ID_SIZE];
    int err;

    if ((err = mm_crypto_datakey_open(ks, e->details, dk)) < 0)
        return err;
    err = mm_crypto_open_raw_dk(dk, id, id + ID_SIZE,
                                e->ndetails - MM_CRYPTO_SEALED_DK_SIZE - ID_SIZE, plain);
    mm_crypto_wipe(dk, sizeof(dk));
    if (err == 0 && ((err = mm_crypto_object_id(ks, plain->ptr, plain->len, got)) < 0 ||
                     memcmp(got, id, ID_SIZE) != 0))
        err = MM_EAUTH;
    return err;
}

int mm_audit_log_open_details(mm_audit_log *l, const mm_keyset *ks)
{
    mm_buf plain;
    int err = 0;

    MM_ASSERT_ARG(l && ks);
    mm_buf_init(&plain, MM_LIMIT_AUDIT_RECORD);
    for (size_t i = 0; i < l->n; i++) {
        struct mm_audit__entry *e = &l->v[i];
        if (e->malformed || !e->pub.sealed || e->pub.opened)
            continue;
        mm_buf_clear(&plain);
        if (e->version == REC_V2)
            err = open_writer(ks, e, &plain);
        else
            err = mm_crypto_open(ks, e->details, e->details + ID_SIZE, e->ndetails - ID_SIZE,
                                 &plain);
        if (err == MM_EAUTH || err == MM_ECORRUPT) {
            err = mm_error_set(MM_EAUTH, "audit record %llu: details do not open with this key",
                               (unsigned long long)e->pub.seq);
            break;
        }
        if (err < 0)
            break;
        if ((err = mm_audit__details_decode(e, (const unsigned char *)plain.ptr, plain.len)) < 0)
            break;
    }
    if (plain.ptr)
        mm_crypto_wipe(plain.ptr, plain.cap);
    mm_buf_release(&plain);
    return err;
}
