#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# HTTP tests of `mamori view` (TAP): a generated storage backed up twice, the viewer started
# on a free port, then: only 127.0.0.1 is bound; every API answers 401 without a session;
# logins (wrong passphrase slowed, then paused with 429; good one sets an HttpOnly,
# SameSite=Strict cookie); search and patient answers match the generator's truth file and
# change with the generation; documents only of that patient; path traversal, oversized and
# malformed requests refused; a strict Content-Security-Policy and no caching on every answer;
# a foreign Host header refused; logout and idle expiry end the session; a medium made
# unreadable answers 500 "repository" and reads again once back; every login, failed
# login, patient opened and logout is in the audit log; and (under strace, when it works)
# nothing but the audit logs is opened for writing while patients are read (a call split
# between threads is judged by its first half, which names the file).
#   test_viewer_http.py MAMORI MAMORI_GEN
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

MAMORI, GEN = sys.argv[1], sys.argv[2]
PASS = 'http-test-passphrase'
results = []


def check(cond, what):
    results.append((bool(cond), what))
    print('%s %d - %s' % ('ok' if cond else 'not ok', len(results), what), flush=True)
    return cond


def run(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, **kw)


class Viewer:
    def __init__(self, repo, env, strace_out=None):
        cmd = [MAMORI, 'view', '--repo', repo, '--no-browser', '--port', '0']
        if strace_out:
            cmd = ['strace', '-f', '-qq', '-e', 'trace=open,openat,creat,rename,renameat,'
                   'renameat2,truncate,mkdir,unlink', '-o', strace_out] + cmd
        self.traced = strace_out is not None
        self.repo = repo
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        line = self.p.stdout.readline().decode().strip()
        m = re.match(r'^http://127\.0\.0\.1:(\d+)/$', line)
        if not m:
            self.p.kill()
            raise SystemExit('view did not print its address: %r %r' % (line, self.p.stderr.read()))
        self.port = int(m.group(1))
        self.host = '127.0.0.1:%d' % self.port

    def req(self, method, path, body=None, headers=None, cookie=None):
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=60)
        h = dict(headers or {})
        if cookie:
            h['Cookie'] = cookie
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data

    def raw(self, data):
        s = socket.create_connection(('127.0.0.1', self.port), timeout=30)
        s.sendall(data)
        out = b''
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if b'\r\n\r\n' in out and len(out) > 64:
                    break
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
        return out

    def login(self, passphrase=PASS, user=''):
        body = json.dumps({'user': user, 'passphrase': passphrase})
        st, h, data = self.req('POST', '/api/login', body, {'Content-Type': 'application/json'})
        cookie = None
        if 'set-cookie' in h:
            cookie = h['set-cookie'].split(';')[0]
        return st, h, data, cookie

    def stop(self):
        if self.traced:  # strace passes no signal on: stop mamori itself, strace then ends
            try:
                kids = open('/proc/%d/task/%d/children' % (self.p.pid, self.p.pid)).read().split()
            except OSError:
                kids = []
            for k in kids:
                os.kill(int(k), 15)
        else:
            self.p.terminate()
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.p.returncode


def memory_holds(pid, needle):
    """Does any writable private mapping of process @pid (up to 1 GiB each) hold @needle?"""
    found = False
    with open('/proc/%d/maps' % pid) as maps, open('/proc/%d/mem' % pid, 'rb', 0) as mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split('-'))
            if not f[1].startswith('rw') or hi - lo > 1 << 30:
                continue
            try:
                mem.seek(lo)
                if needle in mem.read(hi - lo):
                    found = True
            except OSError:
                pass
    return found


