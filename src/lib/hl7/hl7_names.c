/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names of the HL7 v2.5 segments and fields that SS-MIX2 standardized storage uses, in
 * Japanese (as JAHIS and the SS-MIX2 guideline say them, with the Japanese meaning in
 * parentheses where SS-MIX2 gives a field a specific use) and in English (HL7 v2.5; our
 * own wording for the JAHIS Z-segments). Invariants, checked by test_hl7_names.c: the
 * segment table is sorted by ID in byte order and each field table by number, strictly,
 * so both lookups are binary searches. Static data only: no allocation, any thread.
 * Fields SS-MIX2 leaves empty are mostly left out: an unnamed field is still shown by
 * its position. ZI1 is named after IN1, whose layout the JAHIS samples follow.
 */
#include <stddef.h>
#include <string.h>

#include "hl7/hl7.h"

struct field_name {
    int n;
    const char *ja, *en;
};

struct segment_names {
    const char *id;
    const char *ja, *en;
    const struct field_name *fields;
    size_t nfields;
};

static const struct field_name al1[] = {
    { 1, "セットID", "Set ID - AL1" },
    { 2, "アレルゲン分類", "Allergen Type Code" },
    { 3, "アレルゲン", "Allergen Code/Mnemonic/Description" },
    { 4, "重症度", "Allergy Severity Code" },
    { 5, "反応", "Allergy Reaction Code" },
    { 6, "確認日", "Identification Date" },
};

static const struct field_name cti[] = {
    { 1, "治験依頼者の試験ID", "Sponsor Study ID" },
    { 2, "試験相", "Study Phase Identifier" },
    { 3, "試験予定時点", "Study Scheduled Time Point" },
};

static const struct field_name db1[] = {
    { 1, "セットID", "Set ID - DB1" },
    { 2, "障害者区分", "Disabled Person Code" },
    { 3, "障害者ID", "Disabled Person Identifier" },
    { 4, "障害の有無", "Disabled Indicator" },
    { 5, "障害開始日", "Disability Start Date" },
    { 6, "障害終了日", "Disability End Date" },
    { 7, "職場復帰日", "Disability Return to Work Date" },
    { 8, "就労不能日", "Disability Unable to Work Date" },
};

static const struct field_name dg1[] = {
    { 1, "セットID", "Set ID - DG1" },
    { 2, "診断コード化方法", "Diagnosis Coding Method" },
    { 3, "診断コード", "Diagnosis Code - DG1" },
    { 4, "診断名", "Diagnosis Description" },
    { 5, "診断日時", "Diagnosis Date/Time" },
    { 6, "診断種別", "Diagnosis Type" },
    { 7, "主要診断カテゴリ", "Major Diagnostic Category" },
    { 8, "診断群", "Diagnostic Related Group" },
    { 15, "診断優先度", "Diagnosis Priority" },
    { 16, "診断医", "Diagnosing Clinician" },
    { 17, "診断分類", "Diagnosis Classification" },
    { 18, "機密標識", "Confidential Indicator" },
    { 19, "証明日時", "Attestation Date/Time" },
    { 20, "診断識別子", "Diagnosis Identifier" },
    { 21, "診断アクションコード", "Diagnosis Action Code" },
};

static const struct field_name evn[] = {
    { 1, "イベント型コード", "Event Type Code" },
    { 2, "記録日時", "Recorded Date/Time" },
    { 3, "予定日時", "Date/Time Planned Event" },
    { 4, "イベント理由コード", "Event Reason Code" },
    { 5, "操作者ID", "Operator ID" },
    { 6, "イベント発生日時", "Event Occurred" },
    { 7, "イベント施設", "Event Facility" },
};

static const struct field_name iam[] = {
    { 1, "セットID", "Set ID - IAM" },
    { 2, "アレルゲン分類", "Allergen Type Code" },
    { 3, "アレルゲン", "Allergen Code/Mnemonic/Description" },
    { 4, "重症度", "Allergy Severity Code" },
    { 5, "反応", "Allergy Reaction Code" },
    { 6, "アクションコード", "Allergy Action Code" },
    { 7, "アレルギー識別子", "Allergy Unique Identifier" },
    { 8, "アクション理由", "Action Reason" },
    { 9, "原因物質への感受性", "Sensitivity to Causative Agent Code" },
    { 10, "アレルゲン群", "Allergen Group Code/Mnemonic/Description" },
    { 11, "発症日", "Onset Date" },
    { 12, "発症時期", "Onset Date Text" },
    { 13, "報告日時", "Reported Date/Time" },
    { 14, "報告者", "Reported By" },
    { 15, "報告者の続柄", "Relationship to Patient Code" },
    { 16, "警告装置コード", "Alert Device Code" },
    { 17, "臨床状態", "Allergy Clinical Status Code" },
    { 18, "確認者", "Statused by Person" },
    { 19, "確認組織", "Statused by Organization" },
    { 20, "確認日時", "Statused at Date/Time" },
};

