/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What one file is, from its name and its first bytes (at most MM_REPO_DELTA_HEAD): the type
 * its extension promises, the magic numbers of the types that are high-entropy by nature,
 * the byte entropy of the head, whether an SS-MIX2 message file still starts as HL7 whose MSH
 * segment decodes and tokenises, and whether a name or a rename follows the SS-MIX2
 * convention. Pure functions on bytes: no file access, safe from any thread.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "guard/guard_int.h"
#include "hl7/hl7.h"
#include "ssmix2/ssmix2.h"

/* log2(x) for x > 0 without libm: exponent by halving, then 2 atanh((m-1)/(m+1)). */
static double lg2(double x)
{
    double e = 0, y, y2, term, sum = 0;
    int k;

    while (x >= 2.0) {
        x /= 2.0;
        e += 1;
    }
    while (x < 1.0) {
        x *= 2.0;
        e -= 1;
    }
    y = (x - 1.0) / (x + 1.0);
    y2 = y * y;
    term = y;
    for (k = 1; k < 40; k += 2) {
        sum += term / k;
        term *= y2;
    }
    return e + 2.0 * sum / 0.69314718055994530942;
}

double mm_guard__entropy(const unsigned char *p, size_t n)
{
    size_t count[256] = { 0 }, i;
    double h = 0;

    if (!n)
        return 0;
    for (i = 0; i < n; i++)
        count[p[i]]++;
    for (i = 0; i < 256; i++) {
        if (count[i]) {
            double q = (double)count[i] / (double)n;
            h -= q * lg2(q);
        }
    }
    return h;
}

/* The share of bytes below 0x20 that text never holds (not TAB CR LF FF VT ESC FS). */
static double ctrl_share(const unsigned char *p, size_t n)
{
    size_t i, c = 0;

    for (i = 0; i < n; i++) {
        unsigned char b = p[i];
        if ((b < 0x20 || b == 0x7f) && b != '\t' && b != '\r' && b != '\n' && b != 0x0b &&
            b != 0x0c && b != 0x1b && b != 0x1c)
            c++;
    }
    return n ? (double)c / (double)n : 0;
}

int mm_guard__looks_random(const unsigned char *p, size_t n, enum mm_guard__ftype t)
{
    double h;

    if (n < 256)
        return 0;
    h = mm_guard__entropy(p, n);
    if (t == MM_GUARD__FT_BINARY)
        return h > 7.0 && !mm_guard__binary_magic(p, n);
    /* text: above 6.0 bits per byte with control bytes text never holds (Shift_JIS or
     * UTF-8 Japanese may come near 6 but holds none), or above 7.2 whatever it holds */
    return h > 7.2 || (h > 6.0 && ctrl_share(p, n) >= 0.01);
}

