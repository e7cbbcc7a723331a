/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori backup: write a new generation of the given folders into a repository. The
 * SS-MIX2 standardized storages found at or below the folders (mm_ssmix2_detect, by the
 * layout's signature) get one patient index stored with the generation (with the extended
 * storage beside each), so the viewer opens a patient without reading the storage. The index
 * is kept between runs in the host's cache folder and, for one storage, brought up to date
 * only for the patients whose folders changed. A generation whose SS-MIX2 data yields no index, or
 * an index that lost patients, is written but marked (mm_repo_attention_judge), reported on stderr
 * and ends with exit status 4. mamori generations: list the generations of a repository.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "index/index.h"
#include "os/os.h"
#include "repo/repo.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_medium.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"
#include "ssmix2/ssmix2.h"

#define SOURCES_MAX 64

/* ---- what kind of folder ---------------------------------------------------------------- */

/* "@a/@b" into @out. @return 0, -1 when it does not fit. */
static int pjoin(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static const char *kind_name(enum mm_repo_source_kind k)
{
    switch (k) {
    case MM_REPO_SOURCE_SSMIX2_STD:
        return "ssmix2-standard";
    case MM_REPO_SOURCE_SSMIX2_EXT:
        return "ssmix2-extended";
    default:
        return "folder";
    }
}

/* The attention bits @a as a JSON array of names. */
static void attention_json(FILE *f, uint32_t a)
{
    static const char *const names[] = { "no_index", "few_patients", "not_indexed" };
    int first = 1;

    fputc('[', f);
    for (unsigned i = 0; i < 32; i++) {
        if (!(a & (1u << i)))
            continue;
        if (i < sizeof(names) / sizeof(*names))
            fprintf(f, "%s\"%s\"", first ? "" : ",", names[i]);
        else
            fprintf(f, "%s\"other-%u\"", first ? "" : ",", i);
        first = 0;
    }
    fputc(']', f);
}

/* ---- the patient index ------------------------------------------------------------------ */

struct index_job {
    struct cli_run run; /* first: the progress and problem callbacks take the job as theirs */
    struct cli_ctx *ctx;
    const char *std, *ext; /* source paths */
    const char *std_name;  /* its entry path in the generation ("ssmix2/standard") */
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

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');

    while (s && s[1] == '\0' && s > p) { /* trailing slash */
        const char *t = s - 1;
        while (t > p && *t != '/')
            t--;
        return *t == '/' ? t + 1 : t;
    }
    return s ? s + 1 : p;
}

/* The host cache folder: --cache, $MAMORI_CACHE, $XDG_CACHE_HOME/mamori, ~/.cache/mamori. */
static int cache_dir(const char *opt, const char *repo_id, char *out, size_t cap)
{
    const char *c = opt ? opt : getenv("MAMORI_CACHE");
    const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    int n;

    if (c)
        n = snprintf(out, cap, "%s/%s", c, repo_id);
    else if (x && *x)
        n = snprintf(out, cap, "%s/mamori/%s", x, repo_id);
    else if (h && *h)
        n = snprintf(out, cap, "%s/.cache/mamori/%s", h, repo_id);
    else
        n = snprintf(out, cap, "/var/cache/mamori/%s", repo_id);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
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
 * Before the backup: when the cached index matches no generation (first backup, lost
 * cache), the whole index has to be built; start that now, beside the backup's walk, so the
 * two share the disk's and the CPUs' time instead of queueing.
 */
static void start_early_build(mm_repo *r, struct index_job *j)
{
    struct mm_repo_gen g;
    char root[MM_CRYPTO_HEX_SIZE];
    int match = 0;

    if (mm_repo_gen_find(r, "latest", &g) == 0) {
        mm_crypto_hex(g.root, root);
        match = j->nmore == 0 && cache_matches(j, root);
        mm_repo_gen_release(&g);
    }
    mm_error_clear();
    if (match)
        return;
    unlink(j->stamp);
    j->started = pthread_create(&j->thread, NULL, build_thread, j) == 0;
}

/* Fill j->check from what is known now (@index: an index is stored, at j->path). */
static void judge(struct index_job *j, int index)
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
    fprintf(stderr,
            CLI_T(j->ctx, "mamori: 患者索引を作れませんでした: %s\n",
                  "mamori: the patient index could not be built: %s\n"),
            j->build_msg);
    j->failed = 1;
    for (size_t i = 0; i < j->nstor; i++)
        j->stor[i].indexed = 0;
    unlink(j->stamp);
    judge(j, 0);
    return 0;
}

/* mm_repo_index_fn: build or update the cached index, hand its path to the backup. */
static int index_hook(mm_repo *r, const unsigned char *old_root, const unsigned char *new_root,
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
        fprintf(stderr,
                CLI_T(j->ctx,
                      "mamori: 患者索引: %zu 件のファイルが読めませんでした（データ自体はバックアップされます）\n",
                      "mamori: patient index: %zu files could not be read (their data is still backed up)\n"),
                st.problems.bad + st.unreadable);
    *index_file = j->path;
    j->done = 1;
    judge(j, 1);
    return 0;
}

/* After the generation is written: remember which root tree the cached index matches. */
static void write_stamp(struct index_job *j)
{
    char tmp[4200];
    FILE *f;

    if (!j->done)
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp", j->stamp);
    if (!(f = fopen(tmp, "w")))
        return;
    {
        char key[2 * MM_LIMIT_PATH + 8];
        stamp_key(j, key, sizeof(key));
        fprintf(f, "%s\n%s\n", j->new_root, key);
    }
    if (fclose(f) == 0)
        rename(tmp, j->stamp);
}

/*
 * From the storages @f found below the sources: each source's kind (a storage given
 * directly), the standardized storages to index (the first with the extended storage beside
 * it as the job's main pair, the others as more_std/more_ext), and how many storages the
 * index will not cover (an extended storage with no standardized one beside it, while there
 * are standardized ones). OUT: @src kinds, @j
 */
static int choose_storages(struct cli_ctx *ctx, const struct mm_ssmix2_detection *f,
                           struct mm_repo_source *src, struct index_job *j)
{
    long pick = -1;

    for (size_t i = 0; i < f->n; i++) {
        const struct mm_ssmix2_storage *s = &f->v[i];
        if (s->depth == 0)
            src[s->root].kind = s->kind == MM_SSMIX2_STORAGE_STANDARD ? MM_REPO_SOURCE_SSMIX2_STD
                                                                      : MM_REPO_SOURCE_SSMIX2_EXT;
        if (s->kind != MM_SSMIX2_STORAGE_STANDARD)
            continue;
        j->nstd++;
        if (pick < 0) {
            pick = (long)i;
        } else {
            j->more_std[j->nmore] = s->path;
            j->more_ext[j->nmore++] = s->pair >= 0 ? f->v[s->pair].path : NULL;
        }
    }
    for (size_t i = 0; i < f->n && pick >= 0; i++)
        if (f->v[i].kind == MM_SSMIX2_STORAGE_EXTENDED && f->v[i].pair < 0)
            j->not_indexed++;
    j->not_indexed += f->too_deep; /* moved out of reach: never silently left out */
    if (f->unreadable && !ctx->quiet)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: SS-MIX2 ストレージを探す途中で %zu 個のフォルダが読めませんでした\n",
                      "mamori: %zu folders could not be read while looking for SS-MIX2 "
                      "storages\n"),
                f->unreadable);
    if (pick < 0)
        return CLI_OK;
    for (int k = 0; k < 2; k++) {
        const struct mm_ssmix2_storage *s = k == 0                 ? &f->v[pick]
                                            : f->v[pick].pair >= 0 ? &f->v[f->v[pick].pair]
                                                                   : NULL;
        char *entry = k == 0 ? j->std_entry : j->ext_entry;
        int n;
        if (!s)
            continue;
        n = snprintf(entry, MM_LIMIT_PATH + 1, "%s%s%s", base(src[s->root].path),
                     *s->rel ? "/" : "", s->rel);
        if (n < 0 || n > (int)MM_LIMIT_PATH) {
            cli_error("%s", CLI_T(ctx, "ストレージのパスが長すぎます", "storage path too long"));
            return CLI_ERROR;
        }
        if (k == 0) {
            j->std = s->path;
            j->std_name = entry;
        } else {
            j->ext = s->path;
            j->ext_name = entry;
        }
    }
    return CLI_OK;
}

