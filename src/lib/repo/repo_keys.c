/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key slots: keys/<32 hex>, one per user, each with its second copy keys/<32 hex>.2
 * (repo_copies.c). A slot is sealed with its user's passphrase, so without it a copy is
 * "intact" only as far as it parses; when both copies parse but differ, the one that opens
 * with the passphrase is the intact one, and the other is noted as damaged (repaired by the
 * next write with the key). Listing, opening, adding and removing slots.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "repo/repo_int.h"

/* One slot file: its name (32 hex), the copy in use and the other one. */
struct slotfile {
    char file[40];
    unsigned char b[MM_KEYSLOT_SIZE], b2[MM_KEYSLOT_SIZE];
    size_t n, n2;   /* n2: the other copy, when both parse but differ */
    unsigned flags; /* enum mm_repo__copy_flags of copy 1 ("b" may be copy 2) */
    int from2;      /* b is copy 2 */
    char name[MM_KEYSLOT_NAME_MAX + 1];
    struct mm_kdf_params cost;
    int bad; /* neither copy parses */
};

/* Read copy @which of slot @hex into @p. @return its length, or 0 when missing or bad. */
static size_t read_one(mm_repo *r, const char *hex, int which, unsigned char *p, unsigned *flags)
{
    char rel[64], name[MM_KEYSLOT_NAME_MAX + 1];
    struct mm_kdf_params cost;
    mm_buf b;
    size_t n = 0;
    int err;

    snprintf(rel, sizeof(rel), "keys/%s%s", hex, which == 2 ? ".2" : "");
    mm_buf_init(&b, MM_KEYSLOT_SIZE + 1);
    err = mm_repo__read(r, rel, &b);
    if (err == MM_ENOTFOUND)
        *flags |= which == 1 ? MM_REPO__COPY1_MISSING : MM_REPO__COPY2_MISSING;
    else if (err < 0 || b.len > MM_KEYSLOT_SIZE || mm_keyslot_info(b.ptr, b.len, name, &cost) < 0)
        *flags |= which == 1 ? MM_REPO__COPY1_BAD : MM_REPO__COPY2_BAD;
    else {
        memcpy(p, b.ptr, b.len);
        n = b.len;
    }
    mm_error_clear();
    mm_buf_release(&b);
    return n;
}

/* Fill @s for slot @hex from its two copies and note what is wrong on @r. */
static int load_slot(mm_repo *r, const char *hex, struct slotfile *s)
{
    char rel[64];
    size_t n1, n2;

    memset(s, 0, sizeof(*s));
    memcpy(s->file, hex, 33);
    n1 = read_one(r, hex, 1, s->b, &s->flags);
    n2 = read_one(r, hex, 2, s->b2, &s->flags);
    if (n1 && n2 && (n1 != n2 || memcmp(s->b, s->b2, n1) != 0)) {
        s->flags |= MM_REPO__COPY_DIFFER; /* the passphrase decides which is intact */
        s->n2 = n2;
    } else if (!n1 && n2) {
        memcpy(s->b, s->b2, n2);
        s->from2 = 1;
    }
    s->n = n1 ? n1 : n2;
    if (!s->n || mm_keyslot_info(s->b, s->n, s->name, &s->cost) < 0)
        s->bad = 1;
    mm_error_clear();
    snprintf(rel, sizeof(rel), "keys/%s", hex);
    /* the bytes to repair from: none when no copy parses or which one is intact is open */
    return mm_repo__copy_note(r, rel, s->flags,
                              s->bad || (s->flags & MM_REPO__COPY_DIFFER) ? NULL : s->b, s->n);
}

/* Whether @names[@i] is a slot file: 32 hex digits, or 32 and ".2" when the first copy is
 * gone (@names sorted: the first copy would come just before). */
static int slot_name(char **names, size_t i)
{
    size_t len = strlen(names[i]);

    if (len == 32)
        return 1;
    if (len != 34 || strcmp(names[i] + 32, ".2") != 0)
        return 0;
    return !(i > 0 && strlen(names[i - 1]) == 32 && memcmp(names[i - 1], names[i], 32) == 0);
}

