/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the repository commands share: reading a passphrase (--passphrase-file, an
 * environment variable for scripts, or a prompt on the terminal with echo off), opening a
 * repository with messages a person can act on, progress lines (files, bytes, rate, ETA)
 * on a terminal, and problem reports (paths arrive redacted from the library). A
 * passphrase lives only in a stack buffer that is wiped after use and is never printed.
 */
#include "src/cli/cli_repo.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "crypto/crypto.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_win.h"

int cli_repo_error(const struct cli_ctx *ctx, int err)
{
    switch (err) {
    case MM_EAUTH:
        cli_error("%s", CLI_T(ctx, "パスフレーズが違います", "wrong passphrase"));
        sleep(1); /* slow down guessing through scripts a little */
        return CLI_ERROR;
    case MM_ELOCKED:
        cli_error("%s%s", CLI_T(ctx, "リポジトリは使用中です: ", ""), mm_error_last());
        return CLI_ERROR;
    case MM_EIO:
        /* a full medium is named as such, not as whichever file could not be written */
        if (strncmp(mm_error_last(), "the medium is full", 18) == 0) {
            cli_error("%s%s", CLI_T(ctx, "媒体がいっぱいです: ", ""), mm_error_last());
            return CLI_ERROR;
        }
        if (strstr(mm_error_last(), "No space left on device")) {
            cli_error("%s%s", CLI_T(ctx, "媒体がいっぱいです: ", "the medium is full: "),
                      mm_error_last());
            return CLI_ERROR;
        }
        return cli_lib_error(err);
    default:
        return cli_lib_error(err);
    }
}

int cli_repo_lock_reader(const struct cli_ctx *ctx, mm_repo *r)
{
    uint64_t avail = 0;
    char sz[32];
    int err, why;

    if ((err = mm_repo_lock(r, MM_REPO_LOCK_SHARED, NULL)) < 0)
        return cli_repo_error(ctx, err);
    why = mm_repo_lock_skipped(r, &avail);
    if (why == MM_REPO_LOCK_SKIPPED_FULL)
        cli_error(CLI_T(ctx,
                        "媒体がいっぱいです（空き %s）。ロックファイルを書かずに読み出します"
                        "（書き込み中の処理はありません）",
                        "the medium is full (%s free): reading without a lock file (no "
                        "writer is running)"),
                  cli_bytes(avail, sz));
    else if (why == MM_REPO_LOCK_SKIPPED_READONLY)
        cli_error("%s", CLI_T(ctx, "媒体は書き込み禁止です。ロックファイルを書かずに読み出します",
                              "the medium is write-protected: reading without a lock file"));
    return CLI_OK;
}

int cli_repo_arg(struct cli_ctx *ctx, int opt, const char **repo, const char **user,
                 const char **passfile)
{
    switch (opt) {
    case 'r':
        *repo = optarg;
        return 1;
    case 'u':
        *user = optarg;
        return 1;
    case 'p':
        *passfile = optarg;
        return 1;
    case 'j':
        ctx->json = 1;
        return 1;
    case 'A':
        ctx->audit_dir = optarg;
        return 1;
    case CLI_OPT_WEAK:
        ctx->allow_weak = 1;
        return 1;
    default:
        return 0;
    }
}

int cli_repo_open(struct cli_ctx *ctx, const char *path, const char *user, const char *passfile,
                  mm_repo **out)
{
    char pass[CLI_PASS_MAX];
    size_t len = 0;
    int rc, err;

    if (!path || !*path) {
        cli_error("%s", CLI_T(ctx, "--repo でリポジトリを指定してください",
                              "give the repository with --repo"));
        return CLI_USAGE;
    }
    if ((rc = cli_passphrase(ctx, passfile, "MAMORI_PASSPHRASE",
                             "パスフレーズ: ", "passphrase: ", 0, pass, &len)) != CLI_OK)
        return rc;
    err = mm_repo_open(out, path, user, pass, len);
    if (err == 0)
        cli_secret_warn(ctx, pass, len, mm_repo_user(*out), path);
    mm_crypto_wipe(pass, sizeof(pass));
    if (err == MM_EAUTH)
        cli_audit_unlock_failed(ctx, path, user);
    if (err == MM_ECORRUPT && !strstr(mm_error_last(), "newer than this mamori")) {
        /* damage found (a format too new is no damage): the message names the file */
        cli_lib_error(err);
        return CLI_DAMAGE;
    }
    if (err < 0)
        return cli_repo_error(ctx, err);
    return CLI_OK;
}

