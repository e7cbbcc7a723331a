/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S3 backend's location and credentials. A location "s3://host[:port]/bucket[/prefix]"
 * is parsed strictly: it comes from a command line or a configuration file that an attacker
 * may have written, so anything outside a small alphabet, any empty, "." or ".." part, user
 * info, a query or a fragment is refused, and every part is bounded. Plain http is used only
 * for loopback hosts (or when asked for); MAMORI_S3_TLS=1 forces https also for a loopback
 * host (a store on the same machine behind TLS). Credentials come from the environment or
 * from a credentials file that nobody else may read; secrets are wiped after use and never
 * appear in a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "repo/repo_s3_int.h"

/* 1 when @c may appear in a host name. */
static int host_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-';
}

/* 1 when @c may appear in a prefix part. */
static int prefix_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

/* 1 when @s (@n bytes) holds "..". */
static int has_dotdot(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i + 1 < n; i++)
        if (s[i] == '.' && s[i + 1] == '.')
            return 1;
    return 0;
}

/* 1 when @h is 127.x.y.z (decimal, each at most 255). */
static int is_ipv4_loopback(const char *h)
{
    unsigned v[4];
    int n = 0;
    char tail;

    if (sscanf(h, "%3u.%3u.%3u.%3u%c", &v[0], &v[1], &v[2], &v[3], &tail) != 4)
        return 0;
    for (n = 0; n < 4; n++)
        if (v[n] > 255)
            return 0;
    return v[0] == 127;
}

/* Parse the host[:port] part @s (@n bytes) into @u. @return 0, MM_EINVAL, MM_ELIMIT */
static int parse_authority(const char *s, size_t n, struct mm_repo__s3_url *u)
{
    size_t hl, i;
    const char *port = NULL;

    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close || close - s - 1 != 3 || memcmp(s + 1, "::1", 3) != 0)
            return mm_error_set(MM_EINVAL, "S3 location: only [::1] is accepted as an IPv6 host");
        memcpy(u->host, "::1", 4);
        i = (size_t)(close - s) + 1;
        if (i < n && s[i] != ':')
            return mm_error_set(MM_EINVAL, "S3 location: bad host");
        port = i < n ? s + i + 1 : NULL;
    } else {
        const char *colon = memchr(s, ':', n);
        hl = colon ? (size_t)(colon - s) : n;
        if (hl == 0)
            return mm_error_set(MM_EINVAL, "S3 location: no host");
        if (hl >= 254)
            return mm_error_set(MM_ELIMIT, "S3 location: host name too long");
        for (i = 0; i < hl; i++)
            if (!host_char((unsigned char)s[i]))
                return mm_error_set(MM_EINVAL, "S3 location: bad character in the host");
        if (s[0] == '.' || s[0] == '-' || s[hl - 1] == '.' || has_dotdot(s, hl))
            return mm_error_set(MM_EINVAL, "S3 location: bad host");
        memcpy(u->host, s, hl);
        u->host[hl] = '\0';
        port = colon ? colon + 1 : NULL;
    }
    if (port) {
        size_t pl = (size_t)(s + n - port);
        unsigned long v = 0;
        if (pl == 0 || pl > 5)
            return mm_error_set(MM_EINVAL, "S3 location: bad port");
        for (i = 0; i < pl; i++) {
            if (port[i] < '0' || port[i] > '9')
                return mm_error_set(MM_EINVAL, "S3 location: bad port");
            v = v * 10 + (unsigned long)(port[i] - '0');
        }
        if (v == 0 || v > 65535)
            return mm_error_set(MM_EINVAL, "S3 location: bad port");
        u->port = (unsigned)v;
    }
    u->loopback = strcmp(u->host, "localhost") == 0 || strcmp(u->host, "::1") == 0 ||
                  is_ipv4_loopback(u->host);
    return 0;
}

/* Check the bucket name @s (@n bytes) and copy it. @return 0, MM_EINVAL */
static int parse_bucket(const char *s, size_t n, struct mm_repo__s3_url *u)
{
    size_t i;

    if (n < 3 || n > 63)
        return mm_error_set(MM_EINVAL, "S3 location: a bucket name has 3 to 63 characters");
    for (i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return mm_error_set(MM_EINVAL, "S3 location: bad character in the bucket name");
    }
    if (s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || s[n - 1] == '-' || has_dotdot(s, n))
        return mm_error_set(MM_EINVAL, "S3 location: bad bucket name");
    memcpy(u->bucket, s, n);
    u->bucket[n] = '\0';
    return 0;
}

