/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rules a new secret must meet (docs/security.md, "Weak secrets"): a passphrase of at
 * least MM_PASSPHRASE_MIN_CHARS characters (counted by the one UTF-8 decoder, common/text.c),
 * not on the built-in list of common passwords (share/common-passwords.txt, compared without
 * regard to ASCII case), not one character repeated, not the user's or the repository's name;
 * and a KDF cost not below MM_KDF_*_POLICY. The CLI refuses what fails unless told
 * --allow-weak-secrets; the library only judges.
 */
#include <string.h>
#include <strings.h>

#include "common/text.h"
#include "crypto/crypto_int.h"

/* Whether @n bytes at @a equal the @m bytes at @b without regard to ASCII case. */
static int same_nocase(const char *a, size_t n, const char *b, size_t m)
{
    return n == m && (n == 0 || strncasecmp(a, b, n) == 0);
}

/* Whether @pass is a line of the built-in list ('#' lines are comments). */
static int on_list(const char *pass, size_t len)
{
    for (const struct mm_crypto__asset *a = mm_crypto__wordlist; a->name; a++) {
        const char *p = (const char *)a->data, *end = p + a->size;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (n && p[0] != '#' && same_nocase(p, n, pass, len))
                return 1;
            p += n + 1;
        }
    }
    return 0;
}

/* Whether @pass is one character, repeated. */
static int repeated(const char *pass, size_t len)
{
    size_t i = 0, first_end;
    uint32_t c, first;

    if (!mm_text_next(pass, len, &i, &first))
        return 0;
    first_end = i;
    while (i < len) {
        size_t at = i;
        if (!mm_text_next(pass, len, &i, &c) || c != first ||
            memcmp(pass + at, pass, first_end) != 0)
            return 0;
    }
    return 1;
}

int mm_crypto_passphrase_weak(const char *pass, size_t len, const char *const *names, size_t nnames)
{
    if (mm_text_chars(pass, len) < MM_PASSPHRASE_MIN_CHARS)
        return MM_SECRET_SHORT;
    if (repeated(pass, len))
        return MM_SECRET_REPEATED;
    for (size_t i = 0; i < nnames; i++)
        if (names[i] && same_nocase(names[i], strlen(names[i]), pass, len))
            return MM_SECRET_NAME;
    if (on_list(pass, len))
        return MM_SECRET_COMMON;
    return MM_SECRET_OK;
}

int mm_kdf_params_weak(const struct mm_kdf_params *p)
{
    return p->opslimit < MM_KDF_OPSLIMIT_POLICY || p->memlimit < MM_KDF_MEMLIMIT_POLICY;
}
