/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reason lines in plain words: each stored line is "<code> <arguments>" (counts, shares
 * 0..1, a generation's first 12 hex digits); each code has one Japanese and one English
 * sentence with {1} {2} where the arguments go (counts with thousands separators, shares as
 * percentages). A line whose code is unknown, or whose arguments do not fit, is shown as
 * stored, so a newer mamori's reasons still read. No allocation; safe from any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard.h"

static const struct say {
    const char *code;
    const char *args; /* one letter per argument: n count, p share, g generation */
    const char *ja, *en;
} says[] = {
    { "ssmix2-rewritten", "nn",
      "SS-MIX2 のメッセージファイル {1} 件（全 {2} 件中）がその場で書き換えられました（規格では書き換えは起きません）",
      "{1} SS-MIX2 message files (of {2}) were rewritten in place (the standard never rewrites a message file)" },
    { "ssmix2-not-hl7", "nn",
      "SS-MIX2 のメッセージファイル {1} 件（全 {2} 件中）が HL7 のメッセージとして読めなくなっています",
      "{1} SS-MIX2 message files (of {2}) no longer read as HL7 messages" },
    { "ssmix2-foreign-name", "nn",
      "SS-MIX2 の命名規則に合わない名前のファイルが {1} 件（全 {2} 件中）現れました",
      "{1} files (of {2}) appeared with names outside the SS-MIX2 naming rules" },
    { "ransom-note", "n", "ランサムウェアの脅迫文によくある名前のファイルが {1} 件現れました",
      "{1} files appeared with names that ransom notes use" },
    { "ransom-ext", "n", "ランサムウェアが付ける拡張子のファイルが {1} 件現れました",
      "{1} files appeared with extensions that ransomware appends" },
    { "high-entropy", "nn",
      "テキストのはずのファイル {1} 件（調べた {2} 件中）の中身が、暗号化されたような乱雑なデータです",
      "{1} files that should be text (of {2} examined) hold random, encrypted-looking data" },
    { "type-mismatch", "nn",
      "画像・PDF・圧縮ファイルなど {1} 件（調べた {2} 件中）が、その形式の始まり方をしておらず乱雑なデータです",
      "{1} image, PDF or archive files (of {2} examined) no longer start as their format and hold random data" },
    { "modified-share", "pp",
      "書き換えられたファイルの割合 {1} が、この取り込み元の上限 {2} に達しました",
      "the share of files changed, {1}, reached this source's bound of {2}" },
    { "deleted-share", "pp",
      "削除されたファイルの割合 {1} が、この取り込み元の上限 {2} に達しました",
      "the share of files deleted, {1}, reached this source's bound of {2}" },
    { "added-share", "pp", "追加されたファイルの割合 {1} が、この取り込み元の上限 {2} に達しました",
      "the share of files added, {1}, reached this source's bound of {2}" },
    { "canary-changed", "n", "おとりファイル {1} 件が書き換えられました",
      "{1} canary files were changed" },
    { "canary-gone", "n", "おとりファイル {1} 件が削除されたか名前を変えられました",
      "{1} canary files were deleted or renamed" },
    { "canary-unwritable", "n",
      "取り込み元 {1} か所は書き込めないため、おとりファイルを置けませんでした（読み取り専用。異常ではありません）",
      "{1} sources cannot be written, so no canary file could be planted there (read-only; not a fault)" },
    { "guard-off", "n", "取り込み元 {1} か所は検知の対象外です（設定 guard = off）",
      "{1} sources are not judged (guard = off)" },
    { "history-damaged", "", "検知の履歴ファイルが壊れていたため、既定のしきい値で判定しました",
      "the guard's history file was damaged, so the built-in thresholds were used" },
    { "standing", "g",
      "世代 {1} が異常の疑いのまま承認されていないため、この実行も疑いとします（最後の正常な世代と比べています）",
      "generation {1} is a suspect not yet accepted, so this run is suspect too (judged against the last clean generation)" },
    { "standing-unreadable", "", "未承認の疑い世代の一覧が読めないため、この実行を疑いとします",
      "the list of standing suspects cannot be read, so this run is suspect" },
};

/* Format argument @a of kind @k into @out. @return 0, or -1 when it does not fit the kind */
static int format_arg(char k, const char *a, char *out, size_t cap)
{
    char *end;
    size_t n, i, o = 0, lead;

    if (k == 'g') {
        for (n = 0; a[n]; n++)
            if (!((a[n] >= '0' && a[n] <= '9') || (a[n] >= 'a' && a[n] <= 'f')))
                return -1;
        return n && n <= 64 && snprintf(out, cap, "%s", a) < (int)cap ? 0 : -1;
    }
    if (k == 'p') {
        double v = strtod(a, &end);
        if (end == a || *end || !(v >= 0) || v > 1e6)
            return -1;
        snprintf(out, cap, "%.2f %%", v * 100.0);
        return 0;
    }
    n = strlen(a);
    if (!n || n > 20 || a[strspn(a, "0123456789")])
        return -1;
    lead = n % 3 ? n % 3 : 3;
    for (i = 0; i < n && o + 2 < cap; i++) {
        if (i && i >= lead && (i - lead) % 3 == 0)
            out[o++] = ',';
        out[o++] = a[i];
    }
    out[o] = 0;
    return 0;
}

/* Append @s (@n bytes) to @out (@cap) at *@o, truncating. */
static void put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (*o + 1 >= cap)
        return;
    if (n > cap - 1 - *o) {
        n = cap - 1 - *o;
        while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* never half a UTF-8 character */
    }
    memcpy(out + *o, s, n);
    *o += n;
    out[*o] = 0;
}