/* Whether storage @i of @f is in the index (when one is built): every standardized storage,
 * and an extended storage beside one. */
static int covered(const struct mm_ssmix2_detection *f, size_t i)
{
    return f->v[i].kind == MM_SSMIX2_STORAGE_STANDARD || f->v[i].pair >= 0;
}

/*
 * What the check compares with: the newest generation that shares a source (by entry name)
 * with this backup and stored a patient index, and how many patients it held (from its
 * manifest; for older manifests, from the cached index when it matches that generation).
 * Looking past generations without an index keeps a lost index loud on every backup until
 * an index is stored again, not only on the first one after the loss.
 */
static void parent_facts(mm_repo *r, struct index_job *j, const struct mm_repo_source *src,
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
                shared = strcmp(gens[i].sources[s].name, base(src[k].path)) == 0;
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
        if (cache_dir(cache, mm_repo_id(r), dir, sizeof(dir)) == 0 &&
            pjoin(path, sizeof(path), dir, "patient-index.db") == 0 &&
            pjoin(stampf, sizeof(stampf), dir, "patient-index.generation") == 0 &&
            read_stamp(stampf, stamp) == 0 && strcmp(stamp, root) == 0 &&
            mm_index_open(&ix, path, 0) == 0 && mm_index_patient_count(ix, &c) == 0)
            j->check.parent_patients = c;
        mm_index_free(ix);
        mm_error_clear();
    }
    mm_repo_gens_free(gens, n);
}

