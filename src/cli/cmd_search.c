/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori search: find patients by ID, name (kanji, kana; fragments) or birth date, in an
 * index file (--index) or straight in a live storage (--storage), where only each patient's
 * newest current ADT-00 file is read into a demographics index in memory (and only the
 * folders an ID prefix can match when the query can only be an ID).
 * mamori index: build an index file from a storage and report counts and problems.
 * Patient data appears only in the results the user asked for; problems show redacted
 * paths and reasons without content.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/log.h"
#include "index/index.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

#define PROGRESS_AFTER_MS 1000 /* draw progress only for work that takes longer */
#define PROGRESS_EVERY_MS 100

struct progress {
    const struct cli_ctx *ctx;
    const char *label;
    struct timespec start, last;
    int shown;
};

static long ms_since(const struct timespec *a, const struct timespec *b)
{
    return (long)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* mm_index_progress_fn: "label n/total" on a terminal, after a second, ten times a second. */
static void on_progress(size_t done, size_t total, void *arg)
{
    struct progress *p = arg;
    struct timespec now;

    if (!p->ctx->tty || p->ctx->json || p->ctx->quiet)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (ms_since(&p->start, &now) < PROGRESS_AFTER_MS ||
        (p->shown && ms_since(&p->last, &now) < PROGRESS_EVERY_MS && done != total))
        return;
    p->last = now;
    p->shown = 1;
    fprintf(stderr, "\r%s %zu/%zu", p->label, done, total);
}

static void progress_start(struct progress *p, const struct cli_ctx *ctx, const char *label)
{
    memset(p, 0, sizeof(*p));
    p->ctx = ctx;
    p->label = label;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
}

static void progress_end(struct progress *p)
{
    if (p->shown)
        fputs("\r\033[K", stderr);
    p->shown = 0;
}

/* The results as a table for people. */
static void print_table(const struct cli_ctx *ctx, const struct mm_index_results *r)
{
    enum { C_ID, C_NAME, C_KANA, C_SEX, C_AGE, C_BIRTH, NCOL };
    const char *head[NCOL] = {
        "ID",
        CLI_T(ctx, "氏名", "name"),
        CLI_T(ctx, "カナ", "kana"),
        CLI_T(ctx, "性別", "sex"),
        CLI_T(ctx, "年齢", "age"),
        CLI_T(ctx, "生年月日", "birth date"),
    };
    int w[NCOL];
    char age[16];

    for (int c = 0; c < NCOL; c++)
        w[c] = cli_width(head[c]);
    for (size_t i = 0; i < r->n; i++) {
        const struct mm_index_patient *p = &r->v[i];
        const char *v[NCOL] = { p->id, p->name,      p->kana, cli_sex_name(ctx, p->sex),
                                "",    p->birth_date };
        for (int c = 0; c < NCOL; c++)
            if (cli_width(v[c]) > w[c])
                w[c] = cli_width(v[c]);
    }
    if (w[C_AGE] < 3)
        w[C_AGE] = 3;
    for (int c = 0; c < NCOL; c++) {
        if (c == C_AGE) {
            for (int k = cli_width(head[c]); k < w[c]; k++)
                fputc(' ', stdout);
            fputs(head[c], stdout);
            fputs("  ", stdout);
        } else if (c == NCOL - 1) {
            fputs(head[c], stdout);
        } else {
            cli_pad(head[c], w[c] + 2);
        }
    }
    fputc('\n', stdout);
    for (size_t i = 0; i < r->n; i++) {
        const struct mm_index_patient *p = &r->v[i];
        if (p->age >= 0)
            snprintf(age, sizeof(age), "%d", p->age);
        else
            snprintf(age, sizeof(age), "-");
        cli_pad(p->id, w[C_ID] + 2);
        cli_pad(p->name[0] ? p->name : "-", w[C_NAME] + 2);
        cli_pad(p->kana[0] ? p->kana : "-", w[C_KANA] + 2);
        cli_pad(cli_sex_name(ctx, p->sex), w[C_SEX] + 2);
        printf("%*s  %s\n", w[C_AGE], age, p->birth_date[0] ? cli_esc(p->birth_date) : "-");
    }
    if (r->total > r->n)
        printf(CLI_T(ctx, "%zu 件中 %zu 件を表示（--limit で増やせます）\n",
                     "showing %zu of %zu patients (raise --limit for more)\n"),
               CLI_T(ctx, r->total, r->n), CLI_T(ctx, r->n, r->total));
    else
        printf(CLI_T(ctx, "%zu 件\n", r->n == 1 ? "%zu patient\n" : "%zu patients\n"), r->n);
}

/* The results as JSON: {"results":[…],"total":N} (mm_index_results_json), "problems" added. */
static int print_json(const struct mm_index_results *r, size_t problems, int show_problems)
{
    mm_buf b;
    int err;

    mm_buf_init(&b, MM_LIMIT_JSON);
    err = mm_buf_putc(&b, '{');
    if (err == 0)
        err = mm_index_results_json(r, &b);
    if (err == 0 && show_problems)
        err = mm_buf_printf(&b, ",\"problems\":%zu", problems);
    if (err == 0)
        err = mm_buf_puts(&b, "}\n");
    if (err == 0)
        fwrite(b.ptr, 1, b.len, stdout);
    mm_buf_release(&b);
    return err;
}

/* 1 when @s is a real "YYYY-MM-DD". */
static int valid_date(const char *s)
{
    struct mm_index_query q;

    return strlen(s) == 10 && s[4] == '-' && s[7] == '-' && mm_index_query_parse(&q, s) == 0 &&
           strcmp(q.date, s) == 0;
}

static int run_search(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "storage", required_argument, NULL, 's' },
        { "index", required_argument, NULL, 'i' },
        { "limit", required_argument, NULL, 'n' },
        { "as-of", required_argument, NULL, 'a' },
        { "generation", required_argument, NULL, 'g' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = NULL, *user = NULL, *passfile = NULL, *gen = NULL;
    struct cli_repo_index ri = { 0 };
    char red[MM_LOG_PATH_MAX], query[MM_INDEX_QUERY_MAX + 1];
    const char *storage = NULL, *index = NULL, *as_of = NULL;
    struct mm_index_build_stats *st = NULL;
    struct mm_index_results res = { 0 };
    struct mm_index_query q;
    struct progress pr;
    mm_index *ix = NULL;
    size_t limit = 20, qlen = 0, problems = 0;
    int opt, err, rc = CLI_OK;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &repo, &user, &passfile))
            continue;
        switch (opt) {
        case 's':
            storage = optarg;
            break;
        case 'i':
            index = optarg;
            break;
        case 'g':
            gen = optarg;
            break;
        case 'n': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 1 || v > (long)MM_INDEX_FIND_MAX)
                return cli_usage(ctx, &cmd_search,
                                 CLI_T(ctx, "--limit は 1 から %u の数です",
                                       "--limit is a number from 1 to %u"),
                                 MM_INDEX_FIND_MAX);
            limit = (size_t)v;
            break;
        }
        case 'a':
            as_of = optarg;
            if (!valid_date(as_of))
                return cli_usage(ctx, &cmd_search,
                                 CLI_T(ctx, "--as-of は YYYY-MM-DD の日付です",
                                       "--as-of is a date YYYY-MM-DD"));
            break;
        default:
            return cli_option_error(ctx, &cmd_search, opt, argv);
        }
    }
    if (optind >= argc)
        return cli_usage(ctx, &cmd_search,
                         CLI_T(ctx, "検索する患者ID・氏名・生年月日を指定してください",
                               "give a patient ID, name or birth date to search for"));
    /* several words are one query: spaces do not count anyway */
    for (int i = optind; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (qlen + n + 1 > MM_INDEX_QUERY_MAX)
            return cli_usage(ctx, &cmd_search,
                             CLI_T(ctx, "検索語が長すぎます（%u バイトまで）",
                                   "the query is too long (at most %u bytes)"),
                             MM_INDEX_QUERY_MAX);
        if (qlen)
            query[qlen++] = ' ';
        memcpy(query + qlen, argv[i], n);
        qlen += n;
    }
    query[qlen] = '\0';
    if (mm_index_query_parse(&q, query) < 0)
        return cli_usage(ctx, &cmd_search, CLI_T(ctx, "検索語が空です", "the query is empty"));
    if ((storage && storage[0]) + (index && index[0]) + (repo && repo[0]) != 1)
        return cli_usage(ctx, &cmd_search,
                         CLI_T(ctx, "--storage・--index・--repo のどれか1つを指定してください",
                               "give one of --storage, --index or --repo"));
    if (gen && !repo)
        return cli_usage(
                ctx, &cmd_search, "%s",
                CLI_T(ctx, "--generation は --repo と使います", "--generation goes with --repo"));

    if (repo) {
        if ((rc = cli_repo_index_open(ctx, repo, user, passfile, gen, &ri)) != CLI_OK)
            goto out;
        ix = ri.ix;
    } else if (index) {
        err = mm_index_open(&ix, index, 0);
        if (err == MM_ENOTFOUND) {
            cli_error(CLI_T(ctx, "索引 '%s' がありません", "no index '%s'"),
                      mm_log_path(red, sizeof(red), index));
            return CLI_ERROR;
        }
        if (err == MM_ECORRUPT) {
            cli_error(CLI_T(ctx, "'%s' は mamori の索引ではないか、壊れています: %s",
                            "'%s' is not a mamori index or is damaged: %s"),
                      mm_log_path(red, sizeof(red), index), mm_error_last());
            return CLI_ERROR;
        }
        if (err < 0)
            return cli_lib_error(err);
    } else {
        struct mm_index_build_opts bo = { 0 };

        if (!(st = calloc(1, sizeof(*st))))
            return cli_lib_error(mm_error_set(MM_ENOMEM, "out of memory"));
        if ((err = mm_index_create(&ix, ":memory:")) < 0) {
            rc = cli_lib_error(err);
            goto out;
        }
        bo.flags = MM_INDEX_DEMOGRAPHICS;
        /* a query that can only be an ID needs only the folders it can match */
        bo.id_prefix = q.id[0] && !q.date[0] && !q.year[0] && !q.name[0] ? q.id : NULL;
        bo.progress = on_progress;
        bo.progress_ctx = &pr;
        progress_start(&pr, ctx,
                       CLI_T(ctx, "患者の基本情報を読み込み中…", "reading demographics…"));
        err = mm_index_build(ix, storage, NULL, &bo, st);
        progress_end(&pr);
        if (err == MM_ENOTFOUND) {
            cli_error(CLI_T(ctx, "ストレージ '%s' を読めません", "cannot read storage '%s'"),
                      mm_log_path(red, sizeof(red), storage));
            rc = CLI_ERROR;
            goto out;
        }
        if (err < 0) {
            rc = cli_lib_error(err);
            goto out;
        }
        problems = st->problems.bad + st->unreadable;
    }
    if ((err = mm_index_find(ix, query, limit, as_of, &res)) < 0) {
        rc = cli_lib_error(err);
        goto out;
    }
    if (ctx->json) {
        if ((err = print_json(&res, problems, storage != NULL)) < 0) {
            rc = cli_lib_error(err);
            goto out;
        }
    } else if (res.n) {
        print_table(ctx, &res);
    }
    if (problems && !ctx->json)
        cli_error(
                CLI_T(ctx,
                      "警告: 読めないファイル・フォルダが %zu 件ありました（詳細は mamori index）",
                      "warning: %zu files or folders could not be read (see mamori index)"),
                problems);
    if (res.n == 0) {
        if (!ctx->json)
            cli_error("%s", CLI_T(ctx, "該当する患者はいません", "no patient found"));
        rc = CLI_ERROR;
    }
