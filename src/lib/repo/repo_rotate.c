/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key rotation: a new master key changes every object ID, so re-keying a repository means
 * copying its generations into a new one. Oldest first, each generation is restored into a
 * private work folder, backed up into the new repository as a copy (its name, times, host,
 * user, sources, guard verdict, patient-index check, SS-MIX2 storages, viewer list and patient
 * index kept; IDs, parent and counts are the new repository's; the viewer list only for the
 * newest, whose viewer files are copied to the new medium first), restored again from the new
 * repository and compared byte for byte with the first restore, and only then recorded in the
 * new repository's state file (<new>/rotate-state: the old generation's ID and its copy's).
 * A run killed anywhere leaves the new repository consistent (a backup writes its manifest
 * last) and a rerun continues; a copy whose manifest was written but not recorded is found by
 * its times, compared and recorded. Workload: two restores and one backup per generation.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "repo/repo_int.h"
#include "repo/repo_rotate_int.h"

#define STATE_MAGIC "mamori-rotate 1\n"
#define STATE_LIMIT (64u * 1024u * 1024u)
#define INDEX_BLOCK (1024u * 1024u)
#define HEX         MM_CRYPTO_HEX_SIZE

struct pair {
    char old[HEX], cp[HEX];
};

struct rot {
    mm_repo *old, *newr;
    const char *to;
    const struct mm_repo_rotate_opts *o;
    char wold[MM_LIMIT_PATH], wnew[MM_LIMIT_PATH], widx[MM_LIMIT_PATH];
    const char *work;  /* the work folder (o->work) */
    struct pair *done; /* recorded in the state file */
    size_t ndone, capdone;
    const struct mm_repo_gen *last; /* the old repository's newest generation */
    struct mm_repo_gen *newgens;    /* the new repository's generations when the run began */
    size_t nnewgens;
    struct mm_repo_rotate_stats st;
};

void mm_repo__rotate_stamp(struct mm_repo_gen *g, const struct mm_repo_gen *from)
{
    g->start_ns = from->start_ns;
    g->end_ns = from->end_ns;
    g->host = from->host;
    g->user = from->user;
    g->guard = from->guard ? from->guard : g->guard;
    g->guard_reasons = from->guard_reasons;
    if (g->nsources == from->nsources)
        g->sources = from->sources;
}

/* The copy of old generation @id recorded in the state, or NULL. */
static const struct pair *recorded(const struct rot *t, const char *id)
{
    for (size_t i = 0; i < t->ndone; i++)
        if (strcmp(t->done[i].old, id) == 0)
            return &t->done[i];
    return NULL;
}

/* Add a pair to t->done. */
static int remember(struct rot *t, const char *old, const char *cp)
{
    if (t->ndone == t->capdone) {
        size_t ncap = t->capdone ? t->capdone * 2 : 16;
        struct pair *nv = mm_realloc(t->done, ncap * sizeof(*nv));
        if (!nv)
            return MM_ENOMEM;
        t->done = nv;
        t->capdone = ncap;
    }
    snprintf(t->done[t->ndone].old, HEX, "%s", old);
    snprintf(t->done[t->ndone].cp, HEX, "%s", cp);
    t->ndone++;
    return 0;
}

/* Write the state file: the old repository's ID and every recorded pair. */
static int state_write(struct rot *t)
{
    char path[MM_LIMIT_PATH];
    mm_buf b;
    int err;

    mm_buf_init(&b, STATE_LIMIT);
    if ((err = mm_buf_puts(&b, STATE_MAGIC)) < 0 ||
        (err = mm_buf_printf(&b, "from %s\n", mm_repo_id(t->old))) < 0)
        goto out;
    for (size_t i = 0; i < t->ndone; i++)
        if ((err = mm_buf_printf(&b, "%s %s\n", t->done[i].old, t->done[i].cp)) < 0)
            goto out;
    if ((err = mm_repo__path(t->newr, MM_REPO_ROTATE_STATE, path, sizeof(path))) < 0)
        goto out;
    err = mm_os_write_atomic(path, b.ptr, b.len);
out:
    mm_buf_release(&b);
    return err;
}

/* Whether @s is @n lower-case hex digits followed by @end. */
static int hex_at(const char *s, size_t n, char end)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == end;
}

