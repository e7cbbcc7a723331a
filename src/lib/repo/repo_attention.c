/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rule that marks a written generation as needing attention (manifest tag 14): a backup
 * of SS-MIX2 storages that stores no patient index, or an index with no patient, or one that
 * lost more than a tenth of the patients of the generation it is compared with, or storages
 * the index does not cover. The backup itself succeeded; the mark makes sure nobody learns on
 * the day of an attack that the viewer cannot open it. Pure and small so every writer
 * (backup, the coming run and drill) judges alike.
 */
#include "repo/repo.h"

uint32_t mm_repo_attention_judge(size_t ssmix2, size_t not_indexed, int parent_index,
                                 uint64_t parent_patients, int index, uint64_t patients)
{
    uint32_t a = 0;

    if ((!index || patients == 0) && (ssmix2 > 0 || parent_index))
        a |= MM_REPO_ATTN_NO_INDEX;
    if (not_indexed > 0)
        a |= MM_REPO_ATTN_NOT_INDEXED;
    if (index && patients > 0 && parent_index && parent_patients > 0 &&
        patients * 100u < parent_patients * MM_REPO_PATIENTS_MIN_PERCENT)
        a |= MM_REPO_ATTN_FEW_PATIENTS;
    return a;
}
