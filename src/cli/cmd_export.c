/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori export: hand a generation's records over, one patient or all of them, as FHIR R4
 * Bundles (JP Core) and/or CSV tables (mm_export_run). This file parses the arguments, prints
 * progress and the result, and records every exported patient in the audit logs (kind
 * patient-exported, subject the patient, fields format and generation), in batches.
 * Exit codes: 0 done, 1 error, 2 usage, 3 some files were damaged and left out (the rest is
 * exported). No message names a patient.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/error.h"
#include "common/limits.h"
#include "export/export.h"
#include "src/cli/cli_audit.h"
#include "src/cli/cli_repo.h"
#include "src/cli/cmd.h"

#define AUDIT_BATCH 256 /* patient-exported events written together (one fsync per log) */

struct audit_batch {
    struct cli_run run; /* first: the progress and problem callbacks take it */
    struct cli_ctx *ctx;
    mm_repo *r;
    const char *repo;
    const char *gen;
    char *ids[AUDIT_BATCH];
    unsigned int formats[AUDIT_BATCH];
    size_t n;
    uint64_t written;
};

static const char *format_name(unsigned int f)
{
    return (f & MM_EXPORT_FHIR) && (f & MM_EXPORT_CSV) ? "fhir+csv"
           : (f & MM_EXPORT_FHIR)                      ? "fhir"
                                                       : "csv";
}

/* Write the events gathered so far. */
static void audit_flush(struct audit_batch *a)
{
    struct mm_audit_event ev[AUDIT_BATCH];
    struct mm_audit_field f[AUDIT_BATCH][2];

    if (!a->n)
        return;
    memset(ev, 0, sizeof(ev));
    for (size_t i = 0; i < a->n; i++) {
        f[i][0] = (struct mm_audit_field){ "format", format_name(a->formats[i]) };
        f[i][1] = (struct mm_audit_field){ "generation", a->gen };
        ev[i].kind = MM_AUDIT_PATIENT_EXPORTED;
        ev[i].user = mm_repo_user(a->r);
        ev[i].fields = f[i];
        ev[i].nfields = 2;
        ev[i].subject_kind = MM_AUDIT_SUBJECT_PATIENT;
        ev[i].subject = a->ids[i];
    }
    cli_audit_write_n(a->ctx, a->r, a->repo, ev, a->n);
    for (size_t i = 0; i < a->n; i++)
        free(a->ids[i]);
    a->written += a->n;
    a->n = 0;
}

/* mm_export_patient_fn: one event per exported patient. */
static void on_patient(const char *patient, unsigned int formats, void *arg)
{
    struct audit_batch *a = arg;

    if (!(a->ids[a->n] = strdup(patient))) {
        cli_error("%s", CLI_T(a->ctx, "監査ログに記録できませんでした: メモリ不足",
                              "the audit event could not be written: out of memory"));
        return;
    }
    a->formats[a->n++] = formats;
    if (a->n == AUDIT_BATCH)
        audit_flush(a);
}

/* The newest good generation (as show and search pick it), said on stderr when it is not the
 * newest, or the newest when every one is suspect. OUT: @g */
static int default_gen(struct cli_ctx *ctx, mm_repo *r, struct mm_repo_gen *g)
{
    struct mm_repo_gen latest;
    int err = mm_repo_gen_find(r, "good", g);

    if (err == MM_ENOTFOUND && (err = mm_repo_gen_find(r, "latest", g)) == 0) {
        cli_error(CLI_T(ctx,
                        "注意: どの世代も異常の疑い（要注意）と判定されています。最新の世代 %.12s "
                        "をエクスポートしますが、攻撃などで書き換わった内容かもしれません",
                        "warning: every generation is suspect (guard); exporting the newest, "
                        "%.12s, which may hold what an attack left"),
                  g->id);
        return 0;
    }
    if (err < 0)
        return err;
    if (mm_repo_gen_find(r, "latest", &latest) == 0) {
        if (strcmp(latest.id, g->id) != 0)
            cli_error(CLI_T(ctx,
                            "注意: 最新の世代 %.12s は異常の疑い（要注意）のため、最新の正常な世代 "
                            "%.12s をエクスポートします（--generation で選べます）",
                            "note: the newest generation, %.12s, is suspect (guard); exporting "
                            "the newest good one, %.12s (--generation chooses)"),
                      latest.id, g->id);
        mm_repo_gen_release(&latest);
    } else {
        mm_error_clear();
    }
    return 0;
}

