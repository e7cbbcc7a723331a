#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# HTTP tests of `mamori view`'s limits and its protection of decrypted data (TAP):
# - slow clients (issue 17.2): 256 connections trickling a request a byte at a time do not
#   lock out a logged-in clinician nor a login (both answered within seconds while they are
#   open); at most 16 of them stay open at once, and every one is closed within 5 s of its
#   accept (plus slack), though it keeps sending; nor do 300 wrong passphrases sent at once
#   (logins beyond the few in flight are refused at once — 429, or closed by the slow-client
#   guard when many wait — not each holding a connection);
# - core dumps (17.4): the viewer process has RLIMIT_CORE 0 and is not dumpable (its /proc
#   files belong to root although it runs as another user: as root the viewer is started as
#   nobody), and the decrypted-block cache of a loaded patient index is a mapping marked
#   MADV_DONTDUMP ("dd" in /proc/PID/smaps).
#   test_viewer_limits.py MAMORI MAMORI_GEN
import http.client
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

MAMORI, GEN = sys.argv[1], sys.argv[2]
PASS = 'limits-test-passphrase'
SLOW = 256          # trickling connections
WAIT_S = 5          # how long a request may take to arrive
results = []


def check(cond, what):
    results.append((bool(cond), what))
    print('%s %d - %s' % ('ok' if cond else 'not ok', len(results), what), flush=True)
    return cond


def run(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, **kw)


class Viewer:
    def __init__(self, repo, env, user=None):
        cmd = [MAMORI, 'view', '--repo', repo, '--no-browser', '--port', '0']
        kw = {'user': user, 'group': user, 'extra_groups': []} if user is not None else {}
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                  **kw)
        line = self.p.stdout.readline().decode().strip()
        m = re.match(r'^http://127\.0\.0\.1:(\d+)/$', line)
        if not m:
            self.p.kill()
            raise SystemExit('view did not print its address: %r %r' % (line, self.p.stderr.read()))
        self.port = int(m.group(1))

    def req(self, method, path, body=None, headers=None, cookie=None, timeout=60):
        """(status, headers, body), or (None, error) when the connection failed."""
        try:
            c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
            h = dict(headers or {})
            if cookie:
                h['Cookie'] = cookie
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            c.close()
            return r.status, hdrs, data
        except (OSError, http.client.HTTPException) as e:
            return None, {}, repr(e).encode()

    def login(self, timeout=60):
        st, h, data = self.req('POST', '/api/login', json.dumps({'passphrase': PASS}),
                               {'Content-Type': 'application/json'}, timeout=timeout)
        cookie = h['set-cookie'].split(';')[0] if 'set-cookie' in h else None
        return st, cookie

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.p.returncode


class Tricklers:
    """@n connections sending a request a byte at a time, each every @every seconds."""
    REQUEST = b'GET /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + b'a' * 4000

    def __init__(self, port, n, every=0.5):
        self.socks, self.opened, self.closed = [], [], {}
        for _ in range(n):
            try:
                s = socket.create_connection(('127.0.0.1', port), timeout=5)
                s.setblocking(False)
                self.socks.append(s)
                self.opened.append(time.monotonic())
            except OSError:
                self.closed[len(self.opened)] = time.monotonic()
                self.socks.append(None)
                self.opened.append(time.monotonic())
        self.every, self.stop_flag = every, False
        self.sent = 0
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _poll(self, i, s):
        """Has the server closed connection @i? (End of stream, or a reset.)"""
        try:
            if s.recv(65536) == b'':
                return True
        except BlockingIOError:
            return False
        except OSError:
            return True
        return False

    def _run(self):
        while not self.stop_flag:
            for i, s in enumerate(self.socks):
                if s is None or i in self.closed:
                    continue
                if self._poll(i, s):
                    self.closed[i] = time.monotonic()
                    continue
                try:
                    s.send(self.REQUEST[self.sent % len(self.REQUEST):][:1])
                except OSError:
                    self.closed[i] = time.monotonic()
            self.sent += 1
            time.sleep(self.every)

    def open_now(self):
        return sum(1 for i, s in enumerate(self.socks) if s is not None and i not in self.closed)

    def end(self):
        self.stop_flag = True
        self.t.join()
        for s in self.socks:
            if s is not None:
                s.close()