static const struct field_name in1[] = {
    { 1, "セットID", "Set ID - IN1" },
    { 2, "保険種別", "Insurance Plan ID" },
    { 3, "保険者番号", "Insurance Company ID" },
    { 4, "保険者名", "Insurance Company Name" },
    { 5, "保険者住所", "Insurance Company Address" },
    { 6, "保険者担当者", "Insurance Co Contact Person" },
    { 7, "保険者電話番号", "Insurance Co Phone Number" },
    { 8, "グループ番号", "Group Number" },
    { 9, "グループ名", "Group Name" },
    { 10, "被保険者グループ雇用者ID", "Insured's Group Emp ID" },
    { 11, "被保険者グループ雇用者名", "Insured's Group Emp Name" },
    { 12, "有効開始日", "Plan Effective Date" },
    { 13, "有効終了日", "Plan Expiration Date" },
    { 14, "認可情報", "Authorization Information" },
    { 15, "プラン種別", "Plan Type" },
    { 16, "被保険者氏名", "Name Of Insured" },
    { 17, "被保険者と患者の続柄", "Insured's Relationship To Patient" },
    { 18, "被保険者生年月日", "Insured's Date Of Birth" },
    { 19, "被保険者住所", "Insured's Address" },
    { 36, "証券番号", "Policy Number" },
    { 49, "被保険者ID", "Insured's ID Number" },
};

static const struct field_name ipc[] = {
    { 1, "受付番号", "Accession Identifier" },
    { 2, "要求処置ID", "Requested Procedure ID" },
    { 3, "スタディインスタンスUID", "Study Instance UID" },
    { 4, "予定処置ステップID", "Scheduled Procedure Step ID" },
    { 5, "モダリティ", "Modality" },
    { 6, "プロトコルコード", "Protocol Code" },
    { 7, "予定装置名", "Scheduled Station Name" },
    { 8, "予定処置ステップ場所", "Scheduled Procedure Step Location" },
    { 9, "予定AEタイトル", "Scheduled AE Title" },
};

static const struct field_name msh[] = {
    { 1, "フィールド区切り文字", "Field Separator" },
    { 2, "符号化文字", "Encoding Characters" },
    { 3, "送信アプリケーション", "Sending Application" },
    { 4, "送信施設", "Sending Facility" },
    { 5, "受信アプリケーション", "Receiving Application" },
    { 6, "受信施設", "Receiving Facility" },
    { 7, "メッセージ日時", "Date/Time of Message" },
    { 8, "セキュリティ", "Security" },
    { 9, "メッセージ型", "Message Type" },
    { 10, "メッセージ制御ID", "Message Control ID" },
    { 11, "処理ID", "Processing ID" },
    { 12, "バージョンID", "Version ID" },
    { 13, "シーケンス番号", "Sequence Number" },
    { 14, "継続ポインタ", "Continuation Pointer" },
    { 15, "受諾肯定応答型", "Accept Acknowledgment Type" },
    { 16, "アプリケーション肯定応答型", "Application Acknowledgment Type" },
    { 17, "国コード", "Country Code" },
    { 18, "文字セット", "Character Set" },
    { 19, "主要言語", "Principal Language of Message" },
    { 20, "代替文字セット操作法", "Alternate Character Set Handling Scheme" },
    { 21, "メッセージプロファイル識別子", "Message Profile Identifier" },
};

static const struct field_name nk1[] = {
    { 1, "セットID", "Set ID - NK1" },
    { 2, "氏名", "Name" },
    { 3, "続柄", "Relationship" },
    { 4, "住所", "Address" },
    { 5, "電話番号", "Phone Number" },
    { 6, "勤務先電話番号", "Business Phone Number" },
    { 7, "連絡先の役割", "Contact Role" },
    { 8, "開始日", "Start Date" },
    { 9, "終了日", "End Date" },
    { 10, "職名", "Next of Kin / Associated Parties Job Title" },
    { 11, "職種", "Next of Kin / Associated Parties Job Code/Class" },
    { 12, "従業員番号", "Next of Kin / Associated Parties Employee Number" },
    { 13, "勤務先名", "Organization Name - NK1" },
    { 14, "婚姻状況", "Marital Status" },
    { 15, "性別", "Administrative Sex" },
    { 16, "生年月日", "Date/Time of Birth" },
    { 30, "連絡担当者氏名", "Contact Person's Name" },
    { 31, "連絡担当者電話番号", "Contact Person's Telephone Number" },
    { 32, "連絡担当者住所", "Contact Person's Address" },
};

static const struct field_name nte[] = {
    { 1, "セットID", "Set ID - NTE" },
    { 2, "コメント発生元", "Source of Comment" },
    { 3, "コメント", "Comment" },
    { 4, "コメント種別", "Comment Type" },
};

