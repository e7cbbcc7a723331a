/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the repository (repo.h) through its public API on real folders: init and open
 * (passphrases, users, markers), key slots, backup and restore round trips of awkward trees
 * (names with '^', Japanese and bytes that are not UTF-8, empty files and folders, links,
 * modes, nanosecond mtimes) and of storages made by mamori-gen, change detection by metadata
 * and inode, content-defined deduplication, restore filters, the generation list, damage to
 * every kind of repository file (each on a fresh copy: verify names what is damaged and only
 * that, restore keeps every intact file), prune, locks, errors, and that no callback or
 * message carries a patient ID. KDF costs, chunk and pack sizes are the smallest allowed so
 * the program runs in seconds; every temporary folder is removed when its test ends, failed
 * or not. Files that cannot be read are made so even for root: the backup runs in a thread
 * that has dropped CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (its workers inherit that).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "os/os.h"
#include "repo/repo.h"
#include "repo/repo_sync.h"
#include "tests/unit/test_caps.h"
#include "tools/gen/gen.h"

#define PATHCAP   1024
#define PROBS_MAX 512
#define PASS_A    "alice: correct horse battery staple"
#define PASS_B    "bob: tr0ub4dor&3"
#define PASS_C    "carol: 合言葉は山と川"
#define P(s)      (s), strlen(s)
#define KIB       1024u
#define MIB       (1024u * 1024u)
#define PID_A     "9876543210" /* a patient ID that must never appear in a message */

static const struct mm_kdf_params kdf_min = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };
static const struct mm_chunk_params small_chunks = { 4096, 16384, 65536 };

/* ---- helpers: files and folders ------------------------------------------------------------ */

static const char *tmp_base(void)
{
    const char *t = getenv("TMPDIR");

    return t && *t ? t : "/tmp";
}

/* Temporary folders of the running test, removed by its teardown even when it fails. */
static char made[8][PATHCAP];
static size_t nmade;

/* A fresh temporary folder ${TMPDIR:-/tmp}/mamori-test-repo-<tag>-XXXXXX in @out. */
static void make_tmp_unowned(char *out, const char *tag)
{
    snprintf(out, PATHCAP, "%s/mamori-test-repo-%s-XXXXXX", tmp_base(), tag);
    if (!mkdtemp(out))
        fail_msg("mkdtemp '%s': %s", out, strerror(errno));
}

/* The same, removed when the test ends. */
static void make_tmp(char *out, const char *tag)
{
    make_tmp_unowned(out, tag);
    if (nmade == sizeof(made) / sizeof(made[0]))
        fail_msg("too many temporary folders");
    snprintf(made[nmade++], PATHCAP, "%s", out);
}

static int unlock_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_D || flag == FTW_DNR)
        chmod(path, 0700);
    return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, unlock_cb, 16, FTW_PHYS); /* folders a test made unwritable */
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int remove_tmp(void **state)
{
    (void)state;
    while (nmade > 0)
        rm_rf(made[--nmade]);
    return 0;
}

/* "@a/@b" in @out (PATHCAP bytes); returns @out. */
static char *pj(char *out, const char *a, const char *b)
{
    if (snprintf(out, PATHCAP, "%s/%s", a, b) >= PATHCAP)
        fail_msg("path too long");
    return out;
}

/* Format into @out (PATHCAP bytes), failing the test when it does not fit; returns @out. */
static char *fmt(char *out, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(char *out, const char *f, ...)
{
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(out, PATHCAP, f, ap);
    va_end(ap);
    if (n < 0 || n >= PATHCAP)
        fail_msg("path too long");
    return out;
}

static int exists(const char *path)
{
    struct stat s;

    return lstat(path, &s) == 0;
}

static void mkdir_ok(const char *path, mode_t mode)
{
    if (mkdir(path, mode) != 0)
        fail_msg("mkdir '%s': %s", path, strerror(errno));
    chmod(path, mode); /* umask */
}

/* splitmix64: the test PRNG. */
static uint64_t sm64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static unsigned char *random_bytes(size_t n, uint64_t seed)
{
    unsigned char *p = malloc(n ? n : 1);

    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)sm64(&seed);
    return p;
}

static void write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t done = 0;

    if (fd < 0)
        fail_msg("create '%s': %s", path, strerror(errno));
    while (done < n) {
        ssize_t w = write(fd, (const char *)p + done, n - done);
        if (w <= 0)
            fail_msg("write '%s': %s", path, strerror(errno));
        done += (size_t)w;
    }
    assert_int_equal(close(fd), 0);
}

static void write_random(const char *path, size_t n, uint64_t seed)
{
    unsigned char *p = random_bytes(n, seed);

    write_file(path, p, n);
    free(p);
}

/* The whole file at @path (free()), or NULL when it cannot be read. */
static unsigned char *read_all(const char *path, size_t *n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat s;
    unsigned char *p;
    size_t done = 0;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &s) != 0 || !(p = malloc((size_t)s.st_size + 1))) {
        close(fd);
        return NULL;
    }
    while (done < (size_t)s.st_size) {
        ssize_t r = read(fd, p + done, (size_t)s.st_size - done);
        if (r <= 0)
            break;
        done += (size_t)r;
    }
    close(fd);
    *n = done;
    return p;
}

static void set_time(const char *path, time_t sec, long nsec)
{
    struct timespec ts[2];

    ts[0].tv_sec = ts[1].tv_sec = sec;
    ts[0].tv_nsec = ts[1].tv_nsec = nsec;
    if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0)
        fail_msg("utimensat '%s': %s", path, strerror(errno));
}

/* Write @n bytes at @p over both copies of the small critical file @rel of @repo. */
static void write_both(const char *repo, const char *rel, const void *p, size_t n)
{
    char path[PATHCAP];

    snprintf(path, sizeof(path), "%s/%s", repo, rel);
    write_file(path, p, n);
    snprintf(path, sizeof(path), "%s/%s.2", repo, rel);
    write_file(path, p, n);
}

/* Remove the second copies (<name>.2) of @repo's small critical files: a repository made by
 * a mamori before them, where damage to the one copy of a file is final. */
static void drop_second_copies(const char *repo)
{
    char path[PATHCAP + 300], dir[PATHCAP];
    struct dirent *de;
    DIR *d;

    for (int k = 0; k < 2; k++) {
        snprintf(dir, sizeof(dir), k ? "%s/keys" : "%s", repo);
        assert_non_null(d = opendir(dir));
        while ((de = readdir(d)) != NULL) {
            size_t len = strlen(de->d_name);
            if (len > 2 && strcmp(de->d_name + len - 2, ".2") == 0) {
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                assert_int_equal(unlink(path), 0);
            }
        }
        closedir(d);
    }
}

static void flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    unsigned char c;

    if (fd < 0)
        fail_msg("open '%s': %s", path, strerror(errno));
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static off_t file_size(const char *path)
{
    struct stat s;

    if (stat(path, &s) != 0)
        fail_msg("stat '%s': %s", path, strerror(errno));
    return s.st_size;
}

static int not_dots(const struct dirent *d)
{
    return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void free_dirents(struct dirent **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Copy the tree @src to @dst (missing) keeping modes, mtimes and links (cp -a). */
static void copy_tree(const char *src, const char *dst)
{
    struct dirent **e = NULL;
    struct stat s;
    int n;

    if (lstat(src, &s) != 0)
        fail_msg("lstat '%s': %s", src, strerror(errno));
    if (S_ISDIR(s.st_mode)) {
        mkdir_ok(dst, 0700);
        if ((n = scandir(src, &e, not_dots, by_name)) < 0)
            fail_msg("scandir '%s'", src);
        for (int i = 0; i < n; i++) {
            char a[PATHCAP], b[PATHCAP];
            copy_tree(pj(a, src, e[i]->d_name), pj(b, dst, e[i]->d_name));
        }
        free_dirents(e, n);
    } else if (S_ISLNK(s.st_mode)) {
        char t[PATHCAP];
        ssize_t k = readlink(src, t, sizeof(t) - 1);
        assert_true(k > 0);
        t[k] = '\0';
        assert_int_equal(symlink(t, dst), 0);
    } else if (S_ISREG(s.st_mode)) {
        size_t len = 0;
        unsigned char *p = read_all(src, &len);
        if (!p)
            fail_msg("read '%s'", src);
        write_file(dst, p, len);
        free(p);
    } else {
        return; /* sockets, pipes */
    }
    if (!S_ISLNK(s.st_mode))
        chmod(dst, s.st_mode & 07777);
    set_time(dst, s.st_mtim.tv_sec, s.st_mtim.tv_nsec);
}

/*
 * Compare the tree @a (the original) with @b (restored): the same names, types, modes,
 * bytes, link targets and mtimes (nanoseconds), folders included. Sockets and pipes of @a
 * are expected to be absent. @return the number of files compared.
 */
static size_t compare_trees(const char *a, const char *b)
{
    struct dirent **ea = NULL, **eb = NULL;
    int na = scandir(a, &ea, not_dots, by_name), nb = scandir(b, &eb, not_dots, by_name), kept = 0;
    size_t files = 0;

    if (na < 0 || nb < 0)
        fail_msg("cannot list '%s' or '%s'", a, b);
    for (int i = 0; i < na; i++) {
        char pa[PATHCAP], pb[PATHCAP];
        struct stat sa, sb;
        pj(pa, a, ea[i]->d_name);
        pj(pb, b, ea[i]->d_name);
        if (lstat(pa, &sa) != 0)
            fail_msg("lstat '%s'", pa);
        if (!S_ISREG(sa.st_mode) && !S_ISDIR(sa.st_mode) && !S_ISLNK(sa.st_mode))
            continue;
        kept++;
        if (lstat(pb, &sb) != 0)
            fail_msg("'%s' was not restored", pb);
        if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT))
            fail_msg("'%s' was restored as another kind of file", pb);
        if (!S_ISLNK(sa.st_mode) && (sa.st_mode & 07777) != (sb.st_mode & 07777))
            fail_msg("'%s' has mode %o, expected %o", pb, (unsigned)(sb.st_mode & 07777),
                     (unsigned)(sa.st_mode & 07777));
        if (S_ISREG(sa.st_mode)) {
            size_t la = 0, lb = 0;
            unsigned char *da = read_all(pa, &la), *db = read_all(pb, &lb);
            if (!da || !db || la != lb || memcmp(da, db, la) != 0)
                fail_msg("'%s' differs from the original (%zu and %zu bytes)", pb, la, lb);
            free(da);
            free(db);
            files++;
        } else if (S_ISLNK(sa.st_mode)) {
            char ta[PATHCAP], tb[PATHCAP];
            ssize_t ka = readlink(pa, ta, sizeof(ta)), kb = readlink(pb, tb, sizeof(tb));
            if (ka < 0 || ka != kb || memcmp(ta, tb, (size_t)ka) != 0)
                fail_msg("link '%s' points elsewhere", pb);
        } else {
            files += compare_trees(pa, pb);
        }
        if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec)
            fail_msg("'%s' has mtime %lld.%09ld, expected %lld.%09ld", pb,
                     (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, (long long)sa.st_mtim.tv_sec,
                     sa.st_mtim.tv_nsec);
    }
    if (nb != kept)
        fail_msg("'%s' holds %d entries, expected %d", b, nb, kept);
    free_dirents(ea, na);
    free_dirents(eb, nb);
    return files;
}

/* Regular files, folders, links and bytes below @dir (nftw has no context pointer). */
static struct {
    uint64_t files, dirs, links, bytes;
} tally;

static int tally_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)flag;
    (void)ftw;
    if (S_ISREG(st->st_mode)) {
        tally.files++;
        tally.bytes += (uint64_t)st->st_size;
    } else if (S_ISDIR(st->st_mode)) {
        tally.dirs++;
    } else if (S_ISLNK(st->st_mode)) {
        tally.links++;
    }
    return 0;
}

static void count_tree(const char *dir)
{
    memset(&tally, 0, sizeof(tally));
    if (nftw(dir, tally_cb, 16, FTW_PHYS) != 0)
        fail_msg("walk '%s'", dir);
}

/* The regular files below @dir, sorted (free with free_list). */
struct list {
    char **v;
    size_t n, cap;
};
static struct list *list_target;

static void list_add(struct list *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        assert_non_null(l->v);
    }
    l->v[l->n] = strdup(s);
    assert_non_null(l->v[l->n]);
    l->n++;
}

static int list_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    (void)ftw;
    if (S_ISREG(st->st_mode))
        list_add(list_target, path);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_sort(struct list *l)
{
    if (l->n)
        qsort(l->v, l->n, sizeof(*l->v), cmp_str);
}

static struct list list_files(const char *dir)
{
    struct list l = { 0 };

    list_target = &l;
    nftw(dir, list_cb, 16, FTW_PHYS);
    list_sort(&l);
    return l;
}

static int list_has(const struct list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return 1;
    return 0;
}

static void free_list(struct list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static uint64_t du(const char *dir)
{
    count_tree(dir);
    return tally.bytes;
}

/* The largest file below @dir in @out. */
static void largest_file(const char *dir, char *out)
{
    struct list l = list_files(dir);
    off_t best = -1;

    assert_true(l.n > 0);
    for (size_t i = 0; i < l.n; i++)
        if (file_size(l.v[i]) > best) {
            best = file_size(l.v[i]);
            snprintf(out, PATHCAP, "%s", l.v[i]);
        }
    free_list(&l);
}

/* ---- helpers: problems reported through callbacks ------------------------------------------ */

struct prob {
    char gen[MM_CRYPTO_HEX_SIZE];
    char path[MM_LOG_PATH_MAX];
    char what[512];
};

struct probs {
    struct prob v[PROBS_MAX];
    size_t n, dropped;
};

static void on_problem(const char *gen, const char *path, const char *what, void *ctx)
{
    struct probs *p = ctx;

    if (p->n == PROBS_MAX) {
        p->dropped++;
        return;
    }
    snprintf(p->v[p->n].gen, sizeof(p->v[p->n].gen), "%s", gen ? gen : "");
    snprintf(p->v[p->n].path, sizeof(p->v[p->n].path), "%s", path ? path : "(null)");
    snprintf(p->v[p->n].what, sizeof(p->v[p->n].what), "%s", what ? what : "(null)");
    p->n++;
}

static struct probs *probs_new(void)
{
    struct probs *p = calloc(1, sizeof(*p));

    assert_non_null(p);
    return p;
}

/* The paths reported for generation @gen ("" for none), sorted. */
static struct list probs_paths(const struct probs *p, const char *gen)
{
    struct list l = { 0 };

    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].gen, gen) == 0)
            list_add(&l, p->v[i].path);
    list_sort(&l);
    return l;
}

static void print_probs(const char *title, const struct probs *p)
{
    fprintf(stderr, "# %s: %zu problems\n", title, p->n);
    for (size_t i = 0; i < p->n && i < 20; i++)
        fprintf(stderr, "#   gen '%.12s' path '%s': %s\n", p->v[i].gen, p->v[i].path, p->v[i].what);
}

