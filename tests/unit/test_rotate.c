/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key rotation (issue 17.11, repo_rotate.c): a repository of three generations — Japanese
 * names, a file cut into many chunks, a file deleted between generations, a patient index,
 * a symbolic link — is copied into a new repository with a new master key. Every generation of
 * the new one restores byte for byte equal to the old one's, keeps its name and times, has
 * other object IDs, and the old passphrase does not open it. A rotation stopped after the
 * first generation continues where it stopped; a copy written but not recorded (a run killed
 * between the manifest and the state file) is taken, not written twice; a folder holding
 * another repository is refused.
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

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "repo/repo.h"

#define PATHCAP  1024
#define PASS_OLD "hardening-test-passphrase"
#define PASS_NEW "rotation-test-passphrase: 新しい合言葉"
#define P(s)     (s), strlen(s)

#include "tests/unit/test_files.h"

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };
static const struct mm_chunk_params small_chunks = { 4096, 16384, 65536 };

struct world {
    char src[PATHCAP], old[PATHCAP], to[PATHCAP], work[PATHCAP], index[PATHCAP];
    char gens[3][MM_CRYPTO_HEX_SIZE];
    mm_repo *r;
};

static int exists_path(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* @n pseudo-random bytes from @seed (xorshift), malloc'd. */
static unsigned char *noise(size_t n, uint64_t seed)
{
    unsigned char *p = malloc(n);

    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        p[i] = (unsigned char)seed;
    }
    return p;
}

static void put(const char *dir, const char *name, const void *p, size_t n)
{
    char path[PATHCAP];

    write_file_mode(pj(path, dir, name), p, n, 0640);
}

static void backup(struct world *w, const char *name, int with_index, char id[MM_CRYPTO_HEX_SIZE])
{
    struct mm_repo_source s = { w->src, MM_REPO_SOURCE_FOLDER };
    struct mm_repo_backup_opts o = { 0 };

    o.name = name;
    o.threads = 2;
    o.index_file = with_index ? w->index : NULL;
    assert_int_equal(mm_repo_backup(w->r, &s, 1, &o, id, NULL), 0);
}

/* Three generations: the first with a patient index, a file deleted before the second. */
static void make_world(struct world *w)
{
    struct mm_repo_init_opts io = { 0 };
    unsigned char *big = noise(700 * 1024, 7), *ix = noise(40 * 1024, 9);
    char sub[PATHCAP];

    memset(w, 0, sizeof(*w));
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mm-test-rotate-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    pj(w->src, tmpdir, "カルテ");
    pj(w->old, tmpdir, "old");
    pj(w->to, tmpdir, "new");
    pj(w->work, tmpdir, "work");
    pj(w->index, tmpdir, "patients.idx");
    assert_int_equal(mkdir(w->src, 0755), 0);
    assert_int_equal(mkdir(pj(sub, w->src, "検査結果"), 0750), 0);
    put(w->src, "患者一覧.txt", P("山田 太郎\n"));
    put(w->src, "検査結果/大きな画像.bin", big, 700 * 1024); /* many chunks */
    put(w->src, "消える.txt", P("deleted before the second generation\n"));
    assert_int_equal(symlink("患者一覧.txt", pj(sub, w->src, "link")), 0);
    write_file_mode(w->index, ix, 40 * 1024, 0600);
    io.kdf = &kdf_min;
    io.chunk = &small_chunks;
    /* test_rotate_format3: a format 3 repository, copied into a format 3 one */
    io.format = getenv("MM_TEST_REPO_FORMAT")
                        ? (unsigned)strtoul(getenv("MM_TEST_REPO_FORMAT"), NULL, 10)
                        : 0;
    assert_int_equal(mm_repo_init(w->old, "it-admin", P(PASS_OLD), &io), 0);
    assert_int_equal(mm_repo_open(&w->r, w->old, NULL, P(PASS_OLD)), 0);
    backup(w, NULL, 1, w->gens[0]);
    assert_int_equal(unlink(pj(sub, w->src, "消える.txt")), 0);
    big[1000] ^= 0xff;
    put(w->src, "検査結果/大きな画像.bin", big, 700 * 1024);
    backup(w, "二世代目", 0, w->gens[1]);
    put(w->src, "検査結果/追加.txt", P("third\n"));
    backup(w, "third", 0, w->gens[2]);
    free(big);
    free(ix);
}

