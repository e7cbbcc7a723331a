/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori-gen damage: make some of one patient's files of one data type unreadable, as a
 * failing disk, a half-written copy or ransomware would, so that a test can check that a
 * reader says what it could not read. The files to break are chosen by a seeded shuffle of
 * the patient's files of that type in name order (so the same arguments break the same
 * files); each is replaced by a line of text that is not an HL7 message. The report (JSON)
 * is the truth of the damage: the patient, the type, how many files of the type there are,
 * and which were broken (paths relative to the storage, order numbers).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/json.h"
#include "os/os.h"
#include "ssmix2/ssmix2.h"
#include "tools/gen/gen.h"
#include "tools/gen/gen_int.h"

#define DAMAGE_MAX 4096 /* files of one type of one patient looked at */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the entries of @dir (not . and ..), sorted. OUT: *v, *n. @return 0 or MM_E* */
static int names_of(const char *dir, char ***v, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 0;

    *v = NULL;
    *n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            char **nv = mm_realloc(*v, (cap = cap ? cap * 2 : 32) * sizeof(**v));
            if (!nv)
                break;
            *v = nv;
        }
        if (!((*v)[*n] = mm_strdup(e->d_name)))
            break;
        (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(*v, *n, sizeof(**v), cmp_str);
    return e ? mm_error_set(MM_ENOMEM, "out of memory") : 0;
}

static void names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mm_free(v[i]);
    mm_free(v);
}

int gen_damage(const char *out, const char *pid, const char *type, unsigned count, uint64_t seed,
               mm_buf *report)
{
    static const char junk[] = "THIS FILE WAS DAMAGED BY mamori-gen damage\r";
    char pdir[1024], tdir[1400], path[1700];
    char **dates = NULL, **files = NULL, *rel[DAMAGE_MAX];
    size_t nd = 0, nrel = 0, nbroken;
    struct rng g;
    int err;

    MM_ASSERT_ARG(out && pid && type && report);
    if (strlen(pid) < 6 || strchr(pid, '/') || strchr(type, '/') || !mm_ssmix2_type_find(type))
        return mm_error_set(MM_EINVAL, "not a patient ID or a standardized data type");
    snprintf(pdir, sizeof(pdir), "%s/standard/%.3s/%.3s/%s", out, pid, pid + 3, pid);
    if ((err = names_of(pdir, &dates, &nd)) < 0)
        return err;
    if (nd == 0)
        return mm_error_set(MM_ENOTFOUND, "no such patient in the storage");
    for (size_t i = 0; i < nd && err == 0; i++) {
        size_t nf = 0;
        snprintf(tdir, sizeof(tdir), "%s/%s/%s", pdir, dates[i], type);
        if ((err = names_of(tdir, &files, &nf)) < 0)
            break;
        for (size_t k = 0; k < nf && nrel < DAMAGE_MAX; k++) {
            snprintf(path, sizeof(path), "%.3s/%.3s/%s/%s/%s/%s", pid, pid + 3, pid, dates[i], type,
                     files[k]);
            if (!(rel[nrel] = mm_strdup(path))) {
                err = mm_error_set(MM_ENOMEM, "out of memory");
                break;
            }
            nrel++;
        }
        names_free(files, nf);
    }
    names_free(dates, nd);
    if (err == 0 && nrel == 0)
        err = mm_error_set(MM_ENOTFOUND, "the patient has no file of this data type");
    if (err < 0)
        goto out;
    /* a seeded shuffle; the first @count are broken */
    rng_seed(&g, seed, 0xda6a6eu);
    for (size_t i = nrel; i > 1; i--) {
        size_t j = rng_below(&g, (uint32_t)i);
        char *t = rel[i - 1];
        rel[i - 1] = rel[j];
        rel[j] = t;
    }
    nbroken = count == 0 || count > nrel ? nrel : count;
    if (nbroken > 1)
        qsort(rel, nbroken, sizeof(*rel), cmp_str);
    err = mm_buf_puts(report, "{");
    if (err == 0)
        err = mm_json_kv(report, 1, "patient", pid);
    if (err == 0)
        err = mm_json_kv(report, 0, "type", type);
    if (err == 0)
        err = mm_buf_printf(report, ",\"files\":%zu,\"broken\":[", nrel);
    for (size_t i = 0; i < nbroken && err == 0; i++) {
        struct mm_ssmix2_name nm;
        const char *base = strrchr(rel[i], '/') + 1;
        snprintf(path, sizeof(path), "%s/standard/%s", out, rel[i]);
        if ((err = mm_os_write_atomic(path, junk, sizeof(junk) - 1)) < 0)
            break;
        err = mm_buf_puts(report, i ? ",{" : "{");
        if (err == 0)
            err = mm_json_kv(report, 1, "path", rel[i]);
        if (err == 0 && mm_ssmix2_parse_name(&nm, base, strlen(base)) == 0) {
            err = mm_json_kv(report, 0, "order_no", nm.order_no);
            if (err == 0)
                err = mm_buf_printf(report, ",\"current\":%s",
                                    nm.flag == MM_SSMIX2_CURRENT ? "true" : "false");
        }
        if (err == 0)
            err = mm_buf_puts(report, "}");
    }
    if (err == 0)
        err = mm_buf_puts(report, "]}\n");
out:
    for (size_t i = 0; i < nrel; i++)
        mm_free(rel[i]);
    return err;
}
