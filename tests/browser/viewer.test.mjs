// SPDX-License-Identifier: Apache-2.0
//
// Browser test of the mamori viewer: builds its own fixture (mamori-gen storage with a truth
// file, an encrypted repository with two generations), runs `mamori view`, drives Debian's
// Chromium through playwright-core and compares what the pages show with the generator's
// truth file. Prints TAP; exits 1 when a check fails, 2 when the fixture cannot be built.
//
//   MAMORI=build/src/cli/mamori MAMORI_GEN=build/tools/gen/mamori-gen ARTIFACTS=/tmp/art \
//       node tests/browser/viewer.test.mjs
//
// Optional: CHROMIUM (default /usr/bin/chromium), KEEP_TMP=1 (keep the temp folder).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import {
    appJs,
    MAMORI, GEN, CHROMIUM, ok, eq, note, makeRun, startView, tid, norm, sortK, text, watch, submitLogin,
    login, submitSearch, enterPatient, showTab, shot, finish
} from './common.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ASSETS = path.resolve(HERE, '../../src/lib/viewer/assets');
const PASS = 'ビューア試験 correct horse 7';
const SEED = '12'; // with 20 patients and 120 days: a patient with allergies, H and L labs,
// a CDA document, an X-ray JPEG, injections and a current admission; superseded and cancelled
// orders; patients whose record changes in the three days `advance` adds, one of them admitted
// in those days (the fixture is checked below, and the test bails out if it lacks something).

if (!MAMORI || !GEN) {
    console.log('1..0 # SKIP set MAMORI and MAMORI_GEN to the mamori and mamori-gen binaries');
    process.exit(77);
}
// a fixture that cannot be built ends the run (exit 2) without leaving the temp folder behind
const X = makeRun('mamori-browser', PASS);
const { TMP, ART, env: ENV, run, bail } = X;

// ---------- fixture ----------

const S = path.join(TMP, 'storage');
const R = path.join(TMP, 'repo');

const t0 = Date.now();
run(GEN, ['--out', S, '--patients', '20', '--days', '120', '--seed', SEED, '--extended',
    '--truth', path.join(TMP, 'truth1.json'), '-q']);
run(MAMORI, ['init', '--repo', R, '--user', 'nurse']);
run(MAMORI, ['backup', '--repo', R, path.join(S, 'standard'), path.join(S, 'extended')]);
run(GEN, ['advance', '--out', S, '--days', '3', '--truth', path.join(TMP, 'truth2.json'), '-q']);
run(MAMORI, ['backup', '--repo', R, '--name', 'after-advance', path.join(S, 'standard'), path.join(S, 'extended')]);
const T1 = JSON.parse(fs.readFileSync(path.join(TMP, 'truth1.json'), 'utf8'));
const T2 = JSON.parse(fs.readFileSync(path.join(TMP, 'truth2.json'), 'utf8'));
note(`fixture built in ${Date.now() - t0} ms: ${T2.patients.length} patients, ${T2.first_day} .. ${T2.last_day}`);

const byId1 = new Map(T1.patients.map((p) => [p.patient.id, p]));
const flags = (p) => new Set(p.labs.map((l) => l.flag));
const MAIN = T2.patients.find((p) => p.allergies.length && flags(p).has('H') && flags(p).has('L') &&
    p.documents.some((d) => d.format === 'cda') && p.images.length);
const CHANGED_ALL = T2.patients.filter((p) => {
    const q = byId1.get(p.patient.id);
    return q && JSON.stringify(p) !== JSON.stringify(q);
});
const CHANGED = CHANGED_ALL.find((p) => p.encounters.length > byId1.get(p.patient.id).encounters.length);
const NEW_PATIENTS = T2.patients.filter((p) => !byId1.has(p.patient.id));
if (!MAIN || !CHANGED || !T2.patients.some((p) => p.injections.length) ||
    !T2.patients.some((p) => p.encounters.some((e) => e.kind === 'admission'))) {
    bail('the fixture lacks a patient the test needs (generator changed? pick another SEED)');
}
note(`main patient ${MAIN.patient.id}, changed by advance: ${CHANGED.patient.id}`);

// ---------- mamori view ----------

const V = await startView(R, ENV);
const URL0 = V.url;
if (!URL0) {
    bail(`mamori view did not print its URL: ${V.err()}`);
}
note(`viewer at ${URL0}`);

// ---------- helpers over the page ----------

const SEX = { M: '男', F: '女', O: 'その他', U: '不明', A: 'その他', N: '不明' };
const ATYPE = { DA: '薬剤', FA: '食物', EA: '環境', LA: '花粉', AA: '動物', MA: 'その他', PA: '植物' };
const SEV = { SV: '重度', MO: '中等度', MI: '軽度' };

function ageToday(birth) {
    const [y, m, d] = birth.split('-').map(Number);
    const now = new Date();
    let age = now.getFullYear() - y;
    if ((now.getMonth() + 1) * 100 + now.getDate() < m * 100 + d) {
        age--;
    }
    return age;
}

const problems = []; // CSP violations and script errors seen by any page

