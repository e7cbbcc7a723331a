/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori scan: walk a standardized storage read-only and report patients, files,
 * bytes, condition flags per data type, and every name that does not parse or
 * sits in the wrong folder. The walk is depth-first with openat()/fdopendir(),
 * so at most six folders are open and only one folder's names (sorted, for a
 * stable report) are in memory: millions of files cost counters, not paths.
 * Paths are shown only after redaction (mm_log_path() plus the walk's own
 * knowledge of which levels are patient folders). Every message is read once, by the
 * library (mm_ssmix2_count_fields), only to count its fields by what the record makes of
 * them (read, message plumbing, not interpreted and shown raw, dropped); HL7 content is
 * never printed.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "src/cli/cmd.h"
#include "ssmix2/ssmix2.h"

#define MAX_EXAMPLES    20
#define MAX_TYPES       32
#define LEVEL_FILE      5 /* <pid3>/<pid3>/<pid>/<date>/<type>/<file>: files are at level 5 */
#define DIR_NAMES_LIMIT (64u * 1024u * 1024u) /* names of one folder held for sorting */
#define PROGRESS_EVERY  4096u                 /* entries between clock reads */

struct example {
    char path[MM_LOG_PATH_MAX];
    char reason[256];
};

struct scan {
    const struct cli_ctx *ctx;
    const char *root; /* the storage as given, to open the message files */
    unsigned long long patients, files, bytes, problems, entries;
    const struct mm_ssmix2_type *types;
    size_t ntypes;
    unsigned long long counts[MAX_TYPES][3]; /* [type][flag] */
    struct mm_ssmix2_field_counts fields[MAX_TYPES];
    unsigned long long unreadable; /* messages whose fields could not be counted */
    struct example ex[MAX_EXAMPLES];
    size_t nex;
    char path[MM_LIMIT_PATH]; /* path of the current entry, relative to the root */
    size_t pathlen;
    char pid[MM_LIMIT_NAME + 1]; /* the patient folder being walked, "" above it */
    struct timespec start;
    int progress_shown;
};

/* Append the bytes of @s[0..n) to @out at *pos, bounded by @cap (NUL kept free). */
static void put(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *pos + 1 < cap; i++)
        out[(*pos)++] = s[i];
}

/*
 * OUT: @out, the entry at s->path redacted for display: mm_log_path(), then the first
 * @hide levels (patient prefix and ID folders) become "*" and the current patient
 * folder's name is masked anywhere else, so even stray names mm_log_path() cannot
 * recognise hide the ID. Control bytes become '?'.
 */
static const char *redact(const struct scan *s, char *out, size_t cap, size_t hide)
{
    char tmp[MM_LOG_PATH_MAX];
    const char *p = mm_log_path(tmp, sizeof(tmp), s->path);
    size_t pos = 0, level = 0, pidlen = strlen(s->pid);

    for (;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);

        if (level < hide) {
            put(out, cap, &pos, "*", 1);
        } else {
            for (size_t k = 0; k < n;) {
                if (pidlen && n - k >= pidlen && memcmp(p + k, s->pid, pidlen) == 0) {
                    put(out, cap, &pos, "*", 1);
                    k += pidlen;
                } else {
                    unsigned char u = (unsigned char)p[k];
                    char c = u < 0x20 || u == 0x7f ? '?' : p[k];
                    put(out, cap, &pos, &c, 1);
                    k++;
                }
            }
        }
        if (!e)
            break;
        put(out, cap, &pos, "/", 1);
        p = e + 1;
        level++;
    }
    out[pos] = '\0';
    return out;
}

/* Count one problem at s->path (level @level, a folder when @is_dir) and keep an example. */
static void problem(struct scan *s, int level, int is_dir, const char *reason_ja,
                    const char *reason_en)
{
    int hide = level < 3 ? level + (is_dir != 0) : 3; /* levels 0-2 are prefix/prefix/pid */
    struct example *e;

    s->problems++;
    if (s->nex == MAX_EXAMPLES)
        return;
    e = &s->ex[s->nex++];
    redact(s, e->path, sizeof(e->path), hide < 0 ? 0 : (size_t)hide);
    snprintf(e->reason, sizeof(e->reason), "%s",
             s->ctx->json ? reason_en : CLI_T(s->ctx, reason_ja, reason_en));
}

/* Draw the progress line on stderr once the scan has run for a second. */
static void progress(struct scan *s)
{
    struct timespec now;

    if (++s->entries % PROGRESS_EVERY != 0 || !s->ctx->tty || s->ctx->json || s->ctx->quiet)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - s->start.tv_sec < 1)
        return;
    fprintf(stderr, "\r%s %llu", CLI_T(s->ctx, "走査中… ファイル数", "scanning… files"), s->files);
    s->progress_shown = 1;
}

