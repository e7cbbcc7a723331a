/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 backend's lock proof and retention. Some S3 front ends accept Object Lock headers
 * and ignore them, so the bucket's word is not taken: the bucket must say lock and versioning
 * are Enabled AND a test object "lockproof/<32 hex>" written with a COMPLIANCE retention of
 * one day must survive a delete by version (with and without the bypass-governance header)
 * and read back that retention (GET ?retention and HEAD). Only then is the handle immutable;
 * otherwise it never sends a lock header or a retention request (a store that lies about
 * retention may do worse with them: OpenStack Swift's s3api overwrites data). Proof objects
 * whose retention ended are deleted by later write opens. Retention of ONCE objects is
 * extended (never shortened) before a generation that needs them longer is recorded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "repo/repo_s3_int.h"

#define PROOF_DIR  "lockproof/"
#define PROOF_SECS 86400
#define SKEW_SECS  2

/* Record the verdict "not immutable because @why". @return 0 */
static int not_immutable(struct s3be *h, const char *why)
{
    h->be.info.immutable = 0;
    h->be.info.lock_mode[0] = '\0';
    h->be.info.retain_days = 0;
    snprintf(h->be.info.why_not, sizeof(h->be.info.why_not), "%s", why);
    mm_log(MM_LOG_WARN, "%s: not immutable: %s", h->where, why);
    return 0;
}

/* The bucket's own word: lock configuration and versioning. OUT: *@ok. */
static int bucket_says(struct s3be *h, int *ok)
{
    enum mm_s3_lock_mode dmode;
    unsigned ddays;
    int lock = 0, vers = 0, err;

    *ok = 0;
    if ((err = mm_s3_lock_config(h->s3, &lock, &dmode, &ddays)) < 0)
        return err;
    if (!lock)
        return not_immutable(h, "the bucket has no Object Lock");
    if ((err = mm_s3_versioning(h->s3, &vers)) < 0)
        return err;
    if (!vers)
        return not_immutable(h, "the bucket's versioning is not enabled");
    *ok = 1;
    return 0;
}

/* Whether the retention read back (@mode, @until) is what was asked for (@want). */
static int retention_kept(enum mm_s3_lock_mode mode, int64_t until, int64_t want)
{
    return mode == MM_S3_LOCK_COMPLIANCE && until >= want - SKEW_SECS && until <= want + SKEW_SECS;
}

/* Try to destroy the test object @key@@version; 0 and *@kept when it held. */
static int proof_attack(struct s3be *h, const char *key, const char *version, int *kept)
{
    int err;

    *kept = 0;
    err = mm_s3_delete(h->s3, key, version, 0);
    if (err == 0)
        return not_immutable(h, "the store accepted a retention it did not keep: a locked test "
                                "object could be deleted");
    if (err != MM_EREFUSED)
        return err;
    err = mm_s3_delete(h->s3, key, version, 1);
    if (err == 0)
        return not_immutable(h, "a locked test object could be deleted with the "
                                "bypass-governance header");
    if (err != MM_EREFUSED)
        return err;
    *kept = 1;
    return 0;
}

/* Write the test object and check it. @return 0 (verdict in info), the store's error */
static int proof_object(struct s3be *h)
{
    unsigned char rnd[16];
    char hex[MM_CRYPTO_HEX_SIZE], rel[64], key[1024], version[256] = "";
    struct mm_s3_put_opts o = { MM_S3_LOCK_COMPLIANCE, 0 };
    struct mm_s3_obj info;
    enum mm_s3_lock_mode mode;
    int64_t until = 0;
    int err, kept;
    static const char body[] = "mamori lock proof\n";

    mm_crypto_random(rnd, sizeof(rnd));
    memset(hex, 0, sizeof(hex));
    {
        unsigned char id[MM_CRYPTO_ID_SIZE] = { 0 };
        memcpy(id, rnd, sizeof(rnd));
        mm_crypto_hex(id, hex);
    }
    snprintf(rel, sizeof(rel), PROOF_DIR "%.32s", hex);
    if ((err = mm_repo__s3_key(h, rel, key, sizeof(key))) < 0)
        return err;
    o.retain_until = (int64_t)time(NULL) + PROOF_SECS;
    if ((err = mm_s3_put(h->s3, key, body, sizeof(body) - 1, &o, version)) < 0) {
        if (err == MM_EINVAL || err == MM_EREFUSED)
            return not_immutable(h, "the store refused an object with a COMPLIANCE retention");
        return err;
    }
    if (!version[0] || strcmp(version, "null") == 0)
        return not_immutable(h, "the store gave the locked test object no version ID");
    if ((err = proof_attack(h, key, version, &kept)) < 0 || !kept)
        return err;
    if ((err = mm_s3_get_retention(h->s3, key, version, &mode, &until)) < 0)
        return err;
    if (!retention_kept(mode, until, o.retain_until))
        return not_immutable(h, "the store did not read back the COMPLIANCE retention it was "
                                "given");
    if ((err = mm_s3_head(h->s3, key, version, &info)) < 0)
        return err;
    if (!retention_kept(info.lock, info.retain_until, o.retain_until))
        return not_immutable(h, "the store's HEAD did not show the COMPLIANCE retention of the "
                                "test object");
    return 1;
}

int mm_repo__s3_prove(struct s3be *h)
{
    int err = 0, ok;

    pthread_mutex_lock(&h->proof_mu);
    if (h->proved)
        goto out;
    if ((err = bucket_says(h, &ok)) < 0 || !ok)
        goto done;
    if ((err = proof_object(h)) < 0)
        goto out;
    if (err == 1) {
        err = 0;
        h->be.info.immutable = 1;
        h->be.info.retain_days = h->retain_days;
        snprintf(h->be.info.lock_mode, sizeof(h->be.info.lock_mode), "%s",
                 h->mode == MM_S3_LOCK_GOVERNANCE ? "GOVERNANCE" : "COMPLIANCE");
        h->be.info.why_not[0] = '\0';
        h->proved = 1;
        pthread_mutex_unlock(&h->proof_mu);
        mm_repo__s3_proof_cleanup(h);
        return 0;
    }
done:
    if (err == 0)
        h->proved = 1;
out:
    pthread_mutex_unlock(&h->proof_mu);
    return err;
}

void mm_repo__s3_proof_cleanup(struct s3be *h)
{
    char rels[32][64], versions[32][256];
    int64_t now = (int64_t)time(NULL);
    size_t k, n = 0;

    if (!h->be.info.immutable)
        return;
    pthread_mutex_lock(&h->mu);
    for (k = 0; k < h->cat.cap && n < 32; k++) {
        struct mm_repo__s3_ent *e = h->cat.slots[k];
        if (!e || !e->first || strncmp(e->rel, PROOF_DIR, strlen(PROOF_DIR)) != 0 ||
            strlen(e->rel) >= sizeof(rels[0]) || (e->retain_until && e->retain_until >= now))
            continue;
        snprintf(rels[n], sizeof(rels[n]), "%s", e->rel);
        snprintf(versions[n], sizeof(versions[n]), "%s", e->first);
        n++;
    }
    pthread_mutex_unlock(&h->mu);
    for (k = 0; k < n; k++) {
        struct mm_repo__s3_ent *e;
        struct mm_s3_obj info;
        char key[1024];
        if (mm_repo__s3_key(h, rels[k], key, sizeof(key)) < 0 ||
            mm_s3_head(h->s3, key, versions[k], &info) < 0 || info.retain_until >= now)
            continue;
        if (mm_s3_delete(h->s3, key, versions[k], 0) != 0)
            continue;
        pthread_mutex_lock(&h->mu);
        if ((e = mm_repo__s3_cat_get(&h->cat, rels[k])))
            mm_repo__s3_set_version(&e->first, NULL);
        pthread_mutex_unlock(&h->mu);
    }
    mm_error_clear();
}

int mm_repo__s3_extend_one(struct s3be *h, const char *rel, int64_t until)
{
    struct mm_repo__s3_ent *e;
    struct mm_s3_obj info;
    char key[1024], version[256];
    int64_t slack = (int64_t)(h->retain_days / 4) * 86400;
    int err, extended = 0, sent = 0;

    pthread_mutex_lock(&h->mu);
    e = mm_repo__s3_cat_get(&h->cat, rel);
    snprintf(version, sizeof(version), "%s", e && e->first ? e->first : "");
    pthread_mutex_unlock(&h->mu);
    if (!version[0] || (err = mm_repo__s3_key(h, rel, key, sizeof(key))) < 0)
        return 0;
    err = mm_s3_head(h->s3, key, version, &info);
    if (err == 0 && info.retain_until < until) {
        info.retain_until = until + slack;
        sent = 1;
        err = mm_s3_put_retention(h->s3, key, version, info.lock ? info.lock : h->mode,
                                  info.retain_until, 0);
        extended = err == 0;
    }
    pthread_mutex_lock(&h->mu);
    h->counts.lock_requests += (uint64_t)sent;
    h->counts.checked++;
    h->counts.extended += (uint64_t)extended;
    h->counts.failed += err < 0;
    if (err == 0 && (e = mm_repo__s3_cat_get(&h->cat, rel)))
        e->retain_until = info.retain_until;
    pthread_mutex_unlock(&h->mu);
    return err;
}

int mm_repo_be_s3_proof(struct mm_repo_be *b)
{
    if (!mm_repo_be_is_s3_backend(b))
        return mm_error_set(MM_EINVAL, "not an S3 repository");
    return mm_repo__s3_prove((struct s3be *)b);
}

/* Queue an extension for every ONCE object retained less than @until. */
static int extend_queue(struct s3be *h, int64_t until)
{
    size_t k;
    int err = 0;

    for (k = 0; k < h->cat.cap && err == 0; k++) {
        struct mm_repo__s3_ent *e;
        char rel[1024];
        pthread_mutex_lock(&h->mu);
        e = h->cat.slots[k];
        rel[0] = '\0';
        if (e && e->first && e->retain_until < until && mm_repo__s3_is_once(e->rel) &&
            strncmp(e->rel, PROOF_DIR, strlen(PROOF_DIR)) != 0)
            snprintf(rel, sizeof(rel), "%s", e->rel);
        if (e && e->first && e->retain_until >= until)
            h->counts.checked++;
        pthread_mutex_unlock(&h->mu);
        if (rel[0])
            err = mm_repo__s3_enqueue(h, MM_REPO__S3_JOB_EXTEND, rel, NULL, 0, until);
    }
    return err;
}

int mm_repo_be_s3_extend(struct mm_repo_be *b, int64_t until)
{
    struct s3be *h = (struct s3be *)b;
    int err;

    if (!mm_repo_be_is_s3_backend(b))
        return mm_error_set(MM_EINVAL, "not an S3 repository");
    if ((err = mm_repo__s3_flush(h)) < 0 || (err = mm_repo__s3_prove(h)) < 0)
        return err;
    h->counts.checked = h->counts.extended = h->counts.failed = 0;
    if (!h->be.info.immutable)
        return 0;
    if ((err = extend_queue(h, until)) < 0)
        return err;
    err = mm_repo__s3_flush(h);
    mm_log(MM_LOG_INFO, "%s: retention: %llu objects checked, %llu extended, %llu failed", h->where,
           (unsigned long long)h->counts.checked, (unsigned long long)h->counts.extended,
           (unsigned long long)h->counts.failed);
    if (err == MM_EREFUSED || (err == 0 && h->counts.failed))
        return mm_error_set(MM_EREFUSED, "%s: %llu objects could not be retained long enough",
                            h->where, (unsigned long long)h->counts.failed);
    return err;
}

int mm_repo_be_s3_counts(const struct mm_repo_be *b, struct mm_repo_be_s3_counts *out)
{
    if (!mm_repo_be_is_s3_backend(b))
        return mm_error_set(MM_EINVAL, "not an S3 repository");
    *out = ((const struct s3be *)b)->counts;
    return 0;
}
