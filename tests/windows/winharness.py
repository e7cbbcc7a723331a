# SPDX-License-Identifier: Apache-2.0
# The Wine harness of tests/windows: one "side" runs a build of mamori (the Linux binary, or
# the Windows exe under wine64), a viewer started on a free port and driven over HTTP (as in
# tests/http/test_viewer_http.py), paths given to the Windows side as Z:\... (Wine maps / to Z:).
#
# Wine here: WINEPREFIX below the meson build folder (made once with `wineboot -i`, reused;
# a lock file keeps two tests from making it at once), WINEARCH=win64, WINEDEBUG=-all,
# WINEDLLOVERRIDES="mscoree,mshtml=" (no Mono/Gecko prompts; winebrowser off so that a viewer
# started without --no-browser opens nothing), DISPLAY unset. Found out on Debian 12's wine 8:
#  - Wine converts Unix argv, environment and file names with the Unix locale's charset: under
#    LANG=C (ASCII) a Japanese argument arrives garbled, so every run has a UTF-8 locale
#    (C.UTF-8, or ja_JP.UTF-8 for the CP932 runs);
#  - the ANSI code page follows LANG/LC_ALL (ja_JP.UTF-8 gives ACP 932) even when that Unix
#    locale is not generated, but file names then break: ja_JP.UTF-8 is generated with
#    localedef into the build folder and found through LOCPATH (no root needed);
#  - msvcrt's localtime() parses TZ itself, Windows-style: TZ=Asia/Tokyo gives UTC there
#    (while Wine's own time zone, from the Unix side, is Tokyo). Real Windows has no TZ;
#    the tests use TZ=JST-9, which glibc, Wine and msvcrt all read as UTC+9.
import fcntl
import http.client
import os
import re
import select
import shutil
import signal
import subprocess
import time

WINE_ENV = {'WINEARCH': 'win64', 'WINEDEBUG': '-all',
            'WINEDLLOVERRIDES': 'mscoree,mshtml=;winebrowser.exe=d'}


def find_wine():
    """wine64 (Debian puts it in /usr/lib/wine when wine32 is absent), else None. MM_WINE
    names another (empty: behave as if wine were not installed)."""
    if 'MM_WINE' in os.environ:
        c = os.environ['MM_WINE']
        return c if c and os.access(c, os.X_OK) else None
    for c in (shutil.which('wine64'), '/usr/lib/wine/wine64', shutil.which('wine')):
        if c and os.access(c, os.X_OK):
            return c
    return None


def zpath(p):
    """A Unix absolute path as Wine's Z: drive sees it."""
    return 'Z:' + os.path.abspath(p).replace('/', '\\')


class Wine:
    """One prefix below @build; locale 'C.UTF-8' or 'ja_JP.UTF-8'."""

    def __init__(self, wine, build):
        self.wine = wine
        build = os.path.abspath(build)
        self.prefix = os.path.join(build, 'wine-prefix')
        self.locpath = os.path.join(build, 'wine-locale')
        self.server = shutil.which('wineserver') or '/usr/lib/wine/wineserver64'

    def env(self, base, locale='C.UTF-8'):
        e = {k: v for k, v in base.items() if k != 'DISPLAY' and not k.startswith('WINE')}
        e.update(WINE_ENV, WINEPREFIX=self.prefix, LANG=locale, LC_ALL=locale)
        if locale.startswith('ja_JP'):
            e['LOCPATH'] = self.locpath
        return e

    def ensure(self, base):
        """Make the prefix (once) and the private ja_JP.UTF-8 locale; @return an error or None."""
        os.makedirs(os.path.dirname(self.prefix), exist_ok=True)
        with open(self.prefix + '.lock', 'w') as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            if not os.path.exists(os.path.join(self.prefix, 'system.reg')):
                r = subprocess.run([self.wine, 'wineboot', '-i'], env=self.env(base),
                                   capture_output=True, timeout=300)
                subprocess.run([self.server, '-w'], env=self.env(base), timeout=120)
                if not os.path.exists(os.path.join(self.prefix, 'system.reg')):
                    return 'wineboot -i made no prefix (%d): %r' % (r.returncode, r.stderr[-300:])
            if not os.path.isdir(os.path.join(self.locpath, 'ja_JP.UTF-8')):
                os.makedirs(self.locpath, exist_ok=True)
                r = subprocess.run(['localedef', '-i', 'ja_JP', '-f', 'UTF-8',
                                    os.path.join(self.locpath, 'ja_JP.UTF-8')],
                                   capture_output=True, timeout=120)
                if not os.path.isdir(os.path.join(self.locpath, 'ja_JP.UTF-8')):
                    return ('localedef ja_JP.UTF-8 failed (Debian package locales missing?): %r'
                            % r.stderr[-300:])
        return None

    def kill(self, base):
        subprocess.run([self.server, '-k'], env=self.env(base), timeout=60,
                       capture_output=True)


