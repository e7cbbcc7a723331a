/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Write-only host keys (repository format 3), the key harness of issue 16: a format 3
 * repository backs up a generated SS-MIX2 storage with a passphrase, a host is enrolled,
 * and then every 32-byte window of the host's credential file, and every subkey derived
 * from each, is tried against every sealed data key, pack object, pack table, index file,
 * manifest, verify record, dictionary, the config and every key slot (as a passphrase and
 * as a key-encryption key) on the medium: none may open. The person's passphrase then reads
 * everything (verify --read-data clean, restore byte-exact), including a pack, index file
 * and manifest written through a handle opened with the credential alone. The harness
 * proves it can fail: a pack sealed the wrong way (with the object-ID key, which the host
 * holds) must be reported, and so must a real data key slipped into the candidates. The
 * harness also covers a generation written with the credential alone (mm_repo_backup with
 * a host catalog, repo_catalog.c), and one staged in a write-only shadow of the medium and
 * copied to it as `run`'s window does (docs/format.md "Staging"). The audit log: a host handle
 * appends events to the medium's log (signed by its writer key, details sealed to the reader key)
 * and to its own; the person verifies and reads them, the credential's keys open none of the sealed
 * details.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <sodium.h>
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

#include "audit/audit.h"
#include "common/buf.h"
#include "common/endian.h"
#include "common/error.h"
#include "repo/repo.h"
#include "repo/repo_fmt3.h"
#include "repo/repo_format.h"
#include "repo/repo_sync.h"
#include "tools/gen/gen.h"

#define PATHCAP 1024
#define PASS    "a person's passphrase: 合言葉"
#define P(s)    (s), strlen(s)
#define NSUB    8u  /* subkey ids tried per candidate (the repository uses 1 to 6) */
#define PACK_V3 2u  /* "MMPK" version of format 3 packs, and envelope version of its files */
#define HC_KEYS 48u /* offset of the host key block in the credential (docs/format.md) */

#include "tests/unit/test_files.h"
#define HC_DICTS (HC_KEYS + MM_HOSTKEYS_SIZE + 4u) /* where its dictionaries start */

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };

/* ---- helpers --------------------------------------------------------------------------------- */

/* ---- the candidates: every 32-byte window of the credential and its subkeys ---------------- */

struct cands {
    unsigned char (*k)[32];
    unsigned char (*pk)[32]; /* X25519 public key of k taken as a secret key */
    size_t n;
};

static void cands_add(struct cands *c, const unsigned char *k)
{
    memcpy(c->k[c->n], k, 32);
    crypto_scalarmult_base(c->pk[c->n], k);
    c->n++;
}

/*
 * Every 32-byte window of the credential's key material (header, host key block: the first
 * HC_DICTS bytes, at every byte offset) and the NSUB subkeys derived from each; then every
 * aligned 32 bytes of the rest (the compression dictionaries, content rather than keys).
 */
static void cands_from(struct cands *c, const unsigned char *f, size_t n)
{
    size_t keys = n < HC_DICTS ? n : HC_DICTS, cap = keys * (1 + NSUB) + n / 32 + 8;

    c->k = calloc(cap, 32);
    c->pk = calloc(cap, 32);
    c->n = 0;
    assert_non_null(c->k);
    assert_non_null(c->pk);
    for (size_t off = HC_DICTS; off + 32 <= n; off += 32)
        cands_add(c, f + off);
    for (size_t off = 0; off + 32 <= n && off < keys; off++) {
        cands_add(c, f + off);
        for (uint64_t id = 1; id <= NSUB; id++) {
            unsigned char sub[32];
            crypto_kdf_derive_from_key(sub, sizeof(sub), id, "mamori01", f + off);
            cands_add(c, sub);
        }
    }
}

static void cands_free(struct cands *c)
{
    free(c->k);
    free(c->pk);
}

/* ---- trying them ------------------------------------------------------------------------------
 */

/* What the harness looked at, by kind, and how many candidates opened something. */
struct tally {
    size_t sealed_keys, objects, tables, envelopes, slots, opened;
    size_t by_magic[5]; /* MMIX, MMGN, MMVR, MMDC, MMCF */
};

/* How many candidates open the sealed object @s (@n bytes: nonce, ciphertext, tag) with @ad. */
static size_t try_aead(const struct cands *c, const unsigned char *s, size_t n,
                       const unsigned char *ad, size_t adlen)
{
    unsigned char *m;
    size_t opened = 0;

    if (n < MM_CRYPTO_SEAL_OVERHEAD)
        return 0;
    m = malloc(n);
    assert_non_null(m);
    for (size_t i = 0; i < c->n; i++)
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, NULL, NULL, s + 24, n - 24, ad, adlen, s,
                                                       c->k[i]) == 0)
            opened++;
    free(m);
    return opened;
}

