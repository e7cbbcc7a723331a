/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host catalog (issue 16): backups written through a handle opened with the host
 * credential alone take their parent, trees and known objects from the catalog in the
 * host's storage. On a generated storage and a format 3 repository made by a person:
 * three nights with mamori-gen advance between store only what is new and the person reads
 * every generation (verify --read-data clean, restore byte-exact of the latest and of an
 * older one) and the catalog keeps no file name of an older generation; a lost or damaged catalog
 * stores everything again; a poisoned one (a pack removed from the medium, a fake pack ID) never
 * gives a generation that points at missing data; person and host backups interleave; the host
 * handle opens nothing.
 */
#define _XOPEN_SOURCE 700 /* nftw */
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
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "repo/repo.h"
#include "repo/repo_sync.h"
#include "tools/gen/gen.h"

#define PATHCAP 1024
#define PASS    "a person's passphrase: 合言葉"
#define P(s)    (s), strlen(s)

#include "tests/unit/test_files.h"

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };

/* @n bytes at @p into @path, owner only */
static void write_file(const char *path, const void *p, size_t n)
{
    write_file_mode(path, p, n, 0600);
}

static size_t count_files(const char *dir)
{
    return compare_trees(dir, dir);
}

struct world {
    char base[PATHCAP], repo[PATHCAP], gen[PATHCAP], std[PATHCAP], cred[PATHCAP], cat[PATHCAP];
    char catfile[2 * PATHCAP];
};

/* A generated storage, a format 3 repository made by a person, a host enrolled. */
static void make_world(struct world *w)
{
    struct mm_repo_init_opts io = { 0 };
    struct gen_opts go = { 0 };
    mm_repo *r = NULL;

    snprintf(w->base, sizeof(w->base), "/tmp/mamori-test-catalog-XXXXXX");
    assert_non_null(mkdtemp(w->base));
    snprintf(tmpdir, sizeof(tmpdir), "%s", w->base);
    pj(w->repo, w->base, "repo");
    pj(w->gen, w->base, "gen");
    pj(w->std, w->gen, "standard");
    pj(w->cred, w->base, "host.cred");
    pj(w->cat, w->base, "state/catalog");
    go.out = w->gen;
    go.patients = 40;
    go.days = 60;
    go.seed = 1616;
    go.start = 20180;
    go.threads = 2;
    if (gen_create(&go, NULL) != 0)
        fail_msg("generate: %s", mm_error_last());
    io.kdf = &kdf_min;
    io.format = 3;
    io.pack_target = 1024 * 1024;
    assert_int_equal(mm_repo_init(w->repo, "alice", P(PASS), &io), 0);
    assert_int_equal(mm_repo_open(&r, w->repo, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_host_enroll(r, "nightly", 30, w->cred), 0);
    snprintf(w->catfile, sizeof(w->catfile), "%s/%s/catalog", w->cat, mm_repo_id(r));
    mm_repo_free(r);
}

static void advance(struct world *w, unsigned days)
{
    struct gen_opts go = { 0 };

    go.out = w->gen;
    go.days = days;
    go.threads = 2;
    if (gen_advance(&go, NULL) != 0)
        fail_msg("advance: %s", mm_error_last());
}

/* NULL, or the answer of a host's record of the medium (a shadow's backup, staging) */
static int (*known_fn)(const char *hex, uint64_t size, void *ctx);

/* One backup of the storage through the credential alone (@catalog NULL: without one). */
static void host_backup(struct world *w, const char *catalog, char id[MM_CRYPTO_HEX_SIZE],
                        struct mm_repo_counts *c, struct mm_repo_catalog_report *rep)
{
    struct mm_repo_source s = { 0 };
    struct mm_repo_backup_opts bo = { 0 };
    struct mm_repo_gen g;
    mm_repo *h = NULL;

    assert_int_equal(mm_repo_open_host(&h, w->repo, w->cred), 0);
    s.path = w->std;
    s.kind = MM_REPO_SOURCE_FOLDER;
    bo.catalog_dir = catalog;
    bo.catalog_report = rep;
    bo.catalog_pack_known = known_fn;
    memset(rep, 0, sizeof(*rep));
    if (mm_repo_backup(h, &s, 1, &bo, id, c) != 0)
        fail_msg("host backup: %s", mm_error_last());
    /* the host opens nothing: not even the generation it has just written */
    assert_int_not_equal(mm_repo_gen_find(h, id, &g), 0);
    mm_repo_free(h);
}

static void person_backup(struct world *w, char id[MM_CRYPTO_HEX_SIZE])
{
    struct mm_repo_source s = { 0 };
    struct mm_repo_backup_opts bo = { 0 };
    mm_repo *r = NULL;

    assert_int_equal(mm_repo_open(&r, w->repo, "alice", P(PASS)), 0);
    s.path = w->std;
    s.kind = MM_REPO_SOURCE_FOLDER;
    if (mm_repo_backup(r, &s, 1, &bo, id, NULL) != 0)
        fail_msg("person backup: %s", mm_error_last());
    mm_repo_free(r);
}

/* Generations verify found damaged (the problem callback's first argument). */
struct damaged {
    char ids[16][MM_CRYPTO_HEX_SIZE];
    size_t n;
};
static void damaged_cb(const char *gen, const char *path, const char *what, void *ctx)
{
    struct damaged *d = ctx;
    if (getenv("SHOWDMG"))
        print_message("damage: %s %s %s\n", gen ? gen : "-", path ? path : "-", what);
    if (gen && d->n < 16)
        snprintf(d->ids[d->n++], MM_CRYPTO_HEX_SIZE, "%s", gen);
}
static int is_damaged(const struct damaged *d, const char *id)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->ids[i], id) == 0)
            return 1;
    return 0;
}

