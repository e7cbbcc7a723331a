// SPDX-License-Identifier: Apache-2.0
//
// The viewer's renderer (app.js, app.css from the source tree) fed a hand-written answer of the
// issue-15 contract's shape (docs/orders.md; the JSON mamori gives for the HL7 files of
// tests/data/orders/make.py), through the print mode app.js already has: a page with
// #mm-print-data renders it without any request. Checks the same things as orders.test.mjs
// (orders-checks.mjs) in Japanese, and the English strings; needs no mamori binary.
// Prints TAP; exits 1 when a check fails.
//
//   node tests/browser/orders-render.test.mjs      (optional: CHROMIUM, ARTIFACTS, KEEP_TMP)

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import {
    appJs, CHROMIUM, tid, norm, ok, note, makeRun, watch, shot, finish } from './common.mjs';
import { P1, P2, checkP1, checkP2 } from './orders-checks.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ASSETS = path.join(HERE, '..', '..', 'src', 'lib', 'viewer', 'assets');
const X = makeRun('mamori-orders-render', 'unused');
const t0 = Date.now();

// ---------- the answer: dates relative to today, as make.py writes them ----------

const today = new Date();
const day = (n) => new Date(Date.UTC(today.getFullYear(), today.getMonth(), today.getDate() + n)).toISOString().slice(0, 10);
const E = { today: day(0), rp1_start: day(-3), taper: [day(-4), day(-2), day(1)], every_other_start: day(-2), every_other_last: day(10),
    p2_source_date: day(-1), injection_start: day(0) };
const AS_OF = `${day(0)}T09:00`;

const rpBase = { usage: '', usage_code: '', pattern: null, times: [], days: '', days_unit: '', start: '', end: '',
    prn: false, condition: '', tq_text: '', total: '', route: 'PO', route_name: '口', site: '', device: '', method: '',
    step: null, raw: [] };
const drugBase = { code: '', name: '', system: 'HOT9', yj: '', dose: '1', dose_max: '', unit: '錠', unit_code: 'TAB',
    form: '錠剤', per_timing: [], daily_dose: '', daily_unit: '', dispense: '', dispense_unit: '錠', instructions: [],
    dispensing: ['外来処方'], class: '内服', class_code: '21', flags: [], rx_no: '', raw: [] };
const U3 = '内服・経口・１日３回朝昼夕食後';
const U1 = '内服・経口・１日１回朝食後';
const rp = (n, rpx, drug) => ({ ...rpBase, rp: String(n), ...rpx, drugs: [{ ...drugBase, ...drug }] });
const order = (no, date, rps, extra) => ({ kind: 'prescription', order_no: no, date, dept: '01', dept_name: '内科',
    doctor: '試験 医師', doctor_id: '1001', inpatient: false, raw: [], rps, ...extra });

const rx1 = order('100000000000001', day(-3), [
    rp(1, { usage: U3, days: '7', days_unit: 'D', start: day(-3) }, {
        code: '620000001', name: 'プレドニン錠５ｍｇ', dose: '1', dose_max: '4', daily_dose: '7', daily_unit: '錠',
        dispense: '49', instructions: ['血圧低下が見られたら中止'],
        per_timing: [{ n: 1, label: '朝', dose: '4' }, { n: 2, label: '昼', dose: '2' }, { n: 3, label: '夕', dose: '1' }]
    }),
    rp(2, { usage: U1, days: '7', days_unit: 'D', start: day(-2),
        pattern: { kind: 'interval', code: 'I1100000', text: '隔日投与', on: 1, off: 1 } },
    { code: '620000002', name: 'ダーゼン錠', daily_dose: '1', dispense: '7' }),
    rp(3, { usage: U1, days: '4', days_unit: 'D', start: day(-7),
        pattern: { kind: 'weekdays', code: 'W0100100', text: '月曜日、木曜日', weekdays: [1, 4] } },
    { code: '620000003', name: 'アムロジピン錠５ｍｇ', daily_dose: '1', dispense: '4' }),
    rp(4, { usage: '内服・経口・頓用・疼痛時', start: day(-1), prn: true, condition: '疼痛時', tq_text: '1日2回まで', total: '10' },
        { code: '620000004', name: 'ロキソニン錠６０ｍｇ', dispense: '10', class: '頓用', class_code: '22' }),
    rp(5, { usage: U3, days: '7', days_unit: 'D', start: day(-3) }, {
        code: '620000005', name: '酸化マグネシウム錠３３０ｍｇ', daily_dose: '3', dispense: '21', dispensing: ['外来処方', '粉砕'],
        raw: [{ field: 'RXE-8', text: '^^^^^^^^^本館薬局' }]
    }),
    rp(6, { usage: '外用・塗布・１日２回', days: '14', days_unit: 'D', start: day(-3), route: 'AP', route_name: '外用', site: '左手' },
        { code: '620000006', name: 'ボルタレンゲル１％', unit: '本', dispense: '2', dispense_unit: '本', form: 'ゲル', class: '外用', class_code: '23' })
]);
const taper = order('100000000000002', day(-4), [[3, -4, 2], [2, -2, 3], [1, 1, 3]].map(([dose, st, days], i) =>
    rp(i + 1, { usage: U1, days: String(days), days_unit: 'D', start: day(st), step: { n: i + 1, of: 3 } },
        { code: '620000010', name: 'プレドニゾロン錠５ｍｇ', dose: String(dose), daily_dose: String(dose), dispense: String(dose * days) })));
