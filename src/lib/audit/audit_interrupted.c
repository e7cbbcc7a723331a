/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interrupted writers in the audit logs (audit.h): a backup or prune killed while it held the
 * repository's exclusive lock leaves that lock; whoever takes a lock next finds it stale and
 * keeps it as a marker (mm_repo_lock_for), and the next writer records each marker as an
 * `interrupted` event in the medium's and the host's log, then removes it. The event holds
 * what the lock held — operation, key slot, host, process ID, start time — never patient data.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "common/alloc.h"
#include "common/error.h"

/* The event of @it (fields point into @it and @buf). */
static void event_of(const struct mm_repo_interrupted *it, const char *found_by,
                     struct mm_audit_fields *b, char started[32])
{
    time_t t = (time_t)it->start;
    struct tm tm;

    if (it->start > 0 && gmtime_r(&t, &tm))
        strftime(started, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(started, 32, "unknown");
    mm_audit_fields_add(b, "op", it->op[0] ? it->op : "unknown");
    mm_audit_fields_add(b, "user", it->user[0] ? it->user : "unknown");
    mm_audit_fields_add(b, "host", it->host);
    mm_audit_fields_addu(b, "pid", (unsigned long long)(it->pid > 0 ? it->pid : 0));
    mm_audit_fields_add(b, "started", started);
    mm_audit_fields_add(b, "found_by", found_by);
}

int mm_audit_record_interrupted(mm_repo *r, const char *repo, const char *host_dir,
                                const char *found_by, mm_audit_interrupted_fn cb, void *arg)
{
    struct mm_repo_interrupted *v = NULL;
    size_t n = 0;
    int err;

    if ((err = mm_repo_interrupted(r, &v, &n)) < 0)
        return err;
    for (size_t i = 0; i < n; i++) {
        struct mm_audit_write_report rep;
        struct mm_audit_fields b = { 0 };
        struct mm_audit_event ev = { 0 };
        char started[32];
        int ok;

        event_of(&v[i], found_by, &b, started);
        ev.kind = MM_AUDIT_INTERRUPTED;
        ev.fields = b.f;
        ev.nfields = b.n;
        ev.subject_kind = MM_AUDIT_SUBJECT_NONE;
        memset(&rep, 0, sizeof(rep));
        ok = mm_audit_repo_write_n(r, repo, host_dir, &ev, 1, &rep) == 0;
        if (rep.medium_ok) /* the medium holds it: the marker's work is done */
            mm_repo_interrupted_clear(r, v[i].name);
        mm_error_clear();
        if (cb)
            cb(&v[i], ok, &rep, arg);
    }
    mm_free(v);
    return (int)n;
}
