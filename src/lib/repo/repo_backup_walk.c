/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A backup's walk (repo_backup_int.h): the worker threads take folders (list, stat, compare
 * with the parent generation's tree: unchanged files keep their blob IDs unread, a file
 * renamed in its folder is found by inode) and files (read, chunk, store); a folder's tree is
 * encoded when its last entry is done, by whichever thread finishes it, and goes up into its
 * parent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "os/os.h"
#include "repo/repo_backup_int.h"
#include "repo/repo_int.h"

/* ---- folders -------------------------------------------------------------------------------- */

/* A new folder node, linked into st->live. */
struct node *mm_repo__bk_node_new(struct bstate *st, struct node *parent, size_t slot)
{
    struct node *nd = mm_calloc(1, sizeof(*nd));

    if (!nd)
        return NULL;
    nd->parent = parent;
    nd->slot = slot;
    pthread_mutex_lock(&st->livemu);
    nd->next = st->live;
    if (st->live)
        st->live->prev = nd;
    st->live = nd;
    pthread_mutex_unlock(&st->livemu);
    return nd;
}

void mm_repo__bk_node_free(struct bstate *st, struct node *nd)
{
    if (!nd)
        return;
    pthread_mutex_lock(&st->livemu);
    if (nd->prev)
        nd->prev->next = nd->next;
    else if (st->live == nd)
        st->live = nd->next;
    if (nd->next)
        nd->next->prev = nd->prev;
    pthread_mutex_unlock(&st->livemu);
    for (size_t i = 0; i < nd->n; i++) {
        mm_free(nd->e[i].name);
        mm_free(nd->e[i].ids);
        mm_free(nd->e[i].target);
    }
    mm_free(nd->e);
    mm_free(nd);
}

static int finish_node(struct worker *wk, struct node *nd);

/* One outstanding piece of @nd is done; finish the folder when it was the last. */
int mm_repo__bk_release(struct worker *wk, struct node *nd)
{
    long left = __atomic_sub_fetch(&nd->pending, 1, __ATOMIC_ACQ_REL);

    return left == 0 ? finish_node(wk, nd) : 0;
}

/* Encode and store the tree of @nd, hand its ID to the parent, free it. */
static int finish_node(struct worker *wk, struct node *nd)
{
    struct bstate *st = wk->st;
    struct mm_repo__tree t;
    struct mm_repo__entry *te = NULL;
    unsigned char id[ID_SIZE];
    struct node *parent = nd->parent;
    mm_buf b;
    size_t k = 0;
    int err;

    if (!(te = mm_malloc((nd->n ? nd->n : 1) * sizeof(*te))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < nd->n; i++)
        if (nd->e[i].te.kind != 0) /* 0: skipped (unreadable) */
            te[k++] = nd->e[i].te;
    t.e = te;
    t.n = k;
    t.data = NULL;
    mm_buf_init(&b, MM_REPO_TREE_MAX);
    err = mm_repo__tree_encode(&t, &b);
    if (err == 0)
        err = mm_repo__bk_store(wk, MM_REPO_OBJ_TREE, b.ptr, b.len, id);
    mm_buf_release(&b);
    mm_free(te);
    if (err < 0)
        return err;
    if (!parent) {
        memcpy(st->root, id, ID_SIZE);
        mm_repo__bk_node_free(st, nd);
        pthread_mutex_lock(&st->mu);
        st->done = 1;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->mu);
        return 0;
    }
    memcpy(parent->e[nd->slot].ids, id, ID_SIZE);
    mm_repo__bk_add(&st->c.dirs, 1);
    mm_repo__bk_node_free(st, nd);
    return mm_repo__bk_release(wk, parent);
}

int mm_repo__bk_push_job(struct bstate *st, const struct job *j)
{
    pthread_mutex_lock(&st->mu);
    if (st->njobs == st->capjobs) {
        size_t ncap = st->capjobs ? st->capjobs * 2 : 1024;
        void *nv = mm_realloc(st->jobs, ncap * sizeof(*st->jobs));
        if (!nv) {
            pthread_mutex_unlock(&st->mu);
            return mm_error_set(MM_ENOMEM, "out of memory");
        }
        st->jobs = nv;
        st->capjobs = ncap;
    }
    st->jobs[st->njobs++] = *j;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return 0;
}

