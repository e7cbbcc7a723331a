/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the sources of a backup are (backup.h): the SS-MIX2 storages mm_ssmix2_detect finds at
 * or below the given folders, which of them the patient index covers, and their paths inside
 * the generation (<source folder's name>/<path below it>).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup_int.h"
#include "common/error.h"

/* "@a/@b" into @out. @return 0, -1 when it does not fit. */
int mm_backup__pjoin(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

const char *mm_backup_kind_name(enum mm_repo_source_kind k)
{
    switch (k) {
    case MM_REPO_SOURCE_SSMIX2_STD:
        return "ssmix2-standard";
    case MM_REPO_SOURCE_SSMIX2_EXT:
        return "ssmix2-extended";
    default:
        return "folder";
    }
}

/* The last name of path @p (a trailing slash ignored): the source's entry in the generation. */
const char *mm_backup__base(const char *p)
{
    const char *s = strrchr(p, '/');

    while (s && s[1] == '\0' && s > p) { /* trailing slash */
        const char *t = s - 1;
        while (t > p && *t != '/')
            t--;
        return *t == '/' ? t + 1 : t;
    }
    return s ? s + 1 : p;
}

/*
 * From the storages @f found below the sources: each source's kind (a storage given
 * directly), the standardized storages to index (the first with the extended storage beside
 * it as the job's main pair, the others as more_std/more_ext), and how many storages the
 * index will not cover (an extended storage with no standardized one beside it, while there
 * are standardized ones). OUT: @src kinds, @j
 * @return 0, or MM_ELIMIT (a storage's entry path is too long)
 */
int mm_backup__choose_storages(const struct mm_ssmix2_detection *f, struct mm_repo_source *src,
                               struct index_job *j)
{
    long pick = -1;

    for (size_t i = 0; i < f->n; i++) {
        const struct mm_ssmix2_storage *s = &f->v[i];
        if (s->depth == 0)
            src[s->root].kind = s->kind == MM_SSMIX2_STORAGE_STANDARD ? MM_REPO_SOURCE_SSMIX2_STD
                                                                      : MM_REPO_SOURCE_SSMIX2_EXT;
        if (s->kind != MM_SSMIX2_STORAGE_STANDARD)
            continue;
        j->nstd++;
        if (pick < 0) {
            pick = (long)i;
        } else {
            j->more_std[j->nmore] = s->path;
            j->more_ext[j->nmore++] = s->pair >= 0 ? f->v[s->pair].path : NULL;
        }
    }
    for (size_t i = 0; i < f->n && pick >= 0; i++)
        if (f->v[i].kind == MM_SSMIX2_STORAGE_EXTENDED && f->v[i].pair < 0)
            j->not_indexed++;
    j->not_indexed += f->too_deep; /* moved out of reach: never silently left out */
    if (f->unreadable)
        mm_backup__note(j->o, MM_BACKUP_NOTE_DETECT_UNREADABLE, f->unreadable, NULL);
    if (pick < 0)
        return 0;
    for (int k = 0; k < 2; k++) {
        const struct mm_ssmix2_storage *s = k == 0                 ? &f->v[pick]
                                            : f->v[pick].pair >= 0 ? &f->v[f->v[pick].pair]
                                                                   : NULL;
        char *entry = k == 0 ? j->std_entry : j->ext_entry;
        int n;
        if (!s)
            continue;
        n = snprintf(entry, MM_LIMIT_PATH + 1, "%s%s%s", mm_backup__base(src[s->root].path),
                     *s->rel ? "/" : "", s->rel);
        if (n < 0 || n > (int)MM_LIMIT_PATH)
            return mm_error_set(MM_ELIMIT, "storage path too long");
        if (k == 0) {
            j->std = s->path;
            j->std_name = entry;
        } else {
            j->ext = s->path;
            j->ext_name = entry;
        }
    }
    return 0;
}

/* Whether storage @i of @f is in the index (when one is built): every standardized storage,
 * and an extended storage beside one. */
int mm_backup__covered(const struct mm_ssmix2_detection *f, size_t i)
{
    return f->v[i].kind == MM_SSMIX2_STORAGE_STANDARD || f->v[i].pair >= 0;
}

void mm_backup__storage_list_free(struct mm_repo_gen_storage *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        free(s[i].path);
    free(s);
}

/*
 * The storages of @f as the manifest names them: their paths inside the generation, their
 * kinds, and whether the index covers them (@indexed: an index is to be built).
 * @return 0 (*@out NULL when there are none), MM_ENOMEM
 */
int mm_backup__storage_list(const struct mm_ssmix2_detection *f, const struct mm_repo_source *src,
                            int indexed, struct mm_repo_gen_storage **out)
{
    struct mm_repo_gen_storage *stor;

    *out = NULL;
    if (!f->n)
        return 0;
    if (!(stor = calloc(f->n, sizeof(*stor))))
        return mm_error_set(MM_ENOMEM, "out of memory");
    for (size_t i = 0; i < f->n; i++) {
        const struct mm_ssmix2_storage *s = &f->v[i];
        const char *b = mm_backup__base(src[s->root].path);
        size_t len = strlen(b) + 1 + strlen(s->rel) + 1;
        if (!(stor[i].path = malloc(len))) {
            mm_backup__storage_list_free(stor, f->n);
            return mm_error_set(MM_ENOMEM, "out of memory");
        }
        snprintf(stor[i].path, len, "%s%s%s", b, *s->rel ? "/" : "", s->rel);
        stor[i].kind = s->kind == MM_SSMIX2_STORAGE_STANDARD ? MM_REPO_SOURCE_SSMIX2_STD
                                                             : MM_REPO_SOURCE_SSMIX2_EXT;
        /* the hook stores the index only after the walk; if it does, these are in it */
        stor[i].indexed = indexed && mm_backup__covered(f, i);
    }
    *out = stor;
    return 0;
}
