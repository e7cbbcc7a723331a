/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The restore drill (drill.h), step by step as a reader follows it: 1. pick the generation and
 * check the repository head; 2. time to a usable viewer (drill_viewer.c); 3. restore into a
 * private scratch folder and 4. compare it again (drill_restore.c); 5. the sampled patients
 * (drill_viewer.c); 6. the RPO of each source; 7. remove the scratch copy, always. The
 * result's record (struct mm_status_drill) is filled last. No message names a patient.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "drill/drill_int.h"
#include "os/os.h"

static const char *const check_names[MM_DRILL_CHECKS] = {
    "generation", "head", "viewer", "space", "restore", "compare", "patients", "records", "cleanup",
};

double mm_drill__now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void mm_drill__check(struct mm_drill_result *res, enum mm_drill_check_id id, int ok, const char *ja,
                     const char *en, ...)
{
    struct mm_drill_check *c = &res->checks[id];
    va_list ap;

    c->run = 1;
    c->ok = ok;
    va_start(ap, en);
    vsnprintf(c->detail_en, sizeof(c->detail_en), en, ap);
    va_end(ap);
    va_start(ap, en);
    vsnprintf(c->detail_ja, sizeof(c->detail_ja), ja, ap);
    va_end(ap);
}

/* Step 1: the generation asked for. @return 0, MM_ENOTFOUND (named), MM_EINVAL, ... */
static int pick_generation(struct mm_drill__run *d)
{
    const char *spec = d->o->generation ? d->o->generation : "good";
    struct mm_drill_result *res = d->res;
    int err;

    if ((err = mm_repo_gen_find(d->r, spec, &d->gen)) < 0) {
        if (err == MM_ENOTFOUND)
            err = mm_error_set(MM_ENOTFOUND, "no generation '%s' in the repository", spec);
        mm_drill__check(res, MM_DRILL_CHECK_GENERATION, 0, "世代 '%s' が見つかりません",
                        "no generation '%s'", spec);
        return err;
    }
    d->have_gen = 1;
    snprintf(res->generation, sizeof(res->generation), "%s", d->gen.id);
    snprintf(res->guard, sizeof(res->guard), "%s", d->gen.guard ? d->gen.guard : "none");
    res->gen_time_ns = d->gen.start_ns;
    res->guard_accepted = d->gen.guard_accepted;
    res->verified = (int)d->gen.verify;
    mm_drill__check(res, MM_DRILL_CHECK_GENERATION, 1, "世代 %.12s（%s）を開きました",
                    "generation %.12s (%s) opened", d->gen.id, spec);
    return 0;
}

/* Step 1b: the repository head (as verify checks it). @return 0, MM_EIO, MM_ENOMEM */
static int check_head(struct mm_drill__run *d)
{
    struct mm_repo_head_report rep;
    int err;

    memset(&rep, 0, sizeof(rep));
    if ((err = mm_repo_head_check(d->r, d->o->host_dir, &rep)) < 0)
        return err;
    if (rep.nmissing)
        mm_drill__check(d->res, MM_DRILL_CHECK_HEAD, 0,
                        "リポジトリヘッドにある世代 %zu 個が媒体にありません（削除）",
                        "%zu generations the repository head lists are gone (deleted)",
                        rep.nmissing);
    else if (mm_repo_head_report_bad(&rep))
        mm_drill__check(d->res, MM_DRILL_CHECK_HEAD, 0,
                        "リポジトリヘッドが巻き戻しまたは監査ログの削除・切り詰めを示しています",
                        "the repository head shows a rollback or a deleted or cut audit log");
    else
        mm_drill__check(d->res, MM_DRILL_CHECK_HEAD, 1,
                        rep.has_head ? "削除・巻き戻しなし" : "ヘッドなし（以前の形式）",
                        rep.has_head ? "nothing deleted or rolled back"
                                     : "no head (an older repository)");
    mm_repo_head_report_release(&rep);
    return 0;
}

