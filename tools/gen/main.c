/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori-gen command line:
 *   mamori-gen --out DIR --patients N --days D [--seed S] [--start YYYYMMDD]
 *              [--extended] [--truth FILE] [--threads N] [-q]
 *   mamori-gen advance --out DIR --days D [--truth FILE] [--threads N] [-q]
 *   mamori-gen damage --out DIR --patient ID --type TYPE [--files N] [--seed S]
 * Exit codes: 0 ok, 1 error, 2 usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "tools/gen/gen.h"
#include "tools/gen/gen_int.h"

static int english;

static void usage(FILE *f)
{
    fputs(english ? "usage: mamori-gen --out DIR --patients N --days D [--seed S] [--start YYYYMMDD]\n"
                    "                  [--extended] [--truth FILE] [--threads N] [-q]\n"
                    "       mamori-gen advance --out DIR --days D [--truth FILE] [--threads N] [-q]\n"
                    "       mamori-gen damage --out DIR --patient ID --type TYPE [--files N] [--seed S]\n\n"
                    "Writes a synthetic SS-MIX2 standardized storage to DIR/standard (and with\n"
                    "--extended an extended storage to DIR/extended). The same seed gives the same\n"
                    "bytes. 'advance' adds D more days to an existing storage. --truth writes the\n"
                    "JSON ground truth of every patient's current record. 'damage' makes N (default:\n"
                    "all) of a patient's files of a data type unreadable and prints what it broke\n"
                    "(JSON), for tests of how a reader reports read failures.\n"
                  : "使い方: mamori-gen --out DIR --patients N --days D [--seed S] [--start YYYYMMDD]\n"
                    "                  [--extended] [--truth FILE] [--threads N] [-q]\n"
                    "        mamori-gen advance --out DIR --days D [--truth FILE] [--threads N] [-q]\n"
                    "        mamori-gen damage --out DIR --patient ID --type TYPE [--files N] [--seed S]\n\n"
                    "合成した SS-MIX2 標準化ストレージを DIR/standard に書き出します（--extended で\n"
                    "拡張ストレージを DIR/extended にも）。同じシードからは同じバイト列が生成されます。\n"
                    "advance は既存のストレージに D 日分を追加します。--truth は全患者の現在の記録の\n"
                    "正解データ（JSON）を書き出します。damage は患者のあるデータ種別のファイルを N 件\n"
                    "（既定: すべて）読めなくし、壊したものを JSON で出力します（読めないファイルの\n"
                    "報告を試験するため）。\n",
          f);
}

/*
 * Say that the command line cannot be run: @bad is the bad option or value, or NULL when
 * arguments are missing or extra; then the usage. @return 2, the exit status
 */
static int usage_error(const char *bad)
{
    if (bad)
        fprintf(stderr,
                english ? "mamori-gen: bad option or value '%s'\n"
                        : "mamori-gen: オプションまたは値が正しくありません '%s'\n",
                bad);
    else
        fprintf(stderr, english ? "mamori-gen: missing or extra arguments\n"
                                : "mamori-gen: 引数が足りないか、余分です\n");
    usage(stderr);
    return 2;
}

/* Say why generating failed (@err, with the library's last message). @return 1 */
static int failed(int err)
{
    fprintf(stderr, "mamori-gen: %s\n", mm_error_last()[0] ? mm_error_last() : mm_error_name(err));
    return 1;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (!s[0] || strspn(s, "0123456789") != strlen(s))
        return -1;
    v = strtoull(s, &end, 10);
    if (*end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* mamori-gen damage: break some files of one patient's data type, print what was broken. */
static int damage_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "out", required_argument, NULL, 'o' },
        { "patient", required_argument, NULL, 'p' },
        { "type", required_argument, NULL, 't' },
        { "files", required_argument, NULL, 'n' },
        { "seed", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *out = NULL, *pid = NULL, *type = NULL;
    unsigned long long v, count = 0, seed = 1;
    mm_buf report;
    int opt, err;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, "o:p:t:n:s:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            out = optarg;
            break;
        case 'p':
            pid = optarg;
            break;
        case 't':
            type = optarg;
            break;
        case 'n':
            if (parse_uint(optarg, 100000, &v) != 0 || v == 0)
                goto bad;
            count = v;
            break;
        case 's':
            if (parse_uint(optarg, UINT64_MAX, &v) != 0)
                goto bad;
            seed = v;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            goto bad;
        }
    }
    if (optind != argc || !out || !pid || !type)
        return usage_error(NULL);
    mm_buf_init(&report, 1u << 20);
    err = gen_damage(out, pid, type, (unsigned)count, seed, &report);
    if (err == 0)
        fwrite(report.ptr, 1, report.len, stdout);
    mm_buf_release(&report);
    if (err < 0)
        return failed(err);
    return fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
bad:
    return usage_error(argv[optind - 1]);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "out", required_argument, NULL, 'o' },
        { "patients", required_argument, NULL, 'p' },
        { "days", required_argument, NULL, 'd' },
        { "seed", required_argument, NULL, 's' },
        { "start", required_argument, NULL, 'S' },
        { "extended", no_argument, NULL, 'x' },
        { "truth", required_argument, NULL, 't' },
        { "threads", required_argument, NULL, 'j' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gen_opts o = { 0 };
    struct gen_stats st = { 0 };
    int advance = 0, quiet = 0, opt, err;
    unsigned long long v;
    const char *lang = getenv("MAMORI_LANG");
    struct timespec t0, t1;

    english = lang && strncmp(lang, "en", 2) == 0;
    if (argc > 1 && strcmp(argv[1], "damage") == 0)
        return damage_main(argc - 1, argv + 1);
    o.seed = 1;
    o.start = days_from_civil(2025, 4, 1);
    if (argc > 1 && strcmp(argv[1], "advance") == 0) {
        advance = 1;
        argv++;
        argc--;
    }
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "o:p:d:s:S:xt:j:qh", opts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            o.out = optarg;
            break;
        case 'p':
            if (parse_uint(optarg, 10000000, &v) != 0 || v == 0)
                goto bad;
            o.patients = (unsigned)v;
            break;
        case 'd':
            if (parse_uint(optarg, 36500, &v) != 0 || v == 0)
                goto bad;
            o.days = (unsigned)v;
            break;
        case 's':
            if (parse_uint(optarg, UINT64_MAX, &v) != 0)
                goto bad;
            o.seed = v;
            break;
        case 'S':
            if (parse_yyyymmdd(optarg, &o.start) != 0)
                goto bad;
            break;
        case 'x':
            o.extended = 1;
            break;
        case 't':
            o.truth = optarg;
            break;
        case 'j':
            if (parse_uint(optarg, 64, &v) != 0 || v == 0)
                goto bad;
            o.threads = (int)v;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            goto bad;
        }
    }
    if (optind != argc || !o.out || !o.days || (!advance && !o.patients) || (advance && o.patients))
        return usage_error(NULL);
    o.progress = !quiet && isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    err = advance ? gen_advance(&o, &st) : gen_create(&o, &st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (err < 0)
        return failed(err);
    if (!quiet) {
        double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf(english ? "%" PRIu64 " patients, %" PRIu64 " files written, %" PRIu64
                         " renamed, %.1f MB in %.1f s\n"
                       : "患者 %" PRIu64 " 人、ファイル %" PRIu64 " 件を書き込み、%" PRIu64
                         " 件を改名、%.1f MB、%.1f 秒\n",
               st.patients, st.files, st.renames, st.bytes / 1e6, s);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return 1;
    return 0;
bad:
    return usage_error(argv[optind - 1]);
}
