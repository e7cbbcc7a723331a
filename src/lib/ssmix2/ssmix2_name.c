/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SS-MIX2 name parsing. Standardized file names are split on '_' into exactly 7
 * fields and each is validated strictly; extended content folders read two fields
 * from the left and three or four from the right so that the data type in the
 * middle may hold '_'. Everything works on a bounded byte span (a name is at most
 * MM_LIMIT_NAME bytes) with fixed-size locals only, so it runs once per file in a
 * walk of millions of files without allocating. A result is built in a local and
 * copied out only on success. Messages name fields, never values (PHI).
 */
#include <string.h>

#include "common/error.h"
#include "ssmix2/ssmix2.h"

#define WHAT_FILE    "file name"
#define WHAT_CONTENT "content folder name"

/* A field: @n bytes at @p, not NUL-terminated. */
struct span {
    const char *p;
    size_t n;
};

/* Whether every byte of @f is an ASCII digit (and there is at least one). */
static int all_digits(struct span f)
{
    if (f.n == 0)
        return 0;
    for (size_t i = 0; i < f.n; i++)
        if (f.p[i] < '0' || f.p[i] > '9')
            return 0;
    return 1;
}

/* The value of @n ASCII digits at @p (caller checked they are digits). */
static int num(const char *p, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

/* Whether the 8 digits at @p are a real calendar date in 1900-2999. */
static int real_date(const char *p)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y = num(p, 4), m = num(p + 4, 2), d = num(p + 6, 2);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1)
        return 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

/* Whether the 6 digits at @p are a real time of day HHmmss. */
static int real_time(const char *p)
{
    return num(p, 2) < 24 && num(p + 2, 2) < 60 && num(p + 4, 2) < 60;
}

/* Whether @f equals the NUL-terminated @s. */
static int span_eq(struct span f, const char *s)
{
    return strlen(s) == f.n && memcmp(f.p, s, f.n) == 0;
}

/* Copy @f into @dst as a C string (caller checked it fits). */
static void span_copy(char *dst, struct span f)
{
    memcpy(dst, f.p, f.n);
    dst[f.n] = '\0';
}

/* Fail with a message naming field @idx of a @what. */
static int bad_field(const char *what, int idx, const char *label, const char *why)
{
    return mm_error_set(MM_ECORRUPT, "%s field %d (%s) %s", what, idx, label, why);
}

/* Check the whole name: not empty, not too long, no control bytes and no '/'. */
static int check_bytes(const char *what, const char *name, size_t n)
{
    if (n == 0)
        return mm_error_set(MM_ECORRUPT, "empty %s", what);
    if (n > MM_LIMIT_NAME)
        return mm_error_set(MM_ECORRUPT, "%s is longer than %u bytes", what, MM_LIMIT_NAME);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f || c == '/')
            return mm_error_set(MM_ECORRUPT, "%s contains a control character or '/'", what);
    }
    return 0;
}

/* OUT: r->patient_id. Printable ASCII, no '\\', not starting with '.'. */
static int take_pid(struct mm_ssmix2_name *r, const char *what, struct span f)
{
    if (f.n == 0)
        return bad_field(what, 1, "patient id", "is empty");
    if (f.n > MM_LIMIT_PATIENT_ID)
        return bad_field(what, 1, "patient id", "is too long");
    if (f.p[0] == '.')
        return bad_field(what, 1, "patient id", "starts with '.'");
    for (size_t i = 0; i < f.n; i++)
        if (f.p[i] <= 0x20 || f.p[i] >= 0x7f || f.p[i] == '\\')
            return bad_field(what, 1, "patient id", "has a character that is not allowed");
    span_copy(r->patient_id, f);
    return 0;
}

/* OUT: r->date. "-" or a real YYYYMMDD. */
static int take_date(struct mm_ssmix2_name *r, const char *what, struct span f)
{
    if (span_eq(f, "-")) {
        span_copy(r->date, f);
        return 0;
    }
    if (f.n != MM_SSMIX2_DATE_LEN || !all_digits(f))
        return bad_field(what, 2, "care date", "is not YYYYMMDD or '-'");
    if (!real_date(f.p))
        return bad_field(what, 2, "care date", "is not a real date");
    span_copy(r->date, f);
    return 0;
}

/* Whether @f looks like a timestamp by length and digits alone. */
static int timestamp_shape(struct span f)
{
    return f.n >= MM_SSMIX2_TIMESTAMP_MIN && f.n <= MM_SSMIX2_TIMESTAMP_MAX && all_digits(f);
}

/* OUT: r->timestamp. 15-17 digits starting with a real yyyyMMddHHmmss. */
static int take_timestamp(struct mm_ssmix2_name *r, const char *what, struct span f)
{
    if (!timestamp_shape(f))
        return bad_field(what, 5, "timestamp", "is not 15-17 digits");
    if (!real_date(f.p) || !real_time(f.p + 8))
        return bad_field(what, 5, "timestamp", "is not a real date and time");
    span_copy(r->timestamp, f);
    return 0;
}