/* Search @q. @return the result rows with the columns they show */
async function searchRows(page, q) {
    await submitSearch(page, q);
    return page.$$eval(`${tid('result-row')}`, (rows) => rows.map((r) => {
        const c = (k) => r.querySelector(`[data-col="${k}"]`).textContent.trim();
        return { id: c('id'), name: c('name'), kana: c('kana'), sex: c('sex'), age: c('age'), birth: c('birth') };
    }));
}

async function openPatient(page, pid) {
    const rows = await searchRows(page, pid);
    ok(rows.length === 1 && rows[0].id === pid, `search by ID ${pid} finds exactly that patient`, rows);
    await enterPatient(page, pid);
}

// ---------- the checks of one patient's record against the truth ----------

async function checkRecord(page, P, label, opts = {}) {
    const id = P.patient.id;
    const pre = `${label} ${id}`;
    const pt = P.patient;
    // the main patient goes through the tabs; for the others the hidden panels are read as they are
    const tab = (name) => (opts.shots ? showTab(page, name) : null);

    // header band
    eq(await text(page, tid('patient-name')), pt.name, `${pre}: header name`);
    eq(await text(page, tid('patient-kana')), pt.kana, `${pre}: header kana`);
    eq(await text(page, tid('patient-birth')), pt.birth_date, `${pre}: header birth date`);
    eq(await text(page, tid('patient-sex')), SEX[pt.sex], `${pre}: header sex`);
    eq(await text(page, tid('patient-age')), `${ageToday(pt.birth_date)}歳`, `${pre}: header age`);
    eq(await text(page, tid('patient-id')), id, `${pre}: header ID`);
    eq(await text(page, tid('patient-blood')), pt.blood_type || '不明', `${pre}: header blood type`);

    // allergies
    if (!P.allergies.length) {
        ok(/アレルギー情報なし/.test(await text(page, tid('allergy-none'))) &&
            (await page.locator(tid('allergy-item')).count()) === 0, `${pre}: 「アレルギー情報なし」 shown`);
    } else {
        const items = (await page.locator(tid('allergy-item')).allTextContents()).map(norm);
        eq(items.length, P.allergies.length, `${pre}: allergy count`);
        for (const a of P.allergies) {
            const want = [ATYPE[a.type], a.name, SEV[a.severity], a.reaction].filter(Boolean);
            ok(items.some((it) => want.every((w) => it.includes(w))),
                `${pre}: allergy ${a.name} (${want.join(', ')}) shown`, items);
        }
        const color = await page.locator(tid('allergy-list')).evaluate((el) => getComputedStyle(el).color);
        const [r, g, b] = color.match(/\d+/g).map(Number);
        ok(r > 150 && g < 90 && b < 90, `${pre}: allergies are red on screen`, color);
        ok(await page.locator(tid('allergy-none')).count() === 0, `${pre}: no 'no allergy' line next to allergies`);
    }

    // 受診歴: every encounter, newest first
    await tab('visits');
    const visits = await page.$$eval(tid('visit-row'), (rs) => rs.map((r) => [...r.cells].map((c) => c.textContent.trim())));
    eq(sortK(visits.map((v) => [v[0], v[1], v[3]])), sortK(P.encounters.map((e) => [e.date, e.time, e.dept_name])),
        `${pre}: visits (date, time, department name) = truth encounters`);
    /* the kind is named in Japanese, never shown as the model's code (attending_change ...) */
    const rawKind = visits.filter((v) => /^[a-z_]+$/.test(v[2]));
    ok(rawKind.length === 0, `${pre}: every visit's kind is named, not a code`, rawKind.slice(0, 3));
    const vdates = visits.map((v) => v[0] + ' ' + v[1]);
    eq(vdates, [...vdates].sort().reverse(), `${pre}: visits newest first`);
    if (opts.shots) {
        await shot(page, ART, 'tab-visits');
    }

    // 入院歴: admission/transfer/discharge events with ward and room
    await tab('admissions');
    const adm = await page.$$eval(tid('admission-row'), (rs) => rs.map((r) => ({
        kind: r.dataset.kind, date: r.dataset.date, time: r.cells[1].textContent.trim(),
        ward: r.querySelector('[data-col="ward"]').textContent.trim()
    })));
    const admT = P.encounters.filter((e) => e.kind !== 'outpatient');
    eq(sortK(adm.map((a) => [a.kind, a.date, a.time])), sortK(admT.map((e) => [e.kind, e.date, e.time])),
        `${pre}: admission events = truth inpatient encounters`);
    for (const e of admT.filter((x) => x.ward)) {
        const row = adm.find((a) => a.kind === e.kind && a.date === e.date && a.time === e.time);
        ok(row && row.ward.includes(e.ward_name) && (!e.room || row.ward.includes(e.room)) && (!e.bed || row.ward.includes(e.bed)),
            `${pre}: ${e.kind} ${e.date} shows ward ${e.ward} room ${e.room || '-'} bed ${e.bed || '-'}`, row);
    }
    const real = admT.filter((e) => !e.kind.startsWith('planned_'))
        .sort((a, b) => (a.date + a.time < b.date + b.time ? -1 : 1));
    const lastAdm = real.map((e) => e.kind).lastIndexOf('admission');
    const inNow = lastAdm >= 0 && !real.slice(lastAdm).some((e) => e.kind === 'discharge');
    eq(await page.locator(tid('current-stay')).count(), inNow ? 1 : 0, `${pre}: current stay ${inNow ? 'shown' : 'not shown'}`);
    eq(await page.locator(tid('patient-stay')).count(), inNow ? 1 : 0, `${pre}: header band ${inNow ? 'shows' : 'does not show'} a current stay`);
    if (opts.shots) {
        await shot(page, ART, 'tab-admissions');
    }

    // 病名: current, then resolved
    await tab('diagnoses');
    const dx = await page.$$eval(tid('dx-row'), (rs) => rs.map((r) => ({
        status: r.dataset.status,
        name: r.querySelector('[data-col="name"]').textContent.trim(),
        start: r.querySelector('[data-col="start"]').textContent.trim(),
        end: r.querySelector('[data-col="end"]')?.textContent.trim() ?? null,
        main: !!r.querySelector('[data-testid="dx-main"]'),
        suspected: !!r.querySelector('[data-testid="dx-suspected"]')
    })));
    eq(sortK(dx.filter((d) => d.status === 'current').map((d) => [d.name, d.start, d.main, d.suspected])),
        sortK(P.diagnoses.map((d) => [d.name, d.start_date, !!d.main, !!d.suspected])),
        `${pre}: current diagnoses (name, start, 主病名, 疑い) = truth`);
    eq(sortK(dx.filter((d) => d.status === 'resolved').map((d) => [d.name, d.start, d.end, d.main, d.suspected])),
        sortK(P.resolved_diagnoses.map((d) => [d.name, d.start_date, d.end_date, !!d.main, !!d.suspected])),
        `${pre}: resolved diagnoses (name, start, end, marks) = truth`);
    const firstResolved = dx.findIndex((d) => d.status === 'resolved');
    ok(firstResolved < 0 || dx.slice(firstResolved).every((d) => d.status === 'resolved'),
        `${pre}: current diagnoses listed before resolved ones`);
    if (opts.shots) {
        await shot(page, ART, 'tab-diagnoses');
    }

    // 処方: one card per order, Rps with drugs, dose+unit, usage, days
    await tab('prescriptions');
    const rx = await readOrders(page, 'rx-order');
    eq(sortK(rx.map((o) => [o.order, o.date])), sortK(P.prescriptions.map((o) => [o.order_no, o.date])),
        `${pre}: prescriptions (order, date) = truth`);
    eq(rx.map((o) => o.date), rx.map((o) => o.date).sort().reverse(), `${pre}: prescriptions newest first`);
    for (const o of P.prescriptions) {
        const c = rx.find((x) => x.order === o.order_no);
        const want = o.rps.map((rp) => ({
            drugs: rp.drugs.map((d) => [d.name, d.dose ? `${d.dose} ${d.unit}` : '']), usage: rp.usage,
            /* PRN and ointments: no days, no dose per use; a taper's step writes its span instead */
            days: rp.days && !rp.step ? `${rp.days}日分` : ''
        }));
        const got = c ? c.rps.map((rp) => ({ drugs: rp.drugs, usage: rp.usage, days: rp.days })) : null;
        eq(got, want, `${pre}: prescription ${o.order_no} Rps (drugs, dose, usage, days)`);
    }
    if (opts.shots) {
        await shot(page, ART, 'tab-prescriptions');
    }

    // 注射: route and rate
    await tab('injections');
    const inj = await readOrders(page, 'inj-order');
    eq(sortK(inj.map((o) => [o.order, o.date])), sortK(P.injections.map((o) => [o.order_no, o.date])),
        `${pre}: injections (order, date) = truth`);
    for (const o of P.injections) {
        const c = inj.find((x) => x.order === o.order_no);
        const drugs = c ? c.rps.flatMap((rp) => rp.drugs) : null;
        eq(drugs, o.components.map((d) => [d.name, `${d.amount} ${d.unit}`]), `${pre}: injection ${o.order_no} drugs and amounts`);
        ok(c && c.rps.some((rp) => rp.route.includes(o.route)), `${pre}: injection ${o.order_no} route ${o.route}`, c && c.rps);
        if (o.rate_ml_h !== undefined && o.rate_ml_h !== null) {
            ok(c && c.rps.some((rp) => new RegExp(`(^|\\D)${o.rate_ml_h}(\\D|$)`).test(rp.rate)),
                `${pre}: injection ${o.order_no} rate ${o.rate_ml_h} ml/h`, c && c.rps);
        }
    }
    if (opts.shots) {
        await shot(page, ART, 'tab-injections');
    }

    // 検査: matrix cells and flags
    await tab('labs');
    const cells = await page.$$eval(tid('lab-cell'), (cs) => cs.filter((c) => c.textContent.trim() !== '').map((c) => ({
        key: c.dataset.test + '|' + c.dataset.time, text: c.textContent.trim(), flag: c.dataset.flag || '',
        cls: c.className, color: getComputedStyle(c).color
    })));
    const truthKeys = new Map(P.labs.map((l) => [l.code + '|' + l.collected_at, l]));
    eq(cells.length, truthKeys.size, `${pre}: lab matrix has one filled cell per truth result (${truthKeys.size})`);
    let labBad = [];
    for (const l of truthKeys.values()) {
        const c = cells.find((x) => x.key === l.code + '|' + l.collected_at);
        const good = c && c.text.split(/\s+/)[0] === l.value && c.flag === l.flag &&
            (l.flag ? c.text.includes(l.flag) : !/[HL]/.test(c.text.replace(l.value, ''))) &&
            (l.flag !== 'H' || (c.cls.includes('mm-flag-h') && c.text.includes('↑'))) &&
            (l.flag !== 'L' || (c.cls.includes('mm-flag-l') && c.text.includes('↓')));
        if (!good) {
            labBad.push({ truth: l, cell: c || null });
        }
    }
    ok(labBad.length === 0, `${pre}: every lab value and its H/L flag matches the truth`, labBad.slice(0, 5));
    const hCell = cells.find((c) => c.flag === 'H');
    const lCell = cells.find((c) => c.flag === 'L');
    if (hCell) {
        const [r, g, b] = hCell.color.match(/\d+/g).map(Number);
        ok(r > 150 && g < 90 && b < 90, `${pre}: H values are red`, hCell);
    }
    if (lCell) {
        const [r, g, b] = lCell.color.match(/\d+/g).map(Number);
        ok(b > 150 && r < 90, `${pre}: L values are blue`, lCell);
    }
    const times = await page.$$eval(`${tid('lab-matrix')} thead [data-time]`, (ts) => ts.map((t) => t.dataset.time));
    eq(times, [...new Set(P.labs.map((l) => l.collected_at))].sort(), `${pre}: lab columns are the collection times, oldest to newest`);
    if (opts.shots) {
        await shot(page, ART, 'tab-labs', false);
    }

    // 文書
    await tab('documents');
    const docs = await page.$$eval(tid('doc-row'), (rs) => rs.map((r) => [r.dataset.date, r.querySelector('[data-col="title"]').textContent.trim()]));
    eq(sortK(docs), sortK(P.documents.map((d) => [d.date, d.title])), `${pre}: documents (date, title) = truth`);
    if (opts.shots) {
        await shot(page, ART, 'tab-documents');
    }

    // 画像
    await tab('images');
    const imgs = await page.$$eval(tid('image-group'), (gs) => gs.map((g) => [g.dataset.date, g.querySelectorAll('[data-testid="image-thumb"]').length]));
    const imgT = new Map();
    for (const im of P.images) {
        imgT.set(im.date, (imgT.get(im.date) || 0) + im.count);
    }
    const imgG = new Map();
    for (const [d, n] of imgs) {
        imgG.set(d, (imgG.get(d) || 0) + n);
    }
    eq([...imgG].sort(), [...imgT].sort(), `${pre}: images (date, number of JPEGs) = truth`);
    if (opts.shots) {
        await shot(page, ART, 'tab-images');
        await showTab(page, 'exams');
        await shot(page, ART, 'tab-exams');
    }

    // superseded orders: only the current version is shown (checked above), once;
    // cancelled orders: not shown anywhere
    for (const key of P.superseded_orders) {
        const no = key.split('/')[1];
        const current = [...P.prescriptions, ...P.injections].filter((o) => o.order_no === no).length;
        eq(await page.locator(`[data-order="${no}"]`).count(), current,
            `${pre}: superseded ${key} shown only as its current version (${current})`);
    }
    for (const key of P.cancelled_orders) {
        const no = key.split('/')[1];
        const all = await page.locator(tid('patient-view')).evaluate((el) => el.textContent);
        ok((await page.locator(`[data-order="${no}"]`).count()) === 0 && !all.includes(no), `${pre}: cancelled ${key} not shown`);
    }
}