static const struct field_name obr[] = {
    { 1, "セットID", "Set ID - OBR" },
    { 2, "依頼者オーダ番号", "Placer Order Number" },
    { 3, "実施者オーダ番号", "Filler Order Number" },
    { 4, "検査項目", "Universal Service Identifier" },
    { 5, "優先度", "Priority - OBR" },
    { 6, "要求日時", "Requested Date/Time" },
    { 7, "検査・採取日時", "Observation Date/Time" },
    { 8, "検査・採取終了日時", "Observation End Date/Time" },
    { 9, "採取量", "Collection Volume" },
    { 10, "採取者", "Collector Identifier" },
    { 11, "検体処置コード", "Specimen Action Code" },
    { 12, "危険コード", "Danger Code" },
    { 13, "関連臨床情報", "Relevant Clinical Information" },
    { 14, "検体受付日時", "Specimen Received Date/Time" },
    { 15, "検体材料", "Specimen Source" },
    { 16, "依頼医", "Ordering Provider" },
    { 17, "コールバック電話番号", "Order Callback Phone Number" },
    { 18, "依頼者フィールド1", "Placer Field 1" },
    { 19, "依頼者フィールド2", "Placer Field 2" },
    { 20, "実施者フィールド1", "Filler Field 1" },
    { 21, "実施者フィールド2", "Filler Field 2" },
    { 22, "結果報告・状態変更日時", "Results Rpt/Status Chng - Date/Time" },
    { 23, "請求先", "Charge to Practice" },
    { 24, "検査部門ID", "Diagnostic Serv Sect ID" },
    { 25, "結果状態", "Result Status" },
    { 26, "親結果", "Parent Result" },
    { 27, "数量・タイミング", "Quantity/Timing" },
    { 28, "結果送付先", "Result Copies To" },
    { 29, "親オーダ", "Parent" },
    { 30, "搬送手段", "Transportation Mode" },
    { 31, "検査理由", "Reason for Study" },
    { 32, "結果判定責任者", "Principal Result Interpreter" },
    { 33, "結果判定補助者", "Assistant Result Interpreter" },
    { 34, "技師", "Technician" },
    { 35, "記録者", "Transcriptionist" },
    { 36, "予定日時", "Scheduled Date/Time" },
    { 37, "検体容器数", "Number of Sample Containers" },
    { 38, "検体搬送", "Transport Logistics of Collected Sample" },
    { 39, "採取者コメント", "Collector's Comment" },
    { 40, "搬送手配責任者", "Transport Arrangement Responsibility" },
    { 41, "搬送手配状況", "Transport Arranged" },
    { 42, "付添いの要否", "Escort Required" },
    { 43, "患者搬送コメント", "Planned Patient Transport Comment" },
    { 44, "処置コード", "Procedure Code" },
    { 45, "処置コード修飾子", "Procedure Code Modifier" },
    { 46, "依頼者追加サービス情報", "Placer Supplemental Service Information" },
    { 47, "実施者追加サービス情報", "Filler Supplemental Service Information" },
    { 48, "医学的に必要な重複処置の理由", "Medically Necessary Duplicate Procedure Reason" },
    { 49, "結果の取扱い", "Result Handling" },
};

static const struct field_name obx[] = {
    { 1, "セットID", "Set ID - OBX" },
    { 2, "値型", "Value Type" },
    { 3, "検査項目", "Observation Identifier" },
    { 4, "検査副ID", "Observation Sub-ID" },
    { 5, "結果値", "Observation Value" },
    { 6, "単位", "Units" },
    { 7, "基準値範囲", "References Range" },
    { 8, "異常フラグ", "Abnormal Flags" },
    { 9, "確率", "Probability" },
    { 10, "異常検査の性質", "Nature of Abnormal Test" },
    { 11, "結果状態", "Observation Result Status" },
    { 12, "基準値有効日", "Effective Date of Reference Range" },
    { 13, "ユーザ定義アクセスチェック", "User Defined Access Checks" },
    { 14, "検査日時", "Date/Time of the Observation" },
    { 15, "実施機関ID", "Producer's ID" },
    { 16, "検査責任者", "Responsible Observer" },
    { 17, "検査方法", "Observation Method" },
    { 18, "装置ID", "Equipment Instance Identifier" },
    { 19, "分析日時", "Date/Time of the Analysis" },
};

static const struct field_name ods[] = {
    { 1, "種別", "Type" },
    { 2, "配膳時間帯", "Service Period" },
    { 3, "食種・補助食品・嗜好コード", "Diet, Supplement, or Preference Code" },
    { 4, "指示テキスト", "Text Instruction" },
};

static const struct field_name odt[] = {
    { 1, "トレイ種別", "Tray Type" },
    { 2, "配膳時間帯", "Service Period" },
    { 3, "指示テキスト", "Text Instruction" },
};