/* Check the prefix @s (parts joined by '/') and copy it. @return 0, MM_EINVAL, MM_ELIMIT */
static int parse_prefix(const char *s, struct mm_repo__s3_url *u)
{
    size_t n = strlen(s), i, part = 0;

    if (n >= sizeof(u->prefix))
        return mm_error_set(MM_ELIMIT, "S3 location: prefix too long");
    for (i = 0; i <= n; i++) {
        if (i == n || s[i] == '/') {
            const char *p = s + i - part;
            if (part == 0)
                return mm_error_set(MM_EINVAL, "S3 location: empty part in the prefix");
            if ((part == 1 && p[0] == '.') || (part == 2 && p[0] == '.' && p[1] == '.'))
                return mm_error_set(MM_EINVAL, "S3 location: '.' or '..' in the prefix");
            part = 0;
            continue;
        }
        if (!prefix_char((unsigned char)s[i]))
            return mm_error_set(MM_EINVAL, "S3 location: bad character in the prefix");
        part++;
    }
    memcpy(u->prefix, s, n + 1);
    return 0;
}

int mm_repo__s3_url_parse(const char *url, int allow_http, struct mm_repo__s3_url *out)
{
    struct mm_repo__s3_url u;
    const char *p, *slash, *bend;
    const char *tls = getenv("MAMORI_S3_TLS");
    int err, force_tls = tls && strcmp(tls, "1") == 0;
    char port[16] = "";

    if (!url || strncmp(url, "s3://", 5) != 0)
        return mm_error_set(MM_EINVAL, "S3 location: not an s3:// URL");
    if (strlen(url) > 800)
        return mm_error_set(MM_ELIMIT, "S3 location too long");
    memset(&u, 0, sizeof(u));
    p = url + 5;
    if (!(slash = strchr(p, '/')))
        return mm_error_set(MM_EINVAL, "S3 location: no bucket (s3://host[:port]/bucket[/prefix])");
    if ((err = parse_authority(p, (size_t)(slash - p), &u)) < 0)
        return err;
    p = slash + 1;
    bend = strchr(p, '/');
    if ((err = parse_bucket(p, bend ? (size_t)(bend - p) : strlen(p), &u)) < 0)
        return err;
    if (bend && (err = parse_prefix(bend + 1, &u)) < 0)
        return err;
    if (force_tls && allow_http)
        return mm_error_set(MM_EINVAL, "MAMORI_S3_TLS=1 and MAMORI_S3_HTTP=1 contradict: "
                                       "unset one");
    if (u.port)
        snprintf(port, sizeof(port), ":%u", u.port);
    snprintf(u.endpoint, sizeof(u.endpoint), "%s://%s%s%s%s",
             !force_tls && (u.loopback || allow_http) ? "http" : "https",
             strchr(u.host, ':') ? "[" : "", u.host, strchr(u.host, ':') ? "]" : "", port);
    snprintf(u.where, sizeof(u.where), "s3://%s%s%s%s/%s%s%s", strchr(u.host, ':') ? "[" : "",
             u.host, strchr(u.host, ':') ? "]" : "", port, u.bucket, u.prefix[0] ? "/" : "",
             u.prefix);
    *out = u;
    return 0;
}

/* Copy the value @v into @dst (@cap). @return 0, MM_EINVAL when too long or empty */
static int set_value(char *dst, size_t cap, const char *v, const char *what)
{
    size_t n = strlen(v);

    if (n == 0 || n >= cap)
        return mm_error_set(MM_EINVAL, "S3 credentials: bad %s", what);
    memcpy(dst, v, n + 1);
    return 0;
}