static void lists_equal(const struct list *a, const struct list *b, const char *what)
{
    if (a->n != b->n)
        fail_msg("%s: %zu and %zu entries", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            fail_msg("%s: '%s' and '%s' differ", what, a->v[i], b->v[i]);
}

/* ---- helpers: repositories ----------------------------------------------------------------- */

/* The format of the repositories made (MM_TEST_REPO_FORMAT: the suite runs for 2 and 3). */
static unsigned test_format;

static void init_repo(const char *path, const struct mm_chunk_params *chunk)
{
    struct mm_repo_init_opts o = { 0 };

    o.format = test_format;
    o.kdf = &kdf_min;
    o.chunk = chunk;
    o.pack_target = 1 * MIB;
    if (mm_repo_init(path, "alice", P(PASS_A), &o) != 0)
        fail_msg("init '%s': %s", path, mm_error_last());
}

/* A new temporary folder @base ("@tag"), a repository @repo in it (@chunk sizes, NULL: the
 * defaults) and an empty source folder @src. */
static void new_repo_and_src(char *base, const char *tag, const struct mm_chunk_params *chunk,
                             char *repo, char *src)
{
    make_tmp(base, tag);
    pj(repo, base, "repo");
    pj(src, base, "src");
    init_repo(repo, chunk);
    mkdir_ok(src, 0755);
}

static mm_repo *open_as(const char *path, const char *user, const char *pass)
{
    mm_repo *r = NULL;

    if (mm_repo_open(&r, path, user, P(pass)) != 0)
        fail_msg("open '%s' as '%s': %s", path, user ? user : "(any)", mm_error_last());
    assert_non_null(r);
    return r;
}

static mm_repo *open_repo(const char *path)
{
    return open_as(path, "alice", PASS_A);
}

/* Back up @n folders; fails the test on error. */
static void backup_n(mm_repo *r, const struct mm_repo_source *src, size_t n,
                     const struct mm_repo_backup_opts *o, char id[MM_CRYPTO_HEX_SIZE],
                     struct mm_repo_counts *c)
{
    if (mm_repo_backup(r, src, n, o, id, c) != 0)
        fail_msg("backup: %s", mm_error_last());
}

static void backup_dir(mm_repo *r, const char *dir, char id[MM_CRYPTO_HEX_SIZE],
                       struct mm_repo_counts *c)
{
    struct mm_repo_source s = { dir, MM_REPO_SOURCE_FOLDER };
    struct mm_repo_backup_opts o = { 0 };

    o.threads = 2;
    backup_n(r, &s, 1, &o, id, c);
}

static void restore_ok(mm_repo *r, const char *gen, const char *to,
                       const struct mm_repo_restore_opts *o, struct mm_repo_restore_stats *st)
{
    if (mm_repo_restore(r, gen, to, o, st) != 0)
        fail_msg("restore '%s': %s", gen, mm_error_last());
}

static void verify_ok(mm_repo *r, struct probs *pr, struct mm_repo_verify_stats *st)
{
    struct mm_repo_verify_opts o = { 0 };

    o.read_data = 1;
    o.problem = on_problem;
    o.ctx = pr;
    if (mm_repo_verify(r, &o, st) != 0)
        fail_msg("verify: %s", mm_error_last());
}

static void expect_clean(const struct mm_repo_verify_stats *v, const struct probs *pr)
{
    if (pr->n)
        print_probs("verify of a clean repository", pr);
    assert_int_equal(pr->n, 0);
    assert_int_equal(v->damaged_generations, 0);
    assert_int_equal(v->damaged_packs, 0);
    assert_int_equal(v->damaged_objects, 0);
    assert_int_equal(v->missing_objects, 0);
    assert_int_equal(v->damaged_files, 0);
}

static void gens_of(mm_repo *r, struct mm_repo_gen **g, size_t *n)
{
    if (mm_repo_generations(r, g, n) != 0)
        fail_msg("generations: %s", mm_error_last());
}

/* ---- the mamori-gen storage shared by several tests ---------------------------------------- */

static struct {
    char dir[PATHCAP];
    char std[PATHCAP], ext[PATHCAP];
} fx;

static int group_setup(void **state)
{
    struct gen_opts o = { 0 };

    (void)state;
    snprintf(fx.dir, sizeof(fx.dir), "%s/mamori-test-repo-gen-XXXXXX", tmp_base());
    if (!mkdtemp(fx.dir))
        return -1;
    fmt(fx.std, "%s/standard", fx.dir);
    fmt(fx.ext, "%s/extended", fx.dir);
    o.out = fx.dir;
    o.patients = 20;
    o.days = 30;
    o.seed = 11;
    o.start = 20180; /* 2025-04-14 */
    o.extended = 1;
    o.threads = 2;
    if (gen_create(&o, NULL) != 0) {
        fprintf(stderr, "generate: %s\n", mm_error_last());
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    rm_rf(fx.dir);
    return 0;
}

/* The patient IDs (third level) of the SS-MIX2 storage @dir, sorted. */
static struct list patients_of(const char *dir)
{
    struct list l = { 0 };
    struct dirent **a = NULL;
    int na = scandir(dir, &a, not_dots, by_name);

    assert_true(na > 0);
    for (int i = 0; i < na; i++) {
        char pa[PATHCAP];
        struct dirent **b = NULL;
        int nb = scandir(pj(pa, dir, a[i]->d_name), &b, not_dots, by_name);
        for (int k = 0; k < nb; k++) {
            char pb[PATHCAP];
            struct dirent **c = NULL;
            int nc = scandir(pj(pb, pa, b[k]->d_name), &c, not_dots, by_name);
            for (int m = 0; m < nc; m++)
                list_add(&l, c[m]->d_name);
            free_dirents(c, nc);
        }
        free_dirents(b, nb);
    }
    free_dirents(a, na);
    list_sort(&l);
    return l;
}

/* The folder of patient @pid in the storage @dir. */
static char *patient_dir(char *out, const char *dir, const char *pid)
{
    return fmt(out, "%s/%.3s/%.3s/%s", dir, pid, pid + 3, pid);
}

/* ---- 1. init and open ----------------------------------------------------------------------- */

static void init__needs_a_missing_or_empty_folder(void **state)
{
    char base[PATHCAP], p[PATHCAP], marker[PATHCAP], want[128];
    struct mm_repo_init_opts o = { 0 };
    struct mm_chunk_params bad_chunk = { 4096, 10000, 65536 }; /* avg not a power of two */
    unsigned char *m;
    size_t n = 0;
    mm_repo *r;

    (void)state;
    make_tmp(base, "init");
    /* a missing folder, parents included */
    pj(p, base, "new/deeper/repo");
    init_repo(p, NULL);
    r = open_repo(p);
    assert_string_equal(mm_repo_user(r), "alice");
    assert_int_equal(strlen(mm_repo_id(r)), 32);
    assert_int_equal(strspn(mm_repo_id(r), "0123456789abcdef"), 32);
    snprintf(want, sizeof(want), "mamori-repo %u\nid %s\ncheck ",
             test_format ? test_format : MM_REPO_VERSION, mm_repo_id(r));
    m = read_all(pj(marker, p, "mamori-repo"), &n);
    assert_non_null(m);
    assert_int_equal(n, strlen(want) + 17); /* the check: 16 hex digits and a line end */
    assert_memory_equal(m, want, strlen(want));
    {
        size_t n2 = 0;
        unsigned char *m2 = read_all(pj(marker, p, "mamori-repo.2"), &n2);
        assert_non_null(m2);
        assert_int_equal(n2, n);
        assert_memory_equal(m2, m, n); /* the second copy */
        free(m2);
    }
    free(m);
    mm_repo_free(r);
    /* a repository is not an empty folder */
    assert_int_equal(mm_repo_init(p, "alice", P(PASS_A), NULL), MM_EEXISTS);
    /* an empty folder */
    pj(p, base, "empty");
    mkdir_ok(p, 0700);
    init_repo(p, &small_chunks);
    mm_repo_free(open_repo(p));
    /* a folder with a file: refused and left alone */
    pj(p, base, "full");
    mkdir_ok(p, 0700);
    write_file(pj(marker, p, "notes.txt"), "keep me", 7);
    assert_int_equal(mm_repo_init(p, "alice", P(PASS_A), NULL), MM_EEXISTS);
    m = read_all(marker, &n);
    assert_non_null(m);
    assert_int_equal(n, 7);
    free(m);
    assert_false(exists(pj(marker, p, "mamori-repo")));
    assert_false(exists(pj(marker, p, "keys")));
    /* options out of range: nothing is created */
    pj(p, base, "bad");
    o.kdf = &kdf_min;
    o.pack_target = 1000;
    assert_int_equal(mm_repo_init(p, "alice", P(PASS_A), &o), MM_EINVAL);
    o.pack_target = 0;
    o.zstd_level = 20;
    assert_int_equal(mm_repo_init(p, "alice", P(PASS_A), &o), MM_EINVAL);
    o.zstd_level = 0;
    o.chunk = &bad_chunk;
    assert_int_equal(mm_repo_init(p, "alice", P(PASS_A), &o), MM_EINVAL);
    assert_false(exists(p));
}

static void open__tells_passphrase_user_and_format_errors_apart(void **state)
{
    char base[PATHCAP], repo[PATHCAP], p[PATHCAP], marker[PATHCAP], text[128];
    mm_repo *r, *sentinel = (mm_repo *)&sentinel;
    int err;

    (void)state;
    make_tmp(base, "open");
    pj(repo, base, "repo");
    init_repo(repo, NULL);
    /* wrong passphrase: MM_EAUTH, out untouched */
    r = sentinel;
    assert_int_equal(mm_repo_open(&r, repo, "alice", P("wrong")), MM_EAUTH);
    assert_ptr_equal(r, sentinel);
    assert_int_equal(mm_repo_open(&r, repo, NULL, P("wrong")), MM_EAUTH);
    assert_int_equal(mm_repo_open(&r, repo, "alice", "", 0), MM_EAUTH);
    assert_ptr_equal(r, sentinel);
    /* a second user; user NULL tries every slot */
    r = open_repo(repo);
    assert_int_equal(mm_repo_key_add(r, "bob", P(PASS_B), &kdf_min), 0);
    mm_repo_free(r);
    r = open_as(repo, NULL, PASS_B);
    assert_string_equal(mm_repo_user(r), "bob");
    mm_repo_free(r);
    r = open_as(repo, NULL, PASS_A);
    assert_string_equal(mm_repo_user(r), "alice");
    mm_repo_free(r);
    /* bob's passphrase does not open alice's slot */
    r = sentinel;
    assert_int_equal(mm_repo_open(&r, repo, "alice", P(PASS_B)), MM_EAUTH);
    /* an unknown user */
    assert_int_equal(mm_repo_open(&r, repo, "carol", P(PASS_A)), MM_ENOTFOUND);
    assert_non_null(strstr(mm_error_last(), "carol"));
    /* not a repository: an empty folder, a missing one */
    pj(p, base, "empty");
    mkdir_ok(p, 0700);
    assert_int_equal(mm_repo_open(&r, p, "alice", P(PASS_A)), MM_ENOTFOUND);
    pj(p, base, "missing");
    assert_int_equal(mm_repo_open(&r, p, "alice", P(PASS_A)), MM_ENOTFOUND);
    assert_ptr_equal(r, sentinel);
    /* a marker from a newer mamori */
    r = open_repo(repo);
    snprintf(text, sizeof(text), "mamori-repo %d\nid %s\n", MM_REPO_VERSION_MAX + 1, mm_repo_id(r));
    mm_repo_free(r);
    r = sentinel;
    pj(marker, repo, "mamori-repo");
    {
        size_t n = 0;
        unsigned char *orig = read_all(marker, &n);
        char want[32];
        assert_non_null(orig);
        write_both(repo, "mamori-repo", text, strlen(text));
        err = mm_repo_open(&r, repo, "alice", P(PASS_A));
        assert_int_equal(err, MM_ECORRUPT);
        snprintf(want, sizeof(want), "format %d", MM_REPO_VERSION_MAX + 1);
        if (!strstr(mm_error_last(), want))
            fail_msg("the message does not name the version: %s", mm_error_last());
        /* a damaged marker: both copies */
        write_both(repo, "mamori-repo", "hello\n", 6);
        assert_int_equal(mm_repo_open(&r, repo, "alice", P(PASS_A)), MM_ECORRUPT);
        assert_ptr_equal(r, sentinel);
        write_both(repo, "mamori-repo", orig, n);
        free(orig);
    }
    mm_repo_free(open_repo(repo));
}

/* ---- 2. key slots --------------------------------------------------------------------------- */

static void keys__add_list_and_remove(void **state)
{
    const struct mm_kdf_params kdf_c = { 2, 16384 }, too_cheap = { 0, 8192 };
    char base[PATHCAP], repo[PATHCAP], p[PATHCAP];
    struct mm_repo_key *k = NULL;
    size_t n = 0;
    mm_repo *r, *other = NULL;

    (void)state;
    make_tmp(base, "keys");
    pj(repo, base, "repo");
    init_repo(repo, NULL);
    r = open_repo(repo);
    assert_int_equal(mm_repo_key_add(r, "carol", P(PASS_C), &kdf_c), 0);
    assert_int_equal(mm_repo_key_add(r, "bob", P(PASS_B), &kdf_min), 0);
    assert_int_equal(mm_repo_key_add(r, "bob", P("another"), &kdf_min), MM_EEXISTS);
    assert_int_equal(mm_repo_key_add(r, "", P("x"), &kdf_min), MM_EINVAL);
    assert_int_equal(mm_repo_key_add(r, "dave\n", P("x"), &kdf_min), MM_EINVAL);
    assert_int_equal(mm_repo_key_add(r, "dave", P("x"), &too_cheap), MM_EINVAL);
    mm_repo_free(r);
    /* every passphrase opens, naming its user */
    r = open_as(repo, "bob", PASS_B);
    assert_string_equal(mm_repo_user(r), "bob");
    mm_repo_free(r);
    r = open_as(repo, NULL, PASS_C);
    assert_string_equal(mm_repo_user(r), "carol");
    mm_repo_free(r);
    assert_int_equal(mm_repo_open(&other, repo, "alice", P(PASS_C)), MM_EAUTH);
    /* listed by name with their costs */
    assert_int_equal(mm_repo_key_list(repo, &k, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(k[0].name, "alice");
    assert_string_equal(k[1].name, "bob");
    assert_string_equal(k[2].name, "carol");
    assert_int_equal(k[0].opslimit, kdf_min.opslimit);
    assert_int_equal(k[0].memlimit, kdf_min.memlimit);
    assert_int_equal(k[1].opslimit, kdf_min.opslimit);
    assert_int_equal(k[2].opslimit, 2);
    assert_int_equal(k[2].memlimit, 16384);
    for (size_t i = 0; i < n; i++) {
        char rel[64];
        assert_int_equal(strlen(k[i].file), 32);
        snprintf(rel, sizeof(rel), "keys/%s", k[i].file);
        assert_true(exists(pj(p, repo, rel)));
        assert_int_equal(file_size(p), MM_KEYSLOT_SIZE);
    }
    free(k);
    /* remove carol (from bob's handle) */
    r = open_as(repo, "bob", PASS_B);
    assert_int_equal(mm_repo_key_remove(r, "carol"), 0);
    assert_int_equal(mm_repo_key_remove(r, "carol"), MM_ENOTFOUND);
    mm_repo_free(r);
    assert_int_equal(mm_repo_open(&other, repo, NULL, P(PASS_C)), MM_EAUTH);
    assert_int_equal(mm_repo_open(&other, repo, "carol", P(PASS_C)), MM_ENOTFOUND);
    assert_null(other);
    assert_int_equal(mm_repo_key_list(repo, &k, &n), 0);
    assert_int_equal(n, 2);
    free(k);
    /* the last slot stays */
    r = open_repo(repo);
    assert_int_equal(mm_repo_key_remove(r, "bob"), 0);
    assert_int_equal(mm_repo_key_remove(r, "alice"), MM_EINVAL);
    mm_repo_free(r);
    r = open_repo(repo);
    mm_repo_free(r);
    assert_int_equal(mm_repo_key_list(repo, &k, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(k[0].name, "alice");
    free(k);
    pj(p, base, "nothing");
    assert_int_equal(mm_repo_key_list(p, &k, &n), MM_ENOTFOUND);
}

/* The slot file of @user in @out. */
static void slot_file(const char *repo, const char *user, char *out)
{
    struct mm_repo_key *k = NULL;
    size_t n = 0;

    assert_int_equal(mm_repo_key_list(repo, &k, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(k[i].name, user) == 0) {
            char rel[64];
            snprintf(rel, sizeof(rel), "keys/%s", k[i].file);
            pj(out, repo, rel);
            free(k);
            return;
        }
    free(k);
    fail_msg("no slot for '%s'", user);
}

static void keys__damaged_slot_does_not_open_but_the_others_do(void **state)
{
    char base[PATHCAP], repo[PATHCAP], bob[PATHCAP], alice[PATHCAP];
    struct mm_repo_key *k = NULL;
    unsigned char *orig;
    size_t n = 0;
    mm_repo *r = NULL;
    int err;

    (void)state;
    make_tmp(base, "keydmg");
    pj(repo, base, "repo");
    init_repo(repo, NULL);
    r = open_repo(repo);
    assert_int_equal(mm_repo_key_add(r, "bob", P(PASS_B), &kdf_min), 0);
    mm_repo_free(r);
    r = NULL;
    drop_second_copies(repo); /* test_repo_copies.c: what a second copy saves */
    slot_file(repo, "bob", bob);
    slot_file(repo, "alice", alice);
    orig = read_all(bob, &n);
    assert_non_null(orig);
    /* one flipped byte in bob's sealed master key */
    flip_byte(bob, (off_t)n - 1);
    err = mm_repo_open(&r, repo, "bob", P(PASS_B));
    assert_true(err == MM_EAUTH || err == MM_ECORRUPT);
    assert_null(r);
    assert_int_not_equal(mm_repo_open(&r, repo, NULL, P(PASS_B)), 0);
    assert_null(r);
    r = open_repo(repo);
    mm_repo_free(r);
    r = open_as(repo, NULL, PASS_A);
    assert_string_equal(mm_repo_user(r), "alice");
    mm_repo_free(r);
    r = NULL;
    /* a truncated slot: listed as damaged, does not open, alice still does */
    write_file(bob, orig, n / 2);
    assert_int_equal(mm_repo_key_list(repo, &k, &n), MM_ECORRUPT);
    assert_int_not_equal(mm_repo_open(&r, repo, "bob", P(PASS_B)), 0);
    assert_int_not_equal(mm_repo_open(&r, repo, NULL, P(PASS_B)), 0);
    assert_null(r);
    mm_repo_free(open_repo(repo));
    mm_repo_free(open_as(repo, NULL, PASS_A));
    /* an empty slot file */
    write_file(bob, "", 0);
    mm_repo_free(open_as(repo, NULL, PASS_A));
    /* with every slot damaged nothing opens, and the error says why */
    write_file(alice, "MMKS", 4);
    assert_int_equal(mm_repo_open(&r, repo, NULL, P(PASS_A)), MM_ECORRUPT);
    assert_null(r);
    free(orig);
}

/* ---- 3. round trips ------------------------------------------------------------------------- */

struct awkward {
    uint64_t files, dirs, links, bytes;
};

/* A tree of awkward names, sizes, modes, links and nanosecond mtimes under @src. */
static void make_awkward_tree(const char *src, struct awkward *w)
{
    static const struct {
        const char *name;
        size_t size;
        mode_t mode;
    } files[] = {
        { "empty.bin", 0, 0600 },
        { "one.bin", 1, 0644 },
        { "b4095.bin", 4095, 0644 },
        { "b4096.bin", 4096, 0640 },
        { "r100k.bin", 100 * KIB, 0600 },
        { "big1m.bin", 1 * MIB, 0600 },
        { "hat^name^.txt", 300, 0644 },
        { "日本語^名前.txt", 5000, 0644 },
        { "\xff\xfe.bin", 77, 0600 },
        { "exec.sh", 120, 0755 },
        { "readonly.txt", 64, 0444 },
        { "sub/file.txt", 999, 0644 },
        { "sub/deeper/x^y^z.dat", 20000, 0600 },
        { "sub/deeper/more/leaf", 3, 0644 },
        { "sub/日本/カルテ.txt", 1234, 0640 },
        { "sub/\xe6\x97\xa5\xff/raw.bin", 10, 0644 }, /* a folder name that is not UTF-8 */
    };
    static const struct {
        const char *name;
        mode_t mode;
    } dirs[] = {
        /* deepest first, so setting a folder's mtime is not undone by its children */
        { "sub/deeper/more", 0755 },      { "sub/deeper", 0700 }, { "sub/日本", 0755 },
        { "sub/\xe6\x97\xa5\xff", 0750 }, { "sub", 0750 },        { "empty_dir", 0755 },
        { "locked_dir", 0555 },
    };
    char p[PATHCAP];

    memset(w, 0, sizeof(*w));
    mkdir_ok(src, 0755);
    mkdir_ok(pj(p, src, "sub"), 0755);
    mkdir_ok(pj(p, src, "sub/deeper"), 0755);
    mkdir_ok(pj(p, src, "sub/deeper/more"), 0755);
    mkdir_ok(pj(p, src, "sub/日本"), 0755);
    mkdir_ok(pj(p, src, "sub/\xe6\x97\xa5\xff"), 0755);
    mkdir_ok(pj(p, src, "empty_dir"), 0755);
    mkdir_ok(pj(p, src, "locked_dir"), 0755);
    write_random(pj(p, src, "locked_dir/inside.txt"), 50, 99);
    set_time(p, 1500000000, 1);
    w->files++;
    w->bytes += 50;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        pj(p, src, files[i].name);
        write_random(p, files[i].size, 1000 + i);
        assert_int_equal(chmod(p, files[i].mode), 0);
        set_time(p, 1600000000 + (time_t)i * 1000, 123456789 + (long)i);
        w->files++;
        w->bytes += files[i].size;
    }
    /* links are stored as links: one to a file, one dangling, one to a folder above */
    assert_int_equal(symlink("one.bin", pj(p, src, "link_to_file")), 0);
    set_time(p, 1610000000, 5);
    assert_int_equal(symlink("../nowhere/at/all", pj(p, src, "dangling")), 0);
    assert_int_equal(symlink("..", pj(p, src, "sub/up")), 0);
    set_time(p, 1610000001, 999999999);
    w->links = 3;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        pj(p, src, dirs[i].name);
        assert_int_equal(chmod(p, dirs[i].mode), 0);
        set_time(p, 1550000000 + (time_t)i * 77, 900000000 + (long)i);
    }
    w->dirs = 1 + sizeof(dirs) / sizeof(dirs[0]);
    assert_int_equal(chmod(src, 0751), 0);
    set_time(src, 1400000000, 424242);
}

static void roundtrip__awkward_tree_restores_identically(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], out[PATHCAP], out2[PATHCAP], p[PATHCAP];
    char id[MM_CRYPTO_HEX_SIZE];
    struct mm_repo_counts c;
    struct mm_repo_restore_stats rs;
    struct awkward w;
    struct mm_repo_gen g;
    mm_repo *r;

    (void)state;
    make_tmp(base, "rt");
    pj(repo, base, "repo");
    pj(src, base, "src");
    init_repo(repo, &small_chunks);
    make_awkward_tree(src, &w);
    r = open_repo(repo);
    backup_dir(r, src, id, &c);
    assert_int_equal(c.files, w.files);
    assert_int_equal(c.dirs, w.dirs);
    assert_int_equal(c.symlinks, w.links);
    assert_int_equal(c.skipped, 0);
    assert_int_equal(c.bytes, w.bytes);
    assert_int_equal(c.files_read, w.files);
    assert_int_equal(c.files_unchanged, 0);
    assert_true(c.bytes_new > w.bytes); /* every byte is new, and the trees */
    assert_true(c.objects_new > w.files + w.dirs);
    assert_true(c.bytes_stored > w.bytes);
    /* the generation records what backup returned */
    assert_int_equal(mm_repo_gen_find(r, "latest", &g), 0);
    assert_string_equal(g.id, id);
    assert_memory_equal(&g.counts, &c, sizeof(c));
    assert_int_equal(g.nsources, 1);
    assert_string_equal(g.sources[0].name, "src");
    assert_string_equal(g.sources[0].path, src);
    assert_int_equal(g.sources[0].kind, MM_REPO_SOURCE_FOLDER);
    mm_repo_gen_release(&g);
    /* restore by "latest" and by full ID */
    pj(out, base, "out");
    memset(&rs, 0xff, sizeof(rs));
    restore_ok(r, "latest", out, NULL, &rs);
    assert_int_equal(rs.files, w.files);
    assert_int_equal(rs.dirs, w.dirs);
    assert_int_equal(rs.symlinks, w.links);
    assert_int_equal(rs.bytes, w.bytes);
    assert_int_equal(rs.damaged, 0);
    assert_int_equal(compare_trees(src, pj(p, out, "src")), w.files);
    pj(out2, base, "out2");
    restore_ok(r, id, out2, NULL, &rs);
    assert_int_equal(compare_trees(src, pj(p, out2, "src")), w.files);
    /* links were not followed: the link to a folder above is a link */
    {
        struct stat s;
        assert_int_equal(lstat(pj(p, out, "src/sub/up"), &s), 0);
        assert_true(S_ISLNK(s.st_mode));
    }
    mm_repo_free(r);
}

/* One line per entry below @dir (relative path, kind, mode, size, mtime, ctime, inode). */
static void sig_walk(FILE *f, const char *dir, const char *rel)
{
    struct dirent **e = NULL;
    int n = scandir(dir, &e, not_dots, by_name);

    for (int i = 0; i < n; i++) {
        char p[PATHCAP], r2[PATHCAP];
        struct stat s;
        pj(p, dir, e[i]->d_name);
        snprintf(r2, sizeof(r2), "%s/%s", rel, e[i]->d_name);
        if (lstat(p, &s) != 0)
            continue;
        fprintf(f, "%s %o %lld %lld.%ld %lld.%ld %llu\n", r2, (unsigned)s.st_mode,
                (long long)s.st_size, (long long)s.st_mtim.tv_sec, s.st_mtim.tv_nsec,
                (long long)s.st_ctim.tv_sec, s.st_ctim.tv_nsec, (unsigned long long)s.st_ino);
        if (S_ISDIR(s.st_mode))
            sig_walk(f, p, r2);
    }
    free_dirents(e, n);
}

/* Signatures of every patient of the storage @dir, in the order of @pids. */
static char **signatures(const char *dir, const struct list *pids)
{
    char **v = calloc(pids->n ? pids->n : 1, sizeof(*v));

    assert_non_null(v);
    for (size_t i = 0; i < pids->n; i++) {
        char p[PATHCAP];
        size_t len = 0;
        FILE *f = open_memstream(&v[i], &len);
        assert_non_null(f);
        sig_walk(f, patient_dir(p, dir, pids->v[i]), "");
        fclose(f);
    }
    return v;
}

static void roundtrip__ssmix2_storages_restore_identically(void **state)
{
    char base[PATHCAP], repo[PATHCAP], gen[PATHCAP], std[PATHCAP], ext[PATHCAP], out[PATHCAP];
    char p[PATHCAP], id1[MM_CRYPTO_HEX_SIZE], id2[MM_CRYPTO_HEX_SIZE];
    struct mm_repo_source s[2];
    struct mm_repo_backup_opts o = { 0 };
    struct mm_repo_counts c1, c2;
    struct mm_repo_restore_stats rs;
    struct mm_repo_gen g1, g2;
    struct gen_opts go = { 0 };
    struct list pids, pids2, all = { 0 }, want = { 0 };
    char **sig1, **sig2, **ch = NULL;
    size_t nch = 0;
    uint64_t files;
    mm_repo *r;

    (void)state;
    make_tmp(base, "ssmix");
    pj(repo, base, "repo");
    pj(gen, base, "gen");
    copy_tree(fx.dir, gen); /* a private copy: advanced below */
    pj(std, gen, "standard");
    pj(ext, gen, "extended");
    count_tree(std);
    files = tally.files;
    count_tree(ext);
    files += tally.files;
    init_repo(repo, NULL);
    r = open_repo(repo);
    s[0].path = std;
    s[0].kind = MM_REPO_SOURCE_SSMIX2_STD;
    s[1].path = ext;
    s[1].kind = MM_REPO_SOURCE_SSMIX2_EXT;
    o.threads = 3;
    pids = patients_of(std);
    sig1 = signatures(std, &pids);
    backup_n(r, s, 2, &o, id1, &c1);
    assert_int_equal(c1.files, files);
    assert_int_equal(c1.files_read, files);
    pj(out, base, "out1");
    restore_ok(r, id1, out, NULL, &rs);
    assert_int_equal(rs.files, files);
    assert_int_equal(rs.damaged, 0);
    assert_int_equal(compare_trees(std, pj(p, out, "standard")) +
                             compare_trees(ext, pj(p, out, "extended")),
                     files);
    /* every patient of a first generation has changed */
    assert_int_equal(mm_repo_gen_find(r, id1, &g1), 0);
    assert_int_equal(g1.nsources, 2);
    assert_string_equal(g1.sources[0].name, "standard");
    assert_int_equal(g1.sources[0].kind, MM_REPO_SOURCE_SSMIX2_STD);
    assert_string_equal(g1.sources[1].name, "extended");
    assert_int_equal(g1.sources[1].kind, MM_REPO_SOURCE_SSMIX2_EXT);
    assert_int_equal(mm_repo_changed_patients(r, NULL, g1.root, "standard", &ch, &nch), 0);
    for (size_t i = 0; i < nch; i++)
        list_add(&all, ch[i]);
    mm_repo_strings_free(ch, nch);
    list_sort(&all);
    lists_equal(&all, &pids, "patients of the first generation");
    free_list(&all);
    assert_int_equal(mm_repo_changed_patients(r, g1.root, g1.root, "standard", &ch, &nch), 0);
    assert_int_equal(nch, 0);
    mm_repo_strings_free(ch, nch);
    assert_int_equal(mm_repo_changed_patients(r, NULL, g1.root, "nope", &ch, &nch), MM_ENOTFOUND);
    /* a few more days: the changed patients are exactly those whose folders changed */
    go.out = gen;
    go.days = 4;
    go.threads = 2;
    if (gen_advance(&go, NULL) != 0)
        fail_msg("advance: %s", mm_error_last());
    count_tree(std);
    files = tally.files;
    count_tree(ext);
    files += tally.files;
    pids2 = patients_of(std);
    sig2 = signatures(std, &pids2);
    backup_n(r, s, 2, &o, id2, &c2);
    assert_int_equal(c2.files, files);
    assert_true(c2.files_unchanged > 0);
    assert_true(c2.files_read > 0 && c2.files_read < files);
    for (size_t i = 0; i < pids2.n; i++) {
        size_t k = 0;
        while (k < pids.n && strcmp(pids.v[k], pids2.v[i]) != 0)
            k++;
        if (k == pids.n || strcmp(sig1[k], sig2[i]) != 0)
            list_add(&want, pids2.v[i]);
    }
    for (size_t k = 0; k < pids.n; k++)
        if (!list_has(&pids2, pids.v[k]))
            list_add(&want, pids.v[k]);
    list_sort(&want);
    assert_true(want.n > 0);
    assert_int_equal(mm_repo_gen_find(r, id2, &g2), 0);
    assert_string_equal(g2.parent, id1);
    assert_int_equal(mm_repo_changed_patients(r, g1.root, g2.root, "standard", &ch, &nch), 0);
    for (size_t i = 0; i < nch; i++)
        list_add(&all, ch[i]);
    mm_repo_strings_free(ch, nch);
    list_sort(&all);
    lists_equal(&all, &want, "changed patients");
    free_list(&all);
    pj(out, base, "out2");
    restore_ok(r, "latest", out, NULL, &rs);
    assert_int_equal(rs.files, files);
    assert_int_equal(compare_trees(std, pj(p, out, "standard")) +
                             compare_trees(ext, pj(p, out, "extended")),
                     files);
    for (size_t i = 0; i < pids.n; i++)
        free(sig1[i]);
    for (size_t i = 0; i < pids2.n; i++)
        free(sig2[i]);
    free(sig1);
    free(sig2);
    free_list(&pids);
    free_list(&pids2);
    free_list(&want);
    mm_repo_gen_release(&g1);
    mm_repo_gen_release(&g2);
    mm_repo_free(r);
}

/* ---- 4. change detection -------------------------------------------------------------------- */

/* src/a/f1..f5 (2000 bytes), src/a/b/big.bin (60 KiB), src/c/x.txt, with old mtimes. */
static void make_change_tree(const char *src)
{
    char p[PATHCAP], name[32];

    mkdir_ok(src, 0755);
    mkdir_ok(pj(p, src, "a"), 0755);
    mkdir_ok(pj(p, src, "a/b"), 0755);
    mkdir_ok(pj(p, src, "c"), 0755);
    for (int i = 1; i <= 5; i++) {
        snprintf(name, sizeof(name), "a/f%d", i);
        write_random(pj(p, src, name), 2000, 500 + (uint64_t)i);
        set_time(p, 1700000000 + i, 1000 * i);
    }
    write_random(pj(p, src, "a/b/big.bin"), 60 * KIB, 600);
    set_time(p, 1700000100, 7);
    write_random(pj(p, src, "c/x.txt"), 10, 601);
    set_time(p, 1700000200, 8);
}

static void change__unchanged_changed_renamed_and_copied_files(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], out[PATHCAP], p[PATHCAP], q[PATHCAP];
    char id[5][MM_CRYPTO_HEX_SIZE];
    struct mm_repo_counts c[5];
    struct mm_repo_gen g0, g1;
    mm_repo *r;

    (void)state;
    make_tmp(base, "change");
    pj(repo, base, "repo");
    pj(src, base, "src");
    init_repo(repo, &small_chunks);
    make_change_tree(src);
    r = open_repo(repo);
    backup_dir(r, src, id[0], &c[0]);
    assert_int_equal(c[0].files, 7);
    assert_int_equal(c[0].files_read, 7);
    /* nothing changed: nothing read, nothing new, the same root */
    backup_dir(r, src, id[1], &c[1]);
    assert_int_equal(c[1].files, 7);
    assert_int_equal(c[1].files_read, 0);
    assert_int_equal(c[1].files_unchanged, 7);
    assert_int_equal(c[1].objects_new, 0);
    assert_int_equal(c[1].bytes_new, 0);
    assert_int_equal(c[1].bytes, c[0].bytes);
    assert_int_equal(mm_repo_gen_find(r, id[0], &g0), 0);
    assert_int_equal(mm_repo_gen_find(r, id[1], &g1), 0);
    assert_memory_equal(g0.root, g1.root, sizeof(g0.root));
    assert_string_equal(g1.parent, id[0]);
    mm_repo_gen_release(&g0);
    mm_repo_gen_release(&g1);
    /* one file's content: that file is read; one blob and the trees a, src, root are new */
    write_random(pj(p, src, "a/f1"), 2000, 9001);
    backup_dir(r, src, id[2], &c[2]);
    assert_int_equal(c[2].files_read, 1);
    assert_int_equal(c[2].files_unchanged, 6);
    assert_int_equal(c[2].objects_new, 4);
    assert_true(c[2].bytes_new > 2000 && c[2].bytes_new < 2000 + 4096);
    /* a rename in the same folder (an SS-MIX2 flag change): found by inode, not read */
    assert_int_equal(rename(pj(p, src, "a/f2"), pj(q, src, "a/f2_renamed")), 0);
    backup_dir(r, src, id[3], &c[3]);
    assert_int_equal(c[3].files, 7);
    assert_int_equal(c[3].files_read, 0);
    assert_int_equal(c[3].files_unchanged, 7);
    assert_int_equal(c[3].objects_new, 3); /* trees a, src and the root */
    assert_true(c[3].bytes_new < 4096);
    /* a copy (a new inode) is read, but its content is stored already */
    {
        size_t n = 0;
        unsigned char *d = read_all(pj(p, src, "a/b/big.bin"), &n);
        assert_non_null(d);
        write_file(pj(q, src, "c/big_copy.bin"), d, n);
        free(d);
    }
    backup_dir(r, src, id[4], &c[4]);
    assert_int_equal(c[4].files, 8);
    assert_int_equal(c[4].files_read, 1);
    assert_int_equal(c[4].files_unchanged, 7);
    assert_int_equal(c[4].objects_new, 3); /* trees c, src and the root */
    assert_true(c[4].bytes_new < 60 * KIB);
    assert_true(c[4].bytes_new < 4096);
    /* and the last generation is the tree as it is now */
    pj(out, base, "out");
    restore_ok(r, "latest", out, NULL, NULL);
    assert_int_equal(compare_trees(src, pj(p, out, "src")), 8);
    mm_repo_free(r);
}

/*
 * A file rewritten in place with the same size and its old mtime put back (cp -p, rsync -t,
 * an application keeping its timestamps): its ctime changed, so it must be read again.
 */
static void change__same_size_rewrite_with_old_mtime_is_read(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], out[PATHCAP], p[PATHCAP];
    struct mm_repo_counts c;
    struct stat before, after;
    mm_repo *r;

    (void)state;
    make_tmp(base, "ctime");
    pj(repo, base, "repo");
    pj(src, base, "src");
    init_repo(repo, NULL);
    make_change_tree(src);
    r = open_repo(repo);
    backup_dir(r, src, NULL, NULL);
    pj(p, src, "a/f3");
    assert_int_equal(stat(p, &before), 0);
    usleep(20000); /* let the ctime move on even on coarse clocks */
    {
        int fd = open(p, O_WRONLY | O_CLOEXEC); /* same inode */
        unsigned char *d = random_bytes(2000, 4242);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, d, 2000, 0), 2000);
        close(fd);
        free(d);
    }
    set_time(p, before.st_mtim.tv_sec, before.st_mtim.tv_nsec);
    assert_int_equal(stat(p, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_size, before.st_size);
    assert_true(after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
                after.st_ctim.tv_nsec != before.st_ctim.tv_nsec);
    backup_dir(r, src, NULL, &c);
    if (c.files_read != 1)
        fail_msg("a file whose ctime changed was not read again (files_read %llu): the backup "
                 "keeps its old content",
                 (unsigned long long)c.files_read);
    pj(out, base, "out");
    restore_ok(r, "latest", out, NULL, NULL);
    assert_int_equal(compare_trees(src, pj(p, out, "src")), 7);
    mm_repo_free(r);
}

/* ---- 5. content-defined chunking ------------------------------------------------------------ */

static void dedup__insert_in_a_large_file_stores_little(void **state)
{
    const size_t size = 3 * MIB, at = 3 * MIB / 2 + 12345;
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], out[PATHCAP], p[PATHCAP];
    struct mm_repo_counts c1, c2, c3;
    unsigned char *d, *e, *ins;
    mm_repo *r;

    (void)state;
    new_repo_and_src(base, "cdc", &small_chunks, repo, src);
    d = random_bytes(size, 77);
    write_file(pj(p, src, "big.bin"), d, size);
    r = open_repo(repo);
    backup_dir(r, src, NULL, &c1);
    assert_true(c1.bytes_new >= size);
    /* 100 bytes inserted in the middle */
    ins = random_bytes(100, 78);
    e = malloc(size + 100);
    assert_non_null(e);
    memcpy(e, d, at);
    memcpy(e + at, ins, 100);
    memcpy(e + at + 100, d + at, size - at);
    write_file(p, e, size + 100);
    backup_dir(r, src, NULL, &c2);
    assert_int_equal(c2.files_read, 1);
    if (!(c2.bytes_new > 100 && c2.bytes_new < size / 4))
        fail_msg("an insert of 100 bytes stored %llu new bytes of %zu",
                 (unsigned long long)c2.bytes_new, size);
    /* two copies of a file in one generation are stored once */
    write_file(pj(p, src, "copy1.bin"), d, 200 * KIB);
    write_file(pj(p, src, "copy2.bin"), d + 300 * KIB, 200 * KIB);
    write_file(pj(p, src, "copy3.bin"), d + 300 * KIB, 200 * KIB);
    backup_dir(r, src, NULL, &c3);
    assert_int_equal(c3.files_read, 3);
    assert_true(c3.bytes_new < 300 * KIB); /* 200 KiB of copy1 are old chunks of big.bin */
    pj(out, base, "out");
    restore_ok(r, "latest", out, NULL, NULL);
    assert_int_equal(compare_trees(src, pj(p, out, "src")), 4);
    free(d);
    free(e);
    free(ins);
    mm_repo_free(r);
}

