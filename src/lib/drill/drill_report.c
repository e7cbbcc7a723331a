/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The drill's report (drill.h): one standalone HTML document an auditor files — inline CSS,
 * no script, no external request, A4 portrait when printed; Japanese by default, English on
 * request. Sections: the verdict, the drill (who, where, when, which generation), the RTO and
 * RPO figures, every check with its result, and a signature block. Every value goes through
 * mm_drill_html_escape; the result holds no patient data, so neither does the report.
 */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "drill/drill_int.h"
#include "viewer/viewer.h"

#define T(lang, ja, en) ((lang) == MM_DRILL_EN ? (en) : (ja))

static const char css[] =
        "@page{size:A4;margin:15mm}"
        "body{font-family:'Noto Sans CJK JP','Hiragino Sans','Yu Gothic',sans-serif;"
        "font-size:10.5pt;color:#111;max-width:180mm;margin:0 auto;padding:8mm 0}"
        "h1{font-size:18pt;text-align:center;margin:0 0 4mm}"
        "h2{font-size:12pt;border-bottom:1px solid #444;margin:6mm 0 2mm;padding-bottom:1mm}"
        "table{border-collapse:collapse;width:100%}"
        "th,td{border:1px solid #888;padding:1.2mm 2mm;text-align:left;vertical-align:top}"
        "th{background:#eee;font-weight:600;width:38%}"
        "td.num{text-align:right;font-variant-numeric:tabular-nums}"
        ".verdict{font-size:14pt;font-weight:700;text-align:center;padding:3mm;"
        "border:2px solid;margin:4mm 0}"
        ".pass{color:#0a5c1f;border-color:#0a5c1f}.fail{color:#a40000;border-color:#a40000}"
        ".ok{color:#0a5c1f;font-weight:700}.ng{color:#a40000;font-weight:700}"
        ".skip{color:#666}"
        ".sign td{height:14mm}.sign th{width:25%}"
        ".note{font-size:9pt;color:#444}"
        "@media print{body{padding:0}h2{break-after:avoid}tr{break-inside:avoid}}";

int mm_drill_html_escape(mm_buf *out, const char *s)
{
    int err = 0;

    for (const char *p = s ? s : ""; *p && err == 0; p++) {
        switch (*p) {
        case '&':
            err = mm_buf_puts(out, "&amp;");
            break;
        case '<':
            err = mm_buf_puts(out, "&lt;");
            break;
        case '>':
            err = mm_buf_puts(out, "&gt;");
            break;
        case '"':
            err = mm_buf_puts(out, "&quot;");
            break;
        case '\'':
            err = mm_buf_puts(out, "&#39;");
            break;
        default:
            err = mm_buf_putc(out, *p);
        }
    }
    return err;
}

/* A table row: header @th, value @v (escaped; NULL or "": "-"), right-aligned when @num. */
static void row(mm_buf *b, const char *th, const char *v, int num)
{
    mm_buf_puts(b, "<tr><th>");
    mm_drill_html_escape(b, th);
    mm_buf_puts(b, num ? "</th><td class=\"num\">" : "</th><td>");
    mm_drill_html_escape(b, v && *v ? v : "-");
    mm_buf_puts(b, "</td></tr>\n");
}

/* Seconds as "12.34 秒" / "12.34 s", "-" when not measured. */
static const char *secs(double s, enum mm_drill_lang lang, char out[48])
{
    if (s < 0)
        snprintf(out, 48, "-");
    else
        snprintf(out, 48, "%.2f %s", s, T(lang, "秒", "s"));
    return out;
}

/* An age in seconds as "2 日 3 時間 4 分" / "2 d 3 h 4 min"; -1: none. */
static const char *age(int64_t s, enum mm_drill_lang lang, char out[64])
{
    if (s < 0) {
        snprintf(out, 64, "%s",
                 T(lang, "なし（検証済みでクリーンな世代がない）",
                   "none (no clean, verified generation)"));
        return out;
    }
    snprintf(out, 64, T(lang, "%lld 日 %lld 時間 %lld 分", "%lld d %lld h %lld min"),
             (long long)(s / 86400), (long long)(s % 86400 / 3600), (long long)(s % 3600 / 60));
    return out;
}

