/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of files rewritten while a backup reads them (issue 17.3): a hook the backup calls
 * after each read of a file (mm_backup_opts.after_read, for tests only) rewrites it between
 * the reads, so the race is deterministic. A file that changed once is read again and stored
 * whole (counted as re-read, exit 0); a file that changes at every read is stored as last
 * read, marked unstable in the manifest (tag 18) and its tree entry (ctime 0: the next backup
 * reads it again), reported through the unstable callback, and the backup ends with exit 4.
 * And a killed backup (issue 17.10): its stale lock is kept as a marker, and the next backup
 * records an `interrupted` event in the medium's and the host's audit log.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "backup/backup.h"
#include "common/alloc.h"
#include "common/error.h"
#include "repo/repo.h"
#include "tests/unit/test_storage.h"

#define PASS "torn-files-test-passphrase"
#define P(s) (s), strlen(s)
#define BIG  (512 * 1024) /* several chunks' worth of reads */

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };

static char work[128], repo[400], src[400], file[500], audit[400];

/* What the hook does and what the callbacks saw. */
struct torn {
    unsigned int rewrites_left; /* rewrite the file after this many more reads */
    unsigned int reads;
    unsigned int version; /* the content written last */
    uint64_t unstable_reported;
    char path[1024];
};

/* Write version @v of the file: @v's byte repeated, a size that differs for each version. */
static void write_version(unsigned int v)
{
    size_t n = BIG + v * 4096;
    unsigned char *b = malloc(n);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    assert_non_null(b);
    assert_true(fd >= 0);
    memset(b, 'a' + (int)(v % 26), n);
    assert_int_equal(write(fd, b, n), (ssize_t)n);
    close(fd);
    free(b);
}

static void after_read(const char *path, unsigned int attempt, void *arg)
{
    struct torn *t = arg;

    (void)attempt;
    if (strcmp(path + strlen(path) - 8, "/big.dat") != 0)
        return;
    t->reads++;
    if (t->rewrites_left == 0)
        return;
    t->rewrites_left--;
    write_version(++t->version);
}

static void unstable_cb(const char *gen, const char *path, const char *what, void *arg)
{
    struct torn *t = arg;

    (void)gen;
    (void)what;
    t->unstable_reported++;
    snprintf(t->path, sizeof(t->path), "%s", path);
}

static int open_cb(void *arg, mm_repo **out)
{
    (void)arg;
    return mm_repo_open(out, repo, NULL, P(PASS));
}

