/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guard's records in the repository: a person's acceptance of a suspect generation as a
 * false alarm, guard/<generation ID> and its second copy guard/<generation ID>.2 (written by
 * the two-copy writer, repo_copies.c), signed with the master signing key. A host credential
 * holds only the master signing PUBLIC key: it can check a record but never write one, so an
 * owned host cannot clear its own attack. Layout (docs/format.md "Guard acceptance"):
 *   "MMGA" | le32 version 1 | repository ID (16) | generation ID (32) | le64 time (ns, UTC) |
 *   u8 user length | user | le16 reason length | reason | Ed25519 signature (64) over
 *   "mamori-guard-accept-v1\0" and every byte before it.
 * A record that does not verify is tampering (verify reports it); a generations listing still
 * works and counts the generation as not accepted. Also the pure rules of "good" and
 * "standing" generations the prune, the RPO and the viewer follow.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "repo/repo_int.h"

#define GUARD_DIR      "guard"
#define RECORD_MAGIC   "MMGA"
#define RECORD_VERSION 1u
#define RECORD_DOMAIN  "mamori-guard-accept-v1"
#define RECORD_FIXED   64u /* magic, version, repository ID, generation ID, time */
#define REASON_MAX     255u
#define RECORD_MAX     (RECORD_FIXED + 1u + MM_KEYSLOT_NAME_MAX + 2u + REASON_MAX + MM_CRYPTO_SIG_SIZE)

_Static_assert(4 + 4 + MM_REPO_ID_BYTES + ID_SIZE + 8 == RECORD_FIXED, "record head layout");
_Static_assert(sizeof(((struct mm_repo_guard_accept *)0)->reason) == REASON_MAX + 1,
               "reason field");

