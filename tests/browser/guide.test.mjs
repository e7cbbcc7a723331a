// SPDX-License-Identifier: Apache-2.0
//
// The emergency guide a medium carries (緊急時の使い方.html, share/medium/guide.html filled in
// by mamori init and media init), opened from the medium's folder in Chromium as a nurse would
// open it: the Japanese headings render with the label and hospital, nothing is requested but
// the file itself (self-contained), the type is large, and it prints on A4 with the English
// guide from a new page (the PDF's text holds the Japanese title on page 1). Prints TAP.
//
//   MAMORI=build/src/cli/mamori node tests/browser/guide.test.mjs   (optional: CHROMIUM, ARTIFACTS)

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { MAMORI, CHROMIUM, ok, note, makeRun, watch, shot, finish, pdfPages } from './common.mjs';

const X = makeRun('mamori-guide', 'guide-browser-passphrase');
const t0 = Date.now();
const R = path.join(X.TMP, 'medium');
X.env.MAMORI_VIEWER_COPY = '0';
X.run(MAMORI, ['-q', 'init', '--repo', R, '--kdf-passes', '1', '--kdf-memory', '1', '--allow-weak-secrets']);
X.run(MAMORI, ['-q', 'media', 'init', '--repo', R, '--label', 'MON', '--hospital', '1310012345']);
const FILE = path.join(R, '緊急時の使い方.html');

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
const problems = [];
const requests = [];
try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1300 }, locale: 'ja-JP' });
    watch(page, problems);
    page.on('request', (r) => requests.push(r.url()));
    await page.goto('file://' + FILE);
    const h = await page.$$eval('h1, h2, h3', (els) => els.map((e) => ({ tag: e.tagName, text: e.textContent.trim(),
        shown: e.offsetHeight > 0 && e.offsetWidth > 0, size: parseFloat(getComputedStyle(e).fontSize) })));
    const texts = h.map((x) => x.text);
    ok(texts[0] === '緊急時の使い方（停電・システム障害のとき）' && h[0].shown, 'the Japanese title is first and shown', h[0]);
    ok(['用意するもの', '手順', '困ったとき', 'You need', 'Steps', 'When something goes wrong'].every((t) => texts.includes(t)),
        'the Japanese headings, then the English ones', texts);
    ok(texts.indexOf('手順') < texts.indexOf('Steps'), 'Japanese first');
    ok(texts.includes('ビューアのプログラムが本物か確かめる') && texts.includes('パスフレーズが通らない') &&
        texts.includes('どの時点（日時）を選ぶか'), 'what to do when things go wrong, how to check the program', texts);
    const medium = await page.$eval('.medium', (e) => e.textContent);
    ok(/媒体ラベル: MON/.test(medium) && /病院: 1310012345/.test(medium), 'the label and hospital are filled in', medium);
    const body = await page.$eval('body', (e) => parseFloat(getComputedStyle(e).fontSize));
    ok(body >= 18, `large type on screen (${body} px)`);
    ok(/not yet on this medium/.test(await page.textContent('body')), 'Windows: not yet on this medium');
    // the glyphs of the title are drawn by a font that has them: wider than one box per character
    const w = await page.$eval('h1', (e) => { const r = document.createRange(); r.selectNodeContents(e); return r.getBoundingClientRect().width; });
    ok(w > 200, `the title is drawn (${Math.round(w)} px wide)`);
    await shot(page, X.ART, 'guide');
    const pdf = path.join(X.TMP, 'guide.pdf');
    await page.pdf({ path: pdf, format: 'A4', preferCSSPageSize: true });
    const pages = pdfPages(pdf);
    if (pages === null) {
        note('pdftotext missing: the printout is not read back');
    } else {
        ok(pages.length >= 2 && pages.length <= 6, `it prints on a few A4 pages (${pages.length})`);
        ok(/緊急時の使い方/.test(pages[0]) && !/Emergency guide \(power cut/.test(pages[0]),
            'page 1 is Japanese (the title in the PDF text)', pages[0].slice(0, 400));
        ok(pages.some((p, i) => i > 0 && /^\s*Emergency guide \(power cut/.test(p)), 'the English guide starts a new page');
    }
    const outside = requests.filter((u) => u !== 'file://' + encodeURI(FILE) && decodeURI(u) !== 'file://' + FILE);
    ok(requests.length >= 1 && outside.length === 0, 'nothing requested but the file itself', requests);
    ok(problems.length === 0, 'no script error or refused load', problems);
} catch (e) {
    ok(false, 'the run ended early: ' + e.message, e.stack);
} finally {
    await browser.close();
    X.cleanup();
}
finish(X.ART, t0);
