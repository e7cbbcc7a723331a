// SPDX-License-Identifier: Apache-2.0
//
// Browser test of the ransomware guard in the viewer's generation picker (issue 18): a
// mamori-gen storage is backed up (clean), then a ransom note is dropped into it and it is
// backed up again (suspect, exit 4). In Chromium: the picker opens on the older, good
// generation, not the newest; the newest is marked 要注意 and the good one is not; choosing the
// suspect one shows the red alert banner with its reasons in words. After `mamori guard accept`
// (a person's passphrase) the picker opens on the accepted generation, marked 承認済み, with no
// alert. A second medium whose only generation is suspect opens on it, with the alert and the
// warning that no good generation is left (never pretending). In English the same marks read
// "suspect" / "accepted". Prints TAP; exits 1 when a check fails, 2 when the fixture cannot be
// built.
//
//   MAMORI=build/src/cli/mamori MAMORI_GEN=build/tools/gen/mamori-gen ARTIFACTS=/tmp/art \
//       node tests/browser/guard.test.mjs

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { MAMORI, GEN, CHROMIUM, ok, eq, finish, makeRun, startView, tid, norm, watch, login, shot } from './common.mjs';

const PASS = 'ガードの試験 correct horse 18';

if (!MAMORI || !GEN) {
    console.log('1..0 # SKIP set MAMORI and MAMORI_GEN to the mamori and mamori-gen binaries');
    process.exit(77);
}
const t0 = Date.now();
const X = makeRun('mamori-guard', PASS);
const { TMP, ART, run, bail } = X;
const ENV = X.env;
ENV.XDG_CACHE_HOME = path.join(TMP, 'cache');
ENV.MAMORI_VIEWER_COPY = '0';

/* Run mamori with @args. @return {status, stdout, stderr} */
function mamori(args) {
    return spawnSync(MAMORI, args, { env: ENV, encoding: 'utf8' });
}

/* The generations of @repo (mamori generations --json) and its exit status (4 while a suspect
 * generation stands). */
function generations(repo) {
    const r = mamori(['generations', '--repo', repo, '--json']);
    if (r.status !== 0 && r.status !== 4) {
        bail('mamori generations failed: ' + r.stderr);
    }
    return { list: JSON.parse(r.stdout || '[]'), status: r.status };
}

// ---------- fixture ----------
const G = path.join(TMP, 'g');
const R = path.join(TMP, 'repo');
const R2 = path.join(TMP, 'repo-all-suspect');
run(GEN, ['--out', G, '--patients', '12', '--days', '30', '--seed', '18', '--truth', path.join(TMP, 'truth.json'), '-q']);
const PID = JSON.parse(fs.readFileSync(path.join(TMP, 'truth.json'), 'utf8')).patients[0].patient.id;
const STD = path.join(G, 'standard');
for (const r of [R, R2]) {
    run(MAMORI, ['init', '--repo', r, '--user', 'it-admin', '--kdf-passes', '1', '--kdf-memory', '1', '--allow-weak-secrets']);
}
const first = mamori(['-q', 'backup', '--repo', R, '--name', 'good', STD]);
ok(first.status === 0, 'the first backup is clean (exit 0)', { status: first.status, stderr: first.stderr });
fs.writeFileSync(path.join(STD, 'HOW_TO_DECRYPT.html'), '<html><body>Your files are encrypted.</body></html>\n');
fs.writeFileSync(path.join(STD, 'README_RESTORE.txt'), 'Your files are encrypted. Pay to restore them.\n');
const second = mamori(['-q', 'backup', '--repo', R, '--name', 'attacked', STD]);
ok(second.status === 4, 'the backup after ransom notes appeared exits 4 (suspect)', { status: second.status, stderr: second.stderr });
const gens = generations(R);
if (gens.list.length !== 2) {
    bail('the medium does not hold two generations');
}
const [good, bad] = gens.list;
eq([good.guard, bad.guard, bad.guard_accepted, gens.status], ['clean', 'suspect', false, 4],
    'generations --json: clean, then suspect and not accepted; exit 4 while it stands');
const only = mamori(['-q', 'backup', '--repo', R2, '--name', 'only', STD]);
ok(only.status === 4, 'a medium whose only generation has the ransom notes: exit 4', { status: only.status, stderr: only.stderr });

const problems = [];
let current = null; /* the viewer running, stopped in the end whatever happened */
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu'] });

/* Open the viewer of @repo in a fresh page (Japanese unless @locale), log in. @return {page, view} */
async function open(repo, locale = 'ja-JP') {
    const view = await startView(repo, ENV);
    current = view;
    if (!view.url) {
        bail('mamori view did not start: ' + view.err());
    }
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale });
    const page = await ctx.newPage();
    watch(page, problems);
    page.setDefaultTimeout(15000);
    await page.goto(view.url);
    if (locale !== 'ja-JP') {
        await page.locator(tid('lang-en')).click();
    }
    await login(page, PASS);
    return { page, view, ctx };
}

/* The picker's options: value, text, selected. */
function options(page) {
    return page.$$eval(`${tid('generation-select')} option`, (os) => os.map((o) => ({ v: o.value, t: o.textContent, sel: o.selected })));
}

