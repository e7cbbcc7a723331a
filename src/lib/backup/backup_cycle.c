/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One daily cycle (cycle.h): hooks, the medium's check, the backup, the verify, the seal and
 * the record of the online window.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backup/cycle_int.h"
#include "common/error.h"
#include "common/json.h"
#include "os/os.h"
#include "repo/repo_sync.h"

const char *mm_cycle_stage_name(enum mm_cycle_stage s)
{
    static const char *const names[] = { "none",   "medium", "attach", "open",   "label", "sources",
                                         "backup", "verify", "seal",   "detach", "copy" };
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- hooks ---------------------------------------------------------------------------------- */

#define ENV_MAX 8

/* The child: the contract's environment only, output to @log_fd, no arguments. Only
 * async-signal-safe calls (the parent may have had threads). */
static void hook_child(char *const argv[], char *const envp[], int log_fd)
{
    int null = open("/dev/null", O_RDWR);

    setpgid(0, 0);
    if (null >= 0)
        dup2(null, 0);
    dup2(log_fd >= 0 ? log_fd : null, 1);
    dup2(log_fd >= 0 ? log_fd : null, 2);
    execve(argv[0], argv, envp);
    _exit(127);
}

/* Wait for @pid at most @timeout seconds; kill its group past it. @return as mm_cycle_hook */
static int hook_wait(pid_t pid, int64_t timeout, const char *event)
{
    double end = now_s() + (double)(timeout > 0 ? timeout : 1);
    int st;

    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return mm_error_set_errno(MM_EIO, errno, "%s hook: wait", event);
        if (now_s() >= end) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            mm_error_set(MM_ERROR, "%s hook timed out after %llds", event, (long long)timeout);
            return 2;
        }
        usleep(20000);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        mm_error_set(MM_EIO, "%s hook could not be started (exit 127)", event);
        return 1;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFEXITED(st))
        mm_error_set(MM_ERROR, "%s hook exited %d", event, WEXITSTATUS(st));
    else
        mm_error_set(MM_ERROR, "%s hook killed by signal %d", event, WTERMSIG(st));
    return 1;
}

int mm_cycle_hook(const mm_config *cfg, const struct mm_config_hook *hook, const char *event,
                  const struct mm_config_medium *m, const char *alert, int log_fd)
{
    char env[ENV_MAX][512];
    char *envp[ENV_MAX + 1], arg0[4096];
    char *argv[] = { arg0, NULL };
    const struct mm_config_hospital *h = mm_config_hospital(cfg);
    size_t n = 0;
    pid_t pid;

    if (!hook || !hook->path)
        return 0;
    if (access(hook->path, X_OK) != 0)
        return mm_error_set_errno(MM_EIO, errno, "%s hook '%s'", event, hook->path);
    snprintf(env[n++], sizeof(env[0]),
             "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    snprintf(env[n++], sizeof(env[0]), "MAMORI_HOOK=%s", event);
    snprintf(env[n++], sizeof(env[0]), "MAMORI_HOSPITAL=%s", h && h->id ? h->id : "");
    if (m) {
        snprintf(env[n++], sizeof(env[0]), "MAMORI_MEDIUM=%s", m->label);
        snprintf(env[n++], sizeof(env[0]), "MAMORI_MEDIUM_PATH=%s", m->path);
        snprintf(env[n++], sizeof(env[0]), "MAMORI_FS_LABEL=%s", m->fs_label ? m->fs_label : "");
        snprintf(env[n++], sizeof(env[0]), "MAMORI_FS_UUID=%s", m->fs_uuid ? m->fs_uuid : "");
    }
    if (alert)
        snprintf(env[n++], sizeof(env[0]), "MAMORI_ALERT=%s", alert);
    for (size_t i = 0; i < n; i++)
        envp[i] = env[i];
    envp[n] = NULL;
    snprintf(arg0, sizeof(arg0), "%s", hook->path);
    pid = fork();
    if (pid < 0)
        return mm_error_set_errno(MM_EIO, errno, "%s hook: fork", event);
    if (pid == 0)
        hook_child(argv, envp, log_fd);
    setpgid(pid, pid);
    return hook_wait(pid, hook->timeout, event);
}

/* ---- the passphrase file ------------------------------------------------------------------ */

int mm_cycle_passphrase_read(const char *path, char *buf, size_t cap, size_t *len)
{
    struct stat sb;
    ssize_t got;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return mm_error_set_errno(errno == ENOENT ? MM_ENOTFOUND : MM_EIO, errno,
                                  "passphrase file '%s'", path);
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
        (sb.st_mode & 07777) != 0600) {
        int refused = S_ISREG(sb.st_mode) && (sb.st_mode & 077);
        close(fd);
        return mm_error_set(refused ? MM_EREFUSED : MM_EINVAL,
                            "passphrase file '%s' must be a regular file owned by this user "
                            "with mode 0600",
                            path);
    }
    got = read(fd, buf, cap);
    close(fd);
    if (got < 0)
        return mm_error_set_errno(MM_EIO, errno, "passphrase file '%s'", path);
    if ((size_t)got >= cap)
        return mm_error_set(MM_ELIMIT, "passphrase file '%s' is too long", path);
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
        got--;
    if (got == 0)
        return mm_error_set(MM_EINVAL, "passphrase file '%s' is empty", path);
    buf[got] = '\0';
    *len = (size_t)got;
    return 0;
}