static const struct field_name orc[] = {
    { 1, "オーダ制御", "Order Control" },
    { 2, "依頼者オーダ番号", "Placer Order Number" },
    { 3, "実施者オーダ番号", "Filler Order Number" },
    { 4, "依頼者グループ番号", "Placer Group Number" },
    { 5, "オーダ状態", "Order Status" },
    { 6, "応答フラグ", "Response Flag" },
    { 7, "数量・タイミング", "Quantity/Timing" },
    { 8, "親オーダ", "Parent" },
    { 9, "トランザクション日時", "Date/Time of Transaction" },
    { 10, "入力者", "Entered By" },
    { 11, "確認者", "Verified By" },
    { 12, "依頼医", "Ordering Provider" },
    { 13, "入力場所", "Enterer's Location" },
    { 14, "コールバック電話番号", "Call Back Phone Number" },
    { 15, "オーダ有効日時", "Order Effective Date/Time" },
    { 16, "オーダ制御理由", "Order Control Code Reason" },
    { 17, "入力組織（診療科）", "Entering Organization" },
    { 18, "入力装置", "Entering Device" },
    { 19, "実施者", "Action By" },
    { 20, "事前受益者通知コード", "Advanced Beneficiary Notice Code" },
    { 21, "依頼施設名", "Ordering Facility Name" },
    { 22, "依頼施設住所", "Ordering Facility Address" },
    { 23, "依頼施設電話番号", "Ordering Facility Phone Number" },
    { 24, "依頼者住所", "Ordering Provider Address" },
    { 25, "オーダ状態修飾子", "Order Status Modifier" },
    { 26, "事前受益者通知の無効理由", "Advanced Beneficiary Notice Override Reason" },
    { 27, "実施可能予定日時", "Filler's Expected Availability Date/Time" },
    { 28, "機密コード", "Confidentiality Code" },
    { 29, "オーダ種別（入院・外来）", "Order Type" },
    { 30, "入力者承認モード", "Enterer Authorization Mode" },
};

static const struct field_name pd1[] = {
    { 1, "生活依存", "Living Dependency" },
    { 2, "生活様式", "Living Arrangement" },
    { 3, "主たる医療施設", "Patient Primary Facility" },
    { 4, "かかりつけ医", "Patient Primary Care Provider Name & ID No." },
    { 5, "学生標識", "Student Indicator" },
    { 6, "障害", "Handicap" },
    { 7, "延命希望コード", "Living Will Code" },
    { 8, "臓器提供希望コード", "Organ Donor Code" },
    { 9, "個別請求", "Separate Bill" },
    { 10, "重複患者", "Duplicate Patient" },
    { 11, "周知コード", "Publicity Code" },
    { 12, "保護標識", "Protection Indicator" },
    { 13, "保護標識有効日", "Protection Indicator Effective Date" },
    { 14, "礼拝所", "Place of Worship" },
    { 15, "事前指示コード", "Advance Directive Code" },
    { 16, "予防接種登録状態", "Immunization Registry Status" },
    { 17, "予防接種登録状態有効日", "Immunization Registry Status Effective Date" },
    { 18, "周知コード有効日", "Publicity Code Effective Date" },
};

static const struct field_name pid[] = {
    { 1, "セットID", "Set ID - PID" },
    { 2, "患者ID", "Patient ID" },
    { 3, "患者IDリスト", "Patient Identifier List" },
    { 4, "代替患者ID", "Alternate Patient ID - PID" },
    { 5, "患者氏名", "Patient Name" },
    { 6, "母親の旧姓", "Mother's Maiden Name" },
    { 7, "生年月日", "Date/Time of Birth" },
    { 8, "性別", "Administrative Sex" },
    { 9, "患者別名", "Patient Alias" },
    { 10, "人種", "Race" },
    { 11, "患者住所", "Patient Address" },
    { 12, "郡コード", "County Code" },
    { 13, "電話番号（自宅）", "Phone Number - Home" },
    { 14, "電話番号（勤務先）", "Phone Number - Business" },
    { 15, "使用言語", "Primary Language" },
    { 16, "婚姻状況", "Marital Status" },
    { 17, "宗教", "Religion" },
    { 18, "患者会計番号", "Patient Account Number" },
    { 23, "出生地", "Birth Place" },
    { 24, "多胎児識別", "Multiple Birth Indicator" },
    { 25, "出生順位", "Birth Order" },
    { 28, "国籍", "Nationality" },
    { 29, "死亡日時", "Patient Death Date and Time" },
    { 30, "死亡識別", "Patient Death Indicator" },
    { 31, "身元不明標識", "Identity Unknown Indicator" },
    { 32, "識別情報の信頼性", "Identity Reliability Code" },
    { 33, "最終更新日時", "Last Update Date/Time" },
    { 34, "最終更新施設", "Last Update Facility" },
};