static int slots_read(mm_repo *r, struct slotfile **out, size_t *nout)
{
    struct slotfile *v = NULL;
    char **names = NULL;
    size_t n = 0, nn = 0;
    int err;

    if ((err = mm_repo__list_all(r, "keys", &names, &nn)) < 0)
        return err;
    if (nn == 0) { /* a repository has a slot: no keys folder (or an empty one) is damage */
        err = mm_error_set(MM_ECORRUPT, "cannot read the key slots of '%s'", r->path);
        goto out;
    }
    if (!(v = mm_calloc(nn, sizeof(*v)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nn; i++) {
        char hex[33];
        if (strspn(names[i], "0123456789abcdef") != 32 || !slot_name(names, i))
            continue;
        memcpy(hex, names[i], 32);
        hex[32] = '\0';
        if ((err = load_slot(r, hex, &v[n])) < 0)
            goto out;
        n++;
    }
out:
    mm_repo__list_free(names, nn);
    if (err < 0) {
        mm_free(v);
        return err;
    }
    *out = v;
    *nout = n;
    return 0;
}

/* Open slot @s with the passphrase; the copy that opens is the intact one. */
static int open_slot(mm_repo *r, const struct slotfile *s, const char *pass, size_t passlen)
{
    char rel[64];
    int err = mm_keyslot_open(&r->ks, s->b, s->n, pass, passlen, r->user, sizeof(r->user));

    snprintf(rel, sizeof(rel), "keys/%s", s->file);
    if (!(s->flags & MM_REPO__COPY_DIFFER))
        return err;
    if (err == 0) /* copy 1 opened: copy 2 is the damaged one */
        return mm_repo__copy_note(r, rel, MM_REPO__COPY2_BAD, s->b, s->n);
    if (err != MM_EAUTH)
        return err;
    if ((err = mm_keyslot_open(&r->ks, s->b2, s->n2, pass, passlen, r->user, sizeof(r->user))) < 0)
        return err;
    return mm_repo__copy_note(r, rel, MM_REPO__COPY1_BAD, s->b2, s->n2);
}

int mm_repo__slots_open(mm_repo *r, const char *user, const char *pass, size_t passlen)
{
    struct slotfile *s = NULL;
    size_t n = 0, tried = 0, damaged = 0;
    const char *bad = NULL;
    int err, last = MM_EAUTH;

    if ((err = slots_read(r, &s, &n)) < 0)
        return err;
    for (size_t i = 0; i < n && !r->ks; i++) {
        if (s[i].bad) {
            damaged++;
            bad = s[i].file;
            continue;
        }
        if (user && strcmp(user, s[i].name) != 0)
            continue;
        tried++;
        err = open_slot(r, &s[i], pass, passlen);
        if (err < 0 && err != MM_EAUTH)
            last = err;
    }
    err = 0;
    if (!r->ks) {
        if (user && !tried && !damaged)
            err = mm_error_set(MM_ENOTFOUND, "no key slot for user '%s'", user);
        else if (last != MM_EAUTH)
            err = mm_error_set(last, "no key slot opens: %s", mm_error_last());
        else if (!tried)
            err = mm_error_set(MM_ECORRUPT,
                               "the repository has no usable key slot: 'keys/%s' is damaged in "
                               "both copies (%zu damaged)",
                               bad ? bad : "", damaged);
        else
            err = mm_error_set(MM_EAUTH, "wrong passphrase");
    }
    mm_crypto_wipe(s, n * sizeof(*s));
    mm_free(s);
    return err;
}

int mm_repo__slot_seal(mm_repo *r, const char *user, const char *pass, size_t passlen,
                       const struct mm_kdf_params *kdf, mm_buf *out, char rel[64])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char rnd[16];
    int err;

    if ((err = mm_keyslot_seal(r->ks, user, pass, passlen, kdf, out)) < 0)
        return err;
    mm_crypto_random(rnd, sizeof(rnd));
    memcpy(rel, "keys/", 5);
    for (size_t i = 0; i < sizeof(rnd); i++) {
        rel[5 + 2 * i] = digits[rnd[i] >> 4];
        rel[6 + 2 * i] = digits[rnd[i] & 15];
    }
    rel[5 + 2 * sizeof(rnd)] = '\0';
    return 0;
}

int mm_repo__slot_write(mm_repo *r, const char *user, const char *pass, size_t passlen,
                        const struct mm_kdf_params *kdf)
{
    char rel[64];
    mm_buf b;
    int err;

    mm_buf_init(&b, MM_KEYSLOT_SIZE);
    if ((err = mm_repo__slot_seal(r, user, pass, passlen, kdf, &b, rel)) == 0)
        err = mm_repo__write2(r, rel, b.ptr, b.len);
    mm_buf_release(&b);
    return err;
}

/* ---- listing, adding, removing ------------------------------------------------------------- */

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const struct mm_repo_key *)a)->name, ((const struct mm_repo_key *)b)->name);
}

