/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The repository head in a daily cycle's window (cycle_int.h, issue 17.1): the medium's head
 * is checked before the window delivers what was staged (lost evidence refuses the window,
 * deleted generations are recorded and make the night's exit status 4), and a new head is
 * written before the window retires generations, without them, so they are not reported as
 * deleted (a crash before their removal leaves them present and unlisted: information). Backups on
 * the medium itself check in mm_backup_run().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/cycle_int.h"
#include "common/error.h"

void mm_backup__retired(struct cyc *c, const char *hex)
{
    if (c->nretired_ids == c->capretired_ids) {
        size_t cap = c->capretired_ids ? 2 * c->capretired_ids : 16;
        void *v = realloc(c->retired_ids, cap * MM_CRYPTO_ID_SIZE);
        if (!v)
            return; /* the next head then lists it as deleted: reported, never silent */
        c->retired_ids = v;
        c->capretired_ids = cap;
    }
    if (mm_crypto_hex_parse(hex, c->retired_ids[c->nretired_ids]) == 0)
        c->nretired_ids++;
}

/* Record the findings of @rep in the medium's log (an `evidence-lost` event), with a head. */
static void record(struct cyc *c, const struct mm_repo_head_report *rep)
{
    struct mm_repo_head_write_opts ho = { 0 };
    struct mm_audit_write_report wr;
    struct mm_audit_event ev = { 0 };
    struct mm_audit_fields b = { 0 };
    char buf[4096];

    mm_audit_head_fields(rep, &b, buf, sizeof(buf));
    mm_audit_fields_add(&b, "accepted", "0");
    ev.kind = MM_AUDIT_EVIDENCE_LOST;
    ev.fields = b.f;
    ev.nfields = b.n;
    ho.host_dir = c->o->audit_host_dir;
    if (mm_audit_repo_write_head(c->r, c->m->path, c->o->audit_host_dir, &ev, 1, &ho, &wr) != 0 &&
        c->o->note) {
        struct mm_backup_note note = { MM_BACKUP_NOTE_AUDIT, 0, NULL, &wr, NULL };
        c->o->note(&note, c->o->arg);
    }
}

int mm_backup__window_head_check(struct cyc *c)
{
    struct mm_repo_head_report rep;
    int err = mm_repo_head_check(c->r, c->o->audit_host_dir, &rep);

    if (err < 0)
        return mm_backup__cycle_fail(c, MM_CYCLE_STAGE_COPY, err, "repository head unreadable");
    if (rep.audit_deleted || rep.audit_truncated || rep.audit_rolled || rep.rollback ||
        rep.forked || (rep.copies.damaged && !rep.has_head)) {
        mm_repo_head_report_release(&rep);
        mm_backup__cycle_fail(c, MM_CYCLE_STAGE_COPY, MM_ECORRUPT,
                              "repository head shows lost evidence: mamori verify, then "
                              "backup --accept-loss");
        c->res->exit = MM_BACKUP_EXIT_EVIDENCE;
        return -1;
    }
    if (rep.nmissing) {
        record(c, &rep);
        c->res->exit = MM_BACKUP_EXIT_ATTENTION;
        snprintf(c->res->reason, sizeof(c->res->reason), "generation deleted from the medium");
    }
    mm_repo_head_report_release(&rep);
    mm_error_clear();
    return 0;
}

void mm_backup__window_head_write(struct cyc *c)
{
    struct mm_repo_head_write_opts ho = { 0 };

    ho.host_dir = c->o->audit_host_dir;
    ho.forget = (const unsigned char(*)[MM_CRYPTO_ID_SIZE])c->retired_ids;
    ho.nforget = c->nretired_ids;
    if (c->r && mm_repo_head_write(c->r, &ho, NULL) < 0 && c->o->note) {
        struct mm_audit_write_report wr = { 0 };
        struct mm_backup_note note = { MM_BACKUP_NOTE_AUDIT, 0, NULL, &wr, NULL };
        wr.medium_ok = 1;
        wr.head_failed = 1;
        snprintf(wr.head_msg, sizeof(wr.head_msg), "%s", mm_error_last());
        c->o->note(&note, c->o->arg);
    }
    mm_error_clear();
}
