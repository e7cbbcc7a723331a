/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit logs of an open repository (audit.h): the medium's log <repo>/audit/audit.log
 * (details sealed with the repository's keys, since a medium can be lost) and the host's log
 * <host folder>/<repository ID>.log (details in the clear, 0600 in a 0700 folder, like the
 * patient index cache). A repository opened with a host credential (mm_repo_open_host) writes
 * version 2 records, signed by its writer key and sealed to the reader key, as user
 * "host:<name>". Shared by the command line and the library's backup pipeline, so every
 * caller records the same events the same way. Failures are reported, never fatal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/error.h"

/* A user name in a record: up to 64 bytes ("host:" and a certified name are cut there). */
#define USER_CAP 65u

int mm_audit_repo_id(const char *hex, unsigned char out[MM_AUDIT_REPO_ID_SIZE])
{
    if (!hex || strlen(hex) != 2 * MM_AUDIT_REPO_ID_SIZE)
        return -1;
    for (size_t i = 0; i < MM_AUDIT_REPO_ID_SIZE; i++) {
        unsigned int v = 0;
        for (size_t k = 0; k < 2; k++) {
            char c = hex[2 * i + k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return -1;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

int mm_audit_medium_base(const char *repo, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s/%s", repo, MM_AUDIT_REPO_DIR, MM_AUDIT_REPO_BASE);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int mm_audit_host_base(const char *dir, const char *id, char *out, size_t cap)
{
    int n;

    if (!dir)
        return -1;
    n = snprintf(out, cap, "%s/%s", dir, id);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int mm_audit_repo_write_n(mm_repo *r, const char *repo, const char *host_dir,
                          const struct mm_audit_event *evs, size_t n,
                          struct mm_audit_write_report *rep)
{
    char base[4200], user[USER_CAP];
    unsigned char id[MM_AUDIT_REPO_ID_SIZE];
    struct mm_audit_event *e = calloc(n ? n : 1, sizeof(*e));
    struct mm_audit_target t = { 0 };

    memset(rep, 0, sizeof(*rep));
    if (!e) {
        rep->nomem = 1;
        return 1;
    }
    /* a host credential's events are the host's: "host:<its certified name>" */
    snprintf(user, sizeof(user), "%s%s", mm_keyset_is_host(mm_repo_keyset(r)) ? "host:" : "",
             mm_repo_user(r));
    for (size_t i = 0; i < n; i++) {
        e[i] = evs[i];
        if (!e[i].user)
            e[i].user = user;
    }
    if (mm_audit_repo_id(mm_repo_id(r), id) < 0)
        goto out;
    t.repo_id = id;
    t.ks = mm_repo_keyset(r);
    if (mm_audit_medium_base(repo, base, sizeof(base)) == 0) {
        t.base = base;
        t.store = MM_AUDIT_SEALED;
        if (mm_audit_append_n(&t, e, n, NULL) == 0) {
            rep->medium_ok = 1;
        } else {
            rep->medium_failed = 1;
            snprintf(rep->medium_msg, sizeof(rep->medium_msg), "%s", mm_error_last());
        }
    }
    if (mm_audit_host_base(host_dir, mm_repo_id(r), base, sizeof(base)) < 0) {
        rep->no_host = 1;
        goto out;
    }
    t.base = base;
    t.store = MM_AUDIT_CLEAR;
    if (mm_audit_append_n(&t, e, n, NULL) < 0) {
        rep->host_failed = 1;
        snprintf(rep->host_msg, sizeof(rep->host_msg), "%s", mm_error_last());
    }
out:
    free(e);
    return rep->nomem || rep->medium_failed || rep->no_host || rep->host_failed;
}

void mm_audit_fields_add(struct mm_audit_fields *b, const char *key, const char *value)
{
    if (b && b->n < MM_AUDIT_BUILD_MAX && value) {
        b->f[b->n].key = key;
        b->f[b->n].value = value;
        b->n++;
    }
}

void mm_audit_fields_addu(struct mm_audit_fields *b, const char *key, unsigned long long v)
{
    if (b && b->n < MM_AUDIT_BUILD_MAX) {
        snprintf(b->num[b->n], sizeof(b->num[b->n]), "%llu", v);
        mm_audit_fields_add(b, key, b->num[b->n]);
    }
}
