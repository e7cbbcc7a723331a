/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori status: the state of all backups at once (backup/status.h), from this host's window
 * records and the configuration only, so it works while every medium is detached. The table
 * reads in five seconds: a one-line verdict, then the sources, then the media, each item that
 * needs a person marked 「要確認」 (red when stdout is a terminal) with one line per reason.
 * The table is bilingual (Japanese first, English beside it) whatever the language; --json
 * and --prometheus are the machine formats (docs/operations.md §8.6). --date and --now pin
 * the day and the time (tests). Exit codes: 0 all good, 1 cannot read the configuration or
 * the state, 2 usage, 4 needs attention. A suspect generation standing on this host (the
 * guard's list in <state_dir>/guard) is shown first, in red, with what a person does.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/status.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "config/config.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

#define RED "\033[1;31m"
#define OFF "\033[0m"

enum status_format { FMT_TABLE = 0, FMT_JSON = 1, FMT_PROM = 2 };

struct status_opts {
    const char *path;
    struct mm_config_date date;
    int have_date;
    int64_t now;
    enum status_format fmt;
    int color;
    const char *audit_dir;      /* the host's audit folder: repository-head alerts (NULL: none) */
    const struct mm_status *st; /* the status being printed */
};

static const char *const wday_ja[7] = { "日", "月", "火", "水", "木", "金", "土" };

/* "YYYY-MM-DD HH:MM" in local time, or "-". */
static const char *local_time(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t < 0 || !localtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(buf, cap, "-");
    return buf;
}

static const char *date_str(struct mm_config_date d, char *buf, size_t cap)
{
    if (!d.year)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%04d-%02d-%02d", d.year, d.month, d.day);
    return buf;
}

/* An age: "42m", "5h07m", "3d4h", or "-". */
static const char *age_str(int64_t s, char *buf, size_t cap)
{
    if (s < 0)
        snprintf(buf, cap, "-");
    else if (s < 3600)
        snprintf(buf, cap, "%" PRId64 "m", s / 60);
    else if (s < 2 * 86400)
        snprintf(buf, cap, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, cap, "%" PRId64 "d%" PRId64 "h", s / 86400, s % 86400 / 3600);
    return buf;
}

/* Print one cell: @s padded to @w columns and two spaces. */
static void cell(const char *s, int w)
{
    cli_pad(s, w);
    fputs("  ", stdout);
}

/* The two header rows (Japanese, English) of @n columns of widths @w; "状態 state" last. */
static void header(const char *const ja[], const char *const en[], const int w[], int n)
{
    printf("\n  ");
    for (int i = 0; i < n; i++)
        cell(ja[i], w[i]);
    printf("状態\n  ");
    for (int i = 0; i < n; i++)
        cell(en[i], w[i]);
    printf("state\n");
}

/* The colour of an item's row. */
static void row_start(const struct status_opts *o, unsigned int attention)
{
    if (attention && o->color)
        fputs(RED, stdout);
}

static void row_end(const struct status_opts *o, unsigned int attention, const char *okword)
{
    fputs(attention ? "要確認 needs attention" : okword, stdout);
    if (attention && o->color)
        fputs(OFF, stdout);
    putchar('\n');
}

/* One reason line under an item, indented to @indent. */
static void why_line(const struct status_opts *o, int indent, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void why_line(const struct status_opts *o, int indent, const char *fmt, ...)
{
    char text[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    /* reasons quote the state files (messages, paths): escaped like any text from outside */
    printf("%s%*s↳ %s%s\n", o->color ? RED : "", indent, "", cli_esc(text), o->color ? OFF : "");
}

static void source_whys(const struct status_opts *o, const struct mm_status_source *s)
{
    char rpo[32];

    mm_config_duration_str(s->cfg->rpo, rpo, sizeof(rpo));
    if (s->attention & MM_STATUS_WHY_NEVER)
        why_line(o, 4, "正常な世代の記録がありません / no good generation recorded");
    if (s->attention & MM_STATUS_WHY_RPO)
        why_line(o, 4,
                 "最終正常世代が RPO（%s）より古い / last good generation older than its RPO (%s)",
                 rpo, rpo);
    if (s->attention & MM_STATUS_WHY_DAMAGED)
        why_line(o, 4, "前回の検証で損傷が見つかりました / the last verify found damage");
    if (s->attention & MM_STATUS_WHY_GUARD)
        why_line(o, 4, "異常検知の判定: %s / guard verdict: %s", s->guard, s->guard);
}

static void print_sources(const struct status_opts *o, const struct mm_status *st)
{
    char t[40], a[32], r[32];
    int nw = 8, mw = 6;

    for (size_t i = 0; i < st->nsources; i++) {
        int w = cli_width(st->sources[i].cfg->name);
        nw = w > nw ? w : nw;
        if (st->sources[i].have_good && cli_width(st->sources[i].good.medium) > mw)
            mw = cli_width(st->sources[i].good.medium);
    }
    {
        static const char *const ja[] = {
            "取得元", "最終正常世代", "経過", "目標", "媒体", "検証"
        };
        static const char *const en[] = { "source", "last good", "age", "RPO", "medium", "verify" };
        const int w[] = { nw, 16, 8, 6, mw, 7 };
        header(ja, en, w, 6);
    }
    for (size_t i = 0; i < st->nsources; i++) {
        const struct mm_status_source *s = &st->sources[i];
        row_start(o, s->attention);
        fputs("  ", stdout);
        cell(s->cfg->name, nw);
        cell(s->have_good ? local_time(s->good.at, t, sizeof(t)) : "-", 16);
        cell(age_str(s->age, a, sizeof(a)), 8);
        cell(mm_config_duration_str(s->cfg->rpo, r, sizeof(r)), 6);
        cell(s->have_good ? s->good.medium : "-", mw);
        cell(s->verify[0] ? s->verify : "-", 7);
        row_end(o, s->attention, s->cfg->enabled ? "正常 ok" : "停止中 paused");
        source_whys(o, s);
    }
}

static void medium_whys(const struct status_opts *o, const struct mm_status_medium *m)
{
    const struct mm_status_window *w = &m->last;
    char d[16], t[40];

    if ((m->attention & MM_STATUS_WHY_FAILED) && w->result == MM_BACKUP_EXIT_ATTENTION)
        why_line(o, 4,
                 "前回の窓は保存済み・要確認（終了コード 4）/ last window written, needs attention "
                 "(exit 4): %s %s",
                 date_str(w->date, d, sizeof(d)), w->reason);
    else if (m->attention & MM_STATUS_WHY_FAILED)
        why_line(o, 4, "前回の窓が失敗 / last window failed: %s %s: %s",
                 date_str(w->date, d, sizeof(d)), w->stage, w->reason[0] ? w->reason : "-");
    if (m->attention & MM_STATUS_WHY_MISSED)
        why_line(o, 4,
                 "担当日 %s に正常な窓がありません（媒体なし・接続失敗など）/ no good window on "
                 "its day %s (disk missing, attach failed, ...)",
                 date_str(m->missed, d, sizeof(d)), d);
    if (m->attention & MM_STATUS_WHY_DAMAGED)
        why_line(o, 4, "前回の検証で損傷が見つかりました / the last verify found damage");
    if (m->attention & MM_STATUS_WHY_EXPIRED)
        why_line(o, 4, "一時置き場のデータが期限切れ（%s）/ staged data expired (%s)",
                 local_time(m->staged.expires, t, sizeof(t)), t);
    else if (m->staged.present) {
        char b[32] = "-";
        if (m->staged.bytes >= 0)
            cli_bytes((uint64_t)m->staged.bytes, b);
        printf("    ↳ 一時置き場で待機中 %s（期限 %s）/ staged, waiting: %s (expires %s)\n", b,
               local_time(m->staged.expires, t, sizeof(t)), b, t);
    }
    if (m->attention & MM_STATUS_WHY_DRILL) {
        const struct mm_status_drill_medium *dm = &o->st->drills->media[m - o->st->media];
        why_line(o, 4, "構造訓練が失敗（%s）/ structural drill failed (%s): %s",
                 local_time(dm->last.at, t, sizeof(t)), t,
                 dm->last.reason[0] ? dm->last.reason : "-");
    }
    if (m->windows_viewer == 0) /* the host had no Windows build: not a failure */
        printf("%s\n", "    ↳ Windows 用ビューアなし（make windows、make install）/ no Windows "
                       "viewer on it (make windows, make install)");
}

/* "free / size" of a medium, or "-". */
static const char *space_str(const struct mm_status_medium *m, char *buf, size_t cap)
{
    char f[32], s[32];

    if (m->free_bytes < 0 || m->size_bytes <= 0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%s / %s", cli_bytes((uint64_t)m->free_bytes, f),
                 cli_bytes((uint64_t)m->size_bytes, s));
    return buf;
}

static void medium_row(const struct status_opts *o, const struct mm_status_medium *m, int lw)
{
    char t[40], win[32], g[24], sp[80];

    row_start(o, m->attention);
    fputs("  ", stdout);
    cell(m->cfg->label, lw);
    cell(m->due_today ? "今日 today" : m->due_next ? "次 next" : "-", 10);
    cell(m->have_written ? local_time(m->written.at, t, sizeof(t)) : "-", 16);
    if (m->have_last && m->last.online_s >= 0)
        snprintf(win, sizeof(win), "%.1f s", m->last.online_s);
    else
        snprintf(win, sizeof(win), "-");
    cell(win, 8);
    if (m->generations_held >= 0)
        snprintf(g, sizeof(g), "%" PRId64, m->generations_held);
    else
        snprintf(g, sizeof(g), "-");
    cell(g, 4);
    cell(space_str(m, sp, sizeof(sp)), 21);
    row_end(o, m->attention, m->have_last ? "正常 ok" : "未使用 never written");
    medium_whys(o, m);
}

static void print_media(const struct status_opts *o, const struct mm_status *st)
{
    int lw = 6;

    for (size_t i = 0; i < st->nmedia; i++)
        if (cli_width(st->media[i].cfg->label) > lw)
            lw = cli_width(st->media[i].cfg->label);
    {
        static const char *const ja[] = { "媒体", "予定", "最終書込", "窓", "世代", "空き / 容量" };
        static const char *const en[] = { "medium", "due",  "last written",
                                          "window", "gens", "free / size" };
        const int w[] = { lw, 10, 16, 8, 4, 21 };
        header(ja, en, w, 6);
    }
    for (size_t i = 0; i < st->nmedia; i++)
        medium_row(o, &st->media[i], lw);
}

static void print_head(const struct status_opts *o, const struct mm_status *st)
{
    const struct mm_config_hospital *h = mm_config_hospital(st->cfg);
    char d[16];

    if (st->needs)
        printf("%s要確認 %zu 件 / %zu need attention%s\n", o->color ? RED : "", st->needs,
               st->needs, o->color ? OFF : "");
    else
        printf("すべて正常 / all good\n");
    printf("%s（%s %s）  今日 today: %s  次 next: %s  病院 hospital: %s%s%s\n",
           date_str(st->today, d, sizeof(d)), wday_ja[mm_config_date_weekday(st->today)],
           mm_config_weekday_name(mm_config_date_weekday(st->today)),
           st->due_today ? st->due_today->label : "-", st->due_next ? st->due_next->label : "-",
           cli_esc(h->id), h->name ? " " : "", h->name ? cli_esc(h->name) : "");
    if (!st->state_found)
        why_line(o, 0,
                 "状態ファイル %s/windows.jsonl がありません（まだ一度も実行されていません）/ "
                 "no state file: nothing has run yet",
                 mm_config_service(st->cfg)->state_dir);
}

/* The suspect generations standing on this host (issue 18), first and in red: which medium,
 * which generation, since when, and what a person does. */
static void print_standing(const struct status_opts *o, const struct mm_status *st)
{
    if (st->standing_unreadable)
        printf("%s⚠ 要注意: ガードの記録（<state_dir>/guard）が読めません。要注意の世代が隠れて"
               "いるかもしれません / SUSPECT: the guard's records (<state_dir>/guard) cannot be "
               "read; a suspect generation may be hidden%s\n",
               o->color ? RED : "", o->color ? OFF : "");
    for (size_t i = 0; i < st->nstanding; i++) {
        const struct mm_guard_standing *g = &st->standing[i];
        const struct mm_config_medium *m = NULL;
        char t[32];
        for (size_t k = 0; k < mm_config_medium_count(st->cfg) && g->medium[0] && !m; k++)
            if (strcmp(mm_config_medium_at(st->cfg, k)->label, g->medium) == 0)
                m = mm_config_medium_at(st->cfg, k);
        local_time(g->time_s, t, sizeof(t));
        printf("%s⚠ 要注意の世代: 媒体 %s の世代 %.12s（%s から）/ SUSPECT generation %.12s on "
               "medium %s since %s%s\n",
               o->color ? RED : "", g->medium[0] ? cli_esc(g->medium) : "?", g->gen, t, g->gen,
               g->medium[0] ? cli_esc(g->medium) : "?", t, o->color ? OFF : "");
        why_line(o, 4,
                 "人が確認してください。それまで古い世代はどの媒体でも消されません / a person "
                 "must look; until then no generation is retired on any medium");
        why_line(o, 4,
                 "mamori guard list --repo %s; mamori guard accept %.12s --repo %s --config %s",
                 m ? m->path : "<medium>", g->gen, m ? m->path : "<medium>", o->path);
    }
}

/* The restore drills (<state_dir>/drills.jsonl): the last full drill with its RTO and RPO
 * figures, and each medium's last structural drill. */
static void print_drills(const struct status_opts *o, const struct mm_status *st)
{
    const struct mm_status_drills *dr = st->drills;
    const struct mm_status_drill *f;
    char t[40], a[32], iv[32];
    int lw = 6;

    if (!dr || (!st->state_found && !dr->found))
        return;
    f = &dr->full;
    mm_config_duration_str(mm_config_service(st->cfg)->full_drill_interval, iv, sizeof(iv));
    printf("\n復元訓練 / restore drills\n");
    row_start(o, dr->attention);
    printf("  全件復元訓練 full drill: %s  ",
           dr->have_full ? local_time(f->at, t, sizeof(t)) : "記録なし none recorded");
    row_end(o, dr->attention,
            !dr->have_full ? "未実施 none yet"
            : dr->failed   ? "失敗 failed"
                           : "正常 ok");
    if (dr->have_full) {
        char rpo[32];
        printf("    ↳ 世代 generation %.12s  媒体 medium %s\n",
               f->generation[0] ? f->generation : "-", f->medium[0] ? cli_esc(f->medium) : "-");
        if (f->rpo_s >= 0)
            age_str(f->rpo_s, rpo, sizeof(rpo));
        else
            snprintf(rpo, sizeof(rpo), "-");
        printf("    ↳ RTO: ビューア viewer %.1f s、全件復元 full restore %.1f s（%.1f MiB/s）  RPO "
               "%s\n",
               f->viewer_s, f->restore_s, f->mib_s, rpo);
    }
    if (dr->failed)
        why_line(o, 4, "前回の全件復元訓練が失敗 / the last full drill failed: %s",
                 f->reason[0] ? f->reason : "-");
    if (dr->overdue)
        why_line(o, 4,
                 "全件復元訓練が %s より前です（mamori drill）/ the last full drill is older than "
                 "%s (mamori drill)",
                 iv, iv);
    if (dr->never)
        why_line(o, 4,
                 "全件復元訓練の記録がありません（mamori drill、%s ごと）/ no full drill recorded "
                 "(mamori drill, every %s)",
                 iv, iv);
    if (dr->due >= 0 && !dr->attention)
        printf("    ↳ 次の全件復元訓練の期限 / next full drill due: %s\n",
               local_time(dr->due, t, sizeof(t)));
    for (size_t i = 0; i < st->nmedia; i++)
        if (cli_width(st->media[i].cfg->label) > lw)
            lw = cli_width(st->media[i].cfg->label);
    printf("  構造訓練 structural drill:\n");
    for (size_t i = 0; i < st->nmedia; i++) {
        const struct mm_status_drill_medium *m = &dr->media[i];
        int bad = m->have && strcmp(m->last.result, "ok") != 0;
        row_start(o, bad);
        fputs("    ", stdout);
        cell(st->media[i].cfg->label, lw);
        cell(m->have ? local_time(m->last.at, t, sizeof(t)) : "-", 16);
        cell(age_str(m->age, a, sizeof(a)), 8);
        row_end(o, bad, m->have ? "正常 ok" : "未実施 none yet");
    }
}

/* The S3 vault ([vault]): where, its last copy, and plainly whether it is immutable. */
static void print_vault(const struct status_opts *o, const struct mm_status *st)
{
    const struct mm_status_vault *v = &st->vault;
    char t[40], u[40];

    if (!v->url)
        return;
    printf("\nS3 保管庫 / S3 vault: %s\n", cli_esc(v->url));
    row_start(o, v->attention);
    printf("  最終コピー last copy: %s  ",
           v->have_good ? local_time(v->good.at, t, sizeof(t)) : "-");
    row_end(o, v->attention, "正常 ok");
    snprintf(u, sizeof(u), "-");
    if (v->have_good && v->retain_until > 0)
        local_time(v->retain_until, u, sizeof(u));
    if (v->immutable == 1)
        printf("    ↳ 変更不可（Object Lock を確認済み）保持期限 %s / immutable (Object Lock "
               "proven), retained until %s\n",
               u, u);
    else if (v->immutable == 0)
        why_line(o, 4,
                 "変更不可ではありません（削除・改ざんから守られていません）/ NOT immutable: %s",
                 v->reason[0] ? v->reason : "-");
    if (v->attention & MM_STATUS_WHY_NEVER)
        why_line(o, 4,
                 "まだ一度も保管庫へコピーされていません / nothing has been copied to the "
                 "vault yet");
    if (v->have_last && strcmp(v->state, "ok") != 0)
        why_line(o, 4, "前回のコピーが失敗 / last copy failed: %s", v->reason[0] ? v->reason : "-");
}

static void print_notes(const struct mm_status *st)
{
    if (st->bad_lines)
        printf("\n注意: 状態ファイルの読めない行 %zu 行を飛ばしました / note: %zu unreadable lines of "
               "the state file skipped\n",
               st->bad_lines, st->bad_lines);
    if (st->truncated)
        printf("注意: 状態ファイルは末尾 %u MiB だけ読みました / note: only the last %u MiB of the "
               "state file were read\n",
               MM_STATUS_TAIL_MAX >> 20, MM_STATUS_TAIL_MAX >> 20);
    if (st->bad_staged)
        printf("注意: 読めない一時置き場の記録 %zu 件 / note: %zu unreadable staged records\n",
               st->bad_staged, st->bad_staged);
    if (st->drills && st->drills->bad_lines)
        printf("注意: 訓練記録の読めない行 %zu 行を飛ばしました / note: %zu unreadable lines of "
               "drills.jsonl skipped\n",
               st->drills->bad_lines, st->drills->bad_lines);
}

/* Media whose repository head disagrees with this host's copy (issue 17.1), in red. */
static void print_heads(const struct status_opts *o, const struct mm_status *st)
{
    for (size_t i = 0; i < st->nheads; i++)
        printf("%s要確認: リポジトリ %s のヘッドがこの PC の控えと合いません / NEEDS ATTENTION: the "
               "repository head of %s disagrees with this host's copy: %s (mamori verify)%s\n",
               o->color ? RED : "", st->heads[i].repo, st->heads[i].repo, st->heads[i].what,
               o->color ? OFF : "");
}

static int print_machine(const struct status_opts *o, const struct mm_status *st)
{
    mm_buf b;
    int err;

    mm_buf_init(&b, MM_LIMIT_JSON);
    err = o->fmt == FMT_JSON ? mm_status_json(st, &b) : mm_status_prometheus(st, &b);
    if (err == 0)
        fwrite(b.ptr, 1, b.len, stdout);
    mm_buf_release(&b);
    return err < 0 ? cli_lib_error(err) : CLI_OK;
}

static int show_status(struct status_opts *o)
{
    struct mm_status st = { 0 };
    mm_config *cfg = NULL;
    int rc, err = mm_config_load(o->path, &cfg);

    if (err < 0)
        return cli_lib_error(err);
    if (!o->have_date) {
        time_t t = (time_t)o->now;
        struct tm tm;
        localtime_r(&t, &tm);
        o->date = (struct mm_config_date){ tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday };
    }
    err = mm_status_read(&st, cfg, o->date, o->now);
    if (err == 0)
        err = mm_status_read_heads(&st, o->audit_dir);
    if (err == 0)
        err = mm_status_read_guard(&st, NULL);
    if (err < 0) {
        rc = cli_lib_error(err);
    } else if (o->fmt != FMT_TABLE) {
        rc = print_machine(o, &st);
    } else {
        print_head(o, &st);
        print_standing(o, &st);
        print_sources(o, &st);
        o->st = &st;
        print_media(o, &st);
        print_drills(o, &st);
        print_vault(o, &st);
        print_heads(o, &st);
        print_notes(&st);
        rc = CLI_OK;
    }
    if (rc == CLI_OK && st.needs)
        rc = CLI_ATTENTION;
    mm_status_release(&st);
    mm_config_free(cfg);
    return rc;
}

static int run_status(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "date", required_argument, NULL, 'd' },
        { "now", required_argument, NULL, 'n' },
        { "json", no_argument, NULL, 'j' },
        { "prometheus", no_argument, NULL, 'p' },
        { "audit-dir", required_argument, NULL, 'A' },
        { NULL, 0, NULL, 0 },
    };
    char abuf[4096];
    struct status_opts o = {
        MM_CONFIG_DEFAULT_PATH,           { 0, 0, 0 }, 0,    (int64_t)time(NULL),
        ctx->json ? FMT_JSON : FMT_TABLE, 0,           NULL, NULL
    };
    int opt, prom = 0;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (opt == 'c')
            o.path = optarg;
        else if (opt == 'd' && mm_config_date_parse(optarg, &o.date) == 0)
            o.have_date = 1;
        else if (opt == 'd')
            return cli_usage(ctx, &cmd_status,
                             CLI_T(ctx, "--date は 1970 年以降の YYYY-MM-DD です: '%s'",
                                   "--date takes a date YYYY-MM-DD from 1970 on: '%s'"),
                             optarg);
        else if (opt == 'n' && mm_status_time_parse(optarg, &o.now) < 0)
            return cli_usage(ctx, &cmd_status,
                             CLI_T(ctx, "--now は YYYY-MM-DDTHH:MM:SSZ（UTC）です: '%s'",
                                   "--now takes a time YYYY-MM-DDTHH:MM:SSZ (UTC): '%s'"),
                             optarg);
        else if (opt == 'j')
            o.fmt = FMT_JSON;
        else if (opt == 'p')
            prom = 1;
        else if (opt == 'A')
            ctx->audit_dir = optarg;
        else if (opt != 'n')
            return cli_option_error(ctx, &cmd_status, opt, argv);
    }
    if (optind != argc)
        return cli_usage(ctx, &cmd_status, CLI_T(ctx, "余分な引数: '%s'", "extra argument: '%s'"),
                         argv[optind]);
    if (prom && o.fmt == FMT_JSON)
        return cli_usage(ctx, &cmd_status,
                         CLI_T(ctx, "--json と --prometheus は同時に使えません",
                               "--json and --prometheus cannot be used together"));
    if (prom)
        o.fmt = FMT_PROM;
    o.color = o.fmt == FMT_TABLE && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    o.audit_dir = cli_audit_dir_or_null(ctx, abuf, sizeof(abuf));
    return show_status(&o);
}

