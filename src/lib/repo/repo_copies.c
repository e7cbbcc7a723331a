/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Second copies of the small critical files (marker, config, key slots, medium label, head):
 * each is written as <name> and <name>.2 beside it through the backend, the second only once
 * the first is stored (flushed). A reader takes the first copy its caller calls intact (MAC,
 * signature, checksum) and records what it found about the other one on the handle: verify
 * reports a damaged or missing copy, and mm_repo__copies_repair() (run when a writer takes
 * the exclusive lock) rewrites it from the intact one. One flipped byte then costs nothing.
 * A repository made before second copies existed has none: missing copies there are
 * information, not damage, and the first write with the key adds them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "os/os.h"
#include "repo/repo_int.h"

/* The name of copy @which (1 or 2) of @rel. */
static int copy_rel(const char *rel, int which, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", rel, which == 2 ? ".2" : "");

    if (n < 0 || (size_t)n >= cap)
        return mm_error_set(MM_ELIMIT, "repository path too long");
    return 0;
}

/* The write kind of the critical file @rel: the medium label and the head are rewritten,
 * the rest (marker, config, key slots, guard acceptances) written once. */
static int copy_kind(const char *rel)
{
    return strcmp(rel, "medium") == 0 || strcmp(rel, MM_REPO_HEAD_FILE) == 0 ? MM_REPO_BE_REPLACE
                                                                             : MM_REPO_BE_ONCE;
}

int mm_repo__write2(mm_repo *r, const char *rel, const void *data, size_t n)
{
    char name[MM_LIMIT_PATH];
    int err;

    for (int which = 1; which <= 2; which++) {
        if ((err = copy_rel(rel, which, name, sizeof(name))) < 0 ||
            (err = r->be->ops->write(r->be, name, data, n, copy_kind(rel))) < 0)
            return err;
        /* the second copy only once the first is stored */
        if (which == 1 && (err = mm_repo__flush(r)) < 0)
            return err;
    }
    mm_repo__copy_forget(r, rel);
    return 0;
}

void mm_repo__copy_forget(mm_repo *r, const char *rel)
{
    for (size_t i = 0; i < r->ncopies; i++)
        if (strcmp(r->copies[i].rel, rel) == 0) {
            mm_free(r->copies[i].good);
            r->copies[i] = r->copies[--r->ncopies];
            return;
        }
}

int mm_repo__copy_note(mm_repo *r, const char *rel, unsigned flags, const void *good, size_t n)
{
    struct mm_repo__copy *c = NULL;

    mm_repo__copy_forget(r, rel);
    if (!flags)
        return 0;
    if (r->ncopies == r->capcopies) {
        size_t ncap = r->capcopies ? r->capcopies * 2 : 8;
        struct mm_repo__copy *nv = mm_realloc(r->copies, ncap * sizeof(*nv));
        if (!nv)
            return mm_error_set(MM_ENOMEM, "out of memory");
        r->copies = nv;
        r->capcopies = ncap;
    }
    c = &r->copies[r->ncopies];
    memset(c, 0, sizeof(*c));
    snprintf(c->rel, sizeof(c->rel), "%s", rel);
    c->flags = flags;
    if (good) {
        if (!(c->good = mm_malloc(n ? n : 1)))
            return mm_error_set(MM_ENOMEM, "out of memory");
        memcpy(c->good, good, n);
        c->n = n;
    }
    r->ncopies++;
    return 0;
}

/* Read copy @which of @rel into @b (cleared first). @return 0, MM_ENOTFOUND, MM_ELIMIT, MM_EIO */
static int read_copy(mm_repo *r, const char *rel, int which, mm_buf *b)
{
    char name[MM_LIMIT_PATH];
    int err;

    mm_buf_clear(b);
    if ((err = copy_rel(rel, which, name, sizeof(name))) < 0)
        return err;
    return mm_repo__read(r, name, b);
}

/* MM_REPO__COPY*_MISSING or *_BAD of copy @which from its read result and check. */
static unsigned judge(mm_repo *r, const char *rel, int which, mm_buf *b, mm_repo__intact_fn ok,
                      void *arg, int *read_err)
{
    int err = read_copy(r, rel, which, b), bad;

    *read_err = err;
    if (err == MM_ENOTFOUND)
        return which == 1 ? MM_REPO__COPY1_MISSING : MM_REPO__COPY2_MISSING;
    if (err == MM_ELIMIT || (err == 0 && (bad = ok(b->ptr ? b->ptr : "", b->len, arg)) < 0)) {
        *read_err = err == MM_ELIMIT ? MM_ECORRUPT : bad; /* what the check says */
        return which == 1 ? MM_REPO__COPY1_BAD : MM_REPO__COPY2_BAD;
    }
    return 0;
}

