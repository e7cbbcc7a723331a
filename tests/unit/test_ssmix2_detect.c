/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of ssmix2_detect.c: SS-MIX2 storages found at or below given folders by the
 * layout's signature on hand-built trees (any folder names, Japanese too), the depth bound,
 * the given folder itself, look-alikes that are not storages, links never followed (a link
 * to a storage, a loop), pairing of standardized and extended storages, bounded work on a
 * wide folder, unreadable folders, and allocation failures.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <linux/capability.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/error.h"
#include "ssmix2/ssmix2.h"
#include "tests/unit/test_caps.h"

static char base[128];

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* mkdir -p of base/@rel. */
static void mkdirs(const char *rel)
{
    char p[1024];

    snprintf(p, sizeof(p), "%s/%s", base, rel);
    for (char *s = p + strlen(base) + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

/* An empty file base/@rel (its folders created). */
static void touch(const char *rel)
{
    char p[1024], d[1024];
    FILE *f;

    snprintf(d, sizeof(d), "%s", rel);
    *strrchr(d, '/') = '\0';
    mkdirs(d);
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    assert_non_null(f = fopen(p, "w"));
    fputs("MSH|^~\\&|\r", f);
    fclose(f);
}

/* A small standardized storage at base/@rel: two patients. */
static void make_std(const char *rel)
{
    char p[1024];

    snprintf(p, sizeof(p),
             "%s/123/456/1234567/-/ADT-00/1234567_-_ADT-00_999999999999999_20240101120000000_-_1",
             rel);
    touch(p);
    snprintf(p, sizeof(p),
             "%s/123/457/1234578/20240105/OMP-01/"
             "1234578_20240105_OMP-01_000000000000123_20240105093000000_01_1",
             rel);
    touch(p);
}

/* A small extended storage at base/@rel: one content folder. */
static void make_ext(const char *rel)
{
    char p[1024];

    snprintf(p, sizeof(p),
             "%s/123/456/1234567/20240105/^経過記録^^11506-3^経過記録^LN/"
             "1234567_20240105_^経過記録^^11506-3^経過記録^LN_000000000600003_20240105104300000_"
             "09_1/doc.xml",
             rel);
    touch(p);
}

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof(base), "%s/mm-detect-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(base));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null", base);
        if (system(cmd) != 0) { /* best effort: only matters for the unreadable test */
        }
    }
    nftw(base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* Detect below base/@rel. OUT: @d */
static void detect_one(const char *rel, struct mm_ssmix2_detection *d)
{
    char p[1024];
    const char *roots[1] = { p };

    snprintf(p, sizeof(p), "%s/%s", base, rel);
    assert_int_equal(mm_ssmix2_detect(roots, 1, d), 0);
}

/* The storage whose rel is @rel, or NULL. */
static const struct mm_ssmix2_storage *by_rel(const struct mm_ssmix2_detection *d, const char *rel)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->v[i].rel, rel) == 0)
            return &d->v[i];
    return NULL;
}

static void detect__side_by_side_any_names(void **state)
{
    static const char *const names[][2] = {
        { "standard", "extended" },
        { "標準化ストレージ", "拡張ストレージ" },
        { "S", "X" },
        { "ext", "std" }, /* misleading names: the layout decides */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        char a[256], b[256];
        struct mm_ssmix2_detection d;
        const struct mm_ssmix2_storage *s, *x;

        snprintf(a, sizeof(a), "root%zu/ssmix2/%s", i, names[i][0]);
        snprintf(b, sizeof(b), "root%zu/ssmix2/%s", i, names[i][1]);
        make_std(a);
        make_ext(b);
        snprintf(a, sizeof(a), "ssmix2/%s", names[i][0]);
        snprintf(b, sizeof(b), "ssmix2/%s", names[i][1]);
        snprintf(a + 200, 56, "root%zu", i);
        detect_one(a + 200, &d);
        assert_int_equal(d.n, 2);
        assert_non_null(s = by_rel(&d, a));
        assert_non_null(x = by_rel(&d, b));
        assert_int_equal(s->kind, MM_SSMIX2_STORAGE_STANDARD);
        assert_int_equal(x->kind, MM_SSMIX2_STORAGE_EXTENDED);
        assert_int_equal(s->depth, 2);
        assert_int_equal(s->root, 0);
        assert_ptr_equal(&d.v[s->pair], x);
        assert_ptr_equal(&d.v[x->pair], s);
        assert_non_null(strstr(s->path, a));
        assert_int_equal(mm_ssmix2_storage_kind(s->path), MM_SSMIX2_STORAGE_STANDARD);
        assert_int_equal(mm_ssmix2_storage_kind(x->path), MM_SSMIX2_STORAGE_EXTENDED);
        assert_int_equal(d.incomplete, 0);
        mm_ssmix2_detection_release(&d);
    }
}

