/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the Windows path core (os/winpath.h), built on Linux and, as test_win_path.exe,
 * in the Windows build (run under Wine): UTF-8 paths to `\\?\` UTF-16 paths (drives, shares,
 * `..` never above the root, relative and drive-relative paths joined to a current folder,
 * `\\?\` kept, Japanese and `^` names, paths far beyond 260 characters and the 32767 limit),
 * bad UTF-8 and surrogates both ways, the names Windows forbids and their allowed look-alikes,
 * and allocation failures. Wine does not enforce the 260-character limit, so these checks of
 * the conversion itself are what proves it. On Windows the compat layer (mm_win_posix.h) is
 * also exercised on real files in a fresh folder under the current one: Japanese names, a
 * path beyond 260 characters, rename over an open file, folder descriptors, listings, and a
 * forbidden name refused with EINVAL.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/error.h"
#include "os/os.h"
#include "os/winpath.h"

/* @s (UTF-8, well-formed) as NUL-terminated UTF-16, encoded here independently. */
static uint16_t *u16(const char *s)
{
    size_t n = strlen(s), k = 0;
    uint16_t *w = malloc((n + 1) * sizeof(*w));
    const unsigned char *p = (const unsigned char *)s;

    assert_non_null(w);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        if (p[i] < 0x80)
            cp = p[i++];
        else if (p[i] < 0xE0)
            cp = (uint32_t)(p[i] & 0x1F) << 6 | (p[i + 1] & 0x3F), i += 2;
        else if (p[i] < 0xF0)
            cp = (uint32_t)(p[i] & 0x0F) << 12 | (uint32_t)(p[i + 1] & 0x3F) << 6 |
                 (p[i + 2] & 0x3F),
            i += 3;
        else
            cp = (uint32_t)(p[i] & 0x07) << 18 | (uint32_t)(p[i + 1] & 0x3F) << 12 |
                 (uint32_t)(p[i + 2] & 0x3F) << 6 | (p[i + 3] & 0x3F),
            i += 4;
        if (cp >= 0x10000) {
            w[k++] = (uint16_t)(0xD800 + ((cp - 0x10000) >> 10));
            w[k++] = (uint16_t)(0xDC00 + ((cp - 0x10000) & 0x3FF));
        } else {
            w[k++] = (uint16_t)cp;
        }
    }
    w[k] = 0;
    return w;
}

static size_t u16len(const uint16_t *w)
{
    size_t n = 0;

    while (w[n])
        n++;
    return n;
}

/* Check that @path joined to @cwd (UTF-8, or NULL) gives exactly @want. */
static void expect_wide(const char *path, const char *cwd, const char *want)
{
    uint16_t *c = cwd ? u16(cwd) : NULL, *w = u16(want), *got = NULL;
    int err = mm_winpath_wide(path, c, &got);

    if (err != 0)
        fail_msg("'%s' in '%s': %d %s", path, cwd ? cwd : "(none)", err, mm_error_last());
    if (u16len(got) != u16len(w) || memcmp(got, w, u16len(w) * 2) != 0) {
        char *u = NULL;
        assert_int_equal(mm_winpath_utf8(got, u16len(got), &u), 0);
        fail_msg("'%s' in '%s': got '%s', want '%s'", path, cwd ? cwd : "(none)", u, want);
    }
    mm_free(got);
    free(w);
    free(c);
}

/* Check that @path joined to @cwd fails with @code. */
static void expect_error(const char *path, const char *cwd, int code)
{
    uint16_t *c = cwd ? u16(cwd) : NULL, *got = (uint16_t *)&got;

    assert_int_equal(mm_winpath_wide(path, c, &got), code);
    assert_ptr_equal(got, (uint16_t *)&got); /* untouched */
    free(c);
}

/* ---- UTF-8 to `\\?\` ----------------------------------------------------------------------- */

static void winpath__drive_paths(void **state)
{
    (void)state;
    expect_wide("C:\\foo\\bar.txt", NULL, "\\\\?\\C:\\foo\\bar.txt");
    expect_wide("c:/foo/bar", NULL, "\\\\?\\C:\\foo\\bar");
    expect_wide("C:\\", NULL, "\\\\?\\C:\\");
    expect_wide("C:/", NULL, "\\\\?\\C:\\");
    expect_wide("C:\\a\\\\b//c\\", NULL, "\\\\?\\C:\\a\\b\\c");
    expect_wide("E:\\mamori\\repo", "C:\\work", "\\\\?\\E:\\mamori\\repo");
}

static void winpath__dots_resolved_never_above_root(void **state)
{
    (void)state;
    expect_wide("C:\\a\\.\\b\\..\\c", NULL, "\\\\?\\C:\\a\\c");
    expect_wide("C:\\a\\..", NULL, "\\\\?\\C:\\");
    expect_wide("C:\\..\\..\\x", NULL, "\\\\?\\C:\\x");
    expect_wide("C:/a/b/../../../../x/./y/.", NULL, "\\\\?\\C:\\x\\y");
    expect_wide("..\\..\\..\\..\\x", "C:\\a\\b", "\\\\?\\C:\\x");
    expect_wide("\\\\srv\\share\\..\\..\\x", NULL, "\\\\?\\UNC\\srv\\share\\x");
    /* "..." is a name, not a step up */
    expect_wide("C:\\a\\...\\b", NULL, "\\\\?\\C:\\a\\...\\b");
}

static void winpath__unc(void **state)
{
    (void)state;
    expect_wide("\\\\srv\\share\\dir\\f.txt", NULL, "\\\\?\\UNC\\srv\\share\\dir\\f.txt");
    expect_wide("//srv/share/dir/", NULL, "\\\\?\\UNC\\srv\\share\\dir");
    expect_wide("\\\\srv\\share", NULL, "\\\\?\\UNC\\srv\\share\\");
    expect_wide("f.txt", "\\\\srv\\share\\d", "\\\\?\\UNC\\srv\\share\\d\\f.txt");
    expect_wide("\\top", "\\\\srv\\share\\d\\e", "\\\\?\\UNC\\srv\\share\\top");
    expect_wide("..\\..\\f", "\\\\?\\UNC\\srv\\share\\d", "\\\\?\\UNC\\srv\\share\\f");
    expect_error("\\\\srv", NULL, MM_EINVAL);
    expect_error("\\\\srv\\", NULL, MM_EINVAL);
    expect_error("\\\\", NULL, MM_EINVAL);
}

static void winpath__verbatim_kept(void **state)
{
    (void)state;
    expect_wide("\\\\?\\C:\\a\\..\\b", NULL, "\\\\?\\C:\\a\\..\\b");
    expect_wide("\\\\?\\C:\\con.txt", "D:\\x", "\\\\?\\C:\\con.txt");
    expect_wide("\\\\?\\UNC\\srv\\share\\x", NULL, "\\\\?\\UNC\\srv\\share\\x");
    expect_wide("\\\\.\\COM1", NULL, "\\\\.\\COM1");
}

static void winpath__relative_joined_to_cwd(void **state)
{
    (void)state;
    expect_wide("x/y", "C:\\Users\\me", "\\\\?\\C:\\Users\\me\\x\\y");
    expect_wide(".", "C:\\Users\\me", "\\\\?\\C:\\Users\\me");
    expect_wide("..", "C:\\Users", "\\\\?\\C:\\");
    expect_wide("\\x", "D:\\a\\b", "\\\\?\\D:\\x");
    expect_wide("/x", "D:\\a\\b", "\\\\?\\D:\\x");
    expect_wide("f", "\\\\?\\C:\\w", "\\\\?\\C:\\w\\f");
    expect_wide("f", "\\\\?\\C:\\", "\\\\?\\C:\\f");
    expect_wide("f", "C:\\", "\\\\?\\C:\\f");
    expect_wide("../b", "\\\\?\\C:\\w\\..\\a", "\\\\?\\C:\\b");
    expect_error("x", NULL, MM_EINVAL);
    expect_error("\\x", NULL, MM_EINVAL);
    expect_error("x", "relative\\cwd", MM_EINVAL);
}

static void winpath__drive_relative(void **state)
{
    (void)state;
    expect_wide("C:foo", "C:\\work", "\\\\?\\C:\\work\\foo");
    expect_wide("c:foo\\..\\bar", "C:\\work", "\\\\?\\C:\\work\\bar");
    expect_wide("D:foo", "C:\\work", "\\\\?\\D:\\foo");
    expect_wide("D:", "C:\\work", "\\\\?\\D:\\");
    expect_wide("C:", "C:\\work", "\\\\?\\C:\\work");
    expect_wide("D:foo", NULL, "\\\\?\\D:\\foo");
    expect_wide("C:foo", "\\\\srv\\share", "\\\\?\\C:\\foo");
}

static void winpath__japanese_and_caret(void **state)
{
    uint16_t *got = NULL;
    char *back = NULL;
    const char *p = "D:/患者/山田 太郎^テスト/検査結果（２０２６）.txt";

    (void)state;
    expect_wide(p, NULL, "\\\\?\\D:\\患者\\山田 太郎^テスト\\検査結果（２０２６）.txt");
    expect_wide("^^\\a^b", "C:\\^", "\\\\?\\C:\\^\\^^\\a^b");
    /* one UTF-16 unit per character of the BMP, and back to the same bytes */
    assert_int_equal(mm_winpath_wide(p, NULL, &got), 0);
    assert_int_equal(u16len(got), 4 + 2 + 1 + 2 + 1 + 9 + 1 + 14);
    assert_int_equal(got[7], 0x60A3); /* 患 */
    assert_int_equal(mm_winpath_utf8(got + 4, u16len(got) - 4, &back), 0);
    assert_string_equal(back, "D:\\患者\\山田 太郎^テスト\\検査結果（２０２６）.txt");
    mm_free(back);
    mm_free(got);
}

static void winpath__far_beyond_260_and_the_limit(void **state)
{
    char *p = malloc(120000);
    char *want = malloc(120000);
    uint16_t *got = NULL;
    size_t n;

    (void)state;
    assert_non_null(p);
    assert_non_null(want);
    /* 40 folders of 100 characters: 4,000+ characters, far beyond MAX_PATH */
    n = (size_t)snprintf(p, 40000, "C:");
    for (int i = 0; i < 40; i++) {
        p[n++] = '/';
        memset(p + n, 'a' + i % 26, 100);
        n += 100;
    }
    p[n] = '\0';
    snprintf(want, 40000, "\\\\?\\%s", p);
    for (char *c = want; *c; c++)
        if (*c == '/')
            *c = '\\';
    expect_wide(p, NULL, want);
    assert_int_equal(mm_winpath_wide(p, NULL, &got), 0);
    assert_true(u16len(got) > 4000);
    mm_free(got);

    /* exactly 32767 units with the NUL: accepted; one more: MM_ELIMIT */
    memcpy(p, "C:\\", 3);
    memset(p + 3, 'x', 32766 - 4 - 3);
    p[32766 - 4] = '\0'; /* "\\?\" + 32762 characters = 32766 units + NUL */
    assert_int_equal(mm_winpath_wide(p, NULL, &got), 0);
    assert_int_equal(u16len(got), 32766);
    mm_free(got);
    p[32766 - 4] = 'x';
    p[32766 - 3] = '\0';
    expect_error(p, NULL, MM_ELIMIT);
    /* Japanese: three bytes, one unit each: 11,000 characters in 33,000 bytes fit */
    n = (size_t)snprintf(p, 120000, "C:\\");
    for (int i = 0; i < 11000; i++)
        n += (size_t)snprintf(p + n, 120000 - n, "あ");
    assert_int_equal(mm_winpath_wide(p, NULL, &got), 0);
    assert_int_equal(u16len(got), 4 + 3 + 11000);
    mm_free(got);
    for (int i = 0; i < 22000; i++)
        n += (size_t)snprintf(p + n, 120000 - n, "あ");
    expect_error(p, NULL, MM_ELIMIT);
    expect_error(p + 3, "C:\\", MM_ELIMIT);
    /* a short relative path joined to a long cwd is measured too */
    memset(p, 'y', 32760);
    memcpy(p, "C:\\", 3);
    p[32760] = '\0';
    expect_error("zzzzzzzzzz", p, MM_ELIMIT);
    free(want);
    free(p);
}

static void winpath__bad_utf8_refused(void **state)
{
    (void)state;
    expect_error("", NULL, MM_EINVAL);
    expect_error("C:\\\xff", NULL, MM_EINVAL);
    expect_error("C:\\\xc0\xaf", NULL, MM_EINVAL);         /* overlong '/' */
    expect_error("C:\\\xed\xa0\x80", NULL, MM_EINVAL);     /* an encoded surrogate */
    expect_error("C:\\\xf4\x90\x80\x80", NULL, MM_EINVAL); /* above U+10FFFF */
    expect_error("C:\\\xe6\x82", NULL, MM_EINVAL);         /* cut short */
    expect_error("\xe6\x82\xa3\x80", "C:\\", MM_EINVAL);   /* a stray continuation */
    expect_error("\\\\?\\C:\\\xff", NULL, MM_EINVAL);      /* verbatim, but not UTF-8 */
}

static void winpath__surrogates_both_ways(void **state)
{
    uint16_t *got = NULL;
    char *u = NULL;
    const uint16_t pair[] = { 'a', 0xD83D, 0xDE00, 'b' };
    const uint16_t lone_hi[] = { 'a', 0xD83D, 'b' };
    const uint16_t lone_lo[] = { 0xDE00, 'a' };
    const uint16_t hi_at_end[] = { 'a', 0xD83D };
    const uint16_t swapped[] = { 0xDE00, 0xD83D };

    (void)state;
    assert_int_equal(mm_winpath_wide("C:\\\xf0\x9f\x98\x80.txt", NULL, &got), 0); /* U+1F600 */
    assert_int_equal(u16len(got), 4 + 3 + 2 + 4);
    assert_int_equal(got[7], 0xD83D);
    assert_int_equal(got[8], 0xDE00);
    mm_free(got);
    assert_int_equal(mm_winpath_utf8(pair, 4, &u), 0);
    assert_string_equal(u, "a\xf0\x9f\x98\x80"
                           "b");
    mm_free(u);
    u = (char *)&u;
    assert_int_equal(mm_winpath_utf8(lone_hi, 3, &u), MM_EINVAL);
    assert_int_equal(mm_winpath_utf8(lone_lo, 2, &u), MM_EINVAL);
    assert_int_equal(mm_winpath_utf8(hi_at_end, 2, &u), MM_EINVAL);
    assert_int_equal(mm_winpath_utf8(swapped, 2, &u), MM_EINVAL);
    assert_ptr_equal(u, (char *)&u);
    assert_int_equal(mm_winpath_utf8(pair, 0, &u), 0);
    assert_string_equal(u, "");
    mm_free(u);
}

static void winpath__utf8_every_length(void **state)
{
    /* U+007F U+0080 U+07FF U+0800 U+FFFF U+10000 U+10FFFF */
    const uint16_t w[] = { 0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0xD800, 0xDC00, 0xDBFF, 0xDFFF };
    char *u = NULL;

    (void)state;
    assert_int_equal(mm_winpath_utf8(w, sizeof(w) / sizeof(w[0]), &u), 0);
    assert_string_equal(u, "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80"
                           "\xf4\x8f\xbf\xbf");
    mm_free(u);
}

/* ---- names Windows forbids ----------------------------------------------------------------- */

static void forbidden__device_names(void **state)
{
    static const char *const bad[] = {
        "CON",  "con",      "Con",  "con.txt",  "CON.tar.gz",  "PRN",
        "aux",  "AUX.x",    "NUL",  "nul.json", "COM1",        "com9.log",
        "LPT1", "LPT9.log", "lpt5", "con .txt", "COM\xc2\xb9", "lpt\xc2\xb3.txt",
    };
    static const char *const good[] = {
        "CONSOLE", "COM10", "LPT10", "con tent", "COM",       "LPT",  "conx", "xcon",        "_con",
        "COM1a",   "nul_",  "CONIN", "a.con",    "aux-1.txt", "COMA", ".con", "COM\xc2\xb4",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!mm_winpath_forbidden(bad[i], strlen(bad[i])))
            fail_msg("'%s' should be forbidden", bad[i]);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (mm_winpath_forbidden(good[i], strlen(good[i])))
            fail_msg("'%s' should be allowed: %s", good[i],
                     mm_winpath_forbidden(good[i], strlen(good[i])));
    assert_non_null(strstr(mm_winpath_forbidden("con.txt", 7), "device"));
}

static void forbidden__characters_and_endings(void **state)
{
    static const char *const bad[] = {
        "a:b", "a<b", "a>b", "a\"b",   "a|b",  "a?b",  "a*b",  "a\\b", "a/b",      "x.",
        "x ",  "x. ", "...", "a\001b", "a\tb", "a\nb", "\x1f", "\xff", "\xe6\x82",
    };
    static const char *const good[] = {
        "a^b",
        "山田.txt",
        ".hidden",
        "a b",
        "a.b.c",
        "..x",
        "x..y",
        "患者^テスト（１）",
        "\xf0\x9f\x98\x80",
        "a\x7f",
        "#%&'()+,;=@[]{}~!$`",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!mm_winpath_forbidden(bad[i], strlen(bad[i])))
            fail_msg("'%s' should be forbidden", bad[i]);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (mm_winpath_forbidden(good[i], strlen(good[i])))
            fail_msg("'%s' should be allowed: %s", good[i],
                     mm_winpath_forbidden(good[i], strlen(good[i])));
    assert_null(mm_winpath_forbidden(".", 1));
    assert_null(mm_winpath_forbidden("..", 2));
    assert_non_null(mm_winpath_forbidden("", 0));
    /* a NUL inside the name is a control character too */
    assert_non_null(mm_winpath_forbidden("a\0b", 3));
    /* only @n bytes are looked at */
    assert_null(mm_winpath_forbidden("abc:", 3));
    assert_non_null(strstr(mm_winpath_forbidden("x.", 2), "dot"));
    assert_non_null(strstr(mm_winpath_forbidden("x ", 2), "space"));
}

