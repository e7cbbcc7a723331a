// SPDX-License-Identifier: Apache-2.0
//
// What the screen and the print view must show for the patients of tests/data/orders/make.py
// (issue 15): shared by orders.test.mjs (the viewer and `mamori print` on a storage made from
// those HL7 files) and orders-render.test.mjs (app.js fed a hand-written answer of the contract's
// shape). @E is make.py's expect.json (the dates); every check reads text by data-testid.

import { tid, norm, ok, eq } from './common.mjs';

export const P1 = '9100000001';
export const P2 = '9100000002';

/* The text of every element matching @sel inside @scope (a CSS selector), normalised. */
async function texts(page, scope, sel) {
    return page.$$eval(`${scope} ${sel}`, (els) => els.map((e) => e.textContent.replace(/\s+/g, ' ').trim()));
}

/* The current medication of @scope: [{name, text, today, kind}] */
async function currentMeds(page, scope) {
    return page.$$eval(`${scope} [data-testid="current-med"]`, (els) => els.map((e) => ({
        name: e.querySelector('[data-testid="med-name"]')?.textContent.trim() ?? '',
        text: e.textContent.replace(/\s+/g, ' ').trim(),
        today: e.dataset.today, kind: e.dataset.kind
    })));
}

/* Patient 1 (ADT-00, prescriptions, a taper, an injection with AL1) inside @scope.
 * @print: the print view (every section laid out) rather than the screen (tabs). */