const inj = {
    kind: 'injection', order_no: '200000000000001', date: day(0), dept: '01', dept_name: '内科', doctor: '試験 医師',
    doctor_id: '1001', inpatient: true, raw: [],
    rps: [{ ...rpBase, rp: '1', type_name: '一般', times: ['10:00', '22:00'], start: `${day(0)}T00:00`, end: `${day(1)}T23:59`,
        route: 'IV', route_name: '静脈内', site: '左手', rate: '102', rate_per: 'H1', rate_unit: 'ml/hr',
        instructions: ['血圧低下が見られたら中止'],
        drugs: [{ code: '630000001', name: 'ソルデム３Ａ輸液５００ｍＬ', system: 'HOT9', dose: '500', unit: 'mL', role: 'B' },
            { code: '630000002', name: 'アドナ注５０ｍｇ', system: 'HOT9', dose: '50', unit: 'mg', role: 'A' }] }]
};
const until = (start, n) => day(Math.round((Date.parse(start) - Date.parse(day(0))) / 86400000) + n);
const item = (o, r, extra) => {
    const d = r.drugs[0];
    return { kind: 'prescription', order_no: o.order_no, order_date: o.date, rp: r.rp, step: r.step, name: d.name, code: d.code,
        dose: d.dose, dose_max: d.dose_max, unit: d.unit, per_timing: d.per_timing, usage: r.usage, pattern: r.pattern,
        times: r.times, days: r.days, start: r.start, until: '', prn: r.prn, condition: r.condition, tq_text: r.tq_text,
        total: r.total, open_ended: false, today: '', route_name: r.route_name, site: r.site, rate: '', rate_unit: '',
        instructions: d.instructions, dept_name: o.dept_name, doctor: o.doctor, drugs: [], ...extra };
};
const R = rx1.rps;
const items = [
    item(rx1, R[0], { until: until(R[0].start, 7) }), /* an item has no daily_dose: 1日7錠 is the sum */
    item(rx1, R[1], { until: until(R[1].start, 13), today: 'dose' }),
    item(rx1, R[2], { until: until(R[2].start, 14), today: 'rest' }),
    item(rx1, R[3], { open_ended: true }),
    item(rx1, R[4], { until: until(R[4].start, 7) }),
    item(rx1, R[5], { until: until(R[5].start, 14) }),
    item(taper, taper.rps[1], { until: until(taper.rps[1].start, 3) }),
    { kind: 'injection', order_no: inj.order_no, order_date: inj.date, rp: '1', step: null, name: '一般', code: '',
        dose: '', dose_max: '', unit: '', per_timing: [], usage: '', pattern: null, times: ['10:00', '22:00'], days: '',
        start: inj.rps[0].start, until: inj.rps[0].end, prn: false, condition: '', tq_text: '', total: '', open_ended: false,
        today: '', route_name: '静脈内', site: '左手', rate: '102', rate_unit: 'ml/hr', instructions: [], dept_name: '内科',
        doctor: '試験 医師', drugs: inj.rps[0].drugs }
];
const period = (o, r, status, untilDay) => ({ kind: o.kind, order_no: o.order_no, rp: r.rp, start: r.start, until: untilDay,
    dose: r.drugs[0].dose, unit: r.drugs[0].unit, usage: r.usage, pattern: r.pattern, prn: r.prn, open_ended: !untilDay, status });
const timeline = [
    ...R.map((r, i) => ({ code: r.drugs[0].code, name: r.drugs[0].name, periods: [period(rx1, r, 'current', items[i].until)] })),
    { code: '620000010', name: 'プレドニゾロン錠５ｍｇ', periods: taper.rps.map((r, i) =>
        period(taper, r, i === 1 ? 'current' : i === 0 ? 'past' : 'future', until(r.start, Number(r.days)))) },
    { code: '', name: 'ソルデム３Ａ輸液５００ｍＬ', periods: [{ kind: 'injection', order_no: inj.order_no, rp: '1', start: inj.rps[0].start,
        until: inj.rps[0].end, dose: '500', unit: 'mL', usage: '', pattern: null, prn: false, open_ended: false, status: 'current' }] }
].sort((a, b) => (a.name < b.name ? -1 : 1));