/* The drill: who, where, when, which generation. */
static void sec_drill(mm_buf *b, const struct mm_drill_result *res,
                      const struct mm_drill_report_info *in, enum mm_drill_lang lang)
{
    char when[48], gt[48], guard[64];

    mm_viewer_local_time(res->at * 1000000000, when);
    mm_viewer_local_time(res->gen_time_ns, gt);
    snprintf(guard, sizeof(guard), "%s%s", res->guard,
             res->guard_accepted ? T(lang, "（承認済み）", " (accepted)") : "");
    mm_buf_printf(b, "<h2>%s</h2>\n<table>\n", T(lang, "実施内容", "The drill"));
    row(b, T(lang, "病院", "Hospital"), in ? in->hospital : NULL, 0);
    row(b, T(lang, "媒体", "Medium"), in ? in->medium : NULL, 0);
    row(b, T(lang, "リポジトリ ID", "Repository ID"), res->repo_id, 0);
    row(b, T(lang, "リポジトリの場所", "Repository path"), in ? in->repo : NULL, 0);
    row(b, T(lang, "世代 ID", "Generation ID"), res->generation, 0);
    row(b, T(lang, "世代の日時（バックアップ開始）", "Generation time (backup start)"),
        res->generation[0] ? gt : NULL, 0);
    row(b, T(lang, "ガードの判定", "Guard verdict"), res->generation[0] ? guard : NULL, 0);
    row(b, T(lang, "実施者（鍵スロット）", "Run by (key slot)"), res->user, 0);
    row(b, T(lang, "実施した PC", "Host"), in ? in->host : NULL, 0);
    row(b, T(lang, "実施日時", "Date and time"), when, 0);
    row(b, T(lang, "mamori のバージョン", "mamori version"), in ? in->version : NULL, 0);
    mm_buf_puts(b, "</table>\n");
}

/* The RTO and RPO figures. */
static void sec_figures(mm_buf *b, const struct mm_drill_result *res, enum mm_drill_lang lang)
{
    char v[96], a[64];

    mm_buf_printf(b, "<h2>%s</h2>\n<table>\n",
                  T(lang, "目標復旧時間（RTO）の実測", "RTO measured"));
    row(b, T(lang, "閲覧可能までの時間", "Time to a usable viewer"), secs(res->viewer_s, lang, v),
        1);
    row(b, T(lang, "全復元時間", "Full restore time"), secs(res->restore_s, lang, v), 1);
    row(b, T(lang, "再照合の時間", "Second check time"), secs(res->compare_s, lang, v), 1);
    row(b, T(lang, "患者の読み出しの時間", "Reading the patients"), secs(res->patients_s, lang, v),
        1);
    row(b, T(lang, "後片付けの時間", "Removing the scratch copy"), secs(res->cleanup_s, lang, v),
        1);
    if (res->mib_s >= 0)
        snprintf(v, sizeof(v), "%.1f MiB/%s", res->mib_s, T(lang, "秒", "s"));
    else
        snprintf(v, sizeof(v), "-");
    row(b, T(lang, "転送速度", "Throughput"), v, 1);
    row(b, T(lang, "訓練全体の時間", "Whole drill"), secs(res->total_s, lang, v), 1);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)res->files);
    row(b, T(lang, "復元したファイル", "Files restored"), v, 1);
    snprintf(v, sizeof(v), "%.1f MiB", (double)res->bytes / 1048576.0);
    row(b, T(lang, "復元したデータ量", "Bytes restored"), v, 1);
    snprintf(v, sizeof(v),
             T(lang, "%llu 人（うち失敗 %llu 人、インデックスの患者 %llu 人）",
               "%llu (%llu failed; %llu patients in the index)"),
             (unsigned long long)res->patients, (unsigned long long)res->patients_failed,
             (unsigned long long)res->patients_total);
    row(b, T(lang, "確認した患者", "Patients read"), v, 1);
    mm_buf_puts(b, "</table>\n");
    mm_buf_printf(b, "<h2>%s</h2>\n<table>\n",
                  T(lang, "目標復旧時点（RPO）: ソースごと", "RPO per source"));
    mm_buf_printf(b, "<tr><th>%s</th><td><strong>%s</strong></td></tr>\n",
                  T(lang, "ソース", "Source"),
                  T(lang, "最新のクリーンで検証済みの世代の経過時間",
                    "age of the newest clean, verified generation"));
    for (size_t i = 0; i < res->nrpo; i++) {
        snprintf(v, sizeof(v), "%s (%s)", res->rpo[i].name, res->rpo[i].path);
        row(b, v, age(res->rpo[i].age_s, lang, a), 1);
    }
    if (res->nrpo == 0)
        row(b, "-", "-", 0);
    mm_buf_puts(b, "</table>\n");
}

