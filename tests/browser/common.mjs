// SPDX-License-Identifier: Apache-2.0
//
// What the browser tests (viewer, facts, screen) share: TAP output, a temporary folder and an
// artifacts folder, running mamori and mamori-gen, starting `mamori view` on a free port and
// stopping it, a seeded random choice, the small helpers over a page (test IDs, text, login,
// search, opening a patient and a tab, screenshots) and the text of a PDF (pdftotext from
// Debian's poppler-utils). A test imports what it needs; nothing here runs on import except
// reading the environment.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const MAMORI = process.env.MAMORI;
export const GEN = process.env.MAMORI_GEN;
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// ---------- TAP ----------

export const tap = { n: 0, failed: 0 };
export function ok(cond, desc, detail) {
    tap.n++;
    if (cond) {
        console.log(`ok ${tap.n} - ${desc}`);
    } else {
        tap.failed++;
        console.log(`not ok ${tap.n} - ${desc}`);
        if (detail !== undefined) {
            const s = typeof detail === 'string' ? detail : JSON.stringify(detail, null, 1);
            console.log(s.split('\n').slice(0, 40).map((l) => '#   ' + l).join('\n'));
        }
    }
    return cond;
}
export function eq(actual, expected, desc) {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    return ok(a === e, desc, a === e ? undefined : { expected, actual });
}
export function note(s) {
    console.log('# ' + s);
}

/* End the run begun at @t0 (Date.now()): where the screenshots are (@art), the TAP plan and
 * a summary; exit 1 when a check failed or @early (the run ended early), else 0. */
export function finish(art, t0, early = 0) {
    note(`screenshots in ${art}`);
    console.log(`1..${tap.n}`);
    note(`${tap.n - tap.failed} passed, ${tap.failed} failed, ${Math.round((Date.now() - t0) / 1000)} s`);
    process.exit(tap.failed || early ? 1 : 0);
}

// ---------- folders and the binaries ----------

/* The folders of a test run: TMP (temporary; prefix-XXXX), ART (ARTIFACTS, else a temporary one),
 * AUDIT (in TMP) and env (the caller's environment with @pass as MAMORI_PASSPHRASE, the audit
 * folder and Japanese). bail() ends the run (exit 2), dropping TMP (unless KEEP_TMP) and ART
 * when it is a temporary one; run() runs a binary with env, returning its stdout, or bails with
 * its stderr; cleanup() drops TMP unless KEEP_TMP. */
export function makeRun(prefix, pass) {
    const TMP = fs.mkdtempSync(path.join(os.tmpdir(), prefix + '-'));
    const ART = path.resolve(process.env.ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), prefix + '-artifacts-')));
    fs.mkdirSync(ART, { recursive: true });
    const AUDIT = path.join(TMP, 'audit');
    fs.mkdirSync(AUDIT);
    const self = {
        TMP, ART, AUDIT,
        // the host's cache (patient index, the guard's history and standing suspects) is the
        // test's own: a suspect generation of one test must not stand for the next
        env: {
            ...process.env, MAMORI_PASSPHRASE: pass, MAMORI_AUDIT_DIR: AUDIT, MAMORI_LANG: 'ja',
            XDG_CACHE_HOME: path.join(TMP, 'cache'),
        },
        bail(msg) {
            console.log('Bail out! ' + msg);
            if (!process.env.KEEP_TMP) {
                fs.rmSync(TMP, { recursive: true, force: true });
            }
            if (!process.env.ARTIFACTS) {
                fs.rmSync(ART, { recursive: true, force: true }); // nothing saved yet
            }
            process.exit(2);
        },
        run(bin, args) {
            try {
                return execFileSync(bin, args, { env: self.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
            } catch (e) {
                return self.bail(`${path.basename(bin)} ${args.join(' ')} failed: ${e.stderr || e.message}`);
            }
        },
        cleanup() {
            if (!process.env.KEEP_TMP) {
                fs.rmSync(TMP, { recursive: true, force: true });
            } else {
                note(`kept ${TMP}`);
            }
        }
    };
    return self;
}

// ---------- seeded choice ----------

/* mulberry32: a small seeded generator, so a failing run can be replayed with its seed.
 * next(): a number in [0, 1); pick(list, n): n of list in a random order; one(list): one of
 * list (undefined when it is empty). */
export function rng(seed) {
    let a = seed >>> 0;
    const next = () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = (list, n) => {
        const v = [...list];
        for (let i = v.length - 1; i > 0; i--) {
            const j = Math.floor(next() * (i + 1));
            [v[i], v[j]] = [v[j], v[i]];
        }
        return v.slice(0, n);
    };
    const one = (list) => (list.length ? list[Math.floor(next() * list.length)] : undefined);
    return { next, pick, one };
}

// ---------- mamori view ----------

/* Start `mamori view --repo @repo` on a free port, with @env less the passphrase (it is typed
 * into the browser). @return {url, stop(), err()}: url null when it did not start (the reason in
 * err()) */
export async function startView(repo, env) {
    const viewEnv = { ...env };
    delete viewEnv.MAMORI_PASSPHRASE; // the passphrase is typed into the browser
    const view = spawn(MAMORI, ['view', '--repo', repo, '--no-browser', '--port', '0'], {
        env: viewEnv, stdio: ['ignore', 'pipe', 'pipe']
    });
    let err = '';
    view.stderr.on('data', (d) => {
        err += d;
    });
    const url = await new Promise((resolve) => {
        let out = '';
        const timer = setTimeout(() => resolve(null), 30000);
        view.stdout.on('data', (d) => {
            out += d;
            const m = /^(http:\/\/127\.0\.0\.1:\d+\/)\s*$/m.exec(out.split('\n')[0] + '\n');
            if (out.includes('\n') || m) {
                clearTimeout(timer);
                resolve(m ? m[1] : null);
            }
        });
        view.on('exit', () => resolve(null));
    });
    const stop = () => new Promise((resolve) => {
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
    if (!url) {
        await stop();
    }
    return { url, stop, err: () => err };
}

// ---------- helpers over a page ----------

/* The viewer's app.js as the build makes it: its parts (src/lib/viewer/assets/app/, one
 * function) concatenated in name order (src/lib/viewer/meson.build). */
export function appJs() {
    const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../src/lib/viewer/assets/app');
    return fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort()
        .map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('');
}

export const tid = (id) => `[data-testid="${id}"]`;
export const norm = (s) => String(s ?? '').replace(/\s+/g, ' ').trim();
export const sortK = (a) => a.map((x) => JSON.stringify(x)).sort();

export async function text(page, sel) {
    return norm(await page.locator(sel).first().textContent());
}

/* Record CSP violations and script errors of @page into @problems. */
export function watch(page, problems) {
    page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) {
            problems.push('CSP: ' + m.text());
        }
    });
    page.on('pageerror', (e) => problems.push('script error: ' + e.message));
}