/* Whether @g holds a source at @path. */
static int holds_source(const struct mm_repo_gen *g, const char *path)
{
    for (size_t i = 0; i < g->nsources; i++)
        if (strcmp(g->sources[i].path, path) == 0)
            return 1;
    return 0;
}

/* Step 6: per source of the generation, the age of the newest clean, verified one. */
static int rpo(struct mm_drill__run *d)
{
    struct mm_drill_result *res = d->res;
    struct mm_repo_gen *all = NULL;
    size_t n = 0;
    int err;

    if ((err = mm_repo_generations(d->r, &all, &n)) < 0)
        return err;
    if (!(res->rpo = mm_calloc(d->gen.nsources ? d->gen.nsources : 1, sizeof(*res->rpo)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    res->rpo_s = 0;
    for (size_t s = 0; s < d->gen.nsources; s++) {
        struct mm_drill_rpo *p = &res->rpo[res->nrpo++];
        p->name = mm_strdup(d->gen.sources[s].name);
        p->path = mm_strdup(d->gen.sources[s].path);
        p->age_s = -1;
        for (size_t i = n; i-- > 0 && p->age_s < 0;) {
            const struct mm_repo_gen *g = &all[i];
            if (!g->guard || strcmp(g->guard, "clean") != 0 || g->verify != MM_REPO_VERIFIED ||
                !holds_source(g, d->gen.sources[s].path))
                continue;
            p->age_s = res->at - g->start_ns / 1000000000;
            if (p->age_s < 0)
                p->age_s = 0;
            snprintf(p->generation, sizeof(p->generation), "%s", g->id);
        }
        if (!p->name || !p->path) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
            goto out;
        }
        if (p->age_s < 0 || res->rpo_s < 0)
            res->rpo_s = -1;
        else if (p->age_s > res->rpo_s)
            res->rpo_s = p->age_s;
    }
    if (res->nrpo == 0)
        res->rpo_s = -1;
out:
    mm_repo_gens_free(all, n);
    return err;
}

/* Step 7: remove the scratch copy (always). */
static void cleanup(struct mm_drill__run *d)
{
    struct mm_drill_result *res = d->res;
    double t = mm_drill__now();

    if (!res->scratch[0]) {
        res->cleaned = 1;
        return;
    }
    if (mm_os_rmtree(res->scratch) == 0) {
        res->cleaned = 1;
        res->cleanup_s = mm_drill__now() - t;
        mm_drill__check(res, MM_DRILL_CHECK_CLEANUP, 1, "作業用フォルダを削除しました",
                        "the scratch folder is removed");
    } else {
        mm_drill__check(res, MM_DRILL_CHECK_CLEANUP, 0,
                        "作業用フォルダを削除できません（患者データが残っています）: %s",
                        "the scratch folder cannot be removed (patient data is left there): %s",
                        res->scratch, res->scratch);
        mm_error_clear();
    }
}

/* The verdict and the record for drills.jsonl. */
static void conclude(struct mm_drill__run *d, int err)
{
    struct mm_drill_result *res = d->res;
    struct mm_status_drill *rec = &res->record;
    const struct mm_drill_check *bad = NULL;

    res->total_s = res->checks[MM_DRILL_CHECK_GENERATION].run
                           ? d->o->unlock_s + (mm_drill__now() - d->t0)
                           : -1;
    res->ok = err == 0;
    for (size_t i = 0; i < MM_DRILL_CHECKS; i++) {
        const struct mm_drill_check *c = &res->checks[i];
        if (c->run && !c->ok && !bad)
            bad = c;
    }
    if (bad)
        res->ok = 0;
    /* damage: what the medium holds is not what was backed up (not: no room, no cleanup) */
    res->damage = err == 0 && bad && bad != &res->checks[MM_DRILL_CHECK_CLEANUP];
    snprintf(rec->kind, sizeof(rec->kind), "full");
    rec->at = res->at;
    snprintf(rec->repo_id, sizeof(rec->repo_id), "%s", res->repo_id);
    snprintf(rec->generation, sizeof(rec->generation), "%s", res->generation);
    snprintf(rec->result, sizeof(rec->result), "%s", res->ok ? "ok" : "failed");
    if (bad)
        snprintf(rec->reason, sizeof(rec->reason), "%.12s: %.170s", bad->name, bad->detail_en);
    else if (err < 0)
        snprintf(rec->reason, sizeof(rec->reason), "%s", mm_error_name(err));
    rec->viewer_s = res->viewer_s;
    rec->restore_s = res->restore_s >= 0 && res->compare_s >= 0 ? res->restore_s + res->compare_s
                                                                : res->restore_s;
    rec->total_s = res->total_s;
    rec->files = res->files;
    rec->bytes = res->bytes;
    rec->mib_s = res->mib_s;
    rec->rpo_s = res->rpo_s;
    rec->patients = res->patients;
    rec->patients_failed = res->patients_failed;
}

/* Steps 2 to 6 on the generation found; the first error that stops the drill. */
static int steps(struct mm_drill__run *d)
{
    double t;
    int err;

    if ((err = check_head(d)) < 0)
        return err;
    if (d->o->step)
        d->o->step(MM_DRILL_STEP_VIEWER, d->o->ctx);
    if ((err = mm_drill__viewer(d)) < 0 || (err = rpo(d)) < 0)
        return err;
    if (d->o->step)
        d->o->step(MM_DRILL_STEP_RESTORE, d->o->ctx);
    if ((err = mm_drill__restore(d)) < 0)
        return err;
    if (d->o->step)
        d->o->step(MM_DRILL_STEP_COMPARE, d->o->ctx);
    if ((err = mm_drill__compare(d)) < 0)
        return err;
    if (d->o->step)
        d->o->step(MM_DRILL_STEP_PATIENTS, d->o->ctx);
    t = mm_drill__now();
    if ((err = mm_drill__patients(d)) == 0 && d->ix)
        d->res->patients_s = mm_drill__now() - t;
    return err;
}

int mm_drill_run(mm_repo *r, const struct mm_drill_opts *o, struct mm_drill_result *out)
{
    struct mm_drill__run d;
    int err;

    MM_ASSERT_ARG(r && o && o->scratch && out);
    memset(out, 0, sizeof(*out));
    memset(&d, 0, sizeof(d));
    d.r = r;
    d.o = o;
    d.res = out;
    d.t0 = mm_drill__now();
    mm_buf_init(&d.ids, MM_LIMIT_JSON);
    for (size_t i = 0; i < MM_DRILL_CHECKS; i++)
        out->checks[i].name = check_names[i];
    out->viewer_s = out->restore_s = out->compare_s = out->total_s = out->mib_s = -1;
    out->patients_s = out->cleanup_s = -1;
    out->rpo_s = -1;
    out->at = o->now ? o->now : (int64_t)time(NULL) - (int64_t)o->unlock_s;
    snprintf(out->repo_id, sizeof(out->repo_id), "%s", mm_repo_id(r));
    snprintf(out->user, sizeof(out->user), "%s", mm_repo_user(r));
    if ((err = pick_generation(&d)) == 0)
        err = steps(&d);
    mm_index_free(d.ix);
    mm_repo_pages_free(d.pages);
    if (d.o->step && out->scratch[0])
        d.o->step(MM_DRILL_STEP_CLEANUP, d.o->ctx);
    {
        /* the first error's message survives the cleanup */
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", mm_error_last());
        cleanup(&d);
        if (err < 0)
            mm_error_set(err, "%s", msg);
    }
    conclude(&d, err);
    mm_buf_release(&d.ids);
    if (d.have_gen)
        mm_repo_gen_release(&d.gen);
    return err;
}

void mm_drill_result_release(struct mm_drill_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->nrpo; i++) {
        mm_free(res->rpo[i].name);
        mm_free(res->rpo[i].path);
    }
    mm_free(res->rpo);
    res->rpo = NULL;
    res->nrpo = 0;
}
