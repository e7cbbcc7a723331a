#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The Windows build under Wine (TAP, issue 19). A medium made by the Linux build (a generated
# storage backed up into a repository whose path holds Japanese, `^` and spaces, and one whose
# path passes 300 characters) is opened by the Windows exe under wine64 and by the Linux
# build side by side:
#   b  both viewers logged in: every search and patient-screen API answer equal byte for byte
#   c  `show` and `search` (text and --json) print the same bytes
#   d  `restore latest` into a Japanese-named folder gives back the source tree byte for byte
#   e  `verify --read-data` and `audit verify` pass; a flipped byte in a copy fails verify
#      with a message, not a crash
#   f  b-d again under a Japanese locale (ACP 932, checked)
#   g  a read-only medium (mode bits, and as root a read-only bind mount): view/show/restore
#   h  names Windows forbids in a backed-up folder: restore names them, restores the rest
#   i  the medium written with the Windows exe: bin/mamori.exe, the two launchers,
#      SHA256SUMS-windows.txt; the launcher starts a viewer that answers
#   j  the path unit tests (test_win_path.exe) under wine
#   test_windows.py MAMORI MAMORI_GEN WINDOWS_EXE WINDOWS_UNIT_EXE BUILD_ROOT
# MM_WIN_TESTS_NATIVE=1 puts the Linux binary in the Windows role (the harness's own test).
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import winharness as wh  # noqa: E402

MAMORI, GEN, WIN_EXE, WIN_UNIT, BUILD = sys.argv[1:6]
NATIVE = os.environ.get('MM_WIN_TESTS_NATIVE') == '1'
PASS = 'windows-test-passphrase'
results = []


def check(cond, what, directive=''):
    what = ' '.join(str(what).split())  # one TAP line: a quoted message may span lines
    results.append((bool(cond) or directive.startswith('TODO'), what))
    print('%s %d - %s%s' % ('ok' if cond else 'not ok', len(results), what,
                            (' # ' + directive) if directive else ''), flush=True)
    return cond


def note(msg):
    print('# ' + msg.replace('\n', '\n# '), flush=True)


def run(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, timeout=300, **kw)


def tail(b, n=300):
    return (b or b'').decode('utf-8', 'replace')[-n:].strip()


# ---------------------------------------------------------------- the medium, made on Linux
def make_media(tmp, env):
    st = tmp + '/s'
    run(GEN, '--out', st, '--patients', '5', '--days', '40', '--seed', '19', '--extended',
        '--truth', tmp + '/truth1.json', '-q', env=env)
    repo = tmp + '/病院 ^ 媒体/repo'
    deep = tmp + '/long'
    for i in range(9):  # nine levels of 33 characters: the repository's path passes 300
        deep += '/深い階層 ^ level %d of the medium path' % i
    long_repo = deep + '/repo'
    for r in (repo, long_repo):
        os.makedirs(os.path.dirname(r), exist_ok=True)
        run(MAMORI, '-q', 'init', '--repo', r, '--user', 'nurse', '--kdf-passes', '1',
            '--kdf-memory', '1', '--allow-weak-secrets', env=env)
        run(MAMORI, '-q', 'backup', '--repo', r, '--name', 'day1', st + '/standard',
            st + '/extended', env=env)
    run(GEN, 'advance', '--out', st, '--days', '3', '--truth', tmp + '/truth.json', '-q', env=env)
    for r in (repo, long_repo):
        run(MAMORI, '-q', 'backup', '--repo', r, '--name', 'day2', st + '/standard',
            st + '/extended', env=env)
    check(len(long_repo) > 300, 'the deep repository path has %d characters (over 300), the '
          'other %d with Japanese, ^ and spaces' % (len(long_repo), len(repo)))
    return st, repo, long_repo, json.load(open(tmp + '/truth.json'))


