/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HL7 v2 tokenizer over decoded UTF-8. Parsing copies the text once, finds the segment
 * lines, reads the delimiters from MSH and indexes every field separator, so a field is
 * found in O(1); repetitions, components and sub-components are found on demand with
 * memchr inside the field. A parse costs O(n) and four allocations. mm_hl7_get() results
 * live in a chunked arena (never moved, so earlier strings stay valid) and are remembered
 * in a hash table keyed by position: asking again costs no memory, so the arena is
 * bounded by the distinct positions asked for. Workload: 1-8 KB messages, a few dozen
 * lookups each. The input is never trusted: every index is checked against the text.
 */
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/limits.h"
#include "hl7/hl7.h"
#include "hl7/hl7_int.h"

#define ARENA_CHUNK 4096
#define CACHE_MIN   64

struct seg {
    size_t off;  /* start of the line in text and ids */
    size_t len;  /* bytes, without the terminator */
    size_t fsep; /* index in m->fsep of its first field separator */
    size_t nfs;  /* how many field separators it has */
};

/* A cached mm_hl7_get() result; val == NULL marks a free slot. */
struct entry {
    size_t seg;
    int field, rep, comp, sub;
    const char *val;
};

struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
};

struct mm_hl7_msg {
    char *text;       /* the message, a NUL at the end of each segment line */
    const char *ids;  /* segment IDs, NUL-terminated, at the offsets of text */
    const char *type; /* mm_hl7_msg_type() */
    struct seg *segs;
    size_t nsegs;
    uint32_t *fsep;          /* offsets in text of every field separator, segment by segment */
    char fs, cs, rs, es, ss; /* delimiters; 0 = not in use (text holds no NUL) */
    struct entry *cache;
    size_t cache_cap, cache_used;
    struct chunk *arena;
};

/* Whether @c is skipped around segments (blank lines, MLLP framing, padding). */
static int is_filler(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == 0x1C;
}

/* Whether @c may be a delimiter: printable ASCII, not a letter, digit or space. */
static int is_delim_char(unsigned char c)
{
    if (c < 0x21 || c > 0x7E)
        return 0;
    return !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
}

/* The end of the line starting at @p (first CR or LF, or @end). */
static const char *line_end(const char *p, const char *end)
{
    while (p < end && *p != '\r' && *p != '\n')
        p++;
    return p;
}

