/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the audit log written by a write-only host (format 3, issue 16): a host keyset
 * (built from a key block the person enrolled) appends version 2 records — signed by its
 * writer key with its certificate, details sealed under a fresh data key sealed to the reader
 * key — and a version 2 head. The person verifies the chain and reads every detail; the host
 * cannot read back what it wrote; every flipped byte of a host record or head is found;
 * a head or record signed by a writer certified for another repository, or outside its
 * certificate's time, is refused; person and host records mix in one log; the host's own log
 * keeps details in the clear; a record of a version this mamori does not know is named as
 * such. The format 2 (person) logs are tested by test_audit.c, unchanged.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/endian.h"
#include "common/error.h"
#include "crypto/crypto.h"

#define T0      1795327200000000000LL /* 2026-11-22T06:00:00Z */
#define T0S     (T0 / 1000000000LL)
#define DAY     86400LL
#define SECRET  "PATIENT0001"
#define PATHCAP 512

struct fx {
    char dir[PATHCAP], base[PATHCAP], lpath[PATHCAP], hpath[PATHCAP];
    mm_keyset *ks;   /* the person's (master) keyset */
    mm_keyset *host; /* "nightly", certified for this repository, valid around T0 */
    unsigned char id[MM_AUDIT_REPO_ID_SIZE], pk[MM_CRYPTO_PK_SIZE];
};

static void fmt(char *out, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *out, size_t cap, const char *f, ...)
{
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(out, cap, f, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap);
}