static void detect__the_folder_itself_and_the_depth_bound(void **state)
{
    struct mm_ssmix2_detection d;

    (void)state;
    make_std("self");
    detect_one("self", &d);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].rel, "");
    assert_int_equal(d.v[0].depth, 0);
    assert_int_equal(d.v[0].pair, -1);
    mm_ssmix2_detection_release(&d);
    /* a trailing slash names the same folder */
    detect_one("self/", &d);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].rel, "");
    mm_ssmix2_detection_release(&d);

    make_std("d4/a/b/c/std");
    detect_one("d4", &d);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].rel, "a/b/c/std");
    assert_int_equal(d.v[0].depth, MM_SSMIX2_DETECT_DEPTH);
    mm_ssmix2_detection_release(&d);

    /* deeper: not reported, only counted (so a caller can say a storage is out of reach) */
    make_std("d5/a/b/c/d/std");
    detect_one("d5", &d);
    assert_int_equal(d.n, 0);
    assert_int_equal(d.too_deep, 1);
    mm_ssmix2_detection_release(&d);
    make_std("d9/a/b/c/d/e/f/g/h/std");
    detect_one("d9", &d);
    assert_int_equal(d.n, 0);
    assert_int_equal(d.too_deep, 0);
    mm_ssmix2_detection_release(&d);
    detect_one("d4", &d); /* found where it may be: nothing too deep */
    assert_int_equal(d.too_deep, 0);
    mm_ssmix2_detection_release(&d);
}

static void detect__look_alikes_are_not_storages(void **state)
{
    struct mm_ssmix2_detection d;

    (void)state;
    /* the right folder shapes, but the files are not SS-MIX2 names */
    touch("fake/standard/123/456/1234567/20240101/ADT-00/report_2024_01.txt");
    /* an SS-MIX2 name in folders that disagree with it (another patient's folder) */
    touch("fake/moved/123/456/7654321/-/ADT-00/"
          "1234567_-_ADT-00_999999999999999_20240101120000000_-_1");
    /* a name in the right place, but a folder instead of a file, not a content folder */
    mkdirs("fake/dir/123/456/1234567/-/ADT-00/"
           "1234567_-_ADT-00_999999999999999_20240101120000000_-_1x");
    /* three-character folders of a department export */
    touch("fake/dept/abc/def/ghi/jkl/mno/pqr.txt");
    detect_one("fake", &d);
    assert_int_equal(d.n, 0);
    mm_ssmix2_detection_release(&d);
    assert_int_equal(mm_ssmix2_storage_kind(NULL), 0);
}