static const struct field_name prb[] = {
    { 1, "アクションコード", "Action Code" },
    { 2, "アクション日時", "Action Date/Time" },
    { 3, "プロブレムID（病名）", "Problem ID" },
    { 4, "プロブレムインスタンスID", "Problem Instance ID" },
    { 5, "エピソードID", "Episode of Care ID" },
    { 6, "プロブレムリスト優先度", "Problem List Priority" },
    { 7, "プロブレム設定日時（診断日）", "Problem Established Date/Time" },
    { 8, "解決予定日時", "Anticipated Problem Resolution Date/Time" },
    { 9, "解決日時（転帰日）", "Actual Problem Resolution Date/Time" },
    { 10, "プロブレム分類（ICD10・病名区分）", "Problem Classification" },
    { 11, "管理職種", "Problem Management Discipline" },
    { 12, "持続性", "Problem Persistence" },
    { 13, "確認状態（疑い）", "Problem Confirmation Status" },
    { 14, "ライフサイクル状態（転帰）", "Problem Life Cycle Status" },
    { 15, "ライフサイクル状態日時", "Problem Life Cycle Status Date/Time" },
    { 16, "発症日", "Problem Date of Onset" },
    { 17, "発症テキスト（病名）", "Problem Onset Text" },
    { 18, "順位（主病名）", "Problem Ranking" },
    { 19, "確からしさ", "Certainty of Problem" },
    { 20, "確率", "Probability of Problem (0-1)" },
    { 21, "本人の認識", "Individual Awareness of Problem" },
    { 22, "予後", "Problem Prognosis" },
    { 23, "予後の本人の認識", "Individual Awareness of Prognosis" },
    { 24, "家族等の認識", "Family/Significant Other Awareness of Problem/Prognosis" },
    { 25, "機密度", "Security/Sensitivity" },
};

static const struct field_name pv1[] = {
    { 1, "セットID", "Set ID - PV1" },
    { 2, "患者区分", "Patient Class" },
    { 3, "患者所在場所", "Assigned Patient Location" },
    { 4, "入院種別", "Admission Type" },
    { 5, "事前入院番号", "Preadmit Number" },
    { 6, "以前の患者所在場所", "Prior Patient Location" },
    { 7, "主治医", "Attending Doctor" },
    { 8, "紹介医", "Referring Doctor" },
    { 9, "診察医", "Consulting Doctor" },
    { 10, "診療科", "Hospital Service" },
    { 11, "一時的な所在場所", "Temporary Location" },
    { 14, "入院経路", "Admit Source" },
    { 16, "VIP標識", "VIP Indicator" },
    { 17, "入院時担当医", "Admitting Doctor" },
    { 18, "患者種別", "Patient Type" },
    { 19, "来院番号", "Visit Number" },
    { 20, "支払区分", "Financial Class" },
    { 36, "退院区分", "Discharge Disposition" },
    { 37, "退院先", "Discharged to Location" },
    { 38, "食事種別", "Diet Type" },
    { 39, "担当施設", "Servicing Facility" },
    { 40, "ベッド状態", "Bed Status" },
    { 41, "会計状態", "Account Status" },
    { 42, "予定所在場所", "Pending Location" },
    { 43, "以前の一時的所在場所", "Prior Temporary Location" },
    { 44, "入院・来院日時", "Admit Date/Time" },
    { 45, "退院日時", "Discharge Date/Time" },
    { 50, "代替来院ID", "Alternate Visit ID" },
    { 51, "来院標識", "Visit Indicator" },
    { 52, "その他の医療提供者", "Other Healthcare Provider" },
};

static const struct field_name pv2[] = {
    { 1, "以前の予定所在場所", "Prior Pending Location" },
    { 2, "収容設備コード", "Accommodation Code" },
    { 3, "入院理由", "Admit Reason" },
    { 4, "転科・転棟理由", "Transfer Reason" },
    { 8, "入院予定日時", "Expected Admit Date/Time" },
    { 9, "退院予定日時", "Expected Discharge Date/Time" },
    { 10, "予定入院日数", "Estimated Length of Inpatient Stay" },
    { 11, "入院日数", "Actual Length of Inpatient Stay" },
    { 12, "来院の説明", "Visit Description" },
    { 13, "紹介元", "Referral Source Code" },
    { 24, "患者状態コード", "Patient Status Code" },
    { 25, "来院優先度", "Visit Priority Code" },
    { 47, "外出泊の帰院予定日時", "Expected LOA Return Date/Time" },
};

static const struct field_name rxa[] = {
    { 1, "投与サブIDカウンタ", "Give Sub-ID Counter" },
    { 2, "実施サブIDカウンタ", "Administration Sub-ID Counter" },
    { 3, "投与開始日時", "Date/Time Start of Administration" },
    { 4, "投与終了日時", "Date/Time End of Administration" },
    { 5, "投与薬剤", "Administered Code" },
    { 6, "投与量", "Administered Amount" },
    { 7, "投与単位", "Administered Units" },
    { 8, "投与剤形", "Administered Dosage Form" },
    { 9, "投与メモ", "Administration Notes" },
    { 10, "実施者", "Administering Provider" },
    { 11, "実施場所", "Administered-at Location" },
    { 12, "投与時間単位", "Administered Per (Time Unit)" },
    { 13, "投与力価", "Administered Strength" },
    { 14, "投与力価単位", "Administered Strength Units" },
    { 15, "ロット番号", "Substance Lot Number" },
    { 16, "有効期限", "Substance Expiration Date" },
    { 17, "製造者名", "Substance Manufacturer Name" },
    { 18, "拒否理由", "Substance/Treatment Refusal Reason" },
    { 19, "適応", "Indication" },
    { 20, "完了状態", "Completion Status" },
    { 21, "アクションコード", "Action Code - RXA" },
    { 22, "システム入力日時", "System Entry Date/Time" },
    { 23, "投与力価容量", "Administered Drug Strength Volume" },
    { 24, "投与力価容量単位", "Administered Drug Strength Volume Units" },
    { 25, "バーコード識別子", "Administered Barcode Identifier" },
    { 26, "薬剤オーダ種別", "Pharmacy Order Type" },
};

