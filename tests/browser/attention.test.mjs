// SPDX-License-Identifier: Apache-2.0
//
// Browser test of backup's "needs attention" mark in the viewer: an SS-MIX2 root with its two
// storages under Japanese names is backed up by giving the folder above it, then half of the
// patient folders are deleted and it is backed up again (exit 4). In Chromium: the generation
// picker marks the newest generation 要確認 and not the older one; the newest shows a red
// alert banner with both patient counts on the search screen and on a patient screen; the
// older generation shows no such banner; a patient of the deleted half is found in the older
// generation only. Prints TAP; exits 1 when a check fails, 2 when the fixture cannot be built.
//
//   MAMORI=build/src/cli/mamori MAMORI_GEN=build/tools/gen/mamori-gen ARTIFACTS=/tmp/art \
//       node tests/browser/attention.test.mjs

import { spawn, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const MAMORI = process.env.MAMORI;
const GEN = process.env.MAMORI_GEN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PASS = '要確認の試験 battery staple 4';

let nTests = 0;
let nFailed = 0;
function ok(cond, desc, detail) {
    nTests++;
    console.log(`${cond ? 'ok' : 'not ok'} ${nTests} - ${desc}`);
    if (!cond) {
        nFailed++;
        if (detail !== undefined) {
            console.log(JSON.stringify(detail).slice(0, 2000).split('\n').map((l) => '#   ' + l).join('\n'));
        }
    }
    return cond;
}

if (!MAMORI || !GEN) {
    console.log('1..0 # SKIP set MAMORI and MAMORI_GEN to the mamori and mamori-gen binaries');
    process.exit(77);
}
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'mamori-attention-'));
const ART = path.resolve(process.env.ARTIFACTS || TMP);
fs.mkdirSync(ART, { recursive: true });
function bail(msg) {
    console.log('Bail out! ' + msg);
    fs.rmSync(TMP, { recursive: true, force: true });
    process.exit(2);
}
const ENV = { ...process.env, MAMORI_PASSPHRASE: PASS, MAMORI_AUDIT_DIR: path.join(TMP, 'audit'),
    XDG_CACHE_HOME: path.join(TMP, 'cache'), MAMORI_LANG: 'ja' };