/* qsort comparator: byte order of two C strings. */
static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* OUT: *names (NUL-separated in @buf) and *count: the entries of @d but "." and "..". */
static int list_dir(DIR *d, mm_buf *buf, const char ***names, size_t *count)
{
    struct dirent *de;
    const char **v = NULL;
    size_t n = 0, off = 0;
    int err;

    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de)
            break;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if ((err = mm_buf_put(buf, de->d_name, strlen(de->d_name) + 1)) < 0)
            return err;
        n++;
    }
    if (errno)
        return mm_error_set_errno(MM_EIO, errno, "cannot list folder");
    if (n && !(v = mm_calloc(n, sizeof(*v))))
        return MM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        v[i] = buf->ptr + off;
        off += strlen(v[i]) + 1;
    }
    qsort(v, n, sizeof(*v), cmp_names);
    *names = v;
    *count = n;
    return 0;
}

/*
 * Count one message file at s->path (level LEVEL_FILE) by type and flag, and its fields,
 * or a problem. @return 0, MM_ENOMEM
 */
static int visit_file(struct scan *s)
{
    char path[MM_LIMIT_PATH];
    struct mm_ssmix2_name nm;
    const struct mm_ssmix2_type *t;
    int n, err;

    if (mm_ssmix2_check_path(&nm, s->path) < 0) {
        problem(s, LEVEL_FILE, 0, mm_error_last(), mm_error_last());
        return 0;
    }
    t = mm_ssmix2_type_find(nm.type);
    assert(t != NULL);
    s->counts[t - s->types][nm.flag]++;
    n = snprintf(path, sizeof(path), "%s/%s", s->root, s->path);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        s->unreadable++;
        return 0;
    }
    err = mm_ssmix2_count_fields(path, &nm, &s->fields[t - s->types]);
    if (err == 1)
        s->unreadable++;
    return err < 0 ? err : 0;
}