/* Every check with its result. */
static void sec_checks(mm_buf *b, const struct mm_drill_result *res, enum mm_drill_lang lang)
{
    static const char *const ja[MM_DRILL_CHECKS] = {
        "世代",     "リポジトリヘッド",   "閲覧（ビューア）", "空き容量",
        "復元",     "再照合（ハッシュ）", "患者の読み出し",   "インデックスとデータの一致",
        "後片付け",
    };
    static const char *const en[MM_DRILL_CHECKS] = {
        "Generation", "Repository head",       "Viewer",        "Free space",
        "Restore",    "Second check (hashes)", "Patients read", "Index matches data",
        "Cleanup",
    };

    mm_buf_printf(b, "<h2>%s</h2>\n<table class=\"checks\">\n", T(lang, "確認項目", "Checks"));
    for (size_t i = 0; i < MM_DRILL_CHECKS; i++) {
        const struct mm_drill_check *c = &res->checks[i];
        const char *cls = !c->run ? "skip" : c->ok ? "ok" : "ng";
        const char *word = !c->run ? T(lang, "未実施", "not run")
                           : c->ok ? T(lang, "合格", "PASS")
                                   : T(lang, "不合格", "FAIL");
        mm_buf_puts(b, "<tr><th>");
        mm_drill_html_escape(b, T(lang, ja[i], en[i]));
        mm_buf_printf(b, "</th><td><span class=\"%s\">%s</span> ", cls, word);
        mm_drill_html_escape(b, lang == MM_DRILL_EN ? c->detail_en : c->detail_ja);
        mm_buf_puts(b, "</td></tr>\n");
    }
    mm_buf_puts(b, "</table>\n");
}

/* The signature block. */
static void sec_sign(mm_buf *b, enum mm_drill_lang lang)
{
    mm_buf_printf(b,
                  "<h2>%s</h2>\n<table class=\"sign\">\n"
                  "<tr><th>%s</th><td></td></tr>\n<tr><th>%s</th><td></td></tr>\n"
                  "<tr><th>%s</th><td></td></tr>\n<tr><th>%s</th><td></td></tr>\n</table>\n"
                  "<p class=\"note\">%s</p>\n",
                  T(lang, "確認欄", "Review"), T(lang, "監査者 氏名", "Auditor's name"),
                  T(lang, "監査者 署名", "Auditor's signature"), T(lang, "確認日", "Date"),
                  T(lang, "実施者 署名", "Signature of who ran it"),
                  T(lang,
                    "この報告書は mamori drill が作成しました。患者の氏名や ID は含みません。"
                    "作業用の復元コピーは訓練の終わりに削除されています（後片付けの項目）。",
                    "Written by mamori drill. It names no patient. The scratch copy of the "
                    "restore was removed at the end of the drill (see Cleanup)."));
}

/* The report is written into a buffer reserved whole up front (REPORT_MAX): no append can
 * then fail for memory, and one that passes the limit leaves len near it (checked at the end). */
#define REPORT_MAX (1024u * 1024u)

int mm_drill_report_html(const struct mm_drill_result *res, const struct mm_drill_report_info *info,
                         enum mm_drill_lang lang, mm_buf *out)
{
    const char *title = T(lang, "復元訓練報告書", "Restore drill report");
    mm_buf b;
    int err;

    mm_buf_init(&b, REPORT_MAX);
    if ((err = mm_buf_reserve(&b, REPORT_MAX)) < 0)
        return err;
    mm_buf_printf(&b,
                  "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                  "style-src 'unsafe-inline'\">\n<title>%s</title>\n<style>%s</style>\n</head>\n"
                  "<body>\n<h1>%s</h1>\n",
                  T(lang, "ja", "en"), title, css, title);
    mm_buf_printf(&b, "<div class=\"verdict %s\">%s: %s</div>\n", res->ok ? "pass" : "fail",
                  T(lang, "総合判定", "Overall verdict"),
                  res->ok ? T(lang, "合格", "PASS") : T(lang, "不合格", "FAIL"));
    sec_drill(&b, res, info, lang);
    sec_figures(&b, res, lang);
    sec_checks(&b, res, lang);
    sec_sign(&b, lang);
    err = mm_buf_puts(&b, "</body>\n</html>\n");
    if (err == 0 && b.len + 4096 >= REPORT_MAX)
        err = mm_error_set(MM_ELIMIT, "the drill report is too long");
    if (err == 0)
        err = mm_buf_put(out, b.ptr, b.len);
    mm_buf_release(&b);
    return err;
}