function run(bin, args) {
    try {
        return execFileSync(bin, args, { env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
        bail(`${path.basename(bin)} ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
}

// ---------- fixture ----------
const G = path.join(TMP, 'g');
const HOSP = path.join(TMP, '病院');
const ROOT = path.join(HOSP, 'SS-MIX2');
const STD = path.join(ROOT, '標準化ストレージ');
const R = path.join(TMP, 'repo');
run(GEN, ['--out', G, '--patients', '16', '--days', '60', '--seed', '43', '--extended',
    '--truth', path.join(TMP, 'truth.json'), '-q']);
fs.mkdirSync(ROOT, { recursive: true });
fs.renameSync(path.join(G, 'standard'), STD);
fs.renameSync(path.join(G, 'extended'), path.join(ROOT, '拡張ストレージ'));
const truth = JSON.parse(fs.readFileSync(path.join(TMP, 'truth.json'), 'utf8')).patients.map((p) => p.patient);
run(MAMORI, ['init', '--repo', R, '--user', 'nurse', '--kdf-passes', '1', '--kdf-memory', '1']);
run(MAMORI, ['-q', 'backup', '--repo', R, '--name', 'whole', HOSP]);
const folders = [];
for (const a of fs.readdirSync(STD)) {
    for (const b of fs.readdirSync(path.join(STD, a))) {
        for (const c of fs.readdirSync(path.join(STD, a, b))) {
            folders.push([a, b, c]);
        }
    }
}
folders.sort((x, y) => x.join('/').localeCompare(y.join('/')));
const gone = folders.filter((_, i) => i % 2 === 0);
for (const f of gone) {
    fs.rmSync(path.join(STD, ...f), { recursive: true });
}
const second = spawnSync(MAMORI, ['-q', 'backup', '--repo', R, '--name', 'half', HOSP], { env: ENV, encoding: 'utf8' });
ok(second.status === 4 && /要確認/.test(second.stderr), 'the backup after half the patients went exits 4 and says 要確認',
    { status: second.status, stderr: second.stderr });
const kept = truth.length - gone.length;
const lost = truth.find((p) => p.id === gone[0][2]);
if (!lost) {
    bail('a deleted patient folder is not in the truth file');
}

// ---------- mamori view ----------
const viewEnv = { ...ENV };
delete viewEnv.MAMORI_PASSPHRASE;
const view = spawn(MAMORI, ['view', '--repo', R, '--no-browser', '--port', '0'], { env: viewEnv, stdio: ['ignore', 'pipe', 'pipe'] });
const URL0 = await new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(null), 30000);
    view.stdout.on('data', (d) => {
        out += d;
        const m = /^(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) {
            clearTimeout(timer);
            resolve(m[1]);
        }
    });
    view.on('exit', () => resolve(null));
});
if (!URL0) {
    view.kill('SIGTERM');
    bail('mamori view did not print its URL');
}

const tid = (id) => `[data-testid="${id}"]`;
const norm = (s) => String(s ?? '').replace(/\s+/g, ' ').trim();
const problems = [];
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu'] });
let exitCode = 0;
try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ja-JP' })).newPage();
    page.on('pageerror', (e) => problems.push('script error: ' + e.message));
    page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) {
            problems.push('CSP: ' + m.text());
        }
    });
    page.setDefaultTimeout(15000);
    await page.goto(URL0);
    await page.locator(tid('login-passphrase')).fill(PASS);
    await page.locator(tid('login-submit')).click();
    await page.locator(tid('search-input')).waitFor({ timeout: 30000 });

    const opts = await page.$$eval(`${tid('generation-select')} option`, (os) => os.map((o) => ({ v: o.value, t: o.textContent, sel: o.selected })));
    ok(opts.length === 2 && opts[0].sel && /要確認/.test(opts[0].t) && !/要確認/.test(opts[1].t),
        'generation picker: the newest generation is marked 要確認, the older one is not', opts);
    const banner = page.locator(tid('banner-attention'));
    await banner.waitFor();
    const bt = norm(await banner.textContent());
    ok(/要確認/.test(bt) && bt.includes(`${kept} 人`) && bt.includes(`${truth.length} 人`),
        'search screen: the attention banner names both patient counts', bt);
    ok((await banner.getAttribute('role')) === 'alert', 'the banner is an alert');
    const [r, g, b] = (await banner.evaluate((el) => getComputedStyle(el).backgroundColor)).match(/\d+/g).map(Number);
    ok(r > g && r > b, 'the banner is red', [r, g, b]);
    await page.screenshot({ path: path.join(ART, 'attention-banner.png') });

    // a patient screen of the marked generation keeps the banner
    const keptP = truth.find((p) => !gone.some((f) => f[2] === p.id));
    await page.locator(tid('search-input')).fill(keptP.id);
    await page.locator(tid('search-input')).press('Enter');
    await page.locator(`${tid('result-row')}[data-pid="${keptP.id}"]`).press('Enter');
    await page.locator(tid('patient-header')).waitFor();
    ok(await page.locator(tid('banner-attention')).count() === 1, 'patient screen of the marked generation: the banner stays');
    await page.screenshot({ path: path.join(ART, 'attention-patient.png') });
    await page.locator(tid('back-button')).click();
    await page.locator(tid('search-input')).waitFor();

    // the deleted patient: not in the marked generation, found in the older one without a banner
    await page.locator(tid('search-input')).fill(lost.id);
    await page.locator(tid('search-input')).press('Enter');
    await page.locator(`${tid('search-results')}, ${tid('search-empty')}`).first().waitFor();
    ok(await page.locator(`${tid('result-row')}[data-pid="${lost.id}"]`).count() === 0,
        'a patient of the deleted half is not in the marked generation');
    await page.locator(tid('generation-select')).selectOption(opts[1].v);
    await page.locator(tid('banner-old')).waitFor();
    ok(await page.locator(tid('banner-attention')).count() === 0, 'the older generation shows no attention banner');
    await page.locator(tid('search-input')).fill(lost.id);
    await page.locator(tid('search-input')).press('Enter');
    await page.locator(`${tid('result-row')}[data-pid="${lost.id}"]`).waitFor();
    ok(true, 'the older generation finds the patient of the deleted half');
    ok(problems.length === 0, 'no CSP violation and no script error', problems);
} catch (e) {
    ok(false, 'the run finished without an exception', e.stack || String(e));
    exitCode = 1;
} finally {
    await browser.close();
    // the viewer writes its last audit events as it stops: wait for it before cleaning up
    await new Promise((resolve) => {
        if (view.exitCode !== null) {
            return resolve();
        }
        const t = setTimeout(() => view.kill('SIGKILL'), 5000);
        view.on('exit', () => {
            clearTimeout(t);
            resolve();
        });
        view.kill('SIGTERM');
    });
    fs.rmSync(TMP, { recursive: true, force: true });
}
console.log(`1..${nTests}`);
process.exit(nFailed || exitCode ? 1 : 0);