/* Walk the folder @fd (owned: closed here) at @level; s->path names it. */
static int walk(struct scan *s, int fd, int level)
{
    DIR *d = NULL;
    mm_buf names;
    const char **v = NULL;
    size_t n = 0, base = s->pathlen;
    int err = 0;

    mm_buf_init(&names, DIR_NAMES_LIMIT);
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        problem(s, level - 1, 1, "フォルダを読めません", "cannot read folder");
        goto out;
    }
    err = list_dir(d, &names, &v, &n);
    if (err == MM_EIO || err == MM_ELIMIT) {
        problem(s, level - 1, 1, "フォルダの一覧を読めません", "cannot list folder");
        err = 0;
        goto out;
    }
    if (err < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]);
        struct stat st;

        if (base + (level ? 1 : 0) + len >= sizeof(s->path)) {
            s->path[base] = '\0'; /* report the folder, not the previous entry */
            problem(s, level - 1, 1, "パスが長すぎます", "path too long");
            continue;
        }
        if (level)
            s->path[base] = '/';
        memcpy(s->path + base + (level ? 1 : 0), v[i], len + 1);
        s->pathlen = base + (level ? 1 : 0) + len;
        progress(s);
        if (fstatat(dirfd(d), v[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT) /* gone since the listing: renamed by a live writer */
                problem(s, level, 0, "情報を読めません", "cannot stat");
        } else if (S_ISDIR(st.st_mode) && level < LEVEL_FILE) {
            int cfd = openat(dirfd(d), v[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

            if (level == 2) {
                s->patients++;
                memcpy(s->pid, v[i], len + 1);
            }
            if (cfd < 0)
                problem(s, level, 1, "フォルダを読めません", "cannot read folder");
            else if ((err = walk(s, cfd, level + 1)) < 0)
                goto out;
            if (level == 2)
                s->pid[0] = '\0';
        } else if (S_ISDIR(st.st_mode)) {
            problem(s, level, 1, "データ種別フォルダ内のフォルダ",
                    "folder inside a data type folder");
        } else if (S_ISREG(st.st_mode)) {
            s->files++;
            s->bytes += (unsigned long long)st.st_size;
            if (level == LEVEL_FILE) {
                if ((err = visit_file(s)) < 0)
                    goto out;
            } else
                problem(s, level, 0, "データ種別フォルダの外のファイル",
                        "file outside a data type folder");
        } else {
            problem(s, level, 0, "通常のファイルでもフォルダでもありません",
                    "not a regular file or folder");
        }
    }
out:
    s->path[base] = '\0';
    s->pathlen = base;
    mm_free(v);
    mm_buf_release(&names);
    if (d)
        closedir(d);
    return err;
}

/* Write @s as a JSON string: escapes, and U+FFFD for bytes that are not UTF-8. */
static void json_str(FILE *f, const char *str)
{
    cli_json_str(f, str, strlen(str));
}

/* OUT: *sum, the field counts of every data type. */
static void field_sum(const struct scan *s, struct mm_ssmix2_field_counts *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (size_t i = 0; i < s->ntypes; i++) {
        sum->read += s->fields[i].read;
        sum->plumbing += s->fields[i].plumbing;
        sum->raw += s->fields[i].raw;
        sum->dropped += s->fields[i].dropped;
    }
}

/* The "fields" member of the JSON report. */
static void print_json_fields(const struct scan *s)
{
    struct mm_ssmix2_field_counts sum;
    int first = 1;

    field_sum(s, &sum);
    printf("  \"fields\": {\"read\": %zu, \"plumbing\": %zu, \"raw\": %zu, \"dropped\": %zu, "
           "\"unreadable\": %llu, \"dropped_by_type\": {",
           sum.read, sum.plumbing, sum.raw, sum.dropped, s->unreadable);
    for (size_t i = 0; i < s->ntypes; i++) {
        if (!s->fields[i].dropped)
            continue;
        printf("%s\"%s\": %zu", first ? "" : ", ", s->types[i].folder, s->fields[i].dropped);
        first = 0;
    }
    fputs("}},\n", stdout);
}

/* The fields part of the report for people. */
static void print_human_fields(const struct scan *s)
{
    const struct cli_ctx *ctx = s->ctx;
    struct mm_ssmix2_field_counts sum;

    field_sum(s, &sum);
    fputs(CLI_T(ctx, "メッセージの項目（フィールド）:\n", "fields of the messages:\n"), stdout);
    printf("  %s: %zu\n", CLI_T(ctx, "読み取った項目", "read"), sum.read);
    printf("  %s: %zu\n", CLI_T(ctx, "伝送制御の項目", "message plumbing"), sum.plumbing);
    printf("  %s: %zu\n", CLI_T(ctx, "未解釈（原文のまま表示）", "not interpreted (shown raw)"),
           sum.raw);
    printf("  %s: %zu\n", CLI_T(ctx, "表示されずに捨てられた項目", "silently dropped"),
           sum.dropped);
    for (size_t i = 0; i < s->ntypes; i++)
        if (s->fields[i].dropped)
            printf("    %s: %zu\n", s->types[i].folder, s->fields[i].dropped);
    if (s->unreadable)
        printf("  %s: %llu\n",
               CLI_T(ctx, "項目を数えられなかったメッセージ",
                     "messages whose fields could not be counted"),
               s->unreadable);
}

/* Print the report as JSON on stdout. */
static void print_json(const struct scan *s)
{
    int first = 1;

    printf("{\n  \"patients\": %llu,\n  \"files\": %llu,\n  \"bytes\": %llu,\n  \"types\": {",
           s->patients, s->files, s->bytes);
    for (size_t i = 0; i < s->ntypes; i++) {
        const unsigned long long *c = s->counts[i];
        if (!c[0] && !c[1] && !c[2])
            continue;
        printf("%s\n    \"%s\": {\"current\": %llu, \"superseded\": %llu, \"cancelled\": %llu}",
               first ? "" : ",", s->types[i].folder, c[MM_SSMIX2_CURRENT], c[MM_SSMIX2_SUPERSEDED],
               c[MM_SSMIX2_CANCELLED]);
        first = 0;
    }
    printf("%s},\n", first ? "" : "\n  ");
    print_json_fields(s);
    printf("  \"problems\": %llu,\n  \"examples\": [", s->problems);
    for (size_t i = 0; i < s->nex; i++) {
        printf("%s\n    {\"path\": ", i ? "," : "");
        json_str(stdout, s->ex[i].path);
        fputs(", \"reason\": ", stdout);
        json_str(stdout, s->ex[i].reason);
        fputc('}', stdout);
    }
    printf("%s]\n}\n", s->nex ? "\n  " : "");
}

/* Print the report for people on stdout, in the context's language. */
static void print_human(const struct scan *s)
{
    const struct cli_ctx *ctx = s->ctx;

    printf("%s: %llu\n", CLI_T(ctx, "患者数", "patients"), s->patients);
    printf(CLI_T(ctx, "ファイル数: %llu（%llu バイト）\n", "files: %llu (%llu bytes)\n"), s->files,
           s->bytes);
    /* CJK characters are two columns wide: the Japanese header is padded by hand */
    fputs(CLI_T(ctx,
                "データ種別ごとのファイル数:\n"
                "  種別          有効       過去       取消  名称\n",
                "files per data type:\n"
                "  type       current superseded  cancelled  name\n"),
          stdout);
    for (size_t i = 0; i < s->ntypes; i++) {
        const unsigned long long *c = s->counts[i];
        if (!c[0] && !c[1] && !c[2])
            continue;
        printf("  %-7s %10llu %10llu %10llu  %s\n", s->types[i].folder, c[MM_SSMIX2_CURRENT],
               c[MM_SSMIX2_SUPERSEDED], c[MM_SSMIX2_CANCELLED],
               CLI_T(ctx, s->types[i].name_ja, s->types[i].name_en));
    }
    print_human_fields(s);
    printf("%s: %llu\n", CLI_T(ctx, "問題", "problems"), s->problems);
    for (size_t i = 0; i < s->nex; i++)
        printf("  %s\n    %s\n", cli_esc(s->ex[i].path), cli_esc(s->ex[i].reason));
    if (s->problems > s->nex)
        printf(CLI_T(ctx, "  （ほか %llu 件）\n", "  (and %llu more)\n"), s->problems - s->nex);
}

static int run_scan(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "storage", required_argument, NULL, 's' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    char red[MM_LOG_PATH_MAX];
    const char *storage = NULL;
    struct scan *s = NULL;
    int opt, fd, rc = CLI_OK, err;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            storage = optarg;
            break;
        case 'j':
            ctx->json = 1;
            break;
        default:
            return cli_option_error(ctx, &cmd_scan, opt, argv);
        }
    }
    if (optind < argc)
        return cli_usage(ctx, &cmd_scan, CLI_T(ctx, "余分な引数 '%s'", "unexpected argument '%s'"),
                         mm_log_path(red, sizeof(red), argv[optind]));
    if (!storage || !storage[0])
        return cli_usage(ctx, &cmd_scan,
                         CLI_T(ctx, "--storage を指定してください", "--storage is required"));

    fd = open(storage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        cli_error(CLI_T(ctx, "ストレージ '%s' を読めません: %s", "cannot read storage '%s': %s"),
                  mm_log_path(red, sizeof(red), storage), strerror(errno));
        return CLI_ERROR;
    }
    if (!(s = mm_calloc(1, sizeof(*s)))) {
        close(fd);
        return cli_lib_error(MM_ENOMEM);
    }
    s->ctx = ctx;
    s->root = storage;
    s->types = mm_ssmix2_types(&s->ntypes);
    assert(s->ntypes <= MAX_TYPES);
    clock_gettime(CLOCK_MONOTONIC, &s->start);
    err = walk(s, fd, 0); /* fd now owned by walk() */
    if (s->progress_shown)
        fputs("\r\033[K", stderr);
    if (err < 0) {
        rc = cli_lib_error(err);
        goto out;
    }
    if (ctx->json)
        print_json(s);
    else
        print_human(s);
    rc = s->problems ? CLI_ERROR : CLI_OK;