def slow_clients(v):
    s, cookie = v.login()
    check(s == 200 and cookie, 'a clinician logs in (%s)' % s)
    t0 = time.monotonic()
    tr = Tricklers(v.port, SLOW)
    try:
        time.sleep(1.0)
        n = tr.open_now()
        check(n <= 16, 'at most 16 trickling connections stay open at once (%d of %d)'
              % (n, SLOW))
        a = time.monotonic()
        s, _, data = v.req('GET', '/api/session', cookie=cookie, timeout=10)
        d = time.monotonic() - a
        check(s == 200 and d < 3, 'while %d connections trickle, the logged-in clinician is'
              ' served (%s in %.2f s)' % (SLOW, s, d))
        a = time.monotonic()
        s, cookie2 = v.login(timeout=10)
        d = time.monotonic() - a
        check(s == 200 and cookie2 and d < 3, 'while %d connections trickle, a login succeeds'
              ' (%s in %.2f s)' % (SLOW, s, d))
        s, _, _ = v.req('GET', '/api/session', cookie=cookie2, timeout=10)
        check(s == 200, 'the new session is served (%s)' % s)
        # every trickling connection ends within 5 s of its accept, though it keeps sending
        deadline = max(tr.opened) + WAIT_S + 3
        while time.monotonic() < deadline and tr.open_now():
            time.sleep(0.2)
        left = tr.open_now()
        late = [tr.closed[i] - tr.opened[i] for i in tr.closed
                if tr.closed[i] - tr.opened[i] > WAIT_S + 2.5]
        check(left == 0 and not late, 'every trickling connection is closed within %d s of its'
              ' accept (+ slack): %d still open, %d closed late, the slowest after %.1f s'
              % (WAIT_S, left, len(late),
                 max([tr.closed[i] - tr.opened[i] for i in tr.closed] or [0])))
        # the last ones (never evicted: no newer connection came) waited the full time
        waited = sorted(tr.closed[i] - tr.opened[i] for i in tr.closed)
        check(waited and waited[-1] >= WAIT_S - 0.5, 'a trickling connection is not closed'
              ' before its %d s (the longest lived %.1f s)' % (WAIT_S, waited[-1] if waited else 0))
    finally:
        tr.end()
    # a complete request split over a second is still served; a kept-alive connection that
    # stays idle is closed after the same time
    s = socket.create_connection(('127.0.0.1', v.port), timeout=10)
    req = ('GET /api/session HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: %s\r\n\r\n'
           % (v.port, cookie)).encode()
    for k in range(0, len(req), 40):
        s.sendall(req[k:k + 40])
        time.sleep(0.1)
    out = s.recv(65536)
    check(out.startswith(b'HTTP/1.1 200'), 'a request sent in pieces within the time is served')
    a = time.monotonic()
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    d = time.monotonic() - a
    check(WAIT_S - 1 <= d <= WAIT_S + 3, 'a kept-alive connection left idle is closed after'
          ' about %d s (%.1f s)' % (WAIT_S, d))
    s.close()
    print('# slow clients took %.1f s' % (time.monotonic() - t0), flush=True)


def login_flood(v):
    """300 wrong passphrases at once hold no more than a few connections."""
    s, cookie = v.login()
    codes = []
    body = json.dumps({'passphrase': 'not the one at all'})
    req = ('POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json'
           '\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s'
           % (v.port, len(body), body)).encode()
    socks = []
    for _ in range(300):  # all sent before the clinician's request
        try:
            k = socket.create_connection(('127.0.0.1', v.port), timeout=5)
            k.sendall(req)
            socks.append(k)
        except OSError:
            socks.append(None)
    time.sleep(0.5)
    a = time.monotonic()
    s, _, _ = v.req('GET', '/api/session', cookie=cookie, timeout=10)
    d = time.monotonic() - a
    check(s == 200 and d < 3, 'while 300 wrong passphrases are sent at once, the logged-in'
          ' clinician is served (%s in %.2f s)' % (s, d))
    # the answers, within 25 s (the few let in take 1 + 2 + 4 + 8 s, one after the other)
    out = {k: b'' for k in socks if k}
    deadline = time.monotonic() + 25
    while out and time.monotonic() < deadline:
        ready, _, _ = select.select(list(out), [], [], 0.5)
        for k in ready:
            try:
                chunk = k.recv(65536)
            except OSError:
                chunk = b''
            m = re.match(rb'HTTP/1\.1 (\d+)', out[k] + chunk)
            if m or not chunk:
                codes.append(int(m.group(1)) if m else None)
                del out[k]
                k.close()
            else:
                out[k] += chunk
    for k in out:
        k.close()
    # Each login beyond the few in flight is refused at once: answered 429, or, when more than
    # PENDING_MAX (16) connections wait for their request to be read (a loaded machine reads
    # slower than 300 clients connect), closed unanswered by the slow-client guard (17.2).
    # Either way no connection is held; a CI run once saw 126 answered 429 and 170 closed.
    refused = codes.count(429) + codes.count(None)
    check(codes.count(429) >= 1 and refused >= 270 and codes.count(401) <= 20 and not out,
          'logins beyond the few in flight are refused at once (%d of 300 answered 429, %d closed'
          ' unanswered; %d refused as wrong, %d not answered in 25 s)'
          % (codes.count(429), codes.count(None), codes.count(401), len(out)))


