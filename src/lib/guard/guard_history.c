/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's guard folder: per source the figures of its clean runs
 * (history-<source>.txt: a header line, then one line per run, newest last, at most
 * MM_GUARD__HISTORY_KEEP) and the standing suspects (standing.txt: a header line, then
 * "<generation> <repository|-> <medium|-> <time>" per line, the medium's label %-escaped).
 * Every file is small text, read whole within MM_GUARD__FILE_MAX and replaced crash-safely
 * (temporary name, fsync, rename, fsync of the folder: mm_os_write_atomic). A file that does
 * not parse, or is too large, is MM_ECORRUPT with a message naming the file and line, never a
 * crash; a missing one is empty.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "guard/guard_int.h"
#include "os/os.h"

#define HISTORY_HEAD  "mamori-guard-history 1\n"
#define STANDING_HEAD "mamori-guard-standing 1\n"
#define STANDING_FILE "standing.txt"

void mm_guard__safe_name(const char *name, char *out, size_t cap)
{
    size_t i, o = 0;

    for (i = 0; name && name[i] && o + 1 < cap && o < 64; i++) {
        unsigned char c = (unsigned char)name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || (c == '.' && o > 0);
        out[o++] = ok ? (char)c : '_';
    }
    if (!o && cap > 2)
        out[o++] = '_';
    out[o] = 0;
}

int mm_guard__write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    int rc;

    if ((rc = mm_os_mkdir_p(dir, 0700)) < 0)
        return rc;
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return mm_error_set(MM_EIO, "guard folder path too long");
    return mm_os_write_atomic(path, p, n);
}

int mm_guard__read_file(const char *dir, const char *name, mm_buf *out)
{
    char path[4096], red[512];
    int rc;

    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return mm_error_set(MM_EIO, "guard folder path too long");
    mm_buf_init(out, MM_GUARD__FILE_MAX);
    rc = mm_os_read_file(path, out);
    if (rc == MM_ELIMIT)
        rc = mm_error_set(MM_ECORRUPT, "guard file '%s' is damaged: larger than %u bytes",
                          mm_log_path(red, sizeof(red), path), MM_GUARD__FILE_MAX);
    if (!rc && out->len && memchr(out->ptr, 0, out->len))
        rc = mm_error_set(MM_ECORRUPT, "guard file '%s' is damaged: not text",
                          mm_log_path(red, sizeof(red), path));
    if (rc < 0)
        mm_buf_release(out);
    return rc;
}

/* Cut @b into lines after checking its header @head: *@line walks them. @return 1 a line,
 * 0 the end */
static int next_line(char **cur, char **line)
{
    char *nl;

    if (!*cur || !**cur)
        return 0;
    *line = *cur;
    nl = strchr(*cur, '\n');
    if (nl) {
        *nl = 0;
        *cur = nl + 1;
    } else {
        *cur = NULL;
    }
    return 1;
}

static int damaged(const char *file, size_t line)
{
    return mm_error_set(MM_ECORRUPT, "guard file '%s' is damaged at line %zu", file, line);
}

