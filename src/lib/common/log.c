/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Log sink dispatch and SS-MIX2-aware path redaction. Redaction works on the
 * text alone (no file-system access) so it can run on any path, existing or not:
 * it first learns the patient IDs the path reveals, then masks each of them
 * wherever it appears.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/limits.h"
#include "common/text.h"

static mm_log_sink log_sink;
static void *log_ctx;
static enum mm_log_level log_level = MM_LOG_WARN;

void mm_log_set_sink(mm_log_sink sink, void *ctx, enum mm_log_level level)
{
    log_sink = sink;
    log_ctx = ctx;
    log_level = level;
}

void mm_log(enum mm_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!log_sink || level > log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_sink(level, msg, log_ctx);
}

#define MAX_COMPONENTS 64
#define MAX_IDS        4

struct comp {
    const char *p;
    size_t n;
    int hide; /* the whole component is to be replaced by "*" */
};

/* Whether @s[0..n) is a care-date field: 8 digits or "-". */
static int is_date_field(const char *s, size_t n)
{
    if (n == 1 && s[0] == '-')
        return 1;
    if (n != 8)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Remember the ID @s[0..n) in @ids unless known already. */
static void add_id(struct comp *ids, int *nids, const char *s, size_t n)
{
    if (n == 0 || n > MM_LIMIT_PATIENT_ID)
        return;
    for (int i = 0; i < *nids; i++)
        if (ids[i].n == n && memcmp(ids[i].p, s, n) == 0)
            return;
    if (*nids < MAX_IDS) {
        ids[*nids].p = s;
        ids[*nids].n = n;
        (*nids)++;
    }
}

/* Append @s[0..n) to out at *pos, marking truncation. */
static void emit(char *out, size_t cap, size_t *pos, const char *s, size_t n, int *cut)
{
    for (size_t i = 0; i < n && !*cut; i++) {
        if (*pos + 4 >= cap) {
            *cut = 1;
            break;
        }
        out[(*pos)++] = s[i];
    }
}

#ifdef _WIN32
#define SEP(c) ((c) == '/' || (c) == '\\') /* a Windows path may use either */
#else
#define SEP(c) ((c) == '/')
#endif

const char *mm_log_path(char *out, size_t cap, const char *path)
{
    struct comp c[MAX_COMPONENTS];
    struct comp ids[MAX_IDS];
    int nc = 0, nids = 0, cut = 0;
    size_t pos = 0;
    const char *s = path;

    if (cap == 0)
        return out;
    if (cap < 8) {
        out[0] = '\0';
        return out;
    }
    /* split into components; a path deeper than MAX_COMPONENTS is masked whole */
    if (SEP(*s))
        s++; /* the leading '/' is emitted on its own below */
    while (*s) {
        const char *e = s;
        size_t n;

        while (*e && !SEP(*e))
            e++;
        n = (size_t)(e - s);

        if (nc == MAX_COMPONENTS) {
            snprintf(out, cap, "(path hidden)");
            return out;
        }
        c[nc].p = s;
        c[nc].n = n;
        c[nc].hide = 0;
        nc++;
        s += n;
        if (SEP(*s))
            s++;
    }
    /* learn IDs: <a>/<b>/<a b ...> folder triples, and first fields of SS-MIX2 names */
    for (int i = 0; i < nc; i++) {
        if (i + 2 < nc && c[i].n >= 1 && c[i].n <= 3 && c[i + 1].n <= 3 &&
            c[i + 2].n >= c[i].n + c[i + 1].n && memcmp(c[i + 2].p, c[i].p, c[i].n) == 0 &&
            memcmp(c[i + 2].p + c[i].n, c[i + 1].p, c[i + 1].n) == 0 &&
            (i + 3 >= nc || is_date_field(c[i + 3].p, c[i + 3].n) ||
             (c[i].n == 3 && c[i + 1].n == 3 && c[i + 2].n > 6))) {
            c[i].hide = c[i + 1].hide = 1;
            add_id(ids, &nids, c[i + 2].p, c[i + 2].n);
        }
        const char *u = memchr(c[i].p, '_', c[i].n);
        if (u) {
            const char *v = u + 1;
            const char *end = c[i].p + c[i].n;
            const char *u2 = memchr(v, '_', (size_t)(end - v));
            if (u2 && is_date_field(v, (size_t)(u2 - v)))
                add_id(ids, &nids, c[i].p, (size_t)(u - c[i].p));
        }
    }
    /* emit, masking every occurrence of a learned ID */
    if (SEP(path[0]))
        emit(out, cap, &pos, "/", 1, &cut);
    for (int i = 0; i < nc && !cut; i++) {
        if (i > 0)
            emit(out, cap, &pos, "/", 1, &cut);
        if (c[i].hide) {
            emit(out, cap, &pos, "*", 1, &cut);
            continue;
        }
        for (size_t k = 0; k < c[i].n && !cut;) {
            int hit = -1;
            for (int j = 0; j < nids; j++)
                if (ids[j].n <= c[i].n - k && memcmp(c[i].p + k, ids[j].p, ids[j].n) == 0 &&
                    (hit < 0 || ids[j].n > ids[hit].n))
                    hit = j;
            if (hit >= 0) {
                emit(out, cap, &pos, "*", 1, &cut);
                k += ids[hit].n;
            } else {
                emit(out, cap, &pos, c[i].p + k, 1, &cut);
                k++;
            }
        }
    }
    if (cut) {
        memcpy(out + pos, "...", 3);
        pos += 3;
    }
    out[pos] = '\0';
    if (!mm_text_is_plain(out, pos)) { /* control characters of a name: shown, not obeyed */
        char raw[MM_LOG_PATH_MAX];
        memcpy(raw, out, pos + 1 <= sizeof(raw) ? pos + 1 : sizeof(raw));
        raw[sizeof(raw) - 1] = '\0';
        mm_text_escape(out, cap, raw, strlen(raw));
    }
    return out;
}