const allergy = (code, name) => ({ status: 'current', type: 'EA', code, name, severity: '', reaction: '', onset: '',
    source: { type: 'OMP-02', file_time: `${day(0)}T00:05:00`, order_no: inj.order_no }, also_in: [] });
const record1 = {
    patient: { id: P1, name: '試験 一郎', kana: 'シケン イチロウ', birth_date: '1950-01-02', sex: 'M', address: '見本県見本市一丁目1番1号',
        phones: [], contacts: [], insurance: [], source: 'ADT-00', source_time: `${day(-30)}T09:00:00` },
    allergies: [allergy('J001', 'スギ'), allergy('J002', 'ハウスダスト')],
    diagnoses: [], resolved_diagnoses: [], encounters: [], prescriptions: [rx1, taper], injections: [inj], orders: [],
    administrations: [], labs: [], exams: [], documents: [], images: [], read_failures: [],
    uninterpreted: [{ type: 'ADT-00', file_time: `${day(-30)}T09:00:00`, fields: [{ field: 'EVN-2', text: `${day(-30).replace(/-/g, '')}0900` }] }]
};
const rx3 = order('100000000000101', day(-1), [rp(1, { usage: U3, days: '7', days_unit: 'D', start: day(-1) },
    { code: '620000020', name: 'ムコスタ錠１００ｍｇ', daily_dose: '3', dispense: '21' })]);
/* an earlier narcotic order (not current): its flag is shown prominently on its line */
const rx4 = order('100000000000102', day(-40), [rp(1, { usage: '内服・経口・１日２回朝夕食後', days: '7', days_unit: 'D', start: day(-40) },
    { code: '620000030', name: 'オキシコンチン錠５ｍｇ', daily_dose: '2', dispense: '14', flags: ['麻薬'] })]);
const record2 = {
    patient: { id: P2, name: '見本 花子', kana: 'ミホン ハナコ', birth_date: '1962-07-07', sex: 'F', address: '', phones: [],
        contacts: [], insurance: [], source: 'OML-11', source_time: `${day(-1)}T15:00:00` },
    allergies: [], diagnoses: [], resolved_diagnoses: [], encounters: [], prescriptions: [rx3], injections: [], orders: [],
    administrations: [], labs: [], exams: [], documents: [], images: [], read_failures: [], uninterpreted: []
};
record2.prescriptions.push(rx4);
const cm = (its, tl) => ({ as_of: AS_OF, items: its, undetermined: [], timeline: tl });
const data = {
    title: '診療記録', generation: { id: 'a'.repeat(64), short: 'aaaaaaaaaaaa', name: null, time: `${AS_OF}:00`, guard: 'ok',
        latest: true, has_index: true },
    patients: [
        { generation: 'a'.repeat(64), record: record1, labs: null, current_medication: cm(items, timeline) },
        { generation: 'a'.repeat(64), record: record2, labs: null,
            current_medication: cm([item(rx3, rx3.rps[0], { until: until(day(-1), 7) })],
                [{ code: '620000020', name: 'ムコスタ錠１００ｍｇ', periods: [period(rx3, rx3.rps[0], 'current', until(day(-1), 7))] }]) }
    ]
};

// ---------- the page: index.html's parts with the data, the stylesheet and the script inlined ----------

const css = fs.readFileSync(path.join(ASSETS, 'app.css'), 'utf8');
const js = appJs();
const json = JSON.stringify(data).replace(/</g, '\\u003c');
const html = `<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>orders</title><style>${css}</style></head>` +
    `<body><div id="mm-app" class="mm-app" data-testid="app"></div>` +
    `<script type="application/json" id="mm-print-data">${json}</script><script>${js}</script></body></html>`;
