/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restore targets (issue 17.5): a restore refuses a folder that holds something unless told
 * to merge or to overwrite; a new restore is written into a temporary sibling and renamed
 * into place only when whole, so a restore that fails halfway (here: the file size limit
 * cuts a write short) leaves no partial target and no sibling; a merge replaces
 * same-named files and leaves the rest, and lists (patient IDs hidden) what it would change;
 * an overwrite makes the target exactly the generation's tree and keeps the old folder aside;
 * an empty target whose parent cannot be written (no sibling possible) is restored through a
 * temporary folder inside it (not as root: root writes every folder).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <errno.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "os/os.h"
#include "repo/repo.h"

#define PATHCAP 1024
#define PASS    "restore-target-passphrase"
#define PID     "1000733103"

#include "tests/unit/test_files.h"

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };

struct fx {
    char repo[PATHCAP], src[PATHCAP], out[PATHCAP];
    mm_repo *r;
};

static int exists(const char *p)
{
    struct stat s;

    return lstat(p, &s) == 0;
}

static void put(const char *base, const char *rel, const char *text)
{
    char p[PATHCAP], dir[PATHCAP];
    char *slash;

    pj(p, base, rel);
    snprintf(dir, sizeof(dir), "%s", p);
    slash = strrchr(dir, '/');
    *slash = '\0';
    if (mm_os_mkdir_p(dir, 0755) != 0)
        fail_msg("mkdir '%s'", dir);
    write_file_mode(p, text, strlen(text), 0644);
}

/* The content of @base/@rel as a string ("" when missing). */
static const char *get(const char *base, const char *rel)
{
    static char text[256];
    char p[PATHCAP];
    size_t n = 0;
    unsigned char *d = read_all(pj(p, base, rel), &n);

    text[0] = '\0';
    if (d) {
        snprintf(text, sizeof(text), "%.*s", (int)n, (const char *)d);
        free(d);
    }
    return text;
}

/* How many entries of the folder holding @path start with the base name of @path + @suffix. */
static int siblings(const char *path, const char *suffix)
{
    char dir[PATHCAP], pre[PATHCAP];
    const char *slash = strrchr(path, '/');
    DIR *d;
    struct dirent *de;
    int n = 0;

    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    snprintf(pre, sizeof(pre), "%s%s", slash + 1, suffix);
    if (!(d = opendir(dir)))
        return -1;
    while ((de = readdir(d)))
        n += strncmp(de->d_name, pre, strlen(pre)) == 0;
    closedir(d);
    return n;
}

/* A repository with one generation of a small tree "src" (a patient folder, a large file). */
static void setup_fx(struct fx *f)
{
    struct mm_repo_init_opts io = { 0 };
    struct mm_repo_source s;
    static char big[300000];

    snprintf(tmpdir, sizeof(tmpdir), "%s/mm-restore-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir))
        fail_msg("mkdtemp: %s", strerror(errno));
    pj(f->repo, tmpdir, "repo");
    pj(f->src, tmpdir, "src");
    pj(f->out, tmpdir, "out");
    io.kdf = &kdf_min;
    if (mm_repo_init(f->repo, "alice", PASS, strlen(PASS), &io) != 0)
        fail_msg("init: %s", mm_error_last());
    put(f->src, "a/one", "one from the backup");
    put(f->src, "a/two", "two from the backup");
    put(f->src, "100/073/" PID "/record", "a patient's record");
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7919 % 251);
    write_file_mode(pj((char[PATHCAP]){ 0 }, f->src, "big"), big, sizeof(big), 0644);
    if (mm_repo_open(&f->r, f->repo, "alice", PASS, strlen(PASS)) != 0)
        fail_msg("open: %s", mm_error_last());
    s.path = f->src;
    s.kind = MM_REPO_SOURCE_FOLDER;
    if (mm_repo_backup(f->r, &s, 1, NULL, NULL, NULL) != 0)
        fail_msg("backup: %s", mm_error_last());
}

