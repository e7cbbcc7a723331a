/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mamori viewer, browser side. One file, no framework, no build step; it runs both
 * loaded as /app.js from `mamori view` and inlined into the standalone HTML that
 * `mamori print` writes (then it renders #mm-print-data and makes no request at all).
 *
 * Rules this file keeps:
 * - patient data is untrusted text: the DOM is built with createElement/textContent only,
 *   never innerHTML; no inline styles or handlers (the server's CSP forbids them);
 * - nothing about a patient is ever written to localStorage/sessionStorage/IndexedDB; the
 *   only stored item is the chosen language;
 * - every UI string lives in the dictionary STR below (Japanese first, English second);
 * - every /api answer 401 wipes the screen and returns to the login form.
 */
(function () {
    'use strict';

    var STR = {
        ja: {
            app_title: 'mamori 診療記録ビューア',
            app_sub: '停電・障害時の診療記録閲覧（読み取り専用）',
            lang_label: '表示言語',
            login_title: 'ログイン',
            login_lead: 'バックアップ媒体のパスフレーズを入力してください。',
            login_user: '利用者名（省略可）',
            login_user_hint: '空欄のままで構いません（すべての鍵で試します）',
            login_pass: 'パスフレーズ',
            login_submit: 'ログイン',
            login_busy: '確認しています…',
            login_wrong: 'パスフレーズが違います。もう一度入力してください。',
            login_many: '試行回数が多すぎます。{0} 秒後にもう一度お試しください。',
            login_failed: 'ログインできませんでした（{0}）。',
            session_expired: 'セッションの有効期限が切れました。もう一度パスフレーズを入力してください。',
            logged_out: 'ログアウトしました。',
            net_error: 'ビューアに接続できません。mamori view が動いているか確認してください。',
            server_error: 'サーバーでエラーが発生しました（{0}）。',
            medium_error: '媒体を読めません。媒体が接続されたままか確認して、もう一度お試しください。',
            damaged_error: 'この時点の記録の一部が壊れていて読めません。別の時点を選ぶか、別の曜日の媒体をお使いください。',
            logged_in_as: 'ログイン中: {0}',
            logout: 'ログアウト',
            gen_label: '時点',
            gen_latest: '最新',
            gen_suspect: '要注意',
            gen_noindex: '索引なし',
            banner_old: 'これは最新ではない時点 ({0}) のデータです',
            banner_suspect: 'この世代は異常の疑いがあると判定されています',
            banner_suspect_more: '内容が改ざん・破損している可能性があります。ほかの時点とも照らし合わせてください。',
            search_title: '患者検索',
            search_label: '患者 ID・氏名（漢字・カナ・ひらがな）・生年月日・生まれ年',
            search_hint: '例: 1000000000 ／ やまだ ／ 山田 ／ 1943-03-01 ／ S18.3.1 ／ 1947 ／ 昭和22年 ／ ヤマダ 1947-04-16',
            search_button: '検索',
            search_busy: '検索しています…',
            search_empty: '「{0}」に該当する患者は見つかりませんでした。',
            search_bad: '検索語を入力してください（長すぎる検索語は使えません）。',
            search_count: '{0} 件',
            search_more: '{0} 件中 {1} 件を表示しています。検索語を詳しくしてください。',
            col_id: 'ID',
            col_name: '氏名',
            col_kana: 'カナ',
            col_sex: '性別',
            col_age: '年齢',
            col_birth: '生年月日',
            sex_M: '男',
            sex_F: '女',
            sex_O: 'その他',
            sex_U: '不明',
            sex_A: 'その他',
            sex_N: '不明',
            age_years: '{0}歳',
            unknown: '不明',
            back: '検索に戻る',
            print: '印刷',
            loading: '読み込んでいます…',
            not_found: 'この時点にはこの患者の記録がありません。',
            blood: '血液型',
            height: '身長',
            weight: '体重',
            updated: '患者情報更新',
            allergy_title: 'アレルギー',
            allergy_none: 'アレルギー情報なし',
            allergy_none_more: '（記録がないことを示します。アレルギーがないことの確認ではありません）',
            atype_DA: '薬剤',
            atype_FA: '食物',
            atype_EA: '環境',
            atype_LA: '花粉',
            atype_AA: '動物',
            atype_MA: 'その他',
            atype_PA: '植物',
            sev_SV: '重度',
            sev_MO: '中等度',
            sev_MI: '軽度',
            onset: '発症',
            tab_visits: '受診歴',
            tab_admissions: '入院歴',
            tab_diagnoses: '病名',
            tab_prescriptions: '処方',
            tab_injections: '注射',
            tab_labs: '検査',
            tab_exams: '検査所見',
            tab_documents: '文書',
            tab_images: '画像',
            tabs_label: '診療記録の区分',
            none_recorded: '記録はありません。',
            fail_title: '読めなかったファイルがあります',
            fail_files: '{0}（{1}）のファイル {2} 件（全 {3} 件中）を読めませんでした。この区分は不完全です。',
            fail_folders: '{0}（{1}）のフォルダ {2} 件を開けませんでした。この区分は不完全です。',
            fail_damaged: '{0}（{1}）のファイル {2} 件に読めない文字があり、� で表示しています。',
            fail_reason: '理由: {0}',
            fail_none_here: '読めなかったファイルがあるため、記録がないとは言えません。',
            fail_help: '時点 {0} にはこの区分を読める記録があります。',
            fail_help_open: 'その時点を表示',
            fail_help_none: 'ほかの時点（{0} 件）にも、この区分を読める記録は見つかりませんでした。',
            fail_help_busy: 'ほかの時点に読める記録があるか調べています…',
            fail_help_print: 'ほかの時点（世代）の記録を画面で確認してください。',
            fail_other: 'その他',
            tab_profile: '患者情報',
            prof_address: '住所',
            prof_phones: '電話',
            prof_contacts: '緊急連絡先・家族',
            prof_insurance: '保険',
            prof_updated: '患者情報の更新',
            phone_PRN: '自宅',
            phone_ORN: '携帯・その他',
            phone_WPN: '勤務先',
            phone_EMR: '緊急',
            phone_CP: '携帯',
            col_relationship: '続柄',
            col_phone: '電話',
            col_address: '住所',
            col_plan: '保険種別',
            col_insurer: '保険者番号',
            col_valid: '有効期間',
            col_relation: '本人・家族',
            admin_title: '実施記録',
            admin_orphans: '対応するオーダが見つからない実施記録',
            col_given_at: '実施日時',
            col_drug: '薬剤',
            col_amount: '量',
            col_given_by: '実施者',
            col_location: '場所',
            col_status: '状態',
            astatus_CP: '実施済',
            astatus_RE: '拒否',
            astatus_NA: '未実施',
            astatus_PA: '一部実施',
            col_date: '日付',
            col_time: '時刻',
            col_kind: '区分',
            col_dept: '診療科',
            col_doctor: '医師',
            col_ward: '病棟',
            col_room: '病室',
            col_bed: '病床',
            col_prior: '移動前',
            room_n: '{0}号室',
            bed_n: '{0}番床',
            col_disposition: '退院区分',
            kind_outpatient: '外来受診',
            kind_admission: '入院',
            kind_discharge: '退院',
            kind_transfer: '転棟・転室',
            kind_leave: '外出・外泊',
            kind_return: '帰院',
            kind_planned_admission: '入院予定',
            kind_planned_discharge: '退院予定',
            kind_planned_transfer: '転棟予定',
            kind_attending_change: '担当医変更',
            stay_current: '現在入院中',
            stay_since: '{0} 入院（{1}日目）',
            stay_title: '入院 {0} 〜 {1}',
            stay_open: '入院中',
            stay_unknown_start: '入院日不明',
            stay_planned: '入院予定 {0}',
            col_code: 'コード',
            dx_current: '現在の病名',
            dx_resolved: '終了した病名',
            col_dx: '病名',
            col_start: '開始日',
            col_end: '終了日',
            col_outcome: '転帰',
            col_icd10: 'ICD-10',
            dx_main: '主病名',
            dx_suspected: '疑い',
            outcome_F: '治癒',
            outcome_R: '軽快',
            outcome_P: '改善',
            outcome_W: '悪化',
            outcome_S: '重篤',
            outcome_D: '死亡',
            outcome_U: '不明',
            inpatient: '入院',
            outpatient: '外来',
            order_no: 'オーダ番号',
            rp: 'Rp{0}',
            days: '{0}日分',
            col_drug: '薬品',
            col_dose: '用量',
            col_usage: '用法',
            route: '経路',
            rate: '速度',
            period: '実施予定',
            route_PO: '経口',
            route_IV: '静脈内',
            route_IVP: '静注',
            route_SC: '皮下',
            route_IM: '筋肉内',
            route_TP: '外用',
            route_SL: '舌下',
            route_PR: '直腸',
            route_IH: '吸入',
            labs_hint: '行をクリックすると推移のグラフを表示します。H（↑）は基準値より高い値、L（↓）は低い値です。',
            col_test: '検査項目',
            col_unit: '単位',
            col_range: '基準範囲',
            chart_title: '{0} の推移',
            chart_none: '数値の結果がないためグラフを表示できません。',
            chart_close: 'グラフを閉じる',
            chart_range: '基準範囲',
            exam_kind_lab: '検体検査',
            exam_kind_radiology: '放射線',
            exam_kind_physiology: '生理検査',
            exam_kind_endoscopy: '内視鏡',
            col_exam: '検査',
            col_findings: '所見',
            col_performed: '実施日時',
            no_findings: '（所見の記載なし）',
            col_title: '表題',
            col_files: 'ファイル',
            open: '開く',
            open_new: '新しいタブで開く',
            doc_viewer: '文書の表示',
            doc_close: '閉じる',
            image_open: '{0} {1} を拡大表示',
            overlay_close: '閉じる（Esc）',
            print_title: '診療記録',
            print_generated: '作成日時 {0}',
            print_as_of: '時点 {0}',
            print_patients: '{0} 名',
            printed_at: '印刷 {0}',
            print_files_note: 'ファイル: {0}',
            ward_button: '病棟別 入院患者一覧',
            ward_title: '病棟別 入院患者一覧',
            ward_lead: '病棟を選ぶと、この時点で入院中の患者を表示します。印刷して紙運用に使えます。',
            ward_none: 'この時点で入院中の患者はいません。',
            ward_n: '{0}（{1} 名）',
            ward_of: '病棟 {0} 入院患者（{1} 名）',
            ward_back: '病棟一覧に戻る',
            ward_missing: 'この時点には病棟 {0} の入院患者がいません。',
            col_since: '入院日',
            col_day: '入院日数',
            day_n: '{0}日目',
            col_allergy: 'アレルギー',
            allergy_yes: 'あり（{0}件）',
            allergy_no: '記録なし',
            allergy_unknown_short: '不明（読めないファイルあり）',
            cda_show_xml: 'XML 原文を表示',
            cda_show_text: '本文の表示に戻る',
            cda_raw_only: 'この文書は DTD・実体宣言を含むため、安全のため原文のまま表示します。',
            cda_bad: 'この文書は XML として読めないため、原文のまま表示します。',
            cda_loading: '文書を読み込んでいます…',
            cda_failed: '文書を読めませんでした（{0}）。',
            cda_author: '作成者',
            print_preparing: '印刷の準備をしています…',
            doc_texts: '文書の本文',
            run_as_of: '時点 {0}',
            run_allergy: 'アレルギー: {0}',
            allergy_unknown: 'アレルギーの記載は見つかりませんが、読めなかったファイルがあります',
            allergy_source: '出典: {0} {1}',
            allergy_also: 'ほかに: {0}',
            patient_source: '※ADT-00なし: {0} {1} のPIDより',
            'dtype_ADT-00': '患者基本情報',
            'dtype_ADT-01': '担当医の変更',
            'dtype_ADT-12': '外来診察の受付',
            'dtype_ADT-21': '入院予定',
            'dtype_ADT-22': '入院実施',
            'dtype_ADT-31': '転科・転棟予定',
            'dtype_ADT-32': '転科・転棟実施',
            'dtype_ADT-41': '外泊実施',
            'dtype_ADT-42': '外泊帰院',
            'dtype_ADT-51': '退院予定',
            'dtype_ADT-52': '退院実施',
            'dtype_ADT-61': 'アレルギー情報',
            'dtype_PPR-01': '病名',
            'dtype_OMD': '食事オーダ',
            'dtype_OMP-01': '処方オーダ',
            'dtype_OMP-11': '処方実施',
            'dtype_OMP-02': '注射オーダ',
            'dtype_OMP-12': '注射実施',
            'dtype_OML-01': '検体検査オーダ',
            'dtype_OML-11': '検体検査結果',
            'dtype_OUL-01': '検体検査結果',
            'dtype_OMG-01': '放射線検査オーダ',
            'dtype_OMG-02': '内視鏡検査オーダ',
            'dtype_OMG-03': '生理検査オーダ',
            'dtype_OMG-11': '放射線検査結果',
            'dtype_OMG-12': '内視鏡検査結果',
            'dtype_OMG-13': '生理検査結果',
            med_title: '服用中・投与中の薬（{0} 時点）',
            med_none: '該当なし',
            med_incomplete: '処方・注射に読めなかったファイルがあるため、この一覧は不完全な可能性があります。',
            med_missing: 'この時点の服用中・投与中の薬を求められませんでした。処方・注射タブを確認してください。',
            med_undetermined: '判定できません: {0}',
            med_asof_label: '時点',
            med_asof_apply: '表示',
            med_asof_reset: '世代の時刻に戻す',
            med_asof_gen: '世代の時刻 {0} 時点で表示しています',
            med_asof_custom: '指定した時刻で表示しています（世代の時刻ではありません）',
            med_nth: '{0}回目',
            med_sep: '・',
            med_every_other: '隔日',
            med_interval: '{0}日投与・{1}日休薬',
            med_weeks: '{0}週分',
            med_days_unit: '{0}{1}分',
            med_span: '（{0}〜{1}）',
            med_range: '{0}〜{1}',
            med_from: '{0}から',
            med_until: '{0}まで',
            med_open: '終了日なし',
            med_daily: '1日{0}',
            med_once: '1回{0}',
            med_dose_max: '〜{0}',
            med_prn: '頓用',
            med_total: '{0}回分',
            med_site: '部位: {0}',
            med_dispense: '調剤量 {0}',
            med_dispensing: '調剤: {0}',
            med_instructions: '指示: {0}',
            med_times: '時刻 {0}',
            med_step: '第{0}段階（全{1}段階）',
            med_step_span: '{0}から{1}日間',
            med_role_B: '主剤',
            med_role_A: '添加',
            med_today_dose: '本日投与日',
            med_today_rest: '本日休薬日',
            med_now: '（服用中）',
            raw_item: '未解釈: {0} {1}',
            tl_title: '投薬の経過',
            tl_axis: '期間 {0} 〜 {1}（● は現在服用中・投与中）',
            tl_graph: '経過',
            tl_periods: '期間と内容',
            unint_title: '未解釈の項目',
            unint_field: '項目',
            unint_none: '読んだメッセージに未解釈の項目はありません。',
            unint_text: '内容（原文）'
        },
        en: {
            app_title: 'mamori clinical record viewer',
            app_sub: 'Reading clinical records during an outage (read only)',
            lang_label: 'Language',
            login_title: 'Log in',
            login_lead: 'Type the passphrase of the backup medium.',
            login_user: 'User name (optional)',
            login_user_hint: 'May be left empty (every key slot is tried)',
            login_pass: 'Passphrase',
            login_submit: 'Log in',
            login_busy: 'Checking…',
            login_wrong: 'Wrong passphrase. Please type it again.',
            login_many: 'Too many attempts. Please try again in {0} s.',
            login_failed: 'Could not log in ({0}).',
            session_expired: 'Your session has expired. Please type the passphrase again.',
            logged_out: 'You have logged out.',
            net_error: 'Cannot reach the viewer. Check that mamori view is running.',
            server_error: 'The server reported an error ({0}).',
            medium_error: 'The medium cannot be read. Check that it is still attached, then try again.',
            damaged_error: 'Part of the record as of this generation is damaged and cannot be read. Choose another generation, or use another day\'s medium.',
            logged_in_as: 'Logged in: {0}',
            logout: 'Log out',
            gen_label: 'As of',
            gen_latest: 'latest',
            gen_suspect: 'suspect',
            gen_noindex: 'no index',
            banner_old: 'This is NOT the latest data: as of {0}',
            banner_suspect: 'This generation was flagged as possibly abnormal',
            banner_suspect_more: 'Its content may have been tampered with or damaged. Compare with another generation.',
            search_title: 'Find a patient',
            search_label: 'Patient ID, name (kanji, katakana, hiragana), birth date or birth year',
            search_hint: 'e.g. 1000000000 / やまだ / 山田 / 1943-03-01 / S18.3.1 / 1947 / 昭和22年 / ヤマダ 1947-04-16',
            search_button: 'Search',
            search_busy: 'Searching…',
            search_empty: 'No patient matches “{0}”.',
            search_bad: 'Type something to search for (very long queries are refused).',
            search_count: '{0} found',
            search_more: 'Showing {1} of {0}. Please make the query more precise.',
            col_id: 'ID',
            col_name: 'Name',
            col_kana: 'Kana',
            col_sex: 'Sex',
            col_age: 'Age',
            col_birth: 'Date of birth',
            sex_M: 'Male',
            sex_F: 'Female',
            sex_O: 'Other',
            sex_U: 'Unknown',
            sex_A: 'Other',
            sex_N: 'Unknown',
            age_years: '{0} y',
            unknown: 'unknown',
            back: 'Back to search',
            print: 'Print',
            loading: 'Loading…',
            not_found: 'This patient has no record as of this generation.',
            blood: 'Blood type',
            height: 'Height',
            weight: 'Weight',
            updated: 'Patient data updated',
            allergy_title: 'Allergies',
            allergy_none: 'No allergy recorded',
            allergy_none_more: '(nothing is recorded; this does not confirm that there is no allergy)',
            atype_DA: 'Drug',
            atype_FA: 'Food',
            atype_EA: 'Environment',
            atype_LA: 'Pollen',
            atype_AA: 'Animal',
            atype_MA: 'Other',
            atype_PA: 'Plant',
            sev_SV: 'severe',
            sev_MO: 'moderate',
            sev_MI: 'mild',
            onset: 'onset',
            tab_visits: 'Visits',
            tab_admissions: 'Admissions',
            tab_diagnoses: 'Diagnoses',
            tab_prescriptions: 'Prescriptions',
            tab_injections: 'Injections',
            tab_labs: 'Labs',
            tab_exams: 'Exam findings',
            tab_documents: 'Documents',
            tab_images: 'Images',
            tabs_label: 'Record sections',
            none_recorded: 'Nothing recorded.',
            fail_title: 'Some files could not be read',
            fail_files: '{2} of {3} files of {0} ({1}) could not be read. This section is incomplete.',
            fail_folders: '{2} folder(s) of {0} ({1}) could not be opened. This section is incomplete.',
            fail_damaged: '{2} file(s) of {0} ({1}) hold characters that could not be decoded, shown as �.',
            fail_reason: 'Reason: {0}',
            fail_none_here: 'Files could not be read, so this does not mean nothing was recorded.',
            fail_help: 'The generation of {0} holds this section readable.',
            fail_help_open: 'Show that generation',
            fail_help_none: 'No other generation ({0} searched) holds this section readable.',
            fail_help_busy: 'Looking for a generation that holds this section readable…',
            fail_help_print: 'Check the other generations (backups) on screen.',
            fail_other: 'other',
            tab_profile: 'Patient details',
            prof_address: 'Address',
            prof_phones: 'Phone',
            prof_contacts: 'Emergency contacts and family',
            prof_insurance: 'Insurance',
            prof_updated: 'Details updated',
            phone_PRN: 'home',
            phone_ORN: 'mobile/other',
            phone_WPN: 'work',
            phone_EMR: 'emergency',
            phone_CP: 'mobile',
            col_relationship: 'Relationship',
            col_phone: 'Phone',
            col_address: 'Address',
            col_plan: 'Plan',
            col_insurer: 'Insurer no.',
            col_valid: 'Valid',
            col_relation: 'Insured',
            admin_title: 'Administrations',
            admin_orphans: 'Administrations without their order',
            col_given_at: 'Given at',
            col_drug: 'Drug',
            col_amount: 'Amount',
            col_given_by: 'Given by',
            col_location: 'Where',
            col_status: 'Status',
            astatus_CP: 'complete',
            astatus_RE: 'refused',
            astatus_NA: 'not given',
            astatus_PA: 'partly given',
            col_date: 'Date',
            col_time: 'Time',
            col_kind: 'Kind',
            col_dept: 'Dept',
            col_doctor: 'Doctor',
            col_ward: 'Ward',
            col_room: 'Room',
            col_bed: 'Bed',
            col_prior: 'From',
            room_n: 'room {0}',
            bed_n: 'bed {0}',
            col_disposition: 'Disposition',
            kind_outpatient: 'Outpatient visit',
            kind_admission: 'Admission',
            kind_discharge: 'Discharge',
            kind_transfer: 'Transfer',
            kind_leave: 'Leave',
            kind_return: 'Return from leave',
            kind_planned_admission: 'Planned admission',
            kind_planned_discharge: 'Planned discharge',
            kind_planned_transfer: 'Planned transfer',
            kind_attending_change: 'Attending change',
            stay_current: 'Currently admitted',
            stay_since: 'admitted {0} (day {1})',
            stay_title: 'Stay {0} – {1}',
            stay_open: 'ongoing',
            stay_unknown_start: 'admission date unknown',
            stay_planned: 'Planned admission {0}',
            col_code: 'Code',
            dx_current: 'Current diagnoses',
            dx_resolved: 'Resolved diagnoses',
            col_dx: 'Diagnosis',
            col_start: 'Start',
            col_end: 'End',
            col_outcome: 'Outcome',
            col_icd10: 'ICD-10',
            dx_main: 'main',
            dx_suspected: 'suspected',
            outcome_F: 'cured',
            outcome_R: 'recovering',
            outcome_P: 'improving',
            outcome_W: 'worsening',
            outcome_S: 'serious',
            outcome_D: 'died',
            outcome_U: 'unknown',
            inpatient: 'inpatient',
            outpatient: 'outpatient',
            order_no: 'Order no.',
            rp: 'Rp {0}',
            days: '{0} days',
            col_drug: 'Drug',
            col_dose: 'Dose',
            col_usage: 'Usage',
            route: 'Route',
            rate: 'Rate',
            period: 'Scheduled',
            route_PO: 'oral',
            route_IV: 'intravenous',
            route_IVP: 'IV push',
            route_SC: 'subcutaneous',
            route_IM: 'intramuscular',
            route_TP: 'topical',
            route_SL: 'sublingual',
            route_PR: 'rectal',
            route_IH: 'inhalation',
            labs_hint: 'Click a row to see its trend. H (↑) is above the reference range, L (↓) below.',
            col_test: 'Test',
            col_unit: 'Unit',
            col_range: 'Range',
            chart_title: 'Trend of {0}',
            chart_none: 'No numeric result to chart.',
            chart_close: 'Close chart',
            chart_range: 'reference range',
            exam_kind_lab: 'Laboratory',
            exam_kind_radiology: 'Radiology',
            exam_kind_physiology: 'Physiology',
            exam_kind_endoscopy: 'Endoscopy',
            col_exam: 'Exam',
            col_findings: 'Findings',
            col_performed: 'Performed',
            no_findings: '(no findings written)',
            col_title: 'Title',
            col_files: 'Files',
            open: 'Open',
            open_new: 'Open in a new tab',
            doc_viewer: 'Document',
            doc_close: 'Close',
            image_open: 'Show {0} {1} full size',
            overlay_close: 'Close (Esc)',
            print_title: 'Clinical record',
            print_generated: 'Generated {0}',
            print_as_of: 'As of {0}',
            print_patients: '{0} patients',
            printed_at: 'Printed {0}',
            print_files_note: 'Files: {0}',
            ward_button: 'Inpatients by ward',
            ward_title: 'Inpatients by ward',
            ward_lead: 'Choose a ward to see the patients admitted there at this point in time; print it for paper operation.',
            ward_none: 'No patient is admitted at this point in time.',
            ward_n: '{0} ({1} patients)',
            ward_of: 'Ward {0} inpatients ({1})',
            ward_back: 'Back to the wards',
            ward_missing: 'No inpatient of ward {0} at this point in time.',
            col_since: 'Admitted',
            col_day: 'Day of stay',
            day_n: 'day {0}',
            col_allergy: 'Allergies',
            allergy_yes: 'yes ({0})',
            allergy_no: 'none recorded',
            allergy_unknown_short: 'unknown (files unreadable)',
            cda_show_xml: 'Show the XML source',
            cda_show_text: 'Back to the text',
            cda_raw_only: 'This document declares a DTD or entities; for safety it is shown as its source only.',
            cda_bad: 'This document is not well-formed XML; it is shown as its source.',
            cda_loading: 'Loading the document…',
            cda_failed: 'The document could not be read ({0}).',
            cda_author: 'Author',
            print_preparing: 'Preparing to print…',
            doc_texts: 'Document texts',
            run_as_of: 'As of {0}',
            run_allergy: 'Allergies: {0}',
            allergy_unknown: 'No allergy was found, but some files could not be read',
            allergy_source: 'Source: {0} {1}',
            allergy_also: 'also in: {0}',
            patient_source: '* No ADT-00: from the PID of {0} {1}',
            'dtype_ADT-00': 'patient information',
            'dtype_ADT-01': 'change of doctor',
            'dtype_ADT-12': 'outpatient visit',
            'dtype_ADT-21': 'planned admission',
            'dtype_ADT-22': 'admission',
            'dtype_ADT-31': 'planned transfer',
            'dtype_ADT-32': 'transfer',
            'dtype_ADT-41': 'leave',
            'dtype_ADT-42': 'return from leave',
            'dtype_ADT-51': 'planned discharge',
            'dtype_ADT-52': 'discharge',
            'dtype_ADT-61': 'allergy information',
            'dtype_PPR-01': 'diagnoses',
            'dtype_OMD': 'diet order',
            'dtype_OMP-01': 'prescription order',
            'dtype_OMP-11': 'prescription administration',
            'dtype_OMP-02': 'injection order',
            'dtype_OMP-12': 'injection administration',
            'dtype_OML-01': 'laboratory order',
            'dtype_OML-11': 'laboratory results',
            'dtype_OUL-01': 'laboratory results',
            'dtype_OMG-01': 'radiology order',
            'dtype_OMG-02': 'endoscopy order',
            'dtype_OMG-03': 'physiology order',
            'dtype_OMG-11': 'radiology results',
            'dtype_OMG-12': 'endoscopy results',
            'dtype_OMG-13': 'physiology results',
            med_title: 'Current medication (as of {0})',
            med_none: 'None',
            med_incomplete: 'Some prescription or injection files could not be read: this list may be incomplete.',
            med_missing: 'The current medication could not be worked out for this time. See the prescription and injection tabs.',
            med_undetermined: 'cannot be determined: {0}',
            med_asof_label: 'As of',
            med_asof_apply: 'Show',
            med_asof_reset: 'Back to the generation\'s time',
            med_asof_gen: 'Shown as of the generation\'s time {0}',
            med_asof_custom: 'Shown as of the chosen time (not the generation\'s time)',
            med_nth: 'dose {0}',
            med_sep: ', ',
            med_every_other: 'every other day',
            med_interval: '{0} day(s) on, {1} day(s) off',
            med_weeks: '{0} weeks',
            med_days_unit: '{0} {1}',
            med_span: '({0} – {1})',
            med_range: '{0} – {1}',
            med_from: 'from {0}',
            med_until: 'until {0}',
            med_open: 'no end date',
            med_daily: '{0} a day',
            med_once: '{0} per dose',
            med_dose_max: ' to {0}',
            med_prn: 'as needed',
            med_total: '{0} doses',
            med_site: 'site: {0}',
            med_dispense: 'dispense {0}',
            med_dispensing: 'dispensing: {0}',
            med_instructions: 'instructions: {0}',
            med_times: 'at {0}',
            med_step: 'step {0} of {1}',
            med_step_span: 'from {0} for {1} days',
            med_role_B: 'base',
            med_role_A: 'additive',
            med_today_dose: 'a dosing day today',
            med_today_rest: 'a rest day today',
            med_now: '(current)',
            raw_item: 'not interpreted: {0} {1}',
            tl_title: 'Medication timeline',
            tl_axis: 'From {0} to {1} (● current)',
            tl_graph: 'Timeline',
            tl_periods: 'Periods',
            unint_title: 'Fields not interpreted',
            unint_field: 'Field',
            unint_none: 'The messages read have no field left uninterpreted.',
            unint_text: 'Text (as written)'
        }
    };

    var LANG_KEY = 'mamori.viewer.lang'; /* the only thing ever stored on the PC */
    var lang = 'ja';
    try {
        var saved = window.localStorage.getItem(LANG_KEY);
        if (saved === 'en' || saved === 'ja') {
            lang = saved;
        }
    } catch (e) {
        /* storage may be disabled: stay in Japanese */
    }

    function t(key) {
        var s = STR[lang][key];
        if (s === undefined) {
            s = STR.ja[key];
        }
        if (s === undefined) {
            return key;
        }
        var args = arguments;
        return s.replace(/\{(\d)\}/g, function (m, i) {
            var v = args[Number(i) + 1];
            return v === undefined || v === null ? '' : String(v);
        });
    }

    /* A label from the dictionary for a code, or the code itself when it is not known. */
    function tcode(prefix, code) {
        if (code === undefined || code === null || code === '') {
            return '';
        }
        var k = prefix + code;
        return STR[lang][k] !== undefined ? STR[lang][k] : String(code);
    }

    /* ---------- DOM helpers (text only, never markup) ---------- */

    /* h('tag.class1.class2', {attr: v, testid: x, on: {click: fn}}, child...) */
    function h(spec, attrs) {
        var parts = spec.split('.');
        var el = document.createElement(parts[0] || 'div');
        for (var i = 1; i < parts.length; i++) {
            el.classList.add(parts[i]);
        }
        var first = 2;
        if (attrs !== null && attrs !== undefined &&
            (typeof attrs !== 'object' || Array.isArray(attrs) || attrs.nodeType)) {
            first = 1; /* no attributes: the second argument is already a child */
            attrs = null;
        }
        if (attrs) {
            Object.keys(attrs).forEach(function (k) {
                var v = attrs[k];
                if (v === undefined || v === null || v === false) {
                    return;
                }
                if (k === 'on') {
                    Object.keys(v).forEach(function (ev) {
                        el.addEventListener(ev, v[ev]);
                    });
                } else if (k === 'testid') {
                    el.setAttribute('data-testid', v);
                } else if (k === 'text') {
                    el.textContent = v;
                } else if (k === 'style') {
                    throw new Error('inline style attributes are forbidden by the CSP');
                } else {
                    el.setAttribute(k, v === true ? '' : String(v));
                }
            });
        }
        for (var j = first; j < arguments.length; j++) {
            append(el, arguments[j]);
        }
        return el;
    }

    function append(el, c) {
        if (c === undefined || c === null || c === false) {
            return;
        }
        if (Array.isArray(c)) {
            c.forEach(function (x) {
                append(el, x);
            });
        } else if (typeof c === 'string' || typeof c === 'number') {
            el.appendChild(document.createTextNode(String(c)));
        } else {
            el.appendChild(c);
        }
    }

    function clear(el) {
        while (el.firstChild) {
            el.removeChild(el.firstChild);
        }
    }

    var SVGNS = 'http://www.w3.org/2000/svg';

    function svg(tag, attrs, text) {
        var el = document.createElementNS(SVGNS, tag);
        Object.keys(attrs || {}).forEach(function (k) {
            el.setAttribute(k, String(attrs[k]));
        });
        if (text !== undefined) {
            el.textContent = text;
        }
        return el;
    }

    function str(v) {
        return v === undefined || v === null ? '' : String(v);
    }

    /* ---------- dates, ages, labels ---------- */

    /* "2025-04-04T14:28..." or "20250404..." → "2025-04-04" */
    function fmtDate(s) {
        s = str(s);
        var m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(s);
        return m ? m[1] + '-' + m[2] + '-' + m[3] : s;
    }

    /* the time part of "2025-04-04T14:28" / "202504041428" / "14:28" → "14:28" */
    function fmtTime(s) {
        s = str(s);
        var m = /T(\d{2}):?(\d{2})/.exec(s) || /^\d{8}(\d{2})(\d{2})/.exec(s) ||
            /^(\d{2}):(\d{2})/.exec(s);
        return m ? m[1] + ':' + m[2] : '';
    }

    function fmtDateTime(s) {
        var d = fmtDate(s);
        var tm = fmtTime(s);
        return tm ? d + ' ' + tm : d;
    }

    function ageOf(birth, atDate) {
        var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(str(birth));
        if (!m) {
            return -1;
        }
        var now = atDate || new Date();
        var y = now.getFullYear() - Number(m[1]);
        var md = (now.getMonth() + 1) * 100 + now.getDate();
        if (md < Number(m[2]) * 100 + Number(m[3])) {
            y--;
        }
        return y >= 0 && y < 150 ? y : -1;
    }

    function fmtAge(age) {
        return typeof age === 'number' && age >= 0 ? t('age_years', age) : t('unknown');
    }

    function fmtSex(s) {
        return s ? tcode('sex_', s) : t('unknown');
    }

    function fmtRoute(r) {
        var l = tcode('route_', r);
        return l && l !== r ? l + ' (' + r + ')' : str(r);
    }

    function nowText() {
        var d = new Date();
        var p2 = function (n) {
            return (n < 10 ? '0' : '') + n;
        };
        return d.getFullYear() + '-' + p2(d.getMonth() + 1) + '-' + p2(d.getDate()) + ' ' +
            p2(d.getHours()) + ':' + p2(d.getMinutes());
    }

    function cmpDesc(a, b) {
        return a < b ? 1 : a > b ? -1 : 0;
    }

    /* ---------- state ---------- */

    var S = {
        print: null, /* the parsed #mm-print-data in print mode */
        user: null,
        idle: 0,
        gens: [],
        gen: null, /* the generation id in use */
        view: 'login', /* login | search | patient */
        notice: null, /* dictionary key shown above the login form */
        query: '',
        searching: false,
        search: null, /* last search answer */
        searchError: null,
        pid: null,
        patient: null, /* {record, labs, meds: its current_medication} */
        medsAsOf: null, /* the "as of" chosen for the current medication, null: the generation's time */
        medsBusy: false,
        medsError: null,
        recovery: null, /* {pid, gen, help: {type: generation|null}, searched} or {busy} */
        patientError: null,
        tab: 'visits',
        ward: null, /* the ward shown on the ward screen, null: the list of wards */
        wards: null, /* its answer, or {error} */
        chartTest: null,
        doc: null, /* {path, title} */
        lastRequest: 0
    };
    var root = null;
    var idleTimer = null;
    var medsShown = null; /* the current_medication of the patient being rendered */

    /* ---------- history: a URL per screen, never a patient ID or name ---------- */

    /*
     * The browser's history on the viewer PC is shared, so a patient's URL carries a random
     * handle that only this page maps to the patient, in memory: meaningless after a logout
     * (the map is wiped), after a reload, and in any other browser. #/search, #/p/<handle>/<tab>,
     * #/wards, #/wards/<ward code>.
     */
    var handles = { toPid: {}, ofPid: {} };
    /* mamori print: the files of the patient being rendered ({path: CDA text or JPEG data: URL}) */
    var printFiles = null;
    /* mamori print: for the patient being rendered, where the failed sections are readable
     * ({help: {type: {id, short, time} or null}, searched}), as /api/recovery answers */
    var printRecovery = null;

    function handleOf(pid) {
        if (!handles.ofPid[pid]) {
            var b = new Uint8Array(12);
            window.crypto.getRandomValues(b);
            var hx = '';
            for (var i = 0; i < b.length; i++) {
                hx += (b[i] < 16 ? '0' : '') + b[i].toString(16);
            }
            handles.ofPid[pid] = hx;
            handles.toPid[hx] = pid;
        }
        return handles.ofPid[pid];
    }

    function routeOf() {
        if (!S.user || S.view === 'login') {
            return '';
        }
        if (S.view === 'patient' && S.pid) {
            return '#/p/' + handleOf(S.pid) + '/' + S.tab;
        }
        if (S.view === 'wards') {
            return '#/wards' + (S.ward ? '/' + encodeURIComponent(S.ward) : '');
        }
        return '#/search';
    }

    /* Record the screen shown in the history (a new entry unless @replace). */
    function pushRoute(replace) {
        var r = routeOf();
        if (S.print || r === window.location.hash || (!r && !window.location.hash)) {
            return;
        }
        var url = r || window.location.pathname;
        if (replace) {
            window.history.replaceState(null, '', url);
        } else {
            window.history.pushState(null, '', url);
        }
    }

    /* Back or Forward: show the screen of the URL (an unknown handle shows the search). */
    function onPopState() {
        if (!S.user) {
            return;
        }
        var m = /^#\/p\/([0-9a-f]{24})\/([a-z]+)$/.exec(window.location.hash);
        var w = /^#\/wards(?:\/(.+))?$/.exec(window.location.hash);
        closeOverlay();
        if (m && handles.toPid[m[1]]) {
            var tab = TABS.indexOf(m[2]) >= 0 ? m[2] : 'visits';
            if (S.view === 'patient' && S.pid === handles.toPid[m[1]] && S.patient) {
                selectTab(tab, false, true);
            } else {
                S.tab = tab;
                openPatient(handles.toPid[m[1]], true, true);
            }
        } else if (w) {
            showWards(w[1] ? decodeURIComponent(w[1]) : null, true);
        } else {
            S.view = 'search';
            S.patient = null;
            S.pid = null;
            render();
            if (m) {
                pushRoute(true); /* a handle of an ended session: forget it */
            }
        }
    }

    var lastPing = 0;

    /* ---------- API ---------- */

    function ApiError(status, body) {
        this.status = status;
        this.body = body || {};
    }

    function api(method, path, body) {
        var opt = {
            method: method,
            credentials: 'same-origin',
            cache: 'no-store',
            headers: { Accept: 'application/json' }
        };
        if (body !== undefined) {
            opt.headers['Content-Type'] = 'application/json';
            opt.body = JSON.stringify(body);
        }
        S.lastRequest = Date.now();
        armIdle();
        return window.fetch(path, opt).then(
            function (res) {
                return res.text().then(function (txt) {
                    var j = {};
                    try {
                        j = txt ? JSON.parse(txt) : {};
                    } catch (e) {
                        j = { error: 'bad_json' };
                    }
                    if (res.ok) {
                        return j;
                    }
                    throw new ApiError(res.status, j);
                });
            },
            function () {
                throw new ApiError(0, { error: 'network' });
            });
    }

    /* Every failure of an /api call except login comes through here. */
    function apiFailed(err) {
        if (err instanceof ApiError && err.status === 401) {
            sessionGone('session_expired');
            return true;
        }
        if (!(err instanceof ApiError)) {
            window.console.error(err);
        }
        return false;
    }

    function errText(err) {
        if (err instanceof ApiError && err.status === 0) {
            return t('net_error');
        }
        if (err instanceof ApiError && err.body.error === 'repository') {
            return t('medium_error');
        }
        if (err instanceof ApiError && err.body.error === 'damaged') {
            return t('damaged_error');
        }
        if (err instanceof ApiError) {
            return t('server_error', err.status + (err.body.error ? ' ' + err.body.error : ''));
        }
        return t('server_error', String(err));
    }

    /* Forget everything about the patient and show the login form. */
    function sessionGone(noticeKey) {
        S.user = null;
        S.gens = [];
        S.gen = null;
        S.query = '';
        S.searching = false;
        S.search = null;
        S.searchError = null;
        S.pid = null;
        S.patient = null;
        S.patientError = null;
        S.chartTest = null;
        S.doc = null;
        S.view = 'login';
        S.notice = noticeKey;
        S.ward = null;
        S.wards = null;
        handles = { toPid: {}, ofPid: {} }; /* every handle in the history is meaningless now */
        pushRoute(true);
        if (idleTimer) {
            window.clearTimeout(idleTimer);
            idleTimer = null;
        }
        closeOverlay();
        render();
    }

    /*
     * The server forgets a session after idle_timeout_s without a request. The page must not
     * keep showing a record on an unattended PC after that, so: when nothing was requested for
     * that long, ask /api/session; a 401 wipes the screen. While the reader is active (keys,
     * mouse, scrolling) a light /api/session request at most once a minute keeps the session.
     */
    function armIdle() {
        if (idleTimer) {
            window.clearTimeout(idleTimer);
            idleTimer = null;
        }
        if (!S.user || !S.idle) {
            return;
        }
        idleTimer = window.setTimeout(function () {
            idleTimer = null;
            api('GET', '/api/session').then(function () {}, function (e) {
                apiFailed(e);
            });
        }, (S.idle + 2) * 1000);
    }

    function onActivity() {
        if (!S.user || S.print) {
            return;
        }
        var now = Date.now();
        if (now - lastPing < 60000 || now - S.lastRequest < 60000) {
            return;
        }
        lastPing = now;
        api('GET', '/api/session').then(function () {}, function (e) {
            apiFailed(e);
        });
    }

    /* ---------- generations ---------- */

    function genById(id) {
        for (var i = 0; i < S.gens.length; i++) {
            if (S.gens[i].id === id) {
                return S.gens[i];
            }
        }
        return null;
    }

    /* backup's mark on a generation (its backup ended with exit status 4): written, but its
     * SS-MIX2 data gave no patient index, or far fewer patients than the generation before */
    var ATTN = {
        ja: {
            label: '要確認',
            banner: 'この世代はバックアップ時に「要確認」と判定されています',
            no_index: 'SS-MIX2 のデータがあるのに患者索引がありません。',
            few_patients: '患者数が前の世代の 90% 未満です（{0} 人、前の世代は {1} 人）。',
            not_indexed: '索引に入っていない SS-MIX2 ストレージがあります。',
            more: 'ここにいない患者がいる可能性があります。前の世代も確かめてください。'
        },
        en: {
            label: 'needs attention',
            banner: 'This generation was marked "needs attention" when it was backed up',
            no_index: 'Its SS-MIX2 data have no patient index.',
            few_patients: 'It holds under 90% of the previous generation\'s patients ({0}, before {1}).',
            not_indexed: 'Some SS-MIX2 storages are not in the index.',
            more: 'Patients may be missing here. Check the previous generation too.'
        }
    };

    function attnText(key, a, b) {
        var s = (ATTN[lang] || ATTN.ja)[key] || ATTN.ja[key];
        return s.replace('{0}', String(a)).replace('{1}', String(b));
    }

    function attnBanner(g) {
        var why = [];
        (g.attention || []).forEach(function (k) {
            why.push(ATTN.ja[k] ? attnText(k, g.patients, g.parent_patients) : k);
        });
        return h('div.mm-banner.mm-banner-suspect', { role: 'alert', testid: 'banner-attention' },
            h('strong', { text: '⚠ ' + attnText('banner') }), ' ', why.join(' ') + ' ' + attnText('more'));
    }

    function genLabel(g) {
        var s = fmtDateTime(g.time);
        if (g.name) {
            s += ' ' + g.name;
        }
        s += ' (' + (g.short || str(g.id).slice(0, 12)) + ')';
        if (g.latest) {
            s += ' ' + t('gen_latest');
        }
        if (g.guard === 'suspect') {
            s += ' ⚠' + t('gen_suspect');
        }
        if (g.has_index === false) {
            s += ' ' + t('gen_noindex');
        }
        if (g.attention && g.attention.length) {
            s += ' ⚠' + attnText('label');
        }
        return s;
    }

    function banners(g) {
        var out = [];
        if (!g) {
            return out;
        }
        if (g.guard === 'suspect') {
            out.push(h('div.mm-banner.mm-banner-suspect', { role: 'alert', testid: 'banner-suspect' },
                h('strong', { text: '⚠ ' + t('banner_suspect') }), ' ', t('banner_suspect_more')));
        }
        if (g.attention && g.attention.length) {
            out.push(attnBanner(g));
        }
        if (!g.latest) {
            out.push(h('div.mm-banner.mm-banner-old', { role: 'status', testid: 'banner-old' },
                h('strong', { text: t('banner_old', fmtDateTime(g.time)) })));
        }
        return out;
    }

    function loadGenerations() {
        return api('GET', '/api/generations').then(function (j) {
            S.gens = j.generations || [];
            if (!S.gen || !genById(S.gen)) {
                S.gen = j['default'] || (S.gens[0] && S.gens[0].id) || null;
            }
        });
    }

    function changeGeneration(id) {
        S.gen = id;
        S.chartTest = null;
        S.doc = null;
        if (S.view === 'patient' && S.pid) {
            openPatient(S.pid, true);
        } else if (S.view === 'wards') {
            showWards(S.ward, true);
        } else if (S.query) {
            runSearch(S.query);
        } else {
            render();
        }
    }

    /* ---------- login ---------- */

    function doLogin(user, pass, form) {
        var btn = form.querySelector('button[type=submit]');
        var err = form.querySelector('[data-testid=login-error]');
        err.textContent = '';
        err.hidden = true;
        btn.disabled = true;
        form.classList.add('mm-busy');
        form.setAttribute('aria-busy', 'true');
        btn.querySelector('.mm-btn-label').textContent = t('login_busy');
        api('POST', '/api/login', { user: user, passphrase: pass }).then(function (j) {
            S.user = j.user || user || '?';
            S.idle = Number(j.idle_timeout_s) || 0;
            S.notice = null;
            S.view = 'search';
            pushRoute(true);
            return loadGenerations().then(render, function (e) {
                if (!apiFailed(e)) {
                    S.searchError = errText(e);
                    render();
                }
            });
        }, function (e) {
            var retry = 0;
            var msg;
            if (e instanceof ApiError && e.status === 401) {
                msg = t('login_wrong');
            } else if (e instanceof ApiError && e.status === 429) {
                retry = Number(e.body.retry_after_s) || 30;
                msg = t('login_many', retry);
            } else if (e instanceof ApiError && e.status === 0) {
                msg = t('net_error');
            } else {
                msg = t('login_failed', e instanceof ApiError ? e.status + ' ' + str(e.body.error) : e);
            }
            form.classList.remove('mm-busy');
            form.removeAttribute('aria-busy');
            btn.querySelector('.mm-btn-label').textContent = t('login_submit');
            err.textContent = msg;
            err.hidden = false;
            var pw = form.querySelector('[data-testid=login-passphrase]');
            pw.value = '';
            if (retry > 0) {
                var until = Date.now() + retry * 1000;
                var tick = function () {
                    var left = Math.ceil((until - Date.now()) / 1000);
                    if (!form.isConnected) {
                        return;
                    }
                    if (left <= 0) {
                        btn.disabled = false;
                        err.hidden = true;
                        return;
                    }
                    err.textContent = t('login_many', left);
                    window.setTimeout(tick, 1000);
                };
                tick();
            } else {
                btn.disabled = false;
            }
            pw.focus();
        });
    }

    function viewLogin() {
        var userIn = h('input', {
            id: 'mm-login-user', type: 'text', name: 'user', autocomplete: 'off',
            autocapitalize: 'off', spellcheck: 'false', testid: 'login-user',
            'aria-describedby': 'mm-login-user-hint'
        });
        var passIn = h('input', {
            id: 'mm-login-pass', type: 'password', name: 'passphrase', autocomplete: 'off',
            required: true, testid: 'login-passphrase'
        });
        var form = h('form.mm-card.mm-login', { testid: 'login-form', novalidate: true },
            h('h2', { text: t('login_title') }),
            S.notice ? h('p.mm-notice', { role: 'status', testid: 'login-notice', text: t(S.notice) }) : null,
            h('p', { text: t('login_lead') }),
            h('div.mm-field',
                h('label', { 'for': 'mm-login-pass', text: t('login_pass') }),
                passIn),
            h('div.mm-field',
                h('label', { 'for': 'mm-login-user', text: t('login_user') }),
                userIn,
                h('p.mm-hint', { id: 'mm-login-user-hint', text: t('login_user_hint') })),
            h('p.mm-error', { role: 'alert', testid: 'login-error', hidden: true }),
            h('button.mm-btn.mm-btn-primary', { type: 'submit', testid: 'login-submit' },
                h('span.mm-spinner', { 'aria-hidden': 'true' }),
                h('span.mm-btn-label', { text: t('login_submit') })));
        form.addEventListener('submit', function (ev) {
            ev.preventDefault();
            var btn = form.querySelector('button[type=submit]');
            if (btn.disabled) {
                return;
            }
            if (!passIn.value) {
                passIn.focus();
                return;
            }
            doLogin(userIn.value.trim(), passIn.value, form);
        });
        window.setTimeout(function () {
            passIn.focus();
        }, 0);
        return h('main.mm-main.mm-main-login', { id: 'mm-main' }, form);
    }

    /* ---------- search ---------- */

    function runSearch(q) {
        S.query = q;
        S.view = 'search';
        S.searchError = null;
        S.search = null;
        if (!q.trim()) {
            S.searchError = t('search_bad');
            render();
            return;
        }
        S.searching = true;
        render();
        var url = '/api/search?q=' + encodeURIComponent(q) + (S.gen ? '&gen=' + encodeURIComponent(S.gen) : '');
        var gen = S.gen;
        api('GET', url).then(function (j) {
            if (S.query !== q || S.gen !== gen) {
                return; /* a newer search replaced this one */
            }
            S.searching = false;
            S.search = j;
            render();
            var first = root.querySelector('[data-testid=result-row]');
            if (first && j.results && j.results.length === 1) {
                first.focus();
            }
        }, function (e) {
            S.searching = false;
            if (apiFailed(e)) {
                return;
            }
            S.searchError = e instanceof ApiError && e.status === 400 ? t('search_bad') : errText(e);
            render();
        });
    }

    function viewSearch() {
        var input = h('input', {
            id: 'mm-q', type: 'search', name: 'q', autocomplete: 'off', spellcheck: 'false',
            testid: 'search-input', 'aria-describedby': 'mm-q-hint', value: S.query
        });
        input.value = S.query;
        var form = h('form.mm-search', { role: 'search', testid: 'search-form' },
            h('label.mm-search-label', { 'for': 'mm-q', text: t('search_label') }),
            h('div.mm-search-row', input,
                h('button.mm-btn.mm-btn-primary', { type: 'submit', testid: 'search-submit', text: t('search_button') })),
            h('p.mm-hint', { id: 'mm-q-hint', text: t('search_hint') }));
        form.addEventListener('submit', function (ev) {
            ev.preventDefault();
            runSearch(input.value);
        });
        var out = h('div.mm-results', { 'aria-live': 'polite' });
        if (S.searching) {
            out.appendChild(h('p.mm-loading', { text: t('search_busy') }));
        } else if (S.searchError) {
            out.appendChild(h('p.mm-error', { role: 'alert', testid: 'search-error', text: S.searchError }));
        } else if (S.search) {
            var rs = S.search.results || [];
            if (!rs.length) {
                out.appendChild(h('p.mm-empty', { testid: 'search-empty', text: t('search_empty', S.query) }));
            } else {
                var total = Number(S.search.total) || rs.length;
                out.appendChild(h('p.mm-count', {
                    testid: 'search-count',
                    text: total > rs.length ? t('search_more', total, rs.length) : t('search_count', rs.length)
                }));
                out.appendChild(resultsTable(rs));
            }
        }
        window.setTimeout(function () {
            if (!root.querySelector('[data-testid=result-row]:focus')) {
                input.focus();
            }
        }, 0);
        return h('main.mm-main', { id: 'mm-main' },
            h('section.mm-card', { 'aria-labelledby': 'mm-search-h' },
                h('div.mm-card-head',
                    h('h2', { id: 'mm-search-h', text: t('search_title') }),
                    h('button.mm-btn', {
                        type: 'button', testid: 'wards-button',
                        on: {
                            click: function () {
                                showWards(null, false);
                            }
                        }
                    }, t('ward_button'))),
                form, out));
    }

    /* ---------- ward screen (current inpatients by ward, for paper operation) ---------- */

    function showWards(ward, fromHistory) {
        S.view = 'wards';
        S.ward = ward;
        S.wards = null;
        S.pid = null;
        S.patient = null;
        if (!fromHistory) {
            pushRoute(false);
        }
        render();
        var gen = S.gen;
        api('GET', '/api/wards?' + (ward ? 'ward=' + encodeURIComponent(ward) + '&' : '') +
            (gen ? 'gen=' + encodeURIComponent(gen) : '')).then(function (j) {
            if (S.view !== 'wards' || S.ward !== ward || S.gen !== gen) {
                return;
            }
            S.wards = j;
            render();
        }, function (e) {
            if (apiFailed(e)) {
                return;
            }
            S.wards = { error: errText(e) };
            render();
        });
    }

    /* Day N of a stay that began on @since, as of the generation shown (not today). */
    function stayDay(since) {
        var g = genById(S.gen);
        var asOf = g && /^\d{4}-\d{2}-\d{2}/.test(str(g.time)) ? Date.parse(fmtDate(g.time) + 'T00:00:00Z') : NaN;
        var st = Date.parse(fmtDate(since) + 'T00:00:00Z');
        if (isNaN(asOf) || isNaN(st)) {
            return '';
        }
        var n = Math.round((asOf - st) / 86400000) + 1;
        return n > 0 ? t('day_n', n) : '';
    }

    function genDate(g) {
        var m = g ? /^(\d{4})-(\d{2})-(\d{2})/.exec(str(g.time)) : null;
        return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
    }

    function viewWards() {
        var g = genById(S.gen);
        var main = h('main.mm-main.mm-main-wards', { id: 'mm-main', testid: 'wards-view' });
        var bar = h('div.mm-toolbar.mm-no-print',
            h('button.mm-btn', {
                type: 'button', testid: S.ward ? 'ward-back' : 'back-button',
                on: {
                    click: function () {
                        if (S.ward) {
                            showWards(null, false);
                        } else {
                            S.view = 'search';
                            pushRoute(false);
                            render();
                        }
                    }
                }
            }, '← ' + (S.ward ? t('ward_back') : t('back'))),
            S.ward && S.wards && !S.wards.error ? h('button.mm-btn', {
                type: 'button', testid: 'print-button',
                on: {
                    click: function () {
                        window.print();
                    }
                }
            }, t('print')) : null);
        main.appendChild(bar);
        var card = h('section.mm-card', { 'aria-labelledby': 'mm-wards-h' });
        main.appendChild(card);
        var list = S.wards && S.wards.list ? arr(S.wards.list.wards) : [];
        if (S.ward) {
            var pts = list.length ? arr(list[0].patients) : [];
            card.appendChild(h('h2', { id: 'mm-wards-h', testid: 'ward-title', text: t('ward_of', S.ward, pts.length) }));
            card.appendChild(h('p.mm-print-meta', { testid: 'print-meta' },
                h('span', { text: t('app_title') }),
                g ? h('span', { text: t('print_as_of', genLabel(g)) }) : null,
                h('span.mm-printed-at', { text: t('printed_at', nowText()) })));
        } else {
            card.appendChild(h('h2', { id: 'mm-wards-h', text: t('ward_title') }));
            card.appendChild(h('p.mm-hint', { text: t('ward_lead') }));
        }
        if (!S.wards) {
            card.appendChild(h('p.mm-loading', { text: t('loading') }));
            return main;
        }
        if (S.wards.error) {
            card.appendChild(h('p.mm-error', { role: 'alert', testid: 'wards-error', text: S.wards.error }));
            return main;
        }
        if (!S.ward) {
            if (!list.length) {
                card.appendChild(h('p.mm-empty', { testid: 'wards-empty', text: t('ward_none') }));
                return main;
            }
            card.appendChild(h('ul.mm-ward-list', { testid: 'ward-list' }, list.map(function (w) {
                return h('li', h('button.mm-btn.mm-ward-btn', {
                    type: 'button', testid: 'ward-item', 'data-ward': w.ward,
                    on: {
                        click: function () {
                            showWards(w.ward, false);
                        }
                    }
                }, t('ward_n', w.ward, w.count)));
            })));
            return main;
        }
        var pts2 = list.length ? arr(list[0].patients) : [];
        if (!pts2.length) {
            card.appendChild(h('p.mm-empty', { testid: 'wards-empty', text: t('ward_missing', S.ward) }));
            return main;
        }
        var at = genDate(g);
        card.appendChild(table('mm-ward-table', 'ward-table',
            [t('col_room'), t('col_bed'), t('col_name'), t('col_kana'), t('col_id'), t('col_sex'), t('col_age'),
                t('col_birth'), t('col_since'), t('col_day'), t('col_allergy')],
            pts2.map(function (p) {
                return patientRow('ward-row', p.id, false, [
                    h('td', { 'data-col': 'room', text: str(p.room) }),
                    h('td', { 'data-col': 'bed', text: str(p.bed) }),
                    h('td.mm-strong', { 'data-col': 'name', text: str(p.name) }),
                    h('td', { 'data-col': 'kana', text: str(p.kana) }),
                    h('td.mm-mono', { 'data-col': 'id', text: str(p.id) }),
                    h('td', { 'data-col': 'sex', text: fmtSex(p.sex) }),
                    h('td.mm-num', { 'data-col': 'age', text: fmtAge(ageOf(p.birth_date, at)) }),
                    h('td.mm-mono', { 'data-col': 'birth', text: fmtDate(p.birth_date) }),
                    h('td.mm-mono', { 'data-col': 'since', text: fmtDate(p.since) }),
                    h('td.mm-num', { 'data-col': 'day', text: stayDay(p.since) }),
                    wardAllergyCell(p)]);
            })));
        return main;
    }

    /* The ward table's allergy cell: the count, or "none recorded" only when every file of the
     * record was read; "unknown" (unreadable files, no allergy found) is marked like a finding. */
    function wardAllergyCell(p) {
        if (p.allergies) {
            return h('td.mm-allergy-cell', { 'data-col': 'allergy', text: '⚠ ' + t('allergy_yes', p.allergies) });
        }
        if (p.allergies_unknown) {
            return h('td.mm-allergy-cell.mm-allergy-unknown', {
                'data-col': 'allergy', 'data-unknown': '1', text: '⚠ ' + t('allergy_unknown_short')
            });
        }
        return h('td', { 'data-col': 'allergy', text: t('allergy_no') });
    }

    /* A table row (@testid) that opens patient @pid on a click, Enter or Space; with @arrows,
     * ArrowDown and ArrowUp move to the next and the previous row. @cells: its cells */
    function patientRow(testid, pid, arrows, cells) {
        var open = function () {
            openPatient(pid, false);
        };
        var tr = h('tr.mm-row-link', {
            tabindex: '0', testid: testid, 'data-pid': pid,
            on: {
                click: open,
                keydown: function (ev) {
                    if (ev.key === 'Enter' || ev.key === ' ') {
                        ev.preventDefault();
                        open();
                    } else if (arrows && ev.key === 'ArrowDown' && tr.nextElementSibling) {
                        ev.preventDefault();
                        tr.nextElementSibling.focus();
                    } else if (arrows && ev.key === 'ArrowUp' && tr.previousElementSibling) {
                        ev.preventDefault();
                        tr.previousElementSibling.focus();
                    }
                }
            }
        }, cells);
        return tr;
    }

    function resultsTable(rs) {
        var body = h('tbody');
        rs.forEach(function (r) {
            body.appendChild(patientRow('result-row', r.id, true, [
                h('td.mm-mono', { 'data-col': 'id', text: r.id }),
                h('td.mm-strong', { 'data-col': 'name', text: r.name }),
                h('td', { 'data-col': 'kana', text: r.kana }),
                h('td', { 'data-col': 'sex', text: fmtSex(r.sex) }),
                h('td.mm-num', { 'data-col': 'age', text: fmtAge(r.age) }),
                h('td.mm-mono', { 'data-col': 'birth', text: fmtDate(r.birth_date) })]));
        });
        return h('table.mm-table.mm-results-table', { testid: 'search-results' },
            h('thead', h('tr',
                h('th', { scope: 'col', text: t('col_id') }),
                h('th', { scope: 'col', text: t('col_name') }),
                h('th', { scope: 'col', text: t('col_kana') }),
                h('th', { scope: 'col', text: t('col_sex') }),
                h('th', { scope: 'col', text: t('col_age') }),
                h('th', { scope: 'col', text: t('col_birth') }))),
            body);
    }

    /* ---------- patient ---------- */

    function openPatient(pid, keepTab, fromHistory) {
        S.view = 'patient';
        S.pid = pid;
        S.patient = null;
        S.patientError = null;
        S.chartTest = null;
        S.doc = null;
        S.medsAsOf = null;
        S.medsBusy = false;
        S.medsError = null;
        if (!keepTab) {
            S.tab = 'visits';
        }
        if (!fromHistory) {
            pushRoute(false);
        }
        if (root) {
            root.removeAttribute('data-print-ready');
        }
        render();
        var gen = S.gen;
        api('GET', '/api/patient?id=' + encodeURIComponent(pid) + (gen ? '&gen=' + encodeURIComponent(gen) : ''))
            .then(function (j) {
                if (S.pid !== pid || S.gen !== gen) {
                    return;
                }
                S.patient = { record: j.record || {}, labs: j.labs || null, meds: medsOf(j) };
                loadRecovery(pid, gen, S.patient.record);
                render();
                var tab = root.querySelector('[role=tab][aria-selected=true]');
                if (tab) {
                    tab.focus();
                }
            }, function (e) {
                if (apiFailed(e)) {
                    return;
                }
                S.patientError = e instanceof ApiError && e.status === 404 ? t('not_found') : errText(e);
                render();
            });
    }

    var TABS = ['visits', 'admissions', 'diagnoses', 'prescriptions', 'injections', 'labs', 'exams',
        'documents', 'images', 'profile'];

    function arr(x) {
        return Array.isArray(x) ? x : [];
    }

    function tabCount(name, rec, labs) {
        switch (name) {
        case 'visits':
            return arr(rec.encounters).length;
        case 'admissions':
            return arr(rec.encounters).filter(isStayEvent).length;
        case 'diagnoses':
            return arr(rec.diagnoses).length + arr(rec.resolved_diagnoses).length;
        case 'labs':
            return labs && labs.tests ? labs.tests.length : 0;
        case 'profile':
            return rec.patient ? arr(rec.patient.contacts).length + arr(rec.patient.phones).length +
                arr(rec.patient.insurance).length + (rec.patient.address ? 1 : 0) : 0;
        default:
            return arr(rec[name]).length;
        }
    }

    function viewPatient() {
        var main = h('main.mm-main.mm-main-patient', { id: 'mm-main', testid: 'patient-view' });
        var bar = h('div.mm-toolbar.mm-no-print',
            h('button.mm-btn', {
                type: 'button', testid: 'back-button',
                on: {
                    click: function () {
                        S.view = 'search';
                        S.patient = null;
                        S.pid = null;
                        pushRoute(false);
                        render();
                    }
                }
            }, '← ' + t('back')),
            S.patient ? h('button.mm-btn', {
                type: 'button', testid: 'print-button',
                on: {
                    click: function (ev) {
                        var btn = ev.currentTarget;
                        btn.disabled = true;
                        btn.textContent = t('print_preparing');
                        preparePrint().then(function () {
                            btn.disabled = false;
                            btn.textContent = t('print');
                            window.print();
                        });
                    }
                }
            }, t('print')) : null);
        main.appendChild(bar);
        if (S.patientError) {
            main.appendChild(h('p.mm-error.mm-card', { role: 'alert', testid: 'patient-error', text: S.patientError }));
            return main;
        }
        if (!S.patient) {
            main.appendChild(h('p.mm-loading.mm-card', { text: t('loading') }));
            return main;
        }
        var rec = S.patient.record;
        var labs = S.patient.labs;
        var g = genById(S.gen);
        var body = h('div.mm-frame-content');
        /* on paper: which viewer, which generation, when printed */
        body.appendChild(h('p.mm-print-only.mm-print-meta', { testid: 'print-meta' },
            h('span', { text: t('app_title') }),
            g ? h('span', { text: t('print_as_of', genLabel(g)) }) : null,
            h('span.mm-printed-at', { text: t('printed_at', nowText()) })));
        main.appendChild(frame(rec, g, body));
        /* on screen the band and the tabs stay in view while the record scrolls */
        var head = h('div.mm-sticky-head', { testid: 'sticky-head' }, patientHeader(rec));
        body.appendChild(head);

        medsShown = S.patient.meds;
        var tablist = h('div.mm-tabs.mm-no-print', { role: 'tablist', 'aria-label': t('tabs_label'), testid: 'tabs' });
        var panels = h('div.mm-panels');
        TABS.forEach(function (name) {
            var selected = S.tab === name;
            var n = tabCount(name, rec, labs);
            var tab = h('button.mm-tab', {
                type: 'button', role: 'tab', id: 'mm-tab-' + name, testid: 'tab-' + name,
                'aria-selected': selected ? 'true' : 'false', 'aria-controls': 'mm-panel-' + name,
                tabindex: selected ? '0' : '-1', 'data-count': n,
                on: {
                    click: function () {
                        selectTab(name, false);
                    },
                    keydown: tabKey
                }
            }, t('tab_' + name), h('span.mm-tab-count', { text: String(n) }));
            if (failuresOf(rec, name, true).length) {
                tab.classList.add('mm-tab-failed');
                tab.setAttribute('data-failed', 'true');
                tab.appendChild(h('span.mm-tab-failmark', { title: t('fail_title'), text: '!' }));
            } else if (n === 0) {
                tab.classList.add('mm-tab-empty');
            }
            tablist.appendChild(tab);
            var panel = h('section.mm-panel', {
                role: 'tabpanel', id: 'mm-panel-' + name, testid: 'panel-' + name,
                'aria-labelledby': 'mm-tab-' + name, tabindex: '0', hidden: !selected
            }, h('h2.mm-panel-title', { text: t('tab_' + name) }), section(name, rec, labs, false));
            panels.appendChild(panel);
        });
        head.appendChild(tablist);
        /* the first thing under the band, on every tab: what the patient takes now */
        body.appendChild(secCurrentMeds(rec, S.patient.meds, g, false));
        body.appendChild(panels);
        return main;
    }

    /*
     * A patient's pages as a table whose head is the running band: Chromium repeats a table's
     * head on every printed page, so each page carries the patient's name, ID and allergies and
     * the generation's time (page X/Y comes from the @page margin boxes in app.css). On screen
     * the table is laid out as plain blocks and the band is not shown.
     */
    function frame(rec, g, body) {
        return h('table.mm-frame', { testid: 'print-frame', role: 'presentation' },
            h('thead.mm-frame-head', h('tr', h('td', runBand(rec, g)))),
            h('tbody.mm-frame-body', h('tr', h('td', body))));
    }

    function runBand(rec, g) {
        var p = rec.patient || {};
        var al = arr(rec.allergies).map(function (a) {
            return str(a.name || a.code) + (a.severity ? '(' + tcode('sev_', a.severity) + ')' : '');
        });
        return h('div.mm-run-band.mm-print-only', { testid: 'run-band' },
            h('strong.mm-run-name', { text: str(p.name) }),
            h('span', { text: str(p.kana) }),
            h('span.mm-mono', { text: t('col_id') + ' ' + str(p.id) }),
            h('span', { text: fmtSex(p.sex) + ' ' + fmtAge(ageOf(p.birth_date)) }),
            h('span', { text: t('col_birth') + ' ' + (fmtDate(p.birth_date) || t('unknown')) }),
            h('span.mm-run-allergy', {
                text: al.length ? '⚠ ' + t('run_allergy', al.join('、')) :
                    arr(rec.read_failures).length ? '⚠ ' + t('allergy_unknown') : t('allergy_none')
            }),
            p.source && p.source !== 'ADT-00' ? h('span.mm-run-source', { text: t('patient_source', typeName(p.source), fmtDate(p.source_time)) }) : null,
            g ? h('span.mm-run-gen', { text: t('run_as_of', fmtDateTime(g.time)) }) : null);
    }

    function selectTab(name, focus, fromHistory) {
        var changed = S.tab !== name;
        S.tab = name;
        S.doc = null;
        if (changed && !fromHistory) {
            pushRoute(false);
        }
        var tabs = root.querySelectorAll('[role=tab]');
        for (var i = 0; i < tabs.length; i++) {
            var on = tabs[i].id === 'mm-tab-' + name;
            tabs[i].setAttribute('aria-selected', on ? 'true' : 'false');
            tabs[i].tabIndex = on ? 0 : -1;
            if (on && focus) {
                tabs[i].focus();
            }
        }
        var panels = root.querySelectorAll('[role=tabpanel]');
        for (var j = 0; j < panels.length; j++) {
            panels[j].hidden = panels[j].id !== 'mm-panel-' + name;
            /* a matrix laid out while its panel was hidden could not scroll: the newest
             * results (at the right) are what a reader needs first */
            var sc = panels[j].hidden ? null : panels[j].querySelector('.mm-lab-scroll');
            if (sc && !sc.getAttribute('data-scrolled')) {
                sc.setAttribute('data-scrolled', '1');
                sc.scrollLeft = sc.scrollWidth;
            }
        }
    }

    function tabKey(ev) {
        var i = TABS.indexOf(S.tab);
        var n = -1;
        if (ev.key === 'ArrowRight') {
            n = (i + 1) % TABS.length;
        } else if (ev.key === 'ArrowLeft') {
            n = (i + TABS.length - 1) % TABS.length;
        } else if (ev.key === 'Home') {
            n = 0;
        } else if (ev.key === 'End') {
            n = TABS.length - 1;
        }
        if (n >= 0) {
            ev.preventDefault();
            selectTab(TABS[n], true);
        }
    }

    function patientHeader(rec) {
        var p = rec.patient || {};
        var age = ageOf(p.birth_date);
        var facts = h('dl.mm-facts',
            fact('sex', t('col_sex'), fmtSex(p.sex)),
            fact('age', t('col_age'), fmtAge(age)),
            fact('birth', t('col_birth'), fmtDate(p.birth_date) || t('unknown')),
            fact('id', t('col_id'), p.id),
            fact('blood', t('blood'), p.blood_type || t('unknown')),
            p.height_cm ? fact('height', t('height'), p.height_cm + ' cm') : null,
            p.weight_kg ? fact('weight', t('weight'), p.weight_kg + ' kg') : null);
        var now = currentStay(rec);
        if (now) {
            facts.appendChild(h('div.mm-fact.mm-fact-stay', h('dt', { text: t('stay_current') }),
                h('dd', { testid: 'patient-stay', text: now.where + ' ' + t('stay_since', fmtDate(now.stay.start.date), now.days) })));
        }
        return h('section.mm-header-band', { testid: 'patient-header', 'aria-label': str(p.name) },
            h('div.mm-header-who',
                h('div.mm-names',
                    h('h2.mm-patient-name', { testid: 'patient-name', text: p.name || p.id }),
                    h('span.mm-patient-kana', { testid: 'patient-kana', text: p.kana || '' })),
                facts, patientSource(rec.patient)),
            allergyBox(arr(rec.allergies), rec));
    }

    function fact(key, label, value) {
        return h('div.mm-fact', h('dt', { text: label }), h('dd', { testid: 'patient-' + key, text: str(value) }));
    }

    function allergyBox(list, rec) {
        if (!list.length && arr(rec && rec.read_failures).length) {
            /* nothing found is not "none" when some files could not be read */
            return h('div.mm-allergy.mm-allergy-unknown', { testid: 'allergy-unknown', role: 'alert' },
                h('strong', { text: '⚠ ' + t('allergy_unknown') }));
        }
        if (!list.length) {
            return h('div.mm-allergy.mm-allergy-none', { testid: 'allergy-none' },
                h('strong', { text: t('allergy_none') }), ' ', h('span', { text: t('allergy_none_more') }));
        }
        var ul = h('ul.mm-allergy-list');
        list.forEach(function (a) {
            var sev = tcode('sev_', a.severity);
            ul.appendChild(h('li.mm-allergy-item', {
                testid: 'allergy-item', 'data-type': a.type, 'data-severity': a.severity
            },
                h('span.mm-allergy-type', { text: tcode('atype_', a.type) || '?' }),
                h('strong.mm-allergy-name', { text: a.name || a.code }),
                sev ? h('span.mm-allergy-sev', { 'data-sev': a.severity, text: sev }) : null,
                a.reaction ? h('span.mm-allergy-reaction', { text: a.reaction }) : null,
                a.onset ? h('span.mm-allergy-onset', { text: t('onset') + ' ' + a.onset }) : null,
                allergySource(a)));
        });
        return h('div.mm-allergy', { testid: 'allergy-list', role: 'region', 'aria-label': t('allergy_title') },
            h('h3.mm-allergy-title', { text: '⚠ ' + t('allergy_title') + ' (' + list.length + ')' }), ul);
    }

    function section(name, rec, labs, print) {
        return withFailures(name, rec, print, sectionBody(name, rec, labs, print));
    }

    function sectionBody(name, rec, labs, print) {
        switch (name) {
        case 'visits':
            return secVisits(rec);
        case 'admissions':
            return secAdmissions(rec);
        case 'diagnoses':
            return secDiagnoses(rec);
        case 'prescriptions':
            return h('div.mm-rx-tab', secTimeline(medsShown),
                secOrders(arr(rec.prescriptions), false, 'rx', arr(rec.administrations)));
        case 'injections':
            return secOrders(arr(rec.injections), true, 'inj', arr(rec.administrations));
        case 'profile':
            return secProfile(rec);
        case 'labs':
            return secLabs(labs, print);
        case 'exams':
            return secExams(rec);
        case 'documents':
            return secDocuments(rec, print);
        case 'images':
            return secImages(rec, print);
        }
        return null;
    }

    function none() {
        return h('p.mm-none', { testid: 'none-recorded', text: t('none_recorded') });
    }

    function table(cls, testid, heads, rows) {
        var tr = h('tr');
        heads.forEach(function (x) {
            tr.appendChild(h('th', { scope: 'col', text: x }));
        });
        return h('table.mm-table' + (cls ? '.' + cls : ''), { testid: testid }, h('thead', tr), h('tbody', rows));
    }

    function kindLabel(k) {
        return tcode('kind_', k);
    }

    function byDateTimeDesc(a, b) {
        return cmpDesc(str(a.date) + 'T' + str(a.time), str(b.date) + 'T' + str(b.time));
    }

    function secVisits(rec) {
        var list = arr(rec.encounters).slice().sort(byDateTimeDesc);
        if (!list.length) {
            return none();
        }
        return table('mm-visits', 'visits-table',
            [t('col_date'), t('col_time'), t('col_kind'), t('col_dept'), t('col_ward'), t('col_doctor')],
            list.map(function (e) {
                var inpatientKind = e.kind !== 'outpatient';
                return h('tr', {
                    testid: 'visit-row', 'data-kind': e.kind, 'data-date': e.date,
                    'class': inpatientKind ? 'mm-row-inpatient' : null
                },
                    h('td.mm-mono', { text: fmtDate(e.date) }),
                    h('td.mm-mono', { text: fmtTime(e.time) }),
                    h('td', { text: kindLabel(e.kind) }),
                    named('td', e.dept, e.dept_name, 'dept'),
                    inpatientKind ? named('td', e.ward, wardText(e), 'ward') : h('td'),
                    named('td', e.doctor_id, e.doctor, 'doctor'));
            }));
    }

    function wardText(e) {
        var parts = [];
        if (e.ward_name || e.ward) {
            parts.push(e.ward_name || e.ward);
        }
        if (e.room) {
            parts.push(t('room_n', e.room));
        }
        if (e.bed) {
            parts.push(t('bed_n', e.bed));
        }
        return parts.join(' ');
    }

    function isStayEvent(e) {
        return e.kind && e.kind !== 'outpatient';
    }

    /*
     * Cut the inpatient events into stays: each starts at an admission and ends at a
     * discharge. A planned admission outside a stay opens a "planned" group of its own;
     * events before the first admission we know of form a stay whose start is unknown.
     */
    function stays(rec) {
        var ev = arr(rec.encounters).filter(isStayEvent).slice().sort(function (a, b) {
            return -byDateTimeDesc(a, b);
        });
        var out = [];
        var cur = null;
        ev.forEach(function (e) {
            if (e.kind === 'admission') {
                if (!(cur && cur.planned && !cur.start)) {
                    cur = { events: [] };
                    out.push(cur);
                }
                cur.start = e;
            } else if (!cur) {
                cur = { start: null, planned: e.kind === 'planned_admission' ? e : null, events: [] };
                out.push(cur);
            }
            cur.events.push(e);
            if (e.kind === 'discharge') {
                cur.end = e;
                cur = null;
            }
        });
        return out.reverse();
    }

    /* The stay going on now (admitted, not discharged), or null. */
    function currentStay(rec) {
        var list = stays(rec).filter(function (x) {
            return x.start || !x.planned; /* a stay, not only a plan */
        });
        var s = list.length ? list[0] : null;
        if (!s || !s.start || s.end) {
            return null;
        }
        var last = null;
        s.events.forEach(function (e) {
            if (!/^planned_/.test(e.kind) && (e.ward || e.room)) {
                last = e;
            }
        });
        /* day N of the stay as of the generation shown (the end of that backup), not today */
        var g = S.print ? S.print.generation : genById(S.gen);
        var asOf = g && /^\d{4}-\d{2}-\d{2}/.test(str(g.time)) ? Date.parse(fmtDate(g.time) + 'T00:00:00Z') : NaN;
        if (isNaN(asOf)) {
            var d0 = new Date();
            asOf = Date.UTC(d0.getFullYear(), d0.getMonth(), d0.getDate());
        }
        var days = Math.round((asOf - Date.parse(fmtDate(s.start.date) + 'T00:00:00Z')) / 86400000) + 1;
        return { stay: s, where: last ? wardText(last) : '', days: days > 0 ? days : '?' };
    }

    function secAdmissions(rec) {
        var list = stays(rec);
        if (!list.length) {
            return none();
        }
        var box = h('div.mm-stays');
        var now = currentStay(rec);
        list.forEach(function (s) {
            var current = now && s.start && now.stay.start === s.start;
            var title = s.start || !s.planned ?
                t('stay_title', s.start ? fmtDate(s.start.date) : t('stay_unknown_start'),
                    s.end ? fmtDate(s.end.date) : t('stay_open')) :
                t('stay_planned', fmtDate(s.planned.date));
            var stay = h('section.mm-stay', { testid: 'stay', 'data-current': current ? 'true' : 'false' },
                h('h3', { text: title }));
            if (current) {
                stay.classList.add('mm-stay-current');
                stay.appendChild(h('div.mm-current-stay', { testid: 'current-stay' },
                    h('strong', { text: t('stay_current') }), ' ',
                    h('span.mm-big', { text: now.where }), ' ',
                    h('span', { text: t('stay_since', fmtDate(s.start.date), now.days) })));
            }
            stay.appendChild(table('mm-stay-table', 'stay-table',
                [t('col_date'), t('col_time'), t('col_kind'), t('col_ward'), t('col_prior'), t('col_dept'), t('col_doctor')],
                s.events.slice().sort(byDateTimeDesc).map(function (e) {
                    var prior = [e.prior_ward_name || e.prior_ward, e.prior_room ? t('room_n', e.prior_room) : '']
                        .filter(Boolean).join(' ');
                    return h('tr', {
                        testid: 'admission-row', 'data-kind': e.kind, 'data-date': e.date,
                        'class': /^planned_/.test(e.kind) ? 'mm-row-planned' : null
                    },
                        h('td.mm-mono', { text: fmtDate(e.date) }),
                        h('td.mm-mono', { text: fmtTime(e.time) }),
                        h('td', { text: kindLabel(e.kind) }),
                        named('td', e.ward, wardText(e), 'ward'),
                        named('td', e.prior_ward, prior, 'prior'),
                        named('td', e.dept, e.dept_name, 'dept'),
                        named('td', e.doctor_id, e.doctor, 'doctor'));
                })));
            box.appendChild(stay);
        });
        return box;
    }

    function dxMarks(d) {
        var m = h('span.mm-marks');
        if (d.main) {
            m.appendChild(h('span.mm-tag.mm-tag-main', { testid: 'dx-main', text: t('dx_main') }));
        }
        if (d.suspected) {
            m.appendChild(h('span.mm-tag.mm-tag-suspected', { testid: 'dx-suspected', text: t('dx_suspected') }));
        }
        return m;
    }

    function secDiagnoses(rec) {
        var cur = arr(rec.diagnoses).slice().sort(function (a, b) {
            return (b.main ? 1 : 0) - (a.main ? 1 : 0) || cmpDesc(str(a.start_date), str(b.start_date));
        });
        var res = arr(rec.resolved_diagnoses).slice().sort(function (a, b) {
            return cmpDesc(str(a.end_date) + str(a.start_date), str(b.end_date) + str(b.start_date));
        });
        var box = h('div.mm-dx');
        box.appendChild(h('h3', { text: t('dx_current') }));
        box.appendChild(cur.length ? table('mm-dx-table', 'dx-current-table',
            [t('col_dx'), '', t('col_start'), t('col_icd10')],
            cur.map(function (d) {
                return h('tr', { testid: 'dx-row', 'data-status': 'current', 'data-icd10': d.icd10 },
                    h('td.mm-strong', { 'data-col': 'name', text: d.name }),
                    h('td', dxMarks(d)),
                    h('td.mm-mono', { 'data-col': 'start', text: fmtDate(d.start_date) }),
                    h('td.mm-mono', { text: str(d.icd10) }));
            })) : none());
        box.appendChild(h('h3', { text: t('dx_resolved') }));
        box.appendChild(res.length ? table('mm-dx-table.mm-dx-resolved', 'dx-resolved-table',
            [t('col_dx'), '', t('col_start'), t('col_end'), t('col_outcome'), t('col_icd10')],
            res.map(function (d) {
                return h('tr', { testid: 'dx-row', 'data-status': 'resolved', 'data-icd10': d.icd10 },
                    h('td', { 'data-col': 'name', text: d.name }),
                    h('td', dxMarks(d)),
                    h('td.mm-mono', { 'data-col': 'start', text: fmtDate(d.start_date) }),
                    h('td.mm-mono', { 'data-col': 'end', text: fmtDate(d.end_date) }),
                    h('td', { text: tcode('outcome_', d.outcome) }),
                    h('td.mm-mono', { text: str(d.icd10) }));
            })) : none());
        return box;
    }

    /* Prescriptions and injections: one card per order, newest first, drugs grouped by Rp. */
    function secOrders(list, injection, tid, allAdmins) {
        var admins = allAdmins.filter(function (a) {
            return !!a.injection === injection;
        });
        var byOrder = {};
        admins.forEach(function (a) {
            (byOrder[str(a.order_no)] = byOrder[str(a.order_no)] || []).push(a);
        });
        if (!list.length && !admins.length) {
            return none();
        }
        var sorted = list.slice().sort(function (a, b) {
            return cmpDesc(str(a.date) + str(a.order_no), str(b.date) + str(b.order_no));
        });
        var box = h('div.mm-orders');
        sorted.forEach(function (o) {
            var card = h('article.mm-order', { testid: tid + '-order', 'data-order': o.order_no, 'data-date': o.date },
                h('header.mm-order-head',
                    h('strong.mm-order-date', { text: fmtDate(o.date) }),
                    h('span.mm-tag', { text: o.inpatient ? t('inpatient') : t('outpatient') }),
                    o.dept ? h('span', t('col_dept') + ' ', named('span', o.dept, o.dept_name, 'dept')) : null,
                    o.doctor ? h('span', t('col_doctor') + ' ', named('span', o.doctor_id, o.doctor, 'doctor')) : null,
                    h('span.mm-muted', { text: t('order_no') + ' ' + str(o.order_no) })));
            orderedRps(o).forEach(function (x) {
                card.appendChild(rpBlock(o, x.rp, x.i, injection));
            });
            append(card, rawList(o.raw));
            var given = byOrder[str(o.order_no)];
            if (given) {
                delete byOrder[str(o.order_no)];
                card.appendChild(adminTable(given, t('admin_title')));
            }
            box.appendChild(card);
        });
        /* administrations whose order is not shown (not current, or its file unreadable) */
        var rest = [];
        Object.keys(byOrder).forEach(function (k) {
            rest = rest.concat(byOrder[k]);
        });
        if (rest.length) {
            box.appendChild(h('section.mm-admin-orphans', { testid: tid + '-admin-orphans' },
                adminTable(rest, t('admin_orphans'))));
        }
        return box;
    }

    /* A code shown by its name (the code itself when no message names it), the code on hover. */
    function named(tag, code, name, col) {
        var attrs = { text: str(name) || str(code) };
        if (col) {
            attrs['data-col'] = col;
        }
        if (code && name && String(name) !== String(code)) {
            attrs.title = String(code);
            attrs['data-code'] = String(code);
            attrs['class'] = 'mm-coded';
        }
        return h(tag, attrs);
    }

    /* Medication administrations (RXA): what, when, how much, route, who, where, status. */
    function adminTable(list, title) {
        var rows = list.slice().sort(function (a, b) {
            return cmpDesc(str(a.given_at) + str(a.code), str(b.given_at) + str(b.code));
        }).map(function (a) {
            return h('tr', { testid: 'admin-row', 'data-order': a.order_no, 'data-code': a.code, 'data-given': a.given_at },
                h('td.mm-mono', { 'data-col': 'given_at', text: fmtDateTime(a.given_at) + (a.ended_at && a.ended_at !== a.given_at ? ' – ' + fmtTime(a.ended_at) : '') }),
                h('td', { 'data-col': 'drug', text: a.name || a.code }),
                h('td', { 'data-col': 'amount', text: (str(a.dose) + ' ' + str(a.unit)).trim() }),
                named('td', a.route, a.route ? fmtRoute(a.route) : '', 'route'),
                named('td', a.given_by_id, a.given_by, 'given_by'),
                named('td', a.location, a.location_name, 'location'),
                h('td', { 'data-col': 'status', text: tcode('astatus_', a.completion) }));
        });
        return h('div.mm-admins', { testid: 'admins' },
            h('h4.mm-admin-title', { text: title + ' (' + list.length + ')' }),
            table('mm-admin-table', 'admin-table',
                [t('col_given_at'), t('col_drug'), t('col_amount'), t('route'), t('col_given_by'), t('col_location'), t('col_status')],
                rows));
    }

    /* Address, phones, emergency contacts (NK1) and insurance (IN1) of the current ADT-00. */
    function secProfile(rec) {
        var p = rec.patient;
        if (!p) {
            return h('div.mm-profile', { testid: 'profile' }, none(), secUninterpreted(rec));
        }
        var phoneText = function (ph) {
            var kind = ph.equipment === 'CP' ? t('phone_CP') : tcode('phone_', ph.use);
            return (kind ? kind + ' ' : '') + str(ph.number);
        };
        var box = h('div.mm-profile', { testid: 'profile' });
        var dl = h('dl.mm-profile-facts');
        if (p.address || p.postal_code) {
            dl.appendChild(h('div.mm-fact', h('dt', { text: t('prof_address') }),
                h('dd', { testid: 'profile-address', text: (p.postal_code ? '〒' + p.postal_code + ' ' : '') + str(p.address) })));
        }
        var phones = arr(p.phones);
        if (!phones.length && p.phone) {
            phones = [{ use: '', equipment: '', number: p.phone }];
        }
        if (phones.length) {
            var ul = h('ul.mm-phones');
            phones.forEach(function (ph) {
                ul.appendChild(h('li', { testid: 'profile-phone', 'data-number': ph.number, text: phoneText(ph) }));
            });
            dl.appendChild(h('div.mm-fact', h('dt', { text: t('prof_phones') }), h('dd', ul)));
        }
        if (p.updated_at) {
            dl.appendChild(h('div.mm-fact', h('dt', { text: t('prof_updated') }),
                h('dd', { text: fmtDateTime(p.updated_at) })));
        }
        box.appendChild(dl);
        box.appendChild(h('h3', { text: t('prof_contacts') }));
        var cs = arr(p.contacts);
        box.appendChild(cs.length ? table('mm-contacts', 'contacts-table',
            [t('col_name'), t('col_kana'), t('col_relationship'), t('col_phone'), t('col_address')],
            cs.map(function (c) {
                return h('tr', { testid: 'contact-row' },
                    h('td.mm-strong', { 'data-col': 'name', text: str(c.name) }),
                    h('td', { 'data-col': 'kana', text: str(c.kana) }),
                    named('td', c.relationship_code, c.relationship, 'relationship'),
                    h('td', { 'data-col': 'phone', text: arr(c.phones).map(phoneText).join(' / ') }),
                    h('td', { 'data-col': 'address', text: (c.postal_code ? '〒' + c.postal_code + ' ' : '') + str(c.address) }));
            })) : none());
        box.appendChild(h('h3', { text: t('prof_insurance') }));
        var ins = arr(p.insurance);
        box.appendChild(ins.length ? table('mm-insurance', 'insurance-table',
            [t('col_plan'), t('col_insurer'), t('col_valid'), t('col_relation')],
            ins.map(function (x) {
                return h('tr', { testid: 'insurance-row' },
                    named('td', x.plan_code, x.plan_name, 'plan'),
                    h('td.mm-mono', { 'data-col': 'insurer', text: str(x.insurer_no) }),
                    h('td.mm-mono', { 'data-col': 'valid', text: (x.valid_from || x.valid_to) ? fmtDate(x.valid_from) + ' – ' + fmtDate(x.valid_to) : '' }),
                    named('td', x.relation_code, x.relation, 'relation'));
            })) : none());
        box.appendChild(secUninterpreted(rec));
        return box;
    }

    /* ---------- medication (issue 15): order lines as transcribed, current medication, timeline ----------
     *
     * Everything here renders the contract's JSON (docs/orders.md): a prescription drug line or an
     * injection Rp as a pharmacist transcribes it, the current-medication list as of a time, and
     * the timeline of every listed line. Screen and paper use the same functions.
     */

    var WEEKDAYS = { ja: ['日', '月', '火', '水', '木', '金', '土'], en: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] };

    /* "4" + "錠" → "4錠" (Japanese) / "4 tab" (English); "" when there is no amount */
    function qty(v, unit) {
        if (str(v) === '') {
            return '';
        }
        return str(v) + (lang === 'en' && unit ? ' ' : '') + str(unit);
    }

    /* 朝4錠・昼2錠・夕1錠: the per-timing amounts (a timing without a label is "n回目") */
    function perTimingText(list, unit) {
        return arr(list).map(function (p) {
            return (p.label || t('med_nth', p.n)) + (lang === 'en' ? ' ' : '') + qty(p.dose, unit);
        }).join(t('med_sep'));
    }

    /* 隔日 / 月・木 / the pattern's own text; "" when none */
    function patternText(p) {
        if (!p) {
            return '';
        }
        if (p.kind === 'weekdays' && arr(p.weekdays).length) {
            return arr(p.weekdays).map(function (d) {
                return WEEKDAYS[lang][d] || String(d);
            }).join(t('med_sep'));
        }
        if (p.kind === 'interval' && p.on > 0 && p.off >= 0) {
            return p.on === 1 && p.off === 1 ? t('med_every_other') : t('med_interval', p.on, p.off);
        }
        return str(p.text) || str(p.code);
    }

    function daysText(days, unit) {
        if (str(days) === '') {
            return '';
        }
        var u = str(unit);
        if (u === 'W' || u === 'w' || u === 'wk') {
            return t('med_weeks', days);
        }
        if (u === '' || u === 'D' || u === 'd') {
            return t('days', days);
        }
        return t('med_days_unit', days, u);
    }

    /* the day before "YYYY-MM-DD" (until is exclusive; people read the last day) */
    function dayBefore(d) {
        var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(str(d));
        if (!m) {
            return str(d);
        }
        var x = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - 86400000);
        return x.toISOString().slice(0, 10);
    }

    /* "2020-08-21から" / "(2026-08-21〜2026-09-02)" */
    function spanText(start, end) {
        if (start && end) {
            return t('med_span', fmtDateTime(start), fmtDateTime(end));
        }
        if (start) {
            return t('med_from', fmtDateTime(start));
        }
        if (end) {
            return t('med_until', fmtDateTime(end));
        }
        return '';
    }

    /* one labelled part of a line: <span class=mm-med-part data-part=…> */
    function part(name, text, cls) {
        if (!text) {
            return null;
        }
        return h('span.mm-med-part' + (cls ? '.' + cls : ''), { testid: 'rp-' + name, 'data-part': name, text: text });
    }

    /* the amount of a prescription drug: 1日7錠 (朝4錠・昼2錠・夕1錠), or 1回1錠 */
    function doseText(d) {
        var pt = arr(d.per_timing);
        if (pt.length) {
            /* the daily amount as written (RXE-19), else the sum of the timings when all are numbers */
            var sum = 0;
            pt.forEach(function (p) {
                sum += /^\d+(\.\d+)?$/.test(str(p.dose)) ? Number(p.dose) : NaN;
            });
            var total = d.daily_dose ? qty(d.daily_dose, d.daily_unit || d.unit) :
                isNaN(sum) ? '' : qty(String(Math.round(sum * 1000) / 1000), d.unit);
            var daily = total ? t('med_daily', total) + ' ' : '';
            return daily + '(' + perTimingText(pt, d.unit) + ')';
        }
        var once = d.dose ? t('med_once', qty(d.dose, d.unit)) : '';
        if (d.dose_max && str(d.dose_max) !== str(d.dose)) {
            once += t('med_dose_max', qty(d.dose_max, d.unit));
        }
        if (d.daily_dose) {
            once += (once ? ' ' : '') + t('med_daily', qty(d.daily_dose, d.daily_unit || d.unit));
        }
        return once;
    }

    /* 頓用 疼痛時 1日2回まで 10回分 */
    function prnParts(x) {
        return [
            x.prn ? part('prn', t('med_prn'), 'mm-med-prn') : null,
            /* the condition once: the usage text often names it already (内服・経口・疼痛時) */
            part('condition', str(x.usage).indexOf(str(x.condition)) >= 0 ? '' : str(x.condition)),
            part('max', str(x.tq_text)),
            part('total', str(x.total) ? t('med_total', x.total) : '')
        ];
    }

    /* raw[] entries: 「未解釈: RXE-8 …」, small but visible */
    function rawList(raw) {
        var list = arr(raw);
        if (!list.length) {
            return null;
        }
        var ul = h('ul.mm-raw-list', { testid: 'raw-list' });
        list.forEach(function (r) {
            ul.appendChild(h('li.mm-raw', { testid: 'raw', 'data-field': str(r.field), text: t('raw_item', str(r.field), str(r.text)) }));
        });
        return ul;
    }

    function flagParts(flags) {
        return arr(flags).map(function (f) {
            return h('strong.mm-med-flag', { testid: 'med-flag', 'data-flag': str(f), text: '【' + str(f) + '】' });
        });
    }

    /* 経路: 静脈内 (IV) */
    function routeText(x) {
        if (!x.route_name && !x.route) {
            return '';
        }
        var r = x.route_name && x.route && x.route_name !== x.route ? x.route_name + ' (' + x.route + ')' :
            x.route_name || fmtRoute(x.route);
        return t('route') + ': ' + r;
    }

    function stepText(step) {
        return step && step.n ? t('med_step', step.n, step.of || '?') : '';
    }

    /* The timeline's period of order @no, Rp @rpNo, drug @code (its last day worked out from the
     * days and the pattern by the server), or null. */
    function periodOf(no, rpNo, code) {
        var found = null;
        arr(medsShown && medsShown.timeline).forEach(function (row) {
            arr(row.periods).forEach(function (p) {
                if (!found && str(p.order_no) === str(no) && str(p.rp) === str(rpNo) && (!code || !row.code || row.code === code)) {
                    found = p;
                }
            });
        });
        return found;
    }

    /* A prescription drug line of Rp @rp of order @o as a pharmacist transcribes it. */
    function rxLine(o, rp, d) {
        var stepped = rp.step && rp.step.n;
        var per = rp.end ? null : periodOf(o.order_no, rp.rp, d.code);
        var last = per && per.until && !/T/.test(str(per.until)) ? dayBefore(per.until) : '';
        var when = stepped ? t('med_step_span', fmtDateTime(rp.start), rp.days || '?') :
            spanText(rp.start, rp.end || last);
        var li = h('li.mm-drug.mm-med-line', { testid: 'rp-drug', 'data-code': d.code, 'data-dose': str(d.dose), 'data-unit': str(d.unit) },
            flagParts(d.flags),
            h('span.mm-drug-name', { testid: 'med-name', text: d.name || d.code }),
            part('dose', doseText(d), 'mm-drug-dose'),
            part('usage', str(rp.usage)),
            part('pattern', patternText(rp.pattern), 'mm-med-pattern'),
            prnParts(rp),
            part('times', arr(rp.times).join(', ')),
            part('days', stepped ? '' : daysText(rp.days, rp.days_unit)),
            part('span', when),
            part('site', rp.site ? t('med_site', rp.site) : ''),
            part('route', routeText(rp)),
            part('dispense', d.dispense ? t('med_dispense', qty(d.dispense, d.dispense_unit)) : ''),
            part('form', str(d.form)),
            part('class', str(d.class)),
            arr(d.dispensing).length ? part('dispensing', t('med_dispensing', arr(d.dispensing).join('、'))) : null,
            arr(d.instructions).length ? part('instructions', t('med_instructions', arr(d.instructions).join('、')), 'mm-med-instr') : null,
            rawList(d.raw));
        return li;
    }

    /* An injection Rp: type, drugs with amounts and roles, route/site, times, start–end, rate. */
    function injRp(rp, drugs) {
        var ul = h('ul.mm-drugs');
        arr(rp.drugs).forEach(function (d) {
            var role = d.role === 'B' ? t('med_role_B') : d.role === 'A' ? t('med_role_A') : str(d.role);
            ul.appendChild(h('li.mm-drug.mm-inj-drug', { testid: 'rp-drug', 'data-code': d.code, 'data-role': str(d.role) },
                role ? h('span.mm-tag.mm-med-role', { text: role }) : null,
                h('span.mm-drug-name', { testid: 'med-name', text: d.name || d.code }),
                h('span.mm-drug-dose', { text: (str(d.dose) + ' ' + str(d.unit)).trim() })));
        });
        drugs.appendChild(ul);
        var rate = str(rp.rate) ? t('rate') + ': ' + str(rp.rate) + ' ' + str(rp.rate_unit) : '';
        return h('div.mm-rp-meta',
            part('type', str(rp.type_name), 'mm-med-type'),
            part('usage', str(rp.usage)),
            part('pattern', patternText(rp.pattern), 'mm-med-pattern'),
            prnParts(rp),
            part('route', routeText(rp)),
            part('site', rp.site ? t('med_site', rp.site) : ''),
            part('method', str(rp.method)),
            part('times', arr(rp.times).length ? t('med_times', arr(rp.times).join(', ')) : ''),
            part('days', daysText(rp.days, rp.days_unit)),
            part('span', rp.start || rp.end ? t('period') + ': ' + fmtDateTime(rp.start) + ' – ' + fmtDateTime(rp.end) : ''),
            part('rate', rate + (rate && rp.rate_per ? ' (' + rp.rate_per + ')' : '')),
            arr(rp.instructions).length ? part('instructions', t('med_instructions', arr(rp.instructions).join('、')), 'mm-med-instr') : null);
    }

    /* One Rp of an order card (prescription or injection). */
    function rpBlock(o, rp, i, injection) {
        var rpNo = /^\d{1,3}$/.test(str(rp.rp)) ? rp.rp : String(i + 1);
        var drugs = h('div.mm-rp-lines');
        var meta;
        if (injection) {
            meta = injRp(rp, drugs);
        } else {
            var ul = h('ul.mm-drugs');
            arr(rp.drugs).forEach(function (d) {
                ul.appendChild(rxLine(o, rp, d));
            });
            drugs.appendChild(ul);
        }
        var st = stepText(rp.step);
        return h('div.mm-rp', { testid: 'rp', 'data-rp': rp.rp, 'data-step': rp.step ? String(rp.step.n) : null },
            h('div.mm-rp-no', { text: t('rp', rpNo) }, st ? h('span.mm-med-step', { testid: 'rp-step', text: st }) : null),
            h('div.mm-rp-body', drugs, meta || null, rawList(rp.raw)));
    }

    /* The Rps of an order: a taper's steps in the order of their start, the others as written. */
    function orderedRps(o) {
        var rps = arr(o.rps).map(function (rp, i) {
            return { rp: rp, i: i };
        });
        return rps.sort(function (a, b) {
            var sa = a.rp.step && a.rp.step.n ? str(a.rp.start) : '';
            var sb = b.rp.step && b.rp.step.n ? str(b.rp.start) : '';
            return sa && sb && sa !== sb ? (sa < sb ? -1 : 1) : a.i - b.i;
        });
    }

    /* ---- current medication ---- */

    /* the current_medication of a patient answer (top level, or inside the record) */
    function medsOf(answer) {
        if (!answer) {
            return null;
        }
        var cm = answer.current_medication || (answer.record && answer.record.current_medication);
        return cm && typeof cm === 'object' ? cm : null;
    }

    /* whether prescriptions or injections could not all be read */
    function medsIncomplete(rec) {
        return arr(rec && rec.read_failures).some(function (f) {
            return (f.failed > 0 || f.folders > 0) && (f.section === 'prescriptions' || f.section === 'injections' ||
                /^OMP-/.test(str(f.type)));
        });
    }

    function medItem(it) {
        var inj = it.kind === 'injection';
        var line = h('li.mm-med-item', {
            testid: 'current-med', 'data-kind': str(it.kind), 'data-code': str(it.code),
            'data-order-no': str(it.order_no), 'data-today': str(it.today), 'data-prn': it.prn ? 'true' : 'false'
        });
        var name = inj ? arr(it.drugs).map(function (d) {
            return (d.name || d.code) + (d.dose ? ' ' + qty(d.dose, d.unit) : '');
        }).join(' + ') : '';
        append(line, [
            flagParts(it.flags),
            h('strong.mm-med-name', { testid: 'med-name', text: name || it.name || it.code }),
            inj ? part('type', str(it.name) !== name ? str(it.name) : '', 'mm-med-type') : part('dose', doseText(it), 'mm-drug-dose'),
            part('usage', str(it.usage)),
            part('pattern', patternText(it.pattern), 'mm-med-pattern'),
            it.today === 'dose' ? part('today', t('med_today_dose'), 'mm-med-today-dose') :
                it.today === 'rest' ? part('today', t('med_today_rest'), 'mm-med-today-rest') : null,
            prnParts(it),
            part('times', arr(it.times).length ? t('med_times', arr(it.times).join(', ')) : ''),
            part('route', routeText(it)),
            part('site', it.site ? t('med_site', it.site) : ''),
            part('rate', str(it.rate) ? t('rate') + ': ' + it.rate + ' ' + str(it.rate_unit) : ''),
            part('days', daysText(it.days, '')),
            part('span', it.open_ended ? t('med_from', fmtDateTime(it.start)) + ' ' + t('med_open') :
                spanText(it.start, it.until ? (/T/.test(str(it.until)) ? it.until : dayBefore(it.until)) : '')),
            part('step', stepText(it.step), 'mm-med-step'),
            arr(it.instructions).length ? part('instructions', t('med_instructions', arr(it.instructions).join('、')), 'mm-med-instr') : null,
            part('who', [it.dept_name, it.doctor].filter(Boolean).join(' ')),
            part('order', it.order_no ? t('order_no') + ' ' + it.order_no + (it.rp ? ' ' + t('rp', it.rp) : '') : '', 'mm-muted')
        ]);
        return line;
    }

    /* The "as of" control: a date-time, the generation's time by default; says which is shown. */
    function asOfControl(cm, g) {
        var genT = g && g.time ? str(g.time).slice(0, 16) : '';
        var shown = str(cm && cm.as_of).slice(0, 16);
        var custom = !!(S.medsAsOf && S.medsAsOf !== genT);
        var input = h('input.mm-med-asof-input', {
            type: 'datetime-local', id: 'mm-med-asof', testid: 'meds-asof-input', value: shown || genT
        });
        var form = h('form.mm-med-asof.mm-no-print', {
            testid: 'meds-asof',
            on: {
                submit: function (ev) {
                    ev.preventDefault();
                    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(input.value.slice(0, 16))) {
                        loadMeds(input.value.slice(0, 16));
                    }
                }
            }
        },
            h('label', { 'for': 'mm-med-asof', text: t('med_asof_label') }), input,
            h('button.mm-btn', { type: 'submit', testid: 'meds-asof-apply' }, t('med_asof_apply')),
            custom ? h('button.mm-btn', {
                type: 'button', testid: 'meds-asof-reset',
                on: {
                    click: function () {
                        loadMeds(null);
                    }
                }
            }, t('med_asof_reset')) : null,
            h('span.mm-med-asof-state', {
                testid: 'meds-asof-state', 'data-custom': custom ? 'true' : 'false',
                text: custom ? t('med_asof_custom') : t('med_asof_gen', fmtDateTime(genT))
            }));
        return form;
    }

    /* Ask /api/patient again for the current medication as of @asOf (null: the generation's time). */
    function loadMeds(asOf) {
        var pid = S.pid;
        var gen = S.gen;
        S.medsAsOf = asOf;
        S.medsBusy = true;
        render();
        api('GET', '/api/patient?id=' + encodeURIComponent(pid) + (gen ? '&gen=' + encodeURIComponent(gen) : '') +
            (asOf ? '&as_of=' + encodeURIComponent(asOf) : ''))
            .then(function (j) {
                if (S.pid !== pid || S.gen !== gen || !S.patient) {
                    return;
                }
                S.medsBusy = false;
                S.patient.meds = medsOf(j);
                render();
            }, function (e) {
                if (apiFailed(e)) {
                    return;
                }
                S.medsBusy = false;
                S.medsError = errText(e);
                render();
            });
    }

    /* 「服用中・投与中の薬（<as_of> 時点）」: the first section under the patient band. */
    function secCurrentMeds(rec, cm, g, print) {
        var asOf = cm && cm.as_of ? fmtDateTime(cm.as_of) : g && g.time ? fmtDateTime(g.time) : '?';
        var box = h('section.mm-current-meds', { testid: 'current-meds', 'aria-label': t('med_title', asOf) },
            h('h2.mm-med-title', { testid: 'current-meds-title', text: t('med_title', asOf) }));
        if (!print) {
            box.appendChild(asOfControl(cm, g));
        }
        if (S.medsBusy && !print) {
            box.appendChild(h('p.mm-loading', { testid: 'meds-loading', text: t('loading') }));
        }
        if (S.medsError && !print) {
            box.appendChild(h('p.mm-error', { role: 'alert', text: S.medsError }));
            S.medsError = null;
        }
        if (!cm) {
            box.appendChild(h('p.mm-none', { testid: 'current-meds-missing', text: t('med_missing') }));
            return box;
        }
        var items = arr(cm.items);
        var und = arr(cm.undetermined);
        var incomplete = medsIncomplete(rec);
        if (items.length) {
            var ul = h('ul.mm-med-list', { testid: 'current-meds-list' });
            items.forEach(function (it) {
                ul.appendChild(medItem(it));
            });
            box.appendChild(ul);
        }
        if (und.length) {
            var ul2 = h('ul.mm-med-undetermined', { testid: 'meds-undetermined-list' });
            und.forEach(function (u) {
                ul2.appendChild(h('li', { testid: 'meds-undetermined', 'data-order-no': str(u.order_no) },
                    h('strong', { text: str(u.name) }), ' ',
                    h('span', { text: t('med_undetermined', str(u.reason)) }),
                    u.order_no ? h('span.mm-muted', { text: ' ' + t('order_no') + ' ' + u.order_no }) : null));
            });
            box.appendChild(ul2);
        }
        if (incomplete) {
            box.appendChild(h('p.mm-none.mm-none-failed', { testid: 'current-meds-incomplete', role: 'alert', text: t('med_incomplete') }));
        } else if (!items.length && !und.length) {
            box.appendChild(h('p.mm-none', { testid: 'current-meds-none', text: t('med_none') }));
        }
        return box;
    }

    /* ---- timeline ---- */

    function dayNum(d) {
        var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(str(d));
        return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86400000 : NaN;
    }

    function periodText(p) {
        var end = p.open_ended ? t('med_open') : p.until ? fmtDate(/T/.test(str(p.until)) ? p.until : dayBefore(p.until)) : '';
        return [t('med_range', fmtDate(p.start), end), qty(p.dose, p.unit), str(p.usage), patternText(p.pattern),
            p.prn ? t('med_prn') : '', p.status === 'current' ? t('med_now') : ''].filter(Boolean).join(' ');
    }

    /* One row per drug: a bar per period on a common date axis, and the same as text. */
    function secTimeline(cm) {
        var rows = arr(cm && cm.timeline);
        if (!rows.length) {
            return null;
        }
        var lo = Infinity;
        var hi = -Infinity;
        var asOf = dayNum(cm.as_of);
        rows.forEach(function (r) {
            arr(r.periods).forEach(function (p) {
                var a = dayNum(p.start);
                var b = p.until ? dayNum(p.until) : asOf + 1;
                if (!isNaN(a)) {
                    lo = Math.min(lo, a);
                    hi = Math.max(hi, isNaN(b) ? a + 1 : b);
                }
            });
        });
        if (!isFinite(lo)) { /* no period with a readable start: the text only */
            lo = isNaN(asOf) ? 0 : asOf;
            hi = lo + 1;
        }
        if (!isNaN(asOf)) {
            hi = Math.max(hi, asOf + 1);
        }
        var W = 400;
        var span = hi > lo ? hi - lo : 1;
        var x = function (d) {
            return Math.max(0, Math.min(W, (d - lo) / span * W));
        };
        var body = rows.map(function (r) {
            var g = svg('svg', { viewBox: '0 0 ' + W + ' 16', 'class': 'mm-tl-bars', 'aria-hidden': 'true', preserveAspectRatio: 'none' });
            var cur = false;
            arr(r.periods).forEach(function (p) {
                var a = dayNum(p.start);
                if (isNaN(a)) {
                    return;
                }
                var b = p.until ? dayNum(p.until) : asOf + 1;
                var now = p.status === 'current';
                cur = cur || now;
                g.appendChild(svg('rect', {
                    x: x(a), y: 3, width: Math.max(2, x(isNaN(b) ? a + 1 : b) - x(a)), height: 10,
                    'class': 'mm-tl-bar' + (now ? ' mm-tl-now' : '') + (p.prn ? ' mm-tl-prn' : '') + (p.pattern ? ' mm-tl-pattern' : '')
                }));
            });
            if (!isNaN(asOf)) {
                g.appendChild(svg('line', { x1: x(asOf), x2: x(asOf), y1: 0, y2: 16, 'class': 'mm-tl-asof' }));
            }
            var list = h('ul.mm-tl-periods');
            arr(r.periods).forEach(function (p) {
                list.appendChild(h('li', {
                    testid: 'timeline-period', 'data-status': str(p.status), 'data-start': str(p.start),
                    'class': p.status === 'current' ? 'mm-tl-period-now' : null, text: periodText(p)
                }));
            });
            return h('tr', { testid: 'timeline-row', 'data-code': str(r.code), 'data-current': cur ? 'true' : 'false' },
                h('th', { scope: 'row', text: (cur ? '● ' : '') + (r.name || r.code) }),
                h('td.mm-tl-graph', g),
                h('td', list));
        });
        return h('section.mm-timeline', { testid: 'med-timeline' },
            h('h3', { text: t('tl_title') }),
            h('p.mm-muted', { text: t('tl_axis', fmtDate(new Date(lo * 86400000).toISOString()), fmtDate(new Date((hi - 1) * 86400000).toISOString())) }),
            table('mm-tl-table', 'timeline-table', [t('col_drug'), t('tl_graph'), t('tl_periods')], body));
    }

    /* ---- what mamori did not interpret (patient-info tab) ---- */

    function secUninterpreted(rec) {
        var list = arr(rec.uninterpreted);
        var box = h('section.mm-uninterpreted', { testid: 'uninterpreted' }, h('h3', { text: t('unint_title') }));
        if (!list.length) { /* of what was read (unread files are said so above the tab) */
            box.appendChild(h('p.mm-none', { testid: 'uninterpreted-none', text: t('unint_none') }));
            return box;
        }
        var rows = [];
        list.forEach(function (m) {
            arr(m.fields).forEach(function (f) {
                rows.push(h('tr', { testid: 'uninterpreted-row', 'data-type': str(m.type), 'data-field': str(f.field) },
                    h('td', { text: typeName(m.type) }),
                    h('td.mm-mono', { text: fmtDateTime(m.file_time) }),
                    h('td.mm-mono', { text: str(f.field) }),
                    h('td.mm-raw', { text: str(f.text) })));
            });
        });
        box.appendChild(table('mm-unint-table', 'uninterpreted-table',
            [t('col_kind'), t('col_date'), t('unint_field'), t('unint_text')], rows));
        return box;
    }

    /* "OMP-02" → 注射オーダ (the code itself when not known) */
    function typeName(type) {
        return tcode('dtype_', str(type).slice(0, 6)) || str(type);
    }

    /* 「出典: 注射オーダ 2020-08-25」 (+ 「ほかに: 処方オーダ」) */
    function allergySource(a) {
        var s = a.source || {};
        var txt = s.type ? t('allergy_source', typeName(s.type), fmtDate(s.file_time)) : '';
        var also = arr(a.also_in).map(typeName).join('、');
        if (also) {
            txt += (txt ? ' ' : '') + t('allergy_also', also);
        }
        return txt ? h('span.mm-allergy-source', { testid: 'allergy-source', text: txt }) : null;
    }

    /* 「※ADT-00なし: 処方オーダ 2026-08-20 のPIDより」 when the identity is not from ADT-00 */
    function patientSource(p) {
        if (!p || !p.source || p.source === 'ADT-00') {
            return null;
        }
        return h('p.mm-patient-source', { testid: 'patient-source', role: 'note', 'data-source': str(p.source),
            text: t('patient_source', typeName(p.source), fmtDate(p.source_time)) });
    }

    /* ---------- read failures ---------- */

    /* The tab a data type's items are shown in. */
    function tabOfType(type, sectionName) {
        var ty = str(type);
        if (/^OML-01/.test(ty)) {
            return ['labs'];
        }
        if (/^OMG-0/.test(ty)) {
            return ['exams'];
        }
        switch (sectionName) {
        case 'encounters':
            return ['visits', 'admissions'];
        case 'diagnoses':
        case 'prescriptions':
        case 'injections':
        case 'labs':
        case 'exams':
            return [sectionName];
        case 'documents':
            return ['documents', 'images'];
        default:
            return ['profile']; /* patient, allergies, diet orders, unknown folders */
        }
    }

    /* The read failures of a record shown in tab @tab (@hard: only files left out or folders). */
    function failuresOf(rec, tab, hard) {
        return arr(rec && rec.read_failures).filter(function (f) {
            if (hard && !(f.failed > 0 || f.folders > 0)) {
                return false;
            }
            return tabOfType(f.type, f.section).indexOf(tab) >= 0;
        });
    }

    /* Ask once per patient and generation which other generation could help (screen only). */
    function loadRecovery(pid, gen, rec) {
        S.recovery = null;
        var failing = arr(rec.read_failures).some(function (f) {
            return f.failed > 0 || f.folders > 0;
        });
        if (!failing || S.print) {
            return;
        }
        S.recovery = { pid: pid, gen: gen, busy: true, help: {}, searched: 0 };
        api('GET', '/api/recovery?id=' + encodeURIComponent(pid) + (gen ? '&gen=' + encodeURIComponent(gen) : ''))
            .then(function (j) {
                if (!S.recovery || S.recovery.pid !== pid || S.recovery.gen !== gen) {
                    return;
                }
                S.recovery = { pid: pid, gen: gen, busy: false, help: j.help || {}, searched: j.searched || 0 };
                render();
            }, function (e) {
                if (apiFailed(e)) {
                    return;
                }
                if (S.recovery && S.recovery.pid === pid) {
                    S.recovery = { pid: pid, gen: gen, busy: false, help: {}, searched: 0, error: errText(e) };
                    render();
                }
            });
    }

    function typeLabel(f) {
        var n = lang === 'en' ? f.type_name_en : f.type_name;
        return n || (f.section === 'documents' ? t('tab_documents') : t('fail_other'));
    }

    /* What a generation that could help says, for one failed type. */
    function recoveryNote(f, print) {
        /* mamori print found it when writing the file; the screen asks /api/recovery */
        var r = print ? printRecovery : S.recovery;
        if (print && !r) {
            return h('p.mm-fail-help', { testid: 'fail-help', text: t('fail_help_print') });
        }
        if (!r || r.busy) {
            /* printed before the answer came: paper points to the screen */
            return h('p.mm-fail-help', { testid: 'fail-help', 'data-state': 'busy' },
                h('span.mm-screen-only', { text: t('fail_help_busy') }),
                h('span.mm-print-only', { text: t('fail_help_print') }));
        }
        var g = r.help[f.type];
        if (!g) {
            return h('p.mm-fail-help', { testid: 'fail-help', 'data-state': 'none', text: r.error || t('fail_help_none', r.searched) });
        }
        var known = genById(g.id);
        return h('p.mm-fail-help', { testid: 'fail-help', 'data-state': 'found', 'data-generation': g.id },
            h('span', { text: t('fail_help', known ? genLabel(known) : fmtDateTime(g.time) + ' (' + g.short + ')') }), ' ',
            print ? null : h('button.mm-btn', {
                type: 'button', testid: 'fail-help-open',
                on: {
                    click: function () {
                        changeGeneration(g.id);
                    }
                }
            }, t('fail_help_open')));
    }

    /*
     * Put what could not be read above a section: how many files of which kind, why, and
     * which generation could help. A section with failures never says "nothing recorded".
     */
    function withFailures(name, rec, print, body) {
        var fs = failuresOf(rec, name, false);
        if (!fs.length) {
            return body;
        }
        var hard = fs.filter(function (f) {
            return f.failed > 0 || f.folders > 0;
        });
        var box = h('div.mm-failures' + (hard.length ? '.mm-failures-hard' : ''), {
            testid: 'read-failures', role: hard.length ? 'alert' : 'status'
        });
        if (hard.length) {
            box.appendChild(h('h3.mm-fail-title', { text: '⚠ ' + t('fail_title') }));
        }
        fs.forEach(function (f) {
            var item = h('div.mm-failure', {
                testid: 'read-failure', 'data-type': f.type, 'data-failed': String(f.failed || 0),
                'data-folders': String(f.folders || 0), 'data-damaged': String(f.damaged || 0)
            });
            if (f.failed > 0) {
                item.appendChild(h('p', { testid: 'fail-files', text: t('fail_files', typeLabel(f), f.type, f.failed, f.files) }));
            }
            if (f.folders > 0) {
                item.appendChild(h('p', { testid: 'fail-folders', text: t('fail_folders', typeLabel(f), f.type, f.folders) }));
            }
            if (f.damaged > 0) {
                item.appendChild(h('p', { testid: 'fail-damaged', text: t('fail_damaged', typeLabel(f), f.type, f.damaged) }));
            }
            if (f.reason) {
                item.appendChild(h('p.mm-muted', { text: t('fail_reason', f.reason) }));
            }
            if (f.failed > 0 || f.folders > 0) {
                item.appendChild(recoveryNote(f, print));
            }
            box.appendChild(item);
        });
        var wrap = h('div.mm-section-with-failures', box);
        if (hard.length) {
            /* nothing read is not "nothing recorded" */
            var nones = body && body.getAttribute && body.getAttribute('data-testid') === 'none-recorded' ? [body] :
                Array.prototype.slice.call(body ? body.querySelectorAll('[data-testid=none-recorded]') : []);
            nones.forEach(function (el) {
                var repl = h('p.mm-none.mm-none-failed', { testid: 'none-failed', text: t('fail_none_here') });
                if (el === body) {
                    body = repl;
                } else {
                    el.parentNode.replaceChild(repl, el);
                }
            });
        }
        if (body) {
            wrap.appendChild(body);
        }
        return wrap;
    }

    /* ---------- labs ---------- */

    function flagInfo(flag) {
        var f = str(flag);
        if (f === 'H' || f === 'HH' || f === '>') {
            return { cls: 'mm-flag-h', mark: '↑' };
        }
        if (f === 'L' || f === 'LL' || f === '<') {
            return { cls: 'mm-flag-l', mark: '↓' };
        }
        if (f) {
            return { cls: 'mm-flag-other', mark: '' };
        }
        return null;
    }

    function labCell(c, code, time) {
        var td = h('td.mm-lab-cell', { testid: 'lab-cell', 'data-test': code, 'data-time': time });
        if (!c) {
            return td;
        }
        td.setAttribute('data-flag', str(c.flag));
        td.appendChild(h('span.mm-lab-value', { text: str(c.value) }));
        var fi = flagInfo(c.flag);
        if (fi) {
            td.classList.add(fi.cls);
            td.appendChild(h('span.mm-lab-flag', { text: ' ' + str(c.flag) + fi.mark }));
        }
        return td;
    }

    function timeHead(tm) {
        return h('th.mm-lab-time', { scope: 'col', 'data-time': tm },
            h('span.mm-lab-date', { text: fmtDate(tm) }), h('span.mm-lab-hm', { text: fmtTime(tm) }));
    }

    function secLabs(labs, print) {
        if (!labs || !arr(labs.tests).length || !arr(labs.times).length) {
            return none();
        }
        var times = labs.times;
        var box = h('div.mm-labs');
        /* screen: one matrix, newest at the right, scrolled to the newest on display */
        var headRow = h('tr',
            h('th.mm-sticky', { scope: 'col', text: t('col_test') }),
            h('th.mm-lab-unit', { scope: 'col', text: t('col_unit') }),
            h('th.mm-lab-range', { scope: 'col', text: t('col_range') }),
            times.map(timeHead));
        var body = h('tbody');
        labs.tests.forEach(function (test, r) {
            var row = arr(labs.cells[r]);
            var show = function () {
                S.chartTest = S.chartTest === r ? null : r;
                drawChart(box, labs);
            };
            body.appendChild(h('tr.mm-row-link', {
                testid: 'lab-row', 'data-test': test.code, tabindex: '0',
                'aria-label': t('chart_title', test.name),
                on: {
                    click: show,
                    keydown: function (ev) {
                        if (ev.key === 'Enter' || ev.key === ' ') {
                            ev.preventDefault();
                            show();
                        }
                    }
                }
            },
                h('th.mm-sticky.mm-lab-name', { scope: 'row', text: test.name || test.code }),
                h('td.mm-lab-unit', { text: str(test.unit) }),
                h('td.mm-lab-range', { text: str(test.range) }),
                times.map(function (tm, c) {
                    return labCell(row[c], test.code, tm);
                })));
        });
        var scroller = h('div.mm-lab-scroll.mm-screen-only', { testid: 'lab-scroll', tabindex: '0' },
            h('table.mm-table.mm-lab-matrix', { testid: 'lab-matrix' }, h('thead', headRow), body));
        box.appendChild(h('p.mm-hint.mm-no-print', { text: t('labs_hint') }));
        box.appendChild(h('div.mm-chart-slot', { testid: 'lab-chart-slot' }));
        box.appendChild(scroller);
        if (!print) {
            window.requestAnimationFrame(function () {
                scroller.scrollLeft = scroller.scrollWidth;
            });
        }
        /* paper: the same matrix cut into tables of a few columns each, newest first */
        var per = 7;
        var paper = h('div.mm-print-only.mm-lab-print', { testid: 'lab-paper' });
        for (var c0 = times.length - 1; c0 >= 0; c0 -= per) {
            var cols = [];
            for (var c = c0; c > c0 - per && c >= 0; c--) {
                cols.push(c);
            }
            var pbody = h('tbody');
            labs.tests.forEach(function (test, r) {
                var row = arr(labs.cells[r]);
                if (!cols.some(function (c2) {
                    return row[c2];
                })) {
                    return;
                }
                pbody.appendChild(h('tr',
                    h('th', { scope: 'row', text: test.name || test.code }),
                    h('td.mm-lab-unit', { text: str(test.unit) }),
                    h('td.mm-lab-range', { text: str(test.range) }),
                    cols.map(function (c2) {
                        var td = labCell(row[c2], test.code, times[c2]);
                        td.removeAttribute('data-testid');
                        return td;
                    })));
            });
            paper.appendChild(h('table.mm-table.mm-lab-matrix.mm-lab-paper',
                h('thead', h('tr',
                    h('th', { scope: 'col', text: t('col_test') }),
                    h('th', { scope: 'col', text: t('col_unit') }),
                    h('th', { scope: 'col', text: t('col_range') }),
                    cols.map(function (c2) {
                        return timeHead(times[c2]);
                    }))),
                pbody));
        }
        box.appendChild(paper);
        if (S.chartTest !== null && !print) {
            drawChart(box, labs);
        }
        return box;
    }

    function num(v) {
        var s = str(v).trim().replace(/^[<>≦≧=]+/, '');
        if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(s)) {
            return NaN;
        }
        return Number(s);
    }

    function drawChart(box, labs) {
        var slot = box.querySelector('.mm-chart-slot');
        clear(slot);
        var rows = box.querySelectorAll('[data-testid=lab-row]');
        for (var i = 0; i < rows.length; i++) {
            rows[i].classList.toggle('mm-row-selected', i === S.chartTest);
            rows[i].setAttribute('aria-expanded', i === S.chartTest ? 'true' : 'false');
        }
        if (S.chartTest === null || !labs.tests[S.chartTest]) {
            return;
        }
        var test = labs.tests[S.chartTest];
        var row = arr(labs.cells[S.chartTest]);
        var pts = [];
        labs.times.forEach(function (tm, c) {
            var v = row[c] ? num(row[c].value) : NaN;
            if (!isNaN(v)) {
                pts.push({ t: Date.parse(fmtDate(tm) + 'T' + (fmtTime(tm) || '00:00') + ':00Z'), v: v, c: row[c], tm: tm });
            }
        });
        var fig = h('figure.mm-chart', { testid: 'lab-chart', 'data-test': test.code },
            h('figcaption',
                h('strong', { text: t('chart_title', test.name) }),
                test.unit ? h('span.mm-muted', { text: ' (' + test.unit + ')' }) : null,
                test.range ? h('span.mm-muted', { text: ' ' + t('col_range') + ' ' + test.range }) : null,
                h('button.mm-btn.mm-btn-small', {
                    type: 'button', testid: 'chart-close',
                    on: {
                        click: function () {
                            S.chartTest = null;
                            drawChart(box, labs);
                        }
                    }
                }, '× ' + t('chart_close'))));
        if (!pts.length) {
            fig.appendChild(h('p', { text: t('chart_none') }));
            slot.appendChild(fig);
            return;
        }
        var W = 720;
        var H = 240;
        var L = 56;
        var R = 16;
        var T = 14;
        var B = 40;
        var rng = /^\s*(-?\d+\.?\d*)\s*[-–〜~]\s*(-?\d+\.?\d*)\s*$/.exec(str(test.range));
        var lo = Math.min.apply(null, pts.map(function (p) {
            return p.v;
        }));
        var hi = Math.max.apply(null, pts.map(function (p) {
            return p.v;
        }));
        if (rng) {
            lo = Math.min(lo, Number(rng[1]));
            hi = Math.max(hi, Number(rng[2]));
        }
        if (hi === lo) {
            hi += Math.abs(hi) * 0.1 || 1;
            lo -= Math.abs(lo) * 0.1 || 1;
        }
        var pad = (hi - lo) * 0.08;
        lo -= pad;
        hi += pad;
        var t0 = pts[0].t;
        var t1 = pts[pts.length - 1].t;
        var x = function (tt) {
            return t1 === t0 ? L + (W - L - R) / 2 : L + (tt - t0) / (t1 - t0) * (W - L - R);
        };
        var y = function (v) {
            return T + (hi - v) / (hi - lo) * (H - T - B);
        };
        var s = svg('svg', {
            viewBox: '0 0 ' + W + ' ' + H, 'class': 'mm-chart-svg', role: 'img',
            'aria-label': t('chart_title', test.name), 'data-testid': 'lab-chart-svg'
        });
        if (rng) {
            s.appendChild(svg('rect', {
                x: L, y: y(Number(rng[2])), width: W - L - R,
                height: Math.max(1, y(Number(rng[1])) - y(Number(rng[2]))),
                'class': 'mm-chart-band', 'data-testid': 'lab-chart-band'
            }));
        }
        for (var k = 0; k <= 4; k++) {
            var v = lo + (hi - lo) * k / 4;
            s.appendChild(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), 'class': 'mm-chart-grid' }));
            s.appendChild(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', 'class': 'mm-chart-label' },
                String(Math.round(v * 100) / 100)));
        }
        var d = pts.map(function (p, j) {
            return (j ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(p.v).toFixed(1);
        }).join(' ');
        s.appendChild(svg('path', { d: d, 'class': 'mm-chart-line' }));
        var lastLabel = -1e9;
        var lastX = x(pts[pts.length - 1].t);
        pts.forEach(function (p, j) {
            var fi = flagInfo(p.c.flag);
            var dot = svg('circle', {
                cx: x(p.t), cy: y(p.v), r: 5,
                'class': 'mm-chart-dot' + (fi ? ' ' + fi.cls : ''), 'data-testid': 'lab-chart-point',
                'data-time': p.tm, 'data-value': p.c.value
            });
            dot.appendChild(svg('title', {}, fmtDateTime(p.tm) + '  ' + p.c.value + ' ' + str(p.c.flag)));
            s.appendChild(dot);
            /* date labels at least 80 px apart; the newest one always, flush right */
            var px = x(p.t);
            var isLast = j === pts.length - 1;
            if ((px - lastLabel >= 80 && lastX - px >= 80) || isLast) {
                lastLabel = px;
                s.appendChild(svg('text', {
                    x: px, y: H - 14, 'text-anchor': isLast && pts.length > 1 ? 'end' : j === 0 ? 'start' : 'middle',
                    'class': 'mm-chart-label'
                }, fmtDate(p.tm)));
            }
        });
        fig.appendChild(s);
        slot.appendChild(fig);
        if (fig.scrollIntoView) {
            fig.scrollIntoView({ block: 'nearest' });
        }
    }

    /* ---------- exams, documents, images ---------- */

    function secExams(rec) {
        var list = arr(rec.exams).slice().sort(function (a, b) {
            return cmpDesc(str(a.performed_at), str(b.performed_at));
        });
        if (!list.length) {
            return none();
        }
        var box = h('div.mm-exams');
        list.forEach(function (e) {
            box.appendChild(h('article.mm-exam', { testid: 'exam', 'data-order': e.order_no },
                h('header',
                    h('strong', { text: fmtDateTime(e.performed_at) }), ' ',
                    h('span.mm-tag', { text: tcode('exam_kind_', e.kind) }), ' ',
                    h('span.mm-strong', { text: str(e.name) })),
                e.findings ? h('p.mm-findings', { text: e.findings }) : h('p.mm-muted', { text: t('no_findings') })));
        });
        return box;
    }

    function fileUrl(path) {
        return '/api/file?id=' + encodeURIComponent(S.pid) + (S.gen ? '&gen=' + encodeURIComponent(S.gen) : '') +
            '&path=' + encodeURIComponent(path);
    }

    function secDocuments(rec, print) {
        var list = arr(rec.documents).slice().sort(function (a, b) {
            return cmpDesc(str(a.date) + str(a.folder), str(b.date) + str(b.folder));
        });
        if (!list.length) {
            return none();
        }
        var box = h('div.mm-docs');
        var viewer = h('div.mm-doc-viewer', { testid: 'doc-viewer', hidden: true });
        var rows = list.map(function (d) {
            var files = arr(d.files);
            var actions = h('td.mm-no-print');
            if (!print) {
                files.forEach(function (f) {
                    var path = d.folder + '/' + f;
                    actions.appendChild(h('button.mm-btn.mm-btn-small', {
                        type: 'button', testid: 'doc-open', 'data-path': path,
                        'aria-label': t('open') + ': ' + str(d.title) + ' ' + f,
                        on: {
                            click: function () {
                                showDoc(viewer, d, f, path);
                            }
                        }
                    }, t('open') + (files.length > 1 ? ' ' + f : '')));
                });
            }
            return h('tr', { testid: 'doc-row', 'data-date': d.date, 'data-code': d.code },
                h('td.mm-mono', { text: fmtDate(d.date) }),
                h('td.mm-strong', { 'data-col': 'title', text: str(d.title) }),
                h('td.mm-mono', { text: str(d.code) }),
                h('td.mm-files', { text: files.join(', ') }),
                actions);
        });
        box.appendChild(table('mm-docs-table', 'doc-table',
            [t('col_date'), t('col_title'), t('col_code'), t('col_files'), ''], rows));
        box.appendChild(viewer);
        if (!print) {
            box.appendChild(h('div.mm-print-only.mm-doc-texts', { testid: 'doc-texts' }));
        } else if (printFiles) {
            /* mamori print: the texts came inside the file */
            var texts = h('div.mm-doc-texts', { testid: 'doc-texts' }, h('h3', { text: t('doc_texts') }));
            list.forEach(function (d) {
                arr(d.files).filter(isCdaFile).forEach(function (f) {
                    var xml = printFiles[d.folder + '/' + f];
                    if (typeof xml !== 'string') {
                        return;
                    }
                    var v = cdaView(xml);
                    texts.appendChild(h('article.mm-doc-text', { testid: 'doc-text', 'data-path': d.folder + '/' + f },
                        h('h4', { text: fmtDate(d.date) + ' ' + str(d.title) }),
                        v.el || h('pre.mm-cda-raw', { text: xml })));
                });
            });
            if (texts.childNodes.length > 1) {
                box.appendChild(texts);
            }
        }
        return box;
    }

    function isCdaFile(f) {
        return /\.xml$/i.test(f);
    }

    /* The text of a stored file (a CDA document) through the API. */
    function fetchText(path) {
        return window.fetch(fileUrl(path), { credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
            if (res.status === 401) {
                sessionGone('session_expired');
                throw new ApiError(401, {});
            }
            if (!res.ok) {
                throw new ApiError(res.status, {});
            }
            return res.text();
        });
    }

    /*
     * A CDA document as text only. The XML is read by the small parser below into plain
     * objects (never DOM nodes: the browser's XML parser would make live HTML elements of
     * anything in the XHTML namespace, e.g. an <img onerror=...>, even in a detached
     * document); only their text is copied into elements this file creates. No XSLT, no
     * processing instruction obeyed, nothing fetched; a DOCTYPE (and so any entity
     * declaration) is refused: the document is then shown as its source. Element names are
     * matched by local name, so the HL7 namespace (or none) does not matter.
     */
    var CDA_NEST_MAX = 40;
    var XML_DEPTH_MAX = 256;

    /* Well-formed XML → {localName, attrs, childNodes: [element | {text}]} or throws. */
    function parseXml(src) {
        var root = { localName: '#root', attrs: {}, childNodes: [] };
        var stack = [root];
        var i = 0;
        var n = src.length;
        var fail = function (why) {
            throw new Error('xml: ' + why);
        };
        var ents = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
        var decode = function (x) {
            return x.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);|&/g, function (m, e) {
                if (!e) {
                    fail('entity');
                }
                if (e.charAt(0) !== '#') {
                    return ents[e];
                }
                var c = e.charAt(1) === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
                if (!(c > 0 && c <= 0x10FFFF) || (c >= 0xD800 && c <= 0xDFFF)) {
                    fail('character reference');
                }
                return String.fromCodePoint(c);
            });
        };
        var addText = function (x) {
            var top = stack[stack.length - 1];
            if (top === root) {
                if (x.trim()) {
                    fail('text outside the root');
                }
                return;
            }
            top.childNodes.push({ text: x });
        };
        var attrRe = /\s+([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;
        var endRe = /\s*(\/?)>/y;
        var nameRe = /<([A-Za-z_][\w.:-]*)/y;
        while (i < n) {
            var lt = src.indexOf('<', i);
            if (lt < 0) {
                lt = n;
            }
            if (lt > i) {
                addText(decode(src.slice(i, lt)));
            }
            if (lt >= n) {
                break;
            }
            var e;
            if (src.startsWith('<!--', lt)) {
                e = src.indexOf('-->', lt + 4);
                i = e < 0 ? fail('comment') : e + 3;
            } else if (src.startsWith('<![CDATA[', lt)) {
                e = src.indexOf(']]>', lt + 9);
                if (e < 0) {
                    fail('CDATA');
                }
                addText(src.slice(lt + 9, e));
                i = e + 3;
            } else if (src.startsWith('<?', lt)) {
                e = src.indexOf('?>', lt + 2); /* the XML declaration, a stylesheet PI: ignored */
                i = e < 0 ? fail('PI') : e + 2;
            } else if (src.startsWith('<!', lt)) {
                fail('declaration'); /* DOCTYPE, ENTITY: never */
            } else if (src.charAt(lt + 1) === '/') {
                e = src.indexOf('>', lt);
                var top = stack.pop();
                if (e < 0 || stack.length === 0 || top.qname !== src.slice(lt + 2, e).trim()) {
                    fail('end tag');
                }
                i = e + 1;
            } else {
                nameRe.lastIndex = lt;
                var m = nameRe.exec(src);
                if (!m) {
                    fail('tag');
                }
                var q = m[1];
                var el = { qname: q, localName: q.slice(q.indexOf(':') + 1), attrs: {}, childNodes: [] };
                var at = nameRe.lastIndex;
                var a;
                attrRe.lastIndex = at;
                while ((a = attrRe.exec(src))) {
                    var an = a[1].slice(a[1].indexOf(':') + 1);
                    el.attrs[an] = decode(a[2] !== undefined ? a[2] : a[3]);
                    at = attrRe.lastIndex;
                }
                endRe.lastIndex = at;
                var end = endRe.exec(src);
                if (!end) {
                    fail('tag end');
                }
                var parent = stack[stack.length - 1];
                if (parent === root && root.childNodes.length) {
                    fail('two roots');
                }
                parent.childNodes.push(el);
                if (!end[1]) {
                    stack.push(el);
                    if (stack.length > XML_DEPTH_MAX) {
                        fail('too deep');
                    }
                }
                i = endRe.lastIndex;
            }
        }
        if (stack.length !== 1 || root.childNodes.length !== 1) {
            fail('unclosed');
        }
        return root.childNodes[0];
    }

    function cdaView(xml) {
        var out = h('div.mm-cda', { testid: 'cda-text', lang: 'ja' });
        if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
            return { el: null, why: t('cda_raw_only') };
        }
        var d;
        try {
            d = parseXml(xml);
        } catch (e) {
            return { el: null, why: t('cda_bad') };
        }
        var kids = function (el, name) {
            return el.childNodes.filter(function (c) {
                return c.localName && (!name || c.localName === name);
            });
        };
        var one = function (el, name) {
            return kids(el, name)[0] || null;
        };
        var textOf = function (el) {
            return el.text !== undefined ? el.text : el.childNodes.map(textOf).join('');
        };
        var txt = function (el) {
            return el ? norm(textOf(el)) : '';
        };
        var find = function (el, name) { /* the first descendant named so */
            var k = kids(el);
            for (var j = 0; j < k.length; j++) {
                var f = k[j].localName === name ? k[j] : find(k[j], name);
                if (f) {
                    return f;
                }
            }
            return null;
        };
        var title = txt(one(d, 'title'));
        if (title) {
            out.appendChild(h('h3.mm-cda-title', { text: title }));
        }
        var eff = one(d, 'effectiveTime');
        var author = one(d, 'author');
        var who = author ? txt(find(author, 'name')) : '';
        if ((eff && eff.attrs.value) || who) {
            out.appendChild(h('p.mm-cda-meta',
                eff && eff.attrs.value ? fmtDateTime(eff.attrs.value) : null,
                who ? ' ' + t('cda_author') + ': ' + who : null));
        }
        /* the narrative block of a section: paragraphs, lists, tables, line breaks */
        var narrative = function (el, depth) {
            var frag = [];
            if (depth > CDA_NEST_MAX) {
                return [txt(el)];
            }
            el.childNodes.forEach(function (n) {
                if (n.text !== undefined) {
                    if (n.text.trim()) {
                        frag.push(n.text);
                    }
                    return;
                }
                switch (n.localName) {
                case 'paragraph':
                    frag.push(h('p.mm-cda-p', narrative(n, depth + 1)));
                    break;
                case 'br':
                    frag.push(h('br'));
                    break;
                case 'list':
                    frag.push(h(n.attrs.listType === 'ordered' ? 'ol.mm-cda-list' : 'ul.mm-cda-list',
                        kids(n, 'item').map(function (it) {
                            return h('li', narrative(it, depth + 1));
                        })));
                    break;
                case 'table':
                    frag.push(cdaTable(n, depth));
                    break;
                case 'caption':
                    frag.push(h('p.mm-cda-caption', { text: txt(n) }));
                    break;
                case 'renderMultiMedia':
                case 'footnoteRef':
                    break; /* references to things this viewer does not fetch */
                default: /* content, sub, sup, footnote, linkHtml: their text */
                    frag.push(h('span', narrative(n, depth + 1)));
                }
            });
            return frag;
        };
        var cdaTable = function (tb, depth) {
            var rows = [];
            var walk = function (el) {
                kids(el).forEach(function (c) {
                    if (c.localName === 'tr') {
                        rows.push(h('tr', kids(c).filter(function (x) {
                            return x.localName === 'th' || x.localName === 'td';
                        }).map(function (x) {
                            return h(x.localName, narrative(x, depth + 2));
                        })));
                    } else if (c.localName === 'thead' || c.localName === 'tbody' || c.localName === 'tfoot') {
                        walk(c);
                    }
                });
            };
            walk(tb);
            var cap = one(tb, 'caption');
            return h('table.mm-table.mm-cda-table', cap ? h('caption', { text: txt(cap) }) : null, h('tbody', rows));
        };
        var sectionOf = function (sec, depth) {
            var box = h('section.mm-cda-section', { testid: 'cda-section' });
            var st = txt(one(sec, 'title'));
            if (st) {
                box.appendChild(h(depth > 0 ? 'h5.mm-cda-section-title' : 'h4.mm-cda-section-title', {
                    testid: 'cda-section-title', text: st
                }));
            }
            var body = one(sec, 'text');
            if (body) {
                box.appendChild(h('div.mm-cda-body', narrative(body, 0)));
            }
            if (depth < CDA_NEST_MAX) {
                kids(sec, 'component').forEach(function (c) {
                    var sub = one(c, 'section');
                    if (sub) {
                        box.appendChild(sectionOf(sub, depth + 1));
                    }
                });
            }
            return box;
        };
        var body = one(one(d, 'component') || d, 'structuredBody');
        var n = 0;
        if (body) {
            kids(body, 'component').forEach(function (c) {
                var sec = one(c, 'section');
                if (sec) {
                    out.appendChild(sectionOf(sec, 0));
                    n++;
                }
            });
        }
        var nb = body ? null : one(one(d, 'component') || d, 'nonXMLBody');
        if (!n && nb) {
            out.appendChild(h('pre.mm-cda-plain', { text: txt(one(nb, 'text')) }));
            n++;
        }
        if (!n) {
            return { el: null, why: t('cda_bad') };
        }
        return { el: out, why: null };
    }

    function norm(s) {
        return String(s || '').replace(/\s+/g, ' ').trim();
    }

    /* The CDA document's text, with its XML source one click away. */
    function cdaBox(xml) {
        var v = cdaView(xml);
        var raw = h('pre.mm-cda-raw', { testid: 'cda-raw', text: xml, hidden: !!v.el });
        if (!v.el) {
            return h('div.mm-cda-wrap', h('p.mm-notice', { testid: 'cda-notice', text: v.why }), raw);
        }
        var btn = h('button.mm-btn.mm-btn-small.mm-no-print', {
            type: 'button', testid: 'cda-toggle', 'aria-pressed': 'false',
            on: {
                click: function () {
                    var showRaw = raw.hidden;
                    raw.hidden = !showRaw;
                    v.el.hidden = showRaw;
                    btn.textContent = showRaw ? t('cda_show_text') : t('cda_show_xml');
                    btn.setAttribute('aria-pressed', showRaw ? 'true' : 'false');
                }
            }
        }, t('cda_show_xml'));
        return h('div.mm-cda-wrap', btn, v.el, raw);
    }

    /*
     * Before printing: the text of every CDA document under its row on paper, and the image
     * thumbnails loaded (they load lazily on screen). Resolves when ready, even if some failed.
     */
    function preparePrint() {
        if (!S.patient) {
            return Promise.resolve();
        }
        var rec = S.patient.record;
        var pid = S.pid;
        var jobs = [];
        var texts = root.querySelector('[data-testid=doc-texts]');
        if (texts && !texts.getAttribute('data-ready')) {
            clear(texts);
            texts.appendChild(h('h3', { text: t('doc_texts') }));
            arr(rec.documents).slice().sort(function (a, b) {
                return cmpDesc(str(a.date) + str(a.folder), str(b.date) + str(b.folder));
            }).forEach(function (d) {
                arr(d.files).filter(isCdaFile).forEach(function (f) {
                    var slot = h('article.mm-doc-text', { testid: 'doc-text', 'data-path': d.folder + '/' + f },
                        h('h4', { text: fmtDate(d.date) + ' ' + str(d.title) }));
                    texts.appendChild(slot);
                    jobs.push(fetchText(d.folder + '/' + f).then(function (xml) {
                        var v = cdaView(xml);
                        slot.appendChild(v.el || h('pre.mm-cda-raw', { text: xml }));
                    }, function (e) {
                        slot.appendChild(h('p.mm-error', { text: t('cda_failed', errText(e)) }));
                    }));
                });
            });
        }
        var imgs = root.querySelectorAll('.mm-thumb img, img.mm-print-thumb');
        Array.prototype.forEach.call(imgs, function (im) {
            im.loading = 'eager';
            if (!im.complete) {
                jobs.push(new Promise(function (resolve) {
                    im.addEventListener('load', resolve);
                    im.addEventListener('error', resolve);
                }));
            }
        });
        return Promise.all(jobs).then(function () {
            if (texts && S.pid === pid) {
                texts.setAttribute('data-ready', '1');
            }
            root.setAttribute('data-print-ready', '1');
        });
    }

    function showDoc(viewer, d, f, path) {
        clear(viewer);
        var url = fileUrl(path);
        viewer.hidden = false;
        viewer.appendChild(h('div.mm-doc-bar',
            h('strong', { text: fmtDate(d.date) + ' ' + str(d.title) + ' — ' + f }),
            h('a.mm-btn.mm-btn-small', { href: url, target: '_blank', rel: 'noopener', text: t('open_new') }),
            h('button.mm-btn.mm-btn-small', {
                type: 'button', testid: 'doc-close',
                on: {
                    click: function () {
                        clear(viewer);
                        viewer.hidden = true;
                    }
                }
            }, '× ' + t('doc_close'))));
        if (isCdaFile(f)) {
            var slot = h('div.mm-doc-cda', { testid: 'doc-cda' }, h('p.mm-loading', { text: t('cda_loading') }));
            viewer.appendChild(slot);
            fetchText(path).then(function (xml) {
                clear(slot);
                slot.appendChild(cdaBox(xml));
            }, function (e) {
                clear(slot);
                slot.appendChild(h('p.mm-error', { role: 'alert', text: t('cda_failed', errText(e)) }));
            });
        } else if (isImageFile(f)) {
            viewer.appendChild(h('img.mm-doc-img', { src: url, alt: str(d.title), testid: 'doc-img' }));
        } else {
            viewer.appendChild(h('iframe.mm-doc-frame', {
                src: url, title: t('doc_viewer') + ': ' + str(d.title), testid: 'doc-frame',
                referrerpolicy: 'no-referrer'
            }));
        }
        viewer.scrollIntoView({ block: 'nearest' });
    }

    function isImageFile(f) {
        return /\.(jpe?g|png|gif|webp|bmp)$/i.test(f);
    }

    function secImages(rec, print) {
        var list = arr(rec.images).slice().sort(function (a, b) {
            return cmpDesc(str(a.date) + str(a.folder), str(b.date) + str(b.folder));
        });
        if (!list.length) {
            return none();
        }
        var box = h('div.mm-images');
        list.forEach(function (im) {
            var files = arr(im.files);
            var fig = h('section.mm-image-group', { testid: 'image-group', 'data-date': im.date, 'data-code': im.code },
                h('h3', { text: fmtDate(im.date) + ' ' + str(im.title) }));
            if (print) {
                fig.appendChild(h('p.mm-muted', { text: t('print_files_note', files.join(', ')) }));
                var pics = files.filter(function (f) {
                    var u = printFiles ? printFiles[im.folder + '/' + f] : null;
                    return typeof u === 'string' && /^data:image\/jpeg;base64,[A-Za-z0-9+\/=]+$/.test(u);
                });
                if (pics.length) {
                    fig.appendChild(h('div.mm-print-thumbs', pics.map(function (f) {
                        return h('img.mm-print-thumb', {
                            src: printFiles[im.folder + '/' + f], alt: fmtDate(im.date) + ' ' + str(im.title)
                        });
                    })));
                }
            } else {
                /* on paper: small pictures, not the buttons */
                fig.appendChild(h('div.mm-print-only.mm-print-thumbs', files.filter(isImageFile).map(function (f) {
                    return h('img.mm-print-thumb', {
                        src: fileUrl(im.folder + '/' + f), alt: fmtDate(im.date) + ' ' + str(im.title), loading: 'lazy'
                    });
                })));
                var grid = h('div.mm-thumbs');
                files.forEach(function (f) {
                    var path = im.folder + '/' + f;
                    var url = fileUrl(path);
                    if (!isImageFile(f)) {
                        grid.appendChild(h('a.mm-btn.mm-btn-small', { href: url, target: '_blank', rel: 'noopener', text: f }));
                        return;
                    }
                    grid.appendChild(h('button.mm-thumb', {
                        type: 'button', testid: 'image-thumb', 'data-path': path,
                        'aria-label': t('image_open', fmtDate(im.date), str(im.title)),
                        on: {
                            click: function (ev) {
                                openOverlay(url, fmtDate(im.date) + ' ' + str(im.title) + ' — ' + f, ev.currentTarget);
                            }
                        }
                    }, h('img', { src: url, alt: fmtDate(im.date) + ' ' + str(im.title), loading: 'lazy' }),
                    h('span.mm-thumb-cap', { text: f })));
                });
                fig.appendChild(grid);
            }
            box.appendChild(fig);
        });
        return box;
    }

    var overlay = null;
    var overlayReturn = null;

    function openOverlay(url, caption, from) {
        closeOverlay();
        overlayReturn = from || null;
        var close = h('button.mm-btn.mm-overlay-close', {
            type: 'button', testid: 'overlay-close', 'aria-label': t('overlay_close'),
            on: {
                click: closeOverlay
            }
        }, '×');
        overlay = h('div.mm-overlay', {
            role: 'dialog', 'aria-modal': 'true', 'aria-label': caption, testid: 'image-overlay',
            on: {
                click: function (ev) {
                    if (ev.target === overlay) {
                        closeOverlay();
                    }
                },
                keydown: function (ev) {
                    if (ev.key === 'Tab') {
                        ev.preventDefault();
                        close.focus();
                    }
                }
            }
        },
            h('div.mm-overlay-bar', h('span', { text: caption }), close),
            h('img.mm-overlay-img', { src: url, alt: caption, testid: 'overlay-image' }));
        document.body.appendChild(overlay);
        close.focus();
    }

    function closeOverlay() {
        if (!overlay) {
            return;
        }
        overlay.parentNode.removeChild(overlay);
        overlay = null;
        if (overlayReturn && overlayReturn.isConnected) {
            overlayReturn.focus();
        }
        overlayReturn = null;
    }

    /* ---------- frame ---------- */

    function langSwitch() {
        var mk = function (code, label) {
            return h('button.mm-lang-btn', {
                type: 'button', lang: code, testid: 'lang-' + code, 'aria-pressed': lang === code ? 'true' : 'false',
                on: {
                    click: function () {
                        setLang(code);
                    }
                }
            }, label);
        };
        return h('div.mm-lang.mm-no-print', { role: 'group', 'aria-label': t('lang_label') },
            mk('ja', '日本語'), mk('en', 'English'));
    }

    function setLang(code) {
        lang = code;
        try {
            window.localStorage.setItem(LANG_KEY, code);
        } catch (e) {
            /* not kept: fine */
        }
        if (S.print) {
            renderPrint();
        } else {
            render();
        }
    }

    function topbar() {
        var right = h('div.mm-topbar-right');
        if (S.user) {
            if (S.gens.length) {
                var sel = h('select.mm-gen-select', {
                    id: 'mm-gen', testid: 'generation-select',
                    on: {
                        change: function (ev) {
                            changeGeneration(ev.target.value);
                        }
                    }
                });
                S.gens.forEach(function (g) {
                    var o = h('option', { value: g.id, text: genLabel(g) });
                    if (g.id === S.gen) {
                        o.selected = true;
                    }
                    sel.appendChild(o);
                });
                right.appendChild(h('div.mm-gen',
                    h('label', { 'for': 'mm-gen', text: t('gen_label') }), sel));
            }
            right.appendChild(h('span.mm-user', { testid: 'current-user', text: t('logged_in_as', S.user) }));
            right.appendChild(h('button.mm-btn.mm-btn-logout', {
                type: 'button', testid: 'logout-button',
                on: {
                    click: function () {
                        api('POST', '/api/logout', {}).then(function () {
                            sessionGone('logged_out');
                        }, function (e) {
                            if (!apiFailed(e)) {
                                sessionGone('logged_out');
                            }
                        });
                    }
                }
            }, t('logout')));
        }
        right.appendChild(langSwitch());
        return h('header.mm-topbar.mm-no-print', { testid: 'topbar' },
            h('div.mm-brand', h('span.mm-logo', { 'aria-hidden': 'true' }),
                h('div', h('h1', { text: t('app_title') }), h('p.mm-sub', { text: t('app_sub') }))),
            right);
    }

    function render() {
        if (!root) {
            return;
        }
        document.documentElement.lang = lang;
        document.title = (S.view === 'patient' && S.patient && S.patient.record.patient ?
            S.patient.record.patient.name + ' — ' : '') + t('app_title');
        var scrollY = window.scrollY;
        /* what the reader is typing survives a re-render (e.g. results of an earlier search) */
        var prevInput = root.querySelector('[data-testid=search-input]');
        var typed = prevInput && prevInput.value !== S.query ? prevInput.value : null;
        var typing = prevInput && prevInput === document.activeElement;
        clear(root);
        root.appendChild(topbar());
        if (S.user) {
            append(root, h('div.mm-banners', { testid: 'banners' }, banners(genById(S.gen))));
        }
        if (S.view === 'login' || !S.user) {
            root.appendChild(viewLogin());
        } else if (S.view === 'patient') {
            root.appendChild(viewPatient());
            window.scrollTo(0, scrollY);
        } else if (S.view === 'wards') {
            root.appendChild(viewWards());
        } else {
            root.appendChild(viewSearch());
            var input = root.querySelector('[data-testid=search-input]');
            if (input && typed !== null) {
                input.value = typed;
            }
            if (input && typing) {
                input.focus();
            }
        }
    }

    /* ---------- print mode (mamori print) ---------- */

    function renderPrint() {
        var data = S.print;
        document.documentElement.lang = lang;
        var g = data.generation || null;
        if (data.title) {
            document.title = data.title;
        }
        clear(root);
        root.classList.add('mm-print-doc');
        root.appendChild(h('div.mm-print-tools.mm-no-print',
            h('button.mm-btn.mm-btn-primary', {
                type: 'button', testid: 'print-button',
                on: {
                    click: function () {
                        window.print();
                    }
                }
            }, t('print')), langSwitch()));
        var pts = arr(data.patients);
        var head = h('header.mm-print-title', { testid: 'print-title' },
            h('h1', { text: str(data.title) || t('print_title') }),
            h('p',
                data.generated_at ? h('span', { text: t('print_generated', fmtDateTime(data.generated_at)) }) : null,
                g ? h('span', { text: t('print_as_of', genLabel(g)) }) : null,
                h('span', { text: t('print_patients', pts.length) })));
        root.appendChild(head);
        append(root, banners(g));
        pts.forEach(function (p, i) {
            var rec = p.record || {};
            printFiles = p.files && typeof p.files === 'object' ? p.files : null;
            printRecovery = p.recovery && typeof p.recovery === 'object' ?
                { help: p.recovery.help || {}, searched: p.recovery.searched || 0 } : null;
            var sec = h('article.mm-print-patient', { testid: 'print-patient', 'data-pid': rec.patient ? rec.patient.id : '' });
            if (i > 0) {
                sec.classList.add('mm-page-break');
            }
            var body = h('div.mm-frame-content');
            body.appendChild(patientHeader(rec));
            medsShown = medsOf(p);
            body.appendChild(secCurrentMeds(rec, medsShown, g, true));
            TABS.forEach(function (name) {
                body.appendChild(h('section.mm-panel.mm-print-section', { testid: 'panel-' + name },
                    h('h2.mm-panel-title', { text: t('tab_' + name) }), section(name, rec, p.labs, true)));
            });
            sec.appendChild(frame(rec, g, body));
            root.appendChild(sec);
        });
        printFiles = null;
        printRecovery = null;
        medsShown = null;
    }

    /* ---------- start ---------- */

    function start() {
        root = document.getElementById('mm-app');
        if (!root) {
            root = h('div.mm-app', { id: 'mm-app', testid: 'app' });
            document.body.appendChild(root);
        }
        document.addEventListener('keydown', function (ev) {
            if (ev.key === 'Escape' && overlay) {
                ev.preventDefault();
                closeOverlay();
            }
        });
        var pd = document.getElementById('mm-print-data');
        if (pd) {
            try {
                S.print = JSON.parse(pd.textContent || '{}');
            } catch (e) {
                S.print = { title: 'mamori', patients: [] };
                window.console.error('mm-print-data is not JSON', e);
            }
            document.body.classList.add('mm-printmode');
            renderPrint();
            return;
        }
        window.addEventListener('beforeprint', function () {
            var els = root.querySelectorAll('.mm-printed-at');
            for (var i = 0; i < els.length; i++) {
                els[i].textContent = t('printed_at', nowText());
            }
            /* Ctrl+P: the document texts start loading (the print button waits for them) */
            if (S.view === 'patient' && S.patient) {
                preparePrint();
            }
        });
        ['keydown', 'mousedown', 'wheel', 'touchstart'].forEach(function (ev) {
            document.addEventListener(ev, onActivity, { passive: true });
        });
        window.addEventListener('popstate', onPopState);
        render();
        api('GET', '/api/session').then(function (j) {
            S.user = j.user || '?';
            S.idle = Number(j.idle_timeout_s) || 0;
            S.view = 'search';
            return loadGenerations().then(function () {
                /* a reload keeps a ward screen; a patient's handle died with the old page */
                var w = /^#\/wards(?:\/(.+))?$/.exec(window.location.hash);
                if (w) {
                    showWards(w[1] ? decodeURIComponent(w[1]) : null, true);
                    return;
                }
                pushRoute(true);
                render();
            });
        }, function (e) {
            if (e instanceof ApiError && e.status === 401) {
                return; /* not logged in: the login form is shown already */
            }
            S.notice = null;
            render();
            var err = root.querySelector('[data-testid=login-error]');
            if (err) {
                err.textContent = errText(e);
                err.hidden = false;
            }
        });
        armIdle();
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
}());
