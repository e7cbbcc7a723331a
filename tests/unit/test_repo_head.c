/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the repository head (repo.h, issue 17.1): the MMRH codec (round trip, every bit
 * flip of a head refused, a wrong key, a writer certificate and its validity, a newer
 * version, cut files), the cross-check of two media's heads, and on a real repository folder:
 * no head yet, the two copies, the host's copy and rollbacks, deleted generations kept listed
 * until forgotten or accepted, and a deleted or cut audit log (which no writer papers over).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/error.h"
#include "repo/repo.h"

#define PATHCAP 1024
#define PASS    "hardening-test-passphrase"

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };

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

/* A head of repository @id with @ng generations and one peer, at time @t (s). */
static void sample(struct mm_repo_head *h, const unsigned char *id, size_t ng, int64_t t)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->repo_id, id, MM_REPO_ID_BYTES);
    h->flags = MM_REPO_HEAD_AUDIT;
    h->seq = 7;
    memset(h->prev, 0x5a, sizeof(h->prev));
    h->time_ns = t * 1000000000;
    h->audit_len = 4242;
    h->audit_seq = 12;
    memset(h->audit_h, 0xa5, sizeof(h->audit_h));
    h->gens = calloc(ng ? ng : 1, MM_CRYPTO_ID_SIZE);
    assert_non_null(h->gens);
    for (size_t i = 0; i < ng; i++)
        h->gens[i][0] = (unsigned char)(i + 1);
    h->ngens = ng;
    h->peers = calloc(1, sizeof(*h->peers));
    assert_non_null(h->peers);
    memset(h->peers[0].repo_id, 0x11, MM_REPO_ID_BYTES);
    h->peers[0].seq = 3;
    memset(h->peers[0].hash, 0x22, MM_CRYPTO_ID_SIZE);
    h->npeers = 1;
}

static void codec__round_trip(void **state)
{
    unsigned char id[MM_REPO_ID_BYTES] = { 1, 2, 3 }, pk[MM_CRYPTO_PK_SIZE];
    struct mm_repo_head h, d;
    mm_keyset *ks = NULL;
    mm_buf b;

    (void)state;
    assert_int_equal(mm_keyset_generate(&ks), 0);
    mm_keyset_public_key(ks, pk);
    sample(&h, id, 3, 1700000000);
    mm_buf_init(&b, MM_REPO_HEAD_MAX);
    assert_int_equal(mm_repo_head_encode(&h, ks, &b), 0);
    assert_int_equal(b.len, 124 + 3 * 32 + 4 + 56 + 4 + 64);
    assert_int_equal(mm_repo_head_decode(b.ptr, b.len, pk, &d), 0);
    assert_int_equal(d.seq, 7);
    assert_int_equal(d.flags, MM_REPO_HEAD_AUDIT);
    assert_memory_equal(d.repo_id, id, sizeof(id));
    assert_memory_equal(d.prev, h.prev, 32);
    assert_int_equal(d.time_ns, h.time_ns);
    assert_int_equal(d.audit_len, 4242);
    assert_int_equal(d.audit_seq, 12);
    assert_memory_equal(d.audit_h, h.audit_h, 32);
    assert_int_equal(d.ngens, 3);
    assert_memory_equal(d.gens, h.gens, 3 * 32);
    assert_int_equal(d.npeers, 1);
    assert_int_equal(d.peers[0].seq, 3);
    assert_memory_equal(d.hash, h.hash, 32);
    assert_string_equal(d.signer, "");
    mm_repo_head_release(&d);
    mm_repo_head_release(&h);
    mm_buf_release(&b);
    mm_keyset_free(ks);
}

