#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`mamori drill` on a storage made by mamori-gen, through the command line (TAP, suite drill).

  test_drill_cli.py MAMORI MAMORI_GEN

1. pass: exit 0, the JSON figures present and plausible, the scratch copy removed, the report
   written (title, no patient ID or name), the `drill` audit event in the medium's log, the
   record in the configuration's state_dir/drills.jsonl, the RPO of the verified generation;
2. a damaged pack (bytes flipped in one pack file of a copy): exit 3, the failed check named;
3. a generation that does not exist: exit 1, the message names what was asked, no report;
4. a manifest deleted from the medium (a copy): the repository head says so, exit 3;
5. no space: --scratch on a tiny tmpfs (root only, else a TAP SKIP saying why): exit 1;
6. a wrong passphrase: exit 1, nothing restored.
Every run isolates its state (XDG_CACHE_HOME, MAMORI_CACHE, MAMORI_AUDIT_DIR, TMPDIR).
Python 3 standard library only.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

MAMORI, GEN = sys.argv[1], sys.argv[2]
PASS = 'drill-cli-test-passphrase'
results = []


def tap(ok, name, why=''):
    results.append((ok, name, why))
    print(('ok' if ok else 'not ok') + ' %d - %s' % (len(results), name) +
          ('' if ok or not why else '\n# ' + why.replace('\n', '\n# ')))
    sys.stdout.flush()


def skip(name, why):
    results.append((True, name, why))
    print('ok %d - %s # SKIP %s' % (len(results), name, why))


def run(args, env, **kw):
    return subprocess.run([MAMORI] + args, env=env, capture_output=True, text=True, **kw)


def make_env(base, tag):
    env = dict(os.environ)
    for k in ('MAMORI_NEW_PASSPHRASE', 'MAMORI_LANG'):
        env.pop(k, None)
    env.update({
        'MAMORI_PASSPHRASE': PASS,
        'MAMORI_VIEWER_COPY': '0',
        'XDG_CACHE_HOME': os.path.join(base, tag, 'cache'),
        'MAMORI_CACHE': os.path.join(base, tag, 'cache'),
        'MAMORI_AUDIT_DIR': os.path.join(base, tag, 'audit'),
        'XDG_STATE_HOME': os.path.join(base, tag, 'state-home'),
        'TMPDIR': os.path.join(base, tag, 'tmp'),
        'TZ': 'UTC',
    })
    os.makedirs(env['TMPDIR'], exist_ok=True)
    return env


def flip(path):
    with open(path, 'r+b') as f:
        f.seek(0, 2)
        mid = f.tell() // 2
        f.seek(mid)
        b = bytearray(f.read(64))
        f.seek(mid)
        f.write(bytes(x ^ 0xFF for x in b))


