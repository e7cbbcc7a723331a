/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the unit tests that must meet folders and files they may not read even when run
 * as root (test_repo, test_ssmix2_detect): dropping the calling thread's right to override
 * file permissions, so a mode of 000 refuses it as it refuses any other user.
 */
#ifndef MM_TESTS_UNIT_TEST_CAPS_H
#define MM_TESTS_UNIT_TEST_CAPS_H

#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the calling thread. @return 0, -1 */
static inline int drop_dac_caps(void)
{
    struct __user_cap_header_struct h;
    struct __user_cap_data_struct d[2];

    memset(&h, 0, sizeof(h));
    h.version = _LINUX_CAPABILITY_VERSION_3;
    if (syscall(SYS_capget, &h, d) != 0)
        return -1;
    d[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
    return syscall(SYS_capset, &h, d) == 0 ? 0 : -1;
}

#endif