/* A host keyset of @master for repository @id, named @name, valid from @from to @until (s). */
static mm_keyset *host_keys(mm_keyset *master, const unsigned char *id, const char *name,
                            long long from, long long until)
{
    unsigned char block[MM_HOSTKEYS_SIZE];
    mm_keyset *h = NULL;

    assert_int_equal(mm_keyset_enroll(master, id, name, (uint64_t)from, (uint64_t)until, block), 0);
    assert_int_equal(mm_keyset_from_hostkeys(&h, block, sizeof(block), id), 0);
    assert_int_equal(mm_keyset_is_host(h), 1);
    mm_crypto_wipe(block, sizeof(block));
    return h;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    const char *t = getenv("TMPDIR");

    assert_non_null(f);
    fmt(f->dir, sizeof(f->dir), "%s/mamori-test-audit-host-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    fmt(f->base, sizeof(f->base), "%s/log", f->dir);
    fmt(f->lpath, sizeof(f->lpath), "%s.log", f->base);
    fmt(f->hpath, sizeof(f->hpath), "%s.head", f->base);
    assert_int_equal(mm_keyset_generate(&f->ks), 0);
    mm_keyset_public_key(f->ks, f->pk);
    for (size_t i = 0; i < sizeof(f->id); i++)
        f->id[i] = (unsigned char)(0x30 + i);
    f->host = host_keys(f->ks, f->id, "nightly", T0S - DAY, T0S + 30 * DAY);
    *state = f;
    return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fx *f = *state;

    nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    mm_keyset_free(f->ks);
    mm_keyset_free(f->host);
    free(f);
    return 0;
}

static unsigned char *readf(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *p;
    long len;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    len = ftell(fp);
    rewind(fp);
    assert_non_null(p = malloc(len ? (size_t)len : 1));
    assert_int_equal(fread(p, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    *n = (size_t)len;
    return p;
}

static void writef(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* Append event @i (a backup, or a patient view when @i is a multiple of 4) with @ks. */
static int add(const struct fx *f, const mm_keyset *ks, int i, enum mm_audit_store store)
{
    char num[16];
    struct mm_audit_field fl[2] = { { "n", num }, { "generation", "0123456789abcdef" } };
    struct mm_audit_event ev = { 0 };
    struct mm_audit_target t = { 0 };

    fmt(num, sizeof(num), "%d", i);
    ev.kind = i % 4 == 0 ? MM_AUDIT_PATIENT_OPENED : MM_AUDIT_BACKUP;
    ev.user = ks && mm_keyset_is_host(ks) ? "host:nightly" : "alice";
    ev.host = "ward-pc";
    ev.time_ns = T0 + (int64_t)i * 1000000000;
    ev.fields = fl;
    ev.nfields = 2;
    if (i % 4 == 0) {
        ev.subject_kind = MM_AUDIT_SUBJECT_PATIENT;
        ev.subject = SECRET;
    }
    t.base = f->base;
    t.repo_id = f->id;
    t.ks = ks;
    t.store = store;
    return mm_audit_append(&t, &ev, NULL);
}

/* Load the log and verify it against the person's key. */
static mm_audit_log *load_verify(const struct fx *f, struct mm_audit_verify_result *v)
{
    mm_audit_log *l = NULL;

    assert_int_equal(mm_audit_log_load(&l, f->base), 0);
    assert_int_equal(mm_audit_verify(l, f->pk, v), 0);
    return l;
}

/* Verify bytes. */
static enum mm_audit_problem check(const struct fx *f, const unsigned char *p, size_t n,
                                   const unsigned char *h, size_t hn,
                                   struct mm_audit_verify_result *v)
{
    mm_audit_log *l = NULL;

    assert_int_equal(mm_audit_log_parse(&l, p, n, h, hn), 0);
    assert_int_equal(mm_audit_verify(l, f->pk, v), 0);
    mm_audit_log_free(l);
    return v->problem;
}

/* Each record @i (1-based) has field n = @i and, every fourth, the patient as subject. */
static void details_are(const mm_audit_log *l)
{
    for (size_t i = 0; i < mm_audit_log_count(l); i++) {
        const struct mm_audit_record *r = mm_audit_log_record(l, i);
        char num[16];
        fmt(num, sizeof(num), "%zu", i + 1);
        assert_true(r->opened);
        assert_int_equal(r->nfields, 2);
        assert_string_equal(r->fields[0].value, num);
        if ((i + 1) % 4 == 0)
            assert_string_equal(r->subject, SECRET);
        else
            assert_null(r->subject);
    }
}

/* ---- tests --------------------------------------------------------------------------------- */

/* A host creates the medium's log and appends N events; the person verifies and reads all. */
static void host__appends_person_verifies_and_reads(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    mm_audit_log *l;
    size_t n;
    unsigned char *p;

    for (int i = 1; i <= 12; i++)
        assert_int_equal(add(f, f->host, i, MM_AUDIT_SEALED), 0);
    l = load_verify(f, &v);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.records, 12);
    assert_int_equal(v.signed_records, 12);
    assert_int_equal(v.writer_records, 12);
    assert_int_equal(v.head_seq, 12);
    assert_int_equal(v.head_writer, 1);
    assert_string_equal(v.head_signer, "nightly");
    /* the header names the repository's key, not the writer's */
    assert_memory_equal(mm_audit_log_public_key(l), f->pk, MM_CRYPTO_PK_SIZE);
    for (size_t i = 0; i < 12; i++) {
        const struct mm_audit_record *r = mm_audit_log_record(l, i);
        assert_true(r->sealed && !r->opened && r->keyed);
        assert_string_equal(r->writer, "nightly");
        assert_string_equal(r->user, "host:nightly");
    }
    assert_int_equal(mm_audit_log_open_details(l, f->ks), 0);
    details_are(l);
    mm_audit_log_free(l);
    /* an export (log and its writer's head) verifies alone, and says who signed the head */
    {
        char path[PATHCAP];
        mm_buf x;
        mm_buf_init(&x, 1 << 20);
        assert_int_equal(mm_audit_export(f->base, &x), 0);
        fmt(path, sizeof(path), "%s/export.mmax", f->dir);
        writef(path, x.ptr, x.len);
        mm_buf_release(&x);
        assert_int_equal(mm_audit_log_load_file(&l, path), 0);
        assert_int_equal(mm_audit_verify(l, NULL, &v), 0);
        assert_int_equal(v.problem, MM_AUDIT_OK);
        assert_int_equal(v.head_seq, 12);
        assert_string_equal(v.head_signer, "nightly");
        mm_audit_log_free(l);
    }
    /* sealed: the patient ID is nowhere in the file */
    p = readf(f->lpath, &n);
    for (size_t i = 0; i + strlen(SECRET) <= n; i++)
        assert_int_not_equal(memcmp(p + i, SECRET, strlen(SECRET)), 0);
    free(p);
}

/* The host cannot open the details it wrote (nor a person's); another master cannot either. */
static void host__cannot_read_back(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    mm_audit_log *l;
    mm_keyset *other = NULL;

    assert_int_equal(add(f, f->ks, 1, MM_AUDIT_SEALED), 0);
    assert_int_equal(add(f, f->host, 2, MM_AUDIT_SEALED), 0);
    l = load_verify(f, &v);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(mm_audit_log_open_details(l, f->host), MM_EINVAL);
    assert_false(mm_audit_log_record(l, 0)->opened);
    assert_false(mm_audit_log_record(l, 1)->opened);
    assert_null(strstr(mm_error_last(), SECRET));
    mm_audit_log_free(l);
    /* only its own record, so the first refusal is about the host's record */
    assert_int_equal(mm_keyset_generate(&other), 0);
    l = load_verify(f, &v);
    assert_int_equal(mm_audit_log_open_details(l, other), MM_EAUTH);
    mm_audit_log_free(l);
    mm_keyset_free(other);
}

/* The host's own log: details in the clear, records and head still signed and verified. */
static void host__own_log_in_the_clear(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    mm_audit_log *l;

    for (int i = 1; i <= 5; i++)
        assert_int_equal(add(f, f->host, i, MM_AUDIT_CLEAR), 0);
    l = load_verify(f, &v);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.writer_records, 5);
    assert_int_equal(v.head_writer, 1);
    details_are(l); /* no key needed */
    mm_audit_log_free(l);
}

/* Person and host records in one log, in turn; the head signed by whoever wrote last. */
static void mixed__person_and_host_records_verify(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    mm_audit_log *l;
    int i = 1;

    for (int round = 0; round < 3; round++) {
        assert_int_equal(add(f, f->ks, i++, MM_AUDIT_SEALED), 0);
        assert_int_equal(add(f, f->ks, i++, MM_AUDIT_SEALED), 0);
        assert_int_equal(add(f, f->host, i++, MM_AUDIT_SEALED), 0);
        assert_int_equal(add(f, f->host, i++, MM_AUDIT_SEALED), 0);
    }
    l = load_verify(f, &v);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.records, 12);
    assert_int_equal(v.writer_records, 6);
    assert_int_equal(v.head_writer, 1);
    assert_int_equal(mm_audit_log_open_details(l, f->ks), 0);
    details_are(l);
    for (size_t k = 0; k < 12; k++)
        if (k % 4 < 2)
            assert_null(mm_audit_log_record(l, k)->writer);
        else
            assert_string_equal(mm_audit_log_record(l, k)->writer, "nightly");
    mm_audit_log_free(l);
    /* a person's append signs the head with the repository's key again */
    assert_int_equal(add(f, f->ks, i, MM_AUDIT_SEALED), 0);
    l = load_verify(f, &v);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.head_writer, 0);
    assert_string_equal(v.head_signer, "");
    mm_audit_log_free(l);
}

