/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The body of a backup (backup.h): sources, repository, index job, the generation, its audit
 * event and the viewer on the medium, in the order a person sees them happen.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backup/backup_int.h"
#include "common/error.h"
#include "repo/repo_backend.h"

/* What the repository's callbacks share (their ctx). */
struct run {
    struct index_job ij;
    const struct mm_backup_opts *o;
    struct mm_backup_result *res;
    struct mm_repo_viewer *viewer; /* the viewer's files listed in the manifest, or NULL */
    struct mm_repo_medium medium;  /* the medium's label, for the guide */
    int labelled;
    struct mm_repo_head_write_opts ho; /* how the backup's event writes the head */
    struct guard_job gj;               /* the guard (backup_guard.c) */
};

static void progress_cb(const struct mm_repo_progress *p, void *arg)
{
    struct run *x = arg;

    if (x->o->progress)
        x->o->progress(p, x->o->arg);
}

static void problem_cb(const char *gen, const char *path, const char *what, void *arg)
{
    struct run *x = arg;

    x->res->problems++;
    if (x->o->problem)
        x->o->problem(gen, path, what, x->o->arg);
}

static void unstable_cb(const char *gen, const char *path, const char *what, void *arg)
{
    struct run *x = arg;

    if (x->o->unstable)
        x->o->unstable(gen, path, what, x->o->arg);
}

static void after_read_cb(const char *path, unsigned int attempt, void *arg)
{
    struct run *x = arg;

    if (x->o->after_read)
        x->o->after_read(path, attempt, x->o->arg);
}

static int index_cb(mm_repo *r, const unsigned char *old_root, const unsigned char *new_root,
                    const char **index_file, int *reuse, void *arg)
{
    return mm_backup__index_hook(r, old_root, new_root, index_file, reuse,
                                 &((struct run *)arg)->ij);
}

/* mm_repo_delta_fn: what the walk saw change goes to the guard. */
static void delta_cb(const struct mm_repo_delta *d, void *arg)
{
    mm_guard_observe(d, ((struct run *)arg)->gj.g);
}

/* mm_repo_judge_fn: the guard's verdict (backup_guard.c). */
static int judge_cb(mm_repo *r, const struct mm_repo_counts *c, const char **verdict,
                    const char **reasons, void *arg)
{
    return mm_backup__guard_judge(r, c, verdict, reasons, &((struct run *)arg)->gj);
}

static int fail(struct mm_backup_result *res, enum mm_backup_failure f, int err)
{
    res->failure = f;
    res->err = err < 0 ? err : MM_ERROR;
    res->exit = MM_BACKUP_EXIT_FAILED;
    return res->exit;
}

/* ---- the audit event ---------------------------------------------------------------------- */

void mm_backup_audit_fields(const char *id, const char *guard, const struct mm_repo_counts *c,
                            struct mm_audit_fields *b)
{
    mm_audit_fields_add(b, "generation", id);
    mm_audit_fields_add(b, "guard", guard ? guard : "none");
    mm_audit_fields_addu(b, "files", c->files);
    mm_audit_fields_addu(b, "dirs", c->dirs);
    mm_audit_fields_addu(b, "bytes", c->bytes);
    mm_audit_fields_addu(b, "files_read", c->files_read);
    mm_audit_fields_addu(b, "files_unchanged", c->files_unchanged);
    mm_audit_fields_addu(b, "skipped", c->skipped);
    mm_audit_fields_addu(b, "bytes_new", c->bytes_new);
    mm_audit_fields_addu(b, "bytes_stored", c->bytes_stored);
}

/*
 * Record the backup (@err its result, @id and @c what it wrote) in the medium's and the host's
 * audit log; a log that cannot be written is a note. The library's last message survives.
 */
