/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verifying an audit log: walk the records in file order expecting sequence numbers 1, 2, 3 ...
 * each holding the hash of the one before (record 1: of the header) and, when written with the
 * key, a valid signature; then the tail against the signed head. At the first departure the
 * records around it tell what happened (docs/format.md, "Audit log: what verify reports"):
 * a signed record that verifies is authentic, so a gap before it is a removal, an authentic
 * record early is a reordering, a record that belongs nowhere is an insertion, a broken link
 * after an intact record is an edit. The first bad record is the sequence number expected
 * where the log departs from what was written. Cost: one Ed25519 verification per signed
 * record (about 50 us); the classification looks ahead only once, at the failure.
 */
#include <stdio.h>
#include <string.h>

#include "audit/audit_int.h"
#include "common/error.h"

static const char *const problem_names[] = {
    "ok",        "edited",       "inserted",      "removed",
    "reordered", "truncated",    "bad-signature", "damaged",
    "wrong-key", "head-missing", "bad-head",      "newer-version",
};

const char *mm_audit_problem_name(enum mm_audit_problem p)
{
    return (unsigned)p < sizeof(problem_names) / sizeof(problem_names[0]) ? problem_names[p]
                                                                          : "unknown";
}

/* Is @e signed, by the repository's key @pk (version 1) or its certified writer (version 2)? */
static int sig_ok(const struct mm_audit__entry *e, const unsigned char *pk)
{
    if (e->version == REC_V2)
        pk = e->writer_ok ? e->wpk : NULL;
    return pk && e->pub.keyed && e->sig && mm_audit__check_sig(pk, e->pub.hash, e->sig) == 0;
}

/*
 * Check the head's signature: by the repository's key @pk, or by a writer whose certificate
 * (in the head) is signed by @pk for this log's repository and valid at the time of the
 * record the head names (when it names one, found among the @n decoded records).
 * @return 0, -1
 */
static int head_ok(const mm_audit_log *l, const unsigned char *pk,
                   struct mm_audit_verify_result *res)
{
    struct mm_wcert wc;
    int64_t t = 0;

    if (!l->head.writer)
        return mm_audit__check_sig(pk, l->head.hash, l->head.sig) == 0 ? 0 : -1;
    if (l->head.seq >= 1 && l->head.seq <= l->n && !l->v[l->head.seq - 1].malformed)
        t = l->v[l->head.seq - 1].pub.time_ns;
    if (mm_audit__writer_check(pk, mm_audit_log_repo_id(l), l->head.cert, t, &wc) < 0 ||
        mm_audit__check_sig(wc.pk, l->head.hash, l->head.sig) < 0) {
        mm_error_clear();
        return -1;
    }
    res->head_writer = 1;
    snprintf(res->head_signer, sizeof(res->head_signer), "%s", wc.name);
    return 0;
}

static void fail(struct mm_audit_verify_result *res, enum mm_audit_problem p, uint64_t bad,
                 uint64_t found, uint64_t offset)
{
    res->problem = p;
    res->bad_seq = bad;
    res->found_seq = found;
    res->offset = offset;
}

/* Index of the first record after @i carrying @seq, or @n. */
static size_t find_seq(const mm_audit_log *l, size_t i, uint64_t seq)
{
    for (size_t j = i + 1; j < l->n; j++)
        if (!l->v[j].malformed && l->v[j].pub.seq == seq)
            return j;
    return l->n;
}

/* Does some record after @i have the hash @h (the record @h links to lies later)? */
static int hash_later(const mm_audit_log *l, size_t i, const unsigned char *h)
{
    for (size_t j = i + 1; j < l->n; j++)
        if (!l->v[j].malformed && memcmp(l->v[j].pub.hash, h, ID_SIZE) == 0)
            return 1;
    return 0;
}

/* Does any signed record verify with @pk (is the header's key the one that wrote them)? */
static int any_genuine(const mm_audit_log *l, const unsigned char *pk)
{
    for (size_t j = 0; j < l->n; j++)
        if (!l->v[j].malformed && sig_ok(&l->v[j], pk))
            return 1;
    return 0;
}

/* Tell what happened at record @i, where the log departs from the chain. */
static void classify(const mm_audit_log *l, size_t i, uint64_t expected, int prev_keyed,
                     const unsigned char *pk, struct mm_audit_verify_result *res)
{
    const struct mm_audit__entry *e = &l->v[i];
    uint64_t seq = e->pub.seq, off = e->pub.offset;
    int genuine = sig_ok(e, pk);

    if (seq == expected) { /* the link to the previous record is broken */
        if (i + 1 < l->n && !l->v[i + 1].malformed && l->v[i + 1].pub.seq == expected)
            fail(res, MM_AUDIT_INSERTED, expected, seq, off);
        else if (i == 0) /* the header changed, unless record 1's own bytes did */
            fail(res, MM_AUDIT_EDITED, genuine || !any_genuine(l, pk) ? 0 : 1, seq, 0);
        else if (genuine || (!e->pub.keyed && !prev_keyed))
            fail(res, MM_AUDIT_EDITED, expected - 1, seq,
                 i ? l->v[i - 1].pub.offset : 0); /* the one before changed (0: the header) */
        else
            fail(res, MM_AUDIT_EDITED, expected, seq, off);
    } else if (seq > expected) {
        if (find_seq(l, i, expected) < l->n) {
            if (genuine || (!e->pub.keyed && hash_later(l, i, e->prev)))
                fail(res, MM_AUDIT_REORDERED, expected, seq, off);
            else
                fail(res, MM_AUDIT_INSERTED, expected, seq, off);
        } else if (e->pub.keyed && !genuine) {
            fail(res, MM_AUDIT_INSERTED, expected, seq, off);
        } else {
            fail(res, MM_AUDIT_REMOVED, expected, seq, off);
        }
    } else {
        /* an authentic record whose number was taken by the record before it: that one was
         * inserted */
        fail(res, MM_AUDIT_INSERTED, seq == expected - 1 && genuine ? seq : expected, seq, off);
    }
}

