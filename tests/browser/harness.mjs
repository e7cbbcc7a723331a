// SPDX-License-Identifier: Apache-2.0
//
// What a browser test of the mamori viewer needs around its checks: TAP output, a temporary
// folder, running the binaries, `mamori view` started on a free port and stopped, the login
// and search steps, screenshots into the artifacts folder, a seeded random choice, and the
// text of a PDF (pdftotext from Debian's poppler-utils). Used by screen.test.mjs.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const tid = (id) => `[data-testid="${id}"]`;
export const norm = (s) => String(s ?? '').replace(/\s+/g, ' ').trim();

// ---------- TAP ----------

const tap = { n: 0, failed: 0 };
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
    return !!cond;
}
export function eq(actual, expected, desc) {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    return ok(a === e, desc, a === e ? undefined : { expected, actual });
}
export function note(s) {
    console.log('# ' + s);
}
export function counts() {
    return { ...tap };
}

// ---------- seeded choice (mulberry32) ----------

export function rng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6D2B79F5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
export function pick(rand, list) {
    return list.length ? list[Math.floor(rand() * list.length)] : undefined;
}

// ---------- fixture ----------

export function makeRun(name) {
    const TMP = fs.mkdtempSync(path.join(os.tmpdir(), `mamori-${name}-`));
    const ART = path.resolve(process.env.ARTIFACTS ||
        fs.mkdtempSync(path.join(os.tmpdir(), `mamori-${name}-artifacts-`)));
    fs.mkdirSync(ART, { recursive: true });
    const AUDIT = path.join(TMP, 'audit');
    fs.mkdirSync(AUDIT);
    const self = {
        TMP, ART, AUDIT, env: null,
        bail(msg) {
            console.log('Bail out! ' + msg);
            if (!process.env.KEEP_TMP) {
                fs.rmSync(TMP, { recursive: true, force: true });
            }
            process.exit(2);
        },
        run(bin, args) {
            try {
                return execFileSync(bin, args, { env: self.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
            } catch (e) {
                self.bail(`${path.basename(bin)} ${args.join(' ')} failed: ${e.stderr || e.message}`);
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

// `mamori view` on a free port; resolves to { url, stop() } or null.
export async function startView(mamori, args, env) {
    const view = spawn(mamori, ['view', ...args, '--no-browser', '--port', '0'], {
        env, stdio: ['ignore', 'pipe', 'pipe']
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
            if (out.includes('\n')) {
                clearTimeout(timer);
                const m = /^(http:\/\/127\.0\.0\.1:\d+\/)\s*$/m.exec(out.split('\n')[0] + '\n');
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
    return { url, stop, stderr: () => err };
}

// ---------- pages ----------

export function watch(page, problems) {
    page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) {
            problems.push('CSP: ' + m.text());
        }
    });
    page.on('pageerror', (e) => problems.push('script error: ' + e.message));
}

export async function login(page, pass) {
    await page.locator(tid('login-passphrase')).fill(pass);
    await page.locator(tid('login-submit')).click();
    await page.locator(tid('search-input')).waitFor({ timeout: 30000 });
}

export async function search(page, q) {
    await page.locator(tid('search-input')).fill(q);
    await page.locator(tid('search-input')).press('Enter');
    await page.locator(`${tid('search-results')}, ${tid('search-empty')}, ${tid('search-error')}`).first()
        .waitFor({ timeout: 15000 });
    return page.$$eval(tid('result-row'), (rows) => rows.map((r) => r.dataset.pid));
}

export async function shot(page, dir, name, full = true) {
    await page.screenshot({ path: path.join(dir, name + '.png'), fullPage: full });
}

// The text of each page of a PDF (pdftotext -layout), or null when pdftotext is missing.
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