/* Read the state file of t->newr. @return 0, MM_ENOTFOUND (none), MM_EEXISTS (another
 * repository's), MM_ECORRUPT */
static int state_read(struct rot *t)
{
    char path[MM_LIMIT_PATH];
    mm_buf b;
    const char *p;
    int err;

    mm_buf_init(&b, STATE_LIMIT);
    if ((err = mm_repo__path(t->newr, MM_REPO_ROTATE_STATE, path, sizeof(path))) < 0 ||
        (err = mm_os_read_file(path, &b)) < 0)
        goto out;
    p = b.ptr;
    if (b.len < strlen(STATE_MAGIC) + 38 || memcmp(p, STATE_MAGIC, strlen(STATE_MAGIC)) != 0 ||
        memcmp(p + strlen(STATE_MAGIC), "from ", 5) != 0 ||
        !hex_at(p + strlen(STATE_MAGIC) + 5, 32, '\n')) {
        err = mm_error_set(MM_ECORRUPT, "the rotation state '%s' is damaged", MM_REPO_ROTATE_STATE);
        goto out;
    }
    p += strlen(STATE_MAGIC) + 5;
    if (memcmp(p, mm_repo_id(t->old), 32) != 0) {
        err = mm_error_set(MM_EEXISTS,
                           "'%s' is the copy of another repository (%.32s), not of this one", t->to,
                           p);
        goto out;
    }
    for (p += 33; (size_t)(p - b.ptr) < b.len; p += 2 * (HEX - 1) + 2) {
        char a[HEX], c[HEX];
        if ((size_t)(b.ptr + b.len - p) < 2 * (HEX - 1) + 2 || !hex_at(p, HEX - 1, ' ') ||
            !hex_at(p + HEX, HEX - 1, '\n')) {
            err = mm_error_set(MM_ECORRUPT, "the rotation state '%s' is damaged",
                               MM_REPO_ROTATE_STATE);
            goto out;
        }
        memcpy(a, p, HEX - 1);
        a[HEX - 1] = '\0';
        memcpy(c, p + HEX, HEX - 1);
        c[HEX - 1] = '\0';
        if ((err = remember(t, a, c)) < 0)
            goto out;
    }
out:
    mm_buf_release(&b);
    return err;
}

/* Create the new repository like the old one, or open it again to continue. OUT: *resumed */
static int open_new(struct rot *t, int *resumed)
{
    const struct mm_repo_rotate_opts *o = t->o;
    struct mm_repo_init_opts io = { 0 };
    int err;

    *resumed = 0;
    /* any slot: a rerun may be given another --user than the slot the first run made */
    err = mm_repo_open(&t->newr, t->to, NULL, o->pass, o->passlen);
    if (err == MM_ENOTFOUND) {
        io.kdf = o->kdf;
        io.chunk = &t->old->cfg.chunk;
        io.zstd_level = t->old->cfg.zstd_level;
        io.pack_target = t->old->cfg.pack_target;
        io.format = t->old->version >= 3 ? 3 : 0;
        if ((err = mm_repo_init(t->to, o->user, o->pass, o->passlen, &io)) < 0 ||
            (err = mm_repo_open(&t->newr, t->to, o->user, o->pass, o->passlen)) < 0 ||
            (err = mm_repo_lock(t->newr, MM_REPO_LOCK_EXCLUSIVE, NULL)) < 0)
            return err;
        return state_write(t); /* from now on a rerun knows the folder is ours */
    }
    if (err < 0)
        return err;
    *resumed = 1;
    if ((err = mm_repo_lock(t->newr, MM_REPO_LOCK_EXCLUSIVE, NULL)) < 0 ||
        (err = mm_repo_generations(t->newr, &t->newgens, &t->nnewgens)) < 0)
        return err;
    err = state_read(t);
    if (err == MM_ENOTFOUND && t->nnewgens == 0) { /* killed between init and state */
        mm_error_clear();
        return state_write(t);
    }
    if (err == MM_ENOTFOUND)
        return mm_error_set(MM_EEXISTS,
                            "'%s' holds a repository that is not a rotation's copy: give an "
                            "empty or new folder",
                            t->to);
    return err;
}

