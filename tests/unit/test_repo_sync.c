/* SPDX-License-Identifier: Apache-2.0 */
/*
 * repo_sync.h: the checked copies of `mamori run`'s window between a medium and its shadow.
 * A content-named file is copied and its copy hashes to its name; a file whose bytes do not
 * hash to its name is refused and leaves no copy under that name; listings take only 64-hex
 * names (temporary files are never copied); a pack's presence and size are checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "os/os.h"
#include "repo/repo_sync.h"

static char work[256], src[300], dst[300];

static int setup(void **s)
{
    (void)s;
    snprintf(work, sizeof(work), "%s/mm-sync-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(work))
        return -1;
    snprintf(src, sizeof(src), "%s/src", work);
    snprintf(dst, sizeof(dst), "%s/dst", work);
    return mm_crypto_init() == 0 && mm_os_mkdir_p(src, 0700) == 0 && mm_os_mkdir_p(dst, 0700) == 0
                   ? 0
                   : -1;
}

static int teardown(void **s)
{
    char cmd[400];

    (void)s;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write @text as <src>/<dir>/<its hash> (or under @name when given); OUT: the name. */
static void put(const char *dir, const char *text, const char *name, char out[200])
{
    unsigned char h[MM_CRYPTO_ID_SIZE];
    char hex[MM_CRYPTO_HEX_SIZE], path[600], folder[500];

    mm_crypto_hash(text, strlen(text), h);
    mm_crypto_hex(h, hex);
    snprintf(out, 200, "%s/%s", dir, name ? name : hex);
    snprintf(folder, sizeof(folder), "%s/%s", src, dir);
    assert_int_equal(mm_os_mkdir_p(folder, 0700), 0);
    snprintf(path, sizeof(path), "%s/%s", src, out);
    assert_int_equal(mm_os_write_atomic(path, text, strlen(text)), 0);
}

static void sync__copy_is_checked_against_its_name(void **s)
{
    struct mm_repo_sync_stats st = { 0 };
    char rel[200], path[600];
    struct stat sb;

    (void)s;
    put("index", "an index file's bytes", NULL, rel);
    assert_int_equal(mm_repo_sync_copy(src, dst, rel, &st), 0);
    assert_int_equal(st.files, 1);
    assert_int_equal(st.bytes, strlen("an index file's bytes"));
    assert_int_equal(st.fsyncs, 2);
    snprintf(path, sizeof(path), "%s/%s", dst, rel);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, (off_t)strlen("an index file's bytes"));
}

static void sync__bytes_that_do_not_hash_to_the_name_are_refused(void **s)
{
    struct mm_repo_sync_stats st = { 0 };
    char rel[200], path[600];

    (void)s;
    put("generations", "damaged",
        "0000000000000000000000000000000000000000000000000000000000000000", rel);
    assert_int_equal(mm_repo_sync_copy(src, dst, rel, &st), MM_ECORRUPT);
    snprintf(path, sizeof(path), "%s/%s", dst, rel);
    assert_int_not_equal(access(path, F_OK), 0); /* no bad copy under a good name */
    assert_int_equal(mm_repo_sync_copy(src, dst, "generations/missing", &st), MM_ENOTFOUND);
}

static void sync__lists_only_content_names(void **s)
{
    char rel[200], **v = NULL;
    size_t n = 0;

    (void)s;
    put("dict", "a dictionary", NULL, rel);
    put("data/ab", "a pack", NULL, rel);
    put("dict", "left by a crash", "abc.tmp.123", rel);
    assert_int_equal(mm_repo_sync_list(src, 0, &v, &n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(v[i], ".tmp."));
        assert_null(strstr(v[i], "data/"));
    }
    mm_repo_sync_list_free(v, n);
    assert_int_equal(mm_repo_sync_list(src, 1, &v, &n), 0);
    {
        int packs = 0;
        for (size_t i = 0; i < n; i++)
            packs += strncmp(v[i], "data/ab/", 8) == 0;
        assert_int_equal(packs, 1);
    }
    mm_repo_sync_list_free(v, n);
}

static void sync__pack_check_wants_the_size_the_index_says(void **s)
{
    struct mm_repo_sync_stats st = { 0 };
    struct mm_repo_sync_pack p = { 0 };
    char rel[200];

    (void)s;
    put("data/00", "pack bytes", NULL, rel);
    memcpy(p.id, rel + 8, MM_CRYPTO_HEX_SIZE - 1);
    p.id[MM_CRYPTO_HEX_SIZE - 1] = '\0';
    p.size = strlen("pack bytes");
    /* the pack's folder is named by its first two digits: put() used "00" */
    if (strncmp(p.id, "00", 2) != 0) {
        char from[600], to[700], dir[600];
        snprintf(from, sizeof(from), "%s/%s", src, rel);
        snprintf(dir, sizeof(dir), "%s/data/%.2s", src, p.id);
        assert_true(strlen(dir) < 500);
        snprintf(to, sizeof(to), "%s/%s", dir, p.id);
        assert_int_equal(mm_os_mkdir_p(dir, 0700), 0);
        assert_int_equal(rename(from, to), 0);
    }
    assert_int_equal(mm_repo_sync_pack_check(src, &p, &st), 0);
    p.size++;
    assert_int_equal(mm_repo_sync_pack_check(src, &p, &st), MM_ECORRUPT);
    p.id[0] = p.id[0] == 'f' ? 'e' : 'f';
    assert_int_equal(mm_repo_sync_pack_check(src, &p, &st), MM_ENOTFOUND);
    assert_int_equal(st.checked, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sync__copy_is_checked_against_its_name),
        cmocka_unit_test(sync__bytes_that_do_not_hash_to_the_name_are_refused),
        cmocka_unit_test(sync__lists_only_content_names),
        cmocka_unit_test(sync__pack_check_wants_the_size_the_index_says),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