static void forbidden__in_paths(void **state)
{
    size_t at = 0;

    (void)state;
    assert_non_null(mm_winpath_forbidden_in("C:\\ok\\con.txt\\x", &at));
    assert_int_equal(at, 6);
    assert_non_null(mm_winpath_forbidden_in("dir/a:b", &at));
    assert_int_equal(at, 4);
    assert_non_null(mm_winpath_forbidden_in("trailing./x", &at));
    assert_int_equal(at, 0);
    assert_null(mm_winpath_forbidden_in("C:\\ok\\山田^太郎\\..\\.\\f.txt", NULL));
    assert_null(mm_winpath_forbidden_in("C:", NULL));
    assert_null(mm_winpath_forbidden_in("C:x", NULL));
    assert_null(mm_winpath_forbidden_in("c:/x/y/", NULL));
    assert_null(mm_winpath_forbidden_in("\\\\srv\\share\\ok", NULL));
    assert_non_null(mm_winpath_forbidden_in("//srv/share/nul", &at));
    assert_int_equal(at, 12);
    assert_null(mm_winpath_forbidden_in("\\\\?\\C:\\con", NULL));
    assert_null(mm_winpath_forbidden_in("\\\\.\\COM1", NULL));
    assert_non_null(mm_winpath_forbidden_in("x/C:", NULL));
}

