/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori print: one printable HTML document with the summaries of many patients, for paper
 * operation during an outage: every current inpatient of a ward (--ward), or the patients
 * listed in a file (--patients, one ID per line). The document is the viewer's page with
 * its stylesheet, script and data built in, so any browser prints it on A4 without mamori
 * running. Each patient printed is recorded in the audit log (patient-opened, via print).
 * The file is written with mode 0600; messages count patients and never name them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "os/os.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"
#include "viewer/viewer.h"

#define IDS_FILE_MAX (16u * 1024u * 1024u) /* bytes of a --patients file */

/* Read the patient IDs of @path (one per line; blanks and '#' comments skipped) into @out. */
static int read_ids(const struct cli_ctx *ctx, const char *path, mm_buf *out, size_t *n)
{
    char red[MM_LOG_PATH_MAX];
    FILE *f = fopen(path, "r");
    char line[256];
    size_t lineno = 0;

    *n = 0;
    if (!f) {
        cli_error(CLI_T(ctx, "'%s' を開けません: %s", "cannot open '%s': %s"),
                  mm_log_path(red, sizeof(red), path), strerror(errno));
        return CLI_ERROR;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = line, *e;
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            cli_error(CLI_T(ctx, "患者一覧の %zu 行目が長すぎます",
                            "line %zu of the patient list is too long"),
                      lineno);
            fclose(f);
            return CLI_USAGE;
        }
        while (*s == ' ' || *s == '\t')
            s++;
        e = s + strcspn(s, "\r\n");
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        *e = '\0';
        if (!*s || *s == '#')
            continue;
        if (strlen(s) > MM_LIMIT_PATIENT_ID || mm_buf_put(out, s, strlen(s) + 1) < 0) {
            cli_error(CLI_T(ctx, "患者一覧の %zu 行目は患者IDではありません",
                            "line %zu of the patient list is not a patient ID"),
                      lineno);
            fclose(f);
            return CLI_USAGE;
        }
        (*n)++;
    }
    if (ferror(f)) {
        cli_error(CLI_T(ctx, "'%s' を読めません", "cannot read '%s'"),
                  mm_log_path(red, sizeof(red), path));
        fclose(f);
        return CLI_ERROR;
    }
    fclose(f);
    return CLI_OK;
}

#define OTHERS_CACHE (16u << 20) /* decrypted index blocks kept per other generation */

/*
 * The other generations a patient with read failures is looked for in (mm_viewer_recovery):
 * listed, then each index opened, only when asked, and each at most once for the document.
 */
struct others {
    mm_repo *repo;
    const char *own; /* the printed generation's ID */
    struct mm_repo_gen *gens;
    size_t ngens, n, listed;
    size_t cand[MM_VIEWER_RECOVERY_GENS]; /* index in gens, newest first */
    int tried[MM_VIEWER_RECOVERY_GENS], failed[MM_VIEWER_RECOVERY_GENS];
    mm_repo_pages *pages[MM_VIEWER_RECOVERY_GENS];
    mm_index *ix[MM_VIEWER_RECOVERY_GENS];
};

static int others_open(void *arg, size_t i, struct mm_viewer_recovery_gen *g, mm_index **ix)
{
    struct others *o = arg;
    int err;

    if (!o->listed) {
        o->listed = 1;
        if ((err = mm_repo_generations(o->repo, &o->gens, &o->ngens)) < 0)
            return err; /* counted as a generation that could not be opened */
        for (size_t k = o->ngens; k-- > 0 && o->n < MM_VIEWER_RECOVERY_GENS;)
            if (o->gens[k].has_index && strcmp(o->gens[k].id, o->own) != 0)
                o->cand[o->n++] = k;
    }
    if (i >= o->n)
        return MM_ENOTFOUND;
    if (!o->tried[i]) {
        const struct mm_repo_gen *gen = &o->gens[o->cand[i]];
        o->tried[i] = 1;
        if ((err = mm_repo_pages_open(o->repo, gen, OTHERS_CACHE, &o->pages[i])) < 0 ||
            (err = mm_index_open_pages(&o->ix[i], mm_repo_pages_read, o->pages[i],
                                       mm_repo_pages_size(o->pages[i]))) < 0) {
            o->failed[i] = err;
            mm_error_clear();
        }
    }
    if (o->failed[i])
        return o->failed[i];
    memcpy(g->id, o->gens[o->cand[i]].id, sizeof(g->id));
    mm_viewer_local_time(o->gens[o->cand[i]].end_ns, g->time);
    *ix = o->ix[i];
    return 0;
}