/* Whether s[0..n) is only filler bytes. */
static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_filler((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Whether segment @seg is MSH, BHS or FHS, whose field 1 is the field separator. */
static int is_header(const mm_hl7_msg *m, size_t seg)
{
    const char *id = m->ids + m->segs[seg].off;

    return m->segs[seg].len > 3 &&
           (strcmp(id, "MSH") == 0 || strcmp(id, "BHS") == 0 || strcmp(id, "FHS") == 0);
}

/*
 * The @k-th (1-based) piece of s[0..n) split at @sep (0: not split).
 * OUT: *p, *pn. @return 0 or MM_ENOTFOUND
 */
static int nth_piece(const char *s, size_t n, char sep, size_t k, const char **p, size_t *pn)
{
    const char *end = s + n, *q;

    if (sep == 0 && k != 1)
        return MM_ENOTFOUND;
    for (; k > 1; k--) {
        q = sep ? memchr(s, sep, (size_t)(end - s)) : NULL;
        if (!q)
            return MM_ENOTFOUND;
        s = q + 1;
    }
    q = sep ? memchr(s, sep, (size_t)(end - s)) : NULL;
    *p = s;
    *pn = q ? (size_t)(q - s) : (size_t)(end - s);
    return 0;
}

/* How many times @c occurs in s[0..n) (0 when @c is 0). */
static size_t count_char(const char *s, size_t n, char c)
{
    size_t k = 0;

    if (c == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == c;
    return k;
}

/*
 * Find a position (see hl7.h for the numbering); positions are normalised already.
 * OUT: *p, *pn, and *whole = 1 for MSH-1/MSH-2, which are never split or unescaped.
 * @return 0, MM_ENOTFOUND
 */
static int locate(const mm_hl7_msg *m, size_t seg, int field, int rep, int comp, int sub,
                  const char **p, size_t *pn, int *whole)
{
    const struct seg *sg;
    size_t piece = (size_t)field, start, stop;

    *whole = 0;
    if (seg >= m->nsegs)
        return MM_ENOTFOUND;
    sg = &m->segs[seg];
    if (field == 0) {
        *p = m->text + sg->off;
        *pn = sg->len;
        return 0;
    }
    if (is_header(m, seg)) {
        if (field <= 2 && (rep > 1 || comp > 1 || sub > 1))
            return MM_ENOTFOUND;
        if (field == 1) {
            *p = m->text + sg->off + 3;
            *pn = 1;
            *whole = 1;
            return 0;
        }
        piece = (size_t)field - 1;
        *whole = field == 2;
    }
    /* piece 0 is the segment ID; the field index gives any piece in O(1) */
    if (piece > sg->nfs)
        return MM_ENOTFOUND;
    start = piece == 0 ? sg->off : m->fsep[sg->fsep + piece - 1] + 1;
    stop = piece < sg->nfs ? m->fsep[sg->fsep + piece] : sg->off + sg->len;
    *p = m->text + start;
    *pn = stop - start;
    if (*whole || rep == 0)
        return 0;
    if (nth_piece(*p, *pn, m->rs, (size_t)rep, p, pn) < 0)
        return MM_ENOTFOUND;
    if (comp == 0)
        return 0;
    if (nth_piece(*p, *pn, m->cs, (size_t)comp, p, pn) < 0)
        return MM_ENOTFOUND;
    if (sub == 0)
        return 0;
    return nth_piece(*p, *pn, m->ss, (size_t)sub, p, pn);
}

/* Zero the levels after the first 0, so one position has one key. */
static void normalise(int *field, int *rep, int *comp, int *sub)
{
    if (*field == 0)
        *rep = 0;
    if (*rep == 0)
        *comp = 0;
    if (*comp == 0)
        *sub = 0;
}

int mm_hl7_get_raw(const mm_hl7_msg *m, size_t seg, int field, int rep, int comp, int sub,
                   const char **p, size_t *n)
{
    int whole;

    MM_ASSERT_ARG(m != NULL && p != NULL && n != NULL);
    *p = "";
    *n = 0;
    if (field < 0 || rep < 0 || comp < 0 || sub < 0)
        return mm_error_set(MM_EINVAL, "hl7: negative position");
    normalise(&field, &rep, &comp, &sub);
    if (locate(m, seg, field, rep, comp, sub, p, n, &whole) < 0) {
        *p = "";
        *n = 0;
        return mm_error_set(MM_ENOTFOUND, "hl7: no such position");
    }
    return 0;
}

/* Value of hex digit @c, or -1. */
static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/*
 * Decode the body of a \Xhh..\ escape (b[0..n), after the X) into @dst when it is an even
 * number of hex digits giving valid UTF-8 without NUL. @return the bytes written, or -1.
 */
static long unescape_hex(const char *b, size_t n, char *dst)
{
    size_t k = n / 2, i, len;

    if (n == 0 || n % 2 != 0)
        return -1;
    for (i = 0; i < k; i++) {
        int hi = hexval((unsigned char)b[2 * i]), lo = hexval((unsigned char)b[2 * i + 1]);

        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -1;
        dst[i] = (char)(hi << 4 | lo);
    }
    for (i = 0; i < k; i += len)
        if (mm_hl7__utf8_next((const unsigned char *)dst + i, k - i, &len) == UINT32_MAX)
            return -1;
    return (long)k;
}

/* The delimiter an escape letter stands for, or 0. */
static char escape_delim(const mm_hl7_msg *m, char letter)
{
    switch (letter) {
    case 'F':
        return m->fs;
    case 'S':
        return m->cs;
    case 'T':
        return m->ss;
    case 'R':
        return m->rs;
    case 'E':
        return m->es;
    default:
        return 0;
    }
}

/* Copy s[0..n) to @dst resolving escapes; the result is never longer. @return its length */
static size_t unescape(const mm_hl7_msg *m, const char *s, size_t n, char *dst)
{
    size_t i = 0, o = 0;

    while (i < n) {
        const char *close, *body;
        size_t blen;
        long k;
        char d;

        if (m->es == 0 || s[i] != m->es || !(close = memchr(s + i + 1, m->es, n - i - 1))) {
            dst[o++] = s[i++];
            continue;
        }
        body = s + i + 1;
        blen = (size_t)(close - body);
        if (blen == 1 && (d = escape_delim(m, body[0])) != 0) {
            dst[o++] = d;
        } else if (blen == 3 && memcmp(body, ".br", 3) == 0) {
            dst[o++] = '\n';
        } else if (blen >= 1 && body[0] == 'X' &&
                   (k = unescape_hex(body + 1, blen - 1, dst + o)) >= 0) {
            o += (size_t)k;
        } else {
            /* unknown (\H\ \N\ \Zxx\ ...) or malformed: kept as written */
            memcpy(dst + o, s + i, blen + 2);
            o += blen + 2;
        }
        i += blen + 2;
    }
    return o;
}

/* Room for @n bytes in the arena, or NULL (MM_ENOMEM). */
static char *arena_alloc(mm_hl7_msg *m, size_t n)
{
    struct chunk *c = m->arena;
    char *p;

    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;

        c = mm_malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        /* a big block goes behind the current chunk, which may still have room */
        if (m->arena && n > ARENA_CHUNK) {
            c->next = m->arena->next;
            m->arena->next = c;
        } else {
            c->next = m->arena;
            m->arena = c;
        }
    }
    p = c->data + c->used;
    c->used += n;
    return p;
}

/* Hash of a normalised position. */
static size_t pos_hash(size_t seg, int field, int rep, int comp, int sub)
{
    uint64_t h = (uint64_t)seg * 0x9E3779B97F4A7C15u;

    h ^= (uint64_t)(unsigned int)field * 0xC2B2AE3D27D4EB4Fu;
    h ^= (uint64_t)(unsigned int)rep * 0x165667B19E3779F9u;
    h ^= (uint64_t)(unsigned int)comp * 0xD6E8FEB86659FD93u;
    h ^= (uint64_t)(unsigned int)sub * 0xFF51AFD7ED558CCDu;
    h ^= h >> 31;
    return (size_t)h;
}

/* The cache slot of a position: its entry, or the free slot where it belongs. */
static struct entry *cache_slot(struct entry *tab, size_t cap, size_t seg, int field, int rep,
                                int comp, int sub)
{
    size_t i = pos_hash(seg, field, rep, comp, sub) & (cap - 1);

    for (;; i = (i + 1) & (cap - 1)) {
        struct entry *e = &tab[i];

        if (!e->val || (e->seg == seg && e->field == field && e->rep == rep && e->comp == comp &&
                        e->sub == sub))
            return e;
    }
}

/* Make room for one more cache entry. @return 0, MM_ENOMEM */
static int cache_reserve(mm_hl7_msg *m)
{
    struct entry *tab;
    size_t cap;

    if ((m->cache_used + 1) * 2 <= m->cache_cap)
        return 0;
    cap = m->cache_cap ? m->cache_cap * 2 : CACHE_MIN;
    tab = mm_calloc(cap, sizeof(*tab));
    if (!tab)
        return MM_ENOMEM;
    for (size_t i = 0; i < m->cache_cap; i++) {
        struct entry *e = &m->cache[i];

        if (e->val)
            *cache_slot(tab, cap, e->seg, e->field, e->rep, e->comp, e->sub) = *e;
    }
    mm_free(m->cache);
    m->cache = tab;
    m->cache_cap = cap;
    return 0;
}

/* Whether s[0..n) holds any of the delimiters below the level a 0 stopped at. */
static int has_inner_delims(const mm_hl7_msg *m, const char *s, size_t n, int field, int rep,
                            int comp, int sub)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if ((field == 0 && c == m->fs) || (rep == 0 && c == m->rs) || (comp == 0 && c == m->cs) ||
            (sub == 0 && c == m->ss))
            return c != 0;
    }
    return 0;
}