/* ---- 6. restore filters --------------------------------------------------------------------- */

static void restore__path_prefix_selects_a_subtree(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], out[PATHCAP], p[PATHCAP], q[PATHCAP];
    struct mm_repo_restore_opts o = { 0 };
    struct mm_repo_restore_stats rs;
    static const char *const bad[] = { "src/../etc", "..", "src/./sub", "../src" };
    mm_repo *r;

    (void)state;
    new_repo_and_src(base, "prefix", NULL, repo, src);
    mkdir_ok(pj(p, src, "sub"), 0755);
    mkdir_ok(pj(p, src, "sub/deep"), 0755);
    mkdir_ok(pj(p, src, "subway"), 0755);
    mkdir_ok(pj(p, src, "other"), 0755);
    write_random(pj(p, src, "sub/x"), 100, 1);
    write_random(pj(p, src, "sub/y"), 200, 2);
    write_random(pj(p, src, "sub/deep/z"), 300, 3);
    write_random(pj(p, src, "subway/w"), 400, 4);
    write_random(pj(p, src, "other/v"), 500, 5);
    write_random(pj(p, src, "top.txt"), 600, 6);
    set_time(pj(p, src, "sub"), 1650000000, 1);
    r = open_repo(repo);
    backup_dir(r, src, NULL, NULL);
    /* "src/sub" and its spellings */
    {
        static const char *const spell[] = { "src/sub", "/src//sub/", "src/sub/" };
        for (size_t i = 0; i < 3; i++) {
            char name[32];
            snprintf(name, sizeof(name), "out%zu", i);
            pj(out, base, name);
            o.path_prefix = spell[i];
            restore_ok(r, "latest", out, &o, &rs);
            assert_int_equal(rs.files, 3);
            assert_int_equal(rs.dirs, 2);
            assert_int_equal(rs.bytes, 600);
            assert_int_equal(rs.damaged, 0);
            assert_int_equal(compare_trees(pj(p, src, "sub"), pj(q, out, "src/sub")), 3);
            assert_false(exists(pj(p, out, "src/subway")));
            assert_false(exists(pj(p, out, "src/other")));
            assert_false(exists(pj(p, out, "src/top.txt")));
        }
    }
    /* a single file */
    pj(out, base, "one");
    o.path_prefix = "src/sub/deep/z";
    restore_ok(r, "latest", out, &o, &rs);
    assert_int_equal(rs.files, 1);
    assert_int_equal(rs.bytes, 300);
    assert_true(exists(pj(p, out, "src/sub/deep/z")));
    assert_false(exists(pj(p, out, "src/sub/x")));
    /* nothing matches */
    pj(out, base, "none");
    o.path_prefix = "src/nope";
    assert_int_equal(mm_repo_restore(r, "latest", out, &o, &rs), MM_ENOTFOUND);
    o.path_prefix = "nope";
    assert_int_equal(mm_repo_restore(r, "latest", out, &o, &rs), MM_ENOTFOUND);
    o.path_prefix = "src/sub/x/more";
    assert_int_equal(mm_repo_restore(r, "latest", out, &o, &rs), MM_ENOTFOUND);
    /* not a path inside a generation */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.path_prefix = bad[i];
        if (mm_repo_restore(r, "latest", out, &o, &rs) != MM_EINVAL)
            fail_msg("prefix '%s' was accepted", bad[i]);
    }
    /* a patient filter on a generation without SS-MIX2 storage */
    o.path_prefix = NULL;
    o.patient = "1000000001";
    assert_int_equal(mm_repo_restore(r, "latest", out, &o, &rs), MM_ENOTFOUND);
    o.patient = NULL;
    /* an existing file is never overwritten */
    pj(out, base, "existing");
    mkdir_ok(out, 0755);
    mkdir_ok(pj(p, out, "src"), 0755);
    mkdir_ok(pj(p, out, "src/sub"), 0755);
    write_file(pj(p, out, "src/sub/x"), "mine", 4);
    o.path_prefix = "src/sub";
    assert_int_equal(mm_repo_restore(r, "latest", out, &o, &rs), MM_EEXISTS);
    {
        size_t n = 0;
        unsigned char *d = read_all(p, &n);
        assert_non_null(d);
        assert_int_equal(n, 4);
        assert_memory_equal(d, "mine", 4);
        free(d);
    }
    mm_repo_free(r);
}