static const struct field_name rxc[] = {
    { 1, "成分種別", "RX Component Type" },
    { 2, "成分コード", "Component Code" },
    { 3, "成分量", "Component Amount" },
    { 4, "成分単位", "Component Units" },
    { 5, "成分力価", "Component Strength" },
    { 6, "成分力価単位", "Component Strength Units" },
    { 7, "補足コード", "Supplementary Code" },
    { 8, "成分力価容量", "Component Drug Strength Volume" },
    { 9, "成分力価容量単位", "Component Drug Strength Volume Units" },
};

static const struct field_name rxe[] = {
    { 1, "数量・タイミング", "Quantity/Timing" },
    { 2, "与薬コード（薬剤・注射種別）", "Give Code" },
    { 3, "与薬量（最小）", "Give Amount - Minimum" },
    { 4, "与薬量（最大）", "Give Amount - Maximum" },
    { 5, "与薬単位", "Give Units" },
    { 6, "剤形", "Give Dosage Form" },
    { 7, "投与指示", "Provider's Administration Instructions" },
    { 8, "配送先", "Deliver-To Location" },
    { 9, "代替状態", "Substitution Status" },
    { 10, "調剤量", "Dispense Amount" },
    { 11, "調剤単位", "Dispense Units" },
    { 12, "リフィル回数", "Number Of Refills" },
    { 13, "依頼医の免許番号", "Ordering Provider's DEA Number" },
    { 14, "確認薬剤師", "Pharmacist/Treatment Supplier's Verifier ID" },
    { 15, "処方箋番号", "Prescription Number" },
    { 16, "残りリフィル回数", "Number of Refills Remaining" },
    { 17, "調剤済み回数", "Number of Refills/Doses Dispensed" },
    { 18, "最終調剤日時", "D/T of Most Recent Refill or Dose Dispensed" },
    { 19, "1日総投与量", "Total Daily Dose" },
    { 20, "要確認", "Needs Human Review" },
    { 21, "調剤特別指示（処方区分）",
      "Pharmacy/Treatment Supplier's Special Dispensing Instructions" },
    { 22, "投与時間単位", "Give Per (Time Unit)" },
    { 23, "投与速度", "Give Rate Amount" },
    { 24, "投与速度単位", "Give Rate Units" },
    { 25, "力価", "Give Strength" },
    { 26, "力価単位", "Give Strength Units" },
    { 27, "投与目的（処方種別）", "Give Indication" },
    { 28, "調剤包装量", "Dispense Package Size" },
    { 29, "調剤包装単位", "Dispense Package Size Unit" },
    { 30, "調剤包装方法", "Dispense Package Method" },
    { 31, "補足コード", "Supplementary Code" },
    { 32, "元オーダ日時", "Original Order Date/Time" },
    { 33, "力価容量", "Give Drug Strength Volume" },
    { 34, "力価容量単位", "Give Drug Strength Volume Units" },
    { 35, "規制区分", "Controlled Substance Schedule" },
    { 36, "採用状況", "Formulary Status" },
    { 37, "代替薬", "Pharmaceutical Substance Alternative" },
    { 38, "最終調剤薬局", "Pharmacy of Most Recent Fill" },
    { 39, "初回調剤量", "Initial Dispense Amount" },
    { 40, "調剤薬局", "Dispensing Pharmacy" },
    { 41, "調剤薬局住所", "Dispensing Pharmacy Address" },
    { 42, "配送先の患者所在場所", "Deliver-to Patient Location" },
    { 43, "配送先住所", "Deliver-to Address" },
    { 44, "薬剤オーダ種別", "Pharmacy Order Type" },
};

static const struct field_name rxr[] = {
    { 1, "投与経路", "Route" },
    { 2, "投与部位", "Administration Site" },
    { 3, "投与器具", "Administration Device" },
    { 4, "投与方法", "Administration Method" },
    { 5, "経路指示", "Routing Instruction" },
    { 6, "投与部位修飾子", "Administration Site Modifier" },
};