struct stopper {
    int stop_after; /* stop after this many COPIED events (0: never) */
    int copied, started, finished, resumed;
    size_t skipped;
};

static int stop_cb(const struct mm_repo_rotate_event *ev, void *ctx)
{
    struct stopper *s = ctx;

    assert_non_null(ev->newr);
    if (ev->step == MM_REPO_ROTATE_STARTED) {
        s->started++;
        s->resumed = ev->resumed;
        s->skipped = ev->skipped;
    } else if (ev->step == MM_REPO_ROTATE_FINISHED) {
        s->finished++;
    } else if (++s->copied == s->stop_after) {
        return mm_error_set(MM_EIO, "injected: stopped after %d", s->copied);
    }
    return 0;
}

static unsigned int threads = 2; /* 1 while allocations are failed on purpose */

static int rotate(struct world *w, struct stopper *s, struct mm_repo_rotate_stats *st)
{
    struct mm_repo_rotate_opts o = { 0 };

    o.user = "new-admin";
    o.pass = PASS_NEW;
    o.passlen = strlen(PASS_NEW);
    o.kdf = &kdf_min;
    o.work = w->work;
    o.threads = threads;
    o.event = stop_cb;
    o.ctx = s;
    return mm_repo_rotate(w->r, w->to, &o, NULL, st);
}

/* Restore @id of @r into <tmpdir>/<tag>. */
static void restore(mm_repo *r, const char *id, const char *tag, char out[PATHCAP])
{
    struct mm_repo_restore_stats st = { 0 };

    pj(out, tmpdir, tag);
    assert_int_equal(mm_repo_restore(r, id, out, NULL, &st), 0);
    assert_int_equal(st.damaged, 0);
}

/* The new repository holds a copy of each old generation, equal byte for byte. */
static void check_copy(struct world *w)
{
    struct mm_repo_gen *og = NULL, *ng = NULL;
    size_t on = 0, nn = 0;
    mm_repo *nr = NULL;
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats vs = { 0 };

    assert_int_equal(mm_repo_open(&nr, w->to, NULL, P(PASS_OLD)), MM_EAUTH);
    assert_int_equal(mm_repo_open(&nr, w->to, NULL, P(PASS_NEW)), 0);
    assert_int_equal(mm_repo_generations(w->r, &og, &on), 0);
    assert_int_equal(mm_repo_generations(nr, &ng, &nn), 0);
    assert_int_equal(on, 3);
    assert_int_equal(nn, 3);
    for (size_t i = 0; i < 3; i++) {
        char a[PATHCAP], b[PATHCAP], ta[16], tb[16];
        assert_int_equal(og[i].start_ns, ng[i].start_ns);
        assert_int_equal(og[i].end_ns, ng[i].end_ns);
        assert_true((!og[i].name && !ng[i].name) || strcmp(og[i].name, ng[i].name) == 0);
        assert_string_equal(og[i].sources[0].path, ng[i].sources[0].path);
        assert_string_not_equal(og[i].id, ng[i].id);
        assert_memory_not_equal(og[i].root, ng[i].root, sizeof(og[i].root));
        assert_int_equal(og[i].has_index, ng[i].has_index);
        assert_int_equal(og[i].index_size, ng[i].index_size);
        snprintf(ta, sizeof(ta), "o%zu", i);
        snprintf(tb, sizeof(tb), "n%zu", i);
        restore(w->r, og[i].id, ta, a);
        restore(nr, ng[i].id, tb, b);
        assert_int_equal(compare_trees(a, b), compare_trees(b, a));
        assert_int_equal(compare_trees(a, a), i == 0 ? 3 : i == 1 ? 2 : 3);
    }
    vo.read_data = 1;
    assert_int_equal(mm_repo_verify(nr, &vo, &vs), 0);
    assert_int_equal(vs.generations, 3);
    assert_int_equal(vs.damaged_objects + vs.missing_objects + vs.damaged_files, 0);
    mm_repo_gens_free(og, on);
    mm_repo_gens_free(ng, nn);
    mm_repo_free(nr);
}

