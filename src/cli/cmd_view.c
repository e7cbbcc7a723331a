/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori view: the offline viewer. Starts the built-in web server on 127.0.0.1 for one
 * repository (a medium), prints its address on stdout (first line, for launchers and
 * tests), opens it in the PC's browser unless --no-browser, and serves until Ctrl+C or
 * SIGTERM. No passphrase is asked here: the browser's login page unlocks a key slot. Every
 * login, failed login, patient opened and session end goes to the audit log (medium and
 * this host) with the session's key slot name.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifndef _WIN32
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#endif

#include "common/error.h"
#include "common/log.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cli_win.h"
#include "src/cli/cmd.h"
#include "viewer/viewer.h"

#ifndef _WIN32
extern char **environ;
#endif

struct view_ctx {
    const struct cli_ctx *ctx;
    const char *repo;
};

/* mm_viewer_event_fn: a batch of events into the audit logs (medium and host). */
static void on_event(const struct mm_viewer_event *evs, size_t n, mm_repo *r, void *arg)
{
    const struct view_ctx *vc = arg;

    cli_audit_viewer_n(vc->ctx, r, vc->repo, evs, n, "viewer");
}

#ifdef _WIN32
/* Open @url in the default browser; @return 0 when a browser was started. */
static int open_browser(const char *url)
{
    return cli_win_open_url(url);
}

/* Windows: Ctrl+C, Ctrl+Break and the closing of the console window stop the viewer. */
static int stop_catch(void)
{
    return cli_win_stop_catch() < 0 ? mm_error_set(MM_ERROR, "cannot catch Ctrl+C") : 0;
}

static void stop_wait(void)
{
    cli_win_stop_wait();
}
#else
/* Open @url in the desktop's browser; @return 0 when a browser was started. */
static int open_browser(const char *url)
{
    char *argv[] = { "xdg-open", (char *)(uintptr_t)url, NULL };
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc, status;

    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    rc = posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static sigset_t stop_set;

/* SIGINT, SIGTERM and SIGHUP stop the viewer. The server's threads inherit this mask: only
 * this thread takes the signals. */
static int stop_catch(void)
{
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void stop_wait(void)
{
    int sig = 0;

    while (sigwait(&stop_set, &sig) != 0)
        ;
}
#endif

static int run_view(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "generation", required_argument, NULL, 'g' },
        { "port", required_argument, NULL, 'P' },
        { "idle-minutes", required_argument, NULL, 'i' },
        { "no-browser", no_argument, NULL, 'n' },
        { "audit-dir", required_argument, NULL, 'A' },
        { NULL, 0, NULL, 0 },
    };
    struct mm_viewer_opts o = { 0 };
    struct view_ctx vc = { ctx, NULL };
    mm_viewer *v = NULL;
    char url[64], *end;
    const char *env;
    int opt, err, browser = 1;
    long n;

    o.repo_path = ctx->repo;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            o.repo_path = optarg;
            break;
        case 'g':
            o.generation = optarg;
            break;
        case 'P':
            errno = 0;
            n = strtol(optarg, &end, 10);
            if (errno || *end || n < 0 || n > 65535)
                return cli_usage(ctx, &cmd_view,
                                 CLI_T(ctx, "--port は 0〜65535 です", "--port is 0 to 65535"));
            o.port = (unsigned int)n;
            break;
        case 'i':
            errno = 0;
            n = strtol(optarg, &end, 10);
            if (errno || *end || n < 1 || n > (long)(MM_VIEWER_IDLE_MAX / 60))
                return cli_usage(ctx, &cmd_view,
                                 CLI_T(ctx, "--idle-minutes は 1〜1440 です",
                                       "--idle-minutes is 1 to 1440"));
            o.idle_timeout = (unsigned int)n * 60u;
            break;
        case 'n':
            browser = 0;
            break;
        case 'A':
            ctx->audit_dir = optarg;
            break;
        default:
            return cli_option_error(ctx, &cmd_view, opt, argv);
        }
    }
    if (optind != argc)
        return cli_usage(ctx, &cmd_view, "%s",
                         CLI_T(ctx, "余分な引数があります", "unexpected argument"));
    if (!o.repo_path || !*o.repo_path)
        return cli_usage(ctx, &cmd_view, "%s",
                         CLI_T(ctx, "--repo でリポジトリ（媒体）を指定してください",
                               "give the repository (medium) with --repo"));
    /* tests only: seconds of idle time, and the delay of a wrong passphrase */
    if ((env = getenv("MAMORI_VIEW_IDLE_SECONDS")) && *env) {
        n = strtol(env, &end, 10);
        if (*end || n < 1 || n > (long)MM_VIEWER_IDLE_MAX)
            return cli_usage(ctx, &cmd_view, "%s", "MAMORI_VIEW_IDLE_SECONDS is 1 to 86400");
        o.idle_timeout = (unsigned int)n;
    }
    if ((env = getenv("MAMORI_VIEW_FAIL_DELAY_MS")) && *env) {
        n = strtol(env, &end, 10);
        if (*end || n < 1 || n > 1000)
            return cli_usage(ctx, &cmd_view, "%s", "MAMORI_VIEW_FAIL_DELAY_MS is 1 to 1000");
        o.fail_delay_ms = (unsigned int)n;
    }
    vc.repo = o.repo_path;
    o.event = on_event;
    o.event_ctx = &vc;

    if ((err = stop_catch()) < 0)
        return cli_lib_error(err);
