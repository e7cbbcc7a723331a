// SPDX-License-Identifier: Apache-2.0
//
// Browser test of the viewer's screen and paper layout (issue 14, "a screen that tells the
// whole truth"): the patient band stays in view on every tab and is printed on every page with
// page X/Y; CDA documents are shown as text, never as markup; Back/Forward move within the
// viewer and no URL carries a patient ID or name; the lab matrix keeps its item, unit and range
// columns and its header row in view; day N of a stay counts from the generation's time; the
// ward screen lists exactly the current inpatients of a ward; search by birth year and by name
// with a birth date. Patients are chosen at random from the generator's truth file with a
// fixed seed (SCREEN_SEED overrides it). Prints TAP; exits 1 when a check fails, 2 when the
// fixture cannot be built.
//
//   MAMORI=build/src/cli/mamori MAMORI_GEN=build/tools/gen/mamori-gen ARTIFACTS=/tmp/art \
//       node tests/browser/screen.test.mjs
//
// Optional: CHROMIUM (default /usr/bin/chromium), KEEP_TMP=1, SCREEN_SEED=<n>,
// DOCS_IMG=<dir> (also write patient-screen.png and printed-page.png there, for docs/img).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
    MAMORI, GEN, CHROMIUM, tid, norm, ok, eq, note, rng, makeRun, startView, watch, login, search,
    enterPatient, showTab as openTab, shot, pdfPages, finish
} from './common.mjs';

const PASS = '画面試験 correct horse 8';
const PICK_SEED = Number(process.env.SCREEN_SEED || 14014);
const TABS = ['visits', 'admissions', 'diagnoses', 'prescriptions', 'injections', 'labs', 'exams', 'documents', 'images'];

if (!MAMORI || !GEN) {
    console.log('1..0 # SKIP set MAMORI and MAMORI_GEN to the mamori and mamori-gen binaries');
    process.exit(77);
}
const X = makeRun('mamori-screen', PASS);
const { TMP, ART } = X;
const t0 = Date.now();

// ---------- fixture: a storage with its truth file, one generation ----------

const S = path.join(TMP, 'storage');
const R = path.join(TMP, 'repo');
X.run(GEN, ['--out', S, '--patients', '150', '--days', '90', '--seed', '21', '--extended',
    '--truth', path.join(TMP, 'truth.json'), '-q']);
X.run(MAMORI, ['init', '--repo', R, '--user', 'nurse']);
X.run(MAMORI, ['backup', '--repo', R, path.join(S, 'standard'), path.join(S, 'extended')]);
const T = JSON.parse(fs.readFileSync(path.join(TMP, 'truth.json'), 'utf8'));
const rand = rng(PICK_SEED);
note(`fixture built in ${Date.now() - t0} ms: ${T.patients.length} patients; choice seed ${PICK_SEED}`);

const byId = new Map(T.patients.map((p) => [p.patient.id, p]));
const nosp = (s) => String(s ?? '').replace(/\s+/g, '');

// The ward a patient stays in now, as the truth's encounters say (null: not admitted).
function wardNow(P) {
    const ev = P.encounters.filter((e) => e.kind !== 'outpatient' && !e.kind.startsWith('planned_'));
    let w = null;
    for (const e of ev) {
        if (e.kind === 'admission' || e.kind === 'transfer') {
            w = e.ward || '';
        } else if ((e.kind === 'leave' || e.kind === 'return') && w !== null && e.ward) {
            w = e.ward;
        } else if (e.kind === 'discharge') {
            w = null;
        }
    }
    return w || null;
}
function admittedOn(P) {
    const ev = P.encounters.filter((e) => e.kind === 'admission');
    return ev.length ? ev[ev.length - 1].date : null;
}

const INPATIENTS = T.patients.filter((p) => wardNow(p));
const WITH_CDA = T.patients.filter((p) => p.documents.some((d) => d.format === 'cda'));
const WITH_LABS = T.patients.filter((p) => new Set(p.labs.map((l) => l.collected_at)).size > 8);
if (!INPATIENTS.length || !WITH_CDA.length || !WITH_LABS.length) {
    X.bail('the fixture lacks an inpatient, a CDA document or a long lab series (generator changed?)');
}
// the band patient: many labs (a long page) and a CDA note; else any with many labs
const BAND = rand.one(WITH_LABS.filter((p) => WITH_CDA.includes(p))) || rand.one(WITH_LABS);
const OTHER = rand.one(T.patients.filter((p) => p !== BAND));
const CDA_P = rand.one(WITH_CDA);
const STAY_P = rand.one(INPATIENTS);
note(`band ${BAND.patient.id}, other ${OTHER.patient.id}, CDA ${CDA_P.patient.id}, inpatient ${STAY_P.patient.id}`);