async function readOrders(page, testid) {
    return page.$$eval(`[data-testid="${testid}"]`, (os) => os.map((o) => ({
        order: o.dataset.order,
        date: o.dataset.date,
        rps: [...o.querySelectorAll('[data-testid="rp"]')].map((rp) => ({
            /* a prescription line writes its amount as a pharmacist does (1回1錠, 1日7錠 (朝4錠…)):
             * the dose and unit read are on the line; an injection's drug shows "dose unit" */
            drugs: [...rp.querySelectorAll('[data-testid="rp-drug"]')].map((d) => [
                d.querySelector('.mm-drug-name').textContent.trim(),
                'dose' in d.dataset && d.querySelector('.mm-drug-dose')?.textContent.includes(d.dataset.dose + d.dataset.unit) ?
                    `${d.dataset.dose} ${d.dataset.unit}` :
                    (d.querySelector('.mm-drug-dose')?.textContent ?? '').trim().replace(/\s+/g, ' ')]),
            usage: rp.querySelector('[data-testid="rp-usage"]')?.textContent.trim() ?? '',
            days: rp.querySelector('[data-testid="rp-days"]')?.textContent.trim() ?? '',
            route: rp.querySelector('[data-testid="rp-route"]')?.textContent.trim() ?? '',
            rate: rp.querySelector('[data-testid="rp-rate"]')?.textContent.trim() ?? ''
        }))
    })));
}

