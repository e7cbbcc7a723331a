/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading the configuration (config.h). The file is read whole (at most MM_CONFIG_MAX_SIZE)
 * and fed to inih line by line through our own reader, which counts lines (Debian's inih
 * does not pass line numbers to the handler), strips a UTF-8 BOM, CR and indentation (so an
 * indented key is never taken for inih's continuation line), checks each line's shape and
 * takes the section headers itself: `[name]` or `[name "VALUE"]`, git's convention. inih
 * then splits `key = value` (a ';' after a blank starts a comment) and calls the handler,
 * which checks and stores the value. Every problem is collected with file, line and key;
 * the cross-section checks (required keys, rotation coverage, retention floors) run after
 * the last line. Workload: a file of a few hundred lines, read once per command.
 */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "config/config_int.h"

enum sect { S_HOSPITAL, S_SERVICE, S_SOURCE, S_MEDIA, S_MEDIUM, S_HOOKS, S_VAULT, S_COUNT };

#define MAX_KEYS 12

struct key {
    const char *name;
    enum mm_config__type type;
    size_t off; /* into the section's struct */
};

struct section_def {
    const char *name;
    int named; /* takes a "VALUE" in its header */
    struct key keys[MAX_KEYS];
};

#define K(n, t, s, f)        \
    {                        \
        n, t, offsetof(s, f) \
    }
#define SRC struct mm_config_source
#define MED struct mm_config_medium

static const struct section_def sections[S_COUNT] = {
    [S_HOSPITAL] = { "hospital",
                     0,
                     { K("id", T_ID, struct mm_config_hospital, id),
                       K("name", T_TEXT, struct mm_config_hospital, name) } },
    [S_SERVICE] = { "service",
                    0,
                    { K("user", T_USER, struct mm_config_service, user),
                      K("state_dir", T_PATH, struct mm_config_service, state_dir),
                      K("full_drill_interval", T_DURATION, struct mm_config_service,
                        full_drill_interval),
                      K("structural_drill_interval", T_DURATION0, struct mm_config_service,
                        structural_drill_interval),
                      K("passphrase_file", T_PATH, struct mm_config_service, passphrase_file) } },
    [S_SOURCE] = { "source",
                   1,
                   { K("kind", T_KIND, SRC, kind), K("path", T_PATH, SRC, path),
                     K("extended", T_PATH, SRC, extended), K("schedule", T_SCHEDULE, SRC, schedule),
                     K("rpo", T_DURATION, SRC, rpo), K("enabled", T_BOOL, SRC, enabled),
                     K("guard", T_BOOL, SRC, guard),
                     K("guard_max_modified", T_PERCENT, SRC, guard_max_modified),
                     K("guard_max_deleted", T_PERCENT, SRC, guard_max_deleted),
                     K("guard_max_added", T_PERCENT, SRC, guard_max_added),
                     K("guard_canary", T_BOOL, SRC, guard_canary) } },
    [S_MEDIA] = { "media",
                  0,
                  { K("rotation", T_ROTATION, struct mm_config_media, rotation),
                    K("staging", T_PATH, struct mm_config_media, staging),
                    K("staging_expiry", T_DURATION, struct mm_config_media, staging_expiry),
                    K("weekly_day", T_WEEKDAY, struct mm_config_media, weekly_day),
                    K("keep_min_age", T_DURATION, struct mm_config_media, keep_min_age),
                    K("keep_min_clean", T_COUNT, struct mm_config_media, keep_min_clean) } },
    [S_MEDIUM] = { "medium",
                   1,
                   { K("days", T_DAYS, MED, days), K("role", T_ROLE, MED, role),
                     K("keep", T_COUNT, MED, keep), K("keep_age", T_DURATION, MED, keep_age),
                     K("path", T_PATH, MED, path), K("fs_uuid", T_UUID, MED, fs_uuid),
                     K("fs_label", T_FSLABEL, MED, fs_label),
                     K("credential", T_PATH, MED, credential) } },
    [S_HOOKS] = { "hooks",
                  0,
                  { K("attach", T_PATH, struct mm_config_hooks, attach.path),
                    K("attach_timeout", T_DURATION, struct mm_config_hooks, attach.timeout),
                    K("detach", T_PATH, struct mm_config_hooks, detach.path),
                    K("detach_timeout", T_DURATION, struct mm_config_hooks, detach.timeout),
                    K("alert", T_PATH, struct mm_config_hooks, alert.path),
                    K("alert_timeout", T_DURATION, struct mm_config_hooks, alert.timeout) } },
    [S_VAULT] = { "vault",
                  0,
                  { K("url", T_S3URL, struct mm_config_vault, url),
                    K("credentials", T_PATH, struct mm_config_vault, credentials),
                    K("retain", T_DURATION, struct mm_config_vault, retain),
                    K("lock_mode", T_LOCKMODE, struct mm_config_vault, governance) } },
};

struct mm_config {
    char *path;
    struct mm_config_hospital hospital;
    struct mm_config_service service;
    struct mm_config_media media;
    struct mm_config_hooks hooks;
    struct mm_config_vault vault;
    struct mm_config_source *sources;
    size_t nsources;
    struct mm_config_medium *media_list;
    size_t nmedia;
};

/* One section as written in the file. */
struct inst {
    enum sect kind;
    int line;
    size_t index; /* into sources or media_list */
    int key_line[MAX_KEYS];
};

struct state {
    mm_config *cfg;
    struct mm_config_errors *errs;
    const char *path;
    const char *data;
    size_t len, pos;
    int lineno;
    struct inst *insts;
    size_t ninsts;
    long cur; /* index into insts; -1 before any section, -2 after a bad header */
    int oom;
    int err_line[MM_CONFIG_MAX_ERRORS]; /* the line of each problem, for sorting */
};

void mm_config_errors_init(struct mm_config_errors *errs)
{
    memset(errs, 0, sizeof(*errs));
}

void mm_config_errors_release(struct mm_config_errors *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->count; i++)
        mm_free(errs->msgs[i]);
    mm_free(errs->msgs);
    mm_config_errors_init(errs);
}

