/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside a backup (mm_repo_backup): its state, shared by the steps in their own files —
 * repo_backup.c (the run: sources, index files, the patient index, the manifest),
 * repo_backup_pack.c (objects into packs: compression, the dictionary's samples, pack and
 * index files written) and repo_backup_walk.c (folders and files by the worker threads,
 * trees). Not for other modules.
 */
#ifndef MM_REPO_REPO_BACKUP_INT_H
#define MM_REPO_REPO_BACKUP_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "repo/repo_int.h"

#define INDEX_EVERY   64    /* packs per index file (about 1 GiB), so a crash loses little */
#define INDEX_OBJECTS 65536 /* or this many objects (about 3 MiB): its buffers stay small */
#define INDEX_PIECE   4096  /* the patient index is stored in pieces of its page size */
enum { SAMPLING_DONE = 0, SAMPLING_COLLECT = 1, SAMPLING_TRAIN = 2 };
#define DICT_SAMPLES      2000u                /* small files a dictionary is trained on */
#define DICT_SAMPLE_BYTES (8u * 1024u * 1024u) /* at most this many bytes of them */
#define PACKS_OUT         1 /* full packs written at a time (memory: these + the one filling) */
#define PACK_SLACK        (1u << 20) /* allocated beyond pack_target: the last object, the table */

struct node;

/* A folder entry being built: the tree entry plus what it owns. */
struct ent {
    struct mm_repo__entry te;
    char *name;         /* owned copy, NUL-terminated */
    unsigned char *ids; /* owned: blob IDs, or the subfolder's tree ID */
    char *target;       /* owned symlink target */
};

/* A folder in flight. */
struct node {
    struct node *parent;
    struct node *prev, *next; /* every live node, so a failed run frees them all */
    size_t slot;              /* our entry in the parent */
    struct ent *e;
    size_t n;
    long pending; /* the lister + files being read + subfolders not finished */
};

enum job_kind { JOB_DIR = 1, JOB_FILE = 2 };

struct job {
    enum job_kind kind;
    struct node *node;          /* DIR: the folder to fill; FILE: the folder of the file */
    size_t slot;                /* FILE: its entry */
    char *path;                 /* full path */
    size_t src;                 /* the source it is under (bstate.src, bstate.gs) */
    int has_old;                /* DIR: the parent generation has this folder; FILE (with a delta
                                   observer only): its folder there had a file of this name */
    unsigned char old[ID_SIZE]; /* DIR: the old tree; FILE: the old file's content hash */
    uint64_t old_ino, old_dev;  /* FILE: the old file's inode and device */
};

struct bstate;

struct worker {
    struct bstate *st;
    pthread_t thread;
    struct mm_repo__work w;
    mm_buf sealed; /* one sealed object on its way into the shared pack */
    mm_chunker *chunker;
    unsigned char *buf;             /* read buffer, grown up to chunk.max for large files */
    _Alignas(8) char dirbuf[32768]; /* folder entries as the kernel gives them */
    size_t bufcap;
    unsigned char (*ids)[ID_SIZE];
    size_t nids, capids;
    int want_head; /* a delta observer: keep the first bytes of each file read */
    size_t headlen;
    unsigned char head[MM_REPO_DELTA_HEAD];
};

struct bstate {
    mm_repo *r;
    const struct mm_repo_backup_opts *o;
    pthread_mutex_t mu; /* jobs, nodes, new packs */
    pthread_cond_t cv;
    struct job *jobs;
    size_t njobs, capjobs;
    int busy; /* workers inside a job */
    int done, err;
    unsigned char root[ID_SIZE];
    struct node *top;  /* the virtual root: one entry per source */
    struct node *live; /* every node not yet finished (under livemu) */
    pthread_mutex_t livemu;
    /* packs written but not yet named by an index file */
    struct mm_repo__packinfo *newpacks;
    size_t nnew, capnew;
    size_t newobjs;                /* objects in newpacks */
    pthread_mutex_t ixw;           /* one index file writer at a time */
    pthread_mutex_t packmu;        /* the pack being filled, shared by every worker */
    pthread_cond_t packcv;         /* a full pack has been written */
    struct mm_repo__packw pack[2]; /* [0] file data, [1] trees: a later backup, restore or
                                      verify reads the trees from a few packs together */
    int packs_out; /* full packs taken out of st->pack, not yet written (at most PACKS_OUT) */
    /* the first new small files, sampled to train a dictionary when the repository has none */
    pthread_mutex_t dictmu;
    pthread_cond_t dictcv; /* the dictionary is trained */
    int sampling;          /* SAMPLING_*, read with __atomic */
    mm_buf samples;
    size_t *sizes;
    unsigned nsamples, want_samples;
    pthread_mutex_t problem_mu;
    struct mm_repo_unstable unst;        /* files changed while read (under problem_mu) */
    const struct mm_repo_source *src;    /* the sources as given, by job.src */
    const struct mm_repo_gen_source *gs; /* their entries in the root tree, by job.src */
    struct mm_repo_counts c;             /* updated with __atomic builtins */
    char (*written)[96]; /* packs and index files of this run: removed if it fails */
    size_t nwritten, capwritten;
    /* a host's backup (r->cat): the packs of the index files written, for its catalog */
    struct mm_repo__packinfo *cdone;
    size_t ncdone, capcdone;
    char errmsg[512]; /* the message of the first fatal error, from whichever thread */
};

