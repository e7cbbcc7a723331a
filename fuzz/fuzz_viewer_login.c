/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the viewer's login body reader (mm_viewer_login_parse, jansson with wiping frees):
 * any bytes either give a user and a passphrase or a refusal, never a crash or a leak.
 * Properties: a refusal is MM_EINVAL or MM_ELIMIT and leaves the passphrase buffer all zero
 * and the user ""; an accepted body gives a non-empty passphrase of *plen bytes without a NUL
 * inside, both values NUL-terminated inside their buffers; written back as JSON
 * ({"user":…,"passphrase":…}) and read again, they come back byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "viewer/viewer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UCAP 65   /* as the viewer's buffers: USER_MAX + 1 */
#define PCAP 1024 /* PASS_MAX */

/* Stop the run: a property does not hold. */
static void fail(const char *what)
{
    fprintf(stderr, "fuzz_viewer_login: %s\n", what);
    abort();
}

/* Write @user and @pass back as a login body and read it again: the same values. */
static void round_trip(const char *user, const char *pass, size_t plen)
{
    char u2[UCAP], p2[PCAP];
    size_t plen2 = 0;
    mm_buf b;
    int err;

    mm_buf_init(&b, 16384);
    err = mm_buf_putc(&b, '{');
    if (err == 0)
        err = mm_json_kv(&b, 1, "user", user);
    if (err == 0)
        err = mm_json_kv(&b, 0, "passphrase", pass);
    if (err == 0)
        err = mm_buf_putc(&b, '}');
    if (err < 0)
        fail("cannot write the body back");
    if (mm_viewer_login_parse((const char *)b.ptr, b.len, u2, sizeof(u2), p2, sizeof(p2), &plen2) !=
        0)
        fail("the body written back is refused");
    if (strcmp(u2, user) != 0 || plen2 != plen || memcmp(p2, pass, plen) != 0)
        fail("the body written back reads differently");
    mm_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int wiping;
    char user[UCAP], pass[PCAP];
    size_t plen = 0;
    int err;

    if (!wiping) { /* as the viewer runs it: jansson wipes what it frees */
        mm_viewer_json_wiping();
        wiping = 1;
    }
    memset(user, 'u', sizeof(user));
    memset(pass, 'p', sizeof(pass));
    err = mm_viewer_login_parse((const char *)data, size, user, sizeof(user), pass, sizeof(pass),
                                &plen);
    if (err < 0) {
        mm_error_clear();
        if (err != MM_EINVAL && err != MM_ELIMIT)
            fail("a refusal other than MM_EINVAL or MM_ELIMIT");
        if (user[0] != '\0')
            fail("a refusal leaves a user name");
        for (size_t i = 0; i < sizeof(pass); i++)
            if (pass[i] != 0)
                fail("a refusal leaves bytes of the passphrase");
        return 0;
    }
    if (plen == 0 || plen >= sizeof(pass) || pass[plen] != '\0' || strlen(pass) != plen)
        fail("passphrase length");
    if (memchr(user, '\0', sizeof(user)) == NULL)
        fail("user not terminated inside its buffer");
    round_trip(user, pass, plen);
    return 0;
}