static int setup(void **state)
{
    struct mm_repo_init_opts o = { 0 };

    (void)state;
    snprintf(work, sizeof(work), "/tmp/mamori-test-torn-XXXXXX");
    if (!mkdtemp(work))
        return -1;
    snprintf(repo, sizeof(repo), "%s/repo", work);
    snprintf(src, sizeof(src), "%s/data", work);
    snprintf(file, sizeof(file), "%s/big.dat", src);
    snprintf(audit, sizeof(audit), "%s/audit", work);
    if (mkdir(src, 0755) != 0)
        return -1;
    o.kdf = &kdf_min;
    if (mm_repo_init(repo, "alice", P(PASS), &o) != 0) {
        fprintf(stderr, "init: %s\n", mm_error_last());
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (work[0])
        test_rm_rf(work);
    return 0;
}

static void opts_for(struct mm_backup_opts *o, const char *const *s, struct torn *t)
{
    memset(o, 0, sizeof(*o));
    o->repo_path = repo;
    o->open = open_cb;
    o->sources = s;
    o->nsources = 1;
    o->no_index = 1;
    o->audit_host_dir = audit;
    o->threads = 2;
    o->unstable = unstable_cb;
    o->after_read = after_read;
    o->arg = t;
}

/* Restore the latest generation and compare big.dat with version @v. */
static void restored_is_version(mm_repo *r, unsigned int v)
{
    char to[500], got[600];
    struct mm_repo_restore_stats rs;
    struct stat sb;
    size_t n = BIG + v * 4096;
    unsigned char *want = malloc(n), *have = malloc(n + 1);
    FILE *f;

    assert_non_null(want);
    assert_non_null(have);
    snprintf(to, sizeof(to), "%s/restored-%u", work, v);
    assert_int_equal(mm_repo_restore(r, "latest", to, NULL, &rs), 0);
    snprintf(got, sizeof(got), "%s/data/big.dat", to);
    assert_int_equal(stat(got, &sb), 0);
    assert_int_equal(sb.st_size, (off_t)n);
    memset(want, 'a' + (int)(v % 26), n);
    assert_non_null(f = fopen(got, "rb"));
    assert_int_equal(fread(have, 1, n + 1, f), n);
    fclose(f);
    assert_memory_equal(have, want, n);
    free(want);
    free(have);
}

/* Changed once during its read: read again, stored whole (never torn), exit 0. */
static void torn__changed_once_is_read_again(void **state)
{
    const char *s[1] = { src };
    struct mm_backup_opts o;
    struct mm_backup_result res;
    struct mm_repo_gen g;
    struct torn t = { 0 };

    (void)state;
    write_version(0);
    sleep(1); /* its times lie well before the backup: no racy second read */
    opts_for(&o, s, &t);
    t.rewrites_left = 1;
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_OK);
    assert_in_range(t.reads, 2, 3); /* (a third when the second read's times look racy) */
    assert_int_equal(res.unstable.reread, 1);
    assert_int_equal(res.unstable.unstable, 0);
    assert_int_equal(t.unstable_reported, 0);
    assert_int_equal(mm_repo_gen_find(res.repo, "latest", &g), 0);
    assert_int_equal(g.unstable.reread, 1);
    assert_int_equal(g.unstable.unstable, 0);
    mm_repo_gen_release(&g);
    restored_is_version(res.repo, 1);
    mm_backup_result_release(&res);
}

/* Changing at every read: the last read stored, marked unstable, reported, exit 4; the next
 * backup reads it again although its metadata no longer changes. */
static void torn__always_changing_is_marked_unstable(void **state)
{
    const char *s[1] = { src };
    struct mm_backup_opts o;
    struct mm_backup_result res;
    struct mm_repo_gen g;
    struct torn t = { 0 };

    (void)state;
    t.version = 10;
    write_version(t.version);
    sleep(1);
    opts_for(&o, s, &t);
    t.rewrites_left = 100;
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_ATTENTION);
    assert_int_equal(t.reads, MM_REPO_READ_TRIES);
    assert_int_equal(res.unstable.unstable, 1);
    assert_int_equal(res.unstable.npaths, 1);
    assert_string_equal(res.unstable.paths[0], "data/big.dat");
    assert_int_equal(t.unstable_reported, 1);
    assert_non_null(strstr(t.path, "/data/big.dat"));
    assert_int_equal(mm_repo_gen_find(res.repo, "latest", &g), 0);
    assert_int_equal(g.unstable.unstable, 1);
    assert_int_equal(g.unstable.npaths, 1);
    assert_string_equal(g.unstable.paths[0], "data/big.dat");
    mm_repo_gen_release(&g);
    mm_backup_result_release(&res);

    /* the writer stopped: the next backup reads the file again (its entry's ctime is 0) and
     * stores the settled content, exit 0 */
    memset(&t, 0, sizeof(t));
    assert_int_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_OK);
    assert_in_range(t.reads, 1, 2);
    assert_int_equal(res.counts.files_read, 1);
    assert_int_equal(res.unstable.unstable, 0);
    assert_int_equal(mm_repo_gen_find(res.repo, "latest", &g), 0);
    assert_int_equal(g.unstable.unstable, 0);
    assert_int_equal(g.unstable.npaths, 0);
    mm_repo_gen_release(&g);
    restored_is_version(res.repo, 10 + MM_REPO_READ_TRIES);
    mm_backup_result_release(&res);
}

