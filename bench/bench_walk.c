/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metadata floor: the least any backup tool must do to notice what changed in a folder
 * tree without reading file contents — list every folder and read every entry's file
 * information (size, mtime, ctime, inode). Threads take folders from a shared stack; each
 * folder costs open, getdents64 until it returns 0, one fstatat per entry, close; nothing is
 * compared, hashed or written. With --read every regular file is also opened and read to its
 * end (the floor of a first backup's reading). `vs-peers.sh` times both beside the backups,
 * so the table shows how much of a backup's time the source's file system alone costs.
 * usage: bench_walk [--threads N] [--read] DIR...     prints "folders files bytes seconds"
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char **stack;
static size_t nstack, capstack;
static int busy;
static unsigned long long nfolders, nfiles, nbytes, nerrors;
static int read_files;

/* Read @name in @dir to its end; the bytes read, or -1. */
static long long read_all(int dir, const char *name, char *buf, size_t cap)
{
    long long total = 0;
    ssize_t got;
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return -1;
    while ((got = read(fd, buf, cap)) > 0)
        total += got;
    close(fd);
    return got < 0 ? -1 : total;
}

static void push(char *path)
{
    if (nstack == capstack) {
        capstack = capstack ? capstack * 2 : 4096;
        if (!(stack = realloc(stack, capstack * sizeof(*stack)))) {
            fputs("bench_walk: out of memory\n", stderr);
            exit(1);
        }
    }
    stack[nstack++] = path;
}

static void walk_one(const char *path)
{
    char buf[32768];
    static __thread char data[1 << 20];
    unsigned long long files = 0, bytes = 0, errors = 0;
    char **sub = NULL;
    size_t nsub = 0, capsub = 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0) {
        __atomic_add_fetch(&nerrors, 1, __ATOMIC_RELAXED);
        return;
    }
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buf, sizeof(buf));
        if (got <= 0) {
            errors += got < 0;
            break;
        }
        for (long off = 0; off < got;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            struct stat s;
            off += d->d_reclen;
            if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                continue;
            if (fstatat(fd, d->d_name, &s, AT_SYMLINK_NOFOLLOW) != 0) {
                errors++;
                continue;
            }
            if (S_ISDIR(s.st_mode)) {
                size_t n = strlen(path) + strlen(d->d_name) + 2;
                char *p = malloc(n);
                if (!p || (nsub == capsub &&
                           !(sub = realloc(sub, (capsub = capsub * 2 + 16) * sizeof(*sub))))) {
                    fputs("bench_walk: out of memory\n", stderr);
                    exit(1);
                }
                snprintf(p, n, "%s/%s", path, d->d_name);
                sub[nsub++] = p;
            } else {
                files++;
                if (read_files && S_ISREG(s.st_mode)) {
                    long long nb = read_all(fd, d->d_name, data, sizeof(data));
                    if (nb < 0)
                        errors++;
                    else
                        bytes += (unsigned long long)nb;
                }
            }
        }
    }
    close(fd);
    __atomic_add_fetch(&nfiles, files, __ATOMIC_RELAXED);
    __atomic_add_fetch(&nbytes, bytes, __ATOMIC_RELAXED);
    __atomic_add_fetch(&nerrors, errors, __ATOMIC_RELAXED);
    __atomic_add_fetch(&nfolders, 1, __ATOMIC_RELAXED);
    if (nsub) {
        pthread_mutex_lock(&mu);
        for (size_t i = 0; i < nsub; i++)
            push(sub[i]);
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
    free(sub);
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        char *path;
        pthread_mutex_lock(&mu);
        while (!nstack && busy)
            pthread_cond_wait(&cv, &mu);
        if (!nstack) {
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        path = stack[--nstack];
        busy++;
        pthread_mutex_unlock(&mu);
        walk_one(path);
        free(path);
        pthread_mutex_lock(&mu);
        if (--busy == 0 && !nstack)
            pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
}

int main(int argc, char **argv)
{
    int threads = 16, i = 1;
    pthread_t t[256];
    struct timespec a, b;

    if (argc > 2 && strcmp(argv[1], "--threads") == 0) {
        threads = atoi(argv[2]);
        i = 3;
    }
    if (i < argc && strcmp(argv[i], "--read") == 0) {
        read_files = 1;
        i++;
    }
    if (i >= argc || threads < 1 || threads > 256) {
        fputs("usage: bench_walk [--threads N] [--read] DIR...\n", stderr);
        return 2;
    }
    for (; i < argc; i++) {
        char *p = strdup(argv[i]);
        if (!p)
            return 1;
        push(p);
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int k = 0; k < threads; k++)
        if (pthread_create(&t[k], NULL, worker, NULL) != 0) {
            fputs("bench_walk: cannot start threads\n", stderr);
            return 1;
        }
    for (int k = 0; k < threads; k++)
        pthread_join(t[k], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%llu %llu %llu %.2f\n", nfolders, nfiles, nbytes,
           (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
    if (nerrors)
        fprintf(stderr, "bench_walk: %llu entries could not be read\n", nerrors);
    return nerrors ? 1 : 0;
}