static const struct field_name spm[] = {
    { 1, "セットID", "Set ID - SPM" },
    { 2, "検体ID", "Specimen ID" },
    { 3, "親検体ID", "Specimen Parent IDs" },
    { 4, "検体材料", "Specimen Type" },
    { 5, "検体材料修飾子", "Specimen Type Modifier" },
    { 6, "添加物", "Specimen Additives" },
    { 7, "採取方法", "Specimen Collection Method" },
    { 8, "採取部位", "Specimen Source Site" },
    { 9, "採取部位修飾子", "Specimen Source Site Modifier" },
    { 10, "採取場所", "Specimen Collection Site" },
    { 11, "検体の役割", "Specimen Role" },
    { 12, "採取量", "Specimen Collection Amount" },
    { 13, "検体数", "Grouped Specimen Count" },
    { 14, "検体の説明", "Specimen Description" },
    { 15, "取扱いコード", "Specimen Handling Code" },
    { 16, "危険コード", "Specimen Risk Code" },
    { 17, "採取日時", "Specimen Collection Date/Time" },
    { 18, "受付日時", "Specimen Received Date/Time" },
    { 19, "有効期限", "Specimen Expiration Date/Time" },
    { 20, "利用可否", "Specimen Availability" },
    { 21, "不適理由", "Specimen Reject Reason" },
    { 22, "検体の品質", "Specimen Quality" },
    { 23, "検体の適切さ", "Specimen Appropriateness" },
    { 24, "検体の状態", "Specimen Condition" },
    { 25, "現在量", "Specimen Current Quantity" },
    { 26, "容器数", "Number of Specimen Containers" },
    { 27, "容器種別", "Container Type" },
    { 28, "容器の状態", "Container Condition" },
    { 29, "子検体の役割", "Specimen Child Role" },
};

static const struct field_name tq1[] = {
    { 1, "セットID", "Set ID - TQ1" },
    { 2, "数量", "Quantity" },
    { 3, "繰り返しパターン（用法）", "Repeat Pattern" },
    { 4, "指定時刻", "Explicit Time" },
    { 5, "相対時間", "Relative Time and Units" },
    { 6, "期間（日数）", "Service Duration" },
    { 7, "開始日時", "Start date/time" },
    { 8, "終了日時", "End date/time" },
    { 9, "優先度", "Priority" },
    { 10, "条件", "Condition text" },
    { 11, "指示テキスト", "Text instruction" },
    { 12, "接続", "Conjunction" },
    { 13, "1回の実施時間", "Occurrence duration" },
    { 14, "総実施回数", "Total occurrences" },
};

static const struct field_name tq2[] = {
    { 1, "セットID", "Set ID - TQ2" },
    { 2, "順序・結果フラグ", "Sequence/Results Flag" },
    { 3, "関連する依頼者番号", "Related Placer Number" },
    { 4, "関連する実施者番号", "Related Filler Number" },
    { 5, "関連する依頼者グループ番号", "Related Placer Group Number" },
    { 6, "順序条件コード", "Sequence Condition Code" },
    { 7, "周期の開始・終了標識", "Cyclic Entry/Exit Indicator" },
    { 8, "順序条件の時間間隔", "Sequence Condition Time Interval" },
    { 9, "周期グループの最大繰り返し数", "Cyclic Group Maximum Number of Repeats" },
    { 10, "特別サービス要求の関係", "Special Service Request Relationship" },
};

/* JAHIS 放射線・内視鏡: what was done (ZE1-9 uses the JAHIS data type ZRD) */
static const struct field_name ze1[] = {
    { 1, "セットID", "Set ID - ZE1" },
    { 2, "制御コード（予定・実施）", "Control Code (Scheduled/Performed)" },
    { 3, "手技", "Procedure" },
    { 4, "手技回数", "Procedure Count" },
    { 5, "医事加算", "Billing Addition" },
    { 6, "医療従事者種別", "Staff Type" },
    { 7, "医療従事者", "Staff" },
    { 8, "使用物品種別", "Material Type" },
    { 9, "使用物品", "Material Used" },
    { 10, "連絡先", "Contact" },
    { 11, "実施フィールド", "Performed Field" },
    { 12, "会計フィールド", "Billing Field" },
};

/* JAHIS 放射線: exposure conditions */
static const struct field_name ze2[] = {
    { 1, "セットID", "Set ID - ZE2" },
    { 2, "管電圧", "Tube Voltage" },
    { 3, "管電流", "Tube Current" },
    { 4, "撮影距離", "Distance" },
    { 5, "撮影時間", "Time" },
    { 6, "撮影回数", "Number of Exposures" },
    { 7, "撮影コメント", "Exposure Comment" },
};

/* JAHIS 病名: insurance, laid out as IN1 (the guideline sample fills 1-19 that way) */
static const struct field_name zi1[] = {
    { 1, "セットID", "Set ID - ZI1" },
    { 2, "保険種別", "Insurance Plan ID" },
    { 3, "保険者番号", "Insurance Company ID" },
    { 4, "保険者名", "Insurance Company Name" },
    { 5, "保険者住所", "Insurance Company Address" },
    { 7, "保険者電話番号", "Insurance Co Phone Number" },
    { 10, "被保険者グループ雇用者ID", "Insured's Group Emp ID" },
    { 11, "被保険者グループ雇用者名", "Insured's Group Emp Name" },
    { 12, "有効開始日", "Plan Effective Date" },
    { 13, "有効終了日", "Plan Expiration Date" },
    { 15, "プラン種別", "Plan Type" },
    { 16, "被保険者氏名", "Name Of Insured" },
    { 17, "被保険者と患者の続柄", "Insured's Relationship To Patient" },
    { 18, "被保険者生年月日", "Insured's Date Of Birth" },
    { 19, "被保険者住所", "Insured's Address" },
};