static void print_json(const struct cli_run *run, const struct mm_export_stats *st,
                       unsigned int formats, const char *out)
{
    printf("{\"generation\":\"%s\",\"formats\":\"%s\",\"out\":", st->generation,
           format_name(formats));
    cli_json_str(stdout, out, strlen(out));
    printf(",\"patients\":%llu,\"resources\":%llu,\"rows\":%llu,\"unreadable\":%llu,"
           "\"damaged\":%llu,\"problems\":",
           (unsigned long long)st->patients, (unsigned long long)st->resources,
           (unsigned long long)st->rows, (unsigned long long)st->unreadable,
           (unsigned long long)st->damaged);
    cli_problems_json(stdout, &run->probs);
    printf("}\n");
}

static void print_text(const struct cli_ctx *ctx, const struct mm_export_stats *st,
                       unsigned int formats, const char *out)
{
    printf(CLI_T(ctx, "エクスポートしました: 患者 %llu 人（世代 %.12s）→ %s\n",
                 "exported %llu patient(s) (generation %.12s) to %s\n"),
           (unsigned long long)st->patients, st->generation, cli_esc(out));
    if (formats & MM_EXPORT_FHIR)
        printf(CLI_T(ctx, "  FHIR: fhir/ に Bundle %llu 件（リソース %llu 件）\n",
                     "  FHIR: %llu Bundle(s) in fhir/ (%llu resources)\n"),
               (unsigned long long)st->patients, (unsigned long long)st->resources);
    if (formats & MM_EXPORT_CSV)
        printf(CLI_T(ctx, "  CSV: csv/ に %llu 行\n", "  CSV: %llu rows in csv/\n"),
               (unsigned long long)st->rows);
    if (st->unreadable)
        printf(CLI_T(ctx,
                     "  注意: %llu 人の患者は一部のデータを読めませんでした（出力に記載: "
                     "read_failures.csv / OperationOutcome）\n",
                     "  note: part of the data of %llu patient(s) could not be read (said in "
                     "the output: read_failures.csv / OperationOutcome)\n"),
               (unsigned long long)st->unreadable);
    if (st->damaged)
        printf(CLI_T(ctx, "  損傷して除いたファイル: %llu（ほかはエクスポート済み）\n",
                     "  damaged files left out: %llu (the rest is exported)\n"),
               (unsigned long long)st->damaged);
}

