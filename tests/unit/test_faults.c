/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Injected faults (issue 17.12): backup, prune and restore of a small repository are run
 * again and again, failing the k-th fsync, then the k-th rename (both through -Wl,--wrap,
 * see tests/unit/meson.build: every call of the library reaches the wrappers below), then
 * the k-th allocation (mm_alloc_fail_at). Each run must return an error (never crash, never
 * leak: mm_alloc_track), and afterwards the repository must verify clean with --read-data,
 * every generation stored before must restore byte for byte, and a normal backup must
 * succeed. k runs 1, 2, ... up to 32, then grows by a quarter each time (a run makes about 150
 * allocations; about 45 s in all), until a run no longer reaches the k-th call. The operations
 * run with one worker thread, so the k-th call is the same call on every run. Restore writes no
 * repository file today, so its fsync and rename sweeps end at once (h-restore's rename into
 * place will give them something to fail). MM_TEST_FAULTS_TRACE=1 prints every call.
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
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "repo/repo.h"

#define PATHCAP 1024
#define PASS    "hardening-test-passphrase"
#define P(s)    (s), strlen(s)

#include "tests/unit/test_files.h"

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };
static const struct mm_chunk_params small_chunks = { 4096, 16384, 65536 };

/* ---- the wrapped system calls ---------------------------------------------------------------- */

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to);

static long fsync_at, rename_at; /* 0: never fail */
static long fsyncs, renames;     /* calls since armed */

int __wrap_fsync(int fd)
{
    long k = __atomic_add_fetch(&fsyncs, 1, __ATOMIC_SEQ_CST);

    if (getenv("MM_TEST_FAULTS_TRACE") && (fsync_at || rename_at)) {
        char l[64], t[PATHCAP] = "";
        snprintf(l, sizeof(l), "/proc/self/fd/%d", fd);
        (void)!readlink(l, t, sizeof(t) - 1);
        fprintf(stderr, "fsync %ld %s\n", k, t);
    }
    if (fsync_at && k == fsync_at) {
        errno = EIO;
        return -1;
    }
    return __real_fsync(fd);
}

int __wrap_rename(const char *from, const char *to)
{
    long k = __atomic_add_fetch(&renames, 1, __ATOMIC_SEQ_CST);

    if (getenv("MM_TEST_FAULTS_TRACE") && (fsync_at || rename_at))
        fprintf(stderr, "rename %ld %s\n", k, to);
    if (rename_at && k == rename_at) {
        errno = EIO;
        return -1;
    }
    return __real_rename(from, to);
}

enum fault { FAULT_FSYNC, FAULT_RENAME, FAULT_ALLOC };
enum op { OP_BACKUP, OP_PRUNE, OP_RESTORE };

static const char *const fault_name[] = { "fsync", "rename", "allocation" };
static const char *const op_name[] = { "backup", "prune", "restore" };

/* Fail the @k-th call of @f from now on. */
static void arm(enum fault f, long k)
{
    fsyncs = renames = 0;
    fsync_at = f == FAULT_FSYNC ? k : 0;
    rename_at = f == FAULT_RENAME ? k : 0;
    if (f == FAULT_ALLOC)
        mm_alloc_fail_at(k, 0);
}

/* Stop failing. @return whether the @k-th call of @f was reached (the fault was injected) */
static int disarm(enum fault f, long k)
{
    int fired = f == FAULT_FSYNC    ? fsyncs >= k
                : f == FAULT_RENAME ? renames >= k
                                    : mm_alloc_count() >= k;

    fsync_at = rename_at = 0;
    mm_alloc_fail_at(0, 0);
    return fired;
}

static char where[128]; /* the run being checked, for messages */

/* ---- the repository ----------------------------------------------------------------------------
 */

struct world {
    char src[PATHCAP], base[PATHCAP], repo[PATHCAP], out[PATHCAP];
    char snap[3][PATHCAP];            /* the source as each generation stored it */
    char gens[3][MM_CRYPTO_HEX_SIZE]; /* the base repository's generations */
    unsigned ngens;                   /* 2, or 3 for prune (which removes the first) */
};

static void put(const char *dir, const char *name, const char *text)
{
    char path[PATHCAP];

    write_file_mode(pj(path, dir, name), text, strlen(text), 0640);
}

static void shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void shell(const char *fmt, ...)
{
    char cmd[4 * PATHCAP];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
}

