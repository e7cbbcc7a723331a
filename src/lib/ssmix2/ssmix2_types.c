/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The 26 standardized data-type folders of SS-MIX2 (36 message kinds), in the
 * order of the guideline's table 1-1 (NHO doc/ssmix_specification.md). The table
 * is constant and read-only; look-up is a linear scan of 26 short strings, cheap
 * next to the directory read that precedes it when a storage is walked.
 */
#include <string.h>

#include "ssmix2/ssmix2.h"

static const struct mm_ssmix2_type types[] = {
    { "ADT-00", "患者基本情報の更新／削除", "patient demographics update/delete", "ADT^A08",
      "ADT^A23", NULL, 1 },
    { "ADT-01", "担当医の変更／取消", "attending doctor change/cancel", "ADT^A54", "ADT^A55", NULL,
      1 },
    { "ADT-12", "外来診察の受付", "outpatient visit registration", "ADT^A04", NULL, "PV1-44", 0 },
    { "ADT-21", "入院予定／取消", "planned admission/cancel", "ADT^A14", "ADT^A27", "PV2-8", 0 },
    { "ADT-22", "入院実施／取消", "admission/cancel", "ADT^A01", "ADT^A11", "PV1-44", 0 },
    { "ADT-31", "外出泊実施／取消", "leave of absence/cancel", "ADT^A21", "ADT^A52", "EVN-6", 0 },
    { "ADT-32", "外出泊帰院実施／取消", "return from leave of absence/cancel", "ADT^A22", "ADT^A53",
      "EVN-6", 0 },
    { "ADT-41", "転科・転棟（転室・転床）予定／取消", "planned transfer/cancel", "ADT^A15",
      "ADT^A26", "PV2-8", 0 },
    { "ADT-42", "転科・転棟（転室・転床）実施／取消", "transfer/cancel", "ADT^A02", "ADT^A12",
      "EVN-6", 0 },
    { "ADT-51", "退院予定／取消", "planned discharge/cancel", "ADT^A16", "ADT^A25", "PV2-9", 0 },
    { "ADT-52", "退院実施／取消", "discharge/cancel", "ADT^A03", "ADT^A13", "PV1-45", 0 },
    { "ADT-61", "アレルギー情報の登録／更新", "allergy information", "ADT^A60", NULL, NULL, 1 },
    { "PPR-01", "病名（歴）情報の登録／更新", "diagnosis (history) information", "PPR^ZD1", NULL,
      NULL, 1 },
    { "OMD", "食事オーダ", "diet order", "OMD^O03", NULL, "ORC-9", 0 },
    { "OMP-01", "処方オーダ", "prescription order", "RDE^O11", NULL, "ORC-9", 0 },
    { "OMP-02", "注射オーダ", "injection order", "RDE^O11", NULL, "ORC-9", 0 },
    { "OMP-11", "処方実施通知", "prescription administration", "RAS^O17", NULL, "RXA-3", 0 },
    { "OMP-12", "注射実施通知", "injection administration", "RAS^O17", NULL, "RXA-3", 0 },
    { "OML-01", "検体検査オーダ", "specimen test order", "OML^O33", NULL, "ORC-9", 0 },
    { "OML-11", "検体検査結果通知", "specimen test result", "OUL^R22", NULL, "SPM-17", 0 },
    { "OMG-01", "放射線検査オーダ", "radiology order", "OMG^O19", NULL, "ORC-9", 0 },
    { "OMG-02", "内視鏡検査オーダ", "endoscopy order", "OMG^O19", NULL, "ORC-9", 0 },
    { "OMG-03", "生理検査オーダ", "physiological test order", "OMG^O19", NULL, "ORC-9", 0 },
    { "OMG-11", "放射線検査の実施通知", "radiology performed", "OMI^Z23", NULL, "OBR-7", 0 },
    { "OMG-12", "内視鏡検査の実施通知", "endoscopy performed", "OMI^Z23", NULL, "OBR-7", 0 },
    { "OMG-13", "生理検査結果通知", "physiological test result", "ORU^R01", NULL, "OBR-7", 0 },
};

_Static_assert(sizeof(types) / sizeof(types[0]) == 26, "SS-MIX2 has 26 data-type folders");

const struct mm_ssmix2_type *mm_ssmix2_type_find(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(types[i].folder, type) == 0)
            return &types[i];
    return NULL;
}

const struct mm_ssmix2_type *mm_ssmix2_types(size_t *count)
{
    if (count)
        *count = sizeof(types) / sizeof(types[0]);
    return types;
}