const struct cmd cmd_status = {
    "status",
    "status [--config <FILE>] [--json | --prometheus] [--date <YYYY-MM-DD>] [--now <TIME>]",
    "すべてのバックアップの状態を表示する（媒体は開かない）",
    "show the state of all backups (no medium is opened)",
    "オプション:\n"
    "   --config <FILE>      設定ファイル（既定: /etc/mamori/mamori.conf）\n"
    "   --json               JSON で出す（形は docs/operations.md §8.6）\n"
    "   --prometheus         Prometheus のテキスト形式で出す（node_exporter の textfile 用）\n"
    "   --date <YYYY-MM-DD>  この日として判定する（既定: 今日。試験用）\n"
    "   --now <TIME>         この時刻として判定する（YYYY-MM-DDTHH:MM:SSZ、UTC。試験用）\n"
    "   --audit-dir <DIR>    この PC の監査フォルダ（リポジトリヘッドの控えと不一致の記録）\n"
    "\n"
    "この PC の記録（state_dir の windows.jsonl と staged/）と設定だけを読みます。媒体が\n"
    "すべて切り離されていても使えます。人の確認が必要な項目には「要確認」と理由を表示します。\n"
    "ガードが要注意とした世代が残っていれば（state_dir の guard/）、最初にその媒体・世代・\n"
    "時刻と、人が行う確認（mamori guard accept）を表示します。\n"
    "終了コード: 0 すべて正常、1 設定・状態を読めない、2 使い方の誤り、4 要確認あり\n",
    "options:\n"
    "   --config <FILE>      configuration file (default /etc/mamori/mamori.conf)\n"
    "   --json               print JSON (shape in docs/operations.md §8.6)\n"
    "   --prometheus         print Prometheus text format (node_exporter's textfile collector)\n"
    "   --date <YYYY-MM-DD>  judge as on this date (default today; for tests)\n"
    "   --now <TIME>         judge as at this time (YYYY-MM-DDTHH:MM:SSZ, UTC; for tests)\n"
    "   --audit-dir <DIR>    this host's audit folder (repository-head copies and disagreements)\n"
    "\n"
    "Reads only this host's records (windows.jsonl and staged/ in state_dir) and the\n"
    "configuration: it works while every medium is detached. Items that need a person are\n"
    "marked 要確認 (needs attention) with the reasons. A suspect generation the guard left\n"
    "standing (guard/ in state_dir) is shown first: its medium, generation, since when, and\n"
    "what a person does (mamori guard accept).\n"
    "Exit codes: 0 all good, 1 cannot read the configuration or state, 2 usage,\n"
    "4 needs attention\n",
    0,
    run_status,
};