/* ---- the cycle ------------------------------------------------------------------------------ */

static int fail(struct cyc *c, enum mm_cycle_stage st, int err, const char *reason)
{
    c->res->stage = st;
    c->res->err = err;
    c->res->exit = MM_BACKUP_EXIT_FAILED;
    snprintf(c->res->reason, sizeof(c->res->reason), "%s", reason);
    return -1;
}

int mm_backup__cycle_fail(struct cyc *c, enum mm_cycle_stage st, int err, const char *reason)
{
    return fail(c, st, err, reason);
}

/* The medium's label against the one due and the hospital. @return 0 or -1 (failed) */
static int check_label(struct cyc *c, mm_repo *r)
{
    struct mm_repo_medium have;
    const struct mm_config_hospital *h = mm_config_hospital(c->cfg);
    char why[160];
    int err = mm_repo_medium_get(r, &have);

    if (err == MM_ENOTFOUND)
        return fail(c, MM_CYCLE_STAGE_LABEL, err, "medium unlabelled");
    if (err < 0)
        return fail(c, MM_CYCLE_STAGE_LABEL, err, "medium label cannot be trusted");
    snprintf(c->res->found, sizeof(c->res->found), "%s", have.label);
    snprintf(c->res->found_hospital, sizeof(c->res->found_hospital), "%s", have.hospital);
    switch (mm_repo_medium_judge(&have, c->m->label, h->id)) {
    case MM_REPO_MEDIUM_OK:
        return 0;
    case MM_REPO_MEDIUM_OTHER_HOSPITAL:
        snprintf(why, sizeof(why), "other hospital's medium %s attached, %s wanted", have.label,
                 c->m->label);
        return fail(c, MM_CYCLE_STAGE_LABEL, MM_EINVAL, why);
    default:
        snprintf(why, sizeof(why), "wrong medium %s attached, %s wanted", have.label, c->m->label);
        return fail(c, MM_CYCLE_STAGE_LABEL, MM_EINVAL, why);
    }
}

/* Open the medium's repository and check its label. @return the repository or NULL (failed) */
static mm_repo *open_checked(struct cyc *c)
{
    mm_repo *r = NULL;
    int err = c->m->credential ? mm_repo_open_host(&r, c->m->path, c->m->credential)
                               : mm_repo_open(&r, c->m->path, NULL, c->o->pass, c->o->passlen);

    if (err != 0) {
        fail(c, MM_CYCLE_STAGE_OPEN, err,
             err == MM_ENOTFOUND ? "no repository on the medium" : "repository does not open");
        return NULL;
    }
    c->r = r;
    return check_label(c, r) == 0 ? r : NULL;
}

/* The guard's settings of folder @n of the backup, from source @s (@ext: its extended
 * storage, judged as a source of its own, "<name>-extended"). */
static void guard_source(struct cyc *c, size_t n, const struct mm_config_source *s, int ext)
{
    struct mm_guard_source_cfg *g = &c->gsrc[n];

    snprintf(c->gnames[n], sizeof(c->gnames[n]), "%s%s", s->name, ext ? "-extended" : "");
    memset(g, 0, sizeof(*g));
    g->name = c->gnames[n];
    g->ssmix2 = s->kind == MM_CONFIG_SOURCE_SSMIX2;
    g->off = !s->guard;
    g->max_modified = s->guard_max_modified;
    g->max_deleted = s->guard_max_deleted;
    g->max_added = s->guard_max_added;
    g->canary = s->guard_canary;
    g->path = ext ? s->extended : s->path;
    c->ngsrc = n + 1;
}

