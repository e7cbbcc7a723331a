#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`mamori export` round trips on a mamori-gen storage (TAP, suite 'export', issue 21).

  test_export.py MAMORI MAMORI_GEN

A storage with --extended and --truth is backed up; then `export --csv --all` is checked
against the truth (patients, current prescriptions line by line, diagnoses, labs), no cancelled
order and no superseded version of an updated one appears, a single-patient export holds
nothing of any other patient, every exported patient is one patient-exported audit event on
the medium and on the host, the scratch folder is gone, a folder holding an export is refused,
an unknown patient fails without echoing the ID, the FHIR Bundles parse (one per patient) and
hold the same items as the CSV tables (per patient: MedicationRequest = prescriptions +
injections rows, Condition = diagnoses, Observation = labs, AllergyIntolerance = allergies,
and every other type alike; a patient given a newer ADT-61 that lists no allergy has none
of the earlier list in the CSV, the Bundle or `show --json`), and a damaged pack gives exit 3
with every patient still exported. Python 3 standard library only.
"""
import csv
import datetime
import glob
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

MAMORI, GEN = sys.argv[1], sys.argv[2]
PASS = 'export-test-passphrase'
N = 0
FAILED = 0


def check(ok, what):
    global N, FAILED
    N += 1
    if not ok:
        FAILED += 1
    print('%s %d - %s' % ('ok' if ok else 'not ok', N, what), flush=True)


def skip(what, why):
    global N
    N += 1
    print('ok %d - %s # SKIP %s' % (N, what, why), flush=True)


def run(env, *args):
    return subprocess.run([MAMORI] + list(args), capture_output=True, env=env)


def bare_lf_outside_quotes(raw):
    """Line feeds not preceded by CR outside quoted cells (inside one, a line break is data)."""
    q, n = False, 0
    for i, c in enumerate(raw):
        if c == 0x22:
            q = not q
        elif c == 0x0a and not q and (i == 0 or raw[i - 1] != 0x0d):
            n += 1
    return n


def table(out, name):
    """The rows of csv/<name>.csv as dicts, cells unescaped (a leading apostrophe before
    = + - @ tab CR is the export's formula escape)."""
    raw = open(os.path.join(out, 'csv', name + '.csv'), 'rb').read()
    assert raw.startswith(b'\xef\xbb\xbf'), name + ': no BOM'
    text = raw[3:].decode('utf-8')
    rows = list(csv.DictReader(io.StringIO(text, newline='')))
    for r in rows:
        for k, v in r.items():
            if v and len(v) > 1 and v[0] == "'" and v[1] in '=+-@\t\r':
                r[k] = v[1:]
    return rows


def withdraw_allergies(g):
    """Give the first patient whose ADT-61 lists allergies (IAM) a newer ADT-61 that lists none
    (the newest one's segments less its IAMs, one minute later). @return the patient ID"""
    for f in sorted(glob.glob(g + '/standard/*/*/*/-/ADT-61/*_1')):
        raw = open(f, 'rb').read()
        if b'\rIAM|' not in raw:
            continue
        newest = max(glob.glob(os.path.dirname(f) + '/*_1'),
                     key=lambda x: os.path.basename(x).split('_')[4])
        parts = os.path.basename(newest).split('_')
        ts = parts[4]
        t = datetime.datetime.strptime(ts[:14], '%Y%m%d%H%M%S') + datetime.timedelta(minutes=1)
        parts[4] = t.strftime('%Y%m%d%H%M%S') + ts[14:]
        segs = open(newest, 'rb').read().split(b'\r')
        body = b'\r'.join(x for x in segs if not x.startswith(b'IAM|'))
        open(os.path.join(os.path.dirname(newest), '_'.join(parts)), 'wb').write(body)
        return parts[0]
    return None


def main():
    tmp = tempfile.mkdtemp(prefix='mm-export-')
    env = dict(os.environ, MAMORI_PASSPHRASE=PASS, XDG_CACHE_HOME=tmp + '/cache',
               MAMORI_CACHE=tmp + '/cache2', MAMORI_AUDIT_DIR=tmp + '/audit-host',
               TZ='Asia/Tokyo', HOME=tmp + '/home', TMPDIR=tmp + '/tmpdir',
               MAMORI_VIEWER_COPY='0', MAMORI_WINDOWS_EXE='', LANG='C.UTF-8')
    env.pop('MAMORI_NEW_PASSPHRASE', None)
    os.makedirs(env['HOME'])
    os.makedirs(env['TMPDIR'])
    g, repo = tmp + '/g', tmp + '/r'
    p = subprocess.run([GEN, '--out', g, '--patients', '20', '--days', '120', '--seed', '7',
                        '--extended', '--truth', tmp + '/truth.json', '-q'], env=env)
    check(p.returncode == 0, 'generator ran')
    truth = {x['patient']['id']: x for x in json.load(open(tmp + '/truth.json'))['patients']}
    p = run(env, '-q', 'init', '--repo', repo, '--user', 'nurse', '--kdf-passes', '1',
            '--kdf-memory', '1', '--allow-weak-secrets')
    check(p.returncode == 0, 'init')
    noal = withdraw_allergies(g)
    check(noal is not None, 'a patient\'s newest ADT-61 lists no allergy any more (one added)')
    p = run(env, '-q', 'backup', '--repo', repo, g)
    check(p.returncode == 0, 'backup (%d %r)' % (p.returncode, p.stderr[:200]))

    # ---- every patient as CSV ----
    o1 = tmp + '/o1'
    p = run(env, 'export', '--repo', repo, '--all', '--csv', '--out', o1, '--json')
    check(p.returncode == 0, 'export --all --csv: exit 0 (%d %r)' % (p.returncode, p.stderr[:300]))
    summary = json.loads(p.stdout)
    check(summary['patients'] == len(truth) and summary['damaged'] == 0,
          'the summary counts every truth patient (%d of %d)' % (summary['patients'], len(truth)))
    check(sorted(os.listdir(o1)) == ['csv'], 'the scratch folder is gone (%r)' % os.listdir(o1))
    check(oct(os.stat(o1 + '/csv').st_mode & 0o777) == '0o700', 'csv/ is private (0700)')
    for f in glob.glob(o1 + '/csv/*'):
        raw = open(f, 'rb').read()
        if not (raw.startswith(b'\xef\xbb\xbf') and raw.endswith(b'\r\n') and
                bare_lf_outside_quotes(raw) == 0):
            check(False, os.path.basename(f) + ': BOM and CRLF line ends')
            break
    else:
        check(True, 'every table: a BOM and CRLF line ends')

    pats = table(o1, 'patients')
    check(sorted(r['patient_id'] for r in pats) == sorted(truth),
          'patients.csv: one row per truth patient')
    check(all(r['name'] == truth[r['patient_id']]['patient']['name'] and
              r['birth_date'] == truth[r['patient_id']]['patient']['birth_date'] for r in pats),
          'patients.csv: names and birth dates as the truth')
    gen = summary['generation']
    check(all(r['generation'] == gen for r in pats), 'every row names the generation')

    rx = table(o1, 'prescriptions')
    want = sorted((pid, o['order_no'], rp['rp'], d['code'], d['dose'])
                  for pid, t in truth.items() for o in t['prescriptions']
                  for rp in o['rps'] for d in rp['drugs'])
    got = sorted((r['patient_id'], r['order_no'], r['rp'], r['drug_code'], r['dose'])
                 for r in rx)
    check(got == want, 'prescriptions.csv: exactly the current drug lines of the truth '
          '(%d rows, truth %d)' % (len(got), len(want)))
    # per-timing doses in their columns, never flattened
    uneq = [(pid, o['order_no'], d['code'], [(x['label'], x['dose']) for x in d['per_timing']])
            for pid, t in truth.items() for o in t['prescriptions'] for rp in o['rps']
            for d in rp['drugs'] if d['per_timing']]
    ok = True
    for pid, no, code, pt in uneq:
        rows = [r for r in rx if (r['patient_id'], r['order_no'], r['drug_code']) == (pid, no, code)]
        for r in rows:
            cols = [(r['timing_%d_label' % (i + 1)], r['timing_%d_dose' % (i + 1)])
                    for i in range(len(pt))]
            ok = ok and cols == pt
    if uneq:
        check(ok, 'unequal doses: each timing in its own columns (%d lines)' % len(uneq))
    else:
        skip('unequal doses in their columns', 'no unequal dose in this storage')
    check(all(r['source_type'] == 'OMP-01' for r in rx), 'prescription rows name their source')
    missing = [r for r in rx if not glob.glob('%s/standard/*/*/%s/*/OMP-01/%s' % (
        g, r['patient_id'], r['source_file'])) or not r['source_file'].endswith('_1')]
    check(rx and not missing, 'each prescription row names its current message file (%d not)'
          % len(missing))

    dx = table(o1, 'diagnoses')
    want = sorted((pid, d['name'], d['icd10']) for pid, t in truth.items()
                  for d in t['diagnoses'] + t['resolved_diagnoses'])
    got = sorted((r['patient_id'], r['name'], r['icd10']) for r in dx)
    check(got == want, 'diagnoses.csv: the current and resolved diagnoses of the truth '
          '(%d rows, truth %d)' % (len(got), len(want)))

    labs = table(o1, 'labs')
    want = sorted((pid, l['code'], l['value'], l['collected_at']) for pid, t in truth.items()
                  for l in t['labs'])
    got = sorted((r['patient_id'], r['code'], r['value'], r['collected_at']) for r in labs)
    check(got == want, 'labs.csv: the lab results of the truth (%d rows, truth %d)'
          % (len(got), len(want)))

    # every row but the read failures names its source file
    nosrc = []
    for f in glob.glob(o1 + '/csv/*.csv'):
        name = os.path.basename(f)[:-4]
        if name != 'read_failures':
            nosrc += [name for r in table(o1, name) if not r['source_file']]
    check(not nosrc, 'every row names its source file (%d do not)' % len(nosrc))
    # no cancelled order, no superseded version of an updated one
    cancelled = {(pid, c.split('/')[1]) for pid, t in truth.items() for c in t['cancelled_orders']}
    superseded = {(pid, c.split('/')[1]) for pid, t in truth.items()
                  for c in t['superseded_orders']}
    check(cancelled and superseded, 'the storage has cancels (%d) and updates (%d)'
          % (len(cancelled), len(superseded)))
    everything = []
    for f in glob.glob(o1 + '/csv/*.csv'):
        everything += table(o1, os.path.basename(f)[:-4])
    bad = [r for r in everything if (r['patient_id'], r.get('order_no', '')) in cancelled or
           (r['patient_id'], r['source_order_no']) in cancelled]
    check(not bad, 'no row of a cancelled order (%d)' % len(bad))
    old_times = set()
    for pid, no in superseded:
        for f in glob.glob('%s/standard/%s/%s/%s/*/*/*_%s_*_2' % (g, pid[:3], pid[3:6], pid, no)):
            ts = f.rsplit('_', 3)[1]
            old_times.add((pid, no, '%s-%s-%sT%s:%s:%s' % (ts[0:4], ts[4:6], ts[6:8], ts[8:10],
                                                           ts[10:12], ts[12:14])))
    check(old_times, 'the updates left superseded files (%d)' % len(old_times))
    bad = [r for r in everything
           if (r['patient_id'], r['source_order_no'], r['source_time']) in old_times or
           r['source_file'].endswith('_2') or r['source_file'].endswith('_0')]
    check(not bad, 'no row from a superseded file (%d)' % len(bad))

    # ---- one patient ----
    one = sorted(truth)[3]
    o2 = tmp + '/o2'
    p = run(env, 'export', '--repo', repo, '--patient', one, '--csv', '--out', o2)
    check(p.returncode == 0, 'export --patient: exit 0 (%r)' % p.stderr[:300])
    rows = []
    for f in glob.glob(o2 + '/csv/*.csv'):
        rows += table(o2, os.path.basename(f)[:-4])
    check(rows and all(r['patient_id'] == one for r in rows),
          'a single-patient export: every row is that patient (%d rows)' % len(rows))
    blob = b''.join(open(f, 'rb').read() for f in glob.glob(o2 + '/csv/*.csv'))
    others = [pid for pid in truth if pid != one and
              (pid.encode() in blob or truth[pid]['patient']['name'].encode() in blob)]
    check(not others, 'no other patient\'s ID or name anywhere in it (%d)' % len(others))
    check(sorted(os.listdir(o2)) == ['csv'], 'the scratch folder is gone')

    # ---- audit: one patient-exported event per patient, medium and host ----
    for where in ([], ['--host']):
        p = run(env, 'audit', 'show', '--repo', repo, '--kind', 'patient-exported', '--json',
                *where)
        recs = json.loads(p.stdout)['records'] if p.returncode == 0 else []
        all_ev = [r for r in recs if r['details'].get('generation') == gen]
        check(sorted(r['patient'] for r in all_ev) == sorted(list(truth) + [one]) and
              all(r['details'].get('format') == 'csv' for r in all_ev),
              'audit %s: one patient-exported event per patient exported (%d)'
              % ('host' if where else 'medium', len(all_ev)))

    # ---- refusals ----
    p = run(env, 'export', '--repo', repo, '--all', '--csv', '--out', o1)
    check(p.returncode == 1 and ('earlier export' in p.stderr.decode() or
                                 '以前のエクスポート' in p.stderr.decode()),
          'an output folder holding an export is refused (%d)' % p.returncode)
    check(sorted(os.listdir(o1)) == ['csv'], 'the refused folder is left as it was')
    p = run(env, 'export', '--repo', repo, '--patient', '9876543210', '--csv', '--out',
            tmp + '/o4')
    check(p.returncode == 1 and b'9876543210' not in p.stderr and p.stderr,
          'an unknown patient: exit 1, the ID not echoed (%d %r)' % (p.returncode, p.stderr))
    check(not os.path.exists(tmp + '/o4'), 'nothing left of the failed export')
    check(not glob.glob(tmp + '/**/.mamori-export-*', recursive=True),
          'no scratch folder anywhere')

    p = run(env, 'export', '--repo', repo, '--generation', gen[:12], '--patient', one, '--csv',
            '--out', tmp + '/o7', '--json')
    check(p.returncode == 0 and json.loads(p.stdout)['generation'] == gen,
          '--generation with an ID prefix')
    p = run(env, 'export', '--repo', repo, '--generation', 'ffffffffffff', '--all', '--csv',
            '--out', tmp + '/o8')
    check(p.returncode == 1 and not os.path.exists(tmp + '/o8'),
          'an unknown generation: exit 1, nothing written (%d)' % p.returncode)

    # ---- FHIR and CSV together: the Bundles and the tables hold the same items ----
    o3 = tmp + '/o3'
    p = run(env, 'export', '--repo', repo, '--all', '--fhir', '--csv', '--out', o3, '--json')
    files = sorted(glob.glob(o3 + '/fhir/*.json'))
    ok = p.returncode == 0 and len(files) == len(truth)
    bundles = {}
    idx = list(csv.reader(io.StringIO(open(o3 + '/fhir/index.csv', encoding='utf-8-sig')
                                      .read(), newline='')))[1:] if ok else []
    for pid, name in idx:
        b = json.load(open(os.path.join(o3, 'fhir', name), encoding='utf-8'))
        ok = ok and b.get('resourceType') == 'Bundle'
        bundles[pid] = b
    ok = ok and sorted(bundles) == sorted(truth)
    check(ok, 'export --fhir --csv: one Bundle per patient, each parses, index.csv names them '
          '(%d %d files)' % (p.returncode, len(files)))
    s3 = json.loads(p.stdout) if p.returncode == 0 else {}
    check(s3.get('patients') == len(truth) and
          s3.get('resources') == sum(len(b['entry']) for b in bundles.values()),
          'the summary counts the patients and the resources written')
    # per patient: MedicationRequest = prescriptions + injections rows, Condition = diagnoses,
    # Observation = labs, AllergyIntolerance = allergies (the same current items, the same
    # allergy list), and the other types alike
    if ok:
        rows = {}
        for name in ('patients', 'encounters', 'diagnoses', 'allergies', 'prescriptions',
                     'injections', 'administrations', 'labs', 'exams', 'documents'):
            rows[name] = {}
            for r in table(o3, name):
                rows[name][r['patient_id']] = rows[name].get(r['patient_id'], 0) + 1
        folders = {}
        for pid, folder in {(r['patient_id'], r['folder']) for r in table(o3, 'documents')}:
            folders[pid] = folders.get(pid, 0) + 1
        want = {
            'MedicationRequest': lambda pid: rows['prescriptions'].get(pid, 0) +
            rows['injections'].get(pid, 0),
            'Condition': lambda pid: rows['diagnoses'].get(pid, 0),
            'Observation': lambda pid: rows['labs'].get(pid, 0),
            'AllergyIntolerance': lambda pid: rows['allergies'].get(pid, 0),
            'Patient': lambda pid: rows['patients'].get(pid, 0),
            'Encounter': lambda pid: rows['encounters'].get(pid, 0),
            'MedicationAdministration': lambda pid: rows['administrations'].get(pid, 0),
            'DiagnosticReport': lambda pid: rows['exams'].get(pid, 0),
            'DocumentReference': lambda pid: folders.get(pid, 0),
            'Binary': lambda pid: rows['documents'].get(pid, 0),  # a file each, all embedded
        }
        for rtype, rows_of in want.items():
            diff, total = [], 0
            for pid, b in bundles.items():
                n = sum(1 for e in b['entry'] if e['resource']['resourceType'] == rtype)
                total += n
                if n != rows_of(pid):
                    diff.append((n, rows_of(pid)))
            check(total > 0 and not diff, 'FHIR and CSV agree: %s resources = rows (%d; %d '
                  'patients differ %r)' % (rtype, total, len(diff), diff[:3]))
        # the patient whose newest ADT-61 lists none: no allergy of an ADT-61 anywhere, and the
        # viewer's list (show --json) is the tables' and the Bundle's
        al = [r for r in table(o3, 'allergies') if r['patient_id'] == noal]
        fa = [e['resource'] for e in bundles.get(noal, {}).get('entry', [])
              if e['resource']['resourceType'] == 'AllergyIntolerance']
        p = run(env, 'show', '--repo', repo, noal, '--json')
        shown = json.loads(p.stdout)['allergies'] if p.returncode == 0 else None
        check(noal in bundles and not [r for r in al if r['source_type'] == 'ADT-61'] and
              not [a for a in fa if '/ADT-61/' in a['meta']['source']] and
              shown is not None and len(shown) == len(al) == len(fa) and
              sorted(a['name'] for a in shown) == sorted(r['name'] for r in al),
              'a newest ADT-61 that lists no allergy: none of the earlier list in the CSV, the '
              'FHIR export or the viewer (%d rows, %d resources, %r shown)'
              % (len(al), len(fa), None if shown is None else len(shown)))
    else:
        check(False, 'FHIR and CSV agree (no export to compare)')

    # ---- a damaged pack: exit 3, the rest exported ----
    env2 = dict(env, XDG_CACHE_HOME=tmp + '/cacheB', MAMORI_CACHE=tmp + '/cacheB2')
    g2, repo2 = tmp + '/gB', tmp + '/rB'
    subprocess.run([GEN, '--out', g2, '--patients', '6', '--days', '30', '--seed', '3', '-q'],
                   env=env2)
    pids2 = [c for a in os.listdir(g2 + '/standard') for b in os.listdir(g2 + '/standard/' + a)
             for c in os.listdir(os.path.join(g2, 'standard', a, b))]
    ntruth = len(pids2)
    # a patient whose messages name another patient (misfiled): left out, never mixed
    mixed = sorted(pids2)[0]
    for f in glob.glob('%s/standard/%s/%s/%s/*/*/*' % (g2, mixed[:3], mixed[3:6], mixed)):
        b = open(f, 'rb').read()
        open(f, 'wb').write(b.replace(mixed.encode(), sorted(pids2)[1].encode()))
    run(env2, '-q', 'init', '--repo', repo2, '--kdf-passes', '1', '--kdf-memory', '1',
        '--allow-weak-secrets')
    p = run(env2, '-q', 'backup', '--repo', repo2, '--threads', '1', g2 + '/standard')
    check(p.returncode == 0, 'backup of the second storage')
    pack = max(glob.glob(repo2 + '/data/*/*'), key=os.path.getsize)
    b = bytearray(open(pack, 'rb').read())
    b[120] ^= 1  # inside the first sealed object (as tests/cli/repo-verify-damage)
    open(pack, 'wb').write(b)
    p = run(env2, 'export', '--repo', repo2, '--all', '--csv', '--out', tmp + '/o5', '--json')
    s = json.loads(p.stdout) if p.stdout else {}
    check(p.returncode == 3 and s.get('damaged', 0) >= 1 and s.get('patients') == ntruth - 1,
          'a damaged pack: exit 3, the damage counted, every other patient still exported '
          '(%d %r %d)' % (p.returncode, s, ntruth))
    rows = table(tmp + '/o5', 'patients') if p.stdout else []
    check(s.get('problems') and
          any('another patient' in x['what'] for x in s['problems']) and
          mixed not in [r['patient_id'] for r in rows] and
          [r['patient_id'] for r in rows].count(sorted(pids2)[1]) == 1,
          'a folder whose messages name another patient: left out and said, never mixed')
    probs = json.dumps(s.get('problems', []), ensure_ascii=False)
    check(s.get('problems') and not any(pid in probs for pid in pids2),
          'the damaged file is reported, its patient ID hidden (%s)' % probs[:200])

    # ---- two storages holding the same patient: exported once, from the later storage ----
    env3 = dict(env, XDG_CACHE_HOME=tmp + '/cacheC', MAMORI_CACHE=tmp + '/cacheC2')
    hosp, repo3 = tmp + '/hosp', tmp + '/rC'
    shutil.copytree(g + '/standard', hosp + '/A/standard', symlinks=True)
    shutil.copytree(g + '/standard', hosp + '/B/standard', symlinks=True)
    twin = sorted(truth)[5]
    tdir = '%s/B/standard/%s/%s/%s' % (hosp, twin[:3], twin[3:6], twin)
    for d in glob.glob(tdir + '/*/OML-11'):
        shutil.rmtree(d)  # the later storage's record of this patient has no lab results
    for pid in sorted(truth)[:2]:  # and two other patients only in the first storage
        shutil.rmtree('%s/B/standard/%s/%s/%s' % (hosp, pid[:3], pid[3:6], pid))
    run(env3, '-q', 'init', '--repo', repo3, '--kdf-passes', '1', '--kdf-memory', '1',
        '--allow-weak-secrets')
    p = run(env3, '-q', 'backup', '--repo', repo3, hosp)
    check(p.returncode == 0, 'backup of two storages (%d %r)' % (p.returncode, p.stderr[:200]))
    o6 = tmp + '/o6'
    p = run(env3, 'export', '--repo', repo3, '--all', '--csv', '--out', o6, '--json')
    s = json.loads(p.stdout) if p.returncode == 0 else {}
    pats = table(o6, 'patients') if p.returncode == 0 else []
    check(s.get('patients') == len(truth) and
          sorted(r['patient_id'] for r in pats) == sorted(truth),
          'two storages: every patient exported once (%r)' % s.get('patients'))
    labs = table(o6, 'labs') if p.returncode == 0 else []
    check(truth[twin]['labs'] and not [r for r in labs if r['patient_id'] == twin] and
          len([r for r in labs if r['patient_id'] == sorted(truth)[0]]) ==
          len(truth[sorted(truth)[0]]['labs']),
          'a patient in both storages is read from the later one; one only in the first from it')

    shutil.rmtree(tmp, ignore_errors=True)
    print('1..%d' % N)
    return 1 if FAILED else 0


if __name__ == '__main__':
    sys.exit(main())