/* Every single bit flipped anywhere in a head makes it refused (damage or a forgery). */
static void codec__every_bit_flip_caught(void **state)
{
    unsigned char id[MM_REPO_ID_BYTES] = { 9 }, pk[MM_CRYPTO_PK_SIZE];
    struct mm_repo_head h, d;
    mm_keyset *ks = NULL;
    mm_buf b;

    (void)state;
    assert_int_equal(mm_keyset_generate(&ks), 0);
    mm_keyset_public_key(ks, pk);
    sample(&h, id, 2, 1700000000);
    mm_buf_init(&b, MM_REPO_HEAD_MAX);
    assert_int_equal(mm_repo_head_encode(&h, ks, &b), 0);
    for (size_t i = 0; i < b.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            int err;
            b.ptr[i] ^= (char)(1 << bit);
            err = mm_repo_head_decode(b.ptr, b.len, pk, &d);
            if (err == 0)
                fail_msg("a flip of bit %d of byte %zu was not caught", bit, i);
            assert_true(err == MM_ECORRUPT || err == MM_EAUTH);
            b.ptr[i] ^= (char)(1 << bit);
        }
    /* and every cut */
    for (size_t n = 0; n < b.len; n++)
        assert_int_not_equal(mm_repo_head_decode(b.ptr, n, pk, &d), 0);
    assert_int_equal(mm_repo_head_decode(b.ptr, b.len, pk, &d), 0);
    mm_repo_head_release(&d);
    mm_repo_head_release(&h);
    mm_buf_release(&b);
    mm_keyset_free(ks);
}

static void codec__wrong_key_and_newer_version(void **state)
{
    unsigned char id[MM_REPO_ID_BYTES] = { 4 }, pk2[MM_CRYPTO_PK_SIZE];
    struct mm_repo_head h, d;
    mm_keyset *ks = NULL, *other = NULL;
    mm_buf b;

    (void)state;
    assert_int_equal(mm_keyset_generate(&ks), 0);
    assert_int_equal(mm_keyset_generate(&other), 0);
    mm_keyset_public_key(other, pk2);
    sample(&h, id, 1, 1700000000);
    mm_buf_init(&b, MM_REPO_HEAD_MAX);
    assert_int_equal(mm_repo_head_encode(&h, ks, &b), 0);
    assert_int_equal(mm_repo_head_decode(b.ptr, b.len, pk2, &d), MM_EAUTH);
    b.ptr[4] = 2; /* a version this mamori does not know */
    assert_int_equal(mm_repo_head_decode(b.ptr, b.len, pk2, &d), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "newer"));
    mm_repo_head_release(&h);
    mm_buf_release(&b);
    mm_keyset_free(ks);
    mm_keyset_free(other);
}

/* A format 3 host signs with its certified writer key: accepted within the certificate's
 * validity, named; a head dated outside it is refused. */
static void codec__writer_certificate(void **state)
{
    unsigned char id[MM_REPO_ID_BYTES] = { 5, 6 }, pk[MM_CRYPTO_PK_SIZE], blk[MM_HOSTKEYS_SIZE];
    struct mm_repo_head h, d;
    mm_keyset *ks = NULL, *host = NULL;
    mm_buf b;

    (void)state;
    assert_int_equal(mm_keyset_generate(&ks), 0);
    mm_keyset_public_key(ks, pk);
    assert_int_equal(mm_keyset_enroll(ks, id, "nightly", 1000, 2000000000, blk), 0);
    assert_int_equal(mm_keyset_from_hostkeys(&host, blk, sizeof(blk), id), 0);
    sample(&h, id, 2, 1700000000);
    mm_buf_init(&b, MM_REPO_HEAD_MAX);
    assert_int_equal(mm_repo_head_encode(&h, host, &b), 0);
    assert_int_equal(b.len, 124 + 2 * 32 + 4 + 56 + 4 + MM_WCERT_SIZE + 64);
    assert_int_equal(mm_repo_head_decode(b.ptr, b.len, pk, &d), 0);
    assert_string_equal(d.signer, "nightly");
    mm_repo_head_release(&d);
    mm_repo_head_release(&h);
    sample(&h, id, 2, 2100000000); /* after the certificate's end */
    mm_buf_clear(&b);
    assert_int_equal(mm_repo_head_encode(&h, host, &b), 0);
    assert_int_equal(mm_repo_head_decode(b.ptr, b.len, pk, &d), MM_EAUTH);
    mm_repo_head_release(&h);
    mm_buf_release(&b);
    mm_keyset_free(ks);
    mm_keyset_free(host);
}