out:
    mm_index_results_release(&res);
    if (ri.ix)
        cli_repo_index_close(&ri); /* ix is ri.ix */
    else
        mm_index_free(ix);
    free(st);
    return rc;
}

const struct cmd cmd_search = {
    "search",
    "search <QUERY> (--storage <DIR> | --index <FILE> | --repo <DIR> [--generation <G>]) [--json]"
    " [--limit N] [--as-of DATE]",
    "患者を ID・氏名（漢字・カナ、部分一致）・生年月日で探す",
    "find patients by ID, name (kanji or kana, partial) or birth date",
    "オプション:\n"
    "   --storage <DIR>   標準化ストレージを直接検索する（各患者の最新の患者基本情報だけを読む）\n"
    "   --index <FILE>    mamori index で作った索引を検索する（速い）\n"
    "   --repo <DIR>      バックアップ（媒体）の世代に保存された索引を検索する（メモリ上で復号）\n"
    "   --generation <G>  --repo のどの世代か（既定: latest）\n"
    "   --user <NAME>, --passphrase-file <FILE>  --repo を開く鍵スロットとパスフレーズ\n"
    "   --limit N         表示する最大件数（既定 20）\n"
    "   --as-of DATE      年齢の基準日 YYYY-MM-DD（既定は今日）\n"
    "   --json            結果を JSON で標準出力に出す\n"
    "\n"
    "検索語は次のどれでも構いません（氏名と日付の区切りのほかは空白を無視します）:\n"
    "   患者ID（完全一致と前方一致）     1000209458、10002\n"
    "   氏名・カナの一部（姓・名・氏名） 長谷川、はせがわ、ﾊｾｶﾞﾜ、ハセガワ オサム\n"
    "   生年月日                         19470416、1947-04-16、1947/4/16、S22.4.16、昭和22年4月16日\n"
    "   生まれ年だけ                     1947、1947年、S22、昭和22年\n"
    "   氏名と生年月日（または年）       ヤマダ 1947-04-16、山田 S22（両方に合う患者だけ）\n"
    "ID の完全一致、前方一致、氏名の完全一致、その他の順に、カナ順で表示します。\n"
    "\n"
    "終了コード: 0 見つかった、1 見つからない・ストレージや索引を読めない、2 使い方の誤り\n",
    "options:\n"
    "   --storage <DIR>   search a standardized storage directly (reads only each\n"
    "                     patient's newest demographics file)\n"
    "   --index <FILE>    search an index made by mamori index (fast)\n"
    "   --repo <DIR>      search the index stored with a backup generation (decrypted in\n"
    "                     memory)\n"
    "   --generation <G>  which generation of --repo (default: latest)\n"
    "   --user <NAME>, --passphrase-file <FILE>  key slot and passphrase for --repo\n"
    "   --limit N         show at most N patients (default 20)\n"
    "   --as-of DATE      compute ages on this date, YYYY-MM-DD (default today)\n"
    "   --json            print the result as JSON on standard output\n"
    "\n"
    "The query may be any of these (spaces are ignored, but for the one between a name and a\n"
    "date):\n"
    "   a patient ID (exact or prefix)   1000209458, 10002\n"
    "   part of the name or kana         長谷川, はせがわ, ﾊｾｶﾞﾜ, ハセガワ オサム\n"
    "   a birth date                     19470416, 1947-04-16, 1947/4/16, S22.4.16\n"
    "   a birth year alone               1947, 1947年, S22, 昭和22年\n"
    "   a name with a birth date or year ヤマダ 1947-04-16, 山田 S22 (patients matching both)\n"
    "Exact ID matches come first, then ID prefixes, exact names and the rest, each in\n"
    "kana order.\n"
    "\n"
    "exit status: 0 found, 1 nothing found or storage/index unreadable, 2 usage error\n",
    0,
    run_search,
};