/* Record a problem "PATH:LINE: key 'KEY': ..." (no line when 0, no key when NULL). */
static void problem(struct state *st, int line, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void problem(struct state *st, int line, const char *key, const char *fmt, ...)
{
    char msg[1024];
    int n = 0;
    va_list ap;

    if (st->errs->count >= MM_CONFIG_MAX_ERRORS) {
        st->errs->dropped++;
        return;
    }
    if (!st->errs->msgs) {
        st->errs->msgs = mm_calloc(MM_CONFIG_MAX_ERRORS, sizeof(char *));
        if (!st->errs->msgs) {
            st->oom = 1;
            return;
        }
    }
    if (line > 0)
        n = snprintf(msg, sizeof(msg), "%s:%d: ", st->path, line);
    else
        n = snprintf(msg, sizeof(msg), "%s: ", st->path);
    if (key && n >= 0 && (size_t)n < sizeof(msg))
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, "key '%s': ", key);
    if (n >= 0 && (size_t)n < sizeof(msg)) {
        va_start(ap, fmt);
        vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    char *copy = mm_strdup(msg);
    if (!copy) {
        st->oom = 1;
        return;
    }
    st->err_line[st->errs->count] = line > 0 ? line : 1 << 30; /* file-wide ones last */
    st->errs->msgs[st->errs->count++] = copy;
}

/* Order the problems by line (stable), the file-wide ones last. */
static void sort_problems(struct state *st)
{
    for (size_t i = 1; i < st->errs->count; i++) {
        char *m = st->errs->msgs[i];
        int l = st->err_line[i];
        size_t j = i;
        for (; j > 0 && st->err_line[j - 1] > l; j--) {
            st->errs->msgs[j] = st->errs->msgs[j - 1];
            st->err_line[j] = st->err_line[j - 1];
        }
        st->errs->msgs[j] = m;
        st->err_line[j] = l;
    }
}

/* The struct the keys of instance @in live in. */
static void *inst_obj(struct state *st, const struct inst *in)
{
    mm_config *c = st->cfg;

    switch (in->kind) {
    case S_HOSPITAL:
        return &c->hospital;
    case S_SERVICE:
        return &c->service;
    case S_SOURCE:
        return &c->sources[in->index];
    case S_MEDIA:
        return &c->media;
    case S_MEDIUM:
        return &c->media_list[in->index];
    case S_VAULT:
        return &c->vault;
    case S_HOOKS:
    default:
        return &c->hooks;
    }
}

/* The instance of kind @kind named @name (case-insensitively), or NULL. */
static struct inst *find_inst(struct state *st, enum sect kind, const char *name)
{
    for (size_t i = 0; i < st->ninsts; i++) {
        struct inst *in = &st->insts[i];
        if (in->kind != kind)
            continue;
        if (!name)
            return in;
        const char *other = kind == S_SOURCE ? st->cfg->sources[in->index].name
                                             : st->cfg->media_list[in->index].label;
        if (strcasecmp(other, name) == 0)
            return in;
    }
    return NULL;
}

/* Append a source or medium named @name (now owned by the configuration). OUT: its index. */
static int add_named(struct state *st, enum sect kind, char *name, size_t *index)
{
    mm_config *c = st->cfg;

    if (kind == S_SOURCE) {
        struct mm_config_source *p =
                mm_realloc(c->sources, (c->nsources + 1) * sizeof(*c->sources));
        if (!p)
            return -1;
        c->sources = p;
        memset(&p[c->nsources], 0, sizeof(*p));
        p[c->nsources].name = name;
        p[c->nsources].enabled = 1;
        p[c->nsources].schedule = (struct mm_config_schedule){ MM_CONFIG_ALL_DAYS, -1, -1 };
        p[c->nsources].rpo = 26 * 3600;
        p[c->nsources].guard = 1;
        p[c->nsources].guard_max_modified = -1;
        p[c->nsources].guard_max_deleted = -1;
        p[c->nsources].guard_max_added = -1;
        p[c->nsources].kind = (enum mm_config_source_kind) - 1;
        p[c->nsources].line = st->lineno;
        *index = c->nsources++;
        return 0;
    }
    struct mm_config_medium *p = mm_realloc(c->media_list, (c->nmedia + 1) * sizeof(*p));
    if (!p)
        return -1;
    c->media_list = p;
    memset(&p[c->nmedia], 0, sizeof(*p));
    p[c->nmedia].label = name;
    p[c->nmedia].line = st->lineno;
    *index = c->nmedia++;
    return 0;
}

/* The name of a section header `word "VALUE"`. OUT: kind and a copy of VALUE (or NULL). */
static int parse_header(struct state *st, char *h, enum sect *kind, char **value)
{
    char *q = strchr(h, '"');
    size_t wl;

    *value = NULL;
    wl = q ? (size_t)(q - h) : strlen(h);
    while (wl > 0 && (h[wl - 1] == ' ' || h[wl - 1] == '\t'))
        wl--;
    for (int k = 0; k < S_COUNT; k++) {
        if (strlen(sections[k].name) == wl && strncmp(h, sections[k].name, wl) == 0) {
            *kind = (enum sect)k;
            break;
        }
        if (k == S_COUNT - 1) {
            problem(st, st->lineno, NULL, "unknown section [%s]", h);
            return -1;
        }
    }
    if (!q) {
        if (sections[*kind].named) {
            problem(st, st->lineno, NULL, "section [%s] needs a name: [%s \"NAME\"]", h, h);
            return -1;
        }
        return 0;
    }
    if (!sections[*kind].named) {
        problem(st, st->lineno, NULL, "section [%s] takes no name", sections[*kind].name);
        return -1;
    }
    char *end = strchr(q + 1, '"');
    if (!end || end[1] != '\0') {
        problem(st, st->lineno, NULL, "section [%s]: the name must be in double quotes", h);
        return -1;
    }
    *end = '\0';
    if (!mm_config__is_name(q + 1, MM_CONFIG_MAX_NAME, *kind == S_SOURCE)) {
        problem(st, st->lineno, NULL,
                "section [%s]: '%s' is not a name (1 to %u of A-Z a-z 0-9 _ -%s)",
                sections[*kind].name, q + 1, MM_CONFIG_MAX_NAME, *kind == S_SOURCE ? " ." : "");
        return -1;
    }
    *value = mm_strdup(q + 1);
    if (!*value) {
        st->oom = 1;
        return -1;
    }
    return 0;
}

/* Open the section of header line @h (inside the brackets, trimmed). */
static void begin_section(struct state *st, char *h)
{
    enum sect kind = S_HOSPITAL;
    char *value = NULL;
    struct inst *prev, *p;

    st->cur = -2;
    if (parse_header(st, h, &kind, &value) < 0)
        return;
    prev = find_inst(st, kind, value);
    if (prev) {
        if (value)
            problem(st, st->lineno, NULL, "section [%s \"%s\"] given twice (first on line %d)",
                    sections[kind].name, value, prev->line);
        else
            problem(st, st->lineno, NULL, "section [%s] given twice (first on line %d)",
                    sections[kind].name, prev->line);
        mm_free(value);
        return;
    }
    p = mm_realloc(st->insts, (st->ninsts + 1) * sizeof(*p));
    if (!p) {
        mm_free(value);
        st->oom = 1;
        return;
    }
    st->insts = p;
    p = &st->insts[st->ninsts];
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->line = st->lineno;
    if (value && add_named(st, kind, value, &p->index) < 0) {
        mm_free(value);
        st->oom = 1;
        return;
    }
    st->cur = (long)st->ninsts++;
}

/* Take one physical line @s of @n bytes: a header is handled here, a key line is copied to
 * @str for inih, anything else becomes an empty line. */
static void take_line(struct state *st, const char *s, size_t n, char *str, int num)
{
    char hdr[256];

    str[0] = '\0';
    if (memchr(s, '\0', n)) {
        problem(st, st->lineno, NULL, "the line holds a NUL byte");
        return;
    }
    while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    if (n == 0 || s[0] == ';' || s[0] == '#')
        return;
    if (s[0] == '[') {
        if (s[n - 1] != ']') {
            problem(st, st->lineno, NULL, "a section header ends with ']'");
            st->cur = -2;
            return;
        }
        size_t a = 1, b = n - 1;
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (b - a >= sizeof(hdr)) {
            problem(st, st->lineno, NULL, "the section header is too long");
            st->cur = -2;
            return;
        }
        memcpy(hdr, s + a, b - a);
        hdr[b - a] = '\0';
        begin_section(st, hdr);
        return;
    }
    if (n > (size_t)num - 1) {
        problem(st, st->lineno, NULL, "the line is longer than %d bytes", num - 1);
        return;
    }
    const char *eq = memchr(s, '=', n);
    if (!eq || eq == s) {
        problem(st, st->lineno, NULL, "expected 'key = value' or '[section]'");
        return;
    }
    memcpy(str, s, n);
    str[n] = '\0';
}

/* inih's reader: hands over one line at a time from the file in memory (ini_reader). */
static char *reader(char *str, int num, void *stream)
{
    struct state *st = stream;

    if (st->oom || st->pos >= st->len)
        return NULL;
    const char *s = st->data + st->pos;
    const char *nl = memchr(s, '\n', st->len - st->pos);
    size_t n = nl ? (size_t)(nl - s) : st->len - st->pos;

    st->pos += n + (nl ? 1 : 0);
    st->lineno++;
    if (st->lineno == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        s += 3, n -= 3;
    take_line(st, s, n, str, num);
    return str;
}

/* Check @v as a value of @type and store it at @dst; a wrong value is a problem of @key. */
static void store(struct state *st, const char *key, enum mm_config__type type, const char *v,
                  void *dst)
{
    char why[512];
    int r = mm_config__value(type, v, dst, why, sizeof(why));

    if (r == MM_ENOMEM)
        st->oom = 1;
    else if (r < 0)
        problem(st, st->lineno, key, "%s", why);
}

/* inih's handler: one `key = value` of the current section. */
static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct state *st = user;
    const struct section_def *def;
    struct inst *in;

    (void)section; /* headers are taken by the reader */
    if (st->cur == -2 || st->oom)
        return 1; /* the header was wrong: that was reported */
    if (st->cur < 0) {
        problem(st, st->lineno, name, "outside any section");
        return 1;
    }
    in = &st->insts[st->cur];
    def = &sections[in->kind];
    for (int k = 0; k < MAX_KEYS && def->keys[k].name; k++) {
        if (strcmp(def->keys[k].name, name) != 0)
            continue;
        if (in->key_line[k]) {
            problem(st, st->lineno, name, "given twice (first on line %d)", in->key_line[k]);
            return 1;
        }
        in->key_line[k] = st->lineno;
        store(st, name, def->keys[k].type, value, (char *)inst_obj(st, in) + def->keys[k].off);
        return 1;
    }
    problem(st, st->lineno, name, "not a key of section [%s]", def->name);
    return 1;
}

/* The index of key @name in section @kind (the name must exist). */
static int key_index(enum sect kind, const char *name)
{
    for (int k = 0; k < MAX_KEYS && sections[kind].keys[k].name; k++)
        if (strcmp(sections[kind].keys[k].name, name) == 0)
            return k;
    return 0; /* NEVER: callers pass names of the table */
}

/* The line of key @name in @in, 0 when it was not given. */
static int key_line(const struct inst *in, const char *name)
{
    return in->key_line[key_index(in->kind, name)];
}

/* Report @in lacking the required key @name. */
static void require(struct state *st, const struct inst *in, const char *name, const char *why)
{
    const char *label = NULL;

    if (key_line(in, name))
        return;
    if (in->kind == S_SOURCE)
        label = st->cfg->sources[in->index].name;
    else if (in->kind == S_MEDIUM)
        label = st->cfg->media_list[in->index].label;
    if (label)
        problem(st, in->line, NULL, "section [%s \"%s\"] has no key '%s'%s",
                sections[in->kind].name, label, name, why);
    else
        problem(st, in->line, NULL, "section [%s] has no key '%s'%s", sections[in->kind].name, name,
                why);
}

/* The rules of one medium under the set's rotation. OUT: @owner, the medium of each day. */
static void check_medium(struct state *st, const struct inst *in, const char **owner)
{
    const struct mm_config_medium *m = &st->cfg->media_list[in->index];
    const struct mm_config_media *media = &st->cfg->media;
    char a[32], b[32];

    require(st, in, "path", "");
    if (media->rotation == MM_CONFIG_ROTATION_WEEKDAY) {
        require(st, in, "days", " (rotation = weekday)");
        if (key_line(in, "role"))
            problem(st, key_line(in, "role"), "role", "only for rotation = gfs");
        for (int d = 0; d < 7; d++) {
            if (!((m->days >> d) & 1u))
                continue;
            if (owner[d])
                problem(st, key_line(in, "days"), "days",
                        "weekday '%s' is served by both '%s' and '%s'", mm_config_weekday_name(d),
                        owner[d], m->label);
            else
                owner[d] = m->label;
        }
    } else {
        require(st, in, "role", " (rotation = gfs)");
        if (key_line(in, "days"))
            problem(st, key_line(in, "days"), "days", "only for rotation = weekday");
    }
    if (m->keep && m->keep < media->keep_min_clean)
        problem(st, key_line(in, "keep"), "keep", "%u is below keep_min_clean = %u of [media]",
                m->keep, media->keep_min_clean);
    if (m->keep_age && m->keep_age < media->keep_min_age)
        problem(st, key_line(in, "keep_age"), "keep_age",
                "%s is below keep_min_age = %s of [media]",
                mm_config_duration_str(m->keep_age, a, sizeof(a)),
                mm_config_duration_str(media->keep_min_age, b, sizeof(b)));
}

/* The checks across sections, after the last line. */
static void check_all(struct state *st)
{
    mm_config *c = st->cfg;
    const char *owner[7] = { 0 };
    size_t roles[4] = { 0 };
    const struct inst *hosp = find_inst(st, S_HOSPITAL, NULL);

    if (!hosp)
        problem(st, 0, NULL, "section [hospital] is missing");
    else
        require(st, hosp, "id", "");
    if (c->nsources == 0)
        problem(st, 0, NULL, "no [source \"NAME\"] section: nothing to back up");
    if (c->nmedia == 0)
        problem(st, 0, NULL, "no [medium \"LABEL\"] section: nowhere to back up to");
    for (size_t i = 0; i < st->ninsts; i++) {
        const struct inst *in = &st->insts[i];
        if (in->kind == S_SOURCE) {
            const struct mm_config_source *s = &c->sources[in->index];
            require(st, in, "kind", " (ssmix2 or folder)");
            require(st, in, "path", "");
            if (s->extended && s->kind == MM_CONFIG_SOURCE_FOLDER)
                problem(st, key_line(in, "extended"), "extended",
                        "only a source of kind ssmix2 has an extended storage");
        } else if (in->kind == S_MEDIUM) {
            check_medium(st, in, owner);
            roles[c->media_list[in->index].role]++;
        } else if (in->kind == S_VAULT) {
            require(st, in, "url", "");
        }
    }
    if (c->nmedia == 0)
        return;
    if (c->media.rotation == MM_CONFIG_ROTATION_WEEKDAY) {
        for (int d = 0; d < 7; d++)
            if (!owner[d])
                problem(st, 0, NULL, "weekday '%s' is served by no medium (rotation = weekday)",
                        mm_config_weekday_name(d));
        return;
    }
    if (!roles[MM_CONFIG_ROLE_DAILY])
        problem(st, 0, NULL, "rotation = gfs needs a medium with role = daily");
    if (!roles[MM_CONFIG_ROLE_WEEKLY])
        problem(st, 0, NULL, "rotation = gfs needs a medium with role = weekly");
}

/* A configuration holding the defaults of docs/operations.md. */
static mm_config *new_config(const char *path)
{
    mm_config *c = mm_calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->path = mm_strdup(path);
    c->service.user = mm_strdup("mamori");
    c->service.state_dir = mm_strdup("/var/lib/mamori");
    c->media.staging = mm_strdup("/var/lib/mamori/staging");
    if (!c->path || !c->service.user || !c->service.state_dir || !c->media.staging) {
        mm_config_free(c);
        return NULL;
    }
    c->service.full_drill_interval = 30 * 86400;
    c->service.structural_drill_interval = 7 * 86400;
    c->media.rotation = MM_CONFIG_ROTATION_WEEKDAY;
    c->media.staging_expiry = 14 * 86400;
    c->media.weekly_day = 5;
    c->media.keep_min_age = 28 * 86400;
    c->media.keep_min_clean = 3;
    c->hooks.attach.timeout = 300;
    c->hooks.detach.timeout = 120;
    c->hooks.alert.timeout = 60;
    c->vault.retain = 30 * 86400;
    return c;
}

/* Read @path whole into @b. On failure the problem is recorded in @st too. */
static int read_all(struct state *st, const char *path, mm_buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

    if (fd < 0) {
        int e = errno;
        problem(st, 0, NULL, "cannot open the configuration file: %s", strerror(e));
        return mm_error_set_errno(e == ENOENT ? MM_ENOTFOUND : MM_EIO, e,
                                  "cannot open configuration file '%s'", path);
    }
    for (;;) {
        char chunk[8192];
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            problem(st, 0, NULL, "cannot read the configuration file: %s", strerror(e));
            err = mm_error_set_errno(MM_EIO, e, "cannot read configuration file '%s'", path);
            break;
        }
        if (r == 0)
            break;
        if ((err = mm_buf_put(b, chunk, (size_t)r)) < 0) {
            if (err == MM_ELIMIT) {
                problem(st, 0, NULL, "the file is larger than %u bytes", MM_CONFIG_MAX_SIZE);
                err = mm_error_set(MM_ELIMIT, "configuration file '%s' is larger than %u bytes",
                                   path, MM_CONFIG_MAX_SIZE);
            }
            break;
        }
    }
    close(fd);
    return err;
}