const char *mm_hl7_get(mm_hl7_msg *m, size_t seg, int field, int rep, int comp, int sub)
{
    struct entry *e;
    const char *p;
    size_t n;
    char *dst;
    int whole;

    if (!m || field < 0 || rep < 0 || comp < 0 || sub < 0)
        return "";
    normalise(&field, &rep, &comp, &sub);
    if (m->cache_cap) {
        e = cache_slot(m->cache, m->cache_cap, seg, field, rep, comp, sub);
        if (e->val)
            return e->val;
    }
    if (locate(m, seg, field, rep, comp, sub, &p, &n, &whole) < 0 || n == 0)
        return "";
    if (cache_reserve(m) < 0)
        return NULL;
    if (!(dst = arena_alloc(m, n + 1)))
        return NULL;
    if (whole || has_inner_delims(m, p, n, field, rep, comp, sub)) {
        memcpy(dst, p, n);
        dst[n] = '\0';
    } else {
        dst[unescape(m, p, n, dst)] = '\0';
    }
    e = cache_slot(m->cache, m->cache_cap, seg, field, rep, comp, sub);
    e->seg = seg;
    e->field = field;
    e->rep = rep;
    e->comp = comp;
    e->sub = sub;
    e->val = dst;
    m->cache_used++;
    return dst;
}