int mm_guard__history_read(const char *dir, const char *name, struct mm_guard__run **out, size_t *n)
{
    char safe[80], file[96], *cur, *line;
    mm_buf b;
    struct mm_guard__run *v = NULL;
    size_t nv = 0, lineno = 1;
    int rc;

    *out = NULL;
    *n = 0;
    mm_guard__safe_name(name, safe, sizeof(safe));
    snprintf(file, sizeof(file), "history-%s.txt", safe);
    rc = mm_guard__read_file(dir, file, &b);
    if (rc == MM_ENOTFOUND) {
        mm_error_clear();
        return 0;
    }
    if (rc < 0)
        return rc;
    if (!b.ptr || strncmp(b.ptr, HISTORY_HEAD, strlen(HISTORY_HEAD))) {
        rc = damaged(file, 1);
        goto out;
    }
    if (!(v = mm_calloc(b.len / 12 + 1, sizeof(*v)))) {
        rc = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    cur = b.ptr + strlen(HISTORY_HEAD);
    while (next_line(&cur, &line)) {
        struct mm_guard__run r;
        char extra;
        lineno++;
        if (sscanf(line,
                   "%" SCNd64 " %" SCNd64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 "%c",
                   &r.time_s, &r.span_s, &r.total, &r.added, &r.modified, &r.deleted,
                   &extra) != 6 ||
            r.span_s < 0) {
            rc = damaged(file, lineno);
            goto out;
        }
        v[nv++] = r;
    }
    *out = v;
    *n = nv;
    v = NULL;
out:
    mm_free(v);
    mm_buf_release(&b);
    return rc;
}

int mm_guard__history_add(const char *dir, const char *name, const struct mm_guard__run *run)
{
    char safe[80], file[96];
    struct mm_guard__run *h = NULL;
    size_t nh = 0, i;
    mm_buf b;
    int rc;

    mm_guard__safe_name(name, safe, sizeof(safe));
    snprintf(file, sizeof(file), "history-%s.txt", safe);
    mm_buf_init(&b, MM_GUARD__FILE_MAX);
    /* a damaged history starts again: the new run is its first line */
    if ((rc = mm_guard__history_read(dir, name, &h, &nh)) == MM_ECORRUPT)
        mm_error_clear();
    else if (rc < 0)
        goto out;
    rc = mm_buf_puts(&b, HISTORY_HEAD);
    for (i = nh >= MM_GUARD__HISTORY_KEEP ? nh - MM_GUARD__HISTORY_KEEP + 1 : 0; !rc && i < nh; i++)
        rc = mm_buf_printf(
                &b, "%" PRId64 " %" PRId64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                h[i].time_s, h[i].span_s, h[i].total, h[i].added, h[i].modified, h[i].deleted);
    if (!rc)
        rc = mm_buf_printf(
                &b, "%" PRId64 " %" PRId64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                run->time_s, run->span_s, run->total, run->added, run->modified, run->deleted);
    if (!rc)
        rc = mm_guard__write_file(dir, file, b.ptr, b.len);
out:
    mm_free(h);
    mm_buf_release(&b);
    return rc;
}

/* ---- standing suspects ------------------------------------------------------------------ */

static int is_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == 0;
}

/* The medium label %-escaped (spaces and bytes outside printable ASCII), "-" when empty. */
static int put_medium(mm_buf *b, const char *m)
{
    int rc = 0;

    if (!m[0])
        return mm_buf_putc(b, '-');
    for (; *m && !rc; m++) {
        unsigned char c = (unsigned char)*m;
        rc = c > 0x20 && c < 0x7f && c != '%' ? mm_buf_putc(b, c) : mm_buf_printf(b, "%%%02x", c);
    }
    return rc;
}

/* Undo put_medium into @out. @return 0, or -1 when @s is malformed or too long */
static int get_medium(const char *s, char *out, size_t cap)
{
    size_t o = 0;

    if (!strcmp(s, "-")) {
        out[0] = 0;
        return 0;
    }
    for (; *s; s++) {
        unsigned v = (unsigned char)*s;
        if (*s == '%') {
            if (sscanf(s + 1, "%2x", &v) != 1 || !s[1] || !s[2])
                return -1;
            s += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)v;
    }
    out[o] = 0;
    return 0;
}

/* Parse one standing line into @s. @return 0, or -1 */
static int parse_standing(char *line, struct mm_guard_standing *s)
{
    char gen[80], repo[80], medium[200], extra;
    int64_t t;

    memset(s, 0, sizeof(*s));
    if (sscanf(line, "%79s %79s %199s %" SCNd64 "%c", gen, repo, medium, &t, &extra) != 4)
        return -1;
    if (strlen(gen) != 64 || !is_hex(gen, 64))
        return -1;
    /* a repository ID is 32 hex digits today (mm_repo_id); any up to 64 is kept */
    if (strcmp(repo, "-") && (strlen(repo) > 64 || !is_hex(repo, strlen(repo))))
        return -1;
    if (get_medium(medium, s->medium, sizeof(s->medium)) < 0)
        return -1;
    memcpy(s->gen, gen, 65);
    if (strcmp(repo, "-"))
        memcpy(s->repo_id, repo, strlen(repo) + 1);
    s->time_s = t;
    return 0;
}