/* Jobs a folder queues, pushed together (one lock and one wake-up per batch). */
struct batch {
    struct job v[128];
    size_t n;
};

static int flush_jobs(struct bstate *st, struct batch *b)
{
    if (!b->n)
        return 0;
    pthread_mutex_lock(&st->mu);
    if (st->njobs + b->n > st->capjobs) {
        size_t ncap = st->capjobs ? st->capjobs : 1024;
        void *nv;
        while (ncap < st->njobs + b->n)
            ncap *= 2;
        if (!(nv = mm_realloc(st->jobs, ncap * sizeof(*st->jobs)))) {
            pthread_mutex_unlock(&st->mu);
            return mm_error_set(MM_ENOMEM, "out of memory");
        }
        st->jobs = nv;
        st->capjobs = ncap;
    }
    memcpy(st->jobs + st->njobs, b->v, b->n * sizeof(*b->v));
    st->njobs += b->n;
    if (b->n > 1)
        pthread_cond_broadcast(&st->cv);
    else
        pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    b->n = 0;
    return 0;
}

/* Queue @j in @b (its path now owned by the batch), pushing a full batch. */
static int batch_add(struct bstate *st, struct batch *b, const struct job *j)
{
    if (b->n == sizeof(b->v) / sizeof(b->v[0])) {
        int err = flush_jobs(st, b);
        if (err < 0)
            return err;
    }
    b->v[b->n++] = *j;
    return 0;
}

int mm_repo__bk_cmp_name(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;
    size_t n = x->te.namelen < y->te.namelen ? x->te.namelen : y->te.namelen;
    int c = memcmp(x->name, y->name, n);

    if (c)
        return c;
    return x->te.namelen < y->te.namelen ? -1 : x->te.namelen > y->te.namelen;
}

/* A file of @old with the same inode, size and mtime (renamed in this folder), or NULL. */
static const struct mm_repo__entry *old_by_inode(const struct mm_repo__tree *old,
                                                 const struct stat *s)
{
    for (size_t i = 0; i < old->n; i++) {
        const struct mm_repo__entry *e = &old->e[i];
        if (e->kind == MM_REPO_KIND_FILE && e->ctime_ns != 0 && e->ino == (uint64_t)s->st_ino &&
            e->dev == (uint64_t)s->st_dev && e->size == (uint64_t)s->st_size &&
            e->mtime_ns == (int64_t)s->st_mtim.tv_sec * 1000000000 + s->st_mtim.tv_nsec)
            return e;
    }
    return NULL;
}

void mm_repo__bk_fill_stat(struct mm_repo__entry *te, const struct stat *s)
{
    te->mode = (uint32_t)(s->st_mode & 07777);
    te->uid = (uint32_t)s->st_uid;
    te->gid = (uint32_t)s->st_gid;
    te->size = S_ISREG(s->st_mode) ? (uint64_t)s->st_size : 0;
    te->mtime_ns = (int64_t)s->st_mtim.tv_sec * 1000000000 + s->st_mtim.tv_nsec;
    te->ctime_ns = (int64_t)s->st_ctim.tv_sec * 1000000000 + s->st_ctim.tv_nsec;
    te->ino = (uint64_t)s->st_ino;
    te->dev = (uint64_t)s->st_dev;
}

