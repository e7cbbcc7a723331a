/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori backup: write a new generation of the given folders into a repository. Each
 * folder that looks like an SS-MIX2 standardized storage gets the patient index stored
 * with the generation (with the extended storage among the folders, if any), so the viewer
 * opens a patient without reading the storage. The index is kept between runs in the host's
 * cache folder and brought up to date only for the patients whose folders changed.
 * mamori generations: list the generations of a repository.
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
#define PROBE       8 /* folders looked at per level when guessing a source's kind */

/* ---- what kind of folder ---------------------------------------------------------------- */

/* "@a/@b" into @out. @return 0, -1 when it does not fit. */
static int pjoin(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Up to @max names of sub-folders of @dir (sorted order not needed). */
static size_t subdirs(const char *dir, char names[][256], size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    if (!d)
        return 0;
    while (n < max && (de = readdir(d)) != NULL) {
        char p[4096];
        struct stat s;
        if (de->d_name[0] == '.')
            continue;
        if (pjoin(p, sizeof(p), dir, de->d_name) == 0 && lstat(p, &s) == 0 && S_ISDIR(s.st_mode) &&
            strlen(de->d_name) < 256)
            memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
    }
    closedir(d);
    return n;
}

/* SS-MIX2 standardized, extended, or a plain folder: look at a few patient folders. */
static enum mm_repo_source_kind guess_kind(const char *root)
{
    static char a[PROBE][256], b[PROBE][256], c[PROBE][256], d[PROBE][256], e[PROBE][256];
    size_t na = subdirs(root, a, PROBE);

    for (size_t i = 0; i < na; i++) {
        char pa[4096];
        size_t nb;
        if (strlen(a[i]) != 3)
            continue;
        if (pjoin(pa, sizeof(pa), root, a[i]) < 0)
            continue;
        nb = subdirs(pa, b, PROBE);
        for (size_t j = 0; j < nb; j++) {
            char pb[4096];
            size_t nc;
            if (strlen(b[j]) != 3)
                continue;
            if (pjoin(pb, sizeof(pb), pa, b[j]) < 0)
                continue;
            nc = subdirs(pb, c, PROBE);
            for (size_t k = 0; k < nc; k++) {
                char pc[4096];
                size_t nd;
                if (strncmp(c[k], a[i], 3) != 0 || strncmp(c[k] + 3, b[j], 3) != 0)
                    continue;
                if (pjoin(pc, sizeof(pc), pb, c[k]) < 0)
                    continue;
                nd = subdirs(pc, d, PROBE);
                for (size_t l = 0; l < nd; l++) {
                    char pd[4096];
                    size_t ne;
                    if (pjoin(pd, sizeof(pd), pc, d[l]) < 0)
                        continue;
                    ne = subdirs(pd, e, PROBE);
                    for (size_t m = 0; m < ne; m++) {
                        char pe[4096];
                        DIR *dd;
                        struct dirent *de;
                        if (pjoin(pe, sizeof(pe), pd, e[m]) < 0)
                            continue;
                        if (!(dd = opendir(pe)))
                            continue;
                        while ((de = readdir(dd)) != NULL) {
                            struct mm_ssmix2_name nm;
                            char pf[4096];
                            struct stat s;
                            if (de->d_name[0] == '.')
                                continue;
                            if (pjoin(pf, sizeof(pf), pe, de->d_name) < 0)
                                continue;
                            if (lstat(pf, &s) != 0)
                                continue;
                            if (S_ISREG(s.st_mode) &&
                                mm_ssmix2_parse_name(&nm, de->d_name, strlen(de->d_name)) == 0) {
                                closedir(dd);
                                return MM_REPO_SOURCE_SSMIX2_STD;
                            }
                            if (S_ISDIR(s.st_mode) &&
                                mm_ssmix2_parse_content_folder(&nm, de->d_name,
                                                               strlen(de->d_name)) == 0) {
                                closedir(dd);
                                return MM_REPO_SOURCE_SSMIX2_EXT;
                            }
                        }
                        closedir(dd);
                    }
                }
            }
        }
    }
    mm_error_clear();
    return MM_REPO_SOURCE_FOLDER;
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

/* ---- the patient index ------------------------------------------------------------------ */

struct index_job {
    struct cli_run run; /* first: the progress and problem callbacks take the job as theirs */
    struct cli_ctx *ctx;
    const char *std, *ext; /* source paths */
    const char *std_name;  /* its entry name in the generation */
    const char *ext_name;
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
        (err = mm_index_build(ix, j->std, j->ext, &bo, &j->bst)) == 0)
        err = mm_index_commit(ix);
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
    char stamp[MM_CRYPTO_HEX_SIZE], root[MM_CRYPTO_HEX_SIZE];
    int match = 0;

    if (mm_repo_gen_find(r, "latest", &g) == 0) {
        mm_crypto_hex(g.root, root);
        match = read_stamp(j->stamp, stamp) == 0 && strcmp(stamp, root) == 0 &&
                access(j->path, R_OK) == 0;
        mm_repo_gen_release(&g);
    }
    mm_error_clear();
    if (match)
        return;
    unlink(j->stamp);
    j->started = pthread_create(&j->thread, NULL, build_thread, j) == 0;
}

/* mm_repo_index_fn: build or update the cached index, hand its path to the backup. */
static int index_hook(mm_repo *r, const unsigned char *old_root, const unsigned char *new_root,
                      const char **index_file, int *reuse, void *arg)
{
    struct index_job *j = arg;
    struct mm_index_build_stats st;
    char old_hex[MM_CRYPTO_HEX_SIZE] = "", stamp[MM_CRYPTO_HEX_SIZE];
    mm_index *ix = NULL;
    int err = 0, incremental;

    memset(&st, 0, sizeof(st));
    mm_crypto_hex(new_root, j->new_root);
    if (j->started) { /* built beside the walk */
        pthread_join(j->thread, NULL);
        j->started = 0;
        if (j->build_err < 0)
            return mm_error_set(j->build_err, "patient index: %s", j->build_msg);
        st = j->bst;
        goto built;
    }
    if (old_root)
        mm_crypto_hex(old_root, old_hex);
    incremental = old_root && read_stamp(j->stamp, stamp) == 0 && strcmp(stamp, old_hex) == 0 &&
                  access(j->path, R_OK) == 0;
    unlink(j->stamp); /* until this generation is written, the cache matches no generation */
    if (incremental) {
        char **pids = NULL, **xp = NULL;
        size_t n = 0, nx = 0;
        if ((err = mm_repo_changed_patients(r, old_root, new_root, j->std_name, &pids, &n)) < 0)
            return err;
        if (j->ext_name &&
            (err = mm_repo_changed_patients(r, old_root, new_root, j->ext_name, &xp, &nx)) < 0) {
            mm_repo_strings_free(pids, n);
            return err;
        }
        if (n + nx == 0) {
            *reuse = 1; /* nothing changed: the parent's index is this one too */
        } else {
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
            return mm_error_set(j->build_err, "patient index: %s", j->build_msg);
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
    fprintf(f, "%s\n", j->new_root);
    if (fclose(f) == 0)
        rename(tmp, j->stamp);
}

static int run_backup(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },
        { "cache", required_argument, NULL, 'c' },
        { "no-index", no_argument, NULL, 'N' },
        { "threads", required_argument, NULL, 't' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *name = NULL, *user = NULL, *passfile = NULL, *cache = NULL;
    struct mm_repo_source src[SOURCES_MAX];
    struct mm_repo_backup_opts bo = { 0 };
    struct mm_repo_counts c;
    struct index_job ij;
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
        src[nsrc].kind = guess_kind(argv[i]);
        if (src[nsrc].kind == MM_REPO_SOURCE_SSMIX2_STD && !ij.std) {
            ij.std = argv[i];
            ij.std_name = base(argv[i]);
        }
        if (src[nsrc].kind == MM_REPO_SOURCE_SSMIX2_EXT && !ij.ext) {
            ij.ext = argv[i];
            ij.ext_name = base(argv[i]);
        }
        nsrc++;
    }
    if ((rc = cli_repo_open(ctx, repo, user, passfile, &r)) != CLI_OK)
        return rc;
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
        printf("],\"patient_index\":%s,\"problems\":", ij.done ? "true" : "false");
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
        }
        cli_problems_print(ctx, &ij.run.probs);
    }
    if (c.skipped && ij.run.probs.count) {
        cli_error(CLI_T(ctx, "%llu 件のファイルかフォルダが読めず、この世代に入っていません",
                        "%llu files or folders could not be read and are not in this generation"),
                  (unsigned long long)ij.run.probs.count);
        rc = CLI_ERROR;
    } else {
        rc = CLI_OK;
    }
out:
    cli_problems_free(&ij.run.probs);
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_backup = {
    "backup",
    "backup --repo <DIR> [--name <NAME>] <FOLDER>...",
    "フォルダを新しい世代としてリポジトリにバックアップする",
    "back up folders into the repository as a new generation",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ\n"
    "   --name <NAME>             世代に付ける名前\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --cache <DIR>             患者索引のキャッシュフォルダ（既定 ~/.cache/mamori）\n"
    "   --no-index                患者索引を作らない\n"
    "   --threads <N>             作業スレッド数（既定: CPU 数の2倍）\n"
    "   --json                    結果を JSON で出す\n"
    "\n"
    "前の世代から大きさ・更新時刻・変更時刻・inode が変わらないファイルは読み直しません。\n"
    "SS-MIX2 標準化ストレージには患者索引（ビューア用）を暗号化して一緒に保存します。\n"
    "終了コード: 0 成功、1 失敗または読めないファイルがあった、2 使い方の誤り\n",
    "options:\n"
    "   --repo <DIR>              the repository\n"
    "   --name <NAME>             a name for the generation\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --cache <DIR>             cache folder of the patient index (default ~/.cache/mamori)\n"
    "   --no-index                do not build the patient index\n"
    "   --threads <N>             worker threads (default: twice the CPUs)\n"
    "   --json                    print the result as JSON\n"
    "\n"
    "Files whose size, mtime, ctime and inode did not change since the last generation are not\n"
    "read again. An SS-MIX2 standardized storage gets its patient index (for the viewer)\n"
    "stored with the generation, encrypted.\n"
    "exit status: 0 done, 1 failed or some files could not be read, 2 usage error\n",
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

static int run_generations(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *user = NULL, *passfile = NULL;
    struct mm_repo_gen *g = NULL;
    size_t n = 0;
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
        }
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
    "ID（先頭12桁）、開始時刻、ファイル数、大きさ、検証状態、ガード判定、元のフォルダ。\n",
    "options:\n"
    "   --repo <DIR>              the repository\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --json                    print JSON\n"
    "\n"
    "ID (first 12 digits), start time, files, size, verification, guard verdict, sources.\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY,
    run_generations,
};