export async function checkP1(page, scope, E, pre, print, showTab) {
    if (!ok(await page.locator(scope).count() === 1, `${pre}: the patient is there (${scope})`)) {
        return;
    }
    // current medication: the first section after the patient band
    const order = await page.$eval(scope, (root) => {
        const band = root.querySelector('[data-testid="patient-header"]');
        const meds = root.querySelector('[data-testid="current-meds"]');
        if (!band || !meds) {
            return null;
        }
        const all = [...root.querySelectorAll('[data-testid="patient-header"], [data-testid="current-meds"], [data-testid^="panel-"]')];
        return all.map((e) => e.dataset.testid).slice(0, 3);
    });
    ok(order && order[0] === 'patient-header' && order[1] === 'current-meds',
        `${pre}: the current medication is the first section after the patient band`, order);
    const title = norm(await page.locator(`${scope} ${tid('current-meds-title')}`).first().textContent());
    ok(/^服用中・投与中の薬（\d{4}-\d{2}-\d{2} \d{2}:\d{2} 時点）$/.test(title), `${pre}: title 「服用中・投与中の薬（<as_of> 時点）」`, title);
    const meds = await currentMeds(page, scope);
    const find = (re) => meds.filter((m) => re.test(m.name));
    const one = (re, what, want) => {
        const f = find(re);
        ok(f.length === 1 && want.every((w) => (w instanceof RegExp ? w.test(f[0].text) : f[0].text.includes(w))),
            `${pre}: current ${what}: ${want.join(' / ')}`, f.length ? f : meds.map((m) => m.text));
        return f[0];
    };
    one(/^プレドニン錠/, 'unequal doses', ['1日7錠', '朝4錠・昼2錠・夕1錠', '内服・経口・１日３回朝昼夕食後']);
    const alt = one(/^ダーゼン錠/, 'every other day', ['隔日', '本日投与日']);
    eq(alt && alt.today, 'dose', `${pre}: 隔日 started the day before yesterday: today is a dosing day (data-today)`);
    one(/^アムロジピン/, 'weekdays', ['月・木']);
    one(/^ロキソニン/, 'PRN', ['頓用', '疼痛時', '1日2回まで', '10回分']);
    one(/^プレドニゾロン/, 'taper: only its second step', ['1回2錠', '第2段階']);
    one(/ソルデム３Ａ/, 'injection', ['500', 'アドナ', '10:00', /102 (ml\/hr|ミリリットル／時間)/, '左手']);
    ok(!meds.some((m) => /ムコスタ/.test(m.text)), `${pre}: another patient's drug is not listed`);
    ok(await page.locator(`${scope} ${tid('current-meds-none')}`).count() === 0, `${pre}: no 「該当なし」 beside current drugs`);

    // allergies with their source
    const al = await texts(page, scope, tid('allergy-item'));
    ok(al.length === 2 && al.every((a) => a.includes(`出典: 注射オーダ ${E.injection_start}`)) &&
        al.some((a) => a.includes('スギ')) && al.some((a) => a.includes('ハウスダスト')),
    `${pre}: allergies スギ and ハウスダスト from the injection order, with 「出典: 注射オーダ ${E.injection_start}」`, al);
    ok(await page.locator(`${scope} ${tid('allergy-none')}`).count() === 0, `${pre}: never 「アレルギー情報なし」 with allergies in an order`);

    // prescriptions as a pharmacist transcribes them
    if (showTab) {
        await showTab(page, 'prescriptions');
    }
    const rx = `${scope} ${tid('panel-prescriptions')}`;
    const lines = await page.$$eval(`${rx} [data-testid="rp-drug"]`, (els) => els.map((e) => e.textContent.replace(/\s+/g, ' ').trim()));
    const line = (re) => lines.find((l) => re.test(l)) || '';
    const has = (re, want, what) => {
        const l = line(re);
        ok(want.every((w) => l.includes(w)), `${pre}: line ${what}: ${want.join(' / ')}`, l || lines);
    };
    has(/プレドニン錠/, ['1日7錠 (朝4錠・昼2錠・夕1錠)', '7日分', E.rp1_start, '指示: 血圧低下が見られたら中止'], 'unequal doses');
    // 7 dosing days every other day: the 13th day from the start is the last
    has(/ダーゼン錠/, ['1回1錠', '隔日', '7日分', `${E.every_other_start}〜${E.every_other_last}`], 'every other day, with its last day');
    has(/アムロジピン/, ['月・木', '4日分'], 'weekdays');
    has(/ロキソニン/, ['頓用', '疼痛時', '1日2回まで', '10回分'], 'PRN');
    has(/酸化マグネシウム/, ['粉砕', '未解釈: RXE-8'], 'crushed, with RXE-8 not interpreted');
    has(/ボルタレンゲル/, ['部位: 左手', '調剤量 2本'], 'site and dispense');
    const steps = await page.$$eval(`${rx} [data-testid="rp"][data-step]`, (els) => els.map((e) =>
        [e.dataset.step, e.querySelector('[data-testid="rp-span"]')?.textContent.trim() ?? '']));
    eq(steps.map((s) => s[0]), ['1', '2', '3'], `${pre}: the taper's three steps in order`);
    eq(steps.map((s) => s[1].slice(0, 10)), E.taper, `${pre}: each step with its start date`);
    const tl = await page.$$eval(`${rx} [data-testid="timeline-row"]`, (els) => els.map((e) => ({
        name: e.querySelector('th').textContent.trim(), current: e.dataset.current,
        periods: [...e.querySelectorAll('[data-testid="timeline-period"]')].map((p) => [p.dataset.status, p.textContent.trim()])
    })));
    const taper = tl.find((r) => /プレドニゾロン/.test(r.name));
    ok(taper && taper.periods.length === 3 && taper.current === 'true' &&
        taper.periods.filter((p) => p[0] === 'current').length === 1 && /服用中/.test(taper.periods[1][1]),
    `${pre}: the timeline has one row for the taper, three periods, the second marked current in text`, tl);
    ok(tl.length >= 7, `${pre}: the timeline has a row per drug (${tl.length})`, tl.map((r) => r.name));

    // the injection: type, drugs with roles, route/site, times, rate
    if (showTab) {
        await showTab(page, 'injections');
    }
    const inj = norm(await page.locator(`${scope} ${tid('panel-injections')} ${tid('inj-order')}`).first().textContent());
    ok(['一般', '主剤', 'ソルデム３Ａ', '500 mL', '添加', 'アドナ', '50 mg', '10:00, 22:00', '部位: 左手',
        '指示: 血圧低下が見られたら中止'].every((w) => inj.includes(w)) && /102 (ml\/hr|ミリリットル／時間)/.test(inj),
    `${pre}: injection order: type, drugs with roles and amounts, times, site, rate, instruction`, inj);

    // the patient-info tab lists what was not interpreted
    if (showTab) {
        await showTab(page, 'profile');
    }
    ok(await page.locator(`${scope} ${tid('panel-profile')} ${tid('uninterpreted')}`).count() === 1,
        `${pre}: the patient-info tab has 「未解釈の項目」`);
    void print;
}

/* Patient 2 (no ADT-00): the band from a PID, marked. */
export async function checkP2(page, scope, E, pre) {
    if (!ok(await page.locator(scope).count() === 1, `${pre}: the patient is there (${scope})`)) {
        return; /* on paper a patient with no identity has no data-pid */
    }
    eq(norm(await page.locator(`${scope} ${tid('patient-name')}`).first().textContent()), '見本 花子',
        `${pre}: without ADT-00 the band shows the name from a PID`);
    const src = norm(await page.locator(`${scope} ${tid('patient-source')}`).first().textContent().catch(() => ''));
    ok(new RegExp(`^※ADT-00なし: \\S+ ${E.p2_source_date} のPIDより$`).test(src), `${pre}: marked 「※ADT-00なし: <type> ${E.p2_source_date} のPIDより」`, src);
    ok(await page.locator(`${scope} ${tid('allergy-none')}`).count() === 1, `${pre}: no allergy anywhere and nothing unread: 「アレルギー情報なし」`);
    const meds = await currentMeds(page, scope);
    ok(meds.length === 1 && /ムコスタ/.test(meds[0].name), `${pre}: current medication: its own prescription`, meds);
}
