// SPDX-License-Identifier: Apache-2.0
//
// Browser test of issue 15's current medication against mamori-gen's truth (the Chromium half of
// tests/orders/test_show_orders.py): a small generated hospital backed up to a repository, the
// viewer opened on it, and for one patient with a taper, one with 隔日 (I1100000), one with a
// weekday pattern (W…) and one with a PRN line, the "as of" control set to several times — a
// taper's last day of one step and first day of the next, a patterned regimen's dosing day and
// rest day, its last dosing day and the day after it ends, the generation's own time — and the
// current-medication items on screen (kind, order number, Rp, drug code and name, PRN) equal to
// what the truth's start/until say (start ≤ date < until, or open-ended), with 本日投与日 /
// 本日休薬日 shown exactly when the truth's dose_days hold / do not hold the date. Judged from
// the truth alone, without mamori's rules. Prints TAP; exits 1 when a check fails, 2 when the
// fixture cannot be built.
//
//   MAMORI=build/src/cli/mamori MAMORI_GEN=build/tools/gen/mamori-gen node tests/browser/meds-truth.test.mjs

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
    MAMORI, GEN, CHROMIUM, tid, norm, ok, eq, note, makeRun, startView, watch, login, openPatient, backToSearch,
    shot, finish
} from './common.mjs';

const PASS = '服用中試験 correct horse 15';
if (!MAMORI || !GEN) {
    console.log('1..0 # SKIP set MAMORI and MAMORI_GEN to the binaries');
    process.exit(77);
}
const X = makeRun('mamori-meds-truth', PASS);
const { TMP, ART } = X;
const t0 = Date.now();

// ---------- fixture: 40 patients over 120 days (seed 15 has every construct needed) ----------

const S = path.join(TMP, 'gen');
const TRUTH = path.join(TMP, 'truth.json');
X.run(GEN, ['--out', S, '--patients', '40', '--days', '120', '--seed', '15', '--truth', TRUTH, '-q']);
const T = JSON.parse(fs.readFileSync(TRUTH, 'utf8'));
const R = path.join(TMP, 'repo');
X.run(MAMORI, ['init', '--repo', R, '--user', 'nurse']);
X.run(MAMORI, ['backup', '--repo', R, path.join(S, 'standard')]);
note(`fixture built in ${Date.now() - t0} ms`);

// ---------- the truth's answer, without mamori's rules ----------

const dayAdd = (iso, n) => new Date(Date.parse(iso.slice(0, 10) + 'T00:00:00Z') + n * 86400000).toISOString().slice(0, 10);
const rpsOf = (pt) => pt.prescriptions.flatMap((o) => o.rps.map((rp) => ({ o, rp })));

/* What is current for @pt at @asOf ("YYYY-MM-DDTHH:MM") by the truth's start/until/dose_days:
 * key "kind|order_no|rp|code" → {name, today, prn}. */
function expectedCurrent(pt, asOf) {
    const day = asOf.slice(0, 10);
    const out = {};
    for (const { o, rp } of rpsOf(pt)) {
        if (rp.start.slice(0, 10) > day || (rp.until && day >= rp.until)) {
            continue;
        }
        const today = rp.pattern ? (rp.dose_days.includes(day) ? 'dose' : 'rest') : '';
        for (const d of rp.drugs) {
            out[`prescription|${o.order_no}|${rp.rp}|${d.code}`] = { name: d.name, today, prn: !!rp.prn };
        }
    }
    for (const o of pt.injections) {
        const rp = o.rps[0];
        if (rp.start <= asOf && asOf <= rp.end) {
            out[`injection|${o.order_no}|${rp.rp}|`] = { name: rp.drugs.map((d) => d.name), today: '', prn: false };
        }
    }
    return out;
}