def login_names(tmp, env, st):
    """A key slot named "passphrase": the body {"user":"passphrase",...} logs in as it."""
    repo = tmp + '/r-names'
    # a right passphrase marked at its end (after the bytes a free list overwrites), so that a
    # copy left anywhere in the viewer's memory after the login can be found
    right_marker = 'mm-right-passphrase-%d' % os.getpid()
    right = 'right-' + '-' * 40 + right_marker
    renv = dict(env, MAMORI_PASSPHRASE=right)
    run(MAMORI, '-q', 'init', '--repo', repo, '--user', 'passphrase', '--kdf-passes', '1',
        '--kdf-memory', '1', '--allow-weak-secrets', env=renv)
    run(MAMORI, '-q', 'backup', '--repo', repo, st + '/standard', st + '/extended', env=renv)
    # glibc fills freed blocks when MALLOC_PERTURB_ is set (meson sets it): not here, so that
    # a copy left in freed heap would be found; the viewer is given no passphrase variable
    # (its environment would hold it): logins bring it
    v = Viewer(repo, {k: x for k, x in env.items()
                      if k not in ('MALLOC_PERTURB_', 'MAMORI_PASSPHRASE')})
    try:
        for body in ('{"user":"passphrase","passphrase":"%s"}' % right,
                     '{"passphrase":"%s","user":"passphrase"}' % right):
            s, h, data = v.req('POST', '/api/login', body, {'Content-Type': 'application/json'})
            check(s == 200 and json.loads(data)['user'] == 'passphrase',
                  'a value that names a member is read as a value: %r (%d)' % (body[:30], s))
            if s == 200:
                cookie = h['set-cookie'].split(';')[0]
                v.req('POST', '/api/logout', b'{}', {'Content-Type': 'application/json'}, cookie)
        s, h, data = v.req('POST', '/api/login',
                           '{"user":"passphrase","passphrase":"%s","x":"user"}' % right,
                           {'Content-Type': 'application/json'})
        check(s == 400, 'a member beyond user and passphrase is refused (%d)' % s)
        # nor the right one, after logins that opened the repository (the derived key stays);
        # the connection is kept open, so its buffers are still there (libmicrohttpd frees
        # them when it closes), and the body arrives in pieces, each read on its own
        body = ('{"passphrase":"%s"}' % right).encode()
        kept = socket.create_connection(('127.0.0.1', v.port), timeout=30)
        kept.sendall(('POST /api/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json'
                      '\r\nContent-Length: %d\r\n\r\n' % (v.host, len(body))).encode()
                     + body[:30])
        for k in range(30, len(body), 30):
            time.sleep(0.1)
            kept.sendall(body[k:k + 30])
        answer = kept.recv(65536)
        check(answer.startswith(b'HTTP/1.1 200'), 'the marked right passphrase, sent in pieces,'
              ' logs in (%r)' % answer[:12])
        time.sleep(0.2)
        try:
            held = memory_holds(v.p.pid, right_marker.encode())
        except OSError as e:
            held = None
            check(True, 'reading the viewer\'s memory is not allowed here (%s) # SKIP' % e)
        kept.close()
        if held is not None:
            check(not held, 'no copy of the right passphrase is left in the viewer\'s memory'
                  ' after the login')
        # a wrong passphrase leaves no copy in the server's memory (connection buffer, body,
        # jansson's freed blocks, the stack)
        marker = 'mm-wrong-passphrase-%d' % os.getpid()
        s, _, _ = v.req('POST', '/api/login', '{"user":"","passphrase":"%s%s"}'
                        % ('-' * 40, marker),  # after the bytes a free list overwrites
                        {'Content-Type': 'application/json'})
        check(s == 401, 'the marked wrong passphrase is refused (%d)' % s)
        time.sleep(0.2)
        try:
            held = memory_holds(v.p.pid, marker.encode())
        except OSError as e:
            held = None
            check(True, 'reading the viewer\'s memory is not allowed here (%s) # SKIP' % e)
        if held is not None:
            check(not held, 'no copy of a wrong passphrase is left in the viewer\'s memory')
    finally:
        v.stop()