/* Copy the patient index of @g of @r into the file @path. */
static int index_extract(mm_repo *r, const struct mm_repo_gen *g, const char *path)
{
    mm_repo_pages *pg = NULL;
    unsigned char *blk = NULL;
    uint64_t size, off;
    int fd = -1, err;

    if ((err = mm_repo_pages_open(r, g, 4 * INDEX_BLOCK, &pg)) < 0)
        return err;
    if (!(blk = mm_malloc(INDEX_BLOCK))) {
        err = MM_ENOMEM;
        goto out;
    }
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        err = mm_error_set_errno(MM_EIO, errno,
                                 "cannot write the patient index to the work "
                                 "folder");
        goto out;
    }
    size = mm_repo_pages_size(pg);
    for (off = 0; off < size; off += INDEX_BLOCK) {
        size_t n = size - off < INDEX_BLOCK ? (size_t)(size - off) : INDEX_BLOCK;
        if ((err = mm_repo_pages_read(pg, blk, n, off)) < 0 ||
            (err = mm_os_write_all(fd, blk, n, path)) < 0)
            goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    mm_free(blk);
    mm_repo_pages_free(pg);
    return err;
}

/* Whether the patient indexes of @a (of @ra) and @b (of @rb) hold the same bytes.
 * @return 1, 0, < 0 error */
static int index_same(mm_repo *ra, const struct mm_repo_gen *a, mm_repo *rb,
                      const struct mm_repo_gen *b)
{
    mm_repo_pages *pa = NULL, *pb = NULL;
    unsigned char *ba = NULL;
    uint64_t size;
    int rc;

    if (a->has_index != b->has_index)
        return 0;
    if (!a->has_index)
        return 1;
    if ((rc = mm_repo_pages_open(ra, a, INDEX_BLOCK, &pa)) < 0 ||
        (rc = mm_repo_pages_open(rb, b, INDEX_BLOCK, &pb)) < 0)
        goto out;
    if (!(ba = mm_malloc(2 * INDEX_BLOCK))) {
        rc = MM_ENOMEM;
        goto out;
    }
    size = mm_repo_pages_size(pa);
    rc = size == mm_repo_pages_size(pb);
    for (uint64_t off = 0; off < size && rc == 1; off += INDEX_BLOCK) {
        size_t n = size - off < INDEX_BLOCK ? (size_t)(size - off) : INDEX_BLOCK;
        if ((rc = mm_repo_pages_read(pa, ba, n, off)) < 0 ||
            (rc = mm_repo_pages_read(pb, ba + INDEX_BLOCK, n, off)) < 0)
            break;
        rc = memcmp(ba, ba + INDEX_BLOCK, n) == 0;
    }
out:
    mm_free(ba);
    mm_repo_pages_free(pa);
    mm_repo_pages_free(pb);
    return rc;
}

/* Remove what a killed restore into the work folder left beside "old" or "new": its
 * temporary sibling "<old|new>.mamori-restore-<pid>" (repo_restore_target.c). */
static int work_leftovers(struct rot *t)
{
    DIR *d = t->work ? opendir(t->work) : NULL;
    struct dirent *e;
    int err = 0;

    if (!d)
        return 0;
    while (err == 0 && (e = readdir(d)) != NULL) {
        char path[MM_LIMIT_PATH];
        if ((strncmp(e->d_name, "old.mamori-restore-", 19) != 0 &&
             strncmp(e->d_name, "new.mamori-restore-", 19) != 0) ||
            (size_t)snprintf(path, sizeof(path), "%s/%s", t->work, e->d_name) >= sizeof(path))
            continue;
        err = mm_repo__rotate_rmtree(path);
    }
    closedir(d);
    return err;
}

/* Empty the work folder's parts. */
static int work_clear(struct rot *t)
{
    int err;

    if ((err = mm_repo__rotate_rmtree(t->wold)) < 0 ||
        (err = mm_repo__rotate_rmtree(t->wnew)) < 0 ||
        (err = mm_repo__rotate_rmtree(t->widx)) < 0 || (err = work_leftovers(t)) < 0)
        return err;
    return 0;
}