/* ---- mamori index ------------------------------------------------------------------------- */

static int print_index_json(const struct mm_index_build_stats *st)
{
    const struct mm_ssmix2_problems *p = &st->problems;
    mm_buf b;
    int err;

    mm_buf_init(&b, MM_LIMIT_JSON);
    err = mm_buf_printf(&b,
                        "{\"patients\":%zu,\"no_demographics\":%zu,\"labs\":%zu,\"files\":%zu,"
                        "\"unreadable\":%zu,\"problems\":%zu,\"examples\":[",
                        st->patients, st->no_demographics, st->labs, p->files, st->unreadable,
                        p->bad);
    for (size_t i = 0; i < p->nexamples && err == 0; i++) {
        if ((err = mm_buf_puts(&b, i ? ",{" : "{")) == 0 &&
            (err = mm_json_kv(&b, 1, "path", p->examples[i].path)) == 0 &&
            (err = mm_json_kv(&b, 0, "reason", p->examples[i].reason)) == 0)
            err = mm_buf_putc(&b, '}');
    }
    if (err == 0)
        err = mm_buf_puts(&b, "]}\n");
    if (err == 0)
        fwrite(b.ptr, 1, b.len, stdout);
    mm_buf_release(&b);
    return err;
}

static void print_index_human(const struct cli_ctx *ctx, const struct mm_index_build_stats *st)
{
    const struct mm_ssmix2_problems *p = &st->problems;

    printf("%s: %zu\n", CLI_T(ctx, "患者数", "patients"), st->patients);
    if (st->no_demographics)
        printf("%s: %zu\n", CLI_T(ctx, "  うち患者基本情報のない患者", "  without demographics"),
               st->no_demographics);
    printf("%s: %zu\n", CLI_T(ctx, "検査結果数", "lab results"), st->labs);
    printf("%s: %zu\n", CLI_T(ctx, "読んだファイル数", "files read"), p->files);
    printf("%s: %zu\n", CLI_T(ctx, "問題", "problems"), p->bad);
    for (size_t i = 0; i < p->nexamples; i++)
        printf("  %s\n    %s\n", cli_esc(p->examples[i].path), cli_esc(p->examples[i].reason));
    if (p->bad > p->nexamples)
        printf(CLI_T(ctx, "  （ほか %zu 件）\n", "  (and %zu more)\n"), p->bad - p->nexamples);
}