/* The due sources' folders into @src (an ssmix2 source gives its extended storage too). */
static size_t due_sources(struct cyc *c, const char **src, size_t cap)
{
    int wday = mm_config_date_weekday(c->o->date);
    size_t n = 0;

    for (size_t i = 0; i < mm_config_source_count(c->cfg); i++) {
        const struct mm_config_source *s = mm_config_source_at(c->cfg, i);
        if (!s->enabled || !mm_config_schedule_due(&s->schedule, wday, c->o->minute))
            continue;
        if (n < cap) {
            guard_source(c, n, s, 0);
            src[n++] = s->path;
        }
        if (s->extended && n < cap) {
            guard_source(c, n, s, 1);
            src[n++] = s->extended;
        }
        if (c->res->sources < MM_BACKUP_SOURCES_MAX)
            snprintf(c->res->source_names[c->res->sources], MM_CONFIG_MAX_NAME + 1, "%s", s->name);
        c->res->sources++;
    }
    return n;
}

static int seal(struct cyc *c);

/* Verify and seal the repository written. @return 0 or -1 (failed) */
static int verify_seal(struct cyc *c, mm_repo *r)
{
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats *vs = &c->res->verify;
    int err = mm_repo_verify(r, &vo, vs);

    if (err != 0)
        return fail(c, MM_CYCLE_STAGE_VERIFY, err, "verify could not run");
    if (vs->damaged_generations || vs->damaged_packs || vs->damaged_objects ||
        vs->missing_objects || vs->damaged_files)
        return fail(c, MM_CYCLE_STAGE_VERIFY, MM_ECORRUPT, "verify found damage");
    return seal(c);
}