#define CLI_INDEX_CACHE (16u << 20) /* decrypted index blocks kept by show, search, print */

/*
 * The generation show, search and print read when none is named: the newest good one (the
 * guard's verdict not suspect, or accepted), as the viewer's picker; said on stderr when a
 * newer one is suspect, and when every one is (then the newest, which may hold what an attack
 * left).
 */
static int default_gen(struct cli_ctx *ctx, struct cli_repo_index *out)
{
    struct mm_repo_gen latest;
    int err = mm_repo_gen_find(out->repo, "good", &out->gen);

    if (err == MM_ENOTFOUND && (err = mm_repo_gen_find(out->repo, "latest", &out->gen)) == 0) {
        cli_error(CLI_T(ctx,
                        "注意: どの世代も異常の疑い（要注意）と判定されています。最新の世代 %.12s "
                        "を表示しますが、攻撃などで書き換わった内容かもしれません",
                        "warning: every generation is suspect (guard); showing the newest, %.12s, "
                        "which may hold what an attack left"),
                  out->gen.id);
        return 0;
    }
    if (err < 0)
        return err;
    if (mm_repo_gen_find(out->repo, "latest", &latest) == 0) {
        if (strcmp(latest.id, out->gen.id) != 0)
            cli_error(CLI_T(ctx,
                            "注意: 最新の世代 %.12s は異常の疑い（要注意）のため、最新の正常な世代 "
                            "%.12s を表示します（--generation で選べます）",
                            "note: the newest generation, %.12s, is suspect (guard); showing the "
                            "newest good one, %.12s (--generation chooses)"),
                      latest.id, out->gen.id);
        mm_repo_gen_release(&latest);
    } else {
        mm_error_clear();
    }
    return 0;
}

int cli_repo_index_open(struct cli_ctx *ctx, const char *path, const char *user,
                        const char *passfile, const char *gen, struct cli_repo_index *out)
{
    int rc, err;

    memset(out, 0, sizeof(*out));
    if ((rc = cli_repo_open(ctx, path, user, passfile, &out->repo)) != CLI_OK)
        return rc;
    err = gen ? mm_repo_gen_find(out->repo, gen, &out->gen) : default_gen(ctx, out);
    if (err == MM_ENOTFOUND) {
        cli_error("%s", CLI_T(ctx, "その世代はありません", "no such generation"));
        rc = CLI_ERROR;
        goto out;
    }
    if (err < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    out->have_gen = 1;
    if (!out->gen.has_index) {
        cli_error(
                "%s",
                CLI_T(ctx,
                      "この世代には患者索引がありません（SS-MIX2 ストレージのバックアップではありません）",
                      "this generation has no patient index (not a backup of an SS-MIX2 storage)"));
        rc = CLI_ERROR;
        goto out;
    }
    /* the index is read block by block, each decrypted into memory when a query needs it
     * (a patient's summary: a few dozen of them): nothing of it reaches a disk */
    if ((err = mm_repo_pages_open(out->repo, &out->gen, CLI_INDEX_CACHE, &out->pages)) < 0 ||
        (err = mm_index_open_pages(&out->ix, mm_repo_pages_read, out->pages,
                                   mm_repo_pages_size(out->pages))) < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    return CLI_OK;
out:
    cli_repo_index_close(out);
    return rc;
}

void cli_repo_index_close(struct cli_repo_index *x)
{
    mm_index_free(x->ix);
    x->ix = NULL;
    mm_repo_pages_free(x->pages); /* after the index that reads it; wipes its blocks */
    x->pages = NULL;
    if (x->have_gen)
        mm_repo_gen_release(&x->gen);
    x->have_gen = 0;
    mm_repo_free(x->repo);
    x->repo = NULL;
}

int cli_viewer_copy_wanted(void)
{
    const char *env = getenv("MAMORI_VIEWER_COPY");

    return !(env && strcmp(env, "0") == 0);
}

const char *cli_windows_exe(void)
{
    return getenv("MAMORI_WINDOWS_EXE");
}

void cli_windows_missing_say(const struct cli_ctx *ctx)
{
    const char *env = cli_windows_exe();

    if (ctx->quiet || (env && !*env))
        return;
    fprintf(stderr,
            CLI_T(ctx,
                  "mamori: 注意: この媒体には Windows 用のビューアがありません（%s）。Windows の "
                  "PC でも読めるようにするには、make windows でビルドして make install するか、"
                  "MAMORI_WINDOWS_EXE に mamori.exe のパスを指定してください\n",
                  "mamori: note: this medium has no Windows viewer (%s). To read it on a Windows "
                  "PC too, build it with make windows and run make install, or set "
                  "MAMORI_WINDOWS_EXE to the path of mamori.exe\n"),
            env ? CLI_T(ctx, "MAMORI_WINDOWS_EXE がファイルを指していません",
                        "MAMORI_WINDOWS_EXE names no file")
                : CLI_T(ctx, "mamori.exe が見つかりません", "no mamori.exe found"));
}

const char *cli_bytes(uint64_t b, char out[32])
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)b;
    int u = 0;

    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, 32, "%llu B", (unsigned long long)b);
    else
        snprintf(out, 32, "%.1f %s", v, unit[u]);
    return out;
}