def main():
    tmp = tempfile.mkdtemp(prefix='mm-http-')
    env = dict(os.environ, MAMORI_PASSPHRASE=PASS, XDG_CACHE_HOME=tmp + '/cache',
               MAMORI_AUDIT_DIR=tmp + '/audit-host', TZ='Asia/Tokyo',
               MAMORI_VIEW_IDLE_SECONDS='3', MAMORI_VIEW_FAIL_DELAY_MS='50',
               HOME=tmp + '/home', TMPDIR=tmp + '/tmpdir')
    os.makedirs(env['HOME'])
    os.makedirs(env['TMPDIR'])
    st, repo = tmp + '/s', tmp + '/r'
    run(GEN, '--out', st, '--patients', '12', '--days', '120', '--seed', '7', '--extended',
        '--truth', tmp + '/truth1.json', '-q', env=env)
    run(MAMORI, '-q', 'init', '--repo', repo, '--user', 'nurse', '--kdf-passes', '1',
        '--kdf-memory', '1', '--allow-weak-secrets', env=env)
    run(MAMORI, '-q', 'backup', '--repo', repo, '--name', 'day1', st + '/standard',
        st + '/extended', env=env)
    run(GEN, 'advance', '--out', st, '--days', '30', '--truth', tmp + '/truth2.json', '-q',
        env=env)
    run(MAMORI, '-q', 'backup', '--repo', repo, '--name', 'day2', st + '/standard',
        st + '/extended', env=env)
    truth = json.load(open(tmp + '/truth2.json'))

    # LeakSanitizer cannot work under ptrace: an ASan build is leak-checked instead, and the
    # plain build (the same code) is watched by strace
    asan = b'libasan' in subprocess.run(['ldd', MAMORI], capture_output=True).stdout
    use_strace = not asan and shutil.which('strace') is not None and \
        subprocess.run(['strace', '-qq', '-o', '/dev/null', 'true']).returncode == 0
    traces = [tmp + '/strace1.txt', tmp + '/strace2.txt'] if use_strace else [None, None]
    v = Viewer(repo, env, traces[0])
    try:
        tests(v, truth, tmp, env, traces[1])
    finally:
        rc = v.stop()
    check(rc == 0, 'view stops cleanly on SIGTERM (exit %s)' % rc)
    if use_strace:
        writes = []
        lines = []
        for t in traces:
            lines += open(t, encoding='utf-8', errors='replace').readlines()
        for line in lines:
            if not re.search(r'O_WRONLY|O_RDWR|O_CREAT|creat\(|rename|truncate|mkdir|unlink', line):
                continue
            if '= -1' in line or '/dev/null' in line or 'resumed>' in line:
                continue
            if '/audit/' in line or '/audit-host/' in line:
                continue  # the audit logs (medium and host) are the only files written
            if re.search(r'/r/head(\.2)?(\.tmp\.\d+)?"', line):
                continue  # and the repository head that covers the medium's log (issue 17.1)
            m = re.search(r'mkdir\("([^"]*)"', line)
            if m and (tmp + '/audit-host').startswith(m.group(1)):
                continue  # the host's audit folder (and its parents), for the head's copy
            writes.append(line.strip())
        check(not writes, 'nothing but the audit logs and the repository head is written while '
              'the viewer runs'
              + ('' if not writes else ': ' + '; '.join(writes[:5])))
    else:
        check(True, 'no strace (or an ASan build): the no-disk-writes check runs in the plain'
              ' build # SKIP')
    # the audit log records every login, failed login, patient opened and logout
    out = run(MAMORI, 'audit', 'show', '--repo', repo, '--json', env=env).stdout.decode()
    recs = json.loads(out)['records']
    kinds = [r.get('kind') for r in recs]
    check('viewer-login' in kinds, 'audit: viewer-login recorded')
    check('viewer-login-failed' in kinds, 'audit: viewer-login-failed recorded')
    opened = [r for r in recs if r.get('kind') == 'patient-opened']
    check(opened and all(r.get('user') == 'nurse' for r in opened),
          'audit: patient-opened recorded with the key slot name')
    reasons = set(r['details'].get('reason') for r in recs if r.get('kind') == 'viewer-logout')
    check({'logout', 'idle', 'stop'} <= reasons,
          'audit: session ends recorded (logout, idle expiry, stop): %s' % sorted(reasons))
    check(all(r.get('subject') for r in opened) or all('patient' in json.dumps(r) for r in opened),
          'audit: patient-opened names the patient (sealed on the medium)')
    for pid in getattr(v, 'ward_ids', []):  # a ward list records each patient listed
        out = run(MAMORI, 'audit', 'show', '--repo', repo, '--json', '--patient', pid,
                  env=env).stdout.decode()
        check(any(r.get('kind') == 'patient-opened' for r in json.loads(out)['records']),
              'audit: the ward screen recorded its patient as shown')
    verify = subprocess.run([MAMORI, 'audit', 'verify', '--repo', repo], env=env,
                            capture_output=True)
    check(verify.returncode == 0, 'audit verify: the log is intact (exit %d)' % verify.returncode)
    login_names(tmp, env, st)
    shutil.rmtree(tmp, ignore_errors=True)