/* mm_repo_read_file: one file of a generation into memory, every block checked. */
static void read_file__reads_one_file_and_refuses_other_paths(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], p[PATHCAP], gen[MM_CRYPTO_HEX_SIZE];
    static const char *const bad[] = {
        "src/../src/a", "../src/a", "src/./a", "/src/a", "", "src//a"
    };
    static const char *const missing[] = { "src/nope", "nope/a", "src/a/more", "src/dir", "src" };
    struct mm_repo_gen g;
    unsigned char *big;
    mm_buf b;
    mm_repo *r;

    (void)state;
    new_repo_and_src(base, "readfile", &small_chunks, repo, src);
    mkdir_ok(pj(p, src, "dir"), 0755);
    write_random(pj(p, src, "a"), 1000, 11);
    write_random(pj(p, src, "dir/big"), 300000, 12); /* many chunks */
    write_file(pj(p, src, "dir/empty"), "", 0);
    r = open_repo(repo);
    backup_dir(r, src, gen, NULL);
    mm_repo_free(r); /* a fresh handle: the backup loaded the whole object index */
    r = open_repo(repo);
    assert_int_equal(mm_repo_gen_find(r, gen, &g), 0);
    mm_buf_init(&b, 1u << 20);
    assert_int_equal(mm_repo_read_file(r, &g, "src/a", 1u << 20, &b), 0);
    {
        unsigned char *want = random_bytes(1000, 11);
        unsigned long full, partial;
        assert_int_equal(b.len, 1000);
        assert_memory_equal(b.ptr, want, 1000);
        free(want);
        mm_repo_index_stats(r, &full, &partial);
        assert_int_equal(full, 0);
        assert_int_equal(partial, 2); /* the root tree (and every tree of its index file), a */
    }
    mm_buf_clear(&b);
    assert_int_equal(mm_repo_read_file(r, &g, "src/dir/big", 1u << 20, &b), 0);
    {
        unsigned long full, partial;
        mm_repo_index_stats(r, &full, &partial);
        assert_int_equal(full, 0);
        assert_int_equal(partial, 3); /* the trees were known: only big's blocks were looked up */
    }
    big = random_bytes(300000, 12);
    assert_int_equal(b.len, 300000);
    assert_memory_equal(b.ptr, big, 300000);
    free(big);
    mm_buf_clear(&b);
    assert_int_equal(mm_repo_read_file(r, &g, "src/dir/empty", 10, &b), 0);
    assert_int_equal(b.len, 0);
    /* over the caller's limit: refused before anything is read */
    mm_buf_puts(&b, "kept");
    assert_int_equal(mm_repo_read_file(r, &g, "src/dir/big", 1000, &b), MM_ELIMIT);
    assert_int_equal(b.len, 4);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (mm_repo_read_file(r, &g, bad[i], 1u << 20, &b) != MM_EINVAL)
            fail_msg("path '%s' was not refused", bad[i]);
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
        if (mm_repo_read_file(r, &g, missing[i], 1u << 20, &b) != MM_ENOTFOUND)
            fail_msg("path '%s' was found", missing[i]);
    assert_int_equal(b.len, 4); /* failures leave what was there */
    {
        /* only the trees of the paths and the files' blocks were looked up, never the whole
         * object index; a second read of a file finds its objects known already */
        unsigned long full, partial, again;
        mm_repo_index_stats(r, &full, &partial);
        assert_int_equal(full, 0);
        assert_true(partial >= 3);
        mm_buf_clear(&b);
        assert_int_equal(mm_repo_read_file(r, &g, "src/a", 1u << 20, &b), 0);
        mm_repo_index_stats(r, &full, &again);
        assert_int_equal(full, 0);
        assert_int_equal(again, partial);
    }
    mm_repo_gen_release(&g);
    mm_buf_release(&b);
    mm_repo_free(r);
    /* no index file at all: the objects are in no index file, so the whole index is loaded
     * (the packs' own tables) and the bytes are the same */
    {
        char ixdir[PATHCAP], moved[PATHCAP];
        unsigned long full, partial;
        pj(ixdir, repo, "index");
        pj(moved, base, "index.away");
        assert_int_equal(rename(ixdir, moved), 0);
        mkdir_ok(ixdir, 0700);
        r = open_repo(repo);
        assert_int_equal(mm_repo_gen_find(r, gen, &g), 0);
        mm_buf_init(&b, 1u << 20);
        assert_int_equal(mm_repo_read_file(r, &g, "src/dir/big", 1u << 20, &b), 0);
        big = random_bytes(300000, 12);
        assert_int_equal(b.len, 300000);
        assert_memory_equal(b.ptr, big, 300000);
        free(big);
        mm_repo_index_stats(r, &full, &partial);
        assert_int_equal(full, 1);
        mm_repo_gen_release(&g);
        mm_buf_release(&b);
        mm_repo_free(r);
        rm_rf(ixdir);
        assert_int_equal(rename(moved, ixdir), 0);
    }
    /* damaged data: found by its hash, never handed out */
    {
        char packs[PATHCAP], big_pack[PATHCAP];
        pj(packs, repo, "data");
        largest_file(packs, big_pack);
        flip_byte(big_pack, file_size(big_pack) / 2);
        r = open_repo(repo);
        assert_int_equal(mm_repo_gen_find(r, gen, &g), 0);
        mm_buf_init(&b, 1u << 20);
        {
            unsigned long full, partial;
            int err = mm_repo_read_file(r, &g, "src/dir/big", 1u << 20, &b);
            assert_true(err == MM_ECORRUPT || err == MM_EAUTH);
            mm_repo_index_stats(r, &full, &partial);
            assert_int_equal(full, 0);
        }
        assert_int_equal(b.len, 0);
        mm_repo_gen_release(&g);
        mm_buf_release(&b);
        mm_repo_free(r);
    }
}

static void restore__patient_selects_its_folders_of_both_storages(void **state)
{
    char base[PATHCAP], repo[PATHCAP], out[PATHCAP], p[PATHCAP], q[PATHCAP], dst[PATHCAP];
    struct mm_repo_source s[2] = { { fx.std, MM_REPO_SOURCE_SSMIX2_STD },
                                   { fx.ext, MM_REPO_SOURCE_SSMIX2_EXT } };
    struct mm_repo_restore_opts o = { 0 };
    struct mm_repo_restore_stats rs;
    struct list pids, epids;
    const char *pid = NULL, *other;
    uint64_t files;
    size_t n;
    mm_repo *r;

    (void)state;
    make_tmp(base, "patient");
    pj(repo, base, "repo");
    init_repo(repo, NULL);
    r = open_repo(repo);
    backup_n(r, s, 2, NULL, NULL, NULL);
    pids = patients_of(fx.std);
    epids = patients_of(fx.ext);
    assert_true(pids.n >= 2);
    for (size_t i = 0; i < pids.n && !pid; i++) /* one with folders in both storages */
        if (list_has(&epids, pids.v[i]))
            pid = pids.v[i];
    assert_non_null(pid);
    other = strcmp(pids.v[0], pid) != 0 ? pids.v[0] : pids.v[1];
    count_tree(patient_dir(p, fx.std, pid));
    files = tally.files;
    count_tree(patient_dir(p, fx.ext, pid));
    files += tally.files;
    pj(out, base, "out");
    o.patient = pid;
    restore_ok(r, "latest", out, &o, &rs);
    assert_int_equal(rs.files, files);
    assert_int_equal(rs.damaged, 0);
    pj(q, out, "standard");
    n = compare_trees(patient_dir(p, fx.std, pid), patient_dir(dst, q, pid));
    pj(q, out, "extended");
    n += compare_trees(patient_dir(p, fx.ext, pid), patient_dir(dst, q, pid));
    assert_int_equal(n, files);
    /* nothing of another patient */
    pj(q, out, "standard");
    assert_false(exists(patient_dir(p, q, other)));
    assert_true(exists(patient_dir(p, q, pid)));
    count_tree(out);
    assert_int_equal(tally.files, files);
    /* no such patient; a patient and a path; not an ID */
    pj(out, base, "none");
    o.patient = "0000000000";
    assert_int_equal(mm_repo_restore(r, "latest", out, &o, &rs), MM_ENOTFOUND);
    o.patient = pid;
    o.path_prefix = "standard";
    assert_int_equal(mm_repo_restore(r, "latest", out, &o, &rs), MM_EINVAL);
    o.path_prefix = NULL;
    o.patient = "../x";
    assert_int_equal(mm_repo_restore(r, "latest", out, &o, &rs), MM_EINVAL);
    o.patient = "..";
    assert_int_equal(mm_repo_restore(r, "latest", out, &o, &rs), MM_EINVAL);
    free_list(&pids);
    free_list(&epids);
    mm_repo_free(r);
}

/* ---- 7. generations ------------------------------------------------------------------------- */

/* The patient index of @g, read whole through mm_repo_pages in pieces of odd sizes. */
static int read_index(mm_repo *r, const struct mm_repo_gen *g, mm_buf *out)
{
    mm_repo_pages *p = NULL;
    uint64_t size, off = 0;
    int err;

    mm_buf_init(out, 16 * MIB);
    if ((err = mm_repo_pages_open(r, g, 64 * KIB, &p)) < 0)
        return err;
    size = mm_repo_pages_size(p);
    if ((err = mm_buf_grow(out, (size_t)size)) == 0) {
        while (off < size && err == 0) {
            size_t n = size - off < 5000 ? (size_t)(size - off) : 5000;
            err = mm_repo_pages_read(p, out->ptr + off, n, off);
            off += n;
        }
        if (err == 0)
            out->len = (size_t)size;
    }
    mm_repo_pages_free(p);
    return err;
}

struct pages_reader {
    pthread_t t;
    mm_repo_pages *p;
    const unsigned char *truth;
    size_t size;
    uint64_t seed;
    int bad; /* reads that failed or differed */
};

static void *pages_reader_main(void *arg)
{
    struct pages_reader *x = arg;
    unsigned char buf[12000];

    for (int i = 0; i < 3000; i++) {
        size_t off = (size_t)(sm64(&x->seed) % x->size), n = (size_t)(sm64(&x->seed) % sizeof(buf));
        if (n > x->size - off)
            n = x->size - off;
        if (mm_repo_pages_read(x->p, buf, n, off) != 0 || memcmp(buf, x->truth + off, n) != 0)
            x->bad++;
    }
    return NULL;
}

/*
 * The index read on demand: any range, from four threads at once through a cache far smaller
 * than the index (blocks replaced all the time), equals the file; reads past the end are
 * refused; a damaged pack fails the reads of its blocks (and only those) with an error, a
 * missing one too, and nothing crashes.
 */
static void pages__read_on_demand_from_threads_and_damage(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], ixf[PATHCAP], p[PATHCAP], pack[PATHCAP];
    char twin_pack[PATHCAP] = "", id[MM_CRYPTO_HEX_SIZE];
    struct mm_repo_source s = { 0 };
    struct mm_repo_backup_opts o = { 0 };
    struct mm_repo_counts c;
    struct mm_repo_gen *g = NULL;
    struct pages_reader x[4];
    const size_t size = 300 * KIB + 123;
    unsigned char *ixdata, one[8];
    mm_repo_pages *pg = NULL;
    size_t n = 0, ok = 0, failed = 0;
    mm_repo *r;

    (void)state;
    pack[0] = '\0';
    new_repo_and_src(base, "pages", NULL, repo, src);
    pj(ixf, base, "patients.idx");
    ixdata = random_bytes(size, 4242);
    for (size_t i = 40 * KIB; i < 160 * KIB; i++) /* compressible blocks too (zstd codec) */
        ixdata[i] = (unsigned char)"patient row "[i % 12];
    write_file(ixf, ixdata, size);
    write_random(pj(p, src, "f"), 1000, 7);
    r = open_repo(repo);
    s.path = src;
    s.kind = MM_REPO_SOURCE_SSMIX2_STD;
    o.index_file = ixf;
    backup_n(r, &s, 1, &o, id, &c);
    gens_of(r, &g, &n);
    assert_int_equal(n, 1);

    assert_int_equal(mm_repo_pages_open(r, &g[0], 16 * KIB, &pg), 0);
    assert_int_equal(mm_repo_pages_size(pg), size);
    for (int k = 0; k < 4; k++) {
        x[k] = (struct pages_reader){
            .p = pg, .truth = ixdata, .size = size, .seed = 99 + (uint64_t)k
        };
        assert_int_equal(pthread_create(&x[k].t, NULL, pages_reader_main, &x[k]), 0);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(x[k].t, NULL);
        assert_int_equal(x[k].bad, 0);
    }
    assert_int_equal(mm_repo_pages_read(pg, one, 8, size - 4), MM_EINVAL);
    assert_int_equal(mm_repo_pages_read(pg, one, 1, size), MM_EINVAL);
    assert_int_equal(mm_repo_pages_read(pg, one, 0, size), 0);
    mm_repo_pages_free(pg);
    pg = NULL;

    /* every block is stored twice, in two different packs (the two largest here: the file
     * data pack with the blocks, the tree pack with their twins) */
    {
        struct list l = list_files(pj(p, repo, "data"));
        off_t best[2] = { -1, -1 };
        assert_true(l.n >= 2);
        for (size_t i = 0; i < l.n; i++) {
            off_t sz = file_size(l.v[i]);
            if (sz > best[0]) {
                best[1] = best[0];
                memcpy(twin_pack, pack, PATHCAP);
                best[0] = sz;
                snprintf(pack, PATHCAP, "%s", l.v[i]);
            } else if (sz > best[1]) {
                best[1] = sz;
                snprintf(twin_pack, PATHCAP, "%s", l.v[i]);
            }
        }
        free_list(&l);
        assert_true(best[1] > (off_t)size / 2); /* a third of the index compresses well */
        assert_string_not_equal(pack, twin_pack);
    }
    /* one copy damaged all over (a byte every 1,000): every read still answers the truth,
     * from the twins, and verify names the damage */
    for (off_t off = 8; off < file_size(pack); off += 1000)
        flip_byte(pack, off);
    assert_int_equal(mm_repo_pages_open(r, &g[0], 16 * KIB, &pg), 0);
    for (size_t off = 0; off < size; off += 4096) {
        size_t k = size - off < 4096 ? size - off : 4096;
        unsigned char blk[4096];
        assert_int_equal(mm_repo_pages_read(pg, blk, k, off), 0);
        assert_memory_equal(blk, ixdata + off, k);
    }
    mm_repo_pages_free(pg);
    pg = NULL;
    {
        struct probs pr = { 0 };
        struct mm_repo_verify_stats vs;
        verify_ok(r, &pr, &vs);
        assert_int_equal(vs.damaged_generations, 1);
        assert_true(pr.n >= 1);
    }
    /* the other copy damaged too, in other places: blocks whose two copies are both
     * damaged fail with an error, the others still read, and nothing wrong is handed out */
    for (off_t off = 508; off < file_size(twin_pack); off += 1000)
        flip_byte(twin_pack, off);
    assert_int_equal(mm_repo_pages_open(r, &g[0], 16 * KIB, &pg), 0);
    for (size_t off = 0; off < size; off += 4096) {
        size_t k = size - off < 4096 ? size - off : 4096;
        unsigned char blk[4096];
        int err = mm_repo_pages_read(pg, blk, k, off);
        if (err == 0) {
            assert_memory_equal(blk, ixdata + off, k);
            ok++;
        } else {
            assert_true(err == MM_ECORRUPT || err == MM_EAUTH);
            assert_non_null(strstr(mm_error_last(), "patient index"));
            assert_non_null(strstr(mm_error_last(), "twin"));
            failed++;
        }
    }
    assert_true(failed >= 1);
    mm_repo_pages_free(pg);
    pg = NULL;
    /* one pack gone: located from the index files, the other copy read */
    assert_int_equal(unlink(pack), 0);
    assert_int_equal(mm_repo_pages_open(r, &g[0], 16 * KIB, &pg), 0);
    failed = 0;
    for (size_t off = 0; off < size; off += 4096)
        failed += mm_repo_pages_read(pg, one, 1, off) != 0;
    assert_true(failed >= 1); /* the twins damaged above */
    mm_repo_pages_free(pg);
    pg = NULL;
    /* both gone: not found when read */
    assert_int_equal(unlink(twin_pack), 0);
    assert_int_equal(mm_repo_pages_open(r, &g[0], 16 * KIB, &pg), 0);
    failed = 0;
    for (size_t off = 0; off < size; off += 4096)
        failed += mm_repo_pages_read(pg, one, 1, off) == MM_ENOTFOUND;
    assert_int_equal(failed, (size + 4095) / 4096);
    mm_repo_pages_free(pg);
    mm_repo_pages_free(NULL);
    mm_repo_gens_free(g, n);
    free(ixdata);
    mm_repo_free(r);
}

/*
 * Twins with exactly one copy of each block damaged, half in one pack and half in the other:
 * the whole index still reads byte for byte.
 */
static void pages__each_block_from_whichever_copy_is_whole(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], ixf[PATHCAP], p[PATHCAP];
    char id[MM_CRYPTO_HEX_SIZE];
    struct mm_repo_source s = { 0 };
    struct mm_repo_backup_opts o = { 0 };
    struct mm_repo_counts c;
    struct mm_repo_gen *g = NULL;
    const size_t size = 64 * 4096 + 77;
    unsigned char *ixdata;
    struct list l;
    mm_buf got;
    size_t n = 0;
    mm_repo *r;

    (void)state;
    new_repo_and_src(base, "twins", NULL, repo, src);
    pj(ixf, base, "patients.idx");
    ixdata = random_bytes(size, 777); /* incompressible: each block has its own place */
    write_file(ixf, ixdata, size);
    write_random(pj(p, src, "f"), 100, 7);
    r = open_repo(repo);
    s.path = src;
    s.kind = MM_REPO_SOURCE_SSMIX2_STD;
    o.index_file = ixf;
    backup_n(r, &s, 1, &o, id, &c);
    gens_of(r, &g, &n);
    assert_int_equal(n, 1);
    /* blocks and twins lie in pack order: damage the first half of one pack and the second
     * half of the other, so every block keeps one whole copy */
    l = list_files(pj(p, repo, "data"));
    {
        size_t damaged = 0;
        for (size_t i = 0; i < l.n; i++) {
            off_t sz = file_size(l.v[i]), from, to;
            if (sz < (off_t)size)
                continue; /* not one holding the index */
            /* (format 3: past the header, whose sealed data key the whole pack needs) */
            from = damaged == 0 ? (test_format >= 3 ? 256 : 16) : sz / 2 + 4096 * 2;
            to = damaged == 0 ? sz / 2 - 4096 * 2 : sz - 200;
            for (off_t off = from; off < to; off += 512)
                flip_byte(l.v[i], off);
            damaged++;
        }
        assert_int_equal(damaged, 2);
    }
    free_list(&l);
    assert_int_equal(read_index(r, &g[0], &got), 0);
    assert_int_equal(got.len, size);
    assert_memory_equal(got.ptr, ixdata, size);
    mm_buf_release(&got);
    mm_repo_gens_free(g, n);
    free(ixdata);
    mm_repo_free(r);
}

/*
 * The whole index read into a file (mm_repo_read_index, what a host whose index cache is lost
 * takes instead of a rebuild): byte for byte the file stored, over several threads' stretches
 * (2.3 MiB), the file cut to size when it held more; one copy of every block damaged still
 * reads (twins); both damaged fails with the patient index named, never with wrong bytes.
 */