static int run_export(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        { "generation", required_argument, NULL, 'g' },
        { "patient", required_argument, NULL, 'P' },
        { "all", no_argument, NULL, 'a' },
        { "fhir", no_argument, NULL, 'F' },
        { "csv", no_argument, NULL, 'C' },
        { "out", required_argument, NULL, 'o' },
        { "facility", required_argument, NULL, 'f' },
        CLI_REPO_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *repo = ctx->repo, *user = NULL, *passfile = NULL, *gen = NULL;
    struct mm_export_opts eo = { 0 };
    struct mm_export_stats st;
    struct audit_batch a;
    struct mm_repo_gen g;
    int opt, all = 0, have_gen = 0, rc, err;
    mm_repo *r = NULL;

    memset(&a, 0, sizeof(a));
    memset(&st, 0, sizeof(st));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_repo_arg(ctx, opt, &repo, &user, &passfile))
            continue;
        switch (opt) {
        case 'g':
            gen = optarg;
            break;
        case 'P':
            eo.patient = optarg;
            break;
        case 'a':
            all = 1;
            break;
        case 'F':
            eo.formats |= MM_EXPORT_FHIR;
            break;
        case 'C':
            eo.formats |= MM_EXPORT_CSV;
            break;
        case 'o':
            eo.out_dir = optarg;
            break;
        case 'f':
            eo.facility = optarg;
            break;
        default:
            return cli_option_error(ctx, &cmd_export, opt, argv);
        }
    }
    if (optind != argc)
        return cli_usage(ctx, &cmd_export, "%s",
                         CLI_T(ctx, "余分な引数があります", "unexpected argument"));
    if (!eo.patient == !all)
        return cli_usage(ctx, &cmd_export, "%s",
                         CLI_T(ctx, "--patient か --all のどちらか一方を指定してください",
                               "give either --patient or --all"));
    if (!eo.formats)
        return cli_usage(ctx, &cmd_export, "%s",
                         CLI_T(ctx, "--fhir と --csv の少なくとも一方を指定してください",
                               "give --fhir, --csv or both"));
    if (!eo.out_dir || !*eo.out_dir)
        return cli_usage(ctx, &cmd_export, "%s",
                         CLI_T(ctx, "--out で出力先フォルダを指定してください",
                               "give the output folder with --out"));
    if (eo.patient &&
        (!*eo.patient || strlen(eo.patient) > MM_LIMIT_PATIENT_ID || strchr(eo.patient, '/') ||
         strcmp(eo.patient, ".") == 0 || strcmp(eo.patient, "..") == 0)) {
        cli_error("%s", CLI_T(ctx, "患者IDの形式が正しくありません", "not a valid patient ID"));
        return CLI_USAGE;
    }
    if ((rc = cli_repo_open(ctx, repo, user, passfile, &r)) != CLI_OK)
        return rc;
    if ((rc = cli_repo_lock_reader(ctx, r)) != CLI_OK)
        goto out;
    memset(&g, 0, sizeof(g));
    err = gen ? mm_repo_gen_find(r, gen, &g) : default_gen(ctx, r, &g);
    if (err == MM_ENOTFOUND) {
        cli_error("%s", CLI_T(ctx, "その世代はありません", "no such generation"));
        rc = CLI_ERROR;
        goto out;
    }
    if (err < 0) {
        rc = cli_repo_error(ctx, err);
        goto out;
    }
    have_gen = 1;
    a.ctx = ctx;
    a.r = r;
    a.repo = repo;
    a.gen = g.id;
    cli_progress_start(&a.run.prog, ctx, CLI_T(ctx, "復元中", "restoring"));
    eo.generation = g.id;
    eo.patient_done = on_patient;
    eo.progress = cli_progress_cb;
    eo.problem = cli_problem_cb;
    eo.ctx = &a;
    err = mm_export_run(r, &eo, &st);
    cli_progress_end(&a.run.prog);
    audit_flush(&a); /* the patients written, also when the export stopped half way */
    if (err < 0) {
        cli_problems_print(ctx, &a.run.probs);
        if (err == MM_ENOTFOUND && eo.patient && strstr(mm_error_last(), "no such patient")) {
            cli_error("%s", CLI_T(ctx, "この患者IDの患者はこの世代にいません",
                                  "no patient with this ID in this generation"));
            rc = CLI_ERROR;
        } else if (err == MM_EEXISTS) {
            cli_error("%s",
                      CLI_T(ctx,
                            "出力先フォルダには以前のエクスポート（fhir/ か csv/）があります。"
                            "空のフォルダか新しいフォルダを指定してください",
                            "the output folder holds an earlier export (fhir/ or csv/); "
                            "give an empty or new folder"));
            rc = CLI_ERROR;
        } else {
            rc = cli_repo_error(ctx, err);
        }
        if (a.written)
            cli_error(CLI_T(ctx, "中止しました。それまでの患者 %llu 人の Bundle は残っています",
                            "stopped; the Bundles of the %llu patient(s) done before stay"),
                      (unsigned long long)a.written);
        goto out;
    }
    if (ctx->json) {
        print_json(&a.run, &st, eo.formats, eo.out_dir);
    } else {
        cli_problems_print(ctx, &a.run.probs);
        print_text(ctx, &st, eo.formats, eo.out_dir);
    }
    /* damaged files left out, or files or patients that could not be read: said above */
    rc = st.damaged || a.run.probs.count ? CLI_DAMAGE : CLI_OK;