#ifdef M_TRIM_THRESHOLD
    /* a server answering thousands of requests a second on many threads: glibc would give
     * each thread's freed heap back to the system after nearly every answer (a madvise, a TLB
     * flush on every core, page faults on the next one); keep up to 16 MiB instead, and take
     * answers of up to 4 MiB from the heap rather than a fresh mapping each time */
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
    if ((err = mm_viewer_start(&v, &o)) < 0) {
        if (err == MM_ENOTFOUND) {
            cli_error("%s", CLI_T(ctx, "そこに mamori のリポジトリはありません",
                                  "no mamori repository there"));
            return CLI_ERROR;
        }
        if (err == MM_EIO) {
            cli_error(CLI_T(ctx, "127.0.0.1 のポート %u で待ち受けできません（使用中？）",
                            "cannot listen on 127.0.0.1 port %u (in use?)"),
                      o.port);
            return CLI_ERROR;
        }
        return cli_lib_error(err);
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", mm_viewer_port(v));
    printf("%s\n", url);
    fflush(stdout);
    if (!ctx->quiet)
        fprintf(stderr,
                CLI_T(ctx,
                      "mamori ビューア: ブラウザで %s を開き、パスフレーズを入力してください。\n"
                      "このパソコンの中だけで動き、ネットワークには出ません。終了するには Ctrl+C。\n",
                      "mamori viewer: open %s in a browser and enter the passphrase.\n"
                      "It runs on this PC only, never on a network. Press Ctrl+C to stop.\n"),
                url);
    if (browser && open_browser(url) < 0 && !ctx->quiet)
        fprintf(stderr, "%s\n",
                CLI_T(ctx, "（ブラウザを自動で開けませんでした。上のアドレスを開いてください）",
                      "(no browser could be opened: open the address above)"));
    stop_wait();
    mm_viewer_stop(v);
    if (!ctx->quiet)
        fprintf(stderr, "%s\n",
                CLI_T(ctx, "mamori ビューアを終了しました（鍵と索引はメモリから消去しました）",
                      "mamori viewer stopped (keys and indexes wiped from memory)"));
#ifdef _WIN32
    cli_win_stop_done();
#endif
    return CLI_OK;
}

const struct cmd cmd_view = {
    "view",
    "view --repo <DIR> [--generation <G>] [--port N] [--no-browser] [--idle-minutes M]",
    "オフラインビューアを起動する（ブラウザで患者記録を見る）",
    "start the offline viewer (read patient records in a browser)",
    "オプション:\n"
    "   --repo <DIR>          リポジトリ（媒体）\n"
    "   --generation <G>      最初に表示する世代（既定: 最新の良い世代。要注意で承認されていない\n"
    "                         世代は既定にしません。ID の前方一致）\n"
    "   --port N              待ち受けるポート（既定 0: 空いているもの）。127.0.0.1 だけで待ち受けます\n"
    "   --no-browser          ブラウザを開かない（アドレスは標準出力の1行目）\n"
    "   --idle-minutes M      操作がないまま M 分でログアウト（既定 15）\n"
    "   --audit-dir <DIR>     このパソコン側の監査ログの置き場所\n"
    "\n"
    "パスフレーズはブラウザのログイン画面で入力します。患者索引は暗号を解いてメモリ上にだけ置き、\n"
    "パソコンのディスクには何も書きません。ログイン・ログイン失敗・患者の閲覧・ログアウトは\n"
    "監査ログに記録されます。Ctrl+C で終了します。\n"
    "終了コード: 0 正常終了、1 起動できない、2 使い方の誤り\n",
    "options:\n"
    "   --repo <DIR>          the repository (medium)\n"
    "   --generation <G>      generation shown first (default: the newest good one, never a\n"
    "                         suspect one not accepted; an ID prefix)\n"
    "   --port N              port to listen on (default 0: any free one), on 127.0.0.1 only\n"
    "   --no-browser          do not open a browser (the address is the first line of stdout)\n"
    "   --idle-minutes M      log out after M minutes without use (default 15)\n"
    "   --audit-dir <DIR>     this PC's audit log folder\n"
    "\n"
    "The passphrase is typed on the browser's login page. The patient index is decrypted into\n"
    "memory only; nothing is written to the PC's disk. Logins, failed logins, patients opened\n"
    "and logouts are recorded in the audit log. Ctrl+C stops it.\n"
    "exit status: 0 stopped normally, 1 could not start, 2 usage error\n",
    CMD_NEEDS_REPO,
    run_view,
};
