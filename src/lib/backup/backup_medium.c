/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The viewer on the medium: the launcher `mamori-view.sh` next to the repository, the
 * emergency guide (緊急時の使い方.html/.txt and ASCII-named copies README-EMERGENCY.html/.txt,
 * rendered from share/medium/ with the medium's label and hospital), and a copy of this mamori
 * with the shared libraries it runs with (the dynamic loader included) under bin/, so that a
 * PC without mamori reads the medium: the launcher runs `bin/lib/ld-linux… --library-path
 * bin/lib bin/mamori view`; beside it the Windows viewer when a Windows build is found
 * (backup_medium_win.c). Written by init and media init and refreshed by every backup;
 * only the files that differ are rewritten (temporary name, fsync, rename). Every file is
 * listed with its size and SHA-256 for the generation's manifest (tag 17), from the bytes
 * written, so the list is known before anything is written; a file is compared by size,
 * then bytes, and a program's SHA-256 is remembered for the process by its identity (a
 * backup lists the files twice). File work only: which mamori and libraries are copied is
 * what this process runs with.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup_int.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "mm_config.h"
#include "os/os.h"
#include "repo/repo_backend.h"

#define LAUNCHER_NAME "mamori-view.sh"
#define BUNDLE_FILES  64 /* shared libraries at most */
#define GUIDE_MAX     (256u * 1024u)

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

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/*
 * Whether the medium's file @dst holds exactly the @n bytes @data: its size first (a file of
 * another size is not read), then its bytes. @p->old is the room for them.
 */