/* Length of the item at a normalised position, 0 when absent. OUT: *p, *whole */
static size_t item(const mm_hl7_msg *m, size_t seg, int field, int rep, int comp, const char **p,
                   int *whole)
{
    size_t n;

    if (!m || field < 1 || rep < 0 || comp < 0)
        return 0;
    if (locate(m, seg, field, rep, comp, 0, p, &n, whole) < 0)
        return 0;
    return n;
}

size_t mm_hl7_rep_count(const mm_hl7_msg *m, size_t seg, int field)
{
    const char *p;
    int whole;
    size_t n = item(m, seg, field, 0, 0, &p, &whole);

    if (n == 0)
        return 0;
    return whole ? 1 : 1 + count_char(p, n, m->rs);
}

size_t mm_hl7_comp_count(const mm_hl7_msg *m, size_t seg, int field, int rep)
{
    const char *p;
    int whole;
    size_t n = rep < 1 ? 0 : item(m, seg, field, rep, 0, &p, &whole);

    if (n == 0)
        return 0;
    return whole ? 1 : 1 + count_char(p, n, m->cs);
}

size_t mm_hl7_sub_count(const mm_hl7_msg *m, size_t seg, int field, int rep, int comp)
{
    const char *p;
    int whole;
    size_t n = rep < 1 || comp < 1 ? 0 : item(m, seg, field, rep, comp, &p, &whole);

    if (n == 0)
        return 0;
    return whole ? 1 : 1 + count_char(p, n, m->ss);
}

size_t mm_hl7_field_count(const mm_hl7_msg *m, size_t seg)
{
    size_t k;

    if (!m || seg >= m->nsegs)
        return 0;
    k = m->segs[seg].nfs;
    return is_header(m, seg) ? k + 1 : k;
}

size_t mm_hl7_segment_count(const mm_hl7_msg *m)
{
    return m ? m->nsegs : 0;
}

const char *mm_hl7_segment_id(const mm_hl7_msg *m, size_t seg)
{
    if (!m || seg >= m->nsegs)
        return "";
    return m->ids + m->segs[seg].off;
}

size_t mm_hl7_find(const mm_hl7_msg *m, const char *id, size_t from)
{
    if (!m || !id)
        return SIZE_MAX;
    for (size_t i = from; i < m->nsegs; i++)
        if (strcmp(m->ids + m->segs[i].off, id) == 0)
            return i;
    return SIZE_MAX;
}

const char *mm_hl7_msg_type(const mm_hl7_msg *m)
{
    return m ? m->type : "";
}

/*
 * Check MSH-1/MSH-2 at the start of s[0..n) and set the delimiters of @m.
 * @return 0, MM_ECORRUPT
 */
static int read_delimiters(mm_hl7_msg *m, const char *s, size_t n)
{
    const char *end = line_end(s, s + n);
    char d[6] = { 0 };
    size_t k;

    if ((size_t)(end - s) < 3 || memcmp(s, "MSH", 3) != 0)
        return mm_error_set(MM_ECORRUPT, "hl7: the message does not start with msh");
    if ((size_t)(end - s) < 5)
        return mm_error_set(MM_ECORRUPT, "hl7: msh too short");
    d[0] = s[3];
    for (k = 1; 3 + k < (size_t)(end - s) && s[3 + k] != d[0]; k++) {
        if (k > 5)
            return mm_error_set(MM_ECORRUPT, "hl7: msh-2 is too long");
        d[k] = s[3 + k];
    }
    if (k < 2)
        return mm_error_set(MM_ECORRUPT, "hl7: msh-2 is empty");
    for (size_t i = 0; i < k; i++) {
        if (!is_delim_char((unsigned char)d[i]))
            return mm_error_set(MM_ECORRUPT, "hl7: bad delimiter in msh");
        for (size_t j = 0; j < i; j++)
            if (d[i] == d[j])
                return mm_error_set(MM_ECORRUPT, "hl7: repeated delimiter in msh");
    }
    m->fs = d[0];
    m->cs = d[1];
    m->rs = d[2];
    m->es = d[3];
    m->ss = d[4];
    return 0;
}

/* Fill m->type from MSH-9 into @dst (room for the MSH line plus 2 bytes). */
static void read_type(mm_hl7_msg *m, char *dst)
{
    const char *p;
    size_t n, o = 0;
    int whole;

    m->type = dst;
    if (locate(m, 0, 9, 1, 1, 0, &p, &n, &whole) == 0)
        o = unescape(m, p, n, dst);
    if (o > 0 && locate(m, 0, 9, 1, 2, 0, &p, &n, &whole) == 0 && n > 0) {
        dst[o++] = '^';
        o += unescape(m, p, n, dst + o);
    }
    dst[o] = '\0';
}