# ---------------------------------------------------------------- b: the viewer's answers
def api_paths(v, cookie, truth):
    """Every API request the screens make for a few patients (asked of the Linux viewer)."""
    gens = json.loads(v.req('GET', '/api/generations', cookie=cookie)[2])['generations']
    old = gens[-1]['id']
    paths = ['/api/session', '/api/generations', '/api/wards', '/', '/index.html']
    for tp in truth['patients'][:3]:
        p = tp['patient']
        q = urllib.parse.quote
        paths += ['/api/search?q=' + p['id'], '/api/search?q=' + q(p['kana'].split()[0]),
                  '/api/search?q=' + q(p['kana']), '/api/search?q=' + p['birth_date'],
                  '/api/search?gen=%s&q=%s' % (old, q(p['kana'].split()[0])),
                  '/api/patient?id=' + p['id'], '/api/patient?id=%s&gen=%s' % (p['id'], old),
                  '/api/patient?id=%s&as_of=2025-02-03T04:05' % p['id'],
                  '/api/recovery?id=' + p['id']]
        s, _, data = v.req('GET', '/api/patient?id=' + p['id'], cookie=cookie)
        if s != 200:
            continue
        rec = json.loads(data)['record']
        for kind in ('documents', 'images'):
            for d in rec.get(kind, [])[:2]:
                for f in d['files'][:1]:
                    paths.append('/api/file?id=%s&path=%s' % (p['id'], q(d['folder'] + '/' + f)))
    wards = json.loads(v.req('GET', '/api/wards', cookie=cookie)[2])['list']['wards']
    paths += ['/api/wards?ward=' + urllib.parse.quote(w['ward']) for w in wards]
    paths += ['/api/search?q=' + urllib.parse.quote('存在しない患者'), '/api/patient?id=0000']
    return paths


# Headers that are per process or per request: the session cookie (a random ID) and the time
# the answer was sent. Everything else, bodies included, must be equal byte for byte.
PER_REQUEST = ('date', 'set-cookie')


def answer(v, path, cookie):
    s, h, body = v.req('GET', path, cookie=cookie)
    return s, sorted((k, x) for k, x in h if k not in PER_REQUEST), body


def first_difference(a, b):
    """Where two answers (status, headers, body) first differ, shortly."""
    if a[:2] != b[:2]:
        return 'linux %r, windows %r' % ((a[0], [h for h in a[1] if h not in b[1]]),
                                        (b[0], [h for h in b[1] if h not in a[1]]))
    i = next((k for k in range(min(len(a[2]), len(b[2]))) if a[2][k] != b[2][k]),
             min(len(a[2]), len(b[2])))
    return 'body at byte %d: linux %r, windows %r' % (i, a[2][max(0, i - 40):i + 40],
                                                      b[2][max(0, i - 40):i + 40])


def compare_viewers(lin, win, repo, truth, label):
    """The Linux viewer's answers first, then the Windows viewer's: one writer of the medium's
    audit log at a time, as on a real PC."""
    vl = vw = None
    try:
        vl = lin.view(repo)
        sl, _, bl, cl = vl.login(PASS)
        paths = api_paths(vl, cl, truth) if cl else []
        want = [answer(vl, p, cl) for p in paths]
        vl.stop()
        try:
            vw = win.view(repo)
        except RuntimeError as e:
            return check(False, '%s: the Windows viewer starts: %s' % (label, e))
        check(True, '%s: the Windows viewer starts and prints its address' % label)
        sw, _, bw, cw = vw.login(PASS)
        check(sl == sw == 200 and bl == bw and cw,
              '%s: login with the passphrase: the same answer (%d %r / %d %r)'
              % (label, sl, bl[:60], sw, bw[:60]))
        if not cw:
            return False
        sw, _, _, _ = vw.login('wrong passphrase')
        check(sw == 401, '%s: a wrong passphrase is refused on Windows (%d)' % (label, sw))
        diff, n200 = [], 0
        for p, a in zip(paths, want):
            b = answer(vw, p, cw)
            n200 += a[0] == 200
            if a != b:
                diff.append((p, a[0], b[0], a[1] != b[1], len(a[2]), len(b[2])))
                if len(diff) == 1:
                    note('first difference: %s: %s' % (p, first_difference(a, b)))
        for d in diff[:8]:
            note('%s differs: status %d/%d, headers differ %s, body %d/%d bytes' % d)
        check(paths and not diff and n200 >= len(paths) - 3,
              '%s: %d API answers (%d of them 200: search, patient, recovery, wards, files) '
              'equal byte for byte, Date and the session cookie aside%s'
              % (label, len(paths), n200, '' if not diff else ': %d differ' % len(diff)))
        s, _, _ = vw.req('POST', '/api/logout', b'{}', {'Content-Type': 'application/json'}, cw)
        s2, _, _ = vw.req('GET', '/api/session', cookie=cw)
        check(s == 200 and s2 == 401, '%s: logout ends the Windows session (%d, %d)'
              % (label, s, s2))
        return not diff
    finally:
        for v in (vw, vl):
            if v:
                v.stop()