int mm_repo_key_list(const char *path, struct mm_repo_key **out, size_t *nout)
{
    struct slotfile *s = NULL;
    struct mm_repo_key *k = NULL;
    size_t n = 0;
    mm_repo *r = NULL;
    int err;

    if ((err = mm_repo__open_marker(&r, path)) < 0 || (err = slots_read(r, &s, &n)) < 0)
        goto out;
    if (!(k = mm_calloc(n ? n : 1, sizeof(*k)))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i].bad) {
            err = mm_error_set(MM_ECORRUPT, "key slot file 'keys/%s' is damaged", s[i].file);
            goto out;
        }
        memcpy(k[i].name, s[i].name, sizeof(k[i].name));
        snprintf(k[i].file, sizeof(k[i].file), "%s", s[i].file);
        k[i].opslimit = s[i].cost.opslimit;
        k[i].memlimit = s[i].cost.memlimit;
    }
    qsort(k, n, sizeof(*k), cmp_key);
    *out = k;
    *nout = n;
    k = NULL;
out:
    mm_free(k);
    mm_free(s);
    mm_repo_free(r);
    return err;
}

int mm_repo_key_add(mm_repo *r, const char *user, const char *pass, size_t passlen,
                    const struct mm_kdf_params *kdf)
{
    struct slotfile *s = NULL;
    size_t n = 0;
    int err;

    if ((err = slots_read(r, &s, &n)) < 0)
        return err;
    for (size_t i = 0; i < n; i++)
        if (!s[i].bad && strcmp(s[i].name, user) == 0) {
            mm_free(s);
            return mm_error_set(MM_EEXISTS, "user '%s' has a key slot already", user);
        }
    mm_free(s);
    return mm_repo__slot_write(r, user, pass, passlen, kdf);
}

int mm_repo_key_remove(mm_repo *r, const char *user)
{
    struct slotfile *s = NULL;
    size_t n = 0, good = 0, hit = SIZE_MAX;
    char rel[64];
    int err;

    if ((err = slots_read(r, &s, &n)) < 0)
        return err;
    for (size_t i = 0; i < n; i++) {
        if (s[i].bad)
            continue;
        good++;
        if (strcmp(s[i].name, user) == 0)
            hit = i;
    }
    if (hit == SIZE_MAX)
        err = mm_error_set(MM_ENOTFOUND, "no key slot for user '%s'", user);
    else if (good < 2)
        err = mm_error_set(MM_EINVAL,
                           "'%s' has the last usable key slot: add another user's key first", user);
    else {
        /* the second copy first: a crash between leaves the slot listed by its first copy */
        snprintf(rel, sizeof(rel), "keys/%s.2", s[hit].file);
        if ((err = mm_repo__remove(r, rel)) == 0) {
            rel[strlen(rel) - 2] = '\0';
            err = mm_repo__remove(r, rel);
            mm_repo__copy_forget(r, rel);
        }
    }
    mm_free(s);
    return err;
}