/* Parse @len bytes at @data (read from @path) into @st->cfg and check them. */
static int parse(struct state *st, const char *path, const char *data, size_t len)
{
    if (!(st->cfg = new_config(path)))
        return MM_ENOMEM;
    st->data = data;
    st->len = len;
    int rc = ini_parse_stream(reader, st, handler, st);
    if (!st->oom)
        check_all(st);
    if (st->oom || rc == -2)
        return mm_error_set(MM_ENOMEM, "out of memory");
    if (rc > 0 && st->errs->count == 0)
        problem(st, rc, NULL, "the line cannot be read"); /* NEVER: the reader checks lines */
    if (st->errs->count || st->errs->dropped) {
        size_t more = st->errs->count + st->errs->dropped - 1;
        sort_problems(st);
        if (st->errs->count == 0)
            return mm_error_set(MM_EINVAL, "%s: invalid configuration", path);
        if (more)
            return mm_error_set(MM_EINVAL, "%s (and %zu more)", st->errs->msgs[0], more);
        return mm_error_set(MM_EINVAL, "%s", st->errs->msgs[0]);
    }
    return 0;
}

/* Load from @data (when not NULL, @len bytes) or from the file @path. */
static int load(const char *path, const char *data, size_t len, mm_config **out,
                struct mm_config_errors *errs)
{
    struct mm_config_errors local;
    struct state *st;
    mm_buf b;
    int err;