/* List, stat and compare one folder; queue its subfolders and the files to read. */
static int do_dir(struct worker *wk, struct job *j)
{
    struct bstate *st = wk->st;
    struct node *nd = j->node;
    struct mm_repo__tree old = { 0 };
    struct mm_repo__bk_seen seen = { 0 }; /* with a delta observer only */
    struct ent *e = NULL;
    size_t n = 0, cap = 0;
    struct batch batch; /* 128 jobs on the stack: no allocation per folder */
    const int delta = st->o->delta != NULL;
    int fd, err = 0;

    batch.n = 0;
    fd = open(j->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        mm_repo__bk_problem(st, j->path, "cannot open folder");
        goto done;
    }
    for (;;) {
        long got = mm_os_dir_read(fd, wk->dirbuf, sizeof(wk->dirbuf));
        size_t off = 0;
        const char *name;
        if (got < 0) {
            mm_repo__bk_problem(st, j->path, "cannot list folder completely");
            break;
        }
        if (got == 0)
            break;
        while ((name = mm_os_dir_next(wk->dirbuf, (size_t)got, &off)) != NULL) {
            size_t len = strlen(name);
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                void *nv = mm_realloc(e, ncap * sizeof(*e));
                if (!nv) {
                    err = mm_error_set(MM_ENOMEM, "out of memory");
                    goto out;
                }
                e = nv;
                cap = ncap;
            }
            memset(&e[n], 0, sizeof(e[n]));
            if (!(e[n].name = mm_strndup(name, len))) {
                err = mm_error_set(MM_ENOMEM, "out of memory");
                goto out;
            }
            e[n].te.name = e[n].name;
            e[n].te.namelen = (uint32_t)len;
            n++;
        }
    }
    if (n > 1)
        qsort(e, n, sizeof(*e), mm_repo__bk_cmp_name);
    if (j->has_old && mm_repo__tree_get(st->r, &wk->w, j->old, &old) < 0) {
        mm_error_clear(); /* a damaged parent tree: read everything again */
        memset(&old, 0, sizeof(old));
    }
    seen.old = &old;
    if (delta && old.n && !(seen.mark = mm_calloc(old.n, 1))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    nd->e = e;
    nd->n = n;
    e = NULL;                                                      /* now owned by the node */
    __atomic_store_n(&nd->pending, 1 + (long)n, __ATOMIC_RELEASE); /* the lister, each entry */
    for (size_t i = 0; i < n; i++) {
        struct ent *x = &nd->e[i];
        const struct mm_repo__entry *o, *on;
        struct stat s;
        int queued = 0;

        if (fstatat(fd, x->name, &s, AT_SYMLINK_NOFOLLOW) != 0) {
            char *p = mm_repo__join(j->path, x->name, strlen(x->name));
            if (seen.mark && (on = mm_repo__tree_find(&old, x->name, x->te.namelen)) != NULL)
                seen.mark[on - old.e] |= SEEN_FILE | SEEN_DIR; /* unreadable, not deleted */
            mm_repo__bk_problem(st, p ? p : j->path, "cannot read file information");
            mm_free(p);
            goto entry_done;
        }
        mm_repo__bk_fill_stat(&x->te, &s);
        on = o = old.n ? mm_repo__tree_find(&old, x->name, x->te.namelen) : NULL;
        if (seen.mark && on)
            seen.mark[on - old.e] |= S_ISDIR(s.st_mode)   ? SEEN_DIR
                                     : S_ISREG(s.st_mode) ? SEEN_FILE
                                                          : 0;
        if (S_ISDIR(s.st_mode)) {
            struct node *child = mm_repo__bk_node_new(st, nd, i);
            struct job cj = { 0 };
            if (!child || !(x->ids = mm_malloc(ID_SIZE)) ||
                !(cj.path = mm_repo__join(j->path, x->name, strlen(x->name)))) {
                mm_repo__bk_node_free(st, child);
                err = mm_error_set(MM_ENOMEM, "out of memory");
                goto out;
            }
            x->te.kind = MM_REPO_KIND_DIR;
            x->te.ids = x->ids;
            x->te.nids = 1;
            cj.kind = JOB_DIR;
            cj.node = child;
            cj.src = j->src;
            if (o && o->kind == MM_REPO_KIND_DIR) {
                cj.has_old = 1;
                memcpy(cj.old, o->ids, ID_SIZE);
            }
            if ((err = batch_add(st, &batch, &cj)) < 0) {
                mm_free(cj.path);
                mm_repo__bk_node_free(st, child);
                goto out;
            }
            queued = 1;
        } else if (S_ISREG(s.st_mode)) {
            x->te.kind = MM_REPO_KIND_FILE;
            mm_repo__bk_add(&st->c.files, 1);
            mm_repo__bk_add(&st->c.bytes, x->te.size);
            if (!(o && o->kind == MM_REPO_KIND_FILE && o->size == x->te.size &&
                  o->mtime_ns == x->te.mtime_ns && o->ctime_ns == x->te.ctime_ns &&
                  o->ino == x->te.ino && o->dev == x->te.dev))
                /* found by inode only under a name the parent's folder did not have: a
                 * name that was there with another inode is read (an inode freed by a
                 * replaced file and reused, size and mtime set back, is not a rename) */
                o = old.n && !(o && o->kind == MM_REPO_KIND_FILE) ? old_by_inode(&old, &s) : NULL;
            if (delta) {
                seen.files++;
                if (o && o != on) { /* renamed in this folder */
                    seen.mark[o - old.e] |= SEEN_RENAMED;
                    mm_repo__bk_renamed(wk, j, x->name, o);
                }
                if (!(on && on->kind == MM_REPO_KIND_FILE))
                    on = o;
            }
            /* a host reuses only what its checked catalog knows is on the medium */
            if (o && st->r->cat && !mm_repo__bk_all_known(st, o->ids, o->nids))
                o = NULL;
            if (o) {
                if (o->nids && !(x->ids = mm_malloc((size_t)o->nids * ID_SIZE))) {
                    err = mm_error_set(MM_ENOMEM, "out of memory");
                    goto out;
                }
                if (o->nids)
                    memcpy(x->ids, o->ids, (size_t)o->nids * ID_SIZE);
                x->te.ids = x->ids;
                x->te.nids = o->nids;
                mm_repo__bk_add(&st->c.files_unchanged, 1);
                seen.unchanged++;
            } else {
                struct job fj = { 0 };
                fj.kind = JOB_FILE;
                fj.src = j->src;
                fj.node = nd;
                fj.slot = i;
                if (delta && on && on->kind == MM_REPO_KIND_FILE) { /* what it replaces */
                    fj.has_old = 1;
                    mm_repo__bk_content(on->ids, on->nids, fj.old);
                    fj.old_ino = on->ino;
                    fj.old_dev = on->dev;
                }
                if (!(fj.path = mm_repo__join(j->path, x->name, strlen(x->name)))) {
                    err = mm_error_set(MM_ENOMEM, "out of memory");
                    goto out;
                }
                if ((err = batch_add(st, &batch, &fj)) < 0) {
                    mm_free(fj.path);
                    goto out;
                }
                queued = 1;
            }
        } else if (S_ISLNK(s.st_mode)) {
            char buf[MM_LIMIT_PATH];
            ssize_t got = readlinkat(fd, x->name, buf, sizeof(buf));
            if (got <= 0 || (size_t)got >= sizeof(buf)) {
                char *p = mm_repo__join(j->path, x->name, strlen(x->name));
                mm_repo__bk_problem(st, p ? p : j->path, "cannot read symbolic link");
                mm_free(p);
                x->te.kind = 0;
                goto entry_done;
            }
            if (!(x->target = mm_strndup(buf, (size_t)got))) {
                err = mm_error_set(MM_ENOMEM, "out of memory");
                goto out;
            }
            x->te.kind = MM_REPO_KIND_SYMLINK;
            x->te.target = x->target;
            x->te.targetlen = (uint32_t)got;
            mm_repo__bk_add(&st->c.symlinks, 1);
        } else {
            mm_repo__bk_add(&st->c.skipped, 1); /* sockets, pipes, devices: not backed up */
        }
entry_done:
        if (!queued && (err = mm_repo__bk_release(wk, nd)) < 0)
            goto out;
    }
    if (delta)
        mm_repo__bk_folder_done(wk, j, &seen);
done:
    if ((err = flush_jobs(st, &batch)) < 0)
        goto out;
    if (!nd->e)
        __atomic_store_n(&nd->pending, 1, __ATOMIC_RELEASE);
    err = mm_repo__bk_release(wk, nd); /* the lister's hold */
out:
    for (size_t i = 0; i < batch.n; i++) /* jobs not pushed after a failure */
        mm_free(batch.v[i].path);
    if (e) {
        for (size_t i = 0; i < n; i++)
            mm_free(e[i].name);
        mm_free(e);
    }
    if (fd >= 0)
        close(fd);
    mm_repo__tree_release(&old);
    mm_free(seen.mark);
    return err;
}