/* ---- paths from outside ------------------------------------------------------------------- */

static void slashes__windows_only(void **state)
{
    struct {
        const char *in, *win;
    } cases[] = {
        { "C:\\repo\\data", "C:/repo/data" },
        { "E:\\mamori\\.", "E:/mamori/." },
        { "rel\\dir/mixed", "rel/dir/mixed" },
        { "\\\\srv\\share\\x", "//srv/share/x" },
        { "\\\\?\\C:\\long\\path", "C:/long/path" },
        { "\\\\?\\UNC\\srv\\share\\x", "//srv/share/x" },
        { "\\\\.\\COM1", "\\\\.\\COM1" },
        { "/usr/lib/mamori", "/usr/lib/mamori" },
        { "", "" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", cases[i].in);
        assert_ptr_equal(mm_os_path_slashes(buf), buf);
#ifdef _WIN32
        assert_string_equal(buf, cases[i].win);
#else
        assert_string_equal(buf, cases[i].in); /* '\' is a character of names */
#endif
    }
}

/* ---- allocation failures ------------------------------------------------------------------- */

static void winpath__allocation_failure_torture(void **state)
{
    static const char *const paths[] = { "C:\\a\\b", "x\\..\\y", "\\\\?\\C:\\v", "C:q" };
    uint16_t *cwd = u16("C:\\work\\dir");

    (void)state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        for (long k = 1;; k++) {
            uint16_t *got = NULL;
            int err;
            mm_alloc_track(1);
            mm_alloc_fail_at(k, 0);
            err = mm_winpath_wide(paths[i], cwd, &got);
            mm_alloc_fail_at(0, 0);
            if (err == 0) {
                mm_free(got);
                assert_int_equal(mm_alloc_live(), 0);
                mm_alloc_track(0);
                break;
            }
            assert_int_equal(err, MM_ENOMEM);
            assert_null(got);
            assert_int_equal(mm_alloc_live(), 0);
            mm_alloc_track(0);
            assert_true(k < 10);
        }
    }
    {
        const uint16_t w[] = { 'a', 0x3042 };
        char *u = NULL;
        mm_alloc_fail_at(1, 0);
        assert_int_equal(mm_winpath_utf8(w, 2, &u), MM_ENOMEM);
        mm_alloc_fail_at(0, 0);
        assert_null(u);
    }
    free(cwd);
}