static void restore__refuses_a_folder_that_holds_something(void **state)
{
    struct fx f;
    char p[PATHCAP];

    (void)state;
    setup_fx(&f);
    /* a new target: restored whole, no sibling left */
    assert_int_equal(mm_repo_restore(f.r, "latest", f.out, NULL, NULL), 0);
    assert_int_equal(compare_trees(f.src, pj(p, f.out, "src")), 4);
    assert_int_equal(siblings(f.out, ".mamori-restore-"), 0);
    /* an empty target: the same */
    test_rm_rf(f.out);
    assert_int_equal(mkdir(f.out, 0750), 0);
    assert_int_equal(mm_repo_restore(f.r, "latest", f.out, NULL, NULL), 0);
    assert_int_equal(compare_trees(f.src, pj(p, f.out, "src")), 4);
    /* a folder holding an unrelated file: refused, nothing written (merged, before) */
    test_rm_rf(f.out);
    put(f.out, "unrelated", "the hospital's own file");
    assert_int_equal(mm_repo_restore(f.r, "latest", f.out, NULL, NULL), MM_EEXISTS);
    assert_non_null(strstr(mm_error_last(), "not empty"));
    assert_false(exists(pj(p, f.out, "src")));
    assert_string_equal(get(f.out, "unrelated"), "the hospital's own file");
    assert_int_equal(mm_repo_restore_target(f.out), 2);
    assert_int_equal(siblings(f.out, ".mamori-restore-"), 0);
    mm_repo_free(f.r);
}

static void restore__failing_halfway_leaves_no_partial_target(void **state)
{
    struct fx f;
    struct rlimit old, lim;
    char p[PATHCAP];
    int err;

    (void)state;
    setup_fx(&f);
    /* the file size limit cuts the large file's write short: a hard error halfway */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 100000;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    err = mm_repo_restore(f.r, "latest", f.out, NULL, NULL);
    assert_int_equal(mkdir(pj(p, tmpdir, "empty"), 0700), 0);
    assert_int_equal(mm_repo_restore(f.r, "latest", p, NULL, NULL), MM_EIO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(err, MM_EIO);
    /* no partial target, no temporary sibling; an empty target stays empty */
    assert_false(exists(f.out));
    assert_int_equal(siblings(f.out, ".mamori-restore-"), 0);
    assert_int_equal(mm_repo_restore_target(p), 1);
    assert_int_equal(siblings(p, ".mamori-restore-"), 0);
    /* and with the limit lifted it restores whole */
    assert_int_equal(mm_repo_restore(f.r, "latest", f.out, NULL, NULL), 0);
    assert_int_equal(compare_trees(f.src, pj(p, f.out, "src")), 4);
    mm_repo_free(f.r);
}

struct listing {
    char text[4096];
};

static void on_change(enum mm_repo_change what, const char *path, void *ctx)
{
    struct listing *l = ctx;
    size_t n = strlen(l->text);

    snprintf(l->text + n, sizeof(l->text) - n, "%c %s\n", (char)what, path);
}

static void restore__merge_lists_then_replaces_same_names_and_leaves_the_rest(void **state)
{
    struct mm_repo_restore_opts o = { 0 };
    struct mm_repo_restore_stats st;
    struct listing l = { { 0 } };
    struct fx f;
    char p[PATHCAP];

    (void)state;
    setup_fx(&f);
    put(f.out, "src/a/one", "the hospital's newer one");
    put(f.out, "src/a/mine", "only in the target");
    put(f.out, "notes.txt", "unrelated");
    /* the dry run lists and counts, and writes nothing */
    o.mode = MM_REPO_RESTORE_MERGE;
    o.dry_run = 1;
    o.change = on_change;
    o.ctx = &l;
    assert_int_equal(mm_repo_restore(f.r, "latest", f.out, &o, &st), 0);
    assert_int_equal(st.added, 3);
    assert_int_equal(st.replaced, 1);
    assert_int_equal(st.left, 2);
    assert_non_null(strstr(l.text, "R src/a/one\n"));
    assert_non_null(strstr(l.text, "L src/a/mine\n"));
    assert_non_null(strstr(l.text, "L notes.txt\n"));
    assert_non_null(strstr(l.text, "A src/big\n"));
    assert_null(strstr(l.text, PID)); /* the patient's folder is listed with its ID hidden */
    assert_string_equal(get(f.out, "src/a/one"), "the hospital's newer one");
    assert_false(exists(pj(p, f.out, "src/big")));
    /* the merge */
    o.dry_run = 0;
    o.change = NULL;
    assert_int_equal(mm_repo_restore(f.r, "latest", f.out, &o, &st), 0);
    assert_int_equal(st.files, 4);
    assert_int_equal(st.replaced, 1);
    assert_int_equal(compare_trees(f.src, pj(p, f.out, "src")), 4);
    assert_string_equal(get(f.out, "src/a/mine"), "only in the target");
    assert_string_equal(get(f.out, "notes.txt"), "unrelated");
    assert_int_equal(siblings(pj(p, f.out, "src/a/x"), ".mamori-restore-"), 0);
    /* a name that is a folder in the generation and a file in the target: refused whole */
    test_rm_rf(f.out);
    put(f.out, "src/a", "a file where the generation has a folder");
    assert_int_equal(mm_repo_restore(f.r, "latest", f.out, &o, &st), MM_EEXISTS);
    assert_false(exists(pj(p, f.out, "src/big")));
    mm_repo_free(f.r);
}

static void restore__overwrite_keeps_the_old_folder_aside(void **state)
{
    struct mm_repo_restore_opts o = { 0 };
    struct mm_repo_restore_stats st;
    struct fx f;
    char p[PATHCAP];

    (void)state;
    setup_fx(&f);
    put(f.out, "src/a/one", "the hospital's newer one");
    put(f.out, "notes.txt", "unrelated");
    o.mode = MM_REPO_RESTORE_OVERWRITE;
    assert_int_equal(mm_repo_restore(f.r, "latest", f.out, &o, &st), 0);
    assert_int_equal(st.replaced, 1);
    assert_int_equal(st.left, 1);
    /* the target is exactly the generation's tree */
    assert_int_equal(compare_trees(f.src, pj(p, f.out, "src")), 4);
    assert_int_equal(compare_trees(pj(p, f.out, "src"), f.src), 4);
    assert_false(exists(pj(p, f.out, "notes.txt")));
    /* and the old folder is whole, aside */
    assert_non_null(strstr(st.aside, "out.before-restore-"));
    assert_string_equal(get(st.aside, "notes.txt"), "unrelated");
    assert_string_equal(get(st.aside, "src/a/one"), "the hospital's newer one");
    assert_int_equal(siblings(f.out, ".mamori-restore-"), 0);
    mm_repo_free(f.r);
}

/* Make the folder @path immutable (@on) or not: root cannot create entries in it either.
 * @return 0, -1 when the file system has no such flag */
static int immutable(const char *path, int on)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY), flags = 0, rc = -1;

    if (fd < 0)
        return -1;
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
        flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        rc = ioctl(fd, FS_IOC_SETFLAGS, &flags);
    }
    close(fd);
    return rc;
}