/* Whether the metadata of an open file moved between @a and @b (a rewrite shows in one). */
static int stat_moved(const struct stat *a, const struct stat *b)
{
    return a->st_size != b->st_size || a->st_ino != b->st_ino ||
           a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
           a->st_ctim.tv_sec != b->st_ctim.tv_sec || a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}

/* Nanoseconds of the coarse clock the kernel stamps files with, and its tick. */
static int64_t coarse_now_ns(int64_t *tick)
{
    struct timespec t, res;

    clock_gettime(CLOCK_REALTIME_COARSE, &t);
    if (clock_getres(CLOCK_REALTIME_COARSE, &res) != 0 || res.tv_sec > 0)
        res.tv_nsec = 10000000;
    *tick = res.tv_nsec > 0 ? res.tv_nsec : 1;
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/*
 * Whether a read that started at @t0 (coarse clock) may have missed a change of the file
 * @s: a write during the read in the tick of its last change leaves its times as they were
 * (racy git). Then wait for the clock to leave that tick, so a read again is judged surely.
 */
static int racy_wait(const struct stat *s, int64_t t0)
{
    int64_t tick, ct = (int64_t)s->st_ctim.tv_sec * 1000000000 + s->st_ctim.tv_nsec;
    int64_t now = coarse_now_ns(&tick);

    if (ct < t0 - tick)
        return 0;
    while (now <= ct + tick && now > ct - 1000000000) { /* (a ctime in the future: no wait) */
        struct timespec d = { 0, (long)(tick < 20000000 ? tick : 20000000) };
        nanosleep(&d, NULL);
        now = coarse_now_ns(&tick);
    }
    return 1;
}

/*
 * Read the open file @fd (@s: its fstat) into the repository, again while its metadata
 * moved during a read (after 50 ms, then 100 ms: a writer may be finishing), at most
 * MM_REPO_READ_TRIES times. OUT: *@s (fstat after the last
 * read), *@total, *@eno. @return 0 stable, 1 still changing at the last read, <0 as
 * mm_repo__bk_store_stream
 */
static int read_settled(struct worker *wk, const struct job *j, int fd, struct stat *s,
                        uint64_t *total, int *eno)
{
    const struct mm_repo_backup_opts *o = wk->st->o;
    int changed = 0, racy_done = 0;

    for (unsigned int n = 0;; n++) {
        struct stat after;
        int64_t tick, t0 = coarse_now_ns(&tick);
        int err;

        if (n > 0 && changed) { /* give a writer in the middle of a rewrite time to end */
            struct timespec d = { 0, 50000000L * (long)n };
            nanosleep(&d, NULL);
        }
        if (n > 0 && lseek(fd, 0, SEEK_SET) != 0) {
            *eno = errno;
            return MM_EIO;
        }
        if ((err = mm_repo__bk_store_stream(wk, fd, total, eno)) < 0)
            return err;
        if (o->after_read)
            o->after_read(j->path, n, o->ctx);
        if (fstat(fd, &after) != 0) {
            *eno = errno;
            return MM_EIO;
        }
        if (!stat_moved(s, &after) && *total == (uint64_t)after.st_size) {
            /* unchanged, unless a write in the tick of its last change hid: read once more */
            if (racy_done || n + 1 >= MM_REPO_READ_TRIES || !racy_wait(&after, t0)) {
                if (changed)
                    mm_repo__bk_add(&wk->st->unst.reread, 1);
                return 0;
            }
            racy_done = 1;
        } else {
            changed = 1;
        }
        *s = after;
        if (n + 1 >= MM_REPO_READ_TRIES)
            return 1;
    }
}

/* Read one file and store its content. */
static int do_file(struct worker *wk, struct job *j)
{
    struct bstate *st = wk->st;
    struct ent *x = &j->node->e[j->slot];
    uint64_t total = 0;
    struct stat s;
    int fd, err, eno = 0;

    fd = open(j->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &s) != 0 || !S_ISREG(s.st_mode)) {
        mm_repo__bk_problem(st, j->path, fd < 0 ? "cannot open file" : "no longer a regular file");
        x->te.kind = 0;
        mm_repo__bk_add(&st->c.files, (uint64_t)-1);
        mm_repo__bk_add(&st->c.bytes, (uint64_t)-x->te.size);
        goto done;
    }
    err = read_settled(wk, j, fd, &s, &total, &eno);
    if (err == MM_EIO && eno) {
        mm_repo__bk_problem(st, j->path, "cannot read file");
        x->te.kind = 0;
        mm_repo__bk_add(&st->c.files, (uint64_t)-1);
        mm_repo__bk_add(&st->c.bytes, (uint64_t)-x->te.size);
        goto done;
    }
    if (err < 0) {
        close(fd);
        return err;
    }
    /* the entry tells what was read: the metadata of the last read, its size */
    mm_repo__bk_add(&st->c.bytes, total - x->te.size);
    mm_repo__bk_fill_stat(&x->te, &s);
    x->te.size = total;
    if (err == 1) { /* still changing: stored as last read, read again by the next backup */
        x->te.ctime_ns = 0;
        mm_repo__bk_unstable(st, j);
    }
    if (wk->nids) {
        if (!(x->ids = mm_malloc(wk->nids * ID_SIZE))) {
            close(fd);
            return mm_error_set(MM_ENOMEM, "out of memory");
        }
        memcpy(x->ids, wk->ids, wk->nids * ID_SIZE);
    }
    x->te.ids = x->ids;
    x->te.nids = (uint32_t)wk->nids;
    if (st->o->delta)
        mm_repo__bk_file_read(wk, j, &s, total);
    mm_repo__bk_add(&st->c.files_read, 1);
done:
    if (fd >= 0)
        close(fd);
    return mm_repo__bk_release(wk, j->node);
}

