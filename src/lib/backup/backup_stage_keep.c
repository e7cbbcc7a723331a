/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `run` may retire and when staged data expires (cycle.h): pure rules, no I/O, so the
 * floors ([media] keep_min_age, keep_min_clean) are tested on their own. An attacker who owns
 * the host can start the cycle at will (docs/security.md): however often it runs, these rules
 * never take a medium below its floors, and they only ever retire whole generations.
 */
#include <string.h>

#include "backup/cycle.h"

size_t mm_cycle_retire_plan(const struct mm_cycle_gen_fact *g, size_t n,
                            const struct mm_cycle_keep *k, int64_t now_ns, unsigned char *retire)
{
    size_t clean = 0, kept = n, out = 0;

    memset(retire, 0, n);
    if (n == 0 || (k->keep == 0 && k->keep_age <= 0))
        return 0;
    for (size_t i = 0; i < n; i++)
        clean += g[i].clean != 0;
    for (size_t i = 0; i + 1 < n; i++) { /* oldest first; the newest always stays */
        int64_t age_s = (now_ns - g[i].end_ns) / 1000000000;
        int over_count = k->keep && kept > k->keep;
        int over_age = k->keep_age > 0 && age_s > k->keep_age;
        if (!over_count && !over_age)
            continue;
        if (age_s < k->min_age)
            continue; /* too young to go, whatever keep says */
        if (g[i].clean && clean <= k->min_clean)
            continue; /* the last clean ones stay */
        retire[i] = 1;
        out++;
        kept--;
        clean -= g[i].clean != 0;
    }
    return out;
}

int mm_cycle_staged_expired(int64_t staged_at, int64_t expiry, int64_t now)
{
    return expiry > 0 && staged_at > 0 && now - staged_at > expiry;
}