/* Say on stderr why generation @id needs attention (counts only, no patient data). */
static void attention_report(struct cli_ctx *ctx, const char *id, const struct index_job *j)
{
    uint32_t a = j->check.attention;

    if (a & MM_REPO_ATTN_NO_INDEX)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 要確認: 世代 %.12s は書き込みましたが、SS-MIX2 の患者索引がありません。"
                      "ビューアではこの世代の患者を開けません\n",
                      "mamori: needs attention: generation %.12s was written, but without a "
                      "patient index of its SS-MIX2 data; the viewer cannot open its patients\n"),
                id);
    if (a & MM_REPO_ATTN_FEW_PATIENTS)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 要確認: 世代 %.12s の患者索引は %llu 人で、前の世代の %u%% 未満です"
                      "（前の世代は %llu 人）。元のフォルダが欠けていないか確かめてください\n",
                      "mamori: needs attention: the patient index of generation %.12s holds %llu "
                      "patients, under %u%% of the previous generation's %llu; check that the "
                      "source folders are complete\n"),
                id, (unsigned long long)j->check.patients, MM_REPO_PATIENTS_MIN_PERCENT,
                (unsigned long long)j->check.parent_patients);
    if (a & MM_REPO_ATTN_NOT_INDEXED)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori: 要確認: 患者索引に入っていない SS-MIX2 ストレージが %zu 個あります"
                      "（指定したフォルダから 5 階層以上深い、または隣に標準化ストレージがない拡張"
                      "ストレージ）。データは保存されています\n",
                      "mamori: needs attention: %zu SS-MIX2 storages are not in the patient index "
                      "(more than 4 levels below the folder given, or an extended storage with no "
                      "standardized storage beside it); their files are backed up\n"),
                j->not_indexed);
    fprintf(stderr, "%s",
            CLI_T(ctx,
                  "mamori: 終了コード 4: データは保存されましたが確認が必要です"
                  "（docs/operations.md「終了コード 4」）\n",
                  "mamori: exit status 4: the data are stored but need attention (docs/"
                  "operations.md, \"exit status 4\")\n"));
}