class Side:
    """A build of mamori: the Linux binary, or a Windows exe under @wine (paths given as Z:)."""

    def __init__(self, name, exe, env, wine=None, locale='C.UTF-8', locpath=None):
        self.name, self.exe, self.wine, self.locale = name, exe, wine, locale
        self.env = wine.env(env, locale) if wine else dict(env, LANG=locale, LC_ALL=locale)
        if wine:  # mamori's own path variables as Windows names them (the others stay Unix
            # paths: Wine's Unix side reads them too)
            for k in ('MAMORI_AUDIT_DIR', 'MAMORI_CACHE'):
                if k in self.env:
                    self.env[k] = zpath(self.env[k])
        elif locale.startswith('ja_JP') and locpath:
            self.env['LOCPATH'] = locpath

    def path(self, p):
        return zpath(p) if self.wine else p

    def argv(self, args):
        return ([self.wine.wine, self.exe] if self.wine else [self.exe]) + list(args)

    def run(self, *args, timeout=180, env=None):
        e = dict(self.env, **(env or {}))
        return subprocess.run(self.argv(args), capture_output=True, timeout=timeout, env=e)

    def view(self, repo, extra=()):
        return Viewer(self, repo, extra)


def crashed(r):
    """Did a run end by a crash rather than an exit status of its own (0-3)?"""
    if r.returncode < 0 or r.returncode > 3:
        return True
    return re.search(rb'Unhandled (exception|page fault)|wine: .*(exception|crash)',
                     r.stderr or b'') is not None


class Viewer:
    """`view --no-browser --port 0` of a side, its URL read from its standard output."""

    def __init__(self, side, repo, extra=(), wait=90):
        self.side = side
        args = ['view', '--repo', side.path(repo), '--no-browser', '--port', '0'] + list(extra)
        self.p = subprocess.Popen(side.argv(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=side.env, start_new_session=True)
        self.port, self.out = read_url(self.p, wait)
        if self.port is None:
            self.stop()
            err = self.p.stderr.read()
            raise RuntimeError('%s view printed no address in %d s: %r %r'
                               % (side.name, wait, self.out[-300:], err[-500:]))

    def req(self, method, path, body=None, headers=None, cookie=None):
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=60)
        h = dict(headers or {})
        if cookie:
            h['Cookie'] = cookie
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = [(k.lower(), v) for k, v in r.getheaders()]
        c.close()
        return r.status, hdrs, data

    def login(self, passphrase, user=''):
        import json
        st, h, data = self.req('POST', '/api/login', json.dumps({'user': user,
                                                                 'passphrase': passphrase}),
                               {'Content-Type': 'application/json'})
        cookie = None
        for k, v in h:
            if k == 'set-cookie':
                cookie = v.split(';')[0]
        return st, h, data, cookie

    def stop(self):
        stop_group(self.p)


def read_url(p, wait):
    """Read @p's standard output until it prints http://127.0.0.1:PORT/ (@wait seconds)."""
    out, end = b'', time.monotonic() + wait
    fd = p.stdout.fileno()
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            out += chunk
            m = re.search(rb'http://127\.0\.0\.1:(\d+)/', out)
            if m:
                return int(m.group(1)), out
        elif p.poll() is not None:
            break
    return None, out


def stop_group(p, wait=30):
    """End process @p (started with start_new_session) and what it started."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=wait)
    return p.returncode