int mm_guard_standing_list(const char *dir, struct mm_guard_standing **out, size_t *n)
{
    mm_buf b;
    char *cur, *line;
    struct mm_guard_standing *v = NULL;
    size_t nv = 0, lineno = 1;
    int rc;

    MM_ASSERT_ARG(dir && out && n);
    *out = NULL;
    *n = 0;
    rc = mm_guard__read_file(dir, STANDING_FILE, &b);
    if (rc == MM_ENOTFOUND) {
        mm_error_clear();
        return 0;
    }
    if (rc < 0)
        return rc;
    if (!b.ptr || strncmp(b.ptr, STANDING_HEAD, strlen(STANDING_HEAD))) {
        rc = damaged(STANDING_FILE, 1);
        goto out;
    }
    if (!(v = mm_calloc(b.len / 70 + 1, sizeof(*v)))) {
        rc = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    cur = b.ptr + strlen(STANDING_HEAD);
    while (next_line(&cur, &line)) {
        lineno++;
        if (parse_standing(line, &v[nv]) < 0) {
            rc = damaged(STANDING_FILE, lineno);
            goto out;
        }
        nv++;
    }
    if (nv) {
        *out = v;
        *n = nv;
        v = NULL;
    }
out:
    mm_free(v);
    mm_buf_release(&b);
    return rc;
}

/* Write the standing list @v (@n) to @dir. */
static int standing_write(const char *dir, const struct mm_guard_standing *v, size_t n)
{
    mm_buf b;
    size_t i;
    int rc;

    mm_buf_init(&b, MM_GUARD__FILE_MAX);
    rc = mm_buf_puts(&b, STANDING_HEAD);
    for (i = 0; !rc && i < n; i++) {
        rc = mm_buf_printf(&b, "%s %s ", v[i].gen, v[i].repo_id[0] ? v[i].repo_id : "-");
        if (!rc)
            rc = put_medium(&b, v[i].medium);
        if (!rc)
            rc = mm_buf_printf(&b, " %" PRId64 "\n", v[i].time_s);
    }
    if (!rc)
        rc = mm_guard__write_file(dir, STANDING_FILE, b.ptr, b.len);
    mm_buf_release(&b);
    return rc;
}

int mm_guard__standing_add(const char *dir, const struct mm_guard_standing *s)
{
    struct mm_guard_standing *v = NULL, *w = NULL;
    size_t n = 0, i, m = 0;
    int rc;

    /* a damaged list is not made whole by forgetting it: the caller reports the error */
    if ((rc = mm_guard_standing_list(dir, &v, &n)) < 0)
        return rc;
    if (!(w = mm_calloc(n + 1, sizeof(*w)))) {
        rc = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++)
        if (strcmp(v[i].gen, s->gen))
            w[m++] = v[i];
    w[m++] = *s;
    rc = standing_write(dir, w, m);
out:
    mm_free(v);
    mm_free(w);
    return rc;
}

int mm_guard_standing_clear(const char *dir, const char *gen)
{
    struct mm_guard_standing *v = NULL;
    size_t n = 0, i, m = 0;
    int rc, found = 0;

    MM_ASSERT_ARG(dir && gen);
    if ((rc = mm_guard_standing_list(dir, &v, &n)) < 0)
        return rc == MM_ECORRUPT || rc == MM_ENOMEM ? rc : MM_EIO;
    for (i = 0; i < n; i++) {
        if (!strcmp(v[i].gen, gen))
            found = 1;
        else
            v[m++] = v[i];
    }
    rc = found ? standing_write(dir, v, m) : 0;
    mm_free(v);
    return rc < 0 ? rc : found;
}