void *mm_repo__bk_worker_main(void *arg)
{
    struct worker *wk = arg;
    struct bstate *st = wk->st;

    for (;;) {
        struct job j;
        int err;

        pthread_mutex_lock(&st->mu);
        while (!st->njobs && !st->done)
            pthread_cond_wait(&st->cv, &st->mu);
        if (st->done && (st->err || !st->njobs)) {
            pthread_mutex_unlock(&st->mu);
            break;
        }
        j = st->jobs[--st->njobs];
        pthread_mutex_unlock(&st->mu);
        err = j.kind == JOB_DIR ? do_dir(wk, &j) : do_file(wk, &j);
        mm_free(j.path);
        if (err < 0) {
            mm_repo__bk_fail(st, err);
            break;
        }
    }
    return NULL;
}

int mm_repo__bk_worker_init(struct worker *wk, struct bstate *st)
{
    int err;

    memset(wk, 0, sizeof(*wk));
    wk->st = st;
    wk->want_head = st->o->delta != NULL;
    if ((err = mm_repo__work_init(&wk->w)) < 0)
        return err;
    if ((err = mm_chunker_new(&wk->chunker, &st->r->cfg.chunk, mm_keyset_chunk_seed(st->r->ks))) <
        0)
        return err;
    mm_buf_init(&wk->sealed, MM_REPO_OBJECT_MAX + MM_CRYPTO_SEAL_OVERHEAD + 16);
    return 0;
}

void mm_repo__bk_worker_release(struct worker *wk)
{
    mm_repo__work_release(&wk->w);
    mm_buf_release(&wk->sealed);
    mm_chunker_free(wk->chunker);
    mm_free(wk->buf);
    mm_free(wk->ids);
}