/* ---- progress ------------------------------------------------------------------------------- */

static double secs_since(const struct timespec *a)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - a->tv_sec) + (double)(now.tv_nsec - a->tv_nsec) / 1e9;
}

void cli_progress_start(struct cli_progress *p, const struct cli_ctx *ctx, const char *label)
{
    memset(p, 0, sizeof(*p));
    p->ctx = ctx;
    p->label = label;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
}

void cli_progress_cb(const struct mm_repo_progress *pr, void *arg)
{
    struct cli_progress *p = arg ? &((struct cli_run *)arg)->prog : NULL;
    char done[32], total[32], rate[32], eta[32] = "";
    double t;

    if (!p || !p->ctx->tty || p->ctx->json || p->ctx->quiet)
        return;
    t = secs_since(&p->start);
    if (t < 1.0)
        return;
    cli_bytes(pr->bytes_done, done);
    cli_bytes((uint64_t)((double)pr->bytes_done / t), rate);
    if (pr->bytes_total > pr->bytes_done && pr->bytes_done > 0) {
        double left = t * (double)(pr->bytes_total - pr->bytes_done) / (double)pr->bytes_done;
        snprintf(eta, sizeof(eta), "  %s %d:%02d", CLI_T(p->ctx, "残り", "ETA"), (int)left / 60,
                 (int)left % 60);
    } else if (pr->files_total > pr->files_done && pr->files_done > 0) {
        double left = t * (double)(pr->files_total - pr->files_done) / (double)pr->files_done;
        snprintf(eta, sizeof(eta), "  %s %d:%02d", CLI_T(p->ctx, "残り", "ETA"), (int)left / 60,
                 (int)left % 60);
    }
    if (pr->files_total)
        fprintf(stderr, "\r\033[K%s %llu/%llu %s  %s  %s/s%s", p->label,
                (unsigned long long)pr->files_done, (unsigned long long)pr->files_total,
                CLI_T(p->ctx, "ファイル", "files"), done, rate, eta);
    else if (pr->bytes_total)
        fprintf(stderr, "\r\033[K%s %s / %s  %s/s%s", p->label, done,
                cli_bytes(pr->bytes_total, total), rate, eta);
    else
        fprintf(stderr, "\r\033[K%s %llu %s  %s  %s/s", p->label,
                (unsigned long long)pr->files_done, CLI_T(p->ctx, "ファイル", "files"), done, rate);
    p->shown = 1;
}

void cli_progress_end(struct cli_progress *p)
{
    if (p->shown)
        fputs("\r\033[K", stderr);
    p->shown = 0;
}