static void rotate__three_generations_byte_for_byte(void **state)
{
    struct world w;
    struct stopper s = { 0 };
    struct mm_repo_rotate_stats st = { 0 };
    char path[PATHCAP];

    (void)state;
    make_world(&w);
    assert_int_equal(rotate(&w, &s, &st), 0);
    assert_int_equal(st.total, 3);
    assert_int_equal(st.copied, 3);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(s.started + s.copied + s.finished, 5);
    assert_false(s.resumed);
    assert_true(exists_path(pj(path, w.to, MM_REPO_ROTATE_STATE)));
    assert_false(exists_path(w.work)); /* no plaintext left behind */
    check_copy(&w);
    /* a rerun has nothing to do */
    memset(&s, 0, sizeof(s));
    assert_int_equal(rotate(&w, &s, &st), 0);
    assert_int_equal(st.copied, 0);
    assert_int_equal(st.skipped, 3);
    assert_true(s.resumed);
    mm_repo_free(w.r);
}

static void rotate__stopped_then_resumed(void **state)
{
    struct world w;
    struct stopper s = { .stop_after = 1 };
    struct mm_repo_rotate_stats st = { 0 };
    struct mm_repo_gen *g = NULL;
    size_t n = 0;
    mm_repo *nr = NULL;

    (void)state;
    make_world(&w);
    assert_int_equal(rotate(&w, &s, &st), MM_EIO);
    assert_int_equal(st.copied, 1);
    assert_false(exists_path(w.work));
    assert_int_equal(mm_repo_open(&nr, w.to, NULL, P(PASS_NEW)), 0);
    assert_int_equal(mm_repo_generations(nr, &g, &n), 0);
    assert_int_equal(n, 1); /* the first generation, whole */
    mm_repo_gens_free(g, n);
    mm_repo_free(nr);
    memset(&s, 0, sizeof(s));
    assert_int_equal(rotate(&w, &s, &st), 0);
    assert_true(s.resumed);
    assert_int_equal(s.skipped, 1);
    assert_int_equal(st.copied, 2);
    check_copy(&w);
    mm_repo_free(w.r);
}

static void rotate__unrecorded_copy_is_taken(void **state)
{
    struct world w;
    struct stopper s = { .stop_after = 2 };
    struct mm_repo_rotate_stats st = { 0 };
    char path[PATHCAP];
    unsigned char *p;
    size_t n = 0;

    (void)state;
    make_world(&w);
    assert_int_equal(rotate(&w, &s, &st), MM_EIO);
    /* as if killed after the second copy's manifest, before the state file: drop its line */
    p = read_all(pj(path, w.to, MM_REPO_ROTATE_STATE), &n);
    assert_non_null(p);
    assert_true(n > 130);
    write_file_mode(path, p, n - 130, 0644);
    free(p);
    memset(&s, 0, sizeof(s));
    assert_int_equal(rotate(&w, &s, &st), 0);
    assert_int_equal(s.skipped, 1);
    assert_int_equal(st.copied, 2);
    check_copy(&w); /* three generations, not four */
    mm_repo_free(w.r);
}

