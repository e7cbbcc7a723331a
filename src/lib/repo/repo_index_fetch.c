/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A generation's patient index read whole into a file (repo.h mm_repo_read_index): the host
 * whose index cache is lost takes its parent's index from the repository instead of
 * rebuilding it from every file. The blocks are read through mm_repo_pages (each decrypted,
 * decompressed and checked against its ID, a damaged block read from its twin, never wrong
 * bytes) by a few threads, each taking the next stretch of the file and writing it at its
 * place; the buffers holding patient data are wiped before they are freed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "repo/repo.h"

#define STRETCH (1024u * 1024u) /* bytes one thread reads and writes at a time */
#define THREADS 4               /* readers (decryption and zstd are the work) */

struct fetch {
    mm_repo_pages *p;
    int fd;
    uint64_t size;
    pthread_mutex_t lock;
    uint64_t next; /* the next stretch to take */
    int err;       /* the first error; the others stop at their next stretch */
    char msg[512];
};

/* Take the next stretch: @return 1 with *@off set, 0 when none is left or one failed */
static int take(struct fetch *f, uint64_t *off)
{
    int more;

    pthread_mutex_lock(&f->lock);
    more = f->err == 0 && f->next < f->size;
    if (more) {
        *off = f->next;
        f->next += STRETCH;
    }
    pthread_mutex_unlock(&f->lock);
    return more;
}

/* Record the first failure (its message with it: messages are per thread). */
static void failed(struct fetch *f, int err)
{
    pthread_mutex_lock(&f->lock);
    if (f->err == 0) {
        f->err = err;
        snprintf(f->msg, sizeof(f->msg), "%s", mm_error_last());
    }
    pthread_mutex_unlock(&f->lock);
}

/* One reader: stretches until none is left. */
static void *reader_main(void *arg)
{
    struct fetch *f = arg;
    unsigned char *buf = mm_malloc(STRETCH);
    uint64_t off;

    if (!buf) {
        failed(f, mm_error_set(MM_ENOMEM, "out of memory"));
        return NULL;
    }
    while (take(f, &off)) {
        size_t n = f->size - off < STRETCH ? (size_t)(f->size - off) : STRETCH, done = 0;
        int err = mm_repo_pages_read(f->p, buf, n, off);
        while (err == 0 && done < n) {
            ssize_t w = pwrite(f->fd, buf + done, n - done, (off_t)(off + done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                err = mm_error_set_errno(MM_EIO, w < 0 ? errno : ENOSPC,
                                         "cannot write the patient index");
            else
                done += (size_t)w;
        }
        if (err < 0) {
            failed(f, err);
            break;
        }
    }
    mm_crypto_wipe(buf, STRETCH);
    mm_free(buf);
    return NULL;
}

int mm_repo_read_index(mm_repo *r, const struct mm_repo_gen *gen, int fd, uint64_t *size)
{
    struct fetch f;
    pthread_t t[THREADS];
    int started = 0, err;

    if (!r || !gen || fd < 0)
        return mm_error_set(MM_EINVAL, "invalid argument");
    memset(&f, 0, sizeof(f));
    f.fd = fd;
    if ((err = mm_repo_pages_open(r, gen, 0, &f.p)) < 0)
        return err;
    f.size = mm_repo_pages_size(f.p);
    pthread_mutex_init(&f.lock, NULL);
    for (int k = 0; k < THREADS && (uint64_t)k * STRETCH < f.size; k++)
        if (pthread_create(&t[started], NULL, reader_main, &f) == 0)
            started++;
    if (started == 0 && f.size > 0)
        reader_main(&f); /* no thread could start: read in this one */
    for (int k = 0; k < started; k++)
        pthread_join(t[k], NULL);
    pthread_mutex_destroy(&f.lock);
    mm_repo_pages_free(f.p);
    if (f.err < 0)
        return mm_error_set(f.err, "%s", f.msg);
    if (ftruncate(fd, (off_t)f.size) < 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot write the patient index");
    if (size)
        *size = f.size;
    return 0;
}