int mm_audit_verify(const mm_audit_log *l, const unsigned char pk_in[MM_CRYPTO_PK_SIZE],
                    struct mm_audit_verify_result *res)
{
    const unsigned char *pk, *prev;
    uint64_t expected = 1, last_keyed = 0;
    int prev_keyed = 0;

    MM_ASSERT_ARG(l && res);
    memset(res, 0, sizeof(*res));
    if (l->stop == STOP_DAMAGED)
        res->damaged_at = l->stop_offset;
    pk = mm_audit_log_public_key(l);
    if (pk_in && memcmp(pk_in, pk, MM_CRYPTO_PK_SIZE) != 0) {
        fail(res, MM_AUDIT_WRONG_KEY, 0, 0, 0);
        return 0;
    }
    prev = l->h0;
    for (size_t i = 0; i < l->n; i++) {
        const struct mm_audit__entry *e = &l->v[i];

        res->records++;
        if (e->malformed) {
            fail(res, e->newer ? MM_AUDIT_NEWER : MM_AUDIT_EDITED, expected, 0, e->pub.offset);
            return 0;
        }
        if (e->pub.seq != expected || memcmp(e->prev, prev, ID_SIZE) != 0) {
            classify(l, i, expected, prev_keyed, pk, res);
            return 0;
        }
        if (e->pub.keyed && !sig_ok(e, pk)) {
            /* edited after it was written (what follows no longer links to it, or the head
             * names other bytes), or made without the key (everything links to it) */
            int next_breaks = i + 1 < l->n && (l->v[i + 1].malformed ||
                                               memcmp(l->v[i + 1].prev, e->pub.hash, ID_SIZE) != 0);
            int head_differs = l->has_head && !l->head_bad && l->head.seq == e->pub.seq &&
                               memcmp(l->head.hash, e->pub.hash, ID_SIZE) != 0;
            int twin = i + 1 < l->n && !l->v[i + 1].malformed && l->v[i + 1].pub.seq == expected;
            fail(res,
                 twin                          ? MM_AUDIT_INSERTED
                 : next_breaks || head_differs ? MM_AUDIT_EDITED
                                               : MM_AUDIT_BAD_SIGNATURE,
                 expected, expected, e->pub.offset);
            return 0;
        }
        if (e->pub.keyed) {
            res->signed_records++;
            res->writer_records += e->version == REC_V2;
            last_keyed = e->pub.seq;
        }
        prev_keyed = e->pub.keyed;
        prev = e->pub.hash;
        res->last_seq = expected;
        expected++;
    }
    res->unsigned_tail = res->last_seq - last_keyed;
    if (l->stop == STOP_DAMAGED) {
        fail(res, MM_AUDIT_DAMAGED, expected, 0, l->stop_offset);
        return 0;
    }
    if (l->stop == STOP_TORN)
        res->torn_bytes = l->rawn - l->stop_offset;
    if (!l->has_head) {
        if (last_keyed)
            fail(res, MM_AUDIT_HEAD_MISSING, res->last_seq + 1, 0, l->rawn);
        return 0;
    }
    if (l->head_bad || head_ok(l, pk, res) < 0) {
        fail(res, MM_AUDIT_BAD_HEAD, l->head_bad ? res->last_seq + 1 : l->head.seq, 0, l->rawn);
        return 0;
    }
    res->head_seq = l->head.seq;
    if (l->head.seq > res->last_seq) {
        fail(res, MM_AUDIT_TRUNCATED, res->last_seq + 1, l->head.seq, l->stop_offset);
        return 0;
    }
    if (l->head.seq == 0 ? memcmp(l->head.hash, l->h0, ID_SIZE) != 0
                         : memcmp(l->head.hash, l->v[l->head.seq - 1].pub.hash, ID_SIZE) != 0) {
        fail(res, MM_AUDIT_BAD_HEAD, l->head.seq, 0, l->rawn);
        return 0;
    }
    return 0;
}

void mm_audit_fingerprint(const unsigned char pk[MM_CRYPTO_PK_SIZE],
                          char out[MM_AUDIT_FINGERPRINT_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char h[ID_SIZE];
    size_t o = 0;

    mm_crypto_hash(pk, MM_CRYPTO_PK_SIZE, h);
    for (size_t i = 0; i < 16; i++) {
        if (i && i % 2 == 0)
            out[o++] = '-';
        out[o++] = hex[h[i] >> 4];
        out[o++] = hex[h[i] & 15];
    }
    out[o] = '\0';
}