/* JAHIS 病名: dental formula */
static const struct field_name zpd[] = {
    { 1, "セットID", "Set ID - ZPD" },
    { 2, "歯式情報", "Dental Formula" },
};

/* JAHIS 病名: the MEDIS disease code and its modifiers */
static const struct field_name zpr[] = {
    { 1, "修飾語管理番号（接頭語）", "Modifier Code (Prefix)" },
    { 2, "病名管理番号", "Disease Code" },
    { 3, "修飾語管理番号（接尾語）", "Modifier Code (Suffix)" },
    { 4, "修飾語交換用コード（接頭語）", "Modifier Exchange Code (Prefix)" },
    { 5, "病名交換用コード", "Disease Exchange Code" },
    { 6, "修飾語交換用コード（接尾語）", "Modifier Exchange Code (Suffix)" },
    { 7, "コメント", "Comment" },
};

#define SEG(id, ja, en, f)                        \
    {                                             \
        id, ja, en, f, sizeof(f) / sizeof((f)[0]) \
    }

/* sorted by ID in byte order */
static const struct segment_names segments[] = {
    SEG("AL1", "患者アレルギー情報", "Patient Allergy Information", al1),
    SEG("CTI", "臨床試験識別", "Clinical Trial Identification", cti),
    SEG("DB1", "障害情報", "Disability", db1),
    SEG("DG1", "診断", "Diagnosis", dg1),
    SEG("EVN", "イベント型", "Event Type", evn),
    SEG("IAM", "患者アレルギー情報（固有識別子付き）", "Patient Adverse Reaction Information", iam),
    SEG("IN1", "保険", "Insurance", in1),
    SEG("IPC", "画像検査制御", "Imaging Procedure Control", ipc),
    SEG("MSH", "メッセージヘッダ", "Message Header", msh),
    SEG("NK1", "近親者・関係者", "Next of Kin / Associated Parties", nk1),
    SEG("NTE", "注釈・コメント", "Notes and Comments", nte),
    SEG("OBR", "検査依頼", "Observation Request", obr),
    SEG("OBX", "検査結果", "Observation/Result", obx),
    SEG("ODS", "食事オーダ", "Dietary Orders, Supplements, and Preferences", ods),
    SEG("ODT", "配膳指示", "Diet Tray Instructions", odt),
    SEG("ORC", "共通オーダ", "Common Order", orc),
    SEG("PD1", "患者追加情報", "Patient Additional Demographic", pd1),
    SEG("PID", "患者識別", "Patient Identification", pid),
    SEG("PRB", "プロブレム詳細（病名）", "Problem Details", prb),
    SEG("PV1", "来院情報", "Patient Visit", pv1),
    SEG("PV2", "来院追加情報", "Patient Visit - Additional Information", pv2),
    SEG("RXA", "投薬実施", "Pharmacy/Treatment Administration", rxa),
    SEG("RXC", "処方成分", "Pharmacy/Treatment Component Order", rxc),
    SEG("RXE", "処方・注射オーダ", "Pharmacy/Treatment Encoded Order", rxe),
    SEG("RXR", "投与経路", "Pharmacy/Treatment Route", rxr),
    SEG("SPM", "検体", "Specimen", spm),
    SEG("TQ1", "タイミング・数量", "Timing/Quantity", tq1),
    SEG("TQ2", "タイミング・数量の関係", "Timing/Quantity Relationship", tq2),
    SEG("ZE1", "実施情報", "Procedure Performed (JAHIS)", ze1),
    SEG("ZE2", "撮影条件", "Exposure Conditions (JAHIS)", ze2),
    SEG("ZI1", "保険情報", "Insurance (JAHIS)", zi1),
    SEG("ZPD", "歯式情報", "Dental Formula (JAHIS)", zpd),
    SEG("ZPR", "病名修飾語", "Diagnosis Modifiers (JAHIS)", zpr),
};

#define NSEGMENTS (sizeof(segments) / sizeof(segments[0]))

/* The table entry of segment @seg (binary search), or NULL. */
static const struct segment_names *find_segment(const char *seg)
{
    size_t lo = 0, hi = NSEGMENTS;

    if (!seg)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(seg, segments[mid].id);

        if (c == 0)
            return &segments[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *mm_hl7_segment_name(const char *seg, int english)
{
    const struct segment_names *s = find_segment(seg);

    if (!s)
        return NULL;
    return english ? s->en : s->ja;
}

const char *mm_hl7_field_name(const char *seg, int field, int english)
{
    const struct segment_names *s = find_segment(seg);
    size_t lo = 0, hi;

    if (!s)
        return NULL;
    hi = s->nfields;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct field_name *f = &s->fields[mid];

        if (f->n == field)
            return english ? f->en : f->ja;
        if (field < f->n)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *mm_hl7_names_segment_at(size_t i)
{
    return i < NSEGMENTS ? segments[i].id : NULL;
}

int mm_hl7_names_field_at(size_t seg, size_t i)
{
    if (seg >= NSEGMENTS || i >= segments[seg].nfields)
        return 0;
    return segments[seg].fields[i].n;
}