// ---------- the run ----------

const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu']
});
let exitCode = 0;
try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ja-JP' });
    const page = await ctx.newPage();
    watch(page, problems);
    page.setDefaultTimeout(15000);

    // login
    await page.goto(URL0);
    await page.locator(tid('login-form')).waitFor();
    await shot(page, ART, 'login');
    const headers = (await page.request.get(URL0)).headers();
    ok(/script-src 'self'/.test(headers['content-security-policy'] || ''), 'the page is served with the strict CSP',
        headers['content-security-policy']);
    await submitLogin(page, 'wrong passphrase');
    ok(await page.locator(tid('login-submit')).isDisabled(), 'login button disabled while the server checks');
    await page.locator(tid('login-error')).waitFor({ state: 'visible', timeout: 30000 });
    ok(/パスフレーズが違います/.test(await text(page, tid('login-error'))), 'wrong passphrase refused with a Japanese message');
    ok(await page.locator(tid('search-input')).count() === 0, 'wrong passphrase does not open the viewer');
    await shot(page, ART, 'login-error');
    await login(page, PASS);
    ok(/nurse/.test(await text(page, tid('current-user'))), 'logged-in user shown');
    ok(await page.locator(tid('logout-button')).isVisible(), 'logout button visible');

    // generations
    const opts = await page.$$eval(`${tid('generation-select')} option`, (os) => os.map((o) => ({ v: o.value, t: o.textContent, sel: o.selected })));
    ok(opts.length === 2 && opts[0].sel && /最新/.test(opts[0].t) && !/最新/.test(opts[1].t),
        'generation picker: two generations, the newest selected and marked 最新', opts);
    ok(await page.locator(tid('banner-old')).count() === 0, 'no "not newest" banner on the newest generation');

    // search
    const P0 = MAIN.patient;
    const family = P0.kana.split(' ')[0];
    const frag = family.length >= 3 ? family.slice(1) : family;
    const hira = [...frag].map((ch) => (ch >= 'ァ' && ch <= 'ヶ' ? String.fromCharCode(ch.charCodeAt(0) - 0x60) : ch)).join('');
    const expect = T2.patients.filter((p) => p.patient.kana.includes(frag) || p.patient.name.includes(frag) ||
        p.patient.kana.replace(/ /g, '').includes(frag)).map((p) => p.patient.id).sort();
    const rowsK = await searchRows(page, frag);
    eq(rowsK.map((r) => r.id).sort(), expect, `search by partial katakana 「${frag}」 finds exactly the truth's matches`);
    await shot(page, ART, 'search-results');
    const rowsH = await searchRows(page, hira);
    eq(rowsH.map((r) => r.id).sort(), expect, `search by hiragana 「${hira}」 finds the same patients`);
    const T2ById = new Map(T2.patients.map((p) => [p.patient.id, p.patient]));
    const rowBad = rowsH.filter((r) => {
        const t = T2ById.get(r.id);
        return !t || r.name !== t.name || r.kana !== t.kana || r.sex !== SEX[t.sex] || r.birth !== t.birth_date ||
            r.age !== `${ageToday(t.birth_date)}歳`;
    });
    ok(rowsH.length > 0 && rowBad.length === 0, 'result rows show ID, name, kana, sex, age, birth date of the truth', rowBad);
    const rowsB = await searchRows(page, P0.birth_date);
    ok(rowsB.some((r) => r.id === P0.id), `search by birth date ${P0.birth_date} finds the patient`, rowsB);
    const none = await searchRows(page, '9999999999');
    ok(none.length === 0 && /見つかりません/.test(await text(page, tid('search-empty'))), 'unknown ID: clear empty-result message');
    // keyboard: Enter on a row opens the patient (openPatient uses Enter)
    await openPatient(page, P0.id);
    await shot(page, ART, 'patient');

    // keyboard navigation of tabs
    await page.locator(tid('tab-visits')).click();
    await page.locator(tid('tab-visits')).press('ArrowRight');
    ok(await page.locator(tid('tab-admissions')).getAttribute('aria-selected') === 'true' &&
        await page.locator(tid('panel-admissions')).isVisible(), 'ArrowRight moves to the next tab');
    await page.keyboard.press('End');
    ok(await page.locator(tid('tab-profile')).getAttribute('aria-selected') === 'true', 'End moves to the last tab');

    await checkRecord(page, MAIN, 'main', { shots: true });

    // trend chart
    await showTab(page, 'labs');
    const numeric = new Map();
    for (const l of MAIN.labs) {
        if (/^-?\d+(\.\d+)?$/.test(l.value)) {
            numeric.set(l.code, (numeric.get(l.code) || 0) + 1);
        }
    }
    const [code, npts] = [...numeric].sort((a, b) => b[1] - a[1])[0];
    const lt = MAIN.labs.find((l) => l.code === code);
    await page.locator(`${tid('lab-row')}[data-test="${code}"]`).click();
    await page.locator(tid('lab-chart')).waitFor();
    eq(await page.locator(`${tid('lab-chart')} [data-testid="lab-chart-point"]`).count(), npts, `trend chart of ${lt.name}: one point per numeric result`);
    if (/^\s*-?\d+(\.\d+)?\s*-\s*-?\d+(\.\d+)?\s*$/.test(lt.range)) {
        eq(await page.locator(`${tid('lab-chart')} [data-testid="lab-chart-band"]`).count(), 1, `trend chart of ${lt.name}: reference band ${lt.range}`);
    }
    await shot(page, ART, 'lab-chart', false);

    // a document opens in the page
    await showTab(page, 'documents');
    await page.locator(`${tid('doc-open')}[data-path$=".xml"]`).first().click();
    await page.locator(tid('cda-text')).waitFor();
    const docText = await page.locator(tid('cda-text')).textContent();
    const docRaw = await page.locator(tid('cda-raw')).textContent();
    ok(docText.length > 10 && docRaw.includes(P0.id), 'a CDA document opens as its text, its XML (naming the patient) one click away', docText.slice(0, 200));
    await shot(page, ART, 'document');
    const pdfPath = await page.$$eval(`${tid('doc-open')}[data-path$=".pdf"]`, (bs) => (bs[0] ? bs[0].dataset.path : null));
    if (pdfPath) {
        const r = await page.evaluate(async (u) => {
            const res = await fetch(u, { credentials: 'same-origin' });
            const b = new Uint8Array(await res.arrayBuffer());
            return { status: res.status, type: res.headers.get('content-type'), head: String.fromCharCode(...b.slice(0, 5)) };
        }, `/api/file?id=${P0.id}&path=${encodeURIComponent(pdfPath)}`);
        ok(r.status === 200 && /application\/pdf/.test(r.type) && r.head === '%PDF-', 'a PDF document is served as a PDF', r);
    }

    // an image opens full size
    await showTab(page, 'images');
    const thumb = page.locator(tid('image-thumb')).first();
    await thumb.click();
    await page.locator(tid('image-overlay')).waitFor();
    await page.waitForFunction(() => {
        const i = document.querySelector('[data-testid="overlay-image"]');
        return i && i.complete && i.naturalWidth > 0;
    });
    const sizes = await page.evaluate(() => {
        const i = document.querySelector('[data-testid="overlay-image"]');
        const tImg = document.querySelector('[data-testid="image-thumb"] img');
        return { natural: i.naturalWidth, shown: i.getBoundingClientRect().width, thumb: tImg.getBoundingClientRect().width };
    });
    ok(sizes.natural > 0 && sizes.shown > sizes.thumb, 'image overlay shows the JPEG larger than its thumbnail', sizes);
    await shot(page, ART, 'image-overlay', false);
    await page.keyboard.press('Escape');
    ok(await page.locator(tid('image-overlay')).count() === 0, 'Esc closes the image overlay');

    // nothing about the patient in the browser's storage
    const stored = await page.evaluate(() => ({ local: Object.keys(localStorage), session: Object.keys(sessionStorage) }));
    ok(stored.session.length === 0 && stored.local.every((k) => k === 'mamori.viewer.lang'),
        'no patient data in localStorage/sessionStorage', stored);

    // print view of the patient: every section
    await page.emulateMedia({ media: 'print' });
    const vis = {};
    for (const n of ['visits', 'admissions', 'diagnoses', 'prescriptions', 'injections', 'labs', 'exams', 'documents', 'images']) {
        vis[n] = await page.locator(tid('panel-' + n)).isVisible();
    }
    ok(Object.values(vis).every(Boolean), 'print: every section is shown', vis);
    ok(!(await page.locator(tid('tabs')).isVisible()) && !(await page.locator(tid('logout-button')).isVisible()) &&
        !(await page.locator(tid('print-button')).isVisible()), 'print: tabs and buttons hidden');
    ok(await page.locator(tid('patient-header')).isVisible(), 'print: header band shown');
    ok(await page.locator(tid('print-meta')).isVisible() && (await text(page, tid('print-meta'))).includes(opts[0].v.slice(0, 12)),
        'print: the generation printed above the header band');
    await shot(page, ART, 'print-view');
    const pdf = await page.pdf({ path: path.join(ART, 'patient.pdf'), format: 'A4', printBackground: true });
    ok(pdf.length > 10000 && pdf.subarray(0, 5).toString() === '%PDF-', `page.pdf() writes an A4 PDF (${pdf.length} bytes)`);
    await page.emulateMedia({ media: 'screen' });
    ok(!(await page.locator(tid('print-meta')).isVisible()), 'the print-only line is not on screen');

    // every other patient, every section, against the truth
    for (const P of T2.patients) {
        if (P === MAIN) {
            continue;
        }
        await page.locator(tid('back-button')).click();
        await page.locator(tid('search-input')).waitFor();
        await openPatient(page, P.patient.id);
        await checkRecord(page, P, 'newest');
    }

    // the older generation: every record that advance changed, as the first truth file says
    const P1 = byId1.get(CHANGED.patient.id);
    await page.locator(tid('back-button')).click();
    await openPatient(page, CHANGED.patient.id);
    eq(await page.locator(tid('visit-row')).count(), CHANGED.encounters.length, 'newest generation shows the visits added by advance');
    await page.locator(tid('generation-select')).selectOption(opts[1].v);
    await page.locator(tid('banner-old')).waitFor();
    await page.locator(tid('patient-header')).waitFor();
    ok(/これは最新ではない時点/.test(await text(page, tid('banner-old'))), 'older generation: yellow "not the newest" banner');
    const bg = await page.locator(tid('banner-old')).evaluate((el) => getComputedStyle(el).backgroundColor);
    const [br, bgg, bb] = bg.match(/\d+/g).map(Number);
    ok(br > 200 && bgg > 180 && bb < bgg - 30, 'the "not the newest" banner is yellow', bg);
    await checkRecord(page, P1, 'older');
    eq(await page.locator(tid('visit-row')).count(), P1.encounters.length, 'older generation: the visits added later are gone');
    await showTab(page, 'visits');
    await shot(page, ART, 'old-generation-banner', false);
    for (const P of CHANGED_ALL) {
        if (P === CHANGED) {
            continue;
        }
        await page.locator(tid('back-button')).click();
        await openPatient(page, P.patient.id);
        await checkRecord(page, byId1.get(P.patient.id), 'older');
    }
    await page.locator(tid('back-button')).click();
    for (const P of NEW_PATIENTS) {
        eq(await searchRows(page, P.patient.id), [], `older generation: ${P.patient.id}, registered later, is not found`);
    }
    await page.locator(tid('generation-select')).selectOption(opts[0].v);
    await page.waitForFunction((sel) => !document.querySelector(sel), tid('banner-old'));
    await openPatient(page, CHANGED.patient.id);
    eq(await page.locator(tid('visit-row')).count(), CHANGED.encounters.length, 'back on the newest generation: its visits again');

    // language switch (kept in localStorage only)
    await page.locator(tid('lang-en')).click();
    ok(/Log out/.test(await text(page, tid('logout-button'))) && /Visits/.test(await text(page, tid('tab-visits'))), 'English switch');
    await page.locator(tid('lang-ja')).click();
    ok(/ログアウト/.test(await text(page, tid('logout-button'))), 'back to Japanese');

    // logout → 401 → login page
    await page.locator(tid('logout-button')).click();
    await page.locator(tid('login-form')).waitFor();
    const st = await page.evaluate(async () => (await fetch('/api/session', { credentials: 'same-origin' })).status);
    eq(st, 401, 'after logout the API answers 401');
    ok(await page.locator(tid('patient-header')).count() === 0, 'after logout no patient data on the page');

    // an expired session (cookie gone) → login page with the notice
    await login(page, PASS);
    await ctx.clearCookies();
    await searchRows(page, P0.id).catch(() => []);
    await page.locator(tid('login-notice')).waitFor();
    ok(/セッションの有効期限が切れました/.test(await text(page, tid('login-notice'))), 'a 401 on search: login page with the expiry notice');
    await shot(page, ART, 'session-expired');

    // print mode of `mamori print`: the standalone file made of app.css, app.js and the data
    await login(page, PASS);
    const two = [MAIN.patient.id, CHANGED.patient.id];
    const data = await page.evaluate(async (ids) => {
        const g = await (await fetch('/api/generations')).json();
        const ps = [];
        for (const id of ids) {
            const j = await (await fetch('/api/patient?id=' + id)).json();
            ps.push({ record: j.record, labs: j.labs });
        }
        // an older generation the guard found suspect: both banners must be printed
        const gen = { ...g.generations[1], guard: 'suspect', latest: false };
        return { generated_at: '2025-10-02T09:00:00+09:00', title: '診療記録（試験）', generation: gen, patients: ps };
    }, two);
    const json = JSON.stringify(data).replace(/</g, '\\u003c');
    const css = fs.readFileSync(path.join(ASSETS, 'app.css'), 'utf8');
    const js = appJs();
    const html = `<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>print</title><style>${css}</style>` +
        `<script type="application/json" id="mm-print-data">${json}</script></head><body><script>${js}</script></body></html>`;
    const pp = await ctx.newPage();
    watch(pp, problems);
    const requests = [];
    pp.on('request', (r) => requests.push(r.url()));
    await pp.setContent(html, { waitUntil: 'load' });
    await pp.locator(tid('print-patient')).nth(1).waitFor();
    const printed = await pp.$$eval(tid('print-patient'), (ps) => ps.map((p) => ({
        pid: p.dataset.pid,
        name: p.querySelector('[data-testid="patient-name"]').textContent,
        panels: p.querySelectorAll('.mm-panel').length
    })));
    eq(printed.map((p) => [p.pid, p.name, p.panels]), [[two[0], MAIN.patient.name, 10], [two[1], CHANGED.patient.name, 10]],
        'print mode: every patient rendered with all 10 sections (patient details included)');
    ok(requests.filter((u) => !u.startsWith('about:') && !u.startsWith('data:')).length === 0 &&
        await pp.locator(tid('login-form')).count() === 0, 'print mode: no login, no request', requests);
    await pp.emulateMedia({ media: 'print' });
    const breaks = await pp.$$eval(tid('print-patient'), (ps) => ps.map((p) => getComputedStyle(p).breakBefore));
    eq(breaks.slice(1).every((b) => b === 'page'), true, 'print mode: each further patient starts on a new page');
    ok(/診療記録（試験）/.test(await text(pp, tid('print-title'))), 'print mode: title line shown');
    ok(/異常の疑い/.test(await text(pp, tid('banner-suspect'))) && /最新ではない時点/.test(await text(pp, tid('banner-old'))),
        'print mode: suspect and not-newest banners printed');
    await shot(pp, ART, 'print-mode');
    const pdf2 = await pp.pdf({ path: path.join(ART, 'print-mode.pdf'), format: 'A4' });
    ok(pdf2.subarray(0, 5).toString() === '%PDF-', 'print mode: page.pdf() works');
    await pp.close();

    // patient data is text, never markup: a record whose fields carry HTML (print mode, no server)
    const evil = '<img src=x onerror="window.__xss=1">"\'&<b>太字</b>';
    const bad = JSON.parse(JSON.stringify(data.patients[0]));
    bad.record.patient.name = evil;
    bad.record.patient.kana = evil;
    bad.record.allergies = [{ type: 'DA', code: 'x', name: evil, severity: 'SV', reaction: evil, onset: '' }];
    (bad.record.prescriptions[0] || {}).doctor = evil;
    if (bad.labs && bad.labs.tests.length) {
        bad.labs.tests[0].name = evil;
    }
    const xjson = JSON.stringify({ title: evil, generation: data.generation, patients: [bad] }).replace(/</g, '\\u003c');
    const xp = await ctx.newPage();
    watch(xp, problems);
    await xp.setContent(`<!doctype html><html><head><meta charset="utf-8"><style>${css}</style>` +
        `<script type="application/json" id="mm-print-data">${xjson}</script></head><body><script>${js}</script></body></html>`);
    await xp.locator(tid('print-patient')).waitFor();
    const x = await xp.evaluate(() => ({
        xss: window.__xss === 1,
        imgs: document.querySelectorAll('img').length,
        bolds: document.querySelectorAll('b').length,
        name: document.querySelector('[data-testid="patient-name"]').textContent,
        allergy: document.querySelector('[data-testid="allergy-item"] .mm-allergy-name').textContent
    }));
    eq(x, { xss: false, imgs: 0, bolds: 0, name: evil, allergy: evil }, 'markup in patient data is shown as text, never run');
    await xp.close();

    // the file `mamori print` writes, opened from disk as a nurse would
    const list = path.join(TMP, 'print-list.txt');
    fs.writeFileSync(list, two.join('\n') + '\n');
    const out = path.join(TMP, 'print.html');
    run(MAMORI, ['print', '--repo', R, '--patients', list, '--out', out, '--title', '病棟サマリ（試験）']);
    const fp = await ctx.newPage();
    watch(fp, problems);
    const freq = [];
    fp.on('request', (r) => freq.push(r.url()));
    await fp.goto('file://' + out);
    await fp.locator(tid('print-patient')).nth(1).waitFor();
    const fpr = await fp.$$eval(tid('print-patient'), (ps) => ps.map((p) => [
        p.dataset.pid, p.querySelector('[data-testid="patient-name"]').textContent, p.querySelectorAll('.mm-panel').length]));
    eq(fpr, [[two[0], MAIN.patient.name, 10], [two[1], CHANGED.patient.name, 10]], 'mamori print: both patients, all 10 sections');
    ok(/病棟サマリ（試験）/.test(await text(fp, tid('print-title'))), 'mamori print: title line');
    const fAll = norm(await fp.locator(tid('print-patient')).first().textContent());
    ok(MAIN.allergies.every((a) => fAll.includes(a.name)) && MAIN.prescriptions.every((o) => fAll.includes(o.order_no)),
        'mamori print: allergies and prescriptions of the truth are in the file');
    ok(freq.filter((u) => u !== 'file://' + out && !u.startsWith('data:')).length === 0, 'mamori print: the file loads nothing else', freq);
    await fp.emulateMedia({ media: 'print' });
    await shot(fp, ART, 'mamori-print');
    const pdf3 = await fp.pdf({ path: path.join(ART, 'mamori-print.pdf'), format: 'A4' });
    ok(pdf3.subarray(0, 5).toString() === '%PDF-', 'mamori print: the file prints to PDF');
    await fp.close();

    eq(problems, [], 'no CSP violation and no script error on any page');
} catch (e) {
    ok(false, 'the run finished without an exception', e.stack || String(e));
    exitCode = 1;
} finally {
    await browser.close();
    await V.stop();
    X.cleanup();
}
finish(ART, t0, exitCode);