static void backup_ok(mm_repo *r, const struct world *w, char id[MM_CRYPTO_HEX_SIZE])
{
    struct mm_repo_source s = { w->src, MM_REPO_SOURCE_FOLDER };
    struct mm_repo_backup_opts o = { 0 };

    o.threads = 1;
    if (mm_repo_backup(r, &s, 1, &o, id, NULL) != 0)
        fail_msg("a normal backup failed: %s", mm_error_last());
}

/* The base repository: @ngens generations of a small source, each snapshotted. */
static void make_world(struct world *w, unsigned ngens)
{
    struct mm_repo_init_opts io = { 0 };
    mm_repo *r = NULL;
    unsigned char big[160 * 1024];
    char path[PATHCAP];
    uint64_t x = 88172645463325252ull;

    memset(w, 0, sizeof(*w));
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mm-test-faults-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    pj(w->src, tmpdir, "病棟");
    pj(w->base, tmpdir, "base");
    pj(w->repo, tmpdir, "repo");
    pj(w->out, tmpdir, "out");
    for (size_t i = 0; i < sizeof(big); i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        big[i] = (unsigned char)x;
    }
    assert_int_equal(mkdir(w->src, 0755), 0);
    assert_int_equal(mkdir(pj(path, w->src, "検査"), 0755), 0);
    put(w->src, "患者一覧.txt", "一覧\n");
    put(w->src, "検査/a.txt", "first\n");
    put(w->src, "消える.txt", "gone in the second generation\n");
    write_file_mode(pj(path, w->src, "検査/big.bin"), big, sizeof(big), 0640);
    io.kdf = &kdf_min;
    io.chunk = &small_chunks;
    io.pack_target = 1024 * 1024; /* the smallest allowed */
    assert_int_equal(mm_repo_init(w->base, "it-admin", P(PASS), &io), 0);
    assert_int_equal(mm_repo_open(&r, w->base, NULL, P(PASS)), 0);
    w->ngens = ngens;
    for (unsigned g = 0; g < ngens; g++) {
        char name[32];
        backup_ok(r, w, w->gens[g]);
        snprintf(name, sizeof(name), "snap%u", g);
        pj(w->snap[g], tmpdir, name);
        shell("cp -a '%s' '%s'", w->src, w->snap[g]);
        /* the next generation: a file deleted, one changed, one added */
        if (g == 0)
            assert_int_equal(unlink(pj(path, w->src, "消える.txt")), 0);
        big[100 * g + 7] ^= 0x5a;
        write_file_mode(pj(path, w->src, "検査/big.bin"), big, sizeof(big), 0640);
        snprintf(name, sizeof(name), "new%u.txt", g);
        put(w->src, name, "added\n");
    }
    mm_repo_free(r);
}

/* Run @op on the open @r. */
static int run_op(struct world *w, mm_repo *r, enum op op)
{
    struct mm_repo_source s = { w->src, MM_REPO_SOURCE_FOLDER };
    struct mm_repo_backup_opts bo = { 0 };
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_restore_stats rs = { 0 };
    struct mm_repo_prune_stats ps = { 0 };
    struct mm_repo_keep keep = { 0 };
    char id[MM_CRYPTO_HEX_SIZE];

    switch (op) {
    case OP_BACKUP:
        bo.threads = 1;
        return mm_repo_backup(r, &s, 1, &bo, id, NULL);
    case OP_PRUNE:
        keep.last = 2;
        return mm_repo_prune(r, &keep, 0, NULL, NULL, NULL, &ps);
    case OP_RESTORE:
        ro.threads = 1;
        return mm_repo_restore(r, w->gens[w->ngens - 1], w->out, &ro, &rs);
    }
    return -1;
}

/* After a failed run: verify --read-data clean, every kept generation byte for byte, and a
 * normal backup. */
static void check_whole(struct world *w, enum op op)
{
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats vs = { 0 };
    mm_repo *r = NULL;
    char id[MM_CRYPTO_HEX_SIZE];

    assert_int_equal(mm_repo_open(&r, w->repo, NULL, P(PASS)), 0);
    vo.read_data = 1;
    assert_int_equal(mm_repo_verify(r, &vo, &vs), 0);
    if (vs.damaged_generations + vs.damaged_packs + vs.damaged_objects + vs.missing_objects +
                vs.damaged_files !=
        0)
        fail_msg("%s: verify found damage (generations %llu, packs %llu, objects %llu missing "
                 "%llu, files %llu)",
                 where, (unsigned long long)vs.damaged_generations,
                 (unsigned long long)vs.damaged_packs, (unsigned long long)vs.damaged_objects,
                 (unsigned long long)vs.missing_objects, (unsigned long long)vs.damaged_files);
    /* prune may have removed the first generation (its policy); the others must be whole */
    for (unsigned g = op == OP_PRUNE ? 1 : 0; g < w->ngens; g++) {
        struct mm_repo_restore_stats rs = { 0 };
        char to[PATHCAP], name[16];
        snprintf(name, sizeof(name), "check%u", g);
        pj(to, tmpdir, name);
        test_rm_rf(to);
        assert_int_equal(mm_repo_restore(r, w->gens[g], to, NULL, &rs), 0);
        assert_int_equal(rs.damaged, 0);
        {
            char a[PATHCAP], b[PATHCAP];
            size_t n = compare_trees(w->snap[g], pj(a, to, "病棟"));
            assert_true(n >= 3);
            assert_int_equal(n, compare_trees(pj(b, to, "病棟"), w->snap[g]));
        }
        test_rm_rf(to);
    }
    backup_ok(r, w, id);
    mm_repo_free(r);
}