/* How many candidates open the 80-byte sealed data key @s (as the reader secret key). */
static size_t try_box(const struct cands *c, const unsigned char *s, const unsigned char *reader_pk)
{
    unsigned char dk[32];
    size_t opened = 0;

    for (size_t i = 0; i < c->n; i++)
        if (crypto_box_seal_open(dk, s, MM_CRYPTO_SEALED_DK_SIZE, c->pk[i], c->k[i]) == 0 ||
            crypto_box_seal_open(dk, s, MM_CRYPTO_SEALED_DK_SIZE, reader_pk, c->k[i]) == 0)
            opened++;
    return opened;
}

/* What the walk over the packs tries each sealed thing with. */
struct walk {
    const struct cands *c;
    const unsigned char *rpk;
    struct tally *t;
};

static void walk_cb(enum mm_repo_sealed_kind kind, const unsigned char *sealed, size_t n,
                    const unsigned char *ad, size_t adlen, void *ctx)
{
    struct walk *w = ctx;

    if (kind == MM_REPO_SEALED_DATAKEY) {
        assert_int_equal(n, MM_CRYPTO_SEALED_DK_SIZE);
        w->t->opened += try_box(w->c, sealed, w->rpk);
        w->t->sealed_keys++;
    } else {
        w->t->opened += try_aead(w->c, sealed, n, ad, adlen);
        if (kind == MM_REPO_SEALED_OBJECT)
            w->t->objects++;
        else
            w->t->tables++;
    }
}

/* Every pack: its sealed data key, every object (located with the person's handle), table. */
static void try_packs(mm_repo *person, const struct cands *c, const unsigned char *rpk,
                      struct tally *t)
{
    struct walk w = { c, rpk, t };
    long packs = mm_repo_fmt3_pack_walk(person, walk_cb, &w);

    if (packs < 0)
        fail_msg("pack walk: %s", mm_error_last());
}

/* Every file of <repo>/@dir as an envelope: version 2 (format 3) or 1 (the config). */
static void try_envelopes(const char *repo, const char *dir, int kind, const struct cands *c,
                          const unsigned char *rpk, struct tally *t)
{
    char d[PATHCAP], path[PATHCAP];
    struct dirent **e = NULL;
    int n;

    pj(d, repo, dir);
    n = scandir(d, &e, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        unsigned char *p;
        if (e[i]->d_name[0] == '.') {
            free(e[i]);
            continue;
        }
        assert_non_null(p = read_all(pj(path, d, e[i]->d_name), &len));
        if (mm_get_le32(p + 4) == PACK_V3) {
            t->opened += try_box(c, p + 8, rpk);
            t->sealed_keys++;
            t->opened += try_aead(c, p + 120, len - 120, p + 88, ID_SIZE);
        } else {
            assert_memory_equal(p, "MMCF", 4); /* only the config stays a version 1 envelope */
            t->opened += try_aead(c, p + 40, len - 40, p + 8, ID_SIZE);
        }
        t->envelopes++;
        t->by_magic[kind]++;
        free(p);
        free(e[i]);
    }
    free(e);
}

/* Every key slot: each candidate as the passphrase, and as the key-encryption key. */
static void try_slots(const char *repo, const struct cands *c, struct tally *t)
{
    char d[PATHCAP], path[PATHCAP];
    struct dirent **e = NULL;
    int n;

    mm_crypto_kdf_cap(MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN);
    n = scandir(pj(d, repo, "keys"), &e, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        unsigned char s[MM_CRYPTO_NONCE_SIZE + 48], *p;
        size_t len = 0;
        if (e[i]->d_name[0] == '.') {
            free(e[i]);
            continue;
        }
        assert_non_null(p = read_all(pj(path, d, e[i]->d_name), &len));
        assert_int_equal(len, MM_KEYSLOT_SIZE);
        for (size_t k = 0; k < c->n; k++) {
            mm_keyset *ks = NULL;
            if (mm_keyslot_open(&ks, p, len, (const char *)c->k[k], 32, NULL, 0) == 0) {
                t->opened++;
                mm_keyset_free(ks);
            }
        }
        memcpy(s, p + 100, MM_CRYPTO_NONCE_SIZE); /* nonce, then ciphertext and tag */
        memcpy(s + MM_CRYPTO_NONCE_SIZE, p + 124, 48);
        t->opened += try_aead(c, s, sizeof(s), p, 124);
        t->slots++;
        free(p);
        free(e[i]);
    }
    free(e);
    mm_crypto_kdf_cap(0, 0);
}