    MM_ASSERT_ARG(path && out);
    if (!(st = mm_calloc(1, sizeof(*st))))
        return MM_ENOMEM;
    mm_config_errors_init(&local);
    st->errs = errs ? errs : &local;
    st->path = path;
    st->cur = -1;
    mm_buf_init(&b, MM_CONFIG_MAX_SIZE);
    if (!data) {
        if ((err = read_all(st, path, &b)) < 0)
            goto out;
        data = b.ptr ? b.ptr : "";
        len = b.len;
    } else if (len > MM_CONFIG_MAX_SIZE) {
        err = mm_error_set(MM_ELIMIT, "configuration '%s' is larger than %u bytes", path,
                           MM_CONFIG_MAX_SIZE);
        goto out;
    }
    if ((err = parse(st, path, data, len)) < 0)
        goto out;
    *out = st->cfg;
    st->cfg = NULL; /* now owned by the caller */
out:
    mm_config_free(st->cfg);
    mm_free(st->insts);
    mm_free(st);
    mm_buf_release(&b);
    mm_config_errors_release(&local);
    return err;
}

int mm_config_load_errors(const char *path, mm_config **out, struct mm_config_errors *errs)
{
    return load(path, NULL, 0, out, errs);
}

int mm_config_parse(const char *name, const char *data, size_t len, mm_config **out,
                    struct mm_config_errors *errs)
{
    MM_ASSERT_ARG(data);
    return load(name, data, len, out, errs);
}