def main():
    base = tempfile.mkdtemp(prefix='mamori-drill-cli-')
    try:
        tests(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print('1..%d' % len(results))
    return 0 if all(r[0] for r in results) else 1


def tests(base):
    env = make_env(base, 'main')
    src, repo = os.path.join(base, 'src'), os.path.join(base, 'r')
    truth = os.path.join(base, 'truth.json')
    subprocess.run([GEN, '--out', src, '--patients', '40', '--days', '3', '--extended',
                    '--truth', truth, '-q'], check=True)
    run(['-q', 'init', '--repo', repo, '--kdf-passes', '1', '--kdf-memory', '1',
         '--allow-weak-secrets'], env).check_returncode()
    run(['-q', 'backup', '--repo', repo, src], env).check_returncode()
    run(['-q', 'verify', '--repo', repo, '--read-data'], env).check_returncode()
    gens = json.loads(run(['--json', 'generations', '--repo', repo], env).stdout)
    gens = gens['generations'] if isinstance(gens, dict) else gens
    gen = gens[-1]
    conf = os.path.join(base, 'm.conf')
    state = os.path.join(base, 'state')
    with open(conf, 'w') as f:
        f.write('[hospital]\nid = 1310012345\n[service]\nstate_dir = %s\n'
                '[source "src"]\nkind = ssmix2\npath = %s\n[media]\nrotation = weekday\n'
                '[medium "MON"]\ndays = mon,tue,wed,thu,fri,sat,sun\npath = %s\n'
                % (state, src, repo))
    with open(truth) as f:
        patients = json.load(f)['patients']

    # 1. pass
    report = os.path.join(base, 'report.html')
    p = run(['--json', 'drill', '--repo', repo, '--config', conf, '--report', report], env)
    tap(p.returncode == 0, 'drill passes: exit 0', p.stdout + p.stderr)
    try:
        j = json.loads(p.stdout)
    except ValueError:
        j = {}
    t = j.get('timings', {})
    ok = (j.get('ok') is True and j.get('result') == 'ok' and
          all(isinstance(t.get(k), (int, float)) and t[k] >= 0
              for k in ('unlock_s', 'viewer_s', 'restore_s', 'compare_s', 'patients_s',
                      'cleanup_s', 'total_s')) and
          t['viewer_s'] >= t['unlock_s'] and
          t['total_s'] >= t['restore_s'] + t['compare_s'] + t['cleanup_s'] and
          t['total_s'] < 600)
    tap(ok, 'the JSON timings are present and plausible', json.dumps(t))
    files = gen.get('files')
    ok = (j.get('files', 0) > 0 and j.get('bytes', 0) > 0 and
          (files is None or j['files'] == files) and
          j['compare']['files'] == j['files'] and
          j['compare']['missing'] + j['compare']['extra'] + j['compare']['differ'] == 0 and
          isinstance(j.get('mib_s'), (int, float)) and j['mib_s'] > 0)
    tap(ok, 'every file restored and compared again', json.dumps({k: j.get(k) for k in (
        'files', 'bytes', 'compare', 'mib_s')}) + ' generation files %s' % files)
    pt = j.get('patients', {})
    ok = (pt.get('sampled') == min(20, pt.get('total', -1)) and pt.get('failed') == 0 and
          pt.get('total', 0) > 20)
    tap(ok, 'a sample of 20 patients read end to end', json.dumps(pt))
    checks = {c['name']: c for c in j.get('checks', [])}
    want = ['generation', 'head', 'viewer', 'space', 'restore', 'compare', 'patients',
            'records', 'cleanup']
    tap(all(checks.get(n, {}).get('ok') for n in want), 'every check ran and passed',
        json.dumps(j.get('checks')))
    rpo = j.get('rpo', [])
    tap(len(rpo) == 1 and isinstance(rpo[0].get('age_s'), int) and 0 <= rpo[0]['age_s'] < 600
        and rpo[0].get('generation') == j['generation']['id'] and j.get('rpo_s') == rpo[0]['age_s'],
        'RPO of the verified, clean generation', json.dumps(rpo))
    left = os.listdir(env['TMPDIR'])
    tap(j.get('scratch_removed') is True and left == [], 'the scratch copy is removed',
        repr(left))
    html = open(report, encoding='utf-8').read() if os.path.exists(report) else ''
    leaked = [x['patient']['id'] for x in patients if x['patient']['id'] in html]
    leaked += [x['patient']['name'] for x in patients
               if x['patient'].get('name') and x['patient']['name'] in html]
    tap('復元訓練報告書' in html and '合格' in html and not leaked and
        '<script' not in html and 'http://' not in html and 'https://' not in html,
        'the report is written, in Japanese, naming no patient', 'leaked %r' % leaked[:3])
    a = run(['--json', 'audit', 'show', '--repo', repo, '--kind', 'drill'], env)
    tap(a.returncode == 0 and '"drill"' in a.stdout and '"full"' in a.stdout and
        j.get('generation', {}).get('id', '-') in a.stdout,
        'the drill is in the audit log', a.stdout[-800:] + a.stderr)
    lines = open(os.path.join(state, 'drills.jsonl')).read().splitlines() \
        if os.path.exists(os.path.join(state, 'drills.jsonl')) else []
    rec = json.loads(lines[-1]) if lines else {}
    tap(j.get('recorded_on_host') is True and rec.get('kind') == 'full' and
        rec.get('result') == 'ok' and rec.get('generation') == j['generation']['id'],
        'the record is appended to state_dir/drills.jsonl', repr(lines))

    # 2. a damaged pack (a copy): some pack holds file data; the index's blocks are twinned
    env2 = make_env(base, 'damaged')
    repo2 = os.path.join(base, 'r2')
    shutil.copytree(repo, repo2, symlinks=True)
    found = None
    for pack in sorted(glob.glob(os.path.join(repo2, 'data', '*', '*')),
                       key=os.path.getsize, reverse=True):
        flip(pack)
        p = run(['drill', '--repo', repo2, '--report', os.path.join(base, 'r2.html')], env2)
        if p.returncode != 0:
            found = p
            break
        flip(pack)  # a pack of the twinned index: the drill reads the twin, back as it was
    tap(found is not None and found.returncode == 3, 'a damaged pack: exit 3',
        found.stdout + found.stderr if found else 'no pack made the drill fail')
    out = found.stdout if found else ''
    tap(any(('不合格 ' in line and (' restore ' in line or ' compare ' in line))
            for line in out.splitlines()) and '総合判定: 不合格' in out,
        'a damaged pack: the message names the check', out)
    tap(os.listdir(env2['TMPDIR']) == [], 'a damaged pack: the scratch copy is removed too')

    # 3. a generation that does not exist
    p = run(['drill', '--repo', repo, '--generation', '0123456789abcdef',
             '--report', os.path.join(base, 'none.html')], env)
    tap(p.returncode == 1 and '0123456789abcdef' in p.stderr and
        not os.path.exists(os.path.join(base, 'none.html')),
        'an unknown --generation: exit 1, named', p.stdout + p.stderr)

    # 4. a manifest deleted from the medium (a copy with two generations)
    env4 = make_env(base, 'head')
    repo4 = os.path.join(base, 'r4')
    shutil.copytree(repo, repo4, symlinks=True)
    subprocess.run([GEN, 'advance', '--out', src, '--days', '1', '-q'], check=True)
    run(['-q', 'backup', '--repo', repo4, src], env4).check_returncode()
    mans = sorted(glob.glob(os.path.join(repo4, 'generations', '*')), key=os.path.getmtime)
    mans = [m for m in mans if not m.endswith('.2') and os.path.isfile(m)]
    os.remove(mans[0])
    for copy in glob.glob(mans[0] + '*'):
        os.remove(copy)
    p = run(['drill', '--repo', repo4, '--report', os.path.join(base, 'r4.html')], env4)
    tap(p.returncode == 3 and any('不合格' in line and ' head ' in line
                                  for line in p.stdout.splitlines()),
        'a manifest deleted from the medium: the head check fails, exit 3', p.stdout + p.stderr)

    # 5. no space
    tiny = os.path.join(base, 'tiny')
    os.makedirs(tiny)
    mounted = False
    if os.geteuid() != 0:
        skip('no space: exit 1', 'not root: cannot mount a tiny tmpfs')
    else:
        m = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', tiny],
                           capture_output=True, text=True)
        mounted = m.returncode == 0
        if not mounted:
            skip('no space: exit 1', 'mount tmpfs failed: ' + m.stderr.strip())
        else:
            try:
                p = run(['drill', '--repo', repo, '--scratch', tiny,
                         '--report', os.path.join(base, 'tiny.html')], env)
                tap(p.returncode == 1 and ('空き' in p.stderr or 'space' in p.stderr) and
                    os.listdir(tiny) == [], 'no space: exit 1, said, nothing left',
                    p.stdout + p.stderr)
            finally:
                subprocess.run(['umount', tiny])

    # 6. a wrong passphrase
    env6 = dict(env, MAMORI_PASSPHRASE='not-the-passphrase')
    p = run(['drill', '--repo', repo, '--report', os.path.join(base, 'wrong.html')], env6)
    tap(p.returncode == 1 and os.listdir(env['TMPDIR']) == [] and
        not os.path.exists(os.path.join(base, 'wrong.html')),
        'a wrong passphrase: exit 1, nothing restored', p.stdout + p.stderr)


if __name__ == '__main__':
    sys.exit(main())