static void pages__read_whole_index_into_a_file(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], ixf[PATHCAP], p[PATHCAP], out[PATHCAP];
    char id[MM_CRYPTO_HEX_SIZE];
    struct mm_repo_source s = { 0 };
    struct mm_repo_backup_opts o = { 0 };
    struct mm_repo_counts c;
    struct mm_repo_gen *g = NULL;
    const size_t size = 2300 * KIB + 99;
    unsigned char *ixdata, *got;
    uint64_t n64 = 0;
    size_t n = 0;
    struct list l;
    int fd;
    mm_repo *r;

    (void)state;
    new_repo_and_src(base, "fetch", NULL, repo, src);
    pj(ixf, base, "patients.idx");
    pj(out, base, "fetched.idx");
    ixdata = random_bytes(size, 4711);
    for (size_t i = 100 * KIB; i < 900 * KIB; i++) /* compressible blocks too */
        ixdata[i] = (unsigned char)"patient row "[i % 12];
    write_file(ixf, ixdata, size);
    write_random(pj(p, src, "f"), 1000, 7);
    r = open_repo(repo);
    s.path = src;
    s.kind = MM_REPO_SOURCE_SSMIX2_STD;
    o.index_file = ixf;
    backup_n(r, &s, 1, &o, id, &c);
    gens_of(r, &g, &n);
    assert_int_equal(n, 1);

    got = malloc(size + 1);
    assert_non_null(got);
    write_random(out, size + 5000, 9); /* longer than the index: cut to its size */
    fd = open(out, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(mm_repo_read_index(r, &g[0], fd, &n64), 0);
    close(fd);
    assert_int_equal(n64, size);
    assert_int_equal(file_size(out), (off_t)size);
    fd = open(out, O_RDONLY);
    assert_int_equal(read(fd, got, size + 1), (ssize_t)size);
    close(fd);
    assert_memory_equal(got, ixdata, size);
    assert_int_equal(mm_repo_read_index(r, &g[0], -1, NULL), MM_EINVAL);

    /* the largest pack (blocks of the index) damaged in its first third: the twins serve */
    l = list_files(pj(p, repo, "data"));
    {
        size_t big = 0;
        for (size_t i = 1; i < l.n; i++)
            if (file_size(l.v[i]) > file_size(l.v[big]))
                big = i;
        assert_true(file_size(l.v[big]) > 100 * KIB);
        for (off_t off = test_format >= 3 ? 256 : 16; off < file_size(l.v[big]) / 3; off += 512)
            flip_byte(l.v[big], off);
    }
    fd = open(out, O_WRONLY | O_TRUNC);
    assert_int_equal(mm_repo_read_index(r, &g[0], fd, NULL), 0);
    close(fd);
    fd = open(out, O_RDONLY);
    assert_int_equal(read(fd, got, size + 1), (ssize_t)size);
    close(fd);
    assert_memory_equal(got, ixdata, size);

    /* every pack damaged all over (both copies of every block): an error naming the index */
    for (size_t i = 0; i < l.n; i++) {
        off_t sz = file_size(l.v[i]);
        for (off_t off = test_format >= 3 ? 256 : 16; off < sz - 200; off += 512)
            flip_byte(l.v[i], off + 7);
    }
    free_list(&l);
    fd = open(out, O_WRONLY | O_TRUNC);
    {
        int err = mm_repo_read_index(r, &g[0], fd, NULL);
        assert_true(err == MM_ECORRUPT || err == MM_EAUTH);
        assert_non_null(strstr(mm_error_last(), "patient index"));
    }
    close(fd);
    free(got);
    mm_repo_gens_free(g, n);
    free(ixdata);
    mm_repo_free(r);
}

static void generations__list_find_and_patient_index(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], ixf[PATHCAP], p[PATHCAP], host[256] = "";
    char id[3][MM_CRYPTO_HEX_SIZE], spec[80];
    struct mm_repo_source s;
    struct mm_repo_backup_opts o = { 0 };
    struct mm_repo_counts c[3];
    struct mm_repo_gen *g = NULL, f;
    unsigned char *ixdata;
    size_t n = 0;
    mm_buf b;
    mm_repo *r;

    (void)state;
    new_repo_and_src(base, "gens", NULL, repo, src);
    pj(ixf, base, "patients.idx");
    ixdata = random_bytes(70 * KIB, 31337);
    write_file(ixf, ixdata, 70 * KIB);
    r = open_repo(repo);
    assert_int_equal(mm_repo_gen_find(r, "latest", &f), MM_ENOTFOUND);
    gens_of(r, &g, &n);
    assert_int_equal(n, 0);
    mm_repo_gens_free(g, n);
    s.path = src;
    s.kind = MM_REPO_SOURCE_SSMIX2_STD;
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        write_random(pj(p, src, name), 1000 * (size_t)(i + 1), 40 + (uint64_t)i);
        o.name = i == 1 ? "before the upgrade" : NULL;
        o.index_file = i == 1 ? NULL : ixf; /* the second has no patient index */
        backup_n(r, &s, 1, &o, id[i], &c[i]);
    }
    gethostname(host, sizeof(host) - 1);
    gens_of(r, &g, &n);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(g[i].id, id[i]);
        assert_string_equal(g[i].parent, i ? id[i - 1] : "");
        assert_memory_equal(&g[i].counts, &c[i], sizeof(c[i]));
        assert_int_equal(g[i].counts.files, (uint64_t)i + 1);
        assert_int_equal(g[i].has_index, i != 1);
        assert_int_equal(g[i].index_size, i != 1 ? 70 * KIB : 0);
        assert_string_equal(g[i].user, "alice");
        if (host[0] && !strchr(host, ' '))
            assert_string_equal(g[i].host, host);
        assert_int_equal(g[i].nsources, 1);
        assert_string_equal(g[i].sources[0].path, src);
        assert_int_equal(g[i].sources[0].kind, MM_REPO_SOURCE_SSMIX2_STD);
        assert_true(g[i].start_ns > 0 && g[i].start_ns <= g[i].end_ns);
        assert_true(i == 0 || g[i - 1].end_ns <= g[i].start_ns);
        assert_int_equal(g[i].verify, MM_REPO_UNVERIFIED);
        assert_string_equal(g[i].guard, "none");
    }
    assert_null(g[0].name);
    assert_string_equal(g[1].name, "before the upgrade");
    /* the stored patient index is the file, byte for byte */
    assert_int_equal(read_index(r, &g[2], &b), 0);
    assert_int_equal(b.len, 70 * KIB);
    assert_memory_equal(b.ptr, ixdata, 70 * KIB);
    mm_buf_release(&b);
    assert_int_equal(read_index(r, &g[1], &b), MM_ENOTFOUND);
    assert_int_equal(b.len, 0);
    assert_int_equal(read_index(r, &g[0], &b), 0);
    assert_int_equal(b.len, 70 * KIB);
    mm_buf_release(&b);
    /* finding one */
    assert_int_equal(mm_repo_gen_find(r, "latest", &f), 0);
    assert_string_equal(f.id, id[2]);
    mm_repo_gen_release(&f);
    for (int i = 0; i < 3; i++) {
        size_t len = 4; /* the shortest unique prefix of at least four digits */
        for (;; len++) {
            int unique = 1;
            for (int k = 0; k < 3; k++)
                if (k != i && strncmp(id[k], id[i], len) == 0)
                    unique = 0;
            if (unique)
                break;
        }
        snprintf(spec, sizeof(spec), "%.*s", (int)len, id[i]);
        assert_int_equal(mm_repo_gen_find(r, spec, &f), 0);
        assert_string_equal(f.id, id[i]);
        mm_repo_gen_release(&f);
        assert_int_equal(mm_repo_gen_find(r, id[i], &f), 0);
        assert_string_equal(f.id, id[i]);
        mm_repo_gen_release(&f);
    }
    snprintf(spec, sizeof(spec), "%.3s", id[0]);
    assert_int_equal(mm_repo_gen_find(r, spec, &f), MM_EINVAL);
    assert_int_equal(mm_repo_gen_find(r, "", &f), MM_EINVAL);
    assert_int_equal(mm_repo_gen_find(r, "zzzz", &f), MM_EINVAL);
    assert_int_equal(mm_repo_gen_find(r, "LATEST", &f), MM_EINVAL);
    snprintf(spec, sizeof(spec), "%.4s", id[0]);
    for (char *c2 = spec; *c2; c2++)
        if (*c2 >= 'a' && *c2 <= 'f')
            *c2 = (char)(*c2 - 'a' + 'A');
    if (strspn(spec, "0123456789") != 4)
        assert_int_equal(mm_repo_gen_find(r, spec, &f), MM_EINVAL);
    snprintf(spec, sizeof(spec), "%s0", id[0]); /* 65 digits */
    assert_int_equal(mm_repo_gen_find(r, spec, &f), MM_EINVAL);
    for (unsigned v = 0;; v++) { /* a prefix no ID has */
        snprintf(spec, sizeof(spec), "%04x", v);
        if (strncmp(id[0], spec, 4) && strncmp(id[1], spec, 4) && strncmp(id[2], spec, 4))
            break;
    }
    assert_int_equal(mm_repo_gen_find(r, spec, &f), MM_ENOTFOUND);
    mm_repo_gens_free(g, n);
    free(ixdata);
    mm_repo_free(r);
}

/* ---- 8. damage ------------------------------------------------------------------------------ */

/*
 * The repository damaged by the cases below, built once: src/a (25 files) and src/b/c (25
 * files) of 40 KiB each in the first generation; the second rewrites src/a/f00 and adds src/n
 * (10 files). About 2.4 MiB of incompressible data: several packs of 1 MiB.
 */
/* The names under @repo/dict, sorted (@out holds up to 8). @return how many. */
static size_t dict_files(const char *repo, char out[8][PATHCAP])
{
    char d[PATHCAP];
    struct dirent **e = NULL;
    int n = scandir(pj(d, repo, "dict"), &e, not_dots, by_name);
    size_t k = 0;

    if (n < 0)
        fail_msg("cannot list '%s'", d);
    for (int i = 0; i < n; i++)
        if (k < 8)
            pj(out[k++], d, e[i]->d_name);
    free_dirents(e, n);
    return (size_t)n;
}

static void backup_std(const char *repo, const char *std, unsigned samples,
                       char id[MM_CRYPTO_HEX_SIZE])
{
    struct mm_repo_source s = { std, MM_REPO_SOURCE_FOLDER };
    struct mm_repo_backup_opts o = { 0 };
    mm_repo *r = open_repo(repo);

    o.threads = 2;
    o.dict_samples = samples;
    backup_n(r, &s, 1, &o, id, NULL);
    mm_repo_free(r);
}

/*
 * The first backup trains a dictionary from the first small files, writes it twice before
 * using it, and the storage then takes much less room; one damaged copy loses nothing (the
 * other serves, verify names the damaged one, the next backup reuses the dictionary); with
 * both copies damaged every file that needs it is reported, never restored wrong.
 */
static void dict__trained_used_and_kept_in_two_copies(void **state)
{
    char base[PATHCAP], repo[PATHCAP], plain[PATHCAP], out[PATHCAP], out2[PATHCAP], p[PATHCAP];
    char id[MM_CRYPTO_HEX_SIZE], id2[MM_CRYPTO_HEX_SIZE], d[8][PATHCAP], d2[8][PATHCAP];
    char gen[PATHCAP], std[PATHCAP], flat[PATHCAP], name[32];
    struct mm_repo_restore_stats rs;
    struct mm_repo_verify_stats vs;
    struct gen_opts go = { 0 };
    struct probs *pr;
    uint64_t with, without;
    mm_repo *r;

    (void)state;
    make_tmp(base, "dict");
    pj(gen, base, "gen");
    pj(std, gen, "standard");
    go.out = gen;
    go.patients = 40; /* about 640 messages: 100 train the dictionary, the rest use it */
    go.days = 120;
    go.seed = 5;
    go.start = 20180;
    go.threads = 2;
    if (gen_create(&go, NULL) != 0)
        fail_msg("generate: %s", mm_error_last());
    { /* the messages side by side in one folder: file contents, not trees, fill the packs */
        struct list all = list_files(std);
        pj(flat, base, "flat");
        mkdir_ok(flat, 0755);
        for (size_t i = 0; i < all.n; i++) {
            size_t n = 0;
            unsigned char *m = read_all(all.v[i], &n);
            snprintf(name, sizeof(name), "m%05zu", i);
            write_file(pj(p, flat, name), m, n);
            free(m);
        }
        free_list(&all);
    }
    pj(repo, base, "repo");
    pj(plain, base, "plain");
    pj(out, base, "out");
    pj(out2, base, "out2");
    init_repo(repo, NULL);
    init_repo(plain, NULL);
    assert_int_equal(dict_files(repo, d), 0);
    backup_std(repo, flat, 100, id);
    backup_std(plain, flat, 1000000, id2); /* more samples than files: no dictionary */
    assert_int_equal(dict_files(plain, d), 0);
    assert_int_equal(dict_files(repo, d), 2);
    with = du(pj(p, repo, "data"));
    without = du(pj(p, plain, "data"));
    if (with * 10 > without * 7)
        fail_msg("with a dictionary %llu bytes, without %llu: expected under 70 %%",
                 (unsigned long long)with, (unsigned long long)without);

    /* clean: verifies and restores byte for byte */
    r = open_repo(repo);
    pr = probs_new();
    verify_ok(r, pr, &vs);
    expect_clean(&vs, pr);
    free(pr);
    restore_ok(r, id, out, NULL, &rs);
    assert_int_equal(rs.damaged, 0);
    mm_repo_free(r);
    compare_trees(flat, pj(p, out, "flat"));
    rm_rf(out);

    /* one copy damaged: still restores, verify names the copy, a backup reuses the other */
    flip_byte(d[0], file_size(d[0]) / 2);
    r = open_repo(repo);
    pr = probs_new();
    verify_ok(r, pr, &vs);
    assert_int_equal(pr->n, 1);
    assert_non_null(strstr(pr->v[0].path, "dict/"));
    assert_non_null(strstr(pr->v[0].what, "an intact copy serves"));
    free(pr);
    restore_ok(r, id, out, NULL, &rs);
    assert_int_equal(rs.damaged, 0);
    mm_repo_free(r);
    compare_trees(flat, pj(p, out, "flat"));
    backup_std(repo, std, 100, id2);
    assert_int_equal(dict_files(repo, d2), 2); /* no second dictionary trained */

    /* both copies damaged: each file that needs the dictionary is reported, none is wrong */
    flip_byte(d[1], file_size(d[1]) / 2);
    r = open_repo(repo);
    pr = probs_new();
    verify_ok(r, pr, &vs);
    assert_true(vs.damaged_objects > 0);
    assert_true(vs.damaged_generations == 2);
    free(pr);
    memset(&rs, 0, sizeof(rs));
    assert_int_equal(mm_repo_restore(r, id, out2, NULL, &rs), 0);
    assert_true(rs.damaged > 0);
    assert_true(rs.files > 0); /* files stored without the dictionary still come back */
    mm_repo_free(r);
    {
        struct list got = list_files(out2);
        size_t plen = strlen(out2) + 1;
        for (size_t i = 0; i < got.n; i++) {
            char src[PATHCAP];
            size_t la = 0, lb = 0;
            unsigned char *a, *b;
            pj(src, base, got.v[i] + plen);
            a = read_all(src, &la);
            b = read_all(got.v[i], &lb);
            assert_true(la == lb && memcmp(a, b, la) == 0);
            free(a);
            free(b);
        }
        free_list(&got);
    }
}

/* A repository of format version 1 (made before dictionaries) never gets one. */
static void dict__version_1_repository_stays_without(void **state)
{
    char base[PATHCAP], repo[PATHCAP], v2[PATHCAP], p[PATHCAP], id[MM_CRYPTO_HEX_SIZE];
    char d[8][PATHCAP];
    unsigned char *m;
    size_t n = 0;

    (void)state;
    if (test_format >= 3)
        return; /* a format 1 marker over format 3 packs is no repository that exists */
    make_tmp(base, "dict1");
    pj(repo, base, "repo");
    pj(v2, base, "v2");
    init_repo(repo, NULL);
    init_repo(v2, NULL);
    m = read_all(pj(p, repo, "mamori-repo"), &n);
    assert_true(n > 14 && memcmp(m, "mamori-repo 2\n", 14) == 0);
    m[12] = '1';
    write_both(repo, "mamori-repo", m, 50); /* without its check line: an old marker */
    free(m);
    backup_std(repo, fx.std, 60, id);
    assert_int_equal(dict_files(repo, d), 0);
    backup_std(v2, fx.std, 60, id); /* the same files make one in a version 2 repository */
    assert_int_equal(dict_files(v2, d), 2);
}

static struct {
    char dir[PATHCAP], src[PATHCAP], repo[PATHCAP];
    char g1[MM_CRYPTO_HEX_SIZE], g2[MM_CRYPTO_HEX_SIZE];
    uint64_t files;
    int built;
} dmg;

static void dmg_build(void)
{
    char p[PATHCAP], name[64];
    struct mm_repo_counts c;
    mm_repo *r;

    if (dmg.built)
        return;
    make_tmp_unowned(dmg.dir, "damage"); /* shared by the damage tests: removed by main */
    pj(dmg.src, dmg.dir, "src");
    pj(dmg.repo, dmg.dir, "repo");
    init_repo(dmg.repo, NULL);
    mkdir_ok(dmg.src, 0755);
    mkdir_ok(pj(p, dmg.src, "a"), 0755);
    mkdir_ok(pj(p, dmg.src, "b"), 0755);
    mkdir_ok(pj(p, dmg.src, "b/c"), 0755);
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "a/f%02d", i);
        write_random(pj(p, dmg.src, name), 40 * KIB, 7000 + (uint64_t)i);
        snprintf(name, sizeof(name), "b/c/g%02d", i);
        write_random(pj(p, dmg.src, name), 40 * KIB, 8000 + (uint64_t)i);
    }
    r = open_repo(dmg.repo);
    backup_dir(r, dmg.src, dmg.g1, NULL);
    mkdir_ok(pj(p, dmg.src, "n"), 0755);
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "n/h%02d", i);
        write_random(pj(p, dmg.src, name), 40 * KIB, 9000 + (uint64_t)i);
    }
    write_random(pj(p, dmg.src, "a/f00"), 40 * KIB, 9999);
    backup_dir(r, dmg.src, dmg.g2, &c);
    dmg.files = c.files;
    assert_int_equal(dmg.files, 60);
    mm_repo_free(r);
    count_tree(pj(p, dmg.repo, "data"));
    assert_true(tally.files >= 3);
    dmg.built = 1;
}

/* A fresh copy of the damage repository in @base/repo. */
static void dmg_copy(char *base, char *repo, const char *tag)
{
    dmg_build();
    make_tmp(base, tag);
    pj(repo, base, "repo");
    copy_tree(dmg.repo, repo);
}

/* 1 when @rel (a path inside the generation) is a reported path or below one. */
static int covered(const struct list *reported, const char *rel)
{
    for (size_t i = 0; i < reported->n; i++) {
        size_t k = strlen(reported->v[i]);
        if (strcmp(reported->v[i], ".") == 0)
            return 1;
        if (strncmp(rel, reported->v[i], k) == 0 && (rel[k] == '\0' || rel[k] == '/'))
            return 1;
    }
    return 0;
}

/*
 * Check a restore of damaged data into @out against dmg.src: every file restored is
 * identical, every file left out is covered by a reported path, every reported path names a
 * file or folder of the source. @return the number of files left out.
 */
static size_t check_partial_restore(const char *out, const struct list *reported)
{
    struct list all = list_files(dmg.src);
    size_t missing = 0, plen = strlen(dmg.dir) + 1;

    for (size_t i = 0; i < all.n; i++) {
        const char *rel = all.v[i] + plen; /* "src/..." */
        char p[PATHCAP];
        pj(p, out, rel);
        if (exists(p)) {
            size_t la = 0, lb = 0;
            unsigned char *a = read_all(all.v[i], &la), *b = read_all(p, &lb);
            if (!a || !b || la != lb || memcmp(a, b, la) != 0)
                fail_msg("'%s' was restored with other bytes", rel);
            free(a);
            free(b);
            if (covered(reported, rel))
                fail_msg("'%s' was restored but reported damaged", rel);
        } else {
            missing++;
            if (!covered(reported, rel))
                fail_msg("'%s' was left out but not reported", rel);
        }
    }
    for (size_t i = 0; i < reported->n; i++) {
        char p[PATHCAP];
        if (strcmp(reported->v[i], ".") != 0 &&
            (strncmp(reported->v[i], "src", 3) != 0 || !exists(pj(p, dmg.dir, reported->v[i]))))
            fail_msg("restore reported '%s', which is not in the generation", reported->v[i]);
    }
    free_list(&all);
    return missing;
}