static void others_close(struct others *o)
{
    for (size_t i = 0; i < MM_VIEWER_RECOVERY_GENS; i++) {
        mm_index_free(o->ix[i]);
        mm_repo_pages_free(o->pages[i]); /* after the index that reads it; wipes its blocks */
    }
    if (o->gens)
        mm_repo_gens_free(o->gens, o->ngens);
    memset(o, 0, sizeof(*o));
}

static int run_print(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "ward", required_argument, NULL, 'w' },
        { "patients", required_argument, NULL, 'f' },
        { "out", required_argument, NULL, 'o' },
        { "generation", required_argument, NULL, 'g' },
        { "title", required_argument, NULL, 't' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *user = NULL, *passfile = NULL, *ward = NULL, *list = NULL;
    const char *outpath = NULL, *gen = NULL, *title = NULL;
    struct cli_repo_index ri = { 0 };
    struct mm_viewer_print_gen pg = { 0 };
    struct others others = { 0 };
    struct mm_viewer_recovery_src src = { 0 };
    struct mm_repo_gen latest;
    const char **ids = NULL;
    struct mm_viewer_event *evs = NULL;
    unsigned char *in_doc = NULL;
    char when[48], red[MM_LOG_PATH_MAX], deftitle[256];
    size_t n = 0, missing = 0;
    mm_buf idbuf, doc;
    const char *p;
    int opt, rc, err;

    mm_buf_init(&idbuf, MM_LIMIT_JSON);
    mm_buf_init(&doc, MM_LIMIT_JSON);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &repo, &user, &passfile))
            continue;
        switch (opt) {
        case 'w':
            ward = optarg;
            break;
        case 'f':
            list = optarg;
            break;
        case 'o':
            outpath = optarg;
            break;
        case 'g':
            gen = optarg;
            break;
        case 't':
            title = optarg;
            break;
        default:
            return cli_option_error(ctx, &cmd_print, opt, argv);
        }
    }
    if (optind != argc)
        return cli_usage(ctx, &cmd_print, "%s",
                         CLI_T(ctx, "余分な引数があります", "unexpected argument"));
    if (!ward == !list)
        return cli_usage(ctx, &cmd_print, "%s",
                         CLI_T(ctx, "--ward か --patients のどちらか一方を指定してください",
                               "give either --ward or --patients"));
    if (!outpath || !*outpath)
        return cli_usage(ctx, &cmd_print, "%s",
                         CLI_T(ctx, "--out で書き出すファイルを指定してください",
                               "give the file to write with --out"));
    if (ward && (!*ward || strlen(ward) > 64))
        return cli_usage(ctx, &cmd_print, "%s",
                         CLI_T(ctx, "病棟コードが正しくありません", "not a ward code"));
    if (list && (rc = read_ids(ctx, list, &idbuf, &n)) != CLI_OK)
        goto out;
    if ((rc = cli_repo_index_open(ctx, repo, user, passfile, gen, &ri)) != CLI_OK)
        goto out;
    if (ward) {
        if ((err = mm_viewer_ward_patients(ri.ix, ward, &idbuf, &n)) < 0) {
            rc = cli_repo_error(ctx, err);
            goto out;
        }
        if (n == 0) {
            cli_error("%s", CLI_T(ctx, "この世代ではその病棟に入院中の患者はいません",
                                  "no current inpatient in that ward in this generation"));
            rc = CLI_ERROR;
            goto out;
        }
    } else if (n == 0) {
        cli_error("%s", CLI_T(ctx, "患者一覧に患者IDがありません", "the patient list holds no ID"));
        rc = CLI_USAGE;
        goto out;
    }
    if (!(ids = calloc(n, sizeof(*ids)))) {
        rc = cli_lib_error(MM_ENOMEM);
        goto out;
    }
    p = idbuf.ptr;
    for (size_t i = 0; i < n; i++, p += strlen(p) + 1)
        ids[i] = p;
    mm_viewer_local_time(ri.gen.end_ns, when);
    pg.id = ri.gen.id;
    pg.name = ri.gen.name;
    pg.time = when;
    pg.guard = ri.gen.guard ? ri.gen.guard : "none";
    pg.repo = ri.repo; /* the texts of the CDA documents and the JPEGs go into the file */
    pg.gen = &ri.gen;
    others.repo = ri.repo; /* paper names a generation holding failed sections readable */
    others.own = ri.gen.id;
    src.open = others_open;
    src.arg = &others;
    pg.others = &src;
    memset(&latest, 0, sizeof(latest));
    pg.latest =
            mm_repo_gen_find(ri.repo, "latest", &latest) == 0 && strcmp(latest.id, ri.gen.id) == 0;
    mm_error_clear();
    mm_repo_gen_release(&latest);
    if (!title) {
        if (ward)
            snprintf(deftitle, sizeof(deftitle),
                     CLI_T(ctx, "病棟 %s 入院患者サマリ", "Ward %s inpatient summaries"), ward);
        else
            snprintf(deftitle, sizeof(deftitle), "%s",
                     CLI_T(ctx, "患者サマリ", "patient summaries"));
        title = deftitle;
    }
    if (!(in_doc = calloc(n, 1)) || !(evs = calloc(n, sizeof(*evs)))) {
        rc = cli_lib_error(MM_ENOMEM);
        goto out;
    }
    err = mm_viewer_print(ri.ix, &pg, title, ids, n, &doc, &missing, in_doc);
    if (err == MM_ENOTFOUND) {
        cli_error("%s", CLI_T(ctx, "一覧の患者はこの世代の索引に1人もいません",
                              "none of the listed patients is in this generation's index"));
        rc = CLI_ERROR;
        goto out;
    }
    if (err < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    if ((err = mm_os_write_atomic(outpath, doc.ptr, doc.len)) < 0 || chmod(outpath, 0600) != 0) {
        cli_error(CLI_T(ctx, "'%s' に書き出せません", "cannot write '%s'"),
                  mm_log_path(red, sizeof(red), outpath));
        rc = CLI_ERROR;
        goto out;
    }
    /* every patient in the document has been opened, by whoever printed it: one batch */
    {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (in_doc[i]) {
                evs[k].kind = MM_VIEWER_PATIENT;
                evs[k].user = mm_repo_user(ri.repo);
                evs[k].generation = ri.gen.id;
                evs[k++].patient = ids[i];
            }
        cli_audit_viewer_n(ctx, ri.repo, repo, evs, k, "print");
    }
    if (!ctx->quiet)
        fprintf(stderr,
                CLI_T(ctx, "%zu 人の患者サマリを '%s' に書き出しました（A4 で印刷できます）\n",
                      "wrote %zu patient summaries to '%s' (prints on A4)\n"),
                n - missing, mm_log_path(red, sizeof(red), outpath));
    if (missing) {
        cli_error(CLI_T(ctx, "一覧の %zu 人はこの世代の索引にいないため含めていません",
                        "%zu listed patients are not in this generation's index and were left out"),
                  missing);
        rc = CLI_ERROR;
    } else {
        rc = CLI_OK;
    }
out:
    free(evs);
    free(in_doc);
    free(ids);
    if (doc.ptr)
        mm_crypto_wipe(doc.ptr, doc.len);
    mm_buf_release(&doc);
    mm_buf_release(&idbuf);
    others_close(&others);
    cli_repo_index_close(&ri);
    return rc;
}