/* Flush the medium's file system (syncfs). @return 0 or -1 (failed) */
static int seal(struct cyc *c)
{
    int fd = open(c->m->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    c->sync.fsyncs++;
    if (fd < 0 || syncfs(fd) != 0) {
        if (fd >= 0)
            close(fd);
        return fail(c, MM_CYCLE_STAGE_SEAL, MM_EIO, "sync of the medium failed");
    }
    close(fd);
    return 0;
}

/* What `mamori status` needs from the attached medium @r: its free space and size, and the
 * generations it holds after the backup (left -1 when they cannot be read). */
static void status_figures(struct cyc *c, mm_repo *r)
{
    struct statvfs vfs;
    struct mm_repo_gen *g = NULL;
    size_t n = 0;

    if (statvfs(c->m->path, &vfs) == 0) {
        c->res->free_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
        c->res->size_bytes = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
    }
    if (c->m->credential) { /* a host cannot open manifests: count them by name */
        char **v = NULL;
        if (mm_repo_sync_list_dir(c->m->path, "generations", &v, &n) == 0)
            c->res->generations_held = (int64_t)n;
        mm_repo_sync_list_free(v, n);
        return;
    }
    if (mm_repo_generations(r, &g, &n) == 0)
        c->res->generations_held = (int64_t)n;
    mm_repo_gens_free(g, n);
}

/* mm_backup_note_fn of a cycle's backup (@arg: the cycle): result.windows_viewer, then the
 * caller's note. */
static void cycle_note(const struct mm_backup_note *n, void *arg)
{
    struct cyc *c = arg;

    if (n->kind == MM_BACKUP_NOTE_NO_WINDOWS)
        c->res->windows_viewer = 0;
    if (c->o->note)
        c->o->note(n, c->o->arg);
}

void mm_backup__cycle_opts(struct cyc *c, struct mm_backup_opts *bo, const char *path, mm_repo *r,
                           const char **src, size_t nsrc)
{
    memset(bo, 0, sizeof(*bo));
    bo->repo_path = path;
    bo->repo = r;
    bo->sources = src;
    bo->nsources = nsrc;
    bo->cache_root = c->o->cache_root;
    bo->audit_host_dir = c->o->audit_host_dir;
    bo->threads = c->o->threads;
    bo->dict_samples = c->o->dict_samples;
    bo->medium_viewer = c->o->medium_viewer;
    bo->windows_exe = c->o->windows_exe;
    bo->note = cycle_note; /* the only callback of a cycle's backup: @arg is the cycle */
    bo->arg = c;
    if (c->o->medium_viewer && c->res->windows_viewer < 0)
        c->res->windows_viewer = 1; /* until the backup notes that there is none */
    bo->guard_sources = c->ngsrc == nsrc ? c->gsrc : NULL;
    bo->guard_dir = c->guard_dir[0] ? c->guard_dir : NULL;
    bo->medium_label = c->m->label;
}

void mm_backup__cycle_guard(struct cyc *c, const struct mm_backup_result *br)
{
    struct mm_cycle_result *r = c->res;
    size_t len = 0;

    snprintf(r->guard, sizeof(r->guard), "%s", br->guard);
    r->guard_codes[0] = '\0';
    for (const char *p = br->guard_reasons; p && *p;) {
        size_t n = strcspn(p, " \n");
        const char *nl = strchr(p, '\n');
        int dup = 0;
        for (const char *q = r->guard_codes; *q && !dup;) { /* each code once */
            size_t m = strcspn(q, " ");
            dup = m == n && memcmp(q, p, n) == 0;
            q += m + (q[m] == ' ');
        }
        if (!dup && n && len + n + 2 < sizeof(r->guard_codes)) {
            int w = snprintf(r->guard_codes + len, sizeof(r->guard_codes) - len, "%s%.*s",
                             len ? " " : "", (int)n, p);
            len += w > 0 ? (size_t)w : 0;
        }
        p = nl ? nl + 1 : p + strlen(p);
    }
}

/* Whether a suspect generation stands on this host (its guard folder's standing list, or
 * today's verdict): then nothing is retired on any medium. A list that cannot be read holds
 * too (it may hide one). */
static int retire_held(struct cyc *c)
{
    struct mm_guard_standing *v = NULL;
    size_t n = 0;
    int err;

    if (strcmp(c->res->guard, "suspect") == 0)
        return 1;
    if (!c->guard_dir[0])
        return 0;
    err = mm_guard_standing_list(c->guard_dir, &v, &n);
    free(v);
    mm_error_clear();
    return err < 0 || n > 0;
}

/* <state_dir>/catalog: the host's catalogs of the media it writes with a credential. */
int mm_backup__catalog_dir(struct cyc *c)
{
    const struct mm_config_service *sv = mm_config_service(c->cfg);

    if (!sv->state_dir || snprintf(c->catalog, sizeof(c->catalog), "%s/catalog", sv->state_dir) >=
                                  (int)sizeof(c->catalog))
        return -1;
    return mm_os_mkdir_p(c->catalog, 0700) == 0 ? 0 : -1;
}

/*
 * A write-only host cannot read what it wrote, so its check needs no key: every repository
 * file the backup added (not in @before, the medium's listing before it) is read back from
 * the medium and must hash to its name. @return 0 or -1 (failed: damage, or unreadable)
 */
static int check_written(struct cyc *c, char **before, size_t nbefore)
{
    struct mm_repo_sync_stats st = { 0 };
    char **after = NULL;
    size_t nafter = 0, i = 0, j = 0;
    int err = mm_repo_sync_list(c->m->path, 1, &after, &nafter);

    for (; err == 0 && i < nafter; i++) {
        while (j < nbefore && strcmp(before[j], after[i]) < 0)
            j++;
        if (j < nbefore && strcmp(before[j], after[i]) == 0)
            continue;
        err = mm_repo_sync_check(c->m->path, after[i], &st);
        c->res->verify.packs += strncmp(after[i], "data/", 5) == 0;
    }
    mm_repo_sync_list_free(after, nafter);
    if (err == MM_ECORRUPT)
        return fail(c, MM_CYCLE_STAGE_VERIFY, err, "a file written reads back wrong");
    if (err < 0)
        return fail(c, MM_CYCLE_STAGE_VERIFY, err, "verify could not run");
    return 0;
}

/* The day's backup run on the medium itself, verified (a medium's first window, after a
 * resync, or when staging failed); then the shadow is built from the medium. */
static void direct(struct cyc *c, mm_repo *r, const char **src, size_t nsrc)
{
    struct mm_backup_opts bo = { 0 };
    struct mm_backup_result br;
    int rc;

    char **before = NULL;
    size_t nbefore = 0;

    mm_backup__cycle_opts(c, &bo, c->m->path, r, src, nsrc);
    if (c->m->credential) { /* write-only: the host's catalog, and what the medium held */
        if (mm_backup__catalog_dir(c) < 0 ||
            mm_repo_sync_list(c->m->path, 1, &before, &nbefore) < 0) {
            fail(c, MM_CYCLE_STAGE_BACKUP, MM_EIO, "host catalog or medium listing failed");
            return;
        }
        bo.catalog_dir = c->catalog;
    }
    rc = mm_backup_run(&bo, &br);
    if (rc != MM_BACKUP_EXIT_FAILED && rc != MM_BACKUP_EXIT_EVIDENCE)
        mm_backup__cycle_guard(c, &br);
    if (rc == MM_BACKUP_EXIT_EVIDENCE) {
        fail(c, MM_CYCLE_STAGE_BACKUP, br.err,
             "repository head shows lost evidence: mamori verify, then backup --accept-loss");
        c->res->exit = MM_BACKUP_EXIT_EVIDENCE;
    } else if (rc == MM_BACKUP_EXIT_FAILED) {
        fail(c, MM_CYCLE_STAGE_BACKUP, br.err, "backup failed");
    } else {
        snprintf(c->res->window, sizeof(c->res->window), "direct");
        c->res->generations = 1;
        memcpy(c->res->id, br.id, sizeof(c->res->id));
        c->res->bytes_written = br.counts.bytes_stored;
        c->res->exit = (enum mm_backup_exit)rc;
        if (rc == MM_BACKUP_EXIT_ATTENTION)
            snprintf(c->res->reason, sizeof(c->res->reason), "generation needs attention");
        if (strcmp(c->res->guard, "suspect") == 0)
            snprintf(c->res->reason, sizeof(c->res->reason), "suspect generation");
        if (c->m->credential) {
            if (check_written(c, before, nbefore) == 0 && seal(c) == 0)
                mm_backup__stage_bootstrap(c);
        } else if (verify_seal(c, r) == 0) {
            mm_backup__stage_bootstrap(c);
        }
    }
    mm_backup_result_release(&br);
    mm_repo_sync_list_free(before, nbefore);
}

/* Attach, check, deliver what was staged or back up on the medium, retire, seal. */
static void online(struct cyc *c, const char **src, size_t nsrc)
{
    mm_repo *r;
    const struct mm_config_hooks *hk = mm_config_hooks(c->cfg);
    int rc = mm_cycle_hook(c->cfg, &hk->attach, "attach", c->m, NULL, c->o->log_fd);

    c->res->attach_status = rc;
    if (rc != 0) {
        fail(c, MM_CYCLE_STAGE_ATTACH, rc < 0 ? rc : MM_ERROR,
             rc == 2 ? "attach hook timed out" : "attach hook failed");
        return;
    }
    r = open_checked(c);
    if (!r)
        return;
    rc = c->staged ? mm_backup__stage_deliver(c) : 1;
    if (rc == 1) { /* nothing staged, or the medium changed behind its shadow */
        direct(c, r, src, nsrc);
    } else if (rc == 0 && c->res->exit != MM_BACKUP_EXIT_FAILED) {
        if (c->res->exit == MM_BACKUP_EXIT_ATTENTION)
            snprintf(c->res->reason, sizeof(c->res->reason), "%s",
                     strcmp(c->res->guard, "suspect") == 0 ? "suspect generation"
                                                           : "generation needs attention");
    }
    if (c->res->window[0] && c->res->stage == MM_CYCLE_STAGE_NONE) {
        c->res->retire_held = retire_held(c);
        if (c->m->credential)
            mm_backup__host_retire(c);
        else
            mm_backup__stage_retire(c);
        if (c->res->window[0] == 's')
            seal(c);
    }
    /* the structural drill: the generation written and checked, the medium still attached */
    if (c->res->window[0] && c->res->stage == MM_CYCLE_STAGE_NONE &&
        c->res->exit != MM_BACKUP_EXIT_FAILED &&
        mm_backup__drill_due(c->cfg, c->m->label, (int64_t)time(NULL)))
        mm_backup__cycle_drill(c);
    mm_backup__cycle_vault(c); /* the same generations into the S3 vault, medium attached */
    status_figures(c, r);
    mm_repo_unlock(r); /* nothing of the repository stays open on the medium */
}

/* The verify's verdict for the window record: "ok", "damaged" or "not_run". */
static const char *verify_word(const struct mm_cycle_result *r)
{
    if (r->stage == MM_CYCLE_STAGE_VERIFY)
        return r->err == MM_ECORRUPT ? "damaged" : "not_run";
    return r->generations ? "ok" : "not_run";
}

/* The S3 vault's fields of the window record (no secrets: the URL has none). */
static int vault_fields(const struct mm_cycle_result *r, mm_buf *b)
{
    int err = mm_json_kv(b, 0, "vault", r->vault);

    err = err ? err : mm_json_kv(b, 0, "vault_where", r->vault_where);
    err = err ? err : mm_json_kv(b, 0, "vault_reason", r->vault_reason);
    return err ? err
               : mm_buf_printf(b,
                               ",\"vault_immutable\":%d,\"vault_files\":%llu,\"vault_bytes\":%llu,"
                               "\"vault_generations\":%llu,\"vault_extended\":%llu,"
                               "\"vault_retain_until\":%lld",
                               r->vault_immutable, (unsigned long long)r->vault_files,
                               (unsigned long long)r->vault_bytes,
                               (unsigned long long)r->vault_generations,
                               (unsigned long long)r->vault_extended,
                               (long long)r->vault_retain_until);
}

/* The fields of the window record that `mamori status` reads (status.h), after the others. */
static int status_fields(struct cyc *c, mm_buf *b)
{
    const struct mm_cycle_result *r = c->res;
    const struct mm_config_hospital *h = mm_config_hospital(c->cfg);
    int err = mm_buf_puts(b, ",\"source_names\":[");

    for (size_t i = 0; i < r->sources && i < MM_BACKUP_SOURCES_MAX && err == 0; i++)
        if ((err = i ? mm_buf_putc(b, ',') : 0) == 0)
            err = mm_json_str(b, r->source_names[i]);
    if (err == 0)
        err = mm_buf_printf(b,
                            "],\"free_bytes\":%lld,\"size_bytes\":%lld,\"generations_held\":%lld,"
                            "\"verify\":\"%s\",\"guard\":\"%s\",\"guard_codes\":\"%s\","
                            "\"retire_held\":%d,\"windows_viewer\":%d",
                            (long long)r->free_bytes, (long long)r->size_bytes,
                            (long long)r->generations_held, verify_word(r),
                            r->guard[0] ? r->guard : "none", r->guard_codes, r->retire_held,
                            r->windows_viewer);
    if (err == 0 && r->vault[0])
        err = vault_fields(r, b);
    return err ? err : mm_json_kv(b, 0, "hospital", h && h->id ? h->id : "");
}

/* The structural drill's fields of the window record (when it ran), after the others. */
static int drill_fields(const struct mm_cycle_result *r, mm_buf *b)
{
    int err = 0;

    if (err == 0 && r->drill[0]) /* the structural drill ran in this window */
        err = mm_buf_printf(b,
                            ",\"drill\":\"%s\",\"drill_s\":%.3f,\"drill_read_s\":%.3f,"
                            "\"drill_packs\":%llu,\"drill_files\":%llu,\"drill_bytes\":%llu",
                            r->drill, r->drill_s, r->drill_read_s,
                            (unsigned long long)r->drill_packs, (unsigned long long)r->drill_files,
                            (unsigned long long)r->drill_bytes);
    if (err == 0 && r->drill[0])
        err = mm_json_kv(b, 0, "drill_reason", r->drill_reason);
    return err;
}

/* The alert hook's MAMORI_ALERT: the failure, a suspect generation (its reason codes only:
 * no patient data), expired staged data; several joined by "; ". */
static void alert_text(struct cyc *c, char *out, size_t cap)
{
    const struct mm_cycle_result *r = c->res;
    size_t len = 0;
    int w;

    out[0] = '\0';
    if (r->exit == MM_BACKUP_EXIT_FAILED && (w = snprintf(out, cap, "%s", r->reason)) > 0)
        len = (size_t)w < cap ? (size_t)w : cap - 1;
    if (strcmp(r->guard, "suspect") == 0 &&
        (w = snprintf(out + len, cap - len, "%ssuspect generation on medium %s: %s",
                      len ? "; " : "", r->medium, r->guard_codes[0] ? r->guard_codes : "-")) > 0)
        len += (size_t)w < cap - len ? (size_t)w : cap - len - 1;
    if (r->expired[0] && (w = snprintf(out + len, cap - len, "%sstaged data expired: %s",
                                       len ? "; " : "", r->expired)) > 0)
        len += (size_t)w < cap - len ? (size_t)w : cap - len - 1;
    if (strcmp(r->drill, "failed") == 0 &&
        (w = snprintf(out + len, cap - len, "%sstructural drill failed on medium %s: %s",
                      len ? "; " : "", r->medium, r->drill_reason)) > 0)
        len += (size_t)w < cap - len ? (size_t)w : cap - len - 1;
    if (mm_backup__vault_alert(r) && len < cap)
        snprintf(out + len, cap - len, "%sS3 vault: %s", len ? "; " : "", r->vault_reason);
}

/* Append the window's JSON line to <state_dir>/windows.jsonl (one write, fsync). */
static int record_window(struct cyc *c, time_t started)
{
    const struct mm_config_service *sv = mm_config_service(c->cfg);
    struct mm_cycle_result *r = c->res;
    char path[4096], at[32];
    struct tm tm;
    mm_buf line;
    int fd = -1, rc = -1, created;

    if (!sv->state_dir || mm_os_mkdir_p(sv->state_dir, 0750) != 0)
        return -1;
    if (snprintf(path, sizeof(path), "%s/windows.jsonl", sv->state_dir) >= (int)sizeof(path))
        return -1;
    gmtime_r(&started, &tm);
    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    mm_buf_init(&line, 8192); /* a few KiB: 64 source names at most */
    if (mm_buf_printf(&line,
                      "{\"date\":\"%04d-%02d-%02d\",\"attached\":\"%s\",\"online_s\":%.3f,"
                      "\"medium\":\"%s\",\"result\":%d,\"stage\":\"%s\",\"reason\":\"%s\","
                      "\"generations\":%d,\"generation\":\"%s\",\"bytes_written\":%llu,"
                      "\"sources\":%zu,\"detach\":%d,\"window\":\"%s\",\"stage_s\":%.3f,"
                      "\"copied_bytes\":%llu,\"fsyncs\":%llu,\"retired\":%zu,\"staged\":%d,"
                      "\"resynced\":%d,\"write_only\":%d,\"expired\":\"%s\"",
                      c->o->date.year, c->o->date.month, c->o->date.day, at, r->online_s, r->medium,
                      (int)r->exit, mm_cycle_stage_name(r->stage), r->reason, r->generations, r->id,
                      (unsigned long long)r->bytes_written, r->sources, r->detach_status, r->window,
                      r->stage_s, (unsigned long long)r->copied_bytes,
                      (unsigned long long)r->fsyncs, r->retired, r->staged_waiting, r->resynced,
                      r->write_only, r->expired) != 0 ||
        status_fields(c, &line) != 0 || drill_fields(r, &line) != 0 ||
        mm_buf_puts(&line, "}\n") != 0)
        goto out;
    created = access(path, F_OK) != 0;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0 || mm_os_write_all(fd, line.ptr, line.len, path) != 0 || fsync(fd) != 0)
        goto out;
    rc = close(fd) != 0 ? -1 : created ? mm_os_fsync_dir(sv->state_dir) : 0;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    mm_buf_release(&line);
    return rc;
}