/* The verify states of dmg's generations in @s1, @s2. */
static void verify_states(mm_repo *r, int *s1, int *s2)
{
    struct mm_repo_gen *g = NULL;
    size_t n = 0;

    gens_of(r, &g, &n);
    assert_int_equal(n, 2);
    assert_string_equal(g[0].id, dmg.g1);
    assert_string_equal(g[1].id, dmg.g2);
    *s1 = g[0].verify;
    *s2 = g[1].verify;
    assert_true(g[1].verify_ns > 0);
    mm_repo_gens_free(g, n);
}

static void damage__clean_repository_verifies_whole(void **state)
{
    char base[PATHCAP], repo[PATHCAP], p[PATHCAP];
    struct probs *pr = probs_new();
    struct mm_repo_verify_stats v;
    struct mm_repo_verify_opts o = { 0 };
    int s1, s2;
    mm_repo *r;

    (void)state;
    dmg_copy(base, repo, "clean");
    r = open_repo(repo);
    /* without read_data nothing is recorded */
    o.problem = on_problem;
    o.ctx = pr;
    assert_int_equal(mm_repo_verify(r, &o, &v), 0);
    expect_clean(&v, pr);
    {
        struct mm_repo_gen *g = NULL;
        size_t n = 0;
        gens_of(r, &g, &n);
        assert_int_equal(n, 2);
        assert_int_equal(g[0].verify, MM_REPO_UNVERIFIED);
        assert_int_equal(g[1].verify, MM_REPO_UNVERIFIED);
        assert_int_equal(g[1].verify_ns, 0);
        mm_repo_gens_free(g, n);
    }
    verify_ok(r, pr, &v);
    expect_clean(&v, pr);
    assert_int_equal(v.generations, 2);
    count_tree(pj(p, repo, "data"));
    assert_int_equal(v.packs, tally.files);
    assert_true(v.trees >= 5);        /* root, src, a, b, c, n; shared ones once */
    assert_true(v.objects >= 60 + 5); /* 61 blobs and the trees */
    assert_true(v.bytes >= 61 * 40 * KIB);
    verify_states(r, &s1, &s2);
    assert_int_equal(s1, MM_REPO_VERIFIED);
    assert_int_equal(s2, MM_REPO_VERIFIED);
    mm_repo_free(r);
    free(pr);
}

/* Verify with read_data and restore the latest generation of the damaged copy @repo. */
struct dmg_result {
    struct probs *vp, *rp; /* problems of verify, of restore */
    struct mm_repo_verify_stats v;
    struct mm_repo_restore_stats rs;
    struct list vpaths2, rpaths; /* verify's paths of g2, restore's paths */
    size_t missing;              /* files not restored */
    int s1, s2;                  /* recorded verify states */
};

static void dmg_run(const char *base, const char *repo, struct dmg_result *d)
{
    struct mm_repo_restore_opts ro = { 0 };
    char out[PATHCAP];
    mm_repo *r = open_repo(repo);

    memset(d, 0, sizeof(*d));
    d->vp = probs_new();
    d->rp = probs_new();
    verify_ok(r, d->vp, &d->v);
    verify_states(r, &d->s1, &d->s2);
    ro.problem = on_problem;
    ro.ctx = d->rp;
    pj(out, base, "out");
    restore_ok(r, "latest", out, &ro, &d->rs);
    d->vpaths2 = probs_paths(d->vp, dmg.g2);
    d->rpaths = probs_paths(d->rp, dmg.g2);
    assert_int_equal(d->rp->n, d->rpaths.n); /* restore names its generation */
    d->missing = check_partial_restore(out, &d->rpaths);
    assert_int_equal(d->rs.damaged, d->missing); /* a lost folder counts the files below it */
    assert_int_equal(d->rs.files + d->missing, dmg.files);
    mm_repo_free(r);
}

static void dmg_free(struct dmg_result *d)
{
    free(d->vp);
    free(d->rp);
    free_list(&d->vpaths2);
    free_list(&d->rpaths);
}

/* Problems of no generation (packs, index files) must be exactly @rel with @what in them. */
static void expect_only_file_named(const struct probs *p, const char *rel, const char *what)
{
    size_t hits = 0;

    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i].gen[0])
            continue;
        if (strcmp(p->v[i].path, rel) != 0 || !strstr(p->v[i].what, what)) {
            print_probs("verify", p);
            fail_msg("verify named '%s' (%s), expected only '%s'", p->v[i].path, p->v[i].what, rel);
        }
        hits++;
    }
    assert_int_equal(hits, 1);
}

/* Generations named must be dmg's. */
static void expect_known_gens(const struct probs *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].gen[0] && strcmp(p->v[i].gen, dmg.g1) && strcmp(p->v[i].gen, dmg.g2))
            fail_msg("verify named an unknown generation '%s'", p->v[i].gen);
}

static void damage__flipped_byte_in_a_pack(void **state)
{
    char base[PATHCAP], repo[PATHCAP], pack[PATHCAP];
    struct dmg_result d;
    struct list vpaths1;

    (void)state;
    dmg_copy(base, repo, "flip");
    largest_file(pj(pack, repo, "data"), pack);
    flip_byte(pack, file_size(pack) / 2);
    dmg_run(base, repo, &d);
    /* verify: that pack, one object, and the files or folders holding it */
    expect_only_file_named(d.vp, pack + strlen(repo) + 1, "content hash");
    expect_known_gens(d.vp);
    assert_int_equal(d.v.damaged_packs, 1);
    assert_int_equal(d.v.damaged_objects, 1);
    assert_int_equal(d.v.missing_objects, 0);
    assert_true(d.v.damaged_files >= 1);
    vpaths1 = probs_paths(d.vp, dmg.g1);
    assert_int_equal(d.v.damaged_generations, (vpaths1.n > 0) + (d.vpaths2.n > 0));
    assert_int_equal(d.s1, vpaths1.n ? MM_REPO_DAMAGED : MM_REPO_VERIFIED);
    assert_int_equal(d.s2, d.vpaths2.n ? MM_REPO_DAMAGED : MM_REPO_VERIFIED);
    /* restore: everything but what verify named (one file, or one folder) */
    lists_equal(&d.rpaths, &d.vpaths2, "paths named by restore and by verify");
    if (d.vpaths2.n) {
        assert_int_equal(d.rpaths.n, 1);
        assert_true(d.missing >= 1 && d.missing < dmg.files);
    } else {
        assert_int_equal(d.missing, 0); /* the object was only in the first generation */
        assert_true(vpaths1.n >= 1);
    }
    free_list(&vpaths1);
    dmg_free(&d);
}

static void damage__truncated_pack(void **state)
{
    char base[PATHCAP], repo[PATHCAP], pack[PATHCAP];
    struct dmg_result d;

    (void)state;
    dmg_copy(base, repo, "trunc");
    largest_file(pj(pack, repo, "data"), pack);
    assert_int_equal(truncate(pack, file_size(pack) / 2), 0);
    dmg_run(base, repo, &d);
    expect_only_file_named(d.vp, pack + strlen(repo) + 1, "wrong size");
    expect_known_gens(d.vp);
    assert_int_equal(d.v.damaged_packs, 1);
    assert_true(d.v.damaged_objects >= 2);
    assert_true(d.v.damaged_generations >= 1);
    /* restore keeps the objects of the first half, and names every file it left out */
    assert_true(d.missing >= 1 && d.missing < dmg.files);
    assert_true(d.rs.files > 0);
    for (size_t i = 0; i < d.rpaths.n; i++)
        if (!list_has(&d.vpaths2, d.rpaths.v[i]))
            fail_msg("restore reported '%s', which verify did not", d.rpaths.v[i]);
    dmg_free(&d);
}

/* The tree packs of @repo (mm_repo_sync_packs), as paths in @out. @return how many */
static size_t tree_packs(const char *repo, char out[][PATHCAP], size_t cap)
{
    struct mm_repo_sync_pack *p = NULL;
    size_t n = 0, k = 0;
    mm_repo *r = open_repo(repo);

    assert_int_equal(mm_repo_sync_packs(r, &p, &n), 0);
    for (size_t i = 0; i < n && k < cap; i++)
        if (p[i].trees) {
            char rel[96];
            snprintf(rel, sizeof(rel), "data/%.2s/%s", p[i].id, p[i].id);
            pj(out[k++], repo, rel);
        }
    free(p);
    mm_repo_free(r);
    return k;
}

/*
 * A truncated pack of trees costs only the files below the trees it lost: restore leaves out
 * exactly the files under the folders it names (check_partial_restore), restores every other
 * one byte for byte, and verify counts the same files as restore leaves out.
 */
static void damage__truncated_tree_pack(void **state)
{
    char base[PATHCAP], repo[PATHCAP], packs[4][PATHCAP], out[PATHCAP];
    size_t n;
    struct dmg_result d;

    (void)state;
    dmg_copy(base, repo, "treetrunc");
    n = tree_packs(repo, packs, 4);
    assert_true(n >= 2); /* one per backup */
    for (size_t i = 0; i < n; i++) {
        struct mm_repo_restore_stats rs1;
        char tag[32], pack[PATHCAP];
        mm_repo *r;
        snprintf(tag, sizeof(tag), "treetrunc%zu", i);
        dmg_copy(base, repo, tag);
        pj(pack, repo, strstr(packs[i], "/data/") + 1);
        assert_int_equal(truncate(pack, file_size(pack) / 2), 0);
        dmg_run(base, repo, &d); /* latest: exactly the files below the lost folders, counted */
        expect_only_file_named(d.vp, pack + strlen(repo) + 1, "wrong size");
        lists_equal(&d.rpaths, &d.vpaths2, "paths named by restore and by verify");
        /* the first generation: its restore's count and the latest's are verify's count */
        r = open_repo(repo);
        restore_ok(r, dmg.g1, pj(out, base, "out1"), NULL, &rs1);
        mm_repo_free(r);
        if (d.v.damaged_files != rs1.damaged + d.rs.damaged)
            fail_msg("tree pack %zu: verify counts %llu damaged files, restore %llu + %llu", i,
                     (unsigned long long)d.v.damaged_files, (unsigned long long)rs1.damaged,
                     (unsigned long long)d.rs.damaged);
        assert_true(d.v.damaged_files > 1); /* a lost folder is more than one file */
        dmg_free(&d);
    }
}

static void damage__missing_pack(void **state)
{
    char base[PATHCAP], repo[PATHCAP], pack[PATHCAP];
    struct dmg_result d;

    (void)state;
    dmg_copy(base, repo, "gone");
    largest_file(pj(pack, repo, "data"), pack);
    assert_int_equal(unlink(pack), 0);
    dmg_run(base, repo, &d);
    expect_only_file_named(d.vp, pack + strlen(repo) + 1, "missing");
    expect_known_gens(d.vp);
    assert_int_equal(d.v.damaged_packs, 1);
    assert_true(d.v.damaged_objects >= 2);
    assert_true(d.v.damaged_generations >= 1);
    lists_equal(&d.rpaths, &d.vpaths2, "paths named by restore and by verify");
    assert_true(d.missing >= 2 && d.missing < dmg.files);
    dmg_free(&d);
}

/* The index files of @repo. */
static struct list index_files(const char *repo)
{
    char p[PATHCAP];

    return list_files(pj(p, repo, "index"));
}

static void damage__flipped_byte_in_an_index_file(void **state)
{
    char base[PATHCAP], repo[PATHCAP], out[PATHCAP], p[PATHCAP];
    struct list ix;
    struct dmg_result d;

    (void)state;
    dmg_copy(base, repo, "ixflip");
    ix = index_files(repo);
    assert_true(ix.n >= 2); /* one per backup */
    flip_byte(ix.v[0], file_size(ix.v[0]) / 2);
    dmg_run(base, repo, &d);
    expect_only_file_named(d.vp, ix.v[0] + strlen(repo) + 1, "index file damaged");
    assert_int_equal(d.v.damaged_generations, 0);
    assert_int_equal(d.v.damaged_objects, 0);
    assert_int_equal(d.v.damaged_files, 0);
    assert_int_equal(d.s1, MM_REPO_VERIFIED);
    assert_int_equal(d.s2, MM_REPO_VERIFIED);
    /* the packs it named were read instead: everything restores */
    assert_int_equal(d.rs.damaged, 0);
    assert_int_equal(d.missing, 0);
    pj(out, base, "out");
    assert_int_equal(compare_trees(dmg.src, pj(p, out, "src")), dmg.files);
    free_list(&ix);
    dmg_free(&d);
}

static void damage__missing_index_files(void **state)
{
    char base[PATHCAP], repo[PATHCAP], out[PATHCAP], p[PATHCAP];
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_restore_stats rs;
    struct mm_repo_verify_stats v;
    struct probs *pr = probs_new();
    struct list ix;
    mm_repo *r;

    (void)state;
    dmg_copy(base, repo, "ixgone");
    ix = index_files(repo);
    for (size_t i = 0; i < ix.n; i++)
        assert_int_equal(unlink(ix.v[i]), 0);
    r = open_repo(repo);
    verify_ok(r, pr, &v); /* runs; whatever it finds, the data itself is whole */
    memset(pr, 0, sizeof(*pr));
    ro.problem = on_problem;
    ro.ctx = pr;
    pj(out, base, "out");
    restore_ok(r, "latest", out, &ro, &rs);
    if (rs.damaged || pr->n) {
        print_probs("restore without index files", pr);
        fail_msg("with its index files gone, restore left out %llu items although every pack "
                 "is whole (the pack tables name every object)",
                 (unsigned long long)rs.damaged);
    }
    assert_int_equal(compare_trees(dmg.src, pj(p, out, "src")), dmg.files);
    mm_repo_free(r);
    free_list(&ix);
    free(pr);
}

static void damage__flipped_byte_in_a_manifest(void **state)
{
    char base[PATHCAP], repo[PATHCAP], out[PATHCAP], p[PATHCAP], rel[128];
    struct mm_repo_verify_stats v;
    struct mm_repo_gen *g = NULL;
    struct probs *pr = probs_new();
    size_t n = 0, named1 = 0;
    mm_repo *r;
    int err;

    (void)state;
    dmg_copy(base, repo, "manifest");
    snprintf(rel, sizeof(rel), "generations/%s", dmg.g1);
    pj(p, repo, rel);
    flip_byte(p, file_size(p) / 2);
    r = open_repo(repo);
    verify_ok(r, pr, &v);
    for (size_t i = 0; i < pr->n; i++) {
        if (strcmp(pr->v[i].gen, dmg.g1) != 0) {
            print_probs("verify", pr);
            fail_msg("verify named '%s' '%s' besides the damaged manifest", pr->v[i].gen,
                     pr->v[i].path);
        }
        named1++;
    }
    assert_int_equal(named1, 1);
    assert_int_equal(v.generations, 2);
    assert_int_equal(v.damaged_generations, 1);
    assert_int_equal(v.damaged_packs, 0);
    assert_int_equal(v.damaged_objects, 0);
    assert_int_equal(v.damaged_files, 0);
    /* the list refuses (documented); the damaged one does not restore */
    assert_int_equal(mm_repo_generations(r, &g, &n), MM_ECORRUPT);
    assert_null(g);
    pj(out, base, "out1");
    err = mm_repo_restore(r, dmg.g1, out, NULL, NULL);
    assert_true(err == MM_ECORRUPT || err == MM_ENOTFOUND);
    /* the other generation restores whole, by ID and as the latest */
    pj(out, base, "out2");
    err = mm_repo_restore(r, dmg.g2, out, NULL, NULL);
    if (err != 0)
        fail_msg("a damaged manifest of another generation stops the restore of an intact one: "
                 "%s",
                 mm_error_last());
    assert_int_equal(compare_trees(dmg.src, pj(p, out, "src")), dmg.files);
    pj(out, base, "out3");
    restore_ok(r, "latest", out, NULL, NULL);
    assert_int_equal(compare_trees(dmg.src, pj(p, out, "src")), dmg.files);
    mm_repo_free(r);
    free(pr);
}

static void damage__config_and_key_slot_refuse_to_open(void **state)
{
    char base[PATHCAP], repo[PATHCAP], p[PATHCAP];
    unsigned char *orig;
    size_t n = 0;
    mm_repo *r = NULL;
    int err;

    (void)state;
    dmg_copy(base, repo, "config");
    drop_second_copies(repo); /* test_repo_copies.c: what a second copy saves */
    /* a flipped byte in the sealed config */
    pj(p, repo, "config");
    orig = read_all(p, &n);
    assert_non_null(orig);
    flip_byte(p, (off_t)n / 2);
    assert_int_equal(mm_repo_open(&r, repo, "alice", P(PASS_A)), MM_ECORRUPT);
    assert_null(r);
    assert_non_null(strstr(mm_error_last(), "config"));
    /* a config of another kind of file */
    write_file(p, "MMIX", 4);
    assert_int_equal(mm_repo_open(&r, repo, "alice", P(PASS_A)), MM_ECORRUPT);
    assert_int_equal(unlink(p), 0);
    err = mm_repo_open(&r, repo, "alice", P(PASS_A));
    assert_true(err == MM_ECORRUPT || err == MM_ENOTFOUND);
    assert_null(r);
    write_file(p, orig, n);
    free(orig);
    mm_repo_free(open_repo(repo));
    /* the only key slot truncated */
    slot_file(repo, "alice", p);
    assert_int_equal(truncate(p, MM_KEYSLOT_SIZE / 2), 0);
    assert_int_equal(mm_repo_open(&r, repo, NULL, P(PASS_A)), MM_ECORRUPT);
    err = mm_repo_open(&r, repo, "alice", P(PASS_A));
    if (err != MM_ECORRUPT)
        fail_msg("a damaged key slot opened with its user name gives %s: %s", mm_error_name(err),
                 mm_error_last());
    assert_null(r);
}

/* ---- 9. prune ------------------------------------------------------------------------------- */

struct fates {
    char id[8][MM_CRYPTO_HEX_SIZE];
    int keep[8];
    char why[8][32];
    size_t n;
};

static void on_fate(const struct mm_repo_gen *g, int keep, const char *why, void *ctx)
{
    struct fates *f = ctx;

    if (f->n == 8)
        fail_msg("too many generations");
    snprintf(f->id[f->n], sizeof(f->id[f->n]), "%s", g->id);
    f->keep[f->n] = keep;
    snprintf(f->why[f->n], sizeof(f->why[f->n]), "%s", why);
    f->n++;
}

