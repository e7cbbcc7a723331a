/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The medium's identity: <repo>/medium, a short text file naming the medium's label (MON,
 * TUE...) and its hospital, bound to the repository's ID and signed with the repository's
 * Ed25519 key (subkey 4; message "mamori-medium-v1\0" || the lines before "signature"), so
 * that it reads in any text editor yet cannot be edited unnoticed. Every write that is told
 * which medium it wants (backup --medium/--hospital) checks it first. A repository without
 * the file is an unlabelled medium: it opens, reads and verifies as before. Layout in
 * docs/format.md ("Medium label").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "os/os.h"
#include "repo/repo.h"
#include "repo/repo_int.h"

#define MEDIUM_FILE   "medium"
#define MEDIUM_MAX    1024u              /* bytes of the file at most */
#define MEDIUM_DOMAIN "mamori-medium-v1" /* with its NUL: 17 bytes before the signed lines */

/* Whether @n bytes at @s are well-formed UTF-8 (no overlong forms, no surrogates). */
static int utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        unsigned c = p[i], len = c < 0x80             ? 1
                                 : (c & 0xe0) == 0xc0 ? 2
                                 : (c & 0xf0) == 0xe0 ? 3
                                 : (c & 0xf8) == 0xf0 ? 4
                                                      : 0;
        unsigned long v;
        if (len == 0 || i + len > n)
            return 0;
        v = len == 1 ? c : c & (0x7fu >> len);
        for (unsigned k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            v = v << 6 | (p[i + k] & 0x3fu);
        }
        if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
            v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

int mm_repo_medium_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > MM_REPO_MEDIUM_NAME_MAX || !utf8_ok(s, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || strchr("/\\:*?\"<>|", c))
            return 0;
    }
    return s[n - 1] != '.';
}

/* The bytes a label's signature covers: the domain, its NUL, then @n bytes at @lines. */
static int medium_sig(const mm_keyset *ks, const char *lines, size_t n, unsigned char *sig,
                      const unsigned char *pk)
{
    char msg[sizeof(MEDIUM_DOMAIN) + MEDIUM_MAX];

    if (n > MEDIUM_MAX)
        return mm_error_set(MM_ELIMIT, "medium label too long");
    memcpy(msg, MEDIUM_DOMAIN, sizeof(MEDIUM_DOMAIN)); /* with its NUL */
    memcpy(msg + sizeof(MEDIUM_DOMAIN), lines, n);
    if (ks)
        return mm_crypto_sign(ks, msg, sizeof(MEDIUM_DOMAIN) + n, sig);
    return mm_crypto_verify(pk, msg, sizeof(MEDIUM_DOMAIN) + n, sig);
}

/* Copy the value of line "@key <value>" at @p (ending at @end) into @out. @return 0, -1 */
static int take(const char **p, const char *end, const char *key, char *out, size_t cap)
{
    size_t k = strlen(key);
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));

    if (!nl || (size_t)(nl - *p) < k + 1 || memcmp(*p, key, k) != 0 || (*p)[k] != ' ' ||
        (size_t)(nl - *p) - k - 1 >= cap)
        return -1;
    memcpy(out, *p + k + 1, (size_t)(nl - *p) - k - 1);
    out[(size_t)(nl - *p) - k - 1] = '\0';
    *p = nl + 1;
    return 0;
}

/* 64 hex digits at @h (not NUL-terminated) into 32 bytes. @return 0, MM_EINVAL */
static int hex_half(const char *h, unsigned char out[MM_CRYPTO_ID_SIZE])
{
    char one[MM_CRYPTO_HEX_SIZE];

    memcpy(one, h, MM_CRYPTO_HEX_SIZE - 1);
    one[MM_CRYPTO_HEX_SIZE - 1] = '\0';
    return mm_crypto_hex_parse(one, out);
}

int mm_repo_medium_parse(const void *data, size_t n, const char *repo_id,
                         const unsigned char pk[MM_CRYPTO_PK_SIZE], struct mm_repo_medium *out)
{
    const char *p = data, *end = p + n, *sigline;
    char v[MM_REPO_MEDIUM_NAME_MAX * 2 + 2], sighex[2 * MM_CRYPTO_SIG_SIZE + 2];
    unsigned char sig[MM_CRYPTO_SIG_SIZE];
    struct mm_repo_medium m;
    char *e;

    memset(&m, 0, sizeof(m));
    if (n > MEDIUM_MAX || memchr(p, '\0', n))
        return mm_error_set(MM_ECORRUPT, "medium label: not a label file");
    if (take(&p, end, "mamori-medium", v, sizeof(v)) < 0 || strcmp(v, "1") != 0)
        return mm_error_set(MM_ECORRUPT, "medium label: unknown format (want mamori-medium 1)");
    if (take(&p, end, "repository", v, sizeof(v)) < 0)
        return mm_error_set(MM_ECORRUPT, "medium label: bad repository line");
    if (strcmp(v, repo_id) != 0)
        return mm_error_set(MM_EAUTH, "medium label: written for another repository");
    if (take(&p, end, "label", m.label, sizeof(m.label)) < 0 || !mm_repo_medium_name_ok(m.label))
        return mm_error_set(MM_ECORRUPT, "medium label: bad label line");
    if (p < end && strncmp(p, "hospital ", 9) == 0 &&
        (take(&p, end, "hospital", m.hospital, sizeof(m.hospital)) < 0 ||
         !mm_repo_medium_name_ok(m.hospital)))
        return mm_error_set(MM_ECORRUPT, "medium label: bad hospital line");
    if (take(&p, end, "written", v, sizeof(v)) < 0 ||
        (m.written = strtoll(v, &e, 10), *e != '\0' || v[0] == '\0'))
        return mm_error_set(MM_ECORRUPT, "medium label: bad time line");
    if (take(&p, end, "by", m.by, sizeof(m.by)) < 0)
        return mm_error_set(MM_ECORRUPT, "medium label: bad user line");
    sigline = p;
    if (take(&p, end, "signature", sighex, sizeof(sighex)) < 0 || p != end ||
        strlen(sighex) != 2 * MM_CRYPTO_SIG_SIZE || hex_half(sighex, sig) < 0 ||
        hex_half(sighex + 64, sig + 32) < 0)
        return mm_error_set(MM_ECORRUPT, "medium label: bad signature line");
    if (pk && medium_sig(NULL, data, (size_t)(sigline - (const char *)data), sig, pk) < 0)
        return mm_error_set(MM_EAUTH, "medium label: the signature does not verify (edited?)");
    m.verified = pk != NULL;
    *out = m;
    return 0;
}