// ---------- the viewer ----------

const V = await startView(R, X.env);
if (!V.url) {
    X.bail(`mamori view did not print its URL: ${V.err()}`);
}
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
const problems = [];
const urls = new Set();
let exitCode = 0;

async function openPatient(page, pid) {
    const rows = await search(page, pid);
    ok(rows[0] === pid, `search by ID finds ${pid}`, rows);
    await enterPatient(page, pid, 'click');
    urls.add(page.url());
}
async function showTab(page, name) {
    await openTab(page, name);
    urls.add(page.url());
}
async function shownPatient(page) {
    return norm(await page.locator(tid('patient-id')).first().textContent());
}
async function selectedTab(page) {
    return page.$eval('[role=tab][aria-selected=true]', (el) => el.dataset.testid.replace(/^tab-/, ''));
}
async function genTime(page) {
    return page.evaluate(() => fetch('/api/generations', { credentials: 'same-origin' }).then((r) => r.json()))
        .then((j) => (j.generations.find((g) => g.id === j['default']) || j.generations[0]).time);
}
// days from "YYYY-MM-DD" a to b, plus one (day 1 is the day of admission)
const dayN = (a, b) => Math.round((Date.parse(b + 'T00:00:00Z') - Date.parse(a + 'T00:00:00Z')) / 86400000) + 1;