/*
 * Every sealed detail of the medium's audit log (docs/format.md, "Record body"): tag 10
 * (ID | object under subkey 1) and tag 11 (sealed data key | ID | object under the data key),
 * found by walking each record's fields. @return records tried
 */
static size_t try_audit(const char *repo, const struct cands *c, const unsigned char *rpk,
                        struct tally *t)
{
    char base[PATHCAP], path[PATHCAP + 8];
    mm_audit_log *l = NULL;
    unsigned char *f;
    size_t tried = 0, n = 0;

    assert_int_equal(mm_audit_medium_base(repo, base, sizeof(base)), 0);
    snprintf(path, sizeof(path), "%s.log", base);
    assert_non_null(f = read_all(path, &n));
    assert_int_equal(mm_audit_log_parse(&l, f, n, NULL, 0), 0);
    for (size_t i = 0; i < mm_audit_log_count(l); i++) {
        const unsigned char *b = f + mm_audit_log_record(l, i)->offset + 8;
        size_t blen = mm_get_le32(b - 4), off = 0;
        while (off + 6 <= blen) {
            unsigned tag = mm_get_le16(b + off);
            size_t len = mm_get_le32(b + off + 2);
            const unsigned char *d = b + off + 6;
            off += 6 + len;
            if (tag != 10 && tag != 11)
                continue;
            if (tag == 11) {
                t->opened += try_box(c, d, rpk);
                t->sealed_keys++;
                d += MM_CRYPTO_SEALED_DK_SIZE;
                len -= MM_CRYPTO_SEALED_DK_SIZE;
            }
            t->opened += try_aead(c, d + ID_SIZE, len - ID_SIZE, d, ID_SIZE);
            tried++;
        }
    }
    mm_audit_log_free(l);
    free(f);
    return tried;
}

/* The whole medium. @return how many (candidate, sealed thing) pairs opened */
static size_t harness(mm_repo *person, const char *repo, const struct cands *c,
                      const unsigned char *rpk, struct tally *t)
{
    static const char *const dirs[] = { "index", "generations", "verified", "dict" };
    char path[PATHCAP];
    unsigned char *p;
    size_t n = 0;

    memset(t, 0, sizeof(*t));
    try_packs(person, c, rpk, t);
    for (int k = 0; k < 4; k++)
        try_envelopes(repo, dirs[k], k, c, rpk, t);
    assert_non_null(p = read_all(pj(path, repo, "config"), &n));
    t->opened += try_aead(c, p + 40, n - 40, p + 8, ID_SIZE);
    t->by_magic[4]++;
    free(p);
    try_slots(repo, c, t);
    return t->opened;
}

/* ---- the repository ------------------------------------------------------------------------ */

struct world {
    char base[PATHCAP], repo[PATHCAP], std[PATHCAP], cred[PATHCAP], out[PATHCAP];
    char gen[MM_CRYPTO_HEX_SIZE];
};

/* A format 3 repository, a generated storage backed up with the passphrase, and verified. */
static void make_world(struct world *w)
{
    struct mm_repo_init_opts io = { 0 };
    struct gen_opts go = { 0 };
    struct mm_repo_source s = { 0 };
    struct mm_repo_backup_opts bo = { 0 };
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats vs;
    struct mm_repo_counts counts;
    char gen[PATHCAP];
    mm_repo *r = NULL;

    snprintf(w->base, sizeof(w->base), "/tmp/mamori-test-wokeys-XXXXXX");
    assert_non_null(mkdtemp(w->base));
    snprintf(tmpdir, sizeof(tmpdir), "%s", w->base);
    pj(w->repo, w->base, "repo");
    pj(gen, w->base, "gen");
    pj(w->std, gen, "standard");
    pj(w->cred, w->base, "host.cred");
    pj(w->out, w->base, "out");
    go.out = gen;
    go.patients = 40; /* about 500 messages */
    go.days = 120;
    go.seed = 16;
    go.start = 20180;
    go.threads = 2;
    if (gen_create(&go, NULL) != 0)
        fail_msg("generate: %s", mm_error_last());
    io.kdf = &kdf_min;
    io.format = 3;
    io.pack_target = 1024 * 1024;
    assert_int_equal(mm_repo_init(w->repo, "alice", P(PASS), &io), 0);
    assert_int_equal(mm_repo_open(&r, w->repo, "alice", P(PASS)), 0);
    s.path = w->std;
    s.kind = MM_REPO_SOURCE_FOLDER;
    bo.dict_samples = 100; /* a dictionary from the first 100 messages, as dict/ needs one */
    if (mm_repo_backup(r, &s, 1, &bo, w->gen, &counts) != 0)
        fail_msg("backup: %s", mm_error_last());
    vo.read_data = 1;
    assert_int_equal(mm_repo_verify(r, &vo, &vs), 0);
    assert_int_equal(vs.damaged_objects + vs.damaged_packs + vs.damaged_generations, 0);
    assert_int_equal(mm_repo_host_enroll(r, "nightly", 30, w->cred), 0);
    mm_repo_free(r);
}