static void restore__empty_target_in_a_folder_we_cannot_write(void **state)
{
    struct fx f;
    char parent[PATHCAP], target[PATHCAP], p[PATHCAP];
    int err;

    (void)state;
    setup_fx(&f);
    pj(parent, tmpdir, "locked");
    pj(target, parent, "target");
    assert_int_equal(mkdir(parent, 0755), 0);
    assert_int_equal(mkdir(target, 0755), 0);
    /* as root (who writes every folder) the parent is made immutable instead */
    if (geteuid() == 0 ? immutable(parent, 1) != 0 : chmod(parent, 0555) != 0) {
        print_message("# cannot make '%s' unwritable here: not tested\n", parent);
        mm_repo_free(f.r);
        return;
    }
    err = mm_repo_restore(f.r, "latest", target, NULL, NULL);
    if (geteuid() == 0)
        immutable(parent, 0);
    chmod(parent, 0755);
    if (err != 0)
        fail_msg("restore into an empty folder of an unwritable one: %s", mm_error_last());
    assert_int_equal(compare_trees(f.src, pj(p, target, "src")), 4);
    assert_int_equal(siblings(pj(p, target, "x"), ".mamori-restore-"), 0);
    mm_repo_free(f.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(restore__refuses_a_folder_that_holds_something, remove_tmp),
        cmocka_unit_test_teardown(restore__failing_halfway_leaves_no_partial_target, remove_tmp),
        cmocka_unit_test_teardown(restore__merge_lists_then_replaces_same_names_and_leaves_the_rest,
                                  remove_tmp),
        cmocka_unit_test_teardown(restore__overwrite_keeps_the_old_folder_aside, remove_tmp),
        cmocka_unit_test_teardown(restore__empty_target_in_a_folder_we_cannot_write, remove_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