/* verify --read-data by the person. @return the damage count; @d the generations named */
static uint64_t person_verify(struct world *w, uint64_t *gens, struct damaged *d)
{
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats vs;
    mm_repo *r = NULL;

    assert_int_equal(mm_repo_open(&r, w->repo, "alice", P(PASS)), 0);
    vo.read_data = 1;
    vo.problem = damaged_cb;
    vo.ctx = d;
    assert_int_equal(mm_repo_verify(r, &vo, &vs), 0);
    mm_repo_free(r);
    *gens = vs.generations;
    return vs.damaged_objects + vs.damaged_packs + vs.damaged_generations + vs.missing_objects +
           vs.damaged_files;
}

/* Restore @id as the person into <base>/<to> and compare it with the folder @want. */
static void person_restore(struct world *w, const char *id, const char *to, const char *want)
{
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_restore_stats rs;
    char out[PATHCAP], got[PATHCAP];
    mm_repo *r = NULL;

    assert_int_equal(mm_repo_open(&r, w->repo, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_restore(r, id, pj(out, w->base, to), &ro, &rs), 0);
    assert_int_equal(rs.damaged, 0);
    {
        size_t nwant = count_files(want), ngot = count_files(pj(got, out, "standard"));
        assert_true(nwant >= 200);
        assert_int_equal(ngot, nwant);
        assert_int_equal(compare_trees(want, got), nwant);
    }
    mm_repo_free(r);
}

/* Whether the catalog file holds the bytes of @s. */
static int catalog_has(const struct world *w, const char *s)
{
    size_t n = 0, k = strlen(s);
    unsigned char *p = read_all(w->catfile, &n);
    int found = 0;

    assert_non_null(p);
    for (size_t i = 0; i + k <= n && !found; i++)
        found = memcmp(p + i, s, k) == 0;
    free(p);
    return found;
}

static void host__three_nights_from_the_catalog(void **state)
{
    struct world w;
    struct mm_repo_counts c[3];
    struct mm_repo_catalog_report rep;
    struct damaged d = { 0 };
    char id[3][MM_CRYPTO_HEX_SIZE], snap[PATHCAP], cmd[3 * PATHCAP];
    struct mm_repo_gen g;
    struct stat sb;
    uint64_t gens;
    mm_repo *r = NULL;

    (void)state;
    make_world(&w);
    pj(snap, w.base, "night0");
    write_file(pj(cmd, w.std, "gone-after-night-0.txt"), "x\n", 2);
    for (int night = 0; night < 3; night++) {
        if (night > 0)
            advance(&w, 4);
        if (night == 1)
            assert_int_equal(unlink(pj(cmd, w.std, "gone-after-night-0.txt")), 0);
        host_backup(&w, w.cat, id[night], &c[night], &rep);
        /* the catalog keeps the latest generation's trees only: no older file names */
        assert_int_equal(catalog_has(&w, "gone-after-night-0.txt"), night == 0);
        assert_int_equal(rep.used, 1);
        assert_int_equal(rep.lost, night == 0);
        assert_int_equal(rep.dropped_packs, 0);
        assert_int_equal(rep.saved, 1);
        if (night == 0) { /* kept to compare with the restored first night */
            snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", w.std, snap);
            assert_int_equal(system(cmd), 0);
        }
    }
    assert_true(c[0].files >= 200 && c[0].files_unchanged == 0);
    for (int night = 1; night < 3; night++) {
        /* only what is new: most files unchanged (not read), little stored */
        print_message(
                "# night %d: %llu files, %llu unchanged, %llu read, %llu stored (first %llu)\n",
                night, (unsigned long long)c[night].files,
                (unsigned long long)c[night].files_unchanged,
                (unsigned long long)c[night].files_read, (unsigned long long)c[night].bytes_stored,
                (unsigned long long)c[0].bytes_stored);
        assert_true(c[night].files > c[night - 1].files);
        assert_true(c[night].files_unchanged * 2 > c[night].files);
        assert_true(c[night].files_read < c[night].files / 4);
        assert_true(c[night].bytes_stored * 4 < c[0].bytes_stored);
    }
    /* the catalog: in the host's storage, 0700 / 0600 */
    assert_int_equal(stat(w.catfile, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    {
        char dir[2 * PATHCAP];
        snprintf(dir, sizeof(dir), "%s", w.catfile);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(stat(dir, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0700);
    }
    /* the person reads every generation; the host's chain of parents holds */
    assert_int_equal(person_verify(&w, &gens, &d), 0);
    assert_int_equal(gens, 3);
    assert_int_equal(mm_repo_open(&r, w.repo, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_gen_find(r, id[2], &g), 0);
    assert_string_equal(g.user, "nightly");
    assert_string_equal(g.parent, id[1]);
    assert_int_equal(g.counts.files_unchanged, c[2].files_unchanged);
    mm_repo_gen_release(&g);
    assert_int_equal(mm_repo_gen_find(r, id[0], &g), 0);
    assert_string_equal(g.parent, "");
    mm_repo_gen_release(&g);
    mm_repo_free(r);
    person_restore(&w, id[2], "out2", w.std);
    person_restore(&w, id[0], "out0", snap);
}

/* Rewrite the catalog file with @old's 32 bytes (a pack ID) replaced by @new everywhere. */
static void poison(const char *file, const unsigned char *old, const unsigned char *new)
{
    size_t n = 0, hits = 0;
    unsigned char *p = read_all(file, &n);

    assert_non_null(p);
    for (size_t i = 0; i + 32 <= n - 32; i++)
        if (memcmp(p + i, old, 32) == 0) {
            memcpy(p + i, new, 32);
            hits++;
        }
    assert_true(hits >= 1);
    mm_crypto_hash(p, n - 32, p + n - 32); /* a catalog that checks out: only its packs lie */
    write_file(file, p, n);
    free(p);
}

/* The ID and path of a pack under <repo>/data/ that the catalog names. */
static void catalog_pack(const struct world *w, unsigned char id[32], char path[PATHCAP])
{
    char cmd[PATHCAP + 64], line[PATHCAP];
    size_t n = 0;
    unsigned char *cat = read_all(w->catfile, &n);
    FILE *f;
    int found = 0;

    assert_non_null(cat);
    snprintf(cmd, sizeof(cmd), "find '%s/data' -type f | sort", w->repo);
    assert_non_null(f = popen(cmd, "r"));
    while (!found && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        assert_int_equal(mm_crypto_hex_parse(strrchr(line, '/') + 1, id), 0);
        for (size_t i = 0; i + 32 <= n && !found; i++)
            found = memcmp(cat + i, id, 32) == 0;
    }
    pclose(f);
    free(cat);
    assert_true(found);
    snprintf(path, PATHCAP, "%s", line);
}

static void host__lost_and_poisoned_catalog(void **state)
{
    struct world w;
    struct mm_repo_counts c0, c1, c2, c3;
    struct mm_repo_catalog_report rep;
    struct damaged d = { 0 };
    char id0[MM_CRYPTO_HEX_SIZE], id1[MM_CRYPTO_HEX_SIZE], id2[MM_CRYPTO_HEX_SIZE],
            id3[MM_CRYPTO_HEX_SIZE], pack[PATHCAP];
    unsigned char pid[32], fake[32];
    uint64_t gens;

    (void)state;
    make_world(&w);
    host_backup(&w, w.cat, id0, &c0, &rep);
    /* lost: everything is stored again (new packs), the generation is whole */
    assert_int_equal(unlink(w.catfile), 0);
    host_backup(&w, w.cat, id1, &c1, &rep);
    assert_int_equal(rep.lost, 1);
    assert_int_equal(c1.files_unchanged, 0);
    assert_true(c1.bytes_stored * 2 > c0.bytes_stored);
    assert_int_equal(person_verify(&w, &gens, &d), 0);
    assert_int_equal(gens, 2);
    /* poisoned: a pack it names is given a fake ID; the objects it held are stored again */
    catalog_pack(&w, pid, pack);
    memset(fake, 0x5a, sizeof(fake));
    advance(&w, 1);
    poison(w.catfile, pid, fake);
    host_backup(&w, w.cat, id2, &c2, &rep);
    assert_int_equal(rep.lost, 0);
    assert_int_equal(rep.dropped_packs, 1);
    assert_int_equal(person_verify(&w, &gens, &d), 0);
    assert_int_equal(gens, 3);
    /* and a pack removed from the medium (reported by verify): the host drops it and stores
     * its objects again, so the new generation is whole (and the older ones read the new
     * copies: a reader prefers a copy in a pack that is there) */
    catalog_pack(&w, pid, pack);
    assert_int_equal(unlink(pack), 0);
    advance(&w, 1);
    host_backup(&w, w.cat, id3, &c3, &rep);
    assert_int_equal(rep.dropped_packs, 1);
    assert_true(person_verify(&w, &gens, &d) > 0);
    assert_int_equal(gens, 4);
    assert_false(is_damaged(&d, id3));
    {
        struct mm_repo_gen g;
        mm_repo *r = NULL;
        assert_int_equal(mm_repo_open(&r, w.repo, "alice", P(PASS)), 0);
        assert_int_equal(mm_repo_gen_find(r, id3, &g), 0);
        assert_int_equal(g.verify, MM_REPO_VERIFIED);
        mm_repo_gen_release(&g);
        mm_repo_free(r);
    }
    person_restore(&w, id3, "out3", w.std);
    /* damaged (its checksum does not match): as if lost, everything stored again */
    {
        size_t n = 0;
        unsigned char *p = read_all(w.catfile, &n);
        assert_non_null(p);
        p[n / 2] ^= 1;
        write_file(w.catfile, p, n);
        free(p);
    }
    host_backup(&w, w.cat, id3, &c3, &rep);
    assert_int_equal(rep.lost, 1);
    assert_int_equal(c3.files_unchanged, 0);
    assert_true(c3.files_read >= 200);
    person_restore(&w, id3, "out4", w.std);
}

static void host_and_person__interleaved(void **state)
{
    struct world w;
    struct mm_repo_counts c;
    struct mm_repo_catalog_report rep;
    struct damaged d = { 0 };
    char id[MM_CRYPTO_HEX_SIZE];
    uint64_t gens;

    (void)state;
    make_world(&w);
    person_backup(&w, id);
    host_backup(&w, w.cat, id, &c, &rep);
    assert_int_equal(rep.lost, 1); /* the host knows nothing of the person's packs */
    advance(&w, 2);
    person_backup(&w, id);
    advance(&w, 1);
    host_backup(&w, w.cat, id, &c, &rep); /* stale (the person wrote since), not wrong */
    assert_int_equal(rep.lost, 0);
    assert_true(c.files_unchanged > 0);
    host_backup(&w, NULL, id, &c, &rep); /* without a catalog: everything, no parent */
    assert_int_equal(rep.used, 0);
    assert_int_equal(c.files_unchanged, 0);
    person_backup(&w, id);
    assert_int_equal(person_verify(&w, &gens, &d), 0);
    assert_int_equal(gens, 6);
    person_restore(&w, id, "out", w.std);
}

/* A catalog seeded by the person (host enroll --catalog): the first host night is small. */
static void host__first_night_from_a_seeded_catalog(void **state)
{
    struct world w;
    struct mm_repo_counts pc, c;
    struct mm_repo_catalog_report rep;
    struct damaged d = { 0 };
    struct mm_repo_source s = { 0 };
    struct mm_repo_backup_opts bo = { 0 };
    struct mm_repo_gen g;
    char pid[MM_CRYPTO_HEX_SIZE], seeded[MM_CRYPTO_HEX_SIZE], id[MM_CRYPTO_HEX_SIZE];
    uint64_t gens;
    mm_repo *r = NULL, *h = NULL;

    (void)state;
    make_world(&w);
    assert_int_equal(mm_repo_open(&r, w.repo, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_catalog_seed(r, w.cat, seeded), MM_ENOTFOUND); /* nothing yet */
    s.path = w.std;
    s.kind = MM_REPO_SOURCE_FOLDER;
    assert_int_equal(mm_repo_backup(r, &s, 1, &bo, pid, &pc), 0);
    if (mm_repo_catalog_seed(r, w.cat, seeded) != 0)
        fail_msg("seed: %s", mm_error_last());
    assert_string_equal(seeded, pid);
    mm_repo_free(r);
    assert_int_equal(mm_repo_open_host(&h, w.repo, w.cred), 0); /* a host cannot seed */
    assert_int_equal(mm_repo_catalog_seed(h, w.cat, seeded), MM_EINVAL);
    mm_repo_free(h);
    advance(&w, 4);
    host_backup(&w, w.cat, id, &c, &rep);
    assert_int_equal(rep.lost, 0);
    assert_int_equal(rep.dropped_packs, 0);
    assert_true(c.files_unchanged * 2 > c.files);
    assert_true(c.bytes_stored * 4 < pc.bytes_stored);
    assert_int_equal(person_verify(&w, &gens, &d), 0);
    assert_int_equal(gens, 2);
    assert_int_equal(mm_repo_open(&r, w.repo, "alice", P(PASS)), 0);
    assert_int_equal(mm_repo_gen_find(r, id, &g), 0);
    assert_string_equal(g.parent, pid);
    mm_repo_gen_release(&g);
    mm_repo_free(r);
    person_restore(&w, id, "out", w.std);
}

/* The record of the medium in known_pack(): one pack, by ID and size. */
static char known_id[MM_CRYPTO_HEX_SIZE];
static uint64_t known_size;

static int known_pack(const char *hex, uint64_t size, void *ctx)
{
    (void)ctx;
    return strcmp(hex, known_id) == 0 && size == known_size;
}

/*
 * What staging a write-only medium needs of the catalog (docs/format.md "Staging"): its packs
 * listed without a key (mm_repo_catalog_packs: exactly the packs the host wrote, with their
 * sizes), and a pack that is not in the repository folder counting as present only when the
 * host's record of the medium says so with the recorded size (catalog_pack_known); else it is
 * dropped with its objects, as on the medium.
 */
static void host__catalog_packs_and_packs_known_elsewhere(void **state)
{
    struct world w;
    struct mm_repo_counts c;
    struct mm_repo_catalog_report rep;
    struct mm_repo_sync_pack *p = NULL;
    char id[MM_CRYPTO_HEX_SIZE], pack[2 * PATHCAP], away[PATHCAP], empty[PATHCAP];
    unsigned char pid[32];
    size_t n = 0;
    mm_repo *h = NULL;
    struct stat sb;

    (void)state;
    make_world(&w);
    host_backup(&w, w.cat, id, &c, &rep);
    assert_int_equal(mm_repo_open_host(&h, w.repo, w.cred), 0);
    assert_int_equal(mm_repo_catalog_packs(h, w.cat, &p, &n), 0);
    assert_true(n > 1);
    {
        char data[PATHCAP];
        pj(data, w.repo, "data");
        assert_int_equal(n, count_files(data)); /* every pack the host wrote, no other */
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(pack, sizeof(pack), "%s/data/%.2s/%s", w.repo, p[i].id, p[i].id);
        assert_int_equal(stat(pack, &sb), 0);
        assert_int_equal((uint64_t)sb.st_size, p[i].size);
    }
    free(p);
    pj(empty, w.base, "no-catalog");
    assert_int_equal(mm_repo_catalog_packs(h, empty, &p, &n), MM_ENOTFOUND);
    mm_repo_free(h);

    /* a pack moved away: known elsewhere with its size, it counts; another size, dropped */
    catalog_pack(&w, pid, pack);
    mm_crypto_hex(pid, known_id);
    assert_int_equal(stat(pack, &sb), 0);
    pj(away, w.base, "away.pack");
    assert_int_equal(rename(pack, away), 0);
    known_fn = known_pack;
    known_size = (uint64_t)sb.st_size;
    advance(&w, 1);
    host_backup(&w, w.cat, id, &c, &rep);
    assert_int_equal(rep.dropped_packs, 0);
    known_size = (uint64_t)sb.st_size + 1;
    host_backup(&w, w.cat, id, &c, &rep);
    assert_int_equal(rep.dropped_packs, 1);
    known_fn = NULL;
    assert_int_equal(rename(away, pack), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(host__three_nights_from_the_catalog, remove_tmp),
        cmocka_unit_test_teardown(host__lost_and_poisoned_catalog, remove_tmp),
        cmocka_unit_test_teardown(host_and_person__interleaved, remove_tmp),
        cmocka_unit_test_teardown(host__first_night_from_a_seeded_catalog, remove_tmp),
        cmocka_unit_test_teardown(host__catalog_packs_and_packs_known_elsewhere, remove_tmp),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