#ifdef _WIN32
/* ---- the compat layer on real files (Windows only) ----------------------------------------- */

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <windows.h>

#include "common/buf.h"
#include "common/log.h"
#include "os/os.h"

static char tmp[64]; /* the test's folder, under the current one */

/* @dir/@name into @out (@cap bytes). */
static const char *join(char *out, size_t cap, const char *dir, const char *name)
{
    assert_true((size_t)snprintf(out, cap, "%s/%s", dir, name) < cap);
    return out;
}

/* Remove the tree at @path (through the shims: readdir, lstat, unlink, rmdir). */
static void rm_rf(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *de;

    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    if ((d = opendir(path))) {
        while ((de = readdir(d))) {
            size_t n = strlen(path) + strlen(de->d_name) + 2;
            char *sub;
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            assert_non_null(sub = malloc(n));
            snprintf(sub, n, "%s/%s", path, de->d_name);
            rm_rf(sub);
            free(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

/* Whether this runs under Wine (ntdll exports wine_get_version there). */
static int under_wine(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");

    return ntdll && GetProcAddress(ntdll, "wine_get_version");
}

static int tmp_setup(void **state)
{
    static int run;

    (void)state;
    snprintf(tmp, sizeof(tmp), "test_win_path.tmp.%ld.%d", (long)getpid(), ++run);
    rm_rf(tmp);
    return mkdir(tmp, 0700);
}

static int tmp_teardown(void **state)
{
    (void)state;
    rm_rf(tmp);
    return 0;
}

/* Write @s into the new file @path. */
static void put_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, s, (unsigned)strlen(s)), (int)strlen(s));
    assert_int_equal(close(fd), 0);
}

/* Whether the content of @path is @s. */
static void expect_file(const char *path, const char *s)
{
    mm_buf b;

    mm_buf_init(&b, 1 << 20);
    if (mm_os_read_file(path, &b) != 0)
        fail_msg("cannot read back: %s", mm_error_last());
    assert_int_equal(b.len, strlen(s));
    assert_memory_equal(b.ptr, s, b.len);
    mm_buf_release(&b);
}

static void compat__japanese_and_caret_names(void **state)
{
    char dir[512], file[512];
    struct stat st;
    DIR *d;
    struct dirent *de;
    int seen = 0;
    FILE *f;
    char line[16] = "";

    (void)state;
    join(dir, sizeof(dir), tmp, "患者^テスト");
    assert_int_equal(mkdir(dir, 0700), 0);
    join(file, sizeof(file), dir, "山田 太郎^（検査）.txt");
    put_file(file, "abc");
    assert_int_equal(stat(file, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 3);
    assert_true(st.st_mtim.tv_sec > 1000000000);
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_non_null(d = opendir(dir));
    while ((de = readdir(d)))
        if (strcmp(de->d_name, "山田 太郎^（検査）.txt") == 0) {
            assert_int_equal(de->d_type, DT_REG);
            seen++;
        }
    assert_int_equal(closedir(d), 0);
    assert_int_equal(seen, 1);
    assert_non_null(f = fopen(file, "r"));
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line, "abc");
    assert_int_equal(access(file, W_OK), 0);
    expect_file(file, "abc");
}

static void compat__paths_beyond_260(void **state)
{
    char path[2048], file[2100], moved[2100];
    size_t n;

    (void)state;
    n = (size_t)snprintf(path, sizeof(path), "%s", tmp);
    for (int i = 0; i < 6; i++) {
        n += (size_t)snprintf(path + n, sizeof(path) - n, "/%d-長いフォルダの名前^", i);
        for (int k = 0; k < 40; k++)
            path[n++] = (char)('a' + k % 26);
        path[n] = '\0';
        if (mkdir(path, 0700) != 0)
            fail_msg("mkdir level %d: %s", i, strerror(errno));
    }
    assert_true(strlen(path) > 400);
    join(file, sizeof(file), path, "結果.json");
    assert_int_equal(mm_os_write_atomic(file, "{}\n", 3), 0);
    expect_file(file, "{}\n");
    join(moved, sizeof(moved), path, "moved.json");
    assert_int_equal(rename(file, moved), 0);
    expect_file(moved, "{}\n");
    assert_int_equal(mm_os_mkdir_p(join(file, sizeof(file), path, "x/y/z"), 0700), 0);
    assert_int_equal(unlink(moved), 0);
    errno = 0;
    assert_int_equal(unlink(moved), -1);
    assert_int_equal(errno, ENOENT);
}

static void compat__rename_over_an_open_file(void **state)
{
    char a[256], b[256], got[8] = "";
    int fd;

    (void)state;
    join(a, sizeof(a), tmp, "a");
    join(b, sizeof(b), tmp, "b");
    put_file(a, "old");
    put_file(b, "new");
    assert_int_equal(rename(b, a), 0); /* over a closed file: always */
    expect_file(a, "new");
    put_file(b, "newer");
    fd = open(a, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    if (rename(b, a) != 0) {
        /* Windows 10 (1709 and later) on NTFS replaces an open file (POSIX semantics);
         * Wine, FAT and exFAT refuse while it is open */
        int e = errno;
        close(fd);
        if (!under_wine())
            fail_msg("rename over an open file: %s", strerror(e));
        assert_int_equal(e, EACCES);
        print_message("# Wine: rename over an open file refused (EACCES), as on FAT\n");
        return;
    }
    expect_file(a, "newer");
    assert_int_equal(read(fd, got, 3), 3); /* the old file, still open */
    assert_string_equal(got, "new");
    assert_int_equal(close(fd), 0);
}

static void compat__folder_descriptors(void **state)
{
    char name[64], path[256];
    char buf[1024];
    struct stat st;
    int dfd, fd, seen = 0, dots = 0;
    long got;
    DIR *d;
    struct dirent *de;

    (void)state;
    dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    for (int i = 0; i < 120; i++) {
        snprintf(name, sizeof(name), "ファイル-%03d-xxxxxxxxxx", i);
        fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(close(fd), 0);
    }
    assert_int_equal(fstatat(dfd, "ファイル-007-xxxxxxxxxx", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(fstat(dfd, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(fsync(dfd), 0);
    /* raw listing in several reads of a 1 KiB buffer: every name once, no "." or ".." */
    while ((got = mm_os_dir_read(dfd, buf, sizeof(buf))) > 0) {
        size_t off = 0;
        const char *nm;
        while ((nm = mm_os_dir_next(buf, (size_t)got, &off))) {
            if (strncmp(nm, "ファイル-", strlen("ファイル-")) == 0)
                seen++;
            if (nm[0] == '.')
                dots++;
        }
    }
    assert_int_equal(got, 0);
    assert_int_equal(seen, 120);
    assert_int_equal(dots, 0);
    assert_int_equal(unlinkat(dfd, "ファイル-000-xxxxxxxxxx", 0), 0);
    assert_int_equal(mkdirat(dfd, "sub", 0700), 0);
    assert_int_equal(unlinkat(dfd, "sub", AT_REMOVEDIR), 0);
    /* fdopendir takes the descriptor over */
    assert_non_null(d = fdopendir(dfd));
    assert_int_equal(dirfd(d), dfd);
    seen = 0;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "ファイル-", strlen("ファイル-")) == 0)
            seen++;
    assert_int_equal(seen, 119);
    assert_int_equal(closedir(d), 0);
    /* a file is no folder */
    join(path, sizeof(path), tmp, "ファイル-001-xxxxxxxxxx");
    errno = 0;
    assert_int_equal(open(path, O_RDONLY | O_DIRECTORY), -1);
    assert_int_equal(errno, ENOTDIR);
}

static void compat__forbidden_names_refused(void **state)
{
    static const char *const bad[] = { "con.txt", "NUL", "a:b", "x.", "x ", "LPT9.log", "a\001b" };
    char path[256], msg[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        join(path, sizeof(path), tmp, bad[i]);
        errno = 0;
        assert_int_equal(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), -1);
        assert_int_equal(errno, EINVAL);
        errno = 0;
        assert_int_equal(mkdir(path, 0700), -1);
        assert_int_equal(errno, EINVAL);
    }
    join(path, sizeof(path), tmp, "con.json");
    assert_int_equal(mm_os_write_atomic(path, "x", 1), MM_EIO);
    assert_non_null(strstr(mm_error_last(), "device name"));
    assert_int_equal(strerror_r(EINVAL, msg, sizeof(msg)), 0);
    /* allowed look-alikes */
    assert_int_equal(mm_os_write_atomic(join(path, sizeof(path), tmp, "CONSOLE"), "x", 1), 0);
    assert_int_equal(mm_os_write_atomic(join(path, sizeof(path), tmp, "COM10"), "x", 1), 0);
    assert_int_equal(mm_os_write_atomic(join(path, sizeof(path), tmp, "con tent"), "x", 1), 0);
}

static void compat__errors_and_read_only_files(void **state)
{
    char path[256], sub[300];
    struct stat st;
    int fd;

    (void)state;
    join(path, sizeof(path), tmp, "missing");
    errno = 0;
    assert_int_equal(open(path, O_RDONLY), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(mkdir(join(path, sizeof(path), tmp, "d"), 0700), 0);
    errno = 0;
    assert_int_equal(mkdir(path, 0700), -1);
    assert_int_equal(errno, EEXIST);
    put_file(join(sub, sizeof(sub), path, "f"), "x");
    errno = 0;
    assert_int_equal(rmdir(path), -1);
    assert_int_equal(errno, ENOTEMPTY);
    errno = 0;
    assert_int_equal(open(sub, O_WRONLY | O_CREAT | O_EXCL, 0644), -1);
    assert_int_equal(errno, EEXIST);
    /* a writable folder: access() leaves nothing behind (it makes and drops a probe file) */
    assert_int_equal(access(tmp, W_OK), 0);
    {
        DIR *d = opendir(tmp);
        struct dirent *de;
        assert_non_null(d);
        while ((de = readdir(d)))
            assert_null(strstr(de->d_name, "mamori-access"));
        closedir(d);
    }
    /* a read-only file reads, refuses writing, and can still be removed */
    join(path, sizeof(path), tmp, "ro");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0444);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "ro", 2), 2);
    assert_int_equal(close(fd), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0200, 0);
    errno = 0;
    assert_int_equal(access(path, W_OK), -1);
    assert_int_equal(errno, EACCES);
    if (!under_wine()) { /* Wine leaves it to Unix permissions, which root ignores */
        errno = 0;
        assert_int_equal(open(path, O_WRONLY), -1);
        assert_int_equal(errno, EACCES);
    }
    expect_file(path, "ro");
    assert_int_equal(unlink(path), 0);
}

static void compat__pread_flock_times(void **state)
{
    char path[256], b3[4] = "";
    struct timespec t[2] = { { 1500000000, 123456700 }, { 1600000000, 987654300 } };
    struct stat st;
    int fd, fd2;

    (void)state;
    join(path, sizeof(path), tmp, "data");
    put_file(path, "0123456789");
    fd = open(path, O_RDWR);
    fd2 = open(path, O_RDONLY);
    assert_true(fd >= 0 && fd2 >= 0);
    assert_int_equal(pread(fd, b3, 3, 5), 3);
    assert_string_equal(b3, "567");
    assert_int_equal(pread(fd, b3, 3, 100), 0);
    assert_int_equal(pwrite(fd, "ab", 2, 10), 2);
    /* flock: exclusive, a second descriptor is refused, reading is not */
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    errno = 0;
    assert_int_equal(flock(fd2, LOCK_EX | LOCK_NB), -1);
    assert_int_equal(errno, EWOULDBLOCK);
    assert_int_equal(pread(fd2, b3, 3, 0), 3);
    assert_string_equal(b3, "012");
    assert_int_equal(flock(fd, LOCK_UN), 0);
    assert_int_equal(flock(fd2, LOCK_SH | LOCK_NB), 0);
    assert_int_equal(flock(fd2, LOCK_UN), 0);
    assert_int_equal(futimens(fd, t), 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mtim.tv_sec, 1600000000);
    assert_int_equal(st.st_mtim.tv_nsec, 987654300);
    assert_int_equal(st.st_size, 12);
    assert_int_equal(close(fd2), 0);
    assert_int_equal(close(fd), 0);
    t[1].tv_sec = 1700000000;
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mtim.tv_sec, 1700000000);
    expect_file(path, "0123456789ab");
}