def dumps(v):
    pid = v.p.pid
    limits = open('/proc/%d/limits' % pid).read()
    m = re.search(r'^Max core file size\s+(\S+)\s+(\S+)', limits, re.M)
    check(m and m.group(1) == '0' and m.group(2) == '0',
          'the viewer writes no core file (RLIMIT_CORE %r)' % ((m.groups() if m else None),))
    status = open('/proc/%d/status' % pid).read()
    uid = int(re.search(r'^Uid:\s+(\d+)', status, re.M).group(1))
    owner = os.stat('/proc/%d/status' % pid).st_uid
    if uid == 0:
        check(True, 'the viewer runs as root here: dumpable cannot be seen # SKIP')
    else:
        check(owner == 0, 'the viewer is not dumpable (its /proc files belong to root, not to'
              ' uid %d: owner %d)' % (uid, owner))
    s, cookie = v.login()
    before = dontdump(pid)
    s, _, data = v.req('GET', '/api/search?q=a', cookie=cookie)
    check(s in (200, 400), 'a search loads the patient index (%s)' % s)
    after = dontdump(pid)
    new = sorted(after - before)
    print('# mappings marked dd before the search: %s; new: %s'
          % (sorted(hi - lo for lo, hi in before), [hi - lo for lo, hi in new]), flush=True)
    check(new, 'the decrypted-block cache of the loaded index is a mapping marked'
          ' MADV_DONTDUMP ("dd" in VmFlags)')


def dontdump(pid):
    """The anonymous mappings of @pid marked "dd" in /proc/PID/smaps, as (start, end)."""
    out, cur = set(), None
    for line in open('/proc/%d/smaps' % pid):
        if re.match(r'^[0-9a-f]+-[0-9a-f]+ ', line):
            cur = line.split()
        elif line.startswith('VmFlags:') and cur and len(cur) < 6 and 'dd' in line.split():
            out.add(tuple(int(x, 16) for x in cur[0].split('-')))
    return out


def main():
    tmp = tempfile.mkdtemp(prefix='mm-limits-')
    os.chmod(tmp, 0o755)
    env = dict(os.environ, MAMORI_PASSPHRASE=PASS, XDG_CACHE_HOME=tmp + '/cache',
               MAMORI_AUDIT_DIR=tmp + '/audit-host', TZ='Asia/Tokyo',
               MAMORI_VIEW_FAIL_DELAY_MS='1000', HOME=tmp + '/home', TMPDIR=tmp + '/tmpdir')
    for d in ('home', 'tmpdir', 'cache', 'audit-host'):
        os.makedirs(tmp + '/' + d)
    st, repo = tmp + '/s', tmp + '/r'
    run(GEN, '--out', st, '--patients', '6', '--days', '30', '--seed', '3', '--extended', '-q',
        env=env)
    run(MAMORI, '-q', 'init', '--repo', repo, '--user', 'nurse', '--kdf-passes', '1',
        '--kdf-memory', '1', '--allow-weak-secrets', env=env)
    run(MAMORI, '-q', 'backup', '--repo', repo, st + '/standard', st + '/extended', env=env)
    user = None
    if os.getuid() == 0:  # run the viewer as nobody: only then does "not dumpable" show
        user = 65534
        for root, dirs, files in os.walk(tmp):
            for n in dirs + files:
                os.chmod(os.path.join(root, n), 0o777 if n in dirs else 0o666)
            os.chmod(root, 0o777)
    venv = {k: x for k, x in env.items() if k != 'MAMORI_PASSPHRASE'}
    v = Viewer(repo, venv, user)
    try:
        dumps(v)
        slow_clients(v)
        login_flood(v)
    finally:
        rc = v.stop()
    check(rc == 0, 'view stops cleanly on SIGTERM (exit %s)' % rc)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    try:
        main()
    except Exception as e:  # a crash of the test itself is a failure, not a pass
        check(False, 'test raised %r' % e)
    print('1..%d' % len(results))
    sys.exit(0 if all(ok for ok, _ in results) else 1)