/* One run: a fresh copy of the base, @op with the @k-th call of @f failing.
 * @return whether the fault was injected (0: the run did not get that far and succeeded) */
static int one_run(struct world *w, enum op op, enum fault f, long k)
{
    mm_repo *r = NULL;
    int err, fired;

    snprintf(where, sizeof(where), "%s, %s %ld", op_name[op], fault_name[f], k);
    test_rm_rf(w->repo);
    test_rm_rf(w->out);
    shell("cp -a '%s' '%s'", w->base, w->repo);
    mm_alloc_track(1);
    assert_int_equal(mm_repo_open(&r, w->repo, NULL, P(PASS)), 0);
    arm(f, k);
    err = run_op(w, r, op);
    fired = disarm(f, k);
    mm_repo_free(r);
    if (mm_alloc_live() != 0)
        fail_msg("%s, %s %ld: %ld allocations leaked", op_name[op], fault_name[f], k,
                 mm_alloc_live());
    mm_alloc_track(0);
    /* restore's only fsyncs are best-effort syncs of the target's folder after its final
     * rename (the restored files are a copy, not the repository): a failure there changes
     * nothing of what the run did, so only backup and prune must report it */
    if (fired && err == 0 && !(op == OP_RESTORE && f == FAULT_FSYNC))
        fail_msg("%s, %s %ld failed: the run said nothing", op_name[op], fault_name[f], k);
    if (!fired && err != 0)
        fail_msg("%s, %s %ld (not reached) failed: %s", op_name[op], fault_name[f], k,
                 mm_error_last());
    else if (f != FAULT_ALLOC)
        assert_int_not_equal(err, MM_ENOMEM);
    check_whole(w, op);
    return fired;
}

/* Every k for @op and @f, as the file's comment says. @return the runs */
static long all_k(struct world *w, enum op op, enum fault f)
{
    long k = 1, runs = 0;

    while (one_run(w, op, f, k)) {
        runs++;
        k = k < 32 ? k + 1 : k + k / 4;
    }
    print_message("# %s: %ld runs with the k-th %s failing (last k %ld)\n", op_name[op], runs,
                  fault_name[f], k);
    return runs;
}

static void faults__backup(void **state)
{
    struct world w;

    (void)state;
    make_world(&w, 2);
    assert_true(all_k(&w, OP_BACKUP, FAULT_FSYNC) > 0);
    assert_true(all_k(&w, OP_BACKUP, FAULT_RENAME) > 0);
    assert_true(all_k(&w, OP_BACKUP, FAULT_ALLOC) > 0);
}

static void faults__prune(void **state)
{
    struct world w;

    (void)state;
    make_world(&w, 3);
    assert_true(all_k(&w, OP_PRUNE, FAULT_FSYNC) > 0);
    assert_true(all_k(&w, OP_PRUNE, FAULT_RENAME) > 0);
    assert_true(all_k(&w, OP_PRUNE, FAULT_ALLOC) > 0);
}

static void faults__restore(void **state)
{
    struct world w;

    (void)state;
    make_world(&w, 2);
    /* restore writes no repository file today: fsync and rename may not be reached at all */
    all_k(&w, OP_RESTORE, FAULT_FSYNC);
    all_k(&w, OP_RESTORE, FAULT_RENAME);
    assert_true(all_k(&w, OP_RESTORE, FAULT_ALLOC) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(faults__backup, remove_tmp),
        cmocka_unit_test_teardown(faults__prune, remove_tmp),
        cmocka_unit_test_teardown(faults__restore, remove_tmp),
    };

    if (getenv("MM_TEST_FILTER")) /* e.g. faults__restore */
        cmocka_set_test_filter(getenv("MM_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
