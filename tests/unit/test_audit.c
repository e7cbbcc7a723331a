/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the audit module (audit.h): every event kind written and read back (sealed on a
 * medium, clear on a host), events written without a key chained and covered by the next
 * signed one; tampering in every way — each record edited, removed, swapped with its
 * neighbour, duplicated, every byte of the log and head flipped, the file cut at every
 * length, records forged with another key or inserted without one, a whole log re-signed
 * with another key — each found by verify with the first bad record named by its sequence
 * number; torn last records (a crash, a full disk) reported as such and repaired by the next
 * append; concurrent writers; refusals (other repository, other key, damaged middle, cut
 * below the signed head, unwritable folder); exports; allocation failure at every
 * allocation; no patient ID in any message. Only the public API is used: forged records are
 * made the way an attacker would, by pointing a copy of the log at another key.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"

#define T0      1795327200000000000LL /* 2026-11-22T06:00:00Z */
#define JST     (9 * 3600)
#define SECRET  "PATIENT0001" /* a patient ID: never in a message */
#define PATHCAP 512
#define NREC    9 /* records of the standard test log */

struct fx {
    char dir[PATHCAP];
    char base[PATHCAP];
    char lpath[PATHCAP], hpath[PATHCAP];
    mm_keyset *ks, *ks2;
    unsigned char id[MM_AUDIT_REPO_ID_SIZE];
    unsigned char pk[MM_CRYPTO_PK_SIZE], pk2[MM_CRYPTO_PK_SIZE];
};

/* ---- helpers ------------------------------------------------------------------------------- */

/* snprintf() into a buffer a test knows is large enough. */
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

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    const char *t = getenv("TMPDIR");

    assert_non_null(f);
    fmt(f->dir, sizeof(f->dir), "%s/mamori-test-audit-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    fmt(f->base, sizeof(f->base), "%s/log", f->dir);
    fmt(f->lpath, sizeof(f->lpath), "%s.log", f->base);
    fmt(f->hpath, sizeof(f->hpath), "%s.head", f->base);
    assert_int_equal(mm_keyset_generate(&f->ks), 0);
    assert_int_equal(mm_keyset_generate(&f->ks2), 0);
    mm_keyset_public_key(f->ks, f->pk);
    mm_keyset_public_key(f->ks2, f->pk2);
    for (size_t i = 0; i < sizeof(f->id); i++)
        f->id[i] = (unsigned char)(0xa0 + i);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    mm_keyset_free(f->ks);
    mm_keyset_free(f->ks2);
    free(f);
    return 0;
}