const struct cmd cmd_print = {
    "print",
    "print --repo <DIR> (--ward <W> | --patients <FILE>) --out <FILE.html> [--generation <G>]",
    "病棟の入院患者や一覧の患者のサマリを印刷用 HTML に書き出す",
    "write the summaries of a ward's inpatients or listed patients as one printable HTML file",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ（媒体）\n"
    "   --ward <W>                この病棟（コード、例: 4E）に今入院中の患者すべて\n"
    "   --patients <FILE>         このファイルの患者（1行に1つの患者ID、# で始まる行は無視）\n"
    "   --out <FILE.html>         書き出すファイル（上書きします。権限 0600）\n"
    "   --generation <G>          この世代の時点（既定: 最新）\n"
    "   --title <TEXT>            文書の見出し\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "\n"
    "書き出した HTML はどのブラウザでも開けて、A4 に1人ずつ改ページして印刷できます。\n"
    "患者データを含むので、印刷したら安全に削除してください。書き出した患者は監査ログに記録されます。\n"
    "終了コード: 0 成功、1 失敗（一覧の患者が索引にいない場合も）、2 使い方の誤り\n",
    "options:\n"
    "   --repo <DIR>              the repository (medium)\n"
    "   --ward <W>                every current inpatient of this ward (code, e.g. 4E)\n"
    "   --patients <FILE>         the patients of this file (one ID per line; # comments)\n"
    "   --out <FILE.html>         the file to write (replaced; mode 0600)\n"
    "   --generation <G>          as of this generation (default: the newest)\n"
    "   --title <TEXT>            the document's heading\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "\n"
    "The HTML opens in any browser and prints on A4, one patient per page. It holds patient\n"
    "data: delete it safely once printed. Every patient written is recorded in the audit log.\n"
    "exit status: 0 done, 1 failed (also when listed patients are not in the index), 2 usage\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY,
    run_print,
};
