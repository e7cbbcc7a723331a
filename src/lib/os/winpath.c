/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Windows paths, computed portably (winpath.h). A path is decoded with the project's UTF-8
 * decoder into UTF-16 with every `/` turned into `\`, its root is recognised (drive, share,
 * root-relative, drive-relative, relative, or `\\?\` kept verbatim), and the output is built
 * as the `\\?\` prefix of the root followed by `\component` for each component of @cwd (when
 * the path is relative) and of the path, `.` dropped and `..` taking the last one back (never
 * the root). Messages never name the path (it may embed a patient ID).
 */
#include "os/winpath.h"

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/text.h"

#define BS '\\'

enum root_kind {
    ROOT_NONE,      /* relative: "x" */
    ROOT_SLASH,     /* root-relative: "\x" */
    ROOT_DRIVE_REL, /* drive-relative: "C:x" */
    ROOT_DRIVE,     /* "C:\x" */
    ROOT_UNC,       /* "\\srv\share\x" */
    ROOT_VERBATIM   /* "\\?\..." or "\\.\..." */
};

/* A parsed root: the output prefix, and where the components start in the parsed text. */
struct root {
    enum root_kind kind;
    const uint16_t *srv, *share; /* UNC */
    size_t srvlen, sharelen;
    uint16_t drive;       /* ROOT_DRIVE, ROOT_DRIVE_REL: the letter */
    size_t rest;          /* index of the first unit after the root */
    const uint16_t *vpre; /* ROOT_VERBATIM (a cwd): "\\?\X" up to its first component */
    size_t vprelen;
};

static int is_sep(uint16_t c)
{
    return c == BS || c == '/';
}

static int is_letter(uint16_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static uint16_t upper(uint16_t c)
{
    return c >= 'a' && c <= 'z' ? (uint16_t)(c - 'a' + 'A') : c;
}

static size_t wlen(const uint16_t *w)
{
    size_t n = 0;

    while (w[n])
        n++;
    return n;
}

/* The length of the component at @p[@i] (up to a separator or @n). */
static size_t comp_len(const uint16_t *p, size_t n, size_t i)
{
    size_t k = i;

    while (k < n && !is_sep(p[k]))
        k++;
    return k - i;
}

/* Whether the @n units at @p start with "\\?\" or "\\.\" (backslashes only). */
static int verbatim(const uint16_t *p, size_t n)
{
    return n >= 4 && p[0] == BS && p[1] == BS && (p[2] == '?' || p[2] == '.') && p[3] == BS;
}

/* The share root "srv\share" starting at unit @i of @p (after "\\" or "\\?\UNC\").
 * OUT: @r. @return 0, -1 when the server or the share name is missing */
static int unc_root(const uint16_t *p, size_t n, size_t i, struct root *r)
{
    r->kind = ROOT_UNC;
    r->srv = p + i;
    r->srvlen = comp_len(p, n, i);
    i += r->srvlen + (i + r->srvlen < n);
    r->share = p + i;
    r->sharelen = comp_len(p, n, i);
    r->rest = i + r->sharelen;
    return r->srvlen && r->sharelen ? 0 : -1;
}

/* Recognise the root of the @n units at @p. OUT: @r. @return 0, -1 for a broken root */
static int parse_root(const uint16_t *p, size_t n, struct root *r)
{
    memset(r, 0, sizeof(*r));
    if (verbatim(p, n)) {
        size_t i = 4, k;
        r->kind = ROOT_VERBATIM;
        if (n >= 8 && upper(p[4]) == 'U' && upper(p[5]) == 'N' && upper(p[6]) == 'C' &&
            p[7] == BS) {
            /* \\?\UNC\srv\share: a share like any other */
            return unc_root(p, n, 8, r);
        }
        if (n >= 6 && is_letter(p[4]) && p[5] == ':' && (n == 6 || is_sep(p[6]))) {
            r->kind = ROOT_DRIVE;
            r->drive = p[4];
            r->rest = 6;
            return 0;
        }
        k = comp_len(p, n, i);
        r->vpre = p;
        r->vprelen = i + k;
        r->rest = i + k;
        return k ? 0 : -1;
    }
    if (n >= 2 && is_sep(p[0]) && is_sep(p[1]))
        return unc_root(p, n, 2, r);
    if (n >= 2 && is_letter(p[0]) && p[1] == ':') {
        r->drive = p[0];
        r->kind = n > 2 && is_sep(p[2]) ? ROOT_DRIVE : ROOT_DRIVE_REL;
        r->rest = 2;
        return 0;
    }
    r->kind = n >= 1 && is_sep(p[0]) ? ROOT_SLASH : ROOT_NONE;
    r->rest = 0;
    return 0;
}

/* The output being built: the prefix, then "\component"s. */
struct wout {
    uint16_t *w;
    size_t len, cap, base; /* base: the prefix's length, which ".." never crosses */
};

static void put(struct wout *o, const uint16_t *s, size_t n)
{
    /* capacity is computed up front from the inputs' lengths */
    memcpy(o->w + o->len, s, n * sizeof(*s));
    o->len += n;
}

static void put_ascii(struct wout *o, const char *s)
{
    while (*s)
        o->w[o->len++] = (uint16_t)(unsigned char)*s++;
}

/* Write the `\\?\` prefix of root @r. */
static void put_prefix(struct wout *o, const struct root *r)
{
    if (r->kind == ROOT_VERBATIM) {
        put(o, r->vpre, r->vprelen);
    } else if (r->kind == ROOT_UNC) {
        put_ascii(o, "\\\\?\\UNC\\");
        put(o, r->srv, r->srvlen);
        o->w[o->len++] = BS;
        put(o, r->share, r->sharelen);
    } else {
        put_ascii(o, "\\\\?\\");
        o->w[o->len++] = upper(r->drive);
        o->w[o->len++] = ':';
    }
    o->base = o->len;
}

/* Append the components of @p[@i..@n), resolving "." and "..". */
static void put_comps(struct wout *o, const uint16_t *p, size_t n, size_t i)
{
    while (i < n) {
        size_t k;
        if (is_sep(p[i])) {
            i++;
            continue;
        }
        k = comp_len(p, n, i);
        if (k == 1 && p[i] == '.') {
            /* nothing */
        } else if (k == 2 && p[i] == '.' && p[i + 1] == '.') {
            while (o->len > o->base && o->w[o->len - 1] != BS)
                o->len--;
            if (o->len > o->base)
                o->len--; /* the separator */
        } else {
            o->w[o->len++] = BS;
            put(o, p + i, k);
        }
        i += k;
    }
}

/* Decode the UTF-8 path @s into UTF-16 (`/` kept: parse_root sees both). OUT: @out, @n. */
static int decode(const char *s, uint16_t **out, size_t *n)
{
    size_t len = strlen(s), i = 0, k = 0;
    uint16_t *w;

    if (len == 0)
        return mm_error_set(MM_EINVAL, "empty path");
    if (len >= (size_t)MM_WINPATH_MAX * 3)
        return mm_error_set(MM_ELIMIT, "path longer than %d characters", MM_WINPATH_MAX - 1);
    if (!(w = mm_malloc((len + 1) * sizeof(*w))))
        return MM_ENOMEM;
    while (i < len) {
        uint32_t cp;
        size_t step = mm_text_utf8((const unsigned char *)s + i, len - i, &cp);
        if (step == 0) {
            mm_free(w);
            return mm_error_set(MM_EINVAL, "path is not well-formed UTF-8 (byte %zu)", i);
        }
        i += step;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            w[k++] = (uint16_t)(0xD800 + (cp >> 10));
            w[k++] = (uint16_t)(0xDC00 + (cp & 0x3FF));
        } else {
            w[k++] = (uint16_t)cp;
        }
    }
    w[k] = 0;
    *out = w;
    *n = k;
    return 0;
}

/* The root a relative path is joined to: @cwd's. OUT: @r. @return 0, MM_EINVAL */
static int cwd_root(const uint16_t *cwd, size_t n, struct root *r)
{
    if (parse_root(cwd, n, r) != 0 ||
        (r->kind != ROOT_DRIVE && r->kind != ROOT_UNC && r->kind != ROOT_VERBATIM))
        return mm_error_set(MM_EINVAL, "current folder is not an absolute path");
    return 0;
}

int mm_winpath_wide(const char *utf8, const uint16_t *cwd, uint16_t **out)
{
    struct root r, c;
    struct wout o = { 0 };
    uint16_t *in = NULL;
    size_t n = 0, cn = cwd ? wlen(cwd) : 0;
    int err, join = 0;

    MM_ASSERT_ARG(utf8 && out);
    if ((err = decode(utf8, &in, &n)) < 0)
        return err;
    if (verbatim(in, n)) {
        if (n + 1 > MM_WINPATH_MAX)
            goto toolong;
        *out = in; /* kept as is */
        return 0;
    }
    if (parse_root(in, n, &r) != 0) {
        err = mm_error_set(MM_EINVAL, "path names a share without its name");
        goto out;
    }
    if (r.kind == ROOT_NONE || r.kind == ROOT_SLASH || (r.kind == ROOT_DRIVE_REL && cwd)) {
        if (!cwd) {
            err = mm_error_set(MM_EINVAL, "relative path without a current folder");
            goto out;
        }
        if ((err = cwd_root(cwd, cn, &c)) < 0)
            goto out;
        join = r.kind == ROOT_NONE || (r.kind == ROOT_DRIVE_REL && c.kind == ROOT_DRIVE &&
                                       upper(c.drive) == upper(r.drive));
        if (r.kind == ROOT_SLASH || join)
            r = (struct root){ .kind = c.kind,
                               .srv = c.srv,
                               .srvlen = c.srvlen,
                               .share = c.share,
                               .sharelen = c.sharelen,
                               .drive = c.drive,
                               .vpre = c.vpre,
                               .vprelen = c.vprelen,
                               .rest = r.rest };
    }
    /* prefix ("\\?\UNC\" + both root names) + cwd + '\' + path + NUL, at most */
    o.cap = 8 + r.srvlen + r.sharelen + r.vprelen + 4 + (join ? cn : 0) + 1 + n + 1;
    if (!(o.w = mm_malloc(o.cap * sizeof(*o.w)))) {
        err = MM_ENOMEM;
        goto out;
    }
    put_prefix(&o, &r);
    if (join)
        put_comps(&o, cwd, cn, c.rest);
    put_comps(&o, in, n, r.rest);
    if (o.len == o.base)
        o.w[o.len++] = BS; /* the root itself: "\\?\C:\" */
    o.w[o.len] = 0;
    if (o.len + 1 > MM_WINPATH_MAX)
        goto toolong;
    *out = o.w;
    o.w = NULL;
out:
    mm_free(o.w);
    mm_free(in);
    return err;
toolong:
    err = mm_error_set(MM_ELIMIT, "path longer than %d characters", MM_WINPATH_MAX - 1);
    goto out;
}

int mm_winpath_utf8(const uint16_t *w, size_t n, char **out)
{
    char *s;
    size_t k = 0;

    MM_ASSERT_ARG((w || n == 0) && out);
    if (!(s = mm_malloc(n * 3 + 1)))
        return MM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = w[i];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n && w[i + 1] >= 0xDC00 && w[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (w[i + 1] - 0xDC00u);
            i++;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            mm_free(s);
            return mm_error_set(MM_EINVAL, "name has a lone surrogate (unit %zu)", i);
        }
        if (cp < 0x80) {
            s[k++] = (char)cp;
        } else if (cp < 0x800) {
            s[k++] = (char)(0xC0 | (cp >> 6));
            s[k++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            s[k++] = (char)(0xE0 | (cp >> 12));
            s[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            s[k++] = (char)(0x80 | (cp & 0x3F));
        } else {
            s[k++] = (char)(0xF0 | (cp >> 18));
            s[k++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            s[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            s[k++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    s[k] = '\0';
    *out = s;
    return 0;
}

/* Whether the @n bytes at @s equal the upper-case ASCII @dev, ignoring ASCII case. */
static int same_ascii(const char *s, size_t n, const char *dev)
{
    size_t i = 0;

    for (; i < n && dev[i]; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != dev[i])
            return 0;
    }
    return i == n && dev[i] == '\0';
}

/* Whether the @n bytes at @s are a device name (the part of a name before its first dot). */
static int device(const char *s, size_t n)
{
    static const char *const plain[] = { "CON", "PRN", "AUX", "NUL" };

    while (n > 0 && s[n - 1] == ' ')
        n--; /* Win32 ignores spaces before the extension: "NUL .txt" */
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (same_ascii(s, n, plain[i]))
            return 1;
    if (n < 4 || !(same_ascii(s, 3, "COM") || same_ascii(s, 3, "LPT")))
        return 0;
    if (n == 4 && s[3] >= '1' && s[3] <= '9')
        return 1;
    /* the superscript digits ¹ ² ³ (U+00B9, U+00B2, U+00B3) name the same devices */
    return n == 5 && (unsigned char)s[3] == 0xC2 &&
           ((unsigned char)s[4] == 0xB9 || (unsigned char)s[4] == 0xB2 ||
            (unsigned char)s[4] == 0xB3);
}

const char *mm_winpath_forbidden(const char *name, size_t n)
{
    size_t i = 0, dot = n;
    uint32_t cp;

    if (!name || n == 0)
        return "empty name";
    if ((n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.'))
        return NULL;
    while (i < n) {
        size_t at = i, step = mm_text_utf8((const unsigned char *)name + i, n - i, &cp);
        if (step == 0)
            return "name is not well-formed UTF-8";
        i += step;
        if (cp < 0x20)
            return "name has a control character";
        if (cp < 0x80 && strchr("<>:\"/\\|?*", (int)cp))
            return "name has a character Windows forbids (< > : \" / \\ | ? *)";
        if (cp == '.' && dot == n)
            dot = at;
    }
    if (name[n - 1] == '.')
        return "name ends with a dot";
    if (name[n - 1] == ' ')
        return "name ends with a space";
    if (device(name, dot))
        return "name is a device name Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9)";
    return NULL;
}

const char *mm_winpath_forbidden_in(const char *utf8, size_t *at)
{
    size_t n, i = 0;

    if (!utf8)
        return NULL;
    n = strlen(utf8);
#define SEP(c) ((c) == '/' || (c) == '\\')
    if (n >= 4 && utf8[0] == '\\' && utf8[1] == '\\' && (utf8[2] == '?' || utf8[2] == '.') &&
        utf8[3] == '\\')
        return NULL;
    if (n >= 2 && SEP(utf8[0]) && SEP(utf8[1])) {
        /* \\srv\share: names of another machine, not ours to judge */
        i = 2;
        for (int k = 0; k < 2; k++) {
            while (i < n && !SEP(utf8[i]))
                i++;
            while (i < n && SEP(utf8[i]) && k == 0)
                i++;
        }
    } else if (n >= 2 && ((utf8[0] | 0x20) >= 'a' && (utf8[0] | 0x20) <= 'z') && utf8[1] == ':') {
        i = 2;
    }
    while (i < n) {
        size_t k = i;
        const char *why;
        if (SEP(utf8[i])) {
            i++;
            continue;
        }
        while (k < n && !SEP(utf8[k]))
            k++;
        if ((why = mm_winpath_forbidden(utf8 + i, k - i))) {
            if (at)
                *at = i;
            return why;
        }
        i = k;
    }
#undef SEP
    return NULL;
}