def tests(v, truth, tmp, env, trace2):
    # ---- bound to 127.0.0.1 only
    bound = []
    for name in ('/proc/net/tcp', '/proc/net/tcp6'):
        if os.path.exists(name):
            for line in open(name).readlines()[1:]:
                f = line.split()
                addr, port = f[1].split(':')
                if int(port, 16) == v.port and f[3] == '0A':
                    bound.append(addr)
    check(bound == ['0100007F'], 'listens on 127.0.0.1 only (%s)' % bound)
    # ---- every API answers 401 without a session (and with a forged one)
    apis = [('GET', '/api/session'), ('GET', '/api/generations'), ('GET', '/api/search?q=a'),
            ('GET', '/api/patient?id=1'), ('GET', '/api/file?id=1&path=a/b'),
            ('GET', '/api/wards'), ('GET', '/api/wards?ward=4E'),
            ('POST', '/api/logout'), ('GET', '/api/nothing-here')]
    for cookie in (None, 'mm_session=' + '0' * 64, 'mm_session=../../etc'):
        codes = [v.req(m, p, b'{}' if m == 'POST' else None,
                       {'Content-Type': 'application/json'}, cookie)[0] for m, p in apis]
        check(all(c == 401 for c in codes), 'every API answers 401 without a valid session '
              '(cookie %s): %s' % (cookie and cookie[:14], codes))
    # ---- pages: strict CSP, no caching, nothing inline
    for path in ('/', '/app.js', '/app.css', '/api/session'):
        s, h, body = v.req('GET', path)
        csp = h.get('content-security-policy', '')
        check("default-src 'none'" in csp and "script-src 'self'" in csp and
              'unsafe-inline' not in csp and 'unsafe-eval' not in csp and
              "frame-ancestors 'self'" in csp,
              'strict Content-Security-Policy on %s' % path)
        check('no-store' in h.get('cache-control', '') and h.get('x-content-type-options') ==
              'nosniff', 'no caching, nosniff on %s' % path)
    s, h, body = v.req('GET', '/')
    check(s == 200 and b'<script src="/app.js"' in body and b'<script>' not in body,
          'the page loads its script from the server, none inline')
    check(not re.search(rb'(src|href)="(https?:)?//', body), 'the page loads nothing from outside')
    # ---- hostile and malformed requests
    for path in ('/../../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/app.js/../../x',
                 '/..%2fkeys', '/index.html%00.js', '//etc/passwd', '/api/../keys'):
        raw = v.raw(('GET %s HTTP/1.1\r\nHost: %s\r\n\r\n' % (path, v.host)).encode())
        status = raw.split(b' ')[1] if raw.startswith(b'HTTP/1.1') else b'closed'
        page = status == b'200' and raw.endswith(v.req('GET', '/')[2])  # the page itself
        check((status in (b'400', b'401', b'404') or page) and b'root:' not in raw,
              'path traversal %s refused or only the page served (%s)' % (path, status.decode()))
    raw = v.raw(b'GARBAGE\r\n\r\n')
    check(raw == b'' or raw.startswith(b'HTTP/1.1 400'), 'a malformed request line is refused')
    raw = v.raw(('GET / HTTP/1.1\r\nHost: %s\r\nX-Big: %s\r\n\r\n' % (v.host, 'a' * 100000))
                .encode())
    check(raw == b'' or re.match(rb'HTTP/1.1 4\d\d', raw), 'an oversized header is refused (%r)'
          % raw[:20])
    s, h, _ = v.req('GET', '/', headers={'Host': 'evil.example:%d' % v.port})
    check(s == 421, 'a foreign Host header (DNS rebinding) is refused (%d)' % s)
    s, h, _ = v.req('DELETE', '/')
    check(s == 405, 'DELETE is refused (%d)' % s)
    s, h, _ = v.req('GET', '/api/login')
    check(s == 405, 'GET of the login is refused (%d)' % s)
    s, _, _ = v.req('POST', '/api/login', 'passphrase=' + PASS,
                    {'Content-Type': 'application/x-www-form-urlencoded'})
    check(s == 415, 'a login that is not JSON is refused (a form of another site) (%d)' % s)
    s, _, _ = v.req('POST', '/api/login', json.dumps({'passphrase': 'x' * 8000}),
                    {'Content-Type': 'application/json'})
    check(s == 413, 'an oversized login body is refused (%d)' % s)
    for body in ('{"passphrase": ', '{"passphrase": 5}', '[]', '{"passphrase":"a\\x"}', '',
                 '{"passphrase":"%s","passphrase":"%s"}' % (PASS, PASS),
                 '{"passphrase":"%s","user":5}' % PASS, '{"user":"nurse"}',
                 '{"passphrase":"%s","user":"nurse","again":1}' % PASS,
                 b'{"passphrase":"\xff\xfe"}', b'{"passphrase":"a\x00b"}',
                 '{"passphrase":"' + 'x' * 1024 + '"}'):
        s, _, _ = v.req('POST', '/api/login', body, {'Content-Type': 'application/json'})
        check(s == 400, 'a malformed login body is refused: %r (%d)' % (body[:40], s))
    # ---- wrong passphrases: refused, slowed, then paused
    t0 = time.monotonic()
    s, _, data, cookie = v.login('wrong one')
    t1 = time.monotonic()
    check(s == 401 and cookie is None and json.loads(data)['error'] == 'wrong_passphrase',
          'a wrong passphrase is refused without a session')
    s, _, data, cookie = v.login('wrong two')
    t2 = time.monotonic()
    check(t2 - t1 >= 0.09 and t2 - t1 > (t1 - t0) * 1.2 - 0.05,
          'a second wrong passphrase is answered later than the first (%.2f s, %.2f s)'
          % (t1 - t0, t2 - t1))
    s, _, data, cookie = v.login(PASS, user='nobody')
    check(s == 401 and json.loads(data)['error'] == 'wrong_passphrase',
          'an unknown user gets the same answer as a wrong passphrase')
    codes = [v.login('wrong %d' % i)[0] for i in range(8)]
    check(codes[-1] == 429, 'after ten wrong passphrases logins pause (429): %s' % codes)
    s, h, data, cookie = v.login(PASS)
    check(s == 429 and 'retry_after_s' in json.loads(data),
          'even the right passphrase waits out the pause')
    # the pause is 60 s; a fresh viewer instead of waiting
    v.stop()
    v.__init__(tmp + '/r', env, trace2)
    # ---- a good login
    s, h, data, cookie = v.login(PASS)
    check(s == 200 and json.loads(data)['user'] == 'nurse', 'the right passphrase logs in')
    sc = h.get('set-cookie', '')
    check('HttpOnly' in sc and 'SameSite=Strict' in sc and 'Path=/' in sc,
          'the session cookie is HttpOnly and SameSite=Strict')
    s, h, data = v.req('GET', '/api/generations', cookie=cookie)
    gens = json.loads(data)
    check(s == 200 and len(gens['generations']) == 2 and gens['generations'][0]['latest'] and
          gens['default'] == gens['generations'][0]['id'],
          'two generations, newest first and shown by default')
    new, old = gens['generations'][0]['id'], gens['generations'][1]['id']
    # ---- search by ID, kana, birth date
    p0 = truth['patients'][0]['patient']
    s, h, data = v.req('GET', '/api/search?q=' + p0['id'], cookie=cookie)
    res = json.loads(data)
    check(s == 200 and res['results'][0]['id'] == p0['id'] and
          res['results'][0]['name'] == p0['name'] and res['results'][0]['kana'] == p0['kana'],
          'search by ID finds the patient with name and kana')
    check('no-store' in h.get('cache-control', ''), 'search answers are not cached')
    kana = p0['kana'].split()[0]
    s, h, data = v.req('GET', '/api/search?q=' + urllib.parse.quote(kana), cookie=cookie)
    check(s == 200 and p0['id'] in [r['id'] for r in json.loads(data)['results']],
          'search by kana family name finds the patient')
    s, h, data = v.req('GET', '/api/search?q=' + p0['birth_date'], cookie=cookie)
    check(s == 200 and p0['id'] in [r['id'] for r in json.loads(data)['results']],
          'search by birth date finds the patient')
    # one search-result JSON: the CLI's search --json --repo answers what the API answers
    cli = json.loads(run(MAMORI, 'search', '--json', '--repo', v.repo, '--generation', old,
                         kana, env=env).stdout)
    s, h, data = v.req('GET', '/api/search?gen=%s&q=%s' % (old, urllib.parse.quote(kana)),
                       cookie=cookie)
    api = json.loads(data)
    check(s == 200 and api.pop('generation') == old and api == cli and cli['results'] and
          all(isinstance(r['age'], int) and r['age'] >= 0 or r['age'] is None
              for r in api['results']),
          'search: the API and search --json give the same results, age a number or null')
    s, h, data = v.req('GET', '/api/search?q=' + 'a' * 300, cookie=cookie)
    check(s == 400, 'an over-long query is refused (%d)' % s)
    s, h, data = v.req('GET', '/api/search?q=', cookie=cookie)
    check(s == 400, 'an empty query is refused (%d)' % s)
    # ---- the patient screen's data, against the truth file
    s, h, data = v.req('GET', '/api/patient?id=' + p0['id'], cookie=cookie)
    pj = json.loads(data)
    rec = pj['record']
    check(s == 200 and 'no-store' in h.get('cache-control', '') and pj['generation'] == new,
          'the patient answer is not cached and names its generation')
    check(rec['patient']['name'] == p0['name'] and rec['patient']['birth_date'] ==
          p0['birth_date'] and rec['patient']['blood_type'] == p0['blood_type'],
          'patient demographics match the truth')
    tp = truth['patients'][0]
    check(sorted(a['name'] for a in rec['allergies']) == sorted(a['name'] for a in tp['allergies']),
          'allergies match the truth')
    check(sorted(d['name'] for d in rec['diagnoses']) ==
          sorted(d['name'] for d in tp['diagnoses']), 'current diagnoses match the truth')
    check(len(rec['prescriptions']) == len(tp['prescriptions']),
          'prescriptions match the truth in number (%d, %d)'
          % (len(rec['prescriptions']), len(tp['prescriptions'])))
    labs = pj['labs']
    ncells = sum(1 for row in labs['cells'] for c in row if c)
    check(ncells == len(tp['labs']) and len(labs['tests']) == len(labs['cells']),
          'the lab matrix holds every current result of the truth (%d, %d)'
          % (ncells, len(tp['labs'])))
    gens = json.loads(v.req('GET', '/api/generations', cookie=cookie)[2])['generations']
    gtime = [g['time'] for g in gens if g['id'] == new][0]
    check(pj['current_medication']['as_of'] == gtime[:16],
          'the current medication is judged at the generation\'s local time (%s, %s)'
          % (pj['current_medication']['as_of'], gtime))
    s, _, data = v.req('GET', '/api/patient?id=%s&as_of=2025-02-03T04:05' % p0['id'],
                       cookie=cookie)
    check(s == 200 and json.loads(data)['current_medication']['as_of'] == '2025-02-03T04:05',
          'as_of asks for the current medication at another time')
    for bad in ('2025-02-30T04:05', '2025-02-03', '2025-02-03T04:05:06', 'x'):
        s, _, _ = v.req('GET', '/api/patient?id=%s&as_of=%s' % (p0['id'], bad), cookie=cookie)
        check(s == 400, 'a bad as_of is refused (%s: %d)' % (bad, s))
    s, _, _ = v.req('GET', '/api/patient?id=no-such-patient', cookie=cookie)
    check(s == 404, 'an unknown patient is 404 (%d)' % s)
    s, _, _ = v.req('GET', '/api/patient?id=' + 'x' * 100, cookie=cookie)
    check(s == 400, 'an over-long patient ID is refused (%d)' % s)
    # ---- the ward screen: the current inpatients of each ward, as the truth says
    def ward_now(tp):
        w = None
        for e in tp['encounters']:
            k = e['kind']
            if k in ('admission', 'transfer'):
                w = e.get('ward') or ''
            elif k in ('leave', 'return') and w is not None and e.get('ward'):
                w = e['ward']
            elif k == 'discharge':
                w = None
        return w or None
    want = {}
    for tp in truth['patients']:
        if ward_now(tp):
            want.setdefault(ward_now(tp), []).append(tp['patient']['id'])
    s, _, data = v.req('GET', '/api/wards', cookie=cookie)
    wl = json.loads(data)['list']['wards'] if s == 200 else None
    check(s == 200 and {w['ward']: w['count'] for w in wl} ==
          {k: len(x) for k, x in want.items()}, 'wards: every ward with its count of inpatients')
    for ward, ids in sorted(want.items()):
        s, _, data = v.req('GET', '/api/wards?ward=' + urllib.parse.quote(ward), cookie=cookie)
        got = json.loads(data)['list']['wards'] if s == 200 else None
        check(s == 200 and len(got) == 1 and
              sorted(p['id'] for p in got[0]['patients']) == sorted(ids),
              'ward %s: exactly its current inpatients' % ward)
        v.ward_ids = getattr(v, 'ward_ids', []) + ids
    s, _, data = v.req('GET', '/api/wards?ward=NO-SUCH', cookie=cookie)
    check(s == 200 and json.loads(data)['list']['wards'] == [], 'an unknown ward lists nobody')
    s, _, _ = v.req('GET', '/api/wards?ward=' + 'W' * 65, cookie=cookie)
    check(s == 400, 'an over-long ward code is refused (%d)' % s)
    # ---- generations change what is shown
    changed = None
    for tp2 in truth['patients']:
        pid = tp2['patient']['id']
        a = json.loads(v.req('GET', '/api/patient?id=%s&gen=%s' % (pid, new), cookie=cookie)[2])
        s, _, b = v.req('GET', '/api/patient?id=%s&gen=%s' % (pid, old), cookie=cookie)
        if s == 404 or json.loads(b)['record'] != a['record']:
            changed = pid
            break
    check(changed is not None, 'the older generation shows an older record')
    s, _, _ = v.req('GET', '/api/patient?id=%s&gen=%s' % (p0['id'], 'f' * 64), cookie=cookie)
    check(s == 404, 'an unknown generation is 404 (%d)' % s)
    s, _, _ = v.req('GET', '/api/patient?id=%s&gen=%s' % (p0['id'], 'zz'), cookie=cookie)
    check(s == 404, 'a malformed generation is 404 (%d)' % s)
    # ---- documents and images: only this patient's, shown inline, never run
    doc = img = owner = None
    for tp2 in truth['patients']:
        r2 = json.loads(v.req('GET', '/api/patient?id=' + tp2['patient']['id'], cookie=cookie)[2])
        for d in r2['record'].get('documents', []):
            for f in d['files']:
                if f.endswith('.pdf') and not doc:
                    doc, owner = d['folder'] + '/' + f, tp2['patient']['id']
        for d in r2['record'].get('images', []):
            if d['files'] and not img and owner == tp2['patient']['id']:
                img = d['folder'] + '/' + d['files'][0]
        if doc and img:
            break
    check(doc is not None, 'a PDF document is in the generated record')
    if doc:
        s, h, body = v.req('GET', '/api/file?id=%s&path=%s' % (owner, urllib.parse.quote(doc)),
                           cookie=cookie)
        check(s == 200 and h['content-type'] == 'application/pdf' and body.startswith(b'%PDF'),
              'a PDF document is served as application/pdf')
        check('no-store' in h.get('cache-control', '') and
              "default-src 'none'" in h.get('content-security-policy', ''),
              'documents are not cached and run nothing')
        other = [t['patient']['id'] for t in truth['patients'] if t['patient']['id'] != owner][0]
        s, _, _ = v.req('GET', '/api/file?id=%s&path=%s' % (other, urllib.parse.quote(doc)),
                        cookie=cookie)
        check(s == 404, "another patient's document is refused (%d)" % s)
        for bad in ('../../keys/nurse', doc + '/../../../../keys', '/etc/passwd',
                    doc.rsplit('/', 1)[0] + '/../' + doc):
            s, _, body = v.req('GET', '/api/file?id=%s&path=%s' % (owner, urllib.parse.quote(bad)),
                               cookie=cookie)
            check(s in (400, 404) and b'root:' not in body, 'document path %r refused (%d)'
                  % (bad[:30], s))
    if img:
        s, h, body = v.req('GET', '/api/file?id=%s&path=%s' % (owner, urllib.parse.quote(img)),
                           cookie=cookie)
        check(s == 200 and h['content-type'] == 'image/jpeg' and body[:2] == b'\xff\xd8',
              'a JPEG image is served as image/jpeg')
    # ---- logout ends the session
    s, h, _ = v.req('POST', '/api/logout', b'{}', {'Content-Type': 'application/json'}, cookie)
    check(s == 200 and 'Max-Age=0' in h.get('set-cookie', ''), 'logout clears the cookie')
    s, _, _ = v.req('GET', '/api/session', cookie=cookie)
    check(s == 401, 'after logout the session is gone (%d)' % s)
    # ---- idle expiry (3 s in this test)
    s, h, data, cookie = v.login(PASS)
    s, _, _ = v.req('GET', '/api/search?q=' + p0['id'], cookie=cookie)
    time.sleep(6)
    s, _, _ = v.req('GET', '/api/search?q=' + p0['id'], cookie=cookie)
    check(s == 401, 'an idle session expires (%d)' % s)
    # ---- concurrent sessions of two users
    s1 = v.login(PASS)[3]
    s2 = v.login(PASS)[3]
    a = v.req('GET', '/api/session', cookie=s1)[0]
    v.req('POST', '/api/logout', b'{}', {'Content-Type': 'application/json'}, s2)
    b = v.req('GET', '/api/session', cookie=s1)[0]
    check(s1 != s2 and a == 200 and b == 200, 'one logout does not end another session')
    # ---- the medium unreadable (pulled) while logged in: the index's blocks are read when
    # needed, so a search then fails with an error the page explains, the server lives on,
    # and once the medium is back the same session reads again
    v.req('POST', '/api/logout', b'{}', {'Content-Type': 'application/json'}, s1)
    cookie = v.login(PASS)[3]
    data_dir = v.repo + '/data'
    os.rename(data_dir, data_dir + '.away')
    try:
        s, _, body = v.req('GET', '/api/search?q=' + p0['id'], cookie=cookie)
        check(s == 500 and json.loads(body)['error'] == 'repository',
              'an unreadable medium: search answers 500 "repository" (%d %r)' % (s, body[:60]))
        s, _, body = v.req('GET', '/api/patient?id=' + p0['id'], cookie=cookie)
        check(s == 500 and json.loads(body)['error'] == 'repository',
              'an unreadable medium: a patient answers 500 "repository", not 404 (%d)' % s)
    finally:
        os.rename(data_dir + '.away', data_dir)
    s, _, body = v.req('GET', '/api/search?q=' + p0['id'], cookie=cookie)
    check(s == 200 and json.loads(body)['results'][0]['id'] == p0['id'],
          'the medium back: the same session searches again (%d)' % s)
    s, _, _ = v.req('GET', '/api/patient?id=' + p0['id'], cookie=cookie)
    check(s == 200, 'the medium back: the patient opens (%d)' % s)


if __name__ == '__main__':
    try:
        main()
    except Exception as e:  # a crash of the test itself is a failure, not a pass
        check(False, 'test raised %r' % e)
    print('1..%d' % len(results))
    sys.exit(0 if all(ok for ok, _ in results) else 1)