void mm_hl7_free(mm_hl7_msg *m)
{
    struct chunk *c, *next;

    if (!m)
        return;
    for (c = m->arena; c; c = next) {
        next = c->next;
        mm_free(c);
    }
    mm_free(m->cache);
    mm_free(m->fsep);
    mm_free(m->segs);
    mm_free(m->text);
    mm_free(m);
}

int mm_hl7_parse(mm_hl7_msg **out, const char *utf8, size_t n)
{
    const char *s = utf8, *end, *nul;
    mm_hl7_msg *m = NULL;
    size_t len, k = 0, f = 0, capsegs, capfs;
    char *ids, *q;
    int err;

    MM_ASSERT_ARG(out != NULL);
    MM_ASSERT_ARG(utf8 != NULL || n == 0);
    if (n > MM_LIMIT_HL7_MESSAGE)
        return mm_error_set(MM_ELIMIT, "hl7: message over %u bytes", MM_LIMIT_HL7_MESSAGE);
    if (n == 0)
        return mm_error_set(MM_ECORRUPT, "hl7: the message is empty");
    end = s + n;
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    while (s < end && (is_filler((unsigned char)*s) || *s == '\r' || *s == '\n'))
        s++;
    while (end > s && (is_filler((unsigned char)end[-1]) || end[-1] == '\r' || end[-1] == '\n' ||
                       end[-1] == '\0'))
        end--;
    len = (size_t)(end - s);
    if ((nul = memchr(s, '\0', len)) != NULL)
        return mm_error_set(MM_ECORRUPT, "hl7: nul byte at offset %zu", (size_t)(nul - utf8));
    if (!(m = mm_calloc(1, sizeof(*m))))
        return MM_ENOMEM;
    if ((err = read_delimiters(m, s, len)) < 0)
        goto out;
    /* text, then the IDs at the same offsets, then the type (never longer than MSH) */
    capsegs = 32;
    capfs = len / 8 + 64;
    if (!(m->text = mm_malloc(3 * (len + 1))) ||
        !(m->segs = mm_malloc(capsegs * sizeof(*m->segs))) ||
        !(m->fsep = mm_malloc(capfs * sizeof(*m->fsep)))) {
        err = MM_ENOMEM;
        goto out;
    }
    memcpy(m->text, s, len);
    m->text[len] = '\0';
    ids = m->text + len + 1;
    /* one pass: cut the lines, note every field separator, skip blank lines */
    for (q = m->text; q < m->text + len; q++) {
        const size_t off = (size_t)(q - m->text);
        const size_t f0 = f;
        const char fs = m->fs;
        char *l0 = q;
        size_t l, idl;

        for (; *q && *q != '\r' && *q != '\n'; q++) {
            if (*q != fs)
                continue;
            if (f == capfs) {
                uint32_t *nf = mm_realloc(m->fsep, (capfs *= 2) * sizeof(*nf));
                if (!nf) {
                    err = MM_ENOMEM;
                    goto out;
                }
                m->fsep = nf;
            }
            m->fsep[f++] = (uint32_t)(q - m->text);
        }
        l = (size_t)(q - l0);
        *q = '\0';
        if (l == 0 || (is_filler((unsigned char)l0[0]) && is_blank(l0, l))) {
            f = f0;
            continue;
        }
        if (k == MM_LIMIT_HL7_SEGMENTS) {
            err = mm_error_set(MM_ELIMIT, "hl7: over %u segments", MM_LIMIT_HL7_SEGMENTS);
            goto out;
        }
        if (k == capsegs) {
            struct seg *ns = mm_realloc(m->segs, (capsegs *= 2) * sizeof(*ns));
            if (!ns) {
                err = MM_ENOMEM;
                goto out;
            }
            m->segs = ns;
        }
        idl = f > f0 ? m->fsep[f0] - off : l;
        m->segs[k].off = off;
        m->segs[k].len = l;
        m->segs[k].fsep = f0;
        m->segs[k].nfs = f - f0;
        memcpy(ids + off, l0, idl);
        ids[off + idl] = '\0';
        k++;
    }
    m->ids = ids;
    m->nsegs = k;
    read_type(m, ids + len + 1);
    *out = m;
    m = NULL; /* now owned by the caller */
    err = 0;
out:
    mm_hl7_free(m);
    return err;
}
