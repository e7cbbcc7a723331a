/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guard's verdict on the command line (cli_verdict.h).
 */
#include "src/cli/cli_verdict.h"

#include <string.h>

#include "guard/guard.h"

#define SAY_MAX 8192 /* the words of all reasons of one verdict */

const char *cli_verdict_word(const struct cli_ctx *ctx, const char *guard)
{
    if (guard && strcmp(guard, "suspect") == 0)
        return CLI_T(ctx, "要注意", "SUSPECT");
    if (guard && strcmp(guard, "clean") == 0)
        return CLI_T(ctx, "正常", "clean");
    return CLI_T(ctx, "判定なし", "not judged");
}

/* The generation to accept for a verdict whose only reasons are "standing <gen>" (suspect
 * only because that one stands): <gen>; else @id. */
static const char *to_accept(const char *id, const char *reasons, char *buf, size_t cap)
{
    const char *first = NULL;

    for (const char *p = reasons; p && *p;) {
        size_t n = strcspn(p, "\n");
        if (n && strncmp(p, "standing", 8) != 0)
            return id; /* its own evidence */
        if (!first && n > 9 && strncmp(p, "standing ", 9) == 0)
            first = p + 9;
        p += n + (p[n] == '\n');
    }
    if (!first)
        return id;
    snprintf(buf, cap, "%.*s", (int)strcspn(first, " \n"), first);
    return buf;
}

void cli_verdict_suspect(const struct cli_ctx *ctx, FILE *f, const char *id, const char *repo,
                         const char *reasons)
{
    char say[SAY_MAX], gen[80];

    fprintf(f,
            CLI_T(ctx,
                  "mamori: ⚠ 要注意: 世代 %.12s はランサムウェアなどによる異常な変更の疑いがあります"
                  "（世代は証拠として書き込み済み）\n",
                  "mamori: ⚠ SUSPECT: generation %.12s looks like an abnormal change set "
                  "(ransomware?); it is written, as evidence\n"),
            id);
    mm_guard_reasons_say(reasons, ctx->lang != CLI_LANG_EN, say, sizeof(say));
    for (const char *p = say; *p;) {
        size_t n = strcspn(p, "\n");
        if (n)
            fprintf(f, "mamori:   - %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    fprintf(f,
            CLI_T(ctx,
                  "mamori: 確認されるまで古い世代はどの媒体でも消されず、次の実行も要注意になります。"
                  "人が確認してください。誤検知なら: mamori guard accept %.12s --repo %s\n",
                  "mamori: until it is accepted no older generation is removed on any medium and "
                  "later runs are suspect too. A person must look; a false alarm: mamori guard "
                  "accept %.12s --repo %s\n"),
            to_accept(id, reasons, gen, sizeof(gen)), repo ? repo : "<DIR>");
}

/* @s as a JSON string (the reasons and their words: no control characters but none). */
static void jstr(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void cli_verdict_json(const struct cli_ctx *ctx, FILE *f, const char *guard, const char *reasons)
{
    int first = 1;

    fputs("\"guard\":", f);
    jstr(f, guard ? guard : "none", strlen(guard ? guard : "none"));
    fputs(",\"guard_reasons\":[", f);
    for (const char *p = reasons; p && *p;) {
        size_t n = strcspn(p, "\n");
        if (n) {
            char line[512], say[1024];
            snprintf(line, sizeof(line), "%.*s", (int)n, p);
            mm_guard_reasons_say(line, ctx->lang != CLI_LANG_EN, say, sizeof(say));
            say[strcspn(say, "\n")] = '\0';
            fprintf(f, "%s{\"code\":", first ? "" : ",");
            jstr(f, line, strcspn(line, " "));
            fputs(",\"line\":", f);
            jstr(f, line, strlen(line));
            fputs(",\"text\":", f);
            jstr(f, say, strlen(say));
            fputc('}', f);
            first = 0;
        }
        p += n + (p[n] == '\n');
    }
    fputc(']', f);
}
