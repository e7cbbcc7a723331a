/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keeping decrypted patient data out of core dumps: the process-wide switch (not dumpable,
 * no core file) and memory mapped apart from the heap and marked MADV_DONTDUMP, for large
 * buffers of decrypted data (the patient index's block cache, larger than RLIMIT_MEMLOCK,
 * so it is not locked). A process that is not dumpable also cannot be read through
 * /proc/PID/mem or ptrace by other processes of its user.
 */
#ifndef _WIN32 /* os/win/os_win_proc.c */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "os/os.h"

int mm_os_no_core_dumps(void)
{
    struct rlimit none = { 0, 0 };

    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return mm_error_set(MM_EIO, "cannot turn core dumps off: %s", strerror(errno));
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return mm_error_set(MM_EIO, "cannot make the process not dumpable: %s", strerror(errno));
    return 0;
}

void *mm_os_secret_map(size_t n)
{
    void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        mm_error_set(MM_ENOMEM, "out of memory (%zu bytes)", n);
        return NULL;
    }
    /* best effort: a kernel without MADV_DONTDUMP still has RLIMIT_CORE 0 from the CLI */
    (void)madvise(p, n ? n : 1, MADV_DONTDUMP);
    return p;
}

void mm_os_secret_unmap(void *p, size_t n)
{
    if (!p)
        return;
    mm_crypto_wipe(p, n ? n : 1);
    munmap(p, n ? n : 1);
}
#else
_Static_assert(1, "os_win_proc.c implements this file on Windows");
#endif