static int run_index(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "storage", required_argument, NULL, 's' }, { "extended", required_argument, NULL, 'x' },
        { "out", required_argument, NULL, 'o' },     { "threads", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },          { NULL, 0, NULL, 0 },
    };
    char red[MM_LOG_PATH_MAX];
    const char *storage = NULL, *ext = NULL, *out = NULL;
    struct mm_index_build_opts bo = { 0 };
    struct mm_index_build_stats *st = NULL;
    struct progress pr;
    mm_index *ix = NULL;
    int opt, err, rc = CLI_OK;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            storage = optarg;
            break;
        case 'x':
            ext = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 1 || v > 64)
                return cli_usage(ctx, &cmd_index,
                                 CLI_T(ctx, "--threads は 1 から 64 の数です",
                                       "--threads is a number from 1 to 64"));
            bo.threads = (unsigned)v;
            break;
        }
        case 'j':
            ctx->json = 1;
            break;
        default:
            return cli_option_error(ctx, &cmd_index, opt, argv);
        }
    }
    if (optind < argc)
        return cli_usage(ctx, &cmd_index, CLI_T(ctx, "余分な引数 '%s'", "unexpected argument '%s'"),
                         mm_log_path(red, sizeof(red), argv[optind]));
    if (!storage || !storage[0])
        return cli_usage(ctx, &cmd_index,
                         CLI_T(ctx, "--storage を指定してください", "--storage is required"));
    if (!out || !out[0])
        return cli_usage(ctx, &cmd_index,
                         CLI_T(ctx, "--out を指定してください", "--out is required"));
    if (!(st = calloc(1, sizeof(*st))))
        return cli_lib_error(mm_error_set(MM_ENOMEM, "out of memory"));
    if ((err = mm_index_create(&ix, out)) < 0) {
        cli_error(CLI_T(ctx, "索引 '%s' を作れません: %s", "cannot create index '%s': %s"),
                  mm_log_path(red, sizeof(red), out), mm_error_last());
        rc = CLI_ERROR;
        goto out;
    }
    bo.progress = on_progress;
    bo.progress_ctx = &pr;
    progress_start(&pr, ctx, CLI_T(ctx, "索引を作成中… 患者", "indexing… patients"));
    err = mm_index_build(ix, storage, ext, &bo, st);
    progress_end(&pr);
    if (err == MM_ENOTFOUND) {
        cli_error(CLI_T(ctx, "ストレージ '%s' を読めません", "cannot read storage '%s'"),
                  mm_log_path(red, sizeof(red), storage));
        rc = CLI_ERROR;
        goto out;
    }
    if (err == 0)
        err = mm_index_commit(ix);
    if (err < 0) {
        rc = cli_lib_error(err);
        goto out;
    }
    if (ctx->json)
        err = print_index_json(st);
    else
        print_index_human(ctx, st);
    if (err < 0)
        rc = cli_lib_error(err);