/* The window as a `cycle` event in the host's audit log of the repository opened (if any). */
static void audit_window(struct cyc *c)
{
    struct mm_cycle_result *r = c->res;
    char date[16], res[8], online[32], bytes[24], gens[8], base[4200];
    unsigned char id[MM_AUDIT_REPO_ID_SIZE];
    struct mm_audit_field f[] = {
        { "date", date },           { "medium", r->medium },
        { "result", res },          { "stage", mm_cycle_stage_name(r->stage) },
        { "reason", r->reason },    { "online_s", online },
        { "bytes_written", bytes }, { "generations", gens },
        { "generation", r->id },
    };
    struct mm_audit_event ev = { 0 };
    struct mm_audit_target t = { 0 };

    if (!c->r || !c->o->audit_host_dir || mm_audit_repo_id(mm_repo_id(c->r), id) < 0 ||
        mm_audit_host_base(c->o->audit_host_dir, mm_repo_id(c->r), base, sizeof(base)) < 0)
        return;
    snprintf(date, sizeof(date), "%04d-%02d-%02d", c->o->date.year, c->o->date.month,
             c->o->date.day);
    snprintf(res, sizeof(res), "%d", (int)r->exit);
    snprintf(online, sizeof(online), "%.3f", r->online_s);
    snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)r->bytes_written);
    snprintf(gens, sizeof(gens), "%d", r->generations);
    ev.kind = MM_AUDIT_CYCLE;
    ev.user = mm_repo_user(c->r);
    ev.fields = f;
    ev.nfields = r->id[0] ? 9 : 8;
    t.base = base;
    t.repo_id = id;
    t.ks = mm_repo_keyset(c->r);
    t.store = MM_AUDIT_CLEAR;
    r->audit_written = mm_audit_append(&t, &ev, NULL) == 0;
}