static void prune__keeps_the_last_and_frees_the_rest(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], data[PATHCAP], p[PATHCAP], q[PATHCAP];
    char out[PATHCAP];
    char id[5][MM_CRYPTO_HEX_SIZE], snap[5][PATHCAP];
    struct mm_repo_keep keep = { 0 };
    struct mm_repo_prune_stats ps;
    struct mm_repo_verify_stats v;
    struct mm_repo_gen *g = NULL;
    struct probs *pr = probs_new();
    struct fates f = { 0 };
    uint64_t before, after;
    size_t n = 0;
    mm_repo *r;

    (void)state;
    make_tmp(base, "prune");
    pj(repo, base, "repo");
    pj(src, base, "src");
    pj(data, repo, "data");
    init_repo(repo, NULL);
    mkdir_ok(src, 0755);
    write_random(pj(p, src, "shared.bin"), 300 * KIB, 1);
    r = open_repo(repo);
    for (int i = 0; i < 5; i++) {
        char name[32];
        if (i) {
            snprintf(name, sizeof(name), "v%d.bin", i - 1);
            assert_int_equal(unlink(pj(p, src, name)), 0);
        }
        snprintf(name, sizeof(name), "v%d.bin", i);
        write_random(pj(p, src, name), 600 * KIB, 100 + (uint64_t)i);
        set_time(p, 1720000000 + i, i);
        backup_dir(r, src, id[i], NULL);
        snprintf(name, sizeof(name), "snap%d", i);
        pj(snap[i], base, name);
        mkdir_ok(snap[i], 0700);
        copy_tree(src, pj(p, snap[i], "src"));
    }
    /* a policy that keeps nothing */
    assert_int_equal(mm_repo_prune(r, &keep, 0, NULL, NULL, NULL, &ps), MM_EINVAL);
    /* a dry run changes nothing */
    keep.last = 2;
    before = du(data);
    assert_int_equal(mm_repo_prune(r, &keep, 1, on_fate, &f, NULL, &ps), 0);
    assert_int_equal(ps.gens_kept, 2);
    assert_int_equal(ps.gens_removed, 3);
    assert_int_equal(du(data), before);
    gens_of(r, &g, &n);
    assert_int_equal(n, 5);
    mm_repo_gens_free(g, n);
    /* keep the last two */
    memset(&f, 0, sizeof(f));
    assert_int_equal(mm_repo_prune(r, &keep, 0, on_fate, &f, NULL, &ps), 0);
    assert_int_equal(f.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_string_equal(f.id[i], id[i]);
        assert_int_equal(f.keep[i], i >= 3);
        assert_string_equal(f.why[i], i >= 3 ? "last" : "policy");
    }
    assert_int_equal(ps.gens_kept, 2);
    assert_int_equal(ps.gens_removed, 3);
    /* the first data pack (shared.bin, v0) is mostly garbage: rewritten; v1, v2 and the
     * tree packs of the three removed generations (trees go to packs of their own): removed */
    assert_int_equal(ps.packs_rewritten, 1);
    assert_int_equal(ps.packs_removed, 6);
    after = du(data);
    assert_true(after < before);
    assert_int_equal(ps.bytes_freed, before - after);
    assert_true(after < 2 * MIB);
    gens_of(r, &g, &n);
    assert_int_equal(n, 2);
    assert_string_equal(g[0].id, id[3]);
    assert_string_equal(g[1].id, id[4]);
    mm_repo_gens_free(g, n);
    mm_repo_free(r);
    /* what stays is whole, from a fresh handle */
    r = open_repo(repo);
    for (int i = 3; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof(name), "out%d", i);
        pj(out, base, name);
        restore_ok(r, id[i], out, NULL, NULL);
        assert_int_equal(compare_trees(pj(q, snap[i], "src"), pj(p, out, "src")), 2);
    }
    verify_ok(r, pr, &v);
    expect_clean(&v, pr);
    assert_int_equal(v.generations, 2);
    /* again: nothing left to do */
    assert_int_equal(mm_repo_prune(r, &keep, 0, NULL, NULL, NULL, &ps), 0);
    assert_int_equal(ps.gens_removed, 0);
    assert_int_equal(ps.packs_removed, 0);
    assert_int_equal(du(data), after);
    mm_repo_free(r);
    free(pr);
}

static void prune__keeps_the_newest_verified_generation(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], p[PATHCAP];
    char id[3][MM_CRYPTO_HEX_SIZE];
    struct mm_repo_keep keep = { 1, 0, 0, 0 };
    struct mm_repo_prune_stats ps;
    struct mm_repo_verify_stats v;
    struct mm_repo_gen *g = NULL;
    struct probs *pr = probs_new();
    struct fates f = { 0 };
    size_t n = 0;
    mm_repo *r;

    (void)state;
    new_repo_and_src(base, "pruneok", NULL, repo, src);
    r = open_repo(repo);
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        write_random(pj(p, src, name), 10 * KIB, 60 + (uint64_t)i);
        backup_dir(r, src, id[i], NULL);
        if (i == 1) {
            verify_ok(r, pr, &v);
            expect_clean(&v, pr);
        }
    }
    assert_int_equal(mm_repo_prune(r, &keep, 0, on_fate, &f, NULL, &ps), 0);
    assert_int_equal(f.n, 3);
    assert_int_equal(f.keep[0], 0);
    assert_int_equal(f.keep[1], 1);
    assert_string_equal(f.why[1], "newest verified clean");
    assert_int_equal(f.keep[2], 1);
    assert_string_equal(f.why[2], "last");
    assert_int_equal(ps.gens_kept, 2);
    assert_int_equal(ps.gens_removed, 1);
    gens_of(r, &g, &n);
    assert_int_equal(n, 2);
    assert_string_equal(g[0].id, id[1]);
    assert_string_equal(g[1].id, id[2]);
    assert_int_equal(g[0].verify, MM_REPO_VERIFIED);
    mm_repo_gens_free(g, n);
    mm_repo_free(r);
    free(pr);
}

/* Copy each file below @from that is not below @to (same relative path) into @to. */
static void add_missing_files(const char *from, const char *to)
{
    struct list l = list_files(from);

    for (size_t i = 0; i < l.n; i++) {
        char dst[PATHCAP], dir[PATHCAP];
        char *slash;
        fmt(dst, "%s%s", to, l.v[i] + strlen(from));
        if (exists(dst))
            continue;
        fmt(dir, "%s", dst);
        slash = strrchr(dir, '/');
        assert_non_null(slash);
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            fail_msg("mkdir '%s': %s", dir, strerror(errno));
        copy_tree(l.v[i], dst);
    }
    free_list(&l);
}

/*
 * A prune killed after it wrote its index file, before it removed the old ones (or during
 * that): every pack that stays is named by two index files. That repository verifies, and
 * the next prune must finish the job without removing a pack the kept generations need
 * (it once judged the second mention of each pack as holding nothing and deleted them all).
 */
static void prune__finishes_one_killed_after_its_index_file(void **state)
{
    char base[PATHCAP], repo[PATHCAP], copy[PATHCAP], src[PATHCAP], snap[PATHCAP];
    char p[PATHCAP], q[PATHCAP], out[PATHCAP];
    char id[3][MM_CRYPTO_HEX_SIZE];
    struct mm_repo_keep keep = { 2, 0, 0, 0 };
    struct mm_repo_prune_stats ps;
    struct mm_repo_verify_stats v;
    struct probs *pr = probs_new();
    struct list ix0, ix1;
    mm_repo *r;

    (void)state;
    new_repo_and_src(base, "prunekill", NULL, repo, src);
    pj(copy, base, "copy");
    pj(snap, base, "snap");
    r = open_repo(repo);
    write_random(pj(p, src, "a.bin"), 200 * KIB, 81);
    write_random(pj(p, src, "b.bin"), 600 * KIB, 82);
    backup_dir(r, src, id[0], NULL);
    write_random(pj(p, src, "b.bin"), 600 * KIB, 83); /* G1's blob pack: a quarter live */
    backup_dir(r, src, id[1], NULL);
    copy_tree(src, snap);
    write_random(pj(p, src, "c.bin"), 300 * KIB, 84);
    backup_dir(r, src, id[2], NULL);
    mm_repo_free(r);
    /* the same prune run to its end on a copy: the files the killed one had written */
    copy_tree(repo, copy);
    r = open_repo(copy);
    assert_int_equal(mm_repo_prune(r, &keep, 0, NULL, NULL, NULL, &ps), 0);
    assert_int_equal(ps.gens_removed, 1);
    assert_int_equal(ps.packs_rewritten, 1);
    mm_repo_free(r);
    ix0 = list_files(pj(p, repo, "index"));
    add_missing_files(pj(p, copy, "data"), pj(q, repo, "data"));
    add_missing_files(pj(p, copy, "index"), pj(q, repo, "index"));
    ix1 = list_files(pj(p, repo, "index"));
    assert_int_equal(ix1.n, ix0.n + 1);
    r = open_repo(repo);
    verify_ok(r, pr, &v); /* as the kill left it */
    expect_clean(&v, pr);
    assert_int_equal(mm_repo_prune(r, &keep, 0, NULL, NULL, NULL, &ps), 0);
    assert_int_equal(ps.gens_kept, 2);
    assert_int_equal(ps.gens_removed, 1);
    verify_ok(r, pr, &v);
    expect_clean(&v, pr);
    assert_int_equal(v.generations, 2);
    pj(out, base, "out2");
    restore_ok(r, id[2], out, NULL, NULL);
    assert_int_equal(compare_trees(src, pj(p, out, "src")), 3);
    pj(out, base, "out1");
    restore_ok(r, id[1], out, NULL, NULL);
    assert_int_equal(compare_trees(snap, pj(p, out, "src")), 2);
    /* and nothing is left to do */
    assert_int_equal(mm_repo_prune(r, &keep, 0, NULL, NULL, NULL, &ps), 0);
    assert_int_equal(ps.packs_removed, 0);
    assert_int_equal(ps.gens_removed, 0);
    mm_repo_free(r);
    free_list(&ix0);
    free_list(&ix1);
    free(pr);
}

/* The index hook of a backup that "crashes" once its packs are written (in a child). */
static int crash_index(mm_repo *r, const unsigned char *old_root, const unsigned char *new_root,
                       const char **index_file, int *reuse, void *ctx)
{
    (void)r;
    (void)old_root;
    (void)new_root;
    (void)index_file;
    (void)reuse;
    (void)ctx;
    _exit(0);
}

/* Run a backup of @src in a child process that dies after writing its packs. */
static void crashed_backup(const char *repo, const struct mm_repo_source *src)
{
    pid_t child;
    int status = -1;

    fflush(NULL);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct mm_repo_backup_opts o = { 0 };
        mm_repo *r = NULL;
        o.index = crash_index;
        o.threads = 2;
        if (mm_repo_open(&r, repo, "alice", P(PASS_A)) == 0)
            mm_repo_backup(r, src, 1, &o, NULL, NULL);
        _exit(1); /* the hook was not reached */
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void prune__removes_the_packs_of_an_interrupted_backup(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], data[PATHCAP], p[PATHCAP], out[PATHCAP];
    char garbage[PATHCAP], id[MM_CRYPTO_HEX_SIZE];
    struct mm_repo_source s;
    struct mm_repo_backup_opts o = { 0 };
    struct mm_repo_keep keep = { 10, 0, 0, 0 };
    struct mm_repo_prune_stats ps;
    struct mm_repo_verify_stats v;
    struct mm_repo_gen *g = NULL;
    struct probs *pr = probs_new();
    struct list packs0, packs1, packs2, packs3;
    size_t n = 0, orphans = 0, left = 0, removed = 0;
    uint64_t before, after;
    mm_repo *r;

    (void)state;
    make_tmp(base, "orphan");
    pj(repo, base, "repo");
    pj(src, base, "src");
    pj(data, repo, "data");
    init_repo(repo, NULL);
    mkdir_ok(src, 0755);
    write_random(pj(p, src, "old.bin"), 200 * KIB, 5);
    r = open_repo(repo);
    backup_dir(r, src, NULL, NULL);
    packs0 = list_files(data);
    /* a backup that died after its packs, before its index file and manifest */
    write_random(pj(p, src, "new.bin"), 1536 * KIB, 6);
    s.path = src;
    s.kind = MM_REPO_SOURCE_FOLDER;
    mm_repo_free(r);
    crashed_backup(repo, &s);
    r = open_repo(repo);
    gens_of(r, &g, &n);
    assert_int_equal(n, 1);
    mm_repo_gens_free(g, n);
    packs1 = list_files(data);
    assert_true(packs1.n >= packs0.n + 2);
    /* the next backup of the same data (the dead process's lock is stale) */
    backup_n(r, &s, 1, &o, id, NULL);
    packs2 = list_files(data);
    for (size_t i = 0; i < packs1.n; i++)
        orphans += !list_has(&packs0, packs1.v[i]);
    /* and a file that is no pack at all */
    fmt(garbage, "%s/ab/ab%062d", data, 0);
    if (mkdir(pj(p, data, "ab"), 0700) != 0 && errno != EEXIST) /* a pack may start with ab */
        fail_msg("mkdir '%s': %s", p, strerror(errno));
    write_random(garbage, 5000, 7);
    before = du(data) - 5000;
    mm_repo_free(r);
    r = open_repo(repo);
    assert_int_equal(mm_repo_prune(r, &keep, 0, NULL, NULL, NULL, &ps), 0);
    assert_int_equal(ps.gens_removed, 0);
    assert_int_equal(ps.packs_rewritten, 0);
    packs3 = list_files(data);
    after = du(data) - (exists(garbage) ? 5000 : 0);
    for (size_t i = 0; i < packs2.n; i++) {
        int orphan = list_has(&packs1, packs2.v[i]) && !list_has(&packs0, packs2.v[i]);
        if (!orphan && !list_has(&packs3, packs2.v[i]))
            fail_msg("pack '%s' of a generation was removed", packs2.v[i]);
        left += orphan && list_has(&packs3, packs2.v[i]);
        removed += !list_has(&packs3, packs2.v[i]);
    }
    /* new.bin is stored once: its interrupted copy was reused by the next backup or removed */
    if (after > (200 + 1536 * 3 / 2) * KIB)
        fail_msg("%zu of the %zu packs of the interrupted backup survive prune (%llu removed, "
                 "%llu bytes of packs for 1.7 MiB of data): their objects are live, but the next "
                 "generation stored them again",
                 left, orphans, (unsigned long long)ps.packs_removed, (unsigned long long)after);
    assert_int_equal(ps.packs_removed, removed);
    assert_int_equal(ps.bytes_freed, before - after);
    /* and prune did its whole work in one run */
    assert_int_equal(mm_repo_prune(r, &keep, 0, NULL, NULL, NULL, &ps), 0);
    assert_int_equal(ps.packs_removed, 0);
    assert_int_equal(ps.bytes_freed, 0);
    assert_int_equal(du(data) - (exists(garbage) ? 5000 : 0), after);
    pj(out, base, "out");
    restore_ok(r, id, out, NULL, NULL);
    assert_int_equal(compare_trees(src, pj(p, out, "src")), 2);
    verify_ok(r, pr, &v);
    expect_clean(&v, pr);
    mm_repo_free(r);
    free_list(&packs0);
    free_list(&packs1);
    free_list(&packs2);
    free_list(&packs3);
    free(pr);
}

/* ---- 10. locks ------------------------------------------------------------------------------ */

/* The lock files in locks/ (not the markers of interrupted writers in locks/interrupted/). */
static size_t count_locks(const char *repo)
{
    char p[PATHCAP];
    struct list l = list_files(pj(p, repo, "locks"));
    size_t n = 0;

    for (size_t i = 0; i < l.n; i++)
        n += strstr(l.v[i], "interrupted/") == NULL;

    free_list(&l);
    return n;
}

static void write_lock(const char *repo, const char *hex, const char *kind, const char *host,
                       long pid)
{
    char p[PATHCAP], rel[128], text[512];

    snprintf(rel, sizeof(rel), "locks/%s", hex);
    snprintf(text, sizeof(text), "mamori-lock 1\nkind %s\nhost %s\npid %ld\nstart %lld\n", kind,
             host, pid, (long long)time(NULL) - 60);
    write_file(pj(p, repo, rel), text, strlen(text));
}

static void lock__conflicts_share_and_stale_locks(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], host[256] = "unknown", want[64], p[PATHCAP];
    char hex[MM_CRYPTO_HEX_SIZE];
    unsigned int stale = 99;
    mm_repo *r1, *r2;
    pid_t child;
    int status;

    (void)state;
    new_repo_and_src(base, "lock", NULL, repo, src);
    r1 = open_repo(repo);
    r2 = open_repo(repo);
    /* exclusive, then anything else: refused, naming the holder */
    assert_int_equal(mm_repo_lock(r1, MM_REPO_LOCK_EXCLUSIVE, &stale), 0);
    assert_int_equal(stale, 0);
    assert_int_equal(count_locks(repo), 1);
    assert_int_equal(mm_repo_lock(r2, MM_REPO_LOCK_EXCLUSIVE, NULL), MM_ELOCKED);
    snprintf(want, sizeof(want), "process %ld", (long)getpid());
    if (!strstr(mm_error_last(), want) || !strstr(mm_error_last(), "exclusive"))
        fail_msg("the message does not name the holder: %s", mm_error_last());
    assert_int_equal(mm_repo_lock(r2, MM_REPO_LOCK_SHARED, NULL), MM_ELOCKED);
    assert_int_equal(count_locks(repo), 1); /* the refused one left nothing */
    {
        struct mm_repo_source s = { src, MM_REPO_SOURCE_FOLDER };
        assert_int_equal(mm_repo_backup(r2, &s, 1, NULL, NULL, NULL), MM_ELOCKED);
    }
    mm_repo_unlock(r1);
    assert_int_equal(count_locks(repo), 0);
    /* shared and shared; shared and exclusive */
    assert_int_equal(mm_repo_lock(r1, MM_REPO_LOCK_SHARED, NULL), 0);
    assert_int_equal(mm_repo_lock(r2, MM_REPO_LOCK_SHARED, NULL), 0);
    assert_int_equal(count_locks(repo), 2);
    mm_repo_unlock(r2);
    assert_int_equal(mm_repo_lock(r2, MM_REPO_LOCK_EXCLUSIVE, NULL), MM_ELOCKED);
    assert_non_null(strstr(mm_error_last(), "shared"));
    mm_repo_unlock(r1);
    assert_int_equal(mm_repo_lock(r2, MM_REPO_LOCK_EXCLUSIVE, NULL), 0);
    mm_repo_free(r2); /* frees the lock */
    assert_int_equal(count_locks(repo), 0);
    /* a lock of a process that has ended, on this host: stale, removed, counted */
    gethostname(host, sizeof(host) - 1);
    for (char *c = host; *c; c++)
        if (*c <= ' ')
            *c = '_';
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, &status, 0), child);
    memset(hex, 'a', 64);
    hex[64] = '\0';
    write_lock(repo, hex, "exclusive", host, (long)child);
    assert_int_equal(mm_repo_lock(r1, MM_REPO_LOCK_EXCLUSIVE, &stale), 0);
    assert_int_equal(stale, 1);
    fmt(p, "%s/locks/%s", repo, hex);
    assert_false(exists(p));
    assert_int_equal(count_locks(repo), 1);
    { /* a stale exclusive lock is a killed writer's: kept as its marker (issue 17.10) */
        struct mm_repo_interrupted *it = NULL;
        size_t nit = 0;
        assert_int_equal(mm_repo_interrupted(r1, &it, &nit), 0);
        assert_int_equal(nit, 1);
        assert_string_equal(it[0].name, hex);
        assert_string_equal(it[0].host, host);
        assert_int_equal(it[0].pid, (long)child);
        assert_string_equal(it[0].op, ""); /* a lock without the op line */
        assert_int_equal(mm_repo_interrupted_clear(r1, it[0].name), 0);
        mm_free(it);
        assert_int_equal(mm_repo_interrupted(r1, &it, &nit), 0);
        assert_int_equal(nit, 0);
    }
    mm_repo_unlock(r1);
    /* the same on another host is not judged stale */
    write_lock(repo, hex, "exclusive", "elsewhere.example", (long)child);
    assert_int_equal(mm_repo_lock(r1, MM_REPO_LOCK_SHARED, &stale), MM_ELOCKED);
    assert_non_null(strstr(mm_error_last(), "elsewhere.example"));
    assert_true(exists(p));
    /* and a live process on this host holds */
    write_lock(repo, hex, "shared", host, (long)getpid());
    assert_int_equal(mm_repo_lock(r1, MM_REPO_LOCK_EXCLUSIVE, &stale), MM_ELOCKED);
    assert_int_equal(stale, 0);
    assert_int_equal(mm_repo_lock(r1, MM_REPO_LOCK_SHARED, &stale), 0);
    mm_repo_free(r1);
    assert_int_equal(count_locks(repo), 1);
}