int mm_config_load(const char *path, mm_config **out)
{
    return mm_config_load_errors(path, out, NULL);
}

void mm_config_free(mm_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nsources; i++) {
        mm_free(cfg->sources[i].name);
        mm_free(cfg->sources[i].path);
        mm_free(cfg->sources[i].extended);
    }
    for (size_t i = 0; i < cfg->nmedia; i++) {
        mm_free(cfg->media_list[i].label);
        mm_free(cfg->media_list[i].path);
        mm_free(cfg->media_list[i].fs_uuid);
        mm_free(cfg->media_list[i].fs_label);
        mm_free(cfg->media_list[i].credential);
    }
    mm_free(cfg->sources);
    mm_free(cfg->media_list);
    mm_free(cfg->hospital.id);
    mm_free(cfg->hospital.name);
    mm_free(cfg->service.user);
    mm_free(cfg->service.state_dir);
    mm_free(cfg->service.passphrase_file);
    mm_free(cfg->media.staging);
    mm_free(cfg->hooks.attach.path);
    mm_free(cfg->hooks.detach.path);
    mm_free(cfg->hooks.alert.path);
    mm_free(cfg->vault.url);
    mm_free(cfg->vault.credentials);
    mm_free(cfg->path);
    mm_free(cfg);
}

const char *mm_config_path(const mm_config *cfg)
{
    return cfg->path;
}

