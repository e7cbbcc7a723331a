/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for every file of a repository as mamori reads it from a medium: marker,
 * config, key slot, compression dictionary, pack (header, objects, table, trailer; objects
 * raw, zstd and zstd with the dictionary), index file, manifest, verify record and lock. A
 * small repository with two generations is made once; each input picks
 * one of its files (first byte) and either replaces it with the rest of the input or XORs
 * the rest into it at an offset (second byte >= 128, offset in the next 4 bytes), so both
 * arbitrary bytes and near-valid damaged files reach the decoders. Then the repository is
 * opened, listed, read-verified, pruned as a dry run and restored. Properties: no crash,
 * leak or undefined behaviour, only documented codes, and no restore of damaged data
 * without a report. The repository is put back before the next input.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "repo/repo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXFILES 64

static char base[4096];
static char repo[4200], src[4200], out[4200];
static struct snap {
    char rel[512];
    unsigned char *b;
    size_t n;
} files[MAXFILES];
static size_t nfiles;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_repo_files: %s (%s)\n", what, mm_error_last());
    abort();
}

/* rm -rf @path (no symlinks are followed: unlinkat on links removes the link). */
static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;

    if (!d) {
        unlink(path);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char p[8192];
        struct stat s;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
        if (lstat(p, &s) == 0 && S_ISDIR(s.st_mode))
            rm_rf(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(path);
}

static void cleanup(void)
{
    if (base[0])
        rm_rf(base);
    for (size_t i = 0; i < nfiles; i++)
        free(files[i].b);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
        fail("cannot write a file of the test repository");
}

/* Remember every file under @dir (relative to the repository). */
static void snapshot(const char *rel)
{
    char path[8192];
    DIR *d;
    struct dirent *de;

    snprintf(path, sizeof(path), "%s/%s", repo, rel);
    if (!(d = opendir(path)))
        return;
    while ((de = readdir(d)) != NULL) {
        char r2[512], p2[8192];
        struct stat s;
        FILE *f;
        if (de->d_name[0] == '.')
            continue;
        snprintf(r2, sizeof(r2), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        snprintf(p2, sizeof(p2), "%s/%s", repo, r2);
        if (lstat(p2, &s) != 0)
            continue;
        if (S_ISDIR(s.st_mode)) {
            snapshot(r2);
            continue;
        }
        if (nfiles == MAXFILES || !(f = fopen(p2, "rb")))
            continue;
        memcpy(files[nfiles].rel, r2, sizeof(r2));
        files[nfiles].n = (size_t)s.st_size;
        files[nfiles].b = malloc(files[nfiles].n ? files[nfiles].n : 1);
        if (!files[nfiles].b || fread(files[nfiles].b, 1, files[nfiles].n, f) != files[nfiles].n)
            fail("cannot read the test repository");
        fclose(f);
        nfiles++;
    }
    closedir(d);
}

/* Regular files directly in @dir. */
static size_t count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void setup(void)
{
    static const struct mm_kdf_params kdf = { MM_KDF_OPSLIMIT_MIN, MM_KDF_MEMLIMIT_MIN };
    static const struct mm_chunk_params chunk = { 4096, 16384, 65536 };
    struct mm_repo_init_opts io = { &kdf, &chunk, 0, 0, 0 };
    struct mm_repo_source s;
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_backup_opts bo = { 0 };
    const char *tmp = getenv("TMPDIR");
    unsigned char big[300000];
    mm_repo *r = NULL;
    char p[8192];

    snprintf(base, sizeof(base), "%s/mm-fuzz-repo-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(base))
        fail("mkdtemp");
    atexit(cleanup);
    mm_crypto_kdf_cap(2, 65536);
    snprintf(repo, sizeof(repo), "%s/repo", base);
    snprintf(src, sizeof(src), "%s/src", base);
    snprintf(out, sizeof(out), "%s/out", base);
    mkdir(src, 0700);
    snprintf(p, sizeof(p), "%s/sub^日本", src);
    mkdir(p, 0700);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)((i * 2654435761u) >> 13);
    snprintf(p, sizeof(p), "%s/a.txt", src);
    write_file(p, "hello", 5);
    snprintf(p, sizeof(p), "%s/sub^日本/big.bin", src);
    write_file(p, big, sizeof(big));
    snprintf(p, sizeof(p), "%s/msg", src);
    mkdir(p, 0700);
    for (unsigned i = 0; i < 80; i++) { /* HL7-like messages: 60 train a dictionary */
        char m[2048];
        int n = snprintf(
                m, sizeof(m),
                "MSH|^~\\&|HIS|H%03u|SSMIX2|H%03u|2025%04u120000||ADT^A08|M%06u|P|2.5\r"
                "PID|||%010u^^^^PI||YAMADA^TARO%u^^^^^L^I~ヤマダ^タロウ^^^^^L^P||19%02u0%u1"
                "5|%c|||^^^^%03u-%04u\rPV1||%c|%u^%u^%u|||||%05u^DOCTOR%u\r"
                "OBX|%u|NM|3A01%04u^LAB%u^JC10||%u.%u|mg/dL|%u-%u|%c|||F\r",
                i % 7, i % 5, i * 37 % 1231, i * 7919, i * 104729, i % 13, i % 90, i % 9 + 1,
                i % 2 ? 'M' : 'F', i % 999, i * 31 % 9999, i % 3 ? 'O' : 'I', i % 40, i % 12, i % 8,
                i * 13, i % 17, i, i % 50, i * 3 % 100, i % 9, i % 10, i % 20, 40 + i % 30,
                i % 4 ? 'N' : 'H');
        snprintf(p, sizeof(p), "%s/msg/%03u.hl7", src, i);
        write_file(p, m, (size_t)n);
    }
    if (mm_repo_init(repo, "fuzz", "fuzz", 4, &io) < 0 ||
        mm_repo_open(&r, repo, NULL, "fuzz", 4) < 0)
        fail("cannot make the test repository");
    s.path = src;
    s.kind = MM_REPO_SOURCE_FOLDER;
    bo.dict_samples = 60;
    if (mm_repo_backup(r, &s, 1, &bo, NULL, NULL) < 0)
        fail("first backup");
    snprintf(p, sizeof(p), "%s/dict", repo);
    if (count_files(p) != 2)
        fail("no dictionary trained");
    snprintf(p, sizeof(p), "%s/b.txt", src);
    write_file(p, "world", 5);
    if (mm_repo_backup(r, &s, 1, NULL, NULL, NULL) < 0)
        fail("second backup");
    vo.read_data = 1;
    if (mm_repo_verify(r, &vo, NULL) < 0)
        fail("verify");
    mm_repo_free(r);
    snapshot("");
}

/* Put every file back as it was and remove what the last run added. */
static void reset(const char *rel)
{
    char path[8192];
    DIR *d;
    struct dirent *de;

    snprintf(path, sizeof(path), "%s%s%s", repo, rel[0] ? "/" : "", rel);
    if (!(d = opendir(path)))
        return;
    while ((de = readdir(d)) != NULL) {
        char r2[512], p2[8192];
        struct stat s;
        size_t k;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(r2, sizeof(r2), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        snprintf(p2, sizeof(p2), "%s/%s", repo, r2);
        if (lstat(p2, &s) == 0 && S_ISDIR(s.st_mode)) {
            reset(r2);
            continue;
        }
        for (k = 0; k < nfiles && strcmp(files[k].rel, r2) != 0; k++)
            ;
        if (k == nfiles)
            unlink(p2);
    }
    closedir(d);
}

static void ignore_problem(const char *gen, const char *path, const char *what, void *ctx)
{
    (void)gen;
    (void)path;
    (void)what;
    ++*(int *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mm_repo_verify_opts vo = { 0 };
    struct mm_repo_verify_stats vs;
    struct mm_repo_restore_opts ro = { 0 };
    struct mm_repo_restore_stats rs;
    struct mm_repo_keep keep = { 1, 0, 0, 0 };
    struct mm_repo_prune_stats ps;
    struct mm_repo_gen *g = NULL;
    struct mm_repo_key *k = NULL;
    size_t ng = 0, nk = 0, pick;
    char path[8192];
    mm_repo *r = NULL;
    int rc, problems = 0;

    if (!nfiles)
        setup();
    if (size < 2)
        return 0;
    pick = data[0] % nfiles;
    snprintf(path, sizeof(path), "%s/%s", repo, files[pick].rel);
    if (data[1] < 128) {
        write_file(path, data + 2, size - 2);
    } else {
        unsigned char *b = malloc(files[pick].n + 1);
        size_t off = 0;
        if (!b)
            return 0;
        memcpy(b, files[pick].b, files[pick].n);
        if (size >= 6)
            off = ((size_t)data[2] | (size_t)data[3] << 8 | (size_t)data[4] << 16) %
                  (files[pick].n ? files[pick].n : 1);
        for (size_t i = 6; i < size && off + (i - 6) < files[pick].n; i++)
            b[off + i - 6] ^= data[i];
        write_file(path, b, files[pick].n);
        free(b);
    }
    if (mm_repo_key_list(repo, &k, &nk) == 0)
        free(k);
    rc = mm_repo_open(&r, repo, NULL, "fuzz", 4);
    if (rc == 0) {
        if (mm_repo_generations(r, &g, &ng) == 0)
            mm_repo_gens_free(g, ng);
        vo.read_data = 1;
        vo.problem = ignore_problem;
        vo.ctx = &problems;
        rc = mm_repo_verify(r, &vo, &vs);
        if (rc < 0 && rc != MM_EIO && rc != MM_ENOMEM)
            fail("verify returned an undocumented code");
        ro.problem = ignore_problem;
        ro.ctx = &problems;
        rc = mm_repo_restore(r, "latest", out, &ro, &rs);
        if (rc == 0 && rs.damaged && !problems)
            fail("restore left out damaged files without a report");
        rm_rf(out);
        rc = mm_repo_prune(r, &keep, 1, NULL, NULL, NULL, &ps);
        (void)rc;
        mm_repo_free(r);
    } else if (r) {
        fail("failed open set its out-param");
    }
    mm_error_clear();
    /* put the repository back */
    write_file(path, files[pick].b, files[pick].n);
    reset("");
    return 0;
}