/*
 * A pack made the wrong way: objects sealed with the object-ID key the host holds (a
 * deliberately broken writer). Written into the repository; its path goes to @path.
 */
static void write_wrong_pack(mm_repo *person, const char *repo, const unsigned char *id_key,
                             const unsigned char *rpk, char path[PATHCAP])
{
    static const char payload[] = "\0sealed with the wrong key";
    struct mm_repo__obj o = { { 0 }, MM_REPO_OBJ_BLOB, 88, 0, sizeof(payload) - 2 };
    unsigned char head[88], tid[32], pid[32], tail[8];
    char hex[MM_CRYPTO_HEX_SIZE], rel[100];
    mm_buf pack, table, tp;
    size_t tstart;

    mm_buf_init(&pack, 1 << 20);
    mm_buf_init(&table, 1 << 20);
    mm_buf_init(&tp, 1 << 20);
    memcpy(head, "MMPK", 4);
    mm_put_le32(head + 4, PACK_V3);
    assert_int_equal(mm_crypto_datakey_seal(rpk, id_key, head + 8), 0);
    assert_int_equal(mm_buf_put(&pack, head, sizeof(head)), 0);
    assert_int_equal(mm_crypto_object_id(mm_repo_keyset(person), payload + 1, o.plain, o.id), 0);
    assert_int_equal(mm_crypto_seal_dk(id_key, o.id, payload, sizeof(payload) - 1, &pack), 0);
    o.length = (uint32_t)(pack.len - 88);
    assert_int_equal(mm_repo__packtab_encode(&o, 1, &table), 0);
    assert_int_equal(mm_crypto_object_id(mm_repo_keyset(person), table.ptr, table.len, tid), 0);
    tstart = pack.len;
    assert_int_equal(mm_buf_put(&pack, tid, sizeof(tid)), 0);
    assert_int_equal(mm_buf_putc(&tp, 0), 0); /* codec byte 0 (raw), then the table */
    assert_int_equal(mm_buf_put(&tp, table.ptr, table.len), 0);
    assert_int_equal(mm_crypto_seal_dk(id_key, tid, tp.ptr, tp.len, &pack), 0);
    mm_put_le32(tail, (uint32_t)(pack.len - tstart));
    memcpy(tail + 4, "MMPK", 4);
    assert_int_equal(mm_buf_put(&pack, tail, 8), 0);
    mm_crypto_hash(pack.ptr, pack.len, pid);
    mm_crypto_hex(pid, hex);
    snprintf(rel, sizeof(rel), "data/%.2s", hex);
    mkdir(pj(path, repo, rel), 0700);
    snprintf(rel, sizeof(rel), "data/%.2s/%s", hex, hex);
    write_file_mode(pj(path, repo, rel), pack.ptr, pack.len, 0600);
    mm_buf_release(&pack);
    mm_buf_release(&table);
    mm_buf_release(&tp);
}

/*
 * The other openers can fail too: a sealed data key opens under its reader secret key when
 * that is a candidate, and a key slot opens when its passphrase is one.
 */