static void audit_backup(struct run *x, mm_repo *r, int err, const char *id,
                         const struct mm_repo_counts *c)
{
    struct mm_audit_write_report rep;
    struct mm_audit_event ev = { 0 };
    struct mm_backup_note n = { 0 };
    struct mm_audit_fields b = { 0 };
    char saved[512];

    snprintf(saved, sizeof(saved), "%s", mm_error_last());
    mm_audit_fields_add(&b, "result", err < 0 ? "failed" : "ok");
    if (err < 0) {
        mm_audit_fields_add(&b, "error", mm_error_name(err));
        snprintf(b.msg, sizeof(b.msg), "%s", saved);
        if (b.msg[0])
            mm_audit_fields_add(&b, "message", b.msg);
    } else {
        mm_backup_audit_fields(id, x->res->guard, c, &b);
        if (x->res->unstable.reread) /* counts only: the paths hold patient IDs */
            mm_audit_fields_addu(&b, "files_reread", x->res->unstable.reread);
        if (x->res->unstable.unstable)
            mm_audit_fields_addu(&b, "files_unstable", x->res->unstable.unstable);
    }
    ev.kind = MM_AUDIT_BACKUP;
    ev.fields = b.f;
    ev.nfields = b.n;
    ev.subject_kind = MM_AUDIT_SUBJECT_NONE;
    if ((x->o->no_head
                 ? mm_audit_repo_write_n(r, x->o->repo_path, x->o->audit_host_dir, &ev, 1, &rep)
                 : mm_audit_repo_write_head(r, x->o->repo_path, x->o->audit_host_dir, &ev, 1,
                                            &x->ho, &rep)) == 0) {
        x->res->audit_written = 1;
    } else if (x->o->note) {
        n.kind = MM_BACKUP_NOTE_AUDIT;
        n.audit = &rep;
        x->o->note(&n, x->o->arg);
    }
    if (saved[0])
        mm_error_set(MM_ERROR, "%s", saved);
    else
        mm_error_clear();
}

/* ---- the repository head (issue 17.1) ------------------------------------------------------ */

/* Record what the head check found as the first event of this backup (an `evidence-lost`
 * event: on a medium whose log was lost, the first record of the new log). */
static void audit_evidence(struct run *x, mm_repo *r)
{
    struct mm_audit_write_report rep;
    struct mm_audit_event ev = { 0 };
    struct mm_audit_fields b = { 0 };
    struct mm_backup_note n = { 0 };
    char buf[4096];

    mm_audit_head_fields(&x->res->head, &b, buf, sizeof(buf));
    mm_audit_fields_add(&b, "accepted", x->o->accept_loss ? "1" : "0");
    ev.kind = MM_AUDIT_EVIDENCE_LOST;
    ev.fields = b.f;
    ev.nfields = b.n;
    if (mm_audit_repo_write_head(r, x->o->repo_path, x->o->audit_host_dir, &ev, 1, &x->ho, &rep) ==
                0 ||
        rep.medium_ok) {
        x->res->evidence_recorded = rep.medium_ok;
        if (rep.medium_ok && !rep.host_failed && !rep.head_failed)
            return;
    }
    if (x->o->note) {
        n.kind = MM_BACKUP_NOTE_AUDIT;
        n.audit = &rep;
        x->o->note(&n, x->o->arg);
    }
    mm_error_clear();
}

/*
 * Compare the medium with its head before anything is written. Lost evidence (audit log gone,
 * cut or rolled back; the head older than the host's copy) refuses the backup unless a person
 * accepted it; deleted generations do not stop it (tonight's backup matters more), but are
 * recorded and make the exit status 4. @return 0 or the exit status of a refusal
 */
static int check_head(struct run *x, mm_repo *r)
{
    const struct mm_backup_opts *o = x->o;
    struct mm_backup_result *res = x->res;
    struct mm_repo_head_report *h = &res->head;
    int err, lost;

    if (o->no_head || !o->repo_path)
        return 0;
    if ((err = mm_repo_head_check(r, o->audit_host_dir, h)) < 0)
        return fail(res, MM_BACKUP_FAIL_HEAD, err);
    lost = h->audit_deleted || h->audit_truncated || h->audit_rolled || h->rollback || h->forked ||
           (h->copies.damaged && !h->has_head);
    if (lost && !o->accept_loss) {
        res->failure = MM_BACKUP_FAIL_EVIDENCE;
        res->err = mm_error_set(MM_ECORRUPT, "the repository head shows lost evidence");
        res->exit = MM_BACKUP_EXIT_EVIDENCE;
        return res->exit;
    }
    x->ho.restart = lost;
    x->ho.accept_missing = o->accept_loss;
    if (lost || h->nmissing) {
        res->evidence = 1;
        audit_evidence(x, r);
        x->ho.restart = 0; /* the evidence event's head started the chain again */
    }
    return 0;
}