/* Notes of the interruption test. */
struct heard {
    unsigned int interrupted, recorded;
    struct mm_repo_interrupted it;
};

static void note_cb(const struct mm_backup_note *n, void *arg)
{
    struct heard *h = arg;

    if (n->kind != MM_BACKUP_NOTE_INTERRUPTED)
        return;
    h->interrupted++;
    h->recorded += n->count ? 1 : 0;
    h->it = *n->interrupted;
}

/* Whether the file @path holds the @n bytes @s. */
static int file_holds(const char *path, const char *s, size_t n)
{
    static char b[1 << 20];
    FILE *f = fopen(path, "rb");
    size_t got;

    if (!f)
        return 0;
    got = fread(b, 1, sizeof(b), f);
    fclose(f);
    for (size_t i = 0; i + n <= got; i++)
        if (memcmp(b + i, s, n) == 0)
            return 1;
    return 0;
}

/* A backup killed while it held the lock (its lock file left, its process gone): the next
 * backup keeps the stale lock as a marker, records it in both audit logs, clears it. */
static void interrupted__next_backup_records_it(void **state)
{
    const char *s[1] = { src };
    struct mm_backup_opts o;
    struct mm_backup_result res;
    struct mm_repo_interrupted *left = NULL;
    struct heard h = { 0 };
    char lock[600], text[512], host[256] = "", log[600];
    pid_t dead;
    size_t n = 0;
    FILE *f;

    (void)state;
    if ((dead = fork()) == 0)
        _exit(0);
    assert_true(dead > 0);
    assert_int_equal(waitpid(dead, NULL, 0), dead); /* its process ID is free now */
    gethostname(host, sizeof(host) - 1);
    for (char *c = host; *c; c++)
        if (*c <= ' ')
            *c = '_';
    snprintf(text, sizeof(text),
             "mamori-lock 1\nkind exclusive\nhost %s\npid %ld\nstart 1700000000\nop backup\n"
             "user alice\n",
             host, (long)dead);
    snprintf(lock, sizeof(lock), "%s/locks/%064d", repo, 7);
    assert_non_null(f = fopen(lock, "w"));
    fputs(text, f);
    fclose(f);

    opts_for(&o, s, NULL);
    o.unstable = NULL;
    o.after_read = NULL;
    o.note = note_cb;
    o.arg = &h;
    assert_int_not_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_FAILED);
    assert_int_equal(h.interrupted, 1);
    assert_int_equal(h.recorded, 1);
    assert_string_equal(h.it.op, "backup");
    assert_string_equal(h.it.user, "alice");
    assert_string_equal(h.it.host, host);
    assert_int_equal(h.it.pid, (long)dead);
    assert_int_equal(h.it.start, 1700000000);
    /* the lock is gone, its marker cleared once recorded */
    assert_int_not_equal(access(lock, F_OK), 0);
    assert_int_equal(mm_repo_interrupted(res.repo, &left, &n), 0);
    assert_int_equal(n, 0);
    mm_free(left);
    /* the host's log holds the event in the clear (the medium's is sealed) */
    snprintf(log, sizeof(log), "%s/%s.log", audit, mm_repo_id(res.repo));
    assert_true(file_holds(log, "found_by", 8));
    assert_true(file_holds(log, "2023-11-14T22:13:20Z", 20));
    mm_backup_result_release(&res);

    /* nothing left: the backup after it records nothing */
    memset(&h, 0, sizeof(h));
    assert_int_not_equal(mm_backup_run(&o, &res), MM_BACKUP_EXIT_FAILED);
    assert_int_equal(h.interrupted, 0);
    mm_backup_result_release(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(torn__changed_once_is_read_again),
        cmocka_unit_test(torn__always_changing_is_marked_unstable),
        cmocka_unit_test(interrupted__next_backup_records_it),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
