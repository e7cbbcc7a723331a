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
#include <fcntl.h>
#include <ftw.h>
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
#include <time.h>
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

/* ---- issue 22: a folder is the unit of work ------------------------------------------------ */

static const char *meta_root, *meta_other;
static size_t meta_n;

/* Every file and folder below meta_root has its twin below meta_other: the same kind, mode
 * (with the set-ID bits) and mtime to the nanosecond, and for a file the same bytes. */
static int meta_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    char other[PATHCAP];
    struct stat o;

    (void)flag;
    (void)ftw;
    if (snprintf(other, sizeof(other), "%s%s", meta_other, path + strlen(meta_root)) >=
        (int)sizeof(other))
        fail_msg("path too long");
    if (lstat(other, &o) != 0)
        fail_msg("'%s' was not restored", other);
    if ((st->st_mode & 0170000) != (o.st_mode & 0170000) ||
        (st->st_mode & 07777) != (o.st_mode & 07777))
        fail_msg("'%s': mode %o, restored %o", other, (unsigned)st->st_mode, (unsigned)o.st_mode);
    if (st->st_mtim.tv_sec != o.st_mtim.tv_sec || st->st_mtim.tv_nsec != o.st_mtim.tv_nsec)
        fail_msg("'%s': mtime differs", other);
    if (S_ISREG(st->st_mode)) {
        size_t nx = 0, ny = 0;
        unsigned char *x = read_all(path, &nx), *y = read_all(other, &ny);
        if (!x || !y || nx != ny || memcmp(x, y, nx) != 0)
            fail_msg("'%s' was not restored byte for byte", other);
        free(x);
        free(y);
    }
    meta_n++;
    return 0;
}

static size_t compare_meta(const char *a, const char *b)
{
    meta_root = a;
    meta_other = b;
    meta_n = 0;
    nftw(a, meta_cb, 16, FTW_PHYS);
    return meta_n;
}

static void set_time(const char *path, long sec, long nsec)
{
    struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };

    if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0)
        fail_msg("utimensat '%s': %s", path, strerror(errno));
}

/* A file @rel below @base with @n bytes made from @seed, mode @mode, mtime @sec.@nsec. */
static void put_file(const char *base, const char *rel, size_t n, unsigned seed, mode_t mode,
                     long sec, long nsec)
{
    char p[PATHCAP];
    unsigned char *d = malloc(n ? n : 1);

    assert_non_null(d);
    uint64_t x = 0x9E3779B97F4A7C15ull * (seed + 1); /* xorshift: bytes that do not compress */

    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        d[i] = (unsigned char)(x >> 24);
    }
    put(base, rel, "");
    pj(p, base, rel);
    write_file_mode(p, d, n, 0600);
    assert_int_equal(chmod(p, mode), 0);
    set_time(p, sec, nsec);
    free(d);
}

static int loosen_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_D && S_ISDIR(st->st_mode))
        chmod(path, 0700);
    return 0;
}

/* Make every folder below @dir (and itself) writable, so it can be removed. */
static void loosen(const char *dir)
{
    nftw(dir, loosen_cb, 16, FTW_PHYS);
}

static const mode_t file_modes[] = { 0600, 0640, 0644, 0444, 0755, 0700, 0666, 02755, 0400 };
static const mode_t dir_modes[] = { 0755, 0750, 0700, 0555, 0711 };

/*
 * A tree as a restore's workers split it: one folder of 600 files, 150 small folders of a
 * file or two each (SS-MIX2's shape, handed between threads), and a chain of 60 nested
 * folders (deeper than one thread holds folders open, so handed on mid-way) with a file at
 * each level; files and folders of many modes (read-only folders among them, a mode the
 * umask would cut, a set-group-ID file) and each its own mtime. Restored with 1, 4 and 16
 * threads: byte for byte, every mode and mtime (folders' too) as backed up.
 */