static int same_on_medium(struct mm_backup__pay *p, const char *dst, const void *data, size_t n)
{
    struct stat st;

    if (lstat(dst, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != n)
        return 0;
    mm_buf_clear(&p->old);
    if (mm_os_read_file(dst, &p->old) != 0) {
        mm_error_clear();
        return 0;
    }
    return p->old.len == n && (n == 0 || memcmp(p->old.ptr, data, n) == 0);
}

/* mm_backup__put() with the SHA-256 @h of the bytes known already. */
static int put_hashed(struct mm_backup__pay *p, const char *rel, const void *data, size_t n,
                      const unsigned char h[MM_REPO_SHA256_SIZE], mode_t mode)
{
    char dst[MM_LIMIT_PATH];
    int err;

    if ((err = mm_repo_viewer_add(p->list, rel, n, h)) < 0)
        return err;
    if (!(p->flags & MM_BACKUP_VIEWER_WRITE))
        return 0;
    if (snprintf(dst, sizeof(dst), "%s/%s", p->repo, rel) >= (int)sizeof(dst))
        return mm_error_set(MM_ELIMIT, "repository path too long");
    if (same_on_medium(p, dst, data, n))
        return 0; /* the same: not rewritten */
    if ((err = mm_os_write_atomic(dst, n ? data : "", n)) < 0)
        return err;
    if (chmod(dst, mode) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot set the mode of a viewer file");
    return 0;
}

int mm_backup__put(struct mm_backup__pay *p, const char *rel, const void *data, size_t n,
                   mode_t mode)
{
    unsigned char h[MM_REPO_SHA256_SIZE];

    mm_crypto_sha256(data, n, h);
    return put_hashed(p, rel, data, n, h, mode);
}

/*
 * The SHA-256 of the files put from the disk (this mamori, its libraries, the Windows
 * viewer), remembered for the process by the file's identity: a backup lists them twice (its
 * plan, then the write after the manifest), and hashing 26 MiB of programs twice was a sixth
 * of a small site's no-change backup. A file replaced or written meanwhile has another inode,
 * size, mtime or ctime and is hashed again.
 */
#define SEEN_MAX       (BUNDLE_FILES + 4)
#define SEEN_SETTLED_S 2 /* a file changed more recently is hashed every time */

struct seen {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    unsigned char sha256[MM_REPO_SHA256_SIZE];
};

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct seen seen[SEEN_MAX];
static size_t nseen, seen_next;

/* The identity of the file at @st. OUT: @out */
static void identity(const struct stat *st, struct seen *out)
{
    out->dev = st->st_dev;
    out->ino = st->st_ino;
    out->size = st->st_size;
    out->mtime = st->st_mtim;
    out->ctime = st->st_ctim;
}

static int same_file(const struct seen *a, const struct seen *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* The remembered SHA-256 of the file @id into @out. @return 1 known, 0 not */
static int seen_find(const struct seen *id, unsigned char out[MM_REPO_SHA256_SIZE])
{
    int found = 0;

    pthread_mutex_lock(&seen_lock);
    for (size_t i = 0; i < nseen && !found; i++)
        if (same_file(&seen[i], id)) {
            memcpy(out, seen[i].sha256, MM_REPO_SHA256_SIZE);
            found = 1;
        }
    pthread_mutex_unlock(&seen_lock);
    return found;
}

/* Remember @h for the file @id (the oldest entry replaced when full). */
static void seen_add(const struct seen *id, const unsigned char h[MM_REPO_SHA256_SIZE])
{
    struct seen *e;

    pthread_mutex_lock(&seen_lock);
    if (nseen < SEEN_MAX) {
        e = &seen[nseen++];
    } else {
        e = &seen[seen_next];
        seen_next = (seen_next + 1) % SEEN_MAX;
    }
    *e = *id;
    memcpy(e->sha256, h, MM_REPO_SHA256_SIZE);
    pthread_mutex_unlock(&seen_lock);
}

int mm_backup__put_file(struct mm_backup__pay *p, const char *rel, const char *src, mode_t mode,
                        const char *magic)
{
    unsigned char h[MM_REPO_SHA256_SIZE];
    struct seen before = { 0 }, after = { 0 };
    struct timespec now;
    struct stat st;
    mm_buf b;
    int err, stable;

    mm_buf_init(&b, MM_REPO_VIEWER_FILE_MAX);
    if (stat(src, &st) != 0) {
        err = mm_error_set_errno(MM_EIO, errno, "cannot read '%s'", src);
        goto out;
    }
    identity(&st, &before);
    if ((err = mm_os_read_file(src, &b)) < 0)
        goto out;
    if (magic && (b.len < strlen(magic) || memcmp(b.ptr, magic, strlen(magic)) != 0)) {
        err = mm_error_set(MM_EINVAL, "'%s' is not a Windows program", src);
        goto out;
    }
    /* the same file from before to after the read, and not changed in the last seconds (a
     * write within the file system's timestamp tick would leave its identity as it was, as
     * git's "racily clean" entries): the bytes read are the ones remembered */
    stable = stat(src, &st) == 0 && (identity(&st, &after), same_file(&before, &after)) &&
             (uint64_t)st.st_size == b.len && clock_gettime(CLOCK_REALTIME, &now) == 0 &&
             st.st_ctim.tv_sec + SEEN_SETTLED_S < now.tv_sec;
    if (!stable || !seen_find(&after, h)) {
        mm_crypto_sha256(b.ptr, b.len, h);
        if (stable)
            seen_add(&after, h);
    }
    err = put_hashed(p, rel, b.ptr, b.len, h, mode);
out:
    mm_buf_release(&b);
    return err;
}

/* put() the file @src (read whole) as @rel, executable. */
static int put_file(struct mm_backup__pay *p, const char *rel, const char *src)
{
    return mm_backup__put_file(p, rel, src, 0755, NULL);
}

/* bin/: this mamori and its libraries. @return 0, 1 when not done (started through the
 * loader, from a medium: the program is not known), or an mm_err */
static int put_bundle(struct mm_backup__pay *p)
{
    char lib[MM_LIMIT_PATH], rel[MM_LIMIT_PATH];
    struct libs l = { 0 };
    char *exe = NULL;
    int err = 0;

    if (!(exe = realpath("/proc/self/exe", NULL)))
        return mm_error_set_errno(MM_EIO, errno, "cannot find this program's file");
    if (strncmp(base_name(exe), "ld-", 3) == 0) {
        free(exe);
        return 1;
    }
    dl_iterate_phdr(lib_cb, &l);
    if (l.over) {
        err = mm_error_set(MM_ELIMIT, "more than %d shared libraries", BUNDLE_FILES);
        goto out;
    }
    if (snprintf(lib, sizeof(lib), "%s/bin/lib", p->repo) >= (int)sizeof(lib)) {
        err = mm_error_set(MM_ELIMIT, "repository path too long");
        goto out;
    }
    if ((p->flags & MM_BACKUP_VIEWER_WRITE) && (err = mm_os_mkdir_p(lib, 0755)) < 0)
        goto out;
    if ((err = put_file(p, "bin/mamori", exe)) < 0)
        goto out;
    for (size_t i = 0; i < l.n && err == 0; i++) {
        if (snprintf(rel, sizeof(rel), "bin/lib/%s", base_name(l.path[i])) >= (int)sizeof(rel))
            err = mm_error_set(MM_ELIMIT, "library name too long");
        else
            err = put_file(p, rel, l.path[i]);
    }
out:
    for (size_t i = 0; i < l.n; i++)
        free(l.path[i]);
    free(exe);
    return err;
}

/* Append @s to @out, HTML-escaped when @html. */
static int add_text(mm_buf *out, const char *s, int html)
{
    int err = 0;

    for (; *s && err == 0; s++) {
        const char *e = !html        ? NULL
                        : *s == '&'  ? "&amp;"
                        : *s == '<'  ? "&lt;"
                        : *s == '>'  ? "&gt;"
                        : *s == '"'  ? "&quot;"
                        : *s == '\'' ? "&#39;"
                                     : NULL;
        err = e ? mm_buf_put(out, e, strlen(e)) : mm_buf_put(out, s, 1);
    }
    return err;
}

/*
 * Render the guide template @t (@n bytes) into @out: {{label}}, {{hospital}}, {{version}}
 * filled in (escaped in HTML); {{windows}}…{{/windows}} kept only when @windows, and
 * {{nowindows}}…{{/nowindows}} only without. Text: a BOM first and CRLF line ends.
 */
static int render(const char *t, size_t n, int html, const struct mm_repo_medium *m, int windows,
                  mm_buf *out)
{
    const char *label = m && m->label[0] ? m->label : "（ラベルなし / unlabelled）";
    const char *hosp = m && m->hospital[0] ? m->hospital : "（未設定 / not set）";
    int skip = 0, err = html ? 0 : mm_buf_put(out, "\xef\xbb\xbf", 3);

    for (size_t i = 0; i < n && err == 0;) {
        const char *end;
        size_t k;
        if (t[i] != '{' || i + 1 >= n || t[i + 1] != '{' ||
            !(end = memmem(t + i, n - i, "}}", 2))) {
            if (!skip && !html && t[i] == '\n')
                err = mm_buf_put(out, "\r\n", 2);
            else if (!skip)
                err = mm_buf_put(out, t + i, 1);
            i++;
            continue;
        }
        k = (size_t)(end - (t + i)) + 2;
#define IS(s) (k == sizeof("{{" s "}}") - 1 && memcmp(t + i, "{{" s "}}", k) == 0)
        if (IS("windows") || IS("nowindows"))
            skip = IS("windows") ? !windows : windows;
        else if (IS("/windows") || IS("/nowindows"))
            skip = 0;
        else if (!skip && IS("label"))
            err = add_text(out, label, html);
        else if (!skip && IS("hospital"))
            err = add_text(out, hosp, html);
        else if (!skip && IS("version"))
            err = add_text(out, MM_VERSION, html);
        else if (!skip)
            err = mm_buf_put(out, t + i, k); /* not a placeholder */
#undef IS
        i += k;
    }
    return err;
}

/* The guide: each template under both names; its Windows step for @windows (1: the Windows
 * viewer is on the medium). */
static int put_guide(struct mm_backup__pay *p, const struct mm_repo_medium *m, int windows)
{
    static const char *const names[][3] = {
        { "guide.html", "緊急時の使い方.html", "README-EMERGENCY.html" },
        { "guide.txt", "緊急時の使い方.txt", "README-EMERGENCY.txt" },
    };
    mm_buf b;
    int err = 0;

    mm_buf_init(&b, GUIDE_MAX);
    for (size_t i = 0; i < 2 && err == 0; i++) {
        const struct mm_backup__asset *a = mm_backup__guide_assets;
        while (a->name && strcmp(a->name, names[i][0]) != 0)
            a++;
        if (!a->name) {
            err = mm_error_set(MM_ENOTFOUND, "no built-in guide '%s'", names[i][0]);
            break;
        }
        mm_buf_clear(&b);
        if ((err = render((const char *)a->data, a->size, i == 0, m, windows, &b)) < 0 ||
            (err = mm_backup__put(p, names[i][1], b.ptr, b.len, 0644)) < 0 ||
            (err = mm_backup__put(p, names[i][2], b.ptr, b.len, 0644)) < 0)
            break;
    }
    mm_buf_release(&b);
    return err;
}

/* Whether the medium at @repo holds bin/mamori.exe (a refresh that leaves bin/ alone). */
static int exe_on_medium(const char *repo)
{
    char exe[MM_LIMIT_PATH];
    struct stat st;

    return snprintf(exe, sizeof(exe), "%s/bin/mamori.exe", repo) < (int)sizeof(exe) &&
           stat(exe, &st) == 0 && S_ISREG(st.st_mode);
}

int mm_backup_medium_viewer(const char *repo, const struct mm_repo_medium *m, unsigned int flags,
                            const char *windows_exe, struct mm_repo_viewer **out)
{
    struct mm_backup__pay p = { 0 };
    int err = 0, windows = 0;

    MM_ASSERT_ARG(repo);
    if (out)
        *out = NULL;
    if (mm_repo_be_is_s3(repo)) /* an object store is no medium: nothing runs from it */
        return mm_error_set(MM_EINVAL, "an S3 repository holds no viewer");
    p.repo = repo;
    p.flags = flags;
    if (!(p.list = mm_calloc(1, sizeof(*p.list))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    mm_buf_init(&p.old, MM_REPO_VIEWER_FILE_MAX);
    if (!(flags & MM_BACKUP_VIEWER_BIN) || (err = put_bundle(&p)) == 1) {
        p.list->flags |= MM_REPO_VIEWER_NO_BIN;
        /* bin/ left alone: nothing of Windows listed. Only a caller on the medium itself may
         * look at it: a staging's plan would see the shadow, its window the medium, and
         * their guides would differ (verify: changed) */
        windows = (flags & MM_BACKUP_VIEWER_SEE_MEDIUM) && exe_on_medium(repo);
        err = 0;
    } else if (err == 0) { /* bin/ written: the Windows viewer beside this mamori, if found */
        err = mm_backup__put_windows(&p, windows_exe);
        windows = err == 0;
        err = err == 1 ? 0 : err;
    }
    if (err == 0 &&
        (err = mm_backup__put(&p, LAUNCHER_NAME, launcher, sizeof(launcher) - 1, 0755)) == 0)
        err = put_guide(&p, m, windows);
    mm_buf_release(&p.old);
    if (err < 0 || !out)
        mm_repo_viewer_free(p.list);
    else
        *out = p.list;
    return err < 0 ? err : 0;
}

int mm_backup_medium_has_windows(const struct mm_repo_viewer *v)
{
    for (size_t i = 0; v && i < v->n; i++)
        if (strcmp(v->files[i].path, MM_BACKUP_WINDOWS_EXE) == 0)
            return 1;
    return 0;
}

int mm_backup_medium_relabel(mm_repo *r, const char *repo)
{
    struct mm_repo_medium m;
    struct mm_repo_gen g;
    int err, labelled;

    MM_ASSERT_ARG(r && repo);
    if ((err = mm_repo_gen_find(r, "latest", &g)) == 0) {
        mm_repo_gen_release(&g);
        return 1; /* its manifest lists the guide on the medium: the next backup rewrites it */
    }
    if (err != MM_ENOTFOUND)
        return err;
    labelled = mm_repo_medium_get(r, &m) == 0;
    mm_error_clear();
    return mm_backup_medium_viewer(repo, labelled ? &m : NULL,
                                   MM_BACKUP_VIEWER_WRITE | MM_BACKUP_VIEWER_SEE_MEDIUM, NULL,
                                   NULL);
}
