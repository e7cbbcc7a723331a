/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the readers of the viewer API's query strings. The input is the query part of a URL
 * ("q=…&gen=…"): split at '&' and the first '=', each part unescaped by libmicrohttpd's own
 * MHD_http_unescape (what the server does before a handler sees an argument), then every
 * value is read by each of the API's argument readers: the search query
 * (mm_index_query_parse, /api/search ?q=), the time of the current medication
 * (mm_viewer_as_of_check, /api/patient ?as_of=) and the generation prefix
 * (mm_viewer_gen_spec_ok, ?gen= of every data request). Never a crash; properties: each
 * reader answers 0 or its documented refusal; an accepted query's readings are bounded and
 * NUL-terminated (a date is YYYY-MM-DD, a year YYYY; there may be none: regress-no-reading); an
 * accepted time is YYYY-MM-DDTHH:MM; an accepted generation prefix is 8 to 64 lower-case hex
 * digits.
 */
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "index/index.h"
#include "viewer/viewer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop the run: a property does not hold. */
static void fail(const char *what)
{
    fprintf(stderr, "fuzz_viewer_query: %s\n", what);
    abort();
}

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static void check_query(const char *val)
{
    struct mm_index_query q;
    int err = mm_index_query_parse(&q, val);

    mm_error_clear();
    if (strlen(val) > MM_INDEX_QUERY_MAX) {
        if (err != MM_ELIMIT)
            fail("a query over the limit is not refused with MM_ELIMIT");
        return;
    }
    if (err == MM_EINVAL)
        return;
    if (err != 0)
        fail("the query reader answered an undocumented error");
    if (!memchr(q.id, '\0', sizeof(q.id)) || !memchr(q.name, '\0', sizeof(q.name)) ||
        !memchr(q.date, '\0', sizeof(q.date)) || !memchr(q.year, '\0', sizeof(q.year)))
        fail("a reading is not terminated inside its field");
    if (q.date[0] && (strlen(q.date) != 10 || q.date[4] != '-' || q.date[7] != '-' ||
                      !digits(q.date, 4) || !digits(q.date + 5, 2) || !digits(q.date + 8, 2)))
        fail("a date reading is not YYYY-MM-DD");
    if (q.year[0] && (strlen(q.year) != 4 || !digits(q.year, 4)))
        fail("a year reading is not YYYY");
    /* a query of only punctuation or bytes that are not UTF-8 is accepted with no reading
     * at all: it matches no patient (every match needs a reading) */
}

static void check_as_of(const char *val)
{
    int err = mm_viewer_as_of_check(val);

    mm_error_clear();
    if (err == MM_EINVAL)
        return;
    if (err != 0)
        fail("the time reader answered an undocumented error");
    if (strlen(val) != 16 || val[4] != '-' || val[7] != '-' || val[10] != 'T' || val[13] != ':' ||
        !digits(val, 4) || !digits(val + 5, 2) || !digits(val + 8, 2) || !digits(val + 11, 2) ||
        !digits(val + 14, 2))
        fail("an accepted time is not YYYY-MM-DDTHH:MM");
}

static void check_gen(const char *val)
{
    size_t n = strlen(val);

    if (!mm_viewer_gen_spec_ok(val))
        return;
    if (n < 8 || n > 64)
        fail("an accepted generation prefix has a wrong length");
    for (size_t i = 0; i < n; i++)
        if (!((val[i] >= '0' && val[i] <= '9') || (val[i] >= 'a' && val[i] <= 'f')))
            fail("an accepted generation prefix is not lower-case hex");
}

/* Unescape one argument (key or value, @n bytes at @p) into a NUL-terminated copy. */
static char *unescape(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);

    if (!s)
        abort();
    memcpy(s, p, n);
    s[n] = '\0';
    MHD_http_unescape(s);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i = 0;

    while (i <= size) {
        const uint8_t *amp = memchr(data + i, '&', size - i);
        size_t end = amp ? (size_t)(amp - data) : size;
        const uint8_t *eq = memchr(data + i, '=', end - i);
        size_t vstart = eq ? (size_t)(eq - data) + 1 : end;
        char *val = unescape(data + vstart, end - vstart);

        check_query(val);
        check_as_of(val);
        check_gen(val);
        free(val);
        i = end + 1;
    }
    return 0;
}