/* ---- the backup --------------------------------------------------------------------------- */

/* The sources as folders, their storages, the index job's storages. @return 0 or fail() */
static int look(struct run *x, struct mm_repo_source *src)
{
    const struct mm_backup_opts *o = x->o;
    struct mm_backup_result *res = x->res;
    int err;

    if (o->nsources == 0 || o->nsources > MM_BACKUP_SOURCES_MAX) {
        res->bad_source = o->nsources;
        return fail(res, MM_BACKUP_FAIL_SOURCE,
                    mm_error_set(MM_EINVAL, "give 1 to %d folders", MM_BACKUP_SOURCES_MAX));
    }
    for (size_t i = 0; i < o->nsources; i++) {
        struct stat s;
        if (stat(o->sources[i], &s) != 0 || !S_ISDIR(s.st_mode)) {
            res->bad_source = i;
            return fail(res, MM_BACKUP_FAIL_SOURCE,
                        mm_error_set(MM_ENOTFOUND, "a source is not a folder"));
        }
        src[i].path = o->sources[i];
        src[i].kind = MM_REPO_SOURCE_FOLDER;
    }
    if ((err = mm_ssmix2_detect(o->sources, o->nsources, &res->storages)) < 0)
        return fail(res, MM_BACKUP_FAIL_DETECT, err);
    if ((err = mm_backup__choose_storages(&res->storages, src, &x->ij)) < 0)
        return fail(res, MM_BACKUP_FAIL_STORAGE_PATH, err);
    return 0;
}

/* mm_audit_interrupted_fn: an earlier writer's interruption, recorded (or not): a note. */
static void interrupted_cb(const struct mm_repo_interrupted *it, int recorded,
                           const struct mm_audit_write_report *rep, void *arg)
{
    const struct mm_backup_opts *o = arg;
    struct mm_backup_note n = { 0 };

    if (!o->note)
        return;
    n.kind = MM_BACKUP_NOTE_INTERRUPTED;
    n.count = recorded ? 1 : 0;
    n.audit = rep;
    n.interrupted = it;
    o->note(&n, o->arg);
}

/* Open (unless given) and lock the repository. OUT: *@r. @return 0 or fail() */
static int open_lock(struct run *x, mm_repo **r)
{
    const struct mm_backup_opts *o = x->o;
    unsigned int stale = 0;
    int err;

    if (!(*r = o->repo)) {
        if (!o->open || o->open(o->arg, &x->res->repo) != 0 || !x->res->repo)
            return fail(x->res, MM_BACKUP_FAIL_OPEN, MM_ERROR);
        *r = x->res->repo;
    }
    if ((err = mm_repo_lock_for(*r, MM_REPO_LOCK_EXCLUSIVE, "backup", &stale)) < 0)
        return fail(x->res, MM_BACKUP_FAIL_LOCK, err);
    if (stale)
        mm_backup__note(o, MM_BACKUP_NOTE_STALE_LOCKS, stale, NULL);
    /* a killed backup or prune before us: its stale lock is recorded in the audit logs */
    if (o->repo_path && mm_audit_record_interrupted(*r, o->repo_path, o->audit_host_dir, "backup",
                                                    interrupted_cb, (void *)(uintptr_t)o) < 0)
        mm_error_clear(); /* the markers stay for the next writer */
    return 0;
}

/* ---- the viewer on the medium ------------------------------------------------------------- */

static unsigned int viewer_flags(const struct mm_backup_opts *o)
{
    return o->medium_viewer ? MM_BACKUP_VIEWER_BIN : 0;
}

/*
 * List the viewer's files this backup will leave on the medium (launcher, guide, bin/ and
 * the Windows viewer when wanted), hashed from the bytes to write, for the manifest. A
 * failure is a note: the manifest then lists nothing and nothing is written. bin/ without a
 * Windows build found is a note too.
 */