/* The last '.' extension of @name, lower-cased into @out ("" when none). */
static void ext_of(const char *name, char *out, size_t cap)
{
    const char *dot = strrchr(name, '.');
    size_t i;

    out[0] = 0;
    if (!dot || dot == name || strlen(dot + 1) >= cap)
        return;
    for (i = 0; dot[1 + i]; i++) {
        char c = dot[1 + i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[i] = 0;
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

/* The type extension @ext promises. */
static enum mm_guard__ftype type_by_ext(const char *ext)
{
    static const char *const text[] = { "txt",  "csv", "tsv", "xml", "hl7", "json", "htm",
                                        "html", "log", "ini", "sql", "md",  NULL };
    static const char *const bin[] = { "pdf",  "jpg",  "jpeg", "png", "gif", "zip", "docx",
                                       "xlsx", "pptx", "dcm",  "gz",  "zst", "7z",  "tif",
                                       "tiff", "mp4",  "bz2",  "xz",  NULL };

    if (in_list(ext, text))
        return MM_GUARD__FT_TEXT;
    if (in_list(ext, bin))
        return MM_GUARD__FT_BINARY;
    return MM_GUARD__FT_UNKNOWN;
}

enum mm_guard__ftype mm_guard__type_by_name(const char *name)
{
    char ext[16], stem[256];
    const char *dot = strrchr(name, '.');
    enum mm_guard__ftype t;

    ext_of(name, ext, sizeof(ext));
    if ((t = type_by_ext(ext)) != MM_GUARD__FT_UNKNOWN || !dot || dot == name)
        return t;
    /* an extension appended to a known one (report.csv.x7k2q9a): the inner one tells */
    if ((size_t)(dot - name) >= sizeof(stem))
        return MM_GUARD__FT_UNKNOWN;
    memcpy(stem, name, (size_t)(dot - name));
    stem[dot - name] = 0;
    ext_of(stem, ext, sizeof(ext));
    return type_by_ext(ext);
}

int mm_guard__binary_magic(const unsigned char *p, size_t n)
{
    static const struct {
        const char *m;
        size_t n;
    } magic[] = {
        { "%PDF", 4 },
        { "\xff\xd8\xff", 3 },
        { "\x89PNG", 4 },
        { "PK\x03\x04", 4 },
        { "PK\x05\x06", 4 },
        { "\x1f\x8b", 2 },
        { "\x28\xb5\x2f\xfd", 4 },
        { "7z\xbc\xaf", 4 },
        { "GIF8", 4 },
        { "II*\0", 4 },
        { "MM\0*", 4 },
        { "BZh", 3 },
        { "\xfd"
          "7zXZ",
          5 },
        { "\xd0\xcf\x11\xe0", 4 },
        { "Rar!", 4 },
    };
    size_t i;

    for (i = 0; i < sizeof(magic) / sizeof(magic[0]); i++)
        if (n >= magic[i].n && !memcmp(p, magic[i].m, magic[i].n))
            return 1;
    if (n >= 132 && !memcmp(p + 128, "DICM", 4))
        return 1;
    /* a PDF may start with up to 1 KiB of anything before its header */
    for (i = 1; i + 4 <= n && i < 1024; i++)
        if (p[i] == '%' && !memcmp(p + i, "%PDF", 4))
            return 1;
    /* DICOM without its preamble (old exports): the first tag, group 0002 or 0008, element
     * below 0x0100, little endian */
    if (n >= 8 && (p[0] == 0x02 || p[0] == 0x08) && p[1] == 0 && p[3] == 0)
        return 1;
    if (n >= 12 && !memcmp(p + 4, "ftyp", 4))
        return 1;
    return 0;
}

int mm_guard__hl7_ok(const unsigned char *p, size_t n)
{
    size_t i = 0, end;
    mm_buf utf8;
    mm_hl7_msg *m = NULL;
    int ok;

    /* what mm_hl7_parse skips before MSH: whitespace, MLLP 0x0B, a UTF-8 BOM */
    if (n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n' || p[i] == 0x0b))
        i++;
    if (n - i < 8 || memcmp(p + i, "MSH", 3))
        return 0;
    for (end = i; end < n && p[end] != '\r' && p[end] != '\n'; end++)
        ;
    mm_buf_init(&utf8, 2 * MM_REPO_DELTA_HEAD + 64);
    /* lenient decoding: a sender's stray Shift_JIS byte in MSH is not an attack; encrypted
     * bytes never start with "MSH" and a field structure */
    ok = !mm_jis_decode(&utf8, (const char *)p + i, end - i, 0, NULL) &&
         !mm_hl7_parse(&m, utf8.ptr ? utf8.ptr : "", utf8.len) && mm_hl7_field_count(m, 0) >= 9;
    mm_hl7_free(m);
    mm_buf_release(&utf8);
    return ok;
}

/* The last @k '/'-separated levels of @dir followed by '/' and @name, into @out.
 * @return 1 when @dir has that many levels and it fits */
static int last_levels(const char *dir, const char *name, unsigned k, char *out, size_t cap)
{
    size_t i = strlen(dir);
    unsigned got = 0;

    if (!i)
        return 0;
    for (; i > 0; i--) {
        if (dir[i - 1] == '/' && ++got == k)
            break;
    }
    if (!i)
        got++;
    if (got < k)
        return 0;
    return snprintf(out, cap, "%s/%s", dir + i, name) < (int)cap;
}

/* The last level of @dir (the file's folder), into @out. */
static void parent_of(const char *dir, char *out, size_t cap)
{
    const char *s = strrchr(dir, '/');

    snprintf(out, cap, "%s", s ? s + 1 : dir);
}

int mm_guard__ssmix2_msg(const char *dir, const char *name)
{
    char rel[1024], parent[512];
    struct mm_ssmix2_name nm;

    if (last_levels(dir, name, 5, rel, sizeof(rel)) && !mm_ssmix2_check_path(&nm, rel))
        return MM_GUARD__STD;
    parent_of(dir, parent, sizeof(parent));
    if (parent[0] && !mm_ssmix2_parse_content_folder(&nm, parent, strlen(parent)))
        return MM_GUARD__EXT;
    return 0;
}

/*
 * Whether the three levels above the date folder of @dir (its last level @s) are the
 * patient's: <pid[0:3]>/<pid[3:6]>/<pid> (a short ID: consecutive prefixes of it), as
 * mm_ssmix2_check_path wants. A department folder that merely has a "standard" folder and a
 * data-type name in it is not a storage.
 */
static int patient_levels(const char *dir, const char *s)
{
    const char *lv[5];
    size_t len[4], pl;
    const char *e = s; /* the '/' before the type folder */
    int k = 4;

    while (k > 0) { /* lv[3] date, lv[2] patient, lv[1] and lv[0] prefixes */
        const char *b = e;
        while (b > dir && b[-1] != '/')
            b--;
        if (b == e)
            return 0;
        lv[--k] = b;
        len[k] = (size_t)(e - b);
        if (k > 0 && b == dir)
            return 0;
        e = b - 1;
    }
    pl = len[2];
    if (pl >= 6)
        return len[0] == 3 && len[1] == 3 && !memcmp(lv[0], lv[2], 3) &&
               !memcmp(lv[1], lv[2] + 3, 3);
    return len[0] <= 3 && len[0] <= pl && !memcmp(lv[0], lv[2], len[0]) && len[1] <= 3 &&
           len[1] <= pl - len[0] && !memcmp(lv[1], lv[2] + len[0], len[1]);
}

int mm_guard__ssmix2_type_folder(const char *dir)
{
    const char *s = strrchr(dir, '/');
    size_t n, i;

    if (!s || !mm_ssmix2_type_find(s + 1) || !patient_levels(dir, s))
        return 0;
    /* the date folder above it: "-" or 8 digits */
    for (n = 0; s - n > dir && s[-(long)n - 1] != '/'; n++)
        ;
    if (n == 1 && s[-1] == '-')
        return 1;
    if (n != 8)
        return 0;
    for (i = 1; i <= 8; i++)
        if (s[-(long)i] < '0' || s[-(long)i] > '9')
            return 0;
    return 1;
}

int mm_guard__ssmix2_foreign(const char *dir, const char *name)
{
    char parent[512];
    const char *dot = strchr(name, '.');
    struct mm_ssmix2_name nm;

    static const char *const os_files[] = { "Thumbs.db", "desktop.ini", ".DS_Store", NULL };

    if (mm_guard__ssmix2_msg(dir, name) || in_list(name, os_files) || !strncmp(name, "._", 2))
        return 0; /* (files an operating system leaves in any folder a person opened) */
    /* an SS-MIX2 name with something appended (<name>.locked, <name>.a1b2c3) */
    if (dot && dot > name && !mm_ssmix2_parse_name(&nm, name, (size_t)(dot - name)))
        return 1;
    /* a data-type folder holds message files only; elsewhere (the storage's own index and
     * control files, department files beside it) names are not judged by the convention */
    parent_of(dir, parent, sizeof(parent));
    return mm_ssmix2_type_find(parent) != NULL && mm_guard__ssmix2_type_folder(dir);
}

int mm_guard__ssmix2_flag(const char *name)
{
    size_t n = strlen(name);

    if (n < 3 || name[n - 2] != '_' || name[n - 1] < '0' || name[n - 1] > '2')
        return -1;
    return name[n - 1] - '0';
}

int mm_guard__ssmix2_rename_ok(const char *old_name, const char *name)
{
    size_t n = strlen(name);
    int from = mm_guard__ssmix2_flag(old_name), to = mm_guard__ssmix2_flag(name);

    if (from < 0 || to < 0 || strlen(old_name) != n || memcmp(old_name, name, n - 1))
        return 0;
    /* _1 -> _2 (superseded), _1 -> _0 and _2 -> _0 (cancelled) */
    return (from == 1 && (to == 2 || to == 0)) || (from == 2 && to == 0);
}

uint64_t mm_guard__pair_key(const char *dir, const char *name)
{
    uint64_t h = 1469598103934665603ull;
    size_t n = strlen(name), i;
    const char *s;

    if (mm_guard__ssmix2_flag(name) >= 0)
        n -= 2;
    for (s = dir; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h = (h ^ '/') * 1099511628211ull;
    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
    return h;
}