static int run_backup(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },
        { "cache", required_argument, NULL, 'c' },
        { "no-index", no_argument, NULL, 'N' },
        { "threads", required_argument, NULL, 't' },
        { "medium", required_argument, NULL, 'm' },
        { "hospital", required_argument, NULL, 'H' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *name = NULL, *user = NULL, *passfile = NULL, *cache = NULL;
    const char *medium = NULL, *hospital = NULL;
    struct mm_repo_source src[SOURCES_MAX];
    struct mm_repo_backup_opts bo = { 0 };
    struct mm_repo_counts c;
    struct index_job ij;
    struct mm_ssmix2_detection found = { 0 };
    struct mm_repo_gen_storage *stor = NULL;
    struct timespec t0, t1;
    char id[MM_CRYPTO_HEX_SIZE], b1[32], b2[32], b3[32];
    size_t nsrc = 0;
    unsigned long threads = 0;
    mm_repo *r = NULL;
    int opt, rc, err, no_index = 0;
    double secs;

    memset(&ij, 0, sizeof(ij));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &repo, &user, &passfile))
            continue;
        switch (opt) {
        case 'n':
            name = optarg;
            break;
        case 'c':
            cache = optarg;
            break;
        case 'N':
            no_index = 1;
            break;
        case 'm':
            medium = optarg;
            break;
        case 'H':
            hospital = optarg;
            break;
        case 't': {
            char *end;
            threads = strtoul(optarg, &end, 10);
            if (*end || threads < 1 || threads > 64)
                return cli_usage(ctx, &cmd_backup,
                                 CLI_T(ctx, "--threads は 1〜64 です", "--threads takes 1 to 64"));
            break;
        }
        default:
            return cli_option_error(ctx, &cmd_backup, opt, argv);
        }
    }
    if (!repo || !*repo)
        return cli_usage(ctx, &cmd_backup,
                         CLI_T(ctx, "--repo を指定してください", "--repo is required"));
    if (optind >= argc)
        return cli_usage(ctx, &cmd_backup,
                         CLI_T(ctx, "バックアップするフォルダを指定してください",
                               "give the folders to back up"));
    if (argc - optind > SOURCES_MAX)
        return cli_usage(ctx, &cmd_backup, CLI_T(ctx, "フォルダが多すぎます", "too many folders"));
    for (int i = optind; i < argc; i++) {
        struct stat s;
        if (stat(argv[i], &s) != 0 || !S_ISDIR(s.st_mode)) {
            cli_error(CLI_T(ctx, "'%s' はフォルダではありません", "'%s' is not a folder"), argv[i]);
            return CLI_ERROR;
        }
        src[nsrc].path = argv[i];
        src[nsrc].kind = MM_REPO_SOURCE_FOLDER;
        nsrc++;
    }
    if ((err = mm_ssmix2_detect((const char *const *)argv + optind, nsrc, &found)) < 0)
        return cli_lib_error(err);
    if ((rc = choose_storages(ctx, &found, src, &ij)) != CLI_OK)
        goto out;
    if ((rc = cli_repo_open(ctx, repo, user, passfile, &r)) != CLI_OK)
        goto out;
    /* the medium wanted, checked before anything is written (not even the lock file) */
    if ((rc = cli_media_check(ctx, r, medium, hospital)) != CLI_OK)
        goto out;
    {
        unsigned int stale = 0;
        if ((err = mm_repo_lock(r, MM_REPO_LOCK_EXCLUSIVE, &stale)) < 0) {
            rc = cli_repo_error(ctx, err);
            goto out;
        }
        if (stale && !ctx->quiet)
            fprintf(stderr,
                    CLI_T(ctx, "mamori: 終了したプロセスの古いロックを %u 個外しました\n",
                          "mamori: removed %u stale locks of processes that are gone\n"),
                    stale);
    }
    if (!no_index)
        parent_facts(r, &ij, src, nsrc, cache);
    if (ij.std && !no_index) {
        ij.ctx = ctx;
        if (cache_dir(cache, mm_repo_id(r), ij.dir, sizeof(ij.dir)) < 0) {
            cli_error("%s",
                      CLI_T(ctx, "キャッシュフォルダのパスが長すぎます", "cache path too long"));
            rc = CLI_ERROR;
            goto out;
        }
        if (pjoin(ij.path, sizeof(ij.path), ij.dir, "patient-index.db") < 0 ||
            pjoin(ij.stamp, sizeof(ij.stamp), ij.dir, "patient-index.generation") < 0) {
            cli_error("%s",
                      CLI_T(ctx, "キャッシュフォルダのパスが長すぎます", "cache path too long"));
            rc = CLI_ERROR;
            goto out;
        }
        bo.index = index_hook;
    }
    cli_progress_start(&ij.run.prog, ctx, CLI_T(ctx, "バックアップ中", "backing up"));
    bo.name = name;
    bo.threads = (unsigned int)threads;
    { /* tests only: train the compression dictionary from fewer small files (default 2000) */
        const char *ds = getenv("MAMORI_DICT_SAMPLES");
        char *end;
        unsigned long v = ds ? strtoul(ds, &end, 10) : 0;
        if (ds && *ds && !*end && v >= 10 && v <= 100000)
            bo.dict_samples = (unsigned int)v;
    }
    if (!no_index && (ij.nstd > 0 || ij.parent_index || ij.not_indexed > 0)) {
        judge(&ij, 0); /* without an index; the hook judges again when it stores one */
        bo.check = &ij.check;
    }
    if (found.n && !(stor = calloc(found.n, sizeof(*stor)))) {
        cli_error("%s", CLI_T(ctx, "メモリが足りません", "out of memory"));
        rc = CLI_ERROR;
        goto out;
    }
    for (size_t i = 0; i < found.n; i++) { /* their paths inside the generation */
        const struct mm_ssmix2_storage *s = &found.v[i];
        size_t len = strlen(base(src[s->root].path)) + 1 + strlen(s->rel) + 1;
        if (!(stor[i].path = malloc(len))) {
            cli_error("%s", CLI_T(ctx, "メモリが足りません", "out of memory"));
            rc = CLI_ERROR;
            goto out;
        }
        snprintf(stor[i].path, len, "%s%s%s", base(src[s->root].path), *s->rel ? "/" : "", s->rel);
        stor[i].kind = s->kind == MM_SSMIX2_STORAGE_STANDARD ? MM_REPO_SOURCE_SSMIX2_STD
                                                             : MM_REPO_SOURCE_SSMIX2_EXT;
        /* the hook stores the index only after the walk; if it does, these are in it */
        stor[i].indexed = !no_index && covered(&found, i);
    }
    bo.storages = stor;
    bo.nstorages = found.n;
    ij.stor = stor;
    ij.nstor = found.n;
    bo.progress = cli_progress_cb;
    bo.problem = cli_problem_cb;
    bo.ctx = &ij; /* starts with its cli_run, as the callbacks want */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (bo.index)
        start_early_build(r, &ij);
    err = mm_repo_backup(r, src, nsrc, &bo, id, &c);
    if (ij.started) /* the backup failed before its hook: wait for the build to end */
        pthread_join(ij.thread, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cli_progress_end(&ij.run.prog);
    cli_audit_backup(ctx, r, repo, err, id, &c);
    if (err < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    write_stamp(&ij);
    /* the viewer on the medium follows this mamori (only what differs is rewritten); its
     * launcher with it. A failure is a warning: the generation is written */
    if ((err = cli_medium_bundle(repo)) < 0 || (err == 0 && cli_medium_launcher(repo) < 0))
        cli_error(CLI_T(ctx, "媒体のビューアを更新できませんでした: %s",
                        "the viewer on the medium could not be updated: %s"),
                  mm_error_last());
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (ctx->json) {
        printf("{\"id\":\"%s\",\"files\":%llu,\"dirs\":%llu,\"symlinks\":%llu,\"skipped\":%llu,"
               "\"bytes\":%llu,\"files_read\":%llu,\"files_unchanged\":%llu,\"objects_new\":%llu,"
               "\"bytes_new\":%llu,\"bytes_stored\":%llu,\"duration_s\":%.3f,\"sources\":[",
               id, (unsigned long long)c.files, (unsigned long long)c.dirs,
               (unsigned long long)c.symlinks, (unsigned long long)c.skipped,
               (unsigned long long)c.bytes, (unsigned long long)c.files_read,
               (unsigned long long)c.files_unchanged, (unsigned long long)c.objects_new,
               (unsigned long long)c.bytes_new, (unsigned long long)c.bytes_stored, secs);
        for (size_t i = 0; i < nsrc; i++) {
            printf(i ? ",{\"path\":" : "{\"path\":");
            cli_json_str(stdout, src[i].path, strlen(src[i].path));
            printf(",\"kind\":\"%s\"}", kind_name(src[i].kind));
        }
        printf("],\"storages\":[");
        for (size_t i = 0; i < found.n; i++) {
            printf(i ? ",{\"path\":" : "{\"path\":");
            cli_json_str(stdout, found.v[i].path, strlen(found.v[i].path));
            printf(",\"kind\":\"%s\",\"indexed\":%s}",
                   found.v[i].kind == MM_SSMIX2_STORAGE_STANDARD ? "ssmix2-standard"
                                                                 : "ssmix2-extended",
                   ij.done && covered(&found, i) ? "true" : "false");
        }
        printf("],\"patient_index\":%s,\"patients\":", ij.done ? "true" : "false");
        if (bo.check)
            printf("%llu", (unsigned long long)ij.check.patients);
        else
            printf("null");
        printf(",\"attention\":");
        attention_json(stdout, bo.check ? ij.check.attention : 0);
        printf(",\"problems\":");
        cli_problems_json(stdout, &ij.run.probs);
        printf("}\n");
    } else {
        if (!ctx->quiet) {
            printf(CLI_T(ctx, "世代 %s を作成しました\n", "generation %s created\n"), id);
            printf(CLI_T(ctx,
                         "  ファイル %llu（読んだもの %llu、変更なし %llu）、フォルダ %llu、合計 %s\n",
                         "  %llu files (%llu read, %llu unchanged), %llu folders, %s in total\n"),
                   (unsigned long long)c.files, (unsigned long long)c.files_read,
                   (unsigned long long)c.files_unchanged, (unsigned long long)c.dirs,
                   cli_bytes(c.bytes, b1));
            printf(CLI_T(ctx, "  新しいデータ %s → 媒体に %s、%.1f 秒%s\n",
                         "  new data %s -> %s on the medium, %.1f s%s\n"),
                   cli_bytes(c.bytes_new, b2), cli_bytes(c.bytes_stored, b3), secs,
                   ij.done ? CLI_T(ctx, "、患者索引つき", ", with the patient index") : "");
            for (size_t i = 0; i < found.n; i++)
                if (found.v[i].depth > 0)
                    printf(CLI_T(ctx, "  SS-MIX2 %s: %s%s\n", "  SS-MIX2 %s: %s%s\n"),
                           found.v[i].kind == MM_SSMIX2_STORAGE_STANDARD
                                   ? CLI_T(ctx, "標準化ストレージ", "standardized storage")
                                   : CLI_T(ctx, "拡張ストレージ", "extended storage"),
                           found.v[i].path,
                           ij.done && covered(&found, i) ? CLI_T(ctx, "（索引あり）", " (indexed)")
                                                         : "");
        }
        cli_problems_print(ctx, &ij.run.probs);
    }
    if (bo.check && ij.check.attention)
        attention_report(ctx, id, &ij);
    if (c.skipped && ij.run.probs.count) {
        cli_error(CLI_T(ctx, "%llu 件のファイルかフォルダが読めず、この世代に入っていません",
                        "%llu files or folders could not be read and are not in this generation"),
                  (unsigned long long)ij.run.probs.count);
        rc = CLI_ERROR;
    } else {
        rc = bo.check && ij.check.attention ? CLI_ATTENTION : CLI_OK;
    }
out:
    for (size_t i = 0; stor && i < found.n; i++)
        free(stor[i].path);
    free(stor);
    mm_ssmix2_detection_release(&found);
    cli_problems_free(&ij.run.probs);
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_backup = {
    "backup",
    "backup --repo <DIR> [--name <NAME>] [--medium <LABEL>] [--hospital <ID>] <FOLDER>...",
    "フォルダを新しい世代としてリポジトリにバックアップする",
    "back up folders into the repository as a new generation",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ\n"
    "   --name <NAME>             世代に付ける名前\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --cache <DIR>             患者索引のキャッシュフォルダ（既定 ~/.cache/mamori）\n"
    "   --no-index                患者索引を作らない\n"
    "   --medium <LABEL>          この媒体でなければ何も書かずに止まる（mamori media）\n"
    "   --hospital <ID>           この病院の媒体でなければ何も書かずに止まる\n"
    "   --threads <N>             作業スレッド数（既定: CPU 数の2倍）\n"
    "   --json                    結果を JSON で出す\n"
    "\n"
    "前の世代から大きさ・更新時刻・変更時刻・inode が変わらないファイルは読み直しません。\n"
    "SS-MIX2 標準化ストレージには患者索引（ビューア用）を暗号化して一緒に保存します。\n"
    "保存元のフォルダとその 4 階層下までから、SS-MIX2 の標準化ストレージと拡張ストレージを\n"
    "フォルダ名によらず構造で探して索引にします。\n"
    "終了コード: 0 成功、1 失敗または読めないファイルがあった、2 使い方の誤り、\n"
    "4 世代は書き込んだが要確認（SS-MIX2 なのに患者索引がない、患者が前の世代の 90% 未満 など）\n",
    "options:\n"
    "   --repo <DIR>              the repository\n"
    "   --name <NAME>             a name for the generation\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --cache <DIR>             cache folder of the patient index (default ~/.cache/mamori)\n"
    "   --no-index                do not build the patient index\n"
    "   --medium <LABEL>          refuse, writing nothing, unless this is that medium\n"
    "   --hospital <ID>           refuse, writing nothing, unless it is this hospital's\n"
    "   --threads <N>             worker threads (default: twice the CPUs)\n"
    "   --json                    print the result as JSON\n"
    "\n"
    "Files whose size, mtime, ctime and inode did not change since the last generation are not\n"
    "read again. An SS-MIX2 standardized storage gets its patient index (for the viewer)\n"
    "stored with the generation, encrypted.\n"
    "SS-MIX2 standardized and extended storages are found by their layout, whatever the\n"
    "folders are called, in the given folders and up to 4 levels below them.\n"
    "exit status: 0 done, 1 failed or some files could not be read, 2 usage error,\n"
    "4 written but needs attention (SS-MIX2 data without a patient index, fewer than 90% of\n"
    "the previous generation's patients, ...)\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY | CMD_WRITES_REPO,
    run_backup,
};

/* ---- generations ---------------------------------------------------------------------------- */

static const char *verify_name(const struct cli_ctx *ctx, enum mm_repo_verify_state v)
{
    switch (v) {
    case MM_REPO_VERIFIED:
        return CLI_T(ctx, "検証済", "verified");
    case MM_REPO_DAMAGED:
        return CLI_T(ctx, "損傷あり", "damaged");
    default:
        return CLI_T(ctx, "未検証", "unverified");
    }
}

static void local_time(int64_t ns, char out[32], int iso)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(out, 32, iso ? "%Y-%m-%dT%H:%M:%S%z" : "%Y-%m-%d %H:%M:%S", &tm);
}

/* The indented line under a generation that needs attention: why, with the counts. */
static void attention_line(const struct cli_ctx *ctx, const struct mm_repo_index_check *k)
{
    printf("  ⚠ %s:", CLI_T(ctx, "要確認", "NEEDS ATTENTION"));
    if (k->attention & MM_REPO_ATTN_NO_INDEX)
        printf(" %s", CLI_T(ctx, "SS-MIX2 の患者索引がない（ビューアで開けない）",
                            "no patient index of its SS-MIX2 data (the viewer cannot open it)"));
    if (k->attention & MM_REPO_ATTN_FEW_PATIENTS)
        printf(CLI_T(ctx, " 患者が %llu 人に減った（前の世代 %llu 人）",
                     " patients fell to %llu (previous generation %llu)"),
               (unsigned long long)k->patients, (unsigned long long)k->parent_patients);
    if (k->attention & MM_REPO_ATTN_NOT_INDEXED)
        printf(" %s", CLI_T(ctx, "索引に入っていない SS-MIX2 ストレージがある",
                            "SS-MIX2 storages not in the index"));
    if (k->attention &
        ~(uint32_t)(MM_REPO_ATTN_NO_INDEX | MM_REPO_ATTN_FEW_PATIENTS | MM_REPO_ATTN_NOT_INDEXED))
        printf(" %s", CLI_T(ctx, "（新しい mamori が付けた印）", "(a mark of a newer mamori)"));
    printf("\n");
}

static int run_generations(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *user = NULL, *passfile = NULL;
    struct mm_repo_gen *g = NULL;
    size_t n = 0, nattn = 0;
    mm_repo *r = NULL;
    int opt, rc, err;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &repo, &user, &passfile))
            continue;
        switch (opt) {
        default:
            return cli_option_error(ctx, &cmd_generations, opt, argv);
        }
    }
    if (optind != argc)
        return cli_usage(ctx, &cmd_generations,
                         CLI_T(ctx, "引数が多すぎます", "too many arguments"));
    if ((rc = cli_repo_open(ctx, repo, user, passfile, &r)) != CLI_OK)
        return rc;
    if ((err = mm_repo_generations(r, &g, &n)) < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    if (ctx->json) {
        printf("[");
        for (size_t i = 0; i < n; i++) {
            char t0[32], t1[32];
            local_time(g[i].start_ns, t0, 1);
            local_time(g[i].end_ns, t1, 1);
            printf("%s{\"id\":\"%s\",\"parent\":", i ? "," : "", g[i].id);
            if (g[i].parent[0])
                printf("\"%s\"", g[i].parent);
            else
                printf("null");
            printf(",\"name\":");
            if (g[i].name)
                cli_json_str(stdout, g[i].name, strlen(g[i].name));
            else
                printf("null");
            printf(",\"start\":\"%s\",\"end\":\"%s\",\"host\":", t0, t1);
            cli_json_str(stdout, g[i].host, strlen(g[i].host));
            printf(",\"user\":");
            cli_json_str(stdout, g[i].user, strlen(g[i].user));
            printf(",\"sources\":[");
            for (size_t k = 0; k < g[i].nsources; k++) {
                printf(k ? ",{\"path\":" : "{\"path\":");
                cli_json_str(stdout, g[i].sources[k].path, strlen(g[i].sources[k].path));
                printf(",\"name\":");
                cli_json_str(stdout, g[i].sources[k].name, strlen(g[i].sources[k].name));
                printf(",\"kind\":\"%s\"}", kind_name(g[i].sources[k].kind));
            }
            printf("],\"files\":%llu,\"dirs\":%llu,\"bytes\":%llu,\"bytes_new\":%llu,"
                   "\"bytes_stored\":%llu,\"patient_index\":%s,\"guard\":",
                   (unsigned long long)g[i].counts.files, (unsigned long long)g[i].counts.dirs,
                   (unsigned long long)g[i].counts.bytes, (unsigned long long)g[i].counts.bytes_new,
                   (unsigned long long)g[i].counts.bytes_stored, g[i].has_index ? "true" : "false");
            cli_json_str(stdout, g[i].guard, strlen(g[i].guard));
            printf(",\"storages\":[");
            for (size_t k = 0; k < g[i].nstorages; k++) {
                printf(k ? ",{\"path\":" : "{\"path\":");
                cli_json_str(stdout, g[i].storages[k].path, strlen(g[i].storages[k].path));
                printf(",\"kind\":\"%s\",\"indexed\":%s}", kind_name(g[i].storages[k].kind),
                       g[i].storages[k].indexed ? "true" : "false");
            }
            printf("],\"attention\":");
            attention_json(stdout, g[i].check.attention);
            if (g[i].check.present)
                printf(",\"patients\":%llu,\"parent_patients\":%llu",
                       (unsigned long long)g[i].check.patients,
                       (unsigned long long)g[i].check.parent_patients);
            else
                printf(",\"patients\":null,\"parent_patients\":null");
            printf(",\"verify\":\"%s\"}", g[i].verify == MM_REPO_VERIFIED  ? "verified"
                                          : g[i].verify == MM_REPO_DAMAGED ? "damaged"
                                                                           : "unverified");
        }
        printf("]\n");
    } else {
        if (n == 0 && !ctx->quiet)
            printf("%s\n", CLI_T(ctx, "世代はまだありません", "no generations yet"));
        for (size_t i = 0; i < n; i++) {
            char t0[32], sz[32];
            local_time(g[i].start_ns, t0, 0);
            if (g[i].check.attention)
                nattn++;
            printf("%.12s  %s  %8llu %s  %10s  %s  %s", g[i].id, t0,
                   (unsigned long long)g[i].counts.files, CLI_T(ctx, "ファイル", "files"),
                   cli_bytes(g[i].counts.bytes, sz), verify_name(ctx, g[i].verify),
                   strcmp(g[i].guard, "suspect") == 0 ? CLI_T(ctx, "要注意", "SUSPECT")
                   : strcmp(g[i].guard, "clean") == 0 ? CLI_T(ctx, "正常", "clean")
                                                      : CLI_T(ctx, "判定なし", "not judged"));
            for (size_t k = 0; k < g[i].nsources; k++)
                printf("%s%s", k ? ", " : "  ", g[i].sources[k].path);
            if (g[i].name)
                printf("  [%s]", g[i].name);
            printf("\n");
            if (g[i].check.attention)
                attention_line(ctx, &g[i].check);
        }
        if (nattn)
            fprintf(stderr,
                    CLI_T(ctx,
                          "mamori: 要確認の世代が %zu 個あります（docs/operations.md「終了コード "
                          "4」）\n",
                          "mamori: %zu generations need attention (docs/operations.md, \"exit "
                          "status 4\")\n"),
                    nattn);
    }
    rc = CLI_OK;
out:
    mm_repo_gens_free(g, n);
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_generations = {
    "generations",
    "generations --repo <DIR> [--json]",
    "リポジトリの世代を一覧する",
    "list the generations of a repository",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --json                    JSON で出す\n"
    "\n"
    "ID（先頭12桁）、開始時刻、ファイル数、大きさ、検証状態、ガード判定、元のフォルダ。\n"
    "要確認の世代（バックアップが終了コード 4 で終わったもの）には、その下の行に ⚠ と理由。\n",
    "options:\n"
    "   --repo <DIR>              the repository\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --json                    print JSON\n"
    "\n"
    "ID (first 12 digits), start time, files, size, verification, guard verdict, sources.\n"
    "A generation that needs attention (its backup ended with exit status 4) gets a line\n"
    "with ⚠ and the reason below it.\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY,
    run_generations,
};
