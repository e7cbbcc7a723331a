/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Steps 3 and 4 of the drill (drill.c): a private scratch folder (mkdtemp, 0700) below the
 * folder the caller named, its free space against what the generation needs, the restore into
 * <scratch>/data (mm_repo_restore checks every byte against its ID; its temporary sibling
 * stays inside the scratch folder), the second comparison (mm_repo_compare), and the removal
 * of a scratch folder whatever its modes (restored folders may be read-only).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "drill/drill_int.h"
#include "os/os.h"

/* Bytes counted per file and folder on top of the data: block rounding, folder entries. */
#define PER_ENTRY 4096u

/* The private scratch folder: <scratch>/mamori-drill-XXXXXX. @return 0, MM_EIO */
static int make_scratch(struct mm_drill__run *d)
{
    struct mm_drill_result *res = d->res;
    int n = snprintf(res->scratch, sizeof(res->scratch), "%s/mamori-drill-XXXXXX", d->o->scratch);

    if (n < 0 || (size_t)n >= sizeof(res->scratch) - 8) {
        res->scratch[0] = '\0';
        return mm_error_set(MM_ELIMIT, "the scratch folder's path is too long");
    }
    if (!mkdtemp(res->scratch)) {
        int e = errno;
        res->scratch[0] = '\0';
        return mm_error_set_errno(MM_EIO, e, "cannot make a scratch folder in '%s'", d->o->scratch);
    }
    if (chmod(res->scratch, 0700) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot make the scratch folder private");
    snprintf(d->restored, sizeof(d->restored), "%s/data", res->scratch);
    return 0;
}

/* Whether the scratch folder has room for the generation. @return 0, MM_ELIMIT, MM_EIO */
static int check_space(struct mm_drill__run *d)
{
    const struct mm_repo_counts *c = &d->gen.counts;
    uint64_t need = c->bytes + (c->files + c->dirs + c->symlinks) * (uint64_t)PER_ENTRY;
    uint64_t inodes = c->files + c->dirs + c->symlinks;
    struct mm_os_space sp;
    char a[32], b[32];

    if (mm_os_space(d->o->scratch, &sp) < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot tell the free space of '%s'",
                                  d->o->scratch);
    snprintf(a, sizeof(a), "%.1f MiB", (double)need / 1048576.0);
    snprintf(b, sizeof(b), "%.1f MiB", (double)sp.avail / 1048576.0);
    if (sp.avail < need || (sp.files && sp.favail < inodes)) {
        mm_drill__check(d->res, MM_DRILL_CHECK_SPACE, 0,
                        "作業用の場所 '%s' の空きが足りません（必要 %s、空き %s）",
                        "not enough free space in '%s' for the restore (%s needed, %s free)",
                        d->o->scratch, a, b);
        return mm_error_set(MM_ELIMIT,
                            "not enough free space in '%s' for the restore (%s needed, %s free)",
                            d->o->scratch, a, b);
    }
    mm_drill__check(d->res, MM_DRILL_CHECK_SPACE, 1, "必要 %s、空き %s", "%s needed, %s free", a,
                    b);
    return 0;
}

int mm_drill__restore(struct mm_drill__run *d)
{
    struct mm_drill_result *res = d->res;
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_restore_stats st;
    double t;
    int err;

    if ((err = check_space(d)) < 0 || (err = make_scratch(d)) < 0)
        return err;
    memset(&st, 0, sizeof(st));
    ro.threads = d->o->threads;
    ro.mode = MM_REPO_RESTORE_NEW;
    ro.progress = d->o->progress;
    ro.problem = d->o->problem;
    ro.ctx = d->o->ctx;
    t = mm_drill__now();
    if ((err = mm_repo_restore(d->r, d->gen.id, d->restored, &ro, &st)) < 0) {
        if (err != MM_ECORRUPT)
            return err;
        mm_drill__check(res, MM_DRILL_CHECK_RESTORE, 0, "世代のフォルダ構造が壊れています: %s",
                        "the generation's folders are damaged: %s", mm_error_last(),
                        mm_error_last());
        mm_error_clear();
        return 0;
    }
    res->restore_s = mm_drill__now() - t;
    res->files = st.files;
    res->bytes = st.bytes;
    res->damaged = st.damaged;
    res->mib_s = res->restore_s > 0 ? (double)st.bytes / 1048576.0 / res->restore_s : -1;
    if (st.damaged)
        mm_drill__check(res, MM_DRILL_CHECK_RESTORE, 0,
                        "%llu 個のファイルのデータが壊れているか欠けています（パックの損傷）",
                        "%llu files have damaged or missing data (a damaged pack)",
                        (unsigned long long)st.damaged);
    else
        mm_drill__check(res, MM_DRILL_CHECK_RESTORE, 1,
                        "%llu 個のファイル（%.1f MiB）を復元し、全バイトを ID と照合しました",
                        "%llu files (%.1f MiB) restored, every byte checked against its ID",
                        (unsigned long long)st.files, (double)st.bytes / 1048576.0);
    return 0;
}

int mm_drill__compare(struct mm_drill__run *d)
{
    struct mm_drill_result *res = d->res;
    struct mm_repo_compare_opts co = { 0 };
    struct mm_repo_compare_stats *s = &res->compare;
    double t;
    int err;

    if (!res->checks[MM_DRILL_CHECK_RESTORE].run || !d->restored[0])
        return 0;
    co.progress = d->o->progress;
    co.problem = d->o->problem;
    co.ctx = d->o->ctx;
    t = mm_drill__now();
    if ((err = mm_repo_compare(d->r, d->gen.id, d->restored, &co, s)) < 0)
        return err;
    res->compare_s = mm_drill__now() - t;
    if (s->missing || s->extra || s->differ || s->unreadable)
        mm_drill__check(res, MM_DRILL_CHECK_COMPARE, 0,
                        "復元したファイルが世代と一致しません: 欠落 %llu、余分 %llu、相違 %llu、"
                        "読めないフォルダ %llu",
                        "the restored files do not match the generation: %llu missing, %llu "
                        "extra, %llu differ, %llu folders unreadable",
                        (unsigned long long)s->missing, (unsigned long long)s->extra,
                        (unsigned long long)s->differ, (unsigned long long)s->unreadable);
    else
        mm_drill__check(res, MM_DRILL_CHECK_COMPARE, 1,
                        "%llu 個のファイルを読み直し、名前・大きさ・内容のハッシュが世代と一致",
                        "%llu files read back: names, sizes and content hashes match the "
                        "generation",
                        (unsigned long long)s->files);
    return 0;
}