/* The as-of times worth asking for @pt, with what each is. */
function timesFor(pt) {
    const out = [];
    const add = (d, what) => out.push([d + 'T09:00', what]);
    for (const { rp } of rpsOf(pt)) {
        if (rp.step && rp.step.n > 1) {
            add(dayAdd(rp.start, -1), `last day of taper step ${rp.step.n - 1}`);
            add(rp.start, `first day of taper step ${rp.step.n}`);
        }
        if (rp.step && rp.step.n === rp.step.of && rp.until) {
            add(rp.until, 'the day after the taper ends');
        }
        if (rp.pattern && rp.dose_days.length) {
            const k = rp.pattern.code;
            const d0 = rp.dose_days[0];
            if (rp.start < d0) {
                add(rp.start, `${k} start day, not a dosing day`);
            }
            add(d0, `${k} first dosing day`);
            const rest = rp.dose_days.length > 1 ? dayAdd(d0, 1) : '';
            if (rest && !rp.dose_days.includes(rest)) {
                add(rest, `${k} rest day`);
            }
            add(rp.dose_days[rp.dose_days.length - 1], `${k} last dosing day`);
            if (rp.until) {
                add(rp.until, `${k} the day after it ends`);
            }
        }
        if (rp.prn) {
            add(dayAdd(rp.start, -1), 'the day before a PRN line starts');
            add(rp.start, 'a PRN line\'s start day');
        }
    }
    add(T.last_day, 'the last day generated');
    const seen = new Set();
    return out.filter(([t]) => !seen.has(t) && seen.add(t));
}

/* The first patient (in the truth's order) with an Rp for which @test holds, not in @taken. */
function firstWith(test, taken) {
    return T.patients.find((pt) => pt.patient && !taken.includes(pt) && rpsOf(pt).some(({ rp }) => test(rp)));
}
const chosen = [];
for (const [what, test] of [
    ['a taper', (rp) => rp.step && rp.step.of >= 3],
    ['隔日 I1100000', (rp) => rp.pattern && rp.pattern.code === 'I1100000'],
    ['a weekday pattern', (rp) => rp.pattern && rp.pattern.kind === 'weekdays'],
    ['a PRN line', (rp) => rp.prn]
]) {
    const pt = firstWith(test, chosen);
    if (ok(pt, `the truth has a patient with ${what}`)) {
        chosen.push(pt);
        note(`${what}: ${pt.patient.id}`);
    }
}

// ---------- the screen ----------

/* The current-medication items on screen: key → {name, today, todayText, prn}. */
async function itemsOnScreen(page) {
    const rows = await page.$$eval(tid('current-med'), (els) => els.map((e) => {
        const q = (id) => e.querySelector(`[data-testid="${id}"]`);
        return {
            kind: e.dataset.kind, order: e.dataset.orderNo, code: e.dataset.code, today: e.dataset.today,
            prn: e.dataset.prn, name: q('med-name')?.textContent ?? '', rpText: q('rp-order')?.textContent ?? '',
            todayText: q('rp-today')?.textContent ?? ''
        };
    }));
    const out = {};
    for (const r of rows) {
        const m = /Rp\s*(\S+)/.exec(r.rpText);
        const code = r.kind === 'prescription' ? r.code : '';
        out[`${r.kind}|${r.order}|${m ? m[1] : '?'}|${code}`] = {
            name: norm(r.name), today: r.today, todayText: norm(r.todayText), prn: r.prn === 'true'
        };
    }
    return out;
}

const seen = {}; /* which kinds of item the comparisons met: dose, rest, prn, plain */