/* mm_repo__intact_fn of the label: it parses and its signature holds (into @arg[1]). */
static int medium_ok(const void *p, size_t n, void *arg)
{
    mm_repo *r = ((void **)arg)[0];
    unsigned char pk[MM_CRYPTO_PK_SIZE];

    mm_keyset_public_key(r->ks, pk);
    return mm_repo_medium_parse(p, n, r->id, pk, ((void **)arg)[1]);
}

int mm_repo_medium_get(mm_repo *r, struct mm_repo_medium *out)
{
    void *arg[2] = { r, out };
    mm_buf b;
    int err;

    mm_buf_init(&b, MEDIUM_MAX);
    if ((err = mm_repo__read2(r, MEDIUM_FILE, &b, medium_ok, arg)) < 0) {
        if (err == MM_ENOTFOUND)
            mm_error_set(MM_ENOTFOUND, "this medium has no label");
        goto out;
    }
    err = medium_ok(b.ptr ? (const char *)b.ptr : "", b.len, arg); /* the copy read2 chose */
    if (err == 0 && r->lock_file && r->lock_kind == MM_REPO_LOCK_EXCLUSIVE)
        mm_repo__copies_repair(r);
out:
    mm_buf_release(&b);
    return err;
}

int mm_repo_medium_set(mm_repo *r, const char *label, const char *hospital, int force)
{
    char text[MEDIUM_MAX], hex[2 * MM_CRYPTO_SIG_SIZE + 1];
    unsigned char sig[MM_CRYPTO_SIG_SIZE];
    struct mm_repo_medium old;
    int err, n;

    if (!mm_repo_medium_name_ok(label))
        return mm_error_set(MM_EINVAL, "bad medium label (1-%u bytes, no spaces or /\\:*?\"<>|)",
                            MM_REPO_MEDIUM_NAME_MAX);
    if (hospital && !mm_repo_medium_name_ok(hospital))
        return mm_error_set(MM_EINVAL, "bad hospital ID (1-%u bytes, no spaces or /\\:*?\"<>|)",
                            MM_REPO_MEDIUM_NAME_MAX);
    err = mm_repo_medium_get(r, &old);
    if (err == 0 && !force &&
        (strcmp(old.label, label) != 0 || strcmp(old.hospital, hospital ? hospital : "") != 0))
        return mm_error_set(MM_EEXISTS, "the medium is labelled already");
    if (err < 0 && err != MM_ENOTFOUND && !force)
        return err; /* a damaged or edited label is replaced only on purpose */
    mm_error_clear();
    n = snprintf(text, sizeof(text),
                 "mamori-medium 1\nrepository %s\nlabel %s\n%s%s%swritten %lld\nby %s\n", r->id,
                 label, hospital ? "hospital " : "", hospital ? hospital : "", hospital ? "\n" : "",
                 (long long)time(NULL), r->user);
    if (n < 0 || (size_t)n + sizeof("signature \n") + sizeof(hex) > sizeof(text))
        return mm_error_set(MM_ELIMIT, "medium label too long");
    if ((err = medium_sig(r->ks, text, (size_t)n, sig, NULL)) < 0)
        return err;
    mm_crypto_hex(sig, hex);
    mm_crypto_hex(sig + 32, hex + 64);
    n += snprintf(text + n, sizeof(text) - (size_t)n, "signature %s\n", hex);
    return mm_repo__write2(r, MEDIUM_FILE, text, (size_t)n);
}

enum mm_repo_medium_verdict mm_repo_medium_judge(const struct mm_repo_medium *have,
                                                 const char *label, const char *hospital)
{
    if (!have)
        return MM_REPO_MEDIUM_UNLABELLED;
    if (hospital && strcmp(have->hospital, hospital) != 0)
        return MM_REPO_MEDIUM_OTHER_HOSPITAL;
    if (label && strcmp(have->label, label) != 0)
        return MM_REPO_MEDIUM_WRONG_LABEL;
    return MM_REPO_MEDIUM_OK;
}