const struct mm_config_hospital *mm_config_hospital(const mm_config *cfg)
{
    return &cfg->hospital;
}

const struct mm_config_service *mm_config_service(const mm_config *cfg)
{
    return &cfg->service;
}

const struct mm_config_media *mm_config_media(const mm_config *cfg)
{
    return &cfg->media;
}

const struct mm_config_hooks *mm_config_hooks(const mm_config *cfg)
{
    return &cfg->hooks;
}

const struct mm_config_vault *mm_config_vault(const mm_config *cfg)
{
    return &cfg->vault;
}

size_t mm_config_source_count(const mm_config *cfg)
{
    return cfg->nsources;
}

const struct mm_config_source *mm_config_source_at(const mm_config *cfg, size_t i)
{
    return i < cfg->nsources ? &cfg->sources[i] : NULL;
}

size_t mm_config_medium_count(const mm_config *cfg)
{
    return cfg->nmedia;
}

const struct mm_config_medium *mm_config_medium_at(const mm_config *cfg, size_t i)
{
    return i < cfg->nmedia ? &cfg->media_list[i] : NULL;
}

const struct mm_config_medium *mm_config_medium_find(const mm_config *cfg, const char *label)
{
    for (size_t i = 0; i < cfg->nmedia; i++)
        if (strcasecmp(cfg->media_list[i].label, label) == 0)
            return &cfg->media_list[i];
    return NULL;
}