static void cross__older_and_forked(void **state)
{
    struct mm_repo_head a = { 0 }, b = { 0 };
    struct mm_repo_head_peer p;
    struct mm_repo_head_cross x;

    (void)state;
    memset(a.repo_id, 0x11, MM_REPO_ID_BYTES);
    memset(a.hash, 0x33, 32);
    a.seq = 5;
    mm_repo_head_cross(&a, &b, &x);
    assert_int_equal(x.known, 0);
    memcpy(p.repo_id, a.repo_id, MM_REPO_ID_BYTES);
    p.seq = 6;
    memset(p.hash, 0x44, 32);
    b.peers = &p;
    b.npeers = 1;
    mm_repo_head_cross(&a, &b, &x);
    assert_true(x.known && x.older && !x.differ);
    assert_int_equal(x.seen, 6);
    p.seq = 5;
    mm_repo_head_cross(&a, &b, &x);
    assert_true(x.known && !x.older && x.differ);
    memcpy(p.hash, a.hash, 32);
    mm_repo_head_cross(&a, &b, &x);
    assert_true(x.known && !x.older && !x.differ);
    p.seq = 4; /* b saw an older head of a: a moved on since */
    mm_repo_head_cross(&a, &b, &x);
    assert_true(x.known && !x.older && !x.differ);
}

/* ---- on a repository folder ---------------------------------------------------------------- */

struct fx {
    char dir[PATHCAP], repo[PATHCAP], host[PATHCAP];
    mm_repo *r;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct mm_repo_init_opts o = { 0 };
    const char *t = getenv("TMPDIR");