static void controls_open(const char *repo, struct cands *c)
{
    unsigned char pk[32], sk[32], dk[32], sealed[MM_CRYPTO_SEALED_DK_SIZE];
    struct tally t = { 0 };
    mm_repo *r = NULL;

    crypto_box_keypair(pk, sk);
    mm_crypto_datakey_new(dk);
    assert_int_equal(mm_crypto_datakey_seal(pk, dk, sealed), 0);
    c->n = 0;
    assert_int_equal(try_box(c, sealed, pk), 0);
    cands_add(c, sk);
    assert_int_equal(try_box(c, sealed, pk), 1);
    assert_int_equal(mm_repo_open(&r, repo, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_key_add(r, "bob", (const char *)c->k[0], 32, &kdf_min), 0);
    mm_repo_free(r);
    try_slots(repo, c, &t);
    assert_int_equal(t.slots, 4);  /* two slots, each with its second copy (.2) */
    assert_int_equal(t.opened, 2); /* bob's, both copies */
}

/* ---- tests ------------------------------------------------------------------------------------
 */

/*
 * The harness: no key of the credential opens anything on the medium; and it can fail
 * (a wrongly sealed pack, a real data key among the candidates).
 */
/*
 * A staged night of a write-only medium (docs/format.md "Staging"): the host backs up into a
 * write-only shadow (the medium's marker, then only what the host writes) with the credential
 * alone, and the files it wrote are copied to the medium as a window copies them; the shadow's
 * index files and manifests are tried here, its packs once on the medium with the rest.
 */
static void stage_night(struct world *w)
{
    static const char note[] = "a file staged while the medium is offline\n";
    struct mm_repo_source s = { 0 };
    struct mm_repo_backup_opts bo = { 0 };
    struct mm_repo_sync_stats st = { 0 };
    struct cands none = { 0 };
    struct tally t = { 0 };
    char shadow[PATHCAP], path[PATHCAP], catdir[PATHCAP], gen[MM_CRYPTO_HEX_SIZE], **v = NULL;
    unsigned char *cred, rpk[32];
    size_t n = 0, nv = 0, copied = 0;
    mm_repo *h = NULL;

    pj(shadow, w->base, "shadow");
    assert_int_equal(mm_repo_sync_copy(w->repo, shadow, "mamori-repo", &st), 0);
    write_file_mode(pj(path, w->std, "staged-night.txt"), note, strlen(note), 0644);
    assert_int_equal(mm_repo_open_host(&h, shadow, w->cred), 0);
    s.path = w->std;
    s.kind = MM_REPO_SOURCE_FOLDER;
    bo.catalog_dir = pj(catdir, w->base, "catalog");
    assert_int_equal(mm_repo_backup(h, &s, 1, &bo, gen, NULL), 0);
    mm_repo_free(h);
    /* the credential's keys open none of the shadow's envelopes */
    assert_non_null(cred = read_all(w->cred, &n));
    memcpy(rpk, cred + HC_KEYS + 72, 32);
    cands_from(&none, cred, n);
    try_envelopes(shadow, "index", 0, &none, rpk, &t);
    try_envelopes(shadow, "generations", 1, &none, rpk, &t);
    assert_true(t.envelopes >= 2);
    assert_int_equal(t.opened, 0);
    cands_free(&none);
    free(cred);
    /* the window: packs, index files, the manifest, each checked against its name */
    assert_int_equal(mm_repo_sync_list(shadow, 1, &v, &nv), 0);
    for (size_t i = 0; i < nv; i++) {
        assert_int_equal(mm_repo_sync_copy(shadow, w->repo, v[i], &st), 0);
        copied += strncmp(v[i], "data/", 5) == 0;
    }
    assert_true(copied >= 1);
    mm_repo_sync_list_free(v, nv);
}

static void harness__credential_opens_nothing(void **state)
{
    struct world w;
    struct cands c;
    struct tally t;
    unsigned char *cred, rpk[32], dk[32];
    size_t n = 0;
    char path[PATHCAP];
    mm_repo *person = NULL;

    (void)state;
    make_world(&w);
    { /* a night written with the credential alone (host catalog): its files are tried too */
        struct mm_repo_source s = { 0 };
        struct mm_repo_backup_opts bo = { 0 };
        struct mm_repo_catalog_report rep = { 0 };
        char gen[MM_CRYPTO_HEX_SIZE], catdir[PATHCAP];
        mm_repo *h = NULL;
        static const char note[] = "a file the host adds\n";
        write_file_mode(pj(path, w.std, "host-night.txt"), note, strlen(note), 0644);
        assert_int_equal(mm_repo_open_host(&h, w.repo, w.cred), 0);
        s.path = w.std;
        s.kind = MM_REPO_SOURCE_FOLDER;
        bo.catalog_dir = pj(catdir, w.base, "catalog");
        bo.catalog_report = &rep;
        assert_int_equal(mm_repo_backup(h, &s, 1, &bo, gen, NULL), 0);
        assert_int_equal(rep.saved, 1);
        mm_repo_free(h);
    }
    stage_night(&w); /* and a staged night: the shadow's files are tried too */
    assert_non_null(cred = read_all(w.cred, &n));
    memcpy(rpk, cred + HC_KEYS + 72, 32);
    cands_from(&c, cred, n);
    assert_int_equal(mm_repo_open(&person, w.repo, "alice", P(PASS)), 0);
    assert_int_equal(harness(person, w.repo, &c, rpk, &t), 0);
    /* nothing vacuous: every kind of sealed thing was there and tried */
    assert_true(t.sealed_keys >= 5 && t.objects >= 400 && t.tables >= 1 && t.slots == 2);
    for (int k = 0; k < 5; k++)
        if (t.by_magic[k] == 0)
            fail_msg("no envelope of kind %d on the medium", k);
    print_message("# tried %zu keys on %zu sealed data keys, %zu objects, %zu tables, "
                  "%zu envelopes, %zu key slots: none opened\n",
                  c.n, t.sealed_keys, t.objects, t.tables, t.envelopes + 1, t.slots);

    /* a deliberately wrong writer (objects sealed with the object-ID key) is caught */
    write_wrong_pack(person, w.repo, cred + HC_KEYS, rpk, path);
    memset(&t, 0, sizeof(t));
    try_packs(person, &c, rpk, &t);
    assert_true(t.opened > 0);
    assert_int_equal(unlink(path), 0);

    /* a real data key among the candidates opens its pack: the harness's opening works */
    assert_int_equal(mm_repo_fmt3_first_pack_key(person, dk), 0);
    c.n = 0; /* the credential's keys were tried above: now only the real key */
    cands_add(&c, dk);
    memset(&t, 0, sizeof(t));
    try_packs(person, &c, rpk, &t);
    assert_true(t.opened > 0);
    controls_open(w.repo, &c);
    mm_crypto_wipe(dk, sizeof(dk));
    mm_repo_free(person);
    cands_free(&c);
    free(cred);
}

/* The person's passphrase reads everything: verify --read-data clean, restore byte-exact. */
static void person__reads_everything(void **state)
{
    struct world w;
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats vs;
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_restore_stats rs;
    char restored[PATHCAP];
    mm_repo *r = NULL;

    (void)state;
    make_world(&w);
    assert_int_equal(mm_repo_open(&r, w.repo, "alice", P(PASS)), 0);
    vo.read_data = 1;
    assert_int_equal(mm_repo_verify(r, &vo, &vs), 0);
    assert_int_equal(vs.damaged_objects + vs.damaged_packs + vs.damaged_generations +
                             vs.missing_objects + vs.damaged_files,
                     0);
    assert_true(vs.objects >= 400);
    assert_int_equal(mm_repo_restore(r, w.gen, w.out, &ro, &rs), 0);
    assert_int_equal(rs.damaged, 0);
    assert_true(compare_trees(w.std, pj(restored, w.out, "standard")) >= 400);
    mm_repo_free(r);
}

/*
 * A handle opened with the credential alone writes a pack, an index file and a manifest
 * signed by its writer key; it opens nothing; the person reads what it wrote.
 */
static void host__writes_what_the_person_reads(void **state)
{
    static const char text[] = "written at night by a host that cannot read\n";
    struct world w;
    struct mm_repo_gen g;
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats vs;
    char gen[MM_CRYPTO_HEX_SIZE];
    unsigned char dk[32];
    mm_repo *h = NULL, *r = NULL;
    mm_buf got;

    (void)state;
    make_world(&w);
    assert_int_equal(mm_repo_open_host(&h, w.repo, w.cred), 0);
    assert_string_equal(mm_repo_user(h), "nightly");
    assert_int_equal(mm_keyset_is_host(mm_repo_keyset(h)), 1);
    assert_int_equal(mm_repo_fmt3_write_file_gen(h, "hostsrc", "host.txt", P(text), gen), 0);
    /* the host reads nothing: no pack's data key, no manifest, no key slot from its keyset */
    assert_int_equal(mm_repo_fmt3_first_pack_key(h, dk), MM_EINVAL);
    assert_int_not_equal(mm_repo_gen_find(h, gen, &g), 0);
    {
        mm_buf slot;
        mm_buf_init(&slot, 4096);
        assert_int_equal(mm_keyslot_seal(mm_repo_keyset(h), "x", P("y"), &kdf_min, &slot),
                         MM_EINVAL);
        assert_int_equal(mm_crypto_seal(mm_repo_keyset(h), dk, "z", 1, &slot), MM_EINVAL);
        mm_buf_release(&slot);
    }
    mm_repo_free(h);
    /* the person reads it: its manifest verifies (writer certificate), its file is whole */
    assert_int_equal(mm_repo_open(&r, w.repo, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_gen_find(r, gen, &g), 0);
    assert_string_equal(g.user, "nightly");
    mm_buf_init(&got, 1 << 20);
    assert_int_equal(mm_repo_read_file(r, &g, "hostsrc/host.txt", 1 << 20, &got), 0);
    assert_int_equal(got.len, strlen(text));
    assert_memory_equal(got.ptr, text, got.len);
    vo.read_data = 1;
    assert_int_equal(mm_repo_verify(r, &vo, &vs), 0);
    assert_int_equal(vs.generations, 2);
    assert_int_equal(vs.damaged_objects + vs.damaged_packs + vs.damaged_generations, 0);
    mm_buf_release(&got);
    mm_repo_gen_release(&g);
    mm_repo_free(r);
}

/* `mamori audit @args --repo @repo` with the person's passphrase prints @want. */
static void cli_has(const char *repo, const char *args, const char *want)
{
    char cmd[3 * PATHCAP], out[65536];
    size_t n;
    FILE *p;

    assert_int_equal(setenv("MAMORI_PASSPHRASE", PASS, 1), 0); /* holds a quote */
    snprintf(cmd, sizeof(cmd), "'%s/src/cli/mamori' audit %s --repo '%s'", MM_BUILD_ROOT, args,
             repo);
    assert_non_null(p = popen(cmd, "r"));
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    if (!strstr(out, want))
        fail_msg("audit %s: no '%s' in:\n%s", args, want, out);
}

/* Write @n events (a backup, and a patient view with a subject) for @r to its logs. */
static void audit_events(mm_repo *r, const char *repo, const char *host_dir, int n)
{
    struct mm_audit_field fl[1] = { { "result", "ok" } };
    struct mm_audit_event ev[2] = { { 0 } };
    struct mm_audit_write_report rep;

    ev[0].kind = MM_AUDIT_BACKUP;
    ev[0].fields = fl;
    ev[0].nfields = 1;
    ev[1].kind = MM_AUDIT_PATIENT_OPENED;
    ev[1].subject_kind = MM_AUDIT_SUBJECT_PATIENT;
    ev[1].subject = "0000000042";
    for (int i = 0; i < n; i++) {
        (void)mm_audit_repo_write_n(r, repo, host_dir, ev, 2, &rep);
        if (!rep.medium_ok || rep.host_failed || (host_dir && rep.no_host))
            fail_msg("audit: %s / %s", rep.medium_msg, rep.host_msg);
    }
}

/*
 * A host handle records events in the medium's log and its own; the person verifies the
 * medium's log (head signed by the host's writer key) and reads every detail; the host reads
 * none back; the credential's keys open no sealed detail.
 */
static void host__audit_events_the_person_reads(void **state)
{
    struct world w;
    struct mm_audit_verify_result v;
    struct cands c;
    struct tally t = { 0 };
    char hostdir[PATHCAP], base[PATHCAP];
    unsigned char pk[MM_CRYPTO_PK_SIZE], *cred;
    mm_repo *h = NULL, *r = NULL;
    mm_audit_log *l = NULL;
    size_t n = 0;

    (void)state;
    make_world(&w);
    pj(hostdir, w.base, "hostaudit");
    assert_int_equal(mm_repo_open(&r, w.repo, "alice", P(PASS)), 0);
    audit_events(r, w.repo, NULL, 1); /* the person's records: version 1 */
    assert_int_equal(mm_repo_open_host(&h, w.repo, w.cred), 0);
    audit_events(h, w.repo, hostdir, 2);
    mm_repo_free(h);
    /* the person: chain and head verify, every detail opens, the host's records are its own */
    mm_keyset_public_key(mm_repo_keyset(r), pk);
    assert_int_equal(mm_audit_medium_base(w.repo, base, sizeof(base)), 0);
    assert_int_equal(mm_audit_log_load(&l, base), 0);
    assert_int_equal(mm_audit_verify(l, pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.records, 6);
    assert_int_equal(v.writer_records, 4);
    assert_int_equal(v.head_writer, 1);
    assert_string_equal(v.head_signer, "nightly");
    assert_int_equal(mm_audit_log_open_details(l, mm_repo_keyset(r)), 0);
    for (size_t i = 0; i < 6; i++) {
        const struct mm_audit_record *rec = mm_audit_log_record(l, i);
        assert_string_equal(rec->user, i < 2 ? "alice" : "host:nightly");
        if (rec->kind == MM_AUDIT_PATIENT_OPENED)
            assert_string_equal(rec->subject, "0000000042");
        else
            assert_string_equal(rec->fields[0].value, "ok");
    }
    mm_audit_log_free(l);
    /* the host, with its credential, reads nothing back */
    assert_int_equal(mm_repo_open_host(&h, w.repo, w.cred), 0);
    assert_int_equal(mm_audit_log_load(&l, base), 0);
    assert_int_equal(mm_audit_log_open_details(l, mm_repo_keyset(h)), MM_EINVAL);
    mm_audit_log_free(l);
    mm_repo_free(h);
    /* its own log: clear details, verified */
    assert_int_equal(mm_audit_host_base(hostdir, mm_repo_id(r), base, sizeof(base)), 0);
    assert_int_equal(mm_audit_log_load(&l, base), 0);
    assert_int_equal(mm_audit_verify(l, pk, &v), 0);
    assert_int_equal(v.problem, MM_AUDIT_OK);
    assert_int_equal(v.records, 4);
    assert_string_equal(mm_audit_log_record(l, 1)->subject, "0000000042");
    mm_audit_log_free(l);
    /* the command line: verify names the writer, show reads the host's records */
    cli_has(w.repo, "verify --json", "\"head_signer\":\"nightly\"");
    cli_has(w.repo, "verify", "nightly");
    cli_has(w.repo, "show --json", "\"user\":\"host:nightly\"");
    cli_has(w.repo, "show --json --user host:nightly", "0000000042");
    /* the harness: no key of the credential opens a sealed detail or data key */
    assert_non_null(cred = read_all(w.cred, &n));
    cands_from(&c, cred, n);
    assert_int_equal(try_audit(w.repo, &c, cred + HC_KEYS + 72, &t), 6);
    assert_int_equal(t.sealed_keys, 4);
    assert_int_equal(t.opened, 0);
    cands_free(&c);
    free(cred);
    mm_repo_free(r);
}

/* The credential file: refused unless 0600 and the user's own; never overwritten. */
static void credential__owner_mode_and_no_overwrite(void **state)
{
    struct world w;
    mm_repo *h = NULL, *r = NULL;

    (void)state;
    make_world(&w);
    assert_int_equal(chmod(w.cred, 0640), 0); /* others may read it: refused by a safety rule */
    assert_int_equal(mm_repo_open_host(&h, w.repo, w.cred), MM_EREFUSED);
    assert_non_null(strstr(mm_error_last(), "0600"));
    assert_int_equal(chmod(w.cred, 0600), 0);
    if (geteuid() == 0) { /* another owner (root can give it away) */
        assert_int_equal(chown(w.cred, 4242, 4242), 0);
        assert_int_equal(mm_repo_open_host(&h, w.repo, w.cred), MM_EINVAL);
        assert_int_equal(chown(w.cred, 0, 0), 0);
    }
    assert_int_equal(mm_repo_open_host(&h, w.repo, w.cred), 0);
    mm_repo_free(h);
    { /* another repository's credential is refused */
        struct mm_repo_init_opts io = { 0 };
        char other[PATHCAP];
        io.kdf = &kdf_min;
        io.format = 3;
        assert_int_equal(mm_repo_init(pj(other, w.base, "other"), "alice", P(PASS), &io), 0);
        assert_int_equal(mm_repo_open_host(&h, other, w.cred), MM_EINVAL);
        assert_non_null(strstr(mm_error_last(), "another repository"));
    }
    assert_int_equal(mm_repo_open(&r, w.repo, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_host_enroll(r, "second", 30, w.cred), MM_EEXISTS);
    mm_repo_free(r);
    {
        size_t n = 0;
        unsigned char *p = read_all(w.cred, &n);
        assert_non_null(p);
        p[HC_KEYS + 250] ^= 1; /* inside the certificate: the checksum catches it */
        write_file_mode(w.cred, p, n, 0600);
        assert_int_equal(mm_repo_open_host(&h, w.repo, w.cred), MM_ECORRUPT);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(harness__credential_opens_nothing, remove_tmp),
        cmocka_unit_test_teardown(person__reads_everything, remove_tmp),
        cmocka_unit_test_teardown(host__writes_what_the_person_reads, remove_tmp),
        cmocka_unit_test_teardown(host__audit_events_the_person_reads, remove_tmp),
        cmocka_unit_test_teardown(credential__owner_mode_and_no_overwrite, remove_tmp),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
