/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The patient index of a backup (backup.h): kept between runs in the host's cache folder
 * (<cache root>/<repository ID>/patient-index.db, with patient-index.generation naming the root
 * tree it matches), updated for the changed patients of one storage or built in full, started
 * beside the backup's walk when the cache matches no generation and the parent's stored index
 * cannot be taken (a lost cache is otherwise refilled from the repository: the parent's index
 * read, checked and stamped, then updated for the changed patients like any other); and the
 * check stored with the generation (how many patients, against the previous generation that
 * stored an index).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/backup_int.h"
#include "common/error.h"
#include "os/os.h"

void mm_backup__note(const struct mm_backup_opts *o, enum mm_backup_note_kind kind, uint64_t count,
                     const char *message)
{
    struct mm_backup_note n = { 0 };

    if (!o || !o->note)
        return;
    n.kind = kind;
    n.count = count;
    n.message = message;
    o->note(&n, o->arg);
}

/* The cache folder of repository @repo_id below @root (NULL: /var/cache/mamori). */
int mm_backup__cache_dir(const char *root, const char *repo_id, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", root ? root : "/var/cache/mamori", repo_id);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The job's cache folder, index file and stamp. @return 0, -1 (a path does not fit) */
int mm_backup__index_paths(struct index_job *j, const char *cache_root, const char *repo_id)
{
    if (mm_backup__cache_dir(cache_root, repo_id, j->dir, sizeof(j->dir)) < 0 ||
        mm_backup__pjoin(j->path, sizeof(j->path), j->dir, "patient-index.db") < 0 ||
        mm_backup__pjoin(j->stamp, sizeof(j->stamp), j->dir, "patient-index.generation") < 0)
        return -1;
    return 0;
}

/* Read the stamp: the hex root tree the cached index was built for. */
static int read_stamp(const char *path, char out[MM_CRYPTO_HEX_SIZE])
{
    FILE *f = fopen(path, "r");
    int ok;

    if (!f)
        return -1;
    ok = fscanf(f, "%64[0-9a-f]", out) == 1 && strlen(out) == 64;
    fclose(f);
    return ok ? 0 : -1;
}

/* The storages an index is built over, as the stamp's second line records them. OUT: @out */
static void stamp_key(const struct index_job *j, char *out, size_t cap)
{
    snprintf(out, cap, "%s\t%s%s", j->std_name ? j->std_name : "", j->ext_name ? j->ext_name : "",
             j->nmore ? "\t+" : "");
}

/*
 * Whether the cached index matches the generation of root tree @root_hex and was built over
 * the storages this backup indexes (a storage added, removed or moved needs a full build).
 */
static int cache_matches(const struct index_job *j, const char *root_hex)
{
    char stamp[MM_CRYPTO_HEX_SIZE], key[2 * MM_LIMIT_PATH + 8], line[2 * MM_LIMIT_PATH + 8];
    FILE *f;
    int ok;

    if (read_stamp(j->stamp, stamp) < 0 || strcmp(stamp, root_hex) != 0 ||
        access(j->path, R_OK) != 0 || !(f = fopen(j->stamp, "r")))
        return 0;
    stamp_key(j, key, sizeof(key));
    ok = fgets(line, sizeof(line), f) && fgets(line, sizeof(line), f) &&
         strcspn(line, "\n") == strlen(key) && strncmp(line, key, strlen(key)) == 0;
    fclose(f);
    return ok;
}

/* Build the whole index into the cache (in the calling thread). Sets j->build_err, ->bst. */
static void full_build(struct index_job *j)
{
    struct mm_index_build_opts bo = { 0 };
    mm_index *ix = NULL;
    int err;

    /* Beside a backup's 16 readers, a few loaders suffice: they mostly find the files already
     * read into memory by the backup, and more threads only cost memory and contention. */
    bo.threads = 4;
    memset(&j->bst, 0, sizeof(j->bst));
    if ((err = mm_os_mkdir_p(j->dir, 0700)) == 0 && (err = mm_index_create(&ix, j->path)) == 0 &&
        (err = mm_index_build(ix, j->std, j->ext, &bo, &j->bst)) == 0) {
        for (size_t k = 0; k < j->nmore && err == 0; k++) {
            struct mm_index_build_stats more;
            memset(&more, 0, sizeof(more));
            err = mm_index_build_add(ix, j->more_std[k], j->more_ext[k], &bo, &more);
            j->bst.patients += more.patients;
            j->bst.unreadable += more.unreadable;
            j->bst.problems.bad += more.problems.bad;
        }
        if (err == 0)
            err = mm_index_commit(ix);
    }
    mm_index_free(ix);
    j->build_err = err;
    if (err < 0)
        snprintf(j->build_msg, sizeof(j->build_msg), "%s", mm_error_last());
}

static void *build_thread(void *arg)
{
    full_build(arg);
    return NULL;
}

/*
 * Whether generation @g stored an index over exactly the storages this backup indexes (the
 * standardized storage j->std_name and its extended one j->ext_name, or none). Manifests
 * without tag 15 name no storages: their SS-MIX2 sources are the storages.
 */
static int same_storages(const struct index_job *j, const struct mm_repo_gen *g)
{
    int std = 0, ext = 0, other = 0;

    for (size_t i = 0; i < g->nstorages; i++) {
        const struct mm_repo_gen_storage *s = &g->storages[i];
        if (!s->indexed)
            continue;
        if (s->kind == MM_REPO_SOURCE_SSMIX2_STD && strcmp(s->path, j->std_name) == 0)
            std++;
        else if (s->kind == MM_REPO_SOURCE_SSMIX2_EXT && j->ext_name &&
                 strcmp(s->path, j->ext_name) == 0)
            ext++;
        else
            other++;
    }
    for (size_t i = 0; g->nstorages == 0 && i < g->nsources; i++) {
        const struct mm_repo_gen_source *s = &g->sources[i];
        if (s->kind == MM_REPO_SOURCE_SSMIX2_STD && strcmp(s->name, j->std_name) == 0)
            std++;
        else if (s->kind == MM_REPO_SOURCE_SSMIX2_EXT && j->ext_name &&
                 strcmp(s->name, j->ext_name) == 0)
            ext++;
        else if (s->kind == MM_REPO_SOURCE_SSMIX2_STD || s->kind == MM_REPO_SOURCE_SSMIX2_EXT)
            other++;
    }
    return std == 1 && ext == (j->ext_name ? 1 : 0) && other == 0;
}

/* Write the stamp: the cached index matches the generation of root tree @root_hex. */
static int write_stamp_for(const struct index_job *j, const char *root_hex)
{
    char tmp[4200], key[2 * MM_LIMIT_PATH + 8];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", j->stamp);
    if (!(f = fopen(tmp, "w")))
        return -1;
    stamp_key(j, key, sizeof(key));
    fprintf(f, "%s\n%s\n", root_hex, key);
    if (fclose(f) != 0 || rename(tmp, j->stamp) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/*
 * Refill a lost cache from the repository: generation @g's stored index read (every block
 * checked) into a temporary file beside the cache's, synced, renamed over it, and stamped
 * with @g's root. @return 0, or <0 with the error message set (the cache then holds no index)
 */
static int fetch_index(mm_repo *r, struct index_job *j, const struct mm_repo_gen *g)
{
    char tmp[4200], root[MM_CRYPTO_HEX_SIZE];
    int fd = -1, err;

    unlink(j->stamp);
    if ((err = mm_os_mkdir_p(j->dir, 0700)) < 0)
        return err;
    snprintf(tmp, sizeof(tmp), "%s.fetch-%ld", j->path, (long)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot create the patient index in the cache");
    if ((err = mm_repo_read_index(r, g, fd, NULL)) == 0 && fsync(fd) != 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot sync the patient index in the cache");
    if (close(fd) != 0 && err == 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot write the patient index in the cache");
    if (err == 0 && rename(tmp, j->path) != 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot rename the patient index in the cache");
    if (err < 0) {
        unlink(tmp);
        return err;
    }
    mm_os_fsync_dir(j->dir);
    mm_crypto_hex(g->root, root);
    if (write_stamp_for(j, root) < 0)
        return mm_error_set(MM_EIO, "cannot write the patient index stamp in the cache");
    return 0;
}

/*
 * The cache matches no generation: take the parent's (@g, when found) stored index if it
 * covers the same storages. @return 1 fetched (the hook updates it for the changed patients),
 * 0 not (a note says why, unless this is a host or the cache is there but for other storages)
 */
static int refill_cache(mm_repo *r, struct index_job *j, const struct mm_repo_gen *g)
{
    char why[400];

    if (!g || j->nmore > 0 || mm_keyset_is_host(mm_repo_keyset(r)))
        return 0; /* (several storages: always rebuilt; a host cannot read an index) */
    if (!g->has_index) {
        snprintf(why, sizeof(why), "%s", "the parent generation has no patient index");
    } else if (!same_storages(j, g)) {
        if (access(j->path, F_OK) == 0)
            return 0; /* the storages moved, the cache is theirs: rebuilt as ever, unsaid */
        snprintf(why, sizeof(why), "%s",
                 "the parent generation's index covers other SS-MIX2 storages");
    } else if (fetch_index(r, j, g) < 0) {
        snprintf(why, sizeof(why), "%s", mm_error_last());
        mm_error_clear();
    } else {
        mm_backup__note(j->o, MM_BACKUP_NOTE_INDEX_CACHE, 1, NULL);
        return 1;
    }
    mm_backup__note(j->o, MM_BACKUP_NOTE_INDEX_CACHE, 0, why);
    return 0;
}

/*
 * Before the backup: when the cached index matches no generation (lost cache, another
 * host's), refill it from the parent generation's stored index; when that cannot be done
 * (first backup, no index stored, damaged blocks, other storages), the whole index has to be
 * built: start that now, beside the backup's walk, so the two share the disk's and the CPUs'
 * time instead of queueing.
 */
void mm_backup__start_early_build(mm_repo *r, struct index_job *j)
{
    struct mm_repo_gen g;
    char root[MM_CRYPTO_HEX_SIZE];
    int match = 0, found = 0;

    /* (a host cannot open the manifests: its catalog names its latest generation) */
    if (mm_repo_gen_find(r, "latest", &g) == 0 ||
        (j->o->catalog_dir && mm_repo_catalog_last(r, j->o->catalog_dir, &g) == 0)) {
        found = 1;
        mm_crypto_hex(g.root, root);
        match = j->nmore == 0 && cache_matches(j, root);
    }
    mm_error_clear();
    if (!match && found)
        match = refill_cache(r, j, &g);
    if (found)
        mm_repo_gen_release(&g);
    if (match)
        return;
    unlink(j->stamp);
    j->started = pthread_create(&j->thread, NULL, build_thread, j) == 0;
}

/* Fill j->check from what is known now (@index: an index is stored, at j->path). */
void mm_backup__judge(struct index_job *j, int index)
{
    uint64_t n = 0;
    mm_index *ix = NULL;

    if (index) {
        if (mm_index_open(&ix, j->path, 0) == 0 && mm_index_patient_count(ix, &n) == 0)
            j->check.patients = n;
        else /* a stored index that cannot be counted is not trusted to be whole */
            j->check.patients = 0;
        mm_index_free(ix);
        mm_error_clear();
    } else {
        j->check.patients = 0;
    }
    j->check.attention =
            mm_repo_attention_judge(j->nstd, j->not_indexed, j->parent_index,
                                    j->check.parent_patients, index, j->check.patients);
}

/* The index could not be built: say so, and let the backup write the generation without
 * one (marked); the data matter more than the index. @return 0 */
static int index_failed(struct index_job *j)
{
    mm_backup__note(j->o, MM_BACKUP_NOTE_INDEX_FAILED, 0, j->build_msg);
    j->failed = 1;
    for (size_t i = 0; i < j->nstor; i++)
        j->stor[i].indexed = 0;
    unlink(j->stamp);
    mm_backup__judge(j, 0);
    return 0;
}

/* mm_repo_index_fn: build or update the cached index, hand its path to the backup. */
int mm_backup__index_hook(mm_repo *r, const unsigned char *old_root, const unsigned char *new_root,
                          const char **index_file, int *reuse, void *arg)
{
    struct index_job *j = arg;
    struct mm_index_build_stats st;
    char old_hex[MM_CRYPTO_HEX_SIZE] = "";
    mm_index *ix = NULL;
    int err = 0, incremental;

    memset(&st, 0, sizeof(st));
    mm_crypto_hex(new_root, j->new_root);
    if (j->started) { /* built beside the walk */
        pthread_join(j->thread, NULL);
        j->started = 0;
        if (j->build_err < 0)
            return index_failed(j);
        st = j->bst;
        goto built;
    }
    if (old_root)
        mm_crypto_hex(old_root, old_hex);
    /* one storage: only its changed patients; several: rebuilt (a patient may move or be
     * duplicated between them, which a per-storage update would get wrong) */
    incremental = old_root && j->nmore == 0 && cache_matches(j, old_hex);
    unlink(j->stamp); /* until this generation is written, the cache matches no generation */
    if (incremental) {
        char **pids = NULL, **xp = NULL;
        size_t n = 0, nx = 0;
        /* (a change set that cannot be read falls back to a full build below) */
        err = mm_repo_changed_patients(r, old_root, new_root, j->std_name, &pids, &n);
        if (err == 0 && j->ext_name)
            err = mm_repo_changed_patients(r, old_root, new_root, j->ext_name, &xp, &nx);
        if (err == 0 && n + nx == 0) {
            *reuse = 1; /* nothing changed: the parent's index is this one too */
        } else if (err == 0) {
            char **all = malloc((n + nx) * sizeof(*all));
            if (!all) {
                err = mm_error_set(MM_ENOMEM, "out of memory");
            } else {
                memcpy(all, pids, n * sizeof(*all));
                if (nx)
                    memcpy(all + n, xp, nx * sizeof(*all));
                err = mm_index_open(&ix, j->path, MM_INDEX_OPEN_WRITE);
                if (err == 0)
                    err = mm_index_update(ix, j->std, j->ext, (const char *const *)all, n + nx,
                                          NULL, &st);
                if (err == 0)
                    err = mm_index_commit(ix);
                free(all);
            }
        }
        mm_repo_strings_free(pids, n);
        mm_repo_strings_free(xp, nx);
        if (err < 0) { /* fall back to a full build */
            mm_index_free(ix);
            ix = NULL;
            mm_error_clear();
            incremental = 0;
            *reuse = 0;
        }
    }
    mm_index_free(ix);
    if (!incremental) {
        full_build(j);
        if (j->build_err < 0)
            return index_failed(j);
        st = j->bst;
    }
built:
    if (st.unreadable || st.problems.bad)
        mm_backup__note(j->o, MM_BACKUP_NOTE_INDEX_UNREADABLE, st.problems.bad + st.unreadable,
                        NULL);
    *index_file = j->path;
    j->done = 1;
    mm_backup__judge(j, 1);
    return 0;
}

/* After the generation is written: remember which root tree the cached index matches. */
void mm_backup__write_stamp(struct index_job *j)
{
    if (j->done)
        write_stamp_for(j, j->new_root);
}

/*
 * What the check compares with: the newest generation that shares a source (by entry name)
 * with this backup and stored a patient index, and how many patients it held (from its
 * manifest; for older manifests, from the cached index when it matches that generation).
 * Looking past generations without an index keeps a lost index loud on every backup until
 * an index is stored again, not only on the first one after the loss.
 */
void mm_backup__parent_facts(mm_repo *r, struct index_job *j, const struct mm_repo_source *src,
                             size_t nsrc, const char *cache)
{
    struct mm_repo_gen *gens = NULL, *g = NULL;
    size_t n = 0;

    if (mm_repo_generations(r, &gens, &n) < 0) {
        mm_error_clear();
        return;
    }
    for (size_t i = n; i-- > 0 && !g;) {
        int shared = 0;
        for (size_t s = 0; s < gens[i].nsources && !shared; s++)
            for (size_t k = 0; k < nsrc && !shared; k++)
                shared = strcmp(gens[i].sources[s].name, mm_backup__base(src[k].path)) == 0;
        if (shared && gens[i].has_index)
            g = &gens[i];
    }
    j->parent_index = g != NULL;
    if (g && g->check.present) {
        j->check.parent_patients = g->check.patients;
    } else if (g) {
        char dir[4096], path[4200], stampf[4200], stamp[MM_CRYPTO_HEX_SIZE],
                root[MM_CRYPTO_HEX_SIZE];
        mm_index *ix = NULL;
        uint64_t c = 0;
        mm_crypto_hex(g->root, root);
        if (mm_backup__cache_dir(cache, mm_repo_id(r), dir, sizeof(dir)) == 0 &&
            mm_backup__pjoin(path, sizeof(path), dir, "patient-index.db") == 0 &&
            mm_backup__pjoin(stampf, sizeof(stampf), dir, "patient-index.generation") == 0 &&
            read_stamp(stampf, stamp) == 0 && strcmp(stamp, root) == 0 &&
            mm_index_open(&ix, path, 0) == 0 && mm_index_patient_count(ix, &c) == 0)
            j->check.parent_patients = c;
        mm_index_free(ix);
        mm_error_clear();
    }
    mm_repo_gens_free(gens, n);
}
