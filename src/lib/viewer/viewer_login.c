/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The login body, read with jansson, and the allocation functions that make jansson wipe what
 * it frees. A passphrase passes through jansson's lexer buffer and a string value before it
 * reaches the caller's buffer; with mm_viewer_json_wiping() installed, neither leaves a copy
 * in freed heap. Blocks are still allocated by malloc and freed by free (after wiping
 * malloc_usable_size() bytes), so values made before the installation are freed correctly
 * after it and no size header is needed.
 * Workload: one parse per login attempt, bodies of at most a few KiB.
 */
#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "viewer/viewer.h"

/* jansson's free: wipe the whole block, then free it. */
static void wipe_free(void *p)
{
    if (!p)
        return;
    mm_crypto_wipe(p, malloc_usable_size(p));
    free(p);
}

void mm_viewer_json_wiping(void)
{
    json_malloc_t m;
    json_free_t f;

    json_get_alloc_funcs(&m, &f);
    if (m != malloc || f != wipe_free)
        json_set_alloc_funcs(malloc, wipe_free);
}

/* Copy the string @val into @out (@cap bytes with the NUL). @return its length or -1 */
static long copy_string(const json_t *val, char *out, size_t cap)
{
    size_t n = json_string_length(val);

    if (n >= cap)
        return -1;
    memcpy(out, json_string_value(val), n);
    out[n] = '\0';
    return (long)n;
}

int mm_viewer_login_parse(const char *body, size_t n, char *user, size_t ucap, char *pass,
                          size_t pcap, size_t *plen)
{
    json_error_t e;
    json_t *root = NULL, *val, *p = NULL, *u = NULL;
    const char *key;
    long len;
    int err = 0;

    MM_ASSERT_ARG(body && user && ucap && pass && pcap && plen);
    /* UTF-8 is checked and "\u0000" refused by jansson; a member named twice is refused */
    root = json_loadb(body, n, JSON_REJECT_DUPLICATES, &e);
    mm_crypto_wipe(&e, sizeof(e)); /* its text may quote the body */
    if (!root || !json_is_object(root)) {
        err = mm_error_set(MM_EINVAL, "login body is not a JSON object");
        goto out;
    }
    json_object_foreach(root, key, val)
    {
        if (strcmp(key, "passphrase") == 0 && json_is_string(val)) {
            p = val;
        } else if (strcmp(key, "user") == 0 && json_is_string(val)) {
            u = val;
        } else {
            err = mm_error_set(MM_EINVAL, "login body: unexpected member or type");
            goto out;
        }
    }
    if (!p || json_string_length(p) == 0) {
        err = mm_error_set(MM_EINVAL, "login body: no passphrase");
        goto out;
    }
    if ((len = copy_string(p, pass, pcap)) < 0) {
        err = mm_error_set(MM_ELIMIT, "login body: passphrase too long");
        goto out;
    }
    *plen = (size_t)len;
    user[0] = '\0';
    if (u && copy_string(u, user, ucap) < 0) {
        err = mm_error_set(MM_ELIMIT, "login body: user name too long");
        goto out;
    }

out:
    if (err < 0) {
        mm_crypto_wipe(pass, pcap);
        user[0] = '\0';
    }
    json_decref(root); /* the copies inside are wiped as they are freed */
    return err;
}