out:
    mm_index_free(ix);
    free(st);
    return rc;
}

const struct cmd cmd_index = {
    "index",
    "index --storage <DIR> --out <FILE> [--extended <DIR>] [--threads N] [--json]",
    "ストレージから患者索引（検索・要約・検査値一覧）を作る",
    "build a patient index (search, summary, lab table) from a storage",
    "オプション:\n"
    "   --storage <DIR>    標準化ストレージのルートフォルダ\n"
    "   --extended <DIR>   拡張ストレージのルートフォルダ（文書・画像の一覧を含める）\n"
    "   --out <FILE>       作る索引ファイル（あれば置き換える）\n"
    "   --threads N        ファイルを読むスレッド数（既定 16。読み込みは主にディスク待ち）\n"
    "   --json             結果を JSON で標準出力に出す\n"
    "\n"
    "ストレージを読むだけで、何も書き換えません。索引は '<FILE>.tmp' に作ってから名前を\n"
    "変えるので、途中で止まっても前の索引は壊れません。読めないファイルは件数と、患者IDを\n"
    "伏せた例（最大 20 件）を表示し、索引からは外します。\n"
    "\n"
    "終了コード: 0 索引を作った（問題があれば表示）、1 ストレージを読めない・索引を書けない、\n"
    "2 使い方の誤り\n",
    "options:\n"
    "   --storage <DIR>    root folder of the standardized storage\n"
    "   --extended <DIR>   root folder of the extended storage (lists documents, images)\n"
    "   --out <FILE>       the index file to write (replaced if it exists)\n"
    "   --threads N        threads reading files (default 16: reading mostly waits\n"
    "                      for the disk)\n"
    "   --json             print the result as JSON on standard output\n"
    "\n"
    "The storage is only read, never changed. The index is written to '<FILE>.tmp' and\n"
    "then renamed, so an interrupted run leaves the previous index intact. Files that\n"
    "cannot be read are counted and up to 20 are listed with patient IDs hidden; they\n"
    "are left out of the index.\n"
    "\n"
    "exit status: 0 index written (problems are listed), 1 storage unreadable or index\n"
    "not writable, 2 usage error\n",
    0,
    run_index,
};