out:
    mm_free(s);
    return rc;
}

const struct cmd cmd_scan = {
    "scan",
    "scan --storage <DIR> [--json]",
    "標準化ストレージを走査し、件数と名前・置き場所の誤りを報告する",
    "count a standardized storage and report misnamed or misplaced files",
    "オプション:\n"
    "   --storage <DIR>   標準化ストレージのルートフォルダ（患者ID先頭3文字のフォルダの親）\n"
    "   --json            結果を JSON で標準出力に出す\n"
    "\n"
    "ストレージを読むだけで、何も書き換えません。患者数・ファイル数・容量と、データ種別ごとの\n"
    "コンディションフラグ 1（有効）/ 2（過去）/ 0（取消）の件数を表示し、名前が規約に合わない\n"
    "ファイルや置き場所の誤ったファイルを、患者IDを伏せて最大 20 件表示します。\n"
    "メッセージの項目（フィールド）を、記録に読み取るもの・伝送制御（臨床的な意味のない\n"
    "もの）・未解釈で原文のまま表示するもの・表示されずに捨てられるものに分けて数えます。\n"
    "捨てられる項目は 0 であるべきで、あればデータ種別ごとに件数を示します。\n"
    "\n"
    "終了コード: 0 問題なし、1 問題あり・ストレージを読めない、2 使い方の誤り\n",
    "options:\n"
    "   --storage <DIR>   root folder of the standardized storage (parent of the\n"
    "                     folders named by the first 3 characters of patient IDs)\n"
    "   --json            print the result as JSON on standard output\n"
    "\n"
    "The storage is only read, never changed. Prints the number of patients, files and\n"
    "bytes, the count of condition flags 1 (current) / 2 (superseded) / 0 (cancelled)\n"
    "per data type, and up to 20 misnamed or misplaced files with patient IDs hidden.\n"
    "Counts the fields of the messages as read into the record, message plumbing (no\n"
    "clinical meaning), not interpreted (shown raw) and silently dropped; dropped\n"
    "should be 0, and any are listed per data type.\n"
    "\n"
    "exit status: 0 no problems, 1 problems found or storage unreadable, 2 usage error\n",
    0,
    run_scan,
};