/* Whether @f is a department code: "-" or 2-3 ASCII letters or digits. */
static int dept_shape(struct span f)
{
    if (span_eq(f, "-"))
        return 1;
    if (f.n < 2 || f.n > MM_SSMIX2_DEPT_MAX)
        return 0;
    for (size_t i = 0; i < f.n; i++) {
        char c = f.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return 0;
    }
    return 1;
}

/* OUT: r->dept. */
static int take_dept(struct mm_ssmix2_name *r, const char *what, struct span f)
{
    if (!dept_shape(f))
        return bad_field(what, 6, "department", "is not '-' or 2-3 letters or digits");
    span_copy(r->dept, f);
    return 0;
}

/* OUT: r->flag. Exactly one of 0, 1, 2. */
static int take_flag(struct mm_ssmix2_name *r, const char *what, struct span f)
{
    if (f.n != 1 || f.p[0] < '0' || f.p[0] > '2')
        return bad_field(what, 7, "condition flag", "is not 0, 1 or 2");
    r->flag = (enum mm_ssmix2_flag)(f.p[0] - '0');
    return 0;
}

int mm_ssmix2_parse_name(struct mm_ssmix2_name *out, const char *name, size_t n)
{
    struct mm_ssmix2_name r;
    struct span f[7];
    size_t nf = 0, start = 0;
    int err;

    MM_ASSERT_ARG(out != NULL);
    MM_ASSERT_ARG(name != NULL);
    if ((err = check_bytes(WHAT_FILE, name, n)) < 0)
        return err;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && name[i] != '_')
            continue;
        if (nf < 7) {
            f[nf].p = name + start;
            f[nf].n = i - start;
        }
        nf++;
        start = i + 1;
    }
    if (nf != 7)
        return mm_error_set(MM_ECORRUPT, "%s has %zu field%s, expected 7", WHAT_FILE, nf,
                            nf == 1 ? "" : "s");
    memset(&r, 0, sizeof(r));
    if ((err = take_pid(&r, WHAT_FILE, f[0])) < 0 || (err = take_date(&r, WHAT_FILE, f[1])) < 0)
        return err;
    if (f[2].n > MM_SSMIX2_TYPE_MAX || !f[2].n)
        return bad_field(WHAT_FILE, 3, "data type", "is not a known data type");
    span_copy(r.type, f[2]);
    if (!mm_ssmix2_type_find(r.type))
        return bad_field(WHAT_FILE, 3, "data type", "is not a known data type");
    if (f[3].n < MM_SSMIX2_ORDER_MIN || f[3].n > MM_SSMIX2_ORDER_MAX || !all_digits(f[3]))
        return bad_field(WHAT_FILE, 4, "order number", "is not 13-15 digits");
    span_copy(r.order_no, f[3]);
    if ((err = take_timestamp(&r, WHAT_FILE, f[4])) < 0 ||
        (err = take_dept(&r, WHAT_FILE, f[5])) < 0 || (err = take_flag(&r, WHAT_FILE, f[6])) < 0)
        return err;
    r.nfields = 7;
    *out = r;
    return 0;
}