/* Restore generation @id of @r into @to, refusing a damaged one. */
static int restore_whole(struct rot *t, mm_repo *r, const char *id, const char *to)
{
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_restore_stats rs = { 0 };
    int err;

    ro.threads = t->o->threads;
    ro.problem = t->o->problem;
    ro.ctx = t->o->ctx;
    if ((err = mm_os_mkdir_p(to, 0700)) < 0)
        return err;
    err = mm_repo_restore(r, id, to, &ro, &rs);
    if (err == MM_ENOTFOUND) { /* an empty generation: nothing to restore */
        mm_error_clear();
        err = 0;
    }
    if (err == 0 && rs.damaged > 0)
        err = mm_error_set(MM_ECORRUPT,
                           "generation '%.12s' has %llu damaged files: it cannot be copied whole "
                           "(verify names them)",
                           id, (unsigned long long)rs.damaged);
    return err;
}

/* Back up the restored generation @g into the new repository. OUT: id */
static int backup_copy(struct rot *t, const struct mm_repo_gen *g, char id[HEX])
{
    struct mm_repo_backup_opts bo = { 0 };
    struct mm_repo_source *src = NULL;
    char(*paths)[MM_LIMIT_PATH] = NULL;
    int err = 0;

    if (!(src = mm_calloc(g->nsources ? g->nsources : 1, sizeof(*src))) ||
        !(paths = mm_calloc(g->nsources ? g->nsources : 1, sizeof(*paths)))) {
        err = MM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < g->nsources; i++) {
        if (snprintf(paths[i], sizeof(paths[i]), "%s/%s", t->wold, g->sources[i].name) >=
            (int)sizeof(paths[i])) {
            err = mm_error_set(MM_ELIMIT, "path too long in the work folder");
            goto out;
        }
        if (mkdir(paths[i], 0700) != 0 && errno != EEXIST) { /* an empty source */
            err = mm_error_set_errno(MM_EIO, errno, "cannot write the work folder");
            goto out;
        }
        src[i].path = paths[i];
        src[i].kind = g->sources[i].kind;
    }
    bo.name = g->name;
    bo.threads = t->o->threads;
    bo.index_file = g->has_index ? t->widx : NULL;
    bo.check = g->check.present ? &g->check : NULL;
    bo.storages = g->storages;
    bo.nstorages = g->nstorages;
    /* what a backup left on the medium: on the new medium, only the last copy's is there */
    bo.viewer = g == t->last ? g->viewer : NULL;
    bo.copy_of = g;
    if (g->has_index && (err = index_extract(t->old, g, t->widx)) < 0)
        goto out;
    err = mm_repo_backup(t->newr, src, g->nsources, &bo, id, NULL);
out:
    mm_free(paths);
    mm_free(src);
    return err;
}

/* The copy of @g a killed run wrote but did not record (same times), or NULL. */
static const struct mm_repo_gen *unrecorded_copy(const struct rot *t, const struct mm_repo_gen *g)
{
    for (size_t i = 0; i < t->nnewgens; i++) {
        const struct mm_repo_gen *n = &t->newgens[i];
        int taken = 0;
        for (size_t k = 0; k < t->ndone && !taken; k++)
            taken = strcmp(t->done[k].cp, n->id) == 0;
        if (!taken && n->start_ns == g->start_ns && n->end_ns == g->end_ns)
            return n;
    }
    return NULL;
}

/* A person's acceptance of the suspect generation @g, signed again with the new key for its
 * copy @cpid (before the copy is recorded: a resumed run writes it again). */
static int carry_acceptance(struct rot *t, const struct mm_repo_gen *g, const char *cpid)
{
    struct mm_repo_guard_accept a;
    int err;

    if (!g->guard_accepted)
        return 0;
    if ((err = mm_repo_guard_accepted(t->old, g->id, &a)) != 1)
        return err < 0 ? err : 0; /* (it verified when the generations were read) */
    snprintf(a.gen, sizeof(a.gen), "%s", cpid);
    return mm_repo__guard_write(t->newr, &a);
}

