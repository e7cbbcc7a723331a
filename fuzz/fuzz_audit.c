/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the audit log decoder and verifier (audit.h). The first input byte picks
 * the mode: bit 0, the last MM_AUDIT_HEAD_SIZE bytes are the head file; bit 1, the log is also
 * written to a scratch file and an event is appended to it without a key (the appender's tail
 * reading and torn-record repair on arbitrary bytes); bit 2, the rest is an export file
 * ("MMAX": log and head in one) read by mm_audit_log_load_file(). The rest is the log file.
 * Properties: a rejected log is MM_ECORRUPT (or MM_ELIMIT/MM_ENOMEM); an accepted one verifies
 * without error, an intact verdict means records numbered 1..n and counts that agree, a problem
 * names a record no further than one past the last; opening sealed details with an unrelated key
 * never succeeds for a sealed record; an append either succeeds, after which the log decodes
 * to the end with the new event last, or fails with a code its contract names.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/error.h"
#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_audit: %s (%s)\n", what, mm_error_last());
    abort();
}

static mm_keyset *other_key(void)
{
    static mm_keyset *ks;

    if (!ks && mm_keyset_generate(&ks) < 0)
        fail("cannot make a keyset");
    return ks;
}

/* @return 1 when the records decode to the end of the log (or to a torn last record) */
static int check_log(const unsigned char *log, size_t n, const unsigned char *head, size_t hn)
{
    struct mm_audit_verify_result v;
    mm_audit_log *l = NULL;
    unsigned char pk[MM_CRYPTO_PK_SIZE];
    size_t sealed = 0;
    int rc = mm_audit_log_parse(&l, log, n, head, hn), whole;

    if (rc < 0) {
        if (rc != MM_ECORRUPT && rc != MM_ELIMIT && rc != MM_ENOMEM)
            fail("unexpected parse error");
        if (l)
            fail("parse failed but gave a log");
        return 0;
    }
    if (mm_audit_verify(l, NULL, &v) != 0)
        fail("verify did not run");
    whole = v.damaged_at == 0;
    if (v.records > mm_audit_log_count(l))
        fail("verify counted more records than there are");
    if (v.problem == MM_AUDIT_OK) {
        if (v.records != mm_audit_log_count(l) || v.last_seq != v.records ||
            v.signed_records > v.records || v.head_seq > v.last_seq)
            fail("intact verdict with inconsistent counts");
        for (size_t i = 0; i < mm_audit_log_count(l); i++)
            if (mm_audit_log_record(l, i)->seq != i + 1)
                fail("intact verdict over a gap in sequence numbers");
    } else if (v.bad_seq > v.last_seq + 1 && v.problem != MM_AUDIT_BAD_HEAD) {
        fail("the first bad record lies beyond the log");
    }
    for (size_t i = 0; i < mm_audit_log_count(l); i++) {
        const struct mm_audit_record *r = mm_audit_log_record(l, i);
        if (r->user && (strlen(r->user) > 64 || strlen(r->host) > 255))
            fail("user or host longer than the format allows");
        if (r->user && r->sealed)
            sealed++;
        for (size_t k = 0; r->opened && k < r->nfields; k++)
            if (!r->fields[k].key[0])
                fail("empty field name");
    }
    memcpy(pk, mm_audit_log_public_key(l), sizeof(pk));
    pk[0] ^= 1;
    if (mm_audit_verify(l, pk, &v) != 0 || v.problem != MM_AUDIT_WRONG_KEY)
        fail("another key not refused");
    rc = mm_audit_log_open_details(l, other_key());
    if (sealed && rc == 0)
        fail("sealed details opened with an unrelated key");
    if (rc < 0 && rc != MM_EAUTH && rc != MM_ECORRUPT && rc != MM_ENOMEM)
        fail("unexpected open error");
    mm_audit_log_free(l);
    return whole;
}

/* Append a keyless event to a copy of the log in a scratch file. */
static void check_append(const unsigned char *log, size_t n, int whole)
{
    char base[64], path[80];
    struct mm_audit_event ev = { 0 };
    struct mm_audit_target t = { 0 };
    struct mm_audit_append_info info;
    FILE *f;
    mm_audit_log *l = NULL;
    int rc;

    if (n < MM_AUDIT_HEADER_SIZE)
        return;
    snprintf(base, sizeof(base), "/tmp/fuzz_audit.%ld", (long)getpid());
    snprintf(path, sizeof(path), "%s.log", base);
    if (!(f = fopen(path, "wb")) || fwrite(log, 1, n, f) != n || fclose(f) != 0)
        fail("cannot write the scratch file");
    ev.kind = MM_AUDIT_VIEWER_LOGIN_FAILED;
    ev.user = "fuzz";
    ev.host = "fuzz";
    ev.time_ns = 1;
    t.base = base;
    t.repo_id = log + 8;
    t.store = MM_AUDIT_SEALED;
    rc = mm_audit_append(&t, &ev, &info);
    if (rc == 0) {
        const struct mm_audit_record *r;
        if (mm_audit_log_load(&l, base) != 0)
            fail("the log does not load after an append");
        r = mm_audit_log_record(l, mm_audit_log_count(l) - 1);
        if (whole && (!r || r->kind != MM_AUDIT_VIEWER_LOGIN_FAILED || r->seq != info.seq))
            fail("the appended event is not the last record");
        mm_audit_log_free(l);
    } else if (rc != MM_ECORRUPT && rc != MM_ELIMIT && rc != MM_ENOMEM && rc != MM_EIO) {
        fail("unexpected append error");
    }
    unlink(path);
}

/* Read the input as an export file, as `mamori audit verify --file` does. */
static void check_export(const unsigned char *p, size_t n)
{
    char path[80];
    struct mm_audit_verify_result v;
    mm_audit_log *l = NULL;
    FILE *f;
    int rc;

    snprintf(path, sizeof(path), "/tmp/fuzz_audit.%ld.mmax", (long)getpid());
    if (!(f = fopen(path, "wb")) || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        fail("cannot write the scratch file");
    rc = mm_audit_log_load_file(&l, path);
    unlink(path);
    if (rc < 0) {
        if (rc != MM_ECORRUPT && rc != MM_ELIMIT && rc != MM_ENOMEM)
            fail("unexpected export error");
        return;
    }
    if (mm_audit_verify(l, NULL, &v) != 0)
        fail("verify did not run on an export");
    mm_audit_log_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *head = NULL;
    size_t n, hn = 0;
    unsigned mode;
    int whole;

    if (size < 1)
        return 0;
    mode = data[0];
    data++;
    n = size - 1;
    if (mode & 4) {
        check_export(data, n);
        return 0;
    }
    if ((mode & 1) && n >= MM_AUDIT_HEAD_SIZE) {
        head = data + n - MM_AUDIT_HEAD_SIZE;
        hn = MM_AUDIT_HEAD_SIZE;
        n -= MM_AUDIT_HEAD_SIZE;
    }
    whole = check_log(data, n, head, hn);
    if (mode & 2)
        check_append(data, n, whole);
    return 0;
}