# ---------------------------------------------------------------- c: show and search
def compare_cli(lin, win, repo, truth, label):
    cases = []
    for tp in truth['patients'][:2]:
        p = tp['patient']
        cases += [['show', p['id']], ['show', p['id'], '--json'],
                  ['search', p['kana'].split()[0]], ['search', '--json', p['kana'].split()[0]],
                  ['search', '--json', p['id']]]
    crlf = False
    for c in cases:
        a = lin.run(*(c + ['--repo', lin.path(repo)]))
        b = win.run(*(c + ['--repo', win.path(repo)]))
        out_b = b.stdout
        if '--json' not in c and b'\r\n' in out_b:
            crlf = True
            out_b = out_b.replace(b'\r\n', b'\n')
        what = ' '.join(x if not x[:1].isdigit() and len(x) < 12 or x.startswith('--')
                        else '<%s>' % ('id' if x.isdigit() else 'kana') for x in c)
        if b.returncode != 0:  # (seen once, exit 1 with nothing on stderr: is it repeatable?)
            again = win.run(*(c + ['--repo', win.path(repo)]))
            note('%s: `%s` failed on Windows (exit %d, stderr %r); run again: exit %d, %d bytes'
                 % (label, c[0], b.returncode, tail(b.stderr), again.returncode,
                    len(again.stdout)))
        check(a.returncode == b.returncode == 0 and a.stdout and a.stdout == out_b,
              '%s: `%s` prints the same bytes on Windows (exit %d/%d, %d/%d bytes)%s'
              % (label, what, a.returncode, b.returncode, len(a.stdout), len(b.stdout),
                 '' if b.returncode == 0 else ': ' + tail(b.stderr)))
    if crlf:
        note('%s: the Windows text output ends lines with CRLF (compared with LF)' % label)


# ---------------------------------------------------------------- d: restore
def diff_trees(a, b):
    r = subprocess.run(['diff', '-r', '--no-dereference', a, b], capture_output=True)
    return r.returncode == 0, tail(r.stdout + r.stderr, 400)


def restore_check(win, repo, st, target, label):
    if os.path.exists(target):
        shutil.rmtree(target)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    r = win.run('restore', '--repo', win.path(repo), 'latest', '--to', win.path(target))
    check(r.returncode == 0, '%s: restore latest into %s exits 0 (%d) %s'
          % (label, os.path.basename(target), r.returncode, tail(r.stderr)))
    for part in ('standard', 'extended'):
        same, d = diff_trees(st + '/' + part, target + '/' + part)
        check(same, '%s: the restored %s storage equals the source byte for byte (diff -r)%s'
              % (label, part, '' if same else ': ' + d))


# ---------------------------------------------------------------- e: verify
def flip_pack_byte(repo):
    packs = []
    for root, _, files in os.walk(repo + '/data'):
        packs += [os.path.join(root, f) for f in files]
    big = max(packs, key=os.path.getsize)
    with open(big, 'r+b') as f:
        f.seek(os.path.getsize(big) // 2)
        c = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([c[0] ^ 0x40]))
    return big


