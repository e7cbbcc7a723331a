/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The viewer on the medium: the launcher `mamori-view.sh` next to the repository, and a copy
 * of this mamori with the shared libraries it runs with (the dynamic loader included) under
 * bin/, so that a PC without mamori installed reads the medium: the launcher runs
 * `bin/lib/ld-linux… --library-path bin/lib bin/mamori view`. Written by init and refreshed
 * by every backup (only the files that differ are rewritten). File work only: which mamori
 * and libraries are copied is what this process runs with.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"

#define LAUNCHER_NAME "mamori-view.sh"
#define BUNDLE_FILES  64                     /* shared libraries at most */
#define BUNDLE_MAX    (256u * 1024u * 1024u) /* bytes of one of them at most */

/*
 * mamori view on the folder the launcher lies in: the copy in bin/ through its own loader
 * and libraries when it runs here (checked with `version`), else the same copy from a
 * temporary folder (a medium mounted noexec, or a file system without execute bits), else the
 * mamori installed on this PC.
 */
static const char launcher[] =
        "#!/bin/sh\n"
        "# mamori: この媒体の記録をブラウザで見る（オフラインビューア）\n"
        "# mamori: read the records on this medium in a browser (offline viewer)\n"
        "# Runs bin/mamori on this medium with its own libraries (bin/lib), else mamori installed\n"
        "# on this PC.\n"
        "here=$(cd \"$(dirname \"$0\")\" && pwd) || exit 1\n"
        "run_bundle() { # $1: a folder holding mamori and lib/; then the options of view\n"
        "    d=$1\n"
        "    shift\n"
        "    for ld in \"$d\"/lib/ld-linux*.so*; do\n"
        "        [ -f \"$ld\" ] || return 1\n"
        "        \"$ld\" --library-path \"$d/lib\" \"$d/mamori\" version >/dev/null 2>&1 || return 1\n"
        "        exec \"$ld\" --library-path \"$d/lib\" \"$d/mamori\" view --repo \"$here\" \"$@\"\n"
        "    done\n"
        "    return 1\n"
        "}\n"
        "if [ -f \"$here/bin/mamori\" ]; then\n"
        "    run_bundle \"$here/bin\" \"$@\"\n"
        "    tmp=$(mktemp -d \"${TMPDIR:-/tmp}/mamori-viewer-XXXXXX\") &&\n"
        "        cp -R \"$here/bin/.\" \"$tmp/\" && chmod -R u+rwx \"$tmp\" &&\n"
        "        run_bundle \"$tmp\" \"$@\"\n"
        "    [ -n \"$tmp\" ] && rm -rf \"$tmp\"\n"
        "fi\n"
        "if command -v mamori >/dev/null 2>&1; then\n"
        "    exec mamori view --repo \"$here\" \"$@\"\n"
        "fi\n"
        "echo \"mamori を起動できません（媒体の bin/ が使えず、この PC にも入っていません）\" >&2\n"
        "echo \"cannot start mamori (bin/ on the medium does not run here, and it is not \"\\\n"
        "\"installed on this PC)\" >&2\n"
        "exit 1\n";

int mm_backup_medium_launcher(const char *repo)
{
    char path[MM_LIMIT_PATH];

    if (snprintf(path, sizeof(path), "%s/%s", repo, LAUNCHER_NAME) >= (int)sizeof(path))
        return mm_error_set(MM_ELIMIT, "repository path too long");
    if (mm_os_write_atomic(path, launcher, sizeof(launcher) - 1) < 0)
        return MM_EIO;
    if (chmod(path, 0755) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot make the launcher executable");
    return 0;
}

struct libs {
    char *path[BUNDLE_FILES];
    size_t n;
    int over;
};

static int lib_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct libs *l = arg;

    (void)size;
    if (!info->dlpi_name || info->dlpi_name[0] != '/')
        return 0; /* the program itself, the vDSO */
    if (l->n == BUNDLE_FILES) {
        l->over = 1;
        return 1;
    }
    /* the name the loader asked for (libsodium.so.23, a link to the file): it asks for the
     * same name in bin/lib */
    if ((l->path[l->n] = strdup(info->dlpi_name)))
        l->n++;
    return 0;
}

/* Copy @src to @dst (mode 0755) unless @dst holds the same bytes already. */
static int copy_if_changed(const char *src, const char *dst)
{
    mm_buf a, b;
    int err;

    mm_buf_init(&a, BUNDLE_MAX);
    mm_buf_init(&b, BUNDLE_MAX);
    if ((err = mm_os_read_file(src, &a)) < 0)
        goto out;
    if (mm_os_read_file(dst, &b) == 0 && a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0)
        goto out; /* the same: not rewritten */
    mm_error_clear();
    if ((err = mm_os_write_atomic(dst, a.ptr ? a.ptr : "", a.len)) < 0)
        goto out;
    if (chmod(dst, 0755) != 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot make a file of bin/ executable");
out:
    mm_buf_release(&a);
    mm_buf_release(&b);
    return err;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int mm_backup_medium_bundle(const char *repo)
{
    char bin[MM_LIMIT_PATH], lib[MM_LIMIT_PATH], dst[MM_LIMIT_PATH];
    struct libs l = { 0 };
    char *exe = NULL;
    int err = 0;

    if (!(exe = realpath("/proc/self/exe", NULL)))
        return mm_error_set_errno(MM_EIO, errno, "cannot find this program's file");
    if (strncmp(base_name(exe), "ld-", 3) == 0) {
        free(exe); /* started through the loader (from a medium): the program is not known */
        return 1;
    }
    dl_iterate_phdr(lib_cb, &l);
    if (l.over) {
        err = mm_error_set(MM_ELIMIT, "more than %d shared libraries", BUNDLE_FILES);
        goto out;
    }
    if (snprintf(bin, sizeof(bin), "%s/bin", repo) >= (int)sizeof(bin) ||
        snprintf(lib, sizeof(lib), "%s/bin/lib", repo) >= (int)sizeof(lib) ||
        snprintf(dst, sizeof(dst), "%s/mamori", bin) >= (int)sizeof(dst)) {
        err = mm_error_set(MM_ELIMIT, "repository path too long");
        goto out;
    }
    if ((err = mm_os_mkdir_p(lib, 0755)) < 0 || (err = copy_if_changed(exe, dst)) < 0)
        goto out;
    for (size_t i = 0; i < l.n && err == 0; i++) {
        if (snprintf(dst, sizeof(dst), "%s/%s", lib, base_name(l.path[i])) >= (int)sizeof(dst))
            err = mm_error_set(MM_ELIMIT, "repository path too long");
        else
            err = copy_if_changed(l.path[i], dst);
    }
out:
    for (size_t i = 0; i < l.n; i++)
        free(l.path[i]);
    free(exe);
    return err;
}