int mm_repo__read2(mm_repo *r, const char *rel, mm_buf *out, mm_repo__intact_fn ok, void *arg)
{
    char why[256] = "";
    unsigned f1, f2;
    mm_buf other;
    int e1 = 0, e2 = 0, err = 0;

    mm_buf_init(&other, out->limit);
    f1 = judge(r, rel, 1, out, ok, arg, &e1);
    if (f1 & MM_REPO__COPY1_BAD)
        snprintf(why, sizeof(why), "%s", mm_error_last());
    mm_error_clear();
    if (e1 < 0 && !f1) {
        err = e1; /* an I/O error is not damage: say it as it is */
        goto out;
    }
    f2 = judge(r, rel, 2, &other, ok, arg, &e2);
    mm_error_clear();
    if (f1 == 0) {
        /* both intact but different: the second is stale (an older mamori rewrote the first) */
        if (f2 == 0 && e2 == 0 &&
            (other.len != out->len || memcmp(other.ptr, out->ptr, out->len) != 0))
            f2 = MM_REPO__COPY2_BAD;
        /* copy 2 of an old repository is missing: noted, judged by the caller (info) */
        err = mm_repo__copy_note(r, rel, f2, out->ptr, out->len);
        goto out;
    }
    if (f2 == 0 && e2 == 0) {
        mm_buf_clear(out);
        if ((err = mm_buf_put(out, other.ptr ? other.ptr : "", other.len)) == 0)
            err = mm_repo__copy_note(r, rel, f1, other.ptr, other.len);
        goto out;
    }
    if ((f1 & MM_REPO__COPY1_MISSING) && (f2 & MM_REPO__COPY2_MISSING))
        err = mm_error_set(MM_ENOTFOUND, "'%s' is missing", rel);
    else /* the check's own code (MM_EAUTH: a label signed by another key) */
        err = mm_error_set((f1 & MM_REPO__COPY1_BAD) && e1 < 0 ? e1 : MM_ECORRUPT,
                           "'%s' is damaged and has no intact second copy (%s)", rel,
                           why[0] ? why : "missing");
out:
    mm_buf_release(&other);
    return err;
}

/* Write @n bytes at @p over copy @which of @rel (a damaged copy of a file written once is
 * replaced too: on a local folder a same-sized damaged file would otherwise stay). */
static int rewrite(mm_repo *r, const char *rel, int which, const void *p, size_t n)
{
    char name[MM_LIMIT_PATH];
    int err;

    if ((err = copy_rel(rel, which, name, sizeof(name))) < 0 ||
        (err = r->be->ops->write(r->be, name, p, n, MM_REPO_BE_REPLACE)) < 0)
        return err;
    return mm_repo__flush(r);
}

/* Rewrite the copies of @c that need it from its intact bytes. @return 0 or an mm_err */
static int repair_one(mm_repo *r, const struct mm_repo__copy *c)
{
    int err = 0;

    if (c->flags & (MM_REPO__COPY1_BAD | MM_REPO__COPY1_MISSING | MM_REPO__COPY1_OLD))
        err = rewrite(r, c->rel, 1, c->good, c->n);
    if (err == 0 && (c->flags & (MM_REPO__COPY2_BAD | MM_REPO__COPY2_MISSING)))
        err = rewrite(r, c->rel, 2, c->good, c->n);
    return err;
}

unsigned mm_repo__copies_repair(mm_repo *r)
{
    unsigned fixed = 0;

    /* the marker last: its check line says "this repository keeps second copies" */
    for (int marker = 0; marker <= 1; marker++)
        for (size_t i = 0; i < r->ncopies;) {
            struct mm_repo__copy *c = &r->copies[i];
            if (!c->good || (strcmp(c->rel, "mamori-repo") == 0) != marker) {
                i++;
                continue;
            }
            if (repair_one(r, c) < 0) {
                mm_error_clear(); /* best effort: verify keeps reporting it */
                i++;
                continue;
            }
            mm_log(MM_LOG_WARN,
                   (c->flags & (MM_REPO__COPY1_BAD | MM_REPO__COPY2_BAD))
                           ? "repaired the damaged copy of '%s' from its intact copy"
                           : "added the second copy of '%s'",
                   c->rel);
            if (marker)
                r->copies2 = 1;
            fixed++;
            mm_repo__copy_forget(r, c->rel); /* moves the last record here */
        }
    r->copies_repaired += fixed;
    return fixed;
}

void mm_repo__copies_release(mm_repo *r)
{
    for (size_t i = 0; i < r->ncopies; i++)
        mm_free(r->copies[i].good);
    mm_free(r->copies);
    r->copies = NULL;
    r->ncopies = r->capcopies = 0;
}