/* Type @pass and submit it (the caller waits for what it expects). */
export async function submitLogin(page, pass) {
    await page.locator(tid('login-passphrase')).fill(pass);
    await page.locator(tid('login-submit')).click();
}

/* Log in with @pass and wait for the search form. */
export async function login(page, pass) {
    await submitLogin(page, pass);
    await page.locator(tid('search-input')).waitFor({ timeout: 30000 });
}

/* Search @q and wait for results, "none" or an error. */
export async function submitSearch(page, q) {
    await page.locator(tid('search-input')).fill(q);
    await page.locator(tid('search-input')).press('Enter');
    await page.locator(`${tid('search-results')}, ${tid('search-empty')}, ${tid('search-error')}`).first()
        .waitFor({ timeout: 15000 });
}

/* Search @q. @return the patient IDs of the result rows */
export async function search(page, q) {
    await submitSearch(page, q);
    return page.$$eval(tid('result-row'), (rows) => rows.map((r) => r.dataset.pid));
}

/* Open @pid from the result rows (pressing Enter on its row, or clicking it when @how is
 * 'click') and wait for the patient screen. */
export async function enterPatient(page, pid, how = 'press') {
    const row = page.locator(`${tid('result-row')}[data-pid="${pid}"]`);
    await (how === 'click' ? row.click() : row.press('Enter'));
    await page.locator(tid('patient-header')).waitFor({ timeout: 15000 });
    await page.locator(tid('tabs')).waitFor();
}

/* Search @pid and open it. @return whether exactly that patient was found */
export async function openPatient(page, pid) {
    const rows = await search(page, pid);
    if (rows.length !== 1 || rows[0] !== pid) {
        return false;
    }
    await enterPatient(page, pid);
    return true;
}

export async function showTab(page, name) {
    await page.locator(tid('tab-' + name)).click();
    await page.locator(tid('panel-' + name)).waitFor({ state: 'visible' });
}

/* Back from a patient to the search form. */
export async function backToSearch(page) {
    await page.locator(tid('back-button')).click();
    await page.locator(tid('search-input')).waitFor();
}

/* A screenshot of @page as @dir/@name.png (the whole page unless @full is false). */
export async function shot(page, dir, name, full = true) {
    await page.screenshot({ path: path.join(dir, name + '.png'), fullPage: full });
}

// ---------- PDF ----------

/* The text of each page of a PDF (pdftotext -layout), or null when pdftotext is missing. */
export function pdfPages(file) {
    let txt;
    try {
        txt = execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
    } catch (e) {
        return null;
    }
    const pages = txt.split('\f');
    if (pages.length && pages[pages.length - 1].trim() === '') {
        pages.pop();
    }
    return pages;
}