/* Render the line @line (NUL-terminated, no newline). @return 0, or -1 when unknown */
static int say_line(char *line, int ja, char *out, size_t cap, size_t *o)
{
    char *tok[4], arg[3][80], *p = line;
    const char *t;
    size_t nt = 0, i, nargs;

    /* cut at single spaces: the stored form has no other white space */
    while (*p) {
        if (nt == 4)
            return -1;
        tok[nt++] = p;
        while (*p && *p != ' ')
            p++;
        if (*p)
            *p++ = 0;
    }
    if (!nt)
        return -1;
    for (i = 0; i < sizeof(says) / sizeof(says[0]); i++) {
        if (strcmp(tok[0], says[i].code))
            continue;
        nargs = strlen(says[i].args);
        if (nargs != nt - 1)
            return -1;
        for (size_t a = 0; a < nargs; a++)
            if (!tok[a + 1][0] ||
                format_arg(says[i].args[a], tok[a + 1], arg[a], sizeof(arg[a])) < 0)
                return -1;
        for (t = ja ? says[i].ja : says[i].en; *t; t++) {
            if (t[0] == '{' && t[1] >= '1' && t[1] <= '3' && t[2] == '}' &&
                (size_t)(t[1] - '1') < nargs) {
                put(out, cap, o, arg[t[1] - '1'], strlen(arg[t[1] - '1']));
                t += 2;
            } else {
                put(out, cap, o, t, 1);
            }
        }
        return 0;
    }
    return -1;
}

void mm_guard_reasons_say(const char *reasons, int ja, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = reasons, *nl;

    if (!out || !cap)
        return;
    out[0] = 0;
    while (p && *p) {
        char line[256];
        size_t n, start = o;
        nl = strchr(p, '\n');
        n = nl ? (size_t)(nl - p) : strlen(p);
        if (n && n < sizeof(line)) {
            memcpy(line, p, n);
            line[n] = 0;
            if (say_line(line, ja, out, cap, &o) < 0) {
                o = start;
                out[o] = 0;
                put(out, cap, &o, p, n);
            }
        } else if (n) {
            put(out, cap, &o, p, n);
        }
        if (n)
            put(out, cap, &o, "\n", 1);
        p = nl ? nl + 1 : NULL;
    }
}