int mm_cycle_run(const mm_config *cfg, const struct mm_cycle_opts *opts,
                 struct mm_cycle_result *res)
{
    struct mm_config_due due[2];
    struct cyc *c = calloc(1, sizeof(*c));
    const struct mm_config_hooks *hk = mm_config_hooks(cfg);
    const char *src[MM_BACKUP_SOURCES_MAX];
    size_t nsrc;
    time_t started;
    double t0;
    int rc;

    memset(res, 0, sizeof(*res));
    res->attach_status = res->detach_status = res->alert_status = -1;
    res->free_bytes = res->size_bytes = res->generations_held = -1;
    res->windows_viewer = -1;
    if (!c) {
        res->exit = MM_BACKUP_EXIT_FAILED;
        res->err = MM_ENOMEM;
        snprintf(res->reason, sizeof(res->reason), "out of memory");
        return res->exit;
    }
    c->cfg = cfg;
    c->o = opts;
    c->res = res;
    if (mm_config_medium_for(cfg, opts->date, due) != 0 || !due[0].medium) {
        fail(c, MM_CYCLE_STAGE_MEDIUM, MM_EINVAL, "no medium is due on the date");
        res->alert_status =
                mm_cycle_hook(cfg, &hk->alert, "alert", NULL, res->reason, opts->log_fd);
        free(c);
        return res->exit;
    }
    c->m = due[0].medium;
    snprintf(res->medium, sizeof(res->medium), "%s", c->m->label);
    if (mm_config_service(cfg)->state_dir &&
        snprintf(c->guard_dir, sizeof(c->guard_dir), "%s/guard",
                 mm_config_service(cfg)->state_dir) >= (int)sizeof(c->guard_dir))
        c->guard_dir[0] = '\0';
    res->write_only = c->m->credential != NULL;
    mm_backup__stage_prepare(c);
    nsrc = due_sources(c, src, MM_BACKUP_SOURCES_MAX);
    if (nsrc == 0)
        fail(c, MM_CYCLE_STAGE_SOURCES, MM_ENOTFOUND, "no source is due");
    else
        (void)mm_backup__stage_run(c, src, nsrc); /* the medium is still offline */
    started = time(NULL);
    t0 = now_s();
    if (res->exit != MM_BACKUP_EXIT_FAILED) {
        online(c, src, nsrc);
        rc = mm_cycle_hook(cfg, &hk->detach, "detach", c->m, NULL, opts->log_fd);
        res->detach_status = rc;
        if (rc != 0 && res->exit != MM_BACKUP_EXIT_FAILED)
            fail(c, MM_CYCLE_STAGE_DETACH, rc < 0 ? rc : MM_ERROR,
                 rc == 2 ? "detach hook timed out" : "detach hook failed");
        res->online_s = now_s() - t0;
    }
    res->copied_files = c->sync.files;
    res->copied_bytes = c->sync.bytes;
    res->fsyncs = c->sync.fsyncs;
    mm_backup__stage_finish(c);
    if (res->exit == MM_BACKUP_EXIT_FAILED || res->expired[0] ||
        strcmp(res->guard, "suspect") == 0 || strcmp(res->drill, "failed") == 0 ||
        mm_backup__vault_alert(res)) {
        char alert[sizeof(res->reason) + sizeof(res->expired) + sizeof(res->guard_codes) +
                   sizeof(res->drill_reason) + sizeof(res->vault_reason) + 200];
        alert_text(c, alert, sizeof(alert));
        res->alert_status = mm_cycle_hook(cfg, &hk->alert, "alert", c->m, alert, opts->log_fd);
    }
    res->state_written = record_window(c, started) == 0;
    audit_window(c);
    mm_repo_free(c->r);
    free(c->retired_ids);
    free(c);
    return res->exit;
}
