/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 vault step of `mamori run` (docs/operations.md "S3 vault"): once the day's window
 * has written and verified the medium, the medium's repository is copied into
 * <[vault] url>/<repository ID>/ — the same generations, keys and manifests, only what the
 * vault lacks (repo_vault.h) — while the medium is still attached, so the vault holds the
 * very generation the medium holds. A vault that fails never harms the medium's generation:
 * the cycle says "needs attention", the alert hook runs, the next window sends what is
 * missing. A store that did not prove its Object Lock is used but reported "not immutable".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/cycle_int.h"
#include "common/error.h"
#include "common/log.h"
#include "repo/repo_backend.h"
#include "repo/repo_vault.h"

/* The store's settings from [vault], for the S3 backend (which reads them like the service's
 * environment: MAMORI_S3_CREDENTIALS, MAMORI_S3_RETAIN_DAYS, MAMORI_S3_LOCK_MODE). The cycle
 * is single-threaded here. */
static void vault_env(const struct mm_config_vault *v)
{
    char days[32];

    if (v->credentials)
        setenv("MAMORI_S3_CREDENTIALS", v->credentials, 1);
    snprintf(days, sizeof(days), "%lld", (long long)((v->retain + 86399) / 86400));
    setenv("MAMORI_S3_RETAIN_DAYS", days, 1);
    setenv("MAMORI_S3_LOCK_MODE", v->governance ? "GOVERNANCE" : "COMPLIANCE", 1);
}

static void vault_fail(struct cyc *c, int err, const char *what)
{
    struct mm_cycle_result *r = c->res;

    snprintf(r->vault, sizeof(r->vault), "failed");
    snprintf(r->vault_reason, sizeof(r->vault_reason), "%s: %s", what, mm_error_last());
    (void)err;
    if (r->exit == MM_BACKUP_EXIT_OK)
        r->exit = MM_BACKUP_EXIT_ATTENTION;
    if (!r->reason[0])
        snprintf(r->reason, sizeof(r->reason), "S3 vault copy failed");
}

void mm_backup__cycle_vault(struct cyc *c)
{
    const struct mm_config_vault *v = mm_config_vault(c->cfg);
    struct mm_cycle_result *r = c->res;
    struct mm_repo_vault_stats st;
    struct mm_repo_be *be = NULL;
    char where[sizeof(r->vault_where)];
    int64_t until;
    int err;

    r->vault_immutable = -1;
    if (!v->url)
        return;
    if (!r->window[0] || r->stage != MM_CYCLE_STAGE_NONE || !c->r) {
        snprintf(r->vault, sizeof(r->vault), "skipped");
        return;
    }
    if (snprintf(where, sizeof(where), "%s/%s", v->url, mm_repo_id(c->r)) >= (int)sizeof(where)) {
        vault_fail(c, MM_ELIMIT, "the vault URL is too long");
        return;
    }
    snprintf(r->vault_where, sizeof(r->vault_where), "%s", where);
    vault_env(v);
    if ((err = mm_repo_be_open(&be, where, 1)) < 0) {
        vault_fail(c, err, "cannot open the vault");
        return;
    }
    r->vault_immutable = be->info.immutable;
    if (!be->info.immutable) {
        snprintf(r->vault_reason, sizeof(r->vault_reason), "not immutable: %s",
                 be->info.why_not[0] ? be->info.why_not : "the store has no Object Lock");
        mm_log(MM_LOG_WARN, "S3 vault is NOT immutable: %s", r->vault_reason);
    }
    until = be->info.immutable ? (int64_t)time(NULL) + v->retain : 0;
    err = mm_repo_vault_copy(c->m->path, be, until, &st);
    r->vault_files = st.files;
    r->vault_bytes = st.bytes;
    r->vault_generations = st.generations;
    r->vault_extended = st.extended;
    if (err < 0) {
        vault_fail(c, err, "vault copy failed");
    } else {
        snprintf(r->vault, sizeof(r->vault), "ok");
        r->vault_retain_until = until;
        if (!be->info.immutable && r->exit == MM_BACKUP_EXIT_OK)
            r->exit = MM_BACKUP_EXIT_ATTENTION;
    }
    be->ops->close(be);
}

int mm_backup__vault_alert(const struct mm_cycle_result *r)
{
    return strcmp(r->vault, "failed") == 0 || (r->vault[0] && r->vault_immutable == 0);
}