try {
    const ctx = await browser.newContext({ viewport: { width: 1920, height: 1000 }, locale: 'ja-JP' });
    const page = await ctx.newPage();
    watch(page, problems);
    page.on('framenavigated', (f) => {
        if (f === page.mainFrame()) {
            urls.add(f.url());
        }
    });
    await page.goto(V.url);
    await login(page, PASS);
    urls.add(page.url());
    ok(/#\/search$/.test(page.url()), 'after the login the URL is #/search', page.url());
    const GT = await genTime(page);
    const GDATE = GT.slice(0, 10);

    // ---- search by birth year and by name with a birth date ----
    {
        const P = rand.one(T.patients);
        const b = P.patient.birth_date;
        const y = Number(b.slice(0, 4));
        const want = T.patients.filter((q) => q.patient.birth_date.startsWith(b.slice(0, 5))).map((q) => q.patient.id).sort();
        eq((await search(page, String(y))).sort(), want, `search "${y}": exactly the ${want.length} patients born that year`);
        if (y >= 1927 && y <= 1988) {
            eq((await search(page, `S${y - 1925}`)).sort(), want, `search "S${y - 1925}": the same patients`);
            eq((await search(page, `昭和${y - 1925}年`)).sort(), want, `search "昭和${y - 1925}年": the same patients`);
        } else if (y >= 1990 && y <= 2018) {
            eq((await search(page, `平成${y - 1988}年`)).sort(), want, `search "平成${y - 1988}年": the same patients`);
        }
        const fam = P.patient.kana.split(' ')[0];
        const want2 = T.patients.filter((q) => q.patient.birth_date === b &&
            (nosp(q.patient.kana).includes(fam) || nosp(q.patient.name).includes(fam))).map((q) => q.patient.id).sort();
        const got2 = (await search(page, `${fam} ${b}`)).sort();
        ok(got2.includes(P.patient.id), `search "${fam} ${b}" finds the patient`, got2);
        eq(got2, want2, `search "${fam} ${b}": only patients with that name and that birth date`);
        const other = T.patients.find((q) => q.patient.birth_date !== b);
        eq(await search(page, `${fam} ${other.patient.birth_date}`),
            T.patients.filter((q) => q.patient.birth_date === other.patient.birth_date &&
                (nosp(q.patient.kana).includes(fam) || nosp(q.patient.name).includes(fam))).map((q) => q.patient.id),
            'the same name with another birth date does not find the patient');
        const given = P.patient.name.split(' ')[0];
        ok((await search(page, `${b.slice(0, 4)} ${given}`)).includes(P.patient.id), `search "${b.slice(0, 4)} ${given}" (year, then name) finds the patient`);
        await shot(page, ART, 'search-year');
    }

    // ---- the band stays in view on every tab ----
    await openPatient(page, BAND.patient.id);
    const W = await page.evaluate(() => document.querySelector('#mm-main').getBoundingClientRect().width);
    ok(W > 1700, `a 1920px screen is used (main is ${Math.round(W)}px wide)`);
    for (const name of TABS) {
        await showTab(page, name);
        ok(new RegExp(`#/p/[0-9a-f]{24}/${name}$`).test(page.url()), `tab ${name}: URL is #/p/<handle>/${name}`, page.url());
        await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
        await page.waitForTimeout(50);
        const r = await page.evaluate(() => {
            const b = document.querySelector('[data-testid="patient-header"]').getBoundingClientRect();
            return { top: b.top, bottom: b.bottom, h: window.innerHeight, y: window.scrollY };
        });
        ok(r.top >= 0 && r.bottom <= r.h, `tab ${name}: the band is in view after scrolling (scrollY ${Math.round(r.y)})`, r);
        eq([norm(await page.locator(tid('patient-name')).textContent()), await shownPatient(page)],
            [BAND.patient.name, BAND.patient.id], `tab ${name}: the band shows the truth's name and ID`);
        if (name === 'labs' || name === 'visits') {
            await shot(page, ART, `band-scrolled-${name}`, false);
        }
    }
    if (BAND.allergies.length) {
        const c = await page.locator(tid('allergy-list')).evaluate((el) => getComputedStyle(el).color);
        const [rr, gg, bb] = c.match(/\d+/g).map(Number);
        ok(rr > 150 && gg < 90 && bb < 90, 'allergies in the band are red', c);
    }

    // ---- the lab matrix keeps item, unit and range at the left and the times on top ----
    await showTab(page, 'labs');
    await page.setViewportSize({ width: 1100, height: 1000 }); /* a matrix wider than its box */
    await page.evaluate(() => window.scrollTo(0, 0));
    const lab = await page.evaluate(async () => {
        const sc = document.querySelector('[data-testid="lab-scroll"]');
        sc.scrollLeft = 0;
        sc.scrollTop = 0;
        await new Promise((r) => requestAnimationFrame(r));
        const row = sc.querySelector('tbody tr');
        const cells = [row.cells[0], row.cells[1], row.cells[2]];
        const before = cells.map((c) => c.getBoundingClientRect().left);
        sc.scrollLeft = sc.scrollWidth;
        sc.scrollTop = sc.scrollHeight;
        await new Promise((r) => requestAnimationFrame(r));
        const box = sc.getBoundingClientRect();
        const after = cells.map((c) => c.getBoundingClientRect());
        const head = sc.querySelector('thead th:last-child').getBoundingClientRect();
        /* nothing scrolled under them covers the fixed cells: with the matrix just below the
         * page's sticky band, each fixed header cell is what is seen at its centre, and in a
         * body row half-way down, the item, unit and range cells */
        const band = document.querySelector('[data-testid="sticky-head"]').getBoundingClientRect().bottom;
        window.scrollBy(0, sc.getBoundingClientRect().top - band - 2);
        await new Promise((r) => requestAnimationFrame(r));
        const heads = [...sc.querySelectorAll('thead th')].slice(0, 3);
        const sb = sc.getBoundingClientRect();
        const y = (Math.max(sb.top, band) + Math.min(sb.bottom, window.innerHeight)) / 2;
        const seen = heads.map((c) => {
            const b = c.getBoundingClientRect();
            const at = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
            return !!at && (at === c || c.contains(at));
        }).concat(heads.map((c) => {
            const b = c.getBoundingClientRect();
            const at = document.elementFromPoint(b.left + b.width / 2, y);
            const cell = at && at.closest('td, th');
            return !!cell && !!cell.closest('tbody') && cell.cellIndex === c.cellIndex;
        }));
        return {
            seen,
            scrolledX: sc.scrollLeft, scrolledY: sc.scrollTop, box: { left: box.left, top: box.top }, before,
            after: after.map((a) => ({ left: a.left, right: a.right })), headTop: head.top,
            texts: cells.map((c) => c.textContent.trim())
        };
    });
    ok(lab.scrolledX > 0, `the lab matrix scrolls sideways (${lab.scrolledX}px)`);
    ok(lab.after.every((a, i) => Math.abs(a.left - lab.before[i]) < 1.5), 'item, unit and range do not move when the matrix scrolls sideways', lab);
    eq(lab.seen, [true, true, true, true, true, true], 'the fixed header and body cells are not covered by the scrolled ones');
    ok(Math.abs(lab.after[1].left - lab.after[0].right) < 1.5 && Math.abs(lab.after[2].left - lab.after[1].right) < 1.5,
        'item, unit and range sit side by side: neither covering each other nor leaving a gap', lab.after);
    ok(lab.scrolledY === 0 || Math.abs(lab.headTop - lab.box.top) < 3, 'the time row stays on top when the matrix scrolls down', lab);
    await shot(page, ART, 'lab-matrix-scrolled', false);
    await page.setViewportSize({ width: 1920, height: 1000 });

    // ---- day N of a stay counts from the generation's time ----
    await page.locator(tid('back-button')).click();
    await openPatient(page, STAY_P.patient.id);
    const stay = norm(await page.locator(tid('patient-stay')).textContent());
    const n = dayN(admittedOn(STAY_P), GDATE);
    ok(stay.includes(`（${n}日目）`), `day of stay is ${n} counted to the generation (${GDATE}), not to today`, stay);

    // ---- CDA as text ----
    await page.locator(tid('back-button')).click();
    await openPatient(page, CDA_P.patient.id);
    await showTab(page, 'documents');
    const xmlPaths = await page.$$eval(tid('doc-open'), (bs) => bs.map((b) => b.dataset.path).filter((p) => /\.xml$/i.test(p)));
    const cdaPath = rand.one(xmlPaths);
    ok(!!cdaPath, 'the documents tab offers a CDA document');
    const xml = fs.readFileSync(path.join(S, 'extended', cdaPath), 'utf8');
    const secs = [...xml.matchAll(/<section>\s*<title>([^<]*)<\/title>\s*<text>([\s\S]*?)<\/text>/g)]
        .map((m) => ({ title: norm(m[1]), text: norm(m[2].replace(/<[^>]*>/g, ' ')) }));
    ok(secs.length > 0, `the CDA file has sections (${secs.length})`);
    await page.locator(`${tid('doc-open')}[data-path="${cdaPath}"]`).click();
    await page.locator(tid('cda-text')).waitFor({ timeout: 15000 });
    const shown = await page.$$eval(tid('cda-section'), (ss) => ss.map((s) => ({
        title: s.querySelector('[data-testid="cda-section-title"]')?.textContent.trim() ?? '',
        text: s.querySelector('.mm-cda-body')?.textContent.replace(/\s+/g, ' ').trim() ?? ''
    })));
    const sec = rand.one(secs);
    ok(shown.some((s) => s.title === sec.title && s.text.includes(sec.text)),
        `CDA section 「${sec.title}」 shown as text with its paragraph`, { want: sec, shown });
    eq(shown.map((s) => s.title), secs.map((s) => s.title), 'every CDA section title, in order');
    const foreign = await page.evaluate(() => {
        const all = [...document.querySelectorAll('*')];
        return {
            notHtml: all.filter((e) => e.namespaceURI !== 'http://www.w3.org/1999/xhtml' && e.namespaceURI !== 'http://www.w3.org/2000/svg').map((e) => e.localName),
            cdaNames: all.filter((e) => /^(ClinicalDocument|structuredBody|component|paragraph|recordTarget|title|text)$/i.test(e.localName) && !e.closest('head')).map((e) => e.localName)
        };
    });
    eq(foreign, { notHtml: [], cdaNames: [] }, 'no element of the CDA document is in the page (text nodes only)');
    await shot(page, ART, 'cda-text', false);
    await page.locator(tid('cda-toggle')).click();
    const raw = await page.locator(tid('cda-raw')).evaluate((el) => ({ shown: !el.hidden, kids: el.children.length, text: el.textContent }));
    ok(raw.shown && raw.kids === 0 && raw.text === xml, 'one click shows the XML source, as text', { shown: raw.shown, kids: raw.kids });
    await page.locator(tid('cda-toggle')).click();
    ok(await page.locator(tid('cda-text')).isVisible(), 'and one more click shows the text again');

    // ---- hostile documents: markup from a document never reaches the page ----
    {
        const evil = '<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet type="text/xsl" href="http://127.0.0.2:9/x.xsl"?>\n' +
            '<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:h="http://www.w3.org/1999/xhtml"><title>悪意の文書</title>' +
            '<component><structuredBody><component><section><title>所見<h:b>太字</h:b></title><text>' +
            '<paragraph>本文一<h:script>window.__xss = 1</h:script><h:img src="http://127.0.0.2:9/p.png" onerror="window.__xss = 2"/></paragraph>' +
            '<list><item>項目一</item><item><h:iframe src="http://127.0.0.2:9/"/>項目二</item></list>' +
            '<table><tr><th>見出し</th></tr><tr><td>セル</td></tr></table>' +
            '</text></section></component></structuredBody></component></ClinicalDocument>';
        const dtd = '<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument [<!ENTITY x "実体の中身">]>\n' +
            '<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&x;</title></ClinicalDocument>';
        const outside = [];
        page.on('request', (r) => {
            if (!r.url().startsWith(V.url)) {
                outside.push(r.url());
            }
        });
        let body = evil;
        const theDoc = (u) => u.pathname === '/api/file' && u.searchParams.get('path') === cdaPath;
        await page.route(theDoc, (route) => route.fulfill({ status: 200, contentType: 'text/xml; charset=utf-8', body }));
        await page.locator(tid('doc-close')).click();
        await page.locator(`${tid('doc-open')}[data-path="${cdaPath}"]`).click();
        await page.locator(tid('cda-text')).waitFor();
        const r = await page.evaluate(() => {
            const v = document.querySelector('[data-testid="cda-text"]');
            return {
                xss: window.__xss ?? null,
                tags: [...v.querySelectorAll('*')].map((e) => e.localName).filter((n) => !/^(h3|h4|h5|p|ul|ol|li|table|tbody|caption|tr|th|td|span|br|section|div)$/.test(n)),
                scripts: document.querySelectorAll('script:not([src])').length,
                text: v.textContent.replace(/\s+/g, '')
            };
        });
        await page.waitForTimeout(300);
        eq({ xss: r.xss, tags: r.tags, scripts: r.scripts, outside },
            { xss: null, tags: [], scripts: 0, outside: [] }, 'a hostile CDA: no script, image, frame or stylesheet of it in the page, nothing fetched');
        ok(['本文一', '項目一', '項目二', '見出し', 'セル', '所見太字'].every((x) => r.text.includes(x)), 'a hostile CDA: its text is still shown', r.text);
        body = dtd;
        await page.locator(tid('doc-close')).click();
        await page.locator(`${tid('doc-open')}[data-path="${cdaPath}"]`).click();
        await page.locator(tid('cda-notice')).waitFor();
        const d = await page.evaluate(() => ({
            text: document.querySelectorAll('[data-testid="cda-text"]').length,
            raw: document.querySelector('[data-testid="cda-raw"]').textContent,
            shown: !document.querySelector('[data-testid="cda-raw"]').hidden
        }));
        ok(d.text === 0 && d.shown && d.raw === dtd && !d.raw.includes('実体の中身</title>'),
            'a CDA with a DOCTYPE/ENTITY is not parsed: shown as its source, the entity not expanded', d);
        await page.unroute(theDoc);
        await page.locator(tid('doc-close')).click();
    }

    // ---- print of the band patient: band and page X/Y on every page, CDA text, labs newest first ----
    await page.locator(tid('back-button')).click();
    await openPatient(page, BAND.patient.id);
    await page.evaluate(() => {
        window.print = () => { /* headless Chromium would hold the page in a print job */
            window.__printed = (window.__printed || 0) + 1;
        };
    });
    await page.locator(tid('print-button')).click();
    await page.waitForFunction(() => window.__printed === 1, null, { timeout: 30000 });
    ok(await page.evaluate(() => document.querySelector('#mm-app').getAttribute('data-print-ready')) === '1',
        'the print button prepares the paper (document texts, pictures), then prints');
    const labTimes = [...new Set(BAND.labs.map((l) => l.collected_at))].sort();
    const paperTimes = await page.$$eval(`${tid('lab-paper')} thead [data-time]`, (ts) => ts.map((x) => x.dataset.time));
    eq(paperTimes[0], labTimes[labTimes.length - 1], 'paper: the lab tables start with the newest result');
    eq(paperTimes, [...paperTimes].sort().reverse(), 'paper: lab times newest first throughout');
    await page.emulateMedia({ media: 'print' });
    const thumbs = await page.$$eval('img.mm-print-thumb', (is) => is.filter((i) => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0).length);
    ok(BAND.images.length === 0 || thumbs > 0, `paper: images as thumbnails (${thumbs})`);
    const pdfFile = path.join(ART, 'screen-patient.pdf');
    await page.pdf({ path: pdfFile, preferCSSPageSize: true, printBackground: true });
    await page.emulateMedia({ media: 'screen' });
    const pages = pdfPages(pdfFile);
    if (!ok(pages !== null, 'pdftotext (poppler-utils) reads the printed PDF')) {
        throw new Error('pdftotext is missing: make deps');
    }
    ok(pages.length >= 2, `the patient prints on ${pages.length} pages`);
    const bad = [];
    pages.forEach((pg, i) => {
        const flat = nosp(pg);
        const m = /(\d+)\s*\/\s*(\d+)\s*$/.exec(pg.trimEnd());
        if (!flat.includes(nosp(BAND.patient.name)) || !flat.includes(BAND.patient.id) ||
            !m || Number(m[1]) !== i + 1 || Number(m[2]) !== pages.length || !flat.includes(nosp(GT.slice(0, 16).replace('T', ' ')))) {
            bad.push({ page: i + 1, head: pg.slice(0, 200), tail: pg.trimEnd().slice(-40) });
        }
    });
    ok(bad.length === 0, `every printed page carries name, ID, generation time and "X / ${pages.length}"`, bad);
    const cdaB = BAND.documents.some((d) => d.format === 'cda');
    if (cdaB) {
        const bp = await page.$$eval(`${tid('doc-text')}`, (ds) => ds.map((d) => d.dataset.path));
        const one = fs.readFileSync(path.join(S, 'extended', rand.one(bp)), 'utf8');
        const ss = [...one.matchAll(/<section>\s*<title>[^<]*<\/title>\s*<text>([\s\S]*?)<\/text>/g)].map((m) => nosp(m[1].replace(/<[^>]*>/g, '')));
        const all = nosp(pages.join(''));
        ok(ss.length > 0 && ss.every((x) => all.includes(x)), 'paper: a CDA document is printed as its text', ss);
    }
    try {
        execFileSync('pdftoppm', ['-png', '-r', '70', '-f', '2', '-l', '2', '-singlefile', pdfFile, path.join(ART, 'printed-page')]);
    } catch (e) {
        note('pdftoppm failed: ' + e.message);
    }

    // ---- Back and Forward ----
    await page.locator(tid('back-button')).click();
    await openPatient(page, OTHER.patient.id);
    await showTab(page, 'labs');
    const seq = [];
    await page.goBack();
    await page.locator(tid('panel-visits')).waitFor({ state: 'visible' });
    seq.push([await shownPatient(page), await selectedTab(page)]);
    await page.goBack();
    await page.locator(tid('search-input')).waitFor();
    seq.push(['search']);
    await page.goBack();
    await page.locator(tid('patient-header')).waitFor();
    await page.waitForFunction((id) => document.querySelector('[data-testid="patient-id"]')?.textContent.trim() === id, BAND.patient.id);
    seq.push([await shownPatient(page), await selectedTab(page)]);
    await page.goForward();
    await page.locator(tid('search-input')).waitFor();
    seq.push(['search']);
    await page.goForward();
    await page.waitForFunction((id) => document.querySelector('[data-testid="patient-id"]')?.textContent.trim() === id, OTHER.patient.id);
    seq.push([await shownPatient(page), await selectedTab(page)]);
    await page.goForward();
    await page.locator(tid('panel-labs')).waitFor({ state: 'visible' });
    seq.push([await shownPatient(page), await selectedTab(page)]);
    eq(seq, [[OTHER.patient.id, 'visits'], ['search'], [BAND.patient.id, 'visits'], ['search'],
        [OTHER.patient.id, 'visits'], [OTHER.patient.id, 'labs']], 'Back and Forward walk through patients and tabs');

    // ---- the ward screen ----
    await page.locator(tid('back-button')).click();
    await page.locator(tid('wards-button')).click();
    await page.locator(`${tid('ward-list')}, ${tid('wards-empty')}`).first().waitFor();
    urls.add(page.url());
    const byWard = new Map();
    for (const p of INPATIENTS) {
        byWard.set(wardNow(p), [...(byWard.get(wardNow(p)) || []), p.patient.id]);
    }
    const wl = await page.$$eval(tid('ward-item'), (is) => is.map((i) => [i.dataset.ward, i.textContent.trim()]));
    eq(wl.map((w) => w[0]), [...byWard.keys()].sort(), 'ward screen: the wards with current inpatients');
    ok(wl.every(([w, txt]) => txt.includes(`${byWard.get(w).length} 名`)), 'ward screen: the count of each ward', wl);
    const ward = rand.one([...byWard.keys()]);
    const opened = (id) => JSON.parse(X.run(MAMORI, ['audit', 'show', '--repo', R, '--json', '--patient', id]))
        .records.filter((r) => r.kind === 'patient-opened').length;
    const before = byWard.get(ward).map(opened);
    await page.locator(`${tid('ward-item')}[data-ward="${ward}"]`).click();
    await page.locator(`${tid('ward-table')}`).waitFor();
    await page.waitForTimeout(500); /* the viewer hands its audit events over within milliseconds */
    eq(byWard.get(ward).map(opened), before.map((n) => n + 1), `ward ${ward}: each patient listed is recorded in the audit log once`);
    urls.add(page.url());
    const rows = await page.$$eval(tid('ward-row'), (rs) => rs.map((r) => ({
        id: r.dataset.pid, name: r.querySelector('[data-col="name"]').textContent.trim(),
        day: r.querySelector('[data-col="day"]').textContent.trim(),
        allergy: r.querySelector('[data-col="allergy"]').textContent.trim()
    })));
    eq(rows.map((r) => r.id).sort(), byWard.get(ward).slice().sort(), `ward ${ward}: exactly the truth's current inpatients`);
    ok(rows.every((r) => r.name === byId.get(r.id).patient.name), `ward ${ward}: their names`, rows);
    const dayBad = rows.filter((r) => {
        const P = byId.get(r.id);
        const since = P.encounters.filter((e) => e.kind === 'admission').pop();
        return since && r.day !== `${dayN(since.date, GDATE)}日目`;
    });
    ok(dayBad.length === 0, `ward ${ward}: day of stay counted to the generation`, dayBad);
    /* every file of this storage reads: the column is the truth's count, or 記録なし */
    const alBad = rows.filter((r) => {
        const n = byId.get(r.id).allergies.length;
        return r.allergy !== (n ? `⚠ あり（${n}件）` : '記録なし');
    });
    ok(alBad.length === 0, `ward ${ward}: the allergy column (count, or 記録なし with every file read)`, alBad);
    await shot(page, ART, 'ward-screen');
    await page.emulateMedia({ media: 'print' });
    const wpdf = path.join(ART, 'ward.pdf');
    await page.pdf({ path: wpdf, preferCSSPageSize: true });
    await page.emulateMedia({ media: 'screen' });
    const wp = pdfPages(wpdf) || [];
    ok(wp.length >= 1 && rows.every((r) => nosp(wp.join('')).includes(r.id)), 'ward screen prints with every inpatient');
    await page.goBack();
    await page.locator(tid('ward-list')).waitFor();
    ok(true, 'Back from a ward returns to the list of wards');

    // ---- no patient ID or name in any URL the page had ----
    for (const u of await page.evaluate(() => [window.location.href])) {
        urls.add(u);
    }
    const leaks = [...urls].filter((u) => {
        const d = decodeURIComponent(u);
        return T.patients.some((p) => d.includes(p.patient.id) || d.includes(p.patient.name.split(' ')[0]) ||
            d.includes(nosp(p.patient.kana)) || d.includes(p.patient.birth_date));
    });
    ok(urls.size > 10 && leaks.length === 0, `no patient ID, name or birth date in any of ${urls.size} URLs`, leaks);

    // ---- after a logout the handles in the history mean nothing ----
    await page.locator(tid('logout-button')).click();
    await page.locator(tid('login-passphrase')).waitFor();
    for (let i = 0; i < 4; i++) {
        await page.goBack();
    }
    await page.waitForTimeout(200);
    ok(await page.locator(tid('patient-header')).count() === 0 && await page.locator(tid('login-passphrase')).isVisible(),
        'after a logout, Back shows no patient (the login form stays)');
    await login(page, PASS);
    const stale = /#\/p\/([0-9a-f]{24})\/[a-z]+/.exec([...urls].find((u) => /#\/p\//.test(u)) || '');
    await page.evaluate((h) => {
        window.location.hash = '#/p/' + h + '/visits';
    }, stale ? stale[1] : '0'.repeat(24));
    await page.waitForTimeout(300);
    ok(await page.locator(tid('patient-header')).count() === 0, 'an old handle opens no patient after a new login');

    // ---- mamori print: band and page X/Y on every page of a two-patient document ----
    const list = path.join(TMP, 'print-list.txt');
    fs.writeFileSync(list, `${BAND.patient.id}\n${OTHER.patient.id}\n`);
    const out = path.join(TMP, 'print.html');
    X.run(MAMORI, ['print', '--repo', R, '--patients', list, '--out', out]);
    const fp = await ctx.newPage();
    watch(fp, problems);
    await fp.goto('file://' + out);
    await fp.locator(tid('print-patient')).nth(1).waitFor();
    const fdocs = await fp.$$eval(tid('print-patient'), (ps) => ps.map((p) => ({
        texts: [...p.querySelectorAll('[data-testid="doc-text"]')].map((d) => ({ path: d.dataset.path, text: d.textContent.replace(/\s+/g, '') })),
        pics: [...p.querySelectorAll('img.mm-print-thumb')].filter((i) => i.complete && i.naturalWidth > 0).length,
        foreign: [...p.querySelectorAll('*')].filter((e) => e.namespaceURI !== 'http://www.w3.org/1999/xhtml' && e.namespaceURI !== 'http://www.w3.org/2000/svg').length
    })));
    patients: for (const [i, P] of [BAND, OTHER].entries()) {
        const nCda = P.documents.filter((d) => d.format === 'cda').length;
        const got = fdocs[i];
        eq(got.texts.length, nCda, `mamori print ${P.patient.id}: every CDA document as text (${nCda})`);
        for (const d of got.texts) {
            const x = fs.readFileSync(path.join(S, 'extended', d.path), 'utf8');
            const ss = [...x.matchAll(/<text>([\s\S]*?)<\/text>/g)].map((m) => nosp(m[1].replace(/<[^>]*>/g, '')));
            if (!ok(ss.every((q) => d.text.includes(q)), `mamori print ${P.patient.id}: the text of ${path.basename(path.dirname(d.path)).slice(-20)}`, { ss, shown: d.text.slice(0, 300) })) {
                continue patients; // one failure per patient is enough
            }
        }
        const nJpeg = P.images.reduce((a, im) => a + (im.count || 1), 0);
        ok(P.images.length === 0 ? got.pics === 0 : got.pics >= P.images.length, `mamori print ${P.patient.id}: images as thumbnails (${got.pics} of ${nJpeg})`);
        eq(got.foreign, 0, `mamori print ${P.patient.id}: no element of a document in the page`);
    }
    const ppdf = path.join(ART, 'mamori-print-screen.pdf');
    await fp.pdf({ path: ppdf, preferCSSPageSize: true });
    const pp = pdfPages(ppdf) || [];
    const who = [BAND, OTHER];
    const pbad = [];
    let k = 0;
    pp.forEach((pg, i) => {
        const flat = nosp(pg);
        if (k === 0 && flat.includes(OTHER.patient.id) && !flat.includes(BAND.patient.id)) {
            k = 1;
        }
        const P = who[k];
        const m = /(\d+)\s*\/\s*(\d+)\s*$/.exec(pg.trimEnd());
        if (!flat.includes(nosp(P.patient.name)) || !flat.includes(P.patient.id) || !m ||
            Number(m[1]) !== i + 1 || Number(m[2]) !== pp.length) {
            pbad.push({ page: i + 1, expect: P.patient.id, head: pg.slice(0, 160), tail: pg.trimEnd().slice(-30) });
        }
    });
    ok(pp.length >= 3 && k === 1 && pbad.length === 0, `mamori print: each of ${pp.length} pages carries its patient's band and X / Y`, pbad);
    await fp.close();

    // ---- docs screenshots ----
    // the patient screen of docs/img: a patient with allergies (red in the band), labs tab
    const SHOW = [...T.patients].filter((p) => p.allergies.length)
        .sort((a, b) => b.labs.length - a.labs.length || (a.patient.id < b.patient.id ? -1 : 1))[0] || BAND;
    await page.setViewportSize({ width: 1600, height: 900 });
    await openPatient(page, SHOW.patient.id);
    await showTab(page, 'labs');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, ART, 'patient-screen', false);
    if (process.env.DOCS_IMG) {
        fs.copyFileSync(path.join(ART, 'patient-screen.png'), path.join(process.env.DOCS_IMG, 'patient-screen.png'));
        fs.copyFileSync(path.join(ART, 'printed-page.png'), path.join(process.env.DOCS_IMG, 'printed-page.png'));
    }

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