/* ---- repo_backup.c ---- */

/* *@p += @v, atomically (counters shared by the workers). */
void mm_repo__bk_add(uint64_t *p, uint64_t v);
/* Note a file this run wrote (under st->mu), so a failed run can take it back. */
int mm_repo__bk_remember(struct bstate *st, const char *rel);
/* Record the first fatal error and stop everyone. */
int mm_repo__bk_fail(struct bstate *st, int err);
/* A file or folder that could not be read: reported (redacted) and skipped. */
void mm_repo__bk_problem(struct bstate *st, const char *path, const char *what);
/* The file of job @j still changed at its last read: listed (its path in the generation),
 * reported (redacted), counted. */
void mm_repo__bk_unstable(struct bstate *st, const struct job *j);

/* ---- repo_backup_pack.c ---- */

/* A host's backup: whether every one of the @n objects @ids is known (reused only then). */
int mm_repo__bk_all_known(struct bstate *st, const unsigned char *ids, size_t n);
/* Store one object in the pack of its kind (store_in). */
int mm_repo__bk_store(struct worker *wk, uint8_t type, const void *p, size_t n,
                      unsigned char id[ID_SIZE]);
/*
 * Read @fd to its end, cut it into chunks and store them; the IDs go to wk->ids.
 * @param[out] total bytes read
 * @return 0, MM_EIO (read error: errno kept in *@eno), other errors fatal
 */
int mm_repo__bk_store_stream(struct worker *wk, int fd, uint64_t *total, int *eno);
/* Write an index file naming every new pack so far. Called with st->ixw held. */
int mm_repo__bk_write_index_file(struct bstate *st);
/* Finish the pack @p: table, trailer, write, then make its objects known; @p is emptied. */
int mm_repo__bk_pack_flush(struct worker *wk, struct mm_repo__packw *p);
/*
 * Store one object unless the repository has it: claim its ID, seal it into pack writer
 * @which (0 file data, 1 trees). @return 1 stored, 0 known already, <0 error.
 */
int mm_repo__bk_store_in(struct worker *wk, uint8_t type, int which, const void *p, size_t n,
                         unsigned char id[ID_SIZE]);
/* Append @id to the IDs of the file being stored (wk->ids). */
int mm_repo__bk_push_id(struct worker *wk, const unsigned char id[ID_SIZE]);

/* ---- repo_backup_walk.c ---- */

/* A new folder node, linked into st->live. */
struct node *mm_repo__bk_node_new(struct bstate *st, struct node *parent, size_t slot);
/* Unlink @nd from st->live and free it with its entries. */
void mm_repo__bk_node_free(struct bstate *st, struct node *nd);
/* One outstanding piece of @nd is done; finish the folder when it was the last. */
int mm_repo__bk_release(struct worker *wk, struct node *nd);
/* Queue the job @j for the workers. */
int mm_repo__bk_push_job(struct bstate *st, const struct job *j);
/* The tree entry's metadata (mode, owner, size, times, inode, device) from @s. */
void mm_repo__bk_fill_stat(struct mm_repo__entry *te, const struct stat *s);
/* A worker of @st (its buffers and chunker); released with mm_repo__bk_worker_release. */
int mm_repo__bk_worker_init(struct worker *wk, struct bstate *st);
void mm_repo__bk_worker_release(struct worker *wk);
/* qsort order of tree entries: by name bytes, shorter first. */
int mm_repo__bk_cmp_name(const void *a, const void *b);
/* A worker thread (@arg: its struct worker): takes jobs until the queue ends. */
void *mm_repo__bk_worker_main(void *arg);

/* ---- repo_backup_delta.c (only with a delta observer, st->o->delta) ---- */

/* The content hash of a file: BLAKE2b of its @n blob IDs. OUT: @out */
void mm_repo__bk_content(const unsigned char *ids, size_t n, unsigned char out[ID_SIZE]);

/* What a folder job saw, told to the observer after its listing was compared. */
struct mm_repo__bk_seen {
    const struct mm_repo__tree *old; /* the parent generation's folder (n 0: none) */
    unsigned char *mark;             /* per old entry: SEEN_* */
    uint64_t files, unchanged;       /* regular files now; kept unread */
};
enum { SEEN_FILE = 1, SEEN_DIR = 2, SEEN_RENAMED = 4 };

/* A file of the folder job @j kept unread under @name, found by inode as @old (renamed). */
void mm_repo__bk_renamed(struct worker *wk, const struct job *j, const char *name,
                         const struct mm_repo__entry *old);
/* The folder delta of @j and every file or folder of its old tree it no longer has. */
void mm_repo__bk_folder_done(struct worker *wk, const struct job *j,
                             const struct mm_repo__bk_seen *seen);
/* The file job @j was read (wk->ids, wk->head): ADDED, MODIFIED, REPLACED or TOUCHED. */
void mm_repo__bk_file_read(struct worker *wk, const struct job *j, const struct stat *s,
                           uint64_t size);

#endif
