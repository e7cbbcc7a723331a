/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the os module in a fresh temporary folder per test: mkdir_p, bounded
 * read_file (exactly at the limit, one byte over, missing file), and write_atomic
 * (replaces, leaves no temporary file, and on failure keeps the old content; the
 * read-only-folder case is skipped as root, who ignores permissions).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/error.h"
#include "os/os.h"

struct tmp {
    char dir[256];
};

/* Remove the tree at @path (test helper, small trees only). */
static void rm_rf(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    char sub[1024];

    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    chmod(path, 0700);
    if ((d = opendir(path))) {
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
            rm_rf(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

static int setup(void **state)
{
    struct tmp *t = calloc(1, sizeof(*t));
    const char *base = getenv("TMPDIR");

    if (!t)
        return -1;
    snprintf(t->dir, sizeof(t->dir), "%s/mm-test-os-XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tmp *t = *state;

    rm_rf(t->dir);
    free(t);
    return 0;
}

/* @dir/@name into @buf. */
static const char *at(char *buf, size_t cap, void **state, const char *name)
{
    struct tmp *t = *state;

    snprintf(buf, cap, "%s/%s", t->dir, name);
    return buf;
}

/* Write @n bytes of 'x' to @path with plain stdio. */
static void write_plain(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Number of entries in @dir other than "." and "..". */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Read @path whole into a fresh buffer of limit @limit; @return the code. */
static int read_all(const char *path, size_t limit, mm_buf *b)
{
    mm_buf_init(b, limit);
    return mm_os_read_file(path, b);
}

static void mkdir_p__creates_nested(void **state)
{
    char p[512];
    struct stat st;

    assert_int_equal(mm_os_mkdir_p(at(p, sizeof(p), state, "a/b/c"), 0755), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* existing folders are fine, and so is a trailing slash */
    assert_int_equal(mm_os_mkdir_p(p, 0755), 0);
    assert_int_equal(mm_os_mkdir_p(at(p, sizeof(p), state, "a/b/d/"), 0755), 0);
    assert_int_equal(stat(at(p, sizeof(p), state, "a/b/d"), &st), 0);
}

static void mkdir_p__fails_under_a_file(void **state)
{
    char p[512];

    write_plain(at(p, sizeof(p), state, "file"), "x", 1);
    assert_int_equal(mm_os_mkdir_p(at(p, sizeof(p), state, "file/sub"), 0755), MM_EIO);
    assert_true(mm_error_last()[0]);
    assert_int_equal(mm_os_mkdir_p("", 0755), MM_ELIMIT);
}

static void read_file__exact_limit(void **state)
{
    char p[512], data[100];
    mm_buf b;

    memset(data, 'x', sizeof(data));
    write_plain(at(p, sizeof(p), state, "f"), data, sizeof(data));
    assert_int_equal(read_all(p, sizeof(data), &b), 0);
    assert_int_equal(b.len, sizeof(data));
    assert_memory_equal(b.ptr, data, sizeof(data));
    assert_int_equal(b.ptr[b.len], '\0');
    mm_buf_release(&b);

    /* 4096 is the read chunk: exactly one chunk at the limit */
    char big[4096];
    memset(big, 'y', sizeof(big));
    write_plain(p, big, sizeof(big));
    assert_int_equal(read_all(p, sizeof(big), &b), 0);
    assert_int_equal(b.len, sizeof(big));
    mm_buf_release(&b);
}

static void read_file__over_limit(void **state)
{
    char p[512], data[101];
    mm_buf b;

    memset(data, 'x', sizeof(data));
    write_plain(at(p, sizeof(p), state, "f"), data, sizeof(data));
    assert_int_equal(read_all(p, sizeof(data) - 1, &b), MM_ELIMIT);
    mm_buf_release(&b);
}

static void read_file__appends_and_empty(void **state)
{
    char p[512];
    mm_buf b;

    write_plain(at(p, sizeof(p), state, "empty"), "", 0);
    assert_int_equal(read_all(p, 10, &b), 0);
    assert_int_equal(b.len, 0);
    write_plain(p, "abc", 3);
    assert_int_equal(mm_os_read_file(p, &b), 0);
    assert_int_equal(mm_os_read_file(p, &b), 0);
    assert_string_equal(b.ptr, "abcabc");
    mm_buf_release(&b);
}

static void read_file__missing(void **state)
{
    char p[512];
    mm_buf b;

    assert_int_equal(read_all(at(p, sizeof(p), state, "nosuch"), 10, &b), MM_ENOTFOUND);
    assert_int_equal(b.len, 0);
    mm_buf_release(&b);
}

static void write_atomic__replaces(void **state)
{
    struct tmp *t = *state;
    char p[512];
    mm_buf b;

    assert_int_equal(mm_os_write_atomic(at(p, sizeof(p), state, "f"), "old", 3), 0);
    assert_int_equal(mm_os_write_atomic(p, "new content", 11), 0);
    assert_int_equal(read_all(p, 100, &b), 0);
    assert_string_equal(b.ptr, "new content");
    mm_buf_release(&b);
    assert_int_equal(count_entries(t->dir), 1); /* no temporary file left */

    assert_int_equal(mm_os_write_atomic(p, "", 0), 0);
    assert_int_equal(read_all(p, 100, &b), 0);
    assert_int_equal(b.len, 0);
    mm_buf_release(&b);
}

static void write_atomic__failure_keeps_old(void **state)
{
    struct tmp *t = *state;
    char p[512], sub[512];
    mm_buf b;

    /* a folder that does not exist: fails, creates nothing */
    assert_int_equal(mm_os_write_atomic(at(p, sizeof(p), state, "nodir/f"), "x", 1), MM_EIO);
    assert_int_equal(count_entries(t->dir), 0);

    /* the target is a folder with content (fails even for root): it stays, no temp file left */
    assert_int_equal(mm_os_mkdir_p(at(sub, sizeof(sub), state, "busy/f"), 0755), 0);
    assert_int_equal(mm_os_write_atomic(at(p, sizeof(p), state, "busy/f/keep"), "old", 3), 0);
    assert_int_equal(mm_os_write_atomic(at(p, sizeof(p), state, "busy/f"), "new", 3), MM_EIO);
    assert_int_equal(read_all(at(p, sizeof(p), state, "busy/f/keep"), 100, &b), 0);
    assert_string_equal(b.ptr, "old");
    mm_buf_release(&b);
    assert_int_equal(count_entries(at(sub, sizeof(sub), state, "busy")), 1);

    if (geteuid() == 0)
        return; /* root ignores folder permissions: the case below cannot fail for root */
    /* a read-only folder: the old content stays and no temporary file appears */
    assert_int_equal(mm_os_mkdir_p(at(sub, sizeof(sub), state, "ro"), 0755), 0);
    assert_int_equal(mm_os_write_atomic(at(p, sizeof(p), state, "ro/f"), "old", 3), 0);
    assert_int_equal(chmod(sub, 0555), 0);
    assert_int_equal(mm_os_write_atomic(p, "new", 3), MM_EIO);
    assert_int_equal(chmod(sub, 0755), 0);
    assert_int_equal(read_all(p, 100, &b), 0);
    assert_string_equal(b.ptr, "old");
    mm_buf_release(&b);
    assert_int_equal(count_entries(sub), 1);
}

static void fs_type__names_what_it_is(void **state)
{
    struct tmp *t = *state;
    struct mm_os_fs fs;
    char missing[512];

    assert_int_equal(mm_os_fs_type(t->dir, &fs), 0);
    assert_true(fs.kind != MM_OS_FS_UNKNOWN);
    assert_true(fs.name[0] != '\0');
    assert_true(fs.magic != 0);
    snprintf(missing, sizeof(missing), "%s/none/here", t->dir);
    assert_int_equal(mm_os_fs_type(missing, &fs), MM_ENOTFOUND);
    /* /proc is procfs: no kind of ours, named by its magic */
    assert_int_equal(mm_os_fs_type("/proc", &fs), 0);
    assert_int_equal(fs.kind, MM_OS_FS_OTHER);
    assert_string_equal(fs.name, "0x9fa0");
    /* /dev/shm is a tmpfs on Linux systems that have it */
    if (mm_os_fs_type("/dev/shm", &fs) == 0 && fs.magic == 0x01021994ul) {
        assert_int_equal(fs.kind, MM_OS_FS_TMPFS);
        assert_string_equal(fs.name, "tmpfs");
    }
}

static void fs_type__windows_kinds(void **state)
{
    (void)state;
    assert_true(MM_OS_FS_WINDOWS(MM_OS_FS_EXFAT));
    assert_true(MM_OS_FS_WINDOWS(MM_OS_FS_EXFAT_FUSE));
    assert_true(MM_OS_FS_WINDOWS(MM_OS_FS_NTFS3));
    assert_true(MM_OS_FS_WINDOWS(MM_OS_FS_NTFS_3G));
    assert_true(MM_OS_FS_WINDOWS(MM_OS_FS_VFAT));
    assert_false(MM_OS_FS_WINDOWS(MM_OS_FS_EXT4));
    assert_false(MM_OS_FS_WINDOWS(MM_OS_FS_XFS));
    assert_false(MM_OS_FS_WINDOWS(MM_OS_FS_BTRFS));
    assert_false(MM_OS_FS_WINDOWS(MM_OS_FS_TMPFS));
    assert_false(MM_OS_FS_WINDOWS(MM_OS_FS_FUSE)); /* sshfs and the like: not a medium */
    assert_string_equal(mm_os_fs_kind_name(MM_OS_FS_EXFAT_FUSE), "exfat-fuse");
    assert_string_equal(mm_os_fs_kind_name(MM_OS_FS_NTFS_3G), "ntfs-3g");
    assert_string_equal(mm_os_fs_kind_name((enum mm_os_fs_kind)999), "unknown");
}

/* ---- decrypted data kept out of core dumps ---- */

static void no_core_dumps__turns_them_off(void **state)
{
    pid_t pid;
    int status = -1;

    (void)state;
    pid = fork(); /* in a child: the test process keeps its own settings */
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl;
        if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
            _exit(3); /* the test would prove nothing */
        if (mm_os_no_core_dumps() != 0)
            _exit(4);
        if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
            _exit(5);
        if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0 || rl.rlim_max != 0)
            _exit(6);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The VmFlags of the mapping of /proc/self/smaps that holds @p, or "" when none does. */
static void vm_flags_of(const void *p, char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int in = 0;

    out[0] = '\0';
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a mapping's first line */
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(out, cap, "%s", line + 8);
            break;
        }
    }
    fclose(f);
}

static void secret_map__zeroed_and_left_out_of_dumps(void **state)
{
    size_t n = 3 * 4096 + 5;
    unsigned char *p = mm_os_secret_map(n);
    char flags[512];

    (void)state;
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p[i], 0);
    memset(p, 0xA5, n);
    vm_flags_of(p + n - 1, flags, sizeof(flags));
    assert_non_null(strstr(flags, " dd"));
    mm_os_secret_unmap(p, n);
    mm_os_secret_unmap(NULL, 0); /* accepted */
}

/* A restored-looking tree: nested folders, a read-only folder and file, a link to a folder
 * outside it (removed, not followed), a name with a newline. All of it goes; the outside stays. */
static void rmtree__removes_all_and_follows_no_link(void **state)
{
    char top[512], p[600], outside[512], keep[600];

    at(top, sizeof(top), state, "scratch");
    at(outside, sizeof(outside), state, "outside");
    assert_int_equal(mkdir(outside, 0700), 0);
    snprintf(keep, sizeof(keep), "%s/keep.txt", outside);
    write_plain(keep, "keep", 4);
    snprintf(p, sizeof(p), "%s/a/b/c", top);
    assert_int_equal(mm_os_mkdir_p(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/a/b/c/f.txt", top);
    write_plain(p, "x", 1);
    snprintf(p, sizeof(p), "%s/a/b/line\nbreak", top);
    write_plain(p, "y", 1);
    snprintf(p, sizeof(p), "%s/a/ro", top);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/a/ro/r.txt", top);
    write_plain(p, "z", 1);
    assert_int_equal(chmod(p, 0400), 0);
    snprintf(p, sizeof(p), "%s/a/ro", top);
    assert_int_equal(chmod(p, 0500), 0);
    snprintf(p, sizeof(p), "%s/a/link", top);
    assert_int_equal(symlink(outside, p), 0);
    assert_int_equal(mm_os_rmtree(top), 0);
    assert_int_equal(access(top, F_OK), -1);
    assert_int_equal(access(keep, F_OK), 0);
    /* a missing path is success; a file alone is removed */
    assert_int_equal(mm_os_rmtree(top), 0);
    assert_int_equal(mm_os_rmtree(keep), 0);
    assert_int_equal(access(keep, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mkdir_p__creates_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(rmtree__removes_all_and_follows_no_link, setup, teardown),
        cmocka_unit_test_setup_teardown(mkdir_p__fails_under_a_file, setup, teardown),
        cmocka_unit_test_setup_teardown(read_file__exact_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(read_file__over_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(read_file__appends_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(read_file__missing, setup, teardown),
        cmocka_unit_test_setup_teardown(write_atomic__replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(write_atomic__failure_keeps_old, setup, teardown),
        cmocka_unit_test_setup_teardown(fs_type__names_what_it_is, setup, teardown),
        cmocka_unit_test(fs_type__windows_kinds),
        cmocka_unit_test(no_core_dumps__turns_them_off),
        cmocka_unit_test(secret_map__zeroed_and_left_out_of_dumps),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