static void rotate__refuses_another_repository(void **state)
{
    struct world w;
    struct stopper s = { 0 };
    struct mm_repo_rotate_stats st = { 0 };
    struct mm_repo_init_opts io = { 0 };
    mm_repo *other = NULL;
    char id[MM_CRYPTO_HEX_SIZE];

    (void)state;
    make_world(&w);
    io.kdf = &kdf_min;
    assert_int_equal(mm_repo_init(w.to, "new-admin", P(PASS_NEW), &io), 0);
    assert_int_equal(mm_repo_open(&other, w.to, NULL, P(PASS_NEW)), 0);
    {
        struct mm_repo_source src = { w.src, MM_REPO_SOURCE_FOLDER };
        assert_int_equal(mm_repo_backup(other, &src, 1, NULL, id, NULL), 0);
    }
    mm_repo_free(other);
    assert_int_equal(rotate(&w, &s, &st), MM_EEXISTS);
    assert_int_equal(s.started, 0);
    mm_repo_free(w.r);
}

/* The new repository, if there is one yet, verifies clean. */
static void new_whole(struct world *w)
{
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats vs = { 0 };
    mm_repo *nr = NULL;

    if (mm_repo_open(&nr, w->to, NULL, P(PASS_NEW)) != 0)
        return; /* not made yet (or made without its key slot: refused as not empty later) */
    vo.read_data = 1;
    assert_int_equal(mm_repo_verify(nr, &vo, &vs), 0);
    assert_int_equal(vs.damaged_generations + vs.damaged_packs + vs.damaged_objects +
                             vs.missing_objects + vs.damaged_files,
                     0);
    mm_repo_free(nr);
}

/*
 * The k-th allocation of a rotation fails (k = 1..8, then growing by half), each run
 * continuing the last one's new repository: every run fails cleanly (or copes) and leaks
 * nothing, the new repository stays whole, and the rotation ends with every generation copied.
 */
static void rotate__allocation_failures_then_resumed(void **state)
{
    struct world w;
    long k = 1, runs = 0;

    (void)state;
    make_world(&w);
    mm_repo_free(w.r);
    threads = 1;
    for (;;) {
        struct stopper s = { 0 };
        struct mm_repo_rotate_stats st = { 0 };
        int err, fired;
        mm_alloc_track(1);
        assert_int_equal(mm_repo_open(&w.r, w.old, NULL, P(PASS_OLD)), 0);
        mm_alloc_fail_at(k, 0);
        err = rotate(&w, &s, &st);
        fired = mm_alloc_count() >= k;
        if (getenv("MM_TEST_TRACE"))
            fprintf(stderr, "k=%ld err=%d count=%ld copied=%zu %s\n", k, err, mm_alloc_count(),
                    st.copied, err ? mm_error_last() : "");
        mm_alloc_fail_at(0, 0);
        mm_repo_free(w.r);
        if (mm_alloc_live() != 0)
            fail_msg("allocation %ld: %ld allocations leaked", k, mm_alloc_live());
        mm_alloc_track(0);
        if (!fired)
            assert_int_equal(err, 0);
        /* done: backup reads a parent tree it cannot load, or trains no dictionary, rather
         * than fail, so a failed allocation may cost only time; check_copy judges the result */
        if (err == 0)
            break;
        if (err == MM_EEXISTS)
            fail_msg("allocation %ld: the next run is refused: %s", k, mm_error_last());
        new_whole(&w);
        runs++;
        k = k < 8 ? k + 1 : k + k / 2;
    }
    threads = 2;
    print_message("# %ld rotations stopped by the k-th allocation failing (last k %ld)\n", runs, k);
    assert_true(runs > 8);
    assert_int_equal(mm_repo_open(&w.r, w.old, NULL, P(PASS_OLD)), 0);
    check_copy(&w);
    mm_repo_free(w.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(rotate__three_generations_byte_for_byte, remove_tmp),
        cmocka_unit_test_teardown(rotate__stopped_then_resumed, remove_tmp),
        cmocka_unit_test_teardown(rotate__unrecorded_copy_is_taken, remove_tmp),
        cmocka_unit_test_teardown(rotate__refuses_another_repository, remove_tmp),
        cmocka_unit_test_teardown(rotate__allocation_failures_then_resumed, remove_tmp),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