static void restore__folders_as_units_keep_bytes_modes_and_times(void **state)
{
    struct fx f;
    struct mm_repo_source s;
    struct mm_repo_restore_opts o = { 0 };
    struct mm_repo_restore_stats rs;
    char tree[PATHCAP], rel[PATHCAP], p[PATHCAP], deep[PATHCAP];
    static const unsigned threads[] = { 1, 4, 16 };
    mode_t old_mask = umask(022);
    size_t want, files = 0;

    (void)state;
    setup_fx(&f);
    pj(tree, tmpdir, "tree");
    for (unsigned i = 0; i < 600; i++, files++) {
        snprintf(rel, sizeof(rel), "many/f%03u", i);
        put_file(tree, rel, 100 + i * 37 % 5000, i, file_modes[i % 9], 1600000000 + i, i * 1001);
    }
    for (unsigned i = 0; i < 150; i++) {
        snprintf(rel, sizeof(rel), "small/%03u/%u/rec", i / 10, i);
        put_file(tree, rel, 50 + i, 1000 + i, file_modes[i % 9], 1500000000 + i, 7);
        files++;
        if (i % 3 == 0) {
            snprintf(rel, sizeof(rel), "small/%03u/%u/rec2", i / 10, i);
            put_file(tree, rel, 3000, 2000 + i, 0640, 1500000100 + i, 9);
            files++;
        }
    }
    snprintf(deep, sizeof(deep), "deep");
    for (unsigned i = 0; i < 60; i++, files++) {
        size_t n = strlen(deep);
        snprintf(deep + n, sizeof(deep) - n, "/d%u", i);
        if (snprintf(rel, sizeof(rel), "%.900s/file", deep) < 0)
            fail_msg("snprintf");
        put_file(tree, rel, 10 + i, 3000 + i, 0644, 1400000000 + i, 0);
    }
    /* folders' modes and times last, deepest first (a read-only folder takes no new entry) */
    for (unsigned i = 60; i-- > 0;) {
        pj(p, tree, deep);
        set_time(p, 1300000000 + i, 123);
        assert_int_equal(chmod(p, dir_modes[i % 5]), 0);
        *strrchr(deep, '/') = '\0';
    }
    for (unsigned i = 0; i < 150; i++) {
        snprintf(rel, sizeof(rel), "small/%03u/%u", i / 10, i);
        set_time(pj(p, tree, rel), 1200000000 + i, 5);
        assert_int_equal(chmod(p, dir_modes[i % 5]), 0);
    }
    for (unsigned i = 0; i < 15; i++) {
        snprintf(rel, sizeof(rel), "small/%03u", i);
        set_time(pj(p, tree, rel), 1100000000 + i, 0);
        assert_int_equal(chmod(p, dir_modes[(i + 1) % 5]), 0);
    }
    set_time(pj(p, tree, "many"), 1000000000, 999999999);
    assert_int_equal(chmod(p, 0555), 0);
    set_time(pj(p, tree, "small"), 1000000001, 1);
    set_time(pj(p, tree, "deep"), 1000000002, 2);
    s.path = tree;
    s.kind = MM_REPO_SOURCE_FOLDER;
    if (mm_repo_backup(f.r, &s, 1, NULL, NULL, NULL) != 0)
        fail_msg("backup: %s", mm_error_last());
    want = files + 150 + 15 + 60 + 3 + 1; /* the files, the folders, the tree's own folder */
    for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
        loosen(f.out);
        test_rm_rf(f.out);
        o.threads = threads[t];
        assert_int_equal(mm_repo_restore(f.r, "latest", f.out, &o, &rs), 0);
        assert_int_equal(rs.files, files);
        assert_int_equal(rs.damaged, 0);
        assert_int_equal(compare_meta(tree, pj(p, f.out, "tree")), want);
    }
    umask(old_mask);
    mm_repo_free(f.r);
    loosen(tmpdir); /* read-only folders: writable again, for the removal */
}

struct probs1 {
    int n;
    char path[PATHCAP], what[256];
};

static void on_problem(const char *gen, const char *path, const char *what, void *ctx)
{
    struct probs1 *pr = ctx;

    (void)gen;
    pr->n++;
    snprintf(pr->path, sizeof(pr->path), "%s", path);
    snprintf(pr->what, sizeof(pr->what), "%s", what);
}

static char *largest_path;
static off_t largest_size;

static int largest_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_F && S_ISREG(st->st_mode) && st->st_size > largest_size) {
        largest_size = st->st_size;
        snprintf(largest_path, PATHCAP, "%s", path);
    }
    return 0;
}