    assert_non_null(f);
    fmt(f->dir, sizeof(f->dir), "%s/mamori-test-head-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    fmt(f->repo, sizeof(f->repo), "%s/r", f->dir);
    fmt(f->host, sizeof(f->host), "%s/host", f->dir);
    o.kdf = &kdf_min;
    assert_int_equal(mm_repo_init(f->repo, "admin", PASS, strlen(PASS), &o), 0);
    assert_int_equal(mm_repo_open(&f->r, f->repo, NULL, PASS, strlen(PASS)), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[PATHCAP + 16];

    mm_repo_free(f->r);
    fmt(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void sh(const char *f, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *f, ...)
{
    char cmd[4 * PATHCAP];
    va_list ap;

    va_start(ap, f);
    vsnprintf(cmd, sizeof(cmd), f, ap);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const char *s)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(s, fp);
    assert_int_equal(fclose(fp), 0);
}

static const char G1[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char G2[] = "2222222222222222222222222222222222222222222222222222222222222222";

/* A generation file the head lists (the head never opens manifests: a host cannot). */
static void fake_gen(struct fx *f, const char *id)
{
    char p[PATHCAP];

    fmt(p, sizeof(p), "%s/generations", f->repo);
    (void)mkdir(p, 0755);
    fmt(p, sizeof(p), "%s/generations/%s", f->repo, id);
    write_file(p, "x");
}

static void disk__no_head_yet_then_two_copies(void **state)
{
    struct fx *f = *state;
    struct mm_repo_head_report rep;
    struct mm_repo_head h;
    struct mm_repo_head_copies c;
    unsigned char pk[MM_CRYPTO_PK_SIZE];
    char p[PATHCAP];

    mm_keyset_public_key(mm_repo_keyset(f->r), pk);
    /* an older repository: no head, which is information, not damage */
    assert_int_equal(mm_repo_head_load(f->repo, pk, &h, &c), MM_ENOTFOUND);
    assert_int_equal(mm_repo_head_check(f->r, f->host, &rep), 0);
    assert_int_equal(rep.has_head, 0);
    assert_int_equal(mm_repo_head_report_bad(&rep), 0);
    mm_repo_head_report_release(&rep);
    fake_gen(f, G1);
    assert_int_equal(mm_repo_head_write(f->r, NULL, NULL), 0);
    assert_int_equal(mm_repo_head_write(f->r, NULL, &h), 0);
    assert_int_equal(h.seq, 2);
    assert_int_equal(h.ngens, 1);
    mm_repo_head_release(&h);
    assert_int_equal(mm_repo_head_load(f->repo, pk, &h, &c), 0);
    assert_int_equal(c.present, 2);
    assert_int_equal(c.damaged, 0);
    mm_repo_head_release(&h);
    /* the first copy damaged: the second is used, the damage is reported */
    fmt(p, sizeof(p), "%s/head", f->repo);
    sh("printf X | dd of='%s' bs=1 seek=30 conv=notrunc 2>/dev/null", p);
    assert_int_equal(mm_repo_head_load(f->repo, pk, &h, &c), 0);
    assert_int_equal(h.seq, 2);
    assert_int_equal(c.damaged, 1);
    mm_repo_head_release(&h);
    /* both damaged: refused, and no writer starts a new chain over it */
    fmt(p, sizeof(p), "%s/head.2", f->repo);
    sh("printf X | dd of='%s' bs=1 seek=30 conv=notrunc 2>/dev/null", p);
    assert_int_not_equal(mm_repo_head_load(f->repo, pk, &h, &c), 0);
    assert_int_equal(mm_repo_head_check(f->r, NULL, &rep), 0);
    assert_int_equal(mm_repo_head_report_bad(&rep), 1);
    mm_repo_head_report_release(&rep);
    assert_int_equal(mm_repo_head_write(f->r, NULL, NULL), MM_ECORRUPT);
}

static void disk__rollback_through_host_copy(void **state)
{
    struct fx *f = *state;
    struct mm_repo_head_write_opts o = { 0 };
    struct mm_repo_head_report rep;
    struct mm_repo_head h;

    o.host_dir = f->host;
    assert_int_equal(mm_repo_head_write(f->r, &o, NULL), 0);
    sh("cp '%s/head' '%s/old' && cp '%s/head.2' '%s/old.2'", f->repo, f->dir, f->repo, f->dir);
    assert_int_equal(mm_repo_head_write(f->r, &o, NULL), 0);
    assert_int_equal(mm_repo_head_check(f->r, f->host, &rep), 0);
    assert_int_equal(mm_repo_head_report_bad(&rep), 0);
    mm_repo_head_report_release(&rep);
    /* the old copy put back */
    sh("cp '%s/old' '%s/head' && cp '%s/old.2' '%s/head.2'", f->dir, f->repo, f->dir, f->repo);
    assert_int_equal(mm_repo_head_check(f->r, f->host, &rep), 0);
    assert_int_equal(rep.rollback, 1);
    assert_int_equal(rep.seq, 1);
    assert_int_equal(rep.host_seq, 2);
    assert_int_equal(mm_repo_head_report_bad(&rep), 1);
    mm_repo_head_report_release(&rep);
    {
        char alert[256];
        assert_int_equal(mm_repo_head_alert_read(f->host, mm_repo_id(f->r), alert, sizeof(alert)),
                         1);
        assert_non_null(strstr(alert, "rollback"));
    }
    /* no writer continues the rolled-back chain unless a person accepts (restart) */
    assert_int_equal(mm_repo_head_write(f->r, &o, NULL), MM_ECORRUPT);
    o.restart = 1;
    assert_int_equal(mm_repo_head_write(f->r, &o, &h), 0);
    assert_int_equal(h.seq, 3);
    mm_repo_head_release(&h);
    assert_int_equal(mm_repo_head_check(f->r, f->host, &rep), 0);
    assert_int_equal(mm_repo_head_report_bad(&rep), 0);
    mm_repo_head_report_release(&rep);
    /* the head deleted altogether: the host copy still knows */
    sh("rm '%s/head' '%s/head.2'", f->repo, f->repo);
    assert_int_equal(mm_repo_head_check(f->r, f->host, &rep), 0);
    assert_int_equal(rep.rollback, 1);
    mm_repo_head_report_release(&rep);
}

static void disk__deleted_generation_stays_listed(void **state)
{
    struct fx *f = *state;
    struct mm_repo_head_write_opts o = { 0 };
    struct mm_repo_head_report rep;
    struct mm_repo_head h;
    unsigned char g1[MM_CRYPTO_ID_SIZE];
    char p[PATHCAP];

    fake_gen(f, G1);
    assert_int_equal(mm_repo_head_write(f->r, NULL, NULL), 0);
    fake_gen(f, G2); /* written after the head: information */
    assert_int_equal(mm_repo_head_check(f->r, NULL, &rep), 0);
    assert_int_equal(rep.nunlisted, 1);
    assert_int_equal(mm_repo_head_report_bad(&rep), 0);
    mm_repo_head_report_release(&rep);
    fmt(p, sizeof(p), "%s/generations/%s", f->repo, G1);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(mm_repo_head_check(f->r, NULL, &rep), 0);
    assert_int_equal(rep.nmissing, 1);
    assert_int_equal(mm_repo_head_report_bad(&rep), 1);
    mm_repo_head_report_release(&rep);
    /* a later writer (a viewer's audit event) keeps it listed: still reported */
    assert_int_equal(mm_repo_head_write(f->r, NULL, &h), 0);
    assert_int_equal(h.ngens, 2);
    mm_repo_head_release(&h);
    assert_int_equal(mm_repo_head_check(f->r, NULL, &rep), 0);
    assert_int_equal(rep.nmissing, 1);
    mm_repo_head_report_release(&rep);
    /* prune says it removed it: dropped */
    assert_int_equal(mm_crypto_hex_parse(G1, g1), 0);
    o.forget = (const unsigned char(*)[MM_CRYPTO_ID_SIZE])g1;
    o.nforget = 1;
    assert_int_equal(mm_repo_head_write(f->r, &o, &h), 0);
    assert_int_equal(h.ngens, 1);
    mm_repo_head_release(&h);
    assert_int_equal(mm_repo_head_check(f->r, NULL, &rep), 0);
    assert_int_equal(mm_repo_head_report_bad(&rep), 0);
    mm_repo_head_report_release(&rep);
    /* prune writes the head before it removes: a crash between leaves G2 present, unlisted */
    assert_int_equal(mm_crypto_hex_parse(G2, g1), 0);
    assert_int_equal(mm_repo_head_write(f->r, &o, &h), 0);
    assert_int_equal(h.ngens, 0);
    mm_repo_head_release(&h);
    assert_int_equal(mm_repo_head_check(f->r, NULL, &rep), 0);
    assert_int_equal(rep.nunlisted, 1);
    assert_int_equal(mm_repo_head_report_bad(&rep), 0);
    mm_repo_head_report_release(&rep);
}

static void disk__audit_log_deleted_or_cut(void **state)
{
    struct fx *f = *state;
    struct mm_repo_head_report rep;
    char p[PATHCAP];

    fmt(p, sizeof(p), "%s/audit", f->repo);
    (void)mkdir(p, 0755);
    fmt(p, sizeof(p), "%s/audit/audit.log", f->repo);
    write_file(p, "0123456789");
    assert_int_equal(mm_repo_head_write(f->r, NULL, NULL), 0);
    assert_int_equal(mm_repo_head_audit_gone(f->r, NULL), 0);
    write_file(p, "01234"); /* cut */
    assert_int_equal(mm_repo_head_check(f->r, NULL, &rep), 0);
    assert_int_equal(rep.audit_truncated, 1);
    assert_int_equal(rep.audit_len, 10);
    assert_int_equal(rep.audit_len_now, 5);
    mm_repo_head_report_release(&rep);
    assert_int_equal(mm_repo_head_write(f->r, NULL, NULL), MM_ECORRUPT);
    assert_int_equal(unlink(p), 0); /* deleted */
    assert_int_equal(mm_repo_head_check(f->r, NULL, &rep), 0);
    assert_int_equal(rep.audit_deleted, 1);
    assert_int_equal(mm_repo_head_report_bad(&rep), 1);
    mm_repo_head_report_release(&rep);
    assert_int_equal(mm_repo_head_audit_gone(f->r, NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(codec__round_trip),
        cmocka_unit_test(codec__every_bit_flip_caught),
        cmocka_unit_test(codec__wrong_key_and_newer_version),
        cmocka_unit_test(codec__writer_certificate),
        cmocka_unit_test(cross__older_and_forked),
        cmocka_unit_test_setup_teardown(disk__no_head_yet_then_two_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(disk__rollback_through_host_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(disk__deleted_generation_stays_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(disk__audit_log_deleted_or_cut, setup, teardown),
    };

    assert_int_equal(mm_crypto_init(), 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
