/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the backup module: the patient-index job shared by its files. */
#ifndef MM_BACKUP_BACKUP_INT_H
#define MM_BACKUP_BACKUP_INT_H

#include <pthread.h>
#include <sys/types.h>

#include "backup/backup.h"
#include "common/buf.h"
#include "common/limits.h"
#include "index/index.h"

/* The emergency guide's templates (share/medium/), built in by tools/embed-assets.py. */
struct mm_backup__asset {
    const char *name, *type;
    const unsigned char *data;
    size_t size;
};
/* The generated table, ended by an entry with a NULL name. */
extern const struct mm_backup__asset mm_backup__guide_assets[];

struct index_job {
    const struct mm_backup_opts *o; /* for its notes */
    const char *std, *ext;          /* source paths */
    const char *std_name;           /* its entry path in the generation ("ssmix2/standard") */
    const char *ext_name;
    char std_entry[MM_LIMIT_PATH + 1], ext_entry[MM_LIMIT_PATH + 1];
    /* further standardized storages (and the extended storage beside each, or NULL): the
     * index covers them too, rebuilt in full on every backup */
    const char *more_std[MM_SSMIX2_DETECT_MAX], *more_ext[MM_SSMIX2_DETECT_MAX];
    size_t nmore;
    /* the patient-index check stored in the manifest, and what it is judged from */
    struct mm_repo_index_check check;
    size_t nstd, not_indexed;
    int parent_index;
    int failed; /* the index could not be built: the generation is written without one */
    struct mm_repo_gen_storage *stor; /* the storages the manifest will name */
    size_t nstor;
    char dir[4096];   /* the cache folder of this repository */
    char path[4096];  /* the index file */
    char stamp[4096]; /* the root tree the index matches */
    char new_root[MM_CRYPTO_HEX_SIZE];
    int done;
    /* a full build started beside the backup when the cache matches no generation */
    pthread_t thread;
    int started, build_err;
    char build_msg[512];
    struct mm_index_build_stats bst;
};

/* The guard of one backup (backup_guard.c). */
struct guard_job {
    const struct mm_backup_opts *o;
    mm_guard *g; /* NULL: not judged (opts.no_guard) */
    struct mm_guard_source_cfg cfg[MM_BACKUP_SOURCES_MAX];
    char dir[4096];                    /* the host's guard folder */
    char standing[MM_CRYPTO_HEX_SIZE]; /* the generation standing suspect on the repository */
    int64_t parent_end_ns;
    int unreadable; /* the guard folder could not be read: judged without it */
    int judged;     /* the judge hook ran: v is the verdict stored */
    struct mm_guard_verdict v;
};

/* backup_guard.c: before the walk (nothing when opts.no_guard); the judge hook (ctx: the
 * guard_job); after the manifest (result.guard*, history, standing list); release. */
int mm_backup__guard_start(struct guard_job *gj, mm_repo *r, const struct mm_repo_source *src,
                           int64_t now_s);
int mm_backup__guard_judge(mm_repo *r, const struct mm_repo_counts *c, const char **verdict,
                           const char **reasons, void *ctx);
void mm_backup__guard_finish(struct guard_job *gj, struct mm_backup_result *res);
void mm_backup__guard_release(struct guard_job *gj);

/* backup_sources.c */
int mm_backup__pjoin(char *out, size_t cap, const char *a, const char *b);
const char *mm_backup__base(const char *p);
int mm_backup__choose_storages(const struct mm_ssmix2_detection *f, struct mm_repo_source *src,
                               struct index_job *j);
int mm_backup__covered(const struct mm_ssmix2_detection *f, size_t i);
int mm_backup__storage_list(const struct mm_ssmix2_detection *f, const struct mm_repo_source *src,
                            int indexed, struct mm_repo_gen_storage **out);
void mm_backup__storage_list_free(struct mm_repo_gen_storage *s, size_t n);

/* One refresh of the viewer on the medium (backup_medium.c, backup_medium_win.c). */
struct mm_backup__pay {
    const char *repo;
    unsigned int flags; /* enum mm_backup_viewer_flags */
    struct mm_repo_viewer *list;
    mm_buf old; /* the file on the medium, compared before it is replaced */
};

/* backup_medium.c: list the file @rel of @n bytes at @data; with MM_BACKUP_VIEWER_WRITE,
 * write it (mode @mode) unless the medium holds the same bytes already. */
int mm_backup__put(struct mm_backup__pay *p, const char *rel, const void *data, size_t n,
                   mode_t mode);

/* backup_medium.c: put() the file @src of the disk (read whole; its first bytes must be
 * @magic unless NULL: MM_EINVAL), its SHA-256 remembered for the process (file identity). */
int mm_backup__put_file(struct mm_backup__pay *p, const char *rel, const char *src, mode_t mode,
                        const char *magic);

/* backup_medium_win.c: the Windows viewer (bin/mamori.exe, the launchers, their SHA-256 list)
 * from @windows_exe (NULL: looked for beside this mamori; "": none), put() after bin/.
 * @return 0 (listed, and written with MM_BACKUP_VIEWER_WRITE), 1 (no Windows build found:
 * nothing listed or written), MM_EINVAL (not a Windows program), MM_ELIMIT, MM_EIO, MM_ENOMEM */
int mm_backup__put_windows(struct mm_backup__pay *p, const char *windows_exe);

/* backup_index.c */
void mm_backup__note(const struct mm_backup_opts *o, enum mm_backup_note_kind kind, uint64_t count,
                     const char *message);
int mm_backup__cache_dir(const char *root, const char *repo_id, char *out, size_t cap);
int mm_backup__index_paths(struct index_job *j, const char *cache_root, const char *repo_id);
void mm_backup__parent_facts(mm_repo *r, struct index_job *j, const struct mm_repo_source *src,
                             size_t nsrc, const char *cache_root);
void mm_backup__judge(struct index_job *j, int index);
void mm_backup__start_early_build(mm_repo *r, struct index_job *j);
int mm_backup__index_hook(mm_repo *r, const unsigned char *old_root, const unsigned char *new_root,
                          const char **index_file, int *reuse, void *arg);
void mm_backup__write_stamp(struct index_job *j);

#endif