static void compat__os_helpers(void **state)
{
    struct mm_os_fs fs;
    struct mm_os_space sp;
    char host[256] = "", *real;
    struct tm tm;
    long off = -1;
    unsigned char *secret;

    (void)state;
    assert_int_equal(mm_os_fs_type(tmp, &fs), 0);
    assert_true(fs.name[0] != '\0');
    assert_int_equal(mm_os_space(tmp, &sp), 0);
    assert_true(sp.total > 0);
    assert_false(sp.readonly);
    assert_int_equal(mm_os_hostname(host, sizeof(host)), 0);
    assert_true(host[0] != '\0');
    assert_int_equal(mm_os_localtime(86400 * 365, &tm, &off), 0);
    assert_true(off > -16 * 3600 && off < 16 * 3600);
    assert_non_null(real = realpath(tmp, NULL));
    assert_null(strchr(real, '\\'));
    assert_non_null(strstr(real, tmp));
    assert_true(real[1] == ':' || (real[0] == '/' && real[1] == '/'));
    free(real);
    assert_non_null(secret = mm_os_secret_map(100000));
    memset(secret, 0x5a, 100000);
    mm_os_secret_unmap(secret, 100000);
    assert_true(sysconf(_SC_NPROCESSORS_ONLN) >= 1);
    assert_int_equal(kill(getpid(), 0), 0);
    assert_int_equal(mm_os_no_core_dumps(), 0);
}