/* Strip blanks around @s in place. @return the start */
static char *trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Parse the credentials file text @text (NUL-terminated, changed in place) into @c. */
static int parse_creds(char *text, struct mm_repo__s3_creds *c, const char *path)
{
    char *line = text, *next;
    unsigned lineno = 0;
    int err;

    for (; line; line = next) {
        char *eq, *k, *v;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        k = trim(line);
        if (*k == '\0' || *k == '#')
            continue;
        if (!(eq = strchr(k, '=')))
            return mm_error_set(MM_EINVAL, "credentials file '%s' line %u: no '='", path, lineno);
        *eq = '\0';
        v = trim(eq + 1);
        k = trim(k);
        if (strcmp(k, "access_key") == 0)
            err = set_value(c->access, sizeof(c->access), v, "access_key");
        else if (strcmp(k, "secret_key") == 0)
            err = set_value(c->secret, sizeof(c->secret), v, "secret_key");
        else if (strcmp(k, "region") == 0)
            err = set_value(c->region, sizeof(c->region), v, "region");
        else
            err = mm_error_set(MM_EINVAL, "credentials file '%s' line %u: unknown key", path,
                               lineno);
        if (err < 0)
            return err;
    }
    return 0;
}

/* Read the credentials file @path after checking its owner and mode. */
static int read_creds_file(const char *path, struct mm_repo__s3_creds *c)
{
    char text[4097];
    struct stat st;
    ssize_t got;
    size_t n = 0;
    int fd, err = 0;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ELOOP)
            return mm_error_set(MM_EREFUSED, "credentials file '%s' is a symbolic link", path);
        return mm_error_set_errno(errno == ENOENT ? MM_EINVAL : MM_EIO, errno,
                                  "cannot open credentials file '%s'", path);
    }
    if (fstat(fd, &st) != 0)
        err = mm_error_set_errno(MM_EIO, errno, "cannot stat credentials file '%s'", path);
    else if (!S_ISREG(st.st_mode))
        err = mm_error_set(MM_EREFUSED, "credentials file '%s' is not a regular file", path);
    else if (st.st_uid != geteuid())
        err = mm_error_set(MM_EREFUSED, "credentials file '%s' belongs to another user", path);
    else if (st.st_mode & 077)
        err = mm_error_set(MM_EREFUSED,
                           "credentials file '%s' can be read by others (mode %04o): "
                           "chmod 600 it",
                           path, (unsigned)(st.st_mode & 07777));
    while (err == 0 && (got = read(fd, text + n, sizeof(text) - 1 - n)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            err = mm_error_set_errno(MM_EIO, errno, "cannot read credentials file '%s'", path);
        else if ((n += (size_t)got) == sizeof(text) - 1)
            err = mm_error_set(MM_ELIMIT, "credentials file '%s' too large", path);
    }
    close(fd);
    text[n] = '\0';
    if (err == 0)
        err = parse_creds(text, c, path);
    explicit_bzero(text, sizeof(text));
    return err;
}

int mm_repo__s3_creds_load(struct mm_repo__s3_creds *out, const char *env_access,
                           const char *env_secret, const char *env_region, const char *file,
                           const char *home)
{
    struct mm_repo__s3_creds c;
    char path[4096];
    int err = 0;

    memset(&c, 0, sizeof(c));
    if (env_access && *env_access && env_secret && *env_secret) {
        if ((err = set_value(c.access, sizeof(c.access), env_access, "access key")) == 0)
            err = set_value(c.secret, sizeof(c.secret), env_secret, "secret key");
    } else {
        if (!file || !*file) {
            if (!home || !*home)
                return mm_error_set(MM_EINVAL, "no S3 credentials: set MAMORI_S3_ACCESS_KEY "
                                               "and MAMORI_S3_SECRET_KEY or MAMORI_S3_CREDENTIALS");
            snprintf(path, sizeof(path), "%s/.config/mamori/s3-credentials", home);
            file = path;
        }
        err = read_creds_file(file, &c);
        if (err == 0 && (!c.access[0] || !c.secret[0]))
            err = mm_error_set(MM_EINVAL, "credentials file '%s' lacks access_key or secret_key",
                               file);
    }
    if (err == 0 && env_region && *env_region)
        err = set_value(c.region, sizeof(c.region), env_region, "region");
    if (err == 0)
        *out = c;
    mm_repo__s3_creds_wipe(&c);
    return err;
}

void mm_repo__s3_creds_wipe(struct mm_repo__s3_creds *c)
{
    explicit_bzero(c, sizeof(*c));
}
