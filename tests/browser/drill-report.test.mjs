// SPDX-License-Identifier: Apache-2.0
//
// The restore drill's report (issue 21): `mamori drill` on a mamori-gen storage writes an HTML
// report, opened here in Chromium as an auditor would open it: the Japanese title and sections
// render, the figures (time to a usable viewer, full restore, throughput, RPO) hold measured
// values, every check says 合格, the verdict and the signature block are there, nothing is
// requested but the file itself, no patient ID or name is in it, it prints on A4, and the
// English report (MAMORI_LANG=en) says the same in English. Screenshot: drill-report.png.
// Prints TAP.
//
//   MAMORI=build/src/cli/mamori MAMORI_GEN=build/tools/gen/mamori-gen \
//     node tests/browser/drill-report.test.mjs   (optional: CHROMIUM, ARTIFACTS)

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { MAMORI, GEN, CHROMIUM, ok, note, makeRun, watch, shot, finish, pdfPages } from './common.mjs';

const X = makeRun('mamori-drill-report', 'drill-report-browser-passphrase');
const t0 = Date.now();
const R = path.join(X.TMP, 'medium');
const S = path.join(X.TMP, 'src');
const TRUTH = path.join(X.TMP, 'truth.json');
X.env.MAMORI_VIEWER_COPY = '0';
X.env.TMPDIR = path.join(X.TMP, 'scratch');
fs.mkdirSync(X.env.TMPDIR);
X.run(GEN, ['--out', S, '--patients', '30', '--days', '3', '--extended', '--truth', TRUTH, '-q']);
X.run(MAMORI, ['-q', 'init', '--repo', R, '--kdf-passes', '1', '--kdf-memory', '1', '--allow-weak-secrets']);
X.run(MAMORI, ['-q', 'media', 'init', '--repo', R, '--label', 'MON', '--hospital', '1310012345']);
X.run(MAMORI, ['-q', 'backup', '--repo', R, S]);
X.run(MAMORI, ['-q', 'verify', '--repo', R, '--read-data']);
const FILE = path.join(X.TMP, 'report-ja.html');
const FILE_EN = path.join(X.TMP, 'report-en.html');
const res = JSON.parse(X.run(MAMORI, ['--json', 'drill', '--repo', R, '--report', FILE]));
X.env.MAMORI_LANG = 'en';
X.run(MAMORI, ['--json', 'drill', '--repo', R, '--report', FILE_EN]);
const patients = JSON.parse(fs.readFileSync(TRUTH, 'utf8')).patients.map((p) => p.patient);

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
const problems = [];
const requests = [];
try {
    ok(res.ok === true && fs.existsSync(FILE), 'the drill passed and wrote its report', res.result);
    const page = await browser.newPage({ viewport: { width: 900, height: 1200 }, locale: 'ja-JP' });
    watch(page, problems);
    page.on('request', (r) => requests.push(r.url()));
    await page.goto('file://' + FILE);
    ok((await page.title()) === '復元訓練報告書', 'the title', await page.title());
    const h = await page.$$eval('h1, h2', (els) => els.map((e) => ({ text: e.textContent.trim(),
        shown: e.offsetHeight > 0 && e.offsetWidth > 0 })));
    const texts = h.map((x) => x.text);
    ok(texts[0] === '復元訓練報告書' && h[0].shown, 'the heading 復元訓練報告書 is first and shown', texts);
    ok(['実施内容', '目標復旧時間（RTO）の実測', '目標復旧時点（RPO）: ソースごと', '確認項目', '確認欄']
        .every((t) => texts.includes(t)), 'the sections', texts);
    const rows = await page.$$eval('tr', (trs) => Object.fromEntries(trs.map((tr) => [
        tr.querySelector('th')?.textContent.trim(), tr.querySelector('td')?.textContent.trim()])));
    const secs = (v) => { const m = /^([0-9]+\.[0-9]{2}) 秒$/.exec(v || ''); return m ? Number(m[1]) : NaN; };
    ok(secs(rows['閲覧可能までの時間']) >= 0 && Math.abs(secs(rows['閲覧可能までの時間']) - res.timings.viewer_s) < 0.01,
        'time to a usable viewer, as measured', rows['閲覧可能までの時間']);
    ok(secs(rows['全復元時間']) >= 0 && Math.abs(secs(rows['全復元時間']) - res.timings.restore_s) < 0.01,
        'full restore time, as measured', rows['全復元時間']);
    ok(/^[0-9]+\.[0-9] MiB\/秒$/.test(rows['転送速度'] || ''), 'throughput', rows['転送速度']);
    ok(rows['復元したファイル'] === String(res.files), 'files restored', rows['復元したファイル']);
    ok(rows['世代 ID'] === res.generation.id && rows['ガードの判定'] === 'clean', 'the generation and its verdict',
        [rows['世代 ID'], rows['ガードの判定']]);
    ok(rows['媒体'] === 'MON' && rows['病院'] === '1310012345' && rows['リポジトリ ID'] === res.repo_id,
        'the medium, hospital and repository', [rows['媒体'], rows['病院'], rows['リポジトリ ID']]);
    ok(rows['実施者（鍵スロット）'] === res.user && rows['実施した PC'] === res.host, 'who ran it, where',
        [rows['実施者（鍵スロット）'], rows['実施した PC']]);
    const rpoKey = Object.keys(rows).find((k) => k && k.startsWith('src ('));
    ok(rpoKey && /^0 日 0 時間 [0-9]+ 分$/.test(rows[rpoKey]), 'the RPO of the source', [rpoKey, rpoKey && rows[rpoKey]]);
    const checks = await page.$$eval('table.checks tr', (trs) => trs.map((tr) => [
        tr.querySelector('th').textContent.trim(), tr.querySelector('td span').textContent.trim()]));
    ok(checks.length === 9 && checks.every((c) => c[1] === '合格'), 'nine checks, each 合格', checks);
    ok((await page.textContent('.verdict')).trim() === '総合判定: 合格', 'the verdict', await page.textContent('.verdict'));
    ok(await page.$$eval('table.sign th', (t) => t.map((e) => e.textContent).join('|')) ===
        '監査者 氏名|監査者 署名|確認日|実施者 署名', 'the signature block');
    const body = await page.textContent('body');
    const leaked = patients.filter((p) => body.includes(p.id) || (p.name && body.includes(p.name)));
    ok(leaked.length === 0, 'no patient ID or name in the report', leaked.slice(0, 3).map(() => '(hidden)'));
    ok((await page.$$('script')).length === 0, 'no script');
    const w = await page.$eval('h1', (e) => { const r = document.createRange(); r.selectNodeContents(e); return r.getBoundingClientRect().width; });
    ok(w > 100, `the title is drawn (${Math.round(w)} px wide)`);
    await shot(page, X.ART, 'drill-report');
    const pdf = path.join(X.TMP, 'report.pdf');
    await page.pdf({ path: pdf, format: 'A4', preferCSSPageSize: true });
    const pages = pdfPages(pdf);
    if (pages === null) {
        note('pdftotext missing: the printout is not read back');
    } else {
        ok(pages.length >= 1 && pages.length <= 3, `it prints on one to three A4 pages (${pages.length})`);
        ok(/復元訓練報告書/.test(pages[0]), 'page 1 holds the title', pages[0].slice(0, 300));
        ok(/監査者/.test(pages[pages.length - 1]), 'the signature block is printed');
    }
    const outside = requests.filter((u) => decodeURI(u) !== 'file://' + FILE && u !== 'file://' + encodeURI(FILE));
    ok(requests.length >= 1 && outside.length === 0, 'nothing requested but the file itself', requests);
    const en = await browser.newPage({ viewport: { width: 900, height: 1200 }, locale: 'en-US' });
    watch(en, problems);
    await en.goto('file://' + FILE_EN);
    const entexts = await en.$$eval('h1, h2', (els) => els.map((e) => e.textContent.trim()));
    ok(entexts[0] === 'Restore drill report' && entexts.includes('RTO measured') && entexts.includes('Checks'),
        'the English report', entexts);
    ok((await en.textContent('.verdict')).trim() === 'Overall verdict: PASS', 'the English verdict');
    ok(problems.length === 0, 'no script error or refused load', problems);
} catch (e) {
    ok(false, 'the run ended early: ' + e.message, e.stack);
} finally {
    await browser.close();
    X.cleanup();
}
finish(X.ART, t0);