try {
    // ---- the newest generation is suspect: the picker opens on the good one
    let { page, view, ctx } = await open(R);
    let opts = await options(page);
    const optGood = opts.find((o) => o.v === good.id);
    const optBad = opts.find((o) => o.v === bad.id);
    ok(optGood && optBad && optGood.sel && !optBad.sel, 'the picker opens on the older, good generation, not the newest (suspect) one', opts);
    ok(optBad && /要注意/.test(optBad.t) && !/要注意/.test(optGood.t), 'the suspect generation is marked 要注意, the good one is not', opts);
    ok(await page.locator(tid('banner-suspect')).count() === 0, 'the good generation shows no suspect banner');
    ok(await page.locator(tid('banner-old')).count() === 1, 'the good generation says it is not the latest data');
    await shot(page, ART, 'guard-default-good', false);

    await page.locator(tid('generation-select')).selectOption(bad.id);
    const banner = page.locator(tid('banner-suspect'));
    await banner.waitFor();
    ok((await banner.getAttribute('role')) === 'alert', 'choosing the suspect generation shows an alert banner');
    const reasons = await page.$$eval(`${tid('banner-suspect-reasons')} li`, (ls) => ls.map((l) => l.textContent));
    ok(reasons.length > 0 && reasons.every((l) => l.length > 0), 'the banner lists the reasons in words', reasons);
    ok(!reasons.some((l) => /HOW_TO_DECRYPT|README_RESTORE|\/|\\/.test(l)), 'no path or file name in the reasons', reasons);
    ok(await page.locator(tid('banner-no-good')).count() === 0, 'a good generation exists: no "no good generation" warning');
    await shot(page, ART, 'guard-suspect-chosen', false);
    const api = await page.evaluate(() => fetch('/api/generations').then((r) => r.json()));
    const apiBad = (api.generations || []).find((x) => x.id === bad.id) || {};
    ok(api['default'] === good.id && !api.no_good && apiBad.guard_accepted === false &&
        apiBad.guard_said && apiBad.guard_said.ja && apiBad.guard_said.en && apiBad.guard_said.ja !== apiBad.guard_said.en,
        '/api/generations: the default is the good one; the suspect one has its reasons in Japanese and English', api);

    // ---- mamori print of the suspect generation: the same alert on paper
    const list = path.join(TMP, 'patients.txt');
    const out = path.join(TMP, 'print.html');
    fs.writeFileSync(list, PID + '\n');
    const pr = mamori(['print', '--repo', R, '--patients', list, '--out', out, '--generation', bad.id]);
    ok(pr.status === 0, 'mamori print of the suspect generation: exit 0', pr.stderr);
    await page.goto('file://' + out);
    await page.locator(tid('banner-suspect')).waitFor();
    ok(await page.locator(`${tid('banner-suspect-reasons')} li`).count() > 0, 'the printed page carries the alert with the reasons');
    await ctx.close();
    await view.stop();

    // ---- English
    ({ page, view, ctx } = await open(R, 'en-US'));
    opts = await options(page);
    ok(opts.some((o) => o.v === bad.id && /suspect/.test(o.t)) && opts.some((o) => o.v === good.id && o.sel),
        'in English: the suspect generation reads "suspect", the good one is chosen', opts);
    await ctx.close();
    await view.stop();

    // ---- a person accepts it: the default moves to it
    const acc = mamori(['guard', 'accept', bad.id.slice(0, 12), '--repo', R, '--reason', 'テストの誤検知']);
    ok(acc.status === 0, 'guard accept with a person\'s passphrase: exit 0', { status: acc.status, stdout: acc.stdout, stderr: acc.stderr });
    const after = generations(R);
    eq([after.list[1].guard_accepted, after.status], [true, 0], 'generations --json after guard accept: accepted, exit 0');
    ({ page, view, ctx } = await open(R));
    opts = await options(page);
    const accepted = opts.find((o) => o.v === bad.id);
    ok(accepted && accepted.sel && /承認済み/.test(accepted.t) && !/要注意/.test(accepted.t),
        'after guard accept the picker opens on the accepted generation, marked 承認済み', opts);
    ok(await page.locator(tid('banner-suspect')).count() === 0, 'the accepted generation shows no alert');
    const note = page.locator(tid('banner-accepted'));
    ok(await note.count() === 1 && /承認/.test(norm(await note.textContent())), 'it says an administrator accepted it');
    await shot(page, ART, 'guard-accepted', false);
    await ctx.close();
    await view.stop();

    // ---- every generation is suspect: the newest, with the alert and a clear warning
    ({ page, view, ctx } = await open(R2));
    opts = await options(page);
    ok(opts.length === 1 && opts[0].sel && /要注意/.test(opts[0].t), 'the only (suspect) generation is shown, marked 要注意', opts);
    await page.locator(tid('banner-suspect')).waitFor();
    const ng = page.locator(tid('banner-no-good'));
    ok(await ng.count() === 1 && /安全と確認された時点がありません/.test(norm(await ng.textContent())),
        'no good generation: the banner says so', await ng.count() ? await ng.textContent() : null);
    await shot(page, ART, 'guard-no-good', false);
    await ctx.close();
    await view.stop();
    ok(problems.length === 0, 'no CSP violation and no script error', problems);
} catch (e) {
    ok(false, 'the run finished without an exception', e.stack || String(e));
} finally {
    await browser.close();
    if (current) {
        await current.stop();
    }
    X.cleanup();
}
finish(ART, t0);