static void plan_viewer(struct run *x, mm_repo *r)
{
    const struct mm_backup_opts *o = x->o;

    x->labelled = mm_repo_medium_get(r, &x->medium) == 0;
    mm_error_clear();
    if (mm_backup_medium_viewer(o->repo_path, x->labelled ? &x->medium : NULL, viewer_flags(o),
                                o->windows_exe, &x->viewer) < 0)
        mm_backup__note(o, MM_BACKUP_NOTE_VIEWER, 0, mm_error_last());
    else if (!(x->viewer->flags & MM_REPO_VIEWER_NO_BIN) &&
             !mm_backup_medium_has_windows(x->viewer))
        mm_backup__note(o, MM_BACKUP_NOTE_NO_WINDOWS, 0, NULL);
}

/* Whether the lists @a and @b name the same files with the same bytes. */
static int same_list(const struct mm_repo_viewer *a, const struct mm_repo_viewer *b)
{
    if (a->n != b->n || a->flags != b->flags)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->files[i].path, b->files[i].path) != 0 ||
            a->files[i].size != b->files[i].size ||
            memcmp(a->files[i].sha256, b->files[i].sha256, MM_REPO_SHA256_SIZE) != 0)
            return 0;
    return 1;
}

/* Write what plan_viewer() listed (only what differs on the medium). A failure is a note. */
static void write_viewer(struct run *x)
{
    const struct mm_backup_opts *o = x->o;
    struct mm_repo_viewer *done = NULL;

    if (!x->viewer || o->viewer_elsewhere)
        return;
    if (mm_backup_medium_viewer(o->repo_path, x->labelled ? &x->medium : NULL,
                                viewer_flags(o) | MM_BACKUP_VIEWER_WRITE, o->windows_exe,
                                &done) < 0)
        mm_backup__note(o, MM_BACKUP_NOTE_VIEWER, 0, mm_error_last());
    else if (!same_list(x->viewer, done)) /* this mamori or a library replaced meanwhile */
        mm_backup__note(o, MM_BACKUP_NOTE_VIEWER, 0,
                        "the viewer changed during the backup: verify reports it until the "
                        "next backup");
    mm_repo_viewer_free(done);
}

/* After the generation is written: the cache stamp, the viewer on the medium, the result. */
static void finish(struct run *x, const struct mm_repo_source *src, int checked)
{
    const struct mm_backup_opts *o = x->o;
    struct mm_backup_result *res = x->res;

    mm_backup__write_stamp(&x->ij);
    /* the viewer on the medium follows this mamori: what the manifest lists is written now,
     * after it (a failed backup changes nothing); a failure is a note */
    write_viewer(x);
    for (size_t i = 0; i < o->nsources; i++)
        res->kinds[i] = src[i].kind;
    res->index_stored = x->ij.done;
    res->checked = checked;
    res->check = x->ij.check;
    res->not_indexed = x->ij.not_indexed;
    if (res->counts.skipped && res->problems)
        res->exit = MM_BACKUP_EXIT_FAILED;
    else
        res->exit = (checked && res->check.attention) || res->evidence || res->unstable.unstable ||
                                    strcmp(res->guard, "suspect") == 0
                            ? MM_BACKUP_EXIT_ATTENTION
                            : MM_BACKUP_EXIT_OK;
}