def verify_checks(lin, win, repo, tmp, label):
    r = win.run('verify', '--repo', win.path(repo), '--read-data')
    check(r.returncode == 0, '%s: verify --read-data exits 0 (%d) %s'
          % (label, r.returncode, tail(r.stderr)))
    r = win.run('audit', 'verify', '--repo', win.path(repo))
    check(r.returncode == 0, '%s: audit verify exits 0 (%d) %s'
          % (label, r.returncode, tail(r.stderr)))
    r = lin.run('audit', 'verify', '--repo', lin.path(repo))
    check(r.returncode == 0, '%s: the audit records the Windows viewer wrote verify on Linux '
          '(%d) %s' % (label, r.returncode, tail(r.stderr)))
    bad = tmp + '/壊れた 媒体 ^ copy'
    shutil.copytree(repo, bad, symlinks=True)
    flip_pack_byte(bad)
    r = win.run('verify', '--repo', win.path(bad), '--read-data')
    rl = lin.run('verify', '--repo', lin.path(bad), '--read-data')
    check(r.returncode != 0 and not wh.crashed(r) and r.stderr.strip() + r.stdout.strip(),
          '%s: a flipped byte in a pack: verify fails with a message, no crash (exit %d: %s)'
          % (label, r.returncode, tail(r.stderr + r.stdout, 160)))
    check(r.returncode == rl.returncode, '%s: the same exit status as the Linux build (%d, %d)'
          % (label, r.returncode, rl.returncode))
    shutil.rmtree(bad, ignore_errors=True)


# ---------------------------------------------------------------- g: read-only media
def read_only_checks(lin, win, repo, st, truth, tmp):
    ro = tmp + '/読み取り専用 ^ 媒体'
    shutil.copytree(repo, ro + '/repo', symlinks=True)
    subprocess.run(['chmod', '-R', 'a-w', ro])
    cases = [('read-only (mode bits)', ro + '/repo')]
    mnt = None
    if os.geteuid() == 0:  # root ignores mode bits: a read-only bind mount as well
        mnt = tmp + '/ro-mount ^ 媒体'
        os.makedirs(mnt)
        a = subprocess.run(['mount', '--bind', ro, mnt], capture_output=True)
        b = a.returncode == 0 and subprocess.run(['mount', '-o', 'remount,ro,bind', mnt],
                                                 capture_output=True)
        if a.returncode == 0 and b.returncode == 0:
            cases.append(('read-only (bind mount)', mnt + '/repo'))
        else:
            if a.returncode == 0:
                subprocess.run(['umount', mnt])
            mnt = None
            check(True, 'read-only bind mount: mount refused here (%s) # SKIP'
                  % tail(a.stderr if a.returncode else b.stderr, 80))
    else:
        check(True, 'read-only bind mount: needs root; the mode bits hold for this user # SKIP')
    try:
        for label, r in cases:
            probe = subprocess.run(['touch', r + '/probe'], capture_output=True)
            if os.geteuid() != 0 or 'mount' in label:
                check(probe.returncode != 0, '%s: the medium refuses writes' % label)
            compare_viewers(lin, win, r, truth, label)
            p = truth['patients'][0]['patient']['id']
            a = lin.run('show', p, '--json', '--repo', lin.path(r))
            b = win.run('show', p, '--json', '--repo', win.path(r))
            check(b.returncode == 0 and a.stdout == b.stdout,
                  '%s: show --json the same as Linux (exit %d) %s'
                  % (label, b.returncode, tail(b.stderr)))
            restore_check(win, r, st, tmp + '/復元 ^ 読み取り専用', label)
    finally:
        if mnt:
            subprocess.run(['umount', mnt])
        subprocess.run(['chmod', '-R', 'u+w', ro])


# ---------------------------------------------------------------- h: names Windows forbids
FORBIDDEN = ['aux.txt', 'a:b', 'con', 'COM1.log', 'trail.', 'q?x']


