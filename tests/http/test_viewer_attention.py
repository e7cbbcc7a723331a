#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The viewer and backup's "needs attention" mark (TAP). A hospital's SS-MIX2 folder holding
# the standardized and the extended storage side by side under Japanese names is backed up
# by giving the folder above them: the viewer finds every patient of the generator's truth
# file in that generation (search by ID, patient screen with the truth's name). Half of the
# patient folders are then deleted and the folder backed up again: the backup exits 4, and
# /api/generations marks the new generation (attention few_patients, with the counts) and
# not the first; every document and image of the first generation opens (the extended
# storage's path below the source comes from the manifest); the served app.js carries the
# banner for it.
#   test_viewer_attention.py MAMORI MAMORI_GEN
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_viewer_http import Viewer, PASS, check, results  # noqa: E402

MAMORI, GEN = sys.argv[1], sys.argv[2]


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, **kw)


def main():
    tmp = tempfile.mkdtemp(prefix='mm-attn-')
    env = dict(os.environ, MAMORI_PASSPHRASE=PASS, XDG_CACHE_HOME=tmp + '/cache',
               MAMORI_AUDIT_DIR=tmp + '/audit-host', TZ='Asia/Tokyo',
               HOME=tmp + '/home', TMPDIR=tmp + '/tmpdir')
    os.makedirs(env['HOME'])
    os.makedirs(env['TMPDIR'])
    g, root, repo = tmp + '/g', tmp + '/病院/SS-MIX2', tmp + '/r'
    p = run(GEN, '--out', g, '--patients', '16', '--days', '60', '--seed', '41', '--extended',
            '--truth', tmp + '/truth.json', '-q', env=env)
    check(p.returncode == 0, 'generator ran')
    os.makedirs(root)
    os.rename(g + '/standard', root + '/標準化ストレージ')
    os.rename(g + '/extended', root + '/拡張ストレージ')
    truth = [x['patient'] for x in json.load(open(tmp + '/truth.json'))['patients']]
    run(MAMORI, '-q', 'init', '--repo', repo, '--user', 'nurse', '--kdf-passes', '1',
        '--kdf-memory', '1', '--allow-weak-secrets', env=env)
    p = run(MAMORI, '-q', 'backup', '--repo', repo, '--name', 'whole', tmp + '/病院', env=env)
    check(p.returncode == 0 and p.stderr == b'', 'backup of the folder above both storages: '
          'exit 0, nothing on stderr (%d %r)' % (p.returncode, p.stderr[:200]))
    std = root + '/標準化ストレージ'
    folders = sorted(os.path.join(a, b, c) for a in os.listdir(std)
                     for b in os.listdir(os.path.join(std, a))
                     for c in os.listdir(os.path.join(std, a, b)))
    for f in folders[::2]:
        shutil.rmtree(os.path.join(std, f))
    p = run(MAMORI, '-q', 'backup', '--repo', repo, '--name', 'half', tmp + '/病院', env=env)
    check(p.returncode == 4 and '要確認'.encode() in p.stderr,
          'backup after half the patients went: exit 4 and a message (%d)' % p.returncode)

    v = Viewer(repo, env)
    try:
        st, h, data, cookie = v.login()
        check(st == 200 and cookie, 'login')
        st, h, data = v.req('GET', '/api/generations', cookie=cookie)
        gens = json.loads(data)['generations'] if st == 200 else []
        check(len(gens) == 2, 'two generations')
        new, old = (gens + [{}, {}])[0], (gens + [{}, {}])[1]
        check(new.get('attention') == ['few_patients'] and
              new.get('patients') == len(truth) - len(folders[::2]) and
              new.get('parent_patients') == len(truth),
              'the newest generation is marked few_patients with both counts: %r'
              % {k: new.get(k) for k in ('attention', 'patients', 'parent_patients')})
        check(old.get('attention') == [] and old.get('patients') == len(truth),
              'the first generation is not marked and holds every patient')
        missing = []
        for t in truth:
            q = '/api/search?gen=%s&q=%s' % (old.get('id'), urllib.parse.quote(t['id']))
            st, h, data = v.req('GET', q, cookie=cookie)
            ids = [r.get('id') for r in json.loads(data).get('results', [])] if st == 200 else []
            if t['id'] not in ids:
                missing.append(t['id'][:3] + '…')
        check(not missing and truth, 'the viewer finds every patient of the truth file in the '
              'first generation (%d patients; missing %r)' % (len(truth), missing))
        t = truth[len(truth) // 2]
        st, h, data = v.req('GET', '/api/patient?gen=%s&id=%s' % (old.get('id'), t['id']),
                            cookie=cookie)
        check(st == 200 and t['name'].split()[0] in data.decode(),
              'a patient screen of the first generation carries the truth\'s name')
        # the extended storage's files open from that generation, found below the source
        served = wanted = 0
        for tp in truth:
            st, h, data = v.req('GET', '/api/patient?gen=%s&id=%s' % (old.get('id'), tp['id']),
                                cookie=cookie)
            rec = json.loads(data).get('record', {}) if st == 200 else {}
            for d in rec.get('documents', []) + rec.get('images', []):
                for f in d['files'][:1]:
                    wanted += 1
                    st, h, body = v.req('GET', '/api/file?gen=%s&id=%s&path=%s' % (
                        old.get('id'), tp['id'], urllib.parse.quote(d['folder'] + '/' + f)),
                        cookie=cookie)
                    served += st == 200 and len(body) > 0
        check(wanted > 0 and served == wanted, 'every document and image of the first generation '
              'opens in the viewer (%d of %d)' % (served, wanted))
        st, h, data = v.req('GET', '/app.js')
        js = data.decode()
        check(st == 200 and 'banner-attention' in js and 'g.attention' in js,
              'app.js shows the mark in the picker and a banner')
    finally:
        v.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print('1..%d' % len(results))
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == '__main__':
    sys.exit(main())