static void detect__links_are_not_followed(void **state)
{
    struct mm_ssmix2_detection d;
    char p[1024], t[1024];

    (void)state;
    make_std("real/std");
    mkdirs("links");
    snprintf(t, sizeof(t), "%s/real/std", base);
    snprintf(p, sizeof(p), "%s/links/std", base);
    assert_int_equal(symlink(t, p), 0);
    snprintf(p, sizeof(p), "%s/links/loop", base);
    assert_int_equal(symlink("..", p), 0);
    snprintf(p, sizeof(p), "%s/links/self", base);
    assert_int_equal(symlink(".", p), 0);
    detect_one("links", &d); /* terminates, finds nothing behind the links */
    assert_int_equal(d.n, 0);
    mm_ssmix2_detection_release(&d);
    /* a link given as the folder itself is not opened either */
    detect_one("links/std", &d);
    assert_int_equal(d.n, 0);
    mm_ssmix2_detection_release(&d);
    /* a storage whose message file is a link: not a message file */
    mkdirs("lfile/s/123/456/1234567/-/ADT-00");
    snprintf(p, sizeof(p),
             "%s/lfile/s/123/456/1234567/-/ADT-00/"
             "1234567_-_ADT-00_999999999999999_20240101120000000_-_1",
             base);
    assert_int_equal(symlink("/etc/hostname", p), 0);
    detect_one("lfile", &d);
    assert_int_equal(d.n, 0);
    mm_ssmix2_detection_release(&d);
}

static void detect__pairs_by_parent(void **state)
{
    struct mm_ssmix2_detection d;
    const struct mm_ssmix2_storage *s1, *s2, *x1, *x2;

    (void)state;
    /* two facilities, each with both storages: each pair by its parent */
    make_std("pairs/A/std");
    make_ext("pairs/A/ext");
    make_std("pairs/B/std");
    make_ext("pairs/B/ext");
    detect_one("pairs", &d);
    assert_int_equal(d.n, 4);
    s1 = by_rel(&d, "A/std"), x1 = by_rel(&d, "A/ext");
    s2 = by_rel(&d, "B/std"), x2 = by_rel(&d, "B/ext");
    assert_true(s1 && s2 && x1 && x2);
    assert_ptr_equal(&d.v[s1->pair], x1);
    assert_ptr_equal(&d.v[s2->pair], x2);
    mm_ssmix2_detection_release(&d);
    /* one of each in different places, given as two folders: paired with each other */
    make_std("apart1/x/std");
    make_ext("apart2/ext");
    {
        char a[512], b[512];
        const char *roots[2] = { a, b };
        snprintf(a, sizeof(a), "%s/apart1", base);
        snprintf(b, sizeof(b), "%s/apart2", base);
        assert_int_equal(mm_ssmix2_detect(roots, 2, &d), 0);
    }
    assert_int_equal(d.n, 2);
    assert_int_equal(d.v[0].root, 0);
    assert_int_equal(d.v[1].root, 1);
    assert_int_equal(d.v[0].pair, 1);
    assert_int_equal(d.v[1].pair, 0);
    mm_ssmix2_detection_release(&d);
    /* two standardized, one extended beside the second: the first stays unpaired */
    make_std("two/a/std");
    make_std("two/b/std");
    make_ext("two/b/ext");
    detect_one("two", &d);
    assert_int_equal(d.n, 3);
    assert_int_equal(by_rel(&d, "a/std")->pair, -1);
    assert_ptr_equal(&d.v[by_rel(&d, "b/std")->pair], by_rel(&d, "b/ext"));
    mm_ssmix2_detection_release(&d);
}

static void detect__wide_folders_are_bounded(void **state)
{
    struct mm_ssmix2_detection d;
    char p[256];

    (void)state;
    /* 600 subfolders, each with one more level: every one is looked at, the storage found */
    for (int i = 0; i < 600; i++) {
        snprintf(p, sizeof(p), "wide/f%03d/g", i);
        mkdirs(p);
    }
    make_std("wide/zzz-storage");
    detect_one("wide", &d);
    assert_int_equal(d.incomplete, 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].rel, "zzz-storage");
    mm_ssmix2_detection_release(&d);
    /* a folder of more than 4,096 entries: read up to that, and said to be incomplete */
    for (int i = 0; i < 4200; i++) {
        snprintf(p, sizeof(p), "wider/f%04d", i);
        mkdirs(p);
    }
    detect_one("wider", &d);
    assert_int_equal(d.incomplete, 1);
    assert_int_equal(d.n, 0);
    mm_ssmix2_detection_release(&d);
}

