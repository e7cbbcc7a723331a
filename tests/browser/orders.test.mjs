// SPDX-License-Identifier: Apache-2.0
//
// Browser test of issue 15 on a storage made from hand-written HL7 files (tests/data/orders/make.py:
// unequal 4-2-1 doses, 隔日, 月・木, a 3-step taper, PRN with maximum and total, an injection with
// times and rate, AL1 inside an OMP-02, RXE-8 not interpreted, a patient without ADT-00): the
// viewer's screen (current medication first, the "as of" control, the 処方 tab's lines and
// timeline, the injection, allergies with their source, the band from a PID) and `mamori print`'s
// document, by data-testid. Prints TAP; exits 1 when a check fails, 2 when the fixture cannot be
// built.
//
//   MAMORI=build/src/cli/mamori MAMORI_GEN=build/tools/gen/mamori-gen node tests/browser/orders.test.mjs

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import {
    MAMORI, CHROMIUM, tid, norm, ok, eq, note, makeRun, startView, watch, login, openPatient, showTab, shot, finish
} from './common.mjs';
import { P1, P2, checkP1, checkP2 } from './orders-checks.mjs';

const PASS = '処方試験 correct horse 15';
if (!MAMORI) {
    console.log('1..0 # SKIP set MAMORI to the mamori binary');
    process.exit(77);
}
const HERE = path.dirname(fileURLToPath(import.meta.url));
const X = makeRun('mamori-orders', PASS);
const { TMP, ART } = X;
const t0 = Date.now();

// ---------- fixture: the HL7 files dated from today, one generation ----------

const pad = (n) => String(n).padStart(2, '0');
const now = new Date();
const TODAY = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
try {
    execFileSync('python3', [path.join(HERE, '..', 'data', 'orders', 'make.py'), '--today', TODAY, TMP], { stdio: 'pipe' });
} catch (e) {
    X.bail('make.py failed: ' + (e.stderr || e.message));
}
const E = JSON.parse(fs.readFileSync(path.join(TMP, 'expect.json'), 'utf8'));
const R = path.join(TMP, 'repo');
X.run(MAMORI, ['init', '--repo', R, '--user', 'nurse']);
X.run(MAMORI, ['backup', '--repo', R, path.join(TMP, 'standard')]);
const day = (n) => new Date(Date.parse(E.today + 'T00:00:00Z') + n * 86400000).toISOString().slice(0, 10);
note(`fixture built in ${Date.now() - t0} ms, today ${E.today}`);

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
    const main = tid('patient-view');

    // ---- patient 1 on screen ----
    ok(await openPatient(page, P1), `search finds ${P1}`);
    await page.locator(tid('current-meds')).waitFor();
    const state = await page.locator(tid('meds-asof-state')).getAttribute('data-custom');
    eq(state, 'false', 'the current medication is shown as of the generation\'s time by default');
    await checkP1(page, main, E, 'screen P1', false, showTab);
    await shot(page, ART, 'orders-p1-screen');

    // ---- the "as of" control: the taper's first step three days ago, before the 隔日 line ----
    const asOf = `${day(-3)}T09:00`;
    await page.locator(tid('meds-asof-input')).fill(asOf);
    await page.locator(tid('meds-asof-apply')).click();
    await page.locator(`${tid('meds-asof-state')}[data-custom="true"]`).waitFor();
    const asked = await page.waitForFunction((t) => document.querySelector('[data-testid="current-meds-title"]')?.textContent.includes(t),
        asOf.replace('T', ' ')).then(() => true, () => false);
    ok(asked, `the title says the chosen time (${asOf}) once /api/patient answered with as_of`,
        await page.locator(tid('current-meds-title')).textContent());
    const then = await page.$$eval(tid('current-med'), (els) => els.map((e) => e.textContent.replace(/\s+/g, ' ').trim()));
    ok(then.some((m) => /プレドニゾロン/.test(m) && /1回3錠/.test(m) && /第1段階/.test(m)) &&
        !then.some((m) => /ダーゼン|ロキソニン|ソルデム/.test(m)),
    `as of ${asOf}: the taper's first step, not what starts later`, then);
    await page.locator(tid('meds-asof-reset')).click();
    await page.locator(`${tid('meds-asof-state')}[data-custom="false"]`).waitFor();
    // the state flips at the click; the lines are the generation's only once the answer is in
    await page.locator(tid('meds-loading')).waitFor({ state: 'detached' });
    ok((await page.$$eval(tid('current-med'), (els) => els.length)) === 8, 'back to the generation\'s time: the 8 current lines');

    // ---- patient 2 (no ADT-00) ----
    await page.locator(tid('back-button')).click();
    ok(await openPatient(page, P2), `search finds ${P2} (no ADT-00)`);
    await page.locator(tid('current-meds')).waitFor();
    await checkP2(page, main, E, 'screen P2');
    await shot(page, ART, 'orders-p2-screen');

    // ---- mamori print: the same on paper ----
    const list = path.join(TMP, 'patients.txt');
    const out = path.join(TMP, 'print.html');
    fs.writeFileSync(list, `${P1}\n${P2}\n`);
    X.run(MAMORI, ['print', '--repo', R, '--patients', list, '--out', out]);
    await page.goto('file://' + out);
    await page.locator(tid('print-patient')).first().waitFor();
    await checkP1(page, `[data-testid="print-patient"][data-pid="${P1}"]`, E, 'print P1', true, null);
    await checkP2(page, `[data-testid="print-patient"][data-pid="${P2}"]`, E, 'print P2');
    await page.emulateMedia({ media: 'print' });
    ok(await page.locator(`${tid('print-patient')} ${tid('current-meds')}`).first().isVisible(), 'print media: the current medication is printed');
    await shot(page, ART, 'orders-print');
    ok(problems.length === 0, 'no script error or CSP violation', problems);
    void norm;
} catch (e) {
    early = 1;
    ok(false, 'the run ended early: ' + e.message, e.stack);
} finally {
    await browser.close();
    await V.stop();
    X.cleanup();
}
finish(ART, t0, early);
