/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the configuration loader (config.h): any bytes either load or give problems, never a
 * crash or a leak; a configuration that loads answers mm_config_medium_for() on any date and
 * always names a medium (every weekday is served, GFS has daily and weekly media).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/error.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mm_config_errors errs;
    mm_config *cfg = NULL;
    int err;

    mm_config_errors_init(&errs);
    err = mm_config_parse("fuzz.conf", (const char *)data, size, &cfg, &errs);
    if (err == 0) {
        struct mm_config_date d = { 2026, 1, 1 };
        for (int i = 0; i < 400; i++, d = mm_config_date_add(d, 1)) {
            struct mm_config_due due[2];
            if (mm_config_medium_for(cfg, d, due) != 0 || !due[0].medium || !due[1].medium)
                abort();
        }
        mm_config_free(cfg);
    } else if (err == MM_EINVAL && errs.count == 0) {
        abort(); /* a refusal always says why */
    }
    mm_config_errors_release(&errs);
    return 0;
}