/* A handle holding a shared lock must still get the exclusive one before it writes. */
static void lock__shared_holder_does_not_write_past_other_readers(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], p[PATHCAP];
    struct mm_repo_source s = { NULL, MM_REPO_SOURCE_FOLDER };
    struct mm_repo_keep keep = { 1, 0, 0, 0 };
    struct mm_repo_gen *g = NULL;
    size_t n = 0;
    mm_repo *r1, *r2;
    int err;

    (void)state;
    new_repo_and_src(base, "upgrade", NULL, repo, src);
    write_random(pj(p, src, "f"), 1000, 1);
    s.path = src;
    r1 = open_repo(repo);
    r2 = open_repo(repo);
    assert_int_equal(mm_repo_lock(r1, MM_REPO_LOCK_SHARED, NULL), 0);
    assert_int_equal(mm_repo_lock(r2, MM_REPO_LOCK_SHARED, NULL), 0); /* a reader */
    err = mm_repo_lock(r1, MM_REPO_LOCK_EXCLUSIVE, NULL);
    if (err != MM_ELOCKED)
        fail_msg("a handle holding a shared lock got the exclusive lock (%s) while another "
                 "handle reads",
                 mm_error_name(err));
    assert_int_equal(mm_repo_backup(r1, &s, 1, NULL, NULL, NULL), MM_ELOCKED);
    assert_int_equal(mm_repo_prune(r1, &keep, 0, NULL, NULL, NULL, NULL), MM_ELOCKED);
    gens_of(r2, &g, &n);
    assert_int_equal(n, 0);
    mm_repo_gens_free(g, n);
    /* once the reader is gone, the holder may write */
    mm_repo_free(r2);
    backup_dir(r1, src, NULL, NULL);
    mm_repo_free(r1);
    assert_int_equal(count_locks(repo), 0);
}

/* ---- 11. errors and files that cannot be read ----------------------------------------------- */

/* A backup run from a thread that cannot read what its mode forbids, even as root. */
struct nodac {
    mm_repo *r;
    const struct mm_repo_source *src;
    const char *probe;  /* a file that must be unreadable */
    const char *wprobe; /* or a folder that must be unwritable */
    const char *reopen; /* made writable again at the first problem reported */
    struct probs *pr;
    struct mm_repo_counts c;
    char id[MM_CRYPTO_HEX_SIZE];
    char msg[512];
    int err, unreadable, unwritable;
};

static void nodac_problem(const char *gen, const char *path, const char *what, void *ctx)
{
    struct nodac *a = ctx;

    on_problem(gen, path, what, a->pr);
    if (a->reopen)
        chmod(a->reopen, 0700);
}

static void *nodac_backup(void *arg)
{
    struct nodac *a = arg;
    struct mm_repo_backup_opts o = { 0 };
    int fd;

    if (geteuid() == 0 && drop_dac_caps() != 0)
        return NULL;
    if (a->probe) {
        fd = open(a->probe, O_RDONLY | O_CLOEXEC);
        a->unreadable = fd < 0;
        if (fd >= 0)
            close(fd);
    }
    if (a->wprobe) {
        char p[PATHCAP];
        a->unwritable = mkdir(pj(p, a->wprobe, "probe"), 0700) != 0;
        if (!a->unwritable)
            rmdir(p);
    }
    o.problem = nodac_problem;
    o.ctx = a;
    o.threads = 2;
    a->err = mm_repo_backup(a->r, a->src, 1, &o, a->id, &a->c);
    snprintf(a->msg, sizeof(a->msg), "%s", mm_error_last());
    return NULL;
}

static void run_nodac(struct nodac *a)
{
    pthread_t t;

    assert_int_equal(pthread_create(&t, NULL, nodac_backup, a), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

static void backup__refuses_bad_sources_and_skips_what_it_cannot_read(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], p[PATHCAP], q[PATHCAP], out[PATHCAP];
    struct mm_repo_source s[2];
    struct mm_repo_gen *g = NULL;
    struct probs *pr = probs_new();
    struct nodac a;
    size_t n = 0;
    mm_repo *r;
    int sock;

    (void)state;
    make_tmp(base, "errors");
    pj(repo, base, "repo");
    pj(src, base, "src");
    init_repo(repo, NULL);
    r = open_repo(repo);
    /* a missing source; two of the same name; none */
    s[0].path = src;
    s[0].kind = MM_REPO_SOURCE_FOLDER;
    assert_int_equal(mm_repo_backup(r, s, 1, NULL, NULL, NULL), MM_ENOTFOUND);
    mkdir_ok(src, 0755);
    mkdir_ok(pj(p, base, "one"), 0755);
    mkdir_ok(pj(p, base, "two"), 0755);
    mkdir_ok(pj(p, base, "one/data"), 0755);
    mkdir_ok(pj(q, base, "two/data"), 0755);
    s[0].path = pj(p, base, "one/data");
    s[1].path = pj(q, base, "two/data/");
    s[1].kind = MM_REPO_SOURCE_FOLDER;
    assert_int_equal(mm_repo_backup(r, s, 2, NULL, NULL, NULL), MM_EINVAL);
    assert_int_equal(mm_repo_backup(r, s, 0, NULL, NULL, NULL), MM_EINVAL);
    write_file(pj(p, base, "file"), "x", 1);
    s[0].path = p;
    assert_int_equal(mm_repo_backup(r, s, 1, NULL, NULL, NULL), MM_ENOTFOUND);
    gens_of(r, &g, &n);
    assert_int_equal(n, 0);
    mm_repo_gens_free(g, n);
    /* a pipe, a socket, a file and a folder that cannot be read */
    write_random(pj(p, src, "fine.txt"), 100, 1);
    assert_int_equal(mkfifo(pj(p, src, "pipe"), 0600), 0);
    sock = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(sock >= 0);
    {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        pj(p, src, "sock");
        assert_true(strlen(p) < sizeof(sa.sun_path));
        memcpy(sa.sun_path, p, strlen(p));
        assert_int_equal(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
    }
    write_random(pj(p, src, "secret.txt"), 100, 2);
    assert_int_equal(chmod(p, 0), 0);
    mkdir_ok(pj(q, src, "closed"), 0755);
    write_random(pj(q, src, "closed/inside.txt"), 100, 3);
    assert_int_equal(chmod(pj(q, src, "closed"), 0), 0);
    memset(&a, 0, sizeof(a));
    s[0].path = src;
    a.r = r;
    a.src = s;
    a.probe = p;
    a.pr = pr;
    run_nodac(&a);
    if (a.err != 0)
        fail_msg("backup: %s", a.msg);
    if (!a.unreadable) {
        /* the thread could still read them: only the pipe and the socket are skipped */
        assert_int_equal(a.c.skipped, 2);
        assert_int_equal(a.c.files, 3);
    } else {
        assert_int_equal(a.c.skipped, 4); /* pipe, socket, secret.txt, closed/ */
        assert_int_equal(a.c.files, 1);
        assert_int_equal(a.c.files_read, 1);
        assert_int_equal(pr->n, 2);
        for (size_t i = 0; i < pr->n; i++) {
            assert_string_equal(pr->v[i].gen, "");
            if (!strstr(pr->v[i].path, "secret.txt") && !strstr(pr->v[i].path, "closed"))
                fail_msg("reported '%s'", pr->v[i].path);
        }
        /* restored without them */
        pj(out, base, "out");
        restore_ok(r, a.id, out, NULL, NULL);
        assert_true(exists(pj(p, out, "src/fine.txt")));
        assert_false(exists(pj(p, out, "src/secret.txt")));
        assert_false(exists(pj(p, out, "src/pipe")));
        assert_false(exists(pj(p, out, "src/sock")));
        count_tree(pj(p, out, "src"));
        assert_int_equal(tally.files, 1);
    }
    close(sock);
    mm_repo_free(r);
    free(pr);
}

/*
 * A pack that a worker cannot write (a full or failing medium) is an error of the backup,
 * not a source file that cannot be read: the backup fails with a message and writes no
 * generation, and the repository stays whole. The medium comes back at the first problem
 * reported, so a backup that went on would write a generation.
 */
static void backup__pack_write_error_fails_the_backup(void **state)
{
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], data[PATHCAP], p[PATHCAP], out[PATHCAP];
    struct mm_repo_source s;
    struct mm_repo_verify_stats v;
    struct mm_repo_gen *g = NULL;
    struct probs *pr = probs_new();
    struct nodac a;
    size_t n = 0;
    mm_repo *r;

    (void)state;
    make_tmp(base, "werr");
    pj(repo, base, "repo");
    pj(src, base, "src");
    pj(data, repo, "data");
    init_repo(repo, NULL);
    mkdir_ok(src, 0755);
    for (int i = 0; i < 8; i++) { /* 3 MiB: packs fill, and are written, in the workers */
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        write_random(pj(p, src, name), 384 * KIB, 300 + (uint64_t)i);
    }
    r = open_repo(repo);
    assert_int_equal(chmod(data, 0500), 0);
    memset(&a, 0, sizeof(a));
    s.path = src;
    s.kind = MM_REPO_SOURCE_FOLDER;
    a.r = r;
    a.src = &s;
    a.wprobe = data;
    a.reopen = data;
    a.pr = pr;
    run_nodac(&a);
    assert_int_equal(chmod(data, 0700), 0);
    if (a.unwritable) {
        gens_of(r, &g, &n);
        mm_repo_gens_free(g, n);
        if (a.err == 0) {
            print_probs("backup", pr);
            memset(pr, 0, sizeof(*pr));
            verify_ok(r, pr, &v);
            fail_msg("a pack write that failed was reported as a source file that cannot be read "
                     "and the backup went on: %zu generation written, verify finds %llu files "
                     "without data",
                     n, (unsigned long long)v.damaged_files);
        }
        assert_int_equal(a.err, MM_EIO);
        assert_int_equal(n, 0);
        if (!a.msg[0])
            fail_msg("the backup failed with MM_EIO and no message (set in a worker thread)");
    }
    /* the repository is whole and usable */
    mm_repo_free(r);
    r = open_repo(repo);
    backup_dir(r, src, NULL, NULL);
    pj(out, base, "out");
    restore_ok(r, "latest", out, NULL, NULL);
    assert_int_equal(compare_trees(src, pj(p, out, "src")), 8);
    memset(pr, 0, sizeof(*pr));
    verify_ok(r, pr, &v);
    expect_clean(&v, pr);
    mm_repo_free(r);
    free(pr);
}

/* ---- 12. no patient data in messages -------------------------------------------------------- */

static void expect_no_pid(const struct probs *pr, const char *title)
{
    for (size_t i = 0; i < pr->n; i++)
        if (strstr(pr->v[i].path, PID_A) || strstr(pr->v[i].what, PID_A) ||
            strstr(pr->v[i].path, "987/654")) {
            print_probs(title, pr);
            fail_msg("%s: a problem names the patient: '%s' %s", title, pr->v[i].path,
                     pr->v[i].what);
        }
}

/* Append to @bad why the last error message is wrong: empty, or naming the patient. */
static void check_message(char *bad, const char *what)
{
    const char *m = mm_error_last();
    size_t len = strlen(bad);

    if (!m[0])
        snprintf(bad + len, PATHCAP - len, "%s: the error has no message; ", what);
    else if (strstr(m, PID_A))
        snprintf(bad + len, PATHCAP - len, "%s: the message names the patient: %s; ", what, m);
}

static void messages__never_name_a_patient(void **state)
{
    static const char *const pids[] = { PID_A, "9876500001" };
    char base[PATHCAP], repo[PATHCAP], src[PATHCAP], p[PATHCAP], q[PATHCAP], out[PATHCAP];
    char pack[PATHCAP], probe[PATHCAP] = "", bad[PATHCAP] = "";
    struct mm_repo_source s = { NULL, MM_REPO_SOURCE_SSMIX2_STD };
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_restore_stats rs;
    struct mm_repo_verify_stats v;
    struct probs *pr = probs_new();
    struct nodac a;
    mm_repo *r;
    int err;

    (void)state;
    make_tmp(base, "phi");
    pj(repo, base, "repo");
    pj(src, base, "ssmix");
    init_repo(repo, NULL);
    mkdir_ok(src, 0755);
    for (size_t k = 0; k < 2; k++) {
        char dir[PATHCAP];
        fmt(dir, "%s/%.3s", src, pids[k]);
        if (!exists(dir))
            mkdir_ok(dir, 0755);
        fmt(dir, "%s/%.3s/%.3s", src, pids[k], pids[k] + 3);
        if (!exists(dir))
            mkdir_ok(dir, 0755);
        fmt(dir, "%s/%.3s/%.3s/%s", src, pids[k], pids[k] + 3, pids[k]);
        mkdir_ok(dir, 0755);
        for (int d = 1; d <= 15; d++) {
            char day[PATHCAP], file[PATHCAP];
            fmt(day, "%s/202501%02d", dir, d);
            mkdir_ok(day, 0755);
            fmt(day, "%s/202501%02d/OML-11", dir, d);
            mkdir_ok(day, 0755);
            fmt(file, "%s/%s_202501%02d_OML-11_%015d_202501%02d120000000_01_1", day, pids[k], d, d,
                d);
            write_random(file, 40 * KIB, 100 * k + (uint64_t)d);
            if (k == 0 && d == 15)
                snprintf(probe, sizeof(probe), "%s", file);
        }
    }
    r = open_repo(repo);
    /* a file of the patient that cannot be read: reported, redacted */
    assert_int_equal(chmod(probe, 0), 0);
    memset(&a, 0, sizeof(a));
    s.path = src;
    a.r = r;
    a.src = &s;
    a.probe = probe;
    a.pr = pr;
    run_nodac(&a);
    if (a.err != 0)
        fail_msg("backup: %s", a.msg);
    if (a.unreadable)
        assert_int_equal(pr->n, 1);
    expect_no_pid(pr, "backup");
    assert_int_equal(chmod(probe, 0644), 0);
    /* damage in a pack: verify and restore name files, redacted */
    largest_file(pj(pack, repo, "data"), pack);
    flip_byte(pack, file_size(pack) / 2);
    memset(pr, 0, sizeof(*pr));
    verify_ok(r, pr, &v);
    assert_true(v.damaged_files >= 1);
    assert_true(pr->n >= 2);
    expect_no_pid(pr, "verify");
    memset(pr, 0, sizeof(*pr));
    ro.problem = on_problem;
    ro.ctx = pr;
    pj(out, base, "out");
    restore_ok(r, "latest", out, &ro, &rs);
    assert_true(rs.damaged >= 1);
    assert_int_equal(pr->n, rs.damaged);
    expect_no_pid(pr, "restore");
    /*
     * Error messages (checked all, reported together): a file to restore that exists (found
     * by a worker thread), a patient folder that is a file, a path that is not one.
     */
    pj(out, base, "out2");
    {
        struct list l = list_files(pj(p, src, "987/654/" PID_A "/20250101"));
        char *slash;
        assert_int_equal(l.n, 1);
        fmt(q, "%s/ssmix/%s", out, l.v[0] + strlen(src) + 1);
        free_list(&l);
        slash = strrchr(q, '/');
        *slash = '\0';
        assert_int_equal(mm_os_mkdir_p(q, 0755), 0);
        *slash = '/';
        write_file(q, "mine", 4);
    }
    err = mm_repo_restore(r, "latest", out, NULL, NULL);
    assert_int_equal(err, MM_EEXISTS);
    check_message(bad, "a file that exists");
    pj(out, base, "out3");
    fmt(q, "%s/ssmix/987/654", out);
    assert_int_equal(mm_os_mkdir_p(q, 0755), 0);
    write_file(pj(p, q, PID_A), "not a folder", 12);
    assert_int_equal(mm_repo_restore(r, "latest", out, NULL, NULL), MM_EEXISTS);
    check_message(bad, "a patient folder that is a file");
    ro.path_prefix = "ssmix/987/654/" PID_A "/../" PID_A;
    pj(out, base, "out4");
    assert_int_equal(mm_repo_restore(r, "latest", out, &ro, NULL), MM_EINVAL);
    check_message(bad, "a path with '..'");
    if (bad[0])
        fail_msg("%s", bad);
    mm_repo_free(r);
    free(pr);
}

int main(void)
{
    const char *fmt = getenv("MM_TEST_REPO_FORMAT");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(init__needs_a_missing_or_empty_folder, remove_tmp),
        cmocka_unit_test_teardown(open__tells_passphrase_user_and_format_errors_apart, remove_tmp),
        cmocka_unit_test_teardown(keys__add_list_and_remove, remove_tmp),
        cmocka_unit_test_teardown(keys__damaged_slot_does_not_open_but_the_others_do, remove_tmp),
        cmocka_unit_test_teardown(roundtrip__awkward_tree_restores_identically, remove_tmp),
        cmocka_unit_test_teardown(roundtrip__ssmix2_storages_restore_identically, remove_tmp),
        cmocka_unit_test_teardown(change__unchanged_changed_renamed_and_copied_files, remove_tmp),
        cmocka_unit_test_teardown(change__same_size_rewrite_with_old_mtime_is_read, remove_tmp),
        cmocka_unit_test_teardown(dedup__insert_in_a_large_file_stores_little, remove_tmp),
        cmocka_unit_test_teardown(restore__path_prefix_selects_a_subtree, remove_tmp),
        cmocka_unit_test_teardown(read_file__reads_one_file_and_refuses_other_paths, remove_tmp),
        cmocka_unit_test_teardown(pages__read_on_demand_from_threads_and_damage, remove_tmp),
        cmocka_unit_test_teardown(pages__each_block_from_whichever_copy_is_whole, remove_tmp),
        cmocka_unit_test_teardown(pages__read_whole_index_into_a_file, remove_tmp),
        cmocka_unit_test_teardown(restore__patient_selects_its_folders_of_both_storages,
                                  remove_tmp),
        cmocka_unit_test_teardown(generations__list_find_and_patient_index, remove_tmp),
        cmocka_unit_test_teardown(dict__trained_used_and_kept_in_two_copies, remove_tmp),
        cmocka_unit_test_teardown(dict__version_1_repository_stays_without, remove_tmp),
        cmocka_unit_test_teardown(damage__clean_repository_verifies_whole, remove_tmp),
        cmocka_unit_test_teardown(damage__flipped_byte_in_a_pack, remove_tmp),
        cmocka_unit_test_teardown(damage__truncated_pack, remove_tmp),
        cmocka_unit_test_teardown(damage__truncated_tree_pack, remove_tmp),
        cmocka_unit_test_teardown(damage__missing_pack, remove_tmp),
        cmocka_unit_test_teardown(damage__flipped_byte_in_an_index_file, remove_tmp),
        cmocka_unit_test_teardown(damage__missing_index_files, remove_tmp),
        cmocka_unit_test_teardown(damage__flipped_byte_in_a_manifest, remove_tmp),
        cmocka_unit_test_teardown(damage__config_and_key_slot_refuse_to_open, remove_tmp),
        cmocka_unit_test_teardown(prune__keeps_the_last_and_frees_the_rest, remove_tmp),
        cmocka_unit_test_teardown(prune__keeps_the_newest_verified_generation, remove_tmp),
        cmocka_unit_test_teardown(prune__removes_the_packs_of_an_interrupted_backup, remove_tmp),
        cmocka_unit_test_teardown(prune__finishes_one_killed_after_its_index_file, remove_tmp),
        cmocka_unit_test_teardown(lock__conflicts_share_and_stale_locks, remove_tmp),
        cmocka_unit_test_teardown(lock__shared_holder_does_not_write_past_other_readers,
                                  remove_tmp),
        cmocka_unit_test_teardown(backup__refuses_bad_sources_and_skips_what_it_cannot_read,
                                  remove_tmp),
        cmocka_unit_test_teardown(backup__pack_write_error_fails_the_backup, remove_tmp),
        cmocka_unit_test_teardown(messages__never_name_a_patient, remove_tmp),
    };
    int rc;

    test_format = fmt && *fmt ? (unsigned)atoi(fmt) : 0;
    rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    if (dmg.built)
        rm_rf(dmg.dir);
    return rc;
}