/* Compare the copy @cpid with @g (restored in t->wold) and record it. */
static int check_and_record(struct rot *t, const struct mm_repo_gen *g, const char *cpid)
{
    struct mm_repo__rotate_cmp c = { 0 };
    struct mm_repo_gen cg = { 0 };
    struct mm_repo_rotate_event ev = { 0 };
    int err, same;

    if ((err = restore_whole(t, t->newr, cpid, t->wnew)) < 0 ||
        (err = mm_repo_gen_find(t->newr, cpid, &cg)) < 0)
        goto out;
    if ((same = mm_repo__rotate_cmp_tree(t->wold, t->wnew, &c)) == 1)
        same = index_same(t->old, g, t->newr, &cg);
    if (same < 0) {
        err = same == MM_ENOMEM ? mm_error_set(MM_ENOMEM, "out of memory") : same;
        goto out;
    }
    if (!same) {
        err = mm_error_set(MM_ECORRUPT,
                           "the copy '%.12s' of generation '%.12s' differs from it: it is not "
                           "recorded",
                           cpid, g->id);
        goto out;
    }
    if ((err = carry_acceptance(t, g, cpid)) < 0 || (err = remember(t, g->id, cpid)) < 0 ||
        (err = state_write(t)) < 0)
        goto out;
    t->st.copied++;
    t->st.files += c.files;
    t->st.bytes += c.bytes;
    ev.step = MM_REPO_ROTATE_COPIED;
    ev.newr = t->newr;
    ev.old_gen = g->id;
    ev.new_gen = cpid;
    ev.files = c.files;
    ev.bytes = c.bytes;
    ev.total = t->st.total;
    ev.done = t->ndone;
    ev.skipped = t->st.skipped;
    err = work_clear(t);
    if (err == 0 && t->o->event && (err = t->o->event(&ev, t->o->ctx)) < 0 && !*mm_error_last())
        mm_error_set(err, "the rotation was stopped");
out:
    mm_repo_gen_release(&cg);
    return err;
}

/* Copy one generation @g of the old repository, or take an unrecorded copy of it. */
static int copy_gen(struct rot *t, const struct mm_repo_gen *g)
{
    const struct mm_repo_gen *have = unrecorded_copy(t, g);
    char id[HEX];
    int err;

    if ((err = work_clear(t)) < 0 || (err = restore_whole(t, t->old, g->id, t->wold)) < 0)
        return err;
    if (have)
        snprintf(id, sizeof(id), "%s", have->id);
    else if ((err = backup_copy(t, g, id)) < 0)
        return err;
    return check_and_record(t, g, id);
}