/* ---- problems ------------------------------------------------------------------------------- */

void cli_problem_cb(const char *gen, const char *path, const char *what, void *arg)
{
    cli_problems_add(&((struct cli_run *)arg)->probs, gen, path, what);
}

void cli_problems_add(struct cli_problems *pr, const char *gen, const char *path, const char *what)
{
    struct cli_problem *np;

    pr->count++;
    if (pr->n == pr->cap) {
        size_t ncap = pr->cap ? pr->cap * 2 : 16;
        if (ncap > CLI_PROBLEMS_KEPT)
            ncap = CLI_PROBLEMS_KEPT;
        if (pr->n >= ncap)
            return;
        np = realloc(pr->v, ncap * sizeof(*np));
        if (!np)
            return;
        pr->v = np;
        pr->cap = ncap;
    }
    np = &pr->v[pr->n];
    snprintf(np->gen, sizeof(np->gen), "%s", gen ? gen : "");
    snprintf(np->path, sizeof(np->path), "%s", path ? path : "");
    snprintf(np->what, sizeof(np->what), "%s", what ? what : "");
    pr->n++;
}

void cli_problems_print(const struct cli_ctx *ctx, const struct cli_problems *pr)
{
    for (size_t i = 0; i < pr->n; i++) {
        const struct cli_problem *p = &pr->v[i];
        if (p->gen[0])
            fprintf(stderr, "mamori: %s %.12s: %s%s%s\n", CLI_T(ctx, "世代", "generation"), p->gen,
                    cli_esc(p->path), p->path[0] ? ": " : "", cli_esc(p->what));
        else
            fprintf(stderr, "mamori: %s%s%s\n", cli_esc(p->path), p->path[0] ? ": " : "",
                    cli_esc(p->what));
    }
    if (pr->count > pr->n)
        fprintf(stderr,
                CLI_T(ctx, "mamori: ほか %llu 件の問題\n", "mamori: and %llu more problems\n"),
                (unsigned long long)(pr->count - pr->n));
}

void cli_problems_json(FILE *f, const struct cli_problems *pr)
{
    fputc('[', f);
    for (size_t i = 0; i < pr->n; i++) {
        const struct cli_problem *p = &pr->v[i];
        fputs(i ? ",{\"generation\":" : "{\"generation\":", f);
        if (p->gen[0])
            cli_json_str(f, p->gen, strlen(p->gen));
        else
            fputs("null", f);
        fputs(",\"path\":", f);
        cli_json_str(f, p->path, strlen(p->path));
        fputs(",\"what\":", f);
        cli_json_str(f, p->what, strlen(p->what));
        fputc('}', f);
    }
    fputc(']', f);
}

void cli_problems_free(struct cli_problems *pr)
{
    free(pr->v);
    memset(pr, 0, sizeof(*pr));
}

#ifdef _WIN32
/* Windows: --cache, MAMORI_CACHE, XDG_CACHE_HOME/mamori (UTF-8), else
 * %LOCALAPPDATA%\mamori\cache */
const char *cli_cache_root(const char *opt, char *buf, size_t cap)
{
    const char *c = opt ? opt : cli_env_path("MAMORI_CACHE");
    const char *x = cli_env_path("XDG_CACHE_HOME");

    if (c && *c)
        return c;
    if (x && *x)
        snprintf(buf, cap, "%s/mamori", x); /* (too long: the library refuses it) */
    else if (cli_win_local_dir("cache", buf, cap) < 0)
        snprintf(buf, cap, "%s", "mamori-cache"); /* (no home at all: beside the current folder) */
    return buf;
}
#else
const char *cli_cache_root(const char *opt, char *buf, size_t cap)
{
    const char *c = opt ? opt : getenv("MAMORI_CACHE");
    const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");

    if (c && *c)
        return c;
    if (x && *x)
        snprintf(buf, cap, "%s/mamori", x); /* (too long: the library refuses it) */
    else if (h && *h)
        snprintf(buf, cap, "%s/.cache/mamori", h);
    else
        return "/var/cache/mamori";
    return buf;
}
#endif

void cli_attention_json(FILE *f, uint32_t a)
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