/* Every flipped byte of a host's records is found at its record; every byte of its head. */
static void verify__every_byte_flip_of_host_records_found(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    mm_audit_log *l;
    size_t n, hn, off[8], len[8], cnt;
    unsigned char *p, *h;

    for (int i = 1; i <= 6; i++)
        assert_int_equal(add(f, i == 3 ? f->ks : f->host, i, MM_AUDIT_SEALED), 0);
    p = readf(f->lpath, &n);
    h = readf(f->hpath, &hn);
    assert_int_equal(hn, MM_AUDIT_HEAD2_SIZE);
    assert_int_equal(mm_audit_log_parse(&l, p, n, h, hn), 0);
    assert_int_equal(cnt = mm_audit_log_count(l), 6);
    for (size_t k = 0; k < cnt; k++) {
        off[k] = mm_audit_log_record(l, k)->offset;
        len[k] = mm_audit_log_record(l, k)->length;
    }
    mm_audit_log_free(l);
    for (size_t i = MM_AUDIT_HEADER_SIZE; i < n; i++) {
        uint64_t want = 0;
        for (size_t k = 0; k < cnt; k++)
            if (i >= off[k] && i < off[k] + len[k])
                want = k + 1;
        p[i] ^= 0x04;
        if (check(f, p, n, h, hn, &v) == MM_AUDIT_OK || v.bad_seq != want)
            fail_msg("byte %zu (record %llu): %s at %llu", i, (unsigned long long)want,
                     mm_audit_problem_name(v.problem), (unsigned long long)v.bad_seq);
        p[i] ^= 0x04;
    }
    for (size_t i = 0; i < hn; i++) {
        h[i] ^= 0x04;
        assert_int_not_equal(check(f, p, n, h, hn, &v), MM_AUDIT_OK);
        h[i] ^= 0x04;
    }
    /* the last host record cut off: the head (a writer's) says records are missing */
    assert_int_equal(check(f, p, off[5], h, hn, &v), MM_AUDIT_TRUNCATED);
    assert_int_equal(v.bad_seq, 6);
    assert_int_equal(check(f, p, n, h, hn, &v), MM_AUDIT_OK);
    free(p);
    free(h);
}

/*
 * A head over the intact log, made as docs/format.md lays it out and signed by the writer of
 * @ks (with its certificate): "MMAH" | le32 2 | le64 seq | H | signature | certificate.
 */