/* Whether @s is a full generation ID (64 lower-case hex digits). */
static int is_gen_id(const char *s)
{
    return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* The 16 bytes of the repository ID (hex in r->id). */
static void repo_id_bytes(const mm_repo *r, unsigned char out[MM_REPO_ID_BYTES])
{
    for (size_t i = 0; i < MM_REPO_ID_BYTES; i++) {
        unsigned v = 0;
        sscanf(r->id + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
}

/* A host credential's handle: refused (it holds no master signing key). */
static int refuse_host(void)
{
    return mm_error_set(MM_EREFUSED, "a host credential cannot accept a suspect generation: an "
                                     "owned host must not clear its own attack (use a person's "
                                     "passphrase)");
}

/* The message the signature covers: the domain and the record's bytes before it. */
static int signed_message(const void *p, size_t n, mm_buf *msg)
{
    int err = mm_buf_put(msg, RECORD_DOMAIN, sizeof(RECORD_DOMAIN));

    return err < 0 ? err : mm_buf_put(msg, p, n);
}

/* Encode and sign the record @a of repository @r (a person's keyset) into @out. */
static int encode(mm_repo *r, const struct mm_repo_guard_accept *a, mm_buf *out)
{
    unsigned char head[RECORD_FIXED + 1], sig[MM_CRYPTO_SIG_SIZE], rl[2];
    size_t ulen = strlen(a->user), rlen = strlen(a->reason);
    mm_buf msg;
    int err;

    if (ulen > MM_KEYSLOT_NAME_MAX || rlen > REASON_MAX)
        return mm_error_set(MM_EINVAL, "acceptance record: user or reason too long");
    memcpy(head, RECORD_MAGIC, 4);
    mm_put_le32(head + 4, RECORD_VERSION);
    repo_id_bytes(r, head + 8);
    if (mm_crypto_hex_parse(a->gen, head + 8 + MM_REPO_ID_BYTES) < 0)
        return mm_error_set(MM_EINVAL, "acceptance record: bad generation ID");
    mm_put_le64(head + 8 + MM_REPO_ID_BYTES + ID_SIZE, (uint64_t)a->time_ns);
    head[RECORD_FIXED] = (unsigned char)ulen;
    mm_put_le16(rl, (uint16_t)rlen);
    mm_buf_init(&msg, RECORD_MAX + sizeof(RECORD_DOMAIN));
    if ((err = mm_buf_put(out, head, sizeof(head))) < 0 ||
        (err = mm_buf_put(out, a->user, ulen)) < 0 || (err = mm_buf_put(out, rl, 2)) < 0 ||
        (err = mm_buf_put(out, a->reason, rlen)) < 0 ||
        (err = signed_message(out->ptr, out->len, &msg)) < 0 ||
        (err = mm_crypto_sign(r->ks, msg.ptr, msg.len, sig)) < 0)
        goto out;
    err = mm_buf_put(out, sig, sizeof(sig));
out:
    mm_buf_release(&msg);
    return err;
}

/* What decode() checks a record against. */
struct expect {
    mm_repo *r;
    const char *gen;
    struct mm_repo_guard_accept *a; /* filled (may be NULL) */
};

/* Check and decode the record @p (@n bytes): layout, version, IDs, signature. */
static int decode(const void *p, size_t n, void *arg)
{
    const struct expect *x = arg;
    const unsigned char *b = p;
    unsigned char rid[MM_REPO_ID_BYTES], gid[ID_SIZE], pk[MM_CRYPTO_PK_SIZE];
    struct mm_repo_guard_accept a;
    size_t ulen, rlen, body;
    mm_buf msg;
    int err;

    if (n < RECORD_FIXED + 1 || memcmp(b, RECORD_MAGIC, 4) != 0)
        return mm_error_set(MM_ECORRUPT, "not a guard acceptance record");
    if (mm_get_le32(b + 4) != RECORD_VERSION)
        return mm_error_set(MM_ECORRUPT, "guard acceptance record of unknown version %u",
                            (unsigned)mm_get_le32(b + 4));
    ulen = b[RECORD_FIXED];
    if (ulen > MM_KEYSLOT_NAME_MAX || n < RECORD_FIXED + 1 + ulen + 2)
        return mm_error_set(MM_ECORRUPT, "guard acceptance record truncated");
    rlen = mm_get_le16(b + RECORD_FIXED + 1 + ulen);
    body = RECORD_FIXED + 1 + ulen + 2 + rlen;
    if (rlen > REASON_MAX || n != body + MM_CRYPTO_SIG_SIZE)
        return mm_error_set(MM_ECORRUPT, "guard acceptance record has a bad length");
    repo_id_bytes(x->r, rid);
    if (mm_crypto_hex_parse(x->gen, gid) < 0 || memcmp(b + 8, rid, sizeof(rid)) != 0 ||
        memcmp(b + 8 + MM_REPO_ID_BYTES, gid, ID_SIZE) != 0)
        return mm_error_set(MM_ECORRUPT, "guard acceptance record of another generation");
    mm_keyset_public_key(x->r->ks, pk); /* the master's, for a host handle too */
    mm_buf_init(&msg, RECORD_MAX + sizeof(RECORD_DOMAIN));
    err = signed_message(b, body, &msg);
    if (err == 0 && mm_crypto_verify(pk, msg.ptr, msg.len, b + body) < 0)
        err = mm_error_set(MM_ECORRUPT, "guard acceptance record: the signature does not verify");
    mm_buf_release(&msg);
    if (err < 0)
        return err;
    if (!mm_repo__text_ok(b + RECORD_FIXED + 1, ulen, 1) ||
        !mm_repo__text_ok(b + RECORD_FIXED + 3 + ulen, rlen, 1))
        return mm_error_set(MM_ECORRUPT, "guard acceptance record holds bad text");
    memset(&a, 0, sizeof(a));
    snprintf(a.gen, sizeof(a.gen), "%s", x->gen);
    a.time_ns = (int64_t)mm_get_le64(b + 8 + MM_REPO_ID_BYTES + ID_SIZE);
    memcpy(a.user, b + RECORD_FIXED + 1, ulen);
    memcpy(a.reason, b + RECORD_FIXED + 3 + ulen, rlen);
    if (x->a)
        *x->a = a;
    return 0;
}

int mm_repo_guard_accepted(mm_repo *r, const char *id, struct mm_repo_guard_accept *out)
{
    struct expect x = { r, id, out };
    char rel[80];
    mm_buf b;
    int err;

    MM_ASSERT_ARG(r && id);
    if (!is_gen_id(id))
        return mm_error_set(MM_EINVAL, "'%s' is not a full generation ID", id);
    snprintf(rel, sizeof(rel), GUARD_DIR "/%s", id);
    mm_buf_init(&b, RECORD_MAX);
    err = mm_repo__read2(r, rel, &b, decode, &x);
    if (err == MM_ENOTFOUND) {
        mm_error_clear();
        err = 0; /* no record: not accepted (a repository without guard/ is fine) */
    } else if (err == 0 && (err = decode(b.ptr, b.len, &x)) == 0) { /* the copy read2 chose */
        err = 1;
    } else if (err == MM_ECORRUPT) {
        err = mm_error_set(MM_ECORRUPT,
                           "the acceptance record of generation '%.12s' does not verify "
                           "(damaged or forged): %s",
                           id, mm_error_last());
    }
    mm_buf_release(&b);
    return err;
}

int mm_repo__guard_write(mm_repo *r, const struct mm_repo_guard_accept *a)
{
    char rel[80];
    mm_buf b;
    int err;

    if (mm_keyset_is_host(r->ks))
        return refuse_host();
    if (!is_gen_id(a->gen))
        return mm_error_set(MM_EINVAL, "acceptance record: bad generation ID");
    snprintf(rel, sizeof(rel), GUARD_DIR "/%s", a->gen);
    /* a record there does not verify (else the generation was accepted already): the new one
     * replaces it (a file written once keeps what is there; a retained one is refused) */
    if ((err = mm_repo__guard_remove(r, a->gen)) < 0)
        return err;
    mm_buf_init(&b, RECORD_MAX);
    if ((err = encode(r, a, &b)) == 0)
        err = mm_repo__write2(r, rel, b.ptr, b.len);
    mm_buf_release(&b);
    return err;
}

int mm_repo__guard_remove(mm_repo *r, const char *id)
{
    char rel[80];
    int err;

    snprintf(rel, sizeof(rel), GUARD_DIR "/%s.2", id);
    if ((err = mm_repo__remove(r, rel)) < 0)
        return err;
    rel[strlen(rel) - 2] = '\0';
    mm_repo__copy_forget(r, rel);
    return mm_repo__remove(r, rel);
}

int mm_repo_guard_accept(mm_repo *r, const char *spec, const char *reason,
                         struct mm_repo_guard_accept *out)
{
    struct mm_repo_guard_accept a;
    struct mm_repo_gen g = { 0 };
    int err;

    MM_ASSERT_ARG(r && spec);
    if (!reason)
        reason = "";
    if (mm_keyset_is_host(r->ks))
        return refuse_host();
    if (strlen(reason) > REASON_MAX ||
        !mm_repo__text_ok((const unsigned char *)reason, strlen(reason), 1))
        return mm_error_set(MM_EINVAL, "the reason must be at most %u bytes of text on one line",
                            REASON_MAX);
    if ((err = mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, NULL)) < 0 ||
        (err = mm_repo_gen_find(r, spec, &g)) < 0)
        return err;
    if (!g.guard || strcmp(g.guard, "suspect") != 0) {
        err = mm_error_set(MM_EINVAL, "generation '%.12s' is not suspect: nothing to accept", g.id);
        goto out;
    }
    if (g.guard_accepted) {
        err = mm_error_set(MM_EINVAL, "generation '%.12s' was accepted already", g.id);
        goto out;
    }
    memset(&a, 0, sizeof(a));
    snprintf(a.gen, sizeof(a.gen), "%s", g.id);
    snprintf(a.user, sizeof(a.user), "%s", r->user);
    snprintf(a.reason, sizeof(a.reason), "%s", reason);
    a.time_ns = mm_repo__now_ns();
    if ((err = mm_repo__guard_write(r, &a)) == 0 && out)
        *out = a;
out:
    mm_repo_gen_release(&g);
    return err;
}

void mm_repo__guard_fill(mm_repo *r, struct mm_repo_gen *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g[i].guard_accepted = 0;
        if (!g[i].guard || strcmp(g[i].guard, "suspect") != 0)
            continue; /* only a suspect generation's record matters: no read for the rest */
        if (mm_repo_guard_accepted(r, g[i].id, NULL) == 1)
            g[i].guard_accepted = 1;
        mm_error_clear(); /* a record that does not verify: not accepted (verify reports it) */
    }
}

size_t mm_repo_gen_standing(const struct mm_repo_gen *g, size_t n)
{
    size_t s = n;

    for (size_t i = 0; i < n; i++) {
        if (mm_repo_gen_good(&g[i]))
            s = n;
        else if (s == n)
            s = i;
    }
    return s;
}

int mm_repo_gen_good(const struct mm_repo_gen *g)
{
    return !(g->guard && strcmp(g->guard, "suspect") == 0) || g->guard_accepted;
}