const FILE = path.join(X.TMP, 'print.html');
fs.writeFileSync(FILE, html);

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
const problems = [];
try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, locale: 'ja-JP' });
    watch(page, problems);
    await page.goto('file://' + FILE);
    await page.locator(tid('print-patient')).first().waitFor({ timeout: 15000 });
    const s1 = `[data-testid="print-patient"][data-pid="${P1}"]`;
    const s2 = `[data-testid="print-patient"][data-pid="${P2}"]`;
    await checkP1(page, s1, E, 'print (harness) P1', true, null);
    await checkP2(page, s2, E, 'print (harness) P2');
    ok(/^\S+ \S+ 時点/.test(norm(await page.locator(`${s1} ${tid('current-meds-title')}`).textContent()).replace(/^服用中・投与中の薬（/, '')),
        'the title names the as-of time');
    const raw = await page.$eval(`${s1} ${tid('raw')}`, (el) => ({ text: el.textContent, visible: el.offsetHeight > 0, size: parseFloat(getComputedStyle(el).fontSize) }));
    ok(raw.visible && raw.size >= 10 && /^未解釈: RXE-8 \^+本館薬局$/.test(raw.text), '「未解釈: RXE-8 …」 is visible (small, not hidden)', raw);
    const unint = await page.$$eval(`${s1} ${tid('uninterpreted-row')}`, (rs) => rs.map((r) => r.textContent));
    ok(unint.length === 1 && /EVN-2/.test(unint[0]) && /患者基本情報/.test(unint[0]), 'the record\'s uninterpreted field is listed under 「未解釈の項目」', unint);
    ok(await page.locator(`${s1} ${tid('patient-source')}`).count() === 0, 'a patient with ADT-00 has no 「※ADT-00なし」 mark');
    const flag = await page.$eval(`${s2} ${tid('med-flag')}`, (el) => ({ text: el.textContent, line: el.closest('[data-testid="rp-drug"]').textContent,
        color: getComputedStyle(el).color, weight: getComputedStyle(el).fontWeight })).catch(() => null);
    ok(flag && flag.text === '【麻薬】' && /オキシコンチン/.test(flag.line) && Number(flag.weight) >= 700 && /^rgb\((1[5-9]\d|2\d\d),/.test(flag.color),
        'a narcotic flag is on its line, bold and red', flag);
    await shot(page, X.ART, 'orders-render-ja');

    // what the band and the list say when something could not be read
    const bad = JSON.parse(JSON.stringify(data));
    bad.patients = [bad.patients[1]];
    bad.patients[0].current_medication.items = [];
    bad.patients[0].current_medication.timeline = [];
    bad.patients[0].record.read_failures = [{ type: 'OMP-01', type_name: '処方オーダ', type_name_en: 'prescription order',
        section: 'prescriptions', failed: 1, files: 2, folders: 0, damaged: 0, reason: 'test' }];
    fs.writeFileSync(FILE, html.replace(json, JSON.stringify(bad).replace(/</g, '\\u003c')));
    await page.goto('file://' + FILE);
    await page.locator(tid('print-patient')).first().waitFor();
    ok(await page.locator(tid('current-meds-incomplete')).count() === 1 && await page.locator(tid('current-meds-none')).count() === 0,
        'nothing current but a prescription file unread: 「不完全な可能性」, never 「該当なし」');
    ok(/読めなかったファイルがあります/.test(norm(await page.locator(tid('allergy-unknown')).textContent())) &&
        await page.locator(tid('allergy-none')).count() === 0, 'no allergy but a file unread: never 「アレルギー情報なし」');
    bad.patients[0].record.read_failures = [];
    fs.writeFileSync(FILE, html.replace(json, JSON.stringify(bad).replace(/</g, '\\u003c')));
    await page.goto('file://' + FILE);
    await page.locator(tid('print-patient')).first().waitFor();
    ok(norm(await page.locator(tid('current-meds-none')).textContent()) === '該当なし', 'nothing current and nothing unread: 「該当なし」');

    // English
    fs.writeFileSync(FILE, html);
    await page.goto('file://' + FILE);
    await page.locator(tid('lang-en')).click();
    const en = norm(await page.locator(`${s1} ${tid('current-meds')}`).textContent());
    ok(/^Current medication \(as of \d{4}-\d{2}-\d{2} \d{2}:\d{2}\)/.test(en) && /every other day/.test(en) &&
        /as needed/.test(en) && /step 2 of 3/.test(en) && /a dosing day today/.test(en), 'English: title, pattern, PRN, step, today', en);
    const enAl = norm(await page.locator(`${s1} ${tid('allergy-source')}`).first().textContent());
    ok(/^Source: injection order \d{4}-\d{2}-\d{2}$/.test(enAl), 'English: the allergy source', enAl);
    ok(/^\* No ADT-00: from the PID of laboratory results \d{4}-\d{2}-\d{2}$/.test(norm(await page.locator(`${s2} ${tid('patient-source')}`).textContent())),
        'English: the no-ADT-00 mark');
    const enRaw = norm(await page.locator(`${s1} ${tid('raw')}`).first().textContent());
    ok(/^not interpreted: RXE-8/.test(enRaw), 'English: not interpreted', enRaw);
    await shot(page, X.ART, 'orders-render-en');
    ok(problems.length === 0, 'no script error', problems);
} catch (e) {
    ok(false, 'the run ended early: ' + e.message, e.stack);
} finally {
    await browser.close();
    X.cleanup();
}
note(`as of ${AS_OF}`);
finish(X.ART, t0);