/* Set up the work folder's names and the folder itself (0700). */
static int work_init(struct rot *t, const char *work)
{
    t->work = work;
    if (snprintf(t->wold, sizeof(t->wold), "%s/old", work) >= (int)sizeof(t->wold) ||
        snprintf(t->wnew, sizeof(t->wnew), "%s/new", work) >= (int)sizeof(t->wnew) ||
        snprintf(t->widx, sizeof(t->widx), "%s/patient-index", work) >= (int)sizeof(t->widx))
        return mm_error_set(MM_ELIMIT, "the work folder's path is too long");
    if (mm_os_mkdir_p(work, 0700) < 0 || chmod(work, 0700) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot create the work folder '%s'", work);
    return 0;
}

/* Copy the file @rel of the old medium to the new one, with its mode. */
static int copy_medium_file(struct rot *t, const char *rel)
{
    char from[MM_LIMIT_PATH], to[MM_LIMIT_PATH];
    struct stat st;
    mm_buf b;
    char *slash;
    int err;

    mm_buf_init(&b, MM_REPO_VIEWER_FILE_MAX);
    if ((err = mm_repo__path(t->old, rel, from, sizeof(from))) < 0 ||
        (err = mm_repo__path(t->newr, rel, to, sizeof(to))) < 0 ||
        (err = mm_os_read_file(from, &b)) < 0)
        goto out;
    if ((slash = strrchr(to, '/')) != NULL) {
        *slash = '\0';
        err = mm_os_mkdir_p(to, 0755);
        *slash = '/';
        if (err < 0)
            goto out;
    }
    if ((err = mm_os_write_atomic(to, b.ptr ? b.ptr : "", b.len)) < 0)
        goto out;
    if (stat(from, &st) == 0)
        chmod(to, st.st_mode & 0777);
out:
    mm_buf_release(&b);
    return err;
}

/* The old medium's label, signed anew with the new key (none: nothing to do). */
static int copy_label(struct rot *t)
{
    struct mm_repo_medium m;
    int err = mm_repo_medium_get(t->old, &m);

    if (err == MM_ENOTFOUND) {
        mm_error_clear();
        return 0;
    }
    if (err < 0 ||
        (err = mm_repo_medium_set(t->newr, m.label, m.hospital[0] ? m.hospital : NULL, 0)) < 0)
        return err;
    t->st.labelled = 1;
    return 0;
}

/*
 * The viewer's files the newest generation @newest lists, copied from the old medium as they
 * are, before that generation's copy (the only copy that keeps its viewer list) is written:
 * verify then finds the new medium as the newest manifest says at every moment of the
 * rotation. A file missing on the old medium is left out (verify reports it there too).
 */
static int copy_viewer(struct rot *t, const struct mm_repo_gen *newest)
{
    int err;

    if (!newest->viewer)
        return 0;
    for (size_t i = 0; i < newest->viewer->n; i++) {
        err = copy_medium_file(t, newest->viewer->files[i].path);
        if (err == MM_ENOTFOUND) {
            mm_error_clear();
            continue;
        }
        if (err < 0)
            return err;
        t->st.viewer_files++;
    }
    return 0;
}

/* Report the step @step (STARTED, FINISHED) to the caller. */
static int report(struct rot *t, enum mm_repo_rotate_step step, int resumed)
{
    struct mm_repo_rotate_event ev = { 0 };
    int err;

    if (!t->o->event)
        return 0;
    ev.step = step;
    ev.newr = t->newr;
    ev.files = t->st.files;
    ev.bytes = t->st.bytes;
    ev.total = t->st.total;
    ev.done = t->ndone;
    ev.skipped = t->st.skipped;
    ev.resumed = resumed;
    if ((err = t->o->event(&ev, t->o->ctx)) < 0 && !*mm_error_last())
        mm_error_set(err, "the rotation was stopped");
    return err < 0 ? err : 0;
}

int mm_repo_rotate(mm_repo *old, const char *to, const struct mm_repo_rotate_opts *o,
                   mm_repo **newr_out, struct mm_repo_rotate_stats *stats)
{
    struct rot t;
    struct mm_repo_gen *gens = NULL;
    size_t ngens = 0;
    int err, resumed = 0;

    MM_ASSERT_ARG(old && to && o);
    if (!o->user || !o->pass || !o->work || !*o->work)
        return mm_error_set(MM_EINVAL, "a rotation needs a user, a passphrase and a work folder");
    /* the rotation state, the viewer payload's modes and the medium's own files are a local
     * folder's (docs/architecture.md "Backends") */
    if (!mm_repo__local(old) || mm_repo_be_is_s3(to))
        return mm_error_set(MM_EINVAL,
                            "key rotation works between folders on this machine: "
                            "'%s' is not one",
                            mm_repo__local(old) ? to : old->path);
    memset(&t, 0, sizeof(t));
    t.old = old;
    t.to = to;
    t.o = o;
    if ((err = work_init(&t, o->work)) < 0 ||
        (err = mm_repo_lock(old, MM_REPO_LOCK_SHARED, NULL)) < 0 ||
        (err = mm_repo_generations(old, &gens, &ngens)) < 0 || (err = open_new(&t, &resumed)) < 0)
        goto out;
    t.st.total = ngens;
    for (size_t i = 0; i < ngens; i++)
        if (recorded(&t, gens[i].id))
            t.st.skipped++;
    if ((err = report(&t, MM_REPO_ROTATE_STARTED, resumed)) < 0)
        goto out;
    if ((err = copy_label(&t)) < 0)
        goto out;
    t.last = ngens ? &gens[ngens - 1] : NULL;
    for (size_t i = 0; i < ngens; i++) {
        if (recorded(&t, gens[i].id))
            continue;
        if ((i + 1 == ngens && (err = copy_viewer(&t, &gens[i])) < 0) ||
            (err = copy_gen(&t, &gens[i])) < 0)
            goto out;
    }
    err = report(&t, MM_REPO_ROTATE_FINISHED, resumed);
out:
    if (err < 0) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", mm_error_last());
        if (work_clear(&t) == 0) /* no plaintext left behind, whatever happened */
            rmdir(o->work);
        mm_error_set(err, "%s", msg);
    } else if ((err = work_clear(&t)) == 0) {
        rmdir(o->work); /* when empty: it held only what this run put there */
    }
    if (stats)
        *stats = t.st;
    if (err == 0 && newr_out)
        *newr_out = t.newr;
    else
        mm_repo_free(t.newr);
    mm_repo_gens_free(gens, ngens);
    mm_repo_gens_free(t.newgens, t.nnewgens);
    mm_free(t.done);
    return err;
}