/* Compare what the screen shows for @pid at @asOf with the truth. */
async function compareAt(page, pt, asOf, what) {
    const pid = pt.patient.id;
    const want = expectedCurrent(pt, asOf);
    const have = await itemsOnScreen(page);
    const vals = Object.values(want);
    note(`${pid} as of ${asOf}: ${vals.length} current by the truth (${vals.filter((w) => w.today === 'dose').length} dosing, ` +
        `${vals.filter((w) => w.today === 'rest').length} rest, ${vals.filter((w) => w.prn).length} PRN)`);
    for (const w of vals) {
        seen[w.today || (w.prn ? 'prn' : 'plain')] = true;
    }
    const wantKeys = Object.keys(want).sort();
    const haveKeys = Object.keys(have).sort();
    eq(haveKeys, wantKeys, `${pid} as of ${asOf} (${what}): the current items (order, Rp, drug)`);
    const bad = [];
    for (const k of wantKeys.filter((x) => have[x])) {
        const w = want[k];
        const g = have[k];
        const names = Array.isArray(w.name) ? w.name.every((n) => g.name.includes(n)) : g.name === w.name;
        const text = w.today === 'dose' ? '本日投与日' : w.today === 'rest' ? '本日休薬日' : '';
        if (!names || g.today !== w.today || g.todayText !== text || g.prn !== w.prn) {
            bad.push({ item: k, want: { ...w, todayText: text }, have: g });
        }
    }
    ok(bad.length === 0, `${pid} as of ${asOf} (${what}): drug names, PRN and 本日投与日/本日休薬日 as the truth's dose_days say`, bad);
}

/* Set the "as of" control to @asOf and wait for /api/patient's answer to be drawn. */
async function setAsOf(page, asOf) {
    await page.locator(tid('meds-asof-input')).fill(asOf);
    await page.locator(tid('meds-asof-apply')).click();
    const shown = asOf.replace('T', ' ');
    return page.waitForFunction((t) => !document.querySelector('[data-testid="meds-loading"]') &&
        document.querySelector('[data-testid="current-meds-title"]')?.textContent.includes(t) &&
        document.querySelector('[data-testid="meds-asof-state"]')?.dataset.custom === 'true', shown)
        .then(() => true, () => false);
}

const V = await startView(R, X.env);
if (!V.url) {
    X.bail(`mamori view did not print its URL: ${V.err()}`);
}
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
const problems = [];
let early = 0;
try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: 'ja-JP' });
    watch(page, problems);
    page.setDefaultTimeout(15000);
    await page.goto(V.url);
    await login(page, PASS);
    for (const pt of chosen) {
        const pid = pt.patient.id;
        if (!ok(await openPatient(page, pid), `search finds ${pid}`)) {
            continue;
        }
        await page.locator(tid('current-meds')).waitFor();
        eq(await page.locator(tid('meds-asof-state')).getAttribute('data-custom'), 'false',
            `${pid}: shown as of the generation's time when opened`);
        const genT = (await page.locator(tid('meds-asof-input')).inputValue()).slice(0, 16);
        await compareAt(page, pt, genT, 'the generation\'s time');
        for (const [asOf, what] of timesFor(pt)) {
            if (!ok(await setAsOf(page, asOf), `${pid}: the as-of control shows ${asOf}`,
                await page.locator(tid('current-meds-title')).textContent())) {
                continue;
            }
            await compareAt(page, pt, asOf, what);
            if (/rest day|first day of taper step 2/.test(what)) {
                await shot(page, ART, `meds-truth-${pid}-${asOf.slice(0, 10)}`, false);
            }
        }
        await shot(page, ART, `meds-truth-${pid}`);
        await page.locator(tid('meds-asof-reset')).click();
        await page.locator(`${tid('meds-asof-state')}[data-custom="false"]`).waitFor();
        ok((await page.locator(tid('meds-asof-input')).inputValue()).slice(0, 16) === genT,
            `${pid}: reset goes back to the generation's time`);
        await backToSearch(page);
    }
    eq(['dose', 'rest', 'prn', 'plain'].filter((k) => seen[k]), ['dose', 'rest', 'prn', 'plain'],
        'the comparisons met a dosing day, a rest day, a PRN line and a plain line');
    ok(problems.length === 0, 'no script error or CSP violation', problems);
} catch (e) {
    early = 1;
    ok(false, 'the run ended early: ' + e.message, e.stack);
} finally {
    await browser.close();
    await V.stop();
    X.cleanup();
}
finish(ART, t0, early);