struct nodac {
    const char *root;
    struct mm_ssmix2_detection d;
    int err, dropped;
};

/* Detect from a thread that cannot read what folder modes forbid, even as root. */
static void *detect_nodac(void *arg)
{
    struct nodac *a = arg;
    const char *roots[1] = { a->root };

    a->dropped = geteuid() != 0 || drop_dac_caps() == 0;
    a->err = mm_ssmix2_detect(roots, 1, &a->d);
    return NULL;
}

static void detect__unreadable_folders_counted(void **state)
{
    struct nodac a;
    pthread_t t;
    char p[512], root[512];

    (void)state;
    memset(&a, 0, sizeof(a));
    make_std("unr/ok/std");
    make_std("unr/closed/std");
    snprintf(p, sizeof(p), "%s/unr/closed", base);
    snprintf(root, sizeof(root), "%s/unr", base);
    assert_int_equal(chmod(p, 0), 0);
    a.root = root;
    assert_int_equal(pthread_create(&t, NULL, detect_nodac, &a), 0);
    pthread_join(t, NULL);
    chmod(p, 0755);
    assert_true(a.dropped);
    assert_int_equal(a.err, 0);
    assert_int_equal(a.d.n, 1); /* the readable one; the other is skipped, not fatal */
    assert_string_equal(a.d.v[0].rel, "ok/std");
    assert_true(a.d.unreadable >= 1);
    mm_ssmix2_detection_release(&a.d);
}

static void detect__allocation_failures(void **state)
{
    char a[512];
    const char *roots[1] = { a };
    int done = 0;

    (void)state;
    make_std("alloc/x/std");
    make_ext("alloc/x/ext");
    snprintf(a, sizeof(a), "%s/alloc", base);
    for (long k = 1; k < 10000 && !done; k++) {
        struct mm_ssmix2_detection d;
        int rc;

        mm_alloc_fail_at(k, 0);
        rc = mm_ssmix2_detect(roots, 1, &d);
        mm_alloc_fail_at(0, 0);
        if (rc == 0) {
            assert_int_equal(d.n, 2);
            done = 1;
        } else {
            assert_int_equal(rc, MM_ENOMEM);
            assert_int_equal(d.n, 0);
            assert_null(d.v);
        }
        mm_ssmix2_detection_release(&d);
    }
    assert_true(done);
}

/*
 * A storage whose patients were mostly removed: a dozen emptied <3>/ and <3>/<3>/ folders
 * (their parents left behind) around the one patient left, at both levels. Every emptied
 * folder costs one open, so the signature still reaches the patient in any listing order.
 */
static void detect__emptied_folders_do_not_hide_the_storage(void **state)
{
    char p[1024];
    struct mm_ssmix2_detection d;

    (void)state;
    for (int i = 0; i < 12; i++) {
        snprintf(p, sizeof(p), "emptied/std/%03d/%03d", 200 + i, 300 + i);
        mkdirs(p);
        snprintf(p, sizeof(p), "emptied/std/123/%03d", 500 + i);
        mkdirs(p);
    }
    snprintf(p, sizeof(p),
             "emptied/std/123/456/1234567/-/ADT-00/"
             "1234567_-_ADT-00_999999999999999_20240101120000000_-_1");
    touch(p);
    detect_one("emptied", &d);
    assert_int_equal(d.n, 1);
    assert_non_null(by_rel(&d, "std"));
    assert_int_equal(d.v[0].kind, MM_SSMIX2_STORAGE_STANDARD);
    mm_ssmix2_detection_release(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(detect__side_by_side_any_names, setup, teardown),
        cmocka_unit_test_setup_teardown(detect__the_folder_itself_and_the_depth_bound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(detect__look_alikes_are_not_storages, setup, teardown),
        cmocka_unit_test_setup_teardown(detect__links_are_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(detect__pairs_by_parent, setup, teardown),
        cmocka_unit_test_setup_teardown(detect__emptied_folders_do_not_hide_the_storage, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(detect__wide_folders_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(detect__unreadable_folders_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(detect__allocation_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