out:
    for (size_t i = 0; i < a.n; i++)
        free(a.ids[i]);
    if (have_gen)
        mm_repo_gen_release(&g);
    cli_problems_free(&a.run.probs);
    mm_repo_free(r);
    return rc;
}

const struct cmd cmd_export = {
    "export",
    "export --repo <DIR> [--generation <G>] (--patient <ID> | --all) (--fhir | --csv | both)"
    " --out <DIR> [--json]",
    "患者の記録を FHIR（JP Core）や CSV で書き出す（引き継ぎ用）",
    "write patients' records out as FHIR (JP Core) or CSV (hand-over)",
    "オプション:\n"
    "   --repo <DIR>              リポジトリ（媒体）\n"
    "   --generation <G>          どの世代か（既定: 最新の正常な世代。latest・世代 ID も可）\n"
    "   --patient <ID>            この患者だけ\n"
    "   --all                     世代のすべての患者\n"
    "   --fhir                    FHIR R4 の Bundle を患者ごとに fhir/<患者ID>.json に書く\n"
    "   --csv                     記録の種類ごとの表を csv/ に書く（UTF-8 BOM 付き）\n"
    "   --out <DIR>               出力先（無いか、以前のエクスポートが無いフォルダ）\n"
    "   --facility <CODE>         医療機関コード（10桁。既定: メッセージから）\n"
    "   --user <NAME>             この利用者の鍵スロットで開く（既定: 開けるもの）\n"
    "   --passphrase-file <FILE>  パスフレーズをファイルの1行目から読む\n"
    "   --json                    結果を JSON で出す\n"
    "\n"
    "有効なデータ（取消・更新前のものを除く）だけを書き出します。世代を出力先の中の\n"
    "一時フォルダ（本人だけが読める）に復元して読み、終わると消します。\n"
    "書き出した患者ごとに監査ログに記録します。出力には患者の情報が含まれます。\n"
    "終了コード: 0 成功、1 失敗、2 使い方の誤り、3 損傷・読めないファイルや患者があった\n"
    "（一覧を出し、除いて、ほかは書き出し済み）\n",
    "options:\n"
    "   --repo <DIR>              the repository (medium)\n"
    "   --generation <G>          which generation (default: the newest good one; latest or\n"
    "                             a generation ID)\n"
    "   --patient <ID>            only this patient\n"
    "   --all                     every patient of the generation\n"
    "   --fhir                    write one FHIR R4 Bundle per patient, fhir/<patient ID>.json\n"
    "   --csv                     write a table per record type into csv/ (UTF-8 with a BOM)\n"
    "   --out <DIR>               output folder (missing, or holding no earlier export)\n"
    "   --facility <CODE>         medical institution code (10 digits; default: from the\n"
    "                             messages)\n"
    "   --user <NAME>             open with this user's key slot (default: any that opens)\n"
    "   --passphrase-file <FILE>  read the passphrase from the first line of a file\n"
    "   --json                    print the result as JSON\n"
    "\n"
    "Only current data is written (nothing cancelled or superseded). The generation is\n"
    "restored into a scratch folder inside the output folder (readable by you only), read,\n"
    "and removed. Every patient written is recorded in the audit logs. The output holds\n"
    "patient data.\n"
    "exit status: 0 done, 1 failed, 2 usage error, 3 some files or patients were damaged or\n"
    "unreadable (listed and left out; the rest is written)\n",
    CMD_NEEDS_REPO | CMD_NEEDS_KEY,
    run_export,
};