def forbidden_checks(lin, win, st, tmp, env):
    dept = tmp + '/fb/部門'
    os.makedirs(dept + '/sub ^ 検査')
    for f in FORBIDDEN + ['ok.txt', '検査結果 ^ 2025.txt']:
        with open(dept + '/' + f, 'w') as o:
            o.write('file %s\n' % f)
    with open(dept + '/sub ^ 検査/nested.txt', 'w') as o:
        o.write('nested\n')
    repo = tmp + '/fb/repo'
    run(MAMORI, '-q', 'init', '--repo', repo, '--user', 'nurse', '--kdf-passes', '1',
        '--kdf-memory', '1', '--allow-weak-secrets', env=env)
    run(MAMORI, '-q', 'backup', '--repo', repo, '--name', 'dept', st + '/standard', dept, env=env)
    target = tmp + '/fb/復元先 禁止名'
    r = win.run('restore', '--repo', win.path(repo), 'latest', '--to', win.path(target))
    msg = (r.stderr + r.stdout).decode('utf-8', 'replace')
    note('restore with forbidden names: exit %d, %s' % (r.returncode, msg[-600:]))
    check(not wh.crashed(r), 'forbidden names: restore does not crash (exit %d)' % r.returncode)
    if NATIVE:
        check(True, 'forbidden names are Windows-only: not refused on Linux # SKIP')
        return
    check(r.returncode != 0 or 'forbid' in msg.lower() or '使えない' in msg,
          'forbidden names: restore reports them (exit %d)' % r.returncode)
    unnamed = [f for f in FORBIDDEN if f not in msg]
    check(not unnamed, 'forbidden names: each is named in the report%s'
          % ('' if not unnamed else ' (not named: %s)' % unnamed))
    ok = all(open(target + '/部門/' + f).read() == 'file %s\n' % f
             for f in ('ok.txt', '検査結果 ^ 2025.txt') if os.path.exists(target + '/部門/' + f))
    ok = ok and os.path.exists(target + '/部門/ok.txt') and \
        os.path.exists(target + '/部門/sub ^ 検査/nested.txt')
    check(ok, 'forbidden names: every other file of the folder is restored')
    same, d = diff_trees(st + '/standard', target + '/standard')
    check(same, 'forbidden names: the storage beside them is restored byte for byte%s'
          % ('' if same else ': ' + d))


# ---------------------------------------------------------------- i: the medium's launcher
LAUNCHER = b'"%~dp0bin\\mamori.exe" view --repo "%~dp0."'


def launcher_checks(win, jwin, st, tmp, env):
    m = tmp + '/媒体 ^ launcher/repo'
    os.makedirs(os.path.dirname(m))
    exe = WIN_EXE
    if NATIVE:  # a stand-in for the exe: what is copied and hashed is checked all the same
        exe = tmp + '/stand-in.exe'
        open(exe, 'wb').write(b'MZ stand-in for mamori.exe\n')
    e = dict(env, MAMORI_VIEWER_COPY='1', MAMORI_WINDOWS_EXE=exe)
    run(MAMORI, '-q', 'init', '--repo', m, '--user', 'nurse', '--kdf-passes', '1',
        '--kdf-memory', '1', '--allow-weak-secrets', env=e)
    run(MAMORI, '-q', 'backup', '--repo', m, st + '/standard', st + '/extended', env=e)
    want = ['bin/mamori.exe', '緊急時ビューア.bat', 'mamori-view.bat', 'SHA256SUMS-windows.txt']
    have = [f for f in want if os.path.exists(m + '/' + f)]
    if not have:
        check(False, 'launcher: the medium has no Windows files (branch win-medium not merged)',
              'TODO win-medium')
        return
    check(have == want, 'launcher: the medium has %s (missing: %s)'
          % (', '.join(want), [f for f in want if f not in have]))
    if have != want:
        return
    check(open(m + '/bin/mamori.exe', 'rb').read() == open(exe, 'rb').read(),
          'launcher: bin/mamori.exe is the Windows build')
    a, b = (open(m + '/' + f, 'rb').read() for f in want[1:3])
    check(a == b and LAUNCHER in a and b'\r\n' in a and b'\n' not in a.replace(b'\r\n', b'') and
          all(c < 128 for c in a),
          'launcher: the two .bat files are the same ASCII, CRLF bytes and run %s'
          % LAUNCHER.decode())
    sums, bad = {}, []
    for line in open(m + '/SHA256SUMS-windows.txt', 'rb').read().decode().splitlines():
        h, _, f = line.partition('  ')
        sums[f] = h
        if hashlib.sha256(open(m + '/' + f, 'rb').read()).hexdigest() != h:
            bad.append(f)
    check(set(want[:3]) <= set(sums) and not bad,
          'launcher: SHA256SUMS-windows.txt lists the exe and the launchers, hashes match%s'
          % ('' if not bad else ' (wrong: %s)' % bad))
    if NATIVE:
        check(True, 'launcher: running the .bat needs wine # SKIP')
        return
    # The .bat passes no --no-browser: the viewer asks ShellExecuteW to open the browser
    # (winebrowser is off in this prefix) and listens on a free port, which it prints. Started
    # as Explorer starts it, from the medium's folder: Wine's cmd takes `^` in a path given on
    # its command line for an escape (and quoted, Wine passes \" that cmd does not read).
    for side, bat in ((win, 'mamori-view.bat'), (jwin, '緊急時ビューア.bat')):
        launch(side, m, bat)