/*
 * One folder of 40 small files and one large one whose data is damaged in the repository
 * (a byte flipped in the middle of the pack holding it): the restore succeeds, reports and
 * counts that file alone (its path, patient IDs hidden) and leaves no part of it, and the
 * folder's other files, its mode and its mtime are restored as backed up.
 */
static void restore__a_damaged_file_leaves_its_folder_whole(void **state)
{
    struct fx f;
    struct mm_repo_source s;
    struct mm_repo_restore_opts o = { 0 };
    struct mm_repo_restore_stats rs;
    struct probs1 pr = { 0 };
    char tree[PATHCAP], rel[PATHCAP], p[PATHCAP], q[PATHCAP], pack[PATHCAP];
    struct stat a, b;
    unsigned char c;
    int fd;

    (void)state;
    setup_fx(&f);
    mm_repo_free(f.r);
    /* a repository of its own, holding only this tree: its largest pack is the big file's */
    test_rm_rf(f.repo);
    pj(tree, tmpdir, "tree");
    for (unsigned i = 0; i < 40; i++) {
        snprintf(rel, sizeof(rel), "100/073/" PID "/f%02u", i);
        put_file(tree, rel, 200 + i, 50 + i, 0640, 1600000000 + i, 3);
    }
    put_file(tree, "100/073/" PID "/big", 3000000, 99, 0644, 1600000100, 4);
    set_time(pj(p, tree, "100/073/" PID), 1500000000, 42);
    assert_int_equal(chmod(p, 0750), 0);
    {
        struct mm_repo_init_opts io = { 0 };
        io.kdf = &kdf_min;
        if (mm_repo_init(f.repo, "alice", PASS, strlen(PASS), &io) != 0)
            fail_msg("init: %s", mm_error_last());
    }
    if (mm_repo_open(&f.r, f.repo, "alice", PASS, strlen(PASS)) != 0)
        fail_msg("open: %s", mm_error_last());
    s.path = tree;
    s.kind = MM_REPO_SOURCE_FOLDER;
    if (mm_repo_backup(f.r, &s, 1, NULL, NULL, NULL) != 0)
        fail_msg("backup: %s", mm_error_last());
    mm_repo_free(f.r);
    largest_path = pack;
    largest_size = -1;
    nftw(pj(p, f.repo, "data"), largest_cb, 16, FTW_PHYS);
    if (largest_size < 1000000)
        fail_msg("the largest pack holds %lld bytes", (long long)largest_size);
    fd = open(pack, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, largest_size / 2), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, largest_size / 2), 1);
    close(fd);
    if (mm_repo_open(&f.r, f.repo, "alice", PASS, strlen(PASS)) != 0)
        fail_msg("open: %s", mm_error_last());
    o.problem = on_problem;
    o.ctx = &pr;
    o.threads = 4;
    assert_int_equal(mm_repo_restore(f.r, "latest", f.out, &o, &rs), 0);
    assert_int_equal(rs.damaged, 1);
    assert_int_equal(rs.files, 40);
    assert_int_equal(pr.n, 1);
    assert_non_null(strstr(pr.path, "/big"));
    assert_null(strstr(pr.path, PID));
    assert_non_null(strstr(pr.what, "damaged"));
    pj(q, f.out, "tree/100/073/" PID);
    assert_false(exists(pj(p, q, "big")));
    for (unsigned i = 0; i < 40; i++) {
        snprintf(rel, sizeof(rel), "100/073/" PID "/f%02u", i);
        pj(p, tree, rel);
        assert_int_equal(lstat(p, &a), 0);
        pj(p, f.out, "tree");
        assert_int_equal(lstat(pj(q, p, rel), &b), 0);
        assert_int_equal(a.st_mode, b.st_mode);
        assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
        assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
        assert_string_equal(get(tree, rel), get(p, rel));
    }
    assert_int_equal(lstat(pj(p, tree, "100/073/" PID), &a), 0);
    assert_int_equal(lstat(pj(q, f.out, "tree/100/073/" PID), &b), 0);
    assert_int_equal(b.st_mode & 07777, 0750);
    assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
    assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
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
        cmocka_unit_test_teardown(restore__folders_as_units_keep_bytes_modes_and_times, remove_tmp),
        cmocka_unit_test_teardown(restore__a_damaged_file_leaves_its_folder_whole, remove_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