/* Every descriptor and stream is binary: no CR LF translation, Ctrl-Z is a byte. */
static void compat__binary_always(void **state)
{
    static const char data[] = "a\r\nb\n\x1a"
                               "c\n";
    char path[256], got[32];
    struct stat st;
    FILE *f;
    int fd;

    (void)state;
    join(path, sizeof(path), tmp, "bin");
    put_file(path, data);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, sizeof(data) - 1);
    expect_file(path, data);
    fd = open(path, O_RDONLY);
    assert_int_equal(read(fd, got, sizeof(got)), (int)sizeof(data) - 1);
    assert_memory_equal(got, data, sizeof(data) - 1);
    close(fd);
    assert_non_null(f = fopen(path, "a"));
    assert_true(fputs("\n", f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_non_null(f = fopen(path, "re"));
    assert_int_equal(fread(got, 1, sizeof(got), f), sizeof(data));
    fclose(f);
    assert_memory_equal(got, data, sizeof(data) - 1);
    assert_int_equal(got[sizeof(data) - 1], '\n');
}

/* Messages name Windows paths (backslashes) with the patient IDs masked too. */
static void compat__log_path_masks_backslash_paths(void **state)
{
    char red[MM_LOG_PATH_MAX];

    (void)state;
    assert_string_equal(
            mm_log_path(red, sizeof(red),
                        "E:\\ss\\999\\901\\9999013\\20111220\\OML-11\\"
                        "9999013_20111220_OML-11_000000011000354_20111220103059000_01_1"),
            "E:/ss/*/*/*/20111220/OML-11/"
            "*_20111220_OML-11_000000011000354_20111220103059000_01_1");
    assert_string_equal(mm_log_path(red, sizeof(red), "C:/x\\999/901\\9999013"), "C:/x/*/*/*");
}

#define WIN_COMPAT_TESTS                                                                          \
    cmocka_unit_test_setup_teardown(compat__japanese_and_caret_names, tmp_setup, tmp_teardown),   \
            cmocka_unit_test_setup_teardown(compat__paths_beyond_260, tmp_setup, tmp_teardown),   \
            cmocka_unit_test_setup_teardown(compat__rename_over_an_open_file, tmp_setup,          \
                                            tmp_teardown),                                        \
            cmocka_unit_test_setup_teardown(compat__folder_descriptors, tmp_setup, tmp_teardown), \
            cmocka_unit_test_setup_teardown(compat__forbidden_names_refused, tmp_setup,           \
                                            tmp_teardown),                                        \
            cmocka_unit_test_setup_teardown(compat__errors_and_read_only_files, tmp_setup,        \
                                            tmp_teardown),                                        \
            cmocka_unit_test_setup_teardown(compat__pread_flock_times, tmp_setup, tmp_teardown),  \
            cmocka_unit_test_setup_teardown(compat__os_helpers, tmp_setup, tmp_teardown),         \
            cmocka_unit_test_setup_teardown(compat__binary_always, tmp_setup, tmp_teardown),      \
            cmocka_unit_test(compat__log_path_masks_backslash_paths),
#endif

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(winpath__drive_paths),
                                        cmocka_unit_test(winpath__dots_resolved_never_above_root),
                                        cmocka_unit_test(winpath__unc),
                                        cmocka_unit_test(winpath__verbatim_kept),
                                        cmocka_unit_test(winpath__relative_joined_to_cwd),
                                        cmocka_unit_test(winpath__drive_relative),
                                        cmocka_unit_test(winpath__japanese_and_caret),
                                        cmocka_unit_test(winpath__far_beyond_260_and_the_limit),
                                        cmocka_unit_test(winpath__bad_utf8_refused),
                                        cmocka_unit_test(winpath__surrogates_both_ways),
                                        cmocka_unit_test(winpath__utf8_every_length),
                                        cmocka_unit_test(forbidden__device_names),
                                        cmocka_unit_test(forbidden__characters_and_endings),
                                        cmocka_unit_test(forbidden__in_paths),
                                        cmocka_unit_test(slashes__windows_only),
                                        cmocka_unit_test(winpath__allocation_failure_torture),
#ifdef _WIN32
                                        WIN_COMPAT_TESTS
#endif
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