int mm_ssmix2_parse_content_folder(struct mm_ssmix2_name *out, const char *name, size_t n)
{
    struct mm_ssmix2_name r;
    size_t us[MM_LIMIT_NAME]; /* positions of '_' */
    size_t nu = 0, type_end;
    struct span pid, date, type, key, ts, dept = { "", 0 }, flag, a;
    int err;

    MM_ASSERT_ARG(out != NULL);
    MM_ASSERT_ARG(name != NULL);
    if ((err = check_bytes(WHAT_CONTENT, name, n)) < 0)
        return err;
    for (size_t i = 0; i < n; i++)
        if (name[i] == '_')
            us[nu++] = i;
    if (nu + 1 < 6)
        return mm_error_set(MM_ECORRUPT, "%s has %zu field%s, expected 6 or 7", WHAT_CONTENT,
                            nu + 1, nu == 0 ? "" : "s");
    memset(&r, 0, sizeof(r));
    pid = (struct span){ name, us[0] };
    date = (struct span){ name + us[0] + 1, us[1] - us[0] - 1 };
    flag = (struct span){ name + us[nu - 1] + 1, n - us[nu - 1] - 1 };
    a = (struct span){ name + us[nu - 2] + 1, us[nu - 1] - us[nu - 2] - 1 };
    if (timestamp_shape(a)) {
        /* 6 fields: <pid>_<date>_<type>_<key>_<timestamp>_<flag> */
        ts = a;
        key = (struct span){ name + us[nu - 3] + 1, us[nu - 2] - us[nu - 3] - 1 };
        type_end = nu - 3;
        r.nfields = 6;
    } else if (nu + 1 >= 7 && dept_shape(a)) {
        dept = a;
        ts = (struct span){ name + us[nu - 3] + 1, us[nu - 2] - us[nu - 3] - 1 };
        key = (struct span){ name + us[nu - 4] + 1, us[nu - 3] - us[nu - 4] - 1 };
        type_end = nu - 4;
        r.nfields = 7;
    } else if (nu + 1 == 6 || (all_digits(a) && a.n > MM_SSMIX2_DEPT_MAX)) {
        return bad_field(WHAT_CONTENT, 5, "timestamp", "is not 15-17 digits");
    } else {
        return bad_field(WHAT_CONTENT, 6, "department", "is not '-' or 2-3 letters or digits");
    }
    if ((err = take_pid(&r, WHAT_CONTENT, pid)) < 0 ||
        (err = take_date(&r, WHAT_CONTENT, date)) < 0)
        return err;
    type = (struct span){ name + us[1] + 1, us[type_end] - us[1] - 1 };
    if (type.n == 0)
        return bad_field(WHAT_CONTENT, 3, "data type", "is empty");
    if (type.n > MM_SSMIX2_TYPE_MAX)
        return bad_field(WHAT_CONTENT, 3, "data type", "is longer than 180 bytes");
    span_copy(r.type, type);
    if (key.n == 0)
        return bad_field(WHAT_CONTENT, 4, "key", "is empty");
    if (key.n > MM_SSMIX2_KEY_MAX)
        return bad_field(WHAT_CONTENT, 4, "key", "is longer than 64 bytes");
    span_copy(r.order_no, key);
    if ((err = take_timestamp(&r, WHAT_CONTENT, ts)) < 0)
        return err;
    span_copy(r.dept, dept);
    if ((err = take_flag(&r, WHAT_CONTENT, flag)) < 0)
        return err;
    *out = r;
    return 0;
}

int mm_ssmix2_check_path(struct mm_ssmix2_name *out, const char *relpath)
{
    struct mm_ssmix2_name r;
    struct span c[6];
    size_t nc = 0, len, pl;
    const char *s, *end;
    int err;

    MM_ASSERT_ARG(out != NULL);
    MM_ASSERT_ARG(relpath != NULL);
    len = strnlen(relpath, MM_LIMIT_PATH + 1);
    if (len == 0)
        return mm_error_set(MM_ECORRUPT, "empty path");
    if (len > MM_LIMIT_PATH)
        return mm_error_set(MM_ECORRUPT, "path is longer than %u bytes", MM_LIMIT_PATH);
    for (s = relpath, end = relpath + len; s <= end; nc++) {
        const char *e = memchr(s, '/', (size_t)(end - s));
        size_t n = e ? (size_t)(e - s) : (size_t)(end - s);

        if (n == 0)
            return mm_error_set(MM_ECORRUPT, "path has an empty level");
        if (nc < 6) {
            c[nc].p = s;
            c[nc].n = n;
        }
        s += n + 1;
    }
    if (nc != 6)
        return mm_error_set(MM_ECORRUPT, "path has %zu levels, expected 6", nc);
    if ((err = mm_ssmix2_parse_name(&r, c[5].p, c[5].n)) < 0)
        return err;
    if (!span_eq(c[2], r.patient_id))
        return mm_error_set(MM_ECORRUPT, "patient folder does not match the file name");
    pl = strlen(r.patient_id);
    if (pl >= 6) {
        if (c[0].n != 3 || memcmp(c[0].p, r.patient_id, 3) != 0)
            return mm_error_set(MM_ECORRUPT, "first prefix folder does not match the patient id");
        if (c[1].n != 3 || memcmp(c[1].p, r.patient_id + 3, 3) != 0)
            return mm_error_set(MM_ECORRUPT, "second prefix folder does not match the patient id");
    } else {
        /* short ID: accept the folders found when they are consecutive prefixes of it */
        if (c[0].n > 3 || c[0].n > pl || memcmp(c[0].p, r.patient_id, c[0].n) != 0)
            return mm_error_set(MM_ECORRUPT, "first prefix folder does not match the patient id");
        if (c[1].n > 3 || c[1].n > pl - c[0].n ||
            memcmp(c[1].p, r.patient_id + c[0].n, c[1].n) != 0)
            return mm_error_set(MM_ECORRUPT, "second prefix folder does not match the patient id");
    }
    if (!span_eq(c[3], r.date))
        return mm_error_set(MM_ECORRUPT, "date folder does not match the file name");
    if (!span_eq(c[4], r.type))
        return mm_error_set(MM_ECORRUPT, "data type folder does not match the file name");
    *out = r;
    return 0;
}
