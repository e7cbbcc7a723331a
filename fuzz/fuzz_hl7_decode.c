/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the ISO-2022-JP codec (zstd-style round trip). Every input is decoded
 * leniently and strictly, and the lenient result is encoded and decoded again. Beyond
 * memory safety it checks: the output is valid UTF-8; strict succeeds exactly when the
 * lenient pass found nothing bad, with the same text, and otherwise leaves the buffer as
 * it was; encoding the decoded text substitutes exactly its U+FFFDs; and decoding that
 * encoding gives the decoded text back, with each U+FFFD turned into the GETA MARK.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "hl7/hl7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop the run: a property does not hold. */
static void fail(const char *what)
{
    fprintf(stderr, "fuzz_hl7_decode: %s\n", what);
    abort();
}

/* How many U+FFFD s[0..n) holds; fails unless s is valid UTF-8. */
static size_t check_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0, bad = 0;

    while (i < n) {
        unsigned int c = s[i], k, u;

        if (c < 0x80) {
            i++;
            continue;
        }
        k = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 0;
        if (k == 0 || c > 0xF4)
            fail("bad utf-8 lead");
        if (k >= n - i)
            fail("cut utf-8");
        u = c & (0x3F >> k);
        for (unsigned int j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                fail("bad utf-8 continuation");
            u = u << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && u < 0x800) || (k == 3 && u < 0x10000) || u > 0x10FFFF ||
            (u >= 0xD800 && u <= 0xDFFF))
            fail("overlong or surrogate");
        bad += u == 0xFFFD;
        i += k + 1;
    }
    return bad;
}

/* Copy s[0..n) into @out with every U+FFFD replaced by U+3013 (both 3 bytes). */
static void fffd_to_geta(const char *s, size_t n, mm_buf *out)
{
    if (mm_buf_put(out, s, n) < 0)
        fail("buffer");
    for (size_t i = 0; i + 2 < n; i++)
        if (memcmp(out->ptr + i, "\xEF\xBF\xBD", 3) == 0)
            memcpy(out->ptr + i, "\xE3\x80\x93", 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct mm_jis_stats st = { 0 }, st2 = { 0 }, est = { 0 };
    mm_buf lenient, strict, enc, back, want;
    size_t nfffd;
    int rc;

    if (size > MM_LIMIT_HL7_MESSAGE / 4)
        return -1;
    mm_buf_init(&lenient, MM_LIMIT_HL7_MESSAGE);
    mm_buf_init(&strict, MM_LIMIT_HL7_MESSAGE);
    mm_buf_init(&enc, MM_LIMIT_HL7_MESSAGE);
    mm_buf_init(&back, MM_LIMIT_HL7_MESSAGE);
    mm_buf_init(&want, MM_LIMIT_HL7_MESSAGE);

    if (mm_jis_decode(&lenient, in, size, 0, &st) != 0)
        fail("lenient decode failed");
    nfffd = check_utf8((const unsigned char *)lenient.ptr, lenient.len);
    if (nfffd != st.bad || st.chars < st.bad + st.nec13 + st.ibmext + st.halfwidth)
        fail("decode counters");

    rc = mm_jis_decode(&strict, in, size, MM_JIS_STRICT, &st2);
    if (rc == 0) {
        if (st.bad != 0 || strict.len != lenient.len ||
            (strict.len && memcmp(strict.ptr, lenient.ptr, strict.len) != 0))
            fail("strict and lenient disagree");
    } else if (rc != MM_ECORRUPT || st.bad == 0 || strict.len != 0 || st2.chars != 0) {
        fail("strict failure");
    }

    if (mm_jis_encode(&enc, lenient.ptr ? lenient.ptr : "", lenient.len, 0, &est) != 0)
        fail("lenient encode failed");
    if (est.bad != nfffd || est.chars != st.chars)
        fail("encode counters");
    if (mm_jis_decode(&back, enc.ptr ? enc.ptr : "", enc.len, MM_JIS_STRICT, NULL) != 0)
        fail("encoder output does not decode strictly");
    fffd_to_geta(lenient.ptr ? lenient.ptr : "", lenient.len, &want);
    if (back.len != want.len || (want.len && memcmp(back.ptr, want.ptr, want.len) != 0))
        fail("round trip");

    mm_buf_release(&lenient);
    mm_buf_release(&strict);
    mm_buf_release(&enc);
    mm_buf_release(&back);
    mm_buf_release(&want);
    return 0;
}
