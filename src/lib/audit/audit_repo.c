/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit logs of an open repository (audit.h): the medium's log <repo>/audit/audit.log
 * (details sealed with the repository's keys, since a medium can be lost) and the host's log
 * <host folder>/<repository ID>.log (details in the clear, 0600 in a 0700 folder, like the
 * patient index cache). A repository opened with a host credential (mm_repo_open_host) writes
 * version 2 records, signed by its writer key and sealed to the reader key, as user
 * "host:<name>". Shared by the command line and the library's backup pipeline, so every
 * caller records the same events the same way. Failures are reported, never fatal.
 * A repository on an object store (no local folder: repo_backend.h) has its medium log
 * appended in a private copy under the host folder and written back whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "repo/repo_backend.h"

#define STAGE_FILES 2 /* the log, then its head: each replaced whole on the store */
#define STAGE_REL   MM_AUDIT_REPO_DIR "/" MM_AUDIT_REPO_BASE
static const char *const stage_rel[STAGE_FILES] = { STAGE_REL MM_AUDIT_LOG_SUFFIX,
                                                    STAGE_REL MM_AUDIT_HEAD_SUFFIX };
static const char *const stage_ext[STAGE_FILES] = { MM_AUDIT_LOG_SUFFIX, MM_AUDIT_HEAD_SUFFIX };

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

/* Copy the file @rel of @be to @path (@get) or @path to @rel (REPLACE). A file missing on
 * either side is left missing on the other. @return 0, MM_EIO, MM_ELIMIT, MM_ENOMEM */
static int stage_copy(struct mm_repo_be *be, const char *rel, const char *path, int get)
{
    mm_buf b;
    int err;

    mm_buf_init(&b, MM_LIMIT_AUDIT_LOG);
    err = get ? be->ops->read(be, rel, &b) : mm_os_read_file(path, &b);
    if (err == 0)
        err = get ? mm_os_write_atomic(path, b.ptr ? b.ptr : "", b.len)
                  : be->ops->write(be, rel, b.ptr, b.len, MM_REPO_BE_REPLACE);
    else if (err == MM_ENOTFOUND) {
        mm_error_clear();
        err = 0;
    }
    mm_buf_release(&b);
    return err;
}

/*
 * The medium's log of a repository that is no local folder (an object store: no flock, no
 * appends): its log and head are copied into a private folder under @host_dir, appended
 * there as on a medium, and written back whole (REPLACE: the log, then the head), flushed.
 * Writers hold the repository lock; two readers appending at once may lose one's events.
 * TODO(20): an append-only layout (one object per batch) instead of rewriting the log.
 */
static int append_staged(mm_repo *r, const char *host_dir, struct mm_audit_target *t,
                         const struct mm_audit_event *e, size_t n)
{
    struct mm_repo_be *be = mm_repo_backend(r);
    char dir[4096], base[4200], path[4300];
    int err = 0, made = 0;

    if (!host_dir || snprintf(dir, sizeof(dir), "%s/.medium-%s-%ld", host_dir, mm_repo_id(r),
                              (long)getpid()) >= (int)sizeof(dir))
        return mm_error_set(MM_EINVAL, "the audit log of '%s' needs a host folder to be written",
                            be->where);
    if ((err = mm_os_mkdir_p(dir, 0700)) < 0)
        return err;
    snprintf(base, sizeof(base), "%s/%s", dir, MM_AUDIT_REPO_BASE);
    for (int i = 0; i < STAGE_FILES && err == 0; i++) {
        snprintf(path, sizeof(path), "%s%s", base, stage_ext[i]);
        (void)unlink(path); /* left by a run that was killed */
        err = stage_copy(be, stage_rel[i], path, 1);
    }
    t->base = base;
    if (err == 0 && (err = mm_audit_append_n(t, e, n, NULL)) == 0)
        made = 1;
    for (int i = 0; i < STAGE_FILES; i++) {
        snprintf(path, sizeof(path), "%s%s", base, stage_ext[i]);
        if (err == 0 && made)
            err = stage_copy(be, stage_rel[i], path, 0);
        if (err == 0 && made)
            err = be->ops->flush(be); /* the log is stored before the head that seals it */
        (void)unlink(path);
    }
    (void)rmdir(dir);
    t->base = NULL;
    return err;
}

/* The repository head after the medium's log was written (a failure is reported). */
static void write_head(mm_repo *r, const char *host_dir, const struct mm_repo_head_write_opts *ho,
                       struct mm_audit_write_report *rep)
{
    struct mm_repo_head_write_opts o = *ho;

    if (!o.host_dir)
        o.host_dir = host_dir;
    if (mm_repo_head_write(r, &o, NULL) < 0) {
        rep->head_failed = 1;
        snprintf(rep->head_msg, sizeof(rep->head_msg), "%s", mm_error_last());
    }
}

/* Both logs, then the head with @ho unless NULL. */
static int write_any(mm_repo *r, const char *repo, const char *host_dir,
                     const struct mm_audit_event *evs, size_t n,
                     const struct mm_repo_head_write_opts *ho, struct mm_audit_write_report *rep)
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
    if (ho && !ho->restart && mm_repo_head_audit_gone(r, ho->host_dir ? ho->host_dir : host_dir)) {
        /* never begin a new log silently where the head says one was (issue 17.1) */
        rep->medium_failed = 1;
        snprintf(rep->medium_msg, sizeof(rep->medium_msg),
                 "the audit log the repository head records is gone; a new one is begun only "
                 "by backup --accept-loss");
    } else if (!mm_repo_be_local_path(mm_repo_backend(r)) ||
               mm_audit_medium_base(repo, base, sizeof(base)) == 0) {
        int err;
        t.base = base;
        t.store = MM_AUDIT_SEALED;
        if (!mm_repo_be_local_path(mm_repo_backend(r)))
            err = append_staged(r, host_dir, &t, e, n);
        else
            err = mm_audit_append_n(&t, e, n, NULL);
        if (err == 0) {
            rep->medium_ok = 1;
            if (ho)
                write_head(r, host_dir, ho, rep);
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
    return rep->nomem || rep->medium_failed || rep->no_host || rep->host_failed || rep->head_failed;
}

int mm_audit_repo_write_n(mm_repo *r, const char *repo, const char *host_dir,
                          const struct mm_audit_event *evs, size_t n,
                          struct mm_audit_write_report *rep)
{
    return write_any(r, repo, host_dir, evs, n, NULL, rep);
}

int mm_audit_repo_write_head(mm_repo *r, const char *repo, const char *host_dir,
                             const struct mm_audit_event *evs, size_t n,
                             const struct mm_repo_head_write_opts *ho,
                             struct mm_audit_write_report *rep)
{
    static const struct mm_repo_head_write_opts none = { 0 };

    return write_any(r, repo, host_dir, evs, n, ho ? ho : &none, rep);
}

int mm_audit_log_has(const mm_audit_log *l, uint64_t seq, const unsigned char h[MM_CRYPTO_ID_SIZE])
{
    for (size_t i = 0; i < mm_audit_log_count(l); i++) {
        const struct mm_audit_record *rec = mm_audit_log_record(l, i);
        if (rec->seq == seq)
            return memcmp(rec->hash, h, MM_CRYPTO_ID_SIZE) == 0 ? 1 : -1;
    }
    return 0;
}

/* Append ",<hex>" of each of the @n IDs @v to @buf (as many as fit). OUT: @buf */
static void ids_into(const unsigned char (*v)[MM_CRYPTO_ID_SIZE], size_t n, char *buf, size_t cap)
{
    size_t at = strlen(buf);

    for (size_t i = 0; i < n && at + MM_CRYPTO_HEX_SIZE + 1 < cap; i++) {
        if (at)
            buf[at++] = ',';
        mm_crypto_hex(v[i], buf + at);
        at += MM_CRYPTO_HEX_SIZE - 1;
    }
}

void mm_audit_head_fields(const struct mm_repo_head_report *rep, struct mm_audit_fields *b,
                          char *buf, size_t cap)
{
    const char *what = rep->audit_deleted     ? "audit-log-deleted"
                       : rep->audit_truncated ? "audit-log-truncated"
                       : rep->audit_rolled    ? "audit-log-rolled-back"
                       : rep->rollback        ? "rollback"
                       : rep->forked          ? "forked"
                       : rep->nmissing        ? "generation-deleted"
                                              : "head-damaged";
    char *hash = buf, *gens;

    if (cap < 2 * MM_CRYPTO_HEX_SIZE + 2)
        return;
    mm_crypto_hex(rep->audit_h, hash);
    gens = buf + MM_CRYPTO_HEX_SIZE;
    gens[0] = '\0';
    ids_into((const unsigned char(*)[MM_CRYPTO_ID_SIZE])rep->missing, rep->nmissing, gens,
             cap - MM_CRYPTO_HEX_SIZE);
    mm_audit_fields_add(b, "problem", what);
    mm_audit_fields_addu(b, "head_seq", rep->seq);
    mm_audit_fields_addu(b, "host_seq", rep->host_seq);
    mm_audit_fields_addu(b, "audit_seq", rep->audit_seq);
    mm_audit_fields_add(b, "audit_hash", hash);
    mm_audit_fields_addu(b, "audit_length", rep->audit_len);
    mm_audit_fields_addu(b, "audit_length_now", rep->audit_len_now);
    mm_audit_fields_addu(b, "generations_missing", rep->nmissing);
    if (rep->nmissing)
        mm_audit_fields_add(b, "generations", gens);
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