static void forge_head(const struct fx *f, const mm_keyset *ks, const unsigned char *p, size_t n)
{
    unsigned char buf[MM_AUDIT_HEAD2_SIZE], msg[16 + MM_CRYPTO_ID_SIZE];
    const struct mm_audit_record *r;
    mm_audit_log *l = NULL;

    assert_int_equal(mm_audit_log_parse(&l, p, n, NULL, 0), 0);
    r = mm_audit_log_record(l, mm_audit_log_count(l) - 1);
    memcpy(buf, "MMAH", 4);
    mm_put_le32(buf + 4, 2);
    mm_put_le64(buf + 8, r->seq);
    memcpy(buf + 16, r->hash, MM_CRYPTO_ID_SIZE);
    memcpy(msg, "mamori-audit-v1", 16); /* with its NUL */
    memcpy(msg + 16, r->hash, MM_CRYPTO_ID_SIZE);
    assert_int_equal(mm_crypto_sign(ks, msg, sizeof(msg), buf + 48), 0);
    assert_int_equal(mm_keyset_writer_cert(ks, buf + MM_AUDIT_HEAD_SIZE), 1);
    writef(f->hpath, buf, sizeof(buf));
    mm_audit_log_free(l);
}

/* Heads and records of a writer certified for another repository, or expired, are refused. */
static void verify__uncertified_writers_refused(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    unsigned char other_id[MM_AUDIT_REPO_ID_SIZE], *p;
    mm_keyset *elsewhere, *expired, *early;
    mm_audit_log *l;
    size_t n;

    memset(other_id, 0x77, sizeof(other_id));
    elsewhere = host_keys(f->ks, other_id, "elsewhere", T0S - DAY, T0S + DAY);
    expired = host_keys(f->ks, f->id, "expired", T0S - 30 * DAY, T0S - DAY);
    early = host_keys(f->ks, f->id, "early", T0S + DAY, T0S + 30 * DAY);
    for (int i = 1; i <= 4; i++)
        assert_int_equal(add(f, f->host, i, MM_AUDIT_SEALED), 0);
    p = readf(f->lpath, &n);
    /* the control: a head by the right writer, made the same way, verifies */
    forge_head(f, f->host, p, n);
    l = load_verify(f, &v);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    mm_audit_log_free(l);
    const mm_keyset *bad[3] = { elsewhere, expired, early };
    for (int k = 0; k < 3; k++) {
        forge_head(f, bad[k], p, n);
        l = load_verify(f, &v);
        assert_int_equal(v.problem, MM_AUDIT_BAD_HEAD);
        assert_int_equal(v.bad_seq, 4);
        assert_int_equal(v.head_writer, 0);
        mm_audit_log_free(l);
    }
    /* and their records: the chain is intact, the signature is not accepted */
    for (int k = 0; k < 3; k++) {
        writef(f->lpath, p, n);
        forge_head(f, f->host, p, n);
        assert_int_equal(add(f, bad[k], 5, MM_AUDIT_SEALED), 0);
        l = load_verify(f, &v);
        assert_int_equal(v.problem, MM_AUDIT_BAD_SIGNATURE);
        assert_int_equal(v.bad_seq, 5);
        mm_audit_log_free(l);
    }
    free(p);
    mm_keyset_free(elsewhere);
    mm_keyset_free(expired);
    mm_keyset_free(early);
}

/* A record of a version this mamori does not know is named as such, not as an edit. */
static void verify__newer_record_version_named(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    mm_audit_log *l;
    size_t n, hn, off;
    unsigned char *p, *h;

    for (int i = 1; i <= 3; i++)
        assert_int_equal(add(f, i == 2 ? f->host : f->ks, i, MM_AUDIT_SEALED), 0);
    p = readf(f->lpath, &n);
    h = readf(f->hpath, &hn);
    assert_int_equal(mm_audit_log_parse(&l, p, n, h, hn), 0);
    off = mm_audit_log_record(l, 1)->offset;
    mm_audit_log_free(l);
    /* frame "MMAR" le32 | body: le16 tag 1 | le32 2 | le16 version */
    assert_int_equal(p[off + 8 + 6], 2); /* a writer's record: version 2 */
    p[off + 8 + 6] = 3;
    assert_int_equal(check(f, p, n, h, hn, &v), MM_AUDIT_NEWER);
    assert_int_equal(v.bad_seq, 2);
    assert_string_equal(mm_audit_problem_name(v.problem), "newer-version");
    free(p);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(host__appends_person_verifies_and_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(host__cannot_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(host__own_log_in_the_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(mixed__person_and_host_records_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(verify__every_byte_flip_of_host_records_found, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(verify__uncertified_writers_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(verify__newer_record_version_named, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
