/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Windows viewer on the medium, beside bin/mamori: the Windows build of mamori as
 * bin/mamori.exe, the double-clickable launchers 緊急時ビューア.bat and mamori-view.bat (the
 * same bytes: ASCII only, since cmd.exe reads a .bat file in the OEM code page, and CRLF
 * line ends) that run `bin\mamori.exe view` on the medium's folder, and
 * SHA256SUMS-windows.txt with the SHA-256 of those three for an application allow-list. The
 * Windows build is the file the caller names, else the one installed beside this mamori
 * (<prefix>/lib/mamori/windows/mamori.exe), else the one of the build tree this mamori was
 * built in (build-windows/mamori.exe beside build/, where make builds); without one nothing
 * of this is listed or written.
 * File work only, through put() (only what differs is rewritten, crash-safely).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup/backup_int.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "os/os.h"

/* What each launcher holds: the medium's folder with a dot after its backslash, because a
 * quoted argument ending in \" would swallow the quote. A failure pauses so that the
 * message stays on the screen (mamori.exe prints it in Japanese and English). */
static const char bat[] =
        "@echo off\r\n"
        "rem mamori: offline viewer of the records on this medium, for Windows.\r\n"
        "rem Double-click this file. It starts bin\\mamori.exe from this medium, which opens\r\n"
        "rem the default browser on this PC only (127.0.0.1). Nothing is installed, no\r\n"
        "rem administrator rights are needed, and the medium may be read-only.\r\n"
        "rem Keep this window open while reading; close it or press Ctrl+C to stop.\r\n"
        "rem SHA-256 of this file and of bin\\mamori.exe: SHA256SUMS-windows.txt\r\n"
        "title mamori viewer\r\n"
        "cd /d \"%~dp0\"\r\n"
        "\"%~dp0bin\\mamori.exe\" view --repo \"%~dp0.\" %*\r\n"
        "if %errorlevel% neq 0 pause\r\n";

/* Whether @path is a regular file. */
static int is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * The Windows build to copy: @given, or found beside this mamori.
 * @return 0 (*out: its path, malloc'd), 1 (none), MM_ENOMEM, MM_EIO
 */
static int find_exe(const char *given, char **out)
{
    /* installed; then a build tree's build-windows/: beside the build folder of
     * build/src/cli/mamori (make's), or inside it */
    static const char *const rel[] = { "../lib/mamori/windows/mamori.exe",
                                       "../../../build-windows/mamori.exe",
                                       "../../build-windows/mamori.exe" };
    char p[MM_LIMIT_PATH], *self, *slash;
    int found = 1;

    if (given) {
        if (!*given || !is_file(given))
            return 1;
        if (!(*out = strdup(given)))
            return mm_error_set(MM_ENOMEM, "out of memory");
        return 0;
    }
    if (!(self = realpath("/proc/self/exe", NULL)))
        return mm_error_set_errno(MM_EIO, errno, "cannot find this program's file");
    if ((slash = strrchr(self, '/')))
        slash[1] = '\0';
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]) && found == 1; i++) {
        if (snprintf(p, sizeof(p), "%s%s", self, rel[i]) >= (int)sizeof(p) || !is_file(p))
            continue;
        found = (*out = strdup(p)) ? 0 : mm_error_set(MM_ENOMEM, "out of memory");
    }
    free(self);
    return found;
}

/* The SHA-256 list: a "<hex>  <path>" CRLF line for each of the @n last files of @v. */
static int sums(const struct mm_repo_viewer *v, size_t n, mm_buf *out)
{
    int err = 0;

    for (size_t i = v->n - n; i < v->n && err == 0; i++) {
        char hex[MM_CRYPTO_HEX_SIZE];
        mm_crypto_hex(v->files[i].sha256, hex);
        err = mm_buf_printf(out, "%s  %s\r\n", hex, v->files[i].path);
    }
    return err;
}

int mm_backup__put_windows(struct mm_backup__pay *p, const char *windows_exe)
{
    char *exe = NULL;
    mm_buf list;
    int err;

    _Static_assert(MM_CRYPTO_ID_SIZE == MM_REPO_SHA256_SIZE, "a SHA-256 in hex");
    if ((err = find_exe(windows_exe, &exe)) != 0)
        return err;
    mm_buf_init(&list, 4096);
    if ((err = mm_backup__put_file(p, MM_BACKUP_WINDOWS_EXE, exe, 0755, "MZ")) < 0 ||
        (err = mm_backup__put(p, MM_BACKUP_WINDOWS_LAUNCHER, bat, sizeof(bat) - 1, 0644)) < 0 ||
        (err = mm_backup__put(p, MM_BACKUP_WINDOWS_ASCII, bat, sizeof(bat) - 1, 0644)) < 0 ||
        (err = sums(p->list, 3, &list)) < 0)
        goto out;
    err = mm_backup__put(p, MM_BACKUP_WINDOWS_SUMS, list.ptr, list.len, 0644);
out:
    mm_buf_release(&list);
    free(exe);
    return err;
}