static void readf(const char *path, unsigned char **p, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    long len;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    len = ftell(fp);
    rewind(fp);
    *p = malloc(len ? (size_t)len : 1);
    assert_non_null(*p);
    assert_int_equal(fread(*p, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    *n = (size_t)len;
}

static void writef(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* memmem() without _GNU_SOURCE. */
static unsigned char *find(void *hay, size_t n, const void *needle, size_t k)
{
    unsigned char *h = hay;

    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(h + i, needle, k) == 0)
            return h + i;
    return NULL;
}

/* Append event number @i of @kind with @ks (NULL: without a key) to the log at @base. */
static int add_to(const struct fx *f, const char *base, const mm_keyset *ks, unsigned int kind,
                  int i, enum mm_audit_store store)
{
    char num[16], host[32];
    struct mm_audit_field fl[2];
    struct mm_audit_event ev = { 0 };
    struct mm_audit_target t = { 0 };

    fmt(num, sizeof(num), "%d", i);
    fmt(host, sizeof(host), "host-%02d", i);
    fl[0].key = "n";
    fl[0].value = num;
    fl[1].key = "generation";
    fl[1].value = "0123456789abcdef";
    ev.kind = kind;
    ev.user = ks ? "it-admin" : "someone";
    ev.host = host;
    ev.time_ns = T0 + (int64_t)i * 1000000000;
    ev.utc_offset_s = JST;
    ev.fields = fl;
    ev.nfields = 2;
    if (kind == MM_AUDIT_PATIENT_OPENED || kind == MM_AUDIT_RESTORE) {
        ev.subject_kind = MM_AUDIT_SUBJECT_PATIENT;
        ev.subject = SECRET;
    }
    t.base = base;
    t.repo_id = f->id;
    t.ks = ks;
    t.store = store;
    return mm_audit_append(&t, &ev, NULL);
}

static int add(const struct fx *f, const mm_keyset *ks, unsigned int kind, int i)
{
    return add_to(f, f->base, ks, kind, i, MM_AUDIT_SEALED);
}

/* The standard log: NREC records; 3 and 6 written without a key, the rest signed. */
static void build(const struct fx *f)
{
    for (int i = 1; i <= NREC; i++) {
        int unkeyed = i == 3 || i == 6;
        assert_int_equal(add(f, unkeyed ? NULL : f->ks,
                             unkeyed ? MM_AUDIT_VIEWER_LOGIN_FAILED : MM_AUDIT_BACKUP, i),
                         0);
    }
}

/* Parse and verify bytes; the verdict in @res. @return the parse result */
static int check(const unsigned char *log, size_t n, const unsigned char *head, size_t hn,
                 const unsigned char *pk, struct mm_audit_verify_result *res)
{
    mm_audit_log *l = NULL;
    int err = mm_audit_log_parse(&l, log, n, head, hn);

    memset(res, 0, sizeof(*res));
    if (err < 0)
        return err;
    assert_int_equal(mm_audit_verify(l, pk, res), 0);
    mm_audit_log_free(l);
    return 0;
}

/* Offsets and lengths of the records of a log. */
struct layout {
    size_t off[64], len[64];
    size_t n;
};

static void layout_of(const unsigned char *log, size_t n, struct layout *lo)
{
    mm_audit_log *l = NULL;

    assert_int_equal(mm_audit_log_parse(&l, log, n, NULL, 0), 0);
    lo->n = mm_audit_log_count(l);
    for (size_t i = 0; i < lo->n; i++) {
        lo->off[i] = mm_audit_log_record(l, i)->offset;
        lo->len[i] = mm_audit_log_record(l, i)->length;
    }
    mm_audit_log_free(l);
}

/* A log built from pieces: header, then records of @src in the order @order (1-based). */
static unsigned char *assemble(const unsigned char *src, const struct layout *lo, const int *order,
                               size_t k, size_t *n)
{
    size_t total = MM_AUDIT_HEADER_SIZE, o;
    unsigned char *p;

    for (size_t i = 0; i < k; i++)
        total += lo->len[order[i] - 1];
    p = malloc(total);
    assert_non_null(p);
    memcpy(p, src, MM_AUDIT_HEADER_SIZE);
    o = MM_AUDIT_HEADER_SIZE;
    for (size_t i = 0; i < k; i++) {
        memcpy(p + o, src + lo->off[order[i] - 1], lo->len[order[i] - 1]);
        o += lo->len[order[i] - 1];
    }
    *n = total;
    return p;
}

/* The record a forger without the repository's key makes: the log copied, its header
 * pointed at their own key, one record appended with it (chained properly to the last). */
static unsigned char *forge(const struct fx *f, const unsigned char *log, size_t n,
                            const mm_keyset *forger, size_t *flen)
{
    char base2[PATHCAP], lp2[PATHCAP];
    unsigned char *copy = malloc(n), *all, *rec, pk[MM_CRYPTO_PK_SIZE];
    size_t an;

    assert_non_null(copy);
    memcpy(copy, log, n);
    mm_keyset_public_key(forger, pk);
    memcpy(copy + 24, pk, sizeof(pk));
    fmt(base2, sizeof(base2), "%s/forge", f->dir);
    fmt(lp2, sizeof(lp2), "%s.log", base2);
    writef(lp2, copy, n);
    assert_int_equal(add_to(f, base2, forger, MM_AUDIT_RESTORE, 99, MM_AUDIT_SEALED), 0);
    readf(lp2, &all, &an);
    assert_true(an > n);
    rec = malloc(an - n);
    assert_non_null(rec);
    memcpy(rec, all + n, an - n);
    *flen = an - n;
    free(all);
    free(copy);
    remove(lp2);
    fmt(lp2, sizeof(lp2), "%s.head", base2);
    remove(lp2);
    return rec;
}

/* ---- writing and reading ------------------------------------------------------------------- */

static void append__every_kind_round_trip(void **state)
{
    struct fx *f = *state;
    mm_audit_log *l = NULL;
    struct mm_audit_verify_result v;
    unsigned int k2;

    for (unsigned int k = 1; k <= MM_AUDIT_KIND_MAX; k++) {
        /* the failed login is written the way the viewer will: without a key */
        const mm_keyset *ks =
                k == MM_AUDIT_VIEWER_LOGIN_FAILED || k == MM_AUDIT_UNLOCK_FAILED ? NULL : f->ks;
        assert_int_equal(add(f, ks, k, (int)k), 0);
        assert_non_null(mm_audit_kind_name(k));
        assert_int_equal(mm_audit_kind_parse(mm_audit_kind_name(k), &k2), 0);
        assert_int_equal(k2, k);
    }
    assert_null(mm_audit_kind_name(0));
    assert_null(mm_audit_kind_name(MM_AUDIT_KIND_MAX + 1));
    assert_int_equal(mm_audit_kind_parse("no-such-kind", &k2), MM_ENOTFOUND);
    assert_string_equal(mm_audit_kind_name(MM_AUDIT_GUARD_ACCEPT), "guard-accept");
    assert_string_equal(mm_audit_kind_name(MM_AUDIT_MEDIA_REFUSED), "media-refused");
    assert_string_equal(mm_audit_kind_name(MM_AUDIT_VIEWER_LOGIN), "viewer-login");
    assert_string_equal(mm_audit_kind_name(MM_AUDIT_VIEWER_LOGIN_FAILED), "viewer-login-failed");
    assert_string_equal(mm_audit_kind_name(MM_AUDIT_PATIENT_OPENED), "patient-opened");
    assert_string_equal(mm_audit_kind_name(MM_AUDIT_UNLOCK_FAILED), "unlock-failed");
    assert_string_equal(mm_audit_kind_name(MM_AUDIT_VIEWER_LOGOUT), "viewer-logout");

    assert_int_equal(mm_audit_log_load(&l, f->base), 0);
    assert_int_equal(mm_audit_log_count(l), MM_AUDIT_KIND_MAX);
    assert_memory_equal(mm_audit_log_repo_id(l), f->id, MM_AUDIT_REPO_ID_SIZE);
    assert_memory_equal(mm_audit_log_public_key(l), f->pk, MM_CRYPTO_PK_SIZE);
    /* sealed details do not show without the key, except the keyless record's */
    for (size_t i = 0; i < mm_audit_log_count(l); i++) {
        const struct mm_audit_record *r = mm_audit_log_record(l, i);
        int keyless = r->kind == MM_AUDIT_VIEWER_LOGIN_FAILED || r->kind == MM_AUDIT_UNLOCK_FAILED;
        assert_int_equal(r->opened, keyless);
        assert_int_equal(r->sealed, !keyless);
        assert_int_equal(r->keyed, !keyless);
    }
    assert_int_equal(mm_audit_log_open_details(l, f->ks2), MM_EAUTH);
    assert_null(strstr(mm_error_last(), SECRET));
    assert_int_equal(mm_audit_log_open_details(l, f->ks), 0);
    for (size_t i = 0; i < mm_audit_log_count(l); i++) {
        const struct mm_audit_record *r = mm_audit_log_record(l, i);
        char host[32];
        fmt(host, sizeof(host), "host-%02zu", i + 1);
        assert_int_equal(r->seq, i + 1);
        assert_int_equal(r->kind, i + 1);
        assert_int_equal(r->time_ns, T0 + (int64_t)(i + 1) * 1000000000);
        assert_int_equal(r->utc_offset_s, JST);
        assert_string_equal(r->host, host);
        assert_string_equal(r->user, r->keyed ? "it-admin" : "someone");
        assert_true(r->opened);
        assert_int_equal(r->nfields, 2);
        assert_string_equal(r->fields[0].key, "n");
        assert_string_equal(r->fields[1].value, "0123456789abcdef");
        if (r->kind == MM_AUDIT_PATIENT_OPENED || r->kind == MM_AUDIT_RESTORE) {
            assert_int_equal(r->subject_kind, MM_AUDIT_SUBJECT_PATIENT);
            assert_string_equal(r->subject, SECRET);
        } else {
            assert_null(r->subject);
        }
    }
    assert_int_equal(mm_audit_verify(l, f->pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.records, MM_AUDIT_KIND_MAX);
    assert_int_equal(v.signed_records, MM_AUDIT_KIND_MAX - 2);
    /* the keyless unlock-failed (15) is covered by the signed viewer-logout (16) after it */
    assert_int_equal(v.head_seq, MM_AUDIT_KIND_MAX);
    assert_int_equal(v.unsigned_tail, 0);
    mm_audit_log_free(l);
}

static void append__sealed_log_holds_no_patient_id(void **state)
{
    struct fx *f = *state;
    unsigned char *p;
    size_t n;

    assert_int_equal(add(f, f->ks, MM_AUDIT_PATIENT_OPENED, 1), 0);
    readf(f->lpath, &p, &n);
    assert_null(find(p, n, SECRET, strlen(SECRET)));
    free(p);
    /* the host's log keeps details in the clear (file permissions protect it) */
    assert_int_equal(add_to(f, f->base, f->ks, MM_AUDIT_PATIENT_OPENED, 2, MM_AUDIT_CLEAR), 0);
    readf(f->lpath, &p, &n);
    assert_non_null(find(p, n, SECRET, strlen(SECRET)));
    free(p);
}

/* mm_audit_append_n: one batch, one chain of records in order; a bad event appends none. */
static void append__batch_in_order_all_or_nothing(void **state)
{
    struct fx *f = *state;
    struct mm_audit_field fl[1] = { { "via", "viewer" } };
    struct mm_audit_event ev[6];
    struct mm_audit_target t = { 0 };
    struct mm_audit_append_info info;
    struct mm_audit_verify_result v;
    mm_audit_log *l = NULL;

    memset(ev, 0, sizeof(ev));
    for (int i = 0; i < 6; i++) {
        ev[i].kind = i == 0 ? MM_AUDIT_VIEWER_LOGIN : MM_AUDIT_PATIENT_OPENED;
        ev[i].user = "nurse";
        ev[i].host = "ward-pc";
        ev[i].time_ns = T0 + (int64_t)i * 1000;
        ev[i].utc_offset_s = JST;
        ev[i].fields = fl;
        ev[i].nfields = 1;
        if (i) {
            ev[i].subject_kind = MM_AUDIT_SUBJECT_PATIENT;
            ev[i].subject = SECRET;
        }
    }
    t.base = f->base;
    t.repo_id = f->id;
    t.ks = f->ks;
    t.store = MM_AUDIT_SEALED;
    assert_int_equal(add(f, f->ks, MM_AUDIT_INIT, 1), 0);
    assert_int_equal(mm_audit_append_n(&t, ev, 6, &info), 0);
    assert_int_equal(info.seq, 7);
    /* an event that is not valid: nothing of the batch is written */
    ev[3].kind = 0;
    assert_int_equal(mm_audit_append_n(&t, ev, 6, NULL), MM_EINVAL);
    assert_int_equal(mm_audit_log_load(&l, f->base), 0);
    assert_int_equal(mm_audit_log_count(l), 7);
    assert_int_equal(mm_audit_log_open_details(l, f->ks), 0);
    for (size_t i = 1; i < 7; i++) {
        const struct mm_audit_record *r = mm_audit_log_record(l, i);
        assert_int_equal(r->seq, i + 1);
        assert_int_equal(r->time_ns, T0 + (int64_t)(i - 1) * 1000);
        assert_string_equal(r->user, "nurse");
        assert_true(r->keyed);
    }
    assert_int_equal(mm_audit_verify(l, f->pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.head_seq, 7);
    mm_audit_log_free(l);
}

static void append__clear_store_reads_without_key(void **state)
{
    struct fx *f = *state;
    mm_audit_log *l = NULL;
    struct stat st;

    assert_int_equal(add_to(f, f->base, f->ks, MM_AUDIT_RESTORE, 1, MM_AUDIT_CLEAR), 0);
    assert_int_equal(stat(f->lpath, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(mm_audit_log_load(&l, f->base), 0);
    assert_true(mm_audit_log_record(l, 0)->opened);
    assert_string_equal(mm_audit_log_record(l, 0)->subject, SECRET);
    mm_audit_log_free(l);
}

static void append__keyless_events_covered_by_next_signature(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    unsigned char *p, *h;
    size_t n, hn;
    struct mm_audit_event ev = { 0 };
    struct mm_audit_target t = { 0 };

    unsigned char rid[MM_AUDIT_REPO_ID_SIZE], rpk[MM_CRYPTO_PK_SIZE];

    /* no log yet: a keyless writer cannot create one */
    assert_int_equal(add(f, NULL, MM_AUDIT_VIEWER_LOGIN_FAILED, 1), MM_ENOTFOUND);
    assert_int_equal(access(f->lpath, F_OK), -1);
    assert_int_equal(mm_audit_header_read(f->base, rid, rpk), MM_ENOTFOUND);
    assert_int_equal(add(f, f->ks, MM_AUDIT_INIT, 1), 0);
    /* what a keyless writer learns from the log: its repository and key */
    assert_int_equal(mm_audit_header_read(f->base, rid, rpk), 0);
    assert_memory_equal(rid, f->id, sizeof(rid));
    assert_memory_equal(rpk, f->pk, sizeof(rpk));
    assert_int_equal(add(f, NULL, MM_AUDIT_VIEWER_LOGIN_FAILED, 2), 0);
    assert_int_equal(add(f, NULL, MM_AUDIT_VIEWER_LOGIN_FAILED, 3), 0);
    /* a subject cannot be sealed without the key */
    ev.kind = MM_AUDIT_PATIENT_OPENED;
    ev.subject_kind = MM_AUDIT_SUBJECT_PATIENT;
    ev.subject = SECRET;
    t.base = f->base;
    t.repo_id = f->id;
    t.store = MM_AUDIT_SEALED;
    assert_int_equal(mm_audit_append(&t, &ev, NULL), MM_EINVAL);
    assert_null(strstr(mm_error_last(), SECRET));
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    assert_int_equal(check(p, n, h, hn, f->pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.records, 3);
    assert_int_equal(v.head_seq, 1);
    assert_int_equal(v.unsigned_tail, 2);
    free(p);
    free(h);
    assert_int_equal(add(f, f->ks, MM_AUDIT_VIEWER_LOGIN, 4), 0);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    assert_int_equal(check(p, n, h, hn, f->pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.head_seq, 4);
    assert_int_equal(v.unsigned_tail, 0);
    free(p);
    free(h);
}

static void append__bad_events_refused(void **state)
{
    struct fx *f = *state;
    struct mm_audit_field bad[1] = { { "Bad Key", "v" } };
    struct mm_audit_event ev = { 0 };
    struct mm_audit_target t = { 0 };
    char big[5000];

    t.base = f->base;
    t.repo_id = f->id;
    t.ks = f->ks;
    ev.kind = 0;
    assert_int_equal(mm_audit_append(&t, &ev, NULL), MM_EINVAL);
    ev.kind = MM_AUDIT_BACKUP;
    ev.fields = bad;
    ev.nfields = 1;
    assert_int_equal(mm_audit_append(&t, &ev, NULL), MM_EINVAL);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    bad[0].key = "ok";
    bad[0].value = big;
    assert_int_equal(mm_audit_append(&t, &ev, NULL), MM_EINVAL);
    ev.nfields = 0;
    ev.user = big;
    assert_int_equal(mm_audit_append(&t, &ev, NULL), MM_EINVAL);
    ev.user = NULL;
    ev.subject_kind = MM_AUDIT_SUBJECT_PATIENT; /* without a subject */
    assert_int_equal(mm_audit_append(&t, &ev, NULL), MM_EINVAL);
    ev.subject_kind = MM_AUDIT_SUBJECT_NONE;
    t.base = "";
    assert_int_equal(mm_audit_append(&t, &ev, NULL), MM_EINVAL);
    /* none of these left a record behind */
    t.base = f->base;
    assert_int_equal(mm_audit_append(&t, &ev, NULL), 0);
    {
        mm_audit_log *l = NULL;
        assert_int_equal(mm_audit_log_load(&l, f->base), 0);
        assert_int_equal(mm_audit_log_count(l), 1);
        assert_int_equal(mm_audit_log_record(l, 0)->seq, 1);
        mm_audit_log_free(l);
    }
}

static void append__other_repository_or_key_refused(void **state)
{
    struct fx *f = *state;
    struct mm_audit_event ev = { 0 };
    struct mm_audit_target t = { 0 };
    unsigned char other[MM_AUDIT_REPO_ID_SIZE] = { 1 };

    assert_int_equal(add(f, f->ks, MM_AUDIT_INIT, 1), 0);
    ev.kind = MM_AUDIT_BACKUP;
    t.base = f->base;
    t.repo_id = other;
    t.ks = f->ks;
    assert_int_equal(mm_audit_append(&t, &ev, NULL), MM_ECORRUPT);
    t.repo_id = f->id;
    t.ks = f->ks2;
    assert_int_equal(mm_audit_append(&t, &ev, NULL), MM_ECORRUPT);
}

static void append__unwritable_folder(void **state)
{
    struct fx *f = *state;
    char base[PATHCAP], file[PATHCAP];
    struct mm_audit_event ev = { 0 };
    struct mm_audit_target t = { 0 };

    /* a write-protected medium, as far as a test running as root can make one: the folder
     * of the log cannot be created */
    fmt(file, sizeof(file), "%s/not-a-folder", f->dir);
    writef(file, "x", 1);
    fmt(base, sizeof(base), "%s/audit", file);
    ev.kind = MM_AUDIT_RESTORE;
    t.base = base;
    t.repo_id = f->id;
    t.ks = f->ks;
    assert_int_equal(mm_audit_append(&t, &ev, NULL), MM_EIO);
}

/* ---- tampering ----------------------------------------------------------------------------- */

static void verify__clean_log(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    unsigned char *p, *h;
    size_t n, hn;

    build(f);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    assert_int_equal(check(p, n, h, hn, f->pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.records, NREC);
    assert_int_equal(v.signed_records, NREC - 2);
    assert_int_equal(v.head_seq, NREC);
    assert_int_equal(v.last_seq, NREC);
    /* the log's own key (an export) */
    assert_int_equal(check(p, n, h, hn, NULL, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    /* another repository's key */
    assert_int_equal(check(p, n, h, hn, f->pk2, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_WRONG_KEY);
    assert_int_equal(v.bad_seq, 0);
    free(p);
    free(h);
}

/* Change one byte of the host name inside record @k: an edit of the record's content. */
static void edit_host(unsigned char *p, size_t n, int k)
{
    char host[32];
    unsigned char *q;

    fmt(host, sizeof(host), "host-%02d", k);
    q = find(p, n, host, strlen(host));
    assert_non_null(q);
    q[5] = 'X';
}

static void verify__edited_record_named(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    unsigned char *p, *h;
    size_t n, hn;

    build(f);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    for (int k = 1; k <= NREC; k++) {
        unsigned char *c = malloc(n);
        assert_non_null(c);
        memcpy(c, p, n);
        edit_host(c, n, k);
        assert_int_equal(check(c, n, h, hn, f->pk, &v), 0);
        assert_int_equal(v.problem, MM_AUDIT_EDITED);
        assert_int_equal(v.bad_seq, (uint64_t)k);
        free(c);
    }
    free(p);
    free(h);
}

static void verify__every_byte_flip_found(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    struct layout lo;
    unsigned char *p, *h;
    size_t n, hn;

    build(f);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    layout_of(p, n, &lo);
    assert_int_equal(lo.n, NREC);
    for (size_t i = 0; i < n; i++) {
        uint64_t want = 0;
        int err;
        for (size_t k = 0; k < lo.n; k++)
            if (i >= lo.off[k] && i < lo.off[k] + lo.len[k])
                want = k + 1;
        for (int bit = 0; bit < 8; bit += 3) {
            p[i] ^= (unsigned char)(1u << bit);
            err = check(p, n, h, hn, NULL, &v);
            if (i < 8) { /* magic and version: not an audit log any more */
                assert_int_equal(err, MM_ECORRUPT);
            } else {
                assert_int_equal(err, 0);
                if (v.problem == MM_AUDIT_OK || v.bad_seq != want)
                    fail_msg("byte %zu bit %d (record %llu): %s at %llu", i, bit,
                             (unsigned long long)want, mm_audit_problem_name(v.problem),
                             (unsigned long long)v.bad_seq);
            }
            p[i] ^= (unsigned char)(1u << bit);
        }
    }
    /* the head: every byte */
    for (size_t i = 0; i < hn; i++) {
        h[i] ^= 0x10;
        assert_int_equal(check(p, n, h, hn, NULL, &v), 0);
        assert_int_not_equal(v.problem, MM_AUDIT_OK);
        h[i] ^= 0x10;
    }
    /* and with the repository's key given, a changed key in the header is named as such */
    p[30] ^= 1;
    assert_int_equal(check(p, n, h, hn, f->pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_WRONG_KEY);
    free(p);
    free(h);
}

static void verify__removed_record_named(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    struct layout lo;
    unsigned char *p, *h, *c;
    size_t n, hn, cn;
    int order[NREC];

    build(f);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    layout_of(p, n, &lo);
    for (int k = 1; k <= NREC; k++) {
        size_t m = 0;
        for (int i = 1; i <= NREC; i++)
            if (i != k)
                order[m++] = i;
        c = assemble(p, &lo, order, m, &cn);
        assert_int_equal(check(c, cn, h, hn, f->pk, &v), 0);
        /* the last one removed is a cut tail: the signed head names it */
        assert_int_equal(v.problem, k == NREC ? MM_AUDIT_TRUNCATED : MM_AUDIT_REMOVED);
        assert_int_equal(v.bad_seq, (uint64_t)k);
        free(c);
    }
    /* two in a row */
    {
        int o2[] = { 1, 2, 5, 6, 7, 8, 9 };
        c = assemble(p, &lo, o2, 7, &cn);
        assert_int_equal(check(c, cn, h, hn, f->pk, &v), 0);
        assert_int_equal(v.problem, MM_AUDIT_REMOVED);
        assert_int_equal(v.bad_seq, 3);
        assert_int_equal(v.found_seq, 5);
        free(c);
    }
    free(p);
    free(h);
}

static void verify__reordered_records_named(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    struct layout lo;
    unsigned char *p, *h, *c;
    size_t n, hn, cn;
    int order[NREC];

    build(f);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    layout_of(p, n, &lo);
    /* every neighbouring pair swapped */
    for (int k = 1; k < NREC; k++) {
        for (int i = 0; i < NREC; i++)
            order[i] = i + 1;
        order[k - 1] = k + 1;
        order[k] = k;
        c = assemble(p, &lo, order, NREC, &cn);
        assert_int_equal(check(c, cn, h, hn, f->pk, &v), 0);
        assert_int_equal(v.problem, MM_AUDIT_REORDERED);
        assert_int_equal(v.bad_seq, (uint64_t)k);
        assert_int_equal(v.found_seq, (uint64_t)k + 1);
        free(c);
    }
    /* every record moved to the end */
    for (int k = 1; k < NREC; k++) {
        size_t m = 0;
        for (int i = 1; i <= NREC; i++)
            if (i != k)
                order[m++] = i;
        order[m++] = k;
        c = assemble(p, &lo, order, m, &cn);
        assert_int_equal(check(c, cn, h, hn, f->pk, &v), 0);
        assert_int_equal(v.problem, MM_AUDIT_REORDERED);
        assert_int_equal(v.bad_seq, (uint64_t)k);
        free(c);
    }
    free(p);
    free(h);
}

static void verify__inserted_record_named(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    struct layout lo;
    unsigned char *p, *h, *c;
    size_t n, hn, cn;
    int order[NREC + 1];

    build(f);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    layout_of(p, n, &lo);
    /* a copy of an earlier record (j) put after record k */
    for (int k = 2; k < NREC; k++) {
        for (int j = 1; j <= k; j++) {
            size_t m = 0;
            for (int i = 1; i <= NREC; i++) {
                order[m++] = i;
                if (i == k)
                    order[m++] = j;
            }
            c = assemble(p, &lo, order, m, &cn);
            assert_int_equal(check(c, cn, h, hn, f->pk, &v), 0);
            assert_int_equal(v.problem, MM_AUDIT_INSERTED);
            /* a copy of the record just before takes its number: that number is named */
            assert_int_equal(v.bad_seq, (uint64_t)(j == k && (k != 3 && k != 6) ? k : k + 1));
            free(c);
        }
    }
    free(p);
    free(h);
}

static void verify__forged_records_found(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    struct layout lo;
    unsigned char *p, *h, *c, *rec;
    size_t n, hn, cn, rn;

    build(f);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    layout_of(p, n, &lo);

    /* appended at the end with another key, chained properly: a bad signature */
    rec = forge(f, p, n, f->ks2, &rn);
    c = malloc(n + rn);
    assert_non_null(c);
    memcpy(c, p, n);
    memcpy(c + n, rec, rn);
    assert_int_equal(check(c, n + rn, h, hn, f->pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_BAD_SIGNATURE);
    assert_int_equal(v.bad_seq, NREC + 1);
    assert_int_equal(check(c, n + rn, h, hn, NULL, &v), 0); /* also with the log's own key */
    assert_int_equal(v.problem, MM_AUDIT_BAD_SIGNATURE);
    free(c);
    free(rec);

    /* forged after each record k and inserted there (the real k+1 follows) */
    for (int k = 1; k < NREC; k++) {
        size_t cut = lo.off[k - 1] + lo.len[k - 1];
        rec = forge(f, p, cut, f->ks2, &rn);
        c = malloc(n + rn);
        assert_non_null(c);
        memcpy(c, p, cut);
        memcpy(c + cut, rec, rn);
        memcpy(c + cut + rn, p + cut, n - cut);
        assert_int_equal(check(c, n + rn, h, hn, f->pk, &v), 0);
        assert_int_equal(v.problem, MM_AUDIT_INSERTED);
        assert_int_equal(v.bad_seq, (uint64_t)k + 1);
        free(c);
        /* or put in place of record k+1 */
        cut = lo.off[k - 1] + lo.len[k - 1];
        c = malloc(n + rn);
        assert_non_null(c);
        memcpy(c, p, cut);
        memcpy(c + cut, rec, rn);
        memcpy(c + cut + rn, p + lo.off[k], n - lo.off[k]);
        cn = cut + rn + (n - lo.off[k]);
        assert_int_equal(check(c, cn, h, hn, f->pk, &v), 0);
        assert_int_not_equal(v.problem, MM_AUDIT_OK);
        assert_int_equal(v.bad_seq, (uint64_t)k + 1);
        free(c);
        free(rec);
    }

    /* forged without any key after the last record, then the log cut back so that the
     * forged record is the tail: it is unsigned, so it is reported as not covered, and the
     * head (record NREC) still stands */
    {
        char lp2[PATHCAP];
        struct mm_audit_target t = { 0 };
        struct mm_audit_event ev = { 0 };
        unsigned char *q;
        size_t qn;
        fmt(lp2, sizeof(lp2), "%s/copy.log", f->dir);
        writef(lp2, p, n);
        fmt(lp2, sizeof(lp2), "%s/copy", f->dir);
        t.base = lp2;
        t.repo_id = f->id;
        ev.kind = MM_AUDIT_VIEWER_LOGIN_FAILED;
        assert_int_equal(mm_audit_append(&t, &ev, NULL), 0);
        fmt(lp2, sizeof(lp2), "%s/copy.log", f->dir);
        readf(lp2, &q, &qn);
        assert_int_equal(check(q, qn, h, hn, f->pk, &v), 0);
        assert_int_equal(v.problem, MM_AUDIT_OK);
        assert_int_equal(v.unsigned_tail, 1);
        free(q);
    }

    /* a whole log rewritten and signed with another key: only the fingerprint shows it */
    {
        char fp1[MM_AUDIT_FINGERPRINT_SIZE], fp2[MM_AUDIT_FINGERPRINT_SIZE];
        char b2[PATHCAP], lp2[PATHCAP], hp2[PATHCAP];
        unsigned char *q, *qh;
        size_t qn, qhn;
        fmt(b2, sizeof(b2), "%s/other", f->dir);
        for (int i = 1; i <= 3; i++)
            assert_int_equal(add_to(f, b2, f->ks2, MM_AUDIT_BACKUP, i, MM_AUDIT_SEALED), 0);
        fmt(lp2, sizeof(lp2), "%s.log", b2);
        fmt(hp2, sizeof(hp2), "%s.head", b2);
        readf(lp2, &q, &qn);
        readf(hp2, &qh, &qhn);
        assert_int_equal(check(q, qn, qh, qhn, NULL, &v), 0);
        assert_int_equal(v.problem, MM_AUDIT_OK);
        assert_int_equal(check(q, qn, qh, qhn, f->pk, &v), 0);
        assert_int_equal(v.problem, MM_AUDIT_WRONG_KEY);
        mm_audit_fingerprint(f->pk, fp1);
        mm_audit_fingerprint(f->pk2, fp2);
        assert_int_equal(strlen(fp1), MM_AUDIT_FINGERPRINT_SIZE - 1);
        assert_string_not_equal(fp1, fp2);
        free(q);
        free(qh);
    }
    free(p);
    free(h);
}

static void verify__truncated_at_every_length(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    struct layout lo;
    unsigned char *p, *h;
    size_t n, hn;

    build(f);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    layout_of(p, n, &lo);
    for (size_t len = MM_AUDIT_HEADER_SIZE; len < n; len++) {
        uint64_t whole = 0;
        for (size_t k = 0; k < lo.n; k++)
            if (lo.off[k] + lo.len[k] <= len)
                whole = k + 1;
        assert_int_equal(check(p, len, h, hn, f->pk, &v), 0);
        assert_int_equal(v.problem, MM_AUDIT_TRUNCATED);
        assert_int_equal(v.bad_seq, whole + 1);
        assert_int_equal(v.found_seq, NREC);
    }
    for (size_t len = 0; len < MM_AUDIT_HEADER_SIZE; len++)
        assert_int_equal(check(p, len, h, hn, f->pk, &v), MM_ECORRUPT);
    /* cut, and the head removed too: the missing head is reported */
    assert_int_equal(check(p, lo.off[4], NULL, 0, f->pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_HEAD_MISSING);
    assert_int_equal(v.bad_seq, 5);
    free(p);
    free(h);
}

/* ---- crashes ------------------------------------------------------------------------------- */

static void append__torn_tail_reported_and_repaired(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    struct mm_audit_append_info info;
    struct layout lo;
    unsigned char *p, *h, *full, *q;
    size_t n, hn, fn, qn;
    char lp2[PATHCAP];

    build(f);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    /* the bytes the next append would write */
    fmt(lp2, sizeof(lp2), "%s/next.log", f->dir);
    writef(lp2, p, n);
    fmt(lp2, sizeof(lp2), "%s/next", f->dir);
    assert_int_equal(add_to(f, lp2, f->ks, MM_AUDIT_VERIFY, 10, MM_AUDIT_SEALED), 0);
    fmt(lp2, sizeof(lp2), "%s/next.log", f->dir);
    readf(lp2, &full, &fn);
    layout_of(full, fn, &lo);
    assert_int_equal(lo.n, NREC + 1);
    /* every prefix of that record, and the whole length filled with zeros (what a power cut
     * after the size but before the data reached the disk looks like) */
    for (size_t m = 1; m <= fn - n; m++) {
        for (int zeros = 0; zeros < 2; zeros++) {
            unsigned char *c;
            if (zeros && m != fn - n)
                continue;
            c = malloc(n + m);
            assert_non_null(c);
            memcpy(c, full, n + m);
            if (zeros)
                memset(c + n, 0, m);
            if (m == fn - n && !zeros) {
                free(c);
                continue; /* the whole record: not torn */
            }
            assert_int_equal(check(c, n + m, h, hn, f->pk, &v), 0);
            assert_int_equal(v.problem, MM_AUDIT_OK);
            assert_int_equal(v.torn_bytes, m);
            assert_int_equal(v.records, NREC);
            if (m % 97 == 1 || zeros) {
                /* the next append cuts it, says so, and carries on */
                writef(f->lpath, c, n + m);
                memset(&info, 0, sizeof(info));
                assert_int_equal(
                        mm_audit_append(
                                &(struct mm_audit_target){ f->base, f->id, f->ks, MM_AUDIT_SEALED },
                                &(struct mm_audit_event){ .kind = MM_AUDIT_VERIFY }, &info),
                        0);
                assert_int_equal(info.repaired, m);
                assert_int_equal(info.seq, NREC + 2);
                readf(f->lpath, &q, &qn);
                {
                    unsigned char *h2;
                    size_t h2n;
                    mm_audit_log *l = NULL;
                    readf(f->hpath, &h2, &h2n);
                    assert_int_equal(check(q, qn, h2, h2n, f->pk, &v), 0);
                    assert_int_equal(v.problem, MM_AUDIT_OK);
                    assert_int_equal(v.torn_bytes, 0);
                    assert_int_equal(v.records, NREC + 2);
                    assert_int_equal(mm_audit_log_parse(&l, q, qn, h2, h2n), 0);
                    assert_int_equal(mm_audit_log_record(l, NREC)->kind, MM_AUDIT_LOG_REPAIRED);
                    mm_audit_log_free(l);
                    free(h2);
                }
                free(q);
                writef(f->lpath, p, n); /* back to the built log and its head */
                writef(f->hpath, h, hn);
            }
            free(c);
        }
    }
    free(full);
    free(p);
    free(h);
}

static void append__refuses_damaged_or_cut_log(void **state)
{
    struct fx *f = *state;
    struct layout lo;
    unsigned char *p, *h, *q;
    size_t n, hn, qn;

    build(f);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    layout_of(p, n, &lo);
    /* damage in the middle: an append reads only the tail, so logging goes on; the damage
     * stays as it was, and verify names it */
    p[lo.off[3] + 2] ^= 0xff;
    writef(f->lpath, p, n);
    assert_int_equal(add(f, f->ks, MM_AUDIT_BACKUP, 20), 0);
    readf(f->lpath, &q, &qn);
    assert_true(qn > n);
    assert_memory_equal(q, p, n);
    {
        struct mm_audit_verify_result v;
        unsigned char *h2;
        size_t h2n;
        readf(f->hpath, &h2, &h2n);
        assert_int_equal(check(q, qn, h2, h2n, f->pk, &v), 0);
        assert_int_equal(v.problem, MM_AUDIT_DAMAGED);
        assert_int_equal(v.bad_seq, 4);
        free(h2);
    }
    free(q);
    p[lo.off[3] + 2] ^= 0xff;
    writef(f->hpath, h, hn);
    /* cut below the signed head, at a record boundary or inside the signed last record */
    writef(f->lpath, p, lo.off[5]);
    assert_int_equal(add(f, f->ks, MM_AUDIT_BACKUP, 20), MM_ECORRUPT);
    assert_int_equal(add(f, NULL, MM_AUDIT_VIEWER_LOGIN_FAILED, 20), MM_ECORRUPT);
    writef(f->lpath, p, n - 5);
    assert_int_equal(add(f, f->ks, MM_AUDIT_BACKUP, 20), MM_ECORRUPT);
    /* a torn header (a crash while the log was created) is rewritten by a keyed writer */
    remove(f->hpath);
    writef(f->lpath, p, 20);
    assert_int_equal(add(f, NULL, MM_AUDIT_VIEWER_LOGIN_FAILED, 20), MM_ENOTFOUND);
    assert_int_equal(add(f, f->ks, MM_AUDIT_INIT, 20), 0);
    free(p);
    free(h);
}

static void append__concurrent_writers_serialized(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    mm_audit_log *l = NULL;
    enum { PROCS = 4, EACH = 25 };
    pid_t pids[PROCS];

    assert_int_equal(add(f, f->ks, MM_AUDIT_INIT, 0), 0);
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            for (int i = 0; i < EACH; i++)
                if (add(f, (i + p) % 5 == 0 ? NULL : f->ks,
                        (i + p) % 5 == 0 ? MM_AUDIT_VIEWER_LOGIN_FAILED : MM_AUDIT_PATIENT_OPENED,
                        p * 100 + i) < 0)
                    _exit(1);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int st;
        assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    assert_int_equal(add(f, f->ks, MM_AUDIT_VERIFY, 999), 0);
    assert_int_equal(mm_audit_log_load(&l, f->base), 0);
    assert_int_equal(mm_audit_verify(l, f->pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.records, PROCS * EACH + 2);
    assert_int_equal(v.head_seq, PROCS * EACH + 2);
    mm_audit_log_free(l);
}

/* ---- exports, bad input, allocation failure ------------------------------------------------ */

static void export__verifies_alone(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    mm_audit_log *l = NULL;
    mm_buf b;
    char path[PATHCAP];

    build(f);
    mm_buf_init(&b, 1u << 24);
    assert_int_equal(mm_audit_export(f->base, &b), 0);
    fmt(path, sizeof(path), "%s/export.mmax", f->dir);
    writef(path, b.ptr, b.len);
    assert_int_equal(mm_audit_log_load_file(&l, path), 0);
    assert_int_equal(mm_audit_verify(l, NULL, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.records, NREC);
    assert_int_equal(v.head_seq, NREC);
    assert_memory_equal(mm_audit_log_public_key(l), f->pk, MM_CRYPTO_PK_SIZE);
    mm_audit_log_free(l);
    /* an edited record inside the export */
    edit_host((unsigned char *)b.ptr, b.len, 4);
    writef(path, b.ptr, b.len);
    assert_int_equal(mm_audit_log_load_file(&l, path), 0);
    assert_int_equal(mm_audit_verify(l, NULL, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_EDITED);
    assert_int_equal(v.bad_seq, 4);
    mm_audit_log_free(l);
    /* a cut export */
    for (size_t len = 0; len < b.len; len += 37) {
        writef(path, b.ptr, len);
        l = NULL;
        if (mm_audit_log_load_file(&l, path) == 0) {
            assert_int_equal(mm_audit_verify(l, NULL, &v), 0);
            assert_int_not_equal(v.problem, MM_AUDIT_OK);
            mm_audit_log_free(l);
        }
    }
    /* a bare .log file with its head beside it */
    assert_int_equal(mm_audit_log_load_file(&l, f->lpath), 0);
    assert_int_equal(mm_audit_verify(l, f->pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    mm_audit_log_free(l);
    assert_int_equal(mm_audit_export("", &b), MM_EINVAL);
    fmt(path, sizeof(path), "%s/none", f->dir);
    assert_int_equal(mm_audit_export(path, &b), MM_ENOTFOUND);
    mm_buf_release(&b);
}

static void parse__bad_input(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    mm_audit_log *l = NULL;
    unsigned char *p, *h, junk[4096];
    size_t n, hn;
    uint64_t rng = 7;

    assert_int_equal(mm_audit_log_parse(&l, NULL, 0, NULL, 0), MM_ECORRUPT);
    assert_int_equal(mm_audit_log_parse(&l, "MMAL", 4, NULL, 0), MM_ECORRUPT);
    assert_null(l);
    build(f);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    p[4] = 2; /* a newer version */
    assert_int_equal(mm_audit_log_parse(&l, p, n, h, hn), MM_ECORRUPT);
    assert_non_null(strstr(mm_error_last(), "format 2"));
    p[4] = 1;
    /* random bytes after the header: never a crash, never OK */
    for (int round = 0; round < 200; round++) {
        size_t jn = (size_t)(round * 19 % sizeof(junk)) + 1;
        unsigned char *c = malloc(MM_AUDIT_HEADER_SIZE + jn);
        for (size_t i = 0; i < jn; i++) {
            rng = rng * 6364136223846793005u + 1442695040888963407u;
            junk[i] = (unsigned char)(rng >> 56);
            if (round % 4 == 0 && i % 50 < 4) /* sprinkle frame magics */
                junk[i] = (unsigned char)"MMAR"[i % 50];
        }
        assert_non_null(c);
        memcpy(c, p, MM_AUDIT_HEADER_SIZE);
        memcpy(c + MM_AUDIT_HEADER_SIZE, junk, jn);
        assert_int_equal(check(c, MM_AUDIT_HEADER_SIZE + jn, h, hn, f->pk, &v), 0);
        assert_int_not_equal(v.problem, MM_AUDIT_OK);
        free(c);
    }
    /* a head of the wrong size */
    assert_int_equal(check(p, n, h, hn - 1, f->pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_BAD_HEAD);
    assert_string_equal(mm_audit_problem_name(MM_AUDIT_BAD_HEAD), "bad-head");
    assert_string_equal(mm_audit_problem_name((enum mm_audit_problem)99), "unknown");
    free(p);
    free(h);
}

static void alloc_failure__parse_open_append(void **state)
{
    struct fx *f = *state;
    struct mm_audit_verify_result v;
    unsigned char *p, *h;
    size_t n, hn;
    long k;
    int rc;

    build(f);
    readf(f->lpath, &p, &n);
    readf(f->hpath, &h, &hn);
    { /* warm up what is allocated once (error message storage, libsodium) */
        mm_audit_log *l = NULL;
        mm_alloc_fail_at(1, 0);
        assert_int_equal(mm_audit_log_parse(&l, p, n, h, hn), MM_ENOMEM);
        mm_alloc_fail_at(0, 0);
        assert_int_equal(mm_audit_log_parse(&l, p, n, h, hn), 0);
        assert_int_equal(mm_audit_log_open_details(l, f->ks), 0);
        assert_int_equal(mm_audit_verify(l, f->pk, &v), 0); /* its first run sets up too */
        mm_audit_log_free(l);
    }
    /* every run frees all it allocated: counted exactly by mm_alloc (glibc's heap statistics
     * count chunks parked in its per-thread cache as in use, so they move with the heap's
     * history, e.g. what the earlier tests left, even when nothing leaks) */
    mm_alloc_track(1);
    for (k = 1;; k++) {
        mm_audit_log *l = NULL;
        mm_alloc_fail_at(k, 0);
        rc = mm_audit_log_parse(&l, p, n, h, hn);
        if (rc == 0)
            rc = mm_audit_log_open_details(l, f->ks);
        mm_alloc_fail_at(0, 0);
        if (rc == 0) {
            assert_int_equal(mm_audit_verify(l, f->pk, &v), 0);
            assert_int_equal(v.problem, MM_AUDIT_OK);
        } else {
            assert_int_equal(rc, MM_ENOMEM);
        }
        mm_audit_log_free(l);
        if (mm_alloc_live() != 0)
            fail_msg("%ld allocations left after failing allocation %ld", mm_alloc_live(), k);
        if (rc == 0)
            break;
        assert_true(k < 1000);
    }
    assert_true(k > 3);
    /* append: a failed allocation writes nothing; the log stays whole */
    for (k = 1;; k++) {
        mm_audit_log *l = NULL;
        mm_alloc_fail_at(k, 0);
        rc = add(f, f->ks, MM_AUDIT_PATIENT_OPENED, 50);
        mm_alloc_fail_at(0, 0);
        assert_int_equal(mm_audit_log_load(&l, f->base), 0);
        assert_int_equal(mm_audit_verify(l, f->pk, &v), 0);
        assert_int_equal(v.problem, MM_AUDIT_OK);
        if (rc == 0) {
            assert_true(v.records >= NREC + 1);
            mm_audit_log_free(l);
            break;
        }
        assert_int_equal(rc, MM_ENOMEM);
        assert_true(v.records >= NREC);
        mm_audit_log_free(l);
        if (mm_alloc_live() != 0)
            fail_msg("append: %ld allocations left after failing allocation %ld", mm_alloc_live(),
                     k);
        assert_true(k < 1000);
    }
    assert_true(k > 2);
    /* load and export */
    for (k = 1;; k++) {
        mm_audit_log *l = NULL;
        mm_buf b;
        mm_buf_init(&b, 1u << 24);
        mm_alloc_fail_at(k, 0);
        rc = mm_audit_log_load(&l, f->base);
        if (rc == 0)
            rc = mm_audit_export(f->base, &b);
        mm_alloc_fail_at(0, 0);
        mm_audit_log_free(l);
        if (rc == 0) {
            assert_true(b.len > n);
            mm_buf_release(&b);
            break;
        }
        assert_int_equal(rc, MM_ENOMEM);
        assert_int_equal(b.len, 0);
        mm_buf_release(&b);
        if (mm_alloc_live() != 0)
            fail_msg("export: %ld allocations left after failing allocation %ld", mm_alloc_live(),
                     k);
        assert_true(k < 1000);
    }
    assert_true(k > 2);
    assert_int_equal(mm_alloc_live(), 0);
    mm_alloc_track(0);
    free(p);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(append__every_kind_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(append__sealed_log_holds_no_patient_id, setup, teardown),
        cmocka_unit_test_setup_teardown(append__batch_in_order_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(append__clear_store_reads_without_key, setup, teardown),
        cmocka_unit_test_setup_teardown(append__keyless_events_covered_by_next_signature, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(append__bad_events_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(append__other_repository_or_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(append__unwritable_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(verify__clean_log, setup, teardown),
        cmocka_unit_test_setup_teardown(verify__edited_record_named, setup, teardown),
        cmocka_unit_test_setup_teardown(verify__every_byte_flip_found, setup, teardown),
        cmocka_unit_test_setup_teardown(verify__removed_record_named, setup, teardown),
        cmocka_unit_test_setup_teardown(verify__reordered_records_named, setup, teardown),
        cmocka_unit_test_setup_teardown(verify__inserted_record_named, setup, teardown),
        cmocka_unit_test_setup_teardown(verify__forged_records_found, setup, teardown),
        cmocka_unit_test_setup_teardown(verify__truncated_at_every_length, setup, teardown),
        cmocka_unit_test_setup_teardown(append__torn_tail_reported_and_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(append__refuses_damaged_or_cut_log, setup, teardown),
        cmocka_unit_test_setup_teardown(append__concurrent_writers_serialized, setup, teardown),
        cmocka_unit_test_setup_teardown(export__verifies_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(parse__bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(alloc_failure__parse_open_append, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