def launch(side, medium, bat):
    p = subprocess.Popen([side.wine.wine, 'cmd', '/c', bat], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=side.env, cwd=medium, start_new_session=True)
    try:
        port, out = wh.read_url(p, 90)
        check(port is not None, 'launcher (%s): %s starts the viewer, which prints its address '
              '(%r)' % (side.locale, bat, tail(out, 120)))
        if port:
            v = wh.Viewer.__new__(wh.Viewer)
            v.port = port
            s, _, body = v.req('GET', '/')
            sl, _, _, cookie = v.login(PASS)
            check(s == 200 and b'<html' in body.lower() and sl == 200,
                  'launcher (%s): the viewer answers on its port and the passphrase logs in '
                  '(%d, %d)' % (side.locale, s, sl))
    finally:
        wh.stop_group(p)


# ---------------------------------------------------------------- f, j: locale and unit tests
ACP_PROBE = r'''#include <windows.h>
#include <stdio.h>
int main(void) { printf("%u %u\n", GetACP(), GetOEMCP()); return 0; }
'''


def code_pages(win, tmp):
    """The ANSI and OEM code pages the Windows side runs with, as "ACP OEMCP"."""
    cc = shutil.which('x86_64-w64-mingw32-gcc-posix') or shutil.which('x86_64-w64-mingw32-gcc')
    if cc:
        open(tmp + '/acp.c', 'w').write(ACP_PROBE)
        if subprocess.run([cc, tmp + '/acp.c', '-o', tmp + '/acp.exe']).returncode == 0:
            r = subprocess.run([win.wine.wine, tmp + '/acp.exe'], env=win.env,
                               capture_output=True, timeout=120)
            return r.stdout.decode().strip()
    # no cross compiler: cmd's own answer, written in the OEM code page
    r = subprocess.run([win.wine.wine, 'cmd', '/c', 'chcp'], env=win.env, capture_output=True,
                       timeout=120)
    return '932 932' if '現在のコード' in r.stdout.decode('cp932', 'replace') else r.stdout


def unit_tests(win):
    if not os.path.exists(WIN_UNIT):
        return check(False, 'path unit tests: %s not built (make windows builds it)' % WIN_UNIT)
    r = subprocess.run([win.wine.wine, WIN_UNIT], env=win.env, capture_output=True, timeout=300)
    out = tail(r.stdout + r.stderr, 2000)
    note(out[-800:])
    check(r.returncode == 0, 'path unit tests: test_win_path.exe passes under wine (exit %d)'
          % r.returncode)