/* The generation itself, with the index job. @return 0 or fail() */
static int write_gen(struct run *x, mm_repo *r, const struct mm_repo_source *src)
{
    const struct mm_backup_opts *o = x->o;
    struct mm_backup_result *res = x->res;
    struct mm_repo_backup_opts bo = { 0 };
    struct index_job *j = &x->ij;
    struct timespec t0, t1;
    int err;

    if (!o->no_index)
        mm_backup__parent_facts(r, j, src, o->nsources, o->cache_root);
    if (!o->no_index && o->catalog_dir && mm_keyset_is_host(mm_repo_keyset(r))) {
        struct mm_repo_gen last; /* a host cannot open manifests: its catalog's figures */
        if (mm_repo_catalog_last(r, o->catalog_dir, &last) == 0 && last.has_index) {
            j->parent_index = 1;
            j->check.parent_patients = last.check.present ? last.check.patients : 0;
        }
        mm_error_clear();
    }
    if (j->std && !o->no_index) {
        if (mm_backup__index_paths(j, o->cache_root, mm_repo_id(r)) < 0)
            return fail(res, MM_BACKUP_FAIL_CACHE_PATH,
                        mm_error_set(MM_ELIMIT, "cache path too long"));
        bo.index = index_cb;
    }
    bo.name = o->name;
    bo.catalog_dir = o->catalog_dir;
    bo.catalog_report = &res->catalog;
    bo.catalog_pack_known = o->catalog_pack_known;
    bo.catalog_pack_ctx = o->catalog_pack_ctx;
    bo.threads = o->threads;
    bo.dict_samples = o->dict_samples;
    if (!o->no_index && (j->nstd > 0 || j->parent_index || j->not_indexed > 0)) {
        mm_backup__judge(j, 0); /* without an index; the hook judges again when it stores one */
        bo.check = &j->check;
    }
    if ((err = mm_backup__storage_list(&res->storages, src, !o->no_index, &j->stor)) < 0)
        return fail(res, MM_BACKUP_FAIL_NOMEM, err);
    j->nstor = j->stor ? res->storages.n : 0;
    bo.storages = j->stor;
    bo.nstorages = j->nstor;
    bo.progress = progress_cb;
    bo.problem = problem_cb;
    bo.unstable = unstable_cb;
    bo.after_read = o->after_read ? after_read_cb : NULL;
    bo.unstable_out = &res->unstable;
    bo.ctx = x;
    if ((err = mm_backup__guard_start(&x->gj, r, src, (int64_t)time(NULL))) < 0)
        return fail(res, err == MM_ELIMIT ? MM_BACKUP_FAIL_CACHE_PATH : MM_BACKUP_FAIL_NOMEM, err);
    if (x->gj.g) {
        bo.delta = delta_cb;
        bo.judge = judge_cb;
        bo.parent_end_ns = &x->gj.parent_end_ns;
    }
    if (o->repo_path && !mm_repo_be_is_s3(o->repo_path)) /* an object store is no medium */
        plan_viewer(x, r);
    bo.viewer = x->viewer;
    mm_backup__note(o, MM_BACKUP_NOTE_WALK, 0, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (bo.index)
        mm_backup__start_early_build(r, j);
    err = mm_repo_backup(r, src, o->nsources, &bo, res->id, &res->counts);
    if (j->started) /* the backup failed before its hook: wait for the build to end */
        pthread_join(j->thread, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->duration_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    mm_backup__note(o, MM_BACKUP_NOTE_WRITTEN, err < 0 ? 1 : 0, NULL);
    if (err == 0) /* the verdict stored: into the result, the history, the standing list */
        mm_backup__guard_finish(&x->gj, res);
    audit_backup(x, r, err, res->id, &res->counts);
    if (err < 0)
        return fail(res, MM_BACKUP_FAIL_BACKUP, err);
    finish(x, src, bo.check != NULL);
    return 0;
}

int mm_backup_run(const struct mm_backup_opts *o, struct mm_backup_result *res)
{
    struct mm_repo_source src[MM_BACKUP_SOURCES_MAX];
    struct run *x = calloc(1, sizeof(*x));
    mm_repo *r = NULL;

    memset(res, 0, sizeof(*res));
    res->exit = MM_BACKUP_EXIT_FAILED;
    snprintf(res->guard, sizeof(res->guard), "none");
    if (!x)
        return fail(res, MM_BACKUP_FAIL_NOMEM, mm_error_set(MM_ENOMEM, "out of memory"));
    x->o = o;
    x->res = res;
    x->ij.o = o;
    x->gj.o = o;
    if (look(x, src) == 0 && open_lock(x, &r) == 0 && check_head(x, r) == 0)
        (void)write_gen(x, r, src);
    mm_backup__storage_list_free(x->ij.stor, res->storages.n);
    mm_repo_viewer_free(x->viewer);
    mm_backup__guard_release(&x->gj);
    free(x);
    return res->exit;
}

void mm_backup_result_release(struct mm_backup_result *res)
{
    if (!res)
        return;
    mm_ssmix2_detection_release(&res->storages);
    memset(&res->storages, 0, sizeof(res->storages));
    mm_repo_head_report_release(&res->head);
    mm_repo_unstable_release(&res->unstable);
    free(res->guard_reasons);
    res->guard_reasons = NULL;
    mm_repo_free(res->repo);
    res->repo = NULL;
}

int mm_backup_storage_indexed(const struct mm_backup_result *res, size_t i)
{
    return res->index_stored && i < res->storages.n && mm_backup__covered(&res->storages, i);
}