# ---------------------------------------------------------------- main
def main():
    tmp = tempfile.mkdtemp(prefix='mm-win-')
    env = {k: v for k, v in os.environ.items() if not k.startswith('MAMORI')}
    env.update(MAMORI_PASSPHRASE=PASS, XDG_CACHE_HOME=tmp + '/cache', MAMORI_CACHE=tmp + '/cache',
               MAMORI_AUDIT_DIR=tmp + '/audit-host', TZ='JST-9', MAMORI_VIEWER_COPY='0',
               HOME=tmp + '/home', TMPDIR=tmp + '/tmpdir', LANG='C.UTF-8', LC_ALL='C.UTF-8')
    env.pop('MALLOC_PERTURB_', None)
    for d in ('home', 'tmpdir', 'cache', 'audit-host'):
        os.makedirs(tmp + '/' + d)
    wine = None
    try:
        if NATIVE:
            note('MM_WIN_TESTS_NATIVE=1: the Linux binary plays the Windows build')
            exe = MAMORI
        else:
            w = wh.find_wine()
            if not w:
                print('1..0 # SKIP wine is not installed (Debian: apt-get install wine64)')
                return 0
            if not os.path.exists(WIN_EXE):
                check(False, 'the Windows build %s is missing: run `make windows`' % WIN_EXE)
                return 1
            wine = wh.Wine(w, BUILD)
            t0 = time.monotonic()
            err = wine.ensure(env)
            if not check(err is None, 'the Wine prefix and the ja_JP.UTF-8 locale are ready '
                         '(%.0f s)%s' % (time.monotonic() - t0, '' if not err else ': ' + err)):
                return 1
            exe = WIN_EXE
        st, repo, long_repo, truth = make_media(tmp, env)
        lin = wh.Side('linux', MAMORI, env)
        win = wh.Side('windows', exe, env, wine)
        # b-e in the C.UTF-8 locale (English messages on both sides)
        compare_viewers(lin, win, repo, truth, 'Japanese ^ path')
        compare_viewers(lin, win, long_repo, truth, 'path over 300 characters')
        compare_cli(lin, win, repo, truth, 'Japanese ^ path')
        compare_cli(lin, win, long_repo, truth, 'path over 300 characters')
        restore_check(win, repo, st, tmp + '/復元先 ^ テスト/c', 'restore')
        restore_check(win, long_repo, st, os.path.dirname(long_repo) + '/復元先 ^ 長い', 'restore '
                      '(paths over 300 characters)')
        verify_checks(lin, win, repo, tmp, 'verify')
        verify_checks(lin, win, long_repo, tmp, 'verify (path over 300 characters)')
        # f: Japanese locale
        if wine:
            loc = wine.locpath
            jwin = wh.Side('windows-ja', exe, env, wine, 'ja_JP.UTF-8')
            cp = code_pages(jwin, tmp)
            check(cp == '932 932', 'ja_JP.UTF-8: Wine runs the exe with ACP and OEMCP 932 (%s)'
                  % cp)
        else:
            loc = tmp + '/locale'
            os.makedirs(loc)
            subprocess.run(['localedef', '-i', 'ja_JP', '-f', 'UTF-8', loc + '/ja_JP.UTF-8'],
                           capture_output=True)
            jwin = wh.Side('windows-ja', exe, env, None, 'ja_JP.UTF-8', loc)
        jlin = wh.Side('linux-ja', MAMORI, env, None, 'ja_JP.UTF-8', loc)
        compare_viewers(jlin, jwin, repo, truth, 'CP932: Japanese ^ path')
        compare_viewers(jlin, jwin, long_repo, truth, 'CP932: path over 300 characters')
        compare_cli(jlin, jwin, repo, truth, 'CP932: Japanese ^ path')
        compare_cli(jlin, jwin, long_repo, truth, 'CP932: path over 300 characters')
        restore_check(jwin, repo, st, tmp + '/復元先 ^ テスト/ja', 'CP932: restore')
        # g, h, i, j
        read_only_checks(lin, win, repo, st, truth, tmp)
        forbidden_checks(lin, win, st, tmp, env)
        launcher_checks(win, jwin, st, tmp, env)
        if wine:
            unit_tests(win)
    finally:
        if wine:
            wine.kill(env)
        subprocess.run(['chmod', '-R', 'u+w', tmp])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    rc = None
    try:
        rc = main()
    except Exception as e:  # a crash of the test itself is a failure, not a pass
        import traceback
        traceback.print_exc(file=sys.stdout)
        check(False, 'test raised %r' % e)
    if rc == 0 and not results:
        sys.exit(0)
    print('1..%d' % len(results))
    sys.exit(0 if all(ok for ok, _ in results) else 1)
